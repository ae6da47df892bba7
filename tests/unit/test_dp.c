/* test_dp.c: the HNV forwarding engine end to end (datapath/dp.c with the
 * real policy tables, codecs and config text).
 *
 * The policy is the Blue/Red demo of the Hyper-V documentation as seen from
 * Host1 (PA 192.168.4.11), extended with a second blue VSID (5002,
 * 10.0.1.0/24) that has a local VM (blue3) and a remote one (10.0.1.9), a
 * second local blue VM (blue4), IPv6 in VSID 5001, and a remote VM (.9)
 * behind an IPv6 PA. Frames come from pktgen.h; every expectation is what a
 * VM or a peer host would see on the wire.
 *
 * Run from the repository root (the replay test reads
 * tests/data/gre_nvgre.pcap).
 */
#define _LGPL_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-qsbr.h>

#include "../../datapath/dp.h"
#include "../../datapath/nvgre_ext.h"
#include "../../datapath/io/pcap.h"
#include "../../datapath/policy_read.h"
#include "../../datapath/proto.h"
#include "../../mgmt/conf_apply.h"
#include "bluered.h"
#include "nvxgen.h"
#include "pktgen.h"

static const char BLUERED[] = BLUERED_CONF;

#define UPLINK_MAC "00155d000011"
#define NEIGH_MAC "00155d000022"
#define NEIGH6_MAC "00155d000122"

struct ctx {
	struct hnv_dp *dp;
	struct hnv_dp_worker *w;
	struct hnv_policy *pol;
	int blue1, red1, blue3, blue4;
	bool tracing;
	struct hnv_trace trace;
	struct hnv_pkt pkt;
};

static struct ctx *ctx_new(const char *conf)
{
	struct ctx *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->dp = hnv_dp_new();
	assert_non_null(c->dp);
	struct hnv_conf_cmd *cmds;
	size_t n;
	char err[256];
	if (hnv_conf_parse_text(conf, strlen(conf), &cmds, &n, err, sizeof(err)))
		fail_msg("config: %s", err);
	if (hnv_conf_apply(c->dp, cmds, n, err, sizeof(err)))
		fail_msg("config: %s", err);
	free(cmds);
	c->pol = hnv_dp_policy(c->dp);
	c->w = hnv_dp_worker_new(c->dp);
	assert_non_null(c->w);
	struct hnv_mac um = pg_mac(UPLINK_MAC), nm = pg_mac(NEIGH_MAC), nm6 = pg_mac(NEIGH6_MAC);
	hnv_dp_set_uplink(c->dp, &um, 1500);
	struct hnv_ip pa = pg_ip("192.168.4.22"), pa6 = pg_ip("fd00:4::22");
	assert_int_equal(hnv_dp_neigh_set(c->dp, &pa, &nm), 0);
	assert_int_equal(hnv_dp_neigh_set(c->dp, &pa6, &nm6), 0);
	c->blue1 = hnv_policy_port_id(c->pol, "blue1");
	c->red1 = hnv_policy_port_id(c->pol, "red1");
	c->blue3 = hnv_policy_port_id(c->pol, "blue3");
	c->blue4 = hnv_policy_port_id(c->pol, "blue4");
	return c;
}

static void ctx_free(struct ctx *c)
{
	hnv_dp_worker_free(c->w);
	urcu_qsbr_thread_offline();
	hnv_dp_free(c->dp);
	urcu_qsbr_thread_online();
	free(c);
}

static int setup(void **state)
{
	*state = ctx_new(BLUERED);
	return 0;
}

static int teardown(void **state)
{
	ctx_free(*state);
	return 0;
}

/* Every verdict: a known reason; a frame to send lies inside the buffer. */
static void check_sane(const struct hnv_pkt *p)
{
	assert_true(p->reason < HNV_R__COUNT);
	if (hnv_reason_is_drop(p->reason))
		return;
	assert_true(p->data >= p->buf);
	assert_true(p->len >= 14);
	assert_true(p->data + p->len <= p->buf + sizeof(p->buf));
}

static struct hnv_pkt *run_flags(struct ctx *c, const uint8_t *f, size_t len, int port,
				 uint16_t flags)
{
	struct hnv_pkt *p = &c->pkt;
	assert_int_equal(hnv_pkt_load(p, f, len, (uint16_t)port), 0);
	p->flags = flags;
	p->trace = c->tracing ? &c->trace : NULL;
	hnv_dp_process(c->w, &p, 1);
	check_sane(p);
	return p;
}

static struct hnv_pkt *run(struct ctx *c, const uint8_t *f, size_t len, int port)
{
	return run_flags(c, f, len, port, 0);
}

#define assert_reason(p, r)                                                                        \
	do {                                                                                       \
		if ((p)->reason != (r))                                                            \
			fail_msg("verdict %s, want %s", hnv_reason_name((p)->reason),              \
				 hnv_reason_name(r));                                              \
	} while (0)

static void assert_mac_at(const uint8_t *at, const char *mac)
{
	struct hnv_mac m = pg_mac(mac);
	assert_memory_equal(at, m.b, 6);
}

static void assert_ip4_at(const uint8_t *at, const char *ip)
{
	struct hnv_ip a = pg_ip(ip);
	assert_memory_equal(at, a.b + 12, 4);
}

static void assert_ip6_at(const uint8_t *at, const char *ip)
{
	struct hnv_ip a = pg_ip(ip);
	assert_memory_equal(at, a.b, 16);
}

/* A UDP frame from blue1 (10.0.0.5) to dst with dst_mac. */
static size_t blue1_udp(uint8_t *f, const char *dst_mac, const char *dst, uint8_t tos,
			uint16_t sport, size_t payload)
{
	struct pg_ip_pkt s = pg_ip_defaults(BLUE1, dst_mac, "10.0.0.5", dst, 17);
	s.tos = tos;
	s.sport = sport;
	s.payload_len = payload;
	return pg_ip_frame(f, &s);
}

/* Checks an NVGRE packet toward dst_pa (IPv4 or IPv6) carrying inner; returns
 * its FlowID. */
static uint8_t check_encap(const struct hnv_pkt *p, const char *dst_pa, uint32_t vsid, uint8_t tos,
			   const uint8_t *inner, size_t inner_len)
{
	assert_int_equal(p->out_port, HNV_PORT_UPLINK);
	const uint8_t *f = p->data;
	struct hnv_ip pa = pg_ip(dst_pa);
	bool v4 = pg_is_v4(&pa);
	size_t hl = v4 ? 42 : 62;
	assert_int_equal(p->len, hl + inner_len);
	assert_mac_at(f, v4 ? NEIGH_MAC : NEIGH6_MAC);
	assert_mac_at(f + 6, UPLINK_MAC);
	const uint8_t *ip = f + 14;
	if (v4) {
		assert_int_equal(pg_get16(f + 12), 0x0800);
		assert_int_equal(ip[0], 0x45);
		assert_int_equal(ip[1], tos); /* DSCP and ECN copied (RFC 6040 normal mode) */
		assert_int_equal(pg_get16(ip + 2), 20 + 8 + inner_len);
		assert_int_equal(pg_get16(ip + 6), 0x4000); /* DF, never fragmented */
		assert_int_equal(ip[8], 64);
		assert_int_equal(ip[9], 47);
		assert_true(pg_ip4_csum_ok(ip));
		assert_ip4_at(ip + 12, "192.168.4.11");
		assert_ip4_at(ip + 16, dst_pa);
	} else {
		assert_int_equal(pg_get16(f + 12), 0x86dd);
		assert_int_equal(ip[0] >> 4, 6);
		assert_int_equal((ip[0] & 15) << 4 | ip[1] >> 4, tos);
		assert_int_equal(pg_get16(ip + 4), 8 + inner_len);
		assert_int_equal(ip[6], 47);
		assert_int_equal(ip[7], 64);
		assert_ip6_at(ip + 8, "fd00:4::11");
		assert_ip6_at(ip + 24, dst_pa);
	}
	const uint8_t *gre = f + hl - 8;
	assert_int_equal(pg_get16(gre), 0x2000); /* sent exactly */
	assert_int_equal(pg_get16(gre + 2), 0x6558);
	assert_int_equal(pg_get32(gre + 4) >> 8, vsid);
	uint8_t fid = gre[7];
	if (!v4) /* the FlowID doubles as the outer flow label for ECMP */
		assert_int_equal(pg_get32(ip) & 0xfffff, fid);
	assert_memory_equal(f + hl, inner, inner_len);
	return fid;
}

/* ---- ARP ---- */

static size_t arp_req(uint8_t *f, const char *mac, const char *ip, const char *target)
{
	size_t len = pg_arp_request(f, mac, ip, target);
	memset(f + len, 0, 60 - len); /* padded as on the wire */
	return 60;
}

static void check_arp_reply(const struct hnv_pkt *p, int port, const char *asker_mac,
			    const char *asker_ip, const char *answer_mac, const char *target)
{
	assert_reason(p, HNV_R_arp_reply);
	assert_int_equal(p->out_port, port);
	assert_true(p->len >= 42);
	const uint8_t *f = p->data;
	assert_mac_at(f, asker_mac);
	assert_mac_at(f + 6, answer_mac);
	assert_int_equal(pg_get16(f + 12), 0x0806);
	const uint8_t *a = f + 14;
	assert_int_equal(pg_get16(a), 1);
	assert_int_equal(pg_get16(a + 2), 0x0800);
	assert_int_equal(a[4], 6);
	assert_int_equal(a[5], 4);
	assert_int_equal(pg_get16(a + 6), 2);
	assert_mac_at(a + 8, answer_mac);
	assert_ip4_at(a + 14, target);
	assert_mac_at(a + 18, asker_mac);
	assert_ip4_at(a + 24, asker_ip);
}

static void test_arp_remote_vm(void **state)
{
	struct ctx *c = *state;
	uint8_t f[128];
	size_t len = arp_req(f, BLUE1, "10.0.0.5", "10.0.0.7");
	check_arp_reply(run(c, f, len, c->blue1), c->blue1, BLUE1, "10.0.0.5", BLUE2, "10.0.0.7");
	/* the same question from red1 gets red2's MAC */
	len = arp_req(f, RED1, "10.0.0.5", "10.0.0.7");
	check_arp_reply(run(c, f, len, c->red1), c->red1, RED1, "10.0.0.5", RED2, "10.0.0.7");
	/* a local VM's address is answered too */
	len = arp_req(f, BLUE1, "10.0.0.5", "10.0.0.6");
	check_arp_reply(run(c, f, len, c->blue1), c->blue1, BLUE1, "10.0.0.5", BLUE4, "10.0.0.6");
	/* unpadded (42 bytes) works the same */
	len = pg_arp_request(f, BLUE1, "10.0.0.5", "10.0.0.7");
	check_arp_reply(run(c, f, len, c->blue1), c->blue1, BLUE1, "10.0.0.5", BLUE2, "10.0.0.7");
}

static void test_arp_gateway(void **state)
{
	struct ctx *c = *state;
	uint8_t f[128];
	size_t len = arp_req(f, BLUE1, "10.0.0.5", "10.0.0.1");
	char gw[13];
	const struct hnv_mac *g = hnv_dp_gateway_mac(c->dp);
	snprintf(gw, sizeof(gw), "%02x%02x%02x%02x%02x%02x", g->b[0], g->b[1], g->b[2], g->b[3],
		 g->b[4], g->b[5]);
	assert_string_equal(gw, GW_MAC);
	check_arp_reply(run(c, f, len, c->blue1), c->blue1, BLUE1, "10.0.0.5", GW_MAC, "10.0.0.1");
	len = arp_req(f, RED1, "10.0.0.5", "10.0.0.1");
	check_arp_reply(run(c, f, len, c->red1), c->red1, RED1, "10.0.0.5", GW_MAC, "10.0.0.1");
	len = arp_req(f, BLUE3, "10.0.1.5", "10.0.1.1");
	check_arp_reply(run(c, f, len, c->blue3), c->blue3, BLUE3, "10.0.1.5", GW_MAC, "10.0.1.1");
	/* a configured gateway MAC is used from then on */
	struct hnv_mac nm = pg_mac("02aabbccddee");
	hnv_dp_set_gateway_mac(c->dp, &nm);
	len = arp_req(f, BLUE1, "10.0.0.5", "10.0.0.1");
	check_arp_reply(run(c, f, len, c->blue1), c->blue1, BLUE1, "10.0.0.5", "02aabbccddee",
			"10.0.0.1");
}

static void test_arp_not_answered(void **state)
{
	struct ctx *c = *state;
	uint8_t f[128];
	size_t len = arp_req(f, BLUE1, "10.0.0.5", "10.0.0.99");
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_arp_unknown);
	/* records are per VSID: 10.0.1.9 is in 5002, not on blue1's subnet */
	len = arp_req(f, BLUE1, "10.0.0.5", "10.0.1.9");
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_arp_unknown);
	/* an ARP probe (sender 0.0.0.0) for one's own address: no answer, so
	 * the VM does not think its address is taken */
	len = arp_req(f, BLUE1, "0.0.0.0", "10.0.0.5");
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_own_address);
	/* a gratuitous ARP */
	len = arp_req(f, BLUE1, "10.0.0.5", "10.0.0.5");
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_own_address);
	/* a lie about the sender hardware address */
	struct hnv_mac bc = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, z = {{0}};
	struct hnv_mac sha = pg_mac(BLUE2);
	struct hnv_ip spa = pg_ip("10.0.0.5"), tpa = pg_ip("10.0.0.7");
	len = pg_arp(f, &bc, 1, &sha, &spa, &z, &tpa);
	struct hnv_mac port_mac = pg_mac(BLUE1);
	memcpy(f + 6, port_mac.b, 6); /* Ethernet source is the port's */
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_spoof);
	/* broadcast replies are not for the host to answer */
	struct hnv_mac me = pg_mac(BLUE1);
	len = pg_arp(f, &bc, 2, &me, &spa, &z, &tpa);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_broadcast);
	/* truncated ARP */
	len = pg_arp_request(f, BLUE1, "10.0.0.5", "10.0.0.7");
	assert_true(hnv_reason_is_drop(run(c, f, len - 1, c->blue1)->reason));
}

/* Unicast ARP is forwarded to the VM that owns the MAC (here: encapsulated
 * to blue2's host), and its FlowID depends on the frame alone. */
static void test_arp_unicast_forwarded(void **state)
{
	struct ctx *c = *state;
	uint8_t f[128], other[256], inner[128];
	struct hnv_mac dst = pg_mac(BLUE2), sha = pg_mac(BLUE1);
	struct hnv_ip spa = pg_ip("10.0.0.5"), tpa = pg_ip("10.0.0.7");
	size_t len = pg_arp(f, &dst, 1, &sha, &spa, &dst, &tpa);
	memcpy(inner, f, len);
	struct hnv_pkt *p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_tx_encap);
	uint8_t fid = check_encap(p, "192.168.4.22", 5001, 0, inner, len);
	/* the FlowID must not depend on what the worker processed before */
	for (int i = 0; i < 8; i++) {
		char dip[16];
		snprintf(dip, sizeof(dip), "10.0.0.%d", i % 2 ? 7 : 6);
		size_t olen =
			blue1_udp(other, i % 2 ? BLUE2 : BLUE4, dip, 0, (uint16_t)(1000 + i), 40);
		run(c, other, olen, c->blue1);
		p = run(c, inner, len, c->blue1);
		assert_reason(p, HNV_R_tx_encap);
		if (p->data[41] != fid)
			fail_msg("unicast ARP FlowID %u after packet %d, %u before", p->data[41], i,
				 fid);
	}
	/* a unicast ARP frame padded past the uplink MTU is not sent as an
	 * NVGRE packet the provider network cannot carry */
	static uint8_t big[PG_FRAME_MAX];
	memcpy(big, inner, len);
	memset(big + len, 0, 1600 - len);
	p = run(c, big, 1600, c->blue1);
	if (!hnv_reason_is_drop(p->reason) && p->len > 1500 + 14)
		fail_msg("%u-byte NVGRE frame sent with an uplink MTU of 1500", p->len);
}

/* ---- bridging and encapsulation ---- */

static void test_encap_ipv4(void **state)
{
	struct ctx *c = *state;
	uint8_t f[2048], inner[2048];
	size_t len = blue1_udp(f, BLUE2, "10.0.0.7", 0xb8 | 2, 5555, 100); /* EF, ECT(0) */
	memcpy(inner, f, len);
	struct hnv_pkt *p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_tx_encap);
	assert_int_equal(p->vsid, 5001);
	uint8_t fid = check_encap(p, "192.168.4.22", 5001, 0xba, inner, len);
	/* CE from the VM is copied as well */
	len = blue1_udp(f, BLUE2, "10.0.0.7", 0x28 | 3, 5555, 100);
	memcpy(inner, f, len);
	check_encap(run(c, f, len, c->blue1), "192.168.4.22", 5001, 0x2b, inner, len);
	/* the same 5-tuple with another payload: the same FlowID */
	len = blue1_udp(f, BLUE2, "10.0.0.7", 0xba, 5555, 300);
	memcpy(inner, f, len);
	assert_int_equal(
		check_encap(run(c, f, len, c->blue1), "192.168.4.22", 5001, 0xba, inner, len), fid);
	/* other flows spread over FlowIDs */
	unsigned seen[256] = {0}, distinct = 0;
	for (uint16_t sp = 1; sp <= 64; sp++) {
		len = blue1_udp(f, BLUE2, "10.0.0.7", 0, sp, 20);
		memcpy(inner, f, len);
		uint8_t x =
			check_encap(run(c, f, len, c->blue1), "192.168.4.22", 5001, 0, inner, len);
		distinct += seen[x]++ == 0;
	}
	assert_true(distinct >= 16);
	/* Ethernet padding after the IP packet is not carried */
	len = blue1_udp(f, BLUE2, "10.0.0.7", 0, 9, 1);
	memcpy(inner, f, len);
	memset(f + len, 0, 64 - len);
	check_encap(run(c, f, 64, c->blue1), "192.168.4.22", 5001, 0, inner, len);
	/* FlowID off: 0 */
	hnv_dp_set_flowid(c->dp, false);
	for (uint16_t sp = 1; sp <= 16; sp++) {
		len = blue1_udp(f, BLUE2, "10.0.0.7", 0, sp, 20);
		memcpy(inner, f, len);
		assert_int_equal(
			check_encap(run(c, f, len, c->blue1), "192.168.4.22", 5001, 0, inner, len),
			0);
	}
}

