/* dp.c: the HNV forwarding decision (see dp.h and ARCHITECTURE.md).
 *
 * Two entry paths share the output stage:
 *   uplink -> rx_uplink: outer checks, NVGRE decode, ECN (RFC 6040),
 *             anti-spoofing against the lookup records, delivery to a port;
 *   VM port -> tx_vm: source checks, ARP/ND answered from the records,
 *             bridging inside the VSID or routing inside the routing domain;
 *   both   -> output: local delivery when the record's PA is ours, else MTU
 *             check (ICMP errors back to the VM) and NVGRE encapsulation.
 * Each stage validates what it reads; what an upstream stage validated is
 * noted in the stage's comment. Every outcome is one counter.
 */
#define _LGPL_SOURCE
#include "dp.h"

#include "../lib/clock.h"
#include "../lib/log.h"
#include "dhcp.h"
#include "nvgre_ext.h"
#include "policy_read.h"
#include "proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-qsbr.h>

struct neigh_table {
	uint32_t mask;
	uint32_t n;
	struct neigh {
		bool used;
		struct hnv_ip pa;
		struct hnv_mac mac;
	} e[];
};

/* Per-worker state of the MS-NVGREE messages (each worker limits on its
 * own: with N workers (hnvgwd --fwd-threads N) a sender may get up to N
 * times the rate). */
#define NVX_REDIRECT_SLOTS 256
#define NVX_LOG_PEERS 16
struct nvx_state {
	struct nvx_sent { /* last REDIRECT per (sender PA, VSID, CA), hashed */
		struct hnv_ip sender, ca;
		uint32_t vsid;
		int64_t at_ms;
	} redirect[NVX_REDIRECT_SLOTS];
	double tokens; /* UNREACHABLE token bucket */
	int64_t tokens_ms;
	struct nvx_peer { /* last UNREACHABLE log line per peer */
		struct hnv_ip pa;
		int64_t at_ms;
	} logged[NVX_LOG_PEERS];
	unsigned log_next;
};

/* One cache line or more of its own (hnv_dp_worker_new): each forwarding
 * thread writes its worker's counters per packet, and workers allocated
 * one after the other must not share a line between threads. */
struct hnv_dp_worker {
	_Alignas(64) struct nvx_state nvx;
	struct hnv_dp *dp;
	struct hnv_policy *pol;
	const struct hnv_dp_settings *set; /* for the batch being processed */
	struct hnv_dp_worker *next;
	uint16_t ip_id;
	uint32_t now; /* the engine's clock for the batch (seconds) */
	_Atomic uint64_t cnt[HNV_R__COUNT];
};

/* A REDIRECT a worker accepted, waiting for the control thread. */
#define NVX_PENDING_MAX 64
struct nvx_pending {
	uint32_t vsid;
	struct hnv_ip ca, from_pa, new_pa;
};
/* An address a forwarding thread saw that the policy should learn. */
struct learn_ev {
	uint32_t vsid;
	struct hnv_ip ca, pa;
	struct hnv_mac mac;
};
#define LEARN_QUEUE 256

struct hnv_dp {
	pthread_mutex_t nvx_lock; /* pending[] */
	unsigned n_pending;
	struct nvx_pending pending[NVX_PENDING_MAX];
	int nvx_efd; /* eventfd: readable while REDIRECTs wait */
	struct hnv_policy *policy;
	struct hnv_dp_settings *set; /* RCU; workers read it per packet; replaced whole */
	struct neigh_table *neigh;   /* RCU */
	pthread_mutex_t lock;        /* workers list and retired counters */
	struct hnv_dp_worker *workers;
	uint64_t retired[HNV_R__COUNT];
	/* control thread only */
	hnv_dp_settings_fn settings_fn;
	void *settings_arg;
	hnv_dp_counters_fn counters_fn;
	void *counters_arg;
	/* learning: the queue (workers append under learn_lock), the clock */
	pthread_mutex_t learn_lock;
	struct learn_ev learn_q[LEARN_QUEUE];
	unsigned learn_n;
	uint64_t learn_lost;              /* under learn_lock */
	struct hnv_dp_learn_stats lstats; /* control thread */
	_Atomic unsigned learn_timeout;
	hnv_dp_clock_fn clock_fn;
	void *clock_arg;
};

static const char *const reason_names[] = {
#define HNV_REASON_NAME(n, d, t) #n,
	HNV_REASONS(HNV_REASON_NAME)
#undef HNV_REASON_NAME
};
static const bool reason_drop[] = {
#define HNV_REASON_DROP(n, d, t) d,
	HNV_REASONS(HNV_REASON_DROP)
#undef HNV_REASON_DROP
};

const char *hnv_reason_name(enum hnv_reason r)
{
	return r < HNV_R__COUNT ? reason_names[r] : "?";
}

static const char *const reason_texts[] = {
#define HNV_REASON_TEXT(n, d, t) t,
	HNV_REASONS(HNV_REASON_TEXT)
#undef HNV_REASON_TEXT
};

const char *hnv_reason_text(enum hnv_reason r)
{
	return r < HNV_R__COUNT ? reason_texts[r] : "?";
}

bool hnv_reason_is_drop(enum hnv_reason r)
{
	return r < HNV_R__COUNT && reason_drop[r];
}

static const char *const stage_names[HNV_ST__COUNT] = {
	"parse", "decap",  "antispoof", "classify", "arp",     "nd",
	"route", "lookup", "mtu",       "encap",    "deliver", "verdict",
};

const char *hnv_stage_name(enum hnv_stage s)
{
	return s < HNV_ST__COUNT ? stage_names[s] : "?";
}

int hnv_pkt_load(struct hnv_pkt *p, const void *frame, size_t len, uint16_t in_port)
{
	if (len > HNV_PKT_BUFSIZE - HNV_PKT_HEADROOM)
		return -EMSGSIZE;
	p->data = p->buf + HNV_PKT_HEADROOM;
	memcpy(p->data, frame, len);
	p->len = (uint32_t)len;
	p->in_port = in_port;
	p->out_port = 0;
	p->reason = 0;
	p->flags = 0;
	p->vsid = 0;
	p->trace = NULL;
	return 0;
}

/* ---- context ---- */

struct hnv_dp *hnv_dp_new(void)
{
	struct hnv_dp *dp = calloc(1, sizeof(*dp));
	if (!dp)
		return NULL;
	dp->policy = hnv_policy_new();
	dp->neigh = calloc(1, sizeof(struct neigh_table) + 16 * sizeof(struct neigh));
	if (!dp->policy || !dp->neigh) {
		hnv_policy_free(dp->policy);
		free(dp->neigh);
		free(dp);
		return NULL;
	}
	dp->neigh->mask = 15;
	static const struct hnv_dp_settings defaults = {
		.gw_mac = {{0x02, 0x15, 0x5d, 0x00, 0x00, 0x01}},
		.uplink_mtu = 1500,
		.flowid = true,
	};
	dp->set = malloc(sizeof(*dp->set));
	if (!dp->set) {
		hnv_policy_free(dp->policy);
		free(dp->neigh);
		free(dp);
		return NULL;
	}
	*dp->set = defaults;
	pthread_mutex_init(&dp->lock, NULL);
	pthread_mutex_init(&dp->nvx_lock, NULL);
	dp->nvx_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&dp->learn_lock, NULL);
	dp->learn_timeout = HNV_LEARN_TIMEOUT_DEFAULT;
	return dp;
}

void hnv_dp_free(struct hnv_dp *dp)
{
	if (!dp)
		return;
	hnv_policy_free(dp->policy);
	free(dp->neigh);
	free(dp->set);
	pthread_mutex_destroy(&dp->lock);
	pthread_mutex_destroy(&dp->nvx_lock);
	if (dp->nvx_efd >= 0)
		close(dp->nvx_efd);
	pthread_mutex_destroy(&dp->learn_lock);
	free(dp);
}

struct hnv_policy *hnv_dp_policy(struct hnv_dp *dp)
{
	return dp->policy;
}

/* Publishes a modified copy of the settings (control thread only). */
static void settings_update(struct hnv_dp *dp, void (*fn)(struct hnv_dp_settings *, const void *),
			    const void *arg)
{
	struct hnv_dp_settings *n = malloc(sizeof(*n)), *o = dp->set;
	if (!n) {
		/* out of memory: update in place; a worker may see one mixed packet */
		fn(o, arg);
		if (dp->settings_fn)
			dp->settings_fn(dp->settings_arg, o);
		return;
	}
	*n = *o;
	fn(n, arg);
	rcu_assign_pointer(dp->set, n);
	urcu_qsbr_synchronize_rcu();
	free(o);
	if (dp->settings_fn)
		dp->settings_fn(dp->settings_arg, n);
}

void hnv_dp_settings(const struct hnv_dp *dp, struct hnv_dp_settings *out)
{
	*out = *dp->set;
}

void hnv_dp_on_settings(struct hnv_dp *dp, hnv_dp_settings_fn fn, void *arg)
{
	dp->settings_fn = fn;
	dp->settings_arg = arg;
}

void hnv_dp_set_counter_source(struct hnv_dp *dp, hnv_dp_counters_fn fn, void *arg)
{
	dp->counters_fn = fn;
	dp->counters_arg = arg;
}

static void set_gw(struct hnv_dp_settings *s, const void *arg)
{
	s->gw_mac = *(const struct hnv_mac *)arg;
}

struct uplink_arg {
	const struct hnv_mac *mac;
	unsigned mtu;
};

static void set_uplink(struct hnv_dp_settings *s, const void *arg)
{
	const struct uplink_arg *u = arg;
	if (u->mac)
		s->uplink_mac = *u->mac;
	if (u->mtu)
		s->uplink_mtu = u->mtu;
}

static void set_flowid(struct hnv_dp_settings *s, const void *arg)
{
	s->flowid = *(const bool *)arg;
}

void hnv_dp_set_gateway_mac(struct hnv_dp *dp, const struct hnv_mac *mac)
{
	settings_update(dp, set_gw, mac);
}

const struct hnv_mac *hnv_dp_gateway_mac(const struct hnv_dp *dp)
{
	return &dp->set->gw_mac;
}

void hnv_dp_set_uplink(struct hnv_dp *dp, const struct hnv_mac *mac, unsigned mtu)
{
	struct uplink_arg u = {mac, mtu};
	settings_update(dp, set_uplink, &u);
}

void hnv_dp_set_flowid(struct hnv_dp *dp, bool on)
{
	settings_update(dp, set_flowid, &on);
}

static uint32_t neigh_hash(const struct hnv_ip *pa)
{
	return (uint32_t)hnv_hash_ca(0, pa);
}

static const struct hnv_mac *neigh_lookup(const struct neigh_table *t, const struct hnv_ip *pa)
{
	for (uint32_t i = neigh_hash(pa) & t->mask, n = 0; n <= t->mask;
	     i = (i + 1) & t->mask, n++) {
		if (!t->e[i].used)
			return NULL;
		if (hnv_ip_eq(&t->e[i].pa, pa))
			return &t->e[i].mac;
	}
	return NULL;
}

