/* etcd.c: etcd v3 over the JSON gateway. See etcd.h. */
#include "etcd.h"
#include "../lib/err.h"
#include "../lib/vec.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- base64 ---- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *hnv_b64_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*o++ = b64chars[(v >> 18) & 63];
		*o++ = b64chars[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? b64chars[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int b64val(char c)
{
	const char *p = c ? strchr(b64chars, c) : NULL;
	return p ? (int)(p - b64chars) : -1;
}

int hnv_b64_decode(const char *text, size_t len, char **out, size_t *outlen)
{
	if (len % 4)
		return -EINVAL;
	char *buf = malloc(len / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		for (int j = 0; j < 4; j++) {
			char c = text[i + j];
			if (c == '=' && i + 4 == len && j >= 2) {
				v[j] = 0;
				pad++;
			} else if (pad || (v[j] = b64val(c)) < 0) {
				free(buf);
				return -EINVAL;
			}
		}
		uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			     (uint32_t)v[3];
		buf[n++] = (char)(x >> 16);
		if (pad < 2)
			buf[n++] = (char)(x >> 8);
		if (pad < 1)
			buf[n++] = (char)x;
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return 0;
}

/* ---- JSON field helpers (untrusted input) ---- */

/* An int64 sent as a JSON string of digits (or a JSON integer); absent is
 * 0 (proto3 omits zero values). */
static int get_i64(json_object *o, const char *k, int64_t *out, char *err, size_t errlen)
{
	json_object *v;
	*out = 0;
	if (!json_object_object_get_ex(o, k, &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
	} else if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		size_t l = (size_t)json_object_get_string_len(v);
		if (l == 0 || l > 19 || strspn(s, "0123456789") != l) {
			hnv_seterr(err, errlen, "etcd reply: field \"%s\" is not a number", k);
			return -EPROTO;
		}
		*out = strtoll(s, NULL, 10);
	} else {
		hnv_seterr(err, errlen, "etcd reply: field \"%s\" is not a number", k);
		return -EPROTO;
	}
	if (*out < 0) {
		hnv_seterr(err, errlen, "etcd reply: field \"%s\" is negative", k);
		return -EPROTO;
	}
	return 0;
}

/* A base64 bytes field; absent is empty. */
static int get_bytes(json_object *o, const char *k, char **out, size_t *len, char *err,
		     size_t errlen)
{
	json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || v == NULL) {
		*out = calloc(1, 1);
		*len = 0;
		return *out ? 0 : -ENOMEM;
	}
	if (!json_object_is_type(v, json_type_string)) {
		hnv_seterr(err, errlen, "etcd reply: field \"%s\" is not a string", k);
		return -EPROTO;
	}
	int rc = hnv_b64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v),
				out, len);
	if (rc == -EINVAL)
		hnv_seterr(err, errlen, "etcd reply: field \"%s\" is not base64", k);
	return rc == -EINVAL ? -EPROTO : rc;
}

static int get_obj(json_object *o, const char *k, json_type t, json_object **out, char *err,
		   size_t errlen)
{
	*out = NULL;
	if (!json_object_object_get_ex(o, k, out) || *out == NULL)
		return 0;
	if (!json_object_is_type(*out, t)) {
		hnv_seterr(err, errlen, "etcd reply: field \"%s\" has the wrong type", k);
		return -EPROTO;
	}
	return 0;
}

static int parse_kv(json_object *o, struct hnv_etcd_kv *kv, char *err, size_t errlen)
{
	memset(kv, 0, sizeof(*kv));
	if (!json_object_is_type(o, json_type_object)) {
		hnv_seterr(err, errlen, "etcd reply: a key-value is not an object");
		return -EPROTO;
	}
	int rc;
	if ((rc = get_bytes(o, "key", &kv->key, &kv->keylen, err, errlen)) ||
	    (rc = get_bytes(o, "value", &kv->value, &kv->vlen, err, errlen)) ||
	    (rc = get_i64(o, "create_revision", &kv->create_rev, err, errlen)) ||
	    (rc = get_i64(o, "mod_revision", &kv->mod_rev, err, errlen)) ||
	    (rc = get_i64(o, "lease", &kv->lease, err, errlen))) {
		free(kv->key);
		free(kv->value);
		memset(kv, 0, sizeof(*kv));
		return rc;
	}
	if (kv->keylen == 0) {
		free(kv->key);
		free(kv->value);
		memset(kv, 0, sizeof(*kv));
		hnv_seterr(err, errlen, "etcd reply: empty key");
		return -EPROTO;
	}
	return 0;
}

static int header_rev(json_object *o, int64_t *rev, char *err, size_t errlen)
{
	json_object *h;
	int rc = get_obj(o, "header", json_type_object, &h, err, errlen);
	if (rc)
		return rc;
	if (!h) {
		hnv_seterr(err, errlen, "etcd reply: no header");
		return -EPROTO;
	}
	return get_i64(h, "revision", rev, err, errlen);
}

/* A gateway error object: {"error": "...", "code": N, "message": "..."}. */
static int error_object(json_object *o, char *err, size_t errlen)
{
	json_object *e;
	if (!json_object_object_get_ex(o, "error", &e))
		return 0;
	json_object *m = NULL;
	json_object_object_get_ex(o, "message", &m);
	if (json_object_is_type(e, json_type_object))
		json_object_object_get_ex(e, "message", &m);
	const char *msg = m && json_object_is_type(m, json_type_string) ? json_object_get_string(m)
			  : e && json_object_is_type(e, json_type_string)
				  ? json_object_get_string(e)
				  : "unknown";
	hnv_seterr(err, errlen, "etcd: %.200s", msg);
	return -EPROTO;
}

static json_object *parse_text(const char *text, size_t len, char *err, size_t errlen)
{
	if (len > HNV_ETCD_MAX_REPLY || len > INT32_MAX) {
		hnv_seterr(err, errlen, "etcd reply too large (%zu bytes)", len);
		return NULL;
	}
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return NULL;
	json_object *o = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (end < len &&
	       (text[end] == ' ' || text[end] == '\t' || text[end] == '\r' || text[end] == '\n'))
		end++;
	if (!o || je != json_tokener_success || end != len ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		hnv_seterr(err, errlen, "etcd reply is not a JSON object");
		return NULL;
	}
	return o;
}

