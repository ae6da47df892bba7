/* gw.h: the gateway role of hnvgwd: the configuration's gateways applied to
 * the kernel, nftables, zebra, bgpd and charon (docs/gateway.md).
 *
 * Per gateway (one per routing domain): a VRF "rd-<vrf>" with the
 * configured table; the routing domain's gateway ports (TAPs "vsid<N>"
 * opened by the forwarding thread, see hnv_gateway_port) enslaved to it,
 * up, carrying the gateway's CAs with their VSID prefix lengths; the corp
 * device enslaved to it with --corp-addr; a conntrack zone and SNAT
 * (gateway/nat.h); the routes hnvgwd owns in zebra (gateway/zapi.h): the
 * VSID prefixes through the gateway ports, the default route through
 * --corp-nexthop, S2S remote prefixes through their XFRM interfaces; a bgpd
 * instance in the VRF (gateway/bgp.h). Per S2S tunnel: an XFRM interface
 * "xf-<if_id>" in the tenant's VRF and a charon connection (vpn/s2s.h).
 *
 * hnv_gw_apply makes all of that match a model. It is the whole
 * reconciliation: the same call runs at start (objects left by an earlier
 * run are adopted, stale ones deleted) and after every change (objects of
 * unchanged tenants are left alone, so they keep forwarding). It removes
 * only what hnvgwd owns: links named rd-* of kind vrf, xf-* of kind xfrm,
 * vsid<N> TAPs, its nftables table, its zebra route type, bgpd instances in
 * rd-* VRFs and charon connections named hnvgw-*.
 *
 * Errors do not undo the configuration change (it is committed before the
 * kernel is touched); each tenant's last error is kept for `show gateway`
 * and logged.
 *
 * Threads: the control thread only. zebra, bgpd and charon are watched
 * through event sources of the control socket's loop (hnv_gw_attach): a
 * zebra or charon that restarts gets hnvgwd's routes or tunnels again, a
 * bgpd that restarts (new pid) its tenant instances.
 */
#ifndef HNV_GW_H
#define HNV_GW_H

#include "../lib/source.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

struct hnv_model;
struct hnv_gw;

#define HNV_GW_ZSERV_DEFAULT "/run/frr/zserv.api"
#define HNV_GW_VICI_DEFAULT "/var/run/charon.vici"
#define HNV_GW_BGPD_PIDFILE "/run/frr/bgpd.pid"
#define HNV_GW_GR_STALE 120 /* seconds zebra keeps our routes while hnvgwd restarts */

struct hnv_gw_opts {
	const char *zserv;         /* zebra's API socket; NULL: no zebra */
	const char *vici;          /* charon's VICI socket; NULL: no S2S tunnels */
	const char *bgp_fragment;  /* NULL: HNV_BGP_DEFAULT_PATH */
	const char *frr_pathspace; /* vtysh -N; NULL: the default FRR */
	const char *bgpd_pidfile;  /* NULL: HNV_GW_BGPD_PIDFILE */
};

int hnv_gw_new(const struct hnv_gw_opts *o, struct hnv_gw **out, char *err, size_t errlen);
/* Frees the handle; leaves kernel objects, routes and tunnels in place. */
void hnv_gw_free(struct hnv_gw *g);
/* The zebra, bgpd and charon watchers, for the control thread's loop:
 * fills out and returns how many. */
#define HNV_GW_SOURCES 3
size_t hnv_gw_sources(struct hnv_gw *g, struct hnv_source out[HNV_GW_SOURCES]);

/* Makes everything match m (see above). Returns the number of tenants
 * with errors. */
int hnv_gw_apply(struct hnv_gw *g, const struct hnv_model *m);

/* Rows for `show gateway`: rdomain, vrf, table, zone, ports, corp, state
 * ("ok" or the error). */
json_object *hnv_gw_show(const struct hnv_gw *g);
/* `show nat`: the translations of the tenants' conntrack zones. */
json_object *hnv_gw_show_nat(const struct hnv_gw *g);
/* `show gateway-routes`: the routes hnvgwd holds in zebra, with state. */
json_object *hnv_gw_show_routes(const struct hnv_gw *g);
/* `show learned-routes`: the BGP and static routes zebra redistributes to
 * hnvgwd (the prefixes each tenant learned from its corporate router or
 * its sites), with the tenant whose VRF holds them. Sorted by VRF and
 * prefix. */
json_object *hnv_gw_show_learned(struct hnv_gw *g);
/* `show s2s-status`: each tunnel's charon state and counters. */
json_object *hnv_gw_show_s2s(const struct hnv_gw *g);
/* `s2s up|down NAME`: initiate or terminate the tunnel's SAs. */
int hnv_gw_s2s_ctl(struct hnv_gw *g, const char *name, bool up, char *err, size_t errlen);

#endif
