/* garp.h: announcing an address the gateway has just taken over (the
 * floating corp address of a pool tenant, see docs/gateway-pool.md), so
 * that neighbours replace the MAC they cached for it at once instead of
 * after their entry goes stale.
 *
 * IPv4: a gratuitous ARP request and a gratuitous ARP reply, broadcast
 * (sender and target protocol address both the address; RFC 5227 2.4).
 * IPv6: an unsolicited Neighbor Advertisement to ff02::1 with the Override
 * and Router flags and the target link-layer address option (RFC 4861
 * 7.2.6). Sent from the device through an AF_PACKET socket of the calling
 * thread's network namespace (needs CAP_NET_RAW). */
#ifndef HNV_GARP_H
#define HNV_GARP_H

#include "../lib/hnv_types.h"

#include <stddef.h>
#include <stdint.h>

/* Largest frame hnv_garp_frame builds (an Ethernet frame without FCS). */
#define HNV_GARP_FRAME_MAX 86

/* Builds announcement number idx (IPv4: 0 the request, 1 the reply; IPv6:
 * 0 the advertisement) of addr from mac into buf. Returns its length, or
 * 0 when idx is past the last one or cap is too small. */
size_t hnv_garp_frame(uint8_t *buf, size_t cap, const struct hnv_mac *mac,
		      const struct hnv_ip *addr, unsigned idx);

/* Sends every announcement of addr out of the Ethernet device ifname
 * (ifindex), from the device's own MAC. Returns the number of frames sent
 * (0 for a device without an Ethernet address, e.g. a tun: nothing to
 * announce) or a negative errno with err set (device down, no
 * CAP_NET_RAW, ...). */
int hnv_garp_announce(const char *ifname, int ifindex, const struct hnv_ip *addr, char *err,
		      size_t errlen);

#endif
