/* control.c: hnvgwd's control socket: clients, authorization, the event
 * loop and its sources (see control.h). */
#include "control.h"

#include "../../lib/clock.h"
#include "../../lib/err.h"
#include "../../lib/log.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-qsbr.h>

#define IN_INITIAL 4096
#define BUF_KEEP 16384      /* a client's buffer larger than this is freed once empty */
#define ACCEPTS_PER_TURN 64 /* connections taken from the backlog per loop turn */

struct client {
	int fd;
	int pfd; /* its index in the loop turn's pollfds, -1: not polled */
	struct hnv_peer peer;
	long progress_ms; /* CLOCK_MONOTONIC: connected, request served or reply sent */
	char *in;
	size_t in_len, in_cap, scanned; /* scanned: bytes known to hold no '\n' */
	char *out;
	size_t out_off, out_len, out_cap;
	/* root's chunked transaction (api.h "exec" with "more"): its lines
	 * so far, NUL-terminated one after the other */
	char *txn;
	size_t txn_len, txn_cap, txn_n;
	bool eof;     /* the peer closed its side */
	bool closing; /* read nothing more; close once out is sent */
	bool dead;    /* close now */
};

struct hnv_server {
	int fd;
	char *path;
	struct hnv_core *core;
	struct client *clients[HNV_SERVER_MAX_CLIENTS];
	size_t n;
	struct hnv_source src[HNV_SERVER_MAX_SOURCES];
	long src_due[HNV_SERVER_MAX_SOURCES]; /* CLOCK_MONOTONIC ms, -1: none */
	size_t n_src;
};

int hnv_server_add_source(struct hnv_server *s, const struct hnv_source *src)
{
	if (s->n_src == HNV_SERVER_MAX_SOURCES)
		return -ENOSPC;
	s->src_due[s->n_src] = -1;
	s->src[s->n_src++] = *src;
	return 0;
}

static struct hnv_ratelimit rl_drop, rl_accept, rl_badreq;

int hnv_server_open(const char *path, struct hnv_core *core, struct hnv_server **out, char *err,
		    size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		hnv_seterr(err, errlen, "socket path %s is longer than %zu bytes", path,
			   sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);

	char dir[sizeof(sa.sun_path)];
	memcpy(dir, path, strlen(path) + 1);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST) {
			hnv_seterr(err, errlen, "cannot create %s: %s", dir, strerror(errno));
			return -errno;
		}
	}

	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			hnv_seterr(err, errlen, "%s exists and is not a socket", path);
			return -EEXIST;
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			hnv_seterr(err, errlen, "another hnvgwd is already listening on %s", path);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		if (unlink(path)) {
			hnv_seterr(err, errlen, "cannot remove stale socket %s: %s", path,
				   strerror(errno));
			return -errno;
		}
		hnv_log(HNV_LOG_INFO, "removed stale socket %s", path);
	}

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		hnv_seterr(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	/* created 0660 from the start: no window with wider permissions */
	mode_t old = umask(0117);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc || chmod(path, 0660) || listen(fd, 64)) {
		rc = -errno;
		hnv_seterr(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	struct group *gr = getgrnam(HNV_GROUP);
	if (gr) {
		if (chown(path, 0, gr->gr_gid))
			hnv_log(HNV_LOG_WARNING, "cannot give %s to group %s: %s", path, HNV_GROUP,
				strerror(errno));
	} else {
		hnv_log(HNV_LOG_INFO, "no group %s: only root can use %s", HNV_GROUP, path);
	}

	struct hnv_server *s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		close(fd);
		unlink(path);
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->fd = fd;
	s->core = core;
	*out = s;
	return 0;
}

/* Drops the lines of cl's chunked transaction (they may hold PSKs). */
static void txn_drop(struct client *cl)
{
	if (cl->txn) {
		explicit_bzero(cl->txn, cl->txn_cap);
		free(cl->txn);
	}
	cl->txn = NULL;
	cl->txn_len = cl->txn_cap = cl->txn_n = 0;
}

static void client_free(struct client *cl)
{
	close(cl->fd);
	txn_drop(cl);
	if (cl->in) {
		explicit_bzero(cl->in, cl->in_cap);
		free(cl->in);
	}
	if (cl->out) {
		explicit_bzero(cl->out, cl->out_cap);
		free(cl->out);
	}
	free(cl);
}

void hnv_server_close(struct hnv_server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		client_free(s->clients[i]);
	close(s->fd);
	unlink(s->path);
	free(s->path);
	free(s);
}

/* uid is a member of gid, as primary or supplementary group. */
static bool uid_in_group(uid_t uid, gid_t gid)
{
	struct passwd *pw = getpwuid(uid);
	if (!pw)
		return false;
	if (pw->pw_gid == gid)
		return true;
	int ng = 32;
	gid_t *groups = NULL;
	for (int tries = 0; tries < 4; tries++) {
		gid_t *g = realloc(groups, (size_t)ng * sizeof(*g));
		if (!g)
			break;
		groups = g;
		int want = ng;
		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &want) >= 0) {
			for (int i = 0; i < want; i++)
				if (groups[i] == gid) {
					free(groups);
					return true;
				}
			break;
		}
		ng = want > ng ? want : 2 * ng;
	}
	free(groups);
	return false;
}

