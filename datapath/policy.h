/* policy.h: the HNV policy tables of one datapath context.
 *
 * Ownership and threading: a struct hnv_policy is written by one control
 * thread at a time (callers serialize; hnvgwd has a single control thread)
 * and read, lock-free, by any number of forwarding threads registered with
 * liburcu-qsbr. Every write is published so that a reader sees either the old
 * or the new entry, never a torn one; memory is reclaimed after a grace
 * period. Functions return 0 or a negative errno:
 *   -EINVAL  a value is out of range (the caller validated syntax already)
 *   -EEXIST  the object exists
 *   -ENOENT  a referenced object (rdomain, vsid, port) does not exist
 *   -ENOSPC  a fixed limit was reached
 *   -ENOMEM  allocation failed
 * Customer-route changes become visible to readers at hnv_policy_commit(),
 * so a batch of route changes is published as one unit; every other change
 * is visible when its function returns.
 */
#ifndef HNV_POLICY_H
#define HNV_POLICY_H

#include "../lib/hnv_types.h"

struct hnv_policy;

#define HNV_VSUBNET_MAX_PREFIXES 4
#define HNV_PORT_MAX_CAS 4
#define HNV_PORTS_MAX 1024 /* port ids 1..HNV_PORTS_MAX-1; 0 is the uplink */
#define HNV_PORT_UPLINK 0

struct hnv_vsubnet_spec {
	uint32_t vsid;
	char rdomain[HNV_NAME_MAX + 1];
	unsigned n_prefixes;
	struct hnv_prefix prefixes[HNV_VSUBNET_MAX_PREFIXES];
};

struct hnv_lookup_spec {
	uint32_t vsid;
	struct hnv_ip ca; /* unspecified for GatewayWildcard and L2Only */
	struct hnv_ip pa;
	struct hnv_mac mac;
	enum hnv_rule rule;
	enum hnv_rec_type type;
	bool use_vm_mac;
	bool has_customer_id;
	struct hnv_guid customer_id;
	char vm_name[HNV_NAME_MAX + 1];
	char context[HNV_TEXT_MAX + 1];
};

struct hnv_route_spec {
	char rdomain[HNV_NAME_MAX + 1];
	uint32_t vsid;
	struct hnv_prefix prefix;
	struct hnv_ip nexthop; /* unspecified = on-link */
	uint32_t metric;
};

struct hnv_port_spec {
	char name[HNV_NAME_MAX + 1];
	uint32_t vsid;
	struct hnv_mac mac;
	unsigned n_cas;
	struct hnv_ip cas[HNV_PORT_MAX_CAS];
	/* A gateway port (the gateway role's TAP into a tenant VRF): the kernel
	 * routes traffic of addresses behind the gateway through it, so its
	 * frames' source addresses are not its own CAs. */
	bool gateway;
};

/* DHCP of a virtual subnet: its address pools and their options, which
 * the datapath (datapath/dhcp.c) answers VMs from. Pools are IPv4, each
 * inside one prefix of the VSID. */
#define HNV_DHCP_DNS_MAX 4
#define HNV_DHCP_POOLS_MAX 8
struct hnv_dhcp_pool {
	struct hnv_ip first, last;
	unsigned n_dns;
	struct hnv_ip dns[HNV_DHCP_DNS_MAX];
	uint32_t lease; /* seconds */
};
struct hnv_dhcp_cfg {
	unsigned n_pools;
	struct hnv_dhcp_pool pools[HNV_DHCP_POOLS_MAX];
};

struct hnv_policy *hnv_policy_new(void);
/* Frees the tables; no reader may still be using them. */
void hnv_policy_free(struct hnv_policy *p);

int hnv_policy_rdomain_add(struct hnv_policy *p, const char *name, const struct hnv_guid *rdid);
int hnv_policy_rdomain_del(struct hnv_policy *p, const char *name);

int hnv_policy_vsubnet_add(struct hnv_policy *p, const struct hnv_vsubnet_spec *s);
int hnv_policy_vsubnet_del(struct hnv_policy *p, uint32_t vsid);
/* Sets the DHCP service of vsid to a copy of cfg (NULL or no pools: none).
 * 0, -ENOENT (no such vsid), -EINVAL (too many pools) or -ENOMEM. */
int hnv_policy_vsubnet_dhcp_set(struct hnv_policy *p, uint32_t vsid,
				const struct hnv_dhcp_cfg *cfg);
/* Copies the vsubnet as configured; 0 or -ENOENT. */
int hnv_policy_vsubnet_get(const struct hnv_policy *p, uint32_t vsid, struct hnv_vsubnet_spec *out);

