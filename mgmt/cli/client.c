/* client.c: the hnvgw CLI's side of the control socket (client.h). */
#include "client.h"

#include "../../lib/err.h"
#include "../../lib/vec.h"
#include "../api.h"
#include "output.h"

#include <errno.h>
#include <json-c/printbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define REPLY_MAX (64u << 20) /* bytes of one reply line the client accepts */
#define REPLY_READ 65536      /* bytes read at once at the least */

int hnv_cli_connect(struct hnv_cli_conn *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return -e;
	}
	c->fd = fd;
	return 0;
}

void hnv_cli_close(struct hnv_cli_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->buf) {
		explicit_bzero(c->buf, c->cap);
		free(c->buf);
	}
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

json_object *hnv_cli_req(const char *op)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "op", json_object_new_string(op));
	return o;
}

json_object *hnv_cli_exec_req(const char *const *lines, size_t n)
{
	json_object *req = hnv_cli_req("exec"), *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(lines[i]));
	json_object_object_add(req, "lines", arr);
	return req;
}

/* Sends the request line s and its newline. 0, or the errno of a failed
 * send: the daemon may have answered before closing, so the caller reads
 * on. */
static int send_line(int fd, const char *s)
{
	size_t n = strlen(s);
	for (size_t off = 0; off <= n;) {
		const char *p = off < n ? s + off : "\n";
		size_t l = off < n ? n - off : 1;
		ssize_t w = send(fd, p, l, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		off += (size_t)w;
	}
	return 0;
}

/* Reads until c->buf holds a whole line; returns its newline, or NULL
 * with a message in err. send_errno: why sending failed, 0 if it did not. */
static char *read_line(struct hnv_cli_conn *c, int send_errno, char *err, size_t errlen)
{
	char *nl;
	while (!(nl = c->len ? memchr(c->buf, '\n', c->len) : NULL)) {
		if (c->len == c->cap) {
			if (c->cap >= REPLY_MAX) {
				hnv_seterr(err, errlen, "reply from hnvgwd too long");
				return NULL;
			}
			if (HNV_GROW(c->buf, c->cap,
				     c->len < REPLY_READ ? REPLY_READ : c->len + 1)) {
				hnv_seterr(err, errlen, "out of memory");
				return NULL;
			}
		}
		ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : send_errno;
			hnv_seterr(err, errlen, "hnvgwd closed the connection without a reply%s%s",
				   e ? ": " : "", e ? strerror(e) : "");
			return NULL;
		}
		c->len += (size_t)r;
	}
	return nl;
}

/* Clears every string in o (o is about to be freed): json-c frees its
 * strings without clearing them, and a request may hold a PSK. */
static void wipe_strings(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_string:
		explicit_bzero((char *)json_object_get_string(o), (size_t)json_object_get_string_len(o));
		break;
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			wipe_strings(json_object_array_get_idx(o, i));
		break;
	case json_type_object: {
		json_object_object_foreach(o, k, v)
		{
			(void)k;
			wipe_strings(v);
		}
		break;
	}
	default:
		break;
	}
}

/* The reply line s parsed; the parser's buffer, which held the last
 * string it read (a secret of show config --show-secrets perhaps), is
 * cleared before it is freed. */
static json_object *parse_reply(const char *s)
{
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return NULL;
	json_object *o = json_tokener_parse_ex(tok, s, -1);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	/* json-c 0.16 has no call for it: the field of its public struct */
	if (tok->pb && tok->pb->buf && tok->pb->size > 0)
		explicit_bzero(tok->pb->buf, (size_t)tok->pb->size);
	json_tokener_free(tok);
	return o;
}

int hnv_cli_call(struct hnv_cli_conn *c, json_object *req, json_object **result, char *err,
		 size_t errlen)
{
	*result = NULL;
	json_object_object_add(req, "v", json_object_new_int(HNV_API_VERSION));
	const char *line = json_object_to_json_string_ext(
		req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	int send_errno = send_line(c->fd, line);
	explicit_bzero((char *)line, strlen(line)); /* json-c's copy of the request */
	wipe_strings(req);
	json_object_put(req);
	char *nl = read_line(c, send_errno, err, errlen);
	if (nl == NULL) {
		c->lost = true;
		return -1;
	}
	size_t linelen = (size_t)(nl - c->buf), rest = c->len - linelen - 1;
	*nl = '\0';
	json_object *reply = parse_reply(c->buf);
	memmove(c->buf, nl + 1, rest);
	explicit_bzero(c->buf + rest, linelen + 1); /* replies may hold secrets */
	c->len = rest;
	json_object *v, *ok, *e;
	int rc;
	if (!reply || !json_object_is_type(reply, json_type_object) ||
	    !json_object_object_get_ex(reply, "v", &v) ||
	    json_object_get_int(v) != HNV_API_VERSION ||
	    !json_object_object_get_ex(reply, "ok", &ok)) {
		hnv_seterr(err, errlen, "unintelligible reply from hnvgwd (protocol version %d)",
			   HNV_API_VERSION);
		c->lost = true;
		rc = -1;
	} else if (!json_object_get_boolean(ok)) {
		hnv_seterr(err, errlen, "%s",
			   json_object_object_get_ex(reply, "error", &e) ? json_object_get_string(e)
									 : "refused");
		rc = 1;
	} else {
		if (json_object_object_get_ex(reply, "result", result))
			json_object_get(*result);
		rc = 0;
	}
	json_object_put(reply);
	return rc;
}

/* ---- hnv_ps_io over a connection: each callback is one request ---- */

static int ps_call(void *ctx, json_object *req, json_object **result, char *err, size_t errlen)
{
	return hnv_cli_call(ctx, req, result, err, errlen) ? -1 : 0;
}

static int ps_exec(void *ctx, const char *const *lines, size_t n, char *err, size_t errlen)
{
	json_object *res;
	char *what;
	int rc = ps_call(ctx, hnv_cli_exec_req(lines, n), &res, err, errlen);
	if (rc == 0 && hnv_cli_not_applied(res, &what)) { /* issue 17 finding 13 */
		snprintf(err, errlen, "committed revision %d, but not applied: %s",
			 json_object_get_int(json_object_object_get(res, "rev")),
			 what ? what : "?");
		free(what);
		rc = 1;
	}
	json_object_put(res);
	return rc;
}

static int ps_show(void *ctx, const char *what, json_object **rows, char *err, size_t errlen)
{
	json_object *req = hnv_cli_req("show");
	json_object_object_add(req, "what", json_object_new_string(what));
	return ps_call(ctx, req, rows, err, errlen);
}

static int ps_nexthop(void *ctx, unsigned vsid, const char *src, const char *dst,
		      json_object **result, char *err, size_t errlen)
{
	json_object *req = hnv_cli_req("nexthop");
	json_object_object_add(req, "vsid", json_object_new_int64(vsid));
	if (src)
		json_object_object_add(req, "src", json_object_new_string(src));
	json_object_object_add(req, "dst", json_object_new_string(dst));
	return ps_call(ctx, req, result, err, errlen);
}

void hnv_cli_ps_io(struct hnv_cli_conn *c, struct hnv_ps_io *io)
{
	io->ctx = c;
	io->exec = ps_exec;
	io->show = ps_show;
	io->nexthop = ps_nexthop;
}
