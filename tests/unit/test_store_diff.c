/* test_store_diff.c: the unified diff between two config texts
 * (mgmt/store_diff.c, hnv_store_diff_text).
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

#include "../../mgmt/conftext.h"
#include "../../mgmt/store.h"

#define PSK "Zq8-secret-Psk-4711-abcdef"

static char *diff_text(const char *a, const char *b)
{
	char *out = NULL;
	assert_int_equal(hnv_store_diff_text(a, strlen(a), b, strlen(b), "rev 1", "rev 2", &out),
			 0);
	return out;
}

static void assert_diff(const char *a, const char *b, const char *want)
{
	char *got = diff_text(a, b);
	if (strcmp(got, want) != 0)
		fail_msg("diff:\n---- got\n%s---- want\n%s----", got, want);
	free(got);
}

/* The texts and diff of test_diff_known, with every line L made the
 * config line "rdomain del L": the diff shows lines that parse as
 * written (one that does not parse is hidden, see
 * test_diff_masks_psk_by_parsing). Header, "@@" and "\\ No newline" lines stay. malloc'd. */
static char *cfg(const char *t, bool diff)
{
	char *out = calloc(1, strlen(t) * 16 + 1);
	size_t o = 0, n = 0;
	for (const char *p = t; *p; n++) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		bool keep = diff && (n < 2 || p[0] == '@' || p[0] == '\\');
		if (!keep) {
			if (diff)
				out[o++] = *p++, len--;
			o += (size_t)sprintf(out + o, "rdomain del ");
		}
		memcpy(out + o, p, len);
		o += len;
		if (e)
			out[o++] = '\n';
		p += len + (e != NULL);
	}
	return out;
}

static void assert_diff_cfg(const char *a, const char *b, const char *want)
{
	char *ca = cfg(a, false), *cb = cfg(b, false), *cw = cfg(want, true);
	assert_diff(ca, cb, cw);
	free(ca);
	free(cb);
	free(cw);
}

/* Expected outputs are what GNU diff -u prints for the same files (with
 * its file headers replaced). */
