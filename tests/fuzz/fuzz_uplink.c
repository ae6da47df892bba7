/* fuzz_uplink.c: libFuzzer harness for the receive path of the forwarding
 * engine (datapath/dp.c rx_uplink, the codecs and policy lookups under it).
 *
 * A Blue/Red datapath (the demo of the Hyper-V documentation on Host1, plus
 * a second blue VSID and a remote host behind an IPv6 PA) is built once.
 * Each input is one frame arriving on the uplink. It is processed twice in
 * one batch: once traced with the outer checksum marked verified by the I/O
 * layer, once untraced with the checksum checked. Afterwards (abort() on a
 * violation):
 *   - every verdict is a known reason, and the counters add up to the
 *     packets processed;
 *   - the uplink only ever delivers to a configured port, in the frame's
 *     VSID, a frame addressed to that port's MAC, without an 802.1Q tag,
 *     lying inside the received bytes;
 *   - the two copies agree unless the unverified one failed its checksum
 *     (neither tracing nor the flag may change a decision otherwise);
 *   - trace records are NUL-terminated and within bounds.
 * Seeds (tests/fuzz/seeds/fuzz_uplink/) are valid NVGRE frames.
 */
#define _LGPL_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-qsbr.h>

#include "../../datapath/dp.h"
#include "../../datapath/policy_read.h"
#include "../../datapath/proto.h"
#include "../../mgmt/conftext.h"
#include "../unit/pktgen.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

static const char CONF[] =
	"pa add 192.168.4.11/24 --dev eth0\n"
	"pa add fd00:4::11/64 --dev eth0\n"
	"rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}\n"
	"rdomain add red --rdid {11111111-2222-3333-4444-000000006001}\n"
	"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24 --prefix fd00:5001::/64\n"
	"vsubnet add 5002 --rdomain blue --prefix 10.0.1.0/24\n"
	"vsubnet add 6001 --rdomain red --prefix 10.0.0.0/24\n"
	"port add blue1 --vsid 5001 --ca 10.0.0.5 --ca fd00:5001::5 --mac 060600000005\n"
	"port add red1 --vsid 6001 --ca 10.0.0.5 --mac 080800000005\n"
	"port add blue3 --vsid 5002 --ca 10.0.1.5 --mac 060600010005\n"
	"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005\n"
	"lookup add --vsid 5001 --ca fd00:5001::5 --pa 192.168.4.11 --mac 060600000005\n"
	"lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 060600000007\n"
	"lookup add --vsid 5001 --ca fd00:5001::7 --pa 192.168.4.22 --mac 060600000007\n"
	"lookup add --vsid 5001 --ca 10.0.0.9 --pa fd00:4::22 --mac 060600000009\n"
	"lookup add --vsid 5001 --ca fd00:5001::9 --pa fd00:4::22 --mac 060600000009\n"
	"lookup add --vsid 6001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 080800000005\n"
	"lookup add --vsid 6001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 080800000007\n"
	"lookup add --vsid 5002 --ca 10.0.1.5 --pa 192.168.4.11 --mac 060600010005\n"
	"lookup add --vsid 5002 --ca 10.0.1.9 --pa 192.168.4.22 --mac 060600010009\n"
	"route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0 --metric 255\n"
	"route add --rdomain blue --vsid 5002 --prefix 10.0.1.0/24 --nexthop 0.0.0.0 --metric 255\n"
	"route add --rdomain blue --vsid 5001 --prefix fd00:5001::/64 --nexthop :: --metric 255\n"
	"route add --rdomain red --vsid 6001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0 --metric 255\n";

