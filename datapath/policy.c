/* policy.c: HNV policy tables with lock-free readers (liburcu-qsbr).
 *
 * Layout, chosen for 1M+ lookup records at well under 96 bytes each:
 * - records live in a chunked pool (index -> chunk[i >> 12][i & 4095]); the
 *   chunk pointer array never moves, so readers index it without locks;
 * - two open-addressing hash indexes of 32-bit slots (record index + 1; 0 is
 *   empty, TOMB a deleted slot), kept at most half full: (vsid, CA) and
 *   (vsid, MAC). A writer only ever changes a slot from empty to a record,
 *   from a record to another record (replace) or to TOMB, each with one
 *   release store, so a reader sees the old or the new record. Growing or
 *   cleaning a table builds a new one and publishes it with one pointer
 *   store;
 * - a retired record or table is freed only after synchronize_rcu(), i.e.
 *   once every forwarding thread passed a quiescent state;
 * - small tables (vsubnets, ports, local PAs, per-rdomain FIBs) are
 *   copy-on-write: built aside, published by one pointer store.
 * Customer routes are compiled per routing domain into sorted arrays of
 * disjoint address intervals (binary search; LPM and the metric tie-break are
 * resolved at build time) when hnv_policy_commit() runs.
 * A mirror (policy.h) hears of every change between its preparation (every
 * allocation done, nothing published) and its publication; when the mirror
 * refuses, the prepared change is freed and nothing is published.
 */
#define _LGPL_SOURCE
#include "policy.h"
#include "../lib/vec.h"
#include "fib.h"
#include "policy_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <urcu/urcu-qsbr.h>

#define CHUNK_SHIFT 15 /* 32768 records: one 2 MiB huge page */
#define CHUNK_RECS (1u << CHUNK_SHIFT)
#define MAX_CHUNKS 512u /* 16M records, bounded by MAX_RECORDS */
#define CHUNK_BYTES ((size_t)CHUNK_RECS * sizeof(struct hnv_rec))
#define TOMB 0xffffffffu
#define MAX_RDOMAINS 16384u
#define MAX_PAS 16u
#define MAX_STRINGS (1u << 20)

/* An index slot: the top 8 bits are a tag from the key's hash, so a probe
 * rarely touches a record that is not the one sought; the low 24 bits are
 * the record index + 1. 0 is an empty slot, TOMB a deleted one. */
struct idx_table {
	uint32_t mask;
	uint32_t used; /* live entries */
	uint32_t tomb; /* TOMB slots */
	uint32_t slots[];
};
#define SLOT_IDX_BITS 24
#define SLOT_IDX_MASK ((1u << SLOT_IDX_BITS) - 1)
#define MAX_RECORDS (SLOT_IDX_MASK - 1) /* index + 1 never equals the TOMB pattern */

static inline uint32_t slot_tag(uint64_t h)
{
	return (uint32_t)(h >> 32) & ~SLOT_IDX_MASK;
}

static inline uint32_t slot_make(uint64_t h, uint32_t ri)
{
	return slot_tag(h) | (ri + 1);
}

/* Record index in a live slot. */
static inline uint32_t slot_rec(uint32_t v)
{
	return (v & SLOT_IDX_MASK) - 1;
}

struct rdomain {
	char name[HNV_NAME_MAX + 1];
	struct hnv_guid rdid;
	/* control thread only */
	struct hnv_fib_route *routes;
	size_t n_routes, cap_routes;
	bool dirty;
	unsigned refs; /* vsubnets naming it */
};

struct vs_table {
	uint32_t mask;
	struct hnv_vsubnet *slot[]; /* NULL = empty; never deleted in place */
};

struct port_index {
	uint32_t mask;
	uint16_t slot[]; /* port id, 0 = empty */
};

struct pa_set {
	unsigned n;
	struct hnv_prefix pa[MAX_PAS];
};

struct strtab {
	char **str;
	uint32_t *refs;
	uint32_t n;
	size_t cap_str, cap_refs; /* str and refs grow one after the other */
	uint32_t *hs;             /* open addressing: string index + 1 */
	uint32_t hmask;
};

struct redirect_tab;

struct hnv_policy {
	struct redirect_tab *redirects; /* REDIRECT overrides (control thread) */
	struct hnv_rec *chunks[MAX_CHUNKS];
	uint32_t n_chunks;
	uint32_t free_head; /* record index + 1, 0 = none */
	size_t n_records;
	struct idx_table *ca_idx, *mac_idx;
	struct vs_table *vsubnets;
	size_t n_vsubnets;
	struct rdomain *rdomains[MAX_RDOMAINS];
	/* compiled routes by routing-domain index, RCU; a flat array so a
	 * lookup is one load away from the FIB */
	struct hnv_fib *fib4[MAX_RDOMAINS], *fib6[MAX_RDOMAINS];
	size_t n_rdomains;
	struct hnv_port *ports[HNV_PORTS_MAX];
	struct port_index *port_idx;
	struct pa_set *pas;
	/* control thread only */
	struct strtab strings; /* VMName and Context */
	struct hnv_guid *customers;
	uint32_t n_customers;
	size_t cap_customers;
	size_t n_routes;
	uint32_t *retired;
	size_t n_retired, cap_retired;
	struct hnv_policy_mirror mirror;
	uint32_t *learned; /* indexes of the learned records, unordered */
	size_t n_learned, cap_learned;
};

/* Reports a change to the mirror: its callback's result, 0 without one. */
#define MIRROR(p, fn, ...)                                                                  \
	((p)->mirror.ops && (p)->mirror.ops->fn ? (p)->mirror.ops->fn((p)->mirror.arg, __VA_ARGS__) \
						: 0)

/* ---- large zeroed allocations ----
 * The record pool and the indexes are read at random by every packet; with
 * 1M records they far exceed the caches, so each lookup would also miss the
 * TLB. Allocations of 1 MiB and more are mmap'd in whole 2 MiB pages and advised to use
 * transparent huge pages (where the kernel allows it). */

#define HUGE_SZ (2u << 20)
#define BIG_MIN (HUGE_SZ / 2) /* from here on, a whole huge page is worth it */

static size_t big_size(size_t len)
{
	return len >= BIG_MIN ? (len + HUGE_SZ - 1) & ~(size_t)(HUGE_SZ - 1) : len;
}

static void *big_zalloc(size_t len)
{
	if (len < BIG_MIN)
		return calloc(1, len);
	/* huge pages need 2 MiB-aligned addresses: over-map, then trim */
	size_t sz = big_size(len);
	uint8_t *p = mmap(NULL, sz + HUGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	size_t head = (HUGE_SZ - ((uintptr_t)p & (HUGE_SZ - 1))) & (HUGE_SZ - 1);
	if (head)
		munmap(p, head);
	munmap(p + head + sz, HUGE_SZ - head);
	madvise(p + head, sz, MADV_HUGEPAGE);
	return p + head;
}

static void big_free(void *p, size_t len)
{
	if (!p)
		return;
	if (len < BIG_MIN)
		free(p);
	else
		munmap(p, big_size(len));
}

/* ---- hashing ---- */

/* ---- record pool ---- */

static inline struct hnv_rec *rec_at(const struct hnv_policy *p, uint32_t i)
{
	struct hnv_rec *c = rcu_dereference(((struct hnv_policy *)p)->chunks[i >> CHUNK_SHIFT]);
	return &c[i & (CHUNK_RECS - 1)];
}

static int rec_alloc(struct hnv_policy *p, uint32_t *out)
{
	if (p->free_head) {
		uint32_t i = p->free_head - 1;
		p->free_head = rec_at(p, i)->next;
		*out = i;
		return 0;
	}
	if (p->n_chunks == MAX_CHUNKS || (p->n_chunks << CHUNK_SHIFT) >= MAX_RECORDS)
		return -ENOSPC;
	struct hnv_rec *c = big_zalloc(CHUNK_BYTES);
	if (!c)
		return -ENOMEM;
	uint32_t base = p->n_chunks << CHUNK_SHIFT;
	/* thread all but the first onto the free list, lowest index first */
	for (uint32_t k = CHUNK_RECS - 1; k >= 1; k--) {
		if (base + k >= MAX_RECORDS)
			continue; /* an index the slot encoding cannot hold */
		c[k].next = p->free_head;
		p->free_head = base + k + 1;
	}
	rcu_assign_pointer(p->chunks[p->n_chunks], c);
	p->n_chunks++;
	*out = base;
	return 0;
}

static int retire_rec(struct hnv_policy *p, uint32_t i)
{
	if (HNV_GROW(p->retired, p->cap_retired, p->n_retired + 1))
		return -ENOMEM;
	p->retired[p->n_retired++] = i;
	return 0;
}

/* Waits for readers, then returns retired records to the free list. */
static void reclaim(struct hnv_policy *p)
{
	if (!p->n_retired)
		return;
	urcu_qsbr_synchronize_rcu();
	for (size_t k = 0; k < p->n_retired; k++) {
		struct hnv_rec *r = rec_at(p, p->retired[k]);
		memset(r, 0, sizeof(*r));
		r->next = p->free_head;
		p->free_head = p->retired[k] + 1;
	}
	p->n_retired = 0;
}

/* ---- interned strings and customer ids (control thread only) ---- */

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static int str_hash_grow(struct strtab *t)
{
	uint32_t size = t->hmask ? (t->hmask + 1) * 2 : 256;
	uint32_t *hs = calloc(size, sizeof(*hs));
	if (!hs)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t j = str_hash(t->str[i]) & (size - 1);
		while (hs[j])
			j = (j + 1) & (size - 1);
		hs[j] = i + 1;
	}
	free(t->hs);
	t->hs = hs;
	t->hmask = size - 1;
	return 0;
}

