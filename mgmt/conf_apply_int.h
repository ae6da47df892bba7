/* conf_apply_int.h: the applier's batch and what its three files share;
 * private to mgmt/conf_apply*.c.
 *
 *   conf_apply.c     the batch (begin, apply, publish, end) and its dispatch;
 *                    routing domains, VM subnets, provider addresses,
 *                    customer routes and global settings;
 *   conf_apply_vm.c  ports with the lookup records made for them, explicit
 *                    lookup records and IP pools;
 *   conf_apply_gw.c  the gateway role: provider routes, gateways, gateway
 *                    CAs with the gateway ports, S2S tunnels.
 *
 * Each apply_* function checks what needs the current tables (references,
 * duplicates, CA inside VSID) and returns 0 or a negative errno with a
 * message without "line N: " in err.
 */
#ifndef HNV_CONF_APPLY_INT_H
#define HNV_CONF_APPLY_INT_H

#include "conf_int.h"

#include "conf_apply.h"
#include "conf_rroute.h"

#include "../datapath/policy.h"
#include "../lib/vec.h"

/* ---- what a batch knows beyond the datapath ----
 * The routing domains it added, the objects that live only in the
 * configuration (provider routes, gateways, gateway CAs, tunnels), the
 * pools, the lookup records it made for ports and the gateway ports it
 * added. Arrays searched linearly: most hold a few entries per routing
 * domain. */

/* A growable array of T (HNV_GROW, lib/vec.h); zero-initialized is empty. */
#define CONF_ARRAY(T)                                                                              \
	struct {                                                                                   \
		T *a;                                                                              \
		size_t n, cap;                                                                     \
	}

/* Appends a copy of *item to array v (a CONF_ARRAY): 0 or -ENOMEM. */
#define CONF_PUSH(v, item)                                                                         \
	(HNV_GROW((v).a, (v).cap, (v).n + 1) ? -ENOMEM : ((v).a[(v).n++] = *(item), 0))

/* Index of the first element e of v with match(e, key), or -1. */
#define CONF_FIND(v, match, key) conf_array_find((v).a, (v).n, sizeof(*(v).a), (match), (key))

/* Removes element i of v, keeping the order of the others. */
#define CONF_DEL(v, i) conf_array_del((v).a, &(v).n, sizeof(*(v).a), (size_t)(i))

long conf_array_find(const void *a, size_t n, size_t size,
		     bool (*match)(const void *elem, const void *key), const void *key);
void conf_array_del(void *a, size_t *n, size_t size, size_t i);

/* match for records that start with their name (key: the name). */
bool conf_name_is(const void *elem, const void *key);

struct rd_rec {
	char name[HNV_NAME_MAX + 1];
};

struct gw_rec {
	char rdomain[HNV_NAME_MAX + 1];
	char vrf[HNV_DEV_MAX + 1];
	uint32_t table;
	char corp_dev[HNV_DEV_MAX + 1];        /* "" none */
	bool corp_nexthop, corp_nexthop_v4;    /* its --corp-nexthop and its family */
	uint32_t bgp_asn;                      /* 0: no BGP */
	struct hnv_ip bgp_peer;                /* unspecified: none */
	bool pool;                             /* bound to a gateway pool (--pool) */
	char pool_name[HNV_CONF_HOST_MAX + 1]; /* that pool, else "" */
};

/* The device a port uses: its --dev, else its name (the TAP). */
struct dev_rec {
	char port[HNV_NAME_MAX + 1]; /* first: conf_name_is */
	char dev[HNV_NAME_MAX + 1];
};

/* A tunnel without its secrets: what other tunnels are checked against. */
struct s2s_rec {
	char name[HNV_NAME_MAX + 1];
	char rdomain[HNV_NAME_MAX + 1];
	struct hnv_ip peer;
	bool has_local_addr;
	struct hnv_ip local_addr;
	char local_id[HNV_S2S_ID_MAX + 1];
	char remote_id[HNV_S2S_ID_MAX + 1];
	bool peer_any;
	char peer_host[HNV_S2S_HOST_MAX + 1];
	struct hnv_conf_rroutes routes; /* what it routes (conf_rroute.h) */
};

/* A lookup record made for a port's CA (conftext.h), until the port goes
 * or an explicit "lookup add" of the same VSID and CA replaces it. */
struct auto_rec {
	char port[HNV_NAME_MAX + 1];
	uint32_t vsid;
	struct hnv_ip ca;
	struct hnv_mac mac;
};

/* A gateway port the batch put in the datapath, with the CAs it has. */
struct gwport_rec {
	uint32_t vsid;
	unsigned n_cas;
	struct hnv_ip cas[HNV_CONF_CAS_MAX];
};

