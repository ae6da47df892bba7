/* sync_watch.c: the etcd watch thread and its queue to the control thread
 * (sync.h "Reading").
 *
 * The thread owns its etcd client. It reads the whole prefix (a snapshot
 * message), then watches from the next revision; each watch message with
 * events becomes one queued message. Values are parsed here, once, so the
 * control thread receives config keys with their commands. When the
 * watch breaks it retries with backoff across the members and resumes
 * from the revision after the last event it queued; a compacted or
 * canceled watch, or an allocation failure, makes it read the prefix
 * again. Protocol: the thread appends under mu, bumps delivered_rev,
 * broadcasts cond and writes the eventfd; the control thread takes the
 * whole list under mu. Messages and what they hold belong to whoever
 * holds them: the queue, then the taker.
 */
#include "sync_int.h"

#include "../../lib/clock.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../etcd.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct sync_watch {
	char prefix[SYNC_PREFIX_MAX + 1], prefix_end[SYNC_PREFIX_MAX + 1];
	size_t plen;
	struct hnv_etcd *e; /* the thread's client */
	pthread_t thread;
	bool started;

	pthread_mutex_t mu; /* guards what follows */
	pthread_cond_t cond;
	struct sync_msg *head, **tail;
	int64_t delivered_rev; /* highest revision queued */
	volatile int stop;
	int efd;            /* readable while messages are queued */
	char last_err[512]; /* why etcd was last not reached; "" once it was */
};

static struct hnv_ratelimit rl_watch;

void sync_msg_free(struct sync_msg *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->it[i].key);
		sync_val_clear(&m->it[i].v);
	}
	free(m->it);
	free(m);
}

static void push(struct sync_watch *w, struct sync_msg *m)
{
	pthread_mutex_lock(&w->mu);
	*w->tail = m;
	w->tail = &m->next;
	if (m->rev > w->delivered_rev)
		w->delivered_rev = m->rev;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
	uint64_t one = 1;
	(void)!write(w->efd, &one, sizeof(one));
}

static struct sync_msg *msg_new(size_t n)
{
	struct sync_msg *m = calloc(1, sizeof(*m));
	if (m && n && !(m->it = calloc(n, sizeof(*m->it)))) {
		free(m);
		return NULL;
	}
	return m;
}

/* Appends key (absolute) with value (NULL: deleted) to m, relative to the
 * prefix and parsed. Keys outside the prefix, too long or not text are
 * skipped. 0 or -ENOMEM. */
static int add_item(const struct sync_watch *w, struct sync_msg *m, const struct hnv_etcd_kv *kv,
		    bool deleted)
{
	if (kv->keylen <= w->plen || kv->keylen > SYNC_KEY_MAX ||
	    memcmp(kv->key, w->prefix, w->plen) != 0 || memchr(kv->key, '\0', kv->keylen))
		return 0;
	struct sync_item *it = &m->it[m->n];
	char *value = NULL;
	if (!(it->key = strndup(kv->key + w->plen, kv->keylen - w->plen)) ||
	    (!deleted && !(value = strndup(kv->value, kv->vlen)))) {
		free(it->key);
		return -ENOMEM;
	}
	if (deleted) {
		memset(&it->v, 0, sizeof(it->v));
		it->v.mod_rev = kv->mod_rev;
	} else if (sync_val_set(&it->v, it->key, value, kv->mod_rev)) {
		free(it->key);
		return -ENOMEM;
	}
	m->n++;
	return 0;
}

struct wstate {
	struct sync_watch *w;
	int64_t next_rev;
	bool resnapshot;
};

static int on_watch(const struct hnv_etcd_watch_msg *wm, void *arg)
{
	struct wstate *ws = arg;
	if (wm->compact_revision > 0 || wm->canceled) {
		hnv_log_rl(&rl_watch, HNV_LOG_WARNING,
			   "etcd watch from revision %lld %s%s: reading the whole prefix again",
			   (long long)ws->next_rev,
			   wm->compact_revision > 0 ? "was compacted" : "was canceled: ",
			   wm->cancel_reason);
		ws->resnapshot = true;
		return 1;
	}
	if (wm->n == 0)
		return 0;
	struct sync_msg *m = msg_new(wm->n);
	if (!m) {
		ws->resnapshot = true;
		return 1;
	}
	m->rev = wm->revision;
	for (size_t i = 0; i < wm->n; i++) {
		const struct hnv_etcd_event *e = &wm->ev[i];
		if (e->kv.mod_rev >= ws->next_rev)
			ws->next_rev = e->kv.mod_rev + 1;
		if (e->kv.mod_rev > m->rev)
			m->rev = e->kv.mod_rev;
		if (add_item(ws->w, m, &e->kv, e->deleted)) {
			sync_msg_free(m);
			ws->resnapshot = true;
			return 1;
		}
	}
	push(ws->w, m);
	return 0;
}

