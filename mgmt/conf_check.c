/* conf_check.c: the checks the applier and the model share (conf_check.h). */
#include "conf_check.h"

#include "../datapath/dhcp.h"
#include "../lib/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static unsigned clamp(unsigned n)
{
	return n < HNV_CONF_PREFIXES_MAX ? n : HNV_CONF_PREFIXES_MAX;
}

void conf_gateway_of(const struct hnv_prefix *p, struct hnv_ip *gw)
{
	*gw = p->addr;
	for (int i = 15; i >= 0; i--)
		if (++gw->b[i] != 0)
			break;
}

int conf_vsid_missing(const char *cmd, uint32_t vsid, char *err, size_t errlen)
{
	hnv_seterr(err, errlen, "%s: VSID %u is not configured (vsubnet add %u first)", cmd, vsid,
		   vsid);
	return -ENOENT;
}

int conf_rdomain_missing(const char *cmd, const char *name, char *err, size_t errlen)
{
	hnv_seterr(err, errlen, "%s: routing domain \"%s\" not found", cmd, name);
	return -ENOENT;
}

int conf_gateway_missing(const char *cmd, const char *tunnel, const char *rdomain, char *err,
			 size_t errlen)
{
	if (tunnel != NULL)
		hnv_seterr(err, errlen,
			   "%s: tunnel \"%s\": routing domain \"%s\" has no gateway (gateway add "
			   "--rdomain %s first)",
			   cmd, tunnel, rdomain, rdomain);
	else
		hnv_seterr(
			err, errlen,
			"%s: routing domain \"%s\" has no gateway (gateway add --rdomain %s first)",
			cmd, rdomain, rdomain);
	return -ENOENT;
}

int conf_vrf_taken(const char *vrf, const char *rdomain, char *err, size_t errlen)
{
	hnv_seterr(err, errlen,
		   "gateway add: VRF %s already exists (gateway of routing domain \"%s\")", vrf,
		   rdomain);
	return -EEXIST;
}

int conf_table_taken(uint32_t table, const char *vrf, const char *rdomain, char *err, size_t errlen)
{
	hnv_seterr(err, errlen,
		   "gateway add: table %u already exists (VRF %s of routing domain \"%s\")", table,
		   vrf, rdomain);
	return -EEXIST;
}

int conf_s2s_pool_check(const struct hnv_conf_s2s *s, const char *gw_pool, char *err, size_t errlen)
{
	if (strcmp(s->pool, gw_pool) == 0)
		return 0;
	if (*gw_pool)
		hnv_seterr(err, errlen,
			   "s2s add: tunnel \"%s\": the gateway of routing domain \"%s\" is in "
			   "pool \"%s\": give --pool %s (a tunnel of this host alone would not "
			   "follow the tenant to another member)",
			   s->name, s->rdomain, gw_pool, gw_pool);
	else
		hnv_seterr(err, errlen,
			   "s2s add: tunnel \"%s\": the gateway of routing domain \"%s\" is bound "
			   "to a host, not to pool \"%s\"",
			   s->name, s->rdomain, s->pool);
	return -EINVAL;
}

int conf_s2s_ids_taken(const struct hnv_conf_s2s *s, const char *other, char *err, size_t errlen)
{
	char a[INET6_ADDRSTRLEN];
	hnv_fmt_ip(&s->peer, a, sizeof(a));
	if (s->peer_any)
		hnv_seterr(err, errlen,
			   "s2s add: tunnels \"%s\" and \"%s\" both have --peer any and the "
			   "remote-id \"%s\"; charon picks an \"any\" tunnel by the site's "
			   "identity alone: give one of them another --remote-id",
			   s->name, other, s->remote_id);
	else
		hnv_seterr(err, errlen,
			   "s2s add: tunnel \"%s\" has the peer %s and the identities of tunnel "
			   "\"%s\" (local-id \"%s\", remote-id \"%s\"); give one of them another "
			   "--local-id or --remote-id",
			   s->name, s->peer_host[0] ? s->peer_host : a, other, s->local_id,
			   s->remote_id);
	if (s->auth == HNV_S2S_AUTH_PSK && memchr(s->psk, '\0', sizeof(s->psk)) != NULL)
		conf_scrub(err, errlen, "s2s add", s->psk);
	return -EEXIST;
}

