/* rtnl.c: rtnetlink requests and dumps for the gateway role (libmnl,
 * over lib/nl.h). */
#include "rtnl.h"
#include "rtnl_int.h"

#include "../lib/addr.h"
#include "../lib/err.h"
#include "../lib/nl.h"
#include "../lib/vec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* What a kernel error means for the object, beyond strerror. */
static const char *hint(int e, const char *kind)
{
	if (e == EOPNOTSUPP && kind != NULL)
		return kind;
	return "";
}

int hnv_rtnl_open(struct hnv_rtnl **out, char *err, size_t errlen)
{
	struct hnv_rtnl *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		hnv_seterr(err, errlen, "rtnetlink: out of memory");
		return -ENOMEM;
	}
	int rc = hnv_nl_open(&r->nl, NETLINK_ROUTE);
	if (rc < 0) {
		free(r);
		hnv_seterr(err, errlen, "cannot open rtnetlink socket: %s", strerror(-rc));
		return rc;
	}
	*out = r;
	return 0;
}

void hnv_rtnl_close(struct hnv_rtnl *r)
{
	if (r == NULL)
		return;
	hnv_nl_close(&r->nl);
	free(r);
}

/* What a dump callback gathers: parsed entries, handed to the caller only
 * once the whole dump was read without interruption. */
struct items {
	unsigned char *v;
	size_t n, cap, size;
};

static int items_push(struct items *it, const void *x)
{
	if (hnv_grow_array(&it->v, &it->cap, it->n + 1, it->size))
		return -ENOMEM;
	memcpy(it->v + it->n++ * it->size, x, it->size);
	return 0;
}

#define DUMP_TRIES 32

/* Runs a dump whose request req builds (again for each try) and whose
 * callback fills the struct items at the start of walk; an interrupted
 * dump is read again from scratch. */
static int dump(struct hnv_rtnl *r, struct nlmsghdr *(*req)(struct hnv_rtnl *), mnl_cb_t cb,
		struct items *walk)
{
	int rc = -EINTR;
	for (int i = 0; i < DUMP_TRIES && rc == -EINTR; i++) {
		walk->n = 0;
		rc = hnv_nl_talk(&r->nl, req(r), cb, walk);
	}
	return rc;
}

static struct nlmsghdr *link_req(struct hnv_rtnl *r, uint16_t type, uint16_t flags, int ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->nl.buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return nlh;
}

/* ---- link dump parsing (untrusted) ---- */

/* The attributes after a message's fixed header of hdr bytes. */
static int msg_attrs(const struct nlmsghdr *nlh, size_t hdr, struct hnv_nl_attr *tb, unsigned max)
{
	size_t off = MNL_NLMSG_HDRLEN + MNL_ALIGN(hdr);
	return hnv_nl_index(hnv_nl_cursor((const uint8_t *)nlh + off, nlh->nlmsg_len - off), tb,
			    max);
}

/* An optional u32 attribute into *v: 0 (absent or read), -EINVAL. */
static int opt_u32(const struct hnv_nl_attr *a, uint32_t *v)
{
	return a->data ? hnv_nl_u32(a, v) : 0;
}

static int parse_info_data(const struct hnv_nl_attr *data, struct hnv_rtnl_link *l)
{
	struct hnv_nl_attr t[IFLA_MAX + 1];
	if (hnv_nl_index(hnv_nl_nested(data), t, IFLA_MAX) < 0)
		return -EINVAL;
	uint32_t link = 0;
	if (strcmp(l->kind, "vrf") == 0 && opt_u32(&t[IFLA_VRF_TABLE], &l->vrf_table) < 0)
		return -EINVAL;
	if (strcmp(l->kind, "xfrm") == 0 && (opt_u32(&t[IFLA_XFRM_IF_ID], &l->xfrm_if_id) < 0 ||
					     opt_u32(&t[IFLA_XFRM_LINK], &link) < 0))
		return -EINVAL;
	l->xfrm_link = (int)link;
	return hnv_rtnl_parse_conn_info(t, l);
}