/* Interns s (VMName, Context); *out is 0 for the empty string. A string
 * whose last user went away stays interned (bounded by distinct strings
 * ever configured) so the index never needs deletions. */
static int str_intern(struct strtab *t, const char *s, uint32_t *out)
{
	*out = 0;
	if (!s[0])
		return 0;
	uint32_t h = str_hash(s);
	if (t->hmask) {
		for (uint32_t j = h & t->hmask; t->hs[j]; j = (j + 1) & t->hmask)
			if (strcmp(t->str[t->hs[j] - 1], s) == 0) {
				t->refs[t->hs[j] - 1]++;
				*out = t->hs[j];
				return 0;
			}
	}
	if (t->n == MAX_STRINGS)
		return -ENOSPC;
	if ((t->n + 1) * 2 > t->hmask + 1 && str_hash_grow(t))
		return -ENOMEM;
	if (HNV_GROW(t->str, t->cap_str, t->n + 1) || HNV_GROW(t->refs, t->cap_refs, t->n + 1))
		return -ENOMEM;
	char *copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	t->str[t->n] = copy;
	t->refs[t->n] = 1;
	uint32_t j = h & t->hmask;
	while (t->hs[j])
		j = (j + 1) & t->hmask;
	t->hs[j] = ++t->n;
	*out = t->n;
	return 0;
}

static void str_release(struct strtab *t, uint32_t idx)
{
	if (idx && idx <= t->n && t->refs[idx - 1])
		t->refs[idx - 1]--;
}

static const char *str_get(const struct strtab *t, uint32_t idx)
{
	if (!idx || idx > t->n)
		return "";
	return t->str[idx - 1];
}

static int customer_intern(struct hnv_policy *p, const struct hnv_guid *g, uint16_t *out)
{
	for (uint32_t i = 0; i < p->n_customers; i++)
		if (memcmp(&p->customers[i], g, sizeof(*g)) == 0) {
			*out = (uint16_t)(i + 1);
			return 0;
		}
	if (p->n_customers == 65535)
		return -ENOSPC;
	if (HNV_GROW(p->customers, p->cap_customers, p->n_customers + 1))
		return -ENOMEM;
	p->customers[p->n_customers++] = *g;
	*out = (uint16_t)p->n_customers;
	return 0;
}

/* ---- hash indexes ---- */

static size_t idx_bytes(uint32_t slots)
{
	return sizeof(struct idx_table) + (size_t)slots * sizeof(uint32_t);
}

static struct idx_table *idx_new(uint32_t slots)
{
	struct idx_table *t = big_zalloc(idx_bytes(slots));
	if (t)
		t->mask = slots - 1;
	return t;
}

static void idx_free(struct idx_table *t)
{
	if (t)
		big_free(t, idx_bytes(t->mask + 1));
}

typedef uint64_t (*rec_hash_fn)(const struct hnv_rec *r);

static uint64_t rec_hash_ca(const struct hnv_rec *r)
{
	return hnv_hash_ca(r->vsid, &r->ca);
}

static uint64_t rec_hash_mac(const struct hnv_rec *r)
{
	return hnv_hash_mac(r->vsid, &r->mac);
}

/* Inserts record ri under hash h. */
static void idx_insert(struct idx_table *t, uint64_t h, uint32_t ri)
{
	uint32_t val = slot_make(h, ri);
	for (uint32_t i = (uint32_t)h & t->mask;; i = (i + 1) & t->mask) {
		if (t->slots[i] == 0 || t->slots[i] == TOMB) {
			if (t->slots[i] == TOMB)
				t->tomb--;
			uatomic_set(&t->slots[i], val);
			t->used++;
			return;
		}
	}
}

/* Makes room for one more entry: rebuilds (and publishes) the table when it
 * would pass half full counting tombstones. */
static int idx_reserve(struct hnv_policy *p, struct idx_table **tp, rec_hash_fn hash)
{
	struct idx_table *t = *tp;
	uint32_t size = t->mask + 1;
	if ((t->used + t->tomb + 1) * 2 <= size)
		return 0;
	/* grow so the table is at most a third full after the rebuild */
	uint32_t nsize = 1024;
	while (nsize < (t->used + 1) * 3 && nsize < (1u << 30))
		nsize *= 2;
	struct idx_table *n = idx_new(nsize);
	if (!n)
		return -ENOMEM;
	for (uint32_t i = 0; i < size; i++) {
		uint32_t v = t->slots[i];
		if (v && v != TOMB)
			idx_insert(n, hash(rec_at(p, slot_rec(v))), slot_rec(v));
	}
	rcu_assign_pointer(*tp, n);
	urcu_qsbr_synchronize_rcu();
	idx_free(t);
	return 0;
}

/* Slot position holding record index ri in t, or -1. */
static long idx_find_val(const struct idx_table *t, uint64_t h, uint32_t ri)
{
	for (uint32_t i = (uint32_t)h & t->mask, n = 0; n <= t->mask; i = (i + 1) & t->mask, n++) {
		uint32_t v = t->slots[i];
		if (v == 0)
			return -1;
		if (v != TOMB && slot_rec(v) == ri)
			return i;
	}
	return -1;
}

static void idx_remove_at(struct idx_table *t, long pos)
{
	uatomic_set(&t->slots[pos], TOMB);
	t->used--;
	t->tomb++;
}

/* ---- read side ---- */

void hnv_policy_prefetch_ca(const struct hnv_policy *p, uint64_t h)
{
	const struct idx_table *t = rcu_dereference(((struct hnv_policy *)p)->ca_idx);
	__builtin_prefetch(&t->slots[(uint32_t)h & t->mask]);
}

void hnv_policy_prefetch_rec(const struct hnv_policy *p, uint64_t h)
{
	const struct idx_table *t = rcu_dereference(((struct hnv_policy *)p)->ca_idx);
	uint32_t tag = slot_tag(h);
	for (uint32_t i = (uint32_t)h & t->mask, n = 0; n < 4; i = (i + 1) & t->mask, n++) {
		uint32_t v = uatomic_read(&t->slots[i]);
		if (v == 0)
			return;
		if (v != TOMB && (v & ~SLOT_IDX_MASK) == tag) {
			__builtin_prefetch(rec_at(p, slot_rec(v)));
			return;
		}
	}
}

static inline bool match_ca(const struct hnv_rec *r, uint32_t vsid, const void *key)
{
	return r->vsid == vsid && hnv_ip_eq(&r->ca, key);
}

static inline bool match_mac(const struct hnv_rec *r, uint32_t vsid, const void *key)
{
	return r->vsid == vsid && hnv_mac_eq(&r->mac, key);
}

/* Probes index t for hash h: the index of the first record match accepts
 * (its slot in *pos), or TOMB. Safe for readers and for the writer. */
static inline uint32_t idx_lookup(const struct hnv_policy *p, const struct idx_table *t, uint64_t h,
				  bool (*match)(const struct hnv_rec *, uint32_t, const void *),
				  uint32_t vsid, const void *key, long *pos)
{
	uint32_t tag = slot_tag(h);
	for (uint32_t i = (uint32_t)h & t->mask, n = 0; n <= t->mask; i = (i + 1) & t->mask, n++) {
		uint32_t v = uatomic_read(&t->slots[i]);
		if (v == 0)
			break;
		if (v == TOMB || (v & ~SLOT_IDX_MASK) != tag)
			continue;
		if (match(rec_at(p, slot_rec(v)), vsid, key)) {
			*pos = i;
			return slot_rec(v);
		}
	}
	*pos = -1;
	return TOMB;
}

const struct hnv_rec *hnv_policy_rec_by_ca(const struct hnv_policy *p, uint64_t h, uint32_t vsid,
					   const struct hnv_ip *ca)
{
	long pos;
	uint32_t i = idx_lookup(p, rcu_dereference(((struct hnv_policy *)p)->ca_idx), h, match_ca,
				vsid, ca, &pos);
	return i == TOMB ? NULL : rec_at(p, i);
}

const struct hnv_rec *hnv_policy_rec_by_mac(const struct hnv_policy *p, uint64_t h, uint32_t vsid,
					    const struct hnv_mac *mac)
{
	long pos;
	uint32_t i = idx_lookup(p, rcu_dereference(((struct hnv_policy *)p)->mac_idx), h, match_mac,
				vsid, mac, &pos);
	return i == TOMB ? NULL : rec_at(p, i);
}

static void unspec_like(struct hnv_ip *z, bool v4)
{
	static const uint8_t zero4[4];
	memset(z, 0, sizeof(*z));
	if (v4)
		hnv_ip_from_v4(z, zero4);
}

const struct hnv_rec *hnv_policy_wildcard(const struct hnv_policy *p, uint32_t vsid,
					  const struct hnv_ip *like)
{
	struct hnv_ip z;
	unspec_like(&z, hnv_ip_is_v4(like));
	return hnv_policy_rec_by_ca(p, hnv_hash_ca(vsid, &z), vsid, &z);
}

static inline uint32_t vs_hash(uint32_t vsid)
{
	return (uint32_t)hnv_mix64(vsid);
}

const struct hnv_vsubnet *hnv_policy_vsubnet(const struct hnv_policy *p, uint32_t vsid)
{
	const struct vs_table *t = rcu_dereference(((struct hnv_policy *)p)->vsubnets);
	for (uint32_t i = vs_hash(vsid) & t->mask;; i = (i + 1) & t->mask) {
		const struct hnv_vsubnet *v = rcu_dereference(((struct vs_table *)t)->slot[i]);
		if (!v)
			return NULL;
		if (v->vsid == vsid)
			return v;
	}
}

