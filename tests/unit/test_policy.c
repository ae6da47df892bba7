/* test_policy.c: the HNV policy tables (datapath/policy.c, datapath/fib.c).
 *
 * Semantics and error codes of every add/del/set, the record indexes (by
 * CA, by MAC, wildcards), customer-route LPM checked against a brute-force
 * reference, growth through many index rebuilds, memory per record, and a
 * reader thread that must never miss a record or see a torn one while the
 * control thread rewrites it and resizes the tables underneath.
 *
 * The main thread is registered with liburcu-qsbr for the whole run (the
 * read-side functions require it; the write side's synchronize_rcu() puts
 * it offline for the wait by itself).
 */
#define _LGPL_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu/urcu-qsbr.h>

#include "../../datapath/policy.h"
#include "../../datapath/policy_read.h"
#include "pktgen.h"

/* ---- helpers ---- */

static struct hnv_guid guid(unsigned n)
{
	struct hnv_guid g;
	memset(&g, 0x11, sizeof(g));
	g.b[12] = (uint8_t)(n >> 24);
	g.b[13] = (uint8_t)(n >> 16);
	g.b[14] = (uint8_t)(n >> 8);
	g.b[15] = (uint8_t)n;
	return g;
}

static struct hnv_prefix pfx(const char *addr, unsigned len)
{
	struct hnv_prefix p = {pg_ip(addr), (uint8_t)len};
	return p;
}

static int add_rd(struct hnv_policy *p, const char *name, unsigned n)
{
	struct hnv_guid g = guid(n);
	return hnv_policy_rdomain_add(p, name, &g);
}

