/* sync_int.h: what the files of the etcd sync module share; sync.h is its
 * public side and its design. Only mgmt/daemon/sync*.c include this.
 *
 *   sync_keys.c   the key layout, and the command a config key holds,
 *                 parsed once when its value arrives (pure functions: the
 *                 watch thread uses them too)
 *   sync_watch.c  the watch thread and its queue to the control thread
 *   sync_delta.c  the shared objects applied, by key, and their
 *                 differences with the mirror as del/add commands
 *   sync_plan.c   a transaction of shared lines (or a port move) planned
 *                 into one etcd transaction
 *   sync.c        lifecycle, the event source, the exec hook, the mirror,
 *                 and applying: the changes handed to the core
 *
 * Everything but sync_watch.c's thread runs on the control thread.
 */
#ifndef HNV_SYNC_INT_H
#define HNV_SYNC_INT_H

#include "sync.h"

#include "../../lib/hmap.h"
#include "../../lib/hnv_types.h"
#include "../conftext.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hnv_etcd;
struct hnv_etcd_sec;
struct hnv_etcd_txn;
struct hnv_model;

#define SYNC_LINE_MAX 8192 /* a formatted config line */
#define SYNC_KEY_MAX 512   /* a key relative to the prefix */
#define SYNC_PREFIX_MAX 200

/* ---- keys (sync_keys.c) ---- */

/* The types of rd/R/TYPE/... keys. The config types come first, in the
 * order the model applies their objects (dependencies first), so that the
 * type is also the rank of a command when changes are ordered. */
enum sync_kt {
	SYNC_K_RDOMAIN,
	SYNC_K_VSUBNET,
	SYNC_K_POOL,
	SYNC_K_GW,
	SYNC_K_GWCA,
	SYNC_K_PORT,
	SYNC_K_LOOKUP,
	SYNC_K_ROUTE,
	SYNC_K_S2S,   /* rd/R/s2s/@POOL/NAME: a pool tenant's tunnel (with its PSK) */
	SYNC_K_ALLOC, /* "HOST/PORT": an address is taken; not a config line */
	SYNC_K_OTHER, /* hosts/..., guard/..., anything else */
};
#define SYNC_K_LINES SYNC_K_ALLOC /* types below hold one config line */

struct sync_key {
	enum sync_kt t;
	char rd[HNV_NAME_MAX + 1];
	/* port, gw and gwca keys; else "". "@NAME" for the gw, gwca and s2s
	 * keys of gateway pool NAME (a host name never starts with '@'; an
	 * s2s key has only this form: a host's tunnel is local) */
	char host[HNV_SYNC_HOST_MAX + 2];
	const char *rest; /* into the key: after TYPE/ (and HOST/) */
};

/* Splits a relative key "rd/R/TYPE/REST". Returns k->t; SYNC_K_OTHER
 * (rd and host undefined) for anything else. */
enum sync_kt sync_key_parse(const char *key, struct sync_key *k);
/* The key type of a command kind (add, del or set of a shared object);
 * SYNC_K_OTHER for local-only kinds. */
enum sync_kt sync_kt_of_kind(enum hnv_conf_kind kind);
/* The add kind of the objects a config key type (below SYNC_K_LINES) holds. */
enum hnv_conf_kind sync_kt_add_kind(enum sync_kt t);
/* A name usable as one key component: non-empty, no '/', not . or .. */
bool sync_name_ok(const char *n);
/* The key of a shared object (add, del or set command) of routing domain
 * rd; host for port, gw and gwca keys, except for a gw or gwca line with
 * --pool NAME, whose key names "@NAME" instead. 0, -EINVAL for a
 * local-only kind or a host-bound gw or gwca line given a host that starts
 * with '@' (the key of a pool), -ENAMETOOLONG when it does not fit len. */
int sync_key_of(const struct hnv_conf_cmd *c, const char *rd, const char *host, char *k,
		size_t len);
/* rd/R/lookup/V/CA, or rd/R/lookup/V/mac-MAC for a record without CA;
 * rd/R/alloc/V/IP. 0 or -ENAMETOOLONG. */
int sync_lookup_key(const char *rd, uint32_t vsid, const struct hnv_ip *ca,
		    const struct hnv_mac *mac, char *k, size_t len);
