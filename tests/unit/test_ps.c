/* test_ps.c: the NetWNV (PowerShell) front end, mgmt/cli/ps*.c.
 *
 * The fake io is a small stateful stand-in for hnvgwd: exec records each
 * transaction, checks that every line parses with the real config-text
 * parser and updates show rows the way the daemon documents them in
 * mgmt/api.h; tests can preload canned rows.
 *
 * Run from the repository root: the demo test reads tests/data/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <urcu/urcu-qsbr.h>

#include "../../datapath/policy_read.h"
#include "../../mgmt/cli/ps.h"
#include "../../mgmt/conf_apply.h"

#define DEMO_PS "tests/data/bluered.ps1"
#define DEMO_CONF "tests/data/bluered-host1.conf"

/* ---- the fake daemon ---- */

enum what {
	W_RDOMAINS,
	W_VSUBNETS,
	W_LOOKUP,
	W_ROUTES,
	W_PA,
	W_PROUTES,
	W_GLOBAL,
	W_STATUS,
	W__COUNT
};
static const char *const what_names[W__COUNT] = {"rdomains", "vsubnets", "lookup", "routes",
						 "pa",       "proutes",  "global", "status"};

#define TX_MAX 64

struct fake {
	json_object *rows[W__COUNT];
	char *tx[TX_MAX]; /* each exec: its lines joined by '\n' */
	unsigned ntx;
	const char *refuse;      /* exec fails with this message */
	const char *not_applied; /* exec commits, but says this was not applied */
	unsigned shows;
	/* nexthop */
	json_object *nh_result;
	const char *nh_error;
	unsigned nh_vsid;
	char nh_src[64], nh_dst[64];
	bool nh_called, nh_src_null;
	/* the last run */
	char *out, *err;
};

static json_object *parse_json(const char *text)
{
	json_object *o = json_tokener_parse(text);
	if (o == NULL)
		fail_msg("bad JSON in test: %s", text);
	return o;
}

static void load(struct fake *f, enum what w, const char *json)
{
	json_object_put(f->rows[w]);
	f->rows[w] = parse_json(json);
}

static void add_row(struct fake *f, enum what w, json_object *row)
{
	json_object_array_add(f->rows[w], row);
}

/* Removes rows of w for which key(row) equals val. */
static unsigned del_rows(struct fake *f, enum what w, const char *k1, const char *v1,
			 const char *k2, const char *v2, const char *k3, const char *v3)
{
	json_object *a = f->rows[w], *n = json_object_new_array();
	unsigned removed = 0;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *row = json_object_array_get_idx(a, i), *v;
		const char *keys[3] = {k1, k2, k3}, *vals[3] = {v1, v2, v3};
		bool match = true;
		for (int k = 0; k < 3 && match; k++) {
			if (keys[k] == NULL)
				continue;
			match = json_object_object_get_ex(row, keys[k], &v) &&
				strcmp(json_object_get_string(v), vals[k]) == 0;
		}
		if (match)
			removed++;
		else
			json_object_array_add(n, json_object_get(row));
	}
	json_object_put(a);
	f->rows[w] = n;
	return removed;
}

static void fmt_mac12(const struct hnv_mac *m, char t[13])
{
	snprintf(t, 13, "%02X%02X%02X%02X%02X%02X", m->b[0], m->b[1], m->b[2], m->b[3], m->b[4],
		 m->b[5]);
}

static const char *rule_name(enum hnv_rule r)
{
	return r == HNV_RULE_NAT    ? "TranslationMethodNat"
	       : r == HNV_RULE_NONE ? "TranslationMethodNone"
				    : "TranslationMethodEncap";
}

static const char *type_name(enum hnv_rec_type t)
{
	switch (t) {
	case HNV_TYPE_DYNAMIC:
		return "Dynamic";
	case HNV_TYPE_GATEWAY_WILDCARD:
		return "GatewayWildcard";
	case HNV_TYPE_L2ONLY:
		return "L2Only";
	default:
		return "Static";
	}
}

static json_object *lookup_row(const struct hnv_conf_lookup *s)
{
	char ca[64], pa[64], mac[13], cid[40] = "";
	hnv_fmt_ip(&s->ca, ca, sizeof(ca));
	hnv_fmt_ip(&s->pa, pa, sizeof(pa));
	fmt_mac12(&s->mac, mac);
	if (s->has_customer_id)
		hnv_fmt_guid(&s->customer_id, cid, sizeof(cid));
	json_object *o = json_object_new_object();
	json_object_object_add(o, "CustomerAddress", json_object_new_string(ca));
	json_object_object_add(o, "VirtualSubnetID", json_object_new_int64(s->vsid));
	json_object_object_add(o, "MACAddress", json_object_new_string(mac));
	json_object_object_add(o, "ProviderAddress", json_object_new_string(pa));
	json_object_object_add(o, "CustomerID", json_object_new_string(cid));
	json_object_object_add(o, "Context", json_object_new_string(s->context));
	json_object_object_add(o, "Rule", json_object_new_string(rule_name(s->rule)));
	json_object_object_add(o, "VMName", json_object_new_string(s->vm_name));
	json_object_object_add(o, "UseVmMACAddress", json_object_new_boolean(s->use_vm_mac));
	json_object_object_add(o, "Type", json_object_new_string(type_name(s->type)));
	return o;
}

static const char *rdid_of(struct fake *f, const char *rdomain)
{
	json_object *a = f->rows[W_RDOMAINS], *v;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *row = json_object_array_get_idx(a, i);
		if (json_object_object_get_ex(row, "name", &v) &&
		    strcmp(json_object_get_string(v), rdomain) == 0 &&
		    json_object_object_get_ex(row, "rdid", &v))
			return json_object_get_string(v);
	}
	return "";
}

/* The value after option opt in a space-separated line, or NULL. */
static const char *word_after(const char *line, const char *opt, char *buf, size_t len)
{
	const char *p = strstr(line, opt);
	if (p == NULL)
		return NULL;
	p += strlen(opt);
	while (*p == ' ')
		p++;
	size_t n = strcspn(p, " ");
	if (n >= len)
		n = len - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

static bool starts(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Lines the fake keeps as rows itself (provider routes, the global
 * UseExternalRouter); they must parse like every other line. */
static bool textual(const char *line)
{
	return starts(line, "proute ") || starts(line, "global set --use-external-router");
}

static void apply_line(struct fake *f, const char *line)
{
	char err[512] = "", a[64], b[64], c[64], d[64];
	if (textual(line)) {
		struct hnv_conf_cmd cmd;
		if (hnv_conf_parse_line(line, &cmd, err, sizeof(err)) != 1)
			fail_msg("exec'd line does not parse: \"%s\": %s", line, err);
		if (starts(line, "proute add")) {
			json_object *o = json_object_new_object();
			json_object_object_add(
				o, "prefix",
				json_object_new_string(word_after(line, "--prefix", a, 64)));
			json_object_object_add(
				o, "nexthop",
				json_object_new_string(word_after(line, "--nexthop", b, 64)));
			json_object_object_add(
				o, "dev", json_object_new_string(word_after(line, "--dev", c, 64)));
			if (word_after(line, "--metric", d, 64))
				json_object_object_add(o, "metric",
						       json_object_new_int64(atoll(d)));
			add_row(f, W_PROUTES, o);
		} else if (starts(line, "proute del")) {
			assert_true(del_rows(f, W_PROUTES, "prefix",
					     word_after(line, "--prefix", a, 64), "nexthop",
					     word_after(line, "--nexthop", b, 64), NULL,
					     NULL) == 1);
		} else {
			const char *v = word_after(line, "--use-external-router", a, 64);
			assert_non_null(v);
			load(f, W_GLOBAL,
			     strcmp(v, "on") == 0 ? "[{\"use_external_router\":true}]"
						  : "[{\"use_external_router\":false}]");
		}
		return;
	}
	struct hnv_conf_cmd cmd;
	if (hnv_conf_parse_line(line, &cmd, err, sizeof(err)) != 1)
		fail_msg("exec'd line does not parse: \"%s\": %s", line, err);
	json_object *o;
	char ip[64], pfx[64], mac[13], g[40];
	switch (cmd.kind) {
	case HNV_CONF_RDOMAIN_ADD:
		hnv_fmt_guid(&cmd.u.rdomain.rdid, g, sizeof(g));
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(cmd.u.rdomain.name));
		json_object_object_add(o, "rdid", json_object_new_string(g));
		add_row(f, W_RDOMAINS, o);
		break;
	case HNV_CONF_VSUBNET_ADD: {
		o = json_object_new_object();
		json_object_object_add(o, "vsid", json_object_new_int64(cmd.u.vsubnet.vsid));
		json_object_object_add(o, "rdomain", json_object_new_string(cmd.u.vsubnet.rdomain));
		json_object *pl = json_object_new_array();
		for (unsigned i = 0; i < cmd.u.vsubnet.n_prefixes; i++) {
			hnv_fmt_prefix(&cmd.u.vsubnet.prefixes[i], pfx, sizeof(pfx));
			json_object_array_add(pl, json_object_new_string(pfx));
		}
		json_object_object_add(o, "prefixes", pl);
		add_row(f, W_VSUBNETS, o);
		break;
	}
	case HNV_CONF_LOOKUP_ADD:
		add_row(f, W_LOOKUP, lookup_row(&cmd.u.lookup));
		break;
	case HNV_CONF_LOOKUP_SET:
	case HNV_CONF_LOOKUP_DEL:
		hnv_fmt_ip(&cmd.u.lookup.ca, ip, sizeof(ip));
		fmt_mac12(&cmd.u.lookup.mac, mac);
		snprintf(a, sizeof(a), "%u", cmd.u.lookup.vsid);
		{
			/* VirtualSubnetID is a number in the rows: compare as text */
			json_object *arr = f->rows[W_LOOKUP], *n = json_object_new_array(), *v;
			unsigned hit = 0;
			for (size_t i = 0; i < json_object_array_length(arr); i++) {
				json_object *row = json_object_array_get_idx(arr, i);
				bool m = json_object_object_get_ex(row, "VirtualSubnetID", &v) &&
					 strcmp(json_object_get_string(v), a) == 0 &&
					 json_object_object_get_ex(row, "CustomerAddress", &v) &&
					 strcmp(json_object_get_string(v), ip) == 0 &&
					 json_object_object_get_ex(row, "MACAddress", &v) &&
					 strcmp(json_object_get_string(v), mac) == 0;
				if (m) {
					hit++;
					if (cmd.kind == HNV_CONF_LOOKUP_SET)
						json_object_array_add(n, lookup_row(&cmd.u.lookup));
				} else {
					json_object_array_add(n, json_object_get(row));
				}
			}
			json_object_put(arr);
			f->rows[W_LOOKUP] = n;
			assert_int_equal(hit, 1);
		}
		break;
	case HNV_CONF_ROUTE_ADD:
		hnv_fmt_prefix(&cmd.u.route.prefix, pfx, sizeof(pfx));
		hnv_fmt_ip(&cmd.u.route.nexthop, ip, sizeof(ip));
		o = json_object_new_object();
		json_object_object_add(o, "RoutingDomainID",
				       json_object_new_string(rdid_of(f, cmd.u.route.rdomain)));
		json_object_object_add(o, "VirtualSubnetID",
				       json_object_new_int64(cmd.u.route.vsid));
		json_object_object_add(o, "DestinationPrefix", json_object_new_string(pfx));
		json_object_object_add(o, "NextHop", json_object_new_string(ip));
		json_object_object_add(o, "Metric", json_object_new_int64(cmd.u.route.metric));
		json_object_object_add(o, "rdomain", json_object_new_string(cmd.u.route.rdomain));
		add_row(f, W_ROUTES, o);
		break;
	case HNV_CONF_ROUTE_DEL:
		hnv_fmt_prefix(&cmd.u.route.prefix, pfx, sizeof(pfx));
		hnv_fmt_ip(&cmd.u.route.nexthop, ip, sizeof(ip));
		assert_int_equal(del_rows(f, W_ROUTES, "rdomain", cmd.u.route.rdomain,
					  "DestinationPrefix", pfx, "NextHop", ip),
				 1);
		break;
	case HNV_CONF_PA_ADD:
		hnv_fmt_ip(&cmd.u.pa.addr.addr, ip, sizeof(ip));
		o = json_object_new_object();
		json_object_object_add(o, "ProviderAddress", json_object_new_string(ip));
		json_object_object_add(o, "PrefixLength", json_object_new_int64(cmd.u.pa.addr.len));
		json_object_object_add(o, "InterfaceName", json_object_new_string(cmd.u.pa.dev));
		add_row(f, W_PA, o);
		break;
	case HNV_CONF_PA_DEL:
		hnv_fmt_ip(&cmd.u.pa.addr.addr, ip, sizeof(ip));
		assert_int_equal(del_rows(f, W_PA, "ProviderAddress", ip, NULL, NULL, NULL, NULL),
				 1);
		break;
	default:
		fail_msg("unexpected line \"%s\"", line);
	}
}

static int fake_exec(void *ctx, const char *const *lines, size_t n, char *err, size_t errlen)
{
	struct fake *f = ctx;
	size_t len = 1;
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++)
		len += strlen(lines[i]) + 1;
	char *t = calloc(1, len);
	assert_non_null(t);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(t, "\n");
		strcat(t, lines[i]);
	}
	assert_true(f->ntx < TX_MAX);
	f->tx[f->ntx++] = t;
	if (f->refuse) {
		snprintf(err, errlen, "%s", f->refuse);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		apply_line(f, lines[i]);
	if (f->not_applied) {
		snprintf(err, errlen, "committed revision %u, but not applied: %s", f->ntx,
			 f->not_applied);
		return 1;
	}
	return 0;
}

