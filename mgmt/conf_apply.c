/* conf_apply.c: commands -> datapath calls (conftext.h): the batch and its
 * dispatch, the checks and messages its files share, and the objects of a
 * tenant's network: routing domains, VM subnets, provider addresses,
 * customer routes and global settings (conf_apply_int.h).
 */
#include "conf_apply_int.h"

#include "../datapath/policy.h"
#include "../lib/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* The config text's limits are the datapath's: a command that parses fits
 * the spec it is converted to. */
_Static_assert(HNV_CONF_PREFIXES_MAX == HNV_VSUBNET_MAX_PREFIXES, "prefixes of a VM subnet");
_Static_assert(HNV_CONF_CAS_MAX == HNV_PORT_MAX_CAS, "CAs of a port");
_Static_assert(HNV_CONF_DNS_MAX == HNV_DHCP_DNS_MAX, "DNS servers of a pool");
_Static_assert(HNV_CONF_POOLS_MAX == HNV_DHCP_POOLS_MAX, "pools of a VM subnet");
_Static_assert(sizeof(((struct hnv_conf_lookup *)0)->vm_name) ==
			       sizeof(((struct hnv_lookup_spec *)0)->vm_name) &&
		       sizeof(((struct hnv_conf_lookup *)0)->context) ==
			       sizeof(((struct hnv_lookup_spec *)0)->context),
	       "lookup record texts");

const char *conf_errno_text(int rc)
{
	switch (rc) {
	case -EINVAL:
		return "invalid value";
	case -EEXIST:
		return "already exists";
	case -ENOENT:
		return "not found";
	case -ENOSPC:
		return "table full";
	case -ENOMEM:
		return "out of memory";
	case -EBUSY:
		return "in use";
	case -EXDEV:
		return "in another routing domain";
	default:
		return "failed";
	}
}

long conf_array_find(const void *a, size_t n, size_t size,
		     bool (*match)(const void *elem, const void *key), const void *key)
{
	for (size_t i = 0; i < n; i++)
		if (match((const char *)a + i * size, key))
			return (long)i;
	return -1;
}

void conf_array_del(void *a, size_t *n, size_t size, size_t i)
{
	memmove((char *)a + i * size, (char *)a + (i + 1) * size, (*n - i - 1) * size);
	(*n)--;
}

bool conf_name_is(const void *elem, const void *key)
{
	return strcmp(elem, key) == 0; /* every record starts with its name */
}

bool conf_rdomain_known(const struct hnv_conf_batch *b, const char *name)
{
	return CONF_FIND(b->rdomains, conf_name_is, name) >= 0;
}

/* ---- routing domains, VM subnets, provider addresses ---- */

/* The datapath's spec of a VM subnet (which checks n_prefixes). */
static void vsubnet_spec(const struct hnv_conf_vsubnet *c, struct hnv_vsubnet_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->vsid = c->vsid;
	memcpy(s->rdomain, c->rdomain, sizeof(s->rdomain));
	s->n_prefixes = c->n_prefixes;
	memcpy(s->prefixes, c->prefixes, sizeof(s->prefixes));
}

/* The message of a failed rdomain add or del. */
static void rdomain_err(int rc, bool add, const char *name, const char *rdid, char *err,
			size_t errlen)
{
	const char *cmd = add ? "rdomain add" : "rdomain del";
	if (rc == -EEXIST)
		hnv_seterr(err, errlen,
			   "%s: rdomain \"%s\" already exists, or RDID %s belongs to another "
			   "rdomain",
			   cmd, name, rdid);
	else if (rc == -ENOENT)
		hnv_seterr(err, errlen, "%s: rdomain \"%s\" not found", cmd, name);
	else if (rc == -EBUSY)
		hnv_seterr(err, errlen,
			   "%s: rdomain \"%s\" is in use (delete its vsubnets and routes first)",
			   cmd, name);
	else
		hnv_seterr(err, errlen, "%s: rdomain \"%s\"%s%s: %s", cmd, name, add ? " " : "",
			   add ? rdid : "", conf_errno_text(rc));
}

