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
 *   hnv_s2s_create        connects the command and event sockets (a charon
 *                         that is not there yet is not an error: tick
 *                         retries)
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
 *                         not tear tunnels down)
 *
 * Secrets: the manager keeps a copy of each tunnel's PSK to reload charon
 * after a restart; copies and every VICI buffer that held one are cleared
 * with explicit_bzero. No log message or status holds a PSK.
 */
#ifndef HNV_S2S_H
#define HNV_S2S_H

#include "../mgmt/conftext.h"
#include "vici.h"

#define HNV_S2S_PREFIX_DEFAULT "hnvgw-"
#define HNV_S2S_PREFIX_MAX 15
/* Seconds between audits of what charon holds (see hnv_s2s_tick). */
#define HNV_S2S_AUDIT_S 3
#define HNV_S2S_LOCAL_TS_MAX 16
#define HNV_S2S_REKEY_IKE "4h"
#define HNV_S2S_REKEY_CHILD "1h"

/* One tunnel as the gateway wants it. conf is the configured tunnel; the
 * rest comes from the gateway role. */
struct hnv_s2s_spec {
	const struct hnv_conf_s2s *conf;
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

/* The event socket to poll for input, -1 while disconnected. */
int hnv_s2s_fd(const struct hnv_s2s *s);
/* Handles what the event socket has. 0, or -ENOTCONN when charon went away
 * (tick reconnects). */
int hnv_s2s_dispatch(struct hnv_s2s *s);
/* Reconnects when disconnected (at most once per second) and then loads
 * every tunnel again. Returns 0 when connected afterwards, else
 * -ENOTCONN. */
int hnv_s2s_tick(struct hnv_s2s *s);
bool hnv_s2s_connected(const struct hnv_s2s *s);
/* Times the manager connected to charon (1 after create with a charon). */
unsigned hnv_s2s_connects(const struct hnv_s2s *s);

/* up: loads the tunnel's connection with its start action again and
 * initiates it unless charon already did (never a second IKE SA); down:
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
};

/* Status of tunnel name from list-sas plus the event counters. 0,
 * -ENOENT (not configured), -ENOTCONN, or a VICI error. */
int hnv_s2s_status(struct hnv_s2s *s, const char *name, struct hnv_s2s_status *st);
/* One line for `show`: "name state ... bytes ..." (never a secret). */
int hnv_s2s_status_format(const char *name, const struct hnv_s2s_status *st, char *buf, size_t len);

/* ---- message builders (public for tests and diagnostics) ---- */

/* The load-conn request for sp, finished. prefix and cred_dir as in opts
 * (NULL: defaults). Returns 0, -EINVAL with err naming the bad value, or
 * -errno reading the certificate. */
int hnv_s2s_build_conn(const struct hnv_s2s_spec *sp, const char *prefix, const char *cred_dir,
		       struct hnv_vici_buf *b, char *err, size_t errlen);
/* The load-shared request for a PSK tunnel (the buffer holds the PSK:
 * hnv_vici_buf_free clears it). -EINVAL for a tunnel without a PSK. */
int hnv_s2s_build_shared(const struct hnv_conf_s2s *c, const char *prefix, struct hnv_vici_buf *b);

#endif
