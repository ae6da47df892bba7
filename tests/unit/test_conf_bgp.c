/* test_conf_bgp.c: "bgp-peer add/del" and "gateway add --bgp-asn" alone:
 * the parser's refusals, the canonical line and its round trip, the
 * model's checks (hnv_model_load / hnv_model_transact) and the config
 * applier's (hnv_conf_apply, the replay) giving the same verdicts, and
 * the model's text (show config / save) keeping every peer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "../../datapath/dp.h"
#include "../../mgmt/conf_apply.h"
#include "../../mgmt/conftext.h"
#include "../../mgmt/model.h"
#include "conf_line.h"

#define BASE                                                                                       \
	"rdomain add blue --rdid 11111111-2222-3333-4444-000000005001\n"                           \
	"rdomain add red --rdid 11111111-2222-3333-4444-000000006001\n"                            \
	"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24\n"                                   \
	"vsubnet add 6001 --rdomain red --prefix 10.0.0.0/24\n"                                    \
	"gateway add --rdomain blue --vrf blue --table 1001 --corp-dev eth2 --bgp-asn 65000 "      \
	"--bgp-peer 172.31.1.2 --bgp-peer-asn 65001\n"                                             \
	"gateway add --rdomain red --vrf red --table 1002\n"

static void test_parse(void **state)
{
	(void)state;
	struct hnv_conf_cmd c;
	parse_ok("bgp-peer add corp --rdomain blue --addr 172.31.1.6 --asn 65002 "
		 "--prefix-in 172.16.0.0/16 --prefix-in 10.64.0.0/10,le=24 "
		 "--prefix-in 192.168.0.0/16,ge=20,le=28 --prefix-out 10.0.0.0/24 "
		 "--source 172.31.1.5",
		 &c);
	assert_int_equal(c.kind, HNV_CONF_BGP_PEER_ADD);
	const struct hnv_conf_bgp_peer *p = &c.u.bgp_peer;
	assert_string_equal(p->name, "corp");
	assert_string_equal(p->rdomain, "blue");
	assert_int_equal(p->asn, 65002);
	assert_true(p->has_source);
	assert_int_equal(p->n_in, 3);
	assert_int_equal(p->n_out, 1);
	assert_int_equal(p->in[0].prefix.len, 16);
	assert_int_equal(p->in[0].ge, 0);
	assert_int_equal(p->in[0].le, 0);
	assert_int_equal(p->in[1].le, 24);
	assert_int_equal(p->in[2].ge, 20);
	assert_int_equal(p->in[2].le, 28);

	parse_ok("bgp-peer add v6 --rdomain blue --addr 2001:db8::2 --asn 4200000000 "
		 "--prefix-in 2001:db8:100::/48,le=64",
		 &c);
	assert_int_equal(c.u.bgp_peer.asn, 4200000000u);
	assert_int_equal(c.u.bgp_peer.in[0].le, 64);
	assert_false(c.u.bgp_peer.has_source);

	parse_ok("bgp-peer del corp", &c);
	assert_int_equal(c.kind, HNV_CONF_BGP_PEER_DEL);
	assert_string_equal(c.u.bgp_peer.name, "corp");

	/* --bgp-asn alone: the tenant's AS for its bgp-peer objects */
	parse_ok("gateway add --rdomain blue --vrf blue --table 5 --bgp-asn 65000", &c);
	assert_int_equal(c.u.gateway.bgp_asn, 65000);
	assert_true(hnv_ip_is_unspec(&c.u.gateway.bgp_peer));
}

