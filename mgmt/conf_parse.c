/* conf_parse.c: config text lines -> commands (conftext.h, conf_int.h).
 *
 * The command table names each command's positional argument and its
 * allowed, required and repeatable options; parse_ws sorts a line's words
 * by option against it, so a command's builder finds every required option
 * present and each one no more often than allowed, and parses the values
 * (conf_value.c, conf_s2s.c).
 */
#include "conf_int.h"

#include "../lib/err.h"
#include "../lib/vec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* max: how often the option may appear in a command that lets it repeat
 * (cmd_def.multi); 1 for the others. */
static const struct {
	const char *name;
	bool flag; /* takes no value */
	unsigned max;
} opt_defs[OPT__COUNT] = {
	[OPT_RDID] = {"--rdid", false, 1},
	[OPT_RDOMAIN] = {"--rdomain", false, 1},
	[OPT_PREFIX] = {"--prefix", false, HNV_CONF_PREFIXES_MAX},
	[OPT_DEV] = {"--dev", false, 1},
	[OPT_VSID] = {"--vsid", false, 1},
	[OPT_CA] = {"--ca", false, HNV_CONF_CAS_MAX},
	[OPT_PA] = {"--pa", false, 1},
	[OPT_MAC] = {"--mac", false, 1},
	[OPT_RULE] = {"--rule", false, 1},
	[OPT_TYPE] = {"--type", false, 1},
	[OPT_VM_NAME] = {"--vm-name", false, 1},
	[OPT_CUSTOMER_ID] = {"--customer-id", false, 1},
	[OPT_CONTEXT] = {"--context", false, 1},
	[OPT_USE_VM_MAC] = {"--use-vm-mac", true, 1},
	[OPT_NEXTHOP] = {"--nexthop", false, 1},
	[OPT_METRIC] = {"--metric", false, 1},
	[OPT_GATEWAY_MAC] = {"--gateway-mac", false, 1},
	[OPT_FLOWID] = {"--flowid", false, 1},
	[OPT_UPLINK_MTU] = {"--uplink-mtu", false, 1},
	[OPT_USE_EXT_ROUTER] = {"--use-external-router", false, 1},
	[OPT_VRF] = {"--vrf", false, 1},
	[OPT_TABLE] = {"--table", false, 1},
	[OPT_CORP_DEV] = {"--corp-dev", false, 1},
	[OPT_NAT_EXTERNAL] = {"--nat-external", false, 1},
	[OPT_CORP_ADDR] = {"--corp-addr", false, 1},
	[OPT_CORP_NEXTHOP] = {"--corp-nexthop", false, 1},
	[OPT_BGP_ASN] = {"--bgp-asn", false, 1},
	[OPT_BGP_PEER] = {"--bgp-peer", false, 1},
	[OPT_BGP_PEER_ASN] = {"--bgp-peer-asn", false, 1},
	[OPT_PEER] = {"--peer", false, 1},
	[OPT_LOCAL_ADDR] = {"--local-addr", false, 1},
	[OPT_LOCAL_ID] = {"--local-id", false, 1},
	[OPT_REMOTE_ID] = {"--remote-id", false, 1},
	[OPT_PSK] = {"--psk", false, 1},
	[OPT_CERT] = {"--cert", false, 1},
	[OPT_KEY] = {"--key", false, 1},
	[OPT_CA_CERT] = {"--ca-cert", false, 1},
	[OPT_IKE_PROPOSAL] = {"--ike-proposal", false, HNV_S2S_PROPOSALS_MAX},
	[OPT_ESP_PROPOSAL] = {"--esp-proposal", false, HNV_S2S_PROPOSALS_MAX},
	[OPT_REMOTE_PREFIX] = {"--remote-prefix", false, HNV_S2S_REMOTE_MAX},
	[OPT_DPD] = {"--dpd", false, 1},
	[OPT_LOCAL_NETMAP] = {"--local-netmap", false, HNV_S2S_NETMAP_MAX},
	[OPT_REMOTE_NETMAP] = {"--remote-netmap", false, HNV_S2S_NETMAP_MAX},
	[OPT_RANGE] = {"--range", false, 1},
	[OPT_DNS] = {"--dns", false, 1},
	[OPT_LEASE] = {"--lease", false, 1},
	[OPT_TO] = {"--to", false, 1},
	[OPT_ALLOW_LEGACY] = {"--allow-legacy-crypto", true, 1},
	[OPT_LOCAL] = {"--local", false, 1},
	[OPT_REMOTE] = {"--remote", false, 1},
	[OPT_ADDR] = {"--addr", false, 1},
	[OPT_VLAN] = {"--vlan", false, 1},
	[OPT_RATE_OUT] = {"--rate-out", false, 1},
	[OPT_RATE_IN] = {"--rate-in", false, 1},
	[OPT_ASN] = {"--asn", false, 1},
	[OPT_SOURCE] = {"--source", false, 1},
	[OPT_PREFIX_IN] = {"--prefix-in", false, HNV_BGP_PEER_PREFIXES_MAX},
	[OPT_PREFIX_OUT] = {"--prefix-out", false, HNV_BGP_PEER_PREFIXES_MAX},
	[OPT_POOL] = {"--pool", false, 1},
};

_Static_assert(HNV_CONF_PREFIXES_MAX <= VALS_MAX && HNV_CONF_CAS_MAX <= VALS_MAX &&
		       HNV_S2S_PROPOSALS_MAX <= VALS_MAX && HNV_S2S_REMOTE_MAX <= VALS_MAX &&
		       HNV_S2S_NETMAP_MAX <= VALS_MAX && HNV_CONN_REMOTE_MAX <= VALS_MAX &&
		       HNV_BGP_PEER_PREFIXES_MAX <= VALS_MAX,
	       "VALS_MAX must hold every repeatable option");

