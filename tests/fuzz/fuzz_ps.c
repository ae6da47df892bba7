/* fuzz_ps.c: libFuzzer harness for the NetWNV front end (mgmt/cli/ps*.c).
 *
 * hnv_ps_run runs the input as a script against a fake io: show serves a
 * fixed set of rows of every kind (so Get, Set, Remove and pipelines reach
 * their row code, malformed rows included), exec accepts every transaction
 * whose first line lacks the word "refuse", and nexthop answers with a fixed
 * result (or an error for VSID 6001). Checks:
 *   1. the result is 0, 1 or 2; on 2 (a syntax error) nothing was shown or
 *      exec'd and the message starts with "line N: ";
 *   2. every line handed to exec is config text the real parser reads as
 *      one command, or one it refuses only for a value (a VM name with
 *      spaces, a too-long line): never for the structure (an unknown
 *      command or option, a quoting or escaping error, a value taken as an
 *      option), which would mean ps.c built a line wrongly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../mgmt/conftext.h"
#include "../../mgmt/cli/ps.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

static const char *const row_text[][2] = {
	{"rdomains", "[{\"name\":\"blue\",\"rdid\":\"{11111111-2222-3333-4444-000000005001}\"},"
		     "{\"name\":7,\"rdid\":\"{11111111-2222-3333-4444-000000006001}\"}]"},
	{"vsubnets", "[{\"vsid\":5001,\"rdomain\":\"blue\",\"prefixes\":[\"10.0.0.0/24\"]},"
		     "{\"vsid\":\"6001\"},{\"vsid\":null},7]"},
	{"lookup",
	 "[{\"CustomerAddress\":\"10.0.0.5\",\"VirtualSubnetID\":5001,\"MACAddress\":"
	 "\"060600000005\",\"ProviderAddress\":\"192.168.4.11\",\"CustomerID\":"
	 "\"{11111111-2222-3333-4444-000000005001}\",\"Context\":\"a \\\"quoted\\\" #text\","
	 "\"Rule\":\"TranslationMethodEncap\",\"VMName\":\"Blue1\",\"UseVmMACAddress\":false,"
	 "\"Type\":\"Static\"},"
	 "{\"CustomerAddress\":\"fd00::7\",\"VirtualSubnetID\":\"5001\",\"MACAddress\":"
	 "\"06-06-00-00-00-07\",\"ProviderAddress\":\"fd00:1::22\",\"Rule\":36,\"Type\":36,"
	 "\"VMName\":\"--vm name\",\"UseVmMACAddress\":\"on\"},"
	 "{\"CustomerAddress\":\"0.0.0.0\",\"VirtualSubnetID\":6001,\"MACAddress\":"
	 "\"0A0A0A0A0A01\",\"ProviderAddress\":\"192.168.4.1\",\"Rule\":\"nat\",\"Type\":"
	 "\"GatewayWildcard\",\"Context\":\"tab\\there\"},"
	 "{\"CustomerAddress\":\"10.0.0.9\"},\"not a row\"]"},
	{"routes",
	 "[{\"RoutingDomainID\":\"{11111111-2222-3333-4444-000000005001}\",\"VirtualSubnetID\":"
	 "5001,\"DestinationPrefix\":\"10.0.0.0/24\",\"NextHop\":\"0.0.0.0\",\"Metric\":255,"
	 "\"rdomain\":\"blue\"},"
	 "{\"RoutingDomainID\":\"x\",\"VirtualSubnetID\":5001,\"DestinationPrefix\":"
	 "\"fd00::/64\",\"NextHop\":\"::\",\"rdomain\":\"a b\"},"
	 "{\"DestinationPrefix\":\"10.0.0.0/24\"}]"},
	{"pa", "[{\"ProviderAddress\":\"192.168.4.11\",\"PrefixLength\":24,\"InterfaceName\":"
	       "\"lo\"},{\"ProviderAddress\":\"fd00:1::11\",\"PrefixLength\":\"64\","
	       "\"InterfaceName\":\"eth 0\"},{\"PrefixLength\":999}]"},
	{"proutes", "[{\"prefix\":\"0.0.0.0/0\",\"nexthop\":\"192.168.4.1\",\"dev\":\"lo\","
		    "\"metric\":10},{\"prefix\":\"::/0\",\"nexthop\":\"fd00:1::1\",\"dev\":"
		    "\"lo\"},{\"prefix\":\"bad\"}]"},
	{"global", "{\"use_external_router\":true}"},
};
#define N_WHAT (sizeof(row_text) / sizeof(row_text[0]))

static json_object *rows[N_WHAT];
static json_object *nh_result;
static FILE *devnull;
static unsigned calls; /* show + exec + nexthop calls of the current run */

