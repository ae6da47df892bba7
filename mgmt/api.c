/* api.c: the control protocol's request codec and replies (see api.h for
 * the contracts). Pure functions: no daemon state. */
#include "api.h"

#include "../datapath/io/fwd.h"
#include "../lib/addr.h"
#include "../lib/err.h"
#include "conftext.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- requests ---- */

static const char *const op_names[] = {
	[HNV_OP_EXEC] = "exec",         [HNV_OP_COMMIT_CONFIRM] = "commit-confirm",
	[HNV_OP_SHOW] = "show",         [HNV_OP_DIFF] = "diff",
	[HNV_OP_ROLLBACK] = "rollback", [HNV_OP_NEXTHOP] = "nexthop",
	[HNV_OP_TRACE] = "trace",       [HNV_OP_S2S] = "s2s",
};

/* The fields each op accepts besides "v" and "op"; NULL-terminated. */
static const char *const op_fields[][8] = {
	[HNV_OP_EXEC] = {"lines", "confirm", "more", NULL},
	[HNV_OP_COMMIT_CONFIRM] = {NULL},
	[HNV_OP_SHOW] = {"what", "secrets", "offset", "vsid", "ca", "pa", NULL},
	[HNV_OP_DIFF] = {"from", "to", "offset", NULL},
	[HNV_OP_ROLLBACK] = {"rev", NULL},
	[HNV_OP_NEXTHOP] = {"vsid", "src", "dst", NULL},
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

/* A boolean field; absent: *out unchanged. */
static int get_bool(json_object *o, const char *key, bool *out, char *err, size_t errlen)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		hnv_seterr(err, errlen, "\"%s\" must be true or false", key);
		return -EINVAL;
	}
	*out = json_object_get_boolean(v);
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
		hnv_seterr(err, errlen, "\"lines\" must hold 1-%d lines, not %zu",
			   HNV_EXEC_MAX_LINES, n);
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
			hnv_seterr(err, errlen,
				   "\"lines\"[%zu] contains a NUL byte or a line break", i);
			return -EINVAL;
		}
		total += len + 1;
	}
	int64_t confirm = 0;
	int rc = get_uint(o, "confirm", 1, HNV_CONFIRM_MAX, false, &confirm, err, errlen);
	if (rc && rc != -ENOENT)
		return rc;
	bool more = false;
	if ((rc = get_bool(o, "more", &more, err, errlen)))
		return rc;
	if (more && confirm) {
		hnv_seterr(err, errlen, "\"confirm\" belongs to the last chunk (without \"more\")");
		return -EINVAL;
	}
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
	req->u.exec.more = more;
	return 0;
}

/* "offset": a page from row or line K (api.h); absent: no paging. */
static int get_offset(json_object *o, bool *paged, uint64_t *offset, char *err, size_t errlen)
{
	int64_t k;
	int rc = get_uint(o, "offset", 0, INT64_MAX, false, &k, err, errlen);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	*paged = true;
	*offset = (uint64_t)k;
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
	if ((rc = get_bool(o, "secrets", &req->u.show.secrets, err, errlen)) ||
	    (rc = get_offset(o, &req->u.show.paged, &req->u.show.offset, err, errlen)))
		return rc;
	int64_t vsid;
	rc = get_uint(o, "vsid", HNV_VSID_MIN, HNV_VSID_MAX, false, &vsid, err, errlen);
	if (rc && rc != -ENOENT)
		return rc;
	req->u.show.has_vsid = rc == 0;
	req->u.show.vsid = rc == 0 ? (uint32_t)vsid : 0;
	if ((rc = parse_ip_field(o, "ca", false, &req->u.show.has_ca, &req->u.show.ca, err,
				 errlen)) ||
	    (rc = parse_ip_field(o, "pa", false, &req->u.show.has_pa, &req->u.show.pa, err,
				 errlen)))
		return rc;
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
			hnv_seterr(err, errlen,
				   "a \"trace\" request needs \"count\" or \"session\"");
		return -EINVAL;
	} else {
		req->u.trace.session = (uint64_t)a;
	}
	if (req->u.trace.count && json_object_object_get_ex(o, "session", NULL)) {
		hnv_seterr(err, errlen,
			   "a \"trace\" request has \"count\" or \"session\", not both");
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
		hnv_seterr(err, errlen, "\"port\": \"%s\" is not a port name (with \"count\" only)",
			   v);
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
		return get_offset(o, &req->u.diff.paged, &req->u.diff.offset, err, errlen);
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
		if ((len == 2 && memcmp(s, "up", 2) == 0) ||
		    (len == 4 && memcmp(s, "down", 4) == 0)) {
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
			hnv_seterr(err, errlen, "malformed JSON: data after the object at byte %zu",
				   i);
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

/* ---- replies ---- */

json_object *hnv_reply_error(const char *msg)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "v", json_object_new_int(HNV_API_VERSION));
	json_object_object_add(o, "ok", json_object_new_boolean(false));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

json_object *hnv_reply_ok(json_object *result)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "v", json_object_new_int(HNV_API_VERSION));
	json_object_object_add(o, "ok", json_object_new_boolean(true));
	json_object_object_add(o, "result", result);
	return o;
}

/* ---- secrets ---- */

/* Replaces each occurrence of secret in msg with <secret>, truncating what
 * no longer fits. */
static void mask(char *msg, size_t msglen, const char *secret)
{
	static const char text[] = "<secret>";
	size_t vl = strlen(secret);
	char *hit;
	while ((hit = strstr(msg, secret))) {
		size_t tail = strlen(hit + vl);
		size_t room = msglen - (size_t)(hit - msg) - 1;
		size_t ml = sizeof(text) - 1;
		if (ml > room)
			ml = room;
		if (tail > room - ml)
			tail = room - ml;
		memmove(hit + ml, hit + vl, tail);
		memcpy(hit, text, ml);
		hit[ml + tail] = '\0';
	}
}

void hnv_scrub_secrets(char *msg, size_t msglen, const char *const *lines, size_t n)
{
	if (!msg || msglen == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct hnv_conf_cmd cmd;
		char e[256];
		if (hnv_conf_parse_line(lines[i], &cmd, e, sizeof(e)) == 1 &&
		    cmd.kind == HNV_CONF_S2S_ADD && cmd.u.s2s.psk[0])
			mask(msg, msglen, cmd.u.s2s.psk);
		explicit_bzero(&cmd, sizeof(cmd));
	}
}
