/* fib.c: customer-route tables compiled to disjoint intervals; see fib.h. */
#include "fib.h"

#include "../lib/vec.h"

#include <errno.h>
#include <stdlib.h>

#define NO_ROUTE 0xffffffffu

/* 128-bit keys: IPv4 addresses are IPv4-mapped, so both families share the
 * builder; IPv4 FIBs store only the low 32 bits. */
struct u128 {
	uint64_t hi, lo;
};

struct hnv_fib {
	uint32_t n; /* intervals */
	uint32_t n_hits;
	bool v4;
	const uint32_t *start4;    /* v4: n interval starts */
	const struct u128 *start6; /* v6: n interval starts */
	const uint32_t *res;       /* n: index into hits, or NO_ROUTE */
	const struct hnv_route_hit *hits;
	/* the arrays follow in the same allocation */
};

static struct u128 ip_key(const struct hnv_ip *a)
{
	struct u128 k = {0, 0};
	for (int i = 0; i < 8; i++) {
		k.hi = k.hi << 8 | a->b[i];
		k.lo = k.lo << 8 | a->b[i + 8];
	}
	return k;
}

static bool u128_lt(struct u128 a, struct u128 b)
{
	return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo);
}

static bool u128_le(struct u128 a, struct u128 b)
{
	return !u128_lt(b, a);
}

static struct u128 u128_add1(struct u128 a, bool *carry)
{
	*carry = false;
	if (++a.lo == 0 && ++a.hi == 0)
		*carry = true;
	return a;
}

/* Last address of a prefix, in the 128-bit mapped space. */
static struct u128 prefix_end(const struct hnv_prefix *pfx)
{
	struct u128 k = ip_key(&pfx->addr);
	unsigned host = 128 - hnv_prefix_bits128(pfx);
	if (host >= 64) {
		k.lo = ~0ull;
		if (host == 128)
			k.hi = ~0ull;
		else if (host > 64)
			k.hi |= ~0ull >> (128 - host);
	} else if (host > 0) {
		k.lo |= ~0ull >> (64 - host);
	}
	return k;
}

struct sorted {
	struct u128 start, end;
	const struct hnv_fib_route *r;
};

static int sorted_cmp(const void *a, const void *b)
{
	const struct sorted *x = a, *y = b;
	if (u128_lt(x->start, y->start))
		return -1;
	if (u128_lt(y->start, x->start))
		return 1;
	if (x->r->prefix.len != y->r->prefix.len)
		return x->r->prefix.len < y->r->prefix.len ? -1 : 1; /* enclosing first */
	if (x->r->metric != y->r->metric)
		return x->r->metric < y->r->metric ? -1 : 1;
	/* equal metrics: the route listed first (qsort is not stable, and the
	 * choice must be the one hnv_policy_route_exact reports) */
	return x->r < y->r ? -1 : x->r > y->r;
}

struct builder {
	uint32_t n;
	size_t cap_starts, cap_res; /* the two arrays grow one after the other */
	struct u128 *starts;
	uint32_t *res;
};

static int emit(struct builder *b, struct u128 from, uint32_t res)
{
	if (b->n && b->res[b->n - 1] == res)
		return 0; /* same result as the previous interval: extend it */
	if (HNV_GROW(b->starts, b->cap_starts, b->n + 1) || HNV_GROW(b->res, b->cap_res, b->n + 1))
		return -ENOMEM;
	b->starts[b->n] = from;
	b->res[b->n++] = res;
	return 0;
}

/* Prefixes nest or are disjoint, so one sweep in start order with a stack
 * of open prefixes gives each interval its most specific covering route. */
