/* conf_apply_conn.c: GRE and L3 connections in the applier's batch (see
 * conf_apply_int.h): they touch no datapath state; the batch checks what
 * the model checks (mgmt/model_check.c): the routing domain has a gateway,
 * no two connections share a GRE key or a VLAN on one parent, no two
 * tunnels or connections of a routing domain route overlapping prefixes
 * (conf_rroute.h). */
#include "conf_apply_int.h"
#include "conf_check.h"
#include "conf_conn.h"

#include "../lib/err.h"

#include <errno.h>

static bool conn_uses_rdomain(const void *elem, const void *key)
{
	return strcmp(((const struct hnv_conf_conn *)elem)->rdomain, key) == 0;
}

/* Names are unique per type: a gre and an l3 connection may share one. */
static long conn_find(const struct hnv_conf_batch *b, enum hnv_conn_type type, const char *name)
{
	for (size_t i = 0; i < b->conns.n; i++)
		if (b->conns.a[i].type == type && strcmp(b->conns.a[i].name, name) == 0)
			return (long)i;
	return -1;
}

const struct hnv_conf_conn *conf_conn_of_rdomain(const struct hnv_conf_batch *b,
						 const char *rdomain)
{
	long i = CONF_FIND(b->conns, conn_uses_rdomain, rdomain);
	return i < 0 ? NULL : &b->conns.a[i];
}

int conf_rroutes_taken(const struct hnv_conf_batch *b, const struct hnv_conf_robj *a,
		       const struct hnv_conf_rroutes *ra, const char *rdomain, char *err,
		       size_t errlen)
{
	for (size_t k = 0; k < b->s2s.n; k++) {
		const struct s2s_rec *o = &b->s2s.a[k];
		struct hnv_conf_robj ob = {"s2s", o->name};
		int rc = strcmp(o->rdomain, rdomain) == 0
				 ? hnv_conf_rroutes_clash(a, ra, &ob, &o->routes, rdomain, err,
							  errlen)
				 : 0;
		if (rc < 0)
			return rc;
	}
	for (int type = HNV_CONN_GRE; type <= HNV_CONN_L3; type++)
		for (size_t k = 0; k < b->conns.n; k++) {
			const struct hnv_conf_conn *o = &b->conns.a[k];
			if ((int)o->type != type || strcmp(o->rdomain, rdomain) != 0)
				continue;
			struct hnv_conf_robj ob = {type == HNV_CONN_GRE ? "gre" : "l3", o->name};
			struct hnv_conf_rroutes rb;
			hnv_conf_conn_rroutes(o, &rb);
			int rc = hnv_conf_rroutes_clash(a, ra, &ob, &rb, rdomain, err, errlen);
			if (rc < 0)
				return rc;
		}
	return 0;
}

int conf_apply_conn(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		    size_t errlen)
{
	const struct hnv_conf_conn *s = &c->u.conn;
	bool gre = c->kind == HNV_CONF_GRE_ADD || c->kind == HNV_CONF_GRE_DEL;
	bool add = c->kind == HNV_CONF_GRE_ADD || c->kind == HNV_CONF_L3_ADD;
	enum hnv_conn_type type = gre ? HNV_CONN_GRE : HNV_CONN_L3;
	const char *cmd = gre ? (add ? "gre add" : "gre del") : (add ? "l3 add" : "l3 del");
	if (!CONF_TERMINATED(s->name) || !CONF_TERMINATED(s->rdomain) || !CONF_TERMINATED(s->dev) ||
	    s->n_remote > HNV_CONN_REMOTE_MAX || (add && s->type != type)) {
		hnv_seterr(err, errlen, "%s: a value is not terminated or out of range", cmd);
		return -EINVAL;
	}
	long i = conn_find(b, type, s->name);
	if (!add) {
		if (i < 0) {
			hnv_seterr(err, errlen, "%s: connection \"%s\" not found", cmd, s->name);
			return -ENOENT;
		}
		CONF_DEL(b->conns, i);
		return 0;
	}
	if (i >= 0) {
		hnv_seterr(err, errlen, "%s: connection \"%s\" already exists", cmd, s->name);
		return -EEXIST;
	}
	if (!conf_rdomain_known(b, s->rdomain))
		return conf_rdomain_missing(cmd, s->rdomain, err, errlen);
	const struct gw_rec *gw = NULL;
	for (size_t k = 0; k < b->gws.n && !gw; k++)
		if (strcmp(b->gws.a[k].rdomain, s->rdomain) == 0)
			gw = &b->gws.a[k];
	if (!gw)
		return conf_gateway_missing(cmd, s->name, s->rdomain, err, errlen);
	unsigned char key[HNV_CONN_CLASH_KEY_MAX], other[HNV_CONN_CLASH_KEY_MAX];
	size_t n = hnv_conf_conn_clash_key(s, key);
	for (size_t k = 0; k < b->conns.n; k++)
		if (hnv_conf_conn_clash_key(&b->conns.a[k], other) == n &&
		    memcmp(key, other, n) == 0)
			return hnv_conf_conn_clash(s, b->conns.a[k].name, err, errlen);
	bool v4 = hnv_ip_is_v4(&s->nexthop);
	const char *dflt = NULL;
	for (size_t k = 0; k < b->conns.n && hnv_conf_conn_is_default(s); k++)
		if (hnv_conf_conn_is_default(&b->conns.a[k]) &&
		    strcmp(b->conns.a[k].rdomain, s->rdomain) == 0 &&
		    hnv_ip_is_v4(&b->conns.a[k].nexthop) == v4)
			dflt = b->conns.a[k].name;
	int rc = hnv_conf_conn_default_taken(s, gw->corp_nexthop && gw->corp_nexthop_v4 == v4, dflt,
					     err, errlen);
	if (rc < 0)
		return rc;
	struct hnv_conf_robj ra = {gre ? "gre" : "l3", s->name};
	struct hnv_conf_rroutes routes;
	hnv_conf_conn_rroutes(s, &routes);
	if ((rc = conf_rroutes_taken(b, &ra, &routes, s->rdomain, err, errlen)) < 0)
		return rc;
	if (CONF_PUSH(b->conns, s) < 0) {
		hnv_seterr(err, errlen, "%s: connection \"%s\": out of memory", cmd, s->name);
		return -ENOMEM;
	}
	return 0;
}
