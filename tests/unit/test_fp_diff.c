/* test_fp_diff.c: differential tests of the fast path against the C engine
 * (tests/unit/fpdiff.h): the same frames through both tiers must give the
 * same verdict, egress, bytes and counter.
 *
 * Frames: the cases of test_dp.c's forwarding tests (VM transmit: bridged,
 * routed, remote over an IPv4 and an IPv6 PA, local; uplink receive:
 * delivered, spoofed, wrong VSID, bad GRE, ECN, checksum), every one-bit
 * flip of each of them (the hostile set: malformed lengths, flags, versions,
 * addresses), and the real NVGRE capture tests/data/gre_nvgre.pcap with its
 * host's configuration. The frames a user sends every day must be decided
 * by the fast path itself, not punted: test_fast_cases checks that.
 *
 * Needs root (BPF and a network namespace of its own).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>

#include "../../datapath/io/pcap.h"
#include "bluered.h"
#include "fpdiff.h"
#include "nvxgen.h"

/* test_dp's policy, plus two routes to one prefix through next hops of
 * different metric, and a default-gateway record (Windows Server 2012's
 * demo) that gives VSID 5002 a router MAC of its own, DG5002 (5001 and
 * 6001 keep the global GW_MAC) */
#define DG5002 "101010101001"
static const char BLUERED[] = BLUERED_CONF
	"route add --rdomain blue --vsid 5002 --prefix 172.16.0.0/16 --nexthop 10.0.1.9 --metric "
	"10\n"
	"route add --rdomain blue --vsid 5002 --prefix 172.16.0.0/16 --nexthop 10.0.1.5 --metric "
	"20\n"
	"lookup add --vsid 5002 --ca 10.0.1.1 --pa 169.254.254.254 --mac " DG5002 "\n"
	/* a VM that lived here and moved to .33 (MS-NVGREE REDIRECT) */
	"lookup add --vsid 5001 --ca 10.0.0.44 --pa 192.168.4.33 --mac 060600000044\n"
	/* a VSID with L2Only records (dynamic learning, flooding) */
	"rdomain add green --rdid {11111111-2222-3333-4444-000000007001}\n"
	"vsubnet add 7001 --rdomain green --prefix 10.7.0.0/24\n"
	"port add g1 --vsid 7001 --ca 10.7.0.11 --mac 0a0a0000000b\n"
	"lookup add --vsid 7001 --ca 10.7.0.11 --pa 192.168.4.11 --mac 0a0a0000000b\n"
	"lookup add --vsid 7001 --ca 0.0.0.0 --pa 192.168.4.11 --mac 0a0a0000000b --type l2only\n"
	"lookup add --vsid 7001 --ca 0.0.0.0 --pa 192.168.4.22 --mac 0a0a00000015 --type l2only\n"
	"lookup add --vsid 7001 --ca 10.7.0.21 --pa 192.168.4.22 --mac 0a0a00000015\n"
	"route add --rdomain green --vsid 7001 --prefix 10.7.0.0/24 --nexthop 0.0.0.0 --metric "
	"255\n";
#define G1 "0a0a0000000b"
#define R1 "0a0a00000015"

static const char *const REMOTE_PAS[] = {"192.168.4.22", "fd00:4::22", NULL};

/* One case: a frame, where it comes from, and whether the fast path must
 * decide it itself (the common unicast cases) or may punt it. */
struct fcase {
	const char *name;
	int port; /* HNV_PORT_UPLINK or a port id */
	bool fast;
	size_t len;
	uint8_t f[2048];
};

enum {
	MAX_CASES = 64
};
static struct fcase cases[MAX_CASES];
static unsigned n_cases;

static struct fcase *add_case(const char *name, int port, bool fast)
{
	if (n_cases >= MAX_CASES)
		fail_msg("too many cases");
	struct fcase *c = &cases[n_cases++];
	c->name = name;
	c->port = port;
	c->fast = fast;
	return c;
}

static void add_ip(const char *name, int port, bool fast, struct pg_ip_pkt s)
{
	struct fcase *c = add_case(name, port, fast);
	c->len = pg_ip_frame(c->f, &s);
}

static void add_rx(const char *name, bool fast, struct pg_gre g, struct pg_ip_pkt in)
{
	struct fcase *c = add_case(name, HNV_PORT_UPLINK, fast);
	uint8_t tmp[2048];
	size_t ilen = pg_ip_frame(tmp, &in);
	c->len = pg_nvgre(c->f, &g, tmp, ilen);
}

