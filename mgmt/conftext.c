/* conftext.c: the hnvgw config text (grammar in conftext.h).
 *
 * Three layers, each trusting only what the previous one guarantees:
 *   tokenizer   bytes of one line -> at most CONF_WORDS_MAX NUL-terminated
 *               words (quotes and escapes resolved, comment dropped);
 *   command     words -> struct hnv_conf_cmd, every value parsed and range
 *               checked, options checked against the command's table;
 *   applier     commands -> policy/dp calls, with the checks that need the
 *               current tables (references, duplicates, CA inside VSID).
 * No function here keeps state between calls.
 */
#include "conftext.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONF_LINE_MAX 4096 /* bytes of one line, without its "\r\n" */
#define CONF_WORDS_MAX 64  /* the longest valid command has 21 words */
#define MSG_MAX 512        /* one message before the "line N: " prefix */
#define DEV_MAX 15         /* IFNAMSIZ - 1 */

/* A value shown in a message: at most 64 bytes of it, then "..." if cut.
 * SHOWF goes in the format string, SHOWA(v) in the arguments. */
#define SHOW_MAX 64
#define SHOWF "\"%.64s%s\""
#define SHOWA(v) (v), (strlen(v) > SHOW_MAX ? "..." : "")

/* The format attribute lets -Wformat check every message against its
 * arguments; both gcc and clang support it. */
#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

static void PRINTF_LIKE(3, 4) seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- characters and numbers (ASCII only, independent of the locale) ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' ||
	       c == '.' || c == '-';
}

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool ascii_caseeq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (ascii_lower(*a) != ascii_lower(*b))
			return false;
	return *a == *b;
}

/* Unsigned decimal: digits only (no sign, no spaces, no leading zero except
 * "0" itself, so nothing looks octal). -EINVAL for syntax, -ERANGE above max.
 * Overflow-safe: v <= max <= UINT32_MAX before each step. */
static int dec_parse(const char *s, uint32_t max, uint32_t *out)
{
	if (!is_digit(s[0]) || (s[0] == '0' && s[1] != '\0'))
		return -EINVAL;
	uint64_t v = 0;
	bool over = false;
	for (; *s; s++) {
		if (!is_digit(*s))
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

static int mac_parse(const char *s, struct hnv_mac *mac, const char **why)
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
		int hi = hex_val(d[0]), lo = hex_val(d[1]);
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

static int guid_parse(const char *s, struct hnv_guid *g, const char **why)
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
		int v = hex_val(s[i]);
		if (v < 0)
			return -EINVAL;
		t.b[nib / 2] |= (uint8_t)(nib % 2 ? v : v << 4);
		nib++;
	}
	*g = t;
	return 0;
}

static int ip_parse(const char *s, struct hnv_ip *ip, const char **why)
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

static bool host_bits_set(const struct hnv_prefix *p)
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
static int prefix_parse(const char *s, struct hnv_prefix *p, bool host_ok, const char **why)
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
	if (ip_parse(a, &t.addr, why) < 0)
		return -EINVAL;
	bool v4 = hnv_ip_is_v4(&t.addr);
	uint32_t len;
	if (dec_parse(slash + 1, v4 ? 32 : 128, &len) < 0) {
		*why = v4 ? "length must be 0-32" : "length must be 0-128";
		return -EINVAL;
	}
	t.len = (uint8_t)len;
	if (!host_ok && host_bits_set(&t)) {
		*why = "host bits set";
		return -EINVAL;
	}
	*p = t;
	return 0;
}

static int vsid_parse(const char *s, uint32_t *vsid, const char **why)
{
	uint32_t v;
	int rc = dec_parse(s, HNV_VSID_MAX, &v);
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
	return mac_parse(s, mac, &why);
}

int hnv_parse_guid(const char *s, struct hnv_guid *g)
{
	const char *why;
	if (s == NULL || g == NULL)
		return -EINVAL;
	return guid_parse(s, g, &why);
}

int hnv_parse_ip(const char *s, struct hnv_ip *ip)
{
	const char *why;
	if (s == NULL || ip == NULL)
		return -EINVAL;
	return ip_parse(s, ip, &why);
}

int hnv_parse_prefix(const char *s, struct hnv_prefix *p)
{
	const char *why;
	if (s == NULL || p == NULL)
		return -EINVAL;
	return prefix_parse(s, p, false, &why);
}

int hnv_parse_vsid(const char *s, uint32_t *vsid)
{
	const char *why;
	if (s == NULL || vsid == NULL)
		return -EINVAL;
	return vsid_parse(s, vsid, &why);
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

/* ---- tokenizer ---- */

struct word {
	const char *s; /* NUL-terminated, inside words.buf */
	bool quoted;   /* a quoted word is always a value, never an option */
};

struct words {
	unsigned n;
	struct word w[CONF_WORDS_MAX];
	char buf[CONF_LINE_MAX + 1]; /* unescaped words never outgrow the line */
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Splits s[0..len) (no line terminator, no NUL) into words. */
static int tokenize(const char *s, size_t len, struct words *ws, char *err, size_t errlen)
{
	size_t i = 0, o = 0;
	ws->n = 0;
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)s[k];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			seterr(err, errlen, "control character 0x%02x at column %zu", c, k + 1);
			return -EINVAL;
		}
	}
	while (i < len) {
		if (is_blank(s[i])) {
			i++;
			continue;
		}
		if (s[i] == '#')
			break;
		if (ws->n == CONF_WORDS_MAX) {
			seterr(err, errlen, "too many words (at most %d)", CONF_WORDS_MAX);
			return -EINVAL;
		}
		/* Each input byte yields at most one output byte and every word
		 * consumes at least one byte more than its text, so o stays
		 * below len + 1 <= sizeof(buf); checked anyway. */
		struct word *w = &ws->w[ws->n];
		size_t start = i;
		w->s = ws->buf + o;
		w->quoted = s[i] == '"';
		if (w->quoted) {
			i++;
			for (;;) {
				if (i >= len) {
					seterr(err, errlen,
					       "unterminated quoted value at column %zu",
					       start + 1);
					return -EINVAL;
				}
				char c = s[i];
				if (c == '"')
					break;
				if (c == '\\') {
					if (i + 1 >= len) {
						seterr(err, errlen,
						       "unterminated quoted value at column %zu",
						       start + 1);
						return -EINVAL;
					}
					c = s[++i];
					if (c != '"' && c != '\\') {
						seterr(err, errlen,
						       "invalid escape \"\\%c\" at column %zu "
						       "(only \\\" and \\\\)",
						       c, i);
						return -EINVAL;
					}
				}
				if (o + 1 >= sizeof(ws->buf))
					goto too_long;
				ws->buf[o++] = c;
				i++;
			}
			i++; /* the closing quote */
			if (i < len && !is_blank(s[i]) && s[i] != '#') {
				seterr(err, errlen,
				       "unexpected \"%c\" after quoted value at column %zu", s[i],
				       i + 1);
				return -EINVAL;
			}
		} else {
			while (i < len && !is_blank(s[i]) && s[i] != '#') {
				if (s[i] == '"') {
					seterr(err, errlen,
					       "unexpected quote inside word at column %zu", i + 1);
					return -EINVAL;
				}
				if (o + 1 >= sizeof(ws->buf))
					goto too_long;
				ws->buf[o++] = s[i++];
			}
		}
		if (o >= sizeof(ws->buf))
			goto too_long;
		ws->buf[o++] = '\0';
		ws->n++;
	}
	return 0;
