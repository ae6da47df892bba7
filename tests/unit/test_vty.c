/* test_vty.c: the reply parser of FRR's vty protocol (gateway/vty.c):
 * output, three NUL bytes, a status byte, however the reads split it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../gateway/vty.h"

#include <errno.h>

/* Feeds data (n bytes) to r in reads of step bytes: the first error, or 0. */
static int feed(struct hnv_vty_reply *r, const char *data, size_t n, size_t step)
{
	for (size_t i = 0; i < n; i += step) {
		int rc = hnv_vty_reply_feed(r, data + i, n - i < step ? n - i : step);
		if (rc)
			return rc;
	}
	return 0;
}

/* A reply in one read and byte by byte: the same output and status. */
static void test_reply(void **state)
{
	(void)state;
	static const char msg[] = "% [BGP] Unknown command: x\n\0\0\0\2";
	for (size_t step = 1; step <= sizeof(msg); step++) {
		struct hnv_vty_reply r = {.max = 1024};
		assert_int_equal(feed(&r, msg, sizeof(msg) - 1, step), 0);
		assert_true(r.done);
		assert_int_equal(r.status, 2);
		assert_string_equal(r.out, "% [BGP] Unknown command: x\n");
		hnv_vty_reply_free(&r);
	}
}

/* No output: "" and status 0; more than three NUL bytes: the fourth is
 * the status. */
static void test_reply_empty(void **state)
{
	(void)state;
	struct hnv_vty_reply r = {.max = 16};
	assert_int_equal(feed(&r, "\0\0\0", 3, 1), 0);
	assert_false(r.done);
	assert_int_equal(feed(&r, "\0", 1, 1), 0);
	assert_true(r.done);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "");
	hnv_vty_reply_free(&r);
}

/* One or two NUL bytes inside the output are output, not a terminator. */
static void test_reply_inner_nuls(void **state)
{
	(void)state;
	static const char msg[] = "a\0b\0\0c\0\0\0\x0d";
	struct hnv_vty_reply r = {.max = 16};
	assert_int_equal(feed(&r, msg, sizeof(msg) - 1, 2), 0);
	assert_true(r.done);
	assert_int_equal(r.status, 13);
	assert_int_equal(r.len, 6);
	assert_memory_equal(r.out, "a\0b\0\0c", 6);
	hnv_vty_reply_free(&r);
}

/* Output past the limit, bytes after the status: errors. */
static void test_reply_errors(void **state)
{
	(void)state;
	struct hnv_vty_reply r = {.max = 4};
	assert_int_equal(feed(&r, "12345\0\0\0\0", 9, 9), -EMSGSIZE);
	hnv_vty_reply_free(&r);
	r.max = 4;
	assert_int_equal(feed(&r, "1234\0\0\0\0", 8, 3), 0);
	assert_true(r.done);
	assert_string_equal(r.out, "1234");
	assert_int_equal(feed(&r, "x", 1, 1), -EPROTO);
	hnv_vty_reply_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_reply_empty),
		cmocka_unit_test(test_reply_inner_nuls),
		cmocka_unit_test(test_reply_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
