/* model_int.h: what the model's files share (model.c: the line stage and
 * the API; model_index.c: entries, indexes, views, the overlay;
 * model_check.c: the checks a transaction's result must pass; model_show.c:
 * rows). Only the model and its tests include it.
 *
 * An entry is one configured object: the "add" command that makes it (for
 * global: the merged "global set"), stored as the bytes of its hnv_conf_cmd
 * union member (a lookup record's up to its context's NUL), with an id in
 * its model's entry table. A model keeps its entries
 *   - in one list per group, in replay order (the groups in enum order,
 *     each in the order its entries were added; a "set" keeps the place);
 *   - in one hash index under every key an entry has: its identity (the
 *     fields a "del" names) and the secondary keys the checks look up
 *     (VSID and CA, VSID and MAC, RDID, VRF, table, tunnel identities);
 *   - in dependency buckets: per VSID and per routing domain, one list per
 *     group of the entries that name it, in replay order, with counts;
 *   - in counts the datapath's global limits are checked against.
 * A transaction (struct hnv_model_txn) is an overlay: entries it adds or
 * that replace base entries live in its own index, lists and buckets; base
 * entries it deletes or replaces are marked (shadow). A view (base and
 * overlay) answers every query a check makes; commit moves the overlay into
 * the base, abort drops it. Both cost in the size of the change.
 *
 * Threads: one control thread (model.h).
 */
#ifndef HNV_MODEL_INT_H
#define HNV_MODEL_INT_H

#include "conf_check.h"
#include "conftext.h"
#include "model.h"

#include <stdint.h>

enum group {
	G_PA,
	G_PROUTE,
	G_RDOMAIN,
	G_VSUBNET,
	G_POOL,
	G_GATEWAY,
	G_GATEWAY_CA,
	G_PORT,
	G_LOOKUP,
	G_ROUTE,
	G_S2S,
	G_GLOBAL,
	G_GRE, /* gre add: a GRE connection of a gateway */
	G_L3,  /* l3 add: a VLAN connection of a gateway */
	G_BGP_PEER, /* after every gateway it names */
	G__COUNT
};

/* The type of member m of hnv_conf_cmd's union. __typeof__ is a GNU C
 * extension (gcc and clang accept it in C11 mode): conftext.h owns these
 * types and names them as it likes; the model names them only through the
 * union, so it reads the same fields whatever the types are called. */
#define MEMBER_T(m) __typeof__(((struct hnv_conf_cmd *)0)->u.m)
#define MEMBER_SIZE(m) sizeof(MEMBER_T(m))
/* Entry e's member, as group m's type. */
#define OBJ(e, m) ((const MEMBER_T(m) *)(const void *)(e)->obj)

/* The datapath's limits a replay of the model runs into (datapath/policy.c
 * keeps them private; the model refuses what the datapath would). */
#define LIMIT_PAS 16u                    /* MAX_PAS */
#define LIMIT_RDOMAINS 16384u            /* MAX_RDOMAINS */
#define LIMIT_PORTS (HNV_PORTS_MAX - 1u) /* port ids 1..HNV_PORTS_MAX-1 */
#define LIMIT_RECORDS ((1u << 24) - 2u)  /* MAX_RECORDS */
#define LIMIT_STRINGS (1u << 20)         /* MAX_STRINGS: VM names, contexts */
#define LIMIT_CUSTOMERS 65535u           /* customer IDs */

/* ---- keys ---- */

/* A key: its first byte says what it is (a group for identities, K_* for
 * secondary keys, B_* for dependency buckets). The largest is a tunnel's
 * identities: 1 + 16 + 1 + 16 + 256 + 256 bytes. */
#define KEY_MAX 560
struct keyb {
	size_t n;
	uint8_t b[KEY_MAX];
};

enum {
	K_CA = 32,   /* VSID, CA: lookup records holding a CA, port CAs, gateway CAs */
	K_MAC = 33,  /* VSID, MAC: lookup records, ports */
	K_RDID = 34, /* routing domains */
	K_VRF = 35,  /* gateways */
	K_TABLE = 36,
	K_S2SID = 37, /* tunnels: peer, local address, identities */
	K_DEV = 38,   /* ports: the device a port uses (--dev, else its name);
		       * gateways: their corp device */
	K_CONN = 39,  /* GRE and L3 connections: local, remote, key / dev, VLAN */
	B_VSID = 48,  /* dependency buckets */
	B_RD = 49,
};

