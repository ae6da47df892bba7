/* conf_apply_gw.c: the applier for the gateway role (conf_apply_int.h):
 * provider routes, gateways, gateway CAs, S2S tunnels, and the gateway
 * ports their CAs give the datapath.
 *
 * Provider routes, gateways and tunnels live only in the batch: they touch
 * no datapath state (hnvgwd's gateway role applies them to the kernel,
 * zebra and charon). Their checks see routing domains, gateways and tunnels
 * as added by the same batch, VSIDs as the datapath holds them.
 */
#include "conf_apply_int.h"

#include "../datapath/policy.h"
#include "../lib/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

static bool gw_uses_rdomain(const void *elem, const void *key)
{
	return strcmp(((const struct gw_rec *)elem)->rdomain, key) == 0;
}

static bool s2s_uses_rdomain(const void *elem, const void *key)
{
	return strcmp(((const struct s2s_rec *)elem)->rdomain, key) == 0;
}

static bool ca_uses_rdomain(const void *elem, const void *key)
{
	return strcmp(((const struct hnv_conf_gateway_ca *)elem)->rdomain, key) == 0;
}

static bool ca_uses_vsid(const void *elem, const void *key)
{
	return ((const struct hnv_conf_gateway_ca *)elem)->vsid == *(const uint32_t *)key;
}

int conf_rdomain_gw_busy(const struct hnv_conf_batch *b, const char *cmd, const char *name,
			 char *err, size_t errlen)
{
	if (CONF_FIND(b->gws, gw_uses_rdomain, name) >= 0) {
		hnv_seterr(err, errlen,
			   "%s: rdomain \"%s\" is in use by its gateway (gateway del first)", cmd,
			   name);
		return -EBUSY;
	}
	if (CONF_FIND(b->s2s, s2s_uses_rdomain, name) >= 0) {
		hnv_seterr(err, errlen,
			   "%s: rdomain \"%s\" is in use by s2s tunnels (s2s del first)", cmd,
			   name);
		return -EBUSY;
	}
	return 0;
}

int conf_vsid_gw_busy(const struct hnv_conf_batch *b, const char *cmd, uint32_t vsid, char *err,
		      size_t errlen)
{
	long ca = CONF_FIND(b->cas, ca_uses_vsid, &vsid);
	if (ca < 0)
		return 0;
	hnv_seterr(err, errlen,
		   "%s: VSID %u is in use by the gateway of routing domain \"%s\" (gateway "
		   "ca-del first)",
		   cmd, vsid, b->cas.a[ca].rdomain);
	return -EBUSY;
}

/* ---- provider routes ---- */

int conf_apply_proute(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		      size_t errlen)
{
	const struct hnv_conf_proute *s = &c->u.proute;
	bool add = c->kind == HNV_CONF_PROUTE_ADD;
	const char *cmd = add ? "proute add" : "proute del";
	char pfx[64], nh[INET6_ADDRSTRLEN];
	hnv_fmt_prefix(&s->prefix, pfx, sizeof(pfx));
	hnv_fmt_ip(&s->nexthop, nh, sizeof(nh));
	if (add && !CONF_TERMINATED(s->dev)) {
		hnv_seterr(err, errlen, "%s: device name is not terminated", cmd);
		return -EINVAL;
	}
	size_t i;
	for (i = 0; i < b->proutes.n; i++) {
		const struct hnv_conf_proute *r = &b->proutes.a[i];
		if (r->prefix.len == s->prefix.len && hnv_ip_eq(&r->prefix.addr, &s->prefix.addr) &&
		    hnv_ip_eq(&r->nexthop, &s->nexthop))
			break;
	}
	if (add && i < b->proutes.n) {
		hnv_seterr(err, errlen, "%s: provider route %s via %s already exists", cmd, pfx,
			   nh);
		return -EEXIST;
	}
	if (!add && i == b->proutes.n) {
		hnv_seterr(err, errlen, "%s: no provider route %s via %s", cmd, pfx, nh);
		return -ENOENT;
	}
	if (!add) {
		CONF_DEL(b->proutes, i);
		return 0;
	}
	struct hnv_conf_proute key;
	memset(&key, 0, sizeof(key));
	key.prefix = s->prefix;
	key.nexthop = s->nexthop;
	if (CONF_PUSH(b->proutes, &key) < 0) {
		hnv_seterr(err, errlen, "%s: provider route %s via %s: out of memory", cmd, pfx,
			   nh);
		return -ENOMEM;
	}
	return 0;
}

