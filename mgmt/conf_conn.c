/* conf_conn.c: the options of "gre add" and "l3 add" (conf_int.h) and the
 * checks connections share between the batch and the model
 * (conf_conn.h). */
#include "conf_conn.h"
#include "conf_check.h"
#include "conf_int.h"

#include "../lib/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

/* NAME: the device is gr-NAME or l3-NAME, at most 15 characters. */
static int get_conn_name(struct conf_pctx *c, char *out)
{
	int rc = conf_get_name(c, "connection name", c->pos, out);
	if (rc == 0 && strlen(out) > HNV_CONN_NAME_MAX)
		return conf_bad(c, "connection name", c->pos,
				"at most 12 characters (the device is gr-<name> or l3-<name>)");
	return rc;
}

/* --addr IP/LEN: the gateway's address with its prefix length. */
static int get_addr(struct conf_pctx *c, struct hnv_prefix *out)
{
	const char *v = conf_opt1(c, OPT_ADDR), *why;
	if (hnv_parse_prefix_why(v, out, true, &why) < 0)
		return conf_bad(c, "address", v, why);
	bool v4 = hnv_ip_is_v4(&out->addr);
	bool mcast = v4 ? (out->addr.b[12] & 0xf0) == 0xe0 : out->addr.b[0] == 0xff;
	if (hnv_ip_is_unspec(&out->addr) || mcast)
		return conf_bad(c, "address", v, "not a unicast address");
	if (out->len == 0)
		return conf_bad(c, "address", v, "a /0 is no connection's subnet");
	if (v4 && out->len < 31) {
		uint32_t a = conf_ip4_u32(&out->addr), host = (1u << (32 - out->len)) - 1;
		if ((a & host) == 0 || (a & host) == host)
			return conf_bad(c, "address", v,
					"the network or broadcast address of its prefix");
	}
	return 0;
}

int conf_get_rates(struct conf_pctx *c, uint32_t *out, uint32_t *in)
{
	int rc = 0;
	if (c->n[OPT_RATE_OUT])
		rc = conf_get_uint(c, "rate out (kbit/s)", conf_opt1(c, OPT_RATE_OUT),
				   HNV_CONN_RATE_MIN, HNV_CONN_RATE_MAX, out);
	if (rc == 0 && c->n[OPT_RATE_IN])
		rc = conf_get_uint(c, "rate in (kbit/s)", conf_opt1(c, OPT_RATE_IN),
				   HNV_CONN_RATE_MIN, HNV_CONN_RATE_MAX, in);
	return rc;
}

/* --remote-prefix: no two overlap. */
static int get_remote(struct conf_pctx *c, struct hnv_conf_conn *s)
{
	return conf_get_remote_prefixes(c, s->remote, &s->n_remote);
}

static int build_common(struct conf_pctx *c, struct hnv_conf_conn *s)
{
	int rc = get_conn_name(c, s->name);
	if (rc == 0)
		rc = conf_get_name(c, "rdomain name", conf_opt1(c, OPT_RDOMAIN), s->rdomain);
	if (rc == 0)
		rc = get_addr(c, &s->addr);
	if (rc == 0)
		rc = get_remote(c, s);
	if (rc == 0)
		rc = conf_get_rates(c, &s->rate_out, &s->rate_in);
	return rc;
}

int conf_build_gre_add(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_conn *s = &cmd->u.conn;
	s->type = HNV_CONN_GRE;
	int rc = build_common(c, s);
	if (rc == 0)
		rc = conf_get_unicast(c, "local address", conf_opt1(c, OPT_LOCAL), &s->local);
	if (rc == 0)
		rc = conf_get_unicast(c, "remote address", conf_opt1(c, OPT_REMOTE),
				      &s->remote_addr);
	if (rc < 0)
		return rc;
	/* ip_gre: the outer header is IPv4 (ip6gre would be another kind) */
	if (!hnv_ip_is_v4(&s->local))
		return conf_bad(c, "local address", conf_opt1(c, OPT_LOCAL),
				"GRE tunnels have IPv4 outer addresses");
	if (!hnv_ip_is_v4(&s->remote_addr))
		return conf_bad(c, "remote address", conf_opt1(c, OPT_REMOTE),
				"GRE tunnels have IPv4 outer addresses");
	if (hnv_ip_eq(&s->local, &s->remote_addr))
		return conf_bad(c, "remote address", conf_opt1(c, OPT_REMOTE),
				"the same as the local address");
	if (c->n[OPT_KEY]) {
		s->has_key = true;
		rc = conf_get_uint(c, "GRE key", conf_opt1(c, OPT_KEY), 0, UINT32_MAX, &s->key);
	}
	return rc;
}

