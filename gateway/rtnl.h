/* rtnl.h: the kernel objects of the gateway role, over rtnetlink (libmnl).
 *
 * One handle is one NETLINK_ROUTE socket used by hnvgwd's control thread:
 * every request waits for its ACK, and a failure comes back as a negative
 * errno with a message naming the object ("cannot create VRF rd-contoso
 * (table 101): Operation not supported: this kernel has no VRF support").
 *
 * hnvgwd owns the links it names with its prefixes (VRFs "rd-", XFRM
 * interfaces "xf-", gateway ports "vsid"); reconciliation deletes only
 * those. Kernel replies are untrusted: hnv_rtnl_parse_link() checks every
 * attribute length (fuzzed by tests/fuzz/fuzz_rtnl.c).
 */
#ifndef HNV_RTNL_H
#define HNV_RTNL_H

#include "../lib/hnv_types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HNV_RTNL_VRF_PREFIX "rd-"
#define HNV_RTNL_XFRM_PREFIX "xf-"

struct hnv_rtnl;

int hnv_rtnl_open(struct hnv_rtnl **out, char *err, size_t errlen);
void hnv_rtnl_close(struct hnv_rtnl *r);

/* One link of a dump. kind is "" for links without IFLA_LINKINFO. */
struct hnv_rtnl_link {
	int ifindex;
	char name[16];
	char kind[16];
	int master; /* 0: none */
	bool up;
	unsigned mtu;
	bool has_mac;
	struct hnv_mac mac;
	uint32_t vrf_table;  /* kind "vrf" */
	uint32_t xfrm_if_id; /* kind "xfrm" */
	int xfrm_link;
	int link; /* IFLA_LINK: a VLAN's parent; 0: none */
	/* kind "gre": outer addresses (IPv4, network order), the key */
	uint32_t gre_local, gre_remote;
	bool gre_has_key;
	uint32_t gre_key;
	uint16_t vlan_id; /* kind "vlan" */
	uint32_t group;   /* IFLA_GROUP, 0: the default */
};

/* Parses one RTM_NEWLINK message (the netlink header included, len bytes).
 * 0, or -EINVAL for a malformed message. */
int hnv_rtnl_parse_link(const void *msg, size_t len, struct hnv_rtnl_link *out);

typedef void (*hnv_rtnl_link_cb)(const struct hnv_rtnl_link *l, void *arg);
int hnv_rtnl_links(struct hnv_rtnl *r, hnv_rtnl_link_cb cb, void *arg, char *err, size_t errlen);
/* The link named name: 0 and *out, or -ENODEV. */
int hnv_rtnl_link_get(struct hnv_rtnl *r, const char *name, struct hnv_rtnl_link *out, char *err,
		      size_t errlen);

int hnv_rtnl_add_vrf(struct hnv_rtnl *r, const char *name, uint32_t table, char *err,
		     size_t errlen);
/* An XFRM interface with if_id over the device with ifindex dev (0: none). */
int hnv_rtnl_add_xfrm(struct hnv_rtnl *r, const char *name, uint32_t if_id, int dev, char *err,
		      size_t errlen);
int hnv_rtnl_del_link(struct hnv_rtnl *r, int ifindex, const char *name, char *err, size_t errlen);

/* ---- GRE and L3 connections (rtnl_conn.c) ----
 * The devices hnvgwd names gr-<name> (kind gre) and l3-<name> (kind
 * vlan). */
#define HNV_RTNL_GRE_PREFIX "gr-"
#define HNV_RTNL_L3_PREFIX "l3-"

/* The GRE and VLAN attributes of IFLA_INFO_DATA (indexed in t, IFLA_MAX + 1
 * entries; l->kind says which) into l: 0, or -EINVAL for a malformed one.
 * For hnv_rtnl_parse_link. */
struct hnv_nl_attr;
int hnv_rtnl_parse_conn_info(const struct hnv_nl_attr *t, struct hnv_rtnl_link *l);

/* An ip_gre tunnel (kind gre) from local to remote (IPv4), with key when
 * has_key, TTL 64, path MTU discovery on, no underlay device: its outer
 * packets are routed in the default VRF (the main table). */
int hnv_rtnl_add_gre(struct hnv_rtnl *r, const char *name, const struct hnv_ip *local,
		     const struct hnv_ip *remote, bool has_key, uint32_t key, char *err,
		     size_t errlen);
/* An 802.1Q sub-interface with VLAN id vlan of the device parent
 * (ifindex; parent_name for messages). */
int hnv_rtnl_add_vlan(struct hnv_rtnl *r, const char *name, int parent, const char *parent_name,
		      uint16_t vlan, char *err, size_t errlen);