static void build_cases(const struct fpd *x)
{
	const struct hnv_policy *pol = hnv_dp_policy(x->dp);
	int blue1 = hnv_policy_port_id(pol, "blue1"), red1 = hnv_policy_port_id(pol, "red1");
	int blue3 = hnv_policy_port_id(pol, "blue3");
	n_cases = 0;
	struct pg_ip_pkt s;
	/* VM transmit */
	add_ip("udp to a remote VM over an IPv4 PA", blue1, true,
	       pg_ip_defaults(BLUE1, BLUE2, "10.0.0.5", "10.0.0.7", 17));
	add_ip("tcp to a remote VM over an IPv4 PA", blue1, true,
	       pg_ip_defaults(BLUE1, BLUE2, "10.0.0.5", "10.0.0.7", 6));
	s = pg_ip_defaults(BLUE1, BLUE2, "10.0.0.5", "10.0.0.7", 17);
	s.tos = 0xb9; /* DSCP and ECN copied to the outer header */
	add_ip("udp with DSCP/ECN", blue1, true, s);
	add_ip("ipv6 to a remote VM over an IPv4 PA", blue1, true,
	       pg_ip_defaults(BLUE1, BLUE2, "fd00:5001::5", "fd00:5001::7", 6));
	add_ip("ipv4 to a remote VM over an IPv6 PA", blue1, true,
	       pg_ip_defaults(BLUE1, BLUE9, "10.0.0.5", "10.0.0.9", 17));
	add_ip("ipv6 to a remote VM over an IPv6 PA", blue1, true,
	       pg_ip_defaults(BLUE1, BLUE9, "fd00:5001::5", "fd00:5001::9", 17));
	add_ip("to a local VM, same VSID", blue1, true,
	       pg_ip_defaults(BLUE1, BLUE4, "10.0.0.5", "10.0.0.6", 17));
	add_ip("routed to a remote VM in another VSID", blue1, true,
	       pg_ip_defaults(BLUE1, GW_MAC, "10.0.0.5", "10.0.1.9", 17));
	add_ip("routed to a local VM in another VSID", blue3, true,
	       pg_ip_defaults(BLUE3, DG5002, "10.0.1.5", "10.0.0.5", 6));
	add_ip("routed from VSID 5002 to a remote VM", blue3, true,
	       pg_ip_defaults(BLUE3, DG5002, "10.0.1.5", "10.0.0.7", 17));
	add_ip("to the global gateway MAC in a VSID with its own", blue3, true,
	       pg_ip_defaults(BLUE3, GW_MAC, "10.0.1.5", "10.0.0.5", 6));
	add_ip("routed to a local VM into a VSID with its own router MAC", blue1, true,
	       pg_ip_defaults(BLUE1, GW_MAC, "10.0.0.5", "10.0.1.5", 6));
	add_ip("routed through a next hop (lower metric wins)", blue1, true,
	       pg_ip_defaults(BLUE1, GW_MAC, "10.0.0.5", "172.16.3.4", 17));
	s = pg_ip_defaults(BLUE1, GW_MAC, "10.0.0.5", "10.0.1.9", 17);
	s.ttl = 1;
	add_ip("routed with TTL 1", blue1, true, s);
	add_ip("routed with no route", blue1, true,
	       pg_ip_defaults(BLUE1, GW_MAC, "10.0.0.5", "192.0.2.1", 17));
	add_ip("no record for the destination", blue1, true,
	       pg_ip_defaults(BLUE1, BLUE2, "10.0.0.5", "10.0.0.77", 17));
	add_ip("spoofed source CA", blue1, true,
	       pg_ip_defaults(BLUE1, BLUE2, "10.0.0.66", "10.0.0.7", 17));
	add_ip("spoofed source MAC", blue1, true,
	       pg_ip_defaults(BLUE2, BLUE2, "10.0.0.5", "10.0.0.7", 17));
	add_ip("red cannot reach blue", red1, true,
	       pg_ip_defaults(RED1, GW_MAC, "10.0.0.5", "10.0.1.9", 17));
	add_ip("red to its own remote VM", red1, true,
	       pg_ip_defaults(RED1, RED2, "10.0.0.5", "10.0.0.7", 17));
	s = pg_ip_defaults(BLUE1, BLUE2, "10.0.0.5", "10.0.0.7", 17);
	s.vlan = 7;
	add_ip("802.1Q-tagged frame from a VM", blue1, false, s);
	s = pg_ip_defaults(BLUE1, BLUE2, "10.0.0.5", "10.0.0.7", 17);
	s.payload_len = 1500;
	add_ip("oversize DF packet", blue1, false, s);
	add_ip("ping of the default gateway", blue1, false,
	       pg_ip_defaults(BLUE1, GW_MAC, "10.0.0.5", "10.0.0.1", 1));
	s = pg_ip_defaults(BLUE1, "ffffffffffff", "0.0.0.0", "255.255.255.255", 17);
	s.sport = 68;
	s.dport = 67;
	add_ip("DHCP discover", blue1, false, s);
	struct fcase *c = add_case("ARP request", blue1, false);
	c->len = pg_arp_request(c->f, BLUE1, "10.0.0.5", "10.0.0.7");
	c = add_case("neighbour solicitation", blue1, false);
	c->len = pg_ns(c->f, BLUE1, "fd00:5001::5", "fd00:5001::7", NULL, NULL, 255, true);
	/* uplink receive */
	struct pg_gre g = pg_gre_defaults("192.168.4.22", "192.168.4.11", 5001);
	add_rx("NVGRE delivered", true, g,
	       pg_ip_defaults(BLUE2, BLUE1, "10.0.0.7", "10.0.0.5", 17));
	add_rx("NVGRE with IPv6 inside", true, g,
	       pg_ip_defaults(BLUE2, BLUE1, "fd00:5001::7", "fd00:5001::5", 6));
	add_rx("NVGRE to a second local VM", true, g,
	       pg_ip_defaults(BLUE2, BLUE4, "10.0.0.7", "10.0.0.6", 17));
	add_rx("NVGRE from a spoofed CA", true, g,
	       pg_ip_defaults(BLUE2, BLUE1, "10.0.0.8", "10.0.0.5", 17));
	add_rx("NVGRE routed by the sender's host", true,
	       pg_gre_defaults("192.168.4.22", "192.168.4.11", 5001),
	       pg_ip_defaults(GW_MAC, BLUE1, "10.0.1.9", "10.0.0.5", 17));
	add_rx("NVGRE routed by the sender's host, VSID with its own router MAC", true,
	       pg_gre_defaults("192.168.4.22", "192.168.4.11", 5002),
	       pg_ip_defaults(DG5002, BLUE3, "10.0.0.7", "10.0.1.5", 17));
	add_rx("NVGRE from the global gateway MAC into a VSID with its own", true,
	       pg_gre_defaults("192.168.4.22", "192.168.4.11", 5002),
	       pg_ip_defaults(GW_MAC, BLUE3, "10.0.0.7", "10.0.1.5", 17));
	add_rx("NVGRE to a MAC with no port", true, g,
	       pg_ip_defaults(BLUE2, "060600000099", "10.0.0.7", "10.0.0.5", 17));
	struct pg_gre g6 = pg_gre_defaults("fd00:4::22", "fd00:4::11", 5001);
	add_rx("NVGRE over an IPv6 PA", true, g6,
	       pg_ip_defaults(BLUE9, BLUE1, "fd00:5001::9", "fd00:5001::5", 17));
	struct pg_gre gr = g;
	gr.vsid = 6001;
	add_rx("blue's frame in red's VSID", true, gr,
	       pg_ip_defaults(BLUE2, BLUE1, "10.0.0.7", "10.0.0.5", 17));
	gr = g;
	gr.vsid = 7777;
	add_rx("unknown VSID", true, gr, pg_ip_defaults(BLUE2, BLUE1, "10.0.0.7", "10.0.0.5", 17));
	gr = g;
	gr.vsid = 12;
	add_rx("reserved VSID", true, gr, pg_ip_defaults(BLUE2, BLUE1, "10.0.0.7", "10.0.0.5", 17));
	gr = g;
	gr.flags = 0xa000; /* checksum present */
	add_rx("GRE with C bit", true, gr,
	       pg_ip_defaults(BLUE2, BLUE1, "10.0.0.7", "10.0.0.5", 17));
	gr = g;
	gr.proto = 0x0800;
	add_rx("GRE carrying IPv4", true, gr,
	       pg_ip_defaults(BLUE2, BLUE1, "10.0.0.7", "10.0.0.5", 17));
	gr = g;
	gr.tos = 3; /* CE over Not-ECT */
	add_rx("CE over Not-ECT", true, gr,
	       pg_ip_defaults(BLUE2, BLUE1, "10.0.0.7", "10.0.0.5", 17));
	s = pg_ip_defaults(BLUE2, BLUE1, "10.0.0.7", "10.0.0.5", 17);
	s.tos = 2; /* ECT(0) inside, CE outside: CE inside */
	add_rx("CE over ECT(0)", true, gr, s);
	gr = g;
	gr.frag = 0x2000;
	add_rx("fragmented NVGRE", true, gr,
	       pg_ip_defaults(BLUE2, BLUE1, "10.0.0.7", "10.0.0.5", 17));
	gr = pg_gre_defaults("192.168.4.22", "192.168.4.99", 5001);
	add_rx("NVGRE for another host", false, gr,
	       pg_ip_defaults(BLUE2, BLUE1, "10.0.0.7", "10.0.0.5", 17));
	/* MS-NVGREE (docs/nvgre-ext.md): the C engine's */
	add_rx("NVGRE for a CA without a record (UNREACHABLE)", false, g,
	       pg_ip_defaults(BLUE2, "060600000099", "10.0.0.7", "10.0.0.99", 17));
	/* to a local port's MAC: the port's whatever the IP destination (a
	 * next hop VM, a gateway port): decided by the fast path itself */
	add_rx("NVGRE to a local port's MAC for a CA beyond it", true, g,
	       pg_ip_defaults(BLUE2, BLUE1, "10.0.0.7", "172.16.9.9", 17));
	add_rx("NVGRE for a CA that moved away (REDIRECT)", false, g,
	       pg_ip_defaults(BLUE2, "060600000044", "10.0.0.7", "10.0.0.44", 17));
	for (int redirect = 0; redirect < 2; redirect++) {
		uint8_t q[128], inner[256];
		s = pg_ip_defaults(BLUE1, BLUE2, "10.0.0.5", "10.0.0.7", 17);
		pg_ip_frame(q, &s);
		size_t il = pg_nvx4(inner, redirect, FPD_UPLINK_MAC, FPD_NEIGH_MAC, "192.168.4.22",
				    "192.168.4.11", "192.168.4.33", q + 14);
		c = add_case(redirect ? "REDIRECT from the record's PA" : "UNREACHABLE from a peer",
			     HNV_PORT_UPLINK, false);
		c->len = pg_nvgre(c->f, &g, inner, il);
	}
	/* VSID 7001 has L2Only records: what is learned (10.7.0.77, in setup)
	 * is in the maps and forwarded by the fast path; what needs learning
	 * or flooding is the C engine's */
	int g1 = hnv_policy_port_id(pol, "g1");
	add_ip("L2Only VSID: to a static record", g1, true,
	       pg_ip_defaults(G1, R1, "10.7.0.11", "10.7.0.21", 17));
	add_ip("L2Only VSID: to a learned address", g1, true,
	       pg_ip_defaults(G1, R1, "10.7.0.11", "10.7.0.77", 17));
	add_ip("L2Only VSID: from an address to learn", g1, false,
	       pg_ip_defaults(G1, R1, "10.7.0.99", "10.7.0.21", 17));
	add_ip("L2Only VSID: broadcast flooded", g1, false,
	       pg_ip_defaults(G1, "ffffffffffff", "10.7.0.11", "10.7.0.255", 17));
	add_ip("L2Only VSID: to an L2Only MAC without a record", g1, false,
	       pg_ip_defaults(G1, R1, "10.7.0.11", "10.7.0.150", 17));
	struct pg_gre g7 = pg_gre_defaults("192.168.4.22", "192.168.4.11", 7001);
	add_rx("L2Only VSID: from a learned address", true, g7,
	       pg_ip_defaults(R1, G1, "10.7.0.77", "10.7.0.11", 17));
	add_rx("L2Only VSID: from an address to learn", false, g7,
	       pg_ip_defaults(R1, G1, "10.7.0.88", "10.7.0.11", 17));
	add_rx("L2Only VSID: broadcast to the local ports", false, g7,
	       pg_ip_defaults(R1, "ffffffffffff", "10.7.0.21", "10.7.0.255", 17));
	add_rx("L2Only VSID: a static address from another MAC", false, g7,
	       pg_ip_defaults("0a0a00000099", G1, "10.7.0.21", "10.7.0.11", 17));
	c = add_case("outer checksum wrong", HNV_PORT_UPLINK, true);
	{
		uint8_t tmp[2048];
		struct pg_ip_pkt in = pg_ip_defaults(BLUE2, BLUE1, "10.0.0.7", "10.0.0.5", 17);
		size_t ilen = pg_ip_frame(tmp, &in);
		c->len = pg_nvgre(c->f, &g, tmp, ilen);
		c->f[14 + 10] ^= 0x55;
	}
}

