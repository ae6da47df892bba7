/* gw_conn.c: the gateway's GRE and L3 connections: a device per
 * connection in its tenant's VRF, its address and rate limits; for gw.c
 * (see gw_int.h). Their routes are in gw_zebra.c.
 *
 * A GRE tunnel gr-<name> is created without an underlay device, so its
 * outer packets are routed in the default VRF (the main table: the
 * provider side) and arriving GRE packets are matched by their outer
 * addresses and key whatever device they came in on; the inner packets
 * are the VRF's. An L3 connection l3-<name> is VLAN --vlan of --dev: the
 * parent stays where it is (hnvgwd never moves or deletes it), only the
 * sub-interface joins the VRF, so VLANs of one parent can serve different
 * tenants. */
#include "gw_int.h"

#include "../lib/addr.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/vec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw_assign_conns(struct desired *d)
{
	for (unsigned i = 0; i < d->n_conns; i++) {
		struct conn *cn = &d->conns[i];
		bool gre = cn->c.type == HNV_GW_CONN_GRE;
		size_t n = strnlen(cn->c.name, 12);
		memcpy(cn->dev, gre ? HNV_RTNL_GRE_PREFIX : HNV_RTNL_L3_PREFIX, 3);
		memcpy(cn->dev + 3, cn->c.name, n);
		cn->dev[3 + n] = 0;
		cn->tenant = -1;
		for (unsigned k = 0; k < d->n_gw; k++)
			if (strcmp(d->gw[k].c.rdomain, cn->c.rdomain) == 0)
				cn->tenant = (int)k;
	}
}

void gw_carry_conns(struct desired *d, const struct desired *old)
{
	for (unsigned i = 0; old && i < d->n_conns; i++)
		for (unsigned k = 0; k < old->n_conns; k++)
			if (strcmp(old->conns[k].c.name, d->conns[i].c.name) == 0 &&
			    old->conns[k].c.type == d->conns[i].c.type) {
				d->conns[i].applied_in = old->conns[k].applied_in;
				d->conns[i].applied_in_ifindex = old->conns[k].applied_in_ifindex;
				d->conns[i].created_ifindex = old->conns[k].created_ifindex;
				d->conns[i].created_ms = old->conns[k].created_ms;
			}
	for (unsigned i = 0; old && i < d->n_s2s; i++)
		for (unsigned k = 0; k < old->n_s2s; k++)
			if (strcmp(old->s2s[k].c.name, d->s2s[i].c.name) == 0) {
				d->s2s[i].applied_in = old->s2s[k].applied_in;
				d->s2s[i].applied_in_ifindex = old->s2s[k].applied_in_ifindex;
			}
}

static uint32_t ip4_raw(const struct hnv_ip *a)
{
	uint32_t v;
	memcpy(&v, a->b + 12, 4);
	return v;
}

/* l is the device cn asks for (kind, outer addresses and key; parent and
 * VLAN). */
static bool same_device(const struct conn *cn, const struct hnv_rtnl_link *l, int parent)
{
	if (cn->c.type == HNV_GW_CONN_GRE)
		return strcmp(l->kind, "gre") == 0 && l->gre_local == ip4_raw(&cn->c.local) &&
		       l->gre_remote == ip4_raw(&cn->c.remote_addr) &&
		       l->gre_has_key == cn->c.has_key &&
		       (!cn->c.has_key || l->gre_key == cn->c.key);
	return strcmp(l->kind, "vlan") == 0 && l->link == parent && l->vlan_id == cn->c.vlan;
}

/* The parent of an L3 connection: it exists, is not the provider uplink,
 * and is up. Its ifindex into *parent. */
static int l3_parent(struct hnv_gw *g, const struct conn *cn, int *parent, char *err, size_t errlen)
{
	if (g->uplink && strcmp(cn->c.dev, g->uplink) == 0) {
		hnv_seterr(err, errlen,
			   "device %s is the provider uplink (its NVGRE program owns every frame)",
			   cn->c.dev);
		return -EBUSY;
	}
	const struct hnv_rtnl_link *p = gw_link_by_name(g, cn->c.dev);
	if (!p) {
		hnv_seterr(err, errlen, "device %s (the parent of VLAN %u) does not exist",
			   cn->c.dev, cn->c.vlan);
		return -ENODEV;
	}
	*parent = p->ifindex;
	if (p->up)
		return 0;
	hnv_log(HNV_LOG_NOTICE, "l3 %s: %s was down; set up for its VLAN %u", cn->c.name, cn->c.dev,
		cn->c.vlan);
	return hnv_rtnl_set_link(g->nl, p->ifindex, cn->c.dev, -1, 1, NULL, err, errlen);
}

