/* ps_run.c: the NetWNV front end's runner (ps_int.h): statements -> calls
 * of hnv_ps_io. Each statement (a pipeline included) is one exec, one
 * transaction; an error is reported as "Cmdlet : message" and the script
 * goes on with the next statement. Here also what every cmdlet uses: its
 * error report, config lines and their values, show rows and their fields.
 *
 * Order independence: New-NetVirtualizationLookupRecord needs its virtual
 * subnet. When the VSID is unknown but a later statement of the same
 * script is a New-NetVirtualizationCustomerRoute for that VSID (Microsoft's
 * demo scripts add lookup records before routes), the record waits and is
 * committed, as its own transaction, right after that route succeeds.
 * Get-NetVirtualizationLookupRecord does not see waiting records. A record
 * whose VSID is unknown with no such route later fails at once.
 */
#include "ps_int.h"

#include "output.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- errors ---- */

void ps_fail(struct run *r, const struct cmd *c, const char *fmt, ...)
{
	r->failed = true;
	if (r->io->err == NULL)
		return;
	char m[MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	fprintf(r->io->err, "%s : ", c->def->name);
	hnv_cli_fputs_safe(m, false, r->io->err); /* may quote hnvgwd's message */
	fprintf(r->io->err, "\nAt line:%u char:%u\n", c->line, c->col);
}

bool ps_bad_row(struct run *r, const struct cmd *c, const char *what, const char *field)
{
	ps_fail(r, c, "show %s returned a row without a valid %s", what, field);
	return false;
}

/* ---- config lines ---- */

bool ps_buf_val(struct hnv_buf *b, const char *v)
{
	bool bare = v[0] != '\0' && v[0] != '-';
	for (const char *p = v; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (ps_is_ctrl(c) && c != '\t')
			return false;
		if (!(ps_is_alpha(*p) || hnv_is_digit(*p) || strchr("_.:/{}", *p) || (*p == '-')))
			bare = false;
	}
	if (bare) {
		hnv_buf_puts(b, v);
		return true;
	}
	hnv_buf_puts(b, "\"");
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			hnv_buf_puts(b, "\\");
		hnv_buf_append(b, p, 1);
	}
	hnv_buf_puts(b, "\"");
	return true;
}

void ps_buf_ip(struct hnv_buf *b, const struct hnv_ip *ip)
{
	char t[64];
	hnv_fmt_ip(ip, t, sizeof(t));
	hnv_buf_puts(b, t);
}

void ps_buf_prefix(struct hnv_buf *b, const struct hnv_prefix *p)
{
	char t[64];
	hnv_fmt_prefix(p, t, sizeof(t));
	hnv_buf_puts(b, t);
}

void ps_buf_mac(struct hnv_buf *b, const struct hnv_mac *m)
{
	char t[13];
	ps_fmt_mac12(m, t);
	hnv_buf_puts(b, t);
}

void ps_buf_guid(struct hnv_buf *b, const struct hnv_guid *g)
{
	char t[40];
	hnv_fmt_guid(g, t, sizeof(t));
	hnv_buf_puts(b, t);
}

void ps_lines_push(struct lines *l, struct hnv_buf *b)
{
	char *text = hnv_buf_take(b); /* NULL after an allocation failure */
	if (text == NULL || l->oom || HNV_GROW(l->v, l->cap, l->n + 1)) {
		l->oom = true;
		free(text);
		return;
	}
	l->v[l->n++] = text;
}

void ps_lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct lines){0};
}

bool ps_whatif(const struct cmd *c)
{
	return c->a[P_WHATIF].n && c->a[P_WHATIF].v[0].v.b;
}

bool ps_commit(struct run *r, const struct cmd *c, struct lines *l)
{
	bool ok = true;
	if (l->oom) {
		ps_fail(r, c, "out of memory");
		ok = false;
	} else if (ps_whatif(c)) {
		for (size_t i = 0; i < l->n && r->io->out; i++)
			fprintf(r->io->out, "What if: %s\n", l->v[i]);
	} else if (l->n > 0) {
		char err[MSG_MAX] = "";
		int rc = r->io->exec(r->io->ctx, (const char *const *)l->v, l->n, err, sizeof(err));
		if (rc == 1 && r->io->err) {
			/* committed: the cmdlet succeeded, with a warning */
			fputs("WARNING: ", r->io->err);
			hnv_cli_fputs_safe(err[0] ? err : "committed, but not applied", false,
					   r->io->err);
			fputc('\n', r->io->err);
		}
		r->not_applied |= rc == 1;
		if (rc != 0 && rc != 1) {
			ps_fail(r, c, "%s", err[0] ? err : "the change was refused");
			ok = false;
		}
	}
	ps_lines_free(l);
	return ok;
}

/* ---- show rows ---- */

json_object *ps_show_rows(struct run *r, const struct cmd *c, const char *what)
{
	json_object *rows = NULL;
	char err[MSG_MAX] = "";
	if (r->io->show(r->io->ctx, what, &rows, err, sizeof(err)) != 0) {
		ps_fail(r, c, "show %s: %s", what, err[0] ? err : "failed");
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
			ps_fail(r, c, "out of memory");
			return NULL;
		}
		return a;
	}
	if (!json_object_is_type(rows, json_type_array)) {
		json_object_put(rows);
		ps_fail(r, c, "show %s: the reply is not a list of rows", what);
		return NULL;
	}
	return rows;
}

const char *ps_row_text(json_object *row, const char *key, char *buf, size_t len)
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

bool ps_row_uint(json_object *row, const char *key, uint32_t max, uint32_t *out)
{
	char b[32];
	const char *s = ps_row_text(row, key, b, sizeof(b));
	return s != NULL && ps_num_parse(s, max, out);
}

