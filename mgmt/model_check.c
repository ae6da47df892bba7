/* model_check.c: the checks a transaction's result must pass (model_int.h).
 *
 * A replay of the result into a fresh datapath (hnv_conf_batch_*, what
 * validation used to be) applies every entry in replay order and stops at
 * the first refusal. The checks here reach the same verdict, with the same
 * message, from the model's own indexes, and look only at
 *   - the entries the transaction added or replaced;
 *   - the base entries a change concerns: the other lookup records of a
 *     (VSID, CA) a replaced record now holds; every port when the first PA
 *     appears (ports then get lookup records); the ports of a VSID that gets
 *     its first pool (its DHCP server identifier becomes reserved);
 *   - the gateway ports hnv_conf_batch_end adds, when gateway CAs or ports
 *     were added;
 *   - the datapath's global limits: records, interned strings, customer IDs.
 * A check of an entry sees only what a replay applies before it (earlier
 * groups, earlier places in its group); of all refusals, the one a replay
 * meets first is reported. The messages are the applier's (conf_apply*.c) and the policy
 * tables' (datapath/policy.c) as the applier words them.
 *
 * Commands are well-formed (the parser, or cmd_sane in model.c): strings
 * terminated, counts in range, VSIDs valid, record types fitting their CA.
 * What a line refers to at the time of the line (identities, dependents)
 * model.c checked already.
 *
 * Threads: one control thread (model.h).
 */
#include "model_int.h"

#include "conf_conn.h"
#include "conf_rroute.h"

#include "../lib/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_MAX 600

/* The check pass: the view, and the first refusal found so far. */
struct ck {
	struct view v;
	struct hnv_model_txn *t;
	bool has_pa; /* ports make lookup records */
	char msg[MSG_MAX];
	bool found;
	int stage; /* 0: applying entries; 1: hnv_conf_batch_end */
	uint8_t g;
	uint64_t seq;
	int rc;
	unsigned line; /* 0: the message has no line */
};

/* Whether a refusal at (stage, g, seq) comes before the one found. */
static bool ck_earlier(const struct ck *ck, int stage, uint8_t g, uint64_t seq)
{
	if (!ck->found || stage != ck->stage)
		return !ck->found || stage < ck->stage;
	return g != ck->g ? g < ck->g : seq < ck->seq;
}

static bool ck_skip(const struct ck *ck, const struct ent *e)
{
	return !ck_earlier(ck, 0, e->g, e->seq);
}

static void ck_blame(struct ck *ck, int stage, uint8_t g, uint64_t seq, unsigned line, int rc,
		     const char *msg)
{
	if (!ck_earlier(ck, stage, g, seq))
		return;
	ck->found = true;
	ck->stage = stage;
	ck->g = g;
	ck->seq = seq;
	ck->line = line;
	ck->rc = rc;
	snprintf(ck->msg, sizeof(ck->msg), "%s", msg);
}

/* Refusal rc with message msg of entry e. */
static void blame(struct ck *ck, const struct ent *e, int rc, const char *msg)
{
	ck_blame(ck, 0, e->g, e->seq, e->txn ? e->origin : 0, rc, msg);
}

/* ---- what the applier checks with ---- */

static const MEMBER_T(vsubnet) * vsubnet_of(const struct ck *ck, uint32_t vsid)
{
	MEMBER_T(vsubnet) key;
	memset(&key, 0, sizeof(key));
	key.vsid = vsid;
	struct keyb k;
	mdl_key_identity(&key, G_VSUBNET, &k);
	const struct ent *e = mdl_view_find(&ck->v, &k);
	return e ? OBJ(e, vsubnet) : NULL;
}

static bool rdomain_known(const struct ck *ck, const char *name)
{
	MEMBER_T(rdomain) key;
	memset(&key, 0, sizeof(key));
	snprintf(key.name, sizeof(key.name), "%s", name);
	struct keyb k;
	mdl_key_identity(&key, G_RDOMAIN, &k);
	return mdl_view_find(&ck->v, &k) != NULL;
}

static const struct ent *gateway_of(const struct ck *ck, const char *rdomain)
{
	MEMBER_T(gateway) key;
	memset(&key, 0, sizeof(key));
	snprintf(key.rdomain, sizeof(key.rdomain), "%s", rdomain);
	struct keyb k;
	mdl_key_identity(&key, G_GATEWAY, &k);
	return mdl_view_find(&ck->v, &k);
}

/* The first pool of vsid in replay order, or NULL. */
static const MEMBER_T(pool) * first_pool(const struct ck *ck, uint32_t vsid)
{
	struct keyb bk;
	struct lit it;
	mdl_bkey_vsid(vsid, &bk);
	mdl_lit_bucket(&it, &ck->v, &bk, G_POOL);
	const struct ent *e = mdl_lit_next(&it);
	return e ? OBJ(e, pool) : NULL;
}

/* The entry of group g under key k placed before e (seq below `before`)
 * that a replay applies first, or NULL. */
static const struct ent *first_holder(const struct ck *ck, const struct keyb *k, enum group g,
				      uint64_t before)
{
	struct mit it;
	const struct ent *x, *best = NULL;
	for (mdl_mit_init(&it, &ck->v, k); (x = mdl_mit_next(&it)) != NULL;)
		if (x->g == g && x->seq < before && (best == NULL || x->seq < best->seq))
			best = x;
	return best;
}