/* The device of cn exists as configured, in its VRF, up; *created when
 * this call made it. */
static int ensure_device(struct hnv_gw *g, const struct tenant *t, struct conn *cn, bool *created,
			 char *err, size_t errlen)
{
	bool gre = cn->c.type == HNV_GW_CONN_GRE;
	int parent = 0, rc;
	if (!gre && (rc = l3_parent(g, cn, &parent, err, errlen)) < 0)
		return rc;
	const struct hnv_rtnl_link *l = gw_link_by_name(g, cn->dev);
	if (l && !same_device(cn, l, parent)) {
		hnv_log(HNV_LOG_NOTICE, "%s %s: %s differs from the configuration: recreating",
			gre ? "gre" : "l3", cn->c.name, cn->dev);
		if ((rc = hnv_rtnl_del_link(g->nl, l->ifindex, cn->dev, err, errlen)) < 0)
			return rc;
		l = NULL;
	}
	struct hnv_rtnl_link got;
	if (!l) {
		rc = gre ? hnv_rtnl_add_gre(g->nl, cn->dev, &cn->c.local, &cn->c.remote_addr,
					    cn->c.has_key, cn->c.key, err, errlen)
			 : hnv_rtnl_add_vlan(g->nl, cn->dev, parent, cn->c.dev,
					     (uint16_t)cn->c.vlan, err, errlen);
		if (rc < 0 || (rc = hnv_rtnl_link_get(g->nl, cn->dev, &got, err, errlen)) < 0)
			return rc;
		l = &got;
		*created = true;
		hnv_log(HNV_LOG_INFO, "%s %s: created %s in %s", gre ? "gre" : "l3", cn->c.name,
			cn->dev, t->vrf);
	}
	cn->ifindex = l->ifindex;
	if (l->master == t->vrf_ifindex && l->up)
		return 0;
	return hnv_rtnl_set_link(g->nl, l->ifindex, cn->dev,
				 l->master == t->vrf_ifindex ? -1 : t->vrf_ifindex, 1, NULL, err,
				 errlen);
}

int gw_apply_rates(struct hnv_gw *g, int ifindex, const char *dev, uint32_t rate_out,
		   uint32_t rate_in, uint32_t *applied_in, int *applied_ifindex, char *err,
		   size_t errlen)
{
	struct hnv_rtnl_shaping s = {0};
	int rc = 0;
	if (g->shaping_ok) {
		/* this apply's dump (each device is rated once per apply); a
		 * device made since has the kernel's defaults */
		const struct hnv_rtnl_dev_shaping *e =
			hnv_rtnl_shaping_find(g->shaping, g->n_shaping, ifindex);
		if (e)
			s = e->s;
	} else if ((rc = hnv_rtnl_shaping_get(g->nl, ifindex, &s, err, errlen)) < 0) {
		return rc;
	}
	uint64_t want_out = (uint64_t)rate_out * 1000u / 8u;
	if (rate_out ? s.tbf_bytes_per_s != want_out : s.has_root) {
		if ((rc = hnv_rtnl_rate_out(g->nl, ifindex, dev, rate_out, err, errlen)) < 0)
			return rc;
		hnv_log(HNV_LOG_INFO, "%s: rate out %s%u kbit/s", dev,
			rate_out ? "" : "unlimited, was ",
			rate_out ? rate_out : (unsigned)(s.tbf_bytes_per_s * 8 / 1000));
	}
	bool in_ok =
		rate_in ? s.has_ingress && *applied_in == rate_in && *applied_ifindex == ifindex
			: !s.has_ingress;
	if (!in_ok) {
		*applied_in = 0;
		if ((rc = hnv_rtnl_rate_in(g->nl, ifindex, dev, rate_in, err, errlen)) < 0)
			return rc;
		*applied_in = rate_in;
		*applied_ifindex = ifindex;
		if (rate_in)
			hnv_log(HNV_LOG_INFO, "%s: rate in %u kbit/s", dev, rate_in);
		else
			hnv_log(HNV_LOG_INFO, "%s: rate in unlimited", dev);
	}
	return 0;
}