int conf_build_l3_add(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_conn *s = &cmd->u.conn;
	s->type = HNV_CONN_L3;
	int rc = build_common(c, s);
	const char *dev = conf_opt1(c, OPT_DEV), *res;
	if (rc == 0)
		rc = conf_get_dev(c, "device name", dev, s->dev);
	if (rc == 0 && (res = conf_reserved_dev(dev)) != NULL)
		return conf_bad(c, "device name", dev, res);
	if (rc == 0)
		rc = conf_get_uint(c, "VLAN ID", conf_opt1(c, OPT_VLAN), 1, 4094, &s->vlan);
	if (rc == 0)
		rc = conf_get_unicast(c, "next hop", conf_opt1(c, OPT_NEXTHOP), &s->nexthop);
	if (rc < 0)
		return rc;
	const char *nh = conf_opt1(c, OPT_NEXTHOP);
	if (hnv_ip_is_v4(&s->nexthop) != hnv_ip_is_v4(&s->addr.addr) ||
	    !hnv_prefix_contains(&s->addr, &s->nexthop))
		return conf_bad(c, "next hop", nh, "not inside the prefix of --addr");
	if (hnv_ip_eq(&s->nexthop, &s->addr.addr))
		return conf_bad(c, "next hop", nh, "the gateway's own address (--addr)");
	for (unsigned i = 0; i < s->n_remote; i++)
		if (hnv_ip_is_v4(&s->remote[i].addr) != hnv_ip_is_v4(&s->nexthop))
			return conf_bad(c, "remote prefix", c->val[OPT_REMOTE_PREFIX][i],
					"not of the next hop's address family");
	return 0;
}

int conf_build_conn_del(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	return get_conn_name(c, cmd->u.conn.name);
}

/* ---- checks against other connections (conf_conn.h) ---- */

size_t hnv_conf_conn_clash_key(const struct hnv_conf_conn *c, unsigned char *key)
{
	size_t n = 0;
	key[n++] = (unsigned char)c->type;
	if (c->type == HNV_CONN_GRE) {
		memcpy(key + n, c->local.b, 16);
		n += 16;
		memcpy(key + n, c->remote_addr.b, 16);
		n += 16;
		key[n++] = c->has_key;
		memcpy(key + n, &c->key, 4);
		n += 4;
	} else {
		size_t len = strnlen(c->dev, sizeof(c->dev) - 1);
		memcpy(key + n, c->dev, len);
		n += len;
		key[n++] = 0;
		memcpy(key + n, &c->vlan, 4);
		n += 4;
	}
	return n;
}

bool hnv_conf_conn_is_default(const struct hnv_conf_conn *c)
{
	return c->type == HNV_CONN_L3 && c->n_remote == 0;
}

int hnv_conf_conn_default_taken(const struct hnv_conf_conn *c, bool corp_nexthop_same,
				const char *other, char *err, size_t errlen)
{
	if (!hnv_conf_conn_is_default(c) || (!corp_nexthop_same && other == NULL))
		return 0;
	const char *fam = hnv_ip_is_v4(&c->nexthop) ? "IPv4" : "IPv6";
	if (corp_nexthop_same)
		hnv_seterr(err, errlen,
			   "l3 add: connection \"%s\" would carry the %s default route of routing "
			   "domain \"%s\", which is its gateway's --corp-nexthop (give "
			   "--remote-prefix)",
			   c->name, fam, c->rdomain);
	else
		hnv_seterr(err, errlen,
			   "l3 add: connection \"%s\" would carry the %s default route of routing "
			   "domain \"%s\", which connection \"%s\" carries (give --remote-prefix)",
			   c->name, fam, c->rdomain, other);
	return -EEXIST;
}

const char *hnv_conf_conn_cmd(const struct hnv_conf_conn *c)
{
	return c->type == HNV_CONN_GRE ? "gre add" : "l3 add";
}

int hnv_conf_conn_clash(const struct hnv_conf_conn *c, const char *other, char *err, size_t errlen)
{
	if (c->type == HNV_CONN_GRE) {
		char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN], k[24] = "no key";
		hnv_fmt_ip(&c->local, l, sizeof(l));
		hnv_fmt_ip(&c->remote_addr, r, sizeof(r));
		if (c->has_key)
			snprintf(k, sizeof(k), "key %u", c->key);
		hnv_seterr(err, errlen,
			   "gre add: tunnel \"%s\" has the local address %s, remote address %s and "
			   "%s of tunnel \"%s\": the kernel could not tell them apart (give "
			   "another --key)",
			   c->name, l, r, k, other);
	} else {
		hnv_seterr(err, errlen,
			   "l3 add: connection \"%s\" uses VLAN %u on %s, which connection \"%s\" "
			   "uses already",
			   c->name, c->vlan, c->dev, other);
	}
	return -EEXIST;
}
