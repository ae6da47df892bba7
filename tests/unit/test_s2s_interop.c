/* test_s2s_interop.c: IKE interop options of "s2s add" (issue 19 item 4):
 * --peer any (responder only), --peer HOST (a DNS name charon resolves)
 * and --allow-legacy-crypto. Parsing and its refusals, the canonical line
 * and its round trip, the commit warning, the checks that tell "any"
 * tunnels apart (batch applier and model), the show row, and the load-conn
 * message charon gets for each mode.
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
#include <json-c/json.h>

#include "../../datapath/dp.h"
#include "../../mgmt/conf_apply.h"
#include "../../mgmt/conftext.h"
#include "../../mgmt/daemon/gwstate.h"
#include "../../mgmt/model.h"
#include "../../vpn/s2s.h"

#define PSK "Zq8-secret-Psk-4711-abcdef"
#define CONF_LINE_SECRET PSK /* in no refusal */
#include "conf_line.h"
#define BASE(peer)                                                                                 \
	"s2s add t1 --rdomain blue --peer " peer " --local-id gw.example "                         \
	"--remote-id site1.example --remote-prefix 192.168.50.0/24 --psk " PSK

/* line parses, formats to want (with secrets), and want parses back to
 * the same command. */
static void round_trip(const char *line, const char *want)
{
	struct hnv_conf_cmd a, b;
	char buf[4097];
	parse_ok(line, &a);
	assert_int_equal(hnv_conf_format(&a, true, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
	parse_ok(buf, &b);
	assert_memory_equal(&a, &b, sizeof(a));
}

static void test_peer_parse(void **state)
{
	(void)state;
	struct hnv_conf_cmd c;
	const struct hnv_conf_s2s *s = &c.u.s2s;
	parse_ok(BASE("any"), &c);
	assert_true(s->peer_any);
	assert_string_equal(s->peer_host, "");
	assert_false(s->legacy_crypto);
	parse_ok(BASE("vpn-1.branch.Example.COM"), &c);
	assert_false(s->peer_any);
	assert_string_equal(s->peer_host, "vpn-1.branch.Example.COM");
	parse_ok(BASE("sitehost") " --local-addr 2001:db8::1", &c); /* one label; any family */
	assert_string_equal(s->peer_host, "sitehost");
	parse_ok(BASE("203.0.113.9") " --allow-legacy-crypto", &c);
	assert_string_equal(s->peer_host, "");
	assert_false(s->peer_any);
	assert_true(s->legacy_crypto);
	/* the strong proposals stay what the tunnel has; legacy ones are extra */
	assert_string_equal(s->ike, HNV_S2S_IKE_DEFAULT);
	assert_string_equal(s->esp, HNV_S2S_ESP_DEFAULT);

	parse_err(BASE("203.0.113.256"), "invalid peer \"203.0.113.256\"");
	parse_err(BASE("10.1"), "invalid peer \"10.1\"");
	parse_err(BASE("host.123"),
		  "invalid peer \"host.123\": neither an address nor a host name (whose last "
		  "label is not all digits)");
	parse_err(BASE("host..example"), "invalid peer \"host..example\": empty label");
	parse_err(BASE(".example"), "empty label");
	parse_err(BASE("host.example."), "a host name without the trailing dot");
	parse_err(BASE("-host.example"), "a label may not start or end with '-'");
	parse_err(BASE("host-.example"), "a label may not start or end with '-'");
	parse_err(BASE("host_1.example"),
		  "invalid peer \"host_1.example\": an address, a host name (letters, digits, "
		  "'-' and '.') or any");
	parse_err(BASE("%any"), "an address, a host name");
	parse_err(BASE("\"\""), "invalid peer \"\": empty");
	char label[80], name[400];
	memset(label, 'a', 64);
	label[64] = 0;
	snprintf(name, sizeof(name), BASE("%s.example"), label);
	parse_err(name, "a label of a host name has at most 63 characters");
	/* 254 characters */
	memset(label, 'b', 63);
	label[63] = 0;
	snprintf(name, sizeof(name), "%s.%s.%s.%.62s", label, label, label, label);
	assert_int_equal(strlen(name), 254);
	char line[600];
	snprintf(line, sizeof(line), BASE("%s"), name);
	parse_err(line, "a host name has at most 253 characters");
	name[253] = 0; /* 253 characters */
	snprintf(line, sizeof(line), BASE("%s"), name);
	parse_ok(line, &c);
	assert_int_equal(strlen(c.u.s2s.peer_host), 253);
	/* the PSK is shown nowhere, so it is no part of the peer either */
	parse_err("s2s add t1 --rdomain blue --peer h" PSK ".example --local-id a --remote-id b "
		  "--remote-prefix 10.1.0.0/16 --psk " PSK,
		  "the PSK must not appear in the peer");
	explicit_bzero(&c, sizeof(c));
}

/* --peer any: the remote ID is what picks the tunnel; a wildcard would let
 * any site that knows the PSK (or has a certificate from the CA) in. */
static void test_any_needs_remote_id(void **state)
{
	(void)state;
	parse_err("s2s add t1 --rdomain blue --peer any --local-id gw.example "
		  "--remote-prefix 192.168.50.0/24 --psk " PSK,
		  "s2s add: missing --remote-id");
	parse_err("s2s add t1 --rdomain blue --peer any --local-id gw.example --remote-id %any "
		  "--remote-prefix 192.168.50.0/24 --psk " PSK,
		  "invalid remote ID \"%any\": --peer any needs a --remote-id naming one site (no "
		  "%any, no wildcard '*')");
	parse_err("s2s add t1 --rdomain blue --peer any --local-id gw.example --remote-id "
		  "\"C=CH, CN=*\" --remote-prefix 192.168.50.0/24 --psk " PSK,
		  "--peer any needs a --remote-id naming one site");
	parse_err("s2s add t1 --rdomain blue --peer any --local-id gw.example --remote-id "
		  "*@example.com --remote-prefix 192.168.50.0/24 --psk " PSK,
		  "--peer any needs a --remote-id naming one site");
	/* an address peer is found by its address: its remote ID may be %any */
	struct hnv_conf_cmd c;
	parse_ok("s2s add t1 --rdomain blue --peer 192.0.2.2 --local-id gw.example --remote-id "
		 "%any --remote-prefix 192.168.50.0/24 --psk " PSK,
		 &c);
	explicit_bzero(&c, sizeof(c));
}

static void test_format_round_trip(void **state)
{
	(void)state;
	round_trip("s2s add t1 --allow-legacy-crypto --rdomain blue --peer any --local-id "
		   "gw.example --remote-id site1.example --remote-prefix 192.168.50.0/24 "
		   "--psk " PSK,
		   "s2s add t1 --rdomain blue --peer any --local-id gw.example --remote-id "
		   "site1.example --psk " PSK " --ike-proposal aes256gcm16-prfsha384-ecp384 "
		   "--esp-proposal aes256gcm16-ecp384 --remote-prefix 192.168.50.0/24 --dpd 30 "
		   "--allow-legacy-crypto");
	round_trip(BASE("site.branch.example") " --local-addr 198.51.100.1",
		   "s2s add t1 --rdomain blue --peer site.branch.example --local-addr "
		   "198.51.100.1 --local-id gw.example --remote-id site1.example --psk " PSK
		   " --ike-proposal aes256gcm16-prfsha384-ecp384 --esp-proposal "
		   "aes256gcm16-ecp384 --remote-prefix 192.168.50.0/24 --dpd 30");
	/* a host name that reads as an option word is quoted when formatted */
	round_trip(BASE("any-site.example"),
		   "s2s add t1 --rdomain blue --peer any-site.example --local-id gw.example "
		   "--remote-id site1.example --psk " PSK " --ike-proposal "
		   "aes256gcm16-prfsha384-ecp384 --esp-proposal aes256gcm16-ecp384 "
		   "--remote-prefix 192.168.50.0/24 --dpd 30");
	/* masked: no PSK, the rest as shown */
	struct hnv_conf_cmd a;
	char buf[4097];
	parse_ok(BASE("any") " --allow-legacy-crypto", &a);
	assert_int_equal(hnv_conf_format(&a, false, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "--peer any "));
	assert_non_null(strstr(buf, "--psk <secret> "));
	assert_non_null(strstr(buf, " --allow-legacy-crypto"));
	assert_null(strstr(buf, PSK));
	/* flags take no value, and only once */
	parse_err(BASE("any") " --allow-legacy-crypto --allow-legacy-crypto",
		  "--allow-legacy-crypto given more than once");
	explicit_bzero(&a, sizeof(a));
}

static void test_warning(void **state)
{
	(void)state;
	struct hnv_conf_cmd c;
	char w[512];
	parse_ok(BASE("any"), &c);
	assert_false(hnv_conf_warning(&c, w, sizeof(w)));
	assert_string_equal(w, "");
	parse_ok(BASE("192.0.2.2") " --allow-legacy-crypto", &c);
	assert_true(hnv_conf_warning(&c, w, sizeof(w)));
	assert_non_null(strstr(w, "s2s t1: --allow-legacy-crypto: this tunnel also accepts DH "
				  "group 2 (MODP1024), SHA-1 and 3DES"));
	assert_null(strstr(w, PSK));
	parse_ok("s2s del t1", &c);
	assert_false(hnv_conf_warning(&c, w, sizeof(w)));
	explicit_bzero(&c, sizeof(c));
}

#define GW_BASE                                                                                    \
	"rdomain add blue --rdid 11111111-2222-3333-4444-000000005001\n"                           \
	"rdomain add red --rdid 11111111-2222-3333-4444-000000006001\n"                            \
	"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24\n"                                   \
	"vsubnet add 6001 --rdomain red --prefix 10.0.0.0/24\n"                                    \
	"gateway add --rdomain blue --vrf vrf-blue --table 1001\n"                                 \
	"gateway add --rdomain red --vrf vrf-red --table 1002\n"
#define ANY(name, rd, rid, extra)                                                                  \
	"s2s add " name " --rdomain " rd " --peer any --local-id gw.example --remote-id " rid      \
	" --remote-prefix 192.168.50.0/24 --psk " PSK extra "\n"

static const struct {
	const char *text;
	int rc;
	const char *want;
} tell_apart[] = {
	/* two tenants, two sites: told apart by their remote IDs */
	{ANY("a", "blue", "site-a.example", "") ANY("b", "red", "site-b.example", ""), 0, NULL},
	/* the same remote ID: charon could not tell which tenant a site is,
	 * even with another local ID (a site need not send IDr) */
	{ANY("a", "blue", "site-a.example", "") ANY("b", "red", "site-a.example", ""), -EEXIST,
	 "s2s add: tunnels \"b\" and \"a\" both have --peer any and the remote-id "
	 "\"site-a.example\""},
	{ANY("a", "blue", "site-a.example",
	     "") "s2s add b --rdomain red --peer any --local-id gw2.example --remote-id "
		 "site-a.example --remote-prefix 192.168.50.0/24 --psk " PSK "\n",
	 -EEXIST, "both have --peer any and the remote-id \"site-a.example\""},
	/* another local address: charon tells them apart by it */
	{ANY("a", "blue", "site-a.example", " --local-addr 198.51.100.1")
		 ANY("b", "red", "site-a.example", " --local-addr 198.51.100.2"),
	 0, NULL},
	/* an address peer with the same identities: found by its address */
	{ANY("a", "blue", "site-a.example",
	     "") "s2s add b --rdomain red --peer 192.0.2.7 --local-id gw.example --remote-id "
		 "site-a.example --remote-prefix 192.168.50.0/24 --psk " PSK "\n",
	 0, NULL},
	/* host-name peers: the name is the peer */
	{"s2s add a --rdomain blue --peer s.example --local-id g --remote-id r "
	 "--remote-prefix 192.168.50.0/24 --psk " PSK "\n"
	 "s2s add b --rdomain red --peer t.example --local-id g --remote-id r "
	 "--remote-prefix 192.168.50.0/24 --psk " PSK "\n",
	 0, NULL},
	{"s2s add a --rdomain blue --peer s.example --local-id g --remote-id r "
	 "--remote-prefix 192.168.50.0/24 --psk " PSK "\n"
	 "s2s add b --rdomain red --peer s.example --local-id g --remote-id r "
	 "--remote-prefix 192.168.50.0/24 --psk " PSK "\n",
	 -EEXIST, "tunnel \"b\" has the peer s.example and the identities of tunnel \"a\""},
};

static void check_result(size_t i, int rc, const char *err)
{
	if (rc != tell_apart[i].rc ||
	    (tell_apart[i].want && strstr(err, tell_apart[i].want) == NULL))
		fail_msg("case %zu: rc %d \"%s\"; want rc %d \"%s\"", i, rc, err, tell_apart[i].rc,
			 tell_apart[i].want ? tell_apart[i].want : "");
	if (strstr(err, PSK) != NULL)
		fail_msg("case %zu: the PSK is in \"%s\"", i, err);
}

/* The batch applier (hnv_conf_apply, hnvgw-dp and config files). */
static void test_tell_apart_apply(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(tell_apart) / sizeof(tell_apart[0]); i++) {
		struct hnv_dp *dp = hnv_dp_new();
		assert_non_null(dp);
		char text[4096], err[512] = "";
		snprintf(text, sizeof(text), "%s%s", GW_BASE, tell_apart[i].text);
		struct hnv_conf_cmd *cmds;
		size_t n;
		int rc = hnv_conf_parse_text(text, strlen(text), &cmds, &n, err, sizeof(err));
		assert_int_equal(rc, 0);
		rc = hnv_conf_apply(dp, cmds, n, err, sizeof(err));
		hnv_conf_cmds_free(cmds, n);
		check_result(i, rc, err);
		hnv_dp_free(dp);
	}
}

/* hnvgwd's model (its transactions), and what `show s2s` lists. */
static void test_tell_apart_model(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(tell_apart) / sizeof(tell_apart[0]); i++) {
		char text[4096], err[512] = "";
		snprintf(text, sizeof(text), "%s%s", GW_BASE, tell_apart[i].text);
		const char *lines[32];
		size_t n = 0;
		for (char *p = strtok(text, "\n"); p && n < 32; p = strtok(NULL, "\n"))
			lines[n++] = p;
		struct hnv_model *m = hnv_model_new(), *out = NULL;
		assert_non_null(m);
		int rc = hnv_model_transact(m, lines, n, &out, err, sizeof(err));
		check_result(i, rc, err);
		if (rc == 0 && i == 0) {
			json_object *rows;
			assert_int_equal(hnv_model_show(out, "s2s", false, &rows), 0);
			const char *js =
				json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN);
			assert_non_null(strstr(js, "\"peer\":\"any\""));
			assert_non_null(strstr(js, "\"legacy_crypto\":false"));
			assert_null(strstr(js, PSK));
			json_object_put(rows);
		}
		hnv_model_free(out);
		hnv_model_free(m);
	}
}

