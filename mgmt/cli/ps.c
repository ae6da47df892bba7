/* ps.c: the NetWNV (Hyper-V PowerShell) front end (interface in ps.h).
 *
 * Three stages, each trusting only what the previous one guarantees:
 *   lexer    script bytes -> tokens: quotes, escapes, line continuations and
 *            comments resolved; every token knows its line and column;
 *   binder   tokens -> statements: cmdlet names resolved, parameters
 *            matched by unambiguous prefix, every value converted to its
 *            type (address, MAC, GUID, VSID, enum, ...), mandatory and
 *            single-value parameters checked. Any error in these two stages
 *            is a syntax error: hnv_ps_run returns 2 and nothing runs;
 *   runner   statements -> show/exec/nexthop calls through hnv_ps_io. Each
 *            statement (a pipeline included) is one exec, one transaction;
 *            an error is reported as "Cmdlet : message" and the script goes
 *            on with the next statement.
 *
 * What needs the running state (does VSID 5001 exist? which rdomain has
 * this RDID? which interface has index 3?) is checked by the runner; what
 * the daemon checks anyway (references, CA inside the subnet, address
 * families) is left to it, so there is one authority.
 *
 * Order independence: New-NetVirtualizationLookupRecord needs its virtual
 * subnet. When the VSID is unknown but a later statement of the same
 * script is a New-NetVirtualizationCustomerRoute for that VSID (Microsoft's
 * demo scripts add lookup records before routes), the record waits and is
 * committed, as its own transaction, right after that route succeeds.
 * Get-NetVirtualizationLookupRecord does not see waiting records. A record
 * whose VSID is unknown with no such route later fails at once.
 */
#include "ps.h"

#include "../conftext.h"

#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PS_SCRIPT_MAX (1u << 20) /* bytes of one script, like one API request */
#define PS_LIST_MAX 4096         /* values of one comma list */
#define PS_VALUE_MAX 4096        /* bytes of one value: a config line is no longer */
#define MSG_MAX 512              /* one error message */
#define SHOW_MAX 64              /* bytes of a value quoted in a message */

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* ---- characters (ASCII, independent of the locale) ---- */

static bool is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool caseeq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower(*a) != lower(*b))
			return false;
	return *a == *b;
}

/* True when s begins with prefix p, ignoring case. */
static bool caseprefix(const char *s, const char *p)
{
	for (; *p; s++, p++)
		if (*s == '\0' || lower(*s) != lower(*p))
			return false;
	return true;
}

static bool is_ctrl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* A value for a message: at most SHOW_MAX bytes, control characters as
 * '?', "..." when cut. buf has SHOW_MAX + 4 bytes. */
#define SHOWBUF (SHOW_MAX + 4)
static const char *show(const char *s, char buf[SHOWBUF])
{
	size_t i = 0;
	for (; s[i] && i < SHOW_MAX; i++)
		buf[i] = is_ctrl((unsigned char)s[i]) ? '?' : s[i];
	if (s[i])
		memcpy(buf + i, "...", 3), i += 3;
	buf[i] = '\0';
	return buf;
}

/* A token described for a message: "string \"...\"" and the like. */
#define DESCBUF (SHOWBUF + 16)

/* ---- tokens ---- */

enum tk {
	TK_WORD,   /* a bare word: cmdlet name or unquoted value */
	TK_STRING, /* a quoted string, quotes and escapes resolved */
	TK_PARAM,  /* -Name or -Name: (s is the name without '-' and ':') */
	TK_TRUE,   /* $true */
	TK_FALSE,  /* $false */
	TK_COMMA,
	TK_PIPE,
	TK_NL,   /* end of line */
	TK_SEMI, /* ; */
	TK_EOF,
};

struct tok {
	enum tk kind;
	bool colon; /* TK_PARAM written as -Name: */
	unsigned line, col;
	const char *s; /* NUL-terminated; for punctuation a description */
};

struct lex {
	const char *src;
	size_t len, i;
	unsigned line;
	size_t bol; /* offset of the current line's first byte */
	char *arena;
	size_t alen, acap;
	struct tok *t;
	size_t n, cap;
	char *msg; /* MSG_MAX bytes: "line N: ..." on error */
};

/* msg (MSG_MAX bytes) = "line N: " and the formatted message. */
static void line_msg(char *msg, unsigned line, const char *fmt, va_list ap)
{
	int k = snprintf(msg, MSG_MAX, "line %u: ", line);
	if (k > 0 && k < MSG_MAX)
		vsnprintf(msg + k, MSG_MAX - (size_t)k, fmt, ap);
}

