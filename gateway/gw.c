/* gw.c: the gateway role applied to the kernel, nftables, zebra, bgpd and
 * charon (see gw.h). */
#include "gw.h"

#include "../mgmt/conftext.h"
#include "../mgmt/model.h"
#include "../lib/log.h"
#include "../vpn/s2s.h"
#include "bgp.h"
#include "nat.h"
#include "rtnl.h"
#include "zapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GW_MAX 256
#define GW_PORTS_MAX 64 /* gateway ports per tenant */
#define VS_MAX 4096
#define S2S_MAX 256
#define ERR_LEN 256
#define TS_MAX (GW_PORTS_MAX * HNV_VSUBNET_MAX_PREFIXES)

struct gw_port {
	char name[16];
	struct hnv_mac mac; /* the datapath delivers to it with this MAC */
	uint32_t vsid;
	unsigned n;
	struct hnv_ip ca[HNV_PORT_MAX_CAS];
	unsigned plen[HNV_PORT_MAX_CAS];
};

struct tenant {
	struct hnv_conf_gateway c;
	char vrf[16]; /* rd-<vrf> */
	int vrf_ifindex;
	int corp_ifindex;
	uint16_t zone;
	unsigned n_ports;
	struct gw_port ports[GW_PORTS_MAX];
	char err[ERR_LEN]; /* "" when applied */
	bool kernel_err;   /* err is a failed kernel change: retried */
};

/* An S2S tunnel: its config (holds the PSK: cleared when freed), the XFRM
 * interface xf-<if_id> in its tenant's VRF. */
struct tunnel {
	struct hnv_conf_s2s c;
	uint32_t if_id;
	char xfrm[16];
	int ifindex;
	int tenant; /* index in gw[], -1: its routing domain has no gateway */
};

struct vsub {
	struct hnv_conf_vsubnet s;
};

/* What one model asks for. */
struct desired {
	unsigned n_gw;
	struct tenant gw[GW_MAX];
	unsigned n_vs;
	struct vsub vs[VS_MAX];
	unsigned n_cas;
	struct hnv_conf_gateway_ca cas[GW_MAX * 4];
	unsigned n_s2s;
	struct tunnel s2s[S2S_MAX];
	bool overflow;
};

struct hnv_gw {
	struct hnv_rtnl *nl;
	struct hnv_nat *nat;
	struct hnv_zapi *zapi;
	int zapi_timeout;
	bool zapi_active; /* since the first gateway: hosts never talk to zebra */
	struct hnv_bgp_opts bgp_opts;
	const char *bgp_pidfile;
	char *bgp_text;   /* the fragment last applied */
	long bgpd_pid;    /* bgpd when it was applied: a new bgpd needs it again */
	bool bgp_pending; /* apply failed: retry on the timer */
	unsigned bgp_polls; /* of the bgpd pid file, every 0.5 s */
	bool retry;       /* a tenant's kernel changes failed: retry on the timer */
	struct hnv_ratelimit bgp_rl;
	const char *vici;    /* charon's VICI socket; NULL: no tunnels */
	struct hnv_s2s *s2s; /* created with the first tunnel */
	struct desired *d;   /* of the last apply, for show and the watchers */
	struct hnv_rtnl_link *links;
	size_t n_links, cap_links;
	struct learned *learned; /* routes zebra redistributes to hnvgwd */
	size_t n_learned, cap_learned;
	uint64_t zapi_connects; /* sessions seen: a new one streams them again */
};

static void apply_nat(struct hnv_gw *g, struct desired *d);
static void apply_routes(struct hnv_gw *g, const struct desired *d);
static void apply_bgp(struct hnv_gw *g, struct desired *d, bool force);
static void assign_if_ids(struct desired *d);
static void apply_s2s(struct hnv_gw *g, struct desired *d);
static int bgp_src_fd(void *arg, short *events);
static int bgp_src_timeout(void *arg);
static void bgp_src_run(void *arg, short revents);
static int s2s_src_fd(void *arg, short *events);
static int s2s_src_timeout(void *arg);
static void s2s_src_run(void *arg, short revents);

/* A route another daemon (bgpd, static) holds in zebra, as zebra
 * redistributes it: the corporate and site prefixes the tenants learn. */
#define LEARNED_MAX 8192 /* kept (looked up by a linear scan per update) */
#define LEARNED_NH_MAX 4  /* nexthops shown per route */
struct learned {
	char vrf[HNV_ZAPI_VRF_NAMSIZ];
	struct hnv_prefix prefix;
	uint8_t type, distance;
	uint32_t metric;
	unsigned n_nh;
	struct hnv_zapi_nh nh[LEARNED_NH_MAX];
};

static void learned_cb(void *arg, bool add, const char *vrf, uint32_t vrf_id,
		       const struct hnv_zapi_route *r);

/* Room for one more element in the array *a of n elements (capacity
 * *cap, doubling from first): false when out of memory. */
static bool room_for_one(void **a, size_t n, size_t *cap, size_t elem, size_t first)
{
	if (n < *cap)
		return true;
	size_t c = *cap ? *cap * 2 : first;
	void *b = realloc(*a, c * elem);
	if (!b)
		return false;
	*a = b;
	*cap = c;
	return true;
}

static void free_desired(struct desired *d)
{
	if (d)
		explicit_bzero(d->s2s, sizeof(d->s2s)); /* PSKs */
	free(d);
}

int hnv_gw_new(const struct hnv_gw_opts *o, struct hnv_gw **out, char *err, size_t errlen)
{
	struct hnv_gw *g = calloc(1, sizeof(*g));
	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	g->vici = o->vici;
	g->bgp_opts.path = o->bgp_fragment;
	g->bgp_opts.pathspace = o->frr_pathspace;
	g->bgp_pidfile = o->bgpd_pidfile ? o->bgpd_pidfile : HNV_GW_BGPD_PIDFILE;
	int rc = hnv_rtnl_open(&g->nl, err, errlen);
	if (rc == 0)
		rc = hnv_nat_open(&g->nat, err, errlen);
	if (rc == 0 && o->zserv) {
		struct hnv_zapi_opts zo = {
			.path = o->zserv,
			.gr_stale_time = HNV_GW_GR_STALE,
			.redist_cb = learned_cb,
			.arg = g,
		};
		g->zapi = hnv_zapi_new(&zo);
		if (g->zapi == NULL) {
			rc = -errno;
			snprintf(err, errlen, "zebra client for %s: %s", o->zserv, strerror(errno));
		}
		/* what the tenants learn: BGP (corporate routers, sites over
		 * their tunnels) and static routes, IPv4 and IPv6 */
		static const uint8_t types[] = {HNV_ZAPI_ROUTE_BGP, HNV_ZAPI_ROUTE_STATIC};
		for (size_t i = 0; rc == 0 && i < sizeof(types); i++)
			for (uint8_t afi = 1; rc == 0 && afi <= 2; afi++)
				rc = hnv_zapi_redistribute(g->zapi, afi, types[i]);
		if (rc < 0)
			snprintf(err, errlen, "zebra redistribution: %s", strerror(-rc));
	}
	if (rc < 0) {
		hnv_gw_free(g);
		return rc;
	}
	*out = g;
	return 0;
}

void hnv_gw_free(struct hnv_gw *g)
{
	if (g == NULL)
		return;
	hnv_zapi_free(g->zapi);
	hnv_s2s_destroy(g->s2s); /* tunnels stay up */
	hnv_nat_close(g->nat);
	hnv_rtnl_close(g->nl);
	free(g->bgp_text);
	free_desired(g->d);
	free(g->links);
	free(g->learned);
	free(g);
}

