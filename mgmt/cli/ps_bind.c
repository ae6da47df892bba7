/* ps_bind.c: the NetWNV front end's binder (ps_int.h): tokens ->
 * statements. Cmdlet names are resolved, parameters matched by unambiguous
 * prefix (-Name value, -Name:value, switches alone), every value converted
 * to its type (address, MAC, GUID, VSID, enum, ...), mandatory and
 * single-value parameters and pipelines checked. Any error here is a
 * syntax error of the whole script. */
#include "ps_int.h"

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

const struct tok *ps_cur(const struct bind *b)
{
	return &b->t[b->i < b->ntok ? b->i : b->ntok - 1];
}

void ps_advance(struct bind *b)
{
	if (b->i + 1 < b->ntok)
		b->i++;
}

#define cur ps_cur
#define advance ps_advance

/* Converts one value token for parameter id; an error names the parameter
 * and the value. */
static int convert(struct bind *b, const struct cmd *c, const struct tok *t, enum pid id,
		   struct val *out)
{
	const struct pdef *d = &ps_pdefs[id];
	char sb[SHOWBUF];
	const char *s = t->kind == TK_TRUE ? "True" : t->kind == TK_FALSE ? "False" : t->s;
	const char *why = NULL;
	out->text = t->kind == TK_TRUE ? "$true" : t->kind == TK_FALSE ? "$false" : t->s;
	if (strnlen(s, PS_VALUE_MAX + 1) > PS_VALUE_MAX)
		return ps_syntax_err(b->msg, t->line,
				     "%s: -%s value \"%s\" is longer than %u bytes", c->def->name,
				     d->name, ps_show(s, sb), PS_VALUE_MAX);
	switch (d->type) {
	case V_UINT:
		if (t->kind == TK_TRUE || t->kind == TK_FALSE ||
		    !ps_num_parse(s, d->max, &out->v.u) || out->v.u < d->min) {
			return ps_syntax_err(b->msg, t->line,
					     "%s: invalid -%s value \"%s\": must be a number %u-%u",
					     c->def->name, d->name, ps_show(s, sb), d->min, d->max);
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
				: ps_enum_find(s, d->type == V_RULE, false);
		if (k < 0)
			why = d->type == V_RULE
				      ? "must be TranslationMethodEncap, "
					"TranslationMethodNat, TranslationMethodNone "
					"(or 36, 35, 37)"
				      : "must be Static, Dynamic, GatewayWildcard, L2Only "
					"(or 35, 36, 37, 41)";
		else
			out->v.u = d->type == V_RULE ? ps_rules[k].num : ps_types[k].num;
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
			if (ps_is_ctrl((unsigned char)*p) && *p != '\t') {
				why = "control characters are not allowed";
				break;
			}
		break;
	case V_ANY:
		break;
	}
	if (why)
		return ps_syntax_err(b->msg, t->line, "%s: invalid -%s value \"%s\": %s",
				     c->def->name, d->name, ps_show(s, sb), why);
	return 0;
}

/* The next of the values counted before binding, NULL if none is left. */
static struct val *new_val(struct bind *b)
{
	if (b->p->nvals == b->p->capvals)
		return NULL;
	return &b->p->vals[b->p->nvals++];
}

/* value {',' value}; newlines may follow a comma. */
static int bind_list(struct bind *b, struct cmd *c, enum pid id)
{
	struct arg *a = &c->a[id];
	char d[DESCBUF];
	for (;;) {
		const struct tok *t = cur(b);
		if (!ps_is_value(t))
			return ps_syntax_err(b->msg, t->line,
					     "%s: missing value for -%s (found %s)", c->def->name,
					     ps_pdefs[id].name, ps_tok_desc(t, d));
		if (a->n >= PS_LIST_MAX)
			return ps_syntax_err(b->msg, t->line,
					     "%s: too many values for -%s (at most %u)",
					     c->def->name, ps_pdefs[id].name, PS_LIST_MAX);
		struct val *v = new_val(b);
		if (v == NULL)
			return ps_syntax_err(b->msg, t->line, "too many values");
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
		if (!ps_cmdlet_param(c->def, (enum pid)k, &fl))
			continue;
		if (hnv_ascii_caseeq(ps_pdefs[k].name, t->s)) {
			*out = (enum pid)k;
			return 0;
		}
		if (t->s[0] && ps_caseprefix(ps_pdefs[k].name, t->s))
			cand[n++] = (enum pid)k;
	}
	if (n == 1) {
		*out = cand[0];
		return 0;
	}
	if (n == 0) {
		char list[MSG_MAX / 2];
		ps_cmdlet_params_desc(c->def, list, sizeof(list));
		return ps_syntax_err(b->msg, t->line,
				     "%s: unknown parameter -%s (the parameters of %s:%s)",
				     c->def->name, ps_show(t->s, sb), c->def->name, list);
	}
	char list[512] = "";
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int k = snprintf(list + o, sizeof(list) - o, " -%s", ps_pdefs[cand[i]].name);
		if (k < 0 || (size_t)k >= sizeof(list) - o)
			break;
		o += (size_t)k;
	}
	return ps_syntax_err(b->msg, t->line, "%s: parameter -%s is ambiguous; possible matches:%s",
			     c->def->name, ps_show(t->s, sb), list);
}