/* Rebuilds the neighbour table with pa set to mac (mac NULL: removed). */
static int neigh_publish(struct hnv_dp *dp, const struct hnv_ip *pa, const struct hnv_mac *mac)
{
	struct neigh_table *o = dp->neigh;
	uint32_t want = o->n + 1, size = 16;
	while (want * 2 > size)
		size *= 2;
	struct neigh_table *n = calloc(1, sizeof(*n) + (size_t)size * sizeof(struct neigh));
	if (!n)
		return -ENOMEM;
	n->mask = size - 1;
	bool found = false;
	for (uint32_t i = 0; i <= o->mask; i++) {
		const struct neigh *e = &o->e[i];
		if (!e->used)
			continue;
		struct neigh ne = *e;
		if (hnv_ip_eq(&e->pa, pa)) {
			found = true;
			if (!mac)
				continue;
			ne.mac = *mac;
		}
		uint32_t j = neigh_hash(&ne.pa) & n->mask;
		while (n->e[j].used)
			j = (j + 1) & n->mask;
		n->e[j] = ne;
		n->n++;
	}
	if (!found && mac) {
		uint32_t j = neigh_hash(pa) & n->mask;
		while (n->e[j].used)
			j = (j + 1) & n->mask;
		n->e[j] = (struct neigh){.used = true, .pa = *pa, .mac = *mac};
		n->n++;
	}
	if (!found && !mac) {
		free(n);
		return -ENOENT;
	}
	rcu_assign_pointer(dp->neigh, n);
	urcu_qsbr_synchronize_rcu();
	free(o);
	return 0;
}

int hnv_dp_neigh_set(struct hnv_dp *dp, const struct hnv_ip *pa, const struct hnv_mac *mac)
{
	return neigh_publish(dp, pa, mac);
}

int hnv_dp_neigh_del(struct hnv_dp *dp, const struct hnv_ip *pa)
{
	return neigh_publish(dp, pa, NULL);
}

struct hnv_dp_worker *hnv_dp_worker_new(struct hnv_dp *dp)
{
	struct hnv_dp_worker *w = aligned_alloc(_Alignof(struct hnv_dp_worker), sizeof(*w));
	if (!w)
		return NULL;
	memset(w, 0, sizeof(*w));
	w->dp = dp;
	w->pol = dp->policy;
	pthread_mutex_lock(&dp->lock);
	w->next = dp->workers;
	dp->workers = w;
	pthread_mutex_unlock(&dp->lock);
	return w;
}

void hnv_dp_worker_free(struct hnv_dp_worker *w)
{
	if (!w)
		return;
	struct hnv_dp *dp = w->dp;
	pthread_mutex_lock(&dp->lock);
	for (struct hnv_dp_worker **pp = &dp->workers; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	for (unsigned i = 0; i < HNV_R__COUNT; i++)
		dp->retired[i] += atomic_load_explicit(&w->cnt[i], memory_order_relaxed);
	pthread_mutex_unlock(&dp->lock);
	free(w);
}

void hnv_dp_counters(struct hnv_dp *dp, uint64_t out[HNV_R__COUNT])
{
	pthread_mutex_lock(&dp->lock);
	for (unsigned i = 0; i < HNV_R__COUNT; i++)
		out[i] = dp->retired[i];
	for (const struct hnv_dp_worker *w = dp->workers; w; w = w->next)
		for (unsigned i = 0; i < HNV_R__COUNT; i++)
			out[i] += atomic_load_explicit(&w->cnt[i], memory_order_relaxed);
	pthread_mutex_unlock(&dp->lock);
	if (dp->counters_fn)
		dp->counters_fn(dp->counters_arg, out);
}

void hnv_dp_worker_quiescent(struct hnv_dp_worker *w)
{
	(void)w;
	urcu_qsbr_quiescent_state();
}

/* ---- per-packet helpers ---- */

static void trace_add(struct hnv_pkt *p, enum hnv_stage st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Tracing is off unless the I/O layer attached a record to the packet. */
#define TRACE(p, st, ...)                                                                          \
	do {                                                                                       \
		if ((p)->trace)                                                                    \
			trace_add((p), (st), __VA_ARGS__);                                         \
	} while (0)

static void trace_add(struct hnv_pkt *p, enum hnv_stage st, const char *fmt, ...)
{
	struct hnv_trace *t = p->trace;
	if (t->n >= HNV_TRACE_STEPS)
		return;
	t->step[t->n].stage = st;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->step[t->n].text, sizeof(t->step[t->n].text), fmt, ap);
	va_end(ap);
	t->n++;
}

static void ipstr(const struct hnv_ip *a, char *buf, size_t len)
{
	if (hnv_ip_is_v4(a))
		inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a->b, buf, (socklen_t)len);
}

/* Formats an address for a trace record; only when this packet is traced. */
#define IPS(var, ip)                                                                               \
	char var[48] = "";                                                                         \
	if (p->trace)                                                                              \
	ipstr((ip), var, sizeof(var))

static inline void verdict(struct hnv_dp_worker *w, struct hnv_pkt *p, enum hnv_reason r)
{
	p->reason = (uint16_t)r;
	atomic_store_explicit(&w->cnt[r],
			      atomic_load_explicit(&w->cnt[r], memory_order_relaxed) + 1,
			      memory_order_relaxed);
	if (reason_drop[r])
		TRACE(p, HNV_ST_VERDICT, "dropped: %s", reason_texts[r]);
}

static inline bool mac_is_group(const struct hnv_mac *m)
{
	return m->b[0] & 1;
}

/* The default-gateway address of vs in a's family, if a is one. */
static bool is_gateway_addr(const struct hnv_vsubnet *vs, const struct hnv_ip *a)
{
	for (unsigned i = 0; i < vs->n_prefixes; i++)
		if (hnv_ip_eq(&vs->gateway[i], a))
			return true;
	return false;
}

/* The MAC of vs's distributed router: the one its default-gateway lookup
 * record names (policy.h hnv_policy_gw_rec_add), else the global one. vs
 * NULL (a route to a VSID not configured): the global one. */
static inline const struct hnv_mac *gw_mac_of(const struct hnv_dp_worker *w,
					      const struct hnv_vsubnet *vs)
{
	return vs && vs->gw_recs ? &vs->gw_mac : &w->set->gw_mac;
}

static const struct hnv_ip *gateway_of_family(const struct hnv_vsubnet *vs, bool v4)
{
	for (unsigned i = 0; i < vs->n_prefixes; i++)
		if (hnv_ip_is_v4(&vs->gateway[i]) == v4)
			return &vs->gateway[i];
	return NULL;
}

static bool port_owns(const struct hnv_port *pt, const struct hnv_ip *a)
{
	for (unsigned i = 0; i < pt->n_cas; i++)
		if (hnv_ip_eq(&pt->cas[i], a))
			return true;
	return false;
}

static bool is_link_local6(const struct hnv_ip *a)
{
	return a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80;
}

/* Facts about the inner frame gathered once by classify(). */
struct inner {
	struct hnv_eth eth;
	uint8_t *l3;   /* start of the IP header (or ARP) */
	size_t l3_len; /* bytes of L3 packet (IP total length) */
	bool v4, v6;
	struct hnv_ipv4 ip4;
	struct hnv_ipv6 ip6;
	struct hnv_ip src, dst;
};

/* Parses the inner Ethernet and IP headers of the frame at f (len bytes).
 * Returns a reason other than the success sentinel on a malformed frame;
 * HNV_R__COUNT on success. Trims Ethernet padding after the IP packet. */
static enum hnv_reason classify(uint8_t *f, uint32_t *len, struct inner *in)
{
	if (hnv_eth_parse(f, *len, &in->eth))
		return HNV_R_drop_runt;
	in->l3 = f + in->eth.hlen;
	in->l3_len = *len - in->eth.hlen;
	in->v4 = in->v6 = false;
	/* a non-IP frame has no addresses: zero them, so the FlowID of a
	 * unicast ARP does not hash whatever the previous packet left here */
	memset(&in->src, 0, sizeof(in->src));
	memset(&in->dst, 0, sizeof(in->dst));
	if (in->eth.type == HNV_ET_IPV4) {
		if (hnv_ipv4_parse(in->l3, in->l3_len, &in->ip4))
			return HNV_R_drop_bad_ip;
		in->v4 = true;
		in->l3_len = in->ip4.total_len;
		in->src = in->ip4.src;
		in->dst = in->ip4.dst;
	} else if (in->eth.type == HNV_ET_IPV6) {
		if (hnv_ipv6_parse(in->l3, in->l3_len, &in->ip6))
			return HNV_R_drop_bad_ip;
		/* IPv4-mapped addresses never appear in IPv6 headers (RFC 4291
		 * 2.5.5.2); the policy keeps IPv4 in that form, so they would
		 * stand for IPv4 records, routes and gateways */
		if (hnv_ip_is_v4(&in->ip6.src) || hnv_ip_is_v4(&in->ip6.dst))
			return HNV_R_drop_bad_ip;
		in->v6 = true;
		in->l3_len = 40 + (size_t)in->ip6.payload_len;
		in->src = in->ip6.src;
		in->dst = in->ip6.dst;
	}
	if (in->v4 || in->v6)
		*len = (uint32_t)(in->eth.hlen + in->l3_len);
	return HNV_R__COUNT;
}

/* An 8-bit hash of the inner 5-tuple (addresses, protocol, ports). */
static uint8_t flow_id(const struct inner *in)
{
	uint64_t a, b, c, d;
	memcpy(&a, in->src.b, 8);
	memcpy(&b, in->src.b + 8, 8);
	memcpy(&c, in->dst.b, 8);
	memcpy(&d, in->dst.b + 8, 8);
	uint64_t h = (a ^ c) * 0x9e3779b97f4a7c15ull ^ (b ^ d);
	uint8_t proto = 0;
	const uint8_t *l4 = NULL;
	size_t l4len = 0;
	if (in->v4 && !hnv_ipv4_is_fragment(&in->ip4)) {
		proto = in->ip4.proto;
		l4 = in->l3 + in->ip4.ihl_bytes;
		l4len = in->l3_len - in->ip4.ihl_bytes;
	} else if (in->v6 && !in->ip6.fragment) {
		proto = in->ip6.proto;
		l4 = in->l3 + in->ip6.l4_off;
		l4len = in->l3_len - in->ip6.l4_off;
	}
	if ((proto == 6 || proto == 17 || proto == 132) && l4len >= 4)
		h ^= (uint64_t)rd32(l4) << 8 | proto;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 32;
	h ^= h >> 16;
	h ^= h >> 8;
	return (uint8_t)h;
}

/* Decrements the TTL / hop limit of a routed packet; false if it expired. */
static bool ttl_dec(struct inner *in)
{
	if (in->v4) {
		if (in->ip4.ttl <= 1)
			return false;
		uint16_t old = rd16(in->l3 + 8);
		in->l3[8]--;
		wr16(in->l3 + 10, hnv_csum_update16(rd16(in->l3 + 10), old, rd16(in->l3 + 8)));
		return true;
	}
	if (in->ip6.hop_limit <= 1)
		return false;
	in->l3[7]--;
	return true;
}

/* ---- generated replies (written in place, sent back to the ingress) ---- */

