/* server.c: hnvgwd's control plane (see server.h for the contracts).
 *
 * Sections: logging; request parsing (pure); secrets; core (running config,
 * persistence, commit-confirm, the operations); control socket (clients,
 * authorization, event loop).
 */
#include "server.h"

#include "../../datapath/dp.h"
#include "../../datapath/io/fwd.h"
#include "../api.h"
#include "../conftext.h"
#include "../model.h"
#include "nexthop.h"
#include "../store.h"
#include "../../lib/err.h"
#include "../../lib/clock.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-qsbr.h>

/* Copies s for a message: at most 48 bytes, non-printable bytes as '?'. */
static void printable(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 4 < buflen; i++) {
		if (o >= 48) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		unsigned char ch = (unsigned char)s[i];
		buf[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	buf[o] = '\0';
}

/* ==== requests ==== */

static const char *const op_names[] = {
	[HNV_OP_EXEC] = "exec",         [HNV_OP_COMMIT_CONFIRM] = "commit-confirm",
	[HNV_OP_SHOW] = "show",         [HNV_OP_DIFF] = "diff",
	[HNV_OP_ROLLBACK] = "rollback", [HNV_OP_NEXTHOP] = "nexthop",
	[HNV_OP_TRACE] = "trace",       [HNV_OP_S2S] = "s2s",
};

/* The fields each op accepts besides "v" and "op"; NULL-terminated. */
static const char *const op_fields[][4] = {
	[HNV_OP_EXEC] = {"lines", "confirm", NULL}, [HNV_OP_COMMIT_CONFIRM] = {NULL},
	[HNV_OP_SHOW] = {"what", "secrets", NULL},  [HNV_OP_DIFF] = {"from", "to", NULL},
	[HNV_OP_ROLLBACK] = {"rev", NULL},          [HNV_OP_NEXTHOP] = {"vsid", "src", "dst", NULL},
	[HNV_OP_TRACE] = {"count", "port", "session", NULL},
	[HNV_OP_S2S] = {"name", "action", NULL},
};

const char *hnv_op_name(enum hnv_op op)
{
	return (unsigned)op < sizeof(op_names) / sizeof(op_names[0]) ? op_names[op] : "?";
}

bool hnv_op_changes(enum hnv_op op)
{
	return op == HNV_OP_EXEC || op == HNV_OP_COMMIT_CONFIRM || op == HNV_OP_ROLLBACK ||
	       op == HNV_OP_S2S;
}

static int check_fields(json_object *o, enum hnv_op op, char *err, size_t errlen)
{
	json_object_object_foreach(o, key, val)
	{
		(void)val;
		if (strcmp(key, "v") == 0 || strcmp(key, "op") == 0)
			continue;
		bool known = false;
		for (const char *const *f = op_fields[op]; *f; f++)
			known = known || strcmp(key, *f) == 0;
		if (!known) {
			char k[64];
			printable(key, strlen(key), k, sizeof(k));
			hnv_seterr(err, errlen, "unknown field \"%s\" in a \"%s\" request", k,
			       op_names[op]);
			return -EINVAL;
		}
	}
	return 0;
}

/* An integer field in min..max. Absent: -ENOENT (no message) unless
 * required. */
static int get_uint(json_object *o, const char *key, int64_t min, int64_t max, bool required,
		    int64_t *out, char *err, size_t errlen)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v)) {
		if (required)
			hnv_seterr(err, errlen, "missing field \"%s\"", key);
		return required ? -EINVAL : -ENOENT;
	}
	if (!json_object_is_type(v, json_type_int)) {
		hnv_seterr(err, errlen, "\"%s\" must be an integer", key);
		return -EINVAL;
	}
	errno = 0;
	int64_t x = json_object_get_int64(v);
	if (errno || x < min || x > max) {
		hnv_seterr(err, errlen, "\"%s\": %s is out of range (%lld-%lld)", key,
		       json_object_to_json_string(v), (long long)min, (long long)max);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

/* A string field without NUL bytes. Absent: -ENOENT unless required. */
static int get_str(json_object *o, const char *key, bool required, const char **out, size_t *len,
		   char *err, size_t errlen)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v)) {
		if (required)
			hnv_seterr(err, errlen, "missing field \"%s\"", key);
		return required ? -EINVAL : -ENOENT;
	}
	if (!json_object_is_type(v, json_type_string)) {
		hnv_seterr(err, errlen, "\"%s\" must be a string", key);
		return -EINVAL;
	}
	*out = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	if (strlen(*out) != *len) {
		hnv_seterr(err, errlen, "\"%s\" contains a NUL byte", key);
		return -EINVAL;
	}
	return 0;
}

static int parse_ip_field(json_object *o, const char *key, bool required, bool *has,
			  struct hnv_ip *ip, char *err, size_t errlen)
{
	const char *s;
	size_t len;
	int rc = get_str(o, key, required, &s, &len, err, errlen);
	if (rc == -ENOENT) {
		*has = false;
		return 0;
	}
	if (rc)
		return rc;
	if (hnv_parse_ip(s, ip)) {
		char v[64];
		printable(s, len, v, sizeof(v));
		hnv_seterr(err, errlen, "\"%s\": \"%s\" is not an IPv4 or IPv6 address", key, v);
		return -EINVAL;
	}
	*has = true;
	return 0;
}