void conf_prefix_list(const struct hnv_prefix *px, unsigned n, struct hnv_buf *list)
{
	n = clamp(n);
	for (unsigned i = 0; i < n; i++) {
		char pl[64];
		hnv_fmt_prefix(&px[i], pl, sizeof(pl));
		hnv_buf_printf(list, "%s%s", i ? ", " : "", pl);
	}
}

int conf_check_ca(const char *cmd, uint32_t vsid, const struct hnv_prefix *px, unsigned n,
		  const struct hnv_ip *ca, char *err, size_t errlen)
{
	char a[INET6_ADDRSTRLEN], pl[64];
	hnv_fmt_ip(ca, a, sizeof(a));
	n = clamp(n);
	for (unsigned i = 0; i < n; i++) {
		const struct hnv_prefix *p = &px[i];
		if (!hnv_prefix_contains(p, ca))
			continue;
		struct hnv_ip gw;
		conf_gateway_of(p, &gw);
		if (hnv_ip_eq(&gw, ca)) {
			hnv_fmt_prefix(p, pl, sizeof(pl));
			hnv_seterr(err, errlen, "%s: CA %s is the default gateway of VSID %u (%s)",
				   cmd, a, vsid, pl);
			return -EINVAL;
		}
		return 0;
	}
	struct hnv_buf list = {0};
	conf_prefix_list(px, n, &list);
	hnv_seterr(err, errlen, "%s: CA %s is outside the prefixes of VSID %u (%s)", cmd, a, vsid,
		   list.p ? list.p : "");
	hnv_buf_free(&list, false);
	return -EINVAL;
}

bool conf_is_gateway_rec(const struct hnv_conf_lookup *s, const struct hnv_prefix *px, unsigned n)
{
	n = clamp(n);
	for (unsigned i = 0; i < n; i++) {
		struct hnv_ip gw;
		conf_gateway_of(&px[i], &gw);
		if (hnv_prefix_contains(&px[i], &s->ca) && hnv_ip_eq(&gw, &s->ca))
			return true;
	}
	return false;
}

int conf_check_gw_rec(const char *cmd, const struct hnv_conf_lookup *s, char *err, size_t errlen)
{
	struct hnv_ip want;
	hnv_ip_from_v4(&want, (const uint8_t[]){169, 254, 254, 254});
	if (hnv_ip_eq(&s->pa, &want))
		return 0;
	char a[INET6_ADDRSTRLEN], pa[INET6_ADDRSTRLEN], m[18];
	hnv_fmt_ip(&s->ca, a, sizeof(a));
	hnv_fmt_ip(&s->pa, pa, sizeof(pa));
	hnv_fmt_mac(&s->mac, m, sizeof(m));
	hnv_seterr(err, errlen,
		   "%s: record VSID %u CA %s MAC %s: CA %s is the default gateway of VSID %u: a "
		   "lookup record for it must have PA 169.254.254.254, not %s. Such a record "
		   "(Windows Server 2012's default-gateway record) only sets the MAC the "
		   "distributed router answers with; the router is on every host and the "
		   "gateway's traffic is never sent to a provider address",
		   cmd, s->vsid, a, m, a, s->vsid, pa);
	return -EINVAL;
}

int conf_check_server_id(const char *cmd, uint32_t vsid, const struct hnv_prefix *px, unsigned n,
			 const char *pool, const struct hnv_ip *ca, char *err, size_t errlen)
{
	if (pool == NULL || !hnv_ip_is_v4(ca))
		return 0;
	n = clamp(n);
	for (unsigned i = 0; i < n; i++) {
		struct hnv_ip sid;
		if (!hnv_prefix_contains(&px[i], ca))
			continue;
		hnv_dhcp_server_id(&px[i], &sid);
		if (hnv_ip_eq(&sid, ca)) {
			char a[INET6_ADDRSTRLEN];
			hnv_fmt_ip(ca, a, sizeof(a));
			hnv_seterr(err, errlen,
				   "%s: CA %s is reserved as the DHCP server identifier of VSID %u "
				   "(it has pool \"%s\")",
				   cmd, a, vsid, pool);
			return -EINVAL;
		}
	}
	return 0;
}

