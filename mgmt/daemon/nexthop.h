/* nexthop.h: "what would the datapath do with this packet?"
 *
 * The "nexthop" op of mgmt/api.h (and Select-NetVirtualizationNextHop)
 * answers from the datapath's own decision code, the same code replay and
 * trace run: it builds an ICMP echo request from a VM in a VSID to a
 * destination and passes it through hnv_dp_process with tracing on.
 *
 * The probe asks the running datapath, on a private worker, so its answer
 * is what forwarding would do right now (no datapath is built for it). It
 * leaves the policy tables as they were; two stand-ins take the place of
 * what the I/O layer supplies at run time:
 *   - the source: when a local port of the VSID owns the source CA the frame
 *     enters through that port; otherwise a synthetic port "probe" is added
 *     with the source CA and the MAC of the source's lookup record, as if
 *     the VM were attached here, and removed after the probe;
 *   - next-hop MACs: without an uplink (hnvgwd without --uplink, stand_in
 *     set) a remote PA the decision needs and the datapath has no next hop
 *     for gets a placeholder entry (it stays: nothing forwards on such a
 *     datapath), so an encapsulation decision is reported instead of
 *     drop_neigh_miss. With an uplink the uplink's own next hops decide.
 * The probe's packets count in the worker's counters like any other: the
 * caller gets them in counted[] to keep them out of what it shows.
 *
 * Frame: Ethernet + IPv4 or IPv6 + ICMP(v6) echo, 32 bytes of payload.
 * Source MAC: the port's (or record's) MAC. Destination MAC: the MAC of the
 * destination's lookup record when one exists in the same VSID (bridged),
 * otherwise the default gateway's virtual MAC (routed).
 */
#ifndef HNV_NEXTHOP_H
#define HNV_NEXTHOP_H

#include "../../datapath/dp.h"

#include <json-c/json.h>

/* src NULL: the first port CA of the VSID with dst's family, else the first
 * lookup record CA. Returns 0 and *result: {"verdict": "forward"|"drop",
 * "counter", "stages": [{"stage", "decision"}], "vsid" (the VSID after
 * forwarding), "src", "src_mac", "dst", and when forwarded "egress" ("uplink"
 * or a port name) and "next_hop_ca", "pa", "mac" (the chosen lookup record).
 * counted[reason] is incremented once per probe packet the datapath
 * counted. Errors (-EINVAL, -ENOENT, -ENOMEM) name the bad value in err.
 * The control thread of dp (dp.h), registered with liburcu-qsbr. */
int hnv_nexthop(struct hnv_dp *dp, bool stand_in, uint32_t vsid, const struct hnv_ip *src,
		const struct hnv_ip *dst, json_object **result, uint64_t counted[HNV_R__COUNT],
		char *err, size_t errlen);

#endif
