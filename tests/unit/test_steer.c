/* test_steer: receive steering over forwarding threads (datapath/io/steer.h).
 *
 * 1. The filter is the hash: thousands of frames (NVGRE with IPv4/IPv6
 *    outer and inner headers, TCP/UDP/ICMP/ARP, fragments, IP options,
 *    wrong GRE flags, truncations, random bytes) are sent to one socket per
 *    thread, each with hnv_steer_filter of its thread; the kernel runs the
 *    classic BPF. Exactly the thread hnv_steer_pick(hnv_steer_hash()) names
 *    must receive each frame (for the AF_PACKET kind: none when the frame
 *    is not NVGRE to this host). AF_UNIX datagram sockets run socket
 *    filters like packet and raw sockets, so this needs no privilege.
 * 2. Flows: 64 flows from one remote PA keep their thread whatever the
 *    FlowID, IP ID and payload, and both of 2 threads get flows.
 * 3. The fanout group through the kernel (root: a network namespace of its
 *    own): 1..4 instances of the AF_PACKET uplink on a veth, steered as
 *    hnvgwd steers them (one PACKET_FANOUT group, hnv_steer_fanout), while
 *    a second group of 2 on another veth in the same namespace (a second
 *    hnvgwd) runs too; frames of every shape are sent into both veths.
 *    Each frame that is NVGRE to this host reaches exactly the instance
 *    hnv_steer_pick(hnv_steer_hash()) names, once, bytes unchanged; every
 *    other frame reaches none.
 * 4. Forwarding (root: a network namespace of its own): hnv_fwd with 2
 *    threads on a veth uplink, both backends; NVGRE of 64 flows from one
 *    remote PA is sent into the uplink; every frame reaches the VM's TAP,
 *    in order within its flow, and each thread's received count is the sum
 *    of the frames of the flows the hash gives it (both > 0).
 */
#define _LGPL_SOURCE
#include "../../datapath/dp.h"
#include "../../datapath/io/fwd.h"
#include "../../datapath/io/io.h"
#include "../../datapath/io/steer.h"
#include "../../datapath/policy.h"
#include "pktgen.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-qsbr.h>

#include <cmocka.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* ---- frames ---- */

/* One NVGRE frame (Ethernet first) of a flow: VSID, inner addresses and
 * ports fixed by flow; FlowID, IP ID and payload vary with seq. */
static size_t flow_frame(uint8_t *buf, unsigned flow, unsigned seq, bool v6_inner, uint8_t proto)
{
	uint8_t inner[256];
	char src[64], dst[64];
	if (v6_inner) {
		snprintf(src, sizeof(src), "fd00::%x", 5 + flow % 7);
		snprintf(dst, sizeof(dst), "fd00::%x", 100 + flow / 7);
	} else {
		snprintf(src, sizeof(src), "10.0.%u.%u", flow % 7, 5 + flow % 3);
		snprintf(dst, sizeof(dst), "10.0.0.%u", 100 + flow / 7);
	}
	struct pg_ip_pkt s = pg_ip_defaults("00155d000005", "00155d000007", src, dst, proto);
	s.sport = (uint16_t)(1000 + flow * 13);
	s.dport = 80;
	s.payload_len = 18 + seq % 5;
	s.fill = (uint8_t)seq;
	size_t n = pg_ip_frame(inner, &s);
	if (!v6_inner)
		pg_put16(inner + 14 + 4, (uint16_t)seq); /* IP ID */
	struct pg_gre g = pg_gre_defaults("192.168.4.22", "192.168.4.11", 5001 + flow % 2);
	g.flow_id = (uint8_t)(seq * 37);
	return pg_nvgre(buf, &g, inner, n);
}

