/* test_etcd.c: the etcd gateway client's codecs (mgmt/etcd.c): base64,
 * prefix ends, range and txn replies, and the watch stream split at every
 * byte boundary, with replies recorded from etcd 3.4's JSON gateway and
 * malformed variants of them. The connection is close-on-exec (issue 17
 * finding 2). TLS and auth options and authenticate replies (finding 1).
 * Lease replies (grant, keepalive, timetolive, revoke) as etcd 3.4.23's
 * gateway sent them, and broken ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../mgmt/etcd.h"

static void test_b64(void **state)
{
	(void)state;
	static const struct {
		const char *plain, *enc;
	} v[] = {{"", ""},        {"f", "Zg=="},        {"fo", "Zm8="},
		 {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"/hnvgw/rd/blue", "L2hudmd3L3JkL2JsdWU="}};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *e = hnv_b64_encode(v[i].plain, strlen(v[i].plain));
		assert_non_null(e);
		assert_string_equal(e, v[i].enc);
		free(e);
		char *d;
		size_t n;
		assert_int_equal(hnv_b64_decode(v[i].enc, strlen(v[i].enc), &d, &n), 0);
		assert_int_equal(n, strlen(v[i].plain));
		assert_memory_equal(d, v[i].plain, n);
		free(d);
	}
	static const char *const bad[] = {"Zg=", "Z===", "Zg==Zg==", "Zm9*", "=Zm9", "Zm=v"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *d;
		size_t n;
		assert_int_equal(hnv_b64_decode(bad[i], strlen(bad[i]), &d, &n), -EINVAL);
	}
	/* every byte value round-trips */
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	char *e = hnv_b64_encode(all, sizeof(all)), *d;
	size_t n;
	assert_int_equal(hnv_b64_decode(e, strlen(e), &d, &n), 0);
	assert_int_equal(n, 256);
	assert_memory_equal(d, all, 256);
	free(e);
	free(d);
}

static void test_prefix_end(void **state)
{
	(void)state;
	char b[32];
	hnv_etcd_prefix_end("/hnvgw/", b, sizeof(b));
	assert_string_equal(b, "/hnvgw0");
	hnv_etcd_prefix_end("a\xff\xff", b, sizeof(b));
	assert_string_equal(b, "b");
	hnv_etcd_prefix_end("\xff", b, sizeof(b));
	assert_string_equal(b, "");
}

/* recorded: etcdctl put /hnvgw/rd/blue/rdomain ...; curl .../v3/kv/range */
static const char range_reply[] =
	"{\"header\":{\"cluster_id\":\"14841639068965178418\",\"member_id\":"
	"\"10276657743932975437\",\"revision\":\"7\",\"raft_term\":\"2\"},\"kvs\":[{\"key\":"
	"\"L2hudmd3L3JkL2JsdWUvcmRvbWFpbg==\",\"create_revision\":\"5\",\"mod_revision\":\"6\","
	"\"version\":\"2\",\"value\":\"cmRvbWFpbiBhZGQgYmx1ZQ==\"},{\"key\":\"L2hudmd3L3g=\","
	"\"create_revision\":\"7\",\"mod_revision\":\"7\",\"version\":\"1\"}],\"count\":\"2\"}";

