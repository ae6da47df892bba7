/* zapi.h: hnvgwd's client of FRR zebra's API (ZAPI version 6), written
 * from the wire description in shared/reference/zapi-vici.md part A; it
 * never links libfrr. The wire format itself is gateway/zapi_codec.h.
 *
 * What it does:
 *  - keeps a DESIRED-STATE table of routes per VRF (by VRF name) and makes
 *    zebra hold exactly those: routes of VRFs zebra does not know yet wait
 *    for VRF_ADD; after every (re)connect all desired routes are sent
 *    again; ROUTE_NOTIFY_OWNER results are tracked per route;
 *  - registers graceful restart (CLIENT_CAPABILITIES) with a stale time per
 *    VRF, so a restart of hnvgwd does not remove its routes from the kernel;
 *    once every re-sent route is answered it tells zebra the update is
 *    complete (ROUTE_UPDATE_COMPLETE) so routes it no longer wants go away;
 *  - asks for redistribution of route types and hands the routes zebra
 *    streams (REDISTRIBUTE_ROUTE_ADD/DEL) to a callback;
 *  - tracks VRFs (name -> vrf_id, table) and interfaces (name -> ifindex).
 *
 * Route type: hnvgwd's routes use ZEBRA_ROUTE_OPENFABRIC (26, kernel
 * protocol 197 "openfabric", vtysh code "f") with instance 0 by default.
 * zebra identifies a client's routes by (type, instance): a type shared
 * with a running daemon would let either replace the other's routes, and
 * the disconnect of one sweeps the other's. A nonzero instance would avoid
 * that but bgpd only redistributes instance 0 of most types. So the type
 * must belong to a daemon that never runs on the gateway AND be one bgpd
 * can `redistribute`: Debian's FRR 8.4.4 bgpd accepts `redistribute
 * <kernel|connected|static|rip|ospf|isis|eigrp|nhrp|table|vnc|vnc-direct|
 * babel|openfabric>` (not sharp, whatever the reference says); of those,
 * openfabric's daemon (fabricd, `fabricd=no` in /etc/frr/daemons) has no
 * use on the gateway. SHARP (23, proto 194; sharpd is not even shipped) is
 * accepted for setups that need no BGP redistribution. Distance is always
 * sent explicitly (openfabric's default would be 115).
 *
 * FRR release check: ZAPI command numbers change between FRR releases
 * while the version byte stays 6, so the client keeps one command table
 * per known release and talks only to a zebra whose release it knows
 * (8.2, 8.3, 8.4, 8.5, 9.0 share one numbering; 8.4 is tested against the
 * real daemon). The release is learned without running any program
 * (issue 17 finding 2): opts.frr_version when given (tests, or an operator
 * whose FRR is not Debian's package), else the upstream part of the
 * installed `frr` package's version in dpkg's status database
 * (opts.dpkg_status, "8.4.4" of "8.4.4-1.1~deb12u2"). It is read at every
 * connect, and an upgrade of the package restarts zebra, which reconnects
 * the client. Nothing found through the peer is ever executed: hnvgwd is
 * root, and the process at the other end of the socket (SO_PEERCRED) may
 * run any binary its owner, user frr, chose. An unknown or unreadable
 * release is refused with one log line naming it and the supported ones;
 * nothing is sent, and the check is repeated every 30 s.
 *
 * Threads and I/O: one thread (hnvgwd's control thread). The socket is
 * non-blocking; the caller polls hnv_zapi_fd() for hnv_zapi_poll_events()
 * and calls hnv_zapi_handle_io(), and calls hnv_zapi_tick() when the
 * timeout it returned runs out (reconnect with backoff 100 ms doubling to 1 s, GR
 * update-complete fallback). Nothing blocks but the connect of a unix
 * socket and the read of dpkg's status file after it.
 *
 * Untrusted input: every byte from zebra is parsed with explicit length
 * checks. A corrupt header (length < 10 or > 16384, marker or version
 * wrong) closes the session (a stream cannot be resynchronised) and the
 * client reconnects; a malformed body of a known command is counted, logged
 * (rate-limited) and skipped by its length; unknown commands are skipped.
 *
 * Errors: functions return 0 or a negative errno. Logging goes to
 * opts.log, or to hnv_log (lib/log.h) when it is NULL; repeats are
 * rate-limited.
 */
