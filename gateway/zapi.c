/* zapi.c: FRR zebra API client (see zapi.h for the contract; the wire
 * format is zapi_codec.c). */
#include "zapi.h"

#include "../lib/addr.h"
#include "../lib/clock.h"
#include "../lib/log.h"
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

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 1000
#define REFUSED_RETRY_MS 30000
#define SYNC_FALLBACK_MS 10000
#define OUT_MAX (64u << 20) /* queued bytes before the session is dropped */
#define IN_CAP (2 * HNV_ZAPI_MAX_MSG)
#define MAX_REDIST 64

struct zroute {
	struct zroute *next;
	char vrf[HNV_ZAPI_VRF_NAMSIZ];
	struct hnv_prefix p;
	struct hnv_zapi_nh nh;
	uint8_t distance;
	uint32_t metric;
	enum hnv_zapi_route_state state;
};

struct zvrf {
	char name[HNV_ZAPI_VRF_NAMSIZ];
	uint32_t id, table;
	bool complete_sent; /* GR ROUTE_UPDATE_COMPLETE sent this session */
};

struct zif {
	struct hnv_zapi_if i;
	uint32_t vrf_id;
};

struct hnv_zapi {
	char *path, *dpkg_status, *frr_version;
	uint8_t route_type;
	uint32_t gr_stale;
	hnv_zapi_redist_cb redist_cb;
	hnv_zapi_log_cb log;
	void *arg;

	int fd;
	enum hnv_zapi_conn conn;
	const struct hnv_zapi_release *rel;
	char release[32];
	char refused_release[32]; /* last release logged as refused */
	int last_conn_err;        /* last connect errno logged */
	int dpkg_err;             /* last error reading dpkg_status logged */
	long next_try_ms;
	unsigned backoff_ms;
	long sync_deadline_ms; /* GR update-complete fallback; 0: none */

	uint8_t in[IN_CAP];
	size_t in_len;
	uint8_t *out;
	size_t out_len, out_cap;

	struct zroute **tab;
	size_t nb, nroutes;
	unsigned queued; /* routes in state SENT */

	struct zvrf *vrfs;
	size_t nvrfs, cap_vrfs;
	struct zif *ifs;
	size_t nifs, cap_ifs;
	struct {
		uint8_t afi, type;
	} redist[MAX_REDIST];
	size_t nredist;

	struct hnv_zapi_stats st;
	struct hnv_ratelimit rl_conn, rl_bad, rl_err, rl_route;
};

static void vzlog(struct hnv_zapi *z, int lvl, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (z->log)
		z->log(z->arg, lvl, msg);
	else
		hnv_log((enum hnv_log_level)lvl, "zapi: %s", msg);
}

__attribute__((format(printf, 3, 4))) static void zlog(struct hnv_zapi *z, int lvl, const char *fmt,
						       ...)
{
	va_list ap;
	va_start(ap, fmt);
	vzlog(z, lvl, fmt, ap);
	va_end(ap);
}

/* hnv_log_rl's policy, through z's sink. */
__attribute__((format(printf, 4, 5))) static void
zlog_rl(struct hnv_zapi *z, struct hnv_ratelimit *rl, int lvl, const char *fmt, ...)
{
	unsigned suppressed;
	bool pass = hnv_ratelimit_pass(rl, &suppressed);
	if (suppressed)
		zlog(z, lvl, "%u similar messages suppressed in the last %d s", suppressed,
		     HNV_LOG_WINDOW);
	if (!pass)
		return;
	va_list ap;
	va_start(ap, fmt);
	vzlog(z, lvl, fmt, ap);
	va_end(ap);
}

const char *hnv_zapi_route_state_name(enum hnv_zapi_route_state s)
{
	switch (s) {
	case HNV_ZAPI_RS_WAIT_VRF:
		return "wait-vrf";
	case HNV_ZAPI_RS_SENT:
		return "sent";
	case HNV_ZAPI_RS_INSTALLED:
		return "installed";
	case HNV_ZAPI_RS_FAILED:
		return "failed";
	case HNV_ZAPI_RS_BETTER_ADMIN_WON:
		return "better-admin-won";
	case HNV_ZAPI_RS_REMOVED:
		return "removed";
	}
	return "?";
}

/* ---- output ---- */

static void session_close(struct hnv_zapi *z, const char *why);

static int flush_out(struct hnv_zapi *z)
{
	while (z->fd >= 0 && z->out_len > 0) {
		ssize_t n = send(z->fd, z->out, z->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			int e = errno;
			session_close(z, strerror(e));
			return -e;
		}
		memmove(z->out, z->out + n, z->out_len - (size_t)n);
		z->out_len -= (size_t)n;
	}
	return 0;
}

/* Queues one encoded message (len from an encoder; < 0 is a bug in the
 * caller's values and is logged). */
