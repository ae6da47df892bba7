/* sync_keys.c: the key layout of the shared policy (sync.h) and the
 * command each config key holds, parsed once when its value arrives.
 * Pure functions: the watch thread parses with them too. */
#include "sync_int.h"

#include "../../lib/addr.h"
#include "../../lib/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEMBER_SIZE(m) sizeof(((struct hnv_conf_cmd *)0)->u.m)

/* The config key types: name in the key, the add and del kinds of their
 * objects, and the size of the add's union member. */
static const struct {
	const char *name;
	enum hnv_conf_kind add, del;
	size_t size;
} types[SYNC_K_LINES] = {
	[SYNC_K_RDOMAIN] = {"rdomain", HNV_CONF_RDOMAIN_ADD, HNV_CONF_RDOMAIN_DEL,
			    MEMBER_SIZE(rdomain)},
	[SYNC_K_VSUBNET] = {"vsubnet", HNV_CONF_VSUBNET_ADD, HNV_CONF_VSUBNET_DEL,
			    MEMBER_SIZE(vsubnet)},
	[SYNC_K_POOL] = {"pool", HNV_CONF_POOL_ADD, HNV_CONF_POOL_DEL, MEMBER_SIZE(pool)},
	[SYNC_K_GW] = {"gw", HNV_CONF_GATEWAY_ADD, HNV_CONF_GATEWAY_DEL, MEMBER_SIZE(gateway)},
	[SYNC_K_GWCA] = {"gwca", HNV_CONF_GATEWAY_CA, HNV_CONF_GATEWAY_CA_DEL,
			 MEMBER_SIZE(gateway_ca)},
	[SYNC_K_PORT] = {"port", HNV_CONF_PORT_ADD, HNV_CONF_PORT_DEL, MEMBER_SIZE(port)},
	[SYNC_K_LOOKUP] = {"lookup", HNV_CONF_LOOKUP_ADD, HNV_CONF_LOOKUP_DEL, MEMBER_SIZE(lookup)},
	[SYNC_K_ROUTE] = {"route", HNV_CONF_ROUTE_ADD, HNV_CONF_ROUTE_DEL, MEMBER_SIZE(route)},
	[SYNC_K_S2S] = {"s2s", HNV_CONF_S2S_ADD, HNV_CONF_S2S_DEL, MEMBER_SIZE(s2s)},
};

enum sync_kt sync_kt_of_kind(enum hnv_conf_kind kind)
{
	if (kind == HNV_CONF_LOOKUP_SET)
		return SYNC_K_LOOKUP;
	for (int t = 0; t < SYNC_K_LINES; t++)
		if (types[t].add == kind || types[t].del == kind)
			return (enum sync_kt)t;
	return SYNC_K_OTHER;
}

enum hnv_conf_kind sync_kt_add_kind(enum sync_kt t)
{
	return types[t].add;
}

static bool has_host(enum sync_kt t)
{
	return t == SYNC_K_PORT || t == SYNC_K_GW || t == SYNC_K_GWCA || t == SYNC_K_S2S;
}

static enum sync_kt type_named(const char *t, size_t tl)
{
	for (int i = 0; i < SYNC_K_LINES; i++)
		if (strlen(types[i].name) == tl && strncmp(types[i].name, t, tl) == 0)
			return (enum sync_kt)i;
	if (tl == 5 && strncmp(t, "alloc", 5) == 0)
		return SYNC_K_ALLOC;
	return SYNC_K_OTHER;
}

enum sync_kt sync_key_parse(const char *key, struct sync_key *k)
{
	k->t = SYNC_K_OTHER;
	if (strncmp(key, "rd/", 3) != 0)
		return SYNC_K_OTHER;
	const char *r = key + 3, *sl = strchr(r, '/');
	if (!sl || sl == r || (size_t)(sl - r) > HNV_NAME_MAX)
		return SYNC_K_OTHER;
	memcpy(k->rd, r, (size_t)(sl - r));
	k->rd[sl - r] = '\0';
	const char *t = sl + 1, *sl2 = strchr(t, '/');
	enum sync_kt type = type_named(t, sl2 ? (size_t)(sl2 - t) : strlen(t));
	if (type == SYNC_K_OTHER)
		return SYNC_K_OTHER;
	k->rest = sl2 ? sl2 + 1 : "";
	k->host[0] = '\0';
	if (has_host(type)) {
		size_t hl = strcspn(k->rest, "/");
		/* "@NAME": a pool's gw and gwca keys (NAME as long as a host's) */
		size_t max = HNV_SYNC_HOST_MAX + (k->rest[0] == '@' && type != SYNC_K_PORT);
		if (hl == 0 || hl > max || (type == SYNC_K_S2S && k->rest[0] != '@'))
			return SYNC_K_OTHER;
		memcpy(k->host, k->rest, hl);
		k->host[hl] = '\0';
		k->rest += hl + (k->rest[hl] == '/');
	}
	return k->t = type;
}

