/* test_conftext.c: the config text parser, value parsers, formatters and
 * the applier (against the real policy tables and datapath context).
 *
 * Run from the repository root: one test reads tests/data/bluered-host1.conf.
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

#include "../../datapath/policy_read.h"
#include "../../mgmt/conf_apply.h"
#include "conf_line.h"

#define DEMO_CONF "tests/data/bluered-host1.conf"

/* ---- helpers ---- */

static struct hnv_ip ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct hnv_ip ip;
	const uint8_t v4[4] = {a, b, c, d};
	hnv_ip_from_v4(&ip, v4);
	return ip;
}

static struct hnv_ip ip_of(const char *s)
{
	struct hnv_ip ip;
	memset(&ip, 0, sizeof(ip));
	assert_int_equal(hnv_parse_ip(s, &ip), 0);
	return ip;
}

static void assert_ip(const struct hnv_ip *got, const char *want)
{
	struct hnv_ip w = ip_of(want);
	char g[64];
	hnv_fmt_ip(got, g, sizeof(g));
	if (!hnv_ip_eq(got, &w))
		fail_msg("IP %s, want %s", g, want);
}

static void assert_mac(const struct hnv_mac *m, uint8_t a, uint8_t b, uint8_t c, uint8_t d,
		       uint8_t e, uint8_t f)
{
	const uint8_t want[6] = {a, b, c, d, e, f};
	assert_memory_equal(m->b, want, 6);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s (run the test from the repository root)", path);
	char *buf = malloc(1 << 16);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	return buf;
}

/* ---- value parsers ---- */