/* A frame of every shape the filter must agree on. */
static size_t random_frame(uint8_t *buf)
{
	uint8_t inner[512];
	size_t n;
	unsigned kind = rnd() % 8;
	if (kind == 0) { /* random bytes */
		n = 1 + rnd() % 160;
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rnd();
		if (rnd() % 2) { /* often IPv4/IPv6 protocol 47 anyway */
			buf[12] = 0x08;
			buf[13] = 0x00;
			if (n > 23)
				buf[23] = 47;
			if (n > 14)
				buf[14] = (uint8_t)(0x40 | (rnd() % 16));
		}
		return n;
	}
	static const uint8_t protos[] = {6, 17, 1, 58, 132};
	bool v6i = rnd() % 3 == 0;
	uint8_t proto = protos[rnd() % 5];
	if (proto == 1 && v6i)
		proto = 58;
	if (proto == 58 && !v6i)
		proto = 1;
	char src[64], dst[64];
	if (v6i) {
		snprintf(src, sizeof(src), "2001:db8::%x", rnd() & 0xffff);
		snprintf(dst, sizeof(dst), "2001:db8:1::%x", rnd() & 0xffff);
	} else {
		snprintf(src, sizeof(src), "10.%u.%u.%u", rnd() % 256, rnd() % 256, rnd() % 256);
		snprintf(dst, sizeof(dst), "10.%u.%u.%u", rnd() % 256, rnd() % 256, rnd() % 256);
	}
	if (kind == 1) { /* ARP inside */
		struct hnv_mac m = pg_mac("00155d000005"), b = pg_mac("ffffffffffff");
		struct hnv_ip a = pg_ip("10.0.0.5"), t = pg_ip("10.0.0.7");
		n = pg_arp(inner, &b, 1, &m, &a, &b, &t);
	} else {
		struct pg_ip_pkt s =
			pg_ip_defaults("00155d000005", "00155d000007", src, dst, proto);
		s.sport = (uint16_t)rnd();
		s.dport = (uint16_t)rnd();
		s.payload_len = rnd() % 40;
		n = pg_ip_frame(inner, &s);
		if (!v6i && kind == 2) /* inner fragment (MF or offset) */
			pg_put16(inner + 14 + 6, (uint16_t)(rnd() % 2 ? 0x2000 : rnd() & 0x1fff));
		if (!v6i && kind == 3) { /* inner IP options (IHL 5..15; also < 5) */
			inner[14] = (uint8_t)(0x40 | rnd() % 16);
		}
	}
	bool v6o = rnd() % 3 == 0;
	struct pg_gre g =
		pg_gre_defaults(v6o ? "2001:db8:9::1" : "192.168.4.22",
				v6o ? "2001:db8:9::2" : "192.168.4.11", 4096 + rnd() % 100000);
	g.flow_id = (uint8_t)rnd();
	if (kind == 4) { /* outer shapes the engine refuses */
		unsigned w = rnd() % 4;
		if (w == 0)
			g.flags = (uint16_t)(rnd() % 2 ? 0xa000 : 0x2001);
		else if (w == 1)
			g.proto = 0x0800;
		else if (w == 2)
			g.frag = (uint16_t)(rnd() % 2 ? 0x2000 : 0x0010);
		else
			g.ip_proto = 17;
	}
	n = pg_nvgre(buf, &g, inner, n);
	if (kind == 5) { /* outer IPv4 options: IHL from 0 to 15 */
		if (!v6o)
			buf[14] = (uint8_t)(0x40 | rnd() % 16);
	}
	if (kind == 6 || kind == 7) /* truncated anywhere */
		n = 1 + rnd() % n;
	return n;
}

/* ---- 1. the kernel's run of the filter = the hash ---- */

struct sink {
	int tx, rx;
};

static void sink_open(struct sink *s, enum hnv_steer_sock kind, unsigned thread, unsigned n)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	struct sock_filter code[HNV_STEER_PROG_MAX];
	int len = hnv_steer_filter(code, kind, thread, n);
	assert_true(len > 0);
	struct sock_fprog prog = {.len = (unsigned short)len, .filter = code};
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)), 0);
	s->tx = sv[0];
	s->rx = sv[1];
}

/* What the AF_PACKET filter demands before steering. */
static bool eth_nvgre_to_host(const uint8_t *f, size_t len)
{
	if (len < 14)
		return false;
	uint16_t et = pg_get16(f + 12);
	if (et == 0x0800)
		return len >= 24 && f[23] == 47;
	if (et == 0x86dd)
		return len >= 21 && f[20] == 47;
	return false;
}