int hnv_rtnl_parse_link(const void *msg, size_t len, struct hnv_rtnl_link *l)
{
	memset(l, 0, sizeof(*l));
	const struct nlmsghdr *nlh = msg;
	if (len < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) ||
	    MNL_ALIGN((size_t)nlh->nlmsg_len) > len || nlh->nlmsg_type != RTM_NEWLINK ||
	    nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ifinfomsg)))
		return -EINVAL;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	l->ifindex = ifi->ifi_index;
	l->up = (ifi->ifi_flags & IFF_UP) != 0;
	struct hnv_nl_attr t[IFLA_MAX + 1];
	if (msg_attrs(nlh, sizeof(*ifi), t, IFLA_MAX) < 0)
		return -EINVAL;
	if (t[IFLA_IFNAME].data == NULL || hnv_nl_str(&t[IFLA_IFNAME], l->name, sizeof(l->name)))
		return -EINVAL;
	uint32_t master = 0, link = 0;
	if (opt_u32(&t[IFLA_MASTER], &master) < 0 || opt_u32(&t[IFLA_MTU], &l->mtu) < 0 ||
	    opt_u32(&t[IFLA_LINK], &link) < 0 || opt_u32(&t[IFLA_GROUP], &l->group) < 0)
		return -EINVAL;
	l->master = (int)master;
	l->link = (int)link;
	if (t[IFLA_ADDRESS].len == 6) {
		memcpy(l->mac.b, t[IFLA_ADDRESS].data, 6);
		l->has_mac = true;
	}
	if (t[IFLA_LINKINFO].data) {
		struct hnv_nl_attr li[IFLA_INFO_MAX + 1];
		if (hnv_nl_index(hnv_nl_nested(&t[IFLA_LINKINFO]), li, IFLA_INFO_MAX) < 0)
			return -EINVAL;
		if (li[IFLA_INFO_KIND].data &&
		    hnv_nl_str(&li[IFLA_INFO_KIND], l->kind, sizeof(l->kind)))
			return -EINVAL;
		if (li[IFLA_INFO_DATA].data && l->kind[0] &&
		    parse_info_data(&li[IFLA_INFO_DATA], l))
			return -EINVAL;
	}
	return 0;
}

struct link_walk {
	struct items it; /* first: see dump() */
	int bad;
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_walk *w = data;
	struct hnv_rtnl_link l;
	if (hnv_rtnl_parse_link(nlh, nlh->nlmsg_len, &l) < 0) {
		w->bad++;
		return MNL_CB_OK;
	}
	return items_push(&w->it, &l) ? MNL_CB_ERROR : MNL_CB_OK;
}

static struct nlmsghdr *links_req(struct hnv_rtnl *r)
{
	return link_req(r, RTM_GETLINK, NLM_F_DUMP, 0);
}

/* All links in w->it (caller frees w->it.v). */
static int links(struct hnv_rtnl *r, struct link_walk *w, char *err, size_t errlen)
{
	*w = (struct link_walk){.it = {.size = sizeof(struct hnv_rtnl_link)}};
	int rc = dump(r, links_req, link_cb, &w->it);
	if (rc < 0)
		hnv_seterr(err, errlen, "cannot list links: %s", strerror(-rc));
	return rc;
}

int hnv_rtnl_links(struct hnv_rtnl *r, hnv_rtnl_link_cb cb, void *arg, char *err, size_t errlen)
{
	struct link_walk w;
	int rc = links(r, &w, err, errlen);
	const struct hnv_rtnl_link *l = (const struct hnv_rtnl_link *)w.it.v;
	for (size_t i = 0; rc == 0 && i < w.it.n; i++)
		cb(&l[i], arg);
	free(w.it.v);
	return rc;
}

struct link_one {
	struct hnv_rtnl_link l;
	bool got, bad;
};

static int link_one_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_one *o = data;
	if (o->got || hnv_rtnl_parse_link(nlh, nlh->nlmsg_len, &o->l) < 0)
		o->bad = true;
	else
		o->got = true;
	return MNL_CB_OK;
}

/* One RTM_GETLINK by name (the kernel's own lookup), not a dump of every
 * link: with 1,000 tenants a dump per created VRF or XFRM interface was
 * ~4,000 links each time. */
