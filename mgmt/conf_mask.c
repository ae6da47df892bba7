/* conf_mask.c: a config line as anyone may see it (hnv_conf_mask_line in
 * conftext.h).
 *
 * The line goes through the config text's one lexer (conf_lex.c) and
 * parser (conf_parse.c): where its comment starts and which command it is
 * are decided exactly as when the line is loaded, so no spelling the
 * parser accepts (more blanks, tabs, quoted command words) slips past the
 * mask, as it did when "s2s add" was recognized by prefix (issue 17,
 * finding 3). Copies of the line and of its command are cleared: they may
 * hold a PSK.
 */
#include "conf_int.h"

#include <errno.h>
#include <strings.h>

#define FMT_MAX 8192 /* a canonical line; every valid one is shorter */

/* Marks of a comment that may hold a secret (a commented-out tunnel, a
 * note about a key), matched in any case anywhere in it. */
static const char *const secret_marks[] = {"s2s", "psk", "secret", "passw", "key"};

static bool may_hold_secret(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		for (size_t k = 0; k < sizeof(secret_marks) / sizeof(*secret_marks); k++) {
			size_t ml = strlen(secret_marks[k]);
			if (len - i >= ml && strncasecmp(s + i, secret_marks[k], ml) == 0)
				return true;
		}
	return false;
}

/* The result being written: once it overflows, over stays set. */
struct masked {
	char *buf;
	size_t len, off;
	bool over;
};

static void put(struct masked *o, const char *s, size_t n)
{
	if (o->over || n >= o->len - o->off) {
		o->over = true;
		return;
	}
	memcpy(o->buf + o->off, s, n);
	o->off += n;
	o->buf[o->off] = '\0';
}

static void puts_(struct masked *o, const char *s)
{
	put(o, s, strlen(s));
}

/* Parses s[0..len) (one line, no terminator) with the config parser:
 * 1 with *cmd, 0 for a blank or comment line, -EINVAL. */
static int parse(const char *s, size_t len, struct hnv_conf_cmd *cmd)
{
	char line[CONF_LINE_MAX + 1];
	if (len > CONF_LINE_MAX)
		return -EINVAL;
	memcpy(line, s, len);
	line[len] = '\0';
	int rc = hnv_conf_parse_line(line, cmd, NULL, 0);
	explicit_bzero(line, len);
	return rc;
}

/* Writes the canonical line of an "s2s add" with its PSK as <secret>. */
static int put_s2s(struct masked *o, const struct hnv_conf_cmd *cmd)
{
	char f[FMT_MAX];
	int rc = hnv_conf_format(cmd, false, f, sizeof(f));
	if (rc == 0)
		puts_(o, f);
	explicit_bzero(f, sizeof(f));
	return rc;
}

/* The comment c[0..n) (from its '#'): as written, or masked. */
static void put_comment(struct masked *o, const char *c, size_t n)
{
	if (!may_hold_secret(c, n)) {
		put(o, c, n);
		return;
	}
	/* a commented-out line: what follows the '#'s and blanks */
	size_t i = 0;
	while (i < n && (c[i] == '#' || conf_is_blank(c[i])))
		i++;
	struct hnv_conf_cmd cmd;
	if (parse(c + i, n - i, &cmd) == 1 && cmd.kind == HNV_CONF_S2S_ADD) {
		size_t mark = o->off;
		puts_(o, "# ");
		if (put_s2s(o, &cmd) < 0) {
			o->off = mark;
			o->buf[mark] = '\0';
			puts_(o, HNV_CONF_MASK_COMMENT);
		}
	} else {
		puts_(o, HNV_CONF_MASK_COMMENT);
	}
	explicit_bzero(&cmd, sizeof(cmd));
}

int hnv_conf_mask_line(const char *line, size_t len, char *buf, size_t buflen)
{
	if (buf == NULL || buflen == 0 || (line == NULL && len > 0))
		return -EINVAL;
	struct masked o = {buf, buflen, 0, false};
	buf[0] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		len--;
	struct conf_words ws;
	struct hnv_conf_cmd cmd;
	int rc = len > CONF_LINE_MAX ? -EINVAL : conf_tokenize(line, len, &ws, NULL, 0);
	size_t code = rc == 0 ? ws.comment : 0;
	bool command = rc == 0 && ws.n > 0;
	explicit_bzero(&ws, sizeof(ws));
	if (command)
		rc = parse(line, len, &cmd);
	if (rc >= 0 && command && cmd.kind == HNV_CONF_S2S_ADD) {
		rc = put_s2s(&o, &cmd);
		if (rc == 0 && code < len)
			puts_(&o, " ");
	} else if (rc >= 0) {
		put(&o, line, code);
	}
	if (command)
		explicit_bzero(&cmd, sizeof(cmd));
	if (rc < 0) {
		/* nothing tells whether it holds a secret: none of it shows */
		o.off = 0;
		buf[0] = '\0';
		o.over = false;
		puts_(&o, HNV_CONF_MASK_HIDDEN);
	} else if (code < len) {
		put_comment(&o, line + code, len - code);
	}
	if (o.over) {
		buf[0] = '\0';
		return -ENOSPC;
	}
	return 0;
}