/* ---- the zebra client as an event source of the control thread ---- */

static int zapi_src_fd(void *arg, short *events)
{
	struct hnv_gw *g = arg;
	if (!g->zapi_active)
		return -1;
	*events = hnv_zapi_poll_events(g->zapi);
	return hnv_zapi_fd(g->zapi);
}

static int zapi_src_timeout(void *arg)
{
	const struct hnv_gw *g = arg;
	return g->zapi_active ? g->zapi_timeout : -1;
}

static void zapi_src_run(void *arg, short revents)
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
	}
}

/* ---- routes zebra redistributes to hnvgwd ---- */

static struct learned *learned_find(struct hnv_gw *g, const char *vrf, uint8_t type,
				    const struct hnv_prefix *p)
{
	for (size_t i = 0; i < g->n_learned; i++) {
		struct learned *l = &g->learned[i];
		if (l->type == type && l->prefix.len == p->len && hnv_ip_eq(&l->prefix.addr, &p->addr) &&
		    strcmp(l->vrf, vrf) == 0)
			return l;
	}
	return NULL;
}

static void learned_cb(void *arg, bool add, const char *vrf, uint32_t vrf_id,
		       const struct hnv_zapi_route *r)
{
	struct hnv_gw *g = arg;
	(void)vrf_id;
	struct learned *l = learned_find(g, vrf, r->type, &r->prefix);
	if (!add) {
		if (l)
			*l = g->learned[--g->n_learned];
		return;
	}
	if (!l) {
		if (g->n_learned >= LEARNED_MAX) {
			hnv_log(HNV_LOG_WARNING,
				"gateway: more than %d routes redistributed by zebra; "
				"the rest are not shown",
				LEARNED_MAX);
			return;
		}
		if (!room_for_one((void **)&g->learned, g->n_learned, &g->cap_learned,
				  sizeof(*g->learned), 64))
			return;
		l = &g->learned[g->n_learned++];
	}
	memset(l, 0, sizeof(*l));
	snprintf(l->vrf, sizeof(l->vrf), "%s", vrf);
	l->prefix = r->prefix;
	l->type = r->type;
	l->distance = (r->message & 0x02) ? r->distance : 0;
	l->metric = (r->message & 0x04) ? r->metric : 0;
	l->n_nh = r->n_nh < LEARNED_NH_MAX ? r->n_nh : LEARNED_NH_MAX;
	memcpy(l->nh, r->nh, l->n_nh * sizeof(l->nh[0]));
}

size_t hnv_gw_sources(struct hnv_gw *g, struct hnv_source out[HNV_GW_SOURCES])
{
	const struct hnv_source src[HNV_GW_SOURCES] = {
		{"bgpd", bgp_src_fd, bgp_src_timeout, bgp_src_run, g},
		{"charon", s2s_src_fd, s2s_src_timeout, s2s_src_run, g},
		{"zebra", zapi_src_fd, zapi_src_timeout, zapi_src_run, g},
	};
	size_t n = g->zapi ? 3 : 2;
	memcpy(out, src, n * sizeof(src[0]));
	return n;
}

/* ---- the desired state, from the model ---- */

static int collect(const struct hnv_conf_cmd *c, void *arg)
{
	struct desired *d = arg;
	switch (c->kind) {
	case HNV_CONF_VSUBNET_ADD:
		if (d->n_vs == VS_MAX) {
			d->overflow = true;
			break;
		}
		d->vs[d->n_vs++].s = c->u.vsubnet;
		break;
	case HNV_CONF_GATEWAY_ADD: {
		if (d->n_gw == GW_MAX) {
			d->overflow = true;
			break;
		}
		struct tenant *t = &d->gw[d->n_gw++];
		t->c = c->u.gateway;
		size_t n = strnlen(t->c.vrf, HNV_VRF_NAME_MAX);
		memcpy(t->vrf, HNV_RTNL_VRF_PREFIX, 3);
		memcpy(t->vrf + 3, t->c.vrf, n);
		t->vrf[3 + n] = 0;
		break;
	}
	case HNV_CONF_GATEWAY_CA:
		if (d->n_cas == sizeof(d->cas) / sizeof(d->cas[0])) {
			d->overflow = true;
			break;
		}
		d->cas[d->n_cas++] = c->u.gateway_ca;
		break;
	case HNV_CONF_S2S_ADD:
		if (d->n_s2s == S2S_MAX) {
			d->overflow = true;
			break;
		}
		d->s2s[d->n_s2s++].c = c->u.s2s;
		break;
	default:
		break;
	}
	return 0;
}

static const struct vsub *find_vs(const struct desired *d, uint32_t vsid)
{
	for (unsigned i = 0; i < d->n_vs; i++)
		if (d->vs[i].s.vsid == vsid)
			return &d->vs[i];
	return NULL;
}

/* Groups the gateway CAs into each tenant's ports, with prefix lengths. */
static void build_ports(struct desired *d)
{
	for (unsigned i = 0; i < d->n_cas; i++) {
		const struct hnv_conf_gateway_ca *ca = &d->cas[i];
		struct tenant *t = NULL;
		for (unsigned k = 0; k < d->n_gw && !t; k++)
			if (strcmp(d->gw[k].c.rdomain, ca->rdomain) == 0)
				t = &d->gw[k];
		const struct vsub *vs = find_vs(d, ca->vsid);
		if (!t || !vs)
			continue; /* the model validated both */
		struct gw_port *p = NULL;
		for (unsigned k = 0; k < t->n_ports && !p; k++)
			if (t->ports[k].vsid == ca->vsid)
				p = &t->ports[k];
		if (!p) {
			if (t->n_ports == GW_PORTS_MAX) {
				snprintf(t->err, sizeof(t->err),
					 "more than %d gateway VSIDs in one routing domain",
					 GW_PORTS_MAX);
				continue;
			}
			p = &t->ports[t->n_ports++];
			memset(p, 0, sizeof(*p));
			p->vsid = ca->vsid;
			hnv_gateway_port(ca->vsid, p->name, &p->mac);
		}
		if (p->n == HNV_PORT_MAX_CAS)
			continue;
		unsigned plen = hnv_ip_is_v4(&ca->ca) ? 32 : 128;
		for (unsigned k = 0; k < vs->s.n_prefixes; k++)
			if (hnv_prefix_contains(&vs->s.prefixes[k], &ca->ca))
				plen = vs->s.prefixes[k].len;
		p->ca[p->n] = ca->ca;
		p->plen[p->n++] = plen;
	}
}

/* The prefixes of t's gateway VSIDs (what it serves), into out[TS_MAX]. */
static size_t tenant_prefixes(const struct desired *d, const struct tenant *t,
			      struct hnv_prefix *out)
{
	size_t n = 0;
	for (unsigned k = 0; k < t->n_ports; k++) {
		const struct vsub *vs = find_vs(d, t->ports[k].vsid);
		for (unsigned j = 0; vs && j < vs->s.n_prefixes && n < TS_MAX; j++)
			out[n++] = vs->s.prefixes[j];
	}
	return n;
}

/* ---- NETMAP before a tunnel (gateway/nat.h) ---- */

/* The fwmark, and the routing table with "default dev <xfrm>", of a
 * tunnel with a remote netmap: one per if_id (0x100..0xfffff). */
/* marks the site's packets for the SNAT of a remote netmap (gateway/nat.h);
 * routes nothing: no rule matches it */
#define NETMAP_SITE_BIT 0x00100000u

static uint32_t netmap_mark(const struct tunnel *tu)
{
	return HNV_NETMAP_TABLE_MIN | tu->if_id;
}