static struct hnv_vici_msg *decode_buf(const struct hnv_vici_buf *b)
{
	size_t n;
	assert_int_equal(hnv_vici_frame(b->data, b->len, &n), 1);
	struct hnv_vici_msg *m;
	assert_int_equal(hnv_vici_decode(b->data + 4, n, &m), 0);
	return m;
}

static const char *items(const struct hnv_vici_node *s, const char *name)
{
	static char out[512];
	const struct hnv_vici_node *l = hnv_vici_find(s, name, HNV_VICI_N_LIST);
	if (!l)
		fail_msg("no list %s", name);
	out[0] = 0;
	for (const struct hnv_vici_node *i = l->child; i; i = i->next)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", out[0] ? "," : "",
			 i->value);
	return out;
}

static const struct hnv_vici_node *section(const struct hnv_vici_node *s, const char *name)
{
	const struct hnv_vici_node *n = hnv_vici_find(s, name, HNV_VICI_N_SECTION);
	if (!n)
		fail_msg("no section %s", name);
	return n;
}

/* The load-conn of line's tunnel: the connection and its child. */
struct loaded {
	struct hnv_s2s_conf c;
	struct hnv_vici_msg *m;
	const struct hnv_vici_node *conn, *child;
};

static void load_conn(const char *line, bool admin_down, struct loaded *l)
{
	struct hnv_conf_cmd cmd;
	parse_ok(line, &cmd);
	hnv_gwstate_s2s(&cmd.u.s2s, &l->c);
	explicit_bzero(&cmd, sizeof(cmd));
	struct hnv_s2s_spec sp = {.conf = &l->c, .if_id = 300, .admin_down = admin_down};
	struct hnv_vici_buf b;
	char err[256];
	assert_int_equal(hnv_s2s_build_conn(&sp, NULL, NULL, &b, err, sizeof(err)), 0);
	assert_null(memmem(b.data, b.len, PSK, strlen(PSK)));
	l->m = decode_buf(&b);
	hnv_vici_buf_free(&b);
	l->conn = section(hnv_vici_msg_root(l->m), "hnvgw-t1");
	l->child = section(section(l->conn, "children"), "hnvgw-t1");
}

