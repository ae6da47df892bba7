/* test_conn.c: GRE and L3 connections in the config text (gre add, l3
 * add): parsing with the values' errors, the canonical line and its round
 * trip through the model's `show config` text, and the checks at commit in
 * both validators (the model hnvgwd commits with, and the applier's batch
 * that hnvgw-dp replay runs), which must agree. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf_line.h"
#include "conn_conf.h"

static void test_round_trip(void **state)
{
	(void)state;
	static const struct {
		const char *in, *canon;
	} t[] = {
		{"gre add hq --rdomain blue --local 198.51.100.1 --remote 198.51.100.2 --addr "
		 "172.30.0.1/30 --remote-prefix 192.168.0.0/16",
		 NULL},
		{"gre add hq --rate-in 20000 --key 5 --remote-prefix 192.168.0.0/16 "
		 "--remote-prefix "
		 "2001:DB8:9::/48 --addr 172.30.0.1/30 --remote 198.51.100.2 --local 198.51.100.1 "
		 "--rdomain blue --rate-out 10000",
		 "gre add hq --rdomain blue --local 198.51.100.1 --remote 198.51.100.2 --key 5 "
		 "--addr 172.30.0.1/30 --remote-prefix 192.168.0.0/16 --remote-prefix "
		 "2001:db8:9::/48 --rate-out 10000 --rate-in 20000"},
		{"gre add bgp --rdomain blue --local 198.51.100.1 --remote 198.51.100.3 --key 0 "
		 "--addr 2001:db8:ff::1/64",
		 NULL},
		{"gre del hq", NULL},
		{"l3 add corp --rdomain red --dev eth2 --vlan 100 --addr 172.31.5.1/24 --nexthop "
		 "172.31.5.254",
		 NULL},
		{"l3 add corp --nexthop 172.31.5.254 --rdomain red --vlan 4094 --dev eth2 --addr "
		 "172.31.5.1/24 --remote-prefix 10.50.0.0/16 --rate-out 8",
		 "l3 add corp --rdomain red --dev eth2 --vlan 4094 --addr 172.31.5.1/24 --nexthop "
		 "172.31.5.254 --remote-prefix 10.50.0.0/16 --rate-out 8"},
		{"l3 add p2p --rdomain red --dev eth2 --vlan 7 --addr 10.9.9.0/31 --nexthop "
		 "10.9.9.1",
		 NULL},
		{"l3 del corp", NULL},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct hnv_conf_cmd c, back;
		char line[1024], again[1024];
		parse_ok(t[i].in, &c);
		assert_int_equal(hnv_conf_format(&c, false, line, sizeof(line)), 0);
		assert_string_equal(line, t[i].canon ? t[i].canon : t[i].in);
		parse_ok(line, &back);
		assert_int_equal(hnv_conf_format(&back, false, again, sizeof(again)), 0);
		assert_string_equal(again, line);
		assert_int_equal(back.kind, c.kind);
		assert_memory_equal(&back.u.conn, &c.u.conn, sizeof(c.u.conn));
	}
}

static void test_parse_errors(void **state)
{
	(void)state;
	static const struct {
		const char *line, *want;
	} t[] = {
		{"gre add averyverylongname --rdomain blue --local 192.0.2.1 --remote 192.0.2.2 "
		 "--addr 10.1.1.1/30",
		 "at most 12 characters (the device is gr-<name> or l3-<name>)"},
		{"gre add a --rdomain blue --local 192.0.2.1 --remote 192.0.2.2",
		 "gre add: missing --addr"},
		{"gre add a --rdomain blue --local 2001:db8::1 --remote 192.0.2.2 --addr "
		 "10.1.1.1/30",
		 "GRE tunnels have IPv4 outer addresses"},
		{"gre add a --rdomain blue --local 192.0.2.1 --remote 192.0.2.1 --addr 10.1.1.1/30",
		 "the same as the local address"},
		{"gre add a --rdomain blue --local 192.0.2.1 --remote 224.0.0.5 --addr 10.1.1.1/30",
		 "invalid remote address \"224.0.0.5\""},
		{"gre add a --rdomain blue --local 192.0.2.1 --remote 192.0.2.2 --addr 10.1.1.0/30",
		 "invalid address \"10.1.1.0/30\": the network or broadcast address"},
		{"gre add a --rdomain blue --local 192.0.2.1 --remote 192.0.2.2 --addr 10.1.1.3/30",
		 "the network or broadcast address of its prefix"},
		{"gre add a --rdomain blue --local 192.0.2.1 --remote 192.0.2.2 --addr 10.1.1.1",
		 "invalid address \"10.1.1.1\""},
		{"gre add a --rdomain blue --local 192.0.2.1 --remote 192.0.2.2 --addr 10.1.1.1/30 "
		 "--key 4294967296",
		 "invalid GRE key \"4294967296\""},
		{"gre add a --rdomain blue --local 192.0.2.1 --remote 192.0.2.2 --addr 10.1.1.1/30 "
		 "--rate-out 7",
		 "invalid rate out (kbit/s) \"7\""},
		{"gre add a --rdomain blue --local 192.0.2.1 --remote 192.0.2.2 --addr 10.1.1.1/30 "
		 "--rate-in 32000001",
		 "invalid rate in (kbit/s) \"32000001\""},
		{"gre add a --rdomain blue --local 192.0.2.1 --remote 192.0.2.2 --addr 10.1.1.1/30 "
		 "--remote-prefix 10.0.0.0/8 --remote-prefix 10.5.0.0/16",
		 "remote prefix \"10.5.0.0/16\" overlaps remote prefix \"10.0.0.0/8\""},
		{"gre add a --rdomain blue --local 192.0.2.1 --remote 192.0.2.2 --addr 10.1.1.1/30 "
		 "--vlan 5",
		 "unknown option \"--vlan\" for \"gre add\""},
		{"l3 add a --rdomain blue --dev eth2 --vlan 0 --addr 10.1.1.1/24 --nexthop "
		 "10.1.1.2",
		 "invalid VLAN ID \"0\""},
		{"l3 add a --rdomain blue --dev eth2 --vlan 4095 --addr 10.1.1.1/24 --nexthop "
		 "10.1.1.2",
		 "invalid VLAN ID \"4095\""},
		{"l3 add a --rdomain blue --dev eth2 --vlan 5 --addr 10.1.1.1/24 --nexthop "
		 "10.1.2.2",
		 "invalid next hop \"10.1.2.2\": not inside the prefix of --addr"},
		{"l3 add a --rdomain blue --dev eth2 --vlan 5 --addr 10.1.1.1/24 --nexthop "
		 "10.1.1.1",
		 "the gateway's own address"},
		{"l3 add a --rdomain blue --dev eth2 --vlan 5 --addr 10.1.1.1/24 --nexthop "
		 "10.1.1.2 "
		 "--remote-prefix 2001:db8::/32",
		 "not of the next hop's address family"},
		{"l3 add a --rdomain blue --dev l3-b --vlan 5 --addr 10.1.1.1/24 --nexthop "
		 "10.1.1.2",
		 "names gr-* and l3-* are the GRE and L3 connections' devices"},
		{"l3 add a --rdomain blue --dev vsid5001 --vlan 5 --addr 10.1.1.1/24 --nexthop "
		 "10.1.1.2",
		 "names vsidN are the gateway role's ports"},
		{"l3 add a --rdomain blue --vlan 5 --addr 10.1.1.1/24 --nexthop 10.1.1.2",
		 "l3 add: missing --dev"},
		{"l3 del", "l3 del: missing NAME"},
		{"port add p --vsid 5001 --dev gr-x", "names gr-* and l3-*"},
		{"gateway add --rdomain r --vrf r --table 9 --corp-dev l3-x",
		 "names gr-* and l3-*"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct hnv_conf_cmd c;
		char err[512] = "";
		int rc = hnv_conf_parse_line(t[i].line, &c, err, sizeof(err));
		if (rc != -EINVAL || strstr(err, t[i].want) == NULL)
			fail_msg("\"%s\": rc %d, error \"%s\", want \"%s\"", t[i].line, rc, err,
				 t[i].want);
	}
}

/* extra after BASE: the model's verdict and the batch's, which agree;
 * want: NULL for accepted, else part of the message of both. */
