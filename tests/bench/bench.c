/* bench: the forwarding core without I/O, one thread.
 *
 * Policy: 1000 routing domains x 4 VSIDs, 1,000,000 lookup records (250 per
 * VSID, 1000 remote PAs), 100,000 customer routes (100 per routing domain:
 * the 4 on-link subnets and 96 random prefixes via next hops), one local VM
 * port per routing domain. Frames are 64-byte inner frames with random
 * destinations, copied into the packet buffer before each pass (as an I/O
 * backend would) and processed in batches of 256.
 *
 * Prints Mpps and ns per packet for NVGRE receive, VM transmit (bridged,
 * encap) and cross-VSID routing (route, encap), plus bytes per record and
 * the time to load the records. Numbers only; nothing is asserted here.
 *
 * Then the same policy and the same three kinds of frame through the kernel
 * fast path's tc programs (datapath/bpf), run by BPF_PROG_TEST_RUN with
 * repeat: the maps are filled by the policy mirror, the uplink and every
 * port get a veth in a network namespace of the bench's own. Prints the
 * time to fill the maps and ns per packet of each program (the kernel's
 * time of one program run, averaged over 1000 frames x 20 runs: the frames
 * in turn, and, "in a row", each frame's 20 runs one after the other, as
 * a repeat would run it, with its map entries in the caches). Needs root;
 * without it, or where eBPF cannot load, says why and skips the section.
 */
#define _LGPL_SOURCE
#define BENCH_NAME "bench"
#include "../../datapath/bpf/fp.h"
#include "../../datapath/dp.h"
#include "../../datapath/proto.h"
#include "benchutil.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-qsbr.h>

/* routing domains: 1000 for the goal's policy; a 4-domain run shows the
 * same paths with every table cache-resident */
static unsigned N_RD = 1000;
#define VS_PER_RD 4
#define REC_PER_VS 250
#define N_REMOTE 1000
#define ROUTES_PER_RD 100
#define N_TEMPLATES 65536
#define FRAME_MAX 128

static void ip4(struct hnv_ip *a, uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
	uint8_t b[4] = {x, y, z, w};
	hnv_ip_from_v4(a, b);
}

static uint32_t vsid_of(unsigned rd, unsigned k)
{
	return 5000 + rd * VS_PER_RD + k;
}

/* CA of record i of a VSID: 10.k.(i/200).(i%200+2) */
static void ca_of(struct hnv_ip *a, unsigned k, unsigned i)
{
	ip4(a, 10, (uint8_t)k, (uint8_t)(i / 200), (uint8_t)(i % 200 + 2));
}

static void mac_of(struct hnv_mac *m, unsigned rd, unsigned k, unsigned i)
{
	uint32_t v = (rd * VS_PER_RD + k) * REC_PER_VS + i;
	m->b[0] = 0x06;
	m->b[1] = 0x00;
	m->b[2] = (uint8_t)(v >> 24);
	m->b[3] = (uint8_t)(v >> 16);
	m->b[4] = (uint8_t)(v >> 8);
	m->b[5] = (uint8_t)v;
}

static void pa_of(struct hnv_ip *a, unsigned h)
{
	ip4(a, 172, 16, (uint8_t)(h / 250), (uint8_t)(h % 250 + 2));
}

static struct hnv_ip local_pa;

static unsigned remote_of(unsigned rd, unsigned k, unsigned i)
{
	return (rd * 7919 + k * 104729 + i * 31) % N_REMOTE;
}

