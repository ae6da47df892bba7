/* model.c: the running configuration as config-text commands (model.h).
 *
 * A transaction applies each line at once to its overlay (model_index.c)
 * with the checks a line needs there: identities ("already exists", "not
 * found"), dependents before a delete, addresses for a "port add" without
 * them. model_check.c then checks the result as a replay would. The
 * model's readers see the base only, so they see the old state until
 * commit.
 *
 * Threads: one control thread (model.h).
 */
#include "model_int.h"

#include "conf_apply.h"

#include "../lib/err.h"
#include "../lib/vec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_FMT 8192 /* a formatted line; every valid command needs < 4096 */
#define DEPS_SHOWN 6      /* dependents named in a message */
#define MSG_MAX 600       /* one message before the "line N: " prefix */

#define M(o, m) ((const MEMBER_T(m) *)(o))

static struct view txn_view(const struct hnv_model_txn *t)
{
	return (struct view){t->m, t};
}

enum op {
	OP_ADD,
	OP_DEL,
	OP_SET
};

/* The group a command works on and what it does there. */
static int classify(enum hnv_conf_kind k, enum group *g, enum op *op)
{
	static const struct {
		enum hnv_conf_kind kind;
		enum group g;
		enum op op;
	} t[] = {
		{HNV_CONF_RDOMAIN_ADD, G_RDOMAIN, OP_ADD},
		{HNV_CONF_RDOMAIN_DEL, G_RDOMAIN, OP_DEL},
		{HNV_CONF_VSUBNET_ADD, G_VSUBNET, OP_ADD},
		{HNV_CONF_VSUBNET_DEL, G_VSUBNET, OP_DEL},
		{HNV_CONF_PA_ADD, G_PA, OP_ADD},
		{HNV_CONF_PA_DEL, G_PA, OP_DEL},
		{HNV_CONF_PORT_ADD, G_PORT, OP_ADD},
		{HNV_CONF_PORT_DEL, G_PORT, OP_DEL},
		{HNV_CONF_LOOKUP_ADD, G_LOOKUP, OP_ADD},
		{HNV_CONF_LOOKUP_SET, G_LOOKUP, OP_SET},
		{HNV_CONF_LOOKUP_DEL, G_LOOKUP, OP_DEL},
		{HNV_CONF_ROUTE_ADD, G_ROUTE, OP_ADD},
		{HNV_CONF_ROUTE_DEL, G_ROUTE, OP_DEL},
		{HNV_CONF_GLOBAL_SET, G_GLOBAL, OP_SET},
		{HNV_CONF_PROUTE_ADD, G_PROUTE, OP_ADD},
		{HNV_CONF_PROUTE_DEL, G_PROUTE, OP_DEL},
		{HNV_CONF_GATEWAY_ADD, G_GATEWAY, OP_ADD},
		{HNV_CONF_GATEWAY_DEL, G_GATEWAY, OP_DEL},
		{HNV_CONF_GATEWAY_CA, G_GATEWAY_CA, OP_ADD},
		{HNV_CONF_GATEWAY_CA_DEL, G_GATEWAY_CA, OP_DEL},
		{HNV_CONF_S2S_ADD, G_S2S, OP_ADD},
		{HNV_CONF_S2S_DEL, G_S2S, OP_DEL},
		{HNV_CONF_POOL_ADD, G_POOL, OP_ADD},
		{HNV_CONF_POOL_DEL, G_POOL, OP_DEL},
		{HNV_CONF_GRE_ADD, G_GRE, OP_ADD},
		{HNV_CONF_GRE_DEL, G_GRE, OP_DEL},
		{HNV_CONF_L3_ADD, G_L3, OP_ADD},
		{HNV_CONF_L3_DEL, G_L3, OP_DEL},
		{HNV_CONF_BGP_PEER_ADD, G_BGP_PEER, OP_ADD},
		{HNV_CONF_BGP_PEER_DEL, G_BGP_PEER, OP_DEL},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].kind == k) {
			*g = t[i].g;
			*op = t[i].op;
			return 0;
		}
	return -EINVAL;
}

/* ---- descriptions for messages ---- */

const char *mdl_cmd_name(enum hnv_conf_kind k)
{
	static const char *const names[] = {
		[HNV_CONF_RDOMAIN_ADD] = "rdomain add",
		[HNV_CONF_RDOMAIN_DEL] = "rdomain del",
		[HNV_CONF_VSUBNET_ADD] = "vsubnet add",
		[HNV_CONF_VSUBNET_DEL] = "vsubnet del",
		[HNV_CONF_PA_ADD] = "pa add",
		[HNV_CONF_PA_DEL] = "pa del",
		[HNV_CONF_PORT_ADD] = "port add",
		[HNV_CONF_PORT_DEL] = "port del",
		[HNV_CONF_LOOKUP_ADD] = "lookup add",
		[HNV_CONF_LOOKUP_SET] = "lookup set",
		[HNV_CONF_LOOKUP_DEL] = "lookup del",
		[HNV_CONF_ROUTE_ADD] = "route add",
		[HNV_CONF_ROUTE_DEL] = "route del",
		[HNV_CONF_GLOBAL_SET] = "global set",
		[HNV_CONF_PROUTE_ADD] = "proute add",
		[HNV_CONF_PROUTE_DEL] = "proute del",
		[HNV_CONF_GATEWAY_ADD] = "gateway add",
		[HNV_CONF_GATEWAY_DEL] = "gateway del",
		[HNV_CONF_GATEWAY_CA] = "gateway ca",
		[HNV_CONF_GATEWAY_CA_DEL] = "gateway ca-del",
		[HNV_CONF_S2S_ADD] = "s2s add",
		[HNV_CONF_S2S_DEL] = "s2s del",
		[HNV_CONF_POOL_ADD] = "pool add",
		[HNV_CONF_POOL_DEL] = "pool del",
		[HNV_CONF_GRE_ADD] = "gre add",
		[HNV_CONF_GRE_DEL] = "gre del",
		[HNV_CONF_L3_ADD] = "l3 add",
		[HNV_CONF_L3_DEL] = "l3 del",
		[HNV_CONF_BGP_PEER_ADD] = "bgp-peer add",
		[HNV_CONF_BGP_PEER_DEL] = "bgp-peer del",
	};
	if ((size_t)k < sizeof(names) / sizeof(names[0]) && names[k])
		return names[k];
	return "?";
}