struct cmd_def {
	const char *obj, *verb;
	enum hnv_conf_kind kind;
	const char *pos;  /* name of the positional argument, or NULL */
	uint64_t allowed; /* bit per enum conf_opt */
	uint64_t required;
	uint64_t multi; /* options that may repeat, up to opt_defs[].max times */
	int (*build)(struct conf_pctx *c, struct hnv_conf_cmd *cmd);
};

#define B(o) (UINT64_C(1) << (o))

/* -- per-command builders: the option table guarantees required options
 * are present and single-valued ones appear at most once -- */

static int build_rdomain_add(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	int rc = conf_get_name(c, "rdomain name", c->pos, cmd->u.rdomain.name);
	if (rc == 0)
		rc = conf_get_guid(c, "RDID", conf_opt1(c, OPT_RDID), &cmd->u.rdomain.rdid);
	return rc;
}

static int build_rdomain_del(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	return conf_get_name(c, "rdomain name", c->pos, cmd->u.rdomain.name);
}

static int build_vsubnet_add(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_vsubnet *s = &cmd->u.vsubnet;
	int rc = conf_get_vsid(c, c->pos, &s->vsid);
	if (rc == 0)
		rc = conf_get_name(c, "rdomain name", conf_opt1(c, OPT_RDOMAIN), s->rdomain);
	for (unsigned i = 0; rc == 0 && i < c->n[OPT_PREFIX]; i++) {
		const char *v = c->val[OPT_PREFIX][i];
		struct hnv_prefix *p = &s->prefixes[i];
		rc = conf_get_prefix(c, "prefix", v, p);
		if (rc < 0)
			break;
		/* the lowest address is the gateway: leave room for it and a VM */
		if (hnv_prefix_bits128(p) > 126)
			return conf_bad(c, "prefix", v,
					"too small for a virtual subnet (at most /30 or /126)");
		for (unsigned k = 0; k < i; k++)
			if (hnv_prefix_contains(&s->prefixes[k], &p->addr) ||
			    hnv_prefix_contains(p, &s->prefixes[k].addr)) {
				hnv_seterr(c->err, c->errlen,
					   "%s: prefix " SHOWF " overlaps prefix " SHOWF, c->cmd,
					   SHOWA(v), SHOWA(c->val[OPT_PREFIX][k]));
				return -EINVAL;
			}
		s->n_prefixes = i + 1;
	}
	return rc;
}

static int build_vsubnet_del(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	return conf_get_vsid(c, c->pos, &cmd->u.vsubnet.vsid);
}

static int build_pa_add(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	const char *why;
	if (hnv_parse_prefix_why(c->pos, &cmd->u.pa.addr, true, &why) < 0)
		return conf_bad(c, "PA", c->pos, why);
	if (hnv_ip_is_unspec(&cmd->u.pa.addr.addr))
		return conf_bad(c, "PA", c->pos, "unspecified address");
	return conf_get_dev(c, "device name", conf_opt1(c, OPT_DEV), cmd->u.pa.dev);
}

static int build_pa_del(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	return conf_get_ip(c, "PA", c->pos, false, &cmd->u.pa.addr.addr);
}

static int build_port_add(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_port *s = &cmd->u.port;
	int rc = conf_get_name(c, "port name", c->pos, s->name);
	const char *why;
	if (rc == 0 && (why = conf_reserved_dev(s->name)) != NULL)
		rc = conf_bad(c, "port name", s->name, why);
	if (rc == 0)
		rc = conf_get_vsid(c, conf_opt1(c, OPT_VSID), &s->vsid);
	/* without --mac the MAC stays all-zero: hnvgwd's model makes one */
	if (rc == 0 && c->n[OPT_MAC])
		rc = conf_get_mac(c, "MAC", conf_opt1(c, OPT_MAC), &s->mac);
	for (unsigned i = 0; rc == 0 && i < c->n[OPT_CA]; i++) {
		const char *v = c->val[OPT_CA][i];
		rc = conf_get_ip(c, "CA", v, false, &s->cas[i]);
		for (unsigned k = 0; rc == 0 && k < i; k++)
			if (hnv_ip_eq(&s->cas[k], &s->cas[i]))
				rc = conf_bad(c, "CA", v, "given twice");
		s->n_cas = i + 1;
	}
	if (rc == 0 && c->n[OPT_DEV]) {
		const char *v = conf_opt1(c, OPT_DEV);
		rc = conf_get_dev(c, "device name", v, s->dev);
		if (rc == 0 && (why = conf_reserved_dev(v)) != NULL)
			rc = conf_bad(c, "device name", v, why);
	}
	return rc;
}

static int build_port_del(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	return conf_get_name(c, "port name", c->pos, cmd->u.port.name);
}

static int build_port_move(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_port_move *m = &cmd->u.port_move;
	int rc = conf_get_name(c, "port name", c->pos, m->name);
	return rc ? rc : conf_get_host(c, "host name", conf_opt1(c, OPT_TO), m->host);
}

static int build_gateway_move(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_port_move *m = &cmd->u.port_move;
	int rc = conf_get_name(c, "rdomain name", c->pos, m->name);
	return rc ? rc : conf_get_host(c, "host name", conf_opt1(c, OPT_TO), m->host);
}