too_long:
	seterr(err, errlen, "line too long (more than %d bytes)", CONF_LINE_MAX);
	return -EINVAL;
}

/* ---- commands and options ---- */

enum opt {
	OPT_RDID,
	OPT_RDOMAIN,
	OPT_PREFIX,
	OPT_DEV,
	OPT_VSID,
	OPT_CA,
	OPT_PA,
	OPT_MAC,
	OPT_RULE,
	OPT_TYPE,
	OPT_VM_NAME,
	OPT_CUSTOMER_ID,
	OPT_CONTEXT,
	OPT_USE_VM_MAC,
	OPT_NEXTHOP,
	OPT_METRIC,
	OPT_GATEWAY_MAC,
	OPT_FLOWID,
	OPT_UPLINK_MTU,
	OPT__COUNT
};

static const struct {
	const char *name;
	bool flag; /* takes no value */
} opt_defs[OPT__COUNT] = {
	[OPT_RDID] = {"--rdid", false},
	[OPT_RDOMAIN] = {"--rdomain", false},
	[OPT_PREFIX] = {"--prefix", false},
	[OPT_DEV] = {"--dev", false},
	[OPT_VSID] = {"--vsid", false},
	[OPT_CA] = {"--ca", false},
	[OPT_PA] = {"--pa", false},
	[OPT_MAC] = {"--mac", false},
	[OPT_RULE] = {"--rule", false},
	[OPT_TYPE] = {"--type", false},
	[OPT_VM_NAME] = {"--vm-name", false},
	[OPT_CUSTOMER_ID] = {"--customer-id", false},
	[OPT_CONTEXT] = {"--context", false},
	[OPT_USE_VM_MAC] = {"--use-vm-mac", true},
	[OPT_NEXTHOP] = {"--nexthop", false},
	[OPT_METRIC] = {"--metric", false},
	[OPT_GATEWAY_MAC] = {"--gateway-mac", false},
	[OPT_FLOWID] = {"--flowid", false},
	[OPT_UPLINK_MTU] = {"--uplink-mtu", false},
};

#define VALS_MAX                                                                                   \
	(HNV_VSUBNET_MAX_PREFIXES > HNV_PORT_MAX_CAS ? HNV_VSUBNET_MAX_PREFIXES : HNV_PORT_MAX_CAS)

/* One command being parsed. */
struct pctx {
	const char *cmd; /* "lookup add", for messages */
	const char *pos; /* the positional argument, or NULL */
	unsigned n[OPT__COUNT];
	const char *val[OPT__COUNT][VALS_MAX];
	char *err;
	size_t errlen;
};

struct cmd_def {
	const char *obj, *verb;
	enum hnv_conf_kind kind;
	const char *pos;  /* name of the positional argument, or NULL */
	uint32_t allowed; /* bit per enum opt */
	uint32_t required;
	uint32_t multi; /* options that may repeat, up to multi_max times */
	unsigned multi_max;
	int (*build)(struct pctx *c, struct hnv_conf_cmd *cmd);
};

#define B(o) (1u << (o))

/* -- value helpers: parse one option value, message names it -- */

static int bad(struct pctx *c, const char *what, const char *v, const char *why)
{
	seterr(c->err, c->errlen, "%s: invalid %s " SHOWF ": %s", c->cmd, what, SHOWA(v), why);
	return -EINVAL;
}

static const char *opt1(const struct pctx *c, enum opt o)
{
	return c->n[o] ? c->val[o][0] : NULL;
}

static int get_vsid(struct pctx *c, const char *v, uint32_t *out)
{
	const char *why;
	if (vsid_parse(v, out, &why) < 0)
		return bad(c, "VSID", v, why);
	return 0;
}

static int get_ip(struct pctx *c, const char *what, const char *v, bool unspec_ok,
		  struct hnv_ip *out)
{
	const char *why;
	if (ip_parse(v, out, &why) < 0)
		return bad(c, what, v, why);
	if (!unspec_ok && hnv_ip_is_unspec(out))
		return bad(c, what, v, "unspecified address");
	return 0;
}

static int get_prefix(struct pctx *c, const char *what, const char *v, struct hnv_prefix *out)
{
	const char *why;
	if (prefix_parse(v, out, false, &why) < 0)
		return bad(c, what, v, why);
	return 0;
}

/* A station MAC: unicast and not all-zero. */
static int get_mac(struct pctx *c, const char *what, const char *v, struct hnv_mac *out)
{
	static const struct hnv_mac zero;
	const char *why;
	if (mac_parse(v, out, &why) < 0)
		return bad(c, what, v, why);
	if (out->b[0] & 1)
		return bad(c, what, v, "multicast or broadcast address");
	if (hnv_mac_eq(out, &zero))
		return bad(c, what, v, "all-zero address");
	return 0;
}

static int get_guid(struct pctx *c, const char *what, const char *v, struct hnv_guid *out)
{
	const char *why;
	if (guid_parse(v, out, &why) < 0)
		return bad(c, what, v, why);
	return 0;
}

/* A name: 1..HNV_NAME_MAX of [A-Za-z0-9_.-]; out has HNV_NAME_MAX + 1 bytes. */
static int get_name(struct pctx *c, const char *what, const char *v, char *out)
{
	size_t len = strlen(v);
	if (len == 0)
		return bad(c, what, v, "empty");
	if (len > HNV_NAME_MAX)
		return bad(c, what, v, "longer than 63 characters");
	for (size_t i = 0; i < len; i++)
		if (!is_name_char(v[i]))
			return bad(c, what, v, "use only A-Z a-z 0-9 _ . -");
	memcpy(out, v, len + 1);
	return 0;
}

