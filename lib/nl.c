/* nl.c: the netlink socket and the attribute walk (see nl.h). */
#include "nl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int hnv_nl_open(struct hnv_nl *nl, int bus)
{
	memset(nl, 0, sizeof(*nl));
	nl->buf = malloc(HNV_NL_BUF_SIZE);
	if (nl->buf == NULL)
		return -ENOMEM;
	nl->sock = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (nl->sock == NULL || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		hnv_nl_close(nl);
		return -e;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	return 0;
}

void hnv_nl_close(struct hnv_nl *nl)
{
	if (nl->sock != NULL)
		mnl_socket_close(nl->sock);
	free(nl->buf);
	memset(nl, 0, sizeof(*nl));
}

int hnv_nl_fd(const struct hnv_nl *nl)
{
	return mnl_socket_get_fd(nl->sock);
}

/* What a reply says about the end of the exchange: 1 when it is not the
 * end, else 0 or the error it carries. */
static int reply_end(const struct nlmsghdr *m)
{
	if (m->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr e;
		if (m->nlmsg_len < NLMSG_HDRLEN + sizeof(e))
			return -EPROTO;
		memcpy(&e, (const char *)m + NLMSG_HDRLEN, sizeof(e));
		return e.error <= 0 ? e.error : -EPROTO;
	}
	if (m->nlmsg_type == NLMSG_DONE) {
		/* a dump may end with its error in the payload */
		int e = 0;
		if (m->nlmsg_len >= NLMSG_HDRLEN + sizeof(e))
			memcpy(&e, (const char *)m + NLMSG_HDRLEN, sizeof(e));
		return e < 0 ? e : 0;
	}
	return 1;
}

int hnv_nl_talk(struct hnv_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint32_t seq = nl->seq++;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	int rc = 0;
	bool calls = cb != NULL, intr = false;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, HNV_NL_BUF_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		size_t off = 0;
		while (off + sizeof(struct nlmsghdr) <= (size_t)n) {
			const struct nlmsghdr *m = (const void *)(nl->buf + off);
			if (m->nlmsg_len < sizeof(*m) || m->nlmsg_len > (size_t)n - off)
				return -EPROTO;
			off += NLMSG_ALIGN(m->nlmsg_len);
			if (m->nlmsg_pid != nl->portid || m->nlmsg_seq != seq)
				continue; /* an earlier request's leftovers */
			intr |= (m->nlmsg_flags & NLM_F_DUMP_INTR) != 0;
			int end = reply_end(m);
			if (end <= 0)
				return rc ? rc : end ? end : intr ? -EINTR : 0;
			if (m->nlmsg_type < NLMSG_MIN_TYPE || !calls)
				continue;
			int r = cb(m, data);
			if (r < MNL_CB_OK)
				calls = false;
			if (r == MNL_CB_ERROR)
				rc = -ENOMEM;
		}
	}
}

/* ---- attributes ---- */

int hnv_nl_next(struct hnv_nl_cursor *c, struct hnv_nl_attr *a)
{
	if (c->left == 0)
		return 0;
	struct nlattr h;
	if (c->left < sizeof(h))
		return -EINVAL;
	memcpy(&h, c->p, sizeof(h));
	if (h.nla_len < sizeof(h) || h.nla_len > c->left)
		return -EINVAL;
	a->type = h.nla_type & NLA_TYPE_MASK;
	a->data = c->p + sizeof(h);
	a->len = h.nla_len - sizeof(h);
	size_t step = NLA_ALIGN(h.nla_len);
	if (step > c->left)
		step = c->left; /* the last attribute may lack its padding */
	c->p += step;
	c->left -= step;
	return 1;
}

int hnv_nl_index(struct hnv_nl_cursor c, struct hnv_nl_attr *tb, unsigned max)
{
	memset(tb, 0, (max + 1) * sizeof(*tb));
	struct hnv_nl_attr a;
	int rc;
	while ((rc = hnv_nl_next(&c, &a)) == 1)
		if (a.type <= max)
			tb[a.type] = a;
	return rc;
}

int hnv_nl_u8(const struct hnv_nl_attr *a, uint8_t *v)
{
	if (a->len != 1)
		return -EINVAL;
	*v = a->data[0];
	return 0;
}

int hnv_nl_be16(const struct hnv_nl_attr *a, uint16_t *v)
{
	uint16_t x;
	if (a->len != sizeof(x))
		return -EINVAL;
	memcpy(&x, a->data, sizeof(x));
	*v = ntohs(x);
	return 0;
}

int hnv_nl_be32(const struct hnv_nl_attr *a, uint32_t *v)
{
	uint32_t x;
	if (a->len != sizeof(x))
		return -EINVAL;
	memcpy(&x, a->data, sizeof(x));
	*v = ntohl(x);
	return 0;
}

int hnv_nl_u32(const struct hnv_nl_attr *a, uint32_t *v)
{
	if (a->len != sizeof(*v))
		return -EINVAL;
	memcpy(v, a->data, sizeof(*v));
	return 0;
}

int hnv_nl_str(const struct hnv_nl_attr *a, char *buf, size_t len)
{
	size_t k = strnlen((const char *)a->data, a->len);
	if (k >= len)
		return -EINVAL;
	memcpy(buf, a->data, k);
	buf[k] = 0;
	return 0;
}