static int fake_show(void *ctx, const char *what, json_object **rows, char *err, size_t errlen)
{
	struct fake *f = ctx;
	f->shows++;
	for (int w = 0; w < W__COUNT; w++)
		if (strcmp(what, what_names[w]) == 0) {
			*rows = NULL;
			assert_int_equal(json_object_deep_copy(f->rows[w], rows, NULL), 0);
			return 0;
		}
	snprintf(err, errlen, "unknown show \"%s\"", what);
	return -1;
}

static int fake_nexthop(void *ctx, unsigned vsid, const char *src, const char *dst,
			json_object **result, char *err, size_t errlen)
{
	struct fake *f = ctx;
	f->nh_called = true;
	f->nh_vsid = vsid;
	f->nh_src_null = src == NULL;
	snprintf(f->nh_src, sizeof(f->nh_src), "%s", src ? src : "");
	snprintf(f->nh_dst, sizeof(f->nh_dst), "%s", dst);
	if (f->nh_error) {
		snprintf(err, errlen, "%s", f->nh_error);
		return -1;
	}
	*result = NULL;
	if (f->nh_result)
		assert_int_equal(json_object_deep_copy(f->nh_result, result, NULL), 0);
	return 0;
}

static void fake_clear_output(struct fake *f)
{
	free(f->out);
	free(f->err);
	f->out = f->err = NULL;
}

static void fake_clear_tx(struct fake *f)
{
	for (unsigned i = 0; i < f->ntx; i++)
		free(f->tx[i]);
	f->ntx = 0;
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	for (int w = 0; w < W__COUNT; w++)
		f->rows[w] = json_object_new_array();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;
	for (int w = 0; w < W__COUNT; w++)
		json_object_put(f->rows[w]);
	json_object_put(f->nh_result);
	fake_clear_tx(f);
	fake_clear_output(f);
	free(f);
	return 0;
}

/* Runs script against the fake; output and errors land in f->out, f->err. */
static int run_len(struct fake *f, const char *script, size_t len)
{
	size_t no, ne;
	fake_clear_output(f);
	struct hnv_ps_io io = {
		.ctx = f,
		.exec = fake_exec,
		.show = fake_show,
		.nexthop = fake_nexthop,
		.out = open_memstream(&f->out, &no),
		.err = open_memstream(&f->err, &ne),
	};
	assert_non_null(io.out);
	assert_non_null(io.err);
	int rc = hnv_ps_run(script, len, &io);
	fclose(io.out);
	fclose(io.err);
	return rc;
}

static int run(struct fake *f, const char *script)
{
	return run_len(f, script, strlen(script));
}

static void run_ok(struct fake *f, const char *script)
{
	int rc = run(f, script);
	if (rc != 0)
		fail_msg("rc %d for script:\n%s\nerrors:\n%s", rc, script, f->err);
	assert_string_equal(f->err, "");
}

static void assert_tx(const struct fake *f, unsigned i, const char *want)
{
	if (i >= f->ntx)
		fail_msg("transaction %u missing (%u exec'd), want:\n%s", i, f->ntx, want);
	if (strcmp(f->tx[i], want) != 0)
		fail_msg("transaction %u:\n%s\nwant:\n%s", i, f->tx[i], want);
}

