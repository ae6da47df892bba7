/* fuzz_model.c: libFuzzer harness for the model's own checks
 * (mgmt/model_check.c) against the old validation, a replay of the whole
 * result into a fresh datapath (hnv_model_txn_replay).
 *
 * The input's bytes choose transactions over a small universe of names and
 * addresses (tests/unit/model_gen.h), applied one after the other to a
 * model that starts from a few objects. Each transaction must get the same
 * verdict and the same message from both; an accepted one is committed
 * (one byte in eight aborts it instead), and its reported changes must be
 * as many as the lines that differ between the texts before and after.
 * Seeds: tests/fuzz/seeds/fuzz_model (random bytes; the corpus grows).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-qsbr.h>

#include "../../mgmt/model.h"
#include "../unit/model_gen.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

/* The model and the replay build datapath contexts: register as their
 * control thread. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	urcu_qsbr_register_thread();
	return 0;
}

static const char start[] =
	"pa add 192.168.4.11/24 --dev eth0\n"
	"rdomain add r1 --rdid {00000000-0000-0000-0000-000000000001}\n"
	"rdomain add r2 --rdid {00000000-0000-0000-0000-000000000002}\n"
	"vsubnet add 5001 --rdomain r1 --prefix 10.0.0.0/24 --prefix fd00::/64\n"
	"vsubnet add 6001 --rdomain r2 --prefix 10.1.0.0/16\n"
	"gateway add --rdomain r1 --vrf v1 --table 101\n";

struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t next_byte(void *arg)
{
	struct input *in = arg;
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

/* Lines of a text that are not in the other, counted both ways. */
static size_t text_diff(const char *a, const char *b)
{
	size_t d = 0;
	for (int pass = 0; pass < 2; pass++) {
		const char *x = pass ? b : a, *y = pass ? a : b;
		for (const char *s = x; *s;) {
			const char *nl = strchr(s, '\n');
			size_t len = (size_t)(nl - s) + 1;
			bool found = false;
			for (const char *t = y; *t && !found;) {
				const char *tn = strchr(t, '\n');
				found = (size_t)(tn - t) + 1 == len && memcmp(s, t, len) == 0;
				t = tn + 1;
			}
			d += !found;
			s = nl + 1;
		}
	}
	return d;
}

/* One transaction from the input; false when the input ran out. */
static bool one_txn(struct hnv_model *m, struct gen *g, struct input *in)
{
	char lines[4][512], e1[640] = "", e2[640] = "";
	const char *lp[4];
	size_t n = 1 + pick(g, 4);
	for (size_t i = 0; i < n; i++) {
		gen_line(g, lines[i], sizeof(lines[i]));
		lp[i] = lines[i];
	}
	if (in->n == 0)
		return false;
	struct hnv_model_txn *t;
	if (hnv_model_txn_begin(m, &t) != 0)
		abort();
	int rc = hnv_model_txn_lines(t, lp, n, e1, sizeof(e1));
	int orc = hnv_model_txn_replay(t, e2, sizeof(e2));
	if (rc != orc || strcmp(e1, e2) != 0) {
		fprintf(stderr, "model: %d \"%s\"\nreplay: %d \"%s\"\n", rc, e1, orc, e2);
		abort();
	}
	if (rc != 0 || pick(g, 8) == 0) {
		hnv_model_txn_abort(t);
		return true;
	}
	const struct hnv_model_change *ch;
	size_t nch, lines_changed = 0;
	if (hnv_model_txn_changes(t, &ch, &nch) != 0)
		abort();
	for (size_t i = 0; i < nch; i++)
		lines_changed += (ch[i].old != NULL) + (ch[i].new != NULL);
	char *before = hnv_model_text(m, true);
	hnv_model_txn_commit(t);
	char *after = hnv_model_text(m, true);
	/* a replaced line that did not change shows as a change of two */
	if (before == NULL || after == NULL || text_diff(before, after) > lines_changed)
		abort();
	free(before);
	free(after);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	struct input in = {buf, len};
	struct gen g = {next_byte, &in};
	struct hnv_model *m = NULL;
	char err[640];
	if (hnv_model_load(start, strlen(start), &m, err, sizeof(err)) != 0)
		abort();
	for (int i = 0; i < 64 && one_txn(m, &g, &in); i++)
		;
	hnv_model_free(m);
	return 0;
}
