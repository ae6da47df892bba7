/* sync.c: policy shared through etcd. See sync.h for the design. */
#include "sync.h"

#include "../conftext.h"
#include "../etcd.h"
#include "../model.h"
#include "core.h"
#include "../../lib/err.h"
#include "../../lib/clock.h"
#include "../../lib/log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 8192
#define KEY_MAX_LEN 512

/* ---- a string-keyed hash table (the mirror and small sets) ---- */

struct ent {
	struct ent *next;
	char *key, *value; /* value NULL: a set member */
	int64_t mod_rev;
};

struct table {
	struct ent **b;
	size_t nb, n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct ent *t_find(const struct table *t, const char *key)
{
	if (!t->nb)
		return NULL;
	for (struct ent *e = t->b[hash_str(key) & (t->nb - 1)]; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static int t_grow(struct table *t)
{
	size_t nb = t->nb ? t->nb * 2 : 64;
	struct ent **b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < t->nb; i++)
		for (struct ent *e = t->b[i], *nx; e; e = nx) {
			nx = e->next;
			size_t h = hash_str(e->key) & (nb - 1);
			e->next = b[h];
			b[h] = e;
		}
	free(t->b);
	t->b = b;
	t->nb = nb;
	return 0;
}

/* Inserts or replaces; value may be NULL. 0 or -ENOMEM. */
static int t_put(struct table *t, const char *key, const char *value, int64_t mod_rev)
{
	struct ent *e = t_find(t, key);
	char *v = NULL;
	if (value && !(v = strdup(value)))
		return -ENOMEM;
	if (e) {
		free(e->value);
		e->value = v;
		e->mod_rev = mod_rev;
		return 0;
	}
	if (t->n >= t->nb && t_grow(t)) {
		free(v);
		return -ENOMEM;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->key = strdup(key))) {
		free(e);
		free(v);
		return -ENOMEM;
	}
	e->value = v;
	e->mod_rev = mod_rev;
	size_t h = hash_str(key) & (t->nb - 1);
	e->next = t->b[h];
	t->b[h] = e;
	t->n++;
	return 0;
}

static void t_del(struct table *t, const char *key)
{
	if (!t->nb)
		return;
	for (struct ent **p = &t->b[hash_str(key) & (t->nb - 1)]; *p; p = &(*p)->next)
		if (strcmp((*p)->key, key) == 0) {
			struct ent *e = *p;
			*p = e->next;
			free(e->key);
			free(e->value);
			free(e);
			t->n--;
			return;
		}
}

static void t_clear(struct table *t)
{
	for (size_t i = 0; i < t->nb; i++)
		for (struct ent *e = t->b[i], *nx; e; e = nx) {
			nx = e->next;
			free(e->key);
			free(e->value);
			free(e);
		}
	free(t->b);
	memset(t, 0, sizeof(*t));
}

#define T_FOREACH(t, e)                                                                            \
	for (size_t _i = 0; _i < (t)->nb; _i++)                                                    \
		for (struct ent *e = (t)->b[_i]; e; e = e->next)

/* ---- messages from the watch thread ---- */

struct item {
	char *key;   /* relative to the prefix */
	char *value; /* NULL: deleted */
	int64_t mod_rev;
};

struct msg {
	struct msg *next;
	bool snapshot; /* the whole prefix at revision rev */
	int64_t rev;
	size_t n;
	struct item *it;
};

static void msg_free(struct msg *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->it[i].key);
		free(m->it[i].value);
	}
	free(m->it);
	free(m);
}

struct hnv_sync {
	struct hnv_core *core;
	char host[HNV_SYNC_HOST_MAX + 1];
	char prefix[256], prefix_end[256];
	size_t plen;
	struct hnv_etcd *wr; /* control thread's client */
	struct hnv_etcd *wa; /* watch thread's client */

	/* control thread */
	struct table mirror;
	int64_t mirror_rev; /* last revision the watch delivered */
	bool synced;        /* a snapshot arrived */
	bool dirty;         /* mirror changed since the last apply */
	long last_apply_ms;
	char **applied; /* sorted shared lines last installed */
	size_t n_applied;
	bool applied_valid; /* else compare with the running model's */
	unsigned seen_rev;  /* core revision after our last look */
	bool pa_check;      /* publish hosts/HOST/pa when it differs */
	long pa_retry_ms;

	/* shared with the watch thread */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int efd;
	struct msg *head, **tail;
	int64_t delivered_rev; /* highest revision queued */
	volatile int stop;
};

static struct hnv_ratelimit rl_watch, rl_apply, rl_value;

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

/* ---- watch thread ---- */

static void push(struct hnv_sync *s, struct msg *m)
{
	pthread_mutex_lock(&s->mu);
	*s->tail = m;
	s->tail = &m->next;
	if (m->rev > s->delivered_rev)
		s->delivered_rev = m->rev;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	uint64_t one = 1;
	(void)!write(s->efd, &one, sizeof(one));
}

/* Copies key (absolute) relative to the prefix; NULL when outside it or
 * not text. */
static char *rel_key(const struct hnv_sync *s, const char *key, size_t keylen)
{
	if (keylen <= s->plen || keylen > KEY_MAX_LEN || memcmp(key, s->prefix, s->plen) != 0 ||
	    memchr(key, '\0', keylen))
		return NULL;
	return strndup(key + s->plen, keylen - s->plen);
}

struct wstate {
	struct hnv_sync *s;
	int64_t next_rev;
	bool resnapshot;
};

static int on_watch(const struct hnv_etcd_watch_msg *wm, void *arg)
{
	struct wstate *w = arg;
	if (wm->compact_revision > 0 || wm->canceled) {
		hnv_log_rl(&rl_watch, HNV_LOG_WARNING,
			   "etcd watch from revision %lld %s%s: reading the whole prefix again",
			   (long long)w->next_rev,
			   wm->compact_revision > 0 ? "was compacted" : "was canceled: ",
			   wm->cancel_reason);
		w->resnapshot = true;
		return 1;
	}
	if (wm->n == 0)
		return 0;
	struct msg *m = calloc(1, sizeof(*m));
	if (!m || !(m->it = calloc(wm->n, sizeof(*m->it)))) {
		free(m);
		w->resnapshot = true;
		return 1;
	}
	m->rev = wm->revision;
	for (size_t i = 0; i < wm->n; i++) {
		const struct hnv_etcd_event *e = &wm->ev[i];
		if (e->kv.mod_rev >= w->next_rev)
			w->next_rev = e->kv.mod_rev + 1;
		if (e->kv.mod_rev > m->rev)
			m->rev = e->kv.mod_rev;
		char *k = rel_key(w->s, e->kv.key, e->kv.keylen);
		if (!k)
			continue;
		struct item *it = &m->it[m->n++];
		it->key = k;
		it->mod_rev = e->kv.mod_rev;
		if (!e->deleted && !(it->value = strndup(e->kv.value, e->kv.vlen))) {
			msg_free(m);
			w->resnapshot = true;
			return 1;
		}
	}
	push(w->s, m);
	return 0;
}

static int snapshot(struct hnv_sync *s, int64_t *rev, char *err, size_t errlen)
{
	struct hnv_etcd_kvs kvs;
	int rc = hnv_etcd_range(s->wa, s->prefix, s->prefix_end, 0, &kvs, err, errlen);
	if (rc)
		return rc;
	struct msg *m = calloc(1, sizeof(*m));
	if (!m || (kvs.n && !(m->it = calloc(kvs.n, sizeof(*m->it))))) {
		free(m);
		hnv_etcd_kvs_free(&kvs);
		return -ENOMEM;
	}
	m->snapshot = true;
	m->rev = kvs.revision;
	for (size_t i = 0; i < kvs.n; i++) {
		char *k = rel_key(s, kvs.v[i].key, kvs.v[i].keylen);
		if (!k)
			continue;
		struct item *it = &m->it[m->n++];
		it->key = k;
		it->mod_rev = kvs.v[i].mod_rev;
		if (!(it->value = strndup(kvs.v[i].value, kvs.v[i].vlen))) {
			msg_free(m);
			hnv_etcd_kvs_free(&kvs);
			return -ENOMEM;
		}
	}
	*rev = kvs.revision;
	hnv_etcd_kvs_free(&kvs);
	push(s, m);
	return 0;
}

