/* fuzz_rtnl.c: libFuzzer harness for hnv_rtnl_parse_link and
 * hnv_rtnl_parse_rule (gateway/rtnl.c), the parsers of kernel RTM_NEWLINK
 * and RTM_NEWRULE replies (the same input goes to both).
 *
 * The input is copied to a buffer of exactly its length (ASan catches any
 * read past it) and parsed. An accepted message must give NUL-terminated
 * name and kind that fit their fields, type-specific values only for their
 * kind, and the same result when parsed again (an empty name is not
 * refused: no kernel sends one, and it matches no name hnvgwd looks for).
 * A refused one must be refused with -EINVAL. A rule must parse the same
 * twice, or be refused with -EINVAL.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/rtnl.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	/* malloc gives netlink's 4-byte alignment */
	uint8_t *msg = malloc(len ? len : 1);
	if (msg == NULL)
		return 0;
	memcpy(msg, buf, len);
	struct hnv_rtnl_link l, again;
	int rc = hnv_rtnl_parse_link(msg, len, &l);
	if (rc == 0) {
		if (memchr(l.name, 0, sizeof(l.name)) == NULL ||
		    memchr(l.kind, 0, sizeof(l.kind)) == NULL)
			abort();
		if (strcmp(l.kind, "vrf") != 0 && l.vrf_table != 0)
			abort();
		if (strcmp(l.kind, "xfrm") != 0 && (l.xfrm_if_id != 0 || l.xfrm_link != 0))
			abort();
		if (hnv_rtnl_parse_link(msg, len, &again) != 0 ||
		    memcmp(&l, &again, sizeof(l)) != 0)
			abort();
	} else if (rc != -EINVAL) {
		abort();
	}
	struct hnv_rtnl_rule ru, ru2;
	rc = hnv_rtnl_parse_rule(msg, len, &ru);
	if (rc == 0) {
		if (hnv_rtnl_parse_rule(msg, len, &ru2) != 0 || memcmp(&ru, &ru2, sizeof(ru)) != 0)
			abort();
	} else if (rc != -EINVAL) {
		abort();
	}
	free(msg);
	return 0;
}