static int snapshot(struct sync_watch *w, int64_t *rev, char *err, size_t errlen)
{
	struct hnv_etcd_kvs kvs;
	int rc = hnv_etcd_range(w->e, w->prefix, w->prefix_end, 0, &kvs, err, errlen);
	if (rc)
		return rc;
	struct sync_msg *m = msg_new(kvs.n);
	for (size_t i = 0; m && i < kvs.n; i++)
		if (add_item(w, m, &kvs.v[i], false)) {
			sync_msg_free(m);
			m = NULL;
		}
	if (!m) {
		hnv_etcd_kvs_free(&kvs);
		hnv_seterr(err, errlen, "out of memory reading the prefix");
		return -ENOMEM;
	}
	m->snapshot = true;
	m->rev = kvs.revision;
	*rev = kvs.revision;
	hnv_etcd_kvs_free(&kvs);
	push(w, m);
	return 0;
}

static void deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* Sleeps ms unless stopped; returns true when stopped. */
static bool nap(struct sync_watch *w, long ms)
{
	struct timespec ts;
	deadline(&ts, ms);
	pthread_mutex_lock(&w->mu);
	while (!w->stop && pthread_cond_timedwait(&w->cond, &w->mu, &ts) == 0)
		;
	bool stop = w->stop;
	pthread_mutex_unlock(&w->mu);
	return stop;
}

static void set_last_err(struct sync_watch *w, const char *err)
{
	pthread_mutex_lock(&w->mu);
	snprintf(w->last_err, sizeof(w->last_err), "%s", err);
	pthread_mutex_unlock(&w->mu);
}

void sync_watch_last_error(struct sync_watch *w, char *buf, size_t len)
{
	pthread_mutex_lock(&w->mu);
	snprintf(buf, len, "%s", w->last_err);
	pthread_mutex_unlock(&w->mu);
}

static void *watch_main(void *arg)
{
	struct sync_watch *w = arg;
	struct wstate ws = {.w = w, .resnapshot = true};
	long backoff = 100;
	bool down = false;
	char err[512];
	while (!w->stop) {
		int rc = 0;
		if (ws.resnapshot) {
			int64_t rev;
			rc = snapshot(w, &rev, err, sizeof(err));
			if (rc == 0) {
				ws.resnapshot = false;
				ws.next_rev = rev + 1;
			}
		}
		if (rc == 0) {
			if (down)
				hnv_log(HNV_LOG_NOTICE,
					"etcd reachable again at %s: resynchronising from revision "
					"%lld",
					hnv_etcd_current(w->e), (long long)ws.next_rev);
			down = false;
			set_last_err(w, "");
			long t0 = hnv_mono_ms();
			rc = hnv_etcd_watch(w->e, w->prefix, w->prefix_end, ws.next_rev, on_watch,
					    &ws, &w->stop, err, sizeof(err));
			if (rc == 1 || hnv_mono_ms() - t0 > 5000)
				backoff = 100; /* it ran: retry soon */
			if (rc == 1)
				continue;
		}
		if (w->stop)
			break;
		set_last_err(w, err);
		if (!down)
			hnv_log(HNV_LOG_WARNING,
				"etcd: %s; keeping the running policy, retrying from revision "
				"%lld",
				err, (long long)ws.next_rev);
		down = true;
		if (nap(w, backoff))
			break;
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
	return NULL;
}

int sync_watch_start(const char *urls, const struct hnv_etcd_sec *sec, const char *prefix,
		     struct sync_watch **out, char *err, size_t errlen)
{
	struct sync_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	snprintf(w->prefix, sizeof(w->prefix), "%s", prefix);
	hnv_etcd_prefix_end(prefix, w->prefix_end, sizeof(w->prefix_end));
	w->plen = strlen(w->prefix);
	w->tail = &w->head;
	w->efd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	int rc = hnv_etcd_new(urls, HNV_SYNC_TIMEOUT_MS, &w->e, err, errlen);
	if (!rc)
		rc = hnv_etcd_set_sec(w->e, sec, err, errlen);
	if (rc)
		goto fail;
	if ((w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		rc = -errno;
		hnv_seterr(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((rc = -pthread_create(&w->thread, NULL, watch_main, w))) {
		hnv_seterr(err, errlen, "cannot start the etcd watch thread: %s", strerror(-rc));
		goto fail;
	}
	w->started = true;
	*out = w;
	return 0;
fail:
	sync_watch_stop(w);
	return rc;
}

void sync_watch_stop(struct sync_watch *w)
{
	if (!w)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	for (struct sync_msg *m = w->head, *nx; m; m = nx) {
		nx = m->next;
		sync_msg_free(m);
	}
	hnv_etcd_free(w->e);
	if (w->efd >= 0)
		close(w->efd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cond);
	free(w);
}

int sync_watch_fd(const struct sync_watch *w)
{
	return w->efd;
}

struct sync_msg *sync_watch_take(struct sync_watch *w)
{
	uint64_t v;
	(void)!read(w->efd, &v, sizeof(v));
	pthread_mutex_lock(&w->mu);
	struct sync_msg *m = w->head;
	w->head = NULL;
	w->tail = &w->head;
	pthread_mutex_unlock(&w->mu);
	return m;
}

void sync_watch_wait(struct sync_watch *w, int64_t rev, long ms)
{
	long end = hnv_mono_ms() + ms;
	pthread_mutex_lock(&w->mu);
	while (w->delivered_rev < rev && !w->stop) {
		long left = end - hnv_mono_ms();
		if (left <= 0)
			break;
		struct timespec ts;
		deadline(&ts, left);
		pthread_cond_timedwait(&w->cond, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
}