static int parse_exec(json_object *o, struct hnv_request *req, char *err, size_t errlen)
{
	json_object *arr;
	if (!json_object_object_get_ex(o, "lines", &arr)) {
		hnv_seterr(err, errlen, "missing field \"lines\"");
		return -EINVAL;
	}
	if (!json_object_is_type(arr, json_type_array)) {
		hnv_seterr(err, errlen, "\"lines\" must be an array of strings");
		return -EINVAL;
	}
	size_t n = json_object_array_length(arr);
	if (n == 0 || n > HNV_EXEC_MAX_LINES) {
		hnv_seterr(err, errlen, "\"lines\" must hold 1-%d lines, not %zu", HNV_EXEC_MAX_LINES,
		       n);
		return -EINVAL;
	}
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *l = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(l, json_type_string)) {
			hnv_seterr(err, errlen, "\"lines\"[%zu] must be a string", i);
			return -EINVAL;
		}
		const char *s = json_object_get_string(l);
		size_t len = (size_t)json_object_get_string_len(l);
		if (memchr(s, '\0', len) || memchr(s, '\n', len) || memchr(s, '\r', len)) {
			hnv_seterr(err, errlen, "\"lines\"[%zu] contains a NUL byte or a line break",
			       i);
			return -EINVAL;
		}
		total += len + 1;
	}
	int64_t confirm = 0;
	int rc = get_uint(o, "confirm", 1, HNV_CONFIRM_MAX, false, &confirm, err, errlen);
	if (rc && rc != -ENOENT)
		return rc;
	char **lines = calloc(n, sizeof(*lines));
	char *buf = malloc(total);
	if (!lines || !buf) {
		free(lines);
		free(buf);
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *l = json_object_array_get_idx(arr, i);
		size_t len = (size_t)json_object_get_string_len(l);
		memcpy(buf + off, json_object_get_string(l), len);
		buf[off + len] = '\0';
		lines[i] = buf + off;
		off += len + 1;
	}
	req->u.exec.lines = lines;
	req->u.exec.n = n;
	req->u.exec.buf = buf;
	req->u.exec.buflen = total;
	req->u.exec.confirm = (unsigned)confirm;
	return 0;
}

