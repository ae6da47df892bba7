/* vty.c: a client of an FRR daemon's vty socket (vty.h). */
#include "vty.h"

#include "../lib/clock.h"
#include "../lib/err.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct hnv_vty {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static int out_put(struct hnv_vty_reply *r, const char *p, size_t n)
{
	if (r->len + n > r->max)
		return -EMSGSIZE;
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 256;
		while (cap < r->len + n + 1)
			cap *= 2;
		char *o = realloc(r->out, cap);
		if (!o)
			return -ENOMEM;
		r->out = o;
		r->cap = cap;
	}
	memcpy(r->out + r->len, p, n);
	r->len += n;
	r->out[r->len] = '\0';
	return 0;
}

/* hnv_vty_reply_feed up to the end of r: *used gets the bytes r took (the
 * rest is the next reply's). */
static int reply_feed_part(struct hnv_vty_reply *r, const void *buf, size_t n, size_t *used)
{
	const unsigned char *b = buf;
	*used = 0;
	for (size_t i = 0; i < n; i++) {
		if (r->done)
			return 0;
		*used = i + 1;
		if (r->nuls == 3) { /* the status byte */
			r->status = b[i];
			r->done = true;
			if (!r->out && out_put(r, "", 0))
				return -ENOMEM;
			continue;
		}
		if (b[i] == 0) {
			r->nuls++;
			continue;
		}
		/* NUL bytes that did not make a terminator were output */
		static const char zeros[3];
		int rc = r->nuls ? out_put(r, zeros, r->nuls) : 0;
		r->nuls = 0;
		if (rc)
			return rc;
		/* the run of output bytes up to the next NUL, at once */
		const unsigned char *z = memchr(b + i, 0, n - i);
		size_t k = z ? (size_t)(z - (b + i)) : n - i;
		if ((rc = out_put(r, (const char *)b + i, k)) != 0)
			return rc;
		i += k - 1;
		*used = i + 1;
	}
	return 0;
}

int hnv_vty_reply_feed(struct hnv_vty_reply *r, const void *buf, size_t n)
{
	size_t used;
	int rc = reply_feed_part(r, buf, n, &used);
	return rc ? rc : used < n ? -EPROTO : 0;
}

void hnv_vty_reply_free(struct hnv_vty_reply *r)
{
	free(r->out);
	memset(r, 0, sizeof(*r));
}

/* Writes all of buf by deadline (mono ms). */
static int send_all(int fd, const char *buf, size_t n, int64_t deadline)
{
	while (n) {
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			buf += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		int64_t left = deadline - hnv_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Reads what the daemon sent next (at least a byte) into buf by deadline
 * (mono ms): *got bytes. */
static int recv_some(int fd, char *buf, size_t len, size_t *got, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - hnv_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int k = poll(&p, 1, (int)left);
		if (k < 0 && errno != EINTR)
			return -errno;
		if (k <= 0)
			continue;
		ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n == 0)
			return -EPIPE; /* the daemon closed the connection */
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			return -errno;
		}
		*got = (size_t)n;
		return 0;
	}
}

/* Reads one reply into r by deadline (mono ms). */
static int read_reply(int fd, struct hnv_vty_reply *r, int64_t deadline)
{
	char buf[16384];
	while (!r->done) {
		size_t got;
		int rc = recv_some(fd, buf, sizeof(buf), &got, deadline);
		if (rc == 0)
			rc = hnv_vty_reply_feed(r, buf, got);
		if (rc)
			return rc;
	}
	return 0;
}

static bool line_ok(const char *line)
{
	size_t n = strlen(line);
	return n < HNV_VTY_CMD_MAX && !memchr(line, '\n', n);
}

