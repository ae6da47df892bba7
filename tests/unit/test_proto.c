/* test_proto.c: the wire codecs (datapath/proto.c).
 *
 * Frames come from pktgen.h, which computes its own checksums, so a codec
 * bug cannot hide behind the codec. Every parser is given an exactly sized
 * heap copy of its input: a read one byte past len is an ASan error. The
 * last tests flip every bit of, and truncate to every length, a known-good
 * NVGRE frame and known-good ARP and IPv6 NS frames, walking the same parser
 * chain the datapath uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../datapath/nvgre_ext.h"
#include "../../datapath/proto.h"
#include "nvxgen.h"
#include "pktgen.h"

/* An exactly sized copy of len bytes, so ASan sees any overread. */
static uint8_t *dup_exact(const uint8_t *p, size_t len)
{
	uint8_t *d = malloc(len ? len : 1);
	assert_non_null(d);
	if (len)
		memcpy(d, p, len);
	return d;
}

static int eth_parse_exact(const uint8_t *p, size_t len, struct hnv_eth *e)
{
	uint8_t *d = dup_exact(p, len);
	int rc = hnv_eth_parse(d, len, e);
	free(d);
	return rc;
}

static int ipv4_parse_exact(const uint8_t *p, size_t len, struct hnv_ipv4 *h)
{
	uint8_t *d = dup_exact(p, len);
	int rc = hnv_ipv4_parse(d, len, h);
	free(d);
	return rc;
}

static int ipv6_parse_exact(const uint8_t *p, size_t len, struct hnv_ipv6 *h)
{
	uint8_t *d = dup_exact(p, len);
	int rc = hnv_ipv6_parse(d, len, h);
	free(d);
	return rc;
}

static int icmp6_parse_exact(const uint8_t *p, size_t len, struct hnv_icmp6 *c)
{
	uint8_t *d = dup_exact(p, len);
	int rc = hnv_icmp6_parse(d, len, c);
	free(d);
	return rc;
}

static int nvgre_parse_exact(const uint8_t *p, size_t len, struct hnv_nvgre *g)
{
	uint8_t *d = dup_exact(p, len);
	int rc = hnv_nvgre_parse(d, len, g);
	free(d);
	return rc;
}

/* ---- Ethernet ---- */

static size_t eth_with_tags(uint8_t *f, unsigned tags, uint16_t inner_type)
{
	struct hnv_mac d = pg_mac("060600000007"), s = pg_mac("060600000005");
	memcpy(f, d.b, 6);
	memcpy(f + 6, s.b, 6);
	size_t off = 12;
	for (unsigned i = 0; i < tags; i++) {
		pg_put16(f + off, i == 0 && tags > 1 ? HNV_ET_QINQ : HNV_ET_VLAN);
		pg_put16(f + off + 2, (uint16_t)(100 + i));
		off += 4;
	}
	pg_put16(f + off, inner_type);
	off += 2;
	memset(f + off, 0xab, 20);
	return off + 20;
}

static void test_eth_untagged(void **state)
{
	(void)state;
	uint8_t f[64];
	size_t len = eth_with_tags(f, 0, HNV_ET_IPV4);
	struct hnv_eth e;
	assert_int_equal(eth_parse_exact(f, len, &e), 0);
	assert_int_equal(e.type, HNV_ET_IPV4);
	assert_int_equal(e.hlen, 14);
	assert_false(e.tagged);
	assert_memory_equal(e.dst.b, f, 6);
	assert_memory_equal(e.src.b, f + 6, 6);
	assert_int_equal(eth_parse_exact(f, 14, &e), 0);
	assert_int_equal(eth_parse_exact(f, 13, &e), -EMSGSIZE);
	assert_int_equal(eth_parse_exact(f, 0, &e), -EMSGSIZE);
}

static void test_eth_one_tag(void **state)
{
	(void)state;
	uint8_t f[64];
	size_t len = eth_with_tags(f, 1, HNV_ET_IPV6);
	struct hnv_eth e;
	assert_int_equal(eth_parse_exact(f, len, &e), 0);
	assert_true(e.tagged);
	assert_int_equal(e.vlan_tci, 100);
	assert_int_equal(e.type, HNV_ET_IPV6);
	assert_int_equal(e.hlen, 18);
	assert_int_equal(eth_parse_exact(f, 18, &e), 0);
	for (size_t l = 14; l < 18; l++)
		assert_int_equal(eth_parse_exact(f, l, &e), -EMSGSIZE);
}

static void test_eth_two_tags(void **state)
{
	(void)state;
	uint8_t f[64];
	size_t len = eth_with_tags(f, 2, HNV_ET_ARP);
	struct hnv_eth e;
	assert_int_equal(eth_parse_exact(f, len, &e), 0);
	assert_true(e.tagged);
	assert_int_equal(e.vlan_tci, 100); /* the outermost tag */
	assert_int_equal(e.type, HNV_ET_ARP);
	assert_int_equal(e.hlen, 22);
	for (size_t l = 18; l < 22; l++)
		assert_int_equal(eth_parse_exact(f, l, &e), -EMSGSIZE);
}

static void test_eth_three_tags_rejected(void **state)
{
	(void)state;
	uint8_t f[64];
	size_t len = eth_with_tags(f, 3, HNV_ET_IPV4);
	struct hnv_eth e;
	assert_int_equal(eth_parse_exact(f, len, &e), -EINVAL);
	/* a third 802.1Q after two 802.1Q */
	pg_put16(f + 12, HNV_ET_VLAN);
	assert_int_equal(eth_parse_exact(f, len, &e), -EINVAL);
}

/* ---- ARP ---- */

static void test_arp(void **state)
{
	(void)state;
	uint8_t f[64];
	size_t len = pg_arp_request(f, "060600000005", "10.0.0.5", "10.0.0.7");
	assert_int_equal(len, 42);
	struct hnv_arp a;
	uint8_t *d = dup_exact(f + 14, 28);
	assert_int_equal(hnv_arp_parse(d, 28, &a), 0);
	free(d);
	assert_int_equal(a.op, 1);
	struct hnv_mac m = pg_mac("060600000005");
	struct hnv_ip spa = pg_ip("10.0.0.5"), tpa = pg_ip("10.0.0.7");
	assert_true(hnv_mac_eq(&a.sha, &m));
	assert_true(hnv_ip_eq(&a.spa, &spa));
	assert_true(hnv_ip_eq(&a.tpa, &tpa));
	assert_true(hnv_ip_is_v4(&a.spa));

	for (size_t l = 0; l < 28; l++) {
		d = dup_exact(f + 14, l);
		assert_int_equal(hnv_arp_parse(d, l, &a), -EMSGSIZE);
		free(d);
	}
	uint8_t bad[28];
	memcpy(bad, f + 14, 28);
	bad[7] = 3; /* op 3 (RARP) */
	assert_int_equal(hnv_arp_parse(bad, 28, &a), -EINVAL);
	memcpy(bad, f + 14, 28);
	bad[1] = 6; /* htype IEEE 802 */
	assert_int_equal(hnv_arp_parse(bad, 28, &a), -EPROTO);
	memcpy(bad, f + 14, 28);
	pg_put16(bad + 2, HNV_ET_IPV6);
	assert_int_equal(hnv_arp_parse(bad, 28, &a), -EPROTO);
	memcpy(bad, f + 14, 28);
	bad[5] = 16;
	assert_int_equal(hnv_arp_parse(bad, 28, &a), -EPROTO);
}