/* Exactly one transaction, equal to want. */
static void assert_one_tx(const struct fake *f, const char *want)
{
	if (f->ntx != 1)
		fail_msg("%u transactions, want 1: %s", f->ntx, want);
	assert_tx(f, 0, want);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* A syntax error: rc 2, nothing exec'd, message mentions want. */
static void syntax_err(struct fake *f, const char *script, const char *want)
{
	fake_clear_tx(f);
	f->shows = 0;
	int rc = run(f, script);
	if (rc != 2 || f->ntx != 0 || strstr(f->err, want) == NULL)
		fail_msg("script:\n%s\nrc %d, %u exec'd, error \"%s\", want \"%s\"", script, rc,
			 f->ntx, f->err, want);
	assert_int_equal(f->shows, 0);
}

/* The demo topology's subnets, preloaded as the daemon would show them. */
static void preload_bluered(struct fake *f)
{
	load(f, W_RDOMAINS,
	     "[{\"name\":\"blue\",\"rdid\":\"{11111111-2222-3333-4444-000000005001}\"},"
	     "{\"name\":\"red\",\"rdid\":\"{11111111-2222-3333-4444-000000006001}\"}]");
	load(f, W_VSUBNETS,
	     "[{\"vsid\":5001,\"rdomain\":\"blue\",\"prefixes\":[\"10.0.0.0/24\"]},"
	     "{\"vsid\":6001,\"rdomain\":\"red\",\"prefixes\":[\"10.0.0.0/24\"]}]");
}

#define ROW_BLUE1                                                                                  \
	"{\"CustomerAddress\":\"10.0.0.5\",\"VirtualSubnetID\":5001,\"MACAddress\":"               \
	"\"060600000005\",\"ProviderAddress\":\"192.168.4.11\",\"CustomerID\":"                    \
	"\"{11111111-2222-3333-4444-000000005001}\",\"Context\":\"HNV Demo\",\"Rule\":"            \
	"\"TranslationMethodEncap\",\"VMName\":\"Blue1\",\"UseVmMACAddress\":false,\"Type\":"      \
	"\"Static\"}"
#define ROW_BLUE2                                                                                  \
	"{\"CustomerAddress\":\"10.0.0.7\",\"VirtualSubnetID\":5001,\"MACAddress\":"               \
	"\"060600000007\",\"ProviderAddress\":\"192.168.4.22\",\"CustomerID\":"                    \
	"\"{11111111-2222-3333-4444-000000005001}\",\"Context\":\"\",\"Rule\":"                    \
	"\"TranslationMethodEncap\",\"VMName\":\"Blue2\",\"UseVmMACAddress\":false,\"Type\":"      \
	"\"Static\"}"
#define ROW_RED1                                                                                   \
	"{\"CustomerAddress\":\"10.0.0.5\",\"VirtualSubnetID\":6001,\"MACAddress\":"               \
	"\"080800000005\",\"ProviderAddress\":\"192.168.4.11\",\"CustomerID\":"                    \
	"\"{11111111-2222-3333-4444-000000006001}\",\"Context\":\"\",\"Rule\":"                    \
	"\"TranslationMethodEncap\",\"VMName\":\"Red1\",\"UseVmMACAddress\":false,\"Type\":"       \
	"\"Static\"}"

static void preload_records(struct fake *f)
{
	preload_bluered(f);
	load(f, W_LOOKUP, "[" ROW_BLUE1 "," ROW_BLUE2 "," ROW_RED1 "]");
}

#define NEW_BLUE1                                                                                  \
	"New-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.5 -VirtualSubnetID 5001 "       \
	"-MACAddress 060600000005 -ProviderAddress 192.168.4.11 -Rule TranslationMethodEncap"
#define ADD_BLUE1                                                                                  \
	"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005 --rule encap"

/* ---- syntax ---- */

static void test_basic_new_lookup(void **state)
{
	struct fake *f = *state;
	preload_bluered(f);
	run_ok(f, NEW_BLUE1);
	assert_one_tx(f, ADD_BLUE1);
	assert_string_equal(f->out, "");
}

static void test_all_lookup_options(void **state)
{
	struct fake *f = *state;
	preload_bluered(f);
	run_ok(f,
	       "New-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.9 -VirtualSubnetID 5001 "
	       "-MACAddress 00-15-5d-e2-ab-00 -ProviderAddress 192.168.4.11 -Rule "
	       "TranslationMethodNat -CustomerID 11111111-2222-3333-4444-00000000abcd -Context "
	       "'HNV Demo' -VMName Web-1 -UseVmMACAddress $true -Type Dynamic");
	assert_one_tx(f,
		      "lookup add --vsid 5001 --ca 10.0.0.9 --pa 192.168.4.11 --mac 00155DE2AB00 "
		      "--rule nat --type dynamic --vm-name Web-1 --customer-id "
		      "{11111111-2222-3333-4444-00000000ABCD} --context \"HNV Demo\" --use-vm-mac");
}

static void test_case_insensitive_and_prefixes(void **state)
{
	struct fake *f = *state;
	preload_bluered(f);
	run_ok(f, "new-netvirtualizationlookuprecord -customera 10.0.0.5 -VI 5001 -mac "
		  "060600000005 -p 192.168.4.11 -r translationmethodencap");
	assert_one_tx(f, ADD_BLUE1);
}

static void test_ambiguous_prefix(void **state)
{
	struct fake *f = *state;
	syntax_err(f,
		   "New-NetVirtualizationLookupRecord -Cust 10.0.0.5 -VirtualSubnetID 5001 "
		   "-MACAddress 060600000005 -ProviderAddress 192.168.4.11 -Rule "
		   "TranslationMethodEncap",
		   "line 1: New-NetVirtualizationLookupRecord: parameter -Cust is ambiguous; "
		   "possible matches: -CustomerAddress -CustomerID");
	/* -V: VirtualSubnetID or VMName */
	syntax_err(f, "Get-NetVirtualizationLookupRecord -V 5001", "-VirtualSubnetID -VMName");
}

static void test_colon_syntax(void **state)
{
	struct fake *f = *state;
	preload_bluered(f);
	run_ok(f, "New-NetVirtualizationLookupRecord -CustomerAddress:10.0.0.5 -VirtualSubnetID: "
		  "5001 -MACAddress:'060600000005' -ProviderAddress:\"192.168.4.11\" "
		  "-Rule:TranslationMethodEncap -UseVmMACAddress:$false");
	assert_one_tx(f, ADD_BLUE1);
}

static void test_quotes(void **state)
{
	struct fake *f = *state;
	preload_bluered(f);
	/* single quotes: literal, '' is a quote; # and ` and $ are text */
	run_ok(f, NEW_BLUE1 " -Context 'it''s #1: `n $x \"q\"'");
	assert_one_tx(f, ADD_BLUE1 " --context \"it's #1: `n $x \\\"q\\\"\"");
	fake_clear_tx(f);
	load(f, W_LOOKUP, "[]");
	/* double quotes: backtick escapes, "" is a quote, `$ a dollar */
	run_ok(f, NEW_BLUE1 " -Context \"a`\"b\"\"c`td `$5 #x\"");
	assert_one_tx(f, ADD_BLUE1 " --context \"a\\\"b\\\"c\td $5 #x\"");
	fake_clear_tx(f);
	load(f, W_LOOKUP, "[]");
	/* a value starting with -- must not become a config option */
	run_ok(f, NEW_BLUE1 " -Context '--pa 1.2.3.4'");
	assert_one_tx(f, ADD_BLUE1 " --context \"--pa 1.2.3.4\"");
}

static void test_switch_and_bool(void **state)
{
	struct fake *f = *state;
	preload_bluered(f);
	const char *nat = "New-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.5 "
			  "-VirtualSubnetID 5001 -MACAddress 060600000005 -ProviderAddress "
			  "192.168.4.11 -Rule TranslationMethodNat ";
	char s[512];
	snprintf(s, sizeof(s), "%s-UseVmMACAddress", nat);
	run_ok(f, s);
	snprintf(s, sizeof(s), "%s-UseVmMACAddress -Type Static", nat);
	load(f, W_LOOKUP, "[]");
	run_ok(f, s);
	snprintf(s, sizeof(s), "%s-UseVmMACAddress $TRUE", nat);
	load(f, W_LOOKUP, "[]");
	run_ok(f, s);
	snprintf(s, sizeof(s), "%s-UseVmMACAddress 0", nat);
	load(f, W_LOOKUP, "[]");
	run_ok(f, s);
	const char *base = "lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac "
			   "060600000005 --rule nat";
	char w[512];
	assert_int_equal(f->ntx, 4);
	snprintf(w, sizeof(w), "%s --use-vm-mac", base);
	assert_tx(f, 0, w);
	snprintf(w, sizeof(w), "%s --type static --use-vm-mac", base);
	assert_tx(f, 1, w);
	snprintf(w, sizeof(w), "%s --use-vm-mac", base);
	assert_tx(f, 2, w);
	assert_tx(f, 3, base);
	syntax_err(f, "Set-NetVirtualizationGlobal -UseExternalRouter yes",
		   "unexpected argument \"yes\"");
	syntax_err(f, "Set-NetVirtualizationGlobal -UseExternalRouter:yes",
		   "invalid -UseExternalRouter value \"yes\": must be $true or $false");
}

static void test_enum_numbers(void **state)
{
	struct fake *f = *state;
	preload_bluered(f);
	run_ok(f,
	       "New-NetVirtualizationLookupRecord -CustomerAddress 0.0.0.0 -VirtualSubnetID 5001 "
	       "-MACAddress 0A0A0A0A0A01 -ProviderAddress 192.168.4.11 -Rule 36 -Type 37");
	assert_one_tx(f, "lookup add --vsid 5001 --ca 0.0.0.0 --pa 192.168.4.11 --mac 0A0A0A0A0A01 "
			 "--rule encap --type gateway-wildcard");
	syntax_err(f, NEW_BLUE1 " -Type 38", "invalid -Type value \"38\"");
	/* strict: the NetWNV names only */
	syntax_err(f,
		   "New-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.5 -VirtualSubnetID "
		   "5001 -MACAddress 060600000005 -ProviderAddress 192.168.4.11 -Rule Encap",
		   "invalid -Rule value \"Encap\": must be TranslationMethodEncap");
}

static void test_continuation_error_first(void **state)
{
	struct fake *f = *state;
	syntax_err(f,
		   "New-NetVirtualizationLookupRecord `\n"
		   "    -CustomerAddress 10.0.0.5 `\n"
		   "    -VirtualSubnetID 5001 -MACAddress 060600000005 # no PA, no Rule\n",
		   "line 1: New-NetVirtualizationLookupRecord: missing mandatory parameter "
		   "-ProviderAddress");
}

static void test_continuation_ok(void **state)
{
	struct fake *f = *state;
	preload_bluered(f);
	run_ok(f, "# a comment line\r\n"
		  "<# a block\n   comment #>\n"
		  "New-NetVirtualizationLookupRecord `\r\n"
		  "    -CustomerAddress 10.0.0.5 `\n"
		  "    -VirtualSubnetID 5001 -MACAddress 060600000005 `\n"
		  "    -ProviderAddress 192.168.4.11 -Rule TranslationMethodEncap # trailing\n"
		  "; New-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.7 -VirtualSubnetID "
		  "5001 "
		  "-MACAddress 060600000007 -ProviderAddress 192.168.4.22 -Rule "
		  "TranslationMethodEncap -Context 'a#b'; Get-NetVirtualizationGlobal\n");
	assert_int_equal(f->ntx, 2);
	assert_tx(f, 0, ADD_BLUE1);
	assert_tx(f, 1,
		  "lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 060600000007 "
		  "--rule encap --context \"a#b\"");
	assert_string_equal(f->out, "\nUseExternalRouter : False\n\n\n");
}

static void test_comma_lists(void **state)
{
	struct fake *f = *state;
	preload_records(f);
	run_ok(f, "Get-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.5,'10.0.0.7' "
		  "-VirtualSubnetID 5001");
	assert_int_equal(f->ntx, 0);
	assert_contains(f->out, "VMName          : Blue1");
	assert_contains(f->out, "VMName          : Blue2");
	assert_null(strstr(f->out, "Red1"));
	/* a list may continue on the next line after a comma */
	run_ok(f, "Remove-NetVirtualizationLookupRecord -VMName \"Blue1\",\n    'Red*'");
	assert_one_tx(f, "lookup del --vsid 5001 --ca 10.0.0.5 --mac 060600000005\n"
			 "lookup del --vsid 6001 --ca 10.0.0.5 --mac 080800000005");
}

static void test_typographic_dashes_quotes_bom(void **state)
{
	struct fake *f = *state;
	preload_bluered(f);
	run_ok(f, "\xef\xbb\xbfNew-NetVirtualizationLookupRecord \xe2\x80\x93"
		  "CustomerAddress \xe2\x80\x9c"
		  "10.0.0.5\xe2\x80\x9d -VirtualSubnetID 5001 -MACAddress \xe2\x80\x98"
		  "060600000005\xe2\x80\x99 -ProviderAddress 192.168.4.11 -Rule "
		  "TranslationMethodEncap");
	assert_one_tx(f, ADD_BLUE1);
}

static void test_common_parameters(void **state)
{
	struct fake *f = *state;
	preload_bluered(f);
	run_ok(f, NEW_BLUE1 " -CimSession localhost,. -ThrottleLimit 4 -AsJob -Confirm:$false");
	assert_one_tx(f, ADD_BLUE1);
}

static void test_whatif(void **state)
{
	struct fake *f = *state;
	preload_bluered(f);
	run_ok(f, NEW_BLUE1 " -WhatIf");
	assert_int_equal(f->ntx, 0);
	assert_string_equal(f->out, "What if: " ADD_BLUE1 "\n");
	load(f, W_LOOKUP, "[" ROW_BLUE1 "]");
	run_ok(f,
	       "Get-NetVirtualizationLookupRecord | Remove-NetVirtualizationLookupRecord -WhatIf");
	assert_int_equal(f->ntx, 0);
	assert_string_equal(f->out,
			    "What if: lookup del --vsid 5001 --ca 10.0.0.5 --mac 060600000005\n");
}

static void test_syntax_errors(void **state)
{
	struct fake *f = *state;
	static const struct {
		const char *script, *want;
	} cases[] = {
		{"Get-NetVirtualizationGlobal\nNew-NetVirtualizationFoo -X 1",
		 "line 2: unknown cmdlet \"New-NetVirtualizationFoo\""},
		{"Get-NetVirtualizationLookupRecord -Foo 1", "unknown parameter -Foo"},
		{"Get-NetVirtualizationLookupRecord -VMName 'abc",
		 "line 1: unterminated single-quoted"},
		{"Get-NetVirtualizationLookupRecord -VMName \"abc`\"",
		 "unterminated double-quoted"},
		{"Get-NetVirtualizationLookupRecord -VirtualSubnetID 12",
		 "invalid -VirtualSubnetID value \"12\": must be a number 4096-16777214"},
		{"Get-NetVirtualizationLookupRecord -VirtualSubnetID abc",
		 "invalid -VirtualSubnetID value \"abc\""},
		{"Get-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.300",
		 "invalid -CustomerAddress value \"10.0.0.300\""},
		{"Get-NetVirtualizationLookupRecord -MACAddress 0606", "invalid -MACAddress value"},
		{"Get-NetVirtualizationCustomerRoute -RoutingDomainID {1234}",
		 "invalid -RoutingDomainID value \"{1234}\""},
		{"Get-NetVirtualizationCustomerRoute -DestinationPrefix 10.0.0.1/24",
		 "invalid -DestinationPrefix value \"10.0.0.1/24\""},
		{"Get-NetVirtualizationLookupRecord -VMName $vm", "variable $vm is not set"},
		{"Get-NetVirtualizationLookupRecord -VMName \"$vm\"", "variables and expressions"},
		{"Get-NetVirtualizationLookupRecord -VMName (Get-VM)", "unsupported character '('"},
		{"Get-NetVirtualizationLookupRecord 10.0.0.5",
		 "unexpected argument \"10.0.0.5\": Get-NetVirtualizationLookupRecord has no "
		 "positional parameters"},
		{"Get-NetVirtualizationLookupRecord -VMName", "missing value for -VMName"},
		{"Get-NetVirtualizationLookupRecord -VMName -Context x",
		 "missing value for -VMName"},
		{"Get-NetVirtualizationLookupRecord -VMName a -vmname b", "given more than once"},
		{NEW_BLUE1 " -VMName a,b", "-VMName takes one value, not a list of 2"},
		{"New-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.5,10.0.0.7 "
		 "-VirtualSubnetID 5001 -MACAddress 060600000005 -ProviderAddress 192.168.4.11 "
		 "-Rule TranslationMethodEncap",
		 "-CustomerAddress takes one value, not a list of 2"},
		{"New-NetVirtualizationCustomerRoute -VirtualSubnetID 5001",
		 "missing mandatory parameter -RoutingDomainID"},
		{"Get-NetVirtualizationLookupRecord -VMName a `",
		 "backtick at the end of the script"},
		{"Get-NetVirtualizationLookupRecord -VMName a ` \n -Context b",
		 "followed by spaces"},
		{"Get-NetVirtualizationLookupRecord -VMName a` \n -Context b",
		 "followed by spaces"},
		{"<# never closed", "unterminated <# comment"},
		{"Get-NetVirtualizationLookupRecord | Get-NetVirtualizationCustomerRoute",
		 "cannot pipe Get-NetVirtualizationLookupRecord into "
		 "Get-NetVirtualizationCustomerRoute"},
		{"Get-NetVirtualizationLookupRecord | Remove-NetVirtualizationCustomerRoute",
		 "cannot pipe"},
		{"Get-NetVirtualizationLookupRecord | Remove-NetVirtualizationLookupRecord -VMName "
		 "x",
		 "-VMName selects objects, which come from the pipeline"},
		{"Get-NetVirtualizationLookupRecord | Format-List | Format-List",
		 "Format-List cannot follow Format-Table or Format-List"},
		{"New-NetVirtualizationProviderAddress -ProviderAddress 1.2.3.4 -InterfaceIndex 1 "
		 "-PrefixLength 24 | Format-List",
		 "has no output"},
		{"Format-List", "Format-List needs input"},
		{"Get-NetVirtualizationLookupRecord -VMName 'a'b",
		 "unexpected 'b' after the closing"},
		{"Get-NetVirtualizationLookupRecord -VMName a\"b\"", "quote inside the word"},
		{"Get-NetVirtualizationLookupRecord -VMName a || b", "'||' is not supported"},
		{"Get-NetVirtualizationLookupRecord -VMName a > out.txt",
		 "unsupported character '>'"},
		{"Get-NetVirtualizationLookupRecord -VMName \"a`0b\"", "`0"},
		{"Get-NetVirtualizationLookupRecord -VMName \"a`nb\"",
		 "control characters are not"},
		{"Get-NetVirtualizationLookupRecord -VMName=a",
		 "unexpected '=' in parameter -VMName"},
		{"Get-NetVirtualizationLookupRecord -VMName a,", "missing value for -VMName"},
		{"Get-NetVirtualizationLookupRecord ,", "unexpected ','"},
		{"| Get-NetVirtualizationLookupRecord", "expected a cmdlet name, found '|'"},
		{"Get-NetVirtualizationLookupRecord -VMName a\x01", "control character 0x01"},
		{"Get-NetVirtualizationLookupRecord -ThrottleLimit $true",
		 "invalid -ThrottleLimit"},
		{"Select-NetVirtualizationNextHop -DestinationCustomerAddress 10.0.0.7",
		 "missing mandatory parameter -SourceVirtualSubnetID"},
		{"Set-NetVirtualizationLookupRecord -Type Static", "unknown parameter -Type"},
		{"Get-NetVirtualizationGlobal -WhatIf", "unknown parameter -WhatIf"},
	};
	preload_records(f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f->shows = 0;
		syntax_err(f, cases[i].script, cases[i].want);
	}
	/* a syntax error on the last line: the valid lines before it do not run */
	syntax_err(f,
		   NEW_BLUE1 "\nGet-NetVirtualizationLookupRecord\n"
			     "Remove-NetVirtualizationLookupRecord -VMName 'x",
		   "line 3: unterminated single-quoted string");
	assert_int_equal(f->ntx, 0);
	assert_string_equal(f->out, "");
}

static void test_empty_script(void **state)
{
	struct fake *f = *state;
	assert_int_equal(run(f, ""), 0);
	assert_int_equal(run(f, "\n\n  # only a comment\n;;\n"), 0);
	assert_int_equal(run_len(f, NULL, 0), 0);
	assert_int_equal(f->ntx, 0);
	assert_int_equal(hnv_ps_run("x", 1, NULL), 2);
	/* larger than one API request: refused before lexing */
	size_t big = (1u << 20) + 1;
	char *s = malloc(big);
	assert_non_null(s);
	memset(s, ';', big);
	assert_int_equal(run_len(f, s, big), 2);
	assert_contains(f->err, "line 1: script too large");
	memset(s, ';', big - 1);
	assert_int_equal(run_len(f, s, big - 1), 0);
	/* one value longer than a config line */
	memcpy(s, "Get-NetVirtualizationLookupRecord -VMName ", 42);
	memset(s + 42, 'a', 4097);
	assert_int_equal(run_len(f, s, 42 + 4097), 2);
	assert_contains(f->err, "line 1: Get-NetVirtualizationLookupRecord: -VMName value \"aaaa");
	assert_contains(f->err, "...\" is longer than 4096 bytes");
	free(s);
	/* a NUL byte in the middle is a syntax error, not the end of the script */
	assert_int_equal(run_len(f, "Get-NetVirtualizationGlobal\0x", 29), 2);
	assert_contains(f->err, "control character 0x00");
}

/* ---- -CimSession, positions, parameter lists ---- */

static void test_cim_session(void **state)
{
	struct fake *f = *state;
	preload_records(f);
	load(f, W_STATUS, "[{\"datapath\":\"userspace\",\"host\":\"hv-host1\"}]");
	/* another host: refused before anything runs, records untouched */
	int rc = run(f, "Get-NetVirtualizationLookupRecord -CimSession hv-host2 | "
			"Remove-NetVirtualizationLookupRecord");
	assert_int_equal(rc, 1);
	assert_int_equal(f->ntx, 0);
	assert_contains(f->err, "-CimSession \"hv-host2\" names another computer, but hnvgw acts "
				"only on the local hnvgwd (host \"hv-host1\"");
	assert_contains(f->err, "run hnvgw ps on it, or reach its hnvgwd with hnvgw --socket");
	assert_int_equal(json_object_array_length(f->rows[W_LOOKUP]), 3);
	/* a later statement naming another host stops the earlier ones too */
	rc = run(f, "Remove-NetVirtualizationLookupRecord -VMName Red1\n"
		    "Get-NetVirtualizationGlobal -CimSession 192.0.2.9");
	assert_int_equal(rc, 1);
	assert_int_equal(f->ntx, 0);
	assert_contains(f->err, "\"192.0.2.9\" names another computer");
	/* the daemon's host name (any case, with or without a domain),
	 * localhost, "." and this machine's name act here */
	char self[256] = "", s[512];
	assert_int_equal(gethostname(self, sizeof(self) - 1), 0);
	snprintf(s, sizeof(s),
		 "Get-NetVirtualizationLookupRecord -CimSession HV-HOST1.example.com -VMName "
		 "Red1 | Remove-NetVirtualizationLookupRecord -CimSession hv-host1\n"
		 "Get-NetVirtualizationGlobal -CimSession localhost,.,'%s'",
		 self);
	run_ok(f, s);
	assert_one_tx(f, "lookup del --vsid 6001 --ca 10.0.0.5 --mac 080800000005");
	/* a daemon that does not say its name: only the local names pass */
	load(f, W_STATUS, "[{\"datapath\":\"userspace\"}]");
	assert_int_equal(run(f, "Get-NetVirtualizationGlobal -CimSession hv-host1"), 1);
	assert_contains(f->err, "names another computer");
	run_ok(f, "Get-NetVirtualizationGlobal -CimSession LocalHost");
}

static void test_positional(void **state)
{
	struct fake *f = *state;
	f->nh_result =
		parse_json("{\"verdict\":\"forward\",\"next_hop_ca\":\"10.0.0.7\","
			   "\"mac\":\"06:06:00:00:00:07\",\"src_mac\":\"06:06:00:00:00:05\"}");
	/* [-SourceCustomerAddress] [-DestinationCustomerAddress]
	 * [-SourceVirtualSubnetID], positions 0, 1, 2 */
	run_ok(f, "Select-NetVirtualizationNextHop 10.0.0.5 10.0.0.7 5001");
	assert_true(f->nh_called);
	assert_string_equal(f->nh_src, "10.0.0.5");
	assert_string_equal(f->nh_dst, "10.0.0.7");
	assert_int_equal(f->nh_vsid, 5001);
	assert_contains(f->out, "NextHopMACAddress          : 060600000007");
	/* named parameters take their place; the others fill in order */
	run_ok(f, "Select-NetVirtualizationNextHop -SourceVirtualSubnetID 6001 10.0.0.7 10.0.0.5");
	assert_string_equal(f->nh_src, "10.0.0.7");
	assert_string_equal(f->nh_dst, "10.0.0.5");
	assert_int_equal(f->nh_vsid, 6001);
	run_ok(f, "Select-NetVirtualizationNextHop -SourceCustomerAddress 10.0.0.5 10.0.0.7 5001");
	assert_string_equal(f->nh_dst, "10.0.0.7");
	assert_int_equal(f->nh_vsid, 5001);
	syntax_err(f, "Select-NetVirtualizationNextHop 10.0.0.5 10.0.0.7 5001 x",
		   "unexpected argument \"x\": every positional parameter is bound already");
	syntax_err(f, "Select-NetVirtualizationNextHop 10.0.0.5 10.0.0.7 abc",
		   "invalid -SourceVirtualSubnetID value \"abc\"");
	/* as in PowerShell, one value binds position 0 */
	syntax_err(f, "Select-NetVirtualizationNextHop 10.0.0.7 -SourceVirtualSubnetID 5001",
		   "missing mandatory parameter -DestinationCustomerAddress");
	syntax_err(f, "New-NetVirtualizationCustomerRoute {11111111-2222-3333-4444-000000005001}",
		   "New-NetVirtualizationCustomerRoute has no positional parameters, name it (its "
		   "parameters: -RoutingDomainID -VirtualSubnetID -DestinationPrefix -NextHop "
		   "-Metric -CimSession -ThrottleLimit -AsJob -Confirm -WhatIf)");
}

static void test_unknown_parameter_lists_real_ones(void **state)
{
	struct fake *f = *state;
	syntax_err(f, "Get-NetVirtualizationGlobal -Foo 1",
		   "Get-NetVirtualizationGlobal: unknown parameter -Foo (the parameters of "
		   "Get-NetVirtualizationGlobal: -CimSession -ThrottleLimit -AsJob)");
	syntax_err(f, "Set-NetVirtualizationLookupRecord -Type Static",
		   "unknown parameter -Type (the parameters of Set-NetVirtualizationLookupRecord: "
		   "-CustomerAddress -VirtualSubnetID -MACAddress -ProviderAddress -CustomerID "
		   "-Context -Rule -VMName -UseVmMACAddress -CimSession -ThrottleLimit -AsJob "
		   "-Confirm -WhatIf)");
	syntax_err(f, "Set-NetVirtualizationGlobal -UseExternalRouter $true -Metric 5",
		   "(the parameters of Set-NetVirtualizationGlobal: -UseExternalRouter "
		   "-CimSession -ThrottleLimit -AsJob -Confirm -WhatIf)");
}

/* ---- Where-Object, Select-Object, Format-Table, variables ---- */

/* The VMName lines of f->out, joined by ',' (Format-List output). */
static const char *vm_names(struct fake *f, char *buf, size_t len)
{
	buf[0] = '\0';
	for (const char *p = f->out; (p = strstr(p, "VMName          : ")) != NULL;) {
		p += strlen("VMName          : ");
		size_t n = strcspn(p, "\n"), o = strlen(buf);
		snprintf(buf + o, len - o, "%s%.*s", o ? "," : "", (int)n, p);
	}
	return buf;
}

static void test_where_object(void **state)
{
	struct fake *f = *state;
	char b[256];
	preload_records(f);
	static const struct {
		const char *script, *want;
	} cases[] = {
		{"Get-NetVirtualizationLookupRecord | Where-Object { $_.VMName -eq 'blue1' }",
		 "Blue1"},
		{"Get-NetVirtualizationLookupRecord | ? {$_.virtualsubnetid -eq 6001}", "Red1"},
		{"Get-NetVirtualizationLookupRecord | where {$_.VirtualSubnetID -ne 06001}",
		 "Blue1,Blue2"},
		{"Get-NetVirtualizationLookupRecord | where VMName -like 'b*'", "Blue1,Blue2"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.VMName -notlike '*1' }", "Blue2"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.VMName -match '^(red|blue)2$' }",
		 "Blue2"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.CustomerAddress -notmatch '\\.5$' }",
		 "Blue2"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.CustomerAddress -eq '10.0.0.5' -and\n"
		 "  $_.CustomerID -eq '{11111111-2222-3333-4444-000000006001}' }",
		 "Red1"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.Rule -eq 36 } | ? { $_.Type -eq "
		 "'static' }",
		 "Blue1,Blue2,Red1"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.Rule -ne 'TranslationMethodEncap' }",
		 ""},
		{"Get-NetVirtualizationLookupRecord | ? { $_.UseVmMACAddress -eq $false -and "
		 "$_.MACAddress -like '0606*7'}",
		 "Blue2"},
		{"Get-NetVirtualizationLookupRecord -VirtualSubnetID 5001 | ? -FilterScript { "
		 "$_.Context -eq 'hnv demo' }",
		 "Blue1"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_ok(f, cases[i].script);
		if (strcmp(vm_names(f, b, sizeof(b)), cases[i].want) != 0)
			fail_msg("%s\ngave \"%s\", want \"%s\"", cases[i].script, b, cases[i].want);
	}
	/* nothing left after Where-Object is no error; nothing is printed */
	run_ok(f, "Get-NetVirtualizationLookupRecord | ? { $_.VMName -eq 'Green1' }");
	assert_string_equal(f->out, "");
	/* Get-...'s own filter still fails when it finds nothing */
	assert_int_equal(run(f, "Get-NetVirtualizationLookupRecord -VMName x | ? { $_.VMName "
				"-eq 'x' }"),
			 1);
	assert_contains(f->err, "No matching");
	assert_int_equal(f->ntx, 0);
}

