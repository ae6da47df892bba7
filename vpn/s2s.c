/* s2s.c: S2S tunnels in charon over VICI (see s2s.h). */
#include "s2s.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/clock.h"
#include "../lib/log.h"

/* What the manager knows of one wanted tunnel. conf holds the PSK. */
struct tun {
	struct hnv_s2s_conf conf;
	char conn[HNV_S2S_CONN_NAME_MAX + 1];
	uint32_t if_id;
	bool has_local_addr, trap;
	struct hnv_ip local_addr;
	unsigned n_local_ts;
	struct hnv_prefix local_ts[HNV_S2S_LOCAL_TS_MAX];
	uint8_t *sent; /* the load-conn charon accepted last (holds no secret) */
	size_t sent_len;
	unsigned ike_rekeys, child_rekeys, ups, downs;
	bool admin_down;      /* hnv_s2s_down: the audit leaves it down */
	unsigned audit_sas;   /* IKE SAs (any state) in the last audit */
	unsigned idle_audits; /* audits in a row that found none */
	unsigned kicks;       /* initiations by the audit */
	char reason[96];      /* hnv_s2s_reason of the last failure, "" after up */
	int64_t start_ms;     /* loaded to initiate (mono ms); 0: not connecting */
	bool ever_loaded;     /* a load is a reload (charon lost it) */
};

struct hnv_s2s {
	char path[108];
	char prefix[HNV_S2S_PREFIX_MAX + 1];
	char cred_dir[256];
	int timeout_ms;
	hnv_s2s_log_fn log;
	void *log_arg;
	bool watch;                     /* opts.watch: hold ev */
	struct hnv_vici_conn *cmd, *ev; /* ev: NULL without watch */
	long long last_try, last_audit;
	unsigned audit_gap; /* seconds from one audit to the next */
	unsigned connects, reloads;
	struct tun *tuns;
	size_t n_tuns;
	unsigned start_window; /* 0: no window (a manager that does not watch) */
	int start_wait_ms;
	bool queued; /* tunnels wait for the start window */
};