static void queue_msg(struct hnv_zapi *z, const uint8_t *msg, int len)
{
	if (len < 0) {
		zlog_rl(z, &z->rl_bad, HNV_LOG_ERR, "cannot encode a message: %s", strerror(-len));
		return;
	}
	if (z->fd < 0)
		return;
	if (z->out_len + (size_t)len > OUT_MAX) {
		session_close(z, "output queue overflow (zebra does not read)");
		return;
	}
	if (HNV_GROW(z->out, z->out_cap, z->out_len + (size_t)len)) {
		session_close(z, "out of memory for the output queue");
		return;
	}
	memcpy(z->out + z->out_len, msg, (size_t)len);
	z->out_len += (size_t)len;
	z->st.msgs_out++;
}

/* ---- tables ---- */

static uint64_t route_hash(const char *vrf, const struct hnv_prefix *p)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *c = vrf; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211ull;
	for (int i = 0; i < 16; i++)
		h = (h ^ p->addr.b[i]) * 1099511628211ull;
	return (h ^ p->len) * 1099511628211ull;
}

static struct zroute **route_slot(const struct hnv_zapi *z, const char *vrf,
				  const struct hnv_prefix *p)
{
	struct zroute **s = &z->tab[route_hash(vrf, p) & (z->nb - 1)];
	for (; *s; s = &(*s)->next)
		if ((*s)->p.len == p->len && hnv_ip_eq(&(*s)->p.addr, &p->addr) &&
		    strcmp((*s)->vrf, vrf) == 0)
			return s;
	return s;
}

static int route_grow(struct hnv_zapi *z)
{
	size_t nb = z->nb * 2;
	struct zroute **t = calloc(nb, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < z->nb; i++)
		for (struct zroute *r = z->tab[i], *next; r; r = next) {
			next = r->next;
			size_t b = route_hash(r->vrf, &r->p) & (nb - 1);
			r->next = t[b];
			t[b] = r;
		}
	free(z->tab);
	z->tab = t;
	z->nb = nb;
	return 0;
}

static struct zvrf *vrf_by_name(const struct hnv_zapi *z, const char *name)
{
	for (size_t i = 0; i < z->nvrfs; i++)
		if (strcmp(z->vrfs[i].name, name) == 0)
			return &z->vrfs[i];
	return NULL;
}

static struct zvrf *vrf_by_id(const struct hnv_zapi *z, uint32_t id)
{
	for (size_t i = 0; i < z->nvrfs; i++)
		if (z->vrfs[i].id == id)
			return &z->vrfs[i];
	return NULL;
}

static void set_state(struct hnv_zapi *z, struct zroute *r, enum hnv_zapi_route_state s)
{
	if (r->state == HNV_ZAPI_RS_SENT && z->queued > 0)
		z->queued--;
	if (s == HNV_ZAPI_RS_SENT)
		z->queued++;
	r->state = s;
}

/* ---- sending routes ---- */

/* Queues ROUTE_ADD (and marks r SENT) or ROUTE_DELETE for r. */
static void send_route(struct hnv_zapi *z, struct zroute *r, bool add, uint32_t vrf_id)
{
	struct hnv_zapi_route m = {
		.type = z->route_type,
		.safi = 1,
		.prefix = r->p,
	};
	if (add) {
		m.message = HNV_ZAPI_MSG_NEXTHOP | HNV_ZAPI_MSG_DISTANCE | HNV_ZAPI_MSG_METRIC;
		/* a bare gateway may be reached through another route */
		if (r->nh.type == HNV_ZAPI_NH_IPV4 || r->nh.type == HNV_ZAPI_NH_IPV6)
			m.flags = HNV_ZAPI_FLAG_ALLOW_RECURSION;
		m.n_nh = 1;
		m.nh[0] = r->nh;
		m.distance = r->distance;
		m.metric = r->metric;
	}
	uint8_t buf[256];
	uint64_t before = z->st.msgs_out;
	queue_msg(z, buf, hnv_zapi_enc_route(z->rel, buf, sizeof(buf), add, vrf_id, &m));
	if (add && z->st.msgs_out != before)
		set_state(z, r, HNV_ZAPI_RS_SENT);
}

static void send_cap(struct hnv_zapi *z, uint32_t cap, uint32_t a, uint32_t b, uint32_t vrf_id)
{
	uint8_t buf[64];
	queue_msg(z, buf, hnv_zapi_enc_client_cap(z->rel, buf, sizeof(buf), cap, a, b, vrf_id));
}

/* GR: once every sent route is answered (or the fallback deadline passed),
 * tell zebra each VRF's routes are complete, so stale routes of an earlier
 * session that were not sent again are removed now. */
static void maybe_complete(struct hnv_zapi *z)
{
	if (z->conn != HNV_ZAPI_CONNECTED || z->gr_stale == 0)
		return;
	if (z->queued > 0 && hnv_mono_ms() < z->sync_deadline_ms)
		return;
	for (size_t i = 0; i < z->nvrfs; i++) {
		if (z->vrfs[i].complete_sent)
			continue;
		send_cap(z, HNV_ZAPI_CAP_UPDATE_COMPLETE, 1, 1, z->vrfs[i].id);
		send_cap(z, HNV_ZAPI_CAP_UPDATE_COMPLETE, 2, 1, z->vrfs[i].id);
		z->vrfs[i].complete_sent = true;
	}
}

