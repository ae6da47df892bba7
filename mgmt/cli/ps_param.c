/* ps_param.c: the NetWNV front end's vocabulary (ps_int.h): the parameters
 * and their value types, the 19 cmdlets with the parameters each takes,
 * NetWNV's enums, and numbers and Booleans as PowerShell writes them. */
#include "ps_int.h"

#include <string.h>

const struct pdef ps_pdefs[P__COUNT] = {
	[P_CUSTOMER_ADDRESS] = {"CustomerAddress", V_IP, 0, 0},
	[P_VSID] = {"VirtualSubnetID", V_UINT, HNV_VSID_MIN, HNV_VSID_MAX},
	[P_MAC] = {"MACAddress", V_MAC, 0, 0},
	[P_PROVIDER_ADDRESS] = {"ProviderAddress", V_IP, 0, 0},
	[P_CUSTOMER_ID] = {"CustomerID", V_GUID, 0, 0},
	[P_CONTEXT] = {"Context", V_STR, 0, 0},
	[P_RULE] = {"Rule", V_RULE, 0, 0},
	[P_VM_NAME] = {"VMName", V_STR, 0, 0},
	[P_USE_VM_MAC] = {"UseVmMACAddress", V_BOOL, 0, 0},
	[P_TYPE] = {"Type", V_TYPE, 0, 0},
	[P_UNUSABLE] = {"Unusable", V_BOOL, 0, 0},
	[P_UNSYNCHRONIZED] = {"Unsynchronized", V_BOOL, 0, 0},
	[P_RDID] = {"RoutingDomainID", V_GUID, 0, 0},
	[P_DEST_PREFIX] = {"DestinationPrefix", V_PREFIX, 0, 0},
	[P_NEXTHOP] = {"NextHop", V_IP, 0, 0},
	[P_METRIC] = {"Metric", V_UINT, 0, UINT32_MAX},
	[P_IFINDEX] = {"InterfaceIndex", V_UINT, 1, INT32_MAX},
	[P_PREFIX_LEN] = {"PrefixLength", V_UINT, 0, 128},
	[P_VLAN] = {"VlanID", V_UINT, 0, 4094},
	[P_ADDRESS_STATE] = {"AddressState", V_STR, 0, 0},
	[P_MANAGED_BY_CLUSTER] = {"ManagedByCluster", V_BOOL, 0, 0},
	[P_USE_EXT_ROUTER] = {"UseExternalRouter", V_BOOL, 0, 0},
	[P_SRC_CA] = {"SourceCustomerAddress", V_IP, 0, 0},
	[P_DST_CA] = {"DestinationCustomerAddress", V_IP, 0, 0},
	[P_SRC_VSID] = {"SourceVirtualSubnetID", V_UINT, HNV_VSID_MIN, HNV_VSID_MAX},
	[P_CIM_SESSION] = {"CimSession", V_ANY, 0, 0},
	[P_THROTTLE] = {"ThrottleLimit", V_UINT, 0, INT32_MAX},
	[P_AS_JOB] = {"AsJob", V_SWITCH, 0, 0},
	[P_CONFIRM] = {"Confirm", V_SWITCH, 0, 0},
	[P_WHATIF] = {"WhatIf", V_SWITCH, 0, 0},
};

#define FL (F_FILTER | F_LIST)