static void test_range(void **state)
{
	(void)state;
	struct hnv_etcd_kvs k;
	char err[256];
	assert_int_equal(
		hnv_etcd_parse_range(range_reply, strlen(range_reply), &k, err, sizeof(err)), 0);
	assert_int_equal(k.revision, 7);
	assert_int_equal(k.n, 2);
	assert_string_equal(k.v[0].key, "/hnvgw/rd/blue/rdomain");
	assert_string_equal(k.v[0].value, "rdomain add blue");
	assert_int_equal(k.v[0].create_rev, 5);
	assert_int_equal(k.v[0].mod_rev, 6);
	assert_string_equal(k.v[1].value, ""); /* empty value: omitted */
	hnv_etcd_kvs_free(&k);

	/* an empty range has no kvs */
	const char *empty = "{\"header\":{\"revision\":\"3\"}}";
	assert_int_equal(hnv_etcd_parse_range(empty, strlen(empty), &k, err, sizeof(err)), 0);
	assert_int_equal(k.n, 0);
	assert_int_equal(k.revision, 3);
	hnv_etcd_kvs_free(&k);

	static const char *const bad[] = {
		"",
		"[]",
		"{\"kvs\":[]}",                                         /* no header */
		"{\"header\":{\"revision\":\"-3\"}}",                   /* negative */
		"{\"header\":{\"revision\":\"3x\"}}",                   /* not a number */
		"{\"header\":{\"revision\":\"99999999999999999999\"}}", /* too long */
		"{\"header\":{\"revision\":true}}",
		"{\"header\":{\"revision\":\"3\"},\"kvs\":{}}",
		"{\"header\":{\"revision\":\"3\"},\"kvs\":[1]}",
		"{\"header\":{\"revision\":\"3\"},\"kvs\":[{\"key\":\"!!\"}]}",
		"{\"header\":{\"revision\":\"3\"},\"kvs\":[{\"value\":\"Zg==\"}]}", /* no key */
		"{\"header\":{\"revision\":\"3\"}} x",
		"{\"error\":\"etcdserver: mvcc: required revision has been "
		"compacted\",\"code\":11}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(hnv_etcd_parse_range(bad[i], strlen(bad[i]), &k, err, sizeof(err)),
				 -EPROTO);
		assert_true(err[0] != '\0');
	}
	/* the gateway's message is passed on */
	assert_non_null(strstr(err, "compacted"));
}

static void test_txn(void **state)
{
	(void)state;
	bool ok;
	int64_t rev, del;
	char err[256];
	const char *yes = "{\"header\":{\"revision\":\"12\"},\"succeeded\":true,\"responses\":[{"
			  "\"response_put\":{\"header\":{\"revision\":\"12\"}}}]}";
	const char *no =
		"{\"header\":{\"revision\":\"12\"},\"responses\":[{\"response_range\":{}}]}";
	const char *dr = "{\"header\":{\"revision\":\"13\"},\"deleted\":\"2\"}";
	assert_int_equal(hnv_etcd_parse_txn(yes, strlen(yes), &ok, &rev, NULL, err, sizeof(err)),
			 0);
	assert_true(ok);
	assert_int_equal(rev, 12);
	assert_int_equal(hnv_etcd_parse_txn(no, strlen(no), &ok, &rev, NULL, err, sizeof(err)), 0);
	assert_false(ok);
	assert_int_equal(hnv_etcd_parse_txn(dr, strlen(dr), &ok, &rev, &del, err, sizeof(err)), 0);
	assert_int_equal(del, 2);
	assert_int_equal(rev, 13);
	const char *bad = "{\"header\":{\"revision\":\"12\"},\"succeeded\":\"yes\"}";
	assert_int_equal(hnv_etcd_parse_txn(bad, strlen(bad), &ok, &rev, NULL, err, sizeof(err)),
			 -EPROTO);
}

/* recorded from curl -N .../v3/watch: created, a put, a delete, then a
 * compaction cancel */
static const char watch_stream[] =
	"{\"result\":{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"7\","
	"\"raft_term\":\"2\"},\"created\":true}}\n"
	"{\"result\":{\"header\":{\"revision\":\"8\"},\"events\":[{\"kv\":{\"key\":\"L2hudmd3L2E="
	"\","
	"\"create_revision\":\"8\",\"mod_revision\":\"8\",\"version\":\"1\",\"value\":\"eA==\"}}]}}"
	"\n"
	"{\"result\":{\"header\":{\"revision\":\"9\"},\"events\":[{\"type\":\"DELETE\",\"kv\":{"
	"\"key\":\"L2hudmd3L2E=\",\"mod_revision\":\"9\"}}]}}\n"
	"{\"result\":{\"header\":{\"revision\":\"9\"},\"canceled\":true,\"compact_revision\":\"5\","
	"\"cancel_reason\":\"compacted\"}}\n";

struct seen {
	int msgs, puts, dels, created, canceled;
	int64_t last_rev, compact;
	char text[256];
};

static int on_msg(const struct hnv_etcd_watch_msg *m, void *arg)
{
	struct seen *s = arg;
	s->msgs++;
	s->created += m->created;
	s->canceled += m->canceled;
	if (m->compact_revision)
		s->compact = m->compact_revision;
	for (size_t i = 0; i < m->n; i++) {
		if (m->ev[i].deleted)
			s->dels++;
		else
			s->puts++;
		size_t l = strlen(s->text);
		snprintf(s->text + l, sizeof(s->text) - l, "%s %s=%s@%lld;",
			 m->ev[i].deleted ? "del" : "put", m->ev[i].kv.key, m->ev[i].kv.value,
			 (long long)m->ev[i].kv.mod_rev);
	}
	s->last_rev = m->revision;
	return 0;
}

