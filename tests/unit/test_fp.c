/* test_fp.c: the kernel fast path's userspace side (datapath/bpf/fp.c) and
 * the policy mirror it hangs on (datapath/policy.c).
 *
 * With the real kernel (root): the maps hold exactly the bytes fp_maps.h
 * defines for every policy object after bind and after each delta; a
 * change of N records is N map writes; routes follow the policy's choice
 * at commit; ports appear when both the policy has them and they are
 * attached; tc filters appear and go; the punt reader parses records a
 * hand-written program emits; per-CPU counters are summed into
 * hnv_dp_counters. Without the kernel: a mirror that refuses leaves the
 * policy as it was, for every kind of write.
 *
 * main() moves the process into a fresh network namespace, so the veth
 * pairs and tc filters it creates never touch the host.
 */
#define _LGPL_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urcu/urcu-qsbr.h>

#include "../../datapath/bpf/fp.h"
#include "../../datapath/dp.h"
#include "../../datapath/policy.h"
#include "../../datapath/policy_read.h"
#include "pktgen.h"

static bool have_root;

/* ---- policy helpers ---- */

static struct hnv_prefix pfx(const char *addr, unsigned len)
{
	struct hnv_prefix p = {pg_ip(addr), (uint8_t)len};
	return p;
}

static void add_rd(struct hnv_policy *p, const char *name, unsigned n)
{
	struct hnv_guid g;
	memset(&g, 0x22, sizeof(g));
	g.b[15] = (uint8_t)n;
	assert_int_equal(hnv_policy_rdomain_add(p, name, &g), 0);
}

static int add_vs(struct hnv_policy *p, uint32_t vsid, const char *rd, const char *a, unsigned l)
{
	struct hnv_vsubnet_spec s;
	memset(&s, 0, sizeof(s));
	s.vsid = vsid;
	snprintf(s.rdomain, sizeof(s.rdomain), "%s", rd);
	s.prefixes[s.n_prefixes++] = pfx(a, l);
	return hnv_policy_vsubnet_add(p, &s);
}

/* A DHCP service of one pool, 10.0.0.10-10.0.0.20. */
static struct hnv_dhcp_cfg dhcp_one_pool(void)
{
	struct hnv_dhcp_cfg dc;
	memset(&dc, 0, sizeof(dc));
	dc.n_pools = 1;
	dc.pools[0].first = pg_ip("10.0.0.10");
	dc.pools[0].last = pg_ip("10.0.0.20");
	return dc;
}

static struct hnv_lookup_spec rec(uint32_t vsid, const char *ca, const char *pa, const char *mac)
{
	struct hnv_lookup_spec s;
	memset(&s, 0, sizeof(s));
	s.vsid = vsid;
	s.ca = pg_ip(ca);
	s.pa = pg_ip(pa);
	s.mac = pg_mac(mac);
	s.rule = HNV_RULE_ENCAP;
	s.type = HNV_TYPE_STATIC;
	return s;
}

static struct hnv_route_spec route(const char *rd, uint32_t vsid, const char *a, unsigned l,
				   const char *nh, uint32_t metric)
{
	struct hnv_route_spec s;
	memset(&s, 0, sizeof(s));
	snprintf(s.rdomain, sizeof(s.rdomain), "%s", rd);
	s.vsid = vsid;
	s.prefix = pfx(a, l);
	s.nexthop = pg_ip(nh);
	s.metric = metric;
	return s;
}

static struct hnv_port_spec port(const char *name, uint32_t vsid, const char *mac, const char *ca)
{
	struct hnv_port_spec s;
	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "%s", name);
	s.vsid = vsid;
	s.mac = pg_mac(mac);
	s.cas[s.n_cas++] = pg_ip(ca);
	return s;
}

/* ---- expected map bytes ---- */

/* the key of an IPv4 CA's record (fp_recs4) */
static struct fp_rec4_key rec4_key(uint32_t vsid, const char *ca)
{
	struct fp_rec4_key k;
	memset(&k, 0, sizeof(k));
	k.vsid = vsid;
	struct hnv_ip a = pg_ip(ca);
	assert_true(hnv_ip_is_v4(&a));
	memcpy(k.ca4, a.b + 12, 4);
	return k;
}

/* the key of an IPv6 CA's record (fp_recs) */
static struct fp_rec_key rec_key(uint32_t vsid, const char *ca)
{
	struct fp_rec_key k;
	memset(&k, 0, sizeof(k));
	k.vsid = vsid;
	struct hnv_ip a = pg_ip(ca);
	memcpy(k.ca.b, a.b, 16);
	return k;
}

static struct fp_route_key route_key(uint32_t rd, const char *a, unsigned len)
{
	struct fp_route_key k;
	memset(&k, 0, sizeof(k));
	struct hnv_ip ip = pg_ip(a);
	k.prefixlen = 32 + (pg_is_v4(&ip) ? 96 : 0) + len;
	k.rd = htonl(rd);
	memcpy(k.addr.b, ip.b, 16);
	return k;
}

/* The entry of exactly key in an LPM trie (a lookup would also find a
 * shorter prefix): walks the keys. */
static bool lpm_exact(int fd, const struct fp_route_key *key, struct fp_route *val)
{
	struct fp_route_key cur, next;
	void *prev = NULL;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (memcmp(&next, key, sizeof(next)) == 0)
			return bpf_map_lookup_elem(fd, &next, val) == 0;
		cur = next;
		prev = &cur;
	}
	return false;
}

static unsigned map_count(int fd, size_t keysz)
{
	uint8_t cur[64], next[64];
	assert_true(keysz <= sizeof(cur));
	void *prev = NULL;
	unsigned n = 0;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		n++;
		memcpy(cur, next, keysz);
		prev = cur;
	}
	return n;
}

/* ---- fixture ---- */

struct env {
	struct hnv_fp *fp;
	struct hnv_dp *dp;
	struct hnv_policy *p;
};

static int setup(void **state)
{
	if (!have_root) {
		fprintf(stderr, "test_fp: skipped: loading eBPF needs root (run as root)\n");
		skip();
	}
	struct env *e = calloc(1, sizeof(*e));
	char err[1024] = "";
	int rc = hnv_fp_open(&e->fp, err, sizeof(err));
	if (rc)
		fail_msg("hnv_fp_open: %s", err);
	e->dp = hnv_dp_new();
	e->p = hnv_dp_policy(e->dp);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	if (!e)
		return 0;
	hnv_fp_free(e->fp);
	hnv_dp_free(e->dp);
	free(e);
	return 0;
}

static int fd(struct env *e, const char *name)
{
	int f = hnv_fp_map_fd(e->fp, name);
	assert_true(f >= 0);
	return f;
}

/* expect_rec: MAP holds under KEY the record of PA and MAC of TYPE */
static void expect_rec(struct env *e, const char *map, const void *key, const char *pa,
		       const char *mac, uint8_t type)
{
	struct fp_rec v, want;
	memset(&want, 0, sizeof(want));
	struct hnv_ip a = pg_ip(pa);
	struct hnv_mac m = pg_mac(mac);
	memcpy(want.pa.b, a.b, 16);
	memcpy(want.mac, m.b, 6);
	want.rule = HNV_RULE_ENCAP;
	want.type = type;
	assert_int_equal(bpf_map_lookup_elem(fd(e, map), key, &v), 0);
	assert_memory_equal(&v, &want, sizeof(v));
}

static void fp_bind(struct env *e)
{
	char err[256] = "";
	int rc = hnv_fp_bind(e->fp, e->dp, err, sizeof(err));
	if (rc)
		fail_msg("hnv_fp_bind: %s", err);
}

static struct fp_cfg cfg_of(struct env *e)
{
	struct fp_cfg c;
	__u32 zero = 0;
	assert_int_equal(bpf_map_lookup_elem(fd(e, "fp_cfg"), &zero, &c), 0);
	return c;
}

/* ---- bind and deltas ---- */