static int add_vs(struct hnv_policy *p, uint32_t vsid, const char *rd, const char *a1,
		  unsigned l1, const char *a2, unsigned l2)
{
	struct hnv_vsubnet_spec s;
	memset(&s, 0, sizeof(s));
	s.vsid = vsid;
	snprintf(s.rdomain, sizeof(s.rdomain), "%s", rd);
	s.prefixes[s.n_prefixes++] = pfx(a1, l1);
	if (a2)
		s.prefixes[s.n_prefixes++] = pfx(a2, l2);
	return hnv_policy_vsubnet_add(p, &s);
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

static int add_rec(struct hnv_policy *p, uint32_t vsid, const char *ca, const char *pa,
		   const char *mac)
{
	struct hnv_lookup_spec s = rec(vsid, ca, pa, mac);
	return hnv_policy_lookup_add(p, &s);
}

static int del_rec(struct hnv_policy *p, uint32_t vsid, const char *ca, const char *mac)
{
	struct hnv_ip c = pg_ip(ca);
	struct hnv_mac m = pg_mac(mac);
	return hnv_policy_lookup_del(p, vsid, &c, &m);
}

static const struct hnv_rec *by_ca_ip(const struct hnv_policy *p, uint32_t vsid,
				      const struct hnv_ip *ca)
{
	return hnv_policy_rec_by_ca(p, hnv_hash_ca(vsid, ca), vsid, ca);
}

static const struct hnv_rec *by_ca(const struct hnv_policy *p, uint32_t vsid, const char *ca)
{
	struct hnv_ip c = pg_ip(ca);
	return by_ca_ip(p, vsid, &c);
}

static const struct hnv_rec *by_mac_m(const struct hnv_policy *p, uint32_t vsid,
				      const struct hnv_mac *m)
{
	return hnv_policy_rec_by_mac(p, hnv_hash_mac(vsid, m), vsid, m);
}

static const struct hnv_rec *by_mac(const struct hnv_policy *p, uint32_t vsid, const char *mac)
{
	struct hnv_mac m = pg_mac(mac);
	return by_mac_m(p, vsid, &m);
}

static bool rec_is(const struct hnv_rec *r, const char *ca, const char *pa, const char *mac)
{
	struct hnv_ip c = pg_ip(ca), a = pg_ip(pa);
	struct hnv_mac m = pg_mac(mac);
	return r && hnv_ip_eq(&r->ca, &c) && hnv_ip_eq(&r->pa, &a) && hnv_mac_eq(&r->mac, &m);
}

static struct hnv_route_spec route(const char *rd, uint32_t vsid, const char *a, unsigned len,
				   const char *nh, uint32_t metric)
{
	struct hnv_route_spec s;
	memset(&s, 0, sizeof(s));
	snprintf(s.rdomain, sizeof(s.rdomain), "%s", rd);
	s.vsid = vsid;
	s.prefix = pfx(a, len);
	s.nexthop = pg_ip(nh);
	s.metric = metric;
	return s;
}

static int add_route(struct hnv_policy *p, const char *rd, uint32_t vsid, const char *a,
		     unsigned len, const char *nh, uint32_t metric)
{
	struct hnv_route_spec s = route(rd, vsid, a, len, nh, metric);
	return hnv_policy_route_add(p, &s);
}

static uint16_t rd_of(const struct hnv_policy *p, uint32_t vsid)
{
	const struct hnv_vsubnet *v = hnv_policy_vsubnet(p, vsid);
	assert_non_null(v);
	return v->rd_idx;
}

/* Looks dst up in the rdomain of vsid; returns the hit's prefix length, or
 * -1 when nothing matches. */
static int lpm(const struct hnv_policy *p, uint32_t vsid, const char *dst,
	       struct hnv_route_hit *hit)
{
	struct hnv_ip d = pg_ip(dst);
	if (!hnv_policy_route_lookup(p, rd_of(p, vsid), &d, hit))
		return -1;
	return hit->prefix.len;
}

/* Blue (5001: 10.0.0.0/24 + fd00:5001::/64, 5002: 10.0.1.0/24), red
 * (6001: 10.0.0.0/24). */
static int setup_policy(void **state)
{
	struct hnv_policy *p = hnv_policy_new();
	assert_non_null(p);
	assert_int_equal(add_rd(p, "blue", 5001), 0);
	assert_int_equal(add_rd(p, "red", 6001), 0);
	assert_int_equal(add_vs(p, 5001, "blue", "10.0.0.0", 24, "fd00:5001::", 64), 0);
	assert_int_equal(add_vs(p, 5002, "blue", "10.0.1.0", 24, NULL, 0), 0);
	assert_int_equal(add_vs(p, 6001, "red", "10.0.0.0", 24, NULL, 0), 0);
	*state = p;
	return 0;
}

static int teardown_policy(void **state)
{
	urcu_qsbr_thread_offline();
	hnv_policy_free(*state);
	urcu_qsbr_thread_online();
	return 0;
}

/* ---- routing domains and virtual subnets ---- */

static void test_rdomain(void **state)
{
	struct hnv_policy *p = *state;
	assert_int_equal(add_rd(p, "blue", 7777), -EEXIST);  /* same name */
	assert_int_equal(add_rd(p, "green", 5001), -EEXIST); /* same RDID */
	assert_int_equal(add_rd(p, "", 7777), -EINVAL);
	char longname[HNV_NAME_MAX + 2];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(add_rd(p, longname, 7777), -EINVAL);
	longname[HNV_NAME_MAX] = 0; /* exactly the maximum */
	assert_int_equal(add_rd(p, longname, 7777), 0);
	assert_int_equal(hnv_policy_rdomain_del(p, longname), 0);
	assert_int_equal(hnv_policy_rdomain_del(p, "green"), -ENOENT);
	assert_int_equal(hnv_policy_rdomain_del(p, "blue"), -EBUSY); /* has vsubnets */
	assert_int_equal(add_rd(p, "green", 7001), 0);
	struct hnv_policy_stats st;
	hnv_policy_stats(p, &st);
	assert_int_equal(st.n_rdomains, 3);
	assert_int_equal(hnv_policy_rdomain_del(p, "green"), 0);
	assert_int_equal(add_rd(p, "green", 7001), 0); /* the name is free again */
	hnv_policy_stats(p, &st);
	assert_int_equal(st.n_rdomains, 3);
}

static void test_vsubnet(void **state)
{
	struct hnv_policy *p = *state;
	assert_int_equal(add_vs(p, 5001, "blue", "10.9.0.0", 24, NULL, 0), -EEXIST);
	assert_int_equal(add_vs(p, 7001, "nosuch", "10.9.0.0", 24, NULL, 0), -ENOENT);
	assert_int_equal(add_vs(p, 4095, "blue", "10.9.0.0", 24, NULL, 0), -EINVAL);
	assert_int_equal(add_vs(p, 0, "blue", "10.9.0.0", 24, NULL, 0), -EINVAL);
	assert_int_equal(add_vs(p, 16777215, "blue", "10.9.0.0", 24, NULL, 0), -EINVAL);
	assert_int_equal(add_vs(p, 4096, "blue", "10.9.0.0", 24, NULL, 0), 0);
	assert_int_equal(add_vs(p, 16777214, "red", "10.9.0.0", 24, NULL, 0), 0);
	struct hnv_vsubnet_spec s;
	memset(&s, 0, sizeof(s));
	s.vsid = 7001;
	strcpy(s.rdomain, "blue");
	assert_int_equal(hnv_policy_vsubnet_add(p, &s), -EINVAL); /* no prefix */
	s.n_prefixes = HNV_VSUBNET_MAX_PREFIXES + 1;
	assert_int_equal(hnv_policy_vsubnet_add(p, &s), -EINVAL);

	/* what was configured comes back; the gateway is the lowest address */
	struct hnv_vsubnet_spec got;
	assert_int_equal(hnv_policy_vsubnet_get(p, 5001, &got), 0);
	assert_string_equal(got.rdomain, "blue");
	assert_int_equal(got.n_prefixes, 2);
	struct hnv_prefix want = pfx("fd00:5001::", 64);
	assert_true(hnv_ip_eq(&got.prefixes[1].addr, &want.addr));
	assert_int_equal(got.prefixes[1].len, 64);
	assert_int_equal(hnv_policy_vsubnet_get(p, 7001, &got), -ENOENT);
	const struct hnv_vsubnet *v = hnv_policy_vsubnet(p, 5001);
	assert_non_null(v);
	struct hnv_ip gw4 = pg_ip("10.0.0.1"), gw6 = pg_ip("fd00:5001::1");
	assert_true(hnv_ip_eq(&v->gateway[0], &gw4));
	assert_true(hnv_ip_eq(&v->gateway[1], &gw6));
	assert_null(hnv_policy_vsubnet(p, 7001));
	assert_int_not_equal(rd_of(p, 5001), rd_of(p, 6001));
	assert_int_equal(rd_of(p, 5001), rd_of(p, 5002));

	/* in use by a record, a port, a route: busy */
	assert_int_equal(add_rec(p, 4096, "10.9.0.5", "192.168.4.22", "020000000005"), 0);
	assert_int_equal(hnv_policy_vsubnet_del(p, 4096), -EBUSY);
	assert_int_equal(del_rec(p, 4096, "10.9.0.5", "020000000005"), 0);
	struct hnv_port_spec ps;
	memset(&ps, 0, sizeof(ps));
	strcpy(ps.name, "vm");
	ps.vsid = 4096;
	ps.mac = pg_mac("020000000005");
	assert_true(hnv_policy_port_add(p, &ps) >= 1);
	assert_int_equal(hnv_policy_vsubnet_del(p, 4096), -EBUSY);
	assert_int_equal(hnv_policy_port_del(p, "vm"), 0);
	assert_int_equal(add_route(p, "blue", 4096, "10.9.0.0", 24, "0.0.0.0", 1), 0);
	assert_int_equal(hnv_policy_vsubnet_del(p, 4096), -EBUSY);
	struct hnv_prefix rp = pfx("10.9.0.0", 24);
	struct hnv_ip nh = pg_ip("0.0.0.0");
	assert_int_equal(hnv_policy_route_del(p, "blue", &rp, &nh), 0);
	assert_int_equal(hnv_policy_vsubnet_del(p, 4096), 0);
	assert_null(hnv_policy_vsubnet(p, 4096));
	assert_int_equal(hnv_policy_vsubnet_del(p, 4096), -ENOENT);

	/* an rdomain is busy until its last vsubnet is gone */
	assert_int_equal(hnv_policy_vsubnet_del(p, 16777214), 0);
	assert_int_equal(hnv_policy_rdomain_del(p, "red"), -EBUSY);
	assert_int_equal(hnv_policy_vsubnet_del(p, 6001), 0);
	assert_int_equal(hnv_policy_rdomain_del(p, "red"), 0);
	/* many vsubnets: the table grows and every one stays found */
	for (uint32_t vsid = 10000; vsid < 10500; vsid++)
		assert_int_equal(add_vs(p, vsid, "blue", "10.9.0.0", 24, NULL, 0), 0);
	for (uint32_t vsid = 10000; vsid < 10500; vsid += 2)
		assert_int_equal(hnv_policy_vsubnet_del(p, vsid), 0);
	for (uint32_t vsid = 10000; vsid < 10500; vsid++) {
		const struct hnv_vsubnet *x = hnv_policy_vsubnet(p, vsid);
		if (vsid % 2)
			assert_true(x && x->vsid == vsid);
		else
			assert_null(x);
	}
}

/* ---- lookup records ---- */

static void test_lookup_add_errors(void **state)
{
	struct hnv_policy *p = *state;
	assert_int_equal(add_rec(p, 5001, "10.0.0.7", "192.168.4.22", "060600000007"), 0);
	assert_int_equal(add_rec(p, 5001, "10.0.0.7", "192.168.4.22", "060600000007"), -EEXIST);
	/* (vsid, CA) is unique even with another MAC */
	assert_int_equal(add_rec(p, 5001, "10.0.0.7", "192.168.4.22", "060600000008"), -EEXIST);
	/* the same CA in another VSID is another record */
	assert_int_equal(add_rec(p, 6001, "10.0.0.7", "192.168.4.22", "080800000007"), 0);
	assert_int_equal(add_rec(p, 7001, "10.0.0.7", "192.168.4.22", "060600000007"), -ENOENT);
	assert_int_equal(add_rec(p, 4095, "10.0.0.7", "192.168.4.22", "060600000007"), -EINVAL);
	assert_int_equal(add_rec(p, 16777215, "10.0.0.7", "192.168.4.22", "060600000007"),
			 -EINVAL);
	struct hnv_lookup_spec s = rec(5001, "0.0.0.0", "192.168.4.22", "060600000009");
	assert_int_equal(hnv_policy_lookup_add(p, &s), -EINVAL); /* static without a CA */
	s = rec(5001, "::", "192.168.4.22", "060600000009");
	assert_int_equal(hnv_policy_lookup_add(p, &s), -EINVAL);
	s = rec(5001, "10.0.0.9", "192.168.4.22", "060600000009");
	s.type = HNV_TYPE_GATEWAY_WILDCARD; /* a wildcard with a CA */
	assert_int_equal(hnv_policy_lookup_add(p, &s), -EINVAL);
	s.type = HNV_TYPE_L2ONLY;
	assert_int_equal(hnv_policy_lookup_add(p, &s), -EINVAL);
	s.type = (enum hnv_rec_type)38;
	assert_int_equal(hnv_policy_lookup_add(p, &s), -EINVAL);
	s.type = HNV_TYPE_DYNAMIC;
	assert_int_equal(hnv_policy_lookup_add(p, &s), 0);

	assert_int_equal(del_rec(p, 5001, "10.0.0.7", "060600000008"), -ENOENT); /* wrong MAC */
	assert_int_equal(del_rec(p, 5002, "10.0.0.7", "060600000007"), -ENOENT); /* wrong VSID */
	assert_int_equal(del_rec(p, 5001, "10.0.0.8", "060600000007"), -ENOENT); /* wrong CA */
	s = rec(5001, "10.0.0.7", "192.168.4.33", "060600000008");
	assert_int_equal(hnv_policy_lookup_set(p, &s), -ENOENT);
	struct hnv_policy_stats st;
	hnv_policy_stats(p, &st);
	assert_int_equal(st.n_records, 3);
	assert_int_equal(del_rec(p, 5001, "10.0.0.7", "060600000007"), 0);
	assert_int_equal(del_rec(p, 5001, "10.0.0.7", "060600000007"), -ENOENT);
	assert_null(by_ca(p, 5001, "10.0.0.7"));
	assert_null(by_mac(p, 5001, "060600000007"));
	assert_true(rec_is(by_ca(p, 6001, "10.0.0.7"), "10.0.0.7", "192.168.4.22", "080800000007"));
	hnv_policy_stats(p, &st);
	assert_int_equal(st.n_records, 2);
}

static void test_lookup_find(void **state)
{
	struct hnv_policy *p = *state;
	assert_int_equal(add_rec(p, 5001, "10.0.0.5", "192.168.4.11", "060600000005"), 0);
	assert_int_equal(add_rec(p, 5001, "10.0.0.7", "192.168.4.22", "060600000007"), 0);
	assert_int_equal(add_rec(p, 6001, "10.0.0.7", "192.168.4.22", "080800000007"), 0);
	assert_true(rec_is(by_ca(p, 5001, "10.0.0.7"), "10.0.0.7", "192.168.4.22", "060600000007"));
	assert_true(rec_is(by_ca(p, 6001, "10.0.0.7"), "10.0.0.7", "192.168.4.22", "080800000007"));
	assert_true(rec_is(by_mac(p, 5001, "060600000007"), "10.0.0.7", "192.168.4.22",
			   "060600000007"));
	/* records belong to their VSID */
	assert_null(by_mac(p, 6001, "060600000007"));
	assert_null(by_mac(p, 5001, "080800000007"));
	assert_null(by_ca(p, 5002, "10.0.0.7"));
	assert_null(by_ca(p, 5001, "10.0.0.8"));
	const struct hnv_rec *r = by_ca(p, 5001, "10.0.0.5");
	assert_non_null(r);
	assert_int_equal(r->vsid, 5001);
	assert_int_equal(r->rule, HNV_RULE_ENCAP);
	assert_int_equal(r->type, HNV_TYPE_STATIC);
}

static void test_lookup_shared_mac(void **state)
{
	struct hnv_policy *p = *state;
	/* one VM, three CAs, one MAC; delete in every position of the chain */
	static const char *cas[3] = {"10.0.0.7", "fd00:5001::7", "fd00:5001::77"};
	static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
					 {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	for (int o = 0; o < 6; o++) {
		for (int i = 0; i < 3; i++)
			assert_int_equal(add_rec(p, 5001, cas[i], "192.168.4.22", "060600000007"), 0);
		for (int k = 0; k < 3; k++) {
			int gone = orders[o][k];
			assert_int_equal(del_rec(p, 5001, cas[gone], "060600000007"), 0);
			assert_null(by_ca(p, 5001, cas[gone]));
			const struct hnv_rec *m = by_mac(p, 5001, "060600000007");
			bool any_left = k < 2;
			if (!any_left) {
				assert_null(m);
				continue;
			}
			assert_non_null(m);
			bool m_is_live = false;
			for (int j = k + 1; j < 3; j++) {
				int live = orders[o][j];
				assert_true(rec_is(by_ca(p, 5001, cas[live]), cas[live],
						   "192.168.4.22", "060600000007"));
				struct hnv_ip c = pg_ip(cas[live]);
				m_is_live |= hnv_ip_eq(&m->ca, &c);
			}
			assert_true(m_is_live);
		}
	}
	/* a v4 and a v6 record sharing a MAC, set (PA change) on each */
	assert_int_equal(add_rec(p, 5001, "10.0.0.7", "192.168.4.22", "060600000007"), 0);
	assert_int_equal(add_rec(p, 5001, "fd00:5001::7", "192.168.4.22", "060600000007"), 0);
	struct hnv_lookup_spec s = rec(5001, "10.0.0.7", "192.168.4.33", "060600000007");
	assert_int_equal(hnv_policy_lookup_set(p, &s), 0);
	s = rec(5001, "fd00:5001::7", "192.168.4.33", "060600000007");
	assert_int_equal(hnv_policy_lookup_set(p, &s), 0);
	assert_true(rec_is(by_ca(p, 5001, "10.0.0.7"), "10.0.0.7", "192.168.4.33", "060600000007"));
	assert_true(rec_is(by_ca(p, 5001, "fd00:5001::7"), "fd00:5001::7", "192.168.4.33",
			   "060600000007"));
	const struct hnv_rec *m = by_mac(p, 5001, "060600000007");
	struct hnv_ip pa = pg_ip("192.168.4.33");
	assert_true(m && hnv_ip_eq(&m->pa, &pa));
	assert_int_equal(del_rec(p, 5001, "10.0.0.7", "060600000007"), 0);
	assert_true(rec_is(by_mac(p, 5001, "060600000007"), "fd00:5001::7", "192.168.4.33",
			   "060600000007"));
	struct hnv_policy_stats st;
	hnv_policy_stats(p, &st);
	assert_int_equal(st.n_records, 1);
}

static void test_lookup_set(void **state)
{
	struct hnv_policy *p = *state;
	struct hnv_lookup_spec s = rec(5001, "10.0.0.7", "192.168.4.22", "060600000007");
	strcpy(s.vm_name, "Blue2");
	strcpy(s.context, "first");
	s.has_customer_id = true;
	s.customer_id = guid(5001);
	assert_int_equal(hnv_policy_lookup_add(p, &s), 0);
	const struct hnv_rec *before = by_ca(p, 5001, "10.0.0.7");
	assert_non_null(before);
	struct hnv_lookup_spec got;
	hnv_policy_rec_spec(p, before, &got);
	assert_string_equal(got.vm_name, "Blue2");
	assert_string_equal(got.context, "first");
	assert_true(got.has_customer_id);
	assert_memory_equal(&got.customer_id, &s.customer_id, sizeof(s.customer_id));

	/* live migration: the PA changes; the record is found at once with it */
	s.pa = pg_ip("192.168.4.33");
	strcpy(s.context, "moved");
	s.rule = HNV_RULE_NAT;
	s.use_vm_mac = true;
	assert_int_equal(hnv_policy_lookup_set(p, &s), 0);
	const struct hnv_rec *r = by_ca(p, 5001, "10.0.0.7");
	assert_true(rec_is(r, "10.0.0.7", "192.168.4.33", "060600000007"));
	assert_int_equal(r->rule, HNV_RULE_NAT);
	assert_true(r->flags & HNV_REC_F_USE_VM_MAC);
	assert_true(rec_is(by_mac(p, 5001, "060600000007"), "10.0.0.7", "192.168.4.33",
			   "060600000007"));
	hnv_policy_rec_spec(p, r, &got);
	assert_string_equal(got.context, "moved");
	assert_string_equal(got.vm_name, "Blue2");
	assert_true(got.use_vm_mac);
	assert_int_equal(got.rule, HNV_RULE_NAT);
	struct hnv_policy_stats st;
	hnv_policy_stats(p, &st);
	assert_int_equal(st.n_records, 1);
	/* set cannot change the identity */
	s.ca = pg_ip("10.0.0.8");
	assert_int_equal(hnv_policy_lookup_set(p, &s), -ENOENT);
	s = rec(5001, "10.0.0.7", "192.168.4.22", "060600000007");
	s.type = HNV_TYPE_GATEWAY_WILDCARD;
	assert_int_equal(hnv_policy_lookup_set(p, &s), -EINVAL);
}

static void test_lookup_wildcard_l2only(void **state)
{
	struct hnv_policy *p = *state;
	struct hnv_ip like4 = pg_ip("172.16.5.9"), like6 = pg_ip("2001:db8::9");
	assert_null(hnv_policy_wildcard(p, 5001, &like4));
	struct hnv_lookup_spec w4 = rec(5001, "0.0.0.0", "192.168.4.50", "00155d000050");
	w4.type = HNV_TYPE_GATEWAY_WILDCARD;
	assert_int_equal(hnv_policy_lookup_add(p, &w4), 0);
	const struct hnv_rec *r = hnv_policy_wildcard(p, 5001, &like4);
	assert_true(rec_is(r, "0.0.0.0", "192.168.4.50", "00155d000050"));
	assert_int_equal(r->type, HNV_TYPE_GATEWAY_WILDCARD);
	assert_null(hnv_policy_wildcard(p, 5001, &like6)); /* per family */
	assert_null(hnv_policy_wildcard(p, 5002, &like4)); /* per VSID */
	assert_non_null(by_mac(p, 5001, "00155d000050"));
	/* one wildcard per family and VSID */
	struct hnv_lookup_spec w4b = rec(5001, "0.0.0.0", "192.168.4.51", "00155d000051");
	w4b.type = HNV_TYPE_GATEWAY_WILDCARD;
	assert_int_equal(hnv_policy_lookup_add(p, &w4b), -EEXIST);
	struct hnv_lookup_spec w6 = rec(5001, "::", "192.168.4.50", "00155d000050");
	w6.type = HNV_TYPE_GATEWAY_WILDCARD;
	assert_int_equal(hnv_policy_lookup_add(p, &w6), 0);
	r = hnv_policy_wildcard(p, 5001, &like6);
	assert_true(rec_is(r, "::", "192.168.4.50", "00155d000050"));
	assert_true(rec_is(hnv_policy_wildcard(p, 5001, &like4), "0.0.0.0", "192.168.4.50",
			   "00155d000050"));

	/* L2Only: found by MAC only, several per VSID */
	struct hnv_lookup_spec l1 = rec(5002, "0.0.0.0", "192.168.4.60", "00155d000060");
	l1.type = HNV_TYPE_L2ONLY;
	struct hnv_lookup_spec l2 = rec(5002, "0.0.0.0", "192.168.4.61", "00155d000061");
	l2.type = HNV_TYPE_L2ONLY;
	assert_int_equal(hnv_policy_lookup_add(p, &l1), 0);
	assert_int_equal(hnv_policy_lookup_add(p, &l2), 0);
	assert_int_equal(hnv_policy_lookup_add(p, &l1), -EEXIST);
	assert_null(by_ca(p, 5002, "0.0.0.0"));
	assert_null(hnv_policy_wildcard(p, 5002, &like4));
	assert_true(rec_is(by_mac(p, 5002, "00155d000060"), "0.0.0.0", "192.168.4.60",
			   "00155d000060"));
	assert_true(rec_is(by_mac(p, 5002, "00155d000061"), "0.0.0.0", "192.168.4.61",
			   "00155d000061"));
	struct hnv_ip z = pg_ip("0.0.0.0");
	struct hnv_mac m = pg_mac("00155d000060");
	assert_int_equal(hnv_policy_lookup_del(p, 5002, &z, &m), 0);
	assert_null(by_mac(p, 5002, "00155d000060"));
	assert_non_null(by_mac(p, 5002, "00155d000061"));
	/* deleting the v4 wildcard leaves the v6 one */
	m = pg_mac("00155d000050");
	assert_int_equal(hnv_policy_lookup_del(p, 5001, &z, &m), 0);
	assert_null(hnv_policy_wildcard(p, 5001, &like4));
	assert_non_null(hnv_policy_wildcard(p, 5001, &like6));
	assert_non_null(by_mac(p, 5001, "00155d000050"));
}

static int count_cb(const struct hnv_rec *r, void *arg)
{
	(void)r;
	(*(size_t *)arg)++;
	return 0;
}

/* Record i of a synthetic population: a distinct CA, MAC and PA. */
static struct hnv_lookup_spec synth(uint32_t i, uint32_t vsid)
{
	struct hnv_lookup_spec s;
	memset(&s, 0, sizeof(s));
	s.vsid = vsid;
	uint8_t v4[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
	memset(s.ca.b, 0, 10);
	s.ca.b[10] = s.ca.b[11] = 0xff;
	memcpy(s.ca.b + 12, v4, 4);
	uint8_t pa[4] = {192, 168, (uint8_t)(i >> 8), (uint8_t)(i * 7)};
	memset(s.pa.b, 0, 10);
	s.pa.b[10] = s.pa.b[11] = 0xff;
	memcpy(s.pa.b + 12, pa, 4);
	s.mac = (struct hnv_mac){{0x02, 0x00, (uint8_t)(i >> 24), (uint8_t)(i >> 16),
				  (uint8_t)(i >> 8), (uint8_t)i}};
	s.rule = HNV_RULE_ENCAP;
	s.type = HNV_TYPE_STATIC;
	return s;
}

static void check_synth(const struct hnv_policy *p, uint32_t i, uint32_t vsid, bool present)
{
	struct hnv_lookup_spec s = synth(i, vsid);
	const struct hnv_rec *a = by_ca_ip(p, vsid, &s.ca), *b = by_mac_m(p, vsid, &s.mac);
	if (!present) {
		if (a || b)
			fail_msg("record %u (deleted) still found", i);
		return;
	}
	if (!a || !b || a != b || !hnv_ip_eq(&a->pa, &s.pa) || !hnv_mac_eq(&a->mac, &s.mac) ||
	    a->vsid != vsid)
		fail_msg("record %u: by CA %p, by MAC %p", i, (const void *)a, (const void *)b);
}

static void test_lookup_growth(void **state)
{
	struct hnv_policy *p = *state;
	const uint32_t N = 200000;
	size_t live = 0;
	for (uint32_t i = 0; i < N; i++) {
		struct hnv_lookup_spec s = synth(i, 5001);
		if (hnv_policy_lookup_add(p, &s) != 0)
			fail_msg("add %u failed", i);
		live++;
		if (i % 5 == 4) { /* delete an older one: tombstones among the growth */
			struct hnv_lookup_spec d = synth(i - 3, 5001);
			assert_int_equal(hnv_policy_lookup_del(p, 5001, &d.ca, &d.mac), 0);
			live--;
		}
		if (i % 50000 == 49999)
			for (uint32_t k = 0; k <= i; k += 97)
				check_synth(p, k, 5001, k % 5 != 1 || k + 3 > i);
	}
	struct hnv_policy_stats st;
	hnv_policy_stats(p, &st);
	assert_int_equal(st.n_records, live);
	for (uint32_t i = 0; i < N; i++)
		check_synth(p, i, 5001, i % 5 != 1);
	size_t n = 0;
	assert_int_equal(hnv_policy_rec_foreach(p, count_cb, &n), 0);
	assert_int_equal(n, live);
	/* delete everything left, then the tables take new records again */
	for (uint32_t i = 0; i < N; i++) {
		if (i % 5 == 1)
			continue;
		struct hnv_lookup_spec d = synth(i, 5001);
		assert_int_equal(hnv_policy_lookup_del(p, 5001, &d.ca, &d.mac), 0);
	}
	hnv_policy_stats(p, &st);
	assert_int_equal(st.n_records, 0);
	for (uint32_t i = 0; i < N; i += 1000)
		check_synth(p, i, 5001, false);
	for (uint32_t i = 0; i < 5000; i++) {
		struct hnv_lookup_spec s = synth(i, 5002);
		assert_int_equal(hnv_policy_lookup_add(p, &s), 0);
	}
	for (uint32_t i = 0; i < 5000; i++)
		check_synth(p, i, 5002, true);
}

static void test_lookup_memory_1m(void **state)
{
	struct hnv_policy *p = *state;
	const uint32_t N = 1000000;
	for (uint32_t i = 0; i < N; i++) {
		struct hnv_lookup_spec s = synth(i, 5001 + (i & 1));
		if (hnv_policy_lookup_add(p, &s) != 0)
			fail_msg("add %u failed", i);
	}
	struct hnv_policy_stats st;
	hnv_policy_stats(p, &st);
	assert_int_equal(st.n_records, N);
	double per = (double)st.record_bytes / (double)st.n_records;
	print_message("1M records: %zu bytes, %.1f bytes per record\n", st.record_bytes, per);
	assert_true(per < 96.0);
	for (uint32_t i = 0; i < N; i += 4999)
		check_synth(p, i, 5001 + (i & 1), true);
	/* the same address in the other VSID is not found */
	struct hnv_lookup_spec s = synth(10, 5001);
	assert_null(by_ca_ip(p, 5002, &s.ca));
}

/* ---- customer routes ---- */

static void test_route_errors(void **state)
{
	struct hnv_policy *p = *state;
	assert_int_equal(add_route(p, "blue", 5001, "10.0.0.0", 24, "0.0.0.0", 255), 0);
	assert_int_equal(add_route(p, "blue", 5001, "10.0.0.0", 24, "0.0.0.0", 10), -EEXIST);
	assert_int_equal(add_route(p, "blue", 5002, "10.0.0.0", 24, "0.0.0.0", 10), -EEXIST);
	/* same prefix, another next hop: a second route */
	assert_int_equal(add_route(p, "blue", 5001, "10.0.0.0", 24, "10.0.0.254", 10), 0);
	assert_int_equal(add_route(p, "nosuch", 5001, "10.0.0.0", 24, "0.0.0.0", 1), -ENOENT);
	assert_int_equal(add_route(p, "blue", 7001, "10.0.0.0", 24, "0.0.0.0", 1), -ENOENT);
	/* a route in blue leading into red's VSID */
	assert_int_equal(add_route(p, "blue", 6001, "10.0.2.0", 24, "0.0.0.0", 1), -EXDEV);
	assert_int_equal(add_route(p, "red", 5001, "10.0.2.0", 24, "0.0.0.0", 1), -EXDEV);
	assert_int_equal(add_route(p, "blue", 5001, "10.0.2.0", 33, "0.0.0.0", 1), -EINVAL);
	assert_int_equal(add_route(p, "blue", 5001, "fd00::", 129, "::", 1), -EINVAL);
	assert_int_equal(add_route(p, "blue", 5001, "10.0.2.0", 24, "::", 1), -EINVAL);
	assert_int_equal(add_route(p, "blue", 5001, "fd00::", 64, "0.0.0.0", 1), -EINVAL);
	struct hnv_policy_stats st;
	hnv_policy_stats(p, &st);
	assert_int_equal(st.n_routes, 2);
	struct hnv_prefix rp = pfx("10.0.0.0", 24);
	struct hnv_ip nh = pg_ip("10.0.0.253");
	assert_int_equal(hnv_policy_route_del(p, "blue", &rp, &nh), -ENOENT);
	nh = pg_ip("10.0.0.254");
	assert_int_equal(hnv_policy_route_del(p, "red", &rp, &nh), -ENOENT);
	assert_int_equal(hnv_policy_route_del(p, "nosuch", &rp, &nh), -ENOENT);
	rp.len = 25;
	assert_int_equal(hnv_policy_route_del(p, "blue", &rp, &nh), -ENOENT);
	rp.len = 24;
	assert_int_equal(hnv_policy_route_del(p, "blue", &rp, &nh), 0);
	assert_int_equal(hnv_policy_route_del(p, "blue", &rp, &nh), -ENOENT);
	assert_int_equal(hnv_policy_rdomain_del(p, "blue"), -EBUSY);
	hnv_policy_stats(p, &st);
	assert_int_equal(st.n_routes, 1);
}

static void test_route_commit(void **state)
{
	struct hnv_policy *p = *state;
	struct hnv_route_hit hit;
	assert_int_equal(add_route(p, "blue", 5001, "10.0.0.0", 24, "0.0.0.0", 255), 0);
	assert_int_equal(lpm(p, 5001, "10.0.0.7", &hit), -1); /* not yet published */
	assert_int_equal(hnv_policy_commit(p), 0);
	assert_int_equal(lpm(p, 5001, "10.0.0.7", &hit), 24);
	assert_int_equal(hit.vsid, 5001);
	assert_int_equal(hit.metric, 255);
	assert_true(hnv_ip_is_unspec(&hit.nexthop));
	/* red has its own table */
	assert_int_equal(lpm(p, 6001, "10.0.0.7", &hit), -1);
	struct hnv_prefix rp = pfx("10.0.0.0", 24);
	struct hnv_ip nh = pg_ip("0.0.0.0");
	assert_int_equal(hnv_policy_route_del(p, "blue", &rp, &nh), 0);
	assert_int_equal(lpm(p, 5001, "10.0.0.7", &hit), 24); /* still, until commit */
	assert_int_equal(hnv_policy_commit(p), 0);
	assert_int_equal(lpm(p, 5001, "10.0.0.7", &hit), -1);
}

static void test_route_lpm4(void **state)
{
	struct hnv_policy *p = *state;
	struct hnv_route_hit hit;
	assert_int_equal(add_route(p, "blue", 5001, "10.0.0.0", 8, "10.0.0.254", 50), 0);
	assert_int_equal(add_route(p, "blue", 5001, "10.0.0.0", 16, "10.0.0.253", 40), 0);
	assert_int_equal(add_route(p, "blue", 5001, "10.0.0.0", 24, "0.0.0.0", 255), 0);
	assert_int_equal(add_route(p, "blue", 5002, "10.0.1.0", 24, "0.0.0.0", 255), 0);
	assert_int_equal(add_route(p, "blue", 5002, "10.0.1.128", 25, "10.0.1.1", 7), 0);
	assert_int_equal(add_route(p, "blue", 5002, "10.0.1.200", 32, "10.0.1.2", 9), 0);
	/* same prefix twice: the lower metric wins, whatever the order */
	assert_int_equal(add_route(p, "blue", 5001, "172.16.0.0", 12, "10.0.0.200", 100), 0);
	assert_int_equal(add_route(p, "blue", 5001, "172.16.0.0", 12, "10.0.0.201", 20), 0);
	assert_int_equal(add_route(p, "blue", 5001, "172.16.0.0", 12, "10.0.0.202", 60), 0);
	assert_int_equal(hnv_policy_commit(p), 0);

	assert_int_equal(lpm(p, 5001, "10.0.0.7", &hit), 24);
	assert_int_equal(lpm(p, 5001, "10.0.0.0", &hit), 24);
	assert_int_equal(lpm(p, 5001, "10.0.0.255", &hit), 24);
	assert_int_equal(lpm(p, 5001, "10.0.1.7", &hit), 24);
	assert_int_equal(hit.vsid, 5002);
	assert_int_equal(lpm(p, 5001, "10.0.1.127", &hit), 24);
	assert_int_equal(lpm(p, 5001, "10.0.1.128", &hit), 25);
	assert_int_equal(hit.metric, 7);
	assert_int_equal(lpm(p, 5001, "10.0.1.200", &hit), 32);
	assert_int_equal(lpm(p, 5001, "10.0.1.201", &hit), 25);
	assert_int_equal(lpm(p, 5001, "10.0.1.255", &hit), 25);
	assert_int_equal(lpm(p, 5001, "10.0.2.0", &hit), 16);
	assert_int_equal(lpm(p, 5001, "10.0.255.255", &hit), 16);
	assert_int_equal(lpm(p, 5001, "10.1.0.0", &hit), 8);
	assert_int_equal(hit.metric, 50);
	struct hnv_ip want = pg_ip("10.0.0.254");
	assert_true(hnv_ip_eq(&hit.nexthop, &want));
	assert_int_equal(lpm(p, 5001, "10.255.255.255", &hit), 8);
	assert_int_equal(lpm(p, 5001, "9.255.255.255", &hit), -1);
	assert_int_equal(lpm(p, 5001, "11.0.0.0", &hit), -1);
	assert_int_equal(lpm(p, 5001, "172.20.1.1", &hit), 12);
	assert_int_equal(hit.metric, 20);
	want = pg_ip("10.0.0.201");
	assert_true(hnv_ip_eq(&hit.nexthop, &want));
	assert_int_equal(lpm(p, 5001, "0.0.0.0", &hit), -1);
	assert_int_equal(lpm(p, 5001, "255.255.255.255", &hit), -1);
	/* removing the best of the equal prefixes: the next metric takes over */
	struct hnv_prefix rp = pfx("172.16.0.0", 12);
	assert_int_equal(hnv_policy_route_del(p, "blue", &rp, &want), 0);
	assert_int_equal(hnv_policy_commit(p), 0);
	assert_int_equal(lpm(p, 5001, "172.31.255.255", &hit), 12);
	assert_int_equal(hit.metric, 60);

	/* a default route and the edges of the space */
	assert_int_equal(add_route(p, "blue", 5001, "0.0.0.0", 0, "10.0.0.250", 1000), 0);
	assert_int_equal(add_route(p, "blue", 5001, "255.255.255.255", 32, "10.0.0.251", 1), 0);
	assert_int_equal(add_route(p, "blue", 5001, "0.0.0.0", 32, "10.0.0.252", 1), 0);
	assert_int_equal(hnv_policy_commit(p), 0);
	assert_int_equal(lpm(p, 5001, "9.255.255.255", &hit), 0);
	assert_int_equal(hit.metric, 1000);
	assert_int_equal(lpm(p, 5001, "11.0.0.0", &hit), 0);
	assert_int_equal(lpm(p, 5001, "255.255.255.255", &hit), 32);
	assert_int_equal(lpm(p, 5001, "255.255.255.254", &hit), 0);
	assert_int_equal(lpm(p, 5001, "0.0.0.0", &hit), 32);
	assert_int_equal(lpm(p, 5001, "0.0.0.1", &hit), 0);
	assert_int_equal(lpm(p, 5001, "10.0.1.200", &hit), 32);
	/* IPv4 routes, even 0.0.0.0/0, never answer an IPv6 lookup */
	assert_int_equal(lpm(p, 5001, "fd00::1", &hit), -1);
	assert_int_equal(lpm(p, 5001, "::", &hit), -1);
}

static void test_route_lpm6(void **state)
{
	struct hnv_policy *p = *state;
	struct hnv_route_hit hit;
	assert_int_equal(add_route(p, "blue", 5001, "fd00:5001::", 64, "::", 255), 0);
	assert_int_equal(add_route(p, "blue", 5001, "fd00::", 8, "fd00:5001::fe", 20), 0);
	assert_int_equal(add_route(p, "blue", 5001, "fd00:5001::7", 128, "fd00:5001::fd", 5), 0);
	assert_int_equal(add_route(p, "blue", 5001, "fd00:5001:0:0:8000::", 65, "fd00:5001::fc", 6),
			 0);
	assert_int_equal(hnv_policy_commit(p), 0);
	assert_int_equal(lpm(p, 5001, "fd00:5001::7", &hit), 128);
	assert_int_equal(lpm(p, 5001, "fd00:5001::6", &hit), 64);
	assert_int_equal(lpm(p, 5001, "fd00:5001::8", &hit), 64);
	assert_int_equal(lpm(p, 5001, "fd00:5001::7fff:ffff:ffff:ffff", &hit), 64);
	assert_int_equal(lpm(p, 5001, "fd00:5001::8000:0:0:0", &hit), 65);
	assert_int_equal(lpm(p, 5001, "fd00:5001::ffff:ffff:ffff:ffff", &hit), 65);
	assert_int_equal(lpm(p, 5001, "fd00:5001:0:1::", &hit), 8);
	assert_int_equal(lpm(p, 5001, "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &hit), 8);
	assert_int_equal(lpm(p, 5001, "fe00::", &hit), -1);
	assert_int_equal(lpm(p, 5001, "2001:db8::1", &hit), -1);
	assert_int_equal(lpm(p, 5001, "::", &hit), -1);
	assert_int_equal(lpm(p, 5001, "10.0.0.7", &hit), -1); /* no IPv4 routes */
	assert_int_equal(add_route(p, "blue", 5001, "::", 0, "fd00:5001::fb", 100), 0);
	assert_int_equal(add_route(p, "blue", 5001, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
				   128, "fd00:5001::fa", 1),
			 0);
	assert_int_equal(hnv_policy_commit(p), 0);
	assert_int_equal(lpm(p, 5001, "2001:db8::1", &hit), 0);
	assert_int_equal(lpm(p, 5001, "::", &hit), 0);
	assert_int_equal(lpm(p, 5001, "::1", &hit), 0);
	assert_int_equal(lpm(p, 5001, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &hit), 128);
	assert_int_equal(lpm(p, 5001, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", &hit), 0);
	assert_int_equal(lpm(p, 5001, "fd00:5001::7", &hit), 128);
	assert_int_equal(lpm(p, 5001, "fe00::", &hit), 0);
	/* ::/0 is IPv6 only: an IPv4 destination is not covered */
	assert_int_equal(lpm(p, 5001, "10.0.0.7", &hit), -1);
	assert_int_equal(lpm(p, 5001, "255.255.255.255", &hit), -1);
}

/* A brute-force reference: the longest containing prefix, lowest metric. */
struct ref_route {
	struct hnv_prefix pfx;
	struct hnv_ip nh;
	uint32_t vsid, metric;
	bool live;
};

static const struct ref_route *ref_lpm(const struct ref_route *r, size_t n,
				       const struct hnv_ip *a)
{
	const struct ref_route *best = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!r[i].live || !hnv_prefix_contains(&r[i].pfx, a))
			continue;
		if (!best || r[i].pfx.len > best->pfx.len ||
		    (r[i].pfx.len == best->pfx.len && r[i].metric < best->metric))
			best = &r[i];
	}
	return best;
}

static uint64_t rs = 88172645463325252ull;
static uint64_t rnd64(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static void mask_to(struct hnv_ip *a, unsigned bits128)
{
	for (unsigned b = bits128; b < 128; b++)
		a->b[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
}

static struct hnv_ip rnd_addr(bool v4)
{
	struct hnv_ip a;
	uint64_t x = rnd64(), y = rnd64();
	memcpy(a.b, &x, 8);
	memcpy(a.b + 8, &y, 8);
	if (v4) {
		memset(a.b, 0, 10);
		a.b[10] = a.b[11] = 0xff;
		a.b[12] = (uint8_t)(10 + (a.b[12] & 1)); /* 10/8 and 11/8: lots of nesting */
	} else {
		a.b[0] = 0xfd;
		a.b[1] = 0;
		a.b[2] &= 1;
	}
	return a;
}

static void compare_lpm(const struct hnv_policy *p, uint16_t rd, const struct ref_route *r,
			size_t n, const struct hnv_ip *a)
{
	const struct ref_route *want = ref_lpm(r, n, a);
	struct hnv_route_hit hit;
	bool got = hnv_policy_route_lookup(p, rd, a, &hit);
	if (!want && !got)
		return;
	char buf[64];
	inet_ntop(AF_INET6, a->b, buf, sizeof(buf));
	if (!want || !got)
		fail_msg("%s: reference %s, FIB %s", buf, want ? "hit" : "miss", got ? "hit" : "miss");
	if (hit.prefix.len != want->pfx.len || !hnv_ip_eq(&hit.prefix.addr, &want->pfx.addr) ||
	    hit.metric != want->metric || hit.vsid != want->vsid || !hnv_ip_eq(&hit.nexthop, &want->nh))
		fail_msg("%s: FIB /%u metric %u, reference /%u metric %u", buf, hit.prefix.len,
			 hit.metric, want->pfx.len, want->metric);
}

static void lpm_random(struct hnv_policy *p, bool v4)
{
	enum { N = 400 };
	static struct ref_route r[N];
	size_t n = 0;
	uint32_t metric = 1;
	unsigned maxlen = v4 ? 32 : 128;
	for (size_t i = 0; i < N; i++) {
		struct hnv_ip a = rnd_addr(v4);
		unsigned len = (unsigned)(rnd64() % (maxlen + 1));
		if (v4 && len < 7)
			len = 7 + len; /* stay inside 10/8-11/8 mostly */
		if (!v4 && len < 15)
			len += 15;
		if (i % 10 == 9 && n) { /* an equal prefix with another next hop */
			size_t j = rnd64() % n;
			a = r[j].pfx.addr;
			len = r[j].pfx.len;
		}
		struct hnv_prefix pf = {a, (uint8_t)len};
		mask_to(&pf.addr, hnv_prefix_bits128(&pf));
		struct hnv_route_spec s;
		memset(&s, 0, sizeof(s));
		strcpy(s.rdomain, "blue");
		s.vsid = rnd64() & 1 ? 5001 : 5002;
		s.prefix = pf;
		s.nexthop = v4 ? pg_ip("10.0.0.0") : pg_ip("fd00:5001::");
		s.nexthop.b[15] = (uint8_t)(i + 1);
		s.nexthop.b[14] = (uint8_t)((i + 1) >> 8);
		s.metric = metric = metric + 1 + (uint32_t)(rnd64() % 3);
		if (i % 3 == 0)
			s.metric = 1000000 - metric; /* later routes are not always worse */
		int rc = hnv_policy_route_add(p, &s);
		assert_int_equal(rc, 0);
		r[n++] = (struct ref_route){pf, s.nexthop, s.vsid, s.metric, true};
	}
	assert_int_equal(hnv_policy_commit(p), 0);
	uint16_t rd = rd_of(p, 5001);
	for (int round = 0; round < 3; round++) {
		for (int k = 0; k < 20000; k++) {
			struct hnv_ip a = rnd_addr(v4);
			compare_lpm(p, rd, r, n, &a);
		}
		/* the edges of every prefix and the addresses just outside */
		for (size_t i = 0; i < n; i++) {
			struct hnv_ip lo = r[i].pfx.addr, hi = lo;
			for (unsigned b = hnv_prefix_bits128(&r[i].pfx); b < 128; b++)
				hi.b[b / 8] |= (uint8_t)(0x80 >> (b % 8));
			struct hnv_ip below = lo, above = hi;
			for (int j = 15; j >= (v4 ? 12 : 0); j--)
				if (below.b[j]-- != 0)
					break;
			for (int j = 15; j >= (v4 ? 12 : 0); j--)
				if (++above.b[j] != 0)
					break;
			compare_lpm(p, rd, r, n, &lo);
			compare_lpm(p, rd, r, n, &hi);
			compare_lpm(p, rd, r, n, &below);
			compare_lpm(p, rd, r, n, &above);
		}
		/* delete a third, commit, compare again */
		for (size_t i = 0; i < n; i++) {
			if (!r[i].live || rnd64() % 3)
				continue;
			assert_int_equal(hnv_policy_route_del(p, "blue", &r[i].pfx, &r[i].nh), 0);
			r[i].live = false;
		}
		assert_int_equal(hnv_policy_commit(p), 0);
	}
}

static void test_route_lpm_random(void **state)
{
	lpm_random(*state, true);
	lpm_random(*state, false);
}

/* Deleting an rdomain must take its compiled routes with it: a routing
 * domain created later (in the freed slot) starts with no routes. */
static void test_route_rdomain_reuse(void **state)
{
	struct hnv_policy *p = *state;
	struct hnv_route_hit hit;
	assert_int_equal(add_rd(p, "old", 7000), 0);
	assert_int_equal(add_vs(p, 7001, "old", "10.9.0.0", 16, NULL, 0), 0);
	assert_int_equal(add_route(p, "old", 7001, "10.9.0.0", 16, "0.0.0.0", 1), 0);
	assert_int_equal(add_route(p, "old", 7001, "0.0.0.0", 0, "10.9.0.254", 1), 0);
	assert_int_equal(hnv_policy_commit(p), 0);
	uint16_t old_rd = rd_of(p, 7001);
	assert_int_equal(lpm(p, 7001, "10.9.1.1", &hit), 16);
	/* tear the tenant down in one batch, as a config reload does */
	struct hnv_prefix a = pfx("10.9.0.0", 16), b = pfx("0.0.0.0", 0);
	struct hnv_ip z = pg_ip("0.0.0.0"), nh = pg_ip("10.9.0.254");
	assert_int_equal(hnv_policy_route_del(p, "old", &a, &z), 0);
	assert_int_equal(hnv_policy_route_del(p, "old", &b, &nh), 0);
	assert_int_equal(hnv_policy_vsubnet_del(p, 7001), 0);
	assert_int_equal(hnv_policy_rdomain_del(p, "old"), 0);
	assert_int_equal(hnv_policy_commit(p), 0);
	/* a new tenant */
	assert_int_equal(add_rd(p, "new", 8000), 0);
	assert_int_equal(add_vs(p, 8001, "new", "10.9.0.0", 16, NULL, 0), 0);
	assert_int_equal(hnv_policy_commit(p), 0);
	assert_int_equal(rd_of(p, 8001), old_rd); /* the slot was reused */
	if (lpm(p, 8001, "10.9.1.1", &hit) != -1 || lpm(p, 8001, "192.0.2.1", &hit) != -1)
		fail_msg("the new routing domain sees the deleted one's route /%u to VSID %u",
			 hit.prefix.len, hit.vsid);
}

/* ---- provider addresses and ports ---- */

static void test_pa(void **state)
{
	struct hnv_policy *p = *state;
	struct hnv_ip a = pg_ip("192.168.4.11"), b = pg_ip("fd00:4::11"), c = pg_ip("192.168.4.12");
	assert_false(hnv_policy_is_local_pa(p, &a));
	assert_null(hnv_policy_local_pa(p, true));
	struct hnv_prefix pa = pfx("192.168.4.11", 24), pb = pfx("fd00:4::11", 64);
	assert_int_equal(hnv_policy_pa_add(p, &pa), 0);
	assert_int_equal(hnv_policy_pa_add(p, &pa), -EEXIST);
	assert_int_equal(hnv_policy_pa_add(p, &pb), 0);
	assert_true(hnv_policy_is_local_pa(p, &a));
	assert_true(hnv_policy_is_local_pa(p, &b));
	assert_false(hnv_policy_is_local_pa(p, &c));
	const struct hnv_ip *l4 = hnv_policy_local_pa(p, true), *l6 = hnv_policy_local_pa(p, false);
	assert_true(l4 && hnv_ip_eq(l4, &a));
	assert_true(l6 && hnv_ip_eq(l6, &b));
	for (unsigned i = 2; i < 16; i++) {
		struct hnv_prefix x = pfx("192.168.5.0", 24);
		x.addr.b[15] = (uint8_t)i;
		assert_int_equal(hnv_policy_pa_add(p, &x), 0);
	}
	struct hnv_prefix x = pfx("192.168.6.1", 24);
	assert_int_equal(hnv_policy_pa_add(p, &x), -ENOSPC);
	assert_int_equal(hnv_policy_pa_del(p, &c), -ENOENT);
	assert_int_equal(hnv_policy_pa_del(p, &a), 0);
	assert_false(hnv_policy_is_local_pa(p, &a));
	assert_int_equal(hnv_policy_pa_del(p, &a), -ENOENT);
	l4 = hnv_policy_local_pa(p, true);
	assert_true(l4 && l4->b[14] == 5); /* the next IPv4 one */
	assert_int_equal(hnv_policy_pa_add(p, &x), 0); /* room again */
}

static struct hnv_port_spec port(const char *name, uint32_t vsid, const char *mac,
				 const char *ca)
{
	struct hnv_port_spec s;
	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "%s", name);
	s.vsid = vsid;
	s.mac = pg_mac(mac);
	if (ca)
		s.cas[s.n_cas++] = pg_ip(ca);
	return s;
}

static void test_port(void **state)
{
	struct hnv_policy *p = *state;
	struct hnv_port_spec b1 = port("blue1", 5001, "060600000005", "10.0.0.5");
	b1.cas[b1.n_cas++] = pg_ip("fd00:5001::5");
	struct hnv_port_spec r1 = port("red1", 6001, "080800000005", "10.0.0.5");
	int id_b = hnv_policy_port_add(p, &b1);
	int id_r = hnv_policy_port_add(p, &r1);
	assert_true(id_b >= 1 && id_b < HNV_PORTS_MAX);
	assert_true(id_r >= 1 && id_r < HNV_PORTS_MAX && id_r != id_b);
	assert_int_equal(hnv_policy_port_add(p, &b1), -EEXIST);
	struct hnv_port_spec s = port("blue1b", 5001, "060600000005", NULL);
	assert_int_equal(hnv_policy_port_add(p, &s), -EEXIST); /* same MAC in the VSID */
	s = port("blue1", 5002, "060600000099", NULL);
	assert_int_equal(hnv_policy_port_add(p, &s), -EEXIST); /* same name */
	s = port("x", 7001, "060600000099", NULL);
	assert_int_equal(hnv_policy_port_add(p, &s), -ENOENT);
	s = port("", 5001, "060600000099", NULL);
	assert_int_equal(hnv_policy_port_add(p, &s), -EINVAL);
	s = port("x", 5001, "060600000099", NULL);
	s.n_cas = HNV_PORT_MAX_CAS + 1;
	assert_int_equal(hnv_policy_port_add(p, &s), -EINVAL);
	/* the same MAC in another VSID is another port */
	s = port("blue-other", 5002, "080800000005", NULL);
	int id_o = hnv_policy_port_add(p, &s);
	assert_true(id_o >= 1);

	assert_int_equal(hnv_policy_port_id(p, "blue1"), id_b);
	assert_int_equal(hnv_policy_port_id(p, "nosuch"), -ENOENT);
	assert_string_equal(hnv_policy_port_name(p, (unsigned)id_r), "red1");
	assert_string_equal(hnv_policy_port_name(p, HNV_PORT_UPLINK), "uplink");
	assert_null(hnv_policy_port_name(p, HNV_PORTS_MAX));
	const struct hnv_port *pt = hnv_policy_port(p, (unsigned)id_b);
	assert_non_null(pt);
	assert_int_equal(pt->vsid, 5001);
	assert_int_equal(pt->n_cas, 2);
	struct hnv_ip v6 = pg_ip("fd00:5001::5");
	assert_true(hnv_ip_eq(&pt->cas[1], &v6));
	assert_null(hnv_policy_port(p, 0));
	assert_null(hnv_policy_port(p, HNV_PORTS_MAX));
	struct hnv_mac m = pg_mac("080800000005");
	pt = hnv_policy_port_by_mac(p, 6001, &m);
	assert_true(pt && pt->id == id_r);
	pt = hnv_policy_port_by_mac(p, 5002, &m);
	assert_true(pt && pt->id == id_o);
	assert_null(hnv_policy_port_by_mac(p, 5001, &m));

	assert_int_equal(hnv_policy_port_del(p, "red1"), 0);
	assert_int_equal(hnv_policy_port_del(p, "red1"), -ENOENT);
	assert_null(hnv_policy_port(p, (unsigned)id_r));
	assert_null(hnv_policy_port_by_mac(p, 6001, &m));
	assert_int_equal(hnv_policy_port_id(p, "red1"), -ENOENT);
	/* many ports: each found by id and MAC */
	int ids[300];
	for (int i = 0; i < 300; i++) {
		char name[16], mac[13];
		snprintf(name, sizeof(name), "vm%d", i);
		snprintf(mac, sizeof(mac), "0200000%05x", i);
		s = port(name, 5002, mac, NULL);
		ids[i] = hnv_policy_port_add(p, &s);
		assert_true(ids[i] >= 1);
	}
	for (int i = 0; i < 300; i++) {
		char mac[13];
		snprintf(mac, sizeof(mac), "0200000%05x", i);
		struct hnv_mac mm = pg_mac(mac);
		pt = hnv_policy_port_by_mac(p, 5002, &mm);
		assert_true(pt && pt->id == ids[i]);
	}
}

/* ---- concurrency ---- */

struct reader_ctx {
	struct hnv_policy *p;
	struct hnv_ip ca4, ca6, pa1, pa2;
	struct hnv_mac mac;
	atomic_bool stop, started;
	atomic_ulong iters, missing, torn;
};

static void check_seen(struct reader_ctx *c, const struct hnv_rec *r, const struct hnv_ip *ca)
{
	if (!r) {
		atomic_fetch_add(&c->missing, 1);
		return;
	}
	struct hnv_rec copy;
	memcpy(&copy, r, sizeof(copy));
	bool pa_ok = hnv_ip_eq(&copy.pa, &c->pa1) || hnv_ip_eq(&copy.pa, &c->pa2);
	bool id_ok = copy.vsid == 5001 && hnv_mac_eq(&copy.mac, &c->mac) &&
		     (!ca || hnv_ip_eq(&copy.ca, ca)) && (copy.flags & HNV_REC_F_USED);
	if (!pa_ok || !id_ok)
		atomic_fetch_add(&c->torn, 1);
}

static void *reader_main(void *arg)
{
	struct reader_ctx *c = arg;
	urcu_qsbr_register_thread();
	atomic_store(&c->started, true);
	unsigned long n = 0;
	while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		check_seen(c, by_ca_ip(c->p, 5001, &c->ca4), &c->ca4);
		check_seen(c, by_ca_ip(c->p, 5001, &c->ca6), &c->ca6);
		check_seen(c, by_mac_m(c->p, 5001, &c->mac), NULL);
		if (++n % 32 == 0)
			urcu_qsbr_quiescent_state();
	}
	atomic_store(&c->iters, n);
	urcu_qsbr_unregister_thread();
	return NULL;
}

static void test_concurrent_readers(void **state)
{
	struct hnv_policy *p = *state;
	struct reader_ctx c;
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.ca4 = pg_ip("10.0.0.7");
	c.ca6 = pg_ip("fd00:5001::7");
	c.pa1 = pg_ip("192.168.4.22");
	c.pa2 = pg_ip("192.168.4.33");
	c.mac = pg_mac("060600000007");
	assert_int_equal(add_rec(p, 5001, "10.0.0.7", "192.168.4.22", "060600000007"), 0);
	assert_int_equal(add_rec(p, 5001, "fd00:5001::7", "192.168.4.22", "060600000007"), 0);
	atomic_init(&c.stop, false);
	atomic_init(&c.started, false);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, reader_main, &c), 0);
	while (!atomic_load(&c.started))
		;
	struct hnv_policy_stats st0;
	hnv_policy_stats(p, &st0);
	uint32_t next = 0x10000, oldest = 0x10000; /* 10.1.0.0 up: clear of 10.0.0.7 */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int round = 0; round < 200; round++) {
		const char *pa = round & 1 ? "192.168.4.22" : "192.168.4.33";
		struct hnv_lookup_spec s = rec(5001, "10.0.0.7", pa, "060600000007");
		assert_int_equal(hnv_policy_lookup_set(p, &s), 0);
		s = rec(5001, "fd00:5001::7", pa, "060600000007");
		assert_int_equal(hnv_policy_lookup_set(p, &s), 0);
		/* grow by 300, shrink by 200: index rebuilds and tombstones */
		for (int k = 0; k < 300; k++) {
			struct hnv_lookup_spec g = synth(next++, 5001);
			assert_int_equal(hnv_policy_lookup_add(p, &g), 0);
		}
		for (int k = 0; k < 200; k++) {
			struct hnv_lookup_spec d = synth(oldest++, 5001);
			assert_int_equal(hnv_policy_lookup_del(p, 5001, &d.ca, &d.mac), 0);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	atomic_store(&c.stop, true);
	assert_int_equal(pthread_join(th, NULL), 0);
	struct hnv_policy_stats st;
	hnv_policy_stats(p, &st);
	print_message("reader: %lu iterations in %.2f s, %zu records at the end\n",
		      atomic_load(&c.iters),
		      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		      st.n_records);
	assert_int_equal(st.n_records, 2 + next - oldest);
	assert_true(st.record_bytes > st0.record_bytes); /* the indexes did grow */
	assert_true(atomic_load(&c.iters) > 1000);
	assert_int_equal(atomic_load(&c.missing), 0);
	assert_int_equal(atomic_load(&c.torn), 0);
}

/* ---- learned records (hnv_policy_learn) ---- */

struct mcount {
	unsigned rec_set, rec_del, vs_set;
	bool vs_l2; /* the last vsubnet_set had L2Only records */
};

static int m_rec_set(void *arg, const struct hnv_rec *r)
{
	(void)r;
	((struct mcount *)arg)->rec_set++;
	return 0;
}

static int m_rec_del(void *arg, const struct hnv_rec *r)
{
	(void)r;
	((struct mcount *)arg)->rec_del++;
	return 0;
}

static int m_vs_set(void *arg, const struct hnv_vsubnet *v)
{
	struct mcount *m = arg;
	m->vs_set++;
	m->vs_l2 = v->l2 != NULL;
	return 0;
}

static struct hnv_lookup_spec l2only(uint32_t vsid, const char *pa, const char *mac)
{
	struct hnv_lookup_spec s = rec(vsid, "0.0.0.0", pa, mac);
	s.type = HNV_TYPE_L2ONLY;
	return s;
}

static int learn(struct hnv_policy *p, uint32_t vsid, const char *ca, const char *mac,
		 const char *pa, uint32_t now)
{
	struct hnv_ip c = pg_ip(ca), a = pg_ip(pa);
	struct hnv_mac m = pg_mac(mac);
	return hnv_policy_learn(p, vsid, &c, &m, &a, now);
}

static void test_learned(void **state)
{
	struct hnv_policy *p = *state;
	struct mcount mc = {0};
	static const struct hnv_policy_mirror_ops ops = {
		.rec_set = m_rec_set, .rec_del = m_rec_del, .vsubnet_set = m_vs_set};
	hnv_policy_set_mirror(p, &(struct hnv_policy_mirror){&ops, &mc});
	const struct hnv_vsubnet *v = hnv_policy_vsubnet(p, 5001);
	assert_null(v->l2);
	/* the first L2Only record of a VSID is a vsubnet change for the mirror */
	struct hnv_lookup_spec a = l2only(5001, "192.168.4.22", "00155d0000aa");
	assert_int_equal(hnv_policy_lookup_add(p, &a), 0);
	assert_int_equal(mc.vs_set, 1);
	assert_true(mc.vs_l2);
	assert_int_equal(mc.rec_set, 0); /* no CA: not a record of the mirror */
	struct hnv_lookup_spec b = l2only(5001, "192.168.4.33", "00155d0000bb");
	assert_int_equal(hnv_policy_lookup_add(p, &b), 0);
	assert_int_equal(mc.vs_set, 1);
	assert_int_equal(v->l2->n, 2);
	struct hnv_mac ma = pg_mac("00155d0000aa");
	assert_true(hnv_policy_l2only(v, &ma) != NULL);

	/* learned: a Dynamic record, mirrored, found by CA and MAC */
	assert_int_equal(learn(p, 5001, "10.0.0.50", "00155d0000aa", "192.168.4.22", 10),
			 HNV_LEARN_NEW);
	assert_int_equal(mc.rec_set, 1);
	const struct hnv_rec *r = by_ca(p, 5001, "10.0.0.50");
	assert_true(rec_is(r, "10.0.0.50", "192.168.4.22", "00155d0000aa"));
	assert_int_equal(r->type, HNV_TYPE_DYNAMIC);
	assert_true(r->flags & HNV_REC_F_LEARNED);
	assert_int_equal(r->seen, 10);
	assert_int_equal(learn(p, 5001, "10.0.0.50", "00155d0000aa", "192.168.4.22", 20),
			 HNV_LEARN_FRESH);
	assert_int_equal(by_ca(p, 5001, "10.0.0.50")->seen, 20);
	assert_int_equal(mc.rec_set, 1);
	/* wrong PA, no L2Only record, other VSID, outside the prefix, gateway */
	assert_int_equal(learn(p, 5001, "10.0.0.51", "00155d0000aa", "192.168.4.33", 20), -EPERM);
	assert_int_equal(learn(p, 5001, "10.0.0.51", "00155d0000cc", "192.168.4.22", 20), -EPERM);
	assert_int_equal(learn(p, 5002, "10.0.1.51", "00155d0000aa", "192.168.4.22", 20), -EPERM);
	assert_int_equal(learn(p, 5001, "10.0.1.51", "00155d0000aa", "192.168.4.22", 20), -EINVAL);
	assert_int_equal(learn(p, 5001, "10.0.0.1", "00155d0000aa", "192.168.4.22", 20), -EINVAL);
	assert_int_equal(learn(p, 5001, "10.0.0.255", "00155d0000aa", "192.168.4.22", 20), -EINVAL);
	assert_int_equal(learn(p, 5001, "fd00:5001::51", "00155d0000aa", "192.168.4.22", 20),
			 HNV_LEARN_NEW);
	/* a static record is never taken over */
	assert_int_equal(add_rec(p, 5001, "10.0.0.60", "192.168.4.40", "00155d000060"), 0);
	assert_int_equal(learn(p, 5001, "10.0.0.60", "00155d0000aa", "192.168.4.22", 20), -EEXIST);
	/* moved to the other MAC and PA */
	unsigned del = mc.rec_del;
	assert_int_equal(learn(p, 5001, "10.0.0.50", "00155d0000bb", "192.168.4.33", 30),
			 HNV_LEARN_MOVED);
	assert_true(
		rec_is(by_ca(p, 5001, "10.0.0.50"), "10.0.0.50", "192.168.4.33", "00155d0000bb"));
	assert_int_equal(mc.rec_del, del + 1);
	size_t in;
	assert_int_equal(hnv_policy_n_learned(p, 5001, &in), 2);
	assert_int_equal(in, 2);
	/* config does not see learned records: set/del say there is none */
	struct hnv_lookup_spec ls = rec(5001, "10.0.0.50", "192.168.4.33", "00155d0000bb");
	ls.type = HNV_TYPE_DYNAMIC;
	assert_int_equal(hnv_policy_lookup_set(p, &ls), -ENOENT);
	assert_int_equal(del_rec(p, 5001, "10.0.0.50", "00155d0000bb"), -ENOENT);
	/* ... but adding one replaces the learned record: configuration wins */
	assert_int_equal(hnv_policy_lookup_add(p, &ls), 0);
	r = by_ca(p, 5001, "10.0.0.50");
	assert_false(r->flags & HNV_REC_F_LEARNED);
	assert_int_equal(r->type, HNV_TYPE_DYNAMIC);
	assert_int_equal(hnv_policy_n_learned(p, 5001, NULL), 1);
	/* a configured Dynamic record never ages */
	assert_int_equal(hnv_policy_learn_expire(p, 1000, 300), 1); /* fd00:5001::51 */
	assert_non_null(by_ca(p, 5001, "10.0.0.50"));
	assert_null(by_ca(p, 5001, "fd00:5001::51"));
	/* deleting an L2Only record forgets what its MAC learned */
	assert_int_equal(learn(p, 5001, "10.0.0.70", "00155d0000aa", "192.168.4.22", 1000),
			 HNV_LEARN_NEW);
	assert_int_equal(hnv_policy_lookup_del(p, 5001, &a.ca, &a.mac), 0);
	assert_null(by_ca(p, 5001, "10.0.0.70"));
	assert_int_equal(hnv_policy_n_learned(p, 5001, NULL), 0);
	/* the last L2Only record gone: the VSID has none, the mirror sees it */
	assert_int_equal(hnv_policy_lookup_del(p, 5001, &b.ca, &b.mac), 0);
	assert_null(v->l2);
	assert_false(mc.vs_l2);
	assert_int_equal(hnv_policy_unlearn(p, 5001, &ls.ca), -ENOENT); /* configured */
	hnv_policy_set_mirror(p, NULL);
}

/* HNV_LEARN_MAX in all: 8 VSIDs of HNV_LEARN_MAX_PER_VSID each fill it. */
static void test_learned_total(void **state)
{
	struct hnv_policy *p = *state;
	assert_int_equal(HNV_LEARN_MAX, 8 * HNV_LEARN_MAX_PER_VSID);
	char a[64];
	for (unsigned v = 0; v < 9; v++) {
		snprintf(a, sizeof(a), "10.%u.0.0", 100 + v);
		assert_int_equal(add_vs(p, 7000 + v, "blue", a, 16, NULL, 0), 0);
		struct hnv_lookup_spec l = l2only(7000 + v, "192.168.4.22", "00155d0000aa");
		assert_int_equal(hnv_policy_lookup_add(p, &l), 0);
	}
	for (unsigned v = 0; v < 8; v++)
		for (unsigned i = 0; i < HNV_LEARN_MAX_PER_VSID; i++) {
			snprintf(a, sizeof(a), "10.%u.%u.%u", 100 + v, 1 + i / 200, 1 + i % 200);
			assert_int_equal(learn(p, 7000 + v, a, "00155d0000aa", "192.168.4.22", 1),
					 HNV_LEARN_NEW);
		}
	assert_int_equal(hnv_policy_n_learned(p, 7008, NULL), HNV_LEARN_MAX);
	assert_int_equal(learn(p, 7008, "10.108.0.5", "00155d0000aa", "192.168.4.22", 1),
			 -ENOSPC);
	/* one ages out: there is room again */
	assert_int_equal(learn(p, 7000, "10.100.1.1", "00155d0000aa", "192.168.4.22", 100),
			 HNV_LEARN_FRESH);
	assert_int_equal(hnv_policy_learn_expire(p, 50, 10), HNV_LEARN_MAX - 1);
	assert_int_equal(learn(p, 7008, "10.108.0.5", "00155d0000aa", "192.168.4.22", 50),
			 HNV_LEARN_NEW);
	assert_int_equal(hnv_policy_n_learned(p, 0, NULL), 2);
}

static int group_setup(void **state)
{
	(void)state;
	urcu_qsbr_register_thread();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	urcu_qsbr_unregister_thread();
	return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_policy, teardown_policy)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rdomain),
		T(test_vsubnet),
		T(test_lookup_add_errors),
		T(test_lookup_find),
		T(test_lookup_shared_mac),
		T(test_lookup_set),
		T(test_lookup_wildcard_l2only),
		T(test_lookup_growth),
		T(test_lookup_memory_1m),
		T(test_route_errors),
		T(test_route_commit),
		T(test_route_lpm4),
		T(test_route_lpm6),
		T(test_route_lpm_random),
		T(test_route_rdomain_reuse),
		T(test_pa),
		T(test_port),
		T(test_concurrent_readers),
		T(test_learned),
		T(test_learned_total),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
