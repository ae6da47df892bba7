/* model_show.c: rows for "show WHAT" from a model (model.h, mgmt/api.h).
 *
 * Rows come from the model as it is (a view without transaction): a
 * transaction open on it is not seen.
 *
 * Threads: one control thread (model.h).
 */
#include "model_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Adds member k (taking the reference to v, which may be NULL from a failed
 * allocation). */
static int add_obj(json_object *o, const char *k, json_object *v)
{
	if (v == NULL || json_object_object_add(o, k, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int add_str(json_object *o, const char *k, const char *v)
{
	return add_obj(o, k, json_object_new_string(v));
}

static int add_int(json_object *o, const char *k, int64_t v)
{
	return add_obj(o, k, json_object_new_int64(v));
}

static int add_bool(json_object *o, const char *k, bool v)
{
	return add_obj(o, k, json_object_new_boolean(v));
}

static int add_ip(json_object *o, const char *k, const struct hnv_ip *ip)
{
	char a[INET6_ADDRSTRLEN];
	hnv_fmt_ip(ip, a, sizeof(a));
	return add_str(o, k, a);
}

static int add_guid(json_object *o, const char *k, const struct hnv_guid *g)
{
	char t[40];
	hnv_fmt_guid(g, t, sizeof(t));
	return add_str(o, k, t);
}

static int add_mac(json_object *o, const char *k, const struct hnv_mac *m)
{
	char t[18];
	hnv_fmt_mac(m, t, sizeof(t));
	return add_str(o, k, t);
}

/* An array value; *arr receives it (owned by o). */
static int add_arr(json_object *o, const char *k, json_object **arr)
{
	*arr = json_object_new_array();
	if (*arr == NULL || json_object_object_add(o, k, *arr) < 0) {
		json_object_put(*arr);
		return -ENOMEM;
	}
	return 0;
}

static int arr_str(json_object *a, const char *v)
{
	json_object *s = json_object_new_string(v);
	if (s == NULL || json_object_array_add(a, s) < 0) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

static int arr_prefix(json_object *a, const struct hnv_prefix *p)
{
	char t[64];
	hnv_fmt_prefix(p, t, sizeof(t));
	return arr_str(a, t);
}

/* "10.10.0.0/16=172.31.0.0/16" */
static int arr_netmap(json_object *a, const struct hnv_prefix *real,
		      const struct hnv_prefix *mapped)
{
	char r[64], v[64], t[130];
	hnv_fmt_prefix(real, r, sizeof(r));
	hnv_fmt_prefix(mapped, v, sizeof(v));
	snprintf(t, sizeof(t), "%s=%s", r, v);
	return arr_str(a, t);
}

/* "aes256gcm16-prfsha384-ecp384,aes256-sha256-modp2048" as an array. */
static int arr_list(json_object *a, const char *list)
{
	char one[HNV_S2S_PROPOSALS_LEN + 1];
	int rc = 0;
	for (const char *p = list; *p && rc == 0;) {
		size_t n = strcspn(p, ",");
		memcpy(one, p, n);
		one[n] = '\0';
		rc = arr_str(a, one);
		p += n + (p[n] == ',');
	}
	return rc;
}

static const char *type_text(enum hnv_rec_type t)
{
	switch (t) {
	case HNV_TYPE_DYNAMIC:
		return "Dynamic";
	case HNV_TYPE_GATEWAY_WILDCARD:
		return "GatewayWildcard";
	case HNV_TYPE_L2ONLY:
		return "L2Only";
	case HNV_TYPE_STATIC:
		break;
	}
	return "Static";
}

static int row_lookup(json_object *r, const MEMBER_T(lookup) * s)
{
	char mac[13];
	snprintf(mac, sizeof(mac), "%02X%02X%02X%02X%02X%02X", s->mac.b[0], s->mac.b[1],
		 s->mac.b[2], s->mac.b[3], s->mac.b[4], s->mac.b[5]);
	char cid[40] = "";
	if (s->has_customer_id)
		hnv_fmt_guid(&s->customer_id, cid, sizeof(cid));
	int rc = add_ip(r, "CustomerAddress", &s->ca);
	rc = rc ? rc : add_int(r, "VirtualSubnetID", s->vsid);
	rc = rc ? rc : add_str(r, "MACAddress", mac);
	rc = rc ? rc : add_ip(r, "ProviderAddress", &s->pa);
	rc = rc ? rc : add_str(r, "CustomerID", cid);
	rc = rc ? rc : add_str(r, "Context", s->context);
	rc = rc ? rc : add_str(r, "Rule", hnv_rule_name(s->rule));
	rc = rc ? rc : add_str(r, "VMName", s->vm_name);
	rc = rc ? rc : add_bool(r, "UseVmMACAddress", s->use_vm_mac);
	rc = rc ? rc : add_str(r, "Type", type_text(s->type));
	return rc;
}

static int row_route(const struct hnv_model *m, json_object *r, const MEMBER_T(route) * s)
{
	const struct view v = {m, NULL};
	MEMBER_T(rdomain) key;
	memset(&key, 0, sizeof(key));
	memcpy(key.name, s->rdomain, sizeof(key.name));
	struct keyb k;
	mdl_key_identity(&key, G_RDOMAIN, &k);
	const struct ent *rd = mdl_view_find(&v, &k);
	char rdid[40] = "";
	if (rd != NULL)
		hnv_fmt_guid(&OBJ(rd, rdomain)->rdid, rdid, sizeof(rdid));
	char p[64];
	hnv_fmt_prefix(&s->prefix, p, sizeof(p));
	int rc = add_str(r, "RoutingDomainID", rdid);
	rc = rc ? rc : add_int(r, "VirtualSubnetID", s->vsid);
	rc = rc ? rc : add_str(r, "DestinationPrefix", p);
	rc = rc ? rc : add_ip(r, "NextHop", &s->nexthop);
	rc = rc ? rc : add_int(r, "Metric", s->metric);
	rc = rc ? rc : add_str(r, "rdomain", s->rdomain);
	return rc;
}

static int row_gateway(const struct hnv_model *m, json_object *r, const MEMBER_T(gateway) * g)
{
	json_object *cas;
	int rc = add_str(r, "rdomain", g->rdomain);
	rc = rc ? rc : add_str(r, "vrf", g->vrf);
	rc = rc ? rc : add_int(r, "table", g->table);
	rc = rc ? rc : add_str(r, "corp_dev", g->corp_dev);
	if (rc == 0 && g->has_nat_external)
		rc = add_ip(r, "nat_external", &g->nat_external);
	else if (rc == 0)
		rc = add_str(r, "nat_external", "");
	rc = rc ? rc : add_arr(r, "cas", &cas);
	const struct view v = {m, NULL};
	struct keyb bk;
	struct lit it;
	const struct ent *e;
	mdl_bkey_rd(g->rdomain, &bk);
	for (mdl_lit_bucket(&it, &v, &bk, G_GATEWAY_CA); rc == 0 && (e = mdl_lit_next(&it));) {
		const MEMBER_T(gateway_ca) *ca = OBJ(e, gateway_ca);
		json_object *o = json_object_new_object();
		if (o == NULL || json_object_array_add(cas, o) < 0) {
			json_object_put(o);
			return -ENOMEM;
		}
		rc = add_int(o, "vsid", ca->vsid);
		rc = rc ? rc : add_ip(o, "ca", &ca->ca);
	}
	return rc;
}

static int row_s2s(json_object *r, const MEMBER_T(s2s) * s, bool show_secrets)
{
	json_object *a;
	int rc = add_str(r, "name", s->name);
	rc = rc ? rc : add_str(r, "rdomain", s->rdomain);
	if (s->peer_any)
		rc = rc ? rc : add_str(r, "peer", "any");
	else if (s->peer_host[0])
		rc = rc ? rc : add_str(r, "peer", s->peer_host);
	else
		rc = rc ? rc : add_ip(r, "peer", &s->peer);
	if (rc == 0 && s->has_local_addr)
		rc = add_ip(r, "local_addr", &s->local_addr);
	else if (rc == 0)
		rc = add_str(r, "local_addr", "");
	rc = rc ? rc : add_str(r, "local_id", s->local_id);
	rc = rc ? rc : add_str(r, "remote_id", s->remote_id);
	rc = rc ? rc : add_str(r, "auth", s->auth == HNV_S2S_AUTH_PSK ? "psk" : "cert");
	if (rc == 0 && s->auth == HNV_S2S_AUTH_PSK && show_secrets)
		rc = add_str(r, "psk", s->psk);
	rc = rc ? rc : add_str(r, "cert", s->cert);
	rc = rc ? rc : add_str(r, "key", s->key);
	rc = rc ? rc : add_str(r, "ca_cert", s->ca_cert);
	rc = rc ? rc : add_arr(r, "ike_proposals", &a);
	rc = rc ? rc : arr_list(a, s->ike);
	rc = rc ? rc : add_arr(r, "esp_proposals", &a);
	rc = rc ? rc : arr_list(a, s->esp);
	rc = rc ? rc : add_arr(r, "remote_prefixes", &a);
	for (unsigned i = 0; i < s->n_remote && rc == 0; i++)
		rc = arr_prefix(a, &s->remote[i]);
	rc = rc ? rc : add_int(r, "dpd", s->dpd);
	rc = rc ? rc : add_arr(r, "local_netmap", &a);
	for (unsigned i = 0; i < s->n_local_netmap && rc == 0; i++)
		rc = arr_netmap(a, &s->local_netmap[i].real, &s->local_netmap[i].mapped);
	rc = rc ? rc : add_arr(r, "remote_netmap", &a);
	for (unsigned i = 0; i < s->n_remote_netmap && rc == 0; i++)
		rc = arr_netmap(a, &s->remote_netmap[i].real, &s->remote_netmap[i].mapped);
	rc = rc ? rc : add_bool(r, "legacy_crypto", s->legacy_crypto);
	rc = rc ? rc : add_int(r, "rate_out_kbit", s->rate_out);
	rc = rc ? rc : add_int(r, "rate_in_kbit", s->rate_in);
	return rc;
}

/* The effective settings: the configured ones over the datapath defaults
 * (dp.h: gateway MAC 02:15:5d:00:00:01, FlowID on, uplink MTU 1500). */
static int row_global(json_object *r, const MEMBER_T(global) * set)
{
	MEMBER_T(global)
	g = {
		.gateway_mac = {{0x02, 0x15, 0x5d, 0x00, 0x00, 0x01}},
		.flowid = true,
		.uplink_mtu = 1500,
		.use_external_router = false,
	};
	if (set != NULL)
		mdl_merge_global(&g, set);
	int rc = add_bool(r, "use_external_router", g.use_external_router);
	rc = rc ? rc : add_mac(r, "gateway_mac", &g.gateway_mac);
	rc = rc ? rc : add_bool(r, "flowid", g.flowid);
	rc = rc ? rc : add_int(r, "uplink_mtu", g.uplink_mtu);
	return rc;
}

static int row_pool(const struct hnv_model *m, json_object *r, const MEMBER_T(pool) * p)
{
	json_object *a;
	char t[2 * INET6_ADDRSTRLEN + 2], b[INET6_ADDRSTRLEN];
	hnv_fmt_ip(&p->range.first, t, sizeof(t));
	hnv_fmt_ip(&p->range.last, b, sizeof(b));
	size_t o = strlen(t);
	snprintf(t + o, sizeof(t) - o, "-%s", b);
	unsigned in_use = 0;
	const struct view v = {m, NULL};
	struct keyb bk;
	struct lit it;
	const struct ent *e;
	mdl_bkey_vsid(p->vsid, &bk);
	for (mdl_lit_bucket(&it, &v, &bk, G_PORT); (e = mdl_lit_next(&it)) != NULL;) {
		const MEMBER_T(port) *s = OBJ(e, port);
		for (unsigned k = 0; k < s->n_cas && k < HNV_PORT_MAX_CAS; k++)
			if (hnv_ip_is_v4(&s->cas[k]) &&
			    mdl_ip4_in(&s->cas[k], &p->range.first, &p->range.last))
				in_use++;
	}
	int rc = add_str(r, "name", p->name);
	rc = rc ? rc : add_int(r, "vsid", p->vsid);
	rc = rc ? rc : add_str(r, "range", t);
	rc = rc ? rc
		: add_int(r, "size",
			  (int64_t)conf_ip4_u32(&p->range.last) - conf_ip4_u32(&p->range.first) +
				  1);
	rc = rc ? rc : add_int(r, "in_use", in_use);
	rc = rc ? rc : add_arr(r, "dns", &a);
	for (unsigned i = 0; i < p->range.n_dns && rc == 0; i++) {
		hnv_fmt_ip(&p->range.dns[i], b, sizeof(b));
		rc = arr_str(a, b);
	}
	rc = rc ? rc : add_int(r, "lease", p->range.lease);
	return rc;
}

/* The MAC of VSID vs's default-gateway record (conf_is_gateway_rec: a
 * lookup record whose CA is the lowest address of one of its prefixes),
 * the router MAC the datapath uses in that VSID, as text in mac; "" when
 * it has none (the global gateway MAC). The model check keeps one such
 * record per (VSID, CA) and the applier one MAC per VSID, so the first
 * prefix's record names it. */
static void gateway_mac_of(const struct hnv_model *m, const MEMBER_T(vsubnet) * vs, char *mac,
			   size_t len)
{
	const struct view v = {m, NULL};
	mac[0] = '\0';
	for (unsigned i = 0; i < vs->n_prefixes && i < HNV_CONF_PREFIXES_MAX; i++) {
		struct hnv_ip gw;
		conf_gateway_of(&vs->prefixes[i], &gw);
		struct keyb k;
		mdl_key_ca(vs->vsid, &gw, &k);
		struct mit it;
		const struct ent *x;
		for (mdl_mit_init(&it, &v, &k); (x = mdl_mit_next(&it)) != NULL;) {
			if (x->g != G_LOOKUP || OBJ(x, lookup)->vsid != vs->vsid ||
			    !hnv_ip_eq(&OBJ(x, lookup)->ca, &gw) ||
			    !conf_is_gateway_rec(OBJ(x, lookup), vs->prefixes, vs->n_prefixes))
				continue;
			hnv_fmt_mac(&OBJ(x, lookup)->mac, mac, len);
			return;
		}
	}
}

static int row_conn(json_object *r, const MEMBER_T(conn) * s)
{
	json_object *a;
	char t[64];
	int rc = add_str(r, "name", s->name);
	rc = rc ? rc : add_str(r, "rdomain", s->rdomain);
	if (rc == 0 && s->type == HNV_CONN_GRE) {
		rc = add_ip(r, "local", &s->local);
		rc = rc ? rc : add_ip(r, "remote", &s->remote_addr);
		rc = rc ? rc : add_int(r, "key", s->has_key ? (int64_t)s->key : -1);
	} else if (rc == 0) {
		rc = add_str(r, "dev", s->dev);
		rc = rc ? rc : add_int(r, "vlan", s->vlan);
		rc = rc ? rc : add_ip(r, "nexthop", &s->nexthop);
	}
	hnv_fmt_ip(&s->addr.addr, t, sizeof(t));
	size_t n = strlen(t);
	snprintf(t + n, sizeof(t) - n, "/%u", s->addr.len);
	rc = rc ? rc : add_str(r, "addr", t);
	rc = rc ? rc : add_arr(r, "remote_prefixes", &a);
	for (unsigned i = 0; i < s->n_remote && rc == 0; i++)
		rc = arr_prefix(a, &s->remote[i]);
	rc = rc ? rc : add_int(r, "rate_out_kbit", s->rate_out);
	rc = rc ? rc : add_int(r, "rate_in_kbit", s->rate_in);
	return rc;
}

/* One row for entry e of group g. */
static int make_row(const struct hnv_model *m, enum group g, const struct ent *e, bool show_secrets,
		    json_object *r)
{
	struct hnv_conf_cmd c;
	json_object *a;
	int rc;
	mdl_ent_cmd(e, &c);
	switch (g) {
	case G_RDOMAIN:
		rc = add_str(r, "name", c.u.rdomain.name);
		rc = rc ? rc : add_guid(r, "rdid", &c.u.rdomain.rdid);
		break;
	case G_VSUBNET:
		rc = add_int(r, "vsid", c.u.vsubnet.vsid);
		rc = rc ? rc : add_str(r, "rdomain", c.u.vsubnet.rdomain);
		rc = rc ? rc : add_arr(r, "prefixes", &a);
		for (unsigned i = 0; i < c.u.vsubnet.n_prefixes && rc == 0; i++)
			rc = arr_prefix(a, &c.u.vsubnet.prefixes[i]);
		if (rc == 0) {
			char mac[18];
			gateway_mac_of(m, &c.u.vsubnet, mac, sizeof(mac));
			rc = add_str(r, "gateway_mac", mac);
		}
		break;
	case G_LOOKUP:
		rc = row_lookup(r, &c.u.lookup);
		break;
	case G_ROUTE:
		rc = row_route(m, r, &c.u.route);
		break;
	case G_PORT:
		rc = add_str(r, "name", c.u.port.name);
		rc = rc ? rc : add_int(r, "vsid", c.u.port.vsid);
		rc = rc ? rc : add_mac(r, "mac", &c.u.port.mac);
		rc = rc ? rc : add_arr(r, "cas", &a);
		for (unsigned i = 0; i < c.u.port.n_cas && rc == 0; i++) {
			char t[INET6_ADDRSTRLEN];
			hnv_fmt_ip(&c.u.port.cas[i], t, sizeof(t));
			rc = arr_str(a, t);
		}
		/* the device the port is: an existing one (--dev) or its TAP */
		rc = rc ? rc : add_str(r, "dev", c.u.port.dev[0] ? c.u.port.dev : c.u.port.name);
		rc = rc ? rc : add_str(r, "kind", c.u.port.dev[0] ? "dev" : "tap");
		break;
	case G_PA:
		rc = add_ip(r, "ProviderAddress", &c.u.pa.addr.addr);
		rc = rc ? rc : add_int(r, "PrefixLength", c.u.pa.addr.len);
		rc = rc ? rc : add_str(r, "InterfaceName", c.u.pa.dev);
		break;
	case G_PROUTE: {
		char p[64];
		hnv_fmt_prefix(&c.u.proute.prefix, p, sizeof(p));
		rc = add_str(r, "prefix", p);
		rc = rc ? rc : add_ip(r, "nexthop", &c.u.proute.nexthop);
		rc = rc ? rc : add_str(r, "dev", c.u.proute.dev);
		rc = rc ? rc : add_int(r, "metric", c.u.proute.metric);
		break;
	}
	case G_GATEWAY:
		rc = row_gateway(m, r, &c.u.gateway);
		break;
	case G_POOL:
		rc = row_pool(m, r, &c.u.pool);
		break;
	case G_S2S:
		rc = row_s2s(r, &c.u.s2s, show_secrets);
		break;
	case G_GLOBAL:
		rc = row_global(r, &c.u.global);
		break;
	case G_GRE:
	case G_L3:
		rc = row_conn(r, &c.u.conn);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	explicit_bzero(&c, sizeof(c));
	return rc;
}

/* ---- pages (issue 17 finding 7) ---- */

struct page {
	const struct hnv_show_filter *f;
	size_t skip; /* matching rows before the page */
	size_t idx;  /* the index of the next matching row */
	size_t max, used;
	size_t next; /* where the following page starts; 0: none (yet) */
	json_object *arr;
	hnv_show_row_fn row_fn; /* NULL, or adds fields to each row before it is measured */
	void *row_arg;
};

/* Whether the row at p->idx is built: false once the page is full (it
 * ends the walk) or while rows before the page are counted off. */
static bool page_wants(struct page *p)
{
	if (p->next)
		return false;
	if (p->idx < p->skip) {
		p->idx++;
		return false;
	}
	return true;
}

/* Takes row r, the one at p->idx: onto the page, or, when it would not
 * fit on a page that has a row already, dropped with p->next set. */
static int page_take(struct page *p, json_object *r)
{
	if (p->row_fn)
		p->row_fn(p->row_arg, r);
	if (p->max == SIZE_MAX) { /* one page: nothing to measure */
		if (json_object_array_add(p->arr, r) < 0) {
			json_object_put(r);
			return -ENOMEM;
		}
		p->idx++;
		return 0;
	}
	const char *s = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL) {
		json_object_put(r);
		return -ENOMEM;
	}
	size_t n = strlen(s) + 1; /* and its comma */
	/* json-c keeps the text with r: a row may hold a PSK */
	explicit_bzero((char *)s, n - 1);
	if (p->used && p->used + n > p->max) {
		json_object_put(r);
		p->next = p->idx;
		return 0;
	}
	if (json_object_array_add(p->arr, r) < 0) {
		json_object_put(r);
		return -ENOMEM;
	}
	p->used += n;
	p->idx++;
	return 0;
}

static bool ip_match(bool has, const struct hnv_ip *want, const struct hnv_ip *ip)
{
	return !has || hnv_ip_eq(want, ip);
}

/* Whether group g takes filter f. */
static bool filter_fits(enum group g, const struct hnv_show_filter *f)
{
	if (f == NULL)
		return true;
	if (f->has_pa && g != G_LOOKUP)
		return false;
	if (f->has_ca && g != G_LOOKUP && g != G_PORT)
		return false;
	if (f->has_vsid && g != G_LOOKUP && g != G_PORT && g != G_ROUTE && g != G_VSUBNET &&
	    g != G_POOL)
		return false;
	return true;
}

static bool lookup_match(const struct hnv_show_filter *f, const MEMBER_T(lookup) * s)
{
	return f == NULL ||
	       ((!f->has_vsid || s->vsid == f->vsid) && ip_match(f->has_ca, &f->ca, &s->ca) &&
		ip_match(f->has_pa, &f->pa, &s->pa));
}

/* Whether the command of an entry of group g matches f (filter_fits). */
static bool cmd_match(enum group g, const struct hnv_conf_cmd *c, const struct hnv_show_filter *f)
{
	if (f == NULL)
		return true;
	switch (g) {
	case G_LOOKUP:
		return lookup_match(f, &c->u.lookup);
	case G_PORT: {
		if (f->has_vsid && c->u.port.vsid != f->vsid)
			return false;
		if (!f->has_ca)
			return true;
		for (unsigned i = 0; i < c->u.port.n_cas && i < HNV_PORT_MAX_CAS; i++)
			if (hnv_ip_eq(&c->u.port.cas[i], &f->ca))
				return true;
		return false;
	}
	case G_ROUTE:
		return !f->has_vsid || c->u.route.vsid == f->vsid;
	case G_VSUBNET:
		return !f->has_vsid || c->u.vsubnet.vsid == f->vsid;
	case G_POOL:
		return !f->has_vsid || c->u.pool.vsid == f->vsid;
	default:
		return true;
	}
}

/* The records the datapath makes for ports (conftext.h, "port"): each CA
 * of a port without an explicit record of its VSID and CA, pointing at the
 * first IPv4 PA, else the first IPv6 PA; none without a PA. They follow
 * the explicit records in show lookup. */
static int port_record_rows(const struct hnv_model *m, struct page *pg)
{
	const struct hnv_ip *pa = NULL;
	for (int pass = 0; pass < 2 && pa == NULL; pass++)
		for (const struct ent *e = m->g[G_PA].head; e != NULL && pa == NULL;
		     e = e->l[SLOT_GROUP].next)
			if (hnv_ip_is_v4(&OBJ(e, pa)->addr.addr) == (pass == 0))
				pa = &OBJ(e, pa)->addr.addr;
	if (pa == NULL)
		return 0;
	const struct view v = {m, NULL};
	int rc = 0;
	for (const struct ent *e = m->g[G_PORT].head; e != NULL && rc == 0 && !pg->next;
	     e = e->l[SLOT_GROUP].next) {
		const MEMBER_T(port) *p = OBJ(e, port);
		if (pg->f && pg->f->has_vsid && p->vsid != pg->f->vsid)
			continue;
		for (unsigned k = 0; k < p->n_cas && k < HNV_PORT_MAX_CAS && rc == 0; k++) {
			struct keyb ck;
			mdl_key_ca(p->vsid, &p->cas[k], &ck);
			if (mdl_view_holders(&v, &ck, G_LOOKUP) > 0)
				continue; /* an explicit record */
			struct hnv_conf_cmd c;
			memset(&c, 0, sizeof(c));
			MEMBER_T(lookup) *s = &c.u.lookup;
			s->vsid = p->vsid;
			s->ca = p->cas[k];
			s->pa = *pa;
			s->mac = p->mac;
			s->rule = HNV_RULE_ENCAP;
			s->type = HNV_TYPE_STATIC;
			memcpy(s->vm_name, p->name, sizeof(s->vm_name));
			if (!lookup_match(pg->f, s) || !page_wants(pg))
				continue;
			json_object *r = json_object_new_object();
			if (r == NULL)
				return -ENOMEM;
			rc = row_lookup(r, s);
			if (rc)
				json_object_put(r);
			else
				rc = page_take(pg, r);
		}
	}
	return rc;
}

int hnv_model_show_page(const struct hnv_model *m, const char *what, bool show_secrets,
			const struct hnv_show_filter *f, size_t offset, size_t max_bytes,
			hnv_show_row_fn row_fn, void *row_arg, json_object **rows, size_t *next)
{
	static const struct {
		const char *what;
		enum group g;
	} views[] = {
		{"rdomains", G_RDOMAIN}, {"vsubnets", G_VSUBNET}, {"lookup", G_LOOKUP},
		{"routes", G_ROUTE},     {"ports", G_PORT},       {"pa", G_PA},
		{"proutes", G_PROUTE},   {"gateways", G_GATEWAY}, {"s2s", G_S2S},
		{"global", G_GLOBAL},    {"pools", G_POOL},       {"gre", G_GRE},
		{"l3", G_L3},
	};
	if (rows == NULL)
		return -EINVAL;
	*rows = NULL;
	if (next != NULL)
		*next = 0;
	if (m == NULL || what == NULL)
		return -EINVAL;
	size_t v = 0, nv = sizeof(views) / sizeof(views[0]);
	while (v < nv && strcmp(views[v].what, what) != 0)
		v++;
	if (v == nv)
		return -EINVAL; /* counters, config, revisions: the daemon's */
	enum group g = views[v].g;
	if (!filter_fits(g, f))
		return -ENOTSUP;
	struct page pg = {
		.f = f, .skip = offset, .max = max_bytes, .row_fn = row_fn, .row_arg = row_arg};
	if ((pg.arr = json_object_new_array()) == NULL)
		return -ENOMEM;
	int rc = 0;
	if (g == G_GLOBAL && m->g[G_GLOBAL].n == 0 && page_wants(&pg)) {
		/* nothing set: the defaults */
		json_object *r = json_object_new_object();
		rc = r == NULL ? -ENOMEM : row_global(r, NULL);
		if (rc)
			json_object_put(r);
		else
			rc = page_take(&pg, r);
	}
	for (const struct ent *e = m->g[g].head; e != NULL && rc == 0 && !pg.next;
	     e = e->l[SLOT_GROUP].next) {
		if (f != NULL) {
			struct hnv_conf_cmd c;
			mdl_ent_cmd(e, &c);
			bool match = cmd_match(g, &c, f);
			explicit_bzero(&c, sizeof(c));
			if (!match)
				continue;
		}
		if (!page_wants(&pg))
			continue;
		json_object *r = json_object_new_object();
		rc = r == NULL ? -ENOMEM : make_row(m, g, e, show_secrets, r);
		if (rc)
			json_object_put(r);
		else
			rc = page_take(&pg, r);
	}
	if (g == G_LOOKUP && rc == 0)
		rc = port_record_rows(m, &pg);
	if (rc < 0) {
		json_object_put(pg.arr);
		return rc;
	}
	*rows = pg.arr;
	if (next != NULL)
		*next = pg.next;
	return 0;
}

int hnv_model_show(const struct hnv_model *m, const char *what, bool show_secrets,
		   json_object **rows)
{
	return hnv_model_show_page(m, what, show_secrets, NULL, 0, SIZE_MAX, NULL, NULL, rows,
				   NULL);
}
