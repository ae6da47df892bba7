/* nat.h: per-tenant NAT and conntrack zones in nftables (libnftnl), and the
 * current translations of the tenants' zones (gateway/conntrack.h).
 *
 * hnvgw owns exactly one nftables table, "table inet hnvgw" (HNV_NAT_TABLE);
 * nothing else in the ruleset is read or changed. Its content is a pure
 * function of the tenant list:
 *
 *   chain zone_pre  { type filter hook prerouting priority raw; }
 *       iifname "<if>" ct zone set <zone>          per interface of a tenant
 *   chain zone_out  { type filter hook output priority raw; }
 *       oifname "<if>" ct zone set <zone>          per interface of a tenant
 *   chain tenant_snat { type nat hook postrouting priority srcnat; }
 *       oifname "<ext>" ip saddr <prefix> snat ip to <ext addr>
 *                                                  per IPv4 CA prefix of a
 *                                                  tenant with an external
 *                                                  address
 *   chain netmap_mark { type filter hook prerouting priority mangle; }
 *   chain netmap_dnat { type nat hook prerouting priority dstnat; }
 *   chain netmap_snat { type nat hook postrouting priority srcnat; }
 *       NETMAP (1:1 prefix translation) before a tunnel interface <if>:
 *       local (the tenant's REAL shown to the site as MAPPED):
 *         netmap_snat: oifname "<if>" ip saddr REAL snat ip prefix to MAPPED
 *         netmap_dnat: iifname "<if>" ip daddr MAPPED dnat ip prefix to REAL
 *       remote (the site's REAL shown to the tenant as MAPPED):
 *         netmap_mark: ct zone <zone> iifname != "<if>" ip daddr MAPPED
 *                      meta mark set <mark>
 *         netmap_dnat: ct zone <zone> iifname != "<if>" ip daddr MAPPED
 *                      dnat ip prefix to REAL
 *         netmap_mark: iifname "<if>" ip saddr REAL meta mark set <site mark>
 *         netmap_snat: meta mark <site mark> ip saddr REAL
 *                      snat ip prefix to MAPPED
 *       (postrouting cannot match the input interface: in a VRF a
 *       forwarded packet's input device is the VRF by then, so the site's
 *       packets are marked on the way in)
 *       The remote DNAT happens before routing and REAL may be the
 *       tenant's own prefix, so the caller routes packets with <mark> into
 *       <if> with a policy rule (gateway/rtnl.h hnv_rtnl_rule). Replies
 *       follow conntrack; the kernel checks IPsec policies against the
 *       untranslated addresses (nf_nat_decode_session), so the tunnel's
 *       traffic selectors are the MAPPED local and REAL remote prefixes.
 *
 * Every interface of a tenant (TAP ports, corp device, external device,
 * XFRM devices) puts the tenant's traffic in its conntrack zone, so
 * overlapping customer addresses never share a conntrack entry, and replies
 * arriving on a tenant's external device land in the tenant's zone. An
 * interface may therefore belong to one tenant only. Names are matched
 * (iifname), so rules may name devices that do not exist yet. IPv6 CA
 * prefixes get the zone but no translation (there is no NAT66). With VRFs,
 * list the VRF device (rd-<name>) among the interfaces too: traffic the
 * gateway itself sends in a VRF meets the output hook with the VRF device
 * as oif first, and the first zone set on a connection is the one it keeps.
 *
 * hnv_nat_apply() replaces the table in one nftables transaction (create
 * if missing, delete, recreate: atomic, and the same call reconciles after
 * a restart). The table's userdata holds a fingerprint of the tenant list;
 * when it matches and the chains hold the expected number of rules, apply
 * sends nothing. A rule edited in place by someone else with the rule count
 * unchanged is not detected.
 *
 * All functions are for hnvgwd's single control thread. They return 0 or a
 * negative errno; err (errlen > 0) receives a message naming the failing
 * object ("nftables: cannot add rule to chain tenant_snat: tenant b: oifname ...").
 */
#ifndef HNV_NAT_H
#define HNV_NAT_H