#define CONN_ZEBRA_WAIT_MS 10000

/* cn's device is one this hnvgwd created less than CONN_ZEBRA_WAIT_MS
 * ago, and zebra, connected, has not reported it yet. After that time
 * (a zebra that never reports it) the address goes on anyway. */
static bool zebra_lacks_link(const struct hnv_gw *g, const struct conn *cn)
{
	if (!g->zapi || cn->created_ifindex != cn->ifindex ||
	    hnv_mono_ms() - cn->created_ms >= CONN_ZEBRA_WAIT_MS)
		return false;
	uint32_t ifindex;
	if (hnv_zapi_conn_state(g->zapi) != HNV_ZAPI_CONNECTED ||
	    (hnv_zapi_if_lookup(g->zapi, NULL, cn->dev, &ifindex, NULL) == 0 &&
	     ifindex == (uint32_t)cn->ifindex))
		return false;
	hnv_log(HNV_LOG_INFO, "%s: its address waits for zebra to report the link", cn->dev);
	return true;
}

static int apply_conn(struct hnv_gw *g, struct desired *d, struct conn *cn, char *err,
		      size_t errlen)
{
	if (cn->tenant < 0) {
		hnv_seterr(err, errlen, "routing domain %s has no gateway", cn->c.rdomain);
		return -ENOENT;
	}
	const struct tenant *t = &d->gw[cn->tenant];
	if (t->err[0] || !t->vrf_ifindex) {
		hnv_seterr(err, errlen, "the gateway of %s is not ready", t->c.rdomain);
		return -EAGAIN;
	}
	bool created = false;
	int rc = ensure_device(g, t, cn, &created, err, errlen);
	if (rc < 0)
		cn->ifindex = 0;
	unsigned plen = cn->c.addr.len;
	/* A device made just now gets its address once zebra has reported
	 * the link: FRR 8.4's zebra reads addresses and links on different
	 * netlink sockets and drops an address of a link it has not seen yet
	 * (FRRouting/frr#13288), so it never knew the connection's subnet,
	 * and bgpd never connected to a peer on it ("Waiting for NHT"; the
	 * connections lab, BGP over GRE). The retry timer asks again. */
	if (rc == 0 && created) {
		cn->created_ifindex = cn->ifindex;
		cn->created_ms = hnv_mono_ms();
		g->retry = true;
	} else if (rc == 0 && zebra_lacks_link(g, cn)) {
		g->retry = true;
	} else if (rc == 0) {
		rc = gw_sync_addrs(g, cn->ifindex, cn->dev, &cn->c.addr.addr, &plen, 1, err,
				   errlen);
	}
	if (rc == 0)
		rc = gw_apply_rates(g, cn->ifindex, cn->dev, cn->c.rate_out, cn->c.rate_in,
				    &cn->applied_in, &cn->applied_in_ifindex, err, errlen);
	return rc;
}

static bool wanted_dev(const struct desired *d, const char *name)
{
	for (unsigned i = 0; i < d->n_conns; i++)
		if (strcmp(d->conns[i].dev, name) == 0)
			return true;
	return false;
}

static bool has_prefix(const char *name, const char *prefix)
{
	return strncmp(name, prefix, strlen(prefix)) == 0;
}

