/* fuzz_bgp_show.c: libFuzzer harness for hnv_bgp_parse_neighbors
 * (gateway/bgp_show.c), the parser of bgpd's `show bgp vrf all neighbors
 * json` that `hnvgw show bgp-peers` reads. Every neighbor it reports must
 * be of an rd-* VRF, with terminated strings and counts that are -1 or
 * not negative; the count it returns is the number of calls. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/bgp.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

static void check(void *arg, const struct hnv_bgp_peer_state *s)
{
	int *calls = arg;
	(*calls)++;
	if (!memchr(s->vrf, 0, sizeof(s->vrf)) || !memchr(s->addr, 0, sizeof(s->addr)) ||
	    !memchr(s->state, 0, sizeof(s->state)))
		abort();
	if (strncmp(s->vrf, HNV_BGP_VRF_PREFIX, strlen(HNV_BGP_VRF_PREFIX)) != 0)
		abort();
	if (s->accepted < -1 || s->announced < -1 || s->received != -1 || s->uptime_ms < -1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	int calls = 0;
	int n = hnv_bgp_parse_neighbors((const char *)buf, len, check, &calls);
	if (n >= 0 && n != calls)
		abort();
	if (n < 0 && calls != 0)
		abort();
	return 0;
}