/* A value without a parameter name: it binds the first positional
 * parameter of c not bound yet (ps_param.c has the positions). */
static int bind_positional(struct bind *b, struct cmd *c, const struct tok *t)
{
	char d[DESCBUF], list[MSG_MAX / 2];
	for (size_t k = 0; k < c->def->npos; k++) {
		enum pid id = c->def->pos[k];
		if (c->a[id].n)
			continue;
		uint8_t fl = 0;
		ps_cmdlet_param(c->def, id, &fl);
		int rc = bind_list(b, c, id);
		if (rc == 0 && c->a[id].n > 1 && !(fl & F_LIST))
			rc = ps_syntax_err(b->msg, t->line,
					   "%s: -%s takes one value, not a list of %u",
					   c->def->name, ps_pdefs[id].name, c->a[id].n);
		return rc;
	}
	ps_cmdlet_params_desc(c->def, list, sizeof(list));
	if (c->def->npos == 0)
		return ps_syntax_err(b->msg, t->line,
				     "%s: unexpected argument %s: %s has no positional "
				     "parameters, name it (its parameters:%s)",
				     c->def->name, ps_tok_desc(t, d), c->def->name, list);
	return ps_syntax_err(b->msg, t->line,
			     "%s: unexpected argument %s: every positional parameter is bound "
			     "already",
			     c->def->name, ps_tok_desc(t, d));
}

static int bind_cmd(struct bind *b, struct cmd *c)
{
	const struct tok *t = cur(b);
	char d[DESCBUF], sb[SHOWBUF];
	memset(c, 0, sizeof(*c));
	if (t->kind != TK_WORD)
		return ps_syntax_err(b->msg, t->line, "expected a cmdlet name, found %s",
				     ps_tok_desc(t, d));
	c->def = ps_cmdlet_find(t->s);
	if (c->def == NULL && ps_is_stage(t->s))
		return ps_syntax_err(b->msg, t->line, "%s needs input: write Get-... | %s",
				     ps_show(t->s, sb), ps_show(t->s, sb));
	if (c->def == NULL)
		return ps_syntax_err(b->msg, t->line,
				     "unknown cmdlet \"%s\" (hnvgw runs the 19 NetWNV cmdlets)",
				     ps_show(t->s, sb));
	c->line = t->line;
	c->col = t->col;
	advance(b);
	for (;;) {
		t = cur(b);
		if (t->kind == TK_NL || t->kind == TK_SEMI || t->kind == TK_PIPE ||
		    t->kind == TK_EOF)
			break;
		if (t->kind != TK_PARAM) {
			if (ps_is_value(t)) {
				int rc = bind_positional(b, c, t);
				if (rc < 0)
					return rc;
				continue;
			}
			return ps_syntax_err(b->msg, t->line, "%s: unexpected %s", c->def->name,
					     ps_tok_desc(t, d));
		}
		enum pid id = P__COUNT;
		int rc = resolve_param(b, c, t, &id);
		if (rc < 0)
			return rc;
		if (c->a[id].n)
			return ps_syntax_err(b->msg, t->line,
					     "%s: parameter -%s given more than once", c->def->name,
					     ps_pdefs[id].name);
		uint8_t fl = 0;
		ps_cmdlet_param(c->def, id, &fl);
		enum vtype ty = ps_pdefs[id].type;
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
					return ps_syntax_err(b->msg, t->line, "too many values");
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
			return ps_syntax_err(b->msg, t->line,
					     "%s: -%s takes one value, not a list of %u",
					     c->def->name, ps_pdefs[id].name, c->a[id].n);
	}
	return 0;
}