static void reply_arp(struct hnv_pkt *p, const struct hnv_arp *req, const struct hnv_mac *answer)
{
	uint8_t *f = p->data;
	hnv_eth_write(f, &req->sha, answer, HNV_ET_ARP);
	hnv_arp_reply_write(f + HNV_ETH_HLEN, answer, &req->tpa, &req->sha, &req->spa);
	memset(f + 42, 0, 18); /* pad to the 60-byte Ethernet minimum */
	p->len = 60;
	p->out_port = p->in_port;
}

static void reply_na(struct hnv_pkt *p, const struct inner *in, const struct hnv_ip *target,
		     const struct hnv_mac *answer, bool router)
{
	uint8_t *f = p->data;
	struct hnv_mac asker = in->eth.src;
	struct hnv_ip dst = in->src;
	hnv_eth_write(f, &asker, answer, HNV_ET_IPV6);
	uint8_t *icmp = f + HNV_ETH_HLEN + 40;
	memset(icmp, 0, 32);
	icmp[0] = ND_NEIGHBOR_ADVERT;
	icmp[4] = (uint8_t)((router ? 0x80 : 0) | 0x40 | 0x20); /* R, S, O */
	memcpy(icmp + 8, target->b, 16);
	icmp[24] = 2; /* target link-layer address */
	icmp[25] = 1;
	memcpy(icmp + 26, answer->b, 6);
	hnv_ipv6_write(f + HNV_ETH_HLEN, target, &dst, 58, 0, 0, 32, 255);
	wr16(icmp + 2, hnv_csum6(target, &dst, 58, icmp, 32));
	p->len = HNV_ETH_HLEN + 40 + 32;
	p->out_port = p->in_port;
}

/* ICMP echo request to a default-gateway address -> echo reply. */
static bool reply_echo(struct hnv_pkt *p, struct inner *in, const struct hnv_mac *gw_mac)
{
	uint8_t *f = p->data;
	struct hnv_mac vm = in->eth.src;
	if (in->v4) {
		size_t ihl = in->ip4.ihl_bytes;
		uint8_t *icmp = in->l3 + ihl;
		size_t ilen = in->l3_len - ihl;
		if (hnv_ipv4_is_fragment(&in->ip4) || in->ip4.proto != 1 || ilen < 8 ||
		    icmp[0] != 8)
			return false;
		hnv_eth_write(f, &vm, gw_mac, HNV_ET_IPV4);
		memcpy(in->l3 + 12, in->dst.b + 12, 4);
		memcpy(in->l3 + 16, in->src.b + 12, 4);
		in->l3[8] = 64;
		hnv_ipv4_set_csum(in->l3, ihl);
		icmp[0] = 0;
		icmp[2] = icmp[3] = 0;
		wr16(icmp + 2, hnv_csum_fold(hnv_csum_add(0, icmp, ilen)));
		return true;
	}
	uint8_t *icmp = in->l3 + in->ip6.l4_off;
	size_t ilen = in->l3_len - in->ip6.l4_off;
	if (in->ip6.fragment || in->ip6.proto != 58 || ilen < 8 || icmp[0] != ICMP6_ECHO_REQUEST ||
	    in->ip6.l4_off != 40)
		return false;
	hnv_eth_write(f, &vm, gw_mac, HNV_ET_IPV6);
	memcpy(in->l3 + 8, in->dst.b, 16);
	memcpy(in->l3 + 24, in->src.b, 16);
	in->l3[7] = 64;
	icmp[0] = ICMP6_ECHO_REPLY;
	icmp[2] = icmp[3] = 0;
	wr16(icmp + 2, hnv_csum6(&in->dst, &in->src, 58, icmp, ilen));
	return true;
}

/* Turns p into ICMP fragmentation-needed (IPv4) or packet-too-big (IPv6)
 * from the VSID's gateway address to the VM, quoting the original packet:
 * up to 576 bytes in all for IPv4 (RFC 1812), 1280 for IPv6 (RFC 4443). */
static bool reply_too_big(struct hnv_pkt *p, struct inner *in, const struct hnv_vsubnet *vs,
			  const struct hnv_mac *vm_mac, const struct hnv_mac *gw_mac, unsigned mtu)
{
	const struct hnv_ip *gw = gateway_of_family(vs, in->v4);
	if (!gw)
		return false;
	struct hnv_ip vm_ip = in->src;
	uint8_t *f = p->data;
	if (in->v4) {
		size_t quote = in->l3_len < 576 - 28 ? in->l3_len : 576 - 28;
		memmove(f + HNV_ETH_HLEN + 28, in->l3, quote);
		hnv_eth_write(f, vm_mac, gw_mac, HNV_ET_IPV4);
		uint8_t *icmp = f + HNV_ETH_HLEN + 20;
		icmp[0] = 3;
		icmp[1] = 4;
		icmp[2] = icmp[3] = icmp[4] = icmp[5] = 0;
		wr16(icmp + 6, (uint16_t)mtu);
		wr16(icmp + 2, hnv_csum_fold(hnv_csum_add(0, icmp, 8 + quote)));
		hnv_ipv4_write(f + HNV_ETH_HLEN, gw, &vm_ip, 1, 0xc0, (uint16_t)(8 + quote), 64,
			       false, 0);
		p->len = (uint32_t)(HNV_ETH_HLEN + 28 + quote);
	} else {
		size_t quote = in->l3_len < 1280 - 48 ? in->l3_len : 1280 - 48;
		memmove(f + HNV_ETH_HLEN + 48, in->l3, quote);
		hnv_eth_write(f, vm_mac, gw_mac, HNV_ET_IPV6);
		uint8_t *icmp = f + HNV_ETH_HLEN + 40;
		icmp[0] = ICMP6_PKT_TOO_BIG;
		icmp[1] = 0;
		icmp[2] = icmp[3] = 0;
		wr32(icmp + 4, mtu);
		hnv_ipv6_write(f + HNV_ETH_HLEN, gw, &vm_ip, 58, 0, 0, (uint16_t)(8 + quote), 64);
		wr16(icmp + 2, hnv_csum6(gw, &vm_ip, 58, icmp, 8 + quote));
		p->len = (uint32_t)(HNV_ETH_HLEN + 48 + quote);
	}
	p->out_port = p->in_port;
	return true;
}

/* ---- output: local delivery or NVGRE encapsulation ---- */

/* rec: the destination's lookup record; vsid: the VSID the frame now
 * belongs to; the frame's MACs are already final. */
static void output(struct hnv_dp_worker *w, struct hnv_pkt *p, struct inner *in,
		   const struct hnv_rec *rec, uint32_t vsid, bool routed,
		   const struct hnv_vsubnet *src_vs, const struct hnv_mac *vm_mac)
{
	struct hnv_dp *dp = w->dp;
	p->vsid = vsid;
	if (rec->rule != HNV_RULE_ENCAP) {
		TRACE(p, HNV_ST_LOOKUP, "record rule %s (%u) is not TranslationMethodEncap",
		      hnv_rule_name(rec->rule), rec->rule);
		verdict(w, p, HNV_R_drop_rule);
		return;
	}
	if (hnv_policy_is_local_pa(w->pol, &rec->pa)) {
		const struct hnv_port *dst = hnv_policy_port_by_mac(w->pol, vsid, &rec->mac);
		if (!dst) {
			TRACE(p, HNV_ST_DELIVER, "PA is local but no port has that MAC in VSID %u",
			      vsid);
			verdict(w, p, HNV_R_drop_no_local_port);
			return;
		}
		p->out_port = dst->id;
		TRACE(p, HNV_ST_DELIVER, "local PA: deliver to port %s", dst->name);
		verdict(w, p, routed ? HNV_R_tx_routed_local : HNV_R_tx_local);
		return;
	}
	bool outer4 = hnv_ip_is_v4(&rec->pa);
	unsigned mtu = w->set->uplink_mtu;
	unsigned room = mtu - (outer4 ? 20u : 40u) - NVGRE_HLEN - HNV_ETH_HLEN; /* inner L3 MTU */
	if (!in->v4 && !in->v6 && p->len - HNV_ETH_HLEN > room) {
		/* a non-IP frame (unicast ARP) padded past the MTU: no ICMP for it */
		TRACE(p, HNV_ST_MTU, "%u-byte non-IP frame > inner MTU %u", p->len, room);
		verdict(w, p, HNV_R_drop_mtu);
		return;
	}
	if ((in->v4 || in->v6) && in->l3_len > room) {
		if (in->v4 && !(in->ip4.frag & IPV4_DF)) {
			TRACE(p, HNV_ST_MTU, "%zu bytes > inner MTU %u without DF", in->l3_len,
			      room);
			verdict(w, p, HNV_R_drop_mtu);
			return;
		}
		if (!reply_too_big(p, in, src_vs, vm_mac, gw_mac_of(w, src_vs), room)) {
			verdict(w, p, HNV_R_drop_mtu);
			return;
		}
		TRACE(p, HNV_ST_MTU, "%zu bytes > inner MTU %u: %s sent to the VM", in->l3_len,
		      room, in->v4 ? "fragmentation needed" : "packet too big");
		verdict(w, p, in->v4 ? HNV_R_icmp_frag_needed : HNV_R_icmp6_too_big);
		return;
	}
	const struct hnv_ip *src_pa = hnv_policy_local_pa(w->pol, outer4);
	if (!src_pa) {
		verdict(w, p, HNV_R_drop_no_pa);
		return;
	}
	const struct neigh_table *nt = rcu_dereference(dp->neigh);
	const struct hnv_mac *nh = neigh_lookup(nt, &rec->pa);
	if (!nh) {
		IPS(pa, &rec->pa);
		TRACE(p, HNV_ST_ENCAP, "no next-hop MAC for PA %s", pa);
		verdict(w, p, HNV_R_drop_neigh_miss);
		return;
	}
	uint8_t tos = 0;
	if (in->v4)
		tos = in->ip4.tos;
	else if (in->v6)
		tos = in->ip6.tclass;
	uint8_t fid = w->set->flowid ? flow_id(in) : 0;
	size_t hl = outer4 ? NVGRE_OVERHEAD4 : NVGRE_OVERHEAD6;
	uint8_t *o = p->data - hl;
	size_t inner_len = p->len;
	hnv_eth_write(o, nh, &w->set->uplink_mac, outer4 ? HNV_ET_IPV4 : HNV_ET_IPV6);
	/* DSCP copied; ECN copied too (RFC 6040 normal mode) */
	if (outer4)
		hnv_ipv4_write(o + HNV_ETH_HLEN, src_pa, &rec->pa, HNV_IPPROTO_GRE, tos,
			       (uint16_t)(NVGRE_HLEN + inner_len), 64, true, w->ip_id++);
	else
		hnv_ipv6_write(o + HNV_ETH_HLEN, src_pa, &rec->pa, HNV_IPPROTO_GRE, tos, fid,
			       (uint16_t)(NVGRE_HLEN + inner_len), 64);
	hnv_nvgre_write(o + hl - NVGRE_HLEN, vsid, fid);
	p->data = o;
	p->len = (uint32_t)(inner_len + hl);
	p->out_port = HNV_PORT_UPLINK;
	if (p->trace) {
		IPS(pa, &rec->pa);
		TRACE(p, HNV_ST_ENCAP, "NVGRE to PA %s key 0x%08x (VSID %u, FlowID %u)", pa,
		      vsid << 8 | fid, vsid, fid);
	}
	verdict(w, p, routed ? HNV_R_tx_routed_encap : HNV_R_tx_encap);
}

