/* ps_cmdlets.c: what each NetWNV cmdlet does (ps_int.h). New, Set and
 * Remove become config lines of one transaction (ps_commit); Get prints the
 * rows of a show (ps_format.c); Select-NetVirtualizationNextHop asks the
 * "nexthop" op.
 *
 * What needs the running state (does VSID 5001 exist? which rdomain has
 * this RDID? which interface has index 3?) is checked here; what the
 * daemon checks anyway (references, CA inside the subnet, address
 * families) is left to it, so there is one authority.
 */
#include "ps_int.h"

#include <net/if.h>
#include <stdlib.h>
#include <string.h>

/* A name field of a row: a non-empty string (a number is not a name the
 * row meant), pointing into the row; NULL otherwise. */
static const char *row_name(json_object *row, const char *key)
{
	char b[32];
	const char *s = ps_row_text(row, key, b, sizeof(b));
	return s == NULL || s == b || s[0] == '\0' ? NULL : s;
}

/* Pushes the one line in b and commits it for cmdlet c. */
static void commit_line(struct run *r, const struct cmd *c, struct hnv_buf *b)
{
	struct lines l = {0};
	ps_lines_push(&l, b);
	ps_commit(r, c, &l);
}

/* ---- lookup records ---- */

struct lrec {
	uint32_t vsid;
	struct hnv_ip ca, pa;
	struct hnv_mac mac;
	unsigned rule; /* index into ps_rules[] */
	int type;      /* index into ps_types[], -1: not given (New) */
	bool use_vm_mac;
	bool has_cid;
	struct hnv_guid cid;
	const char *vm_name; /* "" or NULL: none */
	const char *context;
};

/* lookup add|set with every field of rec. */
static bool lookup_line(struct run *r, const struct cmd *c, const char *verb,
			const struct lrec *rec, struct lines *l)
{
	struct hnv_buf s = {0};
	hnv_buf_printf(&s, "lookup %s --vsid %u --ca ", verb, rec->vsid);
	ps_buf_ip(&s, &rec->ca);
	hnv_buf_puts(&s, " --pa ");
	ps_buf_ip(&s, &rec->pa);
	hnv_buf_puts(&s, " --mac ");
	ps_buf_mac(&s, &rec->mac);
	hnv_buf_printf(&s, " --rule %s", ps_rules[rec->rule].conf);
	if (rec->type >= 0)
		hnv_buf_printf(&s, " --type %s", ps_types[rec->type].conf);
	if (rec->vm_name && rec->vm_name[0]) {
		hnv_buf_puts(&s, " --vm-name ");
		if (!ps_buf_val(&s, rec->vm_name)) {
			hnv_buf_free(&s, false);
			ps_fail(r, c, "VMName contains a control character");
			return false;
		}
	}
	if (rec->has_cid) {
		hnv_buf_puts(&s, " --customer-id ");
		ps_buf_guid(&s, &rec->cid);
	}
	if (rec->context && rec->context[0]) {
		hnv_buf_puts(&s, " --context ");
		if (!ps_buf_val(&s, rec->context)) {
			hnv_buf_free(&s, false);
			ps_fail(r, c, "Context contains a control character");
			return false;
		}
	}
	if (rec->use_vm_mac)
		hnv_buf_puts(&s, " --use-vm-mac");
	ps_lines_push(l, &s);
	return true;
}