/* A CA may not be the DHCP server identifier of a VSID with a pool. */
static int check_server_id(const struct ck *ck, const MEMBER_T(vsubnet) * vs,
			   const struct hnv_ip *ca, char *msg)
{
	const MEMBER_T(pool) *pool = first_pool(ck, vs->vsid);
	return conf_check_server_id("port add", vs->vsid, vs->prefixes, vs->n_prefixes,
				    pool ? pool->name : NULL, ca, msg, MSG_MAX);
}

/* ---- the groups ---- */

/* place: the entry's index in its group in the view (limits), or SIZE_MAX
 * for a base entry, which was within them. */

static int check_pa(const struct ent *e, size_t place, char *msg)
{
	if (place == SIZE_MAX || place < LIMIT_PAS)
		return 0;
	char a[INET6_ADDRSTRLEN];
	hnv_fmt_ip(&OBJ(e, pa)->addr.addr, a, sizeof(a));
	hnv_seterr(msg, MSG_MAX, "pa add: provider address %s: table full", a);
	return -ENOSPC;
}

static int check_rdomain(const struct ck *ck, const struct ent *e, size_t place, char *msg)
{
	const MEMBER_T(rdomain) *r = OBJ(e, rdomain);
	char g[40];
	struct keyb k;
	hnv_fmt_guid(&r->rdid, g, sizeof(g));
	mdl_key_rdid(&r->rdid, &k);
	if (first_holder(ck, &k, G_RDOMAIN, e->seq) != NULL) {
		hnv_seterr(msg, MSG_MAX,
			   "rdomain add: rdomain \"%s\" already exists, or RDID %s belongs to "
			   "another rdomain",
			   r->name, g);
		return -EEXIST;
	}
	if (place != SIZE_MAX && place >= LIMIT_RDOMAINS) {
		hnv_seterr(msg, MSG_MAX, "rdomain add: rdomain \"%s\" %s: table full", r->name, g);
		return -ENOSPC;
	}
	return 0;
}

static int check_vsubnet(const struct ck *ck, const struct ent *e, char *msg)
{
	const MEMBER_T(vsubnet) *s = OBJ(e, vsubnet);
	if (rdomain_known(ck, s->rdomain))
		return 0;
	return conf_rdomain_missing("vsubnet add", s->rdomain, msg, MSG_MAX);
}

static int check_pool(const struct ck *ck, const struct ent *e, char *msg)
{
	const MEMBER_T(pool) *s = OBJ(e, pool);
	char f[INET6_ADDRSTRLEN], l[INET6_ADDRSTRLEN];
	hnv_fmt_ip(&s->range.first, f, sizeof(f));
	hnv_fmt_ip(&s->range.last, l, sizeof(l));
	const MEMBER_T(vsubnet) *vs = vsubnet_of(ck, s->vsid);
	if (vs == NULL) {
		hnv_seterr(msg, MSG_MAX,
			   "pool add: pool \"%s\": VSID %u is not configured: a pool needs a VM "
			   "subnet (vsubnet add %u --rdomain NAME --prefix P first)",
			   s->name, s->vsid, s->vsid);
		return -ENOENT;
	}
	int rc = conf_check_pool_place(s, vs->prefixes, vs->n_prefixes, f, l, msg, MSG_MAX);
	if (rc < 0)
		return rc;
	/* the pools of the VSID a replay added before this one */
	unsigned n = 0;
	struct keyb bk;
	struct lit it;
	const struct ent *x;
	mdl_bkey_vsid(s->vsid, &bk);
	for (mdl_lit_bucket(&it, &ck->v, &bk, G_POOL);
	     (x = mdl_lit_next(&it)) && x->seq < e->seq;) {
		n++;
		if ((rc = conf_check_pool_overlap(s, OBJ(x, pool), f, l, msg, MSG_MAX)))
			return rc;
	}
	return conf_check_pool_room(s, n, msg, MSG_MAX);
}

static int check_gateway(const struct ck *ck, const struct ent *e, char *msg)
{
	const MEMBER_T(gateway) *g = OBJ(e, gateway);
	if (!rdomain_known(ck, g->rdomain))
		return conf_rdomain_missing("gateway add", g->rdomain, msg, MSG_MAX);
	/* the first gateway before this one with its VRF or its table */
	struct keyb kv, kt;
	mdl_key_vrf(g->vrf, &kv);
	mdl_key_table(g->table, &kt);
	const struct ent *v = first_holder(ck, &kv, G_GATEWAY, e->seq);
	const struct ent *t = first_holder(ck, &kt, G_GATEWAY, e->seq);
	if (v != NULL && (t == NULL || v->seq <= t->seq))
		return conf_vrf_taken(g->vrf, OBJ(v, gateway)->rdomain, msg, MSG_MAX);
	if (t != NULL)
		return conf_table_taken(g->table, OBJ(t, gateway)->vrf, OBJ(t, gateway)->rdomain,
					msg, MSG_MAX);
	if (!g->corp_dev[0])
		return 0;
	/* a corp network is one tenant's: its device joins that tenant's VRF
	 * (issue 17 finding 4) */
	struct keyb kd;
	mdl_key_devname(g->corp_dev, &kd);
	const struct ent *o = first_holder(ck, &kd, G_GATEWAY, e->seq);
	if (o != NULL) {
		hnv_seterr(msg, MSG_MAX,
			   "gateway add: routing domain \"%s\": corp device %s is already the corp "
			   "device of routing domain \"%s\"",
			   g->rdomain, g->corp_dev, OBJ(o, gateway)->rdomain);
		return -EEXIST;
	}
	return 0;
}