bool sync_name_ok(const char *n)
{
	return *n && !strchr(n, '/') && strcmp(n, ".") && strcmp(n, "..");
}

static int fits(int w, size_t len)
{
	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

int sync_lookup_key(const char *rd, uint32_t vsid, const struct hnv_ip *ca,
		    const struct hnv_mac *mac, char *k, size_t len)
{
	char a[64];
	if (hnv_ip_is_unspec(ca)) {
		hnv_fmt_mac(mac, a, sizeof(a));
		return fits(snprintf(k, len, "rd/%s/lookup/%u/mac-%s", rd, vsid, a), len);
	}
	hnv_fmt_ip(ca, a, sizeof(a));
	return fits(snprintf(k, len, "rd/%s/lookup/%u/%s", rd, vsid, a), len);
}

int sync_alloc_key(const char *rd, uint32_t vsid, const struct hnv_ip *ip, char *k, size_t len)
{
	char a[64];
	hnv_fmt_ip(ip, a, sizeof(a));
	return fits(snprintf(k, len, "rd/%s/alloc/%u/%s", rd, vsid, a), len);
}

int sync_pool_tenant_key(const char *pool, const char *rd, char *k, size_t len)
{
	return fits(snprintf(k, len, "pool/%s/tenant/%s", pool, rd), len);
}

/* The host component of a gw or gwca key: "@NAME" for a line of pool
 * NAME, else host, which must not look like a pool's. */
static int gw_host(const char *pool, const char *host, char out[HNV_SYNC_HOST_MAX + 2])
{
	if (*pool)
		return fits(snprintf(out, HNV_SYNC_HOST_MAX + 2, "@%s", pool),
			    HNV_SYNC_HOST_MAX + 2);
	if (*host == '@')
		return -EINVAL;
	return fits(snprintf(out, HNV_SYNC_HOST_MAX + 2, "%s", host), HNV_SYNC_HOST_MAX + 2);
}

int sync_key_of(const struct hnv_conf_cmd *c, const char *rd, const char *host, char *k, size_t len)
{
	char a[64], b[64], h[HNV_SYNC_HOST_MAX + 2];
	int w, rc;
	switch (sync_kt_of_kind(c->kind)) {
	case SYNC_K_RDOMAIN:
		w = snprintf(k, len, "rd/%s/rdomain", rd);
		break;
	case SYNC_K_VSUBNET:
		w = snprintf(k, len, "rd/%s/vsubnet/%u", rd, c->u.vsubnet.vsid);
		break;
	case SYNC_K_POOL:
		w = snprintf(k, len, "rd/%s/pool/%s", rd, c->u.pool.name);
		break;
	case SYNC_K_GW:
		if ((rc = gw_host(c->u.gateway.pool, host, h)))
			return rc;
		w = snprintf(k, len, "rd/%s/gw/%s", rd, h);
		break;
	case SYNC_K_GWCA:
		if ((rc = gw_host(c->u.gateway_ca.pool, host, h)))
			return rc;
		hnv_fmt_ip(&c->u.gateway_ca.ca, a, sizeof(a));
		w = snprintf(k, len, "rd/%s/gwca/%s/%u/%s", rd, h, c->u.gateway_ca.vsid, a);
		break;
	case SYNC_K_PORT:
		w = snprintf(k, len, "rd/%s/port/%s/%s", rd, host, c->u.port.name);
		break;
	case SYNC_K_LOOKUP:
		return sync_lookup_key(rd, c->u.lookup.vsid, &c->u.lookup.ca, &c->u.lookup.mac, k,
				       len);
	case SYNC_K_S2S:
		/* only a pool's tunnel is shared */
		if (!c->u.s2s.pool[0])
			return -EINVAL;
		w = snprintf(k, len, "rd/%s/s2s/@%s/%s", rd, c->u.s2s.pool, c->u.s2s.name);
		break;
	case SYNC_K_ROUTE:
		hnv_fmt_prefix(&c->u.route.prefix, a, sizeof(a));
		hnv_fmt_ip(&c->u.route.nexthop, b, sizeof(b));
		w = snprintf(k, len, "rd/%s/route/%s@%s", rd, a, b);
		break;
	default:
		return -EINVAL;
	}
	return fits(w, len);
}

int sync_map_put_str(struct hnv_hmap *m, const char *key, const char *val)
{
	char *v = NULL;
	void *old;
	if (val && !(v = strdup(val)))
		return -ENOMEM;
	if (hnv_hmap_put(m, key, v, &old)) {
		free(v);
		return -ENOMEM;
	}
	free(old);
	return 0;
}

/* ---- parsed commands ---- */

struct sync_cmd *sync_cmd_new(const struct hnv_conf_cmd *c)
{
	enum sync_kt t = sync_kt_of_kind(c->kind);
	if (t == SYNC_K_OTHER || types[t].add != c->kind)
		return NULL;
	struct sync_cmd *sc = malloc(sizeof(*sc) + types[t].size);
	if (!sc)
		return NULL;
	sc->refs = 1;
	sc->kind = c->kind;
	sc->size = types[t].size;
	memcpy(sc->u, &c->u, sc->size);
	return sc;
}

void sync_cmd_get(const struct sync_cmd *sc, struct hnv_conf_cmd *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = sc->kind;
	memcpy(&out->u, sc->u, sc->size);
}

struct sync_cmd *sync_cmd_ref(struct sync_cmd *sc)
{
	sc->refs++;
	return sc;
}

void sync_cmd_unref(struct sync_cmd *sc)
{
	if (sc && --sc->refs == 0) {
		explicit_bzero(sc->u, sc->size); /* a tunnel's PSK */
		free(sc);
	}
}

int sync_cmd_parse(enum sync_kt t, const char *value, struct sync_cmd **out, char *err,
		   size_t errlen)
{
	*out = NULL;
	if (strchr(value, '\n'))
		return 0;
	struct hnv_conf_cmd c;
	int rc = hnv_conf_parse_line(value, &c, err, errlen);
	if (rc == 1 && c.kind != types[t].add) {
		hnv_seterr(err, errlen, "not a \"%s\" line", types[t].name);
		rc = -EINVAL;
	} else if (rc == 1 && !(*out = sync_cmd_new(&c))) {
		rc = -ENOMEM;
	}
	explicit_bzero(&c, sizeof(c));
	return rc;
}

bool sync_cmd_eq(const struct sync_cmd *a, const struct sync_cmd *b)
{
	if (a == b)
		return true;
	if (a->kind != b->kind || a->size != b->size)
		return false;
	if (memcmp(a->u, b->u, a->size) == 0)
		return true;
	/* the same line may parse to different bytes (unused tails) */
	struct hnv_conf_cmd c;
	char la[SYNC_LINE_MAX], lb[SYNC_LINE_MAX];
	sync_cmd_get(a, &c);
	int ra = hnv_conf_format(&c, false, la, sizeof(la));
	sync_cmd_get(b, &c);
	int rb = hnv_conf_format(&c, false, lb, sizeof(lb));
	return ra == 0 && rb == 0 && strcmp(la, lb) == 0;
}

void sync_cmd_del_of(const struct hnv_conf_cmd *add, struct hnv_conf_cmd *del)
{
	memset(del, 0, sizeof(*del));
	enum sync_kt t = sync_kt_of_kind(add->kind);
	del->kind = t == SYNC_K_OTHER ? add->kind : types[t].del;
	switch (t) {
	case SYNC_K_RDOMAIN:
		memcpy(del->u.rdomain.name, add->u.rdomain.name, sizeof(del->u.rdomain.name));
		break;
	case SYNC_K_VSUBNET:
		del->u.vsubnet.vsid = add->u.vsubnet.vsid;
		break;
	case SYNC_K_POOL:
		memcpy(del->u.pool.name, add->u.pool.name, sizeof(del->u.pool.name));
		break;
	case SYNC_K_GW:
		memcpy(del->u.gateway.rdomain, add->u.gateway.rdomain,
		       sizeof(del->u.gateway.rdomain));
		memcpy(del->u.gateway.pool, add->u.gateway.pool, sizeof(del->u.gateway.pool));
		break;
	case SYNC_K_GWCA:
		del->u.gateway_ca = add->u.gateway_ca;
		break;
	case SYNC_K_PORT:
		memcpy(del->u.port.name, add->u.port.name, sizeof(del->u.port.name));
		break;
	case SYNC_K_LOOKUP:
		del->u.lookup.vsid = add->u.lookup.vsid;
		del->u.lookup.ca = add->u.lookup.ca;
		del->u.lookup.mac = add->u.lookup.mac;
		break;
	case SYNC_K_ROUTE:
		memcpy(del->u.route.rdomain, add->u.route.rdomain, sizeof(del->u.route.rdomain));
		del->u.route.prefix = add->u.route.prefix;
		del->u.route.nexthop = add->u.route.nexthop;
		break;
	case SYNC_K_S2S: /* not the secret */
		memcpy(del->u.s2s.name, add->u.s2s.name, sizeof(del->u.s2s.name));
		memcpy(del->u.s2s.rdomain, add->u.s2s.rdomain, sizeof(del->u.s2s.rdomain));
		memcpy(del->u.s2s.pool, add->u.s2s.pool, sizeof(del->u.s2s.pool));
		break;
	default:
		del->u = add->u;
		break;
	}
}

const char *sync_named_rd(const struct hnv_conf_cmd *c)
{
	switch (sync_kt_of_kind(c->kind)) {
	case SYNC_K_RDOMAIN:
		return c->u.rdomain.name;
	case SYNC_K_VSUBNET:
		return c->u.vsubnet.rdomain;
	case SYNC_K_GW:
		return c->u.gateway.rdomain;
	case SYNC_K_GWCA:
		return c->u.gateway_ca.rdomain;
	case SYNC_K_ROUTE:
		return c->u.route.rdomain;
	case SYNC_K_S2S:
		return c->u.s2s.rdomain;
	default:
		return NULL;
	}
}

bool sync_cmd_vsid(const struct sync_cmd *sc, uint32_t *vsid)
{
	struct hnv_conf_cmd c;
	switch (sync_kt_of_kind(sc->kind)) {
	case SYNC_K_POOL:
	case SYNC_K_PORT:
	case SYNC_K_LOOKUP:
	case SYNC_K_ROUTE:
	case SYNC_K_GWCA:
		break;
	default:
		return false;
	}
	sync_cmd_get(sc, &c);
	switch (sync_kt_of_kind(sc->kind)) {
	case SYNC_K_POOL:
		*vsid = c.u.pool.vsid;
		break;
	case SYNC_K_PORT:
		*vsid = c.u.port.vsid;
		break;
	case SYNC_K_LOOKUP:
		*vsid = c.u.lookup.vsid;
		break;
	case SYNC_K_ROUTE:
		*vsid = c.u.route.vsid;
		break;
	default:
		*vsid = c.u.gateway_ca.vsid;
		break;
	}
	explicit_bzero(&c, sizeof(c));
	return true;
}

int sync_cmd_check_key(const struct sync_cmd *sc, const char *key, const struct sync_key *k,
		       char *err, size_t errlen)
{
	struct hnv_conf_cmd c;
	char own[SYNC_KEY_MAX], rd[HNV_NAME_MAX + 1] = "";
	sync_cmd_get(sc, &c);
	const char *crd = sync_named_rd(&c);
	if (crd)
		snprintf(rd, sizeof(rd), "%s", crd);
	int rc = sync_key_of(&c, crd ? rd : k->rd, k->host, own, sizeof(own));
	explicit_bzero(&c, sizeof(c));
	if (rc == 0 && strcmp(own, key) == 0)
		return 0;
	if (rc == -EINVAL && k->host[0] == '@')
		hnv_seterr(err, errlen, "a line without --pool under the key of pool \"%s\"",
			   k->host + 1);
	else if (*rd && strcmp(rd, k->rd) != 0)
		hnv_seterr(err, errlen,
			   "a line of routing domain \"%.64s\" under routing domain \"%s\"", rd,
			   k->rd);
	else
		hnv_seterr(err, errlen, "a line whose key is %.300s, not this one",
			   rc == 0 ? own : "(none)");
	return -EINVAL;
}

/* ---- values ---- */

int sync_val_set(struct sync_val *v, const char *key, char *value, int64_t mod_rev)
{
	memset(v, 0, sizeof(*v));
	v->value = value;
	v->mod_rev = mod_rev;
	struct sync_key k;
	if (sync_key_parse(key, &k) >= SYNC_K_LINES)
		return 0;
	char msg[512];
	int rc = sync_cmd_parse(k.t, value, &v->cmd, msg, sizeof(msg));
	/* the key is the command's own: its kind (above), routing domain,
	 * host (the key's; port, gw and gwca keys) and identity */
	if (rc == 1 && sync_cmd_check_key(v->cmd, key, &k, msg, sizeof(msg))) {
		sync_cmd_unref(v->cmd);
		v->cmd = NULL;
		rc = -EINVAL;
	}
	if (rc == 0 && !(v->bad = strdup("not one config line (blank, a comment, or several "
					 "lines)")))
		rc = -ENOMEM;
	if (rc == -EINVAL && !(v->bad = strdup(msg)))
		rc = -ENOMEM;
	if (rc == -ENOMEM) {
		sync_val_clear(v);
		return rc;
	}
	return 0;
}

void sync_val_clear(struct sync_val *v)
{
	if (v->value) /* a pool tunnel's line holds its PSK */
		explicit_bzero(v->value, strlen(v->value));
	free(v->value);
	sync_cmd_unref(v->cmd);
	free(v->bad);
	memset(v, 0, sizeof(*v));
}

void sync_val_free(void *v)
{
	if (v)
		sync_val_clear(v);
	free(v);
}