static void test_bind_fills(void **state)
{
	struct env *e = *state;
	add_rd(e->p, "blue", 1);
	assert_int_equal(add_vs(e->p, 5001, "blue", "10.0.0.0", 24), 0);
	struct hnv_lookup_spec r = rec(5001, "10.0.0.5", "192.168.1.2", "00155d000005");
	assert_int_equal(hnv_policy_lookup_add(e->p, &r), 0);
	struct hnv_lookup_spec l2 = rec(5001, "0.0.0.0", "192.168.1.3", "00155d000006");
	l2.type = HNV_TYPE_L2ONLY;
	assert_int_equal(hnv_policy_lookup_add(e->p, &l2), 0);
	struct hnv_route_spec rt = route("blue", 5001, "10.9.0.0", 16, "10.0.0.5", 7);
	assert_int_equal(hnv_policy_route_add(e->p, &rt), 0);
	struct hnv_prefix pa = pfx("192.168.1.1", 24);
	assert_int_equal(hnv_policy_pa_add(e->p, &pa), 0);
	struct hnv_mac up = pg_mac("020000000099");
	hnv_dp_set_uplink(e->dp, &up, 1400);
	/* routes must be committed before bind */
	char err[256];
	assert_int_equal(hnv_fp_bind(e->fp, e->dp, err, sizeof(err)), -EBUSY);
	assert_int_equal(hnv_policy_commit(e->p), 0);
	fp_bind(e);

	struct fp_cfg c = cfg_of(e);
	static const uint8_t gw[6] = {0x02, 0x15, 0x5d, 0x00, 0x00, 0x01};
	assert_memory_equal(c.gw_mac, gw, 6);
	assert_memory_equal(c.uplink_mac, up.b, 6);
	assert_int_equal(c.uplink_mtu, 1400);
	assert_int_equal(c.flowid, 1);
	assert_int_equal(c.has_pa4, 1);
	assert_int_equal(c.has_pa6, 0);
	assert_memory_equal(c.pa4.b, pa.addr.b, 16);

	__u32 vk = 5001;
	struct fp_vsid v, ve;
	memset(&ve, 0, sizeof(ve));
	ve.rd = 0;
	ve.n_gw = 1;
	ve.flags = FP_VSID_L2ONLY; /* it has an L2Only record */
	struct hnv_ip g = pg_ip("10.0.0.1");
	memcpy(ve.gw[0].b, g.b, 16);
	assert_int_equal(bpf_map_lookup_elem(fd(e, "fp_vsids"), &vk, &v), 0);
	assert_memory_equal(&v, &ve, sizeof(v));

	struct fp_rec4_key rk = rec4_key(5001, "10.0.0.5");
	expect_rec(e, "fp_recs4", &rk, "192.168.1.2", "00155d000005", HNV_TYPE_STATIC);
	/* the L2Only record is not in the fast path; an IPv4 CA's record is
	 * only in fp_recs4 */
	assert_int_equal(map_count(fd(e, "fp_recs4"), sizeof(rk)), 1);
	assert_int_equal(map_count(fd(e, "fp_recs"), sizeof(struct fp_rec_key)), 0);
	/* as the IPv4 GatewayWildcard, the record is under (vsid, 0.0.0.0) */
	l2.type = HNV_TYPE_GATEWAY_WILDCARD;
	assert_int_equal(hnv_policy_lookup_set(e->p, &l2), 0);
	struct fp_rec4_key wk = rec4_key(5001, "0.0.0.0");
	expect_rec(e, "fp_recs4", &wk, "192.168.1.3", "00155d000006", HNV_TYPE_GATEWAY_WILDCARD);
	assert_int_equal(map_count(fd(e, "fp_recs"), sizeof(struct fp_rec_key)), 0);

	struct fp_route_key k = route_key(0, "10.9.0.0", 16);
	struct fp_route rr;
	assert_true(lpm_exact(fd(e, "fp_routes"), &k, &rr));
	assert_int_equal(rr.vsid, 5001);
	assert_int_equal(rr.metric, 7);
	struct hnv_ip nh = pg_ip("10.0.0.5");
	assert_memory_equal(rr.nexthop.b, nh.b, 16);

	struct fp_ip pk;
	memcpy(pk.b, pa.addr.b, 16);
	__u8 one;
	assert_int_equal(bpf_map_lookup_elem(fd(e, "fp_pas"), &pk, &one), 0);
	assert_int_equal(one, 1);
}