static void test_encap_ipv6_inner(void **state)
{
	struct ctx *c = *state;
	uint8_t f[2048], inner[2048];
	struct pg_ip_pkt s = pg_ip_defaults(BLUE1, BLUE2, "fd00:5001::5", "fd00:5001::7", 6);
	s.tos = 0x2a;
	size_t len = pg_ip_frame(f, &s);
	memcpy(inner, f, len);
	struct hnv_pkt *p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_tx_encap);
	check_encap(p, "192.168.4.22", 5001, 0x2a, inner, len);
	/* to a VM behind an IPv6 PA: an IPv6 outer header */
	s = pg_ip_defaults(BLUE1, BLUE9, "fd00:5001::5", "fd00:5001::9", 17);
	s.tos = 0x11;
	len = pg_ip_frame(f, &s);
	memcpy(inner, f, len);
	p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_tx_encap);
	check_encap(p, "fd00:4::22", 5001, 0x11, inner, len);
	len = blue1_udp(f, BLUE9, "10.0.0.9", 0x04, 77, 60);
	memcpy(inner, f, len);
	check_encap(run(c, f, len, c->blue1), "fd00:4::22", 5001, 0x04, inner, len);
}

static void test_encap_strips_vlan(void **state)
{
	struct ctx *c = *state;
	uint8_t f[2048], inner[2048];
	struct pg_ip_pkt s = pg_ip_defaults(BLUE1, BLUE2, "10.0.0.5", "10.0.0.7", 17);
	size_t ilen = pg_ip_frame(inner, &s);
	s.vlan = 0x0064;
	size_t len = pg_ip_frame(f, &s);
	assert_int_equal(len, ilen + 4);
	struct hnv_pkt *p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_tx_encap);
	check_encap(p, "192.168.4.22", 5001, 0, inner, ilen);
}

static void test_local_bridge(void **state)
{
	struct ctx *c = *state;
	uint8_t f[2048], orig[2048];
	size_t len = blue1_udp(f, BLUE4, "10.0.0.6", 0, 1, 50);
	memcpy(orig, f, len);
	struct hnv_pkt *p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_tx_local);
	assert_int_equal(p->out_port, c->blue4);
	assert_int_equal(p->len, len);
	assert_memory_equal(p->data, orig, len);
}

/* ---- routing ---- */

static void test_routed_remote(void **state)
{
	struct ctx *c = *state;
	uint8_t f[2048], want[2048];
	struct pg_ip_pkt s = pg_ip_defaults(BLUE1, GW_MAC, "10.0.0.5", "10.0.1.9", 6);
	s.tos = 0x48;
	size_t len = pg_ip_frame(f, &s);
	struct pg_ip_pkt w = s;
	w.dst_mac = pg_mac(REMOTE5002);
	w.src_mac = pg_mac(GW_MAC);
	w.ttl = 63;
	size_t wlen = pg_ip_frame(want, &w); /* with its own checksum */
	struct hnv_pkt *p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_tx_routed_encap);
	assert_int_equal(p->vsid, 5002);
	check_encap(p, "192.168.4.22", 5002, 0x48, want, wlen);
	assert_true(pg_ip4_csum_ok(p->data + 42 + 14));
	/* inside the same VSID through the gateway works too */
	s = pg_ip_defaults(BLUE1, GW_MAC, "10.0.0.5", "10.0.0.7", 17);
	len = pg_ip_frame(f, &s);
	w = s;
	w.dst_mac = pg_mac(BLUE2);
	w.src_mac = pg_mac(GW_MAC);
	w.ttl = 63;
	wlen = pg_ip_frame(want, &w);
	p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_tx_routed_encap);
	check_encap(p, "192.168.4.22", 5001, 0, want, wlen);
}

static void test_routed_local(void **state)
{
	struct ctx *c = *state;
	uint8_t f[2048], want[2048];
	struct pg_ip_pkt s = pg_ip_defaults(BLUE1, GW_MAC, "10.0.0.5", "10.0.1.5", 1);
	s.ttl = 2;
	size_t len = pg_ip_frame(f, &s);
	struct pg_ip_pkt w = s;
	w.dst_mac = pg_mac(BLUE3);
	w.src_mac = pg_mac(GW_MAC);
	w.ttl = 1;
	size_t wlen = pg_ip_frame(want, &w);
	struct hnv_pkt *p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_tx_routed_local);
	assert_int_equal(p->out_port, c->blue3);
	assert_int_equal(p->vsid, 5002);
	assert_int_equal(p->len, wlen);
	assert_memory_equal(p->data, want, wlen);
	/* and back */
	s = pg_ip_defaults(BLUE3, GW_MAC, "10.0.1.5", "10.0.0.5", 17);
	len = pg_ip_frame(f, &s);
	p = run(c, f, len, c->blue3);
	assert_reason(p, HNV_R_tx_routed_local);
	assert_int_equal(p->out_port, c->blue1);
	assert_mac_at(p->data, BLUE1);
	assert_mac_at(p->data + 6, GW_MAC);
	assert_int_equal(p->data[14 + 8], 63);
	assert_true(pg_ip4_csum_ok(p->data + 14));
}

static void test_routed_ttl(void **state)
{
	struct ctx *c = *state;
	uint8_t f[2048];
	for (uint8_t ttl = 0; ttl <= 1; ttl++) {
		struct pg_ip_pkt s = pg_ip_defaults(BLUE1, GW_MAC, "10.0.0.5", "10.0.1.9", 17);
		s.ttl = ttl;
		size_t len = pg_ip_frame(f, &s);
		assert_reason(run(c, f, len, c->blue1), HNV_R_drop_ttl);
		s = pg_ip_defaults(BLUE1, GW_MAC, "fd00:5001::5", "fd00:5001::7", 17);
		s.ttl = ttl;
		len = pg_ip_frame(f, &s);
		assert_reason(run(c, f, len, c->blue1), HNV_R_drop_ttl);
	}
	/* bridged traffic keeps its TTL, even 1 */
	struct pg_ip_pkt s = pg_ip_defaults(BLUE1, BLUE2, "10.0.0.5", "10.0.0.7", 17);
	s.ttl = 1;
	uint8_t inner[2048];
	size_t len = pg_ip_frame(f, &s);
	memcpy(inner, f, len);
	check_encap(run(c, f, len, c->blue1), "192.168.4.22", 5001, 0, inner, len);
}

static void test_no_route_no_record(void **state)
{
	struct ctx *c = *state;
	uint8_t f[2048];
	size_t len = blue1_udp(f, GW_MAC, "10.0.2.1", 0, 1, 10);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_no_route);
	len = blue1_udp(f, GW_MAC, "10.0.1.77", 0, 1, 10); /* routed, no record */
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_no_record);
	len = blue1_udp(f, BLUE2, "10.0.0.77", 0, 1, 10);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_no_record);
	/* the right address with the wrong MAC */
	len = blue1_udp(f, BLUE4, "10.0.0.7", 0, 1, 10);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_no_record);
	/* IP broadcast / multicast frames are not flooded */
	len = blue1_udp(f, "ffffffffffff", "10.0.0.255", 0, 1, 10);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_broadcast);
	len = blue1_udp(f, "01005e000001", "224.0.0.1", 0, 1, 10);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_broadcast);
	/* non-IP */
	struct hnv_mac d = pg_mac(BLUE2), s = pg_mac(BLUE1);
	memset(f, 0, 60);
	pg_eth(f, &d, &s, 0x88cc);
	assert_reason(run(c, f, 60, c->blue1), HNV_R_drop_non_ip);
	/* an unknown ingress port */
	len = blue1_udp(f, BLUE2, "10.0.0.7", 0, 1, 10);
	assert_reason(run(c, f, len, 999), HNV_R_drop_port_unknown);
	/* no next-hop MAC for the PA */
	struct hnv_ip pa = pg_ip("192.168.4.22");
	assert_int_equal(hnv_dp_neigh_del(c->dp, &pa), 0);
	assert_int_equal(hnv_dp_neigh_del(c->dp, &pa), -ENOENT);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_neigh_miss);
	/* a record whose rule is not Encap */
	struct hnv_lookup_spec r;
	memset(&r, 0, sizeof(r));
	r.vsid = 5001;
	r.ca = pg_ip("10.0.0.7");
	r.pa = pg_ip("192.168.4.22");
	r.mac = pg_mac(BLUE2);
	r.rule = HNV_RULE_NAT;
	r.type = HNV_TYPE_STATIC;
	assert_int_equal(hnv_policy_lookup_set(c->pol, &r), 0);
	c->tracing = true;
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_rule);
	/* the trace (hnvgw trace, nexthop) names the rule as users know it */
	bool named = false;
	for (unsigned i = 0; i < c->trace.n && i < HNV_TRACE_STEPS; i++)
		named |= strstr(c->trace.step[i].text, "record rule TranslationMethodNat (35) is not "
							  "TranslationMethodEncap") != NULL;
	assert_true(named);
	c->tracing = false;
}

/* Blue never reaches Red: whatever blue1 sends, nothing leaves in a red
 * VSID or toward a red port, and the reverse. */
static void check_isolated(struct ctx *c, int port, const char *mac, const char *ip,
			   const uint32_t *ok_vsids, const int *ok_ports)
{
	static const char *macs[] = {BLUE2,      BLUE4, RED1,   RED2, BLUE3,
				     REMOTE5002, BLUE9, GW_MAC, BLUE1};
	uint8_t f[256];
	for (int host = 0; host < 256; host++) {
		for (int net = 0; net < 3; net++) {
			char dst[32];
			snprintf(dst, sizeof(dst), "10.0.%d.%d", net, host);
			for (size_t m = 0; m < sizeof(macs) / sizeof(macs[0]); m++) {
				struct pg_ip_pkt s = pg_ip_defaults(mac, macs[m], ip, dst, 17);
				size_t len = pg_ip_frame(f, &s);
				struct hnv_pkt *p = run(c, f, len, port);
				if (hnv_reason_is_drop(p->reason))
					continue;
				bool ok = false;
				if (p->out_port == HNV_PORT_UPLINK) {
					bool o4 = pg_get16(p->data + 12) == 0x0800;
					uint32_t vsid = pg_get32(p->data + (o4 ? 38 : 58)) >> 8;
					for (int i = 0; ok_vsids[i]; i++)
						ok |= vsid == ok_vsids[i];
				} else {
					for (int i = 0; ok_ports[i]; i++)
						ok |= p->out_port == ok_ports[i];
				}
				if (!ok)
					fail_msg("to %s via %s: %s out of port %u", dst, macs[m],
						 hnv_reason_name(p->reason), p->out_port);
			}
			size_t len = arp_req(f, mac, ip, dst);
			struct hnv_pkt *p = run(c, f, len, port);
			if (!hnv_reason_is_drop(p->reason) && p->out_port != port)
				fail_msg("ARP for %s left through port %u", dst, p->out_port);
		}
	}
}

static void test_isolation(void **state)
{
	struct ctx *c = *state;
	const uint32_t blue_vsids[] = {5001, 5002, 0}, red_vsids[] = {6001, 0};
	const int blue_ports[] = {c->blue1, c->blue3, c->blue4, 0}, red_ports[] = {c->red1, 0};
	check_isolated(c, c->blue1, BLUE1, "10.0.0.5", blue_vsids, blue_ports);
	check_isolated(c, c->red1, RED1, "10.0.0.5", red_vsids, red_ports);
	/* and the obvious case, counted */
	uint64_t before[HNV_R__COUNT], after[HNV_R__COUNT];
	hnv_dp_counters(c->dp, before);
	uint8_t f[256];
	size_t len = blue1_udp(f, RED2, "10.0.0.7", 0, 1, 10);
	struct hnv_pkt *p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_drop_no_record);
	hnv_dp_counters(c->dp, after);
	assert_int_equal(after[HNV_R_drop_no_record], before[HNV_R_drop_no_record] + 1);
	assert_int_equal(after[HNV_R_tx_encap], before[HNV_R_tx_encap]);
}

static void test_spoof_from_vm(void **state)
{
	struct ctx *c = *state;
	uint8_t f[256];
	struct pg_ip_pkt s = pg_ip_defaults(BLUE1, BLUE2, "10.0.0.6", "10.0.0.7", 17);
	size_t len = pg_ip_frame(f, &s); /* blue4's address */
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_spoof);
	s = pg_ip_defaults(BLUE1, BLUE2, "10.0.0.7", "10.0.0.6", 17);
	len = pg_ip_frame(f, &s);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_spoof);
	s = pg_ip_defaults(BLUE4, BLUE2, "10.0.0.5", "10.0.0.7", 17); /* another MAC */
	len = pg_ip_frame(f, &s);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_spoof);
	s = pg_ip_defaults("060600000055", BLUE2, "10.0.0.5", "10.0.0.7", 17);
	len = pg_ip_frame(f, &s);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_spoof);
	s = pg_ip_defaults(BLUE1, BLUE2, "fd00:5001::7", "fd00:5001::5", 17);
	len = pg_ip_frame(f, &s);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_spoof);
	/* red1's identity on red1's port is fine, on blue1's port it is not */
	s = pg_ip_defaults(RED1, RED2, "10.0.0.5", "10.0.0.7", 17);
	len = pg_ip_frame(f, &s);
	assert_reason(run(c, f, len, c->red1), HNV_R_tx_encap);
	len = pg_ip_frame(f, &s);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_spoof);
}

/* Issue 17 finding 8: ARP and NA may not claim another VM's address,
 * neither toward a remote VM nor toward one on the same host. */
static void test_spoof_arp_na_sender(void **state)
{
	struct ctx *c = *state;
	uint8_t f[256];
	struct hnv_mac bc = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, z = {{0}};
	struct hnv_mac me = pg_mac(BLUE1), blue4 = pg_mac(BLUE4);
	struct hnv_ip blue4_ip = pg_ip("10.0.0.6"), blue2_ip = pg_ip("10.0.0.7");
	struct hnv_ip mine = pg_ip("10.0.0.5");
	/* a gratuitous-looking reply to blue4 (same host) claiming blue2's address */
	size_t len = pg_arp(f, &blue4, 2, &me, &blue2_ip, &blue4, &blue4_ip);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_spoof);
	/* a request that claims blue4's address */
	len = pg_arp(f, &bc, 1, &me, &blue4_ip, &z, &blue2_ip);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_spoof);
	/* with its own address the same reply is delivered to blue4 */
	len = pg_arp(f, &blue4, 2, &me, &mine, &blue4, &blue4_ip);
	struct hnv_pkt *p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_tx_local);
	/* an NA for blue2's IPv6 address, sent to blue2 */
	len = pg_ns(f, BLUE1, "fd00:5001::5", "fd00:5001::7", "fd00:5001::7", BLUE2, 255, false);
	f[14 + 40] = 136; /* the solicitation made an advertisement */
	struct hnv_ip s6 = pg_ip("fd00:5001::5"), d6 = pg_ip("fd00:5001::7");
	pg_put16(f + 14 + 40 + 2, 0);
	pg_put16(f + 14 + 40 + 2, pg_csum6(&s6, &d6, 58, f + 14 + 40, len - 14 - 40));
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_spoof);
	/* the NA for its own address goes out */
	len = pg_ns(f, BLUE1, "fd00:5001::5", "fd00:5001::5", "fd00:5001::7", BLUE2, 255, false);
	f[14 + 40] = 136;
	pg_put16(f + 14 + 40 + 2, 0);
	pg_put16(f + 14 + 40 + 2, pg_csum6(&s6, &d6, 58, f + 14 + 40, len - 14 - 40));
	assert_reason(run(c, f, len, c->blue1), HNV_R_tx_encap);
}

/* ---- receive ---- */

struct rx {
	struct pg_gre g;
	struct pg_ip_pkt in;
};

static struct rx rx_default(void)
{
	struct rx r;
	r.g = pg_gre_defaults("192.168.4.22", "192.168.4.11", 5001);
	r.in = pg_ip_defaults(BLUE2, BLUE1, "10.0.0.7", "10.0.0.5", 17);
	return r;
}

/* Builds the NVGRE frame; the inner frame is copied to inner. */
static size_t rx_build(uint8_t *f, const struct rx *r, uint8_t *inner, size_t *ilen)
{
	uint8_t tmp[2048];
	*ilen = pg_ip_frame(tmp, &r->in);
	if (inner)
		memcpy(inner, tmp, *ilen);
	return pg_nvgre(f, &r->g, tmp, *ilen);
}

