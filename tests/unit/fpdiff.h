/* fpdiff.h: differential testing of the two forwarding tiers. The same
 * frame goes through the C engine (hnv_dp_process) and through the fast
 * path's tc program (BPF_PROG_TEST_RUN, maps filled from the same policy by
 * the mirror), and the two must agree: same verdict, same egress, same
 * output bytes, same counter, and the same per-port I/O counts (the fast
 * path's fp_port_stats must move as hnvgwd's I/O layer, datapath/io/fwd.c,
 * counts the engine's frames: rx and rx_bytes on the ingress port, also
 * rx_dropped for a drop, tx and tx_bytes on the egress port). A frame the fast path punts is the C engine's
 * alone (that is what punting means); a frame it leaves to the host must be
 * one the C engine does not take either.
 *
 * Header-only, shared by tests/unit/test_fp_diff.c and
 * tests/fuzz/fuzz_fp_diff.c. Needs root (BPF, a network namespace): the
 * calling process moves into a new network namespace of its own, where the
 * uplink and every port get a veth device, so programs see real ifindexes.
 */
#ifndef HNV_FPDIFF_H
#define HNV_FPDIFF_H

#define _LGPL_SOURCE
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-qsbr.h>

#include "../../datapath/bpf/fp.h"
#include "../../datapath/dp.h"
#include "../../datapath/policy_read.h"
#include "../../mgmt/conf_apply.h"
#include "pktgen.h"

#define FPD_UPLINK_DEV "fpdup0"
#define FPD_UPLINK_MAC "00155d000011"
#define FPD_NEIGH_MAC "00155d000022"

struct fpd {
	struct hnv_dp *dp;
	struct hnv_dp_worker *w;
	struct hnv_fp *fp;
	int uplink_ifindex;
	int port_ifindex[HNV_PORTS_MAX]; /* by port id; 0: none */
	struct hnv_pkt pkt;
	uint8_t out[HNV_PKT_BUFSIZE];
	/* what the comparisons saw */
	unsigned same, punted, passed, skipped;
};

/* The outcome of one comparison. */
enum fpd_result {
	FPD_SAME,    /* both decided, and agree */
	FPD_PUNTED,  /* the fast path handed it to the slow path */
	FPD_PASSED,  /* neither tier takes it (not NVGRE for us) */
	FPD_SKIPPED, /* BPF_PROG_TEST_RUN cannot carry it (shorter than Ethernet) */
	FPD_DIFFERENT,
};

static inline int fpd_sh(const char *cmd)
{
	int rc = system(cmd);
	return rc == 0 ? 0 : -1;
}

/* Builds both tiers from conf: a new network namespace, a veth for the
 * uplink and one per port, the C engine with next hops for remote_pas
 * (NULL-terminated), the fast path bound to it. NULL with why on failure. */
