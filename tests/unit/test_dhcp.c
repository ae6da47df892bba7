/* test_dhcp.c: DHCP answered by the datapath (datapath/dhcp.c), through the
 * real forwarding engine: a VM port in a VSID with a pool sends DHCP, the
 * reply comes back out of its own port; bad and unanswerable messages are
 * dropped and counted; nothing is ever encapsulated. Frames are built here
 * byte by byte (pktgen.h), independently of dhcp.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <urcu/urcu-qsbr.h>

#include "../../datapath/dhcp.h"
#include "../../datapath/dp.h"
#include "../../datapath/policy_read.h"
#include "../../mgmt/conf_apply.h"
#include "pktgen.h"

static const char CONF[] =
	"pa add 192.168.4.11/24 --dev eth0\n"
	"rdomain add AAA --rdid {AAAAAAAA-0000-0000-0000-000000005001}\n"
	"vsubnet add 5001 --rdomain AAA --prefix 10.10.0.0/16\n"
	"vsubnet add 5002 --rdomain AAA --prefix 172.16.0.0/16\n"
	"pool add aaa --vsid 5001 --range 10.10.1.100-10.10.1.130 --dns 10.10.0.53,10.10.0.54 "
	"--lease 3600\n"
	"port add test01 --vsid 5001 --ca 10.10.1.100 --mac 0a9a0a0a0164\n"
	"port add nopool --vsid 5002 --ca 172.16.1.5 --mac 0a0000000005\n"
	"lookup add --vsid 5001 --ca 10.10.1.120 --pa 192.168.4.22 --mac 0a9a0a0a0178\n"
	"route add --rdomain AAA --vsid 5001 --prefix 10.10.0.0/16 --nexthop 0.0.0.0\n";

#define VM_MAC "0a9a0a0a0164"
#define GW_MAC "02155d000001"
#define BCAST_MAC "ffffffffffff"

struct ctx {
	struct hnv_dp *dp;
	struct hnv_dp_worker *w;
	int port, nopool;
	struct hnv_pkt pkt;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->dp = hnv_dp_new();
	assert_non_null(c->dp);
	struct hnv_conf_cmd *cmds;
	size_t n;
	char err[256];
	if (hnv_conf_parse_text(CONF, strlen(CONF), &cmds, &n, err, sizeof(err)) ||
	    hnv_conf_apply(c->dp, cmds, n, err, sizeof(err)))
		fail_msg("config: %s", err);
	hnv_conf_cmds_free(cmds, n);
	c->w = hnv_dp_worker_new(c->dp);
	assert_non_null(c->w);
	struct hnv_mac um = pg_mac("00155d000011"), nm = pg_mac("00155d000022");
	hnv_dp_set_uplink(c->dp, &um, 1500);
	struct hnv_ip pa = pg_ip("192.168.4.22");
	assert_int_equal(hnv_dp_neigh_set(c->dp, &pa, &nm), 0);
	c->port = hnv_policy_port_id(hnv_dp_policy(c->dp), "test01");
	c->nopool = hnv_policy_port_id(hnv_dp_policy(c->dp), "nopool");
	assert_true(c->port > 0 && c->nopool > 0);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	hnv_dp_worker_free(c->w);
	urcu_qsbr_thread_offline();
	hnv_dp_free(c->dp);
	urcu_qsbr_thread_online();
	free(c);
	return 0;
}

/* ---- a DHCP client message, built here ---- */

struct msg {
	uint8_t op;
	uint8_t type; /* 0: no option 53 */
	const char *chaddr;
	const char *ciaddr;    /* NULL: 0.0.0.0 */
	const char *requested; /* option 50, or NULL */
	const char *server_id; /* option 54, or NULL */
	uint16_t flags;
	const uint8_t *extra; /* raw bytes appended to the options, before End */
	size_t extra_len;
	bool no_end;
};

static struct msg msg_of(uint8_t type)
{
	struct msg m;
	memset(&m, 0, sizeof(m));
	m.op = 1;
	m.type = type;
	m.chaddr = VM_MAC;
	return m;
}

