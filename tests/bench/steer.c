/* bench-steer: NVGRE receive from one remote host on 1 and on 2
 * forwarding threads (hnvgwd --fwd-threads, datapath/io/steer.h).
 *
 * What is measured: the userspace engine plus steering, in process, no
 * socket I/O (on a 2-core machine a packet generator and the kernel's
 * receive path would share the cores with the threads measured, and the
 * figure would be the generator's). Policy: one routing domain, 4 VSIDs,
 * 1000 remote VMs all behind ONE remote PA (one outer source and
 * destination address, as from one Hyper-V host), 4 local VM ports.
 * Frames: 65536 templates of 64-byte inner UDP frames, each from a random
 * remote VM and source port to the local VM of its VSID (so ~65k flows);
 * copied into the packet buffer before processing, as recvmmsg would,
 * and forwarded in batches of 64 (the forwarding thread's).
 *
 * Two models of the steering, with 2 threads (with 1 thread there is
 * nothing to steer, and no hash):
 *   - per-socket filters (the raw backend, and what the packet backend
 *     did before its fanout group): each thread's socket runs its own
 *     filter on every packet, so each thread walks every frame, computes
 *     hnv_steer_hash of it and processes those with hnv_steer_pick == t
 *     on its own worker: 2 hashes per frame;
 *   - fanout (the packet backend: one PACKET_FANOUT group, steer.h
 *     hnv_steer_fanout): the kernel runs the hash once per packet and
 *     hands it to one socket, so each thread walks only the frames the
 *     hash gives it and computes the hash once for each of them (that
 *     one run, charged to the thread that gets the frame): 1 hash per
 *     frame.
 * Not measured: the kernel's side (the copy of each packet to every raw
 * socket, the programs' runs in the kernel's BPF JIT rather than in C,
 * recvmmsg/sendmmsg and TAP writes).
 *
 * Prints, per run, Mpps delivered over all threads (every frame must be
 * delivered to a VM port: counted, and shown as a percentage) and the
 * ratios of 2 threads to 1 for both models; runs alternate 1, 2 filters,
 * 2 fanout, 1, ... so a change in the machine's load hits all. On a
 * machine others use too, the wall-clock
 * ratio follows their load; so each run also prints how much CPU each
 * thread got and the Mpps per own CPU (each thread's packets over its own
 * CPU time, summed over the threads): what the threads would do with a
 * CPU each, including what they cost each other (the hashes, shared
 * caches and memory). Numbers only;
 * nothing is asserted.
 */
#define _LGPL_SOURCE
#define BENCH_NAME "bench-steer"
#include "../../datapath/io/steer.h"
#include "../../datapath/dp.h"
#include "../../datapath/proto.h"
#include "benchutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-qsbr.h>

#define N_VS 4
#define REMOTE_PER_VS 250
#define N_TEMPLATES 65536
#define BATCH 64
#define FRAME_MAX 128

static void ip4(struct hnv_ip *a, uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
	uint8_t b[4] = {x, y, z, w};
	hnv_ip_from_v4(a, b);
}

static uint32_t vsid_of(unsigned k)
{
	return 5000 + k;
}

/* VM i of VSID k: 10.k.0.(i+2); i == 0 is the local VM */
static void ca_of(struct hnv_ip *a, unsigned k, unsigned i)
{
	ip4(a, 10, (uint8_t)k, (uint8_t)(i / 200), (uint8_t)(i % 200 + 2));
}

static void mac_of(struct hnv_mac *m, unsigned k, unsigned i)
{
	*m = (struct hnv_mac){{0x02, 0x15, (uint8_t)k, 0, (uint8_t)(i >> 8), (uint8_t)i}};
}

static struct hnv_ip local_pa, remote_pa;