void mdl_describe(const void *o, enum group g, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], p[64], m[18];
	switch (g) {
	case G_PA:
		hnv_fmt_ip(&M(o, pa)->addr.addr, a, sizeof(a));
		snprintf(buf, len, "provider address %s", a);
		return;
	case G_PROUTE:
		hnv_fmt_prefix(&M(o, proute)->prefix, p, sizeof(p));
		hnv_fmt_ip(&M(o, proute)->nexthop, a, sizeof(a));
		snprintf(buf, len, "provider route %s via %s", p, a);
		return;
	case G_RDOMAIN:
		snprintf(buf, len, "rdomain \"%s\"", M(o, rdomain)->name);
		return;
	case G_VSUBNET:
		snprintf(buf, len, "VSID %u", M(o, vsubnet)->vsid);
		return;
	case G_POOL:
		snprintf(buf, len, "pool \"%s\"", M(o, pool)->name);
		return;
	case G_GATEWAY:
		snprintf(buf, len, "the gateway of rdomain \"%s\"", M(o, gateway)->rdomain);
		return;
	case G_GATEWAY_CA:
		hnv_fmt_ip(&M(o, gateway_ca)->ca, a, sizeof(a));
		snprintf(buf, len, "gateway CA %s in VSID %u (rdomain \"%s\")", a,
			 M(o, gateway_ca)->vsid, M(o, gateway_ca)->rdomain);
		return;
	case G_PORT:
		snprintf(buf, len, "port \"%s\"", M(o, port)->name);
		return;
	case G_LOOKUP:
		hnv_fmt_ip(&M(o, lookup)->ca, a, sizeof(a));
		hnv_fmt_mac(&M(o, lookup)->mac, m, sizeof(m));
		snprintf(buf, len, "lookup record VSID %u CA %s MAC %s", M(o, lookup)->vsid, a, m);
		return;
	case G_ROUTE:
		hnv_fmt_prefix(&M(o, route)->prefix, p, sizeof(p));
		hnv_fmt_ip(&M(o, route)->nexthop, a, sizeof(a));
		snprintf(buf, len, "route %s via %s in rdomain \"%s\"", p, a, M(o, route)->rdomain);
		return;
	case G_S2S:
		snprintf(buf, len, "s2s \"%s\"", M(o, s2s)->name);
		return;
	case G_GRE:
		snprintf(buf, len, "gre \"%s\"", M(o, conn)->name);
		return;
	case G_L3:
		snprintf(buf, len, "l3 \"%s\"", M(o, conn)->name);
		return;
	case G_BGP_PEER:
		snprintf(buf, len, "bgp-peer \"%s\"", M(o, bgp_peer)->name);
		return;
	case G_GLOBAL:
	case G__COUNT:
		break;
	}
	snprintf(buf, len, "global settings");
}

bool mdl_ip4_in(const struct hnv_ip *a, const struct hnv_ip *first, const struct hnv_ip *last)
{
	uint32_t x = conf_ip4_u32(a);
	return x >= conf_ip4_u32(first) && x <= conf_ip4_u32(last);
}

bool mdl_terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

void mdl_merge_global(struct hnv_conf_global *g, const struct hnv_conf_global *s)
{
	if (s->has_gateway_mac) {
		g->has_gateway_mac = true;
		g->gateway_mac = s->gateway_mac;
	}
	if (s->has_flowid) {
		g->has_flowid = true;
		g->flowid = s->flowid;
	}
	if (s->has_uplink_mtu) {
		g->has_uplink_mtu = true;
		g->uplink_mtu = s->uplink_mtu;
	}
	if (s->has_use_external_router) {
		g->has_use_external_router = true;
		g->use_external_router = s->use_external_router;
	}
}

/* ---- dependents ---- */

struct deps {
	char text[512];
	size_t off;
	unsigned n;
};

static void deps_add(struct deps *d, const struct ent *e)
{
	char what[160];
	mdl_describe(e->obj, (enum group)e->g, what, sizeof(what));
	int k = snprintf(d->text + d->off, sizeof(d->text) - d->off, "%s%s", d->off ? ", " : "",
			 what);
	if (k > 0)
		d->off = d->off + (size_t)k < sizeof(d->text) ? d->off + (size_t)k
							      : sizeof(d->text) - 1;
	d->n++;
}

/* Group g of bucket bk: the first entries named, all counted. */
static void deps_group(const struct view *v, struct deps *d, const struct keyb *bk, enum group g)
{
	size_t total = mdl_view_bucket_count(v, bk, g), shown = 0;
	struct lit it;
	const struct ent *e;
	for (mdl_lit_bucket(&it, v, bk, g); d->n < DEPS_SHOWN && (e = mdl_lit_next(&it));) {
		deps_add(d, e);
		shown++;
	}
	d->n += (unsigned)(total - shown);
}

/* The entries that need e: what must go before e can. */
static void find_deps(const struct view *v, const struct ent *e, struct deps *d)
{
	struct keyb bk;
	memset(d, 0, sizeof(*d));
	if (e->g == G_RDOMAIN) {
		mdl_bkey_rd(OBJ(e, rdomain)->name, &bk);
		deps_group(v, d, &bk, G_VSUBNET);
		deps_group(v, d, &bk, G_ROUTE);
		deps_group(v, d, &bk, G_GATEWAY);
		deps_group(v, d, &bk, G_S2S);
		deps_group(v, d, &bk, G_GRE);
		deps_group(v, d, &bk, G_L3);
		deps_group(v, d, &bk, G_BGP_PEER);
	} else if (e->g == G_POOL) {
		/* the ports holding an address of the pool */
		const MEMBER_T(pool) *pl = OBJ(e, pool);
		struct lit it;
		const struct ent *x;
		mdl_bkey_vsid(pl->vsid, &bk);
		for (mdl_lit_bucket(&it, v, &bk, G_PORT); (x = mdl_lit_next(&it)) != NULL;) {
			const MEMBER_T(port) *p = OBJ(x, port);
			for (unsigned k = 0; k < p->n_cas && k < HNV_PORT_MAX_CAS; k++)
				if (hnv_ip_is_v4(&p->cas[k]) &&
				    mdl_ip4_in(&p->cas[k], &pl->range.first, &pl->range.last)) {
					if (d->n < DEPS_SHOWN)
						deps_add(d, x);
					else
						d->n++;
					break;
				}
		}
	} else if (e->g == G_VSUBNET) {
		mdl_bkey_vsid(OBJ(e, vsubnet)->vsid, &bk);
		deps_group(v, d, &bk, G_POOL);
		deps_group(v, d, &bk, G_GATEWAY_CA);
		deps_group(v, d, &bk, G_PORT);
		deps_group(v, d, &bk, G_LOOKUP);
		deps_group(v, d, &bk, G_ROUTE);
	} else if (e->g == G_GATEWAY) {
		mdl_bkey_rd(OBJ(e, gateway)->rdomain, &bk);
		deps_group(v, d, &bk, G_S2S);
		deps_group(v, d, &bk, G_GRE);
		deps_group(v, d, &bk, G_L3);
		deps_group(v, d, &bk, G_BGP_PEER);
	}
	if (d->n > DEPS_SHOWN)
		snprintf(d->text + d->off, sizeof(d->text) - d->off, " and %u more",
			 d->n - DEPS_SHOWN);
}