static int bind_stmt(struct bind *b, struct stmt *s)
{
	memset(s, 0, sizeof(*s));
	int rc = bind_cmd(b, &s->c[0]);
	if (rc < 0)
		return rc;
	s->n = 1;
	s->where = b->p->nconds;
	const struct cmd *a = &s->c[0];
	while (cur(b)->kind == TK_PIPE) {
		advance(b);
		while (cur(b)->kind == TK_NL)
			advance(b);
		bool taken = false;
		if ((rc = ps_bind_stage(b, s, &taken)) < 0)
			return rc;
		if (taken)
			continue;
		struct cmd *c = &s->c[1];
		if ((rc = bind_cmd(b, c)) < 0)
			return rc;
		if (s->n == 2 || a->def->verb != VB_GET || a->def->noun == N_GLOBAL ||
		    (c->def->verb != VB_REMOVE && c->def->verb != VB_SET) ||
		    c->def->noun != a->def->noun)
			return ps_syntax_err(
				b->msg, c->line,
				"cannot pipe %s into %s (supported: Get-NetVirtualizationX "
				"[| Where-Object {...}] | Remove-NetVirtualizationX or "
				"Set-NetVirtualizationX, and Get-... | Where-Object, "
				"Select-Object, Format-Table, Format-List)",
				s->n == 2 ? s->c[1].def->name : a->def->name, c->def->name);
		if (s->view.kind != VIEW_DEFAULT || s->view.selected)
			return ps_syntax_err(b->msg, c->line,
					     "%s cannot follow Select-Object or Format-*: it takes "
					     "the objects of %s (or of Where-Object)",
					     c->def->name, a->def->name);
		s->n = 2;
		for (unsigned k = 0; k < P__COUNT; k++)
			if (ps_given(c, (enum pid)k, F_FILTER))
				return ps_syntax_err(b->msg, c->line,
						     "%s: -%s selects objects, which come from the "
						     "pipeline here (give it to %s)",
						     c->def->name, ps_pdefs[k].name, a->def->name);
	}
	s->nwhere = b->p->nconds - s->where;
	for (unsigned i = 0; i < s->n; i++) {
		const struct cmd *c = &s->c[i];
		for (size_t k = 0; k < c->def->np; k++)
			if ((c->def->p[k].flags & F_REQ) && c->a[c->def->p[k].id].n == 0)
				return ps_syntax_err(b->msg, c->line,
						     "%s: missing mandatory parameter -%s",
						     c->def->name, ps_pdefs[c->def->p[k].id].name);
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
		struct ps_prog *p = b->p;
		if (HNV_GROW(p->st, p->capst, p->nst + 1))
			return ps_syntax_err(b->msg, cur(b)->line, "out of memory");
		int rc = bind_stmt(b, &p->st[p->nst]);
		if (rc < 0)
			return rc;
		p->nst++;
		const struct tok *t = cur(b);
		char d[DESCBUF];
		if (t->kind != TK_NL && t->kind != TK_SEMI && t->kind != TK_EOF)
			return ps_syntax_err(b->msg, t->line, "unexpected %s", ps_tok_desc(t, d));
	}
}

int ps_bind(const struct ps_toks *tk, struct ps_prog *out, char *msg)
{
	*out = (struct ps_prog){0};
	/* each value is one value token, or a parameter token for a switch */
	for (size_t i = 0; i < tk->n; i++)
		if (ps_is_value(&tk->t[i]) || tk->t[i].kind == TK_PARAM)
			out->capvals++;
	out->vals = calloc(out->capvals ? out->capvals : 1, sizeof(*out->vals));
	if (out->vals == NULL) {
		snprintf(msg, MSG_MAX, "line 1: out of memory");
		return -ENOMEM;
	}
	struct bind b = {.t = tk->t, .ntok = tk->n, .p = out, .msg = msg};
	return bind_all(&b);
}

void ps_prog_free(struct ps_prog *p)
{
	for (size_t i = 0; i < p->nconds; i++)
		if (p->conds[i].re) {
			regfree(p->conds[i].re);
			free(p->conds[i].re);
		}
	free(p->conds);
	free(p->st);
	free(p->vals);
	*p = (struct ps_prog){0};
}