static inline struct fpd *fpd_new(const char *conf, const char *const *remote_pas, char *why,
				  size_t whylen)
{
	if (unshare(CLONE_NEWNET) != 0) {
		snprintf(why, whylen, "unshare(CLONE_NEWNET): %s (needs root)", strerror(errno));
		return NULL;
	}
	/* no IPv6 autoconfiguration: the veths' own router solicitations
	 * would reach the programs and move the counters under comparison */
	if (fpd_sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
		   "net.ipv6.conf.default.disable_ipv6=1")) {
		snprintf(why, whylen, "cannot disable IPv6 in the test namespace");
		return NULL;
	}
	struct fpd *x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	x->dp = hnv_dp_new();
	struct hnv_conf_cmd *cmds;
	size_t n;
	if (!x->dp || hnv_conf_parse_text(conf, strlen(conf), &cmds, &n, why, whylen))
		goto fail;
	int rc = hnv_conf_apply(x->dp, cmds, n, why, whylen);
	free(cmds);
	if (rc)
		goto fail;
	struct hnv_mac um = pg_mac(FPD_UPLINK_MAC), nm = pg_mac(FPD_NEIGH_MAC);
	hnv_dp_set_uplink(x->dp, &um, 1500);
	for (const char *const *pa = remote_pas; pa && *pa; pa++) {
		struct hnv_ip ip = pg_ip(*pa);
		if (hnv_dp_neigh_set(x->dp, &ip, &nm))
			goto fail;
	}
	x->w = hnv_dp_worker_new(x->dp);
	if (!x->w || hnv_fp_open(&x->fp, why, whylen) || hnv_fp_bind(x->fp, x->dp, why, whylen))
		goto fail;
	if (fpd_sh("ip link add " FPD_UPLINK_DEV
		   " type veth peer name fpdup1 && ip link set " FPD_UPLINK_DEV
		   " up && ip link set fpdup1 up")) {
		snprintf(why, whylen, "cannot create the uplink veth");
		goto fail;
	}
	x->uplink_ifindex = (int)if_nametoindex(FPD_UPLINK_DEV);
	if (hnv_fp_attach_uplink(x->fp, FPD_UPLINK_DEV, why, whylen))
		goto fail;
	const struct hnv_policy *pol = hnv_dp_policy(x->dp);
	for (unsigned id = 1; id < HNV_PORTS_MAX; id++) {
		const struct hnv_port *pt = hnv_policy_port(pol, id);
		if (!pt)
			continue;
		char dev[IF_NAMESIZE], cmd[160];
		snprintf(dev, sizeof(dev), "fpdp%u", id);
		snprintf(cmd, sizeof(cmd),
			 "ip link add %s type veth peer name fpdq%u && ip link set %s up && "
			 "ip link set fpdq%u up",
			 dev, id, dev, id);
		if (fpd_sh(cmd)) {
			snprintf(why, whylen, "cannot create veth %s", dev);
			goto fail;
		}
		x->port_ifindex[id] = (int)if_nametoindex(dev);
		enum hnv_fp_port_kind kind = pt->gateway ? HNV_FP_PORT_GATEWAY : HNV_FP_PORT_DEV;
		if (hnv_fp_attach_port(x->fp, id, dev, kind, why, whylen))
			goto fail;
	}
	return x;
fail:
	if (!why[0])
		snprintf(why, whylen, "setup failed");
	hnv_fp_free(x->fp);
	hnv_dp_worker_free(x->w);
	hnv_dp_free(x->dp);
	free(x);
	return NULL;
}

static inline void fpd_free(struct fpd *x)
{
	if (!x)
		return;
	hnv_fp_free(x->fp);
	hnv_dp_worker_free(x->w);
	urcu_qsbr_thread_offline();
	hnv_dp_free(x->dp);
	urcu_qsbr_thread_online();
	free(x);
}

/* The egress of a fast-path redirect as a C engine port id; -1: none. */
static inline int fpd_port_of_ifindex(const struct fpd *x, uint32_t ifindex)
{
	if ((int)ifindex == x->uplink_ifindex)
		return HNV_PORT_UPLINK;
	for (unsigned id = 1; id < HNV_PORTS_MAX; id++)
		if (x->port_ifindex[id] && (uint32_t)x->port_ifindex[id] == ifindex)
			return (int)id;
	return -1;
}

/* What the tiers may legitimately differ in, blanked in both: the outer
 * destination MAC of an encapsulated frame (the kernel's neighbour table
 * fills it after the program) and the outer IPv4 ID with the header
 * checksum over it (the C engine counts IDs, the program writes 0; both
 * set DF). */
static inline void fpd_mask(uint8_t *f, size_t len, int out_port)
{
	if (out_port != HNV_PORT_UPLINK || len < 14)
		return;
	memset(f, 0, 6);
	if (len >= 26 && f[12] == 0x08 && f[13] == 0x00)
		f[18] = f[19] = f[24] = f[25] = 0;
}

/* True when the C engine's verdict is one the fast path may leave to the
 * host: frames that are not NVGRE for a local PA, and outer headers too
 * broken to be anybody's. */
static inline bool fpd_host_reason(uint16_t r)
{
	return r == HNV_R_drop_not_gre || r == HNV_R_drop_not_local_pa || r == HNV_R_drop_runt ||
	       r == HNV_R_drop_bad_ip || r == HNV_R_drop_bad_csum || r == HNV_R_drop_ip_fragment;
}

/* True for an untagged IPv4/IPv6 frame too short for its IP header: the
 * kernel's BPF_PROG_TEST_RUN refuses such frames (EINVAL), so they can only
 * be compared on a real device. */
static inline bool fpd_short_l3(const uint8_t *f, size_t len)
{
	uint16_t type = (uint16_t)(f[12] << 8 | f[13]);
	return (type == 0x0800 && len < 14 + 20) || (type == 0x86dd && len < 14 + 40);
}