/* ---- automatic addresses ---- */

static bool ca_used(const struct view *v, uint32_t vsid, const struct hnv_ip *a)
{
	struct keyb k;
	mdl_key_ca(vsid, a, &k); /* ports, lookup records, gateway CAs */
	return mdl_view_find(v, &k) != NULL;
}

static bool mac_used(const struct view *v, uint32_t vsid, const struct hnv_mac *mac)
{
	struct keyb k;
	mdl_key_mac(vsid, mac, &k); /* ports, lookup records */
	return mdl_view_find(v, &k) != NULL;
}

/* The lowest free address of the pools of s's VSID, in the order the pools
 * were added, into s. 0, or -ENOENT (no pool) / -ENOSPC with a message. */
static int port_fill_ca(const struct view *v, MEMBER_T(port) * s, const struct hnv_prefix *p0,
			char *msg, size_t msglen)
{
	char pl[64] = "";
	if (p0 != NULL)
		hnv_fmt_prefix(p0, pl, sizeof(pl));
	unsigned n_pools = 0;
	uint64_t size = 0;
	struct keyb bk;
	struct lit it;
	const struct ent *e;
	mdl_bkey_vsid(s->vsid, &bk);
	for (mdl_lit_bucket(&it, v, &bk, G_POOL); (e = mdl_lit_next(&it)) != NULL;) {
		const MEMBER_T(pool) *p = OBJ(e, pool);
		n_pools++;
		uint32_t lo = conf_ip4_u32(&p->range.first), hi = conf_ip4_u32(&p->range.last);
		size += (uint64_t)hi - lo + 1;
		for (uint64_t x = lo; x <= hi; x++) {
			uint8_t v4[4] = {(uint8_t)(x >> 24), (uint8_t)(x >> 16), (uint8_t)(x >> 8),
					 (uint8_t)x};
			struct hnv_ip a;
			hnv_ip_from_v4(&a, v4);
			if (ca_used(v, s->vsid, &a))
				continue;
			s->cas[0] = a;
			s->n_cas = 1;
			return 0;
		}
	}
	if (n_pools == 0) {
		hnv_seterr(msg, msglen,
			   "port add: port \"%s\": VM subnet VSID %u (%s) has no IP pool to take "
			   "an address from (pool add NAME --vsid %u --range FIRST-LAST first, or "
			   "give --ca)",
			   s->name, s->vsid, pl, s->vsid);
		return -ENOENT;
	}
	hnv_seterr(msg, msglen,
		   "port add: port \"%s\": the IP pool%s of VSID %u (%s) %s exhausted: all %llu "
		   "addresses are in use",
		   s->name, n_pools > 1 ? "s" : "", s->vsid, pl, n_pools > 1 ? "are" : "is",
		   (unsigned long long)size);
	return -ENOSPC;
}

/* A "port add" without --ca takes the lowest free address of its VSID's
 * pools (free: no port, lookup record or gateway CA of the VSID has it).
 * Without --mac it gets the locally administered unicast MAC 0a:VV:a:b:c:d,
 * a.b.c.d its first IPv4 CA (else the last 4 bytes of its first CA), VV the
 * VSID's three bytes XORed, incremented while a port or record of the VSID
 * has that MAC. The result goes into *out, which is what the model stores
 * and the config text shows: replaying it gives the same addresses. */
static int port_fill(const struct view *v, const struct hnv_conf_cmd *c, struct hnv_conf_cmd *out,
		     char *msg, size_t msglen)
{
	static const struct hnv_mac zero;
	bool need_ca = c->u.port.n_cas == 0, need_mac = hnv_mac_eq(&c->u.port.mac, &zero);
	*out = *c;
	if (!need_ca && !need_mac)
		return 0;
	MEMBER_T(port) *s = &out->u.port;
	MEMBER_T(vsubnet) key;
	memset(&key, 0, sizeof(key));
	key.vsid = s->vsid;
	struct keyb k;
	mdl_key_identity(&key, G_VSUBNET, &k);
	const struct ent *vs = mdl_view_find(v, &k);
	if (vs == NULL) {
		hnv_seterr(msg, msglen,
			   "port add: port \"%s\": VSID %u is not configured: no VM subnet to "
			   "attach to (vsubnet add %u --rdomain NAME --prefix P first)",
			   s->name, s->vsid, s->vsid);
		return -ENOENT;
	}
	if (need_ca) {
		const MEMBER_T(vsubnet) *vsn = OBJ(vs, vsubnet);
		int rc = port_fill_ca(v, s, vsn->n_prefixes > 0 ? &vsn->prefixes[0] : NULL, msg,
				      msglen);
		if (rc < 0)
			return rc;
	}
	if (need_mac) {
		const struct hnv_ip *base = &s->cas[0];
		for (unsigned i = 0; i < s->n_cas && i < HNV_PORT_MAX_CAS; i++)
			if (hnv_ip_is_v4(&s->cas[i])) {
				base = &s->cas[i];
				break;
			}
		uint8_t vv = (uint8_t)(s->vsid ^ s->vsid >> 8 ^ s->vsid >> 16);
		for (unsigned k2 = 0; k2 < 256; k2++) {
			struct hnv_mac mac = {{0x0a, (uint8_t)(vv + k2), base->b[12], base->b[13],
					       base->b[14], base->b[15]}};
			if (!mac_used(v, s->vsid, &mac)) {
				s->mac = mac;
				return 0;
			}
		}
		hnv_seterr(msg, msglen,
			   "port add: port \"%s\": no free MAC for it in VSID %u (give --mac)",
			   s->name, s->vsid);
		return -ENOSPC;
	}
	return 0;
}

