/* test_rroute.c: the refusal of overlapping remote prefixes between the
 * S2S tunnels, GRE and L3 connections of one routing domain
 * (mgmt/conf_rroute.h), by the model hnvgwd commits with and by the
 * applier's batch (hnvgw-dp replay) with the same message, in one file
 * and across commits; the same prefixes in different routing domains, a
 * default route beside specific prefixes, and a netmap's real prefix
 * are fine. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn_conf.h"

/* extra after BASE: the model's verdict and the batch's; want NULL for
 * accepted, else the whole message both give (identical). */
static void check_both(const char *extra, const char *want)
{
	struct verdicts v;
	both_verdicts(extra, &v);
	int mrc = v.mrc, brc = v.brc;
	const char *merr = v.merr, *berr = v.berr;
	struct hnv_model *m = v.m;
	if (want == NULL) {
		if (mrc != 0 || brc != 0)
			fail_msg("%s: model %d \"%s\", batch %d \"%s\"", extra, mrc, merr, brc,
				 berr);
		hnv_model_free(m);
		return;
	}
	/* "line N: " and the message; the batch's and the model's agree */
	const char *mm = strstr(merr, ": "), *bm = strstr(berr, ": ");
	if (mrc != -EEXIST || brc != -EEXIST || !mm || !bm || strcmp(mm, bm) != 0 ||
	    strstr(merr, want) == NULL)
		fail_msg("%s: model %d \"%s\", batch %d \"%s\", want \"%s\"", extra, mrc, merr, brc,
			 berr, want);
	assert_null(strstr(merr, PSK));
	hnv_model_free(m);
}

#define REASON                                                                                     \
	": its VRF would route one prefix through two objects (give prefixes that do not "         \
	"overlap)"

static void test_overlap(void **state)
{
	(void)state;
	/* the same prefix: a tunnel, then a GRE connection */
	check_both(S2S_LINE("hq", "blue", "198.51.100.2", "--remote-prefix 192.168.0.0/16", "")
			   GRE_LINE("dc", "blue", "198.51.100.7", "--remote-prefix 192.168.0.0/16"),
		   "line 6: gre add: gre \"dc\" routes 192.168.0.0/16, which overlaps "
		   "192.168.0.0/16 of s2s \"hq\" in routing domain \"blue\"" REASON);
	/* a prefix inside another: an L3 connection after a tunnel's second prefix */
	check_both(S2S_LINE("hq", "blue", "198.51.100.2",
			    "--remote-prefix 172.20.0.0/16 --remote-prefix 192.168.0.0/16", "")
			   L3_LINE("mpls", "blue", "100", " --remote-prefix 192.168.50.0/24"),
		   "line 6: l3 add: l3 \"mpls\" routes 192.168.50.0/24, which overlaps "
		   "192.168.0.0/16 of s2s \"hq\" in routing domain \"blue\"");
	/* two tunnels */
	check_both(
		S2S_LINE("a", "blue", "198.51.100.2", "--remote-prefix 192.168.0.0/16", "")
			S2S_LINE("b", "blue", "198.51.100.3", "--remote-prefix 192.168.7.0/24", ""),
		"line 6: s2s add: s2s \"b\" routes 192.168.7.0/24, which overlaps 192.168.0.0/16 "
		"of s2s \"a\"");
	/* two connections: GRE then L3, IPv6 */
	check_both(
		GRE_LINE("g", "blue", "198.51.100.7",
			 "--remote-prefix 2001:db8:5::/48") "l3 add v6 --rdomain blue --dev eth2 "
							    "--vlan 6 --addr 2001:db8:ff::1/64 "
							    "--nexthop 2001:db8:ff::2 "
							    "--remote-prefix 2001:db8::/32\n",
		"l3 add: l3 \"v6\" routes 2001:db8::/32, which overlaps 2001:db8:5::/48 of gre "
		"\"g\"");
	/* an L3 connection's default route and a GRE --remote-prefix 0.0.0.0/0 */
	check_both(GRE_LINE("g", "blue", "198.51.100.7", "--remote-prefix 0.0.0.0/0")
			   L3_LINE("dflt", "blue", "100", ""),
		   "l3 add: l3 \"dflt\" routes 0.0.0.0/0, which overlaps 0.0.0.0/0 of gre \"g\"");
	/* a tunnel's mapped prefix (remote netmap) is what it routes */
	check_both(S2S_LINE("br", "blue", "198.51.100.2", "--remote-prefix 10.10.0.0/16",
			    " --remote-netmap 10.10.0.0/16=172.30.0.0/16")
			   GRE_LINE("g", "blue", "198.51.100.7", "--remote-prefix 172.30.5.0/24"),
		   "gre add: gre \"g\" routes 172.30.5.0/24, which overlaps 172.30.0.0/16 of s2s "
		   "\"br\"");

	/* accepted: the same prefixes in different routing domains (VRFs
	 * keep them apart) */
	check_both(S2S_LINE("a", "blue", "198.51.100.2", "--remote-prefix 192.168.0.0/16", "")
			   S2S_LINE("b", "red", "198.51.100.3", "--remote-prefix 192.168.0.0/16",
				    "") GRE_LINE("g", "red", "198.51.100.7",
						 "--remote-prefix 10.60.0.0/16")
				   L3_LINE("v", "blue", "100", " --remote-prefix 10.60.0.0/16"),
		   NULL);
	/* accepted: a default route beside specific prefixes; other families;
	 * a netmap's real prefix (not routed) beside a connection's */
	check_both(L3_LINE("dflt", "blue", "100", "") S2S_LINE("a", "blue", "198.51.100.2",
							       "--remote-prefix 192.168.0.0/16", "")
			   GRE_LINE("g", "blue", "198.51.100.7",
				    "--remote-prefix 10.60.0.0/16 --remote-prefix 2001:db8::/32"),
		   NULL);
	check_both(S2S_LINE("br", "blue", "198.51.100.2", "--remote-prefix 10.10.0.0/16",
			    " --remote-netmap 10.10.0.0/16=172.30.0.0/16")
			   GRE_LINE("g", "blue", "198.51.100.7", "--remote-prefix 10.10.0.0/16"),
		   NULL);
	/* deleted, then the prefix again */
	check_both(S2S_LINE("a", "blue", "198.51.100.2", "--remote-prefix 192.168.0.0/16",
			    "") "s2s del a\n" GRE_LINE("g", "blue", "198.51.100.7",
						       "--remote-prefix 192.168.0.0/16"),
		   NULL);
}

