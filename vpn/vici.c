/* vici.c: VICI framing, builder, decoder and connections (see vici.h). */
#include "vici.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "../lib/vec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- builder ---- */

static bool op_named(unsigned op)
{
	return op == HNV_VICI_CMD_REQUEST || op == HNV_VICI_EVENT_REGISTER ||
	       op == HNV_VICI_EVENT_UNREGISTER || op == HNV_VICI_EVENT;
}

static bool op_has_msg(unsigned op)
{
	return op == HNV_VICI_CMD_REQUEST || op == HNV_VICI_CMD_RESPONSE || op == HNV_VICI_EVENT;
}

/* Makes room for n more bytes; grows by doubling, never beyond the
 * maximum packet plus its length prefix. Old buffers are cleared before
 * they are freed: a packet may hold a PSK. */
static bool reserve(struct hnv_vici_buf *b, size_t n)
{
	if (b->err)
		return false;
	if (n > 4 + HNV_VICI_MSG_MAX - b->len) {
		b->err = -EMSGSIZE;
		return false;
	}
	if (b->len + n <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	uint8_t *d = malloc(cap);
	if (!d) {
		b->err = -ENOMEM;
		return false;
	}
	if (b->data) {
		memcpy(d, b->data, b->len);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = d;
	b->cap = cap;
	return true;
}

static void put_u8(struct hnv_vici_buf *b, uint8_t v)
{
	if (reserve(b, 1))
		b->data[b->len++] = v;
}

static void put_name(struct hnv_vici_buf *b, const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (!b->err && n > 255)
		b->err = -EINVAL;
	if (!reserve(b, 1 + n))
		return;
	b->data[b->len++] = (uint8_t)n;
	if (n)
		memcpy(b->data + b->len, name, n);
	b->len += n;
}

static void put_value(struct hnv_vici_buf *b, const void *val, size_t n)
{
	if (!b->err && n > 65535)
		b->err = -EINVAL;
	if (!reserve(b, 2 + n))
		return;
	b->data[b->len++] = (uint8_t)(n >> 8);
	b->data[b->len++] = (uint8_t)n;
	if (n)
		memcpy(b->data + b->len, val, n);
	b->len += n;
}

/* An element may go here: the packet has a message and the list state is
 * the one the element needs. */
static bool elem_ok(struct hnv_vici_buf *b, bool want_list)
{
	if (b->err)
		return false;
	if (!b->has_msg || b->in_list != want_list) {
		b->err = -EINVAL;
		return false;
	}
	return true;
}

void hnv_vici_buf_init(struct hnv_vici_buf *b, enum hnv_vici_op op, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->has_msg = op_has_msg(op);
	if ((unsigned)op > HNV_VICI_EVENT || op_named(op) != (name != NULL) || (name && !name[0])) {
		b->err = -EINVAL;
		return;
	}
	if (!reserve(b, 5))
		return;
	memset(b->data, 0, 4);
	b->len = 4;
	put_u8(b, (uint8_t)op);
	if (name)
		put_name(b, name);
}

void hnv_vici_buf_free(struct hnv_vici_buf *b)
{
	if (b->data) {
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	memset(b, 0, sizeof(*b));
}

void hnv_vici_section_start(struct hnv_vici_buf *b, const char *name)
{
	if (!elem_ok(b, false))
		return;
	if (b->depth >= HNV_VICI_DEPTH_MAX) {
		b->err = -EINVAL;
		return;
	}
	put_u8(b, HNV_VICI_SECTION_START);
	put_name(b, name);
	b->depth++;
}

void hnv_vici_section_end(struct hnv_vici_buf *b)
{
	if (!elem_ok(b, false))
		return;
	if (b->depth == 0) {
		b->err = -EINVAL;
		return;
	}
	put_u8(b, HNV_VICI_SECTION_END);
	b->depth--;
}

void hnv_vici_kv(struct hnv_vici_buf *b, const char *key, const void *val, size_t len)
{
	if (!elem_ok(b, false))
		return;
	put_u8(b, HNV_VICI_KEY_VALUE);
	put_name(b, key);
	put_value(b, val, len);
}

void hnv_vici_kv_str(struct hnv_vici_buf *b, const char *key, const char *val)
{
	hnv_vici_kv(b, key, val, strlen(val));
}

void hnv_vici_kv_fmt(struct hnv_vici_buf *b, const char *key, const char *fmt, ...)
{
	char v[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(v)) {
		if (!b->err)
			b->err = -EINVAL;
		return;
	}
	hnv_vici_kv(b, key, v, (size_t)n);
}

void hnv_vici_list_start(struct hnv_vici_buf *b, const char *name)
{
	if (!elem_ok(b, false))
		return;
	put_u8(b, HNV_VICI_LIST_START);
	put_name(b, name);
	b->in_list = true;
}

void hnv_vici_list_item(struct hnv_vici_buf *b, const void *val, size_t len)
{
	if (!elem_ok(b, true))
		return;
	put_u8(b, HNV_VICI_LIST_ITEM);
	put_value(b, val, len);
}

void hnv_vici_list_item_str(struct hnv_vici_buf *b, const char *val)
{
	hnv_vici_list_item(b, val, strlen(val));
}

void hnv_vici_list_end(struct hnv_vici_buf *b)
{
	if (!elem_ok(b, true))
		return;
	put_u8(b, HNV_VICI_LIST_END);
	b->in_list = false;
}

int hnv_vici_buf_finish(struct hnv_vici_buf *b)
{
	if (b->err)
		return b->err;
	if (b->depth || b->in_list)
		return b->err = -EINVAL;
	uint32_t n = (uint32_t)(b->len - 4);
	b->data[0] = (uint8_t)(n >> 24);
	b->data[1] = (uint8_t)(n >> 16);
	b->data[2] = (uint8_t)(n >> 8);
	b->data[3] = (uint8_t)n;
	return 0;
}

/* ---- framing ---- */

int hnv_vici_frame(const uint8_t *buf, size_t len, size_t *pkt_len)
{
	if (len < 4)
		return 0;
	uint32_t n =
		(uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	if (n > HNV_VICI_MSG_MAX)
		return -EMSGSIZE;
	if (len - 4 < n)
		return 0;
	*pkt_len = n;
	return 1;
}

/* ---- decoder ---- */

struct hnv_vici_msg {
	enum hnv_vici_op op;
	char name[256];
	struct hnv_vici_node *nodes; /* nodes[0] is the root */
	size_t n_nodes;
	char *pool;
	size_t pool_len;
};

struct cursor {
	const uint8_t *p;
	size_t left;
};

static int pull(struct cursor *c, size_t n, const uint8_t **out)
{
	if (n > c->left)
		return -EMSGSIZE;
	*out = c->p;
	c->p += n;
	c->left -= n;
	return 0;
}

/* name8: u8 length + bytes without NUL (we hand names out as C strings). */
static int pull_name(struct cursor *c, const uint8_t **s, size_t *n)
{
	const uint8_t *l;
	int rc = pull(c, 1, &l);
	if (rc)
		return rc;
	*n = l[0];
	if ((rc = pull(c, *n, s)))
		return rc;
	return memchr(*s, 0, *n) ? -EINVAL : 0;
}

static int pull_value(struct cursor *c, const uint8_t **s, size_t *n)
{
	const uint8_t *l;
	int rc = pull(c, 2, &l);
	if (rc)
		return rc;
	*n = (size_t)l[0] << 8 | l[1];
	return pull(c, *n, s);
}

/* Pass 1: validates the element stream and counts nodes and string bytes.
 * Pass 2 (fill) then runs over data known to be good. */
static int validate(struct cursor c, size_t *n_nodes, size_t *pool)
{
	unsigned depth = 0;
	bool in_list = false;
	*n_nodes = 1;
	*pool = 1; /* the shared "" */
	while (c.left) {
		const uint8_t *t, *s, *v;
		size_t n, vn;
		int rc = pull(&c, 1, &t);
		if (rc)
			return rc;
		switch (t[0]) {
		case HNV_VICI_SECTION_START:
			if (in_list || depth >= HNV_VICI_DEPTH_MAX)
				return -EINVAL;
			if ((rc = pull_name(&c, &s, &n)))
				return rc;
			depth++;
			*pool += n + 1;
			break;
		case HNV_VICI_SECTION_END:
			if (in_list || depth == 0)
				return -EINVAL;
			depth--;
			continue;
		case HNV_VICI_KEY_VALUE:
			if (in_list)
				return -EINVAL;
			if ((rc = pull_name(&c, &s, &n)) || (rc = pull_value(&c, &v, &vn)))
				return rc;
			*pool += n + 1 + vn + 1;
			break;
		case HNV_VICI_LIST_START:
			if (in_list)
				return -EINVAL;
			if ((rc = pull_name(&c, &s, &n)))
				return rc;
			in_list = true;
			*pool += n + 1;
			break;
		case HNV_VICI_LIST_ITEM:
			if (!in_list)
				return -EINVAL;
			if ((rc = pull_value(&c, &v, &vn)))
				return rc;
			*pool += vn + 1;
			break;
		case HNV_VICI_LIST_END:
			if (!in_list)
				return -EINVAL;
			in_list = false;
			continue;
		default:
			return -EINVAL;
		}
		(*n_nodes)++;
	}
	return depth || in_list ? -EINVAL : 0;
}

static const char *pool_put(struct hnv_vici_msg *m, size_t *used, const uint8_t *s, size_t n)
{
	char *d = m->pool + *used;
	memcpy(d, s, n);
	d[n] = 0;
	*used += n + 1;
	return d;
}

static void fill(struct hnv_vici_msg *m, struct cursor c)
{
	struct hnv_vici_node *stack[HNV_VICI_DEPTH_MAX + 2]; /* open containers */
	struct hnv_vici_node *last[HNV_VICI_DEPTH_MAX + 2];  /* their last child */
	unsigned top = 0;
	size_t used = 1, k = 1;
	m->pool[0] = 0;
	stack[0] = &m->nodes[0];
	last[0] = NULL;
	m->nodes[0] = (struct hnv_vici_node){.kind = HNV_VICI_N_SECTION, .name = m->pool};
	while (c.left) {
		const uint8_t *t, *s = NULL, *v = NULL;
		size_t n = 0, vn = 0;
		pull(&c, 1, &t);
		if (t[0] == HNV_VICI_SECTION_END || t[0] == HNV_VICI_LIST_END) {
			top--;
			continue;
		}
		struct hnv_vici_node *nd = &m->nodes[k++];
		*nd = (struct hnv_vici_node){.name = m->pool};
		switch (t[0]) {
		case HNV_VICI_SECTION_START:
			nd->kind = HNV_VICI_N_SECTION;
			pull_name(&c, &s, &n);
			nd->name = pool_put(m, &used, s, n);
			break;
		case HNV_VICI_KEY_VALUE:
			nd->kind = HNV_VICI_N_KV;
			pull_name(&c, &s, &n);
			pull_value(&c, &v, &vn);
			nd->name = pool_put(m, &used, s, n);
			nd->value = pool_put(m, &used, v, vn);
			nd->vlen = vn;
			break;
		case HNV_VICI_LIST_START:
			nd->kind = HNV_VICI_N_LIST;
			pull_name(&c, &s, &n);
			nd->name = pool_put(m, &used, s, n);
			break;
		default: /* LIST_ITEM */
			nd->kind = HNV_VICI_N_ITEM;
			pull_value(&c, &v, &vn);
			nd->value = pool_put(m, &used, v, vn);
			nd->vlen = vn;
			break;
		}
		if (last[top])
			last[top]->next = nd;
		else
			stack[top]->child = nd;
		last[top] = nd;
		if (nd->kind == HNV_VICI_N_SECTION || nd->kind == HNV_VICI_N_LIST) {
			top++;
			stack[top] = nd;
			last[top] = NULL;
		}
	}
}

int hnv_vici_decode(const uint8_t *pkt, size_t len, struct hnv_vici_msg **out)
{
	*out = NULL;
	if (len > HNV_VICI_MSG_MAX)
		return -EMSGSIZE;
	struct cursor c = {pkt, len};
	const uint8_t *t, *s = NULL;
	size_t n = 0;
	int rc = pull(&c, 1, &t);
	if (rc)
		return rc;
	if (t[0] > HNV_VICI_EVENT)
		return -EINVAL;
	if (op_named(t[0])) {
		if ((rc = pull_name(&c, &s, &n)))
			return rc;
		if (n == 0)
			return -EINVAL;
	}
	if (!op_has_msg(t[0]) && c.left)
		return -EINVAL;
	size_t n_nodes, pool;
	if ((rc = validate(c, &n_nodes, &pool)))
		return rc;
	struct hnv_vici_msg *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->nodes = calloc(n_nodes, sizeof(*m->nodes));
	m->pool = malloc(pool);
	if (!m->nodes || !m->pool) {
		free(m->nodes);
		free(m->pool);
		free(m);
		return -ENOMEM;
	}
	m->op = t[0];
	m->n_nodes = n_nodes;
	m->pool_len = pool;
	if (n)
		memcpy(m->name, s, n);
	m->name[n] = 0;
	fill(m, c);
	*out = m;
	return 0;
}

void hnv_vici_msg_free(struct hnv_vici_msg *m)
{
	if (!m)
		return;
	explicit_bzero(m->pool, m->pool_len);
	free(m->pool);
	free(m->nodes);
	free(m);
}

enum hnv_vici_op hnv_vici_msg_op(const struct hnv_vici_msg *m)
{
	return m->op;
}

const char *hnv_vici_msg_name(const struct hnv_vici_msg *m)
{
	return m->name;
}

const struct hnv_vici_node *hnv_vici_msg_root(const struct hnv_vici_msg *m)
{
	return &m->nodes[0];
}

const struct hnv_vici_node *hnv_vici_find(const struct hnv_vici_node *s, const char *name,
					  enum hnv_vici_kind kind)
{
	if (!s || s->kind != HNV_VICI_N_SECTION)
		return NULL;
	for (const struct hnv_vici_node *n = s->child; n; n = n->next)
		if (n->kind == kind && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

const char *hnv_vici_str(const struct hnv_vici_node *s, const char *key)
{
	const struct hnv_vici_node *n = hnv_vici_find(s, key, HNV_VICI_N_KV);
	return n ? n->value : NULL;
}

bool hnv_vici_yes(const struct hnv_vici_node *s, const char *key)
{
	const char *v = hnv_vici_str(s, key);
	return v && strcmp(v, "yes") == 0;
}

int hnv_vici_u64(const struct hnv_vici_node *s, const char *key, uint64_t *out)
{
	const struct hnv_vici_node *n = hnv_vici_find(s, key, HNV_VICI_N_KV);
	if (!n)
		return -ENOENT;
	if (n->vlen == 0 || n->vlen > 20)
		return -EINVAL;
	uint64_t v = 0;
	for (size_t i = 0; i < n->vlen; i++) {
		unsigned d = (unsigned char)n->value[i] - '0';
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* ---- connections ---- */

struct hnv_vici_conn {
	int fd;
	int timeout_ms;
	hnv_vici_event_fn fn; /* event connection: the registered events */
	void *arg;
	char **events; /* event connection: the names charon confirmed */
	size_t n_events;
	bool eof;
	bool broken; /* out of step (timeout, partial send, bad packet) */
	uint8_t *rbuf;
	size_t rlen, rcap;
};

static int wait_fd(int fd, short ev, long long deadline)
{
	for (;;) {
		long long left = deadline - hnv_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = ev};
		int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int sock_open(const char *path, int timeout_ms, struct hnv_vici_conn **out)
{
	*out = NULL;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A unix stream connect completes at once or fails (the backlog is
	 * full: EAGAIN), it does not go through EINPROGRESS. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	struct hnv_vici_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
	*out = c;
	return 0;
}

int hnv_vici_connect(const char *path, int timeout_ms, struct hnv_vici_conn **out)
{
	return sock_open(path, timeout_ms, out);
}

static int event_reg(struct hnv_vici_conn *c, enum hnv_vici_op op, const char *name,
		     long long deadline);

/* How long closing an event connection waits for charon's confirmations
 * of the unregistrations, in all. */
#define UNREGISTER_MS 2000

void hnv_vici_close(struct hnv_vici_conn *c)
{
	if (!c)
		return;
	/* Unregister before closing. charon 5.9.8 drops a closed client from
	 * its event lists only later, in an asynchronous job that waits for
	 * every event being raised; until then each event for that client
	 * makes it log "vici connection N unknown" at level 1, and a "log"
	 * event is raised for every such line: a dead "log" subscriber feeds
	 * itself (vici_socket.c send_, vici_dispatcher.c disconnect,
	 * vici_logger.c). The last registered (the chattiest) goes first. */
	long long deadline =
		hnv_mono_ms() + (c->timeout_ms < UNREGISTER_MS ? c->timeout_ms : UNREGISTER_MS);
	for (size_t i = c->n_events; i-- > 0 && !c->broken && !c->eof;)
		if (event_reg(c, HNV_VICI_EVENT_UNREGISTER, c->events[i], deadline))
			break;
	for (size_t i = 0; i < c->n_events; i++)
		free(c->events[i]);
	free(c->events);
	close(c->fd);
	if (c->rbuf) {
		explicit_bzero(c->rbuf, c->rcap);
		free(c->rbuf);
	}
	free(c);
}

void hnv_vici_set_timeout(struct hnv_vici_conn *c, int timeout_ms)
{
	if (c && timeout_ms > 0)
		c->timeout_ms = timeout_ms;
}

int hnv_vici_fd(const struct hnv_vici_conn *c)
{
	return c->fd;
}

static int send_all(struct hnv_vici_conn *c, const uint8_t *p, size_t n, long long deadline)
{
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			int rc = wait_fd(c->fd, POLLOUT, deadline);
			if (rc)
				return rc;
			continue;
		}
		return w < 0 && errno != EPIPE && errno != ECONNRESET ? -errno : -EPIPE;
	}
	return 0;
}

static int send_buf(struct hnv_vici_conn *c, const struct hnv_vici_buf *b, long long deadline)
{
	if (b->err)
		return b->err;
	if (b->len < 5 || b->depth || b->in_list)
		return -EINVAL;
	int rc = send_all(c, b->data, b->len, deadline);
	if (rc)
		c->broken = true; /* a packet may be half sent */
	return rc;
}

/* Reads what the socket has (one read): the number of bytes read (0 when
 * nothing was available), -EPIPE at EOF or on an error, -ENOMEM. */
static int read_some(struct hnv_vici_conn *c)
{
	/* room for 64 KiB more, or for the largest packet and 64 KiB */
	size_t need = c->rlen + 65536;
	if (need > 4 + HNV_VICI_MSG_MAX + 65536)
		need = 4 + HNV_VICI_MSG_MAX + 65536;
	if (HNV_GROW(c->rbuf, c->rcap, need))
		return -ENOMEM;
	ssize_t r = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
	if (r == 0) {
		c->eof = true;
		return -EPIPE;
	}
	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -EPIPE;
	c->rlen += (size_t)r;
	return (int)r;
}

/* Takes one complete packet off the read buffer and decodes it: 1 with
 * *m, 0 when none is complete, -EPROTO for a bad one. */
static int take_packet(struct hnv_vici_conn *c, struct hnv_vici_msg **m)
{
	size_t n;
	int rc = hnv_vici_frame(c->rbuf, c->rlen, &n);
	if (rc <= 0)
		return rc ? -EPROTO : 0;
	rc = hnv_vici_decode(c->rbuf + 4, n, m);
	memmove(c->rbuf, c->rbuf + 4 + n, c->rlen - 4 - n);
	c->rlen -= 4 + n;
	if (rc == -ENOMEM)
		return rc;
	return rc ? -EPROTO : 1;
}

/* Waits for the next packet that is not an EVENT. Events on the way go to
 * fn when their name is stream (a command connection's streamed event), or
 * to the connection's own callback (event connection). Each streamed event
 * is progress: the deadline moves to at least the connection's timeout
 * from then (list-sas streams one event per IKE SA, which with a thousand
 * SAs on a busy charon takes longer than one timeout in all). */
static int await_(struct hnv_vici_conn *c, const char *stream, hnv_vici_event_fn fn, void *arg,
		  long long deadline, struct hnv_vici_msg **out)
{
	for (;;) {
		struct hnv_vici_msg *m;
		int rc = take_packet(c, &m);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			if (c->eof)
				return -EPIPE;
			if ((rc = wait_fd(c->fd, POLLIN, deadline)))
				return rc;
			if ((rc = read_some(c)) < 0 && rc != -EPIPE)
				return rc;
			continue;
		}
		if (m->op != HNV_VICI_EVENT) {
			*out = m;
			return 0;
		}
		if (stream && fn && strcmp(m->name, stream) == 0) {
			fn(arg, m->name, m);
			long long later = hnv_mono_ms() + c->timeout_ms;
			if (later > deadline)
				deadline = later;
		} else if (c->fn)
			c->fn(c->arg, m->name, m);
		hnv_vici_msg_free(m);
	}
}

/* await_, and an error leaves the connection out of step. */
static int await(struct hnv_vici_conn *c, const char *stream, hnv_vici_event_fn fn, void *arg,
		 long long deadline, struct hnv_vici_msg **out)
{
	int rc = await_(c, stream, fn, arg, deadline, out);
	if (rc)
		c->broken = true;
	return rc;
}

static int event_reg(struct hnv_vici_conn *c, enum hnv_vici_op op, const char *name,
		     long long deadline)
{
	struct hnv_vici_buf b;
	hnv_vici_buf_init(&b, op, name);
	int rc = hnv_vici_buf_finish(&b);
	if (!rc)
		rc = send_buf(c, &b, deadline);
	hnv_vici_buf_free(&b);
	if (rc)
		return rc;
	struct hnv_vici_msg *m;
	if ((rc = await(c, NULL, NULL, NULL, deadline, &m)))
		return rc;
	rc = m->op == HNV_VICI_EVENT_CONFIRM   ? 0
	     : m->op == HNV_VICI_EVENT_UNKNOWN ? -ENOENT
					       : -EPROTO;
	hnv_vici_msg_free(m);
	return rc;
}

static int cmd_run(struct hnv_vici_conn *c, const struct hnv_vici_buf *req, const char *stream,
		   hnv_vici_event_fn fn, void *arg, struct hnv_vici_msg **resp)
{
	*resp = NULL;
	long long deadline = hnv_mono_ms() + c->timeout_ms;
	int rc = send_buf(c, req, deadline);
	if (rc)
		return rc;
	struct hnv_vici_msg *m;
	if ((rc = await(c, stream, fn, arg, deadline, &m)))
		return rc;
	if (m->op == HNV_VICI_CMD_RESPONSE) {
		*resp = m;
		return 0;
	}
	rc = m->op == HNV_VICI_CMD_UNKNOWN ? -ENOENT : -EPROTO;
	hnv_vici_msg_free(m);
	return rc;
}

int hnv_vici_cmd(struct hnv_vici_conn *c, const struct hnv_vici_buf *req,
		 struct hnv_vici_msg **resp)
{
	return cmd_run(c, req, NULL, NULL, NULL, resp);
}

int hnv_vici_cmd_stream(struct hnv_vici_conn *c, const struct hnv_vici_buf *req, const char *event,
			hnv_vici_event_fn fn, void *arg, struct hnv_vici_msg **resp)
{
	*resp = NULL;
	int rc = event_reg(c, HNV_VICI_EVENT_REGISTER, event, hnv_mono_ms() + c->timeout_ms);
	if (rc)
		return rc;
	rc = cmd_run(c, req, event, fn, arg, resp);
	if (rc)
		return rc;
	rc = event_reg(c, HNV_VICI_EVENT_UNREGISTER, event, hnv_mono_ms() + c->timeout_ms);
	if (rc) {
		hnv_vici_msg_free(*resp);
		*resp = NULL;
	}
	return rc;
}

int hnv_vici_cmd_ok(struct hnv_vici_conn *c, const struct hnv_vici_buf *req, char *err,
		    size_t errlen)
{
	struct hnv_vici_msg *m;
	if (errlen)
		err[0] = 0;
	int rc = hnv_vici_cmd(c, req, &m);
	if (rc)
		return rc;
	const struct hnv_vici_node *r = hnv_vici_msg_root(m);
	if (!hnv_vici_yes(r, "success")) {
		const char *e = hnv_vici_str(r, "errmsg");
		hnv_seterr(err, errlen, "%s", e ? e : "failed without a message");
		rc = -EIO;
	}
	hnv_vici_msg_free(m);
	return rc;
}

int hnv_vici_events_open(const char *path, const char *const *names, size_t n, hnv_vici_event_fn fn,
			 void *arg, int timeout_ms, struct hnv_vici_conn **out)
{
	struct hnv_vici_conn *c;
	int rc = sock_open(path, timeout_ms, &c);
	if (rc)
		return rc;
	c->fn = fn;
	c->arg = arg;
	if (n && !(c->events = calloc(n, sizeof(*c->events))))
		rc = -ENOMEM;
	for (size_t i = 0; i < n && !rc; i++) {
		char *name = strdup(names[i]);
		rc = name ? event_reg(c, HNV_VICI_EVENT_REGISTER, name,
				      hnv_mono_ms() + c->timeout_ms)
			  : -ENOMEM;
		if (!rc)
			c->events[c->n_events++] = name;
		else
			free(name);
	}
	if (rc) {
		hnv_vici_close(c); /* unregisters what charon confirmed */
		return rc;
	}
	*out = c;
	return 0;
}

int hnv_vici_events_dispatch(struct hnv_vici_conn *c)
{
	/* Bounded: a busy charon must not keep the control thread here. */
	for (int round = 0; round < 64; round++) {
		int rc = c->eof ? -EPIPE : read_some(c);
		if (rc < 0 && rc != -EPIPE) {
			c->broken = true;
			return rc;
		}
		for (;;) {
			struct hnv_vici_msg *m;
			int t = take_packet(c, &m);
			if (t < 0) {
				c->broken = true;
				return t;
			}
			if (t == 0)
				break;
			if (m->op == HNV_VICI_EVENT && c->fn)
				c->fn(c->arg, m->name, m);
			hnv_vici_msg_free(m);
		}
		if (c->eof)
			return -EPIPE;
		if (rc == 0)
			break; /* nothing more to read */
	}
	return 0;
}
