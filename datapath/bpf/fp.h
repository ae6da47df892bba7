/* fp.h: the kernel fast path (tc eBPF), userspace side: loads the
 * programs of fp.bpf.c (libbpf skeleton), attaches them to devices, keeps
 * their maps (fp_maps.h) equal to a datapath's policy and settings by
 * deltas, sums their per-CPU counters and reads what they punt.
 *
 * Programs and where they attach (clsact, direct action):
 *   uplink ingress      NVGRE receive: checks, anti-spoofing, decapsulation,
 *                       delivery to the port's device; anything else that is
 *                       not NVGRE to a local PA is left to the host;
 *   port ingress        frames a VM sends on a device someone else created
 *                       (qemu/libvirt TAP, veth): source checks, bridging,
 *                       routing in the routing domain, encapsulation;
 *   gateway egress      frames the kernel routes out of a gateway port
 *                       (vsid<N>, a TAP hnvgwd holds, in the tenant's VRF):
 *                       as port ingress without source checks; what it does
 *                       not handle goes on to the TAP (TC_ACT_OK).
 * What the programs do not handle (ARP, ND, DHCP, broadcast, ICMP errors to
 * generate, anything unusual) is punted: copied into a perf buffer with
 * its ingress port and dropped in the kernel; hnvgwd runs it through the C
 * engine (hnv_fp_punt_read), which answers it as it always did.
 *
 * Threads: everything but hnv_fp_punt_read, hnv_fp_counters,
 * hnv_fp_events, hnv_fp_port_stats, hnv_fp_punt_stats and
 * hnv_fp_trace_take is the control thread's (the one that writes the
 * policy, registered with liburcu-qsbr).
 * hnv_fp_punt_read belongs to the one forwarding thread.
 * Errors: 0 or a negative errno, with a message in err where there is one.
 */
#ifndef HNV_FP_H
#define HNV_FP_H

#include "../dp.h"
#include "fp_maps.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hnv_fp;

/* Loads the programs and creates the maps (nothing attached yet). Fails
 * with a message saying why eBPF cannot be used here (no BPF syscall,
 * verifier rejection, missing BTF, not permitted). */
int hnv_fp_open(struct hnv_fp **out, char *err, size_t errlen);
/* Detaches every program it attached and frees the maps. NULL is fine. */
void hnv_fp_free(struct hnv_fp *fp);

/* Binds the fast path to dp: fills the maps from dp's current policy and
 * settings, then mirrors every later policy write and setting into them
 * (datapath/policy.h hnv_policy_set_mirror) and adds the fast path's
 * counters to hnv_dp_counters(dp). Once only; dp must outlive fp. The
 * policy must have no uncommitted route changes (-EBUSY). On a failure fp
 * is left unbound with its maps partly filled: free it. */
int hnv_fp_bind(struct hnv_fp *fp, struct hnv_dp *dp, char *err, size_t errlen);

/* The provider uplink: the receive program on its ingress, and the device
 * encapsulated frames are redirected to. */
int hnv_fp_attach_uplink(struct hnv_fp *fp, const char *ifname, char *err, size_t errlen);

/* How a port's device is served. */
enum hnv_fp_port_kind {
	HNV_FP_PORT_DEV,     /* a device someone else created: port ingress program,
				delivery by redirect to its egress */
	HNV_FP_PORT_TAP,     /* a TAP hnvgwd holds: frames to it are punted */
	HNV_FP_PORT_GATEWAY, /* a gateway port TAP in a VRF: egress program,
				delivery by redirect into its ingress */
};
/* Serves port_id (a port of the bound datapath) on device ifname. The
 * port's entry appears in the maps once both the policy has the port and
 * it is attached; it goes when either goes. */
int hnv_fp_attach_port(struct hnv_fp *fp, unsigned port_id, const char *ifname,
		       enum hnv_fp_port_kind kind, char *err, size_t errlen);
/* Stops serving port_id: its program is detached from the device and its
 * entries leave the maps. -ENOENT if it was not attached. */
int hnv_fp_detach_port(struct hnv_fp *fp, unsigned port_id);

/* The punt channel: a descriptor that polls readable when punted frames
 * wait, and the reader. hnv_fp_punt_read fills up to n packets (data, len,
 * in_port set as the I/O backends do) and returns how many, or a negative
 * errno; what is left waits for the next call. Trace events are kept for
 * hnv_fp_trace_take. A record is checked against the ring and its own
 * lengths before use; a malformed one is counted and skipped, a frame
 * larger than a struct hnv_pkt holds is counted and dropped. */
