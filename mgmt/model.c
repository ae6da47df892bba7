/* model.c: the running configuration as config-text commands (model.h).
 *
 * A model holds one entry per configured object, in groups kept in
 * dependency order (replaying the groups in this order rebuilds the state):
 *   pa, proute, rdomain, vsubnet, pool, gateway, gateway ca, port, lookup,
 *   route, s2s, global.
 * An entry is the object's "add" command (for global: the merged
 * "global set"), stored as just the bytes of its hnv_conf_cmd union member.
 * Entries are immutable and reference-counted, so copying a model for a
 * transaction copies pointers; an index by identity (the fields a "del"
 * names) finds them.
 *
 * Validation is the datapath's own: a transaction's result is replayed into
 * a scratch datapath context through hnv_conf_batch_* (mgmt/conf_apply.h),
 * which checks references, duplicates and CA placement, and the gateway and
 * S2S rules. The model itself checks identities ("already exists", "not
 * found") and dependents before a delete.
 *
 * Threads: one control thread, registered with liburcu-qsbr (model.h).
 */
#include "model.h"

#include "conf_apply.h"
#include "../lib/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_FMT 8192 /* a formatted line; every valid command needs < 4096 */
#define DEPS_SHOWN 6      /* dependents named in a message */

/* ---- groups ---- */

enum group {
	G_PA,
	G_PROUTE,
	G_RDOMAIN,
	G_VSUBNET,
	G_POOL,
	G_GATEWAY,
	G_GATEWAY_CA,
	G_PORT,
	G_LOOKUP,
	G_ROUTE,
	G_S2S,
	G_GLOBAL,
	G__COUNT
};

#define MEMBER_SIZE(m) sizeof(((struct hnv_conf_cmd *)0)->u.m)

/* add: the kind an entry of the group stores; size: its union member. */
static const struct {
	enum hnv_conf_kind add;
	size_t size;
} groups[G__COUNT] = {
	[G_PA] = {HNV_CONF_PA_ADD, MEMBER_SIZE(pa)},
	[G_PROUTE] = {HNV_CONF_PROUTE_ADD, MEMBER_SIZE(proute)},
	[G_RDOMAIN] = {HNV_CONF_RDOMAIN_ADD, MEMBER_SIZE(rdomain)},
	[G_VSUBNET] = {HNV_CONF_VSUBNET_ADD, MEMBER_SIZE(vsubnet)},
	[G_POOL] = {HNV_CONF_POOL_ADD, MEMBER_SIZE(pool)},
	[G_GATEWAY] = {HNV_CONF_GATEWAY_ADD, MEMBER_SIZE(gateway)},
	[G_GATEWAY_CA] = {HNV_CONF_GATEWAY_CA, MEMBER_SIZE(gateway_ca)},
	[G_PORT] = {HNV_CONF_PORT_ADD, MEMBER_SIZE(port)},
	[G_LOOKUP] = {HNV_CONF_LOOKUP_ADD, MEMBER_SIZE(lookup)},
	[G_ROUTE] = {HNV_CONF_ROUTE_ADD, MEMBER_SIZE(route)},
	[G_S2S] = {HNV_CONF_S2S_ADD, MEMBER_SIZE(s2s)},
	[G_GLOBAL] = {HNV_CONF_GLOBAL_SET, MEMBER_SIZE(global)},
};

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
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].kind == k) {
			*g = t[i].g;
			*op = t[i].op;
			return 0;
		}
	return -EINVAL;
}

/* ---- entries ---- */

#define KEY_MAX 128

struct ent {
	unsigned refs;
	enum group g;
	unsigned origin;   /* line that wrote it, in the transaction of gen */
	unsigned long gen; /* the model generation that created it */
	uint64_t hash;
	size_t keylen;
	uint8_t key[KEY_MAX];
	/* groups[g].size bytes of the union member, aligned for its type */
	_Alignas(max_align_t) unsigned char obj[];
};

struct keyb {
	uint8_t b[KEY_MAX];
	size_t n;
};

static void key_put(struct keyb *k, const void *p, size_t n)
{
	memcpy(k->b + k->n, p, n); /* KEY_MAX bounds the largest key below */
	k->n += n;
}

static void key_str(struct keyb *k, const char *s)
{
	key_put(k, s, strnlen(s, HNV_NAME_MAX) + 1);
}

static void key_prefix(struct keyb *k, const struct hnv_prefix *p)
{
	key_put(k, p->addr.b, 16);
	key_put(k, &p->len, 1);
}

/* The identity of the object cmd names (an add or the del/set of it). The
 * largest key is a route's: 1 + 64 + 17 + 16 bytes. */
static void cmd_key(const struct hnv_conf_cmd *c, enum group g, struct keyb *k)
{
	uint8_t gb = (uint8_t)g;
	k->n = 0;
	key_put(k, &gb, 1);
	switch (g) {
	case G_PA:
		key_put(k, c->u.pa.addr.addr.b, 16);
		break;
	case G_PROUTE:
		key_prefix(k, &c->u.proute.prefix);
		key_put(k, c->u.proute.nexthop.b, 16);
		break;
	case G_RDOMAIN:
		key_str(k, c->u.rdomain.name);
		break;
	case G_VSUBNET:
		key_put(k, &c->u.vsubnet.vsid, 4);
		break;
	case G_POOL:
		key_str(k, c->u.pool.name);
		break;
	case G_GATEWAY:
		key_str(k, c->u.gateway.rdomain);
		break;
	case G_GATEWAY_CA: {
		/* one gateway CA per VSID and family */
		uint8_t v4 = hnv_ip_is_v4(&c->u.gateway_ca.ca);
		key_str(k, c->u.gateway_ca.rdomain);
		key_put(k, &c->u.gateway_ca.vsid, 4);
		key_put(k, &v4, 1);
		break;
	}
	case G_PORT:
		key_str(k, c->u.port.name);
		break;
	case G_LOOKUP:
		key_put(k, &c->u.lookup.vsid, 4);
		key_put(k, c->u.lookup.ca.b, 16);
		key_put(k, c->u.lookup.mac.b, 6);
		break;
	case G_ROUTE:
		key_str(k, c->u.route.rdomain);
		key_prefix(k, &c->u.route.prefix);
		key_put(k, c->u.route.nexthop.b, 16);
		break;
	case G_S2S:
		key_str(k, c->u.s2s.name);
		break;
	case G_GLOBAL:
	case G__COUNT:
		break;
	}
}

static uint64_t key_hash(const struct keyb *k)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0; i < k->n; i++)
		h = (h ^ k->b[i]) * 0x100000001b3ull;
	return h;
}

/* A new entry (one reference) holding cmd's member as group g's add. */
static struct ent *ent_new(const struct hnv_conf_cmd *c, enum group g, unsigned origin,
			   unsigned long gen)
{
	struct ent *e = malloc(sizeof(*e) + groups[g].size);
	if (e == NULL)
		return NULL;
	struct keyb k;
	cmd_key(c, g, &k);
	e->refs = 1;
	e->g = g;
	e->origin = origin;
	e->gen = gen;
	e->hash = key_hash(&k);
	e->keylen = k.n;
	memcpy(e->key, k.b, k.n);
	memcpy(e->obj, &c->u, groups[g].size);
	return e;
}