static void test_filter_is_hash(void **state)
{
	(void)state;
	static const unsigned ns[] = {1, 2, 3, 4, 7, HNV_STEER_THREADS_MAX};
	struct sink sk[2][sizeof(ns) / sizeof(ns[0])][HNV_STEER_THREADS_MAX];
	for (unsigned kind = 0; kind < 2; kind++)
		for (unsigned j = 0; j < sizeof(ns) / sizeof(ns[0]); j++)
			for (unsigned t = 0; t < ns[j]; t++)
				sink_open(&sk[kind][j][t], kind, t, ns[j]);
	uint8_t *frame = malloc(PG_FRAME_MAX), got[PG_FRAME_MAX];
	assert_non_null(frame);
	unsigned steered = 0, spread[4] = {0};
	for (unsigned i = 0; i < 3000; i++) {
		size_t len = random_frame(frame);
		for (unsigned kind = 0; kind < 2; kind++) {
			const uint8_t *pkt = kind == HNV_STEER_L3 ? frame + 14 : frame;
			size_t plen = kind == HNV_STEER_L3 ? (len > 14 ? len - 14 : 0) : len;
			if (plen == 0)
				continue;
			uint32_t h = hnv_steer_hash(frame + 14, len > 14 ? len - 14 : 0);
			bool passes = kind == HNV_STEER_L3 || eth_nvgre_to_host(frame, len);
			for (unsigned j = 0; j < sizeof(ns) / sizeof(ns[0]); j++) {
				int want = passes ? (int)hnv_steer_pick(h, ns[j]) : -1, who = -1;
				for (unsigned t = 0; t < ns[j]; t++) {
					assert_int_equal(send(sk[kind][j][t].tx, pkt, plen, 0),
							 (ssize_t)plen);
					ssize_t r = recv(sk[kind][j][t].rx, got, sizeof(got), 0);
					if (r < 0) {
						assert_int_equal(errno, EAGAIN);
						continue;
					}
					assert_int_equal(who, -1); /* one thread only */
					assert_int_equal(r, (ssize_t)plen);
					assert_memory_equal(got, pkt, plen);
					who = (int)t;
				}
				if (who != want)
					fail_msg("frame %u (%zu bytes, kind %u, %u threads): "
						 "thread %d "
						 "received it, the hash says %d",
						 i, len, kind, ns[j], who, want);
				if (ns[j] == 4 && want >= 0 && h) {
					steered++;
					spread[want]++;
				}
			}
		}
	}
	/* the sample is not all of one shape: hashed frames on every thread */
	assert_true(steered > 1000);
	for (unsigned t = 0; t < 4; t++)
		assert_true(spread[t] > steered / 8);
	for (unsigned kind = 0; kind < 2; kind++)
		for (unsigned j = 0; j < sizeof(ns) / sizeof(ns[0]); j++)
			for (unsigned t = 0; t < ns[j]; t++) {
				close(sk[kind][j][t].tx);
				close(sk[kind][j][t].rx);
			}
	free(frame);
}

static void test_filter_limits(void **state)
{
	(void)state;
	struct sock_filter code[HNV_STEER_PROG_MAX];
	assert_int_equal(hnv_steer_filter(code, HNV_STEER_L3, 0, 0), -EINVAL);
	assert_int_equal(hnv_steer_filter(code, HNV_STEER_L3, 2, 2), -EINVAL);
	assert_int_equal(hnv_steer_filter(code, HNV_STEER_ETH, 0, HNV_STEER_THREADS_MAX + 1),
			 -EINVAL);
	assert_true(hnv_steer_filter(code, HNV_STEER_ETH, HNV_STEER_THREADS_MAX - 1,
				     HNV_STEER_THREADS_MAX) > 0);
	/* not NVGRE: thread 0, whatever n */
	uint8_t f[64] = {0x45};
	assert_int_equal(hnv_steer_hash(f, sizeof(f)), 0);
	assert_int_equal(hnv_steer_hash(f, 0), 0);
}

/* ---- 2. flows keep their thread ---- */