int hnv_rtnl_link_get(struct hnv_rtnl *r, const char *name, struct hnv_rtnl_link *out, char *err,
		      size_t errlen)
{
	if (strlen(name) >= IFNAMSIZ) {
		hnv_seterr(err, errlen, "no interface %s", name);
		return -ENODEV;
	}
	struct nlmsghdr *nlh = link_req(r, RTM_GETLINK, NLM_F_ACK, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct link_one o = {.got = false};
	int rc = hnv_nl_talk(&r->nl, nlh, link_one_cb, &o);
	if (rc == -ENODEV || (rc == 0 && !o.got && !o.bad)) {
		hnv_seterr(err, errlen, "no interface %s", name);
		return -ENODEV;
	}
	if (rc == 0 && (o.bad || strcmp(o.l.name, name) != 0))
		rc = -EPROTO;
	if (rc < 0) {
		hnv_seterr(err, errlen, "cannot get link %s: %s", name, strerror(-rc));
		return rc;
	}
	*out = o.l;
	return 0;
}

/* ---- link changes ---- */

static int add_typed(struct hnv_rtnl *r, const char *name, const char *kind,
		     void (*data)(struct nlmsghdr *, const void *), const void *arg)
{
	struct nlmsghdr *nlh = link_req(r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	struct nlattr *d = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	data(nlh, arg);
	mnl_attr_nest_end(nlh, d);
	mnl_attr_nest_end(nlh, li);
	return hnv_nl_talk(&r->nl, nlh, NULL, NULL);
}

static void vrf_data(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_u32(nlh, IFLA_VRF_TABLE, *(const uint32_t *)arg);
}

int hnv_rtnl_add_vrf(struct hnv_rtnl *r, const char *name, uint32_t table, char *err, size_t errlen)
{
	int rc = add_typed(r, name, "vrf", vrf_data, &table);
	if (rc < 0)
		hnv_seterr(err, errlen, "cannot create VRF %s (table %u): %s%s", name, table,
			   strerror(-rc), hint(-rc, ": this kernel has no VRF support"));
	return rc;
}

struct xfrm_args {
	uint32_t if_id;
	int dev;
};

static void xfrm_data(struct nlmsghdr *nlh, const void *arg)
{
	const struct xfrm_args *x = arg;
	if (x->dev > 0)
		mnl_attr_put_u32(nlh, IFLA_XFRM_LINK, (uint32_t)x->dev);
	mnl_attr_put_u32(nlh, IFLA_XFRM_IF_ID, x->if_id);
}

int hnv_rtnl_add_xfrm(struct hnv_rtnl *r, const char *name, uint32_t if_id, int dev, char *err,
		      size_t errlen)
{
	struct xfrm_args x = {if_id, dev};
	int rc = add_typed(r, name, "xfrm", xfrm_data, &x);
	if (rc < 0)
		hnv_seterr(err, errlen, "cannot create XFRM interface %s (if_id %u): %s%s", name,
			   if_id, strerror(-rc),
			   hint(-rc, ": this kernel has no XFRM interface support"));
	return rc;
}

int hnv_rtnl_del_link(struct hnv_rtnl *r, int ifindex, const char *name, char *err, size_t errlen)
{
	int rc = hnv_nl_talk(&r->nl, link_req(r, RTM_DELLINK, NLM_F_ACK, ifindex), NULL, NULL);
	if (rc < 0)
		hnv_seterr(err, errlen, "cannot delete interface %s: %s", name, strerror(-rc));
	return rc;
}

int hnv_rtnl_set_group(struct hnv_rtnl *r, int ifindex, const char *name, uint32_t group, char *err,
		       size_t errlen)
{
	struct nlmsghdr *nlh = link_req(r, RTM_NEWLINK, NLM_F_ACK, ifindex);
	mnl_attr_put_u32(nlh, IFLA_GROUP, group);
	int rc = hnv_nl_talk(&r->nl, nlh, NULL, NULL);
	if (rc < 0)
		hnv_seterr(err, errlen, "cannot set the group of %s: %s", name, strerror(-rc));
	return rc;
}

int hnv_rtnl_del_group(struct hnv_rtnl *r, uint32_t group, char *err, size_t errlen)
{
	struct nlmsghdr *nlh = link_req(r, RTM_DELLINK, NLM_F_ACK, 0);
	mnl_attr_put_u32(nlh, IFLA_GROUP, group);
	int rc = hnv_nl_talk(&r->nl, nlh, NULL, NULL);
	if (rc < 0)
		hnv_seterr(err, errlen, "cannot delete link group %u: %s", group, strerror(-rc));
	return rc;
}

int hnv_rtnl_set_link(struct hnv_rtnl *r, int ifindex, const char *name, int master, int up,
		      const struct hnv_mac *mac, char *err, size_t errlen)
{
	struct nlmsghdr *nlh = link_req(r, RTM_NEWLINK, NLM_F_ACK, ifindex);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	if (up >= 0) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = up ? IFF_UP : 0;
	}
	if (master >= 0)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac->b);
	int rc = hnv_nl_talk(&r->nl, nlh, NULL, NULL);
	if (rc < 0) {
		const char *part[3] = {master >= 0 ? "master" : NULL, up >= 0 ? "state" : NULL,
				       mac ? "MAC" : NULL};
		char what[32] = "";
		for (int i = 0; i < 3; i++)
			if (part[i]) {
				if (what[0])
					strcat(what, ", ");
				strcat(what, part[i]);
			}
		hnv_seterr(err, errlen, "cannot set %s of %s: %s", what, name, strerror(-rc));
	}
	return rc;
}