/* Appends one reply line. The caller served the request only while the
 * client's unsent replies were within HNV_SERVER_OUT_MAX, so they stay
 * within that plus one reply (at most HNV_API_MAX_LINE + 1 bytes). */
static void client_reply(struct client *cl, json_object *reply)
{
	const char *s = json_object_to_json_string_ext(
		reply, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(s);
	json_object *big = NULL;
	if (n > HNV_API_MAX_LINE) {
		char msg[200];
		snprintf(msg, sizeof(msg),
			 "reply of %zu bytes exceeds the protocol limit of %d bytes per line: ask "
			 "for it in pages (\"offset\", mgmt/api.h)",
			 n, HNV_API_MAX_LINE);
		big = hnv_reply_error(msg);
		s = json_object_to_json_string_ext(big, JSON_C_TO_STRING_PLAIN);
		n = strlen(s);
	}
	size_t pending = cl->out_len - cl->out_off;
	if (cl->out_off && cl->out_len + n + 1 > cl->out_cap) {
		memmove(cl->out, cl->out + cl->out_off, pending);
		explicit_bzero(cl->out + pending, cl->out_len - pending);
		cl->out_len = pending;
		cl->out_off = 0;
	}
	if (cl->out_len + n + 1 > cl->out_cap) {
		/* a quarter to spare, not double: what a client's buffers hold
		 * is what the bounds of control.h count */
		size_t need = cl->out_len + n + 1, cap = need + need / 4;
		if (cap < BUF_KEEP)
			cap = BUF_KEEP;
		char *o = malloc(cap);
		if (!o) {
			cl->dead = true;
			json_object_put(big);
			return;
		}
		if (cl->out) {
			memcpy(o, cl->out, cl->out_len);
			explicit_bzero(cl->out, cl->out_cap);
			free(cl->out);
		}
		cl->out = o;
		cl->out_cap = cap;
	}
	memcpy(cl->out + cl->out_len, s, n);
	cl->out[cl->out_len + n] = '\n';
	cl->out_len += n + 1;
	json_object_put(big);
}

static void client_flush(struct client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t w = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				cl->dead = true;
			return;
		}
		explicit_bzero(cl->out + cl->out_off, (size_t)w);
		cl->out_off += (size_t)w;
		cl->progress_ms = hnv_mono_ms();
	}
	cl->out_off = cl->out_len = 0;
	/* a large buffer goes once it is sent: idle clients hold little */
	if (cl->out_cap > BUF_KEEP) {
		explicit_bzero(cl->out, cl->out_cap);
		free(cl->out);
		cl->out = NULL;
		cl->out_cap = 0;
	}
	if (cl->closing)
		cl->dead = true;
}

static void refuse(struct client *cl, const char *msg)
{
	json_object *r = hnv_reply_error(msg);
	client_reply(cl, r);
	json_object_put(r);
	cl->closing = true;
}

/* Keeps the lines of an exec chunk in cl's transaction: 0, or -E2BIG
 * (too many lines or bytes in all; message in err) or -ENOMEM. */
