/* model_index.c: the model's entries, keys, indexes, buckets and counts,
 * views over a model and its open transaction, and the operations that
 * change the overlay and move it into the model (model_int.h).
 *
 * Every operation prepares what it allocates first and then changes
 * lists, indexes and counts, so a failed allocation leaves them intact,
 * and commit, prepared by the operations before it, cannot fail.
 *
 * Threads: one control thread (model.h).
 */
#include "model_int.h"

#include "conf_conn.h"

#include "../lib/err.h"
#include "../lib/vec.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(_Alignof(struct ent) >= 8, "index slots keep a key number in 3 bits");

struct ent mdl_deleted;

/* ---- groups ---- */

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
	[G_GRE] = {HNV_CONF_GRE_ADD, MEMBER_SIZE(conn)},
	[G_L3] = {HNV_CONF_L3_ADD, MEMBER_SIZE(conn)},
	[G_BGP_PEER] = {HNV_CONF_BGP_PEER_ADD, MEMBER_SIZE(bgp_peer)},
};

/* ---- keys ---- */

#define M(o, m) ((const MEMBER_T(m) *)(o))

static void key_put(struct keyb *k, const void *p, size_t n)
{
	memcpy(k->b + k->n, p, n); /* KEY_MAX bounds the largest key */
	k->n += n;
}

static void key_kind(struct keyb *k, uint8_t kind)
{
	k->n = 0;
	key_put(k, &kind, 1);
}

/* A string of a size-byte field, terminated in the key even if not in s. */
static void key_str(struct keyb *k, const char *s, size_t size)
{
	key_put(k, s, strnlen(s, size - 1));
	key_put(k, "", 1);
}

static void key_prefix(struct keyb *k, const struct hnv_prefix *p)
{
	key_put(k, p->addr.b, 16);
	key_put(k, &p->len, 1);
}

void mdl_key_identity(const void *o, enum group g, struct keyb *k)
{
	key_kind(k, (uint8_t)g);
	switch (g) {
	case G_PA:
		key_put(k, M(o, pa)->addr.addr.b, 16);
		break;
	case G_PROUTE:
		key_prefix(k, &M(o, proute)->prefix);
		key_put(k, M(o, proute)->nexthop.b, 16);
		break;
	case G_RDOMAIN:
		key_str(k, M(o, rdomain)->name, sizeof(M(o, rdomain)->name));
		break;
	case G_VSUBNET:
		key_put(k, &M(o, vsubnet)->vsid, 4);
		break;
	case G_POOL:
		key_str(k, M(o, pool)->name, sizeof(M(o, pool)->name));
		break;
	case G_GATEWAY:
		key_str(k, M(o, gateway)->rdomain, sizeof(M(o, gateway)->rdomain));
		break;
	case G_GATEWAY_CA: {
		/* one gateway CA per VSID and family */
		uint8_t v4 = hnv_ip_is_v4(&M(o, gateway_ca)->ca);
		key_str(k, M(o, gateway_ca)->rdomain, sizeof(M(o, gateway_ca)->rdomain));
		key_put(k, &M(o, gateway_ca)->vsid, 4);
		key_put(k, &v4, 1);
		break;
	}
	case G_PORT:
		key_str(k, M(o, port)->name, sizeof(M(o, port)->name));
		break;
	case G_LOOKUP:
		key_put(k, &M(o, lookup)->vsid, 4);
		key_put(k, M(o, lookup)->ca.b, 16);
		key_put(k, M(o, lookup)->mac.b, 6);
		break;
	case G_ROUTE:
		key_str(k, M(o, route)->rdomain, sizeof(M(o, route)->rdomain));
		key_prefix(k, &M(o, route)->prefix);
		key_put(k, M(o, route)->nexthop.b, 16);
		break;
	case G_S2S:
		key_str(k, M(o, s2s)->name, sizeof(M(o, s2s)->name));
		break;
	case G_GRE:
	case G_L3:
		key_str(k, M(o, conn)->name, sizeof(M(o, conn)->name));
		break;
	case G_BGP_PEER:
		key_str(k, M(o, bgp_peer)->name, sizeof(M(o, bgp_peer)->name));
		break;
	case G_GLOBAL:
	case G__COUNT:
		break;
	}
}

void mdl_key_ca(uint32_t vsid, const struct hnv_ip *ca, struct keyb *k)
{
	key_kind(k, K_CA);
	key_put(k, &vsid, 4);
	key_put(k, ca->b, 16);
}

void mdl_key_mac(uint32_t vsid, const struct hnv_mac *mac, struct keyb *k)
{
	key_kind(k, K_MAC);
	key_put(k, &vsid, 4);
	key_put(k, mac->b, 6);
}

void mdl_key_vrf(const char *vrf, struct keyb *k)
{
	key_kind(k, K_VRF);
	key_str(k, vrf, HNV_DEV_MAX + 1);
}

void mdl_key_table(uint32_t table, struct keyb *k)
{
	key_kind(k, K_TABLE);
	key_put(k, &table, 4);
}

void mdl_key_devname(const char *name, struct keyb *k)
{
	key_kind(k, K_DEV);
	key_str(k, name, HNV_NAME_MAX + 1);
}

void mdl_key_dev(const void *o, struct keyb *k)
{
	const MEMBER_T(port) *p = o;
	mdl_key_devname(p->dev[0] ? p->dev : p->name, k);
}

void mdl_key_rdid(const struct hnv_guid *g, struct keyb *k)
{
	key_kind(k, K_RDID);
	key_put(k, g->b, 16);
}

/* What two GRE or L3 connections may not share (hnv_conf_conn_clash_key). */
void mdl_key_conn(const void *o, struct keyb *k)
{
	unsigned char b[HNV_CONN_CLASH_KEY_MAX];
	size_t n = hnv_conf_conn_clash_key(o, b);
	key_kind(k, K_CONN);
	key_put(k, b, n);
}

/* What tells tunnels to one peer apart: local address and identities.
 * The "any" tunnels of one local address are told apart by the remote ID
 * alone: charon picks one for a site by the identity the site sends. */