static void test_watch_stream(void **state)
{
	(void)state;
	size_t len = strlen(watch_stream);
	/* whole, then split in two at every byte, then byte by byte */
	for (size_t cut = 0; cut <= len + 1; cut++) {
		struct seen s = {0};
		char err[256];
		struct hnv_etcd_stream *st = hnv_etcd_stream_new(on_msg, &s);
		assert_non_null(st);
		if (cut <= len) {
			assert_int_equal(
				hnv_etcd_stream_feed(st, watch_stream, cut, err, sizeof(err)), 0);
			assert_int_equal(hnv_etcd_stream_feed(st, watch_stream + cut, len - cut,
							      err, sizeof(err)),
					 0);
		} else {
			for (size_t i = 0; i < len; i++)
				assert_int_equal(hnv_etcd_stream_feed(st, watch_stream + i, 1, err,
								      sizeof(err)),
						 0);
		}
		hnv_etcd_stream_free(st);
		assert_int_equal(s.msgs, 4);
		assert_int_equal(s.created, 1);
		assert_int_equal(s.canceled, 1);
		assert_int_equal(s.compact, 5);
		assert_int_equal(s.puts, 1);
		assert_int_equal(s.dels, 1);
		assert_string_equal(s.text, "put /hnvgw/a=x@8;del /hnvgw/a=@9;");
	}
}

static void test_watch_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{\"result\":{\"events\":[]}}\n", /* no header */
		"{\"result\":{\"header\":{\"revision\":\"1\"},\"events\":[{\"type\":\"PUTX\","
		"\"kv\":{"
		"\"key\":\"YQ==\",\"mod_revision\":\"1\"}}]}}",
		"{\"result\":{\"header\":{\"revision\":\"1\"},\"events\":[{\"kv\":{\"key\":\"YQ=="
		"\"}}]}}",
		"{\"result\":{\"header\":{\"revision\":\"1\"},\"events\":[{}]}}",
		"{\"result\":{\"header\":{\"revision\":\"1\"},\"events\":[7]}}",
		"{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"no leader\"}}",
		"{\"result\":1}",
		"[1,2]",
		"{\"result\":{\"header\":{\"revision\":\"1\"}}}}",
		"{\"result\":{\"header\":{\"revision\":\"1\"},\"created\":\"yes\"}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct seen s = {0};
		char err[256] = "";
		struct hnv_etcd_stream *st = hnv_etcd_stream_new(on_msg, &s);
		int rc = hnv_etcd_stream_feed(st, bad[i], strlen(bad[i]), err, sizeof(err));
		assert_int_equal(rc, -EPROTO);
		assert_true(err[0] != '\0');
		/* a broken stream stays broken */
		assert_int_equal(hnv_etcd_stream_feed(st, "{}", 2, err, sizeof(err)), -EPROTO);
		hnv_etcd_stream_free(st);
	}
}

static int stop_cb(const struct hnv_etcd_watch_msg *m, void *arg)
{
	(void)m;
	++*(int *)arg;
	return 42;
}

static void test_watch_stop(void **state)
{
	(void)state;
	int n = 0;
	char err[64];
	struct hnv_etcd_stream *st = hnv_etcd_stream_new(stop_cb, &n);
	assert_int_equal(
		hnv_etcd_stream_feed(st, watch_stream, strlen(watch_stream), err, sizeof(err)), 42);
	assert_int_equal(n, 1);
	hnv_etcd_stream_free(st);
}

static void test_urls(void **state)
{
	(void)state;
	struct hnv_etcd *e;
	char err[256];
	assert_int_equal(hnv_etcd_new("http://127.0.0.1:2379,https://10.0.0.1:2379/", 100, &e, err,
				      sizeof(err)),
			 0);
	assert_string_equal(hnv_etcd_current(e), "http://127.0.0.1:2379");
	hnv_etcd_free(e);
	static const char *const bad[] = {"",        "127.0.0.1:2379", "http://a,",
					  "ftp://x", "http://",        "http://a b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(hnv_etcd_new(bad[i], 100, &e, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "etcd URL"));
	}
}

