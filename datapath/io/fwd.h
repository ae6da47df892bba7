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

/* Opens the uplink (raw IPv4 protocol 47 socket bound to interface uplink)
 * and starts the forwarding thread with no datapath yet. 0 or a negative
 * errno with a message in err. */
int hnv_fwd_new(const char *uplink, struct hnv_fwd **out, char *err, size_t errlen);
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


#endif