/* ---- the line stage ---- */

/* The object c names, for a message (formatted only for one). */
static const char *what_of(const struct hnv_conf_cmd *c, enum group g, char *buf, size_t len)
{
	mdl_describe(&c->u, g, buf, len);
	return buf;
}

/* Deletes old (named by c) and what goes with it (a gateway's CAs), after
 * the check that nothing else needs it. */
static int change_del(struct hnv_model_txn *t, const char *cmd, const struct hnv_conf_cmd *c,
		      enum group g, struct ent *old, char *msg, size_t msglen)
{
	char what[200];
	const struct view v = txn_view(t);
	struct deps d;
	find_deps(&v, old, &d);
	if (d.n > 0) {
		hnv_seterr(msg, msglen, "%s: %s is in use by %s (delete %s first)", cmd,
			   what_of(c, g, what, sizeof(what)), d.text, d.n > 1 ? "them" : "it");
		return -EBUSY;
	}
	if (old->g == G_GATEWAY) {
		/* the gateway's CAs are part of it */
		struct keyb bk;
		struct lit it;
		struct ent **cas = NULL;
		size_t n = 0, cap = 0;
		const struct ent *e;
		mdl_bkey_rd(OBJ(old, gateway)->rdomain, &bk);
		for (mdl_lit_bucket(&it, &v, &bk, G_GATEWAY_CA); (e = mdl_lit_next(&it)) != NULL;) {
			if (HNV_GROW(cas, cap, n + 1) < 0) {
				free(cas);
				goto oom;
			}
			cas[n++] = (struct ent *)e;
		}
		int rc = 0;
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = mdl_txn_delete(t, cas[i]);
		free(cas);
		if (rc < 0)
			goto oom;
	}
	if (mdl_txn_delete(t, old) == 0)
		return 0;
oom:
	hnv_seterr(msg, msglen, "%s: %s: out of memory", cmd, what_of(c, g, what, sizeof(what)));
	return -ENOMEM;
}

/* Applies one parsed command to t's overlay (add appends, del removes the
 * matching add, set replaces or merges). msg gets a message without line
 * prefix. */
static int model_change(struct hnv_model_txn *t, const struct hnv_conf_cmd *c, unsigned line,
			char *msg, size_t msglen)
{
	const struct view v = txn_view(t);
	enum group g;
	enum op op;
	if (c->kind == HNV_CONF_PORT_MOVE) { /* a request to etcd (sync.c), not an object */
		hnv_seterr(msg, msglen, "%s", HNV_CONF_PORT_MOVE_REFUSED);
		return -EOPNOTSUPP;
	}
	if (c->kind == HNV_CONF_GATEWAY_MOVE) { /* as port move */
		hnv_seterr(msg, msglen, "%s", HNV_CONF_GATEWAY_MOVE_REFUSED);
		return -EOPNOTSUPP;
	}
	if (classify(c->kind, &g, &op) < 0) {
		hnv_seterr(msg, msglen, "unknown command kind %d", (int)c->kind);
		return -EINVAL;
	}
	const char *cmd = mdl_cmd_name(c->kind);
	char what[200];
	struct hnv_conf_cmd filled;
	if (c->kind == HNV_CONF_PORT_ADD) {
		int frc = port_fill(&v, c, &filled, msg, msglen);
		if (frc < 0)
			return frc;
		c = &filled;
	}
	struct keyb k;
	mdl_key_identity(&c->u, g, &k);
	struct ent *old = (struct ent *)mdl_view_find(&v, &k), *e;

	if (op == OP_ADD && old != NULL && g == G_GATEWAY_CA) {
		const MEMBER_T(gateway_ca) *o = OBJ(old, gateway_ca);
		char a[INET6_ADDRSTRLEN], n[INET6_ADDRSTRLEN];
		hnv_fmt_ip(&o->ca, a, sizeof(a));
		hnv_fmt_ip(&c->u.gateway_ca.ca, n, sizeof(n));
		hnv_seterr(msg, msglen,
			   "%s: CA %s: the gateway of rdomain \"%s\" already has CA %s in VSID %u "
			   "(one per address family; gateway ca-del first)",
			   cmd, n, o->rdomain, a, o->vsid);
		return -EEXIST;
	}
	if (op == OP_ADD && old != NULL) {
		hnv_seterr(msg, msglen, "%s: %s already exists", cmd,
			   what_of(c, g, what, sizeof(what)));
		return -EEXIST;
	}
	if (op == OP_DEL || (op == OP_SET && g != G_GLOBAL)) {
		bool match = old != NULL;
		/* a gateway CA is found by VSID and family; del names the CA */
		if (match && g == G_GATEWAY_CA)
			match = hnv_ip_eq(&OBJ(old, gateway_ca)->ca, &c->u.gateway_ca.ca);
		/* a del names the pool of what it deletes (its key in etcd) */
		const char *op_pool = g == G_GATEWAY      ? c->u.gateway.pool
				      : g == G_GATEWAY_CA ? c->u.gateway_ca.pool
				      : g == G_S2S        ? c->u.s2s.pool
							  : NULL;
		const char *old_pool = !match || !op_pool ? NULL
				       : g == G_GATEWAY   ? OBJ(old, gateway)->pool
				       : g == G_S2S       ? OBJ(old, s2s)->pool
							  : OBJ(old, gateway_ca)->pool;
		if (old_pool && strcmp(old_pool, op_pool) != 0) {
			hnv_seterr(msg, msglen, "%s: %s is %s%s%s, give %s%s", cmd,
				   what_of(c, g, what, sizeof(what)), *old_pool ? "in pool \"" : "",
				   *old_pool ? old_pool : "bound to a host", *old_pool ? "\"" : "",
				   *old_pool ? "--pool " : "no --pool", old_pool);
			return -EINVAL;
		}
		/* and a pool's tunnel its routing domain (the key too) */
		if (old_pool && g == G_S2S && *old_pool &&
		    strcmp(OBJ(old, s2s)->rdomain, c->u.s2s.rdomain) != 0) {
			hnv_seterr(msg, msglen,
				   "%s: %s is of routing domain \"%s\", give --rdomain %s", cmd,
				   what_of(c, g, what, sizeof(what)), OBJ(old, s2s)->rdomain,
				   OBJ(old, s2s)->rdomain);
			return -EINVAL;
		}
		if (!match) {
			hnv_seterr(msg, msglen, "%s: %s not found", cmd,
				   what_of(c, g, what, sizeof(what)));
			return -ENOENT;
		}
	}
	if (op == OP_DEL)
		return change_del(t, cmd, c, g, old, msg, msglen);

	if (op == OP_SET && g == G_GLOBAL) {
		MEMBER_T(global) merged;
		memset(&merged, 0, sizeof(merged));
		if (old != NULL)
			merged = *OBJ(old, global);
		mdl_merge_global(&merged, &c->u.global);
		e = mdl_ent_new(&merged, g, line);
	} else {
		e = mdl_ent_new(&c->u, g, line);
	}
	int rc = e == NULL     ? -ENOMEM
		 : old != NULL ? mdl_txn_replace(t, old, e)
			       : mdl_txn_append(t, e);
	if (rc < 0) {
		mdl_ent_free(e);
		hnv_seterr(msg, msglen, "%s: %s: out of memory", cmd,
			   what_of(c, g, what, sizeof(what)));
	}
	return rc;
}