void mdl_key_s2sid(const void *o, struct keyb *k)
{
	const MEMBER_T(s2s) *s = o;
	uint8_t has = s->has_local_addr, mode = s->peer_any ? 2 : s->peer_host[0] ? 1 : 0;
	key_kind(k, K_S2SID);
	key_put(k, s->peer.b, 16);
	key_put(k, &has, 1);
	if (has)
		key_put(k, s->local_addr.b, 16);
	if (mode) {
		key_put(k, &mode, 1);
		key_str(k, s->peer_host, sizeof(s->peer_host));
	}
	if (mode != 2)
		key_str(k, s->local_id, sizeof(s->local_id));
	key_str(k, s->remote_id, sizeof(s->remote_id));
}

void mdl_bkey_vsid(uint32_t vsid, struct keyb *k)
{
	key_kind(k, B_VSID);
	key_put(k, &vsid, 4);
}

void mdl_bkey_rd(const char *rdomain, struct keyb *k)
{
	key_kind(k, B_RD);
	key_str(k, rdomain, HNV_NAME_MAX + 1);
}

uint64_t mdl_key_hash(const uint8_t *b, size_t n)
{
	/* eight bytes at a time, each word multiplied in, then a finalizer */
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
	}
	w = 0;
	memcpy(&w, b + i, n - i);
	h = (h ^ w) * 0x94d049bb133111ebull;
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ull;
	return h ^ (h >> 32);
}

static bool key_eq(const struct keyb *a, const struct keyb *b)
{
	return a->n == b->n && memcmp(a->b, b->b, a->n) == 0;
}

/* ---- entries ---- */

bool mdl_rec_has_ca(const struct ent *e)
{
	const MEMBER_T(lookup) *l = OBJ(e, lookup);
	return !hnv_ip_is_unspec(&l->ca) || l->type == HNV_TYPE_GATEWAY_WILDCARD;
}

/* Key number want of entry e into k (number 0 is its identity); returns
 * how many keys e has. */
static unsigned ent_key(const struct ent *e, unsigned want, struct keyb *k)
{
	unsigned n = 1;
	if (want == 0)
		mdl_key_identity(e->obj, (enum group)e->g, k);
	switch (e->g) {
	case G_RDOMAIN:
		if (want == n)
			mdl_key_rdid(&OBJ(e, rdomain)->rdid, k);
		n++;
		break;
	case G_GATEWAY:
		if (want == n)
			mdl_key_vrf(OBJ(e, gateway)->vrf, k);
		n++;
		if (want == n)
			mdl_key_table(OBJ(e, gateway)->table, k);
		n++;
		if (OBJ(e, gateway)->corp_dev[0]) {
			if (want == n)
				mdl_key_devname(OBJ(e, gateway)->corp_dev, k);
			n++;
		}
		break;
	case G_GATEWAY_CA:
		if (want == n)
			mdl_key_ca(OBJ(e, gateway_ca)->vsid, &OBJ(e, gateway_ca)->ca, k);
		n++;
		break;
	case G_PORT: {
		const MEMBER_T(port) *p = OBJ(e, port);
		for (unsigned i = 0; i < p->n_cas && i < HNV_PORT_MAX_CAS; i++, n++)
			if (want == n)
				mdl_key_ca(p->vsid, &p->cas[i], k);
		if (want == n)
			mdl_key_mac(p->vsid, &p->mac, k);
		n++;
		if (want == n)
			mdl_key_dev(p, k);
		n++;
		break;
	}
	case G_LOOKUP:
		if (mdl_rec_has_ca(e)) {
			if (want == n)
				mdl_key_ca(OBJ(e, lookup)->vsid, &OBJ(e, lookup)->ca, k);
			n++;
		}
		if (want == n)
			mdl_key_mac(OBJ(e, lookup)->vsid, &OBJ(e, lookup)->mac, k);
		n++;
		break;
	case G_S2S:
		if (want == n)
			mdl_key_s2sid(e->obj, k);
		n++;
		break;
	case G_GRE:
	case G_L3:
		if (want == n)
			mdl_key_conn(e->obj, k);
		n++;
		break;
	default:
		break;
	}
	return n;
}

static unsigned ent_nkeys(const struct ent *e)
{
	struct keyb k;
	return ent_key(e, ~0u, &k);
}

/* The dependency buckets of an entry of group g (at most two). */
static unsigned ent_deps(const void *o, enum group g, struct keyb k[2])
{
	switch (g) {
	case G_VSUBNET:
		mdl_bkey_rd(M(o, vsubnet)->rdomain, &k[0]);
		return 1;
	case G_POOL:
		mdl_bkey_vsid(M(o, pool)->vsid, &k[0]);
		return 1;
	case G_GATEWAY:
		mdl_bkey_rd(M(o, gateway)->rdomain, &k[0]);
		return 1;
	case G_GATEWAY_CA:
		mdl_bkey_vsid(M(o, gateway_ca)->vsid, &k[0]);
		mdl_bkey_rd(M(o, gateway_ca)->rdomain, &k[1]);
		return 2;
	case G_PORT:
		mdl_bkey_vsid(M(o, port)->vsid, &k[0]);
		return 1;
	case G_LOOKUP:
		mdl_bkey_vsid(M(o, lookup)->vsid, &k[0]);
		return 1;
	case G_ROUTE:
		mdl_bkey_vsid(M(o, route)->vsid, &k[0]);
		mdl_bkey_rd(M(o, route)->rdomain, &k[1]);
		return 2;
	case G_S2S:
		mdl_bkey_rd(M(o, s2s)->rdomain, &k[0]);
		return 1;
	case G_GRE:
	case G_L3:
		mdl_bkey_rd(M(o, conn)->rdomain, &k[0]);
		return 1;
	case G_BGP_PEER:
		mdl_bkey_rd(M(o, bgp_peer)->rdomain, &k[0]);
		return 1;
	default:
		return 0;
	}
}

/* The link slot of group g's entries in a bucket of kind bkind. */
static int dep_slot(enum group g, uint8_t bkind)
{
	return bkind == B_RD && (g == G_ROUTE || g == G_GATEWAY_CA) ? SLOT_DEP1 : SLOT_DEP0;
}