static int apply_rdomain(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
			 size_t errlen)
{
	struct hnv_policy *p = hnv_dp_policy(b->dp);
	const char *name = c->u.rdomain.name;
	bool add = c->kind == HNV_CONF_RDOMAIN_ADD;
	const char *cmd = add ? "rdomain add" : "rdomain del";
	char g[40];
	if (!CONF_TERMINATED(c->u.rdomain.name)) {
		hnv_seterr(err, errlen, "%s: name is not terminated", cmd);
		return -EINVAL;
	}
	int rc = add ? 0 : conf_rdomain_gw_busy(b, cmd, name, err, errlen);
	if (rc < 0)
		return rc;
	hnv_fmt_guid(&c->u.rdomain.rdid, g, sizeof(g));
	rc = add ? hnv_policy_rdomain_add(p, name, &c->u.rdomain.rdid)
		 : hnv_policy_rdomain_del(p, name);
	long known = rc == 0 ? CONF_FIND(b->rdomains, conf_name_is, name) : -1;
	struct rd_rec r;
	memcpy(r.name, c->u.rdomain.name, sizeof(r.name));
	if (rc == 0 && add && CONF_PUSH(b->rdomains, &r) < 0) {
		hnv_policy_rdomain_del(p, name);
		rc = -ENOMEM;
	} else if (rc == 0 && !add && known >= 0) {
		CONF_DEL(b->rdomains, known);
	}
	if (rc < 0)
		rdomain_err(rc, add, name, g, err, errlen);
	return rc < 0 ? rc : 0;
}

static int apply_vsubnet(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
			 size_t errlen)
{
	struct hnv_policy *p = hnv_dp_policy(b->dp);
	const struct hnv_conf_vsubnet *s = &c->u.vsubnet;
	bool add = c->kind == HNV_CONF_VSUBNET_ADD;
	const char *cmd = add ? "vsubnet add" : "vsubnet del";
	if (add && !CONF_TERMINATED(s->rdomain)) {
		hnv_seterr(err, errlen, "%s: rdomain name is not terminated", cmd);
		return -EINVAL;
	}
	int rc = add ? 0 : conf_vsid_pool_busy(b, cmd, s->vsid, err, errlen);
	if (rc == 0 && !add)
		rc = conf_vsid_gw_busy(b, cmd, s->vsid, err, errlen);
	if (rc < 0)
		return rc;
	if (add) {
		struct hnv_vsubnet_spec spec;
		vsubnet_spec(s, &spec);
		rc = hnv_policy_vsubnet_add(p, &spec);
	} else {
		rc = hnv_policy_vsubnet_del(p, s->vsid);
	}
	if (rc == -EEXIST)
		hnv_seterr(err, errlen, "%s: VSID %u already exists", cmd, s->vsid);
	else if (rc == -ENOENT && add)
		hnv_seterr(err, errlen, "%s: routing domain \"%s\" not found", cmd, s->rdomain);
	else if (rc == -ENOENT)
		hnv_seterr(err, errlen, "%s: VSID %u is not configured", cmd, s->vsid);
	else if (rc == -EBUSY)
		hnv_seterr(err, errlen,
			   "%s: VSID %u is in use (delete its ports, lookup records and routes "
			   "first)",
			   cmd, s->vsid);
	else if (rc < 0)
		hnv_seterr(err, errlen, "%s: VSID %u: %s", cmd, s->vsid, conf_errno_text(rc));
	return rc < 0 ? rc : 0;
}

static int apply_pa(struct hnv_policy *p, const struct hnv_conf_cmd *c, char *err, size_t errlen)
{
	bool add = c->kind == HNV_CONF_PA_ADD;
	const char *cmd = add ? "pa add" : "pa del";
	char a[INET6_ADDRSTRLEN];
	hnv_fmt_ip(&c->u.pa.addr.addr, a, sizeof(a));
	int rc = add ? hnv_policy_pa_add(p, &c->u.pa.addr)
		     : hnv_policy_pa_del(p, &c->u.pa.addr.addr);
	if (rc == -EEXIST)
		hnv_seterr(err, errlen, "%s: provider address %s already exists", cmd, a);
	else if (rc == -ENOENT)
		hnv_seterr(err, errlen, "%s: provider address %s not found", cmd, a);
	else if (rc < 0)
		hnv_seterr(err, errlen, "%s: provider address %s: %s", cmd, a, conf_errno_text(rc));
	return rc < 0 ? rc : 0;
}

/* ---- customer routes, global settings ---- */

