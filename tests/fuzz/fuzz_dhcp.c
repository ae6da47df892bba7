/* fuzz_dhcp.c: libFuzzer harness for DHCP answered by the datapath
 * (datapath/dhcp.c) and its hook in the VM transmit path.
 *
 * A datapath with VSID 5001 (10.10.0.0/16, pool 10.10.1.100-10.10.1.130)
 * and a port test01 (10.10.1.100) is built once. The first input byte is a
 * control byte: bit 0 set feeds the rest as a whole Ethernet frame from the
 * port; clear wraps the rest as the BOOTP payload of a broadcast UDP
 * 68 -> 67 datagram from the port. Each input also goes straight to
 * hnv_dhcp_parse. Afterwards (abort() on a violation):
 *   - a parsed message has a type 1-8; a reply built for it parses back as
 *     a BOOTREPLY of the answered type and the same xid;
 *   - the wrapped datagram always ends in a DHCP verdict (a reply or a
 *     dhcp drop), never in forwarding or encapsulation;
 *   - a reply goes back out of the ingress port, addressed to the port's
 *     MAC from the gateway MAC, from 10.10.0.2:67 to port 68, with a valid
 *     IPv4 header checksum and lengths that agree, inside the buffer;
 *   - no frame of either kind with UDP port 67 or 68 leaves on the uplink.
 * Seeds (tests/fuzz/seeds/fuzz_dhcp/): DISCOVER, REQUEST (selecting,
 * renewing, wrong address), INFORM, RELEASE, Option Overload, as payloads
 * (control byte 0) and one whole frame (control byte 1).
 */
#define _LGPL_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-qsbr.h>

#include "../../datapath/dhcp.h"
#include "../../datapath/dp.h"
#include "../../datapath/policy_read.h"
#include "../../mgmt/conf_apply.h"
#include "../unit/pktgen.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_dhcp: %s:%d: %s\n", __FILE__, __LINE__, #cond);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static const char CONF[] =
	"pa add 192.168.4.11/24 --dev eth0\n"
	"rdomain add AAA --rdid {AAAAAAAA-0000-0000-0000-000000005001}\n"
	"vsubnet add 5001 --rdomain AAA --prefix 10.10.0.0/16\n"
	"pool add aaa --vsid 5001 --range 10.10.1.100-10.10.1.130 --dns 10.10.0.53 --lease 3600\n"
	"port add test01 --vsid 5001 --ca 10.10.1.100 --mac 0a9a0a0a0164\n"
	"lookup add --vsid 5001 --ca 10.10.1.120 --pa 192.168.4.22 --mac 0a9a0a0a0178\n"
	"route add --rdomain AAA --vsid 5001 --prefix 10.10.0.0/16 --nexthop 0.0.0.0\n";

static struct hnv_dp *dp;
static struct hnv_dp_worker *worker;
static struct hnv_pkt *pkt;
static int port;
static struct hnv_mac vm_mac, gw_mac;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	urcu_qsbr_register_thread();
	dp = hnv_dp_new();
	CHECK(dp);
	struct hnv_conf_cmd *cmds;
	size_t n;
	char err[256];
	CHECK(hnv_conf_parse_text(CONF, strlen(CONF), &cmds, &n, err, sizeof(err)) == 0);
	CHECK(hnv_conf_apply(dp, cmds, n, err, sizeof(err)) == 0);
	hnv_conf_cmds_free(cmds, n);
	struct hnv_mac um = pg_mac("00155d000011"), nm = pg_mac("00155d000022");
	hnv_dp_set_uplink(dp, &um, 1500);
	struct hnv_ip pa = pg_ip("192.168.4.22");
	CHECK(hnv_dp_neigh_set(dp, &pa, &nm) == 0);
	port = hnv_policy_port_id(hnv_dp_policy(dp), "test01");
	CHECK(port > 0);
	vm_mac = pg_mac("0a9a0a0a0164");
	gw_mac = *hnv_dp_gateway_mac(dp);
	worker = hnv_dp_worker_new(dp);
	CHECK(worker);
	pkt = malloc(sizeof(*pkt));
	CHECK(pkt);
	return 0;
}

