/* sync_plan.c: a transaction of shared lines, or a port move, planned into
 * one etcd transaction (sync.h "Writing").
 *
 * The lines are validated on a view (this host's model and the routing
 * domains they touch, as the mirror has them); each command then becomes
 * puts and deletes of its keys (with the guard keys of VSIDs, RDIDs and
 * pool names), and compares that make a concurrent conflicting change
 * fail the transaction. */
#include "sync_int.h"

#include "../../lib/addr.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../../lib/vec.h"
#include "../etcd.h"
#include "../model.h"
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ABS_KEY_MAX (SYNC_PREFIX_MAX + SYNC_KEY_MAX + 1)

/* ---- the plan: operations and compares ---- */

static void wipe_free(void *v)
{
	if (v)
		explicit_bzero(v, strlen(v));
	free(v);
}

void sync_plan_free(struct sync_plan *p)
{
	/* a value may be a tunnel's line with its PSK */
	hnv_hmap_clear(&p->ops, wipe_free);
	for (size_t i = 0; i < p->n_order; i++)
		free(p->order[i]);
	free(p->order);
	hnv_hmap_clear(&p->cmp, NULL);
	hnv_etcd_txn_free(p->txn);
	memset(p, 0, sizeof(*p));
}

/* Plans a put of value at key, or its deletion (value NULL): the last
 * operation on a key wins, in the place of the key's first one. */
static int op_set(struct sync_plan *p, const char *key, const char *value)
{
	bool known = hnv_hmap_find(&p->ops, key) != NULL;
	int rc = sync_map_put_str(&p->ops, key, value);
	if (rc || known)
		return rc;
	if (HNV_GROW(p->order, p->cap_order, p->n_order + 1) ||
	    !(p->order[p->n_order] = strdup(key)))
		return -ENOMEM;
	p->n_order++;
	return 0;
}

static int op_del(struct sync_plan *p, const char *key)
{
	return op_set(p, key, NULL);
}

/* Compares key with what the mirror holds (once per key). */
static int cmp_key(struct hnv_sync *s, struct sync_plan *p, const char *rel)
{
	if (hnv_hmap_find(&p->cmp, rel))
		return 0;
	int rc = hnv_hmap_put(&p->cmp, rel, NULL, NULL);
	if (rc)
		return rc;
	char key[ABS_KEY_MAX];
	snprintf(key, sizeof(key), "%s%s", s->prefix, rel);
	const struct sync_val *v = hnv_hmap_get(&s->mirror, rel);
	return v ? hnv_etcd_txn_cmp(p->txn, key, NULL, HNV_ETCD_MOD, HNV_ETCD_EQUAL, v->mod_rev)
		 : hnv_etcd_txn_cmp(p->txn, key, NULL, HNV_ETCD_CREATE, HNV_ETCD_EQUAL, 0);
}

/* The txn of a plan: compares of every key written, of the rdomain,
 * vsubnet and pool keys of the touched routing domains, and of all of
 * rd/R/ for those losing structure (structural); then the operations. */
static int plan_txn(struct hnv_sync *s, struct sync_plan *p, const struct hnv_hmap *touched,
		    const struct hnv_hmap *structural)
{
	if (!(p->txn = hnv_etcd_txn_new()))
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < p->n_order; i++)
		if ((rc = cmp_key(s, p, p->order[i])))
			return rc;
	HNV_HMAP_FOREACH(n, &s->mirror)
	{
		struct sync_key k;
		enum sync_kt t = sync_key_parse(n->key, &k);
		if ((t == SYNC_K_RDOMAIN || t == SYNC_K_VSUBNET || t == SYNC_K_POOL) &&
		    hnv_hmap_find(touched, k.rd) && (rc = cmp_key(s, p, n->key)))
			return rc;
	}
	HNV_HMAP_FOREACH(n, structural)
	{
		char k[ABS_KEY_MAX], end[ABS_KEY_MAX];
		snprintf(k, sizeof(k), "%srd/%.*s/", s->prefix, HNV_NAME_MAX, n->key);
		hnv_etcd_prefix_end(k, end, sizeof(end));
		if ((rc = hnv_etcd_txn_cmp(p->txn, k, end, HNV_ETCD_MOD, HNV_ETCD_LESS,
					   s->mirror_rev + 1)))
			return rc;
	}
	for (size_t i = 0; i < p->n_order && !rc; i++) {
		char k[ABS_KEY_MAX];
		const struct hnv_hmap_node *o = hnv_hmap_find(&p->ops, p->order[i]);
		snprintf(k, sizeof(k), "%s%s", s->prefix, p->order[i]);
		rc = o->val ? hnv_etcd_txn_put(p->txn, k, o->val)
			    : hnv_etcd_txn_del(p->txn, k, NULL);
	}
	return rc;
}

void sync_plan_done(struct hnv_sync *s, const struct sync_plan *p, int64_t rev)
{
	for (size_t i = 0; i < p->n_order; i++) {
		const struct hnv_hmap_node *o = hnv_hmap_find(&p->ops, p->order[i]);
		char *v = NULL;
		if (o->val && !(v = strdup(o->val))) {
			hnv_log(HNV_LOG_ERR, "etcd mirror: out of memory");
			continue;
		}
		sync_mirror_set(s, o->key, v, rev);
	}
}

/* ---- what the lines are about ---- */