/* Adds a record. A record's identity is (vsid, ca, mac). Records with a CA
 * are found by (vsid, ca), which is unique; every record is found by
 * (vsid, mac), which several records (the IPv4 and IPv6 CAs of one VM) may
 * share. GatewayWildcard and L2Only records have an unspecified CA; a VSID
 * has at most one GatewayWildcard record per address family. */
int hnv_policy_lookup_add(struct hnv_policy *p, const struct hnv_lookup_spec *s);
/* Replaces the record with the same (vsid, ca, mac); -ENOENT if none. */
int hnv_policy_lookup_set(struct hnv_policy *p, const struct hnv_lookup_spec *s);
int hnv_policy_lookup_del(struct hnv_policy *p, uint32_t vsid, const struct hnv_ip *ca,
			  const struct hnv_mac *mac);

/* The default-gateway lookup record of Windows Server 2012's demo (CA =
 * the lowest address of one of vsid's prefixes, PA 169.254.254.254): it
 * names no VM but the MAC of the VSID's distributed router. It is kept on
 * the vsubnet, not among the records (nothing is ever sent to its PA):
 * while vsid has one, its MAC replaces the global gateway MAC for that
 * VSID. The gateway records of one VSID (one per address family) share one
 * MAC. add: 0, -ENOENT (no vsid), -EINVAL (ca is no gateway address of
 * vsid, mac is a group or zero MAC, or differs from the MAC of vsid's
 * other gateway record), -EEXIST (ca has one), -ENOMEM. del: 0 or -ENOENT
 * (no such record). get: 0 with its MAC, or -ENOENT. */
int hnv_policy_gw_rec_add(struct hnv_policy *p, uint32_t vsid, const struct hnv_ip *ca,
			  const struct hnv_mac *mac);
int hnv_policy_gw_rec_del(struct hnv_policy *p, uint32_t vsid, const struct hnv_ip *ca,
			  const struct hnv_mac *mac);
int hnv_policy_gw_rec_get(const struct hnv_policy *p, uint32_t vsid, const struct hnv_ip *ca,
			  struct hnv_mac *mac);

int hnv_policy_route_add(struct hnv_policy *p, const struct hnv_route_spec *s);
int hnv_policy_route_del(struct hnv_policy *p, const char *rdomain, const struct hnv_prefix *pfx,
			 const struct hnv_ip *nexthop);

int hnv_policy_pa_add(struct hnv_policy *p, const struct hnv_prefix *pa);
int hnv_policy_pa_del(struct hnv_policy *p, const struct hnv_ip *pa);

/* Returns the new port id (>= 1) or a negative errno. */
int hnv_policy_port_add(struct hnv_policy *p, const struct hnv_port_spec *s);
int hnv_policy_port_del(struct hnv_policy *p, const char *name);
/* Port id by name, or -ENOENT. */
int hnv_policy_port_id(const struct hnv_policy *p, const char *name);
const char *hnv_policy_port_name(const struct hnv_policy *p, unsigned port_id);

/* Publishes route changes made since the last commit. */
int hnv_policy_commit(struct hnv_policy *p);

/* A mirror: a second copy of the tables (the kernel fast path's maps,
 * datapath/bpf/fp.c) kept equal to the policy by deltas. Every successful
 * write reports what it changed, after the change is prepared and before it
 * is published; a callback returns 0 or a negative errno, and on an error
 * the write publishes nothing and returns that error, so the policy and the
 * mirror never disagree. A callback must itself change all or nothing.
 * The objects passed are the new state (set) or the state being removed
 * (del); they are valid for the call only. Route changes are staged like
 * the policy's own: route_touch names each (routing domain, prefix) a write
 * changed; route_publish runs inside hnv_policy_commit, where
 * hnv_policy_route_exact gives the route each touched prefix now chooses. */
struct hnv_rec;
struct hnv_vsubnet;
struct hnv_port;
struct hnv_policy_mirror_ops {
	/* added, or its rd_idx, gateways, has-DHCP (dhcp != NULL) or gateway
	 * MAC (gw_recs, gw_mac) changed */
	int (*vsubnet_set)(void *arg, const struct hnv_vsubnet *v);
	int (*vsubnet_del)(void *arg, const struct hnv_vsubnet *v);
	/* records with a CA and GatewayWildcard records only (L2Only
	 * records have no CA and are not reported); set: added or replaced */
	int (*rec_set)(void *arg, const struct hnv_rec *r);
	int (*rec_del)(void *arg, const struct hnv_rec *r);
	int (*route_touch)(void *arg, uint16_t rd_idx, const struct hnv_prefix *pfx);
	int (*route_publish)(void *arg);
	/* pa was added (added) or deleted; pa4/pa6 are the first local PA of
	 * each family afterwards (hnv_policy_local_pa), NULL when none */
	int (*pa_set)(void *arg, const struct hnv_ip *pa, bool added, const struct hnv_ip *pa4,
		      const struct hnv_ip *pa6);
	int (*port_set)(void *arg, const struct hnv_port *pt);
	int (*port_del)(void *arg, const struct hnv_port *pt);
};
struct hnv_policy_mirror {
	const struct hnv_policy_mirror_ops *ops;
	void *arg;
};
/* Installs a copy of m (NULL: none). The mirror must hold the current
 * policy already (fill it with the iteration helpers of policy_read.h). */