static struct hnv_pkt *rx_run(struct ctx *c, const struct rx *r)
{
	uint8_t f[2048];
	size_t ilen;
	size_t len = rx_build(f, r, NULL, &ilen);
	return run(c, f, len, HNV_PORT_UPLINK);
}

static void check_delivered(const struct hnv_pkt *p, int port, const uint8_t *inner, size_t ilen)
{
	assert_reason(p, HNV_R_rx_decap_delivered);
	assert_int_equal(p->out_port, port);
	assert_int_equal(p->len, ilen);
	assert_memory_equal(p->data, inner, ilen);
}

static void test_rx_deliver(void **state)
{
	struct ctx *c = *state;
	struct rx r = rx_default();
	uint8_t f[2048], inner[2048];
	size_t ilen, len = rx_build(f, &r, inner, &ilen);
	struct hnv_pkt *p = run(c, f, len, HNV_PORT_UPLINK);
	check_delivered(p, c->blue1, inner, ilen);
	assert_int_equal(p->vsid, 5001);
	/* reserved bits 6-12 set, another FlowID: still NVGRE */
	r.g.flags = 0x23f8;
	r.g.flow_id = 0;
	len = rx_build(f, &r, inner, &ilen);
	check_delivered(run(c, f, len, HNV_PORT_UPLINK), c->blue1, inner, ilen);
	/* trailing bytes after the outer IP packet are not delivered */
	r = rx_default();
	len = rx_build(f, &r, inner, &ilen);
	memset(f + len, 0xee, 30);
	check_delivered(run(c, f, len + 30, HNV_PORT_UPLINK), c->blue1, inner, ilen);
	/* an outer VLAN tag */
	len = rx_build(f, &r, inner, &ilen);
	memmove(f + 16, f + 12, len - 12);
	pg_put16(f + 12, 0x8100);
	pg_put16(f + 14, 42);
	check_delivered(run(c, f, len + 4, HNV_PORT_UPLINK), c->blue1, inner, ilen);
	/* IPv6 inside */
	r.in = pg_ip_defaults(BLUE2, BLUE1, "fd00:5001::7", "fd00:5001::5", 6);
	len = rx_build(f, &r, inner, &ilen);
	check_delivered(run(c, f, len, HNV_PORT_UPLINK), c->blue1, inner, ilen);
	/* to a second local VM */
	r.in = pg_ip_defaults(BLUE2, BLUE4, "10.0.0.7", "10.0.0.6", 17);
	len = rx_build(f, &r, inner, &ilen);
	check_delivered(run(c, f, len, HNV_PORT_UPLINK), c->blue4, inner, ilen);
	/* an IPv6 outer header from the host behind fd00:4::22 */
	r.g = pg_gre_defaults("fd00:4::22", "fd00:4::11", 5001);
	r.in = pg_ip_defaults(BLUE9, BLUE1, "fd00:5001::9", "fd00:5001::5", 17);
	len = rx_build(f, &r, inner, &ilen);
	check_delivered(run(c, f, len, HNV_PORT_UPLINK), c->blue1, inner, ilen);
	r.in = pg_ip_defaults(BLUE9, BLUE1, "10.0.0.9", "10.0.0.5", 17);
	len = rx_build(f, &r, inner, &ilen);
	check_delivered(run(c, f, len, HNV_PORT_UPLINK), c->blue1, inner, ilen);
	/* a unicast ARP reply from blue2 */
	struct hnv_mac b1 = pg_mac(BLUE1), b2 = pg_mac(BLUE2);
	struct hnv_ip a7 = pg_ip("10.0.0.7"), a5 = pg_ip("10.0.0.5");
	ilen = pg_arp(inner, &b1, 2, &b2, &a7, &b1, &a5);
	r.g = pg_gre_defaults("192.168.4.22", "192.168.4.11", 5001);
	len = pg_nvgre(f, &r.g, inner, ilen);
	check_delivered(run(c, f, len, HNV_PORT_UPLINK), c->blue1, inner, ilen);
}

static void test_rx_red(void **state)
{
	struct ctx *c = *state;
	struct rx r = rx_default();
	r.g.vsid = 6001; /* blue2's frame in red's VSID */
	assert_reason(rx_run(c, &r), HNV_R_drop_spoof);
	r.in = pg_ip_defaults(RED2, RED1, "10.0.0.7", "10.0.0.5", 17);
	uint8_t f[2048], inner[2048];
	size_t ilen, len = rx_build(f, &r, inner, &ilen);
	struct hnv_pkt *p = run(c, f, len, HNV_PORT_UPLINK);
	check_delivered(p, c->red1, inner, ilen);
	assert_int_equal(p->vsid, 6001);
	/* red2 to blue1's MAC: no red port has it */
	r.in = pg_ip_defaults(RED2, BLUE1, "10.0.0.7", "10.0.0.5", 17);
	assert_reason(rx_run(c, &r), HNV_R_drop_no_local_port);
	/* red2's identity in blue's VSID */
	r.g.vsid = 5001;
	r.in = pg_ip_defaults(RED2, BLUE1, "10.0.0.7", "10.0.0.5", 17);
	assert_reason(rx_run(c, &r), HNV_R_drop_spoof);
}

static void test_rx_spoof(void **state)
{
	struct ctx *c = *state;
	struct rx r = rx_default();
	r.g.src = pg_ip("192.168.4.33"); /* not blue2's host */
	assert_reason(rx_run(c, &r), HNV_R_drop_spoof);
	r = rx_default();
	r.in.src_mac = pg_mac("060600000099");
	assert_reason(rx_run(c, &r), HNV_R_drop_spoof);
	r = rx_default();
	r.in.src = pg_ip("10.0.0.8"); /* no record */
	assert_reason(rx_run(c, &r), HNV_R_drop_spoof);
	r = rx_default();
	r.in.src = pg_ip("10.0.0.5"); /* a local VM's address from a remote PA */
	r.in.src_mac = pg_mac(BLUE1);
	r.in.dst_mac = pg_mac(BLUE4);
	assert_reason(rx_run(c, &r), HNV_R_drop_spoof);
	r = rx_default();
	r.g.vsid = 5002;
	assert_reason(rx_run(c, &r), HNV_R_drop_spoof);
	/* an ARP with a forged sender address */
	struct hnv_mac b1 = pg_mac(BLUE1), b2 = pg_mac(BLUE2);
	struct hnv_ip a8 = pg_ip("10.0.0.8"), a5 = pg_ip("10.0.0.5");
	uint8_t inner[64], f[256];
	size_t ilen = pg_arp(inner, &b1, 2, &b2, &a8, &b1, &a5);
	r = rx_default();
	size_t len = pg_nvgre(f, &r.g, inner, ilen);
	assert_reason(run(c, f, len, HNV_PORT_UPLINK), HNV_R_drop_spoof);
	/* to an unknown local MAC */
	r = rx_default();
	r.in.dst_mac = pg_mac("060600000077");
	assert_reason(rx_run(c, &r), HNV_R_drop_no_local_port);
	r.in.dst_mac = pg_mac("ffffffffffff");
	assert_reason(rx_run(c, &r), HNV_R_drop_broadcast);
}

/* A frame from 10.0.1.9 (VSID 5002 on Host2), routed there to blue1: Host2
 * rewrote the VSID to 5001 and the source MAC to the gateway's. */
static void test_rx_routed(void **state)
{
	struct ctx *c = *state;
	struct rx r = rx_default();
	r.in = pg_ip_defaults(GW_MAC, BLUE1, "10.0.1.9", "10.0.0.5", 17);
	uint8_t f[2048], inner[2048];
	size_t ilen, len = rx_build(f, &r, inner, &ilen);
	check_delivered(run(c, f, len, HNV_PORT_UPLINK), c->blue1, inner, ilen);
	r.g.src = pg_ip("192.168.4.33");
	assert_reason(rx_run(c, &r), HNV_R_drop_spoof);
	r = rx_default();
	r.in = pg_ip_defaults(GW_MAC, BLUE1, "10.0.2.9", "10.0.0.5", 17); /* no route */
	assert_reason(rx_run(c, &r), HNV_R_drop_spoof);
}

static void test_rx_vsid(void **state)
{
	struct ctx *c = *state;
	static const uint32_t reserved[] = {0, 1, 4095, 0xffffff};
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		struct rx r = rx_default();
		r.g.vsid = reserved[i];
		struct hnv_pkt *p = rx_run(c, &r);
		if (p->reason != HNV_R_drop_vsid_reserved)
			fail_msg("VSID 0x%x: %s", reserved[i], hnv_reason_name(p->reason));
	}
	struct rx r = rx_default();
	r.g.vsid = 4096;
	assert_reason(rx_run(c, &r), HNV_R_drop_vsid_unknown);
	r.g.vsid = 0xfffffe;
	assert_reason(rx_run(c, &r), HNV_R_drop_vsid_unknown);
}

static void test_rx_gre_header(void **state)
{
	struct ctx *c = *state;
	static const uint16_t bad[] = {0x0000, 0xa000, 0x3000, 0x2001, 0x6000,
				       0x2800, 0x2400, 0xb000, 0x2004};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rx r = rx_default();
		r.g.flags = bad[i];
		struct hnv_pkt *p = rx_run(c, &r);
		if (p->reason != HNV_R_drop_gre_flags)
			fail_msg("flags 0x%04x: %s", bad[i], hnv_reason_name(p->reason));
	}
	struct rx r = rx_default();
	r.g.proto = 0x0800;
	assert_reason(rx_run(c, &r), HNV_R_drop_gre_proto);
	r = rx_default();
	r.g.ip_proto = 17;
	assert_reason(rx_run(c, &r), HNV_R_drop_not_gre);
	r = rx_default();
	r.g.dst = pg_ip("192.168.4.12");
	assert_reason(rx_run(c, &r), HNV_R_drop_not_local_pa);
	r.g.dst = pg_ip("192.168.4.22");
	assert_reason(rx_run(c, &r), HNV_R_drop_not_local_pa);
	static const uint16_t frags[] = {0x2000, 0x0001, 0x3fff, 0x60b9};
	for (size_t i = 0; i < sizeof(frags) / sizeof(frags[0]); i++) {
		r = rx_default();
		r.g.frag = frags[i];
		assert_reason(rx_run(c, &r), HNV_R_drop_ip_fragment);
	}
	/* inner 802.1Q */
	r = rx_default();
	r.in.vlan = 7;
	assert_reason(rx_run(c, &r), HNV_R_drop_inner_vlan);
	/* ARP is the only non-IP inner frame handled */
	uint8_t inner[64], f[256];
	struct hnv_mac b1 = pg_mac(BLUE1), b2 = pg_mac(BLUE2);
	memset(inner, 0, 60);
	pg_eth(inner, &b1, &b2, 0x88cc);
	r = rx_default();
	size_t len = pg_nvgre(f, &r.g, inner, 60);
	assert_reason(run(c, f, len, HNV_PORT_UPLINK), HNV_R_drop_non_ip);
	/* not IP at all on the uplink */
	memset(f, 0, 60);
	pg_eth(f, &b1, &b2, 0x0806);
	assert_reason(run(c, f, 60, HNV_PORT_UPLINK), HNV_R_drop_not_gre);
	assert_true(hnv_reason_is_drop(run(c, f, 10, HNV_PORT_UPLINK)->reason));
}

static void test_rx_checksum(void **state)
{
	struct ctx *c = *state;
	struct rx r = rx_default();
	uint8_t f[2048], inner[2048];
	size_t ilen, len = rx_build(f, &r, inner, &ilen);
	f[14 + 10] ^= 0x40;
	assert_reason(run(c, f, len, HNV_PORT_UPLINK), HNV_R_drop_bad_csum);
	/* the I/O layer (the kernel) verified it already */
	check_delivered(run_flags(c, f, len, HNV_PORT_UPLINK, HNV_PKT_F_L3_CSUM_OK), c->blue1,
			inner, ilen);
	/* a corrupted header field */
	len = rx_build(f, &r, inner, &ilen);
	f[14 + 8] = 12; /* TTL changed in flight */
	assert_reason(run(c, f, len, HNV_PORT_UPLINK), HNV_R_drop_bad_csum);
}

static void test_rx_ecn(void **state)
{
	struct ctx *c = *state;
	uint8_t f[2048], inner[2048];
	size_t ilen, len;
	/* outer CE over Not-ECT: dropped (RFC 6040 section 4.2) */
	struct rx r = rx_default();
	r.g.tos = 0x03;
	r.in.tos = 0x20;
	assert_reason(rx_run(c, &r), HNV_R_drop_ecn);
	/* outer CE over ECT(0): the inner packet is marked CE */
	r.in.tos = 0x22;
	len = rx_build(f, &r, inner, &ilen);
	struct hnv_pkt *p = run(c, f, len, HNV_PORT_UPLINK);
	assert_reason(p, HNV_R_rx_decap_delivered);
	assert_int_equal(p->data[14 + 1], 0x23);
	assert_true(pg_ip4_csum_ok(p->data + 14));
	inner[14 + 1] = 0x23;
	inner[14 + 10] = 0;
	inner[14 + 11] = 0;
	pg_put16(inner + 14 + 10, pg_fold(pg_sum(0, inner + 14, 20)));
	assert_memory_equal(p->data, inner, ilen);
	/* outer CE over ECT(1) */
	r.in.tos = 0x01;
	len = rx_build(f, &r, inner, &ilen);
	p = run(c, f, len, HNV_PORT_UPLINK);
	assert_reason(p, HNV_R_rx_decap_delivered);
	assert_int_equal(p->data[14 + 1], 0x03);
	assert_true(pg_ip4_csum_ok(p->data + 14));
	/* outer ECT(1) over ECT(0): ECT(1) */
	r.g.tos = 0x01;
	r.in.tos = 0x02;
	p = rx_run(c, &r);
	assert_reason(p, HNV_R_rx_decap_delivered);
	assert_int_equal(p->data[14 + 1], 0x01);
	assert_true(pg_ip4_csum_ok(p->data + 14));
	/* outer ECT(0) over Not-ECT: unchanged */
	r.g.tos = 0x02;
	r.in.tos = 0x00;
	len = rx_build(f, &r, inner, &ilen);
	check_delivered(run(c, f, len, HNV_PORT_UPLINK), c->blue1, inner, ilen);
	/* IPv6 inner: CE over ECT(0), the traffic class keeps its DSCP */
	r.g.tos = 0x03;
	r.in = pg_ip_defaults(BLUE2, BLUE1, "fd00:5001::7", "fd00:5001::5", 17);
	r.in.tos = 0xb8 | 0x02;
	len = rx_build(f, &r, inner, &ilen);
	p = run(c, f, len, HNV_PORT_UPLINK);
	assert_reason(p, HNV_R_rx_decap_delivered);
	const uint8_t *ip6 = p->data + 14;
	assert_int_equal(ip6[0] >> 4, 6);
	assert_int_equal((ip6[0] & 15) << 4 | ip6[1] >> 4, 0xbb);
	assert_int_equal(pg_get32(ip6) & 0xfffff, pg_get32(inner + 14) & 0xfffff);
	r.in.tos = 0xb8;
	assert_reason(rx_run(c, &r), HNV_R_drop_ecn);
	/* the outer ECN of an IPv6 outer header counts the same */
	r.g = pg_gre_defaults("fd00:4::22", "fd00:4::11", 5001);
	r.g.tos = 0x03;
	r.in = pg_ip_defaults(BLUE9, BLUE1, "10.0.0.9", "10.0.0.5", 17);
	assert_reason(rx_run(c, &r), HNV_R_drop_ecn);
}

static void test_rx_truncated(void **state)
{
	struct ctx *c = *state;
	struct rx r = rx_default();
	uint8_t f[2048];
	size_t ilen, len = rx_build(f, &r, NULL, &ilen);
	for (size_t l = 0; l < len; l++) {
		struct hnv_pkt *p = run(c, f, l, HNV_PORT_UPLINK);
		if (!hnv_reason_is_drop(p->reason))
			fail_msg("%zu of %zu bytes: %s", l, len, hnv_reason_name(p->reason));
	}
	/* a lying inner IPv4 total length */
	len = rx_build(f, &r, NULL, &ilen);
	pg_put16(f + 42 + 14 + 2, 1400);
	assert_reason(run(c, f, len, HNV_PORT_UPLINK), HNV_R_drop_bad_ip);
}

/* ---- MTU ---- */

static void check_frag_needed(const struct hnv_pkt *p, int port, const uint8_t *orig, unsigned mtu)
{
	assert_reason(p, HNV_R_icmp_frag_needed);
	assert_int_equal(p->out_port, port);
	const uint8_t *f = p->data;
	assert_mac_at(f, BLUE1);
	assert_mac_at(f + 6, GW_MAC);
	assert_int_equal(pg_get16(f + 12), 0x0800);
	const uint8_t *ip = f + 14;
	assert_int_equal(ip[0], 0x45);
	assert_true(pg_ip4_csum_ok(ip));
	uint16_t tl = pg_get16(ip + 2);
	assert_int_equal(p->len, 14 + tl);
	assert_true(tl <= 576);
	assert_int_equal(ip[9], 1);
	assert_true(ip[8] > 1);
	assert_ip4_at(ip + 12, "10.0.0.1");
	assert_ip4_at(ip + 16, "10.0.0.5");
	const uint8_t *icmp = ip + 20;
	assert_int_equal(icmp[0], 3);
	assert_int_equal(icmp[1], 4);
	assert_int_equal(pg_get16(icmp + 6), mtu);
	assert_int_equal(pg_fold(pg_sum(0, icmp, tl - 20u)), 0);
	/* the original IP header and the first 8 bytes of its payload, at least */
	assert_true(tl >= 20 + 8 + 28);
	assert_memory_equal(icmp + 8, orig + 14, 28);
}

