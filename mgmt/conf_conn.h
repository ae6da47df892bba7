/* conf_conn.h: the checks of GRE and L3 connections (gre add, l3 add) that
 * need more than their own line, shared by the applier's batch
 * (conf_apply_conn.c) and the model (model_check.c). */
#ifndef HNV_CONF_CONN_H
#define HNV_CONF_CONN_H

#include "conftext.h"

#include <stddef.h>

/* The key two connections may not share on one parent: a GRE tunnel's
 * local and remote addresses with its key (or its lack of one), an L3
 * connection's device and VLAN. Connections of other types or parents may
 * use the same key or VLAN: the kernel keeps them apart. Writes at most
 * HNV_CONN_CLASH_KEY_MAX bytes into key; returns how many. */
#define HNV_CONN_CLASH_KEY_MAX 64
size_t hnv_conf_conn_clash_key(const struct hnv_conf_conn *c, unsigned char *key);

/* The message refusing c because other (named) holds its key: -EEXIST. */
int hnv_conf_conn_clash(const struct hnv_conf_conn *c, const char *other, char *err, size_t errlen);

/* An L3 connection without remote prefixes carries its VRF's default
 * route of the next hop's family: refused (-EEXIST with the message) when
 * the gateway's --corp-nexthop of that family (corp_nexthop_same) or
 * another such connection (other, named; NULL: none) has it already. */
int hnv_conf_conn_default_taken(const struct hnv_conf_conn *c, bool corp_nexthop_same,
				const char *other, char *err, size_t errlen);
/* True for an L3 connection that carries the default route. */
bool hnv_conf_conn_is_default(const struct hnv_conf_conn *c);

/* "gre add" or "l3 add" for c's type. */
const char *hnv_conf_conn_cmd(const struct hnv_conf_conn *c);

#endif
