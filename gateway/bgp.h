/* bgp.h: the bgpd configuration hnvgwd owns: one `router bgp ASN vrf
 * rd-<vrf>` instance per tenant that peers with corporate routers,
 * announces the tenant's prefixes and learns the corporate ones.
 *
 * hnv_bgp_render() turns a list of tenants into an FRR configuration
 * fragment (text, in the form bgpd's `show running-config` prints, so that
 * the running state can be compared line by line). hnv_bgp_apply() writes
 * it (mode 0644, atomically) and makes the running bgpd match it through
 * bgpd's vty socket (vty.h: what vtysh talks to, without a vtysh process
 * per step), because FRR 8.4 has no partial reload for a fragment and
 * Debian builds no northbound gRPC:
 *   1. `show running-config`: the running instances;
 *   2. instances in VRFs named rd-* that are not wanted (or run with
 *      another ASN) are removed with `no router bgp ASN vrf NAME`; lines of
 *      a wanted instance that the fragment no longer has are negated
 *      (`no neighbor ...`, `no network ...`); both in one configuration
 *      session (the lines vtysh -f would send);
 *   3. what is missing is sent the same way; nothing is sent when the
 *      running instances already have every line of the fragment. Commands
 *      that are already in force change nothing either way, so an
 *      unchanged fragment never resets established sessions;
 *   4. `clear bgp vrf V ADDR soft in` for each named neighbor that ran
 *      before and whose in list changed (bgpd 8.4 applies a changed
 *      prefix-list only to routes that arrive after the change).
 * The gateway image starts bgpd with `-f FRAGMENT`: a bgpd that watchfrr
 * restarts comes up with the tenants' instances before hnvgwd notices it,
 * and step 3 is then skipped.
 * Named neighbors' filters are prefix-lists (below), written before the
 * instances in the fragment; step 2 also removes those of ours
 * (HNV_BGP_POLICY_PREFIX) that are not wanted, after the neighbor lines
 * that used them, and our route-maps (an earlier hnvgwd's), and step 3
 * counts them among the lines in force. Instances whose VRF does not
 * start with "rd-" (the default instance, other VRFs) and other
 * prefix-lists and route-maps are never touched.
 *
 * Route types: bgpd 8.4 can `redistribute` kernel, connected, static and
 * openfabric routes, not sharp ones. A tenant's own prefixes are therefore
 * best listed as networks (announced while zebra has a route for them,
 * whatever its type); HNV_BGP_REDIST_OPENFABRIC covers hnvgwd's routes when
 * the ZAPI client uses HNV_ZAPI_ROUTE_OPENFABRIC.
 *
 * eBGP in FRR 8.4 ("frr defaults traditional") exchanges no routes without
 * policy unless `no bgp ebgp-requires-policy`; every instance has it.
 *
 * Errors: 0 or a negative errno; err names the tenant and the bad value,
 * or quotes bgpd with the line it refused. Talks to bgpd synchronously,
 * one line at a time (each bounded by HNV_BGP_VTY_TIMEOUT seconds): call
 * it from the control thread on configuration changes and after bgpd
 * restarts.
 */
#ifndef HNV_BGP_H
#define HNV_BGP_H

#include "../lib/hnv_types.h"

#include <stddef.h>
#include <stdint.h>

#define HNV_BGP_VRF_PREFIX "rd-"
#define HNV_BGP_DEFAULT_PATH "/etc/frr/hnvgw-bgp.conf"
#define HNV_BGP_VTY_TIMEOUT 30 /* seconds bgpd has for one command */
#define HNV_BGP_NAME_MAX 12 /* "rd-" + name fits a 15-character interface name */

/* Route types redistributed into BGP (both address families). */
/* Seconds between connection attempts to a neighbor (bgpd: 120). */
#define HNV_BGP_CONNECT_RETRY 10

#define HNV_BGP_REDIST_KERNEL (1u << 0)
#define HNV_BGP_REDIST_CONNECTED (1u << 1)
#define HNV_BGP_REDIST_STATIC (1u << 2)
#define HNV_BGP_REDIST_OPENFABRIC (1u << 3)

/* One entry of a neighbor's filter: routes whose prefix lies inside
 * prefix and whose length is prefix.len, or ge..le when given (0: not
 * given; prefix.len < ge <= le <= 32 or 128). Same family as the neighbor. */
struct hnv_bgp_match {
	struct hnv_prefix prefix;
	uint8_t ge, le;
};

/* Filters of named neighbors (`bgp-peer add`) are bgpd prefix-lists
 * named HNV_BGP_POLICY_PREFIX "<vrf>:<name>:in|out", which the neighbor
 * uses directly: the separator is a character no name may hold, so no two
 * tenants or neighbors ever share one, and every prefix-list and route-map
 * whose name starts with HNV_BGP_POLICY_PREFIX is hnvgwd's (removed when
 * not wanted). */
#define HNV_BGP_POLICY_PREFIX "hnvgw:"
#define HNV_BGP_MATCH_MAX 16 /* entries per direction */
#define HNV_BGP_PEER_NAME_MAX 63

