/* retain.c: the text of a tenant's learned routes (see retain.h). */
#include "retain.h"

#include "../lib/addr.h"
#include "../lib/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The longest line: a prefix (49), " via " and an address (45), " dev " and
 * a name (15). */
#define LINE_MAX_ 128

int hnv_retain_format(const struct hnv_retain_route *r, size_t n, char *buf, size_t len)
{
	size_t off = 0;
	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char p[64], a[64], line[LINE_MAX_];
		hnv_fmt_prefix(&r[i].prefix, p, sizeof(p));
		hnv_fmt_ip(&r[i].gw, a, sizeof(a));
		int k = snprintf(line, sizeof(line), "%s%s%s%s%s\n", p, r[i].has_gw ? " via " : "",
				 r[i].has_gw ? a : "", r[i].dev[0] ? " dev " : "", r[i].dev);
		if (k < 0 || (size_t)k >= sizeof(line) || off + (size_t)k >= len) {
			buf[0] = '\0';
			return -ENOSPC;
		}
		memcpy(buf + off, line, (size_t)k + 1);
		off += (size_t)k;
	}
	return (int)off;
}

static bool dev_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= IF_NAMESIZE || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '/' || s[i] == ':')
			return false;
	return true;
}

/* One line (NUL-terminated, without its newline) into *r. */
static int parse_line(char *line, struct hnv_retain_route *r, const char **why)
{
	char *save = NULL, *w[6];
	size_t nw = 0;
	for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (nw == 5) {
			*why = "too many words";
			return -EINVAL;
		}
		w[nw++] = t;
	}
	memset(r, 0, sizeof(*r));
	if (nw != 3 && nw != 5) {
		*why = "want PREFIX via ADDRESS and/or dev IFNAME";
		return -EINVAL;
	}
	if (hnv_parse_prefix_why(w[0], &r->prefix, false, why))
		return -EINVAL;
	for (size_t i = 1; i + 1 < nw; i += 2) {
		if (strcmp(w[i], "via") == 0 && !r->has_gw && !r->dev[0]) {
			if (hnv_parse_ip_why(w[i + 1], &r->gw, why))
				return -EINVAL;
			if (hnv_ip_is_v4(&r->gw) != hnv_ip_is_v4(&r->prefix.addr)) {
				*why = "next hop of the other address family";
				return -EINVAL;
			}
			r->has_gw = true;
		} else if (strcmp(w[i], "dev") == 0 && !r->dev[0]) {
			if (!dev_name_ok(w[i + 1])) {
				*why = "bad interface name";
				return -EINVAL;
			}
			snprintf(r->dev, sizeof(r->dev), "%s", w[i + 1]);
		} else {
			*why = "want PREFIX via ADDRESS and/or dev IFNAME";
			return -EINVAL;
		}
	}
	return 0;
}

int hnv_retain_parse(const char *text, size_t len, struct hnv_retain_route *out, size_t max,
		     size_t *n, char *err, size_t errlen)
{
	*n = 0;
	size_t off = 0, lineno = 0;
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - (text + off)) : len - off;
		const char *why = NULL;
		char line[LINE_MAX_];
		lineno++;
		if (ll >= sizeof(line))
			why = "line too long";
		else if (memchr(text + off, '\0', ll))
			why = "NUL byte";
		else if (*n == max)
			why = "too many routes";
		if (!why) {
			memcpy(line, text + off, ll);
			line[ll] = '\0';
			const char *lwhy = NULL; /* (the address parsers may set it and succeed) */
			if (parse_line(line, &out[*n], &lwhy) != 0)
				why = lwhy ? lwhy : "bad line";
			else
				for (size_t i = 0; i < *n && !why; i++)
					if (out[i].prefix.len == out[*n].prefix.len &&
					    hnv_ip_eq(&out[i].prefix.addr, &out[*n].prefix.addr))
						why = "prefix listed twice";
		}
		if (why) {
			hnv_seterr(err, errlen, "learned routes, line %zu: %s", lineno, why);
			*n = 0;
			return -EINVAL;
		}
		(*n)++;
		off += ll + (nl ? 1 : 0);
	}
	return 0;
}