static void route_spec(const struct hnv_conf_route *c, struct hnv_route_spec *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->rdomain, c->rdomain, sizeof(s->rdomain));
	s->vsid = c->vsid;
	s->prefix = c->prefix;
	s->nexthop = c->nexthop;
	s->metric = c->metric;
}

static int apply_route(struct hnv_policy *p, const struct hnv_conf_cmd *c, char *err, size_t errlen)
{
	const struct hnv_conf_route *s = &c->u.route;
	bool add = c->kind == HNV_CONF_ROUTE_ADD;
	const char *cmd = add ? "route add" : "route del";
	char pfx[64], nh[INET6_ADDRSTRLEN];
	int rc;
	if (!CONF_TERMINATED(s->rdomain)) {
		hnv_seterr(err, errlen, "%s: rdomain name is not terminated", cmd);
		return -EINVAL;
	}
	hnv_fmt_prefix(&s->prefix, pfx, sizeof(pfx));
	hnv_fmt_ip(&s->nexthop, nh, sizeof(nh));
	if (!add) {
		rc = hnv_policy_route_del(p, s->rdomain, &s->prefix, &s->nexthop);
		if (rc == -ENOENT)
			hnv_seterr(err, errlen,
				   "%s: no route %s via %s in routing domain \"%s\" (or no such "
				   "routing domain)",
				   cmd, pfx, nh, s->rdomain);
		else if (rc < 0)
			hnv_seterr(err, errlen, "%s: route %s via %s: %s", cmd, pfx, nh,
				   conf_errno_text(rc));
		return rc < 0 ? rc : 0;
	}
	struct hnv_vsubnet_spec vs;
	bool have_vs = hnv_policy_vsubnet_get(p, s->vsid, &vs) == 0;
	struct hnv_route_spec spec;
	route_spec(s, &spec);
	rc = hnv_policy_route_add(p, &spec);
	if (rc == -ENOENT && !have_vs)
		return conf_vsid_missing(cmd, s->vsid, err, errlen);
	if (rc == -ENOENT)
		hnv_seterr(err, errlen, "%s: routing domain \"%s\" not found", cmd, s->rdomain);
	else if (rc == -EXDEV && have_vs)
		hnv_seterr(err, errlen, "%s: VSID %u belongs to routing domain \"%s\", not \"%s\"",
			   cmd, s->vsid, vs.rdomain, s->rdomain);
	else if (rc == -EEXIST)
		hnv_seterr(err, errlen,
			   "%s: route %s via %s already exists in routing domain \"%s\"", cmd, pfx,
			   nh, s->rdomain);
	else if (rc < 0)
		hnv_seterr(err, errlen, "%s: route %s via %s in routing domain \"%s\": %s", cmd,
			   pfx, nh, s->rdomain, conf_errno_text(rc));
	return rc < 0 ? rc : 0;
}

int hnv_conf_supported(const struct hnv_conf_cmd *c, char *err, size_t errlen)
{
	if (c->kind == HNV_CONF_LOOKUP_ADD || c->kind == HNV_CONF_LOOKUP_SET)
		return conf_rule_supported(c->kind == HNV_CONF_LOOKUP_ADD ? "lookup add"
									  : "lookup set",
					   &c->u.lookup, err, errlen);
	const struct hnv_conf_global *g = &c->u.global;
	if (c->kind != HNV_CONF_GLOBAL_SET || !g->has_use_external_router ||
	    !g->use_external_router)
		return 0;
	hnv_seterr(err, errlen,
		   "global set: --use-external-router on (UseExternalRouter $true) is "
		   "not supported: hnvgw always routes between the virtual subnets of a "
		   "routing domain itself (the distributed router, with customer routes "
		   "for what lies beyond); sending that traffic to an external router "
		   "is a mode hnvgw does not offer (docs/netwnv-settings.md)");
	return -EOPNOTSUPP;
}

