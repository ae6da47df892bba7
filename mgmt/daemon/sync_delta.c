/* sync_delta.c: the shared objects a host has applied, by key, and how
 * they differ from what the mirror holds: the changes, as commands.
 *
 * applied holds, per key, the command of each shared object of the
 * running model (read from the model itself after a revision made
 * without etcd). The keys a host applies (its routing domains' objects,
 * its own ports and gateway objects) are compared with it key by key, as
 * parsed commands: a key gone or changed becomes the del of the old
 * command, a key new or changed the add of the new one (a lookup record
 * keeping its VSID, CA and MAC: a lookup set). Deletions go first, most
 * dependent first, then additions, dependencies first; a changed rdomain,
 * vsubnet, pool or gateway is replaced with the objects of its routing
 * domain that rank after it (its dependents could not stay). Pure: no core, no etcd; tested by
 * tests/unit/test_etcd.c.
 */
#include "sync_int.h"

#include "../../lib/err.h"
#include "../../lib/vec.h"
#include "../conf_apply.h"
#include "../model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the applied state ---- */

static void cmd_unref(void *sc)
{
	sync_cmd_unref(sc);
}

void sync_applied_clear(struct hnv_hmap *applied)
{
	hnv_hmap_clear(applied, cmd_unref);
}

struct reader {
	struct hnv_hmap *applied;
	const char *host;
	struct hnv_hmap vsid_rd; /* "V" -> R of the model's vsubnets (read first) */
	size_t orphans;
	int rc;
};

/* The routing domain of a shared object of the model, or NULL. */
static const char *object_rd(struct reader *r, const struct hnv_conf_cmd *c)
{
	const char *named = sync_named_rd(c);
	if (named)
		return named;
	char v[16];
	uint32_t vsid;
	switch (sync_kt_of_kind(c->kind)) {
	case SYNC_K_POOL:
		vsid = c->u.pool.vsid;
		break;
	case SYNC_K_PORT:
		vsid = c->u.port.vsid;
		break;
	case SYNC_K_LOOKUP:
		vsid = c->u.lookup.vsid;
		break;
	default:
		return NULL;
	}
	snprintf(v, sizeof(v), "%u", vsid);
	return hnv_hmap_get(&r->vsid_rd, v);
}

static int read_cb(const struct hnv_conf_cmd *c, void *arg)
{
	struct reader *r = arg;
	char k[SYNC_KEY_MAX];
	if (c->kind == HNV_CONF_VSUBNET_ADD) {
		snprintf(k, sizeof(k), "%u", c->u.vsubnet.vsid);
		if ((r->rc = sync_map_put_str(&r->vsid_rd, k, c->u.vsubnet.rdomain)))
			return r->rc;
	}
	/* a host's own tunnel is local configuration, never a key */
	if (c->kind == HNV_CONF_S2S_ADD && !c->u.s2s.pool[0])
		return 0;
	const char *rd = object_rd(r, c);
	struct sync_cmd *sc = sync_cmd_new(c);
	if (!sc)
		return r->rc = -ENOMEM;
	/* an object no key names (its routing domain cannot be a key, or a
	 * second object for one key) goes under a key never wanted: the next
	 * change deletes it */
	if (!rd || !sync_name_ok(rd) || sync_key_of(c, rd, r->host, k, sizeof(k)) ||
	    hnv_hmap_find(r->applied, k))
		snprintf(k, sizeof(k), "orphan/%zu", r->orphans++);
	if (hnv_hmap_put(r->applied, k, sc, NULL)) {
		sync_cmd_unref(sc);
		return r->rc = -ENOMEM;
	}
	return 0;
}

int sync_applied_read(struct hnv_hmap *applied, const struct hnv_model *m, const char *host)
{
	struct reader r = {.applied = applied, .host = host};
	sync_applied_clear(applied);
	/* in rank order: vsubnets before what names their VSID */
	for (int t = 0; t < SYNC_K_LINES && !r.rc; t++)
		hnv_model_foreach_kind(m, sync_kt_add_kind((enum sync_kt)t), read_cb, &r);
	hnv_hmap_clear(&r.vsid_rd, free);
	if (r.rc)
		sync_applied_clear(applied);
	return r.rc;
}

/* ---- changes ---- */

void sync_delta_free(struct sync_delta *d)
{
	free(d->v);
	free(d->refused);
	memset(d, 0, sizeof(*d));
}

static int delta_add(struct sync_delta *d, const char *key, struct sync_cmd *from,
		     struct sync_cmd *to, bool rebuild)
{
	if (HNV_GROW(d->v, d->cap, d->n + 1))
		return -ENOMEM;
	d->v[d->n++] = (struct sync_change){.key = key, .from = from, .to = to, .rebuild = rebuild};
	return 0;
}