void hnv_policy_set_mirror(struct hnv_policy *p, const struct hnv_policy_mirror *m);
/* True when route changes wait for hnv_policy_commit. */
bool hnv_policy_uncommitted(const struct hnv_policy *p);

/* REDIRECT override (MS-NVGREE, datapath/nvgre_ext.h): the record of
 * (vsid, ca), which must have a CA and point at from_pa, is replaced by one
 * pointing at new_pa and marked redirected since `since` (seconds, Unix
 * time); the mirror sees a record change. The configured record (store,
 * model) is not touched; any later write of the record through
 * hnv_policy_lookup_set/del/add clears the override. -ESTALE: no such
 * record or it no longer points at from_pa; -EINVAL: new_pa is from_pa or
 * a local PA; -ENOSPC: too many overrides; else as lookup_set. */
int hnv_policy_lookup_redirect(struct hnv_policy *p, uint32_t vsid, const struct hnv_ip *ca,
			       const struct hnv_ip *from_pa, const struct hnv_ip *new_pa,
			       int64_t since);
/* For show: true when record r is redirected; the PA it had before the
 * override (the configured one) and since when. Control thread. */
bool hnv_policy_redirect_get(const struct hnv_policy *p, const struct hnv_rec *r,
			     struct hnv_ip *cfg_pa, int64_t *since);
/* Dynamic IP address learning (docs/dynamic-learning.md). A learned
 * record is a Type Dynamic, Rule Encap record (vsid, ca) -> (mac, pa),
 * flagged HNV_REC_F_LEARNED: datapath state, never config. It is found,
 * mirrored and forwarded like any record with a CA.
 *
 * hnv_policy_learn learns ca for the VM whose (vsid, mac) has an L2Only
 * record with PA pa. ca must lie in one of the VSID's prefixes and be
 * neither its gateway, nor its IPv4 broadcast, nor multicast. Returns
 *   HNV_LEARN_NEW      a record was added
 *   HNV_LEARN_MOVED    the learned record of ca named another MAC/PA and
 *                      now names this one (a floating address failed over)
 *   HNV_LEARN_FRESH    the learned record was already this one: its
 *                      seen time is refreshed
 * or -ENOENT (no vsid), -EINVAL (ca not learnable there), -EPERM (no L2Only
 * record (vsid, mac) with PA pa), -EEXIST (a configured record holds ca:
 * configuration always wins), -ENOSPC (HNV_LEARN_MAX records in all, or
 * HNV_LEARN_MAX_PER_VSID in the VSID), -ENOMEM or a mirror's error.
 * A configured record added for a learned CA replaces the learned one;
 * deleting or changing an L2Only record forgets what its MAC learned. */
#define HNV_LEARN_MAX 4096
#define HNV_LEARN_MAX_PER_VSID 512
#define HNV_L2ONLY_MAX_PER_VSID 1024 /* L2Only records of one VSID (-ENOSPC) */
enum {
	HNV_LEARN_NEW = 0,
	HNV_LEARN_MOVED = 1,
	HNV_LEARN_FRESH = 2
};
int hnv_policy_learn(struct hnv_policy *p, uint32_t vsid, const struct hnv_ip *ca,
		     const struct hnv_mac *mac, const struct hnv_ip *pa, uint32_t now);
/* Forgets the learned record of (vsid, ca): 0, or -ENOENT when there is no
 * learned one (a configured record is never removed here). */
int hnv_policy_unlearn(struct hnv_policy *p, uint32_t vsid, const struct hnv_ip *ca);
/* Forgets learned records not seen for more than timeout seconds before
 * now; returns how many. */
unsigned hnv_policy_learn_expire(struct hnv_policy *p, uint32_t now, uint32_t timeout);
/* Learned records now, in all and in vsid. */
size_t hnv_policy_n_learned(const struct hnv_policy *p, uint32_t vsid, size_t *in_vsid);

/* Counts for show and bench. */
struct hnv_policy_stats {
	size_t n_records;
	size_t n_routes;
	size_t n_vsubnets;
	size_t n_rdomains;
	size_t record_bytes; /* pool + both indexes, for records only */
};
void hnv_policy_stats(const struct hnv_policy *p, struct hnv_policy_stats *st);

#endif