/* ---- dynamic learning and flooding (docs/dynamic-learning.md) ---- */

/* True when vs has L2Only records: its VMs may use addresses they were
 * not configured with, and its broadcasts are replicated. */
static inline bool vs_l2(const struct hnv_vsubnet *vs)
{
	return rcu_dereference(((struct hnv_vsubnet *)vs)->l2) != NULL;
}

static void learn_note(struct hnv_dp *dp, uint32_t vsid, const struct hnv_ip *ca,
		       const struct hnv_mac *mac, const struct hnv_ip *pa)
{
	pthread_mutex_lock(&dp->learn_lock);
	for (unsigned i = 0; i < dp->learn_n; i++) {
		const struct learn_ev *e = &dp->learn_q[i];
		if (e->vsid == vsid && hnv_ip_eq(&e->ca, ca) && hnv_mac_eq(&e->mac, mac) &&
		    hnv_ip_eq(&e->pa, pa)) {
			pthread_mutex_unlock(&dp->learn_lock);
			return;
		}
	}
	if (dp->learn_n < LEARN_QUEUE)
		dp->learn_q[dp->learn_n++] =
			(struct learn_ev){.vsid = vsid, .ca = *ca, .pa = *pa, .mac = *mac};
	else
		dp->learn_lost++;
	pthread_mutex_unlock(&dp->learn_lock);
}

/* A learned record was used: it lives on. */
static inline void learn_touch(struct hnv_dp_worker *w, const struct hnv_rec *r)
{
	if ((r->flags & HNV_REC_F_LEARNED) && uatomic_read(&r->seen) != w->now)
		uatomic_set((uint32_t *)&r->seen, w->now);
}

/* The source address src of a frame from MAC mac, sent from PA pa (NULL:
 * from a local VM port, so any local PA), matched neither a port CA nor a
 * lookup record. In a VSID with L2Only records it still passes when
 * (vsid, mac) has an L2Only record with that PA and no configured record
 * holds src for another MAC or PA; then src is learned (or its learned
 * record refreshed). Unspecified (DHCP, ARP probes) and IPv6 link-local
 * sources pass without being learned. */
static bool l2_source(struct hnv_dp_worker *w, const struct hnv_vsubnet *vs,
		      const struct hnv_ip *src, const struct hnv_mac *mac, const struct hnv_ip *pa)
{
	if (!vs_l2(vs))
		return false;
	const struct hnv_rec *l2 = hnv_policy_l2only(vs, mac);
	if (!l2 || (pa ? !hnv_ip_eq(&l2->pa, pa) : !hnv_policy_is_local_pa(w->pol, &l2->pa)))
		return false;
	if (hnv_ip_is_unspec(src) || (!hnv_ip_is_v4(src) && is_link_local6(src)))
		return true;
	if (!hnv_policy_learnable(vs, src))
		return false;
	const struct hnv_rec *r =
		hnv_policy_rec_by_ca(w->pol, hnv_hash_ca(vs->vsid, src), vs->vsid, src);
	bool same = r && hnv_mac_eq(&r->mac, mac) && hnv_ip_eq(&r->pa, &l2->pa);
	if (r && !(r->flags & HNV_REC_F_LEARNED))
		return same; /* configuration wins */
	if (same)
		learn_touch(w, r);
	else
		learn_note(w->dp, vs->vsid, src, mac, &l2->pa);
	return true;
}

/* p is replicated by hnv_dp_flood. */
static void flood(struct hnv_dp_worker *w, struct hnv_pkt *p, bool rx)
{
	TRACE(p, HNV_ST_DELIVER, "broadcast/multicast in VSID %u with L2Only records: replicated",
	      p->vsid);
	p->out_port = HNV_PORT_FLOOD;
	verdict(w, p, rx ? HNV_R_rx_flood : HNV_R_tx_flood);
}

/* Copies p into q for one flood target. */
static bool flood_copy(struct hnv_pkt *q, const struct hnv_pkt *p)
{
	if (hnv_pkt_load(q, p->data, p->len, p->in_port))
		return false;
	q->vsid = p->vsid;
	return true;
}

unsigned hnv_dp_flood(struct hnv_dp_worker *w, const struct hnv_pkt *p, unsigned *cursor,
		      struct hnv_pkt **out, unsigned max)
{
	if (p->out_port != HNV_PORT_FLOOD || hnv_reason_is_drop(p->reason))
		return 0;
	w->set = rcu_dereference(w->dp->set);
	const struct hnv_vsubnet *vs = hnv_policy_vsubnet(w->pol, p->vsid);
	if (!vs)
		return 0;
	bool rx = p->in_port == HNV_PORT_UPLINK;
	const struct hnv_port *src = rx ? NULL : hnv_policy_port(w->pol, p->in_port);
	const struct hnv_l2set *l2 = rcu_dereference(((struct hnv_vsubnet *)vs)->l2);
	/* cursor: local port ids below HNV_PORTS_MAX, then the L2Only
	 * records (only for a VM's frame: what came from a PA never goes
	 * back out to the provider network) */
	unsigned end = HNV_PORTS_MAX + (src && l2 ? l2->n : 0), n = 0;
	for (; *cursor < end && n < max; (*cursor)++) {
		unsigned c = *cursor;
		struct hnv_pkt *q = out[n];
		if (c < HNV_PORTS_MAX) {
			const struct hnv_port *pt = c ? hnv_policy_port(w->pol, c) : NULL;
			if (!pt || pt->vsid != p->vsid || c == p->in_port || !flood_copy(q, p))
				continue;
			q->out_port = pt->id;
			verdict(w, q, rx ? HNV_R_rx_decap_delivered : HNV_R_tx_local);
			n++;
			continue;
		}
		unsigned i = c - HNV_PORTS_MAX;
		const struct hnv_rec *t = &l2->rec[i];
		if (hnv_policy_is_local_pa(w->pol, &t->pa))
			continue;
		bool seen = false;
		for (unsigned j = 0; j < i && !seen; j++)
			seen = hnv_ip_eq(&l2->rec[j].pa, &t->pa);
		if (seen || !flood_copy(q, p))
			continue;
		struct inner in;
		enum hnv_reason bad = classify(q->data, &q->len, &in);
		if (bad != HNV_R__COUNT)
			verdict(w, q, bad);
		else
			output(w, q, &in, t, p->vsid, false, vs, &src->mac);
		n++;
	}
	return n;
}

void hnv_dp_learn_stats(struct hnv_dp *dp, struct hnv_dp_learn_stats *out)
{
	*out = dp->lstats;
	pthread_mutex_lock(&dp->learn_lock);
	out->lost = dp->learn_lost;
	pthread_mutex_unlock(&dp->learn_lock);
}

static uint32_t clock_mono(void *arg)
{
	(void)arg;
	return (uint32_t)(hnv_mono_coarse_ms() / 1000) + 1; /* 0: never seen */
}

static uint32_t dp_now(const struct hnv_dp *dp)
{
	return dp->clock_fn ? dp->clock_fn(dp->clock_arg) : clock_mono(NULL);
}

void hnv_dp_set_clock(struct hnv_dp *dp, hnv_dp_clock_fn fn, void *arg)
{
	dp->clock_fn = fn;
	dp->clock_arg = arg;
}

int hnv_dp_set_learn_timeout(struct hnv_dp *dp, unsigned seconds)
{
	if (seconds < 1 || seconds > 86400)
		return -EINVAL;
	atomic_store(&dp->learn_timeout, seconds);
	return 0;
}

unsigned hnv_dp_learn_timeout(const struct hnv_dp *dp)
{
	return atomic_load(&((struct hnv_dp *)dp)->learn_timeout);
}

int hnv_dp_learn_run(struct hnv_dp *dp)
{
	struct learn_ev q[LEARN_QUEUE];
	pthread_mutex_lock(&dp->learn_lock);
	unsigned n = dp->learn_n;
	memcpy(q, dp->learn_q, n * sizeof(q[0]));
	dp->learn_n = 0;
	pthread_mutex_unlock(&dp->learn_lock);
	uint32_t now = dp_now(dp);
	int changed = 0;
	for (unsigned i = 0; i < n; i++) {
		int rc =
			hnv_policy_learn(dp->policy, q[i].vsid, &q[i].ca, &q[i].mac, &q[i].pa, now);
		if (rc == HNV_LEARN_NEW)
			dp->lstats.learned++;
		else if (rc == HNV_LEARN_MOVED)
			dp->lstats.moved++;
		else if (rc == -ENOSPC)
			dp->lstats.full++;
		else if (rc < 0)
			dp->lstats.refused++;
		changed += rc == HNV_LEARN_NEW || rc == HNV_LEARN_MOVED;
	}
	unsigned gone = hnv_policy_learn_expire(dp->policy, now, hnv_dp_learn_timeout(dp));
	dp->lstats.expired += gone;
	return changed + (int)gone;
}

/* ---- VM transmit ---- */

