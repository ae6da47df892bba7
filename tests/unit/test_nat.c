/* test_nat.c: gateway/nat.c without the kernel: zone assignment, tenant
 * validation, and the nftables batch built for a tenant list (decoded back
 * with libnftnl). The ctnetlink parser is tests/unit/test_conntrack.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include "../../gateway/nat.h"

/* ---- zones ---- */

static void test_zones_from_tables(void **state)
{
	(void)state;
	const uint32_t tables[] = {101, 80000, 102, 70000, 65535};
	uint16_t z[5];
	char err[256] = "";
	assert_int_equal(hnv_nat_zones(tables, 5, z, err, sizeof(err)), 0);
	assert_int_equal(z[0], 101);
	assert_int_equal(z[2], 102);
	assert_int_equal(z[4], 65535);
	/* the large ids take the free zones from the top, smallest id first */
	assert_int_equal(z[3], 65534);
	assert_int_equal(z[1], 65533);

	/* the same set in another order gives the same zones */
	const uint32_t perm[] = {65535, 70000, 102, 80000, 101};
	uint16_t zp[5];
	assert_int_equal(hnv_nat_zones(perm, 5, zp, err, sizeof(err)), 0);
	assert_int_equal(zp[0], 65535);
	assert_int_equal(zp[1], 65534);
	assert_int_equal(zp[2], 102);
	assert_int_equal(zp[3], 65533);
	assert_int_equal(zp[4], 101);
}

static void test_zones_errors(void **state)
{
	(void)state;
	uint16_t z[3];
	char err[256] = "";
	const uint32_t dup[] = {101, 7, 101};
	assert_int_equal(hnv_nat_zones(dup, 3, z, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "101"));
	const uint32_t zero[] = {0};
	assert_int_equal(hnv_nat_zones(zero, 1, z, err, sizeof(err)), -EINVAL);
	assert_int_equal(hnv_nat_zones(NULL, 0, z, err, sizeof(err)), 0);
}

static void test_zones_exhausted(void **state)
{
	(void)state;
	/* every zone 1..65535 taken by a table, then one table more */
	size_t n = 65536;
	uint32_t *tables = calloc(n, sizeof(*tables));
	uint16_t *z = calloc(n, sizeof(*z));
	assert_non_null(tables);
	assert_non_null(z);
	for (size_t i = 0; i < n - 1; i++)
		tables[i] = (uint32_t)i + 1;
	tables[n - 1] = 100000;
	char err[256] = "";
	assert_int_equal(hnv_nat_zones(tables, n, z, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "100000"));
	free(tables);
	free(z);
}

/* ---- validation ---- */

struct fixture {
	const char *ifs_a[3];
	const char *ifs_b[2];
	struct hnv_prefix pa[2], pb[1];
	struct hnv_nat_tenant t[2];
};

static void v4(struct hnv_ip *ip, const char *s)
{
	uint8_t b[4];
	assert_int_equal(inet_pton(AF_INET, s, b), 1);
	hnv_ip_from_v4(ip, b);
}

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->ifs_a[0] = "vsid5001";
	f->ifs_a[1] = "corp-a";
	f->ifs_b[0] = "vsid6001";
	f->ifs_b[1] = "ext-b";
	v4(&f->pa[0].addr, "10.10.0.0");
	f->pa[0].len = 16;
	assert_int_equal(inet_pton(AF_INET6, "fd00:10::", f->pa[1].addr.b), 1);
	f->pa[1].len = 64;
	v4(&f->pb[0].addr, "10.10.0.0");
	f->pb[0].len = 24;
	f->t[0] = (struct hnv_nat_tenant){.name = "contoso",
					  .zone = 101,
					  .ifs = f->ifs_a,
					  .n_ifs = 2,
					  .ext_if = "ext-a",
					  .has_ext_addr = true,
					  .prefixes = f->pa,
					  .n_prefixes = 2};
	v4(&f->t[0].ext_addr, "198.51.100.1");
	f->t[1] = (struct hnv_nat_tenant){.name = "fabrikam",
					  .zone = 102,
					  .ifs = f->ifs_b,
					  .n_ifs = 2,
					  .ext_if = "ext-b",
					  .has_ext_addr = true,
					  .prefixes = f->pb,
					  .n_prefixes = 1};
	v4(&f->t[1].ext_addr, "198.51.100.2");
}