static void test_diff_known(void **state)
{
	(void)state;
	static const char ten[] = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
	assert_diff_cfg(ten, ten, "");
	assert_diff_cfg("", "", "");
	assert_diff_cfg(
		ten, "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n",
		"--- rev 1\n+++ rev 2\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
	/* changes 6 lines apart share a hunk; 7 apart do not */
	assert_diff_cfg(
		ten, "one\n2\n3\n4\n5\n6\n7\nseven\n9\n10\n",
		"--- rev 1\n+++ rev 2\n@@ -1,10 +1,10 @@\n-1\n+one\n 2\n 3\n 4\n 5\n 6\n 7\n"
		"-8\n+seven\n 9\n 10\n");
	assert_diff_cfg(ten, "one\n2\n3\n4\n5\n6\n7\n8\nnine\n10\n",
			"--- rev 1\n+++ rev 2\n@@ -1,4 +1,4 @@\n-1\n+one\n 2\n 3\n 4\n"
			"@@ -6,5 +6,5 @@\n 6\n 7\n 8\n-9\n+nine\n 10\n");
	/* from and to nothing */
	assert_diff_cfg("", "a\nb\n", "--- rev 1\n+++ rev 2\n@@ -0,0 +1,2 @@\n+a\n+b\n");
	assert_diff_cfg("a\n", "", "--- rev 1\n+++ rev 2\n@@ -1 +0,0 @@\n-a\n");
	/* insertion and deletion at the ends, one-line ranges */
	assert_diff_cfg("a\nb\n", "a\nb\nc\n",
			"--- rev 1\n+++ rev 2\n@@ -1,2 +1,3 @@\n a\n b\n+c\n");
	assert_diff_cfg("x\na\nb\nc\nd\n", "a\nb\nc\nd\n",
			"--- rev 1\n+++ rev 2\n@@ -1,4 +1,3 @@\n-x\n a\n b\n c\n");
	/* a change block prints its removed lines first */
	assert_diff_cfg("a\nb\nc\nd\n", "a\nB\nC\nd\n",
			"--- rev 1\n+++ rev 2\n@@ -1,4 +1,4 @@\n a\n-b\n-c\n+B\n+C\n d\n");
	/* a missing final newline is a difference and is marked */
	assert_diff_cfg(
		"a\nb", "a\nb\n",
		"--- rev 1\n+++ rev 2\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n"
		"+b\n");
}

static void test_diff_masks_psk(void **state)
{
	(void)state;
	static const char a[] =
		"rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}\n"
		"s2s add site1 --rdomain blue --peer 203.0.113.9 --local-id gw.example --remote-id "
		"site1.example --psk " PSK " --ike-proposal aes256gcm16-prfsha384-ecp384 "
		"--esp-proposal aes256gcm16-ecp384 --remote-prefix 192.168.50.0/24 --dpd 30\n";
	static const char b[] =
		"rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}\n"
		"s2s add site1 --rdomain blue --peer 203.0.113.9 --local-id gw.example --remote-id "
		"site1.example --psk \"another secret of 25 chars\" --ike-proposal "
		"aes256gcm16-prfsha384-ecp384 --esp-proposal aes256gcm16-ecp384 --remote-prefix "
		"192.168.50.0/24 --dpd 30\n";
	char *d = diff_text(a, b);
	/* the PSK changed: the line shows as changed, the PSK as <secret> */
	static const char masked[] =
		"s2s add site1 --rdomain blue --peer 203.0.113.9 --local-id gw.example --remote-id "
		"site1.example --psk <secret> --ike-proposal aes256gcm16-prfsha384-ecp384 "
		"--esp-proposal aes256gcm16-ecp384 --remote-prefix 192.168.50.0/24 --dpd 30\n";
	char want[2048];
	snprintf(want, sizeof(want),
		 "--- rev 1\n+++ rev 2\n@@ -1,2 +1,2 @@\n rdomain add blue --rdid "
		 "{11111111-2222-3333-4444-000000005001}\n-%s+%s",
		 masked, masked);
	assert_string_equal(d, want);
	assert_null(strstr(d, PSK));
	assert_null(strstr(d, "another secret"));
	free(d);
	/* an s2s line that does not parse is not shown */
	d = diff_text("rdomain del x\n", "s2s add broken --psk " PSK "\n");
	assert_string_equal(
		d,
		"--- rev 1\n+++ rev 2\n@@ -1 +1 @@\n-rdomain del x\n+" HNV_CONF_MASK_HIDDEN "\n");
	free(d);
}

/* issue 17 finding 3: read-only users read PSKs through config diff. The
 * diff masked only lines that began with the bytes "s2s add"; every
 * other spelling the parser accepts, and comments, showed the PSK. Each
 * line below is one a hand-edited hnvgw.conf (or a config drive) may
 * hold; the diff must show none of their PSKs. */
static void test_diff_masks_psk_by_parsing(void **state)
{
	(void)state;
#define TUN                                                                                        \
	" t1 --rdomain blue --peer 203.0.113.9 --local-id gw.example --remote-id "                 \
	"site1.example --psk " PSK " --remote-prefix 192.168.50.0/24"
	/* the canonical masked line of TUN */
	static const char masked[] =
		"s2s add t1 --rdomain blue --peer 203.0.113.9 --local-id gw.example --remote-id "
		"site1.example --psk <secret> --ike-proposal aes256gcm16-prfsha384-ecp384 "
		"--esp-proposal aes256gcm16-ecp384 --remote-prefix 192.168.50.0/24 --dpd 30";
	static const struct {
		const char *line, *want; /* want: the shown line, NULL: masked */
	} cases[] = {
		{"s2s  add" TUN, NULL},
		{"s2s\tadd" TUN, NULL},
		{"\t s2s \t add" TUN, NULL},
		{"\"s2s\" add" TUN, NULL},
		{"\"s2s\" \"add\"" TUN, NULL},
		{"s2s add" TUN "\r", NULL},
		{"s2s add" TUN " # replaced", NULL},
		/* commented out: shown as a comment, masked */
		{"# s2s add" TUN, "# "},
		{"#s2s  add" TUN, "# "},
		{"## \"s2s\" add" TUN, "# "},
		/* comments that hold a secret otherwise */
		{"# old: s2s add" TUN, HNV_CONF_MASK_COMMENT},
		{"#   --psk " PSK, HNV_CONF_MASK_COMMENT},
		{"rdomain del blue # psk was " PSK, "rdomain del blue " HNV_CONF_MASK_COMMENT},
		{"rdomain del blue # PSK: " PSK, "rdomain del blue " HNV_CONF_MASK_COMMENT},
		/* lines that do not parse show nothing of themselves */
		{"s2s add" TUN " --psk", HNV_CONF_MASK_HIDDEN},
		{"s2s add" TUN " \"unterminated", HNV_CONF_MASK_HIDDEN},
		{"  \"" PSK "\"", HNV_CONF_MASK_HIDDEN},
		{"s2s ad" TUN, HNV_CONF_MASK_HIDDEN},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char a[1024], want[2048];
		snprintf(a, sizeof(a), "rdomain del a\n%s\n", cases[i].line);
		char *d = diff_text("rdomain del a\n", a);
		if (strstr(d, PSK) != NULL)
			fail_msg("case %zu: the PSK shows in\n%s", i, d);
		if (cases[i].want == NULL)
			snprintf(want, sizeof(want), "%s%s", masked,
				 strstr(cases[i].line, "# replaced") ? " # replaced" : "");
		else if (strcmp(cases[i].want, "# ") == 0)
			snprintf(want, sizeof(want), "# %s", masked);
		else
			snprintf(want, sizeof(want), "%s", cases[i].want);
		char full[4096];
		snprintf(full, sizeof(full),
			 "--- rev 1\n+++ rev 2\n@@ -1 +1,2 @@\n rdomain del a\n+%s\n", want);
		if (strcmp(d, full) != 0)
			fail_msg("case %zu:\n---- got\n%s---- want\n%s----", i, d, full);
		free(d);
	}
	/* an ordinary comment and a quoted value with '#' show as written */
	char *d = diff_text("", "# the blue tenant\nrdomain del \"x\" # gone\n");
	assert_string_equal(d, "--- rev 1\n+++ rev 2\n@@ -0,0 +1,2 @@\n+# the blue tenant\n"
			       "+rdomain del \"x\" # gone\n");
	free(d);
#undef TUN
}

/* Applies a unified diff to a; returns the result (malloc'd). */
static char *patch(const char *a, const char *diff)
{
	/* lines of a */
	const char *al[64];
	size_t an = 0;
	for (const char *p = a; *p; p = strchr(p, '\n') + 1)
		al[an++] = p;
	size_t cap = strlen(a) + strlen(diff) + 1, o = 0, ai = 0;
	char *out = calloc(1, cap);
	const char *p = diff;
	if (*p == '\0') {
		strcpy(out, a);
		return out;
	}
	p = strchr(p, '\n') + 1; /* --- */
	p = strchr(p, '\n') + 1; /* +++ */
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = (size_t)(e - p);
		if (p[0] == '@') {
			unsigned start;
			assert_int_equal(sscanf(p, "@@ -%u", &start), 1);
			size_t want = start ? start - 1 : 0;
			/* one-line ranges and "0,0" name the line itself */
			if (strncmp(p, "@@ -0,0", 7) != 0 &&
			    (strchr(p + 4, ',') == NULL || strchr(p + 4, ',') > strchr(p + 4, ' ')))
				want = start - 1;
			while (ai < want) {
				size_t l = (size_t)(strchr(al[ai], '\n') - al[ai]) + 1;
				memcpy(out + o, al[ai++], l);
				o += l;
			}
		} else if (p[0] == ' ' || p[0] == '+') {
			memcpy(out + o, p + 1, len - 1);
			o += len - 1;
			out[o++] = '\n';
			ai += p[0] == ' ';
		} else if (p[0] == '-') {
			ai++;
		}
		p = e + 1;
	}
	while (ai < an) {
		size_t l = (size_t)(strchr(al[ai], '\n') - al[ai]) + 1;
		memcpy(out + o, al[ai++], l);
		o += l;
	}
	return out;
}