/* Indexes of the mirror a transaction needs, updated by its own lines. */
struct index {
	struct hnv_hmap vsid_rd;    /* "V" -> R */
	struct hnv_hmap pool_rd;    /* pool name -> R */
	struct hnv_hmap port;       /* this host's port name -> its key */
	struct hnv_hmap touched;    /* routing domains the lines touch (a set) */
	struct hnv_hmap structural; /* of those, losing an rdomain, vsubnet or pool */
};

static void index_free(struct index *x)
{
	hnv_hmap_clear(&x->vsid_rd, free);
	hnv_hmap_clear(&x->pool_rd, free);
	hnv_hmap_clear(&x->port, free);
	hnv_hmap_clear(&x->touched, NULL);
	hnv_hmap_clear(&x->structural, NULL);
}

static int index_build(struct hnv_sync *s, struct index *x)
{
	HNV_HMAP_FOREACH(n, &s->mirror)
	{
		struct sync_key k;
		enum sync_kt t = sync_key_parse(n->key, &k);
		int rc = 0;
		if (t == SYNC_K_VSUBNET)
			rc = sync_map_put_str(&x->vsid_rd, k.rest, k.rd);
		else if (t == SYNC_K_POOL)
			rc = sync_map_put_str(&x->pool_rd, k.rest, k.rd);
		else if (t == SYNC_K_PORT && strcmp(k.host, s->host) == 0)
			rc = sync_map_put_str(&x->port, k.rest, n->key);
		if (rc)
			return rc;
	}
	return 0;
}

static const char *vsid_rd(struct index *x, uint32_t vsid)
{
	char v[16];
	snprintf(v, sizeof(v), "%u", vsid);
	return hnv_hmap_get(&x->vsid_rd, v);
}

/* The routing domain a command is about into rd ("" when unknown yet: the
 * model's validation then names what is missing); adds update the index.
 * 0 or -ENOMEM. */
static int cmd_rd(struct index *x, const struct hnv_conf_cmd *c, char rd[HNV_NAME_MAX + 1])
{
	const char *r = NULL;
	char v[16];
	int rc = 0;
	switch (c->kind) {
	case HNV_CONF_RDOMAIN_ADD:
	case HNV_CONF_RDOMAIN_DEL:
		r = c->u.rdomain.name;
		break;
	case HNV_CONF_VSUBNET_ADD:
		snprintf(v, sizeof(v), "%u", c->u.vsubnet.vsid);
		rc = sync_map_put_str(&x->vsid_rd, v, c->u.vsubnet.rdomain);
		r = c->u.vsubnet.rdomain;
		break;
	case HNV_CONF_POOL_ADD:
		if ((r = vsid_rd(x, c->u.pool.vsid)))
			rc = sync_map_put_str(&x->pool_rd, c->u.pool.name, r);
		break;
	case HNV_CONF_POOL_DEL:
		r = hnv_hmap_get(&x->pool_rd, c->u.pool.name);
		break;
	case HNV_CONF_PORT_DEL: {
		const char *key = hnv_hmap_get(&x->port, c->u.port.name);
		struct sync_key k;
		r = key && sync_key_parse(key, &k) == SYNC_K_PORT ? k.rd : NULL;
		snprintf(rd, HNV_NAME_MAX + 1, "%s", r ? r : "");
		return 0;
	}
	case HNV_CONF_VSUBNET_DEL:
	case HNV_CONF_PORT_ADD:
	case HNV_CONF_LOOKUP_ADD:
	case HNV_CONF_LOOKUP_SET:
	case HNV_CONF_LOOKUP_DEL:
		r = vsid_rd(x, c->kind == HNV_CONF_VSUBNET_DEL ? c->u.vsubnet.vsid
			       : c->kind == HNV_CONF_PORT_ADD  ? c->u.port.vsid
							       : c->u.lookup.vsid);
		break;
	case HNV_CONF_ROUTE_ADD:
	case HNV_CONF_ROUTE_DEL:
		r = c->u.route.rdomain;
		break;
	case HNV_CONF_GATEWAY_ADD:
	case HNV_CONF_GATEWAY_DEL:
		r = c->u.gateway.rdomain;
		break;
	case HNV_CONF_GATEWAY_CA:
	case HNV_CONF_GATEWAY_CA_DEL:
		r = c->u.gateway_ca.rdomain;
		break;
	case HNV_CONF_S2S_ADD:
	case HNV_CONF_S2S_DEL:
		r = c->u.s2s.rdomain;
		break;
	default:
		break;
	}
	snprintf(rd, HNV_NAME_MAX + 1, "%s", r ? r : "");
	return rc;
}

static uint32_t ip4(const struct hnv_ip *ip)
{
	return (uint32_t)ip->b[12] << 24 | (uint32_t)ip->b[13] << 16 | (uint32_t)ip->b[14] << 8 |
	       ip->b[15];
}

/* The lowest address of a pool (parsed: pc) with no alloc key and no
 * lookup record, nor in taken, below *best. */
static bool pool_free_addr(struct hnv_sync *s, const char *rd, const struct hnv_conf_cmd *pc,
			   const struct hnv_hmap *taken, bool found, uint32_t *best)
{
	uint32_t vsid = pc->u.pool.vsid;
	uint32_t lo = ip4(&pc->u.pool.range.first), hi = ip4(&pc->u.pool.range.last);
	for (uint64_t a = lo; a <= hi; a++) {
		if (found && a >= *best)
			return false;
		uint8_t v4[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8),
				 (uint8_t)a};
		struct hnv_ip ip;
		hnv_ip_from_v4(&ip, v4);
		char k[SYNC_KEY_MAX];
		if (sync_alloc_key(rd, vsid, &ip, k, sizeof(k)) || hnv_hmap_find(&s->mirror, k) ||
		    hnv_hmap_find(taken, k))
			continue;
		if (sync_lookup_key(rd, vsid, &ip, NULL, k, sizeof(k)) ||
		    hnv_hmap_find(&s->mirror, k))
			continue;
		*best = (uint32_t)a;
		return true;
	}
	return false;
}