static int txn_add(struct client *cl, const struct hnv_request *req, char *err, size_t errlen)
{
	if (cl->txn_n + req->u.exec.n > HNV_EXEC_MAX_LINES ||
	    cl->txn_len + req->u.exec.buflen > HNV_TXN_MAX_BYTES) {
		snprintf(err, errlen,
			 "transaction too large: at most %d lines and %u bytes in all chunks",
			 HNV_EXEC_MAX_LINES, HNV_TXN_MAX_BYTES);
		return -E2BIG;
	}
	size_t need = cl->txn_len + req->u.exec.buflen;
	if (need > cl->txn_cap) {
		size_t cap = cl->txn_cap ? cl->txn_cap : 65536;
		while (cap < need)
			cap *= 2;
		/* a new block each time: the old one is wiped, not left to
		 * realloc (lines may hold PSKs) */
		char *t = malloc(cap);
		if (!t) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		if (cl->txn) {
			memcpy(t, cl->txn, cl->txn_len);
			explicit_bzero(cl->txn, cl->txn_cap);
			free(cl->txn);
		}
		cl->txn = t;
		cl->txn_cap = cap;
	}
	memcpy(cl->txn + cl->txn_len, req->u.exec.buf, req->u.exec.buflen);
	cl->txn_len += req->u.exec.buflen;
	cl->txn_n += req->u.exec.n;
	return 0;
}

/* The reply to root's exec req on cl (api.h: chunks): a chunk is kept,
 * the last one runs the transaction with the lines kept before it. */
static json_object *serve_exec(struct hnv_server *s, struct client *cl,
			       const struct hnv_request *req)
{
	char err[256];
	if (req->u.exec.more || cl->txn_n) {
		int rc = txn_add(cl, req, err, sizeof(err));
		if (rc) {
			txn_drop(cl);
			hnv_log_rl(&rl_badreq, HNV_LOG_NOTICE, "exec by uid %u pid %d refused: %s",
				   cl->peer.uid, cl->peer.pid, err);
			return hnv_reply_error(err);
		}
	}
	if (req->u.exec.more) {
		json_object *r = json_object_new_object();
		json_object_object_add(r, "pending", json_object_new_int64((int64_t)cl->txn_n));
		return hnv_reply_ok(r);
	}
	if (!cl->txn_n)
		return hnv_core_handle(s->core, req, &cl->peer);
	struct hnv_request all = *req;
	all.u.exec.lines = calloc(cl->txn_n, sizeof(*all.u.exec.lines));
	if (!all.u.exec.lines) {
		txn_drop(cl);
		return hnv_reply_error("out of memory");
	}
	char *p = cl->txn;
	for (size_t i = 0; i < cl->txn_n; i++) {
		all.u.exec.lines[i] = p;
		p += strlen(p) + 1;
	}
	all.u.exec.n = cl->txn_n;
	all.u.exec.buf = cl->txn;
	all.u.exec.buflen = cl->txn_len;
	json_object *reply = hnv_core_handle(s->core, &all, &cl->peer);
	free(all.u.exec.lines);
	txn_drop(cl);
	return reply;
}

static void serve_line(struct hnv_server *s, struct client *cl, const char *line, size_t len)
{
	struct hnv_request req;
	char err[512];
	json_object *reply;
	if (hnv_request_parse(line, len, &req, err, sizeof(err))) {
		hnv_log_rl(&rl_badreq, HNV_LOG_NOTICE, "bad request from uid %u pid %d: %s",
			   cl->peer.uid, cl->peer.pid, err);
		reply = hnv_reply_error(err);
	} else {
		/* exec is root's (hnv_core_handle refuses anyone else) */
		if (req.op == HNV_OP_EXEC && cl->peer.root)
			reply = serve_exec(s, cl, &req);
		else
			reply = hnv_core_handle(s->core, &req, &cl->peer);
		hnv_request_clear(&req);
	}
	client_reply(cl, reply);
	json_object_put(reply);
	cl->progress_ms = hnv_mono_ms();
}

/* The longest request line of cl. */
static size_t line_max(const struct client *cl)
{
	return cl->peer.root ? HNV_API_MAX_LINE : HNV_SERVER_USER_LINE;
}

static void refuse_long(struct client *cl)
{
	char msg[96];
	snprintf(msg, sizeof(msg), "request longer than %zu bytes", line_max(cl));
	hnv_log_rl(&rl_badreq, HNV_LOG_NOTICE, "uid %u pid %d: %s; connection closed", cl->peer.uid,
		   cl->peer.pid, msg);
	refuse(cl, msg);
}