/* The rate limits on a device, as a qdisc dump shows them: egress, the
 * root qdisc (tbf's rate, 0 for another kind or none); ingress, whether
 * the ingress qdisc is there. */
struct hnv_rtnl_shaping {
	uint64_t tbf_bytes_per_s; /* 0: no tbf root qdisc */
	bool has_root;            /* some root qdisc other than the default */
	bool has_ingress;
};
/* Parses one RTM_NEWQDISC message (untrusted, every length checked;
 * fuzzed by tests/fuzz/fuzz_rtnl_tc.c) into s when it is one of ifindex's
 * (0: any device): 1 when it was, 0 when it was another device's, -EINVAL
 * for a malformed one. */
int hnv_rtnl_parse_qdisc(const void *msg, size_t len, int ifindex, struct hnv_rtnl_shaping *s);
int hnv_rtnl_shaping_get(struct hnv_rtnl *r, int ifindex, struct hnv_rtnl_shaping *s, char *err,
			 size_t errlen);
/* One device's rate limits in a dump of every device's (hnv_rtnl_shapings). */
struct hnv_rtnl_dev_shaping {
	int ifindex;
	struct hnv_rtnl_shaping s;
};
/* Every device's rate limits from one qdisc dump, for an apply that
 * checks many devices (a qdisc dump lists every device's: one per device
 * was quadratic with 1,000 tunnels): *out (malloc'd, the caller frees it)
 * holds one entry per device the dump listed, sorted by ifindex; a device
 * not in it has only the kernel's defaults. 0, or -errno with err. */
int hnv_rtnl_shapings(struct hnv_rtnl *r, struct hnv_rtnl_dev_shaping **out, size_t *n, char *err,
		      size_t errlen);
/* The entry of ifindex in v[n] (sorted by ifindex), or NULL. */
const struct hnv_rtnl_dev_shaping *hnv_rtnl_shaping_find(const struct hnv_rtnl_dev_shaping *v,
							 size_t n, int ifindex);
/* Egress limit: a tbf root qdisc of kbit kbit/s (replacing the root qdisc
 * in place), or with kbit 0 no root qdisc (the device's default). */
int hnv_rtnl_rate_out(struct hnv_rtnl *r, int ifindex, const char *name, uint32_t kbit, char *err,
		      size_t errlen);
/* Ingress limit: the ingress qdisc with one matchall filter whose police
 * action drops what exceeds kbit kbit/s (replaced in place), or with kbit 0
 * no ingress qdisc. */
int hnv_rtnl_rate_in(struct hnv_rtnl *r, int ifindex, const char *name, uint32_t kbit, char *err,
		     size_t errlen);

/* Changes a link: master (-1 keep, 0 none, else the master's ifindex), up
 * (-1 keep, 0 down, 1 up), mac (NULL keep). name is for messages. */
/* Link groups for deleting many links at once: each is moved into group
 * (hnv_rtnl_set_group), then the whole group is deleted with one request
 * (hnv_rtnl_del_group; the kernel unregisters them together, with one
 * wait for its RCU grace periods instead of one per link: natively 500
 * veth pairs took 49 s one by one and 0.6 s as a group). */
#define HNV_RTNL_DEL_GROUP 0x686e7664u /* "hnvd": hnvgwd's deletions only */
int hnv_rtnl_set_group(struct hnv_rtnl *r, int ifindex, const char *name, uint32_t group, char *err,
		       size_t errlen);
int hnv_rtnl_del_group(struct hnv_rtnl *r, uint32_t group, char *err, size_t errlen);
int hnv_rtnl_set_link(struct hnv_rtnl *r, int ifindex, const char *name, int master, int up,
		      const struct hnv_mac *mac, char *err, size_t errlen);

/* Adds (add) or deletes an address with its prefix length on ifindex; IPv6
 * addresses get IFA_F_NODAD. Adding an address that exists is not an
 * error. */
int hnv_rtnl_addr(struct hnv_rtnl *r, bool add, int ifindex, const char *name,
		  const struct hnv_ip *a, unsigned plen, char *err, size_t errlen);

struct hnv_rtnl_addr {
	struct hnv_ip addr;
	unsigned plen;
	int ifindex;   /* the interface that has it */
	uint8_t proto; /* IFA_PROTO; HNV_RTNL_PROTO: hnvgwd's floating address */
};
typedef void (*hnv_rtnl_addr_cb)(const struct hnv_rtnl_addr *a, void *arg);
/* The addresses of ifindex, or of every interface when ifindex is 0
 * (link-local IPv6 addresses left out). One dump of all addresses either
 * way: a caller with many interfaces asks once with 0. */
int hnv_rtnl_addrs(struct hnv_rtnl *r, int ifindex, hnv_rtnl_addr_cb cb, void *arg, char *err,
		   size_t errlen);