static void tx_arp(struct hnv_dp_worker *w, struct hnv_pkt *p, const struct hnv_port *pt,
		   const struct hnv_vsubnet *vs, struct inner *in)
{
	struct hnv_arp a;
	if (hnv_arp_parse(in->l3, in->l3_len, &a)) {
		verdict(w, p, HNV_R_drop_non_ip);
		return;
	}
	if (!hnv_mac_eq(&a.sha, &pt->mac)) {
		TRACE(p, HNV_ST_ARP, "sender hardware address is not the port's MAC");
		verdict(w, p, HNV_R_drop_spoof);
		return;
	}
	/* the sender's address too: a VM may not claim another VM's address,
	 * not even toward a VM on this host (local delivery has no receive-side
	 * check); 0.0.0.0 is an ARP probe (RFC 5227) */
	if (!pt->gateway && !hnv_ip_is_unspec(&a.spa) && !port_owns(pt, &a.spa) &&
	    !l2_source(w, vs, &a.spa, &pt->mac, NULL)) {
		IPS(spa, &a.spa);
		TRACE(p, HNV_ST_ARP, "sender address %s is not a CA of port %s", spa, pt->name);
		verdict(w, p, HNV_R_drop_spoof);
		return;
	}
	const struct hnv_mac *gw_mac = gw_mac_of(w, vs);
	if (!mac_is_group(&in->eth.dst) && a.op == 1 && hnv_mac_eq(&in->eth.dst, gw_mac) &&
	    (is_gateway_addr(vs, &a.tpa) || hnv_dhcp_is_server_addr(vs, &a.tpa))) {
		/* a unicast probe of the gateway (Linux ARP in PROBE state): the
		 * host is the gateway, so it answers, or the VM drops its route */
		TRACE(p, HNV_ST_ARP, "unicast who-has of the default gateway: answered");
		reply_arp(p, &a, gw_mac);
		verdict(w, p, HNV_R_arp_reply);
		return;
	}
	if (!mac_is_group(&in->eth.dst)) {
		/* unicast ARP goes to the VM that owns the MAC */
		const struct hnv_rec *r = hnv_policy_rec_by_mac(
			w->pol, hnv_hash_mac(pt->vsid, &in->eth.dst), pt->vsid, &in->eth.dst);
		if (!r) {
			verdict(w, p, HNV_R_drop_no_record);
			return;
		}
		TRACE(p, HNV_ST_ARP, "unicast ARP: forwarded like any frame");
		output(w, p, in, r, pt->vsid, false, vs, &pt->mac);
		return;
	}
	bool l2 = vs_l2(vs);
	if (a.op != 1 || (l2 && hnv_ip_eq(&a.spa, &a.tpa))) {
		/* broadcast replies and gratuitous ARP: announcements */
		if (l2)
			flood(w, p, false);
		else
			verdict(w, p, HNV_R_drop_broadcast);
		return;
	}
	IPS(tgt, &a.tpa);
	if (is_gateway_addr(vs, &a.tpa) || hnv_dhcp_is_server_addr(vs, &a.tpa)) {
		TRACE(p, HNV_ST_ARP, "who-has %s: default gateway, answered with the virtual MAC",
		      tgt);
		reply_arp(p, &a, gw_mac);
		verdict(w, p, HNV_R_arp_reply);
		return;
	}
	const struct hnv_rec *r =
		hnv_policy_rec_by_ca(w->pol, hnv_hash_ca(pt->vsid, &a.tpa), pt->vsid, &a.tpa);
	if (!r && l2) {
		flood(w, p, false);
		return;
	}
	if (!r) {
		TRACE(p, HNV_ST_ARP, "who-has %s: no lookup record in VSID %u", tgt, pt->vsid);
		verdict(w, p, HNV_R_drop_arp_unknown);
		return;
	}
	if (hnv_mac_eq(&r->mac, &a.sha)) {
		TRACE(p, HNV_ST_ARP, "who-has %s: the asker's own address, not answered", tgt);
		verdict(w, p, HNV_R_drop_own_address);
		return;
	}
	TRACE(p, HNV_ST_ARP, "who-has %s: answered from the lookup record", tgt);
	reply_arp(p, &a, &r->mac);
	verdict(w, p, HNV_R_arp_reply);
}

/* Returns true when the frame was a neighbour solicitation it handled. */
static bool tx_nd(struct hnv_dp_worker *w, struct hnv_pkt *p, const struct hnv_port *pt,
		  const struct hnv_vsubnet *vs, struct inner *in)
{
	if (in->ip6.proto != 58 || in->ip6.fragment)
		return false;
	struct hnv_icmp6 c;
	if (hnv_icmp6_parse(in->l3 + in->ip6.l4_off, in->l3_len - in->ip6.l4_off, &c) ||
	    ((c.type == ND_NEIGHBOR_SOLICIT || c.type == ND_NEIGHBOR_ADVERT) &&
	     hnv_ip_is_v4(&c.target))) {
		verdict(w, p, HNV_R_drop_bad_ip);
		return true;
	}
	/* an advertisement speaks for its target: only the port's own
	 * addresses (and link-local ones, which never leave the VSID's L2) */
	if (c.type == ND_NEIGHBOR_ADVERT && !pt->gateway && !port_owns(pt, &c.target) &&
	    !is_link_local6(&c.target) && !l2_source(w, vs, &c.target, &pt->mac, NULL)) {
		IPS(tgt, &c.target);
		TRACE(p, HNV_ST_ND, "NA for %s, not a CA of port %s", tgt, pt->name);
		verdict(w, p, HNV_R_drop_spoof);
		return true;
	}
	bool l2 = vs_l2(vs);
	if (c.type == ND_ROUTER_SOLICIT && mac_is_group(&in->eth.dst)) {
		if (l2)
			flood(w, p, false);
		else
			verdict(w, p, HNV_R_drop_broadcast);
		return true;
	}
	/* unicast NS (reachability) is forwarded to its VM; the gateway has no
	 * VM behind it, so the host answers the probes of the gateway itself */
	bool gw_probe = c.type == ND_NEIGHBOR_SOLICIT && hnv_ip_eq(&in->dst, &c.target) &&
			is_gateway_addr(vs, &c.target);
	if (c.type != ND_NEIGHBOR_SOLICIT || (!hnv_ipv6_is_multicast(&in->dst) && !gw_probe))
		return false;
	if (in->ip6.hop_limit != 255) {
		verdict(w, p, HNV_R_drop_bad_ip);
		return true;
	}
	if (hnv_ip_is_unspec(&in->src)) {
		if (l2 && !gw_probe) {
			flood(w, p, false); /* the other VMs of the subnet defend their addresses */
			return true;
		}
		TRACE(p, HNV_ST_ND, "duplicate address detection: not answered");
		verdict(w, p, HNV_R_drop_nd_dad);
		return true;
	}
	IPS(tgt, &c.target);
	if (is_gateway_addr(vs, &c.target)) {
		TRACE(p, HNV_ST_ND, "NS %s: default gateway, advertised with the virtual MAC", tgt);
		reply_na(p, in, &c.target, gw_mac_of(w, vs), true);
		verdict(w, p, HNV_R_nd_advert);
		return true;
	}
	const struct hnv_rec *r =
		hnv_policy_rec_by_ca(w->pol, hnv_hash_ca(pt->vsid, &c.target), pt->vsid, &c.target);
	if (!r && l2 && !gw_probe) {
		/* it leaves the host: its source passes the checks of any frame */
		if (!pt->gateway && !port_owns(pt, &in->src) && !is_link_local6(&in->src) &&
		    !l2_source(w, vs, &in->src, &pt->mac, NULL)) {
			TRACE(p, HNV_ST_ND, "NS from %s: not an address of port %s", tgt, pt->name);
			verdict(w, p, HNV_R_drop_spoof);
			return true;
		}
		flood(w, p, false);
		return true;
	}
	if (!r) {
		TRACE(p, HNV_ST_ND, "NS %s: no lookup record in VSID %u", tgt, pt->vsid);
		verdict(w, p, HNV_R_drop_arp_unknown);
		return true;
	}
	if (hnv_mac_eq(&r->mac, &pt->mac)) {
		verdict(w, p, HNV_R_drop_own_address);
		return true;
	}
	TRACE(p, HNV_ST_ND, "NS %s: answered from the lookup record", tgt);
	reply_na(p, in, &c.target, &r->mac, false);
	verdict(w, p, HNV_R_nd_advert);
	return true;
}

static void tx_route(struct hnv_dp_worker *w, struct hnv_pkt *p, const struct hnv_port *pt,
		     const struct hnv_vsubnet *vs, struct inner *in)
{
	IPS(dst, &in->dst);
	if (is_gateway_addr(vs, &in->dst)) {
		if (reply_echo(p, in, gw_mac_of(w, vs))) {
			p->out_port = p->in_port;
			TRACE(p, HNV_ST_ROUTE, "echo request to gateway %s answered", dst);
			verdict(w, p, HNV_R_echo_reply);
		} else {
			verdict(w, p, HNV_R_drop_gateway_addr);
		}
		return;
	}
	struct hnv_route_hit hit;
	if (!hnv_policy_route_lookup(w->pol, vs->rd_idx, &in->dst, &hit)) {
		TRACE(p, HNV_ST_ROUTE, "no customer route to %s in the routing domain", dst);
		verdict(w, p, HNV_R_drop_no_route);
		return;
	}
	const struct hnv_vsubnet *dvs = hnv_policy_vsubnet(w->pol, hit.vsid);
	if (dvs && is_gateway_addr(dvs, &in->dst)) {
		/* the distributed gateway of another subnet of this domain */
		if (reply_echo(p, in, gw_mac_of(w, vs))) {
			p->out_port = p->in_port;
			TRACE(p, HNV_ST_ROUTE, "echo request to gateway %s of VSID %u answered",
			      dst, hit.vsid);
			verdict(w, p, HNV_R_echo_reply);
		} else {
			verdict(w, p, HNV_R_drop_gateway_addr);
		}
		return;
	}
	const struct hnv_ip *target = hnv_ip_is_unspec(&hit.nexthop) ? &in->dst : &hit.nexthop;
	const struct hnv_rec *r =
		hnv_policy_rec_by_ca(w->pol, hnv_hash_ca(hit.vsid, target), hit.vsid, target);
	if (!r)
		r = hnv_policy_wildcard(w->pol, hit.vsid, target);
	if (!r) {
		IPS(t, target);
		TRACE(p, HNV_ST_LOOKUP, "route to VSID %u, no lookup record for %s", hit.vsid, t);
		verdict(w, p, HNV_R_drop_no_record);
		return;
	}
	if (!ttl_dec(in)) {
		verdict(w, p, HNV_R_drop_ttl);
		return;
	}
	/* from the router of the destination's VSID */
	hnv_eth_write(p->data, &r->mac, gw_mac_of(w, dvs), in->eth.type);
	TRACE(p, HNV_ST_ROUTE, "%s via customer route, VSID %u -> %u", dst, pt->vsid, hit.vsid);
	output(w, p, in, r, hit.vsid, true, vs, &pt->mac);
}

