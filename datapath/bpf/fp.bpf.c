/* fp.bpf.c: the tc eBPF fast path (fp.h says where each program attaches,
 * fp_maps.h what the maps hold). For every frame it finishes in the kernel
 * it makes the C engine's decision (datapath/dp.c), writes the same bytes
 * and counts the same reason; everything else it punts to hnvgwd, which
 * runs it through the C engine.
 *
 * Each program first decides, reading the frame only (copies of the
 * headers in aligned locals, through pkt_load: in place from the linear
 * data where the header sits at a constant offset, else with
 * bpf_skb_load_bytes, so nonlinear and GSO frames are read in place too;
 * see struct fp_rd), then applies the decision: trim, tag pop,
 * decapsulation or encapsulation, header writes, redirect. A frame is
 * punted only while what it carries still means what the sender sent (a
 * trimmed pad, a popped tag or an RFC 6040 ECN merge change nothing the C
 * engine decides on); a failure after an irreversible write drops it,
 * counted as a lost punt.
 *
 * Stages are named after the dp.c functions they mirror. What a stage
 * relies on from the stages before it is said in its comment.
 */
#include "fp_maps.h"
#include "fp_parse.bpf.h"

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define HNV_RULE_ENCAP 36
#define HNV_VSID_MIN 4096u
#define HNV_VSID_MAX 16777214u
/* perf records are limited to 64 KiB: a larger frame (GSO) cannot be
 * punted and counts as lost */
#define FP_PUNT_MAX 65000u
/* Kernel 6.3+ (absent from the 6.1 uapi): set skb->protocol on decap. */
#define FP_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#define FP_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)
#define E_INVAL_RC (-22)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fp_cfg);
} fp_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_MAX_PAS);
	__type(key, struct fp_ip);
	__type(value, __u8);
} fp_pas SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_MAX_VSIDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct fp_vsid);
} fp_vsids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_MAX_RECORDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fp_rec4_key);
	__type(value, struct fp_rec);
} fp_recs4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_MAX_RECORDS6);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fp_rec_key);
	__type(value, struct fp_rec);
} fp_recs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_MAX_LOCAL_RECORDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fp_rec_key);
	__type(value, struct fp_rec);
} fp_lrecs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, FP_MAX_ROUTES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fp_route_key);
	__type(value, struct fp_route);
} fp_routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FP_RCACHE_ENTRIES);
	__type(key, struct fp_rcache4_key);
	__type(value, struct fp_rcache_val);
} fp_rcache4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FP_RCACHE_ENTRIES);
	__type(key, struct fp_rcache_key);
	__type(value, struct fp_rcache_val);
} fp_rcache SEC(".maps");

/* The generation of fp_routes (see struct fp_rcache_val): written by fp.c
 * (through the skeleton's mapping of .bss) after each change to fp_routes. */
volatile __u64 fp_route_gen;

/* Not preallocated: an entry is rewritten whenever its VSID's entry
 * changes (fp.c, ports_vs_sync), and a preallocated map reuses a replaced
 * element at once, under a program that may still read it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_MAX_PORTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct fp_port);
} fp_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_MAX_PORTS);
	__type(key, struct fp_portmac_key);
	__type(value, struct fp_port_ref);
} fp_port_macs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FP_C__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} fp_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FP_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct fp_port_stats);
} fp_port_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} fp_punt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fp_verdict);
} fp_last SEC(".maps");

/* ---- verdicts, counters, punts ---- */

/* One packet in one program. */
struct fp_ctx {
	struct __sk_buff *skb;
	struct fp_rd rd; /* how the decision reads the frame */
	const struct fp_cfg *cfg;
	struct fp_verdict v;
	bool gw_egress; /* fp_gw_out: a punt goes on to the TAP (TC_ACT_OK) */
	bool lost;      /* applying the decision failed after a write: dropped */
	bool rx_known;  /* v.in_port is the port the frame came from (fp_port_stats) */
	__u16 tx_port;  /* a redirect's port id (0: the uplink) */
	__u32 rx_len;   /* the frame's length on arrival */
};

static __always_inline void count(__u32 idx)
{
	__u64 *n = bpf_map_lookup_elem(&fp_counters, &idx);
	if (n)
		*n += 1;
}

/* One fp_port_stats update: the frame (bytes long) the port sent (rx,
 * dropped or not) or was sent (tx). */
static __always_inline void port_count(__u32 id, bool rx, __u32 bytes, bool dropped)
{
	struct fp_port_stats *s = bpf_map_lookup_elem(&fp_port_stats, &id);
	if (!s)
		return;
	if (rx) {
		s->rx_packets += 1;
		s->rx_bytes += bytes;
		s->rx_dropped += dropped;
	} else {
		s->tx_packets += 1;
		s->tx_bytes += bytes;
	}
}

static __always_inline void decide(struct fp_ctx *c, __u8 action, __u32 reason)
{
	c->v.action = action;
	c->v.reason = reason;
}

/* dp.c's verdict() for a drop: counted under reason. */
#define DROP(c, r) decide((c), FP_ACT_DROP, HNV_R_##r)

/* Also when applying a redirect decision failed: no output then. */
static __always_inline void punt(struct fp_ctx *c)
{
	decide(c, FP_ACT_PUNT, HNV_R__COUNT);
	c->v.out_ifindex = 0;
	c->v.ingress = 0;
}

static __always_inline void pass(struct fp_ctx *c)
{
	decide(c, FP_ACT_PASS, HNV_R__COUNT);
}

/* port: the egress's port id (0: the uplink), for fp_port_stats */
static __always_inline void redirect_to(struct fp_ctx *c, __u32 reason, __u32 ifindex, __u16 port,
					bool ingress)
{
	decide(c, FP_ACT_REDIRECT, reason);
	c->v.out_ifindex = ifindex;
	c->v.ingress = ingress;
	c->tx_port = port;
}