static void load(struct hnv_dp *dp, double *load_s)
{
	struct hnv_policy *p = hnv_dp_policy(dp);
	struct hnv_prefix pa = {.len = 24};
	ip4(&local_pa, 172, 31, 0, 1);
	pa.addr = local_pa;
	int rc = hnv_policy_pa_add(p, &pa);
	if (rc)
		die("pa add", rc);
	struct hnv_mac um = {{2, 0, 0, 0, 0, 1}};
	hnv_dp_set_uplink(dp, &um, 1500);
	for (unsigned h = 0; h < N_REMOTE; h++) {
		struct hnv_ip a;
		struct hnv_mac m = {{2, 0, 0, 0, (uint8_t)(h >> 8), (uint8_t)h}};
		pa_of(&a, h);
		if ((rc = hnv_dp_neigh_set(dp, &a, &m)))
			die("neigh", rc);
	}
	for (unsigned rd = 0; rd < N_RD; rd++) {
		char name[32];
		struct hnv_guid g = {{0}};
		g.b[0] = (uint8_t)(rd >> 8);
		g.b[1] = (uint8_t)rd;
		snprintf(name, sizeof(name), "rd%u", rd);
		if ((rc = hnv_policy_rdomain_add(p, name, &g)))
			die("rdomain add", rc);
		for (unsigned k = 0; k < VS_PER_RD; k++) {
			struct hnv_vsubnet_spec vs = {.vsid = vsid_of(rd, k), .n_prefixes = 1};
			strcpy(vs.rdomain, name);
			ip4(&vs.prefixes[0].addr, 10, (uint8_t)k, 0, 0);
			vs.prefixes[0].len = 16;
			if ((rc = hnv_policy_vsubnet_add(p, &vs)))
				die("vsubnet add", rc);
			struct hnv_route_spec r = {
				.vsid = vs.vsid, .prefix = vs.prefixes[0], .metric = 255};
			strcpy(r.rdomain, name);
			ip4(&r.nexthop, 0, 0, 0, 0);
			if ((rc = hnv_policy_route_add(p, &r)))
				die("route add", rc);
		}
		/* 96 more: random prefixes outside 10/8 via a record of VSID 1 */
		for (unsigned i = 0; i < ROUTES_PER_RD - VS_PER_RD; i++) {
			struct hnv_route_spec r = {.vsid = vsid_of(rd, 1),
						   .metric = 10 + rnd() % 200};
			strcpy(r.rdomain, name);
			unsigned len = 16 + rnd() % 13;
			uint32_t a = (100u + rnd() % 100) << 24 | (rnd() & 0xffffff);
			a &= ~0u << (32 - len);
			ip4(&r.prefix.addr, (uint8_t)(a >> 24), (uint8_t)(a >> 16),
			    (uint8_t)(a >> 8), (uint8_t)a);
			r.prefix.len = (uint8_t)len;
			ca_of(&r.nexthop, 1, rnd() % REC_PER_VS);
			rc = hnv_policy_route_add(p, &r);
			if (rc == -EEXIST) {
				i--;
				continue;
			}
			if (rc)
				die("route add", rc);
		}
	}
	double t0 = now();
	for (unsigned rd = 0; rd < N_RD; rd++)
		for (unsigned k = 0; k < VS_PER_RD; k++)
			for (unsigned i = 0; i < REC_PER_VS; i++) {
				struct hnv_lookup_spec s = {.vsid = vsid_of(rd, k),
							    .rule = HNV_RULE_ENCAP,
							    .type = HNV_TYPE_STATIC};
				ca_of(&s.ca, k, i);
				mac_of(&s.mac, rd, k, i);
				if (k == 0 && i == 0)
					s.pa = local_pa;
				else
					pa_of(&s.pa, remote_of(rd, k, i));
				if ((rc = hnv_policy_lookup_add(p, &s)))
					die("lookup add", rc);
			}
	*load_s = now() - t0;
	if ((rc = hnv_policy_commit(p)))
		die("commit", rc);
	for (unsigned rd = 0; rd < N_RD; rd++) {
		struct hnv_port_spec ps = {.vsid = vsid_of(rd, 0), .n_cas = 1};
		snprintf(ps.name, sizeof(ps.name), "vm%u", rd);
		mac_of(&ps.mac, rd, 0, 0);
		ca_of(&ps.cas[0], 0, 0);
		if ((rc = hnv_policy_port_add(p, &ps)) < 0)
			die("port add", rc);
	}
}

struct tmpl {
	uint16_t port;
	uint16_t len;
	uint8_t frame[FRAME_MAX];
};

/* A 64-byte inner frame: Ethernet + IPv4 + UDP + payload. */
static size_t inner_frame(uint8_t *f, const struct hnv_mac *dst, const struct hnv_mac *src,
			  const struct hnv_ip *sip, const struct hnv_ip *dip)
{
	hnv_eth_write(f, dst, src, HNV_ET_IPV4);
	hnv_ipv4_write(f + 14, sip, dip, 17, 0, 30, 64, true, 1);
	uint8_t *u = f + 34;
	wr16(u, (uint16_t)(1024 + rnd() % 30000));
	wr16(u + 2, 5001);
	wr16(u + 4, 30);
	wr16(u + 6, 0);
	memset(u + 8, 0xab, 22);
	return 64;
}