static void tx_vm(struct hnv_dp_worker *w, struct hnv_pkt *p)
{
	const struct hnv_port *pt = hnv_policy_port(w->pol, p->in_port);
	if (!pt) {
		verdict(w, p, HNV_R_drop_port_unknown);
		return;
	}
	const struct hnv_vsubnet *vs = hnv_policy_vsubnet(w->pol, pt->vsid);
	if (!vs) {
		verdict(w, p, HNV_R_drop_vsid_unknown);
		return;
	}
	p->vsid = pt->vsid;
	struct inner in;
	enum hnv_reason bad = classify(p->data, &p->len, &in);
	if (bad != HNV_R__COUNT) {
		verdict(w, p, bad);
		return;
	}
	if (in.eth.tagged) {
		/* the sender strips 802.1Q: NVGRE inner frames carry no tag */
		memmove(p->data + (in.eth.hlen - HNV_ETH_HLEN), p->data, 12);
		p->data += in.eth.hlen - HNV_ETH_HLEN;
		p->len -= in.eth.hlen - HNV_ETH_HLEN;
		in.eth.hlen = HNV_ETH_HLEN;
		in.eth.tagged = false;
		wr16(p->data + 12, in.eth.type);
	}
	if (!hnv_mac_eq(&in.eth.src, &pt->mac)) {
		TRACE(p, HNV_ST_CLASSIFY, "source MAC is not the port's MAC");
		verdict(w, p, HNV_R_drop_spoof);
		return;
	}
	if (in.eth.type == HNV_ET_ARP) {
		tx_arp(w, p, pt, vs, &in);
		return;
	}
	if (!in.v4 && !in.v6) {
		verdict(w, p, HNV_R_drop_non_ip);
		return;
	}
	if (in.v6 && tx_nd(w, p, pt, vs, &in))
		return;
	if (in.v4 && !(vs_l2(vs) && !rcu_dereference(((struct hnv_vsubnet *)vs)->dhcp))) {
		/* DHCP is answered here and never leaves the host (dhcp.h);
		 * in a VSID with L2Only records and no pool, a DHCP server of
		 * the tenant's own answers, so it is a frame like any other */
		size_t cap = HNV_PKT_BUFSIZE - (size_t)(p->data - p->buf);
		enum hnv_reason d = hnv_dhcp_serve(p->data, cap, &p->len, in.l3_len, pt, vs,
						   gw_mac_of(w, vs), w->set->uplink_mtu);
		if (d != HNV_R__COUNT) {
			TRACE(p, HNV_ST_CLASSIFY, "DHCP: %s", reason_texts[d]);
			if (d == HNV_R_dhcp_reply)
				p->out_port = p->in_port;
			verdict(w, p, d);
			return;
		}
	}
	if (!pt->gateway && !port_owns(pt, &in.src) && !(in.v6 && is_link_local6(&in.src)) &&
	    !l2_source(w, vs, &in.src, &pt->mac, NULL)) {
		IPS(src, &in.src);
		TRACE(p, HNV_ST_CLASSIFY, "source %s is not a CA of port %s", src, pt->name);
		verdict(w, p, HNV_R_drop_spoof);
		return;
	}
	if (mac_is_group(&in.eth.dst)) {
		if (vs_l2(vs))
			flood(w, p, false);
		else
			verdict(w, p, HNV_R_drop_broadcast);
		return;
	}
	if (hnv_mac_eq(&in.eth.dst, gw_mac_of(w, vs))) {
		tx_route(w, p, pt, vs, &in);
		return;
	}
	/* bridged inside the VSID: by destination IP, MAC confirmed */
	const struct hnv_rec *r =
		hnv_policy_rec_by_ca(w->pol, hnv_hash_ca(pt->vsid, &in.dst), pt->vsid, &in.dst);
	if ((!r || !hnv_mac_eq(&r->mac, &in.eth.dst)) && vs_l2(vs)) {
		/* L2Only: a VM's MAC is reachable whatever address it uses */
		const struct hnv_rec *m = hnv_policy_l2only(vs, &in.eth.dst);
		if (m) {
			TRACE(p, HNV_ST_LOOKUP, "VSID %u: to the MAC's L2Only record", pt->vsid);
			output(w, p, &in, m, pt->vsid, false, vs, &pt->mac);
			return;
		}
	}
	if (!r || !hnv_mac_eq(&r->mac, &in.eth.dst)) {
		IPS(dst, &in.dst);
		TRACE(p, HNV_ST_LOOKUP, "no lookup record for %s with that MAC in VSID %u", dst,
		      pt->vsid);
		verdict(w, p, HNV_R_drop_no_record);
		return;
	}
	TRACE(p, HNV_ST_LOOKUP, "same VSID %u: bridged by destination CA", pt->vsid);
	output(w, p, &in, r, pt->vsid, false, vs, &pt->mac);
}

/* ---- uplink receive ---- */

/* RFC 6040 decapsulation: combines the outer ECN field into the inner
 * header. Returns false when the packet must be dropped (outer CE over a
 * Not-ECT inner packet). */
static bool ecn_decap(struct inner *in, uint8_t outer_ecn)
{
	if (!in->v4 && !in->v6)
		return true;
	uint8_t tos = in->v4 ? in->ip4.tos : in->ip6.tclass;
	uint8_t inner = tos & 3, set = inner;
	if (outer_ecn == 3)
		set = inner == 0 ? 0xff : 3;
	else if (outer_ecn == 1 && inner == 2)
		set = 1;
	if (set == 0xff)
		return false;
	if (set == inner)
		return true;
	uint8_t ntos = (uint8_t)((tos & 0xfc) | set);
	if (in->v4) {
		uint16_t old = rd16(in->l3);
		in->l3[1] = ntos;
		wr16(in->l3 + 10, hnv_csum_update16(rd16(in->l3 + 10), old, rd16(in->l3)));
		in->ip4.tos = ntos;
	} else {
		in->l3[0] = (uint8_t)(0x60 | ntos >> 4);
		in->l3[1] = (uint8_t)((in->l3[1] & 0x0f) | (ntos & 0x0f) << 4);
		in->ip6.tclass = ntos;
	}
	return true;
}

/* The outer header of a frame from the uplink, once checked. */
struct outer {
	struct hnv_eth eth;
	struct hnv_ip src, dst;
	uint8_t ecn;
	const uint8_t *ip; /* the outer IP header */
	size_t iplen;      /* its total length */
	size_t l4off;      /* offset of the GRE header from ip */
};

/* Outer Ethernet and IPv4/IPv6 checks: not a fragment, protocol GRE.
 * Returns HNV_R__COUNT when o is filled, else the drop reason. */
static enum hnv_reason rx_outer(const struct hnv_pkt *p, struct outer *o)
{
	if (hnv_eth_parse(p->data, p->len, &o->eth))
		return HNV_R_drop_runt;
	o->ip = p->data + o->eth.hlen;
	o->iplen = p->len - o->eth.hlen;
	bool fragment;
	uint8_t proto;
	if (o->eth.type == HNV_ET_IPV4) {
		struct hnv_ipv4 h;
		if (hnv_ipv4_parse(o->ip, o->iplen, &h))
			return HNV_R_drop_bad_ip;
		if (!(p->flags & HNV_PKT_F_L3_CSUM_OK) && !hnv_ipv4_csum_ok(o->ip, h.ihl_bytes))
			return HNV_R_drop_bad_csum;
		fragment = hnv_ipv4_is_fragment(&h);
		proto = h.proto;
		o->src = h.src;
		o->dst = h.dst;
		o->ecn = h.tos & 3;
		o->l4off = h.ihl_bytes;
		o->iplen = h.total_len;
	} else if (o->eth.type == HNV_ET_IPV6) {
		struct hnv_ipv6 h;
		/* mapped PAs would alias IPv4 ones */
		if (hnv_ipv6_parse(o->ip, o->iplen, &h) || hnv_ip_is_v4(&h.src) ||
		    hnv_ip_is_v4(&h.dst))
			return HNV_R_drop_bad_ip;
		fragment = h.fragment;
		proto = h.proto;
		o->src = h.src;
		o->dst = h.dst;
		o->ecn = h.tclass & 3;
		o->l4off = h.l4_off;
		o->iplen = 40 + (size_t)h.payload_len;
	} else {
		return HNV_R_drop_not_gre;
	}
	if (fragment)
		return HNV_R_drop_ip_fragment;
	if (proto != HNV_IPPROTO_GRE)
		return HNV_R_drop_not_gre;
	return HNV_R__COUNT;
}

/* ---- MS-NVGREE REDIRECT and UNREACHABLE (nvgre_ext.h, docs/nvgre-ext.md) ----
 * Sent: a frame that passed anti-spoofing whose destination CA has no
 * record here gets UNREACHABLE (token bucket); one whose record now names
 * another PA (the VM moved away and the orchestrator updated this host)
 * gets REDIRECT with that PA (once per NVX_REDIRECT_INTERVAL_MS per sender
 * PA, VSID and CA). Either way the frame itself is consumed: the packet's
 * buffer becomes the message, sent back out of the uplink to the sender's
 * PA. The frame is not relayed to the new PA: this host's policy no longer
 * has the VM, the sender retransmits once redirected.
 * Received: recognised by inner IP destination == outer destination (this
 * host's PA), before anti-spoofing; checked (nvgre_ext.c, and inner source
 * == outer source); a REDIRECT is accepted only from the PA the record of
 * (VSID, CA) points at now, and queued for the control thread
 * (hnv_dp_redirects_apply), which overrides the record's PA. */
#define NVX_REDIRECT_INTERVAL_MS 1000
#define NVX_UNREACH_RATE 5.0 /* per second */
#define NVX_UNREACH_BURST 5.0
#define NVX_LOG_INTERVAL_MS 60000

/* True when a REDIRECT to sender about (vsid, ca) may go now; notes it. */
static bool nvx_redirect_allowed(struct nvx_state *st, const struct hnv_ip *sender, uint32_t vsid,
				 const struct hnv_ip *ca, int64_t now)
{
	uint64_t h = hnv_hash_ca(vsid, ca) ^ hnv_hash_ca(0, sender);
	struct nvx_sent *e = &st->redirect[h % NVX_REDIRECT_SLOTS];
	if (e->at_ms && e->vsid == vsid && hnv_ip_eq(&e->ca, ca) && hnv_ip_eq(&e->sender, sender) &&
	    now - e->at_ms < NVX_REDIRECT_INTERVAL_MS)
		return false;
	e->sender = *sender;
	e->ca = *ca;
	e->vsid = vsid;
	e->at_ms = now ? now : 1;
	return true;
}

static bool nvx_unreach_allowed(struct nvx_state *st, int64_t now)
{
	st->tokens += (double)(now - st->tokens_ms) * NVX_UNREACH_RATE / 1000.0;
	if (st->tokens > NVX_UNREACH_BURST || st->tokens_ms == 0)
		st->tokens = NVX_UNREACH_BURST;
	st->tokens_ms = now;
	if (st->tokens < 1.0)
		return false;
	st->tokens -= 1.0;
	return true;
}

/* Encodes message m (kind, new_pa set) about the customer packet in->l3,
 * to go from the PA the frame came to (o->dst) back to its sender
 * (o->src), into msg. Its length, or -1 when it cannot be encoded (the
 * address families). */
static int nvx_encode(const struct hnv_dp_worker *w, const struct outer *o, const struct inner *in,
		      struct hnv_nvx *m, uint8_t *msg, size_t cap)
{
	m->dst_mac = o->eth.src;
	m->src_mac = w->set->uplink_mac;
	m->from_pa = o->dst;
	m->to_pa = o->src;
	return hnv_nvx_write(msg, cap, m, in->l3, in->l3_len);
}

/* Replaces p by the encoded message msg, NVGRE-encapsulated in VSID vsid
 * from o->dst back to o->src. */
static void nvx_send(struct hnv_dp_worker *w, struct hnv_pkt *p, const struct outer *o,
		     uint32_t vsid, const uint8_t *msg, size_t n)
{
	bool outer4 = hnv_ip_is_v4(&o->src);
	size_t hl = outer4 ? NVGRE_OVERHEAD4 : NVGRE_OVERHEAD6;
	uint8_t *f = p->buf + HNV_PKT_HEADROOM;
	memcpy(f + hl, msg, n);
	hnv_eth_write(f, &o->eth.src, &w->set->uplink_mac, outer4 ? HNV_ET_IPV4 : HNV_ET_IPV6);
	if (outer4)
		hnv_ipv4_write(f + HNV_ETH_HLEN, &o->dst, &o->src, HNV_IPPROTO_GRE, 0xc0,
			       (uint16_t)(NVGRE_HLEN + n), 64, true, w->ip_id++);
	else
		hnv_ipv6_write(f + HNV_ETH_HLEN, &o->dst, &o->src, HNV_IPPROTO_GRE, 0xc0, 0,
			       (uint16_t)(NVGRE_HLEN + n), 64);
	hnv_nvgre_write(f + hl - NVGRE_HLEN, vsid, 0);
	p->data = f;
	p->len = (uint32_t)(hl + n);
	p->out_port = HNV_PORT_UPLINK;
}