static size_t lcs(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t L[65][65] = {{0}};
	for (size_t i = na; i-- > 0;)
		for (size_t j = nb; j-- > 0;)
			L[i][j] = strcmp(a[i], b[j]) == 0     ? L[i + 1][j + 1] + 1
				  : L[i + 1][j] > L[i][j + 1] ? L[i + 1][j]
							      : L[i][j + 1];
	return L[0][0];
}

/* Random texts: the diff turns a into b, and is minimal. */
static void test_diff_random(void **state)
{
	(void)state;
	static char *const words[] = {"rdomain del a", "rdomain del b",    "rdomain del c",
				      "rdomain del d", "vsubnet del 5001", "pa del 10.0.0.1"};
	srand(4711);
	for (int round = 0; round < 3000; round++) {
		char *wa[64], *wb[64];
		size_t na = (size_t)(rand() % 40), nb = (size_t)(rand() % 40);
		char a[2048] = "", b[2048] = "";
		for (size_t i = 0; i < na; i++) {
			wa[i] = words[rand() % 6];
			strcat(a, wa[i]);
			strcat(a, "\n");
		}
		/* b: mostly a, with edits */
		size_t k = 0;
		for (size_t i = 0; i < nb; i++) {
			if (k < na && rand() % 4)
				wb[i] = wa[k++];
			else
				wb[i] = words[rand() % 6];
			strcat(b, wb[i]);
			strcat(b, "\n");
		}
		char *d = diff_text(a, b);
		char *got = patch(a, d);
		if (strcmp(got, b) != 0)
			fail_msg("round %d: patch gives\n%s\nwant\n%s\ndiff\n%s", round, got, b, d);
		size_t changes = 0;
		for (const char *p = d; *p; p = strchr(p, '\n') + 1)
			changes += (p[0] == '-' && p[1] != '-') || (p[0] == '+' && p[1] != '+');
		size_t want = na + nb - 2 * lcs(wa, na, wb, nb);
		if (changes != want)
			fail_msg("round %d: %zu changed lines, minimal is %zu\n%s", round, changes,
				 want, d);
		free(got);
		free(d);
	}
}

