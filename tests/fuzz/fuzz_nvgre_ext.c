/* fuzz_nvgre_ext.c: libFuzzer harness for the MS-NVGREE REDIRECT and
 * UNREACHABLE codec (datapath/nvgre_ext.c).
 *
 * Each input is an inner NVGRE frame given to hnv_nvx_parse in an exactly
 * sized copy (a read past len is an ASan error). Afterwards (abort() on a
 * violation):
 *   - a result other than 0, -EPROTO, -EMSGSIZE or -EINVAL is a bug;
 *   - an accepted message has a kind, and a REDIRECT a new PA;
 *   - an accepted message written again (same kind, MACs, PAs, the quote
 *     taken from the input) parses back to the same kind, PAs and CAs.
 * Seeds: tests/fuzz/seeds/fuzz_nvgre_ext/ (an IPv4 REDIRECT, an IPv4
 * UNREACHABLE).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../datapath/nvgre_ext.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "violated: %s\n", #cond);                                  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Where the quote of an accepted message starts in the frame. */
static size_t quote_off(const uint8_t *f, const struct hnv_nvx *m)
{
	if (hnv_ip_is_v4(&m->from_pa))
		return 14 + (size_t)(f[14] & 15) * 4 + 8;
	return 14 + 40 + (m->kind == HNV_NVX_REDIRECT ? 48 : 8); /* no extension headers */
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	uint8_t *f = malloc(len ? len : 1);
	if (!f)
		return 0;
	memcpy(f, buf, len);
	struct hnv_nvx m;
	int rc = hnv_nvx_parse(f, len, &m);
	CHECK(rc == 0 || rc == -EPROTO || rc == -EMSGSIZE || rc == -EINVAL);
	if (rc == 0) {
		CHECK(m.kind == HNV_NVX_REDIRECT || m.kind == HNV_NVX_UNREACHABLE);
		if (m.kind == HNV_NVX_REDIRECT)
			CHECK(!hnv_ip_is_unspec(&m.new_pa));
		size_t q = quote_off(f, &m);
		/* IPv6 with extension headers before ICMPv6: not re-encoded */
		if (q < len && (hnv_ip_is_v4(&m.from_pa) || f[14 + 6] == 58)) {
			uint8_t out[HNV_NVX_MAX_LEN];
			int n = hnv_nvx_write(out, sizeof(out), &m, f + q, len - q);
			if (n > 0) {
				struct hnv_nvx r;
				CHECK(hnv_nvx_parse(out, (size_t)n, &r) == 0);
				CHECK(r.kind == m.kind);
				CHECK(hnv_ip_eq(&r.from_pa, &m.from_pa));
				CHECK(hnv_ip_eq(&r.to_pa, &m.to_pa));
				CHECK(hnv_ip_eq(&r.ca, &m.ca));
				CHECK(hnv_ip_eq(&r.src_ca, &m.src_ca));
				if (m.kind == HNV_NVX_REDIRECT)
					CHECK(hnv_ip_eq(&r.new_pa, &m.new_pa));
			}
		}
	}
	free(f);
	return 0;
}