/* ---- addresses ---- */

/* RTM_NEWADDR (add, exclusive) or RTM_DELADDR of a/plen on ifindex, marked
 * as ours (IFA_PROTO) when proto; the kernel's answer, and err naming the
 * address and the device when it refused. */
static int addr_talk(struct hnv_rtnl *r, bool add, int ifindex, const char *name,
		     const struct hnv_ip *a, unsigned plen, bool proto, char *err, size_t errlen)
{
	bool v4 = hnv_ip_is_v4(a);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->nl.buf);
	nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = v4 ? AF_INET : AF_INET6;
	ifa->ifa_prefixlen = (uint8_t)plen;
	ifa->ifa_index = (uint32_t)ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	const uint8_t *b = v4 ? a->b + 12 : a->b;
	size_t n = v4 ? 4 : 16;
	mnl_attr_put(nlh, IFA_LOCAL, n, b);
	mnl_attr_put(nlh, IFA_ADDRESS, n, b);
	if (add && proto)
		mnl_attr_put_u8(nlh, IFA_PROTO, HNV_RTNL_PROTO);
	if (add && !v4)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	int rc = hnv_nl_talk(&r->nl, nlh, NULL, NULL);
	if (rc < 0 && !(rc == -EEXIST && add) && !(rc == -EADDRNOTAVAIL && !add && proto)) {
		char s[INET6_ADDRSTRLEN];
		inet_ntop(v4 ? AF_INET : AF_INET6, b, s, sizeof(s));
		hnv_seterr(err, errlen, "cannot %s address %s/%u %s %s: %s", add ? "add" : "delete",
			   s, plen, add ? "to" : "from", name, strerror(-rc));
	}
	return rc;
}

int hnv_rtnl_addr(struct hnv_rtnl *r, bool add, int ifindex, const char *name,
		  const struct hnv_ip *a, unsigned plen, char *err, size_t errlen)
{
	int rc = addr_talk(r, add, ifindex, name, a, plen, false, err, errlen);
	return rc == -EEXIST && add ? 0 : rc;
}

int hnv_rtnl_float_addr(struct hnv_rtnl *r, bool add, int ifindex, const char *name,
			const struct hnv_ip *a, char *err, size_t errlen)
{
	int rc = addr_talk(r, add, ifindex, name, a, hnv_ip_is_v4(a) ? 32 : 128, true, err, errlen);
	if ((rc == -EEXIST && add) || (rc == -EADDRNOTAVAIL && !add))
		return 0;
	return rc < 0 ? rc : 1;
}

static int route_oif_cb(const struct nlmsghdr *nlh, void *data)
{
	struct hnv_rtnl_route rt;
	if (hnv_rtnl_parse_route(nlh, MNL_ALIGN((size_t)nlh->nlmsg_len), &rt) == 0 && rt.oif > 0)
		*(int *)data = rt.oif;
	return MNL_CB_OK;
}

int hnv_rtnl_route_oif(struct hnv_rtnl *r, const struct hnv_ip *dst, int *oif, char *err,
		       size_t errlen)
{
	bool v4 = hnv_ip_is_v4(dst);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->nl.buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK; /* the ack ends the reply */
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = v4 ? AF_INET : AF_INET6;
	rtm->rtm_dst_len = v4 ? 32 : 128;
	mnl_attr_put(nlh, RTA_DST, v4 ? 4 : 16, v4 ? dst->b + 12 : dst->b);
	*oif = 0;
	int rc = hnv_nl_talk(&r->nl, nlh, route_oif_cb, oif);
	if (rc == 0 && *oif == 0)
		rc = -ENETUNREACH;
	if (rc < 0) {
		char s[INET6_ADDRSTRLEN];
		hnv_fmt_ip(dst, s, sizeof(s));
		hnv_seterr(err, errlen, "no route to %s: %s", s, strerror(-rc));
	}
	return rc;
}

