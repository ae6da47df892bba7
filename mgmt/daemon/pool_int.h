/* pool_int.h: what pool.c (membership) and pool_tenants.c (the pool's
 * tenants: election, serving, record move) share. Only they include it.
 *
 * Threads: the keepalive thread (pool.c) keeps the lease; the view thread
 * reads the members (pool.c) and then runs the tenants' election
 * (pool_tenants.c, hnv_pool_tenants_tick), every VIEW_MS and whenever the
 * watch thread (pool.c) sees a key of the pool change; the control thread decides
 * whether the member is fenced and hands the tenants it holds to the sync
 * (hnv_pool_tenants_serve). What more than one thread touches is under mu.
 */
#ifndef HNV_POOL_INT_H
#define HNV_POOL_INT_H

#include "pool.h"
#include "sync.h"

#include "../../lib/hmap.h"
#include "../../lib/hnv_types.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct hnv_etcd;
struct hnv_sync;

#define KEY_MAX 512
#define RETRY_MS 250 /* a failed grant or keepalive is tried again after this */
#define VIEW_MS 500  /* the member view is read this often */
/* and at most this often: a change the pool watch sees (a member's lease
 * expired, a tenant claimed or released) has it read at once */
#define VIEW_GAP_MS 100

enum member_state {
	ST_JOINING, /* no lease yet */
	ST_MEMBER,  /* a lease, kept alive in time */
	ST_FENCED   /* the lease may be gone: serve nothing */
};

/* A member as etcd has it. */
struct member_view {
	char host[HNV_SYNC_HOST_MAX + 1];
	char pa[64]; /* hosts/HOST/pa, "" when there is none */
	int64_t lease;
	int64_t left; /* seconds the lease has left; -1: gone */
};

struct hnv_pool {
	char name[HNV_SYNC_HOST_MAX + 1], host[HNV_SYNC_HOST_MAX + 1];
	char member_key[KEY_MAX], members[KEY_MAX], members_end[KEY_MAX], hosts[KEY_MAX];
	unsigned ttl;
	struct hnv_etcd *ka; /* the keepalive thread's */
	struct hnv_etcd *vw; /* the view thread's */
	struct hnv_etcd *rd; /* the control thread's: revoke at exit */
	struct hnv_etcd *wt; /* the watch thread's */
	pthread_t th, vth, wth;
	bool started, vstarted, wstarted;
	volatile int wcancel;                      /* ends the watch thread's watch */
	char pool_key[KEY_MAX], pool_end[KEY_MAX]; /* pool/NAME/: what it watches */
	int efd; /* the thread wakes the control thread */

	pthread_mutex_t mu; /* guards what follows, up to the control thread's part */
	pthread_cond_t cv;
	bool stop;
	uint64_t changes;  /* watch messages that kicked the view thread */
	uint64_t readings; /* of the view (and its tenants) read */
	int64_t lease, granted;
	int64_t ok_send_ms; /* send time of the last successful keepalive or grant */
	int64_t ok_ms;      /* when its reply came */
	uint64_t joins;
	char last_error[256];
	struct member_view *view; /* the view thread's last reading */
	size_t nview;
	int64_t view_ms; /* when (mono), 0: never */
	char view_err[256];

	/* tenants (pool_tenants.c): the view thread's reading, under mu */
	struct pool_tenant_row *trows; /* for show gateway-pool-tenants */
	size_t ntrows;
	char **held; /* routing domains held under held_lease */
	size_t nheld;
	int64_t held_lease;
	uint64_t claims, moves; /* claims won, lookup records moved */
	char **served_names;    /* what the control thread last had applied */
	size_t nserved_names;
	/* learned routes (gateway/retain.h): the control thread's texts of
	 * the tenants it serves, for the view thread to write; and the texts
	 * the view thread read at its claims, for the control thread */
	struct pool_text *ltexts, *inherit;
	size_t nltexts, ninherit;

	/* tenants: the view thread's own */
	struct hnv_hmap tstate; /* R -> struct pool_tstate */
	char tenants[KEY_MAX], tenants_end[KEY_MAX], actives[KEY_MAX], actives_end[KEY_MAX];
	char movereq[KEY_MAX], movereq_end[KEY_MAX]; /* pool/NAME/moveto/ (gateway move) */
	char learned[KEY_MAX];                       /* pool/NAME/learned/ */
	size_t learned_len;
	struct hnv_hmap written; /* R -> the learned text last written (char *) */
	/* the last pass of record moves (pool_tenants.c move_held): done at
	 * this reading's revision (0: not done), under this lease, to this PA */
	int64_t moves_rev, moves_lease;
	struct hnv_ip moves_pa;
	char prefix[KEY_MAX];

	/* control thread */
	struct hnv_sync *sync;          /* NULL: tenants are not served (no --etcd sync) */
	struct hnv_gw *gw;              /* NULL: no routes kept across takeovers */
	uint64_t learned_gen;           /* hnv_gw_learned_gen at the last texts */
	size_t nserved;                 /* tenants handed to the sync */
	int64_t served_changed_wall_ms; /* when that set last changed, applied (Unix ms) */
	enum member_state state;
	int64_t seen_lease; /* the lease the control thread last saw as held */
	uint64_t fences;
	int64_t changed_wall_ms; /* when state last changed (Unix ms) */
};

/* A routing domain's learned routes as text (gateway/retain.h). */
struct pool_text {
	char rd[HNV_NAME_MAX + 1];
	char *text;
};

/* A tenant of the pool as the view thread last read it. */
struct pool_tenant_row {
	char rd[HNV_NAME_MAX + 1];
	char holder[HNV_SYNC_HOST_MAX + 1]; /* "" when unowned */
	int64_t since_wall_ms;              /* when this member saw it so first */
	int64_t create_rev;                 /* of its active key; 0: none */
};

/* The view thread, after reading the members (view, n) at etcd revision
 * rev: reads the pool's tenants and active keys at the same revision (a
 * member whose lease etcd revoked after it has both its key and its
 * tenants' active keys there, or neither: an election never sees its
 * tenants unowned while it still counts as live, which split one death's
 * takeover in two), claims what this member should hold, releases active
 * keys of tenants gone, moves the lookup records of its tenants' gateway
 * CAs to its PA, and publishes what it holds. */
void hnv_pool_tenants_tick(struct hnv_pool *p, const struct member_view *view, size_t n,
			   int64_t rev);
/* The control thread: hands the held tenants to the sync when the member
 * is not fenced and holds them under its current lease; else none. */
void hnv_pool_tenants_serve(struct hnv_pool *p);
/* show gateway-pool-tenants (control thread; no etcd request). */
json_object *hnv_pool_tenants_status(void *arg);
void hnv_pool_tenants_free(struct hnv_pool *p);
/* Wakes the control thread (pool.c). Any thread. */
void hnv_pool_wake(struct hnv_pool *p);

#endif
