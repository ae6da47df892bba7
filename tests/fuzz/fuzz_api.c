/* fuzz_api.c: libFuzzer harness for the control protocol's request parser
 * and validator (hnv_request_parse in mgmt/api.c, protocol in
 * mgmt/api.h).
 *
 * 1. The input as one request line. A rejection must leave a message and
 *    a zeroed request; an acceptance must satisfy every promise of
 *    api.h: a known op, exec lines NUL-terminated, inside the buffer and
 *    free of line breaks, counts and numbers in range, a "what" of
 *    [a-z0-9-].
 * 2. Round trip: an accepted request, encoded again as JSON, must parse to
 *    the same typed request.
 * 3. hnv_scrub_secrets on a message holding every accepted exec line: the
 *    PSK of a line that parses as "s2s add" is gone from it, and the
 *    message stays NUL-terminated inside its buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../mgmt/api.h"
#include "../../mgmt/conftext.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

static json_object *encode(const struct hnv_request *r)
{
	char ip[64];
	json_object *o = json_object_new_object();
	json_object_object_add(o, "v", json_object_new_int(HNV_API_VERSION));
	json_object_object_add(o, "op", json_object_new_string(hnv_op_name(r->op)));
	switch (r->op) {
	case HNV_OP_EXEC: {
		json_object *a = json_object_new_array();
		for (size_t i = 0; i < r->u.exec.n; i++)
			json_object_array_add(a, json_object_new_string(r->u.exec.lines[i]));
		json_object_object_add(o, "lines", a);
		if (r->u.exec.confirm)
			json_object_object_add(o, "confirm",
					       json_object_new_int64(r->u.exec.confirm));
		break;
	}
	case HNV_OP_COMMIT_CONFIRM:
		break;
	case HNV_OP_SHOW:
		json_object_object_add(o, "what", json_object_new_string(r->u.show.what));
		json_object_object_add(o, "secrets", json_object_new_boolean(r->u.show.secrets));
		break;
	case HNV_OP_DIFF:
		json_object_object_add(o, "from", json_object_new_int64(r->u.diff.from));
		json_object_object_add(o, "to", json_object_new_int64(r->u.diff.to));
		break;
	case HNV_OP_ROLLBACK:
		json_object_object_add(o, "rev", json_object_new_int64(r->u.rollback.rev));
		break;
	case HNV_OP_NEXTHOP:
		json_object_object_add(o, "vsid", json_object_new_int64(r->u.nexthop.vsid));
		if (r->u.nexthop.has_src) {
			hnv_fmt_ip(&r->u.nexthop.src, ip, sizeof(ip));
			json_object_object_add(o, "src", json_object_new_string(ip));
		}
		hnv_fmt_ip(&r->u.nexthop.dst, ip, sizeof(ip));
		json_object_object_add(o, "dst", json_object_new_string(ip));
		break;
	case HNV_OP_TRACE:
		if (r->u.trace.count)
			json_object_object_add(o, "count", json_object_new_int64(r->u.trace.count));
		else
			json_object_object_add(o, "session",
					       json_object_new_int64((int64_t)r->u.trace.session));
		if (r->u.trace.has_port)
			json_object_object_add(o, "port", json_object_new_string(r->u.trace.port));
		break;
	case HNV_OP_S2S:
		json_object_object_add(o, "name", json_object_new_string(r->u.s2s.name));
		json_object_object_add(o, "action",
				       json_object_new_string(r->u.s2s.up ? "up" : "down"));
		break;
	}
	return o;
}

static bool same(const struct hnv_request *a, const struct hnv_request *b)
{
	if (a->op != b->op)
		return false;
	switch (a->op) {
	case HNV_OP_EXEC:
		if (a->u.exec.n != b->u.exec.n || a->u.exec.confirm != b->u.exec.confirm)
			return false;
		for (size_t i = 0; i < a->u.exec.n; i++)
			if (strcmp(a->u.exec.lines[i], b->u.exec.lines[i]) != 0)
				return false;
		return true;
	case HNV_OP_COMMIT_CONFIRM:
		return true;
	case HNV_OP_SHOW:
		return strcmp(a->u.show.what, b->u.show.what) == 0 &&
		       a->u.show.secrets == b->u.show.secrets;
	case HNV_OP_DIFF:
		return a->u.diff.from == b->u.diff.from && a->u.diff.to == b->u.diff.to;
	case HNV_OP_ROLLBACK:
		return a->u.rollback.rev == b->u.rollback.rev;
	case HNV_OP_NEXTHOP:
		return a->u.nexthop.vsid == b->u.nexthop.vsid &&
		       a->u.nexthop.has_src == b->u.nexthop.has_src &&
		       (!a->u.nexthop.has_src || hnv_ip_eq(&a->u.nexthop.src, &b->u.nexthop.src)) &&
		       hnv_ip_eq(&a->u.nexthop.dst, &b->u.nexthop.dst);
	case HNV_OP_TRACE:
		return a->u.trace.count == b->u.trace.count &&
		       a->u.trace.session == b->u.trace.session &&
		       a->u.trace.has_port == b->u.trace.has_port &&
		       strcmp(a->u.trace.port, b->u.trace.port) == 0;
	case HNV_OP_S2S:
		return strcmp(a->u.s2s.name, b->u.s2s.name) == 0 && a->u.s2s.up == b->u.s2s.up;
	}
	return false;
}

/* A message quoting line (twice, and cut short by the buffer's end) keeps
 * no PSK of it once scrubbed. */