static void test_mtu_ipv4(void **state)
{
	struct ctx *c = *state;
	static uint8_t f[PG_FRAME_MAX], orig[PG_FRAME_MAX], inner[PG_FRAME_MAX];
	/* 1500 bytes of IP with DF: does not fit 1500 - 42 */
	size_t len = blue1_udp(f, BLUE2, "10.0.0.7", 0, 1, 1500 - 28);
	assert_int_equal(len, 1514);
	memcpy(orig, f, len);
	check_frag_needed(run(c, f, len, c->blue1), c->blue1, orig, 1458);
	/* the largest packet that fits */
	len = blue1_udp(f, BLUE2, "10.0.0.7", 0, 1, 1458 - 28);
	memcpy(inner, f, len);
	struct hnv_pkt *p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_tx_encap);
	check_encap(p, "192.168.4.22", 5001, 0, inner, len);
	assert_int_equal(p->len, 1500 + 14);
	len = blue1_udp(f, BLUE2, "10.0.0.7", 0, 1, 1459 - 28);
	memcpy(orig, f, len);
	check_frag_needed(run(c, f, len, c->blue1), c->blue1, orig, 1458);
	/* routed, too */
	len = blue1_udp(f, GW_MAC, "10.0.1.9", 0, 1, 1500 - 28);
	memcpy(orig, f, len);
	p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_icmp_frag_needed);
	assert_int_equal(pg_get16(p->data + 14 + 20 + 6), 1458);
	/* without DF: NVGRE is never fragmented, so it is dropped */
	struct pg_ip_pkt s = pg_ip_defaults(BLUE1, BLUE2, "10.0.0.5", "10.0.0.7", 17);
	s.df = false;
	s.payload_len = 1500 - 28;
	len = pg_ip_frame(f, &s);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_mtu);
	/* an IPv6 provider network: 62 bytes of overhead */
	len = blue1_udp(f, BLUE9, "10.0.0.9", 0, 1, 1500 - 28);
	memcpy(orig, f, len);
	check_frag_needed(run(c, f, len, c->blue1), c->blue1, orig, 1438);
	len = blue1_udp(f, BLUE9, "10.0.0.9", 0, 1, 1438 - 28);
	memcpy(inner, f, len);
	p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_tx_encap);
	check_encap(p, "fd00:4::22", 5001, 0, inner, len);
	/* jumbo frames on the provider network */
	hnv_dp_set_uplink(c->dp, NULL, 9000);
	len = blue1_udp(f, BLUE2, "10.0.0.7", 0, 1, 1500 - 28);
	memcpy(inner, f, len);
	check_encap(run(c, f, len, c->blue1), "192.168.4.22", 5001, 0, inner, len);
	len = blue1_udp(f, BLUE2, "10.0.0.7", 0, 1, 8958 - 28);
	memcpy(inner, f, len);
	check_encap(run(c, f, len, c->blue1), "192.168.4.22", 5001, 0, inner, len);
	len = blue1_udp(f, BLUE2, "10.0.0.7", 0, 1, 8959 - 28);
	memcpy(orig, f, len);
	check_frag_needed(run(c, f, len, c->blue1), c->blue1, orig, 8958);
}

static void check_too_big(const struct hnv_pkt *p, int port, const uint8_t *orig, unsigned mtu)
{
	assert_reason(p, HNV_R_icmp6_too_big);
	assert_int_equal(p->out_port, port);
	const uint8_t *f = p->data;
	assert_mac_at(f, BLUE1);
	assert_mac_at(f + 6, GW_MAC);
	assert_int_equal(pg_get16(f + 12), 0x86dd);
	const uint8_t *ip = f + 14, *icmp = ip + 40;
	assert_int_equal(ip[0] >> 4, 6);
	size_t plen = pg_get16(ip + 4);
	assert_int_equal(p->len, 14 + 40 + plen);
	assert_true(40 + plen <= 1280);
	assert_int_equal(ip[6], 58);
	assert_true(ip[7] > 1);
	assert_ip6_at(ip + 8, "fd00:5001::1");
	assert_ip6_at(ip + 24, "fd00:5001::5");
	assert_int_equal(icmp[0], 2);
	assert_int_equal(icmp[1], 0);
	assert_int_equal(pg_get32(icmp + 4), mtu);
	struct hnv_ip s = pg_ip("fd00:5001::1"), d = pg_ip("fd00:5001::5");
	assert_int_equal(pg_csum6(&s, &d, 58, icmp, plen), 0);
	assert_memory_equal(icmp + 8, orig + 14, 48);
}

static void test_mtu_ipv6(void **state)
{
	struct ctx *c = *state;
	uint8_t f[2048], orig[2048], inner[2048];
	struct pg_ip_pkt s = pg_ip_defaults(BLUE1, BLUE2, "fd00:5001::5", "fd00:5001::7", 17);
	s.payload_len = 1500 - 48;
	size_t len = pg_ip_frame(f, &s);
	memcpy(orig, f, len);
	/* IPv4 provider network: 1500 - 42 */
	check_too_big(run(c, f, len, c->blue1), c->blue1, orig, 1458);
	s.payload_len = 1458 - 48;
	len = pg_ip_frame(f, &s);
	memcpy(inner, f, len);
	check_encap(run(c, f, len, c->blue1), "192.168.4.22", 5001, 0, inner, len);
	/* IPv6 provider network: 1500 - 62 */
	s = pg_ip_defaults(BLUE1, BLUE9, "fd00:5001::5", "fd00:5001::9", 17);
	s.payload_len = 1500 - 48;
	len = pg_ip_frame(f, &s);
	memcpy(orig, f, len);
	check_too_big(run(c, f, len, c->blue1), c->blue1, orig, 1438);
	s.payload_len = 1439 - 48;
	len = pg_ip_frame(f, &s);
	memcpy(orig, f, len);
	check_too_big(run(c, f, len, c->blue1), c->blue1, orig, 1438);
	s.payload_len = 1438 - 48;
	len = pg_ip_frame(f, &s);
	memcpy(inner, f, len);
	check_encap(run(c, f, len, c->blue1), "fd00:4::22", 5001, 0, inner, len);
}

/* IPv4-mapped addresses (::ffff:a.b.c.d) never appear in IPv6 headers
 * (RFC 4291 2.5.5.2). The policy stores IPv4 addresses in that form, so if
 * the engine took them from an IPv6 packet they would stand for the IPv4
 * records, gateway and provider addresses of another family. */
static void test_ipv4_mapped_in_ipv6(void **state)
{
	struct ctx *c = *state;
	uint8_t f[2048];
	/* from blue1, its IPv4 CA as an IPv6 source, to blue2's IPv4 CA */
	struct pg_ip_pkt s = pg_ip_defaults(BLUE1, BLUE2, "::ffff:10.0.0.5", "::ffff:10.0.0.7", 17);
	s.v6 = true;
	size_t len = pg_ip_frame(f, &s);
	assert_int_equal(pg_get16(f + 12), 0x86dd);
	struct hnv_pkt *p = run(c, f, len, c->blue1);
	if (!hnv_reason_is_drop(p->reason))
		fail_msg("IPv6 with IPv4-mapped addresses: %s", hnv_reason_name(p->reason));
	/* routed through the gateway by the IPv4 FIB */
	s = pg_ip_defaults(BLUE1, GW_MAC, "fd00:5001::5", "::ffff:10.0.1.9", 17);
	s.v6 = true;
	len = pg_ip_frame(f, &s);
	p = run(c, f, len, c->blue1);
	if (!hnv_reason_is_drop(p->reason))
		fail_msg("IPv6 to an IPv4-mapped address routed: %s", hnv_reason_name(p->reason));
	/* a neighbour solicitation for the IPv4 gateway, as a mapped address */
	len = pg_ns(f, BLUE1, "fd00:5001::5", "::ffff:10.0.0.1", NULL, NULL, 255, true);
	p = run(c, f, len, c->blue1);
	if (!hnv_reason_is_drop(p->reason))
		fail_msg("NS for ::ffff:10.0.0.1: %s", hnv_reason_name(p->reason));
	len = pg_ns(f, BLUE1, "fd00:5001::5", "::ffff:10.0.0.7", NULL, NULL, 255, true);
	p = run(c, f, len, c->blue1);
	if (!hnv_reason_is_drop(p->reason))
		fail_msg("NS for ::ffff:10.0.0.7: %s", hnv_reason_name(p->reason));
	/* received: blue2's IPv4 identity inside IPv6 */
	struct rx r = rx_default();
	r.in = pg_ip_defaults(BLUE2, BLUE1, "::ffff:10.0.0.7", "fd00:5001::5", 17);
	r.in.v6 = true;
	p = rx_run(c, &r);
	if (!hnv_reason_is_drop(p->reason))
		fail_msg("received IPv6 from ::ffff:10.0.0.7: %s", hnv_reason_name(p->reason));
	/* an IPv6 outer header naming the IPv4 PAs */
	r = rx_default();
	r.g.src = pg_ip("::ffff:192.168.4.22");
	r.g.dst = pg_ip("::ffff:192.168.4.11");
	r.g.v6 = true;
	p = rx_run(c, &r);
	assert_int_equal(pg_get16(c->pkt.buf + HNV_PKT_HEADROOM + 12), 0x86dd);
	if (!hnv_reason_is_drop(p->reason))
		fail_msg("IPv6 outer header to ::ffff:192.168.4.11: %s",
			 hnv_reason_name(p->reason));
}

/* ---- IPv6 neighbour discovery ---- */

static void check_na(const struct hnv_pkt *p, int port, const char *asker_mac, const char *asker_ip,
		     const char *target, const char *answer_mac, bool router)
{
	assert_reason(p, HNV_R_nd_advert);
	assert_int_equal(p->out_port, port);
	const uint8_t *f = p->data;
	assert_mac_at(f, asker_mac);
	assert_mac_at(f + 6, answer_mac);
	assert_int_equal(pg_get16(f + 12), 0x86dd);
	const uint8_t *ip = f + 14, *icmp = ip + 40;
	assert_int_equal(ip[0] >> 4, 6);
	size_t plen = pg_get16(ip + 4);
	assert_int_equal(p->len, 14 + 40 + plen);
	assert_int_equal(ip[6], 58);
	assert_int_equal(ip[7], 255); /* RFC 4861 7.1.2 */
	assert_ip6_at(ip + 8, target);
	assert_ip6_at(ip + 24, asker_ip);
	assert_int_equal(icmp[0], 136);
	assert_int_equal(icmp[1], 0);
	assert_int_equal(icmp[4] & 0xe0, (router ? 0x80 : 0) | 0x40 | 0x20);
	assert_ip6_at(icmp + 8, target);
	assert_true(plen >= 32);
	assert_int_equal(icmp[24], 2); /* target link-layer address */
	assert_int_equal(icmp[25], 1);
	assert_mac_at(icmp + 26, answer_mac);
	struct hnv_ip s = pg_ip(target), d = pg_ip(asker_ip);
	assert_int_equal(pg_csum6(&s, &d, 58, icmp, plen), 0);
}

static void test_nd(void **state)
{
	struct ctx *c = *state;
	uint8_t f[256];
	size_t len = pg_ns(f, BLUE1, "fd00:5001::5", "fd00:5001::7", NULL, NULL, 255, true);
	check_na(run(c, f, len, c->blue1), c->blue1, BLUE1, "fd00:5001::5", "fd00:5001::7", BLUE2,
		 false);
	/* without the source link-layer option, and from a link-local address */
	len = pg_ns(f, BLUE1, "fe80::1", "fd00:5001::7", NULL, NULL, 255, false);
	check_na(run(c, f, len, c->blue1), c->blue1, BLUE1, "fe80::1", "fd00:5001::7", BLUE2,
		 false);
	/* the gateway: the virtual MAC, with the router flag */
	len = pg_ns(f, BLUE1, "fd00:5001::5", "fd00:5001::1", NULL, NULL, 255, true);
	check_na(run(c, f, len, c->blue1), c->blue1, BLUE1, "fd00:5001::5", "fd00:5001::1", GW_MAC,
		 true);
	/* a VM behind an IPv6 PA */
	len = pg_ns(f, BLUE1, "fd00:5001::5", "fd00:5001::9", NULL, NULL, 255, true);
	check_na(run(c, f, len, c->blue1), c->blue1, BLUE1, "fd00:5001::5", "fd00:5001::9", BLUE9,
		 false);
}

static void test_nd_not_answered(void **state)
{
	struct ctx *c = *state;
	uint8_t f[256];
	size_t len = pg_ns(f, BLUE1, "::", "fd00:5001::7", NULL, NULL, 255, false);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_nd_dad);
	len = pg_ns(f, BLUE1, "::", "fd00:5001::5", NULL, NULL, 255, false);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_nd_dad);
	len = pg_ns(f, BLUE1, "fd00:5001::5", "fd00:5001::5", NULL, NULL, 255, true);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_own_address);
	len = pg_ns(f, BLUE1, "fd00:5001::5", "fd00:5001::99", NULL, NULL, 255, true);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_arp_unknown);
	/* an NS that crossed a router (hop limit below 255) is invalid */
	len = pg_ns(f, BLUE1, "fd00:5001::5", "fd00:5001::7", NULL, NULL, 254, true);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_bad_ip);
	/* a zero-length option */
	len = pg_ns(f, BLUE1, "fd00:5001::5", "fd00:5001::7", NULL, NULL, 255, true);
	f[14 + 40 + 25] = 0;
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_bad_ip);
	/* a router solicitation is not answered */
	len = pg_ns(f, BLUE1, "fd00:5001::5", "fd00:5001::7", NULL, NULL, 255, false);
	f[14 + 40] = 133;
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_broadcast);
	/* red1 has no IPv6 */
	len = pg_ns(f, RED1, "fd00:5001::5", "fd00:5001::7", NULL, NULL, 255, true);
	assert_reason(run(c, f, len, c->red1), HNV_R_drop_arp_unknown);
	/* truncations never produce an answer */
	len = pg_ns(f, BLUE1, "fd00:5001::5", "fd00:5001::7", NULL, NULL, 255, true);
	for (size_t l = 0; l < len; l++)
		assert_true(hnv_reason_is_drop(run(c, f, l, c->blue1)->reason));
}

/* A VM checks that its gateway is still reachable with unicast probes
 * (ARP in Linux's PROBE state, ND neighbour unreachability detection):
 * the gateway must answer those too, or the VM loses its default route
 * every few minutes. */
/* ---- default-gateway lookup records (Windows Server 2012's demo) ---- */

#define DG5001 "101010101101"
#define DG5002 "101010101001"
#define GW_RECORDS                                                                                 \
	"lookup add --vsid 5001 --ca 10.0.0.1 --pa 169.254.254.254 --mac " DG5001 "\n"             \
	"lookup add --vsid 5001 --ca fd00:5001::1 --pa 169.254.254.254 --mac " DG5001 "\n"         \
	"lookup add --vsid 5002 --ca 10.0.1.1 --pa 169.254.254.254 --mac " DG5002 "\n"

static const char BLUERED_GW_RECORDS[] = BLUERED_CONF GW_RECORDS;

static int setup_gw_records(void **state)
{
	*state = ctx_new(BLUERED_GW_RECORDS);
	return 0;
}

static void apply_text(struct ctx *c, const char *text)
{
	struct hnv_conf_cmd *cmds;
	size_t n;
	char err[256];
	if (hnv_conf_parse_text(text, strlen(text), &cmds, &n, err, sizeof(err)))
		fail_msg("config: %s", err);
	if (hnv_conf_apply(c->dp, cmds, n, err, sizeof(err)))
		fail_msg("config: %s", err);
	free(cmds);
}

/* A VSID with a default-gateway record has that record's MAC as its
 * router MAC: ARP and ND answers, the MAC frames are routed from, the
 * source of frames routed into it; others keep the global MAC. */
