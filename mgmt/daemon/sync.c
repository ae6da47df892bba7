/* sync.c: policy shared through etcd (sync.h): lifecycle, the control
 * loop's event source, the exec hook, the mirror of the prefix, and
 * applying the shared policy: the changes sync_delta.c computes are
 * handed to the core as commands, one revision (hnv_core_exec_cmds).
 *
 * An apply compares the keys changed since the last one (pending), or
 * every key after a snapshot, a change of this host's routing domains
 * (counted per domain in own as the mirror changes), a refusal, or a
 * revision made without etcd (local lines, rollback, reload: then applied
 * is read again from the running model, so the shared objects it changed
 * are put back as etcd has them).
 */
#include "sync_int.h"

#include "../../lib/addr.h"
#include "../../lib/clock.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../../lib/vec.h"
#include "../etcd.h"
#include "../model.h"
#include "core.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct hnv_ratelimit rl_apply;

int hnv_sync_host_valid(const char *host)
{
	size_t l = strlen(host);
	if (l == 0 || l > HNV_SYNC_HOST_MAX ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyz"
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != l ||
	    strcmp(host, ".") == 0 || strcmp(host, "..") == 0)
		return -EINVAL;
	return 0;
}

/* ---- the mirror ---- */

static void oom(void)
{
	hnv_log(HNV_LOG_ERR, "etcd sync: out of memory");
}

/* Counts a key of the mirror added (d = 1) or removed (-1) in own when it
 * is one of this host's ports or gateway attachments. */
static void own_count(struct hnv_sync *s, const char *key, int d)
{
	struct sync_key k;
	enum sync_kt t = sync_key_parse(key, &k);
	if ((t != SYNC_K_PORT && t != SYNC_K_GW) || strcmp(k.host, s->host) != 0)
		return;
	uintptr_t n = (uintptr_t)hnv_hmap_get(&s->own, k.rd) + (uintptr_t)(intptr_t)d;
	if (n == 0)
		hnv_hmap_del(&s->own, k.rd, NULL);
	else if (hnv_hmap_put(&s->own, k.rd, (void *)n, NULL))
		s->own_valid = false;
}

/* Notes that key changed in the mirror, for the next apply. A vsubnet
 * decides whether the lines naming its VSID are taken (sync_delta.c): its
 * change compares every key. */
static void touch(struct hnv_sync *s, const char *key)
{
	struct sync_key k;
	if (sync_key_parse(key, &k) == SYNC_K_VSUBNET)
		s->full = true;
	if (!s->full && hnv_hmap_put(&s->pending, key, NULL, NULL))
		s->full = true;
}

/* Puts v (moved out of the caller's struct, which is left empty) at key. */
static void mirror_put(struct hnv_sync *s, const char *key, struct sync_val *v)
{
	struct sync_val *nv = malloc(sizeof(*nv));
	void *old;
	if (!nv || hnv_hmap_put(&s->mirror, key, nv, &old)) {
		free(nv);
		sync_val_clear(v);
		s->full = true; /* the mirror lacks a change: compare all */
		oom();
		return;
	}
	*nv = *v;
	memset(v, 0, sizeof(*v));
	if (!old)
		own_count(s, key, 1);
	sync_val_free(old);
	touch(s, key);
}

static void mirror_del(struct hnv_sync *s, const char *key)
{
	void *old;
	if (!hnv_hmap_del(&s->mirror, key, &old))
		return;
	own_count(s, key, -1);
	sync_val_free(old);
	touch(s, key);
}

void sync_mirror_set(struct hnv_sync *s, const char *key, char *value, int64_t mod_rev)
{
	struct sync_val v;
	if (!value) {
		mirror_del(s, key);
		return;
	}
	if (sync_val_set(&v, key, value, mod_rev)) {
		s->full = true;
		oom();
		return;
	}
	mirror_put(s, key, &v);
}

