/* gw_zebra.c: the gateway's routes in zebra (those hnvgwd owns and those
 * the tenants learn), for gw.c (see gw_int.h). */
#include "gw_int.h"

#include "../lib/addr.h"
#include "../lib/clock.h"
#include "../lib/vec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the zebra client as an event source of the control thread ---- */

int gw_zapi_src_fd(void *arg, short *events)
{
	struct hnv_gw *g = arg;
	if (!g->zapi_active)
		return -1;
	*events = hnv_zapi_poll_events(g->zapi);
	return hnv_zapi_fd(g->zapi);
}

int gw_zapi_src_timeout(void *arg)
{
	const struct hnv_gw *g = arg;
	if (!g->zapi_active)
		return -1;
	/* the next kept route to drop (gw_retain.c) */
	int64_t now = hnv_mono_ms(), t = g->kept_dirty ? 0 : -1;
	for (size_t i = 0; i < g->n_kept; i++) {
		int64_t left = g->kept[i].until_ms - now;
		left = left < 0 ? 0 : left > 60000 ? 60000 : left;
		if (t < 0 || left < t)
			t = left;
	}
	if (t >= 0 && (g->zapi_timeout < 0 || t < g->zapi_timeout))
		return (int)t;
	return g->zapi_timeout;
}

void gw_zapi_src_run(void *arg, short revents)
{
	struct hnv_gw *g = arg;
	if (revents)
		hnv_zapi_handle_io(g->zapi, revents);
	g->zapi_timeout = hnv_zapi_tick(g->zapi);
	/* a new session streams every redistributed route again */
	struct hnv_zapi_stats st;
	hnv_zapi_get_stats(g->zapi, &st);
	if (st.connects != g->zapi_connects) {
		g->zapi_connects = st.connects;
		g->n_learned = 0;
		g->learned_gen++;
	}
	gw_kept_run(g);
}

/* ---- routes zebra redistributes to hnvgwd ---- */

static struct learned *learned_find(struct hnv_gw *g, const char *vrf, uint8_t type,
				    const struct hnv_prefix *p)
{
	for (size_t i = 0; i < g->n_learned; i++) {
		struct learned *l = &g->learned[i];
		if (l->type == type && l->prefix.len == p->len &&
		    hnv_ip_eq(&l->prefix.addr, &p->addr) && strcmp(l->vrf, vrf) == 0)
			return l;
	}
	return NULL;
}

void gw_learned_cb(void *arg, bool add, const char *vrf, uint32_t vrf_id,
		   const struct hnv_zapi_route *r)
{
	struct hnv_gw *g = arg;
	(void)vrf_id;
	struct learned *l = learned_find(g, vrf, r->type, &r->prefix);
	g->learned_gen++;
	if (!add) {
		if (l)
			*l = g->learned[--g->n_learned];
		return;
	}
	if (r->type == HNV_ZAPI_ROUTE_BGP)
		gw_kept_learned(g, vrf, &r->prefix);
	if (!l) {
		if (g->n_learned >= LEARNED_MAX) {
			hnv_log(HNV_LOG_WARNING,
				"gateway: more than %d routes redistributed by zebra; "
				"the rest are not shown",
				LEARNED_MAX);
			return;
		}
		if (HNV_GROW(g->learned, g->cap_learned, g->n_learned + 1))
			return;
		l = &g->learned[g->n_learned++];
	}
	memset(l, 0, sizeof(*l));
	snprintf(l->vrf, sizeof(l->vrf), "%s", vrf);
	l->prefix = r->prefix;
	l->type = r->type;
	l->distance = (r->message & HNV_ZAPI_MSG_DISTANCE) ? r->distance : 0;
	l->metric = (r->message & HNV_ZAPI_MSG_METRIC) ? r->metric : 0;
	l->n_nh = r->n_nh < LEARNED_NH_MAX ? r->n_nh : LEARNED_NH_MAX;
	memcpy(l->nh, r->nh, l->n_nh * sizeof(l->nh[0]));
}

/* ---- zebra: the routes hnvgwd owns ---- */

struct route_want {
	char vrf[16];
	struct hnv_prefix prefix;
	struct hnv_zapi_nh nh;
	uint8_t distance;
};

struct routes {
	struct route_want *r;
	size_t n, cap;
};

