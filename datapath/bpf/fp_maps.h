/* fp_maps.h: the map layout of the tc eBPF fast path, shared by the
 * programs (fp.bpf.c, compiled with clang -target bpf) and the userspace
 * side that loads them and programs the maps (fp.c). Fixed-size types
 * only; no padding the compiler could place differently on either side.
 *
 * The maps mirror the C engine's policy (datapath/policy_read.h): fp.c
 * writes one map entry per policy change (a change of N records touches N
 * entries), so both tiers decide from the same facts. Addresses are 16
 * bytes, IPv4 mapped (::ffff:a.b.c.d), exactly as struct hnv_ip.
 *
 * Maps (name: type, key -> value):
 *   fp_cfg        ARRAY[1]            0 -> struct fp_cfg
 *   fp_pas        HASH                struct fp_ip -> __u8 (1: a local PA;
 *                                     the first FP_CFG_PAS also in fp_cfg)
 *   fp_vsids      HASH                __u32 vsid -> struct fp_vsid
 *   fp_recs4      HASH (no prealloc)  struct fp_rec4_key -> struct fp_rec (IPv4 CAs)
 *   fp_recs       HASH (no prealloc)  struct fp_rec_key -> struct fp_rec (IPv6 CAs)
 *   fp_lrecs      HASH (no prealloc)  struct fp_rec_key -> struct fp_rec (a copy of
 *                                     the records of both whose PA is local,
 *                                     CAs of either family: the receive
 *                                     path's destination lookup, small and
 *                                     hot; fp.c keeps an entry equal to its
 *                                     record or absent)
 *   fp_routes     LPM_TRIE            struct fp_route_key -> struct fp_route
 *   fp_rcache4    LRU_HASH            struct fp_rcache4_key -> struct fp_rcache_val
 *   fp_rcache     LRU_HASH            struct fp_rcache_key -> struct fp_rcache_val
 *                                     (fp_routes' answers for IPv4 and IPv6
 *                                     addresses, valid while fp_route_gen
 *                                     is unchanged)
 *   fp_ports      HASH                __u32 ifindex -> struct fp_port
 *   fp_port_macs  HASH                struct fp_portmac_key -> struct fp_port_ref
 *   fp_counters   PERCPU_ARRAY        index -> __u64 (enum hnv_reason, then FP_C_*)
 *   fp_port_stats PERCPU_ARRAY        port id -> struct fp_port_stats (0: the uplink)
 *   fp_punt       PERF_EVENT_ARRAY    frames for the slow path, trace events
 *   fp_last       PERCPU_ARRAY[1]     0 -> struct fp_verdict (last packet's
 *                                     decision, for BPF_PROG_TEST_RUN)
 */
#ifndef HNV_FP_MAPS_H
#define HNV_FP_MAPS_H

#include "../reasons.h"

#include <linux/types.h>

#define FP_MAX_PAS 64
#define FP_MAX_VSIDS 65536
#define FP_MAX_RECORDS (1u << 22)  /* records with an IPv4 CA */
#define FP_MAX_RECORDS6 (1u << 20) /* records with an IPv6 CA */
#define FP_MAX_LOCAL_RECORDS 65536 /* fp_lrecs: the rest are read from fp_recs4/fp_recs */
#define FP_MAX_ROUTES (1u << 20)
#define FP_MAX_PORTS 1024
#define FP_VSID_GWS 4 /* HNV_VSUBNET_MAX_PREFIXES */
#define FP_PORT_CAS 4 /* HNV_PORT_MAX_CAS */
#define FP_CFG_PAS 4  /* local PAs held in fp_cfg */

struct fp_ip {
	__u8 b[16];
};