static void mirror_apply(struct hnv_sync *s, struct sync_msg *m)
{
	if (m->snapshot) {
		hnv_hmap_clear(&s->mirror, sync_val_free);
		hnv_hmap_clear(&s->own, NULL);
		hnv_hmap_clear(&s->pending, NULL);
		s->own_valid = true;
		s->full = true;
		s->mirror_rev = 0;
		s->synced = true;
	}
	for (size_t i = 0; i < m->n; i++) {
		struct sync_item *it = &m->it[i];
		const struct sync_val *cur = hnv_hmap_get(&s->mirror, it->key);
		/* our own writes are already in, with their revision */
		if (cur && cur->mod_rev >= it->v.mod_rev)
			continue;
		if (it->v.value)
			mirror_put(s, it->key, &it->v);
		else
			mirror_del(s, it->key);
	}
	if (m->rev > s->mirror_rev)
		s->mirror_rev = m->rev;
	s->dirty = true;
}

/* Takes every queued message into the mirror. */
static void drain(struct hnv_sync *s)
{
	for (struct sync_msg *m = sync_watch_take(s->watch), *nx; m; m = nx) {
		nx = m->next;
		mirror_apply(s, m);
		sync_msg_free(m);
	}
}

/* Waits (at most ms) until the watch has queued revision rev, then drains. */
static void catch_up(struct hnv_sync *s, int64_t rev, long ms)
{
	sync_watch_wait(s->watch, rev, ms);
	drain(s);
}

int sync_interests(struct hnv_sync *s, struct hnv_hmap *set)
{
	if (!s->own_valid) {
		hnv_hmap_clear(&s->own, NULL);
		s->own_valid = true;
		HNV_HMAP_FOREACH(n, &s->mirror)
		own_count(s, n->key, 1);
		if (!s->own_valid)
			return -ENOMEM;
	}
	HNV_HMAP_FOREACH(n, &s->own)
	{
		if (hnv_hmap_put(set, n->key, NULL, NULL))
			return -ENOMEM;
	}
	/* and the tenants it holds as a member of a gateway pool */
	HNV_HMAP_FOREACH(n, &s->held)
	{
		if (hnv_hmap_put(set, n->key, NULL, NULL))
			return -ENOMEM;
	}
	return 0;
}

/* ---- this host's PA ---- */

struct pa_find {
	struct hnv_ip pa;
	bool found, v4;
};

static int pa_cb(const struct hnv_conf_cmd *c, void *arg)
{
	struct pa_find *f = arg;
	if (c->kind != HNV_CONF_PA_ADD)
		return 0;
	bool v4 = hnv_ip_is_v4(&c->u.pa.addr.addr);
	if (!f->found || (v4 && !f->v4)) {
		f->pa = c->u.pa.addr.addr;
		f->found = true;
		f->v4 = v4;
	}
	return 0;
}

bool sync_my_pa(const struct hnv_sync *s, struct hnv_ip *pa)
{
	struct pa_find f = {0};
	hnv_model_foreach_kind(hnv_core_model(s->core), HNV_CONF_PA_ADD, pa_cb, &f);
	*pa = f.pa;
	return f.found;
}

/* Puts hosts/HOST/pa when it differs from the running PA. */
static void publish_pa(struct hnv_sync *s)
{
	struct hnv_ip pa;
	if (!s->synced || !sync_my_pa(s, &pa)) {
		s->pa_check = false;
		return;
	}
	char ip[64], key[SYNC_PREFIX_MAX + SYNC_KEY_MAX + 1], rel[SYNC_KEY_MAX], err[512];
	hnv_fmt_ip(&pa, ip, sizeof(ip));
	snprintf(rel, sizeof(rel), "hosts/%s/pa", s->host);
	const struct sync_val *v = hnv_hmap_get(&s->mirror, rel);
	if (v && strcmp(v->value, ip) == 0) {
		s->pa_check = false;
		return;
	}
	snprintf(key, sizeof(key), "%s%s", s->prefix, rel);
	int64_t rev;
	if (hnv_etcd_put(s->wr, key, ip, &rev, err, sizeof(err))) {
		hnv_log_rl(&rl_apply, HNV_LOG_WARNING, "cannot publish PA %s of host %s: %s", ip,
			   s->host, err);
		s->pa_retry_ms = hnv_mono_ms() + 1000;
		return;
	}
	char *value = strdup(ip);
	if (value)
		sync_mirror_set(s, rel, value, rev);
	s->pa_check = false;
	hnv_log(HNV_LOG_INFO, "host %s: PA %s published in etcd", s->host, ip);
}

