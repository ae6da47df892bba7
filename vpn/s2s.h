/* s2s.h: site-to-site tunnels in strongSwan's charon, kept in the desired
 * state over VICI (vpn/vici.h).
 *
 * One manager per charon, used by hnvgwd's control thread only. Each tunnel
 * becomes one charon connection named <prefix><tunnel name> (prefix
 * "hnvgw-" by default) with one child of the same name and, for PSK
 * authentication, one shared secret with that id. The manager owns every
 * connection and secret whose name starts with the prefix and nothing else.
 *
 * Lifecycle:
 *   hnv_s2s_create        connects the command socket and, for a watching
 *                         manager (hnv_s2s_opts.watch), the event socket
 *                         (a charon that is not there yet is not an error:
 *                         tick retries)
 *   hnv_s2s_sync          the whole desired list: loads what is missing or
 *                         changed, unloads what charon has under the prefix
 *                         but is no longer wanted; unchanged tunnels are not
 *                         touched, so a restarted hnvgwd keeps its SAs
 *                         (charon ignores a load-conn identical to the
 *                         loaded one)
 *   poll hnv_s2s_fd       readable: hnv_s2s_dispatch (events update status)
 *   hnv_s2s_tick          about once a second: after charon went away
 *                         (event socket EOF, command socket error) it
 *                         reconnects and loads every tunnel again
 *   hnv_s2s_destroy       leaves charon's tunnels up (hnvgwd restarts do
 *                         not tear tunnels down); unregisters the events
 *                         before closing (vici.h, hnv_vici_close)
 *
 * Secrets: the manager keeps a copy of each tunnel's PSK to reload charon
 * after a restart; copies and every VICI buffer that held one are cleared
 * with explicit_bzero. No log message or status holds a PSK.
 */
#ifndef HNV_S2S_H
#define HNV_S2S_H

#include "../lib/hnv_types.h"
#include "vici.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HNV_S2S_PREFIX_DEFAULT "hnvgw-"
#define HNV_S2S_PREFIX_MAX 15
/* Seconds between audits of what charon holds (see hnv_s2s_tick): at
 * least HNV_S2S_AUDIT_S, and ten times what the last audit took
 * (hnv_s2s_audit_gap), at most HNV_S2S_AUDIT_MAX_S: with thousands of
 * tunnels an audit (charon's lists of every connection, secret and SA)
 * then takes at most a tenth of the time. */
#define HNV_S2S_AUDIT_S 3
#define HNV_S2S_AUDIT_MAX_S 60
/* A watching manager lets at most HNV_S2S_START_WINDOW tunnels that
 * initiate (start_action start) be connecting at once: a tunnel loaded
 * into charon counts until its IKE SA is up or HNV_S2S_START_WAIT_MS have
 * passed; the others wait, unloaded, and are loaded (so initiated) by the
 * tick as the window frees. charon (keyingtries 0) retries every tunnel
 * it was given without end: 1,000 tunnels given at once, on a host where
 * each exchange is slow, all time out together and start over together,
 * and none comes up. */
#define HNV_S2S_START_WINDOW 32
#define HNV_S2S_START_WAIT_MS 30000
#define HNV_S2S_LOCAL_TS_MAX 16
#define HNV_S2S_REKEY_IKE "4h"
#define HNV_S2S_REKEY_CHILD "1h"

/* ---- the tunnel as configured ----
 * The limits and defaults of the config text's "s2s add" (mgmt/conftext.h
 * checks every value against them; a file that includes both headers
 * fails to compile if the two definitions ever differ). */
#define HNV_S2S_ID_MAX 255
#define HNV_S2S_PSK_MIN 20
#define HNV_S2S_PSK_MAX 255
#define HNV_S2S_PATH_MAX 127
#define HNV_S2S_PROPOSALS_MAX 8
#define HNV_S2S_PROPOSALS_LEN 255 /* all proposals of one kind, joined by ',' */
#define HNV_S2S_REMOTE_MAX 16
#define HNV_S2S_DPD_DEFAULT 30
#define HNV_S2S_DPD_MAX 3600
#define HNV_S2S_NETMAP_MAX 4
#define HNV_S2S_IKE_DEFAULT "aes256gcm16-prfsha384-ecp384"
#define HNV_S2S_ESP_DEFAULT "aes256gcm16-ecp384"
#define HNV_S2S_HOST_MAX 253
/* Appended to a tunnel's proposals with legacy_crypto: the IKEv2 and ESP
 * defaults of Windows Server 2012 R2 (docs/gateway.md). */
