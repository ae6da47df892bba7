/* dp.h: the HNV forwarding engine.
 *
 * A struct hnv_dp is one datapath context: its policy tables, its settings
 * and its forwarding workers. There is no global state. The engine does no
 * I/O: an I/O backend hands it a batch of packets, each tagged with its
 * ingress port, and gets every packet back with an egress port or a drop
 * reason. Replies the engine generates (ARP, ND, ICMP errors) are written
 * into the packet's own buffer and sent back out of its ingress port.
 *
 * Threads: control functions (hnv_dp_set_*, the policy) are called from one
 * control thread. Each forwarding thread owns one struct hnv_dp_worker and
 * must be registered with liburcu-qsbr (rcu_register_thread); it calls
 * hnv_dp_worker_quiescent() between batches.
 */
#ifndef HNV_DP_H
#define HNV_DP_H

#include "../lib/hnv_types.h"
#include "policy.h"

/* Packet buffers: HNV_PKT_HEADROOM bytes before the frame leave room for
 * NVGRE encapsulation (62 bytes with an IPv6 outer header). */
#define HNV_PKT_HEADROOM 128
#define HNV_PKT_BUFSIZE (HNV_PKT_HEADROOM + 9216 + 64)
#define HNV_BATCH_MAX 256

#include "reasons.h"

const char *hnv_reason_name(enum hnv_reason r);
/* One sentence saying what the counter counts. */
const char *hnv_reason_text(enum hnv_reason r);
bool hnv_reason_is_drop(enum hnv_reason r);

/* One stage's decision, recorded when tracing is on. */
enum hnv_stage {
	HNV_ST_PARSE,
	HNV_ST_DECAP,
	HNV_ST_ANTISPOOF,
	HNV_ST_CLASSIFY,
	HNV_ST_ARP,
	HNV_ST_ND,
	HNV_ST_ROUTE,
	HNV_ST_LOOKUP,
	HNV_ST_MTU,
	HNV_ST_ENCAP,
	HNV_ST_DELIVER,
	HNV_ST_VERDICT, /* the final step of a dropped packet: the reason */
	HNV_ST__COUNT
};
const char *hnv_stage_name(enum hnv_stage s);

#define HNV_TRACE_STEPS 12
struct hnv_trace {
	unsigned n;
	struct {
		enum hnv_stage stage;
		char text[96]; /* the decision in words, with the values used */
	} step[HNV_TRACE_STEPS];
};

struct hnv_pkt {
	uint8_t *data;           /* first byte of the frame (Ethernet header) */
	uint32_t len;            /* bytes of frame at data */
	uint16_t in_port;        /* set by I/O: HNV_PORT_UPLINK or a port id */
	uint16_t out_port;       /* set by the engine when reason is not a drop */
	uint16_t reason;         /* enum hnv_reason */
	uint16_t flags;          /* HNV_PKT_F_* */
	uint32_t vsid;           /* after processing: the VSID of the frame (0 if none) */
	struct hnv_trace *trace; /* non-NULL: the engine records stages here */
	uint8_t buf[HNV_PKT_BUFSIZE];
};

/* The I/O layer verified the outer IPv4 header checksum (the kernel did). */
#define HNV_PKT_F_L3_CSUM_OK 0x1

/* Resets p to hold a copy of frame (len bytes), headroom reserved, no trace.
 * Returns 0, or -EMSGSIZE if it does not fit. */
int hnv_pkt_load(struct hnv_pkt *p, const void *frame, size_t len, uint16_t in_port);

struct hnv_dp;
struct hnv_dp_worker;

struct hnv_dp *hnv_dp_new(void);
void hnv_dp_free(struct hnv_dp *dp);
struct hnv_policy *hnv_dp_policy(struct hnv_dp *dp);

/* The virtual MAC of every default gateway. The default, 02:15:5d:00:00:01,
 * is locally administered so it cannot collide with a vendor MAC. */
void hnv_dp_set_gateway_mac(struct hnv_dp *dp, const struct hnv_mac *mac);
const struct hnv_mac *hnv_dp_gateway_mac(const struct hnv_dp *dp);
/* Uplink MAC and IP MTU (default 1500); encapsulated packets must fit the
 * MTU. A NULL mac or a zero mtu keeps the current value. */
void hnv_dp_set_uplink(struct hnv_dp *dp, const struct hnv_mac *mac, unsigned mtu);
/* FlowID: an 8-bit hash of the inner 5-tuple (on, the default) or 0. */
void hnv_dp_set_flowid(struct hnv_dp *dp, bool on);
/* The settings above, as the engine uses them. */
struct hnv_dp_settings {
	struct hnv_mac gw_mac;
	struct hnv_mac uplink_mac;
	unsigned uplink_mtu;
	bool flowid;
};
void hnv_dp_settings(const struct hnv_dp *dp, struct hnv_dp_settings *out);
/* Called (control thread) after every hnv_dp_set_* with the new settings;
 * one listener (the kernel fast path); NULL removes it. */