/* Adds (add) or deletes a floating address of hnvgwd (a pool tenant's S2S
 * local address) on ifindex: a host address (/32, /128) marked with
 * IFA_PROTO HNV_RTNL_PROTO, so that hnvgwd finds and removes only its own
 * ("ip addr" shows "proto 104"). 1 when it was added, 0 when it was there
 * already (or, deleting, was not), or a negative errno with err. */
int hnv_rtnl_float_addr(struct hnv_rtnl *r, bool add, int ifindex, const char *name,
			const struct hnv_ip *a, char *err, size_t errlen);
/* The interface the main routing decides for dst (RTM_GETROUTE): 0 with
 * *oif, or a negative errno with err (-ENETUNREACH: no route). */
int hnv_rtnl_route_oif(struct hnv_rtnl *r, const struct hnv_ip *dst, int *oif, char *err,
		       size_t errlen);

/* ---- policy routing: NETMAP steering (gateway/nat.h) ----
 * A tunnel with a remote netmap gets one IPv4 rule "fwmark M lookup M" at
 * HNV_RTNL_NETMAP_PRIO (before the l3mdev rule at 1000) and table M with
 * one route, default dev <its XFRM interface>. */
#define HNV_RTNL_NETMAP_PRIO 900

struct hnv_rtnl_rule {
	uint8_t family; /* AF_INET, AF_INET6 */
	uint8_t action; /* FR_ACT_* */
	uint32_t prio;
	uint32_t fwmark, fwmask; /* 0: none */
	uint32_t table;
};

/* Parses one RTM_NEWRULE message (untrusted, every length checked; fuzzed
 * by tests/fuzz/fuzz_rtnl.c). 0, or -EINVAL. */
int hnv_rtnl_parse_rule(const void *msg, size_t len, struct hnv_rtnl_rule *out);

typedef void (*hnv_rtnl_rule_cb)(const struct hnv_rtnl_rule *r, void *arg);
/* The IPv4 rules. */
int hnv_rtnl_rules(struct hnv_rtnl *r, hnv_rtnl_rule_cb cb, void *arg, char *err, size_t errlen);
/* Adds or deletes the IPv4 rule "priority prio fwmark mark lookup table".
 * Adding one that exists and deleting one that does not are not errors. */
int hnv_rtnl_rule(struct hnv_rtnl *r, bool add, uint32_t prio, uint32_t mark, uint32_t table,
		  char *err, size_t errlen);
/* Adds (replacing) or deletes the IPv4 route "default dev ifindex" in
 * table; name is for messages. Deleting a missing route is not an error. */
int hnv_rtnl_default_dev(struct hnv_rtnl *r, bool add, uint32_t table, int ifindex,
			 const char *name, char *err, size_t errlen);

/* ---- provider routes (the config's "proute"; mgmt/daemon/proutes.h) ----
 * Routes in the main table toward provider addresses, marked with
 * protocol HNV_RTNL_PROTO so that hnvgwd finds (and deletes) only its own.
 * "ip route" shows them as "proto 104". */
#define HNV_RTNL_PROTO 104

struct hnv_rtnl_route {
	uint8_t family; /* AF_INET, AF_INET6 */
	uint8_t protocol;
	uint32_t table;
	struct hnv_prefix dst; /* host bits as the kernel has them */
	bool has_gateway;
	struct hnv_ip gateway;
	int oif; /* 0: absent */
	uint32_t metric;
};

/* Parses one RTM_NEWROUTE message (untrusted, every length checked; fuzzed
 * by tests/fuzz/fuzz_rtnl.c). 0, or -EINVAL. */
int hnv_rtnl_parse_route(const void *msg, size_t len, struct hnv_rtnl_route *out);

typedef void (*hnv_rtnl_route_cb)(const struct hnv_rtnl_route *r, void *arg);
/* hnvgwd's routes (protocol HNV_RTNL_PROTO) of the main table, both
 * families. */
int hnv_rtnl_proutes(struct hnv_rtnl *r, hnv_rtnl_route_cb cb, void *arg, char *err, size_t errlen);
/* Adds or deletes the main-table route "dst [via gw] dev ifindex metric
 * metric proto HNV_RTNL_PROTO"; gw NULL or unspecified: on-link; dev names
 * ifindex in messages. Adding fails with -EEXIST when the kernel has a route
 * of that prefix and metric already; deleting a missing route is not an
 * error. */
int hnv_rtnl_proute(struct hnv_rtnl *r, bool add, const struct hnv_prefix *dst,
		    const struct hnv_ip *gw, int ifindex, const char *dev, uint32_t metric,
		    char *err, size_t errlen);

#endif