static int check_gateway_ca(const struct ck *ck, const struct ent *e, char *msg)
{
	const MEMBER_T(gateway_ca) *g = OBJ(e, gateway_ca);
	const struct ent *gw = gateway_of(ck, g->rdomain);
	if (gw == NULL)
		return conf_gateway_missing("gateway ca", NULL, g->rdomain, msg, MSG_MAX);
	/* the CA follows its gateway: the same pool, or none for both */
	const char *gp = OBJ(gw, gateway)->pool;
	if (strcmp(gp, g->pool) != 0) {
		if (*gp)
			hnv_seterr(msg, MSG_MAX,
				   "gateway ca: the gateway of routing domain \"%s\" is in pool "
				   "\"%s\": give --pool %s",
				   g->rdomain, gp, gp);
		else
			hnv_seterr(msg, MSG_MAX,
				   "gateway ca: the gateway of routing domain \"%s\" is bound to a "
				   "host, not to pool \"%s\"",
				   g->rdomain, g->pool);
		return -EINVAL;
	}
	const MEMBER_T(vsubnet) *vs = vsubnet_of(ck, g->vsid);
	if (vs == NULL)
		return conf_vsid_missing("gateway ca", g->vsid, msg, MSG_MAX);
	if (strcmp(vs->rdomain, g->rdomain) != 0) {
		hnv_seterr(msg, MSG_MAX,
			   "gateway ca: VSID %u belongs to routing domain \"%s\", not \"%s\"",
			   g->vsid, vs->rdomain, g->rdomain);
		return -EXDEV;
	}
	return conf_check_ca("gateway ca", vs->vsid, vs->prefixes, vs->n_prefixes, &g->ca, msg,
			     MSG_MAX);
}

/* The lookup records a port makes (conftext.h, "port"), when there is a
 * PA: one per CA; a CA an earlier port has is refused, naming the first
 * port that has it (its record's owner). */
static int port_records(const struct ck *ck, const struct ent *e, char *msg)
{
	const MEMBER_T(port) *s = OBJ(e, port);
	for (unsigned i = 0; ck->has_pa && i < s->n_cas; i++) {
		struct keyb k;
		mdl_key_ca(s->vsid, &s->cas[i], &k);
		const struct ent *o = first_holder(ck, &k, G_PORT, e->seq);
		if (o == NULL)
			continue;
		char t[INET6_ADDRSTRLEN];
		hnv_fmt_ip(&s->cas[i], t, sizeof(t));
		hnv_seterr(msg, MSG_MAX,
			   "port add: CA %s of port \"%s\" is already the address of port \"%s\" "
			   "in VSID %u",
			   t, s->name, OBJ(o, port)->name, s->vsid);
		return -EEXIST;
	}
	return 0;
}

static int check_port(const struct ck *ck, const struct ent *e, size_t place, char *msg)
{
	const MEMBER_T(port) *s = OBJ(e, port);
	const MEMBER_T(vsubnet) *vs = vsubnet_of(ck, s->vsid);
	if (vs == NULL)
		return conf_vsid_missing("port add", s->vsid, msg, MSG_MAX);
	for (unsigned i = 0; i < s->n_cas; i++) {
		int rc = conf_check_ca("port add", vs->vsid, vs->prefixes, vs->n_prefixes,
				       &s->cas[i], msg, MSG_MAX);
		if (rc == 0)
			rc = check_server_id(ck, vs, &s->cas[i], msg);
		if (rc < 0)
			return rc;
	}
	struct keyb k;
	mdl_key_mac(s->vsid, &s->mac, &k);
	if (first_holder(ck, &k, G_PORT, e->seq) != NULL) {
		char m[18];
		hnv_fmt_mac(&s->mac, m, sizeof(m));
		hnv_seterr(msg, MSG_MAX,
			   "port add: port \"%s\" already exists, or MAC %s is already a port of "
			   "VSID %u",
			   s->name, m, s->vsid);
		return -EEXIST;
	}
	mdl_key_dev(s, &k);
	const struct ent *o = first_holder(ck, &k, G_PORT, e->seq);
	if (o != NULL) {
		const MEMBER_T(port) *p = OBJ(o, port);
		hnv_seterr(
			msg, MSG_MAX,
			"port add: port \"%s\": device %s is already the device of port \"%s\"%s",
			s->name, s->dev[0] ? s->dev : s->name, p->name,
			p->dev[0] ? "" : " (a TAP hnvgwd creates)");
		return -EEXIST;
	}
	if ((o = first_holder(ck, &k, G_GATEWAY, UINT64_MAX)) != NULL) {
		hnv_seterr(msg, MSG_MAX,
			   "port add: port \"%s\": device %s is the corp device of routing domain "
			   "\"%s\"",
			   s->name, s->dev[0] ? s->dev : s->name, OBJ(o, gateway)->rdomain);
		return -EEXIST;
	}
	if (place != SIZE_MAX && place >= LIMIT_PORTS) {
		hnv_seterr(msg, MSG_MAX, "port add: port \"%s\": table full", s->name);
		return -ENOSPC;
	}
	return port_records(ck, e, msg);
}