static void logf_(struct hnv_s2s *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void logf_(struct hnv_s2s *s, int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (s->log)
		s->log(s->log_arg, level, line);
	else
		hnv_log((enum hnv_log_level)level, "%s", line);
}

static void tun_clear(struct tun *t)
{
	free(t->sent);
	explicit_bzero(t, sizeof(*t));
}

/* ---- connection handling ---- */

static void disconnect(struct hnv_s2s *s)
{
	hnv_vici_close(s->cmd);
	hnv_vici_close(s->ev);
	s->cmd = s->ev = NULL;
	/* What we sent stays: the reconnect's reconciliation lists charon's
	 * connections and secrets and loads again what charon lacks (all of
	 * it when charon came back empty). Reloading every tunnel on each
	 * reconnect made a charon too busy to answer in time busier still:
	 * at 1,000 tunnels under emulation, 1,730 loads for 1,000 tunnels. */
}

/* The bound of one VICI command: the configured one and 20 ms more per
 * tunnel, at most 120 s. A charon busy with a thousand tunnels took more
 * than 10 s to answer a load-conn under emulation, and a timeout costs a
 * reconnect and its reconciliation. */
static int cmd_timeout(const struct hnv_s2s *s)
{
	long long t = (long long)s->timeout_ms + 20LL * (long long)s->n_tuns;
	return t < 120000 ? (int)t : 120000;
}

/* s->tuns is sorted by connection name (hnv_s2s_sync), which is the
 * prefix and the tunnel's name: both lookups bisect (a scan per charon
 * event and per listed connection was quadratic with 1,000 tunnels). */
static struct tun *find_conn(struct hnv_s2s *s, const char *conn)
{
	size_t lo = 0, hi = s->n_tuns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->tuns[mid].conn, conn);
		if (c == 0)
			return &s->tuns[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct tun *find_name(struct hnv_s2s *s, const char *name)
{
	char conn[sizeof(s->tuns[0].conn)];
	if (hnv_s2s_conn_name(s->prefix, name, conn, sizeof(conn)))
		return NULL;
	return find_conn(s, conn);
}

const char *hnv_s2s_reason(const char *msg)
{
	static const struct {
		const char *says, *reason;
	} r[] = {
		{"NO_PROPOSAL_CHOSEN",
		 "the site accepted none of our proposals (NO_PROPOSAL_CHOSEN)"},
		{"no acceptable proposal found", "none of the site's proposals is allowed here"},
		{"AUTHENTICATION_FAILED", "authentication failed (AUTHENTICATION_FAILED)"},
		{"TS_UNACCEPTABLE", "the site refused the traffic selectors (TS_UNACCEPTABLE)"},
		{"giving up after", "the site does not answer (retransmissions given up)"},
		{"unable to resolve", "the peer's name does not resolve"},
	};
	for (size_t i = 0; msg && i < sizeof(r) / sizeof(r[0]); i++)
		if (strstr(msg, r[i].says))
			return r[i].reason;
	return NULL;
}

/* A "log" event (charon's log at level 0-1): a line naming one of our
 * IKE SAs that says why a negotiation failed becomes the tunnel's reason
 * (logged once per change). charon's own text is not kept. */
static void on_log(struct hnv_s2s *s, const struct hnv_vici_node *root)
{
	const char *name = hnv_vici_str(root, "ikesa-name");
	struct tun *t = name ? find_conn(s, name) : NULL;
	const char *why = t ? hnv_s2s_reason(hnv_vici_str(root, "msg")) : NULL;
	if (!why || strcmp(t->reason, why) == 0)
		return;
	snprintf(t->reason, sizeof(t->reason), "%s", why);
	logf_(s, HNV_LOG_WARNING, "s2s %s: not established: %s", t->conf.name, why);
}

/* Events: ike-updown, child-updown, ike-rekey, child-rekey. Each holds one
 * section per IKE SA, named after its connection. And log (registered
 * last, so that it is unregistered first: see hnv_vici_close). */
static void on_event(void *arg, const char *event, const struct hnv_vici_msg *m)
{
	struct hnv_s2s *s = arg;
	const struct hnv_vici_node *root = hnv_vici_msg_root(m);
	if (strcmp(event, "log") == 0) {
		on_log(s, root);
		return;
	}
	bool up = hnv_vici_yes(root, "up");
	for (const struct hnv_vici_node *n = root->child; n; n = n->next) {
		if (n->kind != HNV_VICI_N_SECTION)
			continue;
		struct tun *t = find_conn(s, n->name);
		if (!t)
			continue;
		const char *state = hnv_vici_str(n, "state");
		if (strcmp(event, "ike-updown") == 0) {
			if (up) {
				t->ups++;
				t->start_ms = 0;
				t->reason[0] = '\0';
			} else {
				t->downs++;
			}
			logf_(s, HNV_LOG_NOTICE, "s2s %s: IKE SA %s (%s)", t->conf.name,
			      up ? "up" : "down", state ? state : "?");
		} else if (strcmp(event, "child-updown") == 0) {
			logf_(s, HNV_LOG_INFO, "s2s %s: CHILD SA %s", t->conf.name,
			      up ? "up" : "down");
		} else if (strcmp(event, "ike-rekey") == 0) {
			t->ike_rekeys++;
			logf_(s, HNV_LOG_INFO, "s2s %s: IKE SA rekeyed", t->conf.name);
		} else if (strcmp(event, "child-rekey") == 0) {
			t->child_rekeys++;
			logf_(s, HNV_LOG_INFO, "s2s %s: CHILD SA rekeyed", t->conf.name);
		}
	}
}

static const char *const events[] = {"ike-updown", "child-updown", "ike-rekey", "child-rekey",
				     "log"};

static int try_connect(struct hnv_s2s *s)
{
	int rc = hnv_vici_connect(s->path, cmd_timeout(s), &s->cmd);
	if (!rc && s->watch)
		rc = hnv_vici_events_open(s->path, events, sizeof(events) / sizeof(events[0]),
					  on_event, s, cmd_timeout(s), &s->ev);
	if (rc) {
		disconnect(s);
		return rc;
	}
	s->connects++;
	logf_(s, HNV_LOG_NOTICE, "s2s: connected to charon at %s", s->path);
	return 0;
}

/* A command on the command connection; a transport failure disconnects. */
static int cmd_ok(struct hnv_s2s *s, struct hnv_vici_buf *b, const char *what, const char *conn,
		  bool quiet)
{
	char err[256];
	if (!s->cmd)
		return -ENOTCONN;
	int rc = hnv_vici_cmd_ok(s->cmd, b, err, sizeof(err));
	if (rc == -EIO) {
		if (!quiet)
			logf_(s, HNV_LOG_ERR, "s2s: %s %s refused by charon: %s", what, conn, err);
	} else if (rc) {
		logf_(s, HNV_LOG_ERR, "s2s: %s %s: %s; reconnecting", what, conn, strerror(-rc));
		disconnect(s);
		rc = -ENOTCONN;
	}
	return rc;
}

static int simple_cmd(struct hnv_s2s *s, const char *cmd, const char *key, const char *val,
		      bool quiet)
{
	struct hnv_vici_buf b;
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, cmd);
	hnv_vici_kv_str(&b, key, val);
	int rc = hnv_vici_buf_finish(&b);
	if (!rc)
		rc = cmd_ok(s, &b, cmd, val, quiet);
	hnv_vici_buf_free(&b);
	return rc;
}

static int unload(struct hnv_s2s *s, const char *conn)
{
	struct hnv_vici_buf b;
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, "terminate");
	hnv_vici_kv_str(&b, "ike", conn);
	hnv_vici_kv_str(&b, "force", "yes");
	hnv_vici_kv_str(&b, "timeout", "-1");
	int rc = hnv_vici_buf_finish(&b);
	if (!rc)
		rc = cmd_ok(s, &b, "terminate", conn, true); /* no SA: fine */
	hnv_vici_buf_free(&b);
	if (rc == -ENOTCONN)
		return rc;
	rc = simple_cmd(s, "unload-conn", "name", conn, false);
	if (rc == -ENOTCONN)
		return rc;
	int rc2 = simple_cmd(s, "unload-shared", "id", conn, true); /* cert tunnels have none */
	if (rc2 == -ENOTCONN)
		return rc2;
	logf_(s, HNV_LOG_NOTICE, "s2s: unloaded %s", conn);
	return rc;
}