/* Copies the frame into fp_punt for hnvgwd. True when handed over. */
static __always_inline bool punt_output(struct fp_ctx *c)
{
	struct __sk_buff *skb = c->skb;
	__u32 len = skb->len;
	if (len > FP_PUNT_MAX)
		return false;
	struct fp_event_hdr h = {
		.kind = FP_EV_PUNT,
		.in_port = c->v.in_port,
		.ifindex = skb->ifindex,
		.len = len,
		.v = c->v,
	};
	return bpf_perf_event_output(skb, &fp_punt, BPF_F_CURRENT_CPU | (__u64)len << 32, &h,
				     sizeof(h)) == 0;
}

/* cfg.trace: the decision as an FP_EV_TRACE event (no frame). */
static __always_inline void trace(struct fp_ctx *c)
{
	struct fp_event_hdr h = {
		.kind = FP_EV_TRACE,
		.in_port = c->v.in_port,
		.ifindex = c->skb->ifindex,
		.v = c->v,
	};
	bpf_perf_event_output(c->skb, &fp_punt, BPF_F_CURRENT_CPU, &h, sizeof(h));
}

/* The end of every program: counts the decision (and the ports' I/O in
 * fp_port_stats: one update for the port the frame came from, one more
 * for the port a redirect sends it to), records it in fp_last, punts,
 * traces (cfg.trace). redirect_ret: what the redirect helper returned. */
static __always_inline int conclude(struct fp_ctx *c, int redirect_ret)
{
	int ret;
	bool rx_drop = false; /* the frame came from v.in_port and is dropped here */
	if (c->lost) {
		punt(c);
		count(FP_C_PUNT_LOST);
		rx_drop = true;
		ret = TC_ACT_SHOT;
	} else if (c->v.action == FP_ACT_PASS) {
		count(FP_C_PASS);
		ret = TC_ACT_OK;
	} else if (c->v.action == FP_ACT_DROP) {
		count(c->v.reason);
		rx_drop = true;
		ret = TC_ACT_SHOT;
	} else if (c->v.action == FP_ACT_REDIRECT) {
		count(c->v.reason);
		if (c->rx_known)
			port_count(c->v.in_port, true, c->rx_len, false);
		port_count(c->tx_port, false, c->skb->len, false);
		ret = redirect_ret;
	} else if (c->gw_egress) {
		/* the TAP behind this egress is the slow path */
		c->v.action = FP_ACT_PASS;
		count(FP_C_PUNT);
		ret = TC_ACT_OK;
	} else if (punt_output(c)) {
		count(FP_C_PUNT); /* the engine counts it on its port when it reads it */
		ret = TC_ACT_SHOT;
	} else {
		count(FP_C_PUNT_LOST);
		rx_drop = true;
		ret = TC_ACT_SHOT;
	}
	if (rx_drop && c->rx_known)
		port_count(c->v.in_port, true, c->rx_len, true);
	__u32 k = 0;
	struct fp_verdict *last = bpf_map_lookup_elem(&fp_last, &k);
	if (last)
		*last = c->v;
	/* host traffic the uplink program passes is not traced */
	if (c->cfg->trace == 1 && !(c->v.action == FP_ACT_PASS && !c->gw_egress))
		trace(c);
	return ret;
}

/* bpf_skb_store_bytes(skb, off, from, n, 0) for a constant n: written in
 * place when the bytes are in the linear data (pkt_load's twin, also only
 * at constant offsets), which saves the helper call. */
static __always_inline int pkt_store(struct __sk_buff *skb, __u32 off, const void *from,
				     const __u32 n)
{
	if (__builtin_constant_p(off) && off <= FP_DIRECT_MAX) {
		__u8 *p = (__u8 *)(long)skb->data + off;
		if (p + n <= (__u8 *)(long)skb->data_end) {
			__builtin_memcpy(p, from, n);
			return 0;
		}
	}
	return (int)bpf_skb_store_bytes(skb, off, from, n, 0);
}

/* ---- policy lookups (policy_read.h) ---- */

/* hnv_policy_is_local_pa: from fp_cfg's copy of the set; fp_pas only
 * when the set is larger than that copy. */
static __always_inline bool is_local_pa(const struct fp_cfg *cfg, const struct fp_ip *a)
{
	for (__u32 i = 0; i < FP_CFG_PAS; i++)
		if (i < cfg->n_pas && ip_eq(&cfg->pas[i], a))
			return true;
	if (cfg->n_pas <= FP_CFG_PAS)
		return false;
	return bpf_map_lookup_elem(&fp_pas, a) != NULL;
}

/* hnv_policy_rec_by_ca: the record of (vsid, ca) into *out, from
 * fp_recs4 or fp_recs by ca's family. */
static __always_inline bool rec_by_ca(__u32 vsid, const struct fp_ip *ca, struct fp_rec *out)
{
	const struct fp_rec *r;
	if (ip_is_v4(ca)) {
		struct fp_rec4_key k4 = {.vsid = vsid};
		__builtin_memcpy(k4.ca4, ca->b + 12, 4);
		r = bpf_map_lookup_elem(&fp_recs4, &k4);
	} else {
		struct fp_rec_key k = {.vsid = vsid, .ca = *ca};
		r = bpf_map_lookup_elem(&fp_recs, &k);
	}
	if (!r)
		return false;
	*out = *r;
	return true;
}

/* The record of (vsid, ca), else hnv_policy_wildcard: the GatewayWildcard
 * record of vsid for ca's family. */
static __always_inline bool rec_or_wildcard(__u32 vsid, const struct fp_ip *ca, struct fp_rec *out)
{
	if (rec_by_ca(vsid, ca, out))
		return true;
	struct fp_ip z;
	ip_unspec_like(&z, ip_is_v4(ca));
	return rec_by_ca(vsid, &z, out);
}

/* rec_or_wildcard for a destination that is most likely local: fp_lrecs
 * first (a few entries per local port, in the cache), whose entries are
 * the records' own, so a hit is the record; a miss asks rec_or_wildcard. */
static __always_inline bool local_rec_or_wildcard(__u32 vsid, const struct fp_ip *ca,
						  struct fp_rec *out)
{
	struct fp_rec_key k = {.vsid = vsid, .ca = *ca};
	const struct fp_rec *r = bpf_map_lookup_elem(&fp_lrecs, &k);
	if (r) {
		*out = *r;
		return true;
	}
	return rec_or_wildcard(vsid, ca, out);
}

