/* conf_format.c: a command -> its canonical line (hnv_conf_format in
 * conftext.h): options in the order of the grammar, values quoted when the
 * tokenizer (conf_lex.c) would split or drop them, defaults written out.
 *
 * A line may hold a PSK: it is written into the caller's buffer only, never
 * into memory of its own (no hnv_buf: a growing buffer leaves copies of its
 * text in the heap blocks it gives back), and the buffer is cleared when the
 * line does not fit.
 */
#include "conf_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

/* The format attribute lets -Wformat check every line against its
 * arguments; both gcc and clang support it. */
#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* A line being built: once it overflows, over stays set and nothing more is
 * written (buf stays NUL-terminated). */
struct out {
	char *buf;
	size_t len, off;
	bool over;
};

static void PRINTF_LIKE(2, 3) out_add(struct out *o, const char *fmt, ...)
{
	if (o->over)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->off, o->len - o->off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->off) {
		o->over = true;
		o->buf[o->off] = '\0';
		return;
	}
	o->off += (size_t)n;
}

/* A value the tokenizer would split, drop or take for an option needs
 * quotes; inside them only " and \ are escaped. */
static bool needs_quotes(const char *v)
{
	if (v[0] == '\0' || (v[0] == '-' && v[1] == '-'))
		return true;
	for (; *v; v++)
		if (conf_is_blank(*v) || *v == '#' || *v == '"')
			return true;
	return false;
}

/* " --opt value" (or " value" when opt is NULL). */
static void out_val(struct out *o, const char *opt, const char *v)
{
	if (opt)
		out_add(o, " %s", opt);
	if (!needs_quotes(v)) {
		out_add(o, " %s", v);
		return;
	}
	out_add(o, " \"");
	for (; *v; v++)
		out_add(o, "%s%c", (*v == '"' || *v == '\\') ? "\\" : "", *v);
	out_add(o, "\"");
}

static void out_ip(struct out *o, const char *opt, const struct hnv_ip *ip)
{
	char t[INET6_ADDRSTRLEN];
	hnv_fmt_ip(ip, t, sizeof(t));
	out_add(o, " %s %s", opt, t);
}

static void out_prefix(struct out *o, const char *opt, const struct hnv_prefix *p)
{
	char t[64];
	hnv_fmt_prefix(p, t, sizeof(t));
	out_add(o, "%s%s %s", opt ? " " : "", opt ? opt : "", t);
}

static void out_mac(struct out *o, const char *opt, const struct hnv_mac *m)
{
	char t[18];
	hnv_fmt_mac(m, t, sizeof(t));
	out_add(o, " %s %s", opt, t);
}

static const char *rule_name(enum hnv_rule r)
{
	return r == HNV_RULE_NAT ? "nat" : r == HNV_RULE_NONE ? "none" : "encap";
}

static int format_lookup(struct out *o, const struct hnv_conf_cmd *cmd)
{
	const struct hnv_conf_lookup *s = &cmd->u.lookup;
	const char *verb = cmd->kind == HNV_CONF_LOOKUP_ADD   ? "add"
			   : cmd->kind == HNV_CONF_LOOKUP_SET ? "set"
							      : "del";
	out_add(o, "lookup %s --vsid %u", verb, s->vsid);
	out_ip(o, "--ca", &s->ca);
	if (cmd->kind == HNV_CONF_LOOKUP_DEL) {
		out_mac(o, "--mac", &s->mac);
		return 0;
	}
	if (!CONF_TERMINATED(s->vm_name) || !CONF_TERMINATED(s->context))
		return -EINVAL;
	out_ip(o, "--pa", &s->pa);
	out_mac(o, "--mac", &s->mac);
	out_add(o, " --rule %s --type %s", rule_name(s->rule), conf_type_name(s->type));
	if (s->vm_name[0])
		out_val(o, "--vm-name", s->vm_name);
	if (s->has_customer_id) {
		char g[40];
		hnv_fmt_guid(&s->customer_id, g, sizeof(g));
		out_add(o, " --customer-id %s", g);
	}
	if (s->context[0])
		out_val(o, "--context", s->context);
	if (s->use_vm_mac)
		out_add(o, " --use-vm-mac");
	return 0;
}

