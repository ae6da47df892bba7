/* io.h: packet I/O backends of the host edge, behind one ops table.
 *
 * A backend instance is a struct hnv_io_port: the provider uplink (raw IPv4
 * socket for protocol 47, uplink.c, or an AF_PACKET socket, afpacket.c) or
 * one VM port (a TAP device hnvgwd creates, tap.c, or a device someone else
 * created, port add --dev, dev.c).
 * The forwarding thread (fwd.c) only talks to them through their ops.
 *
 * Two provider uplinks, chosen with hnvgwd --uplink-backend:
 *   raw    (uplink.c, the default) raw IPv4 socket for protocol 47 with
 *          IP_HDRINCL; the kernel routes the outer packet and resolves its
 *          next hop; IPv4 PAs only.
 *   packet (afpacket.c) AF_PACKET with the outer Ethernet header built from
 *          rtnetlink routes and neighbours; IPv4 and IPv6 PAs.
 * Why raw is the default, by measurement (tests/bench/e2e.sh, two-host
 * netns lab, VM to VM, 2 shared cores, 23 Nov 2026): the two are even.
 * 64-byte UDP in five runs side by side: raw 44.7k/47.0k/28.5k/19.8k/30.5k
 * pps, packet 49.0k/44.9k/31.7k/19.0k/23.2k pps (differences follow the
 * machine's load more than the backend); hnvgwd CPU per packet delivered
 * (both hosts, the least load-sensitive figure): raw 13.1/14.6/14.5/14.0
 * us, packet 14.1/14.6/12.7/15.0 us; single-stream TCP 0.32-0.45 Gbit/s for
 * both. What
 * AF_PACKET saves on transmit (no IP output path) it pays on receive: the
 * kernel still takes every NVGRE packet through IPv4 input to a raw socket
 * (needed anyway so that it does not answer ICMP protocol unreachable)
 * besides copying it to the packet socket. With no speed to gain, raw wins
 * on behaviour: the kernel's routing, neighbour resolution and netfilter
 * apply to provider traffic as to any host traffic, no packet is lost
 * while a next hop is first resolved, and the kernel verifies the outer
 * IPv4 header before it reaches us. Use packet for IPv6 PAs.
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
 * Threads (hnvgwd --fwd-threads, fwd.h): each forwarding thread has an
 * uplink instance of its own (open, steer, prepare per instance) and is
 * the only one to call its rx and tx. A VM port's rx is called by one
 * thread (the port's, fwd.c); its tx by any of them, at once: tx keeps no
 * state in the instance (per-call buffers), and the kernel takes each
 * write or sendmmsg whole.
 *
 * Counters are added to by the forwarding threads (atomic adds: a VM
 * port's tx counters have several writers) and read by the control thread
 * (relaxed).
 */
#ifndef HNV_IO_H
#define HNV_IO_H

#include "../dp.h"

#include <linux/filter.h>
#include <linux/virtio_net.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct hnv_io_port;

struct hnv_io_stats {
	_Atomic uint64_t rx_packets, rx_bytes, rx_errors; /* rx_errors: unreadable frames */
	_Atomic uint64_t rx_dropped;                      /* received, then dropped by the engine */
	_Atomic uint64_t tx_packets, tx_bytes, tx_errors;
	/* not sent: next-hop MAC not yet resolved (AF_PACKET uplink only) */
	_Atomic uint64_t tx_no_neigh;
	/* received through the fast path's punt channel (datapath/bpf/fp.h)
	 * rather than by rx; also counted in rx_packets and rx_bytes */
	_Atomic uint64_t rx_punt;
};

struct hnv_io_ops {
	const char *type; /* "uplink-raw", "uplink-packet", "tap" */
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
	/* Control thread, uplink only, before the forwarding thread starts:
	 * from now on rx hands over no frame of the provider network, because
	 * the fast path's tc program on the device serves them (and hands up
	 * what it does not handle through its punt channel); tx goes on. NULL:
	 * the backend sees nothing the tc program consumed anyway (the raw
	 * IPv4 socket: tc runs before IP input). 0 or a negative errno with
	 * err. */
	int (*rx_stop)(struct hnv_io_port *port, char *err, size_t errlen);
	/* Control thread, uplink only, when hnvgwd runs n > 1 forwarding
	 * threads, once every thread's instance is open (ports[k] is thread
	 * k's, all of this backend) and before any thread starts: from now on
	 * instance k receives only the NVGRE that steer.h gives thread k (a
	 * socket filter per instance, or one fanout group of them); what was
	 * queued before is discarded. NULL: the backend cannot be steered
	 * (then n must be 1). 0 or a negative errno with err. */
	int (*steer)(struct hnv_io_port *const *ports, unsigned n, char *err, size_t errlen);
};