/* Sleeps ms unless stopped; returns true when stopped. */
static bool nap(struct hnv_sync *s, long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->mu);
	while (!s->stop && pthread_cond_timedwait(&s->cond, &s->mu, &ts) == 0)
		;
	bool stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

static void *watch_main(void *arg)
{
	struct hnv_sync *s = arg;
	struct wstate w = {.s = s, .resnapshot = true};
	long backoff = 100;
	bool down = false;
	char err[512];
	while (!s->stop) {
		int rc = 0;
		if (w.resnapshot) {
			int64_t rev;
			rc = snapshot(s, &rev, err, sizeof(err));
			if (rc == 0) {
				w.resnapshot = false;
				w.next_rev = rev + 1;
			}
		}
		if (rc == 0) {
			if (down)
				hnv_log(HNV_LOG_NOTICE,
					"etcd reachable again at %s: resynchronising from revision "
					"%lld",
					hnv_etcd_current(s->wa), (long long)w.next_rev);
			down = false;
			long t0 = hnv_mono_ms();
			rc = hnv_etcd_watch(s->wa, s->prefix, s->prefix_end, w.next_rev, on_watch,
					    &w, &s->stop, err, sizeof(err));
			if (rc == 1 || hnv_mono_ms() - t0 > 5000)
				backoff = 100; /* it ran: retry soon */
			if (rc == 1)
				continue;
		}
		if (s->stop)
			break;
		if (!down)
			hnv_log(HNV_LOG_WARNING,
				"etcd: %s; keeping the running policy, retrying from revision "
				"%lld",
				err, (long long)w.next_rev);
		down = true;
		if (nap(s, backoff))
			break;
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
	return NULL;
}

/* ---- mirror ---- */

static void mirror_apply(struct hnv_sync *s, struct msg *m)
{
	if (m->snapshot) {
		t_clear(&s->mirror);
		s->mirror_rev = 0;
		s->synced = true;
	}
	for (size_t i = 0; i < m->n; i++) {
		struct item *it = &m->it[i];
		struct ent *e = t_find(&s->mirror, it->key);
		/* our own writes are already in, with their revision */
		if (e && e->mod_rev > it->mod_rev)
			continue;
		if (it->value) {
			if (t_put(&s->mirror, it->key, it->value, it->mod_rev))
				hnv_log(HNV_LOG_ERR, "etcd mirror: out of memory");
		} else {
			t_del(&s->mirror, it->key);
		}
	}
	if (m->rev > s->mirror_rev)
		s->mirror_rev = m->rev;
	s->dirty = true;
}

/* Takes every queued message into the mirror. */
static void drain(struct hnv_sync *s)
{
	uint64_t v;
	(void)!read(s->efd, &v, sizeof(v));
	pthread_mutex_lock(&s->mu);
	struct msg *m = s->head;
	s->head = NULL;
	s->tail = &s->head;
	pthread_mutex_unlock(&s->mu);
	while (m) {
		struct msg *nx = m->next;
		mirror_apply(s, m);
		msg_free(m);
		m = nx;
	}
}

/* Waits (at most ms) until the watch has queued revision rev, then drains. */
static void catch_up(struct hnv_sync *s, int64_t rev, long ms)
{
	long end = hnv_mono_ms() + ms;
	pthread_mutex_lock(&s->mu);
	while (s->delivered_rev < rev && !s->stop) {
		long left = end - hnv_mono_ms();
		if (left <= 0)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += left / 1000;
		ts.tv_nsec += (left % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->cond, &s->mu, &ts);
	}
	pthread_mutex_unlock(&s->mu);
	drain(s);
}

/* ---- keys ---- */

enum kt {
	K_OTHER,
	K_RDOMAIN,
	K_VSUBNET,
	K_POOL,
	K_ROUTE,
	K_LOOKUP,
	K_ALLOC,
	K_PORT,
	K_GW,
	K_GWCA
};

/* Splits "rd/R/TYPE/REST": R into rd, REST (may be "") into *rest, and
 * for port/gw/gwca keys the host into host. */
static enum kt key_parse(const char *k, char rd[HNV_NAME_MAX + 1], char host[HNV_SYNC_HOST_MAX + 1],
			 const char **rest)
{
	static const struct {
		const char *name;
		enum kt t;
	} types[] = {{"rdomain", K_RDOMAIN}, {"vsubnet", K_VSUBNET}, {"pool", K_POOL},
		     {"route", K_ROUTE},     {"lookup", K_LOOKUP},   {"alloc", K_ALLOC},
		     {"port", K_PORT},       {"gw", K_GW},           {"gwca", K_GWCA}};
	if (strncmp(k, "rd/", 3) != 0)
		return K_OTHER;
	const char *r = k + 3, *sl = strchr(r, '/');
	if (!sl || sl == r || (size_t)(sl - r) > HNV_NAME_MAX)
		return K_OTHER;
	memcpy(rd, r, (size_t)(sl - r));
	rd[sl - r] = '\0';
	const char *t = sl + 1, *sl2 = strchr(t, '/');
	size_t tl = sl2 ? (size_t)(sl2 - t) : strlen(t);
	*rest = sl2 ? sl2 + 1 : "";
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strlen(types[i].name) != tl || strncmp(types[i].name, t, tl) != 0)
			continue;
		host[0] = '\0';
		if (types[i].t == K_PORT || types[i].t == K_GW || types[i].t == K_GWCA) {
			size_t hl = strcspn(*rest, "/");
			if (hl == 0 || hl > HNV_SYNC_HOST_MAX)
				return K_OTHER;
			memcpy(host, *rest, hl);
			host[hl] = '\0';
			*rest += hl + ((*rest)[hl] == '/');
		}
		return types[i].t;
	}
	return K_OTHER;
}

static bool name_ok(const char *n)
{
	return *n && !strchr(n, '/') && strcmp(n, ".") && strcmp(n, "..");
}

/* ---- the shared lines a host applies ---- */

struct strv {
	char **v;
	size_t n, cap;
};

static int sv_add(struct strv *a, const char *s)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		char **v = realloc(a->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	if (!(a->v[a->n] = strdup(s)))
		return -ENOMEM;
	a->n++;
	return 0;
}