static void test_deltas(void **state)
{
	struct env *e = *state;
	fp_bind(e);
	add_rd(e->p, "blue", 1);
	add_rd(e->p, "red", 2);
	uint64_t ops = hnv_fp_map_ops(e->fp);
	assert_int_equal(add_vs(e->p, 6001, "red", "fd00::", 64), 0);
	assert_int_equal(hnv_fp_map_ops(e->fp), ops + 1);
	__u32 vk = 6001;
	struct fp_vsid v;
	assert_int_equal(bpf_map_lookup_elem(fd(e, "fp_vsids"), &vk, &v), 0);
	assert_int_equal(v.rd, 1);
	assert_int_equal(v.flags, 0);
	struct hnv_ip g = pg_ip("fd00::1");
	assert_memory_equal(v.gw[0].b, g.b, 16);

	struct hnv_dhcp_cfg dc = dhcp_one_pool();
	assert_int_equal(hnv_policy_vsubnet_dhcp_set(e->p, 6001, &dc), 0);
	assert_int_equal(bpf_map_lookup_elem(fd(e, "fp_vsids"), &vk, &v), 0);
	assert_int_equal(v.flags, FP_VSID_DHCP);
	ops = hnv_fp_map_ops(e->fp);
	assert_int_equal(hnv_policy_vsubnet_dhcp_set(e->p, 6001, &dc), 0); /* no change seen */
	assert_int_equal(hnv_fp_map_ops(e->fp), ops);

	/* records: add, L2Only (nothing), wildcard, replace, delete */
	struct hnv_lookup_spec r = rec(6001, "fd00::5", "2001:db8::2", "00155d000005");
	assert_int_equal(hnv_policy_lookup_add(e->p, &r), 0);
	struct fp_rec_key rk = rec_key(6001, "fd00::5");
	struct fp_rec rv;
	expect_rec(e, "fp_recs", &rk, "2001:db8::2", "00155d000005", HNV_TYPE_STATIC);
	ops = hnv_fp_map_ops(e->fp);
	struct hnv_lookup_spec l2 = rec(6001, "::", "2001:db8::3", "00155d000006");
	l2.type = HNV_TYPE_L2ONLY;
	assert_int_equal(hnv_policy_lookup_add(e->p, &l2), 0);
	/* not a record of the maps; the VSID now has L2Only records */
	assert_int_equal(hnv_fp_map_ops(e->fp), ops + 1);
	assert_int_not_equal(bpf_map_lookup_elem(fd(e, "fp_recs"), &(struct fp_rec_key){0}, &rv),
			     0);
	assert_int_equal(bpf_map_lookup_elem(fd(e, "fp_vsids"), &vk, &v), 0);
	assert_int_equal(v.flags, FP_VSID_DHCP | FP_VSID_L2ONLY);
	/* the L2Only record becomes the IPv6 GatewayWildcard: now it is mirrored */
	struct hnv_lookup_spec wc = l2;
	wc.type = HNV_TYPE_GATEWAY_WILDCARD;
	assert_int_equal(hnv_policy_lookup_set(e->p, &wc), 0);
	struct fp_rec_key wk = rec_key(6001, "::");
	expect_rec(e, "fp_recs", &wk, "2001:db8::3", "00155d000006", HNV_TYPE_GATEWAY_WILDCARD);
	struct hnv_ip like = pg_ip("fd00::77");
	assert_non_null(hnv_policy_wildcard(e->p, 6001, &like));
	assert_int_equal(bpf_map_lookup_elem(fd(e, "fp_vsids"), &vk, &v), 0);
	assert_int_equal(v.flags, FP_VSID_DHCP);
	/* and back: it leaves the map and the policy's CA index */
	assert_int_equal(hnv_policy_lookup_set(e->p, &l2), 0);
	assert_int_not_equal(bpf_map_lookup_elem(fd(e, "fp_recs"), &wk, &rv), 0);
	assert_null(hnv_policy_wildcard(e->p, 6001, &like));

	r.pa = pg_ip("2001:db8::9");
	assert_int_equal(hnv_policy_lookup_set(e->p, &r), 0);
	expect_rec(e, "fp_recs", &rk, "2001:db8::9", "00155d000005", HNV_TYPE_STATIC);
	assert_int_equal(hnv_policy_lookup_del(e->p, 6001, &r.ca, &r.mac), 0);
	assert_int_not_equal(bpf_map_lookup_elem(fd(e, "fp_recs"), &rk, &rv), 0);
	assert_int_equal(hnv_policy_lookup_del(e->p, 6001, &l2.ca, &l2.mac), 0);
	assert_int_equal(hnv_policy_vsubnet_del(e->p, 6001), 0);
	assert_int_not_equal(bpf_map_lookup_elem(fd(e, "fp_vsids"), &vk, &v), 0);

	/* PAs: the set and the first of each family in fp_cfg */
	struct hnv_prefix pa6 = pfx("2001:db8::1", 64), pa4 = pfx("192.0.2.1", 24),
			  pa4b = pfx("192.0.2.2", 24);
	assert_int_equal(hnv_policy_pa_add(e->p, &pa6), 0);
	assert_int_equal(hnv_policy_pa_add(e->p, &pa4), 0);
	assert_int_equal(hnv_policy_pa_add(e->p, &pa4b), 0);
	struct fp_cfg c = cfg_of(e);
	assert_true(c.has_pa4 && c.has_pa6);
	assert_memory_equal(c.pa4.b, pa4.addr.b, 16);
	assert_memory_equal(c.pa6.b, pa6.addr.b, 16);
	assert_int_equal(map_count(fd(e, "fp_pas"), sizeof(struct fp_ip)), 3);
	/* and the whole set inline, in the order added */
	assert_int_equal(c.n_pas, 3);
	assert_memory_equal(c.pas[0].b, pa6.addr.b, 16);
	assert_memory_equal(c.pas[1].b, pa4.addr.b, 16);
	assert_memory_equal(c.pas[2].b, pa4b.addr.b, 16);
	assert_int_equal(hnv_policy_pa_del(e->p, &pa4.addr), 0);
	c = cfg_of(e);
	assert_memory_equal(c.pa4.b, pa4b.addr.b, 16);
	assert_int_equal(c.n_pas, 2);
	assert_memory_equal(c.pas[0].b, pa6.addr.b, 16);
	assert_memory_equal(c.pas[1].b, pa4b.addr.b, 16);
	assert_memory_equal(c.pa4.b, hnv_policy_local_pa(e->p, true)->b, 16);
	assert_int_equal(hnv_policy_pa_del(e->p, &pa4b.addr), 0);
	assert_int_equal(hnv_policy_pa_del(e->p, &pa6.addr), 0);
	c = cfg_of(e);
	assert_false(c.has_pa4 || c.has_pa6);
	assert_int_equal(c.n_pas, 0);
	assert_int_equal(map_count(fd(e, "fp_pas"), sizeof(struct fp_ip)), 0);

	/* settings */
	struct hnv_mac gw = pg_mac("020000000042");
	hnv_dp_set_gateway_mac(e->dp, &gw);
	hnv_dp_set_flowid(e->dp, false);
	c = cfg_of(e);
	assert_memory_equal(c.gw_mac, gw.b, 6);
	assert_int_equal(c.flowid, 0);
	assert_int_equal(hnv_fp_trace_set(e->fp, true), 0);
	assert_int_equal(cfg_of(e).trace, 1);
}

static void test_routes(void **state)
{
	struct env *e = *state;
	fp_bind(e);
	add_rd(e->p, "blue", 1);
	assert_int_equal(add_vs(e->p, 5001, "blue", "10.0.0.0", 24), 0);
	assert_int_equal(add_vs(e->p, 5002, "blue", "10.0.1.0", 24), 0);
	struct hnv_route_spec a = route("blue", 5001, "10.8.0.0", 16, "10.0.0.5", 10);
	struct hnv_route_spec b = route("blue", 5002, "10.8.0.0", 16, "10.0.1.5", 5);
	assert_int_equal(hnv_policy_route_add(e->p, &a), 0);
	assert_int_equal(hnv_policy_route_add(e->p, &b), 0);
	struct fp_route_key k = route_key(0, "10.8.0.0", 16);
	struct fp_route v;
	assert_false(lpm_exact(fd(e, "fp_routes"), &k, &v)); /* staged */
	uint64_t ops = hnv_fp_map_ops(e->fp);
	assert_int_equal(hnv_policy_commit(e->p), 0);
	assert_int_equal(hnv_fp_map_ops(e->fp), ops + 1); /* one prefix, one write */
	assert_true(lpm_exact(fd(e, "fp_routes"), &k, &v));
	assert_int_equal(v.vsid, 5002);
	assert_int_equal(v.metric, 5);
	/* the kernel's LPM finds it for an address inside */
	struct fp_route_key host = route_key(0, "10.8.3.4", 32);
	struct fp_route hv;
	assert_int_equal(bpf_map_lookup_elem(fd(e, "fp_routes"), &host, &hv), 0);
	assert_memory_equal(&hv, &v, sizeof(v));
	struct hnv_prefix p8 = pfx("10.8.0.0", 16);
	assert_int_equal(hnv_policy_route_del(e->p, "blue", &p8, &b.nexthop), 0);
	assert_int_equal(hnv_policy_commit(e->p), 0);
	assert_true(lpm_exact(fd(e, "fp_routes"), &k, &v));
	assert_int_equal(v.vsid, 5001);
	assert_int_equal(v.metric, 10);
	struct hnv_ip nh = pg_ip("10.0.0.5");
	assert_memory_equal(v.nexthop.b, nh.b, 16);
	assert_int_equal(hnv_policy_route_del(e->p, "blue", &p8, &a.nexthop), 0);
	assert_int_equal(hnv_policy_commit(e->p), 0);
	assert_false(lpm_exact(fd(e, "fp_routes"), &k, &v));
	assert_int_equal(map_count(fd(e, "fp_routes"), sizeof(k)), 0);
}

static void test_replace_1000(void **state)
{
	struct env *e = *state;
	fp_bind(e);
	add_rd(e->p, "blue", 1);
	assert_int_equal(add_vs(e->p, 5001, "blue", "10.0.0.0", 16), 0);
	char ca[32], mac[16];
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(ca, sizeof(ca), "10.0.%u.%u", i / 200, i % 200 + 2);
		snprintf(mac, sizeof(mac), "00155d%06x", i);
		struct hnv_lookup_spec r = rec(5001, ca, "192.168.1.2", mac);
		assert_int_equal(hnv_policy_lookup_add(e->p, &r), 0);
	}
	uint64_t ops = hnv_fp_map_ops(e->fp);
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(ca, sizeof(ca), "10.0.%u.%u", i / 200, i % 200 + 2);
		snprintf(mac, sizeof(mac), "00155d%06x", i);
		struct hnv_lookup_spec r = rec(5001, ca, "192.168.7.7", mac);
		assert_int_equal(hnv_policy_lookup_set(e->p, &r), 0);
	}
	assert_int_equal(hnv_fp_map_ops(e->fp) - ops, 1000);
	assert_int_equal(map_count(fd(e, "fp_recs4"), sizeof(struct fp_rec4_key)), 1000);
	struct fp_rec4_key rk = rec4_key(5001, "10.0.4.199");
	expect_rec(e, "fp_recs4", &rk, "192.168.7.7", "00155d0003e5", HNV_TYPE_STATIC);
}