struct fp_cfg {
	__u8 gw_mac[6];     /* the distributed default gateway's virtual MAC */
	__u8 uplink_mac[6]; /* outer source MAC */
	__u32 uplink_ifindex; /* 0: no uplink attached yet (encap punts) */
	__u32 uplink_mtu;     /* IP MTU of the provider network */
	__u8 flowid;          /* 1: FlowID is the C engine's hash of the inner 5-tuple */
	__u8 has_pa4;         /* pa4 is set: the first local IPv4 PA */
	__u8 has_pa6;         /* pa6 is set: the first local IPv6 PA */
	__u8 trace;           /* 1: every decision is also sent as an FP_EV_TRACE event */
	struct fp_ip pa4;     /* encapsulation source (hnv_policy_local_pa) */
	struct fp_ip pa6;
	/* The local PAs (the keys of fp_pas) inline, so that the test of an
	 * outer destination or a record's PA needs no hash lookup: n_pas is
	 * their number, pas[] the first FP_CFG_PAS of them; with more than
	 * FP_CFG_PAS, an address not in pas[] is looked up in fp_pas. */
	__u32 n_pas;
	struct fp_ip pas[FP_CFG_PAS];
};

/* A virtual subnet. */
#define FP_VSID_DHCP 0x1 /* has a DHCP pool (DHCP is punted either way) */
/* gw_mac is this VSID's router MAC (its default-gateway lookup record);
 * without the flag fp_cfg.gw_mac applies */
#define FP_VSID_GW_MAC 0x2
/* has L2Only records: sources to learn, broadcasts to replicate and frames
 * to an L2Only MAC are punted */
#define FP_VSID_L2ONLY 0x4
struct fp_vsid {
	__u32 rd;      /* routing domain index (the policy's rd_idx) */
	__u8 n_gw;     /* gateway addresses in gw[] */
	__u8 flags;    /* FP_VSID_* */
	__u8 gw_mac[6]; /* with FP_VSID_GW_MAC (struct hnv_vsubnet.gw_mac) */
	__u8 pad[4];
	struct fp_ip gw[FP_VSID_GWS]; /* the lowest address of each prefix */
};

/* A lookup record with a CA. A GatewayWildcard record has an unspecified
 * CA: its key is (vsid, 0.0.0.0) or (vsid, ::) by the record's CA family,
 * so at most one per family, as in the policy. L2Only records (found only
 * by MAC) are not in the fast path: unicast ARP is punted. Records with an
 * IPv4 CA are keyed by the 4 bytes of the address (fp_recs4): a key of 8
 * bytes is hashed and compared in a third of the time of 20. */
struct fp_rec4_key {
	__u32 vsid;
	__u8 ca4[4]; /* the IPv4 address, network order */
};
struct fp_rec_key {
	__u32 vsid;
	struct fp_ip ca; /* IPv6 */
};
struct fp_rec {
	struct fp_ip pa;
	__u8 mac[6];
	__u8 rule; /* enum hnv_rule */
	__u8 type; /* enum hnv_rec_type */
};

/* Customer routes: one LPM trie for every routing domain. prefixlen
 * counts the 32 bits of rd, then the prefix's bits in the 128-bit mapped
 * space: 32 + 96 + len for IPv4, 32 + len for IPv6. Of several routes for
 * one (rd, prefix) the map holds the one the C engine chooses (lowest
 * metric, as hnv_policy_route_lookup). */
struct fp_route_key {
	__u32 prefixlen;
	__u32 rd; /* big-endian in the trie: fp.c stores it with htonl */
	struct fp_ip addr;
};
struct fp_route {
	__u32 vsid;
	__u32 metric;
	struct fp_ip nexthop; /* unspecified: on-link */
};

/* The route cache: what a lookup in fp_routes answered for (rd, an
 * address), found or not. The programs fill it; an entry counts only while
 * its gen equals the global fp_route_gen (fp.bpf.c), which fp.c increments
 * after every change to fp_routes, so a route change takes effect for
 * every address at once, without deleting entries. */
#define FP_RCACHE_ENTRIES 65536 /* in each of the two */
struct fp_rcache4_key {
	__u32 rd;
	__u8 addr4[4]; /* as fp_rec4_key: IPv4 addresses in fp_rcache4 */
};
struct fp_rcache_key {
	__u32 rd;
	struct fp_ip addr; /* IPv6 */
};
struct fp_rcache_val {
	__u64 gen;
	__u32 found; /* 1: route holds the route; 0: no route */
	__u32 pad;
	struct fp_route route;
};