/* The JSON object at the start of an error reply: etcd 3.4's gateway may
 * append its gRPC trailer ("Grpc-Trailer-Content-Type: ...") to the body
 * of an error, after the object. NULL when there is none. */
static json_object *parse_error_text(const char *text, size_t len)
{
	if (len > 65536)
		return NULL;
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return NULL;
	json_object *o = json_tokener_parse_ex(tok, text, (int)len);
	json_tokener_free(tok);
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

void hnv_etcd_kvs_free(struct hnv_etcd_kvs *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++) {
		free(k->v[i].key);
		free(k->v[i].value);
	}
	free(k->v);
	memset(k, 0, sizeof(*k));
}

int hnv_etcd_parse_range(const char *text, size_t len, struct hnv_etcd_kvs *out, char *err,
			 size_t errlen)
{
	memset(out, 0, sizeof(*out));
	json_object *o = parse_text(text, len, err, errlen), *kvs, *more;
	if (!o)
		return -EPROTO;
	int rc = error_object(o, err, errlen);
	if (!rc)
		rc = header_rev(o, &out->revision, err, errlen);
	if (!rc)
		rc = get_obj(o, "kvs", json_type_array, &kvs, err, errlen);
	if (!rc)
		rc = get_obj(o, "more", json_type_boolean, &more, err, errlen);
	if (!rc && more)
		out->more = json_object_get_boolean(more);
	size_t n = !rc && kvs ? json_object_array_length(kvs) : 0;
	if (n && !(out->v = calloc(n, sizeof(*out->v))))
		rc = -ENOMEM;
	for (size_t i = 0; i < n && !rc; i++) {
		rc = parse_kv(json_object_array_get_idx(kvs, i), &out->v[i], err, errlen);
		if (!rc)
			out->n++;
	}
	json_object_put(o);
	if (rc)
		hnv_etcd_kvs_free(out);
	return rc;
}

int hnv_etcd_parse_txn(const char *text, size_t len, bool *succeeded, int64_t *rev,
		       int64_t *deleted, char *err, size_t errlen)
{
	json_object *o = parse_text(text, len, err, errlen), *s;
	if (!o)
		return -EPROTO;
	int64_t d = 0;
	int rc = error_object(o, err, errlen);
	if (!rc)
		rc = header_rev(o, rev, err, errlen);
	if (!rc)
		rc = get_obj(o, "succeeded", json_type_boolean, &s, err, errlen);
	if (!rc)
		rc = get_i64(o, "deleted", &d, err, errlen);
	if (!rc) {
		/* put and deleterange carry no "succeeded"; a failed txn omits
		 * it too (false is proto3's default) but has no "deleted" and
		 * is only asked for through hnv_etcd_txn_commit */
		*succeeded = s ? json_object_get_boolean(s) : false;
		if (deleted)
			*deleted = d;
	}
	json_object_put(o);
	return rc;
}

/* A TTL: like get_i64 but "-1" (timetolive of a lease etcd does not
 * know) is allowed. */
static int get_ttl(json_object *o, int64_t *out, char *err, size_t errlen)
{
	json_object *v;
	if (json_object_object_get_ex(o, "TTL", &v) && v &&
	    json_object_is_type(v, json_type_string) &&
	    strcmp(json_object_get_string(v), "-1") == 0) {
		*out = -1;
		return 0;
	}
	return get_i64(o, "TTL", out, err, errlen);
}

int hnv_etcd_parse_lease(const char *text, size_t len, enum hnv_etcd_lease_op op, int64_t want_id,
			 int64_t *id, int64_t *ttl, char *err, size_t errlen)
{
	json_object *o = parse_text(text, len, err, errlen), *body;
	if (!o)
		return -EPROTO;
	int64_t lid = 0, lttl = 0, rev;
	int rc = error_object(o, err, errlen);
	body = o;
	if (!rc && op == HNV_ETCD_LEASE_KEEPALIVE) {
		/* a reply of a stream: {"result": {...}} */
		rc = get_obj(o, "result", json_type_object, &body, err, errlen);
		if (!rc && !body) {
			hnv_seterr(err, errlen, "etcd reply: keepalive without \"result\"");
			rc = -EPROTO;
		}
		if (!rc)
			rc = error_object(body, err, errlen);
	}
	if (!rc)
		rc = header_rev(body, &rev, err, errlen);
	if (!rc && op != HNV_ETCD_LEASE_REVOKE) {
		if (!(rc = get_i64(body, "ID", &lid, err, errlen)))
			rc = get_ttl(body, &lttl, err, errlen);
		if (!rc && lid == 0) {
			hnv_seterr(err, errlen, "etcd reply: lease without ID");
			rc = -EPROTO;
		} else if (!rc && want_id > 0 && lid != want_id) {
			hnv_seterr(err, errlen, "etcd reply: lease %lld, not the %lld asked for",
				   (long long)lid, (long long)want_id);
			rc = -EPROTO;
		} else if (!rc && lttl > HNV_ETCD_TTL_MAX) {
			hnv_seterr(err, errlen, "etcd reply: lease TTL %lld out of range",
				   (long long)lttl);
			rc = -EPROTO;
		} else if (!rc && op == HNV_ETCD_LEASE_GRANT && lttl <= 0) {
			hnv_seterr(err, errlen, "etcd reply: lease granted with TTL %lld",
				   (long long)lttl);
			rc = -EPROTO;
		} else if (!rc && (op == HNV_ETCD_LEASE_KEEPALIVE ? lttl == 0 : lttl < 0) &&
			   op != HNV_ETCD_LEASE_GRANT) {
			hnv_seterr(err, errlen, "etcd: lease %lld not found", (long long)lid);
			rc = -ENOENT;
		} else if (!rc && op == HNV_ETCD_LEASE_KEEPALIVE && lttl < 0) {
			hnv_seterr(err, errlen, "etcd reply: keepalive TTL %lld", (long long)lttl);
			rc = -EPROTO;
		}
	}
	if (!rc) {
		if (id)
			*id = lid;
		if (ttl)
			*ttl = lttl;
	}
	json_object_put(o);
	return rc;
}

/* ---- watch stream ---- */

void hnv_etcd_watch_msg_free(struct hnv_etcd_watch_msg *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->ev[i].kv.key);
		free(m->ev[i].kv.value);
	}
	free(m->ev);
	memset(m, 0, sizeof(*m));
}

