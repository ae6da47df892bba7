/* ps_format.c: the NetWNV front end's object classes (ps_int.h): which
 * properties the objects of each noun have and where a show row holds
 * them, their text as PowerShell prints it, filtering rows by a cmdlet's
 * parameters, and the output of Select-NetVirtualizationNextHop (the
 * views of Get-... output are in ps_view.c). */
#include "ps_int.h"

#include <net/if.h>
#include <string.h>

static const struct prop lookup_props[] = {
	{P_CUSTOMER_ADDRESS, "CustomerAddress", "", 0},
	{P_VSID, "VirtualSubnetID", "", 0},
	{P_MAC, "MACAddress", "", 0},
	{P_PROVIDER_ADDRESS, "ProviderAddress", "", 0},
	{P_CUSTOMER_ID, "CustomerID", "", 0},
	{P_CONTEXT, "Context", "", 0},
	{P_RULE, "Rule", "", 0},
	{P_VM_NAME, "VMName", "", 0},
	{P_USE_VM_MAC, "UseVmMACAddress", "False", 0},
	{P_TYPE, "Type", "", 0},
	{P_UNUSABLE, NULL, "False", PR_HIDDEN},
	{P_UNSYNCHRONIZED, NULL, "False", PR_HIDDEN},
};
static const struct prop croute_props[] = {
	{P_RDID, "RoutingDomainID", "", 0},
	{P_VSID, "VirtualSubnetID", "", 0},
	{P_DEST_PREFIX, "DestinationPrefix", "", 0},
	{P_NEXTHOP, "NextHop", "", 0},
	{P_METRIC, "Metric", "", 0},
};
static const struct prop pa_props[] = {
	{P_PROVIDER_ADDRESS, "ProviderAddress", "", 0},
	{P_IFINDEX, "InterfaceName", "", PR_IFINDEX},
	{P_VLAN, "VlanID", "0", 0},
	{P_ADDRESS_STATE, "AddressState", "Preferred", 0},
	{P_MAC, "MACAddress", "", 0},
	{P_PREFIX_LEN, "PrefixLength", "", 0},
	{P_MANAGED_BY_CLUSTER, "ManagedByCluster", "False", 0},
};
static const struct prop proute_props[] = {
	{P_IFINDEX, "dev", "", PR_IFINDEX},
	{P_DEST_PREFIX, "prefix", "", 0},
	{P_NEXTHOP, "nexthop", "", 0},
	{P_METRIC, "metric", "", 0},
};
static const struct prop global_props[] = {
	{P_USE_EXT_ROUTER, "use_external_router", "False", 0},
};

#define PROPS(a) a, PS_COUNT(a)

static const struct ps_class classes[] = {
	[N_LOOKUP] = {"lookup", "MSFT_NetVirtualizationLookupRecordSettingData",
		      PROPS(lookup_props)},
	[N_CROUTE] = {"routes", "MSFT_NetVirtualizationCustomerRouteSettingData",
		      PROPS(croute_props)},
	[N_PA] = {"pa", "MSFT_NetVirtualizationProviderAddressSettingData", PROPS(pa_props)},
	[N_PROUTE] = {"proutes", "MSFT_NetVirtualizationProviderRouteSettingData",
		      PROPS(proute_props)},
	[N_GLOBAL] = {"global", "MSFT_NetVirtualizationGlobalSettingData", PROPS(global_props)},
};

const struct ps_class *ps_class_of(enum noun noun)
{
	return &classes[noun];
}

int ps_class_prop(const struct ps_class *cl, const char *name)
{
	for (size_t i = 0; i < cl->nprops; i++)
		if (!(cl->props[i].flags & PR_HIDDEN) &&
		    hnv_ascii_caseeq(ps_pdefs[cl->props[i].id].name, name))
			return (int)i;
	return -1;
}

void ps_fmt_mac12(const struct hnv_mac *m, char t[13])
{
	snprintf(t, 13, "%02X%02X%02X%02X%02X%02X", m->b[0], m->b[1], m->b[2], m->b[3], m->b[4],
		 m->b[5]);
}

/* The raw text of property p of row (buf has 32 bytes for numbers). */
static const char *prop_raw(json_object *row, const struct prop *p, char *buf, size_t len)
{
	const char *s = ps_row_text(row, p->key, buf, len);
	if (s == NULL)
		return p->dflt;
	if (p->flags & PR_IFINDEX) {
		unsigned idx = s[0] ? if_nametoindex(s) : 0;
		snprintf(buf, len, "%u", idx);
		return buf;
	}
	return s;
}

const char *ps_prop_display(enum vtype ty, const char *raw, char *buf, size_t len)
{
	struct hnv_ip ip;
	struct hnv_mac mac;
	struct hnv_guid g;
	bool b;
	int k;
	switch (ty) {
	case V_IP:
		if (hnv_parse_ip(raw, &ip) == 0) {
			hnv_fmt_ip(&ip, buf, len);
			return buf;
		}
		break;
	case V_MAC:
		if (hnv_parse_mac(raw, &mac) == 0 && len >= 13) {
			ps_fmt_mac12(&mac, buf);
			return buf;
		}
		break;
	case V_GUID:
		if (hnv_parse_guid(raw, &g) == 0) {
			hnv_fmt_guid(&g, buf, len);
			return buf;
		}
		break;
	case V_BOOL:
		if (ps_bool_text(raw, &b))
			return b ? "True" : "False";
		break;
	case V_RULE:
	case V_TYPE:
		if ((k = ps_enum_find(raw, ty == V_RULE, true)) >= 0)
			return ty == V_RULE ? ps_rules[k].name : ps_types[k].name;
		break;
	default:
		break;
	}
	return raw;
}

