/* gw.h: the gateway role of hnvgwd: the configuration's gateways applied to
 * the kernel, nftables, zebra, bgpd and charon (docs/gateway.md).
 *
 * Per gateway (one per routing domain): a VRF "rd-<vrf>" with the
 * configured table; the routing domain's gateway ports (TAPs "vsid<N>"
 * opened by the forwarding thread, see struct hnv_gw_ca) enslaved to it,
 * up, carrying the gateway's CAs with their VSID prefix lengths; the corp
 * device enslaved to it with --corp-addr; a conntrack zone and SNAT
 * (gateway/nat.h); the routes hnvgwd owns in zebra (gateway/zapi.h): the
 * VSID prefixes through the gateway ports, the default route through
 * --corp-nexthop, S2S remote prefixes through their XFRM interfaces; a bgpd
 * instance in the VRF (gateway/bgp.h). Per S2S tunnel: an XFRM interface
 * "xf-<if_id>" in the tenant's VRF and a charon connection (vpn/s2s.h).
 *
 * hnv_gw_apply makes all of that match a desired state (struct
 * hnv_gw_desired; mgmt/daemon/gwstate.h builds it from the config model).
 * It is the whole
 * reconciliation: the same call runs at start (objects left by an earlier
 * run are adopted, stale ones deleted) and after every change (objects of
 * unchanged tenants are left alone, so they keep forwarding). It removes
 * only what hnvgwd owns: links named rd-* of kind vrf, xf-* of kind xfrm,
 * gr-* of kind gre and l3-* of kind vlan (GRE and L3 connections,
 * gateway/gw_conn.c), vsid<N> TAPs, its nftables table, its zebra route type, bgpd instances in
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

#include "../datapath/policy.h"
#include "../lib/hnv_types.h"
#include "../lib/source.h"
#include "../vpn/s2s.h"
#include "bgp.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hnv_gw;

#define HNV_GW_ZSERV_DEFAULT "/run/frr/zserv.api"
#define HNV_GW_VICI_DEFAULT "/var/run/charon.vici"
#define HNV_GW_BGPD_PIDFILE "/run/frr/bgpd.pid"
#define HNV_GW_GR_STALE 120 /* seconds zebra keeps our routes while hnvgwd restarts */

struct hnv_gw_opts {
	const char *zserv;         /* zebra's API socket; NULL: no zebra */
	const char *vici;          /* charon's VICI socket; NULL: no S2S tunnels */
	const char *bgp_fragment;  /* NULL: HNV_BGP_DEFAULT_PATH */
	const char *frr_pathspace; /* zebra/bgpd -N; NULL: the default FRR */
	const char *bgpd_pidfile;  /* NULL: HNV_GW_BGPD_PIDFILE */
	const char *frr_version;   /* zebra's FRR release ("8.4.4"); NULL: the
				    * installed frr package's (gateway/zapi.h) */
	const char *uplink;        /* the provider uplink (hnvgwd --uplink): never
				    * a tenant's corp device; NULL: none */
};

int hnv_gw_new(const struct hnv_gw_opts *o, struct hnv_gw **out, char *err, size_t errlen);
/* Frees the handle; leaves kernel objects, routes and tunnels in place. */
void hnv_gw_free(struct hnv_gw *g);
/* The zebra, bgpd and charon watchers, for the control thread's loop:
 * fills out and returns how many. */
#define HNV_GW_SOURCES 3
size_t hnv_gw_sources(struct hnv_gw *g, struct hnv_source out[HNV_GW_SOURCES]);

/* ---- the desired state ---- */

#define HNV_GW_VRF_NAME_MAX 12 /* the VRF device is rd-<name> */
#define HNV_GW_IFNAME_MAX 15   /* IFNAMSIZ - 1 */
/* Routing tables (and fwmarks) the gateway gives tunnels with a remote
 * netmap: HNV_NETMAP_TABLE_MIN | if_id; no gateway may use them (the
 * config text refuses them: mgmt/conftext.h, which defines them alike). */
#define HNV_NETMAP_TABLE_MIN 0x48000000u
#define HNV_NETMAP_TABLE_MAX 0x480fffffu