static bool prefix_within(const struct hnv_prefix *outer, const struct hnv_prefix *p)
{
	return outer->len <= p->len && hnv_prefix_contains(outer, &p->addr);
}

static bool prefixes_overlap(const struct hnv_prefix *a, const struct hnv_prefix *b)
{
	return hnv_prefix_contains(a, &b->addr) || hnv_prefix_contains(b, &a->addr);
}

/* p (a remote prefix) lies inside the real side of a remote netmap: the
 * tenant reaches it only through the mapped prefix. */
static bool remote_mapped(const struct hnv_conf_s2s *c, const struct hnv_prefix *p)
{
	for (unsigned k = 0; k < c->n_remote_netmap; k++)
		if (prefix_within(&c->remote_netmap[k].real, p))
			return true;
	return false;
}

/* The tunnel's local traffic selectors: the tenant's prefixes, with those
 * a local netmap covers replaced by its mapped prefix. */
static size_t tunnel_local_ts(const struct desired *d, const struct tunnel *tu,
			      struct hnv_prefix *out)
{
	const struct hnv_conf_s2s *c = &tu->c;
	size_t n = 0;
	for (unsigned k = 0; k < c->n_local_netmap && n < TS_MAX; k++)
		out[n++] = c->local_netmap[k].mapped;
	struct hnv_prefix own[TS_MAX];
	size_t n_own = tenant_prefixes(d, &d->gw[tu->tenant], own);
	for (size_t i = 0; i < n_own && n < TS_MAX; i++) {
		bool mapped = false;
		for (unsigned k = 0; k < c->n_local_netmap; k++)
			mapped |= prefixes_overlap(&c->local_netmap[k].real, &own[i]);
		if (!mapped)
			out[n++] = own[i];
	}
	return n;
}

/* ---- the kernel ---- */

static void link_add(const struct hnv_rtnl_link *l, void *arg)
{
	struct hnv_gw *g = arg;
	if (room_for_one((void **)&g->links, g->n_links, &g->cap_links, sizeof(*g->links), 64))
		g->links[g->n_links++] = *l;
}

static int load_links(struct hnv_gw *g, char *err, size_t errlen)
{
	g->n_links = 0;
	return hnv_rtnl_links(g->nl, link_add, g, err, errlen);
}

static const struct hnv_rtnl_link *link_by_name(const struct hnv_gw *g, const char *name)
{
	for (size_t i = 0; i < g->n_links; i++)
		if (strcmp(g->links[i].name, name) == 0)
			return &g->links[i];
	return NULL;
}

static bool is_gateway_port_name(const char *n)
{
	if (strncmp(n, "vsid", 4) != 0 || !n[4])
		return false;
	for (const char *p = n + 4; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

struct addr_set {
	struct hnv_rtnl_addr a[16];
	unsigned n;
};

static void addr_add(const struct hnv_rtnl_addr *a, void *arg)
{
	struct addr_set *s = arg;
	if (s->n < 16)
		s->a[s->n++] = *a;
}

/* Makes the addresses of ifindex exactly want[] (with plen[]). */
static int sync_addrs(struct hnv_gw *g, int ifindex, const char *name, const struct hnv_ip *want,
		      const unsigned *plen, unsigned n, char *err, size_t errlen)
{
	struct addr_set have = {.n = 0};
	int rc = hnv_rtnl_addrs(g->nl, ifindex, addr_add, &have, err, errlen);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < have.n; i++) {
		bool keep = false;
		for (unsigned k = 0; k < n && !keep; k++)
			keep = hnv_ip_eq(&have.a[i].addr, &want[k]) && have.a[i].plen == plen[k];
		if (!keep && (rc = hnv_rtnl_addr(g->nl, false, ifindex, name, &have.a[i].addr,
						 have.a[i].plen, err, errlen)) < 0)
			return rc;
	}
	for (unsigned k = 0; k < n; k++)
		if ((rc = hnv_rtnl_addr(g->nl, true, ifindex, name, &want[k], plen[k], err,
					errlen)) < 0)
			return rc;
	return 0;
}

/* The VRF of t exists with its table and is up; t->vrf_ifindex set. */
static int ensure_vrf(struct hnv_gw *g, struct tenant *t, char *err, size_t errlen)
{
	const struct hnv_rtnl_link *l = link_by_name(g, t->vrf);
	int rc;
	if (l && strcmp(l->kind, "vrf") != 0) {
		snprintf(err, errlen, "interface %s exists and is not a VRF (kind \"%s\")", t->vrf,
			 l->kind);
		return -EEXIST;
	}
	if (l && l->vrf_table != t->c.table) {
		hnv_log(HNV_LOG_NOTICE, "gateway %s: VRF %s has table %u, want %u: recreating",
			t->c.rdomain, t->vrf, l->vrf_table, t->c.table);
		if ((rc = hnv_rtnl_del_link(g->nl, l->ifindex, t->vrf, err, errlen)) < 0)
			return rc;
		l = NULL;
	}
	struct hnv_rtnl_link got;
	if (!l) {
		if ((rc = hnv_rtnl_add_vrf(g->nl, t->vrf, t->c.table, err, errlen)) < 0)
			return rc;
		if ((rc = hnv_rtnl_link_get(g->nl, t->vrf, &got, err, errlen)) < 0)
			return rc;
		l = &got;
		hnv_log(HNV_LOG_INFO, "gateway %s: created VRF %s (table %u)", t->c.rdomain, t->vrf,
			t->c.table);
	}
	t->vrf_ifindex = l->ifindex;
	if (!l->up)
		return hnv_rtnl_set_link(g->nl, l->ifindex, t->vrf, -1, 1, NULL, err, errlen);
	return 0;
}

/* name becomes a slave of t's VRF, up. */
static int enslave(struct hnv_gw *g, struct tenant *t, const char *name, char *err, size_t errlen,
		   int *ifindex)
{
	const struct hnv_rtnl_link *l = link_by_name(g, name);
	if (!l) {
		snprintf(err, errlen, "interface %s does not exist", name);
		return -ENODEV;
	}
	*ifindex = l->ifindex;
	if (l->master == t->vrf_ifindex && l->up)
		return 0;
	return hnv_rtnl_set_link(g->nl, l->ifindex, name,
				 l->master == t->vrf_ifindex ? -1 : t->vrf_ifindex, 1, NULL, err,
				 errlen);
}

/* The gateway port's MAC is the one the datapath delivers to: another
 * (udev's MACAddressPolicy=persistent, set after the TAP appeared) would
 * make the kernel drop every frame as meant for another host. */
static int port_mac(struct hnv_gw *g, const struct gw_port *p, char *err, size_t errlen)
{
	const struct hnv_rtnl_link *l = link_by_name(g, p->name);
	if (!l || !l->has_mac || memcmp(l->mac.b, p->mac.b, sizeof(p->mac.b)) == 0)
		return 0;
	hnv_log(HNV_LOG_NOTICE, "gateway: %s had another MAC; set to its own again", p->name);
	return hnv_rtnl_set_link(g->nl, l->ifindex, p->name, -1, -1, &p->mac, err, errlen);
}

static int apply_tenant(struct hnv_gw *g, struct tenant *t, char *err, size_t errlen)
{
	int rc = ensure_vrf(g, t, err, errlen);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < t->n_ports; i++) {
		struct gw_port *p = &t->ports[i];
		int ifindex;
		if ((rc = enslave(g, t, p->name, err, errlen, &ifindex)) < 0)
			return rc;
		if ((rc = port_mac(g, p, err, errlen)) < 0)
			return rc;
		if ((rc = sync_addrs(g, ifindex, p->name, p->ca, p->plen, p->n, err, errlen)) < 0)
			return rc;
	}
	if (t->c.corp_dev[0]) {
		int ifindex;
		if ((rc = enslave(g, t, t->c.corp_dev, err, errlen, &ifindex)) < 0)
			return rc;
		t->corp_ifindex = ifindex;
		if (t->c.has_corp_addr) {
			unsigned plen = t->c.corp_addr.len;
			if ((rc = sync_addrs(g, ifindex, t->c.corp_dev, &t->c.corp_addr.addr, &plen,
					     1, err, errlen)) < 0)
				return rc;
		}
	}
	return 0;
}