/* "VSID N CA a MAC m" */
static void lookup_name(const MEMBER_T(lookup) * s, char a[INET6_ADDRSTRLEN], char *rec,
			size_t reclen)
{
	char m[18];
	hnv_fmt_ip(&s->ca, a, INET6_ADDRSTRLEN);
	hnv_fmt_mac(&s->mac, m, sizeof(m));
	snprintf(rec, reclen, "VSID %u CA %s MAC %s", s->vsid, a, m);
}

/* A record's (VSID, CA) is unique among explicit records; a port's record
 * of the same CA is replaced, never refused. */
static int check_lookup(const struct ck *ck, const struct ent *e, char *msg)
{
	const MEMBER_T(lookup) *s = OBJ(e, lookup);
	const MEMBER_T(vsubnet) *vs = vsubnet_of(ck, s->vsid);
	if (vs == NULL)
		return conf_vsid_missing("lookup add", s->vsid, msg, MSG_MAX);
	if (!hnv_ip_is_unspec(&s->ca) && conf_is_gateway_rec(s, vs->prefixes, vs->n_prefixes)) {
		int rc = conf_check_gw_rec("lookup add", s, msg, MSG_MAX);
		if (rc < 0)
			return rc;
	} else if (!hnv_ip_is_unspec(&s->ca)) {
		int rc = conf_check_ca("lookup add", vs->vsid, vs->prefixes, vs->n_prefixes, &s->ca,
				       msg, MSG_MAX);
		if (rc < 0)
			return rc;
	}
	struct keyb k;
	mdl_key_ca(s->vsid, &s->ca, &k);
	if (!mdl_rec_has_ca(e) || first_holder(ck, &k, G_LOOKUP, e->seq) == NULL)
		return 0;
	char a[INET6_ADDRSTRLEN], rec[96];
	lookup_name(s, a, rec, sizeof(rec));
	hnv_seterr(msg, MSG_MAX,
		   "lookup add: record %s already exists, or another record of VSID %u has CA "
		   "%s%s",
		   rec, s->vsid, a,
		   hnv_ip_is_unspec(&s->ca) ? " (one gateway-wildcard per family)" : "");
	return -EEXIST;
}

static int check_route(const struct ck *ck, const struct ent *e, char *msg)
{
	const MEMBER_T(route) *s = OBJ(e, route);
	const MEMBER_T(vsubnet) *vs = vsubnet_of(ck, s->vsid);
	if (vs == NULL)
		return conf_vsid_missing("route add", s->vsid, msg, MSG_MAX);
	if (!rdomain_known(ck, s->rdomain))
		return conf_rdomain_missing("route add", s->rdomain, msg, MSG_MAX);
	if (strcmp(vs->rdomain, s->rdomain) != 0) {
		hnv_seterr(msg, MSG_MAX,
			   "route add: VSID %u belongs to routing domain \"%s\", not \"%s\"",
			   s->vsid, vs->rdomain, s->rdomain);
		return -EXDEV;
	}
	return 0;
}

/* ---- routes of tunnels and connections (conf_rroute.h) ---- */

static void rroutes_of(const struct ent *e, struct hnv_conf_robj *o, struct hnv_conf_rroutes *r)
{
	if (e->g == G_S2S) {
		*o = (struct hnv_conf_robj){"s2s", OBJ(e, s2s)->name};
		hnv_conf_s2s_rroutes(OBJ(e, s2s), r);
	} else {
		*o = (struct hnv_conf_robj){e->g == G_GRE ? "gre" : "l3", OBJ(e, conn)->name};
		hnv_conf_conn_rroutes(OBJ(e, conn), r);
	}
}

static const char *rdomain_of(const struct ent *e)
{
	return e->g == G_S2S ? OBJ(e, s2s)->rdomain : OBJ(e, conn)->rdomain;
}

/* x replays before e. */
static bool replays_before(const struct ent *x, const struct ent *e)
{
	return x->g != e->g ? x->g < e->g : x->seq < e->seq;
}

static void check_ent(struct ck *ck, const struct ent *e, size_t place);

/* Tunnel or connection e routes no prefix that overlaps one of another's
 * of its routing domain that replays before it (the first of those, in
 * replay order, that does: the batch's words). A new e also concerns the
 * stored ones that replay after it: those are checked again (and blamed). */
static int check_rroutes(struct ck *ck, const struct ent *e, char *msg)
{
	static const enum group groups[] = {G_S2S, G_GRE, G_L3};
	struct hnv_conf_robj oe, ox;
	struct hnv_conf_rroutes re, rx;
	const char *rd = rdomain_of(e);
	const struct ent *x, *best = NULL;
	struct keyb bk;
	struct lit it;
	rroutes_of(e, &oe, &re);
	mdl_bkey_rd(rd, &bk);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		for (mdl_lit_bucket(&it, &ck->v, &bk, groups[i]);
		     (x = mdl_lit_next(&it)) != NULL;) {
			if (x == e || strcmp(rdomain_of(x), rd) != 0)
				continue;
			rroutes_of(x, &ox, &rx);
			if (hnv_conf_rroutes_clash(&oe, &re, &ox, &rx, rd, msg, MSG_MAX) == 0)
				continue; /* overlapping is symmetric */
			if (replays_before(x, e)) {
				if (best == NULL || replays_before(x, best))
					best = x;
			} else if (e->txn && !x->txn) {
				check_ent(ck, x, SIZE_MAX);
			}
		}
	if (best == NULL)
		return 0;
	rroutes_of(best, &ox, &rx);
	return hnv_conf_rroutes_clash(&oe, &re, &ox, &rx, rd, msg, MSG_MAX);
}