static int sweep(struct sorted *sr, size_t m, bool v4, struct builder *b)
{
	struct sorted **stack = calloc(m ? m : 1, sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	struct u128 cur = {0, v4 ? 0xffff00000000ull : 0};
	struct u128 last = v4 ? (struct u128){0, 0xffffffffffffull} : (struct u128){~0ull, ~0ull};
	bool done = false; /* cur went past the end of the address space */
	size_t sp = 0;
	int rc = 0;
	for (size_t i = 0; i <= m && !rc && !done; i++) {
		/* close the prefixes that end before the next one starts */
		while (sp && !rc && !done && (i == m || u128_lt(stack[sp - 1]->end, sr[i].start))) {
			struct sorted *t = stack[--sp];
			if (u128_le(cur, t->end)) {
				rc = emit(b, cur, (uint32_t)(t - sr));
				cur = u128_add1(t->end, &done);
			}
		}
		if (i == m || rc || done)
			break;
		if (u128_lt(cur, sr[i].start)) {
			rc = emit(b, cur, sp ? (uint32_t)(stack[sp - 1] - sr) : NO_ROUTE);
			cur = sr[i].start;
		}
		stack[sp++] = &sr[i];
	}
	if (!rc && !done && u128_le(cur, last))
		rc = emit(b, cur, NO_ROUTE);
	free(stack);
	return rc;
}

int hnv_fib_build(const struct hnv_fib_route *routes, size_t n, bool v4, struct hnv_fib **out)
{
	*out = NULL;
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		m += hnv_ip_is_v4(&routes[i].prefix.addr) == v4;
	if (!m)
		return 0;
	struct sorted *sr = calloc(m, sizeof(*sr));
	if (!sr)
		return -ENOMEM;
	m = 0;
	for (size_t i = 0; i < n; i++) {
		if (hnv_ip_is_v4(&routes[i].prefix.addr) != v4)
			continue;
		sr[m].start = ip_key(&routes[i].prefix.addr);
		sr[m].end = prefix_end(&routes[i].prefix);
		sr[m].r = &routes[i];
		m++;
	}
	qsort(sr, m, sizeof(*sr), sorted_cmp);
	/* equal prefixes: keep the first, the lowest metric */
	size_t u = 0;
	for (size_t i = 0; i < m; i++) {
		if (u && sr[u - 1].r->prefix.len == sr[i].r->prefix.len &&
		    !u128_lt(sr[u - 1].start, sr[i].start))
			continue;
		sr[u++] = sr[i];
	}
	struct builder b = {0};
	int rc = sweep(sr, u, v4, &b);
	struct hnv_fib *f = NULL;
	if (!rc) {
		size_t keysz = v4 ? sizeof(uint32_t) : sizeof(struct u128);
		size_t hdr = (sizeof(*f) + 15) & ~(size_t)15;
		size_t sz = hdr + b.n * keysz + b.n * sizeof(uint32_t) +
			    u * sizeof(struct hnv_route_hit);
		f = aligned_alloc(64, (sz + 63) & ~(size_t)63);
		if (!f)
			rc = -ENOMEM;
	}
	if (!rc) {
		uint8_t *p = (uint8_t *)f + ((sizeof(*f) + 15) & ~(size_t)15);
		f->n = b.n;
		f->v4 = v4;
		f->start4 = NULL;
		f->start6 = NULL;
		if (v4) {
			uint32_t *s = (uint32_t *)p;
			for (uint32_t i = 0; i < b.n; i++)
				s[i] = (uint32_t)b.starts[i].lo;
			f->start4 = s;
			p += b.n * sizeof(uint32_t);
		} else {
			memcpy(p, b.starts, b.n * sizeof(struct u128));
			f->start6 = (const struct u128 *)p;
			p += b.n * sizeof(struct u128);
		}
		memcpy(p, b.res, b.n * sizeof(uint32_t));
		f->res = (const uint32_t *)p;
		p += b.n * sizeof(uint32_t);
		struct hnv_route_hit *hits = (struct hnv_route_hit *)p;
		for (size_t i = 0; i < u; i++) {
			hits[i].vsid = sr[i].r->vsid;
			hits[i].metric = sr[i].r->metric;
			hits[i].nexthop = sr[i].r->nexthop;
			hits[i].prefix = sr[i].r->prefix;
		}
		f->hits = hits;
		f->n_hits = (uint32_t)u;
		*out = f;
	}
	free(b.starts);
	free(b.res);
	free(sr);
	return rc;
}

void hnv_fib_free(struct hnv_fib *f)
{
	free(f);
}

bool hnv_fib_lookup(const struct hnv_fib *f, const struct hnv_ip *dst, struct hnv_route_hit *hit)
{
	if (!f)
		return false;
	/* the last interval whose start <= key; interval 0 starts the space */
	uint32_t lo = 0, n = f->n;
	if (f->v4) {
		uint32_t key = (uint32_t)dst->b[12] << 24 | (uint32_t)dst->b[13] << 16 |
			       (uint32_t)dst->b[14] << 8 | dst->b[15];
		while (n > 1) {
			uint32_t half = n / 2;
			lo = f->start4[lo + half] <= key ? lo + half : lo;
			n -= half;
		}
	} else {
		struct u128 key = ip_key(dst);
		while (n > 1) {
			uint32_t half = n / 2;
			lo = u128_le(f->start6[lo + half], key) ? lo + half : lo;
			n -= half;
		}
	}
	uint32_t r = f->res[lo];
	if (r == NO_ROUTE)
		return false;
	*hit = f->hits[r];
	return true;
}

bool hnv_fib_exact(const struct hnv_fib *f, const struct hnv_prefix *pfx, struct hnv_route_hit *hit)
{
	if (!f)
		return false;
	/* hits are in build order: by start address, then by length */
	struct u128 k = ip_key(&pfx->addr);
	uint32_t lo = 0, hi = f->n_hits;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct hnv_prefix *m = &f->hits[mid].prefix;
		struct u128 mk = ip_key(&m->addr);
		if (u128_lt(mk, k) || (!u128_lt(k, mk) && m->len < pfx->len))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == f->n_hits || f->hits[lo].prefix.len != pfx->len ||
	    !hnv_ip_eq(&f->hits[lo].prefix.addr, &pfx->addr))
		return false;
	*hit = f->hits[lo];
	return true;
}

void hnv_fib_prefetch(const struct hnv_fib *f)
{
	if (!f)
		return;
	const uint8_t *s = f->v4 ? (const uint8_t *)f->start4 : (const uint8_t *)f->start6;
	size_t bytes = f->n * (f->v4 ? 4u : 16u);
	__builtin_prefetch(f);
	for (size_t off = 0; off < bytes && off < 8 * 64; off += 64)
		__builtin_prefetch(s + off);
}