static void test_where_remove(void **state)
{
	struct fake *f = *state;
	char b[256];
	preload_records(f);
	/* only what Where-Object lets through is removed */
	run_ok(f, "Get-NetVirtualizationLookupRecord -VirtualSubnetID 5001 |\n"
		  "  Where-Object { $_.VMName -like '*2' } | Remove-NetVirtualizationLookupRecord");
	assert_one_tx(f, "lookup del --vsid 5001 --ca 10.0.0.7 --mac 060600000007");
	run_ok(f, "Get-NetVirtualizationLookupRecord");
	assert_string_equal(vm_names(f, b, sizeof(b)), "Blue1,Red1");
	/* nothing matches: nothing is committed */
	fake_clear_tx(f);
	run_ok(f, "Get-NetVirtualizationLookupRecord | ? { $_.VMName -eq 'none' } | "
		  "Remove-NetVirtualizationLookupRecord");
	assert_int_equal(f->ntx, 0);
	/* Set too */
	run_ok(f, "Get-NetVirtualizationLookupRecord | ? { $_.VirtualSubnetID -eq 6001 } | "
		  "Set-NetVirtualizationLookupRecord -ProviderAddress 192.168.4.33");
	assert_one_tx(f, "lookup set --vsid 6001 --ca 10.0.0.5 --pa 192.168.4.33 --mac "
			 "080800000005 --rule encap --type static --vm-name Red1 --customer-id "
			 "{11111111-2222-3333-4444-000000006001}");
	/* routes: only the metric of the matching one changes */
	fake_clear_tx(f);
	load(f, W_ROUTES,
	     "[{\"RoutingDomainID\":\"{11111111-2222-3333-4444-000000005001}\","
	     "\"VirtualSubnetID\":5001,\"DestinationPrefix\":\"10.0.0.0/24\",\"NextHop\":"
	     "\"0.0.0.0\",\"Metric\":255,\"rdomain\":\"blue\"},"
	     "{\"RoutingDomainID\":\"{11111111-2222-3333-4444-000000005001}\","
	     "\"VirtualSubnetID\":5001,\"DestinationPrefix\":\"10.1.0.0/16\",\"NextHop\":"
	     "\"10.0.0.1\",\"Metric\":10,\"rdomain\":\"blue\"}]");
	run_ok(f, "Get-NetVirtualizationCustomerRoute | ? { $_.NextHop -ne '0.0.0.0' } | "
		  "Remove-NetVirtualizationCustomerRoute");
	assert_one_tx(f, "route del --rdomain blue --prefix 10.1.0.0/16 --nexthop 10.0.0.1");
}

static void test_select_and_format(void **state)
{
	struct fake *f = *state;
	preload_records(f);
	/* four or fewer properties: a table, numbers right-aligned */
	run_ok(f, "Get-NetVirtualizationLookupRecord | Select-Object VMName,VirtualSubnetID");
	assert_string_equal(f->out, "\n"
				    "VMName VirtualSubnetID\n"
				    "------ ---------------\n"
				    "Blue1             5001\n"
				    "Blue2             5001\n"
				    "Red1              6001\n"
				    "\n\n");
	/* -Property, any case, wildcards; the class's order */
	run_ok(f, "Get-NetVirtualizationLookupRecord -VMName Red1 | select -Property "
		  "*omerAddress,mac*,Provider*,vmname");
	assert_string_equal(f->out, "\n"
				    "CustomerAddress MACAddress   ProviderAddress VMName\n"
				    "--------------- ----------   --------------- ------\n"
				    "10.0.0.5        080800000005 192.168.4.11    Red1\n"
				    "\n\n");
	/* five or more: a list */
	run_ok(f, "Get-NetVirtualizationLookupRecord -VMName Red1 | Select-Object "
		  "VMName,Rule,Type,Context,CustomerID");
	assert_string_equal(f->out, "\n"
				    "VMName     : Red1\n"
				    "Rule       : TranslationMethodEncap\n"
				    "Type       : Static\n"
				    "Context    : \n"
				    "CustomerID : {11111111-2222-3333-4444-000000006001}\n"
				    "\n\n");
	/* Format-List / fl with properties; Format-Table / ft */
	run_ok(f, "Get-NetVirtualizationLookupRecord -VMName Blue2 | fl VMName,ProviderAddress");
	assert_string_equal(f->out,
			    "\nVMName          : Blue2\nProviderAddress : 192.168.4.22\n\n\n");
	run_ok(f, "Get-NetVirtualizationLookupRecord | ? {$_.VirtualSubnetID -eq 5001} | "
		  "Select-Object VMName,CustomerAddress,Rule | Format-Table -AutoSize VMName,Rule");
	assert_string_equal(f->out, "\n"
				    "VMName Rule\n"
				    "------ ----\n"
				    "Blue1  TranslationMethodEncap\n"
				    "Blue2  TranslationMethodEncap\n"
				    "\n\n");
	run_ok(f, "Get-NetVirtualizationGlobal | ft");
	assert_string_equal(f->out, "\nUseExternalRouter\n-----------------\nFalse\n\n\n");
	run_ok(f, "Get-NetVirtualizationLookupRecord -VMName Red1 | Format-Table");
	assert_contains(f->out, "CustomerAddress VirtualSubnetID MACAddress   ProviderAddress");
	assert_contains(f->out, "10.0.0.5                   6001 080800000005 192.168.4.11");
	/* Select-NetVirtualizationNextHop | Format-List still works */
	f->nh_result = parse_json("{\"verdict\":\"forward\",\"next_hop_ca\":\"10.0.0.7\"}");
	run_ok(f, "Select-NetVirtualizationNextHop 10.0.0.5 10.0.0.7 5001 | fl");
	assert_contains(f->out, "NextHopAddress             : 10.0.0.7");
}