/* The BOOTP/DHCP payload; returns its length. */
static size_t bootp(uint8_t *b, const struct msg *m)
{
	memset(b, 0, 300);
	b[0] = m->op;
	b[1] = 1;
	b[2] = 6;
	pg_put32(b + 4, 0x11223344);
	pg_put16(b + 10, m->flags);
	if (m->ciaddr) {
		struct hnv_ip a = pg_ip(m->ciaddr);
		memcpy(b + 12, a.b + 12, 4);
	}
	struct hnv_mac ch = pg_mac(m->chaddr);
	memcpy(b + 28, ch.b, 6);
	pg_put32(b + 236, 0x63825363);
	size_t o = 240;
	if (m->type) {
		b[o++] = 53;
		b[o++] = 1;
		b[o++] = m->type;
	}
	b[o++] = 0; /* a Pad */
	if (m->requested) {
		struct hnv_ip a = pg_ip(m->requested);
		b[o++] = 50;
		b[o++] = 4;
		memcpy(b + o, a.b + 12, 4);
		o += 4;
	}
	if (m->server_id) {
		struct hnv_ip a = pg_ip(m->server_id);
		b[o++] = 54;
		b[o++] = 4;
		memcpy(b + o, a.b + 12, 4);
		o += 4;
	}
	static const uint8_t prl[] = {55, 4, 1, 3, 6, 26};
	memcpy(b + o, prl, sizeof(prl));
	o += sizeof(prl);
	if (m->extra_len) {
		memcpy(b + o, m->extra, m->extra_len);
		o += m->extra_len;
	}
	if (!m->no_end)
		b[o++] = 255;
	return o < 300 ? 300 : o;
}

/* The whole frame from the VM: broadcast from 0.0.0.0:68 to
 * 255.255.255.255:67, or unicast to the server with ciaddr. */
static size_t frame(uint8_t *f, const struct msg *m, bool unicast)
{
	uint8_t b[600];
	size_t blen = bootp(b, m);
	struct pg_ip_pkt s = pg_ip_defaults(VM_MAC, unicast ? GW_MAC : BCAST_MAC,
					    unicast ? "10.10.1.100" : "0.0.0.0",
					    unicast ? "10.10.0.2" : "255.255.255.255", 17);
	s.sport = 68;
	s.dport = 67;
	s.payload_len = blen;
	s.df = false;
	size_t len = pg_ip_frame(f, &s);
	memcpy(f + 14 + 20 + 8, b, blen);
	pg_put16(f + 14 + 20 + 6, 0); /* no UDP checksum (allowed in IPv4) */
	return len;
}

static struct hnv_pkt *run(struct ctx *c, const uint8_t *f, size_t len, int port)
{
	struct hnv_pkt *p = &c->pkt;
	assert_int_equal(hnv_pkt_load(p, f, len, (uint16_t)port), 0);
	p->trace = NULL;
	hnv_dp_process(c->w, &p, 1);
	assert_true(p->reason < HNV_R__COUNT);
	return p;
}

#define assert_reason(p, r)                                                                        \
	do {                                                                                       \
		if ((p)->reason != (r))                                                            \
			fail_msg("verdict %s, want %s", hnv_reason_name((p)->reason),              \
				 hnv_reason_name(r));                                              \
	} while (0)

/* ---- checking a reply, independently of dhcp.c ---- */

struct reply {
	uint8_t type;
	uint8_t yiaddr[4], dst[4];
	uint8_t mask[4], router[4], server[4];
	uint8_t dns[8];
	size_t n_dns;
	uint32_t lease, t1, t2;
	uint16_t mtu;
	bool has_mask, has_lease, has_mtu;
};

static void ip4_is(const uint8_t *got, const char *want)
{
	struct hnv_ip w = pg_ip(want);
	if (memcmp(got, w.b + 12, 4) != 0)
		fail_msg("address %u.%u.%u.%u, want %s", got[0], got[1], got[2], got[3], want);
}

/* Checks Ethernet/IPv4/UDP headers (lengths, checksums, ports) and reads
 * the options. */