static bool wanted_vrf(const struct desired *d, const char *name)
{
	for (unsigned i = 0; i < d->n_gw; i++)
		if (strcmp(d->gw[i].vrf, name) == 0)
			return true;
	return false;
}

static bool wanted_port(const struct desired *d, const char *name)
{
	for (unsigned i = 0; i < d->n_gw; i++)
		for (unsigned k = 0; k < d->gw[i].n_ports; k++)
			if (strcmp(d->gw[i].ports[k].name, name) == 0)
				return true;
	return false;
}

/* Deletes owned VRFs and gateway ports the model no longer has. */
static void remove_stale(struct hnv_gw *g, const struct desired *d)
{
	char err[ERR_LEN];
	for (size_t i = 0; i < g->n_links; i++) {
		const struct hnv_rtnl_link *l = &g->links[i];
		bool vrf = strcmp(l->kind, "vrf") == 0 &&
			   strncmp(l->name, HNV_RTNL_VRF_PREFIX, strlen(HNV_RTNL_VRF_PREFIX)) == 0;
		bool port = strcmp(l->kind, "tun") == 0 && is_gateway_port_name(l->name);
		if ((vrf && !wanted_vrf(d, l->name)) || (port && !wanted_port(d, l->name))) {
			if (hnv_rtnl_del_link(g->nl, l->ifindex, l->name, err, sizeof(err)) < 0)
				hnv_log(HNV_LOG_ERR, "gateway: %s", err);
			else
				hnv_log(HNV_LOG_INFO,
					"gateway: deleted %s %s, no longer configured",
					vrf ? "VRF" : "gateway port", l->name);
		}
	}
}

static void set_forwarding(void)
{
	static const char *const files[] = {"/proc/sys/net/ipv4/ip_forward",
					    "/proc/sys/net/ipv6/conf/all/forwarding"};
	for (size_t i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "r+");
		if (!f)
			continue;
		if (fgetc(f) != '1') {
			rewind(f);
			fputs("1\n", f);
		}
		fclose(f);
	}
}

/* Brings the kernel, zebra, charon and bgpd to d (g->d); the number of
 * tenants not applied. A kernel change that fails (a dump interrupted
 * too often, a device busy) marks its tenant for a retry on the timer. */
static int apply_desired(struct hnv_gw *g, struct desired *d)
{
	char err[ERR_LEN];
	int bad = 0;
	g->retry = false;
	if (load_links(g, err, sizeof(err)) < 0) {
		hnv_log(HNV_LOG_ERR, "gateway: %s", err);
		g->retry = d->n_gw > 0;
		return (int)d->n_gw;
	}
	for (unsigned i = 0; i < d->n_gw; i++) {
		struct tenant *t = &d->gw[i];
		char terr[ERR_LEN];
		if (!t->err[0] && apply_tenant(g, t, terr, sizeof(terr)) < 0) {
			memcpy(t->err, terr, sizeof(t->err));
			t->kernel_err = true;
			g->retry = true;
		}
		if (t->err[0]) {
			bad++;
			hnv_log(HNV_LOG_ERR, "gateway %s: %s%s", t->c.rdomain, t->err,
				t->kernel_err ? " (retrying)" : "");
		}
	}
	remove_stale(g, d);
	if (load_links(g, err, sizeof(err)) < 0) /* ifindexes of what was created */
		hnv_log(HNV_LOG_ERR, "gateway: %s", err);
	assign_if_ids(d);
	apply_s2s(g, d);
	apply_nat(g, d);
	apply_routes(g, d);
	apply_bgp(g, d, false);
	return bad;
}

/* The timer's retry of tenants whose kernel changes failed. */
static void retry_tenants(struct hnv_gw *g)
{
	struct desired *d = g->d;
	for (unsigned i = 0; i < d->n_gw; i++)
		if (d->gw[i].kernel_err) {
			d->gw[i].kernel_err = false;
			d->gw[i].err[0] = 0;
		}
	if (apply_desired(g, d) == 0)
		hnv_log(HNV_LOG_NOTICE, "gateway: retry applied every tenant");
}

int hnv_gw_apply(struct hnv_gw *g, const struct hnv_model *m)
{
	struct desired *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		hnv_log(HNV_LOG_ERR, "gateway: out of memory; kernel state not updated");
		return -ENOMEM;
	}
	hnv_model_foreach(m, collect, d);
	if (d->overflow && d->n_gw)
		hnv_log(HNV_LOG_ERR,
			"gateway: more than %d gateways, %d VSIDs or %d tunnels; the rest is not "
			"applied",
			GW_MAX, VS_MAX, S2S_MAX);
	build_ports(d);
	if (d->n_gw)
		set_forwarding();
	free_desired(g->d);
	g->d = d;
	return apply_desired(g, d);
}

json_object *hnv_gw_show(const struct hnv_gw *g)
{
	json_object *rows = json_object_new_array();
	const struct desired *d = g ? g->d : NULL;
	for (unsigned i = 0; d && i < d->n_gw; i++) {
		const struct tenant *t = &d->gw[i];
		json_object *r = json_object_new_object();
		json_object_object_add(r, "rdomain", json_object_new_string(t->c.rdomain));
		json_object_object_add(r, "vrf", json_object_new_string(t->vrf));
		json_object_object_add(r, "table", json_object_new_int64(t->c.table));
		json_object_object_add(r, "zone", json_object_new_int(t->zone));
		char ports[GW_PORTS_MAX * 14 + 1] = "";
		size_t off = 0;
		for (unsigned k = 0; k < t->n_ports && off < sizeof(ports); k++)
			off += (size_t)snprintf(ports + off, sizeof(ports) - off, "%s%s",
						k ? "," : "", t->ports[k].name);
		json_object_object_add(r, "ports", json_object_new_string(ports));
		json_object_object_add(r, "corp", json_object_new_string(t->c.corp_dev));
		json_object_object_add(r, "state",
				       json_object_new_string(t->err[0] ? t->err : "ok"));
		json_object_array_add(rows, r);
	}
	return rows;
}

/* ---- NAT and conntrack zones ---- */

/* Storage for one tenant's hnv_nat_tenant pointers (netmaps: malloc'd,
 * nat_bufs_free). */
struct nat_bufs {
	const char *ifs[GW_PORTS_MAX + 2 + S2S_MAX];
	struct hnv_prefix prefixes[TS_MAX];
	struct hnv_nat_netmap *netmaps;
};

static void nat_bufs_free(struct nat_bufs *b, unsigned n)
{
	for (unsigned i = 0; b && i < n; i++)
		free(b[i].netmaps);
	free(b);
}

/* The tunnel's netmaps as nat.h wants them, appended to out (room for
 * 2 * HNV_S2S_NETMAP_MAX); how many. */