/* A show lookup row as a record; strings point into the row. */
static bool row_lookup(struct run *r, const struct cmd *c, json_object *row, struct lrec *rec)
{
	char b[32];
	const char *s;
	memset(rec, 0, sizeof(*rec));
	if (!ps_row_uint(row, "VirtualSubnetID", HNV_VSID_MAX, &rec->vsid))
		return ps_bad_row(r, c, "lookup", "VirtualSubnetID");
	if (!ps_row_ip(row, "CustomerAddress", &rec->ca))
		return ps_bad_row(r, c, "lookup", "CustomerAddress");
	if (!ps_row_ip(row, "ProviderAddress", &rec->pa))
		return ps_bad_row(r, c, "lookup", "ProviderAddress");
	if ((s = ps_row_text(row, "MACAddress", b, sizeof(b))) == NULL ||
	    hnv_parse_mac(s, &rec->mac) < 0)
		return ps_bad_row(r, c, "lookup", "MACAddress");
	/* a row without Rule or Type has the config defaults, Encap and Static */
	int k = (s = ps_row_text(row, "Rule", b, sizeof(b))) ? ps_enum_find(s, true, true)
							     : ps_enum_find("encap", true, true);
	if (k < 0)
		return ps_bad_row(r, c, "lookup", "Rule");
	rec->rule = (unsigned)k;
	k = (s = ps_row_text(row, "Type", b, sizeof(b))) ? ps_enum_find(s, false, true)
							 : ps_enum_find("static", false, true);
	if (k < 0)
		return ps_bad_row(r, c, "lookup", "Type");
	rec->type = k;
	if ((s = ps_row_text(row, "UseVmMACAddress", b, sizeof(b))) &&
	    !ps_bool_text(s, &rec->use_vm_mac))
		return ps_bad_row(r, c, "lookup", "UseVmMACAddress");
	if ((s = ps_row_text(row, "CustomerID", b, sizeof(b))) && s[0]) {
		if (hnv_parse_guid(s, &rec->cid) < 0)
			return ps_bad_row(r, c, "lookup", "CustomerID");
		rec->has_cid = true;
	}
	rec->vm_name = ps_row_text(row, "VMName", b, sizeof(b));
	rec->context = ps_row_text(row, "Context", b, sizeof(b));
	if (rec->vm_name && rec->vm_name == b)
		rec->vm_name = NULL; /* a number is not a name the row meant */
	if (rec->context && rec->context == b)
		rec->context = NULL;
	return true;
}

/* Remove-: "lookup del" of the row; Set-: the row with c's values. */
static bool lookup_row(struct run *r, const struct cmd *c, json_object *row, struct lines *l)
{
	struct lrec rec;
	if (!row_lookup(r, c, row, &rec))
		return false;
	if (c->def->verb == VB_REMOVE) {
		struct hnv_buf s = {0};
		hnv_buf_printf(&s, "lookup del --vsid %u --ca ", rec.vsid);
		ps_buf_ip(&s, &rec.ca);
		hnv_buf_puts(&s, " --mac ");
		ps_buf_mac(&s, &rec.mac);
		ps_lines_push(l, &s);
		return true;
	}
	const struct arg *a = c->a;
	if (a[P_PROVIDER_ADDRESS].n)
		rec.pa = a[P_PROVIDER_ADDRESS].v[0].v.ip;
	if (a[P_CUSTOMER_ID].n) {
		rec.has_cid = true;
		rec.cid = a[P_CUSTOMER_ID].v[0].v.guid;
	}
	if (a[P_CONTEXT].n)
		rec.context = a[P_CONTEXT].v[0].text;
	if (a[P_RULE].n)
		rec.rule = (unsigned)ps_enum_find(a[P_RULE].v[0].text, true, false);
	if (a[P_VM_NAME].n)
		rec.vm_name = a[P_VM_NAME].v[0].text;
	if (a[P_USE_VM_MAC].n)
		rec.use_vm_mac = a[P_USE_VM_MAC].v[0].v.b;
	return lookup_line(r, c, "set", &rec, l);
}

/* Does show vsubnets have vsid? -1 after a reported error. */
static int vsid_known(struct run *r, const struct cmd *c, uint32_t vsid)
{
	json_object *rows = ps_show_rows(r, c, "vsubnets");
	if (rows == NULL)
		return -1;
	int found = 0;
	for (size_t i = 0; i < json_object_array_length(rows) && !found; i++) {
		uint32_t v;
		if (ps_row_uint(json_object_array_get_idx(rows, i), "vsid", UINT32_MAX, &v) &&
		    v == vsid)
			found = 1;
	}
	json_object_put(rows);
	return found;
}

