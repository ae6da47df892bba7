/* fuzz_rtnl.c: libFuzzer harness for hnv_rtnl_parse_link,
 * hnv_rtnl_parse_rule and hnv_rtnl_parse_route (gateway/rtnl.c), the
 * parsers of kernel RTM_NEWLINK, RTM_NEWRULE and RTM_NEWROUTE replies (the
 * same input goes to all three).
 *
 * The input is copied to a buffer of exactly its length (ASan catches any
 * read past it) and parsed. An accepted message must give NUL-terminated
 * name and kind that fit their fields, type-specific values only for their
 * kind, and the same result when parsed again (an empty name is not
 * refused: no kernel sends one, and it matches no name hnvgwd looks for).
 * A refused one must be refused with -EINVAL. A rule must parse the same
 * twice, or be refused with -EINVAL. A route must parse the same twice,
 * with a prefix length within its family and an IPv4 prefix and gateway
 * that are IPv4 addresses, or be refused with -EINVAL.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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
	struct hnv_rtnl_route rt, rt2;
	rc = hnv_rtnl_parse_route(msg, len, &rt);
	if (rc == 0) {
		if (rt.family != AF_INET && rt.family != AF_INET6)
			abort();
		bool v4 = rt.family == AF_INET;
		if (rt.dst.len > (v4 ? 32 : 128) || hnv_ip_is_v4(&rt.dst.addr) != v4 ||
		    (rt.has_gateway && v4 && !hnv_ip_is_v4(&rt.gateway)) || rt.oif < 0)
			abort();
		if (hnv_rtnl_parse_route(msg, len, &rt2) != 0 || memcmp(&rt, &rt2, sizeof(rt)) != 0)
			abort();
	} else if (rc != -EINVAL) {
		abort();
	}
	free(msg);
	return 0;
}