int sync_alloc_key(const char *rd, uint32_t vsid, const struct hnv_ip *ip, char *k, size_t len);
/* pool/NAME/tenant/R: the index key of a routing domain whose gateway is
 * in pool NAME, written with its gw key. 0 or -ENAMETOOLONG. */
int sync_pool_tenant_key(const char *pool, const char *rd, char *k, size_t len);

/* ---- parsed commands (sync_keys.c) ---- */

/* The config line of a key, parsed once: its add kind and the bytes of
 * its union member (a whole struct hnv_conf_cmd is about 2.4 KB, a lookup
 * record's member 392 bytes). Immutable. Shared by the mirror and the
 * applied state through refs, which only the control thread changes (the
 * watch thread hands new ones over). */
struct sync_cmd {
	unsigned refs;
	enum hnv_conf_kind kind;
	size_t size;
	_Alignas(max_align_t) unsigned char u[];
};

/* Parses value as the line of a key of config type t: 1 and *out (one
 * reference); 0 when the value is not exactly one config line (blank, a
 * comment, or a newline inside: ignored, with a warning when applied);
 * -EINVAL with a message naming the problem (not a command, or not t's
 * add command); -ENOMEM. */
int sync_cmd_parse(enum sync_kt t, const char *value, struct sync_cmd **out, char *err,
		   size_t errlen);
/* A parsed command of c (an add of a shared object), one reference; NULL
 * when out of memory or for another kind. */
struct sync_cmd *sync_cmd_new(const struct hnv_conf_cmd *c);
/* The whole command into *out. */
void sync_cmd_get(const struct sync_cmd *sc, struct hnv_conf_cmd *out);
struct sync_cmd *sync_cmd_ref(struct sync_cmd *sc);
void sync_cmd_unref(struct sync_cmd *sc); /* NULL is fine */
/* Whether key (relative, parsed as k) is the command's own key: the one
 * sync_key_of gives it in its own routing domain (rdomain, vsubnet, gw,
 * gwca and route lines name theirs) and the key's host. 0, or -EINVAL
 * with err saying whose key the line is. */
int sync_cmd_check_key(const struct sync_cmd *sc, const char *key, const struct sync_key *k,
		       char *err, size_t errlen);
/* The VSID a pool, port, lookup, route or gateway ca line names (it must
 * be a vsubnet of the key's routing domain); false for other kinds. */
bool sync_cmd_vsid(const struct sync_cmd *sc, uint32_t *vsid);
/* The routing domain command c names itself, or NULL (pool, port and
 * lookup name theirs through their VSID). */
const char *sync_named_rd(const struct hnv_conf_cmd *c);
/* Whether a and b are the same object with the same options (the same
 * canonical line). */
bool sync_cmd_eq(const struct sync_cmd *a, const struct sync_cmd *b);
/* The del command that removes what add (an add of a shared object) made. */
void sync_cmd_del_of(const struct hnv_conf_cmd *add, struct hnv_conf_cmd *del);

/* Sets key to a copy of val (NULL: a set member) in a table of strings,
 * freeing the value it replaces. 0 or -ENOMEM. */
int sync_map_put_str(struct hnv_hmap *m, const char *key, const char *val);

/* ---- values, as the watch delivers them and the mirror keeps them ---- */

struct sync_val {
	char *value; /* NUL-terminated */
	int64_t mod_rev;
	struct sync_cmd *cmd; /* a config key's parsed line, else NULL */
	char *bad;            /* a config key whose value is refused: why */
	bool reported;        /* its refusal was logged and counted */
};
/* Fills v for key (relative) and value: parses the config line of a
 * config key; a value that is not exactly one line of the key's own
 * command (sync_cmd_check_key) gets bad instead of cmd. Takes value
 * (malloc'd). 0 or -ENOMEM (v empty, value freed). */
int sync_val_set(struct sync_val *v, const char *key, char *value, int64_t mod_rev);
void sync_val_clear(struct sync_val *v);
void sync_val_free(void *v); /* a malloc'd struct sync_val; for hnv_hmap_clear */

/* ---- the watch thread (sync_watch.c) ---- */

struct sync_item {
	char *key;         /* relative to the prefix */
	struct sync_val v; /* v.value NULL: deleted */
};