struct hnv_conf_batch {
	struct hnv_dp *dp;
	CONF_ARRAY(struct rd_rec) rdomains;
	CONF_ARRAY(struct gw_rec) gws;
	CONF_ARRAY(struct hnv_conf_gateway_ca) cas;
	CONF_ARRAY(struct s2s_rec) s2s;
	CONF_ARRAY(struct hnv_conf_proute) proutes; /* key fields only */
	CONF_ARRAY(struct hnv_conf_pool) pools;
	CONF_ARRAY(struct auto_rec) autos; /* port records not replaced */
	CONF_ARRAY(struct gwport_rec) gwports;
	CONF_ARRAY(struct dev_rec) devs;
	CONF_ARRAY(struct hnv_conf_conn) conns; /* gre and l3 */
	CONF_ARRAY(struct hnv_conf_bgp_peer) bgp_peers;
};

/* ---- shared checks and messages (conf_apply.c; those the model shares
 * too are in conf_check.h) ---- */

/* A device is one port's or one tenant's corp network (issue 17 finding
 * 4): 0, or -EEXIST with the model check's message (cmd "port add" for a
 * port's device, "gateway add" for a corp device of routing domain who). */
int conf_dev_free(const struct hnv_conf_batch *b, const char *cmd, const char *who, const char *dev,
		  char *err, size_t errlen);

/* "invalid value", "already exists", ... for a policy table's errno. */
const char *conf_errno_text(int rc);
/* Whether the batch added routing domain name (and did not delete it). */
bool conf_rdomain_known(const struct hnv_conf_batch *b, const char *name);

/* ---- VMs' objects (conf_apply_vm.c) ---- */

int conf_apply_port(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		    size_t errlen);
int conf_apply_lookup(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		      size_t errlen);
/* 0 when the datapath forwards records of s's rule (encap), else
 * -EOPNOTSUPP with the reason (TranslationMethodNat and None are refused:
 * docs/netwnv-settings.md). */
int conf_rule_supported(const char *cmd, const struct hnv_conf_lookup *s, char *err, size_t errlen);
int conf_apply_pool(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		    size_t errlen);
/* -EBUSY with a message when a pool of the batch is in VSID vsid, else 0. */
int conf_vsid_pool_busy(const struct hnv_conf_batch *b, const char *cmd, uint32_t vsid, char *err,
			size_t errlen);

/* ---- the gateway role (conf_apply_gw.c) ---- */

int conf_apply_proute(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		      size_t errlen);
int conf_apply_gateway(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		       size_t errlen);
int conf_apply_gateway_ca(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
			  size_t errlen);
int conf_apply_s2s(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		   size_t errlen);
/* bgp-peer add and del (conf_apply_bgp.c). */
int conf_apply_bgp_peer(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
			size_t errlen);
/* -EBUSY with a message when a BGP peer of the batch is in routing domain
 * rdomain (cmd "gateway del"), else 0. */
int conf_rdomain_bgp_busy(const struct hnv_conf_batch *b, const char *cmd, const char *rdomain,
			  char *err, size_t errlen);
/* -EBUSY with a message when the batch's gateway or tunnels use routing
 * domain name, else 0. */
int conf_rdomain_gw_busy(const struct hnv_conf_batch *b, const char *cmd, const char *name,
			 char *err, size_t errlen);
/* -EBUSY with a message when a gateway CA of the batch is in VSID vsid. */
int conf_vsid_gw_busy(const struct hnv_conf_batch *b, const char *cmd, uint32_t vsid, char *err,
		      size_t errlen);
/* Brings the datapath's gateway ports in line with the batch's gateway
 * CAs: one per VSID holding CAs, with all of them (hnv_gateway_port). A port
 * whose CAs changed, or that the datapath lost, is replaced. 0, or a
 * negative errno with a message. */
int conf_sync_gateway_ports(struct hnv_conf_batch *b, char *err, size_t errlen);

/* ---- GRE and L3 connections (conf_apply_conn.c) ---- */

/* 0, or -EEXIST with conf_rroute.h's message when object a (routes ra,
 * routing domain rdomain) routes a prefix overlapping one of a tunnel's
 * or connection's of its routing domain in b (conf_apply_conn.c). The
 * first such object in the model's replay order: tunnels, then GRE,
 * then L3 connections, each in the order they were added. */
int conf_rroutes_taken(const struct hnv_conf_batch *b, const struct hnv_conf_robj *a,
		       const struct hnv_conf_rroutes *ra, const char *rdomain, char *err,
		       size_t errlen);
int conf_apply_conn(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		    size_t errlen);
/* A connection of the batch in routing domain rdomain, or NULL. */
const struct hnv_conf_conn *conf_conn_of_rdomain(const struct hnv_conf_batch *b,
						 const char *rdomain);

#endif