static size_t tunnel_netmaps(const struct tunnel *tu, struct hnv_nat_netmap *out)
{
	size_t n = 0;
	for (unsigned k = 0; k < tu->c.n_local_netmap; k++)
		out[n++] = (struct hnv_nat_netmap){.ifname = tu->xfrm,
						   .real = tu->c.local_netmap[k].real,
						   .mapped = tu->c.local_netmap[k].mapped};
	for (unsigned k = 0; k < tu->c.n_remote_netmap; k++)
		out[n++] = (struct hnv_nat_netmap){.ifname = tu->xfrm,
						   .remote = true,
						   .mark = netmap_mark(tu),
						   .site_mark = netmap_mark(tu) | NETMAP_SITE_BIT,
						   .real = tu->c.remote_netmap[k].real,
						   .mapped = tu->c.remote_netmap[k].mapped};
	return n;
}

static void nat_tenant(const struct desired *d, const struct tenant *t, struct nat_bufs *b,
		       struct hnv_nat_tenant *n)
{
	memset(n, 0, sizeof(*n));
	n->name = t->c.rdomain;
	n->zone = t->zone;
	n->ifs = b->ifs;
	n->prefixes = b->prefixes;
	/* the VRF device too: what the gateway itself sends in the VRF meets
	 * the output hook with it as the outgoing interface first */
	b->ifs[n->n_ifs++] = t->vrf;
	for (unsigned i = 0; i < t->n_ports; i++)
		b->ifs[n->n_ifs++] = t->ports[i].name;
	n->n_prefixes = tenant_prefixes(d, t, b->prefixes);
	if (t->c.corp_dev[0]) {
		b->ifs[n->n_ifs++] = t->c.corp_dev;
		n->ext_if = t->c.corp_dev;
	}
	if (t->c.has_nat_external && t->c.corp_dev[0]) {
		n->has_ext_addr = true;
		n->ext_addr = t->c.nat_external;
	}
	size_t n_nm = 0;
	for (unsigned i = 0; i < d->n_s2s; i++)
		if (d->s2s[i].tenant >= 0 && &d->gw[d->s2s[i].tenant] == t) {
			b->ifs[n->n_ifs++] = d->s2s[i].xfrm;
			n_nm += d->s2s[i].c.n_local_netmap + d->s2s[i].c.n_remote_netmap;
		}
	if (n_nm && (b->netmaps = calloc(n_nm, sizeof(*b->netmaps))) != NULL) {
		n->netmaps = b->netmaps;
		for (unsigned i = 0; i < d->n_s2s; i++)
			if (d->s2s[i].tenant >= 0 && &d->gw[d->s2s[i].tenant] == t)
				n->n_netmaps += tunnel_netmaps(&d->s2s[i], b->netmaps + n->n_netmaps);
	}
}

static void apply_nat(struct hnv_gw *g, struct desired *d)
{
	char err[ERR_LEN];
	uint32_t tables[GW_MAX];
	uint16_t zones[GW_MAX];
	for (unsigned i = 0; i < d->n_gw; i++)
		tables[i] = d->gw[i].c.table;
	if (hnv_nat_zones(tables, d->n_gw, zones, err, sizeof(err)) < 0) {
		hnv_log(HNV_LOG_ERR, "gateway: conntrack zones: %s", err);
		return;
	}
	struct hnv_nat_tenant *nt = calloc(d->n_gw + 1, sizeof(*nt));
	struct nat_bufs *bufs = calloc(d->n_gw + 1, sizeof(*bufs));
	if (!nt || !bufs) {
		free(nt);
		free(bufs);
		hnv_log(HNV_LOG_ERR, "gateway: NAT: out of memory");
		return;
	}
	for (unsigned i = 0; i < d->n_gw; i++) {
		d->gw[i].zone = zones[i];
		nat_tenant(d, &d->gw[i], &bufs[i], &nt[i]);
	}
	bool changed = false;
	if (hnv_nat_apply(g->nat, nt, d->n_gw, &changed, err, sizeof(err)) < 0) {
		hnv_log(HNV_LOG_ERR, "gateway: %s", err);
		for (unsigned i = 0; i < d->n_gw; i++)
			if (!d->gw[i].err[0])
				snprintf(d->gw[i].err, sizeof(d->gw[i].err), "NAT: %.200s", err);
	} else if (changed) {
		hnv_log(HNV_LOG_INFO,
			"gateway: nftables table inet " HNV_NAT_TABLE " updated (%u tenants)",
			d->n_gw);
	}
	free(nt);
	nat_bufs_free(bufs, d->n_gw);
}

static void nat_row(const char *tenant, const struct hnv_nat_ct *ct, void *arg)
{
	json_object *r = json_object_new_object();
	char s[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], ts[INET6_ADDRSTRLEN];
	hnv_fmt_ip(&ct->src, s, sizeof(s));
	hnv_fmt_ip(&ct->dst, dst, sizeof(dst));
	hnv_fmt_ip(&ct->tsrc, ts, sizeof(ts));
	const char *proto = ct->proto == 6                      ? "tcp"
			    : ct->proto == 17                   ? "udp"
			    : ct->proto == 1 || ct->proto == 58 ? "icmp"
								: "other";
	json_object_object_add(r, "rdomain", json_object_new_string(tenant));
	json_object_object_add(r, "zone", json_object_new_int(ct->zone));
	json_object_object_add(r, "proto", json_object_new_string(proto));
	char buf[80];
	snprintf(buf, sizeof(buf), "%s:%u", s, ct->sport);
	json_object_object_add(r, "source", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "%s:%u", dst, ct->dport);
	json_object_object_add(r, "destination", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "%s:%u", ts, ct->tsport);
	json_object_object_add(r, "translated", json_object_new_string(ct->snat ? buf : "-"));
	hnv_fmt_ip(&ct->tdst, dst, sizeof(dst));
	json_object_object_add(r, "translated_dst",
			       json_object_new_string(ct->dnat ? dst : "-"));
	json_object_object_add(r, "state", json_object_new_string(ct->state));
	json_object_object_add(r, "timeout", json_object_new_int64(ct->timeout));
	json_object_array_add(arg, r);
}

json_object *hnv_gw_show_nat(const struct hnv_gw *g)
{
	json_object *rows = json_object_new_array();
	const struct desired *d = g->d;
	if (!d || !d->n_gw)
		return rows;
	struct hnv_nat_tenant *nt = calloc(d->n_gw, sizeof(*nt));
	struct nat_bufs *bufs = calloc(d->n_gw, sizeof(*bufs));
	if (nt && bufs) {
		for (unsigned i = 0; i < d->n_gw; i++)
			nat_tenant(d, &d->gw[i], &bufs[i], &nt[i]);
		char err[ERR_LEN];
		if (hnv_nat_list(g->nat, nt, d->n_gw, nat_row, rows, err, sizeof(err)) < 0)
			hnv_log(HNV_LOG_WARNING, "show nat: %s", err);
	}
	free(nt);
	nat_bufs_free(bufs, bufs ? d->n_gw : 0);
	return rows;
}

/* ---- zebra: the routes hnvgwd owns ---- */

struct route_want {
	char vrf[16];
	struct hnv_prefix prefix;
	struct hnv_zapi_nh nh;
};

struct routes {
	struct route_want *r;
	size_t n, cap;
};

static void want(struct routes *w, const char *vrf, const struct hnv_prefix *p,
		 const struct hnv_zapi_nh *nh)
{
	if (!room_for_one((void **)&w->r, w->n, &w->cap, sizeof(*w->r), 32))
		return;
	struct route_want *r = &w->r[w->n++];
	snprintf(r->vrf, sizeof(r->vrf), "%s", vrf);
	r->prefix = *p;
	r->nh = nh ? *nh : (struct hnv_zapi_nh){.type = 0};
}

