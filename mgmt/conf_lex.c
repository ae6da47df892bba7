/* conf_lex.c: the config text's tokenizer (conf_int.h).
 *
 * One line -> words. Its messages name columns, never characters: the line
 * may hold a PSK.
 */
#include "conf_int.h"

#include "../lib/err.h"

#include <errno.h>

bool conf_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Splits s[0..len) (no line terminator, no NUL) into words. */
int conf_tokenize(const char *s, size_t len, struct conf_words *ws, char *err, size_t errlen)
{
	size_t i = 0, o = 0;
	ws->n = 0;
	ws->comment = len;
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)s[k];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			hnv_seterr(err, errlen, "control character 0x%02x at column %zu", c, k + 1);
			return -EINVAL;
		}
	}
	while (i < len) {
		if (conf_is_blank(s[i])) {
			i++;
			continue;
		}
		if (s[i] == '#') {
			ws->comment = i;
			break;
		}
		if (ws->n == CONF_WORDS_MAX) {
			hnv_seterr(err, errlen, "too many words (at most %d)", CONF_WORDS_MAX);
			return -EINVAL;
		}
		/* Each input byte yields at most one output byte and every word
		 * consumes at least one byte more than its text, so o stays
		 * below len + 1 <= sizeof(buf); checked anyway. */
		struct conf_word *w = &ws->w[ws->n];
		size_t start = i;
		w->s = ws->buf + o;
		w->quoted = s[i] == '"';
		if (w->quoted) {
			i++;
			for (;;) {
				if (i >= len) {
					hnv_seterr(err, errlen,
						   "unterminated quoted value at column %zu",
						   start + 1);
					return -EINVAL;
				}
				char c = s[i];
				if (c == '"')
					break;
				if (c == '\\') {
					if (i + 1 >= len) {
						hnv_seterr(
							err, errlen,
							"unterminated quoted value at column %zu",
							start + 1);
						return -EINVAL;
					}
					c = s[++i];
					if (c != '"' && c != '\\') {
						hnv_seterr(err, errlen,
							   "invalid escape at column %zu "
							   "(only \\\" and \\\\)",
							   i);
						return -EINVAL;
					}
				}
				if (o + 1 >= sizeof(ws->buf))
					goto too_long;
				ws->buf[o++] = c;
				i++;
			}
			i++; /* the closing quote */
			if (i < len && !conf_is_blank(s[i]) && s[i] != '#') {
				hnv_seterr(err, errlen,
					   "unexpected character after quoted value at column %zu",
					   i + 1);
				return -EINVAL;
			}
		} else {
			while (i < len && !conf_is_blank(s[i]) && s[i] != '#') {
				if (s[i] == '"') {
					hnv_seterr(err, errlen,
						   "unexpected quote inside word at column %zu",
						   i + 1);
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
	hnv_seterr(err, errlen, "line too long (more than %d bytes)", CONF_LINE_MAX);
	return -EINVAL;
}