static int parse_show(json_object *o, struct hnv_request *req, char *err, size_t errlen)
{
	const char *s;
	size_t len;
	int rc = get_str(o, "what", true, &s, &len, err, errlen);
	if (rc)
		return rc;
	bool ok = len >= 1 && len <= HNV_SHOW_WHAT_MAX;
	for (size_t i = 0; ok && i < len; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-';
	if (!ok) {
		char v[64];
		printable(s, len, v, sizeof(v));
		hnv_seterr(err, errlen, "\"what\": \"%s\" is not a show target", v);
		return -EINVAL;
	}
	memcpy(req->u.show.what, s, len);
	req->u.show.what[len] = '\0';
	json_object *sec;
	if (json_object_object_get_ex(o, "secrets", &sec)) {
		if (!json_object_is_type(sec, json_type_boolean)) {
			hnv_seterr(err, errlen, "\"secrets\" must be true or false");
			return -EINVAL;
		}
		req->u.show.secrets = json_object_get_boolean(sec);
	}
	return 0;
}

/* trace: {"count":N, "port":NAME?} starts a session, {"session":ID} reads
 * one; exactly one of count and session. */
static int parse_trace(json_object *o, struct hnv_request *req, char *err, size_t errlen)
{
	int64_t a;
	int rc = get_uint(o, "count", 1, HNV_FWD_TRACE_MAX, false, &a, err, errlen);
	if (rc == 0) {
		req->u.trace.count = (unsigned)a;
	} else if (rc != -ENOENT) {
		return rc;
	} else if ((rc = get_uint(o, "session", 1, INT64_MAX, false, &a, err, errlen))) {
		if (rc == -ENOENT)
			hnv_seterr(err, errlen, "a \"trace\" request needs \"count\" or \"session\"");
		return -EINVAL;
	} else {
		req->u.trace.session = (uint64_t)a;
	}
	if (req->u.trace.count && json_object_object_get_ex(o, "session", NULL)) {
		hnv_seterr(err, errlen, "a \"trace\" request has \"count\" or \"session\", not both");
		return -EINVAL;
	}
	const char *s;
	size_t len;
	rc = get_str(o, "port", false, &s, &len, err, errlen);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	bool ok = req->u.trace.count && len >= 1 && len <= HNV_NAME_MAX;
	for (size_t i = 0; ok && i < len; i++)
		ok = s[i] > ' ' && s[i] < 0x7f;
	if (!ok) {
		char v[80];
		printable(s, len, v, sizeof(v));
		hnv_seterr(err, errlen, "\"port\": \"%s\" is not a port name (with \"count\" only)", v);
		return -EINVAL;
	}
	memcpy(req->u.trace.port, s, len);
	req->u.trace.port[len] = '\0';
	req->u.trace.has_port = true;
	return 0;
}

static int parse_op(json_object *o, struct hnv_request *req, char *err, size_t errlen)
{
	int64_t a, b;
	int rc;
	switch (req->op) {
	case HNV_OP_EXEC:
		return parse_exec(o, req, err, errlen);
	case HNV_OP_COMMIT_CONFIRM:
		return 0;
	case HNV_OP_SHOW:
		return parse_show(o, req, err, errlen);
	case HNV_OP_DIFF:
		if ((rc = get_uint(o, "from", 1, UINT_MAX, true, &a, err, errlen)) ||
		    (rc = get_uint(o, "to", 1, UINT_MAX, true, &b, err, errlen)))
			return rc;
		req->u.diff.from = (unsigned)a;
		req->u.diff.to = (unsigned)b;
		return 0;
	case HNV_OP_ROLLBACK:
		if ((rc = get_uint(o, "rev", 1, UINT_MAX, true, &a, err, errlen)))
			return rc;
		req->u.rollback.rev = (unsigned)a;
		return 0;
	case HNV_OP_TRACE:
		return parse_trace(o, req, err, errlen);
	case HNV_OP_S2S: {
		const char *s;
		size_t len;
		if ((rc = get_str(o, "name", true, &s, &len, err, errlen)))
			return rc;
		if (len == 0 || len > HNV_NAME_MAX || memchr(s, 0, len)) {
			hnv_seterr(err, errlen, "\"name\" must be a tunnel name of 1-%d bytes",
			       HNV_NAME_MAX);
			return -EINVAL;
		}
		memcpy(req->u.s2s.name, s, len);
		req->u.s2s.name[len] = 0;
		if ((rc = get_str(o, "action", true, &s, &len, err, errlen)))
			return rc;
		if ((len == 2 && memcmp(s, "up", 2) == 0) || (len == 4 && memcmp(s, "down", 4) == 0)) {
			req->u.s2s.up = len == 2;
			return 0;
		}
		hnv_seterr(err, errlen, "\"action\" must be \"up\" or \"down\"");
		return -EINVAL;
	}
	case HNV_OP_NEXTHOP: {
		bool has_dst;
		if ((rc = get_uint(o, "vsid", HNV_VSID_MIN, HNV_VSID_MAX, true, &a, err, errlen)) ||
		    (rc = parse_ip_field(o, "src", false, &req->u.nexthop.has_src,
					 &req->u.nexthop.src, err, errlen)) ||
		    (rc = parse_ip_field(o, "dst", true, &has_dst, &req->u.nexthop.dst, err,
					 errlen)))
			return rc;
		req->u.nexthop.vsid = (uint32_t)a;
		return 0;
	}
	}
	return -EINVAL;
}

int hnv_request_parse(const char *line, size_t len, struct hnv_request *req, char *err,
		      size_t errlen)
{
	memset(req, 0, sizeof(*req));
	if (len > HNV_API_MAX_LINE) {
		hnv_seterr(err, errlen, "request longer than %d bytes", HNV_API_MAX_LINE);
		return -EINVAL;
	}
	if (memchr(line, '\0', len)) {
		hnv_seterr(err, errlen, "request contains a NUL byte");
		return -EINVAL;
	}
	json_tokener *tok = json_tokener_new_ex(16);
	if (!tok) {
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	json_object *o = json_tokener_parse_ex(tok, line, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	int rc = -EINVAL;
	if (jerr == json_tokener_continue || (jerr == json_tokener_success && !o && len == 0)) {
		hnv_seterr(err, errlen, "malformed JSON: incomplete request");
		goto out;
	}
	if (jerr != json_tokener_success) {
		hnv_seterr(err, errlen, "malformed JSON at byte %zu: %s", end,
		       json_tokener_error_desc(jerr));
		goto out;
	}
	for (size_t i = end; i < len; i++)
		if (!isspace((unsigned char)line[i])) {
			hnv_seterr(err, errlen, "malformed JSON: data after the object at byte %zu", i);
			goto out;
		}
	if (!json_object_is_type(o, json_type_object)) {
		hnv_seterr(err, errlen, "a request must be a JSON object");
		goto out;
	}
	int64_t v;
	if ((rc = get_uint(o, "v", INT64_MIN, INT64_MAX, true, &v, err, errlen)))
		goto out;
	if (v != HNV_API_VERSION) {
		hnv_seterr(err, errlen, "unsupported protocol version %lld (this hnvgwd speaks %d)",
		       (long long)v, HNV_API_VERSION);
		rc = -EINVAL;
		goto out;
	}
	const char *op;
	size_t oplen;
	if ((rc = get_str(o, "op", true, &op, &oplen, err, errlen)))
		goto out;
	rc = -EINVAL;
	for (unsigned i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (strcmp(op, op_names[i]) == 0) {
			req->op = (enum hnv_op)i;
			rc = 0;
		}
	if (rc) {
		char b[64];
		printable(op, oplen, b, sizeof(b));
		hnv_seterr(err, errlen, "unknown op \"%s\"", b);
		goto out;
	}
	if ((rc = check_fields(o, req->op, err, errlen)))
		goto out;
	rc = parse_op(o, req, err, errlen);
out:
	if (rc)
		memset(req, 0, sizeof(*req));
	json_object_put(o);
	return rc;
}

void hnv_request_clear(struct hnv_request *req)
{
	if (req->op == HNV_OP_EXEC && req->u.exec.buf) {
		explicit_bzero(req->u.exec.buf, req->u.exec.buflen);
		free(req->u.exec.buf);
		free(req->u.exec.lines);
	}
	memset(req, 0, sizeof(*req));
}

/* ==== secrets ==== */

/* An option whose value is a secret: its name mentions a PSK or secret. */
static bool secret_option(const char *w)
{
	return strncmp(w, "--", 2) == 0 &&
	       (strstr(w, "psk") || strstr(w, "secret") || strstr(w, "password"));
}

size_t hnv_line_secrets(char *line, const char **vals, size_t max)
{
	char *words[80];
	size_t nw = 0;
	char *p = line;
	while (*p && nw < sizeof(words) / sizeof(words[0])) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			break;
		char *w = p, *o = p;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				*o++ = *p++;
			}
			if (*p)
				p++;
		} else {
			while (*p && *p != ' ' && *p != '\t')
				*o++ = *p++;
		}
		char *next = *p ? p + 1 : p;
		*o = '\0';
		words[nw++] = w;
		p = next;
	}
	if (nw == 0 || strcmp(words[0], "s2s") != 0)
		return 0;
	size_t n = 0;
	for (size_t i = 1; i < nw && n < max; i++) {
		char *eq = strchr(words[i], '=');
		if (eq && strncmp(words[i], "--", 2) == 0) {
			*eq = '\0';
			if (secret_option(words[i]) && eq[1])
				vals[n++] = eq + 1;
		} else if (secret_option(words[i]) && i + 1 < nw) {
			vals[n++] = words[++i];
		}
	}
	return n;
}

/* True when a transaction holds s2s lines: logged without values. */
static bool has_s2s(const char *const *lines, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *s = lines[i];
		while (*s == ' ' || *s == '\t')
			s++;
		if (strncmp(s, "s2s", 3) == 0 && (s[3] == '\0' || s[3] == ' ' || s[3] == '\t'))
			return true;
	}
	return false;
}

