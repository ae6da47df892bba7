/* server.h: hnvgwd's control plane: request parsing, the core operations
 * on the running configuration, and the control socket.
 *
 * Three layers, each usable without the next:
 *
 *  1. hnv_request_parse: a pure function from one request line (mgmt/api.h)
 *     to a typed, completely validated struct hnv_request, or an error
 *     naming the bad field and value. No daemon state; fuzzed by
 *     tests/fuzz/fuzz_api.c.
 *
 *  2. struct hnv_core: the running configuration (model, datapath, store,
 *     pending commit-confirm) and the operations on it. The socket API, the
 *     commit-confirm timer and SIGHUP reload all go through these functions;
 *     there is no second path that changes the configuration. Every change
 *     is validated completely, persisted as a new revision, and only then
 *     swapped in and acknowledged (STYLE.md practice 8).
 *
 *  3. struct hnv_server: the listening Unix socket and its non-blocking
 *     clients, polled by one thread. It authorizes every request with the
 *     peer's credentials (SO_PEERCRED) and dispatches it to the core.
 *
 * Threads: everything here runs on the one control thread of hnvgwd, which
 * must be registered with liburcu-qsbr (the datapath it owns requires it).
 *
 * Errors: functions return 0 or a negative errno; messages for users name
 * the bad value. Messages never contain S2S PSKs.
 */
#ifndef HNV_SERVER_H
#define HNV_SERVER_H

#include "../../lib/hnv_types.h"
#include "../../lib/log.h"
#include "../../lib/source.h"

#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- requests ---- */

enum hnv_op {
	HNV_OP_EXEC,
	HNV_OP_COMMIT_CONFIRM,
	HNV_OP_SHOW,
	HNV_OP_DIFF,
	HNV_OP_ROLLBACK,
	HNV_OP_NEXTHOP,
	HNV_OP_TRACE,
	HNV_OP_S2S, /* {"name": tunnel, "action": "up"|"down"} */
};

#define HNV_EXEC_MAX_LINES 100000 /* lines of one transaction */
#define HNV_CONFIRM_MAX 86400     /* seconds */
#define HNV_SHOW_WHAT_MAX 31      /* bytes of a "what" */

struct hnv_request {
	enum hnv_op op;
	union {
		struct {
			char **lines; /* n pointers into buf; may hold PSKs */
			size_t n;
			char *buf;
			size_t buflen;
			unsigned confirm; /* seconds; 0: no confirm */
		} exec;
		struct {
			char what[HNV_SHOW_WHAT_MAX + 1]; /* [a-z0-9-]+, not yet checked
							   * against the model's list */
			bool secrets;
		} show;
		struct {
			unsigned from, to;
		} diff;
		struct {
			unsigned rev;
		} rollback;
		struct {
			uint32_t vsid; /* within HNV_VSID_MIN..HNV_VSID_MAX */
			bool has_src;
			struct hnv_ip src, dst;
		} nexthop;
		struct {
			unsigned count; /* start a session: 1..64; 0: read one */
			uint64_t session;
			bool has_port;
			char port[HNV_NAME_MAX + 1]; /* a port name or "uplink" */
		} trace;
		struct {
			char name[HNV_NAME_MAX + 1];
			bool up;
		} s2s;
	} u;
};

/* Parses and validates one request line (len bytes, without its '\n'; need
 * not be NUL-terminated). Returns 0 and fills *req (release it with
 * hnv_request_clear), or -EINVAL with a message in err; *req needs no
 * clearing then. Strict: the object must carry "v": HNV_API_VERSION, a known
 * "op", exactly the fields of that op with their JSON types, and nothing
 * after the object. */
int hnv_request_parse(const char *line, size_t len, struct hnv_request *req, char *err,
		      size_t errlen);
/* Frees what the request owns, zeroing exec lines first (PSKs). */
void hnv_request_clear(struct hnv_request *req);
const char *hnv_op_name(enum hnv_op op);
/* True for the ops that change the configuration (root only). */
bool hnv_op_changes(enum hnv_op op);

/* Values of secret options (PSKs) in a config-text line: fills up to max
 * pointers into a copy the caller provides (the line is tokenized in place:
 * pass a writable copy). Returns how many were found. Used to keep secrets
 * out of logs and error messages. */
size_t hnv_line_secrets(char *line, const char **vals, size_t max);

/* ---- core ---- */

struct hnv_core;
struct hnv_fwd;

/* Makes the core prepare and publish every new datapath through the
 * forwarding thread f (datapath/io/fwd.h); NULL detaches (call before
 * hnv_fwd_free). 0 or a negative errno with a message in err. */
int hnv_core_attach_fwd(struct hnv_core *c, struct hnv_fwd *f, char *err, size_t errlen);

/* Opens the store in the state directory (which creates it 0700 and locks
 * it against a second hnvgwd), loads the current config and builds its datapath. A bad
 * stored file is refused with "DIR/hnvgw.conf: line N: ..." in err. A
 * commit-confirm left pending by a previous run is re-armed. */
int hnv_core_open(const char *state_dir, struct hnv_core **out, char *err, size_t errlen);
/* Frees everything; a pending confirm stays persisted for the next run. */
void hnv_core_close(struct hnv_core *c);
unsigned hnv_core_revision(const struct hnv_core *c);

/* The operations. Each returns 0 and a result (the caller owns it) or a
 * negative errno with a message in err; on error nothing changed. */
int hnv_core_exec(struct hnv_core *c, const char *const *lines, size_t n, unsigned confirm,
		  json_object **result, char *err, size_t errlen);