/* fp_lrecs: the records whose PA is local, each equal to its record in
 * fp_recs4/fp_recs, through record and PA changes; a record change that
 * does not involve a local PA writes one entry, as before. */
static void test_local_records(void **state)
{
	struct env *e = *state;
	add_rd(e->p, "blue", 1);
	assert_int_equal(add_vs(e->p, 5001, "blue", "10.0.0.0", 24), 0);
	assert_int_equal(add_vs(e->p, 6001, "blue", "fd00::", 64), 0);
	struct hnv_lookup_spec a = rec(5001, "10.0.0.5", "192.168.1.1", "00155d000005");
	struct hnv_lookup_spec b = rec(5001, "10.0.0.6", "192.168.1.2", "00155d000006");
	struct hnv_lookup_spec c6 = rec(6001, "fd00::7", "192.168.1.1", "00155d000007");
	assert_int_equal(hnv_policy_lookup_add(e->p, &a), 0);
	assert_int_equal(hnv_policy_lookup_add(e->p, &b), 0);
	assert_int_equal(hnv_policy_lookup_add(e->p, &c6), 0);
	struct hnv_prefix pa = pfx("192.168.1.1", 24);
	assert_int_equal(hnv_policy_pa_add(e->p, &pa), 0);
	fp_bind(e);
	int lf = fd(e, "fp_lrecs");
	/* the local ones, IPv4 and IPv6 CAs, under their mapped addresses */
	struct fp_rec_key ka = rec_key(5001, "10.0.0.5"), kb = rec_key(5001, "10.0.0.6");
	struct fp_rec_key kc = rec_key(6001, "fd00::7");
	assert_int_equal(map_count(lf, sizeof(ka)), 2);
	expect_rec(e, "fp_lrecs", &ka, "192.168.1.1", "00155d000005", HNV_TYPE_STATIC);
	expect_rec(e, "fp_lrecs", &kc, "192.168.1.1", "00155d000007", HNV_TYPE_STATIC);

	/* moved to another host: no copy left (a frame for it is the C
	 * engine's REDIRECT, read from fp_recs4) */
	a.pa = pg_ip("192.168.1.9");
	assert_int_equal(hnv_policy_lookup_set(e->p, &a), 0);
	struct fp_rec v;
	assert_int_not_equal(bpf_map_lookup_elem(lf, &ka, &v), 0);
	struct fp_rec4_key k4 = rec4_key(5001, "10.0.0.5");
	expect_rec(e, "fp_recs4", &k4, "192.168.1.9", "00155d000005", HNV_TYPE_STATIC);
	/* a remote record changed: one write, nothing in fp_lrecs */
	uint64_t ops = hnv_fp_map_ops(e->fp);
	b.pa = pg_ip("192.168.1.3");
	assert_int_equal(hnv_policy_lookup_set(e->p, &b), 0);
	assert_int_equal(hnv_fp_map_ops(e->fp), ops + 1);
	assert_int_not_equal(bpf_map_lookup_elem(lf, &kb, &v), 0);
	/* moved here */
	b.pa = pg_ip("192.168.1.1");
	assert_int_equal(hnv_policy_lookup_set(e->p, &b), 0);
	expect_rec(e, "fp_lrecs", &kb, "192.168.1.1", "00155d000006", HNV_TYPE_STATIC);

	/* 192.168.1.9 becomes a local PA: a's copy appears; then it goes */
	struct hnv_prefix pa9 = pfx("192.168.1.9", 24);
	assert_int_equal(hnv_policy_pa_add(e->p, &pa9), 0);
	expect_rec(e, "fp_lrecs", &ka, "192.168.1.9", "00155d000005", HNV_TYPE_STATIC);
	assert_int_equal(map_count(lf, sizeof(ka)), 3);
	assert_int_equal(hnv_policy_pa_del(e->p, &pa9.addr), 0);
	assert_int_not_equal(bpf_map_lookup_elem(lf, &ka, &v), 0);
	assert_int_equal(map_count(lf, sizeof(ka)), 2);

	/* deleted records take their copies along */
	assert_int_equal(hnv_policy_lookup_del(e->p, 5001, &b.ca, &b.mac), 0);
	assert_int_equal(hnv_policy_lookup_del(e->p, 6001, &c6.ca, &c6.mac), 0);
	assert_int_equal(map_count(lf, sizeof(ka)), 0);
}

/* ---- ports, tc and test runs (in this process's own namespace) ---- */

static int sh(const char *cmd)
{
	int rc = system(cmd);
	return rc == 0 ? 0 : -1;
}

/* Lines of `tc filter show dev DEV DIR` that mention what. */
static unsigned tc_count(const char *dev, const char *dir, const char *what)
{
	char cmd[128], line[512];
	snprintf(cmd, sizeof(cmd), "tc filter show dev %s %s 2>&1", dev, dir);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	unsigned n = 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	pclose(f);
	return n;
}

static bool tc_shows(const char *dev, const char *dir, const char *what)
{
	return tc_count(dev, dir, what) > 0;
}

static bool has_clsact(const char *dev)
{
	char cmd[128], line[512];
	snprintf(cmd, sizeof(cmd), "tc qdisc show dev %s 2>&1", dev);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	bool seen = false;
	while (fgets(line, sizeof(line), f))
		seen |= strstr(line, "clsact") != NULL;
	pclose(f);
	return seen;
}

