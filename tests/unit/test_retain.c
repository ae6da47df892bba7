/* test_retain.c: the text of a pool tenant's learned routes
 * (gateway/retain.c): what a holder writes to etcd and the member that
 * takes the tenant over installs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../gateway/retain.h"
#include "../../lib/addr.h"

static struct hnv_retain_route route(const char *prefix, const char *gw, const char *dev)
{
	struct hnv_retain_route r;
	memset(&r, 0, sizeof(r));
	assert_int_equal(hnv_parse_prefix(prefix, &r.prefix), 0);
	if (gw) {
		assert_int_equal(hnv_parse_ip(gw, &r.gw), 0);
		r.has_gw = true;
	}
	if (dev)
		snprintf(r.dev, sizeof(r.dev), "%s", dev);
	return r;
}

/* The three forms, IPv4 and IPv6, read back as written. */
static void test_round_trip(void **state)
{
	(void)state;
	struct hnv_retain_route in[] = {
		route("172.16.0.0/16", "172.31.1.2", "cc0"),
		route("0.0.0.0/0", "203.0.113.100", NULL),
		route("192.168.0.0/16", NULL, "xf-744637"),
		route("2001:db8:100::/48", "fe80::1", "cc0"),
	};
	char buf[1024];
	int len = hnv_retain_format(in, 4, buf, sizeof(buf));
	assert_true(len > 0);
	assert_string_equal(buf, "172.16.0.0/16 via 172.31.1.2 dev cc0\n"
				 "0.0.0.0/0 via 203.0.113.100\n"
				 "192.168.0.0/16 dev xf-744637\n"
				 "2001:db8:100::/48 via fe80::1 dev cc0\n");
	struct hnv_retain_route out[8];
	size_t n = 99;
	char err[128] = "";
	assert_int_equal(hnv_retain_parse(buf, (size_t)len, out, 8, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(out[i].prefix.len, in[i].prefix.len);
		assert_true(hnv_ip_eq(&out[i].prefix.addr, &in[i].prefix.addr));
		assert_int_equal(out[i].has_gw, in[i].has_gw);
		assert_true(hnv_ip_eq(&out[i].gw, &in[i].gw));
		assert_string_equal(out[i].dev, in[i].dev);
	}
	/* nothing learned: an empty text, no route */
	assert_int_equal(hnv_retain_format(in, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(hnv_retain_parse("", 0, out, 8, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	/* a buffer too small says so and leaves nothing half written */
	assert_int_equal(hnv_retain_format(in, 4, buf, 40), -ENOSPC);
	assert_string_equal(buf, "");
}

/* Text from another member is refused whole, naming the line and what is
 * wrong. */
static void test_refused(void **state)
{
	(void)state;
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"172.16.0.0/16\n", "line 1: want PREFIX via ADDRESS and/or dev IFNAME"},
		{"10.0.0.0/8 dev cc0\n172.16.0.1/16 dev cc0\n", "line 2:"},
		{"10.0.0.0/8 via 2001:db8::1\n", "line 1: next hop of the other address family"},
		{"10.0.0.0/8 via 10.0.0.300\n", "line 1:"},
		{"10.0.0.0/8 dev a/b\n", "line 1: bad interface name"},
		{"10.0.0.0/8 dev 0123456789abcdefg\n", "line 1: bad interface name"},
		{"10.0.0.0/8 dev cc0 dev cc1\n", "line 1: want PREFIX"},
		{"10.0.0.0/8 via 1.1.1.1 via 1.1.1.2\n", "line 1: want PREFIX"},
		{"10.0.0.0/8 gw 1.1.1.1\n", "line 1: want PREFIX"},
		{"10.0.0.0/8 dev cc0\n10.0.0.0/8 dev cc1\n", "line 2: prefix listed twice"},
		{"10.0.0.0/8 dev cc0\n\n", "line 2: want PREFIX"},
		{"10.0.0.0/8 via 1.1.1.1 dev cc0 x y\n", "line 1: too many words"},
	};
	struct hnv_retain_route out[4];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = 7;
		char err[128] = "";
		assert_int_equal(hnv_retain_parse(bad[i].text, strlen(bad[i].text), out, 4, &n, err,
						  sizeof(err)),
				 -EINVAL);
		assert_int_equal(n, 0);
		if (!strstr(err, bad[i].why))
			fail_msg("\"%s\": got \"%s\", want \"%s\"", bad[i].text, err, bad[i].why);
	}
	/* a NUL byte inside, a line longer than any route, more than max */
	size_t n;
	char err[128];
	assert_int_equal(
		hnv_retain_parse("10.0.0.0/8 dev c\0c\n", 19, out, 4, &n, err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "NUL byte"));
	char long_line[300];
	memset(long_line, 'a', sizeof(long_line));
	assert_int_equal(
		hnv_retain_parse(long_line, sizeof(long_line), out, 4, &n, err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "line too long"));
	const char *five = "10.0.0.0/8 dev a\n10.1.0.0/16 dev a\n10.2.0.0/16 dev a\n"
			   "10.3.0.0/16 dev a\n10.4.0.0/16 dev a\n";
	assert_int_equal(hnv_retain_parse(five, strlen(five), out, 4, &n, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "line 5: too many routes"));
	struct hnv_retain_route six[5];
	assert_int_equal(hnv_retain_parse(five, strlen(five), six, 5, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 5);
}

/* The largest snapshot fits its text limit. */
static void test_limit(void **state)
{
	(void)state;
	struct hnv_retain_route *r = calloc(HNV_RETAIN_MAX, sizeof(*r));
	char *buf = malloc(HNV_RETAIN_TEXT_MAX);
	assert_non_null(r);
	assert_non_null(buf);
	for (size_t i = 0; i < HNV_RETAIN_MAX; i++) {
		char p[64];
		snprintf(p, sizeof(p), "2001:db8:ffff:%zx:ffff:ffff:ffff:ff00/120", i);
		r[i] = route(p, "fe80::ffff:ffff:ffff:ffff", "longname012345");
	}
	int len = hnv_retain_format(r, HNV_RETAIN_MAX, buf, HNV_RETAIN_TEXT_MAX);
	assert_true(len > 0 && len < HNV_RETAIN_TEXT_MAX);
	size_t n;
	char err[128];
	assert_int_equal(
		hnv_retain_parse(buf, (size_t)len, r, HNV_RETAIN_MAX, &n, err, sizeof(err)), 0);
	assert_int_equal(n, HNV_RETAIN_MAX);
	free(buf);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