#define HNV_S2S_IKE_LEGACY "aes256-sha1-modp1024,aes128-sha1-modp1024,3des-sha1-modp1024"
#define HNV_S2S_ESP_LEGACY "aes256-sha1,aes128-sha1,3des-sha1"

enum hnv_s2s_authn {
	HNV_S2S_AUTHN_PSK = 1,
	HNV_S2S_AUTHN_CERT = 2,
};

/* One NETMAP of a tunnel: real shown as mapped (IPv4, the same length). */
struct hnv_s2s_map {
	struct hnv_prefix real, mapped;
};

/* An S2S tunnel, with the fields and meaning of the config text's "s2s
 * add" (mgmt/conftext.h). psk is a secret: whoever copies a struct holding
 * it clears the copy with explicit_bzero. */
struct hnv_s2s_conf {
	char name[HNV_NAME_MAX + 1];
	char rdomain[HNV_NAME_MAX + 1];
	struct hnv_ip peer;
	bool has_local_addr;
	struct hnv_ip local_addr; /* same family as peer */
	char local_id[HNV_S2S_ID_MAX + 1];
	char remote_id[HNV_S2S_ID_MAX + 1];
	enum hnv_s2s_authn auth;
	char psk[HNV_S2S_PSK_MAX + 1];   /* PSK auth only, else "" */
	char cert[HNV_S2S_PATH_MAX + 1]; /* certificate auth only, else "" */
	char key[HNV_S2S_PATH_MAX + 1];
	/* certificate auth: the CA the peer's certificate must chain to
	 * (x509ca/ or an absolute path); "": any CA charon already trusts */
	char ca_cert[HNV_S2S_PATH_MAX + 1];
	/* Lower-case proposals joined by ',' (swanctl's list form); "": the
	 * defaults above. */
	char ike[HNV_S2S_PROPOSALS_LEN + 1];
	char esp[HNV_S2S_PROPOSALS_LEN + 1];
	unsigned n_remote;
	struct hnv_prefix remote[HNV_S2S_REMOTE_MAX];
	uint32_t dpd; /* seconds, 0: off */
	/* NETMAP before the tunnel: local[] translate the tenant's prefixes
	 * for the site, remote[] the site's for the tenant. */
	unsigned n_local_netmap, n_remote_netmap;
	struct hnv_s2s_map local_netmap[HNV_S2S_NETMAP_MAX], remote_netmap[HNV_S2S_NETMAP_MAX];
	/* The peer: peer (an address), peer_host (a DNS name charon resolves;
	 * peer unspecified) or peer_any (remote_addrs %any: a responder-only
	 * tunnel, found by its remote_id; never initiated, see
	 * hnv_s2s_responder). */
	bool peer_any;
	char peer_host[HNV_S2S_HOST_MAX + 1];
	/* the legacy proposals above are accepted after ike and esp */
	bool legacy_crypto;
	/* kbit/s, 0: unlimited: the gateway's tc limits on the tunnel's XFRM
	 * interface (gateway/gw_s2s.c); not part of charon's connection, so
	 * a change never reloads it */
	uint32_t rate_out, rate_in;
	/* a gateway pool's tunnel (hnvgw's config): the gateway adds
	 * local_addr to the device that routes to peer while it holds the
	 * tenant, and removes it with the tunnel (gateway/gw_s2s_addr.c);
	 * "": the local address is the administrator's */
	char pool[64];
};

/* True for a tunnel charon only answers: --peer any. */
static inline bool hnv_s2s_responder(const struct hnv_s2s_conf *c)
{
	return c->peer_any;
}

/* One tunnel as the gateway wants it. conf is the configured tunnel; the
 * rest comes from the gateway role. */