static void test_ports(void **state)
{
	struct env *e = *state;
	assert_int_equal(sh("ip link add fpt0 type veth peer name fpt1 && ip link add fpt2 type "
			    "veth peer name fpt3 && ip link set fpt0 up && ip link set fpt1 up"),
			 0);
	int if0 = (int)if_nametoindex("fpt0"), if2 = (int)if_nametoindex("fpt2");
	add_rd(e->p, "blue", 1);
	assert_int_equal(add_vs(e->p, 5001, "blue", "10.0.0.0", 24), 0);
	struct hnv_port_spec ps = port("vm1", 5001, "00155d000011", "10.0.0.11");
	int id = hnv_policy_port_add(e->p, &ps);
	assert_true(id > 0);
	char err[256] = "";
	/* attached before bind: the entries come with bind */
	assert_int_equal(hnv_fp_attach_port(e->fp, (unsigned)id, "fpt0", HNV_FP_PORT_DEV, err,
					    sizeof(err)),
			 0);
	assert_true(tc_shows("fpt0", "ingress", "fp_port_in"));
	assert_int_equal(map_count(fd(e, "fp_ports"), 4), 0);
	fp_bind(e);
	__u32 k = (__u32)if0;
	struct fp_port v, ve;
	memset(&ve, 0, sizeof(ve));
	ve.id = (uint16_t)id;
	ve.flags = 0;
	ve.n_cas = 1;
	ve.vsid = 5001;
	memcpy(ve.mac, ps.mac.b, 6);
	memcpy(ve.cas[0].b, ps.cas[0].b, 16);
	__u32 vk = 5001;
	ve.has_vs = 1;
	assert_int_equal(bpf_map_lookup_elem(fd(e, "fp_vsids"), &vk, &ve.vs), 0);
	assert_int_equal(bpf_map_lookup_elem(fd(e, "fp_ports"), &k, &v), 0);
	assert_memory_equal(&v, &ve, sizeof(v));
	/* the port's copy of its VSID's entry follows the VSID (a frame the
	 * port sends is judged by the copy) */
	struct hnv_dhcp_cfg dc = dhcp_one_pool();
	assert_int_equal(hnv_policy_vsubnet_dhcp_set(e->p, 5001, &dc), 0);
	assert_int_equal(bpf_map_lookup_elem(fd(e, "fp_ports"), &k, &v), 0);
	assert_int_equal(v.has_vs, 1);
	assert_int_equal(v.vs.flags, FP_VSID_DHCP);
	assert_int_equal(hnv_policy_vsubnet_dhcp_set(e->p, 5001, NULL), 0);
	assert_int_equal(bpf_map_lookup_elem(fd(e, "fp_ports"), &k, &v), 0);
	assert_memory_equal(&v, &ve, sizeof(v));
	struct fp_portmac_key mk;
	memset(&mk, 0, sizeof(mk));
	mk.vsid = 5001;
	memcpy(mk.mac, ps.mac.b, 6);
	struct fp_port_ref ref, refe = {.ifindex = (__u32)if0, .id = (uint16_t)id, .flags = 0};
	assert_int_equal(bpf_map_lookup_elem(fd(e, "fp_port_macs"), &mk, &ref), 0);
	assert_memory_equal(&ref, &refe, sizeof(ref));

	/* the policy deletes the port: its entries go, the filter stays */
	assert_int_equal(hnv_policy_port_del(e->p, "vm1"), 0);
	assert_int_equal(map_count(fd(e, "fp_ports"), 4), 0);
	assert_int_equal(map_count(fd(e, "fp_port_macs"), sizeof(mk)), 0);
	id = hnv_policy_port_add(e->p, &ps);
	assert_int_equal(bpf_map_lookup_elem(fd(e, "fp_ports"), &k, &v), 0);
	assert_int_equal(hnv_fp_detach_port(e->fp, (unsigned)id), 0);
	assert_false(tc_shows("fpt0", "ingress", "fp_port_in"));
	assert_false(has_clsact("fpt0"));
	assert_int_equal(map_count(fd(e, "fp_ports"), 4), 0);
	assert_int_equal(map_count(fd(e, "fp_port_macs"), sizeof(mk)), 0);
	assert_int_equal(hnv_fp_detach_port(e->fp, (unsigned)id), -ENOENT);

	/* a gateway port: egress program, GATEWAY|INGRESS */
	struct hnv_port_spec gs = port("vsid5001", 5001, "00155d0000ff", "10.0.0.1");
	gs.gateway = true;
	int gid = hnv_policy_port_add(e->p, &gs);
	assert_true(gid > 0);
	assert_int_equal(hnv_fp_attach_port(e->fp, (unsigned)gid, "fpt2", HNV_FP_PORT_GATEWAY, err,
					    sizeof(err)),
			 0);
	assert_true(tc_shows("fpt2", "egress", "fp_gw_out"));
	k = (__u32)if2;
	assert_int_equal(bpf_map_lookup_elem(fd(e, "fp_ports"), &k, &v), 0);
	assert_int_equal(v.flags, FP_PORT_GATEWAY | FP_PORT_INGRESS);
	/* a TAP port: no program, FP_PORT_SLOW */
	assert_int_equal(hnv_fp_attach_port(e->fp, (unsigned)id, "fpt1", HNV_FP_PORT_TAP, err,
					    sizeof(err)),
			 0);
	assert_false(tc_shows("fpt1", "ingress", "fp_"));
	k = if_nametoindex("fpt1");
	assert_int_equal(bpf_map_lookup_elem(fd(e, "fp_ports"), &k, &v), 0);
	assert_int_equal(v.flags, FP_PORT_SLOW);
	/* one device serves one port */
	assert_int_equal(hnv_fp_attach_port(e->fp, 77, "fpt1", HNV_FP_PORT_DEV, err, sizeof(err)),
			 -EBUSY);

	/* the uplink */
	assert_int_equal(hnv_fp_attach_uplink(e->fp, "fpt3", err, sizeof(err)), 0);
	assert_true(tc_shows("fpt3", "ingress", "fp_uplink_in"));
	assert_int_equal(cfg_of(e).uplink_ifindex, if_nametoindex("fpt3"));

	/* a test run as if the frame came in on the uplink: ethertype 0x0c0d
	 * is not HNV's, so the program leaves it to the host unchanged */
	uint8_t frame[60], out[128];
	memset(frame, 0, sizeof(frame));
	for (unsigned i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)i;
	size_t outlen = 0;
	struct fp_verdict vd;
	double ns = -1;
	assert_int_equal(hnv_fp_test_run(e->fp, HNV_FP_PROG_UPLINK, (int)if_nametoindex("fpt3"),
					 frame, sizeof(frame), out, sizeof(out), &outlen, &vd, 100,
					 &ns),
			 0);
	assert_int_equal(vd.action, FP_ACT_PASS);
	assert_int_equal(vd.reason, HNV_R__COUNT);
	assert_int_equal(outlen, sizeof(frame));
	assert_memory_equal(out, frame, sizeof(frame));
	assert_true(ns >= 0);
	assert_int_equal(hnv_fp_test_run(e->fp, HNV_FP_PROG_UPLINK, 0, frame, 10, out, sizeof(out),
					 &outlen, &vd, 1, NULL),
			 -EINVAL);

	/* free removes every filter and the qdiscs it created */
	hnv_fp_free(e->fp);
	e->fp = NULL;
	assert_false(tc_shows("fpt2", "egress", "fp_gw_out"));
	assert_false(tc_shows("fpt3", "ingress", "fp_uplink_in"));
	assert_false(has_clsact("fpt3"));
	/* a filter left by a crashed instance (stale) is replaced, not
	 * doubled; a clsact qdisc fp did not create stays */
	assert_int_equal(sh("tc qdisc add dev fpt0 clsact"), 0);
	struct hnv_fp *stale;
	assert_int_equal(hnv_fp_open(&stale, err, sizeof(err)), 0);
	assert_int_equal(hnv_fp_attach_port(stale, 5, "fpt0", HNV_FP_PORT_DEV, err, sizeof(err)), 0);
	assert_int_equal(hnv_fp_open(&e->fp, err, sizeof(err)), 0);
	assert_int_equal(hnv_fp_attach_port(e->fp, 5, "fpt0", HNV_FP_PORT_DEV, err, sizeof(err)), 0);
	assert_int_equal(tc_count("fpt0", "ingress", "fp_port_in"), 1);
	hnv_fp_free(e->fp);
	e->fp = NULL;
	assert_false(tc_shows("fpt0", "ingress", "fp_port_in"));
	assert_true(has_clsact("fpt0"));
	hnv_fp_free(stale);
	assert_true(has_clsact("fpt0"));
	sh("ip link del fpt0; ip link del fpt2");
}

/* ---- counters ---- */

static void test_counters(void **state)
{
	struct env *e = *state;
	fp_bind(e);
	int ncpus = libbpf_num_possible_cpus();
	uint64_t *vals = calloc((size_t)ncpus, sizeof(*vals));
	for (int c = 0; c < ncpus; c++)
		vals[c] = (uint64_t)c + 1;
	__u32 k = HNV_R_tx_encap;
	assert_int_equal(bpf_map_update_elem(fd(e, "fp_counters"), &k, vals, BPF_ANY), 0);
	k = FP_C_PUNT;
	assert_int_equal(bpf_map_update_elem(fd(e, "fp_counters"), &k, vals, BPF_ANY), 0);
	free(vals);
	uint64_t want = (uint64_t)ncpus * (uint64_t)(ncpus + 1) / 2;
	uint64_t out[HNV_R__COUNT];
	hnv_dp_counters(e->dp, out);
	assert_int_equal(out[HNV_R_tx_encap], want);
	assert_int_equal(out[HNV_R_tx_local], 0);
	uint64_t ev[FP_C__COUNT - HNV_R__COUNT];
	hnv_fp_events(e->fp, ev);
	assert_int_equal(ev[FP_C_PUNT - HNV_R__COUNT], want);
	assert_int_equal(ev[FP_C_PASS - HNV_R__COUNT], 0);
}

/* ---- per-port I/O (fp_port_stats) ---- */

static struct fp_port_stats port_stats(struct env *e, unsigned id)
{
	struct fp_port_stats st;
	assert_int_equal(hnv_fp_port_stats(e->fp, id, &st), 0);
	return st;
}

