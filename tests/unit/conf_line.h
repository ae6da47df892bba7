/* conf_line.h: checks of one line of config text through
 * hnv_conf_parse_line, for the unit tests of the config parser
 * (test_conftext.c, test_conf_bgp.c, test_s2s_interop.c). Include after
 * <cmocka.h>. A test whose lines hold a secret defines CONF_LINE_SECRET to
 * it before including: then no refusal's message may contain it.
 */
#ifndef HNV_TEST_CONF_LINE_H
#define HNV_TEST_CONF_LINE_H

#include <errno.h>
#include <string.h>

#include "../../mgmt/conftext.h"

#ifndef CONF_LINE_SECRET
#define CONF_LINE_SECRET NULL
#endif

/* line parses into *c (one command). */
static inline void parse_ok(const char *line, struct hnv_conf_cmd *c)
{
	char err[512] = "";
	int rc = hnv_conf_parse_line(line, c, err, sizeof(err));
	if (rc != 1)
		fail_msg("\"%s\": rc %d, error \"%s\"", line, rc, err);
}

/* line is refused (-EINVAL) with a message containing want (and not
 * CONF_LINE_SECRET). */
static inline void parse_err(const char *line, const char *want)
{
	struct hnv_conf_cmd c;
	char err[512] = "";
	const char *secret = CONF_LINE_SECRET;
	int rc = hnv_conf_parse_line(line, &c, err, sizeof(err));
	if (rc != -EINVAL || strstr(err, want) == NULL)
		fail_msg("\"%.200s\": rc %d, error \"%s\", want \"%s\"", line, rc, err, want);
	if (secret && strstr(err, secret) != NULL)
		fail_msg("the secret is in \"%s\"", err);
}

#endif