/* Replaces every occurrence of a secret value (3 bytes or more) in msg. */
static void scrub_secrets(char *msg, size_t msglen, const char *const *lines, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(lines[i]);
		char *copy = malloc(l + 1);
		if (!copy) {
			hnv_seterr(msg, msglen,
			       "the transaction was refused (details withheld: they "
			       "may contain a secret)");
			return;
		}
		memcpy(copy, lines[i], l + 1);
		const char *vals[8];
		size_t nv = hnv_line_secrets(copy, vals, 8);
		for (size_t k = 0; k < nv; k++) {
			size_t vl = strlen(vals[k]);
			if (vl < 3)
				continue;
			char *hit;
			while ((hit = strstr(msg, vals[k]))) {
				static const char mask[] = "<secret>";
				size_t tail = strlen(hit + vl);
				size_t room = msglen - (size_t)(hit - msg) - 1;
				size_t ml = sizeof(mask) - 1;
				if (ml > room)
					ml = room;
				if (tail > room - ml)
					tail = room - ml;
				memmove(hit + ml, hit + vl, tail);
				memcpy(hit, mask, ml);
				hit[ml + tail] = '\0';
			}
		}
		explicit_bzero(copy, l + 1);
		free(copy);
	}
}

/* ==== core ==== */

#define CONFIRM_FILE "commit-confirm"
#define CONFIRM_RETRY_MS 10000

struct hnv_core {
	char *dir;
	struct hnv_store *store;
	struct hnv_model *model;
	struct hnv_dp *dp; /* published with rcu_assign_pointer for workers */
	struct hnv_fwd *fwd; /* host edge forwarding, or NULL (hnvgwd without --uplink) */
	hnv_core_observer observer;
	void *observer_arg;
	hnv_core_s2s_fn s2s_ctl;
	void *s2s_arg;
	hnv_core_exec_hook exec_hook; /* hnvgwd --etcd */
	void *exec_hook_arg;
	struct {
		const char *what;
		hnv_core_status_fn fn;
		void *arg;
	} status[HNV_CORE_MAX_STATUS];
	size_t n_status;
	unsigned rev;
	uint64_t counters_base[HNV_R__COUNT]; /* of datapaths already replaced */
	struct {
		bool armed;
		unsigned rev;     /* the revision waiting for confirmation */
		unsigned back;    /* restored unless confirmed; 0: empty config */
		unsigned seconds; /* as asked */
		long deadline_ms; /* CLOCK_MONOTONIC */
	} confirm;
};

unsigned hnv_core_revision(const struct hnv_core *c)
{
	return c->rev;
}

/* Writes DIR/name atomically: temp file, fsync, rename, fsync DIR. */
static int write_atomic(const char *dir, const char *name, const char *data, size_t len)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= sizeof(tmp) ||
	    (size_t)snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= sizeof(dst))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = 0;
	for (size_t off = 0; off < len && !rc;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno != EINTR)
			rc = -errno;
		else if (w > 0)
			off += (size_t)w;
	}
	if (!rc && fsync(fd))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, dst))
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return rc;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	rc = fsync(dfd) ? -errno : 0;
	close(dfd);
	return rc;
}

/* The commit-confirm state survives a restart: DIR/commit-confirm holds the
 * revision waiting, the one to restore and the wall-clock deadline. */
static int confirm_save(struct hnv_core *c, long remaining_ms)
{
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "rev %u\nback %u\ndeadline %lld\n", c->confirm.rev,
			 c->confirm.back, (long long)time(NULL) + (remaining_ms + 999) / 1000);
	return write_atomic(c->dir, CONFIRM_FILE, buf, (size_t)n);
}