static void test_gw_record(void **state)
{
	struct ctx *c = *state;
	uint8_t f[2048], want[2048];
	size_t len = arp_req(f, BLUE1, "10.0.0.5", "10.0.0.1");
	check_arp_reply(run(c, f, len, c->blue1), c->blue1, BLUE1, "10.0.0.5", DG5001, "10.0.0.1");
	len = arp_req(f, BLUE3, "10.0.1.5", "10.0.1.1");
	check_arp_reply(run(c, f, len, c->blue3), c->blue3, BLUE3, "10.0.1.5", DG5002, "10.0.1.1");
	len = arp_req(f, RED1, "10.0.0.5", "10.0.0.1");
	check_arp_reply(run(c, f, len, c->red1), c->red1, RED1, "10.0.0.5", GW_MAC, "10.0.0.1");
	len = pg_ns(f, BLUE1, "fd00:5001::5", "fd00:5001::1", NULL, NULL, 255, true);
	check_na(run(c, f, len, c->blue1), c->blue1, BLUE1, "fd00:5001::5", "fd00:5001::1", DG5001,
		 true);

	/* routed to 10.0.1.9 (remote, VSID 5002): from VSID 5002's router */
	struct pg_ip_pkt s = pg_ip_defaults(BLUE1, DG5001, "10.0.0.5", "10.0.1.9", 6);
	len = pg_ip_frame(f, &s);
	struct pg_ip_pkt w = s;
	w.dst_mac = pg_mac(REMOTE5002);
	w.src_mac = pg_mac(DG5002);
	w.ttl = 63;
	size_t wlen = pg_ip_frame(want, &w);
	struct hnv_pkt *p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_tx_routed_encap);
	check_encap(p, "192.168.4.22", 5002, 0, want, wlen);
	/* the global MAC routes nothing in VSID 5001 now */
	s = pg_ip_defaults(BLUE1, GW_MAC, "10.0.0.5", "10.0.1.9", 6);
	len = pg_ip_frame(f, &s);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_no_record);
	/* local: blue1 -> blue3 and back, each from the other VSID's router */
	s = pg_ip_defaults(BLUE1, DG5001, "10.0.0.5", "10.0.1.5", 17);
	len = pg_ip_frame(f, &s);
	p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_tx_routed_local);
	assert_int_equal(p->out_port, c->blue3);
	assert_mac_at(p->data, BLUE3);
	assert_mac_at(p->data + 6, DG5002);
	s = pg_ip_defaults(BLUE3, DG5002, "10.0.1.5", "10.0.0.5", 17);
	len = pg_ip_frame(f, &s);
	p = run(c, f, len, c->blue3);
	assert_reason(p, HNV_R_tx_routed_local);
	assert_int_equal(p->out_port, c->blue1);
	assert_mac_at(p->data + 6, DG5001);
	/* Red (no record) still routes through the global MAC */
	s = pg_ip_defaults(RED1, GW_MAC, "10.0.0.5", "10.0.0.7", 17);
	len = pg_ip_frame(f, &s);
	p = run(c, f, len, c->red1);
	assert_reason(p, HNV_R_tx_routed_encap);
	assert_mac_at(p->data + 42 + 6, GW_MAC);

	/* received: routed by the sender's host into VSID 5001 from its router */
	struct rx r = rx_default();
	uint8_t inner[2048];
	size_t ilen;
	r.in = pg_ip_defaults(DG5001, BLUE1, "10.0.1.9", "10.0.0.5", 17);
	len = rx_build(f, &r, inner, &ilen);
	check_delivered(run(c, f, len, HNV_PORT_UPLINK), c->blue1, inner, ilen);
	r.in = pg_ip_defaults(GW_MAC, BLUE1, "10.0.1.9", "10.0.0.5", 17);
	assert_reason(rx_run(c, &r), HNV_R_drop_spoof);

	/* removing VSID 5001's records gives it the global MAC back (the
	 * IPv6 record keeps the MAC until it goes too) */
	apply_text(c, "lookup del --vsid 5001 --ca 10.0.0.1 --mac " DG5001 "\n");
	len = arp_req(f, BLUE1, "10.0.0.5", "10.0.0.1");
	check_arp_reply(run(c, f, len, c->blue1), c->blue1, BLUE1, "10.0.0.5", DG5001, "10.0.0.1");
	apply_text(c, "lookup del --vsid 5001 --ca fd00:5001::1 --mac " DG5001 "\n");
	len = arp_req(f, BLUE1, "10.0.0.5", "10.0.0.1");
	check_arp_reply(run(c, f, len, c->blue1), c->blue1, BLUE1, "10.0.0.5", GW_MAC, "10.0.0.1");
	s = pg_ip_defaults(BLUE1, GW_MAC, "10.0.0.5", "10.0.1.5", 17);
	len = pg_ip_frame(f, &s);
	p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_tx_routed_local);
	assert_mac_at(p->data + 6, DG5002);
	s = pg_ip_defaults(BLUE1, DG5001, "10.0.0.5", "10.0.1.5", 17);
	len = pg_ip_frame(f, &s);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_no_record);
}

static void test_gateway_unicast_probe(void **state)
{
	struct ctx *c = *state;
	uint8_t f[256];
	struct hnv_mac gw = pg_mac(GW_MAC), me = pg_mac(BLUE1);
	struct hnv_ip spa = pg_ip("10.0.0.5"), tpa = pg_ip("10.0.0.1");
	size_t len = pg_arp(f, &gw, 1, &me, &spa, &gw, &tpa);
	check_arp_reply(run(c, f, len, c->blue1), c->blue1, BLUE1, "10.0.0.5", GW_MAC, "10.0.0.1");
	len = pg_ns(f, BLUE1, "fd00:5001::5", "fd00:5001::1", "fd00:5001::1", GW_MAC, 255, true);
	check_na(run(c, f, len, c->blue1), c->blue1, BLUE1, "fd00:5001::5", "fd00:5001::1", GW_MAC,
		 true);
	/* a unicast NS for a VM goes to that VM, like any frame */
	uint8_t inner[256];
	len = pg_ns(f, BLUE1, "fd00:5001::5", "fd00:5001::7", "fd00:5001::7", BLUE2, 255, true);
	memcpy(inner, f, len);
	struct hnv_pkt *p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_tx_encap);
	check_encap(p, "192.168.4.22", 5001, 0, inner, len);
}

/* ---- the gateway address ---- */

static void test_echo_gateway(void **state)
{
	struct ctx *c = *state;
	uint8_t f[256], orig[256];
	struct pg_ip_pkt s = pg_ip_defaults(BLUE1, GW_MAC, "10.0.0.5", "10.0.0.1", 1);
	s.sport = 0x4242; /* id */
	s.dport = 7;      /* sequence */
	s.payload_len = 56;
	size_t len = pg_ip_frame(f, &s);
	memcpy(orig, f, len);
	struct hnv_pkt *p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_echo_reply);
	assert_int_equal(p->out_port, c->blue1);
	assert_int_equal(p->len, len);
	const uint8_t *ip = p->data + 14, *icmp = ip + 20;
	assert_mac_at(p->data, BLUE1);
	assert_mac_at(p->data + 6, GW_MAC);
	assert_true(pg_ip4_csum_ok(ip));
	assert_ip4_at(ip + 12, "10.0.0.1");
	assert_ip4_at(ip + 16, "10.0.0.5");
	assert_int_equal(icmp[0], 0);
	assert_int_equal(icmp[1], 0);
	assert_int_equal(pg_get16(icmp + 4), 0x4242);
	assert_int_equal(pg_get16(icmp + 6), 7);
	assert_memory_equal(icmp + 8, orig + 14 + 28, 56);
	assert_int_equal(pg_fold(pg_sum(0, icmp, 64)), 0);
	/* IPv6 */
	s = pg_ip_defaults(BLUE1, GW_MAC, "fd00:5001::5", "fd00:5001::1", 58);
	s.payload_len = 32;
	len = pg_ip_frame(f, &s);
	memcpy(orig, f, len);
	p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_echo_reply);
	assert_int_equal(p->out_port, c->blue1);
	ip = p->data + 14;
	icmp = ip + 40;
	assert_ip6_at(ip + 8, "fd00:5001::1");
	assert_ip6_at(ip + 24, "fd00:5001::5");
	assert_int_equal(icmp[0], 129);
	struct hnv_ip a = pg_ip("fd00:5001::1"), b = pg_ip("fd00:5001::5");
	assert_int_equal(pg_csum6(&a, &b, 58, icmp, 40), 0);
	assert_memory_equal(icmp + 4, orig + 14 + 40 + 4, 36);
	/* the gateway of the other subnet of the routing domain answers too,
	 * from its own address */
	s = pg_ip_defaults(BLUE1, GW_MAC, "10.0.0.5", "10.0.1.1", 1);
	len = pg_ip_frame(f, &s);
	p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_echo_reply);
	assert_int_equal(p->out_port, c->blue1);
	assert_ip4_at(p->data + 14 + 12, "10.0.1.1");
	assert_ip4_at(p->data + 14 + 16, "10.0.0.5");
	assert_true(pg_ip4_csum_ok(p->data + 14));
	assert_int_equal(pg_fold(pg_sum(0, p->data + 34, len - 34)), 0);
	/* red has no 10.0.1.0/24: red1's ping of 10.0.1.1 has no route */
	s = pg_ip_defaults(RED1, GW_MAC, "10.0.0.5", "10.0.1.1", 1);
	len = pg_ip_frame(f, &s);
	assert_reason(run(c, f, len, c->red1), HNV_R_drop_no_route);
	/* other traffic to the gateway itself is not forwarded anywhere */
	len = blue1_udp(f, GW_MAC, "10.0.0.1", 0, 53, 20);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_gateway_addr);
	/* a ping to a remote VM is just forwarded */
	s = pg_ip_defaults(BLUE1, BLUE2, "10.0.0.5", "10.0.0.7", 1);
	len = pg_ip_frame(f, &s);
	memcpy(orig, f, len);
	check_encap(run(c, f, len, c->blue1), "192.168.4.22", 5001, 0, orig, len);
}

/* ---- trace and counters ---- */

static bool trace_has(const struct hnv_trace *t, enum hnv_stage st, const char *text)
{
	for (unsigned i = 0; i < t->n && i < HNV_TRACE_STEPS; i++)
		if (t->step[i].stage == st && strstr(t->step[i].text, text))
			return true;
	return false;
}

static void test_trace(void **state)
{
	struct ctx *c = *state;
	c->tracing = true;
	uint8_t f[2048];
	size_t len = blue1_udp(f, BLUE2, "10.0.0.7", 0, 1, 20);
	run(c, f, len, c->blue1);
	assert_true(c->trace.n >= 2);
	assert_true(trace_has(&c->trace, HNV_ST_LOOKUP, "5001"));
	assert_true(trace_has(&c->trace, HNV_ST_ENCAP, "192.168.4.22"));
	assert_true(trace_has(&c->trace, HNV_ST_ENCAP, "VSID 5001"));
	unsigned n = c->trace.n;
	run(c, f, len, c->blue1); /* each packet starts a fresh trace */
	assert_int_equal(c->trace.n, n);

	struct rx r = rx_default();
	r.g.src = pg_ip("192.168.4.33");
	rx_run(c, &r);
	assert_true(trace_has(&c->trace, HNV_ST_DECAP, "5001"));
	assert_true(trace_has(&c->trace, HNV_ST_ANTISPOOF, "192.168.4.33"));
	r = rx_default();
	rx_run(c, &r);
	assert_true(trace_has(&c->trace, HNV_ST_DELIVER, "blue1"));
	len = blue1_udp(f, GW_MAC, "10.0.2.1", 0, 1, 20);
	run(c, f, len, c->blue1);
	assert_true(trace_has(&c->trace, HNV_ST_ROUTE, "10.0.2.1"));
	len = arp_req(f, BLUE1, "10.0.0.5", "10.0.0.99");
	run(c, f, len, c->blue1);
	assert_true(trace_has(&c->trace, HNV_ST_ARP, "10.0.0.99"));
	struct pg_ip_pkt s = pg_ip_defaults(BLUE1, BLUE2, "10.0.0.5", "10.0.0.7", 17);
	s.payload_len = 1500;
	len = pg_ip_frame(f, &s);
	run(c, f, len, c->blue1);
	assert_true(trace_has(&c->trace, HNV_ST_MTU, "1458"));
	/* names */
	assert_string_equal(hnv_stage_name(HNV_ST_ENCAP), "encap");
	assert_string_equal(hnv_reason_name(HNV_R_drop_spoof), "drop_spoof");
	assert_false(hnv_reason_is_drop(HNV_R_tx_encap));
	assert_true(hnv_reason_is_drop(HNV_R_drop_ecn));
	assert_string_equal(hnv_reason_name(HNV_R__COUNT), "?");
	/* tracing changes no verdict */
	c->tracing = false;
	len = blue1_udp(f, BLUE2, "10.0.0.7", 0, 1, 20);
	assert_reason(run(c, f, len, c->blue1), HNV_R_tx_encap);
}

static void test_counters(void **state)
{
	struct ctx *c = *state;
	uint64_t want[HNV_R__COUNT] = {0}, got[HNV_R__COUNT];
	hnv_dp_counters(c->dp, got);
	assert_memory_equal(got, want, sizeof(want));
	uint8_t f[2048];
	for (int i = 0; i < 3; i++) {
		size_t len = blue1_udp(f, BLUE2, "10.0.0.7", 0, (uint16_t)i, 20);
		run(c, f, len, c->blue1);
	}
	want[HNV_R_tx_encap] = 3;
	size_t len = arp_req(f, BLUE1, "10.0.0.5", "10.0.0.7");
	run(c, f, len, c->blue1);
	len = arp_req(f, BLUE1, "10.0.0.5", "10.0.0.1");
	run(c, f, len, c->blue1);
	want[HNV_R_arp_reply] = 2;
	struct rx r = rx_default();
	rx_run(c, &r);
	want[HNV_R_rx_decap_delivered] = 1;
	r.g.vsid = 4095;
	rx_run(c, &r);
	want[HNV_R_drop_vsid_reserved] = 1;
	len = blue1_udp(f, BLUE2, "10.0.0.8", 0, 1, 20);
	run(c, f, len, c->blue1);
	want[HNV_R_drop_no_record] = 1;
	hnv_dp_counters(c->dp, got);
	for (unsigned i = 0; i < HNV_R__COUNT; i++)
		if (got[i] != want[i])
			fail_msg("%s: %llu, want %llu", hnv_reason_name(i),
				 (unsigned long long)got[i], (unsigned long long)want[i]);
	/* a worker that goes away leaves its counts behind */
	hnv_dp_worker_free(c->w);
	c->w = hnv_dp_worker_new(c->dp);
	assert_non_null(c->w);
	run(c, f, len, c->blue1);
	want[HNV_R_drop_no_record]++;
	struct hnv_dp_worker *w2 = hnv_dp_worker_new(c->dp);
	struct hnv_pkt *p = malloc(sizeof(*p));
	assert_non_null(p);
	assert_int_equal(hnv_pkt_load(p, f, len, (uint16_t)c->blue1), 0);
	p->trace = NULL;
	hnv_dp_process(w2, &p, 1);
	want[HNV_R_drop_no_record]++;
	hnv_dp_counters(c->dp, got);
	assert_memory_equal(got, want, sizeof(want));
	hnv_dp_worker_free(w2);
	free(p);
	hnv_dp_counters(c->dp, got);
	assert_memory_equal(got, want, sizeof(want));
}

/* ---- batches ---- */

struct result {
	uint16_t reason, out_port;
	uint32_t len;
	uint8_t bytes[2048];
};

/* The outer IPv4 ID counts packets, so it (and the checksum over it)
 * differs between runs; everything else must not. */
static void mask_ip_id(uint8_t *f, uint16_t out_port)
{
	if (out_port == HNV_PORT_UPLINK && pg_get16(f + 12) == 0x0800)
		f[18] = f[19] = f[24] = f[25] = 0;
}

static size_t mixed_frame(uint8_t *f, int i, int *port, struct ctx *c)
{
	*port = c->blue1;
	char ip[32];
	switch (i % 9) {
	case 0:
		return blue1_udp(f, BLUE2, "10.0.0.7", 0, (uint16_t)i, (size_t)i);
	case 1:
		return arp_req(f, BLUE1, "10.0.0.5", i % 2 ? "10.0.0.7" : "10.0.0.1");
	case 2: {
		struct rx r = rx_default();
		r.in.sport = (uint16_t)i;
		size_t ilen;
		*port = HNV_PORT_UPLINK;
		return rx_build(f, &r, NULL, &ilen);
	}
	case 3:
		return blue1_udp(f, GW_MAC, "10.0.1.9", 0, (uint16_t)i, 10);
	case 4:
		snprintf(ip, sizeof(ip), "10.0.0.%d", i);
		return blue1_udp(f, BLUE2, ip, 0, 1, 10);
	case 5: {
		struct rx r = rx_default();
		r.g.vsid = 6001;
		r.in = pg_ip_defaults(RED2, RED1, "10.0.0.7", "10.0.0.5", 17);
		size_t ilen;
		*port = HNV_PORT_UPLINK;
		return rx_build(f, &r, NULL, &ilen);
	}
	case 6:
		*port = c->red1;
		return arp_req(f, RED1, "10.0.0.5", "10.0.0.7");
	case 7:
		return pg_ns(f, BLUE1, "fd00:5001::5", "fd00:5001::7", NULL, NULL, 255, true);
	default:
		*port = c->blue3;
		{
			struct pg_ip_pkt s =
				pg_ip_defaults(BLUE3, GW_MAC, "10.0.1.5", "10.0.0.5", 6);
			return pg_ip_frame(f, &s);
		}
	}
}