int conf_check_pool_place(const struct hnv_conf_pool *s, const struct hnv_prefix *pxs, unsigned n,
			  const char *f, const char *l, char *err, size_t errlen)
{
	const char *cmd = "pool add";
	const struct hnv_conf_range *r = &s->range;
	const struct hnv_prefix *px = NULL;
	n = clamp(n);
	for (unsigned i = 0; i < n; i++)
		if (hnv_prefix_contains(&pxs[i], &r->first) &&
		    hnv_prefix_contains(&pxs[i], &r->last))
			px = &pxs[i];
	if (px == NULL) {
		struct hnv_buf list = {0};
		conf_prefix_list(pxs, n, &list);
		hnv_seterr(
			err, errlen,
			"%s: range %s-%s of pool \"%s\" is not inside one prefix of VSID %u (%s)",
			cmd, f, l, s->name, s->vsid, list.p ? list.p : "");
		hnv_buf_free(&list, false);
		return -EINVAL;
	}
	char pl[64];
	hnv_fmt_prefix(px, pl, sizeof(pl));
	struct hnv_ip gw, sid;
	conf_gateway_of(px, &gw);
	hnv_dhcp_server_id(px, &sid);
	uint32_t net = conf_ip4_u32(&px->addr);
	uint32_t bcast = net | (px->len >= 32 ? 0 : UINT32_MAX >> px->len);
	const struct {
		uint32_t a;
		const char *what;
	} reserved[] = {
		{net, "network address"},
		{conf_ip4_u32(&gw), "default gateway"},
		{conf_ip4_u32(&sid), "DHCP server identifier"},
		{bcast, "broadcast address"},
	};
	uint32_t lo = conf_ip4_u32(&r->first), hi = conf_ip4_u32(&r->last);
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		uint32_t a = reserved[i].a;
		if (a < lo || a > hi)
			continue;
		uint8_t v4[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8),
				 (uint8_t)a};
		struct hnv_ip x;
		char xa[INET6_ADDRSTRLEN];
		hnv_ip_from_v4(&x, v4);
		hnv_fmt_ip(&x, xa, sizeof(xa));
		hnv_seterr(err, errlen,
			   "%s: range %s-%s of pool \"%s\" holds %s, the %s of VSID %u (%s)", cmd,
			   f, l, s->name, xa, reserved[i].what, s->vsid, pl);
		return -EINVAL;
	}
	return 0;
}

int conf_check_pool_overlap(const struct hnv_conf_pool *s, const struct hnv_conf_pool *o,
			    const char *f, const char *l, char *err, size_t errlen)
{
	uint32_t lo = conf_ip4_u32(&s->range.first), hi = conf_ip4_u32(&s->range.last);
	if (hi < conf_ip4_u32(&o->range.first) || lo > conf_ip4_u32(&o->range.last))
		return 0;
	char of[INET6_ADDRSTRLEN], ol[INET6_ADDRSTRLEN];
	hnv_fmt_ip(&o->range.first, of, sizeof(of));
	hnv_fmt_ip(&o->range.last, ol, sizeof(ol));
	hnv_seterr(err, errlen,
		   "pool add: range %s-%s of pool \"%s\" overlaps pool \"%s\" (%s-%s) of VSID %u",
		   f, l, s->name, o->name, of, ol, s->vsid);
	return -EEXIST;
}

int conf_check_pool_room(const struct hnv_conf_pool *s, unsigned n, char *err, size_t errlen)
{
	if (n < HNV_CONF_POOLS_MAX)
		return 0;
	hnv_seterr(err, errlen, "pool add: pool \"%s\": VSID %u already has %d pools", s->name,
		   s->vsid, HNV_CONF_POOLS_MAX);
	return -ENOSPC;
}

bool conf_shows_secret(const char *msg, const char *secret)
{
	size_t n = strlen(secret), w = n < 8 ? n : 8;
	if (w < 4)
		return false; /* too short to tell from ordinary words */
	for (size_t i = 0; i + w <= n; i++)
		if (memmem(msg, strlen(msg), secret + i, w) != NULL)
			return true;
	return false;
}

void conf_scrub(char *err, size_t errlen, const char *cmd, const char *secret)
{
	if (err != NULL && errlen > 0 && conf_shows_secret(err, secret))
		hnv_seterr(err, errlen, "%s: invalid value (not shown: it contains the PSK)", cmd);
}
