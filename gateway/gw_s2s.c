/* gw_s2s.c: the gateway's S2S tunnels: an XFRM interface per tunnel in
 * its tenant's VRF, NETMAP steering, the connections in charon (vpn/s2s.h);
 * for gw.c (see gw_int.h). */
#include "gw_int.h"

#include "../lib/addr.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/vec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

bool gw_remote_mapped(const struct hnv_s2s_conf *c, const struct hnv_prefix *p)
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
	const struct hnv_s2s_conf *c = &tu->c;
	size_t n = 0;
	for (unsigned k = 0; k < c->n_local_netmap && n < TS_MAX; k++)
		out[n++] = c->local_netmap[k].mapped;
	struct hnv_prefix own[TS_MAX];
	size_t n_own = gw_tenant_prefixes(d, &d->gw[tu->tenant], own);
	for (size_t i = 0; i < n_own && n < TS_MAX; i++) {
		bool mapped = false;
		for (unsigned k = 0; k < c->n_local_netmap; k++)
			mapped |= prefixes_overlap(&c->local_netmap[k].real, &own[i]);
		if (!mapped)
			out[n++] = own[i];
	}
	return n;
}

size_t gw_tunnel_netmaps(const struct tunnel *tu, struct hnv_nat_netmap *out)
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
/* ---- S2S tunnels: XFRM interfaces, charon connections, routes ---- */

/* A stable if_id per tunnel name (FNV-1a), unique among the tunnels:
 * collisions probe upwards. Range 0x100..0xfffff (xf-<decimal> fits). */
void gw_assign_if_ids(struct desired *d)
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
		hnv_seterr(err, errlen, "routing domain %s has no gateway", tu->c.rdomain);
		return -ENOENT;
	}
	struct tenant *t = &d->gw[tu->tenant];
	if (t->err[0] || !t->vrf_ifindex) {
		hnv_seterr(err, errlen, "the gateway of %s is not ready", t->c.rdomain);
		return -EAGAIN;
	}
	const struct hnv_rtnl_link *l = gw_link_by_name(g, tu->xfrm);
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
	struct hnv_rtnl_rule r[NETMAP_RULES_MAX];
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
			wanted = tu->ifindex && tu->c.n_remote_netmap &&
				 r->fwmark == netmap_mark(tu) && r->table == netmap_mark(tu) &&
				 r->fwmask == 0xffffffffu;
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

void gw_apply_s2s_links(struct hnv_gw *g, struct desired *d)
{
	char err[ERR_LEN];
	for (unsigned i = 0; i < d->n_s2s; i++) {
		struct tunnel *tu = &d->s2s[i];
		tu->err[0] = 0;
		if (ensure_xfrm(g, d, tu, err, sizeof(err)) < 0) {
			tu->ifindex = 0;
			memcpy(tu->err, err, sizeof(tu->err)); /* for hnv_gw_errors */
			hnv_log(HNV_LOG_ERR, "s2s %s: %s", tu->c.name, err);
		} else if (gw_apply_rates(g, tu->ifindex, tu->xfrm, tu->c.rate_out, tu->c.rate_in,
					  &tu->applied_in, &tu->applied_in_ifindex, err,
					  sizeof(err)) < 0) {
			/* the tunnel is loaded all the same; the commit and show
			 * say that its limits are not in force, and the timer
			 * tries again */
			memcpy(tu->err, err, sizeof(tu->err));
			hnv_log(HNV_LOG_ERR, "s2s %s: %s", tu->c.name, err);
			g->retry = true;
		}
	}
	/* stale XFRM interfaces, deleted together (gw_del_links) */
	struct gw_del *del = calloc(g->n_links + 1, sizeof(*del));
	size_t n_del = 0;
	for (size_t i = 0; del && i < g->n_links; i++) {
		const struct hnv_rtnl_link *l = &g->links[i];
		if (strcmp(l->kind, "xfrm") == 0 &&
		    strncmp(l->name, HNV_RTNL_XFRM_PREFIX, strlen(HNV_RTNL_XFRM_PREFIX)) == 0 &&
		    !wanted_xfrm(d, l->name))
			del[n_del++] = (struct gw_del){l->ifindex, l->name, "XFRM interface"};
	}
	if (del == NULL)
		hnv_log(HNV_LOG_ERR, "s2s: out of memory deleting stale XFRM interfaces");
	gw_del_links(g, del, n_del);
	free(del);
	apply_netmap_steering(g, d);
	gw_s2s_addrs_add(g, d);
}