static struct reply parse_reply(const struct hnv_pkt *p, int port)
{
	struct reply r;
	memset(&r, 0, sizeof(r));
	assert_int_equal(p->out_port, port);
	const uint8_t *f = p->data;
	assert_true(p->len >= 14 + 20 + 8 + 300);
	struct hnv_mac vm = pg_mac(VM_MAC), gw = pg_mac(GW_MAC);
	assert_memory_equal(f, vm.b, 6);
	assert_memory_equal(f + 6, gw.b, 6);
	assert_int_equal(pg_get16(f + 12), 0x0800);
	const uint8_t *ip = f + 14;
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(pg_get16(ip + 2), p->len - 14);
	assert_int_equal(ip[9], 17);
	assert_true(pg_ip4_csum_ok(ip));
	ip4_is(ip + 12, "10.10.0.2");
	memcpy(r.dst, ip + 16, 4);
	const uint8_t *u = ip + 20;
	assert_int_equal(pg_get16(u), 67);
	assert_int_equal(pg_get16(u + 2), 68);
	size_t ulen = pg_get16(u + 4);
	assert_int_equal(ulen, p->len - 14 - 20);
	struct hnv_ip src = pg_ip("10.10.0.2"), dst;
	memset(&dst, 0, sizeof(dst));
	dst.b[10] = dst.b[11] = 0xff;
	memcpy(dst.b + 12, r.dst, 4);
	uint8_t copy[1500];
	memcpy(copy, u, ulen);
	uint16_t sent = pg_get16(copy + 6);
	pg_put16(copy + 6, 0);
	uint16_t want = pg_csum4(&src, &dst, 17, copy, ulen);
	assert_int_equal(sent, want == 0 ? 0xffff : want);
	const uint8_t *b = u + 8;
	size_t blen = ulen - 8;
	assert_int_equal(b[0], 2); /* BOOTREPLY */
	assert_int_equal(pg_get32(b + 4), 0x11223344);
	struct hnv_mac ch = pg_mac(VM_MAC);
	assert_memory_equal(b + 28, ch.b, 6);
	assert_int_equal(pg_get32(b + 236), 0x63825363);
	memcpy(r.yiaddr, b + 16, 4);
	bool end = false;
	for (size_t i = 240; i < blen && !end;) {
		uint8_t code = b[i];
		if (code == 0) {
			i++;
			continue;
		}
		if (code == 255) {
			end = true;
			break;
		}
		assert_true(i + 2 <= blen);
		size_t n = b[i + 1];
		assert_true(i + 2 + n <= blen);
		const uint8_t *v = b + i + 2;
		switch (code) {
		case 53:
			assert_int_equal(n, 1);
			r.type = v[0];
			break;
		case 1:
			assert_int_equal(n, 4);
			memcpy(r.mask, v, 4);
			r.has_mask = true;
			break;
		case 3:
			assert_int_equal(n, 4);
			memcpy(r.router, v, 4);
			break;
		case 54:
			assert_int_equal(n, 4);
			memcpy(r.server, v, 4);
			break;
		case 6:
			assert_true(n % 4 == 0 && n <= 8);
			memcpy(r.dns, v, n);
			r.n_dns = n / 4;
			break;
		case 51:
			r.lease = pg_get32(v);
			r.has_lease = true;
			break;
		case 58:
			r.t1 = pg_get32(v);
			break;
		case 59:
			r.t2 = pg_get32(v);
			break;
		case 26:
			r.mtu = pg_get16(v);
			r.has_mtu = true;
			break;
		default:
			fail_msg("unexpected option %u", code);
		}
		i += 2 + n;
	}
	assert_true(end);
	return r;
}

static void check_lease(const struct reply *r)
{
	ip4_is(r->yiaddr, "10.10.1.100");
	assert_true(r->has_mask);
	ip4_is(r->mask, "255.255.0.0");
	ip4_is(r->router, "10.10.0.1");
	ip4_is(r->server, "10.10.0.2");
	assert_int_equal(r->n_dns, 2);
	ip4_is(r->dns, "10.10.0.53");
	ip4_is(r->dns + 4, "10.10.0.54");
	assert_true(r->has_lease);
	assert_int_equal(r->lease, 3600);
	assert_int_equal(r->t1, 1800);
	assert_int_equal(r->t2, 3150);
	assert_true(r->has_mtu);
	assert_int_equal(r->mtu, 1458);
}