static void load(struct hnv_dp *dp)
{
	struct hnv_policy *p = hnv_dp_policy(dp);
	ip4(&local_pa, 172, 31, 0, 1);
	ip4(&remote_pa, 172, 16, 0, 2);
	struct hnv_prefix pa = {.addr = local_pa, .len = 24};
	int rc = hnv_policy_pa_add(p, &pa);
	if (rc)
		die("pa add", rc);
	struct hnv_mac um = {{2, 0, 0, 0, 0, 1}}, nm = {{2, 0, 0, 0, 0, 2}};
	hnv_dp_set_uplink(dp, &um, 1500);
	if ((rc = hnv_dp_neigh_set(dp, &remote_pa, &nm)))
		die("neigh", rc);
	struct hnv_guid g = {{1}};
	if ((rc = hnv_policy_rdomain_add(p, "rd", &g)))
		die("rdomain add", rc);
	for (unsigned k = 0; k < N_VS; k++) {
		struct hnv_vsubnet_spec vs = {.vsid = vsid_of(k), .n_prefixes = 1};
		strcpy(vs.rdomain, "rd");
		ip4(&vs.prefixes[0].addr, 10, (uint8_t)k, 0, 0);
		vs.prefixes[0].len = 16;
		if ((rc = hnv_policy_vsubnet_add(p, &vs)))
			die("vsubnet add", rc);
		for (unsigned i = 0; i <= REMOTE_PER_VS; i++) {
			struct hnv_lookup_spec s = {.vsid = vsid_of(k),
						    .rule = HNV_RULE_ENCAP,
						    .type = HNV_TYPE_STATIC};
			ca_of(&s.ca, k, i);
			mac_of(&s.mac, k, i);
			s.pa = i == 0 ? local_pa : remote_pa;
			if ((rc = hnv_policy_lookup_add(p, &s)))
				die("lookup add", rc);
		}
	}
	if ((rc = hnv_policy_commit(p)))
		die("commit", rc);
	for (unsigned k = 0; k < N_VS; k++) {
		struct hnv_port_spec ps = {.vsid = vsid_of(k), .n_cas = 1};
		snprintf(ps.name, sizeof(ps.name), "vm%u", k);
		mac_of(&ps.mac, k, 0);
		ca_of(&ps.cas[0], k, 0);
		if ((rc = hnv_policy_port_add(p, &ps)) < 0)
			die("port add", rc);
	}
}

struct tmpl {
	uint16_t len;
	uint8_t frame[FRAME_MAX];
};

static void make_rx(struct tmpl *t)
{
	unsigned k = rnd() % N_VS, i = 1 + rnd() % REMOTE_PER_VS;
	struct hnv_mac smac, dmac, om = {{2, 0, 0, 0, 0, 2}}, um = {{2, 0, 0, 0, 0, 1}};
	struct hnv_ip sca, dca;
	mac_of(&smac, k, i);
	mac_of(&dmac, k, 0);
	ca_of(&sca, k, i);
	ca_of(&dca, k, 0);
	uint8_t *f = t->frame;
	hnv_eth_write(f, &um, &om, HNV_ET_IPV4);
	hnv_ipv4_write(f + 14, &remote_pa, &local_pa, 47, 0, 8 + 64, 64, true, 7);
	hnv_nvgre_write(f + 34, vsid_of(k), (uint8_t)rnd());
	uint8_t *in = f + 42;
	hnv_eth_write(in, &dmac, &smac, HNV_ET_IPV4);
	hnv_ipv4_write(in + 14, &sca, &dca, 17, 0, 30, 64, true, 1);
	uint8_t *u = in + 34;
	uint16_t sport = (uint16_t)(1024 + rnd() % 30000);
	u[0] = (uint8_t)(sport >> 8);
	u[1] = (uint8_t)sport;
	u[2] = 5001 >> 8;
	u[3] = 5001 & 0xff;
	u[4] = 0;
	u[5] = 30;
	u[6] = u[7] = 0;
	memset(u + 8, 0xab, 22);
	t->len = 42 + 64;
}

static struct hnv_dp *dp;
static struct tmpl *tm;
static atomic_bool go, stop;

enum model {
	M_FILTERS, /* a socket filter per thread: every thread hashes every frame */
	M_FANOUT,  /* one fanout program: each frame hashed once, by its thread */
};

/* fanout: the templates of thread t of 2 (mine[t][0..n_mine[t])) */
static unsigned *mine[2], n_mine[2];

/* one cache line each: the counters a thread adds to per batch are not
 * the other's */
