/* io.h: packet I/O backends of the host edge, behind one ops table.
 *
 * A backend instance is a struct hnv_io_port: the provider uplink (raw IPv4
 * socket for protocol 47, uplink.c) or one VM port (a TAP device, tap.c).
 * The forwarding thread (fwd.c) only talks to them through their ops.
 *
 * Lifecycle (like OVS netdev-provider):
 *   1. open    control thread; creates the device or socket, non-blocking.
 *   2. prepare control thread, uplink only: fills what the engine needs from
 *              this backend into a datapath that is not yet published (the
 *              uplink MAC, next hops for remote PAs).
 *   3. rx / tx forwarding thread only, between open and close; never block.
 *   4. close   control thread, after a grace period in which the forwarding
 *              thread stopped using the port (fwd.c guarantees this).
 *
 * Packets: rx fills pkts[0..n) completely (data, len, in_port, flags and
 * the rest reset) and returns how many it filled, 0 when nothing is waiting,
 * or a negative errno for a failure that is not per-packet. tx sends pkts
 * as the engine left them (data/len hold the Ethernet frame to send) and
 * returns how many it handed to the kernel; per-packet failures are counted
 * in tx_errors and not retried.
 *
 * Counters are written by the forwarding thread only and read by the
 * control thread (relaxed atomics).
 */
#ifndef HNV_IO_H
#define HNV_IO_H

#include "../dp.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct hnv_io_port;

struct hnv_io_stats {
	_Atomic uint64_t rx_packets, rx_bytes, rx_errors; /* rx_errors: unreadable frames */
	_Atomic uint64_t rx_dropped; /* received, then dropped by the engine */
	_Atomic uint64_t tx_packets, tx_bytes, tx_errors;
};

struct hnv_io_ops {
	const char *type; /* "uplink-raw", "tap" */
	/* Opens the backend for interface name; mac (may be NULL) is the
	 * address to give a device the backend creates. 0 or a negative errno
	 * with a message naming the interface in err. */
	int (*open)(const char *name, const struct hnv_mac *mac, struct hnv_io_port **out,
		    char *err, size_t errlen);
	/* Fills backend-provided state into an unpublished dp; may be NULL. */
	int (*prepare)(struct hnv_io_port *port, struct hnv_dp *dp, char *err, size_t errlen);
	int (*rx)(struct hnv_io_port *port, struct hnv_pkt **pkts, unsigned n, uint16_t in_port);
	int (*tx)(struct hnv_io_port *port, struct hnv_pkt **pkts, unsigned n);
	void (*close)(struct hnv_io_port *port);
};

/* The common head of every backend instance. */
struct hnv_io_port {
	const struct hnv_io_ops *ops;
	int fd; /* polled for POLLIN by the forwarding thread */
	char name[HNV_NAME_MAX + 1];
	struct hnv_io_stats st;
};

extern const struct hnv_io_ops hnv_io_uplink_raw_ops;
extern const struct hnv_io_ops hnv_io_tap_ops;

static inline void hnv_io_count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

#endif