static bool is_wanted(const struct routes *w, const char *vrf, const struct hnv_prefix *p)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->r[i].vrf, vrf) == 0 && w->r[i].prefix.len == p->len &&
		    hnv_ip_eq(&w->r[i].prefix.addr, &p->addr))
			return true;
	return false;
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

static void apply_routes(struct hnv_gw *g, const struct desired *d)
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
			const struct hnv_rtnl_link *l = link_by_name(g, t->ports[k].name);
			const struct vsub *vs = find_vs(d, t->ports[k].vsid);
			if (!l || !vs)
				continue;
			struct hnv_zapi_nh nh = {.type = HNV_ZAPI_NH_IFINDEX,
						 .ifindex = (uint32_t)l->ifindex};
			for (unsigned j = 0; j < vs->s.n_prefixes; j++)
				if (!connected(&t->ports[k], &vs->s.prefixes[j]))
					want(&w, t->vrf, &vs->s.prefixes[j], &nh);
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
			if (!remote_mapped(&tu->c, &tu->c.remote[k]))
				want(&w, d->gw[tu->tenant].vrf, &tu->c.remote[k], &nh);
		for (unsigned k = 0; k < tu->c.n_remote_netmap; k++)
			want(&w, d->gw[tu->tenant].vrf, &tu->c.remote_netmap[k].mapped, &nh);
	}
	struct stale s = {&w, {NULL, 0, 0}};
	hnv_zapi_route_foreach(g->zapi, find_stale, &s);
	for (size_t i = 0; i < s.gone.n; i++)
		hnv_zapi_route_del(g->zapi, s.gone.r[i].vrf, &s.gone.r[i].prefix);
	for (size_t i = 0; i < w.n; i++)
		if (hnv_zapi_route_set(g->zapi, w.r[i].vrf, &w.r[i].prefix, &w.r[i].nh,
				       HNV_ZAPI_DEFAULT_DISTANCE, 0) < 0)
			hnv_log(HNV_LOG_ERR, "gateway: zebra refused a route in %s", w.r[i].vrf);
	free(s.gone.r);
	free(w.r);
}

static void fmt_prefix(const struct hnv_prefix *pfx, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	hnv_fmt_ip(&pfx->addr, a, sizeof(a));
	snprintf(out, len, "%s/%u", a, pfx->len);
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
	fmt_prefix(&ri->prefix, p, sizeof(p));
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
		char p[INET6_ADDRSTRLEN + 8], nh[LEARNED_NH_MAX * 100] = "", one[96];
		fmt_prefix(&l->prefix, p, sizeof(p));
		for (unsigned k = 0; k < l->n_nh; k++) {
			fmt_nh(&l->nh[k], one, sizeof(one));
			size_t used = strlen(nh);
			snprintf(nh + used, sizeof(nh) - used, "%s%s", k ? ", " : "", one);
		}
		json_object *r = json_object_new_object();
		json_object_object_add(r, "rdomain", json_object_new_string(rd));
		json_object_object_add(r, "vrf", json_object_new_string(l->vrf));
		json_object_object_add(r, "prefix", json_object_new_string(p));
		json_object_object_add(
			r, "protocol",
			json_object_new_string(l->type == HNV_ZAPI_ROUTE_BGP ? "bgp" : "static"));
		json_object_object_add(r, "nexthop", json_object_new_string(l->n_nh ? nh : "-"));
		json_object_object_add(r, "distance", json_object_new_int(l->distance));
		json_object_object_add(r, "metric", json_object_new_int64(l->metric));
		json_object_array_add(rows, r);
	}
	return rows;
}

/* ---- bgpd: one instance per tenant VRF ---- */

static long read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	long pid = 0;
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}

struct bgp_bufs {
	struct hnv_bgp_neighbor nb;
	struct hnv_prefix nets[TS_MAX];
};

/* The BGP tenants of d; their arrays point into d and bb. */
static size_t bgp_tenants(const struct desired *d, struct hnv_bgp_tenant *bt, struct bgp_bufs *bb)
{
	size_t n = 0;
	for (unsigned i = 0; i < d->n_gw; i++) {
		const struct tenant *t = &d->gw[i];
		if (!t->c.bgp_asn)
			continue;
		struct hnv_bgp_tenant *b = &bt[n];
		struct bgp_bufs *u = &bb[n++];
		memset(b, 0, sizeof(*b));
		u->nb.addr = t->c.bgp_peer;
		u->nb.remote_as = t->c.bgp_peer_asn;
		b->vrf = t->c.vrf;
		b->local_as = t->c.bgp_asn;
		b->graceful_restart = true;
		b->neighbors = &u->nb;
		b->n_neighbors = 1;
		b->networks = u->nets;
		b->n_networks = tenant_prefixes(d, t, u->nets);
	}
	return n;
}

/* Applies the tenants' BGP instances when they changed, when forced (bgpd
 * restarted: it starts without them, they live in hnvgw's fragment) or
 * when the last attempt failed. */
static void apply_bgp(struct hnv_gw *g, struct desired *d, bool force)
{
	struct hnv_bgp_tenant *bt = calloc(d->n_gw + 1, sizeof(*bt));
	struct bgp_bufs *bb = calloc(d->n_gw + 1, sizeof(*bb));
	char err[512], *text = NULL;
	if (!bt || !bb)
		goto out;
	size_t n = bgp_tenants(d, bt, bb);
	if (!g->bgp_text && n == 0) /* never configured any: leave bgpd alone */
		goto out;
	if (hnv_bgp_render(bt, n, &text, err, sizeof(err)) < 0) {
		hnv_log(HNV_LOG_ERR, "gateway: BGP: %s", err);
		goto out;
	}
	bool same = g->bgp_text && strcmp(g->bgp_text, text) == 0;
	if (same && !force && !g->bgp_pending)
		goto out;
	long pid = read_pid(g->bgp_pidfile);
	if (hnv_bgp_apply(&g->bgp_opts, bt, n, err, sizeof(err)) < 0) {
		hnv_log_rl(&g->bgp_rl, HNV_LOG_ERR, "gateway: BGP: %s", err);
		g->bgp_pending = true;
		for (unsigned i = 0; i < d->n_gw; i++)
			if (d->gw[i].c.bgp_asn && !d->gw[i].err[0])
				snprintf(d->gw[i].err, ERR_LEN, "BGP: %.240s", err);
		goto out;
	}
	for (unsigned i = 0; i < d->n_gw; i++)
		if (strncmp(d->gw[i].err, "BGP: ", 5) == 0)
			d->gw[i].err[0] = 0;
	hnv_log(HNV_LOG_INFO, "gateway: bgpd (pid %ld) configured for %zu tenant%s", pid, n,
		n == 1 ? "" : "s");
	g->bgp_pending = false;
	g->bgpd_pid = pid;
	free(g->bgp_text);
	g->bgp_text = text;
	text = NULL;
out:
	free(text);
	free(bt);
	free(bb);
}

/* Every 2 s while BGP is configured: a bgpd with a new pid (restarted)
 * gets the tenant instances again; a failed apply is retried. */
static int bgp_src_fd(void *arg, short *events)
{
	(void)arg;
	*events = 0;
	return -1;
}

static int bgp_src_timeout(void *arg)
{
	const struct hnv_gw *g = arg;
	/* a restarted bgpd is noticed within 0.5 s (its tenants' routes are
	 * gone until it is configured again); retries run every 2 s */
	return g->bgp_text || g->bgp_pending || g->retry ? 500 : -1;
}

