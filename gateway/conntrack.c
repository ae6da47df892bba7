/* conntrack.c: ctnetlink entries parsed, formatted and dumped (see
 * conntrack.h). */
#include "conntrack.h"

#include "../lib/err.h"
#include "../lib/nl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct tuple {
	int family; /* 0 until an address is seen */
	bool has_src, has_dst, has_proto;
	struct hnv_ip src, dst;
	uint8_t proto;
	uint16_t sport, dport, icmp_id;
	uint8_t icmp_type, icmp_code;
};

static int set_addr(struct tuple *t, const struct hnv_nl_attr *a, int family, struct hnv_ip *dst,
		    bool *has)
{
	if (a->len != (family == AF_INET ? 4u : 16u) || (t->family != 0 && t->family != family))
		return -EINVAL;
	t->family = family;
	if (family == AF_INET)
		hnv_ip_from_v4(dst, a->data);
	else
		memcpy(dst->b, a->data, 16);
	*has = true;
	return 0;
}

static int parse_tuple_ip(const struct hnv_nl_attr *outer, struct tuple *t)
{
	struct hnv_nl_cursor c = hnv_nl_nested(outer);
	struct hnv_nl_attr a;
	int rc;
	while ((rc = hnv_nl_next(&c, &a)) == 1) {
		switch (a.type) {
		case CTA_IP_V4_SRC:
			rc = set_addr(t, &a, AF_INET, &t->src, &t->has_src);
			break;
		case CTA_IP_V4_DST:
			rc = set_addr(t, &a, AF_INET, &t->dst, &t->has_dst);
			break;
		case CTA_IP_V6_SRC:
			rc = set_addr(t, &a, AF_INET6, &t->src, &t->has_src);
			break;
		case CTA_IP_V6_DST:
			rc = set_addr(t, &a, AF_INET6, &t->dst, &t->has_dst);
			break;
		default:
			rc = 0;
			break;
		}
		if (rc != 0)
			return rc;
	}
	return rc;
}

static int parse_tuple_proto(const struct hnv_nl_attr *outer, struct tuple *t)
{
	struct hnv_nl_cursor c = hnv_nl_nested(outer);
	struct hnv_nl_attr a;
	int rc;
	while ((rc = hnv_nl_next(&c, &a)) == 1) {
		switch (a.type) {
		case CTA_PROTO_NUM:
			rc = hnv_nl_u8(&a, &t->proto);
			t->has_proto = rc == 0;
			break;
		case CTA_PROTO_SRC_PORT:
			rc = hnv_nl_be16(&a, &t->sport);
			break;
		case CTA_PROTO_DST_PORT:
			rc = hnv_nl_be16(&a, &t->dport);
			break;
		case CTA_PROTO_ICMP_ID:
		case CTA_PROTO_ICMPV6_ID:
			rc = hnv_nl_be16(&a, &t->icmp_id);
			break;
		case CTA_PROTO_ICMP_TYPE:
		case CTA_PROTO_ICMPV6_TYPE:
			rc = hnv_nl_u8(&a, &t->icmp_type);
			break;
		case CTA_PROTO_ICMP_CODE:
		case CTA_PROTO_ICMPV6_CODE:
			rc = hnv_nl_u8(&a, &t->icmp_code);
			break;
		default:
			rc = 0;
			break;
		}
		if (rc != 0)
			return rc;
	}
	return rc;
}

static int parse_tuple(const struct hnv_nl_attr *outer, struct tuple *t)
{
	struct hnv_nl_cursor c = hnv_nl_nested(outer);
	struct hnv_nl_attr a;
	int rc;
	while ((rc = hnv_nl_next(&c, &a)) == 1) {
		if (a.type == CTA_TUPLE_IP)
			rc = parse_tuple_ip(&a, t);
		else if (a.type == CTA_TUPLE_PROTO)
			rc = parse_tuple_proto(&a, t);
		else
			rc = 0;
		if (rc != 0)
			return rc;
	}
	if (rc != 0)
		return rc;
	return t->has_src && t->has_dst && t->has_proto ? 0 : -EINVAL;
}