/* Nothing listens on a port of the discard range: every member is tried,
 * the error names each. */
static void test_unreachable(void **state)
{
	(void)state;
	struct hnv_etcd *e;
	char err[512];
	assert_int_equal(
		hnv_etcd_new("http://127.0.0.1:9,http://127.0.0.1:7", 500, &e, err, sizeof(err)),
		0);
	int64_t rev;
	int rc = hnv_etcd_put(e, "/k", "v", &rev, err, sizeof(err));
	assert_true(rc == -EHOSTUNREACH || rc == -ETIMEDOUT);
	assert_non_null(strstr(err, "127.0.0.1:9"));
	assert_non_null(strstr(err, "127.0.0.1:7"));
	hnv_etcd_free(e);
}

/* The connection to etcd is close-on-exec (issue 17 finding 2: every
 * descriptor hnvgwd opens is; libcurl's own sockets are not by default).
 * A one-shot server thread finds the client's end of the connection it
 * accepted among this process's descriptors and checks its flag. */
struct one_shot {
	int listener;
	int client_flags; /* FD_CLOEXEC of the client's socket; -1 not found */
};

static void *serve_one(void *arg)
{
	struct one_shot *o = arg;
	struct sockaddr_in peer;
	socklen_t pl = sizeof(peer);
	int fd = accept(o->listener, (struct sockaddr *)&peer, &pl);
	if (fd < 0)
		return NULL;
	DIR *d = opendir("/proc/self/fd");
	for (struct dirent *e; d && (e = readdir(d));) {
		int c = atoi(e->d_name);
		struct sockaddr_in local;
		socklen_t ll = sizeof(local);
		if (e->d_name[0] != '.' && c != fd &&
		    getsockname(c, (struct sockaddr *)&local, &ll) == 0 &&
		    local.sin_family == AF_INET && local.sin_port == peer.sin_port)
			o->client_flags = fcntl(c, F_GETFD);
	}
	if (d)
		closedir(d);
	close(fd); /* no reply: the client gives up */
	return NULL;
}

static void test_socket_cloexec(void **state)
{
	(void)state;
	struct one_shot o = {.client_flags = -1};
	o.listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(o.listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(o.listener, 1), 0);
	assert_int_equal(getsockname(o.listener, (struct sockaddr *)&sa, &sl), 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, serve_one, &o), 0);
	char url[64], err[512];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", ntohs(sa.sin_port));
	struct hnv_etcd *e;
	assert_int_equal(hnv_etcd_new(url, 2000, &e, err, sizeof(err)), 0);
	int64_t rev;
	assert_true(hnv_etcd_put(e, "/k", "v", &rev, err, sizeof(err)) < 0);
	hnv_etcd_free(e);
	pthread_join(t, NULL);
	close(o.listener);
	assert_true(o.client_flags >= 0);
	assert_true(o.client_flags & FD_CLOEXEC);
}

/* TLS and auth options (issue 17 finding 1): a key or password file
 * others may read is refused naming it and its mode; options go in pairs;
 * certificates need https:// members; the password is its file's first
 * line; an authenticate reply gives its token. */
