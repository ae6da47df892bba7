/* core.c: hnvgwd's running configuration: transactions, persistence,
 * commit-confirm, and the operations of the API (see core.h). */
#include "core.h"
#include "proutes.h"

#include "../../datapath/dp.h"
#include "../../datapath/io/fwd.h"
#include "../../datapath/policy_read.h"
#include "../../lib/addr.h"
#include "../../lib/clock.h"
#include "../../lib/err.h"
#include "../../lib/file.h"
#include "../../lib/log.h"
#include "../../lib/vec.h"
#include "../conftext.h"
#include "../model.h"
#include "../store.h"
#include "apply.h"
#include "nexthop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-qsbr.h>

#define CONFIRM_FILE "commit-confirm"
#define CONFIRM_RETRY_MS 10000

struct hnv_core {
	char *dir;
	struct hnv_store *store;
	struct hnv_model *model;
	struct hnv_dp *dp;       /* the running datapath, for the daemon's life */
	struct hnv_apply *apply; /* its one config batch: changes go through it */
	struct hnv_fwd *fwd;     /* host edge forwarding, or NULL (hnvgwd without --uplink) */
	hnv_core_observer observer;
	void *observer_arg;
	struct hnv_core_reporter reporter; /* fn NULL: none */
	/* what the observer could not apply of the last change (rows of the
	 * reporter), until exec or rollback puts it in its result */
	json_object *not_applied;
	bool not_applied_unknown; /* the reporter ran out of memory: not "applied" */
	hnv_core_s2s_fn s2s_ctl;
	void *s2s_arg;
	hnv_core_exec_hook exec_hook; /* hnvgwd --etcd */
	void *exec_hook_arg;
	struct {
		const char *what;
		hnv_core_status_fn fn;
		void *arg;
	} status[HNV_CORE_MAX_STATUS];
	size_t n_status;
	unsigned rev;
	/* why hnvgwd runs another configuration than hnvgw.conf holds (a
	 * refused file), "" when it does not (hnv_core_warning) */
	char warning[1024];
	uint64_t probed[HNV_R__COUNT]; /* nexthop's packets, not shown in counters */
	struct {
		bool armed;
		unsigned rev;     /* the revision waiting for confirmation */
		unsigned back;    /* restored unless confirmed; 0: empty config */
		unsigned seconds; /* as asked */
		long deadline_ms; /* CLOCK_MONOTONIC */
	} confirm;
	long learn_next_ms; /* next hnv_dp_learn_run (CLOCK_MONOTONIC) */
};

#define LEARN_PERIOD_MS 1000 /* learned addresses apply and age once a second */

unsigned hnv_core_revision(const struct hnv_core *c)
{
	return c->rev;
}

/* The commit-confirm state survives a restart: DIR/commit-confirm holds the
 * revision waiting, the one to restore and the wall-clock deadline. */
static int confirm_save(struct hnv_core *c, long remaining_ms)
{
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "rev %u\nback %u\ndeadline %lld\n", c->confirm.rev,
			 c->confirm.back, (long long)time(NULL) + (remaining_ms + 999) / 1000);
	/* ".tmp-": the store's temporary prefix, so hnv_store_open removes a
	 * leftover of a crash here too */
	return hnv_write_atomic(c->dir, CONFIRM_FILE, buf, (size_t)n, 0600, ".tmp-");
}

static void confirm_disarm(struct hnv_core *c)
{
	if (!c->confirm.armed)
		return;
	c->confirm.armed = false;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", c->dir, CONFIRM_FILE);
	if (unlink(path) && errno != ENOENT) {
		hnv_log(HNV_LOG_WARNING, "cannot remove %s: %s", path, strerror(errno));
		return;
	}
	int dfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

static void confirm_load(struct hnv_core *c)
{
	char path[PATH_MAX], buf[256];
	snprintf(path, sizeof(path), "%s/%s", c->dir, CONFIRM_FILE);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	unsigned rev, back;
	long long deadline;
	c->confirm.armed = true; /* so that disarm removes the file */
	if (sscanf(buf, "rev %u\nback %u\ndeadline %lld", &rev, &back, &deadline) != 3) {
		hnv_log(HNV_LOG_WARNING, "%s: unreadable commit-confirm state, discarded", path);
		confirm_disarm(c);
		return;
	}
	if (rev != c->rev) {
		hnv_log(HNV_LOG_NOTICE,
			"%s: revision %u no longer current (now %u): commit-confirm state "
			"discarded",
			path, rev, c->rev);
		confirm_disarm(c);
		return;
	}
	long long left = deadline - (long long)time(NULL);
	if (left < 0)
		left = 0;
	c->confirm.rev = rev;
	c->confirm.back = back;
	c->confirm.seconds = (unsigned)left;
	c->confirm.deadline_ms = hnv_mono_ms() + (long)left * 1000;
	hnv_log(HNV_LOG_WARNING,
		"revision %u is still waiting for commit confirm: back to revision %u in %lld s "
		"unless confirmed",
		rev, back, left);
}

/* ---- changes ---- */

#define LINE_FMT_MAX 8192 /* a formatted config line; every valid one is shorter */

/* A transaction as the store takes it (contract 3): the line of each
 * deleted or replaced entry, the line of each added or replacing one
 * (canonical, PSKs in clear). */
struct delta {
	char **del, **add;
	size_t ndel, nadd, capd, capa;
};

static int delta_line(char ***v, size_t *n, size_t *cap, const struct hnv_conf_cmd *c)
{
	char buf[LINE_FMT_MAX];
	int rc = hnv_conf_format(c, true, buf, sizeof(buf));
	if (rc == 0 && HNV_GROW(*v, *cap, *n + 1))
		rc = -ENOMEM;
	if (rc == 0 && !((*v)[*n] = strdup(buf)))
		rc = -ENOMEM;
	if (rc == 0)
		(*n)++;
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

static int delta_change(void *arg, const struct hnv_conf_cmd *old, const struct hnv_conf_cmd *new)
{
	struct delta *d = arg;
	int rc = old ? delta_line(&d->del, &d->ndel, &d->capd, old) : 0;
	return rc || !new ? rc : delta_line(&d->add, &d->nadd, &d->capa, new);
}

static void lines_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		explicit_bzero(v[i], strlen(v[i]));
		free(v[i]);
	}
	free(v);
}

static void delta_free(struct delta *d)
{
	lines_free(d->del, d->ndel);
	lines_free(d->add, d->nadd);
	*d = (struct delta){0};
}

static uint64_t line_hash(const char *l, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)l[i]) * 0x100000001b3ull;
	return h;
}

/* The del lines by hash: slot[i] is index + 1 in d->del, 0 empty. */
struct del_index {
	size_t *slot, mask;
	bool *gone;
};

static int del_index_new(const struct delta *d, struct del_index *x)
{
	size_t size = 16;
	while (size < 2 * d->ndel)
		size *= 2;
	x->mask = size - 1;
	x->slot = calloc(size, sizeof(*x->slot));
	x->gone = calloc(d->ndel + 1, sizeof(*x->gone));
	if (!x->slot || !x->gone)
		return -ENOMEM;
	for (size_t k = 0; k < d->ndel; k++) {
		size_t i = line_hash(d->del[k], strlen(d->del[k])) & x->mask;
		while (x->slot[i])
			i = (i + 1) & x->mask;
		x->slot[i] = k + 1;
	}
	return 0;
}

/* Takes the del line equal to l (len bytes) that comes first, if any. */
static bool del_take(const struct delta *d, struct del_index *x, const char *l, size_t len)
{
	size_t best = 0;
	for (size_t i = line_hash(l, len) & x->mask; x->slot[i]; i = (i + 1) & x->mask) {
		size_t k = x->slot[i] - 1;
		if (!x->gone[k] && (!best || k < best - 1) && strlen(d->del[k]) == len &&
		    memcmp(d->del[k], l, len) == 0)
			best = k + 1;
	}
	if (best)
		x->gone[best - 1] = true;
	return best != 0;
}

/* text (NUL-terminated) without the first line equal to each del line and
 * with the add lines appended: the text hnv_store_commit_delta makes, for a
 * text that holds every del line. malloc'd, or NULL (-ENOMEM, -ENOENT).
 * Linear in the text and the delta. */
static char *text_with_delta(const char *text, const struct delta *d, int *rc)
{
	struct del_index x = {0};
	struct hnv_buf out = {0};
	*rc = del_index_new(d, &x);
	for (const char *l = text; *rc == 0 && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (!del_take(d, &x, l, len)) {
			hnv_buf_append(&out, l, len);
			hnv_buf_puts(&out, "\n");
		}
		l += len + (nl != NULL);
	}
	for (size_t i = 0; *rc == 0 && i < d->ndel; i++)
		if (!x.gone[i])
			*rc = -ENOENT;
	for (size_t i = 0; *rc == 0 && i < d->nadd; i++) {
		hnv_buf_puts(&out, d->add[i]);
		hnv_buf_puts(&out, "\n");
	}
	free(x.slot);
	free(x.gone);
	char *t = *rc == 0 ? hnv_buf_take(&out) : NULL;
	if (*rc == 0 && !t)
		*rc = -ENOMEM;
	hnv_buf_free(&out, true);
	return t;
}