static void test_variables(void **state)
{
	struct fake *f = *state;
	char b[256];
	preload_bluered(f);
	run_ok(f, "$vsid = 5001\n"
		  "$PA=\"192.168.4.11\"; $rule = 'TranslationMethodNat'\n"
		  "$useMac = $true\n"
		  "New-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.5 -VirtualSubnetID "
		  "$VSID -MACAddress 060600000005 -ProviderAddress $pa -Rule $rule "
		  "-UseVmMACAddress $useMac -VMName Blue1\n"
		  "$vsid = 5001, 6001   # reassigned: a list\n"
		  "$names = 'Blue1',\n   'Red1'\n"
		  "$both = $names, 'Blue2'; $not = 'Red1'\n"
		  "Get-NetVirtualizationLookupRecord -VirtualSubnetID $vsid -VMName $both | "
		  "Where-Object { $_.VMName -ne $not }");
	assert_one_tx(f, "lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac "
			 "060600000005 --rule nat --vm-name Blue1 --use-vm-mac");
	assert_string_equal(vm_names(f, b, sizeof(b)), "Blue1");
	assert_int_equal(run(f, "$n = 'Blue1'\nGet-NetVirtualizationLookupRecord | ? { "
				"$_.VMName -eq $n } | ft VMName"),
			 0);
	assert_string_equal(f->out, "\nVMName\n------\nBlue1\n\n\n");
	/* a list where one value is wanted is the usual error */
	syntax_err(f, "$c = '10.0.0.5', '10.0.0.7'\n" NEW_BLUE1 " -VMName $c",
		   "line 2: New-NetVirtualizationLookupRecord: -VMName takes one value, not a list "
		   "of 2");
}

static void test_pipeline_errors(void **state)
{
	struct fake *f = *state;
	static const struct {
		const char *script, *want;
	} cases[] = {
		{"Get-NetVirtualizationLookupRecord | ? { $_.Foo -eq 1 }",
		 "line 1: Where-Object: MSFT_NetVirtualizationLookupRecordSettingData objects "
		 "have no property \"Foo\" (they have: CustomerAddress, VirtualSubnetID, "
		 "MACAddress, ProviderAddress, CustomerID, Context, Rule, VMName, "
		 "UseVmMACAddress, Type)"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.Unusable -eq $false }",
		 "have no property \"Unusable\""},
		{"Get-NetVirtualizationLookupRecord | Select-Object VMName,Bar",
		 "Select-Object: MSFT_NetVirtualizationLookupRecordSettingData objects have no "
		 "property \"Bar\""},
		{"Get-NetVirtualizationCustomerRoute | ft Metric,VMName",
		 "Format-Table: MSFT_NetVirtualizationCustomerRouteSettingData objects have no "
		 "property \"VMName\" (they have: RoutingDomainID, VirtualSubnetID, "
		 "DestinationPrefix, NextHop, Metric)"},
		{"Get-NetVirtualizationLookupRecord | select VMName | ft Rule",
		 "Format-Table: property \"Rule\" was not chosen by Select-Object"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.VirtualSubnetID -gt 5000 }",
		 "operator -gt is not supported (supported, case-insensitive: -eq -ne -like "
		 "-notlike -match -notmatch)"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.VMName -ceq 'Blue1' }",
		 "operator -ceq is not supported"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.VMName -eq 'a' -or $_.VMName -eq 'b' "
		 "}",
		 "-or is not supported between conditions (only -and"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.VMName -eq 'a'",
		 "the script block is not closed"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.VMName }",
		 "expected an operator after VMName"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.VMName -eq }",
		 "missing value after -eq"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.VMName -eq 'a','b' }",
		 "-eq takes one value, not a list"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.VMName.Length -eq 5 }",
		 "only $_.Property is supported"},
		{"Get-NetVirtualizationLookupRecord | ? { $_ -eq 5 }", "$_ is only supported as"},
		{"Get-NetVirtualizationLookupRecord | ? { { $_.VMName -eq 5 } }",
		 "nested script blocks are not supported"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.VirtualSubnetID -eq abc }",
		 "VirtualSubnetID is a number; \"abc\" is not"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.Rule -eq Encap }",
		 "\"Encap\" is not a Rule value"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.UseVmMACAddress -eq no }",
		 "UseVmMACAddress is a Boolean: compare it with $true or $false"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.VMName -like '[br]*' }",
		 "character ranges [...] are not supported"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.VMName -match '\\d+' }",
		 "\\d is a .NET regex escape"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.VMName -match '(' }",
		 "-match pattern \"(\":"},
		{"Get-NetVirtualizationLookupRecord | ? VMName", "expected $_.Property"},
		{"Get-NetVirtualizationLookupRecord | Select-Object -First 1",
		 "Select-Object: -First is not supported (supported: -Property)"},
		{"Get-NetVirtualizationLookupRecord | ft -Wrap",
		 "Format-Table: -Wrap is not supported (supported: -Property, -AutoSize)"},
		{"Get-NetVirtualizationLookupRecord | fl -AutoSize",
		 "Format-List: -AutoSize is not"},
		{"Get-NetVirtualizationLookupRecord | ft VMName VMName", "given more than once"},
		{"Get-NetVirtualizationLookupRecord | select VMName | select Rule",
		 "only one Select-Object"},
		{"Get-NetVirtualizationLookupRecord | select VMName | ? { $_.VMName -eq 'a' }",
		 "Where-Object must come before Select-Object"},
		{"Get-NetVirtualizationLookupRecord | ft | ? { $_.VMName -eq 'a' }",
		 "Where-Object cannot follow Format-Table"},
		{"Get-NetVirtualizationLookupRecord | select VMName | "
		 "Remove-NetVirtualizationLookupRecord",
		 "Remove-NetVirtualizationLookupRecord cannot follow Select-Object"},
		{"Get-NetVirtualizationLookupRecord | Remove-NetVirtualizationLookupRecord | ft",
		 "Format-Table cannot follow Remove-NetVirtualizationLookupRecord: it has no "
		 "output"},
		{"Remove-NetVirtualizationLookupRecord | ? { $_.VMName -eq 'a' }",
		 "Remove-NetVirtualizationLookupRecord has no output to pipe into Where-Object"},
		{"Select-NetVirtualizationNextHop 10.0.0.5 10.0.0.7 5001 | ft",
		 "the output of Select-NetVirtualizationNextHop can only be piped into "
		 "Format-List"},
		{"Where-Object { $_.VMName -eq 'a' }", "Where-Object needs input"},
		{"ft", "ft needs input"},
		{"Get-NetVirtualizationLookupRecord -VMName $nope", "variable $nope is not set"},
		{"$x = Get-NetVirtualizationLookupRecord",
		 "$x = Get-NetVirtualizationLookupRecord: only values can be assigned; quote text"},
		{"$x = 10.0.0.5", "quote text ('10.0.0.5')"},
		{"$x = Blue1, 'Blue2'", "$x = Blue1: only values"},
		{"$x = 1 | ft", "unexpected '|' after the value"},
		{"$x.VMName = 1", "only plain variables are supported"},
		{"$env:COMPUTERNAME", "only plain variables are supported"},
		{"Get-NetVirtualizationLookupRecord -VMName = 1", "'=' at column"},
		{"Get-NetVirtualizationLookupRecord | ? { $_.VMName -eq 'a' } x",
		 "Where-Object: unexpected \"x\""},
	};
	preload_records(f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		syntax_err(f, cases[i].script, cases[i].want);
}

/* ---- lookup records ---- */

static void test_get_lookup_format_list(void **state)
{
	struct fake *f = *state;
	preload_records(f);
	run_ok(f, "Get-NetVirtualizationLookupRecord -VMName blue*");
	assert_string_equal(f->out, "\n"
				    "CustomerAddress : 10.0.0.5\n"
				    "VirtualSubnetID : 5001\n"
				    "MACAddress      : 060600000005\n"
				    "ProviderAddress : 192.168.4.11\n"
				    "CustomerID      : {11111111-2222-3333-4444-000000005001}\n"
				    "Context         : HNV Demo\n"
				    "Rule            : TranslationMethodEncap\n"
				    "VMName          : Blue1\n"
				    "UseVmMACAddress : False\n"
				    "Type            : Static\n"
				    "\n"
				    "CustomerAddress : 10.0.0.7\n"
				    "VirtualSubnetID : 5001\n"
				    "MACAddress      : 060600000007\n"
				    "ProviderAddress : 192.168.4.22\n"
				    "CustomerID      : {11111111-2222-3333-4444-000000005001}\n"
				    "Context         : \n"
				    "Rule            : TranslationMethodEncap\n"
				    "VMName          : Blue2\n"
				    "UseVmMACAddress : False\n"
				    "Type            : Static\n"
				    "\n\n");
	/* | Format-List changes nothing; rows from the daemon are normalized */
	load(f, W_LOOKUP,
	     "[{\"CustomerAddress\":\"fd00::5\",\"VirtualSubnetID\":\"5001\",\"MACAddress\":"
	     "\"0a-0b-0c-0d-0e-0f\",\"ProviderAddress\":\"192.168.4.11\",\"CustomerID\":"
	     "\"aaaaaaaa-2222-3333-4444-000000005001\",\"Rule\":\"encap\",\"VMName\":\"v\","
	     "\"UseVmMACAddress\":true,\"Type\":36}]");
	run_ok(f, "Get-NetVirtualizationLookupRecord | fl");
	assert_string_equal(f->out, "\n"
				    "CustomerAddress : fd00::5\n"
				    "VirtualSubnetID : 5001\n"
				    "MACAddress      : 0A0B0C0D0E0F\n"
				    "ProviderAddress : 192.168.4.11\n"
				    "CustomerID      : {AAAAAAAA-2222-3333-4444-000000005001}\n"
				    "Context         : \n"
				    "Rule            : TranslationMethodEncap\n"
				    "VMName          : v\n"
				    "UseVmMACAddress : True\n"
				    "Type            : Dynamic\n"
				    "\n\n");
}

static void test_get_lookup_filters(void **state)
{
	struct fake *f = *state;
	preload_records(f);
	/* MAC forms and case are normalized before comparing */
	static const char *const macs[] = {"060600000007", "06-06-00-00-00-07",
					   "06:06:00:00:00:07"};
	for (size_t i = 0; i < 3; i++) {
		char s[128];
		snprintf(s, sizeof(s), "Get-NetVirtualizationLookupRecord -MACAddress %s", macs[i]);
		run_ok(f, s);
		assert_contains(f->out, "VMName          : Blue2");
		assert_null(strstr(f->out, "Blue1"));
	}
	run_ok(f,
	       "Get-NetVirtualizationLookupRecord -CustomerID "
	       "{11111111-2222-3333-4444-000000006001} -Rule TranslationMethodEncap -Type Static "
	       "-UseVmMACAddress $false -Unusable $false");
	assert_contains(f->out, "Red1");
	assert_null(strstr(f->out, "Blue"));
	run_ok(f, "Get-NetVirtualizationLookupRecord -ProviderAddress 192.168.4.22 -Context ''");
	assert_contains(f->out, "Blue2");
	assert_null(strstr(f->out, "Blue1"));
	/* a filter that matches nothing is an error, and the script goes on */
	int rc = run(f, "Get-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.9,10.0.0.8 "
			"-VirtualSubnetID 5001\nGet-NetVirtualizationLookupRecord -VMName Red1");
	assert_int_equal(rc, 1);
	assert_string_equal(f->err,
			    "Get-NetVirtualizationLookupRecord : No matching "
			    "MSFT_NetVirtualizationLookupRecordSettingData objects found by "
			    "-CustomerAddress 10.0.0.9,10.0.0.8 -VirtualSubnetID 5001\n"
			    "At line:1 char:1\n");
	assert_contains(f->out, "Red1");
	/* no filter and no rows: no output, no error */
	load(f, W_LOOKUP, "[]");
	run_ok(f, "Get-NetVirtualizationLookupRecord");
	assert_string_equal(f->out, "");
}