/* Whether the host applies key. */
static bool wanted(const struct sync_delta_in *in, const char *key, struct sync_key *k)
{
	if (sync_key_parse(key, k) >= SYNC_K_LINES || !hnv_hmap_find(in->rds, k->rd))
		return false;
	bool own = k->t == SYNC_K_PORT || k->t == SYNC_K_GW || k->t == SYNC_K_GWCA ||
		   k->t == SYNC_K_S2S;
	if (own && k->host[0] == '@')
		return k->t != SYNC_K_PORT &&
		       (in->any_pool ||
			(in->pool && in->held && strcmp(k->host + 1, in->pool) == 0 &&
			 hnv_hmap_find(in->held, k->rd)));
	return !own || strcmp(k->host, in->host) == 0;
}

/* The routing domain of a config key and its rank (key type), or -1. */
static int key_rank(const char *key, struct sync_key *k)
{
	enum sync_kt t = sync_key_parse(key, k);
	return t < SYNC_K_LINES ? (int)t : -1;
}

/* A changed rdomain, vsubnet, pool or gateway cannot be deleted under its
 * dependents: every applied object of its routing domain that ranks after
 * it is deleted and added again. redo: R -> lowest such rank + 1. */
static int delta_rebuild(const struct sync_delta_in *in, struct sync_delta *d)
{
	struct hnv_hmap redo = {0}, changed = {0};
	struct sync_key k;
	int rc = 0;
	for (size_t i = 0; i < d->n && !rc; i++) {
		const struct sync_change *c = &d->v[i];
		int r = c->from && c->to ? key_rank(c->key, &k) : -1;
		if (r < 0 || r > SYNC_K_GW)
			continue;
		uintptr_t cur = (uintptr_t)hnv_hmap_get(&redo, k.rd);
		if (!cur || (uintptr_t)r + 1 < cur)
			rc = hnv_hmap_put(&redo, k.rd, (void *)((uintptr_t)r + 1), NULL);
	}
	for (size_t i = 0; i < d->n && !rc && redo.n; i++) {
		int r = key_rank(d->v[i].key, &k);
		uintptr_t min = r >= 0 ? (uintptr_t)hnv_hmap_get(&redo, k.rd) : 0;
		if (min && (uintptr_t)r + 1 >= min)
			d->v[i].rebuild = true;
		rc = hnv_hmap_put(&changed, d->v[i].key, NULL, NULL);
	}
	if (!redo.n || rc)
		goto out;
	HNV_HMAP_FOREACH(n, in->applied)
	{
		int r = key_rank(n->key, &k);
		uintptr_t min = r >= 0 ? (uintptr_t)hnv_hmap_get(&redo, k.rd) : 0;
		if (rc || !min || (uintptr_t)r + 1 <= min || hnv_hmap_find(&changed, n->key))
			continue;
		rc = delta_add(d, n->key, n->val, n->val, true);
	}
out:
	hnv_hmap_clear(&redo, NULL);
	hnv_hmap_clear(&changed, NULL);
	return rc;
}

/* The command of a key of the mirror (v at key), when the host applies
 * it and its value is not refused; else NULL, with why set when refused. */
static struct sync_cmd *usable(const struct sync_delta_in *in, const char *key,
			       const struct sync_val *v, char *why, size_t whylen)
{
	struct sync_key k;
	uint32_t vsid;
	*why = '\0';
	if (!wanted(in, key, &k))
		return NULL;
	if (v->bad) {
		snprintf(why, whylen, "%s", v->bad);
		return NULL;
	}
	if (v->cmd && sync_cmd_vsid(v->cmd, &vsid)) {
		/* pool, port, lookup, route and gateway ca lines: their VSID is
		 * one of the key's routing domain */
		char vk[SYNC_KEY_MAX];
		snprintf(vk, sizeof(vk), "rd/%s/vsubnet/%u", k.rd, vsid);
		const struct sync_val *vs = hnv_hmap_get(in->mirror, vk);
		if (!vs || !vs->cmd) {
			snprintf(why, whylen, "VSID %u is no vsubnet of routing domain \"%s\"",
				 vsid, k.rd);
			return NULL;
		}
	}
	if (v->cmd && v->cmd->kind == HNV_CONF_LOOKUP_ADD) {
		/* a record the datapath refuses (rule nat or none, which an
		 * older hnvgw accepted): refused like a bad value, so the
		 * domain's other changes still apply */
		struct hnv_conf_cmd c;
		memset(&c, 0, sizeof(c));
		c.kind = v->cmd->kind;
		memcpy(&c.u, v->cmd->u, v->cmd->size < sizeof(c.u) ? v->cmd->size : sizeof(c.u));
		if (hnv_conf_supported(&c, why, whylen) < 0)
			return NULL;
	}
	return v->cmd;
}

/* A key of the mirror: its object when the host applies it and applied
 * differs; a refused value is listed (applied_key deletes its object). */