static void count_changes(const char *d, size_t *minus, size_t *plus, size_t *hunks)
{
	*minus = *plus = *hunks = 0;
	for (const char *p = d; *p; p = strchr(p, '\n') + 1) {
		*minus += p[0] == '-' && p[1] != '-';
		*plus += p[0] == '+' && p[1] != '+';
		*hunks += p[0] == '@';
	}
}

/* A large config with scattered changes still gets a minimal diff. */
static void test_diff_large(void **state)
{
	(void)state;
	size_t n = 100000;
	char *a = malloc(n * 32), *b = malloc(n * 32);
	size_t oa = 0, ob = 0;
	for (size_t i = 0; i < n; i++) {
		oa += (size_t)sprintf(a + oa, "rdomain del line%zu\n", i);
		ob += (size_t)sprintf(
			b + ob, i % 1000 == 0 ? "rdomain del LINE%zu\n" : "rdomain del line%zu\n",
			i);
	}
	char *d = diff_text(a, b);
	size_t minus, plus, hunks;
	count_changes(d, &minus, &plus, &hunks);
	assert_int_equal(minus, 100);
	assert_int_equal(plus, 100);
	assert_int_equal(hunks, 100);
	assert_non_null(strstr(d, "@@ -49998,7 +49998,7 @@\n rdomain del line49997\n rdomain del "
				  "line49998\n rdomain del line49999\n-rdomain del line50000\n"
				  "+rdomain del LINE50000\n rdomain del line50001\n"));
	free(d);
	free(a);
	free(b);
}

/* Beyond DIFF_D_MAX changes the middle is replaced whole: still correct. */
static void test_diff_coarse(void **state)
{
	(void)state;
	size_t n = 3000;
	char *a = malloc(n * 32), *b = malloc(n * 32);
	size_t oa = 0, ob = 0;
	oa += (size_t)sprintf(a + oa, "rdomain del head\n");
	ob += (size_t)sprintf(b + ob, "rdomain del head\n");
	for (size_t i = 0; i < n; i++) {
		oa += (size_t)sprintf(a + oa, "rdomain del old%zu\n", i);
		ob += (size_t)sprintf(b + ob, "rdomain del new%zu\n", i);
	}
	char *d = diff_text(a, b);
	size_t minus, plus, hunks;
	count_changes(d, &minus, &plus, &hunks);
	assert_int_equal(minus, n);
	assert_int_equal(plus, n);
	assert_int_equal(hunks, 1);
	assert_non_null(strstr(d, "@@ -1,3001 +1,3001 @@\n rdomain del head\n-rdomain del old0\n"));
	assert_non_null(strstr(d, "-rdomain del old2999\n+rdomain del new0\n"));
	free(d);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_known),
		cmocka_unit_test(test_diff_masks_psk),
		cmocka_unit_test(test_diff_masks_psk_by_parsing),
		cmocka_unit_test(test_diff_random),
		cmocka_unit_test(test_diff_large),
		cmocka_unit_test(test_diff_coarse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