static void test_arp_reply_write(void **state)
{
	(void)state;
	uint8_t b[28];
	struct hnv_mac sha = pg_mac("060600000007"), tha = pg_mac("060600000005");
	struct hnv_ip spa = pg_ip("10.0.0.7"), tpa = pg_ip("10.0.0.5");
	assert_int_equal(hnv_arp_reply_write(b, &sha, &spa, &tha, &tpa), 28);
	uint8_t want[60];
	assert_int_equal(pg_arp(want, &tha, 2, &sha, &spa, &tha, &tpa), 42);
	assert_memory_equal(b, want + 14, 28);
}

/* ---- IPv4 ---- */

static size_t ip4_frame(uint8_t *f, bool df)
{
	struct pg_ip_pkt s = pg_ip_defaults("060600000005", "060600000007", "10.0.0.5",
					    "10.0.0.7", 17);
	s.df = df;
	return pg_ip_frame(f, &s);
}

static void test_ipv4_basic(void **state)
{
	(void)state;
	uint8_t f[256];
	size_t len = ip4_frame(f, true);
	const uint8_t *ip = f + 14;
	size_t iplen = len - 14;
	struct hnv_ipv4 h;
	assert_int_equal(ipv4_parse_exact(ip, iplen, &h), 0);
	assert_int_equal(h.ihl_bytes, 20);
	assert_int_equal(h.total_len, iplen);
	assert_int_equal(h.proto, 17);
	assert_int_equal(h.ttl, 64);
	struct hnv_ip s = pg_ip("10.0.0.5"), d = pg_ip("10.0.0.7");
	assert_true(hnv_ip_eq(&h.src, &s));
	assert_true(hnv_ip_eq(&h.dst, &d));
	assert_true(hnv_ipv4_csum_ok(ip, 20));
	assert_false(hnv_ipv4_is_fragment(&h));
	assert_true(h.frag & IPV4_DF);
	/* trailing Ethernet padding is fine */
	uint8_t padded[256];
	memcpy(padded, ip, iplen);
	memset(padded + iplen, 0, 10);
	assert_int_equal(ipv4_parse_exact(padded, iplen + 10, &h), 0);
	assert_int_equal(h.total_len, iplen);
}

static void test_ipv4_options(void **state)
{
	(void)state;
	uint8_t ip[64] = {0};
	ip[0] = 0x46; /* IHL 6: 4 bytes of options */
	pg_put16(ip + 2, 32);
	ip[8] = 5;
	ip[9] = 6;
	ip[20] = 1; /* NOP options */
	ip[21] = 1;
	ip[22] = 1;
	ip[23] = 0; /* EOL */
	pg_put16(ip + 10, pg_fold(pg_sum(0, ip, 24)));
	struct hnv_ipv4 h;
	assert_int_equal(ipv4_parse_exact(ip, 32, &h), 0);
	assert_int_equal(h.ihl_bytes, 24);
	assert_true(hnv_ipv4_csum_ok(ip, 24));
	assert_false(hnv_ipv4_csum_ok(ip, 20)); /* the options are covered */
	/* IHL 15: 60 bytes of header, more than the 32-byte total length */
	ip[0] = 0x4f;
	assert_int_equal(ipv4_parse_exact(ip, 64, &h), -EINVAL);
	pg_put16(ip + 2, 60);
	assert_int_equal(ipv4_parse_exact(ip, 64, &h), 0);
	assert_int_equal(h.ihl_bytes, 60);
	/* the header itself runs past the buffer */
	assert_int_equal(ipv4_parse_exact(ip, 40, &h), -EMSGSIZE);
}

static void test_ipv4_malformed(void **state)
{
	(void)state;
	uint8_t f[256], ip[256];
	size_t len = ip4_frame(f, true) - 14;
	memcpy(ip, f + 14, len);
	struct hnv_ipv4 h;
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		ip[0] = (uint8_t)(0x40 | ihl);
		assert_int_equal(ipv4_parse_exact(ip, len, &h), -EINVAL);
	}
	ip[0] = 0x65; /* version 6 */
	assert_int_equal(ipv4_parse_exact(ip, len, &h), -EINVAL);
	ip[0] = 0x45;
	pg_put16(ip + 2, (uint16_t)(len + 1)); /* total_len > len */
	assert_int_equal(ipv4_parse_exact(ip, len, &h), -EMSGSIZE);
	pg_put16(ip + 2, 19); /* total_len < header */
	assert_int_equal(ipv4_parse_exact(ip, len, &h), -EINVAL);
	pg_put16(ip + 2, (uint16_t)len);
	for (size_t l = 0; l < 20; l++)
		assert_int_equal(ipv4_parse_exact(ip, l, &h), -EMSGSIZE);
	for (size_t l = 20; l < len; l++)
		assert_int_equal(ipv4_parse_exact(ip, l, &h), -EMSGSIZE);
}