/* The differential environment of conf, with a learned address of r1
 * (mirrored into the maps like any record); NULL after saying why. */
static struct fpd *env_new(const char *conf)
{
	char why[512] = "";
	struct fpd *x = fpd_new(conf, REMOTE_PAS, why, sizeof(why));
	if (!x) {
		print_message("test_fp_diff: %s\n", why);
		return NULL;
	}
	struct hnv_ip ca = pg_ip("10.7.0.77"), pa = pg_ip("192.168.4.22");
	struct hnv_mac r1 = pg_mac(R1);
	if (hnv_policy_learn(hnv_dp_policy(x->dp), 7001, &ca, &r1, &pa, 1) != HNV_LEARN_NEW) {
		print_message("test_fp_diff: cannot learn 10.7.0.77\n");
		fpd_free(x);
		return NULL;
	}
	return x;
}

static int setup(void **state)
{
	if (geteuid() != 0) {
		print_message("test_fp_diff: needs root (BPF, a network namespace)\n");
		return -1;
	}
	struct fpd *x = env_new(BLUERED);
	if (!x)
		return -1;
	build_cases(x);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	fpd_free(*state);
	return 0;
}

/* Each case agrees between the tiers, and the everyday ones are decided by
 * the fast path itself. */
static void test_fast_cases(void **state)
{
	struct fpd *x = *state;
	char why[256];
	for (unsigned i = 0; i < n_cases; i++) {
		const struct fcase *c = &cases[i];
		enum fpd_result r = fpd_compare(x, c->f, c->len, c->port, why, sizeof(why));
		if (r == FPD_DIFFERENT)
			fail_msg("%s: %s", c->name, why);
		if (c->fast && r != FPD_SAME)
			fail_msg("%s: the fast path %s it, want it decided in the kernel", c->name,
				 r == FPD_PUNTED   ? "punted"
				 : r == FPD_PASSED ? "passed"
						   : "skipped");
	}
}

