/* fwd.h: the host edge's forwarding threads and the set of I/O ports they
 * serve (the provider uplink and, per VM port, the TAP hnvgwd creates or
 * the device it was given with port add --dev).
 *
 * Ownership and threads: a struct hnv_fwd is created, changed and freed by
 * the one control thread of hnvgwd (registered with liburcu-qsbr, online).
 * It starts 1..HNV_FWD_THREADS_MAX forwarding threads (hnvgwd
 * --fwd-threads). Each owns, for its whole life:
 *   - an uplink instance of its own (its socket; the AF_PACKET backend's
 *     next-hop table): only it receives and sends on it. With several
 *     threads each socket receives the thread's share of received NVGRE,
 *     by a hash of the VSID and the inner flow (steer.h; a fanout group
 *     of the AF_PACKET sockets, a filter per raw socket): a remote host's
 *     traffic spreads, a flow stays on one thread;
 *   - a worker on the datapath (per-worker counters, summed by
 *     hnv_dp_counters);
 *   - the VM ports whose id % threads is its index: only it reads them,
 *     so a port's frames stay in order. Any thread sends to any VM port
 *     (io.h: tx is safe from several threads; counters are atomic adds).
 * Thread 0 alone reads the fast path's punt channel. They all read only an
 * RCU-published view:
 *
 *   view = { datapath, port id -> I/O port }
 *
 * Each re-reads the view for every batch and goes QSBR-offline only while
 * it waits in poll(), so it never delays a grace period for long and never
 * waits on the control plane or on another forwarding thread. The
 * datapath's tables (policy, next hops, settings) are RCU-published by the
 * control thread and only read by the workers.
 *
 * The view's datapath is attached once (hnv_fwd_attach) and then changed in
 * place by the control thread; each thread keeps its worker on it for its
 * whole life, so counters run on across changes. Ports follow the
 * datapath's port table, one operation at a time:
 *   hnv_fwd_port_add(f, name, ...)  before the datapath gets the port: opens
 *                                   its TAP (a change whose TAP cannot be
 *                                   created is refused before anything else);
 *   hnv_fwd_publish(f, ...)         after a change: the forwarding thread
 *                                   switches to a view of the datapath's
 *                                   current ports (only when they changed),
 *                                   and after a grace period the TAPs of
 *                                   ports the datapath no longer has are
 *                                   closed; the uplink refills its state
 *                                   into the datapath when a record named a
 *                                   new remote PA or the settings changed
 *                                   (hnv_fwd_remote_pa, hnv_fwd_uplink_stale).
 * A port deleted and added again between two publishes keeps its TAP (the
 * device a VM uses survives an undone change).
 *
 * Ports on existing devices (port add --dev IF, io.h dev.c): hnvgwd opens
 * a packet socket on IF and never creates, deletes or moves IF; deleting
 * the port only detaches. A device that does not exist refuses the change
 * (hnv_fwd_port_add); one missing when hnvgwd starts (a VM not running yet)
 * is logged, and the port is attached at a later publish once IF exists.
 *
 * The kernel fast path (datapath/bpf/fp.h), when f has one: hnv_fwd_attach
 * binds it to the datapath and attaches its uplink program, and every
 * publish attaches the view's ports to it (--dev devices: its port program,
 * their packet socket then only sends; hnvgwd's TAPs: frames to them are
 * punted; gateway ports: its egress program) and detaches the ports that
 * left, after the grace period, as TAPs are closed. The forwarding thread
 * also reads the punt channel and runs those frames through the engine
 * like any port's (thread 0 only). The uplink backend receives nothing
 * then (io.h rx_stop; every thread's instance): the kernel's RSS/RPS
 * spreads the fast path's work, and the other threads serve their VM ports
 * and send.
 */
#ifndef HNV_FWD_H
#define HNV_FWD_H

#include "../dp.h"
#include "../reasons.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hnv_fwd;
struct hnv_fp;

