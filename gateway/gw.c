/* gw.c: the gateway role applied to the kernel, nftables, zebra, bgpd and
 * charon (see gw.h): the handle, the desired state, the kernel objects of
 * the tenants, NAT and bgpd; zebra in gw_zebra.c, tunnels in gw_s2s.c. */
#include "garp.h"
#include "gw_int.h"

#include "../lib/addr.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/vec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void apply_nat(struct hnv_gw *g, struct desired *d);
static void apply_bgp(struct hnv_gw *g, struct desired *d, bool force);
static int bgp_src_fd(void *arg, short *events);
static int bgp_src_timeout(void *arg);
static void bgp_src_run(void *arg, short revents);

static void free_desired(struct desired *d)
{
	if (!d)
		return;
	if (d->s2s)
		explicit_bzero(d->s2s, d->n_s2s * sizeof(d->s2s[0])); /* PSKs */
	free(d->gw);
	free(d->vs);
	free(d->cas);
	free(d->s2s);
	free(d->conns);
	free(d->peers);
	free(d);
}

int hnv_gw_new(const struct hnv_gw_opts *o, struct hnv_gw **out, char *err, size_t errlen)
{
	struct hnv_gw *g = calloc(1, sizeof(*g));
	if (g == NULL) {
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	g->vici = o->vici;
	g->uplink = o->uplink;
	g->bgp_opts.path = o->bgp_fragment;
	g->bgp_opts.pathspace = o->frr_pathspace;
	g->bgp_pidfile = o->bgpd_pidfile ? o->bgpd_pidfile : HNV_GW_BGPD_PIDFILE;
	int rc = hnv_rtnl_open(&g->nl, err, errlen);
	if (rc == 0)
		rc = hnv_nat_open(&g->nat, err, errlen);
	if (rc == 0 && o->zserv) {
		struct hnv_zapi_opts zo = {
			.path = o->zserv,
			.frr_version = o->frr_version,
			.gr_stale_time = HNV_GW_GR_STALE,
			.redist_cb = gw_learned_cb,
			.arg = g,
		};
		g->zapi = hnv_zapi_new(&zo);
		if (g->zapi == NULL) {
			rc = -errno;
			hnv_seterr(err, errlen, "zebra client for %s: %s", o->zserv,
				   strerror(errno));
		}
		/* what the tenants learn: BGP (corporate routers, sites over
		 * their tunnels) and static routes, IPv4 and IPv6 */
		static const uint8_t types[] = {HNV_ZAPI_ROUTE_BGP, HNV_ZAPI_ROUTE_STATIC};
		for (size_t i = 0; rc == 0 && i < sizeof(types); i++)
			for (uint8_t afi = 1; rc == 0 && afi <= 2; afi++)
				rc = hnv_zapi_redistribute(g->zapi, afi, types[i]);
		if (rc < 0)
			hnv_seterr(err, errlen, "zebra redistribution: %s", strerror(-rc));
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
	free(g->link_name);
	free(g->link_ifindex);
	free(g->addrs);
	free(g->shaping);
	free(g->learned);
	free(g->kept);
	free(g);
}

size_t hnv_gw_sources(struct hnv_gw *g, struct hnv_source out[HNV_GW_SOURCES])
{
	const struct hnv_source src[HNV_GW_SOURCES] = {
		{"bgpd", bgp_src_fd, bgp_src_timeout, bgp_src_run, g},
		{"charon", gw_s2s_src_fd, gw_s2s_src_timeout, gw_s2s_src_run, g},
		{"zebra", gw_zapi_src_fd, gw_zapi_src_timeout, gw_zapi_src_run, g},
	};
	size_t n = g->zapi ? 3 : 2;
	memcpy(out, src, n * sizeof(src[0]));
	return n;
}

/* ---- the desired state ---- */

const struct hnv_gw_vsubnet *gw_find_vs(const struct desired *d, uint32_t vsid)
{
	for (unsigned i = 0; i < d->n_vs; i++)
		if (d->vs[i].vsid == vsid)
			return &d->vs[i];
	return NULL;
}

/* Groups the gateway CAs into each tenant's ports, with prefix lengths. */
static void build_ports(struct desired *d)
{
	for (unsigned i = 0; i < d->n_cas; i++) {
		const struct hnv_gw_ca *ca = &d->cas[i];
		struct tenant *t = NULL;
		for (unsigned k = 0; k < d->n_gw && !t; k++)
			if (strcmp(d->gw[k].c.rdomain, ca->rdomain) == 0)
				t = &d->gw[k];
		const struct hnv_gw_vsubnet *vs = gw_find_vs(d, ca->vsid);
		if (!t || !vs)
			continue; /* no gateway or VSID for it: nothing carries it */
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
			snprintf(p->name, sizeof(p->name), "%s", ca->port);
			p->mac = ca->port_mac;
		}
		if (p->n == HNV_PORT_MAX_CAS)
			continue;
		unsigned plen = hnv_ip_is_v4(&ca->ca) ? 32 : 128;
		for (unsigned k = 0; k < vs->n_prefixes; k++)
			if (hnv_prefix_contains(&vs->prefixes[k], &ca->ca))
				plen = vs->prefixes[k].len;
		p->ca[p->n] = ca->ca;
		p->plen[p->n++] = plen;
	}
}

size_t gw_tenant_prefixes(const struct desired *d, const struct tenant *t, struct hnv_prefix *out)
{
	size_t n = 0;
	for (unsigned k = 0; k < t->n_ports; k++) {
		const struct hnv_gw_vsubnet *vs = gw_find_vs(d, t->ports[k].vsid);
		for (unsigned j = 0; vs && j < vs->n_prefixes && n < TS_MAX; j++)
			out[n++] = vs->prefixes[j];
	}
	return n;
}

/* ---- the kernel ---- */

static void link_add(const struct hnv_rtnl_link *l, void *arg)
{
	struct hnv_gw *g = arg;
	if (HNV_GROW(g->links, g->cap_links, g->n_links + 1) == 0)
		g->links[g->n_links++] = *l;
}

static int link_idx_by_name(const void *a, const void *b, void *arg)
{
	const struct hnv_rtnl_link *l = arg;
	return strcmp(l[*(const size_t *)a].name, l[*(const size_t *)b].name);
}

static int link_idx_by_ifindex(const void *a, const void *b, void *arg)
{
	const struct hnv_rtnl_link *l = arg;
	int x = l[*(const size_t *)a].ifindex, y = l[*(const size_t *)b].ifindex;
	return (x > y) - (x < y);
}

/* Every link into g->links, with indices by name and by ifindex: an apply
 * looks links up several times per tenant, and a scan of ~4 links per
 * tenant each time was quadratic. */
static int load_links(struct hnv_gw *g, char *err, size_t errlen)
{
	g->n_links = 0;
	int rc = hnv_rtnl_links(g->nl, link_add, g, err, errlen);
	if (rc == 0 && (HNV_GROW(g->link_name, g->cap_link_idx, g->n_links + 1) ||
			HNV_GROW(g->link_ifindex, g->cap_link_ifindex, g->n_links + 1))) {
		hnv_seterr(err, errlen, "out of memory for %zu links", g->n_links);
		rc = -ENOMEM;
	}
	if (rc < 0) {
		g->n_links = 0;
		return rc;
	}
	for (size_t i = 0; i < g->n_links; i++)
		g->link_name[i] = g->link_ifindex[i] = i;
	qsort_r(g->link_name, g->n_links, sizeof(size_t), link_idx_by_name, g->links);
	qsort_r(g->link_ifindex, g->n_links, sizeof(size_t), link_idx_by_ifindex, g->links);
	return 0;
}

const struct hnv_rtnl_link *gw_link_by_name(const struct hnv_gw *g, const char *name)
{
	size_t lo = 0, hi = g->n_links;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct hnv_rtnl_link *l = &g->links[g->link_name[mid]];
		int c = strcmp(l->name, name);
		if (c == 0)
			return l;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct hnv_rtnl_link *link_by_ifindex(const struct hnv_gw *g, int ifindex)
{
	size_t lo = 0, hi = g->n_links;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct hnv_rtnl_link *l = &g->links[g->link_ifindex[mid]];
		if (l->ifindex == ifindex)
			return l;
		if (l->ifindex < ifindex)
			lo = mid + 1;
		else
			hi = mid;
	}
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

static void addr_keep(const struct hnv_rtnl_addr *a, void *arg)
{
	struct hnv_gw *g = arg;
	if (HNV_GROW(g->addrs, g->cap_addrs, g->n_addrs + 1) == 0)
		g->addrs[g->n_addrs++] = *a;
}

/* Every interface's addresses into g->addrs: one dump per apply, not one
 * per interface (with 1,000 tenants that was 2,000 dumps of up to ~4,000
 * addresses each). */
static int addr_by_ifindex(const void *a, const void *b)
{
	int x = ((const struct hnv_rtnl_addr *)a)->ifindex;
	int y = ((const struct hnv_rtnl_addr *)b)->ifindex;
	return (x > y) - (x < y);
}

static int load_addrs(struct hnv_gw *g, char *err, size_t errlen)
{
	g->n_addrs = 0;
	int rc = hnv_rtnl_addrs(g->nl, 0, addr_keep, g, err, errlen);
	if (rc == 0 && g->n_addrs > 1) /* by ifindex: addrs_of bisects */
		qsort(g->addrs, g->n_addrs, sizeof(*g->addrs), addr_by_ifindex);
	return rc;
}

/* The first of ifindex's addresses in g->addrs (sorted by ifindex): its
 * addresses are the entries from there on with that ifindex. */
static size_t addrs_of(const struct hnv_gw *g, int ifindex)
{
	size_t lo = 0, hi = g->n_addrs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->addrs[mid].ifindex < ifindex)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Every device's qdiscs into g->shaping: one dump per apply, not one per
 * tunnel or connection (gw_apply_rates). A failed dump is logged and each
 * device is then asked alone. */
static void load_shaping(struct hnv_gw *g)
{
	char err[ERR_LEN];
	free(g->shaping);
	g->shaping = NULL;
	g->n_shaping = 0;
	g->shaping_ok = hnv_rtnl_shapings(g->nl, &g->shaping, &g->n_shaping, err, sizeof(err)) == 0;
	if (!g->shaping_ok)
		hnv_log(HNV_LOG_WARNING, "gateway: %s; asking each device", err);
}

/* Makes the addresses of ifindex exactly want[] (with plen[]); what it has
 * is taken from g->addrs (load_addrs before this apply's changes: each
 * interface is synced once per apply). */
int gw_sync_addrs(struct hnv_gw *g, int ifindex, const char *name, const struct hnv_ip *want,
		  const unsigned *plen, unsigned n, char *err, size_t errlen)
{
	struct addr_set have = {.n = 0};
	int rc;
	for (size_t i = addrs_of(g, ifindex); i < g->n_addrs && g->addrs[i].ifindex == ifindex; i++)
		if (have.n < 16)
			have.a[have.n++] = g->addrs[i];
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
	const struct hnv_rtnl_link *l = gw_link_by_name(g, t->vrf);
	int rc;
	if (l && strcmp(l->kind, "vrf") != 0) {
		hnv_seterr(err, errlen, "interface %s exists and is not a VRF (kind \"%s\")",
			   t->vrf, l->kind);
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
	const struct hnv_rtnl_link *l = gw_link_by_name(g, name);
	if (!l) {
		hnv_seterr(err, errlen, "interface %s does not exist", name);
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
	const struct hnv_rtnl_link *l = gw_link_by_name(g, p->name);
	if (!l || !l->has_mac || memcmp(l->mac.b, p->mac.b, sizeof(p->mac.b)) == 0)
		return 0;
	hnv_log(HNV_LOG_NOTICE, "gateway: %s had another MAC; set to its own again", p->name);
	return hnv_rtnl_set_link(g->nl, l->ifindex, p->name, -1, -1, &p->mac, err, errlen);
}

/* A tenant's corp device must not be the uplink, nor a device already in
 * another VRF (another tenant's, or one hnvgw does not manage): enslaving
 * it would hand that network to this tenant (issue 17 finding 4). */
static int corp_dev_free(struct hnv_gw *g, const struct tenant *t, char *err, size_t errlen)
{
	const char *dev = t->c.corp_dev;
	if (g->uplink && strcmp(dev, g->uplink) == 0) {
		hnv_seterr(err, errlen, "corp device %s is the provider uplink", dev);
		return -EBUSY;
	}
	const struct hnv_rtnl_link *l = gw_link_by_name(g, dev);
	if (!l || l->master == 0)
		return 0;
	/* its master, by name: this tenant's VRF may not be created yet in
	 * this run (a restart finds the device already in it) */
	const struct hnv_rtnl_link *m = link_by_ifindex(g, l->master);
	const char *master = m ? m->name : NULL;
	if (master && strcmp(master, t->vrf) == 0)
		return 0;
	for (unsigned i = 0; master && g->d && i < g->d->n_gw; i++)
		if (strcmp(g->d->gw[i].vrf, master) == 0) {
			hnv_seterr(err, errlen,
				   "corp device %s is in VRF %s of routing domain \"%s\"", dev,
				   master, g->d->gw[i].c.rdomain);
			return -EBUSY;
		}
	hnv_seterr(err, errlen, "corp device %s already has a master device (%s)", dev,
		   master ? master : "another device");
	return -EBUSY;
}

/* Whether ifindex had addr when this apply began (g->addrs). */
static bool has_addr(const struct hnv_gw *g, int ifindex, const struct hnv_ip *addr)
{
	for (size_t i = addrs_of(g, ifindex); i < g->n_addrs && g->addrs[i].ifindex == ifindex; i++)
		if (hnv_ip_eq(&g->addrs[i].addr, addr))
			return true;
	return false;
}

/* The corp address was just added (this member took the tenant over, or
 * it is new): neighbours that cached another member's MAC for it learn
 * ours now (gateway/garp.h). A failure is logged; the neighbours then
 * learn it when their entry goes stale. */
static void announce_corp_addr(const struct tenant *t, int ifindex)
{
	char err[ERR_LEN];
	char a[INET6_ADDRSTRLEN];
	int n = hnv_garp_announce(t->c.corp_dev, ifindex, &t->c.corp_addr.addr, err, sizeof(err));
	hnv_fmt_ip(&t->c.corp_addr.addr, a, sizeof(a));
	if (n < 0)
		hnv_log(HNV_LOG_WARNING, "gateway %s: %s", t->c.rdomain, err);
	else if (n > 0)
		hnv_log(HNV_LOG_INFO, "gateway %s: announced %s on %s (%s)", t->c.rdomain, a,
			t->c.corp_dev,
			hnv_ip_is_v4(&t->c.corp_addr.addr) ? "gratuitous ARP" : "unsolicited NA");
}

static int apply_tenant(struct hnv_gw *g, struct tenant *t, char *err, size_t errlen)
{
	int rc = t->c.corp_dev[0] ? corp_dev_free(g, t, err, errlen) : 0;
	if (rc == 0)
		rc = ensure_vrf(g, t, err, errlen);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < t->n_ports; i++) {
		struct gw_port *p = &t->ports[i];
		int ifindex;
		if ((rc = enslave(g, t, p->name, err, errlen, &ifindex)) < 0)
			return rc;
		if ((rc = port_mac(g, p, err, errlen)) < 0)
			return rc;
		if ((rc = gw_sync_addrs(g, ifindex, p->name, p->ca, p->plen, p->n, err, errlen)) <
		    0)
			return rc;
	}
	if (t->c.corp_dev[0]) {
		int ifindex;
		if ((rc = enslave(g, t, t->c.corp_dev, err, errlen, &ifindex)) < 0)
			return rc;
		t->corp_ifindex = ifindex;
		if (t->c.has_corp_addr) {
			unsigned plen = t->c.corp_addr.len;
			bool had = has_addr(g, ifindex, &t->c.corp_addr.addr);
			if ((rc = gw_sync_addrs(g, ifindex, t->c.corp_dev, &t->c.corp_addr.addr,
						&plen, 1, err, errlen)) < 0)
				return rc;
			if (!had)
				announce_corp_addr(t, ifindex);
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

static bool wanted_dev(const struct desired *d, const char *name)
{
	for (unsigned i = 0; i < d->n_gw; i++)
		if (strcmp(d->gw[i].c.corp_dev, name) == 0)
			return true;
	for (unsigned i = 0; i < d->n_conns; i++)
		if (strcmp(d->conns[i].dev, name) == 0)
			return true;
	return false;
}

/* The addresses hnvgw gave the devices of a VRF it is about to delete (a
 * corp device: its addresses are exactly the tenant's, gw_sync_addrs), so
 * that a member that no longer holds a tenant stops answering ARP for its
 * floating corp address. A device this apply gave to another tenant is
 * left alone. */
static void release_slaves(struct hnv_gw *g, const struct desired *d, int vrf_ifindex)
{
	char err[ERR_LEN];
	for (size_t i = 0; i < g->n_links; i++) {
		const struct hnv_rtnl_link *l = &g->links[i];
		if (l->master != vrf_ifindex || is_gateway_port_name(l->name) ||
		    wanted_dev(d, l->name))
			continue;
		if (gw_sync_addrs(g, l->ifindex, l->name, NULL, NULL, 0, err, sizeof(err)) < 0)
			hnv_log(HNV_LOG_ERR, "gateway: %s", err);
	}
}

/* Deletes owned VRFs and gateway ports the model no longer has, together
 * (gw_del_links). */
static void remove_stale(struct hnv_gw *g, const struct desired *d)
{
	struct gw_del *del = calloc(g->n_links + 1, sizeof(*del));
	size_t n = 0;
	if (del == NULL) {
		hnv_log(HNV_LOG_ERR,
			"gateway: out of memory deleting what is no longer configured");
		return;
	}
	for (size_t i = 0; i < g->n_links; i++) {
		const struct hnv_rtnl_link *l = &g->links[i];
		bool vrf = strcmp(l->kind, "vrf") == 0 &&
			   strncmp(l->name, HNV_RTNL_VRF_PREFIX, strlen(HNV_RTNL_VRF_PREFIX)) == 0;
		bool port = strcmp(l->kind, "tun") == 0 && is_gateway_port_name(l->name);
		if ((vrf && !wanted_vrf(d, l->name)) || (port && !wanted_port(d, l->name))) {
			if (vrf)
				release_slaves(g, d, l->ifindex);
			del[n++] =
				(struct gw_del){l->ifindex, l->name, vrf ? "VRF" : "gateway port"};
		}
	}
	gw_del_links(g, del, n);
	free(del);
}

static void set_forwarding(void)
{
	static const char *const files[] = {"/proc/sys/net/ipv4/ip_forward",
					    "/proc/sys/net/ipv6/conf/all/forwarding"};
	for (size_t i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "r+e");
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
 * too often, a device busy) marks its tenant for a retry on the timer.
 * Logs one line with the time each phase took (docs/gateway.md, Scale). */
static int apply_desired(struct hnv_gw *g, struct desired *d)
{
	char err[ERR_LEN];
	int bad = 0;
	int64_t ms[10];
	ms[0] = hnv_mono_ms();
	g->retry = false;
	if (load_links(g, err, sizeof(err)) < 0 || load_addrs(g, err, sizeof(err)) < 0) {
		hnv_log(HNV_LOG_ERR, "gateway: %s", err);
		g->retry = d->n_gw > 0;
		return (int)d->n_gw;
	}
	ms[1] = hnv_mono_ms();
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
	ms[2] = hnv_mono_ms();
	if (load_links(g, err, sizeof(err)) < 0) /* ifindexes of what was created */
		hnv_log(HNV_LOG_ERR, "gateway: %s", err);
	load_shaping(g);
	ms[3] = hnv_mono_ms();
	gw_assign_if_ids(d);
	gw_apply_s2s_links(g, d);
	ms[4] = hnv_mono_ms();
	gw_assign_conns(d);
	gw_apply_conns(g, d);
	ms[5] = hnv_mono_ms();
	/* NAT and routes before charon's loads (a second under TCG for one
	 * tunnel): a tenant taken over from a dead pool member has its
	 * internet and corp paths back without waiting for its tunnels */
	apply_nat(g, d);
	ms[6] = hnv_mono_ms();
	gw_apply_routes(g, d);
	ms[7] = hnv_mono_ms();
	gw_apply_s2s_charon(g, d);
	ms[8] = hnv_mono_ms();
	apply_bgp(g, d, false);
	ms[9] = hnv_mono_ms();
	hnv_log(HNV_LOG_INFO,
		"gateway: applied %u tenants, %u tunnels, %u connections in %lld ms: dumps "
		"%lld, VRFs and ports %lld, reload %lld, XFRM interfaces %lld, connections "
		"%lld, nftables %lld, zebra %lld, charon %lld, bgpd %lld",
		d->n_gw, d->n_s2s, d->n_conns, (long long)(ms[9] - ms[0]),
		(long long)(ms[1] - ms[0]), (long long)(ms[2] - ms[1]), (long long)(ms[3] - ms[2]),
		(long long)(ms[4] - ms[3]), (long long)(ms[5] - ms[4]), (long long)(ms[6] - ms[5]),
		(long long)(ms[7] - ms[6]), (long long)(ms[8] - ms[7]), (long long)(ms[9] - ms[8]));
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

/* Each of d's arrays with room for its count; 0 or -ENOMEM. */
static int alloc_desired(struct desired *d)
{
	d->gw = calloc(d->n_gw ? d->n_gw : 1, sizeof(*d->gw));
	d->vs = calloc(d->n_vs ? d->n_vs : 1, sizeof(*d->vs));
	d->cas = calloc(d->n_cas ? d->n_cas : 1, sizeof(*d->cas));
	d->s2s = calloc(d->n_s2s ? d->n_s2s : 1, sizeof(*d->s2s));
	d->conns = calloc(d->n_conns ? d->n_conns : 1, sizeof(*d->conns));
	d->peers = calloc(d->n_peers ? d->n_peers : 1, sizeof(*d->peers));
	return d->gw && d->vs && d->cas && d->s2s && d->conns && d->peers ? 0 : -ENOMEM;
}

int hnv_gw_apply(struct hnv_gw *g, const struct hnv_gw_desired *in)
{
	if (in->n_tenants > UINT_MAX / 2 || in->n_vsubnets > UINT_MAX / 2 ||
	    in->n_cas > UINT_MAX / 2 || in->n_tunnels > UINT_MAX / 2 ||
	    in->n_conns > UINT_MAX / 2 || in->n_bgp_peers > UINT_MAX / 2) {
		hnv_log(HNV_LOG_ERR, "gateway: desired state too large; kernel state not updated");
		return -E2BIG;
	}
	struct desired *d = calloc(1, sizeof(*d));
	if (d != NULL) {
		d->n_gw = (unsigned)in->n_tenants;
		d->n_vs = (unsigned)in->n_vsubnets;
		d->n_cas = (unsigned)in->n_cas;
		d->n_s2s = (unsigned)in->n_tunnels;
		d->n_conns = (unsigned)in->n_conns;
		d->n_peers = (unsigned)in->n_bgp_peers;
	}
	if (d == NULL || alloc_desired(d) < 0) {
		free_desired(d);
		hnv_log(HNV_LOG_ERR, "gateway: out of memory; kernel state not updated");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < d->n_gw; i++) {
		struct tenant *t = &d->gw[i];
		t->c = in->tenants[i];
		size_t n = strnlen(t->c.vrf, HNV_GW_VRF_NAME_MAX);
		memcpy(t->vrf, HNV_RTNL_VRF_PREFIX, 3);
		memcpy(t->vrf + 3, t->c.vrf, n);
		t->vrf[3 + n] = 0;
	}
	if (d->n_vs)
		memcpy(d->vs, in->vsubnets, d->n_vs * sizeof(d->vs[0]));
	if (d->n_cas)
		memcpy(d->cas, in->cas, d->n_cas * sizeof(d->cas[0]));
	for (unsigned i = 0; i < d->n_s2s; i++)
		d->s2s[i].c = in->tunnels[i];
	for (unsigned i = 0; i < d->n_conns; i++)
		d->conns[i].c = in->conns[i];
	if (d->n_peers)
		memcpy(d->peers, in->bgp_peers, d->n_peers * sizeof(d->peers[0]));
	build_ports(d);
	if (d->n_gw)
		set_forwarding();
	gw_carry_conns(d, g->d);
	free_desired(g->d);
	g->d = d;
	return apply_desired(g, d);
}

void hnv_gw_errors(const struct hnv_gw *g, hnv_gw_error_fn fn, void *arg)
{
	const struct desired *d = g ? g->d : NULL;
	for (unsigned i = 0; d && i < d->n_gw; i++)
		if (d->gw[i].err[0])
			fn(arg, "gateway", d->gw[i].c.rdomain, d->gw[i].c.rdomain, d->gw[i].err);
	for (unsigned i = 0; d && i < d->n_s2s; i++)
		if (d->s2s[i].err[0])
			fn(arg, "s2s", d->s2s[i].c.name, d->s2s[i].c.rdomain, d->s2s[i].err);
	for (unsigned i = 0; d && i < d->n_conns; i++)
		if (d->conns[i].err[0])
			fn(arg, d->conns[i].c.type == HNV_GW_CONN_GRE ? "gre" : "l3",
			   d->conns[i].c.name, d->conns[i].c.rdomain, d->conns[i].err);
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
		struct hnv_buf ports = {0};
		for (unsigned k = 0; k < t->n_ports; k++)
			hnv_buf_printf(&ports, "%s%s", k ? "," : "", t->ports[k].name);
		json_object_object_add(r, "ports", json_object_new_string(ports.p ? ports.p : ""));
		hnv_buf_free(&ports, false);
		json_object_object_add(r, "corp", json_object_new_string(t->c.corp_dev));
		struct hnv_buf conns = {0};
		for (unsigned k = 0; k < d->n_conns; k++)
			if (d->conns[k].tenant == (int)i)
				hnv_buf_printf(&conns, "%s%s", conns.len ? "," : "",
					       d->conns[k].dev);
		json_object_object_add(r, "connections",
				       json_object_new_string(conns.len ? conns.p : "-"));
		hnv_buf_free(&conns, false);
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
	const char *ifs[GW_PORTS_MAX + 2 + GW_TENANT_TUNNELS_MAX + GW_TENANT_CONNS_MAX];
	struct hnv_prefix prefixes[TS_MAX];
	struct hnv_nat_netmap *netmaps;
};

static void nat_bufs_free(struct nat_bufs *b, unsigned n)
{
	for (unsigned i = 0; b && i < n; i++)
		free(b[i].netmaps);
	free(b);
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
	n->n_prefixes = gw_tenant_prefixes(d, t, b->prefixes);
	if (t->c.corp_dev[0]) {
		b->ifs[n->n_ifs++] = t->c.corp_dev;
		n->ext_if = t->c.corp_dev;
	}
	if (t->c.has_nat_external && t->c.corp_dev[0]) {
		n->has_ext_addr = true;
		n->ext_addr = t->c.nat_external;
	}
	for (unsigned i = 0; i < d->n_conns; i++)
		if (d->conns[i].tenant >= 0 && &d->gw[d->conns[i].tenant] == t &&
		    n->n_ifs < sizeof(b->ifs) / sizeof(b->ifs[0]))
			b->ifs[n->n_ifs++] = d->conns[i].dev;
	size_t n_nm = 0;
	for (unsigned i = 0; i < d->n_s2s; i++)
		if (d->s2s[i].tenant >= 0 && &d->gw[d->s2s[i].tenant] == t &&
		    n->n_ifs < sizeof(b->ifs) / sizeof(b->ifs[0])) {
			b->ifs[n->n_ifs++] = d->s2s[i].xfrm;
			n_nm += d->s2s[i].c.n_local_netmap + d->s2s[i].c.n_remote_netmap;
		}
	if (n_nm && (b->netmaps = calloc(n_nm, sizeof(*b->netmaps))) != NULL) {
		n->netmaps = b->netmaps;
		for (unsigned i = 0; i < d->n_s2s; i++)
			if (d->s2s[i].tenant >= 0 && &d->gw[d->s2s[i].tenant] == t)
				n->n_netmaps +=
					gw_tunnel_netmaps(&d->s2s[i], b->netmaps + n->n_netmaps);
	}
}

static void apply_nat(struct hnv_gw *g, struct desired *d)
{
	char err[ERR_LEN];
	uint32_t *tables = calloc(d->n_gw + 1, sizeof(*tables));
	uint16_t *zones = calloc(d->n_gw + 1, sizeof(*zones));
	if (!tables || !zones) {
		free(tables);
		free(zones);
		hnv_log(HNV_LOG_ERR, "gateway: conntrack zones: out of memory");
		return;
	}
	for (unsigned i = 0; i < d->n_gw; i++)
		tables[i] = d->gw[i].c.table;
	int zrc = hnv_nat_zones(tables, d->n_gw, zones, err, sizeof(err));
	free(tables);
	if (zrc < 0) {
		free(zones);
		hnv_log(HNV_LOG_ERR, "gateway: conntrack zones: %s", err);
		return;
	}
	struct hnv_nat_tenant *nt = calloc(d->n_gw + 1, sizeof(*nt));
	struct nat_bufs *bufs = calloc(d->n_gw + 1, sizeof(*bufs));
	if (!nt || !bufs) {
		free(nt);
		free(bufs);
		free(zones);
		hnv_log(HNV_LOG_ERR, "gateway: NAT: out of memory");
		return;
	}
	for (unsigned i = 0; i < d->n_gw; i++) {
		d->gw[i].zone = zones[i];
		nat_tenant(d, &d->gw[i], &bufs[i], &nt[i]);
	}
	free(zones);
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

static void nat_row(const char *tenant, const struct hnv_ct *ct, void *arg)
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
	json_object_object_add(r, "translated_dst", json_object_new_string(ct->dnat ? dst : "-"));
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

/* ---- bgpd: one instance per tenant VRF ---- */

static long read_pid(const char *path)
{
	FILE *f = fopen(path, "re");
	long pid = 0;
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}

struct bgp_bufs {
	struct hnv_bgp_neighbor *nb; /* malloc'd: the --bgp-peer and the named peers */
	struct hnv_prefix nets[TS_MAX];
};

/* The BGP tenants of d; their arrays point into d and bb (bb[i].nb
 * malloc'd, freed by the caller). -ENOMEM, or how many. */
static long bgp_tenants(const struct desired *d, struct hnv_bgp_tenant *bt, struct bgp_bufs *bb)
{
	size_t n = 0;
	for (unsigned i = 0; i < d->n_gw; i++) {
		const struct tenant *t = &d->gw[i];
		if (!t->c.bgp_asn)
			continue;
		struct hnv_bgp_tenant *b = &bt[n];
		struct bgp_bufs *u = &bb[n++];
		memset(b, 0, sizeof(*b));
		u->nb = calloc(d->n_peers + 1, sizeof(*u->nb));
		if (u->nb == NULL)
			return -ENOMEM;
		size_t k = 0;
		if (!hnv_ip_is_unspec(&t->c.bgp_peer)) {
			u->nb[k].addr = t->c.bgp_peer;
			u->nb[k++].remote_as = t->c.bgp_peer_asn;
		}
		for (unsigned j = 0; j < d->n_peers; j++) {
			const struct hnv_gw_bgp_peer *p = &d->peers[j];
			if (strcmp(p->rdomain, t->c.rdomain) != 0)
				continue;
			struct hnv_bgp_neighbor *nb = &u->nb[k++];
			nb->addr = p->addr;
			nb->remote_as = p->asn;
			nb->name = p->name;
			nb->in = p->in;
			nb->n_in = p->n_in;
			nb->out = p->out;
			nb->n_out = p->n_out;
			nb->out_own = p->n_out == 0;
			nb->source = p->has_source ? &p->source : NULL;
		}
		b->vrf = t->c.vrf;
		b->local_as = t->c.bgp_asn;
		b->graceful_restart = true;
		b->neighbors = u->nb;
		b->n_neighbors = k;
		b->networks = u->nets;
		b->n_networks = gw_tenant_prefixes(d, t, u->nets);
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
	long nt = bgp_tenants(d, bt, bb);
	if (nt < 0) {
		hnv_log(HNV_LOG_ERR, "gateway: BGP: out of memory");
		goto out;
	}
	size_t n = (size_t)nt;
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
	for (unsigned i = 0; bb && i < d->n_gw + 1; i++)
		free(bb[i].nb);
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