static int check_s2s(struct ck *ck, const struct ent *e, char *msg)
{
	const MEMBER_T(s2s) *s = OBJ(e, s2s);
	if (!rdomain_known(ck, s->rdomain))
		return conf_rdomain_missing("s2s add", s->rdomain, msg, MSG_MAX);
	const struct ent *gw = gateway_of(ck, s->rdomain);
	if (!gw)
		return conf_gateway_missing("s2s add", s->name, s->rdomain, msg, MSG_MAX);
	int rc = conf_s2s_pool_check(s, OBJ(gw, gateway)->pool, msg, MSG_MAX);
	if (rc < 0)
		return rc;
	/* charon tells tunnels to one peer apart by their identities */
	struct keyb k;
	mdl_key_s2sid(s, &k);
	const struct ent *o = first_holder(ck, &k, G_S2S, e->seq);
	if (o != NULL)
		return conf_s2s_ids_taken(s, OBJ(o, s2s)->name, msg, MSG_MAX);
	return check_rroutes(ck, e, msg);
}

/* gre add, l3 add: a gateway to attach to; no other connection with its
 * GRE key or VLAN on the same parent (conf_conn.h). */
static int check_conn(struct ck *ck, const struct ent *e, char *msg)
{
	const MEMBER_T(conn) *s = OBJ(e, conn);
	const char *cmd = hnv_conf_conn_cmd(s);
	if (!rdomain_known(ck, s->rdomain))
		return conf_rdomain_missing(cmd, s->rdomain, msg, MSG_MAX);
	if (!gateway_of(ck, s->rdomain))
		return conf_gateway_missing(cmd, s->name, s->rdomain, msg, MSG_MAX);
	struct keyb k;
	mdl_key_conn(s, &k);
	const struct ent *o = first_holder(ck, &k, (enum group)e->g, e->seq);
	if (o != NULL)
		return hnv_conf_conn_clash(s, OBJ(o, conn)->name, msg, MSG_MAX);
	if (!hnv_conf_conn_is_default(s))
		return check_rroutes(ck, e, msg);
	/* one default route per VRF and family */
	MEMBER_T(gateway) gk;
	memset(&gk, 0, sizeof(gk));
	snprintf(gk.rdomain, sizeof(gk.rdomain), "%s", s->rdomain);
	mdl_key_identity(&gk, G_GATEWAY, &k);
	const struct ent *g = mdl_view_find(&ck->v, &k);
	bool v4 = hnv_ip_is_v4(&s->nexthop);
	bool corp = g != NULL && OBJ(g, gateway)->has_corp_nexthop &&
		    hnv_ip_is_v4(&OBJ(g, gateway)->corp_nexthop) == v4;
	const char *other = NULL;
	struct keyb bk;
	struct lit it;
	const struct ent *x;
	mdl_bkey_rd(s->rdomain, &bk);
	for (mdl_lit_bucket(&it, &ck->v, &bk, G_L3); (x = mdl_lit_next(&it)) != NULL;)
		if (x->seq < e->seq && hnv_conf_conn_is_default(OBJ(x, conn)) &&
		    hnv_ip_is_v4(&OBJ(x, conn)->nexthop) == v4)
			other = OBJ(x, conn)->name;
	int rc = hnv_conf_conn_default_taken(s, corp, other, msg, MSG_MAX);
	return rc < 0 ? rc : check_rroutes(ck, e, msg);
}

/* A BGP peer: its routing domain's gateway speaks BGP, and no other peer
 * of the routing domain (nor the gateway's --bgp-peer) has its address. */
static int check_bgp_peer(const struct ck *ck, const struct ent *e, char *msg)
{
	const MEMBER_T(bgp_peer) *p = OBJ(e, bgp_peer);
	char a[INET6_ADDRSTRLEN];
	hnv_fmt_ip(&p->addr, a, sizeof(a));
	if (!rdomain_known(ck, p->rdomain))
		return conf_rdomain_missing("bgp-peer add", p->rdomain, msg, MSG_MAX);
	MEMBER_T(gateway) key;
	memset(&key, 0, sizeof(key));
	snprintf(key.rdomain, sizeof(key.rdomain), "%s", p->rdomain);
	struct keyb k;
	mdl_key_identity(&key, G_GATEWAY, &k);
	const struct ent *gw = mdl_view_find(&ck->v, &k);
	if (gw == NULL)
		return conf_gateway_missing("bgp-peer add", NULL, p->rdomain, msg, MSG_MAX);
	const MEMBER_T(gateway) *g = OBJ(gw, gateway);
	if (g->bgp_asn == 0) {
		hnv_seterr(msg, MSG_MAX,
			   "bgp-peer add: peer \"%s\": the gateway of routing domain \"%s\" has no "
			   "--bgp-asn (its local AS)",
			   p->name, p->rdomain);
		return -EINVAL;
	}
	if (hnv_ip_eq(&g->bgp_peer, &p->addr)) {
		hnv_seterr(msg, MSG_MAX,
			   "bgp-peer add: peer \"%s\": %s is already the --bgp-peer of the gateway "
			   "of routing domain \"%s\"",
			   p->name, a, p->rdomain);
		return -EEXIST;
	}
	struct keyb bk;
	struct lit it;
	const struct ent *x;
	mdl_bkey_rd(p->rdomain, &bk);
	for (mdl_lit_bucket(&it, &ck->v, &bk, G_BGP_PEER); (x = mdl_lit_next(&it)) != NULL;)
		if (x != e && x->seq < e->seq && hnv_ip_eq(&OBJ(x, bgp_peer)->addr, &p->addr)) {
			hnv_seterr(msg, MSG_MAX,
				   "bgp-peer add: peer \"%s\": %s is already peer \"%s\" of "
				   "routing domain \"%s\"",
				   p->name, a, OBJ(x, bgp_peer)->name, p->rdomain);
			return -EEXIST;
		}
	return 0;
}

