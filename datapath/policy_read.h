/* policy_read.h: the read side of the policy tables, for the forwarding
 * engine (dp.c) and for show/trace. Only policy.c writes these objects.
 *
 * Every function here must be called by a thread registered with
 * liburcu-qsbr and online; returned pointers stay valid until that thread's
 * next quiescent state. Nothing returned may be written.
 */
#ifndef HNV_POLICY_READ_H
#define HNV_POLICY_READ_H

#include "policy.h"

/* A lookup record as the datapath sees it: 64 bytes. Strings (VMName,
 * Context) and the CustomerID live in interned side tables that only the
 * control thread reads. */
struct hnv_rec {
	struct hnv_ip ca;
	struct hnv_ip pa;
	uint32_t vsid;
	struct hnv_mac mac;
	uint8_t rule;  /* enum hnv_rule */
	uint8_t type;  /* enum hnv_rec_type */
	uint8_t flags; /* HNV_REC_F_* */
	uint8_t pad;
	uint16_t customer_idx; /* 0: none */
	uint32_t vm_name_idx;  /* 0: none */
	uint32_t context_idx;  /* 0: none */
	uint32_t next;         /* control thread only: chain of (vsid, mac) / free list */
	/* learned records (HNV_REC_F_LEARNED): the second traffic last
	 * confirmed it, on the engine's clock. Forwarding threads store it
	 * (uatomic_set, the only field they write); the control thread ages
	 * records by it (hnv_policy_learn_expire). 0 for other records. */
	uint32_t seen;
};
#define HNV_REC_F_USED 0x1
#define HNV_REC_F_USE_VM_MAC 0x2
#define HNV_REC_F_REDIRECTED 0x4 /* PA overridden by a REDIRECT (hnv_policy_lookup_redirect) */
#define HNV_REC_F_LEARNED 0x8 /* Type Dynamic, learned from traffic (hnv_policy_learn) */

/* The L2Only records of a virtual subnet, as copies: whose MACs may use
 * addresses they were not configured with (learning), and the PAs a
 * broadcast in the subnet is replicated to (flooding). Immutable once
 * published; replaced whole. */
struct hnv_l2set {
	unsigned n;
	struct hnv_rec rec[];
};

struct hnv_vsubnet {
	uint32_t vsid;
	uint16_t rd_idx;
	uint8_t n_prefixes;
	struct hnv_prefix prefixes[HNV_VSUBNET_MAX_PREFIXES];
	struct hnv_ip gateway[HNV_VSUBNET_MAX_PREFIXES]; /* lowest address of each prefix */
	struct hnv_dhcp_cfg *dhcp; /* RCU; NULL: no pool, DHCP not answered */
	struct hnv_l2set *l2; /* RCU; NULL: no L2Only records (no learning, no flooding) */
	/* Default-gateway lookup records (hnv_policy_gw_rec_add): bit i set
	 * when gateway[i] has one. With any bit set, gw_mac is this VSID's
	 * router MAC (all its gateway records have it); with none, the
	 * datapath's global gateway MAC applies (hnv_dp_settings.gw_mac). */
	uint8_t gw_recs;
	struct hnv_mac gw_mac;
};

struct hnv_port {
	uint16_t id;
	uint32_t vsid;
	struct hnv_mac mac;
	uint8_t n_cas;
	struct hnv_ip cas[HNV_PORT_MAX_CAS];
	char name[HNV_NAME_MAX + 1];
	bool gateway; /* see struct hnv_port_spec */
};

/* The result of a customer-route lookup. */
struct hnv_route_hit {
	uint32_t vsid;
	uint32_t metric;
	struct hnv_ip nexthop; /* unspecified: on-link */
	struct hnv_prefix prefix;
};

/* Hashes used for the two-phase (prefetch, then probe) lookups. */
static inline uint64_t hnv_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static inline uint64_t hnv_hash_ca(uint32_t vsid, const struct hnv_ip *ca)
{
	uint64_t a, b;
	memcpy(&a, ca->b, 8);
	memcpy(&b, ca->b + 8, 8);
	return hnv_mix64(a * 0x9e3779b97f4a7c15ull ^ b ^ ((uint64_t)vsid << 1));
}

static inline uint64_t hnv_hash_mac(uint32_t vsid, const struct hnv_mac *mac)
{
	uint64_t a = 0;
	memcpy(&a, mac->b, 6);
	return hnv_mix64(a ^ ((uint64_t)vsid << 48) ^ ((uint64_t)vsid >> 16) ^
			 0x9e3779b97f4a7c15ull);
}

/* Two-phase lookup for batches: prefetch the index slot of hash h, then
 * (once that line is likely cached) prefetch the record it names. */
void hnv_policy_prefetch_ca(const struct hnv_policy *p, uint64_t h);
void hnv_policy_prefetch_rec(const struct hnv_policy *p, uint64_t h);
const struct hnv_rec *hnv_policy_rec_by_ca(const struct hnv_policy *p, uint64_t h, uint32_t vsid,
					   const struct hnv_ip *ca);
