/* pool_tenants.c: a gateway pool's tenants (docs/gateway-pool.md):
 * election on the view thread, serving on the control thread.
 *
 * Keys under the shared-policy prefix:
 *   pool/NAME/tenant/R   "R"     written with rd/R/gw/@NAME (sync_plan.c)
 *   pool/NAME/active/R   "HOST"  bound to HOST's lease, created only with
 *                                a create_revision == 0 compare
 *
 * Every VIEW_MS the view thread reads both ranges at one revision. An
 * unowned tenant goes to the member pool_elect.c places it on, at once;
 * any other live member claims it when it has stayed unowned for one TTL
 * (a member with a wrong view cannot leave a tenant unserved). A member
 * claims only while its own clock says its lease is alive (not fenced).
 * The tenants whose active key is this member's and bound to its current
 * lease are the ones it holds; the control thread hands them to the sync
 * (hnv_sync_pool_held) only while the member is not fenced and under that
 * same lease, so a fenced member serves none: the sync deletes their
 * gateways at once, before etcd can expire the lease.
 *
 * Record move: for each held tenant, the lookup record of each of its
 * gateway CAs (rd/R/lookup/V/CA for rd/R/gwca/@NAME/V/CA), and the
 * gateway-wildcard record of its VSID and MAC (rd/R/lookup/V/mac-MAC), is
 * rewritten to this member's PA (hosts/HOST/pa) in a transaction that
 * also compares the active key's create_revision with this member's claim,
 * so that a member that lost the tenant meanwhile never moves them back.
 * A reading looks at the records of the tenants just claimed and of those
 * whose records or gateway CAs were written since the last reading (one
 * keys-only read), not at every tenant held. The claims of one reading go
 * to etcd in one transaction, and so do its record moves: a takeover waits
 * for two writes, not two per tenant and one per record.
 */
#include "pool_int.h"

#include "../../gateway/gw.h"
#include "../../gateway/retain.h"
#include "../../lib/addr.h"
#include "../../lib/clock.h"
#include "../../lib/log.h"
#include "../../lib/vec.h"
#include "../conftext.h"
#include "../etcd.h"
#include "pool_elect.h"
#include "sync_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What the view thread remembers of a tenant between readings. */
struct pool_tstate {
	char holder[HNV_SYNC_HOST_MAX + 1];
	int64_t since_wall_ms;
	int64_t unowned_since; /* mono ms; 0: owned */
	bool seen;             /* in the last reading */
	bool dirty;            /* its lookup records may not be at this member's PA */
};

static int64_t wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The routing domain a key names after prefix pfx, or NULL when it is not
 * one (empty, too long, a '/' in it). */
static const char *rd_of(const struct hnv_etcd_kv *kv, const char *pfx)
{
	size_t pl = strlen(pfx);
	if (kv->keylen <= pl || strlen(kv->key) != kv->keylen || kv->keylen - pl > HNV_NAME_MAX)
		return NULL;
	const char *rd = kv->key + pl;
	return strchr(rd, '/') || !strcmp(rd, ".") || !strcmp(rd, "..") ? NULL : rd;
}

static const struct hnv_etcd_kv *active_of(const struct hnv_etcd_kvs *ak, const char *pfx,
					   const char *rd)
{
	for (size_t i = 0; i < ak->n; i++) {
		const char *r = rd_of(&ak->v[i], pfx);
		if (r && strcmp(r, rd) == 0)
			return &ak->v[i];
	}
	return NULL;
}

/* The holder an active key names, or "" when its value is not a host. */
static void holder_of(const struct hnv_etcd_kv *kv, char out[HNV_SYNC_HOST_MAX + 1])
{
	out[0] = '\0';
	if (kv && kv->vlen <= HNV_SYNC_HOST_MAX && strlen(kv->value) == kv->vlen &&
	    hnv_sync_host_valid(kv->value) == 0)
		memcpy(out, kv->value, kv->vlen + 1);
}

/* Claims the tenants rds[0..k) under lease in one transaction, each
 * active key compared with create_revision 0: 0 and *rev (the keys'
 * create_revision) when all were won, -EEXIST when another member was
 * first for one of them (and none was claimed), or a negative errno. */
static int claim_txn(struct hnv_pool *p, const char *const *rds, size_t k, int64_t lease,
		     int64_t *rev)
{
	char key[KEY_MAX * 2], err[768] = "";
	struct hnv_etcd_txn *t = hnv_etcd_txn_new();
	bool ok = false;
	int rc = t ? 0 : -ENOMEM;
	for (size_t j = 0; !rc && j < k; j++) {
		snprintf(key, sizeof(key), "%s%s", p->actives, rds[j]);
		if ((rc = hnv_etcd_txn_cmp(t, key, NULL, HNV_ETCD_CREATE, HNV_ETCD_EQUAL, 0)) == 0)
			rc = hnv_etcd_txn_put_lease(t, key, p->host, lease);
	}
	if (!rc)
		rc = hnv_etcd_txn_commit(p->vw, t, &ok, rev, err, sizeof(err));
	hnv_etcd_txn_free(t);
	if (rc)
		hnv_log(HNV_LOG_WARNING, "gateway pool %s: claim of %s%s: %s", p->name, rds[0],
			k > 1 ? " and others" : "", err[0] ? err : strerror(-rc));
	return rc ? rc : ok ? 0 : -EEXIST;
}

