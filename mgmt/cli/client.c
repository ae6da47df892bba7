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

/* ---- large transactions and replies (issue 17 finding 7) ---- */

#define CHUNK_BYTES (HNV_API_MAX_LINE / 2) /* of lines, escaped, in one exec request */
#define PAGE_RESTARTS 5                    /* pagings started over on a new revision */

/* The bytes of s in a JSON string, at most (json-c escapes '"', '\' and
 * control characters; "\u00XX" is the longest escape). */
static size_t json_len(const char *s)
{
	size_t n = 2;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		n += ch == '"' || ch == '\\' ? 2 : ch < 0x20 || ch == 0x7f ? 6 : 1;
	}
	return n + 1; /* its comma */
}

int hnv_cli_exec(struct hnv_cli_conn *c, const char *const *lines, size_t n, unsigned confirm,
		 json_object **result, char *err, size_t errlen)
{
	*result = NULL;
	size_t i = 0;
	for (;;) {
		size_t bytes = 0, k = i;
		while (k < n && (k == i || bytes + json_len(lines[k]) <= CHUNK_BYTES))
			bytes += json_len(lines[k++]);
		bool last = k == n;
		json_object *req = hnv_cli_exec_req(lines + i, k - i);
		if (!last)
			json_object_object_add(req, "more", json_object_new_boolean(true));
		else if (confirm)
			json_object_object_add(req, "confirm", json_object_new_int64(confirm));
		int rc = hnv_cli_call(c, req, result, err, errlen);
		if (rc || last)
			return rc;
		json_object_put(*result);
		*result = NULL;
		i = k;
	}
}

/* The members of a page result: rows or text, rev, next (-1: none). */
static int page_parts(json_object *res, json_object **rows, const char **text, int64_t *rev,
		      int64_t *next)
{
	json_object *v;
	*rows = NULL;
	*text = NULL;
	if (!json_object_is_type(res, json_type_object) ||
	    !json_object_object_get_ex(res, "rev", &v))
		return -1;
	*rev = json_object_get_int64(v);
	*next = json_object_object_get_ex(res, "next", &v) ? json_object_get_int64(v) : -1;
	if (json_object_object_get_ex(res, "rows", rows) &&
	    json_object_is_type(*rows, json_type_array))
		return 0;
	*rows = NULL;
	if (json_object_object_get_ex(res, "text", &v) && json_object_is_type(v, json_type_string)) {
		*text = json_object_get_string(v);
		return 0;
	}
	return -1;
}

static void wipe_result(json_object *o)
{
	if (o) {
		wipe_strings(o);
		json_object_put(o);
	}
}

/* The pieces of text (json strings) as one json string; pieces wiped. */
static json_object *join_text(json_object *pieces)
{
	size_t total = 0, n = json_object_array_length(pieces);
	for (size_t i = 0; i < n; i++)
		total += (size_t)json_object_get_string_len(json_object_array_get_idx(pieces, i));
	/* one buffer of the final size: no copy of a secret is left behind by
	 * a growing one */
	char *s = malloc(total + 1);
	json_object *o = NULL;
	if (s) {
		size_t off = 0;
		for (size_t i = 0; i < n; i++) {
			json_object *p = json_object_array_get_idx(pieces, i);
			size_t l = (size_t)json_object_get_string_len(p);
			memcpy(s + off, json_object_get_string(p), l);
			off += l;
		}
		o = json_object_new_string_len(s, (int)total);
		explicit_bzero(s, total);
		free(s);
	}
	wipe_result(pieces);
	return o;
}

int hnv_cli_paged(struct hnv_cli_conn *c, json_object *(*mk)(void *arg), void *arg,
		  json_object **result, char *err, size_t errlen)
{
	*result = NULL;
	for (int tries = 0; tries < PAGE_RESTARTS; tries++) {
		json_object *all = json_object_new_array(); /* rows, or pieces of text */
		bool is_text = false, restart = false;
		int64_t rev0 = -1, offset = 0;
		for (;;) {
			json_object *req = mk(arg), *res, *rows;
			json_object_object_add(req, "offset", json_object_new_int64(offset));
			int rc = hnv_cli_call(c, req, &res, err, errlen);
			const char *t;
			int64_t rev, next;
			if (rc == 0 && page_parts(res, &rows, &t, &rev, &next)) {
				hnv_seterr(err, errlen, "unintelligible page from hnvgwd");
				c->lost = true;
				rc = -1;
			}
			if (rc) {
				wipe_result(res);
				wipe_result(all);
				return rc;
			}
			if (rev0 >= 0 && rev != rev0) {
				wipe_result(res);
				restart = true;
				break;
			}
			rev0 = rev;
			is_text = rows == NULL;
			json_object *from = rows;
			if (is_text)
				json_object_object_get_ex(res, "text", &from);
			if (rows)
				for (size_t i = 0; i < json_object_array_length(rows); i++)
					json_object_array_add(
						all, json_object_get(json_object_array_get_idx(rows, i)));
			else
				json_object_array_add(all, json_object_get(from));
			json_object_put(res); /* what it holds lives on in all */
			if (next <= offset)
				break; /* the last page (or no progress) */
			offset = next;
		}
		if (restart) {
			wipe_result(all);
			continue;
		}
		*result = is_text ? join_text(all) : all;
		if (!*result) {
			hnv_seterr(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	hnv_seterr(err, errlen, "the configuration changed %d times while it was read; try again",
		   PAGE_RESTARTS);
	return 1;
}

struct show_args {
	const char *what;
	bool secrets;
	json_object *filter;
};

static json_object *show_req(void *arg)
{
	const struct show_args *a = arg;
	json_object *req = hnv_cli_req("show");
	json_object_object_add(req, "what", json_object_new_string(a->what));
	if (a->secrets)
		json_object_object_add(req, "secrets", json_object_new_boolean(true));
	if (a->filter) {
		json_object_object_foreach(a->filter, k, v)
		{
			json_object *copy = NULL;
			json_object_deep_copy(v, &copy, NULL);
			json_object_object_add(req, k, copy);
		}
	}
	return req;
}

int hnv_cli_show(struct hnv_cli_conn *c, const char *what, bool secrets, json_object *filter,
		 json_object **result, char *err, size_t errlen)
{
	struct show_args a = {what, secrets, filter};
	return hnv_cli_paged(c, show_req, &a, result, err, errlen);
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
	int rc = hnv_cli_exec(ctx, lines, n, 0, &res, err, errlen);
	if (rc == 0 && hnv_cli_not_applied(res, &what)) { /* issue 17 finding 13 */
		snprintf(err, errlen, "committed revision %d, but not applied: %s",
			 json_object_get_int(json_object_object_get(res, "rev")),
			 what ? what : "?");
		free(what);
		json_object_put(res);
		return 1;
	}
	json_object_put(res);
	return rc ? -1 : 0;
}

static int ps_show(void *ctx, const char *what, json_object **rows, char *err, size_t errlen)
{
	return hnv_cli_show(ctx, what, false, NULL, rows, err, errlen) ? -1 : 0;
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