int hnv_vty_run_many(struct hnv_vty *v, const char *const *lines, size_t n, size_t window,
		     int timeout_ms, size_t max_out,
		     void (*fn)(void *arg, size_t i, int status, const char *out), void *arg)
{
	if (v->fd < 0)
		return -EPIPE;
	for (size_t i = 0; i < n; i++)
		if (!line_ok(lines[i]))
			return -EINVAL;
	if (window == 0)
		window = 1;
	char buf[16384];
	size_t have = 0, off = 0, sent = 0, done = 0;
	struct hnv_vty_reply r = {.max = max_out};
	int64_t deadline = hnv_mono_ms() + timeout_ms;
	int rc = 0;
	while (rc == 0 && done < n) {
		while (rc == 0 && sent < n && sent - done < window) {
			rc = send_all(v->fd, lines[sent], strlen(lines[sent]) + 1, deadline);
			sent++;
		}
		if (rc == 0 && off == have) {
			off = have = 0;
			rc = recv_some(v->fd, buf, sizeof(buf), &have, deadline);
		}
		size_t used = 0;
		if (rc == 0)
			rc = reply_feed_part(&r, buf + off, have - off, &used);
		off += used;
		if (rc == 0 && r.done) {
			fn(arg, done++, r.status, r.out);
			hnv_vty_reply_free(&r);
			r.max = max_out;
			deadline = hnv_mono_ms() + timeout_ms;
		}
	}
	if (rc == 0 && off < have)
		rc = -EPROTO; /* bytes no command asked for */
	hnv_vty_reply_free(&r);
	if (rc) {
		close(v->fd);
		v->fd = -1;
	}
	return rc;
}

int hnv_vty_run(struct hnv_vty *v, const char *line, int timeout_ms, size_t max_out, char **out,
		int *status)
{
	if (out)
		*out = NULL;
	size_t n = strlen(line);
	if (v->fd < 0)
		return -EPIPE;
	if (!line_ok(line))
		return -EINVAL;
	int64_t deadline = hnv_mono_ms() + timeout_ms;
	struct hnv_vty_reply r = {.max = max_out};
	int rc = send_all(v->fd, line, n + 1, deadline); /* with its NUL */
	if (rc == 0)
		rc = read_reply(v->fd, &r, deadline);
	if (rc) {
		/* a reply not read whole would be taken for the next one's */
		close(v->fd);
		v->fd = -1;
		hnv_vty_reply_free(&r);
		return rc;
	}
	*status = r.status;
	if (out)
		*out = r.out;
	else
		free(r.out);
	return 0;
}

int hnv_vty_open(const char *dir, const char *pathspace, const char *daemon, int timeout_ms,
		 struct hnv_vty **out, char *err, size_t errlen)
{
	*out = NULL;
	struct hnv_vty *v = calloc(1, sizeof(*v));
	if (!v) {
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	v->fd = -1;
	int w = snprintf(v->path, sizeof(v->path), "%s/%s%s%s.vty", dir ? dir : HNV_VTY_DEFAULT_DIR,
			 pathspace ? pathspace : "", pathspace ? "/" : "", daemon);
	if (w < 0 || (size_t)w >= sizeof(v->path)) {
		hnv_seterr(err, errlen, "the vty socket path of %s is too long", daemon);
		free(v);
		return -ENAMETOOLONG;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, v->path, strlen(v->path) + 1);
	int rc = 0, status = 0;
	v->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (v->fd < 0 || connect(v->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		hnv_seterr(err, errlen, "cannot connect to %s at %s: %s%s", daemon, v->path,
			   strerror(-rc),
			   rc == -ENOENT || rc == -ECONNREFUSED ? " (is it running?)" : "");
	} else if ((rc = hnv_vty_run(v, "enable", timeout_ms, 4096, NULL, &status)) != 0 ||
		   status != 0) {
		hnv_seterr(err, errlen, "%s at %s: `enable`: %s", daemon, v->path,
			   rc ? strerror(-rc) : "refused");
		rc = rc ? rc : -EPROTO;
	}
	if (rc) {
		hnv_vty_close(v);
		return rc;
	}
	*out = v;
	return 0;
}

void hnv_vty_close(struct hnv_vty *v)
{
	if (!v)
		return;
	if (v->fd >= 0)
		close(v->fd);
	free(v);
}