/* ---- session ---- */

static void session_close(struct hnv_zapi *z, const char *why)
{
	if (z->fd < 0)
		return;
	close(z->fd);
	z->fd = -1;
	if (z->conn == HNV_ZAPI_CONNECTED) {
		z->st.disconnects++;
		zlog_rl(z, &z->rl_conn, HNV_LOG_WARNING, "session with zebra at %s closed: %s",
			z->path, why);
		z->conn = HNV_ZAPI_DISCONNECTED;
		z->next_try_ms = hnv_mono_ms() + z->backoff_ms;
	}
	z->in_len = 0;
	z->out_len = 0;
	z->nvrfs = 0;
	z->nifs = 0;
	z->sync_deadline_ms = 0;
	for (size_t b = 0; b < z->nb; b++)
		for (struct zroute *r = z->tab[b]; r; r = r->next)
			set_state(z, r, HNV_ZAPI_RS_WAIT_VRF);
	z->queued = 0;
}

/* The upstream part of a Debian version into out: the epoch ("1:") and
 * the Debian revision (from the last '-') cut off, "8.4.4" of
 * "8.4.4-1.1~deb12u2". 0, or -EINVAL (empty, too long, odd characters). */
static int upstream_version(const char *v, char *out, size_t outlen)
{
	const char *colon = strchr(v, ':');
	if (colon)
		v = colon + 1;
	const char *dash = strrchr(v, '-');
	size_t n = dash ? (size_t)(dash - v) : strlen(v);
	if (n == 0 || n >= outlen)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'z') ||
		      (v[i] >= 'A' && v[i] <= 'Z') || strchr(".+~_-", v[i])))
			return -EINVAL;
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

/* The version of the installed package "frr", read from dpkg's status
 * database at path (paragraphs of "Field: value" lines, one per package):
 * the paragraph with "Package: frr" whose Status ends in "installed".
 * Nothing is executed. 0, -ENOENT (not installed), -EINVAL or -errno. */
static int dpkg_frr_version(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char *line = NULL, ver[64] = "";
	size_t cap = 0;
	bool frr = false, installed = false, eof = false;
	int rc = -ENOENT;
	while (!eof) {
		ssize_t n = getline(&line, &cap, f);
		eof = n < 0;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n <= 0) { /* the end of a paragraph */
			if (frr && installed && ver[0]) {
				rc = upstream_version(ver, out, outlen);
				break;
			}
			frr = installed = false;
			ver[0] = '\0';
		} else if (strncmp(line, "Package: ", 9) == 0) {
			frr = strcmp(line + 9, "frr") == 0;
		} else if (strncmp(line, "Status: ", 8) == 0) {
			installed = n >= 18 && strcmp(line + n - 10, " installed") == 0;
		} else if (strncmp(line, "Version: ", 9) == 0) {
			snprintf(ver, sizeof(ver), "%s", line + 9);
		}
	}
	free(line);
	fclose(f);
	return rc;
}

/* The FRR release zebra speaks, learned without running any program:
 * opts.frr_version, else the installed frr package's version. Never from
 * the process at the other end of the socket: its binary is whatever the
 * socket's owner (user frr, or anyone who took the path) chose, and hnvgwd
 * is root (issue 17 finding 2). */
static int detect_release(struct hnv_zapi *z, char *out, size_t outlen)
{
	if (z->frr_version) {
		snprintf(out, outlen, "%s", z->frr_version);
		return 0;
	}
	int rc = dpkg_frr_version(z->dpkg_status, out, outlen);
	if (rc < 0 && rc != z->dpkg_err)
		zlog(z, HNV_LOG_ERR,
		     "cannot learn the FRR release from %s: %s (an FRR that is not "
		     "Debian's frr package needs hnvgwd --frr-version)",
		     z->dpkg_status,
		     rc == -ENOENT ? "package frr is not installed" : strerror(-rc));
	z->dpkg_err = rc < 0 ? rc : 0;
	return rc;
}

static void session_start(struct hnv_zapi *z)
{
	uint8_t buf[64];
	z->conn = HNV_ZAPI_CONNECTED;
	z->st.connects++;
	z->last_conn_err = 0;
	z->refused_release[0] = '\0';
	z->sync_deadline_ms = hnv_mono_ms() + SYNC_FALLBACK_MS;
	zlog(z, HNV_LOG_NOTICE, "connected to zebra at %s (FRR %s), route type %u%s", z->path,
	     z->release, z->route_type, z->gr_stale ? ", graceful restart" : "");
	queue_msg(z, buf, hnv_zapi_enc_hello(z->rel, buf, sizeof(buf), z->route_type, true));
	queue_msg(z, buf, hnv_zapi_enc_interface_add(z->rel, buf, sizeof(buf)));
	/* routes, GR and redistribution follow each VRF_ADD */
}