struct thr {
	_Alignas(64) pthread_t t;
	unsigned idx, n;
	enum model model;
	uint64_t done, delivered;
	double cpu; /* seconds of CPU the thread got while measured */
};

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *thread_main(void *arg)
{
	struct thr *th = arg;
	struct hnv_pkt *pkts = calloc(BATCH, sizeof(*pkts));
	struct hnv_pkt *batch[BATCH];
	urcu_qsbr_register_thread();
	struct hnv_dp_worker *w = hnv_dp_worker_new(dp);
	if (!pkts || !w)
		die("alloc", -1);
	while (!atomic_load(&go))
		;
	double c0 = cpu_now();
	unsigned next = 0, nb = 0;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (unsigned rep = 0; rep < 4096; rep++) {
			const struct tmpl *t;
			if (th->n > 1 && th->model == M_FANOUT) {
				/* the kernel's one run of the program, for this frame */
				t = &tm[mine[th->idx][next++ % n_mine[th->idx]]];
				if (hnv_steer_pick(hnv_steer_hash(t->frame + 14, t->len - 14u),
						   th->n) != th->idx)
					die("fanout pick", -1);
			} else {
				t = &tm[next++ & (N_TEMPLATES - 1)];
				/* the socket filter of this thread (none with one thread) */
				if (th->n > 1 &&
				    hnv_steer_pick(hnv_steer_hash(t->frame + 14, t->len - 14u),
						   th->n) != th->idx)
					continue;
			}
			struct hnv_pkt *p = &pkts[nb];
			p->data = p->buf + HNV_PKT_HEADROOM;
			memcpy(p->data, t->frame, t->len);
			p->len = t->len;
			p->in_port = HNV_PORT_UPLINK;
			p->flags = HNV_PKT_F_L3_CSUM_OK;
			p->trace = NULL;
			batch[nb++] = p;
			if (nb < BATCH)
				continue;
			hnv_dp_process(w, batch, nb);
			for (unsigned k = 0; k < nb; k++)
				th->delivered += batch[k]->reason == HNV_R_rx_decap_delivered;
			th->done += nb;
			nb = 0;
			hnv_dp_worker_quiescent(w);
		}
	}
	th->cpu = cpu_now() - c0;
	hnv_dp_worker_free(w);
	urcu_qsbr_unregister_thread();
	free(pkts);
	return NULL;
}

/* Mpps delivered over all n threads in seconds; *cap: the Mpps had each
 * thread had a CPU of its own all the time (each thread's packets over its
 * own CPU time, summed): on a shared machine the wall figure measures the
 * other users' load as much as the threads. */
