/* gw_int.h: the gateway manager's own state, shared by its files and no
 * one else (gw_bgp.c: show bgp-peers):
 *   gw.c        the handle, the desired state, the kernel (VRFs, gateway
 *               ports, corp devices), NAT and conntrack zones, bgpd
 *   gw_zebra.c  the routes hnvgwd holds in zebra and the ones it learns
 *   gw_s2s.c    S2S tunnels: XFRM interfaces, NETMAP steering, charon
 *   gw_bgpstate.c  the tenants' BGP sessions as bgpd reports them
 *   gw_conn.c   GRE and L3 connections: their devices and rate limits
 * Everything here runs on the control thread (gw.h).
 */
#ifndef HNV_GW_INT_H
#define HNV_GW_INT_H

#include "../lib/log.h"
#include "../vpn/s2s.h"
#include "bgp.h"
#include "gw.h"
#include "nat.h"
#include "retain.h"
#include "rtnl.h"
#include "zapi.h"

/* Tenants, VSIDs, gateway CAs and tunnels have no fixed maximum here: a
 * desired state is allocated to the size of what the model holds (the
 * model, mgmt/model.h, is what bounds them). */
#define GW_PORTS_MAX 64           /* gateway ports per tenant */
#define GW_TENANT_TUNNELS_MAX 256 /* tunnels per tenant in its NAT zone */
#define GW_TENANT_CONNS_MAX 256   /* GRE and L3 connections per tenant in it */
#define NETMAP_RULES_MAX 4096     /* NETMAP routing rules seen in one dump */
#define ERR_LEN 256
/* how long an apply waits for zebra to take the routes of VRFs it created
 * (gw_zebra.c) */
#define HNV_GW_ZEBRA_WAIT_MS 1000
#define TS_MAX (GW_PORTS_MAX * HNV_VSUBNET_MAX_PREFIXES)

struct gw_port {
	char name[16];
	struct hnv_mac mac; /* the datapath delivers to it with this MAC */
	uint32_t vsid;
	unsigned n;
	struct hnv_ip ca[HNV_PORT_MAX_CAS];
	unsigned plen[HNV_PORT_MAX_CAS];
};

struct tenant {
	struct hnv_gw_tenant c;
	char vrf[16]; /* rd-<vrf> */
	int vrf_ifindex;
	int corp_ifindex;
	uint16_t zone;
	unsigned n_ports;
	struct gw_port ports[GW_PORTS_MAX];
	char err[ERR_LEN]; /* "" when applied */
	bool kernel_err;   /* err is a failed kernel change: retried */
};

/* An S2S tunnel: its config (holds the PSK: cleared when freed), the XFRM
 * interface xf-<if_id> in its tenant's VRF. */
struct tunnel {
	struct hnv_s2s_conf c;
	uint32_t if_id;
	char xfrm[16];
	int ifindex;
	int tenant;        /* index in gw[], -1: its routing domain has no gateway */
	char err[ERR_LEN]; /* why it has no XFRM interface or its rate limits, "" when
			    * both are applied */
	/* the ingress limit this hnvgwd put on ifindex (see struct conn) */
	uint32_t applied_in;
	int applied_in_ifindex;
	/* a pool's tunnel: the interface its floating local address is on
	 * (gw_s2s_addr.c); 0: none */
	int addr_ifindex;
};

/* A GRE or L3 connection: its device gr-<name> / l3-<name> in its
 * tenant's VRF. */
struct conn {
	struct hnv_gw_conn c;
	char dev[16];
	int ifindex;       /* 0: no device in the VRF */
	int tenant;        /* index in gw[], -1: its routing domain has no gateway */
	char err[ERR_LEN]; /* "" when applied */
	/* the ingress limit this hnvgwd put on the device ifindex (the
	 * police action is not read back from the kernel) */
	uint32_t applied_in;
	int applied_in_ifindex;
	/* the device this hnvgwd created (its ifindex) and when: its address
	 * waits for zebra to report it (apply_conn), at most 10 s */
	int created_ifindex;
	int64_t created_ms;
};

/* What one hnv_gw_apply asks for, with what applying it found out. The
 * arrays are malloc'd with exactly n_* entries (free_desired). */