/* hnv_policy_route_lookup in routing domain rd. One trie holds both
 * families; an IPv6 route that covers ::ffff:0:0/96 must not answer for an
 * IPv4 address. The policy gives a route a next hop of its prefix's family
 * (0.0.0.0 or :: when on-link), and any IPv4 route is longer than such an
 * IPv6 route, so a hit whose next hop has the other family means no route. */
static __always_inline bool route_lookup(__u32 rd, const struct fp_ip *dst, struct fp_route *hit)
{
	/* the cache first: one hash lookup instead of a walk down the trie;
	 * gen is read before the trie, so what it answers is stored under a
	 * generation that is at most as new as the trie it read */
	__u64 gen = fp_route_gen;
	bool v4 = ip_is_v4(dst);
	struct fp_rcache4_key ck4 = {.rd = rd};
	struct fp_rcache_key ck = {.rd = rd};
	const struct fp_rcache_val *cv;
	if (v4) {
		__builtin_memcpy(ck4.addr4, dst->b + 12, 4);
		cv = bpf_map_lookup_elem(&fp_rcache4, &ck4);
	} else {
		ck.addr = *dst;
		cv = bpf_map_lookup_elem(&fp_rcache, &ck);
	}
	if (cv && cv->gen == gen) {
		if (!cv->found)
			return false;
		*hit = cv->route;
		return true;
	}
	struct fp_route_key k = {.prefixlen = 32 + 128, .rd = bpf_htonl(rd), .addr = *dst};
	const struct fp_route *r = bpf_map_lookup_elem(&fp_routes, &k);
	struct fp_rcache_val nv = {.gen = gen};
	if (r && ip_is_v4(&r->nexthop) == v4) {
		nv.found = 1;
		nv.route = *r;
	}
	/* a full cache evicts its least recently used entry; a failure only
	 * means the next packet walks the trie again */
	if (v4)
		bpf_map_update_elem(&fp_rcache4, &ck4, &nv, BPF_ANY);
	else
		bpf_map_update_elem(&fp_rcache, &ck, &nv, BPF_ANY);
	if (!nv.found)
		return false;
	*hit = nv.route;
	return true;
}

/* gw_mac_of: the MAC of vs's distributed router, its own (a default-gateway
 * lookup record) or the global one; vs NULL: the global one. */
static __always_inline const __u8 *gw_mac_of(const struct fp_ctx *c, const struct fp_vsid *vs)
{
	return vs && (vs->flags & FP_VSID_GW_MAC) ? vs->gw_mac : c->cfg->gw_mac;
}

/* is_gateway_addr: a is one of vs's default-gateway addresses. */
static __always_inline bool is_gateway_addr(const struct fp_vsid *vs, const struct fp_ip *a)
{
	for (__u32 i = 0; i < FP_VSID_GWS; i++)
		if (i < vs->n_gw && ip_eq(&vs->gw[i], a))
			return true;
	return false;
}

/* port_owns: a is one of the port's CAs. */
static __always_inline bool port_owns(const struct fp_port *pt, const struct fp_ip *a)
{
	for (__u32 i = 0; i < FP_PORT_CAS; i++)
		if (i < pt->n_cas && ip_eq(&pt->cas[i], a))
			return true;
	return false;
}

/* hnv_policy_port_by_mac: the local port with mac in vsid. */
static __always_inline const struct fp_port_ref *port_by_mac(__u32 vsid, const __u8 *mac)
{
	struct fp_portmac_key k = {.vsid = vsid};
	__builtin_memcpy(k.mac, mac, 6);
	return bpf_map_lookup_elem(&fp_port_macs, &k);
}

static __always_inline bool is_link_local6(const struct fp_ip *a)
{
	return a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80;
}

/* ---- uplink receive (rx_uplink) ---- */

struct rx_pkt {
	struct fp_ip outer_src;
	struct fp_ip outer_dst; /* the local PA the frame came to */
	__u32 iplen;   /* outer IP total length */
	__u32 l4off;   /* GRE header offset from the outer IP header */
	__u8 outer_ecn;
	__u8 outer4;
	__u8 ecn_rewrite; /* ecn_decap changed the inner TOS to new_tos */
	__u8 new_tos;
	__u32 vsid;
	const struct fp_vsid *vs;
	struct eth_info eth; /* inner */
	struct ip_info in;   /* inner */
	const struct fp_port_ref *dst;
};

/* rx_outer: the outer Ethernet and IP checks. The frames the fast path
 * takes are IPv4/IPv6 GRE to a local PA, without a tag (a tagged frame is
 * a VLAN device's); anything else is the host's (pass). The C engine's
 * order holds among the checks of the frames it takes: malformed, IPv4
 * header checksum (always verified here), fragment. */
static __always_inline bool rx_outer(struct fp_ctx *c, struct rx_pkt *r)
{
	struct __sk_buff *skb = c->skb;
	__u8 eh[ETH_HLEN];
	if (skb->vlan_present || pkt_load(&c->rd, 0, eh, ETH_HLEN)) {
		pass(c);
		return false;
	}
	__u16 type = rd16(eh + 12);
	__u32 len = skb->len - ETH_HLEN;
	struct ip_info o;
	if (type == ET_IPV4) {
		__u8 h[20];
		struct fp_ip dst;
		if (len < 20 || pkt_load(&c->rd, ETH_HLEN, h, 20) || h[0] >> 4 != 4 ||
		    h[9] != IPPROTO_GRE_) {
			pass(c);
			return false;
		}
		ip_from_v4(&dst, h + 16);
		if (!is_local_pa(c->cfg, &dst)) {
			pass(c);
			return false;
		}
		if (parse_ipv4(&c->rd, ETH_HLEN, len, &o)) {
			DROP(c, drop_bad_ip);
			return false;
		}
		if (!ipv4_csum_ok(&c->rd, ETH_HLEN, o.l4_off)) {
			DROP(c, drop_bad_csum);
			return false;
		}
	} else if (type == ET_IPV6) {
		if (parse_ipv6(&c->rd, ETH_HLEN, len, &o) || o.proto != IPPROTO_GRE_ ||
		    !is_local_pa(c->cfg, &o.dst)) {
			pass(c);
			return false;
		}
		/* mapped PAs would alias IPv4 ones */
		if (ip_is_v4(&o.src) || ip_is_v4(&o.dst)) {
			DROP(c, drop_bad_ip);
			return false;
		}
	} else {
		pass(c);
		return false;
	}
	if (o.fragment) {
		DROP(c, drop_ip_fragment);
		return false;
	}
	r->outer_src = o.src;
	r->outer_dst = o.dst;
	r->outer_ecn = o.tos & 3;
	r->outer4 = o.v4;
	r->l4off = o.l4_off;
	r->iplen = o.l3_len;
	return true;
}

