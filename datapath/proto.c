/* proto.c: wire codecs; see proto.h for the contract. */
#include "proto.h"

#include <errno.h>

int hnv_eth_parse(const uint8_t *p, size_t len, struct hnv_eth *e)
{
	if (len < HNV_ETH_HLEN)
		return -EMSGSIZE;
	memcpy(e->dst.b, p, 6);
	memcpy(e->src.b, p + 6, 6);
	e->type = rd16(p + 12);
	e->hlen = HNV_ETH_HLEN;
	e->tagged = false;
	e->vlan_tci = 0;
	for (int tags = 0; tags < 2 && (e->type == HNV_ET_VLAN || e->type == HNV_ET_QINQ); tags++) {
		if (len < (size_t)e->hlen + 4)
			return -EMSGSIZE;
		if (!e->tagged)
			e->vlan_tci = rd16(p + e->hlen);
		e->tagged = true;
		e->type = rd16(p + e->hlen + 2);
		e->hlen += 4;
	}
	if (e->type == HNV_ET_VLAN || e->type == HNV_ET_QINQ)
		return -EINVAL; /* more than two tags */
	return 0;
}

int hnv_arp_parse(const uint8_t *p, size_t len, struct hnv_arp *a)
{
	if (len < 28)
		return -EMSGSIZE;
	if (rd16(p) != 1 || rd16(p + 2) != HNV_ET_IPV4 || p[4] != 6 || p[5] != 4)
		return -EPROTO;
	a->op = rd16(p + 6);
	if (a->op != 1 && a->op != 2)
		return -EINVAL;
	memcpy(a->sha.b, p + 8, 6);
	hnv_ip_from_v4(&a->spa, p + 14);
	memcpy(a->tha.b, p + 18, 6);
	hnv_ip_from_v4(&a->tpa, p + 24);
	return 0;
}

int hnv_ipv4_parse(const uint8_t *p, size_t len, struct hnv_ipv4 *h)
{
	if (len < 20)
		return -EMSGSIZE;
	if (p[0] >> 4 != 4)
		return -EINVAL;
	h->ihl_bytes = (uint8_t)((p[0] & 0x0f) * 4);
	if (h->ihl_bytes < 20)
		return -EINVAL;
	if (len < h->ihl_bytes)
		return -EMSGSIZE;
	h->tos = p[1];
	h->total_len = rd16(p + 2);
	if (h->total_len < h->ihl_bytes)
		return -EINVAL;
	if (h->total_len > len)
		return -EMSGSIZE;
	h->frag = rd16(p + 6);
	h->ttl = p[8];
	h->proto = p[9];
	hnv_ip_from_v4(&h->src, p + 12);
	hnv_ip_from_v4(&h->dst, p + 16);
	return 0;
}

uint32_t hnv_csum_add(uint32_t sum, const void *data, size_t len)
{
	/* one's-complement sums are byte-order independent up to a final swap:
	 * add native 32-bit words, fold, and swap back to network order */
	const uint8_t *b = data;
	uint64_t s = 0;
	while (len >= 8) {
		uint32_t w0, w1;
		memcpy(&w0, b, 4);
		memcpy(&w1, b + 4, 4);
		s += (uint64_t)w0 + w1;
		b += 8;
		len -= 8;
	}
	if (len >= 4) {
		uint32_t w;
		memcpy(&w, b, 4);
		s += w;
		b += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;
		memcpy(&w, b, 2);
		s += w;
		b += 2;
		len -= 2;
	}
	if (len) {
		uint16_t w = 0;
		memcpy(&w, b, 1); /* the odd byte is the high byte in network order */
		s += w;
	}
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	/* s is the sum in host order of network-order halfwords, byte-swapped
	 * on little-endian machines */
	uint16_t be = (uint16_t)s;
	uint8_t out[2];
	memcpy(out, &be, 2);
	uint32_t net = (uint32_t)(out[0] << 8 | out[1]);
	uint64_t t = (uint64_t)sum + net;
	while (t >> 16)
		t = (t & 0xffff) + (t >> 16);
	return (uint32_t)t;
}

uint16_t hnv_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The sum of an IPv4 header (ihl_bytes: a multiple of 4, at least 20) as
 * native 32-bit words; only the folded, byte-swapped result matters. */
