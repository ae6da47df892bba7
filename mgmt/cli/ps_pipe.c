/* ps_pipe.c: the PowerShell stages a pipeline may have after Get-...
 * (ps_int.h): Where-Object (where, ?), Select-Object (select),
 * Format-Table (ft), Format-List (fl). Property names are the output
 * properties of the Get's class (ps_format.c), in any case; each is
 * resolved here, so an unknown property, operator or parameter is a syntax
 * error naming what is supported, never ignored.
 *
 *   Get-... [| Where-Object {...}]... [| Select-Object P,...] [| ft|fl [P,...]]
 *   Get-... [| Where-Object {...}]... | Remove-... | Set-...
 *   Select-NetVirtualizationNextHop ... [| Format-List]
 *
 * Where-Object takes "{ $_.P -op V [-and $_.P -op V]... }" or the short
 * form "P -op V"; -op is -eq, -ne, -like, -notlike (* and ? wildcards),
 * -match, -notmatch (POSIX extended regular expressions, which agree with
 * .NET's for the common subset; .NET-only escapes such as \d are refused),
 * all case-insensitive as in PowerShell. -eq and -ne compare numbers (VSID,
 * metric) as numbers, Rule and Type by name or number, Booleans with
 * $true/$false, and other properties as their printed text.
 */
#include "ps_int.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

enum stage {
	ST_NONE,
	ST_WHERE,
	ST_SELECT,
	ST_TABLE,
	ST_LIST
};

static const struct {
	const char *name;
	enum stage st;
} stages[] = {
	{"Where-Object", ST_WHERE},
	{"where", ST_WHERE},
	{"?", ST_WHERE},
	{"Select-Object", ST_SELECT},
	{"select", ST_SELECT},
	{"Format-Table", ST_TABLE},
	{"ft", ST_TABLE},
	{"Format-List", ST_LIST},
	{"fl", ST_LIST},
};

static enum stage stage_of(const char *name)
{
	for (size_t i = 0; i < PS_COUNT(stages); i++)
		if (hnv_ascii_caseeq(stages[i].name, name))
			return stages[i].st;
	return ST_NONE;
}

bool ps_is_stage(const char *name)
{
	return stage_of(name) != ST_NONE;
}

static const char *const stage_names[] = {
	[ST_WHERE] = "Where-Object",
	[ST_SELECT] = "Select-Object",
	[ST_TABLE] = "Format-Table",
	[ST_LIST] = "Format-List",
};

/* " A, B, C": the printed properties of cl, for messages. */
static void props_desc(const struct ps_class *cl, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < cl->nprops; i++) {
		if (cl->props[i].flags & PR_HIDDEN)
			continue;
		int n = snprintf(buf + o, len - o, "%s %s", o ? "," : "",
				 ps_pdefs[cl->props[i].id].name);
		if (n < 0 || (size_t)n >= len - o)
			return;
		o += (size_t)n;
	}
}

static int no_prop(struct bind *b, const struct tok *t, const char *stage,
		   const struct ps_class *cl, const char *name)
{
	char sb[SHOWBUF], list[MSG_MAX / 2];
	props_desc(cl, list, sizeof(list));
	return ps_syntax_err(b->msg, t->line,
			     "%s: %s objects have no property \"%s\" (they have:%s)", stage,
			     cl->cim, ps_show(name, sb), list);
}

static bool stage_end(const struct tok *t)
{
	return t->kind == TK_PIPE || t->kind == TK_NL || t->kind == TK_SEMI || t->kind == TK_EOF;
}

static int unexpected(struct bind *b, const char *stage)
{
	char d[DESCBUF];
	const struct tok *t = ps_cur(b);
	return ps_syntax_err(b->msg, t->line, "%s: unexpected %s", stage, ps_tok_desc(t, d));
}

/* ---- Where-Object ---- */

static const struct {
	const char *name;
	enum cop op;
} ops[] = {
	{"eq", OP_EQ},
	{"ieq", OP_EQ},
	{"ne", OP_NE},
	{"ine", OP_NE},
	{"like", OP_LIKE},
	{"ilike", OP_LIKE},
	{"notlike", OP_NOTLIKE},
	{"inotlike", OP_NOTLIKE},
	{"match", OP_MATCH},
	{"imatch", OP_MATCH},
	{"notmatch", OP_NOTMATCH},
	{"inotmatch", OP_NOTMATCH},
};

