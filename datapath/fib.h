/* fib.h: compiled customer-route tables (one per routing domain and family).
 *
 * A FIB is immutable once built: the policy builds a new one when routes
 * change and publishes it under RCU. It is one allocation: the sorted
 * starts of disjoint address intervals, each interval's result, and the
 * route results, so a lookup is a binary search over a few cache lines.
 * Longest-prefix match and the metric tie-break (lowest wins among equal
 * prefixes) are resolved when it is built.
 */
#ifndef HNV_FIB_H
#define HNV_FIB_H

#include "policy_read.h"

struct hnv_fib;

struct hnv_fib_route {
	struct hnv_prefix prefix;
	struct hnv_ip nexthop;
	uint32_t vsid;
	uint32_t metric;
};

/* Builds the FIB of the routes of family v4 among routes[0..n). Returns 0
 * or -ENOMEM; *out is NULL when no route has that family. */
int hnv_fib_build(const struct hnv_fib_route *routes, size_t n, bool v4, struct hnv_fib **out);
void hnv_fib_free(struct hnv_fib *f);
/* f may be NULL (no routes). dst must have the FIB's family. */
bool hnv_fib_lookup(const struct hnv_fib *f, const struct hnv_ip *dst, struct hnv_route_hit *hit);
/* The route of exactly prefix pfx (of the FIB's family) in f, as built
 * (lowest metric). False when f has none or f is NULL. */
bool hnv_fib_exact(const struct hnv_fib *f, const struct hnv_prefix *pfx, struct hnv_route_hit *hit);
/* Prefetches the lines a lookup will search first. */
void hnv_fib_prefetch(const struct hnv_fib *f);

#endif
