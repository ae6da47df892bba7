/* conf_check.h: the checks and messages that the applier (conf_apply*.c,
 * conf_s2s.c) and the model's own checks (model_check.c) share, so that
 * both refuse the same commands with the same words. Private to mgmt/.
 *
 * A VM subnet's prefixes come as (vsid, prefixes, n): the applier holds
 * them in the datapath's spec, the model in struct hnv_conf_vsubnet; at
 * most HNV_CONF_PREFIXES_MAX of them are read. Messages go to err
 * (hnv_seterr: truncated to errlen) and start with cmd.
 */
#ifndef HNV_CONF_CHECK_H
#define HNV_CONF_CHECK_H

#include "conftext.h"

#include "../lib/vec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An IPv4 address (IPv4-mapped hnv_ip) as a host-order number. */
static inline uint32_t conf_ip4_u32(const struct hnv_ip *a)
{
	return (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 | (uint32_t)a->b[14] << 8 |
	       a->b[15];
}

/* The default gateway of a prefix: its lowest usable address. */
void conf_gateway_of(const struct hnv_prefix *p, struct hnv_ip *gw);
/* "<cmd>: VSID N is not configured (...)": returns -ENOENT. */
int conf_vsid_missing(const char *cmd, uint32_t vsid, char *err, size_t errlen);
/* "<cmd>: routing domain "NAME" not found": returns -ENOENT. */
int conf_rdomain_missing(const char *cmd, const char *name, char *err, size_t errlen);
/* "<cmd>: [tunnel "T": ]routing domain "NAME" has no gateway (gateway add
 * --rdomain NAME first)", the tunnel part when tunnel is not NULL: returns
 * -ENOENT. */
int conf_gateway_missing(const char *cmd, const char *tunnel, const char *rdomain, char *err,
			 size_t errlen);
/* "gateway add": VRF vrf is the VRF of the gateway of routing domain
 * rdomain: returns -EEXIST. */
int conf_vrf_taken(const char *vrf, const char *rdomain, char *err, size_t errlen);
/* "gateway add": table is the table of VRF vrf of routing domain rdomain:
 * returns -EEXIST. */
int conf_table_taken(uint32_t table, const char *vrf, const char *rdomain, char *err,
		     size_t errlen);
/* "s2s add": tunnel s has the peer, local address and identities of tunnel
 * other, which charon could not tell apart: returns -EEXIST, with a message
 * that shows no part of s's PSK. */
int conf_s2s_ids_taken(const struct hnv_conf_s2s *s, const char *other, char *err, size_t errlen);
/* "s2s add": tunnel s follows its gateway, whose pool is gw_pool ("" for a
 * host-bound one): the same pool, or none for both (a host's tunnel on a
 * pool tenant would not follow a failover). 0 or -EINVAL. */
int conf_s2s_pool_check(const struct hnv_conf_s2s *s, const char *gw_pool, char *err,
			size_t errlen);
/* Appends the prefixes, ", " separated, to list. */
void conf_prefix_list(const struct hnv_prefix *px, unsigned n, struct hnv_buf *list);
/* A CA must lie inside one of the VSID's prefixes and not be the default
 * gateway of that prefix (HNV reserves it on every host): 0 or -EINVAL. */
int conf_check_ca(const char *cmd, uint32_t vsid, const struct hnv_prefix *px, unsigned n,
		  const struct hnv_ip *ca, char *err, size_t errlen);
/* A lookup record whose CA is a default-gateway address of its VSID
 * (prefixes px) is the default-gateway record of Windows Server 2012's
 * demo: it sets the VSID's router MAC (datapath/policy.h
 * hnv_policy_gw_rec_add) and is no record of a VM. */
bool conf_is_gateway_rec(const struct hnv_conf_lookup *s, const struct hnv_prefix *px, unsigned n);
/* Such a record must have PA 169.254.254.254 (the demo's; nothing is sent
 * to it; its MAC, a VM MAC, was checked by the parser): 0 or -EINVAL with
 * the reason. */
int conf_check_gw_rec(const char *cmd, const struct hnv_conf_lookup *s, char *err, size_t errlen);
/* A CA may not be the DHCP server identifier of a VSID with a pool: pool
 * names the VSID's pool the message cites, or is NULL (no pool: 0).
 * 0 or -EINVAL. */
int conf_check_server_id(const char *cmd, uint32_t vsid, const struct hnv_prefix *px, unsigned n,
			 const char *pool, const struct hnv_ip *ca, char *err, size_t errlen);
/* "pool add": the range of s lies inside one of its VSID's prefixes and
 * holds none of that prefix's network address, default gateway, DHCP
 * server identifier or broadcast address. f and l are the range's
 * addresses as text. 0 or -EINVAL. */
int conf_check_pool_place(const struct hnv_conf_pool *s, const struct hnv_prefix *px, unsigned n,
			  const char *f, const char *l, char *err, size_t errlen);
/* "pool add": pool s (range f-l as text) overlaps no range of o, another
 * pool of its VSID: 0 or -EEXIST. */
int conf_check_pool_overlap(const struct hnv_conf_pool *s, const struct hnv_conf_pool *o,
			    const char *f, const char *l, char *err, size_t errlen);
/* "pool add": the VSID of s, holding n other pools, has room for s: 0 or
 * -ENOSPC. */
int conf_check_pool_room(const struct hnv_conf_pool *s, unsigned n, char *err, size_t errlen);
/* True when msg shows secret or 8 consecutive characters of it. */
bool conf_shows_secret(const char *msg, const char *secret);
/* A message that would show (part of) the PSK secret is replaced by
 * "<cmd>: invalid value (not shown: it contains the PSK)". */
void conf_scrub(char *err, size_t errlen, const char *cmd, const char *secret);

#endif
