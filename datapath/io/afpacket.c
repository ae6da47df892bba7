/* afpacket.c: the provider uplink as an AF_PACKET socket (type "uplink-packet").
 *
 * Whole Ethernet frames are received and sent with recvmmsg/sendmmsg
 * batches on a SOCK_RAW packet socket bound to the uplink. Unlike the raw
 * IPv4 socket (uplink.c) this backend carries IPv6 outer headers (IPv6 PAs)
 * and bypasses the kernel's IP output path, so it builds the outer Ethernet
 * header itself from the kernel's tables over rtnetlink (nlneigh.h):
 *
 *   PA --RTM_GETROUTE--> next hop (gateway or the PA itself), interface
 *      --RTM_NEWNEIGH NTF_USE--> the kernel resolves it (ARP / NS)
 *      --RTM_GETNEIGH + RTNLGRP_NEIGH notifications--> next-hop MAC
 *
 * The next-hop table belongs to the forwarding thread of this instance
 * (each thread has its own, fwd.h): tx looks a PA up;
 * a miss sends the route request (non-blocking) and drops the packet
 * (counted in tx_no_neigh); prepare() asks for the routes of every remote
 * PA of a new configuration ahead of traffic; replies and notifications are read by rx and tx
 * from the non-blocking netlink socket. Nothing waits: the forwarding thread
 * never blocks on the kernel or on hnvgwd's control thread. An entry is
 * re-validated (route and neighbour asked again, the MAC kept meanwhile)
 * every NH_REFRESH_MS and follows neighbour notifications at once, so a
 * changed or failed next hop is noticed.
 *
 * io.fd is an epoll descriptor holding the packet and the netlink socket,
 * so the forwarding thread's poll wakes for either.
 *
 * Receive filter (classic BPF, built by steer.h): frames addressed to this
 * host (PACKET_HOST) carrying IPv4 protocol 47 or IPv6 next header 47;
 * everything else stays with the kernel. With several forwarding threads
 * the threads' sockets form one PACKET_FANOUT group whose program picks
 * each frame's thread (pk_steer). With the fast path loaded (datapath/bpf/fp.h) the socket
 * receives nothing (rx_stop): its tc program handles NVGRE on ingress and
 * punts the rest to the engine. The kernel still sees the NVGRE packets
 * too; two raw IP sockets for protocol 47 (IPv4 and IPv6, each with a
 * drop-all filter) make it deliver them there silently instead of
 * answering with ICMP protocol unreachable / parameter problem (this
 * kernel has no GRE).
 *
 * Checksums: PACKET_VNET_HDR gives each received frame a virtio_net_hdr; a
 * frame whose checksum the sender left partial (CHECKSUM_PARTIAL, e.g. a
 * local GRE sender with offloads) is completed here before the engine sees
 * it (csum_start/csum_offset; PACKET_AUXDATA's TP_STATUS_CSUMNOTREADY would
 * only say that it is partial, not where). The outer IPv4 header checksum
 * is verified by the engine (HNV_PKT_F_L3_CSUM_OK is not set). Sent frames
 * carry a zero vnet header: the engine wrote complete checksums.
 */
#include "io.h"
#include "nlneigh.h"
#include "steer.h"

#include "../../lib/clock.h"
#include "../policy_read.h"
#include "../proto.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ETH_HLEN 14
#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000 /* Linux 6.9; older headers lack it */
#endif
#define NH_SLOTS 256 /* remote next hops (power of two); one PA per slot */
#define NH_RETRY_MS 200
#define NH_REFRESH_MS 15000
#define NL_RCVBUF (256 * 1024)

enum nh_state {
	NH_FREE,
	NH_ROUTE,    /* route asked */
	NH_NEIGH,    /* route known, MAC asked */
	NH_OK,       /* MAC known (possibly being re-validated) */
	NH_OTHER_IF, /* the kernel routes this PA out of another interface */
};

struct nexthop {
	struct hnv_ip pa, via;
	struct hnv_mac mac;
	uint8_t state;
	bool has_mac;
	uint64_t asked_ms, valid_ms;
};