/* rx_uplink's NVGRE step: header rules (hnv_nvgre_parse), VSID range, a
 * configured virtual subnet. Upstream: rx_outer; l4off is r->l4off. */
static __always_inline bool rx_nvgre(struct fp_ctx *c, struct rx_pkt *r, __u32 l4off)
{
	__u8 flow_id;
	int rc = parse_nvgre(&c->rd, ETH_HLEN + l4off, r->iplen - l4off, &r->vsid, &flow_id);
	if (rc) {
		if (rc == -E_MSGSIZE)
			DROP(c, drop_runt);
		else if (rc == -E_PROTO)
			DROP(c, drop_gre_proto);
		else
			DROP(c, drop_gre_flags);
		return false;
	}
	c->v.vsid = r->vsid;
	if (r->vsid < HNV_VSID_MIN || r->vsid > HNV_VSID_MAX) {
		DROP(c, drop_vsid_reserved);
		return false;
	}
	r->vs = bpf_map_lookup_elem(&fp_vsids, &r->vsid);
	if (!r->vs) {
		DROP(c, drop_vsid_unknown);
		return false;
	}
	return true;
}

/* ecn_decap (RFC 6040): the outer ECN merged into the inner header; false
 * for outer CE over Not-ECT. Sets ecn_rewrite/new_tos, writes nothing. */
static __always_inline bool ecn_decap(struct rx_pkt *r)
{
	r->ecn_rewrite = 0;
	if (!r->in.v4 && !r->in.v6)
		return true;
	__u8 tos = r->in.tos, inner = tos & 3, set = inner;
	if (r->outer_ecn == 3)
		set = inner == 0 ? 0xff : 3;
	else if (r->outer_ecn == 1 && inner == 2)
		set = 1;
	if (set == 0xff)
		return false;
	if (set != inner) {
		r->ecn_rewrite = 1;
		r->new_tos = (__u8)((tos & 0xfc) | set);
	}
	return true;
}

/* rx_uplink's anti-spoofing: the inner source CA (through the route when
 * the sender's host routed it: source MAC is the gateway MAC) must have a
 * record (or the wildcard) whose PA is the outer source and, unless routed,
 * whose MAC is the inner source MAC. Upstream: an inner IP frame. */
static __always_inline bool rx_antispoof(struct fp_ctx *c, struct rx_pkt *r)
{
	struct fp_ip src_ca = r->in.src;
	__u32 src_vsid = r->vsid;
	bool routed = mac_eq(r->eth.src, gw_mac_of(c, r->vs));
	if (routed) {
		struct fp_route hit;
		if (!route_lookup(r->vs->rd, &src_ca, &hit)) {
			DROP(c, drop_spoof);
			return false;
		}
		src_vsid = hit.vsid;
		if (!ip_is_unspec(&hit.nexthop))
			src_ca = hit.nexthop;
	}
	struct fp_rec rec;
	if (!rec_or_wildcard(src_vsid, &src_ca, &rec) || !ip_eq(&rec.pa, &r->outer_src) ||
	    (!routed && !mac_eq(rec.mac, r->eth.src))) {
		/* an L2Only VM's address the C engine may learn */
		if (!routed && (r->vs->flags & FP_VSID_L2ONLY))
			punt(c);
		else
			DROP(c, drop_spoof);
		return false;
	}
	return true;
}

/* rx_uplink after rx_outer: the NVGRE header and the inner frame, at
 * l4off (r->l4off) after the outer IP header. */
static __always_inline void rx_inner(struct fp_ctx *c, struct rx_pkt *r, __u32 l4off)
{
	if (!rx_nvgre(c, r, l4off))
		return;
	/* classify() of the inner frame, which ends where the outer IP packet ends */
	__u32 inner_off = ETH_HLEN + l4off + NVGRE_HLEN;
	__u32 inner_len = r->iplen - l4off - NVGRE_HLEN;
	if (parse_eth(&c->rd, inner_off, inner_len, &r->eth, 2)) {
		DROP(c, drop_runt);
		return;
	}
	if (parse_ip_after(&c->rd, &r->eth, inner_off, inner_len, &r->in)) {
		DROP(c, drop_bad_ip);
		return;
	}
	if (r->eth.tags) {
		DROP(c, drop_inner_vlan);
		return;
	}
	if (!ecn_decap(r)) {
		DROP(c, drop_ecn);
		return;
	}
	if (!r->in.v4 && !r->in.v6) {
		/* ARP is checked against the records by the C engine */
		if (r->eth.type == ET_ARP)
			punt(c);
		else
			DROP(c, drop_non_ip);
		return;
	}
	/* MS-NVGREE REDIRECT / UNREACHABLE to this PA (nvx_receive): the C
	 * engine's, before anti-spoofing */
	if (ip_eq(&r->in.dst, &r->outer_dst)) {
		punt(c);
		return;
	}
	if (!rx_antispoof(c, r))
		return;
	if (mac_is_group(r->eth.dst)) {
		if (r->vs->flags & FP_VSID_L2ONLY)
			punt(c); /* replicated to the local ports by the C engine */
		else
			DROP(c, drop_broadcast);
		return;
	}
	/* nvx_check_dst: a destination CA whose record names another PA
	 * (REDIRECT), or without a record and not for a local port's MAC
	 * (UNREACHABLE), is the C engine's; without a record, a frame to a
	 * local port's MAC is that port's (a gateway port, a next hop VM) */
	r->dst = port_by_mac(r->vsid, r->eth.dst);
	struct fp_rec drec;
	bool has_rec = local_rec_or_wildcard(r->vsid, &r->in.dst, &drec);
	if ((has_rec && !is_local_pa(c->cfg, &drec.pa)) || (!has_rec && !r->dst)) {
		punt(c);
		return;
	}
	if (!r->dst) {
		DROP(c, drop_no_local_port);
		return;
	}
	if (r->dst->flags & FP_PORT_SLOW) {
		punt(c);
		return;
	}
	redirect_to(c, HNV_R_rx_decap_delivered, r->dst->ifindex, r->dst->id,
		    r->dst->flags & FP_PORT_INGRESS);
}