static void loaded_free(struct loaded *l)
{
	hnv_vici_msg_free(l->m);
	explicit_bzero(&l->c, sizeof(l->c));
}

static void test_vici_modes(void **state)
{
	(void)state;
	struct loaded l;
	char peer[300];

	/* --peer any: %any, found by the remote ID; charon never starts it
	 * and only clears it when the site is gone */
	load_conn(BASE("any"), false, &l);
	assert_true(hnv_s2s_responder(&l.c));
	hnv_s2s_peer_str(&l.c, peer, sizeof(peer));
	assert_string_equal(peer, "any");
	assert_string_equal(items(l.conn, "remote_addrs"), "%any");
	assert_string_equal(hnv_vici_str(section(l.conn, "remote"), "id"), "site1.example");
	assert_string_equal(items(l.conn, "proposals"), HNV_S2S_IKE_DEFAULT);
	assert_string_equal(hnv_vici_str(l.child, "start_action"), "none");
	assert_string_equal(hnv_vici_str(l.child, "close_action"), "none");
	assert_string_equal(hnv_vici_str(l.child, "dpd_action"), "clear");
	assert_string_equal(hnv_vici_str(l.conn, "if_id_in"), "300");
	assert_string_equal(hnv_vici_str(l.child, "if_id_out"), "300");
	loaded_free(&l);

	/* a DNS name: charon resolves it; an initiating tunnel */
	load_conn(BASE("site1.branch.example") " --local-addr 198.51.100.1", false, &l);
	assert_false(hnv_s2s_responder(&l.c));
	hnv_s2s_peer_str(&l.c, peer, sizeof(peer));
	assert_string_equal(peer, "site1.branch.example");
	assert_string_equal(items(l.conn, "remote_addrs"), "site1.branch.example");
	assert_string_equal(items(l.conn, "local_addrs"), "198.51.100.1");
	assert_string_equal(hnv_vici_str(l.child, "start_action"), "start");
	assert_string_equal(hnv_vici_str(l.child, "close_action"), "start");
	assert_string_equal(hnv_vici_str(l.child, "dpd_action"), "restart");
	loaded_free(&l);

	/* legacy crypto: the tunnel's own proposals first, then the Windows
	 * Server 2012 R2 defaults */
	load_conn(BASE("203.0.113.9") " --allow-legacy-crypto --ike-proposal "
				      "aes256-sha256-modp2048 --esp-proposal aes128gcm16",
		  false, &l);
	assert_string_equal(items(l.conn, "remote_addrs"), "203.0.113.9");
	assert_string_equal(items(l.conn, "proposals"),
			    "aes256-sha256-modp2048,aes256-sha1-modp1024,aes128-sha1-modp1024,"
			    "3des-sha1-modp1024");
	assert_string_equal(items(l.child, "esp_proposals"),
			    "aes128gcm16,aes256-sha1,aes128-sha1,3des-sha1");
	loaded_free(&l);
	load_conn(BASE("any") " --allow-legacy-crypto", false, &l);
	assert_string_equal(items(l.conn, "proposals"), HNV_S2S_IKE_DEFAULT "," HNV_S2S_IKE_LEGACY);
	assert_string_equal(items(l.child, "esp_proposals"),
			    HNV_S2S_ESP_DEFAULT "," HNV_S2S_ESP_LEGACY);
	loaded_free(&l);
	/* without the flag: not one weak algorithm */
	load_conn(BASE("203.0.113.9"), false, &l);
	assert_null(strstr(items(l.conn, "proposals"), "sha1"));
	assert_null(strstr(items(l.conn, "proposals"), "modp1024"));
	assert_null(strstr(items(l.child, "esp_proposals"), "3des"));
	loaded_free(&l);

	/* a responder taken down looks like one that is up (nothing starts
	 * either) */
	load_conn(BASE("any"), true, &l);
	assert_string_equal(hnv_vici_str(l.child, "start_action"), "none");
	assert_string_equal(hnv_vici_str(l.child, "dpd_action"), "clear");
	loaded_free(&l);
}