/* ---- gateway ports ---- */

void hnv_gateway_port(uint32_t vsid, char name[HNV_DEV_MAX + 1], struct hnv_mac *mac)
{
	snprintf(name, HNV_DEV_MAX + 1, "vsid%u", vsid);
	const struct hnv_mac m = {
		{0x02, 0x48, 0x4e, (uint8_t)(vsid >> 16), (uint8_t)(vsid >> 8), (uint8_t)vsid}};
	*mac = m;
}

static bool gwport_of_vsid(const void *elem, const void *key)
{
	return ((const struct gwport_rec *)elem)->vsid == *(const uint32_t *)key;
}

/* The gateway port of vsid as the batch's gateway CAs want it; returns its
 * number of CAs, 0 when the batch has none in vsid. */
static unsigned gwport_want(const struct hnv_conf_batch *b, uint32_t vsid, struct hnv_port_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->vsid = vsid;
	s->gateway = true;
	hnv_gateway_port(vsid, s->name, &s->mac);
	for (size_t j = 0; j < b->cas.n && s->n_cas < HNV_PORT_MAX_CAS; j++)
		if (b->cas.a[j].vsid == vsid)
			s->cas[s->n_cas++] = b->cas.a[j].ca;
	return s->n_cas;
}

/* Removes the gateway port of vsid that the batch put in the datapath, if
 * any: 0, or a negative errno with a message. */
static int gwport_drop(struct hnv_conf_batch *b, const char *cmd, uint32_t vsid, char *err,
		       size_t errlen)
{
	long i = CONF_FIND(b->gwports, gwport_of_vsid, &vsid);
	if (i < 0)
		return 0;
	char name[HNV_DEV_MAX + 1];
	struct hnv_mac mac;
	hnv_gateway_port(vsid, name, &mac);
	int rc = hnv_policy_port_del(hnv_dp_policy(b->dp), name);
	if (rc < 0 && rc != -ENOENT) {
		hnv_seterr(err, errlen, "%s: cannot remove the gateway port %s: %s", cmd, name,
			   conf_errno_text(rc));
		return rc;
	}
	CONF_DEL(b->gwports, i);
	return 0;
}

/* Adds the gateway port of vsid and remembers it. */
static int gwport_add(struct hnv_conf_batch *b, uint32_t vsid, char *err, size_t errlen)
{
	struct hnv_policy *p = hnv_dp_policy(b->dp);
	struct hnv_port_spec s;
	gwport_want(b, vsid, &s);
	int rc = hnv_policy_port_add(p, &s);
	if (rc == -EEXIST) {
		hnv_seterr(err, errlen,
			   "gateway ca: the gateway port %s of VSID %u clashes with a port of the "
			   "same name or MAC (port names vsidN are reserved for gateway ports)",
			   s.name, vsid);
		return rc;
	}
	if (rc < 0) {
		hnv_seterr(err, errlen, "gateway ca: cannot add the gateway port %s: %s", s.name,
			   conf_errno_text(rc));
		return rc;
	}
	struct gwport_rec r = {.vsid = vsid, .n_cas = s.n_cas};
	memcpy(r.cas, s.cas, sizeof(r.cas));
	if (CONF_PUSH(b->gwports, &r) < 0) {
		hnv_policy_port_del(p, s.name);
		hnv_seterr(err, errlen, "gateway ca: gateway port %s: out of memory", s.name);
		return -ENOMEM;
	}
	return 0;
}

