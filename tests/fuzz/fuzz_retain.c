/* fuzz_retain.c: libFuzzer harness for gateway/retain.c, the parser of a
 * pool tenant's learned routes as another member wrote them to etcd.
 * Checks: it fails only with -EINVAL and then gives no route; what it
 * accepts formats and reads back to the same routes. */
#include "../../gateway/retain.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

#define MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	static struct hnv_retain_route a[MAX], b[MAX];
	static char text[MAX * 128];
	size_t n = 99, m = 99;
	char err[256];
	int rc = hnv_retain_parse((const char *)buf, len, a, MAX, &n, err, sizeof(err));
	if (rc) {
		if (rc != -EINVAL || n != 0 || !memchr(err, 0, sizeof(err)))
			abort();
		return 0;
	}
	int tl = hnv_retain_format(a, n, text, sizeof(text));
	if (tl < 0 || hnv_retain_parse(text, (size_t)tl, b, MAX, &m, err, sizeof(err)) || m != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if (a[i].prefix.len != b[i].prefix.len ||
		    memcmp(&a[i].prefix.addr, &b[i].prefix.addr, sizeof(a[i].prefix.addr)) ||
		    a[i].has_gw != b[i].has_gw || memcmp(&a[i].gw, &b[i].gw, sizeof(a[i].gw)) ||
		    strcmp(a[i].dev, b[i].dev))
			abort();
	return 0;
}