#ifndef HNV_ZAPI_H
#define HNV_ZAPI_H

#include "zapi_codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HNV_ZAPI_DEFAULT_PATH "/run/frr/zserv.api"
#define HNV_ZAPI_DEFAULT_DPKG_STATUS "/var/lib/dpkg/status"
#define HNV_ZAPI_DEFAULT_DISTANCE 150

/* State of a desired route. */
enum hnv_zapi_route_state {
	HNV_ZAPI_RS_WAIT_VRF,  /* VRF unknown to zebra (or not connected) */
	HNV_ZAPI_RS_SENT,      /* sent, no ROUTE_NOTIFY_OWNER yet */
	HNV_ZAPI_RS_INSTALLED, /* INSTALLED */
	HNV_ZAPI_RS_FAILED,    /* FAIL_INSTALL */
	HNV_ZAPI_RS_BETTER_ADMIN_WON,
	HNV_ZAPI_RS_REMOVED, /* zebra removed it (REMOVED while desired) */
};
const char *hnv_zapi_route_state_name(enum hnv_zapi_route_state s);

/* One desired route, as hnv_zapi_route_foreach shows it. */
struct hnv_zapi_route_info {
	const char *vrf;
	struct hnv_prefix prefix;
	struct hnv_zapi_nh nh;
	uint8_t distance;
	uint32_t metric;
	enum hnv_zapi_route_state state;
};

/* A redistributed route: vrf is "" when zebra never announced vrf_id.
 * Callbacks run inside hnv_zapi_handle_io/feed; they may set or delete
 * routes but must not free the client. */
typedef void (*hnv_zapi_redist_cb)(void *arg, bool add, const char *vrf, uint32_t vrf_id,
				   const struct hnv_zapi_route *r);
/* level: syslog priority (enum hnv_log_level values); msg: one line. */
typedef void (*hnv_zapi_log_cb)(void *arg, int level, const char *msg);

struct hnv_zapi_opts {
	const char *path;        /* NULL: HNV_ZAPI_DEFAULT_PATH */
	uint8_t route_type;      /* 0: OPENFABRIC; else OPENFABRIC or SHARP */
	uint32_t gr_stale_time;  /* seconds zebra keeps our routes after we
				  * disconnect; 0: no graceful restart */
	const char *frr_version; /* NULL: the frr package's (above), e.g. "8.4.4" */
	const char *dpkg_status; /* NULL: HNV_ZAPI_DEFAULT_DPKG_STATUS */
	hnv_zapi_redist_cb redist_cb;
	hnv_zapi_log_cb log; /* NULL: hnv_log */
	void *arg;           /* for both callbacks */
};

struct hnv_zapi;

enum hnv_zapi_conn {
	HNV_ZAPI_DISCONNECTED, /* waiting to (re)connect */
	HNV_ZAPI_CONNECTED,
	HNV_ZAPI_REFUSED, /* zebra runs an FRR release we do not know */
};

struct hnv_zapi_stats {
	enum hnv_zapi_conn conn;
	char frr_release[32]; /* "" until known */
	uint32_t vrf_backend; /* from CAPABILITIES: 0 VRF-lite, 1 netns */
	uint32_t multipath_num;
	uint64_t connects, disconnects, refusals;
	uint64_t msgs_in, msgs_out, unknown_cmds, bad_msgs, zebra_errors;
	uint64_t notify_installed, notify_failed, notify_removed;
	uint64_t redist_add, redist_del;
	unsigned routes, routes_wait_vrf, routes_sent, routes_installed, routes_failed;
	unsigned vrfs, interfaces;
};

/* Lifecycle. Copies opts (strings too). Does not connect yet: the first
 * hnv_zapi_tick() does. Returns NULL with errno EINVAL (bad route type,
 * empty/too long path) or ENOMEM. */