#include "../lib/hnv_types.h"
#include "conntrack.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HNV_NAT_TABLE "hnvgw"
#define HNV_NAT_IFNAMSIZ 16 /* IFNAMSIZ, the NUL included */

/* One NETMAP of a tenant (see above). */
struct hnv_nat_netmap {
	const char *ifname;             /* the tunnel interface; one of the tenant's ifs */
	bool remote;                    /* the site's prefix (true) or the tenant's (false) */
	uint32_t mark;                  /* remote: nonzero fwmark; local: 0 */
	uint32_t site_mark;             /* remote: nonzero, != mark; local: 0 */
	struct hnv_prefix real, mapped; /* IPv4, the same length */
};

/* One tenant (routing domain). The caller owns every pointer; nothing is
 * kept after a call returns. */
struct hnv_nat_tenant {
	const char *name;       /* non-empty, for messages and listings */
	uint16_t zone;          /* conntrack zone, 1..65535, unique */
	const char *const *ifs; /* the tenant's interfaces (may hold ext_if) */
	size_t n_ifs;
	const char *ext_if;                /* NULL or "": no external interface */
	bool has_ext_addr;                 /* SNAT to ext_addr (needs ext_if) */
	struct hnv_ip ext_addr;            /* IPv4 (mapped) */
	const struct hnv_prefix *prefixes; /* CA prefixes */
	size_t n_prefixes;
	const struct hnv_nat_netmap *netmaps;
	size_t n_netmaps;
};

/* Checks a tenant list without touching the kernel: names, zones 1..65535
 * and unique, interface names valid and each in one tenant only, ext_addr
 * IPv4 and only with ext_if, netmaps on one of the tenant's interfaces
 * with IPv4 prefixes of equal length and, when remote, two distinct
 * nonzero marks. */
int hnv_nat_validate(const struct hnv_nat_tenant *t, size_t n, char *err, size_t errlen);

/* Conntrack zones for VRF tables: tables[i] gets zones[i]. A table id in
 * 1..65535 is its own zone; larger ids get the highest zones no table in
 * range uses, in ascending table order. The result depends only on the set
 * of tables, so it is stable across restarts. -EINVAL for table 0 or a
 * duplicate, -ENOSPC when no zone is left. */
int hnv_nat_zones(const uint32_t *tables, size_t n, uint16_t *zones, char *err, size_t errlen);

/* The nftables batch (BEGIN ... END, sequence numbers from seq) that
 * makes the table match the tenant list, in one malloc'd buffer (*buf, *len;
 * the caller frees). Each message in it but BEGIN and END asks for an ACK.
 * For tests and for apply; validates first. */
int hnv_nat_build_batch(const struct hnv_nat_tenant *t, size_t n, uint32_t seq, void **buf,
			size_t *len, char *err, size_t errlen);

/* The fingerprint apply stores in the table's userdata for this list. */
void hnv_nat_fingerprint(const struct hnv_nat_tenant *t, size_t n, char *buf, size_t len);

struct hnv_nat;

int hnv_nat_open(struct hnv_nat **out, char *err, size_t errlen);
void hnv_nat_close(struct hnv_nat *h);

/* Makes table inet hnvgw match the tenant list (n may be 0: an empty
 * table). *changed (may be NULL) tells whether a transaction was sent. */
int hnv_nat_apply(struct hnv_nat *h, const struct hnv_nat_tenant *t, size_t n, bool *changed,
		  char *err, size_t errlen);

/* Removes table inet hnvgw; no error when it does not exist. */
int hnv_nat_flush(struct hnv_nat *h, char *err, size_t errlen);

/* Calls cb for each conntrack entry whose zone belongs to one of the
 * tenants (tenant is that tenant's name). */
typedef void (*hnv_nat_list_cb)(const char *tenant, const struct hnv_ct *ct, void *arg);
int hnv_nat_list(struct hnv_nat *h, const struct hnv_nat_tenant *t, size_t n, hnv_nat_list_cb cb,
		 void *arg, char *err, size_t errlen);

#endif
