/* test_rtnl.c: hnv_rtnl_parse_link (gateway/rtnl.c) over hand-built
 * RTM_NEWLINK messages: a VRF with its table, an XFRM interface with if_id
 * and link, a bridge port with master, MTU and MAC, a link without
 * IFLA_LINKINFO; malformed messages (short or overrunning attributes at
 * every nesting level, missing or unterminated name, bad header) are
 * refused; every truncation and every bit flip of a good message is either
 * refused or parsed within its bounds (ASan). The netlink handles of the
 * gateway (rtnetlink, nfnetlink) are close-on-exec (issue 17 finding 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../gateway/nat.h"
#include "../../gateway/rtnl.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

/* Messages are built in an aligned buffer. */
static union {
	uint8_t b[1024];
	struct nlmsghdr h;
} buf;

static struct nlmsghdr *begin(int ifindex, unsigned flags, const char *name)
{
	memset(&buf, 0, sizeof(buf));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf.b);
	nlh->nlmsg_type = RTM_NEWLINK;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = flags;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

static struct nlmsghdr *vrf_msg(uint32_t table)
{
	struct nlmsghdr *nlh = begin(7, IFF_UP, "rd-contoso");
	mnl_attr_put_u32(nlh, IFLA_MTU, 65575);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vrf");
	struct nlattr *d = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_VRF_TABLE, table);
	mnl_attr_nest_end(nlh, d);
	mnl_attr_nest_end(nlh, li);
	return nlh;
}

static struct nlmsghdr *xfrm_msg(void)
{
	struct nlmsghdr *nlh = begin(9, 0, "xf-fabrikam");
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "xfrm");
	struct nlattr *d = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_XFRM_LINK, 3);
	mnl_attr_put_u32(nlh, IFLA_XFRM_IF_ID, 42);
	mnl_attr_nest_end(nlh, d);
	mnl_attr_nest_end(nlh, li);
	return nlh;
}

static void test_vrf(void **state)
{
	(void)state;
	struct nlmsghdr *nlh = vrf_msg(101);
	struct hnv_rtnl_link l;
	assert_int_equal(hnv_rtnl_parse_link(nlh, nlh->nlmsg_len, &l), 0);
	assert_int_equal(l.ifindex, 7);
	assert_string_equal(l.name, "rd-contoso");
	assert_string_equal(l.kind, "vrf");
	assert_int_equal(l.vrf_table, 101);
	assert_int_equal(l.mtu, 65575);
	assert_true(l.up);
	assert_int_equal(l.master, 0);
	assert_false(l.has_mac);
	assert_int_equal(l.xfrm_if_id, 0);
	/* a longer buffer than the message is fine: nlmsg_len is what counts */
	assert_int_equal(hnv_rtnl_parse_link(nlh, sizeof(buf), &l), 0);
	assert_int_equal(l.vrf_table, 101);
}

static void test_xfrm(void **state)
{
	(void)state;
	struct nlmsghdr *nlh = xfrm_msg();
	struct hnv_rtnl_link l;
	assert_int_equal(hnv_rtnl_parse_link(nlh, nlh->nlmsg_len, &l), 0);
	assert_string_equal(l.name, "xf-fabrikam");
	assert_string_equal(l.kind, "xfrm");
	assert_int_equal(l.xfrm_if_id, 42);
	assert_int_equal(l.xfrm_link, 3);
	assert_int_equal(l.vrf_table, 0);
	assert_false(l.up);
}

