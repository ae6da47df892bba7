/* vty.h: a client of an FRR daemon's vty socket, the one vtysh talks to
 * (/var/run/frr[/PATHSPACE]/DAEMON.vty), so that hnvgwd configures bgpd
 * without starting a vtysh process per step (about 1 s each under TCG).
 *
 * The protocol, as FRR 8.4's daemons speak it: the client sends a command
 * line ending in a NUL byte; the daemon answers with the command's output
 * followed by three NUL bytes and a status byte (FRR's CMD_* code: 0
 * success, 1 warning, 2 unknown command, 13 configuration failed, ...).
 * A connection starts in view mode: hnv_vty_open sends `enable`. In
 * configuration mode the daemon moves between nodes itself (a line that
 * does not match the node it is in is tried in the parent nodes), as it
 * does for vtysh -f.
 *
 * The reply parser (hnv_vty_reply_feed) takes the daemon's bytes as
 * untrusted input: bounded output, no assumption on how reads split it.
 */
#ifndef HNV_VTY_H
#define HNV_VTY_H

#include <stdbool.h>
#include <stddef.h>

#define HNV_VTY_DEFAULT_DIR "/var/run/frr"
#define HNV_VTY_CMD_MAX 4096 /* a command line, at most */

/* One reply being read: output (NUL-terminated) and status once done. */
struct hnv_vty_reply {
	char *out;
	size_t len, cap, max; /* max: output bytes accepted */
	size_t nuls;          /* trailing NUL bytes seen (up to 3) */
	bool done;
	int status;
};

/* Feeds n bytes the daemon sent to r (zeroed, with max set): 0 (more
 * wanted, or done with everything consumed), -EMSGSIZE (the output
 * passed r->max), -EPROTO (bytes after the status: the daemon sent what
 * no command asked for), -ENOMEM. */
int hnv_vty_reply_feed(struct hnv_vty_reply *r, const void *buf, size_t n);
void hnv_vty_reply_free(struct hnv_vty_reply *r);

struct hnv_vty;

/* Connects to the socket of daemon (e.g. "bgpd") under dir
 * (NULL: HNV_VTY_DEFAULT_DIR) and pathspace (NULL: none), and enters
 * enable mode: 0 and *out, or a negative errno with err naming the socket. */
int hnv_vty_open(const char *dir, const char *pathspace, const char *daemon, int timeout_ms,
		 struct hnv_vty **out, char *err, size_t errlen);

/* Runs one command line (no newline, no NUL) and waits for its reply, at
 * most timeout_ms: 0 with *status (CMD_* code) and, when out is not NULL,
 * the output in *out (malloc'd, NUL-terminated); or a negative errno
 * (-ETIMEDOUT, -EPIPE, -EMSGSIZE beyond max_out, -EPROTO, -EINVAL for a
 * line with a newline or too long) after which the connection is unusable. */
int hnv_vty_run(struct hnv_vty *v, const char *line, int timeout_ms, size_t max_out, char **out,
		int *status);

/* Runs n command lines in order, sending up to window of them before
 * their replies are read: the daemon then takes as many as one read
 * brings from its socket in one turn of its event loop, instead of one a
 * turn. fn gets each reply in order (i, its CMD_* status, its output,
 * NUL-terminated, valid during the call); a refused line does not stop
 * the others, as with vtysh -f. timeout_ms bounds the wait for each
 * reply. 0, or a negative errno as hnv_vty_run (-EINVAL before anything
 * is sent), after which the connection is unusable. */
int hnv_vty_run_many(struct hnv_vty *v, const char *const *lines, size_t n, size_t window,
		     int timeout_ms, size_t max_out,
		     void (*fn)(void *arg, size_t i, int status, const char *out), void *arg);

void hnv_vty_close(struct hnv_vty *v);

#endif
