/* conf_apply_bgp.c: "bgp-peer add" and "bgp-peer del" in a batch
 * (conf_apply_int.h): nothing for the datapath; the checks the model
 * makes (model_check.c), for the replay of a configuration. */
#include "conf_apply_int.h"

#include "../lib/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

static bool peer_in_rdomain(const void *elem, const void *key)
{
	return strcmp(((const struct hnv_conf_bgp_peer *)elem)->rdomain, key) == 0;
}

static bool gw_of(const void *elem, const void *key)
{
	return strcmp(((const struct gw_rec *)elem)->rdomain, key) == 0;
}

int conf_rdomain_bgp_busy(const struct hnv_conf_batch *b, const char *cmd, const char *rdomain,
			  char *err, size_t errlen)
{
	long i = CONF_FIND(b->bgp_peers, peer_in_rdomain, rdomain);
	if (i < 0)
		return 0;
	hnv_seterr(err, errlen,
		   "%s: the gateway of routing domain \"%s\" is in use by bgp-peer \"%s\" "
		   "(bgp-peer del first)",
		   cmd, rdomain, b->bgp_peers.a[i].name);
	return -EBUSY;
}

int conf_apply_bgp_peer(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
			size_t errlen)
{
	const struct hnv_conf_bgp_peer *p = &c->u.bgp_peer;
	bool add = c->kind == HNV_CONF_BGP_PEER_ADD;
	const char *cmd = add ? "bgp-peer add" : "bgp-peer del";
	if (!CONF_TERMINATED(p->name) || (add && !CONF_TERMINATED(p->rdomain))) {
		hnv_seterr(err, errlen, "%s: a name is not terminated", cmd);
		return -EINVAL;
	}
	long pi = CONF_FIND(b->bgp_peers, conf_name_is, p->name);
	if (!add) {
		if (pi < 0) {
			hnv_seterr(err, errlen, "%s: bgp-peer \"%s\" not found", cmd, p->name);
			return -ENOENT;
		}
		CONF_DEL(b->bgp_peers, pi);
		return 0;
	}
	if (pi >= 0) {
		hnv_seterr(err, errlen, "%s: bgp-peer \"%s\" already exists", cmd, p->name);
		return -EEXIST;
	}
	if (!conf_rdomain_known(b, p->rdomain))
		return conf_rdomain_missing(cmd, p->rdomain, err, errlen);
	long gi = CONF_FIND(b->gws, gw_of, p->rdomain);
	if (gi < 0)
		return conf_gateway_missing(cmd, NULL, p->rdomain, err, errlen);
	const struct gw_rec *g = &b->gws.a[gi];
	char a[INET6_ADDRSTRLEN];
	hnv_fmt_ip(&p->addr, a, sizeof(a));
	if (g->bgp_asn == 0) {
		hnv_seterr(err, errlen,
			   "%s: peer \"%s\": the gateway of routing domain \"%s\" has no --bgp-asn "
			   "(its local AS)",
			   cmd, p->name, p->rdomain);
		return -EINVAL;
	}
	if (hnv_ip_eq(&g->bgp_peer, &p->addr)) {
		hnv_seterr(
			err, errlen,
			"%s: peer \"%s\": %s is already the --bgp-peer of the gateway of routing "
			"domain \"%s\"",
			cmd, p->name, a, p->rdomain);
		return -EEXIST;
	}
	for (size_t i = 0; i < b->bgp_peers.n; i++) {
		const struct hnv_conf_bgp_peer *o = &b->bgp_peers.a[i];
		if (strcmp(o->rdomain, p->rdomain) == 0 && hnv_ip_eq(&o->addr, &p->addr)) {
			hnv_seterr(err, errlen,
				   "%s: peer \"%s\": %s is already peer \"%s\" of routing domain "
				   "\"%s\"",
				   cmd, p->name, a, o->name, p->rdomain);
			return -EEXIST;
		}
	}
	if (CONF_PUSH(b->bgp_peers, p) < 0) {
		hnv_seterr(err, errlen, "%s: peer \"%s\": out of memory", cmd, p->name);
		return -ENOMEM;
	}
	return 0;
}