/* Serves the client's next complete request, if any (one per loop turn:
 * see control.h); true when more input waits to be looked at. */
static bool client_serve(struct hnv_server *s, struct client *cl)
{
	if (cl->closing || cl->dead)
		return false;
	char *nl = cl->in_len > cl->scanned
			   ? memchr(cl->in + cl->scanned, '\n', cl->in_len - cl->scanned)
			   : NULL;
	if (!nl) {
		cl->scanned = cl->in_len;
		if (cl->in_len > line_max(cl)) {
			refuse_long(cl);
		} else if (cl->eof && cl->in_len) {
			/* a last request without its newline */
			serve_line(s, cl, cl->in, cl->in_len);
			explicit_bzero(cl->in, cl->in_len);
			cl->in_len = cl->scanned = 0;
		}
		return false;
	}
	size_t len = (size_t)(nl - cl->in);
	if (len > line_max(cl)) {
		refuse_long(cl);
		return false;
	}
	serve_line(s, cl, cl->in, len);
	size_t rest = cl->in_len - len - 1;
	memmove(cl->in, nl + 1, rest);
	explicit_bzero(cl->in + rest, len + 1);
	cl->in_len = rest;
	cl->scanned = 0;
	if (rest == 0 && cl->in_cap > BUF_KEEP) {
		explicit_bzero(cl->in, cl->in_cap);
		free(cl->in);
		cl->in = NULL;
		cl->in_cap = 0;
	}
	return rest > 0;
}

static void client_read(struct client *cl)
{
	for (;;) {
		if (cl->in_len == cl->in_cap) {
			if (cl->in_cap > line_max(cl))
				return; /* full: client_serve serves or refuses it */
			size_t cap = cl->in_cap ? 2 * cl->in_cap : IN_INITIAL;
			if (cap > line_max(cl) + 1)
				cap = line_max(cl) + 1;
			char *n = malloc(cap);
			if (!n) {
				cl->dead = true;
				return;
			}
			if (cl->in) {
				memcpy(n, cl->in, cl->in_len);
				explicit_bzero(cl->in, cl->in_cap);
				free(cl->in);
			}
			cl->in = n;
			cl->in_cap = cap;
		}
		ssize_t r =
			recv(cl->fd, cl->in + cl->in_len, cl->in_cap - cl->in_len, MSG_DONTWAIT);
		if (r > 0) {
			cl->in_len += (size_t)r;
			continue;
		}
		if (r == 0)
			cl->eof = true;
		else if (errno == EINTR)
			continue;
		else if (errno != EAGAIN && errno != EWOULDBLOCK)
			cl->dead = true;
		return;
	}
}

/* Answers a connection that gets no slot, and closes it. The reply is
 * queued before the close, so the client reads why even when its own send
 * fails. */
static void turn_away(int fd, const char *why)
{
	json_object *r = hnv_reply_error(why);
	const char *line = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN);
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);
	if (n > 0 && (size_t)n < sizeof(buf))
		(void)!send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	json_object_put(r);
	close(fd);
}

/* Why a connection from uc gets no slot, or NULL: authorization first, so
 * a client that may not use the socket is never counted; then the limits
 * of control.h. */
static const char *slot_refusal(const struct hnv_server *s, const struct ucred *uc, char *buf,
				size_t len)
{
	if (uc->uid == 0) {
		if (s->n < HNV_SERVER_MAX_CLIENTS)
			return NULL;
		snprintf(buf, len, "too many clients (%d)", HNV_SERVER_MAX_CLIENTS);
		return buf;
	}
	struct group *gr = getgrnam(HNV_GROUP);
	if (!gr || (uc->gid != gr->gr_gid && !uid_in_group(uc->uid, gr->gr_gid))) {
		snprintf(buf, len,
			 "permission denied: uid %u is neither root nor a member of group %s",
			 (unsigned)uc->uid, HNV_GROUP);
		return buf;
	}
	size_t users = 0, same = 0;
	for (size_t i = 0; i < s->n; i++) {
		users += !s->clients[i]->peer.root;
		same += s->clients[i]->peer.uid == uc->uid;
	}
	if (same >= HNV_SERVER_MAX_PER_UID) {
		snprintf(buf, len, "too many connections from uid %u (at most %d)",
			 (unsigned)uc->uid, HNV_SERVER_MAX_PER_UID);
		return buf;
	}
	if (users >= HNV_SERVER_MAX_CLIENTS - HNV_SERVER_ROOT_RESERVED) {
		snprintf(buf, len, "too many clients (%d; the rest are kept for root)",
			 HNV_SERVER_MAX_CLIENTS - HNV_SERVER_ROOT_RESERVED);
		return buf;
	}
	return NULL;
}

