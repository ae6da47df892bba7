/* lease_check.c: mgmt/etcd.c's lease calls against a real etcd (run by
 * tests/etcd/test_pool.sh with its cluster's URLs and a key prefix).
 *
 *   lease_check URLS PREFIX
 *
 * Checks, each printed as "ok - ..." or "FAIL: ..." (exit 1):
 * etcd raises a TTL below its minimum (1.5 election timeouts: 3 s with
 * lib.sh's 2 s) to that minimum, so the leases here ask for 3 s.
 *
 *   1. a key put bound to a lease of TTL 3 reads back with that lease and
 *      vanishes by itself when no keepalive is sent (the time it took is
 *      printed); keepalive, timetolive and revoke of that lease are then
 *      -ENOENT, and so is a put bound to it;
 *   2. with a keepalive every TTL/3 the key is still there after 3 TTLs,
 *      and timetolive says the lease has time left;
 *   3. a transaction that creates a key bound to a lease (create_revision
 *      == 0 compare) succeeds once and fails the second time;
 *   4. revoke deletes the lease's keys at once.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../mgmt/etcd.h"

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL: " __VA_ARGS__);                                     \
			fprintf(stderr, " (%s)\n", err);                                           \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static char err[512];

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The key's lease, 0 when the key is absent, -1 on error. */
static int64_t key_lease(struct hnv_etcd *e, const char *key)
{
	struct hnv_etcd_kvs k;
	if (hnv_etcd_range(e, key, NULL, 0, &k, err, sizeof(err)))
		return -1;
	int64_t l = k.n == 1 ? k.v[0].lease : 0;
	if (k.n == 1 && l == 0)
		l = -2; /* present but bound to no lease */
	hnv_etcd_kvs_free(&k);
	return l;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: lease_check URLS PREFIX\n");
		return 2;
	}
	struct hnv_etcd *e;
	if (hnv_etcd_new(argv[1], 2000, &e, err, sizeof(err))) {
		fprintf(stderr, "FAIL: %s\n", err);
		return 1;
	}
	char k1[256], k2[256], k3[256];
	snprintf(k1, sizeof(k1), "%slease/expire", argv[2]);
	snprintf(k2, sizeof(k2), "%slease/kept", argv[2]);
	snprintf(k3, sizeof(k3), "%slease/txn", argv[2]);
	int64_t id, ttl, t;

	/* 1. expiry without keepalives */
	CHECK(hnv_etcd_lease_grant(e, 3, &id, &ttl, err, sizeof(err)) == 0, "grant");
	CHECK(id > 0 && ttl == 3, "grant: id %lld ttl %lld", (long long)id, (long long)ttl);
	int64_t t0 = now_ms();
	CHECK(hnv_etcd_put_lease(e, k1, "v", id, NULL, err, sizeof(err)) == 0,
	      "put bound to lease");
	CHECK(key_lease(e, k1) == id, "the key reads back bound to lease %lld", (long long)id);
	int64_t gone_ms = -1;
	while (now_ms() - t0 < 10000) {
		int64_t l = key_lease(e, k1);
		CHECK(l >= 0, "range while waiting for the expiry");
		if (l == 0) {
			gone_ms = now_ms() - t0;
			break;
		}
		usleep(50 * 1000);
	}
	CHECK(gone_ms >= 0, "the key bound to a TTL-3 lease is still there after 10 s");
	printf("ok - a key bound to a lease of TTL 3 s without keepalives vanished after %lld ms\n",
	       (long long)gone_ms);
	int rc = hnv_etcd_lease_keepalive(e, id, &t, err, sizeof(err));
	CHECK(rc == -ENOENT, "keepalive of the expired lease: %d", rc);
	rc = hnv_etcd_lease_ttl(e, id, &t, err, sizeof(err));
	CHECK(rc == -ENOENT, "timetolive of the expired lease: %d", rc);
	rc = hnv_etcd_put_lease(e, k1, "v", id, NULL, err, sizeof(err));
	CHECK(rc == -ENOENT, "put bound to the expired lease: %d", rc);
	CHECK(key_lease(e, k1) == 0, "the refused put left no key");
	rc = hnv_etcd_lease_revoke(e, id, err, sizeof(err));
	CHECK(rc == -ENOENT, "revoke of the expired lease: %d", rc);
	printf("ok - keepalive, timetolive, put and revoke of an expired lease: -ENOENT\n");

	/* 2. kept alive */
	CHECK(hnv_etcd_lease_grant(e, 3, &id, &ttl, err, sizeof(err)) == 0, "grant");
	CHECK(hnv_etcd_put_lease(e, k2, "v", id, NULL, err, sizeof(err)) == 0,
	      "put bound to lease");
	t0 = now_ms();
	int n = 0;
	while (now_ms() - t0 < 9000) {
		CHECK(hnv_etcd_lease_keepalive(e, id, &t, err, sizeof(err)) == 0, "keepalive %d",
		      n);
		CHECK(t == 3, "keepalive restarted the lease with TTL %lld", (long long)t);
		n++;
		usleep(1000 * 1000);
	}
	CHECK(key_lease(e, k2) == id, "the key of a kept-alive lease is gone after %d keepalives",
	      n);
	CHECK(hnv_etcd_lease_ttl(e, id, &t, err, sizeof(err)) == 0 && t >= 1 && t <= 3,
	      "timetolive of the kept-alive lease: %lld", (long long)t);
	printf("ok - with %d keepalives the key stayed for 9 s (3 TTLs), %lld s left\n", n,
	       (long long)t);

	/* 3. create-once transaction bound to the lease */
	for (int i = 0; i < 2; i++) {
		struct hnv_etcd_txn *x = hnv_etcd_txn_new();
		bool ok;
		int64_t rev;
		CHECK(x && hnv_etcd_txn_cmp(x, k3, NULL, HNV_ETCD_CREATE, HNV_ETCD_EQUAL, 0) == 0 &&
			      hnv_etcd_txn_put_lease(x, k3, "v", id) == 0,
		      "txn build");
		CHECK(hnv_etcd_txn_commit(e, x, &ok, &rev, err, sizeof(err)) == 0, "txn commit");
		hnv_etcd_txn_free(x);
		CHECK(ok == (i == 0), "create-revision == 0 txn #%d: succeeded %d", i + 1, ok);
	}
	CHECK(key_lease(e, k3) == id, "the txn's key is bound to the lease");
	printf("ok - a create-revision == 0 txn bound to the lease succeeds once, then fails\n");

	/* 4. revoke */
	CHECK(hnv_etcd_lease_revoke(e, id, err, sizeof(err)) == 0, "revoke");
	CHECK(key_lease(e, k2) == 0 && key_lease(e, k3) == 0,
	      "the lease's keys are still there after revoke");
	rc = hnv_etcd_lease_keepalive(e, id, &t, err, sizeof(err));
	CHECK(rc == -ENOENT, "keepalive of the revoked lease: %d", rc);
	printf("ok - revoke deleted the lease's keys at once\n");
	hnv_etcd_free(e);
	return 0;
}