/* ---- applying ---- */

/* Reads applied from the running model when a revision was made since
 * (or it was never read, or may be inexact). 0 or -ENOMEM. */
static int applied_refresh(struct hnv_sync *s)
{
	unsigned rev = hnv_core_revision(s->core);
	if (s->applied_valid && rev == s->seen_rev)
		return 0;
	int rc = sync_applied_read(&s->applied, hnv_core_model(s->core), s->host);
	s->applied_valid = rc == 0;
	s->seen_rev = rev;
	s->full = true;
	return rc;
}

/* The changes for the routing domains rds (pending: of the keys changed
 * since the last apply, unless everything is to be compared): 0 and
 * *cmds (malloc'd, NULL when there is none) with *n and *d, or a negative
 * errno with err. */
static int changes(struct hnv_sync *s, const struct hnv_hmap *rds, bool pending, bool any_pool,
		   struct sync_delta *d, struct hnv_conf_cmd **cmds, size_t *n, char *err,
		   size_t errlen)
{
	*cmds = NULL;
	*n = 0;
	int rc = applied_refresh(s);
	struct sync_delta_in in = {.mirror = &s->mirror,
				   .applied = &s->applied,
				   .rds = rds,
				   .keys = pending && !s->full ? &s->pending : NULL,
				   .host = s->host,
				   .prefix = s->prefix,
				   .pool = s->pool[0] ? s->pool : NULL,
				   .held = &s->held,
				   .any_pool = any_pool};
	if (!rc)
		rc = sync_delta_compute(&in, d);
	if (!rc && d->n)
		rc = sync_delta_cmds(d, cmds, n);
	if (rc == -ENOMEM)
		hnv_seterr(err, errlen, "out of memory");
	return rc;
}

int sync_view(struct hnv_sync *s, const struct hnv_hmap *rds, struct hnv_model_txn **t, char *err,
	      size_t errlen)
{
	struct sync_delta d = {0};
	struct hnv_conf_cmd *cmds;
	size_t n;
	*t = NULL;
	/* every pool's gateway of the routing domains: a line of a pool's
	 * tenant validates on any host, not only on its active member */
	int rc = changes(s, rds, false, true, &d, &cmds, &n, err, errlen);
	if (!rc && (rc = hnv_model_txn_begin(hnv_core_model_for_check(s->core), t)))
		hnv_seterr(err, errlen, "cannot check against the running configuration: %s",
			   strerror(-rc));
	if (!rc && n)
		rc = hnv_model_txn_cmds(*t, cmds, n, err, errlen);
	if (rc) {
		hnv_model_txn_abort(*t);
		*t = NULL;
	}
	free(cmds);
	sync_delta_free(&d);
	return rc;
}

static bool same_set(const struct hnv_hmap *a, const struct hnv_hmap *b)
{
	if (a->n != b->n)
		return false;
	HNV_HMAP_FOREACH(n, a)
	{
		if (!hnv_hmap_find(b, n->key))
			return false;
	}
	return true;
}

/* Whether the running model holds a local-only object (pa, proute,
 * global, s2s) with exactly line's canonical form. */
struct same_local {
	const char *line;
	bool found;
};

static int same_local_cb(const struct hnv_conf_cmd *c, void *arg)
{
	struct same_local *f = arg;
	char l[SYNC_LINE_MAX];
	if (hnv_conf_format(c, true, l, sizeof(l)) == 0 && strcmp(l, f->line) == 0)
		f->found = true;
	explicit_bzero(l, sizeof(l));
	return 0;
}