/* A tenant's gateway, one per routing domain (the config text's "gateway
 * add", with the same fields). */
struct hnv_gw_tenant {
	char rdomain[HNV_NAME_MAX + 1];
	char vrf[HNV_GW_VRF_NAME_MAX + 1]; /* 1-12 characters */
	uint32_t table;
	char corp_dev[HNV_GW_IFNAME_MAX + 1]; /* "" when none */
	bool has_nat_external;
	struct hnv_ip nat_external;
	bool has_corp_addr;          /* the gateway's address on the corp device */
	struct hnv_prefix corp_addr; /* with its host bits */
	bool has_corp_nexthop;       /* default route of the VRF via the corp side */
	struct hnv_ip corp_nexthop;
	uint32_t bgp_asn;       /* 0: no BGP */
	struct hnv_ip bgp_peer; /* unspecified: none; else a neighbor without filters */
	uint32_t bgp_peer_asn;
};

/* A named BGP neighbor of a tenant with its filters (the config text's
 * "bgp-peer add"): its routing domain's gateway has a bgp_asn. */
struct hnv_gw_bgp_peer {
	char rdomain[HNV_NAME_MAX + 1];
	char name[HNV_BGP_PEER_NAME_MAX + 1];
	struct hnv_ip addr;
	uint32_t asn;
	bool has_source;
	struct hnv_ip source;
	unsigned n_in, n_out; /* n_out 0: the tenant's own prefixes */
	struct hnv_bgp_match in[HNV_BGP_MATCH_MAX], out[HNV_BGP_MATCH_MAX];
};

/* A gateway customer address: the tenant's address in one VSID of its
 * routing domain, on that VSID's gateway port (the TAP the forwarding
 * thread opened with that name and MAC). */
struct hnv_gw_ca {
	char rdomain[HNV_NAME_MAX + 1];
	uint32_t vsid;
	struct hnv_ip ca;
	char port[HNV_GW_IFNAME_MAX + 1];
	struct hnv_mac port_mac;
};

/* The prefixes of a VSID that holds gateway CAs: the CAs' prefix lengths,
 * the routes through its port, the tenant's NAT and traffic selectors. */
struct hnv_gw_vsubnet {
	uint32_t vsid;
	unsigned n_prefixes;
	struct hnv_prefix prefixes[HNV_VSUBNET_MAX_PREFIXES];
};

/* A GRE or L3 connection of a tenant's gateway (the config text's "gre
 * add" and "l3 add", with the same fields): a device in the tenant's VRF,
 * gr-<name> (an ip_gre tunnel whose outer packets use the default VRF) or
 * l3-<name> (VLAN vlan of dev), with the gateway's address addr, the
 * remote prefixes routed into it through zebra (an L3 connection without
 * any: the VRF's default route via its next hop), and its rate limits. */
enum hnv_gw_conn_type {
	HNV_GW_CONN_GRE = 1,
	HNV_GW_CONN_L3 = 2,
};
#define HNV_GW_CONN_REMOTE_MAX 16
struct hnv_gw_conn {
	char name[HNV_NAME_MAX + 1]; /* 1-12 characters */
	enum hnv_gw_conn_type type;
	char rdomain[HNV_NAME_MAX + 1];
	struct hnv_prefix addr; /* with its host bits */
	unsigned n_remote;
	struct hnv_prefix remote[HNV_GW_CONN_REMOTE_MAX];
	uint32_t rate_out, rate_in;       /* kbit/s, 0: unlimited */
	struct hnv_ip local, remote_addr; /* gre: IPv4 outer addresses */
	bool has_key;
	uint32_t key;
	char dev[HNV_GW_IFNAME_MAX + 1]; /* l3: the parent device */
	uint32_t vlan;
	struct hnv_ip nexthop;
};

/* Everything hnv_gw_apply makes the system match. The caller owns the
 * arrays; hnv_gw_apply copies what it keeps (tunnels hold PSKs: the
 * caller clears its arrays, the gateway its copies). Names are unique:
 * rdomain and vrf among tenants, (rdomain, vsid, ca) among CAs, vsid among
 * vsubnets, name among tunnels. */
