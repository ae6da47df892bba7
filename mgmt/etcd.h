/* etcd.h: a small etcd v3 client over etcd's JSON gateway (libcurl, json-c).
 *
 * Requests are POSTs of JSON to URL/v3/kv/range, /v3/kv/put,
 * /v3/kv/deleterange, /v3/kv/txn, /v3/watch and the /v3/lease/ calls
 * (etcd 3.4+). Keys and values are bytes, base64 in the JSON; 64-bit
 * numbers arrive as JSON strings.
 *
 * A client holds one or more member URLs. A request goes to the member
 * that answered last; when it cannot be reached, times out or answers 5xx
 * (no leader, unavailable), the next member is tried, once each. Then the
 * request fails with -ETIMEDOUT or -EHOSTUNREACH and a message naming the
 * members and what each did.
 *
 * Everything the gateway sends is untrusted: the parsers below check every
 * field's type and range and never assert (fuzzed by tests/fuzz/fuzz_etcd.c).
 *
 * Security (hnv_etcd_set_sec). https:// members are verified against
 * --etcd-cacert (else the system's CAs); a client certificate and key
 * (--etcd-cert, --etcd-key) answer etcd's --client-cert-auth. With a user
 * (--etcd-user, --etcd-password-file) the client authenticates at
 * /v3/auth/authenticate before its first request and sends the token it
 * gets in the Authorization header of every request and watch; a token
 * etcd no longer takes (HTTP 401: expired, or etcd restarted) is replaced
 * once per request. The key and password files must be readable by their
 * owner only (mode 0600 or 0400); hnvgwd reads the password, never the
 * key (libcurl does), and neither reaches a message or the log.
 *
 * Threads: a client is used by one thread at a time; use two clients for a
 * watch thread and a writer.
 */
#ifndef HNV_ETCD_H
#define HNV_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HNV_ETCD_MAX_MEMBERS 16
#define HNV_ETCD_URL_MAX 255
#define HNV_ETCD_MAX_REPLY (256u * 1024 * 1024) /* bytes of one reply or watch message */

struct hnv_etcd;

/* urls: "http://127.0.0.1:2379[,http://...]" (http or https, at most
 * HNV_ETCD_MAX_MEMBERS). timeout_ms bounds each request to one member.
 * 0, -EINVAL naming the bad URL, or -ENOMEM. */
int hnv_etcd_new(const char *urls, unsigned timeout_ms, struct hnv_etcd **out, char *err,
		 size_t errlen);
void hnv_etcd_free(struct hnv_etcd *e);

/* TLS and authentication; NULL fields are not used. */
struct hnv_etcd_sec {
	const char *cacert;        /* PEM CA bundle that signed the members' certificates */
	const char *cert, *key;    /* client certificate and its key (PEM), together */
	const char *user;          /* etcd user (etcd auth enabled) */
	const char *password_file; /* its password: the file's first line */
};
#define HNV_ETCD_PASSWORD_MAX 255
/* Checks the files (readable; the key and password files are regular
 * files of mode 0600 or 0400, else refused naming the file and its mode),
 * reads the password and sets them for every later request. 0, or
 * -EINVAL/-EACCES/-ENOENT with a message naming the option. */
int hnv_etcd_set_sec(struct hnv_etcd *e, const struct hnv_etcd_sec *sec, char *err, size_t errlen);
/* Checks a file given for a secret: a regular file that only its owner
 * may read or write. 0 or a negative errno with a message naming opt. */
int hnv_etcd_check_secret_file(const char *opt, const char *path, char *err, size_t errlen);
/* The member URL that answered last (for messages). */
const char *hnv_etcd_current(const struct hnv_etcd *e);

/* One key-value pair. key and value are malloc'd and NUL-terminated (the
 * lengths exclude the NUL; the bytes themselves may hold NULs). */
struct hnv_etcd_kv {
	char *key, *value;
	size_t keylen, vlen;
	int64_t create_rev, mod_rev;
	int64_t lease; /* the lease the key is bound to, 0: none */
};

struct hnv_etcd_kvs {
	struct hnv_etcd_kv *v;
	size_t n;
	int64_t revision; /* of the store when the reply was made */
	bool more;        /* a limit cut the range short */
};
void hnv_etcd_kvs_free(struct hnv_etcd_kvs *k);

/* The end of the range of all keys starting with prefix (prefix with its
 * last byte below 0xff incremented); buf of len >= strlen(prefix) + 1. */
void hnv_etcd_prefix_end(const char *prefix, char *buf, size_t len);