static void check_both(const char *extra, const char *want)
{
	struct verdicts v;
	both_verdicts(extra, &v);
	int mrc = v.mrc, brc = v.brc;
	char *merr = v.merr, *berr = v.berr;
	struct hnv_model *m = v.m;
	if (want == NULL) {
		if (mrc != 0 || brc != 0)
			fail_msg("%s: model %d \"%s\", batch %d \"%s\"", extra, mrc, merr, brc,
				 berr);
		/* show config round trip: the model's text loads to the same text */
		char *t1 = hnv_model_text(m, false);
		struct hnv_model *m2 = NULL;
		assert_int_equal(hnv_model_load(t1, strlen(t1), &m2, merr, sizeof(merr)), 0);
		char *t2 = hnv_model_text(m2, false);
		assert_string_equal(t1, t2);
		/* every gre/l3 line of extra is in it, canonical (unless deleted) */
		for (const char *p = strstr(extra, " del ") ? "" : extra; *p;) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) : strlen(p);
			char line[1024];
			snprintf(line, sizeof(line), "%.*s\n", (int)len, p);
			if (strncmp(line, "gre add", 7) == 0 || strncmp(line, "l3 add", 6) == 0) {
				if (strstr(t1, line) == NULL)
					fail_msg("\"%s\" not in show config:\n%s", line, t1);
			}
			p += len + (nl != NULL);
		}
		free(t1);
		free(t2);
		hnv_model_free(m2);
		hnv_model_free(m);
		return;
	}
	if (mrc == 0 || brc == 0 || !strstr(merr, want) || !strstr(berr, want))
		fail_msg("%s: model %d \"%s\", batch %d \"%s\", want \"%s\"", extra, mrc, merr, brc,
			 berr, want);
	hnv_model_free(m);
}

