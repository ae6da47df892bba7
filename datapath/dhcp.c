/* dhcp.c: DHCPv4 answered by the host datapath (see dhcp.h).
 *
 * Layers: hnv_dhcp_parse (bytes -> struct hnv_dhcp_msg, every length
 * checked), hnv_dhcp_build (answer -> BOOTREPLY bytes), hnv_dhcp_serve
 * (the datapath stage: UDP classification, the decision, the reply frame).
 */
#define _LGPL_SOURCE
#include "dhcp.h"

#include "proto.h"

#include <errno.h>
#include <string.h>
#include <urcu/urcu-qsbr.h>

#define OFF_OPTIONS 240 /* after the fixed part and the magic cookie */
#define OFF_SNAME 44
#define LEN_SNAME 64
#define OFF_FILE 108
#define LEN_FILE 128
#define BOOTP_MIN 300 /* RFC 1542: some clients drop shorter replies */

#define OPT_PAD 0
#define OPT_MASK 1
#define OPT_ROUTER 3
#define OPT_DNS 6
#define OPT_MTU 26
#define OPT_REQUESTED 50
#define OPT_LEASE 51
#define OPT_OVERLOAD 52
#define OPT_TYPE 53
#define OPT_SERVER_ID 54
#define OPT_T1 58
#define OPT_T2 59
#define OPT_END 255

static void ip4_at(struct hnv_ip *ip, const uint8_t *p)
{
	hnv_ip_from_v4(ip, p);
}

/* Walks one options field (len bytes at p). *overload receives option 52's
 * value when allow_overload. Returns 0, or -EBADMSG for an option running
 * past the field, a wrong length of an option used here, or a field
 * without End (main field only: file and sname may simply be padded). */
static int walk(const uint8_t *p, size_t len, struct hnv_dhcp_msg *m, bool main_field,
		uint8_t *overload)
{
	size_t i = 0;
	while (i < len) {
		uint8_t code = p[i];
		if (code == OPT_PAD) {
			i++;
			continue;
		}
		if (code == OPT_END)
			return 0;
		if (len - i < 2)
			return -EBADMSG;
		size_t olen = p[i + 1];
		if (olen > len - i - 2)
			return -EBADMSG;
		const uint8_t *v = p + i + 2;
		switch (code) {
		case OPT_TYPE:
			if (olen != 1 || v[0] < HNV_DHCP_DISCOVER || v[0] > HNV_DHCP_INFORM)
				return -EBADMSG;
			m->type = v[0];
			break;
		case OPT_REQUESTED:
			if (olen != 4)
				return -EBADMSG;
			ip4_at(&m->requested, v);
			m->has_requested = true;
			break;
		case OPT_SERVER_ID:
			if (olen != 4)
				return -EBADMSG;
			ip4_at(&m->server_id, v);
			m->has_server_id = true;
			break;
		case OPT_OVERLOAD:
			if (olen != 1 || v[0] < 1 || v[0] > 3 || !main_field)
				return -EBADMSG;
			*overload = v[0];
			break;
		default:
			break; /* options the host does not need */
		}
		i += 2 + olen;
	}
	return main_field ? -EBADMSG : 0;
}

int hnv_dhcp_parse(const uint8_t *b, size_t len, struct hnv_dhcp_msg *m)
{
	if (b == NULL || m == NULL || len < OFF_OPTIONS)
		return -EBADMSG;
	memset(m, 0, sizeof(*m));
	m->op = b[0];
	m->htype = b[1];
	m->hlen = b[2];
	if ((m->op != 1 && m->op != 2) || m->hlen > 16)
		return -EBADMSG;
	m->xid = rd32(b + 4);
	m->flags = rd16(b + 10);
	ip4_at(&m->ciaddr, b + 12);
	ip4_at(&m->giaddr, b + 24);
	memcpy(m->chaddr, b + 28, 16);
	if (rd32(b + 236) != HNV_DHCP_MAGIC)
		return -EBADMSG;
	uint8_t overload = 0;
	int rc = walk(b + OFF_OPTIONS, len - OFF_OPTIONS, m, true, &overload);
	if (rc == 0 && (overload & 1))
		rc = walk(b + OFF_FILE, LEN_FILE, m, false, &overload);
	if (rc == 0 && (overload & 2))
		rc = walk(b + OFF_SNAME, LEN_SNAME, m, false, &overload);
	if (rc == 0 && m->type == 0)
		rc = -EBADMSG; /* BOOTP without DHCP: not served */
	return rc;
}