/* For a port add without --ca: the lowest address of the VSID's pools
 * with no alloc key and no lookup record (nor taken earlier in this
 * transaction, in taken, where it is added). 1 and *ca, 0 when there is
 * none (the model then says why), or -ENOMEM. */
static int pick_ca(struct hnv_sync *s, const char *rd, uint32_t vsid, struct hnv_hmap *taken,
		   struct hnv_ip *ca)
{
	char pfx[HNV_NAME_MAX + 32];
	snprintf(pfx, sizeof(pfx), "rd/%s/pool/", rd);
	size_t pl = strlen(pfx);
	uint32_t best = 0;
	bool found = false;
	HNV_HMAP_FOREACH(n, &s->mirror)
	{
		const struct sync_val *v = n->val;
		struct hnv_conf_cmd c;
		if (strncmp(n->key, pfx, pl) != 0 || !v->cmd)
			continue;
		sync_cmd_get(v->cmd, &c);
		if (c.u.pool.vsid == vsid && pool_free_addr(s, rd, &c, taken, found, &best))
			found = true;
	}
	if (!found)
		return 0;
	uint8_t v4[4] = {(uint8_t)(best >> 24), (uint8_t)(best >> 16), (uint8_t)(best >> 8),
			 (uint8_t)best};
	hnv_ip_from_v4(ca, v4);
	char k[SYNC_KEY_MAX];
	if (sync_alloc_key(rd, vsid, ca, k, sizeof(k)) || hnv_hmap_put(taken, k, NULL, NULL))
		return -ENOMEM;
	return 1;
}

/* ---- the objects of the validated view ---- */

/* The name a port add or a lookup add/set finds its completed object by in
 * the validated view: a port by name, a record by VSID and CA (by VSID and
 * MAC without CA). */
static void found_name(const struct hnv_conf_cmd *c, char *buf, size_t len)
{
	char a[64];
	if (c->kind == HNV_CONF_PORT_ADD) {
		snprintf(buf, len, "port %s", c->u.port.name);
		return;
	}
	if (hnv_ip_is_unspec(&c->u.lookup.ca))
		hnv_fmt_mac(&c->u.lookup.mac, a, sizeof(a));
	else
		hnv_fmt_ip(&c->u.lookup.ca, a, sizeof(a));
	snprintf(buf, len, "lookup %u %s", c->u.lookup.vsid, a);
}

static bool wants_found(const struct hnv_conf_cmd *c)
{
	return c->kind == HNV_CONF_PORT_ADD || c->kind == HNV_CONF_LOOKUP_ADD ||
	       c->kind == HNV_CONF_LOOKUP_SET;
}

static void found_unref(void *v)
{
	sync_cmd_unref(v);
}

struct found_ctx {
	struct hnv_hmap *found;
	int rc;
};

static int found_cb(const struct hnv_conf_cmd *c, void *arg)
{
	struct found_ctx *f = arg;
	if (c->kind != HNV_CONF_PORT_ADD && c->kind != HNV_CONF_LOOKUP_ADD)
		return 0;
	char name[HNV_NAME_MAX + 80];
	found_name(c, name, sizeof(name));
	struct hnv_hmap_node *n = hnv_hmap_find(f->found, name);
	if (!n || n->val)
		return 0; /* not asked for, or the first one is taken */
	if (!(n->val = sync_cmd_new(c)))
		return f->rc = -ENOMEM;
	return 0;
}

/* Fills found with the objects the validation made for the port and lookup
 * adds among cmds: the transaction's new objects. 0 or -ENOMEM. */
static int found_fill(struct hnv_hmap *found, const struct hnv_conf_cmd *cmds, const bool *is_cmd,
		      size_t n, struct hnv_model_txn *t)
{
	for (size_t i = 0; i < n; i++) {
		char name[HNV_NAME_MAX + 80];
		if (!is_cmd[i] || !wants_found(&cmds[i]))
			continue;
		found_name(&cmds[i], name, sizeof(name));
		if (!hnv_hmap_find(found, name) && hnv_hmap_put(found, name, NULL, NULL))
			return -ENOMEM;
	}
	const struct hnv_model_change *ch;
	size_t nch;
	struct found_ctx f = {.found = found};
	int rc = found->n ? hnv_model_txn_changes(t, &ch, &nch) : 0;
	for (size_t i = 0; found->n && !rc && !f.rc && i < nch; i++)
		if (ch[i].new)
			found_cb(ch[i].new, &f);
	return rc ? rc : f.rc;
}

/* ---- commands into keys ---- */

struct planner {
	struct hnv_sync *s;
	struct sync_plan *p;
	struct index x;
	struct hnv_hmap taken; /* alloc keys picked in this transaction */
	struct hnv_hmap found; /* found_name -> struct sync_cmd of the view */
};

static int put_cmd(struct sync_plan *p, const char *key, const struct hnv_conf_cmd *c)
{
	char line[SYNC_LINE_MAX];
	int rc = hnv_conf_format(c, false, line, sizeof(line));
	return rc ? rc : op_set(p, key, line);
}