/* The reason show s2s gives: charon's level-1 log lines, mapped to fixed
 * sentences (never charon's text). */
static void test_reason(void **state)
{
	(void)state;
	assert_string_equal(hnv_s2s_reason("received NO_PROPOSAL_CHOSEN notify error"),
			    "the site accepted none of our proposals (NO_PROPOSAL_CHOSEN)");
	assert_string_equal(hnv_s2s_reason("received AUTHENTICATION_FAILED notify error"),
			    "authentication failed (AUTHENTICATION_FAILED)");
	assert_string_equal(hnv_s2s_reason("giving up after 5 retransmits"),
			    "the site does not answer (retransmissions given up)");
	assert_string_equal(hnv_s2s_reason("received TS_UNACCEPTABLE notify, no CHILD_SA built"),
			    "the site refused the traffic selectors (TS_UNACCEPTABLE)");
	assert_string_equal(hnv_s2s_reason("unable to resolve nowhere.test, initiate aborted"),
			    "the peer's name does not resolve");
	assert_null(hnv_s2s_reason("IKE_SA hnvgw-t1[3] established between ..."));
	assert_null(hnv_s2s_reason(NULL));
	struct hnv_s2s_status st = {.ike_state = "CONNECTING"};
	char line[512];
	snprintf(st.reason, sizeof(st.reason), "%s",
		 hnv_s2s_reason("received NO_PROPOSAL_CHOSEN notify error"));
	assert_int_equal(hnv_s2s_status_format("t1", &st, line, sizeof(line)), 0);
	assert_non_null(strstr(line, " reason the site accepted none of our proposals"));
	/* an established tunnel shows no old reason */
	snprintf(st.ike_state, sizeof(st.ike_state), "ESTABLISHED");
	assert_int_equal(hnv_s2s_status_format("t1", &st, line, sizeof(line)), 0);
	assert_null(strstr(line, "reason"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_parse),
		cmocka_unit_test(test_any_needs_remote_id),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_warning),
		cmocka_unit_test(test_tell_apart_apply),
		cmocka_unit_test(test_tell_apart_model),
		cmocka_unit_test(test_vici_modes),
		cmocka_unit_test(test_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