/* Is there a New-NetVirtualizationCustomerRoute for vsid among the
 * statements from index from on? */
static bool later_route_for(const struct run *r, size_t from, uint32_t vsid)
{
	for (size_t i = from; i < r->nst; i++) {
		const struct cmd *c = &r->st[i].c[0];
		if (c->def->verb == VB_NEW && c->def->noun == N_CROUTE && !ps_whatif(c) &&
		    c->a[P_VSID].v[0].v.u == vsid)
			return true;
	}
	return false;
}

void ps_new_lookup(struct run *r, size_t idx, size_t next, bool may_wait)
{
	const struct cmd *c = &r->st[idx].c[0];
	const struct arg *a = c->a;
	struct lrec rec = {
		.vsid = a[P_VSID].v[0].v.u,
		.ca = a[P_CUSTOMER_ADDRESS].v[0].v.ip,
		.pa = a[P_PROVIDER_ADDRESS].v[0].v.ip,
		.mac = a[P_MAC].v[0].v.mac,
		.rule = (unsigned)ps_enum_find(a[P_RULE].v[0].text, true, false),
		.type = a[P_TYPE].n ? ps_enum_find(a[P_TYPE].v[0].text, false, false) : -1,
		.use_vm_mac = a[P_USE_VM_MAC].n && a[P_USE_VM_MAC].v[0].v.b,
		.has_cid = a[P_CUSTOMER_ID].n > 0,
		.vm_name = a[P_VM_NAME].n ? a[P_VM_NAME].v[0].text : NULL,
		.context = a[P_CONTEXT].n ? a[P_CONTEXT].v[0].text : NULL,
	};
	if (rec.has_cid)
		rec.cid = a[P_CUSTOMER_ID].v[0].v.guid;
	if (!ps_whatif(c)) {
		int known = vsid_known(r, c, rec.vsid);
		if (known < 0)
			return;
		if (!known) {
			if (may_wait && later_route_for(r, next, rec.vsid)) {
				r->pending[r->npending++] = idx;
				return;
			}
			ps_fail(r, c,
				"VirtualSubnetID %u does not exist: add its customer route first "
				"(New-NetVirtualizationCustomerRoute with NextHop 0.0.0.0 or "
				"::) or \"hnvgw vsubnet add %u --rdomain NAME --prefix P\"",
				rec.vsid, rec.vsid);
			return;
		}
	}
	struct lines l = {0};
	if (lookup_line(r, c, "add", &rec, &l))
		ps_commit(r, c, &l);
	else
		ps_lines_free(&l);
}

/* ---- customer routes ---- */

struct rdomain_name {
	char name[HNV_NAME_MAX + 1];
};

/* The hnvgw rdomain of rdid, from show rdomains; when there is none, a new
 * name ("rd-" and the last 12 hex digits of the RDID) and *create = true.
 * False after a reported error. */