/* Appends option code with n bytes of v at *o if it fits before the End
 * byte; false when out of room. */
static bool put(uint8_t *out, size_t cap, size_t *o, uint8_t code, const void *v, size_t n)
{
	if (n > 255 || *o + 2 + n + 1 > cap)
		return false;
	out[(*o)++] = code;
	out[(*o)++] = (uint8_t)n;
	memcpy(out + *o, v, n);
	*o += n;
	return true;
}

static bool put32(uint8_t *out, size_t cap, size_t *o, uint8_t code, uint32_t v)
{
	uint8_t b[4];
	wr32(b, v);
	return put(out, cap, o, code, b, 4);
}

int hnv_dhcp_build(uint8_t *out, size_t cap, const struct hnv_dhcp_msg *m,
		   const struct hnv_dhcp_answer *a)
{
	if (out == NULL || m == NULL || a == NULL || cap < BOOTP_MIN)
		return -ENOSPC;
	memset(out, 0, BOOTP_MIN);
	out[0] = 2; /* BOOTREPLY */
	out[1] = m->htype;
	out[2] = m->hlen;
	wr32(out + 4, m->xid);
	wr16(out + 10, m->flags & 0x8000);
	if (a->type != HNV_DHCP_NAK)
		memcpy(out + 12, m->ciaddr.b + 12, 4);
	memcpy(out + 16, a->yiaddr.b + 12, 4);
	memcpy(out + 24, m->giaddr.b + 12, 4);
	memcpy(out + 28, m->chaddr, 16);
	wr32(out + 236, HNV_DHCP_MAGIC);
	size_t o = OFF_OPTIONS;
	bool ok = put(out, cap, &o, OPT_TYPE, &a->type, 1) &&
		  put(out, cap, &o, OPT_SERVER_ID, a->server_id.b + 12, 4);
	if (ok && a->type != HNV_DHCP_NAK) {
		ok = put(out, cap, &o, OPT_MASK, a->mask.b + 12, 4) &&
		     put(out, cap, &o, OPT_ROUTER, a->router.b + 12, 4);
		if (ok && a->pool && a->pool->n_dns > 0 && a->pool->n_dns <= HNV_DHCP_DNS_MAX) {
			uint8_t d[4 * HNV_DHCP_DNS_MAX];
			for (unsigned i = 0; i < a->pool->n_dns; i++)
				memcpy(d + 4 * i, a->pool->dns[i].b + 12, 4);
			ok = put(out, cap, &o, OPT_DNS, d, 4 * a->pool->n_dns);
		}
		if (ok && a->lease && a->pool) {
			uint32_t l = a->pool->lease;
			ok = put32(out, cap, &o, OPT_LEASE, l) &&
			     put32(out, cap, &o, OPT_T1, l / 2) &&
			     put32(out, cap, &o, OPT_T2, (uint32_t)((uint64_t)l * 7 / 8));
		}
		if (ok && a->mtu >= 576) {
			uint8_t b[2];
			wr16(b, a->mtu);
			ok = put(out, cap, &o, OPT_MTU, b, 2);
		}
	}
	if (!ok)
		return -ENOSPC;
	out[o++] = OPT_END;
	if (o < BOOTP_MIN)
		o = BOOTP_MIN;
	return (int)o;
}

void hnv_dhcp_server_id(const struct hnv_prefix *p, struct hnv_ip *out)
{
	*out = p->addr;
	for (int step = 0; step < 2; step++)
		for (int i = 15; i >= 0; i--)
			if (++out->b[i] != 0)
				break;
}

bool hnv_dhcp_is_server_addr(const struct hnv_vsubnet *vs, const struct hnv_ip *a)
{
	const struct hnv_dhcp_cfg *d = rcu_dereference(vs->dhcp);
	if (d == NULL || !hnv_ip_is_v4(a))
		return false;
	for (unsigned i = 0; i < vs->n_prefixes && i < HNV_VSUBNET_MAX_PREFIXES; i++) {
		struct hnv_ip sid;
		if (!hnv_prefix_contains(&vs->prefixes[i], a))
			continue;
		hnv_dhcp_server_id(&vs->prefixes[i], &sid);
		return hnv_ip_eq(&sid, a);
	}
	return false;
}