void mdl_key_identity(const void *obj, enum group g, struct keyb *k);
void mdl_key_ca(uint32_t vsid, const struct hnv_ip *ca, struct keyb *k);
void mdl_key_mac(uint32_t vsid, const struct hnv_mac *mac, struct keyb *k);
void mdl_key_vrf(const char *vrf, struct keyb *k);
void mdl_key_table(uint32_t table, struct keyb *k);
/* The device of port object o: its --dev, else its name (the TAP). */
void mdl_key_dev(const void *port_obj, struct keyb *k);
/* A device by its name (a port's, or a gateway's corp device). */
void mdl_key_devname(const char *name, struct keyb *k);
void mdl_key_rdid(const struct hnv_guid *g, struct keyb *k);
void mdl_key_s2sid(const void *s2s_obj, struct keyb *k);
/* The key no two connections share (conf_conn.h). */
void mdl_key_conn(const void *conn_obj, struct keyb *k);
void mdl_bkey_vsid(uint32_t vsid, struct keyb *k);
void mdl_bkey_rd(const char *rdomain, struct keyb *k);
uint64_t mdl_key_hash(const uint8_t *b, size_t n);

/* ---- entries ---- */

struct ent;
struct dlink {
	struct ent *prev, *next;
};

/* link slots: the group list, then the entry's dependency buckets */
enum {
	SLOT_GROUP,
	SLOT_DEP0,
	SLOT_DEP1,
	SLOT__COUNT
};

struct ent {
	struct dlink l[SLOT__COUNT];
	/* a base entry while a transaction is open: NULL, the entry that
	 * replaces it, or DELETED */
	struct ent *shadow;
	struct ent *replaces; /* a transaction's entry: the base entry it replaces */
	uint64_t seq;         /* place in its group: lower replays first */
	uint32_t id;          /* in its model's entry table (0: none yet) */
	unsigned origin;      /* a transaction's entry: its line (0: none) */
	uint8_t g;
	bool txn; /* belongs to the open transaction, not (yet) to the model */
	/* the union member's bytes, aligned for its type */
	_Alignas(max_align_t) unsigned char obj[];
};

extern struct ent mdl_deleted;
#define DELETED (&mdl_deleted)

/* A new entry holding member o of group g (the transaction's line origin),
 * or NULL; free with mdl_ent_free (it clears a tunnel's PSK) unless a
 * model or transaction took it. */
struct ent *mdl_ent_new(const void *o, enum group g, unsigned origin);
void mdl_ent_free(struct ent *e);
enum hnv_conf_kind mdl_group_kind(enum group g); /* the kind its entries store */
/* The entry as a command, line 0. Clear c after use if it is a tunnel. */
void mdl_ent_cmd(const struct ent *e, struct hnv_conf_cmd *c);
bool mdl_rec_has_ca(const struct ent *lookup); /* indexed by (VSID, CA) */

/* ---- the model and its transaction ---- */

struct glist {
	struct ent *head, *tail;
	size_t n;
};

/* Entries by key: open addressing; a slot holds the key's hash (high 32
 * bits), the entry's id and which of its keys it is (3 bits), so probing and
 * growing look at an entry only when the hashes match. 0: empty. */
struct eindex {
	uint64_t *slot;
	size_t mask, used;
};

/* Pointers by 64-bit hash (buckets, counted keys). */
struct pslot {
	uint64_t h;
	void *p;
};
struct ptab {
	struct pslot *s;
	size_t mask, used;
};

/* The entries naming one VSID or routing domain, per group in replay
 * order. In a transaction's overlay: the entries it added, and ndel, how
 * many of the base bucket's it deleted. */
struct bucket {
	uint64_t h;
	struct glist l[G__COUNT];
	size_t ndel[G__COUNT];
	size_t keylen;
	uint8_t key[];
};

/* Strings (VM names and contexts: n[0] lookup records, n[1] ports, whose
 * names name their automatic records) and customer IDs (n[0]) the datapath
 * interns, counted. */
struct cnode {
	uint64_t h;
	long n[2];
	size_t len;
	uint8_t key[];
};

/* What the global limits are checked against. In the model: absolute
 * counts. In a transaction: the view's values, set holding deltas to the
 * model's. */
struct counts {
	struct ptab set;   /* struct cnode */
	size_t uncovered;  /* port CAs no lookup record of their VSID holds */
	size_t str_all;    /* distinct strings of records and ports */
	size_t str_lookup; /* distinct strings of records */
	size_t cust;       /* distinct customer IDs */
	size_t gw_vsids;   /* VSIDs with gateway CAs (one gateway port each) */
};

struct hnv_model {
	/* the entries by id, the model's and its transaction's */
	struct ent **ents;
	size_t cap_ents;
	uint32_t next_id; /* ids below it were given out */
	uint32_t *free_ids;
	size_t n_free, cap_free;
	struct glist g[G__COUNT];
	uint64_t next_seq[G__COUNT];
	struct eindex ix;
	struct ptab buckets; /* struct bucket */
	struct counts cnt;
	struct hnv_model_txn *txn; /* open, or NULL */
};