/* Opens the uplink on interface uplink with backend "raw" (raw IPv4 socket
 * for protocol 47, uplink.c), "packet" (AF_PACKET, afpacket.c; IPv4 and IPv6
 * PAs) or NULL (HNV_FWD_DEFAULT_BACKEND), and starts the forwarding threads
 * with no datapath yet (see hnv_fwd_attach). fp: the kernel fast path
 * (opened, not yet bound; the caller's, freed after f), or NULL: the C
 * engine forwards everything. 0 or a negative errno with a message in err. */
int hnv_fwd_new(const char *uplink, const char *backend, struct hnv_fp *fp, unsigned threads,
		struct hnv_fwd **out, char *err, size_t errlen);
/* threads: how many forwarding threads (1..HNV_FWD_THREADS_MAX; see the
 * head comment); hnvgwd --fwd-threads. */
#define HNV_FWD_THREADS_MAX 16
unsigned hnv_fwd_threads(const struct hnv_fwd *f);
/* The uplink backend used without --uplink-backend; see io.h for why. */
#define HNV_FWD_DEFAULT_BACKEND "raw"
/* Stops the threads, frees their workers (their counters fold into the
 * attached datapath, which stays the caller's) and closes every port. */
void hnv_fwd_free(struct hnv_fwd *f);

/* Attaches dp (the caller's; it must outlive f, or the next attach):
 * opens a TAP for each of its ports (the device given to hnv_fwd_port_add
 * before, for --dev ports), lets the uplink fill its state into dp and
 * publishes the view; with a fast path, binds it to dp and attaches it to
 * the uplink and the ports (an error then starts with "fast path: "). 0,
 * or a negative errno with a message in err (then nothing is published and
 * the TAPs opened are closed; a fast path may be bound: free it). Once
 * only. */
int hnv_fwd_attach(struct hnv_fwd *f, struct hnv_dp *dp, char *err, size_t errlen);

/* The I/O port of a port the datapath is about to get: with dev NULL or
 * "", name's TAP (a persistent one for a gateway port); else a socket on
 * the existing device dev (-ENODEV, with a message naming it, when there
 * is none; the uplink is refused). The same (name, dev) already open: kept.
 * 0 or a negative errno with err. Before hnv_fwd_attach it only notes
 * (name, dev): attach opens it, and a device missing then is logged. */
int hnv_fwd_port_add(struct hnv_fwd *f, const char *name, const struct hnv_mac *mac, bool gateway,
		     const char *dev, char *err, size_t errlen);
/* The device given for port name (--dev), or NULL: none (its TAP). */
const char *hnv_fwd_port_dev(const struct hnv_fwd *f, const char *name);
/* A lookup record of the datapath names pa: a remote PA the uplink has not
 * seen yet makes the next publish refill the uplink's state (next hops). */
void hnv_fwd_remote_pa(struct hnv_fwd *f, const struct hnv_ip *pa);
/* The datapath's settings changed (global set): the next publish lets the
 * uplink fill its own values (MAC, MTU) in again. */
void hnv_fwd_uplink_stale(struct hnv_fwd *f);
/* Publishes what changed since the last publish (see above). ports: the
 * datapath's ports may have changed (a port added or deleted, a gateway
 * port made or dropped); without it, and without a TAP opened since, the
 * view is kept as it is. A port of the datapath without a TAP yet gets
 * one here. 0, or a negative errno with err (a TAP that cannot be
 * created, an uplink refill that failed); the view then keeps the ports
 * it had. */
int hnv_fwd_publish(struct hnv_fwd *f, bool ports, char *err, size_t errlen);

/* Per-port counters: cb is called once per (port, counter). The port of the
 * uplink is named "uplink" (summed over the threads' instances). With the
 * fast path, its own events come as port "fastpath": punted (frames handed
 * to the engine), punt_lost (dropped: the punt channel was full) and
 * passed (left to the host's stack, uplink). Each forwarding thread K comes
 * as port "thread:K" (':' is never in a port name): rx_packets (every
 * frame it received: uplink, its VM ports, punts) and uplink_rx_packets
 * (the NVGRE steered to it), so an operator sees the spread. */