/* Each element of a ','-joined proposal list as its own option. */
static void out_list(struct out *o, const char *opt, const char *list)
{
	char one[HNV_S2S_PROPOSALS_LEN + 1];
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		memcpy(one, p, n);
		one[n] = '\0';
		out_val(o, opt, one);
		p += n + (p[n] == ',');
	}
}

static void out_netmaps(struct out *o, const char *opt, const struct hnv_s2s_netmap *m, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char r[64], v[64];
		hnv_fmt_prefix(&m[i].real, r, sizeof(r));
		hnv_fmt_prefix(&m[i].mapped, v, sizeof(v));
		out_add(o, " %s %s=%s", opt, r, v);
	}
}

static int format_s2s(struct out *o, const struct hnv_conf_s2s *s, bool show_secrets)
{
	if (!CONF_TERMINATED(s->rdomain) || !CONF_TERMINATED(s->local_id) ||
	    !CONF_TERMINATED(s->remote_id) || !CONF_TERMINATED(s->psk) ||
	    !CONF_TERMINATED(s->cert) || !CONF_TERMINATED(s->key) || !CONF_TERMINATED(s->ca_cert) ||
	    !CONF_TERMINATED(s->ike) || !CONF_TERMINATED(s->esp) ||
	    !CONF_TERMINATED(s->peer_host) || !CONF_TERMINATED(s->pool) ||
	    s->n_remote > HNV_S2S_REMOTE_MAX || s->n_local_netmap > HNV_S2S_NETMAP_MAX ||
	    s->n_remote_netmap > HNV_S2S_NETMAP_MAX)
		return -EINVAL;
	out_add(o, "s2s add");
	out_val(o, NULL, s->name);
	out_val(o, "--rdomain", s->rdomain);
	if (s->peer_any)
		out_add(o, " --peer any");
	else if (s->peer_host[0])
		out_val(o, "--peer", s->peer_host);
	else
		out_ip(o, "--peer", &s->peer);
	if (s->has_local_addr)
		out_ip(o, "--local-addr", &s->local_addr);
	out_val(o, "--local-id", s->local_id);
	out_val(o, "--remote-id", s->remote_id);
	if (s->auth == HNV_S2S_AUTH_PSK && show_secrets) {
		out_val(o, "--psk", s->psk);
	} else if (s->auth == HNV_S2S_AUTH_PSK) {
		out_add(o, " --psk <secret>");
	} else {
		out_val(o, "--cert", s->cert);
		out_val(o, "--key", s->key);
		if (s->ca_cert[0])
			out_val(o, "--ca-cert", s->ca_cert);
	}
	out_list(o, "--ike-proposal", s->ike);
	out_list(o, "--esp-proposal", s->esp);
	for (unsigned i = 0; i < s->n_remote; i++)
		out_prefix(o, "--remote-prefix", &s->remote[i]);
	out_add(o, " --dpd %u", s->dpd);
	out_netmaps(o, "--local-netmap", s->local_netmap, s->n_local_netmap);
	out_netmaps(o, "--remote-netmap", s->remote_netmap, s->n_remote_netmap);
	if (s->legacy_crypto)
		out_add(o, " --allow-legacy-crypto");
	if (s->rate_out)
		out_add(o, " --rate-out %u", s->rate_out);
	if (s->rate_in)
		out_add(o, " --rate-in %u", s->rate_in);
	if (s->pool[0])
		out_val(o, "--pool", s->pool);
	return 0;
}

