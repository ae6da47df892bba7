/* ps.c: the NetWNV (Hyper-V PowerShell) front end (interface in ps.h).
 *
 * Three stages, each trusting only what the previous one guarantees
 * (their private interface is ps_int.h):
 *   lexer    script bytes -> tokens: quotes, escapes, line continuations and
 *            comments resolved; every token knows its line and column
 *            (ps_lex.c); then "$name = value" assignments are taken out
 *            and later uses of $name replaced by the value (ps_vars.c);
 *   binder   tokens -> statements: cmdlet names resolved, parameters
 *            matched by unambiguous prefix, every value converted to its
 *            type (address, MAC, GUID, VSID, enum, ...), mandatory and
 *            single-value parameters checked (ps_bind.c over the vocabulary
 *            of ps_param.c); Where-Object, Select-Object and Format-* after
 *            a Get-... resolved against the class's properties (ps_pipe.c). Any error in these two stages is a syntax
 *            error: hnv_ps_run returns 2 and nothing runs;
 *   runner   statements -> show/exec/nexthop calls through hnv_ps_io. Each
 *            statement (a pipeline included) is one exec, one transaction;
 *            an error is reported as "Cmdlet : message" and the script goes
 *            on with the next statement (ps_run.c; the cmdlets themselves
 *            in ps_cmdlets.c, Format-List output in ps_format.c).
 */
#include "ps_int.h"

int hnv_ps_run(const char *script, size_t len, const struct hnv_ps_io *io)
{
	char msg[MSG_MAX] = "";
	if (io == NULL || io->exec == NULL || io->show == NULL || io->nexthop == NULL ||
	    (script == NULL && len > 0))
		return 2;
	if (len > PS_SCRIPT_MAX) {
		if (io->err)
			fprintf(io->err, "line 1: script too large (%zu bytes, at most %u)\n", len,
				PS_SCRIPT_MAX);
		return 2;
	}
	struct ps_toks tk;
	struct ps_prog prog = {0};
	int ret = 2;
	if (ps_lex(script, len, &tk, msg) == 0 && ps_expand_vars(&tk, msg) == 0 &&
	    ps_bind(&tk, &prog, msg) == 0) {
		int rc = ps_run(&prog, io, msg);
		if (rc >= 0)
			ret = rc;
	}
	if (ret == 2 && msg[0] && io->err)
		fprintf(io->err, "%s\n", msg);
	ps_prog_free(&prog);
	ps_toks_free(&tk);
	return ret;
}