void gw_apply_s2s_charon(struct hnv_gw *g, struct desired *d)
{
	if (!g->vici || (!d->n_s2s && !g->s2s)) {
		gw_s2s_addrs_prune(g, d);
		return;
	}
	if (!g->s2s) {
		/* watch: events for the counters and charon's log for the
		 * reason column of show s2s */
		struct hnv_s2s_opts o = {.vici_path = g->vici, .log = s2s_log, .watch = true};
		int rc = hnv_s2s_create(&o, &g->s2s);
		if (rc < 0) {
			hnv_log(HNV_LOG_ERR, "s2s: cannot start the charon client: %s",
				strerror(-rc));
			gw_s2s_addrs_prune(g, d);
			return;
		}
	}
	struct hnv_s2s_spec *sp = calloc(d->n_s2s + 1, sizeof(*sp));
	struct hnv_prefix(*ts)[TS_MAX] = calloc(d->n_s2s + 1, sizeof(*ts));
	if (!sp || !ts) {
		free(sp);
		free(ts);
		gw_s2s_addrs_prune(g, d);
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
	/* after charon unloaded the tunnels that went (and their SAs) */
	gw_s2s_addrs_prune(g, d);
}

int gw_s2s_src_fd(void *arg, short *events)
{
	const struct hnv_gw *g = arg;
	*events = POLLIN;
	return g->s2s ? hnv_s2s_fd(g->s2s) : -1;
}

int gw_s2s_src_timeout(void *arg)
{
	return ((const struct hnv_gw *)arg)->s2s ? 1000 : -1;
}

void gw_s2s_src_run(void *arg, short revents)
{
	struct hnv_gw *g = arg;
	if (!g->s2s)
		return;
	/* events, then the tick (reconnect, audit) even when there were
	 * events: with 1,000 tunnels charon logs more than once a second,
	 * and a tick only on the timer never ran */
	hnv_s2s_run(g->s2s, revents);
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
		char peer[HNV_S2S_HOST_MAX + 1];
		hnv_s2s_peer_str(&tu->c, peer, sizeof(peer));
		json_object_object_add(r, "name", json_object_new_string(tu->c.name));
		json_object_object_add(r, "rdomain", json_object_new_string(tu->c.rdomain));
		json_object_object_add(r, "peer", json_object_new_string(peer));
		json_object_object_add(r, "interface", json_object_new_string(tu->xfrm));
		json_object_object_add(r, "if_id", json_object_new_int64(tu->if_id));
		struct hnv_buf nm = {0};
		for (unsigned k = 0; k < tu->c.n_local_netmap + tu->c.n_remote_netmap; k++) {
			bool rem = k >= tu->c.n_local_netmap;
			const struct hnv_s2s_map *m =
				rem ? &tu->c.remote_netmap[k - tu->c.n_local_netmap]
				    : &tu->c.local_netmap[k];
			char a[48], b[48];
			hnv_fmt_prefix(&m->real, a, sizeof(a));
			hnv_fmt_prefix(&m->mapped, b, sizeof(b));
			/* local: ours as the site sees it; remote: the site's as we see it */
			hnv_buf_printf(&nm, "%s%s %s=%s", k ? ", " : "", rem ? "remote" : "local",
				       a, b);
		}
		json_object_object_add(r, "netmap", json_object_new_string(nm.len ? nm.p : "-"));
		/* marked loudly: the tunnel accepts MODP1024, SHA-1 and 3DES */
		json_object_object_add(
			r, "crypto",
			json_object_new_string(tu->c.legacy_crypto ? "legacy-crypto" : "strong"));
		hnv_buf_free(&nm, false);
		char rt[32];
		gw_rate_text(tu->c.rate_out, rt, sizeof(rt));
		json_object_object_add(r, "rate_out", json_object_new_string(rt));
		gw_rate_text(tu->c.rate_in, rt, sizeof(rt));
		json_object_object_add(r, "rate_in", json_object_new_string(rt));
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
		/* why it is not up, when charon said so (hnv_s2s_reason) */
		json_object_object_add(
			r, "reason",
			json_object_new_string(st.reason[0] && strcmp(st.ike_state, "ESTABLISHED")
						       ? st.reason
						       : "-"));
		json_object_array_add(rows, r);
	}
	return rows;
}

int hnv_gw_s2s_ctl(struct hnv_gw *g, const char *name, bool up, char *err, size_t errlen)
{
	if (!g->s2s) {
		hnv_seterr(err, errlen, "no S2S tunnels are configured");
		return -ENOENT;
	}
	int rc = up ? hnv_s2s_up(g->s2s, name) : hnv_s2s_down(g->s2s, name);
	if (rc == -ENOENT)
		hnv_seterr(err, errlen, "no S2S tunnel %s", name);
	else if (rc < 0)
		hnv_seterr(err, errlen, "s2s %s %s: %s", up ? "up" : "down", name, strerror(-rc));
	return rc;
}