typedef void (*hnv_dp_settings_fn)(void *arg, const struct hnv_dp_settings *s);
void hnv_dp_on_settings(struct hnv_dp *dp, hnv_dp_settings_fn fn, void *arg);
/* Dynamic IP address learning (docs/dynamic-learning.md): forwarding
 * threads queue what they learn; the control thread applies the queue to
 * the policy (hnv_policy_learn) and ages learned records out, in
 * hnv_dp_learn_run, which it calls at least once a second. Returns how
 * many records it added, moved or removed. */
#define HNV_LEARN_TIMEOUT_DEFAULT 300 /* seconds without traffic */
int hnv_dp_learn_run(struct hnv_dp *dp);
/* Seconds a learned record lives without traffic (1..86400). */
int hnv_dp_set_learn_timeout(struct hnv_dp *dp, unsigned seconds);
unsigned hnv_dp_learn_timeout(const struct hnv_dp *dp);
/* Learning events, for show and tests. */
struct hnv_dp_learn_stats {
	uint64_t learned; /* records added */
	uint64_t moved;   /* a learned address now names another MAC/PA */
	uint64_t refused; /* a configured record holds the address, or not learnable */
	uint64_t full;    /* HNV_LEARN_MAX / HNV_LEARN_MAX_PER_VSID reached */
	uint64_t expired; /* aged out */
	uint64_t lost;    /* the queue was full */
};
void hnv_dp_learn_stats(struct hnv_dp *dp, struct hnv_dp_learn_stats *out);
/* The engine's clock in seconds (default CLOCK_MONOTONIC); tests set
 * their own. Control thread, before any packet. */
typedef uint32_t (*hnv_dp_clock_fn)(void *arg);
void hnv_dp_set_clock(struct hnv_dp *dp, hnv_dp_clock_fn fn, void *arg);

/* Flooding: a broadcast or multicast frame in a VSID with L2Only records
 * gets reason tx_flood (from a VM) or rx_flood (from the uplink) and
 * out_port HNV_PORT_FLOOD; it is not sent itself. The I/O layer asks for
 * its copies with hnv_dp_flood, right after hnv_dp_process and on the
 * same worker: each call fills up to max packets of out (starting with
 * *cursor = 0, advanced by the call) and returns how many; 0 when done.
 * Each copy has its own reason (tx_encap to each distinct remote PA of the
 * VSID's L2Only records, tx_local / rx_decap_delivered to each other local
 * port of the VSID, or a drop) and out_port. */
#define HNV_PORT_FLOOD 0xffffu
unsigned hnv_dp_flood(struct hnv_dp_worker *w, const struct hnv_pkt *p, unsigned *cursor,
		      struct hnv_pkt **out, unsigned max);

/* Next-hop MAC for a provider address, supplied by the I/O layer. */
int hnv_dp_neigh_set(struct hnv_dp *dp, const struct hnv_ip *pa, const struct hnv_mac *mac);
int hnv_dp_neigh_del(struct hnv_dp *dp, const struct hnv_ip *pa);

struct hnv_dp_worker *hnv_dp_worker_new(struct hnv_dp *dp);
void hnv_dp_worker_free(struct hnv_dp_worker *w);

/* Forwards a batch (at most HNV_BATCH_MAX; extra packets are left untouched). Afterwards each packet's reason
 * says what happened; when it is not a drop, data/len hold the frame to send
 * out of out_port. Must be called between rcu_register_thread() and
 * rcu_unregister_thread() of the calling thread. */
void hnv_dp_process(struct hnv_dp_worker *w, struct hnv_pkt **pkts, unsigned n);
/* Reports a quiescent state so retired table memory can be reclaimed. */
void hnv_dp_worker_quiescent(struct hnv_dp_worker *w);

/* MS-NVGREE REDIRECTs the workers accepted wait for the control thread:
 * the descriptor polls readable when some wait; hnv_dp_redirects_apply
 * (control thread) overrides each record's PA (hnv_policy_lookup_redirect,
 * which the fast path mirrors) and returns how many it applied. */
int hnv_dp_redirect_fd(const struct hnv_dp *dp);
/* fn (may be NULL) is called with the new PA of each override applied, so
 * the I/O layer can learn the next hop of a PA it has not seen. */
typedef void (*hnv_dp_redirect_fn)(void *arg, const struct hnv_ip *new_pa);
int hnv_dp_redirects_apply(struct hnv_dp *dp, hnv_dp_redirect_fn fn, void *arg);

/* Counters summed over every worker (including freed ones) and the
 * counter source, if one is set. */
void hnv_dp_counters(struct hnv_dp *dp, uint64_t out[HNV_R__COUNT]);
/* A second tier's counters (the kernel fast path): fn adds its counts to
 * out. One source; NULL removes it. Control thread. */
typedef void (*hnv_dp_counters_fn)(void *arg, uint64_t out[HNV_R__COUNT]);
void hnv_dp_set_counter_source(struct hnv_dp *dp, hnv_dp_counters_fn fn, void *arg);

#endif