static bool rdomain_for(struct run *r, const struct cmd *c, const struct hnv_guid *rdid,
			struct rdomain_name *out, bool *create)
{
	json_object *rows = ps_show_rows(r, c, "rdomains");
	if (rows == NULL)
		return false;
	size_t n = json_object_array_length(rows);
	char b[32], bg[32];
	*create = false;
	for (size_t i = 0; i < n; i++) {
		json_object *row = json_object_array_get_idx(rows, i);
		const char *g = ps_row_text(row, "rdid", bg, sizeof(bg));
		const char *name = ps_row_text(row, "name", b, sizeof(b));
		struct hnv_guid rg;
		if (g == NULL || hnv_parse_guid(g, &rg) < 0 || memcmp(rg.b, rdid->b, 16) != 0)
			continue;
		if (name == NULL || name == b || strlen(name) > HNV_NAME_MAX) {
			json_object_put(rows);
			return ps_bad_row(r, c, "rdomains", "name");
		}
		snprintf(out->name, sizeof(out->name), "%s", name);
		json_object_put(rows);
		return true;
	}
	/* a generated name must not collide with another rdomain's */
	for (unsigned k = 1; k <= 9; k++) {
		const uint8_t *g = rdid->b;
		if (k == 1)
			snprintf(out->name, sizeof(out->name), "rd-%02x%02x%02x%02x%02x%02x", g[10],
				 g[11], g[12], g[13], g[14], g[15]);
		else
			snprintf(out->name, sizeof(out->name), "rd-%02x%02x%02x%02x%02x%02x-%u",
				 g[10], g[11], g[12], g[13], g[14], g[15], k);
		bool taken = false;
		for (size_t i = 0; i < n && !taken; i++) {
			const char *name = ps_row_text(json_object_array_get_idx(rows, i), "name",
						       b, sizeof(b));
			taken = name != NULL && strcmp(name, out->name) == 0;
		}
		if (!taken) {
			json_object_put(rows);
			*create = true;
			return true;
		}
	}
	json_object_put(rows);
	ps_fail(r, c, "no free name for a routing domain of RDID %s", c->a[P_RDID].v[0].text);
	return false;
}

/* Prefixes for a virtual subnet created implicitly by statement idx: its
 * own, then those of later on-link New-NetVirtualizationCustomerRoute
 * statements of the same RDID and VSID (so a dual-stack subnet gets both
 * families), distinct and not overlapping, at most HNV_CONF_PREFIXES_MAX. */
static unsigned subnet_prefixes(const struct run *r, size_t idx,
				struct hnv_prefix out[HNV_CONF_PREFIXES_MAX])
{
	const struct cmd *c = &r->st[idx].c[0];
	unsigned n = 0;
	out[n++] = c->a[P_DEST_PREFIX].v[0].v.pfx;
	for (size_t i = idx + 1; i < r->nst && n < HNV_CONF_PREFIXES_MAX; i++) {
		const struct cmd *o = &r->st[i].c[0];
		if (o->def->verb != VB_NEW || o->def->noun != N_CROUTE || ps_whatif(o) ||
		    o->a[P_VSID].v[0].v.u != c->a[P_VSID].v[0].v.u ||
		    memcmp(o->a[P_RDID].v[0].v.guid.b, c->a[P_RDID].v[0].v.guid.b, 16) != 0 ||
		    !hnv_ip_is_unspec(&o->a[P_NEXTHOP].v[0].v.ip))
			continue;
		const struct hnv_prefix *p = &o->a[P_DEST_PREFIX].v[0].v.pfx;
		bool overlap = false;
		for (unsigned k = 0; k < n && !overlap; k++)
			overlap = hnv_prefix_contains(&out[k], &p->addr) ||
				  hnv_prefix_contains(p, &out[k].addr);
		if (!overlap)
			out[n++] = *p;
	}
	return n;
}

struct croute {
	const char *rdomain;
	uint32_t vsid, metric;
	struct hnv_prefix prefix;
	struct hnv_ip nexthop;
};

static bool row_croute(struct run *r, const struct cmd *c, json_object *row, struct croute *rt)
{
	if ((rt->rdomain = row_name(row, "rdomain")) == NULL)
		return ps_bad_row(r, c, "routes", "rdomain");
	if (!ps_row_uint(row, "VirtualSubnetID", HNV_VSID_MAX, &rt->vsid))
		return ps_bad_row(r, c, "routes", "VirtualSubnetID");
	if (!ps_row_prefix(row, "DestinationPrefix", &rt->prefix))
		return ps_bad_row(r, c, "routes", "DestinationPrefix");
	if (!ps_row_ip(row, "NextHop", &rt->nexthop))
		return ps_bad_row(r, c, "routes", "NextHop");
	if (!ps_row_uint(row, "Metric", UINT32_MAX, &rt->metric))
		rt->metric = 255;
	return true;
}

