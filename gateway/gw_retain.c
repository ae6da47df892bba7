/* gw_retain.c: routes kept across a pool takeover, for gw.c (gw.h,
 * retain.h; docs/gateway-pool.md).
 *
 * The member that holds a pool tenant publishes what its VRF learned by
 * BGP (hnv_gw_learned_text; the pool writes it to etcd). A member that
 * takes the tenant over gets that text (hnv_gw_retain) and zebra holds
 * those routes in the VRF at HNV_GW_KEPT_DISTANCE while its own bgpd
 * brings up the sessions: the tenant reaches its corporate networks as
 * soon as the VRF and the floating addresses are here, as the corp
 * router, a graceful-restart helper, keeps its routes toward the floating
 * address. A kept route goes when BGP learns its prefix in the VRF; the
 * others of that VRF HNV_GW_KEPT_GRACE_S after BGP learned any route
 * there (the session delivered what the peer has), and every one after
 * HNV_GW_KEPT_S. */
#include "gw_int.h"

#include "../lib/addr.h"
#include "../lib/clock.h"
#include "../lib/vec.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct tenant *tenant_of_rd(const struct desired *d, const char *rd)
{
	for (unsigned i = 0; d && i < d->n_gw; i++)
		if (strcmp(d->gw[i].c.rdomain, rd) == 0)
			return &d->gw[i];
	return NULL;
}

static const struct tenant *tenant_of_vrf(const struct desired *d, const char *vrf)
{
	for (unsigned i = 0; d && i < d->n_gw; i++)
		if (strcmp(d->gw[i].vrf, vrf) == 0)
			return &d->gw[i];
	return NULL;
}

static bool same_prefix(const struct hnv_prefix *a, const struct hnv_prefix *b)
{
	return a->len == b->len && hnv_ip_eq(&a->addr, &b->addr);
}

static int route_cmp(const void *a, const void *b)
{
	const struct hnv_retain_route *x = a, *y = b;
	int c = memcmp(&x->prefix.addr, &y->prefix.addr, sizeof(x->prefix.addr));
	return c ? c : (int)x->prefix.len - (int)y->prefix.len;
}

uint64_t hnv_gw_learned_gen(const struct hnv_gw *g)
{
	return g->learned_gen;
}

int hnv_gw_learned_text(struct hnv_gw *g, const char *rdomain, char *buf, size_t len)
{
	const struct tenant *t = tenant_of_rd(g->d, rdomain);
	if (!t || t->err[0])
		return -ENOENT;
	struct hnv_retain_route *r = calloc(HNV_RETAIN_MAX, sizeof(*r));
	if (!r)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < g->n_learned && n < HNV_RETAIN_MAX; i++) {
		const struct learned *l = &g->learned[i];
		if (l->type != HNV_ZAPI_ROUTE_BGP || l->n_nh == 0 || strcmp(l->vrf, t->vrf) != 0)
			continue;
		const struct hnv_zapi_nh *nh = &l->nh[0];
		struct hnv_retain_route *x = &r[n];
		memset(x, 0, sizeof(*x));
		x->prefix = l->prefix;
		switch (nh->type) {
		case HNV_ZAPI_NH_IPV4:
		case HNV_ZAPI_NH_IPV6:
		case HNV_ZAPI_NH_IPV4_IFINDEX:
		case HNV_ZAPI_NH_IPV6_IFINDEX:
			x->has_gw = true;
			x->gw = nh->gw;
			break;
		case HNV_ZAPI_NH_IFINDEX:
			break;
		default:
			continue; /* a blackhole: nothing to forward to */
		}
		if (nh->ifindex && !if_indextoname(nh->ifindex, x->dev))
			x->dev[0] = '\0';
		if (x->has_gw || x->dev[0])
			n++;
	}
	/* and what is still kept for it: a member that took the tenant over
	 * and dies before its BGP is up passes them on */
	for (size_t i = 0; i < g->n_kept && n < HNV_RETAIN_MAX; i++) {
		const struct gw_kept *k = &g->kept[i];
		bool dup = strcmp(k->rd, rdomain) != 0;
		for (size_t j = 0; j < n && !dup; j++)
			dup = same_prefix(&r[j].prefix, &k->r.prefix);
		if (!dup)
			r[n++] = k->r;
	}
	qsort(r, n, sizeof(*r), route_cmp);
	int rc = hnv_retain_format(r, n, buf, len);
	free(r);
	return rc;
}