static int PRINTF_LIKE(3, 4) lex_err(struct lex *lx, unsigned line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	line_msg(lx->msg, line, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static unsigned col_of(const struct lex *lx, size_t off)
{
	size_t c = off - lx->bol + 1;
	return c > UINT32_MAX ? UINT32_MAX : (unsigned)c;
}

static int push_tok(struct lex *lx, enum tk kind, unsigned line, unsigned col, const char *s,
		    bool colon)
{
	if (lx->n == lx->cap) {
		size_t cap = lx->cap ? lx->cap * 2 : 64;
		if (cap > SIZE_MAX / sizeof(*lx->t))
			return lex_err(lx, line, "out of memory");
		struct tok *t = realloc(lx->t, cap * sizeof(*t));
		if (t == NULL)
			return lex_err(lx, line, "out of memory");
		lx->t = t;
		lx->cap = cap;
	}
	lx->t[lx->n++] = (struct tok){kind, colon, line, col, s};
	return 0;
}

/* The arena holds every word's text. A word of k source bytes yields at
 * most k bytes plus its NUL, and every token consumes at least one source
 * byte, so 2 * len + 1 bytes always suffice; checked anyway. */
static int put(struct lex *lx, char c)
{
	if (lx->alen >= lx->acap)
		return lex_err(lx, lx->line, "token text overflows its buffer");
	lx->arena[lx->alen++] = c;
	return 0;
}

static void newline(struct lex *lx, size_t next)
{
	if (lx->line < UINT32_MAX)
		lx->line++;
	lx->bol = next;
}

/* Length of the line break at i ("\n", "\r\n", "\r"), 0 if none. */
static size_t eol_at(const struct lex *lx, size_t i)
{
	if (i >= lx->len)
		return 0;
	if (lx->src[i] == '\n')
		return 1;
	if (lx->src[i] == '\r')
		return (i + 1 < lx->len && lx->src[i + 1] == '\n') ? 2 : 1;
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

/* PowerShell also accepts the typographic quotes and dashes that editors
 * and web pages substitute; scripts pasted from documentation carry them.
 * Returns the byte length of a UTF-8 en dash, em dash or horizontal bar at
 * i, else 0. */
static size_t dash_at(const struct lex *lx, size_t i)
{
	if (i < lx->len && lx->src[i] == '-')
		return 1;
	if (i + 2 < lx->len && (unsigned char)lx->src[i] == 0xe2 &&
	    (unsigned char)lx->src[i + 1] == 0x80) {
		unsigned char c = (unsigned char)lx->src[i + 2];
		if (c >= 0x93 && c <= 0x95)
			return 3;
	}
	return 0;
}

/* A quote at i: sets *q to '\'' or '"' and returns its byte length (1, or
 * 3 for U+2018-U+201B and U+201C-U+201E), else 0. */
static size_t quote_at(const struct lex *lx, size_t i, char *q)
{
	if (i >= lx->len)
		return 0;
	char c = lx->src[i];
	if (c == '\'' || c == '"') {
		*q = c;
		return 1;
	}
	if (i + 2 < lx->len && (unsigned char)c == 0xe2 && (unsigned char)lx->src[i + 1] == 0x80) {
		unsigned char d = (unsigned char)lx->src[i + 2];
		if (d >= 0x98 && d <= 0x9b) {
			*q = '\'';
			return 3;
		}
		if (d >= 0x9c && d <= 0x9e) {
			*q = '"';
			return 3;
		}
	}
	return 0;
}

/* After a quoted string or $true: the next byte must end the token. */
static bool ends_token(const struct lex *lx, size_t i)
{
	if (i >= lx->len)
		return true;
	char c = lx->src[i];
	return is_space(c) || c == '\n' || c == '\r' || c == ';' || c == '|' || c == ',';
}

static int after_token(struct lex *lx, const char *what, unsigned line)
{
	if (ends_token(lx, lx->i))
		return 0;
	unsigned char c = (unsigned char)lx->src[lx->i];
	if (is_ctrl(c) || c >= 0x80)
		return lex_err(lx, line, "unexpected byte 0x%02x after %s", c, what);
	return lex_err(lx, line, "unexpected '%c' after %s", c, what);
}

static int lex_string(struct lex *lx, char q, size_t qlen)
{
	unsigned line = lx->line, col = col_of(lx, lx->i);
	const char *s = lx->arena + lx->alen;
	int rc;
	lx->i += qlen;
	for (;;) {
		if (lx->i >= lx->len)
			return lex_err(lx, line,
				       "unterminated %s-quoted string starting at column %u",
				       q == '"' ? "double" : "single", col);
		char cq;
		size_t n = quote_at(lx, lx->i, &cq);
		if (n && cq == q) {
			/* a doubled quote is one quote character */
			char cq2;
			size_t n2 = quote_at(lx, lx->i + n, &cq2);
			if (n2 && cq2 == q) {
				if ((rc = put(lx, q)) < 0)
					return rc;
				lx->i += n + n2;
				continue;
			}
			lx->i += n;
			break;
		}
		size_t e = eol_at(lx, lx->i);
		if (e) {
			for (size_t k = 0; k < e; k++)
				if ((rc = put(lx, lx->src[lx->i + k])) < 0)
					return rc;
			lx->i += e;
			newline(lx, lx->i);
			continue;
		}
		char c = lx->src[lx->i];
		if (q == '"' && c == '`') {
			if (lx->i + 1 >= lx->len)
				return lex_err(
					lx, line,
					"unterminated double-quoted string starting at column %u",
					col);
			char x = lx->src[lx->i + 1];
			size_t e2 = eol_at(lx, lx->i + 1);
			if (e2) {
				for (size_t k = 0; k < e2; k++)
					if ((rc = put(lx, lx->src[lx->i + 1 + k])) < 0)
						return rc;
				lx->i += 1 + e2;
				newline(lx, lx->i);
				continue;
			}
			switch (x) {
			case '0':
				return lex_err(lx, lx->line,
					       "\"`0\" (NUL) is not allowed in a string");
			case 'a':
				x = '\a';
				break;
			case 'b':
				x = '\b';
				break;
			case 'e':
				x = 0x1b;
				break;
			case 'f':
				x = '\f';
				break;
			case 'n':
				x = '\n';
				break;
			case 'r':
				x = '\r';
				break;
			case 't':
				x = '\t';
				break;
			case 'v':
				x = '\v';
				break;
			default:
				break; /* any other character stands for itself */
			}
			if (x == '\0')
				return lex_err(lx, lx->line, "NUL byte in a string");
			if ((rc = put(lx, x)) < 0)
				return rc;
			lx->i += 2;
			continue;
		}
		if (q == '"' && c == '$' && lx->i + 1 < lx->len) {
			char x = lx->src[lx->i + 1];
			if (is_alpha(x) || x == '_' || x == '{' || x == '(' || x == '$' ||
			    x == '?' || x == '^' || x == ':')
				return lex_err(
					lx, lx->line,
					"variables and expressions are not supported in strings "
					"(write `$ for a literal $, or use single quotes)");
		}
		if (c == '\0' || (is_ctrl((unsigned char)c) && c != '\t'))
			return lex_err(lx, lx->line, "control character 0x%02x in a string",
				       (unsigned char)c);
		if ((rc = put(lx, c)) < 0)
			return rc;
		lx->i++;
	}
	if ((rc = put(lx, '\0')) < 0)
		return rc;
	if ((rc = after_token(lx, "the closing quote", lx->line)) < 0)
		return rc;
	return push_tok(lx, TK_STRING, line, col, s, false);
}

static int lex_variable(struct lex *lx)
{
	unsigned line = lx->line, col = col_of(lx, lx->i);
	size_t start = ++lx->i;
	while (lx->i < lx->len &&
	       (is_alpha(lx->src[lx->i]) || is_digit(lx->src[lx->i]) || lx->src[lx->i] == '_'))
		lx->i++;
	size_t n = lx->i - start;
	const char *v = lx->src + start;
	if (n == 4 && caseprefix(v, "true")) {
		int rc = after_token(lx, "$true", line);
		return rc < 0 ? rc : push_tok(lx, TK_TRUE, line, col, "$true", false);
	}
	if (n == 5 && caseprefix(v, "false")) {
		int rc = after_token(lx, "$false", line);
		return rc < 0 ? rc : push_tok(lx, TK_FALSE, line, col, "$false", false);
	}
	if (n == 0)
		return lex_err(lx, line,
			       "variables and expressions are not supported (\"$\" at column %u)",
			       col);
	return lex_err(lx, line,
		       "variables are not supported: $%.*s (only $true and $false; write the value "
		       "itself)",
		       (int)(n > SHOW_MAX ? SHOW_MAX : n), v);
}

/* -Name or -Name: ; dlen is the length of the dash at i. */
static int lex_param(struct lex *lx, size_t dlen)
{
	unsigned line = lx->line, col = col_of(lx, lx->i);
	const char *s = lx->arena + lx->alen;
	int rc;
	lx->i += dlen;
	while (lx->i < lx->len &&
	       (is_alpha(lx->src[lx->i]) || is_digit(lx->src[lx->i]) || lx->src[lx->i] == '_')) {
		if ((rc = put(lx, lx->src[lx->i])) < 0)
			return rc;
		lx->i++;
	}
	if ((rc = put(lx, '\0')) < 0)
		return rc;
	bool colon = lx->i < lx->len && lx->src[lx->i] == ':';
	if (colon)
		lx->i++;
	else if (!ends_token(lx, lx->i)) {
		unsigned char c = (unsigned char)lx->src[lx->i];
		if (is_ctrl(c) || c >= 0x80)
			return lex_err(lx, line, "unexpected byte 0x%02x in parameter -%.64s", c,
				       s);
		return lex_err(lx, line,
			       "unexpected '%c' in parameter -%.64s (write -%.64s value or "
			       "-%.64s:value)",
			       c, s, s, s);
	}
	return push_tok(lx, TK_PARAM, line, col, s, colon);
}

static int lex_word(struct lex *lx)
{
	unsigned line = lx->line, col = col_of(lx, lx->i);
	const char *s = lx->arena + lx->alen;
	int rc;
	while (lx->i < lx->len) {
		char c = lx->src[lx->i], q;
		if (is_space(c) || c == '\n' || c == '\r' || c == ';' || c == '|' || c == ',')
			break;
		if (c == '`') {
			size_t k = lx->i + 1;
			if (k >= lx->len)
				return lex_err(lx, line, "backtick at the end of the script");
			if (eol_at(lx, k))
				break; /* a line continuation: the main loop takes it */
			while (k < lx->len && is_space(lx->src[k]))
				k++;
			if (k > lx->i + 1 && (k == lx->len || eol_at(lx, k)))
				return lex_err(
					lx, line,
					"backtick at column %u is followed by spaces (a line "
					"continuation backtick must be the last character of "
					"the line)",
					col_of(lx, lx->i));
			if ((rc = put(lx, lx->src[lx->i + 1])) < 0)
				return rc;
			lx->i += 2;
			continue;
		}
		if (quote_at(lx, lx->i, &q))
			return lex_err(lx, line,
				       "quote inside the word starting at column %u "
				       "(quote the whole value)",
				       col);
		if (c == '$')
			return lex_err(lx, line, "variables are not supported (\"$\" at column %u)",
				       col_of(lx, lx->i));
		if (c == '(' || c == ')' || c == '<' || c == '>' || c == '&')
			return lex_err(lx, line,
				       "unsupported character '%c' at column %u (expressions and "
				       "redirection are not supported; quote the value)",
				       c, col_of(lx, lx->i));
		if (c == '\0' || is_ctrl((unsigned char)c))
			return lex_err(lx, line, "control character 0x%02x at column %u",
				       (unsigned char)c, col_of(lx, lx->i));
		if ((rc = put(lx, c)) < 0)
			return rc;
		lx->i++;
	}
	if ((rc = put(lx, '\0')) < 0)
		return rc;
	return push_tok(lx, TK_WORD, line, col, s, false);
}

static int lex_all(struct lex *lx)
{
	int rc = 0;
	/* a UTF-8 byte order mark, as Windows editors save .ps1 files */
	if (lx->len >= 3 && memcmp(lx->src, "\xef\xbb\xbf", 3) == 0)
		lx->i = lx->bol = 3;
	while (rc == 0 && lx->i < lx->len) {
		const char *src = lx->src;
		size_t i = lx->i;
		char c = src[i], q;
		unsigned col = col_of(lx, i);
		size_t n;
		if (is_space(c)) {
			lx->i++;
		} else if ((n = eol_at(lx, i)) != 0) {
			rc = push_tok(lx, TK_NL, lx->line, col, "end of line", false);
			lx->i += n;
			newline(lx, lx->i);
		} else if (c == '#') {
			while (lx->i < lx->len && !eol_at(lx, lx->i))
				lx->i++;
		} else if (c == '<' && i + 1 < lx->len && src[i + 1] == '#') {
			unsigned line = lx->line;
			lx->i += 2;
			for (;;) {
				if (lx->i + 1 >= lx->len) {
					rc = lex_err(lx, line, "unterminated <# comment");
					break;
				}
				if (src[lx->i] == '#' && src[lx->i + 1] == '>') {
					lx->i += 2;
					break;
				}
				size_t e = eol_at(lx, lx->i);
				lx->i += e ? e : 1;
				if (e)
					newline(lx, lx->i);
			}
		} else if (c == '`' && (n = eol_at(lx, i + 1)) != 0) {
			lx->i += 1 + n; /* line continuation */
			newline(lx, lx->i);
		} else if (c == '`') {
			rc = lex_word(lx);
		} else if (c == ';') {
			rc = push_tok(lx, TK_SEMI, lx->line, col, "';'", false);
			lx->i++;
		} else if (c == '|') {
			if (i + 1 < lx->len && src[i + 1] == '|')
				rc = lex_err(lx, lx->line, "'||' is not supported");
			else
				rc = push_tok(lx, TK_PIPE, lx->line, col, "'|'", false);
			lx->i++;
		} else if (c == ',') {
			rc = push_tok(lx, TK_COMMA, lx->line, col, "','", false);
			lx->i++;
		} else if ((n = quote_at(lx, i, &q)) != 0) {
			rc = lex_string(lx, q, n);
		} else if (c == '$') {
			rc = lex_variable(lx);
		} else if ((n = dash_at(lx, i)) != 0 && i + n < lx->len && is_alpha(src[i + n])) {
			rc = lex_param(lx, n);
		} else if (c == '(' || c == ')' || c == '@' || c == '&' || c == '<' || c == '>') {
			rc = lex_err(lx, lx->line,
				     "unsupported character '%c' at column %u (expressions, script "
				     "blocks and redirection are not supported)",
				     c, col);
		} else if (c == '\0' || is_ctrl((unsigned char)c)) {
			rc = lex_err(lx, lx->line, "control character 0x%02x at column %u",
				     (unsigned char)c, col);
		} else {
			rc = lex_word(lx);
		}
	}
	if (rc == 0)
		rc = push_tok(lx, TK_EOF, lx->line, col_of(lx, lx->i), "end of script", false);
	return rc;
}

/* ---- parameters and cmdlets ---- */

enum pid {
	P_CUSTOMER_ADDRESS,
	P_VSID,
	P_MAC,
	P_PROVIDER_ADDRESS,
	P_CUSTOMER_ID,
	P_CONTEXT,
	P_RULE,
	P_VM_NAME,
	P_USE_VM_MAC,
	P_TYPE,
	P_UNUSABLE,
	P_UNSYNCHRONIZED,
	P_RDID,
	P_DEST_PREFIX,
	P_NEXTHOP,
	P_METRIC,
	P_IFINDEX,
	P_PREFIX_LEN,
	P_VLAN,
	P_ADDRESS_STATE,
	P_MANAGED_BY_CLUSTER,
	P_USE_EXT_ROUTER,
	P_SRC_CA,
	P_DST_CA,
	P_SRC_VSID,
	P_CIM_SESSION,
	P_THROTTLE,
	P_AS_JOB,
	P_CONFIRM,
	P_WHATIF,
	P__COUNT
};

enum vtype {
	V_UINT,   /* decimal or 0x hex, in [min, max] */
	V_IP,     /* IPv4 or IPv6 */
	V_MAC,    /* 12 hex digits, or with - or : */
	V_GUID,   /* braces optional */
	V_PREFIX, /* IP/LEN, host bits zero */
	V_RULE,   /* TranslationMethodNat|Encap|None or 35|36|37 */
	V_TYPE,   /* Static|Dynamic|GatewayWildcard|L2Only or 35|36|37|41 */
	V_BOOL,   /* $true, $false, 1, 0; alone: true */
	V_SWITCH, /* alone, or -Name:$true / -Name:$false */
	V_STR,    /* any text without control characters (tab allowed) */
	V_ANY,    /* accepted and ignored */
};

static const struct pdef {
	const char *name;
	enum vtype type;
	uint32_t min, max;
} pdefs[P__COUNT] = {
	[P_CUSTOMER_ADDRESS] = {"CustomerAddress", V_IP, 0, 0},
	[P_VSID] = {"VirtualSubnetID", V_UINT, HNV_VSID_MIN, HNV_VSID_MAX},
	[P_MAC] = {"MACAddress", V_MAC, 0, 0},
	[P_PROVIDER_ADDRESS] = {"ProviderAddress", V_IP, 0, 0},
	[P_CUSTOMER_ID] = {"CustomerID", V_GUID, 0, 0},
	[P_CONTEXT] = {"Context", V_STR, 0, 0},
	[P_RULE] = {"Rule", V_RULE, 0, 0},
	[P_VM_NAME] = {"VMName", V_STR, 0, 0},
	[P_USE_VM_MAC] = {"UseVmMACAddress", V_BOOL, 0, 0},
	[P_TYPE] = {"Type", V_TYPE, 0, 0},
	[P_UNUSABLE] = {"Unusable", V_BOOL, 0, 0},
	[P_UNSYNCHRONIZED] = {"Unsynchronized", V_BOOL, 0, 0},
	[P_RDID] = {"RoutingDomainID", V_GUID, 0, 0},
	[P_DEST_PREFIX] = {"DestinationPrefix", V_PREFIX, 0, 0},
	[P_NEXTHOP] = {"NextHop", V_IP, 0, 0},
	[P_METRIC] = {"Metric", V_UINT, 0, UINT32_MAX},
	[P_IFINDEX] = {"InterfaceIndex", V_UINT, 1, INT32_MAX},
	[P_PREFIX_LEN] = {"PrefixLength", V_UINT, 0, 128},
	[P_VLAN] = {"VlanID", V_UINT, 0, 4094},
	[P_ADDRESS_STATE] = {"AddressState", V_STR, 0, 0},
	[P_MANAGED_BY_CLUSTER] = {"ManagedByCluster", V_BOOL, 0, 0},
	[P_USE_EXT_ROUTER] = {"UseExternalRouter", V_BOOL, 0, 0},
	[P_SRC_CA] = {"SourceCustomerAddress", V_IP, 0, 0},
	[P_DST_CA] = {"DestinationCustomerAddress", V_IP, 0, 0},
	[P_SRC_VSID] = {"SourceVirtualSubnetID", V_UINT, HNV_VSID_MIN, HNV_VSID_MAX},
	[P_CIM_SESSION] = {"CimSession", V_ANY, 0, 0},
	[P_THROTTLE] = {"ThrottleLimit", V_UINT, 0, INT32_MAX},
	[P_AS_JOB] = {"AsJob", V_SWITCH, 0, 0},
	[P_CONFIRM] = {"Confirm", V_SWITCH, 0, 0},
	[P_WHATIF] = {"WhatIf", V_SWITCH, 0, 0},
};

/* Parameter flags within one cmdlet. */
#define F_REQ 0x1    /* mandatory */
#define F_LIST 0x2   /* accepts a comma list */
#define F_FILTER 0x4 /* selects objects (Get/Set/Remove) */
#define F_SET 0x8    /* a value Set-... changes */

struct cparam {
	enum pid id;
	uint8_t flags;
};

enum verb {
	VB_GET,
	VB_NEW,
	VB_SET,
	VB_REMOVE,
	VB_SELECT,
	VB_FORMAT
};
enum noun {
	N_LOOKUP,
	N_CROUTE,
	N_PA,
	N_PROUTE,
	N_GLOBAL,
	N_NEXTHOP,
	N_NONE
};

#define FL (F_FILTER | F_LIST)

static const struct cparam lookup_new[] = {
	{P_CUSTOMER_ADDRESS, F_REQ},
	{P_VSID, F_REQ},
	{P_MAC, F_REQ},
	{P_PROVIDER_ADDRESS, F_REQ},
	{P_RULE, F_REQ},
	{P_CUSTOMER_ID, 0},
	{P_CONTEXT, 0},
	{P_VM_NAME, 0},
	{P_USE_VM_MAC, 0},
	{P_TYPE, 0},
};
static const struct cparam lookup_get[] = {
	{P_CUSTOMER_ADDRESS, FL}, {P_MAC, FL},     {P_VSID, FL},     {P_PROVIDER_ADDRESS, FL},
	{P_CUSTOMER_ID, FL},      {P_CONTEXT, FL}, {P_RULE, FL},     {P_VM_NAME, FL},
	{P_USE_VM_MAC, FL},       {P_TYPE, FL},    {P_UNUSABLE, FL}, {P_UNSYNCHRONIZED, FL},
};
static const struct cparam lookup_set[] = {
	{P_CUSTOMER_ADDRESS, FL}, {P_VSID, FL},       {P_MAC, FL},     {P_PROVIDER_ADDRESS, F_SET},
	{P_CUSTOMER_ID, F_SET},   {P_CONTEXT, F_SET}, {P_RULE, F_SET}, {P_VM_NAME, F_SET},
	{P_USE_VM_MAC, F_SET},
};
static const struct cparam croute_new[] = {
	{P_RDID, F_REQ}, {P_VSID, F_REQ}, {P_DEST_PREFIX, F_REQ}, {P_NEXTHOP, F_REQ}, {P_METRIC, 0},
};
static const struct cparam croute_get[] = {
	{P_RDID, FL}, {P_VSID, FL}, {P_DEST_PREFIX, FL}, {P_NEXTHOP, FL}, {P_METRIC, FL},
};
static const struct cparam croute_set[] = {
	{P_RDID, FL}, {P_VSID, FL}, {P_DEST_PREFIX, FL}, {P_NEXTHOP, FL}, {P_METRIC, F_SET},
};
static const struct cparam pa_new[] = {
	{P_PROVIDER_ADDRESS, F_REQ},
	{P_IFINDEX, F_REQ},
	{P_PREFIX_LEN, F_REQ},
	{P_VLAN, 0},
	{P_MAC, 0},
};
static const struct cparam pa_get[] = {
	{P_PROVIDER_ADDRESS, FL},
	{P_IFINDEX, FL},
	{P_PREFIX_LEN, FL},
	{P_VLAN, FL},
	{P_MAC, FL},
	{P_ADDRESS_STATE, FL},
	{P_MANAGED_BY_CLUSTER, FL},
};
static const struct cparam pa_set[] = {
	{P_PROVIDER_ADDRESS, FL}, {P_IFINDEX, FL}, {P_PREFIX_LEN, F_SET},
	{P_VLAN, F_SET},          {P_MAC, F_SET},
};
static const struct cparam proute_new[] = {
	{P_IFINDEX, F_REQ},
	{P_DEST_PREFIX, F_REQ},
	{P_NEXTHOP, F_REQ},
	{P_METRIC, 0},
};
static const struct cparam proute_get[] = {
	{P_IFINDEX, FL},
	{P_DEST_PREFIX, FL},
	{P_NEXTHOP, FL},
	{P_METRIC, FL},
};
static const struct cparam proute_set[] = {
	{P_IFINDEX, FL},
	{P_DEST_PREFIX, FL},
	{P_NEXTHOP, FL},
	{P_METRIC, F_SET},
};
static const struct cparam global_set[] = {{P_USE_EXT_ROUTER, F_SET}};
static const struct cparam nexthop_sel[] = {
	{P_SRC_CA, 0},
	{P_DST_CA, F_REQ},
	{P_SRC_VSID, F_REQ},
};

/* Every NetWNV cmdlet also takes these; they change nothing here (the
 * transport is the caller's, jobs run synchronously). */
static const struct cparam common_all[] = {
	{P_CIM_SESSION, F_LIST},
	{P_THROTTLE, 0},
	{P_AS_JOB, 0},
};
/* New/Set/Remove also take these. -Confirm cannot prompt and is ignored;
 * -WhatIf prints the config lines instead of committing them. */
static const struct cparam common_change[] = {{P_CONFIRM, 0}, {P_WHATIF, 0}};

struct cmdlet {
	const char *name;
	enum verb verb;
	enum noun noun;
	const struct cparam *p;
	size_t np;
};

#define PARAMS(a) a, sizeof(a) / sizeof(a[0])

static const struct cmdlet cmdlets[] = {
	{"New-NetVirtualizationLookupRecord", VB_NEW, N_LOOKUP, PARAMS(lookup_new)},
	{"Get-NetVirtualizationLookupRecord", VB_GET, N_LOOKUP, PARAMS(lookup_get)},
	{"Set-NetVirtualizationLookupRecord", VB_SET, N_LOOKUP, PARAMS(lookup_set)},
	{"Remove-NetVirtualizationLookupRecord", VB_REMOVE, N_LOOKUP, PARAMS(lookup_get)},
	{"New-NetVirtualizationCustomerRoute", VB_NEW, N_CROUTE, PARAMS(croute_new)},
	{"Get-NetVirtualizationCustomerRoute", VB_GET, N_CROUTE, PARAMS(croute_get)},
	{"Set-NetVirtualizationCustomerRoute", VB_SET, N_CROUTE, PARAMS(croute_set)},
	{"Remove-NetVirtualizationCustomerRoute", VB_REMOVE, N_CROUTE, PARAMS(croute_get)},
	{"New-NetVirtualizationProviderAddress", VB_NEW, N_PA, PARAMS(pa_new)},
	{"Get-NetVirtualizationProviderAddress", VB_GET, N_PA, PARAMS(pa_get)},
	{"Set-NetVirtualizationProviderAddress", VB_SET, N_PA, PARAMS(pa_set)},
	{"Remove-NetVirtualizationProviderAddress", VB_REMOVE, N_PA, PARAMS(pa_get)},
	{"New-NetVirtualizationProviderRoute", VB_NEW, N_PROUTE, PARAMS(proute_new)},
	{"Get-NetVirtualizationProviderRoute", VB_GET, N_PROUTE, PARAMS(proute_get)},
	{"Set-NetVirtualizationProviderRoute", VB_SET, N_PROUTE, PARAMS(proute_set)},
	{"Remove-NetVirtualizationProviderRoute", VB_REMOVE, N_PROUTE, PARAMS(proute_get)},
	{"Get-NetVirtualizationGlobal", VB_GET, N_GLOBAL, NULL, 0},
	{"Set-NetVirtualizationGlobal", VB_SET, N_GLOBAL, PARAMS(global_set)},
	{"Select-NetVirtualizationNextHop", VB_SELECT, N_NEXTHOP, PARAMS(nexthop_sel)},
	/* only at the end of a pipeline; the output is Format-List already */
	{"Format-List", VB_FORMAT, N_NONE, NULL, 0},
	{"fl", VB_FORMAT, N_NONE, NULL, 0},
};
#define N_CMDLETS (sizeof(cmdlets) / sizeof(cmdlets[0]))

static bool changes(const struct cmdlet *c)
{
	return c->verb == VB_NEW || c->verb == VB_SET || c->verb == VB_REMOVE;
}

/* The flags of parameter id in cmdlet c; false if c does not take it. */
static bool cmdlet_param(const struct cmdlet *c, enum pid id, uint8_t *flags)
{
	for (size_t i = 0; i < c->np; i++)
		if (c->p[i].id == id) {
			*flags = c->p[i].flags;
			return true;
		}
	if (c->verb == VB_FORMAT)
		return false;
	for (size_t i = 0; i < sizeof(common_all) / sizeof(common_all[0]); i++)
		if (common_all[i].id == id) {
			*flags = common_all[i].flags;
			return true;
		}
	if (changes(c))
		for (size_t i = 0; i < sizeof(common_change) / sizeof(common_change[0]); i++)
			if (common_change[i].id == id) {
				*flags = common_change[i].flags;
				return true;
			}
	return false;
}

/* ---- bound statements ---- */

struct val {
	const char *text; /* as written (resolved quotes), for messages */
	union {
		uint32_t u;
		bool b;
		struct hnv_ip ip;
		struct hnv_mac mac;
		struct hnv_guid guid;
		struct hnv_prefix pfx;
	} v;
};

struct arg {
	unsigned n; /* 0: not given */
	struct val *v;
};

struct cmd {
	const struct cmdlet *def;
	unsigned line, col;
	struct arg a[P__COUNT];
};

struct stmt {
	unsigned n; /* 1, or 2 for a pipeline */
	struct cmd c[2];
};

struct bind {
	const struct tok *t;
	size_t i, ntok;
	struct val *vals;
	size_t nvals, capvals;
	struct stmt *st;
	size_t nst, capst;
	char *msg;
};

static int PRINTF_LIKE(3, 4) bind_err(struct bind *b, unsigned line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	line_msg(b->msg, line, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const struct tok *cur(const struct bind *b)
{
	return &b->t[b->i < b->ntok ? b->i : b->ntok - 1];
}

static void advance(struct bind *b)
{
	if (b->i + 1 < b->ntok)
		b->i++;
}

static const char *tok_desc(const struct tok *t, char buf[DESCBUF])
{
	char sb[SHOWBUF];
	switch (t->kind) {
	case TK_WORD:
		snprintf(buf, DESCBUF, "\"%s\"", show(t->s, sb));
		break;
	case TK_STRING:
		snprintf(buf, DESCBUF, "string \"%s\"", show(t->s, sb));
		break;
	case TK_PARAM:
		snprintf(buf, DESCBUF, "-%s", show(t->s, sb));
		break;
	default:
		snprintf(buf, DESCBUF, "%s", t->s);
		break;
	}
	return buf;
}

/* Unsigned number: decimal (leading zeros allowed, as PowerShell does) or
 * 0x hex; false on syntax error or above max. */
static bool num_parse(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		int d;
		if (is_digit(*s))
			d = *s - '0';
		else if (base == 16 && lower(*s) >= 'a' && lower(*s) <= 'f')
			d = lower(*s) - 'a' + 10;
		else
			return false;
		v = v * base + (unsigned)d;
		if (v > max)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

static const struct {
	const char *name, *conf;
	unsigned num;
} rules[] =
	{
		{"TranslationMethodNat", "nat", HNV_RULE_NAT},
		{"TranslationMethodEncap", "encap", HNV_RULE_ENCAP},
		{"TranslationMethodNone", "none", HNV_RULE_NONE},
},
  types[] = {
	  {"Static", "static", HNV_TYPE_STATIC},
	  {"Dynamic", "dynamic", HNV_TYPE_DYNAMIC},
	  {"GatewayWildcard", "gateway-wildcard", HNV_TYPE_GATEWAY_WILDCARD},
	  {"L2Only", "l2only", HNV_TYPE_L2ONLY},
};
#define N_RULES (sizeof(rules) / sizeof(rules[0]))
#define N_TYPES (sizeof(types) / sizeof(types[0]))

/* Index of s in a NetWNV enum table by name (any case) or number; with
 * conf, the hnvgw name is accepted too (rows from the daemon). -1 if none. */
static int enum_find(const char *s, bool is_rule, bool conf)
{
	size_t n = is_rule ? N_RULES : N_TYPES;
	uint32_t num;
	bool isnum = num_parse(s, 255, &num);
	for (size_t i = 0; i < n; i++) {
		const char *name = is_rule ? rules[i].name : types[i].name;
		const char *cname = is_rule ? rules[i].conf : types[i].conf;
		unsigned v = is_rule ? rules[i].num : types[i].num;
		if (caseeq(s, name) || (isnum && num == v) || (conf && caseeq(s, cname)))
			return (int)i;
	}
	return -1;
}

static bool bool_text(const char *s, bool *out)
{
	static const char *const t[] = {"True", "$true", "1", "on", "yes"};
	static const char *const f[] = {"False", "$false", "0", "off", "no"};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (caseeq(s, t[i])) {
			*out = true;
			return true;
		}
		if (caseeq(s, f[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* Converts one value token for parameter id; an error names the parameter
 * and the value. */
static int convert(struct bind *b, const struct cmd *c, const struct tok *t, enum pid id,
		   struct val *out)
{
	const struct pdef *d = &pdefs[id];
	char sb[SHOWBUF];
	const char *s = t->kind == TK_TRUE ? "True" : t->kind == TK_FALSE ? "False" : t->s;
	const char *why = NULL;
	out->text = t->kind == TK_TRUE ? "$true" : t->kind == TK_FALSE ? "$false" : t->s;
	if (strnlen(s, PS_VALUE_MAX + 1) > PS_VALUE_MAX)
		return bind_err(b, t->line, "%s: -%s value \"%s\" is longer than %u bytes",
				c->def->name, d->name, show(s, sb), PS_VALUE_MAX);
	switch (d->type) {
	case V_UINT:
		if (t->kind == TK_TRUE || t->kind == TK_FALSE || !num_parse(s, d->max, &out->v.u) ||
		    out->v.u < d->min) {
			return bind_err(b, t->line,
					"%s: invalid -%s value \"%s\": must be a number %u-%u",
					c->def->name, d->name, show(s, sb), d->min, d->max);
		}
		return 0;
	case V_IP:
		if (t->kind == TK_TRUE || t->kind == TK_FALSE || hnv_parse_ip(s, &out->v.ip) < 0)
			why = "not an IPv4 or IPv6 address";
		break;
	case V_MAC:
		if (t->kind == TK_TRUE || t->kind == TK_FALSE || hnv_parse_mac(s, &out->v.mac) < 0)
			why = "expected 12 hex digits, e.g. 101010101105 or 10-10-10-10-11-05";
		break;
	case V_GUID:
		if (t->kind == TK_TRUE || t->kind == TK_FALSE ||
		    hnv_parse_guid(s, &out->v.guid) < 0)
			why = "expected a GUID, e.g. {11111111-2222-3333-4444-000000005001}";
		break;
	case V_PREFIX:
		if (t->kind == TK_TRUE || t->kind == TK_FALSE ||
		    hnv_parse_prefix(s, &out->v.pfx) < 0)
			why = "expected an address prefix such as 10.0.0.0/24 (host bits zero)";
		break;
	case V_RULE:
	case V_TYPE: {
		int k = (t->kind == TK_TRUE || t->kind == TK_FALSE)
				? -1
				: enum_find(s, d->type == V_RULE, false);
		if (k < 0)
			why = d->type == V_RULE
				      ? "must be TranslationMethodEncap, "
					"TranslationMethodNat, TranslationMethodNone "
					"(or 36, 35, 37)"
				      : "must be Static, Dynamic, GatewayWildcard, L2Only "
					"(or 35, 36, 37, 41)";
		else
			out->v.u = d->type == V_RULE ? rules[k].num : types[k].num;
		break;
	}
	case V_BOOL:
	case V_SWITCH:
		if (t->kind == TK_TRUE || t->kind == TK_FALSE)
			out->v.b = t->kind == TK_TRUE;
		else if (t->kind == TK_WORD && (strcmp(s, "1") == 0 || strcmp(s, "0") == 0))
			out->v.b = s[0] == '1';
		else
			why = "must be $true or $false";
		break;
	case V_STR:
		for (const char *p = s; *p; p++)
			if (is_ctrl((unsigned char)*p) && *p != '\t') {
				why = "control characters are not allowed";
				break;
			}
		break;
	case V_ANY:
		break;
	}
	if (why)
		return bind_err(b, t->line, "%s: invalid -%s value \"%s\": %s", c->def->name,
				d->name, show(s, sb), why);
	return 0;
}

static struct val *new_val(struct bind *b)
{
	if (b->nvals == b->capvals)
		return NULL;
	return &b->vals[b->nvals++];
}

static bool is_value(const struct tok *t)
{
	return t->kind == TK_WORD || t->kind == TK_STRING || t->kind == TK_TRUE ||
	       t->kind == TK_FALSE;
}

/* value {',' value}; newlines may follow a comma. */
static int bind_list(struct bind *b, struct cmd *c, enum pid id)
{
	struct arg *a = &c->a[id];
	char d[DESCBUF];
	for (;;) {
		const struct tok *t = cur(b);
		if (!is_value(t))
			return bind_err(b, t->line, "%s: missing value for -%s (found %s)",
					c->def->name, pdefs[id].name, tok_desc(t, d));
		if (a->n >= PS_LIST_MAX)
			return bind_err(b, t->line, "%s: too many values for -%s (at most %u)",
					c->def->name, pdefs[id].name, PS_LIST_MAX);
		struct val *v = new_val(b);
		if (v == NULL)
			return bind_err(b, t->line, "too many values");
		if (a->n == 0)
			a->v = v;
		int rc = convert(b, c, t, id, v);
		if (rc < 0)
			return rc;
		a->n++;
		advance(b);
		if (cur(b)->kind != TK_COMMA)
			return 0;
		advance(b);
		while (cur(b)->kind == TK_NL)
			advance(b);
	}
}

static int resolve_param(struct bind *b, const struct cmd *c, const struct tok *t, enum pid *out)
{
	enum pid cand[P__COUNT];
	size_t n = 0;
	uint8_t fl;
	char sb[SHOWBUF];
	for (unsigned k = 0; k < P__COUNT; k++) {
		if (!cmdlet_param(c->def, (enum pid)k, &fl))
			continue;
		if (caseeq(pdefs[k].name, t->s)) {
			*out = (enum pid)k;
			return 0;
		}
		if (t->s[0] && caseprefix(pdefs[k].name, t->s))
			cand[n++] = (enum pid)k;
	}
	if (n == 1) {
		*out = cand[0];
		return 0;
	}
	if (n == 0)
		return bind_err(b, t->line, "%s: unknown parameter -%s", c->def->name,
				show(t->s, sb));
	char list[512] = "";
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int k = snprintf(list + o, sizeof(list) - o, " -%s", pdefs[cand[i]].name);
		if (k < 0 || (size_t)k >= sizeof(list) - o)
			break;
		o += (size_t)k;
	}
	return bind_err(b, t->line, "%s: parameter -%s is ambiguous; possible matches:%s",
			c->def->name, show(t->s, sb), list);
}

static int bind_cmd(struct bind *b, struct cmd *c)
{
	const struct tok *t = cur(b);
	char d[DESCBUF], sb[SHOWBUF];
	memset(c, 0, sizeof(*c));
	if (t->kind != TK_WORD)
		return bind_err(b, t->line, "expected a cmdlet name, found %s", tok_desc(t, d));
	for (size_t i = 0; i < N_CMDLETS; i++)
		if (caseeq(cmdlets[i].name, t->s))
			c->def = &cmdlets[i];
	if (c->def == NULL)
		return bind_err(b, t->line,
				"unknown cmdlet \"%s\" (hnvgw runs the 19 NetWNV cmdlets)",
				show(t->s, sb));
	c->line = t->line;
	c->col = t->col;
	advance(b);
	for (;;) {
		t = cur(b);
		if (t->kind == TK_NL || t->kind == TK_SEMI || t->kind == TK_PIPE ||
		    t->kind == TK_EOF)
			break;
		if (t->kind != TK_PARAM) {
			if (is_value(t))
				return bind_err(b, t->line,
						"%s: unexpected argument %s (parameters must be "
						"named, e.g. -CustomerAddress 10.0.0.5)",
						c->def->name, tok_desc(t, d));
			return bind_err(b, t->line, "%s: unexpected %s", c->def->name,
					tok_desc(t, d));
		}
		enum pid id = P__COUNT;
		int rc = resolve_param(b, c, t, &id);
		if (rc < 0)
			return rc;
		if (c->a[id].n)
			return bind_err(b, t->line, "%s: parameter -%s given more than once",
					c->def->name, pdefs[id].name);
		uint8_t fl = 0;
		cmdlet_param(c->def, id, &fl);
		enum vtype ty = pdefs[id].type;
		bool colon = t->colon;
		advance(b);
		if ((ty == V_BOOL || ty == V_SWITCH) && !colon) {
			/* alone it means $true; a following $true/$false (or 1/0
			 * for a Boolean) is its value */
			const struct tok *n = cur(b);
			bool takes = n->kind == TK_TRUE || n->kind == TK_FALSE ||
				     (ty == V_BOOL && n->kind == TK_WORD &&
				      (strcmp(n->s, "1") == 0 || strcmp(n->s, "0") == 0));
			if (!takes) {
				struct val *v = new_val(b);
				if (v == NULL)
					return bind_err(b, t->line, "too many values");
				v->text = "$true";
				v->v.b = true;
				c->a[id].v = v;
				c->a[id].n = 1;
				continue;
			}
		}
		if ((rc = bind_list(b, c, id)) < 0)
			return rc;
		if (c->a[id].n > 1 && !(fl & F_LIST))
			return bind_err(b, t->line, "%s: -%s takes one value, not a list of %u",
					c->def->name, pdefs[id].name, c->a[id].n);
	}
	return 0;
}

static bool gettable(const struct cmdlet *c)
{
	return c->verb == VB_GET && c->noun != N_GLOBAL;
}

static int bind_stmt(struct bind *b, struct stmt *s)
{
	int rc = bind_cmd(b, &s->c[0]);
	if (rc < 0)
		return rc;
	s->n = 1;
	if (s->c[0].def->verb == VB_FORMAT)
		return bind_err(b, s->c[0].line, "%s needs input: write Get-... | %s",
				s->c[0].def->name, s->c[0].def->name);
	const struct cmd *a = &s->c[0];
	while (cur(b)->kind == TK_PIPE) {
		unsigned pline = cur(b)->line;
		advance(b);
		while (cur(b)->kind == TK_NL)
			advance(b);
		if (s->n == 2 || a->def->verb == VB_FORMAT)
			return bind_err(b, pline,
					"only two-stage pipelines are supported: Get-... | "
					"Remove-..., Get-... | Set-... or ... | Format-List");
		struct cmd *c = &s->c[1];
		if ((rc = bind_cmd(b, c)) < 0)
			return rc;
		s->n = 2;
		if (c->def->verb == VB_FORMAT) {
			if (a->def->verb != VB_GET && a->def->verb != VB_SELECT)
				return bind_err(b, c->line, "%s has no output to pipe into %s",
						a->def->name, c->def->name);
			continue;
		}
		if (!gettable(a->def) || (c->def->verb != VB_REMOVE && c->def->verb != VB_SET) ||
		    c->def->noun != a->def->noun)
			return bind_err(
				b, c->line,
				"cannot pipe %s into %s (supported: Get-NetVirtualizationX | "
				"Remove-NetVirtualizationX or Set-NetVirtualizationX)",
				a->def->name, c->def->name);
		for (unsigned k = 0; k < P__COUNT; k++) {
			uint8_t fl;
			if (c->a[k].n && cmdlet_param(c->def, (enum pid)k, &fl) && (fl & F_FILTER))
				return bind_err(b, c->line,
						"%s: -%s selects objects, which come from the "
						"pipeline here (give it to %s)",
						c->def->name, pdefs[k].name, a->def->name);
		}
	}
	for (unsigned i = 0; i < s->n; i++) {
		const struct cmd *c = &s->c[i];
		for (size_t k = 0; k < c->def->np; k++)
			if ((c->def->p[k].flags & F_REQ) && c->a[c->def->p[k].id].n == 0)
				return bind_err(b, c->line, "%s: missing mandatory parameter -%s",
						c->def->name, pdefs[c->def->p[k].id].name);
	}
	return 0;
}

static int bind_all(struct bind *b)
{
	for (;;) {
		while (cur(b)->kind == TK_NL || cur(b)->kind == TK_SEMI)
			advance(b);
		if (cur(b)->kind == TK_EOF)
			return 0;
		if (b->nst == b->capst) {
			size_t cap = b->capst ? b->capst * 2 : 16;
			if (cap > SIZE_MAX / sizeof(*b->st))
				return bind_err(b, cur(b)->line, "out of memory");
			struct stmt *st = realloc(b->st, cap * sizeof(*st));
			if (st == NULL)
				return bind_err(b, cur(b)->line, "out of memory");
			b->st = st;
			b->capst = cap;
		}
		int rc = bind_stmt(b, &b->st[b->nst]);
		if (rc < 0)
			return rc;
		b->nst++;
		const struct tok *t = cur(b);
		char d[DESCBUF];
		if (t->kind != TK_NL && t->kind != TK_SEMI && t->kind != TK_EOF)
			return bind_err(b, t->line, "unexpected %s", tok_desc(t, d));
	}
}

/* ---- runner: output, errors, config lines ---- */

struct run {
	const struct hnv_ps_io *io;
	const struct stmt *st;
	size_t nst;
	bool failed;
	size_t *pending; /* statements waiting for their VSID (New-...LookupRecord) */
	size_t npending;
};

static void PRINTF_LIKE(3, 4) fail(struct run *r, const struct cmd *c, const char *fmt, ...)
{
	r->failed = true;
	if (r->io->err == NULL)
		return;
	char m[MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	fprintf(r->io->err, "%s : %s\nAt line:%u char:%u\n", c->def->name, m, c->line, c->col);
}

/* A growing string; on allocation failure it stays "broken" and the
 * statement fails. */
struct sb {
	char *p;
	size_t n, cap;
	bool oom;
};

static void sb_add(struct sb *s, const char *t)
{
	size_t k = strlen(t);
	if (s->oom)
		return;
	if (s->n + k + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 128;
		while (cap < s->n + k + 1) {
			if (cap > SIZE_MAX / 2) {
				s->oom = true;
				return;
			}
			cap *= 2;
		}
		char *p = realloc(s->p, cap);
		if (p == NULL) {
			s->oom = true;
			return;
		}
		s->p = p;
		s->cap = cap;
	}
	memcpy(s->p + s->n, t, k + 1);
	s->n += k;
}

static void PRINTF_LIKE(2, 3) sb_addf(struct sb *s, const char *fmt, ...)
{
	char t[256];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(t, sizeof(t), fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(t))
		s->oom = true;
	else
		sb_add(s, t);
}

/* A value in the config text: bare when it is made of characters that can
 * never start an option or a comment, otherwise "double quoted" with \" and
 * \\ escaped. Returns false for control characters, which the config text
 * cannot carry (tab excepted). */
static bool sb_val(struct sb *s, const char *v)
{
	bool bare = v[0] != '\0' && v[0] != '-';
	for (const char *p = v; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (is_ctrl(c) && c != '\t')
			return false;
		if (!(is_alpha(*p) || is_digit(*p) || strchr("_.:/{}", *p) || (*p == '-')))
			bare = false;
	}
	if (bare) {
		sb_add(s, v);
		return true;
	}
	sb_add(s, "\"");
	for (const char *p = v; *p; p++) {
		char e[3] = {*p, 0, 0};
		if (*p == '"' || *p == '\\') {
			e[0] = '\\';
			e[1] = *p;
		}
		sb_add(s, e);
	}
	sb_add(s, "\"");
	return true;
}

static void sb_ip(struct sb *s, const struct hnv_ip *ip)
{
	char t[64];
	hnv_fmt_ip(ip, t, sizeof(t));
	sb_add(s, t);
}

static void sb_prefix(struct sb *s, const struct hnv_prefix *p)
{
	char t[64];
	hnv_fmt_prefix(p, t, sizeof(t));
	sb_add(s, t);
}

/* MACs as NetWNV writes them: 12 upper-case hex digits. */
static void fmt_mac12(const struct hnv_mac *m, char t[13])
{
	snprintf(t, 13, "%02X%02X%02X%02X%02X%02X", m->b[0], m->b[1], m->b[2], m->b[3], m->b[4],
		 m->b[5]);
}

static void sb_mac(struct sb *s, const struct hnv_mac *m)
{
	char t[13];
	fmt_mac12(m, t);
	sb_add(s, t);
}

static void sb_guid(struct sb *s, const struct hnv_guid *g)
{
	char t[40];
	hnv_fmt_guid(g, t, sizeof(t));
	sb_add(s, t);
}

struct lines {
	char **v;
	size_t n, cap;
	bool oom;
};

/* Moves the text of s into the list (s is reset). */
static void lines_push(struct lines *l, struct sb *s)
{
	if (s->oom || s->p == NULL || l->oom) {
		l->oom = true;
		free(s->p);
		*s = (struct sb){0};
		return;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **v = cap > SIZE_MAX / sizeof(*v) ? NULL : realloc(l->v, cap * sizeof(*v));
		if (v == NULL) {
			l->oom = true;
			free(s->p);
			*s = (struct sb){0};
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s->p;
	*s = (struct sb){0};
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct lines){0};
}

static bool whatif(const struct cmd *c)
{
	return c->a[P_WHATIF].n && c->a[P_WHATIF].v[0].v.b;
}

/* Commits the lines as one transaction for cmdlet c (or prints them under
 * -WhatIf). Takes ownership of l. Returns true on success. */
static bool commit(struct run *r, const struct cmd *c, struct lines *l)
{
	bool ok = true;
	if (l->oom) {
		fail(r, c, "out of memory");
		ok = false;
	} else if (whatif(c)) {
		for (size_t i = 0; i < l->n && r->io->out; i++)
			fprintf(r->io->out, "What if: %s\n", l->v[i]);
	} else if (l->n > 0) {
		char err[MSG_MAX] = "";
		if (r->io->exec(r->io->ctx, (const char *const *)l->v, l->n, err, sizeof(err)) !=
		    0) {
			fail(r, c, "%s", err[0] ? err : "the change was refused");
			ok = false;
		}
	}
	lines_free(l);
	return ok;
}

/* The rows of show WHAT as an array the caller puts, or NULL after an
 * error was reported. A single object (show global) becomes one row. */
static json_object *show_rows(struct run *r, const struct cmd *c, const char *what)
{
	json_object *rows = NULL;
	char err[MSG_MAX] = "";
	if (r->io->show(r->io->ctx, what, &rows, err, sizeof(err)) != 0) {
		fail(r, c, "show %s: %s", what, err[0] ? err : "failed");
		json_object_put(rows);
		return NULL;
	}
	if (rows == NULL)
		return json_object_new_array();
	if (json_object_is_type(rows, json_type_object)) {
		json_object *a = json_object_new_array();
		if (a == NULL || json_object_array_add(a, rows) != 0) {
			json_object_put(a);
			json_object_put(rows);
			fail(r, c, "out of memory");
			return NULL;
		}
		return a;
	}
	if (!json_object_is_type(rows, json_type_array)) {
		json_object_put(rows);
		fail(r, c, "show %s: the reply is not a list of rows", what);
		return NULL;
	}
	return rows;
}

/* A scalar field of a row as text: strings as they are, numbers in
 * decimal, booleans True/False; NULL when absent, null or not a scalar. */
static const char *row_text(json_object *row, const char *key, char *buf, size_t len)
{
	json_object *v;
	if (row == NULL || key == NULL || !json_object_is_type(row, json_type_object) ||
	    !json_object_object_get_ex(row, key, &v) || v == NULL)
		return NULL;
	switch (json_object_get_type(v)) {
	case json_type_string:
		return json_object_get_string(v);
	case json_type_int:
		snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
		return buf;
	case json_type_boolean:
		return json_object_get_boolean(v) ? "True" : "False";
	default:
		return NULL;
	}
}

static bool row_uint(json_object *row, const char *key, uint32_t max, uint32_t *out)
{
	char b[32];
	const char *s = row_text(row, key, b, sizeof(b));
	return s != NULL && num_parse(s, max, out);
}

static bool row_ip(json_object *row, const char *key, struct hnv_ip *out)
{
	char b[32];
	const char *s = row_text(row, key, b, sizeof(b));
	return s != NULL && hnv_parse_ip(s, out) == 0;
}

static bool row_prefix(json_object *row, const char *key, struct hnv_prefix *out)
{
	char b[32];
	const char *s = row_text(row, key, b, sizeof(b));
	return s != NULL && hnv_parse_prefix(s, out) == 0;
}

/* ---- object classes: properties, filters, Format-List ---- */

#define PR_HIDDEN 0x1  /* a filter only, not printed */
#define PR_IFINDEX 0x2 /* the row holds an interface name; the value is its index */

struct prop {
	enum pid id;
	const char *key;  /* field of the show row, NULL: always dflt */
	const char *dflt; /* when the row lacks the field */
	uint8_t flags;
};

static const struct prop lookup_props[] = {
	{P_CUSTOMER_ADDRESS, "CustomerAddress", "", 0},
	{P_VSID, "VirtualSubnetID", "", 0},
	{P_MAC, "MACAddress", "", 0},
	{P_PROVIDER_ADDRESS, "ProviderAddress", "", 0},
	{P_CUSTOMER_ID, "CustomerID", "", 0},
	{P_CONTEXT, "Context", "", 0},
	{P_RULE, "Rule", "", 0},
	{P_VM_NAME, "VMName", "", 0},
	{P_USE_VM_MAC, "UseVmMACAddress", "False", 0},
	{P_TYPE, "Type", "", 0},
	{P_UNUSABLE, NULL, "False", PR_HIDDEN},
	{P_UNSYNCHRONIZED, NULL, "False", PR_HIDDEN},
};
static const struct prop croute_props[] = {
	{P_RDID, "RoutingDomainID", "", 0},
	{P_VSID, "VirtualSubnetID", "", 0},
	{P_DEST_PREFIX, "DestinationPrefix", "", 0},
	{P_NEXTHOP, "NextHop", "", 0},
	{P_METRIC, "Metric", "", 0},
};
static const struct prop pa_props[] = {
	{P_PROVIDER_ADDRESS, "ProviderAddress", "", 0},
	{P_IFINDEX, "InterfaceName", "", PR_IFINDEX},
	{P_VLAN, "VlanID", "0", 0},
	{P_ADDRESS_STATE, "AddressState", "Preferred", 0},
	{P_MAC, "MACAddress", "", 0},
	{P_PREFIX_LEN, "PrefixLength", "", 0},
	{P_MANAGED_BY_CLUSTER, "ManagedByCluster", "False", 0},
};
static const struct prop proute_props[] = {
	{P_IFINDEX, "dev", "", PR_IFINDEX},
	{P_DEST_PREFIX, "prefix", "", 0},
	{P_NEXTHOP, "nexthop", "", 0},
	{P_METRIC, "metric", "", 0},
};
static const struct prop global_props[] = {
	{P_USE_EXT_ROUTER, "use_external_router", "False", 0},
};

typedef bool (*row_fn)(struct run *r, const struct cmd *c, json_object *row, struct lines *l);

struct noun_def {
	const char *what; /* show WHAT */
	const char *cim;  /* the CIM class, as PowerShell names it in errors */
	const struct prop *props;
	size_t nprops;
	row_fn del, set;
};

static bool lookup_del(struct run *, const struct cmd *, json_object *, struct lines *);
static bool lookup_set_row(struct run *, const struct cmd *, json_object *, struct lines *);
static bool croute_del(struct run *, const struct cmd *, json_object *, struct lines *);
static bool croute_set_row(struct run *, const struct cmd *, json_object *, struct lines *);
static bool pa_del(struct run *, const struct cmd *, json_object *, struct lines *);
static bool pa_set_row(struct run *, const struct cmd *, json_object *, struct lines *);
static bool proute_del(struct run *, const struct cmd *, json_object *, struct lines *);
static bool proute_set_row(struct run *, const struct cmd *, json_object *, struct lines *);

static const struct noun_def nouns[] = {
	[N_LOOKUP] = {"lookup", "MSFT_NetVirtualizationLookupRecordSettingData",
		      PARAMS(lookup_props), lookup_del, lookup_set_row},
	[N_CROUTE] = {"routes", "MSFT_NetVirtualizationCustomerRouteSettingData",
		      PARAMS(croute_props), croute_del, croute_set_row},
	[N_PA] = {"pa", "MSFT_NetVirtualizationProviderAddressSettingData", PARAMS(pa_props),
		  pa_del, pa_set_row},
	[N_PROUTE] = {"proutes", "MSFT_NetVirtualizationProviderRouteSettingData",
		      PARAMS(proute_props), proute_del, proute_set_row},
	[N_GLOBAL] = {"global", "MSFT_NetVirtualizationGlobalSettingData", PARAMS(global_props),
		      NULL, NULL},
};

/* The raw text of property p of row (buf has 32 bytes for numbers). */
static const char *prop_raw(json_object *row, const struct prop *p, char *buf, size_t len)
{
	const char *s = row_text(row, p->key, buf, len);
	if (s == NULL)
		return p->dflt;
	if (p->flags & PR_IFINDEX) {
		unsigned idx = s[0] ? if_nametoindex(s) : 0;
		snprintf(buf, len, "%u", idx);
		return buf;
	}
	return s;
}

/* Property text as PowerShell prints it: addresses canonical, MACs as 12
 * upper-case hex digits, GUIDs {UPPER}, booleans True/False, enums by
 * name; anything that does not parse is printed as it came. */
static const char *prop_display(enum vtype ty, const char *raw, char *buf, size_t len)
{
	struct hnv_ip ip;
	struct hnv_mac mac;
	struct hnv_guid g;
	bool b;
	int k;
	switch (ty) {
	case V_IP:
		if (hnv_parse_ip(raw, &ip) == 0) {
			hnv_fmt_ip(&ip, buf, len);
			return buf;
		}
		break;
	case V_MAC:
		if (hnv_parse_mac(raw, &mac) == 0 && len >= 13) {
			fmt_mac12(&mac, buf);
			return buf;
		}
		break;
	case V_GUID:
		if (hnv_parse_guid(raw, &g) == 0) {
			hnv_fmt_guid(&g, buf, len);
			return buf;
		}
		break;
	case V_BOOL:
		if (bool_text(raw, &b))
			return b ? "True" : "False";
		break;
	case V_RULE:
	case V_TYPE:
		if ((k = enum_find(raw, ty == V_RULE, true)) >= 0)
			return ty == V_RULE ? rules[k].name : types[k].name;
		break;
	default:
		break;
	}
	return raw;
}

/* PowerShell -like: * and ? wildcards, case-insensitive. Iterative with one
 * backtrack point, so linear in practice and never recursive. */
static bool like(const char *s, const char *p)
{
	const char *star = NULL, *ss = NULL;
	while (*s) {
		if (*p == '*') {
			star = p++;
			ss = s;
		} else if (*p == '?' || (*p && lower(*p) == lower(*s))) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++ss;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* Does the row text raw equal the filter value w of type ty? */
static bool value_match(enum vtype ty, const char *raw, const struct val *w)
{
	struct hnv_ip ip;
	struct hnv_mac mac;
	struct hnv_guid g;
	struct hnv_prefix pf;
	uint32_t u;
	bool b;
	int k;
	switch (ty) {
	case V_UINT:
		return num_parse(raw, UINT32_MAX, &u) && u == w->v.u;
	case V_IP:
		return hnv_parse_ip(raw, &ip) == 0 && hnv_ip_eq(&ip, &w->v.ip);
	case V_MAC:
		return hnv_parse_mac(raw, &mac) == 0 && hnv_mac_eq(&mac, &w->v.mac);
	case V_GUID:
		return hnv_parse_guid(raw, &g) == 0 && memcmp(g.b, w->v.guid.b, 16) == 0;
	case V_PREFIX:
		return hnv_parse_prefix(raw, &pf) == 0 && pf.len == w->v.pfx.len &&
		       hnv_ip_eq(&pf.addr, &w->v.pfx.addr);
	case V_RULE:
	case V_TYPE:
		k = enum_find(raw, ty == V_RULE, true);
		return k >= 0 && (ty == V_RULE ? rules[k].num : types[k].num) == w->v.u;
	case V_BOOL:
	case V_SWITCH:
		return bool_text(raw, &b) && b == w->v.b;
	case V_STR:
		return like(raw, w->text);
	case V_ANY:
		return true;
	}
	return false;
}

static const struct prop *find_prop(const struct noun_def *nd, enum pid id)
{
	for (size_t i = 0; i < nd->nprops; i++)
		if (nd->props[i].id == id)
			return &nd->props[i];
	return NULL;
}

/* A row matches when, for every filter given, one of its values matches. */
static bool row_matches(const struct noun_def *nd, const struct cmd *f, json_object *row)
{
	for (unsigned k = 0; k < P__COUNT; k++) {
		uint8_t fl;
		if (f->a[k].n == 0 || !cmdlet_param(f->def, (enum pid)k, &fl) || !(fl & F_FILTER))
			continue;
		const struct prop *p = find_prop(nd, (enum pid)k);
		if (p == NULL)
			return false;
		char buf[32];
		const char *raw = prop_raw(row, p, buf, sizeof(buf));
		bool any = false;
		for (unsigned i = 0; i < f->a[k].n && !any; i++)
			any = value_match(pdefs[k].type, raw, &f->a[k].v[i]);
		if (!any)
			return false;
	}
	return true;
}

static bool has_flag(const struct cmd *f, uint8_t flag)
{
	for (unsigned k = 0; k < P__COUNT; k++) {
		uint8_t fl;
		if (f->a[k].n && cmdlet_param(f->def, (enum pid)k, &fl) && (fl & flag))
			return true;
	}
	return false;
}

static bool has_filters(const struct cmd *f)
{
	return has_flag(f, F_FILTER);
}

/* "-CustomerAddress 10.0.0.5,10.0.0.7 -VirtualSubnetID 5001" */
static void filters_desc(const struct cmd *f, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (unsigned k = 0; k < P__COUNT; k++) {
		uint8_t fl;
		if (!f->a[k].n || !cmdlet_param(f->def, (enum pid)k, &fl) || !(fl & F_FILTER))
			continue;
		int n = snprintf(buf + o, len - o, "%s-%s ", o ? " " : "", pdefs[k].name);
		if (n < 0 || (size_t)n >= len - o)
			return;
		o += (size_t)n;
		for (unsigned i = 0; i < f->a[k].n; i++) {
			char sb[SHOWBUF];
			n = snprintf(buf + o, len - o, "%s%s", i ? "," : "",
				     show(f->a[k].v[i].text, sb));
			if (n < 0 || (size_t)n >= len - o)
				return;
			o += (size_t)n;
		}
	}
}

/* Format-List: a blank line before each object, names padded to the
 * longest, two blank lines after the last (print_end). */
static void print_object(FILE *out, const struct noun_def *nd, json_object *row)
{
	size_t w = 0;
	if (out == NULL)
		return;
	for (size_t i = 0; i < nd->nprops; i++)
		if (!(nd->props[i].flags & PR_HIDDEN) && strlen(pdefs[nd->props[i].id].name) > w)
			w = strlen(pdefs[nd->props[i].id].name);
	fputc('\n', out);
	for (size_t i = 0; i < nd->nprops; i++) {
		const struct prop *p = &nd->props[i];
		if (p->flags & PR_HIDDEN)
			continue;
		char raw[32], disp[64];
		const char *v = prop_display(pdefs[p->id].type, prop_raw(row, p, raw, sizeof(raw)),
					     disp, sizeof(disp));
		fprintf(out, "%-*s : %s\n", (int)w, pdefs[p->id].name, v);
	}
}

static void print_end(FILE *out, size_t nobj)
{
	if (out != NULL && nobj > 0)
		fputs("\n\n", out);
}

/* ---- lookup records ---- */

struct lrec {
	uint32_t vsid;
	struct hnv_ip ca, pa;
	struct hnv_mac mac;
	unsigned rule; /* index into rules[] */
	int type;      /* index into types[], -1: not given (New) */
	bool use_vm_mac;
	bool has_cid;
	struct hnv_guid cid;
	const char *vm_name; /* "" or NULL: none */
	const char *context;
};

/* lookup add|set with every field of rec. */
static bool lookup_line(struct run *r, const struct cmd *c, const char *verb,
			const struct lrec *rec, struct lines *l)
{
	struct sb s = {0};
	sb_addf(&s, "lookup %s --vsid %u --ca ", verb, rec->vsid);
	sb_ip(&s, &rec->ca);
	sb_add(&s, " --pa ");
	sb_ip(&s, &rec->pa);
	sb_add(&s, " --mac ");
	sb_mac(&s, &rec->mac);
	sb_addf(&s, " --rule %s", rules[rec->rule].conf);
	if (rec->type >= 0)
		sb_addf(&s, " --type %s", types[rec->type].conf);
	if (rec->vm_name && rec->vm_name[0]) {
		sb_add(&s, " --vm-name ");
		if (!sb_val(&s, rec->vm_name)) {
			free(s.p);
			fail(r, c, "VMName contains a control character");
			return false;
		}
	}
	if (rec->has_cid) {
		sb_add(&s, " --customer-id ");
		sb_guid(&s, &rec->cid);
	}
	if (rec->context && rec->context[0]) {
		sb_add(&s, " --context ");
		if (!sb_val(&s, rec->context)) {
			free(s.p);
			fail(r, c, "Context contains a control character");
			return false;
		}
	}
	if (rec->use_vm_mac)
		sb_add(&s, " --use-vm-mac");
	lines_push(l, &s);
	return true;
}

static bool bad_row(struct run *r, const struct cmd *c, const char *what, const char *field)
{
	fail(r, c, "show %s returned a row without a valid %s", what, field);
	return false;
}

/* A show lookup row as a record; strings point into the row. */
static bool row_lookup(struct run *r, const struct cmd *c, json_object *row, struct lrec *rec)
{
	char b[32];
	const char *s;
	memset(rec, 0, sizeof(*rec));
	if (!row_uint(row, "VirtualSubnetID", HNV_VSID_MAX, &rec->vsid))
		return bad_row(r, c, "lookup", "VirtualSubnetID");
	if (!row_ip(row, "CustomerAddress", &rec->ca))
		return bad_row(r, c, "lookup", "CustomerAddress");
	if (!row_ip(row, "ProviderAddress", &rec->pa))
		return bad_row(r, c, "lookup", "ProviderAddress");
	if ((s = row_text(row, "MACAddress", b, sizeof(b))) == NULL ||
	    hnv_parse_mac(s, &rec->mac) < 0)
		return bad_row(r, c, "lookup", "MACAddress");
	/* a row without Rule or Type has the config defaults, Encap and Static */
	int k = (s = row_text(row, "Rule", b, sizeof(b))) ? enum_find(s, true, true)
							  : enum_find("encap", true, true);
	if (k < 0)
		return bad_row(r, c, "lookup", "Rule");
	rec->rule = (unsigned)k;
	k = (s = row_text(row, "Type", b, sizeof(b))) ? enum_find(s, false, true)
						      : enum_find("static", false, true);
	if (k < 0)
		return bad_row(r, c, "lookup", "Type");
	rec->type = k;
	if ((s = row_text(row, "UseVmMACAddress", b, sizeof(b))) && !bool_text(s, &rec->use_vm_mac))
		return bad_row(r, c, "lookup", "UseVmMACAddress");
	if ((s = row_text(row, "CustomerID", b, sizeof(b))) && s[0]) {
		if (hnv_parse_guid(s, &rec->cid) < 0)
			return bad_row(r, c, "lookup", "CustomerID");
		rec->has_cid = true;
	}
	rec->vm_name = row_text(row, "VMName", b, sizeof(b));
	rec->context = row_text(row, "Context", b, sizeof(b));
	if (rec->vm_name && rec->vm_name == b)
		rec->vm_name = NULL; /* a number is not a name the row meant */
	if (rec->context && rec->context == b)
		rec->context = NULL;
	return true;
}

static bool lookup_del(struct run *r, const struct cmd *c, json_object *row, struct lines *l)
{
	struct lrec rec;
	if (!row_lookup(r, c, row, &rec))
		return false;
	struct sb s = {0};
	sb_addf(&s, "lookup del --vsid %u --ca ", rec.vsid);
	sb_ip(&s, &rec.ca);
	sb_add(&s, " --mac ");
	sb_mac(&s, &rec.mac);
	lines_push(l, &s);
	return true;
}

static bool lookup_set_row(struct run *r, const struct cmd *c, json_object *row, struct lines *l)
{
	struct lrec rec;
	if (!row_lookup(r, c, row, &rec))
		return false;
	const struct arg *a = c->a;
	if (a[P_PROVIDER_ADDRESS].n)
		rec.pa = a[P_PROVIDER_ADDRESS].v[0].v.ip;
	if (a[P_CUSTOMER_ID].n) {
		rec.has_cid = true;
		rec.cid = a[P_CUSTOMER_ID].v[0].v.guid;
	}
	if (a[P_CONTEXT].n)
		rec.context = a[P_CONTEXT].v[0].text;
	if (a[P_RULE].n)
		rec.rule = (unsigned)enum_find(a[P_RULE].v[0].text, true, false);
	if (a[P_VM_NAME].n)
		rec.vm_name = a[P_VM_NAME].v[0].text;
	if (a[P_USE_VM_MAC].n)
		rec.use_vm_mac = a[P_USE_VM_MAC].v[0].v.b;
	return lookup_line(r, c, "set", &rec, l);
}

/* Does show vsubnets have vsid? -1 after a reported error. */
static int vsid_known(struct run *r, const struct cmd *c, uint32_t vsid)
{
	json_object *rows = show_rows(r, c, "vsubnets");
	if (rows == NULL)
		return -1;
	int found = 0;
	for (size_t i = 0; i < json_object_array_length(rows) && !found; i++) {
		uint32_t v;
		if (row_uint(json_object_array_get_idx(rows, i), "vsid", UINT32_MAX, &v) &&
		    v == vsid)
			found = 1;
	}
	json_object_put(rows);
	return found;
}

/* Is there a New-NetVirtualizationCustomerRoute for vsid among the
 * statements from index from on? */
static bool later_route_for(const struct run *r, size_t from, uint32_t vsid)
{
	for (size_t i = from; i < r->nst; i++) {
		const struct cmd *c = &r->st[i].c[0];
		if (c->def->verb == VB_NEW && c->def->noun == N_CROUTE && !whatif(c) &&
		    c->a[P_VSID].v[0].v.u == vsid)
			return true;
	}
	return false;
}

static void run_new_lookup(struct run *r, size_t idx, size_t next, bool may_wait)
{
	const struct cmd *c = &r->st[idx].c[0];
	const struct arg *a = c->a;
	struct lrec rec = {
		.vsid = a[P_VSID].v[0].v.u,
		.ca = a[P_CUSTOMER_ADDRESS].v[0].v.ip,
		.pa = a[P_PROVIDER_ADDRESS].v[0].v.ip,
		.mac = a[P_MAC].v[0].v.mac,
		.rule = (unsigned)enum_find(a[P_RULE].v[0].text, true, false),
		.type = a[P_TYPE].n ? enum_find(a[P_TYPE].v[0].text, false, false) : -1,
		.use_vm_mac = a[P_USE_VM_MAC].n && a[P_USE_VM_MAC].v[0].v.b,
		.has_cid = a[P_CUSTOMER_ID].n > 0,
		.vm_name = a[P_VM_NAME].n ? a[P_VM_NAME].v[0].text : NULL,
		.context = a[P_CONTEXT].n ? a[P_CONTEXT].v[0].text : NULL,
	};
	if (rec.has_cid)
		rec.cid = a[P_CUSTOMER_ID].v[0].v.guid;
	if (!whatif(c)) {
		int known = vsid_known(r, c, rec.vsid);
		if (known < 0)
			return;
		if (!known) {
			if (may_wait && later_route_for(r, next, rec.vsid)) {
				r->pending[r->npending++] = idx;
				return;
			}
			fail(r, c,
			     "VirtualSubnetID %u does not exist: add its customer route first "
			     "(New-NetVirtualizationCustomerRoute with NextHop 0.0.0.0 or ::) or "
			     "\"hnvgw vsubnet add %u --rdomain NAME --prefix P\"",
			     rec.vsid, rec.vsid);
			return;
		}
	}
	struct lines l = {0};
	if (lookup_line(r, c, "add", &rec, &l))
		commit(r, c, &l);
	else
		lines_free(&l);
}

/* ---- customer routes ---- */

struct rdomain_name {
	char name[HNV_NAME_MAX + 1];
};

/* The hnvgw rdomain of rdid, from show rdomains; when there is none, a new
 * name ("rd-" and the last 12 hex digits of the RDID) and *create = true.
 * False after a reported error. */
static bool rdomain_for(struct run *r, const struct cmd *c, const struct hnv_guid *rdid,
			struct rdomain_name *out, bool *create)
{
	json_object *rows = show_rows(r, c, "rdomains");
	if (rows == NULL)
		return false;
	size_t n = json_object_array_length(rows);
	char b[32], bg[32];
	*create = false;
	for (size_t i = 0; i < n; i++) {
		json_object *row = json_object_array_get_idx(rows, i);
		const char *g = row_text(row, "rdid", bg, sizeof(bg));
		const char *name = row_text(row, "name", b, sizeof(b));
		struct hnv_guid rg;
		if (g == NULL || hnv_parse_guid(g, &rg) < 0 || memcmp(rg.b, rdid->b, 16) != 0)
			continue;
		if (name == NULL || name == b || strlen(name) > HNV_NAME_MAX) {
			json_object_put(rows);
			return bad_row(r, c, "rdomains", "name");
		}
		snprintf(out->name, sizeof(out->name), "%s", name);
		json_object_put(rows);
		return true;
	}
	/* a generated name must not collide with another rdomain's */
	for (unsigned k = 1; k <= 9; k++) {
		const uint8_t *g = rdid->b;
		if (k == 1)
			snprintf(out->name, sizeof(out->name), "rd-%02x%02x%02x%02x%02x%02x", g[10],
				 g[11], g[12], g[13], g[14], g[15]);
		else
			snprintf(out->name, sizeof(out->name), "rd-%02x%02x%02x%02x%02x%02x-%u",
				 g[10], g[11], g[12], g[13], g[14], g[15], k);
		bool taken = false;
		for (size_t i = 0; i < n && !taken; i++) {
			const char *name =
				row_text(json_object_array_get_idx(rows, i), "name", b, sizeof(b));
			taken = name != NULL && strcmp(name, out->name) == 0;
		}
		if (!taken) {
			json_object_put(rows);
			*create = true;
			return true;
		}
	}
	json_object_put(rows);
	fail(r, c, "no free name for a routing domain of RDID %s", c->a[P_RDID].v[0].text);
	return false;
}

/* Prefixes for a virtual subnet created implicitly by statement idx: its
 * own, then those of later on-link New-NetVirtualizationCustomerRoute
 * statements of the same RDID and VSID (so a dual-stack subnet gets both
 * families), distinct and not overlapping, at most HNV_CONF_PREFIXES_MAX. */
static unsigned subnet_prefixes(const struct run *r, size_t idx,
				struct hnv_prefix out[HNV_CONF_PREFIXES_MAX])
{
	const struct cmd *c = &r->st[idx].c[0];
	unsigned n = 0;
	out[n++] = c->a[P_DEST_PREFIX].v[0].v.pfx;
	for (size_t i = idx + 1; i < r->nst && n < HNV_CONF_PREFIXES_MAX; i++) {
		const struct cmd *o = &r->st[i].c[0];
		if (o->def->verb != VB_NEW || o->def->noun != N_CROUTE || whatif(o) ||
		    o->a[P_VSID].v[0].v.u != c->a[P_VSID].v[0].v.u ||
		    memcmp(o->a[P_RDID].v[0].v.guid.b, c->a[P_RDID].v[0].v.guid.b, 16) != 0 ||
		    !hnv_ip_is_unspec(&o->a[P_NEXTHOP].v[0].v.ip))
			continue;
		const struct hnv_prefix *p = &o->a[P_DEST_PREFIX].v[0].v.pfx;
		bool overlap = false;
		for (unsigned k = 0; k < n && !overlap; k++)
			overlap = hnv_prefix_contains(&out[k], &p->addr) ||
				  hnv_prefix_contains(p, &out[k].addr);
		if (!overlap)
			out[n++] = *p;
	}
	return n;
}

static bool run_new_croute(struct run *r, size_t idx)
{
	const struct cmd *c = &r->st[idx].c[0];
	const struct arg *a = c->a;
	uint32_t vsid = a[P_VSID].v[0].v.u;
	const struct hnv_ip *nh = &a[P_NEXTHOP].v[0].v.ip;
	struct rdomain_name rd;
	bool create;
	if (!rdomain_for(r, c, &a[P_RDID].v[0].v.guid, &rd, &create))
		return false;
	int known = vsid_known(r, c, vsid);
	if (known < 0)
		return false;
	if (!known && !hnv_ip_is_unspec(nh)) {
		char t[64];
		hnv_fmt_ip(nh, t, sizeof(t));
		fail(r, c,
		     "VirtualSubnetID %u does not exist and next hop %s is not on-link: add the "
		     "subnet's own route (NextHop 0.0.0.0 or ::) first",
		     vsid, t);
		return false;
	}
	struct lines l = {0};
	struct sb s = {0};
	if (create) {
		sb_addf(&s, "rdomain add %s --rdid ", rd.name);
		sb_guid(&s, &a[P_RDID].v[0].v.guid);
		lines_push(&l, &s);
	}
	if (!known) {
		struct hnv_prefix pf[HNV_CONF_PREFIXES_MAX];
		unsigned np = subnet_prefixes(r, idx, pf);
		sb_addf(&s, "vsubnet add %u --rdomain ", vsid);
		sb_val(&s, rd.name);
		for (unsigned i = 0; i < np; i++) {
			sb_add(&s, " --prefix ");
			sb_prefix(&s, &pf[i]);
		}
		lines_push(&l, &s);
	}
	sb_add(&s, "route add --rdomain ");
	sb_val(&s, rd.name);
	sb_addf(&s, " --vsid %u --prefix ", vsid);
	sb_prefix(&s, &a[P_DEST_PREFIX].v[0].v.pfx);
	sb_add(&s, " --nexthop ");
	sb_ip(&s, nh);
	if (a[P_METRIC].n)
		sb_addf(&s, " --metric %u", a[P_METRIC].v[0].v.u);
	lines_push(&l, &s);
	return commit(r, c, &l);
}

struct croute {
	const char *rdomain;
	uint32_t vsid, metric;
	struct hnv_prefix prefix;
	struct hnv_ip nexthop;
};

static bool row_croute(struct run *r, const struct cmd *c, json_object *row, struct croute *rt)
{
	char b[32];
	rt->rdomain = row_text(row, "rdomain", b, sizeof(b));
	if (rt->rdomain == NULL || rt->rdomain == b || rt->rdomain[0] == '\0')
		return bad_row(r, c, "routes", "rdomain");
	if (!row_uint(row, "VirtualSubnetID", HNV_VSID_MAX, &rt->vsid))
		return bad_row(r, c, "routes", "VirtualSubnetID");
	if (!row_prefix(row, "DestinationPrefix", &rt->prefix))
		return bad_row(r, c, "routes", "DestinationPrefix");
	if (!row_ip(row, "NextHop", &rt->nexthop))
		return bad_row(r, c, "routes", "NextHop");
	if (!row_uint(row, "Metric", UINT32_MAX, &rt->metric))
		rt->metric = 255;
	return true;
}

static void croute_del_line(struct sb *s, const struct croute *rt)
{
	sb_add(s, "route del --rdomain ");
	sb_val(s, rt->rdomain);
	sb_add(s, " --prefix ");
	sb_prefix(s, &rt->prefix);
	sb_add(s, " --nexthop ");
	sb_ip(s, &rt->nexthop);
}

static bool croute_del(struct run *r, const struct cmd *c, json_object *row, struct lines *l)
{
	struct croute rt;
	if (!row_croute(r, c, row, &rt))
		return false;
	struct sb s = {0};
	croute_del_line(&s, &rt);
	lines_push(l, &s);
	return true;
}

static bool croute_set_row(struct run *r, const struct cmd *c, json_object *row, struct lines *l)
{
	struct croute rt;
	if (!row_croute(r, c, row, &rt))
		return false;
	if (c->a[P_METRIC].n == 0)
		return true;
	struct sb s = {0};
	croute_del_line(&s, &rt);
	lines_push(l, &s);
	sb_add(&s, "route add --rdomain ");
	sb_val(&s, rt.rdomain);
	sb_addf(&s, " --vsid %u --prefix ", rt.vsid);
	sb_prefix(&s, &rt.prefix);
	sb_add(&s, " --nexthop ");
	sb_ip(&s, &rt.nexthop);
	sb_addf(&s, " --metric %u", c->a[P_METRIC].v[0].v.u);
	lines_push(l, &s);
	return true;
}

/* ---- provider addresses and provider routes ---- */

/* The interface of index idx, or false after a reported error. */
static bool ifname_of(struct run *r, const struct cmd *c, uint32_t idx, char name[IF_NAMESIZE])
{
	if (if_indextoname(idx, name) == NULL) {
		fail(r, c, "no network interface has InterfaceIndex %u", idx);
		return false;
	}
	return true;
}

/* VlanID and MACAddress of a provider address are properties of the
 * interface under hnvgw: refuse values that would be silently lost. */
static bool pa_unsupported(struct run *r, const struct cmd *c)
{
	if (c->a[P_VLAN].n && c->a[P_VLAN].v[0].v.u != 0) {
		fail(r, c,
		     "VlanID %u is not supported: give the InterfaceIndex of a VLAN interface "
		     "(e.g. eth0.%u) instead",
		     c->a[P_VLAN].v[0].v.u, c->a[P_VLAN].v[0].v.u);
		return false;
	}
	if (c->a[P_MAC].n) {
		fail(r, c,
		     "MACAddress is not supported: a provider address uses the MAC of its "
		     "interface");
		return false;
	}
	return true;
}

static void pa_add_line(struct sb *s, const struct hnv_ip *ip, uint32_t len, const char *dev)
{
	sb_add(s, "pa add ");
	sb_ip(s, ip);
	sb_addf(s, "/%u --dev ", len);
	sb_val(s, dev);
}

static void run_new_pa(struct run *r, const struct cmd *c)
{
	char dev[IF_NAMESIZE];
	if (!pa_unsupported(r, c) || !ifname_of(r, c, c->a[P_IFINDEX].v[0].v.u, dev))
		return;
	struct lines l = {0};
	struct sb s = {0};
	pa_add_line(&s, &c->a[P_PROVIDER_ADDRESS].v[0].v.ip, c->a[P_PREFIX_LEN].v[0].v.u, dev);
	lines_push(&l, &s);
	commit(r, c, &l);
}

struct pa_row {
	struct hnv_ip ip;
	uint32_t len;
	const char *dev;
};

static bool row_pa(struct run *r, const struct cmd *c, json_object *row, struct pa_row *p)
{
	char b[32];
	if (!row_ip(row, "ProviderAddress", &p->ip))
		return bad_row(r, c, "pa", "ProviderAddress");
	if (!row_uint(row, "PrefixLength", 128, &p->len))
		return bad_row(r, c, "pa", "PrefixLength");
	p->dev = row_text(row, "InterfaceName", b, sizeof(b));
	if (p->dev == NULL || p->dev == b || p->dev[0] == '\0')
		return bad_row(r, c, "pa", "InterfaceName");
	return true;
}

static bool pa_del(struct run *r, const struct cmd *c, json_object *row, struct lines *l)
{
	struct pa_row p;
	if (!row_pa(r, c, row, &p))
		return false;
	struct sb s = {0};
	sb_add(&s, "pa del ");
	sb_ip(&s, &p.ip);
	lines_push(l, &s);
	return true;
}

static bool pa_set_row(struct run *r, const struct cmd *c, json_object *row, struct lines *l)
{
	struct pa_row p;
	if (!pa_unsupported(r, c) || !row_pa(r, c, row, &p))
		return false;
	if (c->a[P_PREFIX_LEN].n == 0 || c->a[P_PREFIX_LEN].v[0].v.u == p.len)
		return true;
	if (!pa_del(r, c, row, l))
		return false;
	struct sb s = {0};
	pa_add_line(&s, &p.ip, c->a[P_PREFIX_LEN].v[0].v.u, p.dev);
	lines_push(l, &s);
	return true;
}

static void proute_add_line(struct sb *s, const struct hnv_prefix *pf, const struct hnv_ip *nh,
			    const char *dev, const uint32_t *metric)
{
	sb_add(s, "proute add --prefix ");
	sb_prefix(s, pf);
	sb_add(s, " --nexthop ");
	sb_ip(s, nh);
	sb_add(s, " --dev ");
	sb_val(s, dev);
	if (metric)
		sb_addf(s, " --metric %u", *metric);
}

static void run_new_proute(struct run *r, const struct cmd *c)
{
	char dev[IF_NAMESIZE];
	if (!ifname_of(r, c, c->a[P_IFINDEX].v[0].v.u, dev))
		return;
	struct lines l = {0};
	struct sb s = {0};
	proute_add_line(&s, &c->a[P_DEST_PREFIX].v[0].v.pfx, &c->a[P_NEXTHOP].v[0].v.ip, dev,
			c->a[P_METRIC].n ? &c->a[P_METRIC].v[0].v.u : NULL);
	lines_push(&l, &s);
	commit(r, c, &l);
}

struct proute_row {
	struct hnv_prefix prefix;
	struct hnv_ip nexthop;
	const char *dev;
};

static bool row_proute(struct run *r, const struct cmd *c, json_object *row, struct proute_row *p)
{
	char b[32];
	if (!row_prefix(row, "prefix", &p->prefix))
		return bad_row(r, c, "proutes", "prefix");
	if (!row_ip(row, "nexthop", &p->nexthop))
		return bad_row(r, c, "proutes", "nexthop");
	p->dev = row_text(row, "dev", b, sizeof(b));
	if (p->dev == NULL || p->dev == b || p->dev[0] == '\0')
		return bad_row(r, c, "proutes", "dev");
	return true;
}

static bool proute_del(struct run *r, const struct cmd *c, json_object *row, struct lines *l)
{
	struct proute_row p;
	if (!row_proute(r, c, row, &p))
		return false;
	struct sb s = {0};
	sb_add(&s, "proute del --prefix ");
	sb_prefix(&s, &p.prefix);
	sb_add(&s, " --nexthop ");
	sb_ip(&s, &p.nexthop);
	lines_push(l, &s);
	return true;
}

static bool proute_set_row(struct run *r, const struct cmd *c, json_object *row, struct lines *l)
{
	struct proute_row p;
	if (!row_proute(r, c, row, &p))
		return false;
	if (c->a[P_METRIC].n == 0)
		return true;
	if (!proute_del(r, c, row, l))
		return false;
	struct sb s = {0};
	proute_add_line(&s, &p.prefix, &p.nexthop, p.dev, &c->a[P_METRIC].v[0].v.u);
	lines_push(l, &s);
	return true;
}

/* ---- Get / Set / Remove over rows, global, next hop ---- */

/* f selects the rows (the Get of a pipeline, or the cmdlet itself); a acts
 * on them: Get prints, Remove and Set commit one transaction. */
static void run_query(struct run *r, const struct cmd *f, const struct cmd *a)
{
	const struct noun_def *nd = &nouns[f->def->noun];
	json_object *rows = show_rows(r, f, nd->what);
	if (rows == NULL)
		return;
	if (f->def->noun == N_GLOBAL && json_object_array_length(rows) == 0) {
		json_object *o = json_object_new_object();
		if (o == NULL || json_object_array_add(rows, o) != 0) {
			json_object_put(o);
			json_object_put(rows);
			fail(r, f, "out of memory");
			return;
		}
	}
	struct lines l = {0};
	size_t matched = 0, n = json_object_array_length(rows);
	bool ok = true;
	for (size_t i = 0; i < n && ok; i++) {
		json_object *row = json_object_array_get_idx(rows, i);
		if (!row_matches(nd, f, row))
			continue;
		matched++;
		if (a->def->verb == VB_GET)
			print_object(r->io->out, nd, row);
		else if (a->def->verb == VB_REMOVE)
			ok = nd->del(r, a, row, &l);
		else if (has_flag(a, F_SET))
			ok = nd->set(r, a, row, &l);
	}
	json_object_put(rows);
	if (a->def->verb == VB_GET)
		print_end(r->io->out, matched);
	if (!ok) {
		lines_free(&l);
		return;
	}
	if (matched == 0 && has_filters(f)) {
		char d[MSG_MAX / 2];
		filters_desc(f, d, sizeof(d));
		lines_free(&l);
		fail(r, f, "No matching %s objects found by %s", nd->cim, d);
		return;
	}
	if (a->def->verb != VB_GET)
		commit(r, a, &l);
	else
		lines_free(&l);
}

static void run_set_global(struct run *r, const struct cmd *c)
{
	if (c->a[P_USE_EXT_ROUTER].n == 0)
		return;
	struct lines l = {0};
	struct sb s = {0};
	sb_addf(&s, "global set --use-external-router %s",
		c->a[P_USE_EXT_ROUTER].v[0].v.b ? "on" : "off");
	lines_push(&l, &s);
	commit(r, c, &l);
}

/* Select-NetVirtualizationNextHop: the "nexthop" op, printed with the
 * property names Windows uses. */
static void run_nexthop(struct run *r, const struct cmd *c)
{
	char src[64] = "", dst[64], err[MSG_MAX] = "";
	const struct arg *a = c->a;
	if (a[P_SRC_CA].n)
		hnv_fmt_ip(&a[P_SRC_CA].v[0].v.ip, src, sizeof(src));
	hnv_fmt_ip(&a[P_DST_CA].v[0].v.ip, dst, sizeof(dst));
	uint32_t vsid = a[P_SRC_VSID].v[0].v.u;
	json_object *res = NULL;
	if (r->io->nexthop(r->io->ctx, vsid, a[P_SRC_CA].n ? src : NULL, dst, &res, err,
			   sizeof(err)) != 0) {
		json_object_put(res);
		fail(r, c, "%s", err[0] ? err : "the next hop query failed");
		return;
	}
	if (res == NULL || !json_object_is_type(res, json_type_object)) {
		json_object_put(res);
		fail(r, c, "the next hop query returned no result");
		return;
	}
	char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], d1[64], d2[64], d3[64], d4[64];
	const char *verdict = row_text(res, "verdict", b1, sizeof(b1));
	const char *counter = row_text(res, "counter", b2, sizeof(b2));
	if ((verdict && caseeq(verdict, "drop")) || (counter && caseprefix(counter, "drop_"))) {
		char sb[SHOWBUF];
		fail(r, c, "no next hop for %s in VirtualSubnetID %u: %s", dst, vsid,
		     show(counter ? counter : verdict, sb));
		json_object_put(res);
		return;
	}
	const char *s = a[P_SRC_CA].n ? src : row_text(res, "src", b3, sizeof(b3));
	const char *smac = row_text(res, "src_mac", b4, sizeof(b4));
	const char *nh = row_text(res, "next_hop_ca", b5, sizeof(b5));
	const char *mac = row_text(res, "mac", b6, sizeof(b6));
	FILE *out = r->io->out;
	if (out) {
		fprintf(out,
			"\nSourceCustomerAddress      : %s\nDestinationCustomerAddress : %s\n"
			"SourceVirtualSubnetID      : %u\nNextHopAddress             : %s\n"
			"SourceMACAddress           : %s\nNextHopMACAddress          : %s\n\n\n",
			s ? prop_display(V_IP, s, d1, sizeof(d1)) : "", dst, vsid,
			nh ? prop_display(V_IP, nh, d2, sizeof(d2)) : "",
			smac ? prop_display(V_MAC, smac, d3, sizeof(d3)) : "",
			mac ? prop_display(V_MAC, mac, d4, sizeof(d4)) : "");
	}
	json_object_put(res);
}

/* Runs statement idx; next is the index of the next statement of the main
 * order (for waiting lookup records). Returns true on success. */
static bool run_stmt(struct run *r, size_t idx, size_t next, bool may_wait)
{
	const struct stmt *s = &r->st[idx];
	const struct cmd *c = &s->c[0];
	bool was = r->failed;
	r->failed = false;
	switch (c->def->verb) {
	case VB_NEW:
		if (c->def->noun == N_LOOKUP)
			run_new_lookup(r, idx, next, may_wait);
		else if (c->def->noun == N_CROUTE)
			run_new_croute(r, idx);
		else if (c->def->noun == N_PA)
			run_new_pa(r, c);
		else
			run_new_proute(r, c);
		break;
	case VB_GET:
		if (s->n == 2 && s->c[1].def->verb != VB_FORMAT)
			run_query(r, c, &s->c[1]);
		else
			run_query(r, c, c);
		break;
	case VB_SET:
		if (c->def->noun == N_GLOBAL)
			run_set_global(r, c);
		else
			run_query(r, c, c);
		break;
	case VB_REMOVE:
		run_query(r, c, c);
		break;
	case VB_SELECT:
		run_nexthop(r, c);
		break;
	case VB_FORMAT:
		break; /* the binder never puts it first */
	}
	bool ok = !r->failed;
	r->failed = was || r->failed;
	return ok;
}

/* After a New-NetVirtualizationCustomerRoute for vsid succeeded: the
 * lookup records that waited for it run now, in script order. */
static void run_waiting(struct run *r, uint32_t vsid, size_t next)
{
	size_t keep = 0, n = r->npending;
	size_t *p = r->pending;
	/* run_stmt may append to pending again: work on a copy of the list */
	size_t *todo = malloc((n ? n : 1) * sizeof(*todo));
	size_t nt = 0;
	if (todo == NULL) {
		r->failed = true;
		if (r->io->err)
			fprintf(r->io->err, "out of memory\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (r->st[p[i]].c[0].a[P_VSID].v[0].v.u == vsid)
			todo[nt++] = p[i];
		else
			p[keep++] = p[i];
	}
	r->npending = keep;
	for (size_t i = 0; i < nt; i++)
		run_stmt(r, todo[i], next, true);
	free(todo);
}

int hnv_ps_run(const char *script, size_t len, const struct hnv_ps_io *io)
{
	char msg[MSG_MAX] = "";
	if (io == NULL || io->exec == NULL || io->show == NULL || io->nexthop == NULL ||
	    (script == NULL && len > 0))
		return 2;
	if (len > PS_SCRIPT_MAX) {
		if (io->err)
			fprintf(io->err, "line 1: script too large (%zu bytes, at most %u)\n", len,
				PS_SCRIPT_MAX);
		return 2;
	}
	struct lex lx = {.src = script, .len = len, .line = 1, .msg = msg};
	lx.acap = 2 * len + 1;
	lx.arena = malloc(lx.acap);
	struct bind b = {.msg = msg};
	struct run r = {.io = io};
	int ret = 2;
	if (lx.arena == NULL) {
		snprintf(msg, sizeof(msg), "line 1: out of memory");
		goto out;
	}
	if (lex_all(&lx) < 0)
		goto out;
	b.t = lx.t;
	b.ntok = lx.n;
	/* each value is one value token, or a parameter token for a switch */
	for (size_t i = 0; i < lx.n; i++)
		if (is_value(&lx.t[i]) || lx.t[i].kind == TK_PARAM)
			b.capvals++;
	b.vals = calloc(b.capvals ? b.capvals : 1, sizeof(*b.vals));
	if (b.vals == NULL) {
		snprintf(msg, sizeof(msg), "line 1: out of memory");
		goto out;
	}
	if (bind_all(&b) < 0)
		goto out;

	r.st = b.st;
	r.nst = b.nst;
	r.pending = malloc((b.nst ? b.nst : 1) * sizeof(*r.pending));
	if (r.pending == NULL) {
		snprintf(msg, sizeof(msg), "line 1: out of memory");
		goto out;
	}
	for (size_t i = 0; i < r.nst; i++) {
		const struct cmd *c = &r.st[i].c[0];
		bool ok = run_stmt(&r, i, i + 1, true);
		if (ok && c->def->verb == VB_NEW && c->def->noun == N_CROUTE && !whatif(c))
			run_waiting(&r, c->a[P_VSID].v[0].v.u, i + 1);
	}
	/* records still waiting: their route failed; report them now */
	for (size_t i = 0; i < r.npending; i++)
		run_stmt(&r, r.pending[i], r.nst, false);
	ret = r.failed ? 1 : 0;
	msg[0] = '\0';
out:
	if (ret == 2 && msg[0] && io->err)
		fprintf(io->err, "%s\n", msg);
	free(r.pending);
	free(b.st);
	free(b.vals);
	free(lx.t);
	free(lx.arena);
	return ret;
}
