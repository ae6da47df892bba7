/* reasons.h: the outcome of a packet in either forwarding tier, and the
 * counter it increments. Shared by the C engine (dp.c) and the tc eBPF fast
 * path (bpf/fp.bpf.c), so both count with the same names and numbers: it
 * includes nothing.
 */
#ifndef HNV_REASONS_H
#define HNV_REASONS_H

/* The outcome of a packet, and the counter it increments. Each name is
 * what `show counters` prints. X(name, is_drop, description) */
#define HNV_REASONS(X)                                                                             \
	X(rx_decap_delivered, 0, "NVGRE from the uplink delivered to a local port")                \
	X(tx_encap, 0, "VM frame encapsulated toward a remote PA")                                 \
	X(tx_local, 0, "VM frame delivered to a local port, same VSID")                            \
	X(tx_routed_local, 0, "VM frame routed to a local port in another VSID")                   \
	X(tx_routed_encap, 0, "VM frame routed and encapsulated to a remote PA")                   \
	X(arp_reply, 0, "ARP request answered from the lookup records")                            \
	X(nd_advert, 0, "neighbour solicitation answered from the records")                        \
	X(icmp_frag_needed, 0, "oversize DF IPv4: ICMP fragmentation needed sent")                 \
	X(icmp6_too_big, 0, "oversize IPv6: ICMPv6 packet too big sent")                           \
	X(echo_reply, 0, "ping of a default-gateway address answered")                             \
	X(drop_runt, 1, "frame shorter than its headers")                                          \
	X(drop_bad_ip, 1, "malformed IPv4/IPv6 header or length")                                  \
	X(drop_bad_csum, 1, "outer IPv4 header checksum wrong")                                    \
	X(drop_ip_fragment, 1, "fragmented NVGRE packet")                                          \
	X(drop_not_local_pa, 1, "outer destination is not a local PA")                             \
	X(drop_not_gre, 1, "outer protocol is not GRE")                                            \
	X(drop_gre_flags, 1, "GRE flags/version not NVGRE (C/S/bits 1-5/ver, no K)")               \
	X(drop_gre_proto, 1, "GRE protocol type is not 0x6558")                                    \
	X(drop_vsid_reserved, 1, "VSID outside 4096-16777214")                                     \
	X(drop_vsid_unknown, 1, "no virtual subnet with this VSID")                                \
	X(drop_inner_vlan, 1, "inner frame carries an 802.1Q tag")                                 \
	X(drop_spoof, 1, "VSID/CA/MAC/PA do not match a lookup record")                            \
	X(drop_no_record, 1, "no lookup record for the destination")                               \
	X(drop_no_route, 1, "no customer route in the routing domain")                             \
	X(drop_cross_rdomain, 1, "route or record leads into another routing domain")              \
	X(drop_ttl, 1, "TTL or hop limit expired while routing")                                   \
	X(drop_broadcast, 1, "broadcast/multicast not answered locally")                           \
	X(drop_non_ip, 1, "an ethertype HNV does not forward")                                     \
	X(drop_arp_unknown, 1, "ARP/NS for an address without a record")                           \
	X(drop_nd_dad, 1, "duplicate address detection NS: never answered")                        \
	X(drop_own_address, 1, "ARP/NS for the asker's own address: not answered")                 \
	X(drop_port_unknown, 1, "ingress or egress port not configured")                           \
	X(drop_no_local_port, 1, "record points here but no port has that MAC")                    \
	X(drop_rule, 1, "record rule is not Encap (NAT/None not forwarded)")                       \
	X(drop_no_pa, 1, "no local PA of the destination PA's family")                             \
	X(drop_neigh_miss, 1, "no next-hop MAC for the destination PA")                            \
	X(drop_mtu, 1, "oversize IPv4 without DF: NVGRE is never fragmented")                      \
	X(drop_gateway_addr, 1, "traffic to the default gateway itself (not ICMP echo)")           \
	X(drop_ecn, 1, "outer CE over a Not-ECT inner packet (RFC 6040)")                          \
	X(dhcp_reply, 0, "DHCP from a VM answered by the host (OFFER, ACK or NAK)")                \
	X(drop_dhcp_bad, 1, "malformed DHCP message from a VM")                                    \
	X(drop_dhcp_no_pool, 1, "DHCP from a VM in a VSID without pool, or port without IPv4 CA")  \
	X(drop_dhcp_no_reply, 1, "DHCP needing no answer (RELEASE, DECLINE, other server's)")      \
	X(drop_dhcp_server, 1, "DHCP server/relay traffic from a VM: never forwarded")             \
	X(nvx_redirect_sent, 0, "NVGRE for a CA that moved: REDIRECT with its new PA sent back")   \
	X(nvx_unreach_sent, 0, "NVGRE for a CA without a record: UNREACHABLE sent back")           \
	X(drop_redirect_limited, 1, "CA moved: REDIRECT to this sender sent less than 1 s ago")    \
	X(drop_unreach_limited, 1, "no record for the CA: UNREACHABLE suppressed (rate limit)")    \
	X(nvx_redirect_rcvd, 1, "REDIRECT accepted: the record's PA is overridden (consumed)")     \
	X(nvx_unreach_rcvd, 1, "UNREACHABLE received from a peer (consumed, logged per peer)")     \
	X(drop_nvx_bad, 1, "to this PA but not a valid REDIRECT/UNREACHABLE, or not encodable")    \
	X(drop_nvx_untrusted, 1, "REDIRECT not from the PA the record of its CA points at")        \
	X(tx_flood, 0, "VM broadcast/multicast replicated in a VSID with L2Only records")          \
	X(rx_flood, 0, "NVGRE broadcast/multicast replicated to the VSID's local ports")

enum hnv_reason {
#define HNV_REASON_ENUM(n, d, t) HNV_R_##n,
	HNV_REASONS(HNV_REASON_ENUM)
#undef HNV_REASON_ENUM
	HNV_R__COUNT
};

#endif
