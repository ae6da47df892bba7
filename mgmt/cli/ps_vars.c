/* ps_vars.c: the NetWNV front end's variables (ps_int.h). A statement
 * "$name = value[, value...]" sets a variable to values (numbers, quoted
 * strings, $true/$false, other variables; a bare word would be a command
 * in PowerShell, so it is refused); it is taken out of the tokens, and every
 * later $name is replaced by the tokens of its value (commas included), at
 * the position of the use, so the binder sees what the user could have
 * written instead. Values are constants, so doing this before binding is
 * the same as PowerShell doing it statement by statement. A variable used
 * before it is set is an error (PowerShell would pass $null silently).
 */
#include "ps_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Tokens after expansion: a variable used in many places must not turn a
 * 1 MiB script into gigabytes. */
#define PS_TOKENS_MAX (1u << 20)

struct var {
	const char *name;
	size_t first, n; /* its value: vt[first, first + n) */
};

struct vars {
	struct var *v;
	size_t nv, capv;
	struct tok *vt; /* every value ever assigned, commas included */
	size_t nvt, capvt;
	struct tok *out; /* the expanded tokens */
	size_t nout, capout;
	char *msg;
};

static struct var *var_find(struct vars *vs, const char *name)
{
	for (size_t i = 0; i < vs->nv; i++)
		if (hnv_ascii_caseeq(vs->v[i].name, name))
			return &vs->v[i];
	return NULL;
}

static int emit(struct vars *vs, const struct tok *t)
{
	if (vs->nout >= PS_TOKENS_MAX)
		return ps_syntax_err(vs->msg, t->line,
				     "the script expands to more than %u tokens (variables with "
				     "long lists used many times)",
				     PS_TOKENS_MAX);
	if (HNV_GROW(vs->out, vs->capout, vs->nout + 1))
		return ps_syntax_err(vs->msg, t->line, "out of memory");
	vs->out[vs->nout++] = *t;
	return 0;
}

static int keep_value(struct vars *vs, const struct tok *t)
{
	if (HNV_GROW(vs->vt, vs->capvt, vs->nvt + 1))
		return ps_syntax_err(vs->msg, t->line, "out of memory");
	vs->vt[vs->nvt++] = *t;
	return 0;
}

static int unset_err(struct vars *vs, const struct tok *t)
{
	char sb[SHOWBUF];
	return ps_syntax_err(vs->msg, t->line,
			     "variable $%s is not set (set it first: $%s = value; only "
			     "variables set in the script are known)",
			     ps_show(t->s, sb), ps_show(t->s, sb));
}

/* The assignment starting at t[i] (TK_VAR, TK_ASSIGN); *next is the index
 * of the token ending it (end of line, ';' or end of script). */
static int assign(struct vars *vs, const struct tok *t, size_t ntok, size_t i, size_t *next)
{
	const struct tok *name = &t[i];
	char d[DESCBUF];
	uint32_t num;
	size_t first = vs->nvt;
	i += 2;
	for (;;) {
		const struct tok *v = &t[i];
		if (v->kind == TK_VAR) {
			const struct var *src = var_find(vs, v->s);
			if (src == NULL)
				return unset_err(vs, v);
			/* vt may move while it grows: index, not pointer */
			size_t from = src->first, n = src->n;
			for (size_t k = 0; k < n; k++) {
				struct tok c = vs->vt[from + k];
				int rc = keep_value(vs, &c);
				if (rc < 0)
					return rc;
			}
		} else if (v->kind == TK_WORD && !ps_num_parse(v->s, UINT32_MAX, &num)) {
			/* PowerShell would run a bare word as a command here */
			char sb[SHOWBUF];
			return ps_syntax_err(vs->msg, v->line,
					     "$%s = %s: only values can be assigned; quote text "
					     "('%s'), the output of a cmdlet cannot be kept",
					     name->s, ps_show(v->s, sb), sb);
		} else if (ps_is_value(v)) {
			int rc = keep_value(vs, v);
			if (rc < 0)
				return rc;
		} else {
			return ps_syntax_err(vs->msg, v->line,
					     "$%s = ...: only values can be assigned (a word, a "
					     "quoted string, a number, $true, $false, a comma "
					     "list or another variable), found %s",
					     name->s, ps_tok_desc(v, d));
		}
		i++;
		if (t[i].kind != TK_COMMA)
			break;
		int rc = keep_value(vs, &t[i]);
		if (rc < 0)
			return rc;
		i++;
		while (i + 1 < ntok && t[i].kind == TK_NL)
			i++;
	}
	if (t[i].kind != TK_NL && t[i].kind != TK_SEMI && t[i].kind != TK_EOF)
		return ps_syntax_err(vs->msg, t[i].line,
				     "$%s = ...: unexpected %s after the value (only values can "
				     "be assigned, not the output of a cmdlet)",
				     name->s, ps_tok_desc(&t[i], d));
	struct var *v = var_find(vs, name->s);
	if (v == NULL) {
		if (HNV_GROW(vs->v, vs->capv, vs->nv + 1))
			return ps_syntax_err(vs->msg, name->line, "out of memory");
		v = &vs->v[vs->nv++];
		v->name = name->s;
	}
	v->first = first;
	v->n = vs->nvt - first;
	*next = i;
	return 0;
}

static int expand(struct vars *vs, const struct tok *t, size_t ntok)
{
	bool at_start = true;
	for (size_t i = 0; i < ntok; i++) {
		const struct tok *k = &t[i];
		int rc = 0;
		if (k->kind == TK_VAR && at_start && i + 1 < ntok && t[i + 1].kind == TK_ASSIGN) {
			rc = assign(vs, t, ntok, i, &i);
			if (rc < 0)
				return rc;
			k = &t[i]; /* the end of the assignment's line */
		} else if (k->kind == TK_VAR) {
			const struct var *v = var_find(vs, k->s);
			if (v == NULL)
				return unset_err(vs, k);
			for (size_t j = 0; j < v->n && rc == 0; j++) {
				struct tok c = vs->vt[v->first + j];
				c.line = k->line;
				c.col = k->col;
				rc = emit(vs, &c);
			}
			at_start = false;
			if (rc < 0)
				return rc;
			continue;
		} else if (k->kind == TK_ASSIGN) {
			return ps_syntax_err(
				vs->msg, k->line,
				"'=' at column %u: only \"$name = value\" is supported "
				"(a statement of its own)",
				k->col);
		}
		if ((rc = emit(vs, k)) < 0)
			return rc;
		at_start = k->kind == TK_NL || k->kind == TK_SEMI;
	}
	return 0;
}

int ps_expand_vars(struct ps_toks *tk, char *msg)
{
	struct vars vs = {.msg = msg};
	bool any = false;
	for (size_t i = 0; i < tk->n && !any; i++)
		any = tk->t[i].kind == TK_VAR || tk->t[i].kind == TK_ASSIGN;
	if (!any)
		return 0;
	int rc = expand(&vs, tk->t, tk->n);
	if (rc == 0) {
		free(tk->t);
		tk->t = vs.out;
		tk->n = vs.nout;
		tk->cap = vs.capout;
		vs.out = NULL;
	}
	free(vs.out);
	free(vs.vt);
	free(vs.v);
	return rc;
}