/* One frame the port's program drops (not IPv4 inside: drop_bad_ip). */
static void drop_one(struct env *e, int ifindex, size_t len)
{
	uint8_t frame[128], out[256];
	memset(frame, 0, sizeof(frame));
	frame[12] = 0x08; /* IPv4, version 0 */
	size_t outlen;
	struct fp_verdict vd;
	assert_int_equal(hnv_fp_test_run(e->fp, HNV_FP_PROG_PORT, ifindex, frame, len, out,
					 sizeof(out), &outlen, &vd, 1, NULL),
			 0);
	assert_int_equal(vd.action, FP_ACT_DROP);
}

/* Counts land in the port's slot and are summed over the CPUs; a port
 * that leaves the maps and comes back (the policy deletes and re-adds it,
 * or it is detached and attached again) starts from 0. */
static void test_port_stats(void **state)
{
	struct env *e = *state;
	assert_int_equal(sh("ip link add fps0 type veth peer name fps1 && ip link set fps0 up"), 0);
	int ifi = (int)if_nametoindex("fps0");
	add_rd(e->p, "blue", 1);
	assert_int_equal(add_vs(e->p, 5001, "blue", "10.0.0.0", 24), 0);
	struct hnv_port_spec ps = port("vm1", 5001, "00155d000011", "10.0.0.11");
	int id = hnv_policy_port_add(e->p, &ps);
	assert_true(id > 0);
	char err[256] = "";
	fp_bind(e);
	assert_int_equal(
		hnv_fp_attach_port(e->fp, (unsigned)id, "fps0", HNV_FP_PORT_DEV, err, sizeof(err)),
		0);
	struct fp_port_stats st = port_stats(e, (unsigned)id);
	assert_int_equal(st.rx_packets + st.tx_packets + st.rx_dropped, 0);
	drop_one(e, ifi, 60);
	drop_one(e, ifi, 70);
	st = port_stats(e, (unsigned)id);
	assert_int_equal(st.rx_packets, 2);
	assert_int_equal(st.rx_bytes, 130);
	assert_int_equal(st.rx_dropped, 2);
	assert_int_equal(st.tx_packets, 0);
	assert_int_equal(st.tx_bytes, 0);
	/* the uplink's slot and other ports' are untouched */
	assert_int_equal(port_stats(e, HNV_PORT_UPLINK).rx_packets, 0);
	assert_int_equal(port_stats(e, (unsigned)id + 1).rx_packets, 0);

	/* every CPU's value is summed */
	int ncpus = libbpf_num_possible_cpus();
	struct fp_port_stats *per = calloc((size_t)ncpus, sizeof(*per));
	for (int c = 0; c < ncpus; c++)
		per[c].tx_packets = (uint64_t)c + 1;
	__u32 k = (__u32)id;
	assert_int_equal(bpf_map_update_elem(fd(e, "fp_port_stats"), &k, per, BPF_ANY), 0);
	free(per);
	assert_int_equal(port_stats(e, (unsigned)id).tx_packets,
			 (uint64_t)ncpus * (uint64_t)(ncpus + 1) / 2);

	/* the policy deletes the port and adds one with its id: from 0 */
	drop_one(e, ifi, 60);
	assert_int_equal(hnv_policy_port_del(e->p, "vm1"), 0);
	struct hnv_port_spec ps2 = port("vm2", 5001, "00155d000012", "10.0.0.12");
	int id2 = hnv_policy_port_add(e->p, &ps2);
	assert_int_equal(id2, id);
	st = port_stats(e, (unsigned)id);
	assert_int_equal(st.rx_packets + st.rx_bytes + st.rx_dropped + st.tx_packets + st.tx_bytes,
			 0);
	drop_one(e, ifi, 60);
	assert_int_equal(port_stats(e, (unsigned)id).rx_packets, 1);

	/* detached and attached again: from 0 */
	assert_int_equal(hnv_fp_detach_port(e->fp, (unsigned)id), 0);
	assert_int_equal(port_stats(e, (unsigned)id).rx_packets, 1); /* kept until it comes back */
	assert_int_equal(
		hnv_fp_attach_port(e->fp, (unsigned)id, "fps0", HNV_FP_PORT_DEV, err, sizeof(err)),
		0);
	assert_int_equal(port_stats(e, (unsigned)id).rx_packets, 0);
	drop_one(e, ifi, 60);
	assert_int_equal(port_stats(e, (unsigned)id).rx_packets, 1);

	struct fp_port_stats bad;
	assert_int_equal(hnv_fp_port_stats(e->fp, FP_MAX_PORTS, &bad), -EINVAL);
	sh("ip link del fps0");
}

/* ---- the punt reader, fed by a small program that writes records the
 * way the fast path does: bpf_perf_event_output(skb, fp_punt,
 * BPF_F_CURRENT_CPU | frame bytes << 32, &hdr, sizeof(hdr)) ---- */

#define INSN(c, d, s, o, i)                                                                        \
	((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

static int punt_prog(int punt_fd, uint16_t kind, uint16_t in_port, uint32_t hdr_len,
		     uint32_t append)
{
	_Static_assert(sizeof(struct fp_event_hdr) == 28, "the program below writes 28 bytes");
	uint64_t flags = BPF_F_CURRENT_CPU | (uint64_t)append << 32;
	struct bpf_insn insns[] = {
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0),
		/* struct fp_event_hdr at r10 - 28 */
		INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -28, (int32_t)(kind | (uint32_t)in_port << 16)),
		INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -24, 3),                /* ifindex */
		INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -20, (int32_t)hdr_len), /* len */
		INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -16, 9),                /* v.reason */
		INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -12, 0),                /* v.out_ifindex */
		INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -8, 5001),              /* v.vsid */
		INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, FP_ACT_DROP),       /* v.action... */
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0),
		INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_2, BPF_PSEUDO_MAP_FD, 0, punt_fd),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_3, 0, 0, (int32_t)(uint32_t)flags),
		INSN(0, 0, 0, 0, (int32_t)(uint32_t)(flags >> 32)),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_4, 0, 0, -28),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_5, 0, 0, 28),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_perf_event_output),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, TC_ACT_SHOT),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	int pfd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "punt_test", "GPL", insns,
				sizeof(insns) / sizeof(insns[0]), NULL);
	assert_true(pfd >= 0);
	return pfd;
}

static void emit(int pfd, const uint8_t *frame, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (uint32_t)len);
	assert_int_equal(bpf_prog_test_run_opts(pfd, &o), 0);
	assert_int_equal(o.retval, TC_ACT_SHOT);
}

static void test_punt_read(void **state)
{
	struct env *e = *state;
	int punt = fd(e, "fp_punt");
	assert_true(hnv_fp_punt_fd(e->fp) >= 0);
	uint8_t frame[64];
	for (unsigned i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(0xa0 + i);
	int good = punt_prog(punt, FP_EV_PUNT, 7, sizeof(frame), sizeof(frame));
	int liar = punt_prog(punt, FP_EV_PUNT, 7, 4000, sizeof(frame)); /* len beyond the record */
	int badport = punt_prog(punt, FP_EV_PUNT, HNV_PORTS_MAX, sizeof(frame), sizeof(frame));
	int odd = punt_prog(punt, 9, 7, 0, 0);
	int trace = punt_prog(punt, FP_EV_TRACE, 3, 0, 0);
	emit(good, frame, sizeof(frame));
	emit(liar, frame, sizeof(frame));
	emit(badport, frame, sizeof(frame));
	emit(odd, frame, sizeof(frame));
	emit(trace, frame, sizeof(frame));
	emit(good, frame, sizeof(frame));
	emit(good, frame, sizeof(frame));

	static struct hnv_pkt pk[2];
	struct hnv_pkt *pkts[2] = {&pk[0], &pk[1]};
	int total = 0, n;
	/* a batch of 2 stops the reader; the rest waits */
	n = hnv_fp_punt_read(e->fp, pkts, 2);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++) {
		assert_int_equal(pk[i].len, sizeof(frame));
		assert_int_equal(pk[i].in_port, 7);
		assert_memory_equal(pk[i].data, frame, sizeof(frame));
	}
	total += n;
	while ((n = hnv_fp_punt_read(e->fp, pkts, 2)) > 0)
		total += n;
	assert_int_equal(n, 0);
	assert_int_equal(total, 3);
	struct hnv_fp_punt_stats st;
	hnv_fp_punt_stats(e->fp, &st);
	assert_int_equal(st.frames, 3);
	assert_int_equal(st.malformed, 3);
	assert_int_equal(st.traces, 1);
	struct hnv_fp_trace t[4];
	assert_int_equal(hnv_fp_trace_take(e->fp, t, 4), 1);
	assert_int_equal(t[0].in_port, 3);
	assert_int_equal(t[0].ifindex, 3);
	assert_int_equal(t[0].v.reason, 9);
	assert_int_equal(t[0].v.vsid, 5001);
	assert_int_equal(t[0].v.action, FP_ACT_DROP);
	assert_int_equal(hnv_fp_trace_take(e->fp, t, 4), 0);
	close(good);
	close(liar);
	close(badport);
	close(odd);
	close(trace);
}

