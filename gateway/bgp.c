/* bgp.c: the per-tenant bgpd fragment and its application through bgpd's
 * vty socket. */
#include "bgp.h"

#include "../lib/addr.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "../lib/vec.h"
#include "vty.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZAPI_ROUTE_OPENFABRIC 26 /* HNV_ZAPI_ROUTE_OPENFABRIC */
#define OUT_MAX (8u << 20)       /* bgpd output kept, at most */

unsigned hnv_bgp_redist_for_zapi_type(int type)
{
	return type == ZAPI_ROUTE_OPENFABRIC ? HNV_BGP_REDIST_OPENFABRIC : 0;
}

/* ---- a script: text whose lines are labelled with their tenant ---- */

/* Which tenant (label) the lines from `first` (1-based) on belong to, so a
 * bgpd error at line N can name it. */
struct label {
	size_t first;
	char name[96];
};

struct script {
	struct hnv_buf t;
	struct label *labels;
	size_t n_labels, cap_labels;
	size_t lines, counted; /* complete lines in the first counted bytes of t */
};

static void script_label(struct script *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void script_label(struct script *s, const char *fmt, ...)
{
	if (HNV_GROW(s->labels, s->cap_labels, s->n_labels + 1)) {
		s->t.oom = true;
		return;
	}
	for (; s->counted < s->t.len; s->counted++)
		s->lines += s->t.p[s->counted] == '\n';
	struct label *l = &s->labels[s->n_labels++];
	l->first = s->lines + 1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->name, sizeof(l->name), fmt, ap);
	va_end(ap);
}

static const char *script_owner(const struct script *s, size_t line)
{
	const char *name = "the fragment";
	for (size_t i = 0; i < s->n_labels && s->labels[i].first <= line; i++)
		name = s->labels[i].name;
	return name;
}

static void script_free(struct script *s)
{
	hnv_buf_free(&s->t, false);
	free(s->labels);
}

/* ---- validation and rendering ---- */

static bool prefix_ok(const struct hnv_prefix *p)
{
	return p->len <= (hnv_ip_is_v4(&p->addr) ? 32 : 128) && !hnv_prefix_host_bits_set(p);
}

/* A name bgpd takes as it is: 1-max letters, digits, '-', '_', '.'. */
static bool chars_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static bool name_ok(const char *s)
{
	return chars_ok(s, HNV_BGP_NAME_MAX);
}

static bool peer_name_ok(const char *s)
{
	return chars_ok(s, HNV_BGP_PEER_NAME_MAX);
}

/* A filter entry: a prefix of the neighbor's family, ge/le as FRR takes
 * them (len < ge <= le <= the family's length). */
static bool match_ok(const struct hnv_bgp_match *m, bool v4)
{
	unsigned max = v4 ? 32 : 128;
	if (hnv_ip_is_v4(&m->prefix.addr) != v4 || !prefix_ok(&m->prefix))
		return false;
	if (m->ge && (m->ge <= m->prefix.len || m->ge > max))
		return false;
	if (m->le && (m->le <= m->prefix.len || m->le > max || (m->ge && m->le < m->ge)))
		return false;
	return true;
}

static int validate_filters(const struct hnv_bgp_tenant *x, const struct hnv_bgp_neighbor *nb,
			    const char *a, char *err, size_t errlen)
{
	if (nb->name == NULL) {
		if (nb->n_in || nb->n_out || nb->out_own) {
			hnv_seterr(err, errlen, "bgp: tenant %s: neighbor %s: filters need a name",
				   x->vrf, a);
			return -EINVAL;
		}
		return 0;
	}
	if (!peer_name_ok(nb->name)) {
		hnv_seterr(err, errlen,
			   "bgp: tenant %s: neighbor %s: bad name \"%s\" (1 to %d of A-Z a-z "
			   "0-9 - _ .)",
			   x->vrf, a, nb->name, HNV_BGP_PEER_NAME_MAX);
		return -EINVAL;
	}
	if (nb->n_in > HNV_BGP_MATCH_MAX || nb->n_out > HNV_BGP_MATCH_MAX ||
	    (nb->out_own && nb->n_out)) {
		hnv_seterr(err, errlen,
			   "bgp: tenant %s: neighbor %s: more than %d filter entries, or own "
			   "networks and a list out",
			   x->vrf, nb->name, HNV_BGP_MATCH_MAX);
		return -EINVAL;
	}
	bool v4 = hnv_ip_is_v4(&nb->addr);
	for (size_t i = 0; i < nb->n_in + nb->n_out; i++) {
		const struct hnv_bgp_match *m = i < nb->n_in ? &nb->in[i] : &nb->out[i - nb->n_in];
		if (!match_ok(m, v4)) {
			char p[INET6_ADDRSTRLEN];
			hnv_fmt_ip(&m->prefix.addr, p, sizeof(p));
			hnv_seterr(err, errlen,
				   "bgp: tenant %s: neighbor %s: filter %s/%u ge %u le %u is not "
				   "valid for an %s neighbor",
				   x->vrf, nb->name, p, m->prefix.len, m->ge, m->le,
				   v4 ? "IPv4" : "IPv6");
			return -EINVAL;
		}
	}
	if (nb->source && (hnv_ip_is_v4(nb->source) != v4 || hnv_ip_is_unspec(nb->source))) {
		hnv_seterr(err, errlen,
			   "bgp: tenant %s: neighbor %s: update source is not an address of its "
			   "family",
			   x->vrf, nb->name);
		return -EINVAL;
	}
	return 0;
}