static void expect_invalid(struct fixture *f, const char *needle)
{
	char err[256] = "";
	assert_int_equal(hnv_nat_validate(f->t, 2, err, sizeof(err)), -EINVAL);
	if (strstr(err, needle) == NULL)
		fail_msg("message \"%s\" does not name \"%s\"", err, needle);
	void *buf = NULL;
	size_t len = 0;
	assert_int_equal(hnv_nat_build_batch(f->t, 2, 1, &buf, &len, err, sizeof(err)), -EINVAL);
	assert_null(buf);
}

static void test_validate(void **state)
{
	(void)state;
	struct fixture f;
	char err[256] = "";
	fixture_init(&f);
	assert_int_equal(hnv_nat_validate(f.t, 2, err, sizeof(err)), 0);
	assert_int_equal(hnv_nat_validate(NULL, 0, err, sizeof(err)), 0);

	fixture_init(&f);
	f.t[1].zone = 101;
	expect_invalid(&f, "zone 101");

	fixture_init(&f);
	f.t[0].zone = 0;
	expect_invalid(&f, "zone 0");

	fixture_init(&f);
	f.t[1].name = "contoso";
	expect_invalid(&f, "contoso");

	fixture_init(&f);
	f.t[1].name = "";
	expect_invalid(&f, "name");

	fixture_init(&f); /* the same TAP in two tenants */
	f.ifs_b[0] = "vsid5001";
	expect_invalid(&f, "interface vsid5001 is in tenants contoso and fabrikam");

	fixture_init(&f); /* B's TAP is A's external device */
	f.t[0].ext_if = "vsid6001";
	expect_invalid(&f, "interface vsid6001 is in tenants contoso and fabrikam");

	fixture_init(&f);
	f.ifs_a[1] = "vsid5001";
	expect_invalid(&f, "vsid5001 listed twice");

	fixture_init(&f);
	f.ifs_a[1] = "a-name-too-long0";
	expect_invalid(&f, "a-name-too-long0");

	fixture_init(&f);
	f.ifs_a[1] = "bad/name";
	expect_invalid(&f, "bad/name");

	fixture_init(&f);
	f.t[0].ext_if = NULL;
	expect_invalid(&f, "needs an external interface");

	fixture_init(&f);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", f.t[1].ext_addr.b), 1);
	expect_invalid(&f, "2001:db8::1");

	fixture_init(&f);
	v4(&f.t[1].ext_addr, "0.0.0.0");
	expect_invalid(&f, "0.0.0.0");

	fixture_init(&f);
	f.pb[0].len = 33;
	expect_invalid(&f, "length 33");

	/* a tenant without an external address is fine */
	fixture_init(&f);
	f.t[1].has_ext_addr = false;
	f.t[1].ext_if = NULL;
	assert_int_equal(hnv_nat_validate(f.t, 2, err, sizeof(err)), 0);
}

/* ---- the batch ---- */

struct decoded {
	size_t n_msgs;
	size_t begin, end, newtable, deltable, newchain, newrule;
	char userdata[128];
	char rules[32][512]; /* nftnl_rule_snprintf, chain name first */
	size_t n_rules;
	char chains[8][128];
};

