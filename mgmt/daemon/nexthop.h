/* nexthop.h: "what would the datapath do with this packet?"
 *
 * The "nexthop" op of mgmt/api.h (and Select-NetVirtualizationNextHop)
 * answers from the datapath's own decision code, the same code replay and
 * trace run: it builds an ICMP echo request from a VM in a VSID to a
 * destination and passes it through hnv_dp_process with tracing on.
 *
 * The probe never touches the running datapath (its tables and counters
 * stay as they are): it runs on a scratch context built from the model
 * (hnv_model_build_dp) on a private worker, with two additions that stand in
 * for what the I/O layer supplies at run time:
 *   - the source: when a local port of the VSID owns the source CA the frame
 *     enters through that port; otherwise a synthetic port "probe" is added
 *     with the source CA and the MAC of the source's lookup record, as if
 *     the VM were attached here;
 *   - next-hop MACs: every remote PA gets a placeholder neighbour entry, so
 *     an encapsulation decision is reported instead of drop_neigh_miss.
 *
 * Frame: Ethernet + IPv4 or IPv6 + ICMP(v6) echo, 32 bytes of payload.
 * Source MAC: the port's (or record's) MAC. Destination MAC: the MAC of the
 * destination's lookup record when one exists in the same VSID (bridged),
 * otherwise the default gateway's virtual MAC (routed).
 */
#ifndef HNV_NEXTHOP_H
#define HNV_NEXTHOP_H

#include "../model.h"

#include <json-c/json.h>

/* src NULL: the first port CA of the VSID with dst's family, else the first
 * lookup record CA. Returns 0 and *result: {"verdict": "forward"|"drop",
 * "counter", "stages": [{"stage", "decision"}], "vsid" (the VSID after
 * forwarding), "src", "src_mac", "dst", and when forwarded "egress" ("uplink"
 * or a port name) and "next_hop_ca", "pa", "mac" (the chosen lookup record).
 * Errors (-EINVAL, -ENOENT, -ENOMEM) name the bad value in err. The calling
 * thread must be registered with liburcu-qsbr. */
int hnv_nexthop(const struct hnv_model *m, uint32_t vsid, const struct hnv_ip *src,
		const struct hnv_ip *dst, json_object **result, char *err, size_t errlen);

#endif