static void make_rx(struct tmpl *t)
{
	unsigned rd = rnd() % N_RD, i = 1 + rnd() % (REC_PER_VS - 1);
	struct hnv_mac smac, dmac, om = {{2, 0, 0, 0, 0, 9}}, um = {{2, 0, 0, 0, 0, 1}};
	struct hnv_ip sca, dca, spa;
	mac_of(&smac, rd, 0, i);
	mac_of(&dmac, rd, 0, 0);
	ca_of(&sca, 0, i);
	ca_of(&dca, 0, 0);
	pa_of(&spa, remote_of(rd, 0, i));
	uint8_t *f = t->frame;
	hnv_eth_write(f, &um, &om, HNV_ET_IPV4);
	hnv_ipv4_write(f + 14, &spa, &local_pa, 47, 0, 8 + 64, 64, true, 7);
	hnv_nvgre_write(f + 34, vsid_of(rd, 0), (uint8_t)rnd());
	inner_frame(f + 42, &dmac, &smac, &sca, &dca);
	t->len = 42 + 64;
	t->port = HNV_PORT_UPLINK;
}

static void make_tx(struct tmpl *t, struct hnv_dp *dp, bool routed)
{
	unsigned rd = rnd() % N_RD, i = 1 + rnd() % (REC_PER_VS - 1);
	unsigned k = routed ? 1 + rnd() % (VS_PER_RD - 1) : 0;
	struct hnv_mac smac, dmac;
	struct hnv_ip sca, dca;
	mac_of(&smac, rd, 0, 0);
	ca_of(&sca, 0, 0);
	if (routed)
		dmac = *hnv_dp_gateway_mac(dp);
	else
		mac_of(&dmac, rd, k, i);
	ca_of(&dca, k, i);
	t->len = (uint16_t)inner_frame(t->frame, &dmac, &smac, &sca, &dca);
	t->port = (uint16_t)(rd + 1); /* ports were added in order: id rd + 1 */
}

static void run(const char *name, struct hnv_dp_worker *w, struct hnv_pkt *pkts,
		const struct tmpl *tm, enum hnv_reason expect, double seconds)
{
	struct hnv_pkt *batch[HNV_BATCH_MAX];
	uint64_t n = 0, good = 0;
	double t0 = now(), t1;
	unsigned next = 0;
	do {
		for (int rep = 0; rep < 64; rep++) {
			for (unsigned k = 0; k < HNV_BATCH_MAX; k++) {
				const struct tmpl *t = &tm[next++ & (N_TEMPLATES - 1)];
				struct hnv_pkt *p = &pkts[k];
				p->data = p->buf + HNV_PKT_HEADROOM;
				memcpy(p->data, t->frame, t->len);
				p->len = t->len;
				p->in_port = t->port;
				p->flags = 0;
				p->trace = NULL;
				batch[k] = p;
			}
			hnv_dp_process(w, batch, HNV_BATCH_MAX);
			for (unsigned k = 0; k < HNV_BATCH_MAX; k++)
				good += batch[k]->reason == expect;
			n += HNV_BATCH_MAX;
			hnv_dp_worker_quiescent(w);
		}
		t1 = now();
	} while (t1 - t0 < seconds);
	double pps = (double)n / (t1 - t0);
	printf("%-34s %7.2f Mpps/core  %6.1f ns/pkt  (%s: %.1f%% of %llu)\n", name, pps / 1e6,
	       1e9 / pps, hnv_reason_name(expect), 100.0 * (double)good / (double)n,
	       (unsigned long long)n);
}

/* The time a test run of a near-empty path takes (timer, context): what
 * every figure below includes besides the program's own work. */
static double base_ns = -1;

/* One pass of fp_run: each of the first n templates run runs times, the
 * templates in turn (in_a_row false: every lookup meets a cold cache
 * line) or each template runs times in a row (what BPF_PROG_TEST_RUN's
 * repeat would measure: the caches hold the frame's entries after its
 * first run). One BPF_PROG_TEST_RUN each: a repeat inside one call would
 * run the program again on the frame it already changed. Returns the
 * mean test run time, *in_prog the program's own (run-time statistics;
 * -1 without them), and counts in *bad the verdicts that were not
 * expect. -1 when a test run failed. */
