/* conf_bgp.c: the options of "bgp-peer add" and "bgp-peer del"
 * (conf_int.h, grammar in conftext.h): the neighbor's address, AS and
 * source, and its prefix filters "P[,ge=N][,le=N]".
 */
#include "conf_int.h"

#include "../lib/err.h"

#include <errno.h>
#include <stdio.h>

/* "ge=N" or "le=N" after a comma: the number, 1..max. */
static int get_bound(struct conf_pctx *c, const char *what, const char *v, const char *item,
		     unsigned max, uint8_t *out)
{
	uint32_t n;
	if (hnv_parse_dec(item + 3, max, &n) < 0 || n == 0)
		return conf_bad(c, what, v, "ge and le take a prefix length");
	*out = (uint8_t)n;
	return 0;
}

/* One filter entry: a prefix of the peer's family, then ",ge=N" and
 * ",le=N" in any order, as FRR's prefix-lists take them. */
static int get_match(struct conf_pctx *c, const char *what, const char *v, bool v4,
		     struct hnv_conf_bgp_match *m)
{
	char pfx[64];
	size_t pl = strcspn(v, ",");
	if (pl >= sizeof(pfx))
		return conf_bad(c, what, v, "expected P[,ge=N][,le=N]");
	memcpy(pfx, v, pl);
	pfx[pl] = '\0';
	memset(m, 0, sizeof(*m));
	int rc = conf_get_prefix(c, what, pfx, &m->prefix);
	if (rc < 0)
		return rc;
	if (hnv_ip_is_v4(&m->prefix.addr) != v4)
		return conf_bad(c, what, v,
				"not of the peer's address family (a peer exchanges the routes of "
				"its own family only)");
	unsigned max = v4 ? 32 : 128;
	for (const char *p = v + pl; *p == ',';) {
		const char *item = p + 1;
		size_t il = strcspn(item, ",");
		bool ge = strncmp(item, "ge=", 3) == 0, le = strncmp(item, "le=", 3) == 0;
		char one[8];
		if ((!ge && !le) || il < 4 || il >= sizeof(one))
			return conf_bad(c, what, v, "expected P[,ge=N][,le=N]");
		memcpy(one, item, il);
		one[il] = '\0';
		uint8_t *b = ge ? &m->ge : &m->le;
		if (*b)
			return conf_bad(c, what, v, ge ? "ge given twice" : "le given twice");
		if ((rc = get_bound(c, what, v, one, max, b)) < 0)
			return rc;
		p = item + il;
	}
	if ((m->ge && m->ge <= m->prefix.len) || (m->le && m->le <= m->prefix.len))
		return conf_bad(c, what, v, "ge and le must be longer than the prefix");
	if (m->ge && m->le && m->le < m->ge)
		return conf_bad(c, what, v, "le is shorter than ge");
	return 0;
}

static int get_matches(struct conf_pctx *c, enum conf_opt o, const char *what, bool v4,
		       struct hnv_conf_bgp_match *out, unsigned *n)
{
	for (unsigned i = 0; i < c->n[o]; i++) {
		int rc = get_match(c, what, c->val[o][i], v4, &out[i]);
		if (rc < 0)
			return rc;
		for (unsigned k = 0; k < i; k++)
			if (memcmp(&out[k], &out[i], sizeof(out[i])) == 0)
				return conf_bad(c, what, c->val[o][i], "given twice");
		*n = i + 1;
	}
	return 0;
}

int conf_build_bgp_peer_add(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_bgp_peer *p = &cmd->u.bgp_peer;
	int rc = conf_get_name(c, "peer name", c->pos, p->name);
	if (rc == 0)
		rc = conf_get_name(c, "rdomain name", conf_opt1(c, OPT_RDOMAIN), p->rdomain);
	if (rc == 0)
		rc = conf_get_unicast(c, "peer address", conf_opt1(c, OPT_ADDR), &p->addr);
	if (rc == 0)
		rc = conf_get_uint(c, "AS number", conf_opt1(c, OPT_ASN), 1, UINT32_MAX, &p->asn);
	if (rc < 0)
		return rc;
	bool v4 = hnv_ip_is_v4(&p->addr);
	if (c->n[OPT_SOURCE]) {
		const char *v = conf_opt1(c, OPT_SOURCE);
		rc = conf_get_unicast(c, "source address", v, &p->source);
		if (rc == 0 && hnv_ip_is_v4(&p->source) != v4)
			return conf_bad(c, "source address", v, "not of the peer address's family");
		p->has_source = rc == 0;
	}
	if (rc == 0)
		rc = get_matches(c, OPT_PREFIX_IN, "in prefix", v4, p->in, &p->n_in);
	if (rc == 0)
		rc = get_matches(c, OPT_PREFIX_OUT, "out prefix", v4, p->out, &p->n_out);
	return rc;
}

int conf_build_bgp_peer_del(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	return conf_get_name(c, "peer name", c->pos, cmd->u.bgp_peer.name);
}

int conf_fmt_bgp_match(const struct hnv_conf_bgp_match *m, char *buf, size_t len)
{
	char p[64], ge[8] = "", le[8] = "";
	hnv_fmt_prefix(&m->prefix, p, sizeof(p));
	if (m->ge)
		snprintf(ge, sizeof(ge), ",ge=%u", m->ge);
	if (m->le)
		snprintf(le, sizeof(le), ",le=%u", m->le);
	int n = snprintf(buf, len, "%s%s%s", p, ge, le);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

bool conf_bgp_peer_warning(const struct hnv_conf_bgp_peer *p, char *buf, size_t len)
{
	if (p->n_in != 0 || !CONF_TERMINATED(p->name) || !CONF_TERMINATED(p->rdomain))
		return false;
	snprintf(buf, len,
		 "bgp-peer \"%s\" (rdomain \"%s\") has no --prefix-in: it will learn no "
		 "route from its neighbor",
		 p->name, p->rdomain);
	return true;
}