/* An interface name as Linux accepts it, restricted to name characters. */
static int get_dev(struct pctx *c, const char *v, char out[DEV_MAX + 1])
{
	size_t len = strlen(v);
	if (len == 0 || len > DEV_MAX || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return bad(c, "device name", v, "must be 1-15 characters, not . or ..");
	for (size_t i = 0; i < len; i++)
		if (!is_name_char(v[i]))
			return bad(c, "device name", v, "use only A-Z a-z 0-9 _ . -");
	memcpy(out, v, len + 1);
	return 0;
}

static int get_text(struct pctx *c, const char *what, const char *v, char *out, size_t size)
{
	size_t len = strlen(v);
	if (len >= size) {
		char why[48];
		snprintf(why, sizeof(why), "longer than %zu bytes", size - 1);
		return bad(c, what, v, why);
	}
	memcpy(out, v, len + 1);
	return 0;
}

static int get_uint(struct pctx *c, const char *what, const char *v, uint32_t min, uint32_t max,
		    uint32_t *out)
{
	if (dec_parse(v, max, out) < 0 || *out < min) {
		seterr(c->err, c->errlen,
		       "%s: invalid %s " SHOWF ": must be a decimal number %u-%u", c->cmd, what,
		       SHOWA(v), min, max);
		return -EINVAL;
	}
	return 0;
}

static int get_rule(struct pctx *c, const char *v, enum hnv_rule *out)
{
	static const struct {
		const char *a, *b;
		enum hnv_rule r;
	} t[] = {
		{"encap", "TranslationMethodEncap", HNV_RULE_ENCAP},
		{"nat", "TranslationMethodNat", HNV_RULE_NAT},
		{"none", "TranslationMethodNone", HNV_RULE_NONE},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (ascii_caseeq(v, t[i].a) || ascii_caseeq(v, t[i].b)) {
			*out = t[i].r;
			return 0;
		}
	return bad(c, "rule", v, "must be encap, nat or none");
}

static const struct {
	const char *a, *b;
	enum hnv_rec_type t;
} type_names[] = {
	{"static", "Static", HNV_TYPE_STATIC},
	{"dynamic", "Dynamic", HNV_TYPE_DYNAMIC},
	{"l2only", "L2Only", HNV_TYPE_L2ONLY},
	{"gateway-wildcard", "GatewayWildcard", HNV_TYPE_GATEWAY_WILDCARD},
};

static int get_type(struct pctx *c, const char *v, enum hnv_rec_type *out)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (ascii_caseeq(v, type_names[i].a) || ascii_caseeq(v, type_names[i].b)) {
			*out = type_names[i].t;
			return 0;
		}
	return bad(c, "type", v, "must be static, dynamic, l2only or gateway-wildcard");
}

static const char *type_name(enum hnv_rec_type t)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].t == t)
			return type_names[i].a;
	return "?";
}

/* -- per-command builders: the option table guarantees required options
 * are present and single-valued ones appear at most once -- */

static int build_rdomain_add(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	int rc = get_name(c, "rdomain name", c->pos, cmd->u.rdomain.name);
	if (rc == 0)
		rc = get_guid(c, "RDID", opt1(c, OPT_RDID), &cmd->u.rdomain.rdid);
	return rc;
}

static int build_rdomain_del(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	return get_name(c, "rdomain name", c->pos, cmd->u.rdomain.name);
}

static int build_vsubnet_add(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_vsubnet_spec *s = &cmd->u.vsubnet;
	int rc = get_vsid(c, c->pos, &s->vsid);
	if (rc == 0)
		rc = get_name(c, "rdomain name", opt1(c, OPT_RDOMAIN), s->rdomain);
	for (unsigned i = 0; rc == 0 && i < c->n[OPT_PREFIX]; i++) {
		const char *v = c->val[OPT_PREFIX][i];
		struct hnv_prefix *p = &s->prefixes[i];
		rc = get_prefix(c, "prefix", v, p);
		if (rc < 0)
			break;
		/* the lowest address is the gateway: leave room for it and a VM */
		if (hnv_prefix_bits128(p) > 126)
			return bad(c, "prefix", v,
				   "too small for a virtual subnet (at most /30 or /126)");
		for (unsigned k = 0; k < i; k++)
			if (hnv_prefix_contains(&s->prefixes[k], &p->addr) ||
			    hnv_prefix_contains(p, &s->prefixes[k].addr)) {
				seterr(c->err, c->errlen,
				       "%s: prefix " SHOWF " overlaps prefix " SHOWF, c->cmd,
				       SHOWA(v), SHOWA(c->val[OPT_PREFIX][k]));
				return -EINVAL;
			}
		s->n_prefixes = i + 1;
	}
	return rc;
}

static int build_vsubnet_del(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	return get_vsid(c, c->pos, &cmd->u.vsubnet.vsid);
}

static int build_pa_add(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	const char *why;
	if (prefix_parse(c->pos, &cmd->u.pa.addr, true, &why) < 0)
		return bad(c, "PA", c->pos, why);
	if (hnv_ip_is_unspec(&cmd->u.pa.addr.addr))
		return bad(c, "PA", c->pos, "unspecified address");
	return get_dev(c, opt1(c, OPT_DEV), cmd->u.pa.dev);
}

static int build_pa_del(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	return get_ip(c, "PA", c->pos, false, &cmd->u.pa.addr.addr);
}

static int build_port_add(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_port_spec *s = &cmd->u.port;
	int rc = get_name(c, "port name", c->pos, s->name);
	if (rc == 0)
		rc = get_vsid(c, opt1(c, OPT_VSID), &s->vsid);
	if (rc == 0)
		rc = get_mac(c, "MAC", opt1(c, OPT_MAC), &s->mac);
	for (unsigned i = 0; rc == 0 && i < c->n[OPT_CA]; i++) {
		const char *v = c->val[OPT_CA][i];
		rc = get_ip(c, "CA", v, false, &s->cas[i]);
		for (unsigned k = 0; rc == 0 && k < i; k++)
			if (hnv_ip_eq(&s->cas[k], &s->cas[i]))
				rc = bad(c, "CA", v, "given twice");
		s->n_cas = i + 1;
	}
	return rc;
}

static int build_port_del(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	return get_name(c, "port name", c->pos, cmd->u.port.name);
}