/* The lookup record of a port's CA i, pointing at pa. */
static int port_lookup_line(const struct hnv_conf_cmd *port, unsigned i, const struct hnv_ip *pa,
			    char *line, size_t len)
{
	struct hnv_conf_cmd c;
	memset(&c, 0, sizeof(c));
	c.kind = HNV_CONF_LOOKUP_ADD;
	c.u.lookup.vsid = port->u.port.vsid;
	c.u.lookup.ca = port->u.port.cas[i];
	c.u.lookup.pa = *pa;
	c.u.lookup.mac = port->u.port.mac;
	c.u.lookup.rule = HNV_RULE_ENCAP;
	c.u.lookup.type = HNV_TYPE_STATIC;
	snprintf(c.u.lookup.vm_name, sizeof(c.u.lookup.vm_name), "%s", port->u.port.name);
	return hnv_conf_format(&c, false, line, len);
}

/* Puts a port's key, lookup records (with pa; none without) and alloc keys. */
static int plan_port_put(struct sync_plan *p, const char *rd, const char *host,
			 const struct hnv_conf_cmd *port, const struct hnv_ip *pa)
{
	char k[SYNC_KEY_MAX], line[SYNC_LINE_MAX], v[HNV_SYNC_HOST_MAX + HNV_NAME_MAX + 2];
	int rc = sync_key_of(port, rd, host, k, sizeof(k));
	if (rc || (rc = put_cmd(p, k, port)))
		return rc;
	snprintf(v, sizeof(v), "%s/%s", host, port->u.port.name);
	for (unsigned i = 0; i < port->u.port.n_cas; i++) {
		const struct hnv_ip *ca = &port->u.port.cas[i];
		if ((rc = sync_alloc_key(rd, port->u.port.vsid, ca, k, sizeof(k))) ||
		    (rc = op_set(p, k, v)))
			return rc;
		if (!pa)
			continue;
		if ((rc = sync_lookup_key(rd, port->u.port.vsid, ca, NULL, k, sizeof(k))) ||
		    (rc = port_lookup_line(port, i, pa, line, sizeof(line))) ||
		    (rc = op_set(p, k, line)))
			return rc;
	}
	return 0;
}

/* Deletes a port's key, its lookup records and alloc keys (from the
 * port line stored at key). */
static int plan_port_del(struct hnv_sync *s, struct sync_plan *p, const char *key)
{
	const struct sync_val *v = hnv_hmap_get(&s->mirror, key);
	int rc = op_del(p, key);
	struct sync_key pk;
	if (rc || !v || !v->cmd || sync_key_parse(key, &pk) != SYNC_K_PORT)
		return rc;
	struct hnv_conf_cmd c;
	char k[SYNC_KEY_MAX];
	sync_cmd_get(v->cmd, &c);
	for (unsigned i = 0; i < c.u.port.n_cas; i++) {
		const struct hnv_ip *ca = &c.u.port.cas[i];
		if ((rc = sync_alloc_key(pk.rd, c.u.port.vsid, ca, k, sizeof(k))) ||
		    (rc = op_del(p, k)) ||
		    (rc = sync_lookup_key(pk.rd, c.u.port.vsid, ca, NULL, k, sizeof(k))))
			return rc;
		const struct sync_val *lv = hnv_hmap_get(&s->mirror, k);
		struct hnv_conf_cmd lc;
		if (!lv || !lv->cmd)
			continue;
		/* only the record the port made (same MAC) */
		sync_cmd_get(lv->cmd, &lc);
		if (hnv_mac_eq(&lc.u.lookup.mac, &c.u.port.mac) && (rc = op_del(p, k)))
			return rc;
	}
	return 0;
}

/* A guard key (uniqueness across routing domains) a new object takes:
 * refused when another domain holds it. */
static int guard(struct planner *pl, const char *key, const char *rd, const char *what, char *err,
		 size_t errlen)
{
	const struct sync_val *v = hnv_hmap_get(&pl->s->mirror, key);
	const struct hnv_hmap_node *o = hnv_hmap_find(&pl->p->ops, key);
	if ((v && !(o && !o->val)) || (o && o->val)) {
		hnv_seterr(err, errlen, "%s already exists in routing domain \"%s\"", what,
			   o && o->val ? (const char *)o->val : v->value);
		return -EEXIST;
	}
	return op_set(pl->p, key, rd);
}

static int plan_rdomain(struct planner *pl, const struct hnv_conf_cmd *c, const char *rd,
			const char *k, char *err, size_t errlen)
{
	char g[64], gk[SYNC_KEY_MAX], what[64];
	int rc;
	if (c->kind == HNV_CONF_RDOMAIN_ADD) {
		hnv_fmt_guid(&c->u.rdomain.rdid, g, sizeof(g));
		snprintf(gk, sizeof(gk), "guard/rdid/%s", g);
		snprintf(what, sizeof(what), "RDID %.40s", g);
		if ((rc = guard(pl, gk, rd, what, err, errlen)))
			return rc;
		return put_cmd(pl->p, k, c);
	}
	const struct sync_val *v = hnv_hmap_get(&pl->s->mirror, k);
	if (v && v->cmd) {
		struct hnv_conf_cmd old;
		sync_cmd_get(v->cmd, &old);
		hnv_fmt_guid(&old.u.rdomain.rdid, g, sizeof(g));
		snprintf(gk, sizeof(gk), "guard/rdid/%s", g);
		if ((rc = op_del(pl->p, gk)))
			return rc;
	}
	if ((rc = hnv_hmap_put(&pl->x.structural, rd, NULL, NULL)))
		return rc;
	return op_del(pl->p, k);
}