/* Checks entry e, at place (or SIZE_MAX) in its group. */
/* A port on a gateway's corp device: a replay applies gateways first, so
 * the port's "port add" is refused (check_port words it). */
static void check_corp_ports(struct ck *ck, const struct ent *e)
{
	const MEMBER_T(gateway) *g = OBJ(e, gateway);
	if (!g->corp_dev[0])
		return;
	struct keyb kd;
	mdl_key_devname(g->corp_dev, &kd);
	struct mit it;
	const struct ent *x;
	char msg[MSG_MAX];
	for (mdl_mit_init(&it, &ck->v, &kd); (x = mdl_mit_next(&it)) != NULL;)
		if (x->g == G_PORT && !ck_skip(ck, x) && check_port(ck, x, SIZE_MAX, msg) < 0)
			blame(ck, x, -EEXIST, msg);
}

static void check_ent(struct ck *ck, const struct ent *e, size_t place)
{
	char msg[MSG_MAX];
	int rc = 0;
	if (ck_skip(ck, e))
		return;
	switch (e->g) {
	case G_PA:
		rc = check_pa(e, place, msg);
		break;
	case G_RDOMAIN:
		rc = check_rdomain(ck, e, place, msg);
		break;
	case G_VSUBNET:
		rc = check_vsubnet(ck, e, msg);
		break;
	case G_POOL:
		rc = check_pool(ck, e, msg);
		break;
	case G_GATEWAY:
		rc = check_gateway(ck, e, msg);
		if (rc == 0)
			check_corp_ports(ck, e);
		break;
	case G_GATEWAY_CA:
		rc = check_gateway_ca(ck, e, msg);
		break;
	case G_PORT:
		rc = check_port(ck, e, place, msg);
		break;
	case G_LOOKUP:
		rc = check_lookup(ck, e, msg);
		break;
	case G_ROUTE:
		rc = check_route(ck, e, msg);
		break;
	case G_S2S:
		rc = check_s2s(ck, e, msg);
		break;
	case G_GRE:
	case G_L3:
		rc = check_conn(ck, e, msg);
		break;
	case G_BGP_PEER:
		rc = check_bgp_peer(ck, e, msg);
		break;
	default:
		break; /* provider routes, settings: nothing beyond the line */
	}
	if (rc < 0)
		blame(ck, e, rc, msg);
}

/* ---- base entries a change concerns ---- */

static void check_ports_of(struct ck *ck, const struct keyb *bk)
{
	struct lit it;
	const struct ent *e;
	if (bk != NULL)
		mdl_lit_bucket(&it, &ck->v, bk, G_PORT);
	else
		mdl_lit_group(&it, &ck->v, G_PORT);
	while ((e = mdl_lit_next(&it)) != NULL)
		if (!e->txn)
			check_ent(ck, e, SIZE_MAX);
}

static void check_concerned(struct ck *ck)
{
	const struct hnv_model_txn *t = ck->t;
	const struct hnv_model *m = t->m;
	/* the first PA: every port makes records now */
	if (ck->has_pa && m->g[G_PA].n == 0)
		check_ports_of(ck, NULL);
	/* a VSID's first pool reserves its DHCP server identifiers */
	for (const struct ent *p = t->app[G_POOL].head; p != NULL; p = p->l[SLOT_GROUP].next) {
		struct keyb bk;
		mdl_bkey_vsid(OBJ(p, pool)->vsid, &bk);
		const struct view base = {m, NULL};
		if (mdl_view_bucket_count(&base, &bk, G_POOL) == 0)
			check_ports_of(ck, &bk);
	}
	/* a replaced record that holds its (VSID, CA) now: the other holders */
	for (size_t i = 0; i < t->n_touched; i++) {
		const struct ent *r = t->touched[i]->shadow;
		if (r == DELETED || r->g != G_LOOKUP || !mdl_rec_has_ca(r))
			continue;
		struct keyb k;
		struct mit it;
		const struct ent *x;
		mdl_key_ca(OBJ(r, lookup)->vsid, &OBJ(r, lookup)->ca, &k);
		for (mdl_mit_init(&it, &ck->v, &k); (x = mdl_mit_next(&it)) != NULL;)
			if (x->g == G_LOOKUP && !x->txn)
				check_ent(ck, x, SIZE_MAX);
	}
}