/* Claims the tenants rds[0..n) under lease, CLAIMS_PER_TXN a transaction
 * (one compare and one put each, under etcd's --max-txn-ops of 128), so
 * that a takeover of several tenants waits for one write, not one each:
 * revs[i] is the claim's create_revision, or 0 for a tenant not won. A
 * transaction whose compare failed (another member was first for one of
 * them) is tried again one tenant at a time; one etcd did not take is
 * not (the next reading tries again). */
#define CLAIMS_PER_TXN 100
static void claim_many(struct hnv_pool *p, const char *const *rds, size_t n, int64_t lease,
		       int64_t *revs)
{
	for (size_t i = 0; i < n; i += CLAIMS_PER_TXN) {
		size_t k = n - i < CLAIMS_PER_TXN ? n - i : CLAIMS_PER_TXN;
		int64_t rev = 0;
		int rc = claim_txn(p, &rds[i], k, lease, &rev);
		for (size_t j = i; j < i + k; j++)
			if (rc == 0)
				revs[j] = rev; /* the keys were created at the txn's revision */
			else if (rc != -EEXIST || k == 1 ||
				 claim_txn(p, &rds[j], 1, lease, &revs[j]) != 0)
				revs[j] = 0;
	}
}

/* Deletes this member's active key kv (why: for the log). */
static void release(struct hnv_pool *p, const struct hnv_etcd_kv *kv, const char *why)
{
	char err[768];
	struct hnv_etcd_txn *t = hnv_etcd_txn_new();
	bool ok;
	int64_t rev;
	if (t && !hnv_etcd_txn_cmp(t, kv->key, NULL, HNV_ETCD_MOD, HNV_ETCD_EQUAL, kv->mod_rev) &&
	    !hnv_etcd_txn_del(t, kv->key, NULL) &&
	    !hnv_etcd_txn_commit(p->vw, t, &ok, &rev, err, sizeof(err)) && ok)
		hnv_log(HNV_LOG_NOTICE, "gateway pool %s: %s released %s (%s)", p->name, p->host,
			kv->key, why);
	hnv_etcd_txn_free(t);
}

/* A lookup record to rewrite (plan_move): key gets line if its
 * mod_revision is still mod_rev and the tenant's active key akey still has
 * this member's claim_rev. */
struct rec_move {
	char key[KEY_MAX * 2], akey[KEY_MAX * 2], rd[HNV_NAME_MAX + 1];
	char line[2048], from[64], to[64];
	int64_t mod_rev, claim_rev;
};

struct rec_moves {
	struct rec_move *v;
	size_t n, cap;
};

/* Reads the lookup record at lkey (with the etcd prefix) into rec (kind 0
 * when lkey holds no single lookup line) and, when its PA is not pa, adds
 * its rewrite to pa to m. */
static int plan_move(struct hnv_pool *p, const char *rd, const char *lkey, const char *akey,
		     int64_t claim_rev, const struct hnv_ip *pa, struct hnv_conf_cmd *rec,
		     struct rec_moves *m)
{
	char err[768];
	struct hnv_etcd_kvs lk;
	memset(rec, 0, sizeof(*rec));
	int rc = hnv_etcd_range(p->vw, lkey, NULL, 0, &lk, err, sizeof(err));
	if (rc)
		return rc;
	struct hnv_conf_cmd c;
	char msg[256];
	if (lk.n == 1 && strlen(lk.v[0].value) == lk.v[0].vlen && !strchr(lk.v[0].value, '\n') &&
	    hnv_conf_parse_line(lk.v[0].value, &c, msg, sizeof(msg)) == 1 &&
	    c.kind == HNV_CONF_LOOKUP_ADD) {
		*rec = c;
		if (!hnv_ip_eq(&c.u.lookup.pa, pa) && !HNV_GROW(m->v, m->cap, m->n + 1)) {
			struct rec_move *mv = &m->v[m->n];
			hnv_fmt_ip(&c.u.lookup.pa, mv->from, sizeof(mv->from));
			hnv_fmt_ip(pa, mv->to, sizeof(mv->to));
			c.u.lookup.pa = *pa;
			if (hnv_conf_format(&c, false, mv->line, sizeof(mv->line)) == 0) {
				snprintf(mv->key, sizeof(mv->key), "%s", lkey);
				snprintf(mv->akey, sizeof(mv->akey), "%s", akey);
				snprintf(mv->rd, sizeof(mv->rd), "%s", rd);
				mv->mod_rev = lk.v[0].mod_rev;
				mv->claim_rev = claim_rev;
				m->n++;
			}
		}
	}
	hnv_etcd_kvs_free(&lk);
	return 0;
}

/* Adds the moves of rd's gateway CAs' lookup records to pa (see the top)
 * to m, and with each the VSID's gateway-wildcard record of the same MAC
 * (the record a host edge accepts the gateway's routed packets by: their
 * source is not the gateway CA). 0, or a negative errno when etcd did not
 * answer a read. */
