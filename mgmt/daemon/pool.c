/* pool.c: gateway pool membership through etcd (pool.h). */
#include "pool.h"
#include "pool_int.h"

#include "../../lib/clock.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../etcd.h"
#include "core.h"
#include "sync.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static const char *const state_names[] = {"joining", "member", "fenced"};

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hnv_pool_wake(struct hnv_pool *p)
{
	uint64_t one = 1;
	if (write(p->efd, &one, sizeof(one)) < 0) {
		/* the counter is already non-zero: the control thread will run */
	}
}

static void set_error(struct hnv_pool *p, const char *what, const char *err)
{
	pthread_mutex_lock(&p->mu);
	snprintf(p->last_error, sizeof(p->last_error), "%s: %.240s", what, err);
	pthread_mutex_unlock(&p->mu);
}

/* Waits until mono time `until` or stop. With seen, also until the pool
 * watch has counted a change past *seen, but not before earliest, and then
 * records the count it acted on in *seen. True when stopping. */
static bool wait_change(struct hnv_pool *p, int64_t until, int64_t earliest, uint64_t *seen)
{
	pthread_mutex_lock(&p->mu);
	for (;;) {
		int64_t now = hnv_mono_ms();
		bool changed = seen && p->changes != *seen;
		if (p->stop || now >= until || (changed && now >= earliest))
			break;
		int64_t t = changed && earliest < until ? earliest : until;
		struct timespec ts = {.tv_sec = (time_t)(t / 1000),
				      .tv_nsec = (long)(t % 1000) * 1000000};
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
	}
	if (seen)
		*seen = p->changes;
	bool stop = p->stop;
	pthread_mutex_unlock(&p->mu);
	return stop;
}

static bool wait_until(struct hnv_pool *p, int64_t until)
{
	return wait_change(p, until, until, NULL);
}