static void test_parse_errors(void **state)
{
	(void)state;
	parse_err("bgp-peer add p --rdomain blue --addr 10.0.0.1", "missing --asn");
	parse_err("bgp-peer add p --rdomain blue --asn 1", "missing --addr");
	parse_err("bgp-peer add p --addr 10.0.0.1 --asn 1", "missing --rdomain");
	parse_err("bgp-peer add p --rdomain blue --addr 10.0.0.1 --asn 0", "invalid AS number");
	parse_err("bgp-peer add p --rdomain blue --addr 224.0.0.1 --asn 1", "invalid peer address");
	parse_err("bgp-peer add p/q --rdomain blue --addr 10.0.0.1 --asn 1", "invalid peer name");
	parse_err("bgp-peer add p --rdomain blue --addr 10.0.0.1 --asn 1 --source 2001:db8::1",
		  "not of the peer address's family");
	parse_err("bgp-peer add p --rdomain blue --addr 10.0.0.1 --asn 1 --prefix-in 2001:db8::/32",
		  "not of the peer's address family");
	parse_err("bgp-peer add p --rdomain blue --addr 10.0.0.1 --asn 1 --prefix-in 10.0.0.1/8",
		  "invalid in prefix");
	parse_err("bgp-peer add p --rdomain blue --addr 10.0.0.1 --asn 1 --prefix-in "
		  "10.0.0.0/8,le=8",
		  "ge and le must be longer than the prefix");
	parse_err("bgp-peer add p --rdomain blue --addr 10.0.0.1 --asn 1 --prefix-in "
		  "10.0.0.0/8,le=33",
		  "ge and le take a prefix length");
	parse_err("bgp-peer add p --rdomain blue --addr 10.0.0.1 --asn 1 --prefix-out "
		  "10.0.0.0/8,ge=24,le=16",
		  "le is shorter than ge");
	parse_err("bgp-peer add p --rdomain blue --addr 10.0.0.1 --asn 1 --prefix-in "
		  "10.0.0.0/8,le=24,le=25",
		  "le given twice");
	parse_err("bgp-peer add p --rdomain blue --addr 10.0.0.1 --asn 1 --prefix-in "
		  "10.0.0.0/8,mx=24",
		  "expected P[,ge=N][,le=N]");
	parse_err("bgp-peer add p --rdomain blue --addr 10.0.0.1 --asn 1 --prefix-in 10.0.0.0/8 "
		  "--prefix-in 10.0.0.0/8",
		  "given twice");
	char line[2048] = "bgp-peer add p --rdomain blue --addr 10.0.0.1 --asn 1";
	for (int i = 0; i < HNV_BGP_PEER_PREFIXES_MAX + 1; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
			 " --prefix-in 10.%d.0.0/16", i);
	parse_err(line, "too many --prefix-in (at most 16)");
	parse_err("gateway add --rdomain b --vrf v --table 5 --bgp-peer 10.0.0.1 --bgp-peer-asn 1",
		  "give --bgp-peer and --bgp-peer-asn together, with --bgp-asn");
	parse_err("gateway add --rdomain b --vrf v --table 5 --bgp-asn 1 --bgp-peer 10.0.0.1",
		  "give --bgp-peer and --bgp-peer-asn together");
}