struct hnv_s2s_spec {
	const struct hnv_s2s_conf *conf;
	uint32_t if_id;      /* XFRM interface id; 0: none (kernel-libipsec) */
	bool has_local_addr; /* overrides conf->local_addr; neither: %any */
	struct hnv_ip local_addr;
	/* Local traffic selectors. 0: route-based, 0.0.0.0/0 and/or ::/0
	 * for the families of the remote prefixes. */
	unsigned n_local_ts;
	const struct hnv_prefix *local_ts;
	bool trap; /* start_action/close_action trap instead of start */
	/* taken down by hnv_s2s_down: loaded with start_action and
	 * close_action none and dpd_action clear, so that neither charon (a
	 * restart loads it again) nor a DPD or a DELETE starts it */
	bool admin_down;
};

/* log receives one line without a newline; level is a syslog priority
 * (enum hnv_log_level). */
typedef void (*hnv_s2s_log_fn)(void *arg, int level, const char *msg);

struct hnv_s2s_opts {
	const char *vici_path; /* NULL: HNV_VICI_DEFAULT_SOCKET */
	const char *prefix;    /* NULL: HNV_S2S_PREFIX_DEFAULT */
	/* Certificate and key file names that are not absolute resolve under
	 * cred_dir/x509/ and cred_dir/private/ (swanctl's layout). NULL:
	 * /etc/swanctl. */
	const char *cred_dir;
	int timeout_ms;     /* per VICI command; 0: 10000 */
	hnv_s2s_log_fn log; /* NULL: hnv_log */
	void *log_arg;
	/* A long-lived manager (hnvgwd): also holds the event connection
	 * (IKE/CHILD up/down and rekeys for the counters, charon's log for
	 * the status reason), whose fd the caller polls. false: a manager for
	 * a few commands of a process that exits (sync, status, up, down)
	 * registers for no event at all, so that charon never has events
	 * for it after it is gone; its status has no reason and no
	 * up/down/rekey counts. */
	bool watch;
	/* the start window (watching managers): 0 for the defaults above */
	unsigned start_window;
	int start_wait_ms;
};

struct hnv_s2s;

/* 0, -EINVAL for a bad prefix (1-15 of [A-Za-z0-9_.-]), -ENOMEM. */
int hnv_s2s_create(const struct hnv_s2s_opts *opts, struct hnv_s2s **out);
void hnv_s2s_destroy(struct hnv_s2s *s);

/* Makes charon hold exactly these n tunnels (names unique). Remembers the
 * list even when charon is unreachable (returns -ENOTCONN then; tick
 * loads it later). Returns 0 or the first error (-EINVAL: a spec that does
 * not build, with the tunnel named in the log; -EIO: charon refused, its
 * message logged); the other tunnels are still processed. */
int hnv_s2s_sync(struct hnv_s2s *s, const struct hnv_s2s_spec *specs, size_t n);

/* The event socket to poll for input, -1 while disconnected or without
 * opts.watch. */
int hnv_s2s_fd(const struct hnv_s2s *s);
/* Handles what the event socket has. 0, or -ENOTCONN when charon went away
 * (tick reconnects). */
int hnv_s2s_dispatch(struct hnv_s2s *s);
/* Reconnects when disconnected (at most once per second) and then loads
 * every tunnel again. Returns 0 when connected afterwards, else
 * -ENOTCONN. */
int hnv_s2s_tick(struct hnv_s2s *s);
/* The seconds until the next audit after one that took ms milliseconds:
 * ten times as long, at least HNV_S2S_AUDIT_S, at most
 * HNV_S2S_AUDIT_MAX_S. */
unsigned hnv_s2s_audit_gap(int64_t ms);
/* One turn of the owner's poll loop, for a poll of hnv_s2s_fd that
 * returned revents (0: its timer): dispatches what the event socket has,
 * then ticks whether or not there were events (a charon logging more
 * than once a second must not hold the audit off). 0, or -ENOTCONN. */
int hnv_s2s_run(struct hnv_s2s *s, short revents);
/* The command connection is up, and the event connection with
 * opts.watch. */
bool hnv_s2s_connected(const struct hnv_s2s *s);
/* Times the manager connected to charon (1 after create with a charon). */
unsigned hnv_s2s_connects(const struct hnv_s2s *s);