static void decode_batch(const void *buf, size_t len, uint32_t seq0, struct decoded *d)
{
	memset(d, 0, sizeof(*d));
	int left = (int)len;
	uint32_t seq = seq0;
	for (const struct nlmsghdr *nlh = buf; mnl_nlmsg_ok(nlh, left);
	     nlh = mnl_nlmsg_next(nlh, &left)) {
		assert_int_equal(nlh->nlmsg_seq, seq);
		seq++;
		d->n_msgs++;
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN) {
			assert_int_equal(d->n_msgs, 1);
			d->begin++;
			continue;
		}
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_END) {
			d->end++;
			continue;
		}
		assert_int_equal(nlh->nlmsg_type >> 8, NFNL_SUBSYS_NFTABLES);
		assert_true(nlh->nlmsg_flags & NLM_F_ACK);
		const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
		assert_int_equal(g->nfgen_family, NFPROTO_INET);
		switch (nlh->nlmsg_type & 0xff) {
		case NFT_MSG_NEWTABLE:
		case NFT_MSG_DELTABLE: {
			struct nftnl_table *t = nftnl_table_alloc();
			assert_int_equal(nftnl_table_nlmsg_parse(nlh, t), 0);
			assert_string_equal(nftnl_table_get_str(t, NFTNL_TABLE_NAME),
					    HNV_NAT_TABLE);
			if ((nlh->nlmsg_type & 0xff) == NFT_MSG_DELTABLE) {
				d->deltable++;
			} else {
				d->newtable++;
				uint32_t ul = 0;
				const char *ud = nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &ul);
				if (ud != NULL) {
					assert_true(ul > 0 && ul < sizeof(d->userdata));
					memcpy(d->userdata, ud, ul);
				}
			}
			nftnl_table_free(t);
			break;
		}
		case NFT_MSG_NEWCHAIN: {
			struct nftnl_chain *c = nftnl_chain_alloc();
			assert_int_equal(nftnl_chain_nlmsg_parse(nlh, c), 0);
			assert_true(d->newchain < 8);
			snprintf(d->chains[d->newchain], sizeof(d->chains[0]),
				 "%s %s hook %u prio %d", nftnl_chain_get_str(c, NFTNL_CHAIN_NAME),
				 nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE),
				 nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM),
				 nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO));
			d->newchain++;
			nftnl_chain_free(c);
			break;
		}
		case NFT_MSG_NEWRULE: {
			struct nftnl_rule *r = nftnl_rule_alloc();
			assert_int_equal(nftnl_rule_nlmsg_parse(nlh, r), 0);
			assert_true(d->n_rules < 32);
			char *s = d->rules[d->n_rules++];
			int k = snprintf(s, 512, "%s: ", nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
			nftnl_rule_snprintf(s + k, (size_t)(512 - k), r, NFTNL_OUTPUT_DEFAULT, 0);
			d->newrule++;
			nftnl_rule_free(r);
			break;
		}
		default:
			fail_msg("unexpected message type %u", nlh->nlmsg_type & 0xff);
		}
	}
	assert_int_equal(left, 0);
}

static bool has_rule(const struct decoded *d, const char *a, const char *b, const char *c)
{
	for (size_t i = 0; i < d->n_rules; i++)
		if (strstr(d->rules[i], a) && strstr(d->rules[i], b) &&
		    (!c || strstr(d->rules[i], c)))
			return true;
	return false;
}

static void test_batch(void **state)
{
	(void)state;
	struct fixture f;
	fixture_init(&f);
	void *buf = NULL;
	size_t len = 0;
	char err[256] = "";
	assert_int_equal(hnv_nat_build_batch(f.t, 2, 1000, &buf, &len, err, sizeof(err)), 0);
	struct decoded d;
	decode_batch(buf, len, 1000, &d);
	free(buf);

	assert_int_equal(d.begin, 1);
	assert_int_equal(d.end, 1);
	assert_int_equal(d.newtable, 2); /* create-if-missing, then the new one */
	assert_int_equal(d.deltable, 1);
	assert_int_equal(d.newchain, 6);
	/* zone rules: A has vsid5001, corp-a and ext-a; B vsid6001 and ext-b
	 * (listed once); in and out each. SNAT: A's IPv4 prefix, B's prefix. */
	assert_int_equal(d.newrule, 2 * 3 + 2 * 2 + 1 + 1);
	assert_int_equal(d.n_msgs, 2 + 3 + 6 + d.newrule);

	char fp[64];
	hnv_nat_fingerprint(f.t, 2, fp, sizeof(fp));
	assert_string_equal(d.userdata, fp);

	assert_string_equal(d.chains[0], "zone_pre filter hook 0 prio -300");
	assert_string_equal(d.chains[1], "zone_out filter hook 3 prio -300");
	assert_string_equal(d.chains[2], "tenant_snat nat hook 4 prio 100");
	assert_string_equal(d.chains[3], "netmap_mark filter hook 0 prio -150");
	assert_string_equal(d.chains[4], "netmap_dnat nat hook 0 prio -100");
	assert_string_equal(d.chains[5], "netmap_snat nat hook 4 prio 100");

	/* iifname "ext-a" (0x2d747865 0x00612d) ct zone set 101 (0x65) */
	assert_true(has_rule(&d, "zone_pre: ", "[ meta load iifname => reg 1 ]",
			     "[ cmp eq reg 1 0x2d747865 0x00000061 0x00000000 0x00000000 ]"));
	assert_true(has_rule(&d, "zone_pre: ", "[ immediate reg 1 0x00000065 ]",
			     "[ ct set zone with reg 1 ]"));
	assert_true(has_rule(&d, "zone_out: ", "[ meta load oifname => reg 1 ]",
			     "[ immediate reg 1 0x00000066 ]"));
	/* SNAT: ip saddr 10.10.0.0/16 -> 198.51.100.1 (0x016433c6) */
	assert_true(has_rule(&d,
			     "tenant_snat: ", "[ payload load 4b @ network header + 12 => reg 1 ]",
			     "[ bitwise reg 1 = ( reg 1 & 0x0000ffff ) ^ 0x00000000 ]"));
	assert_true(has_rule(&d, "tenant_snat: ", "[ immediate reg 1 0x016433c6 ]",
			     "[ nat snat ip addr_min reg 1 ]"));
	/* B's /24 and its address 198.51.100.2 */
	assert_true(has_rule(&d, "tenant_snat: ", "0x00ffffff", "[ immediate reg 1 0x026433c6 ]"));
	/* IPv6 prefixes are not translated */
	assert_false(has_rule(&d, "tenant_snat: ", "network header + 8", NULL));
	for (size_t i = 0; i < d.n_rules; i++)
		if (strncmp(d.rules[i], "tenant_snat: ", 13) == 0)
			assert_non_null(
				strstr(d.rules[i], "[ cmp eq reg 1 0x00000002 ]")); /* IPv4 */
}

