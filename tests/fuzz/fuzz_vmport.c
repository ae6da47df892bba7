/* fuzz_vmport.c: libFuzzer harness for the transmit path of the forwarding
 * engine (datapath/dp.c tx_vm: anti-spoofing, ARP/ND answers, bridging,
 * routing, MTU, ICMP errors, NVGRE encapsulation).
 *
 * A Blue/Red datapath is built once (as in fuzz_uplink.c). The first input
 * byte picks the ingress port (bits 0-1: blue1, red1, blue3 or an unknown
 * port) and the uplink MTU (bit 2: 1500 or 9000); the rest is one frame
 * from that port. The frame is processed twice in one batch, traced and
 * untraced. Afterwards (abort() on a violation):
 *   - every verdict is a known reason; the counters add up to the packets
 *     processed; tracing changes nothing;
 *   - an encapsulated packet goes to a known remote PA from the local PA,
 *     has valid outer headers, is never fragmented, fits the uplink MTU,
 *     and carries a VSID of the ingress port's routing domain (Blue never
 *     reaches Red), an untagged inner frame from the port's or the
 *     gateway's MAC;
 *   - a frame for a local port is addressed to that port's MAC and stays in
 *     the routing domain; replies (ARP, NA, ICMP errors, echo replies) go
 *     back to the ingress port with valid checksums and bounded lengths.
 * Seeds (tests/fuzz/seeds/fuzz_vmport/) are the control byte and a valid
 * frame: ARP, NS, IPv4/IPv6 to local, remote and routed destinations.
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
static int ports[4];
static unsigned cur_mtu;
static struct hnv_mac gw_mac;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_vmport: %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
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
		fprintf(stderr, "fuzz_vmport: config: %s\n", err);
		abort();
	}
	free(cmds);
	pol = hnv_dp_policy(dp);
	struct hnv_mac um = pg_mac("00155d000011"), nm = pg_mac("00155d000022");
	struct hnv_ip pa4 = pg_ip("192.168.4.22"), pa6 = pg_ip("fd00:4::22");
	cur_mtu = 1500;
	hnv_dp_set_uplink(dp, &um, cur_mtu);
	CHECK(hnv_dp_neigh_set(dp, &pa4, &nm) == 0);
	CHECK(hnv_dp_neigh_set(dp, &pa6, &nm) == 0);
	gw_mac = *hnv_dp_gateway_mac(dp);
	ports[0] = hnv_policy_port_id(pol, "blue1");
	ports[1] = hnv_policy_port_id(pol, "red1");
	ports[2] = hnv_policy_port_id(pol, "blue3");
	ports[3] = 999;
	CHECK(ports[0] > 0 && ports[1] > 0 && ports[2] > 0);
	worker = hnv_dp_worker_new(dp);
	CHECK(worker);
	for (int i = 0; i < 2; i++) {
		pkts[i] = malloc(sizeof(struct hnv_pkt));
		CHECK(pkts[i]);
	}
	return 0;
}

static uint32_t rdomain_of(uint32_t vsid)
{
	return vsid == 6001 ? 6001 : vsid == 5001 || vsid == 5002 ? 5001 : 0;
}

static void check_trace(const struct hnv_trace *t)
{
	CHECK(t->n <= HNV_TRACE_STEPS);
	for (unsigned i = 0; i < t->n; i++) {
		CHECK(t->step[i].stage < HNV_ST__COUNT);
		CHECK(memchr(t->step[i].text, 0, sizeof(t->step[i].text)) != NULL);
	}
}

static void check_encap(const struct hnv_pkt *p, const struct hnv_port *in)
{
	CHECK(p->reason == HNV_R_tx_encap || p->reason == HNV_R_tx_routed_encap);
	const uint8_t *f = p->data;
	CHECK(p->len >= NVGRE_OVERHEAD4 + HNV_ETH_HLEN);
	CHECK(p->len <= HNV_ETH_HLEN + cur_mtu); /* NVGRE is never fragmented */
	uint16_t type = pg_get16(f + 12);
	size_t hl;
	const uint8_t *ip = f + HNV_ETH_HLEN;
	if (type == HNV_ET_IPV4) {
		hl = NVGRE_OVERHEAD4;
		CHECK(pg_ip4_csum_ok(ip) && ip[0] == 0x45 && ip[9] == HNV_IPPROTO_GRE);
		CHECK(pg_get16(ip + 6) == IPV4_DF);
		CHECK(pg_get16(ip + 2) == p->len - HNV_ETH_HLEN);
		struct hnv_ip s = pg_ip("192.168.4.11"), d = pg_ip("192.168.4.22");
		CHECK(memcmp(ip + 12, s.b + 12, 4) == 0 && memcmp(ip + 16, d.b + 12, 4) == 0);
	} else {
		CHECK(type == HNV_ET_IPV6);
		hl = NVGRE_OVERHEAD6;
		CHECK(p->len >= NVGRE_OVERHEAD6 + HNV_ETH_HLEN);
		CHECK(ip[0] >> 4 == 6 && ip[6] == HNV_IPPROTO_GRE);
		CHECK(pg_get16(ip + 4) == p->len - HNV_ETH_HLEN - 40);
		struct hnv_ip s = pg_ip("fd00:4::11"), d = pg_ip("fd00:4::22");
		CHECK(memcmp(ip + 8, s.b, 16) == 0 && memcmp(ip + 24, d.b, 16) == 0);
	}
	struct hnv_nvgre g;
	CHECK(hnv_nvgre_parse(f + hl - NVGRE_HLEN, NVGRE_HLEN, &g) == 0);
	CHECK(g.flags == NVGRE_FLAGS_VALUE);
	CHECK(g.vsid == p->vsid);
	CHECK(rdomain_of(g.vsid) == rdomain_of(in->vsid)); /* Blue never reaches Red */
	const uint8_t *inner = f + hl;
	uint16_t itype = pg_get16(inner + 12);
	CHECK(itype != HNV_ET_VLAN && itype != HNV_ET_QINQ);
	CHECK((inner[0] & 1) == 0);
	CHECK(memcmp(inner + 6, in->mac.b, 6) == 0 || memcmp(inner + 6, gw_mac.b, 6) == 0);
	if (p->reason == HNV_R_tx_encap)
		CHECK(g.vsid == in->vsid && memcmp(inner + 6, in->mac.b, 6) == 0);
}

