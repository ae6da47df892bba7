/* ps.h: the NetWNV (Hyper-V PowerShell) compatibility front end.
 *
 * hnv_ps_run executes a script of the 19 NetWNV cmdlets (see
 * ../shared/reference/hnv-facts.md) by translating each into the same
 * operations the CLI uses (mgmt/api.h): New/Set/Remove become config-text
 * lines committed as one transaction per cmdlet (per pipeline for
 * Get-... | Remove-...), Get reads "show" rows and prints PowerShell's
 * Format-List layout, Select-NetVirtualizationNextHop asks "nexthop".
 *
 * The transport is the caller's: the CLI passes callbacks that talk to
 * hnvgwd; tests pass fakes.
 */
#ifndef HNV_PS_H
#define HNV_PS_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>

struct hnv_ps_io {
	void *ctx;
	/* Commits lines as one transaction. Returns 0; 1 when it was
	 * committed but hnvgwd could not apply all of it, with "committed
	 * revision N, but not applied: ..." in err (issue 17 finding 13); or
	 * -1 with a message in err (the daemon's refusal). */
	int (*exec)(void *ctx, const char *const *lines, size_t n, char *err, size_t errlen);
	/* The rows of "show WHAT" (api.h); the caller owns *rows (json_object_put). */
	int (*show)(void *ctx, const char *what, json_object **rows, char *err, size_t errlen);
	/* The "nexthop" op; src may be NULL. */
	int (*nexthop)(void *ctx, unsigned vsid, const char *src, const char *dst,
		       json_object **result, char *err, size_t errlen);
	FILE *out; /* Format-List output */
	FILE *err; /* error messages, PowerShell-like: "Cmdlet : message" */
};

/* Runs a script of len bytes. Returns 0 when every cmdlet succeeded, 1 when
 * a cmdlet failed at run time (execution continues with the next statement,
 * as PowerShell does for non-terminating errors), 2 on a syntax error (then
 * nothing runs; the message names the line and the token), 4 when every
 * cmdlet succeeded but hnvgwd could not apply all of a commit (stored all
 * the same; reported on err as a warning naming what and why: issue 17
 * finding 13). */
int hnv_ps_run(const char *script, size_t len, const struct hnv_ps_io *io);

#endif