/* up: loads the tunnel's connection with its start action again and
 * initiates it unless charon already did (never a second IKE SA; a
 * responder-only tunnel is only loaded: it waits for its site); down:
 * loads it with start_action none (see hnv_s2s_spec.admin_down) and
 * terminates its IKE SA. Neither waits for the exchange. A tunnel taken
 * down stays down across charon restarts and re-syncs until up (or until
 * hnvgwd restarts: the state is the manager's). -ENOENT for a tunnel not
 * in the last sync. */
int hnv_s2s_up(struct hnv_s2s *s, const char *name);
int hnv_s2s_down(struct hnv_s2s *s, const char *name);

struct hnv_s2s_status {
	char ike_state[16];   /* "ESTABLISHED", "CONNECTING", ...; "DOWN": no SA */
	char child_state[16]; /* "INSTALLED", ...; "" without a CHILD SA */
	unsigned ike_sas;     /* IKE SAs of this connection (>1: a duplicate) */
	unsigned child_sas;
	uint64_t established_s;                                /* age of the established IKE SA */
	uint64_t bytes_in, bytes_out, packets_in, packets_out; /* all CHILD SAs */
	unsigned ike_rekeys, child_rekeys;                     /* seen in events by this manager */
	unsigned ups, downs;                                   /* IKE up/down events seen */
	/* Why the tunnel last failed to come up, as charon's log told this
	 * manager (hnv_s2s_reason); "" when it did not, or since the IKE SA
	 * came up. */
	char reason[96];
};

/* The reason (one of a fixed set of sentences, never charon's text) a
 * charon log line for a tunnel's IKE SA gives for a failed negotiation, or
 * NULL: NO_PROPOSAL_CHOSEN, no acceptable proposal, AUTHENTICATION_FAILED,
 * TS_UNACCEPTABLE, retransmissions given up, a peer name that does not
 * resolve. */
const char *hnv_s2s_reason(const char *msg);

/* Status of tunnel name from list-sas plus the event counters. 0,
 * -ENOENT (not configured), -ENOTCONN, or a VICI error. */
int hnv_s2s_status(struct hnv_s2s *s, const char *name, struct hnv_s2s_status *st);
/* The peer as configured: "any", the DNS name or the address. */
void hnv_s2s_peer_str(const struct hnv_s2s_conf *c, char *buf, size_t len);
/* One line for `show`: "name state ... bytes ..." (never a secret). */
int hnv_s2s_status_format(const char *name, const struct hnv_s2s_status *st, char *buf, size_t len);

/* ---- message builders (public for tests and diagnostics) ---- */

#define HNV_S2S_CRED_DIR_DEFAULT "/etc/swanctl"
#define HNV_S2S_CONN_NAME_MAX (HNV_S2S_PREFIX_MAX + HNV_NAME_MAX)

/* The connection (and child, and secret id) name of tunnel name: prefix
 * (NULL: the default) + name. 0, or -EINVAL when it exceeds len - 1. */
int hnv_s2s_conn_name(const char *prefix, const char *name, char *out, size_t len);

/* The load-conn request for sp, finished. prefix and cred_dir as in opts
 * (NULL: defaults). Returns 0, -EINVAL with err naming the bad value, or
 * -errno reading the certificate. */
int hnv_s2s_build_conn(const struct hnv_s2s_spec *sp, const char *prefix, const char *cred_dir,
		       struct hnv_vici_buf *b, char *err, size_t errlen);
/* The load-shared request for a PSK tunnel (the buffer holds the PSK:
 * hnv_vici_buf_free clears it). -EINVAL for a tunnel without a PSK. */
int hnv_s2s_build_shared(const struct hnv_s2s_conf *c, const char *prefix, struct hnv_vici_buf *b);

/* The load-key request for a certificate tunnel's private key c->key
 * (relative names under cred_dir/private/; cred_dir NULL: the default).
 * The buffer holds the key: hnv_vici_buf_free clears it. 0, or -errno
 * with err naming the file. */
int hnv_s2s_build_key(const struct hnv_s2s_conf *c, const char *cred_dir, struct hnv_vici_buf *b,
		      char *err, size_t errlen);

#endif