static int parse_watch_obj(json_object *o, struct hnv_etcd_watch_msg *m, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	json_object *r, *evs, *b;
	int rc = error_object(o, err, errlen);
	if (rc)
		return rc;
	if ((rc = get_obj(o, "result", json_type_object, &r, err, errlen)))
		return rc;
	if (!r) {
		hnv_seterr(err, errlen, "etcd watch: message without result");
		return -EPROTO;
	}
	if ((rc = header_rev(r, &m->revision, err, errlen)) ||
	    (rc = get_i64(r, "compact_revision", &m->compact_revision, err, errlen)) ||
	    (rc = get_obj(r, "events", json_type_array, &evs, err, errlen)))
		return rc;
	if ((rc = get_obj(r, "created", json_type_boolean, &b, err, errlen)))
		return rc;
	m->created = b && json_object_get_boolean(b);
	if ((rc = get_obj(r, "canceled", json_type_boolean, &b, err, errlen)))
		return rc;
	m->canceled = b && json_object_get_boolean(b);
	json_object *reason;
	if ((rc = get_obj(r, "cancel_reason", json_type_string, &reason, err, errlen)))
		return rc;
	if (reason)
		snprintf(m->cancel_reason, sizeof(m->cancel_reason), "%s",
			 json_object_get_string(reason));
	size_t n = evs ? json_object_array_length(evs) : 0;
	if (n && !(m->ev = calloc(n, sizeof(*m->ev))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(evs, i), *t, *kv;
		if (!json_object_is_type(e, json_type_object)) {
			hnv_seterr(err, errlen, "etcd watch: an event is not an object");
			rc = -EPROTO;
			break;
		}
		if ((rc = get_obj(e, "type", json_type_string, &t, err, errlen)) ||
		    (rc = get_obj(e, "kv", json_type_object, &kv, err, errlen)))
			break;
		bool del = false;
		if (t) {
			const char *ts = json_object_get_string(t);
			if (strcmp(ts, "DELETE") == 0)
				del = true;
			else if (strcmp(ts, "PUT") != 0) {
				hnv_seterr(err, errlen, "etcd watch: unknown event type \"%.40s\"",
					   ts);
				rc = -EPROTO;
				break;
			}
		}
		if (!kv) {
			hnv_seterr(err, errlen, "etcd watch: event without kv");
			rc = -EPROTO;
			break;
		}
		if ((rc = parse_kv(kv, &m->ev[i].kv, err, errlen)))
			break;
		m->ev[i].deleted = del;
		m->n++;
		if (m->ev[i].kv.mod_rev == 0) {
			hnv_seterr(err, errlen, "etcd watch: event without mod_revision");
			rc = -EPROTO;
			break;
		}
	}
	if (rc)
		hnv_etcd_watch_msg_free(m);
	return rc;
}

struct hnv_etcd_stream {
	json_tokener *tok;
	hnv_etcd_watch_cb cb;
	void *arg;
	size_t pending; /* bytes of the message being parsed */
	bool broken;
};

struct hnv_etcd_stream *hnv_etcd_stream_new(hnv_etcd_watch_cb cb, void *arg)
{
	struct hnv_etcd_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->tok = json_tokener_new();
	if (!s->tok) {
		free(s);
		return NULL;
	}
	s->cb = cb;
	s->arg = arg;
	return s;
}

void hnv_etcd_stream_free(struct hnv_etcd_stream *s)
{
	if (!s)
		return;
	json_tokener_free(s->tok);
	free(s);
}

int hnv_etcd_stream_feed(struct hnv_etcd_stream *s, const char *buf, size_t len, char *err,
			 size_t errlen)
{
	if (s->broken) {
		hnv_seterr(err, errlen, "etcd watch: stream already failed");
		return -EPROTO;
	}
	while (len > 0) {
		/* whitespace between messages */
		if (s->pending == 0) {
			size_t ws = 0;
			while (ws < len && buf[ws] && strchr(" \t\r\n", buf[ws]))
				ws++;
			buf += ws;
			len -= ws;
			if (len == 0)
				break;
		}
		int chunk = len > INT32_MAX / 2 ? INT32_MAX / 2 : (int)len;
		json_object *o = json_tokener_parse_ex(s->tok, buf, chunk);
		enum json_tokener_error je = json_tokener_get_error(s->tok);
		if (je == json_tokener_continue) {
			s->pending += (size_t)chunk;
			if (s->pending > HNV_ETCD_MAX_REPLY) {
				s->broken = true;
				hnv_seterr(err, errlen, "etcd watch: message over %u bytes",
					   HNV_ETCD_MAX_REPLY);
				return -EPROTO;
			}
			buf += chunk;
			len -= (size_t)chunk;
			continue;
		}
		size_t used = json_tokener_get_parse_end(s->tok);
		json_tokener_reset(s->tok);
		s->pending = 0;
		if (je != json_tokener_success || !o || !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			s->broken = true;
			hnv_seterr(err, errlen, "etcd watch: bad JSON (%s)",
				   je != json_tokener_success ? json_tokener_error_desc(je)
							      : "not an object");
			return -EPROTO;
		}
		if (used == 0 || used > (size_t)chunk)
			used = (size_t)chunk;
		buf += used;
		len -= used;
		struct hnv_etcd_watch_msg m;
		int rc = parse_watch_obj(o, &m, err, errlen);
		json_object_put(o);
		if (rc) {
			s->broken = true;
			return rc;
		}
		rc = s->cb(&m, s->arg);
		hnv_etcd_watch_msg_free(&m);
		if (rc)
			return rc;
	}
	return 0;
}

int hnv_etcd_parse_auth(const char *text, size_t len, char **token, char *err, size_t errlen)
{
	*token = NULL;
	json_object *o = parse_text(text, len, err, errlen), *t;
	if (!o)
		return -EPROTO;
	int rc = error_object(o, err, errlen);
	if (!rc)
		rc = get_obj(o, "token", json_type_string, &t, err, errlen);
	if (!rc) {
		const char *v = t ? json_object_get_string(t) : "";
		size_t l = t ? (size_t)json_object_get_string_len(t) : 0;
		bool ok = l > 0 && l <= 1024;
		for (size_t i = 0; ok && i < l; i++)
			ok = v[i] > ' ' && v[i] < 127;
		if (!ok) {
			hnv_seterr(err, errlen, "etcd reply: no usable auth token");
			rc = -EPROTO;
		} else if (!(*token = strdup(v))) {
			rc = -ENOMEM;
		}
	}
	json_object_put(o);
	return rc;
}

/* ---- client ---- */

struct hnv_etcd {
	char *urls[HNV_ETCD_MAX_MEMBERS];
	size_t n, cur;
	unsigned timeout_ms;
	CURL *curl;
	/* hnv_etcd_set_sec */
	char *cacert, *cert, *key, *user;
	char password[HNV_ETCD_PASSWORD_MAX + 1];
	char *token;         /* of user, once authenticated */
	char auth_hdr[1100]; /* "Authorization: TOKEN" */
	char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
}

int hnv_etcd_new(const char *urls, unsigned timeout_ms, struct hnv_etcd **out, char *err,
		 size_t errlen)
{
	pthread_once(&curl_once, curl_init_once);
	struct hnv_etcd *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->timeout_ms = timeout_ms ? timeout_ms : 2000;
	const char *p = urls;
	int rc = 0;
	while (!rc) {
		size_t l = strcspn(p, ",");
		char u[HNV_ETCD_URL_MAX + 1];
		if (l == 0 || l > HNV_ETCD_URL_MAX) {
			hnv_seterr(err, errlen, "etcd URL \"%.*s\": %s", (int)(l > 60 ? 60 : l), p,
				   l ? "too long" : "empty");
			rc = -EINVAL;
			break;
		}
		memcpy(u, p, l);
		u[l] = '\0';
		size_t ul = l;
		while (ul > 0 && u[ul - 1] == '/')
			u[--ul] = '\0';
		bool ok = (strncmp(u, "http://", 7) == 0 && ul > 7) ||
			  (strncmp(u, "https://", 8) == 0 && ul > 8);
		for (size_t i = 0; ok && i < ul; i++)
			ok = u[i] > ' ' && u[i] < 127 && u[i] != '"' && u[i] != '\\';
		if (!ok) {
			hnv_seterr(err, errlen,
				   "etcd URL \"%s\": want http://HOST:PORT or https://...", u);
			rc = -EINVAL;
		} else if (e->n == HNV_ETCD_MAX_MEMBERS) {
			hnv_seterr(err, errlen, "more than %d etcd URLs", HNV_ETCD_MAX_MEMBERS);
			rc = -EINVAL;
		} else if (!(e->urls[e->n++] = strdup(u))) {
			rc = -ENOMEM;
		}
		if (p[l] == '\0')
			break;
		p += l + 1;
	}
	if (!rc && !(e->curl = curl_easy_init()))
		rc = -ENOMEM;
	if (rc) {
		hnv_etcd_free(e);
		return rc;
	}
	*out = e;
	return 0;
}

void hnv_etcd_free(struct hnv_etcd *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->urls[i]);
	if (e->curl)
		curl_easy_cleanup(e->curl);
	free(e->cacert);
	free(e->cert);
	free(e->key);
	free(e->user);
	if (e->token)
		explicit_bzero(e->token, strlen(e->token));
	free(e->token);
	explicit_bzero(e->password, sizeof(e->password));
	explicit_bzero(e->auth_hdr, sizeof(e->auth_hdr));
	free(e);
}