/* The fast path's per-port counts of the uplink (slot 0) and every port. */
struct fpd_ports {
	struct fp_port_stats s[HNV_PORTS_MAX];
};

static inline int fpd_ports_read(const struct fpd *x, struct fpd_ports *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned id = 0; id < HNV_PORTS_MAX; id++) {
		if (id != HNV_PORT_UPLINK && !x->port_ifindex[id])
			continue;
		int rc = hnv_fp_port_stats(x->fp, id, &out->s[id]);
		if (rc)
			return rc;
	}
	return 0;
}

/* The per-port counts moved from a to b exactly as the engine's I/O
 * layer counts a frame of len bytes from in_port that it drops (drop),
 * sends out_len bytes out of out_port (>= 0), or never reads (punted or
 * left to the host: in_port -1). False with why otherwise. */
static inline bool fpd_ports_moved(const struct fpd *x, const struct fpd_ports *a,
				   const struct fpd_ports *b, int in_port, size_t len, bool drop,
				   int out_port, size_t out_len, char *why, size_t whylen)
{
	for (unsigned id = 0; id < HNV_PORTS_MAX; id++) {
		if (id != HNV_PORT_UPLINK && !x->port_ifindex[id])
			continue;
		const struct fp_port_stats *s0 = &a->s[id], *s1 = &b->s[id];
		bool in = in_port >= 0 && (unsigned)in_port == id;
		bool out = out_port >= 0 && (unsigned)out_port == id;
		const struct {
			const char *name;
			uint64_t got, want;
		} d[] = {
			{"rx_packets", s1->rx_packets - s0->rx_packets, in ? 1 : 0},
			{"rx_bytes", s1->rx_bytes - s0->rx_bytes, in ? len : 0},
			{"rx_dropped", s1->rx_dropped - s0->rx_dropped, in && drop ? 1 : 0},
			{"tx_packets", s1->tx_packets - s0->tx_packets, out ? 1 : 0},
			{"tx_bytes", s1->tx_bytes - s0->tx_bytes, out ? out_len : 0},
		};
		for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
			if (d[i].got != d[i].want) {
				snprintf(why, whylen,
					 "port %u's fast path %s moved by %llu, the engine's I/O "
					 "would count %llu",
					 id, d[i].name, (unsigned long long)d[i].got,
					 (unsigned long long)d[i].want);
				return false;
			}
	}
	return true;
}

/* Runs frame from in_port (HNV_PORT_UPLINK or a port id) through both
 * tiers; on FPD_DIFFERENT, why says how. */