static struct route_want *want(struct routes *w, const char *vrf, const struct hnv_prefix *p,
			       const struct hnv_zapi_nh *nh)
{
	if (HNV_GROW(w->r, w->cap, w->n + 1))
		return NULL;
	struct route_want *r = &w->r[w->n++];
	snprintf(r->vrf, sizeof(r->vrf), "%s", vrf);
	r->prefix = *p;
	r->nh = nh ? *nh : (struct hnv_zapi_nh){.type = 0};
	r->distance = HNV_ZAPI_DEFAULT_DISTANCE;
	return r;
}

static bool same_want(const struct route_want *r, const char *vrf, const struct hnv_prefix *p)
{
	return strcmp(r->vrf, vrf) == 0 && r->prefix.len == p->len &&
	       hnv_ip_eq(&r->prefix.addr, &p->addr);
}

static bool is_wanted(const struct routes *w, const char *vrf, const struct hnv_prefix *p)
{
	for (size_t i = 0; i < w->n; i++)
		if (same_want(&w->r[i], vrf, p))
			return true;
	return false;
}

/* gw_kept_foreach's callback: a kept route, unless hnvgwd has its own */
static void want_kept(void *arg, const char *vrf, const struct hnv_prefix *p,
		      const struct hnv_zapi_nh *nh)
{
	struct routes *w = arg;
	if (is_wanted(w, vrf, p))
		return;
	struct route_want *r = want(w, vrf, p, nh);
	if (r)
		r->distance = HNV_GW_KEPT_DISTANCE;
}

struct stale {
	const struct routes *w;
	struct routes gone;
};

static int find_stale(void *arg, const struct hnv_zapi_route_info *ri)
{
	struct stale *s = arg;
	if (!is_wanted(s->w, ri->vrf, &ri->prefix))
		want(&s->gone, ri->vrf, &ri->prefix, NULL);
	return 0;
}

/* The kernel has p as the connected route of one of the port's
 * addresses: zebra would keep that one and never answer for ours. */
static bool connected(const struct gw_port *port, const struct hnv_prefix *p)
{
	for (unsigned i = 0; i < port->n; i++)
		if (port->plen[i] == p->len && hnv_prefix_contains(p, &port->ca[i]))
			return true;
	return false;
}

/* Routes in a VRF this apply created go to zebra once zebra has announced
 * the VRF, which the control loop would read only after the whole apply:
 * after bgpd's reload, seconds under load. A tenant taken over from a dead
 * pool member would wait that long for its corp routes (the kept ones
 * too). So wait here, at most HNV_GW_ZEBRA_WAIT_MS, until zebra knows
 * every tenant's VRF and has taken every queued route. */
static void hand_over(struct hnv_gw *g, const struct desired *d)
{
	int64_t end = hnv_mono_ms() + HNV_GW_ZEBRA_WAIT_MS;
	for (;;) {
		int fd = hnv_zapi_fd(g->zapi);
		if (fd < 0)
			return;
		bool known = true;
		for (unsigned i = 0; i < d->n_gw && known; i++)
			known = d->gw[i].err[0] ||
				hnv_zapi_vrf_lookup(g->zapi, d->gw[i].vrf, NULL, NULL) == 0;
		short ev = hnv_zapi_poll_events(g->zapi);
		int64_t left = end - hnv_mono_ms();
		if ((known && !(ev & POLLOUT)) || left <= 0)
			return;
		struct pollfd p = {.fd = fd, .events = ev};
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno != EINTR)
			return;
		if (n > 0 && hnv_zapi_handle_io(g->zapi, p.revents) < 0)
			return;
	}
}