/* lookup add and lookup set: a complete record. */
static int build_lookup(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_lookup_spec *s = &cmd->u.lookup;
	const char *ca = opt1(c, OPT_CA);
	s->rule = HNV_RULE_ENCAP;
	s->type = HNV_TYPE_STATIC;
	int rc = get_vsid(c, opt1(c, OPT_VSID), &s->vsid);
	if (rc == 0)
		rc = get_ip(c, "CA", ca, true, &s->ca);
	if (rc == 0)
		rc = get_ip(c, "PA", opt1(c, OPT_PA), false, &s->pa);
	if (rc == 0)
		rc = get_mac(c, "MAC", opt1(c, OPT_MAC), &s->mac);
	if (rc == 0 && c->n[OPT_RULE])
		rc = get_rule(c, opt1(c, OPT_RULE), &s->rule);
	if (rc == 0 && c->n[OPT_TYPE])
		rc = get_type(c, opt1(c, OPT_TYPE), &s->type);
	if (rc == 0 && c->n[OPT_VM_NAME])
		rc = get_name(c, "VM name", opt1(c, OPT_VM_NAME), s->vm_name);
	if (rc == 0 && c->n[OPT_CUSTOMER_ID]) {
		rc = get_guid(c, "customer ID", opt1(c, OPT_CUSTOMER_ID), &s->customer_id);
		s->has_customer_id = true;
	}
	if (rc == 0 && c->n[OPT_CONTEXT])
		rc = get_text(c, "context", opt1(c, OPT_CONTEXT), s->context, sizeof(s->context));
	if (rc < 0)
		return rc;
	s->use_vm_mac = c->n[OPT_USE_VM_MAC] > 0;
	bool wild = s->type == HNV_TYPE_GATEWAY_WILDCARD || s->type == HNV_TYPE_L2ONLY;
	if (wild && !hnv_ip_is_unspec(&s->ca)) {
		seterr(c->err, c->errlen, "%s: --ca " SHOWF " must be 0.0.0.0 or :: for type %s",
		       c->cmd, SHOWA(ca), type_name(s->type));
		return -EINVAL;
	}
	if (!wild && hnv_ip_is_unspec(&s->ca)) {
		static const char why[] = "needs --type gateway-wildcard or l2only";
		seterr(c->err, c->errlen,
		       "%s: --ca " SHOWF " is unspecified, which %s (type is %s)", c->cmd,
		       SHOWA(ca), why, type_name(s->type));
		return -EINVAL;
	}
	if (s->use_vm_mac && s->rule != HNV_RULE_NAT) {
		seterr(c->err, c->errlen, "%s: --use-vm-mac needs --rule nat", c->cmd);
		return -EINVAL;
	}
	return 0;
}

static int build_lookup_del(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_lookup_spec *s = &cmd->u.lookup;
	int rc = get_vsid(c, opt1(c, OPT_VSID), &s->vsid);
	if (rc == 0)
		rc = get_ip(c, "CA", opt1(c, OPT_CA), true, &s->ca);
	if (rc == 0)
		rc = get_mac(c, "MAC", opt1(c, OPT_MAC), &s->mac);
	return rc;
}