static void test_round_trip(void **state)
{
	(void)state;
	static const struct {
		const char *in, *canon;
	} t[] = {
		{"bgp-peer add corp --source 172.31.1.5 --prefix-out 10.0.0.0/24 --asn 65002 "
		 "--prefix-in 10.64.0.0/10,le=24 --addr 172.31.1.6 --rdomain blue "
		 "--prefix-in 192.168.0.0/16,le=28,ge=20",
		 "bgp-peer add corp --rdomain blue --addr 172.31.1.6 --asn 65002 --source "
		 "172.31.1.5 --prefix-in 10.64.0.0/10,le=24 --prefix-in 192.168.0.0/16,ge=20,le=28 "
		 "--prefix-out 10.0.0.0/24"},
		{"bgp-peer add v6 --rdomain blue --addr 2001:DB8:0::2 --asn 65003",
		 "bgp-peer add v6 --rdomain blue --addr 2001:db8::2 --asn 65003"},
		{"bgp-peer del corp", "bgp-peer del corp"},
		{"gateway add --rdomain blue --vrf blue --table 5 --bgp-asn 65000",
		 "gateway add --rdomain blue --vrf blue --table 5 --bgp-asn 65000"},
		{"gateway add --rdomain blue --vrf blue --table 5 --bgp-peer-asn 65001 --bgp-peer "
		 "10.0.0.1 --bgp-asn 65000",
		 "gateway add --rdomain blue --vrf blue --table 5 --bgp-asn 65000 --bgp-peer "
		 "10.0.0.1 --bgp-peer-asn 65001"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct hnv_conf_cmd a, b;
		char buf[1024];
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		parse_ok(t[i].in, &a);
		assert_int_equal(hnv_conf_format(&a, false, buf, sizeof(buf)), 0);
		if (strcmp(buf, t[i].canon) != 0)
			fail_msg("format of \"%s\":\n  got  \"%s\"\n  want \"%s\"", t[i].in, buf,
				 t[i].canon);
		parse_ok(buf, &b);
		assert_int_equal(a.kind, b.kind);
		assert_memory_equal(&a.u, &b.u, sizeof(a.u));
	}
}

/* The model's verdict on BASE + extra (one transaction). */
static int model_load(const char *extra, char *err, size_t errlen, struct hnv_model **out)
{
	char text[4096];
	snprintf(text, sizeof(text), "%s%s", BASE, extra);
	struct hnv_model *m = NULL;
	int rc = hnv_model_load(text, strlen(text), &m, err, errlen);
	if (out)
		*out = m;
	else
		hnv_model_free(m);
	return rc;
}

/* The config applier's verdict on the same text (a replay). */
static int replay(const char *extra, char *err, size_t errlen)
{
	char text[4096];
	snprintf(text, sizeof(text), "%s%s", BASE, extra);
	struct hnv_conf_cmd *cmds;
	size_t n;
	int rc = hnv_conf_parse_text(text, strlen(text), &cmds, &n, err, errlen);
	if (rc != 0)
		fail_msg("parse: %s", err);
	struct hnv_dp *dp = hnv_dp_new();
	assert_non_null(dp);
	rc = hnv_conf_apply(dp, cmds, n, err, errlen);
	hnv_conf_cmds_free(cmds, n);
	hnv_dp_free(dp);
	return rc;
}

/* Both refuse extra with a message holding want. */
static void refused(const char *extra, const char *want)
{
	char err[512] = "";
	if (model_load(extra, err, sizeof(err), NULL) == 0 || strstr(err, want) == NULL)
		fail_msg("model: \"%s\": error \"%s\", want \"%s\"", extra, err, want);
	err[0] = '\0';
	if (replay(extra, err, sizeof(err)) == 0 || strstr(err, want) == NULL)
		fail_msg("replay: \"%s\": error \"%s\", want \"%s\"", extra, err, want);
}

static void accepted(const char *extra)
{
	char err[512] = "";
	if (model_load(extra, err, sizeof(err), NULL) != 0)
		fail_msg("model: \"%s\": %s", extra, err);
	if (replay(extra, err, sizeof(err)) != 0)
		fail_msg("replay: \"%s\": %s", extra, err);
}

static void test_checks(void **state)
{
	(void)state;
	accepted("bgp-peer add corp2 --rdomain blue --addr 172.31.1.6 --asn 65002 "
		 "--prefix-in 172.16.0.0/16\n"
		 "bgp-peer add site --rdomain blue --addr 192.168.1.1 --asn 65003\n");
	/* the same address in two routing domains: two VRFs */
	accepted("gateway del --rdomain red\n"
		 "gateway add --rdomain red --vrf red --table 1002 --bgp-asn 65010\n"
		 "bgp-peer add a --rdomain blue --addr 192.168.1.1 --asn 65003\n"
		 "bgp-peer add b --rdomain red --addr 192.168.1.1 --asn 65003\n");
	refused("bgp-peer add p --rdomain red --addr 10.9.9.9 --asn 65003\n", "has no --bgp-asn");
	refused("bgp-peer add p --rdomain green --addr 10.9.9.9 --asn 65003\n", "green");
	refused("rdomain add green --rdid 11111111-2222-3333-4444-000000007001\n"
		"bgp-peer add p --rdomain green --addr 10.9.9.9 --asn 65003\n",
		"has no gateway");
	refused("bgp-peer add p --rdomain blue --addr 172.31.1.2 --asn 65001\n",
		"already the --bgp-peer of the gateway");
	refused("bgp-peer add a --rdomain blue --addr 10.9.9.9 --asn 65003\n"
		"bgp-peer add b --rdomain blue --addr 10.9.9.9 --asn 65004\n",
		"10.9.9.9 is already peer \"a\"");
	refused("bgp-peer add a --rdomain blue --addr 10.9.9.9 --asn 65003\n"
		"bgp-peer add a --rdomain blue --addr 10.9.9.8 --asn 65003\n",
		"already exists");
	refused("bgp-peer del nope\n", "not found");
	refused("bgp-peer add a --rdomain blue --addr 10.9.9.9 --asn 65003\n"
		"gateway del --rdomain blue\n",
		"bgp-peer");
}

/* Changes on a running model: a peer goes and comes back with other
 * filters in one transaction; the text keeps exactly what is configured. */
static void test_model_text(void **state)
{
	(void)state;
	char err[512] = "";
	struct hnv_model *m = NULL;
	if (model_load("bgp-peer add corp2 --rdomain blue --addr 172.31.1.6 --asn 65002 "
		       "--prefix-in 172.16.0.0/16\n",
		       err, sizeof(err), &m) != 0)
		fail_msg("load: %s", err);
	const char *lines[] = {
		"bgp-peer del corp2",
		"bgp-peer add corp2 --rdomain blue --addr 172.31.1.6 --asn 65002 --prefix-in "
		"172.16.0.0/16 --prefix-in 10.99.0.0/16,le=24 --prefix-out 10.0.0.0/24",
		"bgp-peer add r2 --rdomain blue --addr 192.0.2.6 --asn 65005",
	};
	struct hnv_model *next = NULL;
	if (hnv_model_transact(m, lines, 3, &next, err, sizeof(err)) != 0)
		fail_msg("transact: %s", err);
	char *text = hnv_model_text(next, false);
	assert_non_null(text);
	assert_non_null(strstr(text, "bgp-peer add corp2 --rdomain blue --addr 172.31.1.6 --asn "
				     "65002 --prefix-in 172.16.0.0/16 --prefix-in "
				     "10.99.0.0/16,le=24 --prefix-out 10.0.0.0/24\n"));
	assert_non_null(strstr(text, "bgp-peer add r2 --rdomain blue --addr 192.0.2.6 --asn "
				     "65005\n"));
	/* peers come after the gateways they name: the text loads again */
	struct hnv_model *again = NULL;
	if (hnv_model_load(text, strlen(text), &again, err, sizeof(err)) != 0)
		fail_msg("reload: %s\n%s", err, text);
	char *text2 = hnv_model_text(again, false);
	assert_string_equal(text, text2);
	free(text);
	free(text2);
	hnv_model_free(again);
	hnv_model_free(next);
	hnv_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),      cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_round_trip), cmocka_unit_test(test_checks),
		cmocka_unit_test(test_model_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