static bool local_cmd(const struct hnv_conf_cmd *c);

static bool holds_local(struct hnv_sync *s, const char *value)
{
	struct hnv_conf_cmd c;
	char msg[256], l[SYNC_LINE_MAX];
	struct same_local f = {.line = l};
	if (strchr(value, '\n') || hnv_conf_parse_line(value, &c, msg, sizeof(msg)) != 1 ||
	    !local_cmd(&c) || hnv_conf_format(&c, true, l, sizeof(l)) != 0) {
		explicit_bzero(&c, sizeof(c));
		return false;
	}
	hnv_model_foreach_kind(hnv_core_model(s->core), c.kind, same_local_cb, &f);
	explicit_bzero(&c, sizeof(c));
	explicit_bzero(l, sizeof(l));
	return f.found;
}

/* Logs and counts each refused value once per key and revision (the
 * mirror's value remembers it). Never the value itself: it may hold a
 * PSK. */
static void report_refused(struct hnv_sync *s, const struct sync_delta *d)
{
	for (size_t i = 0; i < d->n_refused; i++) {
		const struct sync_refusal *r = &d->refused[i];
		struct sync_val *v = hnv_hmap_get(&s->mirror, r->key);
		if (!v || v->reported)
			continue;
		v->reported = true;
		s->refused++;
		snprintf(s->last_refused, sizeof(s->last_refused), "%s%s (etcd revision %lld): %s",
			 s->prefix, r->key, (long long)v->mod_rev, r->why);
		hnv_log(HNV_LOG_WARNING, "etcd value refused, not applied: key %s",
			s->last_refused);
		/* an hnvgwd before issue 17 finding 1 installed such values,
		 * local ones included: say so when this host holds the same */
		if (holds_local(s, v->value))
			hnv_log(HNV_LOG_WARNING,
				"etcd key %s%s: the running configuration holds the same local "
				"line; an hnvgwd before this version installed refused values "
				"from etcd as local configuration: check it (hnvgw show config) "
				"and delete it if it is not this host's own",
				s->prefix, r->key);
	}
}

/* Brings the running model to the shared policy of this host's routing
 * domains where it differs: the keys changed since the last apply, or all
 * of them after a snapshot, a new set of routing domains, a re-read of
 * applied or a failure. */
static void apply(struct hnv_sync *s)
{
	s->dirty = false;
	s->last_apply_ms = hnv_mono_ms();
	if (!s->synced)
		return;
	struct hnv_hmap rds = {0};
	struct sync_delta d = {0};
	struct hnv_conf_cmd *cmds = NULL;
	size_t n = 0;
	unsigned rev;
	char err[1024] = "";
	int rc = sync_interests(s, &rds);
	if (!rc && !same_set(&rds, &s->rds))
		s->full = true;
	if (!rc)
		rc = changes(s, &rds, true, false, &d, &cmds, &n, err, sizeof(err));
	report_refused(s, &d);
	/* one revision: checked on the core's model, applied to the running
	 * datapath, persisted; on failure nothing changed */
	if (!rc && n && !(rc = hnv_core_exec_cmds(s->core, cmds, n, &rev, err, sizeof(err)))) {
		if (!sync_delta_commit(&s->applied, &d))
			s->applied_valid = false;
		hnv_log(HNV_LOG_INFO,
			"etcd revision %lld applied as revision %u (%zu shared objects, %zu "
			"commands)",
			(long long)s->mirror_rev, rev, s->applied.n, n);
	} else if (rc && n) {
		/* not retried until the shared policy changes again; then
		 * compared with the running model as it is */
		s->applied_valid = false;
	}
	s->seen_rev = hnv_core_revision(s->core);
	s->full = rc != 0;
	hnv_hmap_clear(&s->pending, NULL);
	hnv_hmap_clear(&s->rds, NULL);
	s->rds = rds;
	if (rc == -ENOMEM)
		oom();
	else if (rc)
		hnv_log_rl(&rl_apply, HNV_LOG_ERR,
			   "shared policy at etcd revision %lld refused, keeping the running "
			   "one: %s",
			   (long long)s->mirror_rev, err);
	free(cmds);
	sync_delta_free(&d);
}