static double run(unsigned n, enum model model, double seconds, double *cap)
{
	struct thr th[2];
	atomic_store(&go, false);
	atomic_store(&stop, false);
	for (unsigned k = 0; k < n; k++) {
		th[k] = (struct thr){.idx = k, .n = n, .model = model};
		if (pthread_create(&th[k].t, NULL, thread_main, &th[k]))
			die("pthread_create", -1);
	}
	usleep(100000); /* all registered and spinning */
	double t0 = now();
	atomic_store(&go, true);
	usleep((useconds_t)(seconds * 1e6));
	atomic_store(&stop, true);
	uint64_t done = 0, delivered = 0;
	*cap = 0;
	for (unsigned k = 0; k < n; k++) {
		pthread_join(th[k].t, NULL);
		done += th[k].done;
		delivered += th[k].delivered;
		*cap += th[k].cpu > 0 ? (double)th[k].delivered / th[k].cpu / 1e6 : 0;
	}
	double dt = now() - t0, mpps = (double)delivered / dt / 1e6;
	printf("  %u thread%s%s: %6.2f Mpps  (", n, n > 1 ? "s" : " ",
	       n == 1              ? "         "
	       : model == M_FANOUT ? ", fanout "
				   : ", filters",
	       mpps);
	for (unsigned k = 0; k < n; k++)
		printf("%sthread %u %.2f", k ? ", " : "", k, (double)th[k].done / dt / 1e6);
	printf("; delivered %.1f%% of %llu)\n", 100.0 * (double)delivered / (double)done,
	       (unsigned long long)done);
	printf("             CPU time:");
	for (unsigned k = 0; k < n; k++)
		printf(" thread %u %.0f%% of the run,", k, 100.0 * th[k].cpu / dt);
	printf(" per own CPU %6.2f Mpps\n", *cap);
	return mpps;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3.0;
	urcu_qsbr_register_thread();
	dp = hnv_dp_new();
	if (!dp)
		die("dp", -1);
	load(dp);
	tm = calloc(N_TEMPLATES, sizeof(*tm));
	if (!tm)
		die("alloc", -1);
	for (unsigned i = 0; i < N_TEMPLATES; i++)
		make_rx(&tm[i]);
	double load[3] = {0};
	FILE *la = fopen("/proc/loadavg", "r");
	if (la) {
		if (fscanf(la, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
			load[0] = -1;
		fclose(la);
	}
	printf("\nbench-steer: NVGRE receive from one remote PA (%d VMs, 65536 templates of "
	       "~65k UDP flows), engine + steering in process, batches of %d, %.0f s a run; "
	       "%ld CPUs online, load average %.2f\n",
	       N_VS * REMOTE_PER_VS, BATCH, seconds, sysconf(_SC_NPROCESSORS_ONLN), load[0]);
	/* the fanout program's share: each thread's templates */
	for (unsigned t = 0; t < 2; t++)
		if (!(mine[t] = calloc(N_TEMPLATES, sizeof(unsigned))))
			die("alloc", -1);
	for (unsigned i = 0; i < N_TEMPLATES; i++) {
		unsigned t = hnv_steer_pick(hnv_steer_hash(tm[i].frame + 14, tm[i].len - 14u), 2);
		mine[t][n_mine[t]++] = i;
	}
	if (!n_mine[0] || !n_mine[1])
		die("templates on one thread", -1);
	unsigned on0 = n_mine[0];
	volatile uint32_t sink = 0;
	double h0 = cpu_now(); /* CPU time: the other users' load does not count */
	for (unsigned r = 0; r < 64; r++)
		for (unsigned i = 0; i < N_TEMPLATES; i++)
			sink += hnv_steer_hash(tm[i].frame + 14, tm[i].len - 14u);
	double hash_ns = (cpu_now() - h0) * 1e9 / (64.0 * N_TEMPLATES);
	printf("  steering hash: %.1f ns per frame (filters: each of n threads hashes every "
	       "frame; fanout: one hash per frame); frames on thread 0 of 2: %.1f%%\n",
	       hash_ns, 100.0 * on0 / N_TEMPLATES);
	double one = 0, filt = 0, fan = 0, cap1 = 0, cap_filt = 0, cap_fan = 0, c;
	urcu_qsbr_thread_offline(); /* the threads' grace periods never wait for us */
	for (int r = 0; r < 2; r++) {
		one += run(1, M_FILTERS, seconds, &c);
		cap1 += c;
		filt += run(2, M_FILTERS, seconds, &c);
		cap_filt += c;
		fan += run(2, M_FANOUT, seconds, &c);
		cap_fan += c;
	}
	printf("  mean: 1 thread %.2f Mpps; 2 threads: filters %.2f Mpps (%.2fx), fanout %.2f "
	       "Mpps (%.2fx) (wall clock)\n",
	       one / 2, filt / 2, one > 0 ? filt / one : 0, fan / 2, one > 0 ? fan / one : 0);
	printf("  per own CPU: 1 thread %.2f Mpps; 2 threads: filters %.2f Mpps, ratio %.2fx "
	       "(per-socket filters, each thread hashes every frame: raw backend); fanout %.2f "
	       "Mpps, ratio %.2fx (one hash per frame: packet backend's fanout group)\n",
	       cap1 / 2, cap_filt / 2, cap1 > 0 ? cap_filt / cap1 : 0, cap_fan / 2,
	       cap1 > 0 ? cap_fan / cap1 : 0);
	hnv_dp_free(dp);
	urcu_qsbr_thread_online();
	urcu_qsbr_unregister_thread();
	free(tm);
	free(mine[0]);
	free(mine[1]);
	return 0;
}
