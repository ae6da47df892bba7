/* fuzz_metrics_addr.c: libFuzzer harness for hnvgwd's --metrics listen
 * address parser (mgmt/daemon/metrics.c hnv_metrics_parse_addr; the HTTP
 * requests themselves are parsed by libmicrohttpd). Checks:
 *   1. an accepted text gives an AF_INET or AF_INET6 address with a port
 *      of 1..65535 and the length of its family;
 *   2. it formats back ("A.B.C.D:P" / "[X]:P") into a text the parser
 *      accepts with the same address and port;
 *   3. a refused text leaves a message naming --metrics.
 */
#include "../../mgmt/daemon/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	struct sockaddr_storage sa, sb;
	socklen_t la, lb;
	char err[512] = "", text[128], host[INET6_ADDRSTRLEN];
	if (hnv_metrics_parse_addr((const char *)buf, len, &sa, &la, err, sizeof(err))) {
		if (!strstr(err, "--metrics"))
			abort();
		return 0;
	}
	if (sa.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&sa;
		if (la != sizeof(*a) || ntohs(a->sin_port) == 0)
			abort();
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(text, sizeof(text), "%s:%u", host, ntohs(a->sin_port));
	} else if (sa.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&sa;
		if (la != sizeof(*a) || ntohs(a->sin6_port) == 0)
			abort();
		if (a->sin6_scope_id)
			return 0; /* the zone is an interface name: not formatted back */
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(text, sizeof(text), "[%s]:%u", host, ntohs(a->sin6_port));
	} else {
		abort();
	}
	if (hnv_metrics_parse_addr(text, strlen(text), &sb, &lb, err, sizeof(err)) || lb != la ||
	    memcmp(&sa, &sb, la))
		abort();
	return 0;
}