static void server_accept(struct hnv_server *s)
{
	for (int k = 0; k < ACCEPTS_PER_TURN; k++) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				hnv_log_rl(&rl_accept, HNV_LOG_WARNING, "accept on %s: %s", s->path,
					   strerror(errno));
			return;
		}
		struct ucred uc;
		socklen_t ul = sizeof(uc);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul)) {
			close(fd);
			continue;
		}
		char why[160];
		const char *no = slot_refusal(s, &uc, why, sizeof(why));
		if (no) {
			hnv_log_rl(&rl_accept, HNV_LOG_NOTICE, "client uid %u pid %d refused: %s",
				   (unsigned)uc.uid, (int)uc.pid, no);
			turn_away(fd, no);
			continue;
		}
		struct client *cl = calloc(1, sizeof(*cl));
		if (!cl) {
			close(fd);
			continue;
		}
		cl->fd = fd;
		cl->pfd = -1;
		cl->peer.uid = uc.uid;
		cl->peer.pid = uc.pid;
		cl->peer.root = uc.uid == 0;
		cl->progress_ms = hnv_mono_ms();
		s->clients[s->n++] = cl;
		hnv_log(HNV_LOG_DEBUG, "client uid %u pid %d connected", (unsigned)uc.uid,
			(int)uc.pid);
	}
}

static size_t unsent(const struct client *cl)
{
	return cl->out_len - cl->out_off;
}

/* Whether cl's next request may be read and served now (control.h):
 * users_out is what all non-root clients have not been sent yet. */
static bool may_serve(const struct client *cl, size_t users_out)
{
	return !cl->closing && !cl->dead && unsent(cl) <= HNV_SERVER_OUT_MAX &&
	       (cl->peer.root || users_out <= HNV_SERVER_OUT_USERS);
}

static size_t users_unsent(const struct hnv_server *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		if (!s->clients[i]->peer.root)
			n += unsent(s->clients[i]);
	return n;
}

/* One request of each client that may be served, root's clients first;
 * true when some client has more input waiting. */
static bool serve_turn(struct hnv_server *s)
{
	bool more = false;
	size_t users_out = users_unsent(s);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < s->n; i++) {
			struct client *cl = s->clients[i];
			if (cl->peer.root != (pass == 0) || !may_serve(cl, users_out))
				continue;
			size_t before = unsent(cl);
			if (client_serve(s, cl))
				more = true;
			if (!cl->peer.root)
				users_out += unsent(cl) - before;
		}
	return more;
}

/* Drops clients that made no progress for HNV_SERVER_IDLE_MS; returns the
 * milliseconds until the next one is due (-1: no client). */
static int reap_idle(struct hnv_server *s, long now)
{
	long next = -1;
	for (size_t i = 0; i < s->n; i++) {
		struct client *cl = s->clients[i];
		long due = cl->progress_ms + HNV_SERVER_IDLE_MS;
		if (cl->dead)
			continue;
		if (now >= due) {
			hnv_log_rl(&rl_drop, HNV_LOG_NOTICE,
				   "client uid %u pid %d dropped: no progress for %d s (%zu bytes "
				   "of replies unread)",
				   cl->peer.uid, cl->peer.pid, HNV_SERVER_IDLE_MS / 1000,
				   unsent(cl));
			cl->dead = true;
			continue;
		}
		if (next < 0 || due - now < next)
			next = due - now;
	}
	return next > INT_MAX ? INT_MAX : (int)next;
}