int hnv_zapi_attach_fd(struct hnv_zapi *z, int fd)
{
	session_close(z, "replaced");
	char ver[32];
	int rc = detect_release(z, ver, sizeof(ver));
	const struct hnv_zapi_release *rel = rc == 0 ? hnv_zapi_release_find(ver) : NULL;
	if (!rel) {
		if (rc != 0)
			snprintf(ver, sizeof(ver), "unknown");
		if (strcmp(ver, z->refused_release) != 0) {
			zlog(z, HNV_LOG_ERR,
			     "zebra at %s runs FRR release %s: its ZAPI command numbers are not "
			     "known here (supported: %s); not connecting",
			     z->path, ver, hnv_zapi_releases_supported());
			snprintf(z->refused_release, sizeof(z->refused_release), "%s", ver);
		}
		close(fd);
		z->conn = HNV_ZAPI_REFUSED;
		z->st.refusals++;
		snprintf(z->st.frr_release, sizeof(z->st.frr_release), "%s", ver);
		z->next_try_ms = hnv_mono_ms() + REFUSED_RETRY_MS;
		return -EPROTONOSUPPORT;
	}
	z->rel = rel;
	snprintf(z->release, sizeof(z->release), "%s", ver);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	z->fd = fd;
	session_start(z);
	return flush_out(z);
}

static void try_connect(struct hnv_zapi *z)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", z->path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (e != z->last_conn_err)
			zlog(z, HNV_LOG_WARNING, "cannot connect to zebra at %s: %s; retrying",
			     z->path, strerror(e));
		z->last_conn_err = e;
		z->next_try_ms = hnv_mono_ms() + z->backoff_ms;
		z->backoff_ms =
			z->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : z->backoff_ms * 2;
		return;
	}
	z->backoff_ms = z->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : z->backoff_ms * 2;
	hnv_zapi_attach_fd(z, fd);
}

/* ---- handlers ---- */

static void on_vrf_add(struct hnv_zapi *z, uint32_t vrf_id, const struct hnv_zapi_vrf_info *vi)
{
	struct zvrf *v = vrf_by_id(z, vrf_id);
	if (v && strcmp(v->name, vi->name) != 0) { /* renamed: old name's routes wait */
		for (size_t b = 0; b < z->nb; b++)
			for (struct zroute *r = z->tab[b]; r; r = r->next)
				if (strcmp(r->vrf, v->name) == 0)
					set_state(z, r, HNV_ZAPI_RS_WAIT_VRF);
		*v = z->vrfs[--z->nvrfs];
	}
	v = vrf_by_name(z, vi->name);
	if (!v) {
		if (HNV_GROW(z->vrfs, z->cap_vrfs, z->nvrfs + 1)) {
			session_close(z, "out of memory for VRFs");
			return;
		}
		v = &z->vrfs[z->nvrfs++];
		memset(v, 0, sizeof(*v));
		snprintf(v->name, sizeof(v->name), "%s", vi->name);
	}
	v->id = vrf_id;
	v->table = vi->table_id;
	v->complete_sent = false;
	if (z->gr_stale)
		send_cap(z, HNV_ZAPI_CAP_GR, z->gr_stale, 0, vrf_id);
	uint8_t buf[64];
	for (size_t i = 0; i < z->nredist; i++)
		queue_msg(z, buf,
			  hnv_zapi_enc_redistribute(z->rel, buf, sizeof(buf), true, vrf_id,
						    z->redist[i].afi, z->redist[i].type));
	for (size_t b = 0; b < z->nb && z->fd >= 0; b++)
		for (struct zroute *r = z->tab[b]; r; r = r->next)
			if (strcmp(r->vrf, vi->name) == 0) {
				send_route(z, r, true, vrf_id);
			}
}

static void on_vrf_delete(struct hnv_zapi *z, uint32_t vrf_id)
{
	struct zvrf *v = vrf_by_id(z, vrf_id);
	if (!v)
		return;
	for (size_t b = 0; b < z->nb; b++)
		for (struct zroute *r = z->tab[b]; r; r = r->next)
			if (strcmp(r->vrf, v->name) == 0)
				set_state(z, r, HNV_ZAPI_RS_WAIT_VRF);
	*v = z->vrfs[--z->nvrfs];
}