static bool in_pool(const struct hnv_dhcp_pool *p, const struct hnv_ip *a)
{
	return memcmp(a->b + 12, p->first.b + 12, 4) >= 0 &&
	       memcmp(a->b + 12, p->last.b + 12, 4) <= 0;
}

static void mask_of(unsigned len, struct hnv_ip *mask)
{
	uint32_t m = len == 0 ? 0 : UINT32_MAX << (32 - len);
	uint8_t b[4];
	wr32(b, m);
	hnv_ip_from_v4(mask, b);
}

/* UDP header fields of a VM's datagram, or false if it is not one. */
static bool udp_ports(const uint8_t *ip, size_t l3_len, size_t *ihl, uint16_t *sport,
		      uint16_t *dport)
{
	if (l3_len < 20)
		return false;
	*ihl = (size_t)(ip[0] & 15) * 4;
	if (ip[9] != 17 || *ihl < 20 || l3_len < *ihl + 8)
		return false;
	if (rd16(ip + 6) & IPV4_OFFMASK)
		return false; /* a later fragment: no ports to tell */
	*sport = rd16(ip + *ihl);
	*dport = rd16(ip + *ihl + 2);
	return true;
}

enum hnv_reason hnv_dhcp_serve(uint8_t *frame, size_t cap, uint32_t *len, size_t l3_len,
			       const struct hnv_port *pt, const struct hnv_vsubnet *vs,
			       const struct hnv_mac *gw_mac, unsigned uplink_mtu)
{
	const uint8_t *ip = frame + HNV_ETH_HLEN;
	size_t ihl;
	uint16_t sport, dport;
	if (!udp_ports(ip, l3_len, &ihl, &sport, &dport))
		return HNV_R__COUNT;
	bool to_server = dport == HNV_DHCP_SERVER_PORT;
	if (!to_server && sport != HNV_DHCP_SERVER_PORT && sport != HNV_DHCP_CLIENT_PORT &&
	    dport != HNV_DHCP_CLIENT_PORT)
		return HNV_R__COUNT;
	if (!to_server)
		return HNV_R_drop_dhcp_server; /* a VM's server or relay: contained */
	if (rd16(ip + 6) & IPV4_MF)
		return HNV_R_drop_dhcp_bad; /* a fragmented request: not reassembled */
	const uint8_t *udp = ip + ihl;
	size_t ulen = rd16(udp + 4);
	if (ulen < 8 || ulen > l3_len - ihl)
		return HNV_R_drop_dhcp_bad;
	struct hnv_dhcp_msg m;
	if (hnv_dhcp_parse(udp + 8, ulen - 8, &m) < 0 || m.op != 1)
		return HNV_R_drop_dhcp_bad;
	/* the client is the port: Ethernet, 6-byte hardware address */
	if (m.htype != 1 || m.hlen != 6 || memcmp(m.chaddr, pt->mac.b, 6) != 0)
		return HNV_R_drop_dhcp_bad;
	const struct hnv_dhcp_cfg *d = rcu_dereference(vs->dhcp);
	if (d == NULL || d->n_pools == 0)
		return HNV_R_drop_dhcp_no_pool;
	const struct hnv_ip *ca = NULL;
	const struct hnv_prefix *px = NULL;
	const struct hnv_ip *router = NULL;
	for (unsigned i = 0; i < pt->n_cas && i < HNV_PORT_MAX_CAS && !ca; i++) {
		if (!hnv_ip_is_v4(&pt->cas[i]))
			continue;
		for (unsigned k = 0; k < vs->n_prefixes && k < HNV_VSUBNET_MAX_PREFIXES; k++)
			if (hnv_prefix_contains(&vs->prefixes[k], &pt->cas[i])) {
				ca = &pt->cas[i];
				px = &vs->prefixes[k];
				router = &vs->gateway[k];
				break;
			}
	}
	if (ca == NULL)
		return HNV_R_drop_dhcp_no_pool;
	struct hnv_dhcp_answer a;
	memset(&a, 0, sizeof(a));
	hnv_dhcp_server_id(px, &a.server_id);
	a.pool = &d->pools[0];
	for (unsigned i = 0; i < d->n_pools && i < HNV_DHCP_POOLS_MAX; i++)
		if (in_pool(&d->pools[i], ca)) {
			a.pool = &d->pools[i];
			break;
		}
	mask_of(px->len, &a.mask);
	a.router = *router;
	a.mtu = uplink_mtu > 42 + 576 && uplink_mtu - 42 <= UINT16_MAX ? (uint16_t)(uplink_mtu - 42)
								       : 0;
	static const uint8_t z4[4];
	switch (m.type) {
	case HNV_DHCP_DISCOVER:
		a.type = HNV_DHCP_OFFER;
		a.yiaddr = *ca;
		a.lease = true;
		break;
	case HNV_DHCP_REQUEST: {
		if (m.has_server_id && !hnv_ip_eq(&m.server_id, &a.server_id))
			return HNV_R_drop_dhcp_no_reply; /* the client chose another server */
		const struct hnv_ip *want = m.has_requested ? &m.requested : &m.ciaddr;
		if (hnv_ip_eq(want, ca)) {
			a.type = HNV_DHCP_ACK;
			a.yiaddr = *ca;
			a.lease = true;
		} else {
			a.type = HNV_DHCP_NAK;
		}
		break;
	}
	case HNV_DHCP_INFORM:
		a.type = HNV_DHCP_ACK;
		hnv_ip_from_v4(&a.yiaddr, z4);
		break;
	default: /* RELEASE, DECLINE: nothing to answer; OFFER/ACK/NAK: a server */
		return m.type == HNV_DHCP_RELEASE || m.type == HNV_DHCP_DECLINE
			       ? HNV_R_drop_dhcp_no_reply
			       : HNV_R_drop_dhcp_server;
	}
	/* the reply, built aside: it overwrites the request it quotes */
	uint8_t body[576];
	int blen = hnv_dhcp_build(body, sizeof(body), &m, &a);
	size_t total = HNV_ETH_HLEN + 20 + 8 + (size_t)(blen > 0 ? blen : 0);
	if (blen < 0 || total > cap)
		return HNV_R_drop_dhcp_bad;
	/* destination (RFC 2131 4.1): NAK and broadcast-flag replies to
	 * 255.255.255.255, a client with an address to it, else yiaddr */
	struct hnv_ip dst;
	static const uint8_t bcast[4] = {255, 255, 255, 255};
	if (a.type == HNV_DHCP_NAK || (m.flags & 0x8000))
		hnv_ip_from_v4(&dst, bcast);
	else if (memcmp(m.ciaddr.b + 12, z4, 4) != 0)
		dst = m.ciaddr;
	else if (a.type == HNV_DHCP_ACK && m.type == HNV_DHCP_INFORM)
		hnv_ip_from_v4(&dst, bcast);
	else
		dst = a.yiaddr;
	uint8_t *o = frame;
	hnv_eth_write(o, &pt->mac, gw_mac, HNV_ET_IPV4);
	hnv_ipv4_write(o + HNV_ETH_HLEN, &a.server_id, &dst, 17, 0, (uint16_t)(8 + blen), 64, false,
		       0);
	uint8_t *u = o + HNV_ETH_HLEN + 20;
	wr16(u, HNV_DHCP_SERVER_PORT);
	wr16(u + 2, HNV_DHCP_CLIENT_PORT);
	wr16(u + 4, (uint16_t)(8 + blen));
	wr16(u + 6, 0);
	memcpy(u + 8, body, (size_t)blen);
	/* UDP checksum over the pseudo-header */
	uint8_t ph[12];
	memcpy(ph, a.server_id.b + 12, 4);
	memcpy(ph + 4, dst.b + 12, 4);
	ph[8] = 0;
	ph[9] = 17;
	wr16(ph + 10, (uint16_t)(8 + blen));
	uint16_t cs = hnv_csum_fold(hnv_csum_add(hnv_csum_add(0, ph, 12), u, 8 + (size_t)blen));
	wr16(u + 6, cs == 0 ? 0xffff : cs);
	*len = (uint32_t)total;
	return HNV_R_dhcp_reply;
}