static uint16_t ipv4_hdr_sum(const uint8_t *p, size_t ihl_bytes)
{
	uint64_t s = 0;
	for (size_t i = 0; i < ihl_bytes; i += 4) {
		uint32_t w;
		memcpy(&w, p + i, 4);
		s += w;
	}
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

bool hnv_ipv4_csum_ok(const uint8_t *p, size_t ihl_bytes)
{
	return ipv4_hdr_sum(p, ihl_bytes) == 0xffff;
}

void hnv_ipv4_set_csum(uint8_t *ip, size_t ihl_bytes)
{
	ip[10] = ip[11] = 0;
	/* the complement of the byte-swapped native sum, stored natively, is
	 * the network-order checksum */
	uint16_t c = (uint16_t)~ipv4_hdr_sum(ip, ihl_bytes);
	memcpy(ip + 10, &c, 2);
}

uint16_t hnv_csum6(const struct hnv_ip *src, const struct hnv_ip *dst, uint8_t next, const void *l4,
		   size_t len)
{
	uint8_t ph[8];
	wr32(ph, (uint32_t)len);
	ph[4] = ph[5] = ph[6] = 0;
	ph[7] = next;
	uint32_t s = hnv_csum_add(0, src->b, 16);
	s = hnv_csum_add(s, dst->b, 16);
	s = hnv_csum_add(s, ph, 8);
	return hnv_csum_fold(hnv_csum_add(s, l4, len));
}

int hnv_ipv6_parse(const uint8_t *p, size_t len, struct hnv_ipv6 *h)
{
	if (len < 40)
		return -EMSGSIZE;
	if (p[0] >> 4 != 6)
		return -EINVAL;
	h->tclass = (uint8_t)((p[0] & 0x0f) << 4 | p[1] >> 4);
	h->flow = (uint32_t)(p[1] & 0x0f) << 16 | rd16(p + 2);
	h->payload_len = rd16(p + 4);
	if ((size_t)h->payload_len + 40 > len)
		return -EMSGSIZE;
	h->hop_limit = p[7];
	memcpy(h->src.b, p + 8, 16);
	memcpy(h->dst.b, p + 24, 16);
	h->fragment = false;
	size_t end = 40 + (size_t)h->payload_len;
	size_t off = 40;
	uint8_t next = p[6];
	for (int n = 0;; n++) {
		size_t elen;
		switch (next) {
		case 0:  /* hop-by-hop */
		case 43: /* routing */
		case 60: /* destination options */
			if (off + 2 > end)
				return -EMSGSIZE;
			elen = ((size_t)p[off + 1] + 1) * 8;
			break;
		case 44: /* fragment */
			elen = 8;
			h->fragment = true;
			break;
		case 51: /* AH: length in 4-octet units minus 2 */
			if (off + 2 > end)
				return -EMSGSIZE;
			elen = ((size_t)p[off + 1] + 2) * 4;
			break;
		default:
			h->proto = next;
			h->l4_off = (uint16_t)off;
			return 0;
		}
		if (n == HNV_IPV6_MAX_EXT)
			return -EINVAL;
		if (off + elen > end)
			return -EMSGSIZE;
		bool frag_hdr = next == 44; /* this header, not an earlier one */
		next = p[off];
		if (frag_hdr && (rd16(p + off + 2) & 0xfff8) != 0) {
			/* not the first fragment: no upper-layer header follows */
			h->proto = next;
			h->l4_off = (uint16_t)(off + elen);
			return 0;
		}
		off += elen;
	}
}

int hnv_icmp_parse(const uint8_t *p, size_t len, struct hnv_icmp *c)
{
	if (len < 8)
		return -EMSGSIZE;
	c->type = p[0];
	c->code = p[1];
	return 0;
}

int hnv_icmp6_parse(const uint8_t *p, size_t len, struct hnv_icmp6 *c)
{
	if (len < 4)
		return -EMSGSIZE;
	c->type = p[0];
	c->code = p[1];
	c->has_lladdr = false;
	if (c->type != ND_NEIGHBOR_SOLICIT && c->type != ND_NEIGHBOR_ADVERT)
		return 0;
	if (len < 24)
		return -EMSGSIZE;
	if (c->code != 0)
		return -EINVAL;
	memcpy(c->target.b, p + 8, 16);
	uint8_t want = c->type == ND_NEIGHBOR_SOLICIT ? 1 : 2;
	for (size_t off = 24; off < len;) {
		if (off + 2 > len)
			return -EMSGSIZE;
		size_t olen = (size_t)p[off + 1] * 8;
		if (olen == 0)
			return -EINVAL;
		if (off + olen > len)
			return -EMSGSIZE;
		if (p[off] == want && olen >= 8) {
			c->has_lladdr = true;
			memcpy(c->lladdr.b, p + off + 2, 6);
		}
		off += olen;
	}
	return 0;
}

int hnv_nvgre_parse(const uint8_t *p, size_t len, struct hnv_nvgre *g)
{
	if (len < NVGRE_HLEN)
		return -EMSGSIZE;
	g->flags = rd16(p);
	if ((g->flags & NVGRE_FLAGS_MASK) != NVGRE_FLAGS_VALUE)
		return -EINVAL;
	if (rd16(p + 2) != HNV_ET_TEB)
		return -EPROTO;
	uint32_t key = rd32(p + 4);
	g->vsid = key >> 8;
	g->flow_id = (uint8_t)key;
	return 0;
}

void hnv_nvgre_write(uint8_t *p, uint32_t vsid, uint8_t flow_id)
{
	wr16(p, NVGRE_FLAGS_VALUE);
	wr16(p + 2, HNV_ET_TEB);
	wr32(p + 4, vsid << 8 | flow_id);
}

size_t hnv_eth_write(uint8_t *p, const struct hnv_mac *dst, const struct hnv_mac *src,
		     uint16_t type)
{
	memcpy(p, dst->b, 6);
	memcpy(p + 6, src->b, 6);
	wr16(p + 12, type);
	return HNV_ETH_HLEN;
}

size_t hnv_ipv4_write(uint8_t *p, const struct hnv_ip *src, const struct hnv_ip *dst, uint8_t proto,
		      uint8_t tos, uint16_t payload_len, uint8_t ttl, bool df, uint16_t id)
{
	p[0] = 0x45;
	p[1] = tos;
	wr16(p + 2, (uint16_t)(20 + payload_len));
	wr16(p + 4, id);
	wr16(p + 6, df ? IPV4_DF : 0);
	p[8] = ttl;
	p[9] = proto;
	memcpy(p + 12, src->b + 12, 4);
	memcpy(p + 16, dst->b + 12, 4);
	hnv_ipv4_set_csum(p, 20);
	return 20;
}

size_t hnv_ipv6_write(uint8_t *p, const struct hnv_ip *src, const struct hnv_ip *dst, uint8_t next,
		      uint8_t tclass, uint32_t flow, uint16_t payload_len, uint8_t hop_limit)
{
	wr32(p, 6u << 28 | (uint32_t)tclass << 20 | (flow & 0xfffff));
	wr16(p + 4, payload_len);
	p[6] = next;
	p[7] = hop_limit;
	memcpy(p + 8, src->b, 16);
	memcpy(p + 24, dst->b, 16);
	return 40;
}

size_t hnv_arp_reply_write(uint8_t *p, const struct hnv_mac *sha, const struct hnv_ip *spa,
			   const struct hnv_mac *tha, const struct hnv_ip *tpa)
{
	wr16(p, 1);
	wr16(p + 2, HNV_ET_IPV4);
	p[4] = 6;
	p[5] = 4;
	wr16(p + 6, 2);
	memcpy(p + 8, sha->b, 6);
	memcpy(p + 14, spa->b + 12, 4);
	memcpy(p + 18, tha->b, 6);
	memcpy(p + 24, tpa->b + 12, 4);
	return 28;
}

void hnv_ipv6_solicited_node(const struct hnv_ip *a, struct hnv_ip *out)
{
	static const uint8_t pfx[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
	memcpy(out->b, pfx, 13);
	memcpy(out->b + 13, a->b + 13, 3);
}

bool hnv_ipv6_is_multicast(const struct hnv_ip *a)
{
	return a->b[0] == 0xff;
}