static int format_rdomain(struct out *o, const struct hnv_conf_cmd *cmd)
{
	if (!CONF_TERMINATED(cmd->u.rdomain.name))
		return -EINVAL;
	out_add(o, "rdomain %s", cmd->kind == HNV_CONF_RDOMAIN_ADD ? "add" : "del");
	out_val(o, NULL, cmd->u.rdomain.name);
	if (cmd->kind == HNV_CONF_RDOMAIN_ADD) {
		char g[40];
		hnv_fmt_guid(&cmd->u.rdomain.rdid, g, sizeof(g));
		out_add(o, " --rdid %s", g);
	}
	return 0;
}

static int format_vsubnet(struct out *o, const struct hnv_conf_cmd *cmd)
{
	const struct hnv_conf_vsubnet *s = &cmd->u.vsubnet;
	if (cmd->kind == HNV_CONF_VSUBNET_DEL) {
		out_add(o, "vsubnet del %u", s->vsid);
		return 0;
	}
	if (!CONF_TERMINATED(s->rdomain) || s->n_prefixes > HNV_CONF_PREFIXES_MAX)
		return -EINVAL;
	out_add(o, "vsubnet add %u", s->vsid);
	out_val(o, "--rdomain", s->rdomain);
	for (unsigned i = 0; i < s->n_prefixes; i++)
		out_prefix(o, "--prefix", &s->prefixes[i]);
	return 0;
}

static int format_pa(struct out *o, const struct hnv_conf_cmd *cmd)
{
	if (cmd->kind == HNV_CONF_PA_DEL) {
		char t[INET6_ADDRSTRLEN];
		hnv_fmt_ip(&cmd->u.pa.addr.addr, t, sizeof(t));
		out_add(o, "pa del %s", t);
		return 0;
	}
	if (!CONF_TERMINATED(cmd->u.pa.dev))
		return -EINVAL;
	out_add(o, "pa add");
	out_prefix(o, NULL, &cmd->u.pa.addr);
	out_val(o, "--dev", cmd->u.pa.dev);
	return 0;
}

static int format_port(struct out *o, const struct hnv_conf_cmd *cmd)
{
	const struct hnv_conf_port *s = &cmd->u.port;
	static const struct hnv_mac zero;
	if (!CONF_TERMINATED(s->name))
		return -EINVAL;
	if (cmd->kind == HNV_CONF_PORT_DEL) {
		out_add(o, "port del");
		out_val(o, NULL, s->name);
		return 0;
	}
	if (s->n_cas > HNV_CONF_CAS_MAX)
		return -EINVAL;
	out_add(o, "port add");
	out_val(o, NULL, s->name);
	out_add(o, " --vsid %u", s->vsid);
	for (unsigned i = 0; i < s->n_cas; i++)
		out_ip(o, "--ca", &s->cas[i]);
	if (!hnv_mac_eq(&s->mac, &zero))
		out_mac(o, "--mac", &s->mac);
	if (!CONF_TERMINATED(s->dev))
		return -EINVAL;
	if (s->dev[0])
		out_val(o, "--dev", s->dev);
	return 0;
}

static int format_port_move(struct out *o, const struct hnv_conf_port_move *m, const char *what)
{
	if (!CONF_TERMINATED(m->name) || !CONF_TERMINATED(m->host))
		return -EINVAL;
	out_add(o, "%s move", what);
	out_val(o, NULL, m->name);
	out_val(o, "--to", m->host);
	return 0;
}

static int format_route(struct out *o, const struct hnv_conf_cmd *cmd)
{
	const struct hnv_conf_route *s = &cmd->u.route;
	bool add = cmd->kind == HNV_CONF_ROUTE_ADD;
	if (!CONF_TERMINATED(s->rdomain))
		return -EINVAL;
	out_add(o, "route %s", add ? "add" : "del");
	out_val(o, "--rdomain", s->rdomain);
	if (add)
		out_add(o, " --vsid %u", s->vsid);
	out_prefix(o, "--prefix", &s->prefix);
	out_ip(o, "--nexthop", &s->nexthop);
	if (add)
		out_add(o, " --metric %u", s->metric);
	return 0;
}