struct hnv_bgp_neighbor {
	struct hnv_ip addr;
	uint32_t remote_as; /* 1..4294967295 */
	/* NULL: no filters, every route both ways (gateway add --bgp-peer).
	 * A name (1..HNV_BGP_PEER_NAME_MAX of A-Z a-z 0-9 - _ .): a prefix-list
	 * in and out; in accepts what in[] matches and nothing else (none:
	 * nothing); out announces what out[] matches, or with out_own the
	 * tenant's networks exactly (none: nothing). */
	const char *name;
	const struct hnv_bgp_match *in;
	size_t n_in;
	const struct hnv_bgp_match *out;
	size_t n_out;
	bool out_own;
	const struct hnv_ip *source; /* `update-source`; NULL: bgpd chooses */
};

/* One tenant. Arrays are the caller's; nothing is kept after a call. */
struct hnv_bgp_tenant {
	const char *vrf; /* routing domain name: the instance runs in "rd-<vrf>" */
	uint32_t local_as;
	const struct hnv_ip *router_id; /* IPv4; NULL: bgpd chooses */
	const struct hnv_bgp_neighbor *neighbors;
	size_t n_neighbors;
	const struct hnv_prefix *networks; /* announced with `network` */
	size_t n_networks;
	unsigned redist; /* HNV_BGP_REDIST_* */
	/* `bgp graceful-restart`: routes survive a bgpd restart; a removed
	 * instance's routes then stay at a helper peer until its stale timer */
	bool graceful_restart;
};

struct hnv_bgp_opts {
	const char *vty_dir;   /* FRR's vty socket directory; NULL: HNV_VTY_DEFAULT_DIR */
	const char *pathspace; /* FRR pathspace (bgpd -N); NULL: the default one */
	const char *path;      /* the fragment; NULL: HNV_BGP_DEFAULT_PATH */
};

/* The HNV_BGP_REDIST_* flag under which bgpd announces routes hnvgwd
 * installs with zebra route type `type` (HNV_ZAPI_ROUTE_*): the flag, or 0
 * when bgpd cannot redistribute that type (sharp). */
unsigned hnv_bgp_redist_for_zapi_type(int type);

/* Validates the tenants and renders the fragment: 0 and *out (malloc'd,
 * NUL-terminated, the caller frees it), or -EINVAL (err names the tenant
 * and the value) or -ENOMEM. Zero tenants give a fragment of comments. */
int hnv_bgp_render(const struct hnv_bgp_tenant *t, size_t n, char **out, char *err, size_t errlen);

/* Writes text to path: a temporary file in the same directory, mode 0644,
 * fsync, rename, fsync of the directory. */
int hnv_bgp_write(const char *path, const char *text, char *err, size_t errlen);

/* Renders, writes and applies the tenants to the running bgpd (see
 * above). On a failure of bgpd the fragment has been written; applying again
 * retries. */
int hnv_bgp_apply(const struct hnv_bgp_opts *o, const struct hnv_bgp_tenant *t, size_t n, char *err,
		  size_t errlen);

/* ---- state, for show (gateway/bgp_show.c) ---- */

/* Runs the command cmd (a show) on bgpd's vty, at most max_out bytes of
 * output and timeout_ms. Returns 0 with *out (malloc'd), bgpd's nonzero
 * status for it (FRR's CMD_*; *out NULL), or a negative errno (-ENOENT,
 * -ECONNREFUSED: bgpd not running). */
int hnv_bgp_vty_show(const struct hnv_bgp_opts *o, const char *cmd, int timeout_ms, size_t max_out,
		     char **out);

/* One neighbor of a tenant instance as bgpd reports it. Counts are -1
 * when bgpd did not say (a session that never came up). */
struct hnv_bgp_peer_state {
	char vrf[64];        /* "rd-<vrf>" */
	char addr[64];       /* as bgpd prints it */
	char state[32];      /* bgpd's bgpState: Idle, Connect, Active, ..., Established */
	long long uptime_ms; /* in the state, -1: unknown */
	long long received;  /* prefixes the neighbor sent (before the in filter) */
	long long accepted;  /* of those, accepted by the in filter */
	long long announced; /* prefixes sent to it (after the out filter) */
};

typedef void (*hnv_bgp_peer_fn)(void *arg, const struct hnv_bgp_peer_state *s);

/* Parses the output of `show bgp vrf all neighbors json` (len bytes,
 * untrusted: bgpd's): calls fn for each neighbor of a VRF named rd-*.
 * Returns the number of neighbors, or -EINVAL (not that JSON). */
int hnv_bgp_parse_neighbors(const char *text, size_t len, hnv_bgp_peer_fn fn, void *arg);

/* Asks bgpd for the neighbors of every rd-* instance and calls fn for
 * each (hnv_bgp_parse_neighbors). The received count comes from bgpd's
 * Adj-RIB-In (`soft-reconfiguration inbound`, set on filtered neighbors).
 * Returns the count, or a negative errno with err set. */
int hnv_bgp_neighbors(const struct hnv_bgp_opts *o, hnv_bgp_peer_fn fn, void *arg, char *err,
		      size_t errlen);

#endif