static void test_flows_keep_thread(void **state)
{
	(void)state;
	uint8_t *f = malloc(PG_FRAME_MAX);
	assert_non_null(f);
	for (unsigned v6 = 0; v6 < 2; v6++)
		for (unsigned pi = 0; pi < 3; pi++) {
			uint8_t proto = pi == 0 ? 6 : pi == 1 ? 17 : (v6 ? 58 : 1);
			unsigned per[2] = {0};
			for (unsigned flow = 0; flow < 64; flow++) {
				size_t n = flow_frame(f, flow, 0, v6, proto);
				uint32_t h0 = hnv_steer_hash(f + 14, n - 14);
				assert_int_not_equal(h0, 0);
				for (unsigned seq = 1; seq < 20; seq++) {
					n = flow_frame(f, flow, seq, v6, proto);
					assert_int_equal(hnv_steer_hash(f + 14, n - 14), h0);
				}
				per[hnv_steer_pick(h0, 2)]++;
			}
			assert_true(per[0] > 0 && per[1] > 0);
		}
	free(f);
}

/* ---- 3. the fanout group through the kernel (root) ---- */

static void sh(const char *cmd)
{
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

#define FANOUT_FRAMES 1500
#define RX_BATCH 8

struct group {
	const char *dev, *peer;
	unsigned n;
	struct hnv_io_port *up[4];
	int tx; /* a packet socket on the peer: frames into dev */
	struct hnv_mac mac;
};

static void group_open(struct group *g, unsigned n)
{
	char err[256];
	g->n = n;
	for (unsigned k = 0; k < n; k++)
		if (hnv_io_uplink_packet_ops.open(g->dev, NULL, &g->up[k], err, sizeof(err)))
			fail_msg("open %s: %s", g->dev, err);
	if (n > 1 && hnv_io_uplink_packet_ops.steer(g->up, n, err, sizeof(err)))
		fail_msg("steer %s to %u: %s", g->dev, n, err);
	g->tx = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	assert_true(g->tx >= 0);
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, g->dev);
	assert_int_equal(ioctl(g->tx, SIOCGIFHWADDR, &ifr), 0);
	memcpy(g->mac.b, ifr.ifr_hwaddr.sa_data, 6);
}

static void group_close(struct group *g)
{
	for (unsigned k = 0; k < g->n; k++)
		hnv_io_uplink_packet_ops.close(g->up[k]);
	close(g->tx);
}

static void group_send(const struct group *g, const uint8_t *f, size_t len)
{
	struct sockaddr_ll to = {.sll_family = AF_PACKET,
				 .sll_ifindex = (int)if_nametoindex(g->peer),
				 .sll_halen = 6};
	assert_int_equal(sendto(g->tx, f, len, 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)len);
}

/* Reads what every instance of g received; each frame must be f (len
 * bytes). Returns the instance that received it (-1: none), failing when
 * several did, or one did twice. When want >= 0, waits for instance want
 * first (the veth hands frames on in a softirq). */
static int group_recv(const struct group *g, const uint8_t *f, size_t len, int want,
		      struct hnv_pkt **pkts, unsigned frame)
{
	if (want >= 0) {
		struct pollfd pfd = {.fd = g->up[want]->fd, .events = POLLIN};
		(void)poll(&pfd, 1, 2000);
	}
	int who = -1;
	for (unsigned k = 0; k < g->n; k++) {
		int r;
		/* the epoll fd also wakes for neighbour notifications: read on
		 * while frames come */
		while ((r = hnv_io_uplink_packet_ops.rx(g->up[k], pkts, RX_BATCH, 0)) > 0) {
			for (int i = 0; i < r; i++) {
				if (pkts[i]->len != len || memcmp(pkts[i]->data, f, len) != 0)
					fail_msg("%s, %u threads, frame %u: thread %u received "
						 "another frame (%u bytes)",
						 g->dev, g->n, frame, k, pkts[i]->len);
				if (who != -1)
					fail_msg("%s, %u threads, frame %u: received by thread "
						 "%d and by thread %u",
						 g->dev, g->n, frame, who, k);
				who = (int)k;
			}
		}
		assert_true(r == 0);
	}
	return who;
}