/* What the watch delivers, in order. */
struct sync_msg {
	struct sync_msg *next;
	bool snapshot; /* the whole prefix at revision rev */
	int64_t rev;
	size_t n;
	struct sync_item *it;
};
void sync_msg_free(struct sync_msg *m);

struct sync_watch;
/* Starts the thread: it reads the whole prefix, then watches it from the
 * next revision, reconnecting with backoff (sync.h). 0 or a negative
 * errno with err. */
int sync_watch_start(const char *urls, const struct hnv_etcd_sec *sec, const char *prefix,
		     struct sync_watch **out, char *err, size_t errlen);
/* Stops and joins the thread, frees what it had queued. NULL is fine. */
void sync_watch_stop(struct sync_watch *w);
/* Readable when messages are queued. */
int sync_watch_fd(const struct sync_watch *w);
/* Every queued message (a list in delivery order; the caller frees each
 * with sync_msg_free), or NULL. */
struct sync_msg *sync_watch_take(struct sync_watch *w);
/* Why the thread last failed to reach etcd ("" once it did). */
void sync_watch_last_error(struct sync_watch *w, char *buf, size_t len);
/* Waits at most ms until revision rev (or later) has been queued. */
void sync_watch_wait(struct sync_watch *w, int64_t rev, long ms);

/* ---- the applied state and its changes (sync_delta.c) ---- */

/* Reads the shared objects of model m into applied (key -> struct
 * sync_cmd), this host being host. An object no key names (its routing
 * domain cannot be a key, or a second object for one key) goes under
 * "orphan/N", a key never wanted. 0, or -ENOMEM with applied empty. */
int sync_applied_read(struct hnv_hmap *applied, const struct hnv_model *m, const char *host);
void sync_applied_clear(struct hnv_hmap *applied);

/* A key whose object differs between applied (from) and the mirror (to);
 * NULL: none. The pointers are the tables': valid until they change. */
struct sync_change {
	const char *key;
	struct sync_cmd *from, *to;
	bool rebuild; /* replaced (del, add) with an object it depends on */
};

/* A key the host applies whose value is refused: treated as absent. */
struct sync_refusal {
	const char *key; /* the mirror's */
	char why[384];
};

struct sync_delta {
	struct sync_change *v;
	size_t n, cap;
	struct sync_refusal *refused; /* of the keys compared */
	size_t n_refused, cap_refused;
};
void sync_delta_free(struct sync_delta *d);

/* What is compared. */
struct sync_delta_in {
	const struct hnv_hmap *mirror;  /* key -> struct sync_val */
	const struct hnv_hmap *applied; /* key -> struct sync_cmd */
	const struct hnv_hmap *rds;     /* the routing domains applied (a set) */
	const struct hnv_hmap *keys;    /* compare these keys only (a set); NULL: all */
	const char *host, *prefix;
	/* the gw and gwca keys of pools ("@NAME" hosts): those of pool for
	 * the routing domains in held (a set; this member holds them), or
	 * with any_pool every pool's (a validation view, sync_view) */
	const char *pool;
	const struct hnv_hmap *held;
	bool any_pool;
};
/* The changes that make applied what the mirror holds for in->rds (for
 * in->keys: what changed of those keys, when nothing else changed since
 * applied held the mirror's objects for the same rds). A key whose value
 * is refused (its bad, or a VSID that is no vsubnet of the key's routing
 * domain in the mirror) is as if absent, and listed in d->refused: its
 * object, if applied (by an older hnvgwd), is deleted. 0 or -ENOMEM. */
int sync_delta_compute(const struct sync_delta_in *in, struct sync_delta *d);
/* The changes as commands in apply order (dels, most dependent first;
 * then adds and lookup sets, dependencies first): 0 and *out (malloc'd)
 * with *n, or -ENOMEM. */
int sync_delta_cmds(const struct sync_delta *d, struct hnv_conf_cmd **out, size_t *n);
/* After the changes were applied: applied holds what they made. false
 * when it may not tell the model's objects exactly (the model dropped
 * more than asked: a gateway's CAs; or no memory): read it again. */
bool sync_delta_commit(struct hnv_hmap *applied, const struct sync_delta *d);

/* ---- the control thread's state (sync.c) ---- */