/* ---- source ---- */

int hnv_sync_fd(void *arg, short *events)
{
	struct hnv_sync *s = arg;
	*events = POLLIN;
	return sync_watch_fd(s->watch);
}

int hnv_sync_timeout_ms(void *arg)
{
	struct hnv_sync *s = arg;
	long now = hnv_mono_ms(), t = -1;
	if (s->synced && hnv_core_revision(s->core) != s->seen_rev)
		return 0;
	if (s->dirty) {
		t = s->last_apply_ms + HNV_SYNC_DEBOUNCE_MS - now;
		if (t < 0)
			t = 0;
	}
	if (s->pa_check && s->synced) {
		long p = s->pa_retry_ms - now;
		if (p < 0)
			p = 0;
		if (t < 0 || p < t)
			t = p;
	}
	return (int)t;
}

void hnv_sync_run(void *arg, short revents)
{
	struct hnv_sync *s = arg;
	(void)revents;
	bool was_synced = s->synced;
	drain(s);
	if (s->synced && !was_synced)
		s->pa_check = true;
	/* a change that did not come from etcd (local lines, rollback,
	 * reload) may have touched shared objects: compare again */
	if (s->synced && hnv_core_revision(s->core) != s->seen_rev) {
		s->applied_valid = false;
		s->dirty = true;
	}
	if (s->dirty && hnv_mono_ms() - s->last_apply_ms >= HNV_SYNC_DEBOUNCE_MS)
		apply(s);
	if (s->pa_check && hnv_mono_ms() >= s->pa_retry_ms)
		publish_pa(s);
}

int hnv_sync_pool_held(struct hnv_sync *s, const char *pool, const char *const *rds, size_t n)
{
	struct hnv_hmap next = {0};
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++)
		rc = hnv_hmap_put(&next, rds[i], NULL, NULL);
	if (rc)
		hnv_hmap_clear(&next, NULL);
	if (strcmp(s->pool, pool) == 0 && same_set(&next, &s->held)) {
		hnv_hmap_clear(&next, NULL);
		return rc;
	}
	snprintf(s->pool, sizeof(s->pool), "%s", pool);
	hnv_hmap_clear(&s->held, NULL);
	s->held = next;
	s->full = true;
	apply(s);
	return rc ? rc : 1;
}

/* ---- writing ---- */

/* Commits a plan, retrying while other hosts win races. */
static int write_lines(struct hnv_sync *s, const char *const *lines, size_t n,
		       const struct hnv_conf_port_move *move, bool gw_move, json_object **result,
		       char *err, size_t errlen)
{
	for (unsigned attempt = 0; attempt < HNV_SYNC_RETRIES; attempt++) {
		drain(s);
		struct sync_plan p = {0};
		err[0] = '\0';
		int rc = move && gw_move ? sync_plan_gw_move(s, move, &p, err, errlen)
			 : move          ? sync_plan_move(s, move, &p, err, errlen)
					 : sync_plan_lines(s, lines, n, &p, err, errlen);
		if (rc) {
			sync_plan_free(&p);
			return rc;
		}
		bool ok;
		int64_t rev;
		char e[768];
		rc = hnv_etcd_txn_commit(s->wr, p.txn, &ok, &rev, e, sizeof(e));
		if (rc) {
			sync_plan_free(&p);
			hnv_seterr(err, errlen, "%s; nothing was changed", e);
			return rc;
		}
		if (ok) {
			sync_plan_done(s, &p, rev);
			size_t nops = p.n_order;
			sync_plan_free(&p);
			apply(s);
			*result = json_object_new_object();
			json_object_object_add(*result, "rev",
					       json_object_new_int64(hnv_core_revision(s->core)));
			json_object_object_add(*result, "etcd_revision",
					       json_object_new_int64(rev));
			json_object_object_add(*result, "etcd_keys",
					       json_object_new_int64((int64_t)nops));
			return 0;
		}
		sync_plan_free(&p);
		/* another host changed what we depend on: see it, then again */
		catch_up(s, rev, 1000);
	}
	hnv_seterr(err, errlen, "etcd: other hosts kept changing the same objects; tried %d times",
		   HNV_SYNC_RETRIES);
	return -EAGAIN;
}

