/* test_nlneigh.c: the rtnetlink reply parser and request builders of the
 * AF_PACKET uplink (datapath/io/nlneigh.c): replies as the kernel sends
 * them decode to the right events; every truncation of a valid datagram and
 * every declared length larger than what is left is refused (-EBADMSG)
 * without reading past the buffer; requests carry the family, address and
 * flags the kernel needs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../datapath/io/nlneigh.h"

struct buf {
	uint8_t b[512];
	size_t len;
};

static void put(struct buf *m, const void *p, size_t n)
{
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void put_attr(struct buf *m, uint16_t type, const void *p, uint16_t n)
{
	uint16_t hdr[2] = {(uint16_t)(4 + n), type};
	put(m, hdr, 4);
	put(m, p, n);
	while (m->len % 4)
		m->b[m->len++] = 0;
}

/* Starts a message at m->len; end_msg fills its length. */
static size_t begin_msg(struct buf *m, uint16_t type, uint32_t seq)
{
	size_t at = m->len;
	struct nlmsghdr h = {.nlmsg_type = type, .nlmsg_seq = seq};
	put(m, &h, sizeof(h));
	return at;
}

static size_t ends[4], n_ends; /* where sample()'s messages end */

static void end_msg(struct buf *m, size_t at)
{
	uint32_t len = (uint32_t)(m->len - at);
	memcpy(m->b + at, &len, 4);
	if (n_ends < 4)
		ends[n_ends++] = m->len;
}

/* A route reply for 192.168.4.22 via 192.168.4.1 on ifindex 2, a neighbour
 * notification for fd00:4::22 (reachable, 02:00:00:00:00:22) and an
 * error -ENOENT for seq 9. */
static void sample(struct buf *m)
{
	memset(m, 0, sizeof(*m));
	n_ends = 0;
	size_t at = begin_msg(m, RTM_NEWROUTE, 5);
	struct rtmsg rt = {.rtm_family = AF_INET, .rtm_dst_len = 32};
	put(m, &rt, sizeof(rt));
	uint8_t dst[4] = {192, 168, 4, 22}, gw[4] = {192, 168, 4, 1};
	uint32_t oif = 2;
	put_attr(m, RTA_DST, dst, 4);
	put_attr(m, RTA_OIF, &oif, 4);
	put_attr(m, RTA_GATEWAY, gw, 4);
	end_msg(m, at);
	at = begin_msg(m, RTM_NEWNEIGH, 0);
	struct ndmsg nd = {.ndm_family = AF_INET6, .ndm_ifindex = 2, .ndm_state = NUD_REACHABLE};
	put(m, &nd, sizeof(nd));
	uint8_t a6[16], mac[6] = {2, 0, 0, 0, 0, 0x22};
	inet_pton(AF_INET6, "fd00:4::22", a6);
	put_attr(m, NDA_DST, a6, 16);
	put_attr(m, NDA_LLADDR, mac, 6);
	end_msg(m, at);
	at = begin_msg(m, NLMSG_ERROR, 9);
	int32_t e = -ENOENT;
	put(m, &e, 4);
	struct nlmsghdr orig = {.nlmsg_len = 16};
	put(m, &orig, sizeof(orig));
	end_msg(m, at);
}

static void test_sample(void **state)
{
	(void)state;
	struct buf m;
	sample(&m);
	struct hnv_nl_event ev[8];
	size_t n;
	assert_int_equal(hnv_nl_parse(m.b, m.len, ev, 8, &n), 0);
	assert_int_equal(n, 3);
	struct hnv_ip want;
	hnv_ip_from_v4(&want, (uint8_t[]){192, 168, 4, 22});
	assert_int_equal(ev[0].kind, HNV_NL_ROUTE);
	assert_int_equal(ev[0].seq, 5);
	assert_int_equal(ev[0].ifindex, 2);
	assert_true(hnv_ip_eq(&ev[0].addr, &want));
	assert_true(ev[0].has_gateway);
	hnv_ip_from_v4(&want, (uint8_t[]){192, 168, 4, 1});
	assert_true(hnv_ip_eq(&ev[0].gateway, &want));
	assert_int_equal(ev[1].kind, HNV_NL_NEIGH);
	assert_int_equal(ev[1].state, NUD_REACHABLE);
	assert_true(ev[1].has_lladdr);
	assert_int_equal(ev[1].lladdr.b[5], 0x22);
	assert_int_equal(ev[1].addr.b[0], 0xfd);
	assert_int_equal(ev[2].kind, HNV_NL_ERROR);
	assert_int_equal(ev[2].error, -ENOENT);
	assert_int_equal(ev[2].seq, 9);
	/* room for one event: the first only, no error */
	assert_int_equal(hnv_nl_parse(m.b, m.len, ev, 1, &n), 0);
	assert_int_equal(n, 1);
}