enum txn_state {
	TXN_OK,
	TXN_FAILED_LINE,  /* a line was refused: the overlay is incomplete */
	TXN_FAILED_CHECK, /* the result failed the checks */
};

struct hnv_model_txn {
	struct hnv_model *m;
	enum txn_state state;
	int frc;                    /* the failure's errno */
	char ferr[640];             /* and its message */
	struct glist app[G__COUNT]; /* added entries, in order */
	uint64_t nseq[G__COUNT];
	size_t ndel[G__COUNT]; /* base entries deleted */
	struct eindex ix;      /* added and replacing entries */
	struct ptab buckets;   /* struct bucket: added entries, ndel */
	struct counts cnt;     /* the view's */
	struct ent **touched;  /* base entries deleted or replaced */
	size_t n_touched, cap_touched;
	size_t base_keys; /* keys commit inserts into the base index */
	/* the model was empty at begin: commit takes the overlay's index,
	 * lists, buckets and counts as the model's (load) */
	bool adopt;
	/* hnv_model_txn_changes */
	struct hnv_model_change *ch;
	struct hnv_conf_cmd *chcmd;
	size_t n_ch;
};

/* ---- views ---- */

/* The model as a transaction sees it (t set) or as it is (t NULL: every
 * base entry, whatever a transaction marked). */
struct view {
	const struct hnv_model *m;
	const struct hnv_model_txn *t;
};

/* The entry with identity k, or NULL. */
const struct ent *mdl_view_find(const struct view *v, const struct keyb *k);

/* Entries indexed under k, in no particular order:
 *	for (mdl_mit_init(&it, v, &k); (e = mdl_mit_next(&it)) != NULL;) */
struct mit {
	const struct view *v;
	const struct keyb *k;
	uint64_t h;
	int phase;
	size_t pos;
	bool started;
};
void mdl_mit_init(struct mit *it, const struct view *v, const struct keyb *k);
const struct ent *mdl_mit_next(struct mit *it);
/* How many entries of group g are indexed under k. */
size_t mdl_view_holders(const struct view *v, const struct keyb *k, enum group g);

/* A group, or one group of a bucket, in replay order. */
struct lit {
	const struct view *v;
	int slot, phase;
	const struct ent *next;
	const struct glist *ov;
};
void mdl_lit_group(struct lit *it, const struct view *v, enum group g);
void mdl_lit_bucket(struct lit *it, const struct view *v, const struct keyb *bk, enum group g);
const struct ent *mdl_lit_next(struct lit *it);
size_t mdl_view_count(const struct view *v, enum group g);
size_t mdl_view_bucket_count(const struct view *v, const struct keyb *bk, enum group g);
/* A string's (kind 's') or customer ID's ('c') counts in the view. */
void mdl_view_counted(const struct view *v, uint8_t kind, const void *key, size_t len, long n[2]);

/* ---- changing a model ---- */

/* A copy of m (entries, indexes, counts), or NULL. */
struct hnv_model *mdl_model_copy(const struct hnv_model *m);

/* The overlay's operations on entries of its view. 0 or -ENOMEM, which
 * leaves the view as it was. delete: e leaves the view (a transaction's
 * entry is freed). replace: n, a new entry with o's identity, takes o's
 * place ("lookup set", "global set"); o is freed if it was the
 * transaction's. append: n, a new entry, goes to the end of its group.
 * n belongs to the transaction once the call succeeded. */
int mdl_txn_delete(struct hnv_model_txn *t, struct ent *e);
int mdl_txn_replace(struct hnv_model_txn *t, struct ent *o, struct ent *n);
int mdl_txn_append(struct hnv_model_txn *t, struct ent *n);

/* Room in the overlay's index for keys more keys (a load's lines). */
int mdl_txn_reserve(struct hnv_model_txn *t, size_t keys);

/* Moves the overlay into the model, or drops it; the overlay is empty
 * afterwards. */
void mdl_overlay_commit(struct hnv_model_txn *t);
void mdl_overlay_drop(struct hnv_model_txn *t);

/* ---- shared helpers ---- */

const char *mdl_cmd_name(enum hnv_conf_kind k);
/* The object a command of group g names, e.g. `rdomain "blue"`. */
void mdl_describe(const void *obj, enum group g, char *buf, size_t len);
void mdl_merge_global(struct hnv_conf_global *g, const struct hnv_conf_global *s);
bool mdl_ip4_in(const struct hnv_ip *a, const struct hnv_ip *first, const struct hnv_ip *last);
bool mdl_terminated(const char *s, size_t size);

/* The checks of a transaction's result (model_check.c): every check a
 * replay of the result into a fresh datapath makes, on the entries the
 * transaction changed and those the change concerns. 0, or the errno and
 * message the replay would give ("line N: " for the transaction's own
 * entries). */
int mdl_check(struct hnv_model_txn *t, char *err, size_t errlen);

#endif