/* The same cases where the local PAs outnumber fp_cfg's copy of them:
 * alike, and the everyday ones still decided in the kernel. */
static void test_many_pas(void **state)
{
	(void)state;
	/* BLUERED with four more local PAs configured before its own: fp_cfg
	 * holds the first FP_CFG_PAS inline, so the PAs the cases use
	 * (192.168.4.11, fd00:4::11) are found in fp_pas only */
	static char conf[sizeof(BLUERED) + 256];
	snprintf(conf, sizeof(conf),
		 "pa add fd00:9::1/64 --dev eth0\npa add fd00:9::2/64 --dev eth0\n"
		 "pa add fd00:9::3/64 --dev eth0\npa add fd00:9::4/64 --dev eth0\n%s",
		 BLUERED);
	struct fpd *y = env_new(conf);
	assert_non_null(y);
	struct fp_cfg c;
	__u32 zero = 0;
	assert_int_equal(bpf_map_lookup_elem(hnv_fp_map_fd(y->fp, "fp_cfg"), &zero, &c), 0);
	assert_int_equal(c.n_pas, 6);
	char why[256];
	for (unsigned i = 0; i < n_cases; i++) {
		const struct fcase *k = &cases[i];
		enum fpd_result r = fpd_compare(y, k->f, k->len, k->port, why, sizeof(why));
		if (r == FPD_DIFFERENT)
			fail_msg("%s: %s", k->name, why);
		if (k->fast && r != FPD_SAME)
			fail_msg("%s: not decided in the kernel", k->name);
	}
	fpd_free(y);
}