static void confirm_disarm(struct hnv_core *c)
{
	if (!c->confirm.armed)
		return;
	c->confirm.armed = false;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", c->dir, CONFIRM_FILE);
	if (unlink(path) && errno != ENOENT) {
		hnv_log(HNV_LOG_WARNING, "cannot remove %s: %s", path, strerror(errno));
		return;
	}
	int dfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

static void confirm_load(struct hnv_core *c)
{
	char path[PATH_MAX], buf[256];
	snprintf(path, sizeof(path), "%s/%s", c->dir, CONFIRM_FILE);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	unsigned rev, back;
	long long deadline;
	c->confirm.armed = true; /* so that disarm removes the file */
	if (sscanf(buf, "rev %u\nback %u\ndeadline %lld", &rev, &back, &deadline) != 3) {
		hnv_log(HNV_LOG_WARNING, "%s: unreadable commit-confirm state, discarded", path);
		confirm_disarm(c);
		return;
	}
	if (rev != c->rev) {
		hnv_log(HNV_LOG_NOTICE,
			"%s: revision %u no longer current (now %u): commit-confirm state "
			"discarded",
			path, rev, c->rev);
		confirm_disarm(c);
		return;
	}
	long long left = deadline - (long long)time(NULL);
	if (left < 0)
		left = 0;
	c->confirm.rev = rev;
	c->confirm.back = back;
	c->confirm.seconds = (unsigned)left;
	c->confirm.deadline_ms = hnv_mono_ms() + (long)left * 1000;
	hnv_log(HNV_LOG_WARNING,
		"revision %u is still waiting for commit confirm: back to revision %u in %lld s "
		"unless confirmed",
		rev, back, left);
}

/* Makes dp the running datapath and frees the old one after a grace period,
 * keeping its counters. */
static void swap_dp(struct hnv_core *c, struct hnv_dp *dp)
{
	struct hnv_dp *old = c->dp;
	rcu_assign_pointer(c->dp, dp);
	/* the forwarding thread moves to dp; its worker on old is freed
	 * before old's counters are read below */
	if (c->fwd)
		hnv_fwd_publish(c->fwd);
	if (!old)
		return;
	urcu_qsbr_synchronize_rcu();
	uint64_t cnt[HNV_R__COUNT];
	hnv_dp_counters(old, cnt);
	for (unsigned i = 0; i < HNV_R__COUNT; i++)
		c->counters_base[i] += cnt[i];
	hnv_dp_free(old);
}

/* Validates next completely (a datapath is built from it), persists it as
 * a new revision, then swaps it in. Takes ownership of next. On failure
 * nothing changed. */
static int install(struct hnv_core *c, struct hnv_model *next, unsigned *rev, char *err,
		   size_t errlen)
{
	struct hnv_dp *dp;
	int rc = hnv_model_build_dp(next, &dp, err, errlen);
	if (rc) {
		hnv_model_free(next);
		return rc;
	}
	/* ports whose TAP cannot be created refuse the change before it is
	 * persisted */
	if (c->fwd && (rc = hnv_fwd_prepare(c->fwd, dp, err, errlen))) {
		hnv_dp_free(dp);
		hnv_model_free(next);
		return rc;
	}
	char *text = hnv_model_text(next, true);
	if (!text) {
		if (c->fwd)
			hnv_fwd_abort(c->fwd);
		hnv_dp_free(dp);
		hnv_model_free(next);
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size_t len = strlen(text);
	rc = hnv_store_commit(c->store, text, len, rev);
	explicit_bzero(text, len);
	free(text);
	if (rc) {
		if (c->fwd)
			hnv_fwd_abort(c->fwd);
		hnv_dp_free(dp);
		hnv_model_free(next);
		hnv_seterr(err, errlen,
		       "cannot persist the configuration in %s: %s; nothing was changed", c->dir,
		       strerror(-rc));
		hnv_log(HNV_LOG_ERR, "%s", err);
		return rc;
	}
	swap_dp(c, dp);
	hnv_model_free(c->model);
	c->model = next;
	c->rev = *rev;
	if (c->observer)
		c->observer(c->observer_arg, c->model);
	return 0;
}

void hnv_core_set_observer(struct hnv_core *c, hnv_core_observer fn, void *arg)
{
	c->observer = fn;
	c->observer_arg = arg;
	if (fn)
		fn(arg, c->model);
}

void hnv_core_set_s2s_ctl(struct hnv_core *c, hnv_core_s2s_fn fn, void *arg)
{
	c->s2s_ctl = fn;
	c->s2s_arg = arg;
}

int hnv_core_add_status(struct hnv_core *c, const char *what, hnv_core_status_fn fn, void *arg)
{
	if (c->n_status == HNV_CORE_MAX_STATUS)
		return -ENOSPC;
	c->status[c->n_status].what = what;
	c->status[c->n_status].fn = fn;
	c->status[c->n_status++].arg = arg;
	return 0;
}

const struct hnv_model *hnv_core_model(const struct hnv_core *c)
{
	return c->model;
}

void hnv_core_set_exec_hook(struct hnv_core *c, hnv_core_exec_hook fn, void *arg)
{
	c->exec_hook = fn;
	c->exec_hook_arg = arg;
}

int hnv_core_install(struct hnv_core *c, struct hnv_model *next, unsigned *rev, char *err,
		     size_t errlen)
{
	return install(c, next, rev, err, errlen);
}

/* Text of revision rev (0: the empty config). */
static int revision_text(struct hnv_core *c, unsigned rev, char **text, size_t *len, char *err,
			 size_t errlen)
{
	if (rev == 0) {
		*text = calloc(1, 1);
		*len = 0;
		return *text ? 0 : -ENOMEM;
	}
	int rc = hnv_store_revision(c->store, rev, text, len);
	if (rc == -ENOENT)
		hnv_seterr(err, errlen, "revision %u is not kept (see show revisions)", rev);
	else if (rc)
		hnv_seterr(err, errlen, "cannot read revision %u: %s", rev, strerror(-rc));
	return rc;
}

/* Loads revision rev and installs it as a new revision. */
static int restore(struct hnv_core *c, unsigned rev, unsigned *newrev, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc = revision_text(c, rev, &text, &len, err, errlen);
	if (rc)
		return rc;
	struct hnv_model *m;
	char e[512];
	rc = hnv_model_load(text, len, &m, e, sizeof(e));
	explicit_bzero(text, len);
	free(text);
	if (rc) {
		hnv_seterr(err, errlen, "revision %u: %s", rev, e);
		return rc;
	}
	return install(c, m, newrev, err, errlen);
}

int hnv_core_open(const char *state_dir, struct hnv_core **out, char *err, size_t errlen)
{
	struct hnv_core *c = calloc(1, sizeof(*c));
	if (!c || !(c->dir = strdup(state_dir))) {
		free(c);
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc;
	char e[512];
	char *text = NULL;
	size_t len = 0;
	/* the store creates the directory and locks it against a second
	 * daemon */
	if ((rc = hnv_store_open(state_dir, &c->store, e, sizeof(e)))) {
		hnv_seterr(err, errlen, "%s", e);
		goto fail;
	}
	if ((rc = hnv_store_load(c->store, &text, &len, &c->rev))) {
		hnv_seterr(err, errlen, "cannot read %s/hnvgw.conf: %s", state_dir, strerror(-rc));
		goto fail;
	}
	rc = hnv_model_load(text, len, &c->model, e, sizeof(e));
	explicit_bzero(text, len);
	free(text);
	if (rc) {
		hnv_seterr(err, errlen, "%s/hnvgw.conf: %s", state_dir, e);
		goto fail;
	}
	struct hnv_dp *dp;
	if ((rc = hnv_model_build_dp(c->model, &dp, e, sizeof(e)))) {
		hnv_seterr(err, errlen, "%s/hnvgw.conf: %s", state_dir, e);
		goto fail;
	}
	swap_dp(c, dp);
	confirm_load(c);
	*out = c;
	return 0;
fail:
	hnv_core_close(c);
	return rc;
}

void hnv_core_close(struct hnv_core *c)
{
	if (!c)
		return;
	if (c->dp) {
		urcu_qsbr_synchronize_rcu();
		hnv_dp_free(c->dp);
	}
	hnv_model_free(c->model);
	hnv_store_close(c->store);
	free(c->dir);
	free(c);
}

int hnv_core_attach_fwd(struct hnv_core *c, struct hnv_fwd *f, char *err, size_t errlen)
{
	c->fwd = NULL;
	if (!f)
		return 0;
	int rc = hnv_fwd_prepare(f, c->dp, err, errlen);
	if (rc)
		return rc;
	hnv_fwd_publish(f);
	c->fwd = f;
	return 0;
}

static json_object *rev_result(unsigned rev)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "rev", json_object_new_int64(rev));
	return o;
}

int hnv_core_exec(struct hnv_core *c, const char *const *lines, size_t n, unsigned confirm,
		  json_object **result, char *err, size_t errlen)
{
	if (n == 0) {
		hnv_seterr(err, errlen, "empty transaction");
		return -EINVAL;
	}
	if (c->exec_hook) {
		int hrc = c->exec_hook(c->exec_hook_arg, lines, n, confirm, result, err, errlen);
		if (hrc != 1) {
			if (hrc)
				scrub_secrets(err, errlen, lines, n);
			return hrc;
		}
	}
	struct hnv_model *next;
	unsigned prev = c->rev, rev;
	int rc = hnv_model_transact(c->model, lines, n, &next, err, errlen);
	if (rc == 0)
		rc = install(c, next, &rev, err, errlen);
	if (rc) {
		scrub_secrets(err, errlen, lines, n);
		return rc;
	}
	*result = rev_result(rev);
	if (confirm) {
		if (!c->confirm.armed)
			c->confirm.back = prev;
		c->confirm.armed = true;
		c->confirm.rev = rev;
		c->confirm.seconds = confirm;
		c->confirm.deadline_ms = hnv_mono_ms() + (long)confirm * 1000;
		int src = confirm_save(c, (long)confirm * 1000);
		if (src)
			hnv_log(HNV_LOG_WARNING,
				"commit confirm of revision %u not persisted (%s): a restart "
				"before the deadline keeps the change",
				rev, strerror(-src));
		hnv_log(HNV_LOG_NOTICE,
			"revision %u waits for commit confirm: back to revision %u in %u s "
			"unless confirmed",
			rev, c->confirm.back, confirm);
		json_object_object_add(*result, "confirm", json_object_new_int64(confirm));
		json_object_object_add(*result, "rollback_to",
				       json_object_new_int64(c->confirm.back));
	} else if (c->confirm.armed) {
		hnv_log(HNV_LOG_NOTICE, "revision %u confirmed by the commit of revision %u",
			c->confirm.rev, rev);
		confirm_disarm(c);
	}
	return 0;
}

int hnv_core_confirm(struct hnv_core *c, json_object **result, char *err, size_t errlen)
{
	if (!c->confirm.armed) {
		hnv_seterr(err, errlen, "no commit is waiting for confirmation");
		return -ENOENT;
	}
	hnv_log(HNV_LOG_NOTICE, "revision %u confirmed", c->confirm.rev);
	*result = rev_result(c->confirm.rev);
	confirm_disarm(c);
	return 0;
}

int hnv_core_rollback(struct hnv_core *c, unsigned rev, json_object **result, char *err,
		      size_t errlen)
{
	unsigned newrev;
	int rc = restore(c, rev, &newrev, err, errlen);
	if (rc)
		return rc;
	if (c->confirm.armed) {
		hnv_log(HNV_LOG_NOTICE, "commit confirm of revision %u ended by rollback",
			c->confirm.rev);
		confirm_disarm(c);
	}
	*result = rev_result(newrev);
	json_object_object_add(*result, "restored", json_object_new_int64(rev));
	return 0;
}

/* Per-port I/O counters, in the rows of show counters: "PORT.COUNTER". */
static void port_counter_row(const char *port, const char *counter, uint64_t value,
			     bool is_error, void *arg)
{
	char name[HNV_NAME_MAX + 32];
	snprintf(name, sizeof(name), "%s.%s", port, counter);
	json_object *r = json_object_new_object();
	json_object_object_add(r, "counter", json_object_new_string(name));
	json_object_object_add(r, "value", json_object_new_uint64(value));
	json_object_object_add(r, "drop", json_object_new_boolean(is_error));
	json_object_object_add(r, "description",
			       json_object_new_string("I/O counter of a host-edge port"));
	json_object_array_add((json_object *)arg, r);
}

static json_object *counter_rows(struct hnv_core *c)
{
	uint64_t cnt[HNV_R__COUNT];
	hnv_dp_counters(c->dp, cnt);
	json_object *rows = json_object_new_array();
	for (unsigned i = 0; i < HNV_R__COUNT; i++) {
		json_object *r = json_object_new_object();
		json_object_object_add(r, "counter", json_object_new_string(hnv_reason_name(i)));
		json_object_object_add(r, "value",
				       json_object_new_uint64(cnt[i] + c->counters_base[i]));
		json_object_object_add(r, "drop", json_object_new_boolean(hnv_reason_is_drop(i)));
		json_object_object_add(r, "description",
				       json_object_new_string(hnv_reason_text(i)));
		json_object_array_add(rows, r);
	}
	if (c->fwd)
		hnv_fwd_stats(c->fwd, port_counter_row, rows);
	return rows;
}

int hnv_core_show(struct hnv_core *c, const char *what, bool secrets, json_object **result,
		  char *err, size_t errlen)
{
	if (strcmp(what, "counters") == 0) {
		*result = counter_rows(c);
		return 0;
	}
	for (size_t i = 0; i < c->n_status; i++)
		if (strcmp(what, c->status[i].what) == 0) {
			*result = c->status[i].fn(c->status[i].arg);
			if (*result == NULL) {
				hnv_seterr(err, errlen, "show %s: out of memory", what);
				return -ENOMEM;
			}
			return 0;
		}
	if (strcmp(what, "config") == 0) {
		char *text = hnv_model_text(c->model, secrets);
		if (!text) {
			hnv_seterr(err, errlen, "out of memory");
			return -ENOMEM;
		}
		*result = json_object_new_string(text);
		explicit_bzero(text, strlen(text));
		free(text);
		return 0;
	}
	if (strcmp(what, "revisions") == 0) {
		unsigned *revs;
		size_t n;
		int rc = hnv_store_revisions(c->store, &revs, &n);
		if (rc) {
			hnv_seterr(err, errlen, "cannot list revisions: %s", strerror(-rc));
			return rc;
		}
		json_object *rows = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			json_object *r = json_object_new_object();
			json_object_object_add(r, "rev", json_object_new_int64(revs[i]));
			json_object_object_add(r, "current",
					       json_object_new_boolean(revs[i] == c->rev));
			json_object_array_add(rows, r);
		}
		free(revs);
		*result = rows;
		return 0;
	}
	int rc = hnv_model_show(c->model, what, secrets, result);
	if (rc == -EINVAL)
		hnv_seterr(err, errlen, "unknown show target \"%s\"", what);
	else if (rc)
		hnv_seterr(err, errlen, "show %s: %s", what, strerror(-rc));
	return rc;
}

