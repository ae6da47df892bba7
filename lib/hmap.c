/* hmap.c: string-keyed hash table (hmap.h). */
#include "hmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct hnv_hmap_node *find_hashed(const struct hnv_hmap *m, const char *key, uint64_t h)
{
	if (!m->nb)
		return NULL;
	for (struct hnv_hmap_node *n = m->b[h & (m->nb - 1)]; n; n = n->next)
		if (n->hash == h && strcmp(n->key, key) == 0)
			return n;
	return NULL;
}

struct hnv_hmap_node *hnv_hmap_find(const struct hnv_hmap *m, const char *key)
{
	return find_hashed(m, key, hash_str(key));
}

void *hnv_hmap_get(const struct hnv_hmap *m, const char *key)
{
	struct hnv_hmap_node *n = hnv_hmap_find(m, key);
	return n ? n->val : NULL;
}

static int grow(struct hnv_hmap *m)
{
	size_t nb = m->nb ? m->nb * 2 : 64;
	if (nb > SIZE_MAX / sizeof(*m->b))
		return -ENOMEM;
	struct hnv_hmap_node **b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->nb; i++)
		for (struct hnv_hmap_node *n = m->b[i], *nx; n; n = nx) {
			nx = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return 0;
}

int hnv_hmap_put(struct hnv_hmap *m, const char *key, void *val, void **old)
{
	uint64_t h = hash_str(key);
	struct hnv_hmap_node *n = find_hashed(m, key, h);
	if (n) {
		if (old)
			*old = n->val;
		n->val = val;
		return 0;
	}
	size_t kl = strlen(key);
	if ((m->n >= m->nb && grow(m)) || !(n = malloc(sizeof(*n) + kl + 1)))
		return -ENOMEM;
	memcpy(n->key, key, kl + 1);
	n->hash = h;
	n->val = val;
	n->next = m->b[h & (m->nb - 1)];
	m->b[h & (m->nb - 1)] = n;
	m->n++;
	if (old)
		*old = NULL;
	return 0;
}

bool hnv_hmap_del(struct hnv_hmap *m, const char *key, void **val)
{
	if (!m->nb)
		return false;
	uint64_t h = hash_str(key);
	for (struct hnv_hmap_node **p = &m->b[h & (m->nb - 1)]; *p; p = &(*p)->next) {
		struct hnv_hmap_node *n = *p;
		if (n->hash != h || strcmp(n->key, key) != 0)
			continue;
		*p = n->next;
		if (val)
			*val = n->val;
		free(n);
		m->n--;
		return true;
	}
	return false;
}

void hnv_hmap_clear(struct hnv_hmap *m, void (*free_val)(void *))
{
	for (size_t i = 0; i < m->nb; i++)
		for (struct hnv_hmap_node *n = m->b[i], *nx; n; n = nx) {
			nx = n->next;
			if (free_val)
				free_val(n->val);
			free(n);
		}
	free(m->b);
	memset(m, 0, sizeof(*m));
}

static struct hnv_hmap_node *first_from(const struct hnv_hmap *m, size_t i)
{
	for (; i < m->nb; i++)
		if (m->b[i])
			return m->b[i];
	return NULL;
}

struct hnv_hmap_node *hnv_hmap_first(const struct hnv_hmap *m)
{
	return first_from(m, 0);
}

struct hnv_hmap_node *hnv_hmap_next(const struct hnv_hmap *m, const struct hnv_hmap_node *n)
{
	return n->next ? n->next : first_from(m, (size_t)(n->hash & (m->nb - 1)) + 1);
}