/* Persists a transaction on the running model as a new revision: as a
 * delta, or, when the stored text does not hold a deleted line as the
 * model writes it (an edited file, -ENOENT), as the running model's text
 * with the delta applied, whole. */
static int persist(struct hnv_core *c, const struct delta *d, unsigned *rev)
{
	int rc = hnv_store_commit_delta(c->store, (const char *const *)d->del, d->ndel,
					(const char *const *)d->add, d->nadd, rev);
	if (rc != -ENOENT)
		return rc;
	char *cur = hnv_model_text(c->model, true);
	if (!cur)
		return -ENOMEM;
	char *text = text_with_delta(cur, d, &rc);
	explicit_bzero(cur, strlen(cur));
	free(cur);
	if (!text)
		return rc;
	size_t len = strlen(text);
	rc = hnv_store_commit(c->store, text, len, rev);
	explicit_bzero(text, len);
	free(text);
	return rc;
}

struct run {
	struct hnv_core *c;
	char *err;
	size_t errlen;
};

static int run_one(void *arg, const struct hnv_conf_cmd *old, const struct hnv_conf_cmd *new)
{
	struct run *r = arg;
	int rc = hnv_apply_change(r->c->apply, old, new, r->err, r->errlen);
	if (rc == 0 && r->c->reporter.note)
		r->c->reporter.note(r->c->reporter.arg, old, new);
	return rc;
}

/* The changes of one transaction, however they were made: each calls cb
 * with every change of src in apply order until cb fails. */
typedef int (*changes_each)(const void *src, hnv_apply_diff_cb cb, void *arg);

static int diff_each(const void *src, hnv_apply_diff_cb cb, void *arg)
{
	return hnv_apply_diff_foreach(src, cb, arg);
}

struct txn_changes {
	const struct hnv_model_change *ch;
	size_t n;
};

static int txn_each(const void *src, hnv_apply_diff_cb cb, void *arg)
{
	const struct txn_changes *t = src;
	int rc = 0;
	for (size_t i = 0; i < t->n && rc == 0; i++)
		rc = cb(arg, t->ch[i].old, t->ch[i].new);
	return rc;
}

/* Applies the changes to the running datapath, publishes them and persists
 * them as a new revision; the running model is still the one they start
 * from. On failure nothing changed: what was applied is undone. */
static int apply_persist(struct hnv_core *c, changes_each each, const void *src, unsigned *rev,
			 char *err, size_t errlen)
{
	struct run r = {c, err, errlen};
	struct delta lines = {0};
	hnv_apply_begin(c->apply);
	if (c->reporter.begin)
		c->reporter.begin(c->reporter.arg);
	int rc = each(src, run_one, &r);
	if (rc == 0)
		rc = hnv_apply_publish(c->apply, err, errlen);
	if (rc == 0 && (rc = each(src, delta_change, &lines)))
		hnv_seterr(err, errlen, "out of memory");
	else if (rc == 0 && (rc = persist(c, &lines, rev))) {
		hnv_seterr(err, errlen,
			   "cannot persist the configuration in %s: %s; nothing was changed",
			   c->dir, strerror(-rc));
		hnv_log(HNV_LOG_ERR, "%s", err);
	}
	delta_free(&lines);
	if (rc)
		hnv_apply_undo(c->apply);
	return rc;
}

/* After the running model became the result of a change persisted as rev:
 * the gateway role hears of it when the change touched what it reads, and
 * what of the change it could not apply is kept for the reply (issue 17
 * finding 13). */
static void installed(struct hnv_core *c, unsigned rev)
{
	c->rev = rev;
	json_object_put(c->not_applied);
	c->not_applied = NULL;
	c->not_applied_unknown = false;
	if (!c->observer || !hnv_apply_gateway_touched(c->apply))
		return;
	c->observer(c->observer_arg, c->model);
	c->not_applied_unknown =
		c->reporter.rows && !(c->not_applied = c->reporter.rows(c->reporter.arg, c->model));
	if (c->not_applied_unknown)
		hnv_log(HNV_LOG_ERR,
			"revision %u: out of memory collecting what the gateway "
			"could not apply (see show gateway)",
			rev);
}

/* Applies the changes d from the running model to next, persists next as a
 * new revision and makes it the running model (takes next). On failure
 * nothing changed and next is freed. */
static int install_diff(struct hnv_core *c, const struct hnv_apply_diff *d, struct hnv_model *next,
			unsigned *rev, char *err, size_t errlen)
{
	int rc = apply_persist(c, diff_each, d, rev, err, errlen);
	if (rc) {
		hnv_model_free(next);
		return rc;
	}
	hnv_model_free(c->model);
	c->model = next;
	installed(c, *rev);
	return 0;
}

/* One transaction on the running model, in place (lines, or cmds when
 * lines is NULL): checked on the model, its changes applied to the running
 * datapath and persisted, then committed. On failure nothing changed. */
static int run_txn(struct hnv_core *c, const char *const *lines, const struct hnv_conf_cmd *cmds,
		   size_t n, unsigned *rev, char *err, size_t errlen)
{
	struct hnv_model_txn *t;
	int64_t t0 = hnv_mono_ms();
	int rc = hnv_model_txn_begin(c->model, &t);
	if (rc) {
		hnv_seterr(err, errlen, "cannot begin a transaction: %s", strerror(-rc));
		return rc;
	}
	rc = lines ? hnv_model_txn_lines(t, lines, n, err, errlen)
		   : hnv_model_txn_cmds(t, cmds, n, err, errlen);
	struct txn_changes tc;
	if (rc == 0 && (rc = hnv_model_txn_changes(t, &tc.ch, &tc.n)))
		hnv_seterr(err, errlen, "out of memory");
	int64_t t1 = hnv_mono_ms();
	if (rc == 0)
		rc = apply_persist(c, txn_each, &tc, rev, err, errlen);
	if (rc) {
		hnv_model_txn_abort(t);
		return rc;
	}
	int64_t t2 = hnv_mono_ms();
	hnv_model_txn_commit(t);
	installed(c, *rev);
	/* where a commit's time goes, for operators (docs/gateway.md, Scale) */
	hnv_log(HNV_LOG_INFO,
		"revision %u: %zu command%s in %lld ms: parse and check %lld, datapath and "
		"store %lld, gateway %lld",
		*rev, n, n == 1 ? "" : "s", (long long)(hnv_mono_ms() - t0), (long long)(t1 - t0),
		(long long)(t2 - t1), (long long)(hnv_mono_ms() - t2));
	return 0;
}

/* install_diff of the changes from the running model to next. */
static int install(struct hnv_core *c, struct hnv_model *next, unsigned *rev, char *err,
		   size_t errlen)
{
	struct hnv_apply_diff *d;
	int rc = hnv_apply_diff(c->model, next, &d);
	if (rc) {
		hnv_model_free(next);
		hnv_seterr(err, errlen, "out of memory");
		return rc;
	}
	rc = install_diff(c, d, next, rev, err, errlen);
	hnv_apply_diff_free(d);
	return rc;
}

void hnv_core_set_observer(struct hnv_core *c, hnv_core_observer fn, void *arg)
{
	c->observer = fn;
	c->observer_arg = arg;
	if (fn)
		fn(arg, c->model);
}

void hnv_core_set_reporter(struct hnv_core *c, const struct hnv_core_reporter *r)
{
	c->reporter = r ? *r : (struct hnv_core_reporter){0};
}

void hnv_core_set_s2s_ctl(struct hnv_core *c, hnv_core_s2s_fn fn, void *arg)
{
	c->s2s_ctl = fn;
	c->s2s_arg = arg;
}

int hnv_core_add_status(struct hnv_core *c, const char *what, hnv_core_status_fn fn, void *arg)
{
	if (c->n_status == HNV_CORE_MAX_STATUS)
		return -ENOSPC;
	c->status[c->n_status].what = what;
	c->status[c->n_status].fn = fn;
	c->status[c->n_status++].arg = arg;
	return 0;
}

struct hnv_dp *hnv_core_dp(struct hnv_core *c)
{
	return c->dp;
}

const struct hnv_model *hnv_core_model(const struct hnv_core *c)
{
	return c->model;
}

struct hnv_model *hnv_core_model_for_check(struct hnv_core *c)
{
	return c->model;
}

void hnv_core_set_exec_hook(struct hnv_core *c, hnv_core_exec_hook fn, void *arg)
{
	c->exec_hook = fn;
	c->exec_hook_arg = arg;
}

int hnv_core_install(struct hnv_core *c, struct hnv_model *next, unsigned *rev, char *err,
		     size_t errlen)
{
	return install(c, next, rev, err, errlen);
}

