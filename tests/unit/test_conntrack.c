/* test_conntrack.c: gateway/conntrack.c without the kernel: the ctnetlink
 * parser and formatter on byte vectors, truncations and bit flips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include "../../gateway/conntrack.h"

struct tup {
	int family;
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport; /* ICMP: id in sport */
};

static void put_tuple(struct nlmsghdr *nlh, uint16_t type, const struct tup *t)
{
	struct nlattr *tn = mnl_attr_nest_start(nlh, type);
	struct nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	uint8_t a[16];
	if (t->family == AF_INET) {
		assert_int_equal(inet_pton(AF_INET, t->src, a), 1);
		mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, a);
		assert_int_equal(inet_pton(AF_INET, t->dst, a), 1);
		mnl_attr_put(nlh, CTA_IP_V4_DST, 4, a);
	} else {
		assert_int_equal(inet_pton(AF_INET6, t->src, a), 1);
		mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, a);
		assert_int_equal(inet_pton(AF_INET6, t->dst, a), 1);
		mnl_attr_put(nlh, CTA_IP_V6_DST, 16, a);
	}
	mnl_attr_nest_end(nlh, ip);
	struct nlattr *pr = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->proto);
	if (t->proto == IPPROTO_ICMP) {
		mnl_attr_put_u16(nlh, CTA_PROTO_ICMP_ID, htons(t->sport));
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_TYPE, 8);
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_CODE, 0);
	} else {
		mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t->sport));
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t->dport));
	}
	mnl_attr_nest_end(nlh, pr);
	mnl_attr_nest_end(nlh, tn);
}

/* A CT_NEW message as the kernel dumps it; returns its length. */
static size_t mk_ct(uint8_t *buf, const struct tup *orig, const struct tup *reply, int zone,
		    uint32_t status, uint32_t timeout, int tcp_state)
{
	memset(buf, 0, 1024);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	nlh->nlmsg_flags = NLM_F_MULTI;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = (uint8_t)orig->family;
	put_tuple(nlh, CTA_TUPLE_ORIG, orig);
	put_tuple(nlh, CTA_TUPLE_REPLY, reply);
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(status));
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(timeout));
	if (tcp_state >= 0) {
		struct nlattr *pi = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
		struct nlattr *tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
		mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, (uint8_t)tcp_state);
		mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, 7);
		mnl_attr_nest_end(nlh, tcp);
		mnl_attr_nest_end(nlh, pi);
	}
	mnl_attr_put_u32(nlh, CTA_MARK, 0);
	if (zone >= 0)
		mnl_attr_put_u16(nlh, CTA_ZONE, htons((uint16_t)zone));
	mnl_attr_put_u32(nlh, CTA_USE, htonl(1));
	return nlh->nlmsg_len;
}

static const struct tup icmp_o = {AF_INET, "10.10.0.5", "203.0.113.100", IPPROTO_ICMP, 4242, 0};
static const struct tup icmp_r = {AF_INET, "203.0.113.100", "198.51.100.1", IPPROTO_ICMP, 4242, 0};
static const struct tup udp_o = {AF_INET, "10.10.0.5", "203.0.113.100", IPPROTO_UDP, 40000, 5353};
static const struct tup udp_r = {AF_INET, "203.0.113.100", "198.51.100.2", IPPROTO_UDP, 5353, 1025};

static void test_ct_icmp(void **state)
{
	(void)state;
	uint8_t buf[1024];
	size_t len = mk_ct(buf, &icmp_o, &icmp_r, 1, IPS_SEEN_REPLY | IPS_SRC_NAT, 29, -1);
	struct hnv_ct ct;
	assert_int_equal(hnv_ct_parse(buf, len, &ct), 0);
	assert_int_equal(ct.zone, 1);
	assert_int_equal(ct.family, AF_INET);
	assert_int_equal(ct.proto, IPPROTO_ICMP);
	assert_int_equal(ct.sport, 4242);
	assert_int_equal(ct.tsport, 4242);
	assert_int_equal(ct.icmp_type, 8);
	assert_true(ct.snat);
	assert_int_equal(ct.timeout, 29);
	assert_string_equal(ct.state, "REPLIED");
	char line[256];
	hnv_ct_format(&ct, line, sizeof(line));
	assert_string_equal(line, "icmp 10.10.0.5 id 4242 -> 203.0.113.100 type 8 code 0 as "
				  "198.51.100.1 id 4242 zone 1 REPLIED 29s");
}