/* Grants a lease and puts the member key bound to it. */
static void join(struct hnv_pool *p)
{
	char err[768], value[32];
	int64_t id, granted, send = hnv_mono_ms();
	int rc = hnv_etcd_lease_grant(p->ka, p->ttl, &id, &granted, err, sizeof(err));
	if (rc) {
		set_error(p, "lease grant", err);
		return;
	}
	snprintf(value, sizeof(value), "ttl %" PRId64, granted);
	rc = hnv_etcd_put_lease(p->ka, p->member_key, value, id, NULL, err, sizeof(err));
	if (rc) {
		set_error(p, "member key", err);
		(void)hnv_etcd_lease_revoke(p->ka, id, err, sizeof(err));
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->lease = id;
	p->granted = granted;
	p->ok_send_ms = send;
	p->ok_ms = hnv_mono_ms();
	p->joins++;
	p->last_error[0] = '\0';
	pthread_mutex_unlock(&p->mu);
	hnv_pool_wake(p);
}

static void *keepalive_thread(void *arg)
{
	struct hnv_pool *p = arg;
	int64_t next = 0;
	char err[768];
	while (!wait_until(p, next)) {
		pthread_mutex_lock(&p->mu);
		int64_t id = p->lease, interval = p->granted * 1000 / 3;
		pthread_mutex_unlock(&p->mu);
		if (id == 0) {
			join(p);
			pthread_mutex_lock(&p->mu);
			int64_t after = p->lease ? p->ok_send_ms + p->granted * 1000 / 3 : 0;
			pthread_mutex_unlock(&p->mu);
			next = after ? after : hnv_mono_ms() + RETRY_MS;
			continue;
		}
		int64_t send = hnv_mono_ms(), ttl;
		int rc = hnv_etcd_lease_keepalive(p->ka, id, &ttl, err, sizeof(err));
		if (rc == 0) {
			pthread_mutex_lock(&p->mu);
			p->ok_send_ms = send;
			p->ok_ms = hnv_mono_ms();
			p->granted = ttl;
			p->last_error[0] = '\0';
			pthread_mutex_unlock(&p->mu);
			next = send + interval;
		} else if (rc == -ENOENT) {
			/* expired while etcd could not be reached: rejoin */
			pthread_mutex_lock(&p->mu);
			p->lease = 0;
			snprintf(p->last_error, sizeof(p->last_error), "lease %" PRId64 " expired",
				 id);
			pthread_mutex_unlock(&p->mu);
			hnv_pool_wake(p);
			next = 0;
		} else {
			set_error(p, "keepalive", err);
			next = hnv_mono_ms() + RETRY_MS;
		}
	}
	return NULL;
}

/* ---- control thread ---- */

/* The fencing deadline of the lease held, mono ms; 0: no lease. */
static int64_t deadline(struct hnv_pool *p, int64_t *lease)
{
	pthread_mutex_lock(&p->mu);
	*lease = p->lease;
	int64_t d = p->lease ? p->ok_send_ms + p->granted * 1000 - HNV_POOL_FENCE_MARGIN_MS : 0;
	pthread_mutex_unlock(&p->mu);
	return d;
}

static void set_state(struct hnv_pool *p, enum member_state st, const char *why)
{
	if (p->state == st)
		return;
	if (st == ST_FENCED)
		p->fences++;
	hnv_log(st == ST_FENCED ? HNV_LOG_WARNING : HNV_LOG_NOTICE,
		"gateway pool %s: %s is %s (%s)", p->name, p->host, state_names[st], why);
	p->state = st;
	p->changed_wall_ms = wall_ms();
}

/* Brings the control thread's state up to the thread's. */
static void update(struct hnv_pool *p)
{
	int64_t lease, d = deadline(p, &lease), now = hnv_mono_ms();
	char why[96];
	if (p->seen_lease && lease != p->seen_lease && p->state == ST_MEMBER) {
		/* the lease we served under is gone (a new one may be there) */
		snprintf(why, sizeof(why), "lease %" PRId64 " lost", p->seen_lease);
		set_state(p, ST_FENCED, why);
	}
	if (lease == 0) {
		if (p->state == ST_MEMBER)
			set_state(p, ST_FENCED, "no lease");
		p->seen_lease = 0;
		return;
	}
	if (now >= d) {
		if (p->state == ST_MEMBER) {
			snprintf(why, sizeof(why),
				 "no keepalive succeeded for %" PRId64 " ms: lease %" PRId64
				 " may expire",
				 now - (d + HNV_POOL_FENCE_MARGIN_MS - p->ttl * 1000), lease);
			set_state(p, ST_FENCED, why);
		}
		return;
	}
	if (p->state != ST_MEMBER || lease != p->seen_lease) {
		snprintf(why, sizeof(why), "lease %" PRId64, lease);
		p->seen_lease = lease;
		set_state(p, ST_MEMBER, why);
	}
}

/* update, then the tenants served follow the state */
static void update_serve(struct hnv_pool *p)
{
	update(p);
	hnv_pool_tenants_serve(p);
}

int hnv_pool_fd(void *arg, short *events)
{
	struct hnv_pool *p = arg;
	*events = POLLIN;
	return p->efd;
}

int hnv_pool_timeout_ms(void *arg)
{
	struct hnv_pool *p = arg;
	if (p->state != ST_MEMBER)
		return -1;
	int64_t lease, d = deadline(p, &lease), t = d - hnv_mono_ms();
	/* the served tenants' learned routes are looked at every second */
	int64_t most = p->gw && p->nserved ? 1000 : 60000;
	return t < 0 ? 0 : t > most ? (int)most : (int)t;
}

void hnv_pool_run(void *arg, short revents)
{
	struct hnv_pool *p = arg;
	if (revents & POLLIN) {
		uint64_t n;
		if (read(p->efd, &n, sizeof(n)) < 0) {
			/* EAGAIN: nothing pending */
		}
	}
	update_serve(p);
}

/* ---- the members as etcd has them (the view thread) ---- */

/* The value of hosts/HOST/pa, or "" */
static void host_pa(struct hnv_pool *p, const char *host, char *pa, size_t len)
{
	char key[KEY_MAX], err[512];
	struct hnv_etcd_kvs k;
	pa[0] = '\0';
	snprintf(key, sizeof(key), "%.300s%.63s/pa", p->hosts, host);
	if (hnv_etcd_range(p->vw, key, NULL, 0, &k, err, sizeof(err)))
		return;
	if (k.n == 1 && k.v[0].vlen < len && strlen(k.v[0].value) == k.v[0].vlen)
		snprintf(pa, len, "%s", k.v[0].value);
	hnv_etcd_kvs_free(&k);
}

/* Reads the member keys into a new view, and the etcd revision they were
 * read at. 0 or a negative errno with err. */
static int read_view(struct hnv_pool *p, struct member_view **out, size_t *n, int64_t *rev,
		     char *err, size_t errlen)
{
	struct hnv_etcd_kvs k;
	*out = NULL;
	*n = 0;
	int rc = hnv_etcd_range(p->vw, p->members, p->members_end, 0, &k, err, errlen);
	if (rc)
		return rc;
	*rev = k.revision;
	struct member_view *v = k.n ? calloc(k.n, sizeof(*v)) : NULL;
	if (k.n && !v) {
		hnv_etcd_kvs_free(&k);
		return -ENOMEM;
	}
	size_t pl = strlen(p->members);
	for (size_t i = 0; i < k.n; i++) {
		const struct hnv_etcd_kv *kv = &k.v[i];
		const char *host = kv->key + pl;
		/* a name after member/ that is not a host name is not shown */
		if (kv->keylen <= pl || strlen(kv->key) != kv->keylen || hnv_sync_host_valid(host))
			continue;
		struct member_view *m = &v[(*n)++];
		snprintf(m->host, sizeof(m->host), "%s", host);
		m->lease = kv->lease;
		m->left = -1;
		char e[512];
		/* a key bound to no lease, or to one etcd no longer has, is not a
		 * live member (etcd deletes a lease's keys when it expires) */
		if (kv->lease > 0 && hnv_etcd_lease_ttl(p->vw, kv->lease, &m->left, e, sizeof(e)))
			m->left = -1;
		host_pa(p, host, m->pa, sizeof(m->pa));
	}
	hnv_etcd_kvs_free(&k);
	*out = v;
	return 0;
}

/* Refreshes the view every VIEW_MS, and soon after the watch saw the pool
 * change, so that show never waits for etcd on the control thread and a
 * member's death is acted on when etcd expires its lease, not up to
 * VIEW_MS later. */
static void *view_thread(void *arg)
{
	struct hnv_pool *p = arg;
	char err[768];
	int64_t next = 0, last = 0;
	uint64_t seen = 0; /* the watch's count of changes at the last reading */
	while (!wait_change(p, next, last + VIEW_GAP_MS, &seen)) {
		last = hnv_mono_ms();
		struct member_view *v;
		size_t n;
		int64_t rev;
		int rc = read_view(p, &v, &n, &rev, err, sizeof(err));
		if (rc == 0)
			hnv_pool_tenants_tick(p, v, n, rev);
		pthread_mutex_lock(&p->mu);
		if (rc == 0) {
			p->readings++;
			free(p->view);
			p->view = v;
			p->nview = n;
			p->view_ms = hnv_mono_ms();
			p->view_err[0] = '\0';
		} else {
			snprintf(p->view_err, sizeof(p->view_err), "%.250s", err);
		}
		pthread_mutex_unlock(&p->mu);
		next = hnv_mono_ms() + VIEW_MS;
	}
	return NULL;
}

/* A message of the pool watch: a change to any key of the pool but the
 * learned routes (which holders rewrite as they learn) kicks the view
 * thread. */
static int on_pool_change(const struct hnv_etcd_watch_msg *m, void *arg)
{
	struct hnv_pool *p = arg;
	size_t ll = p->learned_len;
	bool kick = false;
	for (size_t i = 0; i < m->n && !kick; i++)
		kick = m->ev[i].kv.keylen < ll || memcmp(m->ev[i].kv.key, p->learned, ll) != 0;
	if (kick) {
		pthread_mutex_lock(&p->mu);
		p->changes++;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	return 0;
}

/* Watches pool/NAME/ for the view thread. Between watches (etcd down, a
 * member gone) the view thread still reads every VIEW_MS. */
static void *watch_thread(void *arg)
{
	struct hnv_pool *p = arg;
	char err[768];
	while (!p->wcancel) {
		hnv_etcd_watch(p->wt, p->pool_key, p->pool_end, 0, on_pool_change, p, &p->wcancel,
			       err, sizeof(err));
		if (wait_until(p, hnv_mono_ms() + 4 * RETRY_MS))
			break;
	}
	return NULL;
}

/* ---- show gateway-pool ---- */

static void add_str(json_object *r, const char *k, const char *v)
{
	json_object_object_add(r, k, json_object_new_string(v));
}

static void add_int(json_object *r, const char *k, int64_t v)
{
	json_object_object_add(r, k, json_object_new_int64(v));
}

/* One row per member of the last view, the local member's own if it is not
 * among them (joining, fenced); the local member's row adds its own view. */
static json_object *pool_status(void *arg)
{
	struct hnv_pool *p = arg;
	update_serve(p);
	json_object *rows = json_object_new_array();
	bool self_seen = false;
	pthread_mutex_lock(&p->mu);
	int64_t now = hnv_mono_ms(), lease = p->lease, ok_ago = p->lease ? now - p->ok_ms : -1;
	int64_t view_ago = p->view_ms ? now - p->view_ms : -1;
	char last[256];
	snprintf(last, sizeof(last), "%.255s", *p->last_error ? p->last_error : p->view_err);
	for (size_t i = 0; i <= p->nview; i++) {
		const struct member_view *m = i < p->nview ? &p->view[i] : NULL;
		if (!m && self_seen)
			break;
		bool me = !m || strcmp(m->host, p->host) == 0;
		self_seen |= me;
		json_object *r = json_object_new_object();
		add_str(r, "member", m ? m->host : p->host);
		add_str(r, "self", me ? "yes" : "no");
		add_str(r, "state",
			me             ? state_names[p->state]
			: m->left >= 0 ? "alive"
				       : "not-alive");
		add_str(r, "pa", m ? m->pa : "");
		add_int(r, "lease_ttl_left", m ? m->left : -1);
		/* its own row: the lease it keeps alive */
		add_int(r, "lease", me ? lease : m->lease);
		add_str(r, "pool", p->name);
		add_int(r, "keepalive_ms_ago", me ? ok_ago : -1);
		add_int(r, "fences", me ? (int64_t)p->fences : 0);
		add_int(r, "state_since_ms", me ? p->changed_wall_ms : 0);
		add_int(r, "view_ms_ago", view_ago);
		/* changes of the pool's keys its watch saw, each read at once */
		add_int(r, "changes_seen", me ? (int64_t)p->changes : 0);
		add_int(r, "view_readings", me ? (int64_t)p->readings : 0);
		add_str(r, "last_error", me ? last : "");
		add_int(r, "tenants_served", me ? (int64_t)p->nserved : -1);
		add_int(r, "served_since_ms", me ? p->served_changed_wall_ms : 0);
		json_object_array_add(rows, r);
	}
	pthread_mutex_unlock(&p->mu);
	return rows;
}

/* ---- lifecycle ---- */

static int new_client(const struct hnv_pool_opts *o, unsigned timeout_ms, struct hnv_etcd **out,
		      char *err, size_t errlen)
{
	struct hnv_etcd_sec sec = {.cacert = o->cacert,
				   .cert = o->cert,
				   .key = o->key,
				   .user = o->user,
				   .password_file = o->password_file};
	int rc = hnv_etcd_new(o->urls, timeout_ms, out, err, errlen);
	if (!rc && (rc = hnv_etcd_set_sec(*out, &sec, err, errlen))) {
		hnv_etcd_free(*out);
		*out = NULL;
	}
	return rc;
}

int hnv_pool_new(struct hnv_core *core, const struct hnv_pool_opts *o, struct hnv_pool **out,
		 char *err, size_t errlen)
{
	if (!o->name || hnv_sync_host_valid(o->name)) {
		hnv_seterr(err, errlen,
			   "--gateway-pool \"%s\": want 1-%d letters, digits, '_', '.' or '-'",
			   o->name ? o->name : "", HNV_SYNC_HOST_MAX);
		return -EINVAL;
	}
	unsigned ttl = o->ttl ? o->ttl : HNV_POOL_DEFAULT_TTL;
	if (ttl < HNV_POOL_MIN_TTL || ttl > HNV_POOL_MAX_TTL) {
		hnv_seterr(err, errlen, "--pool-ttl %u: want %d-%d seconds", ttl, HNV_POOL_MIN_TTL,
			   HNV_POOL_MAX_TTL);
		return -EINVAL;
	}
	if (!o->urls || !o->host || hnv_sync_host_valid(o->host)) {
		hnv_seterr(err, errlen, "--gateway-pool needs --etcd and --host-name");
		return -EINVAL;
	}
	const char *prefix = o->prefix ? o->prefix : HNV_SYNC_DEFAULT_PREFIX;
	if (strlen(prefix) > 256) {
		hnv_seterr(err, errlen, "etcd prefix too long for a gateway pool");
		return -EINVAL;
	}
	struct hnv_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->efd = -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	snprintf(p->name, sizeof(p->name), "%s", o->name);
	snprintf(p->host, sizeof(p->host), "%s", o->host);
	snprintf(p->members, sizeof(p->members), "%.256spool/%.63s/member/", prefix, o->name);
	snprintf(p->member_key, sizeof(p->member_key), "%.380s%.63s", p->members, o->host);
	hnv_etcd_prefix_end(p->members, p->members_end, sizeof(p->members_end));
	snprintf(p->hosts, sizeof(p->hosts), "%.256shosts/", prefix);
	snprintf(p->prefix, sizeof(p->prefix), "%.256s", prefix);
	snprintf(p->tenants, sizeof(p->tenants), "%.256spool/%.63s/tenant/", prefix, o->name);
	hnv_etcd_prefix_end(p->tenants, p->tenants_end, sizeof(p->tenants_end));
	snprintf(p->actives, sizeof(p->actives), "%.256spool/%.63s/active/", prefix, o->name);
	hnv_etcd_prefix_end(p->actives, p->actives_end, sizeof(p->actives_end));
	snprintf(p->movereq, sizeof(p->movereq), "%.256spool/%.63s/moveto/", prefix, o->name);
	hnv_etcd_prefix_end(p->movereq, p->movereq_end, sizeof(p->movereq_end));
	snprintf(p->learned, sizeof(p->learned), "%.256spool/%.63s/learned/", prefix, o->name);
	p->learned_len = strlen(p->learned);
	snprintf(p->pool_key, sizeof(p->pool_key), "%.256spool/%.63s/", prefix, o->name);
	hnv_etcd_prefix_end(p->pool_key, p->pool_end, sizeof(p->pool_end));
	p->sync = o->sync;
	p->gw = o->gw;
	p->ttl = ttl;
	p->state = ST_JOINING;
	p->changed_wall_ms = wall_ms();
	int rc;
	/* a keepalive must fail in time for the next one: each request to one
	 * member is bounded by TTL/3 */
	if ((rc = new_client(o, ttl * 1000 / 3, &p->ka, err, errlen)) ||
	    (rc = new_client(o, 1000, &p->vw, err, errlen)) ||
	    (rc = new_client(o, 1000, &p->rd, err, errlen)) ||
	    (rc = new_client(o, 1000, &p->wt, err, errlen))) {
		hnv_pool_free(p);
		return rc;
	}
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		rc = -errno;
		hnv_seterr(err, errlen, "eventfd: %s", strerror(errno));
		hnv_pool_free(p);
		return rc;
	}
	if ((rc = pthread_create(&p->th, NULL, keepalive_thread, p))) {
		hnv_seterr(err, errlen, "gateway pool thread: %s", strerror(rc));
		hnv_pool_free(p);
		return -rc;
	}
	p->started = true;
	if ((rc = pthread_create(&p->vth, NULL, view_thread, p))) {
		hnv_seterr(err, errlen, "gateway pool thread: %s", strerror(rc));
		hnv_pool_free(p);
		return -rc;
	}
	p->vstarted = true;
	if ((rc = pthread_create(&p->wth, NULL, watch_thread, p))) {
		hnv_seterr(err, errlen, "gateway pool thread: %s", strerror(rc));
		hnv_pool_free(p);
		return -rc;
	}
	p->wstarted = true;
	hnv_core_add_status(core, "gateway-pool", pool_status, p);
	hnv_core_add_status(core, "gateway-pool-tenants", hnv_pool_tenants_status, p);
	*out = p;
	return 0;
}

void hnv_pool_free(struct hnv_pool *p)
{
	if (!p)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		p->wcancel = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->th, NULL);
	}
	if (p->vstarted)
		pthread_join(p->vth, NULL);
	if (p->lease && p->rd) {
		char err[512];
		/* leave at once rather than after the TTL */
		if (hnv_etcd_lease_revoke(p->rd, p->lease, err, sizeof(err)) &&
		    p->state == ST_MEMBER)
			hnv_log(HNV_LOG_WARNING, "gateway pool %s: leaving: %s", p->name, err);
	}
	/* after the revoke: its watch ends within a second (hnv_etcd_watch) */
	if (p->wstarted)
		pthread_join(p->wth, NULL);
	if (p->efd >= 0)
		close(p->efd);
	hnv_etcd_free(p->ka);
	hnv_etcd_free(p->vw);
	hnv_etcd_free(p->rd);
	hnv_etcd_free(p->wt);
	free(p->view);
	hnv_pool_tenants_free(p);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