/* rx_uplink: decides about a frame from the uplink. A redirect decision
 * leaves r ready for rx_deliver. */
static __always_inline void rx_uplink(struct fp_ctx *c, struct rx_pkt *r)
{
	if (!rx_outer(c, r))
		return;
	/* an outer IPv4 header without options (the common case): the inner
	 * headers are at constant offsets, read in place (pkt_load) */
	if (r->l4off == 20) {
		rx_inner(c, r, 20);
		return;
	}
	__u32 l4off = r->l4off;
	fp_opaque(l4off); /* a second copy: not merged with the one above */
	rx_inner(c, r, l4off);
}

/* Applies a delivery: trims what follows the inner IP packet (outer and
 * inner padding, as classify does), merges the ECN, removes outer IP, GRE
 * and inner Ethernet headers, writes the inner Ethernet header over the
 * outer one, redirects. Returns the redirect helper's verdict; punts the
 * frame if it could not be changed. */
static __always_inline int rx_deliver(struct fp_ctx *c, struct rx_pkt *r)
{
	struct __sk_buff *skb = c->skb;
	__u32 inner_off = ETH_HLEN + r->l4off + NVGRE_HLEN;
	__u32 l3 = inner_off + ETH_HLEN;
	__u32 want = l3 + r->in.l3_len;
	if (skb->len > want && bpf_skb_change_tail(skb, want, 0)) {
		punt(c);
		return TC_ACT_SHOT;
	}
	if (r->ecn_rewrite) {
		/* idempotent: if the frame is punted after this, the C engine
		 * merges the same outer ECN again to the same value */
		__u8 ntos = r->new_tos;
		__u8 w[2];
		int rc;
		if (r->in.v4) {
			__u8 ck[2];
			w[0] = r->in.b0;
			w[1] = ntos;
			wr16(ck, csum_update16(r->in.csum, (__u16)(r->in.b0 << 8 | r->in.tos),
					       (__u16)(r->in.b0 << 8 | ntos)));
			rc = bpf_skb_store_bytes(skb, l3, w, 2, BPF_F_RECOMPUTE_CSUM) |
			     bpf_skb_store_bytes(skb, l3 + 10, ck, 2, BPF_F_RECOMPUTE_CSUM);
		} else {
			w[0] = (__u8)(0x60 | ntos >> 4);
			w[1] = (__u8)((r->in.b1 & 0x0f) | (ntos & 0x0f) << 4);
			rc = bpf_skb_store_bytes(skb, l3, w, 2, BPF_F_RECOMPUTE_CSUM);
		}
		if (rc) {
			punt(c);
			return TC_ACT_SHOT;
		}
	}
	/* GSO: the inner segment size stays (FIXED_GSO) */
	__u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO;
	if (r->in.v4 && !r->outer4)
		flags |= FP_ADJ_ROOM_DECAP_L3_IPV4;
	else if (r->in.v6 && r->outer4)
		flags |= FP_ADJ_ROOM_DECAP_L3_IPV6;
	__s32 diff = -(__s32)(r->l4off + NVGRE_HLEN + ETH_HLEN);
	long rc = bpf_skb_adjust_room(skb, diff, BPF_ADJ_ROOM_MAC, flags);
	if (rc == E_INVAL_RC && flags != BPF_F_ADJ_ROOM_FIXED_GSO)
		rc = bpf_skb_adjust_room(skb, diff, BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_FIXED_GSO);
	if (rc) {
		punt(c);
		return TC_ACT_SHOT;
	}
	__u8 eh[ETH_HLEN];
	__builtin_memcpy(eh, r->eth.dst, 6);
	__builtin_memcpy(eh + 6, r->eth.src, 6);
	wr16(eh + 12, r->eth.type);
	if (pkt_store(skb, 0, eh, ETH_HLEN)) {
		c->lost = true;
		return TC_ACT_SHOT;
	}
	return (int)bpf_redirect(c->v.out_ifindex, c->v.ingress ? BPF_F_INGRESS : 0);
}

SEC("tc")
int fp_uplink_in(struct __sk_buff *skb)
{
	__u32 k = 0;
	const struct fp_cfg *cfg = bpf_map_lookup_elem(&fp_cfg, &k);
	if (!cfg)
		return TC_ACT_OK;
	/* the uplink is port 0 of fp_port_stats */
	struct fp_ctx c = {.skb = skb,
			   .rd = {.skb = skb},
			   .cfg = cfg,
			   .v = {.reason = HNV_R__COUNT},
			   .rx_known = true,
			   .rx_len = skb->len};
	struct rx_pkt r = {};
	rx_uplink(&c, &r);
	if (c.rd.short_) {
		/* a header past the linear data: decide again (struct fp_rd) */
		c = (struct fp_ctx){.skb = skb,
				    .rd = {.skb = skb, .slow = true},
				    .cfg = cfg,
				    .v = {.reason = HNV_R__COUNT},
				    .rx_known = true,
				    .rx_len = skb->len};
		r = (struct rx_pkt){};
		rx_uplink(&c, &r);
	}
	int ret = TC_ACT_SHOT;
	if (c.v.action == FP_ACT_REDIRECT)
		ret = rx_deliver(&c, &r);
	return conclude(&c, ret);
}

