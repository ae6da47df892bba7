/* gwstate.c: the config model's gateway part as gateway/gw.h's desired
 * state (see gwstate.h). */
#include "gwstate.h"

#include "../../lib/log.h"
#include "../../lib/vec.h"
#include "../conftext.h"
#include "../model.h"

#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The config text and the gateway name their limits alike; a field that
 * changes size on one side breaks the build here, not a tenant. */
_Static_assert(sizeof(((struct hnv_gw_tenant *)0)->rdomain) ==
		       sizeof(((struct hnv_conf_gateway *)0)->rdomain),
	       "rdomain");
_Static_assert(sizeof(((struct hnv_gw_tenant *)0)->corp_dev) ==
		       sizeof(((struct hnv_conf_gateway *)0)->corp_dev),
	       "corp_dev");
_Static_assert(HNV_GW_VRF_NAME_MAX == HNV_VRF_NAME_MAX, "VRF name length");
_Static_assert(sizeof(((struct hnv_gw_ca *)0)->port) == HNV_DEV_MAX + 1, "gateway port name");
_Static_assert(sizeof(((struct hnv_gw_ca *)0)->rdomain) ==
		       sizeof(((struct hnv_conf_gateway_ca *)0)->rdomain),
	       "gateway CA rdomain");
_Static_assert(sizeof(((struct hnv_gw_vsubnet *)0)->prefixes) ==
		       sizeof(((struct hnv_conf_cmd *)0)->u.vsubnet.prefixes),
	       "vsubnet prefixes");
/* The tunnel: every field below is copied by name; one added to either
 * struct and not to the other changes its size. */
_Static_assert(sizeof(struct hnv_s2s_conf) == sizeof(struct hnv_conf_s2s), "s2s fields");
_Static_assert(sizeof(struct hnv_gw_conn) == sizeof(struct hnv_conf_conn), "connection fields");
_Static_assert(HNV_GW_CONN_GRE == (int)HNV_CONN_GRE && HNV_GW_CONN_L3 == (int)HNV_CONN_L3,
	       "connection types");

/* Copies the string src (an array of srclen bytes) into dst (dstlen
 * bytes), cut to fit; always terminated. */