/* A bridge port: master, MAC, and a kind whose data we do not read. */
static void test_port(void **state)
{
	(void)state;
	struct nlmsghdr *nlh = begin(12, IFF_UP | IFF_BROADCAST, "vsid5001");
	static const uint8_t mac[6] = {0x02, 0, 0, 0, 0x50, 0x01};
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	mnl_attr_put_u32(nlh, IFLA_MASTER, 7);
	mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "tun");
	struct nlattr *d = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u8(nlh, 1, 2);
	mnl_attr_nest_end(nlh, d);
	mnl_attr_nest_end(nlh, li);
	struct hnv_rtnl_link l;
	assert_int_equal(hnv_rtnl_parse_link(nlh, nlh->nlmsg_len, &l), 0);
	assert_string_equal(l.kind, "tun");
	assert_int_equal(l.master, 7);
	assert_int_equal(l.mtu, 1500);
	assert_true(l.has_mac);
	assert_memory_equal(l.mac.b, mac, 6);
	assert_true(l.up);
}

static void test_no_linkinfo(void **state)
{
	(void)state;
	struct nlmsghdr *nlh = begin(1, IFF_UP | IFF_LOOPBACK, "lo");
	/* a 4-byte hardware address is not a MAC */
	mnl_attr_put_u32(nlh, IFLA_ADDRESS, 0);
	struct hnv_rtnl_link l;
	assert_int_equal(hnv_rtnl_parse_link(nlh, nlh->nlmsg_len, &l), 0);
	assert_string_equal(l.name, "lo");
	assert_string_equal(l.kind, "");
	assert_false(l.has_mac);
}

static void expect_einval(const struct nlmsghdr *nlh, size_t len, const char *what)
{
	struct hnv_rtnl_link l;
	int rc = hnv_rtnl_parse_link(nlh, len, &l);
	if (rc != -EINVAL)
		fail_msg("%s: parsed with %d", what, rc);
}

/* Finds the first attribute of type at or after the ifinfomsg. */
static struct nlattr *find(struct nlmsghdr *nlh, uint8_t *from, uint16_t type)
{
	uint8_t *end = (uint8_t *)nlh + nlh->nlmsg_len;
	for (uint8_t *p = from; p + 4 <= end; p += 4) {
		struct nlattr *a = (struct nlattr *)p;
		if ((a->nla_type & NLA_TYPE_MASK) == type && a->nla_len >= 4)
			return a;
	}
	fail_msg("attribute %u not found", type);
	return NULL;
}

static uint8_t *attrs_start(struct nlmsghdr *nlh)
{
	return (uint8_t *)nlh + MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ifinfomsg));
}

static void test_short_attributes(void **state)
{
	(void)state;
	struct nlmsghdr *nlh;
	/* u32 attributes with 2 bytes of payload */
	nlh = begin(5, 0, "v0");
	mnl_attr_put_u16(nlh, IFLA_MTU, 1500);
	expect_einval(nlh, nlh->nlmsg_len, "MTU of 2 bytes");
	nlh = begin(5, 0, "v0");
	mnl_attr_put_u16(nlh, IFLA_MASTER, 3);
	expect_einval(nlh, nlh->nlmsg_len, "master of 2 bytes");

	nlh = begin(7, 0, "rd-x");
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vrf");
	struct nlattr *d = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u16(nlh, IFLA_VRF_TABLE, 101);
	mnl_attr_nest_end(nlh, d);
	mnl_attr_nest_end(nlh, li);
	expect_einval(nlh, nlh->nlmsg_len, "VRF table of 2 bytes");

	nlh = begin(9, 0, "xf-x");
	li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "xfrm");
	d = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u8(nlh, IFLA_XFRM_IF_ID, 42);
	mnl_attr_nest_end(nlh, d);
	mnl_attr_nest_end(nlh, li);
	expect_einval(nlh, nlh->nlmsg_len, "XFRM if_id of 1 byte");
}