static int load_key(struct hnv_s2s *s, const struct tun *t)
{
	struct hnv_vici_buf b;
	char err[512];
	int rc = hnv_s2s_build_key(&t->conf, s->cred_dir, &b, err, sizeof(err));
	if (rc)
		logf_(s, HNV_LOG_ERR, "s2s %s: %s", t->conf.name, err);
	else
		rc = cmd_ok(s, &b, "load-key for", t->conn, false);
	hnv_vici_buf_free(&b); /* clears the key */
	return rc;
}

static void spec_of(const struct tun *t, struct hnv_s2s_spec *sp)
{
	*sp = (struct hnv_s2s_spec){
		.conf = &t->conf,
		.if_id = t->if_id,
		.has_local_addr = t->has_local_addr,
		.local_addr = t->local_addr,
		.n_local_ts = t->n_local_ts,
		.local_ts = t->local_ts,
		.trap = t->trap,
		.admin_down = t->admin_down,
	};
}

/* Loads t's secret (or private key) and then its connection; remembers
 * the accepted load-conn in t->sent. */
static int load(struct hnv_s2s *s, struct tun *t, const struct hnv_vici_buf *conn_msg)
{
	int rc;
	if (t->conf.auth == HNV_S2S_AUTHN_PSK) {
		struct hnv_vici_buf b;
		rc = hnv_s2s_build_shared(&t->conf, s->prefix, &b);
		if (!rc)
			rc = cmd_ok(s, &b, "load-shared for", t->conn, false);
		hnv_vici_buf_free(&b); /* clears the PSK */
	} else {
		rc = load_key(s, t);
	}
	if (rc)
		return rc;
	char err[256];
	if (!s->cmd)
		return -ENOTCONN;
	rc = hnv_vici_cmd_ok(s->cmd, conn_msg, err, sizeof(err));
	if (rc == -EIO) {
		logf_(s, HNV_LOG_ERR, "s2s: load-conn %s refused by charon: %s", t->conn, err);
		return rc;
	}
	if (rc) {
		logf_(s, HNV_LOG_ERR, "s2s: load-conn %s: %s; reconnecting", t->conn,
		      strerror(-rc));
		disconnect(s);
		return -ENOTCONN;
	}
	free(t->sent);
	t->sent = malloc(conn_msg->len);
	if (t->sent) {
		memcpy(t->sent, conn_msg->data, conn_msg->len);
		t->sent_len = conn_msg->len;
	}
	logf_(s, HNV_LOG_NOTICE, "s2s: loaded %s", t->conn);
	if (t->conf.legacy_crypto)
		logf_(s, HNV_LOG_WARNING,
		      "s2s %s: legacy crypto allowed: charon also accepts DH group 2 (MODP1024), "
		      "SHA-1 and 3DES for this tunnel (IKE %s; ESP %s)",
		      t->conf.name, HNV_S2S_IKE_LEGACY, HNV_S2S_ESP_LEGACY);
	return 0;
}

/* Names of the connections (get-conns: conns) or secrets (get-shared:
 * keys) charon holds under our prefix; malloc'd array of malloc'd names. */
static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether names[n] (sorted by get_names) holds x. */
static bool has_name(char **names, size_t n, const char *x)
{
	return n && bsearch(&x, names, n, sizeof(*names), cmp_name) != NULL;
}

static int get_names(struct hnv_s2s *s, const char *cmd, const char *list, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!s->cmd)
		return -ENOTCONN;
	struct hnv_vici_buf b;
	struct hnv_vici_msg *m = NULL;
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, cmd);
	int rc = hnv_vici_buf_finish(&b);
	if (!rc)
		rc = hnv_vici_cmd(s->cmd, &b, &m);
	hnv_vici_buf_free(&b);
	if (rc) {
		logf_(s, HNV_LOG_ERR, "s2s: %s: %s; reconnecting", cmd, strerror(-rc));
		disconnect(s);
		return -ENOTCONN;
	}
	const struct hnv_vici_node *l = hnv_vici_find(hnv_vici_msg_root(m), list, HNV_VICI_N_LIST);
	size_t cnt = 0;
	for (const struct hnv_vici_node *i = l ? l->child : NULL; i; i = i->next)
		cnt++;
	char **names = calloc(cnt + 1, sizeof(*names));
	if (!names) {
		hnv_vici_msg_free(m);
		return -ENOMEM;
	}
	size_t plen = strlen(s->prefix);
	for (const struct hnv_vici_node *i = l ? l->child : NULL; i; i = i->next)
		if (strlen(i->value) == i->vlen && strncmp(i->value, s->prefix, plen) == 0 &&
		    (names[*n] = strdup(i->value)))
			(*n)++;
	hnv_vici_msg_free(m);
	qsort(names, *n, sizeof(*names), cmp_name); /* for has_name */
	*out = names;
	return 0;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Brings charon to s->tuns: unloads foreign-to-the-list connections and
 * secrets under our prefix, loads tunnels whose message differs from what
 * charon accepted last (all after a reconnect). */
