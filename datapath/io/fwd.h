/* fwd.h: the host edge's forwarding thread and the set of I/O ports it
 * serves (the provider uplink and one TAP per VM port).
 *
 * Ownership and threads: a struct hnv_fwd is created, changed and freed by
 * the one control thread of hnvgwd (registered with liburcu-qsbr, online).
 * The forwarding thread it starts reads only an RCU-published view:
 *
 *   view = { datapath, the worker used on it, port id -> I/O port }
 *
 * It re-reads the view for every batch and goes QSBR-offline only while it
 * waits in poll(), so it never delays a grace period for long and never
 * waits on the control plane.
 *
 * A configuration change is two-phase, so that a change that cannot be
 * applied (a TAP that cannot be created) is refused before it is persisted:
 *   hnv_fwd_prepare(f, new_dp)   opens TAPs for new ports, fills the uplink's
 *                                state into new_dp (not yet published);
 *   hnv_fwd_publish(f)           the thread switches to new_dp; after a
 *                                grace period the old view's worker is freed
 *                                (its counters fold into the old dp, which the
 *                                caller may then read and free) and TAPs of
 *                                removed ports are closed;
 *   hnv_fwd_abort(f)             or: drops the prepared view.
 * The caller keeps owning every dp; a dp must stay alive until the publish
 * that replaces it has returned.
 */
#ifndef HNV_FWD_H
#define HNV_FWD_H

#include "../dp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hnv_fwd;

/* Opens the uplink on interface uplink with backend "raw" (raw IPv4 socket
 * for protocol 47, uplink.c), "packet" (AF_PACKET, afpacket.c; IPv4 and IPv6
 * PAs) or NULL (HNV_FWD_DEFAULT_BACKEND), and starts the forwarding thread
 * with no datapath yet. 0 or a negative errno with a message in err. */
int hnv_fwd_new(const char *uplink, const char *backend, struct hnv_fwd **out, char *err,
		size_t errlen);
/* The uplink backend used without --uplink-backend; see io.h for why. */
#define HNV_FWD_DEFAULT_BACKEND "raw"
/* Stops the thread, frees the current view's worker and closes every port.
 * The datapaths stay the caller's. */
void hnv_fwd_free(struct hnv_fwd *f);

int hnv_fwd_prepare(struct hnv_fwd *f, struct hnv_dp *dp, char *err, size_t errlen);
void hnv_fwd_publish(struct hnv_fwd *f);
void hnv_fwd_abort(struct hnv_fwd *f);

/* Per-port counters: cb is called once per (port, counter). The port of the
 * uplink is named "uplink". */
typedef void (*hnv_fwd_stat_cb)(const char *port, const char *counter, uint64_t value,
				bool is_error, void *arg);
void hnv_fwd_stats(struct hnv_fwd *f, hnv_fwd_stat_cb cb, void *arg);

/* Live packet trace. The control thread starts a session for the next
 * count packets (1..HNV_FWD_TRACE_MAX) received on the port named port (a
 * VM port's name or "uplink"; NULL: any port); a new session replaces the
 * previous one. The forwarding thread fills the session's records in
 * order and publishes how many are complete with a release store: it
 * never waits for the control thread, and untraced packets cost one
 * pointer load per batch. hnv_fwd_trace_read returns the number of
 * complete records of session id (*recs points at them, valid until the
 * next hnv_fwd_trace_start or hnv_fwd_free), or -ESTALE when id is not the
 * current session. */
#define HNV_FWD_TRACE_MAX 64
struct hnv_fwd_trace_rec {
	char ingress[HNV_NAME_MAX + 1];
	char egress[HNV_NAME_MAX + 1]; /* "" when dropped */
	uint16_t reason;               /* enum hnv_reason */
	uint32_t vsid;
	struct hnv_trace trace;
};
int hnv_fwd_trace_start(struct hnv_fwd *f, unsigned count, const char *port, uint64_t *id,
			char *err, size_t errlen);
int hnv_fwd_trace_read(struct hnv_fwd *f, uint64_t id, const struct hnv_fwd_trace_rec **recs,
		       unsigned *count);

#endif