int hnv_etcd_check_secret_file(const char *opt, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		hnv_seterr(err, errlen, "%s %s: %s", opt, path, strerror(e));
		return -e;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		hnv_seterr(err, errlen, "%s %s: not a regular file", opt, path);
		return -EINVAL;
	}
	if (st.st_mode & 077) {
		hnv_seterr(err, errlen,
			   "%s %s: mode %04o lets others read it; it holds a secret: chmod 600 it",
			   opt, path, (unsigned)(st.st_mode & 07777));
		return -EACCES;
	}
	return 0;
}

/* A file that must be readable: 0 or a negative errno with a message. */
static int check_readable(const char *opt, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		hnv_seterr(err, errlen, "%s %s: %s", opt, path, strerror(e));
		return -e;
	}
	close(fd);
	return 0;
}

/* The first line of a password file into e->password. */
static int read_password(struct hnv_etcd *e, const char *path, char *err, size_t errlen)
{
	int rc = hnv_etcd_check_secret_file("--etcd-password-file", path, err, errlen);
	if (rc)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		hnv_seterr(err, errlen, "--etcd-password-file %s: %s", path, strerror(-rc));
		return rc;
	}
	char buf[HNV_ETCD_PASSWORD_MAX + 2];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - n)) > 0)
		n += (size_t)r;
	close(fd);
	size_t l = 0;
	while (l < n && buf[l] != '\n' && buf[l] != '\r')
		l++;
	if (l == 0 || l > HNV_ETCD_PASSWORD_MAX || memchr(buf, '\0', l)) {
		explicit_bzero(buf, sizeof(buf));
		hnv_seterr(err, errlen,
			   "--etcd-password-file %s: want the password on its first "
			   "line (1-%d bytes)",
			   path, HNV_ETCD_PASSWORD_MAX);
		return -EINVAL;
	}
	memcpy(e->password, buf, l);
	e->password[l] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static int dup_opt(char **dst, const char *src)
{
	return src && !(*dst = strdup(src)) ? -ENOMEM : 0;
}

int hnv_etcd_set_sec(struct hnv_etcd *e, const struct hnv_etcd_sec *sec, char *err, size_t errlen)
{
	int rc;
	if (!sec->cert != !sec->key) {
		hnv_seterr(err, errlen, "--etcd-cert and --etcd-key go together");
		return -EINVAL;
	}
	if (!sec->user != !sec->password_file) {
		hnv_seterr(err, errlen, "--etcd-user and --etcd-password-file go together");
		return -EINVAL;
	}
	if (sec->user && (!*sec->user || strlen(sec->user) > 128)) {
		hnv_seterr(err, errlen, "--etcd-user: want 1-128 bytes");
		return -EINVAL;
	}
	if ((sec->cacert && (rc = check_readable("--etcd-cacert", sec->cacert, err, errlen))) ||
	    (sec->cert && (rc = check_readable("--etcd-cert", sec->cert, err, errlen))) ||
	    (sec->key && (rc = hnv_etcd_check_secret_file("--etcd-key", sec->key, err, errlen))) ||
	    (sec->password_file && (rc = read_password(e, sec->password_file, err, errlen))))
		return rc;
	if ((sec->cacert || sec->cert)) {
		for (size_t i = 0; i < e->n; i++)
			if (strncmp(e->urls[i], "https://", 8) != 0) {
				hnv_seterr(
					err, errlen,
					"--etcd-cacert and --etcd-cert need https:// members, not "
					"%s",
					e->urls[i]);
				return -EINVAL;
			}
	}
	if (dup_opt(&e->cacert, sec->cacert) || dup_opt(&e->cert, sec->cert) ||
	    dup_opt(&e->key, sec->key) || dup_opt(&e->user, sec->user))
		return -ENOMEM;
	return 0;
}