static void test_batch_empty_and_zone_only(void **state)
{
	(void)state;
	void *buf = NULL;
	size_t len = 0;
	char err[256] = "";
	struct decoded d;
	assert_int_equal(hnv_nat_build_batch(NULL, 0, 7, &buf, &len, err, sizeof(err)), 0);
	decode_batch(buf, len, 7, &d);
	free(buf);
	assert_int_equal(d.newchain, 6);
	assert_int_equal(d.newrule, 0);

	struct fixture f;
	fixture_init(&f);
	f.t[1].has_ext_addr = false; /* B: zone only */
	assert_int_equal(hnv_nat_build_batch(f.t, 2, 7, &buf, &len, err, sizeof(err)), 0);
	decode_batch(buf, len, 7, &d);
	free(buf);
	assert_int_equal(d.newrule, 2 * 3 + 2 * 2 + 1);
	assert_false(has_rule(&d, "tenant_snat: ", "0x026433c6", NULL));
}

/* A local and a remote netmap of contoso on its tunnel interface xf-300. */
static void fixture_netmaps(struct fixture *f, struct hnv_nat_netmap *m)
{
	f->ifs_a[2] = "xf-300";
	f->t[0].n_ifs = 3;
	m[0] = (struct hnv_nat_netmap){.ifname = "xf-300", .remote = false};
	v4(&m[0].real.addr, "10.10.0.0");
	v4(&m[0].mapped.addr, "172.31.0.0");
	m[0].real.len = m[0].mapped.len = 16;
	m[1] = (struct hnv_nat_netmap){
		.ifname = "xf-300", .remote = true, .mark = 0x4800012c, .site_mark = 0x4810012c};
	v4(&m[1].real.addr, "10.10.5.0");
	v4(&m[1].mapped.addr, "172.30.5.0");
	m[1].real.len = m[1].mapped.len = 24;
	f->t[0].netmaps = m;
	f->t[0].n_netmaps = 2;
}

