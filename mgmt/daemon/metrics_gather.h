/* metrics_gather.h: what hnvgwd's Prometheus document holds (the list is
 * in docs/gateway.md, "Metrics"), built on the control thread from the
 * same functions that serve `hnvgw show` (hnv_core_show: counters,
 * gateway, nat, s2s-status, etcd) plus bgpd's sessions (hnv_gw_show_bgp)
 * and the process's own numbers.
 */
#ifndef HNV_METRICS_GATHER_H
#define HNV_METRICS_GATHER_H

#include "../../lib/vec.h"

#include <stdbool.h>

struct hnv_core;
struct hnv_gw;

struct hnv_metrics_ctx {
	struct hnv_core *core;
	struct hnv_gw *gw;     /* the gateway role, or NULL */
	bool etcd;             /* hnvgwd --etcd */
	const char *tier;      /* the forwarding tier: kernel, userspace, none */
	const char *requested; /* --datapath */
	double start_time;     /* seconds since the Unix epoch */
};

/* hnv_metrics_gather_fn (metrics.h); arg is a struct hnv_metrics_ctx. */
int hnv_metrics_gather(void *arg, struct hnv_buf *out);

#endif
