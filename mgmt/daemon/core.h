/* core.h: hnvgwd's running configuration and the operations on it.
 *
 * struct hnv_core holds the model, its datapath, the store and a pending
 * commit-confirm. The socket API (control.h), the commit-confirm timer,
 * SIGHUP reload and shared policy (sync.h) all go through these functions;
 * there is no second path that changes the configuration. Every change is
 * validated completely on the model, applied to the one running datapath as
 * operations (apply.h; all undone when one fails), persisted as a new
 * revision, and only then acknowledged (STYLE.md practice 8). The datapath
 * is never replaced, so its counters run on across changes.
 *
 * Threads: everything here runs on the one control thread of hnvgwd, which
 * must be registered with liburcu-qsbr (the datapath it owns requires it).
 *
 * Errors: functions return 0 or a negative errno; messages for users name
 * the bad value. Messages never contain S2S PSKs.
 */
#ifndef HNV_CORE_H
#define HNV_CORE_H

#include "../../lib/hnv_types.h"
#include "../api.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hnv_core;
struct hnv_fwd;

/* Attaches the forwarding thread f (datapath/io/fwd.h) to the running
 * datapath: it forwards on it from now on, and every change opens and
 * closes f's TAPs as ports come and go. NULL detaches (call before
 * hnv_fwd_free). 0 or a negative errno with a message in err. */
int hnv_core_attach_fwd(struct hnv_core *c, struct hnv_fwd *f, char *err, size_t errlen);
/* Installs the running model's provider routes in the kernel through p
 * (mgmt/daemon/proutes.h: reconciliation) and from now on every change's;
 * NULL detaches (call before hnv_proutes_free). */
struct hnv_proutes;
void hnv_core_attach_proutes(struct hnv_core *c, struct hnv_proutes *p);

/* Opens the store in the state directory (which creates it 0700 and locks
 * it against a second hnvgwd), loads the current config and builds its
 * datapath. hnvgw.conf edited by hand becomes a new revision once it
 * loads. One that does not load never stops the start (issue 17 finding
 * 6): the last good revision runs instead, hnvgw.conf stays as it is, and
 * the reason and the way out are logged as an error and kept for
 * hnv_core_warning. Fails (with err) only when the store cannot be read or
 * written. A commit-confirm left pending by a previous run is re-armed. */
int hnv_core_open(const char *state_dir, struct hnv_core **out, char *err, size_t errlen);
/* Frees everything; a pending confirm stays persisted for the next run. */
void hnv_core_close(struct hnv_core *c);
unsigned hnv_core_revision(const struct hnv_core *c);

/* The operations. Each returns 0 and a result (the caller owns it) or a
 * negative errno with a message in err; on error nothing changed. The
 * result of exec and rollback, {"rev": N, ...}, also says whether the
 * change was applied (issue 17 finding 13): "applied": true, or false with
 * "not_applied": [{"object", "error"}], what of it the gateway role could
 * not apply (hnv_core_set_reporter); revision N holds it all the same, and
 * the gateway role retries what failed in the kernel. */
int hnv_core_exec(struct hnv_core *c, const char *const *lines, size_t n, unsigned confirm,
		  json_object **result, char *err, size_t errlen);
int hnv_core_confirm(struct hnv_core *c, json_object **result, char *err, size_t errlen);
int hnv_core_rollback(struct hnv_core *c, unsigned rev, json_object **result, char *err,
		      size_t errlen);
/* secrets: PSKs in clear; the caller decides who may have them. f: the
 * rows kept (mgmt/model.h; NULL or empty: all). paged: the page from
 * offset on, as api.h "show" describes (issue 17 finding 7). */
struct hnv_show_filter;
int hnv_core_show(struct hnv_core *c, const char *what, bool secrets,
		  const struct hnv_show_filter *f, bool paged, uint64_t offset,
		  json_object **result, char *err, size_t errlen);
int hnv_core_diff(struct hnv_core *c, unsigned from, unsigned to, bool paged, uint64_t offset,
		  json_object **result, char *err, size_t errlen);
/* Live trace on the host edge (root only; see api.h "trace"). */
int hnv_core_trace(struct hnv_core *c, unsigned count, const char *port, uint64_t session,
		   json_object **result, char *err, size_t errlen);
int hnv_core_nexthop(struct hnv_core *c, uint32_t vsid, const struct hnv_ip *src,
		     const struct hnv_ip *dst, json_object **result, char *err, size_t errlen);
/* SIGHUP: re-reads DIR/hnvgw.conf; a changed, valid file becomes a new
 * revision, a bad one is refused and the running config kept (err says
 * why and how to recover); the file stays, and a start runs the running
 * revision too. */
int hnv_core_reload(struct hnv_core *c, char *err, size_t errlen);
/* Why hnvgwd runs another configuration than DIR/hnvgw.conf holds (it was
 * refused at start or on reload), or NULL. */
const char *hnv_core_warning(const struct hnv_core *c);