static void test_batch_netmap(void **state)
{
	(void)state;
	struct fixture f;
	struct hnv_nat_netmap m[2];
	fixture_init(&f);
	fixture_netmaps(&f, m);
	void *buf = NULL;
	size_t len = 0;
	char err[256] = "";
	assert_int_equal(hnv_nat_build_batch(f.t, 2, 1, &buf, &len, err, sizeof(err)), 0);
	struct decoded d;
	decode_batch(buf, len, 1, &d);
	free(buf);
	/* zone rules (A has 3 interfaces + ext now) 2 * 4 + 2 * 2, SNAT 2,
	 * netmap: local snat + dnat, remote 2 marks + dnat + snat */
	assert_int_equal(d.newrule, 2 * 4 + 2 * 2 + 2 + 6);
	/* local: oifname xf-300 ip saddr 10.10.0.0/16 snat ip prefix to
	 * 172.31.0.0/16: addr_min 172.31.0.0, addr_max 172.31.255.255, flags
	 * NF_NAT_RANGE_NETMAP */
	assert_true(has_rule(&d, "netmap_snat: ", "[ meta load oifname => reg 1 ]",
			     "[ immediate reg 1 0x00001fac ]"));
	assert_true(has_rule(&d, "netmap_snat: ", "[ immediate reg 2 0xffff1fac ]",
			     "[ nat snat ip addr_min reg 1 addr_max reg 2 flags 0x40 ]"));
	assert_true(has_rule(&d, "netmap_dnat: ", "network header + 16",
			     "[ nat dnat ip addr_min reg 1 addr_max reg 2 flags 0x40 ]"));
	/* remote: ct zone 101, iifname != xf-300, ip daddr 172.30.5.0/24 */
	assert_true(has_rule(&d, "netmap_mark: ", "[ ct load zone => reg 1 ]",
			     "[ cmp eq reg 1 0x00000065 ]"));
	assert_true(has_rule(&d, "netmap_mark: ", "[ cmp neq reg 1 0x332d6678 0x00003030",
			     "[ meta set mark with reg 1 ]"));
	assert_true(has_rule(&d, "netmap_mark: ", "[ immediate reg 1 0x4800012c ]", NULL));
	assert_true(has_rule(&d, "netmap_dnat: ", "[ cmp eq reg 1 0x00051eac ]",
			     "[ immediate reg 1 0x00050a0a ]"));
	/* site -> tenant: marked in prerouting (iifname xf-300, ip saddr
	 * 10.10.5.0/24), the mark translated to 172.30.5.0/24 in postrouting */
	assert_true(has_rule(&d, "netmap_mark: ", "[ meta load iifname => reg 1 ]",
			     "[ immediate reg 1 0x4810012c ]"));
	assert_true(has_rule(&d, "netmap_snat: ", "[ meta load mark => reg 1 ]",
			     "[ immediate reg 2 0xff051eac ]"));
	assert_false(has_rule(&d, "netmap_snat: ", "[ meta load iifname => reg 1 ]", NULL));

	char fp1[64], fp2[64];
	hnv_nat_fingerprint(f.t, 2, fp1, sizeof(fp1));
	m[1].mark++;
	hnv_nat_fingerprint(f.t, 2, fp2, sizeof(fp2));
	assert_string_not_equal(fp1, fp2);

	/* refused: another tenant's interface, lengths, marks, IPv6 */
	fixture_init(&f);
	fixture_netmaps(&f, m);
	m[0].ifname = "vsid6001";
	expect_invalid(&f, "not an interface of the tenant");
	fixture_init(&f);
	fixture_netmaps(&f, m);
	m[1].mapped.len = 16;
	expect_invalid(&f, "two IPv4 prefixes of one length");
	fixture_init(&f);
	fixture_netmaps(&f, m);
	m[1].mark = 0;
	expect_invalid(&f, "a remote netmap needs two distinct marks");
	fixture_init(&f);
	fixture_netmaps(&f, m);
	m[1].site_mark = m[1].mark;
	expect_invalid(&f, "a remote netmap needs two distinct marks");
	fixture_init(&f);
	fixture_netmaps(&f, m);
	m[0].mark = 7;
	expect_invalid(&f, "a local netmap takes no mark");
	fixture_init(&f);
	fixture_netmaps(&f, m);
	assert_int_equal(inet_pton(AF_INET6, "fd00::", m[0].real.addr.b), 1);
	expect_invalid(&f, "two IPv4 prefixes");
}

static void test_fingerprint(void **state)
{
	(void)state;
	struct fixture f;
	char a[64], b[64];
	fixture_init(&f);
	hnv_nat_fingerprint(f.t, 2, a, sizeof(a));
	hnv_nat_fingerprint(f.t, 2, b, sizeof(b));
	assert_string_equal(a, b);
	assert_int_equal(strncmp(a, "hnvgw nat v2 ", 13), 0);

	v4(&f.t[1].ext_addr, "198.51.100.3");
	hnv_nat_fingerprint(f.t, 2, b, sizeof(b));
	assert_string_not_equal(a, b);

	fixture_init(&f);
	f.pb[0].len = 16;
	hnv_nat_fingerprint(f.t, 2, b, sizeof(b));
	assert_string_not_equal(a, b);

	fixture_init(&f);
	f.t[0].zone = 103;
	hnv_nat_fingerprint(f.t, 2, b, sizeof(b));
	assert_string_not_equal(a, b);

	fixture_init(&f);
	f.ifs_a[1] = "corp-x";
	hnv_nat_fingerprint(f.t, 2, b, sizeof(b));
	assert_string_not_equal(a, b);

	hnv_nat_fingerprint(f.t, 1, b, sizeof(b));
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zones_from_tables),
		cmocka_unit_test(test_zones_errors),
		cmocka_unit_test(test_zones_exhausted),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_batch_empty_and_zone_only),
		cmocka_unit_test(test_batch_netmap),
		cmocka_unit_test(test_fingerprint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
