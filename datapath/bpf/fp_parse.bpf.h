/* fp_parse.bpf.h: wire parsing for the tc fast path (fp.bpf.c), the BPF
 * twins of datapath/proto.c's parsers.
 *
 * Each parser reads with pkt_load into aligned locals (struct fp_rd: in
 * place from the linear data, or with bpf_skb_load_bytes, so a nonlinear or
 * GSO frame needs no pull); it takes the offset of its header
 * in the frame and the bytes the caller allows it (the len of the C
 * parser: what is left of the enclosing packet, never more than the frame
 * holds) and fails exactly where its C twin fails. Callers map the error
 * to a reason as dp.c does; only the errors the callers tell apart have
 * distinct values (hnv_nvgre_parse's). Included by fp.bpf.c only.
 */
#ifndef HNV_FP_PARSE_BPF_H
#define HNV_FP_PARSE_BPF_H

#include "fp_maps.h"

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <stdbool.h>

#define ETH_HLEN 14
#define ET_IPV4 0x0800
#define ET_ARP 0x0806
#define ET_VLAN 0x8100
#define ET_QINQ 0x88a8
#define ET_IPV6 0x86dd
#define ET_TEB 0x6558
#define IPPROTO_GRE_ 47
#define NVGRE_HLEN 8
#define NVGRE_FLAGS_MASK 0xfc07
#define NVGRE_FLAGS_VALUE 0x2000
#define IPV4_DF 0x4000
#define IPV4_MF 0x2000
#define IPV4_OFFMASK 0x1fff
#define IPV6_MAX_EXT 8 /* HNV_IPV6_MAX_EXT */

#define E_MSGSIZE 90 /* EMSGSIZE */
#define E_PROTO 71   /* EPROTO */
#define E_INVAL 22   /* EINVAL */

/* ---- byte helpers (network order) ---- */

static __always_inline __u16 rd16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static __always_inline __u32 rd32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

static __always_inline void wr16(__u8 *p, __u16 v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

static __always_inline void wr32(__u8 *p, __u32 v)
{
	p[0] = (__u8)(v >> 24);
	p[1] = (__u8)(v >> 16);
	p[2] = (__u8)(v >> 8);
	p[3] = (__u8)v;
}

static __always_inline void ip_from_v4(struct fp_ip *a, const __u8 *v4)
{
	__builtin_memset(a->b, 0, 10);
	a->b[10] = 0xff;
	a->b[11] = 0xff;
	__builtin_memcpy(a->b + 12, v4, 4);
}

/* hnv_ip_is_v4: IPv4-mapped (::ffff:a.b.c.d). */
static __always_inline bool ip_is_v4(const struct fp_ip *a)
{
	__u64 w0;
	__builtin_memcpy(&w0, a->b, 8);
	return w0 == 0 && a->b[8] == 0 && a->b[9] == 0 && a->b[10] == 0xff && a->b[11] == 0xff;
}

static __always_inline bool ip_eq(const struct fp_ip *a, const struct fp_ip *b)
{
	__u64 a0, a1, b0, b1;
	__builtin_memcpy(&a0, a->b, 8);
	__builtin_memcpy(&a1, a->b + 8, 8);
	__builtin_memcpy(&b0, b->b, 8);
	__builtin_memcpy(&b1, b->b + 8, 8);
	return a0 == b0 && a1 == b1;
}

/* hnv_ip_is_unspec: 0.0.0.0 (mapped) or ::. */
static __always_inline bool ip_is_unspec(const struct fp_ip *a)
{
	__u64 a0, a1;
	__builtin_memcpy(&a0, a->b, 8);
	__builtin_memcpy(&a1, a->b + 8, 8);
	if (ip_is_v4(a))
		return a->b[12] == 0 && a->b[13] == 0 && a->b[14] == 0 && a->b[15] == 0;
	return a0 == 0 && a1 == 0;
}

/* The unspecified address of a's family: the CA of a GatewayWildcard key. */
static __always_inline void ip_unspec_like(struct fp_ip *z, bool v4)
{
	__builtin_memset(z->b, 0, 16);
	if (v4) {
		z->b[10] = 0xff;
		z->b[11] = 0xff;
	}
}

static __always_inline bool mac_eq(const __u8 *a, const __u8 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] &&
	       a[5] == b[5];
}

static __always_inline bool mac_is_group(const __u8 *m)
{
	return m[0] & 1;
}

/* ---- reading the frame ---- */