/* An attribute whose length runs past its container, at each level. */
static void test_overrunning_attributes(void **state)
{
	(void)state;
	struct nlmsghdr *nlh = vrf_msg(101);
	struct nlattr *mtu = find(nlh, attrs_start(nlh), IFLA_MTU);
	mtu->nla_len = (uint16_t)(nlh->nlmsg_len + 8);
	expect_einval(nlh, nlh->nlmsg_len, "MTU overrunning the message");

	/* the last top-level attribute (the link info) overruns */
	nlh = vrf_msg(101);
	struct nlattr *li = find(nlh, attrs_start(nlh), IFLA_LINKINFO);
	li->nla_len += 4;
	expect_einval(nlh, nlh->nlmsg_len, "link info overrunning the message");

	/* the VRF table overruns the info data, which overruns nothing */
	nlh = vrf_msg(101);
	struct nlattr *tab = find(nlh, (uint8_t *)find(nlh, attrs_start(nlh), IFLA_LINKINFO) + 4,
				  IFLA_INFO_DATA);
	struct nlattr *t = (struct nlattr *)((uint8_t *)tab + 4);
	assert_int_equal(t->nla_type, IFLA_VRF_TABLE);
	t->nla_len = 12;
	expect_einval(nlh, nlh->nlmsg_len, "VRF table overrunning the info data");

	/* the kind overruns the link info */
	nlh = vrf_msg(101);
	li = find(nlh, attrs_start(nlh), IFLA_LINKINFO);
	struct nlattr *kind = (struct nlattr *)((uint8_t *)li + 4);
	assert_int_equal(kind->nla_type, IFLA_INFO_KIND);
	kind->nla_len = (uint16_t)(li->nla_len + 4);
	expect_einval(nlh, nlh->nlmsg_len, "kind overrunning the link info");

	/* the message is cut inside the link info */
	nlh = vrf_msg(101);
	expect_einval(nlh, nlh->nlmsg_len - 8, "message shorter than nlmsg_len");
	nlh->nlmsg_len -= 8;
	expect_einval(nlh, nlh->nlmsg_len, "link info cut by nlmsg_len");
}

static void test_bad_name_and_header(void **state)
{
	(void)state;
	struct nlmsghdr *nlh = begin(5, 0, NULL);
	mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
	expect_einval(nlh, nlh->nlmsg_len, "no name");

	nlh = begin(5, 0, NULL);
	mnl_attr_put(nlh, IFLA_IFNAME, 16, "0123456789abcdef");
	expect_einval(nlh, nlh->nlmsg_len, "name of 16 bytes without NUL");
	nlh = begin(5, 0, NULL);
	mnl_attr_put(nlh, IFLA_IFNAME, 15, "0123456789abcde");
	struct hnv_rtnl_link l;
	assert_int_equal(hnv_rtnl_parse_link(nlh, nlh->nlmsg_len, &l), 0);
	assert_string_equal(l.name, "0123456789abcde");

	nlh = begin(5, 0, NULL);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put(nlh, IFLA_INFO_KIND, 16, "aaaaaaaaaaaaaaaa");
	mnl_attr_nest_end(nlh, li);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "v0");
	expect_einval(nlh, nlh->nlmsg_len, "kind of 16 bytes without NUL");

	/* nlmsg_len not a multiple of 4, ending the buffer: libmnl would read
	 * the padding after it */
	nlh = begin(5, 0, NULL);
	mnl_attr_put(nlh, IFLA_IFNAME, 10, "abcdefghi");
	nlh->nlmsg_len -= 2;
	uint8_t *exact = malloc(nlh->nlmsg_len);
	memcpy(exact, nlh, nlh->nlmsg_len);
	expect_einval((struct nlmsghdr *)exact, nlh->nlmsg_len,
		      "unaligned length ending the buffer");
	free(exact);

	nlh = vrf_msg(101);
	nlh->nlmsg_type = RTM_DELLINK;
	expect_einval(nlh, nlh->nlmsg_len, "RTM_DELLINK");
	nlh = vrf_msg(101);
	nlh->nlmsg_len = sizeof(struct nlmsghdr) + 4;
	expect_einval(nlh, sizeof(buf), "message shorter than an ifinfomsg");
	expect_einval(nlh, 8, "buffer shorter than a netlink header");
}