static void test_batch(void **state)
{
	struct ctx *c = *state;
	enum {
		N = 100
	};
	struct result *want = calloc(N, sizeof(*want));
	struct hnv_pkt **pk = calloc(HNV_BATCH_MAX + 1, sizeof(*pk));
	assert_true(want && pk);
	for (int i = 0; i < N; i++) {
		uint8_t f[2048];
		int port;
		size_t len = mixed_frame(f, i, &port, c);
		struct hnv_pkt *p = run(c, f, len, port);
		want[i].reason = p->reason;
		want[i].out_port = p->out_port;
		want[i].len = p->len;
		if (!hnv_reason_is_drop(p->reason)) {
			memcpy(want[i].bytes, p->data, p->len);
			mask_ip_id(want[i].bytes, p->out_port);
		}
	}
	for (int i = 0; i <= HNV_BATCH_MAX; i++) {
		pk[i] = malloc(sizeof(struct hnv_pkt));
		assert_non_null(pk[i]);
		uint8_t f[2048];
		int port;
		size_t len = mixed_frame(f, i % N, &port, c);
		assert_int_equal(hnv_pkt_load(pk[i], f, len, (uint16_t)port), 0);
		pk[i]->trace = NULL;
		pk[i]->reason = 0xffff;
	}
	hnv_dp_process(c->w, pk, N);
	for (int i = 0; i < N; i++) {
		check_sane(pk[i]);
		if (pk[i]->reason != want[i].reason || pk[i]->out_port != want[i].out_port)
			fail_msg("packet %d in a batch: %s port %u, alone: %s port %u", i,
				 hnv_reason_name(pk[i]->reason), pk[i]->out_port,
				 hnv_reason_name(want[i].reason), want[i].out_port);
		if (!hnv_reason_is_drop(want[i].reason)) {
			assert_int_equal(pk[i]->len, want[i].len);
			mask_ip_id(pk[i]->data, pk[i]->out_port);
			assert_memory_equal(pk[i]->data, want[i].bytes, want[i].len);
		}
	}
	/* a full batch, and one more than allowed: the extra one is untouched */
	for (int i = 0; i <= HNV_BATCH_MAX; i++) {
		uint8_t f[2048];
		int port;
		size_t len = mixed_frame(f, i % N, &port, c);
		assert_int_equal(hnv_pkt_load(pk[i], f, len, (uint16_t)port), 0);
		pk[i]->trace = NULL;
		pk[i]->reason = 0xffff;
	}
	hnv_dp_process(c->w, pk, HNV_BATCH_MAX + 1);
	for (int i = 0; i < HNV_BATCH_MAX; i++) {
		check_sane(pk[i]);
		assert_int_equal(pk[i]->reason, want[i % N].reason);
	}
	assert_int_equal(pk[HNV_BATCH_MAX]->reason, 0xffff);
	hnv_dp_process(c->w, pk, 0);
	for (int i = 0; i <= HNV_BATCH_MAX; i++)
		free(pk[i]);
	free(pk);
	free(want);
}

/* ---- bit flips through the whole engine ---- */

/* What may come out of any frame: a verdict, and when something is sent,
 * it goes to a configured port whose MAC it is addressed to (or the
 * uplink, as NVGRE in a VSID of the ingress port's routing domain). */
static void check_flipped(struct ctx *c, const struct hnv_pkt *p, int in_port)
{
	check_sane(p);
	if (hnv_reason_is_drop(p->reason))
		return;
	if (p->out_port == HNV_PORT_UPLINK && in_port == HNV_PORT_UPLINK) {
		/* back to the uplink only as an MS-NVGREE message to the sender */
		assert_true(p->reason == HNV_R_nvx_unreach_sent ||
			    p->reason == HNV_R_nvx_redirect_sent);
		size_t gre = pg_get16(p->data + 12) == 0x0800 ? 34 : 54;
		struct hnv_nvx m;
		assert_int_equal(hnv_nvx_parse(p->data + gre + 8, p->len - gre - 8, &m), 0);
		return;
	}
	if (p->out_port == HNV_PORT_UPLINK) {
		assert_int_not_equal(in_port, HNV_PORT_UPLINK);
		struct hnv_nvgre g;
		assert_true(p->len >= 42 + 14);
		assert_true(pg_get16(p->data + 12) == 0x0800 || pg_get16(p->data + 12) == 0x86dd);
		size_t gre = pg_get16(p->data + 12) == 0x0800 ? 34 : 54;
		assert_int_equal(hnv_nvgre_parse(p->data + gre, p->len - gre, &g), 0);
		uint32_t want_rd = in_port == c->red1 ? 6001 : 5001;
		bool ok = want_rd == 6001 ? g.vsid == 6001 : (g.vsid == 5001 || g.vsid == 5002);
		assert_true(ok);
		return;
	}
	const struct hnv_port *pt = hnv_policy_port(c->pol, p->out_port);
	assert_non_null(pt);
	assert_memory_equal(p->data, pt->mac.b, 6);
	if (in_port == HNV_PORT_UPLINK)
		assert_int_equal(pt->vsid, p->vsid);
	else if (in_port == c->red1)
		assert_int_equal(p->out_port, c->red1);
	else
		assert_int_not_equal(p->out_port, c->red1);
}

static void flip_all(struct ctx *c, const uint8_t *frame, size_t len, int port)
{
	uint8_t m[2048];
	memcpy(m, frame, len);
	for (size_t bit = 0; bit < len * 8; bit++) {
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		check_flipped(c, run(c, m, len, port), port);
		check_flipped(c, run_flags(c, m, len, port, HNV_PKT_F_L3_CSUM_OK), port);
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t l = 0; l < len; l++)
		check_flipped(c, run(c, frame, l, port), port);
}

static void test_flip(void **state)
{
	struct ctx *c = *state;
	uint8_t f[2048];
	struct rx r = rx_default();
	size_t ilen, len = rx_build(f, &r, NULL, &ilen);
	flip_all(c, f, len, HNV_PORT_UPLINK);
	r.g = pg_gre_defaults("fd00:4::22", "fd00:4::11", 5001);
	r.in = pg_ip_defaults(BLUE9, BLUE1, "fd00:5001::9", "fd00:5001::5", 58);
	len = rx_build(f, &r, NULL, &ilen);
	flip_all(c, f, len, HNV_PORT_UPLINK);
	len = arp_req(f, BLUE1, "10.0.0.5", "10.0.0.7");
	flip_all(c, f, len, c->blue1);
	len = pg_ns(f, BLUE1, "fd00:5001::5", "fd00:5001::7", NULL, NULL, 255, true);
	flip_all(c, f, len, c->blue1);
	len = blue1_udp(f, GW_MAC, "10.0.1.9", 0, 1, 16);
	flip_all(c, f, len, c->blue1);
	struct pg_ip_pkt s = pg_ip_defaults(RED1, RED2, "10.0.0.5", "10.0.0.7", 1);
	len = pg_ip_frame(f, &s);
	flip_all(c, f, len, c->red1);
}

/* ---- a real capture ---- */

static const char CAPTURE_CONF[] =
	"pa add 100.0.17.2/24 --dev eth0\n"
	"rdomain add t --rdid {00000000-0000-0000-0000-000000123456}\n"
	"vsubnet add 1193046 --rdomain t --prefix 10.0.0.0/24\n"
	"port add vm2 --vsid 1193046 --ca 10.0.0.2 --mac aabb00001002\n"
	"lookup add --vsid 1193046 --ca 10.0.0.2 --pa 100.0.17.2 --mac aabb00001002\n";

/* The sender of the capture, 10.0.0.1, is the default gateway address of
 * 10.0.0.0/24, which the config text rightly refuses as a VM's CA; its
 * record goes in through the policy API, which does not judge that. */
static void add_capture_record(struct ctx *c)
{
	struct hnv_lookup_spec r;
	memset(&r, 0, sizeof(r));
	r.vsid = 1193046;
	r.ca = pg_ip("10.0.0.1");
	r.pa = pg_ip("100.0.17.1");
	r.mac = pg_mac("aabb00001001");
	r.rule = HNV_RULE_ENCAP;
	r.type = HNV_TYPE_STATIC;
	assert_int_equal(hnv_policy_lookup_add(c->pol, &r), 0);
}

static struct hnv_pkt *replay(const char *conf, bool record, uint16_t flags, uint8_t *frame,
			      uint32_t *len, struct hnv_pkt *out, int *port)
{
	struct hnv_pcap_reader *rd;
	char err[256];
	assert_int_equal(hnv_pcap_open_read("tests/data/gre_nvgre.pcap", &rd, err, sizeof(err)), 0);
	const uint8_t *data;
	uint32_t caplen;
	assert_int_equal(hnv_pcap_next(rd, &data, &caplen, NULL, NULL), 1);
	memcpy(frame, data, caplen);
	*len = caplen;
	hnv_pcap_close_reader(rd);
	struct ctx *c = ctx_new(conf);
	if (record)
		add_capture_record(c);
	*port = hnv_policy_port_id(c->pol, "vm2");
	struct hnv_pkt *p = run_flags(c, frame, caplen, HNV_PORT_UPLINK, flags);
	memcpy(out, p, sizeof(*out));
	out->data = out->buf + (p->data - p->buf);
	uint64_t cnt[HNV_R__COUNT];
	hnv_dp_counters(c->dp, cnt);
	assert_int_equal(cnt[p->reason], 1);
	ctx_free(c);
	return out;
}

static void test_replay_capture(void **state)
{
	(void)state;
	uint8_t frame[512];
	uint32_t len;
	int port;
	struct hnv_pkt *out = malloc(sizeof(*out));
	assert_non_null(out);
	/* the capture's outer IPv4 checksum is 0 (offloaded), as in replay */
	replay(CAPTURE_CONF, true, HNV_PKT_F_L3_CSUM_OK, frame, &len, out, &port);
	assert_reason(out, HNV_R_rx_decap_delivered);
	assert_int_equal(out->out_port, port);
	assert_int_equal(out->vsid, 0x123456);
	assert_int_equal(len, 98);
	assert_int_equal(out->len, 98 - 42);
	assert_memory_equal(out->data, frame + 42, 98 - 42);
	replay(CAPTURE_CONF, false, HNV_PKT_F_L3_CSUM_OK, frame, &len, out, &port);
	assert_reason(out, HNV_R_drop_spoof);
	static const char other_vsid[] =
		"pa add 100.0.17.2/24 --dev eth0\n"
		"rdomain add t --rdid {00000000-0000-0000-0000-000000123456}\n"
		"vsubnet add 1193045 --rdomain t --prefix 10.0.0.0/24\n";
	replay(other_vsid, false, HNV_PKT_F_L3_CSUM_OK, frame, &len, out, &port);
	assert_reason(out, HNV_R_drop_vsid_unknown);
	replay(CAPTURE_CONF, true, 0, frame, &len, out, &port);
	assert_reason(out, HNV_R_drop_bad_csum);
	/* with the checksum filled in, verification passes */
	frame[14 + 10] = frame[14 + 11] = 0;
	pg_put16(frame + 14 + 10, pg_fold(pg_sum(0, frame + 14, 20)));
	struct ctx *c = ctx_new(CAPTURE_CONF);
	add_capture_record(c);
	check_delivered(run(c, frame, len, HNV_PORT_UPLINK), hnv_policy_port_id(c->pol, "vm2"),
			frame + 42, len - 42);
	ctx_free(c);
	free(out);
}

/* ---- dynamic learning and flooding (L2Only records) ---- */

/* VSID 7001: g1 and g2 local (g1 with an L2Only record), r1 (static
 * 10.7.0.21 and L2Only) and r3 (L2Only) behind 192.168.4.22, r2 (L2Only)
 * behind 192.168.4.33, and a static 10.7.0.50 of another VM. */
#define L2_CONF                                                                                    \
	BLUERED_CONF                                                                               \
	"rdomain add green --rdid {11111111-2222-3333-4444-000000007001}\n"                        \
	"vsubnet add 7001 --rdomain green --prefix 10.7.0.0/16 --prefix fd00:7001::/64\n"          \
	"port add g1 --vsid 7001 --ca 10.7.0.11 --mac 0a0a0000000b\n"                              \
	"port add g2 --vsid 7001 --ca 10.7.0.12 --mac 0a0a0000000c\n"                              \
	"lookup add --vsid 7001 --ca 10.7.0.11 --pa 192.168.4.11 --mac 0a0a0000000b\n"             \
	"lookup add --vsid 7001 --ca 0.0.0.0 --pa 192.168.4.11 --mac 0a0a0000000b --type l2only\n" \
	"lookup add --vsid 7001 --ca 10.7.0.12 --pa 192.168.4.11 --mac 0a0a0000000c\n"             \
	"lookup add --vsid 7001 --ca 0.0.0.0 --pa 192.168.4.22 --mac 0a0a00000015 --type l2only\n" \
	"lookup add --vsid 7001 --ca 10.7.0.21 --pa 192.168.4.22 --mac 0a0a00000015\n"             \
	"lookup add --vsid 7001 --ca 0.0.0.0 --pa 192.168.4.22 --mac 0a0a00000017 --type l2only\n" \
	"lookup add --vsid 7001 --ca 0.0.0.0 --pa 192.168.4.33 --mac 0a0a00000016 --type l2only\n" \
	"lookup add --vsid 7001 --ca 10.7.0.50 --pa 192.168.4.22 --mac 0a0a00000032\n"             \
	"route add --rdomain green --vsid 7001 --prefix 10.7.0.0/16 --nexthop 0.0.0.0 --metric "   \
	"255\n"
#define G1 "0a0a0000000b"
#define G2 "0a0a0000000c"
#define R1 "0a0a00000015"
#define R2 "0a0a00000016"
#define R3 "0a0a00000017"
#define NEIGH33_MAC "00155d000033"

static uint32_t l2_clock = 1000;
static uint32_t l2_now(void *arg)
{
	(void)arg;
	return l2_clock;
}

struct l2ctx {
	struct ctx *c;
	int g1, g2;
};

static int l2_setup(void **state)
{
	struct l2ctx *l = calloc(1, sizeof(*l));
	assert_non_null(l);
	l->c = ctx_new(L2_CONF);
	l2_clock = 1000;
	hnv_dp_set_clock(l->c->dp, l2_now, NULL);
	struct hnv_ip pa = pg_ip("192.168.4.33");
	struct hnv_mac m = pg_mac(NEIGH33_MAC);
	assert_int_equal(hnv_dp_neigh_set(l->c->dp, &pa, &m), 0);
	l->g1 = hnv_policy_port_id(l->c->pol, "g1");
	l->g2 = hnv_policy_port_id(l->c->pol, "g2");
	assert_true(l->g1 > 0 && l->g2 > 0);
	*state = l;
	return 0;
}

static int l2_teardown(void **state)
{
	struct l2ctx *l = *state;
	ctx_free(l->c);
	free(l);
	return 0;
}

static const struct hnv_rec *rec_of(struct ctx *c, uint32_t vsid, const char *ca)
{
	struct hnv_ip a = pg_ip(ca);
	return hnv_policy_rec_by_ca(c->pol, hnv_hash_ca(vsid, &a), vsid, &a);
}

/* A UDP frame from (src_mac, src) to (dst_mac, dst). */
static size_t udp(uint8_t *f, const char *src_mac, const char *src, const char *dst_mac,
		  const char *dst)
{
	struct pg_ip_pkt s = pg_ip_defaults(src_mac, dst_mac, src, dst, 17);
	return pg_ip_frame(f, &s);
}

/* NVGRE from pa in vsid carrying a UDP frame. */
static struct hnv_pkt *rx_udp(struct ctx *c, const char *pa, uint32_t vsid, const char *src_mac,
			      const char *src, const char *dst_mac, const char *dst)
{
	struct rx r;
	r.g = pg_gre_defaults(pa, "192.168.4.11", vsid);
	r.in = pg_ip_defaults(src_mac, dst_mac, src, dst, 17);
	return rx_run(c, &r);
}

static void assert_learned(struct ctx *c, const char *ca, const char *mac, const char *pa)
{
	const struct hnv_rec *r = rec_of(c, 7001, ca);
	if (!r)
		fail_msg("%s not learned", ca);
	assert_true(r->flags & HNV_REC_F_LEARNED);
	assert_int_equal(r->type, HNV_TYPE_DYNAMIC);
	assert_int_equal(r->rule, HNV_RULE_ENCAP);
	struct hnv_mac m = pg_mac(mac);
	struct hnv_ip a = pg_ip(pa);
	assert_memory_equal(r->mac.b, m.b, 6);
	assert_true(hnv_ip_eq(&r->pa, &a));
}