static int mirror_key(const struct sync_delta_in *in, struct sync_delta *d,
		      const struct hnv_hmap_node *n)
{
	char why[sizeof(d->refused->why)];
	struct sync_cmd *c = usable(in, n->key, n->val, why, sizeof(why));
	if (!c && *why) {
		if (HNV_GROW(d->refused, d->cap_refused, d->n_refused + 1))
			return -ENOMEM;
		struct sync_refusal *r = &d->refused[d->n_refused++];
		r->key = n->key;
		memcpy(r->why, why, sizeof(why));
		return 0;
	}
	if (!c)
		return 0;
	struct sync_cmd *a = hnv_hmap_get(in->applied, n->key);
	return a && sync_cmd_eq(a, c) ? 0 : delta_add(d, n->key, a, c, false);
}

/* A key of applied: deleted when the host no longer applies it or its
 * value is refused (else mirror_key compares it). */
static int applied_key(const struct sync_delta_in *in, struct sync_delta *d,
		       const struct hnv_hmap_node *n)
{
	const struct sync_val *v = hnv_hmap_get(in->mirror, n->key);
	char why[8];
	if (v && usable(in, n->key, v, why, sizeof(why)))
		return 0;
	return delta_add(d, n->key, n->val, NULL, false);
}

int sync_delta_compute(const struct sync_delta_in *in, struct sync_delta *d)
{
	int rc = 0;
	if (in->keys) {
		HNV_HMAP_FOREACH(n, in->keys)
		{
			const struct hnv_hmap_node *m = hnv_hmap_find(in->mirror, n->key);
			const struct hnv_hmap_node *a = hnv_hmap_find(in->applied, n->key);
			if (m && (rc = mirror_key(in, d, m)))
				return rc;
			if (a && (rc = applied_key(in, d, a)))
				return rc;
		}
		return delta_rebuild(in, d);
	}
	HNV_HMAP_FOREACH(n, in->mirror)
	{
		if ((rc = mirror_key(in, d, n)))
			return rc;
	}
	HNV_HMAP_FOREACH(n, in->applied)
	{
		if ((rc = applied_key(in, d, n)))
			return rc;
	}
	return delta_rebuild(in, d);
}

/* A lookup record that keeps its identity (VSID, CA, MAC) is set in place. */
static bool is_set(const struct sync_change *c, const struct hnv_conf_cmd *from,
		   const struct hnv_conf_cmd *to)
{
	return from && to && !c->rebuild && from->kind == HNV_CONF_LOOKUP_ADD &&
	       to->kind == HNV_CONF_LOOKUP_ADD && from->u.lookup.vsid == to->u.lookup.vsid &&
	       hnv_ip_eq(&from->u.lookup.ca, &to->u.lookup.ca) &&
	       hnv_mac_eq(&from->u.lookup.mac, &to->u.lookup.mac);
}

static int rank(const struct sync_cmd *sc)
{
	return (int)sync_kt_of_kind(sc->kind);
}

int sync_delta_cmds(const struct sync_delta *d, struct hnv_conf_cmd **out, size_t *n)
{
	struct hnv_conf_cmd *v = calloc(2 * d->n + 1, sizeof(*v)), from, to;
	size_t k = 0;
	if (!v)
		return -ENOMEM;
	for (int r = SYNC_K_LINES - 1; r >= 0; r--)
		for (size_t i = 0; i < d->n; i++) {
			const struct sync_change *c = &d->v[i];
			if (!c->from || rank(c->from) != r)
				continue;
			sync_cmd_get(c->from, &from);
			if (c->to)
				sync_cmd_get(c->to, &to);
			if (!is_set(c, &from, c->to ? &to : NULL))
				sync_cmd_del_of(&from, &v[k++]);
		}
	for (int r = 0; r < SYNC_K_LINES; r++)
		for (size_t i = 0; i < d->n; i++) {
			const struct sync_change *c = &d->v[i];
			if (!c->to || rank(c->to) != r)
				continue;
			sync_cmd_get(c->to, &v[k]);
			if (c->from)
				sync_cmd_get(c->from, &from);
			if (is_set(c, c->from ? &from : NULL, &v[k]))
				v[k].kind = HNV_CONF_LOOKUP_SET;
			k++;
		}
	*out = v;
	*n = k;
	return 0;
}

bool sync_delta_commit(struct hnv_hmap *applied, const struct sync_delta *d)
{
	bool exact = true;
	for (size_t i = 0; i < d->n; i++) {
		const struct sync_change *c = &d->v[i];
		void *old = NULL;
		/* the model's gateway del takes the gateway's CAs with it */
		if (c->from && !c->to && c->from->kind == HNV_CONF_GATEWAY_ADD)
			exact = false;
		if (c->to && c->to != c->from) {
			if (hnv_hmap_put(applied, c->key, sync_cmd_ref(c->to), &old)) {
				sync_cmd_unref(c->to);
				exact = false;
			}
		} else if (!c->to) {
			hnv_hmap_del(applied, c->key, &old);
		}
		sync_cmd_unref(old);
	}
	return exact;
}