static void ent_put(struct ent *e)
{
	if (e == NULL || --e->refs > 0)
		return;
	if (e->g == G_S2S)
		explicit_bzero(e->obj, groups[e->g].size); /* the PSK */
	free(e);
}

/* The entry as a command (on the caller's stack: clear it after use when
 * it is an S2S tunnel). */
static void ent_cmd(const struct ent *e, struct hnv_conf_cmd *c)
{
	c->kind = groups[e->g].add;
	c->line = 0;
	memcpy(&c->u, e->obj, groups[e->g].size);
}

/* The member itself, for groups whose member has a named type. */
static const void *ent_obj(const struct ent *e)
{
	return e->obj;
}

/* ---- the model ---- */

struct list {
	struct ent **e;
	size_t n, cap;
};

struct hnv_model {
	unsigned long gen;
	struct list g[G__COUNT];
	struct ent **slot; /* open addressing by key hash, mask + 1 slots */
	size_t mask, used;
};

struct hnv_model *hnv_model_new(void)
{
	struct hnv_model *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->mask = 63;
	m->slot = calloc(m->mask + 1, sizeof(*m->slot));
	if (m->slot == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void hnv_model_free(struct hnv_model *m)
{
	if (m == NULL)
		return;
	for (int g = 0; g < G__COUNT; g++) {
		for (size_t i = 0; i < m->g[g].n; i++)
			ent_put(m->g[g].e[i]);
		free(m->g[g].e);
	}
	free(m->slot);
	free(m);
}

static struct hnv_model *model_copy(const struct hnv_model *src)
{
	struct hnv_model *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->gen = src->gen + 1;
	m->mask = src->mask;
	m->used = src->used;
	m->slot = malloc((m->mask + 1) * sizeof(*m->slot));
	if (m->slot == NULL)
		goto fail;
	memcpy(m->slot, src->slot, (m->mask + 1) * sizeof(*m->slot));
	for (int g = 0; g < G__COUNT; g++) {
		const struct list *s = &src->g[g];
		if (s->n == 0)
			continue;
		m->g[g].e = malloc(s->n * sizeof(*s->e));
		if (m->g[g].e == NULL)
			goto fail;
		memcpy(m->g[g].e, s->e, s->n * sizeof(*s->e));
		m->g[g].n = m->g[g].cap = s->n;
		for (size_t i = 0; i < s->n; i++)
			s->e[i]->refs++;
	}
	return m;
fail:
	hnv_model_free(m);
	return NULL;
}

static struct ent *model_find(const struct hnv_model *m, const struct keyb *k)
{
	uint64_t h = key_hash(k);
	for (size_t i = h & m->mask;; i = (i + 1) & m->mask) {
		struct ent *e = m->slot[i];
		if (e == NULL)
			return NULL;
		if (e->hash == h && e->keylen == k->n && memcmp(e->key, k->b, k->n) == 0)
			return e;
	}
}

static void slot_insert(struct ent **slot, size_t mask, struct ent *e)
{
	size_t i = e->hash & mask;
	while (slot[i] != NULL)
		i = (i + 1) & mask;
	slot[i] = e;
}

/* Appends e (taking over its reference) to its group and the index. */
static int model_append(struct hnv_model *m, struct ent *e)
{
	struct list *l = &m->g[e->g];
	if ((m->used + 1) * 2 > m->mask + 1) {
		size_t nmask = m->mask * 2 + 1;
		struct ent **ns = calloc(nmask + 1, sizeof(*ns));
		if (ns == NULL)
			return -ENOMEM;
		for (size_t i = 0; i <= m->mask; i++)
			if (m->slot[i] != NULL)
				slot_insert(ns, nmask, m->slot[i]);
		free(m->slot);
		m->slot = ns;
		m->mask = nmask;
	}
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		struct ent **na = realloc(l->e, ncap * sizeof(*na));
		if (na == NULL)
			return -ENOMEM;
		l->e = na;
		l->cap = ncap;
	}
	l->e[l->n++] = e;
	slot_insert(m->slot, m->mask, e);
	m->used++;
	return 0;
}

static size_t slot_of(const struct hnv_model *m, const struct ent *e)
{
	size_t i = e->hash & m->mask;
	while (m->slot[i] != e)
		i = (i + 1) & m->mask;
	return i;
}

/* Removes e from its group and the index and drops the model's reference. */
static void model_remove(struct hnv_model *m, struct ent *e)
{
	struct list *l = &m->g[e->g];
	for (size_t i = 0; i < l->n; i++)
		if (l->e[i] == e) {
			memmove(&l->e[i], &l->e[i + 1], (l->n - i - 1) * sizeof(*l->e));
			l->n--;
			break;
		}
	/* backward-shift deletion keeps every probe chain unbroken */
	size_t i = slot_of(m, e), j = i;
	m->slot[i] = NULL;
	for (;;) {
		j = (j + 1) & m->mask;
		struct ent *x = m->slot[j];
		if (x == NULL)
			break;
		size_t home = x->hash & m->mask;
		bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (between)
			continue;
		m->slot[i] = x;
		m->slot[j] = NULL;
		i = j;
	}
	m->used--;
	ent_put(e);
}

/* Puts n (same key, one reference) in old's place, dropping old. */
static void model_replace(struct hnv_model *m, struct ent *old, struct ent *n)
{
	struct list *l = &m->g[old->g];
	for (size_t i = 0; i < l->n; i++)
		if (l->e[i] == old)
			l->e[i] = n;
	m->slot[slot_of(m, old)] = n;
	ent_put(old);
}

/* ---- descriptions for messages ---- */

static const char *cmd_name(enum hnv_conf_kind k)
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
	};
	if ((size_t)k < sizeof(names) / sizeof(names[0]) && names[k])
		return names[k];
	return "?";
}

/* The object a command of group g names, e.g. `rdomain "blue"`. */
static void describe(const struct hnv_conf_cmd *c, enum group g, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], p[64], m[18];
	switch (g) {
	case G_PA:
		hnv_fmt_ip(&c->u.pa.addr.addr, a, sizeof(a));
		snprintf(buf, len, "provider address %s", a);
		return;
	case G_PROUTE:
		hnv_fmt_prefix(&c->u.proute.prefix, p, sizeof(p));
		hnv_fmt_ip(&c->u.proute.nexthop, a, sizeof(a));
		snprintf(buf, len, "provider route %s via %s", p, a);
		return;
	case G_RDOMAIN:
		snprintf(buf, len, "rdomain \"%s\"", c->u.rdomain.name);
		return;
	case G_VSUBNET:
		snprintf(buf, len, "VSID %u", c->u.vsubnet.vsid);
		return;
	case G_POOL:
		snprintf(buf, len, "pool \"%s\"", c->u.pool.name);
		return;
	case G_GATEWAY:
		snprintf(buf, len, "the gateway of rdomain \"%s\"", c->u.gateway.rdomain);
		return;
	case G_GATEWAY_CA:
		hnv_fmt_ip(&c->u.gateway_ca.ca, a, sizeof(a));
		snprintf(buf, len, "gateway CA %s in VSID %u (rdomain \"%s\")", a,
			 c->u.gateway_ca.vsid, c->u.gateway_ca.rdomain);
		return;
	case G_PORT:
		snprintf(buf, len, "port \"%s\"", c->u.port.name);
		return;
	case G_LOOKUP:
		hnv_fmt_ip(&c->u.lookup.ca, a, sizeof(a));
		hnv_fmt_mac(&c->u.lookup.mac, m, sizeof(m));
		snprintf(buf, len, "lookup record VSID %u CA %s MAC %s", c->u.lookup.vsid, a, m);
		return;
	case G_ROUTE:
		hnv_fmt_prefix(&c->u.route.prefix, p, sizeof(p));
		hnv_fmt_ip(&c->u.route.nexthop, a, sizeof(a));
		snprintf(buf, len, "route %s via %s in rdomain \"%s\"", p, a, c->u.route.rdomain);
		return;
	case G_S2S:
		snprintf(buf, len, "s2s \"%s\"", c->u.s2s.name);
		return;
	case G_GLOBAL:
	case G__COUNT:
		break;
	}
	snprintf(buf, len, "global settings");
}

