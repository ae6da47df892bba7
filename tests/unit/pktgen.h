/* pktgen.h: a small frame builder for the unit tests and the fuzz seeds.
 *
 * Header-only (static inline, so a test that uses part of it does not warn
 * about the rest). It is deliberately independent of datapath/proto.c: it
 * writes every byte and computes every checksum itself, so a codec bug and
 * the test that should catch it cannot cancel out.
 *
 * Builders write at buf (the caller sizes it: PG_FRAME_MAX is enough for any
 * frame here) and return the number of bytes written.
 */
#ifndef HNV_PKTGEN_H
#define HNV_PKTGEN_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/hnv_types.h"

#define PG_FRAME_MAX 10240

static inline void pg_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void pg_put32(uint8_t *p, uint32_t v)
{
	pg_put16(p, (uint16_t)(v >> 16));
	pg_put16(p + 2, (uint16_t)v);
}

static inline uint16_t pg_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t pg_get32(const uint8_t *p)
{
	return (uint32_t)pg_get16(p) << 16 | pg_get16(p + 2);
}

/* "060600000005" (12 hex digits) -> MAC; aborts on a typo in a test. */
static inline struct hnv_mac pg_mac(const char *hex)
{
	struct hnv_mac m;
	if (strlen(hex) != 12)
		abort();
	for (int i = 0; i < 6; i++) {
		char byte[3] = {hex[2 * i], hex[2 * i + 1], 0};
		char *end;
		m.b[i] = (uint8_t)strtoul(byte, &end, 16);
		if (*end)
			abort();
	}
	return m;
}

/* Dotted IPv4 (stored IPv4-mapped) or IPv6 text -> address; aborts on a typo. */
static inline struct hnv_ip pg_ip(const char *s)
{
	struct hnv_ip a;
	uint8_t v4[4];
	if (inet_pton(AF_INET, s, v4) == 1) {
		memset(a.b, 0, 10);
		a.b[10] = a.b[11] = 0xff;
		memcpy(a.b + 12, v4, 4);
		return a;
	}
	if (inet_pton(AF_INET6, s, a.b) != 1)
		abort();
	return a;
}

static inline bool pg_is_v4(const struct hnv_ip *a)
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return memcmp(a->b, pfx, 12) == 0;
}

/* One's complement sum (RFC 1071), not yet folded. */
static inline uint32_t pg_sum(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += pg_get16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static inline uint16_t pg_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Checksum of an upper-layer message with an IPv6 pseudo-header (whatever
 * the addresses look like, IPv4-mapped ones included). Over a message that
 * carries its checksum, a correct one gives 0. */
static inline uint16_t pg_csum6(const struct hnv_ip *src, const struct hnv_ip *dst, uint8_t proto,
				const uint8_t *l4, size_t len)
{
	uint32_t s = 0;
	s = pg_sum(s, src->b, 16);
	s = pg_sum(s, dst->b, 16);
	s += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff);
	s += proto;
	return pg_fold(pg_sum(s, l4, len));
}

/* The same with an IPv4 pseudo-header. */
static inline uint16_t pg_csum4(const struct hnv_ip *src, const struct hnv_ip *dst, uint8_t proto,
				const uint8_t *l4, size_t len)
{
	uint32_t s = 0;
	s = pg_sum(s, src->b + 12, 4);
	s = pg_sum(s, dst->b + 12, 4);
	s += proto;
	s += (uint32_t)len;
	return pg_fold(pg_sum(s, l4, len));
}

/* The pseudo-header of the address family of src. */
static inline uint16_t pg_l4_csum(const struct hnv_ip *src, const struct hnv_ip *dst,
				  uint8_t proto, const uint8_t *l4, size_t len)
{
	return pg_is_v4(src) ? pg_csum4(src, dst, proto, l4, len)
			     : pg_csum6(src, dst, proto, l4, len);
}

