/* test_s2s_rate.c: the rate limits of S2S tunnels (s2s add --rate-out,
 * --rate-in, like gre and l3 add's): their parse errors, the canonical
 * line, show config and show s2s; the PSK never shown. The limits on the
 * XFRM interface are checked in the image lab (ike-interop). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf_line.h"
#include "conn_conf.h"

static void test_rates_line(void **state)
{
	(void)state;
	const char *in = "s2s add hq --rate-in 20000 --rdomain blue --peer 198.51.100.2 "
			 "--local-id gw --remote-id site --psk " PSK
			 " --remote-prefix 192.168.0.0/16 --rate-out 8";
	const char *canon = "s2s add hq --rdomain blue --peer 198.51.100.2 --local-id gw "
			    "--remote-id site --psk " PSK " --ike-proposal "
			    "aes256gcm16-prfsha384-ecp384 --esp-proposal aes256gcm16-ecp384 "
			    "--remote-prefix 192.168.0.0/16 --dpd 30 --rate-out 8 --rate-in 20000";
	struct hnv_conf_cmd c, back;
	char line[2048], masked[2048];
	parse_ok(in, &c);
	assert_int_equal(c.u.s2s.rate_out, 8);
	assert_int_equal(c.u.s2s.rate_in, 20000);
	assert_int_equal(hnv_conf_format(&c, true, line, sizeof(line)), 0);
	assert_string_equal(line, canon);
	parse_ok(line, &back);
	assert_memory_equal(&back.u.s2s, &c.u.s2s, sizeof(c.u.s2s));
	/* masked: the rates shown, the PSK not */
	assert_int_equal(hnv_conf_format(&c, false, masked, sizeof(masked)), 0);
	assert_non_null(strstr(masked, "--psk <secret>"));
	assert_non_null(strstr(masked, " --rate-out 8 --rate-in 20000"));
	assert_null(strstr(masked, PSK));
	/* absent: unlimited, and nothing written */
	parse_ok("s2s add hq --rdomain blue --peer 198.51.100.2 --local-id gw --remote-id site "
		 "--psk " PSK " --remote-prefix 192.168.0.0/16",
		 &c);
	assert_int_equal(c.u.s2s.rate_out, 0);
	assert_int_equal(c.u.s2s.rate_in, 0);
	assert_int_equal(hnv_conf_format(&c, true, line, sizeof(line)), 0);
	assert_null(strstr(line, "--rate"));
}

static void test_rates_errors(void **state)
{
	(void)state;
	static const struct {
		const char *opt, *want;
	} t[] = {
		{"--rate-out 7", "invalid rate out (kbit/s) \"7\""},
		{"--rate-in 32000001", "invalid rate in (kbit/s) \"32000001\""},
		{"--rate-out 0", "invalid rate out (kbit/s) \"0\""},
		{"--rate-in fast", "invalid rate in (kbit/s) \"fast\""},
		{"--rate-out 100 --rate-out 200", "--rate-out"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char line[512], err[512] = "";
		struct hnv_conf_cmd c;
		snprintf(line, sizeof(line),
			 "s2s add hq --rdomain blue --peer 198.51.100.2 --local-id gw --remote-id "
			 "site --psk " PSK " --remote-prefix 192.168.0.0/16 %s",
			 t[i].opt);
		int rc = hnv_conf_parse_line(line, &c, err, sizeof(err));
		if (rc != -EINVAL || strstr(err, t[i].want) == NULL || strstr(err, PSK) != NULL)
			fail_msg("\"%s\": rc %d, error \"%s\", want \"%s\"", t[i].opt, rc, err,
				 t[i].want);
	}
}

/* show config and show s2s of a model with a limited tunnel */
static void test_rates_show(void **state)
{
	(void)state;
	const char *text =
		BASE S2S_LINE("hq", "blue", "198.51.100.2", "--remote-prefix 192.168.0.0/16",
			      " --rate-out 10000 --rate-in 30000");
	char err[512] = "";
	struct hnv_model *m = NULL;
	if (hnv_model_load(text, strlen(text), &m, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	char *t1 = hnv_model_text(m, false);
	assert_non_null(strstr(t1, "--dpd 30 --rate-out 10000 --rate-in 30000\n"));
	assert_null(strstr(t1, PSK));
	free(t1);
	/* with secrets the text loads back to the same tunnel */
	char *full = hnv_model_text(m, true);
	struct hnv_model *m2 = NULL;
	assert_int_equal(hnv_model_load(full, strlen(full), &m2, err, sizeof(err)), 0);
	char *t2 = hnv_model_text(m2, true);
	assert_string_equal(full, t2);
	free(full);
	free(t2);
	hnv_model_free(m2);
	json_object *rows = NULL;
	assert_int_equal(hnv_model_show(m, "s2s", false, &rows), 0);
	assert_int_equal(json_object_array_length(rows), 1);
	json_object *r = json_object_array_get_idx(rows, 0), *v;
	assert_true(json_object_object_get_ex(r, "rate_out_kbit", &v));
	assert_int_equal(json_object_get_int64(v), 10000);
	assert_true(json_object_object_get_ex(r, "rate_in_kbit", &v));
	assert_int_equal(json_object_get_int64(v), 30000);
	assert_null(strstr(json_object_to_json_string(rows), PSK));
	json_object_put(rows);
	hnv_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rates_line),
		cmocka_unit_test(test_rates_errors),
		cmocka_unit_test(test_rates_show),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