/* A port whose device the fast path serves, by the device's ifindex. */
#define FP_PORT_GATEWAY 0x1 /* a gateway role port (vsid<N> in a VRF): no source checks */
#define FP_PORT_SLOW 0x2    /* hnvgwd holds its TAP: frames to it are punted */
#define FP_PORT_INGRESS 0x4 /* deliver with BPF_F_INGRESS (into the device's own stack: VRF) */
struct fp_port {
	__u16 id; /* the C engine's port id (struct hnv_port.id) */
	__u8 flags;
	__u8 n_cas;
	__u32 vsid;
	__u8 mac[6];
	__u8 has_vs; /* vs is fp_vsids' entry of vsid; 0: the VSID has none */
	__u8 pad;
	struct fp_ip cas[FP_PORT_CAS];
	/* A copy of fp_vsids' entry of vsid, kept with it (fp.c): a frame a
	 * port sends needs no lookup of its VSID. */
	struct fp_vsid vs;
};
struct fp_portmac_key {
	__u32 vsid;
	__u8 mac[6];
	__u8 pad[2]; /* zero */
};
struct fp_port_ref {
	__u32 ifindex;
	__u16 id;
	__u8 flags; /* FP_PORT_* */
	__u8 pad;
};

/* Counters after the reasons: the fast path's own events. */
enum fp_counter {
	FP_C_PUNT = HNV_R__COUNT, /* handed to the slow path */
	FP_C_PUNT_LOST,           /* could not be handed over (perf buffer full): dropped */
	FP_C_PASS,                /* not HNV: left to the host's stack (uplink only) */
	FP_C__COUNT
};

/* Per-port I/O the fast path did, by the C engine's port id (0: the
 * uplink), counted as the engine's I/O layer counts it (datapath/io/fwd.c),
 * so hnvgwd adds the two: rx is what the port sent (VM ports: frames the
 * port ingress or gateway egress program took; the uplink: NVGRE the
 * uplink program took), with its length on arrival; rx_dropped those of
 * them the program dropped; tx what was redirected to the port, with its
 * length as redirected. Frames a program punts or leaves to the host are
 * not counted here: the engine counts the punts it reads. fp.c clears a
 * port's slot when the port enters the maps. */
struct fp_port_stats {
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 rx_dropped;
	__u64 tx_packets;
	__u64 tx_bytes;
};

/* What a program decided about the last packet it saw on this CPU. */
enum fp_action {
	FP_ACT_PASS = 0,     /* TC_ACT_OK: the host stack (uplink) or the TAP (gateway egress) */
	FP_ACT_PUNT = 1,     /* copied to fp_punt, then dropped here */
	FP_ACT_DROP = 2,     /* counted under reason */
	FP_ACT_REDIRECT = 3, /* out_ifindex (uplink: bpf_redirect_neigh) */
};
struct fp_verdict {
	__u32 reason; /* enum hnv_reason; HNV_R__COUNT when none (pass, punt) */
	__u32 out_ifindex;
	__u32 vsid;
	__u8 action; /* enum fp_action */
	__u8 ingress; /* 1: redirected with BPF_F_INGRESS */
	__u16 in_port; /* the C engine's port id of the ingress; 0: uplink */
};

/* A record of fp_punt: this header, then the frame (punt) or nothing
 * (trace). */
enum fp_event {
	FP_EV_PUNT = 1,
	FP_EV_TRACE = 2,
};
struct fp_event_hdr {
	__u16 kind;    /* enum fp_event */
	__u16 in_port; /* the C engine's port id; 0: the uplink */
	__u32 ifindex; /* the device the packet was seen on */
	__u32 len;     /* bytes of frame that follow (punt) */
	struct fp_verdict v; /* trace: the decision */
};

#endif