const char *hnv_etcd_current(const struct hnv_etcd *e)
{
	return e->urls[e->cur];
}

void hnv_etcd_prefix_end(const char *prefix, char *buf, size_t len)
{
	size_t n = strlen(prefix);
	if (len == 0)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(buf, prefix, n);
	buf[n] = '\0';
	while (n > 0) {
		unsigned char c = (unsigned char)buf[n - 1];
		if (c < 0xff) {
			buf[n - 1] = (char)(c + 1);
			buf[n] = '\0';
			return;
		}
		buf[--n] = '\0';
	}
	/* all 0xff (or empty): the whole key space, "\0" */
	buf[0] = '\0';
}

/* A reply body: the text, or overflow once it would pass HNV_ETCD_MAX_REPLY. */
struct rbuf {
	struct hnv_buf b;
	bool overflow;
};

static size_t rbuf_write(char *data, size_t sz, size_t nm, void *arg)
{
	struct rbuf *r = arg;
	size_t len = sz * nm;
	if (r->b.len + len + 1 > HNV_ETCD_MAX_REPLY) {
		r->overflow = true;
		return 0;
	}
	hnv_buf_append(&r->b, data, len);
	return r->b.oom ? 0 : len;
}

/* libcurl's sockets are not close-on-exec by default: hnvgwd's are all
 * (issue 17 finding 2), so curl opens its connections through this. */
static curl_socket_t open_cloexec(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	(void)arg;
	(void)purpose;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void curl_common(struct hnv_etcd *e, const char *url, const char *body,
			struct curl_slist *hdr)
{
	CURL *c = e->curl;
	curl_easy_reset(c);
	e->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, e->errbuf);
	if (e->cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, e->cacert);
	if (e->cert) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert);
		curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(c, CURLOPT_SSLKEY, e->key);
		curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	}
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_cloexec);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 2L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
}

/* What libcurl said of a failed transfer: its error buffer (which names
 * TLS failures: an unknown CA, a refused or missing client certificate),
 * else its code's text; with a hint when a member that wants a client
 * certificate got none. */
static void curl_why(struct hnv_etcd *e, const char *url, CURLcode cc, struct hnv_buf *b)
{
	const char *m = e->errbuf[0] ? e->errbuf : curl_easy_strerror(cc);
	hnv_buf_printf(b, "%s", m);
	/* with TLS 1.3 a member that refuses the client (no certificate, or
	 * one of a CA it does not trust) closes the connection after the
	 * handshake: the client sees it closed */
	bool tls_closed = strncmp(url, "https://", 8) == 0 &&
			  (cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR ||
			   cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_GOT_NOTHING);
	if (tls_closed && !e->cert)
		hnv_buf_printf(b, "; etcd closed the TLS connection: with --client-cert-auth it "
				  "wants a client certificate (--etcd-cert, --etcd-key)");
	else if (tls_closed)
		hnv_buf_printf(b, "; etcd closed the TLS connection: does it trust the CA of "
				  "--etcd-cert?");
}

/* The headers of a request: JSON, and the token once authenticated. */
static struct curl_slist *headers(struct hnv_etcd *e)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json"), *h2;
	if (h && e->token) {
		snprintf(e->auth_hdr, sizeof(e->auth_hdr), "Authorization: %s", e->token);
		if (!(h2 = curl_slist_append(h, e->auth_hdr))) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = h2;
	}
	return h;
}

static void free_headers(struct hnv_etcd *e, struct curl_slist *h)
{
	/* libcurl's copy of the token */
	for (struct curl_slist *p = h; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(h);
	explicit_bzero(e->auth_hdr, sizeof(e->auth_hdr));
}

static void drop_token(struct hnv_etcd *e)
{
	if (e->token)
		explicit_bzero(e->token, strlen(e->token));
	free(e->token);
	e->token = NULL;
}

/* POSTs body to path on the current member, then the others. 0 and the
 * reply body in *reply (malloc'd), -EACCES (HTTP 401: not authenticated),
 * or a negative errno with err. */
static int post_once(struct hnv_etcd *e, const char *path, const char *body, char **reply,
		     char *err, size_t errlen)
{
	struct curl_slist *hdr = headers(e);
	if (!hdr)
		return -ENOMEM;
	struct hnv_buf tried = {0};
	int rc = -EHOSTUNREACH;
	for (size_t i = 0; i < e->n; i++) {
		size_t idx = (e->cur + i) % e->n;
		char url[HNV_ETCD_URL_MAX + 64];
		snprintf(url, sizeof(url), "%s%s", e->urls[idx], path);
		struct rbuf r = {0};
		CURL *c = e->curl;
		curl_common(e, url, body, hdr);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, rbuf_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
				 (long)(e->timeout_ms < 1000 ? e->timeout_ms : 1000));
		CURLcode cc = curl_easy_perform(c);
		long code = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (cc == CURLE_OK && code == 200 && r.b.len && (*reply = hnv_buf_take(&r.b))) {
			e->cur = idx;
			hnv_buf_free(&tried, false);
			free_headers(e, hdr);
			return 0;
		}
		if (cc == CURLE_OK && code >= 400 && code < 500) {
			/* the request itself was refused: no other member will
			 * take it */
			char m[200] = "";
			json_object *o = r.b.p ? parse_error_text(r.b.p, r.b.len) : NULL;
			if (o) {
				error_object(o, m, sizeof(m));
			} else if (r.b.p) {
				/* a plain text refusal of the gateway itself */
				char t[160];
				size_t k = 0;
				for (size_t j = 0; j < r.b.len && k + 1 < sizeof(t); j++)
					if (r.b.p[j] >= ' ' && r.b.p[j] < 127)
						t[k++] = r.b.p[j];
				t[k] = '\0';
				if (k)
					snprintf(m, sizeof(m), "etcd: %s", t);
			}
			json_object_put(o);
			const char *hint = "";
			if (!e->user && (code == 401 || strstr(m, "user name is empty")))
				hint = "; etcd has authentication enabled: --etcd-user, "
				       "--etcd-password-file";
			else if (strstr(m, "CommonName"))
				hint = "; with authentication enabled etcd's JSON gateway refuses "
				       "client certificates that carry a CommonName: give hnvgwd "
				       "one without (e.g. subject O=hnvgw)";
			hnv_seterr(err, errlen, "%s: HTTP %ld%s%s%s", url, code, *m ? ": " : "", m,
				   hint);
			hnv_buf_free(&r.b, false);
			hnv_buf_free(&tried, false);
			free_headers(e, hdr);
			/* 404 is gRPC's NotFound: a lease etcd does not know */
			return code == 401 ? -EACCES : code == 404 ? -ENOENT : -EPROTO;
		}
		if (cc == CURLE_OPERATION_TIMEDOUT)
			rc = -ETIMEDOUT;
		hnv_buf_printf(&tried, "%s%s (", i ? ", " : "", e->urls[idx]);
		if (r.overflow)
			hnv_buf_printf(&tried, "reply over %u bytes)", HNV_ETCD_MAX_REPLY);
		else if (cc != CURLE_OK) {
			curl_why(e, url, cc, &tried);
			hnv_buf_printf(&tried, ")");
		} else
			hnv_buf_printf(&tried, "HTTP %ld)", code);
		hnv_buf_free(&r.b, false);
	}
	free_headers(e, hdr);
	hnv_seterr(err, errlen, "etcd unreachable: %s", tried.oom ? "(out of memory)" : tried.p);
	hnv_buf_free(&tried, false);
	return rc;
}