static void copy_str(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t n = strnlen(src, srclen < dstlen - 1 ? srclen : dstlen - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}
#define COPY_STR(dst, src) copy_str((dst), sizeof(dst), (src), sizeof(src))

/* An array field of the same size on both sides. */
#define COPY_ARRAY(out, c, f)                                                                      \
	do {                                                                                       \
		_Static_assert(sizeof((out)->f) == sizeof((c)->f), #f);                            \
		memcpy((out)->f, (c)->f, sizeof((out)->f));                                        \
	} while (0)

static unsigned at_most(unsigned n, unsigned max)
{
	return n < max ? n : max;
}

void hnv_gwstate_s2s(const struct hnv_conf_s2s *c, struct hnv_s2s_conf *out)
{
	memset(out, 0, sizeof(*out));
	COPY_ARRAY(out, c, name);
	COPY_ARRAY(out, c, rdomain);
	out->peer = c->peer;
	out->has_local_addr = c->has_local_addr;
	out->local_addr = c->local_addr;
	COPY_ARRAY(out, c, local_id);
	COPY_ARRAY(out, c, remote_id);
	out->auth = c->auth == HNV_S2S_AUTH_CERT ? HNV_S2S_AUTHN_CERT : HNV_S2S_AUTHN_PSK;
	COPY_ARRAY(out, c, psk);
	COPY_ARRAY(out, c, cert);
	COPY_ARRAY(out, c, key);
	COPY_ARRAY(out, c, ca_cert);
	COPY_ARRAY(out, c, ike);
	COPY_ARRAY(out, c, esp);
	out->n_remote = at_most(c->n_remote, HNV_S2S_REMOTE_MAX);
	COPY_ARRAY(out, c, remote);
	out->dpd = c->dpd;
	out->n_local_netmap = at_most(c->n_local_netmap, HNV_S2S_NETMAP_MAX);
	out->n_remote_netmap = at_most(c->n_remote_netmap, HNV_S2S_NETMAP_MAX);
	for (unsigned i = 0; i < HNV_S2S_NETMAP_MAX; i++) {
		out->local_netmap[i].real = c->local_netmap[i].real;
		out->local_netmap[i].mapped = c->local_netmap[i].mapped;
		out->remote_netmap[i].real = c->remote_netmap[i].real;
		out->remote_netmap[i].mapped = c->remote_netmap[i].mapped;
	}
	out->peer_any = c->peer_any;
	COPY_ARRAY(out, c, peer_host);
	out->legacy_crypto = c->legacy_crypto;
	out->rate_out = c->rate_out;
	out->rate_in = c->rate_in;
	COPY_ARRAY(out, c, pool);
}

static int add_tenant(const struct hnv_conf_cmd *cmd, void *arg)
{
	struct hnv_gwstate *s = arg;
	const struct hnv_conf_gateway *c = &cmd->u.gateway;
	if (HNV_GROW(s->tenants, s->cap_tenants, s->n_tenants + 1))
		return -ENOMEM;
	struct hnv_gw_tenant *t = &s->tenants[s->n_tenants++];
	memset(t, 0, sizeof(*t));
	COPY_STR(t->rdomain, c->rdomain);
	COPY_STR(t->vrf, c->vrf);
	t->table = c->table;
	COPY_STR(t->corp_dev, c->corp_dev);
	t->has_nat_external = c->has_nat_external;
	t->nat_external = c->nat_external;
	t->has_corp_addr = c->has_corp_addr;
	t->corp_addr = c->corp_addr;
	t->has_corp_nexthop = c->has_corp_nexthop;
	t->corp_nexthop = c->corp_nexthop;
	t->bgp_asn = c->bgp_asn;
	t->bgp_peer = c->bgp_peer;
	t->bgp_peer_asn = c->bgp_peer_asn;
	return 0;
}

static int add_ca(const struct hnv_conf_cmd *cmd, void *arg)
{
	struct hnv_gwstate *s = arg;
	const struct hnv_conf_gateway_ca *c = &cmd->u.gateway_ca;
	if (HNV_GROW(s->cas, s->cap_cas, s->n_cas + 1))
		return -ENOMEM;
	struct hnv_gw_ca *ca = &s->cas[s->n_cas++];
	memset(ca, 0, sizeof(*ca));
	COPY_STR(ca->rdomain, c->rdomain);
	ca->vsid = c->vsid;
	ca->ca = c->ca;
	hnv_gateway_port(c->vsid, ca->port, &ca->port_mac);
	return 0;
}

static int add_vsubnet(const struct hnv_conf_cmd *cmd, void *arg)
{
	struct hnv_gwstate *s = arg;
	if (HNV_GROW(s->vsubnets, s->cap_vsubnets, s->n_vsubnets + 1))
		return -ENOMEM;
	struct hnv_gw_vsubnet *v = &s->vsubnets[s->n_vsubnets++];
	memset(v, 0, sizeof(*v));
	v->vsid = cmd->u.vsubnet.vsid;
	v->n_prefixes = at_most(cmd->u.vsubnet.n_prefixes, HNV_VSUBNET_MAX_PREFIXES);
	memcpy(v->prefixes, cmd->u.vsubnet.prefixes, sizeof(v->prefixes));
	return 0;
}

static int add_tunnel(const struct hnv_conf_cmd *cmd, void *arg)
{
	struct hnv_gwstate *s = arg;
	if (s->n_tunnels == s->cap_tunnels) {
		/* grown by hand: the old array holds PSKs and is cleared */
		size_t cap = s->cap_tunnels ? 2 * s->cap_tunnels : 8;
		struct hnv_s2s_conf *t = calloc(cap, sizeof(*t));
		if (t == NULL)
			return -ENOMEM;
		if (s->n_tunnels) {
			memcpy(t, s->tunnels, s->n_tunnels * sizeof(*t));
			explicit_bzero(s->tunnels, s->n_tunnels * sizeof(*t));
		}
		free(s->tunnels);
		s->tunnels = t;
		s->cap_tunnels = cap;
	}
	hnv_gwstate_s2s(&cmd->u.s2s, &s->tunnels[s->n_tunnels++]);
	return 0;
}

static int add_conn(const struct hnv_conf_cmd *cmd, void *arg)
{
	struct hnv_gwstate *s = arg;
	const struct hnv_conf_conn *c = &cmd->u.conn;
	if (HNV_GROW(s->conns, s->cap_conns, s->n_conns + 1))
		return -ENOMEM;
	struct hnv_gw_conn *o = &s->conns[s->n_conns++];
	memset(o, 0, sizeof(*o));
	COPY_ARRAY(o, c, name);
	o->type = c->type == HNV_CONN_GRE ? HNV_GW_CONN_GRE : HNV_GW_CONN_L3;
	COPY_ARRAY(o, c, rdomain);
	o->addr = c->addr;
	o->n_remote = at_most(c->n_remote, HNV_GW_CONN_REMOTE_MAX);
	COPY_ARRAY(o, c, remote);
	o->rate_out = c->rate_out;
	o->rate_in = c->rate_in;
	o->local = c->local;
	o->remote_addr = c->remote_addr;
	o->has_key = c->has_key;
	o->key = c->key;
	COPY_ARRAY(o, c, dev);
	o->vlan = c->vlan;
	o->nexthop = c->nexthop;
	return 0;
}

_Static_assert(HNV_BGP_PEER_PREFIXES_MAX == HNV_BGP_MATCH_MAX &&
		       HNV_NAME_MAX == HNV_BGP_PEER_NAME_MAX,
	       "a bgp-peer's filters and name fit the gateway's");

static void copy_matches(struct hnv_bgp_match *out, const struct hnv_conf_bgp_match *in, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		out[i].prefix = in[i].prefix;
		out[i].ge = in[i].ge;
		out[i].le = in[i].le;
	}
}

static int add_bgp_peer(const struct hnv_conf_cmd *cmd, void *arg)
{
	struct hnv_gwstate *s = arg;
	const struct hnv_conf_bgp_peer *c = &cmd->u.bgp_peer;
	if (HNV_GROW(s->bgp_peers, s->cap_bgp_peers, s->n_bgp_peers + 1))
		return -ENOMEM;
	struct hnv_gw_bgp_peer *p = &s->bgp_peers[s->n_bgp_peers++];
	memset(p, 0, sizeof(*p));
	COPY_STR(p->rdomain, c->rdomain);
	COPY_STR(p->name, c->name);
	p->addr = c->addr;
	p->asn = c->asn;
	p->has_source = c->has_source;
	p->source = c->source;
	p->n_in = at_most(c->n_in, HNV_BGP_MATCH_MAX);
	p->n_out = at_most(c->n_out, HNV_BGP_MATCH_MAX);
	copy_matches(p->in, c->in, p->n_in);
	copy_matches(p->out, c->out, p->n_out);
	return 0;
}

/* The groups of the model the gateway reads, each with its callback. */
static const struct {
	enum hnv_conf_kind kind;
	hnv_model_cb cb;
} groups[] = {
	{HNV_CONF_VSUBNET_ADD, add_vsubnet},   {HNV_CONF_GATEWAY_ADD, add_tenant},
	{HNV_CONF_GATEWAY_CA, add_ca},         {HNV_CONF_S2S_ADD, add_tunnel},
	{HNV_CONF_GRE_ADD, add_conn},          {HNV_CONF_L3_ADD, add_conn},
	{HNV_CONF_BGP_PEER_ADD, add_bgp_peer},
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Keeps the vsubnets that hold a gateway CA (in model order). */
static int keep_gateway_vsubnets(struct hnv_gwstate *s)
{
	uint32_t *vsids = malloc((s->n_cas + 1) * sizeof(*vsids));
	if (vsids == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_cas; i++)
		vsids[i] = s->cas[i].vsid;
	qsort(vsids, s->n_cas, sizeof(*vsids), cmp_u32);
	size_t n = 0;
	for (size_t i = 0; i < s->n_vsubnets; i++)
		if (bsearch(&s->vsubnets[i].vsid, vsids, s->n_cas, sizeof(*vsids), cmp_u32))
			s->vsubnets[n++] = s->vsubnets[i];
	s->n_vsubnets = n;
	free(vsids);
	return 0;
}

int hnv_gwstate_build(const struct hnv_model *m, struct hnv_gwstate *s)
{
	memset(s, 0, sizeof(*s));
	/* only the groups the gateway reads: its cost does not grow with the
	 * lookup records */
	int rc = 0;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]) && rc == 0; i++)
		rc = hnv_model_foreach_kind(m, groups[i].kind, groups[i].cb, s);
	if (rc == 0)
		rc = keep_gateway_vsubnets(s);
	if (rc < 0)
		hnv_gwstate_free(s);
	return rc;
}

