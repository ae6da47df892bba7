/* pool_elect.c: placement of a gateway pool's tenants (pool_elect.h). */
#include "pool_elect.h"

uint64_t hnv_pool_rhash(const char *rd, const char *member)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (const char *s = rd; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3u;
	h = (h ^ '/') * 0x100000001b3u;
	for (const char *s = member; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3u;
	/* splitmix64's finish: FNV's low bits alone mix poorly */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9u;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebu;
	return h ^ (h >> 31);
}

void hnv_pool_plan(const char *const *rds, size_t n_rds, const char *const *members, size_t *load,
		   size_t n_members, int *out)
{
	for (size_t i = 0; i < n_rds; i++) {
		int best = -1;
		uint64_t best_h = 0;
		for (size_t m = 0; m < n_members; m++) {
			uint64_t h = hnv_pool_rhash(rds[i], members[m]);
			if (best < 0 || load[m] < load[best] ||
			    (load[m] == load[best] && h > best_h)) {
				best = (int)m;
				best_h = h;
			}
		}
		out[i] = best;
		if (best >= 0)
			load[best]++;
	}
}