/* Gets a token for e->user. 0, or a negative errno with err (a wrong
 * password: "authentication failed"). */
static int authenticate(struct hnv_etcd *e, char *err, size_t errlen)
{
	drop_token(e);
	json_object *o = json_object_new_object(), *pw = json_object_new_string(e->password);
	if (!o || !pw || json_object_object_add(o, "name", json_object_new_string(e->user))) {
		json_object_put(pw);
		json_object_put(o);
		return -ENOMEM;
	}
	json_object_object_add(o, "password", json_object_get(pw));
	const char *body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char *reply = NULL, m[600] = "";
	int rc = body ? post_once(e, "/v3/auth/authenticate", body, &reply, m, sizeof(m)) : -ENOMEM;
	/* json-c's copies of the password */
	if (body)
		explicit_bzero((char *)body, strlen(body));
	explicit_bzero((char *)json_object_get_string(pw), (size_t)json_object_get_string_len(pw));
	json_object_put(pw);
	json_object_put(o);
	if (!rc) {
		rc = hnv_etcd_parse_auth(reply, strlen(reply), &e->token, m, sizeof(m));
		explicit_bzero(reply, strlen(reply));
		free(reply);
	}
	if (rc)
		hnv_seterr(err, errlen, "etcd user %s: cannot authenticate: %s", e->user, m);
	return rc == -EACCES ? -EPROTO : rc;
}

/* post_once, authenticated first when a user is set, and again once when
 * etcd no longer takes the token. */
static int post(struct hnv_etcd *e, const char *path, const char *body, char **reply, char *err,
		size_t errlen)
{
	int rc;
	for (int attempt = 0;; attempt++) {
		if (e->user && !e->token && (rc = authenticate(e, err, errlen)))
			return rc;
		rc = post_once(e, path, body, reply, err, errlen);
		if (rc != -EACCES || !e->user || attempt)
			return rc;
		drop_token(e);
	}
}

static int add_b64(json_object *o, const char *k, const char *v, size_t len)
{
	char *b = hnv_b64_encode(v, len);
	if (!b)
		return -ENOMEM;
	json_object *s = json_object_new_string(b);
	free(b);
	if (!s)
		return -ENOMEM;
	return json_object_object_add(o, k, s) ? -ENOMEM : 0;
}

static int add_i64(json_object *o, const char *k, int64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	json_object *s = json_object_new_string(buf);
	return !s || json_object_object_add(o, k, s) ? -ENOMEM : 0;
}

/* POSTs o (consumed) to path and returns the reply text. */
static int post_obj(struct hnv_etcd *e, const char *path, json_object *o, char **reply, char *err,
		    size_t errlen)
{
	const char *body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int rc = body ? post(e, path, body, reply, err, errlen) : -ENOMEM;
	json_object_put(o);
	return rc;
}