int hnv_core_exec_cmds(struct hnv_core *c, const struct hnv_conf_cmd *cmds, size_t n, unsigned *rev,
		       char *err, size_t errlen)
{
	if (n == 0) {
		hnv_seterr(err, errlen, "empty transaction");
		return -EINVAL;
	}
	return run_txn(c, NULL, cmds, n, rev, err, errlen);
}

/* Text of revision rev (0: the empty config). */
static int revision_text(struct hnv_core *c, unsigned rev, char **text, size_t *len, char *err,
			 size_t errlen)
{
	if (rev == 0) {
		*text = calloc(1, 1);
		*len = 0;
		return *text ? 0 : -ENOMEM;
	}
	int rc = hnv_store_revision(c->store, rev, text, len);
	if (rc == -ENOENT)
		hnv_seterr(err, errlen, "revision %u is not kept (see show revisions)", rev);
	else if (rc)
		hnv_seterr(err, errlen, "cannot read revision %u: %s", rev, strerror(-rc));
	return rc;
}

/* The model of text (len bytes, from the store): 0 with *m, or the
 * model's error with its message in e. text, which may hold PSKs, is wiped
 * and freed either way. */
static int model_of_text(char *text, size_t len, struct hnv_model **m, char *e, size_t elen)
{
	int rc = hnv_model_load(text, len, m, e, elen);
	explicit_bzero(text, len);
	free(text);
	return rc;
}

/* The model of the stored configuration, dir/hnvgw.conf: 0 with *m and its
 * revision in *rev, or a negative errno with "cannot read DIR/hnvgw.conf:
 * ..." or "DIR/hnvgw.conf: <the model's message><tail>" in err. */
static int model_of_store(struct hnv_store *s, const char *dir, const char *tail,
			  struct hnv_model **m, unsigned *rev, char *err, size_t errlen)
{
	char *text, e[512];
	size_t len;
	int rc = hnv_store_load(s, &text, &len, rev);
	if (rc) {
		hnv_seterr(err, errlen, "cannot read %s/hnvgw.conf: %s", dir, strerror(-rc));
		return rc;
	}
	if ((rc = model_of_text(text, len, m, e, sizeof(e))))
		hnv_seterr(err, errlen, "%s/hnvgw.conf: %s%s", dir, e, tail);
	return rc;
}

static void wipe_free(char *t, size_t len)
{
	if (t) {
		explicit_bzero(t, len);
		free(t);
	}
}

/* What an operator does about a refused hnvgw.conf (issue 17 finding 6). */
#define RECOVER_HOW                                                                                \
	"fix the file and send SIGHUP (systemctl reload hnvgwd), or write the running "            \
	"configuration back into it with `hnvgw config rollback %u`"

/* Runs the newest kept revision that loads, because hnvgw.conf (edited,
 * or the current revision rev) did not (why). When that is not the
 * store's current revision (the current one does not load: stored by an
 * hnvgwd before issue 17 finding 6 was fixed), it is committed again as a
 * new revision, after an edit in hnvgw.conf was copied to
 * hnvgw.conf.rejected. Nothing loads: the empty configuration. */
static int open_fallback(struct hnv_core *c, bool edited, const char *edit, size_t edit_len,
			 unsigned rev, const char *why, char *err, size_t errlen)
{
	unsigned *revs = NULL, good = 0;
	size_t n = 0;
	char e[512];
	int rc = hnv_store_revisions(c->store, &revs, &n);
	if (rc) {
		hnv_seterr(err, errlen, "%s/hnvgw.conf: %s; cannot list the revisions: %s", c->dir,
			   why, strerror(-rc));
		return rc;
	}
	for (size_t i = n; i-- > 0 && !c->model;) {
		char *t;
		size_t l;
		if ((revs[i] == rev && !edited) || hnv_store_revision(c->store, revs[i], &t, &l))
			continue;
		if (model_of_text(t, l, &c->model, e, sizeof(e)) == 0)
			good = revs[i];
	}
	free(revs);
	if (!c->model && (rc = hnv_model_load("", 0, &c->model, e, sizeof(e)))) {
		hnv_seterr(err, errlen, "%s/hnvgw.conf: %s; the empty configuration: %s", c->dir,
			   why, e);
		return rc;
	}
	c->rev = good;
	if (good == rev) {
		snprintf(c->warning, sizeof(c->warning),
			 "%s/hnvgw.conf refused: %s; running revision %u, the last good "
			 "configuration, instead; the file stays as it is: " RECOVER_HOW,
			 c->dir, why, good, good);
		hnv_log(HNV_LOG_ERR, "%s", c->warning);
		return 0;
	}
	if (edited &&
	    (rc = hnv_write_atomic(c->dir, "hnvgw.conf.rejected", edit, edit_len, 0600, ".tmp-"))) {
		hnv_seterr(err, errlen,
			   "cannot keep the refused %s/hnvgw.conf as hnvgw.conf.rejected: %s",
			   c->dir, strerror(-rc));
		return rc;
	}
	char *t = NULL;
	size_t l = 0;
	if (good && (rc = hnv_store_revision(c->store, good, &t, &l)) == 0)
		rc = hnv_store_commit(c->store, t, l, &c->rev);
	else if (!good)
		rc = hnv_store_commit(c->store, "", 0, &c->rev);
	wipe_free(t, l);
	if (rc) {
		hnv_seterr(err, errlen, "%s/hnvgw.conf: %s; cannot restore revision %u: %s", c->dir,
			   why, good, strerror(-rc));
		return rc;
	}
	snprintf(c->warning, sizeof(c->warning),
		 "%s/hnvgw.conf refused: %s; its revision %u does not load either: running "
		 "revision %u, the newest that does, restored as revision %u%s",
		 c->dir, why, rev, good, c->rev,
		 edited ? "; the refused file is kept as hnvgw.conf.rejected" : "");
	hnv_log(HNV_LOG_ERR, "%s", c->warning);
	return 0;
}

/* The configuration hnvgwd starts with (issue 17 finding 6): hnvgw.conf
 * when it loads, committed as a new revision first when it was edited by
 * hand; when it does not, the last good revision (open_fallback), so that
 * a file hnvgwd refused never keeps it from starting. 0, or a negative
 * errno with err when the store cannot be read or written. */
static int open_model(struct hnv_core *c, char *err, size_t errlen)
{
	char *text, *cur, e[512];
	size_t len, clen;
	unsigned rev;
	int rc = hnv_store_load(c->store, &text, &len, &rev);
	if (rc) {
		hnv_seterr(err, errlen, "cannot read %s/hnvgw.conf: %s", c->dir, strerror(-rc));
		return rc;
	}
	if ((rc = hnv_store_current(c->store, &cur, &clen, NULL))) {
		wipe_free(text, len);
		hnv_seterr(err, errlen, "cannot read revision %u: %s", rev, strerror(-rc));
		return rc;
	}
	bool edited = len != clen || memcmp(text, cur, len) != 0;
	wipe_free(cur, clen);
	rc = hnv_model_load(text, len, &c->model, e, sizeof(e));
	if (rc == 0 && edited) {
		unsigned nrev;
		if ((rc = hnv_store_commit(c->store, text, len, &nrev))) {
			hnv_seterr(err, errlen,
				   "cannot store %s/hnvgw.conf, edited by hand, as a revision: %s",
				   c->dir, strerror(-rc));
			wipe_free(text, len);
			return rc;
		}
		hnv_log(HNV_LOG_NOTICE, "%s/hnvgw.conf was edited by hand: it is revision %u",
			c->dir, nrev);
		rev = nrev;
	}
	if (rc == 0)
		c->rev = rev;
	else
		rc = open_fallback(c, edited, text, len, rev, e, err, errlen);
	wipe_free(text, len);
	return rc;
}

/* Loads revision rev and installs it as a new revision. */
static int restore(struct hnv_core *c, unsigned rev, unsigned *newrev, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc = revision_text(c, rev, &text, &len, err, errlen);
	if (rc)
		return rc;
	struct hnv_model *m;
	char e[512];
	if ((rc = model_of_text(text, len, &m, e, sizeof(e)))) {
		hnv_seterr(err, errlen, "revision %u: %s", rev, e);
		return rc;
	}
	return install(c, m, newrev, err, errlen);
}

/* The gateways of pools in the model (dels for them). */
struct pool_gws {
	struct hnv_conf_cmd *del;
	size_t n, cap;
	int rc;
};

/* A pool tenant's tunnel: its del goes before its gateway's. */
static int pool_s2s_cb(const struct hnv_conf_cmd *cmd, void *arg)
{
	struct pool_gws *g = arg;
	if (!cmd->u.s2s.pool[0])
		return 0;
	if (HNV_GROW(g->del, g->cap, g->n + 1))
		return g->rc = -ENOMEM;
	struct hnv_conf_cmd *d = &g->del[g->n++];
	memset(d, 0, sizeof(*d));
	d->kind = HNV_CONF_S2S_DEL;
	memcpy(d->u.s2s.name, cmd->u.s2s.name, sizeof(d->u.s2s.name));
	memcpy(d->u.s2s.rdomain, cmd->u.s2s.rdomain, sizeof(d->u.s2s.rdomain));
	memcpy(d->u.s2s.pool, cmd->u.s2s.pool, sizeof(d->u.s2s.pool));
	return 0;
}