static int apply_global(struct hnv_dp *dp, const struct hnv_conf_cmd *c, char *err, size_t errlen)
{
	const struct hnv_conf_global *g = &c->u.global;
	if (g->has_uplink_mtu && (g->uplink_mtu < 576 || g->uplink_mtu > 9000)) {
		hnv_seterr(err, errlen, "global set: uplink MTU %u is outside 576-9000",
			   g->uplink_mtu);
		return -EINVAL;
	}
	int rc = hnv_conf_supported(c, err, errlen);
	if (rc < 0)
		return rc;
	if (g->has_gateway_mac)
		hnv_dp_set_gateway_mac(dp, &g->gateway_mac);
	if (g->has_flowid)
		hnv_dp_set_flowid(dp, g->flowid);
	/* The uplink MAC belongs to the I/O layer: NULL keeps it (dp.h). */
	if (g->has_uplink_mtu)
		hnv_dp_set_uplink(dp, NULL, g->uplink_mtu);
	/* UseExternalRouter off is what the datapath does: nothing to set. */
	return 0;
}

/* ---- the batch ---- */

static int apply_one(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		     size_t errlen)
{
	struct hnv_policy *p = hnv_dp_policy(b->dp);
	switch (c->kind) {
	case HNV_CONF_RDOMAIN_ADD:
	case HNV_CONF_RDOMAIN_DEL:
		return apply_rdomain(b, c, err, errlen);
	case HNV_CONF_VSUBNET_ADD:
	case HNV_CONF_VSUBNET_DEL:
		return apply_vsubnet(b, c, err, errlen);
	case HNV_CONF_PA_ADD:
	case HNV_CONF_PA_DEL:
		return apply_pa(p, c, err, errlen);
	case HNV_CONF_PORT_ADD:
	case HNV_CONF_PORT_DEL:
		return conf_apply_port(b, c, err, errlen);
	case HNV_CONF_LOOKUP_ADD:
	case HNV_CONF_LOOKUP_SET:
	case HNV_CONF_LOOKUP_DEL:
		return conf_apply_lookup(b, c, err, errlen);
	case HNV_CONF_POOL_ADD:
	case HNV_CONF_POOL_DEL:
		return conf_apply_pool(b, c, err, errlen);
	case HNV_CONF_ROUTE_ADD:
	case HNV_CONF_ROUTE_DEL:
		return apply_route(p, c, err, errlen);
	case HNV_CONF_GLOBAL_SET:
		return apply_global(b->dp, c, err, errlen);
	case HNV_CONF_PROUTE_ADD:
	case HNV_CONF_PROUTE_DEL:
		return conf_apply_proute(b, c, err, errlen);
	case HNV_CONF_GATEWAY_ADD:
	case HNV_CONF_GATEWAY_DEL:
		return conf_apply_gateway(b, c, err, errlen);
	case HNV_CONF_GATEWAY_CA:
	case HNV_CONF_GATEWAY_CA_DEL:
		return conf_apply_gateway_ca(b, c, err, errlen);
	case HNV_CONF_S2S_ADD:
	case HNV_CONF_S2S_DEL:
		return conf_apply_s2s(b, c, err, errlen);
	case HNV_CONF_GRE_ADD:
	case HNV_CONF_GRE_DEL:
	case HNV_CONF_L3_ADD:
	case HNV_CONF_L3_DEL:
		return conf_apply_conn(b, c, err, errlen);
	case HNV_CONF_BGP_PEER_ADD:
	case HNV_CONF_BGP_PEER_DEL:
		return conf_apply_bgp_peer(b, c, err, errlen);
	case HNV_CONF_PORT_MOVE:
		/* a request to the shared policy, never configuration */
		hnv_seterr(err, errlen, "%s", HNV_CONF_PORT_MOVE_REFUSED);
		return -EOPNOTSUPP;
	case HNV_CONF_GATEWAY_MOVE:
		hnv_seterr(err, errlen, "%s", HNV_CONF_GATEWAY_MOVE_REFUSED);
		return -EOPNOTSUPP;
	}
	hnv_seterr(err, errlen, "unknown command kind %d", (int)c->kind);
	return -EINVAL;
}

int hnv_conf_batch_begin(struct hnv_dp *dp, struct hnv_conf_batch **out)
{
	if (dp == NULL || out == NULL)
		return -EINVAL;
	struct hnv_conf_batch *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	b->dp = dp;
	*out = b;
	return 0;
}