static void reap_dead(struct hnv_server *s)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->clients[i]->dead) {
			hnv_log(HNV_LOG_DEBUG, "client uid %u pid %d closed",
				s->clients[i]->peer.uid, s->clients[i]->peer.pid);
			client_free(s->clients[i]);
		} else {
			s->clients[k++] = s->clients[i];
		}
	}
	s->n = k;
}

int hnv_server_run(struct hnv_server *s, const sigset_t *waitmask, volatile sig_atomic_t *stop,
		   volatile sig_atomic_t *reload)
{
	struct pollfd fds[HNV_SERVER_MAX_CLIENTS + 1 + HNV_SERVER_MAX_SOURCES];
	bool backlog = false; /* some client has input waiting to be served */
	while (!*stop) {
		if (*reload) {
			*reload = 0;
			char err[1024];
			if (hnv_core_reload(s->core, err, sizeof(err)))
				hnv_log(HNV_LOG_ERR, "reload refused: %s", err);
		}
		hnv_core_tick(s->core);

		int tmo = backlog ? 0 : hnv_core_timeout_ms(s->core);
		int idle = reap_idle(s, hnv_mono_ms());
		reap_dead(s);
		if (idle >= 0 && (tmo < 0 || idle < tmo))
			tmo = idle;
		fds[0] = (struct pollfd){.fd = s->fd, .events = POLLIN};
		size_t nfds = 1, users_out = users_unsent(s);
		for (size_t i = 0; i < s->n; i++) {
			struct client *cl = s->clients[i];
			short ev = 0;
			/* a client over its reply bound is not read from: its
			 * requests wait in the kernel */
			if (!cl->eof && may_serve(cl, users_out))
				ev |= POLLIN;
			if (unsent(cl))
				ev |= POLLOUT;
			cl->pfd = -1;
			if (!ev || cl->dead)
				continue;
			cl->pfd = (int)nfds;
			fds[nfds++] = (struct pollfd){.fd = cl->fd, .events = ev};
		}
		size_t nsrc = nfds;
		for (size_t i = 0; i < s->n_src; i++) {
			short ev = 0;
			int fd = s->src[i].fd(s->src[i].arg, &ev);
			fds[nsrc + i] = (struct pollfd){.fd = fd, .events = ev};
			/* deadlines are absolute: other events waking the loop
			 * must not push a source's timer back */
			int t = s->src[i].timeout_ms(s->src[i].arg);
			long now = hnv_mono_ms(), due = s->src_due[i];
			if (t < 0)
				due = -1;
			else if (due < 0 || now + t < due)
				due = now + t;
			s->src_due[i] = due;
			if (due >= 0) {
				int left = due > now ? (int)(due - now) : 0;
				if (tmo < 0 || left < tmo)
					tmo = left;
			}
		}
		struct timespec ts = {tmo / 1000, (long)(tmo % 1000) * 1000000}, *tsp = &ts;
		if (tmo < 0)
			tsp = NULL;
		urcu_qsbr_thread_offline();
		int n = ppoll(fds, nsrc + s->n_src, tsp, waitmask);
		urcu_qsbr_thread_online();
		if (n < 0) {
			if (errno == EINTR)
				continue;
			hnv_log(HNV_LOG_ERR, "poll: %s", strerror(errno));
			return -errno;
		}
		long now = hnv_mono_ms();
		for (size_t i = 0; i < s->n_src; i++) {
			short re = fds[nsrc + i].fd >= 0 ? fds[nsrc + i].revents : 0;
			bool due = s->src_due[i] >= 0 && now >= s->src_due[i];
			if (re || due) {
				if (due)
					s->src_due[i] = -1;
				s->src[i].run(s->src[i].arg, re);
			}
		}

		if (fds[0].revents & POLLIN)
			server_accept(s);
		for (size_t i = 0; i < s->n; i++) {
			struct client *cl = s->clients[i];
			short re = cl->pfd >= 0 ? fds[cl->pfd].revents : 0;
			if (re & (POLLIN | POLLHUP | POLLERR))
				client_read(cl);
		}
		backlog = serve_turn(s);
		for (size_t i = 0; i < s->n; i++) {
			struct client *cl = s->clients[i];
			if (!cl->dead && cl->eof && !cl->closing && cl->in_len == 0)
				cl->closing = true;
			if (!cl->dead)
				client_flush(cl);
		}
		reap_dead(s);
	}
	return 0;
}