/* ---- the punt reader completes partial checksums ----
 * A frame that was CHECKSUM_PARTIAL in the kernel reaches the reader with
 * its TCP/UDP checksum field holding the folded pseudo-header sum
 * (datapath/io/common.c); it must come out with the full checksum. A
 * checksum that is plainly wrong, and IPv4 UDP without one, stay. */

/* The folded, uncomplemented pseudo-header sum of the IP packet at ip, as
 * the kernel's __tcp_v4_send_check or udp6_hwcsum_outgoing leaves it in
 * the checksum field. */
static uint16_t pseudo_sum(const uint8_t *ip)
{
	uint32_t s;
	if (ip[0] >> 4 == 4) {
		size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
		s = pg_sum(0, ip + 12, 8) + ip[9] + (uint32_t)(pg_get16(ip + 2) - ihl);
	} else {
		s = pg_sum(0, ip + 8, 32) + ip[6] + pg_get16(ip + 4);
	}
	return (uint16_t)~pg_fold(s);
}

/* Emits frame[0..len) as a punt record and reads it back into *out. */
static void punt_roundtrip(struct env *e, const uint8_t *frame, size_t len, struct hnv_pkt *out)
{
	int prog = punt_prog(fd(e, "fp_punt"), FP_EV_PUNT, 7, (uint32_t)len, (uint32_t)len);
	emit(prog, frame, len);
	close(prog);
	struct hnv_pkt *pkts[1] = {out};
	assert_int_equal(hnv_fp_punt_read(e->fp, pkts, 1), 1);
	assert_int_equal(out->len, len);
	assert_int_equal(out->in_port, 7);
}

/* good: a correct frame whose L4 checksum is at l4 + at; the field is
 * replaced by the pseudo-header sum, the frame punted, and what comes out
 * must be good again, byte for byte. */
static void check_completed(struct env *e, const uint8_t *good, size_t len, size_t ip, size_t l4,
			    size_t at)
{
	static uint8_t f[2048];
	static struct hnv_pkt pk;
	memcpy(f, good, len);
	pg_put16(f + l4 + at, pseudo_sum(f + ip));
	assert_memory_not_equal(f, good, len);
	punt_roundtrip(e, f, len, &pk);
	assert_memory_equal(pk.data, good, len);
}

/* frame goes through the reader unchanged */
static void check_untouched(struct env *e, const uint8_t *frame, size_t len)
{
	static struct hnv_pkt pk;
	punt_roundtrip(e, frame, len, &pk);
	assert_memory_equal(pk.data, frame, len);
}

static void test_punt_csum(void **state)
{
	struct env *e = *state;
	static uint8_t good[2048], f[2048], inner[2048];
	size_t len;

	/* TCP/IPv4, as the guest's SYN in the qemu test */
	struct pg_ip_pkt t4 =
		pg_ip_defaults("060600000005", "060600000007", "10.0.0.5", "10.0.0.7", 6);
	t4.payload_len = 101; /* odd: the last byte is summed padded */
	len = pg_ip_frame(good, &t4);
	check_completed(e, good, len, 14, 34, 16);

	/* UDP/IPv6 */
	struct pg_ip_pkt u6 =
		pg_ip_defaults("060600000005", "060600000007", "fd00::5", "fd00::7", 17);
	u6.payload_len = 300;
	len = pg_ip_frame(good, &u6);
	check_completed(e, good, len, 14, 54, 6);

	/* TCP/IPv6 behind an 802.1Q tag */
	struct pg_ip_pkt t6 =
		pg_ip_defaults("060600000005", "060600000007", "fd00::5", "fd00::7", 6);
	t6.vlan = 100;
	len = pg_ip_frame(good, &t6);
	check_completed(e, good, len, 18, 58, 16);

	/* the bug's shape: the fast path punts the NVGRE packet for a TAP
	 * port; the inner TCP/IPv4 segment is the partial one */
	size_t ilen = pg_ip_frame(inner, &t4);
	struct pg_gre g = pg_gre_defaults("192.168.4.11", "192.168.4.22", 5001);
	len = pg_nvgre(good, &g, inner, ilen);
	check_completed(e, good, len, 14 + 20 + 8 + 14, 14 + 20 + 8 + 14 + 20, 16);

	/* plainly wrong checksums stay wrong */
	len = pg_ip_frame(good, &t4);
	memcpy(f, good, len);
	f[34 + 16] ^= 0x5a;
	check_untouched(e, f, len);
	len = pg_ip_frame(good, &u6);
	memcpy(f, good, len);
	pg_put16(f + 54 + 6, (uint16_t)(pseudo_sum(f + 14) + 1));
	check_untouched(e, f, len);

	/* UDP/IPv4 with checksum 0: none, and stays none */
	struct pg_ip_pkt u4 =
		pg_ip_defaults("060600000005", "060600000007", "10.0.0.5", "10.0.0.7", 17);
	len = pg_ip_frame(f, &u4);
	pg_put16(f + 34 + 6, 0);
	check_untouched(e, f, len);

	/* a fragment's checksum covers the whole datagram: not touched, even
	 * with the pseudo-header sum in its field */
	len = pg_ip_frame(f, &t4);
	pg_put16(f + 14 + 6, 0x2000); /* MF */
	pg_put16(f + 14 + 10, 0);
	pg_put16(f + 14 + 10, pg_fold(pg_sum(0, f + 14, 20)));
	pg_put16(f + 34 + 16, pseudo_sum(f + 14));
	check_untouched(e, f, len);

	/* a correct frame, and one that is not IP, unchanged */
	len = pg_ip_frame(f, &t4);
	check_untouched(e, f, len);
	for (unsigned i = 0; i < 64; i++)
		f[i] = (uint8_t)(0xa0 + i);
	check_untouched(e, f, 64);
}

/* ---- a refusing mirror (no kernel needed) ---- */

struct fake {
	int fail; /* returned by every callback while not 0 */
	unsigned calls, publishes;
};

static int f_vs(void *a, const struct hnv_vsubnet *v)
{
	(void)v;
	struct fake *f = a;
	f->calls++;
	return f->fail;
}
static int f_rec(void *a, const struct hnv_rec *r)
{
	(void)r;
	struct fake *f = a;
	f->calls++;
	return f->fail;
}
static int f_touch(void *a, uint16_t rd, const struct hnv_prefix *p)
{
	(void)rd;
	(void)p;
	struct fake *f = a;
	f->calls++;
	return f->fail;
}
static int f_publish(void *a)
{
	struct fake *f = a;
	f->publishes++;
	return f->fail;
}
static int f_pa(void *a, const struct hnv_ip *pa, bool added, const struct hnv_ip *p4,
		const struct hnv_ip *p6)
{
	(void)pa;
	(void)added;
	(void)p4;
	(void)p6;
	struct fake *f = a;
	f->calls++;
	return f->fail;
}
static int f_port(void *a, const struct hnv_port *pt)
{
	(void)pt;
	struct fake *f = a;
	f->calls++;
	return f->fail;
}