static void test_ct_udp_port_translated(void **state)
{
	(void)state;
	uint8_t buf[1024];
	size_t len = mk_ct(buf, &udp_o, &udp_r, 2, IPS_SEEN_REPLY | IPS_ASSURED, 170, -1);
	struct hnv_ct ct;
	assert_int_equal(hnv_ct_parse(buf, len + 100, &ct), 0); /* buffer longer: fine */
	char line[256];
	hnv_ct_format(&ct, line, sizeof(line));
	assert_string_equal(line, "udp 10.10.0.5:40000 -> 203.0.113.100:5353 as "
				  "198.51.100.2:1025 zone 2 ASSURED 170s");
}

static void test_ct_tcp_v6_no_zone(void **state)
{
	(void)state;
	const struct tup o = {AF_INET6, "fd00::5", "2001:db8::1", IPPROTO_TCP, 1234, 443};
	const struct tup r = {AF_INET6, "2001:db8::1", "fd00::5", IPPROTO_TCP, 443, 1234};
	uint8_t buf[1024];
	size_t len = mk_ct(buf, &o, &r, -1, IPS_SEEN_REPLY, 431999, 3);
	struct hnv_ct ct;
	assert_int_equal(hnv_ct_parse(buf, len, &ct), 0);
	assert_int_equal(ct.zone, 0);
	assert_false(ct.snat);
	assert_string_equal(ct.state, "ESTABLISHED");
	char line[256];
	hnv_ct_format(&ct, line, sizeof(line));
	assert_string_equal(line,
			    "tcp [fd00::5]:1234 -> [2001:db8::1]:443 as [fd00::5]:1234 zone 0 "
			    "ESTABLISHED 431999s");
}

/* Every length short of the message, and every shorter nlmsg_len. */
static void test_ct_truncations(void **state)
{
	(void)state;
	uint8_t buf[1024];
	size_t len = mk_ct(buf, &udp_o, &udp_r, 2, IPS_SEEN_REPLY, 30, 3);
	struct hnv_ct ct;
	for (size_t l = 0; l < len; l++) {
		uint8_t *copy = malloc(l ? l : 1); /* exact size: ASan sees overreads */
		memcpy(copy, buf, l);
		assert_int_equal(hnv_ct_parse(copy, l, &ct), -EINVAL);
		free(copy);
	}
	/* nlmsg_len cut: the tuples and the attribute cut in the middle fail */
	size_t ok = 0;
	for (uint32_t l = 0; l < len; l++) {
		uint8_t *copy = malloc(len);
		memcpy(copy, buf, len);
		struct nlmsghdr h;
		memcpy(&h, copy, sizeof(h));
		h.nlmsg_len = l;
		memcpy(copy, &h, sizeof(h));
		int rc = hnv_ct_parse(copy, len, &ct);
		assert_true(rc == 0 || rc == -EINVAL);
		ok += rc == 0;
		free(copy);
	}
	/* only cuts after both tuples (at attribute boundaries or in the
	 * padding of the last one) parse */
	assert_true(ok > 0);
	assert_true(ok < 64);
}

static size_t find_attr(const uint8_t *buf, size_t len, size_t from, uint16_t type, uint16_t alen)
{
	for (size_t off = from; off + 4 <= len; off += 4) {
		uint16_t l, t;
		memcpy(&l, buf + off, 2);
		memcpy(&t, buf + off + 2, 2);
		if ((t & NLA_TYPE_MASK) == type && l == alen)
			return off;
	}
	fail_msg("attribute %u (len %u) not found", type, alen);
	return 0;
}