struct pk {
	struct hnv_io_port io; /* first: the ops see a struct hnv_io_port */
	int pfd, nlfd, raw4, raw6;
	int ifindex;
	struct hnv_mac mac;
	unsigned mtu;
	uint32_t nlseq;
	struct nexthop nh[NH_SLOTS];
	struct hnv_io_vnet b;
	uint8_t nlbuf[16384];
};

/* ---- next hops (forwarding thread) ---- */

static unsigned nh_hash(const struct hnv_ip *a)
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ a->b[i]) * 16777619u;
	return h & (NH_SLOTS - 1);
}

/* The slot of pa; with create, a free one is taken. NULL when the table is
 * full (or pa absent and !create). */
static struct nexthop *nh_find(struct pk *u, const struct hnv_ip *pa, bool create)
{
	unsigned i = nh_hash(pa);
	for (unsigned k = 0; k < NH_SLOTS; k++, i = (i + 1) & (NH_SLOTS - 1)) {
		struct nexthop *n = &u->nh[i];
		if (n->state == NH_FREE) {
			if (!create)
				return NULL;
			n->pa = *pa;
			return n;
		}
		if (hnv_ip_eq(&n->pa, pa))
			return n;
	}
	return NULL;
}

static void nl_send(struct pk *u, const void *req, size_t len)
{
	/* non-blocking; a lost request is asked again after NH_RETRY_MS */
	(void)!send(u->nlfd, req, len, MSG_DONTWAIT);
}

static void nh_ask_route(struct pk *u, struct nexthop *n, uint64_t now)
{
	uint8_t req[HNV_NL_REQ_MAX];
	nl_send(u, req, hnv_nl_req_route(req, ++u->nlseq, &n->pa));
	n->asked_ms = now;
	if (n->state != NH_OK)
		n->state = NH_ROUTE;
}

static void nh_ask_neigh(struct pk *u, struct nexthop *n)
{
	uint8_t req[HNV_NL_REQ_MAX];
	uint32_t seq = ++u->nlseq;
	nl_send(u, req, hnv_nl_req_resolve(req, seq, &n->via, u->ifindex));
	nl_send(u, req, hnv_nl_req_neigh(req, seq, &n->via, u->ifindex));
	if (n->state != NH_OK)
		n->state = NH_NEIGH;
}

static bool nud_usable(uint16_t s)
{
	return s & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT);
}

static void nh_event(struct pk *u, const struct hnv_nl_event *e, uint64_t now)
{
	if (e->kind == HNV_NL_ROUTE) {
		/* asked by tx, or by prepare for a PA not yet seen here; a
		 * reply without RTA_DST names no PA */
		if (hnv_ip_is_unspec(&e->addr))
			return;
		struct nexthop *n = nh_find(u, &e->addr, true);
		if (!n)
			return;
		if (n->state == NH_FREE)
			n->asked_ms = now;
		if (e->ifindex != u->ifindex) {
			n->state = NH_OTHER_IF;
			n->has_mac = false;
			return;
		}
		struct hnv_ip via = e->has_gateway ? e->gateway : n->pa;
		if (!hnv_ip_eq(&via, &n->via)) {
			n->via = via;
			n->has_mac = false;
			n->state = NH_NEIGH;
		}
		nh_ask_neigh(u, n);
		return;
	}
	if (e->kind != HNV_NL_NEIGH && e->kind != HNV_NL_NEIGH_DEL)
		return;
	if (e->ifindex != u->ifindex)
		return;
	bool ok = e->kind == HNV_NL_NEIGH && nud_usable(e->state) && e->has_lladdr;
	bool gone = e->kind == HNV_NL_NEIGH_DEL || (e->state & NUD_FAILED);
	for (unsigned i = 0; i < NH_SLOTS; i++) {
		struct nexthop *n = &u->nh[i];
		if (n->state < NH_NEIGH || n->state == NH_OTHER_IF || !hnv_ip_eq(&n->via, &e->addr))
			continue;
		if (ok) {
			n->mac = e->lladdr;
			n->has_mac = true;
			n->state = NH_OK;
			n->valid_ms = now;
		} else if (gone) {
			n->has_mac = false;
			n->state = NH_ROUTE;
			n->asked_ms = 0; /* ask again on the next packet */
		}
	}
}