static json_object *range_req(const char *key, const char *range_end, int64_t rev)
{
	json_object *o = json_object_new_object();
	if (!o || add_b64(o, "key", key, strlen(key)) ||
	    (range_end &&
	     add_b64(o, "range_end", range_end, strlen(range_end) ? strlen(range_end) : 1)) ||
	    (rev > 0 && add_i64(o, "revision", rev))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* POSTs the range request o (consumed) and parses its reply into out. */
static int range_post(struct hnv_etcd *e, json_object *o, struct hnv_etcd_kvs *out, char *err,
		      size_t errlen)
{
	char *reply;
	int rc = post_obj(e, "/v3/kv/range", o, &reply, err, errlen);
	if (rc)
		return rc;
	rc = hnv_etcd_parse_range(reply, strlen(reply), out, err, errlen);
	free(reply);
	return rc;
}

int hnv_etcd_range(struct hnv_etcd *e, const char *key, const char *range_end, int64_t rev,
		   struct hnv_etcd_kvs *out, char *err, size_t errlen)
{
	json_object *o = range_req(key, range_end, rev);
	return o ? range_post(e, o, out, err, errlen) : -ENOMEM;
}

int hnv_etcd_range_since(struct hnv_etcd *e, const char *key, const char *range_end,
			 int64_t min_mod_rev, int64_t rev, struct hnv_etcd_kvs *out, char *err,
			 size_t errlen)
{
	json_object *o = range_req(key, range_end, rev), *t = json_object_new_boolean(1);
	if (!o || !t || json_object_object_add(o, "keys_only", t)) {
		json_object_put(t);
		json_object_put(o);
		return -ENOMEM;
	}
	if (add_i64(o, "min_mod_revision", min_mod_rev)) { /* t is o's */
		json_object_put(o);
		return -ENOMEM;
	}
	return range_post(e, o, out, err, errlen);
}

int hnv_etcd_put(struct hnv_etcd *e, const char *key, const char *value, int64_t *rev, char *err,
		 size_t errlen)
{
	json_object *o = json_object_new_object();
	if (!o || add_b64(o, "key", key, strlen(key)) ||
	    add_b64(o, "value", value, strlen(value))) {
		json_object_put(o);
		return -ENOMEM;
	}
	char *reply;
	int rc = post_obj(e, "/v3/kv/put", o, &reply, err, errlen);
	if (rc)
		return rc;
	bool ok;
	rc = hnv_etcd_parse_txn(reply, strlen(reply), &ok, rev, NULL, err, errlen);
	free(reply);
	return rc;
}

static json_object *put_req(const char *key, const char *value, int64_t lease)
{
	json_object *o = json_object_new_object();
	if (!o || add_b64(o, "key", key, strlen(key)) ||
	    add_b64(o, "value", value, strlen(value)) ||
	    (lease > 0 && add_i64(o, "lease", lease))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int hnv_etcd_put_lease(struct hnv_etcd *e, const char *key, const char *value, int64_t lease,
		       int64_t *rev, char *err, size_t errlen)
{
	if (lease <= 0) {
		hnv_seterr(err, errlen, "lease %lld: not a lease", (long long)lease);
		return -EINVAL;
	}
	json_object *o = put_req(key, value, lease);
	if (!o)
		return -ENOMEM;
	char *reply;
	int64_t r;
	int rc = post_obj(e, "/v3/kv/put", o, &reply, err, errlen);
	if (rc)
		return rc;
	bool ok;
	rc = hnv_etcd_parse_txn(reply, strlen(reply), &ok, &r, NULL, err, errlen);
	free(reply);
	if (!rc && rev)
		*rev = r;
	return rc;
}

/* POSTs a lease request {ID: id} or {TTL: ttl} to path and parses the
 * reply as op. */
static int lease_call(struct hnv_etcd *e, const char *path, enum hnv_etcd_lease_op op, int64_t id,
		      int64_t ttl, int64_t *out_id, int64_t *out_ttl, char *err, size_t errlen)
{
	json_object *o = json_object_new_object();
	if (!o || (id > 0 && add_i64(o, "ID", id)) || (ttl > 0 && add_i64(o, "TTL", ttl))) {
		json_object_put(o);
		return -ENOMEM;
	}
	char *reply;
	int rc = post_obj(e, path, o, &reply, err, errlen);
	if (rc == -ENOENT)
		hnv_seterr(err, errlen, "etcd: lease %lld not found", (long long)id);
	if (rc)
		return rc;
	rc = hnv_etcd_parse_lease(reply, strlen(reply), op, id, out_id, out_ttl, err, errlen);
	free(reply);
	return rc;
}

int hnv_etcd_lease_grant(struct hnv_etcd *e, int64_t ttl, int64_t *id, int64_t *granted, char *err,
			 size_t errlen)
{
	if (ttl < 1 || ttl > HNV_ETCD_TTL_MAX) {
		hnv_seterr(err, errlen, "lease TTL %lld: want 1-%d seconds", (long long)ttl,
			   HNV_ETCD_TTL_MAX);
		return -EINVAL;
	}
	return lease_call(e, "/v3/lease/grant", HNV_ETCD_LEASE_GRANT, 0, ttl, id, granted, err,
			  errlen);
}

int hnv_etcd_lease_keepalive(struct hnv_etcd *e, int64_t id, int64_t *ttl, char *err, size_t errlen)
{
	if (id <= 0)
		return -EINVAL;
	return lease_call(e, "/v3/lease/keepalive", HNV_ETCD_LEASE_KEEPALIVE, id, 0, NULL, ttl, err,
			  errlen);
}

int hnv_etcd_lease_ttl(struct hnv_etcd *e, int64_t id, int64_t *ttl, char *err, size_t errlen)
{
	if (id <= 0)
		return -EINVAL;
	return lease_call(e, "/v3/lease/timetolive", HNV_ETCD_LEASE_TTL, id, 0, NULL, ttl, err,
			  errlen);
}

int hnv_etcd_lease_revoke(struct hnv_etcd *e, int64_t id, char *err, size_t errlen)
{
	if (id <= 0)
		return -EINVAL;
	return lease_call(e, "/v3/lease/revoke", HNV_ETCD_LEASE_REVOKE, id, 0, NULL, NULL, err,
			  errlen);
}

int hnv_etcd_delete(struct hnv_etcd *e, const char *key, const char *range_end, int64_t *rev,
		    int64_t *deleted, char *err, size_t errlen)
{
	json_object *o = range_req(key, range_end, 0);
	if (!o)
		return -ENOMEM;
	char *reply;
	int rc = post_obj(e, "/v3/kv/deleterange", o, &reply, err, errlen);
	if (rc)
		return rc;
	bool ok;
	rc = hnv_etcd_parse_txn(reply, strlen(reply), &ok, rev, deleted, err, errlen);
	free(reply);
	return rc;
}

/* ---- transactions ---- */

struct hnv_etcd_txn {
	json_object *compare, *success;
};

struct hnv_etcd_txn *hnv_etcd_txn_new(void)
{
	struct hnv_etcd_txn *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->compare = json_object_new_array();
	t->success = json_object_new_array();
	if (!t->compare || !t->success) {
		hnv_etcd_txn_free(t);
		return NULL;
	}
	return t;
}

void hnv_etcd_txn_free(struct hnv_etcd_txn *t)
{
	if (!t)
		return;
	json_object_put(t->compare);
	json_object_put(t->success);
	free(t);
}

size_t hnv_etcd_txn_ops(const struct hnv_etcd_txn *t)
{
	return json_object_array_length(t->success);
}

int hnv_etcd_txn_cmp(struct hnv_etcd_txn *t, const char *key, const char *range_end,
		     enum hnv_etcd_target target, enum hnv_etcd_cmp cmp, int64_t value)
{
	static const char *const targets[] = {"CREATE", "MOD", "VERSION"};
	static const char *const fields[] = {"create_revision", "mod_revision", "version"};
	static const char *const results[] = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};
	json_object *c = json_object_new_object();
	if (!c || add_b64(c, "key", key, strlen(key)) ||
	    (range_end && add_b64(c, "range_end", range_end, strlen(range_end))) ||
	    json_object_object_add(c, "target", json_object_new_string(targets[target])) ||
	    json_object_object_add(c, "result", json_object_new_string(results[cmp])) ||
	    add_i64(c, fields[target], value) || json_object_array_add(t->compare, c)) {
		json_object_put(c);
		return -ENOMEM;
	}
	return 0;
}

static int txn_op(struct hnv_etcd_txn *t, const char *kind, json_object *req)
{
	json_object *op = json_object_new_object();
	if (!req || !op || json_object_object_add(op, kind, req)) {
		json_object_put(req);
		json_object_put(op);
		return -ENOMEM;
	}
	if (json_object_array_add(t->success, op)) {
		json_object_put(op);
		return -ENOMEM;
	}
	return 0;
}

int hnv_etcd_txn_put(struct hnv_etcd_txn *t, const char *key, const char *value)
{
	json_object *o = json_object_new_object();
	if (!o || add_b64(o, "key", key, strlen(key)) ||
	    add_b64(o, "value", value, strlen(value))) {
		json_object_put(o);
		return -ENOMEM;
	}
	return txn_op(t, "request_put", o);
}

int hnv_etcd_txn_put_lease(struct hnv_etcd_txn *t, const char *key, const char *value,
			   int64_t lease)
{
	if (lease <= 0)
		return -EINVAL;
	return txn_op(t, "request_put", put_req(key, value, lease));
}

int hnv_etcd_txn_del(struct hnv_etcd_txn *t, const char *key, const char *range_end)
{
	return txn_op(t, "request_delete_range", range_req(key, range_end, 0));
}

int hnv_etcd_txn_commit(struct hnv_etcd *e, const struct hnv_etcd_txn *t, bool *succeeded,
			int64_t *rev, char *err, size_t errlen)
{
	json_object *o = json_object_new_object();
	if (!o || json_object_object_add(o, "compare", json_object_get(t->compare)) ||
	    json_object_object_add(o, "success", json_object_get(t->success))) {
		json_object_put(o);
		return -ENOMEM;
	}
	char *reply;
	int rc = post_obj(e, "/v3/kv/txn", o, &reply, err, errlen);
	if (rc)
		return rc;
	rc = hnv_etcd_parse_txn(reply, strlen(reply), succeeded, rev, NULL, err, errlen);
	free(reply);
	return rc;
}

/* ---- watch ---- */

struct watch_ctx {
	struct hnv_etcd_stream *s;
	volatile int *cancel;
	int rc;
	bool got_data;
	char *err;
	size_t errlen;
};

static size_t watch_write(char *data, size_t sz, size_t nm, void *arg)
{
	struct watch_ctx *w = arg;
	size_t len = sz * nm;
	w->got_data = true;
	if (*w->cancel) {
		w->rc = -ECANCELED;
		return 0;
	}
	int rc = hnv_etcd_stream_feed(w->s, data, len, w->err, w->errlen);
	if (rc) {
		w->rc = rc;
		return 0;
	}
	return len;
}

static int watch_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	struct watch_ctx *w = arg;
	if (*w->cancel) {
		w->rc = -ECANCELED;
		return 1;
	}
	return 0;
}

int hnv_etcd_watch(struct hnv_etcd *e, const char *key, const char *range_end, int64_t start_rev,
		   hnv_etcd_watch_cb cb, void *arg, volatile int *cancel, char *err, size_t errlen)
{
	json_object *cr = range_req(key, range_end, 0), *o = json_object_new_object();
	if (!cr || !o || (start_rev > 0 && add_i64(cr, "start_revision", start_rev)) ||
	    json_object_object_add(o, "create_request", cr)) {
		json_object_put(cr);
		json_object_put(o);
		return -ENOMEM;
	}
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char *body = text ? strdup(text) : NULL;
	json_object_put(o);
	if (e->user) {
		/* a fresh token for every watch: etcd's gateway answers nothing
		 * at all to a watch with a token it no longer takes */
		int arc = authenticate(e, err, errlen);
		if (arc) {
			free(body);
			return arc;
		}
	}
	struct curl_slist *hdr = headers(e);
	struct watch_ctx w = {.cancel = cancel, .err = err, .errlen = errlen};
	w.s = hnv_etcd_stream_new(cb, arg);
	int rc = -ENOMEM;
	if (!body || !hdr || !w.s)
		goto out;
	rc = -EHOSTUNREACH;
	for (size_t i = 0; i < e->n && !*cancel; i++) {
		size_t idx = (e->cur + i) % e->n;
		char url[HNV_ETCD_URL_MAX + 64];
		snprintf(url, sizeof(url), "%s/v3/watch", e->urls[idx]);
		CURL *c = e->curl;
		curl_common(e, url, body, hdr);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watch_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, watch_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, &w);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
				 (long)(e->timeout_ms < 1000 ? e->timeout_ms : 1000));
		w.rc = 0;
		w.got_data = false;
		CURLcode cc = curl_easy_perform(c);
		long code = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (w.rc) {
			rc = w.rc;
			break;
		}
		if (w.got_data) {
			/* the stream ran, then ended: the caller resumes */
			e->cur = idx;
			hnv_seterr(err, errlen, "watch on %s ended: %s", e->urls[idx],
				   cc == CURLE_OK ? "closed by etcd" : curl_easy_strerror(cc));
			rc = -ECONNRESET;
			break;
		}
		if (cc == CURLE_OK && code == 401) {
			/* the token expired: a new one at the next call */
			drop_token(e);
			hnv_seterr(err, errlen, "watch on %s: HTTP 401 (not authenticated)",
				   e->urls[idx]);
			rc = -EACCES;
			break;
		}
		struct hnv_buf why = {0};
		if (cc == CURLE_OK)
			if (code != 200)
				hnv_buf_printf(&why, "HTTP %ld", code);
			else
				hnv_buf_printf(&why, "no reply");
		else
			curl_why(e, url, cc, &why);
		hnv_seterr(err, errlen, "watch on %s: %s", e->urls[idx],
			   why.oom ? "out of memory" : why.p);
		hnv_buf_free(&why, false);
	}
	if (*cancel && rc != -ECONNRESET)
		rc = -ECANCELED;
out:
	hnv_etcd_stream_free(w.s);
	free_headers(e, hdr);
	free(body);
	return rc;
}
