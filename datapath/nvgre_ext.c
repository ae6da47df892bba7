/* nvgre_ext.c: REDIRECT and UNREACHABLE (see nvgre_ext.h for the facts
 * and the choices made where the sources say nothing). */
#include "nvgre_ext.h"

#include "proto.h"

#include <errno.h>
#include <string.h>

#define ICMP4_UNREACH 3
#define ICMP4_UNREACH_HOST 1
#define ICMP4_REDIRECT 5
#define ICMP4_REDIRECT_HOST 1
#define ICMP6_UNREACH 1
#define ICMP6_UNREACH_NOROUTE 0
#define ICMP6_REDIRECT 137
#define ND_OPT_REDIRECTED_HDR 4

/* The source and destination of a quoted customer IP header, which must
 * be whole (its options included); 8 more bytes may follow. */
static int quote_parse(const uint8_t *q, size_t len, struct hnv_ip *src, struct hnv_ip *dst)
{
	if (len < 1)
		return -EMSGSIZE;
	if (q[0] >> 4 == 4) {
		if (len < 20)
			return -EMSGSIZE;
		size_t ihl = (size_t)(q[0] & 0x0f) * 4;
		if (ihl < 20)
			return -EINVAL;
		if (len < ihl)
			return -EMSGSIZE;
		hnv_ip_from_v4(src, q + 12);
		hnv_ip_from_v4(dst, q + 16);
		return 0;
	}
	if (q[0] >> 4 == 6) {
		if (len < 40)
			return -EMSGSIZE;
		memcpy(src->b, q + 8, 16);
		memcpy(dst->b, q + 24, 16);
		/* an IPv4-mapped address inside IPv6 would alias an IPv4 CA */
		if (hnv_ip_is_v4(src) || hnv_ip_is_v4(dst))
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

/* Bytes of quote to copy: its IP header and at most 8 bytes more. */
static int quote_len(const uint8_t *q, size_t qlen)
{
	struct hnv_ip s, d;
	if (quote_parse(q, qlen, &s, &d))
		return -EINVAL;
	size_t hdr = q[0] >> 4 == 4 ? (size_t)(q[0] & 0x0f) * 4 : 40;
	return (int)(qlen < hdr + 8 ? qlen : hdr + 8);
}

static bool pa_usable(const struct hnv_ip *a)
{
	if (hnv_ip_is_unspec(a))
		return false;
	if (hnv_ip_is_v4(a))
		return a->b[12] != 0 && a->b[12] != 127 && a->b[12] < 224;
	return !hnv_ipv6_is_multicast(a);
}

static int parse_icmp4(const uint8_t *ic, size_t len, struct hnv_nvx *m)
{
	if (len < 8)
		return -EMSGSIZE;
	if (ic[0] == ICMP4_REDIRECT && ic[1] == ICMP4_REDIRECT_HOST)
		m->kind = HNV_NVX_REDIRECT;
	else if (ic[0] == ICMP4_UNREACH && ic[1] == ICMP4_UNREACH_HOST)
		m->kind = HNV_NVX_UNREACHABLE;
	else
		return -EPROTO;
	if (hnv_csum_fold(hnv_csum_add(0, ic, len)) != 0)
		return -EINVAL;
	if (m->kind == HNV_NVX_REDIRECT) {
		hnv_ip_from_v4(&m->new_pa, ic + 4);
		if (!pa_usable(&m->new_pa))
			return -EINVAL;
	} else if (rd32(ic + 4) != 0) {
		return -EINVAL; /* "unused" must be zero */
	}
	return quote_parse(ic + 8, len - 8, &m->src_ca, &m->ca);
}

static int parse_icmp6(const uint8_t *ic, size_t len, struct hnv_nvx *m)
{
	if (len < 8)
		return -EMSGSIZE;
	if (ic[0] == ICMP6_REDIRECT && ic[1] == 0)
		m->kind = HNV_NVX_REDIRECT;
	else if (ic[0] == ICMP6_UNREACH && ic[1] == ICMP6_UNREACH_NOROUTE)
		m->kind = HNV_NVX_UNREACHABLE;
	else
		return -EPROTO;
	if (hnv_csum6(&m->from_pa, &m->to_pa, 58, ic, len) != 0)
		return -EINVAL;
	if (rd32(ic + 4) != 0)
		return -EINVAL; /* reserved / unused */
	if (m->kind == HNV_NVX_UNREACHABLE)
		return quote_parse(ic + 8, len - 8, &m->src_ca, &m->ca);
	if (len < 40 + 8)
		return -EMSGSIZE;
	memcpy(m->new_pa.b, ic + 8, 16);
	struct hnv_ip dst;
	memcpy(dst.b, ic + 24, 16);
	if (!pa_usable(&m->new_pa))
		return -EINVAL;
	/* exactly one option: the Redirected Header, holding the quote */
	const uint8_t *o = ic + 40;
	size_t olen = len - 40;
	if (o[0] != ND_OPT_REDIRECTED_HDR || o[1] == 0)
		return -EINVAL;
	if ((size_t)o[1] * 8 != olen)
		return (size_t)o[1] * 8 > olen ? -EMSGSIZE : -EINVAL;
	int rc = quote_parse(o + 8, olen - 8, &m->src_ca, &m->ca);
	if (rc)
		return rc;
	if (!hnv_ip_eq(&dst, &m->ca))
		return -EINVAL;
	return 0;
}

int hnv_nvx_parse(const uint8_t *p, size_t len, struct hnv_nvx *m)
{
	memset(m, 0, sizeof(*m));
	if (len < HNV_ETH_HLEN)
		return -EMSGSIZE;
	uint16_t et = rd16(p + 12);
	if (et == HNV_ET_VLAN || et == HNV_ET_QINQ)
		return -EINVAL;
	if (et != HNV_ET_IPV4 && et != HNV_ET_IPV6)
		return -EPROTO;
	memcpy(m->dst_mac.b, p, 6);
	memcpy(m->src_mac.b, p + 6, 6);
	const uint8_t *ip = p + HNV_ETH_HLEN;
	size_t iplen = len - HNV_ETH_HLEN;
	if (et == HNV_ET_IPV4) {
		struct hnv_ipv4 h;
		int rc = hnv_ipv4_parse(ip, iplen, &h);
		if (rc)
			return rc;
		if (h.proto != 1)
			return -EPROTO;
		if (hnv_ipv4_is_fragment(&h) || !hnv_ipv4_csum_ok(ip, h.ihl_bytes))
			return -EINVAL;
		m->from_pa = h.src;
		m->to_pa = h.dst;
		return parse_icmp4(ip + h.ihl_bytes, h.total_len - h.ihl_bytes, m);
	}
	struct hnv_ipv6 h;
	int rc = hnv_ipv6_parse(ip, iplen, &h);
	if (rc)
		return rc;
	if (h.proto != 58)
		return -EPROTO;
	if (h.fragment || hnv_ip_is_v4(&h.src) || hnv_ip_is_v4(&h.dst))
		return -EINVAL;
	m->from_pa = h.src;
	m->to_pa = h.dst;
	size_t end = 40 + (size_t)h.payload_len;
	if (end > iplen)
		return -EMSGSIZE;
	if (h.l4_off > end)
		return -EINVAL;
	return parse_icmp6(ip + h.l4_off, end - h.l4_off, m);
}

int hnv_nvx_write(uint8_t *p, size_t cap, const struct hnv_nvx *m, const uint8_t *quote,
		  size_t qlen)
{
	bool v4 = hnv_ip_is_v4(&m->from_pa);
	if (v4 != hnv_ip_is_v4(&m->to_pa))
		return -EINVAL;
	if (m->kind != HNV_NVX_REDIRECT && m->kind != HNV_NVX_UNREACHABLE)
		return -EINVAL;
	bool redirect = m->kind == HNV_NVX_REDIRECT;
	if (redirect && (!pa_usable(&m->new_pa) || (v4 && !hnv_ip_is_v4(&m->new_pa))))
		return -EINVAL;
	int q = quote_len(quote, qlen);
	if (q < 0)
		return q;
	size_t body; /* ICMP message bytes */
	if (v4)
		body = 8 + (size_t)q;
	else if (redirect)
		body = 40 + 8 + (((size_t)q + 7) & ~(size_t)7);
	else
		body = 8 + (size_t)q;
	size_t total = HNV_ETH_HLEN + (v4 ? 20 : 40) + body;
	if (total > cap)
		return -ENOSPC;
	hnv_eth_write(p, &m->dst_mac, &m->src_mac, v4 ? HNV_ET_IPV4 : HNV_ET_IPV6);
	uint8_t *ic = p + HNV_ETH_HLEN + (v4 ? 20 : 40);
	memset(ic, 0, body);
	if (v4) {
		ic[0] = redirect ? ICMP4_REDIRECT : ICMP4_UNREACH;
		ic[1] = redirect ? ICMP4_REDIRECT_HOST : ICMP4_UNREACH_HOST;
		if (redirect)
			memcpy(ic + 4, m->new_pa.b + 12, 4);
		memcpy(ic + 8, quote, (size_t)q);
		wr16(ic + 2, hnv_csum_fold(hnv_csum_add(0, ic, body)));
		hnv_ipv4_write(p + HNV_ETH_HLEN, &m->from_pa, &m->to_pa, 1, 0xc0, (uint16_t)body,
			       64, false, 0);
		return (int)total;
	}
	if (redirect) {
		struct hnv_ip s, d;
		quote_parse(quote, (size_t)q, &s, &d);
		ic[0] = ICMP6_REDIRECT;
		memcpy(ic + 8, m->new_pa.b, 16);
		memcpy(ic + 24, d.b, 16);
		ic[40] = ND_OPT_REDIRECTED_HDR;
		ic[41] = (uint8_t)((body - 40) / 8);
		memcpy(ic + 48, quote, (size_t)q);
	} else {
		ic[0] = ICMP6_UNREACH;
		ic[1] = ICMP6_UNREACH_NOROUTE;
		memcpy(ic + 8, quote, (size_t)q);
	}
	hnv_ipv6_write(p + HNV_ETH_HLEN, &m->from_pa, &m->to_pa, 58, 0xc0, 0, (uint16_t)body, 255);
	wr16(ic + 2, hnv_csum6(&m->from_pa, &m->to_pa, 58, ic, body));
	return (int)total;
}