static int plan_vsubnet(struct planner *pl, const struct hnv_conf_cmd *c, const char *rd,
			const char *k, char *err, size_t errlen)
{
	char gk[64], what[64];
	bool add = c->kind == HNV_CONF_VSUBNET_ADD;
	snprintf(gk, sizeof(gk), "guard/vsid/%u", c->u.vsubnet.vsid);
	snprintf(what, sizeof(what), "VSID %u", c->u.vsubnet.vsid);
	int rc = add ? guard(pl, gk, rd, what, err, errlen) : op_del(pl->p, gk);
	if (rc)
		return rc;
	if (add)
		return put_cmd(pl->p, k, c);
	if ((rc = hnv_hmap_put(&pl->x.structural, rd, NULL, NULL)))
		return rc;
	return op_del(pl->p, k);
}

/* pool del: addresses held on other hosts are not ports of the view: their
 * alloc keys name them. 0 or -EBUSY. */
static int pool_in_use(struct hnv_sync *s, const char *rd, const char *k, const char *name,
		       char *err, size_t errlen)
{
	const struct sync_val *v = hnv_hmap_get(&s->mirror, k);
	if (!v || !v->cmd)
		return 0;
	struct hnv_conf_cmd pc;
	char pfx[SYNC_KEY_MAX];
	sync_cmd_get(v->cmd, &pc);
	snprintf(pfx, sizeof(pfx), "rd/%s/alloc/%u/", rd, pc.u.pool.vsid);
	size_t pl = strlen(pfx);
	uint32_t lo = ip4(&pc.u.pool.range.first), hi = ip4(&pc.u.pool.range.last);
	HNV_HMAP_FOREACH(n, &s->mirror)
	{
		const struct sync_val *a = n->val;
		struct hnv_ip ip;
		if (strncmp(n->key, pfx, pl) || hnv_parse_ip(n->key + pl, &ip) ||
		    !hnv_ip_is_v4(&ip) || ip4(&ip) < lo || ip4(&ip) > hi)
			continue;
		hnv_seterr(err, errlen,
			   "pool del: pool \"%s\" is in use: %s holds %s (delete the port first)",
			   name, a->value, n->key + pl);
		return -EBUSY;
	}
	return 0;
}

static int plan_pool(struct planner *pl, const struct hnv_conf_cmd *c, const char *rd,
		     const char *k, char *err, size_t errlen)
{
	char gk[64], what[64];
	bool add = c->kind == HNV_CONF_POOL_ADD;
	if (!sync_name_ok(c->u.pool.name)) {
		hnv_seterr(err, errlen, "pool name \"%s\" cannot be an etcd key", c->u.pool.name);
		return -EINVAL;
	}
	snprintf(gk, sizeof(gk), "guard/pool/%.50s", c->u.pool.name);
	snprintf(what, sizeof(what), "pool \"%.40s\"", c->u.pool.name);
	int rc = add ? guard(pl, gk, rd, what, err, errlen) : op_del(pl->p, gk);
	if (rc)
		return rc;
	if (add)
		return put_cmd(pl->p, k, c);
	if ((rc = pool_in_use(pl->s, rd, k, c->u.pool.name, err, errlen)) ||
	    (rc = hnv_hmap_put(&pl->x.structural, rd, NULL, NULL)))
		return rc;
	return op_del(pl->p, k);
}

static int plan_port(struct planner *pl, const struct hnv_conf_cmd *c, const char *rd,
		     const char *k, char *err, size_t errlen)
{
	const char *name = c->u.port.name;
	if (c->kind == HNV_CONF_PORT_DEL) {
		char key[SYNC_KEY_MAX];
		const char *pk = hnv_hmap_get(&pl->x.port, name);
		if (!pk) {
			hnv_seterr(err, errlen, "port del: port \"%s\" not found", name);
			return -ENOENT;
		}
		snprintf(key, sizeof(key), "%s", pk);
		void *old;
		if (hnv_hmap_del(&pl->x.port, name, &old))
			free(old);
		return plan_port_del(pl->s, pl->p, key);
	}
	if (!sync_name_ok(name)) {
		hnv_seterr(err, errlen, "port name \"%s\" cannot be an etcd key", name);
		return -EINVAL;
	}
	char fname[HNV_NAME_MAX + 80];
	found_name(c, fname, sizeof(fname));
	const struct sync_cmd *got = hnv_hmap_get(&pl->found, fname);
	if (!got) {
		hnv_seterr(err, errlen, "port add: port \"%s\" missing after validation", name);
		return -EINVAL;
	}
	struct hnv_conf_cmd port;
	struct hnv_ip pa;
	bool has_pa = sync_my_pa(pl->s, &pa);
	int rc = sync_map_put_str(&pl->x.port, name, k);
	sync_cmd_get(got, &port);
	return rc ? rc : plan_port_put(pl->p, rd, pl->s->host, &port, has_pa ? &pa : NULL);
}

static int plan_lookup(struct planner *pl, const struct hnv_conf_cmd *c, const char *k, char *err,
		       size_t errlen)
{
	if (c->kind == HNV_CONF_LOOKUP_DEL)
		return op_del(pl->p, k);
	char fname[HNV_NAME_MAX + 80];
	found_name(c, fname, sizeof(fname));
	const struct sync_cmd *got = hnv_hmap_get(&pl->found, fname);
	if (!got) {
		hnv_seterr(err, errlen, "lookup: record missing after validation");
		return -EINVAL;
	}
	struct hnv_conf_cmd rec;
	sync_cmd_get(got, &rec);
	return put_cmd(pl->p, k, &rec);
}