static const struct cparam lookup_new[] = {
	{P_CUSTOMER_ADDRESS, F_REQ},
	{P_VSID, F_REQ},
	{P_MAC, F_REQ},
	{P_PROVIDER_ADDRESS, F_REQ},
	{P_RULE, F_REQ},
	{P_CUSTOMER_ID, 0},
	{P_CONTEXT, 0},
	{P_VM_NAME, 0},
	{P_USE_VM_MAC, 0},
	{P_TYPE, 0},
};
static const struct cparam lookup_get[] = {
	{P_CUSTOMER_ADDRESS, FL}, {P_MAC, FL},     {P_VSID, FL},     {P_PROVIDER_ADDRESS, FL},
	{P_CUSTOMER_ID, FL},      {P_CONTEXT, FL}, {P_RULE, FL},     {P_VM_NAME, FL},
	{P_USE_VM_MAC, FL},       {P_TYPE, FL},    {P_UNUSABLE, FL}, {P_UNSYNCHRONIZED, FL},
};
static const struct cparam lookup_set[] = {
	{P_CUSTOMER_ADDRESS, FL}, {P_VSID, FL},       {P_MAC, FL},     {P_PROVIDER_ADDRESS, F_SET},
	{P_CUSTOMER_ID, F_SET},   {P_CONTEXT, F_SET}, {P_RULE, F_SET}, {P_VM_NAME, F_SET},
	{P_USE_VM_MAC, F_SET},
};
static const struct cparam croute_new[] = {
	{P_RDID, F_REQ}, {P_VSID, F_REQ}, {P_DEST_PREFIX, F_REQ}, {P_NEXTHOP, F_REQ}, {P_METRIC, 0},
};
static const struct cparam croute_get[] = {
	{P_RDID, FL}, {P_VSID, FL}, {P_DEST_PREFIX, FL}, {P_NEXTHOP, FL}, {P_METRIC, FL},
};
static const struct cparam croute_set[] = {
	{P_RDID, FL}, {P_VSID, FL}, {P_DEST_PREFIX, FL}, {P_NEXTHOP, FL}, {P_METRIC, F_SET},
};
static const struct cparam pa_new[] = {
	{P_PROVIDER_ADDRESS, F_REQ},
	{P_IFINDEX, F_REQ},
	{P_PREFIX_LEN, F_REQ},
	{P_VLAN, 0},
	{P_MAC, 0},
};
static const struct cparam pa_get[] = {
	{P_PROVIDER_ADDRESS, FL},
	{P_IFINDEX, FL},
	{P_PREFIX_LEN, FL},
	{P_VLAN, FL},
	{P_MAC, FL},
	{P_ADDRESS_STATE, FL},
	{P_MANAGED_BY_CLUSTER, FL},
};
static const struct cparam pa_set[] = {
	{P_PROVIDER_ADDRESS, FL}, {P_IFINDEX, FL}, {P_PREFIX_LEN, F_SET},
	{P_VLAN, F_SET},          {P_MAC, F_SET},
};
static const struct cparam proute_new[] = {
	{P_IFINDEX, F_REQ},
	{P_DEST_PREFIX, F_REQ},
	{P_NEXTHOP, F_REQ},
	{P_METRIC, 0},
};
static const struct cparam proute_get[] = {
	{P_IFINDEX, FL},
	{P_DEST_PREFIX, FL},
	{P_NEXTHOP, FL},
	{P_METRIC, FL},
};
static const struct cparam proute_set[] = {
	{P_IFINDEX, FL},
	{P_DEST_PREFIX, FL},
	{P_NEXTHOP, FL},
	{P_METRIC, F_SET},
};
static const struct cparam global_set[] = {{P_USE_EXT_ROUTER, F_SET}};
static const struct cparam nexthop_sel[] = {
	{P_SRC_CA, 0},
	{P_DST_CA, F_REQ},
	{P_SRC_VSID, F_REQ},
};

/* Positional parameters, from Microsoft's NetWNV cmdlet reference
 * (learn.microsoft.com/powershell/module/netwnv, Windows Server 2012 R2
 * and 2016, and MicrosoftDocs/windows-powershell-docs
 * docset/winserver2016-ps/NetWNV/<cmdlet>.md, "Position:"): only
 * Select-NetVirtualizationNextHop has any,
 *   [[-SourceCustomerAddress] <String>] [-DestinationCustomerAddress]
 *   <String> [-SourceVirtualSubnetID] <UInt32>   (positions 0, 1, 2);
 * every parameter of the 18 other cmdlets is "Position: Named". As in
 * PowerShell, unnamed values fill the positions not bound by name, in
 * order. */