/* Checks a -match pattern and compiles it into c->re. */
static int compile_re(struct bind *b, const struct tok *t, struct cond *c)
{
	char sb[SHOWBUF];
	for (const char *p = c->text; *p; p++) {
		if (*p != '\\')
			continue;
		if (p[1] && (ps_is_alpha(p[1]) || hnv_is_digit(p[1])))
			return ps_syntax_err(
				b->msg, t->line,
				"Where-Object: -match pattern \"%s\": \\%c is a .NET "
				"regex escape hnvgw does not support (POSIX extended "
				"expressions: write [0-9] for \\d, [[:space:]] for \\s)",
				ps_show(c->text, sb), p[1]);
		if (p[1])
			p++;
	}
	regex_t *re = malloc(sizeof(*re));
	if (re == NULL)
		return ps_syntax_err(b->msg, t->line, "out of memory");
	int rc = regcomp(re, c->text, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	if (rc != 0) {
		char e[128];
		regerror(rc, re, e, sizeof(e));
		free(re);
		return ps_syntax_err(b->msg, t->line, "Where-Object: -match pattern \"%s\": %s",
				     ps_show(c->text, sb), e);
	}
	c->re = re;
	return 0;
}

/* The value of a condition on property p, converted for -eq/-ne. */
static int cond_value(struct bind *b, const struct tok *t, const struct prop *p, struct cond *c)
{
	const char *pname = ps_pdefs[p->id].name;
	enum vtype ty = ps_pdefs[p->id].type;
	char sb[SHOWBUF];
	bool isbool = t->kind == TK_TRUE || t->kind == TK_FALSE;
	c->text = t->kind == TK_TRUE ? "True" : t->kind == TK_FALSE ? "False" : t->s;
	if (c->op == OP_LIKE || c->op == OP_NOTLIKE) {
		if (strchr(c->text, '['))
			return ps_syntax_err(b->msg, t->line,
					     "Where-Object: -like pattern \"%s\": character ranges "
					     "[...] are not supported (only * and ?)",
					     ps_show(c->text, sb));
		return 0;
	}
	if (c->op == OP_MATCH || c->op == OP_NOTMATCH)
		return compile_re(b, t, c);
	int k;
	switch (ty) {
	case V_UINT:
		if (isbool || !ps_num_parse(c->text, UINT32_MAX, &c->u))
			return ps_syntax_err(b->msg, t->line,
					     "Where-Object: %s is a number; \"%s\" is not", pname,
					     ps_show(c->text, sb));
		break;
	case V_RULE:
	case V_TYPE:
		k = isbool ? -1 : ps_enum_find(c->text, ty == V_RULE, false);
		if (k < 0)
			return ps_syntax_err(b->msg, t->line,
					     "Where-Object: \"%s\" is not a %s value (%s)",
					     ps_show(c->text, sb), pname,
					     ty == V_RULE ? "TranslationMethodEncap, "
							    "TranslationMethodNat, "
							    "TranslationMethodNone or 36, 35, 37"
							  : "Static, Dynamic, GatewayWildcard, "
							    "L2Only or 35, 36, 37, 41");
		c->u = ty == V_RULE ? ps_rules[k].num : ps_types[k].num;
		break;
	case V_BOOL:
		if (isbool)
			c->b = t->kind == TK_TRUE;
		else if (strcmp(c->text, "1") == 0 || strcmp(c->text, "0") == 0)
			c->b = c->text[0] == '1';
		else
			return ps_syntax_err(
				b->msg, t->line,
				"Where-Object: %s is a Boolean: compare it with $true or "
				"$false, not \"%s\"",
				pname, ps_show(c->text, sb));
		break;
	default:
		break;
	}
	return 0;
}

/* One condition: the property (TK_MEMBER, or a word in the short form),
 * an operator, a value. */
static int bind_cond(struct bind *b, const struct ps_class *cl)
{
	const struct tok *t = ps_cur(b);
	char d[DESCBUF], sb[SHOWBUF];
	if (t->kind != TK_MEMBER && !(t->kind == TK_WORD && b->t[b->i + 1].kind == TK_PARAM))
		return ps_syntax_err(b->msg, t->line,
				     "Where-Object: expected $_.Property, found %s (supported: { "
				     "$_.Property -eq value [-and ...] } or Property -eq value)",
				     ps_tok_desc(t, d));
	int pi = ps_class_prop(cl, t->s);
	if (pi < 0)
		return no_prop(b, t, "Where-Object", cl, t->s);
	ps_advance(b);
	const struct tok *o = ps_cur(b);
	if (o->kind != TK_PARAM)
		return ps_syntax_err(b->msg, o->line,
				     "Where-Object: expected an operator after %s, found %s "
				     "(supported: -eq -ne -like -notlike -match -notmatch)",
				     ps_pdefs[cl->props[pi].id].name, ps_tok_desc(o, d));
	size_t k = 0;
	while (k < PS_COUNT(ops) && !hnv_ascii_caseeq(ops[k].name, o->s))
		k++;
	if (k == PS_COUNT(ops))
		return ps_syntax_err(b->msg, o->line,
				     "Where-Object: operator -%s is not supported (supported, "
				     "case-insensitive: -eq -ne -like -notlike -match -notmatch)",
				     ps_show(o->s, sb));
	ps_advance(b);
	const struct tok *v = ps_cur(b);
	if (!ps_is_value(v))
		return ps_syntax_err(b->msg, v->line,
				     "Where-Object: missing value after -%s (found %s)",
				     ps_show(o->s, sb), ps_tok_desc(v, d));
	struct ps_prog *p = b->p;
	if (HNV_GROW(p->conds, p->capconds, p->nconds + 1))
		return ps_syntax_err(b->msg, v->line, "out of memory");
	struct cond *c = &p->conds[p->nconds];
	*c = (struct cond){.prop = (unsigned)pi, .op = ops[k].op};
	int rc = cond_value(b, v, &cl->props[pi], c);
	if (rc < 0)
		return rc;
	p->nconds++;
	ps_advance(b);
	if (ps_cur(b)->kind == TK_COMMA)
		return ps_syntax_err(b->msg, v->line,
				     "Where-Object: -%s takes one value, not a list", o->s);
	return 0;
}

static int bind_where(struct bind *b, const struct ps_class *cl)
{
	const struct tok *t = ps_cur(b);
	char d[DESCBUF];
	if (t->kind == TK_PARAM && t->s[0] && ps_caseprefix("FilterScript", t->s)) {
		ps_advance(b);
		t = ps_cur(b);
	}
	if (t->kind != TK_LBRACE) {
		int rc = bind_cond(b, cl); /* the short form: Property -op value */
		return rc < 0 ? rc : stage_end(ps_cur(b)) ? 0 : unexpected(b, "Where-Object");
	}
	unsigned open_line = t->line;
	ps_advance(b);
	for (;;) {
		while (ps_cur(b)->kind == TK_NL)
			ps_advance(b);
		int rc = bind_cond(b, cl);
		if (rc < 0)
			return rc;
		while (ps_cur(b)->kind == TK_NL)
			ps_advance(b);
		t = ps_cur(b);
		if (t->kind == TK_RBRACE)
			break;
		if (t->kind == TK_PARAM && hnv_ascii_caseeq(t->s, "and")) {
			ps_advance(b);
			continue;
		}
		if (t->kind == TK_EOF)
			return ps_syntax_err(b->msg, open_line,
					     "Where-Object: the script block is not closed ('}' "
					     "missing)");
		if (t->kind == TK_PARAM)
			return ps_syntax_err(
				b->msg, t->line,
				"Where-Object: -%s is not supported between conditions "
				"(only -and; write one statement per alternative)",
				t->s);
		return ps_syntax_err(b->msg, t->line,
				     "Where-Object: unexpected %s in the script block",
				     ps_tok_desc(t, d));
	}
	ps_advance(b);
	return stage_end(ps_cur(b)) ? 0 : unexpected(b, "Where-Object");
}

/* ---- Select-Object, Format-Table, Format-List ---- */

/* A comma list of property names (wildcards allowed) at the cursor into
 * v->idx. Without from, any printed property of cl; with it, only those
 * of from (Select-Object chose them). */
static int bind_names(struct bind *b, const struct ps_class *cl, const char *stage,
		      const struct view *from, struct view *v)
{
	char sb[SHOWBUF], d[DESCBUF];
	v->n = 0;
	for (;;) {
		const struct tok *t = ps_cur(b);
		if (t->kind != TK_WORD && t->kind != TK_STRING)
			return ps_syntax_err(b->msg, t->line,
					     "%s: expected a property name, found %s", stage,
					     ps_tok_desc(t, d));
		bool any = false;
		for (size_t i = 0; i < cl->nprops; i++) {
			if ((cl->props[i].flags & PR_HIDDEN) ||
			    !ps_like(ps_pdefs[cl->props[i].id].name, t->s))
				continue;
			bool ok = from == NULL;
			for (unsigned k = 0; from && k < from->n && !ok; k++)
				ok = from->idx[k] == i;
			if (!ok)
				continue;
			any = true;
			bool dup = false;
			for (unsigned k = 0; k < v->n && !dup; k++)
				dup = v->idx[k] == i;
			if (!dup && v->n < PS_VIEW_MAX)
				v->idx[v->n++] = (uint8_t)i;
		}
		if (!any && from && ps_class_prop(cl, t->s) >= 0)
			return ps_syntax_err(b->msg, t->line,
					     "%s: property \"%s\" was not chosen by Select-Object",
					     stage, ps_show(t->s, sb));
		if (!any)
			return no_prop(b, t, stage, cl, t->s);
		ps_advance(b);
		if (ps_cur(b)->kind != TK_COMMA)
			return 0;
		ps_advance(b);
		while (ps_cur(b)->kind == TK_NL)
			ps_advance(b);
	}
}

static int bind_select(struct bind *b, const struct ps_class *cl, struct view *v)
{
	const struct tok *t = ps_cur(b);
	char sb[SHOWBUF];
	if (t->kind == TK_PARAM) {
		if (!t->s[0] || !ps_caseprefix("Property", t->s))
			return ps_syntax_err(b->msg, t->line,
					     "Select-Object: -%s is not supported (supported: "
					     "-Property)",
					     ps_show(t->s, sb));
		ps_advance(b);
	}
	int rc = bind_names(b, cl, "Select-Object", NULL, v);
	if (rc < 0)
		return rc;
	v->selected = true;
	return stage_end(ps_cur(b)) ? 0 : unexpected(b, "Select-Object");
}

static int bind_format(struct bind *b, const struct ps_class *cl, enum stage st, struct view *v)
{
	const char *name = stage_names[st];
	struct view from = *v, chosen = *v;
	bool named = false;
	char sb[SHOWBUF];
	while (!stage_end(ps_cur(b))) {
		const struct tok *t = ps_cur(b);
		if (t->kind == TK_PARAM && st == ST_TABLE && t->s[0] &&
		    ps_caseprefix("AutoSize", t->s)) {
			/* hnvgw's tables are always as wide as their content */
			ps_advance(b);
			continue;
		}
		if (t->kind == TK_PARAM && !(t->s[0] && ps_caseprefix("Property", t->s)))
			return ps_syntax_err(b->msg, t->line,
					     "%s: -%s is not supported (supported: -Property%s)",
					     name, ps_show(t->s, sb),
					     st == ST_TABLE ? ", -AutoSize" : "");
		if (t->kind == TK_PARAM)
			ps_advance(b);
		if (named)
			return ps_syntax_err(b->msg, ps_cur(b)->line,
					     "%s: the properties are given more than once", name);
		int rc = bind_names(b, cl, name, from.selected ? &from : NULL, &chosen);
		if (rc < 0)
			return rc;
		named = true;
	}
	*v = chosen;
	v->kind = st == ST_TABLE ? VIEW_TABLE : VIEW_LIST;
	return 0;
}

int ps_bind_stage(struct bind *b, struct stmt *s, bool *taken)
{
	const struct tok *t = ps_cur(b);
	enum stage st = t->kind == TK_WORD ? stage_of(t->s) : ST_NONE;
	*taken = st != ST_NONE;
	if (!*taken)
		return 0;
	const char *name = stage_names[st];
	const struct cmdlet *src = s->c[0].def;
	unsigned line = t->line;
	ps_advance(b);
	if (s->n == 2)
		return ps_syntax_err(b->msg, line, "%s cannot follow %s: it has no output", name,
				     s->c[1].def->name);
	if (src->verb == VB_SELECT) {
		/* its one object is printed as a list already */
		if (st == ST_LIST && stage_end(ps_cur(b)) && s->view.kind == VIEW_DEFAULT) {
			s->view.kind = VIEW_LIST;
			return 0;
		}
		return ps_syntax_err(b->msg, line,
				     "%s: the output of %s can only be piped into Format-List "
				     "(without properties)",
				     name, src->name);
	}
	if (src->verb != VB_GET)
		return ps_syntax_err(b->msg, line, "%s has no output to pipe into %s", src->name,
				     name);
	const struct ps_class *cl = ps_class_of(src->noun);
	if (s->view.kind != VIEW_DEFAULT)
		return ps_syntax_err(b->msg, line,
				     "%s cannot follow Format-Table or Format-List (formatting "
				     "ends a pipeline)",
				     name);
	switch (st) {
	case ST_WHERE:
		if (s->view.selected)
			return ps_syntax_err(b->msg, line,
					     "Where-Object must come before Select-Object");
		return bind_where(b, cl);
	case ST_SELECT:
		if (s->view.selected)
			return ps_syntax_err(b->msg, line,
					     "only one Select-Object per pipeline is supported");
		return bind_select(b, cl, &s->view);
	case ST_TABLE:
	case ST_LIST:
		return bind_format(b, cl, st, &s->view);
	case ST_NONE:
		break;
	}
	return 0;
}