int hnv_core_confirm(struct hnv_core *c, json_object **result, char *err, size_t errlen);
int hnv_core_rollback(struct hnv_core *c, unsigned rev, json_object **result, char *err,
		      size_t errlen);
/* secrets: PSKs in clear; the caller decides who may have them. */
int hnv_core_show(struct hnv_core *c, const char *what, bool secrets, json_object **result,
		  char *err, size_t errlen);
int hnv_core_diff(struct hnv_core *c, unsigned from, unsigned to, json_object **result, char *err,
		  size_t errlen);
/* Live trace on the host edge (root only; see api.h "trace"). */
int hnv_core_trace(struct hnv_core *c, unsigned count, const char *port, uint64_t session,
		   json_object **result, char *err, size_t errlen);
int hnv_core_nexthop(struct hnv_core *c, uint32_t vsid, const struct hnv_ip *src,
		     const struct hnv_ip *dst, json_object **result, char *err, size_t errlen);
/* SIGHUP: re-reads DIR/hnvgw.conf; a changed, valid file becomes a new
 * revision, a bad one is refused and the running config kept. */
int hnv_core_reload(struct hnv_core *c, char *err, size_t errlen);

/* Milliseconds until the pending commit-confirm expires (0: now), or -1. */
int hnv_core_timeout_ms(const struct hnv_core *c);
/* Rolls back an expired commit-confirm (as a new revision) and logs it. */
void hnv_core_tick(struct hnv_core *c);

/* Who sent a request (from SO_PEERCRED). */
struct hnv_peer {
	unsigned uid;
	int pid;
	bool root; /* uid 0: may change the configuration and see secrets */
};

/* Runs one request for a client: root may do everything, others only the
 * read-only ops (and never see secrets). Logs changes and refusals.
 * Returns the reply object ({"v", "ok", "result"|"error"}). */
json_object *hnv_core_handle(struct hnv_core *c, const struct hnv_request *req,
			     const struct hnv_peer *peer);
/* The reply for a request that could not be parsed or was refused early. */
json_object *hnv_reply_error(const char *msg);

/* Called on the control thread after every configuration change that was
 * installed (and once by hnv_core_set_observer itself, for the running
 * model): the gateway role applies the model to the kernel, zebra and
 * charon from here. The model stays the core's; use it only during the
 * call. */
struct hnv_model;
typedef void (*hnv_core_observer)(void *arg, const struct hnv_model *m);
void hnv_core_set_observer(struct hnv_core *c, hnv_core_observer fn, void *arg);
/* A live status table for `show WHAT` (e.g. "gateway", "nat", "zebra"):
 * fn returns the rows (a new json array). Providers are consulted before
 * the model's tables. 0, or -ENOSPC. */
typedef json_object *(*hnv_core_status_fn)(void *arg);
/* `s2s up|down NAME` (op "s2s"): fn initiates or terminates the tunnel's
 * SAs; 0 or a negative errno with a message in err. */
typedef int (*hnv_core_s2s_fn)(void *arg, const char *name, bool up, char *err, size_t errlen);
void hnv_core_set_s2s_ctl(struct hnv_core *c, hnv_core_s2s_fn fn, void *arg);
#define HNV_CORE_MAX_STATUS 8
int hnv_core_add_status(struct hnv_core *c, const char *what, hnv_core_status_fn fn, void *arg);

/* The running model (owned by the core; valid until the next change). */
const struct hnv_model *hnv_core_model(const struct hnv_core *c);

/* With hnvgwd --etcd (mgmt/sync.h), exec goes through the hook first: it
 * returns 1 to let the core run the lines locally as usual, else 0 with
 * *result or a negative errno with err. NULL unhooks. */
typedef int (*hnv_core_exec_hook)(void *arg, const char *const *lines, size_t n,
				  unsigned confirm, json_object **result, char *err,
				  size_t errlen);
void hnv_core_set_exec_hook(struct hnv_core *c, hnv_core_exec_hook fn, void *arg);
/* Validates next completely, persists it as a new revision and swaps it in
 * (what every change does); takes ownership of next. 0 and *rev, or a
 * negative errno with err; on failure nothing changed. */
int hnv_core_install(struct hnv_core *c, struct hnv_model *next, unsigned *rev, char *err,
		     size_t errlen);

/* ---- control socket ---- */

#define HNV_SERVER_MAX_CLIENTS 256
#define HNV_SERVER_OUT_MAX (4 * 1024 * 1024) /* bytes of unsent replies per client */
#define HNV_GROUP "hnvgw"

struct hnv_server;

/* Creates the listening socket at path: creates its directory (0755) if
 * missing, refuses when another daemon answers there, removes a stale
 * socket, binds with mode 0660 and group hnvgw when that group exists. */
int hnv_server_open(const char *path, struct hnv_core *core, struct hnv_server **out, char *err,
		    size_t errlen);
/* Closes every client and the socket, and unlinks it. */
void hnv_server_close(struct hnv_server *s);

/* The event loop: serves clients and the commit-confirm timer until *stop
 * is set. Signals are blocked outside ppoll and delivered with waitmask
 * inside it, so a flag set by a handler is never missed. *reload (SIGHUP)
 * runs hnv_core_reload. The thread is QSBR-offline while it waits. */
int hnv_server_run(struct hnv_server *s, const sigset_t *waitmask, volatile sig_atomic_t *stop,
		   volatile sig_atomic_t *reload);

/* Another event source of the control thread (lib/source.h). */
#define HNV_SERVER_MAX_SOURCES 8
/* 0, or -ENOSPC. The source is copied; its arg must outlive the server. */
int hnv_server_add_source(struct hnv_server *s, const struct hnv_source *src);

#endif
