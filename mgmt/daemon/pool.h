/* pool.h: membership of a gateway pool through etcd (hnvgwd --gateway-pool
 * NAME, docs/gateway-pool.md).
 *
 * A member holds an etcd lease of --pool-ttl seconds (default
 * HNV_POOL_DEFAULT_TTL) and the key
 *
 *   PREFIX pool/NAME/member/HOST     "ttl T"  (bound to the lease)
 *
 * A thread of its own, with its own etcd client, grants the lease, puts the
 * key and sends a keepalive every TTL/3. When etcd says the lease is gone
 * (it expired while the member could not reach etcd), the thread grants a
 * new one and puts the key again: the member rejoins.
 *
 * Fencing. etcd expires a lease at the latest TTL seconds after it handled
 * the last keepalive, which is after the member sent it. So the member
 * counts from the SEND time of its last successful keepalive (or grant)
 * and considers itself fenced from send + TTL - HNV_POOL_FENCE_MARGIN_MS
 * on: from then on its lease may be gone and another member may hold what
 * it held. The control thread checks this deadline (hnv_pool_timeout_ms),
 * logs the transition, and serves nothing while fenced.
 *
 * Tenants (pool_tenants.c): the view thread also elects the pool's
 * tenants (gateway add --pool NAME) and claims those this member should
 * hold; the control thread hands the ones it holds to the sync, which
 * applies their gateway lines as this host's, and hands it none while
 * fenced, which tears them down. `hnvgw show gateway-pool-tenants` lists
 * them with their active member.
 *
 * `hnvgw show gateway-pool` shows the members as a second thread, with an
 * etcd client of its own, reads them every 500 ms (member keys, their
 * leases' time to live, their hosts/HOST/pa), so that the control thread
 * never waits for etcd here: its fencing deadline must not be late. A
 * third thread watches the pool's keys and has the second read them at
 * once when one changes (a lease expired, a claim, a move request).
 *
 * Threads: hnv_pool_new, hnv_pool_free and the source functions run on
 * the control thread; the shared state is under a mutex.
 */
#ifndef HNV_POOL_H
#define HNV_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HNV_POOL_DEFAULT_TTL 3
#define HNV_POOL_MIN_TTL 2
#define HNV_POOL_MAX_TTL 60
#define HNV_POOL_FENCE_MARGIN_MS 500

struct hnv_core;
struct hnv_gw;
struct hnv_pool;
struct hnv_sync;

struct hnv_pool_opts {
	const char *name;   /* --gateway-pool: [A-Za-z0-9_.-]{1,63} */
	unsigned ttl;       /* --pool-ttl seconds; 0: HNV_POOL_DEFAULT_TTL */
	const char *urls;   /* --etcd */
	const char *host;   /* --host-name */
	const char *prefix; /* --etcd-prefix; NULL: the default */
	/* as in struct hnv_sync_opts; NULL: not used */
	const char *cacert, *cert, *key, *user, *password_file;
	/* the shared policy (hnvgwd --etcd) that applies the tenants this
	 * member holds; NULL: it serves none */
	struct hnv_sync *sync;
	/* the gateway whose tenants' learned routes are published and kept
	 * across takeovers (gateway/retain.h); NULL: none */
	struct hnv_gw *gw;
};

/* Starts the membership thread and registers `show gateway-pool`. Does
 * not wait for etcd. 0, or a negative errno with a message naming the bad
 * option. */
int hnv_pool_new(struct hnv_core *core, const struct hnv_pool_opts *o, struct hnv_pool **out,
		 char *err, size_t errlen);
/* Revokes the lease (the member leaves at once) and stops the thread. NULL
 * is fine. */
void hnv_pool_free(struct hnv_pool *p);

/* The control loop's event source (lib/source.h). */
int hnv_pool_fd(void *arg, short *events);
int hnv_pool_timeout_ms(void *arg);
void hnv_pool_run(void *arg, short revents);

#endif