/* True when the IPv4 header at ip (ihl bytes) carries a correct checksum. */
static inline bool pg_ip4_csum_ok(const uint8_t *ip)
{
	return pg_fold(pg_sum(0, ip, (size_t)(ip[0] & 15) * 4)) == 0;
}

static inline size_t pg_eth(uint8_t *buf, const struct hnv_mac *dst, const struct hnv_mac *src,
			    uint16_t type)
{
	memcpy(buf, dst->b, 6);
	memcpy(buf + 6, src->b, 6);
	pg_put16(buf + 12, type);
	return 14;
}

/* An IP packet in an Ethernet frame. The family of src picks IPv4/IPv6
 * unless v6 forces IPv6 (for IPv4-mapped addresses in an IPv6 header). */
struct pg_ip_pkt {
	bool v6;
	struct hnv_mac dst_mac, src_mac;
	uint16_t vlan;         /* nonzero: one 802.1Q tag with this TCI */
	struct hnv_ip src, dst;
	uint8_t proto;         /* 6 TCP, 17 UDP, 1 ICMP echo, 58 ICMPv6 echo; else raw */
	uint8_t tos;           /* IPv4 TOS / IPv6 traffic class (DSCP + ECN) */
	uint8_t ttl;           /* TTL / hop limit */
	bool df;               /* IPv4 don't-fragment */
	uint16_t sport, dport; /* TCP/UDP ports; ICMP echo id/seq */
	size_t payload_len;    /* bytes after the L4 header (after IP for raw) */
	uint8_t fill;          /* payload byte pattern seed */
};

static inline struct pg_ip_pkt pg_ip_defaults(const char *src_mac, const char *dst_mac,
					      const char *src, const char *dst, uint8_t proto)
{
	struct pg_ip_pkt s;
	memset(&s, 0, sizeof(s));
	s.src_mac = pg_mac(src_mac);
	s.dst_mac = pg_mac(dst_mac);
	s.src = pg_ip(src);
	s.dst = pg_ip(dst);
	s.proto = proto;
	s.ttl = 64;
	s.df = true;
	s.sport = 1234;
	s.dport = 80;
	s.payload_len = 32;
	return s;
}

/* Builds the frame: Ethernet (+tag), IP header, L4 header, payload; every
 * length and checksum correct. */