static void test_learn_local(void **state)
{
	struct l2ctx *l = *state;
	struct ctx *c = l->c;
	uint8_t f[256];
	/* g1 uses 10.7.0.99, which it was not configured with: forwarded */
	size_t len = udp(f, G1, "10.7.0.99", R1, "10.7.0.21");
	uint8_t inner[256];
	memcpy(inner, f, len);
	struct hnv_pkt *p = run(c, f, len, l->g1);
	assert_reason(p, HNV_R_tx_encap);
	check_encap(p, "192.168.4.22", 7001, 0, inner, len);
	assert_null(rec_of(c, 7001, "10.7.0.99"));
	assert_int_equal(hnv_dp_learn_run(c->dp), 1);
	assert_learned(c, "10.7.0.99", G1, "192.168.4.11");
	struct hnv_dp_learn_stats st;
	hnv_dp_learn_stats(c->dp, &st);
	assert_int_equal(st.learned, 1);
	/* answered and forwarded like a static record */
	len = arp_req(f, G2, "10.7.0.12", "10.7.0.99");
	check_arp_reply(run(c, f, len, l->g2), l->g2, G2, "10.7.0.12", G1, "10.7.0.99");
	len = udp(f, G2, "10.7.0.12", G1, "10.7.0.99");
	p = run(c, f, len, l->g2);
	assert_reason(p, HNV_R_tx_local);
	assert_int_equal(p->out_port, l->g1);
	p = rx_udp(c, "192.168.4.22", 7001, R1, "10.7.0.21", G1, "10.7.0.99");
	assert_reason(p, HNV_R_rx_decap_delivered);
	assert_int_equal(p->out_port, l->g1);
	/* the same traffic again learns nothing new */
	len = udp(f, G1, "10.7.0.99", R1, "10.7.0.21");
	assert_reason(run(c, f, len, l->g1), HNV_R_tx_encap);
	assert_int_equal(hnv_dp_learn_run(c->dp), 0);
	/* refreshed by traffic, it lives on; idle for the timeout, it goes */
	assert_int_equal(hnv_dp_learn_timeout(c->dp), HNV_LEARN_TIMEOUT_DEFAULT);
	l2_clock += 200;
	len = udp(f, G1, "10.7.0.99", R1, "10.7.0.21");
	assert_reason(run(c, f, len, l->g1), HNV_R_tx_encap);
	l2_clock += 200;
	assert_int_equal(hnv_dp_learn_run(c->dp), 0);
	assert_non_null(rec_of(c, 7001, "10.7.0.99"));
	l2_clock += HNV_LEARN_TIMEOUT_DEFAULT + 1;
	assert_int_equal(hnv_dp_learn_run(c->dp), 1);
	assert_null(rec_of(c, 7001, "10.7.0.99"));
	hnv_dp_learn_stats(c->dp, &st);
	assert_int_equal(st.expired, 1);
	/* once gone, its ARP is flooded instead of answered */
	len = arp_req(f, G2, "10.7.0.12", "10.7.0.99");
	assert_reason(run(c, f, len, l->g2), HNV_R_tx_flood);
	/* the timeout is a setting */
	assert_int_equal(hnv_dp_set_learn_timeout(c->dp, 0), -EINVAL);
	assert_int_equal(hnv_dp_set_learn_timeout(c->dp, 30), 0);
	len = udp(f, G1, "10.7.0.98", R1, "10.7.0.21");
	assert_reason(run(c, f, len, l->g1), HNV_R_tx_encap);
	assert_int_equal(hnv_dp_learn_run(c->dp), 1);
	l2_clock += 31;
	assert_int_equal(hnv_dp_learn_run(c->dp), 1);
	assert_null(rec_of(c, 7001, "10.7.0.98"));
}

static void test_learn_remote(void **state)
{
	struct l2ctx *l = *state;
	struct ctx *c = l->c;
	uint8_t f[256];
	/* r1 (L2Only at .22) speaks from 10.7.0.88: delivered and learned */
	struct hnv_pkt *p = rx_udp(c, "192.168.4.22", 7001, R1, "10.7.0.88", G1, "10.7.0.11");
	assert_reason(p, HNV_R_rx_decap_delivered);
	assert_int_equal(p->out_port, l->g1);
	assert_int_equal(hnv_dp_learn_run(c->dp), 1);
	assert_learned(c, "10.7.0.88", R1, "192.168.4.22");
	size_t len = udp(f, G1, "10.7.0.11", R1, "10.7.0.88");
	assert_reason(run(c, f, len, l->g1), HNV_R_tx_encap);
	len = arp_req(f, G1, "10.7.0.11", "10.7.0.88");
	check_arp_reply(run(c, f, len, l->g1), l->g1, G1, "10.7.0.11", R1, "10.7.0.88");
	/* r1's MAC from a PA its L2Only record does not name */
	p = rx_udp(c, "192.168.4.33", 7001, R1, "10.7.0.89", G1, "10.7.0.11");
	assert_reason(p, HNV_R_drop_spoof);
	/* another VSID (5001 has no L2Only records) learns nothing */
	p = rx_udp(c, "192.168.4.22", 5001, R1, "10.0.0.88", BLUE1, "10.0.0.5");
	assert_reason(p, HNV_R_drop_spoof);
	len = udp(f, BLUE1, "10.0.0.88", BLUE2, "10.0.0.7");
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_spoof);
	/* an address outside the VSID's prefix, or its gateway */
	len = udp(f, G1, "10.0.0.7", R1, "10.7.0.21");
	assert_reason(run(c, f, len, l->g1), HNV_R_drop_spoof);
	len = udp(f, G1, "10.7.0.1", R1, "10.7.0.21");
	assert_reason(run(c, f, len, l->g1), HNV_R_drop_spoof);
	assert_int_equal(hnv_dp_learn_run(c->dp), 0);
	assert_null(rec_of(c, 5001, "10.0.0.88"));
	assert_null(rec_of(c, 7001, "10.7.0.89"));
	/* a Static record is never overridden: not by r3, not by g1 */
	p = rx_udp(c, "192.168.4.22", 7001, R3, "10.7.0.50", G1, "10.7.0.11");
	assert_reason(p, HNV_R_drop_spoof);
	len = udp(f, G1, "10.7.0.12", R1, "10.7.0.21");
	assert_reason(run(c, f, len, l->g1), HNV_R_drop_spoof);
	assert_int_equal(hnv_dp_learn_run(c->dp), 0);
	struct hnv_ip ca = pg_ip("10.7.0.50"), pa = pg_ip("192.168.4.22");
	struct hnv_mac r3 = pg_mac(R3);
	assert_int_equal(hnv_policy_learn(c->pol, 7001, &ca, &r3, &pa, l2_clock), -EEXIST);
	assert_int_equal(rec_of(c, 7001, "10.7.0.50")->type, HNV_TYPE_STATIC);
	/* configuration wins over what was learned */
	struct hnv_lookup_spec s = {.vsid = 7001,
				    .ca = pg_ip("10.7.0.88"),
				    .pa = pg_ip("192.168.4.33"),
				    .mac = pg_mac(R2),
				    .rule = HNV_RULE_ENCAP,
				    .type = HNV_TYPE_STATIC};
	assert_int_equal(hnv_policy_lookup_add(c->pol, &s), 0);
	assert_false(rec_of(c, 7001, "10.7.0.88")->flags & HNV_REC_F_LEARNED);
	p = rx_udp(c, "192.168.4.22", 7001, R1, "10.7.0.88", G1, "10.7.0.11");
	assert_reason(p, HNV_R_drop_spoof);
	/* deleting an L2Only record forgets what its MAC learned */
	p = rx_udp(c, "192.168.4.22", 7001, R1, "10.7.0.87", G1, "10.7.0.11");
	assert_reason(p, HNV_R_rx_decap_delivered);
	assert_int_equal(hnv_dp_learn_run(c->dp), 1);
	struct hnv_ip any = pg_ip("0.0.0.0");
	struct hnv_mac r1 = pg_mac(R1);
	assert_int_equal(hnv_policy_lookup_del(c->pol, 7001, &any, &r1), 0);
	assert_null(rec_of(c, 7001, "10.7.0.87"));
	/* a learned record is not config: lookup del does not find it */
	p = rx_udp(c, "192.168.4.22", 7001, R3, "10.7.0.86", G1, "10.7.0.11");
	assert_reason(p, HNV_R_rx_decap_delivered);
	assert_int_equal(hnv_dp_learn_run(c->dp), 1);
	ca = pg_ip("10.7.0.86");
	assert_int_equal(hnv_policy_lookup_del(c->pol, 7001, &ca, &r3), -ENOENT);
	assert_non_null(rec_of(c, 7001, "10.7.0.86"));
}

/* Runs hnv_dp_flood to the end; copies in out[]. */
static unsigned flood_all(struct ctx *c, const struct hnv_pkt *p, struct hnv_pkt *out, unsigned max)
{
	struct hnv_pkt *v[16];
	unsigned cursor = 0, n = 0;
	for (;;) {
		assert_true(n + 2 <= max);
		for (unsigned i = 0; i < 2; i++)
			v[i] = &out[n + i];
		/* two at a time: the cursor must carry on where it stopped */
		unsigned k = hnv_dp_flood(c->w, p, &cursor, v, 2);
		if (!k)
			return n;
		for (unsigned i = 0; i < k; i++)
			check_sane(&out[n + i]);
		n += k;
	}
}

static void test_learn_move(void **state)
{
	struct l2ctx *l = *state;
	struct ctx *c = l->c;
	static struct hnv_pkt out[8];
	uint8_t f[256];
	size_t len = udp(f, G1, "10.7.0.99", R1, "10.7.0.21");
	assert_reason(run(c, f, len, l->g1), HNV_R_tx_encap);
	assert_int_equal(hnv_dp_learn_run(c->dp), 1);
	/* failover: r1 on the other host takes 10.7.0.99 and announces it */
	struct hnv_mac r1 = pg_mac(R1), bc = pg_mac("ffffffffffff"), zero = pg_mac("000000000000");
	struct hnv_ip fip = pg_ip("10.7.0.99");
	uint8_t garp[64];
	size_t glen = pg_arp(garp, &bc, 1, &r1, &fip, &zero, &fip);
	struct pg_gre g = pg_gre_defaults("192.168.4.22", "192.168.4.11", 7001);
	len = pg_nvgre(f, &g, garp, glen);
	struct hnv_pkt *p = run(c, f, len, HNV_PORT_UPLINK);
	assert_reason(p, HNV_R_rx_flood);
	assert_int_equal(p->out_port, HNV_PORT_FLOOD);
	/* the announcement reaches both local VMs of the VSID, unchanged */
	unsigned n = flood_all(c, p, out, 8);
	assert_int_equal(n, 2);
	bool to_g1 = false, to_g2 = false;
	for (unsigned i = 0; i < n; i++) {
		assert_reason(&out[i], HNV_R_rx_decap_delivered);
		assert_int_equal(out[i].len, glen);
		assert_memory_equal(out[i].data, garp, glen);
		to_g1 |= out[i].out_port == l->g1;
		to_g2 |= out[i].out_port == l->g2;
	}
	assert_true(to_g1 && to_g2);
	assert_int_equal(hnv_dp_learn_run(c->dp), 1);
	assert_learned(c, "10.7.0.99", R1, "192.168.4.22");
	struct hnv_dp_learn_stats st;
	hnv_dp_learn_stats(c->dp, &st);
	assert_int_equal(st.moved, 1);
	/* traffic follows */
	len = udp(f, G2, "10.7.0.12", R1, "10.7.0.99");
	p = run(c, f, len, l->g2);
	assert_reason(p, HNV_R_tx_encap);
	len = arp_req(f, G2, "10.7.0.12", "10.7.0.99");
	check_arp_reply(run(c, f, len, l->g2), l->g2, G2, "10.7.0.12", R1, "10.7.0.99");
	/* and back to g1 when g1 announces it again */
	len = pg_arp(f, &bc, 1, &(struct hnv_mac){{0x0a, 0x0a, 0, 0, 0, 0x0b}}, &fip, &zero, &fip);
	p = run(c, f, len, l->g1);
	assert_reason(p, HNV_R_tx_flood);
	assert_int_equal(hnv_dp_learn_run(c->dp), 1);
	assert_learned(c, "10.7.0.99", G1, "192.168.4.11");
}

static void test_flood(void **state)
{
	struct l2ctx *l = *state;
	struct ctx *c = l->c;
	static struct hnv_pkt out[8];
	uint8_t f[512];
	/* who-has an address without a record: to g2 and once to each
	 * remote PA of the VSID's L2Only records (.22 for r1 and r3, .33) */
	size_t len = arp_req(f, G1, "10.7.0.11", "10.7.0.200");
	uint8_t inner[256];
	memcpy(inner, f, len);
	struct hnv_pkt *p = run(c, f, len, l->g1);
	assert_reason(p, HNV_R_tx_flood);
	unsigned n = flood_all(c, p, out, 8);
	assert_int_equal(n, 3);
	unsigned local = 0, to22 = 0, to33 = 0;
	for (unsigned i = 0; i < n; i++) {
		if (out[i].reason == HNV_R_tx_local) {
			assert_int_equal(out[i].out_port, l->g2);
			assert_memory_equal(out[i].data, inner, len);
			local++;
			continue;
		}
		assert_reason(&out[i], HNV_R_tx_encap);
		const uint8_t *dst = out[i].data + 14 + 16;
		struct hnv_ip a22 = pg_ip("192.168.4.22");
		if (memcmp(dst, a22.b + 12, 4) == 0) {
			check_encap(&out[i], "192.168.4.22", 7001, 0, inner, len);
			to22++;
		} else {
			assert_mac_at(out[i].data, NEIGH33_MAC);
			assert_ip4_at(dst, "192.168.4.33");
			to33++;
		}
	}
	assert_int_equal(local, 1);
	assert_int_equal(to22, 1);
	assert_int_equal(to33, 1);
	/* a known address is still answered, not flooded */
	len = arp_req(f, G1, "10.7.0.11", "10.7.0.21");
	check_arp_reply(run(c, f, len, l->g1), l->g1, G1, "10.7.0.11", R1, "10.7.0.21");
	/* a DHCP discover: no pool here, the tenant's own server answers */
	struct pg_ip_pkt d = pg_ip_defaults(G1, "ffffffffffff", "0.0.0.0", "255.255.255.255", 17);
	d.sport = 68;
	d.dport = 67;
	d.payload_len = 240;
	len = pg_ip_frame(f, &d);
	p = run(c, f, len, l->g1);
	assert_reason(p, HNV_R_tx_flood);
	assert_int_equal(flood_all(c, p, out, 8), 3);
	/* a unicast reply to the client's MAC goes by the L2Only record */
	len = udp(f, R2, "10.7.0.40", G1, "10.7.0.150");
	struct rx r;
	r.g = pg_gre_defaults("192.168.4.33", "192.168.4.11", 7001);
	r.in = pg_ip_defaults(R2, G1, "10.7.0.40", "10.7.0.150", 17);
	p = rx_run(c, &r);
	assert_reason(p, HNV_R_rx_decap_delivered);
	len = udp(f, G1, "10.7.0.150", R2, "10.7.0.40");
	p = run(c, f, len, l->g1);
	assert_reason(p, HNV_R_tx_encap);
	assert_ip4_at(p->data + 14 + 16, "192.168.4.33");
	/* received broadcast: to the local ports only, never back out */
	p = rx_udp(c, "192.168.4.22", 7001, R1, "10.7.0.21", "ffffffffffff", "10.7.255.255");
	assert_reason(p, HNV_R_rx_flood);
	n = flood_all(c, p, out, 8);
	assert_int_equal(n, 2);
	for (unsigned i = 0; i < n; i++)
		assert_reason(&out[i], HNV_R_rx_decap_delivered);
	/* a VSID without L2Only records keeps answering only from records */
	len = arp_req(f, BLUE1, "10.0.0.5", "10.0.0.200");
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_arp_unknown);
	len = udp(f, BLUE1, "10.0.0.5", "ffffffffffff", "10.0.0.255");
	p = run(c, f, len, c->blue1);
	assert_reason(p, HNV_R_drop_broadcast);
	assert_int_equal(hnv_dp_flood(c->w, p, &(unsigned){0}, (struct hnv_pkt *[]){&out[0]}, 1),
			 0);
	p = rx_udp(c, "192.168.4.22", 5001, BLUE2, "10.0.0.7", "ffffffffffff", "10.0.0.255");
	assert_reason(p, HNV_R_drop_broadcast);
	uint64_t cnt[HNV_R__COUNT];
	hnv_dp_counters(c->dp, cnt);
	assert_int_equal(cnt[HNV_R_tx_flood], 2);
	assert_int_equal(cnt[HNV_R_rx_flood], 1);
}

static void test_learn_bounds(void **state)
{
	struct l2ctx *l = *state;
	struct ctx *c = l->c;
	struct hnv_mac g1 = pg_mac(G1);
	struct hnv_ip pa = pg_ip("192.168.4.11"), wrong = pg_ip("192.168.4.22");
	char ip[32];
	for (unsigned i = 0; i < HNV_LEARN_MAX_PER_VSID; i++) {
		snprintf(ip, sizeof(ip), "10.7.%u.%u", 1 + i / 200, 1 + i % 200);
		struct hnv_ip ca = pg_ip(ip);
		assert_int_equal(hnv_policy_learn(c->pol, 7001, &ca, &g1, &pa, l2_clock),
				 HNV_LEARN_NEW);
	}
	size_t in;
	assert_int_equal(hnv_policy_n_learned(c->pol, 7001, &in), HNV_LEARN_MAX_PER_VSID);
	assert_int_equal(in, HNV_LEARN_MAX_PER_VSID);
	struct hnv_ip ca = pg_ip("10.7.200.1");
	assert_int_equal(hnv_policy_learn(c->pol, 7001, &ca, &g1, &pa, l2_clock), -ENOSPC);
	/* an existing one still refreshes and moves */
	ca = pg_ip("10.7.1.1");
	assert_int_equal(hnv_policy_learn(c->pol, 7001, &ca, &g1, &pa, l2_clock), HNV_LEARN_FRESH);
	assert_int_equal(hnv_policy_learn(c->pol, 7001, &ca, &g1, &wrong, l2_clock), -EPERM);
	/* from traffic: forwarded, counted as full */
	uint8_t f[256];
	size_t len = udp(f, G1, "10.7.200.2", R1, "10.7.0.21");
	assert_reason(run(c, f, len, l->g1), HNV_R_tx_encap);
	assert_int_equal(hnv_dp_learn_run(c->dp), 0);
	struct hnv_dp_learn_stats st;
	hnv_dp_learn_stats(c->dp, &st);
	assert_int_equal(st.full, 1);
	/* the broadcast address of the prefix and multicast are never learned */
	ca = pg_ip("10.7.255.255");
	assert_int_equal(hnv_policy_learn(c->pol, 7001, &ca, &g1, &pa, l2_clock), -EINVAL);
	ca = pg_ip("224.0.0.5");
	assert_int_equal(hnv_policy_learn(c->pol, 7001, &ca, &g1, &pa, l2_clock), -EINVAL);
	/* all age out together */
	l2_clock += HNV_LEARN_TIMEOUT_DEFAULT + 1;
	assert_int_equal(hnv_dp_learn_run(c->dp), HNV_LEARN_MAX_PER_VSID);
	assert_int_equal(hnv_policy_n_learned(c->pol, 7001, NULL), 0);
}