/* ---- IPv4 helpers for pools ---- */

static uint32_t ip4_u32(const struct hnv_ip *a)
{
	return (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 | (uint32_t)a->b[14] << 8 |
	       a->b[15];
}

static bool ip4_in(const struct hnv_ip *a, const struct hnv_ip *first, const struct hnv_ip *last)
{
	uint32_t x = ip4_u32(a);
	return x >= ip4_u32(first) && x <= ip4_u32(last);
}

/* ---- dependents ---- */

struct deps {
	char text[512];
	size_t off;
	unsigned n;
};

static void deps_add(struct deps *d, const struct ent *e)
{
	if (d->n++ >= DEPS_SHOWN)
		return;
	struct hnv_conf_cmd c;
	char what[160];
	ent_cmd(e, &c);
	describe(&c, e->g, what, sizeof(what));
	int k = snprintf(d->text + d->off, sizeof(d->text) - d->off, "%s%s", d->off ? ", " : "",
			 what);
	if (k > 0)
		d->off = d->off + (size_t)k < sizeof(d->text) ? d->off + (size_t)k
							      : sizeof(d->text) - 1;
	explicit_bzero(&c, sizeof(c));
}

/* The entries that need e: what must go before e can. */
static void find_deps(const struct hnv_model *m, const struct ent *e, struct deps *d)
{
	struct hnv_conf_cmd c;
	ent_cmd(e, &c);
	memset(d, 0, sizeof(*d));
	if (e->g == G_RDOMAIN) {
		const char *name = c.u.rdomain.name;
		for (size_t i = 0; i < m->g[G_VSUBNET].n; i++) {
			const struct hnv_conf_vsubnet *v = ent_obj(m->g[G_VSUBNET].e[i]);
			if (strcmp(v->rdomain, name) == 0)
				deps_add(d, m->g[G_VSUBNET].e[i]);
		}
		for (size_t i = 0; i < m->g[G_ROUTE].n; i++) {
			const struct hnv_conf_route *r = ent_obj(m->g[G_ROUTE].e[i]);
			if (strcmp(r->rdomain, name) == 0)
				deps_add(d, m->g[G_ROUTE].e[i]);
		}
		for (size_t i = 0; i < m->g[G_GATEWAY].n; i++) {
			const struct hnv_conf_gateway *gw = ent_obj(m->g[G_GATEWAY].e[i]);
			if (strcmp(gw->rdomain, name) == 0)
				deps_add(d, m->g[G_GATEWAY].e[i]);
		}
	}
	if (e->g == G_POOL) {
		/* the ports holding an address of the pool */
		const struct hnv_conf_pool *pl = &c.u.pool;
		for (size_t i = 0; i < m->g[G_PORT].n; i++) {
			const struct hnv_conf_port *p = ent_obj(m->g[G_PORT].e[i]);
			for (unsigned k = 0; p->vsid == pl->vsid && k < p->n_cas; k++)
				if (hnv_ip_is_v4(&p->cas[k]) &&
				    ip4_in(&p->cas[k], &pl->range.first, &pl->range.last)) {
					deps_add(d, m->g[G_PORT].e[i]);
					break;
				}
		}
	}
	if (e->g == G_VSUBNET) {
		uint32_t vsid = c.u.vsubnet.vsid;
		for (size_t i = 0; i < m->g[G_POOL].n; i++) {
			const struct hnv_conf_pool *pl = ent_obj(m->g[G_POOL].e[i]);
			if (pl->vsid == vsid)
				deps_add(d, m->g[G_POOL].e[i]);
		}
		for (size_t i = 0; i < m->g[G_GATEWAY_CA].n; i++) {
			const struct hnv_conf_gateway_ca *ca = ent_obj(m->g[G_GATEWAY_CA].e[i]);
			if (ca->vsid == vsid)
				deps_add(d, m->g[G_GATEWAY_CA].e[i]);
		}
		for (size_t i = 0; i < m->g[G_PORT].n; i++) {
			const struct hnv_conf_port *p = ent_obj(m->g[G_PORT].e[i]);
			if (p->vsid == vsid)
				deps_add(d, m->g[G_PORT].e[i]);
		}
		for (size_t i = 0; i < m->g[G_LOOKUP].n; i++) {
			const struct hnv_conf_lookup *l = ent_obj(m->g[G_LOOKUP].e[i]);
			if (l->vsid == vsid)
				deps_add(d, m->g[G_LOOKUP].e[i]);
		}
		for (size_t i = 0; i < m->g[G_ROUTE].n; i++) {
			const struct hnv_conf_route *r = ent_obj(m->g[G_ROUTE].e[i]);
			if (r->vsid == vsid)
				deps_add(d, m->g[G_ROUTE].e[i]);
		}
	}
	if (e->g == G_RDOMAIN || e->g == G_GATEWAY) {
		const char *rd = e->g == G_RDOMAIN ? c.u.rdomain.name : c.u.gateway.rdomain;
		for (size_t i = 0; i < m->g[G_S2S].n; i++) {
			const struct hnv_conf_s2s *s = ent_obj(m->g[G_S2S].e[i]);
			if (strcmp(s->rdomain, rd) == 0)
				deps_add(d, m->g[G_S2S].e[i]);
		}
	}
	if (d->n > DEPS_SHOWN)
		snprintf(d->text + d->off, sizeof(d->text) - d->off, " and %u more",
			 d->n - DEPS_SHOWN);
	explicit_bzero(&c, sizeof(c)); /* e may be a tunnel */
}

/* ---- changes ---- */

static void merge_global(struct hnv_conf_global *g, const struct hnv_conf_global *s)
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

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The IPv4 CAs in use in vsid (ports, lookup records, gateway CAs), sorted;
 * malloc'd into *out. */
static int used_cas(const struct hnv_model *m, uint32_t vsid, uint32_t **out, size_t *n)
{
	size_t cap =
		m->g[G_PORT].n * HNV_PORT_MAX_CAS + m->g[G_LOOKUP].n + m->g[G_GATEWAY_CA].n + 1;
	uint32_t *a = malloc(cap * sizeof(*a));
	size_t k = 0;
	if (a == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < m->g[G_PORT].n; i++) {
		const struct hnv_conf_port *p = ent_obj(m->g[G_PORT].e[i]);
		for (unsigned j = 0; p->vsid == vsid && j < p->n_cas; j++)
			if (hnv_ip_is_v4(&p->cas[j]))
				a[k++] = ip4_u32(&p->cas[j]);
	}
	for (size_t i = 0; i < m->g[G_LOOKUP].n; i++) {
		const struct hnv_conf_lookup *l = ent_obj(m->g[G_LOOKUP].e[i]);
		if (l->vsid == vsid && hnv_ip_is_v4(&l->ca))
			a[k++] = ip4_u32(&l->ca);
	}
	for (size_t i = 0; i < m->g[G_GATEWAY_CA].n; i++) {
		const struct hnv_conf_gateway_ca *g = ent_obj(m->g[G_GATEWAY_CA].e[i]);
		if (g->vsid == vsid && hnv_ip_is_v4(&g->ca))
			a[k++] = ip4_u32(&g->ca);
	}
	qsort(a, k, sizeof(*a), cmp_u32);
	*out = a;
	*n = k;
	return 0;
}

static bool mac_used(const struct hnv_model *m, uint32_t vsid, const struct hnv_mac *mac)
{
	for (size_t i = 0; i < m->g[G_PORT].n; i++) {
		const struct hnv_conf_port *p = ent_obj(m->g[G_PORT].e[i]);
		if (p->vsid == vsid && hnv_mac_eq(&p->mac, mac))
			return true;
	}
	for (size_t i = 0; i < m->g[G_LOOKUP].n; i++) {
		const struct hnv_conf_lookup *l = ent_obj(m->g[G_LOOKUP].e[i]);
		if (l->vsid == vsid && hnv_mac_eq(&l->mac, mac))
			return true;
	}
	return false;
}

/* A "port add" without --ca takes the lowest free address of its VSID's
 * pools (in the order the pools were added; free: no port, lookup record
 * or gateway CA of the VSID has it). Without --mac it gets the locally
 * administered unicast MAC 0a:VV:a:b:c:d, a.b.c.d its first IPv4 CA (else
 * the last 4 bytes of its first CA), VV the VSID's three bytes XORed,
 * incremented while a port or record of the VSID has that MAC. The result
 * goes into *out, which is what the model stores and the config text shows:
 * replaying it gives the same addresses. c itself when nothing is missing. */
static int port_fill(const struct hnv_model *m, const struct hnv_conf_cmd *c,
		     struct hnv_conf_cmd *out, char *msg, size_t msglen)
{
	static const struct hnv_mac zero;
	const struct hnv_conf_port *in = &c->u.port;
	bool need_ca = in->n_cas == 0, need_mac = hnv_mac_eq(&in->mac, &zero);
	*out = *c;
	if (!need_ca && !need_mac)
		return 0;
	struct hnv_conf_port *s = &out->u.port;
	const struct hnv_conf_vsubnet *vs = NULL;
	for (size_t i = 0; i < m->g[G_VSUBNET].n && vs == NULL; i++) {
		const struct hnv_conf_vsubnet *v = ent_obj(m->g[G_VSUBNET].e[i]);
		if (v->vsid == s->vsid)
			vs = v;
	}
	if (vs == NULL) {
		hnv_seterr(msg, msglen,
		       "port add: port \"%s\": VSID %u is not configured: no VM subnet to attach "
		       "to (vsubnet add %u --rdomain NAME --prefix P first)",
		       s->name, s->vsid, s->vsid);
		return -ENOENT;
	}
	if (need_ca) {
		char pl[64] = "";
		if (vs->n_prefixes > 0)
			hnv_fmt_prefix(&vs->prefixes[0], pl, sizeof(pl));
		uint32_t *used;
		size_t n_used;
		int rc = used_cas(m, s->vsid, &used, &n_used);
		if (rc < 0) {
			hnv_seterr(msg, msglen, "port add: port \"%s\": out of memory", s->name);
			return rc;
		}
		unsigned n_pools = 0;
		uint64_t size = 0;
		bool found = false;
		for (size_t i = 0; i < m->g[G_POOL].n && !found; i++) {
			const struct hnv_conf_pool *p = ent_obj(m->g[G_POOL].e[i]);
			if (p->vsid != s->vsid)
				continue;
			n_pools++;
			uint32_t lo = ip4_u32(&p->range.first), hi = ip4_u32(&p->range.last);
			size += (uint64_t)hi - lo + 1;
			for (uint64_t x = lo; x <= hi; x++) {
				uint32_t a = (uint32_t)x;
				if (bsearch(&a, used, n_used, sizeof(*used), cmp_u32) != NULL)
					continue;
				uint8_t v4[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16),
						 (uint8_t)(a >> 8), (uint8_t)a};
				hnv_ip_from_v4(&s->cas[0], v4);
				s->n_cas = 1;
				found = true;
				break;
			}
		}
		free(used);
		if (n_pools == 0) {
			hnv_seterr(msg, msglen,
			       "port add: port \"%s\": VM subnet VSID %u (%s) has no IP pool to "
			       "take "
			       "an address from (pool add NAME --vsid %u --range FIRST-LAST first, "
			       "or "
			       "give --ca)",
			       s->name, s->vsid, pl, s->vsid);
			return -ENOENT;
		}
		if (!found) {
			hnv_seterr(msg, msglen,
			       "port add: port \"%s\": the IP pool%s of VSID %u (%s) %s exhausted: "
			       "all %llu addresses are in use",
			       s->name, n_pools > 1 ? "s" : "", s->vsid, pl,
			       n_pools > 1 ? "are" : "is", (unsigned long long)size);
			return -ENOSPC;
		}
	}
	if (need_mac) {
		const struct hnv_ip *base = &s->cas[0];
		for (unsigned i = 0; i < s->n_cas; i++)
			if (hnv_ip_is_v4(&s->cas[i])) {
				base = &s->cas[i];
				break;
			}
		uint8_t vv = (uint8_t)(s->vsid ^ s->vsid >> 8 ^ s->vsid >> 16);
		bool found = false;
		for (unsigned k = 0; k < 256 && !found; k++) {
			struct hnv_mac mac = {{0x0a, (uint8_t)(vv + k), base->b[12], base->b[13],
					       base->b[14], base->b[15]}};
			if (!mac_used(m, s->vsid, &mac)) {
				s->mac = mac;
				found = true;
			}
		}
		if (!found) {
			hnv_seterr(msg, msglen,
			       "port add: port \"%s\": no free MAC for it in VSID %u (give --mac)",
			       s->name, s->vsid);
			return -ENOSPC;
		}
	}
	return 0;
}