/* Every truncation and every single-bit flip of the VRF and XFRM messages
 * is refused or parsed without reading past the copy (ASan watches). */
static void test_mutations(void **state)
{
	(void)state;
	struct nlmsghdr *msgs[2];
	uint8_t orig[2][512];
	size_t lens[2];
	msgs[0] = vrf_msg(101);
	lens[0] = msgs[0]->nlmsg_len;
	memcpy(orig[0], msgs[0], lens[0]);
	msgs[1] = xfrm_msg();
	lens[1] = msgs[1]->nlmsg_len;
	memcpy(orig[1], msgs[1], lens[1]);
	unsigned ok = 0, refused = 0;
	for (int m = 0; m < 2; m++) {
		for (size_t n = 0; n < lens[m]; n++) {
			uint32_t *copy = malloc(n ? n : 1);
			memcpy(copy, orig[m], n);
			if (n >= sizeof(struct nlmsghdr))
				((struct nlmsghdr *)copy)->nlmsg_len = (uint32_t)n;
			struct hnv_rtnl_link l;
			*(hnv_rtnl_parse_link(copy, n, &l) == 0 ? &ok : &refused) += 1;
			free(copy);
		}
		for (size_t bit = 0; bit < lens[m] * 8; bit++) {
			uint32_t *copy = malloc(lens[m]);
			memcpy(copy, orig[m], lens[m]);
			((uint8_t *)copy)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			struct hnv_rtnl_link l;
			*(hnv_rtnl_parse_link(copy, lens[m], &l) == 0 ? &ok : &refused) += 1;
			free(copy);
		}
	}
	/* flips of the payload bytes of u32 values parse; header flips do not */
	assert_true(ok > 0);
	assert_true(refused > 0);
}

/* Every descriptor the gateway's netlink handles hold is close-on-exec
 * (issue 17 finding 2): hnvgwd runs helpers as root, and a child that
 * inherited the rtnetlink or nfnetlink socket could change the host's
 * links, routes and firewall. Checked on every descriptor that appears
 * while hnv_rtnl_open and hnv_nat_open run. */
static bool fd_open_before[1024];

static void mark_open_fds(bool *open_now)
{
	memset(open_now, 0, 1024 * sizeof(bool));
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] != '.' && fd != dirfd(d) && fd < 1024)
			open_now[fd] = true;
	}
	closedir(d);
}

static int new_fds_without_cloexec(void)
{
	bool now[1024];
	mark_open_fds(now);
	int bad = 0, seen = 0;
	for (int fd = 0; fd < 1024; fd++) {
		if (!now[fd] || fd_open_before[fd])
			continue;
		seen++;
		int fl = fcntl(fd, F_GETFD);
		if (fl < 0 || !(fl & FD_CLOEXEC)) {
			fprintf(stderr, "descriptor %d is not close-on-exec\n", fd);
			bad++;
		}
	}
	assert_true(seen > 0);
	return bad;
}

static void test_descriptors_cloexec(void **state)
{
	(void)state;
	char err[256];
	mark_open_fds(fd_open_before);
	struct hnv_rtnl *r;
	assert_int_equal(hnv_rtnl_open(&r, err, sizeof(err)), 0);
	assert_int_equal(new_fds_without_cloexec(), 0);
	hnv_rtnl_close(r);
	mark_open_fds(fd_open_before);
	struct hnv_nat *n;
	assert_int_equal(hnv_nat_open(&n, err, sizeof(err)), 0);
	assert_int_equal(new_fds_without_cloexec(), 0);
	hnv_nat_close(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vrf),
		cmocka_unit_test(test_xfrm),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_no_linkinfo),
		cmocka_unit_test(test_short_attributes),
		cmocka_unit_test(test_overrunning_attributes),
		cmocka_unit_test(test_bad_name_and_header),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_descriptors_cloexec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