struct hnv_zapi *hnv_zapi_new(const struct hnv_zapi_opts *opts);
void hnv_zapi_free(struct hnv_zapi *z);

/* Poll integration. fd is -1 while disconnected. */
int hnv_zapi_fd(const struct hnv_zapi *z);
short hnv_zapi_poll_events(const struct hnv_zapi *z); /* POLLIN, |POLLOUT */
/* Reads what is available and handles every complete message, then writes
 * what is queued. Returns 0, or a negative errno when the session was
 * closed (it will reconnect on tick). */
int hnv_zapi_handle_io(struct hnv_zapi *z, short revents);
/* Does what is due (connect, GR completion fallback); returns the poll
 * timeout in ms until it wants to be called again, or -1 for none. */
int hnv_zapi_tick(struct hnv_zapi *z);

/* Desired routes. vrf: the zebra VRF name ("default" for the default
 * VRF), at most 35 bytes. nh: one nexthop, IFINDEX (ifindex), IPV4/IPV6
 * (gateway, resolved recursively by zebra), IPV4_IFINDEX/IPV6_IFINDEX
 * (gateway on that interface) or BLACKHOLE (bh_type); the gateway family
 * must match the prefix. distance 1..255. Setting an existing (vrf, prefix)
 * replaces it. Returns 0, -EINVAL (logged with the bad value) or -ENOMEM.
 * route_del: 0, or -ENOENT when not desired. routes_flush removes every
 * desired route (from zebra too). hnv_zapi_free leaves zebra's routes in
 * place (with GR they survive a restart of hnvgwd until the stale time). */
int hnv_zapi_route_set(struct hnv_zapi *z, const char *vrf, const struct hnv_prefix *p,
		       const struct hnv_zapi_nh *nh, uint8_t distance, uint32_t metric);
int hnv_zapi_route_del(struct hnv_zapi *z, const char *vrf, const struct hnv_prefix *p);
void hnv_zapi_routes_flush(struct hnv_zapi *z);
/* Calls fn for each desired route (unspecified order); stops and returns
 * fn's value when it is nonzero. */
int hnv_zapi_route_foreach(const struct hnv_zapi *z,
			   int (*fn)(void *arg, const struct hnv_zapi_route_info *r), void *arg);

/* Redistribution of `type` routes of afi (1 IPv4, 2 IPv6), in every VRF
 * zebra announces, now and after reconnects. -EINVAL for a bad afi/type. */
int hnv_zapi_redistribute(struct hnv_zapi *z, uint8_t afi, uint8_t type);

/* VRFs and interfaces zebra announced (interfaces are keyed by VRF and
 * ifindex: with the netns backend ifindexes repeat across VRFs). vrf NULL:
 * the first interface of that name in any VRF. 0 or -ENOENT. */
int hnv_zapi_vrf_lookup(const struct hnv_zapi *z, const char *name, uint32_t *vrf_id,
			uint32_t *table_id);
int hnv_zapi_if_lookup(const struct hnv_zapi *z, const char *vrf, const char *name,
		       uint32_t *ifindex, uint32_t *vrf_id);

void hnv_zapi_get_stats(const struct hnv_zapi *z, struct hnv_zapi_stats *st);
/* The session's state alone (hnv_zapi_get_stats also counts the routes). */
enum hnv_zapi_conn hnv_zapi_conn_state(const struct hnv_zapi *z);

/* ---- for tests and fuzzing ---- */

/* Starts a session on an already connected stream fd (takes ownership),
 * as after a successful connect: release check, hello, ... Returns 0 or
 * a negative errno (-EPROTONOSUPPORT: unknown release, fd closed). */
int hnv_zapi_attach_fd(struct hnv_zapi *z, int fd);
/* Handles len bytes as if read from zebra's stream. 0, or -EPROTO after a
 * corrupt header (the session is closed, as for the socket). */
int hnv_zapi_feed(struct hnv_zapi *z, const uint8_t *buf, size_t len);

#endif