void gw_apply_routes(struct hnv_gw *g, const struct desired *d)
{
	if (!g->zapi || (!d->n_gw && !g->zapi_active))
		return;
	if (!g->zapi_active) {
		g->zapi_active = true;
		g->zapi_timeout = 0; /* connect now */
	}
	struct routes w = {NULL, 0, 0};
	for (unsigned i = 0; i < d->n_gw; i++) {
		const struct tenant *t = &d->gw[i];
		if (t->err[0])
			continue;
		/* the CA prefixes it serves, through the gateway ports */
		for (unsigned k = 0; k < t->n_ports; k++) {
			const struct hnv_rtnl_link *l = gw_link_by_name(g, t->ports[k].name);
			const struct hnv_gw_vsubnet *vs = gw_find_vs(d, t->ports[k].vsid);
			if (!l || !vs)
				continue;
			struct hnv_zapi_nh nh = {.type = HNV_ZAPI_NH_IFINDEX,
						 .ifindex = (uint32_t)l->ifindex};
			for (unsigned j = 0; j < vs->n_prefixes; j++)
				if (!connected(&t->ports[k], &vs->prefixes[j]))
					want(&w, t->vrf, &vs->prefixes[j], &nh);
		}
		if (t->c.has_corp_nexthop && t->corp_ifindex) {
			bool v4 = hnv_ip_is_v4(&t->c.corp_nexthop);
			struct hnv_prefix def = {.len = 0};
			if (v4) {
				def.addr.b[10] = 0xff;
				def.addr.b[11] = 0xff;
			}
			struct hnv_zapi_nh nh = {
				.type = v4 ? HNV_ZAPI_NH_IPV4_IFINDEX : HNV_ZAPI_NH_IPV6_IFINDEX,
				.ifindex = (uint32_t)t->corp_ifindex,
				.gw = t->c.corp_nexthop,
			};
			want(&w, t->vrf, &def, &nh);
		}
	}
	/* S2S remote prefixes through the tunnels' XFRM interfaces */
	for (unsigned i = 0; i < d->n_s2s; i++) {
		const struct tunnel *tu = &d->s2s[i];
		if (!tu->ifindex || tu->tenant < 0)
			continue;
		struct hnv_zapi_nh nh = {.type = HNV_ZAPI_NH_IFINDEX,
					 .ifindex = (uint32_t)tu->ifindex};
		/* a site prefix the tenant sees mapped is routed as mapped */
		for (unsigned k = 0; k < tu->c.n_remote; k++)
			if (!gw_remote_mapped(&tu->c, &tu->c.remote[k]))
				want(&w, d->gw[tu->tenant].vrf, &tu->c.remote[k], &nh);
		for (unsigned k = 0; k < tu->c.n_remote_netmap; k++)
			want(&w, d->gw[tu->tenant].vrf, &tu->c.remote_netmap[k].mapped, &nh);
	}
	/* GRE and L3 connections: remote prefixes into the tunnel, or via the
	 * L3 next hop (an L3 connection without any: the default route) */
	for (unsigned i = 0; i < d->n_conns; i++) {
		const struct conn *cn = &d->conns[i];
		if (!cn->ifindex || cn->tenant < 0)
			continue; /* no device in the VRF (a failed rate limit keeps it) */
		bool v4 = hnv_ip_is_v4(&cn->c.nexthop);
		struct hnv_zapi_nh nh = {.type = HNV_ZAPI_NH_IFINDEX,
					 .ifindex = (uint32_t)cn->ifindex};
		if (cn->c.type == HNV_GW_CONN_L3) {
			nh.type = v4 ? HNV_ZAPI_NH_IPV4_IFINDEX : HNV_ZAPI_NH_IPV6_IFINDEX;
			nh.gw = cn->c.nexthop;
		}
		for (unsigned k = 0; k < cn->c.n_remote; k++)
			want(&w, d->gw[cn->tenant].vrf, &cn->c.remote[k], &nh);
		if (cn->c.type == HNV_GW_CONN_L3 && cn->c.n_remote == 0) {
			struct hnv_prefix def = {.len = 0};
			if (v4) {
				def.addr.b[10] = 0xff;
				def.addr.b[11] = 0xff;
			}
			want(&w, d->gw[cn->tenant].vrf, &def, &nh);
		}
	}
	gw_kept_foreach(g, d, want_kept, &w);
	struct stale s = {&w, {NULL, 0, 0}};
	hnv_zapi_route_foreach(g->zapi, find_stale, &s);
	for (size_t i = 0; i < s.gone.n; i++)
		hnv_zapi_route_del(g->zapi, s.gone.r[i].vrf, &s.gone.r[i].prefix);
	for (size_t i = 0; i < w.n; i++)
		if (hnv_zapi_route_set(g->zapi, w.r[i].vrf, &w.r[i].prefix, &w.r[i].nh,
				       w.r[i].distance, 0) < 0)
			hnv_log(HNV_LOG_ERR, "gateway: zebra refused a route in %s", w.r[i].vrf);
	free(s.gone.r);
	free(w.r);
	hand_over(g, d);
}

