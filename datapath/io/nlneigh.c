/* nlneigh.c: rtnetlink requests and the reply parser (see nlneigh.h). */
#include "nlneigh.h"

#include "../../lib/nl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* An address attribute of family fam: exactly 4 or 16 bytes. */
static int get_addr(int fam, const uint8_t *p, size_t len, struct hnv_ip *out)
{
	if (fam == AF_INET && len == 4) {
		hnv_ip_from_v4(out, p);
		return 0;
	}
	if (fam == AF_INET6 && len == 16) {
		memcpy(out->b, p, 16);
		return 0;
	}
	return -EBADMSG;
}

/* Decodes the attributes of a route reply in p[0..len). */
static int parse_route_attrs(int fam, const uint8_t *p, size_t len, struct hnv_nl_event *e)
{
	struct hnv_nl_cursor c = hnv_nl_cursor(p, len);
	struct hnv_nl_attr a;
	int rc;
	while ((rc = hnv_nl_next(&c, &a)) == 1) {
		switch (a.type) {
		case RTA_DST:
			if (get_addr(fam, a.data, a.len, &e->addr))
				return -EBADMSG;
			break;
		case RTA_GATEWAY:
			if (get_addr(fam, a.data, a.len, &e->gateway))
				return -EBADMSG;
			e->has_gateway = true;
			break;
		case RTA_VIA: /* struct rtvia: a gateway of another family */
			if (a.len < 2 || get_addr(rd16(a.data), a.data + 2, a.len - 2, &e->gateway))
				return -EBADMSG;
			e->has_gateway = true;
			break;
		case RTA_OIF:
			if (a.len != 4)
				return -EBADMSG;
			e->ifindex = (int)rd32(a.data);
			break;
		default:
			break;
		}
	}
	return rc < 0 ? -EBADMSG : 0;
}

/* Decodes the attributes of a neighbour reply: NDA_DST is required. */
static int parse_neigh_attrs(int fam, const uint8_t *p, size_t len, struct hnv_nl_event *e)
{
	bool has_dst = false;
	struct hnv_nl_cursor c = hnv_nl_cursor(p, len);
	struct hnv_nl_attr a;
	int rc;
	while ((rc = hnv_nl_next(&c, &a)) == 1) {
		if (a.type == NDA_DST) {
			if (get_addr(fam, a.data, a.len, &e->addr))
				return -EBADMSG;
			has_dst = true;
		} else if (a.type == NDA_LLADDR && a.len == 6) {
			memcpy(e->lladdr.b, a.data, 6);
			e->has_lladdr = true;
		}
	}
	return rc == 0 && has_dst ? 0 : -EBADMSG;
}

int hnv_nl_parse(const void *buf, size_t len, struct hnv_nl_event *ev, size_t max, size_t *n)
{
	const uint8_t *p = buf;
	*n = 0;
	while (len > 0) {
		if (len < sizeof(struct nlmsghdr))
			return -EBADMSG;
		size_t mlen = rd32(p);
		uint16_t type = rd16(p + 4);
		uint32_t seq = rd32(p + 8);
		if (mlen < sizeof(struct nlmsghdr) || mlen > len)
			return -EBADMSG;
		const uint8_t *body = p + sizeof(struct nlmsghdr);
		size_t blen = mlen - sizeof(struct nlmsghdr);
		struct hnv_nl_event e = {.seq = seq};
		bool emit = false;
		int rc = 0;
		if (type == NLMSG_ERROR) {
			if (blen < 4)
				return -EBADMSG;
			int32_t err = (int32_t)rd32(body);
			if (err > 0 || err < -4095)
				return -EBADMSG;
			if (err) {
				e.kind = HNV_NL_ERROR;
				e.error = err;
				emit = true;
			}
		} else if (type == RTM_NEWROUTE) {
			if (blen < sizeof(struct rtmsg))
				return -EBADMSG;
			int fam = body[0];
			if (fam != AF_INET && fam != AF_INET6)
				return -EBADMSG;
			e.kind = HNV_NL_ROUTE;
			rc = parse_route_attrs(fam, body + sizeof(struct rtmsg),
					       blen - sizeof(struct rtmsg), &e);
			emit = true;
		} else if (type == RTM_NEWNEIGH || type == RTM_DELNEIGH) {
			if (blen < sizeof(struct ndmsg))
				return -EBADMSG;
			int fam = body[0];
			/* other families (bridge FDB entries) are not ours */
			if (fam == AF_INET || fam == AF_INET6) {
				e.kind = type == RTM_NEWNEIGH ? HNV_NL_NEIGH : HNV_NL_NEIGH_DEL;
				e.ifindex = (int)rd32(body + 4);
				e.state = rd16(body + 8);
				rc = parse_neigh_attrs(fam, body + sizeof(struct ndmsg),
						       blen - sizeof(struct ndmsg), &e);
				emit = true;
			}
		}
		if (rc)
			return rc;
		if (emit) {
			if (*n == max)
				return 0;
			ev[(*n)++] = e;
		}
		size_t step = NLMSG_ALIGN(mlen);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return 0;
}

static void put_addr(struct nlmsghdr *nlh, uint16_t type, const struct hnv_ip *a)
{
	if (hnv_ip_is_v4(a))
		mnl_attr_put(nlh, type, 4, a->b + 12);
	else
		mnl_attr_put(nlh, type, 16, a->b);
}

size_t hnv_nl_req_route(void *buf, uint32_t seq, const struct hnv_ip *dst)
{
	memset(buf, 0, HNV_NL_REQ_MAX);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = hnv_ip_is_v4(dst) ? AF_INET : AF_INET6;
	rtm->rtm_dst_len = hnv_ip_is_v4(dst) ? 32 : 128;
	put_addr(nlh, RTA_DST, dst);
	return nlh->nlmsg_len;
}

static struct nlmsghdr *neigh_head(void *buf, uint16_t type, uint16_t flags, uint32_t seq,
				   const struct hnv_ip *addr, int ifindex, uint8_t ntf)
{
	memset(buf, 0, HNV_NL_REQ_MAX);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = hnv_ip_is_v4(addr) ? AF_INET : AF_INET6;
	nd->ndm_ifindex = ifindex;
	nd->ndm_flags = ntf;
	put_addr(nlh, NDA_DST, addr);
	return nlh;
}

size_t hnv_nl_req_neigh(void *buf, uint32_t seq, const struct hnv_ip *addr, int ifindex)
{
	return neigh_head(buf, RTM_GETNEIGH, NLM_F_REQUEST, seq, addr, ifindex, 0)->nlmsg_len;
}

size_t hnv_nl_req_resolve(void *buf, uint32_t seq, const struct hnv_ip *addr, int ifindex)
{
	struct nlmsghdr *nlh = neigh_head(buf, RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_CREATE, seq,
					  addr, ifindex, NTF_USE);
	struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
	nd->ndm_state = NUD_NONE;
	return nlh->nlmsg_len;
}