/* ---- hnv_conf_batch_end: gateway ports ---- */

/* Whether a port's name is the gateway port name of a VSID with gateway
 * CAs, or its MAC the gateway port MAC of its VSID with gateway CAs. */
static bool port_near_gateway(const struct ck *ck, const MEMBER_T(port) * p)
{
	char name[HNV_DEV_MAX + 1];
	struct hnv_mac mac;
	struct keyb bk;
	if (strncmp(p->name, "vsid", 4) == 0 && p->name[4] >= '0' && p->name[4] <= '9') {
		unsigned long n = strtoul(p->name + 4, NULL, 10);
		hnv_gateway_port((uint32_t)n, name, &mac);
		mdl_bkey_vsid((uint32_t)n, &bk);
		if (n <= UINT32_MAX && strcmp(name, p->name) == 0 &&
		    mdl_view_bucket_count(&ck->v, &bk, G_GATEWAY_CA) > 0)
			return true;
	}
	hnv_gateway_port(p->vsid, name, &mac);
	mdl_bkey_vsid(p->vsid, &bk);
	return hnv_mac_eq(&mac, &p->mac) && mdl_view_bucket_count(&ck->v, &bk, G_GATEWAY_CA) > 0;
}

/* One gateway port per VSID holding gateway CAs, added after every entry
 * in the order of the VSIDs' first gateway CAs. */
static void check_gateway_ports(struct ck *ck)
{
	const struct hnv_model_txn *t = ck->t;
	size_t ports = mdl_view_count(&ck->v, G_PORT);
	if (t->cnt.gw_vsids == 0)
		return;
	bool concern = t->app[G_GATEWAY_CA].n > 0 || ports + t->cnt.gw_vsids > LIMIT_PORTS;
	for (const struct ent *p = t->app[G_PORT].head; p != NULL && !concern;
	     p = p->l[SLOT_GROUP].next)
		concern = port_near_gateway(ck, OBJ(p, port));
	if (!concern)
		return;
	size_t n = 0, cap = 16;
	while (cap < 2 * t->cnt.gw_vsids)
		cap *= 2;
	uint32_t *seen = calloc(cap, sizeof(*seen)); /* VSIDs are never 0 */
	if (seen == NULL) {
		ck_blame(ck, 1, 0, 0, 0, -ENOMEM, "gateway ca: out of memory");
		return;
	}
	struct lit it;
	const struct ent *e;
	for (mdl_lit_group(&it, &ck->v, G_GATEWAY_CA); (e = mdl_lit_next(&it)) != NULL;) {
		uint32_t vsid = OBJ(e, gateway_ca)->vsid;
		size_t i = (vsid * 2654435761u) & (cap - 1);
		while (seen[i] != 0 && seen[i] != vsid)
			i = (i + 1) & (cap - 1);
		if (seen[i] == vsid)
			continue;
		seen[i] = vsid;
		MEMBER_T(port) gp;
		memset(&gp, 0, sizeof(gp));
		hnv_gateway_port(vsid, gp.name, &gp.mac);
		gp.vsid = vsid;
		struct keyb kn, km;
		mdl_key_identity(&gp, G_PORT, &kn);
		mdl_key_mac(vsid, &gp.mac, &km);
		char msg[MSG_MAX];
		if (mdl_view_find(&ck->v, &kn) != NULL || mdl_view_holders(&ck->v, &km, G_PORT)) {
			hnv_seterr(
				msg, sizeof(msg),
				"gateway ca: the gateway port %s of VSID %u clashes with a port of "
				"the same name or MAC (port names vsidN are reserved for gateway "
				"ports)",
				gp.name, vsid);
			ck_blame(ck, 1, 0, e->seq, 0, -EEXIST, msg);
			break;
		}
		if (ports + n >= LIMIT_PORTS) {
			hnv_seterr(msg, sizeof(msg),
				   "gateway ca: cannot add the gateway port %s: table full",
				   gp.name);
			ck_blame(ck, 1, 0, e->seq, 0, -ENOSPC, msg);
			break;
		}
		n++;
	}
	free(seen);
}

/* ---- the datapath's global limits ---- */

/* Distinct keys seen (strings, customer IDs), pointing into entries. */
struct kset {
	struct kslot {
		const void *key;
		size_t len;
	} * s;
	size_t mask, n;
};