/* gateway add/del, gateway ca/ca-del (this host's, or with --pool the
 * pool's: its gw key comes with the index key pool/NAME/tenant/R) */
static int plan_gateway(struct planner *pl, const struct hnv_conf_cmd *c, const char *rd,
			const char *k)
{
	if (c->kind == HNV_CONF_GATEWAY_CA)
		return put_cmd(pl->p, k, c);
	if (c->kind == HNV_CONF_GATEWAY_CA_DEL)
		return op_del(pl->p, k);
	char tk[SYNC_KEY_MAX];
	const char *pool = c->u.gateway.pool;
	int rc = *pool ? sync_pool_tenant_key(pool, rd, tk, sizeof(tk)) : 0;
	if (rc)
		return rc;
	if (c->kind == HNV_CONF_GATEWAY_ADD) {
		if (*pool && (rc = op_set(pl->p, tk, rd)))
			return rc;
		return put_cmd(pl->p, k, c);
	}
	if (*pool && (rc = op_del(pl->p, tk)))
		return rc;
	/* the routes its holder learned (pool_tenants.c), if published: its
	 * compare makes the txn retry once the mirror has a late one */
	char lk[SYNC_KEY_MAX];
	if (*pool && snprintf(lk, sizeof(lk), "pool/%s/learned/%s", pool, rd) < (int)sizeof(lk) &&
	    (rc = op_del(pl->p, lk)))
		return rc;
	char pfx[SYNC_KEY_MAX];
	snprintf(pfx, sizeof(pfx), "rd/%s/gwca/%s%s/", rd, *pool ? "@" : "",
		 *pool ? pool : pl->s->host);
	size_t pl_ = strlen(pfx);
	HNV_HMAP_FOREACH(n, &pl->s->mirror)
	{
		if (strncmp(n->key, pfx, pl_) == 0 && (rc = op_del(pl->p, n->key)))
			return rc;
	}
	return op_del(pl->p, k);
}

/* s2s add/del --pool: the tunnel's line with its secret (the PSK), which
 * the member that holds the tenant gives its charon. Whoever may read the
 * prefix in etcd may read it (docs/gateway-pool.md); the line is wiped
 * here and never logged. */
static int plan_s2s(struct planner *pl, const struct hnv_conf_cmd *c, const char *k)
{
	if (c->kind == HNV_CONF_S2S_DEL)
		return op_del(pl->p, k);
	char line[SYNC_LINE_MAX];
	int rc = hnv_conf_format(c, true, line, sizeof(line));
	if (rc == 0)
		rc = op_set(pl->p, k, line);
	explicit_bzero(line, sizeof(line));
	return rc;
}

/* The etcd operations of one validated command of routing domain rd. */
static int plan_cmd(struct planner *pl, const struct hnv_conf_cmd *c, const char *rd, char *err,
		    size_t errlen)
{
	char k[SYNC_KEY_MAX] = "";
	if (c->kind != HNV_CONF_PORT_DEL && (!*rd || !sync_name_ok(rd))) {
		hnv_seterr(err, errlen, "cannot share an object of routing domain \"%s\" in etcd",
			   *rd ? rd : "?");
		return -EINVAL;
	}
	enum sync_kt t = sync_kt_of_kind(c->kind);
	int rc = c->kind == HNV_CONF_PORT_DEL ? 0 : sync_key_of(c, rd, pl->s->host, k, sizeof(k));
	if (rc == -EINVAL || t == SYNC_K_OTHER) {
		hnv_seterr(err, errlen, "not a shared object");
		return -EINVAL;
	}
	if (rc)
		return rc;
	switch (t) {
	case SYNC_K_RDOMAIN:
		return plan_rdomain(pl, c, rd, k, err, errlen);
	case SYNC_K_VSUBNET:
		return plan_vsubnet(pl, c, rd, k, err, errlen);
	case SYNC_K_POOL:
		return plan_pool(pl, c, rd, k, err, errlen);
	case SYNC_K_PORT:
		return plan_port(pl, c, rd, k, err, errlen);
	case SYNC_K_LOOKUP:
		return plan_lookup(pl, c, k, err, errlen);
	case SYNC_K_ROUTE:
		return c->kind == HNV_CONF_ROUTE_DEL ? op_del(pl->p, k) : put_cmd(pl->p, k, c);
	case SYNC_K_S2S:
		return plan_s2s(pl, c, k);
	default:
		return plan_gateway(pl, c, rd, k);
	}
}

/* ---- a transaction of shared lines ---- */

static void lines_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		if (v[i]) {
			explicit_bzero(v[i], strlen(v[i]));
			free(v[i]);
		}
	free(v);
}

/* Parses the lines: their routing domains (into rds and pl->x.touched),
 * and addresses for port adds without --ca (into the command and its
 * line, copied into out). 0 or a negative errno with err. */
