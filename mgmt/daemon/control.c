/* control.c: hnvgwd's control socket: clients, authorization, the event
 * loop and its sources (see control.h). */
#include "control.h"

#include "../../lib/clock.h"
#include "../../lib/err.h"
#include "../../lib/log.h"

#include <errno.h>
#include <grp.h>
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
#define LINES_PER_TURN 8 /* requests served per client per loop turn */

struct client {
	int fd;
	struct hnv_peer peer;
	bool allowed; /* root or a member of group hnvgw */
	char *in;
	size_t in_len, in_cap, scanned; /* scanned: bytes known to hold no '\n' */
	char *out;
	size_t out_off, out_len, out_cap;
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

static void client_free(struct client *cl)
{
	close(cl->fd);
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

/* Appends one reply line. Drops the client when its unsent replies would
 * exceed HNV_SERVER_OUT_MAX: a client that does not read never holds up
 * the others or grows the daemon. */
static void client_reply(struct client *cl, json_object *reply)
{
	const char *s = json_object_to_json_string_ext(
		reply, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(s);
	json_object *big = NULL;
	if (n > HNV_API_MAX_LINE) {
		char msg[160];
		snprintf(msg, sizeof(msg),
			 "reply of %zu bytes exceeds the protocol limit of %d bytes per line", n,
			 HNV_API_MAX_LINE);
		big = hnv_reply_error(msg);
		s = json_object_to_json_string_ext(big, JSON_C_TO_STRING_PLAIN);
		n = strlen(s);
	}
	size_t pending = cl->out_len - cl->out_off;
	if (pending + n + 1 > HNV_SERVER_OUT_MAX) {
		hnv_log_rl(&rl_drop, HNV_LOG_WARNING,
			   "client uid %u pid %d dropped: %zu bytes of replies unread",
			   cl->peer.uid, cl->peer.pid, pending);
		cl->dead = true;
		json_object_put(big);
		return;
	}
	if (cl->out_off && cl->out_len + n + 1 > cl->out_cap) {
		memmove(cl->out, cl->out + cl->out_off, pending);
		explicit_bzero(cl->out + pending, cl->out_len - pending);
		cl->out_len = pending;
		cl->out_off = 0;
	}
	if (cl->out_len + n + 1 > cl->out_cap) {
		size_t cap = cl->out_cap ? cl->out_cap : 4096;
		while (cap < cl->out_len + n + 1)
			cap *= 2;
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
	}
	cl->out_off = cl->out_len = 0;
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

static void serve_line(struct hnv_server *s, struct client *cl, const char *line, size_t len)
{
	struct hnv_request req;
	char err[512];
	json_object *reply;
	if (!cl->allowed) {
		/* answered, not hung up on: the client reads why */
		snprintf(err, sizeof(err),
			 "permission denied: uid %u is neither root nor a member of group %s",
			 cl->peer.uid, HNV_GROUP);
		hnv_log_rl(&rl_accept, HNV_LOG_NOTICE, "client pid %d: %s", cl->peer.pid, err);
		refuse(cl, err);
		return;
	}
	if (hnv_request_parse(line, len, &req, err, sizeof(err))) {
		hnv_log_rl(&rl_badreq, HNV_LOG_NOTICE, "bad request from uid %u pid %d: %s",
			   cl->peer.uid, cl->peer.pid, err);
		reply = hnv_reply_error(err);
	} else {
		reply = hnv_core_handle(s->core, &req, &cl->peer);
		hnv_request_clear(&req);
	}
	client_reply(cl, reply);
	json_object_put(reply);
}

/* Serves up to LINES_PER_TURN complete lines; true if more are waiting. */
static bool client_serve(struct hnv_server *s, struct client *cl)
{
	unsigned served = 0;
	while (!cl->closing && !cl->dead) {
		char *nl = cl->in_len > cl->scanned
				   ? memchr(cl->in + cl->scanned, '\n', cl->in_len - cl->scanned)
				   : NULL;
		if (!nl) {
			cl->scanned = cl->in_len;
			if (cl->in_len > HNV_API_MAX_LINE) {
				char msg[96];
				snprintf(msg, sizeof(msg), "request longer than %d bytes",
					 HNV_API_MAX_LINE);
				hnv_log_rl(&rl_badreq, HNV_LOG_NOTICE,
					   "uid %u pid %d: %s; connection closed", cl->peer.uid,
					   cl->peer.pid, msg);
				refuse(cl, msg);
			} else if (cl->eof && cl->in_len) {
				/* a last request without its newline */
				serve_line(s, cl, cl->in, cl->in_len);
				explicit_bzero(cl->in, cl->in_len);
				cl->in_len = cl->scanned = 0;
			}
			return false;
		}
		if (served == LINES_PER_TURN)
			return true;
		size_t len = (size_t)(nl - cl->in);
		if (len > HNV_API_MAX_LINE) {
			char msg[96];
			snprintf(msg, sizeof(msg), "request longer than %d bytes",
				 HNV_API_MAX_LINE);
			refuse(cl, msg);
			return false;
		}
		serve_line(s, cl, cl->in, len);
		served++;
		size_t rest = cl->in_len - len - 1;
		memmove(cl->in, nl + 1, rest);
		explicit_bzero(cl->in + rest, len + 1);
		cl->in_len = rest;
		cl->scanned = 0;
	}
	return false;
}

static void client_read(struct client *cl)
{
	for (;;) {
		if (cl->in_len == cl->in_cap) {
			if (cl->in_cap > HNV_API_MAX_LINE)
				return; /* full: client_serve refuses it */
			size_t cap = cl->in_cap ? 2 * cl->in_cap : IN_INITIAL;
			if (cap > HNV_API_MAX_LINE + 1)
				cap = HNV_API_MAX_LINE + 1;
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

static void server_accept(struct hnv_server *s)
{
	for (;;) {
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
		if (s->n == HNV_SERVER_MAX_CLIENTS) {
			static const char busy[] =
				"{\"v\":1,\"ok\":false,\"error\":\"too many clients\"}\n";
			(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			hnv_log_rl(&rl_accept, HNV_LOG_WARNING,
				   "client uid %u pid %d refused: %d clients already",
				   (unsigned)uc.uid, (int)uc.pid, HNV_SERVER_MAX_CLIENTS);
			continue;
		}
		struct client *cl = calloc(1, sizeof(*cl));
		if (!cl) {
			close(fd);
			continue;
		}
		cl->fd = fd;
		cl->peer.uid = uc.uid;
		cl->peer.pid = uc.pid;
		cl->peer.root = uc.uid == 0;
		s->clients[s->n++] = cl;
		struct group *gr = cl->peer.root ? NULL : getgrnam(HNV_GROUP);
		cl->allowed = cl->peer.root ||
			      (gr && (uc.gid == gr->gr_gid || uid_in_group(uc.uid, gr->gr_gid)));
		hnv_log(HNV_LOG_DEBUG, "client uid %u pid %d connected%s", (unsigned)uc.uid,
			(int)uc.pid, cl->allowed ? "" : " (not authorized)");
	}
}

int hnv_server_run(struct hnv_server *s, const sigset_t *waitmask, volatile sig_atomic_t *stop,
		   volatile sig_atomic_t *reload)
{
	struct pollfd fds[HNV_SERVER_MAX_CLIENTS + 1 + HNV_SERVER_MAX_SOURCES];
	bool backlog = false; /* some client has complete requests waiting */
	while (!*stop) {
		if (*reload) {
			*reload = 0;
			char err[1024];
			if (hnv_core_reload(s->core, err, sizeof(err)))
				hnv_log(HNV_LOG_ERR, "reload refused: %s", err);
		}
		hnv_core_tick(s->core);

		fds[0] = (struct pollfd){.fd = s->fd, .events = POLLIN};
		for (size_t i = 0; i < s->n; i++) {
			struct client *cl = s->clients[i];
			short ev = 0;
			if (!cl->closing && !cl->eof)
				ev |= POLLIN;
			if (cl->out_off < cl->out_len)
				ev |= POLLOUT;
			fds[i + 1] = (struct pollfd){.fd = cl->fd, .events = ev};
		}
		int tmo = backlog ? 0 : hnv_core_timeout_ms(s->core);
		size_t nfds = s->n + 1;
		for (size_t i = 0; i < s->n_src; i++) {
			short ev = 0;
			int fd = s->src[i].fd(s->src[i].arg, &ev);
			fds[nfds + i] = (struct pollfd){.fd = fd, .events = ev};
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
		int n = ppoll(fds, nfds + s->n_src, tsp, waitmask);
		urcu_qsbr_thread_online();
		if (n < 0) {
			if (errno == EINTR)
				continue;
			hnv_log(HNV_LOG_ERR, "poll: %s", strerror(errno));
			return -errno;
		}
		long now = hnv_mono_ms();
		for (size_t i = 0; i < s->n_src; i++) {
			short re = fds[nfds + i].fd >= 0 ? fds[nfds + i].revents : 0;
			bool due = s->src_due[i] >= 0 && now >= s->src_due[i];
			if (re || due) {
				if (due)
					s->src_due[i] = -1;
				s->src[i].run(s->src[i].arg, re);
			}
		}

		/* clients first: fds[] indexes match s->clients[] until accept */
		backlog = false;
		for (size_t i = 0; i + 1 < nfds; i++) {
			struct client *cl = s->clients[i];
			short re = fds[i + 1].revents;
			if (re & (POLLIN | POLLHUP | POLLERR))
				client_read(cl);
			if (!cl->dead && client_serve(s, cl))
				backlog = true;
			if (!cl->dead && cl->eof && !cl->closing && cl->in_len == 0)
				cl->closing = true;
			if (!cl->dead)
				client_flush(cl);
		}
		if (fds[0].revents & POLLIN)
			server_accept(s);
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
	return 0;
}
