/* test_hmap.c: the string-keyed hash table (lib/hmap.c): put, replace,
 * find, delete, iteration across growth, set members, clear.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/hmap.h"

static void test_put_get_del(void **state)
{
	(void)state;
	struct hnv_hmap m = {0};
	void *old = (void *)1;
	assert_null(hnv_hmap_find(&m, "a"));
	assert_false(hnv_hmap_del(&m, "a", NULL));
	assert_int_equal(hnv_hmap_put(&m, "a", strdup("1"), &old), 0);
	assert_null(old);
	assert_int_equal(hnv_hmap_put(&m, "b", strdup("2"), NULL), 0);
	assert_string_equal(hnv_hmap_get(&m, "a"), "1");
	assert_string_equal(hnv_hmap_get(&m, "b"), "2");
	assert_int_equal(m.n, 2);

	/* replacing hands the old value back and keeps one node */
	assert_int_equal(hnv_hmap_put(&m, "a", strdup("3"), &old), 0);
	assert_string_equal(old, "1");
	free(old);
	assert_int_equal(m.n, 2);
	assert_string_equal(hnv_hmap_get(&m, "a"), "3");

	/* a set member: present with a NULL value */
	assert_int_equal(hnv_hmap_put(&m, "set", NULL, NULL), 0);
	assert_non_null(hnv_hmap_find(&m, "set"));
	assert_null(hnv_hmap_get(&m, "set"));
	assert_string_equal(hnv_hmap_find(&m, "set")->key, "set");

	void *v;
	assert_true(hnv_hmap_del(&m, "b", &v));
	assert_string_equal(v, "2");
	free(v);
	assert_null(hnv_hmap_find(&m, "b"));
	assert_false(hnv_hmap_del(&m, "b", NULL));
	assert_int_equal(m.n, 2);
	hnv_hmap_clear(&m, free);
	assert_int_equal(m.n, 0);
	assert_null(hnv_hmap_first(&m));
	/* usable again after clear */
	assert_int_equal(hnv_hmap_put(&m, "", NULL, NULL), 0);
	assert_non_null(hnv_hmap_find(&m, ""));
	hnv_hmap_clear(&m, NULL);
}

/* Thousands of keys: every one found after the buckets grew, iteration
 * visits each exactly once, deletion of half leaves the other half. */
static void test_many(void **state)
{
	(void)state;
	enum {
		N = 5000
	};
	struct hnv_hmap m = {0};
	char k[32];
	for (int i = 0; i < N; i++) {
		snprintf(k, sizeof(k), "rd/r%d/lookup/%d", i % 7, i);
		int *v = malloc(sizeof(*v));
		assert_non_null(v);
		*v = i;
		assert_int_equal(hnv_hmap_put(&m, k, v, NULL), 0);
	}
	assert_int_equal(m.n, N);
	assert_true(m.nb >= N && (m.nb & (m.nb - 1)) == 0);
	static unsigned char seen[N];
	memset(seen, 0, sizeof(seen));
	size_t count = 0;
	HNV_HMAP_FOREACH(n, &m)
	{
		int i = *(int *)n->val;
		snprintf(k, sizeof(k), "rd/r%d/lookup/%d", i % 7, i);
		assert_string_equal(n->key, k);
		assert_int_equal(seen[i], 0);
		seen[i] = 1;
		count++;
	}
	assert_int_equal(count, N);
	for (int i = 0; i < N; i += 2) {
		void *v;
		snprintf(k, sizeof(k), "rd/r%d/lookup/%d", i % 7, i);
		assert_true(hnv_hmap_del(&m, k, &v));
		free(v);
	}
	assert_int_equal(m.n, N / 2);
	for (int i = 0; i < N; i++) {
		snprintf(k, sizeof(k), "rd/r%d/lookup/%d", i % 7, i);
		int *v = hnv_hmap_get(&m, k);
		if (i % 2)
			assert_true(v && *v == i);
		else
			assert_null(hnv_hmap_find(&m, k));
	}
	count = 0;
	HNV_HMAP_FOREACH(n, &m)
	count++;
	assert_int_equal(count, N / 2);
	hnv_hmap_clear(&m, free);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_del),
		cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