static int route_key(struct pctx *c, struct hnv_route_spec *s)
{
	const char *nh = opt1(c, OPT_NEXTHOP), *pfx = opt1(c, OPT_PREFIX);
	int rc = get_name(c, "rdomain name", opt1(c, OPT_RDOMAIN), s->rdomain);
	if (rc == 0)
		rc = get_prefix(c, "prefix", pfx, &s->prefix);
	if (rc == 0)
		rc = get_ip(c, "nexthop", nh, true, &s->nexthop);
	if (rc == 0 && hnv_ip_is_v4(&s->prefix.addr) != hnv_ip_is_v4(&s->nexthop)) {
		bool v4 = hnv_ip_is_v4(&s->prefix.addr);
		seterr(c->err, c->errlen, "%s: nexthop " SHOWF " is %s but prefix " SHOWF " is %s",
		       c->cmd, SHOWA(nh), v4 ? "IPv6" : "IPv4", SHOWA(pfx), v4 ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	return rc;
}

static int build_route_add(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_route_spec *s = &cmd->u.route;
	s->metric = 255;
	int rc = route_key(c, s);
	if (rc == 0)
		rc = get_vsid(c, opt1(c, OPT_VSID), &s->vsid);
	if (rc == 0 && c->n[OPT_METRIC])
		rc = get_uint(c, "metric", opt1(c, OPT_METRIC), 0, UINT32_MAX, &s->metric);
	return rc;
}

static int build_route_del(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	return route_key(c, &cmd->u.route);
}

static int build_global_set(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_global *g = &cmd->u.global;
	int rc = 0;
	if (!c->n[OPT_GATEWAY_MAC] && !c->n[OPT_FLOWID] && !c->n[OPT_UPLINK_MTU]) {
		seterr(c->err, c->errlen,
		       "%s: nothing to set (give --gateway-mac, --flowid or --uplink-mtu)", c->cmd);
		return -EINVAL;
	}
	if (c->n[OPT_GATEWAY_MAC]) {
		rc = get_mac(c, "gateway MAC", opt1(c, OPT_GATEWAY_MAC), &g->gateway_mac);
		g->has_gateway_mac = true;
	}
	if (rc == 0 && c->n[OPT_FLOWID]) {
		const char *v = opt1(c, OPT_FLOWID);
		if (strcmp(v, "on") == 0)
			g->flowid = true;
		else if (strcmp(v, "off") == 0)
			g->flowid = false;
		else
			rc = bad(c, "--flowid value", v, "must be on or off");
		g->has_flowid = true;
	}
	if (rc == 0 && c->n[OPT_UPLINK_MTU]) {
		uint32_t mtu;
		rc = get_uint(c, "uplink MTU", opt1(c, OPT_UPLINK_MTU), 576, 9000, &mtu);
		g->uplink_mtu = mtu;
		g->has_uplink_mtu = true;
	}
	return rc;
}

#define LOOKUP_OPTS                                                                                \
	(B(OPT_VSID) | B(OPT_CA) | B(OPT_PA) | B(OPT_MAC) | B(OPT_RULE) | B(OPT_TYPE) |            \
	 B(OPT_VM_NAME) | B(OPT_CUSTOMER_ID) | B(OPT_CONTEXT) | B(OPT_USE_VM_MAC))
#define LOOKUP_REQ (B(OPT_VSID) | B(OPT_CA) | B(OPT_PA) | B(OPT_MAC))
#define LOOKUP_KEY (B(OPT_VSID) | B(OPT_CA) | B(OPT_MAC))
#define ROUTE_KEY (B(OPT_RDOMAIN) | B(OPT_PREFIX) | B(OPT_NEXTHOP))

static const struct cmd_def cmd_defs[] = {
	{"rdomain", "add", HNV_CONF_RDOMAIN_ADD, "NAME", B(OPT_RDID), B(OPT_RDID), 0, 0,
	 build_rdomain_add},
	{"rdomain", "del", HNV_CONF_RDOMAIN_DEL, "NAME", 0, 0, 0, 0, build_rdomain_del},
	{"vsubnet", "add", HNV_CONF_VSUBNET_ADD, "VSID", B(OPT_RDOMAIN) | B(OPT_PREFIX),
	 B(OPT_RDOMAIN) | B(OPT_PREFIX), B(OPT_PREFIX), HNV_VSUBNET_MAX_PREFIXES,
	 build_vsubnet_add},
	{"vsubnet", "del", HNV_CONF_VSUBNET_DEL, "VSID", 0, 0, 0, 0, build_vsubnet_del},
	{"pa", "add", HNV_CONF_PA_ADD, "IP/LEN", B(OPT_DEV), B(OPT_DEV), 0, 0, build_pa_add},
	{"pa", "del", HNV_CONF_PA_DEL, "IP", 0, 0, 0, 0, build_pa_del},
	{"port", "add", HNV_CONF_PORT_ADD, "NAME", B(OPT_VSID) | B(OPT_CA) | B(OPT_MAC),
	 B(OPT_VSID) | B(OPT_CA) | B(OPT_MAC), B(OPT_CA), HNV_PORT_MAX_CAS, build_port_add},
	{"port", "del", HNV_CONF_PORT_DEL, "NAME", 0, 0, 0, 0, build_port_del},
	{"lookup", "add", HNV_CONF_LOOKUP_ADD, NULL, LOOKUP_OPTS, LOOKUP_REQ, 0, 0, build_lookup},
	{"lookup", "set", HNV_CONF_LOOKUP_SET, NULL, LOOKUP_OPTS, LOOKUP_REQ, 0, 0, build_lookup},
	{"lookup", "del", HNV_CONF_LOOKUP_DEL, NULL, LOOKUP_KEY, LOOKUP_KEY, 0, 0,
	 build_lookup_del},
	{"route", "add", HNV_CONF_ROUTE_ADD, NULL, ROUTE_KEY | B(OPT_VSID) | B(OPT_METRIC),
	 ROUTE_KEY | B(OPT_VSID), 0, 0, build_route_add},
	{"route", "del", HNV_CONF_ROUTE_DEL, NULL, ROUTE_KEY, ROUTE_KEY, 0, 0, build_route_del},
	{"global", "set", HNV_CONF_GLOBAL_SET, NULL,
	 B(OPT_GATEWAY_MAC) | B(OPT_FLOWID) | B(OPT_UPLINK_MTU), 0, 0, 0, build_global_set},
};
#define N_CMDS (sizeof(cmd_defs) / sizeof(cmd_defs[0]))

_Static_assert(OPT__COUNT <= 32, "option bits must fit the uint32_t masks");

static bool is_option(const struct word *w)
{
	return !w->quoted && w->s[0] == '-' && w->s[1] == '-';
}

static int find_cmd(const struct words *ws, const struct cmd_def **out, char *err, size_t errlen)
{
	const char *obj = ws->w[0].s;
	bool obj_known = false;
	for (size_t i = 0; i < N_CMDS; i++) {
		if (strcmp(cmd_defs[i].obj, obj) != 0)
			continue;
		obj_known = true;
		if (ws->n > 1 && strcmp(cmd_defs[i].verb, ws->w[1].s) == 0) {
			*out = &cmd_defs[i];
			return 0;
		}
	}
	if (!obj_known) {
		seterr(err, errlen, "unknown command " SHOWF, SHOWA(obj));
		return -EINVAL;
	}
	char verbs[32] = "";
	size_t o = 0;
	for (size_t i = 0; i < N_CMDS; i++)
		if (strcmp(cmd_defs[i].obj, obj) == 0) {
			int k = snprintf(verbs + o, sizeof(verbs) - o, "%s%s", o ? ", " : "",
					 cmd_defs[i].verb);
			if (k < 0 || (size_t)k >= sizeof(verbs) - o)
				break;
			o += (size_t)k;
		}
	if (ws->n == 1)
		seterr(err, errlen, "\"%s\" needs a verb: %s", obj, verbs);
	else
		seterr(err, errlen, "unknown command \"%s %.64s%s\" (verbs: %s)", obj,
		       SHOWA(ws->w[1].s), verbs);
	return -EINVAL;
}

/* Parses one line of len bytes (no terminator, no NUL). 1, 0 or -EINVAL. */
static int parse_words(const char *s, size_t len, struct hnv_conf_cmd *cmd, char *err,
		       size_t errlen)
{
	struct words ws;
	int rc = tokenize(s, len, &ws, err, errlen);
	if (rc < 0)
		return rc;
	if (ws.n == 0)
		return 0;
	const struct cmd_def *d;
	rc = find_cmd(&ws, &d, err, errlen);
	if (rc < 0)
		return rc;

	char name[24];
	snprintf(name, sizeof(name), "%s %s", d->obj, d->verb);
	struct pctx c;
	memset(&c, 0, sizeof(c));
	c.cmd = name;
	c.err = err;
	c.errlen = errlen;

	unsigned i = 2;
	if (d->pos) {
		if (i >= ws.n || is_option(&ws.w[i])) {
			seterr(err, errlen, "%s: missing %s", name, d->pos);
			return -EINVAL;
		}
		c.pos = ws.w[i++].s;
	}
	while (i < ws.n) {
		const struct word *w = &ws.w[i++];
		if (!is_option(w)) {
			seterr(err, errlen, "%s: unexpected " SHOWF, name, SHOWA(w->s));
			return -EINVAL;
		}
		enum opt o = OPT__COUNT;
		for (unsigned k = 0; k < OPT__COUNT; k++)
			if ((d->allowed & B(k)) && strcmp(opt_defs[k].name, w->s) == 0)
				o = (enum opt)k;
		if (o == OPT__COUNT) {
			seterr(err, errlen, "unknown option " SHOWF " for \"%s\"", SHOWA(w->s),
			       name);
			return -EINVAL;
		}
		unsigned max = (d->multi & B(o)) ? d->multi_max : 1;
		if (c.n[o] >= max) {
			if (max == 1)
				seterr(err, errlen, "%s: %s given more than once", name, w->s);
			else
				seterr(err, errlen, "%s: too many %s (at most %u)", name, w->s,
				       max);
			return -EINVAL;
		}
		if (opt_defs[o].flag) {
			c.n[o]++;
			continue;
		}
		if (i >= ws.n || is_option(&ws.w[i])) {
			seterr(err, errlen, "%s: missing value for %s", name, w->s);
			return -EINVAL;
		}
		c.val[o][c.n[o]++] = ws.w[i++].s;
	}
	for (unsigned k = 0; k < OPT__COUNT; k++)
		if ((d->required & B(k)) && c.n[k] == 0) {
			seterr(err, errlen, "%s: missing %s", name, opt_defs[k].name);
			return -EINVAL;
		}

	memset(cmd, 0, sizeof(*cmd));
	cmd->kind = d->kind;
	rc = d->build(&c, cmd);
	return rc < 0 ? rc : 1;
}

int hnv_conf_parse_line(const char *line, struct hnv_conf_cmd *cmd, char *err, size_t errlen)
{
	if (line == NULL || cmd == NULL) {
		seterr(err, errlen, "no line to parse");
		return -EINVAL;
	}
	size_t len = strnlen(line, CONF_LINE_MAX + 3);
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > CONF_LINE_MAX) {
		seterr(err, errlen, "line too long (more than %d bytes)", CONF_LINE_MAX);
		return -EINVAL;
	}
	struct hnv_conf_cmd t;
	int rc = parse_words(line, len, &t, err, errlen);
	if (rc == 1) {
		t.line = 0;
		*cmd = t;
	}
	return rc;
}

int hnv_conf_parse_text(const char *text, size_t len, struct hnv_conf_cmd **cmds, size_t *n,
			char *err, size_t errlen)
{
	char msg[MSG_MAX];
	struct hnv_conf_cmd *arr = NULL;
	size_t cnt = 0, cap = 0, off = 0;
	unsigned lineno = 0;
	int rc = 0;

	if (cmds == NULL || n == NULL || (text == NULL && len > 0)) {
		seterr(err, errlen, "no text to parse");
		return -EINVAL;
	}
	*cmds = NULL;
	*n = 0;
	while (off < len) {
		const char *ls = text + off;
		const char *nl = memchr(ls, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - ls) : len - off;
		off += ll + (nl ? 1 : 0);
		if (lineno == UINT32_MAX) {
			seterr(err, errlen, "too many lines");
			rc = -EINVAL;
			break;
		}
		lineno++;
		if (ll > 0 && ls[ll - 1] == '\r')
			ll--;
		if (ll > CONF_LINE_MAX) {
			seterr(err, errlen, "line %u: line too long (more than %d bytes)", lineno,
			       CONF_LINE_MAX);
			rc = -EINVAL;
			break;
		}
		const char *nul = memchr(ls, '\0', ll);
		if (nul) {
			seterr(err, errlen, "line %u: NUL byte at column %zu", lineno,
			       (size_t)(nul - ls) + 1);
			rc = -EINVAL;
			break;
		}
		struct hnv_conf_cmd c;
		rc = parse_words(ls, ll, &c, msg, sizeof(msg));
		if (rc < 0) {
			seterr(err, errlen, "line %u: %s", lineno, msg);
			break;
		}
		if (rc == 0)
			continue;
		c.line = lineno;
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct hnv_conf_cmd *na = NULL;
			if (ncap <= SIZE_MAX / sizeof(*arr))
				na = realloc(arr, ncap * sizeof(*arr));
			if (na == NULL) {
				seterr(err, errlen, "line %u: out of memory", lineno);
				rc = -ENOMEM;
				break;
			}
			arr = na;
			cap = ncap;
		}
		arr[cnt++] = c;
		rc = 0;
	}
	if (rc < 0) {
		free(arr);
		return rc;
	}
	*cmds = arr; /* NULL when the text holds no command */
	*n = cnt;
	return 0;
}