/* "route add" of rt, with metric when not NULL (rt->metric is not used). */
static void croute_add_line(struct hnv_buf *s, const struct croute *rt, const uint32_t *metric)
{
	hnv_buf_puts(s, "route add --rdomain ");
	ps_buf_val(s, rt->rdomain);
	hnv_buf_printf(s, " --vsid %u --prefix ", rt->vsid);
	ps_buf_prefix(s, &rt->prefix);
	hnv_buf_puts(s, " --nexthop ");
	ps_buf_ip(s, &rt->nexthop);
	if (metric)
		hnv_buf_printf(s, " --metric %u", *metric);
}

static void croute_del_line(struct hnv_buf *s, const struct croute *rt)
{
	hnv_buf_puts(s, "route del --rdomain ");
	ps_buf_val(s, rt->rdomain);
	hnv_buf_puts(s, " --prefix ");
	ps_buf_prefix(s, &rt->prefix);
	hnv_buf_puts(s, " --nexthop ");
	ps_buf_ip(s, &rt->nexthop);
}

/* Remove-: "route del" of the row; Set-: del and add with the new metric
 * (nothing without one). */
static bool croute_row(struct run *r, const struct cmd *c, json_object *row, struct lines *l)
{
	struct croute rt;
	if (!row_croute(r, c, row, &rt))
		return false;
	bool set = c->def->verb == VB_SET;
	if (set && c->a[P_METRIC].n == 0)
		return true;
	struct hnv_buf s = {0};
	croute_del_line(&s, &rt);
	ps_lines_push(l, &s);
	if (set) {
		croute_add_line(&s, &rt, &c->a[P_METRIC].v[0].v.u);
		ps_lines_push(l, &s);
	}
	return true;
}

/* NetWNV has no cmdlets for routing domains and virtual subnets: a route
 * of an RDID hnvgw does not know creates its rdomain, and an on-link route
 * (NextHop 0.0.0.0 or ::) of an unknown VSID creates its virtual subnet,
 * in the same transaction. */
void ps_new_croute(struct run *r, size_t idx)
{
	const struct cmd *c = &r->st[idx].c[0];
	const struct arg *a = c->a;
	uint32_t vsid = a[P_VSID].v[0].v.u;
	const struct hnv_ip *nh = &a[P_NEXTHOP].v[0].v.ip;
	struct rdomain_name rd;
	bool create;
	if (!rdomain_for(r, c, &a[P_RDID].v[0].v.guid, &rd, &create))
		return;
	int known = vsid_known(r, c, vsid);
	if (known < 0)
		return;
	if (!known && !hnv_ip_is_unspec(nh)) {
		char t[64];
		hnv_fmt_ip(nh, t, sizeof(t));
		ps_fail(r, c,
			"VirtualSubnetID %u does not exist and next hop %s is not on-link: add the "
			"subnet's own route (NextHop 0.0.0.0 or ::) first",
			vsid, t);
		return;
	}
	struct lines l = {0};
	struct hnv_buf s = {0};
	if (create) {
		hnv_buf_printf(&s, "rdomain add %s --rdid ", rd.name);
		ps_buf_guid(&s, &a[P_RDID].v[0].v.guid);
		ps_lines_push(&l, &s);
	}
	if (!known) {
		struct hnv_prefix pf[HNV_CONF_PREFIXES_MAX];
		unsigned np = subnet_prefixes(r, idx, pf);
		hnv_buf_printf(&s, "vsubnet add %u --rdomain ", vsid);
		ps_buf_val(&s, rd.name);
		for (unsigned i = 0; i < np; i++) {
			hnv_buf_puts(&s, " --prefix ");
			ps_buf_prefix(&s, &pf[i]);
		}
		ps_lines_push(&l, &s);
	}
	struct croute rt = {.rdomain = rd.name,
			    .vsid = vsid,
			    .prefix = a[P_DEST_PREFIX].v[0].v.pfx,
			    .nexthop = *nh};
	croute_add_line(&s, &rt, a[P_METRIC].n ? &a[P_METRIC].v[0].v.u : NULL);
	ps_lines_push(&l, &s);
	ps_commit(r, c, &l);
}