static const struct fcase *case_named(const char *name)
{
	for (unsigned i = 0; i < n_cases; i++)
		if (strcmp(cases[i].name, name) == 0)
			return &cases[i];
	fail_msg("no case %s", name);
	return NULL;
}

/* A frame both tiers must decide alike and the fast path itself. */
static void same_in_kernel(struct fpd *y, const struct fcase *k, const char *when)
{
	char why[256];
	enum fpd_result r = fpd_compare(y, k->f, k->len, k->port, why, sizeof(why));
	if (r != FPD_SAME)
		fail_msg("%s, %s: %s", k->name, when,
			 r == FPD_DIFFERENT ? why : "not decided in the kernel");
}

/* Route changes take effect in the fast path at once, also for the
 * addresses whose route (or absence of one) it has cached (fp_rcache4, fp_rcache). */
static void test_route_change(void **state)
{
	(void)state;
	struct fpd *y = env_new(BLUERED);
	assert_non_null(y);
	struct hnv_policy *p = hnv_dp_policy(y->dp);
	const struct fcase *k = case_named("routed to a remote VM in another VSID");
	same_in_kernel(y, k, "routed");
	same_in_kernel(y, k, "routed again (from the cache)");
	struct hnv_prefix pfx;
	struct hnv_ip onlink = pg_ip("0.0.0.0");
	assert_int_equal(hnv_parse_prefix("10.0.1.0/24", &pfx), 0);
	assert_int_equal(hnv_policy_route_del(p, "blue", &pfx, &onlink), 0);
	assert_int_equal(hnv_policy_commit(p), 0);
	same_in_kernel(y, k, "after its route was deleted"); /* drop_no_route */
	same_in_kernel(y, k, "after its route was deleted, again");
	struct hnv_route_spec rs = {
		.rdomain = "blue", .vsid = 5002, .prefix = pfx, .nexthop = onlink, .metric = 255};
	assert_int_equal(hnv_policy_route_add(p, &rs), 0);
	assert_int_equal(hnv_policy_commit(p), 0);
	same_in_kernel(y, k, "after its route was added back");
	fpd_free(y);
}

