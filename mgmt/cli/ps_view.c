/* ps_view.c: Where-Object conditions on the rows of a Get-..., and the
 * views of its output (ps_int.h): Format-List, PowerShell's default for
 * the NetWNV objects, and Format-Table, its default after Select-Object
 * with at most four properties. Values are printed as ps_prop_text makes
 * them, escaped for the terminal (they are hnvgwd's strings).
 */
#include "ps_int.h"

#include "output.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 256 /* bytes of one property's text */

static bool cond_holds(const struct ps_class *cl, const struct cond *c, json_object *row)
{
	const struct prop *p = &cl->props[c->prop];
	enum vtype ty = ps_pdefs[p->id].type;
	char buf[TEXT_MAX];
	const char *v = ps_prop_text(p, row, buf, sizeof(buf));
	uint32_t u;
	bool b, eq;
	int k;
	switch (c->op) {
	case OP_LIKE:
		return ps_like(v, c->text);
	case OP_NOTLIKE:
		return !ps_like(v, c->text);
	case OP_MATCH:
		return regexec(c->re, v, 0, NULL, 0) == 0;
	case OP_NOTMATCH:
		return regexec(c->re, v, 0, NULL, 0) != 0;
	case OP_EQ:
	case OP_NE:
		break;
	}
	switch (ty) {
	case V_UINT:
		eq = ps_num_parse(v, UINT32_MAX, &u) && u == c->u;
		break;
	case V_RULE:
	case V_TYPE:
		k = ps_enum_find(v, ty == V_RULE, true);
		eq = k >= 0 && (ty == V_RULE ? ps_rules[k].num : ps_types[k].num) == c->u;
		break;
	case V_BOOL:
		eq = ps_bool_text(v, &b) && b == c->b;
		break;
	default:
		eq = hnv_ascii_caseeq(v, c->text);
		break;
	}
	return c->op == OP_EQ ? eq : !eq;
}

bool ps_where_matches(const struct ps_class *cl, const struct cond *c, size_t n, json_object *row)
{
	for (size_t i = 0; i < n; i++)
		if (!cond_holds(cl, &c[i], row))
			return false;
	return true;
}

/* The properties v shows: its own, or every printed one of cl. */
static unsigned view_props(const struct ps_class *cl, const struct view *v,
			   uint8_t idx[PS_VIEW_MAX])
{
	if (v->n) {
		memcpy(idx, v->idx, v->n);
		return v->n;
	}
	unsigned n = 0;
	for (size_t i = 0; i < cl->nprops && n < PS_VIEW_MAX; i++)
		if (!(cl->props[i].flags & PR_HIDDEN))
			idx[n++] = (uint8_t)i;
	return n;
}

static const char *prop_name(const struct ps_class *cl, unsigned i)
{
	return ps_pdefs[cl->props[i].id].name;
}

static void print_list(FILE *out, const struct ps_class *cl, const uint8_t *idx, unsigned n,
		       json_object *rows)
{
	size_t w = 0;
	for (unsigned k = 0; k < n; k++)
		if (strlen(prop_name(cl, idx[k])) > w)
			w = strlen(prop_name(cl, idx[k]));
	for (size_t r = 0; r < json_object_array_length(rows); r++) {
		json_object *row = json_object_array_get_idx(rows, r);
		fputc('\n', out);
		for (unsigned k = 0; k < n; k++) {
			char buf[TEXT_MAX];
			fprintf(out, "%-*s : ", (int)w, prop_name(cl, idx[k]));
			hnv_cli_fputs_safe(ps_prop_text(&cl->props[idx[k]], row, buf, sizeof(buf)),
					   false, out);
			fputc('\n', out);
		}
	}
}

/* The width of s as printed escaped (hnv_cli_fputs_safe). */
static size_t shown_width(const char *s)
{
	char *e = hnv_cli_escape(s, false);
	size_t w = e ? strlen(e) : strlen(s);
	free(e);
	return w;
}

/* One cell: s padded to w, right-aligned when right; the last cell of a
 * line is not padded on the right. */
static void cell(FILE *out, const char *s, size_t w, bool right, bool last)
{
	size_t sw = shown_width(s);
	if (right)
		fprintf(out, "%*s", (int)(w > sw ? w - sw : 0), "");
	hnv_cli_fputs_safe(s, false, out);
	if (!right && !last)
		fprintf(out, "%*s", (int)(w > sw ? w - sw : 0), "");
	if (!last)
		fputc(' ', out);
}

/* PowerShell's table: a header, dashes as long as each header, one line
 * per row; columns as wide as their widest text, one space apart,
 * numbers right-aligned. */
static void print_table(FILE *out, const struct ps_class *cl, const uint8_t *idx, unsigned n,
			json_object *rows)
{
	size_t w[PS_VIEW_MAX], nrows = json_object_array_length(rows);
	bool right[PS_VIEW_MAX];
	for (unsigned k = 0; k < n; k++) {
		w[k] = strlen(prop_name(cl, idx[k]));
		right[k] = ps_pdefs[cl->props[idx[k]].id].type == V_UINT;
		for (size_t r = 0; r < nrows; r++) {
			char buf[TEXT_MAX];
			size_t sw = shown_width(ps_prop_text(&cl->props[idx[k]],
							     json_object_array_get_idx(rows, r),
							     buf, sizeof(buf)));
			if (sw > w[k])
				w[k] = sw;
		}
	}
	char dash[TEXT_MAX];
	fputc('\n', out);
	for (unsigned k = 0; k < n; k++)
		cell(out, prop_name(cl, idx[k]), w[k], right[k], k + 1 == n);
	fputc('\n', out);
	for (unsigned k = 0; k < n; k++) {
		size_t d = strlen(prop_name(cl, idx[k]));
		memset(dash, '-', d);
		dash[d] = '\0';
		cell(out, dash, w[k], right[k], k + 1 == n);
	}
	fputc('\n', out);
	for (size_t r = 0; r < nrows; r++) {
		json_object *row = json_object_array_get_idx(rows, r);
		for (unsigned k = 0; k < n; k++) {
			char buf[TEXT_MAX];
			cell(out, ps_prop_text(&cl->props[idx[k]], row, buf, sizeof(buf)), w[k],
			     right[k], k + 1 == n);
		}
		fputc('\n', out);
	}
}

void ps_print_rows(FILE *out, const struct ps_class *cl, const struct view *v, json_object *rows)
{
	if (out == NULL || rows == NULL || json_object_array_length(rows) == 0)
		return;
	uint8_t idx[PS_VIEW_MAX];
	unsigned n = view_props(cl, v, idx);
	bool table = v->kind == VIEW_TABLE || (v->kind == VIEW_DEFAULT && v->selected && n <= 4);
	if (table)
		print_table(out, cl, idx, n, rows);
	else
		print_list(out, cl, idx, n, rows);
	fputs("\n\n", out);
}