static double fp_pass(struct hnv_fp *fp, enum hnv_fp_prog prog, const int *ifindex_of_port,
		      const struct tmpl *tm, unsigned n, unsigned runs, bool in_a_row,
		      enum hnv_reason expect, double *in_prog, unsigned *bad)
{
	static uint8_t out[HNV_PKT_BUFSIZE];
	double sum = 0;
	unsigned ran = 0;
	uint64_t ns0 = 0, n0 = 0, ns1 = 0, n1 = 0;
	hnv_fp_prog_stats(fp, prog, &ns0, &n0);
	for (unsigned k = 0; k < n * runs; k++) {
		unsigned i = in_a_row ? k / runs : k % n;
		struct fp_verdict v;
		size_t outlen;
		double ns;
		int rc = hnv_fp_test_run(fp, prog, ifindex_of_port[tm[i].port], tm[i].frame,
					 tm[i].len, out, sizeof(out), &outlen, &v, 1, &ns);
		if (rc) {
			fprintf(stderr, "bench: BPF_PROG_TEST_RUN: %s\n", strerror(-rc));
			return -1;
		}
		if (v.reason != expect && expect != HNV_R__COUNT && (*bad)++ == 0)
			printf("  (first unexpected verdict: action %u, %s)\n", v.action,
			       v.reason < HNV_R__COUNT ? hnv_reason_name((enum hnv_reason)v.reason)
						       : "no reason");
		sum += ns;
		ran++;
	}
	hnv_fp_prog_stats(fp, prog, &ns1, &n1);
	*in_prog = n1 > n0 ? (double)(ns1 - ns0) / (double)(n1 - n0) : -1;
	return sum / ran;
}

/* ns per packet of prog over the first n templates run runs times: in
 * turn, then each in a row (fp_pass); the first call measures the floor. */
static void fp_run(const char *name, struct hnv_fp *fp, enum hnv_fp_prog prog,
		   const int *ifindex_of_port, const struct tmpl *tm, unsigned n, unsigned runs,
		   enum hnv_reason expect)
{
	unsigned bad = 0;
	double in_prog, hot_prog;
	double mean = fp_pass(fp, prog, ifindex_of_port, tm, n, runs, false, expect, &in_prog, &bad);
	if (mean < 0 || fp_pass(fp, prog, ifindex_of_port, tm, n, runs, true, expect, &hot_prog,
				&bad) < 0)
		return;
	if (base_ns < 0) { /* the first call measures the floor */
		base_ns = mean;
		printf("%-36s %7.1f ns in the program (%.1f in a row); test run %7.1f ns "
		       "(the floor)\n",
		       name, in_prog, hot_prog, mean);
		return;
	}
	printf("%-36s %7.1f ns in the program (%.1f in a row); test run %7.1f ns, %7.1f above "
	       "the floor  (%u frames x %u runs, twice; %u of them not %s)\n",
	       name, in_prog, hot_prog, mean, mean - base_ns, n, runs, bad,
	       hnv_reason_name(expect));
}

/* ns per packet of prog as the kernel runs it on frames arriving at a
 * device: the first n templates, each sent into the peer of the device the
 * program watches (peer_of_port: ifindex by template port), in turn, runs
 * times over, BURST frames per sendmmsg, so the kernel runs the program
 * BURST times in one system call, as it does for a NAPI poll's frames.
 * Unlike a test run per frame, the programs then meet the caches and TLB
 * as forwarding leaves them, not as a system call's entry and exit leave
 * them. Counts in *bad the frames the fast path did not count as expect. */