/* Across commits: a stored GRE connection and a new tunnel that replays
 * before it (tunnels replay before connections); a new connection and a
 * stored tunnel. The commit is refused either way and the message names
 * both objects and prefixes. */
static void test_overlap_commits(void **state)
{
	(void)state;
	const char *text =
		BASE GRE_LINE("g", "blue", "198.51.100.7", "--remote-prefix 192.168.50.0/24");
	char err[512] = "";
	struct hnv_model *m = NULL, *next = NULL;
	assert_int_equal(hnv_model_load(text, strlen(text), &m, err, sizeof(err)), 0);
	const char *add_s2s[] = {
		S2S_LINE("hq", "blue", "198.51.100.2", "--remote-prefix 192.168.0.0/16", "")};
	int rc = hnv_model_transact(m, add_s2s, 1, &next, err, sizeof(err));
	assert_int_equal(rc, -EEXIST);
	if (!strstr(err, "gre \"g\" routes 192.168.50.0/24, which overlaps 192.168.0.0/16 of "
			 "s2s \"hq\" in routing domain \"blue\""))
		fail_msg("%s", err);
	assert_null(strstr(err, PSK));
	/* in red it is fine */
	const char *add_red[] = {
		S2S_LINE("hq", "red", "198.51.100.2", "--remote-prefix 192.168.0.0/16", "")};
	assert_int_equal(hnv_model_transact(m, add_red, 1, &next, err, sizeof(err)), 0);
	/* and a new connection against the stored tunnel */
	const char *add_l3[] = {L3_LINE("v", "red", "100", " --remote-prefix 192.168.1.0/24")};
	struct hnv_model *third = NULL;
	assert_int_equal(hnv_model_transact(next, add_l3, 1, &third, err, sizeof(err)), -EEXIST);
	if (!strstr(err, "l3 add: l3 \"v\" routes 192.168.1.0/24, which overlaps 192.168.0.0/16 "
			 "of s2s \"hq\" in routing domain \"red\""))
		fail_msg("%s", err);
	/* replacing the connection and the tunnel in one commit is fine */
	const char *swap[] = {
		"gre del g\n", GRE_LINE("g", "blue", "198.51.100.7", "--remote-prefix 10.1.0.0/16"),
		S2S_LINE("hq", "blue", "198.51.100.2", "--remote-prefix 192.168.0.0/16", "")};
	assert_int_equal(hnv_model_transact(m, swap, 3, &third, err, sizeof(err)), 0);
	hnv_model_free(third);
	hnv_model_free(next);
	hnv_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_overlap_commits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