/* The common head of every backend instance. */
struct hnv_io_port {
	const struct hnv_io_ops *ops;
	int fd; /* polled for POLLIN by the forwarding thread */
	char name[HNV_NAME_MAX + 1];
	struct hnv_io_stats st;
};

extern const struct hnv_io_ops hnv_io_uplink_raw_ops;
extern const struct hnv_io_ops hnv_io_uplink_packet_ops;
extern const struct hnv_io_ops hnv_io_tap_ops;
extern const struct hnv_io_ops hnv_io_tap_persist_ops; /* see tap.c */
extern const struct hnv_io_ops hnv_io_dev_ops;         /* see dev.c */
extern const struct hnv_io_ops hnv_io_dev_txonly_ops;  /* dev.c: sends only */

/* For uplinks whose kernel side picks the real next hop: registers mac as
 * the next-hop MAC of every remote PA named by a lookup record of dp's
 * policy (IPv4 PAs only unless v6), so the engine encapsulates toward them.
 * 0 or a negative errno. */
int hnv_io_placeholder_neigh(struct hnv_dp *dp, const struct hnv_mac *mac, bool v6);

/* ---- shared by the backends (common.c) ---- */

/* A received packet's fresh state: data at the headroom, no port, reason,
 * flags, VSID or trace yet. */
void hnv_io_pkt_reset(struct hnv_pkt *p, uint16_t in_port);

/* Completes a partial checksum a virtio-net header asked for
 * (VIRTIO_NET_HDR_F_NEEDS_CSUM): the 16-bit field at start+offset holds the
 * pseudo-header sum; the result covers f[start..len). 0, or -EINVAL when
 * the offsets do not fit in len. */
int hnv_io_finish_csum(uint8_t *f, size_t len, size_t start, size_t offset);

/* Completes the checksum of a frame that left its sender's kernel
 * CHECKSUM_PARTIAL but reached us as bare bytes (the fast path's punt
 * copy; comment in common.c): for an IPv4/IPv6 TCP or UDP frame (up to two
 * VLAN tags; also the inner frame of an NVGRE packet), not a fragment, whose
 * L4 checksum does not verify but whose checksum field holds exactly the
 * folded pseudo-header sum, writes the full checksum. Anything else is left
 * as it is. True when it wrote a checksum. */
bool hnv_io_csum_complete_partial(uint8_t *f, size_t len);

/* Sends msgs[0..m) on fd with sendmmsg, counting tx packets, and
 * bytes[i] bytes for each message sent. A message the kernel refuses
 * (full queue, no route, EMSGSIZE, interface down) is counted as a tx
 * error and skipped; the rest still go. Returns how many were sent. */
/* The message buffers of a packet socket with PACKET_VNET_HDR (the
 * AF_PACKET uplink, --dev ports): each message is a virtio-net header and
 * one frame. */
#define HNV_IO_VNET_BATCH 64
struct hnv_io_vnet {
	struct virtio_net_hdr vh[HNV_IO_VNET_BATCH];
	struct mmsghdr msgs[HNV_IO_VNET_BATCH];
	struct iovec iov[HNV_IO_VNET_BATCH][2];
	size_t bytes[HNV_IO_VNET_BATCH];
};
/* Receives up to n (at most HNV_IO_VNET_BATCH) frames on fd into pkts, as
 * rx of io.h: a truncated frame, one shorter than Ethernet, a GSO
 * super-frame or a partial checksum that cannot be completed is counted
 * in rx_errors and skipped. */
int hnv_io_vnet_rx(struct hnv_io_port *port, int fd, struct hnv_io_vnet *b, struct hnv_pkt **pkts,
		   unsigned n, uint16_t in_port);
/* Message i of b sends frame (len bytes) behind an all-zero virtio-net
 * header (no offload). */
void hnv_io_vnet_put(struct hnv_io_vnet *b, unsigned i, uint8_t *frame, size_t len);

unsigned hnv_io_send_batch(struct hnv_io_port *port, int fd, struct mmsghdr *msgs, unsigned m,
			   const size_t *bytes);

/* The close of a backend whose instance is one malloc'd struct starting
 * with its hnv_io_port and holding one descriptor. */
void hnv_io_close_simple(struct hnv_io_port *port);

static inline void hnv_io_count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* Attaches the classic BPF program code (len instructions) to fd as its
 * socket filter, then discards what fd had queued before (received under
 * the previous filter). 0 or a negative errno. */
int hnv_io_set_filter(int fd, const struct sock_filter *code, unsigned len);

#endif