static void test_remove_lookup(void **state)
{
	struct fake *f = *state;
	preload_records(f);
	run_ok(f, "Remove-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.5 -VirtualSubnetID "
		  "6001 -Confirm:$false");
	assert_one_tx(f, "lookup del --vsid 6001 --ca 10.0.0.5 --mac 080800000005");
	fake_clear_tx(f);
	/* no filter: all of them, one transaction */
	run_ok(f, "Remove-NetVirtualizationLookupRecord");
	assert_one_tx(f, "lookup del --vsid 5001 --ca 10.0.0.5 --mac 060600000005\n"
			 "lookup del --vsid 5001 --ca 10.0.0.7 --mac 060600000007");
	fake_clear_tx(f);
	run_ok(f, "Remove-NetVirtualizationLookupRecord");
	assert_int_equal(f->ntx, 0);
}

static void test_set_lookup(void **state)
{
	struct fake *f = *state;
	preload_records(f);
	run_ok(f,
	       "Set-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.7 -VirtualSubnetID 5001 "
	       "-ProviderAddress 192.168.4.33 -Context 'moved to Host3'");
	assert_one_tx(f,
		      "lookup set --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.33 --mac 060600000007 "
		      "--rule encap --type static --vm-name Blue2 --customer-id "
		      "{11111111-2222-3333-4444-000000005001} --context \"moved to Host3\"");
	fake_clear_tx(f);
	/* a selector list: every match in one transaction; '' clears Context */
	run_ok(f,
	       "Set-NetVirtualizationLookupRecord -MACAddress 060600000005,080800000005 -Context ''"
	       " -Rule TranslationMethodNone");
	assert_one_tx(f,
		      "lookup set --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005 "
		      "--rule none --type static --vm-name Blue1 --customer-id "
		      "{11111111-2222-3333-4444-000000005001}\n"
		      "lookup set --vsid 6001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 080800000005 "
		      "--rule none --type static --vm-name Red1 --customer-id "
		      "{11111111-2222-3333-4444-000000006001}");
	fake_clear_tx(f);
	assert_int_equal(run(f, "Set-NetVirtualizationLookupRecord -CustomerAddress 10.9.9.9 "
				"-ProviderAddress 192.168.4.33"),
			 1);
	assert_contains(f->err, "Set-NetVirtualizationLookupRecord : No matching");
	assert_int_equal(f->ntx, 0);
}

static void test_pipelines(void **state)
{
	struct fake *f = *state;
	preload_records(f);
	/* live migration: the VM's records follow it to another PA */
	run_ok(f, "Get-NetVirtualizationLookupRecord -VMName Blue2 |\n"
		  "    Set-NetVirtualizationLookupRecord -ProviderAddress 192.168.4.11");
	assert_one_tx(f,
		      "lookup set --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.11 --mac 060600000007 "
		      "--rule encap --type static --vm-name Blue2 --customer-id "
		      "{11111111-2222-3333-4444-000000005001}");
	assert_string_equal(f->out, "");
	fake_clear_tx(f);
	run_ok(f, "Get-NetVirtualizationLookupRecord -VirtualSubnetID 5001 | "
		  "Remove-NetVirtualizationLookupRecord -Confirm:$false");
	assert_one_tx(f, "lookup del --vsid 5001 --ca 10.0.0.5 --mac 060600000005\n"
			 "lookup del --vsid 5001 --ca 10.0.0.7 --mac 060600000007");
	fake_clear_tx(f);
	/* nothing to set: nothing exec'd */
	run_ok(f, "Get-NetVirtualizationLookupRecord | Set-NetVirtualizationLookupRecord "
		  "-Confirm:$false");
	assert_int_equal(f->ntx, 0);
	run_ok(f, "Get-NetVirtualizationLookupRecord|Remove-NetVirtualizationLookupRecord");
	assert_one_tx(f, "lookup del --vsid 6001 --ca 10.0.0.5 --mac 080800000005");
}

static void test_lookup_unknown_vsid(void **state)
{
	struct fake *f = *state;
	preload_bluered(f);
	int rc = run(f, "New-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.5 "
			"-VirtualSubnetID 7001 -MACAddress 060600000005 -ProviderAddress "
			"192.168.4.11 -Rule TranslationMethodEncap\n" NEW_BLUE1);
	assert_int_equal(rc, 1);
	assert_string_equal(
		f->err, "New-NetVirtualizationLookupRecord : VirtualSubnetID 7001 does not exist: "
			"add its customer route first (New-NetVirtualizationCustomerRoute with "
			"NextHop 0.0.0.0 or ::) or \"hnvgw vsubnet add 7001 --rdomain NAME "
			"--prefix P\"\nAt line:1 char:1\n");
	assert_one_tx(f, ADD_BLUE1);
}

static void test_runtime_error_continues(void **state)
{
	struct fake *f = *state;
	preload_bluered(f);
	f->refuse = "lookup add: CA 10.0.0.1 is the default gateway of VSID 5001 (10.0.0.0/24)";
	int rc = run(f, "Get-NetVirtualizationGlobal\n"
			"  " NEW_BLUE1 "\n"
			"Get-NetVirtualizationGlobal\n");
	assert_int_equal(rc, 1);
	assert_string_equal(f->err,
			    "New-NetVirtualizationLookupRecord : lookup add: CA 10.0.0.1 is "
			    "the default gateway of VSID 5001 (10.0.0.0/24)\n"
			    "At line:2 char:3\n");
	assert_int_equal(f->ntx, 1);
	assert_string_equal(f->out,
			    "\nUseExternalRouter : False\n\n\n\nUseExternalRouter : False\n\n\n");
	/* a failing show is reported too */
	json_object_put(f->rows[W_LOOKUP]);
	f->rows[W_LOOKUP] = json_object_new_string("not rows");
	assert_int_equal(run(f, "Get-NetVirtualizationLookupRecord"), 1);
	assert_contains(f->err, "show lookup: the reply is not a list of rows");
	load(f, W_LOOKUP, "[{\"CustomerAddress\":\"10.0.0.5\"}]");
	f->refuse = NULL;
	assert_int_equal(run(f, "Remove-NetVirtualizationLookupRecord"), 1);
	assert_contains(f->err, "show lookup returned a row without a valid VirtualSubnetID");
}

/* Microsoft's demo scripts add lookup records before the routes: the
 * records wait for the route that defines their subnet. */
static void test_lookup_waits_for_route(void **state)
{
	struct fake *f = *state;
	run_ok(f, NEW_BLUE1
	       "\n"
	       "Get-NetVirtualizationLookupRecord\n"
	       "New-NetVirtualizationCustomerRoute -RoutingDomainID "
	       "{11111111-2222-3333-4444-000000005001} -VirtualSubnetID 5001 -DestinationPrefix "
	       "10.0.0.0/24 -NextHop 0.0.0.0\n");
	assert_int_equal(f->ntx, 2);
	assert_tx(f, 0,
		  "rdomain add rd-000000005001 --rdid {11111111-2222-3333-4444-000000005001}\n"
		  "vsubnet add 5001 --rdomain rd-000000005001 --prefix 10.0.0.0/24\n"
		  "route add --rdomain rd-000000005001 --vsid 5001 --prefix 10.0.0.0/24 "
		  "--nexthop 0.0.0.0");
	assert_tx(f, 1, ADD_BLUE1);
	assert_string_equal(f->out, ""); /* the Get ran before the record was added */

	/* when the route fails, the waiting record fails after it */
	teardown(state);
	setup(state);
	f = *state;
	f->refuse = "refused";
	int rc = run(f, NEW_BLUE1 "\n"
				  "New-NetVirtualizationCustomerRoute -RoutingDomainID "
				  "{11111111-2222-3333-4444-000000005001} -VirtualSubnetID 5001 "
				  "-DestinationPrefix 10.0.0.0/24 -NextHop 0.0.0.0\n");
	assert_int_equal(rc, 1);
	assert_string_equal(f->err,
			    "New-NetVirtualizationCustomerRoute : refused\n"
			    "At line:2 char:1\n"
			    "New-NetVirtualizationLookupRecord : VirtualSubnetID 5001 does "
			    "not exist: add its customer route first "
			    "(New-NetVirtualizationCustomerRoute with NextHop 0.0.0.0 or ::) "
			    "or \"hnvgw vsubnet add 5001 --rdomain NAME --prefix P\"\n"
			    "At line:1 char:1\n");
}

/* A commit hnvgwd stored but could not apply all of (issue 17 finding
 * 13): the cmdlet succeeded (what waited for it runs), with a warning that
 * says what was not applied; the script exits 4, or 1 when a cmdlet
 * failed too. */
static void test_not_applied(void **state)
{
	struct fake *f = *state;
	f->not_applied = "gateway blue: cannot create VRF rd-blue (table 100): Operation not "
			 "supported: this kernel has no VRF support\x1b[2J";
	static const char script[] =
		NEW_BLUE1 "\n"
			  "New-NetVirtualizationCustomerRoute -RoutingDomainID "
			  "{11111111-2222-3333-4444-000000005001} -VirtualSubnetID 5001 "
			  "-DestinationPrefix 10.0.0.0/24 -NextHop 0.0.0.0\n";
	assert_int_equal(run(f, script), 4);
	assert_int_equal(f->ntx, 2); /* the record waited for the route, and ran */
	assert_string_equal(f->err,
			    "WARNING: committed revision 1, but not applied: gateway blue: cannot "
			    "create VRF rd-blue (table 100): Operation not supported: this kernel "
			    "has no VRF support\\x1b[2J\n"
			    "WARNING: committed revision 2, but not applied: gateway blue: cannot "
			    "create VRF rd-blue (table 100): Operation not supported: this kernel "
			    "has no VRF support\\x1b[2J\n");
	/* a cmdlet that fails as well: 1 */
	assert_int_equal(run(f, "New-NetVirtualizationCustomerRoute -RoutingDomainID "
				"{11111111-2222-3333-4444-000000005001} -VirtualSubnetID 5002 "
				"-DestinationPrefix 10.0.2.0/24 -NextHop 0.0.0.0\n"
				"New-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.5 "
				"-VirtualSubnetID 7001 -MACAddress 060600000005 -ProviderAddress "
				"192.168.4.11 -Rule TranslationMethodEncap\n"),
			 1);
	assert_contains(f->err, "WARNING: committed revision 3, but not applied: gateway blue");
	assert_contains(f->err, "New-NetVirtualizationLookupRecord : VirtualSubnetID 7001 does "
				"not exist");
}

/* ---- customer routes ---- */

#define NEW_ROUTE_BLUE                                                                             \
	"New-NetVirtualizationCustomerRoute -RoutingDomainID "                                     \
	"'{11111111-2222-3333-4444-000000005001}' -VirtualSubnetID 5001 -DestinationPrefix "       \
	"10.0.0.0/24 -NextHop 0.0.0.0 -Metric 255"

static void test_new_route_existing(void **state)
{
	struct fake *f = *state;
	preload_bluered(f);
	run_ok(f, NEW_ROUTE_BLUE);
	assert_one_tx(f,
		      "route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0 "
		      "--metric 255");
	fake_clear_tx(f);
	/* a gateway route into an existing subnet; RDID without braces, lower case */
	run_ok(f, "New-NetVirtualizationCustomerRoute -RoutingDomainID "
		  "11111111-2222-3333-4444-000000005001 -VirtualSubnetID 5001 -DestinationPrefix "
		  "0.0.0.0/0 -NextHop 10.0.0.254");
	assert_one_tx(f, "route add --rdomain blue --vsid 5001 --prefix 0.0.0.0/0 --nexthop "
			 "10.0.0.254");
}