/* Reads key (range_end NULL) or [key, range_end), at revision rev (0: now).
 * 0 and *out (free with hnv_etcd_kvs_free), -ENOENT never (an empty
 * result is n == 0), or a negative errno with err. */
int hnv_etcd_range(struct hnv_etcd *e, const char *key, const char *range_end, int64_t rev,
		   struct hnv_etcd_kvs *out, char *err, size_t errlen);
/* As hnv_etcd_range, but only the keys (values empty) of the keys last
 * modified at revision min_mod_rev or later. */
int hnv_etcd_range_since(struct hnv_etcd *e, const char *key, const char *range_end,
			 int64_t min_mod_rev, int64_t rev, struct hnv_etcd_kvs *out, char *err,
			 size_t errlen);
int hnv_etcd_put(struct hnv_etcd *e, const char *key, const char *value, int64_t *rev, char *err,
		 size_t errlen);
/* Deletes key or [key, range_end); *deleted (may be NULL) gets the count. */
int hnv_etcd_delete(struct hnv_etcd *e, const char *key, const char *range_end, int64_t *rev,
		    int64_t *deleted, char *err, size_t errlen);

/* ---- transactions ---- */

enum hnv_etcd_target {
	HNV_ETCD_CREATE,
	HNV_ETCD_MOD,
	HNV_ETCD_VERSION
};
enum hnv_etcd_cmp {
	HNV_ETCD_EQUAL,
	HNV_ETCD_GREATER,
	HNV_ETCD_LESS,
	HNV_ETCD_NOT_EQUAL
};

struct hnv_etcd_txn;
struct hnv_etcd_txn *hnv_etcd_txn_new(void);
void hnv_etcd_txn_free(struct hnv_etcd_txn *t);
/* Compares target of key (or of every key in [key, range_end)) with value.
 * (CREATE, EQUAL, 0): the key does not exist. Each returns 0 or -ENOMEM. */
int hnv_etcd_txn_cmp(struct hnv_etcd_txn *t, const char *key, const char *range_end,
		     enum hnv_etcd_target target, enum hnv_etcd_cmp cmp, int64_t value);
int hnv_etcd_txn_put(struct hnv_etcd_txn *t, const char *key, const char *value);
int hnv_etcd_txn_del(struct hnv_etcd_txn *t, const char *key, const char *range_end);
size_t hnv_etcd_txn_ops(const struct hnv_etcd_txn *t);
/* Runs the success operations if every compare holds. 0 with *succeeded
 * telling which and *rev the store revision after it, or a negative errno.
 * etcd refuses more than --max-txn-ops (default 128) operations. */
int hnv_etcd_txn_commit(struct hnv_etcd *e, const struct hnv_etcd_txn *t, bool *succeeded,
			int64_t *rev, char *err, size_t errlen);

/* A put bound to lease (hnv_etcd_lease_grant): the key is deleted when
 * the lease expires or is revoked. */
int hnv_etcd_txn_put_lease(struct hnv_etcd_txn *t, const char *key, const char *value,
			   int64_t lease);

/* ---- leases ----
 *
 * Paths of etcd 3.4's gateway: /v3/lease/grant, /v3/lease/keepalive (a
 * stream in gRPC: each call here sends one request and reads one reply),
 * /v3/lease/timetolive, /v3/lease/revoke. A lease unknown to etcd
 * (expired, revoked) is -ENOENT, whether etcd says so with HTTP 404
 * (revoke, a put bound to it) or with a TTL of 0 (keepalive) or -1
 * (timetolive). Lease IDs are > 0. */

/* A lease of ttl seconds (1..HNV_ETCD_TTL_MAX): 0 with *id and *granted
 * (the TTL etcd granted: it may raise a small one to its minimum), or a
 * negative errno with err. */
#define HNV_ETCD_TTL_MAX 86400
int hnv_etcd_lease_grant(struct hnv_etcd *e, int64_t ttl, int64_t *id, int64_t *granted, char *err,
			 size_t errlen);
/* One keepalive: 0 and *ttl (the TTL etcd restarted the lease with), or
 * -ENOENT (the lease is gone), or a negative errno with err (etcd not
 * reached: the lease may still be alive). */
int hnv_etcd_lease_keepalive(struct hnv_etcd *e, int64_t id, int64_t *ttl, char *err,
			     size_t errlen);
/* Seconds the lease has left: 0 and *ttl, -ENOENT, or a negative errno. */
int hnv_etcd_lease_ttl(struct hnv_etcd *e, int64_t id, int64_t *ttl, char *err, size_t errlen);
/* Revokes the lease: its keys are deleted at once. 0, -ENOENT, or a
 * negative errno. */