#define BURST 256
static void fp_burst(const char *name, struct hnv_fp *fp, enum hnv_fp_prog prog,
		     const int *peer_of_port, const struct tmpl *tm, unsigned n, unsigned runs,
		     enum hnv_reason expect)
{
	int s = socket(AF_PACKET, SOCK_RAW, 0);
	int one = 1;
	if (s < 0 || setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one))) {
		printf("%-36s skipped (AF_PACKET: %s)\n", name, strerror(errno));
		if (s >= 0)
			close(s);
		return;
	}
	static struct sockaddr_ll to[BURST];
	static struct iovec iov[BURST];
	static struct mmsghdr msg[BURST];
	static uint64_t c0[HNV_R__COUNT], c1[HNV_R__COUNT];
	memset(c0, 0, sizeof(c0));
	memset(c1, 0, sizeof(c1));
	uint64_t ns0 = 0, r0 = 0, ns1 = 0, r1 = 0;
	hnv_fp_counters(fp, c0);
	hnv_fp_prog_stats(fp, prog, &ns0, &r0);
	unsigned total = n * runs, sent = 0;
	while (sent < total) {
		unsigned b = total - sent < BURST ? total - sent : BURST;
		for (unsigned k = 0; k < b; k++) {
			const struct tmpl *t = &tm[(sent + k) % n];
			to[k] = (struct sockaddr_ll){.sll_family = AF_PACKET,
						     .sll_ifindex = peer_of_port[t->port],
						     .sll_halen = 6};
			memcpy(to[k].sll_addr, t->frame, 6);
			iov[k] = (struct iovec){.iov_base = (void *)t->frame, .iov_len = t->len};
			msg[k].msg_hdr = (struct msghdr){.msg_name = &to[k],
							 .msg_namelen = sizeof(to[k]),
							 .msg_iov = &iov[k],
							 .msg_iovlen = 1};
		}
		int rc = sendmmsg(s, msg, b, 0);
		if (rc <= 0) {
			printf("%-36s failed (sendmmsg: %s)\n", name, strerror(errno));
			close(s);
			return;
		}
		sent += (unsigned)rc;
	}
	close(s);
	hnv_fp_prog_stats(fp, prog, &ns1, &r1);
	hnv_fp_counters(fp, c1);
	uint64_t good = c1[expect] - c0[expect];
	if (r1 <= r0) {
		printf("%-36s no run-time statistics\n", name);
		return;
	}
	printf("%-36s %7.1f ns in the program  (%llu frames, %u per system call; %llu runs; "
	       "%llu not %s)\n",
	       name, (double)(ns1 - ns0) / (double)(r1 - r0), (unsigned long long)sent, BURST,
	       (unsigned long long)(r1 - r0), (unsigned long long)(sent - good),
	       hnv_reason_name(expect));
}

/* The end of the bench's child: what it printed goes out first. */
static void fp_exit(int rc)
{
	fflush(stdout);
	_exit(rc);
}