static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_sec(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_etcd_sec.XXXXXX", key[64], crt[64], pw[64], err[512];
	assert_non_null(mkdtemp(dir));
	snprintf(key, sizeof(key), "%s/k.pem", dir);
	snprintf(crt, sizeof(crt), "%s/c.pem", dir);
	snprintf(pw, sizeof(pw), "%s/pw", dir);
	write_file(key, "-----BEGIN PRIVATE KEY-----\nKEYMATERIAL\n", 0644);
	write_file(crt, "-----BEGIN CERTIFICATE-----\n", 0644);
	write_file(pw, "s3cret pass\nsecond line\n", 0640);
	struct hnv_etcd *e;
	assert_int_equal(hnv_etcd_new("https://127.0.0.1:2379", 100, &e, err, sizeof(err)), 0);
	struct hnv_etcd_sec sec = {.cacert = crt, .cert = crt, .key = key};
	assert_int_equal(hnv_etcd_set_sec(e, &sec, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "--etcd-key"));
	assert_non_null(strstr(err, "mode 0644"));
	assert_null(strstr(err, "KEYMATERIAL"));
	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(hnv_etcd_set_sec(e, &sec, err, sizeof(err)), 0);
	hnv_etcd_free(e);

	/* pairs */
	assert_int_equal(hnv_etcd_new("https://127.0.0.1:2379", 100, &e, err, sizeof(err)), 0);
	struct hnv_etcd_sec half = {.cert = crt};
	assert_int_equal(hnv_etcd_set_sec(e, &half, err, sizeof(err)), -EINVAL);
	struct hnv_etcd_sec user = {.user = "hnv"};
	assert_int_equal(hnv_etcd_set_sec(e, &user, err, sizeof(err)), -EINVAL);
	/* the password file's mode, then its first line */
	user.password_file = pw;
	assert_int_equal(hnv_etcd_set_sec(e, &user, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "--etcd-password-file"));
	assert_null(strstr(err, "s3cret"));
	assert_int_equal(chmod(pw, 0400), 0);
	assert_int_equal(hnv_etcd_set_sec(e, &user, err, sizeof(err)), 0);
	hnv_etcd_free(e);
	write_file(pw, "\n", 0600);
	assert_int_equal(hnv_etcd_new("https://127.0.0.1:2379", 100, &e, err, sizeof(err)), 0);
	assert_int_equal(hnv_etcd_set_sec(e, &user, err, sizeof(err)), -EINVAL);
	hnv_etcd_free(e);

	/* certificates over http:// */
	assert_int_equal(hnv_etcd_new("https://127.0.0.1:2379,http://127.0.0.1:2380", 100, &e, err,
				      sizeof(err)),
			 0);
	assert_int_equal(hnv_etcd_set_sec(e, &sec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "https://"));
	hnv_etcd_free(e);
	unlink(key);
	unlink(crt);
	unlink(pw);
	rmdir(dir);

	/* authenticate replies */
	char *tok;
	static const char ok[] =
		"{\"header\":{\"revision\":\"1\"},\"token\":\"lStlcchdpGIdwEhv.11\"}";
	assert_int_equal(hnv_etcd_parse_auth(ok, strlen(ok), &tok, err, sizeof(err)), 0);
	assert_string_equal(tok, "lStlcchdpGIdwEhv.11");
	free(tok);
	static const char *const bad[] = {
		"{\"header\":{}}",
		"{\"token\":\"a\\r\\nX-Injected: 1\"}",
		"{\"token\":\"\"}",
		"{\"error\":\"etcdserver: authentication failed, invalid user ID or password\","
		"\"code\":3}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(
			hnv_etcd_parse_auth(bad[i], strlen(bad[i]), &tok, err, sizeof(err)), 0);
		assert_null(tok);
	}
	assert_non_null(strstr(err, "authentication failed"));
}

#define HDR "\"header\":{\"cluster_id\":\"7801232528081817440\",\"revision\":\"3\"}"