static int plan_parse(struct planner *pl, const char *const *lines, size_t n,
		      struct hnv_conf_cmd *cmds, bool *is_cmd, char (*rds)[HNV_NAME_MAX + 1],
		      char **out, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		char msg[512], fixed[SYNC_LINE_MAX];
		const char *line = lines[i];
		int rc = hnv_conf_parse_line(lines[i], &cmds[i], msg, sizeof(msg));
		if (rc < 0) {
			hnv_seterr(err, errlen, "line %zu: %s", i + 1, msg);
			return rc;
		}
		is_cmd[i] = rc == 1;
		if (is_cmd[i] && (rc = cmd_rd(&pl->x, &cmds[i], rds[i])))
			return rc;
		if (is_cmd[i] && *rds[i] && (rc = hnv_hmap_put(&pl->x.touched, rds[i], NULL, NULL)))
			return rc;
		struct hnv_conf_cmd *c = &cmds[i];
		struct hnv_ip ca;
		if (is_cmd[i] && *rds[i] && c->kind == HNV_CONF_PORT_ADD && c->u.port.n_cas == 0 &&
		    (rc = pick_ca(pl->s, rds[i], c->u.port.vsid, &pl->taken, &ca)) != 0) {
			char a[64];
			if (rc < 0)
				return rc;
			hnv_fmt_ip(&ca, a, sizeof(a));
			snprintf(fixed, sizeof(fixed), "%s --ca %s", lines[i], a);
			line = fixed;
			c->u.port.cas[0] = ca;
			c->u.port.n_cas = 1;
		}
		if (!(out[i] = strdup(line)))
			return -ENOMEM;
	}
	return 0;
}

/* The lines applied to the view (this host's routing domains and the
 * touched ones, as the mirror has them), and the objects they made into
 * pl->found. 0, or a negative errno with err. */
static int plan_validate(struct planner *pl, char *const *lines, size_t n,
			 const struct hnv_conf_cmd *cmds, const bool *is_cmd, char *err,
			 size_t errlen)
{
	struct hnv_hmap set = {0};
	struct hnv_model_txn *t = NULL;
	int rc = sync_interests(pl->s, &set);
	HNV_HMAP_FOREACH(r, &pl->x.touched)
	{
		if (!rc)
			rc = hnv_hmap_put(&set, r->key, NULL, NULL);
	}
	/* a gateway add: with every gateway pool's tenant, since one member
	 * may come to hold them all (VRF names, tables and corp devices are
	 * unique among the gateways it applies) */
	bool gw_add = false;
	for (size_t i = 0; i < n; i++)
		gw_add |= is_cmd[i] && cmds[i].kind == HNV_CONF_GATEWAY_ADD;
	HNV_HMAP_FOREACH(m, &pl->s->mirror)
	{
		const char *t = strncmp(m->key, "pool/", 5) == 0 ? m->key + 5 : NULL;
		const char *sl = t ? strchr(t, '/') : NULL;
		if (!rc && gw_add && sl && strncmp(sl, "/tenant/", 8) == 0 &&
		    sync_name_ok(sl + 8) && strlen(sl + 8) <= HNV_NAME_MAX)
			rc = hnv_hmap_put(&set, sl + 8, NULL, NULL);
	}
	char verr[512];
	if (!rc && (rc = sync_view(pl->s, &set, &t, verr, sizeof(verr))))
		hnv_seterr(err, errlen, "the shared policy in etcd does not validate here: %s",
			   verr);
	if (!rc)
		rc = hnv_model_txn_lines(t, (const char *const *)lines, n, err, errlen);
	if (!rc && (rc = found_fill(&pl->found, cmds, is_cmd, n, t)))
		hnv_seterr(err, errlen, "out of memory");
	hnv_model_txn_abort(t);
	hnv_hmap_clear(&set, NULL);
	return rc;
}

int sync_plan_lines(struct hnv_sync *s, const char *const *lines, size_t n, struct sync_plan *p,
		    char *err, size_t errlen)
{
	struct planner pl = {.s = s, .p = p};
	struct hnv_conf_cmd *cmds = calloc(n, sizeof(*cmds));
	char(*rds)[HNV_NAME_MAX + 1] = calloc(n, sizeof(*rds));
	bool *is_cmd = calloc(n, sizeof(*is_cmd));
	char **rewritten = calloc(n, sizeof(*rewritten));
	int rc = -ENOMEM;
	if (!cmds || !rds || !is_cmd || !rewritten || index_build(s, &pl.x))
		goto out;
	if ((rc = plan_parse(&pl, lines, n, cmds, is_cmd, rds, rewritten, err, errlen)) ||
	    (rc = plan_validate(&pl, rewritten, n, cmds, is_cmd, err, errlen)))
		goto out;
	for (size_t i = 0; i < n && !rc; i++)
		if (is_cmd[i])
			rc = plan_cmd(&pl, &cmds[i], rds[i], err, errlen);
	if (!rc)
		rc = plan_txn(s, p, &pl.x.touched, &pl.x.structural);
out:
	if (rc == -ENOMEM && !*err)
		hnv_seterr(err, errlen, "out of memory");
	if (cmds)
		explicit_bzero(cmds, n * sizeof(*cmds));
	free(cmds);
	free(rds);
	free(is_cmd);
	lines_free(rewritten, n);
	hnv_hmap_clear(&pl.taken, NULL);
	hnv_hmap_clear(&pl.found, found_unref);
	index_free(&pl.x);
	return rc;
}

/* ---- port move ---- */

/* port move NAME --to HOST */
/* The key of port name: this host's, else the only one of that name.
 * 0, -ENOENT or -EINVAL with err. */