/* Parses line (NUL-terminated) and applies it to t. err gets "line N: ". */
static int txn_line(struct hnv_model_txn *t, const char *text, unsigned line, char *err,
		    size_t errlen)
{
	char msg[MSG_MAX];
	struct hnv_conf_cmd c;
	int rc = hnv_conf_parse_line(text, &c, msg, sizeof(msg));
	if (rc == 1)
		rc = model_change(t, &c, line, msg, sizeof(msg));
	explicit_bzero(&c, sizeof(c));
	if (rc < 0)
		hnv_seterr(err, errlen, "line %u: %s", line, msg);
	return rc < 0 ? rc : 0;
}

static bool vsid_ok(uint32_t vsid)
{
	return vsid >= HNV_VSID_MIN && vsid <= HNV_VSID_MAX;
}

/* A prefix of a valid length and a next hop of its family. */
static bool route_ok(const struct hnv_prefix *p, const struct hnv_ip *nexthop)
{
	bool v4 = hnv_ip_is_v4(&p->addr);
	return p->len <= (v4 ? 32 : 128) && v4 == hnv_ip_is_v4(nexthop);
}

/* A port's CAs: specified, none twice. */
static bool port_cas_ok(const MEMBER_T(port) * p)
{
	for (unsigned i = 0; i < p->n_cas; i++) {
		if (hnv_ip_is_unspec(&p->cas[i]))
			return false;
		for (unsigned k = 0; k < i; k++)
			if (hnv_ip_eq(&p->cas[k], &p->cas[i]))
				return false;
	}
	return true;
}

#define T(f) mdl_terminated((f), sizeof(f))

/* What the parser guarantees of a command, for commands from elsewhere:
 * terminated strings, counts within their arrays, VSIDs in range, lookup
 * records whose type fits their CA. The checks rely on it. */
static bool cmd_sane(const struct hnv_conf_cmd *c)
{
	const __typeof__(c->u) *u = &c->u;
	switch (c->kind) {
	case HNV_CONF_RDOMAIN_ADD:
	case HNV_CONF_RDOMAIN_DEL:
		return T(u->rdomain.name) && u->rdomain.name[0];
	case HNV_CONF_VSUBNET_ADD:
		return T(u->vsubnet.rdomain) && u->vsubnet.n_prefixes >= 1 &&
		       u->vsubnet.n_prefixes <= HNV_VSUBNET_MAX_PREFIXES &&
		       vsid_ok(u->vsubnet.vsid);
	case HNV_CONF_PA_ADD:
		return T(u->pa.dev);
	case HNV_CONF_PORT_ADD:
		return T(u->port.name) && u->port.name[0] && T(u->port.dev) &&
		       u->port.n_cas <= HNV_PORT_MAX_CAS && vsid_ok(u->port.vsid) &&
		       port_cas_ok(&u->port);
	case HNV_CONF_PORT_DEL:
		return T(u->port.name);
	case HNV_CONF_LOOKUP_ADD:
	case HNV_CONF_LOOKUP_SET: {
		bool wild = u->lookup.type == HNV_TYPE_GATEWAY_WILDCARD ||
			    u->lookup.type == HNV_TYPE_L2ONLY;
		bool type = wild || u->lookup.type == HNV_TYPE_STATIC ||
			    u->lookup.type == HNV_TYPE_DYNAMIC;
		return T(u->lookup.vm_name) && T(u->lookup.context) && vsid_ok(u->lookup.vsid) &&
		       type && wild == hnv_ip_is_unspec(&u->lookup.ca);
	}
	case HNV_CONF_ROUTE_ADD:
		return T(u->route.rdomain) && vsid_ok(u->route.vsid) &&
		       route_ok(&u->route.prefix, &u->route.nexthop);
	case HNV_CONF_ROUTE_DEL:
		return T(u->route.rdomain) && route_ok(&u->route.prefix, &u->route.nexthop);
	case HNV_CONF_PROUTE_ADD:
		return T(u->proute.dev) && route_ok(&u->proute.prefix, &u->proute.nexthop);
	case HNV_CONF_PROUTE_DEL:
		return route_ok(&u->proute.prefix, &u->proute.nexthop);
	case HNV_CONF_GATEWAY_ADD:
	case HNV_CONF_GATEWAY_DEL:
		return T(u->gateway.rdomain) && T(u->gateway.vrf) && T(u->gateway.corp_dev) &&
		       T(u->gateway.pool);
	case HNV_CONF_GATEWAY_CA:
	case HNV_CONF_GATEWAY_CA_DEL:
		return T(u->gateway_ca.rdomain) && vsid_ok(u->gateway_ca.vsid) &&
		       T(u->gateway_ca.pool);
	case HNV_CONF_S2S_ADD:
		return T(u->s2s.name) && T(u->s2s.rdomain) && T(u->s2s.local_id) &&
		       T(u->s2s.remote_id) && T(u->s2s.psk) && T(u->s2s.cert) && T(u->s2s.key) &&
		       T(u->s2s.ca_cert) && T(u->s2s.ike) && T(u->s2s.esp) && T(u->s2s.peer_host) &&
		       T(u->s2s.pool) && u->s2s.n_remote <= HNV_S2S_REMOTE_MAX &&
		       u->s2s.n_local_netmap <= HNV_S2S_NETMAP_MAX &&
		       u->s2s.n_remote_netmap <= HNV_S2S_NETMAP_MAX;
	case HNV_CONF_S2S_DEL:
		return T(u->s2s.name) && T(u->s2s.rdomain) && T(u->s2s.pool);
	case HNV_CONF_POOL_ADD:
		return T(u->pool.name) && u->pool.range.n_dns <= HNV_DHCP_DNS_MAX &&
		       hnv_ip_is_v4(&u->pool.range.first) && hnv_ip_is_v4(&u->pool.range.last) &&
		       vsid_ok(u->pool.vsid);
	case HNV_CONF_POOL_DEL:
		return T(u->pool.name);
	case HNV_CONF_GRE_ADD:
	case HNV_CONF_L3_ADD:
		return T(u->conn.name) && T(u->conn.rdomain) && T(u->conn.dev) &&
		       u->conn.n_remote <= HNV_CONN_REMOTE_MAX &&
		       u->conn.type == (c->kind == HNV_CONF_GRE_ADD ? HNV_CONN_GRE : HNV_CONN_L3);
	case HNV_CONF_GRE_DEL:
	case HNV_CONF_L3_DEL:
		return T(u->conn.name);
	case HNV_CONF_BGP_PEER_ADD:
		return T(u->bgp_peer.name) && T(u->bgp_peer.rdomain) &&
		       u->bgp_peer.n_in <= HNV_BGP_PEER_PREFIXES_MAX &&
		       u->bgp_peer.n_out <= HNV_BGP_PEER_PREFIXES_MAX;
	case HNV_CONF_BGP_PEER_DEL:
		return T(u->bgp_peer.name);
	case HNV_CONF_GLOBAL_SET:
		return !u->global.has_uplink_mtu ||
		       (u->global.uplink_mtu >= 576 && u->global.uplink_mtu <= 9000);
	default:
		return true; /* refused as unknown */
	}
}