static void bgp_src_run(void *arg, short revents)
{
	(void)revents;
	struct hnv_gw *g = arg;
	if (!g->d)
		return;
	bool retry_due = ++g->bgp_polls % 4 == 0;
	if (g->retry && retry_due)
		retry_tenants(g);
	long pid = read_pid(g->bgp_pidfile);
	if (pid && pid != g->bgpd_pid) {
		hnv_log(HNV_LOG_NOTICE, "gateway: bgpd restarted (pid %ld): configuring it again",
			pid);
		apply_bgp(g, g->d, true);
	} else if (g->bgp_pending && retry_due) {
		apply_bgp(g, g->d, true);
	}
}

/* ---- S2S tunnels: XFRM interfaces, charon connections, routes ---- */

/* A stable if_id per tunnel name (FNV-1a), unique among the tunnels:
 * collisions probe upwards. Range 0x100..0xfffff (xf-<decimal> fits). */
static void assign_if_ids(struct desired *d)
{
	for (unsigned i = 0; i < d->n_s2s; i++) {
		uint32_t h = 2166136261u;
		for (const char *c = d->s2s[i].c.name; *c; c++)
			h = (h ^ (uint8_t)*c) * 16777619u;
		uint32_t id = 0x100 + h % 0xfff00;
		for (bool clash = true; clash;) {
			clash = false;
			for (unsigned k = 0; k < i; k++)
				if (d->s2s[k].if_id == id) {
					clash = true;
					id = id == 0xfffff ? 0x100 : id + 1;
				}
		}
		d->s2s[i].if_id = id;
		snprintf(d->s2s[i].xfrm, sizeof(d->s2s[i].xfrm), HNV_RTNL_XFRM_PREFIX "%u", id);
		d->s2s[i].tenant = -1;
		for (unsigned k = 0; k < d->n_gw; k++)
			if (strcmp(d->gw[k].c.rdomain, d->s2s[i].c.rdomain) == 0)
				d->s2s[i].tenant = (int)k;
	}
}

/* The XFRM interface of tu exists with its if_id, in its VRF, up. */
static int ensure_xfrm(struct hnv_gw *g, struct desired *d, struct tunnel *tu, char *err,
		       size_t errlen)
{
	if (tu->tenant < 0) {
		snprintf(err, errlen, "routing domain %s has no gateway", tu->c.rdomain);
		return -ENOENT;
	}
	struct tenant *t = &d->gw[tu->tenant];
	if (t->err[0] || !t->vrf_ifindex) {
		snprintf(err, errlen, "the gateway of %s is not ready", t->c.rdomain);
		return -EAGAIN;
	}
	const struct hnv_rtnl_link *l = link_by_name(g, tu->xfrm);
	int rc;
	if (l && (strcmp(l->kind, "xfrm") != 0 || l->xfrm_if_id != tu->if_id)) {
		if ((rc = hnv_rtnl_del_link(g->nl, l->ifindex, tu->xfrm, err, errlen)) < 0)
			return rc;
		l = NULL;
	}
	struct hnv_rtnl_link got;
	if (!l) {
		if ((rc = hnv_rtnl_add_xfrm(g->nl, tu->xfrm, tu->if_id, 0, err, errlen)) < 0 ||
		    (rc = hnv_rtnl_link_get(g->nl, tu->xfrm, &got, err, errlen)) < 0)
			return rc;
		l = &got;
		hnv_log(HNV_LOG_INFO, "s2s %s: created XFRM interface %s (if_id %u) in %s",
			tu->c.name, tu->xfrm, tu->if_id, t->vrf);
	}
	tu->ifindex = l->ifindex;
	if (l->master == t->vrf_ifindex && l->up)
		return 0;
	return hnv_rtnl_set_link(g->nl, l->ifindex, tu->xfrm,
				 l->master == t->vrf_ifindex ? -1 : t->vrf_ifindex, 1, NULL, err,
				 errlen);
}

static bool wanted_xfrm(const struct desired *d, const char *name)
{
	for (unsigned i = 0; i < d->n_s2s; i++)
		if (strcmp(d->s2s[i].xfrm, name) == 0)
			return true;
	return false;
}

/* The rules at HNV_RTNL_NETMAP_PRIO a dump found. */
struct rule_list {
	struct hnv_rtnl_rule r[S2S_MAX + 16];
	size_t n;
	bool overflow;
};

static void rule_seen(const struct hnv_rtnl_rule *r, void *arg)
{
	struct rule_list *l = arg;
	/* ours: our priority and one of our tables; nobody else's rule */
	if (r->prio != HNV_RTNL_NETMAP_PRIO || r->table < HNV_NETMAP_TABLE_MIN ||
	    r->table > HNV_NETMAP_TABLE_MAX)
		return;
	if (l->n < sizeof(l->r) / sizeof(l->r[0]))
		l->r[l->n++] = *r;
	else
		l->overflow = true;
}

/* Each tunnel with a remote netmap and an XFRM interface: table M with
 * "default dev xf-N" and the rule "fwmark M lookup M" before the VRFs'
 * l3mdev rule (the mark is set by table inet hnvgw on the tenant's packets
 * to the mapped prefix, gateway/nat.h). Our rules (that priority, a table
 * in the NETMAP range) that no tunnel wants go, with their table's route. */
static void apply_netmap_steering(struct hnv_gw *g, const struct desired *d)
{
	char err[ERR_LEN];
	for (unsigned i = 0; i < d->n_s2s; i++) {
		const struct tunnel *tu = &d->s2s[i];
		if (!tu->ifindex || !tu->c.n_remote_netmap)
			continue;
		uint32_t m = netmap_mark(tu);
		if (hnv_rtnl_default_dev(g->nl, true, m, tu->ifindex, tu->xfrm, err, sizeof(err)) <
			    0 ||
		    hnv_rtnl_rule(g->nl, true, HNV_RTNL_NETMAP_PRIO, m, m, err, sizeof(err)) < 0)
			hnv_log(HNV_LOG_ERR, "s2s %s: netmap: %s", tu->c.name, err);
	}
	struct rule_list *l = calloc(1, sizeof(*l));
	if (l == NULL || hnv_rtnl_rules(g->nl, rule_seen, l, err, sizeof(err)) < 0) {
		if (l != NULL)
			hnv_log(HNV_LOG_ERR, "s2s: netmap: %s", err);
		free(l);
		return;
	}
	for (size_t k = 0; k < l->n; k++) {
		const struct hnv_rtnl_rule *r = &l->r[k];
		bool wanted = false;
		for (unsigned i = 0; i < d->n_s2s && !wanted; i++) {
			const struct tunnel *tu = &d->s2s[i];
			wanted = tu->ifindex && tu->c.n_remote_netmap && r->fwmark == netmap_mark(tu) &&
				 r->table == netmap_mark(tu) && r->fwmask == 0xffffffffu;
		}
		if (wanted)
			continue;
		if (hnv_rtnl_rule(g->nl, false, r->prio, r->fwmark, r->table, err, sizeof(err)) < 0)
			hnv_log(HNV_LOG_ERR, "s2s: netmap: %s", err);
		else
			hnv_log(HNV_LOG_INFO, "s2s: removed routing rule fwmark 0x%x lookup %u",
				r->fwmark, r->table);
		if (hnv_rtnl_default_dev(g->nl, false, r->table, 0, "any", err, sizeof(err)) < 0)
			hnv_log(HNV_LOG_ERR, "s2s: netmap: %s", err);
	}
	free(l);
}