static void check_codec(const uint8_t *b, size_t len)
{
	struct hnv_dhcp_msg m;
	if (hnv_dhcp_parse(b, len, &m) != 0)
		return;
	CHECK(m.type >= HNV_DHCP_DISCOVER && m.type <= HNV_DHCP_INFORM);
	CHECK(m.op == 1 || m.op == 2);
	static const uint8_t types[] = {HNV_DHCP_OFFER, HNV_DHCP_ACK, HNV_DHCP_NAK};
	struct hnv_dhcp_pool pool;
	memset(&pool, 0, sizeof(pool));
	pool.n_dns = 1;
	pool.dns[0] = pg_ip("10.10.0.53");
	pool.lease = 3600;
	struct hnv_dhcp_answer a;
	memset(&a, 0, sizeof(a));
	a.type = types[m.xid % 3];
	a.yiaddr = pg_ip("10.10.1.100");
	a.server_id = pg_ip("10.10.0.2");
	a.mask = pg_ip("255.255.0.0");
	a.router = pg_ip("10.10.0.1");
	a.pool = &pool;
	a.lease = true;
	a.mtu = 1458;
	uint8_t out[576];
	int n = hnv_dhcp_build(out, sizeof(out), &m, &a);
	CHECK(n >= 300 && (size_t)n <= sizeof(out));
	struct hnv_dhcp_msg back;
	CHECK(hnv_dhcp_parse(out, (size_t)n, &back) == 0);
	CHECK(back.op == 2 && back.type == a.type && back.xid == m.xid);
	CHECK(back.has_server_id);
}

static bool is_dhcp_reason(unsigned r)
{
	return r == HNV_R_dhcp_reply || r == HNV_R_drop_dhcp_bad || r == HNV_R_drop_dhcp_no_pool ||
	       r == HNV_R_drop_dhcp_no_reply || r == HNV_R_drop_dhcp_server;
}

/* A UDP datagram from/to port 67 or 68 in an uplink-bound frame. */
static bool carries_dhcp(const struct hnv_pkt *p)
{
	const uint8_t *f = p->data;
	/* outer Ethernet + IPv4 + GRE, then the inner frame */
	size_t off = 14 + 20 + 8;
	if (p->len < off + 14 + 20 + 8 || pg_get16(f + off + 12) != 0x0800)
		return false;
	const uint8_t *ip = f + off + 14;
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	if (ip[9] != 17 || p->len < off + 14 + ihl + 8)
		return false;
	uint16_t s = pg_get16(ip + ihl), d = pg_get16(ip + ihl + 2);
	return s == 67 || s == 68 || d == 67 || d == 68;
}

static void check_verdict(const struct hnv_pkt *p, bool wrapped)
{
	CHECK(p->reason < HNV_R__COUNT);
	if (wrapped)
		CHECK(is_dhcp_reason(p->reason));
	if (hnv_reason_is_drop(p->reason))
		return;
	CHECK(p->data >= p->buf && p->data + p->len <= p->buf + sizeof(p->buf));
	if (p->out_port == HNV_PORT_UPLINK)
		CHECK(!carries_dhcp(p));
	if (p->reason != HNV_R_dhcp_reply)
		return;
	const uint8_t *f = p->data;
	CHECK(p->out_port == port);
	CHECK(p->len >= 14 + 20 + 8 + 300);
	CHECK(memcmp(f, vm_mac.b, 6) == 0 && memcmp(f + 6, gw_mac.b, 6) == 0);
	const uint8_t *ip = f + 14;
	CHECK(pg_ip4_csum_ok(ip));
	CHECK(pg_get16(ip + 2) == p->len - 14);
	CHECK(ip[12] == 10 && ip[13] == 10 && ip[14] == 0 && ip[15] == 2);
	CHECK(pg_get16(ip + 20) == 67 && pg_get16(ip + 22) == 68);
	CHECK(pg_get16(ip + 24) == p->len - 14 - 20);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	if (len < 1 || len > 4000)
		return 0;
	uint8_t ctl = buf[0];
	const uint8_t *d = buf + 1;
	size_t n = len - 1;
	check_codec(d, n);
	static uint8_t f[PG_FRAME_MAX];
	size_t flen;
	bool wrapped = !(ctl & 1);
	if (wrapped) {
		struct pg_ip_pkt s = pg_ip_defaults("0a9a0a0a0164", "ffffffffffff", "0.0.0.0",
						    "255.255.255.255", 17);
		s.sport = 68;
		s.dport = 67;
		s.payload_len = n;
		s.df = false;
		flen = pg_ip_frame(f, &s);
		memcpy(f + 14 + 20 + 8, d, n);
		pg_put16(f + 14 + 20 + 6, 0);
	} else {
		memcpy(f, d, n);
		flen = n;
	}
	CHECK(hnv_pkt_load(pkt, f, flen, (uint16_t)port) == 0);
	pkt->trace = NULL;
	hnv_dp_process(worker, &pkt, 1);
	check_verdict(pkt, wrapped);
	hnv_dp_worker_quiescent(worker);
	return 0;
}
