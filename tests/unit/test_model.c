/* test_model.c: the configuration model (mgmt/model.c) over the real config
 * text, policy tables and datapath context.
 *
 * The main thread registers with liburcu-qsbr, as model.h requires.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <urcu/urcu-qsbr.h>

#include "../../mgmt/model.h"

#define PSK "Zq8-secret-Psk-4711-abcdef"
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The Blue/Red demo of hnv-facts.md on Host1, plus a gateway, a tunnel and
 * settings: every object kind the model stores. */
static const char *const demo[] = {
	"rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}",
	"rdomain add red --rdid {11111111-2222-3333-4444-000000006001}",
	"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24",
	"vsubnet add 6001 --rdomain red --prefix 10.0.0.0/24",
	"pa add 192.168.4.11/24 --dev eth0",
	"port add blue1 --vsid 5001 --ca 10.0.0.5 --mac 060600000005",
	"port add red1 --vsid 6001 --ca 10.0.0.5 --mac 080800000005",
	"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005 --vm-name Blue1 "
	"--customer-id {11111111-2222-3333-4444-000000005001}",
	"lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 060600000007 --vm-name Blue2 "
	"--customer-id {11111111-2222-3333-4444-000000005001}",
	"lookup add --vsid 6001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 080800000005 --vm-name Red1",
	"lookup add --vsid 6001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 080800000007 --vm-name Red2",
	"route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0",
	"route add --rdomain red --vsid 6001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0",
	"proute add --prefix 0.0.0.0/0 --nexthop 192.168.4.1 --dev eth0",
	"gateway add --rdomain blue --vrf vrf-blue --table 1001 --nat-external 198.51.100.7",
	"gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.2",
	"s2s add site1 --rdomain blue --peer 203.0.113.9 --local-id gw.example --remote-id "
	"site1.example --psk " PSK " --remote-prefix 192.168.50.0/24",
	"global set --flowid off",
	"global set --use-external-router on",
};

/* The canonical text of demo: dependency order, one merged global line. */
static const char demo_text[] =
	"pa add 192.168.4.11/24 --dev eth0\n"
	"proute add --prefix 0.0.0.0/0 --nexthop 192.168.4.1 --dev eth0 --metric 0\n"
	"rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}\n"
	"rdomain add red --rdid {11111111-2222-3333-4444-000000006001}\n"
	"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24\n"
	"vsubnet add 6001 --rdomain red --prefix 10.0.0.0/24\n"
	"gateway add --rdomain blue --vrf vrf-blue --table 1001 --nat-external 198.51.100.7\n"
	"gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.2\n"
	"port add blue1 --vsid 5001 --ca 10.0.0.5 --mac 06:06:00:00:00:05\n"
	"port add red1 --vsid 6001 --ca 10.0.0.5 --mac 08:08:00:00:00:05\n"
	"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 06:06:00:00:00:05 --rule "
	"encap --type static --vm-name Blue1 --customer-id {11111111-2222-3333-4444-000000005001}\n"
	"lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 06:06:00:00:00:07 --rule "
	"encap --type static --vm-name Blue2 --customer-id {11111111-2222-3333-4444-000000005001}\n"
	"lookup add --vsid 6001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 08:08:00:00:00:05 --rule "
	"encap --type static --vm-name Red1\n"
	"lookup add --vsid 6001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 08:08:00:00:00:07 --rule "
	"encap --type static --vm-name Red2\n"
	"route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0 --metric 255\n"
	"route add --rdomain red --vsid 6001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0 --metric 255\n"
	"s2s add site1 --rdomain blue --peer 203.0.113.9 --local-id gw.example --remote-id "
	"site1.example --psk <secret> --ike-proposal aes256gcm16-prfsha384-ecp384 --esp-proposal "
	"aes256gcm16-ecp384 --remote-prefix 192.168.50.0/24 --dpd 30\n"
	"global set --flowid off --use-external-router on\n";

/* ---- helpers ---- */

static struct hnv_model *transact_ok(const struct hnv_model *cur, const char *const *lines,
				     size_t n)
{
	struct hnv_model *next = NULL;
	char err[512] = "";
	int rc = hnv_model_transact(cur, lines, n, &next, err, sizeof(err));
	if (rc != 0)
		fail_msg("transact: rc %d: %s", rc, err);
	assert_non_null(next);
	return next;
}

/* A transaction that must fail with want_rc and a message containing want,
 * leaving cur exactly as it was. */
static void transact_err(const struct hnv_model *cur, const char *const *lines, size_t n,
			 int want_rc, const char *want)
{
	char *before = hnv_model_text(cur, true);
	assert_non_null(before);
	struct hnv_model *sentinel = (struct hnv_model *)(uintptr_t)0x1;
	struct hnv_model *next = sentinel;
	char err[512] = "";
	int rc = hnv_model_transact(cur, lines, n, &next, err, sizeof(err));
	if (rc != want_rc || strstr(err, want) == NULL)
		fail_msg("transact: rc %d, error \"%s\"; want rc %d, \"%s\"", rc, err, want_rc,
			 want);
	assert_ptr_equal(next, sentinel);
	assert_null(strstr(err, PSK));
	char *after = hnv_model_text(cur, true);
	assert_non_null(after);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void transact_err1(const struct hnv_model *cur, const char *line, int want_rc,
			  const char *want)
{
	transact_err(cur, &line, 1, want_rc, want);
}

static struct hnv_model *demo_model(void)
{
	struct hnv_model *empty = hnv_model_new();
	assert_non_null(empty);
	struct hnv_model *m = transact_ok(empty, demo, ARRAY_LEN(demo));
	hnv_model_free(empty);
	return m;
}

static int setup_demo(void **state)
{
	*state = demo_model();
	return 0;
}

static int teardown_model(void **state)
{
	hnv_model_free(*state);
	return 0;
}

/* ---- tests ---- */

static void test_empty(void **state)
{
	(void)state;
	struct hnv_model *m = hnv_model_new();
	assert_non_null(m);
	char *t = hnv_model_text(m, false);
	assert_string_equal(t, "");
	free(t);
	json_object *rows;
	assert_int_equal(hnv_model_show(m, "rdomains", false, &rows), 0);
	assert_string_equal(json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN), "[]");
	json_object_put(rows);
	/* an empty transaction is a copy */
	struct hnv_model *n = transact_ok(m, NULL, 0);
	t = hnv_model_text(n, false);
	assert_string_equal(t, "");
	free(t);
	hnv_model_free(n);
	hnv_model_free(m);
	hnv_model_free(NULL);
}