static void s2s_log(void *arg, int level, const char *msg)
{
	(void)arg;
	hnv_log((enum hnv_log_level)level, "s2s: %s", msg);
}

static void apply_s2s(struct hnv_gw *g, struct desired *d)
{
	char err[ERR_LEN];
	for (unsigned i = 0; i < d->n_s2s; i++) {
		struct tunnel *tu = &d->s2s[i];
		if (ensure_xfrm(g, d, tu, err, sizeof(err)) < 0) {
			tu->ifindex = 0;
			hnv_log(HNV_LOG_ERR, "s2s %s: %s", tu->c.name, err);
		}
	}
	for (size_t i = 0; i < g->n_links; i++) {
		const struct hnv_rtnl_link *l = &g->links[i];
		if (strcmp(l->kind, "xfrm") == 0 &&
		    strncmp(l->name, HNV_RTNL_XFRM_PREFIX, strlen(HNV_RTNL_XFRM_PREFIX)) == 0 &&
		    !wanted_xfrm(d, l->name)) {
			if (hnv_rtnl_del_link(g->nl, l->ifindex, l->name, err, sizeof(err)) < 0)
				hnv_log(HNV_LOG_ERR, "s2s: %s", err);
			else
				hnv_log(HNV_LOG_INFO, "s2s: deleted XFRM interface %s", l->name);
		}
	}
	apply_netmap_steering(g, d);
	if (!g->vici || (!d->n_s2s && !g->s2s))
		return;
	if (!g->s2s) {
		struct hnv_s2s_opts o = {.vici_path = g->vici, .log = s2s_log};
		int rc = hnv_s2s_create(&o, &g->s2s);
		if (rc < 0) {
			hnv_log(HNV_LOG_ERR, "s2s: cannot start the charon client: %s",
				strerror(-rc));
			return;
		}
	}
	struct hnv_s2s_spec *sp = calloc(d->n_s2s + 1, sizeof(*sp));
	struct hnv_prefix(*ts)[TS_MAX] = calloc(d->n_s2s + 1, sizeof(*ts));
	if (!sp || !ts) {
		free(sp);
		free(ts);
		return;
	}
	size_t n = 0;
	for (unsigned i = 0; i < d->n_s2s; i++) {
		const struct tunnel *tu = &d->s2s[i];
		if (!tu->ifindex)
			continue; /* no interface in its VRF: traffic would leak out of the tenant */
		struct hnv_s2s_spec *s = &sp[n];
		s->conf = &tu->c;
		s->if_id = tu->if_id;
		s->local_ts = ts[n];
		size_t k = tunnel_local_ts(d, tu, ts[n]);
		s->n_local_ts = (unsigned)(k < HNV_S2S_LOCAL_TS_MAX ? k : HNV_S2S_LOCAL_TS_MAX);
		n++;
	}
	int rc = hnv_s2s_sync(g->s2s, sp, n);
	if (rc < 0 && rc != -ENOTCONN)
		hnv_log(HNV_LOG_ERR, "s2s: charon did not take every tunnel (%s)", strerror(-rc));
	free(sp);
	free(ts);
}

static int s2s_src_fd(void *arg, short *events)
{
	const struct hnv_gw *g = arg;
	*events = POLLIN;
	return g->s2s ? hnv_s2s_fd(g->s2s) : -1;
}

static int s2s_src_timeout(void *arg)
{
	return ((const struct hnv_gw *)arg)->s2s ? 1000 : -1;
}

static void s2s_src_run(void *arg, short revents)
{
	struct hnv_gw *g = arg;
	if (!g->s2s)
		return;
	/* a charon that went away: the event socket reports EOF or an error;
	 * tick reconnects (at most once a second) and loads every tunnel */
	if (revents && hnv_s2s_dispatch(g->s2s) == 0 && !(revents & (POLLHUP | POLLERR | POLLNVAL)))
		return;
	hnv_s2s_tick(g->s2s);
}

json_object *hnv_gw_show_s2s(const struct hnv_gw *g)
{
	json_object *rows = json_object_new_array();
	const struct desired *d = g->d;
	for (unsigned i = 0; d && i < d->n_s2s; i++) {
		const struct tunnel *tu = &d->s2s[i];
		struct hnv_s2s_status st;
		memset(&st, 0, sizeof(st));
		int rc = g->s2s ? hnv_s2s_status(g->s2s, tu->c.name, &st) : -ENOTCONN;
		json_object *r = json_object_new_object();
		char peer[INET6_ADDRSTRLEN];
		hnv_fmt_ip(&tu->c.peer, peer, sizeof(peer));
		json_object_object_add(r, "name", json_object_new_string(tu->c.name));
		json_object_object_add(r, "rdomain", json_object_new_string(tu->c.rdomain));
		json_object_object_add(r, "peer", json_object_new_string(peer));
		json_object_object_add(r, "interface", json_object_new_string(tu->xfrm));
		json_object_object_add(r, "if_id", json_object_new_int64(tu->if_id));
		char nm[2 * HNV_S2S_NETMAP_MAX * 48 + 16] = "";
		size_t off = 0;
		for (unsigned k = 0; k < tu->c.n_local_netmap + tu->c.n_remote_netmap; k++) {
			bool rem = k >= tu->c.n_local_netmap;
			const struct hnv_s2s_netmap *m = rem ? &tu->c.remote_netmap[k - tu->c.n_local_netmap]
							     : &tu->c.local_netmap[k];
			char a[48], b[48];
			hnv_fmt_prefix(&m->real, a, sizeof(a));
			hnv_fmt_prefix(&m->mapped, b, sizeof(b));
			/* local: ours as the site sees it; remote: the site's as we see it */
			off += (size_t)snprintf(nm + off, sizeof(nm) - off, "%s%s %s=%s",
						off ? ", " : "", rem ? "remote" : "local", a, b);
			if (off >= sizeof(nm))
				break;
		}
		json_object_object_add(r, "netmap", json_object_new_string(nm[0] ? nm : "-"));
		json_object_object_add(r, "state",
				       json_object_new_string(rc == 0 ? st.ike_state
							      : rc == -ENOTCONN
								      ? "charon unreachable"
								      : "unknown"));
		json_object_object_add(r, "child", json_object_new_string(st.child_state));
		json_object_object_add(r, "ike_sas", json_object_new_int64(st.ike_sas));
		json_object_object_add(r, "established_s",
				       json_object_new_int64((int64_t)st.established_s));
		json_object_object_add(r, "bytes_in", json_object_new_int64((int64_t)st.bytes_in));
		json_object_object_add(r, "bytes_out",
				       json_object_new_int64((int64_t)st.bytes_out));
		json_object_object_add(r, "packets_in",
				       json_object_new_int64((int64_t)st.packets_in));
		json_object_object_add(r, "packets_out",
				       json_object_new_int64((int64_t)st.packets_out));
		json_object_object_add(r, "rekeys",
				       json_object_new_int64(st.ike_rekeys + st.child_rekeys));
		json_object_array_add(rows, r);
	}
	return rows;
}

int hnv_gw_s2s_ctl(struct hnv_gw *g, const char *name, bool up, char *err, size_t errlen)
{
	if (!g->s2s) {
		snprintf(err, errlen, "no S2S tunnels are configured");
		return -ENOENT;
	}
	int rc = up ? hnv_s2s_up(g->s2s, name) : hnv_s2s_down(g->s2s, name);
	if (rc == -ENOENT)
		snprintf(err, errlen, "no S2S tunnel %s", name);
	else if (rc < 0)
		snprintf(err, errlen, "s2s %s %s: %s", up ? "up" : "down", name, strerror(-rc));
	return rc;
}