int hnv_etcd_lease_revoke(struct hnv_etcd *e, int64_t id, char *err, size_t errlen);
/* Puts key bound to lease. 0 and *rev (may be NULL), -ENOENT (no such
 * lease), or a negative errno. */
int hnv_etcd_put_lease(struct hnv_etcd *e, const char *key, const char *value, int64_t lease,
		       int64_t *rev, char *err, size_t errlen);

/* ---- watch ---- */

struct hnv_etcd_event {
	bool deleted; /* DELETE (kv.value empty, kv.mod_rev the deletion's) */
	struct hnv_etcd_kv kv;
};

/* One message of a watch stream. */
struct hnv_etcd_watch_msg {
	int64_t revision;         /* header revision */
	int64_t compact_revision; /* > 0: start_revision was compacted */
	bool created, canceled;
	char cancel_reason[128];
	size_t n;
	struct hnv_etcd_event *ev;
};
void hnv_etcd_watch_msg_free(struct hnv_etcd_watch_msg *m);

/* Called for each message; nonzero stops the watch (returned by
 * hnv_etcd_watch). The message is freed after the call. */
typedef int (*hnv_etcd_watch_cb)(const struct hnv_etcd_watch_msg *m, void *arg);

/* Watches [key, range_end) from start_rev on one member (the current one,
 * moving on to the next if it cannot connect), calling cb per message until
 * the stream ends (the member went away: -ECONNRESET), *cancel becomes
 * nonzero (-ECANCELED; checked about once a second and between messages),
 * cb returns nonzero (that value), or an error. Blocking. */
int hnv_etcd_watch(struct hnv_etcd *e, const char *key, const char *range_end, int64_t start_rev,
		   hnv_etcd_watch_cb cb, void *arg, volatile int *cancel, char *err, size_t errlen);

/* ---- parsers (pure; exposed for tests and fuzzing) ---- */

/* A reply of /v3/kv/range. */
int hnv_etcd_parse_range(const char *text, size_t len, struct hnv_etcd_kvs *out, char *err,
			 size_t errlen);
/* A reply of /v3/kv/txn, /v3/kv/put or /v3/kv/deleterange: succeeded
 * (true for put and delete), revision and deleted count (may be NULL). */
int hnv_etcd_parse_txn(const char *text, size_t len, bool *succeeded, int64_t *rev,
		       int64_t *deleted, char *err, size_t errlen);
/* A reply of a lease call: grant ({ID, TTL}: both > 0), keepalive
 * ({"result": {ID, TTL}}: TTL 0 is -ENOENT), timetolive ({ID, TTL}: TTL
 * -1 is -ENOENT) or revoke (a header). *id and *ttl (may be NULL) get
 * what the reply holds; want_id > 0: the reply must name that lease. */
enum hnv_etcd_lease_op {
	HNV_ETCD_LEASE_GRANT,
	HNV_ETCD_LEASE_KEEPALIVE,
	HNV_ETCD_LEASE_TTL,
	HNV_ETCD_LEASE_REVOKE
};
int hnv_etcd_parse_lease(const char *text, size_t len, enum hnv_etcd_lease_op op, int64_t want_id,
			 int64_t *id, int64_t *ttl, char *err, size_t errlen);
/* A reply of /v3/auth/authenticate: its token (malloc'd; printable ASCII,
 * at most 1024 bytes, else -EPROTO). */
int hnv_etcd_parse_auth(const char *text, size_t len, char **token, char *err, size_t errlen);

/* Splits a watch stream (JSON objects one after the other, whitespace
 * between) into messages, across arbitrary chunk boundaries. */
struct hnv_etcd_stream;
struct hnv_etcd_stream *hnv_etcd_stream_new(hnv_etcd_watch_cb cb, void *arg);
void hnv_etcd_stream_free(struct hnv_etcd_stream *s);
/* 0, cb's nonzero value, or -EPROTO (bad JSON, a message that is not a
 * watch response, an "error" object, or a message over HNV_ETCD_MAX_REPLY)
 * with err. After an error the stream is unusable. */
int hnv_etcd_stream_feed(struct hnv_etcd_stream *s, const char *buf, size_t len, char *err,
			 size_t errlen);

/* base64 (RFC 4648, padded). encode: malloc'd NUL-terminated text or NULL.
 * decode: 0 and a malloc'd NUL-terminated buffer, or -EINVAL. */
char *hnv_b64_encode(const void *data, size_t len);
int hnv_b64_decode(const char *text, size_t len, char **out, size_t *outlen);

#endif