/* The destination CA of a frame that passed anti-spoofing. Returns true
 * when the frame was consumed (a message sent, suppressed, or dropped). */
static bool nvx_check_dst(struct hnv_dp_worker *w, struct hnv_pkt *p, const struct outer *o,
			  const struct inner *in, uint32_t vsid)
{
	const struct hnv_rec *r =
		hnv_policy_rec_by_ca(w->pol, hnv_hash_ca(vsid, &in->dst), vsid, &in->dst);
	bool exact = r != NULL;
	/* Without a record of its own, a frame to a local port's MAC is that
	 * port's whatever its IP destination: a gateway port or a VM a
	 * customer route names as next hop forwards it on, and in a VSID with
	 * L2Only records a VM may use addresses it has no record for yet. */
	if (!exact && hnv_policy_port_by_mac(w->pol, vsid, &in->eth.dst))
		return false;
	if (!r)
		r = hnv_policy_wildcard(w->pol, vsid, &in->dst);
	if (r && hnv_policy_is_local_pa(w->pol, &r->pa))
		return false;
	IPS(ca, &in->dst);
	IPS(snd, &o->src);
	struct hnv_nvx m = {.kind = HNV_NVX_UNREACHABLE};
	if (r && !exact) {
		TRACE(p, HNV_ST_LOOKUP, "%s only matches a GatewayWildcard record of another PA",
		      ca);
		verdict(w, p, HNV_R_drop_no_record);
		return true;
	}
	int64_t now = hnv_mono_coarse_ms();
	if (r) {
		m.kind = HNV_NVX_REDIRECT;
		m.new_pa = r->pa;
	}
	/* encoded before the rate limits: a message that cannot be sent
	 * spends none of their budget */
	uint8_t msg[HNV_NVX_MAX_LEN];
	int n = nvx_encode(w, o, in, &m, msg, sizeof(msg));
	if (n < 0) {
		TRACE(p, HNV_ST_LOOKUP, "%s: message cannot be encoded (address families)", ca);
		verdict(w, p, HNV_R_drop_nvx_bad);
		return true;
	}
	if (r) {
		if (!nvx_redirect_allowed(&w->nvx, &o->src, vsid, &in->dst, now)) {
			TRACE(p, HNV_ST_LOOKUP, "%s moved: REDIRECT to %s sent recently", ca, snd);
			verdict(w, p, HNV_R_drop_redirect_limited);
			return true;
		}
	} else if (!nvx_unreach_allowed(&w->nvx, now)) {
		TRACE(p, HNV_ST_LOOKUP, "no record for %s in VSID %u: UNREACHABLE rate limited", ca,
		      vsid);
		verdict(w, p, HNV_R_drop_unreach_limited);
		return true;
	}
	nvx_send(w, p, o, vsid, msg, (size_t)n);
	if (m.kind == HNV_NVX_REDIRECT) {
		IPS(np, &m.new_pa);
		TRACE(p, HNV_ST_LOOKUP, "%s in VSID %u now at PA %s: REDIRECT sent to %s", ca, vsid,
		      np, snd);
		verdict(w, p, HNV_R_nvx_redirect_sent);
	} else {
		TRACE(p, HNV_ST_LOOKUP, "no record for %s in VSID %u: UNREACHABLE sent to %s", ca,
		      vsid, snd);
		verdict(w, p, HNV_R_nvx_unreach_sent);
	}
	return true;
}

static void nvx_log_unreach(struct nvx_state *st, const struct hnv_ip *peer,
			    const struct hnv_nvx *m, uint32_t vsid, int64_t now)
{
	unsigned i;
	for (i = 0; i < NVX_LOG_PEERS; i++)
		if (st->logged[i].at_ms && hnv_ip_eq(&st->logged[i].pa, peer))
			break;
	if (i < NVX_LOG_PEERS && now - st->logged[i].at_ms < NVX_LOG_INTERVAL_MS)
		return;
	if (i == NVX_LOG_PEERS)
		i = st->log_next++ % NVX_LOG_PEERS;
	st->logged[i].pa = *peer;
	st->logged[i].at_ms = now ? now : 1;
	char a[48], c[48];
	ipstr(peer, a, sizeof(a));
	ipstr(&m->ca, c, sizeof(c));
	hnv_log(HNV_LOG_NOTICE,
		"NVGRE UNREACHABLE from PA %s: no policy there for %s in VSID %u "
		"(at most one line per peer per %d s; see show counters)",
		a, c, vsid, NVX_LOG_INTERVAL_MS / 1000);
}

/* A frame whose inner IP destination is the outer destination (this
 * host's PA): an extension message or nothing. Consumes it. */
static void nvx_receive(struct hnv_dp_worker *w, struct hnv_pkt *p, const struct outer *o,
			uint32_t vsid)
{
	struct hnv_nvx m;
	if (hnv_nvx_parse(p->data, p->len, &m) || !hnv_ip_eq(&m.from_pa, &o->src) ||
	    !hnv_ip_eq(&m.to_pa, &o->dst)) {
		TRACE(p, HNV_ST_DECAP, "addressed to this PA but not a valid REDIRECT/UNREACHABLE");
		verdict(w, p, HNV_R_drop_nvx_bad);
		return;
	}
	IPS(ca, &m.ca);
	IPS(from, &o->src);
	if (m.kind == HNV_NVX_UNREACHABLE) {
		TRACE(p, HNV_ST_DECAP, "UNREACHABLE from %s for %s in VSID %u", from, ca, vsid);
		nvx_log_unreach(&w->nvx, &o->src, &m, vsid, hnv_mono_coarse_ms());
		verdict(w, p, HNV_R_nvx_unreach_rcvd);
		return;
	}
	const struct hnv_rec *r =
		hnv_policy_rec_by_ca(w->pol, hnv_hash_ca(vsid, &m.ca), vsid, &m.ca);
	if (!r || !hnv_ip_eq(&r->pa, &o->src) || hnv_ip_eq(&m.new_pa, &o->src) ||
	    hnv_policy_is_local_pa(w->pol, &m.new_pa)) {
		TRACE(p, HNV_ST_DECAP,
		      "REDIRECT from %s for %s in VSID %u: no record pointing at that PA", from, ca,
		      vsid);
		verdict(w, p, HNV_R_drop_nvx_untrusted);
		return;
	}
	struct hnv_dp *dp = w->dp;
	pthread_mutex_lock(&dp->nvx_lock);
	bool queued = false;
	unsigned i;
	for (i = 0; i < dp->n_pending; i++)
		if (dp->pending[i].vsid == vsid && hnv_ip_eq(&dp->pending[i].ca, &m.ca))
			break;
	if (i < NVX_PENDING_MAX) {
		dp->pending[i] = (struct nvx_pending){vsid, m.ca, o->src, m.new_pa};
		if (i == dp->n_pending)
			dp->n_pending++;
		queued = true;
	}
	pthread_mutex_unlock(&dp->nvx_lock);
	if (queued && dp->nvx_efd >= 0) {
		uint64_t one = 1;
		ssize_t wr = write(dp->nvx_efd, &one, sizeof(one));
		(void)wr; /* a full counter is still readable */
	}
	IPS(np, &m.new_pa);
	TRACE(p, HNV_ST_DECAP, "REDIRECT from %s: %s in VSID %u now at PA %s%s", from, ca, vsid, np,
	      queued ? "" : " (queue full: not applied)");
	verdict(w, p, queued ? HNV_R_nvx_redirect_rcvd : HNV_R_drop_nvx_untrusted);
}

int hnv_dp_redirect_fd(const struct hnv_dp *dp)
{
	return dp->nvx_efd;
}

int hnv_dp_redirects_apply(struct hnv_dp *dp, hnv_dp_redirect_fn fn, void *arg)
{
	struct nvx_pending q[NVX_PENDING_MAX];
	if (dp->nvx_efd >= 0) {
		uint64_t v;
		ssize_t rd = read(dp->nvx_efd, &v, sizeof(v));
		(void)rd; /* EAGAIN: nothing signalled, the queue is read anyway */
	}
	pthread_mutex_lock(&dp->nvx_lock);
	unsigned n = dp->n_pending;
	memcpy(q, dp->pending, n * sizeof(q[0]));
	dp->n_pending = 0;
	pthread_mutex_unlock(&dp->nvx_lock);
	int applied = 0;
	for (unsigned i = 0; i < n; i++) {
		int rc = hnv_policy_lookup_redirect(dp->policy, q[i].vsid, &q[i].ca, &q[i].from_pa,
						    &q[i].new_pa, (int64_t)time(NULL));
		char ca[48], np[48];
		ipstr(&q[i].ca, ca, sizeof(ca));
		ipstr(&q[i].new_pa, np, sizeof(np));
		if (rc == 0) {
			applied++;
			if (fn)
				fn(arg, &q[i].new_pa);
			hnv_log(HNV_LOG_NOTICE, "REDIRECT: %s in VSID %u now sent to PA %s", ca,
				q[i].vsid, np);
		} else if (rc != -ESTALE) {
			hnv_log(HNV_LOG_WARNING,
				"REDIRECT for %s in VSID %u to PA %s not applied: %s", ca,
				q[i].vsid, np, strerror(-rc));
		}
	}
	return applied;
}