/* no remote prefixes (BGP), so that no two overlap (conf_rroute.h) */
#define GRE(n, rd, remote, key)                                                                    \
	"gre add " n " --rdomain " rd " --local 198.51.100.1 --remote " remote key                 \
	" --addr 172.30.0.1/30\n"
#define L3(n, rd, dev, vlan)                                                                       \
	"l3 add " n " --rdomain " rd " --dev " dev " --vlan " vlan                                 \
	" --addr 172.31.0.1/24 --nexthop 172.31.0.2 --remote-prefix 10." vlan ".0.0/16\n"

static void test_commit_checks(void **state)
{
	(void)state;
	/* accepted: the same key or VLAN on other parents, in other tenants */
	check_both(GRE("a", "blue", "198.51.100.2",
		       " --key 5") GRE("b", "red", "198.51.100.3",
				       " --key 5") GRE("c", "red", "198.51.100.2", " --key 6")
			   GRE("d", "blue", "198.51.100.2", "") L3("x", "blue", "eth2", "100")
				   L3("y", "red", "eth3", "100") L3("z", "red", "eth2", "101"),
		   NULL);
	/* a gre and an l3 connection may share a name: gr-same and l3-same */
	check_both(GRE("same", "blue", "198.51.100.2", "") L3("same", "blue", "eth2", "5"), NULL);
	check_both("gre add a --rdomain blue --local 198.51.100.1 --remote 198.51.100.2 --addr "
		   "172.30.0.1/30 --rate-out 20000 --rate-in 20000\n",
		   NULL);
	/* refused */
	check_both(GRE("a", "green", "198.51.100.2", ""),
		   "gre add: routing domain \"green\" not found");
	check_both("rdomain add green --rdid 11111111-2222-3333-4444-000000007001\n" GRE(
			   "a", "green", "198.51.100.2", ""),
		   "gre add: tunnel \"a\": routing domain \"green\" has no gateway");
	check_both(GRE("a", "blue", "198.51.100.2", " --key 5")
			   GRE("b", "red", "198.51.100.2", " --key 5"),
		   "gre add: tunnel \"b\" has the local address 198.51.100.1, remote address "
		   "198.51.100.2 and key 5 of tunnel \"a\"");
	check_both(GRE("a", "blue", "198.51.100.2", "") GRE("b", "blue", "198.51.100.2", ""),
		   "and no key of tunnel \"a\"");
	check_both(L3("x", "blue", "eth2", "100") L3("y", "red", "eth2", "100"),
		   "l3 add: connection \"y\" uses VLAN 100 on eth2, which connection \"x\" uses "
		   "already");
	check_both(GRE("a", "blue", "198.51.100.2", "") GRE("a", "red", "198.51.100.9", ""),
		   "already exists");
	check_both(L3("x", "blue", "eth2", "100") "gateway del --rdomain blue\n",
		   "is in use by l3 \"x\"");
	check_both("gre del nope\n", "not found");
	/* one default route per VRF and family */
	check_both("l3 add x --rdomain blue --dev eth2 --vlan 5 --addr 172.31.0.1/24 --nexthop "
		   "172.31.0.2\n"
		   "l3 add y --rdomain blue --dev eth2 --vlan 6 --addr 172.31.1.1/24 --nexthop "
		   "172.31.1.2\n",
		   "l3 add: connection \"y\" would carry the IPv4 default route of routing domain "
		   "\"blue\", which connection \"x\" carries");
	check_both("gateway del --rdomain blue\n"
		   "gateway add --rdomain blue --vrf blue --table 101 --corp-dev eth9 --corp-addr "
		   "172.29.0.1/24 --corp-nexthop 172.29.0.2\n"
		   "l3 add x --rdomain blue --dev eth2 --vlan 5 --addr 172.31.0.1/24 --nexthop "
		   "172.31.0.2\n",
		   "which is its gateway's --corp-nexthop");
	/* with remote prefixes, or in another tenant or family: fine */
	check_both("l3 add x --rdomain blue --dev eth2 --vlan 5 --addr 172.31.0.1/24 --nexthop "
		   "172.31.0.2\n"
		   "l3 add y --rdomain red --dev eth2 --vlan 6 --addr 172.31.1.1/24 --nexthop "
		   "172.31.1.2\n"
		   "l3 add z --rdomain blue --dev eth2 --vlan 7 --addr 2001:db8:7::1/64 --nexthop "
		   "2001:db8:7::2\n"
		   "l3 add w --rdomain blue --dev eth2 --vlan 8 --addr 172.31.2.1/24 --nexthop "
		   "172.31.2.2 --remote-prefix 10.99.0.0/16\n",
		   NULL);
	/* delete, then the same key again */
	check_both(GRE("a", "blue", "198.51.100.2",
		       " --key 5") "gre del a\n" GRE("b", "red", "198.51.100.2", " --key 5"),
		   NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_commit_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
