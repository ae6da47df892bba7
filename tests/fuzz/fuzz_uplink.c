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
 *     lying inside the received bytes; or sends an MS-NVGREE REDIRECT /
 *     UNREACHABLE back out of the uplink to the frame's outer source, from
 *     the PA it came to, that decodes (datapath/nvgre_ext.h);
 *   - the two copies agree unless the unverified one failed its checksum
 *     (neither tracing nor the flag may change a decision otherwise), or
 *     the second one's message was rate limited after the first's;
 *   - trace records are NUL-terminated and within bounds;
 *   - a broadcast/multicast frame is only replicated (rx_flood) in the
 *     L2Only VSID 7001, and its copies go unchanged to local ports of
 *     that VSID only, never back to the uplink;
 *   - every learned record is one fuzz_dp.h's fuzz_learn accepts.
 * Seeds (tests/fuzz/seeds/fuzz_uplink/) are valid NVGRE frames.
 */
#define FUZZ_NAME "fuzz_uplink"
#include "fuzz_dp.h"

#include "../../datapath/nvgre_ext.h"

static struct hnv_dp *dp;
static struct hnv_dp_worker *worker;
static struct hnv_policy *pol;
static struct hnv_pkt *pkts[2];
static struct hnv_trace trace;
static uint64_t processed;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	dp = fuzz_dp_build(1500);
	pol = hnv_dp_policy(dp);
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
	if (p->reason == HNV_R_rx_flood) {
		CHECK(p->out_port == HNV_PORT_FLOOD && p->vsid == 7001 && (p->data[0] & 1));
		return;
	}
	if (p->reason == HNV_R_nvx_redirect_sent || p->reason == HNV_R_nvx_unreach_sent) {
		/* a message back to the sender: NVGRE from the PA the frame came
		 * to, to its outer source */
		CHECK(p->out_port == HNV_PORT_UPLINK);
		CHECK(p->data >= p->buf && p->data + p->len <= p->buf + sizeof(p->buf));
		struct hnv_eth e;
		CHECK(hnv_eth_parse(p->data, p->len, &e) == 0 && !e.tagged);
		size_t ip = e.hlen, gre = ip + (e.type == HNV_ET_IPV4 ? 20 : 40);
		CHECK(p->len > gre + NVGRE_HLEN);
		struct hnv_nvx m;
		CHECK(hnv_nvx_parse(p->data + gre + NVGRE_HLEN, p->len - gre - NVGRE_HLEN, &m) ==
		      0);
		CHECK((m.kind == HNV_NVX_REDIRECT) == (p->reason == HNV_R_nvx_redirect_sent));
		CHECK(hnv_policy_is_local_pa(pol, &m.from_pa));
		CHECK(!hnv_policy_is_local_pa(pol, &m.to_pa));
		return;
	}
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

/* The copies of a flooded frame; returns how many. */
static unsigned check_flood(const struct hnv_pkt *p)
{
	static struct hnv_pkt copy[2];
	struct hnv_pkt *out[2] = {&copy[0], &copy[1]};
	unsigned cursor = 0, k, n = 0;
	while ((k = hnv_dp_flood(worker, p, &cursor, out, 2)) > 0) {
		for (unsigned i = 0; i < k; i++) {
			const struct hnv_pkt *q = out[i];
			CHECK(q->reason == HNV_R_rx_decap_delivered);
			const struct hnv_port *pt = hnv_policy_port(pol, q->out_port);
			CHECK(pt != NULL && pt->vsid == p->vsid);
			CHECK(q->len == p->len && memcmp(q->data, p->data, p->len) == 0);
		}
		n += k;
	}
	return n;
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
	check_trace(&trace);
	for (int i = 0; i < 2; i++)
		check_pkt(pkts[i], len);
	processed += check_flood(pkts[0]);
	hnv_dp_worker_quiescent(worker);
	fuzz_learn(dp);
	const struct hnv_pkt *a = pkts[0], *b = pkts[1];
	bool limited =
		(a->reason == HNV_R_nvx_redirect_sent &&
		 b->reason == HNV_R_drop_redirect_limited) ||
		((a->reason == HNV_R_nvx_unreach_sent || a->reason == HNV_R_drop_unreach_limited) &&
		 (b->reason == HNV_R_nvx_unreach_sent ||
		  b->reason == HNV_R_drop_unreach_limited)) ||
		(a->reason == HNV_R_drop_redirect_limited &&
		 b->reason == HNV_R_drop_redirect_limited);
	if (b->reason != HNV_R_drop_bad_csum && !limited) {
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
