/* nvxgen.h: MS-NVGREE REDIRECT / UNREACHABLE inner frames for the tests,
 * built byte by byte with pktgen.h's own checksums (not with the codec in
 * datapath/nvgre_ext.c), per the layout in docs/nvgre-ext.md (IPv4 PAs):
 * Ethernet (to_mac <- from_mac, 0x0800), IPv4 from_pa -> to_pa proto 1
 * TOS 0xc0 TTL 64, ICMP 5/1 with gateway new_pa (REDIRECT) or 3/1 with
 * zero (UNREACHABLE), then the quoted customer IP header + 8 bytes. */
#ifndef HNV_NVXGEN_H
#define HNV_NVXGEN_H

#include "pktgen.h"

/* quote: a customer IP packet (IPv4 or IPv6), at least its header + 8. */
static inline size_t pg_nvx4(uint8_t *buf, bool redirect, const char *to_mac, const char *from_mac,
			     const char *from_pa, const char *to_pa, const char *new_pa,
			     const uint8_t *quote)
{
	struct hnv_mac dm = pg_mac(to_mac), sm = pg_mac(from_mac);
	size_t off = pg_eth(buf, &dm, &sm, 0x0800);
	size_t q = (quote[0] >> 4 == 4 ? (size_t)(quote[0] & 15) * 4 : 40) + 8;
	uint8_t *ip = buf + off, *ic = ip + 20;
	struct hnv_ip s = pg_ip(from_pa), d = pg_ip(to_pa);
	memset(ic, 0, 8);
	ic[0] = redirect ? 5 : 3;
	ic[1] = 1;
	if (redirect) {
		struct hnv_ip n = pg_ip(new_pa);
		memcpy(ic + 4, n.b + 12, 4);
	}
	memcpy(ic + 8, quote, q);
	pg_put16(ic + 2, pg_fold(pg_sum(0, ic, 8 + q)));
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[1] = 0xc0;
	pg_put16(ip + 2, (uint16_t)(20 + 8 + q));
	ip[8] = 64;
	ip[9] = 1;
	memcpy(ip + 12, s.b + 12, 4);
	memcpy(ip + 16, d.b + 12, 4);
	pg_put16(ip + 10, pg_fold(pg_sum(0, ip, 20)));
	return off + 20 + 8 + q;
}

#endif