/* How a decision reads its frame. A program decides first reading the
 * linear data in place (a few loads, no helper call: the common case); a
 * header that lies past the linear data (but within the frame) sets short_
 * and fails the read, and the program then makes the whole decision again
 * with slow set, reading with bpf_skb_load_bytes, which sees the whole
 * frame. slow is a constant in each copy of the decision, so either copy
 * is straight-line code for the verifier. */
struct fp_rd {
	struct __sk_buff *skb;
	bool slow;   /* read with bpf_skb_load_bytes */
	bool short_; /* a read fell past the linear data: the decision is void */
};

/* Offsets the verifier lets us add to a packet pointer are bounded; the
 * headers the fast path reads lie far below this. */
#define FP_DIRECT_MAX 0x3fff

/* The compiler must use this very register for what follows (and not
 * recompute the value from its parts), so the bound the verifier learns
 * from a check of it holds for the packet access after the check. */
#define fp_opaque(x) asm volatile("" : "+r"(x))

/* bpf_skb_load_bytes(skb, off, to, n) for a constant n (see struct fp_rd). */
static __always_inline int pkt_load(struct fp_rd *rd, __u32 off, void *to, const __u32 n)
{
	struct __sk_buff *skb = rd->skb;
	/* only at constant offsets: a packet pointer plus an offset read from
	 * the frame makes the verifier track that offset exactly, which
	 * multiplies its states (tenfold here) */
	if (rd->slow || !__builtin_constant_p(off))
		return (int)bpf_skb_load_bytes(skb, off, to, n);
	const __u8 *data = (const __u8 *)(long)skb->data;
	const __u8 *end = (const __u8 *)(long)skb->data_end;
	if (off <= FP_DIRECT_MAX) {
		const __u8 *p = data + off;
		if (p + n <= end) {
			__builtin_memcpy(to, p, n);
			return 0;
		}
	}
	if ((__u64)off + n <= skb->len)
		rd->short_ = true;
	return -1;
}

/* ---- Ethernet ---- */

struct eth_info {
	__u8 dst[6];
	__u8 src[6];
	__u16 type; /* after the tags */
	__u16 hlen; /* 14, 18 or 22 */
	__u8 tags;  /* 802.1Q/802.1ad tags in the data */
	__u8 pad;
};

/* hnv_eth_parse. max_tags: tags the data may hold (2, or 1 when the frame
 * also has an offloaded tag, which counts as the first). Fails with
 * -E_MSGSIZE when a header is cut short, -E_INVAL for too many tags. */
static __always_inline int parse_eth(struct fp_rd *rd, __u32 off, __u32 len,
				     struct eth_info *e, __u32 max_tags)
{
	__u8 h[ETH_HLEN];
	if (len < ETH_HLEN || pkt_load(rd, off, h, ETH_HLEN))
		return -E_MSGSIZE;
	__builtin_memcpy(e->dst, h, 6);
	__builtin_memcpy(e->src, h + 6, 6);
	e->type = rd16(h + 12);
	e->hlen = ETH_HLEN;
	e->tags = 0;
	/* two tags at most, unrolled by hand (the programs have no loop: kernel
	 * 6.1's verifier refuses some, see parse_ipv6; clang cannot unroll
	 * this one itself); each tag at a constant offset from off */
	if (max_tags > 0 && (e->type == ET_VLAN || e->type == ET_QINQ)) {
		__u8 tag[4];
		if (len < ETH_HLEN + 4 || pkt_load(rd, off + ETH_HLEN, tag, 4))
			return -E_MSGSIZE;
		e->type = rd16(tag + 2);
		e->hlen = ETH_HLEN + 4;
		e->tags = 1;
		if (max_tags > 1 && (e->type == ET_VLAN || e->type == ET_QINQ)) {
			if (len < ETH_HLEN + 8 || pkt_load(rd, off + ETH_HLEN + 4, tag, 4))
				return -E_MSGSIZE;
			e->type = rd16(tag + 2);
			e->hlen = ETH_HLEN + 8;
			e->tags = 2;
		}
	}
	if (e->type == ET_VLAN || e->type == ET_QINQ)
		return -E_INVAL;
	return 0;
}

/* ---- IPv4 / IPv6 ---- */

