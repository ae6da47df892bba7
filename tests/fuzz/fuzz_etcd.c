/* fuzz_etcd.c: libFuzzer harness for what etcd's JSON gateway sends
 * (mgmt/etcd.c): range, txn and lease replies, and the watch stream.
 *
 * The first byte picks the chunk size the watch stream is fed in (1-256
 * bytes, so messages split at arbitrary points); the rest is given whole to
 * the range and txn parsers and in chunks to the stream. Checks:
 *   1. every parser returns 0 or a negative errno and fills err on error;
 *   2. what a range parse returns is consistent: n entries, each key
 *      non-empty and NUL-terminated at its length, revisions >= 0;
 *   3. every watch message handed to the callback has events with a key,
 *      a mod_revision > 0 and a NUL-terminated value;
 *   4. after an error the stream refuses more input;
 *   5. each key-value of a range, taken as the sync mirror takes it
 *      (mgmt/daemon/sync_keys.c): a config key gets its command of its
 *      own kind, or a reason, or neither (ignored), never both; other
 *      keys get neither;
 *   6. a lease reply parsed as each call's (grant, keepalive, timetolive,
 *      revoke) fills ID and TTL only on success, with an ID > 0 and a TTL
 *      in 1..HNV_ETCD_TTL_MAX (timetolive: from 0; a revoke has neither).
 * ASan/UBSan catch the rest.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../mgmt/daemon/sync_int.h"
#include "../../mgmt/etcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

static int on_msg(const struct hnv_etcd_watch_msg *m, void *arg)
{
	(void)arg;
	if (m->revision < 0 || m->compact_revision < 0)
		abort();
	for (size_t i = 0; i < m->n; i++) {
		const struct hnv_etcd_kv *kv = &m->ev[i].kv;
		if (!kv->key || kv->keylen == 0 || kv->key[kv->keylen] != '\0' || !kv->value ||
		    kv->value[kv->vlen] != '\0' || kv->mod_rev <= 0)
			abort();
	}
	return 0;
}

/* Check 5 on one key-value. */
static void check_val(const struct hnv_etcd_kv *kv)
{
	struct sync_val v;
	struct sync_key k;
	char *value = strndup(kv->value, kv->vlen);
	if (!value || sync_val_set(&v, kv->key, value, kv->mod_rev))
		return;
	enum sync_kt t = sync_key_parse(kv->key, &k);
	if ((v.cmd && v.bad) || (t >= SYNC_K_LINES && (v.cmd || v.bad)) ||
	    (v.cmd && (sync_kt_of_kind(v.cmd->kind) != t || !sync_cmd_eq(v.cmd, v.cmd))))
		abort();
	sync_val_clear(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	if (len < 1)
		return 0;
	size_t chunk = (size_t)buf[0] + 1;
	const char *text = (const char *)buf + 1;
	len--;
	char err[256];

	struct hnv_etcd_kvs k;
	err[0] = '\0';
	int rc = hnv_etcd_parse_range(text, len, &k, err, sizeof(err));
	if (rc == 0) {
		if (k.revision < 0 || (k.n && !k.v))
			abort();
		for (size_t i = 0; i < k.n; i++)
			if (k.v[i].keylen == 0 || k.v[i].key[k.v[i].keylen] != '\0' ||
			    k.v[i].create_rev < 0 || k.v[i].mod_rev < 0)
				abort();
		for (size_t i = 0; i < k.n; i++)
			check_val(&k.v[i]);
		hnv_etcd_kvs_free(&k);
	} else if (rc > 0 || err[0] == '\0') {
		abort();
	}

	bool ok;
	int64_t rev, del;
	err[0] = '\0';
	rc = hnv_etcd_parse_txn(text, len, &ok, &rev, &del, err, sizeof(err));
	if (rc > 0 || (rc < 0 && err[0] == '\0') || (rc == 0 && (rev < 0 || del < 0)))
		abort();

	for (int op = HNV_ETCD_LEASE_GRANT; op <= HNV_ETCD_LEASE_REVOKE; op++) {
		int64_t id = -7, ttl = -7;
		err[0] = '\0';
		rc = hnv_etcd_parse_lease(text, len, (enum hnv_etcd_lease_op)op, 0, &id, &ttl, err,
					  sizeof(err));
		if (rc > 0 || (rc < 0 && (err[0] == '\0' || id != -7 || ttl != -7)))
			abort();
		if (rc == 0 && op != HNV_ETCD_LEASE_REVOKE &&
		    (id <= 0 || ttl < (op == HNV_ETCD_LEASE_TTL ? 0 : 1) || ttl > HNV_ETCD_TTL_MAX))
			abort();
	}

	struct hnv_etcd_stream *s = hnv_etcd_stream_new(on_msg, NULL);
	if (!s)
		return 0;
	rc = 0;
	for (size_t off = 0; off < len && rc == 0; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		err[0] = '\0';
		rc = hnv_etcd_stream_feed(s, text + off, n, err, sizeof(err));
		if (rc > 0 || (rc < 0 && err[0] == '\0'))
			abort();
	}
	if (rc < 0 && hnv_etcd_stream_feed(s, "{}", 2, err, sizeof(err)) != -EPROTO)
		abort();
	hnv_etcd_stream_free(s);
	return 0;
}
