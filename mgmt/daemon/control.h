/* control.h: hnvgwd's control socket and its event loop.
 *
 * struct hnv_server: the listening Unix socket and its non-blocking
 * clients, polled by one thread together with the other event sources of
 * the control thread (lib/source.h). It authorizes every request with the
 * peer's credentials (SO_PEERCRED), parses it (mgmt/api.h) and dispatches
 * it to the core (core.h).
 *
 * Threads: the control thread of hnvgwd (registered with liburcu-qsbr); it
 * is QSBR-offline only while it waits in ppoll.
 */
#ifndef HNV_CONTROL_H
#define HNV_CONTROL_H

#include "../../lib/source.h"
#include "core.h"

#include <signal.h>

/* Clients (issue 17 finding 5: read-only clients could lock out root, grow
 * the daemon without bound and delay root's answers by seconds):
 *  - a client is authorized when it connects (SO_PEERCRED): one that is
 *    neither root nor a member of group hnvgw is answered why and closed,
 *    and never holds a slot;
 *  - at most HNV_SERVER_MAX_CLIENTS at once, of which non-root clients may
 *    hold all but HNV_SERVER_ROOT_RESERVED, and one non-root uid at most
 *    HNV_SERVER_MAX_PER_UID: root always gets in;
 *  - a client that makes no progress (no request served, no reply byte
 *    taken) for HNV_SERVER_IDLE_MS is dropped;
 *  - replies are buffered per client; a client's next request is read and
 *    served only while its unsent replies stay within HNV_SERVER_OUT_MAX,
 *    and a non-root one's only while all non-root clients' unsent replies
 *    stay within HNV_SERVER_OUT_USERS; a non-root request is at most
 *    HNV_SERVER_USER_LINE bytes (read-only requests are small). So the
 *    buffers of non-root clients hold at most about 16 MiB of replies and
 *    4 MiB of requests however many connect;
 *  - each loop turn serves at most one request per client, root's clients
 *    first: root's request waits for at most one request of each other
 *    client, and the other event sources (zebra, charon, etcd) run every
 *    turn.
 * Large configurations (issue 17 finding 7) keep within these bounds: a
 * show is asked for in pages of about HNV_API_PAGE_BYTES (api.h "offset"),
 * one request each, and a transaction larger than a request line comes in
 * chunks ("more") that root's client holds until the last one runs them
 * (at most HNV_TXN_MAX_BYTES, dropped with the connection). */
#define HNV_SERVER_MAX_CLIENTS 256
#define HNV_SERVER_ROOT_RESERVED 32
#define HNV_SERVER_MAX_PER_UID 16
#define HNV_SERVER_IDLE_MS 30000
#define HNV_SERVER_OUT_MAX (64 * 1024)          /* unsent replies before reading on */
#define HNV_SERVER_OUT_USERS (16 * 1024 * 1024) /* of all non-root clients */
#define HNV_SERVER_USER_LINE (16 * 1024)        /* a non-root request */
#define HNV_GROUP "hnvgw"

struct hnv_server;

/* Creates the listening socket at path: creates its directory (0755) if
 * missing, refuses when another daemon answers there, removes a stale
 * socket, binds with mode 0660 and group hnvgw when that group exists. */
int hnv_server_open(const char *path, struct hnv_core *core, struct hnv_server **out, char *err,
		    size_t errlen);
/* Closes every client and the socket, and unlinks it. */
void hnv_server_close(struct hnv_server *s);

/* The event loop: serves clients and the commit-confirm timer until *stop
 * is set. Signals are blocked outside ppoll and delivered with waitmask
 * inside it, so a flag set by a handler is never missed. *reload (SIGHUP)
 * runs hnv_core_reload. The thread is QSBR-offline while it waits. */
int hnv_server_run(struct hnv_server *s, const sigset_t *waitmask, volatile sig_atomic_t *stop,
		   volatile sig_atomic_t *reload);

/* Another event source of the control thread (lib/source.h). */
#define HNV_SERVER_MAX_SOURCES 16
/* 0, or -ENOSPC. The source is copied; its arg must outlive the server. */
int hnv_server_add_source(struct hnv_server *s, const struct hnv_source *src);

#endif