int hnv_conf_batch_apply(struct hnv_conf_batch *b, const struct hnv_conf_cmd *cmd, char *err,
			 size_t errlen)
{
	char msg[CONF_MSG_MAX];
	if (b == NULL || cmd == NULL) {
		hnv_seterr(err, errlen, "nothing to apply");
		return -EINVAL;
	}
	int rc = apply_one(b, cmd, msg, sizeof(msg));
	if (rc < 0 && cmd->line)
		hnv_seterr(err, errlen, "line %u: %s", cmd->line, msg);
	else if (rc < 0)
		hnv_seterr(err, errlen, "%s", msg);
	return rc;
}

int hnv_conf_batch_publish(struct hnv_conf_batch *b, char *err, size_t errlen)
{
	if (b == NULL) {
		hnv_seterr(err, errlen, "no batch to publish");
		return -EINVAL;
	}
	int rc = conf_sync_gateway_ports(b, err, errlen);
	/* commit even after a failed gateway port: the routes stand alone */
	int crc = hnv_policy_commit(hnv_dp_policy(b->dp));
	if (rc == 0 && crc < 0) {
		hnv_seterr(err, errlen, "commit: %s", conf_errno_text(crc));
		rc = crc;
	}
	return rc;
}

static bool dev_is(const void *elem, const void *key)
{
	return strcmp(((const struct dev_rec *)elem)->dev, key) == 0;
}

int conf_dev_free(const struct hnv_conf_batch *b, const char *cmd, const char *who, const char *dev,
		  char *err, size_t errlen)
{
	bool port = strcmp(cmd, "port add") == 0;
	long i = CONF_FIND(b->devs, dev_is, dev);
	if (i >= 0 && port) {
		const struct dev_rec *o = &b->devs.a[i];
		hnv_seterr(
			err, errlen,
			"port add: port \"%s\": device %s is already the device of port \"%s\"%s",
			who, dev, o->port,
			strcmp(o->dev, o->port) == 0 ? " (a TAP hnvgwd creates)" : "");
		return -EEXIST;
	}
	for (size_t k = 0; k < b->gws.n; k++) {
		const struct gw_rec *g = &b->gws.a[k];
		if (strcmp(g->corp_dev, dev) != 0)
			continue;
		if (port)
			hnv_seterr(err, errlen,
				   "port add: port \"%s\": device %s is the corp device of routing "
				   "domain \"%s\"",
				   who, dev, g->rdomain);
		else
			hnv_seterr(
				err, errlen,
				"gateway add: routing domain \"%s\": corp device %s is already the "
				"corp device of routing domain \"%s\"",
				who, dev, g->rdomain);
		return -EEXIST;
	}
	if (i >= 0) {
		hnv_seterr(
			err, errlen,
			"gateway add: routing domain \"%s\": corp device %s is the device of port "
			"\"%s\"",
			who, dev, b->devs.a[i].port);
		return -EEXIST;
	}
	return 0;
}

int hnv_conf_batch_end(struct hnv_conf_batch *b, char *err, size_t errlen)
{
	if (b == NULL)
		return 0;
	int rc = hnv_conf_batch_publish(b, err, errlen);
	free(b->rdomains.a);
	free(b->gws.a);
	free(b->cas.a);
	free(b->s2s.a);
	free(b->conns.a);
	free(b->bgp_peers.a);
	free(b->proutes.a);
	free(b->pools.a);
	free(b->autos.a);
	free(b->gwports.a);
	free(b->devs.a);
	free(b);
	return rc;
}

int hnv_conf_apply(struct hnv_dp *dp, const struct hnv_conf_cmd *cmds, size_t n, char *err,
		   size_t errlen)
{
	if (dp == NULL || (cmds == NULL && n > 0)) {
		hnv_seterr(err, errlen, "nothing to apply to");
		return -EINVAL;
	}
	struct hnv_conf_batch *b;
	int rc = hnv_conf_batch_begin(dp, &b);
	if (rc < 0) {
		hnv_seterr(err, errlen, "out of memory");
		return rc;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = hnv_conf_batch_apply(b, &cmds[i], err, errlen);
	/* Publish even after a failure: readers see what was applied. The
	 * first failure's message stays. */
	char cerr[CONF_MSG_MAX];
	int crc = hnv_conf_batch_end(b, cerr, sizeof(cerr));
	if (rc == 0 && crc < 0) {
		hnv_seterr(err, errlen, "%s", cerr);
		rc = crc;
	}
	return rc;
}