static void check_scrub(const char *line)
{
	char msg[1024];
	snprintf(msg, sizeof(msg), "line 1: %s: %s", line, line);
	hnv_scrub_secrets(msg, sizeof(msg), &line, 1);
	if (!memchr(msg, '\0', sizeof(msg)))
		abort();
	struct hnv_conf_cmd cmd;
	char err[256];
	if (hnv_conf_parse_line(line, &cmd, err, sizeof(err)) == 1 &&
	    cmd.kind == HNV_CONF_S2S_ADD && cmd.u.s2s.psk[0] && strstr(msg, cmd.u.s2s.psk))
		abort();
}

static void check_accepted(const struct hnv_request *r)
{
	switch (r->op) {
	case HNV_OP_EXEC: {
		if (r->u.exec.n < 1 || r->u.exec.n > HNV_EXEC_MAX_LINES ||
		    r->u.exec.confirm > HNV_CONFIRM_MAX)
			abort();
		const char *lo = r->u.exec.buf, *hi = r->u.exec.buf + r->u.exec.buflen;
		for (size_t i = 0; i < r->u.exec.n; i++) {
			const char *l = r->u.exec.lines[i];
			if (l < lo || l >= hi || (size_t)(hi - l) <= strlen(l) ||
			    strpbrk(l, "\r\n"))
				abort();
			check_scrub(l);
		}
		break;
	}
	case HNV_OP_SHOW: {
		size_t n = strlen(r->u.show.what);
		if (n < 1 || n > HNV_SHOW_WHAT_MAX ||
		    strspn(r->u.show.what, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
			abort();
		break;
	}
	case HNV_OP_DIFF:
		if (!r->u.diff.from || !r->u.diff.to)
			abort();
		break;
	case HNV_OP_ROLLBACK:
		if (!r->u.rollback.rev)
			abort();
		break;
	case HNV_OP_NEXTHOP:
		if (r->u.nexthop.vsid < HNV_VSID_MIN || r->u.nexthop.vsid > HNV_VSID_MAX)
			abort();
		break;
	case HNV_OP_TRACE:
		/* exactly one of count (1..64) and session; a port only with count */
		if ((r->u.trace.count == 0) == (r->u.trace.session == 0) || r->u.trace.count > 64 ||
		    (r->u.trace.has_port && !r->u.trace.count) ||
		    (r->u.trace.has_port && !r->u.trace.port[0]))
			abort();
		break;
	case HNV_OP_S2S: {
		size_t n = strlen(r->u.s2s.name);
		if (n < 1 || n > HNV_NAME_MAX)
			abort();
		break;
	}
	case HNV_OP_COMMIT_CONFIRM:
		break;
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	struct hnv_request req;
	char err[512];
	err[0] = '\0';
	if (hnv_request_parse((const char *)buf, len, &req, err, sizeof(err))) {
		static const struct hnv_request zero;
		if (!err[0] || memchr(err, '\0', sizeof(err)) == NULL ||
		    memcmp(&req, &zero, sizeof(req)) != 0)
			abort();
		return 0;
	}
	check_accepted(&req);

	json_object *o = encode(&req);
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	struct hnv_request again;
	if (hnv_request_parse(s, strlen(s), &again, err, sizeof(err))) {
		fprintf(stderr, "re-encoded request refused: %s\n%s\n", err, s);
		abort();
	}
	if (!same(&req, &again))
		abort();
	hnv_request_clear(&again);
	json_object_put(o);
	hnv_request_clear(&req);
	return 0;
}
