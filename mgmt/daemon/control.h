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

#define HNV_SERVER_MAX_CLIENTS 256
#define HNV_SERVER_OUT_MAX (4 * 1024 * 1024) /* bytes of unsent replies per client */
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
#define HNV_SERVER_MAX_SOURCES 8
/* 0, or -ENOSPC. The source is copied; its arg must outlive the server. */
int hnv_server_add_source(struct hnv_server *s, const struct hnv_source *src);

#endif