struct desired {
	unsigned n_gw;
	struct tenant *gw;
	unsigned n_vs;
	struct hnv_gw_vsubnet *vs;
	unsigned n_cas;
	struct hnv_gw_ca *cas;
	unsigned n_s2s;
	struct tunnel *s2s;
	unsigned n_conns;
	struct conn *conns;
	unsigned n_peers;
	struct hnv_gw_bgp_peer *peers;
};

/* A route another daemon (bgpd, static) holds in zebra, as zebra
 * redistributes it: the corporate and site prefixes the tenants learn. */
#define LEARNED_MAX 8192 /* kept (looked up by a linear scan per update) */
#define LEARNED_NH_MAX 4 /* nexthops shown per route */
struct learned {
	char vrf[HNV_ZAPI_VRF_NAMSIZ];
	struct hnv_prefix prefix;
	uint8_t type, distance;
	uint32_t metric;
	unsigned n_nh;
	struct hnv_zapi_nh nh[LEARNED_NH_MAX];
};

struct hnv_gw {
	struct hnv_rtnl *nl;
	struct hnv_nat *nat;
	struct hnv_zapi *zapi;
	int zapi_timeout;
	bool zapi_active; /* since the first gateway: hosts never talk to zebra */
	struct hnv_bgp_opts bgp_opts;
	const char *bgp_pidfile;
	char *bgp_text;     /* the fragment last applied */
	long bgpd_pid;      /* bgpd when it was applied: a new bgpd needs it again */
	bool bgp_pending;   /* apply failed: retry on the timer */
	unsigned bgp_polls; /* of the bgpd pid file, every 0.5 s */
	bool retry;         /* a tenant's kernel changes failed: retry on the timer */
	struct hnv_ratelimit bgp_rl;
	const char *vici;    /* charon's VICI socket; NULL: no tunnels */
	const char *uplink;  /* hnv_gw_opts.uplink */
	struct hnv_s2s *s2s; /* created with the first tunnel */
	struct desired *d;   /* of the last apply, for show and the watchers */
	struct hnv_rtnl_link *links;
	size_t n_links, cap_links;
	size_t *link_name, *link_ifindex; /* links' indices by name, by ifindex */
	size_t cap_link_idx, cap_link_ifindex;
	struct hnv_rtnl_addr *addrs; /* every interface's, dumped once per apply */
	size_t n_addrs, cap_addrs;
	/* every device's qdiscs, dumped once per apply (sorted by ifindex);
	 * shaping_ok false: the dump failed, each device is asked alone */
	struct hnv_rtnl_dev_shaping *shaping;
	size_t n_shaping;
	bool shaping_ok;
	struct learned *learned; /* routes zebra redistributes to hnvgwd */
	size_t n_learned, cap_learned;
	uint64_t zapi_connects; /* sessions seen: a new one streams them again */
	/* routes kept across a pool takeover (gw_retain.c) */
	struct gw_kept *kept;
	size_t n_kept, cap_kept;
	bool kept_dirty;      /* zebra's copy is to be brought up to date */
	uint64_t learned_gen; /* changes of learned and kept */
};

/* A route a pool tenant's previous holder learned, kept until this
 * member's BGP learns it again (retain.h). */
struct gw_kept {
	char rd[HNV_NAME_MAX + 1];
	struct hnv_retain_route r;
	int64_t until_ms; /* mono */
};

/* gw.c */
/* The link of that name in the last dump (g->links), or NULL. */
const struct hnv_rtnl_link *gw_link_by_name(const struct hnv_gw *g, const char *name);
const struct hnv_gw_vsubnet *gw_find_vs(const struct desired *d, uint32_t vsid);
/* The prefixes of t's gateway VSIDs (what it serves), into out[TS_MAX]. */
size_t gw_tenant_prefixes(const struct desired *d, const struct tenant *t, struct hnv_prefix *out);

/* gw_zebra.c */
int gw_zapi_src_fd(void *arg, short *events);
int gw_zapi_src_timeout(void *arg);
void gw_zapi_src_run(void *arg, short revents);
/* hnv_zapi_opts.redist_cb: keeps what the tenants learn for show. */
void gw_learned_cb(void *arg, bool add, const char *vrf, uint32_t vrf_id,
		   const struct hnv_zapi_route *r);
/* Makes zebra hold the routes of d: the tenants' VSID prefixes through
 * their ports, default routes through the corp side, the tunnels' remote
 * prefixes through their XFRM interfaces. */