/* Iterative with one backtrack point, so linear in practice and never
 * recursive. */
bool ps_like(const char *s, const char *p)
{
	const char *star = NULL, *ss = NULL;
	while (*s) {
		if (*p == '*') {
			star = p++;
			ss = s;
		} else if (*p == '?' || (*p && hnv_ascii_lower(*p) == hnv_ascii_lower(*s))) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++ss;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

const char *ps_prop_text(const struct prop *p, json_object *row, char *buf, size_t len)
{
	char raw[32];
	const char *r = prop_raw(row, p, raw, sizeof(raw));
	const char *v = ps_prop_display(ps_pdefs[p->id].type, r, buf, len);
	if (v == raw) {
		snprintf(buf, len, "%s", raw);
		return buf;
	}
	return v;
}

/* Does the row text raw equal the filter value w of type ty? */
static bool value_match(enum vtype ty, const char *raw, const struct val *w)
{
	struct hnv_ip ip;
	struct hnv_mac mac;
	struct hnv_guid g;
	struct hnv_prefix pf;
	uint32_t u;
	bool b;
	int k;
	switch (ty) {
	case V_UINT:
		return ps_num_parse(raw, UINT32_MAX, &u) && u == w->v.u;
	case V_IP:
		return hnv_parse_ip(raw, &ip) == 0 && hnv_ip_eq(&ip, &w->v.ip);
	case V_MAC:
		return hnv_parse_mac(raw, &mac) == 0 && hnv_mac_eq(&mac, &w->v.mac);
	case V_GUID:
		return hnv_parse_guid(raw, &g) == 0 && memcmp(g.b, w->v.guid.b, 16) == 0;
	case V_PREFIX:
		return hnv_parse_prefix(raw, &pf) == 0 && pf.len == w->v.pfx.len &&
		       hnv_ip_eq(&pf.addr, &w->v.pfx.addr);
	case V_RULE:
	case V_TYPE:
		k = ps_enum_find(raw, ty == V_RULE, true);
		return k >= 0 && (ty == V_RULE ? ps_rules[k].num : ps_types[k].num) == w->v.u;
	case V_BOOL:
	case V_SWITCH:
		return ps_bool_text(raw, &b) && b == w->v.b;
	case V_STR:
		return ps_like(raw, w->text);
	case V_ANY:
		return true;
	}
	return false;
}

static const struct prop *find_prop(const struct ps_class *cl, enum pid id)
{
	for (size_t i = 0; i < cl->nprops; i++)
		if (cl->props[i].id == id)
			return &cl->props[i];
	return NULL;
}

bool ps_row_matches(const struct ps_class *cl, const struct cmd *f, json_object *row)
{
	for (unsigned k = 0; k < P__COUNT; k++) {
		if (!ps_given(f, (enum pid)k, F_FILTER))
			continue;
		const struct prop *p = find_prop(cl, (enum pid)k);
		if (p == NULL)
			return false;
		char buf[32];
		const char *raw = prop_raw(row, p, buf, sizeof(buf));
		bool any = false;
		for (unsigned i = 0; i < f->a[k].n && !any; i++)
			any = value_match(ps_pdefs[k].type, raw, &f->a[k].v[i]);
		if (!any)
			return false;
	}
	return true;
}

void ps_filters_desc(const struct cmd *f, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (unsigned k = 0; k < P__COUNT; k++) {
		if (!ps_given(f, (enum pid)k, F_FILTER))
			continue;
		int n = snprintf(buf + o, len - o, "%s-%s ", o ? " " : "", ps_pdefs[k].name);
		if (n < 0 || (size_t)n >= len - o)
			return;
		o += (size_t)n;
		for (unsigned i = 0; i < f->a[k].n; i++) {
			char sb[SHOWBUF];
			n = snprintf(buf + o, len - o, "%s%s", i ? "," : "",
				     ps_show(f->a[k].v[i].text, sb));
			if (n < 0 || (size_t)n >= len - o)
				return;
			o += (size_t)n;
		}
	}
}

void ps_print_nexthop(FILE *out, const struct ps_nexthop *nh)
{
	char d1[64], d2[64], d3[64], d4[64];
	if (out == NULL)
		return;
	fprintf(out,
		"\nSourceCustomerAddress      : %s\nDestinationCustomerAddress : %s\n"
		"SourceVirtualSubnetID      : %u\nNextHopAddress             : %s\n"
		"SourceMACAddress           : %s\nNextHopMACAddress          : %s\n\n\n",
		nh->src ? ps_prop_display(V_IP, nh->src, d1, sizeof(d1)) : "", nh->dst, nh->vsid,
		nh->next_hop ? ps_prop_display(V_IP, nh->next_hop, d2, sizeof(d2)) : "",
		nh->src_mac ? ps_prop_display(V_MAC, nh->src_mac, d3, sizeof(d3)) : "",
		nh->mac ? ps_prop_display(V_MAC, nh->mac, d4, sizeof(d4)) : "");
}