static int move_source(struct hnv_sync *s, const char *name, const char **key, char *err,
		       size_t errlen)
{
	int found = 0;
	*key = NULL;
	HNV_HMAP_FOREACH(n, &s->mirror)
	{
		struct sync_key k;
		if (sync_key_parse(n->key, &k) != SYNC_K_PORT || strcmp(k.rest, name) != 0)
			continue;
		*key = n->key;
		if (strcmp(k.host, s->host) == 0) {
			found = 1;
			break;
		}
		found++;
	}
	if (found == 0) {
		hnv_seterr(err, errlen, "port move: port \"%s\" not found in etcd", name);
		return -ENOENT;
	}
	if (found > 1) {
		hnv_seterr(err, errlen,
			   "port move: several hosts have a port \"%s\": run it on the source host",
			   name);
		return -EINVAL;
	}
	return 0;
}

_Static_assert(HNV_CONF_HOST_MAX == HNV_SYNC_HOST_MAX,
	       "port move host names are shared-policy host names");

int sync_plan_move(struct hnv_sync *s, const struct hnv_conf_port_move *mv, struct sync_plan *p,
		   char *err, size_t errlen)
{
	const char *name = mv->name, *to = mv->host;
	const char *key;
	int rc = move_source(s, name, &key, err, errlen);
	if (rc)
		return rc;
	struct sync_key k;
	char pk[SYNC_KEY_MAX];
	sync_key_parse(key, &k);
	if (strcmp(k.host, to) == 0) {
		hnv_seterr(err, errlen, "port move: port \"%s\" is already on host %s", name, to);
		return -EEXIST;
	}
	snprintf(pk, sizeof(pk), "hosts/%s/pa", to);
	const struct sync_val *pv = hnv_hmap_get(&s->mirror, pk);
	struct hnv_ip pa;
	if (!pv || hnv_parse_ip(pv->value, &pa)) {
		hnv_seterr(err, errlen, "port move: host \"%s\" has no PA in etcd (%s%s)", to,
			   s->prefix, pk);
		return -ENOENT;
	}
	const struct sync_val *v = hnv_hmap_get(&s->mirror, key);
	if (!v->cmd) {
		hnv_seterr(err, errlen, "port move: %s%s does not hold a port add line", s->prefix,
			   key);
		return -EINVAL;
	}
	struct hnv_conf_cmd c;
	char dst[SYNC_KEY_MAX];
	sync_cmd_get(v->cmd, &c);
	snprintf(dst, sizeof(dst), "rd/%s/port/%s/%s", k.rd, to, name);
	if (hnv_hmap_find(&s->mirror, dst)) {
		hnv_seterr(err, errlen, "port move: host %s already has a port \"%s\"", to, name);
		return -EEXIST;
	}
	if ((rc = op_del(p, key)) || (rc = plan_port_put(p, k.rd, to, &c, &pa)))
		return rc;
	struct hnv_hmap touched = {0}, structural = {0};
	if (!(rc = hnv_hmap_put(&touched, k.rd, NULL, NULL)))
		rc = plan_txn(s, p, &touched, &structural);
	hnv_hmap_clear(&touched, NULL);
	return rc;
}

/* ---- gateway move ---- */

int sync_plan_gw_move(struct hnv_sync *s, const struct hnv_conf_port_move *mv, struct sync_plan *p,
		      char *err, size_t errlen)
{
	const char *rd = mv->name, *to = mv->host;
	char pool[HNV_SYNC_HOST_MAX + 1] = "", k[SYNC_KEY_MAX];
	int found = 0;
	HNV_HMAP_FOREACH(n, &s->mirror)
	{
		const char *t = strncmp(n->key, "pool/", 5) == 0 ? n->key + 5 : NULL;
		const char *sl = t ? strchr(t, '/') : NULL;
		if (!sl || (size_t)(sl - t) > HNV_SYNC_HOST_MAX ||
		    strncmp(sl, "/tenant/", 8) != 0 || strcmp(sl + 8, rd) != 0)
			continue;
		snprintf(pool, sizeof(pool), "%.*s", (int)(sl - t), t);
		found++;
	}
	if (found != 1) {
		hnv_seterr(
			err, errlen,
			found ? "gateway move: routing domain \"%s\" is the tenant of several "
				"gateway pools"
			      : "gateway move: routing domain \"%s\" is no gateway pool's tenant "
				"(gateway add --pool)",
			rd);
		return found ? -EINVAL : -ENOENT;
	}
	snprintf(k, sizeof(k), "pool/%s/member/%s", pool, to);
	if (!hnv_hmap_find(&s->mirror, k)) {
		hnv_seterr(err, errlen, "gateway move: %s is no live member of gateway pool %s", to,
			   pool);
		return -ENOENT;
	}
	char mk[SYNC_KEY_MAX], tk[SYNC_KEY_MAX];
	snprintf(mk, sizeof(mk), "%s", k);
	snprintf(k, sizeof(k), "pool/%s/active/%s", pool, rd);
	const struct sync_val *a = hnv_hmap_get(&s->mirror, k);
	if (a && strcmp(a->value, to) == 0) {
		hnv_seterr(err, errlen, "gateway move: tenant %s is already active on %s", rd, to);
		return -EEXIST;
	}
	snprintf(tk, sizeof(tk), "pool/%s/tenant/%s", pool, rd);
	snprintf(k, sizeof(k), "pool/%s/moveto/%s", pool, rd);
	struct hnv_hmap touched = {0}, structural = {0};
	/* the member and the tenant as the mirror has them (compares go
	 * with the txn plan_txn makes) */
	int rc = op_set(p, k, to);
	if (!rc)
		rc = plan_txn(s, p, &touched, &structural);
	if (!rc)
		rc = cmp_key(s, p, mk);
	if (!rc)
		rc = cmp_key(s, p, tk);
	return rc;
}