int hnv_fp_punt_fd(const struct hnv_fp *fp);
int hnv_fp_punt_read(struct hnv_fp *fp, struct hnv_pkt **pkts, unsigned n);
struct hnv_fp_punt_stats {
	uint64_t frames;    /* handed to the caller */
	uint64_t traces;    /* trace events kept */
	uint64_t lost;      /* records the kernel could not write (ring full) */
	uint64_t too_big;   /* frames that do not fit a struct hnv_pkt */
	uint64_t malformed; /* records whose lengths or kind did not check out */
};
void hnv_fp_punt_stats(const struct hnv_fp *fp, struct hnv_fp_punt_stats *out);

/* Tracing: on, every decision of the programs is also sent as an event
 * (fp_cfg.trace); hnv_fp_trace_take moves up to n of the latest events
 * (a ring of HNV_FP_TRACE_RING; older ones are overwritten), oldest first,
 * into out and returns how many. */
#define HNV_FP_TRACE_RING 256
struct hnv_fp_trace {
	uint16_t in_port; /* the C engine's port id; 0: the uplink */
	uint32_t ifindex; /* the device the packet was seen on */
	struct fp_verdict v;
};
int hnv_fp_trace_set(struct hnv_fp *fp, bool on);
unsigned hnv_fp_trace_take(struct hnv_fp *fp, struct hnv_fp_trace *out, unsigned n);

/* The fast path's counters, indexed by enum hnv_reason, added to out. */
void hnv_fp_counters(const struct hnv_fp *fp, uint64_t out[HNV_R__COUNT]);
/* Its own events (punted, lost, passed): FP_C_* - HNV_R__COUNT. */
void hnv_fp_events(const struct hnv_fp *fp, uint64_t out[FP_C__COUNT - HNV_R__COUNT]);
/* The I/O the fast path did on port id (HNV_PORT_UPLINK or a port id),
 * summed over the CPUs into out (zeroed first): what the port sent (rx;
 * rx_dropped: of those, dropped by the programs) and what was redirected
 * to it (tx), counted as the engine's I/O layer counts its own frames
 * (fp_maps.h struct fp_port_stats). Frames the programs punt are not in
 * it: the engine counts them when it reads them. A port's slot restarts
 * from 0 when the port enters the maps. 0, -EINVAL for an id out of
 * range, or a negative errno. */
int hnv_fp_port_stats(const struct hnv_fp *fp, unsigned id, struct fp_port_stats *out);

/* Runs frame (len bytes) through a program once with BPF_PROG_TEST_RUN, as
 * if it arrived on device ifindex: prog is 0 uplink ingress, 1 port
 * ingress, 2 gateway egress. out gets the frame as the program left it
 * (*outlen: its length; cap bytes at most) and v the decision. For the
 * differential tests and the cost benchmark (repeat > 1: the mean time per
 * run in *ns_per_run). A program that records no decision in fp_last
 * gets one from its return code: TC_ACT_OK pass, TC_ACT_SHOT drop (reason
 * HNV_R__COUNT), TC_ACT_REDIRECT redirect (out_ifindex 0); any other code
 * is -EPROTO. -ENOSPC when the frame it left is longer than cap. */
enum hnv_fp_prog {
	HNV_FP_PROG_UPLINK = 0,
	HNV_FP_PROG_PORT = 1,
	HNV_FP_PROG_GATEWAY = 2,
};
int hnv_fp_test_run(struct hnv_fp *fp, enum hnv_fp_prog prog, int ifindex, const void *frame,
		    size_t len, void *out, size_t cap, size_t *outlen, struct fp_verdict *v,
		    unsigned repeat, double *ns_per_run);

/* For tests and show: the descriptor of map name ("fp_recs", ...) or a
 * negative errno; map writes done since open (each update or delete of an
 * entry, successful or not, counts one). */
int hnv_fp_map_fd(const struct hnv_fp *fp, const char *map_name);
uint64_t hnv_fp_map_ops(const struct hnv_fp *fp);

/* Program run-time statistics (the kernel's, while hnv_fp_stats_enable is
 * on: every run of a program adds its time, measured around the program
 * alone): total ns and runs of prog so far. For the benchmarks: the cost
 * per packet in the programs, without the test run's or the stack's. */
int hnv_fp_stats_enable(struct hnv_fp *fp, bool on);
int hnv_fp_prog_stats(const struct hnv_fp *fp, enum hnv_fp_prog prog, uint64_t *run_ns,
		      uint64_t *runs);

#endif
