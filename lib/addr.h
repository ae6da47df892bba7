/* addr.h: parsing and formatting of the value types (hnv_types.h), ASCII
 * only and independent of the locale. Used by the config text, the CLI, the
 * NetWNV front end and the tools.
 *
 * Parsers return 0 or -EINVAL (hnv_parse_dec also -ERANGE); the _why forms
 * also point *why at a static text saying what was wrong, for a message
 * that names the bad value. Nothing is written to the output on failure.
 */
#ifndef HNV_ADDR_H
#define HNV_ADDR_H

#include "hnv_types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool hnv_is_digit(char c);
int hnv_hex_val(char c);       /* 0..15, or -1 */
bool hnv_is_name_char(char c); /* A-Z a-z 0-9 _ . - */
char hnv_ascii_lower(char c);
bool hnv_ascii_caseeq(const char *a, const char *b);

/* Unsigned decimal without sign, spaces or leading zeros, at most max. */
int hnv_parse_dec(const char *s, uint32_t max, uint32_t *out);

int hnv_parse_mac(const char *s, struct hnv_mac *mac); /* 12 hex digits, - or : */
int hnv_parse_guid(const char *s, struct hnv_guid *g); /* braces optional, any case */
int hnv_parse_ip(const char *s, struct hnv_ip *ip);
int hnv_parse_prefix(const char *s, struct hnv_prefix *p); /* host bits must be 0 */
int hnv_parse_vsid(const char *s, uint32_t *vsid);         /* 4096..16777214 */

int hnv_parse_mac_why(const char *s, struct hnv_mac *mac, const char **why);
int hnv_parse_guid_why(const char *s, struct hnv_guid *g, const char **why);
int hnv_parse_ip_why(const char *s, struct hnv_ip *ip, const char **why);
/* host_ok: host bits may be set (an address with its prefix length) */
int hnv_parse_prefix_why(const char *s, struct hnv_prefix *p, bool host_ok, const char **why);
int hnv_parse_vsid_why(const char *s, uint32_t *vsid, const char **why);
bool hnv_prefix_host_bits_set(const struct hnv_prefix *p);

/* Formatters: always NUL-terminate when len > 0, cut if too small. Buffers
 * of at least 46 (ip), 50 (prefix), 18 (mac, colon form), 39 (guid, braces,
 * upper case as NetWNV prints). */
void hnv_fmt_ip(const struct hnv_ip *ip, char *buf, size_t len);
void hnv_fmt_prefix(const struct hnv_prefix *p, char *buf, size_t len);
void hnv_fmt_mac(const struct hnv_mac *mac, char *buf, size_t len);
void hnv_fmt_guid(const struct hnv_guid *g, char *buf, size_t len);

#endif
