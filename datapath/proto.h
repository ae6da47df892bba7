/* proto.h: wire codecs for Ethernet, 802.1Q, ARP, IPv4, IPv6 (extension
 * headers), ICMP, ICMPv6 (ND) and GRE/NVGRE.
 *
 * Parsers take (pointer, remaining length), check every declared length
 * against what is left, copy the fields they report into the caller's
 * struct, and return 0 or a negative errno:
 *   -EMSGSIZE  truncated: fewer bytes than the header needs or declares
 *   -EINVAL    malformed: a field has a value the protocol forbids
 *   -EPROTO    well-formed but not what the caller asked for (e.g. not NVGRE)
 * They never read past len and never assert. Builders write into a buffer
 * the caller has sized (each states how many bytes it writes).
 */
#ifndef HNV_PROTO_H
#define HNV_PROTO_H

#include "../lib/hnv_types.h"

#define HNV_ETH_HLEN 14
#define HNV_ET_IPV4 0x0800
#define HNV_ET_ARP 0x0806
#define HNV_ET_VLAN 0x8100
#define HNV_ET_QINQ 0x88a8
#define HNV_ET_IPV6 0x86dd
#define HNV_ET_TEB 0x6558 /* transparent Ethernet bridging: NVGRE */
#define HNV_IPPROTO_GRE 47
#define NVGRE_HLEN 8
#define NVGRE_OVERHEAD4 (HNV_ETH_HLEN + 20 + NVGRE_HLEN) /* 42 */
#define NVGRE_OVERHEAD6 (HNV_ETH_HLEN + 40 + NVGRE_HLEN) /* 62 */

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

struct hnv_eth {
	struct hnv_mac dst, src;
	uint16_t type;     /* ethertype after any tags */
	bool tagged;       /* an 802.1Q/802.1ad tag was present */
	uint16_t vlan_tci; /* of the outermost tag */
	uint16_t hlen;     /* 14, +4 per tag */
};
/* Parses Ethernet and up to two VLAN tags. */
int hnv_eth_parse(const uint8_t *p, size_t len, struct hnv_eth *e);

struct hnv_arp {
	uint16_t op; /* 1 request, 2 reply */
	struct hnv_mac sha, tha;
	struct hnv_ip spa, tpa; /* IPv4-mapped */
};
/* Ethernet/IPv4 ARP only (htype 1, ptype 0x0800, hlen 6, plen 4). */
int hnv_arp_parse(const uint8_t *p, size_t len, struct hnv_arp *a);

struct hnv_ipv4 {
	uint8_t ihl_bytes;
	uint8_t tos;
	uint16_t total_len;
	uint16_t frag; /* flags and offset field */
	uint8_t ttl;
	uint8_t proto;
	struct hnv_ip src, dst; /* IPv4-mapped */
};
#define IPV4_DF 0x4000
#define IPV4_MF 0x2000
#define IPV4_OFFMASK 0x1fff
/* Version, IHL, total length and options length; the checksum is checked
 * only with hnv_ipv4_csum_ok. */
int hnv_ipv4_parse(const uint8_t *p, size_t len, struct hnv_ipv4 *h);
bool hnv_ipv4_csum_ok(const uint8_t *p, size_t ihl_bytes);
static inline bool hnv_ipv4_is_fragment(const struct hnv_ipv4 *h)
{
	return (h->frag & (IPV4_MF | IPV4_OFFMASK)) != 0;
}

struct hnv_ipv6 {
	uint8_t tclass;
	uint32_t flow;
	uint16_t payload_len;
	uint8_t hop_limit;
	struct hnv_ip src, dst;
	uint8_t proto;      /* upper-layer protocol after extension headers */
	uint16_t l4_off;    /* offset of the upper-layer header from the IPv6 header */
	bool fragment;      /* a fragment header was present */
};
#define HNV_IPV6_MAX_EXT 8
/* Walks at most HNV_IPV6_MAX_EXT extension headers (hop-by-hop, routing,
 * fragment, destination options, AH), each length checked. */