static void test_mac_forms(void **state)
{
	(void)state;
	static const char *const ok[] = {"060600000005", "06-06-00-00-00-05", "06:06:00:00:00:05"};
	for (size_t i = 0; i < 3; i++) {
		struct hnv_mac m;
		assert_int_equal(hnv_parse_mac(ok[i], &m), 0);
		assert_mac(&m, 6, 6, 0, 0, 0, 5);
	}
	struct hnv_mac m;
	assert_int_equal(hnv_parse_mac("00155DE2AB00", &m), 0);
	assert_mac(&m, 0x00, 0x15, 0x5d, 0xe2, 0xab, 0x00);
	assert_int_equal(hnv_parse_mac("aA-bB-cC-dD-eE-fF", &m), 0);
	assert_mac(&m, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff);
	/* hnv_parse_mac itself accepts group and zero MACs */
	assert_int_equal(hnv_parse_mac("ff:ff:ff:ff:ff:ff", &m), 0);
	assert_int_equal(hnv_parse_mac("000000000000", &m), 0);

	static const char *const bad[] = {
		"",
		"06060000000",
		"0606000000055",
		"06-06-00:00-00-05",
		"06:06:00:00:00-05",
		"06.06.00.00.00.05",
		"0606-0000-0005",
		"g60600000005",
		"06-06-00-00-00-0g",
		"06-06-00-00-00-05-",
		" 060600000005",
		"06--6-00-00-00-05",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (hnv_parse_mac(bad[i], &m) != -EINVAL)
			fail_msg("MAC \"%s\" accepted", bad[i]);
	assert_int_equal(hnv_parse_mac(NULL, &m), -EINVAL);
}

static void test_guid_forms(void **state)
{
	(void)state;
	static const uint8_t want[16] = {0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33,
					 0x44, 0x44, 0x00, 0x00, 0x00, 0x00, 0x50, 0x01};
	static const char *const ok[] = {
		"{11111111-2222-3333-4444-000000005001}",
		"11111111-2222-3333-4444-000000005001",
	};
	for (size_t i = 0; i < 2; i++) {
		struct hnv_guid g;
		assert_int_equal(hnv_parse_guid(ok[i], &g), 0);
		assert_memory_equal(g.b, want, 16);
	}
	struct hnv_guid a, b;
	assert_int_equal(hnv_parse_guid("{abcdef01-ABCD-abcd-AbCd-0123456789aB}", &a), 0);
	assert_int_equal(hnv_parse_guid("ABCDEF01-abcd-ABCD-aBcD-0123456789Ab", &b), 0);
	assert_memory_equal(a.b, b.b, 16);
	assert_int_equal(a.b[0], 0xab);
	assert_int_equal(a.b[15], 0xab);

	static const char *const bad[] = {
		"",
		"{11111111-2222-3333-4444-000000005001",
		"11111111-2222-3333-4444-000000005001}",
		"{{11111111-2222-3333-4444-000000005001}}",
		"11111111222233334444000000005001",
		"1111111-12222-3333-4444-000000005001",
		"11111111-2222-3333-4444-00000000500g",
		"11111111-2222-3333-4444-0000000050011",
		"(11111111-2222-3333-4444-000000005001)",
		"11111111_2222_3333_4444_000000005001",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (hnv_parse_guid(bad[i], &a) != -EINVAL)
			fail_msg("GUID \"%s\" accepted", bad[i]);
}

static void test_ip_and_prefix(void **state)
{
	(void)state;
	struct hnv_ip ip;
	assert_int_equal(hnv_parse_ip("10.0.0.5", &ip), 0);
	struct hnv_ip w = ip4(10, 0, 0, 5);
	assert_true(hnv_ip_eq(&ip, &w));
	assert_true(hnv_ip_is_v4(&ip));
	assert_int_equal(hnv_parse_ip("2001:db8::1", &ip), 0);
	assert_false(hnv_ip_is_v4(&ip));
	assert_int_equal(ip.b[0], 0x20);
	assert_int_equal(ip.b[15], 1);
	assert_int_equal(hnv_parse_ip("::", &ip), 0);
	assert_true(hnv_ip_is_unspec(&ip));
	assert_false(hnv_ip_is_v4(&ip));
	assert_int_equal(hnv_parse_ip("::ffff:1.2.3.4", &ip), -EINVAL);
	assert_int_equal(hnv_parse_ip("::ffff:0102:0304", &ip), -EINVAL);
	assert_int_equal(hnv_parse_ip("10.0.0.256", &ip), -EINVAL);
	assert_int_equal(hnv_parse_ip("10.0.0", &ip), -EINVAL);
	assert_int_equal(hnv_parse_ip("fe80::1%eth0", &ip), -EINVAL);
	assert_int_equal(hnv_parse_ip("", &ip), -EINVAL);

	struct hnv_prefix p;
	assert_int_equal(hnv_parse_prefix("10.0.0.0/24", &p), 0);
	assert_int_equal(p.len, 24);
	w = ip4(10, 0, 0, 0);
	assert_true(hnv_ip_eq(&p.addr, &w));
	assert_int_equal(hnv_parse_prefix("0.0.0.0/0", &p), 0);
	assert_int_equal(hnv_parse_prefix("10.0.0.5/32", &p), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(hnv_parse_prefix("2001:db8::/64", &p), 0);
	assert_int_equal(p.len, 64);
	assert_int_equal(hnv_parse_prefix("::/0", &p), 0);
	assert_int_equal(hnv_parse_prefix("10.0.0.1/24", &p), -EINVAL);
	assert_int_equal(hnv_parse_prefix("2001:db8::1/64", &p), -EINVAL);
	assert_int_equal(hnv_parse_prefix("10.0.0.0/33", &p), -EINVAL);
	assert_int_equal(hnv_parse_prefix("2001:db8::/129", &p), -EINVAL);
	assert_int_equal(hnv_parse_prefix("10.0.0.0/024", &p), -EINVAL);
	assert_int_equal(hnv_parse_prefix("10.0.0.0/", &p), -EINVAL);
	assert_int_equal(hnv_parse_prefix("10.0.0.0/-8", &p), -EINVAL);
	assert_int_equal(hnv_parse_prefix("10.0.0.0", &p), -EINVAL);
	assert_int_equal(hnv_parse_prefix("10.0.0.0/24/8", &p), -EINVAL);
	assert_int_equal(hnv_parse_prefix("::ffff:10.0.0.0/120", &p), -EINVAL);
	assert_int_equal(
		hnv_parse_prefix("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb/64", &p),
		-EINVAL);
}

static void test_vsid_values(void **state)
{
	(void)state;
	uint32_t v;
	assert_int_equal(hnv_parse_vsid("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(hnv_parse_vsid("16777214", &v), 0);
	assert_int_equal(v, 16777214);
	static const char *const bad[] = {"4095",
					  "16777215",
					  "0",
					  "+5001",
					  "-5001",
					  "0x1389",
					  "05001",
					  "5001 ",
					  "",
					  "5e3",
					  "99999999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (hnv_parse_vsid(bad[i], &v) != -EINVAL)
			fail_msg("VSID \"%s\" accepted", bad[i]);
}

static void test_formatters(void **state)
{
	(void)state;
	char b[64];
	struct hnv_ip ip = ip4(192, 168, 4, 11);
	hnv_fmt_ip(&ip, b, sizeof(b));
	assert_string_equal(b, "192.168.4.11");
	ip = ip_of("2001:db8::1");
	hnv_fmt_ip(&ip, b, sizeof(b));
	assert_string_equal(b, "2001:db8::1");
	struct hnv_prefix p;
	assert_int_equal(hnv_parse_prefix("10.0.0.0/24", &p), 0);
	hnv_fmt_prefix(&p, b, sizeof(b));
	assert_string_equal(b, "10.0.0.0/24");
	assert_int_equal(hnv_parse_prefix("2001:db8:1::/48", &p), 0);
	hnv_fmt_prefix(&p, b, sizeof(b));
	assert_string_equal(b, "2001:db8:1::/48");
	struct hnv_mac m;
	assert_int_equal(hnv_parse_mac("00155DE2AB00", &m), 0);
	hnv_fmt_mac(&m, b, 18);
	assert_string_equal(b, "00:15:5d:e2:ab:00");
	struct hnv_guid g;
	assert_int_equal(hnv_parse_guid("11111111-2222-3333-4444-00000000abcd", &g), 0);
	hnv_fmt_guid(&g, b, 39);
	assert_string_equal(b, "{11111111-2222-3333-4444-00000000ABCD}");

	/* longest IPv6 text fits the documented 46 bytes */
	ip = ip_of("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
	hnv_fmt_ip(&ip, b, 46);
	assert_true(strlen(b) < 46);

	/* short buffers: cut, still terminated, nothing written past len */
	char s[8];
	memset(s, 'x', sizeof(s));
	hnv_fmt_mac(&m, s, 4);
	assert_string_equal(s, "00:");
	assert_int_equal(s[4], 'x');
	hnv_fmt_guid(&g, s, 1);
	assert_string_equal(s, "");
	hnv_fmt_ip(&ip, s, 0);
	assert_int_equal(s[0], '\0');
}

/* ---- commands, every option ---- */

static void test_cmd_rdomain(void **state)
{
	(void)state;
	struct hnv_conf_cmd c;
	parse_ok("rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}", &c);
	assert_int_equal(c.kind, HNV_CONF_RDOMAIN_ADD);
	assert_int_equal(c.line, 0);
	assert_string_equal(c.u.rdomain.name, "blue");
	assert_int_equal(c.u.rdomain.rdid.b[15], 0x01);
	parse_ok("rdomain del blue", &c);
	assert_int_equal(c.kind, HNV_CONF_RDOMAIN_DEL);
	assert_string_equal(c.u.rdomain.name, "blue");
}

static void test_cmd_vsubnet(void **state)
{
	(void)state;
	struct hnv_conf_cmd c;
	parse_ok("vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24 --prefix 2001:db8:1::/64 "
		 "--prefix 10.1.0.0/16 --prefix fd00::/8",
		 &c);
	assert_int_equal(c.kind, HNV_CONF_VSUBNET_ADD);
	assert_int_equal(c.u.vsubnet.vsid, 5001);
	assert_string_equal(c.u.vsubnet.rdomain, "blue");
	assert_int_equal(c.u.vsubnet.n_prefixes, 4);
	assert_int_equal(c.u.vsubnet.prefixes[1].len, 64);
	assert_int_equal(c.u.vsubnet.prefixes[3].len, 8);
	parse_ok("vsubnet del 16777214", &c);
	assert_int_equal(c.kind, HNV_CONF_VSUBNET_DEL);
	assert_int_equal(c.u.vsubnet.vsid, 16777214);
}

static void test_cmd_pa(void **state)
{
	(void)state;
	struct hnv_conf_cmd c;
	parse_ok("pa add 192.168.4.11/24 --dev eth0", &c);
	assert_int_equal(c.kind, HNV_CONF_PA_ADD);
	assert_ip(&c.u.pa.addr.addr, "192.168.4.11"); /* host bits kept */
	assert_int_equal(c.u.pa.addr.len, 24);
	assert_string_equal(c.u.pa.dev, "eth0");
	parse_ok("pa add 2001:db8::11/64 --dev abcdefghijklmno", &c);
	assert_string_equal(c.u.pa.dev, "abcdefghijklmno");
	parse_ok("pa del 192.168.4.11", &c);
	assert_int_equal(c.kind, HNV_CONF_PA_DEL);
	assert_ip(&c.u.pa.addr.addr, "192.168.4.11");
}

static void test_cmd_port(void **state)
{
	(void)state;
	struct hnv_conf_cmd c;
	parse_ok("port add blue1 --vsid 5001 --ca 10.0.0.5 --ca 2001:db8:1::5 --ca 10.1.0.5 "
		 "--ca 10.1.0.6 --mac 06-06-00-00-00-05",
		 &c);
	assert_int_equal(c.kind, HNV_CONF_PORT_ADD);
	assert_string_equal(c.u.port.name, "blue1");
	assert_int_equal(c.u.port.vsid, 5001);
	assert_int_equal(c.u.port.n_cas, 4);
	assert_ip(&c.u.port.cas[0], "10.0.0.5");
	assert_ip(&c.u.port.cas[1], "2001:db8:1::5");
	assert_mac(&c.u.port.mac, 6, 6, 0, 0, 0, 5);
	assert_string_equal(c.u.port.dev, "");
	parse_ok("port add vm7 --vsid 5001 --dev vnet12", &c);
	assert_string_equal(c.u.port.dev, "vnet12");
	parse_ok("port del blue1", &c);
	assert_int_equal(c.kind, HNV_CONF_PORT_DEL);
	assert_string_equal(c.u.port.name, "blue1");
}

/* port move: parsed and formatted, host names as hnvgwd's --host-name
 * (mgmt/daemon/sync.c, hnv_sync_host_valid). */
static void test_cmd_port_move(void **state)
{
	(void)state;
	struct hnv_conf_cmd c, back;
	char line[256];
	parse_ok("port move blue1 --to host-2.example_A", &c);
	assert_int_equal(c.kind, HNV_CONF_PORT_MOVE);
	assert_string_equal(c.u.port_move.name, "blue1");
	assert_string_equal(c.u.port_move.host, "host-2.example_A");
	assert_int_equal(hnv_conf_format(&c, false, line, sizeof(line)), 0);
	assert_string_equal(line, "port move blue1 --to host-2.example_A");
	parse_ok(line, &back);
	assert_memory_equal(&back, &c, sizeof(c));
	parse_ok("  port   move \"blue1\" --to \"h2\"  # comment", &c);
	assert_int_equal(hnv_conf_format(&c, false, line, sizeof(line)), 0);
	assert_string_equal(line, "port move blue1 --to h2");

	char host[80];
	memset(host, 'h', 63);
	host[63] = '\0';
	snprintf(line, sizeof(line), "port move blue1 --to %s", host);
	parse_ok(line, &c);
	assert_string_equal(c.u.port_move.host, host);
	snprintf(line, sizeof(line), "port move blue1 --to %sh", host);
	parse_err(line, "port move: invalid host name \"hhhh");
	parse_err(line, "must be 1-63 characters of A-Z a-z 0-9 _ . -, not . or ..");

	parse_err("port move blue1 --to h/2",
		  "port move: invalid host name \"h/2\": must be 1-63 characters of A-Z a-z 0-9 "
		  "_ . -, not . or ..");
	parse_err("port move blue1 --to .", "port move: invalid host name \".\"");
	parse_err("port move blue1 --to ..", "port move: invalid host name \"..\"");
	parse_err("port move blue1 --to \"\"", "port move: invalid host name \"\"");
	parse_err("port move blue1 --to \"h 2\"", "port move: invalid host name \"h 2\"");
	parse_err("port move bl/ue1 --to h2", "port move: invalid port name \"bl/ue1\"");
	parse_err("port move blue1", "port move: missing --to");
	parse_err("port move blue1 --to", "port move: missing value for --to");
	parse_err("port move --to h2", "port move: missing NAME");
	parse_err("port move blue1 --to h2 --to h3", "port move: --to given more than once");
	parse_err("port move blue1 --to h2 --vsid 5001",
		  "unknown option \"--vsid\" for \"port move\"");
	parse_err("port frob", "unknown command \"port frob\" (verbs: add, del, move)");

	/* a hand-built command with an unterminated host does not format */
	parse_ok("port move blue1 --to h2", &c);
	memset(c.u.port_move.host, 'h', sizeof(c.u.port_move.host));
	assert_int_equal(hnv_conf_format(&c, false, line, sizeof(line)), -EINVAL);
}

static void test_cmd_lookup(void **state)
{
	(void)state;
	struct hnv_conf_cmd c;
	parse_ok(
		"lookup add --vsid 5001 --ca 10.0.0.5 --pa 2001:db8::11 --mac 06:06:00:00:00:05 "
		"--rule nat --type dynamic --vm-name Blue1 --customer-id "
		"11111111-2222-3333-4444-000000005001 --context \"moved from host 3\" --use-vm-mac",
		&c);
	const struct hnv_conf_lookup *s = &c.u.lookup;
	assert_int_equal(c.kind, HNV_CONF_LOOKUP_ADD);
	assert_int_equal(s->vsid, 5001);
	assert_ip(&s->ca, "10.0.0.5");
	assert_ip(&s->pa, "2001:db8::11"); /* v4 CA over v6 PA */
	assert_mac(&s->mac, 6, 6, 0, 0, 0, 5);
	assert_int_equal(s->rule, HNV_RULE_NAT);
	assert_int_equal(s->type, HNV_TYPE_DYNAMIC);
	assert_string_equal(s->vm_name, "Blue1");
	assert_true(s->has_customer_id);
	assert_int_equal(s->customer_id.b[0], 0x11);
	assert_string_equal(s->context, "moved from host 3");
	assert_true(s->use_vm_mac);

	parse_ok("lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005", &c);
	assert_int_equal(s->rule, HNV_RULE_ENCAP);
	assert_int_equal(s->type, HNV_TYPE_STATIC);
	assert_false(s->has_customer_id);
	assert_false(s->use_vm_mac);
	assert_string_equal(s->vm_name, "");
	assert_string_equal(s->context, "");

	/* NetWNV spellings, any case */
	parse_ok("lookup add --vsid 5001 --ca 0.0.0.0 --pa 192.168.4.1 --mac 00155d000001 "
		 "--rule TRANSLATIONMETHODENCAP --type GatewayWildcard",
		 &c);
	assert_int_equal(s->rule, HNV_RULE_ENCAP);
	assert_int_equal(s->type, HNV_TYPE_GATEWAY_WILDCARD);
	parse_ok("lookup add --vsid 5001 --ca :: --pa 192.168.4.1 --mac 00155d000001 "
		 "--rule translationmethodnone --type l2only",
		 &c);
	assert_int_equal(s->rule, HNV_RULE_NONE);
	assert_int_equal(s->type, HNV_TYPE_L2ONLY);
	assert_true(hnv_ip_is_unspec(&s->ca));
	assert_false(hnv_ip_is_v4(&s->ca));
	parse_ok("lookup add --vsid 5001 --ca 0.0.0.0 --pa 192.168.4.1 --mac 00155d000001 "
		 "--rule TranslationMethodNat --type L2ONLY",
		 &c);
	assert_int_equal(s->rule, HNV_RULE_NAT);
	assert_int_equal(s->type, HNV_TYPE_L2ONLY);
	parse_ok("lookup add --vsid 5001 --ca 10.0.0.9 --pa 192.168.4.1 --mac 00155d000001 "
		 "--rule Encap --type STATIC",
		 &c);
	assert_int_equal(s->type, HNV_TYPE_STATIC);
}

static void test_cmd_lookup_set_del(void **state)
{
	(void)state;
	struct hnv_conf_cmd c;
	parse_ok("lookup set --vsid 5001 --ca 10.0.0.7 --mac 060600000007 --pa 192.168.4.33 "
		 "--vm-name Blue2 --context migrated",
		 &c);
	assert_int_equal(c.kind, HNV_CONF_LOOKUP_SET);
	assert_ip(&c.u.lookup.pa, "192.168.4.33");
	assert_string_equal(c.u.lookup.context, "migrated");
	parse_ok("lookup del --vsid 5001 --ca 10.0.0.7 --mac 060600000007", &c);
	assert_int_equal(c.kind, HNV_CONF_LOOKUP_DEL);
	assert_int_equal(c.u.lookup.vsid, 5001);
	assert_ip(&c.u.lookup.ca, "10.0.0.7");
	assert_mac(&c.u.lookup.mac, 6, 6, 0, 0, 0, 7);
	parse_ok("lookup del --vsid 5001 --ca :: --mac 060600000007", &c);
	assert_true(hnv_ip_is_unspec(&c.u.lookup.ca));
}

static void test_cmd_route(void **state)
{
	(void)state;
	struct hnv_conf_cmd c;
	parse_ok("route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0", &c);
	assert_int_equal(c.kind, HNV_CONF_ROUTE_ADD);
	assert_string_equal(c.u.route.rdomain, "blue");
	assert_int_equal(c.u.route.vsid, 5001);
	assert_int_equal(c.u.route.prefix.len, 24);
	assert_true(hnv_ip_is_unspec(&c.u.route.nexthop));
	assert_true(hnv_ip_is_v4(&c.u.route.nexthop));
	assert_int_equal(c.u.route.metric, 255);
	parse_ok("route add --rdomain blue --vsid 5001 --prefix 2001:db8::/32 --nexthop "
		 "2001:db8:1::10 --metric 4294967295",
		 &c);
	assert_int_equal(c.u.route.metric, 4294967295u);
	parse_ok("route add --metric 0 --nexthop :: --prefix ::/0 --vsid 5001 --rdomain blue", &c);
	assert_int_equal(c.u.route.metric, 0);
	parse_ok("route del --rdomain blue --prefix 10.0.0.0/24 --nexthop 0.0.0.0", &c);
	assert_int_equal(c.kind, HNV_CONF_ROUTE_DEL);
	assert_string_equal(c.u.route.rdomain, "blue");
}

static void test_cmd_global(void **state)
{
	(void)state;
	struct hnv_conf_cmd c;
	parse_ok("global set --gateway-mac 02:15:5d:00:00:02 --flowid off --uplink-mtu 9000", &c);
	assert_int_equal(c.kind, HNV_CONF_GLOBAL_SET);
	assert_true(c.u.global.has_gateway_mac);
	assert_mac(&c.u.global.gateway_mac, 2, 0x15, 0x5d, 0, 0, 2);
	assert_true(c.u.global.has_flowid);
	assert_false(c.u.global.flowid);
	assert_true(c.u.global.has_uplink_mtu);
	assert_int_equal(c.u.global.uplink_mtu, 9000);
	parse_ok("global set --flowid on", &c);
	assert_false(c.u.global.has_gateway_mac);
	assert_false(c.u.global.has_uplink_mtu);
	assert_true(c.u.global.flowid);
	parse_ok("global set --uplink-mtu 576", &c);
	assert_int_equal(c.u.global.uplink_mtu, 576);
}

/* ---- tokenizer ---- */

static void test_quotes_comments_blank(void **state)
{
	(void)state;
	struct hnv_conf_cmd c;
	char err[256];
	assert_int_equal(hnv_conf_parse_line("", &c, err, sizeof(err)), 0);
	assert_int_equal(hnv_conf_parse_line("   \t  ", &c, err, sizeof(err)), 0);
	assert_int_equal(hnv_conf_parse_line("# a comment", &c, err, sizeof(err)), 0);
	assert_int_equal(
		hnv_conf_parse_line("   # indented comment \"unbalanced", &c, err, sizeof(err)), 0);
	assert_int_equal(hnv_conf_parse_line("\r\n", &c, err, sizeof(err)), 0);

	parse_ok("rdomain del blue # trailing comment", &c);
	assert_string_equal(c.u.rdomain.name, "blue");
	parse_ok("rdomain del blue#comment right after", &c);
	assert_string_equal(c.u.rdomain.name, "blue");
	parse_ok("rdomain del \"blue\"", &c);
	assert_string_equal(c.u.rdomain.name, "blue");
	parse_ok("\"rdomain\" \"del\" blue\r\n", &c);
	assert_string_equal(c.u.rdomain.name, "blue");
	parse_ok("\trdomain\tdel\tblue\t\r", &c);
	/* quoted, a word that looks like an option is a value (here a valid name) */
	parse_ok("port del \"--vsid\"", &c);
	assert_string_equal(c.u.port.name, "--vsid");

	const char *base = "lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 "
			   "--mac 060600000005 --context ";
	char line[512];
	snprintf(line, sizeof(line), "%s%s", base, "\"say \\\"hi\\\" # not a comment \\\\o/\"");
	parse_ok(line, &c);
	assert_string_equal(c.u.lookup.context, "say \"hi\" # not a comment \\o/");
	snprintf(line, sizeof(line), "%s%s", base, "\"\"");
	parse_ok(line, &c);
	assert_string_equal(c.u.lookup.context, "");
	snprintf(line, sizeof(line), "%s%s", base, "\"--looks-like-an-option\"");
	parse_ok(line, &c);
	assert_string_equal(c.u.lookup.context, "--looks-like-an-option");
	snprintf(line, sizeof(line), "%s%s", base, "\"caf\xc3\xa9 \t tab\"#c");
	parse_ok(line, &c);
	assert_string_equal(c.u.lookup.context, "caf\xc3\xa9 \t tab");
	snprintf(line, sizeof(line), "%s%s", base, "back\\slash");
	parse_ok(line, &c);
	assert_string_equal(c.u.lookup.context, "back\\slash");

	parse_err("rdomain del \"blue", "unterminated quoted value");
	parse_err("rdomain del \"blue\\", "unterminated quoted value");
	/* tokenizer messages name columns, never characters (PSKs) */
	parse_err("rdomain del \"bl\\ue\"", "invalid escape at column 16");
	parse_err("rdomain del \"blue\"x", "unexpected character after quoted value at column 19");
	parse_err("rdomain del bl\"ue\"", "unexpected quote inside word");
	parse_err("rdomain del blue\rx", "control character 0x0d");
	parse_err("rdomain del blue\n\n", "control character 0x0a");
	parse_err("rdomain del \"bl\x01ue\"", "control character 0x01");
	parse_err("rdomain del blue\x7f", "control character 0x7f");
	/* a quoted word is never an option */
	parse_err("rdomain add blue \"--rdid\" 11111111-2222-3333-4444-000000005001",
		  "rdomain add: unexpected \"--rdid\"");
}

static void test_line_limits(void **state)
{
	(void)state;
	struct hnv_conf_cmd c;
	char err[256];
	/* exactly 4096 bytes (a comment padded out) is fine, with or without \r\n */
	char *line = malloc(4096 + 3);
	assert_non_null(line);
	memset(line, ' ', 4096);
	memcpy(line, "rdomain del blue #", 18);
	line[4096] = '\0';
	assert_int_equal(hnv_conf_parse_line(line, &c, err, sizeof(err)), 1);
	memcpy(line + 4096, "\r\n", 3);
	assert_int_equal(hnv_conf_parse_line(line, &c, err, sizeof(err)), 1);
	/* 4097 bytes is not */
	line[4096] = ' ';
	line[4097] = '\0';
	parse_err(line, "line too long (more than 4096 bytes)");
	free(line);

	/* one long word */
	line = malloc(5000);
	assert_non_null(line);
	memset(line, 'a', 4999);
	line[4999] = '\0';
	parse_err(line, "line too long");
	memcpy(line, "rdomain del ", 12);
	line[4096] = '\0';
	parse_err(line, "rdomain del: invalid rdomain name \"aaaa");
	free(line);

	/* too many words */
	char many[1024] = "rdomain del";
	for (int i = 0; i < 100; i++)
		strcat(many, " x");
	parse_err(many, "too many words (at most 96)");

	/* error buffers: none, zero-sized, tiny */
	assert_int_equal(hnv_conf_parse_line("bogus", &c, NULL, 0), -EINVAL);
	err[0] = 'z';
	assert_int_equal(hnv_conf_parse_line("bogus", &c, err, 0), -EINVAL);
	assert_int_equal(err[0], 'z');
	assert_int_equal(hnv_conf_parse_line("bogus", &c, err, 5), -EINVAL);
	assert_string_equal(err, "unkn");
	assert_int_equal(hnv_conf_parse_line(NULL, &c, err, sizeof(err)), -EINVAL);
}

/* ---- errors name the bad word or value ---- */

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *line, *want;
	} t[] = {
		{"lookp add --vsid 5001", "unknown command \"lookp\""},
		{"lookup", "\"lookup\" needs a verb: add, set, del"},
		{"lookup frob --vsid 5001", "unknown command \"lookup frob\""},
		{"lookup add --vsd 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005",
		 "unknown option \"--vsd\" for \"lookup add\""},
		{"lookup del --vsid 5001 --ca 10.0.0.5 --mac 060600000005 --pa 192.168.4.11",
		 "unknown option \"--pa\" for \"lookup del\""},
		{"lookup add --vsid 5001 --ca 10.0.0.5 --mac 060600000005",
		 "lookup add: missing --pa"},
		{"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11",
		 "lookup add: missing --mac"},
		{"lookup add --vsid 5001 --vsid 5002 --ca 10.0.0.5 --pa 192.168.4.11 --mac "
		 "060600000005",
		 "lookup add: --vsid given more than once"},
		{"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005 "
		 "--use-vm-mac --use-vm-mac --rule nat",
		 "lookup add: --use-vm-mac given more than once"},
		{"lookup add --vsid --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005",
		 "lookup add: missing value for --vsid"},
		{"lookup add --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005 --vsid",
		 "lookup add: missing value for --vsid"},
		{"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005 extra",
		 "lookup add: unexpected \"extra\""},
		{"rdomain del blue red", "rdomain del: unexpected \"red\""},
		{"rdomain add --rdid 11111111-2222-3333-4444-000000005001",
		 "rdomain add: missing NAME"},
		{"rdomain add blue", "rdomain add: missing --rdid"},
		{"vsubnet del", "vsubnet del: missing VSID"},
		{"pa add --dev eth0", "pa add: missing IP/LEN"},
		{"vsubnet add 4095 --rdomain blue --prefix 10.0.0.0/24",
		 "invalid VSID \"4095\": must be 4096-16777214"},
		{"vsubnet add 16777215 --rdomain blue --prefix 10.0.0.0/24",
		 "invalid VSID \"16777215\": must be 4096-16777214"},
		{"vsubnet add 99999999999999999999 --rdomain blue --prefix 10.0.0.0/24",
		 "invalid VSID \"99999999999999999999\": must be 4096-16777214"},
		{"vsubnet del +5001", "invalid VSID \"+5001\": must be a decimal number"},
		{"vsubnet del 0x1389", "invalid VSID \"0x1389\""},
		{"vsubnet del -5001", "invalid VSID \"-5001\""},
		{"vsubnet add 5001 --rdomain blue --prefix 10.0.0.1/24",
		 "invalid prefix \"10.0.0.1/24\": host bits set"},
		{"vsubnet add 5001 --rdomain blue --prefix 2001:db8::1/64",
		 "invalid prefix \"2001:db8::1/64\": host bits set"},
		{"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/33",
		 "invalid prefix \"10.0.0.0/33\": length must be 0-32"},
		{"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0",
		 "invalid prefix \"10.0.0.0\": expected IP/LEN"},
		{"vsubnet add 5001 --rdomain blue --prefix 10.0.0.4/31",
		 "invalid prefix \"10.0.0.4/31\": too small"},
		{"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24 --prefix 10.0.0.128/25",
		 "prefix \"10.0.0.128/25\" overlaps prefix \"10.0.0.0/24\""},
		{"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24 --prefix 10.1.0.0/24 "
		 "--prefix 10.2.0.0/24 --prefix 10.3.0.0/24 --prefix 10.4.0.0/24",
		 "vsubnet add: too many --prefix (at most 4)"},
		{"vsubnet add 5001 --rdomain bl/ue --prefix 10.0.0.0/24",
		 "invalid rdomain name \"bl/ue\""},
		{"rdomain add \"\" --rdid 11111111-2222-3333-4444-000000005001",
		 "invalid rdomain name \"\": empty"},
		{"rdomain add a234567890123456789012345678901234567890123456789012345678901234 "
		 "--rdid 11111111-2222-3333-4444-000000005001",
		 "invalid rdomain name "
		 "\"a234567890123456789012345678901234567890123456789012345678901234\": longer "
		 "than 63"},
		{"rdomain add blue --rdid 11111111-2222-3333-4444-00000000500",
		 "invalid RDID \"11111111-2222-3333-4444-00000000500\": expected 8-4-4-4-12"},
		{"port add blue1 --vsid 5001 --ca 10.0.0.5 --mac 01:00:5e:00:00:01",
		 "invalid MAC \"01:00:5e:00:00:01\": multicast or broadcast"},
		{"port add blue1 --vsid 5001 --ca 10.0.0.5 --mac ffffffffffff",
		 "invalid MAC \"ffffffffffff\": multicast or broadcast"},
		{"port add blue1 --vsid 5001 --ca 10.0.0.5 --mac 00-00-00-00-00-00",
		 "invalid MAC \"00-00-00-00-00-00\": all-zero"},
		{"port add blue1 --vsid 5001 --ca 10.0.0.5 --mac 06-06-00:00:00:05",
		 "invalid MAC \"06-06-00:00:00:05\": mixed separators"},
		{"port add blue1 --vsid 5001 --ca 10.0.0.5 --mac 0606",
		 "invalid MAC \"0606\": expected 12 hex digits"},
		{"port add blue1 --vsid 5001 --ca 10.0.0.5 --ca 10.0.0.5 --mac 060600000005",
		 "invalid CA \"10.0.0.5\": given twice"},
		{"port add blue1 --vsid 5001 --ca 0.0.0.0 --mac 060600000005",
		 "invalid CA \"0.0.0.0\": unspecified address"},
		{"port add blue1 --vsid 5001 --ca 10.0.0.5 --ca 10.0.0.6 --ca 10.0.0.7 --ca "
		 "10.0.0.8 "
		 "--ca 10.0.0.9 --mac 060600000005",
		 "port add: too many --ca (at most 4)"},
		{"port add blue1 --ca 10.0.0.5", "port add: missing --vsid"},
		{"port add blue1 --vsid 5001 --dev a234567890123456",
		 "invalid device name \"a234567890123456\": must be 1-15 characters"},
		{"port add blue1 --vsid 5001 --dev ve/th0",
		 "invalid device name \"ve/th0\": use only A-Z a-z 0-9 _ . -"},
		{"port add blue1 --vsid 5001 --dev vsid5001",
		 "invalid device name \"vsid5001\": names vsidN are the gateway role's ports"},
		/* issue 17 finding 4: names hnvgw owns are nobody's port or corp
		 * network (reconciliation would delete or take them) */
		{"port add vsid7777 --vsid 5001",
		 "invalid port name \"vsid7777\": names vsidN are the gateway role's ports"},
		{"port add uplink --vsid 5001",
		 "invalid port name \"uplink\": \"uplink\" names the provider uplink"},
		{"port add rd-blue --vsid 5001",
		 "invalid port name \"rd-blue\": names rd-* are the tenants' VRFs"},
		{"port add xf-7 --vsid 5001",
		 "invalid port name \"xf-7\": names xf-* are the S2S tunnels' XFRM interfaces"},
		{"port add blue1 --vsid 5001 --dev lo",
		 "invalid device name \"lo\": lo is the loopback device"},
		{"port add blue1 --vsid 5001 --dev rd-red",
		 "invalid device name \"rd-red\": names rd-* are the tenants' VRFs"},
		{"gateway add --rdomain r --vrf r --table 101 --corp-dev lo",
		 "invalid corp device name \"lo\": lo is the loopback device"},
		{"gateway add --rdomain r --vrf r --table 101 --corp-dev vsid5001",
		 "invalid corp device name \"vsid5001\": names vsidN are the gateway role's ports"},
		{"gateway add --rdomain r --vrf r --table 101 --corp-dev rd-other",
		 "invalid corp device name \"rd-other\": names rd-* are the tenants' VRFs"},
		{"gateway add --rdomain r --vrf r --table 101 --corp-dev xf-3",
		 "invalid corp device name \"xf-3\": names xf-* are the S2S tunnels' XFRM"},
		{"port add blue1 --vsid 5001 --dev veth0 --dev veth1",
		 "port add: --dev given more than once"},
		{"pool add p --vsid 5001", "pool add: missing --range"},
		{"pool add p --vsid 5001 --range 10.10.1.130-10.10.1.100",
		 "pool add: invalid range \"10.10.1.130-10.10.1.100\": the first address is above "
		 "the "
		 "last"},
		{"pool add p --vsid 5001 --range 10.10.1.100", "pool add: invalid range"},
		{"pool add p --vsid 5001 --range 10.0.0.0-10.1.0.0",
		 "pool add: invalid range \"10.0.0.0-10.1.0.0\": more than 65536 addresses"},
		{"pool add p --vsid 5001 --range 2001:db8::10-2001:db8::20",
		 "pool add: invalid range start \"2001:db8::10\": pools are IPv4 (DHCPv6 is not "
		 "offered)"},
		{"pool add p --vsid 5001 --range 10.10.1.100-10.10.1.130 --dns "
		 "10.0.0.53,,10.0.0.54",
		 "pool add: invalid DNS server list"},
		{"pool add p --vsid 5001 --range 10.10.1.100-10.10.1.130 --dns "
		 "1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5",
		 "at most 4 servers"},
		{"pool add p --vsid 5001 --range 10.10.1.100-10.10.1.130 --dns 224.0.0.1",
		 "invalid DNS server \"224.0.0.1\": multicast address"},
		{"pool add p --vsid 5001 --range 10.10.1.100-10.10.1.130 --lease 59",
		 "pool add: invalid lease \"59\": must be a decimal number 60-31536000"},
		{"pool del", "pool del: missing NAME"},
		{"lookup add --vsid 5001 --ca ::ffff:10.0.0.5 --pa 192.168.4.11 --mac 060600000005",
		 "invalid CA \"::ffff:10.0.0.5\": IPv4-mapped IPv6 address is ambiguous"},
		{"lookup add --vsid 5001 --ca 10.0.0.500 --pa 192.168.4.11 --mac 060600000005",
		 "invalid CA \"10.0.0.500\": not an IPv4 or IPv6 address"},
		{"lookup add --vsid 5001 --ca 10.0.0.5 --pa 0.0.0.0 --mac 060600000005",
		 "invalid PA \"0.0.0.0\": unspecified address"},
		{"lookup add --vsid 5001 --ca 0.0.0.0 --pa 192.168.4.11 --mac 060600000005",
		 "lookup add: --ca \"0.0.0.0\" is unspecified"},
		{"lookup set --vsid 5001 --ca :: --pa 192.168.4.11 --mac 060600000005 --type "
		 "dynamic",
		 "lookup set: --ca \"::\" is unspecified"},
		{"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005 --type "
		 "gateway-wildcard",
		 "--ca \"10.0.0.5\" must be 0.0.0.0 or :: for type gateway-wildcard"},
		{"lookup add --vsid 5001 --ca 2001:db8::5 --pa 192.168.4.11 --mac 060600000005 "
		 "--type "
		 "L2Only",
		 "--ca \"2001:db8::5\" must be 0.0.0.0 or :: for type l2only"},
		{"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005 --rule "
		 "gre",
		 "invalid rule \"gre\": must be encap, nat or none"},
		{"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005 --type "
		 "Gateway",
		 "invalid type \"Gateway\""},
		{"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005 "
		 "--use-vm-mac",
		 "lookup add: --use-vm-mac needs --rule nat"},
		{"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005 "
		 "--customer-id {nope}",
		 "invalid customer ID \"{nope}\""},
		{"route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop ::",
		 "route add: nexthop \"::\" is IPv6 but prefix \"10.0.0.0/24\" is IPv4"},
		{"route del --rdomain blue --prefix 2001:db8::/32 --nexthop 10.0.0.1",
		 "route del: nexthop \"10.0.0.1\" is IPv4 but prefix \"2001:db8::/32\" is IPv6"},
		{"route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0 "
		 "--metric 4294967296",
		 "invalid metric \"4294967296\": must be a decimal number 0-4294967295"},
		{"route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0 "
		 "--metric -1",
		 "invalid metric \"-1\""},
		{"route add --rdomain blue --prefix 10.0.0.0/24 --nexthop 0.0.0.0",
		 "route add: missing --vsid"},
		{"route del --rdomain blue --prefix 10.0.0.0/24 --nexthop 0.0.0.0 --vsid 5001",
		 "unknown option \"--vsid\" for \"route del\""},
		{"pa add 192.168.4.11 --dev eth0", "invalid PA \"192.168.4.11\": expected IP/LEN"},
		{"pa add 0.0.0.0/0 --dev eth0", "invalid PA \"0.0.0.0/0\": unspecified address"},
		{"pa add 192.168.4.11/24", "pa add: missing --dev"},
		{"pa add 192.168.4.11/24 --dev abcdefghijklmnop",
		 "invalid device name \"abcdefghijklmnop\""},
		{"pa add 192.168.4.11/24 --dev ..", "invalid device name \"..\""},
		{"pa add 192.168.4.11/24 --dev eth/0", "invalid device name \"eth/0\""},
		{"pa del 192.168.4.11/24", "invalid PA \"192.168.4.11/24\""},
		{"global set", "global set: nothing to set"},
		{"global set --uplink-mtu 575",
		 "invalid uplink MTU \"575\": must be a decimal number 576-9000"},
		{"global set --uplink-mtu 9001", "invalid uplink MTU \"9001\""},
		{"global set --flowid yes", "invalid --flowid value \"yes\": must be on or off"},
		{"global set --gateway-mac 33:33:00:00:00:01",
		 "invalid gateway MAC \"33:33:00:00:00:01\""},
		{"global set --flowid on --flowid off",
		 "global set: --flowid given more than once"},
		{"port del", "port del: missing NAME"},
		{"port del --vsid 5001", "port del: missing NAME"},
		{"rdomain add blue --rdid=11111111-2222-3333-4444-000000005001",
		 "unknown option \"--rdid=11111111-2222-3333-4444-000000005001\" for \"rdomain "
		 "add\""},
		{"ROUTE add", "unknown command \"ROUTE\""},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		parse_err(t[i].line, t[i].want);
}

static void test_long_values(void **state)
{
	(void)state;
	char line[1024], v[400];
	const char *base = "lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 "
			   "--mac 060600000005";
	struct hnv_conf_cmd c;

	memset(v, 'c', 255);
	v[255] = '\0';
	snprintf(line, sizeof(line), "%s --context \"%s\"", base, v);
	parse_ok(line, &c);
	assert_int_equal(strlen(c.u.lookup.context), 255);
	memset(v, 'c', 256);
	v[256] = '\0';
	snprintf(line, sizeof(line), "%s --context \"%s\"", base, v);
	parse_err(line, "invalid context \"cccc");
	parse_err(line, "...\": longer than 255 bytes");

	/* Hyper-V VM names hold spaces: free text, quoted on output */
	snprintf(line, sizeof(line), "%s --vm-name \"Blue VM 1\"", base);
	parse_ok(line, &c);
	assert_string_equal(c.u.lookup.vm_name, "Blue VM 1");
	char out[1024];
	assert_int_equal(hnv_conf_format(&c, false, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "--vm-name \"Blue VM 1\""));

	memset(v, 'n', 63);
	v[63] = '\0';
	snprintf(line, sizeof(line), "%s --vm-name %s", base, v);
	parse_ok(line, &c);
	assert_int_equal(strlen(c.u.lookup.vm_name), 63);
	memset(v, 'n', 64);
	v[64] = '\0';
	snprintf(line, sizeof(line), "%s --vm-name %s", base, v);
	parse_err(line, "invalid VM name \"nnnn");
	parse_err(line, "longer than 63 bytes");

	snprintf(line, sizeof(line), "port add %s --vsid 5001 --ca 10.0.0.5 --mac 060600000005", v);
	parse_err(line, "invalid port name \"nnnn");
}

/* ---- whole texts ---- */

static void test_parse_text(void **state)
{
	(void)state;
	struct hnv_conf_cmd *cmds = NULL;
	size_t n = 99;
	char err[256] = "";
	const char text[] = "# header\r\n"
			    "\r\n"
			    "rdomain add blue --rdid 11111111-2222-3333-4444-000000005001\r\n"
			    "   # indented comment\n"
			    "vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24\n"
			    "rdomain del blue"; /* no final newline */
	assert_int_equal(hnv_conf_parse_text(text, strlen(text), &cmds, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_int_equal(cmds[0].kind, HNV_CONF_RDOMAIN_ADD);
	assert_int_equal(cmds[0].line, 3);
	assert_int_equal(cmds[1].kind, HNV_CONF_VSUBNET_ADD);
	assert_int_equal(cmds[1].line, 5);
	assert_int_equal(cmds[2].line, 6);
	free(cmds);

	/* len bounds the text: the bytes after it are never read */
	const char cut[] = "rdomain del blue\nrdomain del red GARBAGE";
	assert_int_equal(hnv_conf_parse_text(cut, 17, &cmds, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	free(cmds);

	assert_int_equal(hnv_conf_parse_text("", 0, &cmds, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_null(cmds);
	assert_int_equal(hnv_conf_parse_text(NULL, 0, &cmds, &n, err, sizeof(err)), 0);
	assert_int_equal(hnv_conf_parse_text("# only\n\n", 8, &cmds, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	free(cmds);

	const char bad[] =
		"rdomain del blue\n\n"
		"lookup add --vsid 4095 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005\n";
	assert_int_equal(hnv_conf_parse_text(bad, strlen(bad), &cmds, &n, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err,
			    "line 3: lookup add: invalid VSID \"4095\": must be 4096-16777214");
	assert_null(cmds);
	assert_int_equal(n, 0);

	const char nul[] = "rdomain del blue\nrdomain del b\0lue\n";
	assert_int_equal(hnv_conf_parse_text(nul, sizeof(nul) - 1, &cmds, &n, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "line 2: NUL byte at column 14");

	char *big = malloc(5000);
	assert_non_null(big);
	memcpy(big, "# ok\n#", 6);
	memset(big + 6, 'x', 4100);
	big[4106] = '\n';
	assert_int_equal(hnv_conf_parse_text(big, 4107, &cmds, &n, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 2: line too long (more than 4096 bytes)");
	/* 4096 bytes plus \r\n is accepted */
	memset(big + 5, 'x', 4096);
	big[5] = '#';
	memcpy(big + 5 + 4096, "\r\n", 2);
	assert_int_equal(hnv_conf_parse_text(big, 5 + 4098, &cmds, &n, err, sizeof(err)), 0);
	free(cmds);
	free(big);

	assert_int_equal(hnv_conf_parse_text("x", 1, NULL, &n, err, sizeof(err)), -EINVAL);
}

static void test_demo_config_parses(void **state)
{
	(void)state;
	size_t len, n;
	char *text = read_file(DEMO_CONF, &len);
	struct hnv_conf_cmd *cmds;
	char err[256] = "";
	int rc = hnv_conf_parse_text(text, len, &cmds, &n, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s: %s", DEMO_CONF, err);
	unsigned count[HNV_CONF_GLOBAL_SET + 1] = {0};
	for (size_t i = 0; i < n; i++)
		count[cmds[i].kind]++;
	assert_int_equal(count[HNV_CONF_PA_ADD], 1);
	assert_int_equal(count[HNV_CONF_RDOMAIN_ADD], 2);
	assert_int_equal(count[HNV_CONF_VSUBNET_ADD], 2);
	assert_int_equal(count[HNV_CONF_PORT_ADD], 2);
	assert_int_equal(count[HNV_CONF_LOOKUP_ADD], 4);
	assert_int_equal(count[HNV_CONF_ROUTE_ADD], 2);
	assert_int_equal(n, 13);
	for (size_t i = 0; i < n; i++) {
		const struct hnv_conf_cmd *c = &cmds[i];
		if (c->kind == HNV_CONF_PA_ADD) {
			assert_ip(&c->u.pa.addr.addr, "192.168.4.11");
			assert_int_equal(c->u.pa.addr.len, 24);
			assert_string_equal(c->u.pa.dev, "eth0");
		}
		if (c->kind == HNV_CONF_LOOKUP_ADD) {
			assert_int_equal(c->u.lookup.rule, HNV_RULE_ENCAP);
			assert_int_equal(c->u.lookup.type, HNV_TYPE_STATIC);
		}
		if (c->kind == HNV_CONF_ROUTE_ADD) {
			assert_int_equal(c->u.route.metric, 255);
			assert_true(hnv_ip_is_unspec(&c->u.route.nexthop));
			assert_int_equal(c->u.route.prefix.len, 24);
		}
	}
	free(cmds);
	free(text);
}

/* ---- applier (real policy tables and datapath context) ---- */

struct applied {
	struct hnv_dp *dp;
};

static int setup_dp(void **state)
{
	struct applied *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -1;
	a->dp = hnv_dp_new();
	if (a->dp == NULL) {
		free(a);
		return -1;
	}
	*state = a;
	return 0;
}

static int teardown_dp(void **state)
{
	struct applied *a = *state;
	hnv_dp_free(a->dp);
	free(a);
	return 0;
}

/* Parses and applies text; returns the apply result, message in err. */
static int apply_text(struct hnv_dp *dp, const char *text, char *err, size_t errlen)
{
	struct hnv_conf_cmd *cmds;
	size_t n;
	int rc = hnv_conf_parse_text(text, strlen(text), &cmds, &n, err, errlen);
	if (rc != 0)
		fail_msg("parse: %s", err);
	rc = hnv_conf_apply(dp, cmds, n, err, errlen);
	hnv_conf_cmds_free(cmds, n);
	return rc;
}

static void apply_ok(struct hnv_dp *dp, const char *text)
{
	char err[512] = "";
	int rc = apply_text(dp, text, err, sizeof(err));
	if (rc != 0)
		fail_msg("apply: rc %d: %s", rc, err);
}

static void apply_err(struct hnv_dp *dp, const char *text, int want_rc, const char *want)
{
	char err[512] = "";
	int rc = apply_text(dp, text, err, sizeof(err));
	if (rc != want_rc || strstr(err, want) == NULL)
		fail_msg("apply: rc %d, error \"%s\"; want rc %d, \"%s\"", rc, err, want_rc, want);
}

/* One line at a time, as the daemon applies CLI commands. */
static int apply_line(struct hnv_dp *dp, const char *line, char *err, size_t errlen)
{
	struct hnv_conf_cmd c;
	int rc = hnv_conf_parse_line(line, &c, err, errlen);
	if (rc != 1)
		fail_msg("parse \"%s\": rc %d, %s", line, rc, err);
	return hnv_conf_apply(dp, &c, 1, err, errlen);
}

static void test_apply_demo(void **state)
{
	struct applied *a = *state;
	size_t len;
	char *text = read_file(DEMO_CONF, &len);
	struct hnv_conf_cmd *cmds;
	size_t n;
	char err[512] = "";
	assert_int_equal(hnv_conf_parse_text(text, len, &cmds, &n, err, sizeof(err)), 0);
	int rc = hnv_conf_apply(a->dp, cmds, n, err, sizeof(err));
	if (rc != 0)
		fail_msg("apply: %s", err);
	free(cmds);
	free(text);

	struct hnv_policy *p = hnv_dp_policy(a->dp);
	struct hnv_policy_stats st;
	hnv_policy_stats(p, &st);
	assert_int_equal(st.n_records, 4);
	assert_int_equal(st.n_routes, 2);
	assert_int_equal(st.n_vsubnets, 2);
	assert_int_equal(st.n_rdomains, 2);
	assert_true(hnv_policy_port_id(p, "blue1") >= 1);
	assert_true(hnv_policy_port_id(p, "red1") >= 1);
	assert_int_not_equal(hnv_policy_port_id(p, "blue1"), hnv_policy_port_id(p, "red1"));
	struct hnv_vsubnet_spec vs;
	assert_int_equal(hnv_policy_vsubnet_get(p, 6001, &vs), 0);
	assert_string_equal(vs.rdomain, "red");

	/* applying the same text again fails at its first line, naming it */
	apply_err(a->dp,
		  "# again\n"
		  "pa add 192.168.4.11/24 --dev eth0\n",
		  -EEXIST, "line 2: pa add: provider address 192.168.4.11 already exists");
	apply_err(a->dp, "rdomain add blue --rdid {11111111-2222-3333-4444-000000009999}\n",
		  -EEXIST, "line 1: rdomain add: rdomain \"blue\" already exists");
	apply_err(a->dp, "rdomain add green --rdid {11111111-2222-3333-4444-000000005001}\n",
		  -EEXIST,
		  "RDID {11111111-2222-3333-4444-000000005001} belongs to another rdomain");
	apply_err(a->dp, "vsubnet add 5001 --rdomain blue --prefix 10.9.0.0/24\n", -EEXIST,
		  "vsubnet add: VSID 5001 already exists");
	apply_err(a->dp, "port add blue1 --vsid 5001 --ca 10.0.0.9 --mac 060600000009\n", -EEXIST,
		  "port add: port \"blue1\" already exists");
	apply_err(a->dp,
		  "lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005\n",
		  -EEXIST,
		  "lookup add: record VSID 5001 CA 10.0.0.5 MAC 06:06:00:00:00:05 already exists");
	apply_err(a->dp,
		  "route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0\n",
		  -EEXIST,
		  "route 10.0.0.0/24 via 0.0.0.0 already exists in routing domain \"blue\"");
	apply_err(a->dp, "rdomain del blue\n", -EBUSY, "rdomain del: rdomain \"blue\" is in use");
	apply_err(a->dp, "vsubnet del 5001\n", -EBUSY, "vsubnet del: VSID 5001 is in use");
}

static void test_apply_references(void **state)
{
	struct applied *a = *state;
	apply_ok(a->dp,
		 "rdomain add blue --rdid 11111111-2222-3333-4444-000000005001\n"
		 "rdomain add red --rdid 11111111-2222-3333-4444-000000006001\n"
		 "vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24 --prefix 2001:db8:1::/64\n"
		 "vsubnet add 6001 --rdomain red --prefix 10.0.0.0/24\n");
	/* the example of the brief, on line 7 */
	apply_err(a->dp,
		  "\n\n\n\n\n\n"
		  "lookup add --vsid 5002 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005\n",
		  -ENOENT,
		  "line 7: lookup add: VSID 5002 is not configured (vsubnet add 5002 first)");
	apply_err(a->dp, "vsubnet add 7001 --rdomain green --prefix 10.7.0.0/24\n", -ENOENT,
		  "vsubnet add: routing domain \"green\" not found");
	apply_err(a->dp,
		  "route add --rdomain green --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0\n",
		  -ENOENT, "route add: routing domain \"green\" not found");
	apply_err(a->dp,
		  "route add --rdomain blue --vsid 5002 --prefix 10.0.0.0/24 --nexthop 0.0.0.0\n",
		  -ENOENT, "route add: VSID 5002 is not configured");
	apply_err(a->dp,
		  "route add --rdomain blue --vsid 6001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0\n",
		  -EXDEV, "route add: VSID 6001 belongs to routing domain \"red\", not \"blue\"");
	apply_err(a->dp, "port add x --vsid 5002 --ca 10.0.0.5 --mac 060600000005\n", -ENOENT,
		  "port add: VSID 5002 is not configured (vsubnet add 5002 first)");
	apply_err(a->dp, "rdomain del green\n", -ENOENT,
		  "rdomain del: rdomain \"green\" not found");
	apply_err(a->dp, "vsubnet del 5002\n", -ENOENT, "vsubnet del: VSID 5002 is not configured");
	apply_err(a->dp, "port del nope\n", -ENOENT, "port del: port \"nope\" not found");
	apply_err(a->dp, "pa del 192.168.4.99\n", -ENOENT,
		  "pa del: provider address 192.168.4.99 not found");
	apply_err(a->dp, "lookup del --vsid 5001 --ca 10.0.0.9 --mac 060600000009\n", -ENOENT,
		  "lookup del: no record VSID 5001 CA 10.0.0.9 MAC 06:06:00:00:00:09");
	apply_err(a->dp,
		  "lookup set --vsid 5001 --ca 10.0.0.9 --pa 192.168.4.11 --mac 060600000009\n",
		  -ENOENT, "lookup set: no record VSID 5001 CA 10.0.0.9 MAC 06:06:00:00:00:09");
	apply_err(a->dp, "route del --rdomain blue --prefix 10.9.0.0/24 --nexthop 0.0.0.0\n",
		  -ENOENT,
		  "route del: no route 10.9.0.0/24 via 0.0.0.0 in routing domain \"blue\"");
}

static void test_apply_ca_checks(void **state)
{
	struct applied *a = *state;
	apply_ok(a->dp,
		 "rdomain add blue --rdid 11111111-2222-3333-4444-000000005001\n"
		 "vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24 --prefix 2001:db8:1::/64\n");
	apply_err(a->dp, "port add b1 --vsid 5001 --ca 10.0.0.5 --ca 10.1.0.5 --mac 060600000005\n",
		  -EINVAL,
		  "port add: CA 10.1.0.5 is outside the prefixes of VSID 5001 (10.0.0.0/24, "
		  "2001:db8:1::/64)");
	apply_err(a->dp, "port add b1 --vsid 5001 --ca 10.0.0.1 --mac 060600000005\n", -EINVAL,
		  "port add: CA 10.0.0.1 is the default gateway of VSID 5001 (10.0.0.0/24)");
	apply_err(
		a->dp,
		"port add b1 --vsid 5001 --ca 10.0.0.5 --ca 2001:db8:1::1 --mac "
		"060600000005\n",
		-EINVAL,
		"port add: CA 2001:db8:1::1 is the default gateway of VSID 5001 (2001:db8:1::/64)");
	apply_err(a->dp,
		  "lookup add --vsid 5001 --ca 10.0.0.1 --pa 192.168.4.11 --mac 060600000005\n",
		  -EINVAL,
		  "lookup add: record VSID 5001 CA 10.0.0.1 MAC 06:06:00:00:00:05: CA 10.0.0.1 "
		  "is the default gateway of VSID 5001: a lookup record for it must have PA "
		  "169.254.254.254, not 192.168.4.11");
	apply_err(a->dp,
		  "lookup add --vsid 5001 --ca 10.2.0.5 --pa 192.168.4.11 --mac 060600000005\n",
		  -EINVAL, "lookup add: CA 10.2.0.5 is outside the prefixes of VSID 5001");
	apply_err(a->dp,
		  "lookup set --vsid 5001 --ca 10.2.0.5 --pa 192.168.4.11 --mac 060600000005\n",
		  -EINVAL, "lookup set: CA 10.2.0.5 is outside the prefixes of VSID 5001");
	/* nothing was added by the failures */
	struct hnv_policy_stats st;
	hnv_policy_stats(hnv_dp_policy(a->dp), &st);
	assert_int_equal(st.n_records, 0);
	assert_int_equal(hnv_policy_port_id(hnv_dp_policy(a->dp), "b1"), -ENOENT);

	apply_ok(a->dp,
		 "port add b1 --vsid 5001 --ca 10.0.0.2 --ca 10.0.0.255 --ca 2001:db8:1::2 --mac "
		 "060600000005\n"
		 "lookup add --vsid 5001 --ca 10.0.0.2 --pa 2001:db8::11 --mac 060600000005\n"
		 "lookup add --vsid 5001 --ca 2001:db8:1::2 --pa 192.168.4.11 --mac 060600000005\n"
		 "lookup add --vsid 5001 --ca 0.0.0.0 --pa 192.168.4.1 --mac 00155d000001 --type "
		 "gateway-wildcard\n"
		 "lookup add --vsid 5001 --ca :: --pa 192.168.4.1 --mac 00155d000001 --type "
		 "gateway-wildcard\n");
	hnv_policy_stats(hnv_dp_policy(a->dp), &st);
	assert_int_equal(st.n_records, 4);
}

/* Settings hnvgw cannot give their effect are refused when applied, with
 * what is not supported and why (docs/netwnv-settings.md), and change
 * nothing: TranslationMethodNat and None, UseExternalRouter $true. */
static void test_apply_refused_settings(void **state)
{
	struct applied *a = *state;
	apply_ok(a->dp,
		 "rdomain add blue --rdid 11111111-2222-3333-4444-000000005001\n"
		 "vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24\n"
		 "lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 060600000007\n");
	apply_err(a->dp,
		  "lookup add --vsid 5001 --ca 10.0.0.8 --pa 192.168.4.22 --mac 060600000008 "
		  "--rule nat --use-vm-mac\n",
		  -EOPNOTSUPP,
		  "lookup add: record VSID 5001 CA 10.0.0.8 MAC 06:06:00:00:00:08: rule nat "
		  "(TranslationMethodNat, IP rewrite) is not supported: hnvgw forwards customer "
		  "packets only in NVGRE");
	apply_err(a->dp,
		  "lookup add --vsid 5001 --ca 10.0.0.9 --pa 192.168.4.22 --mac 060600000009 "
		  "--rule none\n",
		  -EOPNOTSUPP,
		  "lookup add: record VSID 5001 CA 10.0.0.9 MAC 06:06:00:00:00:09: rule none "
		  "(TranslationMethodNone) is not supported: Microsoft documents no forwarding "
		  "behaviour for it");
	apply_err(a->dp,
		  "lookup set --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 060600000007 "
		  "--rule nat\n",
		  -EOPNOTSUPP,
		  "lookup set: record VSID 5001 CA 10.0.0.7 MAC 06:06:00:00:00:07: rule nat");
	apply_err(a->dp, "global set --use-external-router on\n", -EOPNOTSUPP,
		  "global set: --use-external-router on (UseExternalRouter $true) is not "
		  "supported: hnvgw always routes between the virtual subnets of a routing "
		  "domain itself");
	apply_ok(a->dp, "global set --use-external-router off\n");
	/* nothing was added or changed by the refusals */
	struct hnv_policy_stats st;
	hnv_policy_stats(hnv_dp_policy(a->dp), &st);
	assert_int_equal(st.n_records, 1);
	struct hnv_ip ca = ip_of("10.0.0.7");
	const struct hnv_rec *r =
		hnv_policy_rec_by_ca(hnv_dp_policy(a->dp), hnv_hash_ca(5001, &ca), 5001, &ca);
	assert_non_null(r);
	assert_int_equal(r->rule, HNV_RULE_ENCAP);
}

/* The default-gateway records of Windows Server 2012's demo set their
 * VSID's router MAC (one per VSID: the IPv4 and IPv6 records agree), are no
 * records of the policy, and go with "lookup del"; a VSID with one cannot
 * be deleted. */
static void test_apply_gateway_records(void **state)
{
	struct applied *a = *state;
	struct hnv_policy *p = hnv_dp_policy(a->dp);
	apply_ok(a->dp,
		 "rdomain add blue --rdid 11111111-2222-3333-4444-000000005001\n"
		 "vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24 --prefix 2001:db8:1::/64\n"
		 "vsubnet add 5002 --rdomain blue --prefix 10.0.1.0/24\n"
		 "lookup add --vsid 5001 --ca 10.0.0.1 --pa 169.254.254.254 --mac 101010101101 "
		 "--rule encap --vm-name BlueS1-DG\n"
		 "lookup add --vsid 5002 --ca 10.0.1.1 --pa 169.254.254.254 --mac 101010101001\n");
	struct hnv_policy_stats st;
	hnv_policy_stats(p, &st);
	assert_int_equal(st.n_records, 0);
	const struct hnv_vsubnet *v = hnv_policy_vsubnet(p, 5001);
	assert_non_null(v);
	assert_int_equal(v->gw_recs, 1);
	assert_memory_equal(v->gw_mac.b, "\x10\x10\x10\x10\x11\x01", 6);
	assert_memory_equal(hnv_policy_vsubnet(p, 5002)->gw_mac.b, "\x10\x10\x10\x10\x10\x01", 6);
	apply_err(a->dp,
		  "lookup add --vsid 5001 --ca 2001:db8:1::1 --pa 169.254.254.254 --mac "
		  "101010101102\n",
		  -EINVAL,
		  "lookup add: record VSID 5001 CA 2001:db8:1::1 MAC 10:10:10:10:11:02: VSID 5001 "
		  "has a default-gateway record with MAC 10:10:10:10:11:01 already");
	apply_ok(a->dp, "lookup add --vsid 5001 --ca 2001:db8:1::1 --pa 169.254.254.254 --mac "
			"101010101101\n");
	assert_int_equal(hnv_policy_vsubnet(p, 5001)->gw_recs, 3);
	apply_err(a->dp,
		  "lookup add --vsid 5001 --ca 10.0.0.1 --pa 169.254.254.254 --mac 101010101101\n",
		  -EEXIST,
		  "lookup add: record VSID 5001 CA 10.0.0.1 MAC 10:10:10:10:11:01 already");
	apply_err(a->dp,
		  "lookup set --vsid 5001 --ca 10.0.0.1 --pa 192.168.4.22 --mac 101010101101\n",
		  -EINVAL, "must have PA 169.254.254.254, not 192.168.4.22");
	apply_ok(a->dp, "lookup set --vsid 5001 --ca 10.0.0.1 --pa 169.254.254.254 --mac "
			"101010101101 --context demo\n");
	apply_err(a->dp, "vsubnet del 5002\n", -EBUSY, "vsubnet del");
	apply_err(a->dp, "lookup del --vsid 5001 --ca 10.0.0.1 --mac 101010101102\n", -ENOENT,
		  "lookup del: no record VSID 5001 CA 10.0.0.1 MAC 10:10:10:10:11:02");
	apply_ok(a->dp, "lookup del --vsid 5001 --ca 10.0.0.1 --mac 101010101101\n");
	assert_int_equal(hnv_policy_vsubnet(p, 5001)->gw_recs, 2);
	apply_ok(a->dp, "lookup del --vsid 5001 --ca 2001:db8:1::1 --mac 101010101101\n");
	assert_int_equal(hnv_policy_vsubnet(p, 5001)->gw_recs, 0);
	apply_ok(a->dp, "lookup del --vsid 5002 --ca 10.0.1.1 --mac 101010101001\n"
			"vsubnet del 5002\n");
}

static void test_apply_line_by_line(void **state)
{
	struct applied *a = *state;
	static const char *const lines[] = {
		"rdomain add blue --rdid 11111111-2222-3333-4444-000000005001",
		"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24",
		"vsubnet add 5002 --rdomain blue --prefix 10.0.2.0/24",
		"lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 060600000007",
		"lookup set --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.33 --mac 060600000007 "
		"--context migrated",
		"route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0",
		"route add --rdomain blue --vsid 5002 --prefix 10.0.2.0/24 --nexthop 0.0.0.0 "
		"--metric 10",
		"route del --rdomain blue --prefix 10.0.2.0/24 --nexthop 0.0.0.0",
		"lookup del --vsid 5001 --ca 10.0.0.7 --mac 060600000007",
		"vsubnet del 5002",
		"pa add 2001:db8::11/64 --dev eth0",
		"pa del 2001:db8::11",
		"global set --gateway-mac 02:15:5d:00:00:02 --flowid off --uplink-mtu 9000",
	};
	char err[512];
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		err[0] = '\0';
		int rc = apply_line(a->dp, lines[i], err, sizeof(err));
		if (rc != 0)
			fail_msg("\"%s\": rc %d, %s", lines[i], rc, err);
	}
	struct hnv_policy_stats st;
	hnv_policy_stats(hnv_dp_policy(a->dp), &st);
	assert_int_equal(st.n_records, 0);
	assert_int_equal(st.n_routes, 1);
	assert_int_equal(st.n_vsubnets, 1);
	assert_mac(hnv_dp_gateway_mac(a->dp), 2, 0x15, 0x5d, 0, 0, 2);

	/* a single line (line 0) has no "line N: " prefix */
	assert_int_equal(apply_line(a->dp, "vsubnet del 6001", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "vsubnet del: VSID 6001 is not configured");
}

static void test_apply_partial(void **state)
{
	struct applied *a = *state;
	/* a failure stops the batch; what came before stays and is committed */
	apply_err(a->dp,
		  "rdomain add blue --rdid 11111111-2222-3333-4444-000000005001\n"
		  "vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24\n"
		  "route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0\n"
		  "vsubnet add 5002 --rdomain nope --prefix 10.0.2.0/24\n"
		  "vsubnet add 5003 --rdomain blue --prefix 10.0.3.0/24\n",
		  -ENOENT, "line 4: vsubnet add: routing domain \"nope\" not found");
	struct hnv_policy_stats st;
	hnv_policy_stats(hnv_dp_policy(a->dp), &st);
	assert_int_equal(st.n_vsubnets, 1);
	assert_int_equal(st.n_routes, 1);

	char err[64] = "";
	assert_int_equal(hnv_conf_apply(a->dp, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(hnv_conf_apply(NULL, NULL, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(hnv_conf_apply(a->dp, NULL, 1, err, sizeof(err)), -EINVAL);

	/* typed commands from elsewhere are not trusted to be terminated */
	struct hnv_conf_cmd c;
	memset(&c, 'A', sizeof(c));
	c.kind = HNV_CONF_PORT_DEL;
	c.line = 9;
	assert_int_equal(hnv_conf_apply(a->dp, &c, 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 9: port del: name is not terminated");
	c.kind = (enum hnv_conf_kind)99;
	assert_int_equal(hnv_conf_apply(a->dp, &c, 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 9: unknown command kind 99");
}

/* ---- provider routes, gateway, S2S, formatter (issue 3) ---- */

#define PSK "Zq8-secret-Psk-4711-abcdef"
#define GUID_BLUE "{11111111-2222-3333-4444-000000005001}"
#define S2S_BASE                                                                                   \
	"s2s add site1 --rdomain blue --peer 203.0.113.9 --local-id gw.example "                   \
	"--remote-id site1.example --remote-prefix 192.168.50.0/24 "

static void test_cmd_proute(void **state)
{
	(void)state;
	struct hnv_conf_cmd c;
	parse_ok("proute add --prefix 0.0.0.0/0 --nexthop 192.168.4.1 --dev eth0", &c);
	assert_int_equal(c.kind, HNV_CONF_PROUTE_ADD);
	assert_int_equal(c.u.proute.prefix.len, 0);
	assert_ip(&c.u.proute.nexthop, "192.168.4.1");
	assert_string_equal(c.u.proute.dev, "eth0");
	assert_int_equal(c.u.proute.metric, 0);
	parse_ok("proute add --prefix 2001:db8:100::/48 --nexthop fe80::1 --dev eth1 --metric 20",
		 &c);
	assert_int_equal(c.u.proute.metric, 20);
	parse_ok("proute add --prefix 10.9.0.0/16 --nexthop 0.0.0.0 --dev eth1", &c);
	parse_ok("proute del --prefix 0.0.0.0/0 --nexthop 192.168.4.1", &c);
	assert_int_equal(c.kind, HNV_CONF_PROUTE_DEL);

	parse_err("proute add --prefix 0.0.0.0/0 --nexthop 2001:db8::1 --dev eth0",
		  "nexthop \"2001:db8::1\" is IPv6 but prefix \"0.0.0.0/0\" is IPv4");
	parse_err("proute add --prefix 10.0.0.1/8 --nexthop 10.0.0.254 --dev eth0",
		  "invalid prefix \"10.0.0.1/8\": host bits set");
	parse_err("proute add --prefix 0.0.0.0/0 --nexthop 192.168.4.1", "missing --dev");
	parse_err("proute add --prefix 0.0.0.0/0 --nexthop 192.168.4.1 --dev eth0 --metric -1",
		  "invalid metric \"-1\"");
	parse_err("proute del --prefix 0.0.0.0/0 --nexthop 192.168.4.1 --dev eth0",
		  "unknown option \"--dev\" for \"proute del\"");
}

static void test_cmd_global_external_router(void **state)
{
	(void)state;
	struct hnv_conf_cmd c;
	parse_ok("global set --use-external-router on", &c);
	assert_true(c.u.global.has_use_external_router);
	assert_true(c.u.global.use_external_router);
	assert_false(c.u.global.has_flowid);
	parse_ok("global set --flowid on --use-external-router off", &c);
	assert_true(c.u.global.has_use_external_router);
	assert_false(c.u.global.use_external_router);
	parse_err("global set --use-external-router yes",
		  "invalid --use-external-router value \"yes\": must be on or off");
	parse_err("global set", "--use-external-router)");
}

static void test_cmd_gateway(void **state)
{
	(void)state;
	struct hnv_conf_cmd c;
	parse_ok("gateway add --rdomain blue --vrf vrf-blue --table 1001 --corp-dev eth2 "
		 "--nat-external 198.51.100.7",
		 &c);
	assert_int_equal(c.kind, HNV_CONF_GATEWAY_ADD);
	assert_string_equal(c.u.gateway.rdomain, "blue");
	assert_string_equal(c.u.gateway.vrf, "vrf-blue");
	assert_int_equal(c.u.gateway.table, 1001);
	assert_string_equal(c.u.gateway.corp_dev, "eth2");
	assert_true(c.u.gateway.has_nat_external);
	assert_ip(&c.u.gateway.nat_external, "198.51.100.7");
	parse_ok("gateway add --rdomain red --vrf vrf-red --table 4294967294", &c);
	assert_string_equal(c.u.gateway.corp_dev, "");
	assert_false(c.u.gateway.has_nat_external);
	parse_ok("gateway add --rdomain red --vrf r --table 1", &c);
	parse_ok("gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.2", &c);
	assert_int_equal(c.kind, HNV_CONF_GATEWAY_CA);
	assert_int_equal(c.u.gateway_ca.vsid, 5001);
	assert_ip(&c.u.gateway_ca.ca, "10.0.0.2");
	parse_ok("gateway ca-del --rdomain blue --vsid 5001 --ca 10.0.0.2", &c);
	assert_int_equal(c.kind, HNV_CONF_GATEWAY_CA_DEL);
	parse_ok("gateway del --rdomain blue", &c);
	assert_int_equal(c.kind, HNV_CONF_GATEWAY_DEL);
	assert_string_equal(c.u.gateway.rdomain, "blue");

	static const char *const reserved[] = {"253", "254", "255"};
	for (size_t i = 0; i < 3; i++) {
		char line[128], want[64];
		snprintf(line, sizeof(line), "gateway add --rdomain b --vrf v --table %s",
			 reserved[i]);
		snprintf(want, sizeof(want), "invalid table \"%s\": 253-255", reserved[i]);
		parse_err(line, want);
	}
	parse_err("gateway add --rdomain b --vrf v --table 0",
		  "invalid table \"0\": must be a decimal number 1-4294967294");
	parse_err("gateway add --rdomain b --vrf v --table 4294967295",
		  "invalid table \"4294967295\"");
	parse_err("gateway add --rdomain b --vrf vrf-0123456789ab --table 5",
		  "invalid VRF name \"vrf-0123456789ab\": must be 1-15 characters");
	parse_err("gateway add --rdomain b --vrf v/x --table 5", "invalid VRF name \"v/x\"");
	parse_err("gateway add --rdomain b --vrf v --table 220",
		  "invalid table \"220\": 220 is strongSwan's routing table");
	parse_err("gateway add --rdomain b --vrf v --table 1207959808",
		  "invalid table \"1207959808\": 1207959552-1208999935 (0x48000000-0x480fffff) are "
		  "hnvgw's NETMAP tables");
	parse_err("gateway add --rdomain b --vrf v --table 5 --nat-external 224.0.0.1",
		  "invalid NAT external address \"224.0.0.1\": multicast address");
	parse_err("gateway add --rdomain b --vrf v --table 5 --nat-external 0.0.0.0",
		  "invalid NAT external address \"0.0.0.0\": unspecified address");
	parse_err("gateway add --rdomain b --table 5", "gateway add: missing --vrf");
	parse_err("gateway ca --rdomain b --vsid 12 --ca 10.0.0.2", "invalid VSID \"12\"");
	parse_err("gateway ca --rdomain b --vsid 5001 --ca ff02::1",
		  "invalid CA \"ff02::1\": multicast address");
	parse_err("gateway frob",
		  "unknown command \"gateway frob\" (verbs: add, del, ca, move, ca-del)");
	parse_ok("gateway move red --to g2", &c);
	assert_int_equal(c.kind, HNV_CONF_GATEWAY_MOVE);
	assert_string_equal(c.u.port_move.name, "red");
	assert_string_equal(c.u.port_move.host, "g2");
	parse_err("gateway move red", "gateway move: missing --to");
	parse_err("gateway move red --to @g", "invalid host name \"@g\"");

	/* --pool: a gateway pool's tenant (hnvgwd --etcd) */
	parse_ok("gateway add --rdomain red --pool edge-1 --vrf r --table 7", &c);
	assert_string_equal(c.u.gateway.pool, "edge-1");
	parse_ok("gateway add --rdomain red --vrf r --table 7", &c);
	assert_string_equal(c.u.gateway.pool, "");
	parse_ok("gateway del --rdomain red --pool edge", &c);
	assert_string_equal(c.u.gateway.pool, "edge");
	parse_ok("gateway ca --rdomain red --pool edge --vsid 5001 --ca 10.0.0.2", &c);
	assert_string_equal(c.u.gateway_ca.pool, "edge");
	parse_ok("gateway ca-del --pool edge --rdomain red --vsid 5001 --ca 10.0.0.2", &c);
	assert_int_equal(c.kind, HNV_CONF_GATEWAY_CA_DEL);
	assert_string_equal(c.u.gateway_ca.pool, "edge");
	parse_err("gateway add --rdomain b --pool @x --vrf v --table 5",
		  "invalid pool name \"@x\": must be 1-63 characters of A-Z a-z 0-9 _ . -");
	parse_err("gateway ca --rdomain b --pool a/b --vsid 5001 --ca 10.0.0.2",
		  "invalid pool name \"a/b\"");
	parse_err("gateway ca --rdomain b --pool .. --vsid 5001 --ca 10.0.0.2",
		  "invalid pool name \"..\"");
	parse_err("gateway add --rdomain b --pool "
		  "p234567890123456789012345678901234567890123456789012345678901234 --vrf v "
		  "--table 5",
		  "invalid pool name");
	parse_err("gateway add --rdomain b --pool p --pool q --vrf v --table 5", "--pool");
	parse_err("port add vm1 --vsid 5001 --pool edge", "--pool");
}

static void assert_prefix(const struct hnv_prefix *p, const char *want)
{
	char t[64];
	hnv_fmt_prefix(p, t, sizeof(t));
	assert_string_equal(t, want);
}

static void test_cmd_s2s(void **state)
{
	(void)state;
	struct hnv_conf_cmd c;
	parse_ok(S2S_BASE "--psk " PSK, &c);
	assert_int_equal(c.kind, HNV_CONF_S2S_ADD);
	const struct hnv_conf_s2s *s = &c.u.s2s;
	assert_string_equal(s->name, "site1");
	assert_string_equal(s->rdomain, "blue");
	assert_ip(&s->peer, "203.0.113.9");
	assert_false(s->has_local_addr);
	assert_string_equal(s->local_id, "gw.example");
	assert_string_equal(s->remote_id, "site1.example");
	assert_int_equal(s->auth, HNV_S2S_AUTH_PSK);
	assert_string_equal(s->psk, PSK);
	assert_string_equal(s->ike, "aes256gcm16-prfsha384-ecp384");
	assert_string_equal(s->esp, "aes256gcm16-ecp384");
	assert_int_equal(s->n_remote, 1);
	assert_int_equal(s->dpd, 30);

	parse_ok(
		"s2s add t2 --rdomain red --peer 2001:db8:ff::9 --local-addr 2001:db8::11 "
		"--local-id \"C=CH, O=Example, CN=gw\" --remote-id site2@example.org "
		"--cert gw.pem --key /etc/swanctl/private/gw.key "
		"--ike-proposal AES256-SHA256-MODP3072 --ike-proposal aes256gcm16-prfsha384-ecp384 "
		"--esp-proposal aes256-sha256 --esp-proposal chacha20poly1305-x25519-esn "
		"--remote-prefix 10.50.0.0/16 --remote-prefix 2001:db8:50::/48 --dpd 0",
		&c);
	assert_true(s->has_local_addr);
	assert_string_equal(s->local_id, "C=CH, O=Example, CN=gw");
	assert_int_equal(s->auth, HNV_S2S_AUTH_CERT);
	assert_string_equal(s->psk, "");
	assert_string_equal(s->cert, "gw.pem");
	assert_string_equal(s->key, "/etc/swanctl/private/gw.key");
	assert_string_equal(s->ca_cert, "");
	assert_string_equal(s->ike, "aes256-sha256-modp3072,aes256gcm16-prfsha384-ecp384");
	assert_string_equal(s->esp, "aes256-sha256,chacha20poly1305-x25519-esn");
	assert_int_equal(s->n_remote, 2);
	assert_int_equal(s->dpd, 0);

	parse_err(S2S_BASE "--psk " PSK " --cert a.pem --key a.key",
		  "give --psk or --cert with --key, not both");
	parse_err(S2S_BASE "--psk " PSK " --ca-cert ca.pem",
		  "give --psk or --cert with --key (and --ca-cert), not both");
	parse_err(S2S_BASE "--cert a.pem --key a.key --ca-cert ../ca.pem",
		  "must be a file name or an absolute path");
	parse_err(S2S_BASE, "missing --psk or --cert with --key");
	parse_err(S2S_BASE "--cert a.pem", "s2s add: missing --key");
	parse_err(S2S_BASE "--key a.key", "s2s add: missing --cert");
	parse_err(S2S_BASE "--psk short-secret", "PSK too short: use at least 20 characters");
	parse_err(S2S_BASE "--psk <secret>", "the PSK is masked as <secret>");
	parse_err("s2s add x --rdomain blue --peer 192.0.2.1 --local-id a --remote-id "
		  "id-" PSK " --remote-prefix 10.1.0.0/16 --psk " PSK,
		  "s2s add: the PSK must not appear in an identity");
	parse_err(S2S_BASE "--psk " PSK " --dpd 3601",
		  "invalid DPD delay \"3601\": must be a decimal number 0-3600");
	parse_err(S2S_BASE "--psk " PSK " --local-addr 2001:db8::1",
		  "invalid local address \"2001:db8::1\": not of the peer's address family");
	parse_err(S2S_BASE "--psk " PSK " --remote-prefix 192.168.50.128/25",
		  "remote prefix \"192.168.50.128/25\" overlaps remote prefix \"192.168.50.0/24\"");
	parse_err("s2s add x --rdomain blue --peer 0.0.0.0 --local-id a --remote-id b "
		  "--remote-prefix 10.1.0.0/16 --psk " PSK,
		  "invalid peer \"0.0.0.0\": unspecified address");
	parse_err("s2s add x --rdomain blue --peer 255.255.255.255 --local-id a --remote-id b "
		  "--remote-prefix 10.1.0.0/16 --psk " PSK,
		  "invalid peer \"255.255.255.255\": broadcast address");
	parse_err("s2s add x --rdomain blue --peer 192.0.2.1 --local-id \"a\\\"b\" --remote-id b "
		  "--remote-prefix 10.1.0.0/16 --psk " PSK,
		  "invalid local ID \"a\"b\": use printable ASCII characters without \" or \\");
	parse_err("s2s add x --rdomain blue --peer 192.0.2.1 --local-id \" a\" --remote-id b "
		  "--remote-prefix 10.1.0.0/16 --psk " PSK,
		  "invalid local ID \" a\": leading or trailing space");
	parse_err(S2S_BASE "--cert ../x.pem --key k.pem",
		  "invalid certificate \"../x.pem\": must be a file name or an absolute path");
	parse_err(S2S_BASE "--cert /etc/../x.pem --key k.pem",
		  "invalid certificate \"/etc/../x.pem\": empty, \".\" or \"..\" path component");
	parse_err(S2S_BASE "--cert .. --key k.pem", "invalid certificate \"..\"");
	parse_err(S2S_BASE "--cert /etc/x/ --key k.pem", "invalid certificate \"/etc/x/\"");
	parse_err(S2S_BASE "--cert \"a b.pem\" --key k.pem",
		  "invalid certificate \"a b.pem\": use printable ASCII characters without spaces");
	parse_err("s2s add x --rdomain blue --peer 192.0.2.1 --local-id a --remote-id b "
		  "--psk " PSK,
		  "s2s add: missing --remote-prefix");

	/* NETMAP */
	parse_ok(S2S_BASE "--psk " PSK " --local-netmap 10.0.0.0/24=172.31.0.0/24 "
			  "--remote-netmap 192.168.50.0/25=172.30.0.0/25 "
			  "--remote-netmap 192.168.50.128/25=172.30.0.128/25",
		 &c);
	assert_int_equal(s->n_local_netmap, 1);
	assert_int_equal(s->n_remote_netmap, 2);
	assert_prefix(&s->local_netmap[0].real, "10.0.0.0/24");
	assert_prefix(&s->local_netmap[0].mapped, "172.31.0.0/24");
	assert_prefix(&s->remote_netmap[1].real, "192.168.50.128/25");
	assert_prefix(&s->remote_netmap[1].mapped, "172.30.0.128/25");
	parse_err(S2S_BASE "--psk " PSK " --local-netmap 10.0.0.0/24",
		  "invalid local netmap \"10.0.0.0/24\": expected REAL=MAPPED");
	parse_err(S2S_BASE "--psk " PSK " --local-netmap 10.0.0.0/24=172.31.0.0/16",
		  "invalid local netmap \"10.0.0.0/24=172.31.0.0/16\": the two prefixes differ in "
		  "length");
	parse_err(S2S_BASE "--psk " PSK " --local-netmap 10.0.0.0/24=172.31.0.1/24",
		  "invalid local netmap \"10.0.0.0/24=172.31.0.1/24\": host bits set");
	parse_err(S2S_BASE "--psk " PSK " --local-netmap fd00::/64=fd01::/64",
		  "NETMAP is IPv4 only (there is no NAT66)");
	parse_err(S2S_BASE "--psk " PSK " --local-netmap 10.0.0.0/16=10.0.0.0/16",
		  "the mapped prefix overlaps the real one");
	parse_err(S2S_BASE "--psk " PSK " --local-netmap 10.0.0.0/24=172.31.0.0/24 "
			   "--local-netmap 10.0.0.0/25=172.31.1.0/25",
		  "local netmap \"10.0.0.0/25=172.31.1.0/25\" overlaps local netmap "
		  "\"10.0.0.0/24=172.31.0.0/24\"");
	parse_err(S2S_BASE "--psk " PSK " --remote-netmap 192.168.51.0/24=172.30.0.0/24",
		  "its real prefix is not inside a --remote-prefix");
	parse_err(S2S_BASE "--psk " PSK " --remote-netmap 192.168.50.0/26=192.168.50.64/26",
		  "its mapped prefix overlaps a --remote-prefix");
}

/* Each weak algorithm family is refused, naming the algorithm. */
static void test_weak_crypto(void **state)
{
	(void)state;
	static const struct {
		const char *opt, *proposal, *want;
	} weak[] = {
		{"--ike-proposal", "des-sha256-modp2048",
		 "weak algorithm \"des\" in IKE proposal "
		 "\"des-sha256-modp2048\": DES"},
		{"--ike-proposal", "3des-sha256-modp2048", "weak algorithm \"3des\""},
		{"--esp-proposal", "3des-sha256", "weak algorithm \"3des\" in ESP proposal"},
		{"--esp-proposal", "null-sha256", "weak algorithm \"null\""},
		{"--ike-proposal", "aes256-md5-modp2048", "weak algorithm \"md5\""},
		{"--esp-proposal", "aes128-md5_128", "weak algorithm \"md5_128\""},
		{"--ike-proposal", "aes256-sha256-prfmd5-modp2048", "weak algorithm \"prfmd5\""},
		{"--ike-proposal", "aes256-sha1-modp2048",
		 "weak algorithm \"sha1\" in IKE proposal "
		 "\"aes256-sha1-modp2048\": SHA-1 is "
		 "refused"},
		{"--esp-proposal", "aes256-sha",
		 "weak algorithm \"sha\" in ESP proposal "
		 "\"aes256-sha\": SHA-1 is refused"},
		{"--ike-proposal", "aes256gcm16-prfsha1-ecp384", "weak algorithm \"prfsha1\""},
		{"--ike-proposal", "AES256-SHA256-MODP768", "weak algorithm \"modp768\""},
		{"--ike-proposal", "aes256-sha256-modp1024",
		 "weak algorithm \"modp1024\" in IKE proposal "
		 "\"aes256-sha256-modp1024\": MODP 1024 "
		 "(DH group 2) is refused"},
		{"--ike-proposal", "aes256-sha256-modp1536", "weak algorithm \"modp1536\""},
		{"--esp-proposal", "aes256-sha256-modp1024", "weak algorithm \"modp1024\" in ESP"},
		{"--ike-proposal", "aes256-sha256-modp1024s160", "weak algorithm \"modp1024s160\""},
		{"--ike-proposal", "aes256-sha256-ecp192", "weak algorithm \"ecp192\""},
		{"--ike-proposal", "aes256-sha256-dh1", "weak algorithm \"dh1\""},
		{"--ike-proposal", "aes256-sha256-group2",
		 "weak algorithm \"group2\" in IKE proposal "
		 "\"aes256-sha256-group2\": DH group 2 "
		 "(modp1024) is refused"},
		{"--ike-proposal", "aes256-sha256-dhgroup5", "DH group 5 (modp1536) is refused"},
	};
	char line[1024];
	for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++) {
		snprintf(line, sizeof(line), S2S_BASE "--psk " PSK " %s %s", weak[i].opt,
			 weak[i].proposal);
		parse_err(line, weak[i].want);
	}
	static const struct {
		const char *opt, *proposal, *want;
	} bad[] = {
		{"--ike-proposal", "aes256-sha256-dh14", "write DH group 14 as \"modp2048\""},
		{"--ike-proposal", "aes256-sha256", "no DH group"},
		{"--ike-proposal", "aes256gcm16-ecp384", "an AEAD IKE proposal needs a PRF"},
		{"--ike-proposal", "aes256-modp2048", "no integrity algorithm"},
		{"--ike-proposal", "sha256-modp2048", "no encryption algorithm"},
		{"--ike-proposal", "aes256-aes256gcm16-sha256-prfsha256-modp2048",
		 "AEAD and non-AEAD encryption cannot share a proposal"},
		{"--esp-proposal", "aes256gcm16-sha256", "an AEAD algorithm takes no integrity"},
		{"--esp-proposal", "aes256-sha256-prfsha256", "a PRF belongs to IKE proposals"},
		{"--ike-proposal", "aes256-sha256-modp2048-esn", "esn and noesn belong to ESP"},
		{"--ike-proposal", "aes256-sha256-modp2049", "unknown algorithm \"modp2049\""},
		{"--ike-proposal", "aes256--sha256-modp2048", "empty algorithm between '-'"},
		{"--ike-proposal", "aes256-sha256-modp2048-", "ends with '-'"},
		{"--ike-proposal", "aes256-sha256-modp2048,aes128-sha256-modp2048",
		 "one proposal of algorithm keywords joined by '-'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), S2S_BASE "--psk " PSK " %s %s", bad[i].opt,
			 bad[i].proposal);
		parse_err(line, bad[i].want);
	}
	/* strong proposals pass */
	struct hnv_conf_cmd c;
	parse_ok(S2S_BASE "--psk " PSK " --ike-proposal aes256-sha256-modp2048 "
			  "--ike-proposal aes128gcm16-prfsha256-curve25519 --ike-proposal "
			  "aes256gcm16-prfsha512-modp4096-ecp521 --esp-proposal aes256gcm16 "
			  "--esp-proposal aes128-sha256-modp3072-noesn",
		 &c);
	/* at most 8 proposals of a kind, at most 255 characters together */
	char many[2048];
	snprintf(many, sizeof(many), S2S_BASE "--psk " PSK);
	for (int i = 0; i < 9; i++)
		strcat(many, " --esp-proposal aes256gcm16");
	parse_err(many, "too many --esp-proposal (at most 8)");
	snprintf(many, sizeof(many), S2S_BASE "--psk " PSK);
	for (int i = 0; i < 8; i++)
		strcat(many, " --ike-proposal aes256gcm16-aes192gcm16-prfsha384-ecp384");
	parse_err(many, "IKE proposals longer than 255 characters together");
}

/* No message may contain the PSK or a piece of it. */
static void assert_no_secret(const char *err, const char *line)
{
	static const char *const pieces[] = {PSK,      "secret-Psk", "4711", "Zq8",
					     "Hidden", "Words",      "Pass"};
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
		if (strstr(err, pieces[i]) != NULL)
			fail_msg("\"%s\": error \"%s\" shows \"%s\"", line, err, pieces[i]);
}

static void test_psk_never_in_errors(void **state)
{
	(void)state;
	static const char *const lines[] = {
		S2S_BASE "--psk " PSK " --peer 192.0.2.1",
		S2S_BASE "--psk " PSK " --psk " PSK,
		S2S_BASE "--psk " PSK " --bogus x",
		S2S_BASE "--psk " PSK " stray",
		S2S_BASE "--psk Hidden Pass Words 1234567890",
		S2S_BASE "--psk \"Hidden Pass Words\"",
		S2S_BASE "--psk \"Hidden\\x Pass Words 1234567890\"",
		S2S_BASE "--psk \"Hidden Pass Words 1234567890\"x",
		S2S_BASE "--psk \"Hidden Pass Words 1234567890",
		S2S_BASE "--psk \"Hidden Pass Words \xc3\xa9 1234567890\"",
		S2S_BASE "--psk Hidden\"PassWords1234567890",
		S2S_BASE "--psk --Hidden-Pass-Words-1234567890",
		S2S_BASE "--psk " PSK " --ike-proposal 3des-sha1-modp1024",
		S2S_BASE "--psk " PSK " --cert " PSK,
		S2S_BASE "--psk " PSK " --dpd " PSK,
		"s2s add " PSK " --psk " PSK,
		"s2s add site1 --psk " PSK " --psk",
	};
	char err[512];
	struct hnv_conf_cmd c;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		err[0] = '\0';
		if (hnv_conf_parse_line(lines[i], &c, err, sizeof(err)) != -EINVAL)
			fail_msg("\"%s\" accepted", lines[i]);
		assert_true(err[0] != '\0');
		assert_no_secret(err, lines[i]);
		/* and through parse_text, with the line prefix */
		struct hnv_conf_cmd *cmds = NULL;
		size_t n;
		err[0] = '\0';
		assert_int_equal(hnv_conf_parse_text(lines[i], strlen(lines[i]), &cmds, &n, err,
						     sizeof(err)),
				 -EINVAL);
		assert_no_secret(err, lines[i]);
	}
	/* messages name positions instead */
	parse_err(S2S_BASE "--psk Hidden Pass Words 1234567890",
		  "s2s add: unexpected value at word 16 (a value with spaces needs quotes)");
	parse_err(S2S_BASE "--psk " PSK " --bogus x",
		  "s2s add: unknown option at word 16 (options: --rdomain --peer");
	parse_err(S2S_BASE "--psk " PSK " --dpd " PSK,
		  "s2s add: invalid value (not shown: it contains the PSK)");
	parse_err(S2S_BASE "--psk " PSK " --local-addr secret-Psk-4711",
		  "s2s add: invalid value (not shown: it contains the PSK)");
}

static void test_format_round_trip(void **state)
{
	(void)state;
	/* input, canonical form */
	static const struct {
		const char *in, *canon;
	} t[] = {
		{"rdomain add blue --rdid 11111111-2222-3333-4444-000000005001",
		 "rdomain add blue --rdid " GUID_BLUE},
		{"rdomain del blue", "rdomain del blue"},
		{"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24 --prefix 2001:DB8:1::/64",
		 "vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24 --prefix 2001:db8:1::/64"},
		{"vsubnet del 5001", "vsubnet del 5001"},
		{"pa add 192.168.4.11/24 --dev eth0", "pa add 192.168.4.11/24 --dev eth0"},
		{"pa del 2001:db8:0::11", "pa del 2001:db8::11"},
		{"port add blue1 --vsid 5001 --ca 10.0.0.5 --ca 2001:db8:1::5 --mac "
		 "06-06-00-00-00-05",
		 "port add blue1 --vsid 5001 --ca 10.0.0.5 --ca 2001:db8:1::5 --mac "
		 "06:06:00:00:00:05"},
		{"port del blue1", "port del blue1"},
		{"port add ct1 --dev veth-ct1 --vsid 5001 --ca 10.0.0.6 --mac 060600000006",
		 "port add ct1 --vsid 5001 --ca 10.0.0.6 --mac 06:06:00:00:00:06 --dev veth-ct1"},
		{"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005",
		 "lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 06:06:00:00:00:05 "
		 "--rule encap --type static"},
		{"lookup set --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005 --rule "
		 "TranslationMethodNat --use-vm-mac --type Dynamic --vm-name Blue1 --customer-id "
		 "11111111-2222-3333-4444-00000000abcd --context \"say \\\"hi\\\" # \\\\ now\"",
		 "lookup set --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 06:06:00:00:00:05 "
		 "--rule nat --type dynamic --vm-name Blue1 --customer-id "
		 "{11111111-2222-3333-4444-00000000ABCD} --context \"say \\\"hi\\\" # \\\\ now\" "
		 "--use-vm-mac"},
		{"lookup add --vsid 5001 --ca :: --pa 192.168.4.1 --mac 00155d000001 --type "
		 "gateway-wildcard --context --x",
		 NULL},
		{"lookup add --vsid 5001 --ca :: --pa 192.168.4.1 --mac 00155d000001 --type "
		 "gateway-wildcard --context \"--x\" --rule none",
		 "lookup add --vsid 5001 --ca :: --pa 192.168.4.1 --mac 00:15:5d:00:00:01 --rule "
		 "none "
		 "--type gateway-wildcard --context \"--x\""},
		{"lookup add --vsid 5001 --ca 0.0.0.0 --pa 192.168.4.1 --mac 00155d000001 --type "
		 "l2only --context back\\slash",
		 "lookup add --vsid 5001 --ca 0.0.0.0 --pa 192.168.4.1 --mac 00:15:5d:00:00:01 "
		 "--rule encap --type l2only --context back\\slash"},
		{"lookup del --vsid 5001 --ca 10.0.0.5 --mac 060600000005",
		 "lookup del --vsid 5001 --ca 10.0.0.5 --mac 06:06:00:00:00:05"},
		{"route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0",
		 "route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0 "
		 "--metric 255"},
		{"route del --rdomain blue --prefix 10.0.0.0/24 --nexthop 0.0.0.0",
		 "route del --rdomain blue --prefix 10.0.0.0/24 --nexthop 0.0.0.0"},
		{"global set --uplink-mtu 9000 --flowid off --gateway-mac 02155d000002 "
		 "--use-external-router on",
		 "global set --gateway-mac 02:15:5d:00:00:02 --flowid off --uplink-mtu 9000 "
		 "--use-external-router on"},
		{"global set --flowid on", "global set --flowid on"},
		{"proute add --prefix 0.0.0.0/0 --nexthop 192.168.4.1 --dev eth0",
		 "proute add --prefix 0.0.0.0/0 --nexthop 192.168.4.1 --dev eth0 --metric 0"},
		{"proute del --prefix ::/0 --nexthop fe80::1",
		 "proute del --prefix ::/0 --nexthop fe80::1"},
		{"gateway add --table 1001 --vrf vrf-blue --rdomain blue --nat-external "
		 "198.51.100.7 "
		 "--corp-dev eth2",
		 "gateway add --rdomain blue --vrf vrf-blue --table 1001 --corp-dev eth2 "
		 "--nat-external 198.51.100.7"},
		{"gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.2",
		 "gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.2"},
		{"gateway ca-del --rdomain blue --vsid 5001 --ca 10.0.0.2",
		 "gateway ca-del --rdomain blue --vsid 5001 --ca 10.0.0.2"},
		{"gateway del --rdomain blue", "gateway del --rdomain blue"},
		{"gateway add --table 1001 --pool edge --vrf vrf-blue --rdomain blue --corp-dev "
		 "eth2",
		 "gateway add --rdomain blue --pool edge --vrf vrf-blue --table 1001 --corp-dev "
		 "eth2"},
		{"gateway ca --vsid 5001 --ca 10.0.0.2 --rdomain blue --pool edge",
		 "gateway ca --rdomain blue --pool edge --vsid 5001 --ca 10.0.0.2"},
		{"gateway ca-del --rdomain blue --pool edge --vsid 5001 --ca 10.0.0.2",
		 "gateway ca-del --rdomain blue --pool edge --vsid 5001 --ca 10.0.0.2"},
		{"gateway del --pool edge --rdomain blue",
		 "gateway del --rdomain blue --pool edge"},
		{"gateway move blue --to g-2", "gateway move blue --to g-2"},
		{"gre add hq --rdomain blue --local 198.51.100.1 --remote 198.51.100.2 --addr "
		 "172.30.0.1/30 --remote-prefix 192.168.0.0/16",
		 "gre add hq --rdomain blue --local 198.51.100.1 --remote 198.51.100.2 --addr "
		 "172.30.0.1/30 --remote-prefix 192.168.0.0/16"},
		{"gre del hq", "gre del hq"},
		{"l3 add corp --rdomain red --dev eth2 --vlan 100 --addr 172.31.5.1/24 --nexthop "
		 "172.31.5.254",
		 "l3 add corp --rdomain red --dev eth2 --vlan 100 --addr 172.31.5.1/24 --nexthop "
		 "172.31.5.254"},
		{"l3 del corp", "l3 del corp"},
		{"bgp-peer add corp --asn 65002 --rdomain blue --addr 172.31.1.6 --prefix-in "
		 "172.16.0.0/16",
		 "bgp-peer add corp --rdomain blue --addr 172.31.1.6 --asn 65002 --prefix-in "
		 "172.16.0.0/16"},
		{"bgp-peer del corp", "bgp-peer del corp"},
		{S2S_BASE "--psk " PSK,
		 "s2s add site1 --rdomain blue --peer 203.0.113.9 --local-id gw.example "
		 "--remote-id "
		 "site1.example --psk " PSK " --ike-proposal aes256gcm16-prfsha384-ecp384 "
		 "--esp-proposal aes256gcm16-ecp384 --remote-prefix 192.168.50.0/24 --dpd 30"},
		{"s2s add t2 --dpd 10 --rdomain red --peer 2001:db8:ff::9 --local-addr "
		 "2001:db8::11 "
		 "--local-id \"C=CH, O=Example, CN=gw\" --remote-id site2@example.org "
		 "--key /etc/swanctl/private/gw.key --cert gw.pem --ike-proposal "
		 "AES256-SHA256-MODP3072 --esp-proposal aes256-sha256 --esp-proposal "
		 "chacha20poly1305-x25519-esn --remote-prefix 10.50.0.0/16",
		 "s2s add t2 --rdomain red --peer 2001:db8:ff::9 --local-addr 2001:db8::11 "
		 "--local-id \"C=CH, O=Example, CN=gw\" --remote-id site2@example.org --cert "
		 "gw.pem "
		 "--key /etc/swanctl/private/gw.key --ike-proposal aes256-sha256-modp3072 "
		 "--esp-proposal aes256-sha256 --esp-proposal chacha20poly1305-x25519-esn "
		 "--remote-prefix 10.50.0.0/16 --dpd 10"},
		{S2S_BASE "--psk \"with space \\\" quote # hash \\\\ and --dash\"",
		 "s2s add site1 --rdomain blue --peer 203.0.113.9 --local-id gw.example "
		 "--remote-id "
		 "site1.example --psk \"with space \\\" quote # hash \\\\ and --dash\" "
		 "--ike-proposal aes256gcm16-prfsha384-ecp384 --esp-proposal aes256gcm16-ecp384 "
		 "--remote-prefix 192.168.50.0/24 --dpd 30"},
		{"s2s add t3 --rdomain red --peer 203.0.113.7 --local-id gw.example --remote-id "
		 "site3.example --ca-cert ca.pem --key gw.key --cert gw.pem --remote-prefix "
		 "10.60.0.0/16",
		 "s2s add t3 --rdomain red --peer 203.0.113.7 --local-id gw.example --remote-id "
		 "site3.example --cert gw.pem --key gw.key --ca-cert ca.pem "
		 "--ike-proposal aes256gcm16-prfsha384-ecp384 --esp-proposal aes256gcm16-ecp384 "
		 "--remote-prefix 10.60.0.0/16 --dpd 30"},
		{"s2s add t4 --remote-netmap 10.70.0.0/16=172.30.0.0/16 --rdomain red --peer "
		 "203.0.113.7 --local-netmap 10.0.0.0/24=172.31.0.0/24 --local-id a --remote-id b "
		 "--psk " PSK " --remote-prefix 10.70.0.0/16",
		 "s2s add t4 --rdomain red --peer 203.0.113.7 --local-id a --remote-id b --psk " PSK
		 " --ike-proposal aes256gcm16-prfsha384-ecp384 --esp-proposal "
		 "aes256gcm16-ecp384 --remote-prefix 10.70.0.0/16 --dpd 30 --local-netmap "
		 "10.0.0.0/24=172.31.0.0/24 --remote-netmap 10.70.0.0/16=172.30.0.0/16"},
		{"s2s del site1", "s2s del site1"},
		/* names may look like options when quoted: they stay quoted */
		{"pa add 192.168.4.11/24 --dev \"--cert0\"",
		 "pa add 192.168.4.11/24 --dev \"--cert0\""},
		{"rdomain add \"--x\" --rdid " GUID_BLUE, "rdomain add \"--x\" --rdid " GUID_BLUE},
		{"port del \"--p\"", "port del \"--p\""},
		{"gateway add --rdomain \"--r\" --vrf \"--v\" --table 9 --corp-dev \"--c\"",
		 "gateway add --rdomain \"--r\" --vrf \"--v\" --table 9 --corp-dev \"--c\""},
		{"pool add aaa --vsid 5001 --range 10.10.1.100-10.10.1.130",
		 "pool add aaa --vsid 5001 --range 10.10.1.100-10.10.1.130 --lease 86400"},
		{"pool add aaa --lease 600 --dns 10.10.0.53,8.8.8.8 --range "
		 "10.10.1.100-10.10.1.100 "
		 "--vsid 5001",
		 "pool add aaa --vsid 5001 --range 10.10.1.100-10.10.1.100 --dns "
		 "10.10.0.53,8.8.8.8 "
		 "--lease 600"},
		{"pool del aaa", "pool del aaa"},
		/* without --ca and --mac (hnvgwd's model fills them in) */
		{"port add test01 --vsid 5001", "port add test01 --vsid 5001"},
		{"port move \"test01\" --to h2", "port move test01 --to h2"},
	};
	char buf[4200], err[512];
	bool kinds[HNV_CONF_GATEWAY_MOVE + 1] = {false};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct hnv_conf_cmd a, b;
		if (t[i].canon == NULL) {
			/* a value that looks like an option must be quoted */
			assert_int_equal(hnv_conf_parse_line(t[i].in, &a, err, sizeof(err)),
					 -EINVAL);
			continue;
		}
		parse_ok(t[i].in, &a);
		kinds[a.kind] = true;
		assert_int_equal(hnv_conf_format(&a, true, buf, sizeof(buf)), 0);
		if (strcmp(buf, t[i].canon) != 0)
			fail_msg("format of \"%s\":\n  got  \"%s\"\n  want \"%s\"", t[i].in, buf,
				 t[i].canon);
		parse_ok(buf, &b);
		if (memcmp(&a, &b, sizeof(a)) != 0)
			fail_msg("\"%s\" does not parse back to the same command", buf);
	}
	for (int k = 0; k <= HNV_CONF_GATEWAY_MOVE; k++)
		if (!kinds[k])
			fail_msg("command kind %d has no round-trip case", k);

	/* masked: <secret>, which parses to a refusal naming the masking */
	struct hnv_conf_cmd a;
	parse_ok(S2S_BASE "--psk " PSK, &a);
	assert_int_equal(hnv_conf_format(&a, false, buf, sizeof(buf)), 0);
	assert_null(strstr(buf, PSK));
	assert_non_null(strstr(buf, " --psk <secret> "));
	parse_err(buf, "the PSK is masked as <secret>");

	/* too small a buffer: -ENOSPC and nothing of the PSK left in it */
	char small[120];
	assert_int_equal(hnv_conf_format(&a, true, small, sizeof(small)), -ENOSPC);
	assert_null(memmem(small, sizeof(small), "Zq8", 3));
	assert_int_equal(hnv_conf_format(&a, true, buf, 0), -EINVAL);
	assert_int_equal(hnv_conf_format(NULL, true, buf, sizeof(buf)), -EINVAL);
	struct hnv_conf_cmd bogus = a;
	bogus.kind = (enum hnv_conf_kind)99;
	assert_int_equal(hnv_conf_format(&bogus, true, buf, sizeof(buf)), -EINVAL);
	memset(bogus.u.s2s.rdomain, 'x', sizeof(bogus.u.s2s.rdomain));
	bogus.kind = HNV_CONF_S2S_ADD;
	assert_int_equal(hnv_conf_format(&bogus, true, buf, sizeof(buf)), -EINVAL);
	explicit_bzero(&a, sizeof(a));
	explicit_bzero(&bogus, sizeof(bogus));
}

/* The longest s2s command still formats into one valid line. */
static void test_format_longest_s2s(void **state)
{
	(void)state;
	char *line = malloc(8192), name[64], id[256], psk[256];
	assert_non_null(line);
	memset(name, 'n', 63);
	name[63] = '\0';
	memset(id, 'i', 255);
	id[0] = 'C';
	id[5] = ' ';
	id[255] = '\0';
	/* 255 characters that all need escaping in quotes */
	for (int i = 0; i < 255; i++)
		psk[i] = i % 2 ? '"' : '\\';
	psk[255] = '\0';
	char qpsk[600];
	size_t o = 0;
	qpsk[o++] = '"';
	for (int i = 0; i < 255; i++) {
		qpsk[o++] = '\\';
		qpsk[o++] = psk[i];
	}
	qpsk[o++] = '"';
	qpsk[o] = '\0';
	int n = snprintf(line, 8192,
			 "s2s add %s --rdomain %s --peer 2001:db8:1111:2222:3333:4444:5555:6666 "
			 "--local-addr 2001:db8:1111:2222:3333:4444:5555:7777 --local-id \"%s\" "
			 "--remote-id \"%s\" --psk %s",
			 name, name, id, id, qpsk);
	for (int i = 0; i < 4; i++)
		n += snprintf(line + n, 8192 - (size_t)n,
			      " --ike-proposal aes256gcm16-aes192gcm16-prfsha512-prfsha384-"
			      "curve25519");
	for (int i = 0; i < 4; i++)
		n += snprintf(line + n, 8192 - (size_t)n,
			      " --esp-proposal aes256gcm16-aes192gcm16-chacha20poly1305-x25519");
	for (int i = 0; i < 15; i++)
		n += snprintf(line + n, 8192 - (size_t)n,
			      " --remote-prefix 2001:db8:1111:2222:3333:%x::/96", 0x4000 + i);
	n += snprintf(line + n, 8192 - (size_t)n, " --remote-prefix 100.65.0.0/16");
	n += snprintf(line + n, 8192 - (size_t)n, " --dpd 3600");
	for (int i = 0; i < 4; i++)
		n += snprintf(line + n, 8192 - (size_t)n,
			      " --local-netmap 100.64.%d.0/24=192.168.%d.0/24 --remote-netmap "
			      "100.65.%d.0/24=198.18.%d.0/24",
			      100 + i, 200 + i, 100 + i, 200 + i);
	assert_true(n < 4096);
	struct hnv_conf_cmd a, b;
	parse_ok(line, &a);
	char buf[4097];
	assert_int_equal(hnv_conf_format(&a, true, buf, sizeof(buf)), 0);
	parse_ok(buf, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	explicit_bzero(line, 8192);
	free(line);
}

#define GW_BASE                                                                                    \
	"rdomain add blue --rdid 11111111-2222-3333-4444-000000005001\n"                           \
	"rdomain add red --rdid 11111111-2222-3333-4444-000000006001\n"                            \
	"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24 --prefix 2001:db8:1::/64\n"          \
	"vsubnet add 6001 --rdomain red --prefix 10.0.0.0/24\n"                                    \
	"gateway add --rdomain blue --vrf vrf-blue --table 1001\n"

static void test_apply_gateway_s2s(void **state)
{
	struct applied *a = *state;
	apply_ok(a->dp,
		 GW_BASE "gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.2\n"
			 "gateway ca --rdomain blue --vsid 5001 --ca 2001:db8:1::2\n"
			 "gateway add --rdomain red --vrf vrf-red --table 1002 --corp-dev eth2\n"
			 "gateway ca --rdomain red --vsid 6001 --ca 10.0.0.2\n"
			 "proute add --prefix 0.0.0.0/0 --nexthop 192.168.4.1 --dev eth0\n"
			 "proute add --prefix 0.0.0.0/0 --nexthop 192.168.4.2 --dev eth0\n"
			 "proute del --prefix 0.0.0.0/0 --nexthop 192.168.4.2\n"
			 "global set --use-external-router off\n" S2S_BASE "--psk " PSK "\n"
			 "s2s add site2 --rdomain blue --peer 203.0.113.9 --local-id gw.example "
			 "--remote-id site2.example --remote-prefix 192.168.51.0/24 --psk " PSK "\n"
			 "s2s del site2\n"
			 "gateway ca-del --rdomain red --vsid 6001 --ca 10.0.0.2\n"
			 "vsubnet del 6001\n"
			 "gateway del --rdomain red\n"
			 "rdomain del red\n");
	/* the datapath saw none of it */
	struct hnv_policy_stats st;
	hnv_policy_stats(hnv_dp_policy(a->dp), &st);
	assert_int_equal(st.n_rdomains, 1);
	assert_int_equal(st.n_vsubnets, 1);
}

static void test_apply_gateway_s2s_errors(void **state)
{
	struct applied *a = *state;
	static const struct {
		const char *extra;
		int rc;
		const char *want;
	} t[] = {
		{"gateway add --rdomain green --vrf vrf-g --table 7\n", -ENOENT,
		 "line 6: gateway add: routing domain \"green\" not found"},
		{"gateway add --rdomain blue --vrf vrf-x --table 7\n", -EEXIST,
		 "routing domain \"blue\" already has a gateway (VRF vrf-blue)"},
		{"gateway add --rdomain red --vrf vrf-blue --table 7\n", -EEXIST,
		 "VRF vrf-blue already exists (gateway of routing domain \"blue\")"},
		{"gateway add --rdomain red --vrf vrf-red --table 1001\n", -EEXIST,
		 "table 1001 already exists (VRF vrf-blue of routing domain \"blue\")"},
		{"gateway ca --rdomain red --vsid 6001 --ca 10.0.0.2\n", -ENOENT,
		 "routing domain \"red\" has no gateway (gateway add --rdomain red first)"},
		{"gateway ca --rdomain blue --vsid 6001 --ca 10.0.0.2\n", -EXDEV,
		 "VSID 6001 belongs to routing domain \"red\", not \"blue\""},
		{"gateway ca --rdomain blue --vsid 7001 --ca 10.0.0.2\n", -ENOENT,
		 "VSID 7001 is not configured"},
		{"gateway ca --rdomain blue --vsid 5001 --ca 10.0.1.2\n", -EINVAL,
		 "gateway ca: CA 10.0.1.2 is outside the prefixes of VSID 5001"},
		{"gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.1\n", -EINVAL,
		 "gateway ca: CA 10.0.0.1 is the default gateway of VSID 5001 (10.0.0.0/24)"},
		{"gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.2\n"
		 "gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.3\n",
		 -EEXIST, "already exists in VSID 5001 with CA 10.0.0.2 (one per address family)"},
		{"gateway ca-del --rdomain blue --vsid 5001 --ca 10.0.0.2\n", -ENOENT,
		 "gateway ca-del: the gateway of routing domain \"blue\" has no CA 10.0.0.2 in "
		 "VSID "
		 "5001"},
		{"gateway del --rdomain red\n", -ENOENT, "routing domain \"red\" has no gateway"},
		{S2S_BASE "--rdomain red --psk " PSK "\n", -EINVAL,
		 "--rdomain given more than once"},
		{"s2s add t --rdomain red --peer 192.0.2.1 --local-id a --remote-id b "
		 "--remote-prefix 10.9.0.0/16 --psk " PSK "\n",
		 -ENOENT, "s2s add: tunnel \"t\": routing domain \"red\" has no gateway"},
		{"s2s add t --rdomain nope --peer 192.0.2.1 --local-id a --remote-id b "
		 "--remote-prefix 10.9.0.0/16 --psk " PSK "\n",
		 -ENOENT, "s2s add: routing domain \"nope\" not found"},
		{S2S_BASE "--psk " PSK "\n" S2S_BASE "--psk " PSK "\n", -EEXIST,
		 "line 7: s2s add: tunnel \"site1\" already exists"},
		{S2S_BASE "--psk " PSK "\n"
			  "s2s add site2 --rdomain blue --peer 203.0.113.9 --local-id gw.example "
			  "--remote-id site1.example --remote-prefix 10.9.0.0/16 --psk " PSK "\n",
		 -EEXIST,
		 "line 7: s2s add: tunnel \"site2\" has the peer 203.0.113.9 and the identities of "
		 "tunnel \"site1\" (local-id \"gw.example\", remote-id \"site1.example\")"},
		{"s2s del site9\n", -ENOENT, "s2s del: tunnel \"site9\" not found"},
		{"proute add --prefix 0.0.0.0/0 --nexthop 192.168.4.1 --dev eth0\n"
		 "proute add --prefix 0.0.0.0/0 --nexthop 192.168.4.1 --dev eth1\n",
		 -EEXIST, "proute add: provider route 0.0.0.0/0 via 192.168.4.1 already exists"},
		{"proute del --prefix 0.0.0.0/0 --nexthop 192.168.4.1\n", -ENOENT,
		 "proute del: no provider route 0.0.0.0/0 via 192.168.4.1"},
		{"rdomain del blue\n", -EBUSY,
		 "rdomain del: rdomain \"blue\" is in use by its gateway (gateway del first)"},
		{"gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.2\nvsubnet del 5001\n", -EBUSY,
		 "vsubnet del: VSID 5001 is in use by the gateway of routing domain \"blue\""},
		{S2S_BASE "--psk " PSK "\ngateway del --rdomain blue\n", -EBUSY,
		 "gateway del: the gateway of routing domain \"blue\" is in use by s2s \"site1\""},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct hnv_dp *dp = hnv_dp_new();
		assert_non_null(dp);
		char text[2048], err[512] = "";
		snprintf(text, sizeof(text), "%s%s", GW_BASE, t[i].extra);
		struct hnv_conf_cmd *cmds;
		size_t n;
		int rc = hnv_conf_parse_text(text, strlen(text), &cmds, &n, err, sizeof(err));
		if (rc == 0) {
			rc = hnv_conf_apply(dp, cmds, n, err, sizeof(err));
			hnv_conf_cmds_free(cmds, n);
		}
		if (rc != t[i].rc || strstr(err, t[i].want) == NULL)
			fail_msg("case %zu: rc %d, error \"%s\"; want rc %d, \"%s\"", i, rc, err,
				 t[i].rc, t[i].want);
		assert_no_secret(err, t[i].extra);
		hnv_dp_free(dp);
	}
	(void)a;
	/* gateway del takes its CAs along: the VSID is free again */
	apply_ok(a->dp, GW_BASE "gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.2\n"
				"gateway del --rdomain blue\nvsubnet del 5001\n");
}

/* The batch API applies one command at a time with the same checks. */
/* Pools: placement checks, DHCP options in the datapath, and the lookup
 * records made and removed with ports. What a batch remembers (pools, the
 * ports' records) lives for one hnv_conf_apply: every case is one text. */
#define POOLS_BASE                                                                                 \
	"pa add 192.168.4.11/24 --dev eth0\n"                                                      \
	"rdomain add AAA --rdid {AAAAAAAA-0000-0000-0000-000000005001}\n"                          \
	"rdomain add BBB --rdid {BBBBBBBB-0000-0000-0000-000000006001}\n"                          \
	"vsubnet add 5001 --rdomain AAA --prefix 10.10.0.0/16\n"                                   \
	"vsubnet add 6001 --rdomain BBB --prefix 10.10.0.0/16\n"                                   \
	"pool add aaa --vsid 5001 --range 10.10.1.100-10.10.1.130 --dns 10.10.0.53\n"              \
	"pool add bbb --vsid 6001 --range 10.10.1.100-10.10.1.130\n"

/* POOLS_BASE then text, on a fresh datapath, fails with want. */
static void pools_err(const char *text, int want_rc, const char *want)
{
	struct hnv_dp *dp = hnv_dp_new();
	assert_non_null(dp);
	char buf[2048];
	snprintf(buf, sizeof(buf), "%s%s", POOLS_BASE, text);
	apply_err(dp, buf, want_rc, want);
	hnv_dp_free(dp);
}

static void test_apply_pools(void **state)
{
	struct applied *a = *state;
	struct hnv_policy *p = hnv_dp_policy(a->dp);

	pools_err("pool add x --vsid 5001 --range 10.10.1.130-10.10.1.140\n", -EEXIST,
		  "line 8: pool add: range 10.10.1.130-10.10.1.140 of pool \"x\" overlaps pool "
		  "\"aaa\" (10.10.1.100-10.10.1.130) of VSID 5001");
	pools_err("pool add aaa --vsid 6001 --range 10.10.2.1-10.10.2.9\n", -EEXIST,
		  "pool add: pool \"aaa\" already exists");
	pools_err("pool add x --vsid 5001 --range 10.10.0.1-10.10.0.9\n", -EINVAL,
		  "holds 10.10.0.1, the default gateway of VSID 5001 (10.10.0.0/16)");
	pools_err("pool add x --vsid 5001 --range 10.10.0.2-10.10.0.9\n", -EINVAL,
		  "holds 10.10.0.2, the DHCP server identifier of VSID 5001 (10.10.0.0/16)");
	pools_err("pool add x --vsid 5001 --range 10.10.255.200-10.10.255.255\n", -EINVAL,
		  "holds 10.10.255.255, the broadcast address of VSID 5001");
	pools_err("pool add x --vsid 5001 --range 10.9.255.250-10.10.0.20\n", -EINVAL,
		  "of pool \"x\" is not inside one prefix of VSID 5001 (10.10.0.0/16)");
	pools_err("pool add x --vsid 7001 --range 10.10.1.1-10.10.1.9\n", -ENOENT,
		  "pool add: pool \"x\": VSID 7001 is not configured: a pool needs a VM subnet");
	pools_err(
		"port add vm9 --vsid 5001 --ca 10.10.0.2 --mac 0a0000000009\n", -EINVAL,
		"port add: CA 10.10.0.2 is reserved as the DHCP server identifier of VSID 5001 (it "
		"has pool \"aaa\")");
	pools_err("port add vm9 --vsid 5001\n", -EINVAL,
		  "port add: port \"vm9\" needs --ca and --mac here");
	pools_err("vsubnet del 5001\n", -EBUSY,
		  "vsubnet del: VSID 5001 is in use by pool \"aaa\" (pool del first)");
	pools_err("pool del nope\n", -ENOENT, "pool del: pool \"nope\" not found");
	/* two ports of one VSID cannot share a CA; two routing domains can */
	pools_err("port add test01 --vsid 5001 --ca 10.10.1.100 --mac 0a9a0a0a0164\n"
		  "port add test02 --vsid 6001 --ca 10.10.1.100 --mac 0a9a0a0a0165\n"
		  "port add test09 --vsid 5001 --ca 10.10.1.100 --mac 0a9a0a0a0169\n",
		  -EEXIST,
		  "line 10: port add: CA 10.10.1.100 of port \"test09\" is already the address of "
		  "port \"test01\" in VSID 5001");

	apply_ok(a->dp, POOLS_BASE
		 "port add test01 --vsid 5001 --ca 10.10.1.100 --mac 0a9a0a0a0164\n"
		 "port add test02 --vsid 6001 --ca 10.10.1.100 --mac 0a9a0a0a0165\n"
		 "port add test03 --vsid 6001 --ca 10.10.1.101 --mac 0a9a0a0a0166\n"
		 /* an explicit record replaces the port's */
		 "lookup add --vsid 6001 --ca 10.10.1.100 --pa 192.168.4.11 --mac 0a9a0a0a0165 "
		 "--vm-name explicit\n"
		 /* the port's record goes with it; the explicit one stays */
		 "port del test02\n"
		 "pool del bbb\n");
	const struct hnv_vsubnet *vs = hnv_policy_vsubnet(p, 5001);
	assert_non_null(vs);
	assert_non_null(vs->dhcp);
	assert_int_equal(vs->dhcp->n_pools, 1);
	assert_ip(&vs->dhcp->pools[0].first, "10.10.1.100");
	assert_ip(&vs->dhcp->pools[0].last, "10.10.1.130");
	assert_int_equal(vs->dhcp->pools[0].n_dns, 1);
	assert_ip(&vs->dhcp->pools[0].dns[0], "10.10.0.53");
	assert_int_equal(vs->dhcp->pools[0].lease, 86400);
	assert_null(hnv_policy_vsubnet(p, 6001)->dhcp); /* its pool is gone */

	struct hnv_ip ca = ip4(10, 10, 1, 100), ca3 = ip4(10, 10, 1, 101);
	const struct hnv_rec *r = hnv_policy_rec_by_ca(p, hnv_hash_ca(5001, &ca), 5001, &ca);
	assert_non_null(r);
	assert_ip(&r->pa, "192.168.4.11");
	assert_mac(&r->mac, 0x0a, 0x9a, 0x0a, 0x0a, 0x01, 0x64);
	assert_int_equal(r->rule, HNV_RULE_ENCAP);
	assert_int_equal(r->type, HNV_TYPE_STATIC);
	assert_non_null(hnv_policy_rec_by_ca(p, hnv_hash_ca(6001, &ca), 6001, &ca));
	assert_non_null(hnv_policy_rec_by_ca(p, hnv_hash_ca(6001, &ca3), 6001, &ca3));
	struct hnv_policy_stats st;
	hnv_policy_stats(p, &st);
	assert_int_equal(st.n_records, 3);
	struct hnv_lookup_spec spec;
	hnv_policy_rec_spec(p, r, &spec);
	assert_string_equal(spec.vm_name, "test01");
}

/* A host without provider address makes no records for its ports. */
static void test_apply_port_without_pa(void **state)
{
	struct applied *a = *state;
	struct hnv_policy *p = hnv_dp_policy(a->dp);
	apply_ok(a->dp, "rdomain add AAA --rdid {AAAAAAAA-0000-0000-0000-000000005001}\n"
			"vsubnet add 5001 --rdomain AAA --prefix 10.10.0.0/16\n"
			"port add test01 --vsid 5001 --ca 10.10.1.100 --mac 0a9a0a0a0164\n");
	struct hnv_policy_stats st;
	hnv_policy_stats(p, &st);
	assert_int_equal(st.n_records, 0);
}

static void test_batch(void **state)
{
	struct applied *a = *state;
	struct hnv_conf_batch *b;
	assert_int_equal(hnv_conf_batch_begin(a->dp, &b), 0);
	static const char *const lines[] = {
		"rdomain add blue --rdid 11111111-2222-3333-4444-000000005001",
		"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24",
		"gateway add --rdomain blue --vrf vrf-blue --table 1001",
		"gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.2",
	};
	char err[512];
	struct hnv_conf_cmd c;
	for (size_t i = 0; i < 4; i++) {
		parse_ok(lines[i], &c);
		assert_int_equal(hnv_conf_batch_apply(b, &c, err, sizeof(err)), 0);
	}
	parse_ok("gateway add --rdomain blue --vrf vrf-2 --table 1002", &c);
	c.line = 12;
	assert_int_equal(hnv_conf_batch_apply(b, &c, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "line 12: gateway add: routing domain \"blue\" already has a "
				 "gateway (VRF vrf-blue)");
	assert_int_equal(hnv_conf_batch_apply(b, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(hnv_conf_batch_end(b, err, sizeof(err)), 0);
	assert_int_equal(hnv_conf_batch_end(NULL, err, sizeof(err)), 0);
	assert_int_equal(hnv_conf_batch_begin(NULL, &b), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac_forms),
		cmocka_unit_test(test_guid_forms),
		cmocka_unit_test(test_ip_and_prefix),
		cmocka_unit_test(test_vsid_values),
		cmocka_unit_test(test_formatters),
		cmocka_unit_test(test_cmd_rdomain),
		cmocka_unit_test(test_cmd_vsubnet),
		cmocka_unit_test(test_cmd_pa),
		cmocka_unit_test(test_cmd_port),
		cmocka_unit_test(test_cmd_port_move),
		cmocka_unit_test(test_cmd_lookup),
		cmocka_unit_test(test_cmd_lookup_set_del),
		cmocka_unit_test(test_cmd_route),
		cmocka_unit_test(test_cmd_global),
		cmocka_unit_test(test_quotes_comments_blank),
		cmocka_unit_test(test_line_limits),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_parse_text),
		cmocka_unit_test(test_demo_config_parses),
		cmocka_unit_test_setup_teardown(test_apply_demo, setup_dp, teardown_dp),
		cmocka_unit_test_setup_teardown(test_apply_references, setup_dp, teardown_dp),
		cmocka_unit_test_setup_teardown(test_apply_refused_settings, setup_dp, teardown_dp),
		cmocka_unit_test_setup_teardown(test_apply_gateway_records, setup_dp, teardown_dp),
		cmocka_unit_test_setup_teardown(test_apply_ca_checks, setup_dp, teardown_dp),
		cmocka_unit_test_setup_teardown(test_apply_line_by_line, setup_dp, teardown_dp),
		cmocka_unit_test_setup_teardown(test_apply_partial, setup_dp, teardown_dp),
		cmocka_unit_test(test_cmd_proute),
		cmocka_unit_test(test_cmd_global_external_router),
		cmocka_unit_test(test_cmd_gateway),
		cmocka_unit_test(test_cmd_s2s),
		cmocka_unit_test(test_weak_crypto),
		cmocka_unit_test(test_psk_never_in_errors),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_format_longest_s2s),
		cmocka_unit_test_setup_teardown(test_apply_gateway_s2s, setup_dp, teardown_dp),
		cmocka_unit_test_setup_teardown(test_apply_gateway_s2s_errors, setup_dp,
						teardown_dp),
		cmocka_unit_test_setup_teardown(test_batch, setup_dp, teardown_dp),
		cmocka_unit_test_setup_teardown(test_apply_pools, setup_dp, teardown_dp),
		cmocka_unit_test_setup_teardown(test_apply_port_without_pa, setup_dp, teardown_dp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