struct addr_walk {
	struct items it; /* first: see dump() */
	int ifindex;
};

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_walk *w = data;
	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ifaddrmsg)))
		return MNL_CB_OK;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	if (w->ifindex != 0 && (int)ifa->ifa_index != w->ifindex)
		return MNL_CB_OK;
	struct hnv_nl_attr t[IFA_MAX + 1];
	if (msg_attrs(nlh, sizeof(*ifa), t, IFA_MAX) < 0)
		return MNL_CB_OK;
	const struct hnv_nl_attr *at = t[IFA_LOCAL].data ? &t[IFA_LOCAL] : &t[IFA_ADDRESS];
	struct hnv_rtnl_addr a = {.plen = ifa->ifa_prefixlen, .ifindex = (int)ifa->ifa_index};
	if (t[IFA_PROTO].data && t[IFA_PROTO].len == 1)
		a.proto = *(const uint8_t *)t[IFA_PROTO].data;
	if (ifa->ifa_family == AF_INET && at->len == 4 && a.plen <= 32) {
		hnv_ip_from_v4(&a.addr, at->data);
	} else if (ifa->ifa_family == AF_INET6 && at->len == 16 && a.plen <= 128) {
		memcpy(a.addr.b, at->data, 16);
		if (a.addr.b[0] == 0xfe && (a.addr.b[1] & 0xc0) == 0x80)
			return MNL_CB_OK;
	} else {
		return MNL_CB_OK;
	}
	return items_push(&w->it, &a) ? MNL_CB_ERROR : MNL_CB_OK;
}

static struct nlmsghdr *addrs_req(struct hnv_rtnl *r)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->nl.buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	return nlh;
}

int hnv_rtnl_addrs(struct hnv_rtnl *r, int ifindex, hnv_rtnl_addr_cb cb, void *arg, char *err,
		   size_t errlen)
{
	struct addr_walk w = {.it = {.size = sizeof(struct hnv_rtnl_addr)}, .ifindex = ifindex};
	int rc = dump(r, addrs_req, addr_cb, &w.it);
	if (rc < 0)
		hnv_seterr(err, errlen, "cannot list addresses: %s", strerror(-rc));
	const struct hnv_rtnl_addr *a = (const struct hnv_rtnl_addr *)w.it.v;
	for (size_t i = 0; rc == 0 && i < w.it.n; i++)
		cb(&a[i], arg);
	free(w.it.v);
	return rc;
}

/* ---- policy routing ---- */

int hnv_rtnl_parse_rule(const void *msg, size_t len, struct hnv_rtnl_rule *out)
{
	memset(out, 0, sizeof(*out));
	const struct nlmsghdr *nlh = msg;
	if (len < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) ||
	    MNL_ALIGN((size_t)nlh->nlmsg_len) > len || nlh->nlmsg_type != RTM_NEWRULE ||
	    nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct fib_rule_hdr)))
		return -EINVAL;
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	out->family = frh->family;
	out->action = frh->action;
	out->table = frh->table;
	struct hnv_nl_attr t[FRA_MAX + 1];
	if (msg_attrs(nlh, sizeof(*frh), t, FRA_MAX) < 0 ||
	    opt_u32(&t[FRA_PRIORITY], &out->prio) < 0 ||
	    opt_u32(&t[FRA_FWMARK], &out->fwmark) < 0 ||
	    opt_u32(&t[FRA_FWMASK], &out->fwmask) < 0 || opt_u32(&t[FRA_TABLE], &out->table) < 0)
		return -EINVAL;
	return 0;
}

struct rule_walk {
	struct items it; /* first: see dump() */
};

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rule_walk *w = data;
	struct hnv_rtnl_rule ru;
	/* the reply came from the kernel through our socket: nlmsg_len was
	 * checked by libmnl against what was received */
	if (hnv_rtnl_parse_rule(nlh, MNL_ALIGN((size_t)nlh->nlmsg_len), &ru) < 0)
		return MNL_CB_OK;
	return items_push(&w->it, &ru) ? MNL_CB_ERROR : MNL_CB_OK;
}

static struct nlmsghdr *rules_req(struct hnv_rtnl *r)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->nl.buf);
	nlh->nlmsg_type = RTM_GETRULE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = AF_INET;
	return nlh;
}