static inline enum fpd_result fpd_compare(struct fpd *x, const uint8_t *frame, size_t len,
					  int in_port, char *why, size_t whylen)
{
	why[0] = 0;
	if (len < 14 || len > 9000) {
		x->skipped++;
		return FPD_SKIPPED;
	}
	int ifindex = in_port == HNV_PORT_UPLINK ? x->uplink_ifindex : x->port_ifindex[in_port];
	const struct hnv_port *pt =
		in_port == HNV_PORT_UPLINK
			? NULL
			: hnv_policy_port(hnv_dp_policy(x->dp), (unsigned)in_port);
	enum hnv_fp_prog prog = in_port == HNV_PORT_UPLINK ? HNV_FP_PROG_UPLINK
				: pt && pt->gateway        ? HNV_FP_PROG_GATEWAY
							   : HNV_FP_PROG_PORT;
	uint64_t before[HNV_R__COUNT] = {0}, after[HNV_R__COUNT] = {0};
	hnv_fp_counters(x->fp, before);
	uint64_t ev0[FP_C__COUNT - HNV_R__COUNT], ev1[FP_C__COUNT - HNV_R__COUNT];
	hnv_fp_events(x->fp, ev0);
	static struct fpd_ports pbefore, pafter; /* 40 KiB each: not on the stack */
	if (fpd_ports_read(x, &pbefore)) {
		snprintf(why, whylen, "cannot read fp_port_stats");
		return FPD_DIFFERENT;
	}
	struct fp_verdict v;
	size_t outlen = 0;
	int rc = hnv_fp_test_run(x->fp, prog, ifindex, frame, len, x->out, sizeof(x->out), &outlen,
				 &v, 1, NULL);
	if (rc == -EINVAL && fpd_short_l3(frame, len)) {
		x->skipped++; /* the kernel's test run refuses these; a device would not */
		return FPD_SKIPPED;
	}
	if (rc) {
		snprintf(why, whylen, "BPF_PROG_TEST_RUN failed: %s", strerror(-rc));
		return FPD_DIFFERENT;
	}
	hnv_fp_counters(x->fp, after);
	hnv_fp_events(x->fp, ev1);
	if (fpd_ports_read(x, &pafter)) {
		snprintf(why, whylen, "cannot read fp_port_stats");
		return FPD_DIFFERENT;
	}
	/* a punt or a pass: the fast path counts no port I/O (the engine
	 * counts a punt when it reads it); a punt it could not hand over
	 * (the ring is full: nobody reads it here) was received on the port
	 * and dropped, and counts so */
	bool lost = ev1[FP_C_PUNT_LOST - HNV_R__COUNT] != ev0[FP_C_PUNT_LOST - HNV_R__COUNT];
	if ((v.action == FP_ACT_PUNT || v.action == FP_ACT_PASS) &&
	    !fpd_ports_moved(x, &pbefore, &pafter, lost ? in_port : -1, len, lost, -1, 0, why,
			     whylen))
		return FPD_DIFFERENT;
	struct hnv_pkt *p = &x->pkt;
	if (hnv_pkt_load(p, frame, len, (uint16_t)in_port)) {
		x->skipped++;
		return FPD_SKIPPED;
	}
	p->trace = NULL;
	hnv_dp_process(x->w, &p, 1);
	const char *cname = hnv_reason_name(p->reason);
	switch (v.action) {
	case FP_ACT_PUNT:
		x->punted++;
		return FPD_PUNTED;
	case FP_ACT_PASS:
		if (prog == HNV_FP_PROG_GATEWAY) {
			x->punted++; /* to the TAP, where the C engine reads it */
			return FPD_PUNTED;
		}
		if (prog == HNV_FP_PROG_UPLINK && fpd_host_reason(p->reason)) {
			x->passed++;
			return FPD_PASSED;
		}
		snprintf(why, whylen, "fast path left it to the host, C engine: %s", cname);
		return FPD_DIFFERENT;
	case FP_ACT_DROP:
	case FP_ACT_REDIRECT:
		break;
	default:
		snprintf(why, whylen, "fast path action %u unknown", v.action);
		return FPD_DIFFERENT;
	}
	if (v.reason != p->reason) {
		snprintf(why, whylen, "fast path %s, C engine %s",
			 v.reason < HNV_R__COUNT ? hnv_reason_name((enum hnv_reason)v.reason)
						 : "none",
			 cname);
		return FPD_DIFFERENT;
	}
	for (unsigned r = 0; r < HNV_R__COUNT; r++) {
		uint64_t want = r == v.reason ? 1 : 0;
		if (after[r] - before[r] != want) {
			snprintf(why, whylen, "counter %s moved by %llu, want %llu",
				 hnv_reason_name((enum hnv_reason)r),
				 (unsigned long long)(after[r] - before[r]),
				 (unsigned long long)want);
			return FPD_DIFFERENT;
		}
	}
	if (v.action == FP_ACT_DROP) {
		if (!fpd_ports_moved(x, &pbefore, &pafter, in_port, len, true, -1, 0, why, whylen))
			return FPD_DIFFERENT;
		x->same++;
		return FPD_SAME;
	}
	int out_port = fpd_port_of_ifindex(x, v.out_ifindex);
	if (out_port != p->out_port) {
		snprintf(why, whylen, "%s: fast path to port %d (ifindex %u), C engine to port %u",
			 cname, out_port, v.out_ifindex, p->out_port);
		return FPD_DIFFERENT;
	}
	if (outlen != p->len) {
		snprintf(why, whylen, "%s: fast path wrote %zu bytes, C engine %u", cname, outlen,
			 p->len);
		return FPD_DIFFERENT;
	}
	if (!fpd_ports_moved(x, &pbefore, &pafter, in_port, len, false, p->out_port, p->len, why,
			     whylen))
		return FPD_DIFFERENT;
	fpd_mask(x->out, outlen, out_port);
	fpd_mask(p->data, p->len, out_port);
	for (size_t i = 0; i < outlen; i++)
		if (x->out[i] != p->data[i]) {
			snprintf(
				why, whylen,
				"%s: output differs at byte %zu: fast path 0x%02x, C engine 0x%02x",
				cname, i, x->out[i], p->data[i]);
			return FPD_DIFFERENT;
		}
	x->same++;
	return FPD_SAME;
}

#endif