struct hnv_gw_desired {
	const struct hnv_gw_tenant *tenants;
	size_t n_tenants;
	const struct hnv_gw_ca *cas;
	size_t n_cas;
	const struct hnv_gw_vsubnet *vsubnets;
	size_t n_vsubnets;
	const struct hnv_s2s_conf *tunnels;
	size_t n_tunnels;
	const struct hnv_gw_conn *conns; /* names unique per type */
	size_t n_conns;
	const struct hnv_gw_bgp_peer *bgp_peers;
	size_t n_bgp_peers;
};

/* Makes everything match d (see above). Returns the number of tenants
 * with errors, or -ENOMEM (nothing changed). */
int hnv_gw_apply(struct hnv_gw *g, const struct hnv_gw_desired *d);

/* What the last hnv_gw_apply (or its retry) could not apply, for the reply
 * to the commit that asked for it (issue 17 finding 13): fn is called with
 * each tenant that has an error (kind "gateway", name and rdomain its
 * routing domain), each tunnel that has no XFRM interface or not its
 * rate limits (kind "s2s", its name and routing domain) and each connection with an
 * error (kind "gre" or "l3"), with the error as `show gateway` and the
 * log give it. */
typedef void (*hnv_gw_error_fn)(void *arg, const char *kind, const char *name, const char *rdomain,
				const char *error);
void hnv_gw_errors(const struct hnv_gw *g, hnv_gw_error_fn fn, void *arg);

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

/* Routes kept across a pool takeover (retain.h, docs/gateway-pool.md).
 * learned_text: the routes tenant rdomain's VRF has from BGP, and those
 * still kept for it, as retain.h's text (sorted): its length, or -ENOENT
 * while no tenant of that routing domain is applied, or -ENOSPC.
 * learned_gen changes whenever that text may have. retain: installs the
 * routes of text (another member's learned_text) in rdomain's VRF, now
 * or when the tenant is applied, until BGP learns them again or
 * HNV_GW_KEPT_S pass; replaces what was kept for it. 0 and *n, or
 * -EINVAL with err (nothing kept). */
/* Seconds a kept route stays at most; after this member's BGP learned a
 * route in the tenant's VRF, the others stay HNV_GW_KEPT_GRACE_S more. */
#define HNV_GW_KEPT_S 120
#define HNV_GW_KEPT_GRACE_S 10
/* zebra distance of a kept route: any route a daemon learns wins */
#define HNV_GW_KEPT_DISTANCE 250
int hnv_gw_learned_text(struct hnv_gw *g, const char *rdomain, char *buf, size_t len);
uint64_t hnv_gw_learned_gen(const struct hnv_gw *g);
int hnv_gw_retain(struct hnv_gw *g, const char *rdomain, const char *text, size_t len, size_t *n,
		  char *err, size_t errlen);
/* `show connections`: each GRE and L3 connection: its device, VRF,
 * underlay, address, routes, configured rates and the limits the kernel
 * has, state ("ok" or the error). */
json_object *hnv_gw_show_conns(const struct hnv_gw *g);

/* `show bgp-peers`: every BGP neighbor of the tenants (named peers and
 * the gateways' --bgp-peer) with its filters and its state as bgpd
 * reports it (its vty): state, prefixes received, accepted, announced. */
json_object *hnv_gw_show_bgp_peers(const struct hnv_gw *g);
/* `show s2s-status`: each tunnel's charon state and counters. */
json_object *hnv_gw_show_s2s(const struct hnv_gw *g);
/* `s2s up|down NAME`: initiate or terminate the tunnel's SAs. */
int hnv_gw_s2s_ctl(struct hnv_gw *g, const char *name, bool up, char *err, size_t errlen);
/* Each tenant's BGP session (one row per gateway with --bgp-asn) as bgpd
 * reports it (gateway/bgpstate.h; one show on its vty, at most 2 s): rdomain,
 * vrf, peer, peer_asn, state (bgpd's, e.g. "Established", or why bgpd
 * could not be asked), established, msg_rcvd, msg_sent, pfx_rcvd,
 * uptime_ms, connections_established, connections_dropped. A new array,
 * or NULL (out of memory). */
json_object *hnv_gw_show_bgp(const struct hnv_gw *g);

#endif