/* CTA_PROTOINFO { CTA_PROTOINFO_TCP { CTA_PROTOINFO_TCP_STATE } } */
static int parse_protoinfo(const struct hnv_nl_attr *outer, int *tcp_state)
{
	struct hnv_nl_cursor c = hnv_nl_nested(outer);
	struct hnv_nl_attr a;
	int rc;
	while ((rc = hnv_nl_next(&c, &a)) == 1) {
		if (a.type != CTA_PROTOINFO_TCP)
			continue;
		struct hnv_nl_cursor ci = hnv_nl_nested(&a);
		struct hnv_nl_attr b;
		while ((rc = hnv_nl_next(&ci, &b)) == 1) {
			if (b.type != CTA_PROTOINFO_TCP_STATE)
				continue;
			uint8_t st;
			if (hnv_nl_u8(&b, &st) != 0)
				return -EINVAL;
			*tcp_state = st;
		}
		if (rc != 0)
			return rc;
	}
	return rc;
}

static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

int hnv_ct_parse(const void *msg, size_t len, struct hnv_ct *out)
{
	struct nlmsghdr nh;
	struct nfgenmsg g;
	const size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(g));
	if (len < sizeof(nh))
		return -EINVAL;
	memcpy(&nh, msg, sizeof(nh));
	if (nh.nlmsg_len < off || nh.nlmsg_len > len)
		return -EINVAL;
	if (nh.nlmsg_type != ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW))
		return -ENOENT;
	memcpy(&g, (const uint8_t *)msg + NLMSG_HDRLEN, sizeof(g));

	struct tuple orig = {0}, reply = {0};
	bool has_orig = false, has_reply = false;
	int tcp_state = -1;
	memset(out, 0, sizeof(*out));
	struct hnv_nl_cursor c = hnv_nl_cursor((const uint8_t *)msg + off, nh.nlmsg_len - off);
	struct hnv_nl_attr a;
	int rc;
	while ((rc = hnv_nl_next(&c, &a)) == 1) {
		switch (a.type) {
		case CTA_TUPLE_ORIG:
			memset(&orig, 0, sizeof(orig));
			rc = parse_tuple(&a, &orig);
			has_orig = rc == 0;
			break;
		case CTA_TUPLE_REPLY:
			memset(&reply, 0, sizeof(reply));
			rc = parse_tuple(&a, &reply);
			has_reply = rc == 0;
			break;
		case CTA_STATUS:
			rc = hnv_nl_be32(&a, &out->status);
			break;
		case CTA_TIMEOUT:
			rc = hnv_nl_be32(&a, &out->timeout);
			break;
		case CTA_ZONE:
			rc = hnv_nl_be16(&a, &out->zone);
			break;
		case CTA_PROTOINFO:
			rc = parse_protoinfo(&a, &tcp_state);
			break;
		default:
			rc = 0;
			break;
		}
		if (rc != 0)
			return -EINVAL;
	}
	if (rc != 0 || !has_orig || !has_reply || orig.family != reply.family ||
	    orig.proto != reply.proto)
		return -EINVAL;
	if (g.nfgen_family != AF_UNSPEC && g.nfgen_family != orig.family)
		return -EINVAL;

	out->family = (uint8_t)orig.family;
	out->proto = orig.proto;
	out->src = orig.src;
	out->dst = orig.dst;
	out->tsrc = reply.dst;
	out->tdst = reply.src;
	out->dnat = !hnv_ip_eq(&out->dst, &out->tdst);
	if (is_icmp(orig.proto)) {
		out->sport = orig.icmp_id;
		out->tsport = reply.icmp_id;
		out->icmp_type = orig.icmp_type;
		out->icmp_code = orig.icmp_code;
	} else {
		out->sport = orig.sport;
		out->dport = orig.dport;
		out->tsport = reply.dport;
	}
	out->snat = !hnv_ip_eq(&out->src, &out->tsrc) || out->sport != out->tsport;

	static const char *const tcp_names[] = {
		"NONE",       "SYN_SENT", "SYN_RECV",  "ESTABLISHED", "FIN_WAIT",
		"CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",       "SYN_SENT2",
	};
	const char *st;
	if (orig.proto == IPPROTO_TCP && tcp_state >= 0 &&
	    (size_t)tcp_state < sizeof(tcp_names) / sizeof(tcp_names[0]))
		st = tcp_names[tcp_state];
	else if (out->status & IPS_ASSURED)
		st = "ASSURED";
	else if (out->status & IPS_SEEN_REPLY)
		st = "REPLIED";
	else
		st = "UNREPLIED";
	snprintf(out->state, sizeof(out->state), "%s", st);
	return 0;
}