bool ps_row_ip(json_object *row, const char *key, struct hnv_ip *out)
{
	char b[32];
	const char *s = ps_row_text(row, key, b, sizeof(b));
	return s != NULL && hnv_parse_ip(s, out) == 0;
}

bool ps_row_prefix(json_object *row, const char *key, struct hnv_prefix *out)
{
	char b[32];
	const char *s = ps_row_text(row, key, b, sizeof(b));
	return s != NULL && hnv_parse_prefix(s, out) == 0;
}

/* ---- statements ---- */

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
			ps_new_lookup(r, idx, next, may_wait);
		else if (c->def->noun == N_CROUTE)
			ps_new_croute(r, idx);
		else if (c->def->noun == N_PA)
			ps_new_pa(r, c);
		else
			ps_new_proute(r, c);
		break;
	case VB_GET:
	case VB_REMOVE:
		ps_query(r, s);
		break;
	case VB_SET:
		if (c->def->noun == N_GLOBAL)
			ps_set_global(r, c);
		else
			ps_query(r, s);
		break;
	case VB_SELECT:
		ps_select_nexthop(r, c);
		break;
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

/* ---- -CimSession ---- */

/* The first label of a host name: "h1" of "h1.example.com". */
static size_t label_len(const char *s)
{
	size_t n = strcspn(s, ".");
	return n ? n : strlen(s);
}

/* Do host names a and b name the same host: equal (any case), or one is
 * the other's first label ("h1" and "h1.example.com")? */
static bool same_host(const char *a, const char *b)
{
	if (a == NULL || b == NULL || a[0] == '\0' || b[0] == '\0')
		return false;
	if (hnv_ascii_caseeq(a, b))
		return true;
	bool adot = strchr(a, '.') != NULL, bdot = strchr(b, '.') != NULL;
	if (adot == bdot)
		return false;
	size_t n = adot ? label_len(a) : label_len(b);
	const char *full = adot ? a : b, *shrt = adot ? b : a;
	if (strlen(shrt) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hnv_ascii_lower(full[i]) != hnv_ascii_lower(shrt[i]))
			return false;
	return true;
}

/* -CimSession names the computer a cmdlet acts on; hnvgw acts only on the
 * hnvgwd it is connected to. So every -CimSession of the script must name
 * this host: localhost, ".", 127.0.0.1, ::1, this machine's host name, or
 * the host name hnvgwd reports in show status ("host": its --host-name,
 * else the machine's). Anything else would silently change the local
 * daemon instead of the named host (Get-... -CimSession h2 | Remove-...
 * deleting local records): the script is refused before anything runs.
 * Returns false after reporting it. */
static bool cim_sessions_local(struct run *r)
{
	char self[256] = "", hb[32];
	json_object *status = NULL;
	const char *daemon_host = NULL;
	bool asked = false, ok = true;
	if (gethostname(self, sizeof(self) - 1) != 0)
		self[0] = '\0';
	for (size_t i = 0; i < r->nst && ok; i++) {
		for (unsigned k = 0; k < r->st[i].n && ok; k++) {
			const struct cmd *c = &r->st[i].c[k];
			const struct arg *a = &c->a[P_CIM_SESSION];
			for (unsigned j = 0; j < a->n && ok; j++) {
				const char *v = a->v[j].text;
				if (hnv_ascii_caseeq(v, "localhost") || strcmp(v, ".") == 0 ||
				    strcmp(v, "127.0.0.1") == 0 || strcmp(v, "::1") == 0 ||
				    same_host(v, self))
					continue;
				if (!asked) {
					bool was = r->failed;
					asked = true;
					status = ps_show_rows(r, c, "status");
					r->failed = was; /* the refusal below says it */
					if (status && json_object_array_length(status) > 0)
						daemon_host = ps_row_text(
							json_object_array_get_idx(status, 0),
							"host", hb, sizeof(hb));
				}
				if (same_host(v, daemon_host))
					continue;
				char sb[SHOWBUF], hs[SHOWBUF];
				ps_fail(r, c,
					"-CimSession \"%s\" names another computer, but hnvgw acts "
					"only on the local hnvgwd (host \"%s\"; localhost and "
					"\".\" "
					"name it too). Nothing was run. To manage %s, run hnvgw "
					"ps on it, or reach its hnvgwd with hnvgw --socket PATH",
					ps_show(v, sb),
					ps_show(daemon_host ? daemon_host : self, hs), sb);
				ok = false;
			}
		}
	}
	json_object_put(status);
	return ok;
}

int ps_run(const struct ps_prog *p, const struct hnv_ps_io *io, char *msg)
{
	struct run r = {.io = io, .st = p->st, .nst = p->nst, .conds = p->conds};
	if (!cim_sessions_local(&r))
		return 1;
	r.pending = malloc((p->nst ? p->nst : 1) * sizeof(*r.pending));
	if (r.pending == NULL) {
		snprintf(msg, MSG_MAX, "line 1: out of memory");
		return -1;
	}
	for (size_t i = 0; i < r.nst; i++) {
		const struct cmd *c = &r.st[i].c[0];
		bool ok = run_stmt(&r, i, i + 1, true);
		if (ok && c->def->verb == VB_NEW && c->def->noun == N_CROUTE && !ps_whatif(c))
			run_waiting(&r, c->a[P_VSID].v[0].v.u, i + 1);
	}
	/* records still waiting: their route failed; report them now */
	for (size_t i = 0; i < r.npending; i++)
		run_stmt(&r, r.pending[i], r.nst, false);
	free(r.pending);
	return r.failed ? 1 : r.not_applied ? 4 : 0;
}
