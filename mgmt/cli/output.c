/* output.c: how the hnvgw CLI prints results (output.h). */
#include "output.h"

#include "../../lib/vec.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hnv_cli_print_json(json_object *o)
{
	printf("%s\n", o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								     JSON_C_TO_STRING_SPACED |
								     JSON_C_TO_STRING_NOSLASHESCAPE)
			 : "null");
}

/* A cell: strings as they are, lists joined with ',', null and "" as '-'.
 * Malloc'd; NULL when out of memory. */
static char *cell(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return strdup("-");
	case json_type_string:
		return strdup(json_object_get_string_len(v) ? json_object_get_string(v) : "-");
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
		return strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
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
	for (size_t c = 0; c < ncol; c++)
		print_cell(cols[c], c, ncol, width);
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
	fputs(s ? s : "", stdout);
	if (n && s[n - 1] != '\n')
		putchar('\n');
}