static void init(void)
{
	for (size_t i = 0; i < N_WHAT; i++) {
		rows[i] = json_tokener_parse(row_text[i][1]);
		if (rows[i] == NULL)
			abort();
	}
	nh_result = json_tokener_parse(
		"{\"verdict\":\"forward\",\"counter\":\"tx_encap\",\"stages\":[],\"vsid\":5001,"
		"\"src\":\"10.0.0.5\",\"src_mac\":\"060600000005\",\"dst\":\"10.0.0.7\","
		"\"egress\":\"uplink\",\"next_hop_ca\":\"10.0.0.7\",\"pa\":\"192.168.4.22\","
		"\"mac\":\"060600000007\"}");
	devnull = fopen("/dev/null", "w");
	if (nh_result == NULL || devnull == NULL)
		abort();
}

/* Messages of hnv_conf_parse_line that mean the line itself is malformed.
 * Only the text before the first quote counts: values are quoted in
 * messages and may contain any of these words. */
static bool structural(const char *msg)
{
	char err[512];
	size_t n = strcspn(msg, "\"");
	if (n >= sizeof(err))
		n = sizeof(err) - 1;
	memcpy(err, msg, n);
	err[n] = '\0';
	static const char *const bad[] = {
		"control character", "unterminated",   "invalid escape",  "after quoted value",
		"quote inside word", "too many words", "unknown command", "unknown option",
		"more than once",    "missing",        "unexpected",      "needs a verb",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(err, bad[i]))
			return true;
	return false;
}

static int fake_exec(void *ctx, const char *const *lines, size_t n, char *err, size_t errlen)
{
	(void)ctx;
	calls++;
	if (n == 0)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct hnv_conf_cmd cmd;
		char e[512] = "";
		int rc = hnv_conf_parse_line(lines[i], &cmd, e, sizeof(e));
		if (rc == 0 || (rc < 0 && structural(e))) {
			fprintf(stderr, "bad line from ps.c: \"%s\": %s\n", lines[i], e);
			abort();
		}
	}
	/* the daemon's refusal, reachable by mutation: the script continues */
	if (strstr(lines[0], "refuse")) {
		snprintf(err, errlen, "refused: %s", lines[0]);
		return -1;
	}
	return 0;
}

static int fake_show(void *ctx, const char *what, json_object **out, char *err, size_t errlen)
{
	(void)ctx;
	calls++;
	for (size_t i = 0; i < N_WHAT; i++)
		if (strcmp(what, row_text[i][0]) == 0) {
			*out = NULL;
			if (json_object_deep_copy(rows[i], out, NULL) != 0)
				abort();
			return 0;
		}
	snprintf(err, errlen, "unknown show %s", what);
	return -1;
}

static int fake_nexthop(void *ctx, unsigned vsid, const char *src, const char *dst,
			json_object **result, char *err, size_t errlen)
{
	(void)ctx;
	(void)src;
	calls++;
	if (dst == NULL || vsid < HNV_VSID_MIN || vsid > HNV_VSID_MAX)
		abort();
	if (vsid == 6001) {
		snprintf(err, errlen, "VSID %u is not configured", vsid);
		return -1;
	}
	*result = NULL;
	if (json_object_deep_copy(nh_result, result, NULL) != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	if (devnull == NULL)
		init();
	char *msg = NULL;
	size_t msglen = 0;
	FILE *err = open_memstream(&msg, &msglen);
	if (err == NULL)
		abort();
	struct hnv_ps_io io = {
		.ctx = NULL,
		.exec = fake_exec,
		.show = fake_show,
		.nexthop = fake_nexthop,
		.out = devnull,
		.err = err,
	};
	calls = 0;
	int rc = hnv_ps_run((const char *)buf, len, &io);
	fclose(err);
	if (rc < 0 || rc > 2)
		abort();
	if (rc == 2 && (calls != 0 || strncmp(msg, "line ", 5) != 0))
		abort();
	if (rc == 1 && msglen == 0)
		abort();
	free(msg);
	return 0;
}