/* ---- tests ---- */

static void test_discover_offer(void **state)
{
	struct ctx *c = *state;
	uint8_t f[PG_FRAME_MAX];
	struct msg m = msg_of(HNV_DHCP_DISCOVER);
	struct hnv_pkt *p = run(c, f, frame(f, &m, false), c->port);
	assert_reason(p, HNV_R_dhcp_reply);
	struct reply r = parse_reply(p, c->port);
	assert_int_equal(r.type, HNV_DHCP_OFFER);
	check_lease(&r);
	ip4_is(r.dst, "10.10.1.100"); /* no broadcast flag: to yiaddr */

	m.flags = 0x8000;
	p = run(c, f, frame(f, &m, false), c->port);
	assert_reason(p, HNV_R_dhcp_reply);
	r = parse_reply(p, c->port);
	ip4_is(r.dst, "255.255.255.255");
}

static void test_request_ack(void **state)
{
	struct ctx *c = *state;
	uint8_t f[PG_FRAME_MAX];
	/* SELECTING: option 50 and our server identifier */
	struct msg m = msg_of(HNV_DHCP_REQUEST);
	m.requested = "10.10.1.100";
	m.server_id = "10.10.0.2";
	struct hnv_pkt *p = run(c, f, frame(f, &m, false), c->port);
	assert_reason(p, HNV_R_dhcp_reply);
	struct reply r = parse_reply(p, c->port);
	assert_int_equal(r.type, HNV_DHCP_ACK);
	check_lease(&r);
	/* RENEWING: unicast to the server, ciaddr set */
	m = msg_of(HNV_DHCP_REQUEST);
	m.ciaddr = "10.10.1.100";
	p = run(c, f, frame(f, &m, true), c->port);
	assert_reason(p, HNV_R_dhcp_reply);
	r = parse_reply(p, c->port);
	assert_int_equal(r.type, HNV_DHCP_ACK);
	check_lease(&r);
	ip4_is(r.dst, "10.10.1.100");
	/* INFORM: options, no address, no lease */
	m = msg_of(HNV_DHCP_INFORM);
	m.ciaddr = "10.10.1.100";
	p = run(c, f, frame(f, &m, true), c->port);
	assert_reason(p, HNV_R_dhcp_reply);
	r = parse_reply(p, c->port);
	assert_int_equal(r.type, HNV_DHCP_ACK);
	ip4_is(r.yiaddr, "0.0.0.0");
	assert_false(r.has_lease);
	ip4_is(r.router, "10.10.0.1");
}

static void test_wrong_address_nak(void **state)
{
	struct ctx *c = *state;
	uint8_t f[PG_FRAME_MAX];
	/* INIT-REBOOT with a remembered address that is not the port's */
	struct msg m = msg_of(HNV_DHCP_REQUEST);
	m.requested = "10.10.1.101";
	struct hnv_pkt *p = run(c, f, frame(f, &m, false), c->port);
	assert_reason(p, HNV_R_dhcp_reply);
	struct reply r = parse_reply(p, c->port);
	assert_int_equal(r.type, HNV_DHCP_NAK);
	ip4_is(r.yiaddr, "0.0.0.0");
	ip4_is(r.server, "10.10.0.2");
	ip4_is(r.dst, "255.255.255.255");
	assert_false(r.has_mask);
	assert_false(r.has_lease);
	/* a REQUEST naming neither an address nor ciaddr is NAKed too */
	m.requested = NULL;
	p = run(c, f, frame(f, &m, false), c->port);
	assert_reason(p, HNV_R_dhcp_reply);
	assert_int_equal(parse_reply(p, c->port).type, HNV_DHCP_NAK);
}

