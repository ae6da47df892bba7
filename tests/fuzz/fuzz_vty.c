/* fuzz_vty.c: libFuzzer harness for the reply parser of FRR's vty
 * protocol (gateway/vty.c, hnv_vty_reply_feed), fed as a daemon's byte
 * stream: the first input byte sets the size of the reads it is split
 * into and the output limit.
 *
 * The parser must survive anything and keep its promises: output never
 * past the limit and always NUL-terminated; once a reply is done, a byte
 * more is -EPROTO; the same bytes in one read or in many give the same
 * result (the error, or the output and status).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/vty.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

/* Feeds data in reads of step bytes: the first error, or 0. */
static int feed(struct hnv_vty_reply *r, const uint8_t *data, size_t n, size_t step)
{
	for (size_t i = 0; i < n; i += step) {
		int rc = hnv_vty_reply_feed(r, data + i, n - i < step ? n - i : step);
		if (rc)
			return rc;
		if (r->len > r->max || (r->out && r->out[r->len] != '\0'))
			abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	if (len < 1)
		return 0;
	size_t step = (size_t)(buf[0] & 0x0f) + 1, max = (size_t)(buf[0] >> 4) * 64;
	struct hnv_vty_reply a = {.max = max}, b = {.max = max};
	int ra = feed(&a, buf + 1, len - 1, len), rb = feed(&b, buf + 1, len - 1, step);
	if (ra != rb || (ra == 0 && (a.done != b.done || a.status != b.status || a.len != b.len ||
				     (a.len && memcmp(a.out, b.out, a.len) != 0))))
		abort();
	if (ra == 0 && a.done) {
		if (a.status < 0 || a.status > 255 || !a.out)
			abort();
		uint8_t more = 0;
		if (hnv_vty_reply_feed(&a, &more, 1) != -EPROTO)
			abort();
	}
	if (ra && ra != -EMSGSIZE && ra != -EPROTO && ra != -ENOMEM)
		abort();
	hnv_vty_reply_free(&a);
	hnv_vty_reply_free(&b);
	return 0;
}