static void on_notify(struct hnv_zapi *z, uint32_t vrf_id, const struct hnv_zapi_notify *n)
{
	struct zvrf *v = vrf_by_id(z, vrf_id);
	if (!v)
		return;
	struct zroute *r = *route_slot(z, v->name, &n->prefix);
	char pb[64];
	switch (n->note) {
	case HNV_ZAPI_NOTE_INSTALLED:
		z->st.notify_installed++;
		if (r)
			set_state(z, r, HNV_ZAPI_RS_INSTALLED);
		break;
	case HNV_ZAPI_NOTE_FAIL_INSTALL:
		z->st.notify_failed++;
		if (r) {
			set_state(z, r, HNV_ZAPI_RS_FAILED);
			hnv_fmt_prefix(&r->p, pb, sizeof(pb));
			zlog_rl(z, &z->rl_route, HNV_LOG_WARNING,
				"zebra failed to install %s in VRF %s", pb, v->name);
		}
		break;
	case HNV_ZAPI_NOTE_BETTER_ADMIN_WON:
		if (r)
			set_state(z, r, HNV_ZAPI_RS_BETTER_ADMIN_WON);
		break;
	case HNV_ZAPI_NOTE_REMOVED:
		z->st.notify_removed++;
		/* the answer to a delete; a route desired again is being re-sent */
		if (r && r->state != HNV_ZAPI_RS_SENT)
			set_state(z, r, HNV_ZAPI_RS_REMOVED);
		break;
	default:
		break;
	}
}

static void on_interface(struct hnv_zapi *z, enum hnv_zapi_cmd c, uint32_t vrf_id,
			 const struct hnv_zapi_if *i)
{
	size_t k = 0;
	while (k < z->nifs && (z->ifs[k].i.ifindex != i->ifindex || z->ifs[k].vrf_id != vrf_id))
		k++;
	if (c == HNV_ZC_INTERFACE_DELETE) {
		if (k < z->nifs)
			z->ifs[k] = z->ifs[--z->nifs];
		return;
	}
	if (k == z->nifs) {
		if (HNV_GROW(z->ifs, z->cap_ifs, z->nifs + 1))
			return;
		z->nifs++;
	}
	z->ifs[k].i = *i;
	z->ifs[k].vrf_id = vrf_id;
}

static void bad_msg(struct hnv_zapi *z, const char *what, size_t len)
{
	z->st.bad_msgs++;
	zlog_rl(z, &z->rl_bad, HNV_LOG_WARNING, "malformed %s from zebra (%zu bytes), skipped",
		what, len);
}

static void dispatch(struct hnv_zapi *z, const struct hnv_zapi_hdr *h, const uint8_t *body,
		     size_t blen)
{
	enum hnv_zapi_cmd c = hnv_zapi_cmd_from_num(z->rel, h->cmd);
	z->st.msgs_in++;
	switch (c) {
	case HNV_ZC_CAPABILITIES: {
		struct hnv_zapi_caps caps;
		if (hnv_zapi_dec_capabilities(body, blen, &caps) < 0) {
			bad_msg(z, "CAPABILITIES", blen);
			break;
		}
		z->st.vrf_backend = caps.vrf_backend;
		z->st.multipath_num = caps.multipath_num;
		z->backoff_ms = BACKOFF_MIN_MS; /* the session works */
		break;
	}
	case HNV_ZC_VRF_ADD: {
		struct hnv_zapi_vrf_info vi;
		if (hnv_zapi_dec_vrf_add(body, blen, &vi) < 0) {
			bad_msg(z, "VRF_ADD", blen);
			break;
		}
		on_vrf_add(z, h->vrf_id, &vi);
		break;
	}
	case HNV_ZC_VRF_DELETE:
		on_vrf_delete(z, h->vrf_id);
		break;
	case HNV_ZC_ROUTE_NOTIFY_OWNER: {
		struct hnv_zapi_notify n;
		if (hnv_zapi_dec_notify(body, blen, &n) < 0) {
			bad_msg(z, "ROUTE_NOTIFY_OWNER", blen);
			break;
		}
		on_notify(z, h->vrf_id, &n);
		break;
	}
	case HNV_ZC_REDISTRIBUTE_ROUTE_ADD:
	case HNV_ZC_REDISTRIBUTE_ROUTE_DEL: {
		struct hnv_zapi_route *r = malloc(sizeof(*r));
		if (!r)
			break;
		if (hnv_zapi_dec_route(body, blen, r) < 0) {
			bad_msg(z, "REDISTRIBUTE_ROUTE", blen);
			free(r);
			break;
		}
		bool add = c == HNV_ZC_REDISTRIBUTE_ROUTE_ADD;
		if (add)
			z->st.redist_add++;
		else
			z->st.redist_del++;
		struct zvrf *v = vrf_by_id(z, h->vrf_id);
		if (z->redist_cb)
			z->redist_cb(z->arg, add, v ? v->name : "", h->vrf_id, r);
		free(r);
		break;
	}
	case HNV_ZC_INTERFACE_ADD:
	case HNV_ZC_INTERFACE_DELETE:
	case HNV_ZC_INTERFACE_UP:
	case HNV_ZC_INTERFACE_DOWN: {
		struct hnv_zapi_if i;
		if (hnv_zapi_dec_interface(body, blen, &i) < 0) {
			bad_msg(z, "INTERFACE message", blen);
			break;
		}
		on_interface(z, c, h->vrf_id, &i);
		break;
	}
	case HNV_ZC_ERROR: {
		uint32_t e;
		if (hnv_zapi_dec_error(body, blen, &e) < 0) {
			bad_msg(z, "ERROR", blen);
			break;
		}
		z->st.zebra_errors++;
		zlog_rl(z, &z->rl_err, HNV_LOG_WARNING,
			"zebra reported error %u (%s) for a message in VRF %u", e,
			e == 1   ? "no such VRF"
			: e == 2 ? "invalid message type"
				 : "unknown",
			h->vrf_id);
		break;
	}
	case HNV_ZC_UNKNOWN:
		z->st.unknown_cmds++;
		break;
	default: /* addresses and our own request types: not used */
		break;
	}
}

