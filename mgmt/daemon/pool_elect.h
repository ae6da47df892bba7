/* pool_elect.h: where a gateway pool's unowned tenants go (pool.c,
 * docs/gateway-pool.md "Placement and election"). Pure functions.
 *
 * Every live member computes the same plan from the same reading of
 * pool/NAME/: the unowned tenants, taken in name order, each go to the
 * live member with the fewest active tenants, counting those the plan gave
 * before it; ties go to the highest rendezvous hash of (tenant, member),
 * so that a tenant keeps its preferred member whatever the others are. */
#ifndef HNV_POOL_ELECT_H
#define HNV_POOL_ELECT_H

#include <stddef.h>
#include <stdint.h>

/* The rendezvous hash of tenant rd on member (64-bit FNV-1a of "rd/member",
 * finished with a 64-bit mix). */
uint64_t hnv_pool_rhash(const char *rd, const char *member);

/* Plans n_rds unowned tenants (rds, sorted by strcmp) over n_members live
 * members whose active tenants are load[] (updated: each placement counts).
 * out[i] gets the index of rds[i]'s member, or -1 when there is none. */
void hnv_pool_plan(const char *const *rds, size_t n_rds, const char *const *members, size_t *load,
		   size_t n_members, int *out);

#endif