static void rx_uplink(struct hnv_dp_worker *w, struct hnv_pkt *p)
{
	struct outer o;
	enum hnv_reason why = rx_outer(p, &o);
	if (why != HNV_R__COUNT) {
		verdict(w, p, why);
		return;
	}
	const uint8_t *ip = o.ip;
	size_t iplen = o.iplen, l4off = o.l4off;
	struct hnv_ip outer_src = o.src, outer_dst = o.dst;
	uint8_t outer_ecn = o.ecn;
	struct hnv_eth oe = o.eth;
	if (!hnv_policy_is_local_pa(w->pol, &outer_dst)) {
		IPS(d, &outer_dst);
		TRACE(p, HNV_ST_PARSE, "outer destination %s is not a local PA", d);
		verdict(w, p, HNV_R_drop_not_local_pa);
		return;
	}
	struct hnv_nvgre g;
	int rc = hnv_nvgre_parse(ip + l4off, iplen - l4off, &g);
	if (rc) {
		TRACE(p, HNV_ST_DECAP, "GRE header rejected (first word 0x%04x)",
		      iplen - l4off >= 2 ? rd16(ip + l4off) : 0);
		verdict(w, p,
			rc == -EMSGSIZE ? HNV_R_drop_runt
			: rc == -EPROTO ? HNV_R_drop_gre_proto
					: HNV_R_drop_gre_flags);
		return;
	}
	p->vsid = g.vsid;
	if (g.vsid < HNV_VSID_MIN || g.vsid > HNV_VSID_MAX) {
		TRACE(p, HNV_ST_DECAP, "VSID %u is reserved", g.vsid);
		verdict(w, p, HNV_R_drop_vsid_reserved);
		return;
	}
	const struct hnv_vsubnet *vs = hnv_policy_vsubnet(w->pol, g.vsid);
	if (!vs) {
		TRACE(p, HNV_ST_DECAP, "VSID %u (FlowID %u) is not configured", g.vsid, g.flow_id);
		verdict(w, p, HNV_R_drop_vsid_unknown);
		return;
	}
	TRACE(p, HNV_ST_DECAP, "NVGRE VSID %u FlowID %u", g.vsid, g.flow_id);
	size_t hdr = oe.hlen + l4off + NVGRE_HLEN;
	p->data += hdr;
	p->len = (uint32_t)(iplen - l4off - NVGRE_HLEN);
	struct inner in;
	enum hnv_reason bad = classify(p->data, &p->len, &in);
	if (bad != HNV_R__COUNT) {
		verdict(w, p, bad);
		return;
	}
	if (in.eth.tagged) {
		verdict(w, p, HNV_R_drop_inner_vlan);
		return;
	}
	if (!ecn_decap(&in, outer_ecn)) {
		verdict(w, p, HNV_R_drop_ecn);
		return;
	}
	if ((in.v4 || in.v6) && hnv_ip_eq(&in.dst, &outer_dst)) {
		nvx_receive(w, p, &o, g.vsid);
		return;
	}
	/* anti-spoofing: VSID, source CA, source MAC and outer source PA */
	const struct hnv_rec *r;
	struct hnv_ip src_ca;
	if (in.v4 || in.v6) {
		src_ca = in.src;
	} else if (in.eth.type == HNV_ET_ARP) {
		struct hnv_arp a;
		if (hnv_arp_parse(in.l3, in.l3_len, &a)) {
			verdict(w, p, HNV_R_drop_non_ip);
			return;
		}
		src_ca = a.spa;
	} else {
		verdict(w, p, HNV_R_drop_non_ip);
		return;
	}
	uint32_t src_vsid = g.vsid;
	struct hnv_mac src_mac = in.eth.src;
	bool routed = hnv_mac_eq(&in.eth.src, gw_mac_of(w, vs));
	if (routed) {
		/* routed by the sender's host (from the router MAC of this
		 * VSID): the source lives in another VSID of this routing
		 * domain; its record is found through the route */
		struct hnv_route_hit hit;
		if (!hnv_policy_route_lookup(w->pol, vs->rd_idx, &src_ca, &hit)) {
			verdict(w, p, HNV_R_drop_spoof);
			return;
		}
		src_vsid = hit.vsid;
		if (!hnv_ip_is_unspec(&hit.nexthop))
			src_ca = hit.nexthop;
	}
	r = hnv_policy_rec_by_ca(w->pol, hnv_hash_ca(src_vsid, &src_ca), src_vsid, &src_ca);
	if (!r)
		r = hnv_policy_wildcard(w->pol, src_vsid, &src_ca);
	bool ok = r && hnv_ip_eq(&r->pa, &outer_src) && (routed || hnv_mac_eq(&r->mac, &src_mac));
	if (ok)
		learn_touch(w, r);
	else if (!routed && l2_source(w, vs, &src_ca, &src_mac, &outer_src))
		ok = true; /* an L2Only VM's address: learned */
	if (!ok) {
		IPS(s, &src_ca);
		IPS(o, &outer_src);
		TRACE(p, HNV_ST_ANTISPOOF,
		      "source %s from PA %s matches no lookup record in VSID %u", s, o, src_vsid);
		verdict(w, p, HNV_R_drop_spoof);
		return;
	}
	TRACE(p, HNV_ST_ANTISPOOF, "source matches its lookup record");
	if (mac_is_group(&in.eth.dst)) {
		if (vs_l2(vs))
			flood(w, p, true);
		else
			verdict(w, p, HNV_R_drop_broadcast);
		return;
	}
	if ((in.v4 || in.v6) && nvx_check_dst(w, p, &o, &in, g.vsid))
		return;
	const struct hnv_port *dst = hnv_policy_port_by_mac(w->pol, g.vsid, &in.eth.dst);
	if (!dst) {
		TRACE(p, HNV_ST_DELIVER, "no local port with the destination MAC in VSID %u",
		      g.vsid);
		verdict(w, p, HNV_R_drop_no_local_port);
		return;
	}
	p->out_port = dst->id;
	TRACE(p, HNV_ST_DELIVER, "deliver to port %s", dst->name);
	verdict(w, p, HNV_R_rx_decap_delivered);
}

/* ---- batch prefetch ----
 * With a million records nothing the lookups touch stays cached, and each
 * packet's lookups form a chain of dependent loads (port -> vsubnet -> FIB
 * -> index slot -> record). Before deciding, the batch is walked once per
 * link of that chain, each pass prefetching the next link for every packet,
 * so the misses of all packets overlap instead of adding up.
 *
 * These passes peek at untagged IPv4 frames with bounds checks but decide
 * nothing: a frame they cannot read is not prefetched, and the stages
 * validate everything again. */

#define PF_GROUP 8

enum pf_kind {
	PF_NONE,
	PF_RX,
	PF_TX,
	PF_TX_ROUTED
};

struct pf {
	uint8_t kind;
	uint32_t vsid;
	struct hnv_ip ca;
	struct hnv_mac dmac;
	uint64_t h;
	uint64_t h_dst; /* rx: the destination CA's record (nvx_check_dst) */
};

/* Uplink: VSID from the GRE key, inner source CA and destination MAC. */
static bool peek_rx(const struct hnv_pkt *p, struct pf *s)
{
	const uint8_t *f = p->data;
	size_t len = p->len;
	if (len < 14 + 20 || rd16(f + 12) != HNV_ET_IPV4 || f[14 + 9] != HNV_IPPROTO_GRE)
		return false;
	size_t ihl = (size_t)(f[14] & 15) * 4;
	size_t inner = 14 + ihl + NVGRE_HLEN;
	struct hnv_nvgre g;
	if (ihl < 20 || len < inner + 14 + 20 || rd16(f + inner + 12) != HNV_ET_IPV4 ||
	    hnv_nvgre_parse(f + 14 + ihl, len - 14 - ihl, &g))
		return false;
	s->vsid = g.vsid;
	hnv_ip_from_v4(&s->ca, f + inner + 14 + 12);
	memcpy(s->dmac.b, f + inner, 6);
	struct hnv_ip dst;
	hnv_ip_from_v4(&dst, f + inner + 14 + 16);
	s->h_dst = hnv_hash_ca(g.vsid, &dst);
	return true;
}

static void prefetch_batch(struct hnv_dp_worker *w, struct hnv_pkt **pkts, unsigned n)
{
	const struct hnv_policy *pol = w->pol;
	struct pf st[PF_GROUP];
	for (unsigned i = 0; i < n; i++) {
		struct pf *s = &st[i];
		s->kind = PF_NONE;
		if (pkts[i]->in_port != HNV_PORT_UPLINK) {
			hnv_policy_prefetch_port_id(pol, pkts[i]->in_port);
			s->kind = PF_TX;
		} else if (peek_rx(pkts[i], s)) {
			s->kind = PF_RX;
			s->h = hnv_hash_ca(s->vsid, &s->ca);
			hnv_policy_prefetch_ca(pol, s->h);
			hnv_policy_prefetch_ca(pol, s->h_dst);
			hnv_policy_prefetch_vsubnet(pol, s->vsid, false);
			hnv_policy_prefetch_port(pol, s->vsid, &s->dmac, false);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		struct pf *s = &st[i];
		if (s->kind == PF_RX) {
			hnv_policy_prefetch_rec(pol, s->h);
			hnv_policy_prefetch_rec(pol, s->h_dst);
			hnv_policy_prefetch_vsubnet(pol, s->vsid, true);
			hnv_policy_prefetch_port(pol, s->vsid, &s->dmac, true);
			continue;
		}
		if (s->kind != PF_TX)
			continue;
		const struct hnv_pkt *p = pkts[i];
		const struct hnv_port *pt = hnv_policy_port(pol, p->in_port);
		if (!pt || p->len < 14 + 20 || rd16(p->data + 12) != HNV_ET_IPV4) {
			s->kind = PF_NONE;
			continue;
		}
		s->vsid = pt->vsid;
		hnv_ip_from_v4(&s->ca, p->data + 14 + 16);
		hnv_policy_prefetch_vsubnet(pol, s->vsid, false);
		/* the global gateway MAC only: a VSID's own (gw_mac_of) would
		 * need its vsubnet, not loaded yet; such frames are prefetched
		 * as bridged, which costs a wasted prefetch, never a decision */
		if (memcmp(p->data, w->set->gw_mac.b, 6) == 0) {
			s->kind = PF_TX_ROUTED;
		} else {
			s->h = hnv_hash_ca(s->vsid, &s->ca);
			hnv_policy_prefetch_ca(pol, s->h);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		struct pf *s = &st[i];
		if (s->kind == PF_TX)
			hnv_policy_prefetch_rec(pol, st[i].h);
		if (s->kind == PF_TX || s->kind == PF_TX_ROUTED)
			hnv_policy_prefetch_vsubnet(pol, s->vsid, true);
	}
	bool routed = false;
	for (unsigned i = 0; i < n; i++) {
		if (st[i].kind != PF_TX_ROUTED)
			continue;
		const struct hnv_vsubnet *vs = hnv_policy_vsubnet(pol, st[i].vsid);
		if (!vs) {
			st[i].kind = PF_NONE;
			continue;
		}
		st[i].vsid = vs->rd_idx; /* from here on: the routing domain */
		hnv_policy_prefetch_fib(pol, vs->rd_idx, true);
		routed = true;
	}
	if (!routed)
		return;
	for (unsigned i = 0; i < n; i++) {
		struct pf *s = &st[i];
		struct hnv_route_hit hit;
		if (s->kind != PF_TX_ROUTED)
			continue;
		if (!hnv_policy_route_lookup(pol, (uint16_t)s->vsid, &s->ca, &hit)) {
			s->kind = PF_NONE;
			continue;
		}
		const struct hnv_ip *target =
			hnv_ip_is_unspec(&hit.nexthop) ? &s->ca : &hit.nexthop;
		s->h = hnv_hash_ca(hit.vsid, target);
		hnv_policy_prefetch_ca(pol, s->h);
	}
	for (unsigned i = 0; i < n; i++)
		if (st[i].kind == PF_TX_ROUTED)
			hnv_policy_prefetch_rec(pol, st[i].h);
}

static void process_one(struct hnv_dp_worker *w, struct hnv_pkt *p)
{
	if (p->trace)
		p->trace->n = 0;
	if (p->in_port == HNV_PORT_UPLINK)
		rx_uplink(w, p);
	else
		tx_vm(w, p);
}

void hnv_dp_process(struct hnv_dp_worker *w, struct hnv_pkt **pkts, unsigned n)
{
	w->set = rcu_dereference(w->dp->set);
	w->now = dp_now(w->dp);
	if (n > HNV_BATCH_MAX)
		n = HNV_BATCH_MAX;
	/* groups small enough that what they prefetch is still in L1/L2 when
	 * they are processed */
	for (unsigned g = 0; g < n; g += PF_GROUP) {
		unsigned m = n - g < PF_GROUP ? n - g : PF_GROUP;
		prefetch_batch(w, pkts + g, m);
		for (unsigned i = 0; i < m; i++)
			process_one(w, pkts[g + i]);
	}
}