/* ---- VM transmit (tx_vm, tx_route, output) ---- */

struct tx_pkt {
	const struct fp_port *pt;
	const struct fp_vsid *vs;
	struct eth_info eth;
	struct ip_info in;
	__u32 tags; /* 802.1Q tags to pop: in the data and offloaded */
	/* the decision */
	struct fp_rec rec; /* the destination's record */
	__u8 src_mac[6];   /* routed: the source MAC (the destination VSID's router) */
	__u8 routed;
	__u8 local;   /* deliver to a local port (else encapsulate) */
	__u8 outer4;
	__u8 flow_id;
};

/* tx_nd and hnv_dhcp_serve's claim: true for what the C engine answers or
 * judges itself: ICMPv6 NS, NA, RS (and ICMPv6 it would reject), IPv4 UDP
 * from or to port 67 or 68 (not a later fragment). Upstream: an IP frame. */
static __always_inline bool tx_is_slow(struct fp_ctx *c, struct tx_pkt *t)
{
	struct ip_info *in = &t->in;
	__u32 l4 = t->eth.hlen + in->l4_off;
	__u8 b[4];
	if (in->v6) {
		if (in->proto != 58 || in->fragment)
			return false;
		if (in->l3_len - in->l4_off < 4 || pkt_load(&c->rd, l4, b, 1))
			return true;
		return b[0] == 133 || b[0] == 135 || b[0] == 136;
	}
	if (in->proto != 17 || in->l3_len < (__u32)in->l4_off + 8 || (in->frag & IPV4_OFFMASK))
		return false;
	if (pkt_load(&c->rd, l4, b, 4))
		return true;
	__u16 sport = rd16(b), dport = rd16(b + 2);
	return sport == 67 || sport == 68 || dport == 67 || dport == 68;
}

/* flow_id: the C engine's 8-bit hash of the inner 5-tuple. */
static __always_inline __u8 flow_id(struct fp_ctx *c, const struct tx_pkt *t)
{
	const struct ip_info *in = &t->in;
	__u64 a, b, cc, d;
	__builtin_memcpy(&a, in->src.b, 8);
	__builtin_memcpy(&b, in->src.b + 8, 8);
	__builtin_memcpy(&cc, in->dst.b, 8);
	__builtin_memcpy(&d, in->dst.b + 8, 8);
	__u64 h = (a ^ cc) * 0x9e3779b97f4a7c15ull ^ (b ^ d);
	__u8 proto = in->fragment ? 0 : in->proto;
	__u8 p[4];
	if ((proto == 6 || proto == 17 || proto == 132) && in->l3_len - in->l4_off >= 4 &&
	    !pkt_load(&c->rd, t->eth.hlen + in->l4_off, p, 4))
		h ^= (__u64)rd32(p) << 8 | proto;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 32;
	h ^= h >> 16;
	h ^= h >> 8;
	return (__u8)h;
}

/* The length of a GSO frame's segments at L3: the inner L3 and L4 headers
 * and gso_size. 0 when it cannot tell (not TCP or UDP). */
static __always_inline __u32 gso_l3_len(struct fp_ctx *c, const struct tx_pkt *t)
{
	const struct ip_info *in = &t->in;
	__u32 l4 = t->eth.hlen + in->l4_off;
	__u32 l4h;
	if (in->proto == 6) {
		__u8 b;
		if (pkt_load(&c->rd, l4 + 12, &b, 1))
			return 0;
		l4h = (__u32)(b >> 4) * 4;
	} else if (in->proto == 17) {
		l4h = 8;
	} else {
		return 0;
	}
	return in->l4_off + l4h + c->skb->gso_size;
}

/* output: local delivery when the record's PA is ours, else the MTU check
 * and NVGRE encapsulation toward the record's PA. The ICMP errors of the
 * MTU check, an uplink not yet attached and a port hnvgwd serves itself
 * are the C engine's (punt). Upstream: t->rec set, MACs decided. */
static __always_inline void output(struct fp_ctx *c, struct tx_pkt *t, __u32 vsid)
{
	const struct fp_cfg *cfg = c->cfg;
	c->v.vsid = vsid;
	if (t->rec.rule != HNV_RULE_ENCAP) {
		DROP(c, drop_rule);
		return;
	}
	if (is_local_pa(cfg, &t->rec.pa)) {
		const struct fp_port_ref *dst = port_by_mac(vsid, t->rec.mac);
		if (!dst) {
			DROP(c, drop_no_local_port);
			return;
		}
		if (dst->flags & FP_PORT_SLOW) {
			punt(c);
			return;
		}
		t->local = 1;
		redirect_to(c, t->routed ? HNV_R_tx_routed_local : HNV_R_tx_local, dst->ifindex,
			    dst->id, dst->flags & FP_PORT_INGRESS);
		return;
	}
	t->outer4 = ip_is_v4(&t->rec.pa);
	__u32 room = cfg->uplink_mtu - (t->outer4 ? 20u : 40u) - NVGRE_HLEN - ETH_HLEN;
	if (c->skb->gso_size) {
		__u32 seg = gso_l3_len(c, t);
		if (!seg || seg > room) {
			punt(c);
			return;
		}
	} else if (t->in.l3_len > room) {
		punt(c);
		return;
	}
	if (t->outer4 ? !cfg->has_pa4 : !cfg->has_pa6) {
		DROP(c, drop_no_pa);
		return;
	}
	if (!cfg->uplink_ifindex) {
		punt(c);
		return;
	}
	t->flow_id = cfg->flowid ? flow_id(c, t) : 0;
	redirect_to(c, t->routed ? HNV_R_tx_routed_encap : HNV_R_tx_encap, cfg->uplink_ifindex, 0,
		    false);
}

/* reply_echo's test: an ICMP (v6) echo request the C engine answers. */
static __always_inline bool is_echo_request(struct fp_ctx *c, const struct tx_pkt *t)
{
	const struct ip_info *in = &t->in;
	__u8 type;
	if (in->fragment || in->l3_len - in->l4_off < 8 ||
	    pkt_load(&c->rd, t->eth.hlen + in->l4_off, &type, 1))
		return false;
	if (in->v4)
		return in->proto == 1 && type == 8;
	return in->proto == 58 && type == 128 && in->l4_off == 40;
}