static void test_fanout_kernel(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test_fanout_kernel: needs root (a network namespace)\n");
		skip();
	}
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	sh("ip link set lo up && sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
	   "net.ipv6.conf.default.disable_ipv6=1 && "
	   "ip link add fo0 type veth peer name fp0 && ip link add fo1 type veth peer name fp1 && "
	   "for d in fo0 fp0 fo1 fp1; do ip link set $d up || exit 1; done");
	struct hnv_pkt *pkts[RX_BATCH];
	for (unsigned i = 0; i < RX_BATCH; i++)
		assert_non_null(pkts[i] = calloc(1, sizeof(struct hnv_pkt)));
	uint8_t *frame = malloc(PG_FRAME_MAX);
	assert_non_null(frame);
	const struct hnv_mac other = pg_mac("020000000099");
	for (unsigned n = 1; n <= 4; n++) {
		/* the second group is opened first: its id is taken when the
		 * first is made */
		struct group g2 = {.dev = "fo1", .peer = "fp1"}, g = {.dev = "fo0", .peer = "fp0"};
		group_open(&g2, 2);
		group_open(&g, n);
		unsigned got[4] = {0}, none = 0;
		for (unsigned i = 0; i < FANOUT_FRAMES; i++) {
			size_t len;
			while ((len = random_frame(frame)) < 14)
				;
			uint16_t et = pg_get16(frame + 12);
			if (et == 0x8100 || et == 0x88a8 || et == 0x9100) /* the kernel untags */
				pg_put16(frame + 12, 0x0801);
			/* to this host, or (1 in 7) to another */
			memcpy(frame, i % 7 == 3 ? other.b : g.mac.b, 6);
			uint32_t h = hnv_steer_hash(frame + 14, len - 14);
			bool host = i % 7 != 3 && eth_nvgre_to_host(frame, len);
			int want = host ? (int)hnv_steer_pick(h, n) : -1;
			group_send(&g, frame, len);
			int who = group_recv(&g, frame, len, want, pkts, i);
			if (who != want)
				fail_msg(
					"fo0, %u threads, frame %u (%zu bytes): thread %d received "
					"it, the hash says %d",
					n, i, len, who, want);
			if (want >= 0)
				got[want]++;
			else
				none++;
			/* the other group, on its own device: its own steering */
			memcpy(frame, i % 7 == 3 ? other.b : g2.mac.b, 6);
			want = host ? (int)hnv_steer_pick(h, 2) : -1;
			group_send(&g2, frame, len);
			who = group_recv(&g2, frame, len, want, pkts, i);
			if (who != want)
				fail_msg(
					"fo1, 2 threads, frame %u: thread %d received it, the hash "
					"says %d",
					i, who, want);
		}
		/* nothing arrives late; every thread got frames */
		usleep(50000);
		assert_int_equal(group_recv(&g, frame, 0, -1, pkts, FANOUT_FRAMES), -1);
		assert_int_equal(group_recv(&g2, frame, 0, -1, pkts, FANOUT_FRAMES), -1);
		printf("fanout, %u thread%s:", n, n > 1 ? "s" : "");
		for (unsigned k = 0; k < n; k++) {
			printf(" %u", got[k]);
			assert_true(got[k] > FANOUT_FRAMES / (8 * n));
		}
		printf(" frames, %u to none\n", none);
		assert_true(none > FANOUT_FRAMES / 8);
		group_close(&g);
		group_close(&g2);
	}
	free(frame);
	for (unsigned i = 0; i < RX_BATCH; i++)
		free(pkts[i]);
}

/* ---- 4. two forwarding threads on a veth uplink (root) ---- */

#define FLOWS 64
#define PER_FLOW 20

/* Frame seq of flow: NVGRE 192.168.4.22 -> 192.168.4.11, VSID 5001, from
 * remote VM 10.0.0.(10 + flow % 8), UDP source port 20000 + flow, to the
 * local VM 10.0.0.5 port 9000; seq in the inner IP ID, FlowID varying. */
