/* retain.h: the routes a pool tenant's holder learned by BGP, as text a
 * member that takes the tenant over installs until its own BGP sessions
 * learn them again (docs/gateway-pool.md, "Routes kept across a takeover").
 *
 * One route per line, nothing else:
 *
 *   PREFIX via ADDRESS dev IFNAME
 *   PREFIX via ADDRESS
 *   PREFIX dev IFNAME
 *
 * The text comes from etcd, written by another member: the parser checks
 * every length and value and refuses the whole text on the first bad line
 * (a member installs all of a snapshot or none of it). */
#ifndef HNV_RETAIN_H
#define HNV_RETAIN_H

#include "../lib/hnv_types.h"

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

/* Routes in one snapshot, at most; and its text, at most. */
#define HNV_RETAIN_MAX 1024
#define HNV_RETAIN_TEXT_MAX (HNV_RETAIN_MAX * 112)

struct hnv_retain_route {
	struct hnv_prefix prefix;
	bool has_gw;
	struct hnv_ip gw;      /* same family as prefix */
	char dev[IF_NAMESIZE]; /* "" when none */
};

/* Formats r[0..n) into buf (NUL-terminated). Returns the length, or
 * -ENOSPC when it does not fit in len. */
int hnv_retain_format(const struct hnv_retain_route *r, size_t n, char *buf, size_t len);

/* Parses text[0..len) into out[0..max): 0 and *n, or -EINVAL with err
 * naming the line and what is wrong with it (more than max routes, too
 * long a line, a bad prefix, address or name, a route without a next
 * hop, a family mismatch, a prefix twice). */
int hnv_retain_parse(const char *text, size_t len, struct hnv_retain_route *out, size_t max,
		     size_t *n, char *err, size_t errlen);

#endif