/* ---- applier ---- */

static const char *errno_text(int rc)
{
	switch (rc) {
	case -EINVAL:
		return "invalid value";
	case -EEXIST:
		return "already exists";
	case -ENOENT:
		return "not found";
	case -ENOSPC:
		return "table full";
	case -ENOMEM:
		return "out of memory";
	case -EBUSY:
		return "in use";
	case -EXDEV:
		return "in another routing domain";
	default:
		return "failed";
	}
}

/* The default gateway of a prefix: its lowest usable address. */
static void gateway_of(const struct hnv_prefix *p, struct hnv_ip *gw)
{
	*gw = p->addr;
	for (int i = 15; i >= 0; i--)
		if (++gw->b[i] != 0)
			break;
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static int vsid_missing(const char *cmd, uint32_t vsid, char *err, size_t errlen)
{
	seterr(err, errlen, "%s: VSID %u is not configured (vsubnet add %u first)", cmd, vsid,
	       vsid);
	return -ENOENT;
}

/* A CA must lie inside one of the VSID's prefixes and not be the default
 * gateway of that prefix (HNV reserves it on every host). */
static int check_ca(const char *cmd, const struct hnv_vsubnet_spec *vs, const struct hnv_ip *ca,
		    char *err, size_t errlen)
{
	char a[INET6_ADDRSTRLEN], pl[64] = "";
	unsigned np = vs->n_prefixes < HNV_VSUBNET_MAX_PREFIXES ? vs->n_prefixes
								: HNV_VSUBNET_MAX_PREFIXES;
	hnv_fmt_ip(ca, a, sizeof(a));
	for (unsigned i = 0; i < np; i++) {
		const struct hnv_prefix *p = &vs->prefixes[i];
		if (!hnv_prefix_contains(p, ca))
			continue;
		struct hnv_ip gw;
		gateway_of(p, &gw);
		if (hnv_ip_eq(&gw, ca)) {
			hnv_fmt_prefix(p, pl, sizeof(pl));
			seterr(err, errlen, "%s: CA %s is the default gateway of VSID %u (%s)", cmd,
			       a, vs->vsid, pl);
			return -EINVAL;
		}
		return 0;
	}
	char list[HNV_VSUBNET_MAX_PREFIXES * 52] = "";
	size_t o = 0;
	for (unsigned i = 0; i < np; i++) {
		hnv_fmt_prefix(&vs->prefixes[i], pl, sizeof(pl));
		int k = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", pl);
		if (k < 0 || (size_t)k >= sizeof(list) - o)
			break;
		o += (size_t)k;
	}
	seterr(err, errlen, "%s: CA %s is outside the prefixes of VSID %u (%s)", cmd, a, vs->vsid,
	       list);
	return -EINVAL;
}

static int apply_rdomain(struct hnv_policy *p, const struct hnv_conf_cmd *c, char *err,
			 size_t errlen)
{
	const char *name = c->u.rdomain.name;
	bool add = c->kind == HNV_CONF_RDOMAIN_ADD;
	const char *cmd = add ? "rdomain add" : "rdomain del";
	char g[40];
	if (!terminated(name, sizeof(c->u.rdomain.name))) {
		seterr(err, errlen, "%s: name is not terminated", cmd);
		return -EINVAL;
	}
	hnv_fmt_guid(&c->u.rdomain.rdid, g, sizeof(g));
	int rc = add ? hnv_policy_rdomain_add(p, name, &c->u.rdomain.rdid)
		     : hnv_policy_rdomain_del(p, name);
	if (rc == -EEXIST)
		seterr(err, errlen,
		       "%s: rdomain \"%s\" already exists, or RDID %s belongs to another rdomain",
		       cmd, name, g);
	else if (rc == -ENOENT)
		seterr(err, errlen, "%s: rdomain \"%s\" not found", cmd, name);
	else if (rc == -EBUSY)
		seterr(err, errlen,
		       "%s: rdomain \"%s\" is in use (delete its vsubnets and routes first)", cmd,
		       name);
	else if (rc < 0)
		seterr(err, errlen, "%s: rdomain \"%s\"%s%s: %s", cmd, name, add ? " " : "",
		       add ? g : "", errno_text(rc));
	return rc < 0 ? rc : 0;
}

static int apply_vsubnet(struct hnv_policy *p, const struct hnv_conf_cmd *c, char *err,
			 size_t errlen)
{
	const struct hnv_vsubnet_spec *s = &c->u.vsubnet;
	bool add = c->kind == HNV_CONF_VSUBNET_ADD;
	const char *cmd = add ? "vsubnet add" : "vsubnet del";
	if (add && !terminated(s->rdomain, sizeof(s->rdomain))) {
		seterr(err, errlen, "%s: rdomain name is not terminated", cmd);
		return -EINVAL;
	}
	int rc = add ? hnv_policy_vsubnet_add(p, s) : hnv_policy_vsubnet_del(p, s->vsid);
	if (rc == -EEXIST)
		seterr(err, errlen, "%s: VSID %u already exists", cmd, s->vsid);
	else if (rc == -ENOENT && add)
		seterr(err, errlen, "%s: routing domain \"%s\" not found", cmd, s->rdomain);
	else if (rc == -ENOENT)
		seterr(err, errlen, "%s: VSID %u is not configured", cmd, s->vsid);
	else if (rc == -EBUSY)
		seterr(err, errlen,
		       "%s: VSID %u is in use (delete its ports, lookup records and routes first)",
		       cmd, s->vsid);
	else if (rc < 0)
		seterr(err, errlen, "%s: VSID %u: %s", cmd, s->vsid, errno_text(rc));
	return rc < 0 ? rc : 0;
}

static int apply_pa(struct hnv_policy *p, const struct hnv_conf_cmd *c, char *err, size_t errlen)
{
	bool add = c->kind == HNV_CONF_PA_ADD;
	const char *cmd = add ? "pa add" : "pa del";
	char a[INET6_ADDRSTRLEN];
	hnv_fmt_ip(&c->u.pa.addr.addr, a, sizeof(a));
	int rc = add ? hnv_policy_pa_add(p, &c->u.pa.addr)
		     : hnv_policy_pa_del(p, &c->u.pa.addr.addr);
	if (rc == -EEXIST)
		seterr(err, errlen, "%s: provider address %s already exists", cmd, a);
	else if (rc == -ENOENT)
		seterr(err, errlen, "%s: provider address %s not found", cmd, a);
	else if (rc < 0)
		seterr(err, errlen, "%s: provider address %s: %s", cmd, a, errno_text(rc));
	return rc < 0 ? rc : 0;
}

static int apply_port(struct hnv_policy *p, const struct hnv_conf_cmd *c, char *err, size_t errlen)
{
	const struct hnv_port_spec *s = &c->u.port;
	bool add = c->kind == HNV_CONF_PORT_ADD;
	const char *cmd = add ? "port add" : "port del";
	int rc;
	if (!terminated(s->name, sizeof(s->name))) {
		seterr(err, errlen, "%s: name is not terminated", cmd);
		return -EINVAL;
	}
	if (!add) {
		rc = hnv_policy_port_del(p, s->name);
		if (rc == -ENOENT)
			seterr(err, errlen, "%s: port \"%s\" not found", cmd, s->name);
		else if (rc < 0)
			seterr(err, errlen, "%s: port \"%s\": %s", cmd, s->name, errno_text(rc));
		return rc < 0 ? rc : 0;
	}
	if (s->n_cas == 0 || s->n_cas > HNV_PORT_MAX_CAS) {
		seterr(err, errlen, "%s: port \"%s\" needs 1-%d CAs", cmd, s->name,
		       HNV_PORT_MAX_CAS);
		return -EINVAL;
	}
	struct hnv_vsubnet_spec vs;
	if (hnv_policy_vsubnet_get(p, s->vsid, &vs) < 0)
		return vsid_missing(cmd, s->vsid, err, errlen);
	for (unsigned i = 0; i < s->n_cas; i++) {
		rc = check_ca(cmd, &vs, &s->cas[i], err, errlen);
		if (rc < 0)
			return rc;
	}
	rc = hnv_policy_port_add(p, s);
	if (rc == -EEXIST) {
		char m[18];
		hnv_fmt_mac(&s->mac, m, sizeof(m));
		seterr(err, errlen,
		       "%s: port \"%s\" already exists, or MAC %s is already a port of VSID %u",
		       cmd, s->name, m, s->vsid);
	} else if (rc == -ENOENT) {
		return vsid_missing(cmd, s->vsid, err, errlen);
	} else if (rc < 0) {
		seterr(err, errlen, "%s: port \"%s\": %s", cmd, s->name, errno_text(rc));
	}
	return rc < 0 ? rc : 0;
}

static int apply_lookup(struct hnv_policy *p, const struct hnv_conf_cmd *c, char *err,
			size_t errlen)
{
	const struct hnv_lookup_spec *s = &c->u.lookup;
	const char *cmd = c->kind == HNV_CONF_LOOKUP_ADD   ? "lookup add"
			  : c->kind == HNV_CONF_LOOKUP_SET ? "lookup set"
							   : "lookup del";
	char a[INET6_ADDRSTRLEN], m[18], rec[96];
	int rc;
	hnv_fmt_ip(&s->ca, a, sizeof(a));
	hnv_fmt_mac(&s->mac, m, sizeof(m));
	snprintf(rec, sizeof(rec), "VSID %u CA %s MAC %s", s->vsid, a, m);
	if (c->kind == HNV_CONF_LOOKUP_DEL) {
		rc = hnv_policy_lookup_del(p, s->vsid, &s->ca, &s->mac);
		if (rc == -ENOENT)
			seterr(err, errlen, "%s: no record %s", cmd, rec);
		else if (rc < 0)
			seterr(err, errlen, "%s: record %s: %s", cmd, rec, errno_text(rc));
		return rc < 0 ? rc : 0;
	}
	if (!terminated(s->vm_name, sizeof(s->vm_name)) ||
	    !terminated(s->context, sizeof(s->context))) {
		seterr(err, errlen, "%s: VM name or context is not terminated", cmd);
		return -EINVAL;
	}
	struct hnv_vsubnet_spec vs;
	if (hnv_policy_vsubnet_get(p, s->vsid, &vs) < 0)
		return vsid_missing(cmd, s->vsid, err, errlen);
	if (!hnv_ip_is_unspec(&s->ca)) {
		rc = check_ca(cmd, &vs, &s->ca, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (c->kind == HNV_CONF_LOOKUP_ADD) {
		rc = hnv_policy_lookup_add(p, s);
		if (rc == -EEXIST)
			seterr(err, errlen,
			       "%s: record %s already exists, or another record of VSID %u has "
			       "CA %s%s",
			       cmd, rec, s->vsid, a,
			       hnv_ip_is_unspec(&s->ca) ? " (one gateway-wildcard per family)"
							: "");
		else if (rc == -ENOENT)
			return vsid_missing(cmd, s->vsid, err, errlen);
		else if (rc < 0)
			seterr(err, errlen, "%s: record %s: %s", cmd, rec, errno_text(rc));
	} else {
		rc = hnv_policy_lookup_set(p, s);
		if (rc == -ENOENT)
			seterr(err, errlen, "%s: no record %s", cmd, rec);
		else if (rc < 0)
			seterr(err, errlen, "%s: record %s: %s", cmd, rec, errno_text(rc));
	}
	return rc < 0 ? rc : 0;
}

static int apply_route(struct hnv_policy *p, const struct hnv_conf_cmd *c, char *err, size_t errlen)
{
	const struct hnv_route_spec *s = &c->u.route;
	bool add = c->kind == HNV_CONF_ROUTE_ADD;
	const char *cmd = add ? "route add" : "route del";
	char pfx[64], nh[INET6_ADDRSTRLEN];
	int rc;
	if (!terminated(s->rdomain, sizeof(s->rdomain))) {
		seterr(err, errlen, "%s: rdomain name is not terminated", cmd);
		return -EINVAL;
	}
	hnv_fmt_prefix(&s->prefix, pfx, sizeof(pfx));
	hnv_fmt_ip(&s->nexthop, nh, sizeof(nh));
	if (!add) {
		rc = hnv_policy_route_del(p, s->rdomain, &s->prefix, &s->nexthop);
		if (rc == -ENOENT)
			seterr(err, errlen,
			       "%s: no route %s via %s in routing domain \"%s\" (or no such "
			       "routing domain)",
			       cmd, pfx, nh, s->rdomain);
		else if (rc < 0)
			seterr(err, errlen, "%s: route %s via %s: %s", cmd, pfx, nh,
			       errno_text(rc));
		return rc < 0 ? rc : 0;
	}
	struct hnv_vsubnet_spec vs;
	bool have_vs = hnv_policy_vsubnet_get(p, s->vsid, &vs) == 0;
	rc = hnv_policy_route_add(p, s);
	if (rc == -ENOENT && !have_vs)
		return vsid_missing(cmd, s->vsid, err, errlen);
	if (rc == -ENOENT)
		seterr(err, errlen, "%s: routing domain \"%s\" not found", cmd, s->rdomain);
	else if (rc == -EXDEV && have_vs)
		seterr(err, errlen, "%s: VSID %u belongs to routing domain \"%s\", not \"%s\"", cmd,
		       s->vsid, vs.rdomain, s->rdomain);
	else if (rc == -EEXIST)
		seterr(err, errlen, "%s: route %s via %s already exists in routing domain \"%s\"",
		       cmd, pfx, nh, s->rdomain);
	else if (rc < 0)
		seterr(err, errlen, "%s: route %s via %s in routing domain \"%s\": %s", cmd, pfx,
		       nh, s->rdomain, errno_text(rc));
	return rc < 0 ? rc : 0;
}

static int apply_global(struct hnv_dp *dp, const struct hnv_conf_cmd *c, char *err, size_t errlen)
{
	const struct hnv_conf_global *g = &c->u.global;
	if (g->has_uplink_mtu && (g->uplink_mtu < 576 || g->uplink_mtu > 9000)) {
		seterr(err, errlen, "global set: uplink MTU %u is outside 576-9000", g->uplink_mtu);
		return -EINVAL;
	}
	if (g->has_gateway_mac)
		hnv_dp_set_gateway_mac(dp, &g->gateway_mac);
	if (g->has_flowid)
		hnv_dp_set_flowid(dp, g->flowid);
	/* The uplink MAC belongs to the I/O layer: NULL keeps it (dp.h). */
	if (g->has_uplink_mtu)
		hnv_dp_set_uplink(dp, NULL, g->uplink_mtu);
	return 0;
}

static int apply_one(struct hnv_dp *dp, struct hnv_policy *p, const struct hnv_conf_cmd *c,
		     char *err, size_t errlen)
{
	switch (c->kind) {
	case HNV_CONF_RDOMAIN_ADD:
	case HNV_CONF_RDOMAIN_DEL:
		return apply_rdomain(p, c, err, errlen);
	case HNV_CONF_VSUBNET_ADD:
	case HNV_CONF_VSUBNET_DEL:
		return apply_vsubnet(p, c, err, errlen);
	case HNV_CONF_PA_ADD:
	case HNV_CONF_PA_DEL:
		return apply_pa(p, c, err, errlen);
	case HNV_CONF_PORT_ADD:
	case HNV_CONF_PORT_DEL:
		return apply_port(p, c, err, errlen);
	case HNV_CONF_LOOKUP_ADD:
	case HNV_CONF_LOOKUP_SET:
	case HNV_CONF_LOOKUP_DEL:
		return apply_lookup(p, c, err, errlen);
	case HNV_CONF_ROUTE_ADD:
	case HNV_CONF_ROUTE_DEL:
		return apply_route(p, c, err, errlen);
	case HNV_CONF_GLOBAL_SET:
		return apply_global(dp, c, err, errlen);
	}
	seterr(err, errlen, "unknown command kind %d", (int)c->kind);
	return -EINVAL;
}

int hnv_conf_apply(struct hnv_dp *dp, const struct hnv_conf_cmd *cmds, size_t n, char *err,
		   size_t errlen)
{
	char msg[MSG_MAX];
	if (dp == NULL || (cmds == NULL && n > 0)) {
		seterr(err, errlen, "nothing to apply to");
		return -EINVAL;
	}
	struct hnv_policy *p = hnv_dp_policy(dp);
	int rc = 0;
	size_t i;
	for (i = 0; i < n; i++) {
		rc = apply_one(dp, p, &cmds[i], msg, sizeof(msg));
		if (rc < 0)
			break;
	}
	/* Publish even after a failure: readers see what was applied. */
	int crc = hnv_policy_commit(p);
	if (rc < 0) {
		if (cmds[i].line)
			seterr(err, errlen, "line %u: %s", cmds[i].line, msg);
		else
			seterr(err, errlen, "%s", msg);
		return rc;
	}
	if (crc < 0) {
		seterr(err, errlen, "commit: %s", errno_text(crc));
		return crc;
	}
	return 0;
}