static void sv_free(struct strv *a)
{
	for (size_t i = 0; i < a->n; i++) {
		explicit_bzero(a->v[i], strlen(a->v[i]));
		free(a->v[i]);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Routing domains this host is interested in, into set (keys only). */
static int interests(const struct hnv_sync *s, struct table *set)
{
	T_FOREACH(&s->mirror, e)
	{
		char rd[HNV_NAME_MAX + 1], host[HNV_SYNC_HOST_MAX + 1];
		const char *rest;
		enum kt t = key_parse(e->key, rd, host, &rest);
		if ((t == K_PORT || t == K_GW) && strcmp(host, s->host) == 0 &&
		    t_put(set, rd, NULL, 0))
			return -ENOMEM;
	}
	return 0;
}

/* The shared lines for the routing domains in set: this host's ports and
 * gateway objects, everybody's rdomain/vsubnet/pool/route/lookup. */
static int shared_lines(const struct hnv_sync *s, const struct table *set, struct strv *out)
{
	T_FOREACH(&s->mirror, e)
	{
		char rd[HNV_NAME_MAX + 1], host[HNV_SYNC_HOST_MAX + 1];
		const char *rest;
		enum kt t = key_parse(e->key, rd, host, &rest);
		if (t == K_OTHER || t == K_ALLOC || !t_find(set, rd))
			continue;
		if ((t == K_PORT || t == K_GW || t == K_GWCA) && strcmp(host, s->host) != 0)
			continue;
		if (!e->value || strchr(e->value, '\n')) {
			hnv_log_rl(&rl_value, HNV_LOG_WARNING,
				   "etcd key %s%s: value is not one config line, ignored",
				   s->prefix, e->key);
			continue;
		}
		if (sv_add(out, e->value))
			return -ENOMEM;
	}
	return 0;
}

static bool local_kind(enum hnv_conf_kind k)
{
	return k == HNV_CONF_PA_ADD || k == HNV_CONF_PA_DEL || k == HNV_CONF_PROUTE_ADD ||
	       k == HNV_CONF_PROUTE_DEL || k == HNV_CONF_GLOBAL_SET || k == HNV_CONF_S2S_ADD ||
	       k == HNV_CONF_S2S_DEL;
}

struct collect {
	struct strv *out;
	bool local; /* local-only commands, else the shared ones */
	int rc;
};

static int collect_cb(const struct hnv_conf_cmd *c, void *arg)
{
	struct collect *k = arg;
	if (local_kind(c->kind) != k->local)
		return 0;
	char line[LINE_MAX_LEN];
	int rc = hnv_conf_format(c, true, line, sizeof(line));
	if (rc == 0)
		rc = sv_add(k->out, line);
	explicit_bzero(line, sizeof(line));
	return rc;
}

static int model_lines(const struct hnv_model *m, bool local, struct strv *out)
{
	struct collect k = {.out = out, .local = local};
	return hnv_model_foreach(m, collect_cb, &k);
}

/* A model of lines a then b (validated). */
static int load_lines(const struct strv *a, const struct strv *b, struct hnv_model **out, char *err,
		      size_t errlen)
{
	size_t len = 1;
	for (size_t i = 0; i < a->n; i++)
		len += strlen(a->v[i]) + 1;
	for (size_t i = 0; i < b->n; i++)
		len += strlen(b->v[i]) + 1;
	char *text = malloc(len), *p = text;
	if (!text)
		return -ENOMEM;
	for (int k = 0; k < 2; k++) {
		const struct strv *v = k ? b : a;
		for (size_t i = 0; i < v->n; i++) {
			size_t l = strlen(v->v[i]);
			memcpy(p, v->v[i], l);
			p += l;
			*p++ = '\n';
		}
	}
	*p = '\0';
	int rc = hnv_model_load(text, (size_t)(p - text), out, err, errlen);
	explicit_bzero(text, len);
	free(text);
	return rc;
}

/* The first IPv4 PA of the running model (else the first IPv6 one). */
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

static bool my_pa(const struct hnv_sync *s, struct hnv_ip *pa)
{
	struct pa_find f = {0};
	hnv_model_foreach(hnv_core_model(s->core), pa_cb, &f);
	*pa = f.pa;
	return f.found;
}

/* Puts hosts/HOST/pa when it differs from the running PA. */
static void publish_pa(struct hnv_sync *s)
{
	struct hnv_ip pa;
	if (!s->synced || !my_pa(s, &pa)) {
		s->pa_check = false;
		return;
	}
	char ip[64], key[KEY_MAX_LEN + 256], rel[KEY_MAX_LEN], err[512];
	hnv_fmt_ip(&pa, ip, sizeof(ip));
	snprintf(rel, sizeof(rel), "hosts/%s/pa", s->host);
	struct ent *e = t_find(&s->mirror, rel);
	if (e && e->value && strcmp(e->value, ip) == 0) {
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
	t_put(&s->mirror, rel, ip, rev);
	s->pa_check = false;
	hnv_log(HNV_LOG_INFO, "host %s: PA %s published in etcd", s->host, ip);
}

/* Installs local-only lines + the shared lines of this host's routing
 * domains when the latter changed since the last install. */
static void apply(struct hnv_sync *s)
{
	s->dirty = false;
	s->last_apply_ms = hnv_mono_ms();
	if (!s->synced)
		return;
	struct table set = {0};
	struct strv want = {0}, local = {0};
	char err[1024];
	int rc = interests(s, &set);
	if (!rc)
		rc = shared_lines(s, &set, &want);
	t_clear(&set);
	if (rc)
		goto out;
	if (want.n > 1)
		qsort(want.v, want.n, sizeof(*want.v), cmp_str);
	if (s->applied_valid && want.n == s->n_applied) {
		size_t i = 0;
		while (i < want.n && strcmp(want.v[i], s->applied[i]) == 0)
			i++;
		if (i == want.n)
			goto out;
	}
	if (!s->applied_valid) {
		/* after a start, a rollback or a reload: install only when the
		 * running model's shared objects differ */
		struct strv cur = {0};
		bool same = false;
		if (model_lines(hnv_core_model(s->core), false, &cur) == 0 && cur.n == want.n) {
			if (cur.n > 1)
				qsort(cur.v, cur.n, sizeof(*cur.v), cmp_str);
			size_t i = 0;
			while (i < want.n && strcmp(want.v[i], cur.v[i]) == 0)
				i++;
			same = i == want.n;
		}
		sv_free(&cur);
		if (same)
			goto remember;
	}
	if ((rc = model_lines(hnv_core_model(s->core), true, &local)))
		goto out;
	struct hnv_model *m;
	rc = load_lines(&local, &want, &m, err, sizeof(err));
	if (rc == 0) {
		unsigned rev;
		rc = hnv_core_install(s->core, m, &rev, err, sizeof(err));
		if (rc == 0)
			hnv_log(HNV_LOG_INFO,
				"etcd revision %lld applied as revision %u (%zu shared objects)",
				(long long)s->mirror_rev, rev, want.n);
	}
	if (rc)
		hnv_log_rl(&rl_apply, HNV_LOG_ERR,
			   "shared policy at etcd revision %lld refused, keeping the running "
			   "one: %s",
			   (long long)s->mirror_rev, err);
	/* remembered either way: a refused state is not retried until the
	 * shared policy changes again */
remember:
	for (size_t i = 0; i < s->n_applied; i++)
		free(s->applied[i]);
	free(s->applied);
	s->applied = want.v;
	s->n_applied = want.n;
	s->applied_valid = true;
	want.v = NULL;
	want.n = 0;
	s->seen_rev = hnv_core_revision(s->core);
out:
	if (rc == -ENOMEM)
		hnv_log(HNV_LOG_ERR, "etcd sync: out of memory");
	sv_free(&want);
	sv_free(&local);
}

/* ---- source ---- */

int hnv_sync_fd(void *arg, short *events)
{
	struct hnv_sync *s = arg;
	*events = POLLIN;
	return s->efd;
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

/* ---- writing ---- */

/* What a transaction of shared lines becomes. */
struct plan {
	struct table ops;  /* key (relative) -> value, or NULL value: delete */
	struct strv order; /* keys of ops in first-write order */
	struct table cmp;  /* keys compared */
	struct hnv_etcd_txn *txn;
};

static void plan_free(struct plan *p)
{
	t_clear(&p->ops);
	sv_free(&p->order);
	t_clear(&p->cmp);
	hnv_etcd_txn_free(p->txn);
	memset(p, 0, sizeof(*p));
}

static int op_put(struct plan *p, const char *key, const char *value)
{
	if (!t_find(&p->ops, key) && sv_add(&p->order, key))
		return -ENOMEM;
	return t_put(&p->ops, key, value, 0);
}

static int op_del(struct plan *p, const char *key)
{
	if (!t_find(&p->ops, key) && sv_add(&p->order, key))
		return -ENOMEM;
	return t_put(&p->ops, key, NULL, 0);
}

/* Compares key with what the mirror holds (once per key). */
static int cmp_key(struct hnv_sync *s, struct plan *p, const char *rel)
{
	if (t_find(&p->cmp, rel))
		return 0;
	int rc = t_put(&p->cmp, rel, NULL, 0);
	if (rc)
		return rc;
	char key[KEY_MAX_LEN + 256];
	snprintf(key, sizeof(key), "%s%s", s->prefix, rel);
	struct ent *e = t_find(&s->mirror, rel);
	return e ? hnv_etcd_txn_cmp(p->txn, key, NULL, HNV_ETCD_MOD, HNV_ETCD_EQUAL, e->mod_rev)
		 : hnv_etcd_txn_cmp(p->txn, key, NULL, HNV_ETCD_CREATE, HNV_ETCD_EQUAL, 0);
}

/* Indexes of the mirror a transaction needs, updated by its own lines. */
struct index {
	struct table vsid_rd; /* "V" -> R */
	struct table pool_rd; /* pool name -> R */
	struct table port;    /* this host's port name -> key */
	struct table touched; /* routing domains the lines touch */
	bool rd_structure;    /* R of touched lost an rdomain/vsubnet/pool */
	struct table structural;
};

static void index_free(struct index *x)
{
	t_clear(&x->vsid_rd);
	t_clear(&x->pool_rd);
	t_clear(&x->port);
	t_clear(&x->touched);
	t_clear(&x->structural);
}

static int index_build(struct hnv_sync *s, struct index *x)
{
	T_FOREACH(&s->mirror, e)
	{
		char rd[HNV_NAME_MAX + 1], host[HNV_SYNC_HOST_MAX + 1];
		const char *rest;
		enum kt t = key_parse(e->key, rd, host, &rest);
		int rc = 0;
		if (t == K_VSUBNET)
			rc = t_put(&x->vsid_rd, rest, rd, 0);
		else if (t == K_POOL)
			rc = t_put(&x->pool_rd, rest, rd, 0);
		else if (t == K_PORT && strcmp(host, s->host) == 0)
			rc = t_put(&x->port, rest, e->key, 0);
		if (rc)
			return rc;
	}
	return 0;
}

static const char *vsid_rd(struct index *x, uint32_t vsid)
{
	char v[16];
	snprintf(v, sizeof(v), "%u", vsid);
	struct ent *e = t_find(&x->vsid_rd, v);
	return e ? e->value : NULL;
}

/* The routing domain a command is about (NULL: unknown yet; the model's
 * validation then names what is missing). Updates the index for adds. */
static const char *cmd_rd(struct index *x, const struct hnv_conf_cmd *c)
{
	struct ent *e;
	char v[16];
	switch (c->kind) {
	case HNV_CONF_RDOMAIN_ADD:
	case HNV_CONF_RDOMAIN_DEL:
		return c->u.rdomain.name;
	case HNV_CONF_VSUBNET_ADD:
		snprintf(v, sizeof(v), "%u", c->u.vsubnet.vsid);
		t_put(&x->vsid_rd, v, c->u.vsubnet.rdomain, 0);
		return c->u.vsubnet.rdomain;
	case HNV_CONF_VSUBNET_DEL:
		return vsid_rd(x, c->u.vsubnet.vsid);
	case HNV_CONF_POOL_ADD: {
		const char *rd = vsid_rd(x, c->u.pool.vsid);
		if (rd)
			t_put(&x->pool_rd, c->u.pool.name, rd, 0);
		return rd;
	}
	case HNV_CONF_POOL_DEL:
		e = t_find(&x->pool_rd, c->u.pool.name);
		return e ? e->value : NULL;
	case HNV_CONF_PORT_ADD:
		return vsid_rd(x, c->u.port.vsid);
	case HNV_CONF_PORT_DEL:
		e = t_find(&x->port, c->u.port.name);
		if (!e)
			return NULL;
		return e->value; /* a key: rd/R/...; the caller takes R from it */
	case HNV_CONF_LOOKUP_ADD:
	case HNV_CONF_LOOKUP_SET:
	case HNV_CONF_LOOKUP_DEL:
		return vsid_rd(x, c->u.lookup.vsid);
	case HNV_CONF_ROUTE_ADD:
	case HNV_CONF_ROUTE_DEL:
		return c->u.route.rdomain;
	case HNV_CONF_GATEWAY_ADD:
	case HNV_CONF_GATEWAY_DEL:
		return c->u.gateway.rdomain;
	case HNV_CONF_GATEWAY_CA:
	case HNV_CONF_GATEWAY_CA_DEL:
		return c->u.gateway_ca.rdomain;
	default:
		return NULL;
	}
}

static void rd_of_key(const char *key, char rd[HNV_NAME_MAX + 1])
{
	char host[HNV_SYNC_HOST_MAX + 1];
	const char *rest;
	if (key_parse(key, rd, host, &rest) == K_OTHER)
		rd[0] = '\0';
}

static uint32_t ip4(const struct hnv_ip *ip)
{
	return (uint32_t)ip->b[12] << 24 | (uint32_t)ip->b[13] << 16 | (uint32_t)ip->b[14] << 8 |
	       ip->b[15];
}

/* For a port add without --ca: the lowest address of the VSID's pools
 * with no alloc key and no lookup record (nor taken earlier in this
 * transaction, in taken). 1 and *ca, or 0 when there is none (the model
 * then says why). */
static int pick_ca(struct hnv_sync *s, const char *rd, uint32_t vsid, struct table *taken,
		   struct hnv_ip *ca)
{
	char pfx[HNV_NAME_MAX + 32];
	snprintf(pfx, sizeof(pfx), "rd/%s/pool/", rd);
	size_t pl = strlen(pfx);
	uint32_t best = 0;
	bool found = false;
	T_FOREACH(&s->mirror, e)
	{
		if (strncmp(e->key, pfx, pl) != 0 || !e->value)
			continue;
		struct hnv_conf_cmd c;
		char msg[256];
		if (hnv_conf_parse_line(e->value, &c, msg, sizeof(msg)) != 1 ||
		    c.kind != HNV_CONF_POOL_ADD || c.u.pool.vsid != vsid)
			continue;
		uint32_t lo = ip4(&c.u.pool.range.first), hi = ip4(&c.u.pool.range.last);
		for (uint64_t a = lo; a <= hi; a++) {
			if (found && a >= best)
				break;
			uint8_t v4[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8),
					 (uint8_t)a};
			struct hnv_ip ip;
			hnv_ip_from_v4(&ip, v4);
			char ips[64], k[KEY_MAX_LEN];
			hnv_fmt_ip(&ip, ips, sizeof(ips));
			snprintf(k, sizeof(k), "rd/%s/alloc/%u/%s", rd, vsid, ips);
			if (t_find(&s->mirror, k) || t_find(taken, k))
				continue;
			snprintf(k, sizeof(k), "rd/%s/lookup/%u/%s", rd, vsid, ips);
			if (t_find(&s->mirror, k))
				continue;
			best = (uint32_t)a;
			*ca = ip;
			found = true;
			break;
		}
	}
	if (found) {
		char ips[64], k[KEY_MAX_LEN];
		hnv_fmt_ip(ca, ips, sizeof(ips));
		snprintf(k, sizeof(k), "rd/%s/alloc/%u/%s", rd, vsid, ips);
		t_put(taken, k, NULL, 0);
	}
	return found;
}

/* Finds objects of the validated view. */
struct find {
	enum hnv_conf_kind kind;
	const struct hnv_conf_cmd *want;
	struct hnv_conf_cmd got;
	bool found;
};

static int find_cb(const struct hnv_conf_cmd *c, void *arg)
{
	struct find *f = arg;
	if (c->kind != f->kind)
		return 0;
	bool match = false;
	if (c->kind == HNV_CONF_PORT_ADD)
		match = strcmp(c->u.port.name, f->want->u.port.name) == 0;
	else if (c->kind == HNV_CONF_LOOKUP_ADD)
		match = c->u.lookup.vsid == f->want->u.lookup.vsid &&
			hnv_ip_eq(&c->u.lookup.ca, &f->want->u.lookup.ca) &&
			(!hnv_ip_is_unspec(&c->u.lookup.ca) ||
			 hnv_mac_eq(&c->u.lookup.mac, &f->want->u.lookup.mac));
	if (match) {
		f->got = *c;
		f->found = true;
		return 1;
	}
	return 0;
}

static void lookup_key(const char *rd, const struct hnv_conf_lookup *l, char *k, size_t len)
{
	char a[64];
	if (hnv_ip_is_unspec(&l->ca)) {
		hnv_fmt_mac(&l->mac, a, sizeof(a));
		snprintf(k, len, "rd/%s/lookup/%u/mac-%s", rd, l->vsid, a);
	} else {
		hnv_fmt_ip(&l->ca, a, sizeof(a));
		snprintf(k, len, "rd/%s/lookup/%u/%s", rd, l->vsid, a);
	}
}

/* The lookup record of a port's CA, pointing at pa. */
static int port_lookup_line(const struct hnv_conf_port *p, unsigned i, const struct hnv_ip *pa,
			    char *line, size_t len)
{
	struct hnv_conf_cmd c;
	memset(&c, 0, sizeof(c));
	c.kind = HNV_CONF_LOOKUP_ADD;
	c.u.lookup.vsid = p->vsid;
	c.u.lookup.ca = p->cas[i];
	c.u.lookup.pa = *pa;
	c.u.lookup.mac = p->mac;
	c.u.lookup.rule = HNV_RULE_ENCAP;
	c.u.lookup.type = HNV_TYPE_STATIC;
	snprintf(c.u.lookup.vm_name, sizeof(c.u.lookup.vm_name), "%s", p->name);
	return hnv_conf_format(&c, false, line, len);
}

/* Puts a port's key, lookup records (with pa) and alloc keys. */
static int plan_port_put(struct plan *p, const char *rd, const char *host,
			 const struct hnv_conf_cmd *port, const struct hnv_ip *pa)
{
	char k[KEY_MAX_LEN], line[LINE_MAX_LEN], v[HNV_SYNC_HOST_MAX + HNV_NAME_MAX + 2];
	int rc = hnv_conf_format(port, false, line, sizeof(line));
	if (rc)
		return rc;
	snprintf(k, sizeof(k), "rd/%s/port/%s/%s", rd, host, port->u.port.name);
	if ((rc = op_put(p, k, line)))
		return rc;
	snprintf(v, sizeof(v), "%s/%s", host, port->u.port.name);
	for (unsigned i = 0; i < port->u.port.n_cas; i++) {
		struct hnv_conf_lookup l = {.vsid = port->u.port.vsid, .ca = port->u.port.cas[i]};
		char a[64];
		hnv_fmt_ip(&l.ca, a, sizeof(a));
		snprintf(k, sizeof(k), "rd/%s/alloc/%u/%s", rd, l.vsid, a);
		if ((rc = op_put(p, k, v)))
			return rc;
		if (!pa)
			continue;
		lookup_key(rd, &l, k, sizeof(k));
		if ((rc = port_lookup_line(&port->u.port, i, pa, line, sizeof(line))) ||
		    (rc = op_put(p, k, line)))
			return rc;
	}
	return 0;
}

/* Deletes a port's key, its lookup records and alloc keys (from the
 * port line stored at key). */
static int plan_port_del(struct hnv_sync *s, struct plan *p, const char *key)
{
	struct ent *e = t_find(&s->mirror, key);
	int rc = op_del(p, key);
	if (rc || !e || !e->value)
		return rc;
	char rd[HNV_NAME_MAX + 1], msg[256], k[KEY_MAX_LEN];
	rd_of_key(key, rd);
	struct hnv_conf_cmd c;
	if (hnv_conf_parse_line(e->value, &c, msg, sizeof(msg)) != 1 || c.kind != HNV_CONF_PORT_ADD)
		return 0;
	for (unsigned i = 0; i < c.u.port.n_cas; i++) {
		struct hnv_conf_lookup l = {.vsid = c.u.port.vsid, .ca = c.u.port.cas[i]};
		char a[64];
		hnv_fmt_ip(&l.ca, a, sizeof(a));
		snprintf(k, sizeof(k), "rd/%s/alloc/%u/%s", rd, l.vsid, a);
		if ((rc = op_del(p, k)))
			return rc;
		lookup_key(rd, &l, k, sizeof(k));
		struct ent *le = t_find(&s->mirror, k);
		struct hnv_conf_cmd lc;
		/* only the record the port made (same MAC) */
		if (le && le->value && hnv_conf_parse_line(le->value, &lc, msg, sizeof(msg)) == 1 &&
		    lc.kind == HNV_CONF_LOOKUP_ADD && hnv_mac_eq(&lc.u.lookup.mac, &c.u.port.mac) &&
		    (rc = op_del(p, k)))
			return rc;
	}
	return 0;
}

/* A guard key (uniqueness across routing domains) a new object takes:
 * refused when another domain holds it. */
static int guard(struct hnv_sync *s, struct plan *p, const char *key, const char *rd,
		 const char *what, char *err, size_t errlen)
{
	struct ent *e = t_find(&s->mirror, key);
	struct ent *o = t_find(&p->ops, key);
	if ((e && e->value && !(o && !o->value)) || (o && o->value)) {
		hnv_seterr(err, errlen, "%s already exists in routing domain \"%s\"", what,
		       o && o->value ? o->value : e->value);
		return -EEXIST;
	}
	return op_put(p, key, rd);
}

/* The etcd operations of one validated command (view: the model after
 * the transaction). */
static int plan_cmd(struct hnv_sync *s, struct plan *p, struct index *x,
		    const struct hnv_conf_cmd *c, const char *rd, const struct hnv_model *view,
		    char *err, size_t errlen)
{
	char k[KEY_MAX_LEN], line[LINE_MAX_LEN], a[64], b[64];
	int rc = 0;
	struct find f = {.want = c};
	if (c->kind != HNV_CONF_PORT_DEL && (!rd || !name_ok(rd))) {
		hnv_seterr(err, errlen, "cannot share an object of routing domain \"%s\" in etcd",
		       rd ? rd : "?");
		return -EINVAL;
	}
	switch (c->kind) {
	case HNV_CONF_RDOMAIN_ADD:
		hnv_fmt_guid(&c->u.rdomain.rdid, a, sizeof(a));
		snprintf(k, sizeof(k), "guard/rdid/%s", a);
		snprintf(b, sizeof(b), "RDID %.40s", a);
		if ((rc = guard(s, p, k, rd, b, err, errlen)))
			return rc;
		snprintf(k, sizeof(k), "rd/%s/rdomain", rd);
		break;
	case HNV_CONF_RDOMAIN_DEL: {
		snprintf(k, sizeof(k), "rd/%s/rdomain", rd);
		struct ent *e = t_find(&s->mirror, k);
		struct hnv_conf_cmd rc_;
		char msg[256];
		if (e && e->value && hnv_conf_parse_line(e->value, &rc_, msg, sizeof(msg)) == 1 &&
		    rc_.kind == HNV_CONF_RDOMAIN_ADD) {
			char g[64], gk[KEY_MAX_LEN];
			hnv_fmt_guid(&rc_.u.rdomain.rdid, g, sizeof(g));
			snprintf(gk, sizeof(gk), "guard/rdid/%s", g);
			if ((rc = op_del(p, gk)))
				return rc;
		}
		t_put(&x->structural, rd, NULL, 0);
		return op_del(p, k);
	}
	case HNV_CONF_VSUBNET_ADD:
	case HNV_CONF_VSUBNET_DEL:
		snprintf(a, sizeof(a), "guard/vsid/%u", c->u.vsubnet.vsid);
		snprintf(b, sizeof(b), "VSID %u", c->u.vsubnet.vsid);
		if ((rc = c->kind == HNV_CONF_VSUBNET_ADD ? guard(s, p, a, rd, b, err, errlen)
							  : op_del(p, a)))
			return rc;
		snprintf(k, sizeof(k), "rd/%s/vsubnet/%u", rd, c->u.vsubnet.vsid);
		if (c->kind == HNV_CONF_VSUBNET_DEL) {
			t_put(&x->structural, rd, NULL, 0);
			return op_del(p, k);
		}
		break;
	case HNV_CONF_POOL_ADD:
	case HNV_CONF_POOL_DEL:
		if (!name_ok(c->u.pool.name)) {
			hnv_seterr(err, errlen, "pool name \"%s\" cannot be an etcd key",
			       c->u.pool.name);
			return -EINVAL;
		}
		snprintf(a, sizeof(a), "guard/pool/%.50s", c->u.pool.name);
		snprintf(b, sizeof(b), "pool \"%.40s\"", c->u.pool.name);
		if ((rc = c->kind == HNV_CONF_POOL_ADD ? guard(s, p, a, rd, b, err, errlen)
						       : op_del(p, a)))
			return rc;
		snprintf(k, sizeof(k), "rd/%s/pool/%s", rd, c->u.pool.name);
		if (c->kind == HNV_CONF_POOL_DEL) {
			/* addresses held on other hosts are not ports of the
			 * view: their alloc keys name them */
			char pfx[KEY_MAX_LEN];
			struct ent *pe = t_find(&s->mirror, k);
			struct hnv_conf_cmd pc;
			char msg[256];
			if (pe && pe->value &&
			    hnv_conf_parse_line(pe->value, &pc, msg, sizeof(msg)) == 1 &&
			    pc.kind == HNV_CONF_POOL_ADD) {
				snprintf(pfx, sizeof(pfx), "rd/%s/alloc/%u/", rd, pc.u.pool.vsid);
				size_t pl = strlen(pfx);
				uint32_t lo = ip4(&pc.u.pool.range.first),
					 hi = ip4(&pc.u.pool.range.last);
				T_FOREACH(&s->mirror, e)
				{
					struct hnv_ip ip;
					if (strncmp(e->key, pfx, pl) ||
					    hnv_parse_ip(e->key + pl, &ip) || !hnv_ip_is_v4(&ip) ||
					    ip4(&ip) < lo || ip4(&ip) > hi)
						continue;
					hnv_seterr(err, errlen,
					       "pool del: pool \"%s\" is in use: %s holds %s "
					       "(delete "
					       "the port first)",
					       c->u.pool.name, e->value ? e->value : "?",
					       e->key + pl);
					return -EBUSY;
				}
			}
			t_put(&x->structural, rd, NULL, 0);
			return op_del(p, k);
		}
		break;
	case HNV_CONF_PORT_ADD:
		if (!name_ok(c->u.port.name)) {
			hnv_seterr(err, errlen, "port name \"%s\" cannot be an etcd key",
			       c->u.port.name);
			return -EINVAL;
		}
		f.kind = HNV_CONF_PORT_ADD;
		hnv_model_foreach(view, find_cb, &f);
		if (!f.found) {
			hnv_seterr(err, errlen, "port add: port \"%s\" missing after validation",
			       c->u.port.name);
			return -EINVAL;
		}
		{
			struct hnv_ip pa;
			bool has_pa = my_pa(s, &pa);
			snprintf(k, sizeof(k), "rd/%s/port/%s/%s", rd, s->host, c->u.port.name);
			t_put(&x->port, c->u.port.name, k, 0);
			return plan_port_put(p, rd, s->host, &f.got, has_pa ? &pa : NULL);
		}
	case HNV_CONF_PORT_DEL: {
		struct ent *e = t_find(&x->port, c->u.port.name);
		if (!e) {
			hnv_seterr(err, errlen, "port del: port \"%s\" not found", c->u.port.name);
			return -ENOENT;
		}
		char key[KEY_MAX_LEN];
		snprintf(key, sizeof(key), "%s", e->value);
		t_del(&x->port, c->u.port.name);
		return plan_port_del(s, p, key);
	}
	case HNV_CONF_LOOKUP_ADD:
	case HNV_CONF_LOOKUP_SET:
		lookup_key(rd, &c->u.lookup, k, sizeof(k));
		f.kind = HNV_CONF_LOOKUP_ADD;
		hnv_model_foreach(view, find_cb, &f);
		if (!f.found) {
			hnv_seterr(err, errlen, "lookup: record missing after validation");
			return -EINVAL;
		}
		if ((rc = hnv_conf_format(&f.got, false, line, sizeof(line))))
			return rc;
		return op_put(p, k, line);
	case HNV_CONF_LOOKUP_DEL:
		lookup_key(rd, &c->u.lookup, k, sizeof(k));
		return op_del(p, k);
	case HNV_CONF_ROUTE_ADD:
	case HNV_CONF_ROUTE_DEL:
		hnv_fmt_prefix(&c->u.route.prefix, a, sizeof(a));
		hnv_fmt_ip(&c->u.route.nexthop, b, sizeof(b));
		snprintf(k, sizeof(k), "rd/%s/route/%s@%s", rd, a, b);
		if (c->kind == HNV_CONF_ROUTE_DEL)
			return op_del(p, k);
		break;
	case HNV_CONF_GATEWAY_ADD:
		snprintf(k, sizeof(k), "rd/%s/gw/%s", rd, s->host);
		break;
	case HNV_CONF_GATEWAY_DEL: {
		snprintf(k, sizeof(k), "rd/%s/gwca/%s/", rd, s->host);
		size_t kl = strlen(k);
		T_FOREACH(&s->mirror, e)
		if (strncmp(e->key, k, kl) == 0 && (rc = op_del(p, e->key)))
			return rc;
		snprintf(k, sizeof(k), "rd/%s/gw/%s", rd, s->host);
		return op_del(p, k);
	}
	case HNV_CONF_GATEWAY_CA:
	case HNV_CONF_GATEWAY_CA_DEL:
		hnv_fmt_ip(&c->u.gateway_ca.ca, a, sizeof(a));
		snprintf(k, sizeof(k), "rd/%s/gwca/%s/%u/%s", rd, s->host, c->u.gateway_ca.vsid, a);
		if (c->kind == HNV_CONF_GATEWAY_CA_DEL)
			return op_del(p, k);
		break;
	default:
		hnv_seterr(err, errlen, "not a shared object");
		return -EINVAL;
	}
	if ((rc = hnv_conf_format(c, false, line, sizeof(line))))
		return rc;
	return op_put(p, k, line);
}

/* The txn of a plan: compares, then operations. */
static int plan_txn(struct hnv_sync *s, struct plan *p, struct index *x)
{
	if (!(p->txn = hnv_etcd_txn_new()))
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < p->order.n && !rc; i++)
		rc = cmp_key(s, p, p->order.v[i]);
	/* what the lines depend on: the touched routing domains' rdomain,
	 * vsubnet and pool keys */
	T_FOREACH(&s->mirror, e)
	{
		char rd[HNV_NAME_MAX + 1], host[HNV_SYNC_HOST_MAX + 1];
		const char *rest;
		enum kt t = key_parse(e->key, rd, host, &rest);
		if ((t == K_RDOMAIN || t == K_VSUBNET || t == K_POOL) && t_find(&x->touched, rd) &&
		    (rc = cmp_key(s, p, e->key)))
			return rc;
	}
	/* deleting structure: nothing in the domain changed unseen */
	T_FOREACH(&x->structural, e)
	{
		char k[KEY_MAX_LEN + 256], end[KEY_MAX_LEN + 256];
		snprintf(k, sizeof(k), "%srd/%.*s/", s->prefix, HNV_NAME_MAX, e->key);
		hnv_etcd_prefix_end(k, end, sizeof(end));
		if ((rc = hnv_etcd_txn_cmp(p->txn, k, end, HNV_ETCD_MOD, HNV_ETCD_LESS,
					   s->mirror_rev + 1)))
			return rc;
	}
	for (size_t i = 0; i < p->order.n && !rc; i++) {
		char k[KEY_MAX_LEN + 256];
		struct ent *e = t_find(&p->ops, p->order.v[i]);
		snprintf(k, sizeof(k), "%s%s", s->prefix, p->order.v[i]);
		rc = e->value ? hnv_etcd_txn_put(p->txn, k, e->value)
			      : hnv_etcd_txn_del(p->txn, k, NULL);
	}
	return rc;
}

/* Applies a committed plan to the mirror at revision rev. */
static void plan_done(struct hnv_sync *s, struct plan *p, int64_t rev)
{
	for (size_t i = 0; i < p->order.n; i++) {
		struct ent *e = t_find(&p->ops, p->order.v[i]);
		if (e->value)
			t_put(&s->mirror, e->key, e->value, rev);
		else
			t_del(&s->mirror, e->key);
	}
}

/* Builds the plan of shared lines: validation on the view, then keys. */
static int plan_build(struct hnv_sync *s, const char *const *lines, size_t n, struct plan *p,
		      char *err, size_t errlen)
{
	struct index x = {0};
	struct table taken = {0}, set = {0};
	struct strv rewritten = {0}, local = {0}, shared = {0};
	struct hnv_conf_cmd *cmds = calloc(n, sizeof(*cmds));
	struct hnv_model *view = NULL, *after = NULL;
	const char **rdv = calloc(n, sizeof(*rdv));
	char(*rdbuf)[HNV_NAME_MAX + 1] = calloc(n, sizeof(*rdbuf));
	bool *is_cmd = calloc(n, sizeof(*is_cmd));
	int rc = -ENOMEM;
	if (!cmds || !rdv || !rdbuf || !is_cmd || index_build(s, &x))
		goto out;
	/* which routing domains; addresses for port add without --ca */
	for (size_t i = 0; i < n; i++) {
		char msg[512];
		int prc = hnv_conf_parse_line(lines[i], &cmds[i], msg, sizeof(msg));
		if (prc < 0) {
			hnv_seterr(err, errlen, "line %zu: %s", i + 1, msg);
			rc = prc;
			goto out;
		}
		const char *line = lines[i];
		char fixed[LINE_MAX_LEN];
		is_cmd[i] = prc == 1;
		if (prc == 1) {
			const char *rd = cmd_rd(&x, &cmds[i]);
			if (rd && cmds[i].kind == HNV_CONF_PORT_DEL) {
				rd_of_key(rd, rdbuf[i]);
				rd = rdbuf[i];
			} else if (rd) {
				snprintf(rdbuf[i], sizeof(rdbuf[i]), "%s", rd);
				rd = rdbuf[i];
			}
			rdv[i] = rd;
			if (rd && (rc = t_put(&x.touched, rd, NULL, 0)))
				goto out;
			struct hnv_ip ca;
			if (rd && cmds[i].kind == HNV_CONF_PORT_ADD && cmds[i].u.port.n_cas == 0 &&
			    pick_ca(s, rd, cmds[i].u.port.vsid, &taken, &ca)) {
				char a[64];
				hnv_fmt_ip(&ca, a, sizeof(a));
				snprintf(fixed, sizeof(fixed), "%s --ca %s", lines[i], a);
				line = fixed;
				cmds[i].u.port.cas[0] = ca;
				cmds[i].u.port.n_cas = 1;
			}
		}
		if ((rc = sv_add(&rewritten, line)))
			goto out;
	}
	/* the view: local objects, this host's domains and the touched ones */
	if ((rc = interests(s, &set)))
		goto out;
	T_FOREACH(&x.touched, e)
	if ((rc = t_put(&set, e->key, NULL, 0)))
		goto out;
	if ((rc = model_lines(hnv_core_model(s->core), true, &local)) ||
	    (rc = shared_lines(s, &set, &shared)))
		goto out;
	char verr[512];
	if ((rc = load_lines(&local, &shared, &view, verr, sizeof(verr)))) {
		hnv_seterr(err, errlen, "the shared policy in etcd does not validate here: %s", verr);
		goto out;
	}
	if ((rc = hnv_model_transact(view, (const char *const *)rewritten.v, rewritten.n, &after,
				     err, errlen)))
		goto out;
	for (size_t i = 0; i < n && !rc; i++)
		if (is_cmd[i])
			rc = plan_cmd(s, p, &x, &cmds[i], rdv[i], after, err, errlen);
	if (!rc)
		rc = plan_txn(s, p, &x);
out:
	if (rc == -ENOMEM && !*err)
		hnv_seterr(err, errlen, "out of memory");
	if (cmds)
		explicit_bzero(cmds, n * sizeof(*cmds));
	free(cmds);
	free(rdv);
	free(rdbuf);
	free(is_cmd);
	hnv_model_free(view);
	hnv_model_free(after);
	sv_free(&rewritten);
	sv_free(&local);
	sv_free(&shared);
	t_clear(&taken);
	t_clear(&set);
	index_free(&x);
	return rc;
}

/* port move NAME --to HOST */
static int parse_move(const char *line, char *name, char *to, char *err, size_t errlen)
{
	char w[4][128];
	int got = 0, used = 0;
	const char *p = line;
	while (got < 4) {
		p += strspn(p, " \t");
		if (!*p)
			break;
		size_t l = strcspn(p, " \t");
		if (l >= sizeof(w[0])) {
			hnv_seterr(err, errlen, "port move: word too long");
			return -EINVAL;
		}
		memcpy(w[got], p, l);
		w[got][l] = '\0';
		got++;
		p += l;
	}
	p += strspn(p, " \t");
	(void)used;
	/* w: port move NAME --to HOST (5 words); re-read the tail */
	if (got < 4 || strcmp(w[0], "port") || strcmp(w[1], "move") || strcmp(w[3], "--to")) {
		hnv_seterr(err, errlen, "usage: port move NAME --to HOST");
		return -EINVAL;
	}
	size_t l = strcspn(p, " \t");
	if (l == 0 || l > HNV_SYNC_HOST_MAX || p[l + strspn(p + l, " \t")] != '\0') {
		hnv_seterr(err, errlen, "usage: port move NAME --to HOST");
		return -EINVAL;
	}
	memcpy(to, p, l);
	to[l] = '\0';
	if (strlen(w[2]) > HNV_NAME_MAX) {
		hnv_seterr(err, errlen, "port move: port name too long");
		return -EINVAL;
	}
	memcpy(name, w[2], strlen(w[2]) + 1);
	if (hnv_sync_host_valid(to)) {
		hnv_seterr(err, errlen, "port move: bad host name \"%s\"", to);
		return -EINVAL;
	}
	return 0;
}

static int plan_move(struct hnv_sync *s, const char *line, struct plan *p, char *err, size_t errlen)
{
	char name[HNV_NAME_MAX + 1], to[HNV_SYNC_HOST_MAX + 1];
	int rc = parse_move(line, name, to, err, errlen);
	if (rc)
		return rc;
	/* the port: this host's, else the only one of that name */
	const char *key = NULL;
	int found = 0;
	T_FOREACH(&s->mirror, e)
	{
		char rd[HNV_NAME_MAX + 1], host[HNV_SYNC_HOST_MAX + 1];
		const char *rest;
		if (key_parse(e->key, rd, host, &rest) != K_PORT || strcmp(rest, name) != 0)
			continue;
		if (strcmp(host, s->host) == 0) {
			key = e->key;
			found = 1;
			break;
		}
		key = e->key;
		found++;
	}
	if (found == 0) {
		hnv_seterr(err, errlen, "port move: port \"%s\" not found in etcd", name);
		return -ENOENT;
	}
	if (found > 1) {
		hnv_seterr(err, errlen,
		       "port move: several hosts have a port \"%s\": run it on the source host",
		       name);
		return -EINVAL;
	}
	char rd[HNV_NAME_MAX + 1], host[HNV_SYNC_HOST_MAX + 1], pk[KEY_MAX_LEN], msg[256];
	const char *rest;
	key_parse(key, rd, host, &rest);
	if (strcmp(host, to) == 0) {
		hnv_seterr(err, errlen, "port move: port \"%s\" is already on host %s", name, to);
		return -EEXIST;
	}
	snprintf(pk, sizeof(pk), "hosts/%s/pa", to);
	struct ent *pe = t_find(&s->mirror, pk);
	struct hnv_ip pa;
	if (!pe || !pe->value || hnv_parse_ip(pe->value, &pa)) {
		hnv_seterr(err, errlen, "port move: host \"%s\" has no PA in etcd (%s%s)", to,
		       s->prefix, pk);
		return -ENOENT;
	}
	struct ent *e = t_find(&s->mirror, key);
	struct hnv_conf_cmd c;
	if (!e->value || hnv_conf_parse_line(e->value, &c, msg, sizeof(msg)) != 1 ||
	    c.kind != HNV_CONF_PORT_ADD) {
		hnv_seterr(err, errlen, "port move: %s%s does not hold a port add line", s->prefix,
		       key);
		return -EINVAL;
	}
	char dst[KEY_MAX_LEN];
	snprintf(dst, sizeof(dst), "rd/%s/port/%s/%s", rd, to, name);
	if (t_find(&s->mirror, dst)) {
		hnv_seterr(err, errlen, "port move: host %s already has a port \"%s\"", to, name);
		return -EEXIST;
	}
	if ((rc = op_del(p, key)) || (rc = plan_port_put(p, rd, to, &c, &pa)))
		return rc;
	struct index x = {0};
	if (t_put(&x.touched, rd, NULL, 0)) {
		index_free(&x);
		return -ENOMEM;
	}
	rc = plan_txn(s, p, &x);
	index_free(&x);
	return rc;
}

int hnv_sync_exec(void *arg, const char *const *lines, size_t n, unsigned confirm,
		  json_object **result, char *err, size_t errlen)
{
	struct hnv_sync *s = arg;
	size_t n_local = 0, n_shared = 0;
	bool move = false;
	for (size_t i = 0; i < n; i++) {
		const char *l = lines[i] + strspn(lines[i], " \t");
		if (strncmp(l, "port", 4) == 0 &&
		    strncmp(l + 4 + strspn(l + 4, " \t"), "move", 4) == 0) {
			move = true;
			continue;
		}
		struct hnv_conf_cmd c;
		char msg[512];
		int prc = hnv_conf_parse_line(lines[i], &c, msg, sizeof(msg));
		bool loc = prc == 1 && local_kind(c.kind);
		explicit_bzero(&c, sizeof(c));
		if (prc < 0)
			return 1; /* the core reports it with its line number */
		if (prc == 1)
			loc ? n_local++ : n_shared++;
	}
	if (move && n != 1) {
		hnv_seterr(err, errlen, "port move must be alone in its transaction");
		return -EINVAL;
	}
	if (!move && n_shared == 0) {
		s->pa_check = true; /* a PA may change */
		s->pa_retry_ms = 0;
		return 1;
	}
	if (n_local) {
		hnv_seterr(err, errlen,
		       "a transaction may not mix local objects (pa, proute, global, s2s) with "
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
		hnv_seterr(err, errlen, "etcd not reached yet (%s): nothing was changed",
		       hnv_etcd_current(s->wr));
		return -EHOSTUNREACH;
	}
	for (unsigned attempt = 0; attempt < HNV_SYNC_RETRIES; attempt++) {
		drain(s);
		struct plan p = {0};
		err[0] = '\0';
		int rc = move ? plan_move(s, lines[0], &p, err, errlen)
			      : plan_build(s, lines, n, &p, err, errlen);
		if (rc) {
			plan_free(&p);
			return rc;
		}
		bool ok;
		int64_t rev;
		char e[768];
		rc = hnv_etcd_txn_commit(s->wr, p.txn, &ok, &rev, e, sizeof(e));
		if (rc) {
			plan_free(&p);
			hnv_seterr(err, errlen, "%s; nothing was changed", e);
			return rc;
		}
		if (ok) {
			plan_done(s, &p, rev);
			size_t nops = p.order.n;
			plan_free(&p);
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
		plan_free(&p);
		/* another host changed what we depend on: see it, then again */
		catch_up(s, rev, 1000);
	}
	hnv_seterr(err, errlen, "etcd: other hosts kept changing the same objects; tried %d times",
	       HNV_SYNC_RETRIES);
	return -EAGAIN;
}

/* ---- lifecycle ---- */

int hnv_sync_new(struct hnv_core *core, const struct hnv_sync_opts *o, struct hnv_sync **out,
		 char *err, size_t errlen)
{
	if (!o->host || hnv_sync_host_valid(o->host)) {
		hnv_seterr(err, errlen,
		       "--host-name \"%s\": want 1-%d letters, digits, '_', '.' or '-' (etcd needs "
		       "a host name)",
		       o->host ? o->host : "", HNV_SYNC_HOST_MAX);
		return -EINVAL;
	}
	const char *prefix = o->prefix ? o->prefix : HNV_SYNC_DEFAULT_PREFIX;
	size_t pl = strlen(prefix);
	if (pl == 0 || pl > 200 || prefix[pl - 1] != '/') {
		hnv_seterr(err, errlen, "etcd prefix \"%s\": must end in '/'", prefix);
		return -EINVAL;
	}
	struct hnv_sync *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->host, sizeof(s->host), "%s", o->host);
	snprintf(s->prefix, sizeof(s->prefix), "%s", prefix);
	hnv_etcd_prefix_end(prefix, s->prefix_end, sizeof(s->prefix_end));
	s->plen = pl;
	s->core = core;
	s->tail = &s->head;
	s->efd = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	int rc;
	if ((rc = hnv_etcd_new(o->urls, HNV_SYNC_TIMEOUT_MS, &s->wr, err, errlen)) ||
	    (rc = hnv_etcd_new(o->urls, HNV_SYNC_TIMEOUT_MS, &s->wa, err, errlen)))
		goto fail;
	if ((s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		rc = -errno;
		hnv_seterr(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((rc = -pthread_create(&s->thread, NULL, watch_main, s))) {
		hnv_seterr(err, errlen, "cannot start the etcd watch thread: %s", strerror(-rc));
		goto fail;
	}
	s->thread_started = true;
	hnv_core_set_exec_hook(core, hnv_sync_exec, s);
	*out = s;
	return 0;
fail:
	hnv_sync_free(s);
	return rc;
}

void hnv_sync_free(struct hnv_sync *s)
{
	if (!s)
		return;
	if (s->thread_started) {
		hnv_core_set_exec_hook(s->core, NULL, NULL);
		pthread_mutex_lock(&s->mu);
		s->stop = 1;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	for (struct msg *m = s->head, *nx; m; m = nx) {
		nx = m->next;
		msg_free(m);
	}
	t_clear(&s->mirror);
	for (size_t i = 0; i < s->n_applied; i++)
		free(s->applied[i]);
	free(s->applied);
	hnv_etcd_free(s->wr);
	hnv_etcd_free(s->wa);
	if (s->efd >= 0)
		close(s->efd);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cond);
	free(s);
}