int hnv_core_diff(struct hnv_core *c, unsigned from, unsigned to, json_object **result, char *err,
		  size_t errlen)
{
	char *text;
	size_t len;
	unsigned revs[2] = {from, to};
	for (int i = 0; i < 2; i++) {
		int rc = revision_text(c, revs[i], &text, &len, err, errlen);
		if (rc)
			return rc;
		explicit_bzero(text, len);
		free(text);
	}
	char *out;
	int rc = hnv_store_diff(c->store, from, to, &out);
	if (rc) {
		hnv_seterr(err, errlen, "diff of revisions %u and %u: %s", from, to, strerror(-rc));
		return rc;
	}
	*result = json_object_new_string(out);
	free(out);
	return 0;
}

/* One record in the format of hnvgw-dp replay --trace. */
static json_object *trace_row(unsigned idx, const struct hnv_fwd_trace_rec *r)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "packet", json_object_new_int((int)idx));
	json_object_object_add(o, "ingress", json_object_new_string(r->ingress));
	json_object *st = json_object_new_array();
	for (unsigned i = 0; i < r->trace.n && i < HNV_TRACE_STEPS; i++) {
		json_object *x = json_object_new_object();
		json_object_object_add(
			x, "stage", json_object_new_string(hnv_stage_name(r->trace.step[i].stage)));
		json_object_object_add(x, "decision",
				       json_object_new_string(r->trace.step[i].text));
		json_object_array_add(st, x);
	}
	json_object_object_add(o, "stages", st);
	bool drop = hnv_reason_is_drop(r->reason);
	json_object_object_add(o, "verdict", json_object_new_string(drop ? "drop" : "forward"));
	if (!drop)
		json_object_object_add(o, "egress", json_object_new_string(r->egress));
	json_object_object_add(o, "vsid", json_object_new_int64(r->vsid));
	json_object_object_add(o, "counter", json_object_new_string(hnv_reason_name(r->reason)));
	return o;
}