/* A truncation at a message boundary is a shorter valid datagram; any
 * other is refused. The parser never reads past len (ASan, each copy
 * exactly sized). */
static void test_truncated(void **state)
{
	(void)state;
	struct buf m;
	sample(&m);
	for (size_t len = 0; len < m.len; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, m.b, len);
		struct hnv_nl_event ev[8];
		size_t n = 99;
		int rc = hnv_nl_parse(copy, len, ev, 8, &n);
		free(copy);
		bool boundary = len == 0 || len == ends[0] || len == ends[1];
		assert_int_equal(rc, boundary ? 0 : -EBADMSG);
		assert_true(n <= 2);
	}
}

static void test_bad_lengths(void **state)
{
	(void)state;
	struct buf m;
	struct hnv_nl_event ev[8];
	size_t n;
	/* message length beyond the datagram */
	sample(&m);
	uint32_t big = (uint32_t)m.len + 4;
	memcpy(m.b, &big, 4);
	assert_int_equal(hnv_nl_parse(m.b, m.len, ev, 8, &n), -EBADMSG);
	assert_int_equal(n, 0);
	/* message length below the header */
	sample(&m);
	uint32_t small = 8;
	memcpy(m.b, &small, 4);
	assert_int_equal(hnv_nl_parse(m.b, m.len, ev, 8, &n), -EBADMSG);
	/* an attribute longer than its message: RTA_DST's length at offset
	 * 16 (nlmsghdr) + 12 (rtmsg) */
	sample(&m);
	uint16_t alen = 200;
	memcpy(m.b + 28, &alen, 2);
	assert_int_equal(hnv_nl_parse(m.b, m.len, ev, 8, &n), -EBADMSG);
	/* an IPv4 route with a 16-byte RTA_DST */
	memset(&m, 0, sizeof(m));
	size_t at = begin_msg(&m, RTM_NEWROUTE, 1);
	struct rtmsg rt = {.rtm_family = AF_INET};
	put(&m, &rt, sizeof(rt));
	uint8_t a16[16] = {0};
	put_attr(&m, RTA_DST, a16, 16);
	end_msg(&m, at);
	assert_int_equal(hnv_nl_parse(m.b, m.len, ev, 8, &n), -EBADMSG);
	/* a neighbour without NDA_DST */
	memset(&m, 0, sizeof(m));
	at = begin_msg(&m, RTM_NEWNEIGH, 1);
	struct ndmsg nd = {.ndm_family = AF_INET};
	put(&m, &nd, sizeof(nd));
	end_msg(&m, at);
	assert_int_equal(hnv_nl_parse(m.b, m.len, ev, 8, &n), -EBADMSG);
}

static void test_requests(void **state)
{
	(void)state;
	uint8_t req[HNV_NL_REQ_MAX];
	struct hnv_ip pa;
	inet_pton(AF_INET6, "fd00:4::22", pa.b);
	size_t len = hnv_nl_req_resolve(req, 7, &pa, 3);
	const struct nlmsghdr *h = (const void *)req;
	assert_int_equal(h->nlmsg_len, len);
	assert_int_equal(h->nlmsg_type, RTM_NEWNEIGH);
	assert_int_equal(h->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE);
	const struct ndmsg *nd = (const void *)(req + sizeof(*h));
	assert_int_equal(nd->ndm_family, AF_INET6);
	assert_int_equal(nd->ndm_ifindex, 3);
	assert_int_equal(nd->ndm_flags, NTF_USE);
	assert_int_equal(len, sizeof(*h) + sizeof(*nd) + 4 + 16);
	hnv_ip_from_v4(&pa, (uint8_t[]){192, 168, 4, 22});
	len = hnv_nl_req_route(req, 8, &pa);
	const struct rtmsg *rt = (const void *)(req + sizeof(*h));
	assert_int_equal(h->nlmsg_type, RTM_GETROUTE);
	assert_int_equal(rt->rtm_family, AF_INET);
	assert_int_equal(rt->rtm_dst_len, 32);
	assert_int_equal(len, sizeof(*h) + sizeof(*rt) + 4 + 4);
	assert_memory_equal(req + len - 4, ((uint8_t[]){192, 168, 4, 22}), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