/* t initiates when loaded (start_action start). */
static bool starts(const struct tun *t)
{
	return !t->trap && !t->admin_down && !hnv_s2s_responder(&t->conf);
}

/* The tunnels loaded to initiate that are connecting (HNV_S2S_START_WINDOW). */
static unsigned connecting(const struct hnv_s2s *s, int64_t now)
{
	unsigned n = 0;
	for (size_t i = 0; i < s->n_tuns; i++) {
		const struct tun *t = &s->tuns[i];
		n += t->sent && t->start_ms && now - t->start_ms < s->start_wait_ms;
	}
	return n;
}

/* Loads every tunnel charon lacks or has in another form (queued_only:
 * only those charon lacks), except those that would initiate while the
 * start window is full (s->queued: the tick loads them later). The first
 * error, or 0. */
static int load_all(struct hnv_s2s *s, bool queued_only)
{
	int64_t now = hnv_mono_ms();
	unsigned busy = s->start_window ? connecting(s, now) : 0;
	int first = 0;
	s->queued = false;
	for (size_t i = 0; i < s->n_tuns && s->cmd; i++) {
		struct tun *t = &s->tuns[i];
		bool fresh = !t->sent, paced = s->start_window && starts(t);
		if (queued_only && !fresh)
			continue;
		if (fresh && paced && busy >= s->start_window) {
			s->queued = true;
			snprintf(t->reason, sizeof(t->reason),
				 "queued: at most %u tunnels connect at once", s->start_window);
			continue;
		}
		struct hnv_s2s_spec sp;
		struct hnv_vici_buf b;
		char err[512];
		spec_of(t, &sp);
		int rc = hnv_s2s_build_conn(&sp, s->prefix, s->cred_dir, &b, err, sizeof(err));
		if (rc) {
			logf_(s, HNV_LOG_ERR, "s2s: %s", err);
		} else if (fresh || t->sent_len != b.len || memcmp(t->sent, b.data, b.len)) {
			rc = load(s, t, &b);
			if (!rc) {
				s->reloads += fresh && t->ever_loaded; /* charon had lost it */
				t->ever_loaded = true;
				if (fresh && paced) {
					t->start_ms = now ? now : 1;
					busy++;
					if (strncmp(t->reason, "queued:", 7) == 0)
						t->reason[0] = '\0';
				}
			}
		}
		hnv_vici_buf_free(&b);
		if (rc && !first)
			first = rc;
	}
	return first;
}

static int reconcile(struct hnv_s2s *s)
{
	char **names;
	size_t n;
	int rc = get_names(s, "get-conns", "conns", &names, &n), first = 0;
	if (rc)
		return rc;
	for (size_t i = 0; i < n && s->cmd; i++) {
		if (find_conn(s, names[i]))
			continue;
		rc = unload(s, names[i]);
		if (rc && !first)
			first = rc;
	}
	/* A connection charon lacks is loaded even when we sent it before. */
	for (size_t i = 0; i < s->n_tuns; i++) {
		if (!has_name(names, n, s->tuns[i].conn)) {
			free(s->tuns[i].sent);
			s->tuns[i].sent = NULL;
			s->tuns[i].sent_len = 0;
		}
	}
	free_names(names, n);
	if (!s->cmd)
		return -ENOTCONN;
	if ((rc = get_names(s, "get-shared", "keys", &names, &n)))
		return rc;
	for (size_t i = 0; i < n && s->cmd; i++) {
		struct tun *t = find_conn(s, names[i]);
		if (!t || t->conf.auth != HNV_S2S_AUTHN_PSK)
			simple_cmd(s, "unload-shared", "id", names[i], false);
	}
	/* A PSK charon lost (swanctl --load-creds unloads secrets it has no
	 * file for) is loaded again with its connection. */
	for (size_t i = 0; i < s->n_tuns; i++) {
		if (s->tuns[i].conf.auth == HNV_S2S_AUTHN_PSK &&
		    !has_name(names, n, s->tuns[i].conn)) {
			free(s->tuns[i].sent);
			s->tuns[i].sent = NULL;
			s->tuns[i].sent_len = 0;
		}
	}
	free_names(names, n);
	rc = load_all(s, false);
	if (!s->cmd)
		return -ENOTCONN;
	return first ? first : rc;
}