void hnv_policy_prefetch_vsubnet(const struct hnv_policy *p, uint32_t vsid, bool deref)
{
	const struct vs_table *t = rcu_dereference(((struct hnv_policy *)p)->vsubnets);
	struct hnv_vsubnet *const *slot = &t->slot[vs_hash(vsid) & t->mask];
	if (deref)
		__builtin_prefetch(rcu_dereference(*(struct hnv_vsubnet **)slot));
	else
		__builtin_prefetch(slot);
}

void hnv_policy_prefetch_port(const struct hnv_policy *p, uint32_t vsid, const struct hnv_mac *mac,
			      bool deref)
{
	const struct port_index *t = rcu_dereference(((struct hnv_policy *)p)->port_idx);
	const uint16_t *slot = &t->slot[(uint32_t)hnv_hash_mac(vsid, mac) & t->mask];
	if (!deref)
		__builtin_prefetch(slot);
	else if (*slot)
		__builtin_prefetch(rcu_dereference(((struct hnv_policy *)p)->ports[*slot]));
}

void hnv_policy_prefetch_port_id(const struct hnv_policy *p, unsigned id)
{
	if (id && id < HNV_PORTS_MAX)
		__builtin_prefetch(rcu_dereference(((struct hnv_policy *)p)->ports[id]));
}

const struct hnv_port *hnv_policy_port(const struct hnv_policy *p, unsigned id)
{
	if (id == 0 || id >= HNV_PORTS_MAX)
		return NULL;
	return rcu_dereference(((struct hnv_policy *)p)->ports[id]);
}

const struct hnv_port *hnv_policy_port_by_mac(const struct hnv_policy *p, uint32_t vsid,
					      const struct hnv_mac *mac)
{
	const struct port_index *t = rcu_dereference(((struct hnv_policy *)p)->port_idx);
	for (uint32_t i = (uint32_t)hnv_hash_mac(vsid, mac) & t->mask;; i = (i + 1) & t->mask) {
		uint16_t id = t->slot[i];
		if (!id)
			return NULL;
		const struct hnv_port *pt = hnv_policy_port(p, id);
		if (pt && pt->vsid == vsid && hnv_mac_eq(&pt->mac, mac))
			return pt;
	}
}

bool hnv_policy_route_lookup(const struct hnv_policy *p, uint16_t rd_idx, const struct hnv_ip *dst,
			     struct hnv_route_hit *hit)
{
	if (rd_idx >= MAX_RDOMAINS)
		return false;
	struct hnv_policy *w = (struct hnv_policy *)p;
	const struct hnv_fib *f = hnv_ip_is_v4(dst) ? rcu_dereference(w->fib4[rd_idx])
						    : rcu_dereference(w->fib6[rd_idx]);
	return hnv_fib_lookup(f, dst, hit);
}

void hnv_policy_prefetch_fib(const struct hnv_policy *p, uint16_t rd_idx, bool v4)
{
	if (rd_idx >= MAX_RDOMAINS)
		return;
	struct hnv_policy *w = (struct hnv_policy *)p;
	hnv_fib_prefetch(v4 ? rcu_dereference(w->fib4[rd_idx]) : rcu_dereference(w->fib6[rd_idx]));
}

bool hnv_policy_is_local_pa(const struct hnv_policy *p, const struct hnv_ip *ip)
{
	const struct pa_set *s = rcu_dereference(((struct hnv_policy *)p)->pas);
	for (unsigned i = 0; i < s->n; i++)
		if (hnv_ip_eq(&s->pa[i].addr, ip))
			return true;
	return false;
}

static const struct hnv_ip *pa_first(const struct pa_set *s, bool v4)
{
	for (unsigned i = 0; i < s->n; i++)
		if (hnv_ip_is_v4(&s->pa[i].addr) == v4)
			return &s->pa[i].addr;
	return NULL;
}

const struct hnv_ip *hnv_policy_local_pa(const struct hnv_policy *p, bool v4)
{
	return pa_first(rcu_dereference(((struct hnv_policy *)p)->pas), v4);
}