/* Handles the complete messages in z->in. */
static int parse_in(struct hnv_zapi *z)
{
	size_t off = 0;
	while (z->fd >= 0 && z->in_len - off >= HNV_ZAPI_HDR_LEN) {
		struct hnv_zapi_hdr h;
		if (hnv_zapi_hdr_decode(z->in + off, z->in_len - off, &h) < 0) {
			z->st.bad_msgs++;
			session_close(z, "corrupt message header from zebra");
			return -EPROTO;
		}
		if (z->in_len - off < h.len)
			break;
		dispatch(z, &h, z->in + off + HNV_ZAPI_HDR_LEN, h.len - HNV_ZAPI_HDR_LEN);
		off += h.len;
	}
	if (z->fd < 0)
		return 0;
	memmove(z->in, z->in + off, z->in_len - off);
	z->in_len -= off;
	maybe_complete(z);
	return 0;
}

int hnv_zapi_feed(struct hnv_zapi *z, const uint8_t *buf, size_t len)
{
	while (len > 0 && z->fd >= 0) {
		size_t n = IN_CAP - z->in_len;
		if (n > len)
			n = len;
		memcpy(z->in + z->in_len, buf, n);
		z->in_len += n;
		buf += n;
		len -= n;
		int rc = parse_in(z);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- public ---- */

struct hnv_zapi *hnv_zapi_new(const struct hnv_zapi_opts *o)
{
	const char *path = o->path ? o->path : HNV_ZAPI_DEFAULT_PATH;
	uint8_t type = o->route_type ? o->route_type : HNV_ZAPI_ROUTE_OPENFABRIC;
	if (path[0] == '\0' || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path) ||
	    (type != HNV_ZAPI_ROUTE_SHARP && type != HNV_ZAPI_ROUTE_OPENFABRIC)) {
		errno = EINVAL;
		return NULL;
	}
	struct hnv_zapi *z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	z->path = strdup(path);
	z->dpkg_status = strdup(o->dpkg_status ? o->dpkg_status : HNV_ZAPI_DEFAULT_DPKG_STATUS);
	z->frr_version = o->frr_version ? strdup(o->frr_version) : NULL;
	z->nb = 256;
	z->tab = calloc(z->nb, sizeof(*z->tab));
	if (!z->path || !z->dpkg_status || (o->frr_version && !z->frr_version) || !z->tab) {
		hnv_zapi_free(z);
		errno = ENOMEM;
		return NULL;
	}
	z->route_type = type;
	z->gr_stale = o->gr_stale_time;
	z->redist_cb = o->redist_cb;
	z->log = o->log;
	z->arg = o->arg;
	z->fd = -1;
	z->conn = HNV_ZAPI_DISCONNECTED;
	z->backoff_ms = BACKOFF_MIN_MS;
	z->next_try_ms = 0;
	return z;
}

void hnv_zapi_free(struct hnv_zapi *z)
{
	if (!z)
		return;
	if (z->fd >= 0)
		close(z->fd);
	for (size_t b = 0; b < z->nb && z->tab; b++)
		for (struct zroute *r = z->tab[b], *next; r; r = next) {
			next = r->next;
			free(r);
		}
	free(z->tab);
	free(z->vrfs);
	free(z->ifs);
	free(z->out);
	free(z->path);
	free(z->dpkg_status);
	free(z->frr_version);
	free(z);
}

int hnv_zapi_fd(const struct hnv_zapi *z)
{
	return z->fd;
}

short hnv_zapi_poll_events(const struct hnv_zapi *z)
{
	if (z->fd < 0)
		return 0;
	return (short)(POLLIN | (z->out_len ? POLLOUT : 0));
}

int hnv_zapi_handle_io(struct hnv_zapi *z, short revents)
{
	if (z->fd < 0)
		return -ENOTCONN;
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		for (;;) {
			ssize_t n = read(z->fd, z->in + z->in_len, IN_CAP - z->in_len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n <= 0) {
				int e = n < 0 ? errno : 0;
				session_close(z,
					      n < 0 ? strerror(e) : "zebra closed the connection");
				return n < 0 ? -e : -ECONNRESET;
			}
			z->in_len += (size_t)n;
			int rc = parse_in(z);
			if (rc < 0)
				return rc;
		}
	}
	return flush_out(z);
}