/* Traffic to a default-gateway address: echo requests are answered by the
 * C engine, the rest is dropped. */
static __always_inline void to_gateway_addr(struct fp_ctx *c, const struct tx_pkt *t)
{
	if (is_echo_request(c, t))
		punt(c);
	else
		DROP(c, drop_gateway_addr);
}

/* tx_route: a frame to the gateway MAC, routed in the routing domain of
 * the port's VSID. Upstream: tx_vm's checks. */
static __always_inline void tx_route(struct fp_ctx *c, struct tx_pkt *t)
{
	const struct fp_ip *dst = &t->in.dst;
	if (is_gateway_addr(t->vs, dst)) {
		to_gateway_addr(c, t);
		return;
	}
	struct fp_route hit;
	if (!route_lookup(t->vs->rd, dst, &hit)) {
		DROP(c, drop_no_route);
		return;
	}
	const struct fp_vsid *dvs = bpf_map_lookup_elem(&fp_vsids, &hit.vsid);
	if (dvs && is_gateway_addr(dvs, dst)) {
		to_gateway_addr(c, t);
		return;
	}
	const struct fp_ip *target = ip_is_unspec(&hit.nexthop) ? dst : &hit.nexthop;
	if (!rec_or_wildcard(hit.vsid, target, &t->rec)) {
		DROP(c, drop_no_record);
		return;
	}
	if (t->in.ttl <= 1) {
		DROP(c, drop_ttl);
		return;
	}
	t->routed = 1;
	/* from the router of the destination's VSID */
	__builtin_memcpy(t->src_mac, gw_mac_of(c, dvs), 6);
	output(c, t, hit.vsid);
}

/* tx_vm: decides about a frame a VM (or a gateway port) sent. A redirect
 * decision leaves t ready for tx_apply. */
static __always_inline void tx_vm(struct fp_ctx *c, struct tx_pkt *t)
{
	struct __sk_buff *skb = c->skb;
	__u32 ifindex = skb->ifindex;
	t->pt = bpf_map_lookup_elem(&fp_ports, &ifindex);
	if (!t->pt) {
		/* a gateway TAP not (yet) in the map: the C engine reads it */
		if (c->gw_egress)
			punt(c);
		else
			DROP(c, drop_port_unknown);
		return;
	}
	const struct fp_port *pt = t->pt;
	c->v.in_port = pt->id;
	c->rx_known = true;
	t->vs = pt->has_vs ? &pt->vs : NULL;
	if (!t->vs) {
		DROP(c, drop_vsid_unknown);
		return;
	}
	c->v.vsid = pt->vsid;
	/* classify(); an offloaded tag counts as the first of two */
	__u32 vlan = skb->vlan_present ? 1 : 0;
	if (parse_eth(&c->rd, 0, skb->len, &t->eth, 2 - vlan)) {
		DROP(c, drop_runt);
		return;
	}
	if (parse_ip_after(&c->rd, &t->eth, 0, skb->len, &t->in)) {
		DROP(c, drop_bad_ip);
		return;
	}
	t->tags = t->eth.tags + vlan; /* stripped in tx_apply, as the C engine strips them */
	if (!mac_eq(t->eth.src, pt->mac)) {
		DROP(c, drop_spoof);
		return;
	}
	/* ARP, other non-IP, neighbour discovery, DHCP: the C engine's */
	if ((!t->in.v4 && !t->in.v6) || tx_is_slow(c, t)) {
		punt(c);
		return;
	}
	bool l2 = t->vs->flags & FP_VSID_L2ONLY;
	if (!(pt->flags & FP_PORT_GATEWAY) && !port_owns(pt, &t->in.src) &&
	    !(t->in.v6 && is_link_local6(&t->in.src))) {
		if (l2)
			punt(c); /* learned or to learn: the C engine's */
		else
			DROP(c, drop_spoof);
		return;
	}
	if (mac_is_group(t->eth.dst)) {
		if (l2)
			punt(c); /* flooded by the C engine */
		else
			DROP(c, drop_broadcast);
		return;
	}
	if (mac_eq(t->eth.dst, gw_mac_of(c, t->vs))) {
		tx_route(c, t);
		return;
	}
	/* bridged inside the VSID: by destination IP, MAC confirmed */
	if (!rec_by_ca(pt->vsid, &t->in.dst, &t->rec) || !mac_eq(t->rec.mac, t->eth.dst)) {
		if (l2)
			punt(c); /* perhaps to an L2Only MAC: not in the maps */
		else
			DROP(c, drop_no_record);
		return;
	}
	output(c, t, pt->vsid);
}

/* ttl_dec's write at the inner IP header (l3): the decremented TTL with
 * the checksum fixed, or the hop limit. Upstream: ttl > 1. */
static __always_inline int ttl_dec(struct __sk_buff *skb, const struct ip_info *in, __u32 l3)
{
	if (in->v4) {
		__u8 w[4];
		__u8 ttl = in->ttl - 1;
		w[0] = ttl;
		w[1] = in->proto;
		wr16(w + 2, csum_update16(in->csum, (__u16)(in->ttl << 8 | in->proto),
					  (__u16)(ttl << 8 | in->proto)));
		return pkt_store(skb, l3 + 8, w, 4);
	}
	__u8 hl = in->ttl - 1;
	return pkt_store(skb, l3 + 7, &hl, 1);
}

/* output's encapsulation headers, as dp.c writes them: outer Ethernet
 * (destination left to bpf_redirect_neigh), outer IPv4 (ID 0: the C
 * engine's running ID is not reproduced) or IPv6 (flow label = FlowID),
 * NVGRE, and the inner Ethernet header. Returns the bytes written at h. */
