/* addr.c: value parsers and formatters (addr.h). */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- characters and numbers (ASCII only, independent of the locale) ---- */

bool hnv_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int hnv_hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool hnv_is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || hnv_is_digit(c) || c == '_' ||
	       c == '.' || c == '-';
}

char hnv_ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool hnv_ascii_caseeq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (hnv_ascii_lower(*a) != hnv_ascii_lower(*b))
			return false;
	return *a == *b;
}

/* Unsigned decimal: digits only (no sign, no spaces, no leading zero except
 * "0" itself, so nothing looks octal). -EINVAL for syntax, -ERANGE above max.
 * Overflow-safe: v <= max <= UINT32_MAX before each step. */
int hnv_parse_dec(const char *s, uint32_t max, uint32_t *out)
{
	if (!hnv_is_digit(s[0]) || (s[0] == '0' && s[1] != '\0'))
		return -EINVAL;
	uint64_t v = 0;
	bool over = false;
	for (; *s; s++) {
		if (!hnv_is_digit(*s))
			return -EINVAL;
		if (!over) {
			v = v * 10 + (uint64_t)(*s - '0');
			over = v > max;
		}
	}
	if (over)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

/* ---- value parsers: 0, or -EINVAL with the reason in *why ---- */

int hnv_parse_mac_why(const char *s, struct hnv_mac *mac, const char **why)
{
	static const char form[] = "expected 12 hex digits, optionally separated by - or :";
	size_t len = strnlen(s, 18), step;
	char sep = '\0';
	*why = form;
	if (len == 12) {
		step = 2;
	} else if (len == 17 && (s[2] == '-' || s[2] == ':')) {
		step = 3;
		sep = s[2];
	} else {
		return -EINVAL;
	}
	struct hnv_mac m;
	for (size_t i = 0; i < 6; i++) {
		const char *d = s + i * step;
		int hi = hnv_hex_val(d[0]), lo = hnv_hex_val(d[1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (sep != '\0' && i < 5 && d[2] != sep) {
			if (d[2] == '-' || d[2] == ':')
				*why = "mixed separators";
			return -EINVAL;
		}
		m.b[i] = (uint8_t)(hi << 4 | lo);
	}
	*mac = m;
	return 0;
}

int hnv_parse_guid_why(const char *s, struct hnv_guid *g, const char **why)
{
	size_t len = strnlen(s, 39);
	*why = "expected 8-4-4-4-12 hex digits, braces optional";
	if (len == 38 && s[0] == '{' && s[37] == '}')
		s++;
	else if (len != 36)
		return -EINVAL;
	struct hnv_guid t;
	memset(&t, 0, sizeof(t));
	unsigned nib = 0;
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		int v = hnv_hex_val(s[i]);
		if (v < 0)
			return -EINVAL;
		t.b[nib / 2] |= (uint8_t)(nib % 2 ? v : v << 4);
		nib++;
	}
	*g = t;
	return 0;
}

int hnv_parse_ip_why(const char *s, struct hnv_ip *ip, const char **why)
{
	*why = "not an IPv4 or IPv6 address";
	if (strchr(s, ':') == NULL) {
		uint8_t v4[4];
		if (inet_pton(AF_INET, s, v4) != 1)
			return -EINVAL;
		hnv_ip_from_v4(ip, v4);
		return 0;
	}
	struct hnv_ip t;
	if (inet_pton(AF_INET6, s, t.b) != 1)
		return -EINVAL;
	if (hnv_ip_is_v4(&t)) {
		/* ::ffff:a.b.c.d would alias a.b.c.d in the mapped key space */
		*why = "IPv4-mapped IPv6 address is ambiguous, write it as a.b.c.d";
		return -EINVAL;
	}
	*ip = t;
	return 0;
}

bool hnv_prefix_host_bits_set(const struct hnv_prefix *p)
{
	unsigned bits = hnv_prefix_bits128(p);
	for (unsigned i = 0; i < 16; i++) {
		unsigned lo = i * 8;
		uint8_t keep;
		if (bits >= lo + 8)
			keep = 0xff;
		else if (bits <= lo)
			keep = 0;
		else
			keep = (uint8_t)(0xff << (8 - (bits - lo)));
		if (p->addr.b[i] & (uint8_t)~keep)
			return true;
	}
	return false;
}

/* "IP/LEN". With host_ok, host bits may be set (an interface address). */
int hnv_parse_prefix_why(const char *s, struct hnv_prefix *p, bool host_ok, const char **why)
{
	const char *slash = strchr(s, '/');
	char a[INET6_ADDRSTRLEN];
	if (slash == NULL) {
		*why = "expected IP/LEN";
		return -EINVAL;
	}
	size_t alen = (size_t)(slash - s);
	if (alen >= sizeof(a)) {
		*why = "not an IPv4 or IPv6 address";
		return -EINVAL;
	}
	memcpy(a, s, alen);
	a[alen] = '\0';
	struct hnv_prefix t;
	memset(&t, 0, sizeof(t));
	if (hnv_parse_ip_why(a, &t.addr, why) < 0)
		return -EINVAL;
	bool v4 = hnv_ip_is_v4(&t.addr);
	uint32_t len;
	if (hnv_parse_dec(slash + 1, v4 ? 32 : 128, &len) < 0) {
		*why = v4 ? "length must be 0-32" : "length must be 0-128";
		return -EINVAL;
	}
	t.len = (uint8_t)len;
	if (!host_ok && hnv_prefix_host_bits_set(&t)) {
		*why = "host bits set";
		return -EINVAL;
	}
	*p = t;
	return 0;
}

int hnv_parse_vsid_why(const char *s, uint32_t *vsid, const char **why)
{
	uint32_t v;
	int rc = hnv_parse_dec(s, HNV_VSID_MAX, &v);
	if (rc == -EINVAL) {
		*why = "must be a decimal number 4096-16777214";
		return -EINVAL;
	}
	if (rc < 0 || v < HNV_VSID_MIN) {
		*why = "must be 4096-16777214";
		return -EINVAL;
	}
	*vsid = v;
	return 0;
}

int hnv_parse_mac(const char *s, struct hnv_mac *mac)
{
	const char *why;
	if (s == NULL || mac == NULL)
		return -EINVAL;
	return hnv_parse_mac_why(s, mac, &why);
}

int hnv_parse_guid(const char *s, struct hnv_guid *g)
{
	const char *why;
	if (s == NULL || g == NULL)
		return -EINVAL;
	return hnv_parse_guid_why(s, g, &why);
}

int hnv_parse_ip(const char *s, struct hnv_ip *ip)
{
	const char *why;
	if (s == NULL || ip == NULL)
		return -EINVAL;
	return hnv_parse_ip_why(s, ip, &why);
}

int hnv_parse_prefix(const char *s, struct hnv_prefix *p)
{
	const char *why;
	if (s == NULL || p == NULL)
		return -EINVAL;
	return hnv_parse_prefix_why(s, p, false, &why);
}

int hnv_parse_vsid(const char *s, uint32_t *vsid)
{
	const char *why;
	if (s == NULL || vsid == NULL)
		return -EINVAL;
	return hnv_parse_vsid_why(s, vsid, &why);
}

/* ---- formatters: always NUL-terminate when len > 0, cut if too small ---- */

void hnv_fmt_ip(const struct hnv_ip *ip, char *buf, size_t len)
{
	char t[INET6_ADDRSTRLEN];
	if (buf == NULL || len == 0)
		return;
	if (hnv_ip_is_v4(ip))
		snprintf(t, sizeof(t), "%u.%u.%u.%u", ip->b[12], ip->b[13], ip->b[14], ip->b[15]);
	else if (inet_ntop(AF_INET6, ip->b, t, sizeof(t)) == NULL)
		t[0] = '\0';
	snprintf(buf, len, "%s", t);
}

void hnv_fmt_prefix(const struct hnv_prefix *p, char *buf, size_t len)
{
	char t[INET6_ADDRSTRLEN];
	if (buf == NULL || len == 0)
		return;
	hnv_fmt_ip(&p->addr, t, sizeof(t));
	snprintf(buf, len, "%s/%u", t, p->len);
}

void hnv_fmt_mac(const struct hnv_mac *m, char *buf, size_t len)
{
	if (buf == NULL || len == 0)
		return;
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m->b[0], m->b[1], m->b[2], m->b[3],
		 m->b[4], m->b[5]);
}

void hnv_fmt_guid(const struct hnv_guid *g, char *buf, size_t len)
{
	const uint8_t *b = g->b;
	if (buf == NULL || len == 0)
		return;
	snprintf(buf, len, "{%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}