/* ---- provider addresses and provider routes ---- */

/* The interface of index idx, or false after a reported error. */
static bool ifname_of(struct run *r, const struct cmd *c, uint32_t idx, char name[IF_NAMESIZE])
{
	if (if_indextoname(idx, name) == NULL) {
		ps_fail(r, c, "no network interface has InterfaceIndex %u", idx);
		return false;
	}
	return true;
}

/* VlanID and MACAddress of a provider address are properties of the
 * interface under hnvgw: refuse values that would be silently lost. */
static bool pa_unsupported(struct run *r, const struct cmd *c)
{
	if (c->a[P_VLAN].n && c->a[P_VLAN].v[0].v.u != 0) {
		ps_fail(r, c,
			"VlanID %u is not supported: give the InterfaceIndex of a VLAN interface "
			"(e.g. eth0.%u) instead",
			c->a[P_VLAN].v[0].v.u, c->a[P_VLAN].v[0].v.u);
		return false;
	}
	if (c->a[P_MAC].n) {
		ps_fail(r, c,
			"MACAddress is not supported: a provider address uses the MAC of its "
			"interface");
		return false;
	}
	return true;
}

struct pa_addr {
	struct hnv_ip ip;
	uint32_t len;
	const char *dev;
};

static void pa_add_line(struct hnv_buf *s, const struct pa_addr *p)
{
	hnv_buf_puts(s, "pa add ");
	ps_buf_ip(s, &p->ip);
	hnv_buf_printf(s, "/%u --dev ", p->len);
	ps_buf_val(s, p->dev);
}

void ps_new_pa(struct run *r, const struct cmd *c)
{
	char dev[IF_NAMESIZE];
	if (!pa_unsupported(r, c) || !ifname_of(r, c, c->a[P_IFINDEX].v[0].v.u, dev))
		return;
	struct pa_addr p = {c->a[P_PROVIDER_ADDRESS].v[0].v.ip, c->a[P_PREFIX_LEN].v[0].v.u, dev};
	struct hnv_buf s = {0};
	pa_add_line(&s, &p);
	commit_line(r, c, &s);
}

static bool row_pa(struct run *r, const struct cmd *c, json_object *row, struct pa_addr *p)
{
	if (!ps_row_ip(row, "ProviderAddress", &p->ip))
		return ps_bad_row(r, c, "pa", "ProviderAddress");
	if (!ps_row_uint(row, "PrefixLength", 128, &p->len))
		return ps_bad_row(r, c, "pa", "PrefixLength");
	if ((p->dev = row_name(row, "InterfaceName")) == NULL)
		return ps_bad_row(r, c, "pa", "InterfaceName");
	return true;
}

/* Remove-: "pa del" of the row; Set-: del and add with the new prefix
 * length (nothing when it does not change). */
static bool pa_row(struct run *r, const struct cmd *c, json_object *row, struct lines *l)
{
	struct pa_addr p;
	bool set = c->def->verb == VB_SET;
	if ((set && !pa_unsupported(r, c)) || !row_pa(r, c, row, &p))
		return false;
	if (set && (c->a[P_PREFIX_LEN].n == 0 || c->a[P_PREFIX_LEN].v[0].v.u == p.len))
		return true;
	struct hnv_buf s = {0};
	hnv_buf_puts(&s, "pa del ");
	ps_buf_ip(&s, &p.ip);
	ps_lines_push(l, &s);
	if (set) {
		p.len = c->a[P_PREFIX_LEN].v[0].v.u;
		pa_add_line(&s, &p);
		ps_lines_push(l, &s);
	}
	return true;
}

struct proute {
	struct hnv_prefix prefix;
	struct hnv_ip nexthop;
	const char *dev;
};