static size_t fwd_frame(uint8_t *buf, const struct hnv_mac *up_mac, unsigned flow, unsigned seq)
{
	uint8_t inner[128];
	char src[32], smac[16];
	snprintf(src, sizeof(src), "10.0.0.%u", 10 + flow % 8);
	snprintf(smac, sizeof(smac), "00155d0000%02x", 10 + flow % 8);
	struct pg_ip_pkt s = pg_ip_defaults(smac, "00155d000005", src, "10.0.0.5", 17);
	s.sport = (uint16_t)(20000 + flow);
	s.dport = 9000;
	s.payload_len = 18;
	size_t n = pg_ip_frame(inner, &s);
	pg_put16(inner + 14 + 4, (uint16_t)seq);
	pg_put16(inner + 14 + 10, 0);
	pg_put16(inner + 14 + 10, pg_fold(pg_sum(0, inner + 14, 20)));
	struct pg_gre g = pg_gre_defaults("192.168.4.22", "192.168.4.11", 5001);
	g.dst_mac = *up_mac;
	g.flow_id = (uint8_t)(seq * 37 + flow);
	return pg_nvgre(buf, &g, inner, n);
}

static void policy_load(struct hnv_dp *dp)
{
	struct hnv_policy *p = hnv_dp_policy(dp);
	struct hnv_prefix pa = {.addr = pg_ip("192.168.4.11"), .len = 24};
	assert_int_equal(hnv_policy_pa_add(p, &pa), 0);
	struct hnv_guid g = {{7}};
	assert_int_equal(hnv_policy_rdomain_add(p, "blue", &g), 0);
	struct hnv_vsubnet_spec vs = {.vsid = 5001, .n_prefixes = 1};
	strcpy(vs.rdomain, "blue");
	vs.prefixes[0] = (struct hnv_prefix){.addr = pg_ip("10.0.0.0"), .len = 24};
	assert_int_equal(hnv_policy_vsubnet_add(p, &vs), 0);
	for (unsigned i = 0; i <= 8; i++) {
		struct hnv_lookup_spec r = {
			.vsid = 5001, .rule = HNV_RULE_ENCAP, .type = HNV_TYPE_STATIC};
		char ca[32], mac[16];
		snprintf(ca, sizeof(ca), "10.0.0.%u", i == 8 ? 5 : 10 + i);
		snprintf(mac, sizeof(mac), "00155d0000%02x", i == 8 ? 5 : 10 + i);
		r.ca = pg_ip(ca);
		r.mac = pg_mac(mac);
		r.pa = pg_ip(i == 8 ? "192.168.4.11" : "192.168.4.22");
		assert_int_equal(hnv_policy_lookup_add(p, &r), 0);
	}
	assert_int_equal(hnv_policy_commit(p), 0);
	struct hnv_port_spec ps = {.vsid = 5001, .n_cas = 1, .mac = pg_mac("00155d000005")};
	strcpy(ps.name, "vm1");
	ps.cas[0] = pg_ip("10.0.0.5");
	assert_true(hnv_policy_port_add(p, &ps) > 0);
}

struct thread_rx {
	uint64_t uplink[2], total;
};

static void stat_cb(const char *port, const char *counter, uint64_t value, bool is_error, void *arg)
{
	(void)is_error;
	struct thread_rx *t = arg;
	for (unsigned k = 0; k < 2; k++) {
		char name[16];
		snprintf(name, sizeof(name), "thread:%u", k);
		if (strcmp(port, name) == 0 && strcmp(counter, "uplink_rx_packets") == 0)
			t->uplink[k] = value;
	}
	if (strcmp(port, "uplink") == 0 && strcmp(counter, "rx_packets") == 0)
		t->total = value;
}

