/* nat_int.h: what nat.c (validation, zones, the socket, reading the table
 * back) and nat_batch.c (the table's nftables messages) share; nothing
 * else includes it. */
#ifndef HNV_NAT_INT_H
#define HNV_NAT_INT_H

#include "nat.h"

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NAT_WHAT_LEN 160

/* The chains of table inet hnvgw, in the order they are created. */
enum {
	CH_PRE,
	CH_OUT,
	CH_SNAT,
	CH_NM_MARK,
	CH_NM_DNAT,
	CH_NM_SNAT,
	CH__COUNT
};
struct nat_chain {
	const char *name, *type;
	uint32_t hook;
	int32_t prio;
};
extern const struct nat_chain nat_chains[CH__COUNT];

/* t has an external interface. */
bool nat_has_ext_if(const struct hnv_nat_tenant *t);
/* Interface i of tenant t, the external interface counted last when it is
 * not already among ifs. NULL past the end. */
const char *nat_tenant_if(const struct hnv_nat_tenant *t, size_t i);
/* The rules each chain holds for the tenant list t[0..n). */
void nat_rule_counts(const struct hnv_nat_tenant *t, size_t n, size_t want[CH__COUNT]);

/* An nftables batch under construction; what[] describes each message for
 * the error that names it. */
struct nat_batch {
	char *p;
	size_t len, cap;
	uint32_t seq0, seq;         /* seq0: BEGIN */
	char (*what)[NAT_WHAT_LEN]; /* by seq - seq0 */
	size_t cap_what;
	bool oom;
};

/* Builds the batch (BEGIN ... END, sequence numbers from seq, b->seq the
 * next one afterwards) that replaces the table with the content of
 * t[0..n) (recreate), or only removes it (!recreate; t may be NULL).
 * 0, or -ENOMEM with err and b empty; else the caller frees b->p and
 * b->what. The tenant list is not validated here. */
int nat_build(struct nat_batch *b, const struct hnv_nat_tenant *t, size_t n, bool recreate,
	      uint32_t seq, char *err, size_t errlen);

#endif
