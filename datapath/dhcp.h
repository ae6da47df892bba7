/* dhcp.h: DHCPv4 answered by the host datapath.
 *
 * A VM port's DHCP traffic never leaves the host: every UDP datagram from a
 * VM with source or destination port 67 or 68 is consumed here (answered or
 * dropped and counted), never forwarded or encapsulated. A VSID with an IP
 * pool (mgmt/conftext.h, "pool add") is served: DISCOVER gets an OFFER and
 * REQUEST an ACK for the port's own CA (its first IPv4 CA, allocated from
 * the pool or configured), a REQUEST for any other address a NAK, INFORM an
 * ACK without lease, RELEASE and DECLINE nothing. Replies carry the subnet
 * mask of the CA's prefix, the router (the prefix's lowest address, the
 * distributed default gateway), the pool's DNS servers and lease time
 * (T1 = lease / 2, T2 = lease * 7 / 8), the interface MTU that fits NVGRE
 * (uplink MTU - 42) and the server identifier: the prefix's second-lowest
 * usable address (network + 2), reserved for this in every VSID that has a
 * pool. Replies come from that address and the gateway's virtual MAC.
 *
 * Parsing: every length is checked against what is left; the options walk
 * is bounded by its field, honours Pad and End, and follows Option Overload
 * (52) into the file and sname fields. Nothing here asserts on input.
 */
#ifndef HNV_DHCP_H
#define HNV_DHCP_H

#include "dp.h"
#include "policy_read.h"

#define HNV_DHCP_SERVER_PORT 67
#define HNV_DHCP_CLIENT_PORT 68
#define HNV_DHCP_MAGIC 0x63825363u

enum hnv_dhcp_type {
	HNV_DHCP_DISCOVER = 1,
	HNV_DHCP_OFFER = 2,
	HNV_DHCP_REQUEST = 3,
	HNV_DHCP_DECLINE = 4,
	HNV_DHCP_ACK = 5,
	HNV_DHCP_NAK = 6,
	HNV_DHCP_RELEASE = 7,
	HNV_DHCP_INFORM = 8,
};

/* What the host needs from a client message. */
struct hnv_dhcp_msg {
	uint8_t op, htype, hlen;
	uint32_t xid;
	uint16_t flags; /* 0x8000: the client wants broadcast replies */
	struct hnv_ip ciaddr, giaddr;
	uint8_t chaddr[16];
	uint8_t type; /* option 53 */
	bool has_requested;
	struct hnv_ip requested; /* option 50 */
	bool has_server_id;
	struct hnv_ip server_id; /* option 54 */
};

/* Parses a DHCP message (a UDP payload of len bytes): BOOTREQUEST or
 * BOOTREPLY, the magic cookie, and options 53 (exactly one byte, 1-8,
 * required), 50 and 54 (exactly 4 bytes each). 0, or -EBADMSG. */
int hnv_dhcp_parse(const uint8_t *b, size_t len, struct hnv_dhcp_msg *m);

/* A reply the host sends. */
struct hnv_dhcp_answer {
	uint8_t type;                     /* OFFER, ACK or NAK */
	struct hnv_ip yiaddr;             /* 0.0.0.0 for NAK and INFORM's ACK */
	struct hnv_ip server_id;          /* option 54, also the source */
	struct hnv_ip mask, router;       /* not sent with NAK */
	const struct hnv_dhcp_pool *pool; /* DNS and lease (no lease: INFORM) */
	bool lease;                       /* send lease, T1, T2 */
	uint16_t mtu;                     /* option 26 when >= 576 */
};

/* Writes the BOOTREPLY for m into out (cap bytes, padded to the 300-byte
 * BOOTP minimum). Returns its length, or -ENOSPC. */
int hnv_dhcp_build(uint8_t *out, size_t cap, const struct hnv_dhcp_msg *m,
		   const struct hnv_dhcp_answer *a);

/* The server identifier of an IPv4 prefix: network + 2 (see above). */
void hnv_dhcp_server_id(const struct hnv_prefix *p, struct hnv_ip *out);

/* The datapath stage for a VM's IPv4 frame. frame: untagged Ethernet, its
 * IPv4 header (validated by the caller: version, IHL, total length) at
 * frame + 14, l3_len bytes of IP packet; cap: bytes writable at frame.
 * Returns HNV_R__COUNT when the frame is not DHCP (leave it to the other
 * stages). Otherwise it returns the verdict: dhcp_reply with the reply
 * written at frame (*len set; send it back out of the ingress port), or a
 * drop reason. */
enum hnv_reason hnv_dhcp_serve(uint8_t *frame, size_t cap, uint32_t *len, size_t l3_len,
			       const struct hnv_port *pt, const struct hnv_vsubnet *vs,
			       const struct hnv_mac *gw_mac, unsigned uplink_mtu);

/* True when a is the server identifier of a VSID that has a pool (the host
 * answers ARP for it, so a client can renew by unicast). */
bool hnv_dhcp_is_server_addr(const struct hnv_vsubnet *vs, const struct hnv_ip *a);

#endif