static int format_global(struct out *o, const struct hnv_conf_global *g)
{
	out_add(o, "global set");
	if (g->has_gateway_mac)
		out_mac(o, "--gateway-mac", &g->gateway_mac);
	if (g->has_flowid)
		out_add(o, " --flowid %s", g->flowid ? "on" : "off");
	if (g->has_uplink_mtu)
		out_add(o, " --uplink-mtu %u", g->uplink_mtu);
	if (g->has_use_external_router)
		out_add(o, " --use-external-router %s", g->use_external_router ? "on" : "off");
	return 0;
}

static int format_proute(struct out *o, const struct hnv_conf_cmd *cmd)
{
	const struct hnv_conf_proute *s = &cmd->u.proute;
	bool add = cmd->kind == HNV_CONF_PROUTE_ADD;
	if (add && !CONF_TERMINATED(s->dev))
		return -EINVAL;
	out_add(o, "proute %s", add ? "add" : "del");
	out_prefix(o, "--prefix", &s->prefix);
	out_ip(o, "--nexthop", &s->nexthop);
	if (add) {
		out_val(o, "--dev", s->dev);
		out_add(o, " --metric %u", s->metric);
	}
	return 0;
}

static int format_gateway(struct out *o, const struct hnv_conf_cmd *cmd)
{
	const struct hnv_conf_gateway *g = &cmd->u.gateway;
	if (!CONF_TERMINATED(g->rdomain) || !CONF_TERMINATED(g->pool))
		return -EINVAL;
	if (cmd->kind == HNV_CONF_GATEWAY_DEL) {
		out_add(o, "gateway del");
		out_val(o, "--rdomain", g->rdomain);
		if (g->pool[0])
			out_val(o, "--pool", g->pool);
		return 0;
	}
	if (!CONF_TERMINATED(g->vrf) || !CONF_TERMINATED(g->corp_dev))
		return -EINVAL;
	out_add(o, "gateway add");
	out_val(o, "--rdomain", g->rdomain);
	if (g->pool[0])
		out_val(o, "--pool", g->pool);
	out_val(o, "--vrf", g->vrf);
	out_add(o, " --table %u", g->table);
	if (g->corp_dev[0])
		out_val(o, "--corp-dev", g->corp_dev);
	if (g->has_nat_external)
		out_ip(o, "--nat-external", &g->nat_external);
	if (g->has_corp_addr) {
		char a[INET6_ADDRSTRLEN];
		hnv_fmt_ip(&g->corp_addr.addr, a, sizeof(a));
		out_add(o, " --corp-addr %s/%u", a, g->corp_addr.len);
	}
	if (g->has_corp_nexthop)
		out_ip(o, "--corp-nexthop", &g->corp_nexthop);
	if (g->bgp_asn) {
		out_add(o, " --bgp-asn %u", g->bgp_asn);
		if (!hnv_ip_is_unspec(&g->bgp_peer)) {
			out_ip(o, "--bgp-peer", &g->bgp_peer);
			out_add(o, " --bgp-peer-asn %u", g->bgp_peer_asn);
		}
	}
	return 0;
}

static int format_gateway_ca(struct out *o, const struct hnv_conf_cmd *cmd)
{
	const struct hnv_conf_gateway_ca *g = &cmd->u.gateway_ca;
	if (!CONF_TERMINATED(g->rdomain) || !CONF_TERMINATED(g->pool))
		return -EINVAL;
	out_add(o, "gateway %s", cmd->kind == HNV_CONF_GATEWAY_CA ? "ca" : "ca-del");
	out_val(o, "--rdomain", g->rdomain);
	if (g->pool[0])
		out_val(o, "--pool", g->pool);
	out_add(o, " --vsid %u", g->vsid);
	out_ip(o, "--ca", &g->ca);
	return 0;
}