static int plan_moves(struct hnv_pool *p, const char *rd, int64_t claim_rev,
		      const struct hnv_ip *pa, struct rec_moves *m)
{
	char pfx[KEY_MAX * 2], end[KEY_MAX * 2], akey[KEY_MAX * 2], err[768];
	snprintf(pfx, sizeof(pfx), "%srd/%s/gwca/@%s/", p->prefix, rd, p->name);
	hnv_etcd_prefix_end(pfx, end, sizeof(end));
	snprintf(akey, sizeof(akey), "%s%s", p->actives, rd);
	struct hnv_etcd_kvs cas;
	int rc = hnv_etcd_range(p->vw, pfx, end, 0, &cas, err, sizeof(err));
	if (rc)
		return rc;
	size_t pl = strlen(pfx);
	for (size_t i = 0; !rc && i < cas.n; i++) {
		const struct hnv_etcd_kv *ca = &cas.v[i];
		if (ca->keylen <= pl || strlen(ca->key) != ca->keylen)
			continue;
		char lkey[KEY_MAX * 2], wkey[KEY_MAX * 2], wrel[KEY_MAX];
		/* the CA key's "V/CA" is the lookup key's too */
		if (snprintf(lkey, sizeof(lkey), "%srd/%s/lookup/%s", p->prefix, rd,
			     ca->key + pl) >= (int)sizeof(lkey))
			continue;
		struct hnv_conf_cmd rec, wrec;
		if ((rc = plan_move(p, rd, lkey, akey, claim_rev, pa, &rec, m)) != 0)
			break;
		struct hnv_ip unspec = {0};
		if (rec.kind != HNV_CONF_LOOKUP_ADD ||
		    sync_lookup_key(rd, rec.u.lookup.vsid, &unspec, &rec.u.lookup.mac, wrel,
				    sizeof(wrel)) < 0 ||
		    snprintf(wkey, sizeof(wkey), "%s%s", p->prefix, wrel) >= (int)sizeof(wkey))
			continue;
		/* (plan_move reads it first: only a wildcard record moves) */
		struct hnv_etcd_kvs wk;
		if ((rc = hnv_etcd_range(p->vw, wkey, NULL, 0, &wk, err, sizeof(err))) != 0)
			break;
		bool wild = false;
		char msg[256];
		if (wk.n == 1 && strlen(wk.v[0].value) == wk.v[0].vlen &&
		    !strchr(wk.v[0].value, '\n') &&
		    hnv_conf_parse_line(wk.v[0].value, &wrec, msg, sizeof(msg)) == 1)
			wild = wrec.kind == HNV_CONF_LOOKUP_ADD &&
			       wrec.u.lookup.type == HNV_TYPE_GATEWAY_WILDCARD;
		hnv_etcd_kvs_free(&wk);
		if (wild)
			rc = plan_move(p, rd, wkey, akey, claim_rev, pa, &wrec, m);
	}
	hnv_etcd_kvs_free(&cas);
	return rc;
}

/* Moves up to this many records in one transaction: two compares each,
 * under etcd's default --max-txn-ops of 128. */
#define MOVES_PER_TXN 60

/* Commits moves v[0..n) in one transaction: 0, -EEXIST when a compare
 * failed (and nothing was written), or a negative errno. */
static int commit_moves(struct hnv_pool *p, const struct rec_move *v, size_t n)
{
	char err[768];
	struct hnv_etcd_txn *t = hnv_etcd_txn_new();
	bool ok = false;
	int64_t rev;
	int rc = t ? 0 : -ENOMEM;
	for (size_t i = 0; !rc && i < n; i++)
		if ((rc = hnv_etcd_txn_cmp(t, v[i].key, NULL, HNV_ETCD_MOD, HNV_ETCD_EQUAL,
					   v[i].mod_rev)) == 0 &&
		    (rc = hnv_etcd_txn_cmp(t, v[i].akey, NULL, HNV_ETCD_CREATE, HNV_ETCD_EQUAL,
					   v[i].claim_rev)) == 0)
			rc = hnv_etcd_txn_put(t, v[i].key, v[i].line);
	if (!rc)
		rc = hnv_etcd_txn_commit(p->vw, t, &ok, &rev, err, sizeof(err));
	hnv_etcd_txn_free(t);
	if (rc || !ok)
		return rc ? rc : -EEXIST;
	pthread_mutex_lock(&p->mu);
	p->moves += n;
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < n; i++)
		hnv_log(HNV_LOG_NOTICE,
			"gateway pool %s: %s moved the lookup record %s of tenant %s's gateway CA "
			"from PA %s to its PA %s",
			p->name, p->host, v[i].key + strlen(p->prefix), v[i].rd, v[i].from,
			v[i].to);
	return 0;
}

/* Moves the lookup records of the tenants rds[0..n) this member holds
 * (claimed at revs[i]) to pa. The moves of all of them go to etcd
 * together, so that a takeover of several tenants does not wait for one
 * write per record (2 records a tenant: 0.3 s under TCG); a batch whose
 * compare failed (a record changed meanwhile, a tenant lost) is tried
 * again one record at a time, so that the others still move. 0, or a
 * negative errno when etcd did not answer a read or a write. */