void gw_apply_conns(struct hnv_gw *g, struct desired *d)
{
	char err[ERR_LEN];
	for (unsigned i = 0; i < d->n_conns; i++) {
		struct conn *cn = &d->conns[i];
		cn->err[0] = 0;
		cn->ifindex = 0;
		if (apply_conn(g, d, cn, err, sizeof(err)) < 0) {
			memcpy(cn->err, err, sizeof(cn->err));
			hnv_log(HNV_LOG_ERR, "%s %s: %s",
				cn->c.type == HNV_GW_CONN_GRE ? "gre" : "l3", cn->c.name, err);
			g->retry = true;
		}
	}
	/* ours: gr-* of kind gre, l3-* of kind vlan */
	for (size_t i = 0; i < g->n_links; i++) {
		const struct hnv_rtnl_link *l = &g->links[i];
		bool mine =
			(strcmp(l->kind, "gre") == 0 && has_prefix(l->name, HNV_RTNL_GRE_PREFIX)) ||
			(strcmp(l->kind, "vlan") == 0 && has_prefix(l->name, HNV_RTNL_L3_PREFIX));
		if (!mine || wanted_dev(d, l->name))
			continue;
		if (hnv_rtnl_del_link(g->nl, l->ifindex, l->name, err, sizeof(err)) < 0)
			hnv_log(HNV_LOG_ERR, "gateway: %s", err);
		else
			hnv_log(HNV_LOG_INFO, "gateway: deleted %s, no longer configured", l->name);
	}
}

void gw_rate_text(uint32_t kbit, char *buf, size_t len)
{
	if (kbit == 0)
		snprintf(buf, len, "unlimited");
	else
		snprintf(buf, len, "%u kbit/s", kbit);
}

json_object *hnv_gw_show_conns(const struct hnv_gw *g)
{
	json_object *rows = json_object_new_array();
	const struct desired *d = g ? g->d : NULL;
	for (unsigned i = 0; d && i < d->n_conns; i++) {
		const struct conn *cn = &d->conns[i];
		bool gre = cn->c.type == HNV_GW_CONN_GRE;
		json_object *r = json_object_new_object();
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], t[160];
		json_object_object_add(r, "name", json_object_new_string(cn->c.name));
		json_object_object_add(r, "type", json_object_new_string(gre ? "gre" : "l3"));
		json_object_object_add(r, "rdomain", json_object_new_string(cn->c.rdomain));
		json_object_object_add(r, "device", json_object_new_string(cn->dev));
		json_object_object_add(
			r, "vrf",
			json_object_new_string(cn->tenant >= 0 ? d->gw[cn->tenant].vrf : "-"));
		if (gre) {
			hnv_fmt_ip(&cn->c.local, a, sizeof(a));
			hnv_fmt_ip(&cn->c.remote_addr, b, sizeof(b));
			int n = snprintf(t, sizeof(t), "%s -> %s", a, b);
			if (cn->c.has_key && n > 0 && (size_t)n < sizeof(t))
				snprintf(t + n, sizeof(t) - (size_t)n, " key %u", cn->c.key);
		} else {
			snprintf(t, sizeof(t), "%s vlan %u", cn->c.dev, cn->c.vlan);
		}
		json_object_object_add(r, "underlay", json_object_new_string(t));
		hnv_fmt_prefix(&cn->c.addr, t, sizeof(t));
		hnv_fmt_ip(&cn->c.addr.addr, a, sizeof(a));
		snprintf(t, sizeof(t), "%s/%u", a, cn->c.addr.len);
		json_object_object_add(r, "addr", json_object_new_string(t));
		struct hnv_buf routes = {0};
		for (unsigned k = 0; k < cn->c.n_remote; k++) {
			hnv_fmt_prefix(&cn->c.remote[k], b, sizeof(b));
			hnv_buf_printf(&routes, "%s%s", k ? "," : "", b);
		}
		if (!gre) {
			hnv_fmt_ip(&cn->c.nexthop, a, sizeof(a));
			hnv_buf_printf(&routes, "%s via %s", cn->c.n_remote ? "" : "default", a);
		}
		json_object_object_add(r, "routes",
				       json_object_new_string(routes.len ? routes.p : "-"));
		hnv_buf_free(&routes, false);
		gw_rate_text(cn->c.rate_out, t, sizeof(t));
		json_object_object_add(r, "rate_out", json_object_new_string(t));
		gw_rate_text(cn->c.rate_in, t, sizeof(t));
		json_object_object_add(r, "rate_in", json_object_new_string(t));
		json_object_object_add(r, "state",
				       json_object_new_string(cn->err[0] ? cn->err : "ok"));
		json_object_array_add(rows, r);
	}
	return rows;
}