/* 1 when key is new, 0 when seen, -ENOMEM. */
static int kset_add(struct kset *k, const void *key, size_t len)
{
	if ((k->n + 1) * 2 > (k->s ? k->mask + 1 : 0)) {
		size_t ns = k->s ? (k->mask + 1) * 2 : 1024;
		struct kslot *n = calloc(ns, sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		for (size_t i = 0; k->s && i <= k->mask; i++) {
			if (k->s[i].key == NULL)
				continue;
			size_t j = mdl_key_hash(k->s[i].key, k->s[i].len) & (ns - 1);
			while (n[j].key != NULL)
				j = (j + 1) & (ns - 1);
			n[j] = k->s[i];
		}
		free(k->s);
		k->s = n;
		k->mask = ns - 1;
	}
	size_t i = mdl_key_hash(key, len) & k->mask;
	for (; k->s[i].key != NULL; i = (i + 1) & k->mask)
		if (k->s[i].len == len && memcmp(k->s[i].key, key, len) == 0)
			return 0;
	k->s[i].key = key;
	k->s[i].len = len;
	k->n++;
	return 1;
}

/* What a replay interns and allocates, in replay order: each port's
 * records (when there is a PA) with its name, then each lookup record
 * (a new one unless it replaces a port's) with its customer ID, VM name
 * and context. Refuses the entry at which a table runs full. */
struct fill {
	struct kset str, cust;
	size_t records;
	bool oom;
};

/* Whether interning s (kind 's') or a customer ID overflows. */
static bool fill_full(struct fill *f, bool customer, const void *key, size_t len)
{
	if (len == 0)
		return false;
	int rc = kset_add(customer ? &f->cust : &f->str, key, len);
	f->oom |= rc < 0;
	return rc > 0 && (customer ? f->cust.n > LIMIT_CUSTOMERS : f->str.n > LIMIT_STRINGS);
}

static bool fill_port(struct ck *ck, struct fill *f, const struct ent *e)
{
	const MEMBER_T(port) *p = OBJ(e, port);
	for (unsigned i = 0; i < p->n_cas && !f->oom; i++) {
		bool full = ++f->records > LIMIT_RECORDS ||
			    fill_full(f, false, p->name, strnlen(p->name, sizeof(p->name)));
		if (!full)
			continue;
		char a[INET6_ADDRSTRLEN], msg[MSG_MAX];
		hnv_fmt_ip(&p->cas[i], a, sizeof(a));
		hnv_seterr(msg, sizeof(msg),
			   "port add: port \"%s\": lookup record of CA %s: table full", p->name, a);
		blame(ck, e, -ENOSPC, msg);
		return true;
	}
	return false;
}

static bool fill_lookup(struct ck *ck, struct fill *f, const struct ent *e)
{
	const MEMBER_T(lookup) *l = OBJ(e, lookup);
	struct keyb k;
	mdl_key_ca(l->vsid, &l->ca, &k);
	bool replaces = ck->has_pa && mdl_view_holders(&ck->v, &k, G_PORT) > 0;
	bool full = (!replaces && ++f->records > LIMIT_RECORDS) ||
		    (l->has_customer_id && fill_full(f, true, l->customer_id.b, 16)) ||
		    fill_full(f, false, l->vm_name, strnlen(l->vm_name, sizeof(l->vm_name))) ||
		    fill_full(f, false, l->context, strnlen(l->context, sizeof(l->context)));
	if (!full)
		return false;
	char a[INET6_ADDRSTRLEN], rec[96], msg[MSG_MAX];
	lookup_name(l, a, rec, sizeof(rec));
	hnv_seterr(msg, sizeof(msg), "lookup add: record %s: table full", rec);
	blame(ck, e, -ENOSPC, msg);
	return true;
}

/* The counts tell whether a table runs full (cheap); where it does, a walk
 * in replay order finds the entry (only for a transaction that fails). */
static void check_limits(struct ck *ck)
{
	const struct counts *c = &ck->t->cnt;
	size_t records = mdl_view_count(&ck->v, G_LOOKUP) + (ck->has_pa ? c->uncovered : 0);
	size_t strings = ck->has_pa ? c->str_all : c->str_lookup;
	if (records <= LIMIT_RECORDS && strings <= LIMIT_STRINGS && c->cust <= LIMIT_CUSTOMERS)
		return;
	struct fill f;
	memset(&f, 0, sizeof(f));
	struct lit it;
	const struct ent *e;
	bool done = false;
	for (mdl_lit_group(&it, &ck->v, G_PORT); ck->has_pa && !done && (e = mdl_lit_next(&it));)
		done = fill_port(ck, &f, e);
	for (mdl_lit_group(&it, &ck->v, G_LOOKUP); !done && !f.oom && (e = mdl_lit_next(&it));)
		done = fill_lookup(ck, &f, e);
	if (f.oom)
		ck_blame(ck, 0, 0, 0, 0, -ENOMEM, "out of memory");
	free(f.str.s);
	free(f.cust.s);
}

int mdl_check(struct hnv_model_txn *t, char *err, size_t errlen)
{
	struct ck *ck = calloc(1, sizeof(*ck));
	if (ck == NULL) {
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ck->t = t;
	ck->v = (struct view){t->m, t};
	ck->has_pa = mdl_view_count(&ck->v, G_PA) > 0;
	check_limits(ck);
	for (int g = 0; g < G__COUNT; g++) {
		size_t place = t->m->g[g].n - t->ndel[g];
		for (const struct ent *e = t->app[g].head; e != NULL; e = e->l[SLOT_GROUP].next)
			check_ent(ck, e, place++);
	}
	for (size_t i = 0; i < t->n_touched; i++)
		if (t->touched[i]->shadow != DELETED)
			check_ent(ck, t->touched[i]->shadow, SIZE_MAX);
	check_concerned(ck);
	check_gateway_ports(ck);
	int rc = 0;
	if (ck->found && ck->line)
		hnv_seterr(err, errlen, "line %u: %s", ck->line, ck->msg);
	else if (ck->found)
		hnv_seterr(err, errlen, "%s", ck->msg);
	if (ck->found)
		rc = ck->rc;
	free(ck);
	return rc;
}