typedef void (*hnv_fwd_stat_cb)(const char *port, const char *counter, uint64_t value,
				bool is_error, void *arg);
void hnv_fwd_stats(struct hnv_fwd *f, hnv_fwd_stat_cb cb, void *arg);
/* The same rows with each tier's share: with the fast path (tiers true)
 * a port's rx_packets, rx_bytes, rx_dropped, tx_packets and tx_bytes add
 * what its programs did on the port (fp.h hnv_fp_port_stats: a VM's
 * ordinary unicast never reaches the engine) to the engine's own I/O;
 * value is the sum, fast_path the programs' part (0 for the counters only
 * the engine has); without it (or for thread and fastpath rows) tiers is
 * false and fast_path 0. hnv_fwd_stats gives the sums alone. */
typedef void (*hnv_fwd_tier_stat_cb)(const char *port, const char *counter, uint64_t value,
				     uint64_t fast_path, bool tiers, bool is_error, void *arg);
void hnv_fwd_stats_tiers(struct hnv_fwd *f, hnv_fwd_tier_stat_cb cb, void *arg);
/* The fast path's share of the datapath's counters (out, by enum
 * hnv_reason; hnv_dp_counters holds both tiers): false, out untouched,
 * when f has no fast path. */
bool hnv_fwd_fp_counters(struct hnv_fwd *f, uint64_t out[HNV_R__COUNT]);
/* The fast path f forwards with, or NULL. */
struct hnv_fp *hnv_fwd_fp(struct hnv_fwd *f);

/* Live packet trace. The control thread starts a session for the next
 * count packets (1..HNV_FWD_TRACE_MAX) received on the port named port (a
 * VM port's name or "uplink"; NULL: any port); a new session replaces the
 * previous one. One forwarding thread at a time fills the session's
 * records in order (a thread that finds another one filling forwards its
 * batch untraced: with several threads the session records the next
 * count packets of one thread's batches, not of all) and publishes how
 * many are complete with a release store: no thread waits for another or
 * for the control thread, and untraced packets cost one pointer load per
 * batch. hnv_fwd_trace_read returns the number of
 * complete records of session id (*recs points at them, valid until the
 * next hnv_fwd_trace_start or hnv_fwd_free), or -ESTALE when id is not the
 * current session. */
#define HNV_FWD_TRACE_MAX 64
struct hnv_fwd_trace_rec {
	char ingress[HNV_NAME_MAX + 1];
	char egress[HNV_NAME_MAX + 1]; /* "" when dropped */
	uint16_t reason;               /* enum hnv_reason; HNV_R__COUNT: none (fast path) */
	uint32_t vsid;
	struct hnv_trace trace; /* the engine's stages; none from the fast path */
	bool fast_path;         /* a decision of the fast path's programs */
	uint8_t fp_action;      /* enum fp_action (fast path) */
};
int hnv_fwd_trace_start(struct hnv_fwd *f, unsigned count, const char *port, uint64_t *id,
			char *err, size_t errlen);
int hnv_fwd_trace_read(struct hnv_fwd *f, uint64_t id, const struct hnv_fwd_trace_rec **recs,
		       unsigned *count);
/* With the fast path, a session also records the next count decisions of
 * its programs on the port (every port's: NULL) in a list of their own:
 * hnv_fwd_trace_read_fp collects what they sent since the last call and
 * returns them all like hnv_fwd_trace_read (0 records without a fast
 * path; -ESTALE). Control thread. A punted frame appears in both lists:
 * the fast path's punt, then the engine's decision. */
int hnv_fwd_trace_read_fp(struct hnv_fwd *f, uint64_t id, const struct hnv_fwd_trace_rec **recs,
			  unsigned *count);

#endif