/* Milliseconds until hnv_core_tick has work: the pending commit-confirm
 * expires or the datapath's learned addresses are due (at most 1 s). */
int hnv_core_timeout_ms(const struct hnv_core *c);
/* Rolls back an expired commit-confirm (as a new revision) and logs it;
 * once a second applies and ages the datapath's learned addresses
 * (hnv_dp_learn_run, docs/dynamic-learning.md). */
void hnv_core_tick(struct hnv_core *c);
/* hnvgwd --learn-timeout: seconds a learned address lives without traffic
 * (1..86400); 0 or -EINVAL. */
int hnv_core_set_learn_timeout(struct hnv_core *c, unsigned seconds);

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

/* Called on the control thread after every configuration change that was
 * installed (and once by hnv_core_set_observer itself, for the running
 * model): the gateway role applies the model to the kernel, zebra and
 * charon from here. The model stays the core's; use it only during the
 * call. */
struct hnv_model;
typedef void (*hnv_core_observer)(void *arg, const struct hnv_model *m);
void hnv_core_set_observer(struct hnv_core *c, hnv_core_observer fn, void *arg);
/* What the observer could not apply, for the reply to the change (issue
 * 17 finding 13). A change (exec, rollback; also reload and shared policy,
 * which have no reply) calls begin, then note with each of its changes as
 * it applies them (old NULL: an addition, new NULL: a deletion; the
 * commands go when note returns); once it is persisted and the observer
 * ran, rows returns the objects the changes named that the observer could
 * not apply: a new json array of {"object": "KIND NAME", "error": TEXT}
 * (empty when everything was applied), or NULL (out of memory). rows is
 * called only when the observer was. */
struct hnv_conf_cmd;
struct hnv_core_reporter {
	void (*begin)(void *arg);
	void (*note)(void *arg, const struct hnv_conf_cmd *old, const struct hnv_conf_cmd *new);
	json_object *(*rows)(void *arg, const struct hnv_model *m);
	void *arg;
};
/* r (copied) or NULL (none). */
void hnv_core_set_reporter(struct hnv_core *c, const struct hnv_core_reporter *r);
/* A live status table for `show WHAT` (e.g. "gateway", "nat", "zebra"):
 * fn returns the rows (a new json array). Providers are consulted before
 * the model's tables. 0, or -ENOSPC. */
typedef json_object *(*hnv_core_status_fn)(void *arg);
/* `s2s up|down NAME` (op "s2s"): fn initiates or terminates the tunnel's
 * SAs; 0 or a negative errno with a message in err. */
typedef int (*hnv_core_s2s_fn)(void *arg, const char *name, bool up, char *err, size_t errlen);
void hnv_core_set_s2s_ctl(struct hnv_core *c, hnv_core_s2s_fn fn, void *arg);
#define HNV_CORE_MAX_STATUS 16
int hnv_core_add_status(struct hnv_core *c, const char *what, hnv_core_status_fn fn, void *arg);

/* The running model (owned by the core; valid until the next change). */
const struct hnv_model *hnv_core_model(const struct hnv_core *c);
/* The running datapath (control thread), e.g. for its REDIRECT queue. */
struct hnv_dp *hnv_core_dp(struct hnv_core *c);
/* The running model, for a check made as a transaction on it that the
 * caller aborts before it returns to the control loop (model.h: readers see
 * the model unchanged meanwhile, and no copy is made). A transaction on it
 * is never committed by anyone but the core. */
struct hnv_model *hnv_core_model_for_check(struct hnv_core *c);

/* With hnvgwd --etcd (mgmt/daemon/sync.h), exec goes through the hook first: it
 * returns 1 to let the core run the lines locally as usual, else 0 with
 * *result or a negative errno with err. NULL unhooks. */
typedef int (*hnv_core_exec_hook)(void *arg, const char *const *lines, size_t n, unsigned confirm,
				  json_object **result, char *err, size_t errlen);
void hnv_core_set_exec_hook(struct hnv_core *c, hnv_core_exec_hook fn, void *arg);
/* Applies the changes from the running model to next to the running
 * datapath, persists next as a new revision and makes it the running model;
 * takes ownership of next. 0 and *rev, or a negative errno with err; on
 * failure nothing changed. */
int hnv_core_install(struct hnv_core *c, struct hnv_model *next, unsigned *rev, char *err,
		     size_t errlen);
/* One transaction of commands (mgmt/conftext.h), as exec runs lines, for
 * shared policy (mgmt/daemon/sync.h): checked on the model, applied to the
 * running datapath, persisted as a new revision. No exec hook, no
 * commit-confirm. 0 and *rev, or a negative errno with err (never a PSK);
 * on failure nothing changed. */
struct hnv_conf_cmd;
int hnv_core_exec_cmds(struct hnv_core *c, const struct hnv_conf_cmd *cmds, size_t n, unsigned *rev,
		       char *err, size_t errlen);

#endif