static void test_ct_malformed(void **state)
{
	(void)state;
	uint8_t buf[1024], copy[1024];
	size_t len = mk_ct(buf, &icmp_o, &icmp_r, 1, IPS_SEEN_REPLY, 30, -1);
	const size_t attrs = NLMSG_HDRLEN + 4;
	struct hnv_ct ct;

	/* a nested attribute longer than its parent */
	memcpy(copy, buf, len);
	size_t ip = find_attr(copy, len, attrs + 4, CTA_TUPLE_IP, 20);
	uint16_t big = 200;
	memcpy(copy + ip, &big, 2);
	assert_int_equal(hnv_ct_parse(copy, len, &ct), -EINVAL);

	/* an attribute shorter than its header */
	memcpy(copy, buf, len);
	uint16_t tiny = 3;
	memcpy(copy + ip, &tiny, 2);
	assert_int_equal(hnv_ct_parse(copy, len, &ct), -EINVAL);

	/* CTA_ZONE with 4 bytes instead of 2 */
	memcpy(copy, buf, len);
	size_t z = find_attr(copy, len, attrs, CTA_ZONE, 6);
	uint16_t six = 8;
	memcpy(copy + z, &six, 2);
	assert_int_equal(hnv_ct_parse(copy, len, &ct), -EINVAL);

	/* an IPv4 address of 3 bytes (the rest of the tuple still aligned) */
	memcpy(copy, buf, len);
	size_t a = find_attr(copy, len, ip, CTA_IP_V4_SRC, 8);
	uint16_t seven = 7;
	memcpy(copy + a, &seven, 2);
	assert_int_equal(hnv_ct_parse(copy, len, &ct), -EINVAL);

	/* the reply tuple renamed: missing */
	memcpy(copy, buf, len);
	size_t first = attrs; /* CTA_TUPLE_ORIG comes first */
	uint16_t l0;
	memcpy(&l0, copy + first, 2);
	size_t second = first + NLA_ALIGN(l0);
	uint16_t other = CTA_MARK_MASK | NLA_F_NESTED;
	memcpy(copy + second + 2, &other, 2);
	assert_int_equal(hnv_ct_parse(copy, len, &ct), -EINVAL);

	/* IPv6 family in the header, IPv4 tuples */
	memcpy(copy, buf, len);
	copy[NLMSG_HDRLEN] = AF_INET6;
	assert_int_equal(hnv_ct_parse(copy, len, &ct), -EINVAL);

	/* another message type */
	memcpy(copy, buf, len);
	struct nlmsghdr h;
	memcpy(&h, copy, sizeof(h));
	h.nlmsg_type = NLMSG_DONE;
	memcpy(copy, &h, sizeof(h));
	assert_int_equal(hnv_ct_parse(copy, len, &ct), -ENOENT);
}

/* Every single bit flipped: parsed or refused, never out of bounds. */
static void test_ct_bitflips(void **state)
{
	(void)state;
	uint8_t buf[1024];
	size_t len = mk_ct(buf, &udp_o, &udp_r, 2, IPS_SEEN_REPLY, 30, 3);
	struct hnv_ct ct;
	size_t parsed = 0;
	for (size_t bit = 0; bit < len * 8; bit++) {
		uint8_t *copy = malloc(len);
		memcpy(copy, buf, len);
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int rc = hnv_ct_parse(copy, len, &ct);
		assert_true(rc == 0 || rc == -EINVAL || rc == -ENOENT);
		if (rc == 0) {
			parsed++;
			assert_true(ct.family == AF_INET || ct.family == AF_INET6);
			assert_non_null(memchr(ct.state, '\0', sizeof(ct.state)));
			char line[256];
			hnv_ct_format(&ct, line, sizeof(line));
		}
		free(copy);
	}
	assert_true(parsed > 0); /* flips in values (addresses, ports) still parse */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ct_icmp),
		cmocka_unit_test(test_ct_udp_port_translated),
		cmocka_unit_test(test_ct_tcp_v6_no_zone),
		cmocka_unit_test(test_ct_truncations),
		cmocka_unit_test(test_ct_malformed),
		cmocka_unit_test(test_ct_bitflips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