static void test_not_answered(void **state)
{
	struct ctx *c = *state;
	uint8_t f[PG_FRAME_MAX];
	/* the client chose another server */
	struct msg m = msg_of(HNV_DHCP_REQUEST);
	m.requested = "10.10.1.100";
	m.server_id = "10.10.0.9";
	assert_reason(run(c, f, frame(f, &m, false), c->port), HNV_R_drop_dhcp_no_reply);
	m = msg_of(HNV_DHCP_RELEASE);
	m.ciaddr = "10.10.1.100";
	assert_reason(run(c, f, frame(f, &m, true), c->port), HNV_R_drop_dhcp_no_reply);
	m = msg_of(HNV_DHCP_DECLINE);
	m.requested = "10.10.1.100";
	assert_reason(run(c, f, frame(f, &m, false), c->port), HNV_R_drop_dhcp_no_reply);
	/* a VM playing DHCP server: contained */
	m = msg_of(HNV_DHCP_OFFER);
	assert_reason(run(c, f, frame(f, &m, false), c->port), HNV_R_drop_dhcp_server);
	struct pg_ip_pkt s =
		pg_ip_defaults(VM_MAC, BCAST_MAC, "10.10.1.100", "255.255.255.255", 17);
	s.sport = 67;
	s.dport = 68;
	assert_reason(run(c, f, pg_ip_frame(f, &s), c->port), HNV_R_drop_dhcp_server);
	/* even unicast to a VM with a record (it would be encapsulated) */
	s = pg_ip_defaults(VM_MAC, "0a9a0a0a0178", "10.10.1.100", "10.10.1.120", 17);
	s.sport = 67;
	s.dport = 68;
	assert_reason(run(c, f, pg_ip_frame(f, &s), c->port), HNV_R_drop_dhcp_server);
	/* a VSID without pool: not served, and not forwarded */
	m = msg_of(HNV_DHCP_DISCOVER);
	m.chaddr = "0a0000000005";
	size_t len = frame(f, &m, false);
	struct hnv_mac src = pg_mac("0a0000000005");
	memcpy(f + 6, src.b, 6);
	assert_reason(run(c, f, len, c->nopool), HNV_R_drop_dhcp_no_pool);
	/* ordinary UDP is not DHCP */
	s = pg_ip_defaults(VM_MAC, "0a9a0a0a0178", "10.10.1.100", "10.10.1.120", 17);
	s.sport = 5353;
	s.dport = 53;
	assert_reason(run(c, f, pg_ip_frame(f, &s), c->port), HNV_R_tx_encap);
}