/* "dev vsid5001", "via 172.31.1.2 dev cc0", "via 10.0.0.1", "blackhole" */
static void fmt_nh(const struct hnv_zapi_nh *nh, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN], ifn[IF_NAMESIZE] = "?";
	if (nh->ifindex && !if_indextoname(nh->ifindex, ifn))
		snprintf(ifn, sizeof(ifn), "#%u", nh->ifindex);
	hnv_fmt_ip(&nh->gw, a, sizeof(a));
	switch (nh->type) {
	case HNV_ZAPI_NH_IFINDEX:
		snprintf(out, len, "dev %s", ifn);
		break;
	case HNV_ZAPI_NH_IPV4:
	case HNV_ZAPI_NH_IPV6:
		snprintf(out, len, "via %s", a);
		break;
	case HNV_ZAPI_NH_BLACKHOLE:
		snprintf(out, len, "blackhole");
		break;
	default:
		snprintf(out, len, "via %s dev %s", a, ifn);
	}
}

static int route_row(void *arg, const struct hnv_zapi_route_info *ri)
{
	json_object *r = json_object_new_object();
	char p[INET6_ADDRSTRLEN + 8], nh[96];
	hnv_fmt_prefix(&ri->prefix, p, sizeof(p));
	fmt_nh(&ri->nh, nh, sizeof(nh));
	json_object_object_add(r, "vrf", json_object_new_string(ri->vrf));
	json_object_object_add(r, "prefix", json_object_new_string(p));
	json_object_object_add(r, "nexthop", json_object_new_string(nh));
	json_object_object_add(r, "state",
			       json_object_new_string(hnv_zapi_route_state_name(ri->state)));
	json_object_array_add(arg, r);
	return 0;
}

json_object *hnv_gw_show_routes(const struct hnv_gw *g)
{
	json_object *rows = json_object_new_array();
	if (g->zapi)
		hnv_zapi_route_foreach(g->zapi, route_row, rows);
	return rows;
}

static int learned_cmp(const void *a, const void *b)
{
	const struct learned *x = a, *y = b;
	int c = strcmp(x->vrf, y->vrf);
	if (c == 0)
		c = memcmp(&x->prefix.addr, &y->prefix.addr, sizeof(x->prefix.addr));
	if (c == 0)
		c = (int)x->prefix.len - (int)y->prefix.len;
	return c ? c : (int)x->type - (int)y->type;
}

json_object *hnv_gw_show_learned(struct hnv_gw *g)
{
	json_object *rows = json_object_new_array();
	qsort(g->learned, g->n_learned, sizeof(*g->learned), learned_cmp);
	for (size_t i = 0; i < g->n_learned; i++) {
		const struct learned *l = &g->learned[i];
		const char *rd = "-";
		for (unsigned k = 0; g->d && k < g->d->n_gw; k++)
			if (strcmp(g->d->gw[k].vrf, l->vrf) == 0)
				rd = g->d->gw[k].c.rdomain;
		char p[INET6_ADDRSTRLEN + 8], one[96];
		struct hnv_buf nh = {0};
		hnv_fmt_prefix(&l->prefix, p, sizeof(p));
		for (unsigned k = 0; k < l->n_nh; k++) {
			fmt_nh(&l->nh[k], one, sizeof(one));
			hnv_buf_printf(&nh, "%s%s", k ? ", " : "", one);
		}
		json_object *r = json_object_new_object();
		json_object_object_add(r, "rdomain", json_object_new_string(rd));
		json_object_object_add(r, "vrf", json_object_new_string(l->vrf));
		json_object_object_add(r, "prefix", json_object_new_string(p));
		json_object_object_add(
			r, "protocol",
			json_object_new_string(l->type == HNV_ZAPI_ROUTE_BGP ? "bgp" : "static"));
		json_object_object_add(r, "nexthop", json_object_new_string(nh.len ? nh.p : "-"));
		hnv_buf_free(&nh, false);
		json_object_object_add(r, "distance", json_object_new_int(l->distance));
		json_object_object_add(r, "metric", json_object_new_int64(l->metric));
		json_object_array_add(rows, r);
	}
	return rows;
}