/* Every one-bit flip of every case: both tiers agree on each. */
static void test_bit_flips(void **state)
{
	struct fpd *x = *state;
	char why[256];
	unsigned frames = 0;
	for (unsigned i = 0; i < n_cases; i++) {
		struct fcase *c = &cases[i];
		for (size_t bit = 0; bit < c->len * 8; bit++) {
			c->f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			enum fpd_result r = fpd_compare(x, c->f, c->len, c->port, why, sizeof(why));
			c->f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			if (r == FPD_DIFFERENT)
				fail_msg("%s with bit %zu flipped: %s", c->name, bit, why);
			frames++;
		}
	}
	print_message("bit flips: %u frames, %u decided alike, %u punted, %u left to the host\n",
		      frames, x->same, x->punted, x->passed);
	assert_true(x->same > frames / 4);
}

/* The real capture, with the configuration of its receiving host. */
static void test_capture(void **state)
{
	(void)state;
	static const char *const none[] = {NULL};
	FILE *cf = fopen("tests/data/testdata-host2.conf", "r");
	assert_non_null(cf);
	static char conf[8192];
	size_t n = fread(conf, 1, sizeof(conf) - 1, cf);
	fclose(cf);
	conf[n] = 0;
	char why[512] = "";
	struct fpd *y = fpd_new(conf, none, why, sizeof(why));
	if (!y)
		fail_msg("%s", why);
	struct hnv_pcap_reader *r;
	assert_int_equal(hnv_pcap_open_read("tests/data/gre_nvgre.pcap", &r, why, sizeof(why)), 0);
	const uint8_t *data;
	uint32_t caplen;
	unsigned frames = 0;
	while (hnv_pcap_next(r, &data, &caplen, NULL, NULL) == 1) {
		char w[256];
		if (fpd_compare(y, data, caplen, HNV_PORT_UPLINK, w, sizeof(w)) == FPD_DIFFERENT)
			fail_msg("gre_nvgre.pcap frame %u: %s", frames + 1, w);
		frames++;
	}
	hnv_pcap_close_reader(r);
	assert_true(frames > 0);
	assert_int_equal(y->same, frames); /* delivered by the fast path, like the C engine */
	fpd_free(y);
}

int main(void)
{
	urcu_qsbr_register_thread();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_cases),
		cmocka_unit_test(test_many_pas),
		cmocka_unit_test(test_route_change),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_capture),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	urcu_qsbr_unregister_thread();
	return rc;
}