static const enum pid nexthop_pos[] = {P_SRC_CA, P_DST_CA, P_SRC_VSID};

/* Every NetWNV cmdlet also takes these; they change nothing here (the
 * transport is the caller's, jobs run synchronously). */
static const struct cparam common_all[] = {
	{P_CIM_SESSION, F_LIST},
	{P_THROTTLE, 0},
	{P_AS_JOB, 0},
};
/* New/Set/Remove also take these. -Confirm cannot prompt and is ignored;
 * -WhatIf prints the config lines instead of committing them. */
static const struct cparam common_change[] = {{P_CONFIRM, 0}, {P_WHATIF, 0}};

#define PARAMS(a) a, PS_COUNT(a)

static const struct cmdlet cmdlets[] = {
	{"New-NetVirtualizationLookupRecord", VB_NEW, N_LOOKUP, PARAMS(lookup_new), NULL, 0},
	{"Get-NetVirtualizationLookupRecord", VB_GET, N_LOOKUP, PARAMS(lookup_get), NULL, 0},
	{"Set-NetVirtualizationLookupRecord", VB_SET, N_LOOKUP, PARAMS(lookup_set), NULL, 0},
	{"Remove-NetVirtualizationLookupRecord", VB_REMOVE, N_LOOKUP, PARAMS(lookup_get), NULL, 0},
	{"New-NetVirtualizationCustomerRoute", VB_NEW, N_CROUTE, PARAMS(croute_new), NULL, 0},
	{"Get-NetVirtualizationCustomerRoute", VB_GET, N_CROUTE, PARAMS(croute_get), NULL, 0},
	{"Set-NetVirtualizationCustomerRoute", VB_SET, N_CROUTE, PARAMS(croute_set), NULL, 0},
	{"Remove-NetVirtualizationCustomerRoute", VB_REMOVE, N_CROUTE, PARAMS(croute_get), NULL, 0},
	{"New-NetVirtualizationProviderAddress", VB_NEW, N_PA, PARAMS(pa_new), NULL, 0},
	{"Get-NetVirtualizationProviderAddress", VB_GET, N_PA, PARAMS(pa_get), NULL, 0},
	{"Set-NetVirtualizationProviderAddress", VB_SET, N_PA, PARAMS(pa_set), NULL, 0},
	{"Remove-NetVirtualizationProviderAddress", VB_REMOVE, N_PA, PARAMS(pa_get), NULL, 0},
	{"New-NetVirtualizationProviderRoute", VB_NEW, N_PROUTE, PARAMS(proute_new), NULL, 0},
	{"Get-NetVirtualizationProviderRoute", VB_GET, N_PROUTE, PARAMS(proute_get), NULL, 0},
	{"Set-NetVirtualizationProviderRoute", VB_SET, N_PROUTE, PARAMS(proute_set), NULL, 0},
	{"Remove-NetVirtualizationProviderRoute", VB_REMOVE, N_PROUTE, PARAMS(proute_get), NULL, 0},
	{"Get-NetVirtualizationGlobal", VB_GET, N_GLOBAL, NULL, 0, NULL, 0},
	{"Set-NetVirtualizationGlobal", VB_SET, N_GLOBAL, PARAMS(global_set), NULL, 0},
	{"Select-NetVirtualizationNextHop", VB_SELECT, N_NEXTHOP, PARAMS(nexthop_sel),
	 PARAMS(nexthop_pos)},
};

const struct cmdlet *ps_cmdlet_find(const char *name)
{
	for (size_t i = 0; i < PS_COUNT(cmdlets); i++)
		if (hnv_ascii_caseeq(cmdlets[i].name, name))
			return &cmdlets[i];
	return NULL;
}

static bool changes(const struct cmdlet *c)
{
	return c->verb == VB_NEW || c->verb == VB_SET || c->verb == VB_REMOVE;
}

