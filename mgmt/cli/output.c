/* output.c: how the hnvgw CLI prints results (output.h). */
#include "output.h"

#include "../../lib/vec.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The length of the valid UTF-8 sequence at p (1-4), with its code point
 * in *cp; 0 when p does not start one (overlong forms, surrogates and code
 * points above U+10FFFF are invalid). */
static size_t utf8_seq(const unsigned char *p, uint32_t *cp)
{
	size_t n;
	uint32_t c = p[0], min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, c &= 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, c &= 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) /* a NUL ends here too */
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

char *hnv_cli_escape(const char *s, bool text)
{
	struct hnv_buf b = {0};
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t cp;
		size_t n = utf8_seq(p, &cp);
		bool kept = text && (cp == '\n' || cp == '\t');
		if (n == 0 || ((cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) && !kept)) {
			for (size_t i = 0; i < (n ? n : 1); i++)
				hnv_buf_printf(&b, "\\x%02x", p[i]);
			p += n ? n : 1;
		} else {
			hnv_buf_append(&b, (const char *)p, n);
			p += n;
		}
	}
	return hnv_buf_take(&b);
}

void hnv_cli_fputs_safe(const char *s, bool text, FILE *f)
{
	char *e = hnv_cli_escape(s, text);
	fputs(e ? e : "?", f);
	if (e)
		explicit_bzero(e, strlen(e)); /* show config --show-secrets */
	free(e);
}

/* json-c's text of a JSON value with DEL and C1 controls (which it leaves
 * raw) as \u00NN: the same value, nothing a terminal acts on. The C0
 * controls json-c escapes itself; other bytes stay. */
static void put_json_safe(const char *j)
{
	const unsigned char *p = (const unsigned char *)j;
	while (*p) {
		uint32_t cp;
		size_t n = utf8_seq(p, &cp);
		if (n && cp >= 0x7f && cp <= 0x9f)
			printf("\\u%04x", (unsigned)cp);
		else
			fwrite(p, 1, n ? n : 1, stdout);
		p += n ? n : 1;
	}
}

void hnv_cli_print_json(json_object *o)
{
	put_json_safe(o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_SPACED |
								 JSON_C_TO_STRING_NOSLASHESCAPE)
			: "null");
	putchar('\n');
}

void hnv_cli_print_json_line(json_object *o)
{
	put_json_safe(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE));
	putchar('\n');
}

/* A cell: strings as they are, lists joined with ',', null and "" as '-'.
 * Malloc'd; NULL when out of memory. */
static char *cell(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return strdup("-");
	case json_type_string: /* a cell is one line: '\n' and '\t' escaped too */
		return json_object_get_string_len(v) ? hnv_cli_escape(json_object_get_string(v), false)
						     : strdup("-");
	case json_type_array: {
		struct hnv_buf b = {0};
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			char *part = cell(json_object_array_get_idx(v, i));
			if (part) {
				if (i)
					hnv_buf_puts(&b, ",");
				hnv_buf_puts(&b, part);
				free(part);
			}
		}
		return hnv_buf_take(&b);
	}
	default:
		return hnv_cli_escape(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
				      false);
	}
}

#define MAX_COLS 64

/* Cell s of column c (of ncol): padded to the column's width and followed
 * by two spaces, the last one by the end of the line instead. */
static void print_cell(const char *s, size_t c, size_t ncol, const size_t *width)
{
	bool last = c + 1 == ncol;
	printf("%-*s%s", last ? 0 : (int)width[c], s, last ? "\n" : "  ");
}

void hnv_cli_print_table(json_object *rows)
{
	if (!json_object_is_type(rows, json_type_array)) {
		hnv_cli_print_json(rows);
		return;
	}
	size_t n = json_object_array_length(rows), ncol = 0;
	const char *cols[MAX_COLS];
	size_t width[MAX_COLS];
	for (size_t r = 0; r < n; r++) {
		json_object *row = json_object_array_get_idx(rows, r);
		if (!json_object_is_type(row, json_type_object))
			continue;
		json_object_object_foreach(row, k, v)
		{
			(void)v;
			size_t c = 0;
			while (c < ncol && strcmp(cols[c], k) != 0)
				c++;
			if (c == ncol && ncol < MAX_COLS) {
				cols[ncol] = k;
				width[ncol++] = strlen(k);
			}
		}
	}
	if (ncol == 0)
		return;
	char **cells = calloc(n * ncol, sizeof(*cells));
	if (!cells)
		return;
	for (size_t r = 0; r < n; r++) {
		json_object *row = json_object_array_get_idx(rows, r), *v;
		for (size_t c = 0; c < ncol; c++) {
			cells[r * ncol + c] =
				json_object_object_get_ex(row, cols[c], &v) ? cell(v) : strdup("-");
			size_t l = cells[r * ncol + c] ? strlen(cells[r * ncol + c]) : 0;
			if (l > width[c])
				width[c] = l;
		}
	}
	char *head[MAX_COLS];
	for (size_t c = 0; c < ncol; c++) {
		head[c] = hnv_cli_escape(cols[c], false);
		if (head[c] && strlen(head[c]) > width[c])
			width[c] = strlen(head[c]);
	}
	for (size_t c = 0; c < ncol; c++) {
		print_cell(head[c] ? head[c] : "?", c, ncol, width);
		free(head[c]);
	}
	for (size_t r = 0; r < n; r++)
		for (size_t c = 0; c < ncol; c++)
			print_cell(cells[r * ncol + c] ? cells[r * ncol + c] : "?", c, ncol, width);
	for (size_t i = 0; i < n * ncol; i++)
		free(cells[i]);
	free(cells);
}

void hnv_cli_print_text(json_object *o)
{
	const char *s = json_object_get_string(o);
	size_t n = s ? strlen(s) : 0;
	if (isatty(STDOUT_FILENO))
		hnv_cli_fputs_safe(s ? s : "", true, stdout);
	else
		fputs(s ? s : "", stdout);
	if (n && s[n - 1] != '\n')
		putchar('\n');
}

bool hnv_cli_not_applied(json_object *res, char **what)
{
	json_object *applied, *rows;
	*what = NULL;
	if (!json_object_is_type(res, json_type_object) ||
	    !json_object_object_get_ex(res, "applied", &applied) ||
	    json_object_get_boolean(applied))
		return false;
	struct hnv_buf b = {0};
	size_t n = json_object_object_get_ex(res, "not_applied", &rows) &&
				   json_object_is_type(rows, json_type_array)
			   ? json_object_array_length(rows)
			   : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *row = json_object_array_get_idx(rows, i), *o = NULL, *e = NULL;
		json_object_object_get_ex(row, "object", &o);
		json_object_object_get_ex(row, "error", &e);
		const char *os = o ? json_object_get_string(o) : NULL;
		const char *es = e ? json_object_get_string(e) : NULL;
		hnv_buf_printf(&b, "%s%s: %s", i ? "; " : "", os ? os : "?", es ? es : "?");
	}
	if (n == 0)
		hnv_buf_puts(&b, "hnvgwd did not say what");
	*what = hnv_buf_take(&b);
	hnv_buf_free(&b, false);
	return true;
}
