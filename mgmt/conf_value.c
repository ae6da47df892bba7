/* conf_value.c: the config text's value getters (conf_int.h): one option
 * value -> its typed value, or a message naming the command, the value and
 * what is wrong with it.
 */
#include "conf_int.h"

#include "../lib/err.h"

#include <errno.h>
#include <stdio.h>

int conf_bad(struct conf_pctx *c, const char *what, const char *v, const char *why)
{
	hnv_seterr(c->err, c->errlen, "%s: invalid %s " SHOWF ": %s", c->cmd, what, SHOWA(v), why);
	return -EINVAL;
}

int conf_get_vsid(struct conf_pctx *c, const char *v, uint32_t *out)
{
	const char *why;
	if (hnv_parse_vsid_why(v, out, &why) < 0)
		return conf_bad(c, "VSID", v, why);
	return 0;
}

int conf_get_ip(struct conf_pctx *c, const char *what, const char *v, bool unspec_ok,
		struct hnv_ip *out)
{
	const char *why;
	if (hnv_parse_ip_why(v, out, &why) < 0)
		return conf_bad(c, what, v, why);
	if (!unspec_ok && hnv_ip_is_unspec(out))
		return conf_bad(c, what, v, "unspecified address");
	return 0;
}

int conf_get_prefix(struct conf_pctx *c, const char *what, const char *v, struct hnv_prefix *out)
{
	const char *why;
	if (hnv_parse_prefix_why(v, out, false, &why) < 0)
		return conf_bad(c, what, v, why);
	return 0;
}

int conf_get_remote_prefixes(struct conf_pctx *c, struct hnv_prefix *out, unsigned *n)
{
	for (unsigned i = 0; i < c->n[OPT_REMOTE_PREFIX]; i++) {
		const char *v = c->val[OPT_REMOTE_PREFIX][i];
		struct hnv_prefix *p = &out[i];
		int rc = conf_get_prefix(c, "remote prefix", v, p);
		if (rc < 0)
			return rc;
		for (unsigned k = 0; k < i; k++)
			if (hnv_prefix_contains(&out[k], &p->addr) ||
			    hnv_prefix_contains(p, &out[k].addr)) {
				hnv_seterr(c->err, c->errlen,
					   "%s: remote prefix " SHOWF
					   " overlaps remote prefix " SHOWF,
					   c->cmd, SHOWA(v), SHOWA(c->val[OPT_REMOTE_PREFIX][k]));
				return -EINVAL;
			}
		*n = i + 1;
	}
	return 0;
}

/* A station MAC: unicast and not all-zero. */
int conf_get_mac(struct conf_pctx *c, const char *what, const char *v, struct hnv_mac *out)
{
	static const struct hnv_mac zero;
	const char *why;
	if (hnv_parse_mac_why(v, out, &why) < 0)
		return conf_bad(c, what, v, why);
	if (out->b[0] & 1)
		return conf_bad(c, what, v, "multicast or broadcast address");
	if (hnv_mac_eq(out, &zero))
		return conf_bad(c, what, v, "all-zero address");
	return 0;
}

int conf_get_guid(struct conf_pctx *c, const char *what, const char *v, struct hnv_guid *out)
{
	const char *why;
	if (hnv_parse_guid_why(v, out, &why) < 0)
		return conf_bad(c, what, v, why);
	return 0;
}

/* A name: 1..HNV_NAME_MAX of [A-Za-z0-9_.-]; out has HNV_NAME_MAX + 1 bytes. */
int conf_get_name(struct conf_pctx *c, const char *what, const char *v, char *out)
{
	size_t len = strlen(v);
	if (len == 0)
		return conf_bad(c, what, v, "empty");
	if (len > HNV_NAME_MAX)
		return conf_bad(c, what, v, "longer than 63 characters");
	for (size_t i = 0; i < len; i++)
		if (!hnv_is_name_char(v[i]))
			return conf_bad(c, what, v, "use only A-Z a-z 0-9 _ . -");
	memcpy(out, v, len + 1);
	return 0;
}

/* An interface (or VRF) name as Linux accepts it, restricted to name
 * characters. */