static int move_records(struct hnv_pool *p, char *const *rds, const int64_t *revs, size_t n,
			const struct hnv_ip *pa)
{
	struct rec_moves m = {0};
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++)
		rc = plan_moves(p, rds[i], revs[i], pa, &m);
	for (size_t i = 0; !rc && i < m.n; i += MOVES_PER_TXN) {
		size_t k = m.n - i < MOVES_PER_TXN ? m.n - i : MOVES_PER_TXN;
		int c = commit_moves(p, &m.v[i], k);
		if (c == -EEXIST && k > 1)
			for (size_t j = i; (c == 0 || c == -EEXIST) && j < i + k; j++)
				c = commit_moves(p, &m.v[j], 1); /* a lost one: the others move */
		rc = c == -EEXIST ? 0 : c;
	}
	free(m.v);
	return rc;
}

/* Marks dirty the tenants of which a lookup record or a gateway CA of this
 * pool was written after revision since, up to rev: one keys-only read of
 * rd/. */
static int mark_changed(struct hnv_pool *p, int64_t since, int64_t rev)
{
	char pfx[KEY_MAX * 2], end[KEY_MAX * 2], gw[KEY_MAX], err[768];
	snprintf(pfx, sizeof(pfx), "%srd/", p->prefix);
	hnv_etcd_prefix_end(pfx, end, sizeof(end));
	snprintf(gw, sizeof(gw), "gwca/@%s/", p->name);
	struct hnv_etcd_kvs ck;
	int rc = hnv_etcd_range_since(p->vw, pfx, end, since + 1, rev, &ck, err, sizeof(err));
	if (rc)
		return rc;
	size_t pl = strlen(pfx);
	for (size_t i = 0; i < ck.n; i++) {
		const struct hnv_etcd_kv *kv = &ck.v[i];
		const char *rd = kv->key + pl, *sl;
		if (kv->keylen <= pl || strlen(kv->key) != kv->keylen || !(sl = strchr(rd, '/')) ||
		    (size_t)(sl - rd) > HNV_NAME_MAX ||
		    (strncmp(sl + 1, "lookup/", 7) != 0 && strncmp(sl + 1, gw, strlen(gw)) != 0))
			continue;
		char name[HNV_NAME_MAX + 1];
		memcpy(name, rd, (size_t)(sl - rd));
		name[sl - rd] = '\0';
		struct pool_tstate *st = hnv_hmap_get(&p->tstate, name);
		if (st)
			st->dirty = true;
	}
	hnv_etcd_kvs_free(&ck);
	return 0;
}

/* Moves the lookup records of the held tenants held[0..n) (claimed at
 * revs[i]) that may not be at pa, read at revision rev under lease: all of
 * them after a change of lease or PA or a pass etcd did not finish; else
 * those just claimed and those whose records or gateway CAs were written
 * since the last pass (mark_changed), so that a reading with nothing
 * changed costs one read, not three a gateway CA. */
static void move_held(struct hnv_pool *p, char *const *held, const int64_t *revs, size_t n,
		      int64_t lease, int64_t rev, const struct hnv_ip *pa)
{
	bool all = !p->moves_rev || p->moves_lease != lease || !hnv_ip_eq(&p->moves_pa, pa);
	if (!all && mark_changed(p, p->moves_rev, rev) != 0)
		return; /* the next reading tries again from the same revision */
	char **v = calloc(n + 1, sizeof(*v));
	int64_t *r = calloc(n + 1, sizeof(*r));
	size_t k = 0;
	for (size_t i = 0; v && r && i < n; i++) {
		struct pool_tstate *st = hnv_hmap_get(&p->tstate, held[i]);
		if (all || !st || st->dirty) {
			v[k] = held[i];
			r[k++] = revs[i];
		}
		if (st)
			st->dirty = false;
	}
	bool done = v && r && move_records(p, v, r, k, pa) == 0;
	p->moves_rev = done ? rev : 0;
	p->moves_lease = lease;
	p->moves_pa = *pa;
	free(v);
	free(r);
}

/* ---- learned routes kept across takeovers (gateway/retain.h) ----
 *
 *   pool/NAME/learned/R   the routes R's VRF learned by BGP on its holder,
 *                         as retain.h's text; written by the holder under
 *                         its claim (compare of the active key's
 *                         create_revision), read by the member that claims
 *                         R next, deleted with the tenant (sync_plan.c) */

static void texts_free(struct pool_text *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].text);
	free(t);
}

/* Remembers text (taken) as what etcd has for rd. */
static void written_set(struct hnv_pool *p, const char *rd, char *text)
{
	void *old = NULL;
	if (hnv_hmap_put(&p->written, rd, text, &old))
		free(text);
	free(old);
}

/* After a claim of rd: what its previous holder published, for the
 * control thread to keep (hnv_gw_retain). */