/* The facts dp.c keeps in struct hnv_ipv4 / hnv_ipv6, for either family. */
struct ip_info {
	struct fp_ip src, dst;
	__u32 l3_len;  /* total length (IPv4) or 40 + payload length (IPv6) */
	__u16 l4_off;  /* IHL bytes (IPv4) or the upper-layer offset (IPv6) */
	__u16 frag;    /* IPv4: flags and fragment offset */
	__u16 csum;    /* IPv4: the header checksum */
	__u8 tos;      /* TOS (IPv4) or traffic class (IPv6) */
	__u8 ttl;      /* TTL or hop limit */
	__u8 proto;    /* upper-layer protocol (IPv6: after extension headers) */
	__u8 fragment; /* IPv4: MF or an offset (hnv_ipv4_is_fragment); IPv6: a fragment header */
	__u8 v4, v6;
	__u8 b0, b1;   /* IPv6: the first two bytes (version, traffic class, flow label) */
};

/* hnv_ipv4_parse: version, IHL, total length within len. */
static __always_inline int parse_ipv4(struct fp_rd *rd, __u32 off, __u32 len,
				      struct ip_info *ip)
{
	__u8 h[20];
	if (len < 20 || pkt_load(rd, off, h, 20))
		return -E_MSGSIZE;
	if (h[0] >> 4 != 4)
		return -E_INVAL;
	__u32 ihl = (__u32)(h[0] & 0x0f) * 4;
	if (ihl < 20)
		return -E_INVAL;
	if (len < ihl)
		return -E_MSGSIZE;
	__u32 total = rd16(h + 2);
	if (total < ihl)
		return -E_INVAL;
	if (total > len)
		return -E_MSGSIZE;
	ip->v4 = 1;
	ip->v6 = 0;
	ip->tos = h[1];
	ip->l3_len = total;
	ip->l4_off = (__u16)ihl;
	ip->frag = rd16(h + 6);
	ip->fragment = (ip->frag & (IPV4_MF | IPV4_OFFMASK)) != 0;
	ip->ttl = h[8];
	ip->proto = h[9];
	ip->csum = rd16(h + 10);
	ip->b0 = h[0];
	ip->b1 = h[1];
	ip_from_v4(&ip->src, h + 12);
	ip_from_v4(&ip->dst, h + 16);
	return 0;
}

/* hnv_ipv4_csum_ok: the header of ihl bytes at off sums to 0xffff. Summed
 * in place when the header is in the linear data. */
static __always_inline bool ipv4_csum_ok(struct fp_rd *rd, __u32 off, __u32 ihl)
{
	struct __sk_buff *skb = rd->skb;
	__u32 n = ihl & 0x3c;
	__u32 s = 0;
	if (n < 20)
		return false;
	if (rd->slow || !__builtin_constant_p(off))
		goto copy;
	const __u8 *p = (const __u8 *)(long)skb->data;
	const __u8 *end = (const __u8 *)(long)skb->data_end;
	if (off <= FP_DIRECT_MAX) {
		p += off;
		if (p + 20 > end)
			goto short_;
#pragma clang loop unroll(full)
		for (int i = 0; i < 20; i += 2)
			s += rd16(p + i);
#pragma clang loop unroll(full)
		for (int i = 20; i < 60; i += 2) {
			if ((__u32)i < n) {
				if (p + i + 2 > end)
					goto short_;
				s += rd16(p + i);
			}
		}
		goto fold;
	}
short_:
	rd->short_ = true; /* the header passed parse_ipv4: it is in the frame */
	return false;
copy:;
	__u8 h[60] = {};
	if (bpf_skb_load_bytes(skb, off, h, n))
		return false;
	s = 0;
#pragma clang loop unroll(full)
	for (int i = 0; i < 60; i += 2)
		s += rd16(h + i); /* the zeroes past ihl add nothing */
fold:
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}

/* hnv_ipv6_parse: payload length within len, then at most IPV6_MAX_EXT
 * extension headers (hop-by-hop, routing, fragment, destination options,
 * AH), each length checked. */