int hnv_rtnl_rules(struct hnv_rtnl *r, hnv_rtnl_rule_cb cb, void *arg, char *err, size_t errlen)
{
	struct rule_walk w = {.it = {.size = sizeof(struct hnv_rtnl_rule)}};
	int rc = dump(r, rules_req, rule_cb, &w.it);
	if (rc < 0)
		hnv_seterr(err, errlen, "cannot list routing rules: %s", strerror(-rc));
	const struct hnv_rtnl_rule *ru = (const struct hnv_rtnl_rule *)w.it.v;
	for (size_t i = 0; rc == 0 && i < w.it.n; i++)
		if (ru[i].family == AF_INET)
			cb(&ru[i], arg);
	free(w.it.v);
	return rc;
}

int hnv_rtnl_rule(struct hnv_rtnl *r, bool add, uint32_t prio, uint32_t mark, uint32_t table,
		  char *err, size_t errlen)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->nl.buf);
	nlh->nlmsg_type = add ? RTM_NEWRULE : RTM_DELRULE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = AF_INET;
	frh->action = FR_ACT_TO_TBL;
	frh->table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, prio);
	mnl_attr_put_u32(nlh, FRA_FWMARK, mark);
	mnl_attr_put_u32(nlh, FRA_FWMASK, 0xffffffffu);
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	int rc = hnv_nl_talk(&r->nl, nlh, NULL, NULL);
	if ((rc == -EEXIST && add) || (rc == -ENOENT && !add))
		return 0;
	if (rc < 0)
		hnv_seterr(err, errlen,
			   "cannot %s routing rule \"priority %u fwmark 0x%x lookup %u\": %s",
			   add ? "add" : "delete", prio, mark, table, strerror(-rc));
	return rc;
}

int hnv_rtnl_default_dev(struct hnv_rtnl *r, bool add, uint32_t table, int ifindex,
			 const char *name, char *err, size_t errlen)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->nl.buf);
	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_table = RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = add ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (ifindex > 0)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	int rc = hnv_nl_talk(&r->nl, nlh, NULL, NULL);
	if (!add && (rc == -ESRCH || rc == -ENOENT))
		return 0;
	if (rc < 0)
		hnv_seterr(err, errlen, "cannot %s route \"default dev %s table %u\": %s",
			   add ? "add" : "delete", name, table, strerror(-rc));
	return rc;
}

/* ---- provider routes ---- */

/* An address attribute of family fam into *ip: 0, or -EINVAL when its
 * length is not the family's (or an IPv6 one is IPv4-mapped). */
static int attr_ip(const struct hnv_nl_attr *a, uint8_t fam, struct hnv_ip *ip)
{
	if (fam == AF_INET && a->len == 4) {
		hnv_ip_from_v4(ip, a->data);
		return 0;
	}
	if (fam == AF_INET6 && a->len == 16) {
		memcpy(ip->b, a->data, 16);
		/* IPv4-mapped: hnvgw holds IPv4 addresses so; never a route of its */
		return hnv_ip_is_v4(ip) ? -EINVAL : 0;
	}
	return -EINVAL;
}

int hnv_rtnl_parse_route(const void *msg, size_t len, struct hnv_rtnl_route *out)
{
	memset(out, 0, sizeof(*out));
	const struct nlmsghdr *nlh = msg;
	if (len < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) ||
	    MNL_ALIGN((size_t)nlh->nlmsg_len) > len || nlh->nlmsg_type != RTM_NEWROUTE ||
	    nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct rtmsg)))
		return -EINVAL;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	unsigned max = rtm->rtm_family == AF_INET ? 32 : rtm->rtm_family == AF_INET6 ? 128 : 0;
	if (max == 0 || rtm->rtm_dst_len > max)
		return -EINVAL;
	out->family = rtm->rtm_family;
	out->protocol = rtm->rtm_protocol;
	out->table = rtm->rtm_table;
	out->dst.len = rtm->rtm_dst_len;
	if (rtm->rtm_family == AF_INET)
		hnv_ip_from_v4(&out->dst.addr, (const uint8_t[4]){0, 0, 0, 0});
	struct hnv_nl_attr t[RTA_MAX + 1];
	uint32_t oif = 0;
	if (msg_attrs(nlh, sizeof(*rtm), t, RTA_MAX) < 0 ||
	    opt_u32(&t[RTA_TABLE], &out->table) < 0 || opt_u32(&t[RTA_OIF], &oif) < 0 ||
	    opt_u32(&t[RTA_PRIORITY], &out->metric) < 0 || oif > INT32_MAX)
		return -EINVAL;
	out->oif = (int)oif;
	if (t[RTA_DST].data && attr_ip(&t[RTA_DST], rtm->rtm_family, &out->dst.addr) < 0)
		return -EINVAL;
	if (t[RTA_GATEWAY].data) {
		if (attr_ip(&t[RTA_GATEWAY], rtm->rtm_family, &out->gateway) < 0)
			return -EINVAL;
		out->has_gateway = true;
	}
	return 0;
}