static bool local_kind(enum hnv_conf_kind k)
{
	return k == HNV_CONF_PA_ADD || k == HNV_CONF_PA_DEL || k == HNV_CONF_PROUTE_ADD ||
	       k == HNV_CONF_PROUTE_DEL || k == HNV_CONF_GLOBAL_SET || k == HNV_CONF_S2S_ADD ||
	       k == HNV_CONF_S2S_DEL || k == HNV_CONF_GRE_ADD || k == HNV_CONF_GRE_DEL ||
	       k == HNV_CONF_L3_ADD || k == HNV_CONF_L3_DEL || k == HNV_CONF_BGP_PEER_ADD ||
	       k == HNV_CONF_BGP_PEER_DEL;
}

/* A line of this host alone; an s2s line with --pool is the pool's
 * tenant's, shared through etcd. */
static bool local_cmd(const struct hnv_conf_cmd *c)
{
	if ((c->kind == HNV_CONF_S2S_ADD || c->kind == HNV_CONF_S2S_DEL) && c->u.s2s.pool[0])
		return false;
	return local_kind(c->kind);
}

int hnv_sync_exec(void *arg, const char *const *lines, size_t n, unsigned confirm,
		  json_object **result, char *err, size_t errlen)
{
	struct hnv_sync *s = arg;
	size_t n_local = 0, n_shared = 0;
	bool move = false, gw_move = false;
	struct hnv_conf_port_move mv;
	for (size_t i = 0; i < n; i++) {
		struct hnv_conf_cmd c;
		char msg[512];
		int prc = hnv_conf_parse_line(lines[i], &c, msg, sizeof(msg));
		if (prc < 0)
			return 1; /* the core reports it with its line number */
		if (prc == 1 && (c.kind == HNV_CONF_PORT_MOVE || c.kind == HNV_CONF_GATEWAY_MOVE)) {
			move = true;
			gw_move = c.kind == HNV_CONF_GATEWAY_MOVE;
			mv = c.u.port_move;
			continue;
		}
		bool loc = prc == 1 && local_cmd(&c);
		explicit_bzero(&c, sizeof(c));
		if (prc == 1)
			loc ? n_local++ : n_shared++;
	}
	if (move && n != 1) {
		hnv_seterr(err, errlen, "%s move must be alone in its transaction",
			   gw_move ? "gateway" : "port");
		return -EINVAL;
	}
	if (!move && n_shared == 0) {
		s->pa_check = true; /* a PA may change */
		s->pa_retry_ms = 0;
		return 1;
	}
	if (n_local) {
		hnv_seterr(err, errlen,
			   "a transaction may not mix local objects (pa, proute, global, s2s, gre, "
			   "l3) with "
			   "objects shared through etcd");
		return -EINVAL;
	}
	if (confirm) {
		hnv_seterr(err, errlen,
			   "commit --confirm is not available for objects shared through "
			   "etcd");
		return -EINVAL;
	}
	if (!s->synced)
		catch_up(s, 1, HNV_SYNC_TIMEOUT_MS);
	if (!s->synced) {
		char why[512];
		sync_watch_last_error(s->watch, why, sizeof(why));
		hnv_seterr(err, errlen, "etcd not reached yet (%s): nothing was changed",
			   *why ? why : hnv_etcd_current(s->wr));
		return -EHOSTUNREACH;
	}
	return write_lines(s, lines, n, move ? &mv : NULL, gw_move, result, err, errlen);
}

/* ---- status ---- */