static void fwd_two_threads(const char *backend)
{
	char err[512];
	struct hnv_fwd *f;
	int rc = hnv_fwd_new("up0", backend, NULL, 2, &f, err, sizeof(err));
	if (rc)
		fail_msg("hnv_fwd_new(%s): %s", backend, err);
	struct hnv_dp *dp = hnv_dp_new();
	assert_non_null(dp);
	policy_load(dp);
	struct hnv_mac vm = pg_mac("00155d000005");
	assert_int_equal(hnv_fwd_port_add(f, "vm1", &vm, false, NULL, err, sizeof(err)), 0);
	if (hnv_fwd_attach(f, dp, err, sizeof(err)))
		fail_msg("attach (%s): %s", backend, err);
	sh("ip link set vm1 up");

	/* what the VM receives: frames hnvgwd writes into its TAP */
	int cap = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(0x0800));
	assert_true(cap >= 0);
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_protocol = htons(0x0800),
				  .sll_ifindex = (int)if_nametoindex("vm1")};
	assert_int_equal(bind(cap, (struct sockaddr *)&sll, sizeof(sll)), 0);
	int big = 4 << 20;
	(void)setsockopt(cap, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	/* the remote host: frames into the uplink from its peer */
	int tx = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	assert_true(tx >= 0);
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex("pe0"), .sll_halen = 6};
	struct hnv_mac up_mac;
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "up0");
	assert_int_equal(ioctl(tx, SIOCGIFHWADDR, &ifr), 0);
	memcpy(up_mac.b, ifr.ifr_hwaddr.sa_data, 6);

	struct thread_rx before = {.total = 0}, after = {.total = 0};
	hnv_fwd_stats(f, stat_cb, &before);
	unsigned want[2] = {0}, flow_thread[FLOWS];
	uint8_t frame[256];
	for (unsigned seq = 0; seq < PER_FLOW; seq++) {
		for (unsigned flow = 0; flow < FLOWS; flow++) {
			size_t n = fwd_frame(frame, &up_mac, flow, seq);
			unsigned t = hnv_steer_pick(hnv_steer_hash(frame + 14, n - 14), 2);
			if (seq == 0)
				flow_thread[flow] = t;
			assert_int_equal(t, flow_thread[flow]);
			want[t]++;
			assert_int_equal(
				sendto(tx, frame, n, 0, (struct sockaddr *)&to, sizeof(to)),
				(ssize_t)n);
		}
		usleep(2000); /* pacing: the veth and socket queues never overflow */
	}
	assert_true(want[0] > 0 && want[1] > 0);

	/* every frame reaches the VM, each flow in order */
	int last[FLOWS];
	for (unsigned i = 0; i < FLOWS; i++)
		last[i] = -1;
	unsigned got = 0;
	while (got < FLOWS * PER_FLOW) {
		struct pollfd pfd = {.fd = cap, .events = POLLIN};
		if (poll(&pfd, 1, 5000) <= 0)
			break;
		uint8_t b[2048];
		ssize_t r = recv(cap, b, sizeof(b), 0);
		if (r < 14 + 20 + 8 || b[14 + 9] != 17 || pg_get16(b + 14 + 20 + 2) != 9000)
			continue;
		unsigned flow = pg_get16(b + 14 + 20) - 20000u, seq = pg_get16(b + 14 + 4);
		assert_true(flow < FLOWS);
		if ((int)seq <= last[flow])
			fail_msg("%s: flow %u: seq %u after %d", backend, flow, seq, last[flow]);
		last[flow] = (int)seq;
		got++;
	}
	if (got != FLOWS * PER_FLOW)
		fail_msg("%s: the VM received %u of %u frames", backend, got, FLOWS * PER_FLOW);

	/* each thread received exactly the frames of its flows */
	hnv_fwd_stats(f, stat_cb, &after);
	for (unsigned k = 0; k < 2; k++)
		if (after.uplink[k] - before.uplink[k] != want[k])
			fail_msg("%s: thread %u received %llu NVGRE packets, its flows had %u",
				 backend, k,
				 (unsigned long long)(after.uplink[k] - before.uplink[k]), want[k]);
	assert_int_equal(after.total - before.total, FLOWS * PER_FLOW);
	close(cap);
	close(tx);
	hnv_fwd_free(f);
	urcu_qsbr_thread_offline();
	hnv_dp_free(dp);
	urcu_qsbr_thread_online();
}

static void test_forward_two_threads(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test_forward_two_threads: needs root (a network namespace)\n");
		skip();
	}
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	sh("ip link set lo up && sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
	   "net.ipv6.conf.default.disable_ipv6=1 && "
	   "ip link add up0 type veth peer name pe0 && "
	   "ip addr add 192.168.4.11/24 dev up0 && ip link set up0 up && ip link set pe0 up");
	urcu_qsbr_register_thread();
	fwd_two_threads("raw");
	fwd_two_threads("packet");
	urcu_qsbr_unregister_thread();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_limits),       cmocka_unit_test(test_filter_is_hash),
		cmocka_unit_test(test_flows_keep_thread),   cmocka_unit_test(test_fanout_kernel),
		cmocka_unit_test(test_forward_two_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