/* A lookup record's context is its member's last field, and mostly empty:
 * an entry stores the member up to the context's NUL (most of a record's
 * bytes otherwise). Only the tail padding may follow the context. */
#define CTX_OFF offsetof(MEMBER_T(lookup), context)
#define CTX_SIZE sizeof(((MEMBER_T(lookup) *)0)->context)
_Static_assert(MEMBER_SIZE(lookup) - (CTX_OFF + CTX_SIZE) < _Alignof(MEMBER_T(lookup)),
	       "a lookup record's context is its last field");

/* The bytes of member o (of group g) an entry stores. */
static size_t obj_size(const void *o, enum group g)
{
	if (g != G_LOOKUP)
		return groups[g].size;
	return CTX_OFF + strnlen(M(o, lookup)->context, CTX_SIZE - 1) + 1;
}

/* A new entry holding member o of group g. */
struct ent *mdl_ent_new(const void *o, enum group g, unsigned origin)
{
	size_t n = obj_size(o, g);
	struct ent *e = calloc(1, sizeof(*e) + n);
	if (e == NULL)
		return NULL;
	e->g = (uint8_t)g;
	e->origin = origin;
	memcpy(e->obj, o, n);
	if (g == G_LOOKUP)
		e->obj[n - 1] = '\0'; /* the context's end, even of a context that had none */
	return e;
}

void mdl_ent_free(struct ent *e)
{
	if (e == NULL)
		return;
	if (e->g == G_S2S)
		explicit_bzero(e->obj, groups[e->g].size); /* the PSK */
	free(e);
}

void mdl_ent_cmd(const struct ent *e, struct hnv_conf_cmd *c)
{
	size_t n = obj_size(e->obj, (enum group)e->g);
	c->kind = groups[e->g].add;
	c->line = 0;
	memcpy(&c->u, e->obj, n);
	memset((unsigned char *)&c->u + n, 0, groups[e->g].size - n);
}

/* ---- entry ids ---- */

/* Gives e an id in m's entry table (if it has none). */
static int ent_id(struct hnv_model *m, struct ent *e)
{
	if (e->id != 0)
		return 0;
	uint32_t id;
	if (m->n_free > 0) {
		id = m->free_ids[--m->n_free];
	} else {
		id = m->next_id ? m->next_id : 1;
		/* room to give every id back without allocating */
		if (id >= (1u << 29) - 1 || HNV_GROW(m->ents, m->cap_ents, (size_t)id + 1) < 0 ||
		    HNV_GROW(m->free_ids, m->cap_free, (size_t)id) < 0)
			return -ENOMEM;
		m->next_id = id + 1;
	}
	m->ents[id] = e;
	e->id = id;
	return 0;
}

/* Frees e, giving its id back. */
static void ent_drop(struct hnv_model *m, struct ent *e)
{
	if (e->id != 0) {
		m->ents[e->id] = NULL;
		m->free_ids[m->n_free++] = e->id;
	}
	mdl_ent_free(e);
}

/* ---- hash tables ---- */

#define SLOT_HASH(s) ((uint32_t)((s) >> 32))
#define SLOT_ID(s) ((uint32_t)(s) >> 3)
#define SLOT_KEY(s) ((unsigned)((s)&7))

static uint64_t slot_make(uint64_t h, const struct ent *e, unsigned key)
{
	return (h >> 32) << 32 | (uint64_t)e->id << 3 | key;
}

static void ix_put(struct eindex *x, uint64_t v)
{
	size_t i = SLOT_HASH(v) & x->mask;
	while (x->slot[i] != 0)
		i = (i + 1) & x->mask;
	x->slot[i] = v;
	x->used++;
}