/* Reads every waiting netlink datagram (non-blocking). */
static void nl_drain(struct pk *u)
{
	struct hnv_nl_event ev[32];
	uint64_t now = 0;
	for (;;) {
		ssize_t r = recv(u->nlfd, u->nlbuf, sizeof(u->nlbuf), MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return; /* EAGAIN, or ENOBUFS: refreshes recover lost events */
		size_t n = 0;
		/* a malformed message ends its datagram; the events before it count */
		(void)hnv_nl_parse(u->nlbuf, (size_t)r, ev, 32, &n);
		if (n && !now)
			now = hnv_mono_coarse_ms();
		for (size_t i = 0; i < n; i++)
			nh_event(u, &ev[i], now);
	}
}

/* The next-hop MAC for pa, or NULL (then a resolution is under way). */
static const struct hnv_mac *nh_lookup(struct pk *u, const struct hnv_ip *pa, uint64_t *now)
{
	struct nexthop *n = nh_find(u, pa, true);
	if (!n)
		return NULL;
	if (n->state == NH_OK && n->has_mac) {
		/* cheap clock (coarse), read once per batch */
		if (!*now)
			*now = hnv_mono_coarse_ms();
		if (*now - n->valid_ms > NH_REFRESH_MS && *now - n->asked_ms > NH_RETRY_MS)
			nh_ask_route(u, n, *now);
		return &n->mac;
	}
	if (!*now)
		*now = hnv_mono_coarse_ms();
	uint64_t wait = n->state == NH_OTHER_IF ? NH_REFRESH_MS : NH_RETRY_MS;
	if (n->state == NH_FREE || *now - n->asked_ms > wait)
		nh_ask_route(u, n, *now);
	return NULL;
}

/* ---- open / close (control thread) ---- */

static int attach_filter(int fd, struct sock_filter *code, unsigned short len)
{
	struct sock_fprog prog = {.len = len, .filter = code};
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

/* A raw IP socket for protocol 47 that receives nothing: its existence
 * keeps the kernel from answering NVGRE with ICMP unreachable. */
static int gre_sink(int family)
{
	struct sock_filter drop[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
	int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_GRE);
	if (fd < 0)
		return -errno;
	if (attach_filter(fd, drop, 1)) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static void pk_free(struct pk *u)
{
	int fds[] = {u->io.fd, u->pfd, u->nlfd, u->raw4, u->raw6};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(u);
}

static int pk_open(const char *name, const struct hnv_mac *mac, struct hnv_io_port **out, char *err,
		   size_t errlen)
{
	(void)mac;
	struct ifreq ifr = {0};
	if (strlen(name) >= sizeof(ifr.ifr_name)) {
		snprintf(err, errlen, "uplink \"%s\": interface names have at most %zu characters",
			 name, sizeof(ifr.ifr_name) - 1);
		return -EINVAL;
	}
	struct pk *u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	u->io.ops = &hnv_io_uplink_packet_ops;
	u->io.fd = u->pfd = u->nlfd = u->raw4 = u->raw6 = -1;
	snprintf(u->io.name, sizeof(u->io.name), "%s", name);
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	const char *what;
	int rc, one = 1, rcvbuf = 4 << 20, nlbuf = NL_RCVBUF;

	/* frames to this host: IPv4 protocol 47 or IPv6 next header 47 (the
	 * filter of one thread of one: steer.h) */
	struct sock_filter code[HNV_STEER_PROG_MAX];
	int code_len = hnv_steer_filter(code, HNV_STEER_ETH, 0, 1);

	what = "socket(AF_PACKET, SOCK_RAW)";
	/* protocol 0 until the filter is in place: nothing is queued before */
	if ((u->pfd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		goto fail_errno;
	what = "SIOCGIFINDEX";
	if (ioctl(u->pfd, SIOCGIFINDEX, &ifr))
		goto fail_errno;
	u->ifindex = ifr.ifr_ifindex;
	what = "SIOCGIFHWADDR";
	if (ioctl(u->pfd, SIOCGIFHWADDR, &ifr))
		goto fail_errno;
	memcpy(u->mac.b, ifr.ifr_hwaddr.sa_data, 6);
	what = "SIOCGIFMTU";
	if (ioctl(u->pfd, SIOCGIFMTU, &ifr))
		goto fail_errno;
	u->mtu = (unsigned)ifr.ifr_mtu;
	what = "SO_ATTACH_FILTER";
	if (code_len < 0 ? (errno = -code_len)
			 : attach_filter(u->pfd, code, (unsigned short)code_len))
		goto fail_errno;
	what = "PACKET_VNET_HDR";
	if (setsockopt(u->pfd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)))
		goto fail_errno;
	/* not fatal: older kernels only cost a filter run on our own frames */
	(void)setsockopt(u->pfd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	(void)setsockopt(u->pfd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	(void)setsockopt(u->pfd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = u->ifindex};
	what = "bind(AF_PACKET)";
	if (bind(u->pfd, (struct sockaddr *)&sll, sizeof(sll)))
		goto fail_errno;

	what = "socket(AF_INET, SOCK_RAW, 47)";
	if ((rc = gre_sink(AF_INET)) < 0)
		goto fail;
	u->raw4 = rc;
	what = "socket(AF_INET6, SOCK_RAW, 47)";
	if ((rc = gre_sink(AF_INET6)) < 0)
		goto fail;
	u->raw6 = rc;

	what = "socket(AF_NETLINK, NETLINK_ROUTE)";
	if ((u->nlfd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE)) <
	    0)
		goto fail_errno;
	(void)setsockopt(u->nlfd, SOL_SOCKET, SO_RCVBUF, &nlbuf, sizeof(nlbuf));
	(void)setsockopt(u->nlfd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	struct sockaddr_nl snl = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_NEIGH};
	what = "bind(AF_NETLINK, RTMGRP_NEIGH)";
	if (bind(u->nlfd, (struct sockaddr *)&snl, sizeof(snl)))
		goto fail_errno;

	what = "epoll";
	if ((u->io.fd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		goto fail_errno;
	struct epoll_event ev = {.events = EPOLLIN};
	if (epoll_ctl(u->io.fd, EPOLL_CTL_ADD, u->pfd, &ev) ||
	    epoll_ctl(u->io.fd, EPOLL_CTL_ADD, u->nlfd, &ev))
		goto fail_errno;
	*out = &u->io;
	return 0;
fail_errno:
	rc = -errno;
fail:
	snprintf(err, errlen, "uplink %s: %s: %s", name, what, strerror(-rc));
	pk_free(u);
	return rc;
}

struct warm {
	int nlfd;
	const struct hnv_policy *pol;
};

/* Control thread: asks the kernel for the route to a remote PA. The reply
 * reaches the forwarding thread's nl_drain, which starts resolving the next
 * hop before the first packet needs it (only the socket is shared; sending
 * from two threads is safe, and seq 0 marks these requests). */
static int warm_pa(const struct hnv_rec *r, void *arg)
{
	const struct warm *w = arg;
	uint8_t req[HNV_NL_REQ_MAX];
	if (!hnv_policy_is_local_pa(w->pol, &r->pa))
		(void)!send(w->nlfd, req, hnv_nl_req_route(req, 0, &r->pa), MSG_DONTWAIT);
	return 0;
}

static int pk_prepare(struct hnv_io_port *port, struct hnv_dp *dp, char *err, size_t errlen)
{
	struct pk *u = (struct pk *)port;
	hnv_dp_set_uplink(dp, &u->mac, u->mtu);
	struct warm w = {u->nlfd, hnv_dp_policy(dp)};
	hnv_policy_rec_foreach(w.pol, warm_pa, &w);
	int rc = hnv_io_placeholder_neigh(dp, &u->mac, true);
	if (rc)
		snprintf(err, errlen, "uplink %s: cannot register next hops: %s", port->name,
			 strerror(-rc));
	return rc;
}

static void pk_close(struct hnv_io_port *port)
{
	if (port)
		pk_free((struct pk *)port);
}

/* ---- rx / tx (forwarding thread) ---- */

static int pk_rx(struct hnv_io_port *port, struct hnv_pkt **pkts, unsigned n, uint16_t in_port)
{
	struct pk *u = (struct pk *)port;
	nl_drain(u);
	return hnv_io_vnet_rx(port, u->pfd, &u->b, pkts, n, in_port);
}

static int pk_tx(struct hnv_io_port *port, struct hnv_pkt **pkts, unsigned n)
{
	struct pk *u = (struct pk *)port;
	unsigned sent_total = 0;
	uint64_t now = 0;
	nl_drain(u);
	while (n) {
		unsigned m = 0, take = n > HNV_IO_VNET_BATCH ? HNV_IO_VNET_BATCH : n;
		for (unsigned i = 0; i < take; i++) {
			struct hnv_pkt *p = pkts[i];
			struct hnv_ip pa;
			uint16_t et =
				p->len >= ETH_HLEN ? (uint16_t)(p->data[12] << 8 | p->data[13]) : 0;
			if (et == ETH_P_IP && p->len >= ETH_HLEN + 20) {
				hnv_ip_from_v4(&pa, p->data + ETH_HLEN + 16);
			} else if (et == ETH_P_IPV6 && p->len >= ETH_HLEN + 40) {
				memcpy(pa.b, p->data + ETH_HLEN + 24, 16);
			} else {
				hnv_io_count(&port->st.tx_errors, 1);
				continue;
			}
			const struct hnv_mac *nh = nh_lookup(u, &pa, &now);
			if (!nh) {
				hnv_io_count(&port->st.tx_no_neigh, 1);
				continue;
			}
			memcpy(p->data, nh->b, 6);
			memcpy(p->data + 6, u->mac.b, 6);
			hnv_io_vnet_put(&u->b, m++, p->data, p->len);
		}
		pkts += take;
		n -= take;
		sent_total += hnv_io_send_batch(port, u->pfd, u->b.msgs, m, u->b.bytes);
	}
	return (int)sent_total;
}

/* The fast path's uplink program runs after packet taps on ingress: this
 * socket would see every NVGRE frame the program also handles. A drop-all
 * filter (replacing the NVGRE one) leaves it for sending; frames queued
 * before are discarded. The netlink socket goes on being read by rx. */
static int pk_rx_stop(struct hnv_io_port *port, char *err, size_t errlen)
{
	struct pk *u = (struct pk *)port;
	struct sock_filter drop[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
	if (attach_filter(u->pfd, drop, 1)) {
		int rc = -errno;
		snprintf(err, errlen, "uplink %s: SO_ATTACH_FILTER (receive nothing): %s",
			 port->name, strerror(errno));
		return rc;
	}
	uint8_t buf[64];
	while (recv(u->pfd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC) >= 0)
		;
	return 0;
}

/* Joins u's socket to fanout group id of type PACKET_FANOUT_CBPF with
 * flags (PACKET_FANOUT_FLAG_UNIQUEID and id 0: a new group, whose id the
 * kernel picks among those unused in this network namespace). Returns the
 * group's id, or a negative errno. */
static int fanout_join(struct pk *u, unsigned id, unsigned flags)
{
	int arg = (int)(id | (PACKET_FANOUT_CBPF | flags) << 16);
	if (setsockopt(u->pfd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)))
		return -errno;
	socklen_t len = sizeof(arg);
	if (getsockopt(u->pfd, SOL_PACKET, PACKET_FANOUT, &arg, &len))
		return -errno;
	return arg & 0xffff;
}

/* With several forwarding threads, the threads' packet sockets join one
 * PACKET_FANOUT group: the kernel runs the group's program (steer.h
 * hnv_steer_fanout) once per received frame and hands the frame to the one
 * member it names, thread k's socket being member k (members are numbered
 * in the order they join). Each socket keeps its filter of the
 * NVGRE-to-host checks (pk_open), which the kernel runs on what the
 * program hands it: what is not NVGRE to this host is refused there, on
 * thread 0 (the program sends it there); NVGRE the engine refuses (outer
 * fragment, other GRE flags, truncated) passes on thread 0 and is counted
 * there by reason, as with one thread.
 *
 * The group id: PACKET_FANOUT_FLAG_UNIQUEID lets the kernel pick one not
 * used in this network namespace (groups are found by id within a
 * namespace), so hnvgwd instances in one namespace or in several never
 * meet. The group holds this uplink's sockets only and ends when they are
 * closed.
 *
 * Order: the kernel numbers the program's answer modulo the members
 * present, so while members join a flow's frames would go to another
 * thread than once the group is complete. So every socket receives
 * nothing (a drop-all filter) until the group is complete and has its
 * program; then each gets its NVGRE filter back. Frames arriving during
 * these few system calls (at start, before any forwarding thread runs)
 * are not received by hnvgwd, as before it opened the uplink; none is
 * received by two threads or by a thread other than the hash's, so no
 * flow is reordered. PACKET_FANOUT_FLAG_IGNORE_OUTGOING keeps the frames
 * this host sends out of the group (as PACKET_IGNORE_OUTGOING did for
 * each socket); a kernel without it (before 6.9) runs the program on them
 * too, and the member's filter refuses them. */
static int pk_steer(struct hnv_io_port *const *ports, unsigned n, char *err, size_t errlen)
{
	struct sock_filter drop[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
	struct sock_filter code[HNV_STEER_PROG_MAX];
	const char *what = "SO_ATTACH_FILTER (receive nothing)";
	int rc = 0;
	unsigned k = 0, flags = PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
	for (k = 0; k < n && rc == 0; k++)
		rc = hnv_io_set_filter(((struct pk *)ports[k])->pfd, drop, 1);
	if (rc)
		goto fail;
	what = "PACKET_FANOUT (a new group)";
	k = 0;
	rc = fanout_join((struct pk *)ports[0], 0, flags | PACKET_FANOUT_FLAG_UNIQUEID);
	if (rc == -EINVAL) {
		flags = 0;
		rc = fanout_join((struct pk *)ports[0], 0, PACKET_FANOUT_FLAG_UNIQUEID);
	}
	if (rc < 0)
		goto fail;
	unsigned id = (unsigned)rc;
	what = "PACKET_FANOUT (join)";
	for (k = 1; k < n; k++)
		if ((rc = fanout_join((struct pk *)ports[k], id, flags)) < 0)
			goto fail;
	what = "PACKET_FANOUT_DATA (the steering program)";
	k = 0;
	int len = hnv_steer_fanout(code, n);
	struct sock_fprog prog = {.len = (unsigned short)(len > 0 ? len : 0), .filter = code};
	if (len < 0)
		rc = len;
	else if (setsockopt(((struct pk *)ports[0])->pfd, SOL_PACKET, PACKET_FANOUT_DATA, &prog,
			    sizeof(prog)))
		rc = -errno;
	if (rc < 0)
		goto fail;
	what = "SO_ATTACH_FILTER (NVGRE to this host)";
	len = hnv_steer_filter(code, HNV_STEER_ETH, 0, 1);
	rc = len < 0 ? len : 0;
	for (k = 0; k < n && rc == 0; k++)
		rc = hnv_io_set_filter(((struct pk *)ports[k])->pfd, code, (unsigned)len);
	if (rc == 0)
		return 0;
	k--;
fail:
	snprintf(err, errlen, "uplink %s: steering to %u threads, socket of thread %u: %s: %s",
		 ports[0]->name, n, k, what, strerror(-rc));
	return rc;
}

const struct hnv_io_ops hnv_io_uplink_packet_ops = {
	.type = "uplink-packet",
	.open = pk_open,
	.prepare = pk_prepare,
	.rx = pk_rx,
	.tx = pk_tx,
	.close = pk_close,
	.rx_stop = pk_rx_stop,
	.steer = pk_steer,
};