static int format_pool(struct out *o, const struct hnv_conf_cmd *cmd)
{
	const struct hnv_conf_pool *s = &cmd->u.pool;
	char f[INET6_ADDRSTRLEN], l[INET6_ADDRSTRLEN];
	if (!CONF_TERMINATED(s->name) || s->range.n_dns > HNV_CONF_DNS_MAX)
		return -EINVAL;
	out_add(o, "pool %s", cmd->kind == HNV_CONF_POOL_ADD ? "add" : "del");
	out_val(o, NULL, s->name);
	if (cmd->kind == HNV_CONF_POOL_DEL)
		return 0;
	hnv_fmt_ip(&s->range.first, f, sizeof(f));
	hnv_fmt_ip(&s->range.last, l, sizeof(l));
	out_add(o, " --vsid %u --range %s-%s", s->vsid, f, l);
	for (unsigned i = 0; i < s->range.n_dns; i++) {
		hnv_fmt_ip(&s->range.dns[i], f, sizeof(f));
		out_add(o, "%s%s", i ? "," : " --dns ", f);
	}
	out_add(o, " --lease %u", s->range.lease);
	return 0;
}

/* gre add/del and l3 add/del. */
static int format_conn(struct out *o, const struct hnv_conf_cmd *cmd)
{
	const struct hnv_conf_conn *s = &cmd->u.conn;
	bool gre = cmd->kind == HNV_CONF_GRE_ADD || cmd->kind == HNV_CONF_GRE_DEL;
	if (!CONF_TERMINATED(s->name))
		return -EINVAL;
	out_add(o, "%s", gre ? "gre" : "l3");
	if (cmd->kind == HNV_CONF_GRE_DEL || cmd->kind == HNV_CONF_L3_DEL) {
		out_add(o, " del");
		out_val(o, NULL, s->name);
		return 0;
	}
	if (!CONF_TERMINATED(s->rdomain) || !CONF_TERMINATED(s->dev) ||
	    s->n_remote > HNV_CONN_REMOTE_MAX)
		return -EINVAL;
	out_add(o, " add");
	out_val(o, NULL, s->name);
	out_val(o, "--rdomain", s->rdomain);
	if (gre) {
		out_ip(o, "--local", &s->local);
		out_ip(o, "--remote", &s->remote_addr);
		if (s->has_key)
			out_add(o, " --key %u", s->key);
	} else {
		out_val(o, "--dev", s->dev);
		out_add(o, " --vlan %u", s->vlan);
	}
	char a[INET6_ADDRSTRLEN];
	hnv_fmt_ip(&s->addr.addr, a, sizeof(a));
	out_add(o, " --addr %s/%u", a, s->addr.len);
	if (!gre)
		out_ip(o, "--nexthop", &s->nexthop);
	for (unsigned i = 0; i < s->n_remote; i++)
		out_prefix(o, "--remote-prefix", &s->remote[i]);
	if (s->rate_out)
		out_add(o, " --rate-out %u", s->rate_out);
	if (s->rate_in)
		out_add(o, " --rate-in %u", s->rate_in);
	return 0;
}

static int format_bgp_peer(struct out *o, const struct hnv_conf_cmd *cmd)
{
	const struct hnv_conf_bgp_peer *p = &cmd->u.bgp_peer;
	if (!CONF_TERMINATED(p->name))
		return -EINVAL;
	out_add(o, "bgp-peer %s", cmd->kind == HNV_CONF_BGP_PEER_ADD ? "add" : "del");
	out_val(o, NULL, p->name);
	if (cmd->kind == HNV_CONF_BGP_PEER_DEL)
		return 0;
	if (!CONF_TERMINATED(p->rdomain) || p->n_in > HNV_BGP_PEER_PREFIXES_MAX ||
	    p->n_out > HNV_BGP_PEER_PREFIXES_MAX)
		return -EINVAL;
	out_val(o, "--rdomain", p->rdomain);
	out_ip(o, "--addr", &p->addr);
	out_add(o, " --asn %u", p->asn);
	if (p->has_source)
		out_ip(o, "--source", &p->source);
	char m[96];
	for (unsigned i = 0; i < p->n_in + p->n_out; i++) {
		bool in = i < p->n_in;
		if (conf_fmt_bgp_match(in ? &p->in[i] : &p->out[i - p->n_in], m, sizeof(m)) < 0)
			return -EINVAL;
		out_add(o, " %s %s", in ? "--prefix-in" : "--prefix-out", m);
	}
	return 0;
}