static const struct hnv_policy_mirror_ops fake_ops = {
	.vsubnet_set = f_vs,
	.vsubnet_del = f_vs,
	.rec_set = f_rec,
	.rec_del = f_rec,
	.route_touch = f_touch,
	.route_publish = f_publish,
	.pa_set = f_pa,
	.port_set = f_port,
	.port_del = f_port,
};

static void test_mirror_failure(void **state)
{
	(void)state;
	struct hnv_policy *p = hnv_policy_new();
	struct fake f = {0};
	struct hnv_policy_mirror m = {&fake_ops, &f};
	hnv_policy_set_mirror(p, &m);
	add_rd(p, "blue", 1);
	assert_int_equal(add_vs(p, 5001, "blue", "10.0.0.0", 24), 0);
	struct hnv_lookup_spec r = rec(5001, "10.0.0.5", "192.168.1.2", "00155d000005");
	assert_int_equal(hnv_policy_lookup_add(p, &r), 0);
	struct hnv_route_spec rt = route("blue", 5001, "10.9.0.0", 16, "10.0.0.5", 7);
	assert_int_equal(hnv_policy_route_add(p, &rt), 0);
	assert_int_equal(hnv_policy_commit(p), 0);
	struct hnv_prefix pa = pfx("192.168.1.1", 24);
	assert_int_equal(hnv_policy_pa_add(p, &pa), 0);
	struct hnv_port_spec ps = port("vm1", 5001, "00155d000011", "10.0.0.11");
	assert_true(hnv_policy_port_add(p, &ps) > 0);
	assert_int_equal(f.calls, 5); /* vsubnet, record, route, PA, port */

	struct hnv_policy_stats before, after;
	hnv_policy_stats(p, &before);
	f.fail = -EIO;
	/* every write refused: each returns the mirror's error, nothing changes */
	assert_int_equal(add_vs(p, 5002, "blue", "10.0.1.0", 24), -EIO);
	assert_null(hnv_policy_vsubnet(p, 5002));
	assert_int_equal(hnv_policy_vsubnet_del(p, 7777), -ENOENT); /* no mirror call */
	struct hnv_dhcp_cfg dc = dhcp_one_pool();
	assert_int_equal(hnv_policy_vsubnet_dhcp_set(p, 5001, &dc), -EIO);
	assert_null(hnv_policy_vsubnet(p, 5001)->dhcp);

	struct hnv_lookup_spec r2 = rec(5001, "10.0.0.6", "192.168.1.2", "00155d000006");
	assert_int_equal(hnv_policy_lookup_add(p, &r2), -EIO);
	assert_null(hnv_policy_rec_by_ca(p, hnv_hash_ca(5001, &r2.ca), 5001, &r2.ca));
	assert_null(hnv_policy_rec_by_mac(p, hnv_hash_mac(5001, &r2.mac), 5001, &r2.mac));
	struct hnv_lookup_spec r1 = r;
	r1.pa = pg_ip("192.168.9.9");
	assert_int_equal(hnv_policy_lookup_set(p, &r1), -EIO);
	const struct hnv_rec *cur = hnv_policy_rec_by_ca(p, hnv_hash_ca(5001, &r.ca), 5001, &r.ca);
	assert_non_null(cur);
	assert_memory_equal(cur->pa.b, r.pa.b, 16);
	assert_int_equal(hnv_policy_lookup_del(p, 5001, &r.ca, &r.mac), -EIO);
	assert_non_null(hnv_policy_rec_by_ca(p, hnv_hash_ca(5001, &r.ca), 5001, &r.ca));

	struct hnv_route_spec rt2 = route("blue", 5001, "10.7.0.0", 16, "10.0.0.5", 1);
	assert_int_equal(hnv_policy_route_add(p, &rt2), -EIO);
	struct hnv_prefix p9 = pfx("10.9.0.0", 16);
	assert_int_equal(hnv_policy_route_del(p, "blue", &p9, &rt.nexthop), -EIO);
	assert_false(hnv_policy_uncommitted(p));

	struct hnv_prefix pa2 = pfx("192.168.2.1", 24);
	assert_int_equal(hnv_policy_pa_add(p, &pa2), -EIO);
	assert_false(hnv_policy_is_local_pa(p, &pa2.addr));
	assert_int_equal(hnv_policy_pa_del(p, &pa.addr), -EIO);
	assert_true(hnv_policy_is_local_pa(p, &pa.addr));

	struct hnv_port_spec ps2 = port("vm2", 5001, "00155d000012", "10.0.0.12");
	assert_int_equal(hnv_policy_port_add(p, &ps2), -EIO);
	assert_int_equal(hnv_policy_port_id(p, "vm2"), -ENOENT);
	assert_null(hnv_policy_port_by_mac(p, 5001, &ps2.mac));
	assert_int_equal(hnv_policy_port_del(p, "vm1"), -EIO);
	assert_true(hnv_policy_port_id(p, "vm1") > 0);
	assert_non_null(hnv_policy_port_by_mac(p, 5001, &ps.mac));

	hnv_policy_stats(p, &after);
	assert_int_equal(after.n_records, before.n_records);
	assert_int_equal(after.n_routes, before.n_routes);
	assert_int_equal(after.n_vsubnets, before.n_vsubnets);

	/* a refused publish leaves the routes staged and the FIB as it was */
	f.fail = 0;
	assert_int_equal(hnv_policy_route_add(p, &rt2), 0);
	f.fail = -ENOSPC;
	assert_int_equal(hnv_policy_commit(p), -ENOSPC);
	struct hnv_ip in7 = pg_ip("10.7.1.1");
	struct hnv_route_hit hit;
	assert_false(hnv_policy_route_lookup(p, 0, &in7, &hit));
	assert_true(hnv_policy_uncommitted(p));
	f.fail = 0;
	assert_int_equal(hnv_policy_commit(p), 0);
	assert_true(hnv_policy_route_lookup(p, 0, &in7, &hit));
	assert_false(hnv_policy_uncommitted(p));

	/* exact-prefix choice: lowest metric, first configured on a tie, and
	 * the committed FIB agrees */
	struct hnv_route_spec t1 = route("blue", 5001, "10.6.0.0", 16, "10.0.0.7", 3);
	struct hnv_route_spec t2 = route("blue", 5001, "10.6.0.0", 16, "10.0.0.8", 3);
	assert_int_equal(hnv_policy_route_add(p, &t1), 0);
	assert_int_equal(hnv_policy_route_add(p, &t2), 0);
	struct hnv_prefix p6 = pfx("10.6.0.0", 16);
	assert_true(hnv_policy_route_exact(p, 0, &p6, &hit));
	assert_memory_equal(hit.nexthop.b, t1.nexthop.b, 16);
	assert_int_equal(hnv_policy_commit(p), 0);
	struct hnv_ip in6 = pg_ip("10.6.0.9");
	assert_true(hnv_policy_route_lookup(p, 0, &in6, &hit));
	assert_memory_equal(hit.nexthop.b, t1.nexthop.b, 16);
	assert_true(hnv_policy_route_committed(p, 0, &p6, &hit));
	assert_memory_equal(hit.nexthop.b, t1.nexthop.b, 16);

	hnv_policy_set_mirror(p, NULL);
	hnv_policy_free(p);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	urcu_qsbr_register_thread();
	have_root = geteuid() == 0;
	if (have_root && unshare(CLONE_NEWNET) != 0) {
		perror("test_fp: unshare(CLONE_NEWNET)");
		return 1;
	}
	if (have_root)
		sh("ip link set lo up");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mirror_failure),
		T(test_bind_fills),
		T(test_deltas),
		T(test_routes),
		T(test_replace_1000),
		T(test_local_records),
		T(test_ports),
		T(test_counters),
		T(test_port_stats),
		T(test_punt_read),
		T(test_punt_csum),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	urcu_qsbr_unregister_thread();
	return rc;
}