void hnv_gwstate_desired(const struct hnv_gwstate *s, struct hnv_gw_desired *d)
{
	*d = (struct hnv_gw_desired){
		.tenants = s->tenants,
		.n_tenants = s->n_tenants,
		.cas = s->cas,
		.n_cas = s->n_cas,
		.vsubnets = s->vsubnets,
		.n_vsubnets = s->n_vsubnets,
		.tunnels = s->tunnels,
		.n_tunnels = s->n_tunnels,
		.conns = s->conns,
		.n_conns = s->n_conns,
		.bgp_peers = s->bgp_peers,
		.n_bgp_peers = s->n_bgp_peers,
	};
}

void hnv_gwstate_free(struct hnv_gwstate *s)
{
	if (s->tunnels)
		explicit_bzero(s->tunnels, s->cap_tunnels * sizeof(*s->tunnels));
	free(s->tenants);
	free(s->cas);
	free(s->vsubnets);
	free(s->tunnels);
	free(s->conns);
	free(s->bgp_peers);
	memset(s, 0, sizeof(*s));
}

int hnv_gwstate_apply(struct hnv_gw *g, const struct hnv_model *m)
{
	struct hnv_gwstate s;
	if (hnv_gwstate_build(m, &s) < 0) {
		hnv_log(HNV_LOG_ERR, "gateway: out of memory; kernel state not updated");
		return -ENOMEM;
	}
	struct hnv_gw_desired d;
	hnv_gwstate_desired(&s, &d);
	int rc = hnv_gw_apply(g, &d);
	hnv_gwstate_free(&s);
	return rc;
}