static int pool_gw_cb(const struct hnv_conf_cmd *cmd, void *arg)
{
	struct pool_gws *g = arg;
	if (!cmd->u.gateway.pool[0])
		return 0;
	if (HNV_GROW(g->del, g->cap, g->n + 1))
		return g->rc = -ENOMEM;
	struct hnv_conf_cmd *d = &g->del[g->n++];
	memset(d, 0, sizeof(*d));
	d->kind = HNV_CONF_GATEWAY_DEL;
	memcpy(d->u.gateway.rdomain, cmd->u.gateway.rdomain, sizeof(d->u.gateway.rdomain));
	memcpy(d->u.gateway.pool, cmd->u.gateway.pool, sizeof(d->u.gateway.pool));
	return 0;
}

/* A gateway pool's tenant is served only while this member holds it
 * (docs/gateway-pool.md), and at start it holds none: the stored
 * configuration's pool gateways (and their CAs) are left out before
 * anything is applied, as a new revision, so that a member that restarts
 * (or cannot reach etcd) never serves a tenant another member may hold.
 * The sync gives them back when the member holds them again; etcd keeps
 * them meanwhile. 0, or a negative errno with err. */
static int leave_out_pool_gateways(struct hnv_core *c, char *err, size_t errlen)
{
	struct pool_gws g = {0};
	hnv_model_foreach_kind(c->model, HNV_CONF_S2S_ADD, pool_s2s_cb, &g);
	size_t n_s2s = g.n;
	if (!g.rc)
		hnv_model_foreach_kind(c->model, HNV_CONF_GATEWAY_ADD, pool_gw_cb, &g);
	int rc = g.rc;
	if (rc || g.n == 0)
		goto out;
	struct hnv_model_txn *t;
	char e[512];
	if ((rc = hnv_model_txn_begin(c->model, &t)))
		goto out;
	if ((rc = hnv_model_txn_cmds(t, g.del, g.n, e, sizeof(e)))) {
		hnv_model_txn_abort(t);
		hnv_seterr(err, errlen, "cannot leave out the gateway pools' tenants: %s", e);
		goto out;
	}
	hnv_model_txn_commit(t);
	char *text = hnv_model_text(c->model, true);
	if (!text) {
		rc = -ENOMEM;
		goto out;
	}
	size_t len = strlen(text);
	unsigned rev;
	rc = hnv_store_commit(c->store, text, len, &rev);
	wipe_free(text, len);
	if (rc) {
		hnv_seterr(err, errlen, "cannot store revision without the pools' tenants: %s",
			   strerror(-rc));
		goto out;
	}
	size_t n_gw = g.n - n_s2s;
	hnv_log(HNV_LOG_NOTICE,
		"revision %u: the %zu gateway%s (and %zu S2S tunnel%s) of revision %u bound to a "
		"gateway pool left out until this member holds %s again",
		rev, n_gw, n_gw == 1 ? "" : "s", n_s2s, n_s2s == 1 ? "" : "s", c->rev,
		n_gw == 1 ? "it" : "them");
	c->rev = rev;
out:
	if (rc == -ENOMEM)
		hnv_seterr(err, errlen, "out of memory");
	free(g.del);
	return rc;
}

int hnv_core_open(const char *state_dir, struct hnv_core **out, char *err, size_t errlen)
{
	struct hnv_core *c = calloc(1, sizeof(*c));
	if (!c || !(c->dir = strdup(state_dir))) {
		free(c);
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc;
	char e[512];
	/* the store creates the directory and locks it against a second
	 * daemon */
	if ((rc = hnv_store_open(state_dir, &c->store, e, sizeof(e)))) {
		hnv_seterr(err, errlen, "%s", e);
		goto fail;
	}
	if ((rc = open_model(c, err, errlen)) || (rc = leave_out_pool_gateways(c, err, errlen)))
		goto fail;
	if (!(c->dp = hnv_dp_new()) || (rc = hnv_apply_new(c->dp, &c->apply))) {
		rc = -ENOMEM;
		hnv_seterr(err, errlen, "out of memory");
		goto fail;
	}
	if ((rc = hnv_apply_load(c->apply, c->model, e, sizeof(e)))) {
		hnv_seterr(err, errlen, "%s/hnvgw.conf: %s", state_dir, e);
		goto fail;
	}
	const char *first;
	size_t left = hnv_apply_left_out(c->apply, &first);
	if (left && !c->warning[0]) {
		snprintf(c->warning, sizeof(c->warning),
			 "revision %u: %zu setting%s of the stored configuration not applied, "
			 "refused since this version (still stored: delete or change %s): %s%s",
			 c->rev, left, left == 1 ? "" : "s", left == 1 ? "it" : "them", first,
			 left == 1 ? "" : "; the others are in the log");
		hnv_log(HNV_LOG_ERR, "%s", c->warning);
	}
	confirm_load(c);
	*out = c;
	return 0;
fail:
	hnv_core_close(c);
	return rc;
}

void hnv_core_close(struct hnv_core *c)
{
	if (!c)
		return;
	hnv_apply_free(c->apply);
	if (c->dp) {
		urcu_qsbr_synchronize_rcu();
		hnv_dp_free(c->dp);
	}
	hnv_model_free(c->model);
	hnv_store_close(c->store);
	json_object_put(c->not_applied);
	free(c->dir);
	free(c);
}

/* Tells the host edge the device of each --dev port of the running model
 * before it attaches (the datapath does not know devices). */
static int note_dev(const struct hnv_conf_cmd *cmd, void *arg)
{
	if (cmd->kind != HNV_CONF_PORT_ADD || !cmd->u.port.dev[0])
		return 0;
	char err[256];
	int rc = hnv_fwd_port_add(arg, cmd->u.port.name, &cmd->u.port.mac, false, cmd->u.port.dev,
				  err, sizeof(err));
	if (rc)
		hnv_log(HNV_LOG_ERR, "%s", err);
	return rc;
}

int hnv_core_attach_fwd(struct hnv_core *c, struct hnv_fwd *f, char *err, size_t errlen)
{
	int rc = f ? hnv_model_foreach_kind(c->model, HNV_CONF_PORT_ADD, note_dev, f) : 0;
	if (rc) {
		hnv_seterr(err, errlen, "cannot note the ports' devices: %s", strerror(-rc));
		return rc;
	}
	rc = f ? hnv_fwd_attach(f, c->dp, err, errlen) : 0;
	if (rc)
		return rc;
	hnv_apply_set_fwd(c->apply, f);
	c->fwd = f;
	return 0;
}

void hnv_core_attach_proutes(struct hnv_core *c, struct hnv_proutes *p)
{
	if (p) {
		int n = hnv_proutes_reconcile(p, c->model);
		if (n > 0)
			hnv_log(HNV_LOG_WARNING,
				"%d provider route(s) of the configuration could not be installed "
				"(see above)",
				n);
	}
	hnv_apply_set_proutes(c->apply, p);
}

static json_object *rev_result(unsigned rev)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "rev", json_object_new_int64(rev));
	return o;
}

/* The result of a change installed as rev: {"rev", "applied"} and, when
 * the gateway role could not apply all of it, "not_applied" (issue 17
 * finding 13; logged as a warning too). Not knowing (out of memory) is
 * not "applied". */
static json_object *change_result(struct hnv_core *c, unsigned rev)
{
	json_object *o = rev_result(rev), *na = c->not_applied;
	c->not_applied = NULL;
	size_t n = na ? json_object_array_length(na) : 0;
	json_object_object_add(o, "applied",
			       json_object_new_boolean(n == 0 && !c->not_applied_unknown));
	c->not_applied_unknown = false;
	if (n == 0) {
		json_object_put(na);
		return o;
	}
	hnv_log(HNV_LOG_WARNING,
		"revision %u is stored but %zu object%s not applied (see show "
		"gateway)",
		rev, n, n == 1 ? " is" : "s are");
	json_object_object_add(o, "not_applied", na);
	return o;
}

/* "warnings": what the committed lines deserve a warning for
 * (hnv_conf_warning: an S2S tunnel with legacy crypto, a BGP peer without
 * --prefix-in). The commit stands;
 * the CLI prints them and exits 0. */
static void add_warnings(json_object *result, const char *const *lines, size_t n)
{
	json_object *w = NULL;
	for (size_t i = 0; result && i < n; i++) {
		struct hnv_conf_cmd cmd;
		char perr[64], msg[512];
		bool warn = hnv_conf_parse_line(lines[i], &cmd, perr, sizeof(perr)) == 1 &&
			    hnv_conf_warning(&cmd, msg, sizeof(msg));
		explicit_bzero(&cmd, sizeof(cmd)); /* a PSK */
		if (!warn)
			continue;
		if (!w) {
			w = json_object_new_array();
			json_object_object_add(result, "warnings", w);
		}
		json_object_array_add(w, json_object_new_string(msg));
	}
}