int hnv_zapi_tick(struct hnv_zapi *z)
{
	long now = hnv_mono_ms();
	if (z->fd < 0 && now >= z->next_try_ms)
		try_connect(z);
	if (z->fd >= 0) {
		maybe_complete(z);
		flush_out(z);
	}
	now = hnv_mono_ms();
	long due;
	if (z->fd < 0) {
		due = z->next_try_ms - now;
	} else {
		bool pending = false;
		for (size_t i = 0; z->gr_stale && i < z->nvrfs; i++)
			pending |= !z->vrfs[i].complete_sent;
		if (!pending)
			return -1;
		due = z->sync_deadline_ms - now;
	}
	if (due < 0)
		due = 0;
	return due > 60000 ? 60000 : (int)due;
}

static bool nh_valid(const struct hnv_zapi_nh *nh, bool v4)
{
	switch (nh->type) {
	case HNV_ZAPI_NH_IFINDEX:
		return nh->ifindex != 0;
	case HNV_ZAPI_NH_IPV4:
	case HNV_ZAPI_NH_IPV6:
	case HNV_ZAPI_NH_IPV4_IFINDEX:
	case HNV_ZAPI_NH_IPV6_IFINDEX: {
		bool nv4 = nh->type == HNV_ZAPI_NH_IPV4 || nh->type == HNV_ZAPI_NH_IPV4_IFINDEX;
		bool withif = nh->type == HNV_ZAPI_NH_IPV4_IFINDEX ||
			      nh->type == HNV_ZAPI_NH_IPV6_IFINDEX;
		return nv4 == v4 && hnv_ip_is_v4(&nh->gw) == v4 && !hnv_ip_is_unspec(&nh->gw) &&
		       (!withif || nh->ifindex != 0);
	}
	case HNV_ZAPI_NH_BLACKHOLE:
		return nh->bh_type <= HNV_ZAPI_BH_ADMINPROHIB;
	}
	return false;
}

int hnv_zapi_route_set(struct hnv_zapi *z, const char *vrf, const struct hnv_prefix *p,
		       const struct hnv_zapi_nh *nh, uint8_t distance, uint32_t metric)
{
	char pb[64];
	if (!vrf || vrf[0] == '\0' || strlen(vrf) >= HNV_ZAPI_VRF_NAMSIZ) {
		zlog(z, HNV_LOG_ERR, "route: bad VRF name \"%.40s\"", vrf ? vrf : "");
		return -EINVAL;
	}
	if (!hnv_zapi_prefix_valid(p)) {
		zlog(z, HNV_LOG_ERR, "route in VRF %s: prefix length %u or host bits invalid", vrf,
		     p->len);
		return -EINVAL;
	}
	bool v4 = hnv_ip_is_v4(&p->addr);
	if (!nh_valid(nh, v4) || distance == 0) {
		hnv_fmt_prefix(p, pb, sizeof(pb));
		zlog(z, HNV_LOG_ERR,
		     "route %s in VRF %s: invalid nexthop (type %u, ifindex %u) or distance %u", pb,
		     vrf, nh->type, nh->ifindex, distance);
		return -EINVAL;
	}
	struct zroute **s = route_slot(z, vrf, p);
	struct zroute *r = *s;
	if (!r) {
		if (z->nroutes >= z->nb * 2 && route_grow(z) == 0)
			s = route_slot(z, vrf, p);
		r = calloc(1, sizeof(*r));
		if (!r)
			return -ENOMEM;
		snprintf(r->vrf, sizeof(r->vrf), "%s", vrf);
		r->p = *p;
		r->state = HNV_ZAPI_RS_WAIT_VRF;
		*s = r;
		z->nroutes++;
	}
	r->nh = *nh;
	r->nh.flags = 0;
	r->nh.weight = 0;
	r->nh.vrf_id = 0;
	if (r->nh.type == HNV_ZAPI_NH_IPV4 || r->nh.type == HNV_ZAPI_NH_IPV6 ||
	    r->nh.type == HNV_ZAPI_NH_BLACKHOLE)
		r->nh.ifindex = 0;
	if (r->nh.type == HNV_ZAPI_NH_IFINDEX || r->nh.type == HNV_ZAPI_NH_BLACKHOLE)
		memset(&r->nh.gw, 0, sizeof(r->nh.gw));
	r->distance = distance;
	r->metric = metric;
	struct zvrf *v = z->conn == HNV_ZAPI_CONNECTED ? vrf_by_name(z, vrf) : NULL;
	if (v) {
		send_route(z, r, true, v->id);
		flush_out(z);
	}
	return 0;
}