static void inherit_learned(struct hnv_pool *p, const char *rd)
{
	char key[KEY_MAX * 2], err[768];
	snprintf(key, sizeof(key), "%s%s", p->learned, rd);
	struct hnv_etcd_kvs k;
	if (hnv_etcd_range(p->vw, key, NULL, 0, &k, err, sizeof(err))) {
		hnv_log(HNV_LOG_WARNING, "gateway pool %s: learned routes of %s: %s", p->name, rd,
			err);
		return;
	}
	char *text =
		k.n == 1 && k.v[0].vlen <= HNV_RETAIN_TEXT_MAX ? malloc(k.v[0].vlen + 1) : NULL;
	char *mine = text ? malloc(k.v[0].vlen + 1) : NULL;
	if (text && mine) {
		memcpy(text, k.v[0].value, k.v[0].vlen);
		text[k.v[0].vlen] = '\0';
		memcpy(mine, text, k.v[0].vlen + 1);
		written_set(p, rd, mine);
		mine = NULL;
		pthread_mutex_lock(&p->mu);
		struct pool_text *v = realloc(p->inherit, (p->ninherit + 1) * sizeof(*v));
		if (v) {
			p->inherit = v;
			snprintf(v[p->ninherit].rd, sizeof(v[p->ninherit].rd), "%s", rd);
			v[p->ninherit++].text = text;
			text = NULL;
		}
		pthread_mutex_unlock(&p->mu);
	}
	free(text);
	free(mine);
	hnv_etcd_kvs_free(&k);
}

/* Writes the learned routes of held tenant rd (claimed at claim_rev) when
 * the control thread's text differs from what etcd has. */
static void publish_learned(struct hnv_pool *p, const char *rd, int64_t claim_rev)
{
	char *text = NULL;
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->nltexts && !text; i++)
		if (strcmp(p->ltexts[i].rd, rd) == 0)
			text = strdup(p->ltexts[i].text);
	pthread_mutex_unlock(&p->mu);
	const char *was = hnv_hmap_get(&p->written, rd);
	if (!text || (was && strcmp(was, text) == 0)) {
		free(text);
		return;
	}
	char key[KEY_MAX * 2], akey[KEY_MAX * 2], err[768];
	snprintf(key, sizeof(key), "%s%s", p->learned, rd);
	snprintf(akey, sizeof(akey), "%s%s", p->actives, rd);
	struct hnv_etcd_txn *t = hnv_etcd_txn_new();
	bool ok = false;
	int64_t rev;
	if (t && !hnv_etcd_txn_cmp(t, akey, NULL, HNV_ETCD_CREATE, HNV_ETCD_EQUAL, claim_rev) &&
	    !hnv_etcd_txn_put(t, key, text) &&
	    !hnv_etcd_txn_commit(p->vw, t, &ok, &rev, err, sizeof(err)) && ok) {
		size_t lines = 0;
		for (const char *c = text; *c; c++)
			lines += *c == '\n';
		if (lines)
			hnv_log(HNV_LOG_INFO,
				"gateway pool %s: tenant %s: %zu route%s learned here published "
				"for a takeover",
				p->name, rd, lines, lines == 1 ? "" : "s");
		written_set(p, rd, text);
	} else
		free(text); /* tried again at the next reading */
	hnv_etcd_txn_free(t);
}

/* Control thread: the routes kept for the tenants just claimed go to the
 * gateway before the sync applies them; the texts of those it serves are
 * made again when the gateway's routes changed. */
static void learned_before_serve(struct hnv_pool *p)
{
	pthread_mutex_lock(&p->mu);
	struct pool_text *in = p->inherit;
	size_t n = p->ninherit;
	p->inherit = NULL;
	p->ninherit = 0;
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < n; i++) {
		char err[256];
		size_t k = 0;
		int rc = hnv_gw_retain(p->gw, in[i].rd, in[i].text, strlen(in[i].text), &k, err,
				       sizeof(err));
		if (rc)
			hnv_log(HNV_LOG_WARNING,
				"gateway pool %s: tenant %s: the routes its previous holder "
				"learned are not kept: %s",
				p->name, in[i].rd, rc == -EINVAL ? err : strerror(-rc));
		else if (k)
			hnv_log(HNV_LOG_NOTICE,
				"gateway pool %s: tenant %s: %zu route%s its previous holder "
				"learned kept until BGP learns them here (at most %d s)",
				p->name, in[i].rd, k, k == 1 ? "" : "s", HNV_GW_KEPT_S);
	}
	texts_free(in, n);
}

static void learned_after_serve(struct hnv_pool *p, char **served, size_t n, bool changed)
{
	uint64_t gen = hnv_gw_learned_gen(p->gw);
	if (!changed && gen == p->learned_gen && n == p->nltexts)
		return;
	struct pool_text *v = n ? calloc(n, sizeof(*v)) : NULL;
	size_t k = 0;
	char *buf = malloc(HNV_RETAIN_TEXT_MAX);
	for (size_t i = 0; v && buf && i < n; i++) {
		int len = hnv_gw_learned_text(p->gw, served[i], buf, HNV_RETAIN_TEXT_MAX);
		if (len < 0 || !(v[k].text = strdup(buf)))
			continue; /* not applied yet, or too much: nothing to say */
		snprintf(v[k].rd, sizeof(v[k].rd), "%s", served[i]);
		k++;
	}
	free(buf);
	if (n && !v)
		return;
	p->learned_gen = gen;
	pthread_mutex_lock(&p->mu);
	struct pool_text *old = p->ltexts;
	size_t nold = p->nltexts;
	p->ltexts = v;
	p->nltexts = k;
	pthread_mutex_unlock(&p->mu);
	texts_free(old, nold);
}