static inline size_t pg_ip_frame(uint8_t *buf, const struct pg_ip_pkt *s)
{
	bool v4 = pg_is_v4(&s->src) && !s->v6;
	size_t off = 0;
	if (s->vlan) {
		off = pg_eth(buf, &s->dst_mac, &s->src_mac, 0x8100);
		pg_put16(buf + off, s->vlan);
		off += 2;
	} else {
		off = 12;
		memcpy(buf, s->dst_mac.b, 6);
		memcpy(buf + 6, s->src_mac.b, 6);
	}
	pg_put16(buf + off, v4 ? 0x0800 : 0x86dd);
	off += 2;
	uint8_t *ip = buf + off;
	size_t iphl = v4 ? 20 : 40;
	size_t l4hl = s->proto == 6 ? 20 : (s->proto == 17 || s->proto == 1 || s->proto == 58) ? 8 : 0;
	uint8_t *l4 = ip + iphl;
	size_t l4len = l4hl + s->payload_len;
	for (size_t i = 0; i < s->payload_len; i++)
		l4[l4hl + i] = (uint8_t)(s->fill + i * 7);
	memset(l4, 0, l4hl);
	if (s->proto == 6) {
		pg_put16(l4, s->sport);
		pg_put16(l4 + 2, s->dport);
		pg_put32(l4 + 4, 1000);
		l4[12] = 5 << 4;
		l4[13] = 0x10; /* ACK */
		pg_put16(l4 + 14, 65535);
	} else if (s->proto == 17) {
		pg_put16(l4, s->sport);
		pg_put16(l4 + 2, s->dport);
		pg_put16(l4 + 4, (uint16_t)l4len);
	} else if (s->proto == 1 || s->proto == 58) {
		l4[0] = s->proto == 1 ? 8 : 128; /* echo request */
		pg_put16(l4 + 4, s->sport);
		pg_put16(l4 + 6, s->dport);
	}
	if (v4) {
		ip[0] = 0x45;
		ip[1] = s->tos;
		pg_put16(ip + 2, (uint16_t)(20 + l4len));
		pg_put16(ip + 4, 0x1234);
		pg_put16(ip + 6, s->df ? 0x4000 : 0);
		ip[8] = s->ttl;
		ip[9] = s->proto;
		ip[10] = ip[11] = 0;
		memcpy(ip + 12, s->src.b + 12, 4);
		memcpy(ip + 16, s->dst.b + 12, 4);
		pg_put16(ip + 10, pg_fold(pg_sum(0, ip, 20)));
	} else {
		pg_put32(ip, 6u << 28 | (uint32_t)s->tos << 20 | 0x12345);
		pg_put16(ip + 4, (uint16_t)l4len);
		ip[6] = s->proto;
		ip[7] = s->ttl;
		memcpy(ip + 8, s->src.b, 16);
		memcpy(ip + 24, s->dst.b, 16);
	}
	size_t csum_at = s->proto == 6 ? 16 : s->proto == 17 ? 6 : 2;
	if (s->proto == 1)
		pg_put16(l4 + csum_at, pg_fold(pg_sum(0, l4, l4len)));
	else if (l4hl && v4)
		pg_put16(l4 + csum_at, pg_csum4(&s->src, &s->dst, s->proto, l4, l4len));
	else if (l4hl)
		pg_put16(l4 + csum_at, pg_csum6(&s->src, &s->dst, s->proto, l4, l4len));
	return off + iphl + l4len;
}

/* An Ethernet/IPv4 ARP message (42 bytes, no padding). */
static inline size_t pg_arp(uint8_t *buf, const struct hnv_mac *eth_dst, uint16_t op,
			    const struct hnv_mac *sha, const struct hnv_ip *spa,
			    const struct hnv_mac *tha, const struct hnv_ip *tpa)
{
	size_t off = pg_eth(buf, eth_dst, sha, 0x0806);
	uint8_t *a = buf + off;
	pg_put16(a, 1);
	pg_put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	pg_put16(a + 6, op);
	memcpy(a + 8, sha->b, 6);
	memcpy(a + 14, spa->b + 12, 4);
	memcpy(a + 18, tha->b, 6);
	memcpy(a + 24, tpa->b + 12, 4);
	return off + 28;
}

/* A broadcast ARP request from (mac, ip) for target. */
static inline size_t pg_arp_request(uint8_t *buf, const char *mac, const char *ip,
				    const char *target)
{
	struct hnv_mac bc = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, zero = {{0}};
	struct hnv_mac sha = pg_mac(mac);
	struct hnv_ip spa = pg_ip(ip), tpa = pg_ip(target);
	return pg_arp(buf, &bc, 1, &sha, &spa, &zero, &tpa);
}

/* A neighbour solicitation for target from (mac, src) to the target's
 * solicited-node group (dst NULL) or to the unicast dst/dst_mac, hop limit
 * hlim, with a source link-layer option when slla is set. */