/* A reply generated by the engine back to the VM. */
static void check_reply(const struct hnv_pkt *p)
{
	const uint8_t *f = p->data, *ip = f + HNV_ETH_HLEN;
	switch (p->reason) {
	case HNV_R_arp_reply:
		CHECK(p->len >= 42 && p->len <= 60);
		CHECK(pg_get16(f + 12) == HNV_ET_ARP && pg_get16(ip + 6) == 2);
		break;
	case HNV_R_nd_advert:
	case HNV_R_icmp6_too_big: {
		CHECK(pg_get16(f + 12) == HNV_ET_IPV6);
		size_t plen = pg_get16(ip + 4);
		CHECK(p->len == HNV_ETH_HLEN + 40 + plen && 40 + plen <= 1280);
		struct hnv_ip s, d;
		memcpy(s.b, ip + 8, 16);
		memcpy(d.b, ip + 24, 16);
		CHECK(pg_csum6(&s, &d, 58, ip + 40, plen) == 0);
		CHECK(ip[40] == (p->reason == HNV_R_nd_advert ? ND_NEIGHBOR_ADVERT : ICMP6_PKT_TOO_BIG));
		if (p->reason == HNV_R_nd_advert)
			CHECK(ip[7] == 255);
		break;
	}
	case HNV_R_icmp_frag_needed:
		CHECK(pg_get16(f + 12) == HNV_ET_IPV4);
		CHECK(pg_ip4_csum_ok(ip) && ip[9] == 1);
		CHECK(p->len == HNV_ETH_HLEN + pg_get16(ip + 2) && pg_get16(ip + 2) <= 576);
		CHECK(ip[20] == 3 && ip[21] == 4);
		CHECK(pg_fold(pg_sum(0, ip + 20, pg_get16(ip + 2) - 20u)) == 0);
		break;
	case HNV_R_echo_reply:
		if (pg_get16(f + 12) == HNV_ET_IPV4) {
			size_t ihl = (size_t)(ip[0] & 15) * 4;
			CHECK(pg_ip4_csum_ok(ip));
			CHECK(ip[ihl] == 0);
			CHECK(pg_fold(pg_sum(0, ip + ihl, pg_get16(ip + 2) - ihl)) == 0);
		} else {
			CHECK(pg_get16(f + 12) == HNV_ET_IPV6);
			struct hnv_ip s, d;
			memcpy(s.b, ip + 8, 16);
			memcpy(d.b, ip + 24, 16);
			CHECK(ip[40] == ICMP6_ECHO_REPLY);
			CHECK(pg_csum6(&s, &d, 58, ip + 40, pg_get16(ip + 4)) == 0);
		}
		break;
	case HNV_R_tx_local: /* a frame to the sender's own address */
	case HNV_R_tx_routed_local:
		break;
	default:
		CHECK(!"a reply with an unexpected reason");
	}
}

