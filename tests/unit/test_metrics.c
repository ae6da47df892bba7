/* test_metrics.c: the pieces of hnvgwd's Prometheus endpoint that take no
 * daemon: the --metrics address parser, the exposition format writer
 * (escaping) and the parser of bgpd's session summary (on FRR 8.4's
 * output, recorded from tests/bgp's daemons). The endpoint itself is
 * tested against a running hnvgwd in tests/netns/test_metrics.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../gateway/bgpstate.h"
#include "../../mgmt/daemon/metrics.h"
#include "../../mgmt/daemon/metrics_text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *s, struct sockaddr_storage *sa, char *err)
{
	socklen_t l;
	return hnv_metrics_parse_addr(s, strlen(s), sa, &l, err, 512);
}

static void test_addr_ok(void **state)
{
	(void)state;
	struct sockaddr_storage sa;
	char err[512];
	assert_int_equal(parse("127.0.0.1:9417", &sa, err), 0);
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)&sa;
	assert_int_equal(a4->sin_family, AF_INET);
	assert_int_equal(ntohs(a4->sin_port), 9417);
	assert_int_equal(a4->sin_addr.s_addr, htonl(0x7f000001));
	assert_int_equal(parse("[::1]:1", &sa, err), 0);
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&sa;
	assert_int_equal(a6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(a6->sin6_port), 1);
	assert_true(IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr));
	assert_int_equal(parse("[fe80::1%lo]:65535", &sa, err), 0);
	assert_int_not_equal(a6->sin6_scope_id, 0);
	assert_int_equal(parse("0.0.0.0:80", &sa, err), 0);
}

static void test_addr_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"9417",
		":9417",
		"127.0.0.1",
		"127.0.0.1:",
		"127.0.0.1:0",
		"127.0.0.1:65536",
		"127.0.0.1:+80",
		"127.0.0.1:8 0",
		"localhost:9417",
		"::1:9417",
		"[::1]9417",
		"[::1]:",
		"[]:80",
		"[127.0.0.1]:80",
		"[::1:80",
		"1.2.3:80",
		"[fe80::1%]:80",
		"[fe80::1%nosuchif0]:80",
		"127.0.0.1:123456",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sockaddr_storage sa;
		char err[512] = "";
		if (parse(bad[i], &sa, err) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		char want[64];
		snprintf(want, sizeof(want), "--metrics \"%s\"", bad[i]);
		if (!strstr(err, want))
			fail_msg("\"%s\": message \"%s\"", bad[i], err);
	}
	/* the length counts, not a NUL */
	struct sockaddr_storage sa;
	socklen_t l;
	char err[512];
	assert_int_equal(hnv_metrics_parse_addr("127.0.0.1:80\0", 13, &sa, &l, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(hnv_metrics_parse_addr("127.0.0.1:8080", 12, &sa, &l, err, sizeof(err)),
			 0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&sa)->sin_port), 80);
}

static void test_text_escaping(void **state)
{
	(void)state;
	struct hnv_buf b = {0};
	hnv_prom_family(&b, "hnvgw_x_total", "counter", "a \\ b\nc \"q\"");
	hnv_prom_u64(&b, "hnvgw_x_total",
		     (const char *const[]){"port", "a\"b\\c\nd", "t", "", NULL},
		     18446744073709551615ull);
	hnv_prom_u64(&b, "hnvgw_x_total", NULL, 0);
	hnv_prom_f64(&b, "hnvgw_x_total", (const char *const[]){"k", "v", NULL}, 1.5);
	char *s = hnv_buf_take(&b);
	assert_string_equal(s,
			    "# HELP hnvgw_x_total a \\\\ b\\nc \"q\"\n"
			    "# TYPE hnvgw_x_total counter\n"
			    "hnvgw_x_total{port=\"a\\\"b\\\\c\\nd\",t=\"\"} 18446744073709551615\n"
			    "hnvgw_x_total 0\n"
			    "hnvgw_x_total{k=\"v\"} 1.5\n");
	free(s);
}

/* FRR 8.4: a default instance that is not hnvgw's, two tenant VRFs */
static const char summary[] =
	"{\n\"default\":{\n\"ipv4Unicast\":{\"routerId\":\"0.0.0.0\",\"as\":64999,\"peers\":{"
	"\"203.0.113.1\":{\"remoteAs\":64998,\"msgRcvd\":0,\"msgSent\":0,\"peerUptime\":\"never\","
	"\"peerUptimeMsec\":0,\"pfxRcd\":0,\"state\":\"Active\",\"connectionsEstablished\":0,"
	"\"connectionsDropped\":0}},\"failedPeers\":1}\n}\n,\n"
	"\"rd-contoso\":{\n\"ipv4Unicast\":{\"vrfName\":\"rd-contoso\",\"peers\":{\"192.0.2.2\":{"
	"\"hostname\":\"vm\",\"remoteAs\":65001,\"msgRcvd\":8,\"msgSent\":7,\"peerUptimeMsec\":"
	"2000,"
	"\"pfxRcd\":4,\"pfxSnt\":5,\"state\":\"Established\",\"connectionsEstablished\":1,"
	"\"connectionsDropped\":0}}},\n\"ipv6Unicast\":{}\n}\n,\n"
	"\"rd-fabrikam\":{\"ipv4Unicast\":{\"peers\":{\"198.51.100.2\":{\"msgRcvd\":\"8\","
	"\"msgSent\":-6,\"state\":7}}}}\n}\n";

struct got {
	int n;
	struct hnv_bgp_session s[4];
};

static void collect(void *arg, const struct hnv_bgp_session *s)
{
	struct got *g = arg;
	if (g->n < 4)
		g->s[g->n] = *s;
	g->n++;
}

static void test_bgp_summary(void **state)
{
	(void)state;
	struct got g = {0};
	assert_int_equal(hnv_bgp_summary_parse(summary, strlen(summary), collect, &g), 3);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.s[0].vrf, "default");
	assert_string_equal(g.s[0].state, "Active");
	assert_string_equal(g.s[1].vrf, "rd-contoso");
	assert_string_equal(g.s[1].afi, "ipv4Unicast");
	assert_string_equal(g.s[1].peer, "192.0.2.2");
	assert_string_equal(g.s[1].state, "Established");
	assert_int_equal(g.s[1].msg_rcvd, 8);
	assert_int_equal(g.s[1].msg_sent, 7);
	assert_int_equal(g.s[1].pfx_rcvd, 4);
	assert_int_equal(g.s[1].uptime_ms, 2000);
	assert_int_equal(g.s[1].conn_established, 1);
	/* members of the wrong type count as absent */
	assert_string_equal(g.s[2].peer, "198.51.100.2");
	assert_string_equal(g.s[2].state, "");
	assert_int_equal(g.s[2].msg_rcvd, 0);
	assert_int_equal(g.s[2].msg_sent, 0);
	/* what vtysh prints when bgpd is not running, and truncated JSON */
	static const char down[] = "bgpd is not running\n";
	assert_int_equal(hnv_bgp_summary_parse(down, strlen(down), collect, &g), -EINVAL);
	assert_int_equal(hnv_bgp_summary_parse(summary, 40, collect, &g), -EINVAL);
	assert_int_equal(hnv_bgp_summary_parse("[1]", 3, collect, &g), -EINVAL);
	assert_int_equal(hnv_bgp_summary_parse("{}", 2, collect, &g), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_ok),
		cmocka_unit_test(test_addr_bad),
		cmocka_unit_test(test_text_escaping),
		cmocka_unit_test(test_bgp_summary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