static void test_new_route_implicit(void **state)
{
	struct fake *f = *state;
	run_ok(f, NEW_ROUTE_BLUE);
	assert_one_tx(f,
		      "rdomain add rd-000000005001 --rdid {11111111-2222-3333-4444-000000005001}\n"
		      "vsubnet add 5001 --rdomain rd-000000005001 --prefix 10.0.0.0/24\n"
		      "route add --rdomain rd-000000005001 --vsid 5001 --prefix 10.0.0.0/24 "
		      "--nexthop 0.0.0.0 --metric 255");
	fake_clear_tx(f);
	/* a second VSID in the same routing domain: no new rdomain */
	run_ok(f, "New-NetVirtualizationCustomerRoute -RoutingDomainID "
		  "{11111111-2222-3333-4444-000000005001} -VirtualSubnetID 5002 -DestinationPrefix "
		  "10.0.1.0/24 -NextHop 0.0.0.0");
	assert_one_tx(f, "vsubnet add 5002 --rdomain rd-000000005001 --prefix 10.0.1.0/24\n"
			 "route add --rdomain rd-000000005001 --vsid 5002 --prefix 10.0.1.0/24 "
			 "--nexthop 0.0.0.0");
	fake_clear_tx(f);
	/* an unknown VSID behind a gateway cannot define the subnet */
	assert_int_equal(run(f, "New-NetVirtualizationCustomerRoute -RoutingDomainID "
				"{11111111-2222-3333-4444-000000005001} -VirtualSubnetID 5003 "
				"-DestinationPrefix 0.0.0.0/0 -NextHop 10.0.0.254"),
			 1);
	assert_contains(f->err,
			"VirtualSubnetID 5003 does not exist and next hop 10.0.0.254 is not "
			"on-link");
	assert_int_equal(f->ntx, 0);
}

static void test_new_route_name_collision(void **state)
{
	struct fake *f = *state;
	load(f, W_RDOMAINS,
	     "[{\"name\":\"rd-000000005001\",\"rdid\":\"{99999999-2222-3333-4444-000000005001}\"}"
	     "]");
	run_ok(f, NEW_ROUTE_BLUE);
	assert_contains(f->tx[0], "rdomain add rd-000000005001-2 --rdid "
				  "{11111111-2222-3333-4444-000000005001}\n");
}

static void test_new_route_dual_stack(void **state)
{
	struct fake *f = *state;
	run_ok(f, NEW_ROUTE_BLUE
	       "\n"
	       "New-NetVirtualizationCustomerRoute -RoutingDomainID "
	       "{11111111-2222-3333-4444-000000005001} -VirtualSubnetID 5001 -DestinationPrefix "
	       "fd00:5001::/64 -NextHop ::\n");
	assert_int_equal(f->ntx, 2);
	assert_tx(f, 0,
		  "rdomain add rd-000000005001 --rdid {11111111-2222-3333-4444-000000005001}\n"
		  "vsubnet add 5001 --rdomain rd-000000005001 --prefix 10.0.0.0/24 --prefix "
		  "fd00:5001::/64\n"
		  "route add --rdomain rd-000000005001 --vsid 5001 --prefix 10.0.0.0/24 "
		  "--nexthop 0.0.0.0 --metric 255");
	assert_tx(f, 1,
		  "route add --rdomain rd-000000005001 --vsid 5001 --prefix fd00:5001::/64 "
		  "--nexthop ::");
}

static void preload_routes(struct fake *f)
{
	preload_bluered(f);
	load(f, W_ROUTES,
	     "[{\"RoutingDomainID\":\"{11111111-2222-3333-4444-000000005001}\",\"VirtualSubnetID\":"
	     "5001,\"DestinationPrefix\":\"10.0.0.0/24\",\"NextHop\":\"0.0.0.0\",\"Metric\":255,"
	     "\"rdomain\":\"blue\"},"
	     "{\"RoutingDomainID\":\"{11111111-2222-3333-4444-000000005001}\",\"VirtualSubnetID\":"
	     "5001,\"DestinationPrefix\":\"0.0.0.0/0\",\"NextHop\":\"10.0.0.254\",\"Metric\":10,"
	     "\"rdomain\":\"blue\"},"
	     "{\"RoutingDomainID\":\"{11111111-2222-3333-4444-000000006001}\",\"VirtualSubnetID\":"
	     "6001,\"DestinationPrefix\":\"10.0.0.0/24\",\"NextHop\":\"0.0.0.0\",\"Metric\":255,"
	     "\"rdomain\":\"red\"}]");
}

static void test_get_remove_set_routes(void **state)
{
	struct fake *f = *state;
	preload_routes(f);
	run_ok(f, "Get-NetVirtualizationCustomerRoute -NextHop 10.0.0.254");
	assert_string_equal(f->out, "\n"
				    "RoutingDomainID   : {11111111-2222-3333-4444-000000005001}\n"
				    "VirtualSubnetID   : 5001\n"
				    "DestinationPrefix : 0.0.0.0/0\n"
				    "NextHop           : 10.0.0.254\n"
				    "Metric            : 10\n"
				    "\n\n");
	run_ok(f, "Set-NetVirtualizationCustomerRoute -RoutingDomainID "
		  "{11111111-2222-3333-4444-000000005001} -DestinationPrefix 0.0.0.0/0 -Metric 20");
	assert_one_tx(f, "route del --rdomain blue --prefix 0.0.0.0/0 --nexthop 10.0.0.254\n"
			 "route add --rdomain blue --vsid 5001 --prefix 0.0.0.0/0 --nexthop "
			 "10.0.0.254 --metric 20");
	fake_clear_tx(f);
	run_ok(f, "Get-NetVirtualizationCustomerRoute -Metric 20 -VirtualSubnetID 5001");
	assert_contains(f->out, "Metric            : 20\n");
	run_ok(f, "Remove-NetVirtualizationCustomerRoute -DestinationPrefix 10.0.0.0/24");
	assert_one_tx(f, "route del --rdomain blue --prefix 10.0.0.0/24 --nexthop 0.0.0.0\n"
			 "route del --rdomain red --prefix 10.0.0.0/24 --nexthop 0.0.0.0");
	fake_clear_tx(f);
	run_ok(f, "Get-NetVirtualizationCustomerRoute | Remove-NetVirtualizationCustomerRoute");
	assert_one_tx(f, "route del --rdomain blue --prefix 0.0.0.0/0 --nexthop 10.0.0.254");
}

/* ---- provider addresses and routes ---- */

static void test_provider_address(void **state)
{
	struct fake *f = *state;
	run_ok(f, "New-NetVirtualizationProviderAddress -ProviderAddress 192.168.4.11 "
		  "-InterfaceIndex 1 -PrefixLength 24 -VlanID 0");
	assert_one_tx(f, "pa add 192.168.4.11/24 --dev lo");
	run_ok(f, "Get-NetVirtualizationProviderAddress -InterfaceIndex 1");
	assert_string_equal(f->out, "\n"
				    "ProviderAddress  : 192.168.4.11\n"
				    "InterfaceIndex   : 1\n"
				    "VlanID           : 0\n"
				    "AddressState     : Preferred\n"
				    "MACAddress       : \n"
				    "PrefixLength     : 24\n"
				    "ManagedByCluster : False\n"
				    "\n\n");
	fake_clear_tx(f);
	run_ok(f,
	       "Set-NetVirtualizationProviderAddress -ProviderAddress 192.168.4.11 -PrefixLength "
	       "16");
	assert_one_tx(f, "pa del 192.168.4.11\npa add 192.168.4.11/16 --dev lo");
	fake_clear_tx(f);
	run_ok(f, "Remove-NetVirtualizationProviderAddress -ProviderAddress 192.168.4.11");
	assert_one_tx(f, "pa del 192.168.4.11");
	fake_clear_tx(f);
	assert_int_equal(run(f,
			     "New-NetVirtualizationProviderAddress -ProviderAddress 192.168.4.11 "
			     "-InterfaceIndex 2147483647 -PrefixLength 24\n"
			     "New-NetVirtualizationProviderAddress -ProviderAddress 192.168.4.11 "
			     "-InterfaceIndex 1 -PrefixLength 24 -VlanID 100\n"),
			 1);
	assert_string_equal(f->err,
			    "New-NetVirtualizationProviderAddress : no network interface has "
			    "InterfaceIndex 2147483647\nAt line:1 char:1\n"
			    "New-NetVirtualizationProviderAddress : VlanID 100 is not "
			    "supported: give the InterfaceIndex of a VLAN interface (e.g. "
			    "eth0.100) instead\nAt line:2 char:1\n");
	assert_int_equal(f->ntx, 0);
}

static void test_provider_route(void **state)
{
	struct fake *f = *state;
	run_ok(f,
	       "New-NetVirtualizationProviderRoute -InterfaceIndex 1 -DestinationPrefix 0.0.0.0/0 "
	       "-NextHop 192.168.4.1 -Metric 10");
	assert_one_tx(f,
		      "proute add --prefix 0.0.0.0/0 --nexthop 192.168.4.1 --dev lo --metric 10");
	fake_clear_tx(f);
	run_ok(f, "Get-NetVirtualizationProviderRoute");
	assert_string_equal(f->out, "\n"
				    "InterfaceIndex    : 1\n"
				    "DestinationPrefix : 0.0.0.0/0\n"
				    "NextHop           : 192.168.4.1\n"
				    "Metric            : 10\n"
				    "\n\n");
	run_ok(f, "Set-NetVirtualizationProviderRoute -DestinationPrefix 0.0.0.0/0 -Metric 5");
	assert_one_tx(f, "proute del --prefix 0.0.0.0/0 --nexthop 192.168.4.1\n"
			 "proute add --prefix 0.0.0.0/0 --nexthop 192.168.4.1 --dev lo --metric 5");
	fake_clear_tx(f);
	run_ok(f, "Get-NetVirtualizationProviderRoute -InterfaceIndex 1 | "
		  "Remove-NetVirtualizationProviderRoute");
	assert_one_tx(f, "proute del --prefix 0.0.0.0/0 --nexthop 192.168.4.1");
}

/* ---- global and next hop ---- */

static void test_global(void **state)
{
	struct fake *f = *state;
	run_ok(f, "Get-NetVirtualizationGlobal");
	assert_string_equal(f->out, "\nUseExternalRouter : False\n\n\n");
	run_ok(f, "Set-NetVirtualizationGlobal -UseExternalRouter $true");
	assert_one_tx(f, "global set --use-external-router on");
	run_ok(f, "Get-NetVirtualizationGlobal");
	assert_string_equal(f->out, "\nUseExternalRouter : True\n\n\n");
	run_ok(f, "Set-NetVirtualizationGlobal -UseExternalRouter:$false");
	assert_tx(f, 1, "global set --use-external-router off");
	/* the daemon may send the one row as an object */
	json_object_put(f->rows[W_GLOBAL]);
	f->rows[W_GLOBAL] = parse_json("{\"use_external_router\":\"on\"}");
	run_ok(f, "Get-NetVirtualizationGlobal | Format-List");
	assert_string_equal(f->out, "\nUseExternalRouter : True\n\n\n");
}

static void test_select_nexthop(void **state)
{
	struct fake *f = *state;
	f->nh_result = parse_json("{\"verdict\":\"forward\",\"counter\":\"tx_encap\",\"stages\":[],"
				  "\"vsid\":5001,\"next_hop_ca\":\"10.0.0.7\",\"pa\":"
				  "\"192.168.4.22\",\"mac\":\"06:06:00:00:00:07\",\"egress\":"
				  "\"uplink\",\"src_mac\":\"060600000005\"}");
	run_ok(f, "Select-NetVirtualizationNextHop -SourceCustomerAddress 10.0.0.5 "
		  "-DestinationCustomerAddress 10.0.0.7 -SourceVirtualSubnetID 5001");
	assert_true(f->nh_called);
	assert_int_equal(f->nh_vsid, 5001);
	assert_string_equal(f->nh_src, "10.0.0.5");
	assert_string_equal(f->nh_dst, "10.0.0.7");
	assert_string_equal(f->out, "\n"
				    "SourceCustomerAddress      : 10.0.0.5\n"
				    "DestinationCustomerAddress : 10.0.0.7\n"
				    "SourceVirtualSubnetID      : 5001\n"
				    "NextHopAddress             : 10.0.0.7\n"
				    "SourceMACAddress           : 060600000005\n"
				    "NextHopMACAddress          : 060600000007\n"
				    "\n\n");
	/* without a source: NULL to the daemon, its choice printed */
	json_object_object_add(f->nh_result, "src", json_object_new_string("10.0.0.5"));
	run_ok(f, "Select-NetVirtualizationNextHop -DestinationCustomerAddress 10.0.0.7 "
		  "-SourceVirtualSubnetID 5001");
	assert_true(f->nh_src_null);
	assert_contains(f->out, "SourceCustomerAddress      : 10.0.0.5\n");
	/* a drop is an error naming the counter */
	json_object_put(f->nh_result);
	f->nh_result = parse_json("{\"verdict\":\"drop\",\"counter\":\"drop_no_record\"}");
	assert_int_equal(run(f,
			     "Select-NetVirtualizationNextHop -DestinationCustomerAddress 10.0.0.9 "
			     "-SourceVirtualSubnetID 5001"),
			 1);
	assert_string_equal(f->err, "Select-NetVirtualizationNextHop : no next hop for 10.0.0.9 in "
				    "VirtualSubnetID 5001: drop_no_record\nAt line:1 char:1\n");
	f->nh_error = "VSID 5001 is not configured";
	assert_int_equal(run(f,
			     "Select-NetVirtualizationNextHop -DestinationCustomerAddress 10.0.0.9 "
			     "-SourceVirtualSubnetID 5001"),
			 1);
	assert_contains(f->err, "VSID 5001 is not configured");
}