int hnv_s2s_create(const struct hnv_s2s_opts *o, struct hnv_s2s **out)
{
	static const struct hnv_s2s_opts none;
	if (!o)
		o = &none;
	*out = NULL;
	const char *prefix = o->prefix ? o->prefix : HNV_S2S_PREFIX_DEFAULT;
	size_t pl = strlen(prefix);
	if (pl == 0 || pl > HNV_S2S_PREFIX_MAX ||
	    strspn(prefix, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != pl)
		return -EINVAL;
	const char *path = o->vici_path ? o->vici_path : HNV_VICI_DEFAULT_SOCKET;
	const char *cred = o->cred_dir ? o->cred_dir : HNV_S2S_CRED_DIR_DEFAULT;
	struct hnv_s2s *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->audit_gap = HNV_S2S_AUDIT_S;
	if (strlen(path) >= sizeof(s->path) || strlen(cred) >= sizeof(s->cred_dir)) {
		free(s);
		return -ENAMETOOLONG;
	}
	strcpy(s->path, path);
	strcpy(s->prefix, prefix);
	strcpy(s->cred_dir, cred);
	s->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
	s->log = o->log;
	s->log_arg = o->log_arg;
	s->watch = o->watch;
	s->start_window = !o->watch ? 0 : o->start_window ? o->start_window : HNV_S2S_START_WINDOW;
	s->start_wait_ms = o->start_wait_ms > 0 ? o->start_wait_ms : HNV_S2S_START_WAIT_MS;
	if (try_connect(s))
		logf_(s, HNV_LOG_WARNING, "s2s: charon not reachable at %s; retrying", s->path);
	s->last_try = time(NULL);
	*out = s;
	return 0;
}

void hnv_s2s_destroy(struct hnv_s2s *s)
{
	if (!s)
		return;
	disconnect(s);
	for (size_t i = 0; i < s->n_tuns; i++)
		tun_clear(&s->tuns[i]);
	free(s->tuns);
	explicit_bzero(s, sizeof(*s));
	free(s);
}

static int tun_from_spec(struct hnv_s2s *s, const struct hnv_s2s_spec *sp, struct tun *t)
{
	memset(t, 0, sizeof(*t));
	if (!sp->conf || sp->n_local_ts > HNV_S2S_LOCAL_TS_MAX ||
	    hnv_s2s_conn_name(s->prefix, sp->conf->name, t->conn, sizeof(t->conn)))
		return -EINVAL;
	t->conf = *sp->conf;
	t->if_id = sp->if_id;
	t->has_local_addr = sp->has_local_addr;
	t->local_addr = sp->local_addr;
	t->trap = sp->trap;
	t->n_local_ts = sp->n_local_ts;
	if (sp->n_local_ts)
		memcpy(t->local_ts, sp->local_ts, sp->n_local_ts * sizeof(*sp->local_ts));
	return 0;
}

static int cmp_tun_idx(const void *a, const void *b, void *arg)
{
	const struct tun *t = arg;
	return strcmp(t[*(const size_t *)a].conn, t[*(const size_t *)b].conn);
}

int hnv_s2s_sync(struct hnv_s2s *s, const struct hnv_s2s_spec *specs, size_t n)
{
	struct tun *tuns = n ? calloc(n, sizeof(*tuns)) : NULL;
	if (n && !tuns)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (tun_from_spec(s, &specs[i], &tuns[i])) {
			logf_(s, HNV_LOG_ERR, "s2s: tunnel \"%s\" is invalid",
			      specs[i].conf ? specs[i].conf->name : "");
			for (size_t j = 0; j <= i; j++)
				tun_clear(&tuns[j]);
			free(tuns);
			return -EINVAL;
		}
	}
	/* sorted by connection name (find_conn), through an index: qsort's
	 * scratch copies of the entries, PSKs in them, would be freed
	 * without being cleared; a name twice is refused */
	size_t *idx = calloc(n + 1, sizeof(*idx));
	struct tun *sorted = n ? calloc(n, sizeof(*sorted)) : NULL;
	if (!idx || (n && !sorted)) {
		for (size_t j = 0; j < n; j++)
			tun_clear(&tuns[j]);
		free(tuns);
		free(idx);
		free(sorted);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_tun_idx, tuns);
	for (size_t i = 0; i < n; i++)
		memcpy(&sorted[i], &tuns[idx[i]], sizeof(*sorted));
	if (n)
		explicit_bzero(tuns, n * sizeof(*tuns)); /* moved, sent buffers too */
	free(tuns);
	free(idx);
	tuns = sorted;
	for (size_t i = 1; i < n; i++)
		if (strcmp(tuns[i - 1].conn, tuns[i].conn) == 0) {
			logf_(s, HNV_LOG_ERR, "s2s: tunnel \"%s\" is repeated", tuns[i].conf.name);
			for (size_t j = 0; j < n; j++)
				tun_clear(&tuns[j]);
			free(tuns);
			return -EINVAL;
		}
	for (size_t i = 0; i < n; i++) {
		/* Keep what charon accepted for an unchanged tunnel; a changed
		 * secret or key file forces a reload. */
		struct tun *old = find_conn(s, tuns[i].conn);
		if (old && old->sent && strcmp(old->conf.psk, tuns[i].conf.psk) == 0 &&
		    strcmp(old->conf.key, tuns[i].conf.key) == 0) {
			tuns[i].sent = old->sent;
			tuns[i].sent_len = old->sent_len;
			old->sent = NULL;
		}
		if (old) {
			tuns[i].ike_rekeys = old->ike_rekeys;
			tuns[i].child_rekeys = old->child_rekeys;
			tuns[i].ups = old->ups;
			tuns[i].downs = old->downs;
			tuns[i].admin_down = old->admin_down;
			tuns[i].kicks = old->kicks;
			tuns[i].start_ms = old->start_ms;
			tuns[i].ever_loaded = old->ever_loaded;
			memcpy(tuns[i].reason, old->reason, sizeof(tuns[i].reason));
		}
	}
	for (size_t i = 0; i < s->n_tuns; i++)
		tun_clear(&s->tuns[i]);
	free(s->tuns);
	s->tuns = tuns;
	s->n_tuns = n;
	if (!s->cmd)
		return -ENOTCONN;
	hnv_vici_set_timeout(s->cmd, cmd_timeout(s));
	return reconcile(s);
}