struct hnv_sync {
	struct hnv_core *core;
	char host[HNV_SYNC_HOST_MAX + 1];
	char prefix[SYNC_PREFIX_MAX + 1];
	struct hnv_etcd *wr; /* the control thread's client */
	struct sync_watch *watch;

	/* the mirror of the prefix */
	struct hnv_hmap mirror; /* relative key -> struct sync_val */
	int64_t mirror_rev;     /* last revision the watch delivered */
	bool synced;            /* a snapshot arrived */
	bool dirty;             /* mirror changed since the last apply */
	long last_apply_ms;
	struct hnv_hmap pending; /* keys changed since the last apply (a set) */
	bool full;               /* compare every key at the next apply */
	struct hnv_hmap own;     /* R -> count of this host's port and gw keys */
	bool own_valid;          /* else counted again */
	struct hnv_hmap rds;     /* the routing domains of the last apply (a set) */

	/* the shared objects of the running model, by key */
	struct hnv_hmap applied; /* key -> struct sync_cmd */
	bool applied_valid;      /* else rebuilt from the running model */
	unsigned seen_rev;       /* core revision applied reflects */

	bool pa_check; /* publish hosts/HOST/pa when it differs */
	long pa_retry_ms;

	/* values refused (sync_delta_compute), counted once per key and
	 * revision; hnvgw show etcd */
	uint64_t refused;
	char last_refused[SYNC_KEY_MAX + SYNC_PREFIX_MAX + 512];
	char urls[1024];
	bool tls_cert, auth;

	/* gateway pool: the routing domains this member holds (a set) */
	char pool[HNV_SYNC_HOST_MAX + 1];
	struct hnv_hmap held;
};

/* Sets key in the mirror to value (malloc'd, taken; NULL deletes the key):
 * a write of this host, at revision mod_rev. */
void sync_mirror_set(struct hnv_sync *s, const char *key, char *value, int64_t mod_rev);
/* The routing domains this host applies (where it has a port or a gateway
 * attachment), added to set. 0 or -ENOMEM. */
int sync_interests(struct hnv_sync *s, struct hnv_hmap *set);
/* The first IPv4 PA of the running model (else the first IPv6 one). */
bool sync_my_pa(const struct hnv_sync *s, struct hnv_ip *pa);
/* The view a write is validated on: a transaction open on the running
 * model itself (hnv_core_model_for_check; no copy), to abort before
 * returning to the loop, that holds the shared objects of the routing
 * domains rds as the mirror has them. 0, or a negative errno with err
 * (nothing open). */
struct hnv_model_txn;
int sync_view(struct hnv_sync *s, const struct hnv_hmap *rds, struct hnv_model_txn **t, char *err,
	      size_t errlen);

/* ---- planning a write (sync_plan.c) ---- */

/* What a transaction of shared lines becomes. Zero-initialized is empty. */
struct sync_plan {
	struct hnv_hmap ops; /* key (relative) -> value (malloc'd), NULL: delete */
	char **order;        /* keys of ops in first-write order */
	size_t n_order, cap_order;
	struct hnv_hmap cmp; /* keys compared (a set) */
	struct hnv_etcd_txn *txn;
};
void sync_plan_free(struct sync_plan *p);
/* Shared lines: validated on the view (this host's model and the routing
 * domains the lines touch), then their keys. 0 with p->txn, or a negative
 * errno with err. */
int sync_plan_lines(struct hnv_sync *s, const char *const *lines, size_t n, struct sync_plan *p,
		    char *err, size_t errlen);
/* port move NAME --to HOST */
int sync_plan_move(struct hnv_sync *s, const struct hnv_conf_port_move *mv, struct sync_plan *p,
		   char *err, size_t errlen);
/* gateway move R --to HOST (mv->name is R): puts pool/P/moveto/R = HOST
 * for the pool P whose tenant R is, when HOST is a member of P (its member
 * key, as the mirror has it, is compared) and does not hold R yet; the
 * members do the move (pool_tenants.c). */
int sync_plan_gw_move(struct hnv_sync *s, const struct hnv_conf_port_move *mv, struct sync_plan *p,
		      char *err, size_t errlen);
/* A committed plan into the mirror, at revision rev. */
void sync_plan_done(struct hnv_sync *s, const struct sync_plan *p, int64_t rev);

#endif