int conf_get_dev(struct conf_pctx *c, const char *what, const char *v, char out[HNV_DEV_MAX + 1])
{
	size_t len = strlen(v);
	if (len == 0 || len > HNV_DEV_MAX || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return conf_bad(c, what, v, "must be 1-15 characters, not . or ..");
	for (size_t i = 0; i < len; i++)
		if (!hnv_is_name_char(v[i]))
			return conf_bad(c, what, v, "use only A-Z a-z 0-9 _ . -");
	memcpy(out, v, len + 1);
	return 0;
}

const char *conf_reserved_dev(const char *name)
{
	if (strcmp(name, "lo") == 0)
		return "lo is the loopback device";
	if (strcmp(name, "uplink") == 0)
		return "\"uplink\" names the provider uplink in hnvgw's counters and traces";
	if (strncmp(name, "vsid", 4) == 0 && name[4] >= '0' && name[4] <= '9')
		return "names vsidN are the gateway role's ports";
	if (strncmp(name, "rd-", 3) == 0)
		return "names rd-* are the tenants' VRFs, which hnvgw creates";
	if (strncmp(name, "xf-", 3) == 0)
		return "names xf-* are the S2S tunnels' XFRM interfaces, which hnvgw creates";
	if (strncmp(name, "gr-", 3) == 0 || strncmp(name, "l3-", 3) == 0)
		return "names gr-* and l3-* are the GRE and L3 connections' devices, which hnvgw "
		       "creates";
	return NULL;
}

int conf_get_host(struct conf_pctx *c, const char *what, const char *v,
		  char out[HNV_CONF_HOST_MAX + 1])
{
	size_t len = strlen(v);
	if (len == 0 || len > HNV_CONF_HOST_MAX ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len ||
	    strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return conf_bad(c, what, v,
				"must be 1-63 characters of A-Z a-z 0-9 _ . -, not . or ..");
	memcpy(out, v, len + 1);
	return 0;
}

int conf_get_text(struct conf_pctx *c, const char *what, const char *v, char *out, size_t size)
{
	size_t len = strlen(v);
	if (len >= size) {
		char why[48];
		snprintf(why, sizeof(why), "longer than %zu bytes", size - 1);
		return conf_bad(c, what, v, why);
	}
	memcpy(out, v, len + 1);
	return 0;
}

int conf_get_uint(struct conf_pctx *c, const char *what, const char *v, uint32_t min, uint32_t max,
		  uint32_t *out)
{
	if (hnv_parse_dec(v, max, out) < 0 || *out < min) {
		hnv_seterr(c->err, c->errlen,
			   "%s: invalid %s " SHOWF ": must be a decimal number %u-%u", c->cmd, what,
			   SHOWA(v), min, max);
		return -EINVAL;
	}
	return 0;
}

int conf_get_rule(struct conf_pctx *c, const char *v, enum hnv_rule *out)
{
	static const struct {
		const char *a, *b;
		enum hnv_rule r;
	} t[] = {
		{"encap", "TranslationMethodEncap", HNV_RULE_ENCAP},
		{"nat", "TranslationMethodNat", HNV_RULE_NAT},
		{"none", "TranslationMethodNone", HNV_RULE_NONE},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (hnv_ascii_caseeq(v, t[i].a) || hnv_ascii_caseeq(v, t[i].b)) {
			*out = t[i].r;
			return 0;
		}
	return conf_bad(c, "rule", v, "must be encap, nat or none");
}

static const struct {
	const char *a, *b;
	enum hnv_rec_type t;
} type_names[] = {
	{"static", "Static", HNV_TYPE_STATIC},
	{"dynamic", "Dynamic", HNV_TYPE_DYNAMIC},
	{"l2only", "L2Only", HNV_TYPE_L2ONLY},
	{"gateway-wildcard", "GatewayWildcard", HNV_TYPE_GATEWAY_WILDCARD},
};

int conf_get_type(struct conf_pctx *c, const char *v, enum hnv_rec_type *out)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (hnv_ascii_caseeq(v, type_names[i].a) || hnv_ascii_caseeq(v, type_names[i].b)) {
			*out = type_names[i].t;
			return 0;
		}
	return conf_bad(c, "type", v, "must be static, dynamic, l2only or gateway-wildcard");
}

const char *conf_type_name(enum hnv_rec_type t)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].t == t)
			return type_names[i].a;
	return "?";
}

/* -- per-command builders: the option table guarantees required options
 * are present and single-valued ones appear at most once -- */

int conf_get_unicast(struct conf_pctx *c, const char *what, const char *v, struct hnv_ip *out)
{
	int rc = conf_get_ip(c, what, v, false, out);
	if (rc < 0)
		return rc;
	bool v4 = hnv_ip_is_v4(out);
	if ((v4 && (out->b[12] & 0xf0) == 0xe0) || (!v4 && out->b[0] == 0xff))
		return conf_bad(c, what, v, "multicast address");
	if (v4 && out->b[12] == 255 && out->b[13] == 255 && out->b[14] == 255 && out->b[15] == 255)
		return conf_bad(c, what, v, "broadcast address");
	return 0;
}

/* An IPv4 address for a pool: unicast, not unspecified. */
int conf_get_ip4(struct conf_pctx *c, const char *what, const char *v, struct hnv_ip *out)
{
	int rc = conf_get_unicast(c, what, v, out);
	if (rc == 0 && !hnv_ip_is_v4(out))
		return conf_bad(c, what, v, "pools are IPv4 (DHCPv6 is not offered)");
	return rc;
}

int conf_get_onoff(struct conf_pctx *c, const char *what, const char *v, bool *out)
{
	if (strcmp(v, "on") == 0)
		*out = true;
	else if (strcmp(v, "off") == 0)
		*out = false;
	else
		return conf_bad(c, what, v, "must be on or off");
	return 0;
}