int hnv_s2s_fd(const struct hnv_s2s *s)
{
	return s->ev ? hnv_vici_fd(s->ev) : -1;
}

bool hnv_s2s_connected(const struct hnv_s2s *s)
{
	return s->cmd && (s->ev || !s->watch);
}

unsigned hnv_s2s_connects(const struct hnv_s2s *s)
{
	return s->connects;
}

int hnv_s2s_dispatch(struct hnv_s2s *s)
{
	if (!s->ev)
		return -ENOTCONN;
	int rc = hnv_vici_events_dispatch(s->ev);
	if (rc) {
		logf_(s, HNV_LOG_WARNING, "s2s: charon event socket: %s; reconnecting",
		      rc == -EPIPE ? "closed" : strerror(-rc));
		disconnect(s);
		return -ENOTCONN;
	}
	return 0;
}

/* One list-sa event of the audit: counts the IKE SAs of each tunnel. */
static void on_audit_sa(void *arg, const char *event, const struct hnv_vici_msg *m)
{
	(void)event;
	struct hnv_s2s *s = arg;
	for (const struct hnv_vici_node *ike = hnv_vici_msg_root(m)->child; ike; ike = ike->next) {
		struct tun *t = ike->kind == HNV_VICI_N_SECTION ? find_conn(s, ike->name) : NULL;
		if (t)
			t->audit_sas++;
	}
}

static int initiate(struct hnv_s2s *s, struct tun *t);

/* Charon gives a tunnel up in some cases: an IKE_SA_INIT answered with an
 * error (the site's config not loaded yet), a peer's DELETE racing a
 * reload of the connection. A tunnel that should be up (start_action
 * start, not taken down by hnv_s2s_down, not responder-only) and has had
 * no IKE SA in any
 * state for two audits in a row is initiated again. A connecting SA
 * counts, so this never adds a second IKE SA. */
static int kick_idle(struct hnv_s2s *s)
{
	for (size_t i = 0; i < s->n_tuns; i++)
		s->tuns[i].audit_sas = 0;
	struct hnv_vici_buf b;
	struct hnv_vici_msg *m = NULL;
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, "list-sas");
	hnv_vici_kv_str(&b, "noblock", "yes");
	int rc = hnv_vici_buf_finish(&b);
	if (!rc)
		rc = hnv_vici_cmd_stream(s->cmd, &b, "list-sa", on_audit_sa, s, &m);
	hnv_vici_buf_free(&b);
	hnv_vici_msg_free(m);
	if (rc) {
		logf_(s, HNV_LOG_ERR, "s2s: list-sas: %s; reconnecting", strerror(-rc));
		disconnect(s);
		return -ENOTCONN;
	}
	for (size_t i = 0; i < s->n_tuns && s->cmd; i++) {
		struct tun *t = &s->tuns[i];
		if (t->audit_sas || t->trap || t->admin_down || !t->sent ||
		    hnv_s2s_responder(&t->conf)) {
			t->idle_audits = 0;
			continue;
		}
		if (++t->idle_audits < 2)
			continue;
		t->idle_audits = 0;
		logf_(s, HNV_LOG_WARNING, "s2s %s: no IKE SA for %u s; initiating again",
		      t->conf.name, 2 * s->audit_gap);
		if (initiate(s, t) == 0)
			t->kicks++;
	}
	return s->cmd ? 0 : -ENOTCONN;
}

unsigned hnv_s2s_audit_gap(int64_t ms)
{
	if (ms <= 0)
		return HNV_S2S_AUDIT_S;
	int64_t gap = (10 * ms + 999) / 1000;
	return gap < HNV_S2S_AUDIT_S       ? HNV_S2S_AUDIT_S
	       : gap > HNV_S2S_AUDIT_MAX_S ? HNV_S2S_AUDIT_MAX_S
					   : (unsigned)gap;
}

