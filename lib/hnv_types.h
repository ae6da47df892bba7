/* hnv_types.h: value types shared by the datapath, the config text and
 * management: IP addresses, prefixes, MACs, GUIDs and the NetWNV enums.
 *
 * Addresses are always 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d)
 * so one key layout serves both families in hash tables. */
#ifndef HNV_TYPES_H
#define HNV_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct hnv_ip {
	uint8_t b[16];
};

struct hnv_prefix {
	struct hnv_ip addr; /* host bits are zero */
	uint8_t len;        /* 0..32 for IPv4, 0..128 for IPv6 */
};

struct hnv_mac {
	uint8_t b[6];
};

struct hnv_guid {
	uint8_t b[16]; /* the textual order of the hex digits */
};

/* NetWNV TranslationMethod values, as PowerShell shows them. */
enum hnv_rule {
	HNV_RULE_NAT = 35,
	HNV_RULE_ENCAP = 36,
	HNV_RULE_NONE = 37,
};

/* A rule's NetWNV name, as users write and read it. */
static inline const char *hnv_rule_name(enum hnv_rule r)
{
	return r == HNV_RULE_NAT     ? "TranslationMethodNat"
	       : r == HNV_RULE_NONE  ? "TranslationMethodNone"
	       : r == HNV_RULE_ENCAP ? "TranslationMethodEncap"
				     : "unknown";
}

/* NetWNV lookup record Type values. */
enum hnv_rec_type {
	HNV_TYPE_STATIC = 35,
	HNV_TYPE_DYNAMIC = 36,
	HNV_TYPE_GATEWAY_WILDCARD = 37,
	HNV_TYPE_L2ONLY = 41,
};

#define HNV_VSID_MIN 4096u
#define HNV_VSID_MAX 16777214u
#define HNV_NAME_MAX 63  /* rdomain, port and VM names, without the NUL */
#define HNV_TEXT_MAX 255 /* Context */

static inline bool hnv_ip_is_v4(const struct hnv_ip *a)
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return memcmp(a->b, pfx, 12) == 0;
}

static inline void hnv_ip_from_v4(struct hnv_ip *a, const uint8_t v4[4])
{
	memset(a->b, 0, 10);
	a->b[10] = 0xff;
	a->b[11] = 0xff;
	memcpy(a->b + 12, v4, 4);
}

static inline bool hnv_ip_eq(const struct hnv_ip *a, const struct hnv_ip *b)
{
	return memcmp(a->b, b->b, 16) == 0;
}

/* An unspecified address of either family (0.0.0.0 or ::). */
static inline bool hnv_ip_is_unspec(const struct hnv_ip *a)
{
	static const uint8_t z[16];
	if (hnv_ip_is_v4(a))
		return memcmp(a->b + 12, z, 4) == 0;
	return memcmp(a->b, z, 16) == 0;
}

static inline bool hnv_mac_eq(const struct hnv_mac *a, const struct hnv_mac *b)
{
	return memcmp(a->b, b->b, 6) == 0;
}

/* Bits of the prefix length counted in the 128-bit mapped space. */
static inline unsigned hnv_prefix_bits128(const struct hnv_prefix *p)
{
	return hnv_ip_is_v4(&p->addr) ? 96u + p->len : p->len;
}

/* True when addr lies inside prefix p (same family). */
static inline bool hnv_prefix_contains(const struct hnv_prefix *p, const struct hnv_ip *addr)
{
	if (hnv_ip_is_v4(&p->addr) != hnv_ip_is_v4(addr))
		return false;
	unsigned bits = hnv_prefix_bits128(p);
	unsigned full = bits / 8, rem = bits % 8;
	if (memcmp(p->addr.b, addr->b, full) != 0)
		return false;
	if (rem == 0)
		return true;
	uint8_t m = (uint8_t)(0xff << (8 - rem));
	return (p->addr.b[full] & m) == (addr->b[full] & m);
}

#endif