int conf_sync_gateway_ports(struct hnv_conf_batch *b, char *err, size_t errlen)
{
	/* first the ports whose CAs changed, or that the datapath lost */
	for (size_t i = b->gwports.n; i-- > 0;) {
		const struct gwport_rec *r = &b->gwports.a[i];
		struct hnv_port_spec s;
		unsigned n = gwport_want(b, r->vsid, &s);
		if (n == r->n_cas && memcmp(s.cas, r->cas, n * sizeof(s.cas[0])) == 0 &&
		    hnv_policy_port_id(hnv_dp_policy(b->dp), s.name) >= 0)
			continue;
		int rc = gwport_drop(b, "gateway ca", r->vsid, err, errlen);
		if (rc < 0)
			return rc;
	}
	/* then one per VSID holding CAs, in the order of the VSIDs' first CA */
	for (size_t i = 0; i < b->cas.n; i++) {
		uint32_t vsid = b->cas.a[i].vsid;
		if (CONF_FIND(b->gwports, gwport_of_vsid, &vsid) >= 0)
			continue;
		int rc = gwport_add(b, vsid, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- gateways ---- */

static int apply_gateway_add(struct hnv_conf_batch *b, const struct hnv_conf_gateway *g, char *err,
			     size_t errlen)
{
	const char *cmd = "gateway add";
	if (!CONF_TERMINATED(g->rdomain) || !CONF_TERMINATED(g->vrf) ||
	    !CONF_TERMINATED(g->corp_dev)) {
		hnv_seterr(err, errlen, "%s: a name is not terminated", cmd);
		return -EINVAL;
	}
	if (!conf_rdomain_known(b, g->rdomain))
		return conf_rdomain_missing(cmd, g->rdomain, err, errlen);
	for (size_t i = 0; i < b->gws.n; i++) {
		const struct gw_rec *o = &b->gws.a[i];
		if (strcmp(o->rdomain, g->rdomain) == 0) {
			hnv_seterr(err, errlen,
				   "%s: routing domain \"%s\" already has a gateway (VRF %s)", cmd,
				   g->rdomain, o->vrf);
			return -EEXIST;
		}
		if (strcmp(o->vrf, g->vrf) == 0)
			return conf_vrf_taken(g->vrf, o->rdomain, err, errlen);
		if (o->table == g->table)
			return conf_table_taken(g->table, o->vrf, o->rdomain, err, errlen);
	}
	int rc;
	if (g->corp_dev[0] &&
	    (rc = conf_dev_free(b, cmd, g->rdomain, g->corp_dev, err, errlen)) < 0)
		return rc;
	struct gw_rec r;
	memset(&r, 0, sizeof(r));
	memcpy(r.rdomain, g->rdomain, sizeof(r.rdomain));
	memcpy(r.vrf, g->vrf, sizeof(r.vrf));
	r.table = g->table;
	memcpy(r.corp_dev, g->corp_dev, sizeof(r.corp_dev));
	r.corp_nexthop = g->has_corp_nexthop;
	r.corp_nexthop_v4 = hnv_ip_is_v4(&g->corp_nexthop);
	r.bgp_asn = g->bgp_asn;
	r.bgp_peer = g->bgp_peer;
	r.pool = g->pool[0] != 0;
	memcpy(r.pool_name, g->pool, sizeof(r.pool_name));
	if (CONF_PUSH(b->gws, &r) < 0) {
		hnv_seterr(err, errlen, "%s: gateway of \"%s\": out of memory", cmd, g->rdomain);
		return -ENOMEM;
	}
	return 0;
}

static int apply_gateway_del(struct hnv_conf_batch *b, const char *rdomain, char *err,
			     size_t errlen)
{
	const char *cmd = "gateway del";
	long gi = CONF_FIND(b->gws, gw_uses_rdomain, rdomain);
	if (gi < 0) {
		hnv_seterr(err, errlen, "%s: routing domain \"%s\" has no gateway", cmd, rdomain);
		return -ENOENT;
	}
	long ti = CONF_FIND(b->s2s, s2s_uses_rdomain, rdomain);
	if (ti >= 0) {
		hnv_seterr(
			err, errlen,
			"%s: the gateway of routing domain \"%s\" is in use by s2s \"%s\" (s2s del "
			"first)",
			cmd, rdomain, b->s2s.a[ti].name);
		return -EBUSY;
	}
	const struct hnv_conf_conn *conn = conf_conn_of_rdomain(b, rdomain);
	if (conn != NULL) {
		hnv_seterr(
			err, errlen,
			"%s: the gateway of routing domain \"%s\" is in use by %s \"%s\" (%s del "
			"first)",
			cmd, rdomain, conn->type == HNV_CONN_GRE ? "gre" : "l3", conn->name,
			conn->type == HNV_CONN_GRE ? "gre" : "l3");
		return -EBUSY;
	}
	int brc = conf_rdomain_bgp_busy(b, cmd, rdomain, err, errlen);
	if (brc < 0)
		return brc;
	/* The gateway's CAs are part of it and go with it, their ports now
	 * (as for gateway ca-del). */
	for (size_t i = 0; i < b->cas.n; i++) {
		if (strcmp(b->cas.a[i].rdomain, rdomain) != 0)
			continue;
		int rc = gwport_drop(b, cmd, b->cas.a[i].vsid, err, errlen);
		if (rc < 0)
			return rc;
	}
	for (long i; (i = CONF_FIND(b->cas, ca_uses_rdomain, rdomain)) >= 0;)
		CONF_DEL(b->cas, i);
	CONF_DEL(b->gws, gi);
	return 0;
}

int conf_apply_gateway(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		       size_t errlen)
{
	if (c->kind == HNV_CONF_GATEWAY_ADD)
		return apply_gateway_add(b, &c->u.gateway, err, errlen);
	if (!CONF_TERMINATED(c->u.gateway.rdomain)) {
		hnv_seterr(err, errlen, "gateway del: rdomain name is not terminated");
		return -EINVAL;
	}
	return apply_gateway_del(b, c->u.gateway.rdomain, err, errlen);
}

/* ---- gateway CAs ---- */

static bool same_family(const struct hnv_ip *a, const struct hnv_ip *b)
{
	return hnv_ip_is_v4(a) == hnv_ip_is_v4(b);
}

int conf_apply_gateway_ca(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
			  size_t errlen)
{
	const struct hnv_conf_gateway_ca *g = &c->u.gateway_ca;
	bool add = c->kind == HNV_CONF_GATEWAY_CA;
	const char *cmd = add ? "gateway ca" : "gateway ca-del";
	char a[INET6_ADDRSTRLEN];
	if (!CONF_TERMINATED(g->rdomain)) {
		hnv_seterr(err, errlen, "%s: rdomain name is not terminated", cmd);
		return -EINVAL;
	}
	hnv_fmt_ip(&g->ca, a, sizeof(a));
	size_t i;
	for (i = 0; i < b->cas.n; i++) {
		const struct hnv_conf_gateway_ca *o = &b->cas.a[i];
		if (strcmp(o->rdomain, g->rdomain) == 0 && o->vsid == g->vsid &&
		    same_family(&o->ca, &g->ca))
			break;
	}
	if (!add) {
		const struct hnv_conf_gateway_ca *o = i < b->cas.n ? &b->cas.a[i] : NULL;
		if (o == NULL || !hnv_ip_eq(&o->ca, &g->ca)) {
			hnv_seterr(
				err, errlen,
				"%s: the gateway of routing domain \"%s\" has no CA %s in VSID %u",
				cmd, g->rdomain, a, g->vsid);
			return -ENOENT;
		}
		/* the port goes now, so that the VSID may go too; publish adds
		 * it back with the VSID's other CAs */
		int rc = gwport_drop(b, cmd, g->vsid, err, errlen);
		if (rc == 0)
			CONF_DEL(b->cas, i);
		return rc;
	}
	if (CONF_FIND(b->gws, gw_uses_rdomain, g->rdomain) < 0)
		return conf_gateway_missing(cmd, NULL, g->rdomain, err, errlen);
	struct hnv_vsubnet_spec vs;
	if (hnv_policy_vsubnet_get(hnv_dp_policy(b->dp), g->vsid, &vs) < 0)
		return conf_vsid_missing(cmd, g->vsid, err, errlen);
	if (strcmp(vs.rdomain, g->rdomain) != 0) {
		hnv_seterr(err, errlen, "%s: VSID %u belongs to routing domain \"%s\", not \"%s\"",
			   cmd, g->vsid, vs.rdomain, g->rdomain);
		return -EXDEV;
	}
	int rc = conf_check_ca(cmd, vs.vsid, vs.prefixes, vs.n_prefixes, &g->ca, err, errlen);
	if (rc < 0)
		return rc;
	if (i < b->cas.n) {
		char o[INET6_ADDRSTRLEN];
		hnv_fmt_ip(&b->cas.a[i].ca, o, sizeof(o));
		hnv_seterr(
			err, errlen,
			"%s: CA %s: the gateway of routing domain \"%s\" already exists in VSID %u "
			"with CA %s (one per address family)",
			cmd, a, g->rdomain, g->vsid, o);
		return -EEXIST;
	}
	if (CONF_PUSH(b->cas, g) < 0) {
		hnv_seterr(err, errlen, "%s: CA %s: out of memory", cmd, a);
		return -ENOMEM;
	}
	return 0;
}

/* ---- S2S tunnels ---- */

int conf_apply_s2s(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err, size_t errlen)
{
	const struct hnv_conf_s2s *s = &c->u.s2s;
	bool add = c->kind == HNV_CONF_S2S_ADD;
	const char *cmd = add ? "s2s add" : "s2s del";
	if (!CONF_TERMINATED(s->name)) {
		hnv_seterr(err, errlen, "%s: name is not terminated", cmd);
		return -EINVAL;
	}
	long ti = CONF_FIND(b->s2s, conf_name_is, s->name);
	if (!add) {
		if (ti < 0) {
			hnv_seterr(err, errlen, "%s: tunnel \"%s\" not found", cmd, s->name);
			return -ENOENT;
		}
		CONF_DEL(b->s2s, ti);
		return 0;
	}
	if (!CONF_TERMINATED(s->rdomain) || !CONF_TERMINATED(s->local_id) ||
	    !CONF_TERMINATED(s->remote_id) || !CONF_TERMINATED(s->peer_host)) {
		hnv_seterr(err, errlen, "%s: tunnel \"%s\": a value is not terminated", cmd,
			   s->name);
		return -EINVAL;
	}
	if (ti >= 0) {
		hnv_seterr(err, errlen, "%s: tunnel \"%s\" already exists", cmd, s->name);
		return -EEXIST;
	}
	if (!conf_rdomain_known(b, s->rdomain))
		return conf_rdomain_missing(cmd, s->rdomain, err, errlen);
	long gi = CONF_FIND(b->gws, gw_uses_rdomain, s->rdomain);
	if (gi < 0)
		return conf_gateway_missing(cmd, s->name, s->rdomain, err, errlen);
	int prc = conf_s2s_pool_check(s, b->gws.a[gi].pool_name, err, errlen);
	if (prc < 0)
		return prc;
	/* charon tells tunnels to one peer apart by their identities. */
	for (size_t i = 0; i < b->s2s.n; i++) {
		const struct s2s_rec *o = &b->s2s.a[i];
		bool same_local = o->has_local_addr == s->has_local_addr &&
				  (!s->has_local_addr || hnv_ip_eq(&o->local_addr, &s->local_addr));
		bool same_peer = o->peer_any == s->peer_any && hnv_ip_eq(&o->peer, &s->peer) &&
				 strcmp(o->peer_host, s->peer_host) == 0;
		/* an "any" tunnel is picked by the site's identity alone */
		if (same_peer && same_local &&
		    (s->peer_any || strcmp(o->local_id, s->local_id) == 0) &&
		    strcmp(o->remote_id, s->remote_id) == 0) {
			return conf_s2s_ids_taken(s, o->name, err, errlen);
		}
	}
	struct s2s_rec r;
	memset(&r, 0, sizeof(r));
	memcpy(r.name, s->name, sizeof(r.name));
	memcpy(r.rdomain, s->rdomain, sizeof(r.rdomain));
	r.peer = s->peer;
	r.has_local_addr = s->has_local_addr;
	r.local_addr = s->local_addr;
	memcpy(r.local_id, s->local_id, sizeof(r.local_id));
	memcpy(r.remote_id, s->remote_id, sizeof(r.remote_id));
	r.peer_any = s->peer_any;
	memcpy(r.peer_host, s->peer_host, sizeof(r.peer_host));
	/* one VRF routes a prefix through one tunnel or connection */
	hnv_conf_s2s_rroutes(s, &r.routes);
	struct hnv_conf_robj ra = {"s2s", s->name};
	int rc = conf_rroutes_taken(b, &ra, &r.routes, s->rdomain, err, errlen);
	if (rc < 0)
		return rc;
	if (CONF_PUSH(b->s2s, &r) < 0) {
		hnv_seterr(err, errlen, "%s: tunnel \"%s\": out of memory", cmd, s->name);
		return -ENOMEM;
	}
	return 0;
}