int hnv_zapi_route_del(struct hnv_zapi *z, const char *vrf, const struct hnv_prefix *p)
{
	if (!vrf || strlen(vrf) >= HNV_ZAPI_VRF_NAMSIZ)
		return -ENOENT;
	struct zroute **s = route_slot(z, vrf, p);
	struct zroute *r = *s;
	if (!r)
		return -ENOENT;
	struct zvrf *v = z->conn == HNV_ZAPI_CONNECTED ? vrf_by_name(z, vrf) : NULL;
	if (v)
		send_route(z, r, false, v->id);
	set_state(z, r, HNV_ZAPI_RS_WAIT_VRF);
	*s = r->next;
	free(r);
	z->nroutes--;
	flush_out(z);
	return 0;
}

void hnv_zapi_routes_flush(struct hnv_zapi *z)
{
	for (size_t b = 0; b < z->nb; b++)
		while (z->tab[b]) {
			struct zroute *r = z->tab[b];
			struct zvrf *v =
				z->conn == HNV_ZAPI_CONNECTED ? vrf_by_name(z, r->vrf) : NULL;
			if (v)
				send_route(z, r, false, v->id);
			set_state(z, r, HNV_ZAPI_RS_WAIT_VRF);
			z->tab[b] = r->next;
			free(r);
			z->nroutes--;
		}
	flush_out(z);
}

int hnv_zapi_route_foreach(const struct hnv_zapi *z,
			   int (*fn)(void *arg, const struct hnv_zapi_route_info *r), void *arg)
{
	for (size_t b = 0; b < z->nb; b++)
		for (struct zroute *r = z->tab[b]; r; r = r->next) {
			struct hnv_zapi_route_info ri = {
				.vrf = r->vrf,
				.prefix = r->p,
				.nh = r->nh,
				.distance = r->distance,
				.metric = r->metric,
				.state = r->state,
			};
			int rc = fn(arg, &ri);
			if (rc)
				return rc;
		}
	return 0;
}

int hnv_zapi_redistribute(struct hnv_zapi *z, uint8_t afi, uint8_t type)
{
	if ((afi != 1 && afi != 2) || type == 0 || type >= 31)
		return -EINVAL;
	for (size_t i = 0; i < z->nredist; i++)
		if (z->redist[i].afi == afi && z->redist[i].type == type)
			return 0;
	if (z->nredist == MAX_REDIST)
		return -ENOSPC;
	z->redist[z->nredist].afi = afi;
	z->redist[z->nredist].type = type;
	z->nredist++;
	if (z->conn == HNV_ZAPI_CONNECTED) {
		uint8_t buf[64];
		for (size_t i = 0; i < z->nvrfs; i++)
			queue_msg(z, buf,
				  hnv_zapi_enc_redistribute(z->rel, buf, sizeof(buf), true,
							    z->vrfs[i].id, afi, type));
		flush_out(z);
	}
	return 0;
}

int hnv_zapi_vrf_lookup(const struct hnv_zapi *z, const char *name, uint32_t *vrf_id,
			uint32_t *table_id)
{
	const struct zvrf *v = vrf_by_name(z, name);
	if (!v)
		return -ENOENT;
	if (vrf_id)
		*vrf_id = v->id;
	if (table_id)
		*table_id = v->table;
	return 0;
}

int hnv_zapi_if_lookup(const struct hnv_zapi *z, const char *vrf, const char *name,
		       uint32_t *ifindex, uint32_t *vrf_id)
{
	const struct zvrf *v = vrf ? vrf_by_name(z, vrf) : NULL;
	if (vrf && !v)
		return -ENOENT;
	for (size_t k = 0; k < z->nifs; k++)
		if (strcmp(z->ifs[k].i.name, name) == 0 && (!v || z->ifs[k].vrf_id == v->id)) {
			if (ifindex)
				*ifindex = z->ifs[k].i.ifindex;
			if (vrf_id)
				*vrf_id = z->ifs[k].vrf_id;
			return 0;
		}
	return -ENOENT;
}

enum hnv_zapi_conn hnv_zapi_conn_state(const struct hnv_zapi *z)
{
	return z->conn;
}

void hnv_zapi_get_stats(const struct hnv_zapi *z, struct hnv_zapi_stats *st)
{
	*st = z->st;
	st->conn = z->conn;
	if (z->conn == HNV_ZAPI_CONNECTED)
		snprintf(st->frr_release, sizeof(st->frr_release), "%s", z->release);
	st->vrfs = (unsigned)z->nvrfs;
	st->interfaces = (unsigned)z->nifs;
	st->routes = (unsigned)z->nroutes;
	for (size_t b = 0; b < z->nb; b++)
		for (struct zroute *r = z->tab[b]; r; r = r->next)
			switch (r->state) {
			case HNV_ZAPI_RS_WAIT_VRF:
				st->routes_wait_vrf++;
				break;
			case HNV_ZAPI_RS_SENT:
				st->routes_sent++;
				break;
			case HNV_ZAPI_RS_INSTALLED:
				st->routes_installed++;
				break;
			default:
				st->routes_failed++;
				break;
			}
}