int hnv_ipv6_parse(const uint8_t *p, size_t len, struct hnv_ipv6 *h);

struct hnv_icmp {
	uint8_t type, code;
};
int hnv_icmp_parse(const uint8_t *p, size_t len, struct hnv_icmp *c);

/* ICMPv6 with the neighbour discovery messages HNV answers. */
#define ICMP6_PKT_TOO_BIG 2
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define ND_ROUTER_SOLICIT 133
#define ND_NEIGHBOR_SOLICIT 135
#define ND_NEIGHBOR_ADVERT 136
struct hnv_icmp6 {
	uint8_t type, code;
	struct hnv_ip target; /* NS/NA */
	bool has_lladdr;      /* source (NS) or target (NA) link-layer option */
	struct hnv_mac lladdr;
};
/* Parses ICMPv6; for NS/NA also the target and the link-layer option,
 * walking every option with its length checked (a zero length is invalid). */
int hnv_icmp6_parse(const uint8_t *p, size_t len, struct hnv_icmp6 *c);

/* NVGRE header. */
struct hnv_nvgre {
	uint16_t flags; /* the first 16 bits as received */
	uint32_t vsid;
	uint8_t flow_id;
};
/* Receive rules of RFC 7637 with RFC 2784/2890: C, bit 1, S, bits 4-5 zero,
 * K one, version zero (reserved bits 6-12 ignored), protocol 0x6558.
 * Returns -EINVAL for bad flags, -EPROTO for another protocol type. The VSID
 * range is the caller's policy. */
#define NVGRE_FLAGS_MASK 0xfc07
#define NVGRE_FLAGS_VALUE 0x2000
int hnv_nvgre_parse(const uint8_t *p, size_t len, struct hnv_nvgre *g);
void hnv_nvgre_write(uint8_t *p, uint32_t vsid, uint8_t flow_id); /* 8 bytes */

/* Internet checksum helpers. */
uint32_t hnv_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t hnv_csum_fold(uint32_t sum);
/* RFC 1624 incremental update of a 16-bit field: old -> new. */
static inline uint16_t hnv_csum_update16(uint16_t csum, uint16_t old, uint16_t new_)
{
	uint32_t s = (uint16_t)~csum + (uint16_t)~old + new_;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}
void hnv_ipv4_set_csum(uint8_t *ip, size_t ihl_bytes);
/* Checksum over the IPv6 pseudo-header and an upper-layer message. */
uint16_t hnv_csum6(const struct hnv_ip *src, const struct hnv_ip *dst, uint8_t next, const void *l4,
		   size_t len);

/* Builders. Each writes at the given pointer and returns bytes written. */
size_t hnv_eth_write(uint8_t *p, const struct hnv_mac *dst, const struct hnv_mac *src,
		     uint16_t type);
/* 20-byte IPv4 header, no options, checksum set. */
size_t hnv_ipv4_write(uint8_t *p, const struct hnv_ip *src, const struct hnv_ip *dst, uint8_t proto,
		      uint8_t tos, uint16_t payload_len, uint8_t ttl, bool df, uint16_t id);
size_t hnv_ipv6_write(uint8_t *p, const struct hnv_ip *src, const struct hnv_ip *dst, uint8_t next,
		      uint8_t tclass, uint32_t flow, uint16_t payload_len, uint8_t hop_limit);
/* 28-byte ARP reply body. */
size_t hnv_arp_reply_write(uint8_t *p, const struct hnv_mac *sha, const struct hnv_ip *spa,
			   const struct hnv_mac *tha, const struct hnv_ip *tpa);

/* The solicited-node multicast address ff02::1:ffXX:XXXX of a. */
void hnv_ipv6_solicited_node(const struct hnv_ip *a, struct hnv_ip *out);
bool hnv_ipv6_is_multicast(const struct hnv_ip *a);

#endif
