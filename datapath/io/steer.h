/* steer.h: receive steering of NVGRE over several forwarding threads.
 *
 * Each forwarding thread (fwd.h) has its own uplink socket, and receives
 * the packets whose steering hash picks its thread:
 * hnv_steer_pick(hnv_steer_hash(outer IP packet), n). Two ways to get
 * there, both classic BPF compiled from the hash's steps:
 *   - a socket filter per thread (hnv_steer_filter) that accepts only its
 *     thread's packets: the kernel runs n filters per packet (raw IPv4
 *     sockets, which have no fanout);
 *   - one PACKET_FANOUT_CBPF program for the group of the threads'
 *     AF_PACKET sockets (hnv_steer_fanout) that returns the thread: the
 *     kernel runs it once per packet and hands the packet to that socket
 *     only.
 * The hash
 * covers the VSID of the GRE key (not the FlowID: Hyper-V may change it
 * within a flow) and the inner flow: inner IPv4/IPv6 source and
 * destination and, for TCP and UDP that is not an IPv4 fragment, the two
 * ports. So one remote host's traffic spreads over the threads, and every
 * flow stays on one thread (no reordering inside a flow). Frames that are
 * not NVGRE as this engine accepts it (outer fragment, other protocol,
 * GRE flags other than key-only, truncated) go to thread 0, where the
 * engine counts them by reason; an inner frame that is not IPv4/IPv6
 * (ARP) or is truncated is steered by its VSID alone.
 *
 * hnv_steer_hash is the definition; hnv_steer_filter and hnv_steer_fanout
 * compile exactly its steps to classic BPF (tests/unit/test_steer.c runs
 * them and the hash on the same frames through the kernel and demands the
 * same thread). The hash reads
 * untrusted bytes: every read is checked against len.
 */
#ifndef HNV_STEER_H
#define HNV_STEER_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

/* hnvgwd --fwd-threads: 1..HNV_STEER_THREADS_MAX */
#define HNV_STEER_THREADS_MAX 16

/* The steering hash of the outer IP packet at l3 (len bytes: IPv4 or IPv6
 * header first). 0 for a packet that is not NVGRE (see above). */
uint32_t hnv_steer_hash(const uint8_t *l3, size_t len);

/* The thread (0..n-1) of hash h among n threads. */
static inline unsigned hnv_steer_pick(uint32_t h, unsigned n)
{
	return n > 1 ? h % n : 0;
}

/* What the socket sees at offset 0. */
enum hnv_steer_sock {
	/* the outer IPv4 header (raw IPv4 socket for protocol 47; the kernel
	 * only hands it protocol 47 and defragments first) */
	HNV_STEER_L3,
	/* the Ethernet frame (AF_PACKET): the filter also demands what the
	 * uplink's unsteered filter did, a frame to this host (PACKET_HOST)
	 * of IPv4 protocol 47 or IPv6 next header 47, and refuses the rest */
	HNV_STEER_ETH,
};

#define HNV_STEER_PROG_MAX 256
/* Writes into code (HNV_STEER_PROG_MAX entries) the filter of thread
 * (0..n-1) of n threads (1..HNV_STEER_THREADS_MAX) for a socket of kind
 * sock, and returns its length, or -EINVAL for a thread or n out of range.
 * With n == 1 the filter accepts everything HNV_STEER_ETH would (for
 * HNV_STEER_L3: everything). */
int hnv_steer_filter(struct sock_filter *code, enum hnv_steer_sock sock, unsigned thread,
		     unsigned n);

/* Writes into code (HNV_STEER_PROG_MAX entries) the PACKET_FANOUT_CBPF
 * program of a fanout group of n (1..HNV_STEER_THREADS_MAX) AF_PACKET
 * sockets, thread k's socket being member k (the kernel hands a packet to
 * member "return value % members"): it returns hnv_steer_pick(hash, n).
 * The kernel runs it on a received frame before any member's socket
 * filter, with the outer IP header at offset 0 (the device has pulled the
 * Ethernet header). A frame that is not received for this host
 * (SKF_AD_PKTTYPE) or not IPv4/IPv6 (SKF_AD_PROTOCOL) goes to 0; it
 * decides nothing else: each member's socket filter
 * (hnv_steer_filter(HNV_STEER_ETH, 0, 1)) still refuses what is not
 * NVGRE to this host. Returns the length, or -EINVAL for n out of
 * range. */
int hnv_steer_fanout(struct sock_filter *code, unsigned n);

#endif