/* Applies one parsed command to m (add appends, del removes the matching
 * add, set replaces or merges). msg gets a message without line prefix. */
static int model_change(struct hnv_model *m, const struct hnv_conf_cmd *c, unsigned line, char *msg,
			size_t msglen)
{
	enum group g;
	enum op op;
	if (c->kind == HNV_CONF_PORT_MOVE) { /* a request to etcd (sync.c), not an object */
		hnv_seterr(msg, msglen, "%s", HNV_CONF_PORT_MOVE_REFUSED);
		return -EOPNOTSUPP;
	}
	if (classify(c->kind, &g, &op) < 0) {
		hnv_seterr(msg, msglen, "unknown command kind %d", (int)c->kind);
		return -EINVAL;
	}
	const char *cmd = cmd_name(c->kind);
	char what[200];
	struct hnv_conf_cmd filled;
	if (c->kind == HNV_CONF_PORT_ADD) {
		int frc = port_fill(m, c, &filled, msg, msglen);
		if (frc < 0)
			return frc;
		c = &filled;
	}
	describe(c, g, what, sizeof(what));
	struct keyb k;
	cmd_key(c, g, &k);
	struct ent *old = model_find(m, &k), *e;

	if (op == OP_ADD && old != NULL && g == G_GATEWAY_CA) {
		const struct hnv_conf_gateway_ca *o = ent_obj(old);
		char a[INET6_ADDRSTRLEN], n[INET6_ADDRSTRLEN];
		hnv_fmt_ip(&o->ca, a, sizeof(a));
		hnv_fmt_ip(&c->u.gateway_ca.ca, n, sizeof(n));
		hnv_seterr(msg, msglen,
		       "%s: CA %s: the gateway of rdomain \"%s\" already has CA %s in VSID %u (one "
		       "per address family; gateway ca-del first)",
		       cmd, n, o->rdomain, a, o->vsid);
		return -EEXIST;
	}
	if (op == OP_ADD && old != NULL) {
		hnv_seterr(msg, msglen, "%s: %s already exists", cmd, what);
		return -EEXIST;
	}
	if (op == OP_DEL || (op == OP_SET && g != G_GLOBAL)) {
		bool match = old != NULL;
		/* a gateway CA is found by VSID and family; del names the CA */
		if (match && g == G_GATEWAY_CA) {
			const struct hnv_conf_gateway_ca *ca = ent_obj(old);
			match = hnv_ip_eq(&ca->ca, &c->u.gateway_ca.ca);
		}
		if (!match) {
			hnv_seterr(msg, msglen, "%s: %s not found", cmd, what);
			return -ENOENT;
		}
	}
	if (op == OP_DEL) {
		struct deps d;
		find_deps(m, old, &d);
		if (d.n > 0) {
			hnv_seterr(msg, msglen, "%s: %s is in use by %s (delete %s first)", cmd, what,
			       d.text, d.n > 1 ? "them" : "it");
			return -EBUSY;
		}
		if (g == G_GATEWAY) {
			/* the gateway's CAs are part of it */
			const char *rd = c->u.gateway.rdomain;
			for (size_t i = m->g[G_GATEWAY_CA].n; i-- > 0;) {
				struct ent *x = m->g[G_GATEWAY_CA].e[i];
				if (strcmp(((const struct hnv_conf_gateway_ca *)ent_obj(x))
						   ->rdomain,
					   rd) == 0)
					model_remove(m, x);
			}
		}
		model_remove(m, old);
		return 0;
	}

	if (op == OP_SET && g == G_GLOBAL) {
		struct hnv_conf_cmd merged;
		memset(&merged, 0, sizeof(merged));
		merged.kind = HNV_CONF_GLOBAL_SET;
		if (old != NULL)
			merged.u.global = *(const struct hnv_conf_global *)ent_obj(old);
		merge_global(&merged.u.global, &c->u.global);
		e = ent_new(&merged, g, line, m->gen);
	} else {
		e = ent_new(c, g, line, m->gen);
	}
	if (e == NULL) {
		hnv_seterr(msg, msglen, "%s: %s: out of memory", cmd, what);
		return -ENOMEM;
	}
	if (old != NULL) {
		model_replace(m, old, e);
		return 0;
	}
	int rc = model_append(m, e);
	if (rc < 0) {
		ent_put(e);
		hnv_seterr(msg, msglen, "%s: %s: out of memory", cmd, what);
	}
	return rc;
}