static int build_pool_add(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_pool *s = &cmd->u.pool;
	const char *range = conf_opt1(c, OPT_RANGE);
	char a[INET6_ADDRSTRLEN + 1];
	int rc = conf_get_name(c, "pool name", c->pos, s->name);
	if (rc == 0)
		rc = conf_get_vsid(c, conf_opt1(c, OPT_VSID), &s->vsid);
	if (rc < 0)
		return rc;
	const char *dash = strchr(range, '-');
	size_t alen = dash ? (size_t)(dash - range) : 0;
	if (dash == NULL || alen == 0 || alen >= sizeof(a))
		return conf_bad(c, "range", range,
				"expected FIRST-LAST, e.g. 10.10.1.100-10.10.1.130");
	memcpy(a, range, alen);
	a[alen] = '\0';
	rc = conf_get_ip4(c, "range start", a, &s->range.first);
	if (rc == 0)
		rc = conf_get_ip4(c, "range end", dash + 1, &s->range.last);
	if (rc < 0)
		return rc;
	uint32_t f = conf_ip4_u32(&s->range.first), l = conf_ip4_u32(&s->range.last);
	if (f > l)
		return conf_bad(c, "range", range, "the first address is above the last");
	if (l - f >= HNV_POOL_SIZE_MAX)
		return conf_bad(c, "range", range, "more than 65536 addresses");
	s->range.lease = HNV_POOL_LEASE_DEFAULT;
	if (c->n[OPT_LEASE])
		rc = conf_get_uint(c, "lease", conf_opt1(c, OPT_LEASE), HNV_POOL_LEASE_MIN,
				   HNV_POOL_LEASE_MAX, &s->range.lease);
	if (rc < 0 || !c->n[OPT_DNS])
		return rc;
	const char *dns = conf_opt1(c, OPT_DNS);
	for (const char *p = dns;;) {
		size_t n = strcspn(p, ",");
		if (n == 0 || n >= sizeof(a))
			return conf_bad(c, "DNS server list", dns, "expected IP[,IP...]");
		if (s->range.n_dns == HNV_CONF_DNS_MAX)
			return conf_bad(c, "DNS server list", dns, "at most 4 servers");
		memcpy(a, p, n);
		a[n] = '\0';
		rc = conf_get_ip4(c, "DNS server", a, &s->range.dns[s->range.n_dns]);
		if (rc < 0)
			return rc;
		s->range.n_dns++;
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	return 0;
}

static int build_pool_del(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	return conf_get_name(c, "pool name", c->pos, cmd->u.pool.name);
}

/* lookup add and lookup set: a complete record. */
static int build_lookup(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_lookup *s = &cmd->u.lookup;
	const char *ca = conf_opt1(c, OPT_CA);
	s->rule = HNV_RULE_ENCAP;
	s->type = HNV_TYPE_STATIC;
	int rc = conf_get_vsid(c, conf_opt1(c, OPT_VSID), &s->vsid);
	if (rc == 0)
		rc = conf_get_ip(c, "CA", ca, true, &s->ca);
	if (rc == 0)
		rc = conf_get_ip(c, "PA", conf_opt1(c, OPT_PA), false, &s->pa);
	if (rc == 0)
		rc = conf_get_mac(c, "MAC", conf_opt1(c, OPT_MAC), &s->mac);
	if (rc == 0 && c->n[OPT_RULE])
		rc = conf_get_rule(c, conf_opt1(c, OPT_RULE), &s->rule);
	if (rc == 0 && c->n[OPT_TYPE])
		rc = conf_get_type(c, conf_opt1(c, OPT_TYPE), &s->type);
	if (rc == 0 && c->n[OPT_VM_NAME])
		/* free text like Context: Hyper-V VM names often hold spaces */
		rc = conf_get_text(c, "VM name", conf_opt1(c, OPT_VM_NAME), s->vm_name,
				   sizeof(s->vm_name));
	if (rc == 0 && c->n[OPT_CUSTOMER_ID]) {
		rc = conf_get_guid(c, "customer ID", conf_opt1(c, OPT_CUSTOMER_ID),
				   &s->customer_id);
		s->has_customer_id = true;
	}
	if (rc == 0 && c->n[OPT_CONTEXT])
		rc = conf_get_text(c, "context", conf_opt1(c, OPT_CONTEXT), s->context,
				   sizeof(s->context));
	if (rc < 0)
		return rc;
	s->use_vm_mac = c->n[OPT_USE_VM_MAC] > 0;
	bool wild = s->type == HNV_TYPE_GATEWAY_WILDCARD || s->type == HNV_TYPE_L2ONLY;
	if (wild && !hnv_ip_is_unspec(&s->ca)) {
		hnv_seterr(c->err, c->errlen,
			   "%s: --ca " SHOWF " must be 0.0.0.0 or :: for type %s", c->cmd,
			   SHOWA(ca), conf_type_name(s->type));
		return -EINVAL;
	}
	if (!wild && hnv_ip_is_unspec(&s->ca)) {
		static const char why[] = "needs --type gateway-wildcard or l2only";
		hnv_seterr(c->err, c->errlen,
			   "%s: --ca " SHOWF " is unspecified, which %s (type is %s)", c->cmd,
			   SHOWA(ca), why, conf_type_name(s->type));
		return -EINVAL;
	}
	if (s->use_vm_mac && s->rule != HNV_RULE_NAT) {
		hnv_seterr(c->err, c->errlen, "%s: --use-vm-mac needs --rule nat", c->cmd);
		return -EINVAL;
	}
	return 0;
}

static int build_lookup_del(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_lookup *s = &cmd->u.lookup;
	int rc = conf_get_vsid(c, conf_opt1(c, OPT_VSID), &s->vsid);
	if (rc == 0)
		rc = conf_get_ip(c, "CA", conf_opt1(c, OPT_CA), true, &s->ca);
	if (rc == 0)
		rc = conf_get_mac(c, "MAC", conf_opt1(c, OPT_MAC), &s->mac);
	return rc;
}

/* --prefix and --nexthop of one family (route and proute keys). */
static int prefix_nexthop(struct conf_pctx *c, struct hnv_prefix *prefix, struct hnv_ip *nexthop)
{
	const char *nh = conf_opt1(c, OPT_NEXTHOP), *pfx = conf_opt1(c, OPT_PREFIX);
	int rc = conf_get_prefix(c, "prefix", pfx, prefix);
	if (rc == 0)
		rc = conf_get_ip(c, "nexthop", nh, true, nexthop);
	if (rc == 0 && hnv_ip_is_v4(&prefix->addr) != hnv_ip_is_v4(nexthop)) {
		bool v4 = hnv_ip_is_v4(&prefix->addr);
		hnv_seterr(c->err, c->errlen,
			   "%s: nexthop " SHOWF " is %s but prefix " SHOWF " is %s", c->cmd,
			   SHOWA(nh), v4 ? "IPv6" : "IPv4", SHOWA(pfx), v4 ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	return rc;
}

static int route_key(struct conf_pctx *c, struct hnv_conf_route *s)
{
	int rc = conf_get_name(c, "rdomain name", conf_opt1(c, OPT_RDOMAIN), s->rdomain);
	return rc ? rc : prefix_nexthop(c, &s->prefix, &s->nexthop);
}

static int build_route_add(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_route *s = &cmd->u.route;
	s->metric = 255;
	int rc = route_key(c, s);
	if (rc == 0)
		rc = conf_get_vsid(c, conf_opt1(c, OPT_VSID), &s->vsid);
	if (rc == 0 && c->n[OPT_METRIC])
		rc = conf_get_uint(c, "metric", conf_opt1(c, OPT_METRIC), 0, UINT32_MAX,
				   &s->metric);
	return rc;
}

static int build_route_del(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	return route_key(c, &cmd->u.route);
}

static int build_global_set(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_global *g = &cmd->u.global;
	int rc = 0;
	if (!c->n[OPT_GATEWAY_MAC] && !c->n[OPT_FLOWID] && !c->n[OPT_UPLINK_MTU] &&
	    !c->n[OPT_USE_EXT_ROUTER]) {
		hnv_seterr(c->err, c->errlen,
			   "%s: nothing to set (give --gateway-mac, --flowid, --uplink-mtu or "
			   "--use-external-router)",
			   c->cmd);
		return -EINVAL;
	}
	if (c->n[OPT_GATEWAY_MAC]) {
		rc = conf_get_mac(c, "gateway MAC", conf_opt1(c, OPT_GATEWAY_MAC), &g->gateway_mac);
		g->has_gateway_mac = true;
	}
	if (rc == 0 && c->n[OPT_FLOWID]) {
		rc = conf_get_onoff(c, "--flowid value", conf_opt1(c, OPT_FLOWID), &g->flowid);
		g->has_flowid = true;
	}
	if (rc == 0 && c->n[OPT_USE_EXT_ROUTER]) {
		rc = conf_get_onoff(c, "--use-external-router value",
				    conf_opt1(c, OPT_USE_EXT_ROUTER), &g->use_external_router);
		g->has_use_external_router = true;
	}
	if (rc == 0 && c->n[OPT_UPLINK_MTU]) {
		uint32_t mtu;
		rc = conf_get_uint(c, "uplink MTU", conf_opt1(c, OPT_UPLINK_MTU), 576, 9000, &mtu);
		g->uplink_mtu = mtu;
		g->has_uplink_mtu = true;
	}
	return rc;
}

/* -- provider routes -- */

static int proute_key(struct conf_pctx *c, struct hnv_conf_proute *s)
{
	return prefix_nexthop(c, &s->prefix, &s->nexthop);
}

static int build_proute_add(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_proute *s = &cmd->u.proute;
	int rc = proute_key(c, s);
	if (rc == 0)
		rc = conf_get_dev(c, "device name", conf_opt1(c, OPT_DEV), s->dev);
	if (rc == 0 && c->n[OPT_METRIC])
		rc = conf_get_uint(c, "metric", conf_opt1(c, OPT_METRIC), 0, UINT32_MAX,
				   &s->metric);
	return rc;
}

static int build_proute_del(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	return proute_key(c, &cmd->u.proute);
}

/* -- the gateway attachment -- */

static int build_gateway_add(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_gateway *g = &cmd->u.gateway;
	const char *table = conf_opt1(c, OPT_TABLE);
	int rc = conf_get_name(c, "rdomain name", conf_opt1(c, OPT_RDOMAIN), g->rdomain);
	if (rc == 0 && c->n[OPT_POOL])
		rc = conf_get_host(c, "pool name", conf_opt1(c, OPT_POOL), g->pool);
	if (rc == 0)
		rc = conf_get_dev(c, "VRF name", conf_opt1(c, OPT_VRF), g->vrf);
	if (rc == 0 && strlen(g->vrf) > HNV_VRF_NAME_MAX)
		return conf_bad(c, "VRF name", g->vrf,
				"at most 12 characters (the VRF device is named rd-<name>)");
	if (rc == 0)
		rc = conf_get_uint(c, "table", table, 1, UINT32_MAX - 1, &g->table);
	/* The kernel's own tables: a tenant VRF must never share them. */
	if (rc == 0 && g->table >= 253 && g->table <= 255)
		return conf_bad(c, "table", table,
				"253-255 are the kernel's default, main and local tables");
	/* strongSwan's: charon's default rule "from all lookup 220" comes
	 * before the VRFs' l3mdev rule, and would apply a VRF table 220 to
	 * every tenant's traffic */
	if (rc == 0 && g->table == 220)
		return conf_bad(c, "table", table,
				"220 is strongSwan's routing table (charon's rule for it precedes "
				"every VRF)");
	if (rc == 0 && g->table >= HNV_NETMAP_TABLE_MIN && g->table <= HNV_NETMAP_TABLE_MAX)
		return conf_bad(
			c, "table", table,
			"1207959552-1208999935 (0x48000000-0x480fffff) are hnvgw's NETMAP tables");
	if (rc == 0 && c->n[OPT_CORP_DEV]) {
		const char *v = conf_opt1(c, OPT_CORP_DEV), *res;
		rc = conf_get_dev(c, "corp device name", v, g->corp_dev);
		if (rc == 0 && (res = conf_reserved_dev(v)) != NULL)
			rc = conf_bad(c, "corp device name", v, res);
	}
	if (rc == 0 && c->n[OPT_NAT_EXTERNAL]) {
		rc = conf_get_unicast(c, "NAT external address", conf_opt1(c, OPT_NAT_EXTERNAL),
				      &g->nat_external);
		g->has_nat_external = true;
	}
	const char *why;
	if (rc == 0 && c->n[OPT_CORP_ADDR]) {
		if (!g->corp_dev[0])
			return conf_bad(c, "corp address", conf_opt1(c, OPT_CORP_ADDR),
					"needs --corp-dev");
		if (hnv_parse_prefix_why(conf_opt1(c, OPT_CORP_ADDR), &g->corp_addr, true, &why) <
		    0)
			return conf_bad(c, "corp address", conf_opt1(c, OPT_CORP_ADDR), why);
		if (hnv_ip_is_unspec(&g->corp_addr.addr))
			return conf_bad(c, "corp address", conf_opt1(c, OPT_CORP_ADDR),
					"unspecified address");
		g->has_corp_addr = true;
	}
	if (rc == 0 && c->n[OPT_CORP_NEXTHOP]) {
		if (!g->corp_dev[0])
			return conf_bad(c, "corp next hop", conf_opt1(c, OPT_CORP_NEXTHOP),
					"needs --corp-dev");
		rc = conf_get_unicast(c, "corp next hop", conf_opt1(c, OPT_CORP_NEXTHOP),
				      &g->corp_nexthop);
		g->has_corp_nexthop = rc == 0;
	}
	/* --bgp-asn alone: the tenant's AS for its bgp-peer objects; with
	 * --bgp-peer and --bgp-peer-asn: one unfiltered neighbor as well */
	unsigned npeer = !!c->n[OPT_BGP_PEER] + !!c->n[OPT_BGP_PEER_ASN];
	if (rc == 0 && (npeer == 1 || (npeer == 2 && !c->n[OPT_BGP_ASN])))
		return conf_bad(c, "BGP",
				conf_opt1(c, c->n[OPT_BGP_PEER] ? OPT_BGP_PEER : OPT_BGP_PEER_ASN),
				"give --bgp-peer and --bgp-peer-asn together, with --bgp-asn");
	if (rc == 0 && c->n[OPT_BGP_ASN])
		rc = conf_get_uint(c, "BGP AS number", conf_opt1(c, OPT_BGP_ASN), 1, UINT32_MAX,
				   &g->bgp_asn);
	if (rc == 0 && npeer == 2) {
		if (rc == 0)
			rc = conf_get_unicast(c, "BGP peer", conf_opt1(c, OPT_BGP_PEER),
					      &g->bgp_peer);
		if (rc == 0)
			rc = conf_get_uint(c, "BGP peer AS number", conf_opt1(c, OPT_BGP_PEER_ASN),
					   1, UINT32_MAX, &g->bgp_peer_asn);
	}
	return rc;
}

static int build_gateway_del(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_gateway *g = &cmd->u.gateway;
	int rc = conf_get_name(c, "rdomain name", conf_opt1(c, OPT_RDOMAIN), g->rdomain);
	if (rc == 0 && c->n[OPT_POOL])
		rc = conf_get_host(c, "pool name", conf_opt1(c, OPT_POOL), g->pool);
	return rc;
}

/* gateway ca and gateway ca-del: the same three values. */
static int build_gateway_ca(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_gateway_ca *g = &cmd->u.gateway_ca;
	int rc = conf_get_name(c, "rdomain name", conf_opt1(c, OPT_RDOMAIN), g->rdomain);
	if (rc == 0 && c->n[OPT_POOL])
		rc = conf_get_host(c, "pool name", conf_opt1(c, OPT_POOL), g->pool);
	if (rc == 0)
		rc = conf_get_vsid(c, conf_opt1(c, OPT_VSID), &g->vsid);
	if (rc == 0)
		rc = conf_get_unicast(c, "CA", conf_opt1(c, OPT_CA), &g->ca);
	return rc;
}

/* True when msg shows secret or 8 consecutive characters of it. */

#define PROUTE_KEY (B(OPT_PREFIX) | B(OPT_NEXTHOP))
#define GWCA_KEY (B(OPT_RDOMAIN) | B(OPT_VSID) | B(OPT_CA))
#define GWCA_OPTS (GWCA_KEY | B(OPT_POOL))
#define S2S_OPTS                                                                                   \
	(B(OPT_RDOMAIN) | B(OPT_PEER) | B(OPT_LOCAL_ADDR) | B(OPT_LOCAL_ID) | B(OPT_REMOTE_ID) |   \
	 B(OPT_PSK) | B(OPT_CERT) | B(OPT_KEY) | B(OPT_CA_CERT) | B(OPT_IKE_PROPOSAL) |            \
	 B(OPT_ESP_PROPOSAL) | B(OPT_REMOTE_PREFIX) | B(OPT_DPD) | B(OPT_LOCAL_NETMAP) |           \
	 B(OPT_REMOTE_NETMAP) | B(OPT_ALLOW_LEGACY) | B(OPT_RATE_OUT) | B(OPT_RATE_IN) |           \
	 B(OPT_POOL))
#define S2S_REQ                                                                                    \
	(B(OPT_RDOMAIN) | B(OPT_PEER) | B(OPT_LOCAL_ID) | B(OPT_REMOTE_ID) | B(OPT_REMOTE_PREFIX))

#define LOOKUP_OPTS                                                                                \
	(B(OPT_VSID) | B(OPT_CA) | B(OPT_PA) | B(OPT_MAC) | B(OPT_RULE) | B(OPT_TYPE) |            \
	 B(OPT_VM_NAME) | B(OPT_CUSTOMER_ID) | B(OPT_CONTEXT) | B(OPT_USE_VM_MAC))
#define LOOKUP_REQ (B(OPT_VSID) | B(OPT_CA) | B(OPT_PA) | B(OPT_MAC))
#define LOOKUP_KEY (B(OPT_VSID) | B(OPT_CA) | B(OPT_MAC))
#define ROUTE_KEY (B(OPT_RDOMAIN) | B(OPT_PREFIX) | B(OPT_NEXTHOP))

static const struct cmd_def cmd_defs[] = {
	{"rdomain", "add", HNV_CONF_RDOMAIN_ADD, "NAME", B(OPT_RDID), B(OPT_RDID), 0,
	 build_rdomain_add},
	{"rdomain", "del", HNV_CONF_RDOMAIN_DEL, "NAME", 0, 0, 0, build_rdomain_del},
	{"vsubnet", "add", HNV_CONF_VSUBNET_ADD, "VSID", B(OPT_RDOMAIN) | B(OPT_PREFIX),
	 B(OPT_RDOMAIN) | B(OPT_PREFIX), B(OPT_PREFIX), build_vsubnet_add},
	{"vsubnet", "del", HNV_CONF_VSUBNET_DEL, "VSID", 0, 0, 0, build_vsubnet_del},
	{"pa", "add", HNV_CONF_PA_ADD, "IP/LEN", B(OPT_DEV), B(OPT_DEV), 0, build_pa_add},
	{"pa", "del", HNV_CONF_PA_DEL, "IP", 0, 0, 0, build_pa_del},
	{"port", "add", HNV_CONF_PORT_ADD, "NAME",
	 B(OPT_VSID) | B(OPT_CA) | B(OPT_MAC) | B(OPT_DEV), B(OPT_VSID), B(OPT_CA), build_port_add},
	{"port", "del", HNV_CONF_PORT_DEL, "NAME", 0, 0, 0, build_port_del},
	{"port", "move", HNV_CONF_PORT_MOVE, "NAME", B(OPT_TO), B(OPT_TO), 0, build_port_move},
	{"lookup", "add", HNV_CONF_LOOKUP_ADD, NULL, LOOKUP_OPTS, LOOKUP_REQ, 0, build_lookup},
	{"lookup", "set", HNV_CONF_LOOKUP_SET, NULL, LOOKUP_OPTS, LOOKUP_REQ, 0, build_lookup},
	{"lookup", "del", HNV_CONF_LOOKUP_DEL, NULL, LOOKUP_KEY, LOOKUP_KEY, 0, build_lookup_del},
	{"route", "add", HNV_CONF_ROUTE_ADD, NULL, ROUTE_KEY | B(OPT_VSID) | B(OPT_METRIC),
	 ROUTE_KEY | B(OPT_VSID), 0, build_route_add},
	{"route", "del", HNV_CONF_ROUTE_DEL, NULL, ROUTE_KEY, ROUTE_KEY, 0, build_route_del},
	{"global", "set", HNV_CONF_GLOBAL_SET, NULL,
	 B(OPT_GATEWAY_MAC) | B(OPT_FLOWID) | B(OPT_UPLINK_MTU) | B(OPT_USE_EXT_ROUTER), 0, 0,
	 build_global_set},
	{"proute", "add", HNV_CONF_PROUTE_ADD, NULL, PROUTE_KEY | B(OPT_DEV) | B(OPT_METRIC),
	 PROUTE_KEY | B(OPT_DEV), 0, build_proute_add},
	{"proute", "del", HNV_CONF_PROUTE_DEL, NULL, PROUTE_KEY, PROUTE_KEY, 0, build_proute_del},
	{"gateway", "add", HNV_CONF_GATEWAY_ADD, NULL,
	 B(OPT_RDOMAIN) | B(OPT_VRF) | B(OPT_TABLE) | B(OPT_CORP_DEV) | B(OPT_NAT_EXTERNAL) |
		 B(OPT_CORP_ADDR) | B(OPT_CORP_NEXTHOP) | B(OPT_BGP_ASN) | B(OPT_BGP_PEER) |
		 B(OPT_BGP_PEER_ASN) | B(OPT_POOL),
	 B(OPT_RDOMAIN) | B(OPT_VRF) | B(OPT_TABLE), 0, build_gateway_add},
	{"gateway", "del", HNV_CONF_GATEWAY_DEL, NULL, B(OPT_RDOMAIN) | B(OPT_POOL), B(OPT_RDOMAIN),
	 0, build_gateway_del},
	{"gateway", "ca", HNV_CONF_GATEWAY_CA, NULL, GWCA_OPTS, GWCA_KEY, 0, build_gateway_ca},
	{"gateway", "move", HNV_CONF_GATEWAY_MOVE, "RDOMAIN", B(OPT_TO), B(OPT_TO), 0,
	 build_gateway_move},
	{"gateway", "ca-del", HNV_CONF_GATEWAY_CA_DEL, NULL, GWCA_OPTS, GWCA_KEY, 0,
	 build_gateway_ca},
	{"s2s", "add", HNV_CONF_S2S_ADD, "NAME", S2S_OPTS, S2S_REQ,
	 B(OPT_IKE_PROPOSAL) | B(OPT_ESP_PROPOSAL) | B(OPT_REMOTE_PREFIX) | B(OPT_LOCAL_NETMAP) |
		 B(OPT_REMOTE_NETMAP),
	 conf_build_s2s_add},
	{"s2s", "del", HNV_CONF_S2S_DEL, "NAME", B(OPT_RDOMAIN) | B(OPT_POOL), 0, 0,
	 conf_build_s2s_del},
	{"pool", "add", HNV_CONF_POOL_ADD, "NAME",
	 B(OPT_VSID) | B(OPT_RANGE) | B(OPT_DNS) | B(OPT_LEASE), B(OPT_VSID) | B(OPT_RANGE), 0,
	 build_pool_add},
	{"pool", "del", HNV_CONF_POOL_DEL, "NAME", 0, 0, 0, build_pool_del},
	{"gre", "add", HNV_CONF_GRE_ADD, "NAME",
	 B(OPT_RDOMAIN) | B(OPT_LOCAL) | B(OPT_REMOTE) | B(OPT_KEY) | B(OPT_ADDR) |
		 B(OPT_REMOTE_PREFIX) | B(OPT_RATE_OUT) | B(OPT_RATE_IN),
	 B(OPT_RDOMAIN) | B(OPT_LOCAL) | B(OPT_REMOTE) | B(OPT_ADDR), B(OPT_REMOTE_PREFIX),
	 conf_build_gre_add},
	{"gre", "del", HNV_CONF_GRE_DEL, "NAME", 0, 0, 0, conf_build_conn_del},
	{"l3", "add", HNV_CONF_L3_ADD, "NAME",
	 B(OPT_RDOMAIN) | B(OPT_DEV) | B(OPT_VLAN) | B(OPT_ADDR) | B(OPT_NEXTHOP) |
		 B(OPT_REMOTE_PREFIX) | B(OPT_RATE_OUT) | B(OPT_RATE_IN),
	 B(OPT_RDOMAIN) | B(OPT_DEV) | B(OPT_VLAN) | B(OPT_ADDR) | B(OPT_NEXTHOP),
	 B(OPT_REMOTE_PREFIX), conf_build_l3_add},
	{"l3", "del", HNV_CONF_L3_DEL, "NAME", 0, 0, 0, conf_build_conn_del},
	{"bgp-peer", "add", HNV_CONF_BGP_PEER_ADD, "NAME",
	 B(OPT_RDOMAIN) | B(OPT_ADDR) | B(OPT_ASN) | B(OPT_SOURCE) | B(OPT_PREFIX_IN) |
		 B(OPT_PREFIX_OUT),
	 B(OPT_RDOMAIN) | B(OPT_ADDR) | B(OPT_ASN), B(OPT_PREFIX_IN) | B(OPT_PREFIX_OUT),
	 conf_build_bgp_peer_add},
	{"bgp-peer", "del", HNV_CONF_BGP_PEER_DEL, "NAME", 0, 0, 0, conf_build_bgp_peer_del},
};
#define N_CMDS (sizeof(cmd_defs) / sizeof(cmd_defs[0]))

_Static_assert(OPT__COUNT <= 64, "option bits must fit the uint64_t masks");

static bool is_option(const struct conf_word *w)
{
	return !w->quoted && w->s[0] == '-' && w->s[1] == '-';
}

static int find_cmd(const struct conf_words *ws, const struct cmd_def **out, char *err,
		    size_t errlen)
{
	const char *obj = ws->w[0].s;
	bool obj_known = false;
	for (size_t i = 0; i < N_CMDS; i++) {
		if (strcmp(cmd_defs[i].obj, obj) != 0)
			continue;
		obj_known = true;
		if (ws->n > 1 && strcmp(cmd_defs[i].verb, ws->w[1].s) == 0) {
			*out = &cmd_defs[i];
			return 0;
		}
	}
	if (!obj_known) {
		hnv_seterr(err, errlen, "unknown command " SHOWF, SHOWA(obj));
		return -EINVAL;
	}
	struct hnv_buf verbs = {0};
	for (size_t i = 0; i < N_CMDS; i++)
		if (strcmp(cmd_defs[i].obj, obj) == 0)
			hnv_buf_printf(&verbs, "%s%s", verbs.len ? ", " : "", cmd_defs[i].verb);
	const char *v = verbs.p ? verbs.p : "";
	if (ws->n == 1)
		hnv_seterr(err, errlen, "\"%s\" needs a verb: %s", obj, v);
	else
		hnv_seterr(err, errlen, "unknown command \"%s %.64s%s\" (verbs: %s)", obj,
			   SHOWA(ws->w[1].s), v);
	hnv_buf_free(&verbs, false);
	return -EINVAL;
}

/* The options of d, for a message that cannot name the word it refuses:
 * appended to opts, separated by spaces. */
static void list_options(const struct cmd_def *d, struct hnv_buf *opts)
{
	for (unsigned k = 0; k < OPT__COUNT; k++)
		if (d->allowed & B(k))
			hnv_buf_printf(opts, "%s%s", opts->len ? " " : "", opt_defs[k].name);
}

/* parse_words with the caller's word buffer. */
static int parse_ws(const char *s, size_t len, struct conf_words *ws, struct hnv_conf_cmd *cmd,
		    char *err, size_t errlen)
{
	int rc = conf_tokenize(s, len, ws, err, errlen);
	if (rc < 0)
		return rc;
	if (ws->n == 0)
		return 0;
	const struct cmd_def *d;
	rc = find_cmd(ws, &d, err, errlen);
	if (rc < 0)
		return rc;
	/* Any word of an s2s add line may be (part of) a PSK: its messages
	 * name positions and option names, never words. */
	bool secret = d->kind == HNV_CONF_S2S_ADD;

	char name[24];
	snprintf(name, sizeof(name), "%s %s", d->obj, d->verb);
	struct conf_pctx c;
	memset(&c, 0, sizeof(c));
	c.cmd = name;
	c.err = err;
	c.errlen = errlen;

	unsigned i = 2;
	if (d->pos) {
		if (i >= ws->n || is_option(&ws->w[i])) {
			hnv_seterr(err, errlen, "%s: missing %s", name, d->pos);
			return -EINVAL;
		}
		c.pos = ws->w[i++].s;
	}
	while (i < ws->n) {
		const struct conf_word *w = &ws->w[i++];
		if (!is_option(w) && secret) {
			hnv_seterr(err, errlen,
				   "%s: unexpected value at word %u (a value with spaces needs "
				   "quotes)",
				   name, i);
			return -EINVAL;
		}
		if (!is_option(w)) {
			hnv_seterr(err, errlen, "%s: unexpected " SHOWF, name, SHOWA(w->s));
			return -EINVAL;
		}
		enum conf_opt o = OPT__COUNT;
		for (unsigned k = 0; k < OPT__COUNT; k++)
			if ((d->allowed & B(k)) && strcmp(opt_defs[k].name, w->s) == 0)
				o = (enum conf_opt)k;
		if (o == OPT__COUNT && secret) {
			struct hnv_buf opts = {0};
			list_options(d, &opts);
			hnv_seterr(err, errlen, "%s: unknown option at word %u (options: %s)", name,
				   i, opts.p ? opts.p : "");
			hnv_buf_free(&opts, false);
			return -EINVAL;
		}
		if (o == OPT__COUNT) {
			hnv_seterr(err, errlen, "unknown option " SHOWF " for \"%s\"", SHOWA(w->s),
				   name);
			return -EINVAL;
		}
		unsigned max = (d->multi & B(o)) ? opt_defs[o].max : 1;
		if (c.n[o] >= max) {
			if (max == 1)
				hnv_seterr(err, errlen, "%s: %s given more than once", name, w->s);
			else
				hnv_seterr(err, errlen, "%s: too many %s (at most %u)", name, w->s,
					   max);
			return -EINVAL;
		}
		if (opt_defs[o].flag) {
			c.n[o]++;
			continue;
		}
		if (i >= ws->n || is_option(&ws->w[i])) {
			hnv_seterr(err, errlen, "%s: missing value for %s", name, w->s);
			return -EINVAL;
		}
		c.val[o][c.n[o]++] = ws->w[i++].s;
	}
	for (unsigned k = 0; k < OPT__COUNT; k++)
		if ((d->required & B(k)) && c.n[k] == 0) {
			hnv_seterr(err, errlen, "%s: missing %s", name, opt_defs[k].name);
			return -EINVAL;
		}

	memset(cmd, 0, sizeof(*cmd));
	cmd->kind = d->kind;
	rc = d->build(&c, cmd);
	if (rc < 0 && c.n[OPT_PSK] && strcmp(c.val[OPT_PSK][0], "<secret>") != 0)
		conf_scrub(err, errlen, name, c.val[OPT_PSK][0]);
	return rc < 0 ? rc : 1;
}

/* Parses one line of len bytes (no terminator, no NUL). 1, 0 or -EINVAL.
 * The words are cleared afterwards: they may hold a PSK. */
static int parse_words(const char *s, size_t len, struct hnv_conf_cmd *cmd, char *err,
		       size_t errlen)
{
	struct conf_words ws;
	int rc = parse_ws(s, len, &ws, cmd, err, errlen);
	explicit_bzero(&ws, sizeof(ws));
	return rc;
}

int hnv_conf_parse_line(const char *line, struct hnv_conf_cmd *cmd, char *err, size_t errlen)
{
	if (line == NULL || cmd == NULL) {
		hnv_seterr(err, errlen, "no line to parse");
		return -EINVAL;
	}
	size_t len = strnlen(line, CONF_LINE_MAX + 3);
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > CONF_LINE_MAX) {
		hnv_seterr(err, errlen, "line too long (more than %d bytes)", CONF_LINE_MAX);
		return -EINVAL;
	}
	struct hnv_conf_cmd t;
	int rc = parse_words(line, len, &t, err, errlen);
	if (rc == 1) {
		t.line = 0;
		*cmd = t;
	}
	explicit_bzero(&t, sizeof(t));
	return rc;
}

int hnv_conf_parse_text(const char *text, size_t len, struct hnv_conf_cmd **cmds, size_t *n,
			char *err, size_t errlen)
{
	char msg[CONF_MSG_MAX];
	struct hnv_conf_cmd *arr = NULL, c;
	size_t cnt = 0, cap = 0, off = 0;
	unsigned lineno = 0;
	int rc = 0;

	if (cmds == NULL || n == NULL || (text == NULL && len > 0)) {
		hnv_seterr(err, errlen, "no text to parse");
		return -EINVAL;
	}
	*cmds = NULL;
	*n = 0;
	while (off < len) {
		const char *ls = text + off;
		const char *nl = memchr(ls, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - ls) : len - off;
		off += ll + (nl ? 1 : 0);
		if (lineno == UINT32_MAX) {
			hnv_seterr(err, errlen, "too many lines");
			rc = -EINVAL;
			break;
		}
		lineno++;
		if (ll > 0 && ls[ll - 1] == '\r')
			ll--;
		if (ll > CONF_LINE_MAX) {
			hnv_seterr(err, errlen, "line %u: line too long (more than %d bytes)",
				   lineno, CONF_LINE_MAX);
			rc = -EINVAL;
			break;
		}
		const char *nul = memchr(ls, '\0', ll);
		if (nul) {
			hnv_seterr(err, errlen, "line %u: NUL byte at column %zu", lineno,
				   (size_t)(nul - ls) + 1);
			rc = -EINVAL;
			break;
		}
		rc = parse_words(ls, ll, &c, msg, sizeof(msg));
		if (rc < 0) {
			hnv_seterr(err, errlen, "line %u: %s", lineno, msg);
			break;
		}
		if (rc == 0)
			continue;
		c.line = lineno;
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct hnv_conf_cmd *na = NULL;
			/* not realloc: the old array may hold PSKs to clear */
			if (ncap <= SIZE_MAX / sizeof(*arr))
				na = malloc(ncap * sizeof(*arr));
			if (na != NULL && cnt > 0)
				memcpy(na, arr, cnt * sizeof(*arr));
			hnv_conf_cmds_free(arr, cnt);
			arr = na;
			if (na == NULL) {
				hnv_seterr(err, errlen, "line %u: out of memory", lineno);
				rc = -ENOMEM;
				break;
			}
			cap = ncap;
		}
		arr[cnt++] = c;
		rc = 0;
	}
	explicit_bzero(&c, sizeof(c));
	if (rc < 0) {
		hnv_conf_cmds_free(arr, cnt);
		return rc;
	}
	*cmds = arr; /* NULL when the text holds no command */
	*n = cnt;
	return 0;
}

void hnv_conf_cmds_free(struct hnv_conf_cmd *cmds, size_t n)
{
	if (cmds == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		if (cmds[i].kind == HNV_CONF_S2S_ADD)
			explicit_bzero(&cmds[i], sizeof(cmds[i]));
	free(cmds);
}