static void check_pkt(const struct hnv_pkt *p)
{
	CHECK(p->reason < HNV_R__COUNT);
	if (hnv_reason_is_drop(p->reason))
		return;
	CHECK(p->data >= p->buf && p->len >= HNV_ETH_HLEN);
	CHECK(p->data + p->len <= p->buf + sizeof(p->buf));
	const struct hnv_port *in = hnv_policy_port(pol, p->in_port);
	CHECK(in != NULL);
	if (p->out_port == HNV_PORT_UPLINK) {
		check_encap(p, in);
		return;
	}
	const struct hnv_port *out = hnv_policy_port(pol, p->out_port);
	CHECK(out != NULL);
	CHECK(memcmp(p->data, out->mac.b, 6) == 0);
	CHECK(rdomain_of(out->vsid) == rdomain_of(in->vsid));
	if (p->out_port == p->in_port)
		check_reply(p);
	else
		CHECK(p->reason == HNV_R_tx_local || p->reason == HNV_R_tx_routed_local);
	if (p->reason == HNV_R_tx_local)
		CHECK(out->vsid == in->vsid);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	if (len < 1)
		return 0;
	uint8_t ctl = buf[0];
	const uint8_t *frame = buf + 1;
	size_t flen = len - 1;
	if (flen > HNV_PKT_BUFSIZE - HNV_PKT_HEADROOM)
		return 0;
	unsigned mtu = ctl & 4 ? 9000 : 1500;
	if (mtu != cur_mtu) {
		hnv_dp_set_uplink(dp, NULL, mtu);
		cur_mtu = mtu;
	}
	uint16_t port = (uint16_t)ports[ctl & 3];
	for (int i = 0; i < 2; i++) {
		CHECK(hnv_pkt_load(pkts[i], frame, flen, port) == 0);
		pkts[i]->trace = i == 0 ? &trace : NULL;
	}
	hnv_dp_process(worker, pkts, 2);
	processed += 2;
	hnv_dp_worker_quiescent(worker);
	check_trace(&trace);
	for (int i = 0; i < 2; i++)
		check_pkt(pkts[i]);
	const struct hnv_pkt *a = pkts[0], *b = pkts[1];
	CHECK(a->reason == b->reason && a->vsid == b->vsid);
	if (!hnv_reason_is_drop(a->reason)) {
		CHECK(a->out_port == b->out_port && a->len == b->len);
		/* equal but for the outer IPv4 ID and checksum, which count packets */
		size_t skip_from = 0, skip_to = 0;
		if (a->out_port == HNV_PORT_UPLINK && pg_get16(a->data + 12) == HNV_ET_IPV4)
			skip_from = 18, skip_to = 26;
		CHECK(memcmp(a->data, b->data, skip_from) == 0);
		CHECK(memcmp(a->data + skip_to, b->data + skip_to, a->len - skip_to) == 0);
	}
	uint64_t cnt[HNV_R__COUNT], total = 0;
	hnv_dp_counters(dp, cnt);
	for (unsigned i = 0; i < HNV_R__COUNT; i++)
		total += cnt[i];
	CHECK(total == processed);
	return 0;
}