int hnv_s2s_tick(struct hnv_s2s *s)
{
	long long now = time(NULL);
	if (hnv_s2s_connected(s)) {
		/* tunnels waiting for the start window, as it frees */
		if (s->queued) {
			int rc = load_all(s, true);
			if (rc && rc != -ENOTCONN)
				logf_(s, HNV_LOG_WARNING, "s2s: loading queued tunnels: %s",
				      strerror(-rc));
			if (!s->cmd)
				return -ENOTCONN;
		}
		/* Charon keeps connections until somebody unloads them, and
		 * somebody does: strongswan.service runs `swanctl --load-all`
		 * after charon starts, which unloads every connection and
		 * secret not in swanctl.conf, ours included, whenever it ends
		 * after our reconnect. An audit every few seconds loads back
		 * what charon lost; it costs two list commands. */
		if (now - s->last_audit < (long long)s->audit_gap)
			return 0;
		s->last_audit = now;
		unsigned before = s->reloads;
		int64_t t0 = hnv_mono_ms();
		int rc = reconcile(s);
		if (rc && rc != -ENOTCONN)
			logf_(s, HNV_LOG_WARNING, "s2s: audit incomplete: %s", strerror(-rc));
		else if (s->reloads != before)
			logf_(s, HNV_LOG_WARNING,
			      "s2s: charon had lost %u tunnel(s) (unloaded by another VICI "
			      "client?); loaded again",
			      s->reloads - before);
		if (s->cmd)
			kick_idle(s);
		unsigned gap = hnv_s2s_audit_gap(hnv_mono_ms() - t0);
		if (gap != s->audit_gap)
			logf_(s, HNV_LOG_INFO,
			      "s2s: the audit took %lld ms: every %u s from now on",
			      (long long)(hnv_mono_ms() - t0), gap);
		s->audit_gap = gap;
		return hnv_s2s_connected(s) ? 0 : -ENOTCONN;
	}
	if (now == s->last_try)
		return -ENOTCONN;
	s->last_try = now;
	if (try_connect(s))
		return -ENOTCONN;
	s->last_audit = now;
	int rc = reconcile(s);
	if (rc && rc != -ENOTCONN)
		logf_(s, HNV_LOG_WARNING, "s2s: reload after reconnect incomplete: %s",
		      strerror(-rc));
	return hnv_s2s_connected(s) ? 0 : -ENOTCONN;
}

int hnv_s2s_run(struct hnv_s2s *s, short revents)
{
	/* a charon that went away: the event socket reports EOF or an
	 * error, dispatch disconnects and tick reconnects (at most once a
	 * second) and loads every tunnel */
	if (revents)
		hnv_s2s_dispatch(s);
	return hnv_s2s_tick(s);
}

static int ctl(struct hnv_s2s *s, struct tun *t, const char *cmd)
{
	struct hnv_vici_buf b;
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, cmd);
	if (strcmp(cmd, "initiate") == 0)
		hnv_vici_kv_str(&b, "child", t->conn);
	hnv_vici_kv_str(&b, "ike", t->conn);
	hnv_vici_kv_str(&b, "timeout", "-1");
	int rc = hnv_vici_buf_finish(&b);
	if (!rc)
		rc = cmd_ok(s, &b, cmd, t->conn, false);
	hnv_vici_buf_free(&b);
	if (!rc)
		logf_(s, HNV_LOG_NOTICE, "s2s %s: %s", t->conf.name, cmd);
	return rc;
}

static int initiate(struct hnv_s2s *s, struct tun *t)
{
	return ctl(s, t, "initiate");
}

/* The IKE SAs (any state) charon has for t; -errno on a failed list. */
static int count_sas(struct hnv_s2s *s, const struct tun *t)
{
	struct hnv_s2s_status st;
	int rc = hnv_s2s_status(s, t->conf.name, &st);
	return rc ? rc : (int)st.ike_sas;
}

/* Sets t's administrative state and loads its connection accordingly
 * (reconcile sends only what changed). 0 or -errno. */
static int set_admin(struct hnv_s2s *s, struct tun *t, bool down)
{
	t->admin_down = down;
	t->idle_audits = 0;
	t->reason[0] = '\0';
	if (!s->cmd)
		return -ENOTCONN;
	int rc = reconcile(s);
	return s->cmd ? rc : -ENOTCONN;
}

int hnv_s2s_up(struct hnv_s2s *s, const char *name)
{
	struct tun *t = find_name(s, name);
	if (!t)
		return -ENOENT;
	int rc = set_admin(s, t, false);
	if (rc)
		return rc;
	/* charon initiates a connection reloaded with start_action start
	 * itself; a second initiate would make a second IKE SA. A
	 * responder-only tunnel waits for its site. */
	if (hnv_s2s_responder(&t->conf))
		return 0;
	int n = count_sas(s, t);
	if (n < 0)
		return n;
	return n ? 0 : initiate(s, t);
}

