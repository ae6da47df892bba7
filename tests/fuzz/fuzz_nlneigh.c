/* fuzz_nlneigh.c: libFuzzer harness for the rtnetlink reply parser of the
 * AF_PACKET uplink (datapath/io/nlneigh.c hnv_nl_parse).
 *
 * Each input is one datagram as the kernel (or anyone able to send to the
 * netlink socket) might deliver it. It is parsed into a small event array
 * and a large one; afterwards (abort() on a violation):
 *   - the result is 0 or -EBADMSG and at most max events were filled;
 *   - every event has a known kind; IPv4 addresses are IPv4-mapped or the
 *     event says nothing of that family's length (addresses are 4 or 16
 *     bytes only); an ERROR event carries an errno in -4095..-1;
 *   - the small array holds a prefix of the large array's events (parsing
 *     does not depend on the room left).
 * Seeds (tests/fuzz/seeds/fuzz_nlneigh/) are laid out as the kernel sends
 * them: IPv4 and IPv6 route replies, an IPv6 neighbour notification, and a
 * datagram of several messages (neighbour new/delete, an error, an ACK).
 */
#include "../../datapath/io/nlneigh.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_nlneigh: %s:%d: %s\n", __FILE__, __LINE__, #c);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static bool same(const struct hnv_nl_event *a, const struct hnv_nl_event *b)
{
	return a->kind == b->kind && a->seq == b->seq && a->error == b->error &&
	       a->ifindex == b->ifindex && a->has_gateway == b->has_gateway &&
	       hnv_ip_eq(&a->addr, &b->addr) && hnv_ip_eq(&a->gateway, &b->gateway) &&
	       a->state == b->state && a->has_lladdr == b->has_lladdr &&
	       memcmp(a->lladdr.b, b->lladdr.b, 6) == 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct hnv_nl_event small[2], big[64];
	size_t ns = 99, nb = 99;
	/* a copy of exactly size bytes: reads past it are caught by ASan */
	unsigned char *buf = malloc(size ? size : 1);
	CHECK(buf);
	memcpy(buf, data, size);
	int rs = hnv_nl_parse(buf, size, small, 2, &ns);
	int rb = hnv_nl_parse(buf, size, big, 64, &nb);
	free(buf);
	CHECK(rs == 0 || rs == -EBADMSG);
	CHECK(rb == 0 || rb == -EBADMSG);
	CHECK(ns <= 2 && nb <= 64);
	CHECK(ns <= nb);
	for (size_t i = 0; i < nb; i++) {
		const struct hnv_nl_event *e = &big[i];
		CHECK(e->kind == HNV_NL_ROUTE || e->kind == HNV_NL_NEIGH ||
		      e->kind == HNV_NL_NEIGH_DEL || e->kind == HNV_NL_ERROR);
		if (e->kind == HNV_NL_ERROR)
			CHECK(e->error < 0 && e->error >= -4095);
		else
			CHECK(e->error == 0);
		if (e->kind != HNV_NL_ROUTE)
			CHECK(!e->has_gateway);
		if (i < ns)
			CHECK(same(&small[i], e));
	}
	CHECK(rb != 0 || rs == 0);
	return 0;
}