struct route_walk {
	struct items it; /* first: see dump() */
};

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_walk *w = data;
	struct hnv_rtnl_route rt;
	/* from the kernel through our socket: nlmsg_len was checked by libmnl
	 * against what was received */
	if (hnv_rtnl_parse_route(nlh, MNL_ALIGN((size_t)nlh->nlmsg_len), &rt) < 0)
		return MNL_CB_OK;
	return items_push(&w->it, &rt) ? MNL_CB_ERROR : MNL_CB_OK;
}

static struct nlmsghdr *routes_req(struct hnv_rtnl *r)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->nl.buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_UNSPEC;
	return nlh;
}

int hnv_rtnl_proutes(struct hnv_rtnl *r, hnv_rtnl_route_cb cb, void *arg, char *err, size_t errlen)
{
	struct route_walk w = {.it = {.size = sizeof(struct hnv_rtnl_route)}};
	int rc = dump(r, routes_req, route_cb, &w.it);
	if (rc < 0)
		hnv_seterr(err, errlen, "cannot list routes: %s", strerror(-rc));
	const struct hnv_rtnl_route *rt = (const struct hnv_rtnl_route *)w.it.v;
	for (size_t i = 0; rc == 0 && i < w.it.n; i++)
		if (rt[i].protocol == HNV_RTNL_PROTO && rt[i].table == RT_TABLE_MAIN)
			cb(&rt[i], arg);
	free(w.it.v);
	return rc;
}

static void put_ip(struct nlmsghdr *nlh, uint16_t type, const struct hnv_ip *ip)
{
	if (hnv_ip_is_v4(ip))
		mnl_attr_put(nlh, type, 4, ip->b + 12);
	else
		mnl_attr_put(nlh, type, 16, ip->b);
}

int hnv_rtnl_proute(struct hnv_rtnl *r, bool add, const struct hnv_prefix *dst,
		    const struct hnv_ip *gw, int ifindex, const char *dev, uint32_t metric,
		    char *err, size_t errlen)
{
	bool v4 = hnv_ip_is_v4(&dst->addr);
	bool via = gw != NULL && !hnv_ip_is_unspec(gw);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->nl.buf);
	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = v4 ? AF_INET : AF_INET6;
	rtm->rtm_dst_len = dst->len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = HNV_RTNL_PROTO;
	rtm->rtm_scope = add ? (via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK) : RT_SCOPE_NOWHERE;
	rtm->rtm_type = RTN_UNICAST;
	put_ip(nlh, RTA_DST, &dst->addr);
	if (via)
		put_ip(nlh, RTA_GATEWAY, gw);
	if (ifindex > 0)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	mnl_attr_put_u32(nlh, RTA_PRIORITY, metric);
	int rc = hnv_nl_talk(&r->nl, nlh, NULL, NULL);
	if (!add && (rc == -ESRCH || rc == -ENOENT))
		return 0;
	if (rc < 0) {
		char p[64], g[INET6_ADDRSTRLEN] = "";
		hnv_fmt_prefix(dst, p, sizeof(p));
		if (via)
			hnv_fmt_ip(gw, g, sizeof(g));
		const char *why = !add ? ""
				  : rc == -ENETUNREACH
					  ? ": the next hop is not on a subnet of that "
					    "device (no address or route there)"
				  : rc == -EEXIST ? ": the kernel's main table has a route to that "
						    "prefix with that metric already"
						  : "";
		hnv_seterr(err, errlen, "cannot %s route \"%s%s%s dev %s metric %u\": %s%s",
			   add ? "add" : "delete", p, via ? " via " : "", g, dev, metric,
			   strerror(-rc), why);
	}
	return rc;
}