int hnv_s2s_down(struct hnv_s2s *s, const char *name)
{
	struct tun *t = find_name(s, name);
	if (!t)
		return -ENOENT;
	int rc = set_admin(s, t, true);
	if (rc)
		return rc;
	/* the reload may have closed it already */
	int n = count_sas(s, t);
	if (n <= 0)
		return n;
	rc = ctl(s, t, "terminate");
	if (rc == -EIO) {
		/* refused when no SA matched any more: one being deleted as
		 * we asked is down all the same */
		struct hnv_s2s_status st;
		if (hnv_s2s_status(s, t->conf.name, &st) == 0 &&
		    (st.ike_sas == 0 || strcmp(st.ike_state, "DELETING") == 0)) {
			logf_(s, HNV_LOG_NOTICE, "s2s %s: down (its IKE SA was already %s)",
			      t->conf.name, st.ike_sas ? "being deleted" : "gone");
			rc = 0;
		}
	}
	return rc;
}

static void copy_state(char *dst, size_t len, const char *v)
{
	snprintf(dst, len, "%s", v ? v : "?");
}

static void add_u64(const struct hnv_vici_node *n, const char *key, uint64_t *sum)
{
	uint64_t v;
	if (hnv_vici_u64(n, key, &v) == 0)
		*sum += v;
}

/* One list-sa event: sections named after connections, each an IKE SA. */
static void on_list_sa(void *arg, const char *event, const struct hnv_vici_msg *m)
{
	(void)event;
	struct {
		const char *conn;
		struct hnv_s2s_status *st;
	} *q = arg;
	for (const struct hnv_vici_node *ike = hnv_vici_msg_root(m)->child; ike; ike = ike->next) {
		if (ike->kind != HNV_VICI_N_SECTION || strcmp(ike->name, q->conn) != 0)
			continue;
		struct hnv_s2s_status *st = q->st;
		const char *state = hnv_vici_str(ike, "state");
		st->ike_sas++;
		/* report the established SA when there is one */
		if (st->ike_sas == 1 || (state && strcmp(state, "ESTABLISHED") == 0)) {
			copy_state(st->ike_state, sizeof(st->ike_state), state);
			uint64_t est = 0;
			if (hnv_vici_u64(ike, "established", &est) == 0)
				st->established_s = est;
		}
		const struct hnv_vici_node *ch =
			hnv_vici_find(ike, "child-sas", HNV_VICI_N_SECTION);
		for (const struct hnv_vici_node *c = ch ? ch->child : NULL; c; c = c->next) {
			if (c->kind != HNV_VICI_N_SECTION)
				continue;
			st->child_sas++;
			if (st->child_sas == 1)
				copy_state(st->child_state, sizeof(st->child_state),
					   hnv_vici_str(c, "state"));
			add_u64(c, "bytes-in", &st->bytes_in);
			add_u64(c, "bytes-out", &st->bytes_out);
			add_u64(c, "packets-in", &st->packets_in);
			add_u64(c, "packets-out", &st->packets_out);
		}
	}
}

int hnv_s2s_status(struct hnv_s2s *s, const char *name, struct hnv_s2s_status *st)
{
	memset(st, 0, sizeof(*st));
	struct tun *t = find_name(s, name);
	if (!t)
		return -ENOENT;
	st->ike_rekeys = t->ike_rekeys;
	st->child_rekeys = t->child_rekeys;
	st->ups = t->ups;
	st->downs = t->downs;
	memcpy(st->reason, t->reason, sizeof(st->reason));
	snprintf(st->ike_state, sizeof(st->ike_state), "DOWN");
	if (!s->cmd)
		return -ENOTCONN;
	struct {
		const char *conn;
		struct hnv_s2s_status *st;
	} q = {t->conn, st};
	struct hnv_vici_buf b;
	struct hnv_vici_msg *m = NULL;
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, "list-sas");
	hnv_vici_kv_str(&b, "noblock", "yes");
	hnv_vici_kv_str(&b, "ike", t->conn);
	int rc = hnv_vici_buf_finish(&b);
	if (!rc)
		rc = hnv_vici_cmd_stream(s->cmd, &b, "list-sa", on_list_sa, &q, &m);
	hnv_vici_buf_free(&b);
	hnv_vici_msg_free(m);
	if (rc) {
		logf_(s, HNV_LOG_ERR, "s2s: list-sas %s: %s; reconnecting", t->conn, strerror(-rc));
		disconnect(s);
		return -ENOTCONN;
	}
	return 0;
}

int hnv_s2s_status_format(const char *name, const struct hnv_s2s_status *st, char *buf, size_t len)
{
	int n = snprintf(buf, len,
			 "%s ike %s child %s ike-sas %u established %llus "
			 "in %llu bytes %llu packets out %llu bytes %llu packets "
			 "rekeys ike %u child %u",
			 name, st->ike_state, st->child_state[0] ? st->child_state : "-",
			 st->ike_sas, (unsigned long long)st->established_s,
			 (unsigned long long)st->bytes_in, (unsigned long long)st->packets_in,
			 (unsigned long long)st->bytes_out, (unsigned long long)st->packets_out,
			 st->ike_rekeys, st->child_rekeys);
	if (n >= 0 && (size_t)n < len && st->reason[0] && strcmp(st->ike_state, "ESTABLISHED"))
		n += snprintf(buf + n, len - (size_t)n, " reason %s", st->reason);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}