/* ---- the Blue/Red demo ---- */

static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		fail_msg("cannot open %s (run the test from the repository root)", path);
	char *buf = malloc(1 << 16);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 16) - 1, fp);
	buf[*len] = '\0';
	fclose(fp);
	return buf;
}

/* The RDID (text) of rdomain name among cmds. */
static const char *cmds_rdid(const struct hnv_conf_cmd *cmds, size_t n, const char *name,
			     char buf[40])
{
	for (size_t i = 0; i < n; i++)
		if (cmds[i].kind == HNV_CONF_RDOMAIN_ADD &&
		    strcmp(cmds[i].u.rdomain.name, name) == 0) {
			hnv_fmt_guid(&cmds[i].u.rdomain.rdid, buf, 40);
			return buf;
		}
	return "?";
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The policy a config text defines, one sorted string per object, with
 * rdomain names replaced by RDIDs and PA devices left out; ports skipped. */
static char **canon(const struct hnv_conf_cmd *cmds, size_t n, size_t *out_n)
{
	char **v = calloc(n + 1, sizeof(*v));
	size_t k = 0;
	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		const struct hnv_conf_cmd *c = &cmds[i];
		char t[1024], a[64], b[64], m[32], g[40], r[40];
		switch (c->kind) {
		case HNV_CONF_RDOMAIN_ADD:
			hnv_fmt_guid(&c->u.rdomain.rdid, g, sizeof(g));
			snprintf(t, sizeof(t), "rdomain %s", g);
			break;
		case HNV_CONF_VSUBNET_ADD: {
			size_t o =
				(size_t)snprintf(t, sizeof(t), "vsubnet %u %s", c->u.vsubnet.vsid,
						 cmds_rdid(cmds, n, c->u.vsubnet.rdomain, r));
			for (unsigned p = 0; p < c->u.vsubnet.n_prefixes; p++) {
				hnv_fmt_prefix(&c->u.vsubnet.prefixes[p], a, sizeof(a));
				o += (size_t)snprintf(t + o, sizeof(t) - o, " %s", a);
			}
			break;
		}
		case HNV_CONF_PA_ADD:
			hnv_fmt_prefix(&c->u.pa.addr, a, sizeof(a));
			snprintf(t, sizeof(t), "pa %s", a);
			break;
		case HNV_CONF_LOOKUP_ADD: {
			const struct hnv_conf_lookup *s = &c->u.lookup;
			hnv_fmt_ip(&s->ca, a, sizeof(a));
			hnv_fmt_ip(&s->pa, b, sizeof(b));
			hnv_fmt_mac(&s->mac, m, sizeof(m));
			g[0] = '\0';
			if (s->has_customer_id)
				hnv_fmt_guid(&s->customer_id, g, sizeof(g));
			snprintf(t, sizeof(t),
				 "lookup %u %s %s %s rule %d type %d vm %s cid %s ctx %s %d",
				 s->vsid, a, b, m, s->rule, s->type, s->vm_name, g, s->context,
				 s->use_vm_mac);
			break;
		}
		case HNV_CONF_ROUTE_ADD:
			hnv_fmt_prefix(&c->u.route.prefix, a, sizeof(a));
			hnv_fmt_ip(&c->u.route.nexthop, b, sizeof(b));
			snprintf(t, sizeof(t), "route %s %u %s %s %u",
				 cmds_rdid(cmds, n, c->u.route.rdomain, r), c->u.route.vsid, a, b,
				 c->u.route.metric);
			break;
		case HNV_CONF_PORT_ADD:
			continue;
		default:
			fail_msg("unexpected command kind %d", c->kind);
		}
		v[k++] = strdup(t);
	}
	qsort(v, k, sizeof(*v), cmp_str);
	*out_n = k;
	return v;
}

static void free_canon(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Lookup records of a datapath as sorted strings. */
struct recs {
	const struct hnv_policy *p;
	char *v[64];
	size_t n;
};

static int rec_cb(const struct hnv_rec *r, void *arg)
{
	struct recs *rs = arg;
	struct hnv_lookup_spec s;
	char a[64], b[64], m[32], g[40] = "", t[1024];
	hnv_policy_rec_spec(rs->p, r, &s);
	hnv_fmt_ip(&s.ca, a, sizeof(a));
	hnv_fmt_ip(&s.pa, b, sizeof(b));
	hnv_fmt_mac(&s.mac, m, sizeof(m));
	if (s.has_customer_id)
		hnv_fmt_guid(&s.customer_id, g, sizeof(g));
	snprintf(t, sizeof(t), "%u %s %s %s %d %d %s %s %s %d", s.vsid, a, b, m, s.rule, s.type,
		 s.vm_name, g, s.context, s.use_vm_mac);
	if (rs->n < 64)
		rs->v[rs->n++] = strdup(t);
	return 0;
}

static void dp_records(struct hnv_dp *dp, struct recs *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->p = hnv_dp_policy(dp);
	urcu_qsbr_thread_online();
	assert_int_equal(hnv_policy_rec_foreach(rs->p, rec_cb, rs), 0);
	urcu_qsbr_thread_offline();
	qsort(rs->v, rs->n, sizeof(rs->v[0]), cmp_str);
}

static struct hnv_dp *apply_to_new_dp(const char *text, struct hnv_conf_cmd **cmds, size_t *n)
{
	char err[512] = "";
	if (hnv_conf_parse_text(text, strlen(text), cmds, n, err, sizeof(err)) != 0)
		fail_msg("parse: %s", err);
	struct hnv_dp *dp = hnv_dp_new();
	assert_non_null(dp);
	if (hnv_conf_apply(dp, *cmds, *n, err, sizeof(err)) != 0)
		fail_msg("apply: %s", err);
	return dp;
}

/* Runs a script, checks its policy equals bluered-host1.conf without the
 * ports, both as config commands and as the datapath's lookup records. */
static void check_demo_policy(struct fake *f)
{
	size_t clen;
	char *conf = read_file(DEMO_CONF, &clen);
	/* the exec'd transactions, in order, make one config text */
	size_t len = 1;
	for (unsigned i = 0; i < f->ntx; i++)
		len += strlen(f->tx[i]) + 1;
	char *ours = calloc(1, len);
	assert_non_null(ours);
	for (unsigned i = 0; i < f->ntx; i++) {
		strcat(ours, f->tx[i]);
		strcat(ours, "\n");
	}
	struct hnv_conf_cmd *c1, *c2;
	size_t n1, n2, k1, k2;
	struct hnv_dp *d1 = apply_to_new_dp(ours, &c1, &n1);
	struct hnv_dp *d2 = apply_to_new_dp(conf, &c2, &n2);
	char **v1 = canon(c1, n1, &k1), **v2 = canon(c2, n2, &k2);
	for (size_t i = 0; i < k1 || i < k2; i++)
		if (i >= k1 || i >= k2 || strcmp(v1[i], v2[i]) != 0)
			fail_msg("policy differs at %zu: ps \"%s\", conf \"%s\"", i,
				 i < k1 ? v1[i] : "(none)", i < k2 ? v2[i] : "(none)");
	assert_int_equal(k1, 1 + 2 + 2 + 4 + 2); /* pa, rdomains, vsubnets, records, routes */

	struct recs r1, r2;
	dp_records(d1, &r1);
	dp_records(d2, &r2);
	assert_int_equal(r1.n, 4);
	assert_int_equal(r1.n, r2.n);
	for (size_t i = 0; i < r1.n; i++) {
		assert_string_equal(r1.v[i], r2.v[i]);
		free(r1.v[i]);
		free(r2.v[i]);
	}
	free_canon(v1, k1);
	free_canon(v2, k2);
	hnv_dp_free(d1);
	hnv_dp_free(d2);
	free(c1);
	free(c2);
	free(ours);
	free(conf);
}

static void test_bluered_demo(void **state)
{
	struct fake *f = *state;
	size_t len;
	char *script = read_file(DEMO_PS, &len);
	int rc = run_len(f, script, len);
	if (rc != 0)
		fail_msg("rc %d: %s", rc, f->err);
	assert_string_equal(f->out, "");
	assert_int_equal(f->ntx, 7);
	assert_tx(f, 0, "pa add 192.168.4.11/24 --dev lo");
	assert_tx(f, 1,
		  "rdomain add rd-000000005001 --rdid {11111111-2222-3333-4444-000000005001}\n"
		  "vsubnet add 5001 --rdomain rd-000000005001 --prefix 10.0.0.0/24\n"
		  "route add --rdomain rd-000000005001 --vsid 5001 --prefix 10.0.0.0/24 "
		  "--nexthop 0.0.0.0 --metric 255");
	assert_tx(f, 2,
		  "rdomain add rd-000000006001 --rdid {11111111-2222-3333-4444-000000006001}\n"
		  "vsubnet add 6001 --rdomain rd-000000006001 --prefix 10.0.0.0/24\n"
		  "route add --rdomain rd-000000006001 --vsid 6001 --prefix 10.0.0.0/24 "
		  "--nexthop 0.0.0.0 --metric 255");
	assert_tx(f, 3,
		  "lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005 "
		  "--rule encap --vm-name Blue1 --customer-id "
		  "{11111111-2222-3333-4444-000000005001}");
	check_demo_policy(f);

	/* afterwards Get shows what the administrator expects */
	run_ok(f, "Get-NetVirtualizationLookupRecord -VMName Red2");
	assert_string_equal(f->out, "\n"
				    "CustomerAddress : 10.0.0.7\n"
				    "VirtualSubnetID : 6001\n"
				    "MACAddress      : 080800000007\n"
				    "ProviderAddress : 192.168.4.22\n"
				    "CustomerID      : {11111111-2222-3333-4444-000000006001}\n"
				    "Context         : \n"
				    "Rule            : TranslationMethodEncap\n"
				    "VMName          : Red2\n"
				    "UseVmMACAddress : False\n"
				    "Type            : Static\n"
				    "\n\n");
	free(script);
}

/* The same demo in the order of Microsoft's script: records first. */
static void test_bluered_demo_records_first(void **state)
{
	struct fake *f = *state;
	size_t len;
	char *script = read_file(DEMO_PS, &len);
	/* move the two route statements (and their continuation lines) last */
	char *routes = strstr(script, "New-NetVirtualizationCustomerRoute");
	char *records = strstr(script, "# Lookup records");
	assert_non_null(routes);
	assert_non_null(records);
	size_t head = (size_t)(routes - script), rlen = (size_t)(records - routes);
	char *re = malloc(len + 1);
	assert_non_null(re);
	memcpy(re, script, head);
	memcpy(re + head, records, len - head - rlen);
	memcpy(re + len - rlen, routes, rlen);
	re[len] = '\0';
	int rc = run_len(f, re, len);
	if (rc != 0)
		fail_msg("rc %d: %s", rc, f->err);
	assert_int_equal(f->ntx, 7);
	assert_tx(f, 0, "pa add 192.168.4.11/24 --dev lo");
	assert_true(starts(f->tx[1], "rdomain add rd-000000005001"));
	assert_true(starts(f->tx[2], "lookup add --vsid 5001 --ca 10.0.0.5"));
	assert_true(starts(f->tx[3], "lookup add --vsid 5001 --ca 10.0.0.7"));
	assert_true(starts(f->tx[4], "rdomain add rd-000000006001"));
	check_demo_policy(f);
	free(re);
	free(script);
}

int main(void)
{
	urcu_qsbr_register_thread();
	urcu_qsbr_thread_offline();
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_basic_new_lookup),
		T(test_all_lookup_options),
		T(test_case_insensitive_and_prefixes),
		T(test_ambiguous_prefix),
		T(test_colon_syntax),
		T(test_quotes),
		T(test_switch_and_bool),
		T(test_enum_numbers),
		T(test_continuation_error_first),
		T(test_continuation_ok),
		T(test_comma_lists),
		T(test_typographic_dashes_quotes_bom),
		T(test_common_parameters),
		T(test_whatif),
		T(test_syntax_errors),
		T(test_empty_script),
		T(test_cim_session),
		T(test_positional),
		T(test_unknown_parameter_lists_real_ones),
		T(test_where_object),
		T(test_where_remove),
		T(test_select_and_format),
		T(test_variables),
		T(test_pipeline_errors),
		T(test_get_lookup_format_list),
		T(test_get_lookup_filters),
		T(test_remove_lookup),
		T(test_set_lookup),
		T(test_pipelines),
		T(test_lookup_unknown_vsid),
		T(test_runtime_error_continues),
		T(test_lookup_waits_for_route),
		T(test_not_applied),
		T(test_new_route_existing),
		T(test_new_route_implicit),
		T(test_new_route_name_collision),
		T(test_new_route_dual_stack),
		T(test_get_remove_set_routes),
		T(test_provider_address),
		T(test_provider_route),
		T(test_global),
		T(test_select_nexthop),
		T(test_bluered_demo),
		T(test_bluered_demo_records_first),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	urcu_qsbr_thread_online();
	urcu_qsbr_unregister_thread();
	return rc;
}