static void test_demo_text(void **state)
{
	struct hnv_model *m = *state;
	char *t = hnv_model_text(m, false);
	assert_string_equal(t, demo_text);
	free(t);
	/* with secrets, only the PSK differs */
	t = hnv_model_text(m, true);
	assert_non_null(strstr(t, "--psk " PSK " --ike-proposal"));
	assert_null(strstr(t, "<secret>"));
	free(t);
}

/* A transaction whose third line fails leaves the model unchanged, for
 * each way a line can fail. */
static void test_all_or_nothing(void **state)
{
	struct hnv_model *m = *state;
	static const struct {
		const char *third;
		int rc;
		const char *want;
	} t[] = {
		{"vsubnet add 7001 --rdomain green --prefix 10.7.0.0/24", -ENOENT,
		 "line 3: vsubnet add: routing domain \"green\" not found"},
		{"vsubnet add 7001 --rdomain blue --prefix 10.7.0.0/24 --bogus", -EINVAL,
		 "line 3: unknown option \"--bogus\" for \"vsubnet add\""},
		{"port add blue9 --vsid 5001 --ca 10.0.0.1 --mac 060600000009", -EINVAL,
		 "line 3: port add: CA 10.0.0.1 is the default gateway of VSID 5001"},
		{"port add blue9 --vsid 5001 --ca 10.0.0.9 --mac 060600000009 --dev blue1", -EEXIST,
		 "line 3: port add: port \"blue9\": device blue1 is already the device of port "
		 "\"blue1\" (a TAP hnvgwd creates)"},
		{"rdomain add blue --rdid {11111111-2222-3333-4444-00000000FFFF}", -EEXIST,
		 "line 3: rdomain add: rdomain \"blue\" already exists"},
		{"rdomain del green", -ENOENT, "line 3: rdomain del: rdomain \"green\" not found"},
		{"rdomain add green --rdid {11111111-2222-3333-4444-000000005001}", -EEXIST,
		 "line 3: rdomain add: rdomain \"green\" already exists, or RDID "
		 "{11111111-2222-3333-4444-000000005001} belongs to another rdomain"},
		{"vsubnet del 5001", -EBUSY, "line 3: vsubnet del: VSID 5001 is in use by"},
		{"gateway add --rdomain red --vrf vrf-blue --table 7", -EEXIST,
		 "line 3: gateway add: VRF vrf-blue already exists"},
		{"s2s add site2 --rdomain red --peer 192.0.2.1 --local-id a --remote-id b "
		 "--remote-prefix 10.9.0.0/16 --psk " PSK,
		 -ENOENT,
		 "line 3: s2s add: tunnel \"site2\": routing domain \"red\" has no gateway"},
		{"s2s add site2 --rdomain blue --peer 192.0.2.1 --local-id a --remote-id b "
		 "--remote-prefix 10.9.0.0/16 --psk " PSK " --ike-proposal 3des-sha256-modp2048",
		 -EINVAL, "line 3: s2s add: weak algorithm \"3des\""},
	};
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		const char *lines[] = {
			"vsubnet add 5002 --rdomain blue --prefix 10.0.2.0/24",
			"lookup del --vsid 6001 --ca 10.0.0.7 --mac 080800000007",
			t[i].third,
			"port add blue2 --vsid 5002 --ca 10.0.2.5 --mac 060600000025",
		};
		transact_err(m, lines, ARRAY_LEN(lines), t[i].rc, t[i].want);
	}
	/* the same transaction with a good third line commits all of it */
	const char *good[] = {
		"vsubnet add 5002 --rdomain blue --prefix 10.0.2.0/24",
		"lookup del --vsid 6001 --ca 10.0.0.7 --mac 080800000007",
		"# a comment, then a blank line",
		"",
		"port add blue2 --vsid 5002 --ca 10.0.2.5 --mac 060600000025",
	};
	struct hnv_model *n = transact_ok(m, good, ARRAY_LEN(good));
	char *t2 = hnv_model_text(n, false);
	assert_non_null(strstr(t2, "vsubnet add 5002 --rdomain blue --prefix 10.0.2.0/24\n"
				   "gateway add"));
	assert_non_null(strstr(t2, "port add blue2 --vsid 5002"));
	assert_null(strstr(t2, "--ca 10.0.0.7 --pa 192.168.4.22 --mac 08:08:00:00:00:07"));
	free(t2);
	hnv_model_free(n);
	char err[64];
	struct hnv_model *x = NULL;
	assert_int_equal(hnv_model_transact(NULL, good, 1, &x, err, sizeof(err)), -EINVAL);
	const char *nul[] = {NULL};
	assert_int_equal(hnv_model_transact(m, nul, 1, &x, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 1: missing");
	assert_null(x);
}

/* Deleting what others need is refused, naming them. */
static void test_del_referenced(void **state)
{
	struct hnv_model *m = *state;
	transact_err1(m, "rdomain del blue", -EBUSY,
		      "line 1: rdomain del: rdomain \"blue\" is in use by VSID 5001, route "
		      "10.0.0.0/24 via 0.0.0.0 in rdomain \"blue\", the gateway of rdomain "
		      "\"blue\", s2s \"site1\" (delete them first)");
	transact_err1(
		m, "vsubnet del 5001", -EBUSY,
		"line 1: vsubnet del: VSID 5001 is in use by gateway CA 10.0.0.2 in VSID 5001 "
		"(rdomain \"blue\"), port \"blue1\", lookup record VSID 5001 CA 10.0.0.5 MAC "
		"06:06:00:00:00:05, lookup record VSID 5001 CA 10.0.0.7 MAC "
		"06:06:00:00:00:07, route 10.0.0.0/24 via 0.0.0.0 in rdomain \"blue\" "
		"(delete them first)");
	transact_err1(m, "gateway del --rdomain blue", -EBUSY,
		      "gateway del: the gateway of rdomain \"blue\" is in use by s2s \"site1\" "
		      "(delete it first)");
	/* at most 6 dependents are named */
	const char *more[] = {
		"lookup add --vsid 6001 --ca 10.0.0.10 --pa 192.168.4.22 --mac 080800000010",
		"lookup add --vsid 6001 --ca 10.0.0.11 --pa 192.168.4.22 --mac 080800000011",
		"lookup add --vsid 6001 --ca 10.0.0.12 --pa 192.168.4.22 --mac 080800000012",
		"lookup add --vsid 6001 --ca 10.0.0.13 --pa 192.168.4.22 --mac 080800000013",
	};
	struct hnv_model *big = transact_ok(m, more, ARRAY_LEN(more));
	transact_err1(big, "vsubnet del 6001", -EBUSY,
		      "MAC 08:08:00:00:00:12 and 2 more (delete them first)");
	hnv_model_free(big);
	transact_err1(
		m, "gateway ca-del --rdomain blue --vsid 5001 --ca 10.0.0.3", -ENOENT,
		"gateway ca-del: gateway CA 10.0.0.3 in VSID 5001 (rdomain \"blue\") not found");
	transact_err1(
		m, "gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.3", -EEXIST,
		"line 1: gateway ca: CA 10.0.0.3: the gateway of rdomain \"blue\" already has "
		"CA 10.0.0.2 in VSID 5001 (one per address family; gateway ca-del first)");
	transact_err1(m, "gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.2", -EEXIST,
		      "already has CA 10.0.0.2 in VSID 5001");
	/* a del and a CA name the gateway's pool: none for a host-bound one */
	transact_err1(m, "gateway del --rdomain blue --pool edge", -EINVAL,
		      "gateway del: the gateway of rdomain \"blue\" is bound to a host, give no "
		      "--pool");
	transact_err1(m, "gateway ca-del --rdomain blue --pool edge --vsid 5001 --ca 10.0.0.2",
		      -EINVAL, "is bound to a host, give no --pool");
	transact_err1(m, "gateway ca --rdomain blue --pool edge --vsid 6001 --ca 10.0.0.3", -EINVAL,
		      "gateway ca: the gateway of routing domain \"blue\" is bound to a host, not "
		      "to pool \"edge\"");
	{
		const char *pooled[] = {
			"s2s del site1",
			"gateway del --rdomain blue",
			"gateway add --rdomain blue --pool edge --vrf blue --table 10",
			"gateway ca --rdomain blue --pool edge --vsid 5001 --ca 10.0.0.2",
		};
		struct hnv_model *p = transact_ok(m, pooled, ARRAY_LEN(pooled));
		transact_err1(p, "gateway del --rdomain blue", -EINVAL,
			      "gateway del: the gateway of rdomain \"blue\" is in pool \"edge\", "
			      "give --pool edge");
		transact_err1(p, "gateway del --rdomain blue --pool edge2", -EINVAL,
			      "is in pool \"edge\", give --pool edge");
		transact_err1(p, "gateway ca --rdomain blue --vsid 6001 --ca 10.0.0.3", -EINVAL,
			      "gateway ca: the gateway of routing domain \"blue\" is in pool "
			      "\"edge\": give --pool edge");
		transact_err1(p, "gateway ca-del --rdomain blue --vsid 5001 --ca 10.0.0.2", -EINVAL,
			      "in pool \"edge\", give --pool edge");
		const char *gone[] = {"gateway ca-del --rdomain blue --pool edge --vsid 5001 --ca "
				      "10.0.0.2",
				      "gateway del --rdomain blue --pool edge"};
		struct hnv_model *q = transact_ok(p, gone, ARRAY_LEN(gone));
		hnv_model_free(q);
		hnv_model_free(p);
	}

	/* in dependency order, everything goes */
	const char *order[] = {
		"s2s del site1",
		"gateway del --rdomain blue", /* takes its CA along */
		"route del --rdomain blue --prefix 10.0.0.0/24 --nexthop 0.0.0.0",
		"lookup del --vsid 5001 --ca 10.0.0.5 --mac 060600000005",
		"lookup del --vsid 5001 --ca 10.0.0.7 --mac 060600000007",
		"port del blue1",
		"vsubnet del 5001",
		"rdomain del blue",
		"proute del --prefix 0.0.0.0/0 --nexthop 192.168.4.1",
		"pa del 192.168.4.11",
	};
	struct hnv_model *n = transact_ok(m, order, ARRAY_LEN(order));
	char *t = hnv_model_text(n, false);
	assert_null(strstr(t, "blue"));
	assert_null(strstr(t, "pa add"));
	assert_null(strstr(t, "proute"));
	assert_non_null(strstr(t, "rdomain add red"));
	free(t);
	/* deleted objects are gone for good: deleting again fails */
	transact_err1(n, "s2s del site1", -ENOENT, "s2s del: s2s \"site1\" not found");
	transact_err1(n, "gateway ca-del --rdomain blue --vsid 5001 --ca 10.0.0.2", -ENOENT,
		      "not found");
	hnv_model_free(n);
}

static void test_set(void **state)
{
	struct hnv_model *m = *state;
	const char *set[] = {
		"lookup set --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.33 --mac 060600000007 "
		"--vm-name Blue2 --context migrated",
		"global set --uplink-mtu 9000",
		"global set --flowid on --gateway-mac 02:15:5d:00:00:02",
	};
	struct hnv_model *n = transact_ok(m, set, ARRAY_LEN(set));
	char *t = hnv_model_text(n, false);
	/* replaced in place, order kept */
	assert_non_null(strstr(t, "--mac 06:06:00:00:00:05 --rule encap --type static --vm-name "
				  "Blue1 --customer-id {11111111-2222-3333-4444-000000005001}\n"
				  "lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.33 --mac "
				  "06:06:00:00:00:07 --rule encap --type static --vm-name Blue2 "
				  "--context migrated\n"
				  "lookup add --vsid 6001"));
	/* merged into one line */
	assert_non_null(strstr(t, "\nglobal set --gateway-mac 02:15:5d:00:00:02 --flowid on "
				  "--uplink-mtu 9000 --use-external-router on\n"));
	free(t);
	hnv_model_free(n);
	transact_err1(
		m, "lookup set --vsid 5001 --ca 10.0.0.9 --pa 192.168.4.33 --mac 060600000007",
		-ENOENT,
		"line 1: lookup set: lookup record VSID 5001 CA 10.0.0.9 MAC 06:06:00:00:00:07 "
		"not found");
	transact_err1(m,
		      "lookup set --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.33 --mac "
		      "060600000007 --rule none --use-vm-mac",
		      -EINVAL, "--use-vm-mac needs --rule nat");
}

/* load(text(m)) rebuilds m. */
static void test_text_round_trip(void **state)
{
	struct hnv_model *m = *state;
	char *t = hnv_model_text(m, true);
	struct hnv_model *l = NULL;
	char err[512] = "";
	if (hnv_model_load(t, strlen(t), &l, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	char *t2 = hnv_model_text(l, true);
	assert_string_equal(t, t2);
	/* rows too */
	static const char *const views[] = {"rdomains", "vsubnets", "lookup",   "routes", "ports",
					    "pa",       "proutes",  "gateways", "s2s",    "global"};
	for (size_t i = 0; i < ARRAY_LEN(views); i++) {
		json_object *a, *b;
		assert_int_equal(hnv_model_show(m, views[i], true, &a), 0);
		assert_int_equal(hnv_model_show(l, views[i], true, &b), 0);
		assert_string_equal(json_object_to_json_string(a), json_object_to_json_string(b));
		json_object_put(a);
		json_object_put(b);
	}
	explicit_bzero(t, strlen(t));
	explicit_bzero(t2, strlen(t2));
	free(t);
	free(t2);
	hnv_model_free(l);

	/* the masked text does not load: the PSK is missing */
	t = hnv_model_text(m, false);
	struct hnv_model *x = NULL;
	assert_int_equal(hnv_model_load(t, strlen(t), &x, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 17: s2s add: the PSK is masked as <secret> (a config shown "
				 "without secrets); give the key itself");
	assert_null(x);
	free(t);
}

static void test_load_errors(void **state)
{
	(void)state;
	struct hnv_model *m = NULL;
	char err[512];
	static const char dup[] = "rdomain add blue --rdid 11111111-2222-3333-4444-000000005001\r\n"
				  "\n"
				  "# comment\n"
				  "rdomain add blue --rdid 11111111-2222-3333-4444-000000005002\n";
	assert_int_equal(hnv_model_load(dup, strlen(dup), &m, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "line 4: rdomain add: rdomain \"blue\" already exists");
	static const char nul[] = "rdomain add blue --rdid 11111111-2222-3333-4444-000000005001\n"
				  "rdomain del blue\0x\n";
	assert_int_equal(hnv_model_load(nul, sizeof(nul) - 1, &m, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 2: NUL byte");
	/* validation names the line of the file */
	static const char ref[] = "rdomain add blue --rdid 11111111-2222-3333-4444-000000005001\n"
				  "vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24\n"
				  "route add --rdomain red --vsid 5001 --prefix 10.0.0.0/24 "
				  "--nexthop 0.0.0.0\n";
	assert_int_equal(hnv_model_load(ref, strlen(ref), &m, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "line 3: route add: routing domain \"red\" not found");
	char *longl = malloc(10000);
	memset(longl, 'a', 9999);
	longl[9999] = '\0';
	assert_int_equal(hnv_model_load(longl, 9999, &m, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 1: line too long (more than 4096 bytes)");
	free(longl);
	assert_null(m);
	/* the last line needs no newline; an empty text is an empty model */
	static const char last[] = "rdomain add blue --rdid 11111111-2222-3333-4444-000000005001";
	assert_int_equal(hnv_model_load(last, strlen(last), &m, err, sizeof(err)), 0);
	hnv_model_free(m);
	assert_int_equal(hnv_model_load(NULL, 0, &m, err, sizeof(err)), 0);
	hnv_model_free(m);
}

/* Lines of a transaction may come in any order: the model keeps
 * dependency order. */
static void test_order(void **state)
{
	(void)state;
	struct hnv_model *e = hnv_model_new();
	const char *rev[ARRAY_LEN(demo)];
	for (size_t i = 0; i < ARRAY_LEN(demo); i++)
		rev[i] = demo[ARRAY_LEN(demo) - 1 - i];
	/* the two global lines in reverse merge to the same result */
	struct hnv_model *m = transact_ok(e, rev, ARRAY_LEN(rev));
	char *t = hnv_model_text(m, false);
	/* lookups and ports are reversed within their groups */
	assert_non_null(strstr(t, "pa add 192.168.4.11/24 --dev eth0\nproute add"));
	assert_non_null(strstr(t, "port add red1"));
	assert_true(strstr(t, "port add red1") < strstr(t, "port add blue1"));
	assert_true(strstr(t, "rdomain add red") < strstr(t, "vsubnet add 5001"));
	assert_true(strstr(t, "route add") < strstr(t, "s2s add"));
	free(t);
	hnv_model_free(m);
	hnv_model_free(e);
}

static void assert_rows(const struct hnv_model *m, const char *what, bool secrets, const char *want)
{
	json_object *rows = NULL;
	int rc = hnv_model_show(m, what, secrets, &rows);
	if (rc != 0)
		fail_msg("show %s: rc %d", what, rc);
	const char *got = json_object_to_json_string_ext(
		rows, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (strcmp(got, want) != 0)
		fail_msg("show %s:\n  got  %s\n  want %s", what, got, want);
	json_object_put(rows);
}

static void test_show_rows(void **state)
{
	struct hnv_model *m = *state;
	assert_rows(m, "rdomains", false,
		    "[{\"name\":\"blue\",\"rdid\":\"{11111111-2222-3333-4444-000000005001}\"},"
		    "{\"name\":\"red\",\"rdid\":\"{11111111-2222-3333-4444-000000006001}\"}]");
	assert_rows(m, "vsubnets", false,
		    "[{\"vsid\":5001,\"rdomain\":\"blue\",\"prefixes\":[\"10.0.0.0/24\"],"
		    "\"gateway_mac\":\"\"},"
		    "{\"vsid\":6001,\"rdomain\":\"red\",\"prefixes\":[\"10.0.0.0/24\"],"
		    "\"gateway_mac\":\"\"}]");
	assert_rows(m, "pa", false,
		    "[{\"ProviderAddress\":\"192.168.4.11\",\"PrefixLength\":24,"
		    "\"InterfaceName\":\"eth0\"}]");
	assert_rows(m, "ports", false,
		    "[{\"name\":\"blue1\",\"vsid\":5001,\"mac\":\"06:06:00:00:00:05\","
		    "\"cas\":[\"10.0.0.5\"],\"dev\":\"blue1\",\"kind\":\"tap\"},"
		    "{\"name\":\"red1\",\"vsid\":6001,\"mac\":\"08:08:00:00:00:05\","
		    "\"cas\":[\"10.0.0.5\"],\"dev\":\"red1\",\"kind\":\"tap\"}]");
	assert_rows(m, "routes", false,
		    "[{\"RoutingDomainID\":\"{11111111-2222-3333-4444-000000005001}\","
		    "\"VirtualSubnetID\":5001,\"DestinationPrefix\":\"10.0.0.0/24\","
		    "\"NextHop\":\"0.0.0.0\",\"Metric\":255,\"rdomain\":\"blue\"},"
		    "{\"RoutingDomainID\":\"{11111111-2222-3333-4444-000000006001}\","
		    "\"VirtualSubnetID\":6001,\"DestinationPrefix\":\"10.0.0.0/24\","
		    "\"NextHop\":\"0.0.0.0\",\"Metric\":255,\"rdomain\":\"red\"}]");
	assert_rows(m, "proutes", false,
		    "[{\"prefix\":\"0.0.0.0/0\",\"nexthop\":\"192.168.4.1\",\"dev\":\"eth0\","
		    "\"metric\":0}]");
	assert_rows(m, "gateways", false,
		    "[{\"rdomain\":\"blue\",\"vrf\":\"vrf-blue\",\"table\":1001,\"corp_dev\":\"\","
		    "\"nat_external\":\"198.51.100.7\",\"cas\":[{\"vsid\":5001,\"ca\":\"10.0.0.2\"}"
		    "]}]");
	static const char s2s_head[] =
		"[{\"name\":\"site1\",\"rdomain\":\"blue\",\"peer\":\"203.0.113.9\","
		"\"local_addr\":\"\",\"local_id\":\"gw.example\",\"remote_id\":\"site1.example\","
		"\"auth\":\"psk\",";
	static const char s2s_tail[] =
		"\"cert\":\"\",\"key\":\"\",\"ca_cert\":\"\",\"ike_proposals\":[\"aes256gcm16-"
		"prfsha384-ecp384\"],"
		"\"esp_proposals\":[\"aes256gcm16-ecp384\"],\"remote_prefixes\":[\"192.168.50.0/"
		"24\"],"
		"\"dpd\":30,\"local_netmap\":[],\"remote_netmap\":[],\"legacy_crypto\":false,"
		"\"rate_out_kbit\":0,\"rate_in_kbit\":0}]";
	char want[1024];
	snprintf(want, sizeof(want), "%s%s", s2s_head, s2s_tail);
	assert_rows(m, "s2s", false, want);
	snprintf(want, sizeof(want), "%s\"psk\":\"" PSK "\",%s", s2s_head, s2s_tail);
	assert_rows(m, "s2s", true, want);
	assert_rows(m, "global", false,
		    "[{\"use_external_router\":true,\"gateway_mac\":\"02:15:5d:00:00:01\","
		    "\"flowid\":false,\"uplink_mtu\":1500}]");

	/* the daemon's views and unknown ones */
	static const char *const bad[] = {"counters", "config", "revisions", "Lookup", "", "x"};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		json_object *rows = (json_object *)(uintptr_t)1;
		assert_int_equal(hnv_model_show(m, bad[i], false, &rows), -EINVAL);
		assert_null(rows);
	}
	json_object *rows;
	assert_int_equal(hnv_model_show(m, NULL, false, &rows), -EINVAL);
	assert_int_equal(hnv_model_show(m, "pa", false, NULL), -EINVAL);
}

/* Lookup rows in NetWNV names and values, every field set once. */
static void test_show_lookup(void **state)
{
	struct hnv_model *m = *state;
	const char *more[] = {
		"lookup add --vsid 5001 --ca 10.0.0.9 --pa 192.168.4.44 --mac 00155dab0cde --rule "
		"nat "
		"--use-vm-mac --type dynamic --context \"a \\\"b\\\"\"",
		"lookup add --vsid 6001 --ca 0.0.0.0 --pa 192.168.4.1 --mac 00155d000001 --type "
		"gateway-wildcard --rule none",
		"lookup add --vsid 6001 --ca :: --pa 192.168.4.1 --mac 00155d000002 --type l2only",
	};
	struct hnv_model *n = transact_ok(m, more, ARRAY_LEN(more));
	assert_rows(
		n, "lookup", false,
		"[{\"CustomerAddress\":\"10.0.0.5\",\"VirtualSubnetID\":5001,"
		"\"MACAddress\":\"060600000005\",\"ProviderAddress\":\"192.168.4.11\","
		"\"CustomerID\":\"{11111111-2222-3333-4444-000000005001}\",\"Context\":\"\","
		"\"Rule\":\"TranslationMethodEncap\",\"VMName\":\"Blue1\","
		"\"UseVmMACAddress\":false,\"Type\":\"Static\"},"
		"{\"CustomerAddress\":\"10.0.0.7\",\"VirtualSubnetID\":5001,"
		"\"MACAddress\":\"060600000007\",\"ProviderAddress\":\"192.168.4.22\","
		"\"CustomerID\":\"{11111111-2222-3333-4444-000000005001}\",\"Context\":\"\","
		"\"Rule\":\"TranslationMethodEncap\",\"VMName\":\"Blue2\","
		"\"UseVmMACAddress\":false,\"Type\":\"Static\"},"
		"{\"CustomerAddress\":\"10.0.0.5\",\"VirtualSubnetID\":6001,"
		"\"MACAddress\":\"080800000005\",\"ProviderAddress\":\"192.168.4.11\","
		"\"CustomerID\":\"\",\"Context\":\"\",\"Rule\":\"TranslationMethodEncap\","
		"\"VMName\":\"Red1\",\"UseVmMACAddress\":false,\"Type\":\"Static\"},"
		"{\"CustomerAddress\":\"10.0.0.7\",\"VirtualSubnetID\":6001,"
		"\"MACAddress\":\"080800000007\",\"ProviderAddress\":\"192.168.4.22\","
		"\"CustomerID\":\"\",\"Context\":\"\",\"Rule\":\"TranslationMethodEncap\","
		"\"VMName\":\"Red2\",\"UseVmMACAddress\":false,\"Type\":\"Static\"},"
		"{\"CustomerAddress\":\"10.0.0.9\",\"VirtualSubnetID\":5001,"
		"\"MACAddress\":\"00155DAB0CDE\",\"ProviderAddress\":\"192.168.4.44\","
		"\"CustomerID\":\"\",\"Context\":\"a \\\"b\\\"\",\"Rule\":\"TranslationMethodNat\","
		"\"VMName\":\"\",\"UseVmMACAddress\":true,\"Type\":\"Dynamic\"},"
		"{\"CustomerAddress\":\"0.0.0.0\",\"VirtualSubnetID\":6001,"
		"\"MACAddress\":\"00155D000001\",\"ProviderAddress\":\"192.168.4.1\","
		"\"CustomerID\":\"\",\"Context\":\"\",\"Rule\":\"TranslationMethodNone\","
		"\"VMName\":\"\",\"UseVmMACAddress\":false,\"Type\":\"GatewayWildcard\"},"
		"{\"CustomerAddress\":\"::\",\"VirtualSubnetID\":6001,"
		"\"MACAddress\":\"00155D000002\",\"ProviderAddress\":\"192.168.4.1\","
		"\"CustomerID\":\"\",\"Context\":\"\",\"Rule\":\"TranslationMethodEncap\","
		"\"VMName\":\"\",\"UseVmMACAddress\":false,\"Type\":\"L2Only\"}]");
	hnv_model_free(n);
}

/* The default-gateway records of Windows Server 2012's demo (CA = the
 * subnet's lowest address, PA 169.254.254.254): show vsubnets names each
 * VSID's router MAC (empty: the global gateway MAC), also for an IPv6-only
 * subnet and with --vsid; show lookup lists the record as configured;
 * lookup del empties the column again. */
static void test_show_gateway_mac(void **state)
{
	struct hnv_model *m = *state;
	const char *more[] = {
		"vsubnet add 5002 --rdomain blue --prefix 10.0.1.0/24",
		"vsubnet add 5003 --rdomain blue --prefix fd00:5003::/64",
		"lookup add --vsid 5001 --ca 10.0.0.1 --pa 169.254.254.254 --mac 101010101101 "
		"--vm-name BlueS1-DG",
		"lookup add --vsid 5003 --ca fd00:5003::1 --pa 169.254.254.254 --mac 101010101003",
	};
	struct hnv_model *n = transact_ok(m, more, ARRAY_LEN(more));
	assert_rows(n, "vsubnets", false,
		    "[{\"vsid\":5001,\"rdomain\":\"blue\",\"prefixes\":[\"10.0.0.0/24\"],"
		    "\"gateway_mac\":\"10:10:10:10:11:01\"},"
		    "{\"vsid\":6001,\"rdomain\":\"red\",\"prefixes\":[\"10.0.0.0/24\"],"
		    "\"gateway_mac\":\"\"},"
		    "{\"vsid\":5002,\"rdomain\":\"blue\",\"prefixes\":[\"10.0.1.0/24\"],"
		    "\"gateway_mac\":\"\"},"
		    "{\"vsid\":5003,\"rdomain\":\"blue\",\"prefixes\":[\"fd00:5003::/64\"],"
		    "\"gateway_mac\":\"10:10:10:10:10:03\"}]");

	struct hnv_show_filter f = {.has_vsid = true, .vsid = 5001};
	json_object *rows = NULL;
	assert_int_equal(
		hnv_model_show_page(n, "vsubnets", false, &f, 0, SIZE_MAX, NULL, NULL, &rows, NULL),
		0);
	assert_string_equal(json_object_to_json_string_ext(
				    rows, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			    "[{\"vsid\":5001,\"rdomain\":\"blue\",\"prefixes\":[\"10.0.0.0/"
			    "24\"],\"gateway_mac\":\"10:10:10:10:11:01\"}]");
	json_object_put(rows);

	f = (struct hnv_show_filter){.has_ca = true};
	assert_int_equal(hnv_parse_ip("10.0.0.1", &f.ca), 0);
	assert_int_equal(
		hnv_model_show_page(n, "lookup", false, &f, 0, SIZE_MAX, NULL, NULL, &rows, NULL),
		0);
	assert_string_equal(
		json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE),
		"[{\"CustomerAddress\":\"10.0.0.1\",\"VirtualSubnetID\":5001,"
		"\"MACAddress\":\"101010101101\",\"ProviderAddress\":\"169.254.254.254\","
		"\"CustomerID\":\"\",\"Context\":\"\",\"Rule\":\"TranslationMethodEncap\","
		"\"VMName\":\"BlueS1-DG\",\"UseVmMACAddress\":false,\"Type\":\"Static\"}]");
	json_object_put(rows);

	const char *del = "lookup del --vsid 5001 --ca 10.0.0.1 --mac 101010101101";
	struct hnv_model *o = transact_ok(n, &del, 1);
	f = (struct hnv_show_filter){.has_vsid = true, .vsid = 5001};
	assert_int_equal(
		hnv_model_show_page(o, "vsubnets", false, &f, 0, SIZE_MAX, NULL, NULL, &rows, NULL),
		0);
	assert_string_equal(json_object_to_json_string_ext(
				    rows, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			    "[{\"vsid\":5001,\"rdomain\":\"blue\",\"prefixes\":[\"10.0.0.0/"
			    "24\"],\"gateway_mac\":\"\"}]");
	json_object_put(rows);
	hnv_model_free(o);
	hnv_model_free(n);
}

static void test_global_defaults(void **state)
{
	(void)state;
	struct hnv_model *e = hnv_model_new();
	assert_rows(e, "global", false,
		    "[{\"use_external_router\":false,\"gateway_mac\":\"02:15:5d:00:00:01\","
		    "\"flowid\":true,\"uplink_mtu\":1500}]");
	hnv_model_free(e);
}

/* PSKs: masked in the text and in rows, never in a message. */
static void test_secrets_masked(void **state)
{
	struct hnv_model *m = *state;
	char *t = hnv_model_text(m, false);
	assert_null(strstr(t, PSK));
	assert_non_null(strstr(t, "--psk <secret>"));
	free(t);
	json_object *rows;
	assert_int_equal(hnv_model_show(m, "s2s", false, &rows), 0);
	assert_null(strstr(json_object_to_json_string(rows), PSK));
	assert_null(strstr(json_object_to_json_string(rows), "\"psk\":"));
	json_object_put(rows);
	/* failing transactions with the PSK in them (transact_err checks the
	 * message) */
	transact_err1(m,
		      "s2s add site1 --rdomain blue --peer 203.0.113.9 --local-id gw.example "
		      "--remote-id site1.example --psk " PSK " --remote-prefix 192.168.50.0/24",
		      -EEXIST, "s2s add: s2s \"site1\" already exists");
	transact_err1(m,
		      "s2s add site2 --rdomain blue --peer 203.0.113.9 --local-id gw.example "
		      "--remote-id site1.example --psk " PSK " --remote-prefix 192.168.51.0/24",
		      -EEXIST, "line 1: s2s add: tunnel \"site2\" has the peer 203.0.113.9");
	transact_err1(m,
		      "s2s add site2 --rdomain blue --peer 203.0.113.9 --local-id " PSK
		      " --remote-id site1.example --psk " PSK " --remote-prefix 192.168.51.0/24",
		      -EINVAL, "s2s add: the PSK must not appear in an identity");
	/* a tunnel whose identities differ is fine on the same peer */
	const char *ok = "s2s add site2 --rdomain blue --peer 203.0.113.9 --local-id gw.example "
			 "--remote-id site2.example --cert site2.pem --key site2.key "
			 "--remote-prefix 192.168.51.0/24";
	struct hnv_model *n = transact_ok(m, &ok, 1);
	hnv_model_free(n);
}

static void test_build_dp(void **state)
{
	struct hnv_model *m = *state;
	struct hnv_dp *dp = NULL;
	char err[512];
	/* the demo asks for UseExternalRouter, which hnvgw refuses */
	assert_int_equal(hnv_model_build_dp(m, &dp, err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "global set: --use-external-router on (UseExternalRouter "
				    "$true) is not supported"));
	assert_null(dp);
	const char *off = "global set --use-external-router off";
	m = transact_ok(m, &off, 1);
	assert_int_equal(hnv_model_build_dp(m, &dp, err, sizeof(err)), 0);
	struct hnv_policy_stats st;
	hnv_policy_stats(hnv_dp_policy(dp), &st);
	assert_int_equal(st.n_rdomains, 2);
	assert_int_equal(st.n_vsubnets, 2);
	assert_int_equal(st.n_records, 4);
	assert_int_equal(st.n_routes, 2);
	assert_int_equal(hnv_policy_port_id(hnv_dp_policy(dp), "blue1") > 0, 1);
	hnv_dp_free(dp);
	hnv_model_free(m);
	assert_int_equal(hnv_model_build_dp(NULL, &dp, err, sizeof(err)), -EINVAL);
}

/* A copy is independent: freeing one model leaves the other intact, and
 * many transactions in a row keep working (index growth, deletes). */
static void test_many_changes(void **state)
{
	(void)state;
	struct hnv_model *m = hnv_model_new();
	const char *base[] = {
		"rdomain add blue --rdid 11111111-2222-3333-4444-000000005001",
		"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/16",
	};
	struct hnv_model *n = transact_ok(m, base, 2);
	hnv_model_free(m);
	m = n;
	char line[256];
	const char *l = line;
	for (unsigned i = 0; i < 600; i++) {
		snprintf(line, sizeof(line),
			 "lookup add --vsid 5001 --ca 10.0.%u.%u --pa 192.168.4.%u --mac "
			 "0606000%05x",
			 i / 200 + 1, i % 200 + 2, i % 250 + 1, i);
		n = transact_ok(m, &l, 1);
		if (i % 3 == 0) {
			hnv_model_free(m);
			m = n;
			continue;
		}
		/* every other change is undone in the next model */
		snprintf(line, sizeof(line),
			 "lookup del --vsid 5001 --ca 10.0.%u.%u --mac 0606000%05x", i / 200 + 1,
			 i % 200 + 2, i);
		struct hnv_model *o = transact_ok(n, &l, 1);
		hnv_model_free(n);
		hnv_model_free(m);
		m = o;
	}
	json_object *rows;
	assert_int_equal(hnv_model_show(m, "lookup", false, &rows), 0);
	assert_int_equal(json_object_array_length(rows), 200);
	json_object_put(rows);
	/* each kept record can still be found for deletion */
	for (unsigned i = 0; i < 600; i += 3) {
		snprintf(line, sizeof(line),
			 "lookup del --vsid 5001 --ca 10.0.%u.%u --mac 0606000%05x", i / 200 + 1,
			 i % 200 + 2, i);
		n = transact_ok(m, &l, 1);
		hnv_model_free(m);
		m = n;
	}
	char *t = hnv_model_text(m, false);
	assert_null(strstr(t, "lookup"));
	free(t);
	hnv_model_free(m);
}

/* ---- pools and automatic addressing ---- */

static const char *const seed[] = {
	"pa add 192.168.4.11/24 --dev eth0",
	"rdomain add AAA --rdid {AAAAAAAA-0000-0000-0000-000000005001}",
	"rdomain add BBB --rdid {BBBBBBBB-0000-0000-0000-000000006001}",
	"vsubnet add 5001 --rdomain AAA --prefix 10.10.0.0/16",
	"vsubnet add 6001 --rdomain BBB --prefix 10.10.0.0/16",
	"pool add aaa --vsid 5001 --range 10.10.1.100-10.10.1.102 --dns 10.10.0.53",
	"pool add bbb --vsid 6001 --range 10.10.1.100-10.10.1.130",
};

static struct hnv_model *step(struct hnv_model *m, const char *line)
{
	struct hnv_model *n = transact_ok(m, &line, 1);
	hnv_model_free(m);
	return n;
}

static void test_pool_allocation(void **state)
{
	(void)state;
	struct hnv_model *empty = hnv_model_new();
	assert_non_null(empty);
	/* refusals an administrator reads before anything exists */
	transact_err1(empty, "port add test01 --vsid 5001", -ENOENT,
		      "line 1: port add: port \"test01\": VSID 5001 is not configured: no VM "
		      "subnet to attach to (vsubnet add 5001 --rdomain NAME --prefix P first)");
	struct hnv_model *m = transact_ok(empty, seed, ARRAY_LEN(seed) - 2);
	hnv_model_free(empty);
	transact_err1(
		m, "port add test01 --vsid 5001", -ENOENT,
		"port add: port \"test01\": VM subnet VSID 5001 (10.10.0.0/16) has no IP pool "
		"to take an address from (pool add NAME --vsid 5001 --range FIRST-LAST first, "
		"or give --ca)");
	m = step(m, seed[5]);
	m = step(m, seed[6]);

	/* the same first address in two routing domains; MACs made from it */
	m = step(m, "port add test01 --vsid 5001");
	m = step(m, "port add test02 --vsid 6001");
	/* a static port and a remote record take addresses out of the pool */
	m = step(m, "port add vm3 --vsid 5001 --ca 10.10.1.101");
	m = step(m, "lookup add --vsid 5001 --ca 10.10.1.102 --pa 192.168.4.22 --mac 0a0000000102");
	char *t = hnv_model_text(m, false);
	assert_non_null(t);
	assert_non_null(strstr(t, "port add test01 --vsid 5001 --ca 10.10.1.100 --mac "
				  "0a:9a:0a:0a:01:64\n"));
	/* 6001 = 0x001771: 0x00 ^ 0x17 ^ 0x71 = 0x66 */
	assert_non_null(strstr(t, "port add test02 --vsid 6001 --ca 10.10.1.100 --mac "
				  "0a:66:0a:0a:01:64\n"));
	assert_non_null(strstr(t, "port add vm3 --vsid 5001 --ca 10.10.1.101 --mac "
				  "0a:9a:0a:0a:01:65\n"));
	/* exhausted: 100 (test01), 101 (vm3), 102 (remote record) */
	transact_err1(m, "port add test04 --vsid 5001", -ENOSPC,
		      "port add: port \"test04\": the IP pool of VSID 5001 (10.10.0.0/16) is "
		      "exhausted: all 3 addresses are in use");
	/* a MAC already taken in the VSID: the next one */
	m = step(m, "port add vm5 --vsid 6001 --ca 10.10.1.110 --mac 0a660a0a016e");
	m = step(m, "port add vm6 --vsid 6001 --ca 10.10.2.110 --mac 0a670a0a016e");
	m = step(m, "port del vm6");
	m = step(m, "port del vm5");
	m = step(m, "port add vm5 --vsid 6001 --mac 0a660a0a016e");
	m = step(m, "port add vm6 --vsid 6001 --ca 10.10.1.110");
	free(t);
	t = hnv_model_text(m, false);
	assert_non_null(
		strstr(t, "port add vm5 --vsid 6001 --ca 10.10.1.101 --mac 0a:66:0a:0a:01:6e"));
	assert_non_null(
		strstr(t, "port add vm6 --vsid 6001 --ca 10.10.1.110 --mac 0a:67:0a:0a:01:6e"));

	/* pool del names the ports holding its addresses */
	transact_err1(m, "pool del aaa", -EBUSY,
		      "pool del: pool \"aaa\" is in use by port \"test01\", port \"vm3\" (delete "
		      "them first)");
	transact_err1(m, "vsubnet del 5001", -EBUSY, "pool \"aaa\"");

	/* the saved text replays to the same addresses */
	struct hnv_model *again = NULL;
	char err[512] = "";
	assert_int_equal(hnv_model_load(t, strlen(t), &again, err, sizeof(err)), 0);
	char *t2 = hnv_model_text(again, false);
	assert_string_equal(t, t2);
	free(t2);
	hnv_model_free(again);

	/* show pools */
	json_object *rows = NULL;
	assert_int_equal(hnv_model_show(m, "pools", false, &rows), 0);
	assert_int_equal(json_object_array_length(rows), 2);
	json_object *r0 = json_object_array_get_idx(rows, 0), *v;
	assert_true(json_object_object_get_ex(r0, "range", &v));
	assert_string_equal(json_object_get_string(v), "10.10.1.100-10.10.1.102");
	assert_true(json_object_object_get_ex(r0, "in_use", &v));
	assert_int_equal(json_object_get_int(v), 2);
	json_object_put(rows);

	m = step(m, "port del test01");
	m = step(m, "port del vm3");
	m = step(m, "pool del aaa");
	free(t);
	hnv_model_free(m);
}

int main(void)
{
	urcu_qsbr_register_thread();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test_setup_teardown(test_demo_text, setup_demo, teardown_model),
		cmocka_unit_test_setup_teardown(test_all_or_nothing, setup_demo, teardown_model),
		cmocka_unit_test_setup_teardown(test_del_referenced, setup_demo, teardown_model),
		cmocka_unit_test_setup_teardown(test_set, setup_demo, teardown_model),
		cmocka_unit_test_setup_teardown(test_text_round_trip, setup_demo, teardown_model),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_order),
		cmocka_unit_test_setup_teardown(test_show_rows, setup_demo, teardown_model),
		cmocka_unit_test_setup_teardown(test_show_lookup, setup_demo, teardown_model),
		cmocka_unit_test_setup_teardown(test_show_gateway_mac, setup_demo, teardown_model),
		cmocka_unit_test(test_global_defaults),
		cmocka_unit_test_setup_teardown(test_secrets_masked, setup_demo, teardown_model),
		cmocka_unit_test_setup_teardown(test_build_dp, setup_demo, teardown_model),
		cmocka_unit_test(test_many_changes),
		cmocka_unit_test(test_pool_allocation),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	urcu_qsbr_unregister_thread();
	return rc;
}