/* Parses line (NUL-terminated) and applies it to m. err gets "line N: ". */
static int model_line(struct hnv_model *m, const char *text, unsigned line, char *err,
		      size_t errlen)
{
	char msg[600];
	struct hnv_conf_cmd c;
	int rc = hnv_conf_parse_line(text, &c, msg, sizeof(msg));
	if (rc == 1)
		rc = model_change(m, &c, line, msg, sizeof(msg));
	explicit_bzero(&c, sizeof(c));
	if (rc < 0)
		hnv_seterr(err, errlen, "line %u: %s", line, msg);
	return rc < 0 ? rc : 0;
}

/* Replays m into dp. Entries this generation wrote carry their line. */
static int replay(const struct hnv_model *m, struct hnv_dp *dp, char *err, size_t errlen)
{
	struct hnv_conf_batch *b;
	int rc = hnv_conf_batch_begin(dp, &b);
	if (rc < 0) {
		hnv_seterr(err, errlen, "out of memory");
		return rc;
	}
	struct hnv_conf_cmd c;
	for (int g = 0; g < G__COUNT && rc == 0; g++)
		for (size_t i = 0; i < m->g[g].n && rc == 0; i++) {
			const struct ent *e = m->g[g].e[i];
			ent_cmd(e, &c);
			c.line = e->gen == m->gen ? e->origin : 0;
			rc = hnv_conf_batch_apply(b, &c, err, errlen);
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

int hnv_model_foreach(const struct hnv_model *m, hnv_model_cb cb, void *arg)
{
	struct hnv_conf_cmd c;
	int rc = 0;
	for (int g = 0; g < G__COUNT && rc == 0; g++)
		for (size_t i = 0; i < m->g[g].n && rc == 0; i++) {
			ent_cmd(m->g[g].e[i], &c);
			rc = cb(&c, arg);
		}
	explicit_bzero(&c, sizeof(c));
	return rc;
}

/* The whole configuration must build a datapath context. */
static int validate(const struct hnv_model *m, char *err, size_t errlen)
{
	struct hnv_dp *dp = hnv_dp_new();
	if (dp == NULL) {
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = replay(m, dp, err, errlen);
	hnv_dp_free(dp);
	return rc;
}

int hnv_model_build_dp(const struct hnv_model *m, struct hnv_dp **out, char *err, size_t errlen)
{
	if (m == NULL || out == NULL) {
		hnv_seterr(err, errlen, "no model");
		return -EINVAL;
	}
	struct hnv_dp *dp = hnv_dp_new();
	if (dp == NULL) {
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = replay(m, dp, err, errlen);
	if (rc < 0) {
		hnv_dp_free(dp);
		return rc;
	}
	*out = dp;
	return 0;
}

int hnv_model_load(const char *text, size_t len, struct hnv_model **out, char *err, size_t errlen)
{
	if (out == NULL || (text == NULL && len > 0)) {
		hnv_seterr(err, errlen, "no text to load");
		return -EINVAL;
	}
	struct hnv_model *m = hnv_model_new();
	if (m == NULL) {
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* one line at a time into buf: the parser takes C strings */
	char buf[LINE_MAX_FMT];
	size_t off = 0;
	unsigned line = 0;
	int rc = 0;
	while (off < len && rc == 0) {
		const char *ls = text + off, *nl = memchr(ls, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - ls) : len - off;
		off += ll + (nl != NULL);
		line++;
		if (memchr(ls, '\0', ll) != NULL) {
			hnv_seterr(err, errlen, "line %u: NUL byte", line);
			rc = -EINVAL;
		} else if (ll >= sizeof(buf)) {
			hnv_seterr(err, errlen, "line %u: line too long (more than 4096 bytes)", line);
			rc = -EINVAL;
		} else {
			memcpy(buf, ls, ll);
			buf[ll] = '\0';
			rc = model_line(m, buf, line, err, errlen);
		}
	}
	explicit_bzero(buf, sizeof(buf));
	if (rc == 0)
		rc = validate(m, err, errlen);
	if (rc < 0) {
		hnv_model_free(m);
		return rc;
	}
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
	if (n > UINT32_MAX) {
		hnv_seterr(err, errlen, "too many lines");
		return -EINVAL;
	}
	struct hnv_model *m = model_copy(cur);
	if (m == NULL) {
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (lines[i] == NULL) {
			hnv_seterr(err, errlen, "line %zu: missing", i + 1);
			rc = -EINVAL;
			break;
		}
		rc = model_line(m, lines[i], (unsigned)(i + 1), err, errlen);
	}
	if (rc == 0)
		rc = validate(m, err, errlen);
	if (rc < 0) {
		hnv_model_free(m);
		return rc;
	}
	*next = m;
	return 0;
}

/* ---- text ---- */

/* A growing string that may hold secrets: growth copies and clears. */
struct sbuf {
	char *s;
	size_t n, cap;
	bool secret;
};

static int sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 4096;
		while (ncap < b->n + n + 1)
			ncap *= 2;
		char *ns = malloc(ncap);
		if (ns == NULL)
			return -ENOMEM;
		if (b->n > 0)
			memcpy(ns, b->s, b->n);
		if (b->s && b->secret)
			explicit_bzero(b->s, b->cap);
		free(b->s);
		b->s = ns;
		b->cap = ncap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
	return 0;
}

char *hnv_model_text(const struct hnv_model *m, bool show_secrets)
{
	if (m == NULL)
		return NULL;
	struct sbuf b = {NULL, 0, 0, show_secrets};
	char line[LINE_MAX_FMT];
	struct hnv_conf_cmd c;
	int rc = sbuf_add(&b, "", 0);
	for (int g = 0; g < G__COUNT && rc == 0; g++)
		for (size_t i = 0; i < m->g[g].n && rc == 0; i++) {
			ent_cmd(m->g[g].e[i], &c);
			rc = hnv_conf_format(&c, show_secrets, line, sizeof(line));
			if (rc == 0)
				rc = sbuf_add(&b, line, strlen(line));
			if (rc == 0)
				rc = sbuf_add(&b, "\n", 1);
		}
	explicit_bzero(&c, sizeof(c));
	explicit_bzero(line, sizeof(line));
	if (rc < 0) {
		if (b.s)
			explicit_bzero(b.s, b.cap);
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* ---- show ---- */

/* Adds member k (taking the reference to v, which may be NULL from a failed
 * allocation). */
static int add_obj(json_object *o, const char *k, json_object *v)
{
	if (v == NULL || json_object_object_add(o, k, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int add_str(json_object *o, const char *k, const char *v)
{
	return add_obj(o, k, json_object_new_string(v));
}

static int add_int(json_object *o, const char *k, int64_t v)
{
	return add_obj(o, k, json_object_new_int64(v));
}

static int add_bool(json_object *o, const char *k, bool v)
{
	return add_obj(o, k, json_object_new_boolean(v));
}

static int add_ip(json_object *o, const char *k, const struct hnv_ip *ip)
{
	char a[INET6_ADDRSTRLEN];
	hnv_fmt_ip(ip, a, sizeof(a));
	return add_str(o, k, a);
}

static int add_guid(json_object *o, const char *k, const struct hnv_guid *g)
{
	char t[40];
	hnv_fmt_guid(g, t, sizeof(t));
	return add_str(o, k, t);
}

static int add_mac(json_object *o, const char *k, const struct hnv_mac *m)
{
	char t[18];
	hnv_fmt_mac(m, t, sizeof(t));
	return add_str(o, k, t);
}

/* An array value; *arr receives it (owned by o). */
static int add_arr(json_object *o, const char *k, json_object **arr)
{
	*arr = json_object_new_array();
	if (*arr == NULL || json_object_object_add(o, k, *arr) < 0) {
		json_object_put(*arr);
		return -ENOMEM;
	}
	return 0;
}

static int arr_str(json_object *a, const char *v)
{
	json_object *s = json_object_new_string(v);
	if (s == NULL || json_object_array_add(a, s) < 0) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

static int arr_prefix(json_object *a, const struct hnv_prefix *p)
{
	char t[64];
	hnv_fmt_prefix(p, t, sizeof(t));
	return arr_str(a, t);
}

/* "10.10.0.0/16=172.31.0.0/16" */
static int arr_netmap(json_object *a, const struct hnv_s2s_netmap *m)
{
	char r[64], v[64], t[130];
	hnv_fmt_prefix(&m->real, r, sizeof(r));
	hnv_fmt_prefix(&m->mapped, v, sizeof(v));
	snprintf(t, sizeof(t), "%s=%s", r, v);
	return arr_str(a, t);
}

/* "aes256gcm16-prfsha384-ecp384,aes256-sha256-modp2048" as an array. */
static int arr_list(json_object *a, const char *list)
{
	char one[HNV_S2S_PROPOSALS_LEN + 1];
	int rc = 0;
	for (const char *p = list; *p && rc == 0;) {
		size_t n = strcspn(p, ",");
		memcpy(one, p, n);
		one[n] = '\0';
		rc = arr_str(a, one);
		p += n + (p[n] == ',');
	}
	return rc;
}

static const char *rule_text(enum hnv_rule r)
{
	return r == HNV_RULE_NAT    ? "TranslationMethodNat"
	       : r == HNV_RULE_NONE ? "TranslationMethodNone"
				    : "TranslationMethodEncap";
}

static const char *type_text(enum hnv_rec_type t)
{
	switch (t) {
	case HNV_TYPE_DYNAMIC:
		return "Dynamic";
	case HNV_TYPE_GATEWAY_WILDCARD:
		return "GatewayWildcard";
	case HNV_TYPE_L2ONLY:
		return "L2Only";
	case HNV_TYPE_STATIC:
		break;
	}
	return "Static";
}

static int row_lookup(json_object *r, const struct hnv_conf_lookup *s)
{
	char mac[13];
	snprintf(mac, sizeof(mac), "%02X%02X%02X%02X%02X%02X", s->mac.b[0], s->mac.b[1],
		 s->mac.b[2], s->mac.b[3], s->mac.b[4], s->mac.b[5]);
	char cid[40] = "";
	if (s->has_customer_id)
		hnv_fmt_guid(&s->customer_id, cid, sizeof(cid));
	int rc = add_ip(r, "CustomerAddress", &s->ca);
	rc = rc ? rc : add_int(r, "VirtualSubnetID", s->vsid);
	rc = rc ? rc : add_str(r, "MACAddress", mac);
	rc = rc ? rc : add_ip(r, "ProviderAddress", &s->pa);
	rc = rc ? rc : add_str(r, "CustomerID", cid);
	rc = rc ? rc : add_str(r, "Context", s->context);
	rc = rc ? rc : add_str(r, "Rule", rule_text(s->rule));
	rc = rc ? rc : add_str(r, "VMName", s->vm_name);
	rc = rc ? rc : add_bool(r, "UseVmMACAddress", s->use_vm_mac);
	rc = rc ? rc : add_str(r, "Type", type_text(s->type));
	return rc;
}

static int row_route(const struct hnv_model *m, json_object *r, const struct hnv_conf_route *s)
{
	struct hnv_conf_cmd c;
	memset(&c, 0, sizeof(c));
	memcpy(c.u.rdomain.name, s->rdomain, sizeof(c.u.rdomain.name));
	struct keyb k;
	cmd_key(&c, G_RDOMAIN, &k);
	const struct ent *rd = model_find(m, &k);
	char rdid[40] = "";
	if (rd != NULL) {
		ent_cmd(rd, &c);
		hnv_fmt_guid(&c.u.rdomain.rdid, rdid, sizeof(rdid));
	}
	char p[64];
	hnv_fmt_prefix(&s->prefix, p, sizeof(p));
	int rc = add_str(r, "RoutingDomainID", rdid);
	rc = rc ? rc : add_int(r, "VirtualSubnetID", s->vsid);
	rc = rc ? rc : add_str(r, "DestinationPrefix", p);
	rc = rc ? rc : add_ip(r, "NextHop", &s->nexthop);
	rc = rc ? rc : add_int(r, "Metric", s->metric);
	rc = rc ? rc : add_str(r, "rdomain", s->rdomain);
	return rc;
}

static int row_gateway(const struct hnv_model *m, json_object *r, const struct hnv_conf_gateway *g)
{
	json_object *cas;
	int rc = add_str(r, "rdomain", g->rdomain);
	rc = rc ? rc : add_str(r, "vrf", g->vrf);
	rc = rc ? rc : add_int(r, "table", g->table);
	rc = rc ? rc : add_str(r, "corp_dev", g->corp_dev);
	if (rc == 0 && g->has_nat_external)
		rc = add_ip(r, "nat_external", &g->nat_external);
	else if (rc == 0)
		rc = add_str(r, "nat_external", "");
	rc = rc ? rc : add_arr(r, "cas", &cas);
	for (size_t i = 0; i < m->g[G_GATEWAY_CA].n && rc == 0; i++) {
		const struct hnv_conf_gateway_ca *ca = ent_obj(m->g[G_GATEWAY_CA].e[i]);
		if (strcmp(ca->rdomain, g->rdomain) != 0)
			continue;
		json_object *o = json_object_new_object();
		if (o == NULL || json_object_array_add(cas, o) < 0) {
			json_object_put(o);
			return -ENOMEM;
		}
		rc = add_int(o, "vsid", ca->vsid);
		rc = rc ? rc : add_ip(o, "ca", &ca->ca);
	}
	return rc;
}

static int row_s2s(json_object *r, const struct hnv_conf_s2s *s, bool show_secrets)
{
	json_object *a;
	int rc = add_str(r, "name", s->name);
	rc = rc ? rc : add_str(r, "rdomain", s->rdomain);
	rc = rc ? rc : add_ip(r, "peer", &s->peer);
	if (rc == 0 && s->has_local_addr)
		rc = add_ip(r, "local_addr", &s->local_addr);
	else if (rc == 0)
		rc = add_str(r, "local_addr", "");
	rc = rc ? rc : add_str(r, "local_id", s->local_id);
	rc = rc ? rc : add_str(r, "remote_id", s->remote_id);
	rc = rc ? rc : add_str(r, "auth", s->auth == HNV_S2S_AUTH_PSK ? "psk" : "cert");
	if (rc == 0 && s->auth == HNV_S2S_AUTH_PSK && show_secrets)
		rc = add_str(r, "psk", s->psk);
	rc = rc ? rc : add_str(r, "cert", s->cert);
	rc = rc ? rc : add_str(r, "key", s->key);
	rc = rc ? rc : add_str(r, "ca_cert", s->ca_cert);
	rc = rc ? rc : add_arr(r, "ike_proposals", &a);
	rc = rc ? rc : arr_list(a, s->ike);
	rc = rc ? rc : add_arr(r, "esp_proposals", &a);
	rc = rc ? rc : arr_list(a, s->esp);
	rc = rc ? rc : add_arr(r, "remote_prefixes", &a);
	for (unsigned i = 0; i < s->n_remote && rc == 0; i++)
		rc = arr_prefix(a, &s->remote[i]);
	rc = rc ? rc : add_int(r, "dpd", s->dpd);
	rc = rc ? rc : add_arr(r, "local_netmap", &a);
	for (unsigned i = 0; i < s->n_local_netmap && rc == 0; i++)
		rc = arr_netmap(a, &s->local_netmap[i]);
	rc = rc ? rc : add_arr(r, "remote_netmap", &a);
	for (unsigned i = 0; i < s->n_remote_netmap && rc == 0; i++)
		rc = arr_netmap(a, &s->remote_netmap[i]);
	return rc;
}

/* The effective settings: the configured ones over the datapath defaults
 * (dp.h: gateway MAC 02:15:5d:00:00:01, FlowID on, uplink MTU 1500). */
static int row_global(json_object *r, const struct hnv_conf_global *set)
{
	struct hnv_conf_global g = {
		.gateway_mac = {{0x02, 0x15, 0x5d, 0x00, 0x00, 0x01}},
		.flowid = true,
		.uplink_mtu = 1500,
		.use_external_router = false,
	};
	if (set != NULL)
		merge_global(&g, set);
	int rc = add_bool(r, "use_external_router", g.use_external_router);
	rc = rc ? rc : add_mac(r, "gateway_mac", &g.gateway_mac);
	rc = rc ? rc : add_bool(r, "flowid", g.flowid);
	rc = rc ? rc : add_int(r, "uplink_mtu", g.uplink_mtu);
	return rc;
}

static int row_pool(const struct hnv_model *m, json_object *r, const struct hnv_conf_pool *p)
{
	json_object *a;
	char t[2 * INET6_ADDRSTRLEN + 2], b[INET6_ADDRSTRLEN];
	hnv_fmt_ip(&p->range.first, t, sizeof(t));
	hnv_fmt_ip(&p->range.last, b, sizeof(b));
	size_t o = strlen(t);
	snprintf(t + o, sizeof(t) - o, "-%s", b);
	unsigned in_use = 0;
	for (size_t i = 0; i < m->g[G_PORT].n; i++) {
		const struct hnv_conf_port *s = ent_obj(m->g[G_PORT].e[i]);
		for (unsigned k = 0; s->vsid == p->vsid && k < s->n_cas; k++)
			if (hnv_ip_is_v4(&s->cas[k]) &&
			    ip4_in(&s->cas[k], &p->range.first, &p->range.last))
				in_use++;
	}
	int rc = add_str(r, "name", p->name);
	rc = rc ? rc : add_int(r, "vsid", p->vsid);
	rc = rc ? rc : add_str(r, "range", t);
	rc = rc ? rc
		: add_int(r, "size",
			  (int64_t)ip4_u32(&p->range.last) - ip4_u32(&p->range.first) + 1);
	rc = rc ? rc : add_int(r, "in_use", in_use);
	rc = rc ? rc : add_arr(r, "dns", &a);
	for (unsigned i = 0; i < p->range.n_dns && rc == 0; i++) {
		hnv_fmt_ip(&p->range.dns[i], b, sizeof(b));
		rc = arr_str(a, b);
	}
	rc = rc ? rc : add_int(r, "lease", p->range.lease);
	return rc;
}

/* One row for entry e of group g. */
static int make_row(const struct hnv_model *m, enum group g, const struct ent *e, bool show_secrets,
		    json_object *r)
{
	struct hnv_conf_cmd c;
	json_object *a;
	int rc;
	ent_cmd(e, &c);
	switch (g) {
	case G_RDOMAIN:
		rc = add_str(r, "name", c.u.rdomain.name);
		rc = rc ? rc : add_guid(r, "rdid", &c.u.rdomain.rdid);
		break;
	case G_VSUBNET:
		rc = add_int(r, "vsid", c.u.vsubnet.vsid);
		rc = rc ? rc : add_str(r, "rdomain", c.u.vsubnet.rdomain);
		rc = rc ? rc : add_arr(r, "prefixes", &a);
		for (unsigned i = 0; i < c.u.vsubnet.n_prefixes && rc == 0; i++)
			rc = arr_prefix(a, &c.u.vsubnet.prefixes[i]);
		break;
	case G_LOOKUP:
		rc = row_lookup(r, &c.u.lookup);
		break;
	case G_ROUTE:
		rc = row_route(m, r, &c.u.route);
		break;
	case G_PORT:
		rc = add_str(r, "name", c.u.port.name);
		rc = rc ? rc : add_int(r, "vsid", c.u.port.vsid);
		rc = rc ? rc : add_mac(r, "mac", &c.u.port.mac);
		rc = rc ? rc : add_arr(r, "cas", &a);
		for (unsigned i = 0; i < c.u.port.n_cas && rc == 0; i++) {
			char t[INET6_ADDRSTRLEN];
			hnv_fmt_ip(&c.u.port.cas[i], t, sizeof(t));
			rc = arr_str(a, t);
		}
		break;
	case G_PA:
		rc = add_ip(r, "ProviderAddress", &c.u.pa.addr.addr);
		rc = rc ? rc : add_int(r, "PrefixLength", c.u.pa.addr.len);
		rc = rc ? rc : add_str(r, "InterfaceName", c.u.pa.dev);
		break;
	case G_PROUTE: {
		char p[64];
		hnv_fmt_prefix(&c.u.proute.prefix, p, sizeof(p));
		rc = add_str(r, "prefix", p);
		rc = rc ? rc : add_ip(r, "nexthop", &c.u.proute.nexthop);
		rc = rc ? rc : add_str(r, "dev", c.u.proute.dev);
		rc = rc ? rc : add_int(r, "metric", c.u.proute.metric);
		break;
	}
	case G_GATEWAY:
		rc = row_gateway(m, r, &c.u.gateway);
		break;
	case G_POOL:
		rc = row_pool(m, r, &c.u.pool);
		break;
	case G_S2S:
		rc = row_s2s(r, &c.u.s2s, show_secrets);
		break;
	case G_GLOBAL:
		rc = row_global(r, &c.u.global);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	explicit_bzero(&c, sizeof(c));
	return rc;
}

/* The records the datapath makes for ports (conftext.h, "port"): each CA
 * of a port without an explicit record of its VSID and CA, pointing at the
 * first IPv4 PA, else the first IPv6 PA; none without a PA. */
static int port_record_rows(const struct hnv_model *m, json_object *arr)
{
	const struct hnv_ip *pa = NULL;
	for (int pass = 0; pass < 2 && pa == NULL; pass++)
		for (size_t i = 0; i < m->g[G_PA].n && pa == NULL; i++) {
			/* the pa member starts with its struct hnv_prefix */
			const struct hnv_prefix *px = ent_obj(m->g[G_PA].e[i]);
			const struct hnv_ip *a = &px->addr;
			if (hnv_ip_is_v4(a) == (pass == 0))
				pa = a;
		}
	if (pa == NULL)
		return 0;
	int rc = 0;
	for (size_t i = 0; i < m->g[G_PORT].n && rc == 0; i++) {
		const struct hnv_conf_port *p = ent_obj(m->g[G_PORT].e[i]);
		for (unsigned k = 0; k < p->n_cas && k < HNV_PORT_MAX_CAS && rc == 0; k++) {
			struct hnv_conf_cmd c;
			memset(&c, 0, sizeof(c));
			c.kind = HNV_CONF_LOOKUP_ADD;
			c.u.lookup.vsid = p->vsid;
			c.u.lookup.ca = p->cas[k];
			bool explicit = false;
			for (size_t j = 0; j < m->g[G_LOOKUP].n && !explicit; j++) {
				const struct hnv_conf_lookup *l = ent_obj(m->g[G_LOOKUP].e[j]);
				explicit = l->vsid == p->vsid && hnv_ip_eq(&l->ca, &p->cas[k]);
			}
			if (explicit)
				continue;
			struct hnv_conf_lookup *s = &c.u.lookup;
			s->pa = *pa;
			s->mac = p->mac;
			s->rule = HNV_RULE_ENCAP;
			s->type = HNV_TYPE_STATIC;
			memcpy(s->vm_name, p->name, sizeof(s->vm_name));
			json_object *r = json_object_new_object();
			if (r == NULL || json_object_array_add(arr, r) < 0) {
				json_object_put(r);
				return -ENOMEM;
			}
			rc = row_lookup(r, s);
		}
	}
	return rc;
}

int hnv_model_show(const struct hnv_model *m, const char *what, bool show_secrets,
		   json_object **rows)
{
	static const struct {
		const char *what;
		enum group g;
	} views[] = {
		{"rdomains", G_RDOMAIN}, {"vsubnets", G_VSUBNET}, {"lookup", G_LOOKUP},
		{"routes", G_ROUTE},     {"ports", G_PORT},       {"pa", G_PA},
		{"proutes", G_PROUTE},   {"gateways", G_GATEWAY}, {"s2s", G_S2S},
		{"global", G_GLOBAL},    {"pools", G_POOL},
	};
	if (rows == NULL)
		return -EINVAL;
	*rows = NULL;
	if (m == NULL || what == NULL)
		return -EINVAL;
	size_t v = 0, nv = sizeof(views) / sizeof(views[0]);
	while (v < nv && strcmp(views[v].what, what) != 0)
		v++;
	if (v == nv)
		return -EINVAL; /* counters, config, revisions: the daemon's */
	enum group g = views[v].g;
	json_object *arr = json_object_new_array();
	if (arr == NULL)
		return -ENOMEM;
	int rc = 0;
	if (g == G_GLOBAL && m->g[G_GLOBAL].n == 0) {
		/* nothing set: the defaults */
		json_object *r = json_object_new_object();
		if (r == NULL || json_object_array_add(arr, r) < 0) {
			json_object_put(r);
			rc = -ENOMEM;
		} else {
			rc = row_global(r, NULL);
		}
	}
	for (size_t i = 0; i < m->g[g].n && rc == 0; i++) {
		json_object *r = json_object_new_object();
		if (r == NULL || json_object_array_add(arr, r) < 0) {
			json_object_put(r);
			rc = -ENOMEM;
			break;
		}
		rc = make_row(m, g, m->g[g].e[i], show_secrets, r);
	}
	if (g == G_LOOKUP && rc == 0)
		rc = port_record_rows(m, arr);
	if (rc < 0) {
		json_object_put(arr);
		return rc;
	}
	*rows = arr;
	return 0;
}