/* The fast path over dp's policy (see the head of this file). */
static void bench_fp(struct hnv_dp *dp, const struct tmpl *rx, const struct tmpl *tx,
		     const struct tmpl *rt)
{
	char err[512];
	if (geteuid() != 0) {
		printf("fast path: skipped (needs root)\n");
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork", -1);
	if (pid > 0) { /* the namespace and devices go with the child */
		int st;
		waitpid(pid, &st, 0);
		return;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		printf("fast path: skipped (unshare: %s)\n", strerror(errno));
		fp_exit(0);
	}
	/* the peers are up for fp_burst's frames: without IPv6, so that the
	 * kernel sends nothing of its own through the programs */
	FILE *sys = fopen("/proc/sys/net/ipv6/conf/default/disable_ipv6", "w");
	if (sys) {
		fputs("1\n", sys);
		fclose(sys);
	}
	FILE *ip = popen("ip -batch -", "w");
	if (!ip)
		die("ip -batch", -1);
	fprintf(ip, "link add fpup0 type veth peer name fpup1\nlink set fpup0 up\n"
		    "link set fpup1 up\n");
	for (unsigned rd = 0; rd < N_RD; rd++)
		fprintf(ip,
			"link add fpv%u type veth peer name fpw%u\nlink set fpv%u up\n"
			"link set fpw%u up\n",
			rd, rd, rd, rd);
	if (pclose(ip) != 0)
		die("creating the veth devices", -1);
	struct hnv_fp *fp;
	if (hnv_fp_open(&fp, err, sizeof(err))) {
		printf("fast path: skipped (%s)\n", err);
		fp_exit(0);
	}
	double t0 = now();
	if (hnv_fp_bind(fp, dp, err, sizeof(err)) ||
	    hnv_fp_attach_uplink(fp, "fpup0", err, sizeof(err))) {
		printf("fast path: %s\n", err);
		fp_exit(1);
	}
	double fill = now() - t0;
	static int ifx[HNV_PORTS_MAX], peer[HNV_PORTS_MAX];
	ifx[HNV_PORT_UPLINK] = (int)if_nametoindex("fpup0");
	peer[HNV_PORT_UPLINK] = (int)if_nametoindex("fpup1");
	for (unsigned rd = 0; rd < N_RD; rd++) {
		char dev[IF_NAMESIZE];
		snprintf(dev, sizeof(dev), "fpw%u", rd);
		peer[rd + 1] = (int)if_nametoindex(dev);
		snprintf(dev, sizeof(dev), "fpv%u", rd);
		ifx[rd + 1] = (int)if_nametoindex(dev);
		if (hnv_fp_attach_port(fp, rd + 1, dev, HNV_FP_PORT_DEV, err, sizeof(err))) {
			printf("fast path: %s\n", err);
			fp_exit(1);
		}
	}
	int st = hnv_fp_stats_enable(fp, true);
	printf("fast path: maps filled from the policy in %.2f s; tc programs, "
	       "BPF_PROG_TEST_RUN%s:\n",
	       fill, st ? " (no run-time statistics: the kernel refused BPF_ENABLE_STATS)" : "");
	static struct tmpl pass[1000];
	for (unsigned i = 0; i < 1000; i++) {
		pass[i] = rx[i];
		wr16(pass[i].frame + 12, 0x88b5); /* IEEE local experimental: not HNV */
	}
	base_ns = -1;
	fp_run("  not HNV (left to the host)", fp, HNV_FP_PROG_UPLINK, ifx, pass, 1000, 20,
	       HNV_R__COUNT);
	fp_run("  NVGRE receive (decap,policy,deliver)", fp, HNV_FP_PROG_UPLINK, ifx, rx, 1000, 20,
	       HNV_R_rx_decap_delivered);
	fp_run("  VM transmit (policy,encap)", fp, HNV_FP_PROG_PORT, ifx, tx, 1000, 20,
	       HNV_R_tx_encap);
	fp_run("  cross-VSID routing (route,encap)", fp, HNV_FP_PROG_PORT, ifx, rt, 1000, 20,
	       HNV_R_tx_routed_encap);
	printf("fast path: the same frames sent through the devices (the uplink's and the "
	       "ports' veth peers):\n");
	fp_burst("  NVGRE receive (decap,policy,deliver)", fp, HNV_FP_PROG_UPLINK, peer, rx, 1000,
		 20, HNV_R_rx_decap_delivered);
	fp_burst("  VM transmit (policy,encap)", fp, HNV_FP_PROG_PORT, peer, tx, 1000, 20,
		 HNV_R_tx_encap);
	fp_burst("  cross-VSID routing (route,encap)", fp, HNV_FP_PROG_PORT, peer, rt, 1000, 20,
		 HNV_R_tx_routed_encap);
	hnv_fp_free(fp);
	fp_exit(0);
}

static void bench(unsigned n_rd, double seconds)
{
	N_RD = n_rd;
	struct hnv_dp *dp = hnv_dp_new();
	if (!dp)
		die("dp", -1);
	double load_s;
	double t0 = now();
	load(dp, &load_s);
	double total = now() - t0;
	struct hnv_policy_stats st;
	hnv_policy_stats(hnv_dp_policy(dp), &st);
	printf("\npolicy: %zu records, %zu routes, %zu vsubnets, %zu routing domains\n",
	       st.n_records, st.n_routes, st.n_vsubnets, st.n_rdomains);
	printf("load: %zu records in %.2f s (%.0f records/s); whole policy %.2f s\n", st.n_records,
	       load_s, (double)st.n_records / load_s, total);
	printf("memory: %.1f bytes per lookup record (pool + both indexes)\n",
	       (double)st.record_bytes / (double)st.n_records);

	struct tmpl *rx = calloc(N_TEMPLATES, sizeof(*rx));
	struct tmpl *tx = calloc(N_TEMPLATES, sizeof(*tx));
	struct tmpl *rt = calloc(N_TEMPLATES, sizeof(*rt));
	struct hnv_pkt *pkts = calloc(HNV_BATCH_MAX, sizeof(*pkts));
	struct hnv_dp_worker *w = hnv_dp_worker_new(dp);
	if (!rx || !tx || !rt || !pkts || !w)
		die("alloc", -1);
	for (unsigned i = 0; i < N_TEMPLATES; i++) {
		make_rx(&rx[i]);
		make_tx(&tx[i], dp, false);
		make_tx(&rt[i], dp, true);
	}
	run("NVGRE receive (decap,policy,deliver)", w, pkts, rx, HNV_R_rx_decap_delivered, seconds);
	run("VM transmit (policy,encap)", w, pkts, tx, HNV_R_tx_encap, seconds);
	run("cross-VSID routing (route,encap)", w, pkts, rt, HNV_R_tx_routed_encap, seconds);
	bench_fp(dp, rx, tx, rt);
	hnv_dp_worker_free(w);
	urcu_qsbr_thread_offline();
	hnv_dp_free(dp);
	urcu_qsbr_thread_online();
	free(rx);
	free(tx);
	free(rt);
	free(pkts);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3.0;
	urcu_qsbr_register_thread();
	printf("hnvgw forwarding core, one thread, batches of %d, 64-byte inner frames\n",
	       HNV_BATCH_MAX);
	bench(1000, seconds);
	bench(4, seconds);
	urcu_qsbr_unregister_thread();
	return 0;
}