static inline size_t pg_ns(uint8_t *buf, const char *mac, const char *src, const char *target,
			   const char *dst, const char *dst_mac, uint8_t hlim, bool slla)
{
	struct hnv_ip s = pg_ip(src), t = pg_ip(target), d;
	struct hnv_mac sm = pg_mac(mac), dm;
	if (dst) {
		d = pg_ip(dst);
		dm = pg_mac(dst_mac);
	} else {
		static const uint8_t sn[13] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
		memcpy(d.b, sn, 13);
		memcpy(d.b + 13, t.b + 13, 3);
		dm = (struct hnv_mac){{0x33, 0x33, 0xff, t.b[13], t.b[14], t.b[15]}};
	}
	size_t off = pg_eth(buf, &dm, &sm, 0x86dd);
	uint8_t *ip = buf + off, *icmp = ip + 40;
	size_t ilen = slla ? 32 : 24;
	memset(icmp, 0, ilen);
	icmp[0] = 135;
	memcpy(icmp + 8, t.b, 16);
	if (slla) {
		icmp[24] = 1;
		icmp[25] = 1;
		memcpy(icmp + 26, sm.b, 6);
	}
	pg_put32(ip, 6u << 28);
	pg_put16(ip + 4, (uint16_t)ilen);
	ip[6] = 58;
	ip[7] = hlim;
	memcpy(ip + 8, s.b, 16);
	memcpy(ip + 24, d.b, 16);
	pg_put16(icmp + 2, pg_csum6(&s, &d, 58, icmp, ilen));
	return off + 40 + ilen;
}

/* The outer headers of an NVGRE packet. */
struct pg_gre {
	struct hnv_mac dst_mac, src_mac;
	struct hnv_ip src, dst; /* PAs; the family of src picks IPv4/IPv6 */
	bool v6;                /* IPv6 even for IPv4-mapped addresses */
	uint8_t tos;            /* outer TOS / traffic class (ECN in the low bits) */
	uint16_t frag;          /* IPv4 flags + fragment offset field */
	uint8_t ip_proto;       /* 47 */
	uint16_t flags;         /* GRE first word */
	uint16_t proto;         /* GRE protocol type */
	uint32_t vsid;
	uint8_t flow_id;
};

static inline struct pg_gre pg_gre_defaults(const char *src_pa, const char *dst_pa, uint32_t vsid)
{
	struct pg_gre g;
	memset(&g, 0, sizeof(g));
	g.dst_mac = pg_mac("00155d000011");
	g.src_mac = pg_mac("00155d000022");
	g.src = pg_ip(src_pa);
	g.dst = pg_ip(dst_pa);
	g.frag = 0x4000;
	g.ip_proto = 47;
	g.flags = 0x2000;
	g.proto = 0x6558;
	g.vsid = vsid;
	g.flow_id = 0x5a;
	return g;
}

/* Wraps the inner frame (len bytes) in outer Ethernet, IP and GRE. */
static inline size_t pg_nvgre(uint8_t *buf, const struct pg_gre *g, const uint8_t *inner,
			      size_t len)
{
	bool v4 = pg_is_v4(&g->src) && !g->v6;
	size_t off = pg_eth(buf, &g->dst_mac, &g->src_mac, v4 ? 0x0800 : 0x86dd);
	uint8_t *ip = buf + off;
	size_t iphl = v4 ? 20 : 40;
	uint8_t *gre = ip + iphl;
	memmove(gre + 8, inner, len);
	pg_put16(gre, g->flags);
	pg_put16(gre + 2, g->proto);
	pg_put32(gre + 4, g->vsid << 8 | g->flow_id);
	if (v4) {
		ip[0] = 0x45;
		ip[1] = g->tos;
		pg_put16(ip + 2, (uint16_t)(20 + 8 + len));
		pg_put16(ip + 4, 0x4321);
		pg_put16(ip + 6, g->frag);
		ip[8] = 64;
		ip[9] = g->ip_proto;
		ip[10] = ip[11] = 0;
		memcpy(ip + 12, g->src.b + 12, 4);
		memcpy(ip + 16, g->dst.b + 12, 4);
		pg_put16(ip + 10, pg_fold(pg_sum(0, ip, 20)));
	} else {
		pg_put32(ip, 6u << 28 | (uint32_t)g->tos << 20);
		pg_put16(ip + 4, (uint16_t)(8 + len));
		ip[6] = g->ip_proto;
		ip[7] = 64;
		memcpy(ip + 8, g->src.b, 16);
		memcpy(ip + 24, g->dst.b, 16);
	}
	return off + iphl + 8 + len;
}

#endif
