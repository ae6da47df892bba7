/* hmap.h: a hash table from NUL-terminated string keys to pointers.
 *
 * Chained buckets, a power-of-two count doubled when the entries reach it,
 * FNV-1a hashes. The table copies each key into its node; values are the
 * caller's (the table frees them only through hnv_hmap_clear's free_val).
 * A node with a NULL value is a set member. Zero-initialized is empty.
 *
 *	struct hnv_hmap m = {0};
 *	if (hnv_hmap_put(&m, "rd/blue/rdomain", v, NULL))
 *		return -ENOMEM;
 *	HNV_HMAP_FOREACH(n, &m)
 *		use(n->key, n->val);
 *	hnv_hmap_clear(&m, free);
 *
 * Not thread-safe; iteration sees every node once as long as the table is
 * not changed meanwhile (hnv_hmap_put of an existing key only replaces its
 * value and is fine).
 */
#ifndef HNV_HMAP_H
#define HNV_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hnv_hmap_node {
	struct hnv_hmap_node *next;
	uint64_t hash;
	void *val;
	char key[]; /* NUL-terminated copy of the key */
};

struct hnv_hmap {
	struct hnv_hmap_node **b;
	size_t nb; /* buckets: 0 or a power of two */
	size_t n;  /* nodes */
};

/* The node of key, or NULL. */
struct hnv_hmap_node *hnv_hmap_find(const struct hnv_hmap *m, const char *key);
/* The value of key; NULL when absent (or when the value is NULL). */
void *hnv_hmap_get(const struct hnv_hmap *m, const char *key);
/* Sets key's value, adding the key when it is new. *old (old may be NULL)
 * gets the value it replaced, NULL for a new key. 0, or -ENOMEM with the
 * table unchanged. */
int hnv_hmap_put(struct hnv_hmap *m, const char *key, void *val, void **old);
/* Removes key: true and its value in *val (val may be NULL), or false
 * when it was not there. */
bool hnv_hmap_del(struct hnv_hmap *m, const char *key, void **val);
/* Removes every node, calling free_val (may be NULL) with each value, and
 * frees the buckets: the table is empty and reusable. */
void hnv_hmap_clear(struct hnv_hmap *m, void (*free_val)(void *));

/* Iteration in bucket order: the first node (NULL: empty), then the node
 * after n (NULL: none). */
struct hnv_hmap_node *hnv_hmap_first(const struct hnv_hmap *m);
struct hnv_hmap_node *hnv_hmap_next(const struct hnv_hmap *m, const struct hnv_hmap_node *n);
#define HNV_HMAP_FOREACH(node, m)                                                                  \
	for (struct hnv_hmap_node *node = hnv_hmap_first(m); node; node = hnv_hmap_next(m, node))

#endif
