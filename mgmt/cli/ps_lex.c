/* ps_lex.c: the NetWNV front end's lexer (ps_int.h): script bytes ->
 * tokens, with quotes, escapes, line continuations and comments resolved;
 * every token knows its line and column. Also the character and message
 * helpers the later stages share. */
#include "ps_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- characters and messages (ASCII, independent of the locale) ---- */

bool ps_caseprefix(const char *s, const char *p)
{
	for (; *p; s++, p++)
		if (*s == '\0' || hnv_ascii_lower(*s) != hnv_ascii_lower(*p))
			return false;
	return true;
}

const char *ps_show(const char *s, char buf[SHOWBUF])
{
	size_t i = 0;
	for (; s[i] && i < SHOW_MAX; i++)
		buf[i] = ps_is_ctrl((unsigned char)s[i]) ? '?' : s[i];
	if (s[i])
		memcpy(buf + i, "...", 3), i += 3;
	buf[i] = '\0';
	return buf;
}

int ps_syntax_err(char *msg, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int k = snprintf(msg, MSG_MAX, "line %u: ", line);
	if (k > 0 && k < MSG_MAX) {
		va_start(ap, fmt);
		vsnprintf(msg + k, MSG_MAX - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

const char *ps_tok_desc(const struct tok *t, char buf[DESCBUF])
{
	char sb[SHOWBUF];
	switch (t->kind) {
	case TK_WORD:
		snprintf(buf, DESCBUF, "\"%s\"", ps_show(t->s, sb));
		break;
	case TK_STRING:
		snprintf(buf, DESCBUF, "string \"%s\"", ps_show(t->s, sb));
		break;
	case TK_PARAM:
		snprintf(buf, DESCBUF, "-%s", ps_show(t->s, sb));
		break;
	case TK_VAR:
		snprintf(buf, DESCBUF, "$%s", ps_show(t->s, sb));
		break;
	case TK_MEMBER:
		snprintf(buf, DESCBUF, "$_.%s", ps_show(t->s, sb));
		break;
	default:
		snprintf(buf, DESCBUF, "%s", t->s);
		break;
	}
	return buf;
}

/* ---- the lexer ---- */

struct lex {
	const char *src;
	size_t len, i;
	unsigned line;
	size_t bol;         /* offset of the current line's first byte */
	struct ps_toks *tk; /* the result; its arena holds every word's text */
	size_t alen, acap;
	unsigned depth; /* script blocks { } open */
	char *msg;      /* MSG_MAX bytes: "line N: ..." on error */
};

static unsigned col_of(const struct lex *lx, size_t off)
{
	size_t c = off - lx->bol + 1;
	return c > UINT32_MAX ? UINT32_MAX : (unsigned)c;
}

static int push_tok(struct lex *lx, enum tk kind, unsigned line, unsigned col, const char *s,
		    bool colon)
{
	struct ps_toks *tk = lx->tk;
	if (HNV_GROW(tk->t, tk->cap, tk->n + 1))
		return ps_syntax_err(lx->msg, line, "out of memory");
	tk->t[tk->n++] = (struct tok){kind, colon, line, col, s};
	return 0;
}

/* The arena holds every word's text. A word of k source bytes yields at
 * most k bytes plus its NUL, and every token consumes at least one source
 * byte, so 2 * len + 1 bytes always suffice; checked anyway. */
static int put(struct lex *lx, char c)
{
	if (lx->alen >= lx->acap)
		return ps_syntax_err(lx->msg, lx->line, "token text overflows its buffer");
	lx->tk->arena[lx->alen++] = c;
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

/* After a quoted string or $true: the next byte must end the token. Inside
 * a script block, so does its closing brace. */
static bool ends_token(const struct lex *lx, size_t i)
{
	if (i >= lx->len)
		return true;
	char c = lx->src[i];
	return is_space(c) || c == '\n' || c == '\r' || c == ';' || c == '|' || c == ',' ||
	       (c == '}' && lx->depth > 0);
}

static int after_token(struct lex *lx, const char *what, unsigned line)
{
	if (ends_token(lx, lx->i))
		return 0;
	unsigned char c = (unsigned char)lx->src[lx->i];
	if (ps_is_ctrl(c) || c >= 0x80)
		return ps_syntax_err(lx->msg, line, "unexpected byte 0x%02x after %s", c, what);
	return ps_syntax_err(lx->msg, line, "unexpected '%c' after %s", c, what);
}

/* The character "`x" stands for in a double-quoted string: `a `b `e `f `n
 * `r `t `v are control characters, any other x stands for itself. */
static char backtick_escape(char x)
{
	static const char from[] = "abefnrtv", to[] = "\a\b\x1b\f\n\r\t\v";
	const char *p = x ? strchr(from, x) : NULL;
	return p ? to[p - from] : x;
}

static int lex_string(struct lex *lx, char q, size_t qlen)
{
	unsigned line = lx->line, col = col_of(lx, lx->i);
	const char *s = lx->tk->arena + lx->alen;
	int rc;
	lx->i += qlen;
	for (;;) {
		if (lx->i >= lx->len)
			return ps_syntax_err(lx->msg, line,
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
				return ps_syntax_err(
					lx->msg, line,
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
			if (x == '0')
				return ps_syntax_err(lx->msg, lx->line,
						     "\"`0\" (NUL) is not allowed in a string");
			x = backtick_escape(x);
			if (x == '\0')
				return ps_syntax_err(lx->msg, lx->line, "NUL byte in a string");
			if ((rc = put(lx, x)) < 0)
				return rc;
			lx->i += 2;
			continue;
		}
		if (q == '"' && c == '$' && lx->i + 1 < lx->len) {
			char x = lx->src[lx->i + 1];
			if (ps_is_alpha(x) || x == '_' || x == '{' || x == '(' || x == '$' ||
			    x == '?' || x == '^' || x == ':')
				return ps_syntax_err(
					lx->msg, lx->line,
					"variables and expressions are not supported in strings "
					"(write `$ for a literal $, or use single quotes)");
		}
		if (c == '\0' || (ps_is_ctrl((unsigned char)c) && c != '\t'))
			return ps_syntax_err(lx->msg, lx->line,
					     "control character 0x%02x in a string",
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

/* Copies n bytes at src into the arena as a NUL-terminated text; *out
 * points at it. */
static int put_text(struct lex *lx, const char *src, size_t n, const char **out)
{
	*out = lx->tk->arena + lx->alen;
	int rc = 0;
	for (size_t k = 0; k < n && rc == 0; k++)
		rc = put(lx, src[k]);
	return rc < 0 ? rc : put(lx, '\0');
}

static bool is_name_char(char c)
{
	return ps_is_alpha(c) || hnv_is_digit(c) || c == '_';
}

/* $true, $false, $name (TK_VAR) or $_.Name (TK_MEMBER). */
static int lex_variable(struct lex *lx)
{
	unsigned line = lx->line, col = col_of(lx, lx->i);
	size_t start = ++lx->i;
	while (lx->i < lx->len && is_name_char(lx->src[lx->i]))
		lx->i++;
	size_t n = lx->i - start;
	const char *v = lx->src + start, *s;
	int rc;
	if (n == 4 && ps_caseprefix(v, "true")) {
		rc = after_token(lx, "$true", line);
		return rc < 0 ? rc : push_tok(lx, TK_TRUE, line, col, "$true", false);
	}
	if (n == 5 && ps_caseprefix(v, "false")) {
		rc = after_token(lx, "$false", line);
		return rc < 0 ? rc : push_tok(lx, TK_FALSE, line, col, "$false", false);
	}
	if (n == 0)
		return ps_syntax_err(
			lx->msg, line,
			"variables and expressions are not supported (\"$\" at column %u)", col);
	int shown = (int)(n > SHOW_MAX ? SHOW_MAX : n);
	bool member =
		lx->i + 1 < lx->len && lx->src[lx->i] == '.' && ps_is_alpha(lx->src[lx->i + 1]);
	if (n == 1 && v[0] == '_') {
		if (!member)
			return ps_syntax_err(lx->msg, line,
					     "$_ is only supported as $_.Property in a "
					     "Where-Object script block (column %u)",
					     col);
		size_t ps = ++lx->i;
		while (lx->i < lx->len && is_name_char(lx->src[lx->i]))
			lx->i++;
		if (lx->i < lx->len && (lx->src[lx->i] == '.' || lx->src[lx->i] == '('))
			return ps_syntax_err(lx->msg, line,
					     "only $_.Property is supported, not methods or "
					     "nested properties (column %u)",
					     col);
		if ((rc = after_token(lx, "$_.Property", line)) < 0 ||
		    (rc = put_text(lx, lx->src + ps, lx->i - ps, &s)) < 0)
			return rc;
		return push_tok(lx, TK_MEMBER, line, col, s, false);
	}
	if (member || (lx->i < lx->len && (lx->src[lx->i] == ':' || lx->src[lx->i] == '[')))
		return ps_syntax_err(lx->msg, line,
				     "$%.*s: only plain variables are supported ($name, set with "
				     "$name = value), not properties, scopes or indexes",
				     shown, v);
	/* $x=1 is an assignment too */
	if (!ends_token(lx, lx->i) && lx->src[lx->i] != '=')
		return after_token(lx, "a variable", line);
	if ((rc = put_text(lx, v, n, &s)) < 0)
		return rc;
	return push_tok(lx, TK_VAR, line, col, s, false);
}

/* -Name or -Name: ; dlen is the length of the dash at i. */
static int lex_param(struct lex *lx, size_t dlen)
{
	unsigned line = lx->line, col = col_of(lx, lx->i);
	const char *s = lx->tk->arena + lx->alen;
	int rc;
	lx->i += dlen;
	while (lx->i < lx->len && (ps_is_alpha(lx->src[lx->i]) || hnv_is_digit(lx->src[lx->i]) ||
				   lx->src[lx->i] == '_')) {
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
		if (ps_is_ctrl(c) || c >= 0x80)
			return ps_syntax_err(lx->msg, line,
					     "unexpected byte 0x%02x in parameter -%.64s", c, s);
		return ps_syntax_err(lx->msg, line,
				     "unexpected '%c' in parameter -%.64s (write -%.64s value or "
				     "-%.64s:value)",
				     c, s, s, s);
	}
	return push_tok(lx, TK_PARAM, line, col, s, colon);
}

static int lex_word(struct lex *lx)
{
	unsigned line = lx->line, col = col_of(lx, lx->i);
	const char *s = lx->tk->arena + lx->alen;
	int rc;
	/* a GUID in braces keeps its closing brace, even in a script block */
	bool guid = lx->i < lx->len && lx->src[lx->i] == '{';
	while (lx->i < lx->len) {
		char c = lx->src[lx->i], q;
		if (is_space(c) || c == '\n' || c == '\r' || c == ';' || c == '|' || c == ',')
			break;
		if (c == '}' && lx->depth > 0 && !guid)
			break;
		if (c == '}')
			guid = false;
		if (c == '`') {
			size_t k = lx->i + 1;
			if (k >= lx->len)
				return ps_syntax_err(lx->msg, line,
						     "backtick at the end of the script");
			if (eol_at(lx, k))
				break; /* a line continuation: the main loop takes it */
			while (k < lx->len && is_space(lx->src[k]))
				k++;
			if (k > lx->i + 1 && (k == lx->len || eol_at(lx, k)))
				return ps_syntax_err(
					lx->msg, line,
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
			return ps_syntax_err(lx->msg, line,
					     "quote inside the word starting at column %u "
					     "(quote the whole value)",
					     col);
		if (c == '$')
			return ps_syntax_err(lx->msg, line,
					     "variables are not supported (\"$\" at column %u)",
					     col_of(lx, lx->i));
		if (c == '(' || c == ')' || c == '<' || c == '>' || c == '&')
			return ps_syntax_err(
				lx->msg, line,
				"unsupported character '%c' at column %u (expressions and "
				"redirection are not supported; quote the value)",
				c, col_of(lx, lx->i));
		if (c == '\0' || ps_is_ctrl((unsigned char)c))
			return ps_syntax_err(lx->msg, line, "control character 0x%02x at column %u",
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
					rc = ps_syntax_err(lx->msg, line,
							   "unterminated <# comment");
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
				rc = ps_syntax_err(lx->msg, lx->line, "'||' is not supported");
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
		} else if (c == '=') {
			rc = push_tok(lx, TK_ASSIGN, lx->line, col, "'='", false);
			lx->i++;
		} else if (c == '{' && !(i + 1 < lx->len && hnv_hex_val(src[i + 1]) >= 0)) {
			/* a script block; "{1111...}" is a GUID */
			if (lx->depth >= 1)
				rc = ps_syntax_err(lx->msg, lx->line,
						   "nested script blocks are not supported "
						   "(column %u)",
						   col);
			else
				rc = push_tok(lx, TK_LBRACE, lx->line, col, "'{'", false);
			lx->depth++;
			lx->i++;
		} else if (c == '}' && lx->depth > 0) {
			rc = push_tok(lx, TK_RBRACE, lx->line, col, "'}'", false);
			lx->depth--;
			lx->i++;
		} else if ((n = dash_at(lx, i)) != 0 && i + n < lx->len &&
			   ps_is_alpha(src[i + n])) {
			rc = lex_param(lx, n);
		} else if (c == '(' || c == ')' || c == '@' || c == '&' || c == '<' || c == '>') {
			rc = ps_syntax_err(
				lx->msg, lx->line,
				"unsupported character '%c' at column %u (expressions, script "
				"blocks and redirection are not supported)",
				c, col);
		} else if (c == '\0' || ps_is_ctrl((unsigned char)c)) {
			rc = ps_syntax_err(lx->msg, lx->line,
					   "control character 0x%02x at column %u",
					   (unsigned char)c, col);
		} else {
			rc = lex_word(lx);
		}
	}
	if (rc == 0)
		rc = push_tok(lx, TK_EOF, lx->line, col_of(lx, lx->i), "end of script", false);
	return rc;
}

int ps_lex(const char *script, size_t len, struct ps_toks *out, char *msg)
{
	*out = (struct ps_toks){0};
	struct lex lx = {.src = script, .len = len, .line = 1, .tk = out, .msg = msg};
	lx.acap = 2 * len + 1;
	out->arena = malloc(lx.acap);
	if (out->arena == NULL) {
		snprintf(msg, MSG_MAX, "line 1: out of memory");
		return -ENOMEM;
	}
	return lex_all(&lx);
}

void ps_toks_free(struct ps_toks *tk)
{
	free(tk->t);
	free(tk->arena);
	*tk = (struct ps_toks){0};
}