const struct hnv_rec *hnv_policy_rec_by_mac(const struct hnv_policy *p, uint64_t h, uint32_t vsid,
					    const struct hnv_mac *mac);
/* The GatewayWildcard record of vsid for the family of like, if any. */
const struct hnv_rec *hnv_policy_wildcard(const struct hnv_policy *p, uint32_t vsid,
					  const struct hnv_ip *like);

const struct hnv_vsubnet *hnv_policy_vsubnet(const struct hnv_policy *p, uint32_t vsid);
const struct hnv_port *hnv_policy_port(const struct hnv_policy *p, unsigned id);
const struct hnv_port *hnv_policy_port_by_mac(const struct hnv_policy *p, uint32_t vsid,
					      const struct hnv_mac *mac);
/* True when ca may be learned in vs (hnv_policy_learn's -EINVAL test). */
bool hnv_policy_learnable(const struct hnv_vsubnet *vs, const struct hnv_ip *ca);
/* The L2Only record of (vs, mac), or NULL. */
const struct hnv_rec *hnv_policy_l2only(const struct hnv_vsubnet *vs, const struct hnv_mac *mac);
/* Longest-prefix match in routing domain rd_idx; lowest metric among equal
 * prefixes. Returns false when no route covers dst. */
bool hnv_policy_route_lookup(const struct hnv_policy *p, uint16_t rd_idx, const struct hnv_ip *dst,
			     struct hnv_route_hit *hit);
/* Prefetch helpers for batches. With deref false they request the index
 * slot; with deref true (a pass later, the slot now cached) the object the
 * slot's first candidate names. They never fail and decide nothing. */
void hnv_policy_prefetch_fib(const struct hnv_policy *p, uint16_t rd_idx, bool v4);
void hnv_policy_prefetch_vsubnet(const struct hnv_policy *p, uint32_t vsid, bool deref);
void hnv_policy_prefetch_port(const struct hnv_policy *p, uint32_t vsid, const struct hnv_mac *mac,
			      bool deref);
void hnv_policy_prefetch_port_id(const struct hnv_policy *p, unsigned id);
/* True when ip is one of the local provider addresses. */
bool hnv_policy_is_local_pa(const struct hnv_policy *p, const struct hnv_ip *ip);
/* The first local PA of ip's family, or NULL. */
const struct hnv_ip *hnv_policy_local_pa(const struct hnv_policy *p, bool v4);

/* Control-thread helpers for show and the mirror: iteration (stops at
 * and returns the first non-zero cb result) and the interned fields. */
typedef int (*hnv_rec_cb)(const struct hnv_rec *r, void *arg);
int hnv_policy_rec_foreach(const struct hnv_policy *p, hnv_rec_cb cb, void *arg);
typedef int (*hnv_vsubnet_cb)(const struct hnv_vsubnet *v, void *arg);
int hnv_policy_vsubnet_foreach(const struct hnv_policy *p, hnv_vsubnet_cb cb, void *arg);
typedef int (*hnv_port_cb)(const struct hnv_port *pt, void *arg);
int hnv_policy_port_foreach(const struct hnv_policy *p, hnv_port_cb cb, void *arg);
/* Every configured route (staged ones included) with its routing domain. */
typedef int (*hnv_route_cb)(uint16_t rd_idx, const struct hnv_prefix *pfx, void *arg);
int hnv_policy_route_foreach(const struct hnv_policy *p, hnv_route_cb cb, void *arg);
/* The local provider addresses, in the order added. */
typedef int (*hnv_pa_cb)(const struct hnv_prefix *pa, void *arg);
int hnv_policy_pa_foreach(const struct hnv_policy *p, hnv_pa_cb cb, void *arg);
/* The route of exactly prefix pfx in routing domain rd_idx among the
 * configured routes (staged ones included): the one
 * hnv_policy_route_lookup returns for addresses pfx covers most
 * specifically once committed (lowest metric; of equal metrics the one
 * configured first). False when there is none. Control thread only. */
bool hnv_policy_route_exact(const struct hnv_policy *p, uint16_t rd_idx,
			    const struct hnv_prefix *pfx, struct hnv_route_hit *hit);
/* The same among the committed routes (what readers use now). */
bool hnv_policy_route_committed(const struct hnv_policy *p, uint16_t rd_idx,
				const struct hnv_prefix *pfx, struct hnv_route_hit *hit);
void hnv_policy_rec_spec(const struct hnv_policy *p, const struct hnv_rec *r,
			 struct hnv_lookup_spec *out);
/* The learned records (HNV_REC_F_LEARNED) only, in no particular order. */
int hnv_policy_learned_foreach(const struct hnv_policy *p, hnv_rec_cb cb, void *arg);

#endif
