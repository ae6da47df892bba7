/* run.h: runs a helper program for the gateway role (vtysh) from the
 * control thread and captures its output.
 *
 * The program gets no shell, stdin from /dev/null and none of hnvgwd's
 * other descriptors (sockets, the store); it is started with posix_spawn,
 * which does not copy hnvgwd's address space. It is killed (SIGKILL) when
 * it runs past the deadline.
 */
#ifndef HNV_RUN_H
#define HNV_RUN_H

#include <stdbool.h>
#include <stddef.h>

struct hnv_run {
	const char *path;        /* the program */
	const char *const *argv; /* NULL-terminated; argv[0] need not be path */
	const char *const *envp; /* NULL: hnvgwd's environment */
	bool with_stderr;        /* stderr into the output too; else /dev/null */
	int timeout_ms;          /* from the start until it is killed */
	size_t max_out;          /* output bytes kept; the rest is read and dropped */
};

/* Runs r->path and waits for it. Returns its exit status (0..255, or 128 +
 * N when signal N ended it) with its output in *out (malloc'd,
 * NUL-terminated, the caller frees); or a negative errno with *out NULL:
 * the program could not be started (-ENOENT, -EACCES, ...), -ETIMEDOUT
 * (killed at the deadline), -ENOMEM. */
int hnv_run(const struct hnv_run *r, char **out);

#endif
