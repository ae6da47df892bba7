/* fuzz_rtnl_tc.c: libFuzzer harness for hnv_rtnl_parse_qdisc
 * (gateway/rtnl_conn.c), the parser of kernel RTM_NEWQDISC replies that
 * reads the connections' rate limits back, and for the GRE and VLAN
 * attributes hnv_rtnl_parse_link reads (the same input to both).
 *
 * The input is copied to a buffer of exactly its length (ASan catches any
 * read past it). A qdisc message must be accepted for any device (1) or
 * refused with -EINVAL, and give the same result when parsed again; for
 * another ifindex than its own it must be skipped (0) without a change to
 * the result. An accepted link must carry GRE values only for kind gre and
 * a VLAN id only for kind vlan.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/rtnetlink.h>

#include "../../gateway/rtnl.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	uint8_t *msg = malloc(len ? len : 1);
	if (msg == NULL)
		return 0;
	memcpy(msg, buf, len);
	struct hnv_rtnl_shaping s, again;
	memset(&s, 0, sizeof(s));
	memset(&again, 0, sizeof(again));
	int rc = hnv_rtnl_parse_qdisc(msg, len, 0, &s);
	if (rc == 1) {
		if (hnv_rtnl_parse_qdisc(msg, len, 0, &again) != 1 ||
		    memcmp(&s, &again, sizeof(s)) != 0)
			abort();
		struct tcmsg t;
		memcpy(&t, msg + NLMSG_HDRLEN, sizeof(t));
		int other_if = t.tcm_ifindex == INT32_MAX ? 1 : t.tcm_ifindex + 1;
		struct hnv_rtnl_shaping other = {0}, zero = {0};
		if (other_if != 0 && (hnv_rtnl_parse_qdisc(msg, len, other_if, &other) != 0 ||
				      memcmp(&other, &zero, sizeof(zero)) != 0))
			abort();
	} else if (rc != -EINVAL) {
		abort();
	}
	struct hnv_rtnl_link l;
	if (hnv_rtnl_parse_link(msg, len, &l) == 0) {
		if (strcmp(l.kind, "gre") != 0 &&
		    (l.gre_local || l.gre_remote || l.gre_has_key || l.gre_key))
			abort();
		if (strcmp(l.kind, "vlan") != 0 && l.vlan_id)
			abort();
	}
	free(msg);
	return 0;
}