/* Without shared policy (no exec hook) a gateway line with --pool is
 * refused: a pool exists only through etcd, and no member would serve it.
 * 0, or -EOPNOTSUPP with err naming the line; other lines are left to the
 * transaction's own checks. */
static int pool_refused(const char *const *lines, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		struct hnv_conf_cmd cmd;
		char msg[256];
		if (hnv_conf_parse_line(lines[i], &cmd, msg, sizeof(msg)) != 1)
			continue;
		bool pool = false;
		if (cmd.kind == HNV_CONF_GATEWAY_ADD || cmd.kind == HNV_CONF_GATEWAY_DEL)
			pool = cmd.u.gateway.pool[0] != '\0';
		else if (cmd.kind == HNV_CONF_GATEWAY_CA || cmd.kind == HNV_CONF_GATEWAY_CA_DEL)
			pool = cmd.u.gateway_ca.pool[0] != '\0';
		else if (cmd.kind == HNV_CONF_S2S_ADD || cmd.kind == HNV_CONF_S2S_DEL)
			pool = cmd.u.s2s.pool[0] != '\0';
		explicit_bzero(&cmd, sizeof(cmd));
		if (pool) {
			hnv_seterr(err, errlen, "line %zu: %s", i + 1, HNV_CONF_POOL_REFUSED);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

int hnv_core_exec(struct hnv_core *c, const char *const *lines, size_t n, unsigned confirm,
		  json_object **result, char *err, size_t errlen)
{
	if (n == 0) {
		hnv_seterr(err, errlen, "empty transaction");
		return -EINVAL;
	}
	if (c->exec_hook) {
		int hrc = c->exec_hook(c->exec_hook_arg, lines, n, confirm, result, err, errlen);
		if (hrc != 1) {
			if (hrc)
				hnv_scrub_secrets(err, errlen, lines, n);
			else
				add_warnings(*result, lines, n);
			return hrc;
		}
	}
	if (!c->exec_hook) {
		int prc = pool_refused(lines, n, err, errlen);
		if (prc)
			return prc;
	}
	unsigned prev = c->rev, rev;
	int rc = run_txn(c, lines, NULL, n, &rev, err, errlen);
	if (rc) {
		hnv_scrub_secrets(err, errlen, lines, n);
		return rc;
	}
	*result = change_result(c, rev);
	add_warnings(*result, lines, n);
	if (confirm) {
		if (!c->confirm.armed)
			c->confirm.back = prev;
		c->confirm.armed = true;
		c->confirm.rev = rev;
		c->confirm.seconds = confirm;
		c->confirm.deadline_ms = hnv_mono_ms() + (long)confirm * 1000;
		int src = confirm_save(c, (long)confirm * 1000);
		if (src)
			hnv_log(HNV_LOG_WARNING,
				"commit confirm of revision %u not persisted (%s): a restart "
				"before the deadline keeps the change",
				rev, strerror(-src));
		hnv_log(HNV_LOG_NOTICE,
			"revision %u waits for commit confirm: back to revision %u in %u s "
			"unless confirmed",
			rev, c->confirm.back, confirm);
		json_object_object_add(*result, "confirm", json_object_new_int64(confirm));
		json_object_object_add(*result, "rollback_to",
				       json_object_new_int64(c->confirm.back));
	} else if (c->confirm.armed) {
		hnv_log(HNV_LOG_NOTICE, "revision %u confirmed by the commit of revision %u",
			c->confirm.rev, rev);
		confirm_disarm(c);
	}
	return 0;
}

int hnv_core_confirm(struct hnv_core *c, json_object **result, char *err, size_t errlen)
{
	if (!c->confirm.armed) {
		hnv_seterr(err, errlen, "no commit is waiting for confirmation");
		return -ENOENT;
	}
	hnv_log(HNV_LOG_NOTICE, "revision %u confirmed", c->confirm.rev);
	*result = rev_result(c->confirm.rev);
	confirm_disarm(c);
	return 0;
}

int hnv_core_rollback(struct hnv_core *c, unsigned rev, json_object **result, char *err,
		      size_t errlen)
{
	unsigned newrev;
	int rc = restore(c, rev, &newrev, err, errlen);
	if (rc)
		return rc;
	if (c->confirm.armed) {
		hnv_log(HNV_LOG_NOTICE, "commit confirm of revision %u ended by rollback",
			c->confirm.rev);
		confirm_disarm(c);
	}
	*result = change_result(c, newrev);
	json_object_object_add(*result, "restored", json_object_new_int64(rev));
	return 0;
}

/* Per-port I/O counters, in the rows of show counters: "PORT.COUNTER";
 * with the fast path a port's row also has each tier's share, as the
 * reason rows: fast_path (its tc programs) and engine (the C engine's
 * I/O: punts, ARP/ND/DHCP, hnvgwd's TAPs). */
static void port_counter_row(const char *port, const char *counter, uint64_t value,
			     uint64_t fast_path, bool tiers, bool is_error, void *arg)
{
	char name[HNV_NAME_MAX + 32];
	snprintf(name, sizeof(name), "%s.%s", port, counter);
	json_object *r = json_object_new_object();
	json_object_object_add(r, "counter", json_object_new_string(name));
	json_object_object_add(r, "value", json_object_new_uint64(value));
	if (tiers) {
		json_object_object_add(r, "fast_path", json_object_new_uint64(fast_path));
		json_object_object_add(
			r, "engine",
			json_object_new_uint64(value >= fast_path ? value - fast_path : 0));
	}
	json_object_object_add(r, "drop", json_object_new_boolean(is_error));
	json_object_object_add(r, "description",
			       json_object_new_string("I/O counter of a host-edge port"));
	json_object_array_add((json_object *)arg, r);
}

/* The datapath's counters, both tiers summed in value; with the kernel
 * fast path also each tier's share: fast_path (its tc programs) and
 * engine (the C engine: frames of the slow path and of hnvgwd's TAPs). */
static json_object *counter_rows(struct hnv_core *c)
{
	uint64_t cnt[HNV_R__COUNT], fp[HNV_R__COUNT];
	hnv_dp_counters(c->dp, cnt);
	bool tiers = c->fwd && hnv_fwd_fp_counters(c->fwd, fp);
	json_object *rows = json_object_new_array();
	for (unsigned i = 0; i < HNV_R__COUNT; i++) {
		json_object *r = json_object_new_object();
		uint64_t v = cnt[i] - c->probed[i];
		json_object_object_add(r, "counter", json_object_new_string(hnv_reason_name(i)));
		json_object_object_add(r, "value", json_object_new_uint64(v));
		if (tiers) {
			json_object_object_add(r, "fast_path", json_object_new_uint64(fp[i]));
			json_object_object_add(r, "engine",
					       json_object_new_uint64(v >= fp[i] ? v - fp[i] : 0));
		}
		json_object_object_add(r, "drop", json_object_new_boolean(hnv_reason_is_drop(i)));
		json_object_object_add(r, "description",
				       json_object_new_string(hnv_reason_text(i)));
		json_object_array_add(rows, r);
	}
	if (c->fwd)
		hnv_fwd_stats_tiers(c->fwd, port_counter_row, rows);
	/* dynamic IP address learning (docs/dynamic-learning.md) */
	struct hnv_dp_learn_stats ls;
	hnv_dp_learn_stats(c->dp, &ls);
	const struct {
		const char *name;
		uint64_t v;
		bool err;
		const char *text;
	} lrows[] = {
		{"learn.learned", ls.learned, false, "addresses learned (Type Dynamic records)"},
		{"learn.moved", ls.moved, false, "learned addresses that moved to another MAC/PA"},
		{"learn.expired", ls.expired, false, "learned addresses aged out"},
		{"learn.refused", ls.refused, true,
		 "not learned: a configured record holds the address"},
		{"learn.full", ls.full, true, "not learned: the learned-record limit was reached"},
		{"learn.lost", ls.lost, true, "not learned: the learning queue was full"},
	};
	for (size_t i = 0; i < sizeof(lrows) / sizeof(lrows[0]); i++) {
		json_object *r = json_object_new_object();
		json_object_object_add(r, "counter", json_object_new_string(lrows[i].name));
		json_object_object_add(r, "value", json_object_new_uint64(lrows[i].v));
		json_object_object_add(r, "drop", json_object_new_boolean(lrows[i].err));
		json_object_object_add(r, "description", json_object_new_string(lrows[i].text));
		json_object_array_add(rows, r);
	}
	return rows;
}

/* show lookup: the records the datapath learned, after the configured
 * ones, as Type Dynamic (datapath state, not config: they are in no
 * revision and do not survive a restart). Pages (api.h "offset") of
 * learned rows have offsets from LEARNED_OFFSET on: the index among the
 * learned rows that match the filter. */
#define LEARNED_OFFSET (1ull << 40)
static void annotate_redirect(void *arg, json_object *r);

struct learned_show {
	struct hnv_dp *dp; /* the rows' RedirectedTo/Since (annotate_redirect) */
	const struct hnv_policy *pol;
	const struct hnv_show_filter *f;
	json_object *rows;
	size_t skip, index;  /* matching rows to skip; matching rows seen */
	size_t used, budget; /* bytes of JSON in rows, at most */
	bool more;           /* stopped at index - 1 for lack of room */
};

static size_t json_len_of(json_object *o)
{
	return strlen(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

static int learned_row(const struct hnv_rec *r, void *arg)
{
	struct learned_show *ls = arg;
	const struct hnv_show_filter *f = ls->f;
	if (f &&
	    ((f->has_vsid && f->vsid != r->vsid) || (f->has_ca && !hnv_ip_eq(&f->ca, &r->ca)) ||
	     (f->has_pa && !hnv_ip_eq(&f->pa, &r->pa))))
		return 0;
	if (ls->index++ < ls->skip)
		return 0;
	struct hnv_lookup_spec s;
	hnv_policy_rec_spec(ls->pol, r, &s);
	char ca[INET6_ADDRSTRLEN], pa[INET6_ADDRSTRLEN], mac[13], cid[40] = "";
	hnv_fmt_ip(&s.ca, ca, sizeof(ca));
	hnv_fmt_ip(&s.pa, pa, sizeof(pa));
	snprintf(mac, sizeof(mac), "%02X%02X%02X%02X%02X%02X", s.mac.b[0], s.mac.b[1], s.mac.b[2],
		 s.mac.b[3], s.mac.b[4], s.mac.b[5]);
	if (s.has_customer_id)
		hnv_fmt_guid(&s.customer_id, cid, sizeof(cid));
	json_object *o = json_object_new_object();
	json_object_object_add(o, "CustomerAddress", json_object_new_string(ca));
	json_object_object_add(o, "VirtualSubnetID", json_object_new_int64(s.vsid));
	json_object_object_add(o, "MACAddress", json_object_new_string(mac));
	json_object_object_add(o, "ProviderAddress", json_object_new_string(pa));
	json_object_object_add(o, "CustomerID", json_object_new_string(cid));
	json_object_object_add(o, "Context", json_object_new_string(s.context));
	json_object_object_add(o, "Rule", json_object_new_string("TranslationMethodEncap"));
	json_object_object_add(o, "VMName", json_object_new_string(s.vm_name));
	json_object_object_add(o, "UseVmMACAddress", json_object_new_boolean(false));
	json_object_object_add(o, "Type", json_object_new_string("Dynamic"));
	annotate_redirect(ls->dp, o);
	size_t n = json_len_of(o) + 1;
	if (ls->used && ls->used + n > ls->budget) {
		json_object_put(o);
		ls->more = true;
		return 1;
	}
	ls->used += n;
	json_object_array_add(ls->rows, o);
	return 0;
}

/* Applies what the forwarding threads learned and ages learned records,
 * once a LEARN_PERIOD_MS. */
static void learn_tick(struct hnv_core *c)
{
	long now = hnv_mono_ms();
	if (!c->dp || now < c->learn_next_ms)
		return;
	c->learn_next_ms = now + LEARN_PERIOD_MS;
	int n = hnv_dp_learn_run(c->dp);
	if (n > 0)
		hnv_log(HNV_LOG_DEBUG, "learning: %d learned records added, moved or aged out", n);
}

int hnv_core_set_learn_timeout(struct hnv_core *c, unsigned seconds)
{
	return hnv_dp_set_learn_timeout(c->dp, seconds);
}

/* ---- pages of shows (issue 17 finding 7; api.h "offset") ---- */

/* The bytes of s (len bytes) as a JSON string holds them. */
static size_t json_len(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		n += ch == '"' || ch == '\\' ? 2 : ch < 0x20 || ch == 0x7f ? 6 : 1;
	}
	return n;
}

/* The page of text from line offset on: as many whole lines as fit in
 * HNV_API_PAGE_BYTES (at least one), as {"text"}; *next as in api.h. */
static json_object *text_page(const char *text, uint64_t offset, uint64_t *next)
{
	const char *p = text;
	for (uint64_t k = 0; k < offset && *p; k++) {
		const char *nl = strchr(p, '\n');
		p = nl ? nl + 1 : p + strlen(p);
	}
	const char *end = p;
	size_t used = 0;
	uint64_t line = offset;
	*next = 0;
	while (*end) {
		const char *nl = strchr(end, '\n');
		size_t len = nl ? (size_t)(nl - end) + 1 : strlen(end);
		size_t n = json_len(end, len);
		if (used && used + n > HNV_API_PAGE_BYTES) {
			*next = line;
			break;
		}
		used += n;
		end += len;
		line++;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "text", json_object_new_string_len(p, (int)(end - p)));
	return o;
}

/* The rows of a small table (counters, revisions, status) from offset on,
 * all of them on one page; takes rows. */
static json_object *rows_page(json_object *rows, uint64_t offset)
{
	json_object *o = json_object_new_object(), *page = json_object_new_array();
	size_t n = json_object_array_length(rows);
	for (size_t i = offset < n ? (size_t)offset : n; i < n; i++)
		json_object_array_add(page, json_object_get(json_object_array_get_idx(rows, i)));
	json_object_put(rows);
	json_object_object_add(o, "rows", page);
	return o;
}

/* A page result: its "rev", and "next" unless it is the last. */
static json_object *page_done(struct hnv_core *c, json_object *o, uint64_t next)
{
	json_object_object_add(o, "rev", json_object_new_int64(c->rev));
	if (next)
		json_object_object_add(o, "next", json_object_new_int64((int64_t)next));
	return o;
}

#define TOO_LARGE                                                                                  \
	"show %s is larger than the protocol's %d bytes per line: ask for it in pages "            \
	"(\"offset\", mgmt/api.h), as hnvgw does"

/* show lookup: each row says whether the datapath sends its CA elsewhere
 * than configured because of an MS-NVGREE REDIRECT (RedirectedTo: the PA
 * used now, RedirectedSince: UTC), "" when not. The configured record is
 * ProviderAddress as before. A row hook (model.h hnv_show_row_fn): the
 * page is measured with the two fields. arg: the datapath (NULL: none). */
static void annotate_redirect(void *arg, json_object *r)
{
	struct hnv_dp *dp = arg;
	json_object *ca_o, *vsid_o;
	char to[64] = "", since[32] = "";
	struct hnv_ip ca;
	if (dp && json_object_object_get_ex(r, "CustomerAddress", &ca_o) &&
	    json_object_object_get_ex(r, "VirtualSubnetID", &vsid_o) &&
	    hnv_parse_ip(json_object_get_string(ca_o), &ca) == 0) {
		uint32_t vsid = (uint32_t)json_object_get_int64(vsid_o);
		const struct hnv_policy *pol = hnv_dp_policy(dp);
		const struct hnv_rec *rec =
			hnv_policy_rec_by_ca(pol, hnv_hash_ca(vsid, &ca), vsid, &ca);
		struct hnv_ip cfg;
		int64_t at;
		if (rec && hnv_policy_redirect_get(pol, rec, &cfg, &at)) {
			hnv_fmt_ip(&rec->pa, to, sizeof(to));
			time_t t = (time_t)at;
			struct tm tm;
			if (gmtime_r(&t, &tm))
				strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
	}
	json_object_object_add(r, "RedirectedTo", json_object_new_string(to));
	json_object_object_add(r, "RedirectedSince", json_object_new_string(since));
}

static json_object *wipe_text_result(char *text, bool paged, uint64_t offset, uint64_t *next)
{
	json_object *r = paged ? text_page(text, offset, next) : json_object_new_string(text);
	explicit_bzero(text, strlen(text));
	free(text);
	return r;
}

int hnv_core_show(struct hnv_core *c, const char *what, bool secrets,
		  const struct hnv_show_filter *f, bool paged, uint64_t offset,
		  json_object **result, char *err, size_t errlen)
{
	bool filtered = f && (f->has_vsid || f->has_ca || f->has_pa);
	json_object *rows = NULL;
	uint64_t next = 0;
	if (strcmp(what, "config") == 0) {
		if (filtered) {
			hnv_seterr(err, errlen, "show config takes no filter (vsid, ca, pa)");
			return -EINVAL;
		}
		char *text = hnv_model_text(c->model, secrets);
		if (!text) {
			hnv_seterr(err, errlen, "out of memory");
			return -ENOMEM;
		}
		if (!paged && json_len(text, strlen(text)) > HNV_API_MAX_LINE) {
			explicit_bzero(text, strlen(text));
			free(text);
			hnv_seterr(err, errlen, TOO_LARGE, what, HNV_API_MAX_LINE);
			return -EFBIG;
		}
		*result = wipe_text_result(text, paged, offset, &next);
		if (paged)
			page_done(c, *result, next);
		return 0;
	}
	if (strcmp(what, "counters") == 0) {
		rows = counter_rows(c);
	} else if (strcmp(what, "revisions") == 0) {
		unsigned *revs;
		size_t n;
		int rc = hnv_store_revisions(c->store, &revs, &n);
		if (rc) {
			hnv_seterr(err, errlen, "cannot list revisions: %s", strerror(-rc));
			return rc;
		}
		rows = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			json_object *r = json_object_new_object();
			json_object_object_add(r, "rev", json_object_new_int64(revs[i]));
			json_object_object_add(r, "current",
					       json_object_new_boolean(revs[i] == c->rev));
			json_object_array_add(rows, r);
		}
		free(revs);
	} else {
		for (size_t i = 0; i < c->n_status && !rows; i++)
			if (strcmp(what, c->status[i].what) == 0) {
				rows = c->status[i].fn(c->status[i].arg);
				if (rows == NULL) {
					hnv_seterr(err, errlen, "show %s: out of memory", what);
					return -ENOMEM;
				}
			}
	}
	if (rows) {
		if (filtered) {
			json_object_put(rows);
			hnv_seterr(err, errlen, "show %s takes no filter (vsid, ca, pa)", what);
			return -EINVAL;
		}
		*result = paged ? page_done(c, rows_page(rows, offset), 0) : rows;
		return 0;
	}
	/* unpaged: one page of a line at most, so that no request makes the
	 * daemon build more than that */
	size_t nx = 0;
	bool lookup = strcmp(what, "lookup") == 0, learned_only = false;
	int rc;
	if (lookup && paged && offset >= LEARNED_OFFSET) {
		learned_only = true; /* the configured rows were on earlier pages */
		rows = json_object_new_array();
		rc = rows ? 0 : -ENOMEM;
	} else {
		rc = hnv_model_show_page(c->model, what, secrets, filtered ? f : NULL,
					 paged ? (size_t)offset : 0,
					 paged ? HNV_API_PAGE_BYTES : HNV_API_MAX_LINE - 64,
					 lookup ? annotate_redirect : NULL, c->dp, &rows, &nx);
	}
	if (rc == 0 && !paged && nx) {
		json_object_put(rows);
		hnv_seterr(err, errlen, TOO_LARGE, what, HNV_API_MAX_LINE);
		return -EFBIG;
	}
	if (rc == -EINVAL)
		hnv_seterr(err, errlen, "unknown show target \"%s\"", what);
	else if (rc == -ENOTSUP)
		hnv_seterr(err, errlen,
			   "show %s takes no such filter (vsid: lookup, ports, routes, vsubnets, "
			   "pools; ca: lookup, ports; pa: lookup)",
			   what);
	else if (rc)
		hnv_seterr(err, errlen, "show %s: %s", what, strerror(-rc));
	if (rc)
		return rc;
	if (lookup) {
		bool more = false;
		if (nx == 0) {
			struct learned_show ls = {
				.dp = c->dp,
				.pol = hnv_dp_policy(c->dp),
				.f = filtered ? f : NULL,
				.rows = rows,
				.skip = learned_only ? (size_t)(offset - LEARNED_OFFSET) : 0,
				.used = learned_only ? 0 : json_len_of(rows),
				.budget = paged ? HNV_API_PAGE_BYTES : HNV_API_MAX_LINE - 64,
			};
			hnv_policy_learned_foreach(ls.pol, learned_row, &ls);
			more = ls.more;
			if (ls.more)
				nx = (size_t)(LEARNED_OFFSET + ls.index - 1);
		}
		/* the learned rows may carry an unpaged reply past the line */
		if (!paged && (more || json_len_of(rows) > HNV_API_MAX_LINE - 64)) {
			json_object_put(rows);
			hnv_seterr(err, errlen, TOO_LARGE, what, HNV_API_MAX_LINE);
			return -EFBIG;
		}
	}
	if (!paged) {
		*result = rows;
		return 0;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "rows", rows);
	*result = page_done(c, o, nx);
	return 0;
}

int hnv_core_diff(struct hnv_core *c, unsigned from, unsigned to, bool paged, uint64_t offset,
		  json_object **result, char *err, size_t errlen)
{
	char *text;
	size_t len;
	unsigned revs[2] = {from, to};
	for (int i = 0; i < 2; i++) {
		int rc = revision_text(c, revs[i], &text, &len, err, errlen);
		if (rc)
			return rc;
		explicit_bzero(text, len);
		free(text);
	}
	char *out;
	int rc = hnv_store_diff(c->store, from, to, &out);
	if (rc) {
		hnv_seterr(err, errlen, "diff of revisions %u and %u: %s", from, to, strerror(-rc));
		return rc;
	}
	uint64_t next = 0;
	*result = wipe_text_result(out, paged, offset, &next);
	if (paged)
		page_done(c, *result, next);
	return 0;
}

/* A decision of the fast path's programs: tier "fast path", its action
 * (pass: left to the host or the TAP; punt: handed to the engine, whose own
 * record follows; drop; redirect: forwarded to egress), reason, VSID. */
static json_object *trace_row_fp(unsigned idx, const struct hnv_fwd_trace_rec *r)
{
	static const char *const act[] = {"pass", "punt", "drop", "forward"};
	json_object *o = json_object_new_object();
	json_object_object_add(o, "packet", json_object_new_int((int)idx));
	json_object_object_add(o, "tier", json_object_new_string("fast path"));
	json_object_object_add(o, "ingress", json_object_new_string(r->ingress));
	json_object_object_add(
		o, "verdict",
		json_object_new_string(r->fp_action < 4 ? act[r->fp_action] : "unknown"));
	if (r->egress[0])
		json_object_object_add(o, "egress", json_object_new_string(r->egress));
	json_object_object_add(o, "vsid", json_object_new_int64(r->vsid));
	if (r->reason < HNV_R__COUNT)
		json_object_object_add(o, "counter",
				       json_object_new_string(hnv_reason_name(r->reason)));
	return o;
}

/* One record in the format of hnvgw-dp replay --trace. */
static json_object *trace_row(unsigned idx, const struct hnv_fwd_trace_rec *r)
{
	if (r->fast_path)
		return trace_row_fp(idx, r);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "packet", json_object_new_int((int)idx));
	json_object_object_add(o, "tier", json_object_new_string("engine"));
	json_object_object_add(o, "ingress", json_object_new_string(r->ingress));
	json_object *st = json_object_new_array();
	for (unsigned i = 0; i < r->trace.n && i < HNV_TRACE_STEPS; i++) {
		json_object *x = json_object_new_object();
		json_object_object_add(
			x, "stage", json_object_new_string(hnv_stage_name(r->trace.step[i].stage)));
		json_object_object_add(x, "decision",
				       json_object_new_string(r->trace.step[i].text));
		json_object_array_add(st, x);
	}
	json_object_object_add(o, "stages", st);
	bool drop = hnv_reason_is_drop(r->reason);
	json_object_object_add(o, "verdict", json_object_new_string(drop ? "drop" : "forward"));
	if (!drop)
		json_object_object_add(o, "egress", json_object_new_string(r->egress));
	json_object_object_add(o, "vsid", json_object_new_int64(r->vsid));
	json_object_object_add(o, "counter", json_object_new_string(hnv_reason_name(r->reason)));
	return o;
}

int hnv_core_trace(struct hnv_core *c, unsigned count, const char *port, uint64_t session,
		   json_object **result, char *err, size_t errlen)
{
	if (!c->fwd) {
		hnv_seterr(err, errlen,
			   "trace needs a host edge: this hnvgwd runs without --uplink");
		return -EOPNOTSUPP;
	}
	json_object *o;
	if (count) {
		uint64_t id;
		int rc = hnv_fwd_trace_start(c->fwd, count, port, &id, err, errlen);
		if (rc)
			return rc;
		o = json_object_new_object();
		json_object_object_add(o, "session", json_object_new_int64((int64_t)id));
		json_object_object_add(o, "count", json_object_new_int((int)count));
		*result = o;
		return 0;
	}
	const struct hnv_fwd_trace_rec *recs;
	unsigned n;
	if (hnv_fwd_trace_read(c->fwd, session, &recs, &n)) {
		hnv_seterr(err, errlen,
			   "trace session %llu is not the current one (another trace "
			   "started since)",
			   (unsigned long long)session);
		return -ESTALE;
	}
	json_object *rows = json_object_new_array();
	for (unsigned i = 0; i < n; i++)
		json_object_array_add(rows, trace_row(i, &recs[i]));
	o = json_object_new_object();
	/* the fast path's decisions, a list of their own (clients print each
	 * list's new records by position) */
	if (hnv_fwd_fp(c->fwd) && hnv_fwd_trace_read_fp(c->fwd, session, &recs, &n) == 0) {
		json_object *fp = json_object_new_array();
		for (unsigned i = 0; i < n; i++)
			json_object_array_add(fp, trace_row(i, &recs[i]));
		json_object_object_add(o, "fast_path", fp);
	}
	json_object_object_add(o, "session", json_object_new_int64((int64_t)session));
	json_object_object_add(o, "records", rows);
	*result = o;
	return 0;
}

int hnv_core_nexthop(struct hnv_core *c, uint32_t vsid, const struct hnv_ip *src,
		     const struct hnv_ip *dst, json_object **result, char *err, size_t errlen)
{
	return hnv_nexthop(c->dp, c->fwd == NULL, vsid, src, dst, result, c->probed, err, errlen);
}

int hnv_core_reload(struct hnv_core *c, char *err, size_t errlen)
{
	unsigned rev;
	struct hnv_model *m;
	char tail[256];
	/* the file stays; the next start runs the running revision too
	 * (open_model; issue 17 finding 6) */
	snprintf(tail, sizeof(tail),
		 "; running configuration (revision %u) kept, also at the next start; " RECOVER_HOW,
		 c->rev, c->rev);
	int rc = model_of_store(c->store, c->dir, tail, &m, &rev, err, errlen);
	if (rc) {
		snprintf(c->warning, sizeof(c->warning), "reload refused: %s", err);
		return rc;
	}
	c->warning[0] = '\0';
	struct hnv_apply_diff *d;
	if ((rc = hnv_apply_diff(c->model, m, &d))) {
		hnv_model_free(m);
		hnv_seterr(err, errlen, "out of memory");
		return rc;
	}
	if (hnv_apply_diff_count(d) == 0) {
		hnv_apply_diff_free(d);
		hnv_model_free(m);
		hnv_log(HNV_LOG_INFO, "reload: %s/hnvgw.conf unchanged", c->dir);
		return 0;
	}
	rc = install_diff(c, d, m, &rev, err, errlen);
	hnv_apply_diff_free(d);
	if (rc)
		return rc;
	confirm_disarm(c);
	hnv_log(HNV_LOG_NOTICE, "reload: %s/hnvgw.conf applied as revision %u", c->dir, rev);
	return 0;
}

const char *hnv_core_warning(const struct hnv_core *c)
{
	return c->warning[0] ? c->warning : NULL;
}

static int confirm_timeout_ms(const struct hnv_core *c)
{
	if (!c->confirm.armed)
		return -1;
	long left = c->confirm.deadline_ms - hnv_mono_ms();
	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

int hnv_core_timeout_ms(const struct hnv_core *c)
{
	int t = confirm_timeout_ms(c);
	long left = c->learn_next_ms - hnv_mono_ms();
	int l = left <= 0 ? 0 : left > LEARN_PERIOD_MS ? LEARN_PERIOD_MS : (int)left;
	return t < 0 || l < t ? l : t;
}

void hnv_core_tick(struct hnv_core *c)
{
	learn_tick(c);
	if (!c->confirm.armed || confirm_timeout_ms(c) > 0)
		return;
	char err[512];
	unsigned newrev, waiting = c->confirm.rev, back = c->confirm.back;
	int rc = restore(c, back, &newrev, err, sizeof(err));
	if (rc) {
		hnv_log(HNV_LOG_ERR,
			"commit confirm of revision %u timed out but rolling back to revision "
			"%u failed: %s; retrying in %d s",
			waiting, back, err, CONFIRM_RETRY_MS / 1000);
		c->confirm.deadline_ms = hnv_mono_ms() + CONFIRM_RETRY_MS;
		return;
	}
	hnv_log(HNV_LOG_WARNING,
		"revision %u was not confirmed within %u s: rolled back to revision %u "
		"(now revision %u)",
		waiting, c->confirm.seconds, back, newrev);
	confirm_disarm(c);
}

static struct hnv_ratelimit rl_refused, rl_denied;

#define LOG_LINES_MAX 100 /* lines of a transaction in the debug log */

static void log_change(const struct hnv_request *req, const struct hnv_peer *peer, int rc,
		       const char *err, const json_object *res)
{
	const char *op = hnv_op_name(req->op);
	if (rc) {
		hnv_log_rl(&rl_refused, HNV_LOG_NOTICE, "%s by uid %u pid %d refused: %s", op,
			   peer->uid, peer->pid, err);
		return;
	}
	json_object *r;
	long long rev = json_object_object_get_ex(res, "rev", &r) ? json_object_get_int64(r) : 0;
	if (req->op != HNV_OP_EXEC) {
		hnv_log(HNV_LOG_NOTICE, "%s by uid %u pid %d: revision %lld", op, peer->uid,
			peer->pid, rev);
		return;
	}
	const char *const *lines = (const char *const *)req->u.exec.lines;
	size_t n = req->u.exec.n;
	hnv_log(HNV_LOG_NOTICE, "exec by uid %u pid %d: %zu line%s: committed revision %lld",
		peer->uid, peer->pid, n, n == 1 ? "" : "s", rev);
	/* each line as hnv_conf_mask_line shows it: the parser, not a prefix
	 * test, finds the PSK (issue 17 finding 3: a quoted "s2s" logged
	 * it) */
	char shown[HNV_CONF_MASKED_MAX];
	for (size_t i = 0; i < n && i < LOG_LINES_MAX; i++) {
		if (hnv_conf_mask_line(lines[i], strlen(lines[i]), shown, sizeof(shown)) < 0)
			snprintf(shown, sizeof(shown), "%s", HNV_CONF_MASK_HIDDEN);
		hnv_log(HNV_LOG_DEBUG, "  %s", shown);
	}
	if (n > LOG_LINES_MAX)
		hnv_log(HNV_LOG_DEBUG, "  (and %zu more lines)", n - LOG_LINES_MAX);
}

json_object *hnv_core_handle(struct hnv_core *c, const struct hnv_request *req,
			     const struct hnv_peer *peer)
{
	char err[1024] = "";
	json_object *res = NULL;
	int rc;
	if (hnv_op_changes(req->op) && !peer->root) {
		hnv_seterr(err, sizeof(err),
			   "permission denied: \"%s\" changes the configuration and needs root; "
			   "uid %u may only use show, diff and nexthop",
			   hnv_op_name(req->op), peer->uid);
		hnv_log_rl(&rl_denied, HNV_LOG_NOTICE, "%s by uid %u pid %d: permission denied",
			   hnv_op_name(req->op), peer->uid, peer->pid);
		return hnv_reply_error(err);
	}
	switch (req->op) {
	case HNV_OP_EXEC:
		rc = hnv_core_exec(c, (const char *const *)req->u.exec.lines, req->u.exec.n,
				   req->u.exec.confirm, &res, err, sizeof(err));
		break;
	case HNV_OP_COMMIT_CONFIRM:
		rc = hnv_core_confirm(c, &res, err, sizeof(err));
		break;
	case HNV_OP_ROLLBACK:
		rc = hnv_core_rollback(c, req->u.rollback.rev, &res, err, sizeof(err));
		break;
	case HNV_OP_SHOW:
		rc = hnv_core_show(c, req->u.show.what, req->u.show.secrets && peer->root,
				   &(struct hnv_show_filter){.has_vsid = req->u.show.has_vsid,
							     .vsid = req->u.show.vsid,
							     .has_ca = req->u.show.has_ca,
							     .ca = req->u.show.ca,
							     .has_pa = req->u.show.has_pa,
							     .pa = req->u.show.pa},
				   req->u.show.paged, req->u.show.offset, &res, err, sizeof(err));
		break;
	case HNV_OP_DIFF:
		rc = hnv_core_diff(c, req->u.diff.from, req->u.diff.to, req->u.diff.paged,
				   req->u.diff.offset, &res, err, sizeof(err));
		break;
	case HNV_OP_NEXTHOP:
		rc = hnv_core_nexthop(c, req->u.nexthop.vsid,
				      req->u.nexthop.has_src ? &req->u.nexthop.src : NULL,
				      &req->u.nexthop.dst, &res, err, sizeof(err));
		break;
	case HNV_OP_S2S:
		if (!c->s2s_ctl) {
			rc = -ENOTSUP;
			hnv_seterr(
				err, sizeof(err),
				"s2s %s: this hnvgwd has no gateway role (start it with --uplink)",
				req->u.s2s.up ? "up" : "down");
			break;
		}
		rc = c->s2s_ctl(c->s2s_arg, req->u.s2s.name, req->u.s2s.up, err, sizeof(err));
		if (rc == 0)
			res = json_object_new_object();
		break;
	case HNV_OP_TRACE:
		if (!peer->root) {
			rc = -EPERM;
			hnv_seterr(err, sizeof(err),
				   "permission denied: trace shows live traffic and needs root");
			break;
		}
		rc = hnv_core_trace(c, req->u.trace.count,
				    req->u.trace.has_port ? req->u.trace.port : NULL,
				    req->u.trace.session, &res, err, sizeof(err));
		break;
	default:
		rc = -EINVAL;
		hnv_seterr(err, sizeof(err), "unknown op");
	}
	if (!err[0])
		hnv_seterr(err, sizeof(err), "%s failed: %s", hnv_op_name(req->op), strerror(-rc));
	if (hnv_op_changes(req->op))
		log_change(req, peer, rc, err, res);
	else
		hnv_log(HNV_LOG_DEBUG, "%s by uid %u pid %d: %s", hnv_op_name(req->op), peer->uid,
			peer->pid, rc ? err : "ok");
	if (rc)
		return hnv_reply_error(err);
	return hnv_reply_ok(res);
}