/* Room for need keys without growing (at most half full). */
static int ix_reserve(struct eindex *x, size_t need)
{
	size_t size = x->slot ? x->mask + 1 : 0;
	if (x->slot && need <= size / 2)
		return 0;
	size_t ns = size ? size : 64;
	while (need > ns / 2)
		ns *= 2;
	uint64_t *s = calloc(ns, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	struct eindex n = {s, ns - 1, 0};
	for (size_t i = 0; i < size; i++)
		if (x->slot[i])
			ix_put(&n, x->slot[i]);
	free(x->slot);
	*x = n;
	return 0;
}

/* Indexes e (with an id) under each of its keys (room reserved). */
static void ix_add(struct eindex *x, const struct ent *e)
{
	struct keyb k;
	unsigned n = ent_key(e, 0, &k);
	for (unsigned i = 0; i < n; i++) {
		if (i > 0)
			ent_key(e, i, &k);
		ix_put(x, slot_make(mdl_key_hash(k.b, k.n), e, i));
	}
}

static void ix_del(struct eindex *x, const struct ent *e)
{
	struct keyb k;
	unsigned n = ent_key(e, 0, &k);
	for (unsigned t = 0; t < n; t++) {
		ent_key(e, t, &k);
		uint64_t v = slot_make(mdl_key_hash(k.b, k.n), e, t);
		size_t i = SLOT_HASH(v) & x->mask;
		while (x->slot[i] != v)
			i = (i + 1) & x->mask;
		/* backward-shift deletion keeps every probe chain unbroken */
		x->slot[i] = 0;
		for (size_t j = i;;) {
			j = (j + 1) & x->mask;
			if (x->slot[j] == 0)
				break;
			size_t home = SLOT_HASH(x->slot[j]) & x->mask;
			bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
			if (between)
				continue;
			x->slot[i] = x->slot[j];
			x->slot[j] = 0;
			i = j;
		}
		x->used--;
	}
}

static int ptab_reserve(struct ptab *t, size_t need)
{
	size_t size = t->s ? t->mask + 1 : 0;
	if (t->s && need <= size / 2)
		return 0;
	size_t ns = size ? size : 16;
	while (need > ns / 2)
		ns *= 2;
	struct pslot *s = calloc(ns, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < size; i++) {
		if (t->s[i].p == NULL)
			continue;
		size_t j = t->s[i].h & (ns - 1);
		while (s[j].p != NULL)
			j = (j + 1) & (ns - 1);
		s[j] = t->s[i];
	}
	free(t->s);
	t->s = s;
	t->mask = ns - 1;
	return 0;
}

/* Buckets and counted nodes both start with their hash and end with their
 * key; the table finds them by key. */
static void *ptab_find(const struct ptab *t, const struct keyb *k, uint64_t h, bool bucket)
{
	if (t->s == NULL)
		return NULL;
	for (size_t i = h & t->mask; t->s[i].p != NULL; i = (i + 1) & t->mask) {
		if (t->s[i].h != h)
			continue;
		const struct bucket *b = t->s[i].p;
		const struct cnode *c = t->s[i].p;
		size_t len = bucket ? b->keylen : c->len;
		const uint8_t *key = bucket ? b->key : c->key;
		if (len == k->n && memcmp(key, k->b, len) == 0)
			return t->s[i].p;
	}
	return NULL;
}

static void ptab_del(struct ptab *t, uint64_t h, const void *p)
{
	size_t i = h & t->mask;
	while (t->s[i].p != p)
		i = (i + 1) & t->mask;
	t->s[i].p = NULL;
	for (size_t j = i;;) {
		j = (j + 1) & t->mask;
		if (t->s[j].p == NULL)
			break;
		size_t home = t->s[j].h & t->mask;
		bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (between)
			continue;
		t->s[i] = t->s[j];
		t->s[j].p = NULL;
		i = j;
	}
	t->used--;
}

static void ptab_free(struct ptab *t)
{
	for (size_t i = 0; t->s && i <= t->mask; i++)
		free(t->s[i].p); /* counted nodes hold strings of records, no secrets */
	free(t->s);
	t->s = NULL;
	t->used = 0;
}

static struct bucket *bucket_get(const struct ptab *t, const struct keyb *k)
{
	return ptab_find(t, k, mdl_key_hash(k->b, k->n), true);
}

static int bucket_make(struct ptab *t, const struct keyb *k)
{
	uint64_t h = mdl_key_hash(k->b, k->n);
	if (ptab_find(t, k, h, true) != NULL)
		return 0;
	if (ptab_reserve(t, t->used + 1) < 0)
		return -ENOMEM;
	struct bucket *b = calloc(1, sizeof(*b) + k->n);
	if (b == NULL)
		return -ENOMEM;
	b->h = h;
	b->keylen = k->n;
	memcpy(b->key, k->b, k->n);
	size_t i = h & t->mask;
	while (t->s[i].p != NULL)
		i = (i + 1) & t->mask;
	t->s[i].h = h;
	t->s[i].p = b;
	t->used++;
	return 0;
}

enum hnv_conf_kind mdl_group_kind(enum group g)
{
	return groups[g].add;
}

/* ---- lists ---- */

static void gl_append(struct glist *l, struct ent *e, int slot)
{
	e->l[slot].prev = l->tail;
	e->l[slot].next = NULL;
	if (l->tail)
		l->tail->l[slot].next = e;
	else
		l->head = e;
	l->tail = e;
	l->n++;
}

static void gl_remove(struct glist *l, struct ent *e, int slot)
{
	struct dlink *d = &e->l[slot];
	if (d->prev)
		d->prev->l[slot].next = d->next;
	else
		l->head = d->next;
	if (d->next)
		d->next->l[slot].prev = d->prev;
	else
		l->tail = d->prev;
	l->n--;
}

/* n takes o's place. */
static void gl_replace(struct glist *l, struct ent *o, struct ent *n, int slot)
{
	n->l[slot] = o->l[slot];
	if (n->l[slot].prev)
		n->l[slot].prev->l[slot].next = n;
	else
		l->head = n;
	if (n->l[slot].next)
		n->l[slot].next->l[slot].prev = n;
	else
		l->tail = n;
}

/* Calls fn on list l of e's dependency buckets in table t. */
static void deps_each(const struct ptab *t, struct ent *e,
		      void (*fn)(struct bucket *b, struct ent *e, int slot))
{
	struct keyb k[2];
	unsigned n = ent_deps(e->obj, (enum group)e->g, k);
	for (unsigned i = 0; i < n; i++) {
		struct bucket *b = bucket_get(t, &k[i]);
		if (b != NULL)
			fn(b, e, SLOT_DEP0 + (int)i);
	}
}

static void dep_append(struct bucket *b, struct ent *e, int slot)
{
	gl_append(&b->l[e->g], e, slot);
}

static void dep_remove(struct bucket *b, struct ent *e, int slot)
{
	gl_remove(&b->l[e->g], e, slot);
}

static void dep_ndel(struct bucket *b, struct ent *e, int slot)
{
	(void)slot;
	b->ndel[e->g]++;
}

/* ---- views ---- */

const struct ent *mdl_view_find(const struct view *v, const struct keyb *k)
{
	struct mit it;
	mdl_mit_init(&it, v, k);
	return mdl_mit_next(&it);
}

void mdl_mit_init(struct mit *it, const struct view *v, const struct keyb *k)
{
	it->v = v;
	it->k = k;
	it->h = mdl_key_hash(k->b, k->n);
	it->phase = v->t ? 0 : 1;
	it->started = false;
}

const struct ent *mdl_mit_next(struct mit *it)
{
	for (; it->phase < 2; it->phase++, it->started = false) {
		const struct eindex *x = it->phase == 0 ? &it->v->t->ix : &it->v->m->ix;
		if (x->slot == NULL)
			continue;
		if (!it->started) {
			it->pos = (uint32_t)(it->h >> 32) & x->mask;
			it->started = true;
		}
		while (x->slot[it->pos] != 0) {
			uint64_t s = x->slot[it->pos];
			it->pos = (it->pos + 1) & x->mask;
			if (SLOT_HASH(s) != (uint32_t)(it->h >> 32))
				continue;
			const struct ent *e = it->v->m->ents[SLOT_ID(s)];
			struct keyb k;
			ent_key(e, SLOT_KEY(s), &k);
			if (!key_eq(&k, it->k))
				continue;
			if (it->phase == 1 && it->v->t != NULL && e->shadow != NULL)
				continue; /* deleted or replaced in the transaction */
			return e;
		}
	}
	return NULL;
}

size_t mdl_view_holders(const struct view *v, const struct keyb *k, enum group g)
{
	struct mit it;
	const struct ent *e;
	size_t n = 0;
	for (mdl_mit_init(&it, v, k); (e = mdl_mit_next(&it)) != NULL;)
		n += e->g == g;
	return n;
}

void mdl_lit_group(struct lit *it, const struct view *v, enum group g)
{
	it->v = v;
	it->slot = SLOT_GROUP;
	it->phase = 0;
	it->next = v->m->g[g].head;
	it->ov = v->t ? &v->t->app[g] : NULL;
}

void mdl_lit_bucket(struct lit *it, const struct view *v, const struct keyb *bk, enum group g)
{
	const struct bucket *b = bucket_get(&v->m->buckets, bk);
	const struct bucket *o = v->t ? bucket_get(&v->t->buckets, bk) : NULL;
	it->v = v;
	it->slot = dep_slot(g, bk->b[0]);
	it->phase = 0;
	it->next = b ? b->l[g].head : NULL;
	it->ov = o ? &o->l[g] : NULL;
}

const struct ent *mdl_lit_next(struct lit *it)
{
	while (it->phase == 0) {
		const struct ent *e = it->next;
		if (e == NULL) {
			it->phase = 1;
			it->next = it->ov ? it->ov->head : NULL;
			break;
		}
		it->next = e->l[it->slot].next;
		if (it->v->t == NULL || e->shadow == NULL)
			return e;
		if (e->shadow != DELETED)
			return e->shadow;
	}
	const struct ent *e = it->next;
	if (e != NULL)
		it->next = e->l[it->slot].next;
	return e;
}

size_t mdl_view_count(const struct view *v, enum group g)
{
	size_t n = v->m->g[g].n;
	return v->t ? n - v->t->ndel[g] + v->t->app[g].n : n;
}

size_t mdl_view_bucket_count(const struct view *v, const struct keyb *bk, enum group g)
{
	const struct bucket *b = bucket_get(&v->m->buckets, bk);
	const struct bucket *o = v->t ? bucket_get(&v->t->buckets, bk) : NULL;
	size_t n = b ? b->l[g].n : 0;
	return o ? n - o->ndel[g] + o->l[g].n : n;
}

/* ---- counts ---- */

static void ckey(uint8_t kind, const void *p, size_t len, struct keyb *k)
{
	key_kind(k, kind);
	key_put(k, p, len);
}

static struct cnode *cnode_get(const struct ptab *t, const struct keyb *k)
{
	return ptab_find(t, k, mdl_key_hash(k->b, k->n), false);
}

void mdl_view_counted(const struct view *v, uint8_t kind, const void *key, size_t len, long n[2])
{
	struct keyb k;
	ckey(kind, key, len, &k);
	const struct cnode *b = cnode_get(&v->m->cnt.set, &k);
	const struct cnode *d = v->t ? cnode_get(&v->t->cnt.set, &k) : NULL;
	for (int i = 0; i < 2; i++)
		n[i] = (b ? b->n[i] : 0) + (d ? d->n[i] : 0);
}

/* The counted keys of e: strings of records ('s', n[0]) and ports ('s',
 * n[1]: a port's name names its lookup records), customer IDs ('c'). */
static unsigned ent_counted(const struct ent *e, struct keyb k[3], int which[3])
{
	unsigned n = 0;
	if (e->g == G_LOOKUP) {
		const MEMBER_T(lookup) *l = OBJ(e, lookup);
		if (l->vm_name[0]) {
			ckey('s', l->vm_name, strnlen(l->vm_name, sizeof(l->vm_name)), &k[n]);
			which[n++] = 0;
		}
		if (l->context[0]) {
			ckey('s', l->context, strnlen(l->context, sizeof(l->context)), &k[n]);
			which[n++] = 0;
		}
		if (l->has_customer_id) {
			ckey('c', l->customer_id.b, 16, &k[n]);
			which[n++] = 0;
		}
	} else if (e->g == G_PORT && OBJ(e, port)->name[0]) {
		const MEMBER_T(port) *p = OBJ(e, port);
		ckey('s', p->name, strnlen(p->name, sizeof(p->name)), &k[n]);
		which[n++] = 1;
	}
	return n;
}

/* Nodes for e's counted keys in t (zero counts when new). */
static int cnt_prepare(struct ptab *t, const struct ent *e)
{
	struct keyb k[3];
	int which[3];
	unsigned n = ent_counted(e, k, which);
	for (unsigned i = 0; i < n; i++) {
		uint64_t h = mdl_key_hash(k[i].b, k[i].n);
		if (ptab_find(t, &k[i], h, false) != NULL)
			continue;
		if (ptab_reserve(t, t->used + 1) < 0)
			return -ENOMEM;
		struct cnode *c = calloc(1, sizeof(*c) + k[i].n);
		if (c == NULL)
			return -ENOMEM;
		c->h = h;
		c->len = k[i].n;
		memcpy(c->key, k[i].b, k[i].n);
		size_t j = h & t->mask;
		while (t->s[j].p != NULL)
			j = (j + 1) & t->mask;
		t->s[j].h = h;
		t->s[j].p = c;
		t->used++;
	}
	return 0;
}

static void adjust(size_t *x, bool before, bool after)
{
	if (after && !before)
		(*x)++;
	else if (before && !after)
		(*x)--;
}

/* Updates c, the counts of view v, for e having joined v (sign 1) or left
 * it (-1); v's index and buckets already show the change, c's nodes for
 * e's keys exist (cnt_prepare). */
static void count_ent(const struct view *v, struct counts *c, const struct ent *e, int sign)
{
	struct keyb k[3];
	int which[3];
	unsigned n = ent_counted(e, k, which);
	for (unsigned i = 0; i < n; i++) {
		long b[2], a[2];
		mdl_view_counted(v, k[i].b[0], k[i].b + 1, k[i].n - 1, b);
		cnode_get(&c->set, &k[i])->n[which[i]] += sign;
		mdl_view_counted(v, k[i].b[0], k[i].b + 1, k[i].n - 1, a);
		if (k[i].b[0] == 'c') {
			adjust(&c->cust, b[0] > 0, a[0] > 0);
			continue;
		}
		adjust(&c->str_all, b[0] + b[1] > 0, a[0] + a[1] > 0);
		adjust(&c->str_lookup, b[0] > 0, a[0] > 0);
	}
	struct keyb ck;
	if (e->g == G_LOOKUP && mdl_rec_has_ca(e)) {
		/* a port CA is covered while a record of its VSID holds it */
		mdl_key_ca(OBJ(e, lookup)->vsid, &OBJ(e, lookup)->ca, &ck);
		if (mdl_view_holders(v, &ck, G_LOOKUP) == (sign > 0 ? 1u : 0u)) {
			size_t p = mdl_view_holders(v, &ck, G_PORT);
			c->uncovered = sign > 0 ? c->uncovered - p : c->uncovered + p;
		}
	} else if (e->g == G_PORT) {
		const MEMBER_T(port) *p = OBJ(e, port);
		for (unsigned i = 0; i < p->n_cas && i < HNV_PORT_MAX_CAS; i++) {
			mdl_key_ca(p->vsid, &p->cas[i], &ck);
			if (mdl_view_holders(v, &ck, G_LOOKUP) == 0)
				c->uncovered = sign > 0 ? c->uncovered + 1 : c->uncovered - 1;
		}
	} else if (e->g == G_GATEWAY_CA) {
		mdl_bkey_vsid(OBJ(e, gateway_ca)->vsid, &ck);
		size_t after = mdl_view_bucket_count(v, &ck, G_GATEWAY_CA);
		if (after == (sign > 0 ? 1u : 0u))
			c->gw_vsids = sign > 0 ? c->gw_vsids + 1 : c->gw_vsids - 1;
	}
}

/* Drops what the entries of a transaction left unused in the model:
 * buckets and counted nodes that hold nothing. */
static void base_gc(struct hnv_model *m, struct hnv_model_txn *t)
{
	for (size_t i = 0; t->buckets.s && i <= t->buckets.mask; i++) {
		const struct bucket *o = t->buckets.s[i].p;
		struct keyb k;
		if (o == NULL)
			continue;
		k.n = o->keylen;
		memcpy(k.b, o->key, o->keylen);
		struct bucket *b = bucket_get(&m->buckets, &k);
		bool empty = b != NULL;
		for (int g = 0; empty && g < G__COUNT; g++)
			empty = b->l[g].n == 0;
		if (empty) {
			ptab_del(&m->buckets, b->h, b);
			free(b);
		}
	}
	for (size_t i = 0; t->cnt.set.s && i <= t->cnt.set.mask; i++) {
		const struct cnode *o = t->cnt.set.s[i].p;
		struct keyb k;
		if (o == NULL)
			continue;
		k.n = o->len;
		memcpy(k.b, o->key, o->len);
		struct cnode *c = cnode_get(&m->cnt.set, &k);
		if (c != NULL && c->n[0] == 0 && c->n[1] == 0) {
			ptab_del(&m->cnt.set, c->h, c);
			free(c);
		}
	}
}

/* ---- the base ---- */

/* What e needs to join m: its buckets, counted nodes, and index room for
 * its keys besides `extra` others. */
static int base_prepare(struct hnv_model *m, struct ent *e, size_t extra)
{
	struct keyb k[2];
	if (ent_id(m, e) < 0)
		return -ENOMEM;
	unsigned n = ent_deps(e->obj, (enum group)e->g, k);
	for (unsigned i = 0; i < n; i++)
		if (bucket_make(&m->buckets, &k[i]) < 0)
			return -ENOMEM;
	if (cnt_prepare(&m->cnt.set, e) < 0)
		return -ENOMEM;
	return ix_reserve(&m->ix, m->ix.used + extra + ent_nkeys(e));
}

/* Appends e (prepared) to m. */
static void base_link(struct hnv_model *m, struct ent *e)
{
	const struct view v = {m, NULL};
	gl_append(&m->g[e->g], e, SLOT_GROUP);
	deps_each(&m->buckets, e, dep_append);
	ix_add(&m->ix, e);
	count_ent(&v, &m->cnt, e, 1);
}

static void base_unlink(struct hnv_model *m, struct ent *e)
{
	const struct view v = {m, NULL};
	gl_remove(&m->g[e->g], e, SLOT_GROUP);
	deps_each(&m->buckets, e, dep_remove);
	ix_del(&m->ix, e);
	count_ent(&v, &m->cnt, e, -1);
}

/* n (prepared, same identity and buckets) takes o's place. */
static void base_swap(struct hnv_model *m, struct ent *o, struct ent *n)
{
	const struct view v = {m, NULL};
	struct keyb k[2];
	unsigned nd = ent_deps(o->obj, (enum group)o->g, k);
	gl_replace(&m->g[o->g], o, n, SLOT_GROUP);
	for (unsigned i = 0; i < nd; i++)
		gl_replace(&bucket_get(&m->buckets, &k[i])->l[o->g], o, n, SLOT_DEP0 + (int)i);
	ix_del(&m->ix, o);
	count_ent(&v, &m->cnt, o, -1);
	ix_add(&m->ix, n);
	count_ent(&v, &m->cnt, n, 1);
	n->seq = o->seq;
}

struct hnv_model *hnv_model_new(void)
{
	struct hnv_model *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	if (ix_reserve(&m->ix, 1) < 0) {
		free(m);
		return NULL;
	}
	return m;
}

void hnv_model_free(struct hnv_model *m)
{
	if (m == NULL)
		return;
	for (int g = 0; g < G__COUNT; g++)
		for (struct ent *e = m->g[g].head, *n; e != NULL; e = n) {
			n = e->l[SLOT_GROUP].next;
			mdl_ent_free(e);
		}
	free(m->ents);
	free(m->free_ids);
	free(m->ix.slot);
	ptab_free(&m->buckets);
	ptab_free(&m->cnt.set);
	free(m);
}

static int buckets_make(struct ptab *t, const struct ent *e)
{
	struct keyb k[2];
	unsigned n = ent_deps(e->obj, (enum group)e->g, k);
	for (unsigned i = 0; i < n; i++)
		if (bucket_make(t, &k[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* A copy of src's counted nodes into dst (empty). */
static int cnt_clone(struct ptab *dst, const struct ptab *src)
{
	if (src->s == NULL)
		return 0;
	if (ptab_reserve(dst, src->used) < 0)
		return -ENOMEM;
	for (size_t i = 0; i <= src->mask; i++) {
		const struct cnode *c = src->s[i].p;
		if (c == NULL)
			continue;
		struct cnode *n = malloc(sizeof(*n) + c->len);
		if (n == NULL)
			return -ENOMEM;
		memcpy(n, c, sizeof(*n) + c->len);
		size_t j = c->h & dst->mask;
		while (dst->s[j].p != NULL)
			j = (j + 1) & dst->mask;
		dst->s[j].h = c->h;
		dst->s[j].p = n;
		dst->used++;
	}
	return 0;
}

/* A copy of src: its entries under the same ids, so the index is copied
 * as it is; lists and buckets are linked anew. A transaction open on src
 * is not copied. */
struct hnv_model *mdl_model_copy(const struct hnv_model *src)
{
	struct hnv_model *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	size_t ids = src->next_id, slots = src->ix.slot ? src->ix.mask + 1 : 0;
	m->ents = calloc(ids + 1, sizeof(*m->ents));
	m->free_ids = malloc((ids + 1) * sizeof(*m->free_ids));
	if (m->ents == NULL || m->free_ids == NULL || ix_reserve(&m->ix, slots / 2) < 0 ||
	    ptab_reserve(&m->buckets, src->buckets.used) < 0 ||
	    cnt_clone(&m->cnt.set, &src->cnt.set) < 0)
		goto fail;
	if (slots > 0) { /* ix_reserve made it the same size */
		memcpy(m->ix.slot, src->ix.slot, slots * sizeof(*m->ix.slot));
		m->ix.used = src->ix.used;
	}
	m->cap_ents = m->cap_free = ids + 1;
	m->next_id = src->next_id;
	struct ptab set = m->cnt.set;
	m->cnt = src->cnt;
	m->cnt.set = set;
	for (int g = 0; g < G__COUNT; g++) {
		m->next_seq[g] = src->next_seq[g];
		for (const struct ent *s = src->g[g].head; s != NULL; s = s->l[SLOT_GROUP].next) {
			struct ent *e = mdl_ent_new(s->obj, (enum group)g, 0);
			if (e == NULL || buckets_make(&m->buckets, e) < 0) {
				mdl_ent_free(e);
				goto fail;
			}
			e->seq = s->seq;
			e->id = s->id;
			m->ents[e->id] = e;
			gl_append(&m->g[g], e, SLOT_GROUP);
			deps_each(&m->buckets, e, dep_append);
		}
	}
	/* ids of src's open transaction, if any, are free here */
	for (uint32_t id = 1; id < m->next_id; id++)
		if (m->ents[id] == NULL)
			m->free_ids[m->n_free++] = id;
	return m;
fail:
	hnv_model_free(m);
	return NULL;
}

/* ---- the overlay ---- */

static struct view txn_view(const struct hnv_model_txn *t)
{
	return (struct view){t->m, t};
}

/* What e needs to join t's overlay and, at commit, the model. */
static int ov_prepare(struct hnv_model_txn *t, struct ent *e)
{
	if (ent_id(t->m, e) < 0 || buckets_make(&t->buckets, e) < 0 ||
	    cnt_prepare(&t->cnt.set, e) < 0 || ix_reserve(&t->ix, t->ix.used + ent_nkeys(e)) < 0 ||
	    (!t->adopt && base_prepare(t->m, e, t->base_keys) < 0)) {
		if (e->id != 0) { /* not in the overlay: the id goes back */
			t->m->ents[e->id] = NULL;
			t->m->free_ids[t->m->n_free++] = e->id;
			e->id = 0;
		}
		return -ENOMEM;
	}
	return 0;
}

int mdl_txn_reserve(struct hnv_model_txn *t, size_t keys)
{
	return ix_reserve(&t->ix, t->ix.used + keys);
}

/* What hiding base entry b needs. */
static int ov_prepare_hide(struct hnv_model_txn *t, const struct ent *b)
{
	if (buckets_make(&t->buckets, b) < 0 || cnt_prepare(&t->cnt.set, b) < 0 ||
	    HNV_GROW(t->touched, t->cap_touched, t->n_touched + 1) < 0)
		return -ENOMEM;
	return 0;
}

static void ov_index(struct hnv_model_txn *t, struct ent *e)
{
	const struct view v = txn_view(t);
	ix_add(&t->ix, e);
	t->base_keys += ent_nkeys(e);
	count_ent(&v, &t->cnt, e, 1);
}

static void ov_unindex(struct hnv_model_txn *t, struct ent *e)
{
	const struct view v = txn_view(t);
	ix_del(&t->ix, e);
	t->base_keys -= ent_nkeys(e);
	count_ent(&v, &t->cnt, e, -1);
}

/* Base entry b (its replacement, if any, gone from the index) is deleted. */
static void ov_mark_deleted(struct hnv_model_txn *t, struct ent *b)
{
	b->shadow = DELETED;
	t->ndel[b->g]++;
	deps_each(&t->buckets, b, dep_ndel);
}

static void dep_replace_ov(struct hnv_model_txn *t, struct ent *o, struct ent *n)
{
	struct keyb k[2];
	unsigned nd = ent_deps(o->obj, (enum group)o->g, k);
	for (unsigned i = 0; i < nd; i++)
		gl_replace(&bucket_get(&t->buckets, &k[i])->l[o->g], o, n, SLOT_DEP0 + (int)i);
}

/* Deletes e from the view: a base entry is marked, a transaction's entry
 * freed. */
int mdl_txn_delete(struct hnv_model_txn *t, struct ent *e)
{
	const struct view v = txn_view(t);
	struct ent *b = e->txn ? e->replaces : e;
	if (b != NULL && ov_prepare_hide(t, b) < 0)
		return -ENOMEM;
	if (!e->txn) {
		t->touched[t->n_touched++] = e;
		ov_mark_deleted(t, e);
		count_ent(&v, &t->cnt, e, -1);
		return 0;
	}
	if (b != NULL) {
		ov_mark_deleted(t, b);
	} else {
		gl_remove(&t->app[e->g], e, SLOT_GROUP);
		deps_each(&t->buckets, e, dep_remove);
	}
	ov_unindex(t, e);
	ent_drop(t->m, e);
	return 0;
}

/* n (same identity) replaces o in the view, keeping its place. Only
 * "lookup set" and "global set" replace: the bucket counts stay. */
int mdl_txn_replace(struct hnv_model_txn *t, struct ent *o, struct ent *n)
{
	const struct view v = txn_view(t);
	if ((!o->txn && ov_prepare_hide(t, o) < 0) || ov_prepare(t, n) < 0)
		return -ENOMEM;
	n->txn = true;
	n->seq = o->seq;
	if (!o->txn) {
		t->touched[t->n_touched++] = o;
		o->shadow = DELETED;
		count_ent(&v, &t->cnt, o, -1);
		o->shadow = n;
		n->replaces = o;
	} else if (o->replaces != NULL) {
		ov_unindex(t, o); /* o->replaces stays hidden behind o meanwhile */
		o->replaces->shadow = n;
		n->replaces = o->replaces;
		ent_drop(t->m, o);
	} else {
		gl_replace(&t->app[o->g], o, n, SLOT_GROUP);
		dep_replace_ov(t, o, n);
		ov_unindex(t, o);
		ent_drop(t->m, o);
	}
	ov_index(t, n);
	return 0;
}

int mdl_txn_append(struct hnv_model_txn *t, struct ent *n)
{
	if (ov_prepare(t, n) < 0)
		return -ENOMEM;
	n->txn = true;
	n->seq = t->m->next_seq[n->g] + t->nseq[n->g]++;
	gl_append(&t->app[n->g], n, SLOT_GROUP);
	deps_each(&t->buckets, n, dep_append);
	ov_index(t, n);
	return 0;
}

/* ---- commit and abort ---- */

static void overlay_free(struct hnv_model_txn *t)
{
	free(t->ix.slot);
	memset(&t->ix, 0, sizeof(t->ix));
	ptab_free(&t->buckets);
	ptab_free(&t->cnt.set);
	free(t->touched);
	t->touched = NULL;
	t->n_touched = t->cap_touched = 0;
	for (int g = 0; g < G__COUNT; g++) {
		memset(&t->app[g], 0, sizeof(t->app[g]));
		t->nseq[g] = t->ndel[g] = 0;
	}
	t->base_keys = 0;
}

/* Drops the nodes of t that hold nothing (bucket: no entries; counted
 * node: zero counts). A slot refilled by the deletion is looked at again. */
static void ptab_prune(struct ptab *t, bool bucket)
{
	for (size_t i = 0; t->s && i <= t->mask;) {
		const struct bucket *b = t->s[i].p;
		const struct cnode *c = t->s[i].p;
		bool empty = b != NULL;
		for (int g = 0; empty && bucket && g < G__COUNT; g++)
			empty = b->l[g].n == 0;
		if (empty && !bucket)
			empty = c->n[0] == 0 && c->n[1] == 0;
		if (!empty) {
			i++;
			continue;
		}
		void *p = t->s[i].p;
		ptab_del(t, t->s[i].h, p);
		free(p);
	}
}

/* The model was empty: the overlay becomes the model. */
static void overlay_adopt(struct hnv_model_txn *t)
{
	struct hnv_model *m = t->m;
	for (int g = 0; g < G__COUNT; g++) {
		for (struct ent *e = t->app[g].head; e != NULL; e = e->l[SLOT_GROUP].next)
			e->txn = false;
		m->g[g] = t->app[g];
		m->next_seq[g] = t->nseq[g];
		memset(&t->app[g], 0, sizeof(t->app[g]));
	}
	free(m->ix.slot);
	m->ix = t->ix;
	memset(&t->ix, 0, sizeof(t->ix));
	ptab_prune(&t->buckets, true);
	ptab_free(&m->buckets);
	m->buckets = t->buckets;
	memset(&t->buckets, 0, sizeof(t->buckets));
	ptab_prune(&t->cnt.set, false);
	ptab_free(&m->cnt.set);
	m->cnt = t->cnt;
	memset(&t->cnt.set, 0, sizeof(t->cnt.set));
}

void mdl_overlay_commit(struct hnv_model_txn *t)
{
	struct hnv_model *m = t->m;
	if (t->adopt) {
		overlay_adopt(t);
		overlay_free(t);
		return;
	}
	for (size_t i = 0; i < t->n_touched; i++) {
		struct ent *b = t->touched[i], *r = b->shadow;
		b->shadow = NULL;
		if (r == DELETED) {
			base_unlink(m, b);
		} else {
			r->replaces = NULL;
			r->txn = false;
			base_swap(m, b, r);
		}
		ent_drop(m, b);
	}
	for (int g = 0; g < G__COUNT; g++) {
		for (struct ent *e = t->app[g].head, *n; e != NULL; e = n) {
			n = e->l[SLOT_GROUP].next;
			e->txn = false;
			base_link(m, e);
		}
		m->next_seq[g] += t->nseq[g];
	}
	base_gc(m, t);
	overlay_free(t);
}

void mdl_overlay_drop(struct hnv_model_txn *t)
{
	for (size_t i = 0; i < t->n_touched; i++) {
		struct ent *b = t->touched[i];
		if (b->shadow != DELETED)
			ent_drop(t->m, b->shadow);
		b->shadow = NULL;
	}
	for (int g = 0; g < G__COUNT; g++)
		for (struct ent *e = t->app[g].head, *n; e != NULL; e = n) {
			n = e->l[SLOT_GROUP].next;
			ent_drop(t->m, e);
		}
	base_gc(t->m, t);
	overlay_free(t);
}