#undef T

/* Applies a parsed command to t. err gets "line N: " when it has a line. */
static int txn_cmd(struct hnv_model_txn *t, const struct hnv_conf_cmd *c, char *err, size_t errlen)
{
	char msg[MSG_MAX];
	int rc = -EINVAL;
	if (!cmd_sane(c))
		hnv_seterr(msg, sizeof(msg), "%s: a value is not terminated or out of range",
			   mdl_cmd_name(c->kind));
	else
		rc = model_change(t, c, c->line, msg, sizeof(msg));
	if (rc < 0 && c->line)
		hnv_seterr(err, errlen, "line %u: %s", c->line, msg);
	else if (rc < 0)
		hnv_seterr(err, errlen, "%s", msg);
	return rc < 0 ? rc : 0;
}

/* ---- transactions ---- */

int hnv_model_txn_begin(struct hnv_model *m, struct hnv_model_txn **out)
{
	if (m == NULL || out == NULL)
		return -EINVAL;
	if (m->txn != NULL)
		return -EBUSY;
	struct hnv_model_txn *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->m = m;
	t->adopt = true;
	for (int g = 0; g < G__COUNT; g++)
		t->adopt &= m->g[g].n == 0;
	t->cnt = m->cnt;
	memset(&t->cnt.set, 0, sizeof(t->cnt.set)); /* the overlay's: deltas */
	m->txn = t;
	*out = t;
	return 0;
}

static void changes_free(struct hnv_model_txn *t)
{
	if (t->chcmd != NULL)
		explicit_bzero(t->chcmd, 2 * t->n_ch * sizeof(*t->chcmd)); /* PSKs */
	free(t->chcmd);
	free(t->ch);
	t->chcmd = NULL;
	t->ch = NULL;
	t->n_ch = 0;
}

/* Whether t takes more lines; err says why not. */
static int txn_usable(struct hnv_model_txn *t, char *err, size_t errlen)
{
	if (t == NULL) {
		hnv_seterr(err, errlen, "no transaction");
		return -EINVAL;
	}
	if (t->state != TXN_OK) {
		hnv_seterr(err, errlen, "the transaction failed already (abort it)");
		return -EINVAL;
	}
	changes_free(t);
	return 0;
}

/* Records t's failure (msg) and reports it. */
static int txn_fail(struct hnv_model_txn *t, enum txn_state st, int rc, const char *msg, char *err,
		    size_t errlen)
{
	t->state = st;
	t->frc = rc;
	snprintf(t->ferr, sizeof(t->ferr), "%s", msg);
	hnv_seterr(err, errlen, "%s", msg);
	return rc;
}

/* The checks after a call's lines or commands. */
static int txn_finish(struct hnv_model_txn *t, int rc, const char *msg, char *err, size_t errlen)
{
	char e[sizeof(t->ferr)];
	if (rc < 0)
		return txn_fail(t, TXN_FAILED_LINE, rc, msg, err, errlen);
	rc = mdl_check(t, e, sizeof(e));
	if (rc < 0)
		return txn_fail(t, TXN_FAILED_CHECK, rc, e, err, errlen);
	return 0;
}

int hnv_model_txn_lines(struct hnv_model_txn *t, const char *const *lines, size_t n, char *err,
			size_t errlen)
{
	char e[sizeof(t->ferr)] = "";
	int rc = txn_usable(t, err, errlen);
	if (rc < 0)
		return rc;
	if (lines == NULL && n > 0) {
		snprintf(e, sizeof(e), "no lines");
		rc = -EINVAL;
	} else if (n > UINT32_MAX) {
		snprintf(e, sizeof(e), "too many lines");
		rc = -EINVAL;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (lines[i] == NULL) {
			snprintf(e, sizeof(e), "line %zu: missing", i + 1);
			rc = -EINVAL;
		} else {
			rc = txn_line(t, lines[i], (unsigned)(i + 1), e, sizeof(e));
		}
	}
	return txn_finish(t, rc, e, err, errlen);
}