static void test_lease(void **state)
{
	(void)state;
	char err[256];
	int64_t id = -5, ttl = -5;
	const char *grant = "{" HDR ",\"ID\":\"5007618283295552773\",\"TTL\":\"3\"}";
	assert_int_equal(hnv_etcd_parse_lease(grant, strlen(grant), HNV_ETCD_LEASE_GRANT, 0, &id,
					      &ttl, err, sizeof(err)),
			 0);
	assert_true(id == 5007618283295552773LL);
	assert_int_equal(ttl, 3);
	const char *ka = "{\"result\":{" HDR ",\"ID\":\"42\",\"TTL\":\"3\"}}";
	assert_int_equal(hnv_etcd_parse_lease(ka, strlen(ka), HNV_ETCD_LEASE_KEEPALIVE, 42, &id,
					      &ttl, err, sizeof(err)),
			 0);
	assert_int_equal(id, 42);
	assert_int_equal(ttl, 3);
	/* another lease than asked for */
	assert_int_equal(hnv_etcd_parse_lease(ka, strlen(ka), HNV_ETCD_LEASE_KEEPALIVE, 43, &id,
					      &ttl, err, sizeof(err)),
			 -EPROTO);
	/* an expired lease's keepalive: no TTL */
	const char *gone = "{\"result\":{" HDR ",\"ID\":\"42\"}}";
	assert_int_equal(hnv_etcd_parse_lease(gone, strlen(gone), HNV_ETCD_LEASE_KEEPALIVE, 42, &id,
					      &ttl, err, sizeof(err)),
			 -ENOENT);
	const char *left = "{" HDR ",\"ID\":\"42\",\"TTL\":\"2\",\"grantedTTL\":\"3\"}";
	assert_int_equal(hnv_etcd_parse_lease(left, strlen(left), HNV_ETCD_LEASE_TTL, 42, &id, &ttl,
					      err, sizeof(err)),
			 0);
	assert_int_equal(ttl, 2);
	const char *unknown = "{" HDR ",\"ID\":\"123\",\"TTL\":\"-1\"}";
	assert_int_equal(hnv_etcd_parse_lease(unknown, strlen(unknown), HNV_ETCD_LEASE_TTL, 123,
					      &id, &ttl, err, sizeof(err)),
			 -ENOENT);
	const char *rev = "{" HDR "}";
	assert_int_equal(hnv_etcd_parse_lease(rev, strlen(rev), HNV_ETCD_LEASE_REVOKE, 42, NULL,
					      NULL, err, sizeof(err)),
			 0);
	/* broken replies: each refused with a message, nothing filled in */
	static const char *const bad[][2] = {
		{"g", "{" HDR ",\"ID\":\"5\",\"TTL\":\"0\"}"},
		{"g", "{" HDR ",\"ID\":\"5\",\"TTL\":\"-1\"}"},
		{"g", "{" HDR ",\"TTL\":\"3\"}"},
		{"g", "{" HDR ",\"ID\":\"-5\",\"TTL\":\"3\"}"},
		{"g", "{" HDR ",\"ID\":\"5\",\"TTL\":\"99999999\"}"},
		{"g", "{" HDR ",\"ID\":5.5,\"TTL\":\"3\"}"},
		{"g", "{\"ID\":\"5\",\"TTL\":\"3\"}"},
		{"g", "{\"error\":\"etcdserver: too many requests\",\"code\":8}"},
		{"k", "{" HDR ",\"ID\":\"5\",\"TTL\":\"3\"}"},
		{"k", "{\"result\":[]}"},
		{"k", "{\"result\":{" HDR ",\"ID\":\"5\",\"TTL\":\"-1\"}}"},
		{"k", "{\"error\":{\"grpc_code\":14,\"message\":\"unavailable\"}}"},
		{"t", "{" HDR ",\"ID\":\"5\",\"TTL\":\"-2\"}"},
		{"t", "{" HDR ",\"ID\":\"5\",\"TTL\":\"--1\"}"},
		{"r", "[]"},
		{"r", "{\"header\":7}"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum hnv_etcd_lease_op op = bad[i][0][0] == 'g'   ? HNV_ETCD_LEASE_GRANT
					    : bad[i][0][0] == 'k' ? HNV_ETCD_LEASE_KEEPALIVE
					    : bad[i][0][0] == 't' ? HNV_ETCD_LEASE_TTL
								  : HNV_ETCD_LEASE_REVOKE;
		id = ttl = 77;
		err[0] = '\0';
		int rc = hnv_etcd_parse_lease(bad[i][1], strlen(bad[i][1]), op, 0, &id, &ttl, err,
					      sizeof(err));
		if (rc != -EPROTO)
			fail_msg("%s: %d", bad[i][1], rc);
		assert_true(err[0] != '\0');
		assert_int_equal(id, 77);
		assert_int_equal(ttl, 77);
	}
	/* a range reply's key bound to a lease names it */
	const char *r =
		"{" HDR ",\"kvs\":[{\"key\":\"YQ==\",\"value\":\"Yg==\",\"create_revision\":"
		"\"2\",\"mod_revision\":\"2\",\"version\":\"1\",\"lease\":\"42\"}],"
		"\"count\":\"1\"}";
	struct hnv_etcd_kvs k;
	assert_int_equal(hnv_etcd_parse_range(r, strlen(r), &k, err, sizeof(err)), 0);
	assert_int_equal(k.n, 1);
	assert_int_equal(k.v[0].lease, 42);
	hnv_etcd_kvs_free(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64),          cmocka_unit_test(test_prefix_end),
		cmocka_unit_test(test_range),        cmocka_unit_test(test_txn),
		cmocka_unit_test(test_watch_stream), cmocka_unit_test(test_watch_bad),
		cmocka_unit_test(test_watch_stop),   cmocka_unit_test(test_urls),
		cmocka_unit_test(test_unreachable),  cmocka_unit_test(test_socket_cloexec),
		cmocka_unit_test(test_sec),          cmocka_unit_test(test_lease),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
