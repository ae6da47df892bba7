/* test_pool_elect.c: placement of a gateway pool's tenants
 * (mgmt/daemon/pool_elect.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../mgmt/daemon/pool_elect.h"

/* Unowned tenants spread over the members with the fewest, counting the
 * plan's own placements: 4 over 3 idle members is 2/1/1, 6 over 3 is
 * 2/2/2, and a loaded member gets none until the others catch up. */
static void test_spread(void **state)
{
	(void)state;
	const char *m[] = {"g1", "g2", "g3"};
	const char *rds[] = {"blue", "green", "red", "yellow", "a1", "a2"};
	size_t load[3] = {0};
	int out[6];
	hnv_pool_plan(rds, 4, m, load, 3, out);
	size_t c[3] = {0};
	for (int i = 0; i < 4; i++) {
		assert_true(out[i] >= 0 && out[i] < 3);
		c[out[i]]++;
	}
	assert_int_equal(c[0] + c[1] + c[2], 4);
	assert_true(c[0] >= 1 && c[1] >= 1 && c[2] >= 1);
	assert_int_equal(load[0] + load[1] + load[2], 4);

	size_t l2[3] = {0};
	hnv_pool_plan(rds, 6, m, l2, 3, out);
	assert_int_equal(l2[0], 2);
	assert_int_equal(l2[1], 2);
	assert_int_equal(l2[2], 2);

	size_t l3[3] = {3, 0, 0};
	hnv_pool_plan(rds, 4, m, l3, 3, out);
	for (int i = 0; i < 4; i++)
		assert_int_not_equal(out[i], 0);
	assert_int_equal(l3[1] + l3[2], 4);
	assert_int_equal(l3[1], 2);
}

/* Equal loads: the highest rendezvous hash wins, whatever the order of the
 * members; no member: -1. */
static void test_rendezvous(void **state)
{
	(void)state;
	const char *m1[] = {"g1", "g2", "g3"}, *m2[] = {"g3", "g1", "g2"};
	const char *rd[] = {"tenant-x"};
	size_t l1[3] = {0}, l2[3] = {0};
	int o1, o2;
	hnv_pool_plan(rd, 1, m1, l1, 3, &o1);
	hnv_pool_plan(rd, 1, m2, l2, 3, &o2);
	assert_string_equal(m1[o1], m2[o2]);
	uint64_t best = 0;
	const char *want = NULL;
	for (int i = 0; i < 3; i++)
		if (!want || hnv_pool_rhash("tenant-x", m1[i]) > best) {
			best = hnv_pool_rhash("tenant-x", m1[i]);
			want = m1[i];
		}
	assert_string_equal(m1[o1], want);
	assert_true(hnv_pool_rhash("a", "b") != hnv_pool_rhash("b", "a"));
	assert_true(hnv_pool_rhash("ab", "c") != hnv_pool_rhash("a", "bc"));
	int none = 7;
	hnv_pool_plan(rd, 1, m1, l1, 0, &none);
	assert_int_equal(none, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_rendezvous),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