static __always_inline int parse_ipv6(struct fp_rd *rd, __u32 off, __u32 len,
				      struct ip_info *ip)
{
	__u8 h[40];
	if (len < 40 || pkt_load(rd, off, h, 40))
		return -E_MSGSIZE;
	if (h[0] >> 4 != 6)
		return -E_INVAL;
	__u32 payload = rd16(h + 4);
	if (payload + 40 > len)
		return -E_MSGSIZE;
	ip->v4 = 0;
	ip->v6 = 1;
	ip->tos = (__u8)((h[0] & 0x0f) << 4 | h[1] >> 4);
	ip->b0 = h[0];
	ip->b1 = h[1];
	ip->l3_len = 40 + payload;
	ip->frag = 0;
	ip->csum = 0;
	ip->ttl = h[7];
	__builtin_memcpy(ip->src.b, h + 8, 16);
	__builtin_memcpy(ip->dst.b, h + 24, 16);
	ip->fragment = 0;
	__u32 end = 40 + payload, o = 40;
	__u8 next = h[6];
	/* unrolled: kernel 6.1 rejects the loop clang builds here (its latch
	 * falls through into its head, a back-edge 6.1's check_cfg refuses) */
#pragma clang loop unroll(full)
	for (__u32 n = 0; n <= IPV6_MAX_EXT; n++) {
		__u8 x[4];
		__u32 elen;
		if (next == 0 || next == 43 || next == 60 || next == 51) {
			if (o + 2 > end || pkt_load(rd, off + o, x, 2))
				return -E_MSGSIZE;
			elen = next == 51 ? ((__u32)x[1] + 2) * 4 : ((__u32)x[1] + 1) * 8;
		} else if (next == 44) {
			elen = 8;
			ip->fragment = 1;
		} else {
			ip->proto = next;
			ip->l4_off = (__u16)o;
			return 0;
		}
		if (n == IPV6_MAX_EXT)
			return -E_INVAL;
		if (o + elen > end)
			return -E_MSGSIZE;
		if (next == 44) {
			if (pkt_load(rd, off + o, x, 4))
				return -E_MSGSIZE;
			next = x[0];
			if (rd16(x + 2) & 0xfff8) {
				/* not the first fragment: no upper-layer header follows */
				ip->proto = next;
				ip->l4_off = (__u16)(o + elen);
				return 0;
			}
		} else {
			next = x[0];
		}
		o += elen;
	}
	return -E_INVAL;
}

/* classify()'s IP step: the header after an Ethernet header of type
 * ethertype, len bytes of L3. Non-IP: 0 with neither v4 nor v6 set. IPv6
 * with IPv4-mapped addresses is rejected as dp.c's classify does. */
static __always_inline int parse_ip(struct fp_rd *rd, __u16 ethertype, __u32 off, __u32 len,
				    struct ip_info *ip)
{
	ip->v4 = ip->v6 = 0;
	if (ethertype == ET_IPV4)
		return parse_ipv4(rd, off, len, ip);
	if (ethertype == ET_IPV6) {
		int rc = parse_ipv6(rd, off, len, ip);
		if (rc)
			return rc;
		if (ip_is_v4(&ip->src) || ip_is_v4(&ip->dst))
			return -E_INVAL;
	}
	return 0;
}

/* parse_ip of the header after the Ethernet header e found at off: at a
 * constant offset (read in place) when the frame has no tag in its data,
 * the common case. */
static __always_inline int parse_ip_after(struct fp_rd *rd, const struct eth_info *e, __u32 off,
					  __u32 len, struct ip_info *ip)
{
	if (e->hlen == ETH_HLEN)
		return parse_ip(rd, e->type, off + ETH_HLEN, len - ETH_HLEN, ip);
	__u32 hlen = e->hlen;
	fp_opaque(hlen); /* a second copy: not merged with the one above */
	return parse_ip(rd, e->type, off + hlen, len - hlen, ip);
}

/* ---- NVGRE ---- */

/* hnv_nvgre_parse: -E_MSGSIZE (runt), -E_INVAL (flags), -E_PROTO (not
 * 0x6558). */
static __always_inline int parse_nvgre(struct fp_rd *rd, __u32 off, __u32 len, __u32 *vsid,
				       __u8 *flow_id)
{
	__u8 g[NVGRE_HLEN];
	if (len < NVGRE_HLEN || pkt_load(rd, off, g, NVGRE_HLEN))
		return -E_MSGSIZE;
	if ((rd16(g) & NVGRE_FLAGS_MASK) != NVGRE_FLAGS_VALUE)
		return -E_INVAL;
	if (rd16(g + 2) != ET_TEB)
		return -E_PROTO;
	__u32 key = rd32(g + 4);
	*vsid = key >> 8;
	*flow_id = (__u8)key;
	return 0;
}

/* ---- checksums ---- */

/* hnv_csum_update16: RFC 1624 incremental update of a 16-bit field. */
static __always_inline __u16 csum_update16(__u16 csum, __u16 old, __u16 new_)
{
	__u32 s = (__u16)~csum + (__u16)~old + (__u32)new_;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* hnv_ipv4_set_csum for a 20-byte header whose checksum bytes are zero. */
static __always_inline __u16 ipv4_hdr_csum20(const __u8 *h)
{
	__u32 s = 0;
#pragma clang loop unroll(full)
	for (int i = 0; i < 20; i += 2)
		s += rd16(h + i);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

#endif