/* Whether the control thread still has tenant rd applied. */
static bool still_served(struct hnv_pool *p, const char *rd)
{
	bool in = false;
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->nserved_names && !in; i++)
		in = strcmp(p->served_names[i], rd) == 0;
	pthread_mutex_unlock(&p->mu);
	return in;
}

static bool in_list(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* The member a gateway move sends tenant rd to ("" when none or not live). */
static void move_target(const struct hnv_etcd_kvs *mk, const char *pfx, const char *rd,
			const char *const *live, size_t nlive, char out[HNV_SYNC_HOST_MAX + 1])
{
	holder_of(active_of(mk, pfx, rd), out);
	if (*out && !in_list(live, nlive, out))
		out[0] = '\0';
}

static int rd_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void hnv_pool_tenants_tick(struct hnv_pool *p, const struct member_view *view, size_t nview,
			   int64_t rev)
{
	char err[768];
	struct hnv_etcd_kvs tk = {0}, ak = {0}, mk = {0};
	if (hnv_etcd_range(p->vw, p->tenants, p->tenants_end, rev, &tk, err, sizeof(err)))
		return;
	if (hnv_etcd_range(p->vw, p->actives, p->actives_end, rev, &ak, err, sizeof(err)) ||
	    hnv_etcd_range(p->vw, p->movereq, p->movereq_end, rev, &mk, err, sizeof(err))) {
		hnv_etcd_kvs_free(&tk);
		hnv_etcd_kvs_free(&ak);
		return;
	}
	pthread_mutex_lock(&p->mu);
	int64_t now = hnv_mono_ms(), lease = p->lease;
	/* as the control thread's fencing deadline (pool.c deadline()) */
	bool live = lease && now < p->ok_send_ms + p->granted * 1000 - HNV_POOL_FENCE_MARGIN_MS;
	pthread_mutex_unlock(&p->mu);

	/* live members and their loads; this member only while live */
	const char **mem = calloc(nview + 1, sizeof(*mem));
	size_t *load = calloc(nview + 1, sizeof(*load)), nm = 0;
	const char **un = calloc(tk.n + 1, sizeof(*un));
	int *plan = calloc(tk.n + 1, sizeof(*plan));
	struct pool_tenant_row *rows = calloc(tk.n + 1, sizeof(*rows));
	char **held = calloc(tk.n + 1, sizeof(*held));
	int64_t *held_rev = calloc(tk.n + 1, sizeof(*held_rev));
	size_t nun = 0, nrows = 0, nheld = 0;
	struct hnv_ip mypa;
	bool has_pa = false;
	if (!mem || !load || !un || !plan || !rows || !held || !held_rev)
		goto out;
	for (size_t i = 0; i < nview; i++) {
		bool me = strcmp(view[i].host, p->host) == 0;
		if (me && view[i].pa[0] && hnv_parse_ip(view[i].pa, &mypa) == 0)
			has_pa = true;
		if (me ? live : view[i].left >= 0)
			mem[nm++] = view[i].host;
	}
	for (size_t i = 0; i < ak.n; i++) {
		char h[HNV_SYNC_HOST_MAX + 1];
		holder_of(&ak.v[i], h);
		for (size_t m = 0; m < nm; m++)
			if (strcmp(mem[m], h) == 0)
				load[m]++;
	}
	HNV_HMAP_FOREACH(n, &p->tstate)
	{
		((struct pool_tstate *)n->val)->seen = false;
	}
	for (size_t i = 0; i < tk.n; i++) {
		const char *rd = rd_of(&tk.v[i], p->tenants);
		if (!rd)
			continue;
		struct pool_tstate *st = hnv_hmap_get(&p->tstate, rd);
		if (!st) {
			if (!(st = calloc(1, sizeof(*st))) ||
			    hnv_hmap_put(&p->tstate, rd, st, NULL)) {
				free(st);
				continue;
			}
		}
		st->seen = true;
		const struct hnv_etcd_kv *a = active_of(&ak, p->actives, rd);
		char h[HNV_SYNC_HOST_MAX + 1];
		holder_of(a, h);
		if (strcmp(h, st->holder) != 0) {
			snprintf(st->holder, sizeof(st->holder), "%s", h);
			st->since_wall_ms = wall_now();
		}
		if (a) {
			st->unowned_since = 0;
		} else {
			if (!st->unowned_since)
				st->unowned_since = now;
			un[nun++] = rd;
		}
		struct pool_tenant_row *r = &rows[nrows++];
		snprintf(r->rd, sizeof(r->rd), "%s", rd);
		snprintf(r->holder, sizeof(r->holder), "%s", st->holder);
		r->since_wall_ms = st->since_wall_ms;
		r->create_rev = a ? a->create_rev : 0;
		char to[HNV_SYNC_HOST_MAX + 1];
		move_target(&mk, p->movereq, rd, mem, nm, to);
		if (a && lease && a->lease == lease && strcmp(h, p->host) == 0) {
			if (*to && strcmp(to, p->host) != 0) {
				/* gateway move away: no longer served; released once
				 * the control thread has torn it down */
				if (live && !still_served(p, rd))
					release(p, a, "gateway move");
				continue;
			}
			held_rev[nheld] = a->create_rev;
			held[nheld++] = strdup(rd);
		}
		/* the move done: its target deletes the request */
		const struct hnv_etcd_kv *m = active_of(&mk, p->movereq, rd);
		if (a && m && *to && strcmp(to, h) == 0 && strcmp(to, p->host) == 0 && live)
			release(p, m, "gateway move done");
	}
	/* forget tenants gone */
	for (bool again = true; again;) {
		again = false;
		HNV_HMAP_FOREACH(n, &p->tstate)
		{
			if (((struct pool_tstate *)n->val)->seen)
				continue;
			void *v;
			hnv_hmap_del(&p->tstate, n->key, &v);
			free(v);
			again = true;
			break;
		}
	}
	/* this member's active keys of tenants no longer in the pool */
	for (size_t i = 0; live && i < ak.n; i++) {
		const char *rd = rd_of(&ak.v[i], p->actives);
		char h[HNV_SYNC_HOST_MAX + 1];
		holder_of(&ak.v[i], h);
		if (rd && strcmp(h, p->host) == 0 && !hnv_hmap_find(&p->tstate, rd))
			release(p, &ak.v[i], "no longer a tenant");
	}
	/* election */
	qsort(un, nun, sizeof(*un), rd_cmp);
	hnv_pool_plan(un, nun, mem, load, nm, plan);
	/* the tenants this member claims: placed here, unowned for a TTL, or
	 * moved here */
	const char **want = calloc(nun + 1, sizeof(*want));
	int64_t *wrev = calloc(nun + 1, sizeof(*wrev));
	bool *wmine = calloc(nun + 1, sizeof(*wmine));
	size_t nwant = 0;
	for (size_t i = 0; live && want && wrev && wmine && i < nun; i++) {
		const struct pool_tstate *st = hnv_hmap_get(&p->tstate, un[i]);
		bool mine = plan[i] >= 0 && strcmp(mem[plan[i]], p->host) == 0;
		bool late = st && now - st->unowned_since >= (int64_t)p->ttl * 1000;
		char to[HNV_SYNC_HOST_MAX + 1];
		move_target(&mk, p->movereq, un[i], mem, nm, to);
		if (*to) /* a gateway move: its live target only */
			mine = late = strcmp(to, p->host) == 0;
		if (mine || late) {
			wmine[nwant] = mine;
			want[nwant++] = un[i];
		}
	}
	if (nwant)
		claim_many(p, want, nwant, lease, wrev);
	for (size_t i = 0; i < nwant; i++) {
		int64_t rev = wrev[i];
		if (rev == 0)
			continue;
		hnv_log(HNV_LOG_NOTICE,
			"gateway pool %s: %s claimed tenant %s (%s; lease %" PRId64
			", create_revision %" PRId64 ")",
			p->name, p->host, want[i], wmine[i] ? "placed here" : "unowned for a TTL",
			lease, rev);
		pthread_mutex_lock(&p->mu);
		p->claims++;
		pthread_mutex_unlock(&p->mu);
		struct pool_tstate *cst = hnv_hmap_get(&p->tstate, want[i]);
		if (cst) {
			/* since: the claim, not the next reading */
			snprintf(cst->holder, sizeof(cst->holder), "%s", p->host);
			cst->since_wall_ms = wall_now();
			cst->unowned_since = 0;
			cst->dirty = true;
		}
		for (size_t r = 0; r < nrows; r++)
			if (strcmp(rows[r].rd, want[i]) == 0) {
				snprintf(rows[r].holder, sizeof(rows[r].holder), "%s", p->host);
				rows[r].since_wall_ms = cst ? cst->since_wall_ms : wall_now();
				rows[r].create_rev = rev;
			}
		held_rev[nheld] = rev;
		held[nheld++] = strdup(want[i]);
		if (p->gw)
			inherit_learned(p, want[i]);
	}
	free(want);
	free(wrev);
	free(wmine);
	/* publish */
	size_t k = 0;
	for (size_t i = 0; i < nheld; i++)
		if (held[i]) {
			held_rev[k] = held_rev[i];
			held[k++] = held[i];
		}
	pthread_mutex_lock(&p->mu);
	struct pool_tenant_row *old_rows = p->trows;
	char **old_held = p->held;
	size_t old_n = p->nheld;
	bool changed = k != p->nheld || lease != p->held_lease;
	for (size_t i = 0; !changed && i < k; i++)
		changed = strcmp(held[i], p->held[i]) != 0;
	p->trows = rows;
	p->ntrows = nrows;
	p->held = held;
	p->nheld = k;
	p->held_lease = lease;
	pthread_mutex_unlock(&p->mu);
	/* the control thread builds what was claimed while the lookup
	 * records move: both are on the way to the first packet. The names
	 * stay valid: only this thread replaces p->held. */
	char **pub = held;
	rows = NULL;
	held = NULL;
	free(old_rows);
	for (size_t i = 0; i < old_n; i++)
		free(old_held[i]);
	free(old_held);
	if (changed)
		hnv_pool_wake(p);
	if (live && has_pa)
		move_held(p, pub, held_rev, k, lease, rev, &mypa);
	for (size_t i = 0; live && p->gw && i < k; i++)
		publish_learned(p, pub[i], held_rev[i]);
out:
	if (held)
		for (size_t i = 0; i < nheld; i++)
			free(held[i]);
	free(held);
	free(held_rev);
	free(rows);
	free(plan);
	free(un);
	free(load);
	free(mem);
	hnv_etcd_kvs_free(&tk);
	hnv_etcd_kvs_free(&ak);
	hnv_etcd_kvs_free(&mk);
}

void hnv_pool_tenants_serve(struct hnv_pool *p)
{
	if (!p->sync)
		return;
	pthread_mutex_lock(&p->mu);
	bool serve = p->state == ST_MEMBER && p->held_lease && p->held_lease == p->seen_lease;
	size_t n = serve ? p->nheld : 0;
	char **v = n ? calloc(n, sizeof(*v)) : NULL;
	for (size_t i = 0; v && i < n; i++)
		v[i] = strdup(p->held[i]);
	pthread_mutex_unlock(&p->mu);
	bool oom = n && !v;
	for (size_t i = 0; v && i < n; i++)
		oom |= !v[i];
	if (p->gw)
		learned_before_serve(p);
	/* out of memory: serve none rather than a set it cannot tell */
	int rc = hnv_sync_pool_held(p->sync, p->name, oom ? NULL : (const char *const *)v,
				    oom ? 0 : n);
	if (rc < 0 || oom)
		hnv_log(HNV_LOG_ERR, "gateway pool %s: out of memory: serving no tenant", p->name);
	if (rc != 0) {
		/* the view thread releases a moved tenant once it is not here */
		size_t nn = rc < 0 || oom ? 0 : n;
		char **names = nn ? calloc(nn, sizeof(*names)) : NULL;
		for (size_t i = 0; names && i < nn; i++) {
			names[i] = v[i];
			v[i] = NULL;
		}
		pthread_mutex_lock(&p->mu);
		char **old = p->served_names;
		size_t nold = p->nserved_names;
		if (names || !nn) {
			p->served_names = names;
			p->nserved_names = nn;
		} else {
			/* no memory for the list: keep the old one, a superset
			 * of what is served (nothing is released on its word) */
			old = NULL;
			nold = 0;
		}
		pthread_mutex_unlock(&p->mu);
		for (size_t i = 0; i < nold; i++)
			free(old[i]);
		free(old);
		size_t was = p->nserved;
		p->nserved = rc < 0 || oom ? 0 : n;
		p->served_changed_wall_ms = wall_now();
		hnv_log(HNV_LOG_NOTICE, "gateway pool %s: %s serves %zu tenant%s (was %zu)%s",
			p->name, p->host, p->nserved, p->nserved == 1 ? "" : "s", was,
			serve ? "" : ": not a member under the lease it held them with");
	}
	/* (the names served: v's moved to served_names when the set changed;
	 * only this thread writes that list) */
	if (p->gw && !oom)
		learned_after_serve(p, p->served_names, p->nserved_names, rc != 0);
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

json_object *hnv_pool_tenants_status(void *arg)
{
	struct hnv_pool *p = arg;
	json_object *rows = json_object_new_array();
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->ntrows; i++) {
		const struct pool_tenant_row *t = &p->trows[i];
		bool mine = false;
		for (size_t h = 0; h < p->nheld; h++)
			mine |= strcmp(p->held[h], t->rd) == 0;
		json_object *r = json_object_new_object();
		json_object_object_add(r, "tenant", json_object_new_string(t->rd));
		json_object_object_add(r, "active",
				       json_object_new_string(t->holder[0] ? t->holder : "-"));
		json_object_object_add(r, "since_ms", json_object_new_int64(t->since_wall_ms));
		json_object_object_add(r, "create_revision", json_object_new_int64(t->create_rev));
		json_object_object_add(
			r, "served_here",
			json_object_new_string(mine && p->state == ST_MEMBER ? "yes" : "no"));
		json_object_object_add(r, "pool", json_object_new_string(p->name));
		json_object_array_add(rows, r);
	}
	pthread_mutex_unlock(&p->mu);
	return rows;
}

static void free_tstate(void *v)
{
	free(v);
}

void hnv_pool_tenants_free(struct hnv_pool *p)
{
	hnv_hmap_clear(&p->tstate, free_tstate);
	for (size_t i = 0; i < p->nheld; i++)
		free(p->held[i]);
	free(p->held);
	free(p->trows);
	for (size_t i = 0; i < p->nserved_names; i++)
		free(p->served_names[i]);
	free(p->served_names);
	texts_free(p->ltexts, p->nltexts);
	texts_free(p->inherit, p->ninherit);
	hnv_hmap_clear(&p->written, free);
}