/* "proute add" of p, with metric when not NULL. */
static void proute_add_line(struct hnv_buf *s, const struct proute *p, const uint32_t *metric)
{
	hnv_buf_puts(s, "proute add --prefix ");
	ps_buf_prefix(s, &p->prefix);
	hnv_buf_puts(s, " --nexthop ");
	ps_buf_ip(s, &p->nexthop);
	hnv_buf_puts(s, " --dev ");
	ps_buf_val(s, p->dev);
	if (metric)
		hnv_buf_printf(s, " --metric %u", *metric);
}

void ps_new_proute(struct run *r, const struct cmd *c)
{
	char dev[IF_NAMESIZE];
	if (!ifname_of(r, c, c->a[P_IFINDEX].v[0].v.u, dev))
		return;
	struct proute p = {c->a[P_DEST_PREFIX].v[0].v.pfx, c->a[P_NEXTHOP].v[0].v.ip, dev};
	struct hnv_buf s = {0};
	proute_add_line(&s, &p, c->a[P_METRIC].n ? &c->a[P_METRIC].v[0].v.u : NULL);
	commit_line(r, c, &s);
}

static bool row_proute(struct run *r, const struct cmd *c, json_object *row, struct proute *p)
{
	if (!ps_row_prefix(row, "prefix", &p->prefix))
		return ps_bad_row(r, c, "proutes", "prefix");
	if (!ps_row_ip(row, "nexthop", &p->nexthop))
		return ps_bad_row(r, c, "proutes", "nexthop");
	if ((p->dev = row_name(row, "dev")) == NULL)
		return ps_bad_row(r, c, "proutes", "dev");
	return true;
}

/* Remove-: "proute del" of the row; Set-: del and add with the new metric
 * (nothing without one). */
static bool proute_row(struct run *r, const struct cmd *c, json_object *row, struct lines *l)
{
	struct proute p;
	if (!row_proute(r, c, row, &p))
		return false;
	bool set = c->def->verb == VB_SET;
	if (set && c->a[P_METRIC].n == 0)
		return true;
	struct hnv_buf s = {0};
	hnv_buf_puts(&s, "proute del --prefix ");
	ps_buf_prefix(&s, &p.prefix);
	hnv_buf_puts(&s, " --nexthop ");
	ps_buf_ip(&s, &p.nexthop);
	ps_lines_push(l, &s);
	if (set) {
		proute_add_line(&s, &p, &c->a[P_METRIC].v[0].v.u);
		ps_lines_push(l, &s);
	}
	return true;
}

/* ---- Get / Set / Remove over rows, global, next hop ---- */

/* What Remove and Set do to one selected row: append its config lines to
 * l; false after a reported error. */
typedef bool (*row_fn)(struct run *r, const struct cmd *c, json_object *row, struct lines *l);

static const row_fn row_lines[] = {
	[N_LOOKUP] = lookup_row,
	[N_CROUTE] = croute_row,
	[N_PA] = pa_row,
	[N_PROUTE] = proute_row,
};

