/* client.h: the hnvgw CLI's side of the control socket (mgmt/api.h): one
 * JSON request per line, one JSON reply per line, on a connection to
 * hnvgwd's unix socket.
 */
#ifndef HNV_CLI_CLIENT_H
#define HNV_CLI_CLIENT_H

#include "ps.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

struct hnv_cli_conn {
	int fd;
	char *buf; /* replies read but not yet taken; wiped when taken */
	size_t len, cap;
	bool lost; /* a call got no intelligible reply (hnv_cli_call -1) */
};

/* Connects c to the socket at path. 0, or -ENAMETOOLONG (path does not
 * fit a socket address) or the -errno of socket()/connect(); c is then
 * closed already (hnv_cli_close does nothing more). */
int hnv_cli_connect(struct hnv_cli_conn *c, const char *path);
/* Closes the connection and wipes and frees what it buffered. */
void hnv_cli_close(struct hnv_cli_conn *c);

/* A request {"op": op} to add fields to; the caller owns it. */
json_object *hnv_cli_req(const char *op);
/* An "exec" request committing the n lines as one transaction. */
json_object *hnv_cli_exec_req(const char *const *lines, size_t n);

/* Sends req (consumed: its strings cleared and put, in every case) and
 * reads its reply. Returns 0 with the result (caller owns it; NULL when
 * absent), 1 when the daemon refused (its message in err, raw: escape it
 * for a terminal), -1 when the connection failed or the reply was
 * unintelligible (message in err; c->lost set). */
int hnv_cli_call(struct hnv_cli_conn *c, json_object *req, json_object **result, char *err,
		 size_t errlen);

/* One transaction of the n lines (confirm: seconds, 0 none) in requests of
 * at most about HNV_API_MAX_LINE / 2 bytes: chunks with "more" and a last
 * one (mgmt/api.h "exec"; issue 17 finding 7). Returns as hnv_cli_call,
 * with the result of the last chunk. */
int hnv_cli_exec(struct hnv_cli_conn *c, const char *const *lines, size_t n, unsigned confirm,
		 json_object **result, char *err, size_t errlen);

/* A request asked for in pages (mgmt/api.h "offset"; issue 17 finding 7):
 * mk(arg) makes the request of each page, to which "offset" is added.
 * The pages are put together into the result a request without "offset"
 * would have had: the rows as one array, or the text as one string. When
 * the revision changes between pages, it starts over (a few times).
 * Returns as hnv_cli_call. */
int hnv_cli_paged(struct hnv_cli_conn *c, json_object *(*mk)(void *arg), void *arg,
		  json_object **result, char *err, size_t errlen);

/* show what (filter: NULL, or "vsid", "ca", "pa" members, which are
 * copied) in pages, as hnv_cli_paged. */
int hnv_cli_show(struct hnv_cli_conn *c, const char *what, bool secrets, json_object *filter,
		 json_object **result, char *err, size_t errlen);

/* Fills io's ctx, exec, show and nexthop with calls over c, which must
 * stay open while io is used; out and err are the caller's. */
void hnv_cli_ps_io(struct hnv_cli_conn *c, struct hnv_ps_io *io);

#endif