/* ---- what a change could not apply (issue 17 finding 13) ---- */

typedef char name_t[HNV_NAME_MAX + 1];

/* The objects the changes since begin named: routing domains (their
 * gateways), tunnels, VSIDs (the gateways with a CA in them). Appended as
 * noted (a transaction may hold many changes), sorted when asked. */
struct hnv_gwstate_report {
	struct hnv_gw *g;
	name_t *rdomains, *tunnels, *conns; /* conns: "gre NAME", "l3 NAME" */
	size_t n_rdomains, cap_rdomains, n_tunnels, cap_tunnels, n_conns, cap_conns;
	uint32_t *vsids;
	size_t n_vsids, cap_vsids;
	bool oom;
};

int hnv_gwstate_report_new(struct hnv_gw *g, struct hnv_gwstate_report **out)
{
	*out = calloc(1, sizeof(**out));
	if (*out == NULL)
		return -ENOMEM;
	(*out)->g = g;
	return 0;
}

void hnv_gwstate_report_free(struct hnv_gwstate_report *r)
{
	if (r == NULL)
		return;
	free(r->rdomains);
	free(r->tunnels);
	free(r->conns);
	free(r->vsids);
	free(r);
}

static void report_begin(void *arg)
{
	struct hnv_gwstate_report *r = arg;
	r->n_rdomains = r->n_tunnels = r->n_conns = r->n_vsids = 0;
	r->oom = false;
}

/* name (an array of HNV_NAME_MAX + 1) onto v, unless it is the last one. */
static void note_name(struct hnv_gwstate_report *r, name_t **v, size_t *n, size_t *cap,
		      const char *name)
{
	if (*n && strncmp((*v)[*n - 1], name, sizeof(name_t)) == 0)
		return;
	if (HNV_GROW(*v, *cap, *n + 1)) {
		r->oom = true;
		return;
	}
	copy_str((*v)[(*n)++], sizeof(name_t), name, sizeof(name_t));
}

static void note_cmd(struct hnv_gwstate_report *r, const struct hnv_conf_cmd *c)
{
	switch (c->kind) {
	case HNV_CONF_GATEWAY_ADD:
		note_name(r, &r->rdomains, &r->n_rdomains, &r->cap_rdomains, c->u.gateway.rdomain);
		break;
	case HNV_CONF_GATEWAY_CA:
		note_name(r, &r->rdomains, &r->n_rdomains, &r->cap_rdomains,
			  c->u.gateway_ca.rdomain);
		break;
	case HNV_CONF_S2S_ADD:
		note_name(r, &r->tunnels, &r->n_tunnels, &r->cap_tunnels, c->u.s2s.name);
		note_name(r, &r->rdomains, &r->n_rdomains, &r->cap_rdomains, c->u.s2s.rdomain);
		break;
	case HNV_CONF_GRE_ADD:
	case HNV_CONF_L3_ADD: {
		char n[sizeof(name_t)];
		snprintf(n, sizeof(n), "%s %.*s", c->kind == HNV_CONF_GRE_ADD ? "gre" : "l3",
			 HNV_CONN_NAME_MAX, c->u.conn.name);
		note_name(r, &r->conns, &r->n_conns, &r->cap_conns, n);
		note_name(r, &r->rdomains, &r->n_rdomains, &r->cap_rdomains, c->u.conn.rdomain);
		break;
	}
	case HNV_CONF_BGP_PEER_ADD: /* applied with its tenant's BGP instance */
		note_name(r, &r->rdomains, &r->n_rdomains, &r->cap_rdomains, c->u.bgp_peer.rdomain);
		break;
	case HNV_CONF_VSUBNET_ADD:
		if (r->n_vsids && r->vsids[r->n_vsids - 1] == c->u.vsubnet.vsid)
			break;
		if (HNV_GROW(r->vsids, r->cap_vsids, r->n_vsids + 1))
			r->oom = true;
		else
			r->vsids[r->n_vsids++] = c->u.vsubnet.vsid;
		break;
	default: /* names no object of the gateway role */
		break;
	}
}