static struct hnv_dp *dp;
static struct hnv_dp_worker *worker;
static struct hnv_policy *pol;
static struct hnv_pkt *pkts[2];
static struct hnv_trace trace;
static uint64_t processed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_uplink: %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	urcu_qsbr_register_thread(); /* the thread libFuzzer runs inputs on */
	dp = hnv_dp_new();
	CHECK(dp);
	struct hnv_conf_cmd *cmds;
	size_t n;
	char err[256];
	if (hnv_conf_parse_text(CONF, strlen(CONF), &cmds, &n, err, sizeof(err)) ||
	    hnv_conf_apply(dp, cmds, n, err, sizeof(err))) {
		fprintf(stderr, "fuzz_uplink: config: %s\n", err);
		abort();
	}
	free(cmds);
	pol = hnv_dp_policy(dp);
	struct hnv_mac um = pg_mac("00155d000011"), nm = pg_mac("00155d000022");
	struct hnv_ip pa4 = pg_ip("192.168.4.22"), pa6 = pg_ip("fd00:4::22");
	hnv_dp_set_uplink(dp, &um, 1500);
	CHECK(hnv_dp_neigh_set(dp, &pa4, &nm) == 0);
	CHECK(hnv_dp_neigh_set(dp, &pa6, &nm) == 0);
	worker = hnv_dp_worker_new(dp);
	CHECK(worker);
	for (int i = 0; i < 2; i++) {
		pkts[i] = malloc(sizeof(struct hnv_pkt));
		CHECK(pkts[i]);
	}
	return 0;
}

static void check_trace(const struct hnv_trace *t)
{
	CHECK(t->n <= HNV_TRACE_STEPS);
	for (unsigned i = 0; i < t->n; i++) {
		CHECK(t->step[i].stage < HNV_ST__COUNT);
		CHECK(memchr(t->step[i].text, 0, sizeof(t->step[i].text)) != NULL);
	}
}

static void check_pkt(const struct hnv_pkt *p, size_t in_len)
{
	CHECK(p->reason < HNV_R__COUNT);
	if (hnv_reason_is_drop(p->reason))
		return;
	/* the uplink only delivers decapsulated frames to local ports */
	CHECK(p->reason == HNV_R_rx_decap_delivered);
	const uint8_t *start = p->buf + HNV_PKT_HEADROOM;
	CHECK(p->data >= start && p->len >= HNV_ETH_HLEN);
	CHECK(p->data + p->len <= start + in_len);
	CHECK(p->out_port != HNV_PORT_UPLINK);
	const struct hnv_port *pt = hnv_policy_port(pol, p->out_port);
	CHECK(pt != NULL);
	CHECK(pt->vsid == p->vsid);
	CHECK(memcmp(p->data, pt->mac.b, 6) == 0);
	uint16_t type = pg_get16(p->data + 12);
	CHECK(type != 0x8100 && type != 0x88a8);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	if (len > HNV_PKT_BUFSIZE - HNV_PKT_HEADROOM) {
		CHECK(hnv_pkt_load(pkts[0], buf, len, HNV_PORT_UPLINK) < 0);
		return 0;
	}
	for (int i = 0; i < 2; i++) {
		CHECK(hnv_pkt_load(pkts[i], buf, len, HNV_PORT_UPLINK) == 0);
		pkts[i]->flags = i == 0 ? HNV_PKT_F_L3_CSUM_OK : 0;
		pkts[i]->trace = i == 0 ? &trace : NULL;
	}
	hnv_dp_process(worker, pkts, 2);
	processed += 2;
	hnv_dp_worker_quiescent(worker);
	check_trace(&trace);
	for (int i = 0; i < 2; i++)
		check_pkt(pkts[i], len);
	const struct hnv_pkt *a = pkts[0], *b = pkts[1];
	if (b->reason != HNV_R_drop_bad_csum) {
		CHECK(a->reason == b->reason);
		CHECK(a->vsid == b->vsid);
		if (!hnv_reason_is_drop(a->reason)) {
			CHECK(a->out_port == b->out_port && a->len == b->len);
			CHECK(memcmp(a->data, b->data, a->len) == 0);
		}
	}
	uint64_t cnt[HNV_R__COUNT], total = 0;
	hnv_dp_counters(dp, cnt);
	for (unsigned i = 0; i < HNV_R__COUNT; i++)
		total += cnt[i];
	CHECK(total == processed);
	return 0;
}