static int validate(const struct hnv_bgp_tenant *t, size_t n, char *err, size_t errlen)
{
	char a[INET6_ADDRSTRLEN];
	for (size_t i = 0; i < n; i++) {
		const struct hnv_bgp_tenant *x = &t[i];
		if (x->vrf == NULL || !name_ok(x->vrf)) {
			hnv_seterr(err, errlen,
				   "bgp: tenant %zu: bad routing domain name \"%s\" (1 to %d of "
				   "A-Z a-z 0-9 - _ .)",
				   i, x->vrf ? x->vrf : "", HNV_BGP_NAME_MAX);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(t[j].vrf, x->vrf) == 0) {
				hnv_seterr(err, errlen, "bgp: tenant %s: listed twice", x->vrf);
				return -EINVAL;
			}
		if (x->local_as == 0) {
			hnv_seterr(err, errlen, "bgp: tenant %s: local AS 0 is not valid", x->vrf);
			return -EINVAL;
		}
		if (x->router_id &&
		    (!hnv_ip_is_v4(x->router_id) || hnv_ip_is_unspec(x->router_id))) {
			hnv_fmt_ip(x->router_id, a, sizeof(a));
			hnv_seterr(err, errlen,
				   "bgp: tenant %s: router-id %s is not an IPv4 address", x->vrf,
				   a);
			return -EINVAL;
		}
		if (x->redist & ~(HNV_BGP_REDIST_KERNEL | HNV_BGP_REDIST_CONNECTED |
				  HNV_BGP_REDIST_STATIC | HNV_BGP_REDIST_OPENFABRIC)) {
			hnv_seterr(err, errlen, "bgp: tenant %s: unknown redistribute flags 0x%x",
				   x->vrf, x->redist);
			return -EINVAL;
		}
		for (size_t j = 0; j < x->n_neighbors; j++) {
			const struct hnv_bgp_neighbor *nb = &x->neighbors[j];
			hnv_fmt_ip(&nb->addr, a, sizeof(a));
			if (hnv_ip_is_unspec(&nb->addr)) {
				hnv_seterr(err, errlen, "bgp: tenant %s: neighbor %s is not valid",
					   x->vrf, a);
				return -EINVAL;
			}
			if (nb->remote_as == 0) {
				hnv_seterr(err, errlen,
					   "bgp: tenant %s: neighbor %s: remote AS 0 is not valid",
					   x->vrf, a);
				return -EINVAL;
			}
			int rc = validate_filters(x, nb, a, err, errlen);
			if (rc < 0)
				return rc;
			for (size_t k = 0; k < j; k++)
				if (nb->name && x->neighbors[k].name &&
				    strcmp(nb->name, x->neighbors[k].name) == 0) {
					hnv_seterr(err, errlen,
						   "bgp: tenant %s: neighbor name %s given twice",
						   x->vrf, nb->name);
					return -EINVAL;
				}
			for (size_t k = 0; k < j; k++)
				if (hnv_ip_eq(&x->neighbors[k].addr, &nb->addr)) {
					hnv_seterr(err, errlen,
						   "bgp: tenant %s: neighbor %s listed twice",
						   x->vrf, a);
					return -EINVAL;
				}
		}
		for (size_t j = 0; j < x->n_networks; j++) {
			if (!prefix_ok(&x->networks[j])) {
				hnv_fmt_ip(&x->networks[j].addr, a, sizeof(a));
				hnv_seterr(err, errlen,
					   "bgp: tenant %s: network %s/%u is not a prefix (length "
					   "or host bits)",
					   x->vrf, a, x->networks[j].len);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* Redistributed types in bgpd's order (zebra route type numbers). */
static const struct {
	unsigned flag;
	const char *name;
} redist_names[] = {
	{HNV_BGP_REDIST_KERNEL, "kernel"},
	{HNV_BGP_REDIST_CONNECTED, "connected"},
	{HNV_BGP_REDIST_STATIC, "static"},
	{HNV_BGP_REDIST_OPENFABRIC, "openfabric"},
};

static void render_af(struct hnv_buf *o, const struct hnv_bgp_tenant *x, bool v4)
{
	char a[INET6_ADDRSTRLEN];
	bool any = false;
	for (size_t j = 0; j < x->n_neighbors; j++)
		any |= hnv_ip_is_v4(&x->neighbors[j].addr) == v4;
	for (size_t j = 0; j < x->n_networks; j++)
		any |= hnv_ip_is_v4(&x->networks[j].addr) == v4;
	if (!any && !(v4 && x->redist))
		return;
	hnv_buf_printf(o, " !\n address-family %s unicast\n", v4 ? "ipv4" : "ipv6");
	for (size_t j = 0; j < x->n_networks; j++) {
		if (hnv_ip_is_v4(&x->networks[j].addr) != v4)
			continue;
		hnv_fmt_ip(&x->networks[j].addr, a, sizeof(a));
		hnv_buf_printf(o, "  network %s/%u\n", a, x->networks[j].len);
	}
	for (size_t j = 0; j < sizeof(redist_names) / sizeof(redist_names[0]); j++)
		if (x->redist & redist_names[j].flag)
			hnv_buf_printf(o, "  redistribute %s\n", redist_names[j].name);
	for (size_t j = 0; j < x->n_neighbors; j++) {
		if (hnv_ip_is_v4(&x->neighbors[j].addr) != v4)
			continue;
		const struct hnv_bgp_neighbor *nb = &x->neighbors[j];
		hnv_fmt_ip(&nb->addr, a, sizeof(a));
		hnv_buf_printf(o, "  neighbor %s activate\n", a);
		if (nb->name == NULL)
			continue;
		/* the Adj-RIB-In: what the neighbor sent before the in
		 * filter, for show (received) and for changing the filter
		 * without asking the neighbor again */
		hnv_buf_printf(o, "  neighbor %s soft-reconfiguration inbound\n", a);
		hnv_buf_printf(o,
			       "  neighbor %s prefix-list " HNV_BGP_POLICY_PREFIX "%s:%s:in in\n",
			       a, x->vrf, nb->name);
		hnv_buf_printf(o,
			       "  neighbor %s prefix-list " HNV_BGP_POLICY_PREFIX "%s:%s:out out\n",
			       a, x->vrf, nb->name);
	}
	hnv_buf_printf(o, " exit-address-family\n");
}

static void render_tenant(struct script *s, const struct hnv_bgp_tenant *x)
{
	struct hnv_buf *o = &s->t;
	char a[INET6_ADDRSTRLEN];
	script_label(s, "tenant %s (router bgp %u vrf " HNV_BGP_VRF_PREFIX "%s)", x->vrf,
		     x->local_as, x->vrf);
	hnv_buf_printf(o, "router bgp %u vrf " HNV_BGP_VRF_PREFIX "%s\n", x->local_as, x->vrf);
	if (x->router_id) {
		hnv_fmt_ip(x->router_id, a, sizeof(a));
		hnv_buf_printf(o, " bgp router-id %s\n", a);
	}
	/* graceful restart: zebra and the peer keep the routes while either
	 * bgpd restarts, so forwarding does not stop. The forwarding state is
	 * preserved (the F bit): zebra keeps this side's routes, and a pool
	 * member that takes the tenant over has them too (kept routes), so the
	 * peer, a helper, keeps its stale routes until the End-of-RIB instead
	 * of dropping them when the new session opens. With the F bit a
	 * restarting bgpd would defer its best-path selection until every
	 * peer's End-of-RIB (4 s of outage after a zebra restart in the lab):
	 * select-defer-time 0 turns that off, zebra holds the routes anyway. */
	if (x->graceful_restart)
		hnv_buf_printf(o, " bgp graceful-restart\n"
				  " bgp graceful-restart preserve-fw-state\n"
				  " bgp graceful-restart select-defer-time 0\n");
	hnv_buf_printf(o, " no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n");
	/* the networks are the tenant's CA prefixes, which hnvgwd routes to
	 * its gateway ports for as long as this instance exists: announced at
	 * once, not after zebra confirms them. A new pool holder's first
	 * update then has them before its End-of-RIB (the corp router, a
	 * graceful-restart helper, would drop the stale copies at the
	 * End-of-RIB), and a restarting hnvgwd (its ports without carrier
	 * meanwhile) does not make bgpd withdraw them. */
	hnv_buf_printf(o, " no bgp network import-check\n");
	for (size_t j = 0; j < x->n_neighbors; j++) {
		hnv_fmt_ip(&x->neighbors[j].addr, a, sizeof(a));
		hnv_buf_printf(o, " neighbor %s remote-as %u\n", a, x->neighbors[j].remote_as);
		/* a site's router is reached through an S2S tunnel, not on a
		 * connected prefix: eBGP would otherwise never start. The
		 * session keeps TTL 1 (the tunnel is one hop). */
		hnv_buf_printf(o, " neighbor %s disable-connected-check\n", a);
		/* retry a refused or unreachable peer after 10 s, not
		 * bgpd's 120 s: the site's router may answer only once its
		 * tunnel is up */
		hnv_buf_printf(o, " neighbor %s timers connect %d\n", a, HNV_BGP_CONNECT_RETRY);
		if (x->neighbors[j].source) {
			char src[INET6_ADDRSTRLEN];
			hnv_fmt_ip(x->neighbors[j].source, src, sizeof(src));
			hnv_buf_printf(o, " neighbor %s update-source %s\n", a, src);
		}
	}
	render_af(o, x, true);
	render_af(o, x, false);
	hnv_buf_printf(o, "exit\n!\n");
}

/* One direction of a named neighbor: its prefix-list, in the form bgpd
 * prints it; without entries, one that denies everything. The neighbor
 * uses it directly (`neighbor X prefix-list`): no route-map, because
 * bgpd 8.4 takes time in proportion to the route-maps it has for each one
 * it is given (600 tenants' 1,200 route-maps: 66 s of `vtysh -f`, against
 * 5 s for 800 tenants' prefix-lists used directly). */
static void render_policy(struct hnv_buf *o, const struct hnv_bgp_tenant *x,
			  const struct hnv_bgp_neighbor *nb, const char *dir,
			  const struct hnv_bgp_match *m, size_t n, bool own)
{
	bool v4 = hnv_ip_is_v4(&nb->addr);
	const char *fam = v4 ? "ip" : "ipv6";
	char a[INET6_ADDRSTRLEN];
	unsigned seq = 0;
	size_t total = own ? x->n_networks : n;
	for (size_t i = 0; i < total; i++) {
		struct hnv_bgp_match own_m = {0};
		const struct hnv_bgp_match *e = &m[i];
		if (own) {
			own_m.prefix = x->networks[i];
			e = &own_m;
			if (hnv_ip_is_v4(&e->prefix.addr) != v4)
				continue;
		}
		seq += 5;
		hnv_fmt_ip(&e->prefix.addr, a, sizeof(a));
		hnv_buf_printf(
			o, "%s prefix-list " HNV_BGP_POLICY_PREFIX "%s:%s:%s seq %u permit %s/%u",
			fam, x->vrf, nb->name, dir, seq, a, e->prefix.len);
		if (e->ge)
			hnv_buf_printf(o, " ge %u", e->ge);
		if (e->le)
			hnv_buf_printf(o, " le %u", e->le);
		hnv_buf_printf(o, "\n");
	}
	/* no entry: nothing passes (a prefix-list that does not exist would
	 * be bgpd's choice) */
	if (seq == 0)
		hnv_buf_printf(o,
			       "%s prefix-list " HNV_BGP_POLICY_PREFIX "%s:%s:%s seq 5 deny any\n",
			       fam, x->vrf, nb->name, dir);
}

static void render_policies(struct script *s, const struct hnv_bgp_tenant *x)
{
	for (size_t j = 0; j < x->n_neighbors; j++) {
		const struct hnv_bgp_neighbor *nb = &x->neighbors[j];
		if (nb->name == NULL)
			continue;
		script_label(s, "tenant %s neighbor %s (filters)", x->vrf, nb->name);
		render_policy(&s->t, x, nb, "in", nb->in, nb->n_in, false);
		render_policy(&s->t, x, nb, "out", nb->out, nb->n_out, nb->out_own);
	}
}

static int render(const struct hnv_bgp_tenant *t, size_t n, struct script *s, char *err,
		  size_t errlen)
{
	int rc = validate(t, n, err, errlen);
	if (rc < 0)
		return rc;
	hnv_buf_printf(&s->t, "! %zu tenant%s: generated by hnvgwd, rewritten on every change\n!\n",
		       n, n == 1 ? "" : "s");
	/* the filters first: a neighbor's prefix-lists exist when it is added */
	for (size_t i = 0; i < n; i++)
		render_policies(s, &t[i]);
	for (size_t i = 0; i < n; i++)
		render_tenant(s, &t[i]);
	if (s->t.oom) {
		hnv_seterr(err, errlen, "bgp: out of memory");
		return -ENOMEM;
	}
	return 0;
}

int hnv_bgp_render(const struct hnv_bgp_tenant *t, size_t n, char **out, char *err, size_t errlen)
{
	struct script s = {0};
	int rc = render(t, n, &s, err, errlen);
	if (rc < 0) {
		script_free(&s);
		return rc;
	}
	free(s.labels);
	*out = hnv_buf_take(&s.t);
	return 0;
}

/* ---- the file ---- */

int hnv_bgp_write(const char *path, const char *text, char *err, size_t errlen)
{
	char *dir = strdup(path), *base = strdup(path);
	int rc = dir && base ? 0 : -ENOMEM;
	if (rc == 0)
		rc = hnv_write_atomic(dirname(dir), basename(base), text, strlen(text), 0644, ".");
	if (rc == -ENOMEM)
		hnv_seterr(err, errlen, "bgp: out of memory");
	else if (rc < 0)
		hnv_seterr(err, errlen, "bgp: cannot write %s: %s", path, strerror(-rc));
	free(dir);
	free(base);
	return rc;
}

/* ---- bgpd's vty ---- */

#define VTY_TIMEOUT_MS (HNV_BGP_VTY_TIMEOUT * 1000)

int hnv_bgp_vty_show(const struct hnv_bgp_opts *o, const char *cmd, int timeout_ms, size_t max_out,
		     char **out)
{
	struct hnv_vty *v;
	char err[256];
	*out = NULL;
	int64_t deadline = hnv_mono_ms() + timeout_ms;
	int status, rc = hnv_vty_open(o->vty_dir, o->pathspace, "bgpd", timeout_ms, &v, err,
				      sizeof(err));
	int64_t left = deadline - hnv_mono_ms();
	if (rc == 0)
		rc = left > 0 ? hnv_vty_run(v, cmd, (int)left, max_out, out, &status) : -ETIMEDOUT;
	hnv_vty_close(v);
	if (rc == 0 && status != 0) {
		free(*out);
		*out = NULL;
		return status;
	}
	return rc;
}

/* bgpd's message: the lines of out that say something, joined by "; "
 * into buf. */
static void vty_msg(const char *out, char *buf, size_t len)
{
	size_t k = 0;
	buf[0] = 0;
	const char *p = out ? out : "";
	while (*p) {
		const char *e = strchrnul(p, '\n');
		size_t n = (size_t)(e - p);
		if (n && k + 3 < len) {
			int w = snprintf(buf + k, len - k, "%s%.*s", k ? "; " : "", (int)n, p);
			k = w > 0 ? k + (size_t)w : k;
			if (k >= len)
				k = len - 1;
		}
		p = *e ? e + 1 : e;
	}
}

/* ---- the running configuration, and the fragment, as blocks ---- */

/* A block of the running configuration or the fragment: a `router bgp`
 * instance (kind BLK_BGP, key its VRF), a route-map entry of ours
 * (BLK_RMAP, key "NAME permit|deny SEQ": only in the running
 * configuration, left by an hnvgwd that wrote route-maps, and removed) or
 * our prefix-list lines, all in one block (BLK_PLIST, key "", lines
 * without context). */
enum {
	BLK_BGP,
	BLK_RMAP,
	BLK_PLIST
};

struct block {
	int kind;
	uint32_t as;
	char vrf[192];
	char **lines; /* "CONTEXT\x1fLINE": CONTEXT is "" or the address family */
	size_t n, cap;
	bool keep;
};

struct blocks {
	struct block *b;
	size_t n, cap;
	bool oom;
	size_t *idx; /* b's indices by kind and key (blocks_index), for find_block */
};

static void blocks_free(struct blocks *bs)
{
	for (size_t i = 0; i < bs->n; i++) {
		for (size_t j = 0; j < bs->b[i].n; j++)
			free(bs->b[i].lines[j]);
		free(bs->b[i].lines);
	}
	free(bs->b);
	free(bs->idx);
	bs->b = NULL;
	bs->idx = NULL;
	bs->n = bs->cap = 0;
}

static void block_line(struct blocks *bs, struct block *b, const char *ctx, const char *l, size_t n)
{
	char *s = NULL;
	if (HNV_GROW(b->lines, b->cap, b->n + 1) ||
	    asprintf(&s, "%s\x1f%.*s", ctx, (int)n, l) < 0) {
		bs->oom = true;
		return;
	}
	b->lines[b->n++] = s;
}

/* Collects the `router bgp` blocks of text (bgpd's running configuration
 * or our fragment). Lines are taken without indentation; "!" and the
 * address-family brackets become the context of the lines between them. */
static struct block *new_block(struct blocks *bs, int kind, const char *key, size_t klen)
{
	if (HNV_GROW(bs->b, bs->cap, bs->n + 1))
		return NULL;
	struct block *b = &bs->b[bs->n++];
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	snprintf(b->vrf, sizeof(b->vrf), "%.*s", (int)klen, key);
	return b;
}

static bool starts(const char *l, size_t n, const char *pfx)
{
	size_t k = strlen(pfx);
	return n > k && strncmp(l, pfx, k) == 0;
}

static int block_cmp(const struct block *b, int kind, const char *key)
{
	return b->kind != kind ? (b->kind > kind) - (b->kind < kind) : strcmp(b->vrf, key);
}

static int block_idx_cmp(const void *x, const void *y, void *arg)
{
	const struct block *b = arg;
	const struct block *p = &b[*(const size_t *)x], *q = &b[*(const size_t *)y];
	int c = block_cmp(p, q->kind, q->vrf);
	return c ? c : (p > q) - (p < q);
}

/* Sorts bs's indices for find_block (by bisection: with 1,000 tenants a
 * scan per block was a million comparisons per apply). */
static int blocks_index(struct blocks *bs)
{
	free(bs->idx);
	if ((bs->idx = calloc(bs->n + 1, sizeof(*bs->idx))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < bs->n; i++)
		bs->idx[i] = i;
	qsort_r(bs->idx, bs->n, sizeof(*bs->idx), block_idx_cmp, bs->b);
	return 0;
}

/* The first block of that kind and key (blocks_index must have run). */
static const struct block *find_block(const struct blocks *bs, int kind, const char *key)
{
	size_t lo = 0, hi = bs->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (block_cmp(&bs->b[bs->idx[mid]], kind, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < bs->n && block_cmp(&bs->b[bs->idx[lo]], kind, key) == 0)
		return &bs->b[bs->idx[lo]];
	return NULL;
}

static int parse_blocks(const char *text, struct blocks *bs)
{
	struct block *cur = NULL, *plist = NULL;
	char ctx[64] = "";
	const char *p = text;
	while (*p) {
		const char *e = strchrnul(p, '\n');
		const char *l = p;
		while (l < e && *l == ' ')
			l++;
		size_t n = (size_t)(e - l);
		while (n && (l[n - 1] == ' ' || l[n - 1] == '\r'))
			n--;
		if (cur == NULL && l == p && n > 11 && strncmp(l, "router bgp ", 11) == 0) {
			char line[128];
			snprintf(line, sizeof(line), "%.*s", (int)n, l);
			unsigned long as;
			char vrf[64] = "", rest[2];
			int k = sscanf(line, "router bgp %lu vrf %63s %1s", &as, vrf, rest);
			if (k >= 1 && k <= 2 && as > 0 && as <= UINT32_MAX) {
				if ((cur = new_block(bs, BLK_BGP, vrf, strlen(vrf))) == NULL)
					return -ENOMEM;
				cur->as = (uint32_t)as;
				ctx[0] = 0;
			}
		} else if (cur == NULL && l == p &&
			   starts(l, n, "route-map " HNV_BGP_POLICY_PREFIX)) {
			if ((cur = new_block(bs, BLK_RMAP, l + 10, n - 10)) == NULL)
				return -ENOMEM;
			ctx[0] = 0;
		} else if (cur == NULL && l == p &&
			   (starts(l, n, "ip prefix-list " HNV_BGP_POLICY_PREFIX) ||
			    starts(l, n, "ipv6 prefix-list " HNV_BGP_POLICY_PREFIX))) {
			if (plist == NULL && (plist = new_block(bs, BLK_PLIST, "", 0)) == NULL)
				return -ENOMEM;
			block_line(bs, plist, "", l, n);
		} else if (cur && l == p && n == 4 && strncmp(l, "exit", 4) == 0) {
			cur = NULL;
		} else if (cur && n > 15 && strncmp(l, "address-family ", 15) == 0) {
			snprintf(ctx, sizeof(ctx), "%.*s", (int)(n - 15), l + 15);
		} else if (cur && n == 19 && strncmp(l, "exit-address-family", 19) == 0) {
			ctx[0] = 0;
		} else if (cur && n > 0 && l[0] != '!') {
			block_line(bs, cur, ctx, l, n);
		}
		p = *e ? e + 1 : e;
	}
	return bs->oom ? -ENOMEM : blocks_index(bs);
}

static bool has_line(const struct block *b, const char *s)
{
	for (size_t i = 0; b && i < b->n; i++)
		if (strcmp(b->lines[i], s) == 0)
			return true;
	return false;
}

/* The neighbor a line is about ("neighbor X ..."), copied to buf. */
static bool line_neighbor(const char *line, char *buf, size_t len)
{
	if (strncmp(line, "neighbor ", 9) != 0)
		return false;
	const char *s = line + 9, *e = strchrnul(s, ' ');
	snprintf(buf, len, "%.*s", (int)(e - s), s);
	return true;
}

/* The command that undoes line: "no LINE", or LINE without its "no ". */
static void add_negation(struct hnv_buf *o, const char *indent, const char *line)
{
	bool neg = strncmp(line, "no ", 3) == 0;
	hnv_buf_printf(o, "%s %s%s\n", indent, neg ? "" : "no ", neg ? line + 3 : line);
}

/* A line about a neighbor that the wanted block w drops entirely (its
 * remote-as line is gone from w): `no neighbor X remote-as` removes all of
 * it, and a later `no` for another of its lines would fail. */
static bool neighbor_gone(const struct block *r, const struct block *w, const char *line)
{
	char nb[64], key[128];
	if (!line_neighbor(line, nb, sizeof(nb)))
		return false;
	snprintf(key, sizeof(key), "\x1fneighbor %s remote-as ", nb);
	for (size_t j = 0; j < r->n; j++)
		if (strncmp(r->lines[j], key, strlen(key)) == 0 && !has_line(w, r->lines[j]))
			return true;
	return false;
}

/* Removal commands for a wanted instance: lines of the running block r
 * that the wanted block w does not have. Address-family lines come first,
 * leaving out those about neighbors that are removed as a whole. */
static void negate_block(struct script *s, const struct block *r, const struct block *w,
			 const char *tenant)
{
	struct hnv_buf *o = &s->t;
	bool any = false;
	for (size_t i = 0; i < r->n && !any; i++)
		any = !has_line(w, r->lines[i]);
	if (!any)
		return;
	script_label(s, "tenant %s (router bgp %u vrf %s)", tenant, r->as, r->vrf);
	hnv_buf_printf(o, "router bgp %u vrf %s\n", r->as, r->vrf);
	char open_ctx[64] = "";
	for (size_t i = 0; i < r->n; i++) {
		const char *ctx = r->lines[i], *line = strchr(ctx, '\x1f') + 1;
		size_t clen = (size_t)(line - 1 - ctx);
		if (clen == 0 || has_line(w, r->lines[i]))
			continue;
		if (neighbor_gone(r, w, line))
			continue;
		if (strlen(open_ctx) != clen || strncmp(open_ctx, ctx, clen) != 0) {
			if (open_ctx[0])
				hnv_buf_printf(o, " exit-address-family\n");
			snprintf(open_ctx, sizeof(open_ctx), "%.*s", (int)clen, ctx);
			hnv_buf_printf(o, " address-family %s\n", open_ctx);
		}
		add_negation(o, " ", line);
	}
	if (open_ctx[0])
		hnv_buf_printf(o, " exit-address-family\n");
	for (size_t i = 0; i < r->n; i++) {
		const char *line = r->lines[i] + 1;
		if (r->lines[i][0] != '\x1f' || has_line(w, r->lines[i]))
			continue;
		/* a removed neighbor: its remote-as line removes it all */
		if (neighbor_gone(r, w, line) && !strstr(line, " remote-as "))
			continue;
		add_negation(o, "", line);
	}
	hnv_buf_printf(o, "exit\n");
}

/* Removal commands for our route-map entries and prefix-list lines that
 * the fragment no longer has (names HNV_BGP_POLICY_PREFIX: only ours were
 * collected). The fragment has no route-maps since hnvgwd filters with
 * prefix-lists alone: those of an earlier hnvgwd go. A route-map entry
 * whose header stays loses only its lines. */
static void negate_policies(struct script *s, const struct blocks *run, const struct blocks *want)
{
	struct hnv_buf *o = &s->t;
	for (size_t i = 0; i < run->n; i++) {
		const struct block *r = &run->b[i];
		if (r->kind != BLK_RMAP)
			continue;
		const struct block *w = find_block(want, BLK_RMAP, r->vrf);
		if (w == NULL) {
			script_label(s, "route-map %s", r->vrf);
			hnv_buf_printf(o, "no route-map %s\n", r->vrf);
			continue;
		}
		bool any = false;
		for (size_t j = 0; j < r->n; j++) {
			if (has_line(w, r->lines[j]))
				continue;
			if (!any) {
				script_label(s, "route-map %s", r->vrf);
				hnv_buf_printf(o, "route-map %s\n", r->vrf);
				any = true;
			}
			add_negation(o, "", strchr(r->lines[j], '\x1f') + 1);
		}
		if (any)
			hnv_buf_printf(o, "exit\n");
	}
	const struct block *r = find_block(run, BLK_PLIST, "");
	const struct block *w = find_block(want, BLK_PLIST, "");
	for (size_t j = 0; r && j < r->n; j++) {
		if (has_line(w, r->lines[j]))
			continue;
		script_label(s, "prefix-list line %s", r->lines[j] + 1);
		add_negation(o, "", r->lines[j] + 1);
	}
}

/* Whether every line of the wanted block w is in force in run. */
static bool block_in_force(const struct block *w, const struct blocks *run)
{
	const struct block *r = find_block(run, w->kind, w->vrf);
	if (r == NULL || r->as != w->as)
		return false;
	for (size_t j = 0; j < w->n; j++)
		if (!has_line(r, w->lines[j]))
			return false;
	return true;
}

/* The end of the block that starts at the line p: after its "exit" line,
 * or the end of the text. */
static const char *block_end(const char *p)
{
	const char *x = p;
	while (*x) {
		const char *e = strchrnul(x, '\n');
		bool exit_line = e - x == 4 && strncmp(x, "exit", 4) == 0;
		x = *e ? e + 1 : e;
		if (exit_line)
			break;
	}
	return x;
}

/* The parts of the fragment text frag that run lacks, in the fragment's
 * order, into add: each `router bgp` instance that is missing or lacks a
 * line, whole, and each missing prefix-list line. How
 * many parts that is, in *n_parts, of the fragment's *n_all. A commit that
 * adds one tenant to 1,000 sends bgpd that tenant's dozen lines, not the
 * 12,000 of the whole fragment. */
static void missing_parts(const char *frag, const struct blocks *want, const struct blocks *run,
			  struct script *add, size_t *n_parts, size_t *n_all)
{
	const char *p = frag;
	const size_t plen = strlen(HNV_BGP_VRF_PREFIX);
	const struct block *plist = find_block(run, BLK_PLIST, "");
	*n_parts = *n_all = 0;
	while (*p && !add->t.oom) {
		const char *e = strchrnul(p, '\n');
		size_t n = (size_t)(e - p);
		const char *next = *e ? e + 1 : e;
		bool bgp = starts(p, n, "router bgp ");
		if (starts(p, n, "ip prefix-list ") || starts(p, n, "ipv6 prefix-list ")) {
			char *line = NULL;
			(*n_all)++;
			if (asprintf(&line, "\x1f%.*s", (int)n, p) < 0) {
				add->t.oom = true;
				return;
			}
			if (!has_line(plist, line)) {
				(*n_parts)++;
				script_label(add, "prefix-list line %.*s", (int)n, p);
				hnv_buf_printf(&add->t, "%.*s\n", (int)n, p);
			}
			free(line);
		} else if (bgp) {
			char line[256], vrf[64] = "";
			unsigned long as = 0;
			const struct block *w = NULL;
			snprintf(line, sizeof(line), "%.*s", (int)n, p);
			if (sscanf(line, "router bgp %lu vrf %63s", &as, vrf) == 2)
				w = find_block(want, BLK_BGP, vrf);
			next = block_end(next);
			(*n_all)++;
			if (w == NULL || !block_in_force(w, run)) {
				(*n_parts)++;
				if (strncmp(vrf, HNV_BGP_VRF_PREFIX, plen) == 0)
					script_label(add, "tenant %s (router bgp %lu vrf %s)",
						     vrf + plen, as, vrf);
				else
					script_label(add, "%s", line);
				hnv_buf_printf(&add->t, "%.*s", (int)(next - p), p);
				if (next > p && next[-1] != '\n')
					hnv_buf_printf(&add->t, "\n");
			}
		}
		p = next;
	}
}

/* Sends the lines of s to bgpd in configuration mode, as vtysh -f would
 * (every line, one refused or not; comments and empty lines are not
 * sent). On failure err names the owner of the first line bgpd refused,
 * with its line number in s, and quotes bgpd.
 *
 * bgpd 8.4 commits each prefix-list line on its own (a northbound
 * transaction that compares the whole candidate configuration), so a
 * line costs in proportion to the prefix-lists there are: 1,000 tenants'
 * 3,000 lines took 27 s of bgpd's 32 s, natively. Past BGP_BATCH_PLISTS
 * such lines the script is bracketed as vtysh brackets a configuration
 * file (XFRR_start_configuration ... XFRR_end_configuration): the lines
 * are kept pending and committed together, at the next command that is
 * not a northbound one or at the end (the 1,000 tenants: 5.9 s). bgpd
 * then holds the peers created meanwhile until 1 s after the end, which
 * a small change (a tenant taken over) does not wait for. */
#define BGP_BATCH_PLISTS 32

/* Where bgpd's time goes in a long script: the lines by kind, and the
 * commit of the pending lines at the end of a batch. Logged for scripts
 * of more than BGP_TIMING_LINES lines, so that an operator (and the
 * scale bench) can tell instances from neighbors from filters. */
#define BGP_TIMING_LINES 200
enum line_kind {
	LK_INSTANCE,
	LK_NEIGHBOR,
	LK_NETWORK,
	LK_PLIST,
	LK_AF,
	LK_OTHER,
	LK__COUNT
};
static const char *const line_kind_name[LK__COUNT] = {"router bgp",  "neighbor",       "network",
						      "prefix-list", "address-family", "other"};
struct script_timing {
	int64_t us[LK__COUNT];
	unsigned long n[LK__COUNT];
	int64_t commit_us; /* XFRR_end_configuration: the pending lines' commit */
};

static enum line_kind line_kind(const char *cmd)
{
	const char *c = cmd + strspn(cmd, " ");
	if (strncmp(c, "no ", 3) == 0)
		c += 3;
	if (strncmp(c, "router bgp ", 11) == 0)
		return LK_INSTANCE;
	if (strncmp(c, "neighbor ", 9) == 0)
		return LK_NEIGHBOR;
	if (strncmp(c, "network ", 8) == 0)
		return LK_NETWORK;
	if (strncmp(c, "ip prefix-list ", 15) == 0 || strncmp(c, "ipv6 prefix-list ", 17) == 0)
		return LK_PLIST;
	if (strncmp(c, "address-family ", 15) == 0 || strcmp(c, "exit-address-family") == 0)
		return LK_AF;
	return LK_OTHER;
}

/* "bgp: applying: LINES lines in T s (router bgp T s/N, neighbor T s/N,
 * ...); commit of the batch T s": N lines of a kind took T s in all. */
static void log_timing(const struct script_timing *tm, const char *what, unsigned long lines,
		       int64_t total_us)
{
	char kinds[384] = "";
	size_t o = 0;
	for (int k = 0; k < LK__COUNT; k++) {
		if (!tm->n[k] || o >= sizeof(kinds))
			continue;
		int w = snprintf(kinds + o, sizeof(kinds) - o, "%s%s %.2f s/%lu", o ? ", " : "",
				 line_kind_name[k], (double)tm->us[k] / 1e6, tm->n[k]);
		o += w > 0 ? (size_t)w : 0;
	}
	char commit[64] = "";
	if (tm->commit_us >= 0)
		snprintf(commit, sizeof(commit), "; commit of the batch %.2f s",
			 (double)tm->commit_us / 1e6);
	hnv_log(HNV_LOG_INFO, "bgp: %s: %lu lines in %.1f s (%s)%s", what, lines,
		(double)total_us / 1e6, kinds, commit);
}

/* Lines in flight to bgpd (hnv_vty_run_many): bgpd reads 512 bytes of
 * its socket a turn (about ten lines). Under TCG each line sent alone
 * cost 18-57 ms of waiting for bgpd's next turn, even `exit`: 1,000
 * tenants' 15,000 lines took 359 s. */
#define BGP_WINDOW 64

/* run_script's state for the replies */
struct script_run {
	const unsigned long *lineno; /* the script's line of each sent line */
	const char *const *cmds;
	unsigned long bad; /* the first refused line, 0: none */
	char msg[512];     /* bgpd's message about it */
	struct script_timing tm;
	int64_t last_us; /* when the previous reply came */
};

/* A reply to the i-th line sent: the first refusal is kept, and the
 * time since the reply before counts for the line's kind. */
static void script_reply(void *arg, size_t i, int status, const char *out)
{
	struct script_run *sr = arg;
	if (status != 0 && !sr->bad) {
		sr->bad = sr->lineno[i];
		vty_msg(out, sr->msg, sizeof(sr->msg));
	}
	int64_t now = hnv_mono_us();
	enum line_kind k = line_kind(sr->cmds[i]);
	sr->tm.us[k] += now - sr->last_us;
	sr->tm.n[k]++;
	sr->last_us = now;
}

/* The lines of s to send (not comments or empty ones): sl->cmds[i]
 * points into sl->copy (s's text, the lines NUL-terminated), from s's
 * line sl->lineno[i]; sl->n_plist of them are prefix-list lines. */
struct script_lines {
	char *copy;
	const char **cmds;
	unsigned long *lineno;
	size_t n, n_plist;
	unsigned long lines; /* of s, all */
};

static void script_lines_free(struct script_lines *sl)
{
	free(sl->copy);
	free(sl->cmds);
	free(sl->lineno);
}

static int script_lines(const struct script *s, const char *what, struct script_lines *sl,
			char *err, size_t errlen)
{
	*sl = (struct script_lines){.copy = strdup(s->t.p ? s->t.p : "")};
	size_t cap = 1;
	for (const char *c = sl->copy; c && *c; c++)
		cap += *c == '\n';
	sl->cmds = calloc(cap, sizeof(*sl->cmds));
	sl->lineno = calloc(cap, sizeof(*sl->lineno));
	if (!sl->copy || !sl->cmds || !sl->lineno) {
		hnv_seterr(err, errlen, "bgp: out of memory");
		return -ENOMEM;
	}
	unsigned long line = 0;
	for (char *p = sl->copy; *p;) {
		char *e = strchrnul(p, '\n');
		size_t n = (size_t)(e - p), sp = strspn(p, " ");
		bool last = *e == '\0';
		*e = '\0';
		line++;
		if (sp < n && p[sp] != '!') {
			if (n >= HNV_VTY_CMD_MAX) {
				hnv_seterr(err, errlen,
					   "bgp: %s: %s: line %lu is too long for bgpd's vty",
					   script_owner(s, line), what, line);
				return -EINVAL;
			}
			sl->n_plist += line_kind(p) == LK_PLIST;
			sl->cmds[sl->n] = p;
			sl->lineno[sl->n++] = line;
		}
		p = last ? e : e + 1;
	}
	sl->lines = line;
	return 0;
}

static int run_script(struct hnv_vty *v, const struct script *s, const char *what, char *err,
		      size_t errlen)
{
	char *out = NULL;
	struct script_run sr = {.tm = {.commit_us = -1}};
	int64_t t_start = hnv_mono_us();
	struct script_lines sl;
	int rc = script_lines(s, what, &sl, err, errlen);
	if (rc < 0) {
		script_lines_free(&sl);
		return rc;
	}
	size_t sent = sl.n;
	unsigned long line = sl.lines;
	bool batch = sl.n_plist > BGP_BATCH_PLISTS;
	sr.cmds = sl.cmds;
	sr.lineno = sl.lineno;
	int status = 0;
	rc = hnv_vty_run(v, "configure terminal", VTY_TIMEOUT_MS, 4096, NULL, &status);
	if (rc == 0 && status == 0 && batch)
		rc = hnv_vty_run(v, "XFRR_start_configuration", VTY_TIMEOUT_MS, 4096, NULL,
				 &status);
	if (rc == 0 && status != 0) {
		hnv_seterr(err, errlen, "bgp: %s: bgpd refused `configure terminal`%s (status %d)",
			   what, batch ? " or `XFRR_start_configuration`" : "", status);
		script_lines_free(&sl);
		return -EIO;
	}
	sr.last_us = hnv_mono_us();
	if (rc == 0)
		rc = hnv_vty_run_many(v, sl.cmds, sent, BGP_WINDOW, VTY_TIMEOUT_MS, OUT_MAX,
				      script_reply, &sr);
	/* the line of a lost connection: after the last one answered */
	size_t answered = 0;
	for (int k = 0; k < LK__COUNT; k++)
		answered += sr.tm.n[k];
	line = answered < sent ? sl.lineno[answered] : line;
	unsigned long bad = sr.bad;
	script_lines_free(&sl);
	bool end_refused = false; /* the pending lines' commit */
	if (rc == 0 && batch) {
		int64_t t0 = hnv_mono_us();
		rc = hnv_vty_run(v, "XFRR_end_configuration", VTY_TIMEOUT_MS, OUT_MAX, &out,
				 &status);
		sr.tm.commit_us = hnv_mono_us() - t0;
		/* After a refused line, msg already says why. */
		if (rc == 0 && status != 0 && !bad) {
			end_refused = true;
			vty_msg(out, sr.msg, sizeof(sr.msg));
		}
		free(out);
		out = NULL;
	}
	if (rc == 0)
		rc = hnv_vty_run(v, "end", VTY_TIMEOUT_MS, 4096, NULL, &status);
	if (sent > BGP_TIMING_LINES)
		log_timing(&sr.tm, what, sent, hnv_mono_us() - t_start);
	if (rc) {
		hnv_seterr(err, errlen, "bgp: %s: bgpd's vty at line %lu: %s", what, line,
			   strerror(-rc));
		return rc;
	}
	if (end_refused) {
		hnv_seterr(err, errlen, "bgp: %s: bgpd refused the prefix-lists: \"%s\"", what,
			   sr.msg);
		return -EIO;
	}
	if (!bad)
		return 0;
	hnv_seterr(err, errlen, "bgp: %s: %s: bgpd: \"line %lu: %s\"", script_owner(s, bad), what,
		   bad, sr.msg);
	return -EIO;
}

/* bgpd's running configuration into *rcfg and its blocks into run (both
 * emptied first). */
static int read_running(struct hnv_vty *v, char **rcfg, struct blocks *run, char *err,
			size_t errlen)
{
	blocks_free(run);
	free(*rcfg);
	*rcfg = NULL;
	int status = 0,
	    rc = hnv_vty_run(v, "show running-config", VTY_TIMEOUT_MS, OUT_MAX, rcfg, &status);
	if (rc != 0 || status != 0) {
		char msg[512];
		vty_msg(*rcfg, msg, sizeof(msg));
		hnv_seterr(err, errlen, "bgp: cannot read bgpd's running configuration: %s",
			   rc ? strerror(-rc) : msg);
		return rc ? rc : -EIO;
	}
	if (parse_blocks(*rcfg, run) < 0) {
		hnv_seterr(err, errlen, "bgp: out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of b (BLK_PLIST; NULL: none), sorted, in a new array. */
static const char **sorted_lines(const struct block *b, size_t *n)
{
	*n = b ? b->n : 0;
	const char **v = malloc((*n + 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < *n; i++)
		v[i] = b->lines[i];
	qsort(v, *n, sizeof(*v), cmp_str);
	return v;
}

/* A list name inside a prefix-list line of a block. */
struct name_span {
	const char *p;
	size_t n;
};

static int cmp_span(const void *a, const void *b)
{
	const struct name_span *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* The names of changed in lists (changed_in_lists), sorted for bsearch. */
struct in_names {
	struct name_span *v;
	size_t n, cap;
};

/* Adds to names the list name of a prefix-list line ("\x1fip prefix-list
 * NAME seq ...") when it is an in list (NAME ends with ":in"). */
static int add_in_name(struct in_names *names, const char *line)
{
	const char *s = strstr(line, " prefix-list ");
	if (s == NULL)
		return 0;
	s += 13;
	const char *e = strchrnul(s, ' ');
	if (e - s <= 3 || strncmp(e - 3, ":in", 3) != 0)
		return 0;
	if (HNV_GROW(names->v, names->cap, names->n + 1))
		return -ENOMEM;
	names->v[names->n++] = (struct name_span){s, (size_t)(e - s)};
	return 0;
}

/* The names of our in lists whose lines differ between the running block
 * r and the wanted block w (BLK_PLIST; either may be NULL), sorted into
 * names (they point into the blocks' lines): both blocks' lines sorted and
 * merged, so a commit of 1,000 tenants compares each line once. */
static int changed_in_lists(const struct block *r, const struct block *w, struct in_names *names)
{
	size_t nr, nw, i = 0, j = 0;
	const char **a = sorted_lines(r, &nr), **b = sorted_lines(w, &nw);
	int rc = a && b ? 0 : -ENOMEM;
	while (rc == 0 && (i < nr || j < nw)) {
		int c = i == nr ? 1 : j == nw ? -1 : strcmp(a[i], b[j]);
		if (c == 0) {
			i++;
			j++;
		} else {
			rc = add_in_name(names, c < 0 ? a[i++] : b[j++]);
		}
	}
	free(a);
	free(b);
	if (names->n)
		qsort(names->v, names->n, sizeof(*names->v), cmp_span);
	return rc;
}

/* The neighbor addr of instance vrf runs in bgpd (r: the running blocks). */
static bool neighbor_runs(const struct blocks *run, const char *vrf, const char *addr)
{
	const struct block *b = find_block(run, BLK_BGP, vrf);
	char key[128];
	snprintf(key, sizeof(key), "\x1fneighbor %s remote-as ", addr);
	for (size_t j = 0; b && j < b->n; j++)
		if (strncmp(b->lines[j], key, strlen(key)) == 0)
			return true;
	return false;
}

/* bgpd 8.4 applies a changed prefix-list to what a neighbor sends from
 * then on, and to what it announces, but not to the routes it has
 * accepted or refused already. `clear bgp vrf V ADDR soft in` filters
 * those again from the neighbor's Adj-RIB-In (soft-reconfiguration
 * inbound), without resetting the session. The commands for each named
 * neighbor that runs in bgpd (run: the running blocks before the apply)
 * and whose in list the fragment (want) changes, one per line into o. */
static int soft_in_cmds(const struct hnv_bgp_tenant *t, size_t n, const struct blocks *run,
			const struct blocks *want, struct hnv_buf *o)
{
	struct in_names names = {0};
	int rc = changed_in_lists(find_block(run, BLK_PLIST, ""), find_block(want, BLK_PLIST, ""),
				  &names);
	for (size_t i = 0; rc == 0 && names.n && i < n; i++) {
		char vrf[192];
		snprintf(vrf, sizeof(vrf), HNV_BGP_VRF_PREFIX "%s", t[i].vrf);
		for (size_t j = 0; j < t[i].n_neighbors; j++) {
			const struct hnv_bgp_neighbor *nb = &t[i].neighbors[j];
			char a[INET6_ADDRSTRLEN], name[192];
			if (nb->name == NULL)
				continue;
			hnv_fmt_ip(&nb->addr, a, sizeof(a));
			if (!neighbor_runs(run, vrf, a))
				continue;
			int k = snprintf(name, sizeof(name), HNV_BGP_POLICY_PREFIX "%s:%s:in",
					 t[i].vrf, nb->name);
			struct name_span key = {name, (size_t)k};
			if (k > 0 && (size_t)k < sizeof(name) &&
			    bsearch(&key, names.v, names.n, sizeof(key), cmp_span))
				hnv_buf_printf(o, "clear bgp vrf %s %s soft in\n", vrf, a);
		}
	}
	free(names.v);
	return rc ? rc : o->oom ? -ENOMEM : 0;
}

/* Runs each line of cmds (soft_in_cmds) as a command to bgpd. */
static int run_soft_in(struct hnv_vty *v, const char *cmds, char *err, size_t errlen)
{
	for (const char *p = cmds; p && *p;) {
		const char *e = strchrnul(p, '\n');
		char cmd[320], *out = NULL;
		snprintf(cmd, sizeof(cmd), "%.*s", (int)(e - p), p);
		p = *e ? e + 1 : e;
		int status = 0, rc = hnv_vty_run(v, cmd, VTY_TIMEOUT_MS, OUT_MAX, &out, &status);
		if (rc == 0 && status != 0)
			rc = status;
		if (rc != 0) {
			char msg[256];
			vty_msg(out ? out : "", msg, sizeof(msg));
			hnv_seterr(err, errlen,
				   "bgp: a changed in list applies to new routes only: `%s` "
				   "failed: %s",
				   cmd, rc < 0 ? strerror(-rc) : msg);
			free(out);
			return rc < 0 ? rc : -EIO;
		}
		free(out);
	}
	return 0;
}

int hnv_bgp_apply(const struct hnv_bgp_opts *o, const struct hnv_bgp_tenant *t, size_t n, char *err,
		  size_t errlen)
{
	const char *path = o->path ? o->path : HNV_BGP_DEFAULT_PATH;
	struct script frag = {0}, undo = {0}, add = {0}, soft = {0};
	struct blocks want = {0}, run = {0};
	struct hnv_vty *v = NULL;
	char *rcfg = NULL;
	int rc = render(t, n, &frag, err, errlen);
	if (rc < 0)
		goto out;
	if ((rc = parse_blocks(frag.t.p, &want)) < 0)
		goto oom;

	char e[384];
	if ((rc = hnv_vty_open(o->vty_dir, o->pathspace, "bgpd", VTY_TIMEOUT_MS, &v, e,
			       sizeof(e))) < 0) {
		hnv_seterr(err, errlen, "bgp: cannot read bgpd's running configuration: %s", e);
		goto out;
	}
	if ((rc = read_running(v, &rcfg, &run, err, errlen)) < 0)
		goto out;

	/* Instances of ours that go, then lines that go. */
	hnv_buf_printf(&undo.t, "! removals: generated by hnvgwd\n");
	const size_t plen = strlen(HNV_BGP_VRF_PREFIX);
	for (size_t i = 0; i < run.n; i++) {
		const struct block *r = &run.b[i];
		if (r->kind != BLK_BGP || strncmp(r->vrf, HNV_BGP_VRF_PREFIX, plen) != 0)
			continue;
		const struct block *w = find_block(&want, BLK_BGP, r->vrf);
		if (w && w->as == r->as)
			continue;
		script_label(&undo, "instance router bgp %u vrf %s", r->as, r->vrf);
		hnv_buf_printf(&undo.t, "no router bgp %u vrf %s\n", r->as, r->vrf);
	}
	for (size_t i = 0; i < run.n; i++) {
		const struct block *r = &run.b[i];
		if (r->kind != BLK_BGP || strncmp(r->vrf, HNV_BGP_VRF_PREFIX, plen) != 0)
			continue;
		const struct block *w = find_block(&want, BLK_BGP, r->vrf);
		if (w && w->as == r->as)
			negate_block(&undo, r, w, r->vrf + plen);
	}
	/* then filters: after the neighbors that used them */
	negate_policies(&undo, &run, &want);
	if (undo.t.oom || frag.t.oom)
		goto oom;
	if (soft_in_cmds(t, n, &run, &want, &soft.t) < 0)
		goto oom;

	if ((rc = hnv_bgp_write(path, frag.t.p, err, errlen)) < 0)
		goto out;
	if (undo.n_labels && (rc = run_script(v, &undo, "removing", err, errlen)) < 0)
		goto out;
	/* What the removals took away is read again: only what is missing
	 * then is sent. Nothing missing (a bgpd that loaded the fragment
	 * itself at start, or an unchanged configuration): nothing is sent to
	 * compete with its sessions coming up. */
	if (undo.n_labels && (rc = read_running(v, &rcfg, &run, err, errlen)) < 0)
		goto out;
	size_t n_parts, n_all;
	missing_parts(frag.t.p, &want, &run, &add, &n_parts, &n_all);
	if (add.t.oom)
		goto oom;
	rc = 0;
	if (n_parts == 0)
		goto applied;
	/* everything missing (bgpd started without it): the fragment itself,
	 * so that an error's line number is the fragment's */
	rc = run_script(v, n_parts == n_all ? &frag : &add, "applying", err, errlen);
applied:
	if (rc == 0)
		rc = run_soft_in(v, soft.t.p, err, errlen);
	goto out;
oom:
	hnv_seterr(err, errlen, "bgp: out of memory");
	rc = -ENOMEM;
out:
	hnv_vty_close(v);
	free(rcfg);
	blocks_free(&want);
	blocks_free(&run);
	script_free(&soft);
	script_free(&frag);
	script_free(&undo);
	script_free(&add);
	return rc;
}