void gw_apply_routes(struct hnv_gw *g, const struct desired *d);

/* gw_s2s_addr.c: a pool tunnel's floating local address added (and
 * announced) where its peer is routed, before charon gets the tunnels;
 * hnvgwd's marked addresses no tunnel wants removed, after. */
void gw_s2s_addrs_add(struct hnv_gw *g, struct desired *d);
void gw_s2s_addrs_prune(struct hnv_gw *g, const struct desired *d);

/* gw_s2s.c */
int gw_s2s_src_fd(void *arg, short *events);
int gw_s2s_src_timeout(void *arg);
void gw_s2s_src_run(void *arg, short revents);
/* Gives each tunnel its if_id, XFRM interface name and tenant. */
void gw_assign_if_ids(struct desired *d);
/* The tunnels' XFRM interfaces, NETMAP steering rules and floating local
 * addresses (first), then charon's connections (after the tenants' NAT
 * and routes, which do not wait for charon: apply_desired). */
void gw_apply_s2s_links(struct hnv_gw *g, struct desired *d);
void gw_apply_s2s_charon(struct hnv_gw *g, struct desired *d);
/* p (a remote prefix) lies inside the real side of a remote netmap: the
 * tenant reaches it only through the mapped prefix. */
bool gw_remote_mapped(const struct hnv_s2s_conf *c, const struct hnv_prefix *p);
/* The tunnel's netmaps as nat.h wants them, appended to out (room for
 * 2 * HNV_S2S_NETMAP_MAX); how many. */
size_t gw_tunnel_netmaps(const struct tunnel *tu, struct hnv_nat_netmap *out);

/* Makes the addresses of ifindex exactly want[] (with plen[]). */
int gw_sync_addrs(struct hnv_gw *g, int ifindex, const char *name, const struct hnv_ip *want,
		  const unsigned *plen, unsigned n, char *err, size_t errlen);

/* gw_retain.c */
/* The kept routes of d's tenants that are still due, appended to zebra's
 * wanted routes by gw_apply_routes through fn (skipping prefixes it
 * already has). */
void gw_kept_foreach(struct hnv_gw *g, const struct desired *d,
		     void (*fn)(void *arg, const char *vrf, const struct hnv_prefix *p,
				const struct hnv_zapi_nh *nh),
		     void *arg);
/* From gw_learned_cb: BGP learned p in vrf. */
void gw_kept_learned(struct hnv_gw *g, const char *vrf, const struct hnv_prefix *p);
/* From the zebra source: drops what is due, re-applies zebra's routes
 * when something changed; the ms until the next drop, or -1. */
int gw_kept_run(struct hnv_gw *g);

/* gw_del.c */
struct gw_del {
	int ifindex;
	const char *name; /* for the log: "deleted <what> <name>" */
	const char *what;
};
/* Deletes the links del[0..n) together (one group delete, rtnl.h), each
 * logged; one by one when the kernel refuses that. */
void gw_del_links(struct hnv_gw *g, const struct gw_del *del, size_t n);

/* gw_conn.c */
/* What old (the last apply's state, or NULL) applied to the connections
 * and tunnels d names too (their ingress limits). */
void gw_carry_conns(struct desired *d, const struct desired *old);
/* Gives each connection its device name and tenant. */
void gw_assign_conns(struct desired *d);
/* The devices in the VRFs, their addresses and rate limits; deletes
 * gr-* GRE and l3-* VLAN devices no connection wants. */
void gw_apply_conns(struct hnv_gw *g, struct desired *d);
/* The rate limits (kbit/s, 0: none) of device dev (ifindex): changed in
 * place, the device and its routes stay; used for connections and for
 * the tunnels' XFRM interfaces, each at most once per apply. Egress is
 * compared with the tbf the kernel had when this apply began (g->shaping);
 * ingress with *applied_in and *applied_ifindex, what this
 * hnvgwd last put on a device (the police action is not read back), which
 * it updates. 0 or -errno with the message in err. */
int gw_apply_rates(struct hnv_gw *g, int ifindex, const char *dev, uint32_t rate_out,
		   uint32_t rate_in, uint32_t *applied_in, int *applied_ifindex, char *err,
		   size_t errlen);
/* "unlimited" or "N kbit/s", for show. */
void gw_rate_text(uint32_t kbit, char *buf, size_t len);

#endif