/* hnvgw show etcd: one row. */
static json_object *sync_status(void *arg)
{
	struct hnv_sync *s = arg;
	json_object *rows = json_object_new_array(), *r = json_object_new_object();
	char why[512];
	sync_watch_last_error(s->watch, why, sizeof(why));
	json_object_object_add(r, "host", json_object_new_string(s->host));
	json_object_object_add(r, "prefix", json_object_new_string(s->prefix));
	json_object_object_add(r, "members", json_object_new_string(s->urls));
	json_object_object_add(r, "client_cert", json_object_new_boolean(s->tls_cert));
	json_object_object_add(r, "auth", json_object_new_boolean(s->auth));
	json_object_object_add(r, "synced", json_object_new_boolean(s->synced));
	json_object_object_add(r, "etcd_revision", json_object_new_int64(s->mirror_rev));
	json_object_object_add(r, "keys", json_object_new_int64((int64_t)s->mirror.n));
	json_object_object_add(r, "shared_objects", json_object_new_int64((int64_t)s->applied.n));
	json_object_object_add(r, "refused_values", json_object_new_int64((int64_t)s->refused));
	json_object_object_add(r, "last_refused", json_object_new_string(s->last_refused));
	json_object_object_add(r, "last_error", json_object_new_string(why));
	json_object_array_add(rows, r);
	return rows;
}

/* ---- lifecycle ---- */

int hnv_sync_new(struct hnv_core *core, const struct hnv_sync_opts *o, struct hnv_sync **out,
		 char *err, size_t errlen)
{
	if (!o->host || hnv_sync_host_valid(o->host)) {
		hnv_seterr(err, errlen,
			   "--host-name \"%s\": want 1-%d letters, digits, '_', '.' or '-' (etcd "
			   "needs a host name)",
			   o->host ? o->host : "", HNV_SYNC_HOST_MAX);
		return -EINVAL;
	}
	const char *prefix = o->prefix ? o->prefix : HNV_SYNC_DEFAULT_PREFIX;
	size_t pl = strlen(prefix);
	if (pl == 0 || pl > SYNC_PREFIX_MAX || prefix[pl - 1] != '/') {
		hnv_seterr(err, errlen, "etcd prefix \"%s\": must end in '/'", prefix);
		return -EINVAL;
	}
	struct hnv_sync *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->host, sizeof(s->host), "%s", o->host);
	snprintf(s->prefix, sizeof(s->prefix), "%s", prefix);
	snprintf(s->urls, sizeof(s->urls), "%s", o->urls);
	s->tls_cert = o->cert != NULL;
	s->auth = o->user != NULL;
	s->core = core;
	int rc;
	struct hnv_etcd_sec sec = {.cacert = o->cacert,
				   .cert = o->cert,
				   .key = o->key,
				   .user = o->user,
				   .password_file = o->password_file};
	if ((rc = hnv_etcd_new(o->urls, HNV_SYNC_TIMEOUT_MS, &s->wr, err, errlen)) ||
	    (rc = hnv_etcd_set_sec(s->wr, &sec, err, errlen)) ||
	    (rc = sync_watch_start(o->urls, &sec, prefix, &s->watch, err, errlen))) {
		hnv_sync_free(s);
		return rc;
	}
	hnv_core_set_exec_hook(core, hnv_sync_exec, s);
	hnv_core_add_status(core, "etcd", sync_status, s);
	*out = s;
	return 0;
}

void hnv_sync_free(struct hnv_sync *s)
{
	if (!s)
		return;
	if (s->watch)
		hnv_core_set_exec_hook(s->core, NULL, NULL);
	sync_watch_stop(s->watch);
	hnv_hmap_clear(&s->mirror, sync_val_free);
	sync_applied_clear(&s->applied);
	hnv_hmap_clear(&s->pending, NULL);
	hnv_hmap_clear(&s->own, NULL);
	hnv_hmap_clear(&s->rds, NULL);
	hnv_hmap_clear(&s->held, NULL);
	hnv_etcd_free(s->wr);
	free(s);
}