int hnv_core_trace(struct hnv_core *c, unsigned count, const char *port, uint64_t session,
		   json_object **result, char *err, size_t errlen)
{
	if (!c->fwd) {
		hnv_seterr(err, errlen, "trace needs a host edge: this hnvgwd runs without --uplink");
		return -EOPNOTSUPP;
	}
	json_object *o;
	if (count) {
		uint64_t id;
		int rc = hnv_fwd_trace_start(c->fwd, count, port, &id, err, errlen);
		if (rc)
			return rc;
		o = json_object_new_object();
		json_object_object_add(o, "session", json_object_new_int64((int64_t)id));
		json_object_object_add(o, "count", json_object_new_int((int)count));
		*result = o;
		return 0;
	}
	const struct hnv_fwd_trace_rec *recs;
	unsigned n;
	if (hnv_fwd_trace_read(c->fwd, session, &recs, &n)) {
		hnv_seterr(err, errlen, "trace session %llu is not the current one (another trace "
		       "started since)", (unsigned long long)session);
		return -ESTALE;
	}
	json_object *rows = json_object_new_array();
	for (unsigned i = 0; i < n; i++)
		json_object_array_add(rows, trace_row(i, &recs[i]));
	o = json_object_new_object();
	json_object_object_add(o, "session", json_object_new_int64((int64_t)session));
	json_object_object_add(o, "records", rows);
	*result = o;
	return 0;
}

int hnv_core_nexthop(struct hnv_core *c, uint32_t vsid, const struct hnv_ip *src,
		     const struct hnv_ip *dst, json_object **result, char *err, size_t errlen)
{
	return hnv_nexthop(c->model, vsid, src, dst, result, err, errlen);
}

int hnv_core_reload(struct hnv_core *c, char *err, size_t errlen)
{
	char *text, *cur;
	size_t len;
	unsigned rev;
	int rc = hnv_store_load(c->store, &text, &len, &rev);
	if (rc) {
		hnv_seterr(err, errlen, "cannot read %s/hnvgw.conf: %s", c->dir, strerror(-rc));
		return rc;
	}
	cur = hnv_model_text(c->model, true);
	bool same = cur && strlen(cur) == len && memcmp(cur, text, len) == 0;
	if (cur) {
		explicit_bzero(cur, strlen(cur));
		free(cur);
	}
	if (same) {
		explicit_bzero(text, len);
		free(text);
		hnv_log(HNV_LOG_INFO, "reload: %s/hnvgw.conf unchanged", c->dir);
		return 0;
	}
	struct hnv_model *m;
	char e[512];
	rc = hnv_model_load(text, len, &m, e, sizeof(e));
	explicit_bzero(text, len);
	free(text);
	if (rc) {
		hnv_seterr(err, errlen, "%s/hnvgw.conf: %s; running configuration kept", c->dir, e);
		return rc;
	}
	if ((rc = install(c, m, &rev, err, errlen)))
		return rc;
	confirm_disarm(c);
	hnv_log(HNV_LOG_NOTICE, "reload: %s/hnvgw.conf applied as revision %u", c->dir, rev);
	return 0;
}