static void test_malformed(void **state)
{
	struct ctx *c = *state;
	uint8_t f[PG_FRAME_MAX];
	struct msg m = msg_of(HNV_DHCP_DISCOVER);
	size_t good = frame(f, &m, false);
	const size_t b = 14 + 20 + 8; /* BOOTP offset */
	uint8_t g[PG_FRAME_MAX];
	memcpy(g, f, good);
	uint64_t before[HNV_R__COUNT], after[HNV_R__COUNT];
	hnv_dp_counters(c->dp, before);
	unsigned n_bad = 0;

	/* truncated: the IP and UDP lengths say fewer bytes than BOOTP needs */
	for (size_t cut = 1; cut <= 250; cut += 7) {
		memcpy(f, g, good);
		size_t ulen = 8 + 300 - cut;
		pg_put16(f + 14 + 20 + 4, (uint16_t)ulen);
		pg_put16(f + 14 + 2, (uint16_t)(20 + ulen));
		f[14 + 10] = f[14 + 11] = 0;
		pg_put16(f + 14 + 10, pg_fold(pg_sum(0, f + 14, 20)));
		struct hnv_pkt *p = run(c, f, 14 + 20 + ulen, c->port);
		if (ulen - 8 < 240 || cut > 300 - 252) {
			/* no cookie, or options cut before End */
			assert_reason(p, HNV_R_drop_dhcp_bad);
			n_bad++;
		}
	}
	/* the first fragment of a request (never reassembled, never sent on) */
	memcpy(f, g, good);
	f[14 + 6] |= 0x20;
	f[14 + 10] = f[14 + 11] = 0;
	pg_put16(f + 14 + 10, pg_fold(pg_sum(0, f + 14, 20)));
	assert_reason(run(c, f, good, c->port), HNV_R_drop_dhcp_bad);
	n_bad++;
	/* a UDP length beyond the IP packet */
	memcpy(f, g, good);
	pg_put16(f + 14 + 20 + 4, 1200);
	assert_reason(run(c, f, good, c->port), HNV_R_drop_dhcp_bad);
	n_bad++;
	/* wrong magic cookie, op, hlen, chaddr */
	const struct {
		size_t off;
		uint8_t val;
	} flips[] = {{236, 0x62}, {0, 3}, {2, 17}, {2, 5}, {1, 6}, {28, 0x0b}};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		memcpy(f, g, good);
		f[b + flips[i].off] = flips[i].val;
		assert_reason(run(c, f, good, c->port), HNV_R_drop_dhcp_bad);
		n_bad++;
	}
	/* options: no type, bad type, bad lengths, running past the field,
	 * overload in a wrong place, no End */
	static const uint8_t bad_len50[] = {50, 3, 10, 10, 1};
	static const uint8_t bad_len53[] = {53, 2, 1, 1};
	static const uint8_t bad_type[] = {53, 1, 9};
	static const uint8_t past[] = {12, 200, 'h'};
	static const uint8_t ovl_bad[] = {52, 1, 4};
	const struct {
		uint8_t type;
		const uint8_t *extra;
		size_t n;
		bool no_end;
	} opts[] = {
		{0, NULL, 0, false},
		{HNV_DHCP_DISCOVER, bad_len50, 5, false},
		{0, bad_len53, 4, false},
		{0, bad_type, 3, false},
		{HNV_DHCP_DISCOVER, past, 3, true},
		{HNV_DHCP_DISCOVER, ovl_bad, 3, false},
	};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		struct msg x = msg_of(opts[i].type);
		x.extra = opts[i].extra;
		x.extra_len = opts[i].n;
		x.no_end = opts[i].no_end;
		size_t len = frame(f, &x, false);
		if (opts[i].no_end) /* pad to the end of the datagram, no End */
			memset(f + len - 300 + 240 + 3 + 1 + 6 + 3, 0, 300 - 240 - 3 - 1 - 6 - 3);
		struct hnv_pkt *p = run(c, f, len, c->port);
		if (p->reason != HNV_R_drop_dhcp_bad)
			fail_msg("options case %zu: verdict %s", i, hnv_reason_name(p->reason));
		n_bad++;
	}
	/* the whole options field padded, without End */
	struct msg x = msg_of(HNV_DHCP_DISCOVER);
	x.no_end = true;
	assert_reason(run(c, f, frame(f, &x, false), c->port), HNV_R_drop_dhcp_bad);
	n_bad++;
	hnv_dp_counters(c->dp, after);
	assert_int_equal(after[HNV_R_drop_dhcp_bad] - before[HNV_R_drop_dhcp_bad], n_bad);
	/* nothing of it left the host */
	assert_int_equal(after[HNV_R_tx_encap], before[HNV_R_tx_encap]);
}

/* Option Overload: the message type in the file field. */
static void test_overload(void **state)
{
	struct ctx *c = *state;
	uint8_t f[PG_FRAME_MAX];
	static const uint8_t ovl[] = {52, 1, 1};
	struct msg m = msg_of(0);
	m.extra = ovl;
	m.extra_len = sizeof(ovl);
	size_t len = frame(f, &m, false);
	uint8_t *file = f + 14 + 20 + 8 + 108;
	file[0] = 53;
	file[1] = 1;
	file[2] = HNV_DHCP_DISCOVER;
	file[3] = 255;
	struct hnv_pkt *p = run(c, f, len, c->port);
	assert_reason(p, HNV_R_dhcp_reply);
	assert_int_equal(parse_reply(p, c->port).type, HNV_DHCP_OFFER);
	/* an option in the file field running past it */
	len = frame(f, &m, false);
	file[0] = 53;
	file[1] = 1;
	file[2] = HNV_DHCP_DISCOVER;
	file[125] = 12;
	file[126] = 9;
	assert_reason(run(c, f, len, c->port), HNV_R_drop_dhcp_bad);
}