static __always_inline __u32 encap_headers(struct fp_ctx *c, const struct tx_pkt *t, __u32 vsid,
					   const __u8 *inner_eth, __u8 *h)
{
	const struct fp_cfg *cfg = c->cfg;
	__u16 payload = (__u16)(NVGRE_HLEN + ETH_HLEN + t->in.l3_len);
	__u8 *ip = h + ETH_HLEN;
	__u8 *g;
	__builtin_memset(h, 0, 6);
	__builtin_memcpy(h + 6, cfg->uplink_mac, 6);
	if (t->outer4) {
		wr16(h + 12, ET_IPV4);
		ip[0] = 0x45;
		ip[1] = t->in.tos;
		wr16(ip + 2, (__u16)(20 + payload));
		wr16(ip + 4, 0);
		wr16(ip + 6, IPV4_DF);
		ip[8] = 64;
		ip[9] = IPPROTO_GRE_;
		wr16(ip + 10, 0);
		__builtin_memcpy(ip + 12, cfg->pa4.b + 12, 4);
		__builtin_memcpy(ip + 16, t->rec.pa.b + 12, 4);
		wr16(ip + 10, ipv4_hdr_csum20(ip));
		g = ip + 20;
	} else {
		wr16(h + 12, ET_IPV6);
		wr32(ip, 6u << 28 | (__u32)t->in.tos << 20 | t->flow_id);
		wr16(ip + 4, payload);
		ip[6] = IPPROTO_GRE_;
		ip[7] = 64;
		__builtin_memcpy(ip + 8, cfg->pa6.b, 16);
		__builtin_memcpy(ip + 24, t->rec.pa.b, 16);
		g = ip + 40;
	}
	wr16(g, NVGRE_FLAGS_VALUE);
	wr16(g + 2, ET_TEB);
	wr32(g + 4, vsid << 8 | t->flow_id);
	__builtin_memcpy(g + NVGRE_HLEN, inner_eth, ETH_HLEN);
	return t->outer4 ? 56 : 76;
}

/* Applies a tx decision: trims the padding (classify), pops the tags
 * (tx_vm), then writes the routed MACs and TTL (tx_route) and delivers
 * locally, or encapsulates (output). Returns the redirect helper's
 * verdict. */
static __always_inline int tx_apply(struct fp_ctx *c, struct tx_pkt *t)
{
	struct __sk_buff *skb = c->skb;
	__u32 want = t->eth.hlen + t->in.l3_len;
	if (!skb->gso_size && skb->len > want && bpf_skb_change_tail(skb, want, 0)) {
		punt(c);
		return TC_ACT_SHOT;
	}
	for (__u32 i = 0; i < 2; i++) {
		if (i < t->tags && bpf_skb_vlan_pop(skb)) {
			punt(c); /* what is left of the tags the C engine strips */
			return TC_ACT_SHOT;
		}
	}
	__u8 eh[ETH_HLEN];
	if (t->routed) {
		__builtin_memcpy(eh, t->rec.mac, 6);
		__builtin_memcpy(eh + 6, t->src_mac, 6);
	} else {
		__builtin_memcpy(eh, t->eth.dst, 6);
		__builtin_memcpy(eh + 6, t->eth.src, 6);
	}
	wr16(eh + 12, t->eth.type);
	if (t->local) {
		if (t->routed && (pkt_store(skb, 0, eh, 12) ||
				  ttl_dec(skb, &t->in, ETH_HLEN))) {
			c->lost = true;
			return TC_ACT_SHOT;
		}
		return (int)bpf_redirect(c->v.out_ifindex, c->v.ingress ? BPF_F_INGRESS : 0);
	}
	__u32 olen = t->outer4 ? 20 : 40;
	__u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L4_GRE |
		      BPF_F_ADJ_ROOM_ENCAP_L2_ETH | BPF_F_ADJ_ROOM_ENCAP_L2(ETH_HLEN) |
		      (t->outer4 ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 : BPF_F_ADJ_ROOM_ENCAP_L3_IPV6);
	if (bpf_skb_adjust_room(skb, (__s32)(olen + NVGRE_HLEN + ETH_HLEN), BPF_ADJ_ROOM_MAC,
				flags)) {
		punt(c);
		return TC_ACT_SHOT;
	}
	__u8 h[76];
	__u32 n = encap_headers(c, t, c->v.vsid, eh, h);
	int rc = n == 56 ? pkt_store(skb, 0, h, 56) : pkt_store(skb, 0, h, 76);
	if (!rc && t->routed) /* at a constant offset: written in place */
		rc = t->outer4 ? ttl_dec(skb, &t->in, ETH_HLEN + 20 + NVGRE_HLEN + ETH_HLEN)
			       : ttl_dec(skb, &t->in, ETH_HLEN + 40 + NVGRE_HLEN + ETH_HLEN);
	if (rc) {
		c->lost = true;
		return TC_ACT_SHOT;
	}
	return (int)bpf_redirect_neigh(c->v.out_ifindex, NULL, 0, 0);
}

static __always_inline int tx_prog(struct __sk_buff *skb, bool gw_egress)
{
	__u32 k = 0;
	const struct fp_cfg *cfg = bpf_map_lookup_elem(&fp_cfg, &k);
	if (!cfg)
		return TC_ACT_OK;
	struct fp_ctx c = {.skb = skb,
			   .rd = {.skb = skb},
			   .cfg = cfg,
			   .v = {.reason = HNV_R__COUNT},
			   .gw_egress = gw_egress,
			   .rx_len = skb->len};
	struct tx_pkt t = {};
	tx_vm(&c, &t);
	/* the Ethernet header, read in place, is always in the linear data
	 * of a frame from an Ethernet device; if not, the C engine decides */
	if (c.rd.short_)
		punt(&c);
	int ret = TC_ACT_SHOT;
	if (c.v.action == FP_ACT_REDIRECT)
		ret = tx_apply(&c, &t);
	return conclude(&c, ret);
}

/* VM port ingress: frames a VM sends on a device someone else created. */
SEC("tc")
int fp_port_in(struct __sk_buff *skb)
{
	return tx_prog(skb, false);
}

/* Gateway port egress: frames the kernel routes out of a gateway port's
 * TAP; what is not handled goes on to the TAP and hnvgwd. */
SEC("tc")
int fp_gw_out(struct __sk_buff *skb)
{
	return tx_prog(skb, true);
}