static int format_cmd(struct out *o, const struct hnv_conf_cmd *cmd, bool show_secrets)
{
	switch (cmd->kind) {
	case HNV_CONF_RDOMAIN_ADD:
	case HNV_CONF_RDOMAIN_DEL:
		return format_rdomain(o, cmd);
	case HNV_CONF_VSUBNET_ADD:
	case HNV_CONF_VSUBNET_DEL:
		return format_vsubnet(o, cmd);
	case HNV_CONF_PA_ADD:
	case HNV_CONF_PA_DEL:
		return format_pa(o, cmd);
	case HNV_CONF_PORT_ADD:
	case HNV_CONF_PORT_DEL:
		return format_port(o, cmd);
	case HNV_CONF_PORT_MOVE:
		return format_port_move(o, &cmd->u.port_move, "port");
	case HNV_CONF_GATEWAY_MOVE:
		return format_port_move(o, &cmd->u.port_move, "gateway");
	case HNV_CONF_LOOKUP_ADD:
	case HNV_CONF_LOOKUP_SET:
	case HNV_CONF_LOOKUP_DEL:
		return format_lookup(o, cmd);
	case HNV_CONF_ROUTE_ADD:
	case HNV_CONF_ROUTE_DEL:
		return format_route(o, cmd);
	case HNV_CONF_GLOBAL_SET:
		return format_global(o, &cmd->u.global);
	case HNV_CONF_PROUTE_ADD:
	case HNV_CONF_PROUTE_DEL:
		return format_proute(o, cmd);
	case HNV_CONF_GATEWAY_ADD:
	case HNV_CONF_GATEWAY_DEL:
		return format_gateway(o, cmd);
	case HNV_CONF_GATEWAY_CA:
	case HNV_CONF_GATEWAY_CA_DEL:
		return format_gateway_ca(o, cmd);
	case HNV_CONF_S2S_ADD:
		if (!CONF_TERMINATED(cmd->u.s2s.name))
			return -EINVAL;
		return format_s2s(o, &cmd->u.s2s, show_secrets);
	case HNV_CONF_S2S_DEL:
		if (!CONF_TERMINATED(cmd->u.s2s.name))
			return -EINVAL;
		if (!CONF_TERMINATED(cmd->u.s2s.rdomain) || !CONF_TERMINATED(cmd->u.s2s.pool))
			return -EINVAL;
		out_add(o, "s2s del");
		out_val(o, NULL, cmd->u.s2s.name);
		if (cmd->u.s2s.pool[0]) {
			out_val(o, "--rdomain", cmd->u.s2s.rdomain);
			out_val(o, "--pool", cmd->u.s2s.pool);
		}
		return 0;
	case HNV_CONF_POOL_ADD:
	case HNV_CONF_POOL_DEL:
		return format_pool(o, cmd);
	case HNV_CONF_GRE_ADD:
	case HNV_CONF_GRE_DEL:
	case HNV_CONF_L3_ADD:
	case HNV_CONF_L3_DEL:
		return format_conn(o, cmd);
	case HNV_CONF_BGP_PEER_ADD:
	case HNV_CONF_BGP_PEER_DEL:
		return format_bgp_peer(o, cmd);
	}
	return -EINVAL;
}

int hnv_conf_format(const struct hnv_conf_cmd *cmd, bool show_secrets, char *buf, size_t len)
{
	if (cmd == NULL || buf == NULL || len == 0)
		return -EINVAL;
	struct out o = {buf, len, 0, false};
	buf[0] = '\0';
	int rc = format_cmd(&o, cmd, show_secrets);
	if (rc == 0 && o.over)
		rc = -ENOSPC;
	if (rc < 0)
		explicit_bzero(buf, len); /* a cut line may end inside the PSK */
	return rc;
}
