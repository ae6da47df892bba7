/* nlneigh.h: the kernel's routes and neighbours over rtnetlink, for the
 * AF_PACKET uplink (afpacket.c), which builds outer Ethernet headers itself.
 *
 * Requests are built into a caller buffer (libmnl). Replies and
 * notifications from the kernel are untrusted input: hnv_nl_parse walks one
 * received datagram with explicit length checks (every nlmsghdr and rtattr
 * length against what is left, every address length against its family)
 * and returns flat events; anything malformed ends the walk with -EBADMSG,
 * keeping the events parsed before it. Fuzzed by tests/fuzz/fuzz_nlneigh.c.
 */
#ifndef HNV_NLNEIGH_H
#define HNV_NLNEIGH_H

#include "../../lib/hnv_types.h"

#include <stddef.h>
#include <stdint.h>

/* A buffer large enough for any request built here. */
#define HNV_NL_REQ_MAX 256

enum hnv_nl_kind {
	HNV_NL_ROUTE,     /* RTM_NEWROUTE: the route the kernel chose for a PA */
	HNV_NL_NEIGH,     /* RTM_NEWNEIGH (reply or notification) */
	HNV_NL_NEIGH_DEL, /* RTM_DELNEIGH */
	HNV_NL_ERROR,     /* NLMSG_ERROR with a non-zero error: seq, error */
};

struct hnv_nl_event {
	enum hnv_nl_kind kind;
	uint32_t seq;
	int error;          /* HNV_NL_ERROR: the negative errno */
	int ifindex;        /* ROUTE: RTA_OIF; NEIGH: ndm_ifindex (0 if absent) */
	bool has_gateway;   /* ROUTE: RTA_GATEWAY present */
	struct hnv_ip addr; /* ROUTE: RTA_DST (0 if absent); NEIGH: NDA_DST */
	struct hnv_ip gateway;
	uint16_t state; /* NEIGH: ndm_state (NUD_*) */
	bool has_lladdr;
	struct hnv_mac lladdr; /* NEIGH: NDA_LLADDR when it is 6 bytes */
};

/* Parses the netlink messages in buf[0..len). Fills up to max events and
 * sets *n to how many. Messages of other types, and ACKs (error 0), are
 * skipped. Returns 0, or -EBADMSG at the first malformed message. */
int hnv_nl_parse(const void *buf, size_t len, struct hnv_nl_event *ev, size_t max, size_t *n);

/* RTM_GETROUTE for dst (the route the kernel would use to send to it).
 * Returns the request length. */
size_t hnv_nl_req_route(void *buf, uint32_t seq, const struct hnv_ip *dst);
/* RTM_GETNEIGH for (addr, ifindex). Returns the request length. */
size_t hnv_nl_req_neigh(void *buf, uint32_t seq, const struct hnv_ip *addr, int ifindex);
/* RTM_NEWNEIGH with NTF_USE: makes the kernel resolve addr on ifindex (send
 * an ARP request or a neighbour solicitation) as if it had a packet for it;
 * the result arrives as an RTNLGRP_NEIGH notification. */
size_t hnv_nl_req_resolve(void *buf, uint32_t seq, const struct hnv_ip *addr, int ifindex);

#endif