/* Neighbour discovery in a VSID with L2Only records: what no record
 * answers is flooded, its source checked and learned like any frame's. */
static void test_flood_nd(void **state)
{
	struct l2ctx *l = *state;
	struct ctx *c = l->c;
	static struct hnv_pkt out[8];
	uint8_t f[256];
	size_t len = pg_ns(f, G1, "fd00:7001::5", "fd00:7001::99", NULL, NULL, 255, true);
	struct hnv_pkt *p = run(c, f, len, l->g1);
	assert_reason(p, HNV_R_tx_flood);
	assert_int_equal(flood_all(c, p, out, 8), 3); /* g2, .22, .33 */
	assert_int_equal(hnv_dp_learn_run(c->dp), 1); /* g1's new source */
	const struct hnv_rec *r = rec_of(c, 7001, "fd00:7001::5");
	assert_non_null(r);
	assert_true(r->flags & HNV_REC_F_LEARNED);
	/* now answered from the learned record */
	len = pg_ns(f, G2, "fe80::c", "fd00:7001::5", NULL, NULL, 255, true);
	assert_reason(run(c, f, len, l->g2), HNV_R_nd_advert);
	/* g2 has no L2Only record: its NS from a foreign source stays here */
	len = pg_ns(f, G2, "fd00:7001::6", "fd00:7001::99", NULL, NULL, 255, true);
	assert_reason(run(c, f, len, l->g2), HNV_R_drop_spoof);
	/* duplicate address detection reaches the other VMs of the subnet */
	len = pg_ns(f, G1, "::", "fd00:7001::98", NULL, NULL, 255, false);
	assert_reason(run(c, f, len, l->g1), HNV_R_tx_flood);
	/* and stays unanswered where there are no L2Only records */
	len = pg_ns(f, BLUE1, "::", "fd00:5001::98", NULL, NULL, 255, false);
	assert_reason(run(c, f, len, c->blue1), HNV_R_drop_nd_dad);
	assert_int_equal(hnv_dp_learn_run(c->dp), 0);
}

#define T2(f) cmocka_unit_test_setup_teardown(f, l2_setup, l2_teardown)

static void test_pkt_load(void **state)
{
	struct ctx *c = *state;
	static uint8_t big[HNV_PKT_BUFSIZE];
	assert_int_equal(hnv_pkt_load(&c->pkt, big, HNV_PKT_BUFSIZE - HNV_PKT_HEADROOM, 1), 0);
	assert_int_equal(hnv_pkt_load(&c->pkt, big, HNV_PKT_BUFSIZE - HNV_PKT_HEADROOM + 1, 1),
			 -EMSGSIZE);
	/* a maximal frame of garbage from a VM and from the uplink */
	memset(big, 0x45, sizeof(big));
	run(c, big, HNV_PKT_BUFSIZE - HNV_PKT_HEADROOM, c->blue1);
	run(c, big, HNV_PKT_BUFSIZE - HNV_PKT_HEADROOM, HNV_PORT_UPLINK);
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

/* ---- MS-NVGREE REDIRECT and UNREACHABLE (docs/nvgre-ext.md) ---- */

/* Moves a VM's record to another PA, as the orchestrator does on Host1
 * after a live migration away from it. */
static void move_record(struct ctx *c, const char *ca, const char *mac, const char *pa)
{
	struct hnv_lookup_spec r;
	memset(&r, 0, sizeof(r));
	r.vsid = 5001;
	r.ca = pg_ip(ca);
	r.pa = pg_ip(pa);
	r.mac = pg_mac(mac);
	r.rule = HNV_RULE_ENCAP;
	r.type = HNV_TYPE_STATIC;
	assert_int_equal(hnv_policy_lookup_set(c->pol, &r), 0);
}

/* p is a message to the sender 192.168.4.22 in VSID 5001; returns it. */
static struct hnv_nvx check_nvx_out(const struct hnv_pkt *p)
{
	assert_int_equal(p->out_port, HNV_PORT_UPLINK);
	const uint8_t *f = p->data, *ip = f + 14;
	assert_mac_at(f, "00155d000022"); /* back to the previous hop */
	assert_mac_at(f + 6, UPLINK_MAC);
	assert_int_equal(pg_get16(f + 12), 0x0800);
	assert_true(pg_ip4_csum_ok(ip));
	assert_int_equal(ip[9], 47);
	assert_ip4_at(ip + 12, "192.168.4.11");
	assert_ip4_at(ip + 16, "192.168.4.22");
	assert_int_equal(pg_get16(ip + 2), p->len - 14);
	assert_int_equal(pg_get16(f + 34), 0x2000);
	assert_int_equal(pg_get16(f + 36), 0x6558);
	assert_int_equal(pg_get32(f + 38) >> 8, 5001);
	struct hnv_nvx m;
	assert_int_equal(hnv_nvx_parse(f + 42, p->len - 42, &m), 0);
	struct hnv_ip a = pg_ip("192.168.4.11"), b = pg_ip("192.168.4.22");
	assert_true(hnv_ip_eq(&m.from_pa, &a));
	assert_true(hnv_ip_eq(&m.to_pa, &b));
	return m;
}

static void test_nvx_redirect_sent(void **state)
{
	struct ctx *c = *state;
	move_record(c, "10.0.0.5", BLUE1, "192.168.4.33");
	struct rx r = rx_default(); /* blue2 at .22 -> blue1, which left */
	struct hnv_pkt *p = rx_run(c, &r);
	assert_reason(p, HNV_R_nvx_redirect_sent);
	struct hnv_nvx m = check_nvx_out(p);
	assert_int_equal(m.kind, HNV_NVX_REDIRECT);
	struct hnv_ip e = pg_ip("192.168.4.33");
	assert_true(hnv_ip_eq(&m.new_pa, &e));
	e = pg_ip("10.0.0.5");
	assert_true(hnv_ip_eq(&m.ca, &e));
	e = pg_ip("10.0.0.7");
	assert_true(hnv_ip_eq(&m.src_ca, &e));
	/* the next frame of that flow within a second: not again */
	assert_reason(rx_run(c, &r), HNV_R_drop_redirect_limited);
	/* another CA that moved: its own REDIRECT */
	move_record(c, "10.0.0.6", BLUE4, "192.168.4.33");
	r.in = pg_ip_defaults(BLUE2, BLUE4, "10.0.0.7", "10.0.0.6", 17);
	assert_reason(rx_run(c, &r), HNV_R_nvx_redirect_sent);
	uint64_t cnt[HNV_R__COUNT];
	hnv_dp_counters(c->dp, cnt);
	assert_int_equal(cnt[HNV_R_nvx_redirect_sent], 2);
	assert_int_equal(cnt[HNV_R_drop_redirect_limited], 1);
}

static void test_nvx_unreach_sent(void **state)
{
	struct ctx *c = *state;
	struct rx r = rx_default();
	/* to a CA without a record and a MAC no local port has */
	r.in = pg_ip_defaults(BLUE2, "060600000099", "10.0.0.7", "10.0.0.99", 17);
	struct hnv_pkt *p = rx_run(c, &r);
	assert_reason(p, HNV_R_nvx_unreach_sent);
	struct hnv_nvx m = check_nvx_out(p);
	assert_int_equal(m.kind, HNV_NVX_UNREACHABLE);
	struct hnv_ip e = pg_ip("10.0.0.99");
	assert_true(hnv_ip_eq(&m.ca, &e));
	/* a burst: the token bucket (5, 5/s) suppresses the rest */
	unsigned sent = 1, limited = 0;
	for (int i = 0; i < 20; i++) {
		p = rx_run(c, &r);
		if (p->reason == HNV_R_nvx_unreach_sent)
			sent++;
		else if (p->reason == HNV_R_drop_unreach_limited)
			limited++;
		else
			fail_msg("verdict %s", hnv_reason_name(p->reason));
	}
	assert_in_range(sent, 5, 7);
	assert_int_equal(sent + limited, 21);
	uint64_t cnt[HNV_R__COUNT];
	hnv_dp_counters(c->dp, cnt);
	assert_int_equal(cnt[HNV_R_drop_unreach_limited], limited);
	/* a spoofed source gets nothing back */
	r.in = pg_ip_defaults(BLUE2, BLUE1, "10.0.0.8", "10.0.0.99", 17);
	assert_reason(rx_run(c, &r), HNV_R_drop_spoof);
	/* to a local port's MAC the frame is the port's whatever its IP
	 * destination (a VM a customer route names as next hop, a gateway
	 * port): delivered, no message */
	r.in = pg_ip_defaults(BLUE2, BLUE1, "10.0.0.7", "172.16.9.9", 17);
	assert_reason(rx_run(c, &r), HNV_R_rx_decap_delivered);
	r.in = pg_ip_defaults(BLUE2, BLUE1, "10.0.0.7", "10.0.0.99", 17);
	assert_reason(rx_run(c, &r), HNV_R_rx_decap_delivered);
}

/* An NVGRE-wrapped message from PA from to Host1 about customer packet
 * 10.0.0.5 -> ca. */
static size_t nvx_in(uint8_t *f, bool redirect, const char *from, const char *ca,
		     const char *new_pa)
{
	uint8_t q[128], inner[256];
	struct pg_ip_pkt s = pg_ip_defaults(BLUE1, BLUE2, "10.0.0.5", ca, 17);
	pg_ip_frame(q, &s);
	size_t il = pg_nvx4(inner, redirect, UPLINK_MAC, "00155d000022", from, "192.168.4.11",
			    new_pa, q + 14);
	struct pg_gre g = pg_gre_defaults(from, "192.168.4.11", 5001);
	g.flow_id = 0;
	return pg_nvgre(f, &g, inner, il);
}

static void test_nvx_redirect_received(void **state)
{
	struct ctx *c = *state;
	uint8_t f[512], b[2048];
	struct hnv_ip old = pg_ip("192.168.4.22"), np = pg_ip("192.168.4.33");
	struct hnv_mac nm = pg_mac("00155d000033");
	assert_int_equal(hnv_dp_neigh_set(c->dp, &np, &nm), 0);
	/* not from the PA the record of 10.0.0.7 points at (.22): refused */
	size_t len = nvx_in(f, true, "192.168.4.33", "10.0.0.7", "192.168.4.44");
	assert_reason(run(c, f, len, HNV_PORT_UPLINK), HNV_R_drop_nvx_untrusted);
	/* about a CA without a record: refused */
	len = nvx_in(f, true, "192.168.4.22", "10.0.0.99", "192.168.4.33");
	assert_reason(run(c, f, len, HNV_PORT_UPLINK), HNV_R_drop_nvx_untrusted);
	/* naming this host's own PA: refused */
	len = nvx_in(f, true, "192.168.4.22", "10.0.0.7", "192.168.4.11");
	assert_reason(run(c, f, len, HNV_PORT_UPLINK), HNV_R_drop_nvx_untrusted);
	/* corrupted (ICMP checksum): malformed */
	len = nvx_in(f, true, "192.168.4.22", "10.0.0.7", "192.168.4.33");
	memcpy(b, f, len);
	b[42 + 14 + 20 + 4] ^= 0x40;
	assert_reason(run(c, b, len, HNV_PORT_UPLINK), HNV_R_drop_nvx_bad);
	assert_int_equal(hnv_dp_redirects_apply(c->dp, NULL, NULL), 0);
	/* blue2 moved from .22 to .33: the old host tells Host1 */
	assert_reason(run(c, f, len, HNV_PORT_UPLINK), HNV_R_nvx_redirect_rcvd);
	assert_int_equal(hnv_dp_redirects_apply(c->dp, NULL, NULL), 1);
	struct hnv_ip ca = pg_ip("10.0.0.7");
	const struct hnv_rec *rec = hnv_policy_rec_by_ca(c->pol, hnv_hash_ca(5001, &ca), 5001, &ca);
	assert_non_null(rec);
	assert_true(hnv_ip_eq(&rec->pa, &np));
	struct hnv_ip cfg;
	int64_t since;
	assert_true(hnv_policy_redirect_get(c->pol, rec, &cfg, &since));
	assert_true(hnv_ip_eq(&cfg, &old));
	assert_true(since > 0);
	/* blue1's traffic to blue2 now goes to .33 */
	uint8_t inner[256];
	size_t ilen = blue1_udp(inner, BLUE2, "10.0.0.7", 0, 1, 16);
	struct hnv_pkt *p = run(c, inner, ilen, c->blue1);
	assert_reason(p, HNV_R_tx_encap);
	assert_ip4_at(p->data + 14 + 16, "192.168.4.33");
	/* a REDIRECT again from .22 (no longer the record's PA): refused */
	assert_reason(run(c, f, len, HNV_PORT_UPLINK), HNV_R_drop_nvx_untrusted);
	/* a config change of the record clears the override */
	move_record(c, "10.0.0.7", BLUE2, "192.168.4.22");
	rec = hnv_policy_rec_by_ca(c->pol, hnv_hash_ca(5001, &ca), 5001, &ca);
	assert_false(hnv_policy_redirect_get(c->pol, rec, &cfg, &since));
	p = run(c, inner, ilen, c->blue1);
	assert_ip4_at(p->data + 14 + 16, "192.168.4.22");
	uint64_t cnt[HNV_R__COUNT];
	hnv_dp_counters(c->dp, cnt);
	assert_int_equal(cnt[HNV_R_nvx_redirect_rcvd], 1);
	assert_int_equal(cnt[HNV_R_drop_nvx_untrusted], 4);
	assert_int_equal(cnt[HNV_R_drop_nvx_bad], 1);
}

static void test_nvx_unreach_received(void **state)
{
	struct ctx *c = *state;
	uint8_t f[512];
	size_t len = nvx_in(f, false, "192.168.4.22", "10.0.0.7", NULL);
	assert_reason(run(c, f, len, HNV_PORT_UPLINK), HNV_R_nvx_unreach_rcvd);
	assert_reason(run(c, f, len, HNV_PORT_UPLINK), HNV_R_nvx_unreach_rcvd);
	/* inner source not the outer source: malformed */
	uint8_t q[128], inner[256];
	struct pg_ip_pkt s = pg_ip_defaults(BLUE1, BLUE2, "10.0.0.5", "10.0.0.7", 17);
	pg_ip_frame(q, &s);
	size_t il = pg_nvx4(inner, false, UPLINK_MAC, "00155d000022", "192.168.4.23",
			    "192.168.4.11", NULL, q + 14);
	struct pg_gre g = pg_gre_defaults("192.168.4.22", "192.168.4.11", 5001);
	len = pg_nvgre(f, &g, inner, il);
	assert_reason(run(c, f, len, HNV_PORT_UPLINK), HNV_R_drop_nvx_bad);
	uint64_t cnt[HNV_R__COUNT];
	hnv_dp_counters(c->dp, cnt);
	assert_int_equal(cnt[HNV_R_nvx_unreach_rcvd], 2);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_arp_remote_vm),
		T(test_arp_gateway),
		T(test_arp_not_answered),
		T(test_arp_unicast_forwarded),
		T(test_encap_ipv4),
		T(test_encap_ipv6_inner),
		T(test_encap_strips_vlan),
		T(test_local_bridge),
		T(test_routed_remote),
		T(test_routed_local),
		T(test_routed_ttl),
		T(test_no_route_no_record),
		T(test_isolation),
		T(test_spoof_from_vm),
		T(test_spoof_arp_na_sender),
		T(test_rx_deliver),
		T(test_nvx_redirect_sent),
		T(test_nvx_unreach_sent),
		T(test_nvx_redirect_received),
		T(test_nvx_unreach_received),
		T(test_rx_red),
		T(test_rx_spoof),
		T(test_rx_routed),
		cmocka_unit_test_setup_teardown(test_gw_record, setup_gw_records, teardown),
		T(test_rx_vsid),
		T(test_rx_gre_header),
		T(test_rx_checksum),
		T(test_rx_ecn),
		T(test_rx_truncated),
		T(test_mtu_ipv4),
		T(test_mtu_ipv6),
		T(test_ipv4_mapped_in_ipv6),
		T(test_nd),
		T(test_nd_not_answered),
		T(test_gateway_unicast_probe),
		T(test_echo_gateway),
		T(test_trace),
		T(test_counters),
		T(test_batch),
		T(test_flip),
		cmocka_unit_test(test_replay_capture),
		T(test_pkt_load),
		T2(test_learn_local),
		T2(test_learn_remote),
		T2(test_learn_move),
		T2(test_flood),
		T2(test_learn_bounds),
		T2(test_flood_nd),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