int hnv_policy_pa_foreach(const struct hnv_policy *p, hnv_pa_cb cb, void *arg)
{
	for (unsigned i = 0; i < p->pas->n; i++) {
		int rc = cb(&p->pas->pa[i], arg);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- lifecycle ---- */

struct hnv_policy *hnv_policy_new(void)
{
	struct hnv_policy *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->ca_idx = idx_new(1024);
	p->mac_idx = idx_new(1024);
	p->vsubnets = calloc(1, sizeof(struct vs_table) + 64 * sizeof(void *));
	p->port_idx = calloc(1, sizeof(struct port_index) + 64 * sizeof(uint16_t));
	p->pas = calloc(1, sizeof(struct pa_set));
	if (!p->ca_idx || !p->mac_idx || !p->vsubnets || !p->port_idx || !p->pas) {
		hnv_policy_free(p);
		return NULL;
	}
	p->vsubnets->mask = 63;
	p->port_idx->mask = 63;
	return p;
}

void hnv_policy_free(struct hnv_policy *p)
{
	if (!p)
		return;
	free(p->redirects);
	for (uint32_t i = 0; i < p->n_chunks; i++)
		big_free(p->chunks[i], CHUNK_BYTES);
	idx_free(p->ca_idx);
	idx_free(p->mac_idx);
	if (p->vsubnets)
		for (uint32_t i = 0; i <= p->vsubnets->mask; i++) {
			if (p->vsubnets->slot[i]) {
				free(p->vsubnets->slot[i]->dhcp);
				free(p->vsubnets->slot[i]->l2);
			}
			free(p->vsubnets->slot[i]);
		}
	free(p->vsubnets);
	for (unsigned i = 0; i < MAX_RDOMAINS; i++) {
		struct rdomain *rd = p->rdomains[i];
		hnv_fib_free(p->fib4[i]);
		hnv_fib_free(p->fib6[i]);
		if (!rd)
			continue;
		free(rd->routes);
		free(rd);
	}
	for (unsigned i = 0; i < HNV_PORTS_MAX; i++)
		free(p->ports[i]);
	free(p->port_idx);
	free(p->pas);
	for (uint32_t i = 0; i < p->strings.n; i++)
		free(p->strings.str[i]);
	free(p->strings.str);
	free(p->strings.refs);
	free(p->strings.hs);
	free(p->customers);
	free(p->retired);
	free(p->learned);
	free(p);
}

/* ---- routing domains ---- */

static int rdomain_find(const struct hnv_policy *p, const char *name)
{
	for (unsigned i = 0; i < MAX_RDOMAINS; i++)
		if (p->rdomains[i] && strcmp(p->rdomains[i]->name, name) == 0)
			return (int)i;
	return -ENOENT;
}

int hnv_policy_rdomain_add(struct hnv_policy *p, const char *name, const struct hnv_guid *rdid)
{
	if (!name[0] || strlen(name) > HNV_NAME_MAX)
		return -EINVAL;
	int free_slot = -1;
	for (unsigned i = 0; i < MAX_RDOMAINS; i++) {
		struct rdomain *rd = p->rdomains[i];
		if (!rd) {
			if (free_slot < 0)
				free_slot = (int)i;
			continue;
		}
		if (strcmp(rd->name, name) == 0 || memcmp(&rd->rdid, rdid, sizeof(*rdid)) == 0)
			return -EEXIST;
	}
	if (free_slot < 0)
		return -ENOSPC;
	struct rdomain *rd = calloc(1, sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	strcpy(rd->name, name);
	rd->rdid = *rdid;
	rcu_assign_pointer(p->rdomains[free_slot], rd);
	p->n_rdomains++;
	return 0;
}

int hnv_policy_rdomain_del(struct hnv_policy *p, const char *name)
{
	int i = rdomain_find(p, name);
	if (i < 0)
		return i;
	struct rdomain *rd = p->rdomains[i];
	if (rd->refs || rd->n_routes)
		return -EBUSY;
	/* its FIBs too: routes deleted since the last commit may still be
	 * published there, and a new rdomain will reuse this slot */
	struct hnv_fib *f4 = p->fib4[i], *f6 = p->fib6[i];
	rcu_assign_pointer(p->rdomains[i], NULL);
	rcu_assign_pointer(p->fib4[i], NULL);
	rcu_assign_pointer(p->fib6[i], NULL);
	urcu_qsbr_synchronize_rcu();
	hnv_fib_free(f4);
	hnv_fib_free(f6);
	free(rd->routes);
	free(rd);
	p->n_rdomains--;
	return 0;
}

/* ---- virtual subnets ---- */

static void gateway_of(const struct hnv_prefix *pfx, struct hnv_ip *gw)
{
	*gw = pfx->addr;
	for (int i = 15; i >= 0; i--)
		if (++gw->b[i] != 0)
			break;
}

/* Builds the vsubnet table holding want entries: the current ones but
 * del_vsid, plus add (if not NULL). */
static struct vs_table *vs_build(const struct hnv_policy *p, uint32_t want,
				 const struct hnv_vsubnet *add, uint32_t del_vsid)
{
	const struct vs_table *o = p->vsubnets;
	uint32_t size = o->mask + 1;
	while (want * 2 > size)
		size *= 2;
	struct vs_table *n = calloc(1, sizeof(*n) + (size_t)size * sizeof(void *));
	if (!n)
		return NULL;
	n->mask = size - 1;
	for (uint32_t i = 0; i <= o->mask; i++) {
		struct hnv_vsubnet *v = o->slot[i];
		if (!v || v->vsid == del_vsid)
			continue;
		uint32_t j = vs_hash(v->vsid) & n->mask;
		while (n->slot[j])
			j = (j + 1) & n->mask;
		n->slot[j] = v;
	}
	if (add) {
		uint32_t j = vs_hash(add->vsid) & n->mask;
		while (n->slot[j])
			j = (j + 1) & n->mask;
		n->slot[j] = (struct hnv_vsubnet *)add;
	}
	return n;
}

/* Publishes a vsubnet table; the old one and victim (a deleted vsubnet,
 * or NULL) are freed once readers left them. */
static void vs_publish(struct hnv_policy *p, struct vs_table *n, struct hnv_vsubnet *victim)
{
	struct vs_table *o = p->vsubnets;
	rcu_assign_pointer(p->vsubnets, n);
	urcu_qsbr_synchronize_rcu();
	free(o);
	if (victim) {
		free(victim->dhcp);
		free(victim->l2);
	}
	free(victim);
}

int hnv_policy_vsubnet_add(struct hnv_policy *p, const struct hnv_vsubnet_spec *s)
{
	if (s->vsid < HNV_VSID_MIN || s->vsid > HNV_VSID_MAX || s->n_prefixes == 0 ||
	    s->n_prefixes > HNV_VSUBNET_MAX_PREFIXES)
		return -EINVAL;
	if (hnv_policy_vsubnet(p, s->vsid))
		return -EEXIST;
	int rdi = rdomain_find(p, s->rdomain);
	if (rdi < 0)
		return -ENOENT;
	struct hnv_vsubnet *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->vsid = s->vsid;
	v->rd_idx = (uint16_t)rdi;
	v->n_prefixes = (uint8_t)s->n_prefixes;
	for (unsigned i = 0; i < s->n_prefixes; i++) {
		v->prefixes[i] = s->prefixes[i];
		gateway_of(&s->prefixes[i], &v->gateway[i]);
	}
	struct vs_table *n = vs_build(p, (uint32_t)p->n_vsubnets + 1, v, 0);
	int rc = n ? MIRROR(p, vsubnet_set, v) : -ENOMEM;
	if (rc) {
		free(n);
		free(v);
		return rc;
	}
	vs_publish(p, n, NULL);
	p->n_vsubnets++;
	p->rdomains[rdi]->refs++;
	return 0;
}

static bool vsid_in_use(const struct hnv_policy *p, uint32_t vsid)
{
	for (unsigned i = 1; i < HNV_PORTS_MAX; i++)
		if (p->ports[i] && p->ports[i]->vsid == vsid)
			return true;
	for (unsigned i = 0; i < MAX_RDOMAINS; i++) {
		const struct rdomain *rd = p->rdomains[i];
		for (size_t k = 0; rd && k < rd->n_routes; k++)
			if (rd->routes[k].vsid == vsid)
				return true;
	}
	for (uint32_t c = 0; c < p->n_chunks; c++)
		for (uint32_t k = 0; k < CHUNK_RECS; k++)
			if ((p->chunks[c][k].flags & HNV_REC_F_USED) &&
			    p->chunks[c][k].vsid == vsid)
				return true;
	return false;
}

int hnv_policy_vsubnet_del(struct hnv_policy *p, uint32_t vsid)
{
	const struct hnv_vsubnet *v = hnv_policy_vsubnet(p, vsid);
	if (!v)
		return -ENOENT;
	if (v->gw_recs || vsid_in_use(p, vsid))
		return -EBUSY;
	uint16_t rdi = v->rd_idx;
	struct vs_table *n = vs_build(p, (uint32_t)p->n_vsubnets, NULL, vsid);
	int rc = n ? MIRROR(p, vsubnet_del, v) : -ENOMEM;
	if (rc) {
		free(n);
		return rc;
	}
	vs_publish(p, n, (struct hnv_vsubnet *)v);
	p->n_vsubnets--;
	p->rdomains[rdi]->refs--;
	return 0;
}

int hnv_policy_vsubnet_dhcp_set(struct hnv_policy *p, uint32_t vsid, const struct hnv_dhcp_cfg *cfg)
{
	struct hnv_vsubnet *v = (struct hnv_vsubnet *)hnv_policy_vsubnet(p, vsid);
	if (!v)
		return -ENOENT;
	if (cfg && cfg->n_pools > HNV_DHCP_POOLS_MAX)
		return -EINVAL;
	struct hnv_dhcp_cfg *n = NULL, *o = v->dhcp;
	if (cfg && cfg->n_pools > 0) {
		n = malloc(sizeof(*n));
		if (!n)
			return -ENOMEM;
		*n = *cfg;
	}
	if ((n != NULL) != (o != NULL)) {
		/* whether the vsubnet has DHCP changes: the mirror sees it */
		struct hnv_vsubnet next = *v;
		next.dhcp = n;
		int rc = MIRROR(p, vsubnet_set, &next);
		if (rc) {
			free(n);
			return rc;
		}
	}
	rcu_assign_pointer(v->dhcp, n);
	if (o) {
		urcu_qsbr_synchronize_rcu();
		free(o);
	}
	return 0;
}

/* The index of ca among vs's gateway addresses, or -1. */
static int gw_index(const struct hnv_vsubnet *vs, const struct hnv_ip *ca)
{
	for (unsigned i = 0; i < vs->n_prefixes; i++)
		if (hnv_ip_eq(&vs->gateway[i], ca))
			return (int)i;
	return -1;
}

/* Replaces vsubnet o by a copy with gw_recs and gw_mac as given: readers
 * see the old or the new one whole. The copy shares o's DHCP pointer. */
static int vs_gw_publish(struct hnv_policy *p, const struct hnv_vsubnet *o, uint8_t gw_recs,
			 const struct hnv_mac *gw_mac)
{
	struct hnv_vsubnet *v = malloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	*v = *o;
	v->gw_recs = gw_recs;
	v->gw_mac = gw_recs ? *gw_mac : (struct hnv_mac){{0}};
	struct vs_table *n = vs_build(p, (uint32_t)p->n_vsubnets, v, o->vsid);
	int rc = n ? MIRROR(p, vsubnet_set, v) : -ENOMEM;
	if (rc) {
		free(n);
		free(v);
		return rc;
	}
	struct vs_table *ot = p->vsubnets;
	rcu_assign_pointer(p->vsubnets, n);
	urcu_qsbr_synchronize_rcu();
	free(ot);
	free((struct hnv_vsubnet *)o); /* not its DHCP: the copy holds it */
	return 0;
}

int hnv_policy_gw_rec_add(struct hnv_policy *p, uint32_t vsid, const struct hnv_ip *ca,
			  const struct hnv_mac *mac)
{
	const struct hnv_vsubnet *v = hnv_policy_vsubnet(p, vsid);
	if (!v)
		return -ENOENT;
	int i = gw_index(v, ca);
	static const struct hnv_mac zero;
	if (i < 0 || (mac->b[0] & 1) || hnv_mac_eq(mac, &zero) ||
	    (v->gw_recs && !hnv_mac_eq(mac, &v->gw_mac)))
		return -EINVAL;
	if (v->gw_recs & (1u << i))
		return -EEXIST;
	return vs_gw_publish(p, v, (uint8_t)(v->gw_recs | 1u << i), mac);
}

int hnv_policy_gw_rec_del(struct hnv_policy *p, uint32_t vsid, const struct hnv_ip *ca,
			  const struct hnv_mac *mac)
{
	const struct hnv_vsubnet *v = hnv_policy_vsubnet(p, vsid);
	int i = v ? gw_index(v, ca) : -1;
	if (i < 0 || !(v->gw_recs & (1u << i)) || !hnv_mac_eq(mac, &v->gw_mac))
		return -ENOENT;
	return vs_gw_publish(p, v, (uint8_t)(v->gw_recs & ~(1u << i)), &v->gw_mac);
}

int hnv_policy_gw_rec_get(const struct hnv_policy *p, uint32_t vsid, const struct hnv_ip *ca,
			  struct hnv_mac *mac)
{
	const struct hnv_vsubnet *v = hnv_policy_vsubnet(p, vsid);
	int i = v ? gw_index(v, ca) : -1;
	if (i < 0 || !(v->gw_recs & (1u << i)))
		return -ENOENT;
	*mac = v->gw_mac;
	return 0;
}

int hnv_policy_vsubnet_foreach(const struct hnv_policy *p, hnv_vsubnet_cb cb, void *arg)
{
	for (uint32_t i = 0; i <= p->vsubnets->mask; i++) {
		if (!p->vsubnets->slot[i])
			continue;
		int rc = cb(p->vsubnets->slot[i], arg);
		if (rc)
			return rc;
	}
	return 0;
}

int hnv_policy_vsubnet_get(const struct hnv_policy *p, uint32_t vsid, struct hnv_vsubnet_spec *out)
{
	const struct hnv_vsubnet *v = hnv_policy_vsubnet(p, vsid);
	if (!v)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->vsid = vsid;
	strcpy(out->rdomain, p->rdomains[v->rd_idx]->name);
	out->n_prefixes = v->n_prefixes;
	for (unsigned i = 0; i < v->n_prefixes; i++)
		out->prefixes[i] = v->prefixes[i];
	return 0;
}

/* ---- lookup records ---- */

static bool rec_has_ca(const struct hnv_lookup_spec *s)
{
	return !hnv_ip_is_unspec(&s->ca) || s->type == HNV_TYPE_GATEWAY_WILDCARD;
}

/* The record is in the CA index (and so in the mirror): it has a CA or is
 * a GatewayWildcard record. */
static bool rec_keyed_by_ca(const struct hnv_rec *r)
{
	return !hnv_ip_is_unspec(&r->ca) || r->type == HNV_TYPE_GATEWAY_WILDCARD;
}

static void rec_release_strings(struct hnv_policy *p, const struct hnv_rec *r);

/* Returns an allocated, unpublished record to the free list. */
static void rec_unalloc(struct hnv_policy *p, uint32_t ri)
{
	struct hnv_rec *r = rec_at(p, ri);
	rec_release_strings(p, r);
	memset(r, 0, sizeof(*r));
	r->next = p->free_head;
	p->free_head = ri + 1;
}

/* Index of the record heading the (vsid, mac) chain, or TOMB; the MAC
 * index slot holding it in *pos. */
static uint32_t mac_head(const struct hnv_policy *p, uint32_t vsid, const struct hnv_mac *mac,
			 long *pos)
{
	return idx_lookup(p, p->mac_idx, hnv_hash_mac(vsid, mac), match_mac, vsid, mac, pos);
}

/* The record with identity (vsid, ca, mac), or NULL; its index in *ri. */
static struct hnv_rec *rec_find_exact(struct hnv_policy *p, uint32_t vsid, const struct hnv_ip *ca,
				      const struct hnv_mac *mac, uint32_t *ri)
{
	long pos;
	for (uint32_t i = mac_head(p, vsid, mac, &pos); i != TOMB;) {
		struct hnv_rec *r = rec_at(p, i);
		if (hnv_ip_eq(&r->ca, ca)) {
			*ri = i;
			return r;
		}
		i = r->next ? r->next - 1 : TOMB;
	}
	return NULL;
}

static int rec_fill(struct hnv_policy *p, struct hnv_rec *r, const struct hnv_lookup_spec *s)
{
	memset(r, 0, sizeof(*r));
	r->ca = s->ca;
	r->pa = s->pa;
	r->vsid = s->vsid;
	r->mac = s->mac;
	r->rule = (uint8_t)s->rule;
	r->type = (uint8_t)s->type;
	r->flags = HNV_REC_F_USED | (s->use_vm_mac ? HNV_REC_F_USE_VM_MAC : 0);
	int rc = 0;
	if (s->has_customer_id)
		rc = customer_intern(p, &s->customer_id, &r->customer_idx);
	if (!rc)
		rc = str_intern(&p->strings, s->vm_name, &r->vm_name_idx);
	if (!rc)
		rc = str_intern(&p->strings, s->context, &r->context_idx);
	return rc;
}

static void rec_release_strings(struct hnv_policy *p, const struct hnv_rec *r)
{
	str_release(&p->strings, r->vm_name_idx);
	str_release(&p->strings, r->context_idx);
}

static bool spec_valid(const struct hnv_lookup_spec *s)
{
	if (s->vsid < HNV_VSID_MIN || s->vsid > HNV_VSID_MAX)
		return false;
	bool wild = s->type == HNV_TYPE_GATEWAY_WILDCARD || s->type == HNV_TYPE_L2ONLY;
	if (wild != hnv_ip_is_unspec(&s->ca))
		return false;
	return s->type == HNV_TYPE_STATIC || s->type == HNV_TYPE_DYNAMIC || wild;
}

static int l2set_update(struct hnv_policy *p, uint32_t vsid, const struct hnv_mac *del,
			const struct hnv_rec *add);
static void forget_mac(struct hnv_policy *p, uint32_t vsid, const struct hnv_mac *mac);

/* The position of record ri in the learned list, or -1. */
static long learned_pos(const struct hnv_policy *p, uint32_t ri)
{
	for (size_t k = 0; k < p->n_learned; k++)
		if (p->learned[k] == ri)
			return (long)k;
	return -1;
}

/* hnv_policy_lookup_add with extra record flags (HNV_REC_F_LEARNED); the
 * new record's index in *out. */
static int lookup_add(struct hnv_policy *p, const struct hnv_lookup_spec *s, uint8_t flags,
		      uint32_t *out)
{
	if (!spec_valid(s))
		return -EINVAL;
	const struct hnv_vsubnet *v = hnv_policy_vsubnet(p, s->vsid);
	if (!v)
		return -ENOENT;
	uint64_t hca = hnv_hash_ca(s->vsid, &s->ca);
	if (!flags && rec_has_ca(s)) {
		/* configuration wins over what was learned */
		const struct hnv_rec *cur = hnv_policy_rec_by_ca(p, hca, s->vsid, &s->ca);
		if (cur && (cur->flags & HNV_REC_F_LEARNED))
			(void)hnv_policy_unlearn(p, s->vsid, &s->ca);
	}
	uint32_t dummy;
	if (rec_find_exact(p, s->vsid, &s->ca, &s->mac, &dummy))
		return -EEXIST;
	if (rec_has_ca(s) && hnv_policy_rec_by_ca(p, hca, s->vsid, &s->ca))
		return -EEXIST;
	int rc = idx_reserve(p, &p->ca_idx, rec_hash_ca);
	if (!rc)
		rc = idx_reserve(p, &p->mac_idx, rec_hash_mac);
	uint32_t ri;
	if (!rc)
		rc = rec_alloc(p, &ri);
	if (rc)
		return rc;
	struct hnv_rec *r = rec_at(p, ri);
	rc = rec_fill(p, r, s);
	r->flags |= flags;
	if (!rc && rec_has_ca(s))
		rc = MIRROR(p, rec_set, r);
	if (!rc && s->type == HNV_TYPE_L2ONLY)
		rc = l2set_update(p, s->vsid, NULL, r);
	if (rc) {
		rec_unalloc(p, ri);
		return rc;
	}
	long pos;
	uint32_t head = mac_head(p, s->vsid, &s->mac, &pos);
	cmm_smp_wmb(); /* the record is complete before any index names it */
	if (rec_has_ca(s))
		idx_insert(p->ca_idx, hca, ri);
	if (head != TOMB) {
		/* chain behind the existing head; readers keep finding the head */
		r->next = rec_at(p, head)->next;
		rec_at(p, head)->next = ri + 1;
	} else {
		idx_insert(p->mac_idx, hnv_hash_mac(s->vsid, &s->mac), ri);
	}
	p->n_records++;
	*out = ri;
	return 0;
}

int hnv_policy_lookup_add(struct hnv_policy *p, const struct hnv_lookup_spec *s)
{
	uint32_t ri;
	return lookup_add(p, s, 0, &ri);
}

/* Replaces or removes record oi (identity vsid/ca/mac) in both indexes.
 * ni is the replacement's index, or TOMB to remove. A replacement may enter
 * or leave the CA index (L2Only <-> GatewayWildcard); the caller reserved
 * room for an entry. */
static void rec_unlink(struct hnv_policy *p, uint32_t oi, uint32_t ni)
{
	struct hnv_rec *o = rec_at(p, oi);
	bool new_ca = ni != TOMB && rec_keyed_by_ca(rec_at(p, ni));
	uint64_t h = hnv_hash_ca(o->vsid, &o->ca);
	if (rec_keyed_by_ca(o)) {
		long pos = idx_find_val(p->ca_idx, h, oi);
		if (pos >= 0) {
			if (new_ca)
				uatomic_set(&p->ca_idx->slots[pos], slot_make(h, ni));
			else
				idx_remove_at(p->ca_idx, pos);
		}
	} else if (new_ca) {
		idx_insert(p->ca_idx, h, ni);
	}
	long pos;
	uint64_t hm = hnv_hash_mac(o->vsid, &o->mac);
	uint32_t head = mac_head(p, o->vsid, &o->mac, &pos);
	if (head == oi) {
		if (ni != TOMB) {
			rec_at(p, ni)->next = o->next;
			uatomic_set(&p->mac_idx->slots[pos], slot_make(hm, ni));
		} else if (o->next) {
			uatomic_set(&p->mac_idx->slots[pos], slot_make(hm, o->next - 1));
		} else {
			idx_remove_at(p->mac_idx, pos);
		}
		return;
	}
	/* o is inside the chain: relink its predecessor */
	for (uint32_t prev = head; prev != TOMB;) {
		struct hnv_rec *pr = rec_at(p, prev);
		if (pr->next == oi + 1) {
			if (ni != TOMB) {
				rec_at(p, ni)->next = o->next;
				pr->next = ni + 1;
			} else {
				pr->next = o->next;
			}
			return;
		}
		prev = pr->next ? pr->next - 1 : TOMB;
	}
}

int hnv_policy_lookup_set(struct hnv_policy *p, const struct hnv_lookup_spec *s)
{
	if (!spec_valid(s))
		return -EINVAL;
	uint32_t oi;
	if (!rec_find_exact(p, s->vsid, &s->ca, &s->mac, &oi) ||
	    (rec_at(p, oi)->flags & HNV_REC_F_LEARNED))
		return -ENOENT;
	bool old_ca = rec_keyed_by_ca(rec_at(p, oi)), new_ca = rec_has_ca(s);
	bool old_l2 = rec_at(p, oi)->type == HNV_TYPE_L2ONLY, new_l2 = s->type == HNV_TYPE_L2ONLY;
	int rc = 0;
	if (new_ca && !old_ca) {
		/* an L2Only record becomes its family's GatewayWildcard record */
		if (hnv_policy_rec_by_ca(p, hnv_hash_ca(s->vsid, &s->ca), s->vsid, &s->ca))
			return -EEXIST;
		rc = idx_reserve(p, &p->ca_idx, rec_hash_ca);
	}
	uint32_t ni;
	if (!rc)
		rc = rec_alloc(p, &ni);
	if (rc)
		return rc;
	struct hnv_rec *r = rec_at(p, ni);
	rc = rec_fill(p, r, s);
	bool retired = false;
	if (!rc) {
		rc = retire_rec(p, oi);
		retired = !rc;
	}
	if (!rc && new_ca)
		rc = MIRROR(p, rec_set, r);
	else if (!rc && old_ca)
		rc = MIRROR(p, rec_del, rec_at(p, oi));
	if (!rc && (old_l2 || new_l2))
		rc = l2set_update(p, s->vsid, old_l2 ? &s->mac : NULL, new_l2 ? r : NULL);
	if (rc) {
		if (retired)
			p->n_retired--;
		rec_unalloc(p, ni);
		return rc;
	}
	cmm_smp_wmb();
	rec_unlink(p, oi, ni);
	rec_release_strings(p, rec_at(p, oi));
	reclaim(p);
	if (old_l2) {
		forget_mac(p, s->vsid, &s->mac); /* its PA or type changed */
		reclaim(p);
	}
	return 0;
}

/* Removes record oi from the indexes, the mirror and the L2Only set; its
 * slot is freed at the next reclaim(). */
static int rec_remove(struct hnv_policy *p, uint32_t oi)
{
	struct hnv_rec *o = rec_at(p, oi);
	int rc = retire_rec(p, oi);
	if (!rc && rec_keyed_by_ca(o)) {
		rc = MIRROR(p, rec_del, o);
		if (rc)
			p->n_retired--;
	}
	if (!rc && o->type == HNV_TYPE_L2ONLY) {
		rc = l2set_update(p, o->vsid, &o->mac, NULL);
		if (rc) {
			p->n_retired--;
			if (rec_keyed_by_ca(o))
				(void)MIRROR(p, rec_set, o);
		}
	}
	if (rc)
		return rc;
	rec_unlink(p, oi, TOMB);
	rec_release_strings(p, o);
	p->n_records--;
	return 0;
}

int hnv_policy_lookup_del(struct hnv_policy *p, uint32_t vsid, const struct hnv_ip *ca,
			  const struct hnv_mac *mac)
{
	uint32_t oi;
	if (!rec_find_exact(p, vsid, ca, mac, &oi) || (rec_at(p, oi)->flags & HNV_REC_F_LEARNED))
		return -ENOENT;
	bool l2 = rec_at(p, oi)->type == HNV_TYPE_L2ONLY;
	int rc = rec_remove(p, oi);
	if (!rc && l2)
		forget_mac(p, vsid, mac);
	reclaim(p); /* one grace period for all of them */
	return rc;
}

/* ---- learned records ---- */

const struct hnv_rec *hnv_policy_l2only(const struct hnv_vsubnet *vs, const struct hnv_mac *mac)
{
	const struct hnv_l2set *l2 = rcu_dereference(((struct hnv_vsubnet *)vs)->l2);
	for (unsigned i = 0; l2 && i < l2->n; i++)
		if (hnv_mac_eq(&l2->rec[i].mac, mac))
			return &l2->rec[i];
	return NULL;
}

/* Publishes vsid's L2Only set without the entry of MAC del (NULL: none)
 * and with a copy of add (NULL: none). The mirror sees the vsubnet when it
 * gains its first or loses its last L2Only record. */
static int l2set_update(struct hnv_policy *p, uint32_t vsid, const struct hnv_mac *del,
			const struct hnv_rec *add)
{
	struct hnv_vsubnet *v = (struct hnv_vsubnet *)hnv_policy_vsubnet(p, vsid);
	if (!v)
		return -ENOENT;
	struct hnv_l2set *o = v->l2, *n = NULL;
	unsigned have = o ? o->n : 0, want = have + (add ? 1 : 0);
	if (want > HNV_L2ONLY_MAX_PER_VSID)
		return -ENOSPC;
	if (want) {
		n = calloc(1, sizeof(*n) + want * sizeof(n->rec[0]));
		if (!n)
			return -ENOMEM;
		for (unsigned i = 0; i < have; i++)
			if (!del || !hnv_mac_eq(&o->rec[i].mac, del))
				n->rec[n->n++] = o->rec[i];
		if (add)
			n->rec[n->n++] = *add;
		if (!n->n) {
			free(n);
			n = NULL;
		}
	}
	if ((n != NULL) != (o != NULL)) {
		struct hnv_vsubnet next = *v;
		next.l2 = n;
		int rc = MIRROR(p, vsubnet_set, &next);
		if (rc) {
			free(n);
			return rc;
		}
	}
	rcu_assign_pointer(v->l2, n);
	if (o) {
		urcu_qsbr_synchronize_rcu();
		free(o);
	}
	return 0;
}

/* The address can be learned in v: inside one of its prefixes, not its
 * gateway, not the IPv4 broadcast of the prefix, not multicast. */
bool hnv_policy_learnable(const struct hnv_vsubnet *v, const struct hnv_ip *ca)
{
	if (hnv_ip_is_unspec(ca))
		return false;
	if (hnv_ip_is_v4(ca) ? ca->b[12] >= 224 : ca->b[0] == 0xff)
		return false;
	for (unsigned i = 0; i < v->n_prefixes; i++) {
		const struct hnv_prefix *pf = &v->prefixes[i];
		if (!hnv_prefix_contains(pf, ca) || hnv_ip_eq(&v->gateway[i], ca))
			continue;
		if (hnv_ip_is_v4(ca) && pf->len < 31) {
			uint32_t a = (uint32_t)ca->b[12] << 24 | (uint32_t)ca->b[13] << 16 |
				     (uint32_t)ca->b[14] << 8 | ca->b[15];
			uint32_t host = pf->len ? ~0u >> pf->len : ~0u;
			if ((a & host) == host)
				return false; /* the subnet's broadcast address */
		}
		return true;
	}
	return false;
}

/* Removes the learned record at position li of the learned list. */
static int unlearn_at(struct hnv_policy *p, size_t li)
{
	int rc = rec_remove(p, p->learned[li]);
	if (rc)
		return rc;
	p->learned[li] = p->learned[--p->n_learned];
	return 0;
}

/* Forgets what MAC (vsid, mac) learned: its L2Only record left or changed. */
static void forget_mac(struct hnv_policy *p, uint32_t vsid, const struct hnv_mac *mac)
{
	for (size_t k = p->n_learned; k-- > 0;) {
		const struct hnv_rec *r = rec_at(p, p->learned[k]);
		if (r->vsid == vsid && hnv_mac_eq(&r->mac, mac))
			(void)unlearn_at(p, k);
	}
}

int hnv_policy_learned_foreach(const struct hnv_policy *p, hnv_rec_cb cb, void *arg)
{
	for (size_t k = 0; k < p->n_learned; k++) {
		int rc = cb(rec_at(p, p->learned[k]), arg);
		if (rc)
			return rc;
	}
	return 0;
}

size_t hnv_policy_n_learned(const struct hnv_policy *p, uint32_t vsid, size_t *in_vsid)
{
	size_t n = 0;
	for (size_t k = 0; k < p->n_learned; k++)
		n += rec_at(p, p->learned[k])->vsid == vsid;
	if (in_vsid)
		*in_vsid = n;
	return p->n_learned;
}

int hnv_policy_unlearn(struct hnv_policy *p, uint32_t vsid, const struct hnv_ip *ca)
{
	const struct hnv_rec *r = hnv_policy_rec_by_ca(p, hnv_hash_ca(vsid, ca), vsid, ca);
	if (!r || !(r->flags & HNV_REC_F_LEARNED))
		return -ENOENT;
	uint32_t ri;
	if (!rec_find_exact(p, vsid, ca, &r->mac, &ri))
		return -ENOENT;
	long li = learned_pos(p, ri);
	int rc = li < 0 ? -ENOENT : unlearn_at(p, (size_t)li);
	reclaim(p);
	return rc;
}

int hnv_policy_learn(struct hnv_policy *p, uint32_t vsid, const struct hnv_ip *ca,
		     const struct hnv_mac *mac, const struct hnv_ip *pa, uint32_t now)
{
	const struct hnv_vsubnet *v = hnv_policy_vsubnet(p, vsid);
	if (!v)
		return -ENOENT;
	if (!hnv_policy_learnable(v, ca))
		return -EINVAL;
	const struct hnv_rec *l2 = hnv_policy_l2only(v, mac);
	if (!l2 || !hnv_ip_eq(&l2->pa, pa))
		return -EPERM;
	struct hnv_rec *cur =
		(struct hnv_rec *)hnv_policy_rec_by_ca(p, hnv_hash_ca(vsid, ca), vsid, ca);
	if (cur && !(cur->flags & HNV_REC_F_LEARNED))
		return -EEXIST;
	if (cur && hnv_mac_eq(&cur->mac, mac) && hnv_ip_eq(&cur->pa, pa)) {
		uatomic_set(&cur->seen, now);
		return HNV_LEARN_FRESH;
	}
	size_t in_vsid;
	if (!cur && (hnv_policy_n_learned(p, vsid, &in_vsid) >= HNV_LEARN_MAX ||
		     in_vsid >= HNV_LEARN_MAX_PER_VSID))
		return -ENOSPC;
	if (HNV_GROW(p->learned, p->cap_learned, p->n_learned + 1))
		return -ENOMEM;
	struct hnv_lookup_spec s;
	hnv_policy_rec_spec(p, l2, &s); /* VMName, Context, CustomerID of the VM */
	s.ca = *ca;
	s.type = HNV_TYPE_DYNAMIC;
	s.rule = HNV_RULE_ENCAP;
	s.use_vm_mac = false;
	int rc = 0;
	if (cur)
		rc = hnv_policy_unlearn(p, vsid, ca);
	uint32_t ri;
	if (!rc)
		rc = lookup_add(p, &s, HNV_REC_F_LEARNED, &ri);
	if (rc)
		return rc;
	uatomic_set(&rec_at(p, ri)->seen, now);
	p->learned[p->n_learned++] = ri;
	return cur ? HNV_LEARN_MOVED : HNV_LEARN_NEW;
}

unsigned hnv_policy_learn_expire(struct hnv_policy *p, uint32_t now, uint32_t timeout)
{
	unsigned n = 0;
	for (size_t k = p->n_learned; k-- > 0;) {
		uint32_t seen = uatomic_read(&rec_at(p, p->learned[k])->seen);
		/* signed: a worker's clock read after ours may be a second ahead */
		if ((int32_t)(now - seen) > (int32_t)timeout && !unlearn_at(p, k))
			n++;
	}
	reclaim(p); /* one grace period for all of them */
	return n;
}

int hnv_policy_rec_foreach(const struct hnv_policy *p, hnv_rec_cb cb, void *arg)
{
	for (uint32_t c = 0; c < p->n_chunks; c++)
		for (uint32_t k = 0; k < CHUNK_RECS; k++) {
			const struct hnv_rec *r = &p->chunks[c][k];
			if (!(r->flags & HNV_REC_F_USED))
				continue;
			int rc = cb(r, arg);
			if (rc)
				return rc;
		}
	return 0;
}

void hnv_policy_rec_spec(const struct hnv_policy *p, const struct hnv_rec *r,
			 struct hnv_lookup_spec *out)
{
	memset(out, 0, sizeof(*out));
	out->vsid = r->vsid;
	out->ca = r->ca;
	out->pa = r->pa;
	out->mac = r->mac;
	out->rule = (enum hnv_rule)r->rule;
	out->type = (enum hnv_rec_type)r->type;
	out->use_vm_mac = r->flags & HNV_REC_F_USE_VM_MAC;
	if (r->customer_idx && r->customer_idx <= p->n_customers) {
		out->has_customer_id = true;
		out->customer_id = p->customers[r->customer_idx - 1];
	}
	snprintf(out->vm_name, sizeof(out->vm_name), "%s", str_get(&p->strings, r->vm_name_idx));
	snprintf(out->context, sizeof(out->context), "%s", str_get(&p->strings, r->context_idx));
}

/* ---- customer routes ---- */

static bool route_key_eq(const struct hnv_fib_route *r, const struct hnv_prefix *pfx,
			 const struct hnv_ip *nh)
{
	return r->prefix.len == pfx->len && hnv_ip_eq(&r->prefix.addr, &pfx->addr) &&
	       hnv_ip_eq(&r->nexthop, nh);
}

int hnv_policy_route_add(struct hnv_policy *p, const struct hnv_route_spec *s)
{
	int rdi = rdomain_find(p, s->rdomain);
	if (rdi < 0)
		return -ENOENT;
	const struct hnv_vsubnet *v = hnv_policy_vsubnet(p, s->vsid);
	if (!v)
		return -ENOENT;
	if (v->rd_idx != rdi)
		return -EXDEV;
	bool v4 = hnv_ip_is_v4(&s->prefix.addr);
	if (s->prefix.len > (v4 ? 32 : 128) || v4 != hnv_ip_is_v4(&s->nexthop))
		return -EINVAL;
	struct rdomain *rd = p->rdomains[rdi];
	for (size_t i = 0; i < rd->n_routes; i++)
		if (route_key_eq(&rd->routes[i], &s->prefix, &s->nexthop))
			return -EEXIST;
	if (HNV_GROW(rd->routes, rd->cap_routes, rd->n_routes + 1))
		return -ENOMEM;
	int rc = MIRROR(p, route_touch, (uint16_t)rdi, &s->prefix);
	if (rc)
		return rc;
	struct hnv_fib_route *r = &rd->routes[rd->n_routes++];
	r->prefix = s->prefix;
	r->nexthop = s->nexthop;
	r->vsid = s->vsid;
	r->metric = s->metric;
	rd->dirty = true;
	p->n_routes++;
	return 0;
}

int hnv_policy_route_del(struct hnv_policy *p, const char *rdomain, const struct hnv_prefix *pfx,
			 const struct hnv_ip *nexthop)
{
	int rdi = rdomain_find(p, rdomain);
	if (rdi < 0)
		return -ENOENT;
	struct rdomain *rd = p->rdomains[rdi];
	for (size_t i = 0; i < rd->n_routes; i++)
		if (route_key_eq(&rd->routes[i], pfx, nexthop)) {
			int rc = MIRROR(p, route_touch, (uint16_t)rdi, pfx);
			if (rc)
				return rc;
			/* keep the order routes were added in: it breaks metric ties */
			memmove(&rd->routes[i], &rd->routes[i + 1],
				(rd->n_routes - i - 1) * sizeof(rd->routes[0]));
			rd->n_routes--;
			rd->dirty = true;
			p->n_routes--;
			return 0;
		}
	return -ENOENT;
}

bool hnv_policy_route_exact(const struct hnv_policy *p, uint16_t rd_idx,
			    const struct hnv_prefix *pfx, struct hnv_route_hit *hit)
{
	const struct rdomain *rd = rd_idx < MAX_RDOMAINS ? p->rdomains[rd_idx] : NULL;
	const struct hnv_fib_route *best = NULL;
	for (size_t i = 0; rd && i < rd->n_routes; i++) {
		const struct hnv_fib_route *r = &rd->routes[i];
		if (r->prefix.len == pfx->len && hnv_ip_eq(&r->prefix.addr, &pfx->addr) &&
		    (!best || r->metric < best->metric))
			best = r;
	}
	if (!best)
		return false;
	hit->vsid = best->vsid;
	hit->metric = best->metric;
	hit->nexthop = best->nexthop;
	hit->prefix = best->prefix;
	return true;
}

bool hnv_policy_route_committed(const struct hnv_policy *p, uint16_t rd_idx,
				const struct hnv_prefix *pfx, struct hnv_route_hit *hit)
{
	if (rd_idx >= MAX_RDOMAINS)
		return false;
	struct hnv_policy *w = (struct hnv_policy *)p;
	const struct hnv_fib *f = hnv_ip_is_v4(&pfx->addr) ? rcu_dereference(w->fib4[rd_idx])
							   : rcu_dereference(w->fib6[rd_idx]);
	return hnv_fib_exact(f, pfx, hit);
}

int hnv_policy_route_foreach(const struct hnv_policy *p, hnv_route_cb cb, void *arg)
{
	for (unsigned i = 0; i < MAX_RDOMAINS; i++) {
		const struct rdomain *rd = p->rdomains[i];
		for (size_t k = 0; rd && k < rd->n_routes; k++) {
			int rc = cb((uint16_t)i, &rd->routes[k].prefix, arg);
			if (rc)
				return rc;
		}
	}
	return 0;
}

bool hnv_policy_uncommitted(const struct hnv_policy *p)
{
	for (unsigned i = 0; i < MAX_RDOMAINS; i++)
		if (p->rdomains[i] && p->rdomains[i]->dirty)
			return true;
	return false;
}

int hnv_policy_commit(struct hnv_policy *p)
{
	/* build every changed FIB, let the mirror publish the same changes,
	 * then publish the FIBs and free the old ones after one grace period.
	 * On a failure nothing is published and the changes stay staged. */
	struct built {
		unsigned rd;
		struct hnv_fib *f4, *f6; /* the new FIBs; once published, the old */
	} *b = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	for (unsigned i = 0; i < MAX_RDOMAINS && !rc; i++) {
		struct rdomain *rd = p->rdomains[i];
		if (!rd || !rd->dirty)
			continue;
		if (HNV_GROW(b, cap, n + 1)) {
			rc = -ENOMEM;
			break;
		}
		struct built *e = &b[n++];
		e->rd = i;
		e->f6 = NULL;
		rc = hnv_fib_build(rd->routes, rd->n_routes, true, &e->f4);
		if (!rc)
			rc = hnv_fib_build(rd->routes, rd->n_routes, false, &e->f6);
	}
	if (!rc && p->mirror.ops && p->mirror.ops->route_publish)
		rc = p->mirror.ops->route_publish(p->mirror.arg);
	for (size_t k = 0; k < n && !rc; k++) {
		struct built *e = &b[k];
		struct hnv_fib *o4 = p->fib4[e->rd], *o6 = p->fib6[e->rd];
		rcu_assign_pointer(p->fib4[e->rd], e->f4);
		rcu_assign_pointer(p->fib6[e->rd], e->f6);
		e->f4 = o4;
		e->f6 = o6;
		p->rdomains[e->rd]->dirty = false;
	}
	if (n && !rc)
		urcu_qsbr_synchronize_rcu();
	for (size_t k = 0; k < n; k++) {
		hnv_fib_free(b[k].f4);
		hnv_fib_free(b[k].f6);
	}
	free(b);
	reclaim(p);
	return rc;
}

/* ---- provider addresses ---- */

int hnv_policy_pa_add(struct hnv_policy *p, const struct hnv_prefix *pa)
{
	const struct pa_set *o = p->pas;
	for (unsigned i = 0; i < o->n; i++)
		if (hnv_ip_eq(&o->pa[i].addr, &pa->addr))
			return -EEXIST;
	if (o->n == MAX_PAS)
		return -ENOSPC;
	struct pa_set *n = malloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	*n = *o;
	n->pa[n->n++] = *pa;
	int rc = MIRROR(p, pa_set, &pa->addr, true, pa_first(n, true), pa_first(n, false));
	if (rc) {
		free(n);
		return rc;
	}
	rcu_assign_pointer(p->pas, n);
	urcu_qsbr_synchronize_rcu();
	free((void *)o);
	return 0;
}

int hnv_policy_pa_del(struct hnv_policy *p, const struct hnv_ip *pa)
{
	const struct pa_set *o = p->pas;
	struct pa_set *n = malloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->n = 0;
	for (unsigned i = 0; i < o->n; i++)
		if (!hnv_ip_eq(&o->pa[i].addr, pa))
			n->pa[n->n++] = o->pa[i];
	if (n->n == o->n) {
		free(n);
		return -ENOENT;
	}
	int rc = MIRROR(p, pa_set, pa, false, pa_first(n, true), pa_first(n, false));
	if (rc) {
		free(n);
		return rc;
	}
	rcu_assign_pointer(p->pas, n);
	urcu_qsbr_synchronize_rcu();
	free((void *)o);
	return 0;
}

/* ---- ports ---- */

/* Builds the MAC index of the ports as they will be once port id is pt
 * (NULL: deleted). */
static struct port_index *port_idx_build(const struct hnv_policy *p, unsigned id,
					 const struct hnv_port *with)
{
	unsigned n_ports = 0;
	for (unsigned i = 1; i < HNV_PORTS_MAX; i++)
		n_ports += (i == id ? with : p->ports[i]) != NULL;
	uint32_t size = 64;
	while (n_ports * 2 > size)
		size *= 2;
	struct port_index *n = calloc(1, sizeof(*n) + (size_t)size * sizeof(uint16_t));
	if (!n)
		return NULL;
	n->mask = size - 1;
	for (unsigned i = 1; i < HNV_PORTS_MAX; i++) {
		const struct hnv_port *pt = i == id ? with : p->ports[i];
		if (!pt)
			continue;
		uint32_t j = (uint32_t)hnv_hash_mac(pt->vsid, &pt->mac) & n->mask;
		while (n->slot[j])
			j = (j + 1) & n->mask;
		n->slot[j] = (uint16_t)i;
	}
	return n;
}

/* Publishes a MAC index; the old one is freed once readers left it. */
static void port_idx_publish(struct hnv_policy *p, struct port_index *n)
{
	struct port_index *o = p->port_idx;
	rcu_assign_pointer(p->port_idx, n);
	urcu_qsbr_synchronize_rcu();
	free(o);
}

int hnv_policy_port_add(struct hnv_policy *p, const struct hnv_port_spec *s)
{
	if (!s->name[0] || strlen(s->name) > HNV_NAME_MAX || s->n_cas > HNV_PORT_MAX_CAS)
		return -EINVAL;
	if (!hnv_policy_vsubnet(p, s->vsid))
		return -ENOENT;
	unsigned slot = 0;
	for (unsigned i = 1; i < HNV_PORTS_MAX; i++) {
		const struct hnv_port *pt = p->ports[i];
		if (!pt) {
			if (!slot)
				slot = i;
			continue;
		}
		if (strcmp(pt->name, s->name) == 0 ||
		    (pt->vsid == s->vsid && hnv_mac_eq(&pt->mac, &s->mac)))
			return -EEXIST;
	}
	if (!slot)
		return -ENOSPC;
	struct hnv_port *pt = calloc(1, sizeof(*pt));
	if (!pt)
		return -ENOMEM;
	pt->id = (uint16_t)slot;
	pt->vsid = s->vsid;
	pt->mac = s->mac;
	pt->n_cas = (uint8_t)s->n_cas;
	for (unsigned i = 0; i < s->n_cas; i++)
		pt->cas[i] = s->cas[i];
	strcpy(pt->name, s->name);
	pt->gateway = s->gateway;
	struct port_index *idx = port_idx_build(p, slot, pt);
	int rc = idx ? MIRROR(p, port_set, pt) : -ENOMEM;
	if (rc) {
		free(idx);
		free(pt);
		return rc;
	}
	rcu_assign_pointer(p->ports[slot], pt);
	port_idx_publish(p, idx);
	return (int)slot;
}

int hnv_policy_port_id(const struct hnv_policy *p, const char *name)
{
	for (unsigned i = 1; i < HNV_PORTS_MAX; i++)
		if (p->ports[i] && strcmp(p->ports[i]->name, name) == 0)
			return (int)i;
	return -ENOENT;
}

const char *hnv_policy_port_name(const struct hnv_policy *p, unsigned port_id)
{
	if (port_id == HNV_PORT_UPLINK)
		return "uplink";
	if (port_id >= HNV_PORTS_MAX || !p->ports[port_id])
		return NULL;
	return p->ports[port_id]->name;
}

int hnv_policy_port_del(struct hnv_policy *p, const char *name)
{
	int id = hnv_policy_port_id(p, name);
	if (id < 0)
		return id;
	struct hnv_port *pt = p->ports[id];
	struct port_index *idx = port_idx_build(p, (unsigned)id, NULL);
	int rc = idx ? MIRROR(p, port_del, pt) : -ENOMEM;
	if (rc) {
		free(idx);
		return rc;
	}
	rcu_assign_pointer(p->ports[id], NULL);
	port_idx_publish(p, idx); /* waits for readers */
	free(pt);
	return 0;
}

int hnv_policy_port_foreach(const struct hnv_policy *p, hnv_port_cb cb, void *arg)
{
	for (unsigned i = 1; i < HNV_PORTS_MAX; i++) {
		if (!p->ports[i])
			continue;
		int rc = cb(p->ports[i], arg);
		if (rc)
			return rc;
	}
	return 0;
}

void hnv_policy_set_mirror(struct hnv_policy *p, const struct hnv_policy_mirror *m)
{
	if (m)
		p->mirror = *m;
	else
		memset(&p->mirror, 0, sizeof(p->mirror));
}

void hnv_policy_stats(const struct hnv_policy *p, struct hnv_policy_stats *st)
{
	st->n_records = p->n_records;
	st->n_routes = p->n_routes;
	st->n_vsubnets = p->n_vsubnets;
	st->n_rdomains = p->n_rdomains;
	st->record_bytes = (size_t)p->n_chunks * big_size(CHUNK_BYTES) +
			   big_size(idx_bytes(p->ca_idx->mask + 1)) +
			   big_size(idx_bytes(p->mac_idx->mask + 1)) + sizeof(p->chunks);
}

/* ---- REDIRECT overrides (MS-NVGREE, datapath/nvgre_ext.h) ----
 * An override replaces the PA of a record with a CA by the one a REDIRECT
 * named, as a replacement of the record (so readers and the mirror see an
 * ordinary record change) marked HNV_REC_F_REDIRECTED. The PA configured
 * before the first override and the time are kept in a small table of the
 * control thread; an entry counts only while its record carries the flag,
 * so any later write of the record (a config change) clears the override. */
#define REDIRECTS_MAX 4096
struct redirect_tab {
	unsigned n;
	struct redirect_ent {
		uint32_t vsid;
		struct hnv_ip ca, cfg_pa;
		int64_t since;
	} e[REDIRECTS_MAX];
};

static struct redirect_ent *redirect_find(struct hnv_policy *p, uint32_t vsid,
					  const struct hnv_ip *ca)
{
	if (!p->redirects)
		return NULL;
	for (unsigned i = 0; i < p->redirects->n; i++) {
		struct redirect_ent *e = &p->redirects->e[i];
		if (e->vsid == vsid && hnv_ip_eq(&e->ca, ca))
			return e;
	}
	return NULL;
}

/* A slot for (vsid, ca): its own, a stale one (record no longer
 * redirected) or a new one; NULL when full. */
static struct redirect_ent *redirect_slot(struct hnv_policy *p, uint32_t vsid,
					  const struct hnv_ip *ca)
{
	struct redirect_ent *e = redirect_find(p, vsid, ca);
	if (e)
		return e;
	if (!p->redirects && !(p->redirects = calloc(1, sizeof(*p->redirects))))
		return NULL;
	struct redirect_tab *t = p->redirects;
	for (unsigned i = 0; i < t->n; i++) {
		const struct hnv_rec *r = hnv_policy_rec_by_ca(
			p, hnv_hash_ca(t->e[i].vsid, &t->e[i].ca), t->e[i].vsid, &t->e[i].ca);
		if (!r || !(r->flags & HNV_REC_F_REDIRECTED))
			return &t->e[i];
	}
	return t->n < REDIRECTS_MAX ? &t->e[t->n++] : NULL;
}

int hnv_policy_lookup_redirect(struct hnv_policy *p, uint32_t vsid, const struct hnv_ip *ca,
			       const struct hnv_ip *from_pa, const struct hnv_ip *new_pa,
			       int64_t since)
{
	const struct hnv_rec *cur = hnv_policy_rec_by_ca(p, hnv_hash_ca(vsid, ca), vsid, ca);
	if (!cur || hnv_ip_is_unspec(&cur->ca) || !hnv_ip_eq(&cur->pa, from_pa))
		return -ESTALE;
	if (hnv_ip_eq(new_pa, from_pa) || hnv_policy_is_local_pa(p, new_pa))
		return -EINVAL;
	struct hnv_ip cfg_pa = cur->pa;
	struct redirect_ent *old = redirect_find(p, vsid, ca);
	if (old && (cur->flags & HNV_REC_F_REDIRECTED))
		cfg_pa = old->cfg_pa;
	struct redirect_ent *e = redirect_slot(p, vsid, ca);
	if (!e)
		return -ENOSPC;
	struct hnv_lookup_spec s;
	hnv_policy_rec_spec(p, cur, &s);
	s.pa = *new_pa;
	int rc = hnv_policy_lookup_set(p, &s);
	if (rc)
		return rc;
	struct hnv_rec *r =
		(struct hnv_rec *)hnv_policy_rec_by_ca(p, hnv_hash_ca(vsid, ca), vsid, ca);
	if (r)
		r->flags |= HNV_REC_F_REDIRECTED; /* one byte: readers see it or not */
	e->vsid = vsid;
	e->ca = *ca;
	e->cfg_pa = cfg_pa;
	e->since = since;
	return 0;
}

bool hnv_policy_redirect_get(const struct hnv_policy *p, const struct hnv_rec *r,
			     struct hnv_ip *cfg_pa, int64_t *since)
{
	if (!(r->flags & HNV_REC_F_REDIRECTED))
		return false;
	const struct redirect_ent *e = redirect_find((struct hnv_policy *)p, r->vsid, &r->ca);
	if (!e)
		return false;
	*cfg_pa = e->cfg_pa;
	*since = e->since;
	return true;
}