int hnv_model_txn_cmds(struct hnv_model_txn *t, const struct hnv_conf_cmd *cmds, size_t n,
		       char *err, size_t errlen)
{
	char e[sizeof(t->ferr)] = "";
	int rc = txn_usable(t, err, errlen);
	if (rc < 0)
		return rc;
	if (cmds == NULL && n > 0) {
		snprintf(e, sizeof(e), "no commands");
		rc = -EINVAL;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = txn_cmd(t, &cmds[i], e, sizeof(e));
	return txn_finish(t, rc, e, err, errlen);
}

static int cmp_place(const void *a, const void *b)
{
	const struct ent *x = *(const struct ent *const *)a, *y = *(const struct ent *const *)b;
	if (x->g != y->g)
		return x->g < y->g ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* One change: commands for old and new (either may be NULL). */
static void change_put(struct hnv_model_txn *t, const struct ent *old, const struct ent *new)
{
	struct hnv_model_change *c = &t->ch[t->n_ch];
	struct hnv_conf_cmd *o = &t->chcmd[2 * t->n_ch], *n = o + 1;
	c->old = c->new = NULL;
	if (old != NULL) {
		mdl_ent_cmd(old, o);
		c->old = o;
	}
	if (new != NULL) {
		mdl_ent_cmd(new, n);
		n->line = new->origin;
		c->new = n;
	}
	t->n_ch++;
}

static int changes_build(struct hnv_model_txn *t)
{
	size_t n = t->n_touched;
	for (int g = 0; g < G__COUNT; g++)
		n += t->app[g].n;
	struct ent **by = malloc((t->n_touched + 1) * sizeof(*by));
	t->ch = malloc((n + 1) * sizeof(*t->ch));
	t->chcmd = malloc((2 * n + 1) * sizeof(*t->chcmd));
	if (by == NULL || t->ch == NULL || t->chcmd == NULL) {
		free(by);
		changes_free(t);
		return -ENOMEM;
	}
	if (t->n_touched > 0)
		memcpy(by, t->touched, t->n_touched * sizeof(*by));
	qsort(by, t->n_touched, sizeof(*by), cmp_place);
	/* deletions: reverse dependency order */
	for (size_t i = t->n_touched; i-- > 0;)
		if (by[i]->shadow == DELETED)
			change_put(t, by[i], NULL);
	/* then replacements and additions in dependency order */
	size_t i = 0;
	for (int g = 0; g < G__COUNT; g++) {
		for (; i < t->n_touched && by[i]->g == g; i++)
			if (by[i]->shadow != DELETED)
				change_put(t, by[i], by[i]->shadow);
		for (const struct ent *e = t->app[g].head; e != NULL; e = e->l[SLOT_GROUP].next)
			change_put(t, NULL, e);
	}
	free(by);
	return 0;
}

int hnv_model_txn_changes(struct hnv_model_txn *t, const struct hnv_model_change **out, size_t *n)
{
	if (t == NULL || out == NULL || n == NULL || t->state != TXN_OK)
		return -EINVAL;
	if (t->ch == NULL) {
		int rc = changes_build(t);
		if (rc < 0)
			return rc;
	}
	*out = t->ch;
	*n = t->n_ch;
	return 0;
}

static void txn_free(struct hnv_model_txn *t)
{
	t->m->txn = NULL;
	changes_free(t);
	explicit_bzero(t->ferr, sizeof(t->ferr));
	free(t);
}

void hnv_model_txn_abort(struct hnv_model_txn *t)
{
	if (t == NULL)
		return;
	mdl_overlay_drop(t);
	txn_free(t);
}

void hnv_model_txn_commit(struct hnv_model_txn *t)
{
	if (t == NULL)
		return;
	if (t->state != TXN_OK) {
		hnv_model_txn_abort(t);
		return;
	}
	mdl_overlay_commit(t);
	txn_free(t);
}

/* ---- replay ---- */

/* Replays the view into dp. The transaction's entries carry their line. */
static int replay(const struct view *v, struct hnv_dp *dp, char *err, size_t errlen)
{
	struct hnv_conf_batch *b;
	int rc = hnv_conf_batch_begin(dp, &b);
	if (rc < 0) {
		hnv_seterr(err, errlen, "out of memory");
		return rc;
	}
	struct hnv_conf_cmd c;
	for (int g = 0; g < G__COUNT && rc == 0; g++) {
		struct lit it;
		const struct ent *e;
		for (mdl_lit_group(&it, v, (enum group)g); rc == 0 && (e = mdl_lit_next(&it));) {
			mdl_ent_cmd(e, &c);
			c.line = e->txn ? e->origin : 0;
			rc = hnv_conf_batch_apply(b, &c, err, errlen);
		}
	}
	explicit_bzero(&c, sizeof(c));
	char cerr[512];
	int crc = hnv_conf_batch_end(b, cerr, sizeof(cerr));
	if (rc == 0 && crc < 0) {
		hnv_seterr(err, errlen, "%s", cerr);
		rc = crc;
	}
	return rc;
}

static int replay_new(const struct view *v, struct hnv_dp **out, char *err, size_t errlen)
{
	struct hnv_dp *dp = hnv_dp_new();
	if (dp == NULL) {
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = replay(v, dp, err, errlen);
	if (rc < 0) {
		hnv_dp_free(dp);
		return rc;
	}
	*out = dp;
	return 0;
}

int hnv_model_txn_replay(const struct hnv_model_txn *t, char *err, size_t errlen)
{
	if (t == NULL) {
		hnv_seterr(err, errlen, "no transaction");
		return -EINVAL;
	}
	if (t->state == TXN_FAILED_LINE) {
		hnv_seterr(err, errlen, "%s", t->ferr);
		return t->frc;
	}
	const struct view v = txn_view(t);
	struct hnv_dp *dp;
	int rc = replay_new(&v, &dp, err, errlen);
	if (rc == 0)
		hnv_dp_free(dp);
	return rc;
}

int hnv_model_build_dp(const struct hnv_model *m, struct hnv_dp **out, char *err, size_t errlen)
{
	if (m == NULL || out == NULL) {
		hnv_seterr(err, errlen, "no model");
		return -EINVAL;
	}
	const struct view v = {m, NULL};
	return replay_new(&v, out, err, errlen);
}

/* ---- whole models ---- */

int hnv_model_foreach(const struct hnv_model *m, hnv_model_cb cb, void *arg)
{
	int rc = 0;
	for (int g = 0; g < G__COUNT && rc == 0; g++)
		rc = hnv_model_foreach_kind(m, mdl_group_kind((enum group)g), cb, arg);
	return rc;
}

int hnv_model_foreach_kind(const struct hnv_model *m, enum hnv_conf_kind add_kind, hnv_model_cb cb,
			   void *arg)
{
	int g = 0;
	while (g < G__COUNT && mdl_group_kind((enum group)g) != add_kind)
		g++;
	if (m == NULL || cb == NULL || g == G__COUNT)
		return -EINVAL;
	struct hnv_conf_cmd c;
	int rc = 0;
	for (const struct ent *e = m->g[g].head; e != NULL && rc == 0; e = e->l[SLOT_GROUP].next) {
		mdl_ent_cmd(e, &c);
		rc = cb(&c, arg);
	}
	explicit_bzero(&c, sizeof(c));
	return rc;
}

int hnv_model_load(const char *text, size_t len, struct hnv_model **out, char *err, size_t errlen)
{
	if (out == NULL || (text == NULL && len > 0)) {
		hnv_seterr(err, errlen, "no text to load");
		return -EINVAL;
	}
	struct hnv_model *m = hnv_model_new();
	struct hnv_model_txn *t = NULL;
	if (m == NULL || hnv_model_txn_begin(m, &t) < 0) {
		hnv_model_free(m);
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* one line at a time into buf: the parser takes C strings */
	char buf[LINE_MAX_FMT], e[sizeof(t->ferr)] = "";
	size_t off = 0, lines = 1;
	unsigned line = 0;
	for (const char *p = text, *end = text + len; p < end; lines++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	/* the index of a load grows once: about 3 keys a line (a record's) */
	int rc = mdl_txn_reserve(t, 3 * lines);
	if (rc < 0)
		snprintf(e, sizeof(e), "out of memory");
	while (off < len && rc == 0) {
		const char *ls = text + off, *nl = memchr(ls, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - ls) : len - off;
		off += ll + (nl != NULL);
		line++;
		if (memchr(ls, '\0', ll) != NULL) {
			snprintf(e, sizeof(e), "line %u: NUL byte", line);
			rc = -EINVAL;
		} else if (ll >= sizeof(buf)) {
			snprintf(e, sizeof(e), "line %u: line too long (more than 4096 bytes)",
				 line);
			rc = -EINVAL;
		} else {
			memcpy(buf, ls, ll);
			buf[ll] = '\0';
			rc = txn_line(t, buf, line, e, sizeof(e));
		}
	}
	explicit_bzero(buf, sizeof(buf));
	rc = txn_finish(t, rc, e, err, errlen);
	if (rc < 0) {
		hnv_model_txn_abort(t);
		hnv_model_free(m);
		return rc;
	}
	hnv_model_txn_commit(t);
	*out = m;
	return 0;
}

int hnv_model_transact(const struct hnv_model *cur, const char *const *lines, size_t n,
		       struct hnv_model **next, char *err, size_t errlen)
{
	if (cur == NULL || next == NULL || (lines == NULL && n > 0)) {
		hnv_seterr(err, errlen, "no transaction");
		return -EINVAL;
	}
	struct hnv_model *m = mdl_model_copy(cur);
	struct hnv_model_txn *t = NULL;
	if (m == NULL || hnv_model_txn_begin(m, &t) < 0) {
		hnv_model_free(m);
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = hnv_model_txn_lines(t, lines, n, err, errlen);
	if (rc < 0) {
		hnv_model_txn_abort(t);
		hnv_model_free(m);
		return rc;
	}
	hnv_model_txn_commit(t);
	*next = m;
	return 0;
}

/* ---- text ---- */

/* Appends the lines of groups [from, to) to b (NULL: only counts). Returns
 * the bytes they take, or -1 when a command does not format. */
static long text_groups(const struct hnv_model *m, int from, int to, bool show_secrets,
			struct hnv_buf *b, char *dst)
{
	char line[LINE_MAX_FMT];
	struct hnv_conf_cmd c;
	long total = 0;
	for (int g = from; g < to && total >= 0; g++)
		for (const struct ent *e = m->g[g].head; e != NULL && total >= 0;
		     e = e->l[SLOT_GROUP].next) {
			mdl_ent_cmd(e, &c);
			if (hnv_conf_format(&c, show_secrets, line, sizeof(line)) < 0) {
				total = -1;
				break;
			}
			size_t n = strlen(line);
			line[n++] = '\n';
			if (b != NULL)
				hnv_buf_append(b, line, n);
			if (dst != NULL)
				memcpy(dst + total, line, n);
			total += (long)n;
		}
	explicit_bzero(&c, sizeof(c));
	explicit_bzero(line, sizeof(line));
	return total;
}

/* The tunnels' lines hold PSKs when show_secrets: they are written into a
 * buffer grown once to its final size, so no copy of a PSK is left behind
 * in freed memory by a growing buffer. */
char *hnv_model_text(const struct hnv_model *m, bool show_secrets)
{
	if (m == NULL)
		return NULL;
	struct hnv_buf b = {0};
	long head = text_groups(m, 0, G_S2S, show_secrets, &b, NULL);
	long tail = head < 0 ? -1 : text_groups(m, G_S2S, G__COUNT, show_secrets, NULL, NULL);
	char *s = hnv_buf_take(&b);
	if (s == NULL || tail < 0) {
		free(s);
		return NULL;
	}
	char *r = realloc(s, (size_t)head + (size_t)tail + 1);
	if (r == NULL) {
		free(s);
		return NULL;
	}
	if (text_groups(m, G_S2S, G__COUNT, show_secrets, NULL, r + head) != tail) {
		explicit_bzero(r, (size_t)(head + tail));
		free(r);
		return NULL;
	}
	r[head + tail] = '\0';
	return r;
}