void ps_query(struct run *r, const struct stmt *st)
{
	const struct cmd *f = &st->c[0], *a = &st->c[st->n - 1];
	const struct ps_class *cl = ps_class_of(f->def->noun);
	json_object *rows = ps_show_rows(r, f, cl->what);
	if (rows == NULL)
		return;
	if (f->def->noun == N_GLOBAL && json_object_array_length(rows) == 0) {
		json_object *o = json_object_new_object();
		if (o == NULL || json_object_array_add(rows, o) != 0) {
			json_object_put(o);
			json_object_put(rows);
			ps_fail(r, f, "out of memory");
			return;
		}
	}
	struct lines l = {0};
	json_object *shown = a->def->verb == VB_GET ? json_object_new_array() : NULL;
	size_t matched = 0, n = json_object_array_length(rows);
	bool ok = a->def->verb != VB_GET || shown != NULL;
	if (!ok)
		ps_fail(r, f, "out of memory");
	for (size_t i = 0; i < n && ok; i++) {
		json_object *row = json_object_array_get_idx(rows, i);
		if (!ps_row_matches(cl, f, row))
			continue;
		matched++;
		/* Where-Object filters what the Get found, without an error when
		 * nothing is left (as in PowerShell) */
		if (st->nwhere && !ps_where_matches(cl, r->conds + st->where, st->nwhere, row))
			continue;
		if (a->def->verb == VB_GET) {
			if (json_object_array_add(shown, json_object_get(row)) != 0) {
				json_object_put(row);
				ps_fail(r, f, "out of memory");
				ok = false;
			}
		} else if (a->def->verb == VB_REMOVE || ps_has_flag(a, F_SET)) {
			ok = row_lines[a->def->noun](r, a, row, &l);
		}
	}
	if (ok && shown)
		ps_print_rows(r->io->out, cl, &st->view, shown);
	json_object_put(shown);
	json_object_put(rows);
	if (!ok) {
		ps_lines_free(&l);
		return;
	}
	if (matched == 0 && ps_has_flag(f, F_FILTER)) {
		char d[MSG_MAX / 2];
		ps_filters_desc(f, d, sizeof(d));
		ps_lines_free(&l);
		ps_fail(r, f, "No matching %s objects found by %s", cl->cim, d);
		return;
	}
	if (a->def->verb != VB_GET)
		ps_commit(r, a, &l);
	else
		ps_lines_free(&l);
}

void ps_set_global(struct run *r, const struct cmd *c)
{
	if (c->a[P_USE_EXT_ROUTER].n == 0)
		return;
	struct hnv_buf s = {0};
	hnv_buf_printf(&s, "global set --use-external-router %s",
		       c->a[P_USE_EXT_ROUTER].v[0].v.b ? "on" : "off");
	commit_line(r, c, &s);
}

/* Select-NetVirtualizationNextHop: the "nexthop" op, printed with the
 * property names Windows uses. */
void ps_select_nexthop(struct run *r, const struct cmd *c)
{
	char src[64] = "", dst[64], err[MSG_MAX] = "";
	const struct arg *a = c->a;
	if (a[P_SRC_CA].n)
		hnv_fmt_ip(&a[P_SRC_CA].v[0].v.ip, src, sizeof(src));
	hnv_fmt_ip(&a[P_DST_CA].v[0].v.ip, dst, sizeof(dst));
	uint32_t vsid = a[P_SRC_VSID].v[0].v.u;
	json_object *res = NULL;
	if (r->io->nexthop(r->io->ctx, vsid, a[P_SRC_CA].n ? src : NULL, dst, &res, err,
			   sizeof(err)) != 0) {
		json_object_put(res);
		ps_fail(r, c, "%s", err[0] ? err : "the next hop query failed");
		return;
	}
	if (res == NULL || !json_object_is_type(res, json_type_object)) {
		json_object_put(res);
		ps_fail(r, c, "the next hop query returned no result");
		return;
	}
	char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32];
	const char *verdict = ps_row_text(res, "verdict", b1, sizeof(b1));
	const char *counter = ps_row_text(res, "counter", b2, sizeof(b2));
	if ((verdict && hnv_ascii_caseeq(verdict, "drop")) ||
	    (counter && ps_caseprefix(counter, "drop_"))) {
		char sb[SHOWBUF];
		ps_fail(r, c, "no next hop for %s in VirtualSubnetID %u: %s", dst, vsid,
			ps_show(counter ? counter : verdict, sb));
		json_object_put(res);
		return;
	}
	struct ps_nexthop nh = {
		.src = a[P_SRC_CA].n ? src : ps_row_text(res, "src", b3, sizeof(b3)),
		.dst = dst,
		.next_hop = ps_row_text(res, "next_hop_ca", b5, sizeof(b5)),
		.src_mac = ps_row_text(res, "src_mac", b4, sizeof(b4)),
		.mac = ps_row_text(res, "mac", b6, sizeof(b6)),
		.vsid = vsid,
	};
	ps_print_nexthop(r->io->out, &nh);
	json_object_put(res);
}