static void fmt_addr(const struct hnv_ip *ip, int family, char *buf, size_t len)
{
	if (family == AF_INET)
		inet_ntop(AF_INET, ip->b + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, ip->b, buf, (socklen_t)len);
}

void hnv_ct_format(const struct hnv_ct *ct, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], ts[INET6_ADDRSTRLEN], pn[8];
	char td[INET6_ADDRSTRLEN + 4] = "";
	if (ct->dnat) {
		memcpy(td, " to ", 5);
		fmt_addr(&ct->tdst, ct->family, td + 4, sizeof(td) - 4);
	}
	fmt_addr(&ct->src, ct->family, s, sizeof(s));
	fmt_addr(&ct->dst, ct->family, d, sizeof(d));
	fmt_addr(&ct->tsrc, ct->family, ts, sizeof(ts));
	const char *proto = ct->proto == IPPROTO_TCP      ? "tcp"
			    : ct->proto == IPPROTO_UDP    ? "udp"
			    : ct->proto == IPPROTO_ICMP   ? "icmp"
			    : ct->proto == IPPROTO_ICMPV6 ? "icmpv6"
							  : NULL;
	if (proto == NULL) {
		snprintf(pn, sizeof(pn), "%u", ct->proto);
		proto = pn;
	}
	bool v6 = ct->family == AF_INET6;
	if (is_icmp(ct->proto))
		snprintf(buf, len,
			 "%s %s id %u -> %s type %u code %u as %s id %u%s zone %u %s %" PRIu32 "s",
			 proto, s, ct->sport, d, ct->icmp_type, ct->icmp_code, ts, ct->tsport, td,
			 ct->zone, ct->state, ct->timeout);
	else
		snprintf(buf, len,
			 "%s %s%s%s:%u -> %s%s%s:%u as %s%s%s:%u%s zone %u %s %" PRIu32 "s", proto,
			 v6 ? "[" : "", s, v6 ? "]" : "", ct->sport, v6 ? "[" : "", d,
			 v6 ? "]" : "", ct->dport, v6 ? "[" : "", ts, v6 ? "]" : "", ct->tsport, td,
			 ct->zone, ct->state, ct->timeout);
}

struct dump_ctx {
	hnv_ct_cb cb;
	void *arg;
	bool bad;
};

static int cb_ct(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;
	struct hnv_ct ct;
	int rc = hnv_ct_parse(nlh, nlh->nlmsg_len, &ct);
	if (rc == 0)
		d->cb(&ct, d->arg);
	else if (rc != -ENOENT)
		d->bad = true;
	return MNL_CB_OK;
}

int hnv_ct_dump(struct hnv_nl *nl, hnv_ct_cb cb, void *arg, char *err, size_t errlen)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	struct dump_ctx d = {cb, arg, false};
	int rc = hnv_nl_talk(nl, nlh, cb_ct, &d);
	if (rc != 0) {
		hnv_seterr(err, errlen, "conntrack: cannot dump the connection table: %s",
			   strerror(-rc));
		return rc;
	}
	if (d.bad) {
		hnv_seterr(err, errlen, "conntrack: the kernel sent a malformed entry in the dump");
		return -EPROTO;
	}
	return 0;
}
