/* fuzz_bgp_summary.c: libFuzzer harness for gateway/bgpstate.c, the parser
 * of bgpd's `show bgp vrf all summary json` (text from another process).
 * Checks: it never fails on anything but -EINVAL; the count it returns is
 * the number of callbacks; every string a callback gets is NUL-terminated
 * within its field. */
#include "../../gateway/bgpstate.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

static void on_session(void *arg, const struct hnv_bgp_session *s)
{
	if (!memchr(s->vrf, 0, sizeof(s->vrf)) || !memchr(s->peer, 0, sizeof(s->peer)) ||
	    !memchr(s->state, 0, sizeof(s->state)) || !memchr(s->afi, 0, sizeof(s->afi)))
		abort();
	(*(int *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	int n = 0;
	int rc = hnv_bgp_summary_parse((const char *)buf, len, on_session, &n);
	if (rc < 0 ? rc != -EINVAL || n != 0 : rc != n)
		abort();
	return 0;
}