int hnv_core_timeout_ms(const struct hnv_core *c)
{
	if (!c->confirm.armed)
		return -1;
	long left = c->confirm.deadline_ms - hnv_mono_ms();
	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

void hnv_core_tick(struct hnv_core *c)
{
	if (!c->confirm.armed || hnv_core_timeout_ms(c) > 0)
		return;
	char err[512];
	unsigned newrev, waiting = c->confirm.rev, back = c->confirm.back;
	int rc = restore(c, back, &newrev, err, sizeof(err));
	if (rc) {
		hnv_log(HNV_LOG_ERR,
			"commit confirm of revision %u timed out but rolling back to revision "
			"%u failed: %s; retrying in %d s",
			waiting, back, err, CONFIRM_RETRY_MS / 1000);
		c->confirm.deadline_ms = hnv_mono_ms() + CONFIRM_RETRY_MS;
		return;
	}
	hnv_log(HNV_LOG_WARNING,
		"revision %u was not confirmed within %u s: rolled back to revision %u "
		"(now revision %u)",
		waiting, c->confirm.seconds, back, newrev);
	confirm_disarm(c);
}

json_object *hnv_reply_error(const char *msg)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "v", json_object_new_int(HNV_API_VERSION));
	json_object_object_add(o, "ok", json_object_new_boolean(false));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

static struct hnv_ratelimit rl_refused, rl_denied;

static void log_change(const struct hnv_request *req, const struct hnv_peer *peer, int rc,
		       const char *err, const json_object *res)
{
	const char *op = hnv_op_name(req->op);
	if (rc) {
		hnv_log_rl(&rl_refused, HNV_LOG_NOTICE, "%s by uid %u pid %d refused: %s", op,
			   peer->uid, peer->pid, err);
		return;
	}
	json_object *r;
	long long rev = json_object_object_get_ex(res, "rev", &r) ? json_object_get_int64(r) : 0;
	if (req->op != HNV_OP_EXEC) {
		hnv_log(HNV_LOG_NOTICE, "%s by uid %u pid %d: revision %lld", op, peer->uid,
			peer->pid, rev);
		return;
	}
	const char *const *lines = (const char *const *)req->u.exec.lines;
	size_t n = req->u.exec.n;
	bool secret = has_s2s(lines, n);
	hnv_log(HNV_LOG_NOTICE, "exec by uid %u pid %d: %zu line%s%s: committed revision %lld",
		peer->uid, peer->pid, n, n == 1 ? "" : "s",
		secret ? " (s2s: values not logged)" : "", rev);
	if (!secret)
		for (size_t i = 0; i < n; i++)
			hnv_log(HNV_LOG_DEBUG, "  %s", lines[i]);
}

json_object *hnv_core_handle(struct hnv_core *c, const struct hnv_request *req,
			     const struct hnv_peer *peer)
{
	char err[1024] = "";
	json_object *res = NULL;
	int rc;
	if (hnv_op_changes(req->op) && !peer->root) {
		hnv_seterr(err, sizeof(err),
		       "permission denied: \"%s\" changes the configuration and needs root; "
		       "uid %u may only use show, diff and nexthop",
		       hnv_op_name(req->op), peer->uid);
		hnv_log_rl(&rl_denied, HNV_LOG_NOTICE, "%s by uid %u pid %d: permission denied",
			   hnv_op_name(req->op), peer->uid, peer->pid);
		return hnv_reply_error(err);
	}
	switch (req->op) {
	case HNV_OP_EXEC:
		rc = hnv_core_exec(c, (const char *const *)req->u.exec.lines, req->u.exec.n,
				   req->u.exec.confirm, &res, err, sizeof(err));
		break;
	case HNV_OP_COMMIT_CONFIRM:
		rc = hnv_core_confirm(c, &res, err, sizeof(err));
		break;
	case HNV_OP_ROLLBACK:
		rc = hnv_core_rollback(c, req->u.rollback.rev, &res, err, sizeof(err));
		break;
	case HNV_OP_SHOW:
		rc = hnv_core_show(c, req->u.show.what, req->u.show.secrets && peer->root, &res,
				   err, sizeof(err));
		break;
	case HNV_OP_DIFF:
		rc = hnv_core_diff(c, req->u.diff.from, req->u.diff.to, &res, err, sizeof(err));
		break;
	case HNV_OP_NEXTHOP:
		rc = hnv_core_nexthop(c, req->u.nexthop.vsid,
				      req->u.nexthop.has_src ? &req->u.nexthop.src : NULL,
				      &req->u.nexthop.dst, &res, err, sizeof(err));
		break;
	case HNV_OP_S2S:
		if (!c->s2s_ctl) {
			rc = -ENOTSUP;
			hnv_seterr(err, sizeof(err),
			       "s2s %s: this hnvgwd has no gateway role (start it with --uplink)",
			       req->u.s2s.up ? "up" : "down");
			break;
		}
		rc = c->s2s_ctl(c->s2s_arg, req->u.s2s.name, req->u.s2s.up, err, sizeof(err));
		if (rc == 0)
			res = json_object_new_object();
		break;
	case HNV_OP_TRACE:
		if (!peer->root) {
			rc = -EPERM;
			hnv_seterr(err, sizeof(err),
			       "permission denied: trace shows live traffic and needs root");
			break;
		}
		rc = hnv_core_trace(c, req->u.trace.count,
				    req->u.trace.has_port ? req->u.trace.port : NULL,
				    req->u.trace.session, &res, err, sizeof(err));
		break;
	default:
		rc = -EINVAL;
		hnv_seterr(err, sizeof(err), "unknown op");
	}
	if (!err[0])
		hnv_seterr(err, sizeof(err), "%s failed: %s", hnv_op_name(req->op), strerror(-rc));
	if (hnv_op_changes(req->op))
		log_change(req, peer, rc, err, res);
	else
		hnv_log(HNV_LOG_DEBUG, "%s by uid %u pid %d: %s", hnv_op_name(req->op), peer->uid,
			peer->pid, rc ? err : "ok");
	if (rc)
		return hnv_reply_error(err);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "v", json_object_new_int(HNV_API_VERSION));
	json_object_object_add(o, "ok", json_object_new_boolean(true));
	json_object_object_add(o, "result", res);
	return o;
}

/* ==== control socket ==== */

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