/* The server identifier is answered by ARP, so clients renew by unicast. */
static void test_arp_server_id(void **state)
{
	struct ctx *c = *state;
	uint8_t f[PG_FRAME_MAX];
	struct hnv_mac vm = pg_mac(VM_MAC), bc = pg_mac(BCAST_MAC);
	struct hnv_ip spa = pg_ip("10.10.1.100"), tpa = pg_ip("10.10.0.2");
	struct hnv_mac zero;
	memset(&zero, 0, sizeof(zero));
	size_t len = pg_arp(f, &bc, 1, &vm, &spa, &zero, &tpa);
	struct hnv_pkt *p = run(c, f, len, c->port);
	assert_reason(p, HNV_R_arp_reply);
	struct hnv_mac gw = pg_mac(GW_MAC);
	assert_memory_equal(p->data + 14 + 8, gw.b, 6);
	/* not in a VSID without pool */
	struct hnv_mac vm2 = pg_mac("0a0000000005");
	struct hnv_ip spa2 = pg_ip("172.16.1.5"), tpa2 = pg_ip("172.16.0.2");
	len = pg_arp(f, &bc, 1, &vm2, &spa2, &zero, &tpa2);
	assert_reason(run(c, f, len, c->nopool), HNV_R_drop_arp_unknown);
}

/* The codec alone: build, then parse what was built. */
static void test_codec_round_trip(void **state)
{
	(void)state;
	struct hnv_dhcp_msg m;
	memset(&m, 0, sizeof(m));
	m.op = 1;
	m.htype = 1;
	m.hlen = 6;
	m.xid = 0xdeadbeef;
	m.flags = 0x8000;
	memcpy(m.chaddr, pg_mac(VM_MAC).b, 6);
	m.ciaddr = pg_ip("0.0.0.0");
	m.giaddr = pg_ip("0.0.0.0");
	struct hnv_dhcp_pool pool;
	memset(&pool, 0, sizeof(pool));
	pool.lease = 600;
	struct hnv_dhcp_answer a;
	memset(&a, 0, sizeof(a));
	a.type = HNV_DHCP_OFFER;
	a.yiaddr = pg_ip("10.10.1.100");
	a.server_id = pg_ip("10.10.0.2");
	a.mask = pg_ip("255.255.0.0");
	a.router = pg_ip("10.10.0.1");
	a.pool = &pool;
	a.lease = true;
	uint8_t out[576];
	int n = hnv_dhcp_build(out, sizeof(out), &m, &a);
	assert_int_equal(n, 300);
	assert_int_equal(hnv_dhcp_build(out, 299, &m, &a), -ENOSPC);
	struct hnv_dhcp_msg back;
	assert_int_equal(hnv_dhcp_parse(out, (size_t)n, &back), 0);
	assert_int_equal(back.op, 2);
	assert_int_equal(back.type, HNV_DHCP_OFFER);
	assert_int_equal(back.xid, 0xdeadbeef);
	assert_int_equal(back.flags, 0x8000);
	assert_true(back.has_server_id);
	assert_true(hnv_ip_eq(&back.server_id, &a.server_id));
	/* every truncation of it is refused, never read past */
	for (size_t len = 0; len < 240 + 3; len++) {
		uint8_t *cut = malloc(len ? len : 1);
		assert_non_null(cut);
		memcpy(cut, out, len);
		assert_int_equal(hnv_dhcp_parse(cut, len, &back), -EBADMSG);
		free(cut);
	}
	struct hnv_prefix px = {pg_ip("10.10.0.0"), 16};
	struct hnv_ip sid;
	hnv_dhcp_server_id(&px, &sid);
	struct hnv_ip want = pg_ip("10.10.0.2");
	assert_true(hnv_ip_eq(&sid, &want));
}

static int group_setup(void **state)
{
	(void)state;
	urcu_qsbr_register_thread();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	urcu_qsbr_unregister_thread();
	return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_discover_offer),    T(test_request_ack),
		T(test_wrong_address_nak), T(test_not_answered),
		T(test_malformed),         T(test_overload),
		T(test_arp_server_id),     cmocka_unit_test(test_codec_round_trip),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