/* The flags of id in the n parameters p; false if not among them. */
static bool param_in(const struct cparam *p, size_t n, enum pid id, uint8_t *flags)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].id == id) {
			*flags = p[i].flags;
			return true;
		}
	return false;
}

bool ps_cmdlet_param(const struct cmdlet *c, enum pid id, uint8_t *flags)
{
	if (param_in(c->p, c->np, id, flags))
		return true;
	if (param_in(common_all, PS_COUNT(common_all), id, flags))
		return true;
	return changes(c) && param_in(common_change, PS_COUNT(common_change), id, flags);
}

void ps_cmdlet_params_desc(const struct cmdlet *c, char *buf, size_t len)
{
	size_t o = 0;
	uint8_t fl;
	buf[0] = '\0';
	/* its own parameters in the reference's order, then the common ones */
	const struct cparam *sets[] = {c->p, common_all, common_change};
	size_t ns[] = {c->np, PS_COUNT(common_all), PS_COUNT(common_change)};
	for (size_t k = 0; k < PS_COUNT(sets); k++)
		for (size_t i = 0; i < ns[k]; i++) {
			if (!ps_cmdlet_param(c, sets[k][i].id, &fl))
				continue;
			int n = snprintf(buf + o, len - o, " -%s", ps_pdefs[sets[k][i].id].name);
			if (n < 0 || (size_t)n >= len - o)
				return;
			o += (size_t)n;
		}
}

bool ps_given(const struct cmd *c, enum pid id, uint8_t flag)
{
	uint8_t fl;
	return c->a[id].n && ps_cmdlet_param(c->def, id, &fl) && (fl & flag);
}

bool ps_has_flag(const struct cmd *f, uint8_t flag)
{
	for (unsigned k = 0; k < P__COUNT; k++)
		if (ps_given(f, (enum pid)k, flag))
			return true;
	return false;
}

/* PowerShell's own number syntax, not the config text's (hnv_parse_dec):
 * leading zeros are decimal, 0x is hex. */
bool ps_num_parse(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		int d = hnv_hex_val(*s);
		if (d < 0 || (unsigned)d >= base)
			return false;
		v = v * base + (unsigned)d;
		if (v > max)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

const struct ps_enum ps_rules[3] = {
	{"TranslationMethodNat", "nat", HNV_RULE_NAT},
	{"TranslationMethodEncap", "encap", HNV_RULE_ENCAP},
	{"TranslationMethodNone", "none", HNV_RULE_NONE},
};
const struct ps_enum ps_types[4] = {
	{"Static", "static", HNV_TYPE_STATIC},
	{"Dynamic", "dynamic", HNV_TYPE_DYNAMIC},
	{"GatewayWildcard", "gateway-wildcard", HNV_TYPE_GATEWAY_WILDCARD},
	{"L2Only", "l2only", HNV_TYPE_L2ONLY},
};

int ps_enum_find(const char *s, bool is_rule, bool conf)
{
	const struct ps_enum *e = is_rule ? ps_rules : ps_types;
	size_t n = is_rule ? PS_COUNT(ps_rules) : PS_COUNT(ps_types);
	uint32_t num;
	bool isnum = ps_num_parse(s, 255, &num);
	for (size_t i = 0; i < n; i++)
		if (hnv_ascii_caseeq(s, e[i].name) || (isnum && num == e[i].num) ||
		    (conf && hnv_ascii_caseeq(s, e[i].conf)))
			return (int)i;
	return -1;
}

bool ps_bool_text(const char *s, bool *out)
{
	static const char *const t[] = {"True", "$true", "1", "on", "yes"};
	static const char *const f[] = {"False", "$false", "0", "off", "no"};
	for (size_t i = 0; i < PS_COUNT(t); i++) {
		if (hnv_ascii_caseeq(s, t[i])) {
			*out = true;
			return true;
		}
		if (hnv_ascii_caseeq(s, f[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}