static void test_ipv4_checksum(void **state)
{
	(void)state;
	/* The classic example: 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7 */
	uint8_t ip[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			  0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	hnv_ipv4_set_csum(ip, 20);
	assert_int_equal(pg_get16(ip + 10), 0xb861);
	assert_true(hnv_ipv4_csum_ok(ip, 20));
	for (int byte = 0; byte < 20; byte++) {
		ip[byte] ^= 0x10;
		assert_false(hnv_ipv4_csum_ok(ip, 20));
		ip[byte] ^= 0x10;
	}
	/* the builder writes a header that verifies and says what it was told */
	uint8_t b[20];
	struct hnv_ip s = pg_ip("192.168.4.11"), d = pg_ip("192.168.4.22");
	assert_int_equal(hnv_ipv4_write(b, &s, &d, 47, 0xb9, 100, 64, true, 7), 20);
	assert_true(pg_ip4_csum_ok(b));
	assert_true(hnv_ipv4_csum_ok(b, 20));
	assert_int_equal(pg_get16(b + 2), 120);
	assert_int_equal(pg_get16(b + 6), IPV4_DF);
	assert_int_equal(b[1], 0xb9);
	assert_int_equal(b[8], 64);
	assert_int_equal(b[9], 47);
	assert_memory_equal(b + 12, s.b + 12, 4);
	assert_memory_equal(b + 16, d.b + 12, 4);
}

static void test_ipv4_fragments(void **state)
{
	(void)state;
	uint8_t f[256];
	size_t len = ip4_frame(f, false) - 14;
	uint8_t *ip = f + 14;
	struct hnv_ipv4 h;
	static const struct {
		uint16_t frag;
		bool is_frag;
	} cases[] = {
		{0x0000, false}, {0x4000, false}, {0x2000, true},
		{0x0001, true},  {0x00b9, true},  {0x1fff, true},
		{0x6000, true},  {0x4001, true},  {0x8000, false}, /* reserved bit only */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pg_put16(ip + 6, cases[i].frag);
		assert_int_equal(ipv4_parse_exact(ip, len, &h), 0);
		assert_int_equal(h.frag, cases[i].frag);
		assert_int_equal(hnv_ipv4_is_fragment(&h), cases[i].is_frag);
	}
}

/* ---- IPv6 ---- */

/* Builds an IPv6 packet with the extension headers listed (by next-header
 * value) before an 8-byte UDP header. Each option header is 8 bytes (or
 * 16 for routing, 24 for AH) and filled with a PadN option where it has
 * room. frag_off: the fragment header's offset field (in 8-byte units). */
static size_t ip6_with_ext(uint8_t *ip, const uint8_t *ext, size_t n_ext, uint16_t frag_off,
			   size_t *l4_off)
{
	struct hnv_ip s = pg_ip("fd00:5001::5"), d = pg_ip("fd00:5001::7");
	memset(ip, 0, 40);
	pg_put32(ip, 6u << 28);
	ip[7] = 64;
	memcpy(ip + 8, s.b, 16);
	memcpy(ip + 24, d.b, 16);
	ip[6] = n_ext ? ext[0] : 17;
	size_t off = 40;
	for (size_t i = 0; i < n_ext; i++) {
		uint8_t next = i + 1 < n_ext ? ext[i + 1] : 17;
		uint8_t *h = ip + off;
		size_t len;
		switch (ext[i]) {
		case 43:
			len = 16;
			memset(h, 0, len);
			h[1] = 1;
			h[2] = 0; /* routing type 0, segments left 0 */
			break;
		case 44:
			len = 8;
			memset(h, 0, len);
			pg_put16(h + 2, (uint16_t)(frag_off << 3 | 1)); /* M=1 */
			pg_put32(h + 4, 0xdeadbeef);
			break;
		case 51:
			len = 24;
			memset(h, 0, len);
			h[1] = 4; /* (4 + 2) * 4 = 24 bytes */
			pg_put32(h + 4, 0x100);
			break;
		default: /* 0, 60: PadN over the 6 option bytes */
			len = 8;
			memset(h, 0, len);
			h[2] = 1;
			h[3] = 4;
			break;
		}
		h[0] = next;
		off += len;
	}
	*l4_off = off;
	uint8_t *udp = ip + off;
	pg_put16(udp, 1000);
	pg_put16(udp + 2, 2000);
	pg_put16(udp + 4, 8);
	pg_put16(udp + 6, 0);
	off += 8;
	pg_put16(ip + 4, (uint16_t)(off - 40));
	return off;
}

static void test_ipv6_plain(void **state)
{
	(void)state;
	uint8_t ip[512];
	size_t l4;
	size_t len = ip6_with_ext(ip, NULL, 0, 0, &l4);
	pg_put32(ip, 6u << 28 | 0xb9u << 20 | 0xabcde); /* traffic class, flow label */
	struct hnv_ipv6 h;
	assert_int_equal(ipv6_parse_exact(ip, len, &h), 0);
	assert_int_equal(h.proto, 17);
	assert_int_equal(h.l4_off, 40);
	assert_false(h.fragment);
	assert_int_equal(h.tclass, 0xb9);
	assert_int_equal(h.flow, 0xabcde);
	assert_int_equal(h.payload_len, 8);
	assert_int_equal(h.hop_limit, 64);
	struct hnv_ip d = pg_ip("fd00:5001::7");
	assert_true(hnv_ip_eq(&h.dst, &d));
	for (size_t l = 0; l < len; l++)
		assert_int_equal(ipv6_parse_exact(ip, l, &h), -EMSGSIZE);
	ip[0] = 0x4b;
	assert_int_equal(ipv6_parse_exact(ip, len, &h), -EINVAL);
}

struct ext_case {
	const char *name;
	uint8_t ext[9];
	size_t n;
	uint16_t frag_off;
	bool fragment;
	uint8_t proto;   /* expected upper-layer protocol */
	size_t l4_off;   /* 0: as built (after every header) */
};

static void test_ipv6_ext_walk(void **state)
{
	(void)state;
	static const struct ext_case cases[] = {
		{"hop-by-hop", {0}, 1, 0, false, 17, 0},
		{"routing", {43}, 1, 0, false, 17, 0},
		{"dest opts", {60}, 1, 0, false, 17, 0},
		{"AH", {51}, 1, 0, false, 17, 0},
		{"first fragment", {44}, 1, 0, true, 17, 0},
		{"non-first fragment", {44}, 1, 185, true, 17, 48},
		{"all of them", {0, 43, 60, 51, 44}, 5, 0, true, 17, 0},
		{"hbh + non-first fragment", {0, 44}, 2, 3, true, 17, 56},
		{"eight headers", {0, 60, 60, 60, 60, 60, 60, 60}, 8, 0, false, 17, 0},
		/* a first fragment followed by more extension headers: the
		 * upper layer is found after all of them */
		{"fragment, dest opts, routing", {44, 60, 43}, 3, 0, true, 17, 0},
		{"fragment, AH, dest opts", {44, 51, 60}, 3, 0, true, 17, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ext_case *c = &cases[i];
		uint8_t ip[512];
		size_t l4;
		size_t len = ip6_with_ext(ip, c->ext, c->n, c->frag_off, &l4);
		struct hnv_ipv6 h;
		memset(&h, 0xee, sizeof(h));
		int rc = ipv6_parse_exact(ip, len, &h);
		if (rc != 0 || h.proto != c->proto || h.fragment != c->fragment ||
		    h.l4_off != (c->l4_off ? c->l4_off : l4))
			fail_msg("%s: rc %d proto %u fragment %d l4_off %u, want proto %u "
				 "fragment %d l4_off %zu",
				 c->name, rc, h.proto, h.fragment, h.l4_off, c->proto, c->fragment,
				 c->l4_off ? c->l4_off : l4);
		/* every truncation of the declared payload is an error */
		for (size_t pl = 0; pl + 40 < len; pl++) {
			pg_put16(ip + 4, (uint16_t)pl);
			rc = ipv6_parse_exact(ip, len, &h);
			if (pl + 40 < l4 && rc != -EMSGSIZE)
				fail_msg("%s: payload_len %zu cuts a header: rc %d", c->name, pl, rc);
		}
		pg_put16(ip + 4, (uint16_t)(len - 40));
		for (size_t l = 0; l < len; l++)
			if (ipv6_parse_exact(ip, l, &h) != -EMSGSIZE)
				fail_msg("%s: %zu of %zu bytes accepted", c->name, l, len);
	}
}

static void test_ipv6_too_many_ext(void **state)
{
	(void)state;
	uint8_t ext[9] = {0, 60, 60, 60, 60, 60, 60, 60, 60};
	uint8_t ip[512];
	size_t l4;
	size_t len = ip6_with_ext(ip, ext, 9, 0, &l4);
	struct hnv_ipv6 h;
	assert_int_equal(ipv6_parse_exact(ip, len, &h), -EINVAL);
	/* many tiny headers cannot make the walk run long either */
	uint8_t big[40 + 8 * 200 + 8];
	size_t blen = 40 + 8 * 200 + 8;
	memset(big, 0, sizeof(big));
	big[0] = 0x60;
	pg_put16(big + 4, (uint16_t)(blen - 40));
	big[6] = 60;
	for (size_t i = 0; i < 200; i++)
		big[40 + 8 * i] = 60;
	assert_int_equal(ipv6_parse_exact(big, blen, &h), -EINVAL);
}

static void test_ipv6_ext_truncated(void **state)
{
	(void)state;
	static const uint8_t kinds[] = {0, 43, 44, 51, 60};
	for (size_t k = 0; k < sizeof(kinds); k++) {
		uint8_t ip[512];
		size_t l4;
		size_t len = ip6_with_ext(ip, &kinds[k], 1, 0, &l4);
		struct hnv_ipv6 h;
		/* the header's own length runs past the payload */
		for (size_t pl = 0; pl < l4 - 40; pl++) {
			pg_put16(ip + 4, (uint16_t)pl);
			if (ipv6_parse_exact(ip, 40 + pl, &h) != -EMSGSIZE)
				fail_msg("next header %u cut to %zu bytes accepted", kinds[k], pl);
		}
		pg_put16(ip + 4, (uint16_t)(len - 40));
		/* a declared length larger than what follows */
		if (kinds[k] != 44) {
			ip[41] = 200;
			assert_int_equal(ipv6_parse_exact(ip, len, &h), -EMSGSIZE);
		}
	}
}

/* ---- ICMP / ICMPv6 ---- */

static void test_icmp(void **state)
{
	(void)state;
	uint8_t m[8] = {3, 4, 0, 0, 0, 0, 0x05, 0xb2};
	struct hnv_icmp c;
	uint8_t *d = dup_exact(m, 8);
	assert_int_equal(hnv_icmp_parse(d, 8, &c), 0);
	free(d);
	assert_int_equal(c.type, 3);
	assert_int_equal(c.code, 4);
	for (size_t l = 0; l < 8; l++) {
		d = dup_exact(m, l);
		assert_int_equal(hnv_icmp_parse(d, l, &c), -EMSGSIZE);
		free(d);
	}
}

/* An NS or NA body with the given options appended (each as raw bytes). */
static size_t nd_msg(uint8_t *m, uint8_t type, const char *target, const uint8_t *opts,
		     size_t opts_len)
{
	memset(m, 0, 24);
	m[0] = type;
	if (type == ND_NEIGHBOR_ADVERT)
		m[4] = 0x60;
	struct hnv_ip t = pg_ip(target);
	memcpy(m + 8, t.b, 16);
	if (opts_len)
		memcpy(m + 24, opts, opts_len);
	return 24 + opts_len;
}

static void test_icmp6_ns_na(void **state)
{
	(void)state;
	static const uint8_t slla[8] = {1, 1, 6, 6, 0, 0, 0, 5};
	static const uint8_t tlla[8] = {2, 1, 6, 6, 0, 0, 0, 7};
	static const uint8_t nonce[8] = {14, 1, 1, 2, 3, 4, 5, 6};
	uint8_t m[128], opts[64];
	struct hnv_icmp6 c;
	struct hnv_ip t = pg_ip("fd00:5001::7");

	size_t len = nd_msg(m, ND_NEIGHBOR_SOLICIT, "fd00:5001::7", slla, 8);
	assert_int_equal(icmp6_parse_exact(m, len, &c), 0);
	assert_int_equal(c.type, ND_NEIGHBOR_SOLICIT);
	assert_true(hnv_ip_eq(&c.target, &t));
	assert_true(c.has_lladdr);
	assert_memory_equal(c.lladdr.b, slla + 2, 6);

	/* no option at all */
	len = nd_msg(m, ND_NEIGHBOR_SOLICIT, "fd00:5001::7", NULL, 0);
	assert_int_equal(icmp6_parse_exact(m, len, &c), 0);
	assert_false(c.has_lladdr);

	/* NA carries the target link-layer option; a source one is not it */
	len = nd_msg(m, ND_NEIGHBOR_ADVERT, "fd00:5001::7", tlla, 8);
	assert_int_equal(icmp6_parse_exact(m, len, &c), 0);
	assert_int_equal(c.type, ND_NEIGHBOR_ADVERT);
	assert_true(c.has_lladdr);
	assert_memory_equal(c.lladdr.b, tlla + 2, 6);
	len = nd_msg(m, ND_NEIGHBOR_SOLICIT, "fd00:5001::7", tlla, 8);
	assert_int_equal(icmp6_parse_exact(m, len, &c), 0);
	assert_false(c.has_lladdr);

	/* the link-layer option after another option is still found */
	memcpy(opts, nonce, 8);
	memcpy(opts + 8, slla, 8);
	len = nd_msg(m, ND_NEIGHBOR_SOLICIT, "fd00:5001::7", opts, 16);
	assert_int_equal(icmp6_parse_exact(m, len, &c), 0);
	assert_true(c.has_lladdr);
	assert_memory_equal(c.lladdr.b, slla + 2, 6);

	/* a zero-length option is invalid (RFC 4861 4.6), also after a good one */
	static const uint8_t zero_len[8] = {1, 0, 6, 6, 0, 0, 0, 5};
	memcpy(opts, slla, 8);
	memcpy(opts + 8, zero_len, 8);
	len = nd_msg(m, ND_NEIGHBOR_SOLICIT, "fd00:5001::7", opts + 8, 8);
	assert_int_equal(icmp6_parse_exact(m, len, &c), -EINVAL);
	len = nd_msg(m, ND_NEIGHBOR_SOLICIT, "fd00:5001::7", opts, 16);
	assert_int_equal(icmp6_parse_exact(m, len, &c), -EINVAL);

	/* an option longer than the message, an option header cut in half */
	len = nd_msg(m, ND_NEIGHBOR_SOLICIT, "fd00:5001::7", slla, 8);
	for (size_t l = 25; l < len; l++)
		assert_int_equal(icmp6_parse_exact(m, l, &c), -EMSGSIZE);
	m[25] = 2; /* declares 16 bytes, 8 present */
	assert_int_equal(icmp6_parse_exact(m, len, &c), -EMSGSIZE);
	m[25] = 1;

	/* short messages, bad code */
	for (size_t l = 0; l < 24; l++)
		assert_int_equal(icmp6_parse_exact(m, l, &c), -EMSGSIZE);
	m[1] = 1;
	assert_int_equal(icmp6_parse_exact(m, len, &c), -EINVAL);
	m[1] = 0;

	/* other ICMPv6 types need only their 4-byte header */
	uint8_t echo[8] = {ICMP6_ECHO_REQUEST, 0, 0, 0, 0, 1, 0, 1};
	assert_int_equal(icmp6_parse_exact(echo, 8, &c), 0);
	assert_int_equal(c.type, ICMP6_ECHO_REQUEST);
	assert_false(c.has_lladdr);
	assert_int_equal(icmp6_parse_exact(echo, 4, &c), 0);
	for (size_t l = 0; l < 4; l++)
		assert_int_equal(icmp6_parse_exact(echo, l, &c), -EMSGSIZE);
}

static void test_ipv6_helpers(void **state)
{
	(void)state;
	struct hnv_ip a = pg_ip("fd00:5001::12:3456"), sn, want = pg_ip("ff02::1:ff12:3456");
	hnv_ipv6_solicited_node(&a, &sn);
	assert_true(hnv_ip_eq(&sn, &want));
	assert_true(hnv_ipv6_is_multicast(&sn));
	assert_false(hnv_ipv6_is_multicast(&a));

	uint8_t b[40];
	struct hnv_ip s = pg_ip("fd00:4::11"), d = pg_ip("fd00:4::22");
	assert_int_equal(hnv_ipv6_write(b, &s, &d, 47, 0xb9, 0x5a, 1000, 64), 40);
	assert_int_equal(b[0] >> 4, 6);
	assert_int_equal((b[0] & 0x0f) << 4 | b[1] >> 4, 0xb9);
	assert_int_equal((pg_get32(b) & 0xfffff), 0x5a);
	assert_int_equal(pg_get16(b + 4), 1000);
	assert_int_equal(b[6], 47);
	assert_int_equal(b[7], 64);
	struct hnv_ipv6 h;
	uint8_t pkt[1040] = {0};
	memcpy(pkt, b, 40);
	pkt[6] = 17;
	assert_int_equal(hnv_ipv6_parse(pkt, sizeof(pkt), &h), 0);
	assert_int_equal(h.tclass, 0xb9);
	assert_int_equal(h.flow, 0x5a);
}

/* ---- NVGRE ---- */

static void test_nvgre_flags(void **state)
{
	(void)state;
	static const struct {
		uint16_t flags;
		int rc;
	} cases[] = {
		{0x2000, 0},       {0x23f8, 0},       /* reserved bits 6-12 ignored */
		{0x2008, 0},       {0x2200, 0},       {0x0000, -EINVAL}, /* no K */
		{0xa000, -EINVAL}, /* C */ {0x3000, -EINVAL}, /* S */
		{0x2001, -EINVAL}, /* version 1 */ {0x2007, -EINVAL},
		{0x6000, -EINVAL}, /* bit 1 (routing present) */
		{0x2800, -EINVAL}, /* bit 4 */ {0x2400, -EINVAL}, /* bit 5 */
		{0xffff, -EINVAL}, {0x1000, -EINVAL},
	};
	uint8_t g[8] = {0, 0, 0x65, 0x58, 0x12, 0x34, 0x56, 0x02};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pg_put16(g, cases[i].flags);
		struct hnv_nvgre n;
		int rc = nvgre_parse_exact(g, 8, &n);
		if (rc != cases[i].rc)
			fail_msg("flags 0x%04x: rc %d, want %d", cases[i].flags, rc, cases[i].rc);
		if (rc == 0 && (n.vsid != 0x123456 || n.flow_id != 2 || n.flags != cases[i].flags))
			fail_msg("flags 0x%04x: vsid 0x%x flow %u", cases[i].flags, n.vsid,
				 n.flow_id);
	}
}

static void test_nvgre_proto_key(void **state)
{
	(void)state;
	uint8_t g[8] = {0x20, 0x00, 0x65, 0x58, 0x12, 0x34, 0x56, 0x02};
	struct hnv_nvgre n;
	assert_int_equal(nvgre_parse_exact(g, 8, &n), 0);
	assert_int_equal(n.vsid, 0x123456);
	assert_int_equal(n.vsid, 1193046);
	assert_int_equal(n.flow_id, 2);
	for (size_t l = 0; l < 8; l++)
		assert_int_equal(nvgre_parse_exact(g, l, &n), -EMSGSIZE);
	pg_put16(g + 2, 0x0800);
	assert_int_equal(nvgre_parse_exact(g, 8, &n), -EPROTO);
	pg_put16(g + 2, 0x6559);
	assert_int_equal(nvgre_parse_exact(g, 8, &n), -EPROTO);
	pg_put16(g, 0x3000); /* bad flags win over a bad protocol */
	assert_int_equal(nvgre_parse_exact(g, 8, &n), -EINVAL);

	uint8_t w[8];
	hnv_nvgre_write(w, 0x123456, 2);
	static const uint8_t want[8] = {0x20, 0x00, 0x65, 0x58, 0x12, 0x34, 0x56, 0x02};
	assert_memory_equal(w, want, 8);
	hnv_nvgre_write(w, 16777214, 0xff);
	assert_int_equal(nvgre_parse_exact(w, 8, &n), 0);
	assert_int_equal(n.vsid, 16777214);
	assert_int_equal(n.flow_id, 0xff);
}

/* ---- checksum helpers ---- */

static void test_csum_rfc1071(void **state)
{
	(void)state;
	/* RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 */
	static const uint8_t d[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	assert_int_equal(hnv_csum_fold(hnv_csum_add(0, d, 8)), (uint16_t)~0xddf2);
	/* byte-wise split at an even boundary gives the same sum */
	assert_int_equal(hnv_csum_fold(hnv_csum_add(hnv_csum_add(0, d, 4), d + 4, 4)),
			 (uint16_t)~0xddf2);
	/* an odd trailing byte is padded with zero */
	static const uint8_t o[3] = {0x12, 0x34, 0x56};
	assert_int_equal(hnv_csum_fold(hnv_csum_add(0, o, 3)), (uint16_t)~(0x1234 + 0x5600));
	/* carries wrap around */
	static const uint8_t ff[6] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x02};
	assert_int_equal(hnv_csum_fold(hnv_csum_add(0, ff, 6)), (uint16_t)~0x0002);
	/* a long buffer against the independent implementation */
	static uint8_t big[9000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 131 + 7);
	for (size_t l = 0; l < sizeof(big); l += 997)
		assert_int_equal(hnv_csum_fold(hnv_csum_add(0, big, l)), pg_fold(pg_sum(0, big, l)));
}

static void test_csum6(void **state)
{
	(void)state;
	uint8_t f[128];
	size_t len = pg_ns(f, "060600000005", "fd00:5001::5", "fd00:5001::7", NULL, NULL, 255,
			   true);
	const uint8_t *ip = f + 14, *icmp = ip + 40;
	size_t ilen = len - 54;
	struct hnv_ip s, d;
	memcpy(s.b, ip + 8, 16);
	memcpy(d.b, ip + 24, 16);
	/* over a message with its checksum: 0 */
	assert_int_equal(hnv_csum6(&s, &d, 58, icmp, ilen), 0);
	uint8_t copy[64];
	memcpy(copy, icmp, ilen);
	uint16_t want = pg_get16(copy + 2);
	copy[2] = copy[3] = 0;
	assert_int_equal(hnv_csum6(&s, &d, 58, copy, ilen), want);
	/* the pseudo-header covers addresses and next header */
	assert_int_not_equal(hnv_csum6(&d, &s, 17, icmp, ilen), 0);
	d.b[15] ^= 1;
	assert_int_not_equal(hnv_csum6(&s, &d, 58, icmp, ilen), 0);
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

static void test_csum_update16(void **state)
{
	(void)state;
	for (int i = 0; i < 20000; i++) {
		uint8_t ip[20];
		for (int k = 0; k < 20; k++)
			ip[k] = (uint8_t)rnd();
		ip[0] = 0x45;
		hnv_ipv4_set_csum(ip, 20);
		int word = 2 + (int)(rnd() % 9) * 2; /* any word but version/IHL */
		if (word == 10)
			word = 8; /* not the checksum itself */
		uint16_t old = pg_get16(ip + word), nw = (uint16_t)rnd();
		if (i % 7 == 0)
			nw = (uint16_t)(old - 0x100); /* a TTL decrement */
		pg_put16(ip + word, nw);
		uint16_t inc = hnv_csum_update16(pg_get16(ip + 10), old, nw);
		uint8_t full[20];
		memcpy(full, ip, 20);
		hnv_ipv4_set_csum(full, 20);
		if (inc != pg_get16(full + 10))
			fail_msg("word %d %04x -> %04x: incremental %04x, full %04x", word, old, nw,
				 inc, pg_get16(full + 10));
		pg_put16(ip + 10, inc);
		assert_true(pg_ip4_csum_ok(ip));
	}
}

/* ---- bit flips and truncations ---- */

/* The parser chain the datapath walks, on an exactly sized copy. Returns 0
 * when every header parsed, else the first error; checks that every length
 * a parser reports lies inside what it was given. */
static int parse_chain(const uint8_t *frame, size_t len, int depth)
{
	uint8_t *f = dup_exact(frame, len);
	struct hnv_eth e;
	int rc = hnv_eth_parse(f, len, &e);
	if (rc)
		goto out;
	assert_true(e.hlen <= len);
	const uint8_t *l3 = f + e.hlen;
	size_t l3len = len - e.hlen;
	if (e.type == HNV_ET_ARP) {
		struct hnv_arp a;
		rc = hnv_arp_parse(l3, l3len, &a);
	} else if (e.type == HNV_ET_IPV4) {
		struct hnv_ipv4 h;
		rc = hnv_ipv4_parse(l3, l3len, &h);
		if (rc)
			goto out;
		assert_true(h.ihl_bytes >= 20 && h.ihl_bytes <= h.total_len && h.total_len <= l3len);
		(void)hnv_ipv4_csum_ok(l3, h.ihl_bytes);
		const uint8_t *l4 = l3 + h.ihl_bytes;
		size_t l4len = h.total_len - h.ihl_bytes;
		if (h.proto == 47 && depth == 0) {
			struct hnv_nvgre g;
			rc = hnv_nvgre_parse(l4, l4len, &g);
			if (!rc)
				rc = parse_chain(l4 + 8, l4len - 8, 1);
		} else if (h.proto == 1) {
			struct hnv_icmp c;
			rc = hnv_icmp_parse(l4, l4len, &c);
		}
	} else if (e.type == HNV_ET_IPV6) {
		struct hnv_ipv6 h;
		rc = hnv_ipv6_parse(l3, l3len, &h);
		if (rc)
			goto out;
		assert_true(h.l4_off >= 40 && h.l4_off <= 40u + h.payload_len &&
			    40u + h.payload_len <= l3len);
		const uint8_t *l4 = l3 + h.l4_off;
		size_t l4len = 40u + h.payload_len - h.l4_off;
		if (h.proto == 58 && !h.fragment) {
			struct hnv_icmp6 c;
			rc = hnv_icmp6_parse(l4, l4len, &c);
		} else if (h.proto == 47 && depth == 0 && !h.fragment) {
			struct hnv_nvgre g;
			rc = hnv_nvgre_parse(l4, l4len, &g);
			if (!rc)
				rc = parse_chain(l4 + 8, l4len - 8, 1);
		}
	}
out:
	free(f);
	return rc;
}

static void flip_and_truncate(const uint8_t *frame, size_t len)
{
	assert_int_equal(parse_chain(frame, len, 0), 0);
	for (size_t l = 0; l < len; l++)
		if (parse_chain(frame, l, 0) == 0)
			fail_msg("truncated to %zu of %zu bytes: accepted", l, len);
	uint8_t *m = dup_exact(frame, len);
	for (size_t bit = 0; bit < len * 8; bit++) {
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		(void)parse_chain(m, len, 0);
		for (size_t l = len > 8 ? len - 8 : 0; l < len; l++)
			(void)parse_chain(m, l, 0);
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	free(m);
}

static size_t nvgre_frame(uint8_t *f, bool outer6)
{
	uint8_t inner[256];
	struct pg_ip_pkt s = pg_ip_defaults("060600000007", "060600000005", "10.0.0.7",
					    "10.0.0.5", 1);
	size_t ilen = pg_ip_frame(inner, &s);
	struct pg_gre g = outer6 ? pg_gre_defaults("fd00:4::22", "fd00:4::11", 5001)
				 : pg_gre_defaults("192.168.4.22", "192.168.4.11", 5001);
	return pg_nvgre(f, &g, inner, ilen);
}

static void test_flip_nvgre(void **state)
{
	(void)state;
	uint8_t f[512];
	size_t len = nvgre_frame(f, false);
	flip_and_truncate(f, len);
	len = nvgre_frame(f, true);
	flip_and_truncate(f, len);
}

static void test_flip_arp(void **state)
{
	(void)state;
	uint8_t f[64];
	size_t len = pg_arp_request(f, "060600000005", "10.0.0.5", "10.0.0.7");
	flip_and_truncate(f, len);
}

static void test_flip_ns(void **state)
{
	(void)state;
	uint8_t f[128];
	size_t len = pg_ns(f, "060600000005", "fd00:5001::5", "fd00:5001::7", NULL, NULL, 255,
			   true);
	flip_and_truncate(f, len);
	/* and wrapped in NVGRE with an IPv6 outer header */
	uint8_t n[256];
	struct pg_gre g = pg_gre_defaults("fd00:4::22", "fd00:4::11", 5001);
	size_t nlen = pg_nvgre(n, &g, f, len);
	flip_and_truncate(n, nlen);
}

/* ---- MS-NVGREE REDIRECT / UNREACHABLE (datapath/nvgre_ext.c) ---- */

/* The customer packet a message quotes: TCP 10.0.0.5 -> 10.0.0.7. */
static size_t nvx_quote(uint8_t *f)
{
	struct pg_ip_pkt s =
		pg_ip_defaults("060600000005", "060600000007", "10.0.0.5", "10.0.0.7", 6);
	return pg_ip_frame(f, &s);
}

static int nvx_parse_exact(const uint8_t *f, size_t len, struct hnv_nvx *m)
{
	uint8_t *d = dup_exact(f, len);
	int rc = hnv_nvx_parse(d, len, m);
	free(d);
	return rc;
}

static void test_nvx_parse_redirect4(void **state)
{
	(void)state;
	uint8_t q[128], f[256];
	nvx_quote(q);
	size_t len = pg_nvx4(f, true, "00155d000022", "00155d000011", "192.168.4.11",
			     "192.168.4.33", "192.168.4.22", q + 14);
	assert_int_equal(len, 14 + 20 + 8 + 28);
	struct hnv_nvx m;
	assert_int_equal(nvx_parse_exact(f, len, &m), 0);
	assert_int_equal(m.kind, HNV_NVX_REDIRECT);
	struct hnv_ip e;
	e = pg_ip("192.168.4.22");
	assert_true(hnv_ip_eq(&m.new_pa, &e));
	e = pg_ip("192.168.4.11");
	assert_true(hnv_ip_eq(&m.from_pa, &e));
	e = pg_ip("192.168.4.33");
	assert_true(hnv_ip_eq(&m.to_pa, &e));
	e = pg_ip("10.0.0.7");
	assert_true(hnv_ip_eq(&m.ca, &e));
	e = pg_ip("10.0.0.5");
	assert_true(hnv_ip_eq(&m.src_ca, &e));
	struct hnv_mac mac = pg_mac("00155d000022");
	assert_true(hnv_mac_eq(&m.dst_mac, &mac));
}

static void test_nvx_parse_unreachable4(void **state)
{
	(void)state;
	uint8_t q[128], f[256];
	nvx_quote(q);
	size_t len = pg_nvx4(f, false, "00155d000022", "00155d000011", "192.168.4.11",
			     "192.168.4.33", NULL, q + 14);
	struct hnv_nvx m;
	assert_int_equal(nvx_parse_exact(f, len, &m), 0);
	assert_int_equal(m.kind, HNV_NVX_UNREACHABLE);
	struct hnv_ip e = pg_ip("10.0.0.7");
	assert_true(hnv_ip_eq(&m.ca, &e));
	assert_true(hnv_ip_is_unspec(&m.new_pa));
}

/* The encoder writes exactly the bytes of the independent builder. */
static void test_nvx_write4_matches(void **state)
{
	(void)state;
	uint8_t q[128], want[256], got[HNV_NVX_MAX_LEN];
	size_t qlen = nvx_quote(q) - 14;
	for (int redirect = 0; redirect < 2; redirect++) {
		size_t wl = pg_nvx4(want, redirect, "00155d000022", "00155d000011", "192.168.4.11",
				    "192.168.4.33", "192.168.4.22", q + 14);
		struct hnv_nvx m = {.kind = redirect ? HNV_NVX_REDIRECT : HNV_NVX_UNREACHABLE};
		m.dst_mac = pg_mac("00155d000022");
		m.src_mac = pg_mac("00155d000011");
		m.from_pa = pg_ip("192.168.4.11");
		m.to_pa = pg_ip("192.168.4.33");
		m.new_pa = pg_ip("192.168.4.22");
		int n = hnv_nvx_write(got, sizeof(got), &m, q + 14, qlen);
		assert_int_equal(n, (int)wl);
		assert_memory_equal(got, want, wl);
		assert_int_equal(hnv_nvx_write(got, wl - 1, &m, q + 14, qlen), -ENOSPC);
	}
}

/* IPv6 PAs: both messages round-trip, the quote an IPv4 or IPv6 packet. */
static void test_nvx_roundtrip6(void **state)
{
	(void)state;
	uint8_t q4[128], q6[128], f[HNV_NVX_MAX_LEN];
	size_t q4len = nvx_quote(q4) - 14;
	struct pg_ip_pkt s =
		pg_ip_defaults("060600000005", "060600000007", "fd00::5", "fd00::7", 17);
	size_t q6len = pg_ip_frame(q6, &s) - 14;
	for (int k = 0; k < 4; k++) {
		bool redirect = k & 1;
		const uint8_t *q = k & 2 ? q6 + 14 : q4 + 14;
		size_t ql = k & 2 ? q6len : q4len;
		struct hnv_nvx m = {.kind = redirect ? HNV_NVX_REDIRECT : HNV_NVX_UNREACHABLE};
		m.dst_mac = pg_mac("00155d000022");
		m.src_mac = pg_mac("00155d000011");
		m.from_pa = pg_ip("fd00:4::11");
		m.to_pa = pg_ip("fd00:4::33");
		m.new_pa = pg_ip("fd00:4::22");
		int n = hnv_nvx_write(f, sizeof(f), &m, q, ql);
		assert_true(n > 0);
		/* the ICMPv6 checksum, by pktgen's own code */
		struct hnv_ip a = pg_ip("fd00:4::11"), b = pg_ip("fd00:4::33");
		assert_int_equal(pg_csum6(&a, &b, 58, f + 54, (size_t)n - 54), 0);
		struct hnv_nvx r;
		assert_int_equal(nvx_parse_exact(f, (size_t)n, &r), 0);
		assert_int_equal(r.kind, m.kind);
		assert_true(hnv_ip_eq(&r.from_pa, &m.from_pa));
		assert_true(hnv_ip_eq(&r.to_pa, &m.to_pa));
		struct hnv_ip ca = pg_ip(k & 2 ? "fd00::7" : "10.0.0.7");
		assert_true(hnv_ip_eq(&r.ca, &ca));
		if (redirect)
			assert_true(hnv_ip_eq(&r.new_pa, &m.new_pa));
	}
}

static void test_nvx_rejects(void **state)
{
	(void)state;
	uint8_t q[128], f[256];
	size_t qlen = nvx_quote(q) - 14;
	size_t len = pg_nvx4(f, true, "00155d000022", "00155d000011", "192.168.4.11",
			     "192.168.4.33", "192.168.4.22", q + 14);
	struct hnv_nvx m;
	/* an ordinary customer packet (TCP, ICMP echo) is not a message */
	assert_int_equal(nvx_parse_exact(q, qlen + 14, &m), -EPROTO);
	struct pg_ip_pkt e =
		pg_ip_defaults("060600000005", "060600000007", "10.0.0.5", "10.0.0.7", 1);
	uint8_t ping[128];
	assert_int_equal(nvx_parse_exact(ping, pg_ip_frame(ping, &e), &m), -EPROTO);
	/* ICMP checksum wrong */
	uint8_t b[256];
	memcpy(b, f, len);
	b[14 + 20 + 2] ^= 1;
	assert_int_equal(nvx_parse_exact(b, len, &m), -EINVAL);
	/* new PA unusable (0.0.0.0, multicast) */
	uint8_t z[256];
	len = pg_nvx4(z, true, "00155d000022", "00155d000011", "192.168.4.11", "192.168.4.33",
		      "0.0.0.0", q + 14);
	assert_int_equal(nvx_parse_exact(z, len, &m), -EINVAL);
	len = pg_nvx4(z, true, "00155d000022", "00155d000011", "192.168.4.11", "192.168.4.33",
		      "239.1.1.1", q + 14);
	assert_int_equal(nvx_parse_exact(z, len, &m), -EINVAL);
	/* a quote that is not an IP header */
	len = pg_nvx4(z, false, "00155d000022", "00155d000011", "192.168.4.11", "192.168.4.33",
		      NULL, q + 14);
	z[14 + 28] = 0x75; /* version 7; the checksum fixed up */
	z[14 + 22] = z[14 + 23] = 0;
	pg_put16(z + 14 + 22, pg_fold(pg_sum(0, z + 14 + 20, len - 34)));
	assert_int_equal(nvx_parse_exact(z, len, &m), -EINVAL);
	/* truncated anywhere: never a success, never a read past len */
	len = pg_nvx4(f, true, "00155d000022", "00155d000011", "192.168.4.11", "192.168.4.33",
		      "192.168.4.22", q + 14);
	for (size_t l = 0; l < len; l++)
		assert_int_not_equal(nvx_parse_exact(f, l, &m), 0);
	/* an IPv6 new PA cannot go into an IPv4 redirect */
	struct hnv_nvx w = {.kind = HNV_NVX_REDIRECT};
	w.from_pa = pg_ip("192.168.4.11");
	w.to_pa = pg_ip("192.168.4.33");
	w.new_pa = pg_ip("fd00::1");
	assert_int_equal(hnv_nvx_write(b, sizeof(b), &w, q + 14, qlen), -EINVAL);
	/* mixed families of the two PAs */
	w.new_pa = pg_ip("192.168.4.22");
	w.to_pa = pg_ip("fd00::33");
	assert_int_equal(hnv_nvx_write(b, sizeof(b), &w, q + 14, qlen), -EINVAL);
}

/* Every single-bit flip of a REDIRECT: the parser stays inside the frame
 * and, when it accepts the result, reports fields read from it. */
static void test_nvx_flip(void **state)
{
	(void)state;
	uint8_t q[128], f[256];
	nvx_quote(q);
	size_t len = pg_nvx4(f, true, "00155d000022", "00155d000011", "192.168.4.11",
			     "192.168.4.33", "192.168.4.22", q + 14);
	unsigned accepted = 0;
	for (size_t bit = 0; bit < len * 8; bit++) {
		f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		struct hnv_nvx m;
		if (nvx_parse_exact(f, len, &m) == 0)
			accepted++;
		f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* only flips in the MACs (96 bits) and the IP header's TTL/ID/TOS-like
	 * fields with a compensated checksum can pass; the ICMP checksum covers
	 * the new PA and the quote */
	assert_true(accepted < 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eth_untagged),
		cmocka_unit_test(test_eth_one_tag),
		cmocka_unit_test(test_eth_two_tags),
		cmocka_unit_test(test_eth_three_tags_rejected),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_arp_reply_write),
		cmocka_unit_test(test_ipv4_basic),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_ipv4_malformed),
		cmocka_unit_test(test_ipv4_checksum),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv6_plain),
		cmocka_unit_test(test_ipv6_ext_walk),
		cmocka_unit_test(test_ipv6_too_many_ext),
		cmocka_unit_test(test_ipv6_ext_truncated),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_icmp6_ns_na),
		cmocka_unit_test(test_ipv6_helpers),
		cmocka_unit_test(test_nvgre_flags),
		cmocka_unit_test(test_nvgre_proto_key),
		cmocka_unit_test(test_csum_rfc1071),
		cmocka_unit_test(test_csum6),
		cmocka_unit_test(test_csum_update16),
		cmocka_unit_test(test_flip_nvgre),
		cmocka_unit_test(test_flip_arp),
		cmocka_unit_test(test_flip_ns),
		cmocka_unit_test(test_nvx_parse_redirect4),
		cmocka_unit_test(test_nvx_parse_unreachable4),
		cmocka_unit_test(test_nvx_write4_matches),
		cmocka_unit_test(test_nvx_roundtrip6),
		cmocka_unit_test(test_nvx_rejects),
		cmocka_unit_test(test_nvx_flip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