static void report_note(void *arg, const struct hnv_conf_cmd *old, const struct hnv_conf_cmd *new)
{
	struct hnv_gwstate_report *r = arg;
	if (old)
		note_cmd(r, old);
	if (new)
		note_cmd(r, new);
}

static int cmp_name(const void *a, const void *b)
{
	return strncmp(a, b, sizeof(name_t));
}

/* v sorted, without duplicates; the new count. */
static size_t sort_unique(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n == 0)
		return 0;
	qsort(v, n, size, cmp);
	char *p = v;
	size_t k = 1;
	for (size_t i = 1; i < n; i++)
		if (cmp(p + (k - 1) * size, p + i * size) != 0)
			memmove(p + k++ * size, p + i * size, size);
	return k;
}

/* A gateway CA in a noted VSID: its routing domain's gateway is named. */
static int note_ca_of_vsid(const struct hnv_conf_cmd *cmd, void *arg)
{
	struct hnv_gwstate_report *r = arg;
	if (bsearch(&cmd->u.gateway_ca.vsid, r->vsids, r->n_vsids, sizeof(*r->vsids), cmp_u32))
		note_name(r, &r->rdomains, &r->n_rdomains, &r->cap_rdomains,
			  cmd->u.gateway_ca.rdomain);
	return 0;
}

struct report_rows {
	const struct hnv_gwstate_report *r;
	json_object *rows;
};

static void report_error(void *arg, const char *kind, const char *name, const char *rdomain,
			 const char *error)
{
	struct report_rows *x = arg;
	const struct hnv_gwstate_report *r = x->r;
	bool conn = strcmp(kind, "gre") == 0 || strcmp(kind, "l3") == 0;
	char cname[sizeof(name_t)];
	snprintf(cname, sizeof(cname), "%s %.*s", kind, HNV_CONN_NAME_MAX, name);
	bool named =
		strcmp(kind, "s2s") == 0
			? bsearch(name, r->tunnels, r->n_tunnels, sizeof(name_t), cmp_name)
		: conn ? bsearch(cname, r->conns, r->n_conns, sizeof(name_t), cmp_name)
		       : bsearch(rdomain, r->rdomains, r->n_rdomains, sizeof(name_t), cmp_name);
	if (!named || !x->rows)
		return;
	char object[sizeof(name_t) + 16];
	snprintf(object, sizeof(object), "%s %s", kind, name);
	json_object *row = json_object_new_object();
	if (row == NULL || json_object_object_add(row, "object", json_object_new_string(object)) ||
	    json_object_object_add(row, "error", json_object_new_string(error)) ||
	    json_object_array_add(x->rows, row)) {
		json_object_put(row);
		json_object_put(x->rows);
		x->rows = NULL;
	}
}

static json_object *report_rows(void *arg, const struct hnv_model *m)
{
	struct hnv_gwstate_report *r = arg;
	r->n_vsids = sort_unique(r->vsids, r->n_vsids, sizeof(*r->vsids), cmp_u32);
	if (r->n_vsids)
		hnv_model_foreach_kind(m, HNV_CONF_GATEWAY_CA, note_ca_of_vsid, r);
	if (r->oom)
		return NULL;
	r->n_rdomains = sort_unique(r->rdomains, r->n_rdomains, sizeof(name_t), cmp_name);
	r->n_tunnels = sort_unique(r->tunnels, r->n_tunnels, sizeof(name_t), cmp_name);
	r->n_conns = sort_unique(r->conns, r->n_conns, sizeof(name_t), cmp_name);
	struct report_rows x = {r, json_object_new_array()};
	if (x.rows && (r->n_rdomains || r->n_tunnels || r->n_conns))
		hnv_gw_errors(r->g, report_error, &x);
	return x.rows;
}

void hnv_gwstate_reporter(struct hnv_gwstate_report *r, struct hnv_core_reporter *out)
{
	*out = (struct hnv_core_reporter){
		.begin = report_begin,
		.note = report_note,
		.rows = report_rows,
		.arg = r,
	};
}