int hnv_gw_retain(struct hnv_gw *g, const char *rdomain, const char *text, size_t len, size_t *n,
		  char *err, size_t errlen)
{
	struct hnv_retain_route *r = calloc(HNV_RETAIN_MAX, sizeof(*r));
	if (!r)
		return -ENOMEM;
	int rc = hnv_retain_parse(text, len, r, HNV_RETAIN_MAX, n, err, errlen);
	if (rc) {
		free(r);
		return rc;
	}
	/* what was kept for it before goes (zebra's copy with the next run) */
	size_t w = 0;
	for (size_t i = 0; i < g->n_kept; i++)
		if (strcmp(g->kept[i].rd, rdomain) != 0)
			g->kept[w++] = g->kept[i];
	g->n_kept = w;
	if (HNV_GROW(g->kept, g->cap_kept, g->n_kept + *n)) {
		free(r);
		return -ENOMEM;
	}
	int64_t until = hnv_mono_ms() + HNV_GW_KEPT_S * 1000;
	for (size_t i = 0; i < *n; i++) {
		struct gw_kept *k = &g->kept[g->n_kept++];
		snprintf(k->rd, sizeof(k->rd), "%s", rdomain);
		k->r = r[i];
		k->until_ms = until;
	}
	free(r);
	g->kept_dirty = true;
	g->learned_gen++;
	return 0;
}

void gw_kept_foreach(struct hnv_gw *g, const struct desired *d,
		     void (*fn)(void *arg, const char *vrf, const struct hnv_prefix *p,
				const struct hnv_zapi_nh *nh),
		     void *arg)
{
	for (size_t i = 0; i < g->n_kept; i++) {
		const struct gw_kept *k = &g->kept[i];
		const struct tenant *t = tenant_of_rd(d, k->rd);
		if (!t || t->err[0])
			continue;
		bool v4 = hnv_ip_is_v4(&k->r.prefix.addr);
		struct hnv_zapi_nh nh = {.gw = k->r.gw};
		if (k->r.dev[0]) {
			const struct hnv_rtnl_link *l = gw_link_by_name(g, k->r.dev);
			if (!l)
				continue; /* not on this member: BGP brings its own */
			nh.ifindex = (uint32_t)l->ifindex;
			nh.type = !k->r.has_gw ? HNV_ZAPI_NH_IFINDEX
				  : v4         ? HNV_ZAPI_NH_IPV4_IFINDEX
					       : HNV_ZAPI_NH_IPV6_IFINDEX;
		} else {
			nh.type = v4 ? HNV_ZAPI_NH_IPV4 : HNV_ZAPI_NH_IPV6;
		}
		fn(arg, t->vrf, &k->r.prefix, &nh);
	}
}

void gw_kept_learned(struct hnv_gw *g, const char *vrf, const struct hnv_prefix *p)
{
	const struct tenant *t = tenant_of_vrf(g->d, vrf);
	if (!t)
		return;
	int64_t grace = hnv_mono_ms() + HNV_GW_KEPT_GRACE_S * 1000;
	for (size_t i = 0; i < g->n_kept; i++) {
		struct gw_kept *k = &g->kept[i];
		if (strcmp(k->rd, t->c.rdomain) != 0)
			continue;
		int64_t until = same_prefix(&k->r.prefix, p) ? 0 : grace;
		if (until < k->until_ms) {
			k->until_ms = until;
			g->kept_dirty = true;
		}
	}
}

int gw_kept_run(struct hnv_gw *g)
{
	int64_t now = hnv_mono_ms(), next = -1;
	size_t w = 0, gone = 0;
	for (size_t i = 0; i < g->n_kept; i++) {
		if (g->kept[i].until_ms <= now) {
			gone++;
			continue;
		}
		if (next < 0 || g->kept[i].until_ms < next)
			next = g->kept[i].until_ms;
		g->kept[w++] = g->kept[i];
	}
	g->n_kept = w;
	if (gone) {
		hnv_log(HNV_LOG_INFO,
			"gateway: %zu kept route%s dropped (learned again by BGP, or kept long "
			"enough); %zu still kept",
			gone, gone == 1 ? "" : "s", w);
		g->learned_gen++;
		g->kept_dirty = true;
	}
	if (g->kept_dirty && g->d && g->zapi_active) {
		g->kept_dirty = false;
		gw_apply_routes(g, g->d);
	}
	return next < 0 ? -1 : (int)(next - now < 0 ? 0 : next - now);
}
