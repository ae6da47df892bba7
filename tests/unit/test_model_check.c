/* test_model_check.c: the model's own checks (mgmt/model_check.c) against
 * the old validation, a replay of the whole result into a fresh datapath
 * (hnv_model_txn_replay).
 *
 * Random transactions over a small universe (model_gen.h) must get the same
 * verdict and the same message from both, through lines and through parsed
 * commands, in place and through hnv_model_transact. Accepted ones are
 * committed (some aborted); then the model's indexes, buckets and counts
 * must equal ones computed afresh, its text must load to the same text, and
 * the changes the transaction reported must turn the old text into the new
 * one. The datapath's table limits a random walk does not reach get tests
 * of their own. test_one_change_cost prints what one "lookup add" costs on
 * a large model (HNV_MODEL_BENCH_RECORDS records, default 100000; nothing
 * asserted; for figures build this file with -O2 against build/libhnvgw.a).
 *
 * The main thread registers with liburcu-qsbr, as model.h requires.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <errno.h>
#include <urcu/urcu-qsbr.h>

#include "../../mgmt/model_int.h"
#include "model_gen.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ERR_LEN 640

struct rng {
	uint64_t s;
};

static uint8_t rng_byte(void *arg)
{
	struct rng *r = arg;
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return (uint8_t)(r->s >> 24);
}

/* ---- what the model must hold after a commit ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of a text, sorted (a multiset to compare). */
static char **text_lines(char *text, size_t *n)
{
	size_t cap = 16;
	char **v = malloc(cap * sizeof(*v));
	*n = 0;
	for (char *s = text, *nl; *s; s = nl + 1) {
		nl = strchr(s, '\n');
		*nl = '\0';
		if (*n == cap)
			v = realloc(v, (cap *= 2) * sizeof(*v));
		v[(*n)++] = s;
	}
	qsort(v, *n, sizeof(*v), cmp_str);
	return v;
}

static size_t distinct(char **v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_str);
	size_t d = 0;
	for (size_t i = 0; i < n; i++)
		d += i == 0 || strcmp(v[i], v[i - 1]) != 0;
	return d;
}

/* Indexes, buckets and counts equal what the entries say. */
static void check_invariants(const struct hnv_model *m)
{
	const struct view v = {m, NULL};
	char *lstr[4096], *astr[4096], *cust[4096], gbuf[4096][40];
	size_t nl = 0, na = 0, nc = 0, uncovered = 0, gw_vsids = 0;
	assert_null(m->txn);
	for (int g = 0; g < G__COUNT; g++) {
		size_t n = 0;
		for (const struct ent *e = m->g[g].head; e; e = e->l[SLOT_GROUP].next, n++) {
			struct keyb k;
			assert_null(e->shadow);
			assert_false(e->txn);
			assert_int_equal(e->g, g);
			mdl_key_identity(e->obj, (enum group)g, &k);
			assert_ptr_equal(mdl_view_find(&v, &k), e);
			if (e->l[SLOT_GROUP].next)
				assert_true(e->seq < e->l[SLOT_GROUP].next->seq);
			struct keyb bk;
			if (g == G_LOOKUP) {
				const MEMBER_T(lookup) *l = OBJ(e, lookup);
				mdl_bkey_vsid(l->vsid, &bk);
				if (l->vm_name[0])
					lstr[nl++] = astr[na++] = (char *)l->vm_name;
				if (l->context[0])
					lstr[nl++] = astr[na++] = (char *)l->context;
				if (l->has_customer_id) {
					hnv_fmt_guid(&l->customer_id, gbuf[nc], 40);
					cust[nc] = gbuf[nc];
					nc++;
				}
			}
			if (g == G_PORT) {
				const MEMBER_T(port) *p = OBJ(e, port);
				astr[na++] = (char *)p->name;
				for (unsigned i = 0; i < p->n_cas; i++) {
					mdl_key_ca(p->vsid, &p->cas[i], &k);
					assert_true(mdl_view_holders(&v, &k, G_PORT) >= 1);
					uncovered += mdl_view_holders(&v, &k, G_LOOKUP) == 0;
				}
				mdl_key_mac(p->vsid, &p->mac, &k);
				assert_true(mdl_view_holders(&v, &k, G_PORT) >= 1);
			}
			if (g == G_GATEWAY_CA) {
				bool first = true;
				for (const struct ent *x = m->g[g].head; x != e;
				     x = x->l[SLOT_GROUP].next)
					first &= OBJ(x, gateway_ca)->vsid !=
						 OBJ(e, gateway_ca)->vsid;
				gw_vsids += first;
				mdl_bkey_vsid(OBJ(e, gateway_ca)->vsid, &bk);
				assert_true(mdl_view_bucket_count(&v, &bk, G_GATEWAY_CA) >= 1);
			}
		}
		assert_int_equal(n, m->g[g].n);
		assert_int_equal(mdl_view_count(&v, (enum group)g), n);
	}
	/* every VSID bucket holds the entries that name the VSID */
	static const uint32_t vsids[] = {5001, 5002, 6001};
	for (size_t i = 0; i < ARRAY_LEN(vsids); i++) {
		struct keyb bk;
		mdl_bkey_vsid(vsids[i], &bk);
		size_t n = 0;
		for (const struct ent *e = m->g[G_LOOKUP].head; e; e = e->l[SLOT_GROUP].next)
			n += OBJ(e, lookup)->vsid == vsids[i];
		assert_int_equal(mdl_view_bucket_count(&v, &bk, G_LOOKUP), n);
		n = 0;
		for (const struct ent *e = m->g[G_PORT].head; e; e = e->l[SLOT_GROUP].next)
			n += OBJ(e, port)->vsid == vsids[i];
		assert_int_equal(mdl_view_bucket_count(&v, &bk, G_PORT), n);
	}
	assert_int_equal(m->cnt.uncovered, uncovered);
	assert_int_equal(m->cnt.str_lookup, distinct(lstr, nl));
	assert_int_equal(m->cnt.str_all, distinct(astr, na));
	assert_int_equal(m->cnt.cust, distinct(cust, nc));
	assert_int_equal(m->cnt.gw_vsids, gw_vsids);
}

/* The text of m after the changes equals old text minus each change's old
 * line plus its new line; deletions come first. */
static void check_changes(struct hnv_model_txn *t, char *before, const char *after)
{
	const struct hnv_model_change *ch;
	size_t n, nb, na;
	assert_int_equal(hnv_model_txn_changes(t, &ch, &n), 0);
	char **b = text_lines(before, &nb), *a_text = strdup(after);
	char **a = text_lines(a_text, &na);
	char **want = malloc((nb + n + 1) * sizeof(*want)), line[8192];
	char **own = calloc(n + 1, sizeof(*own));
	size_t nw = nb;
	memcpy(want, b, nb * sizeof(*want));
	bool adding = false;
	for (size_t i = 0; i < n; i++) {
		assert_true(ch[i].old != NULL || ch[i].new != NULL);
		if (ch[i].new != NULL)
			adding = true;
		else
			assert_false(adding); /* deletions first */
		if (ch[i].old != NULL) {
			assert_int_equal(hnv_conf_format(ch[i].old, true, line, sizeof(line)), 0);
			size_t k = 0;
			while (k < nw && strcmp(want[k], line) != 0)
				k++;
			if (k == nw)
				fail_msg("change %zu deletes \"%s\", which the old text lacks", i,
					 line);
			want[k] = want[--nw];
		}
		if (ch[i].new != NULL) {
			assert_int_equal(hnv_conf_format(ch[i].new, true, line, sizeof(line)), 0);
			own[i] = strdup(line);
			want[nw++] = own[i];
		}
	}
	qsort(want, nw, sizeof(*want), cmp_str);
	assert_int_equal(nw, na);
	for (size_t i = 0; i < nw; i++)
		assert_string_equal(want[i], a[i]);
	for (size_t i = 0; i < n; i++)
		free(own[i]);
	free(own);
	free(want);
	free(a);
	free(b);
	free(a_text);
}

/* ---- one random transaction ---- */

struct tally {
	unsigned ok, refused, committed;
	/* what refused them: the message up to its first quote or digit */
	char kinds[128][96];
	unsigned nkind[128], n_kinds;
};

static void tally_refusal(struct tally *tl, const char *err)
{
	char k[96];
	const char *s = strncmp(err, "line ", 5) == 0 ? strchr(err, ':') + 2 : err;
	size_t n = strcspn(s, "\"0123456789{");
	snprintf(k, sizeof(k), "%.*s", (int)(n < 90 ? n : 90), s);
	for (unsigned i = 0; i < tl->n_kinds; i++)
		if (strcmp(tl->kinds[i], k) == 0) {
			tl->nkind[i]++;
			return;
		}
	if (tl->n_kinds < 128) {
		snprintf(tl->kinds[tl->n_kinds], sizeof(tl->kinds[0]), "%s", k);
		tl->nkind[tl->n_kinds++] = 1;
	}
}

static void show_txn(const struct hnv_model *m, char lines[][512], size_t n)
{
	char *t = hnv_model_text(m, false);
	fprintf(stderr, "model:\n%s\ntransaction:\n", t);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "  %s\n", lines[i]);
	free(t);
}

/* The same lines as parsed commands (line i + 1): the same verdict and
 * message. Lines that do not parse are skipped. */
static void check_cmds(const struct hnv_model *m, char lines[][512], size_t n, int rc,
		       const char *err)
{
	struct hnv_conf_cmd *cmds = calloc(n, sizeof(*cmds));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int p = hnv_conf_parse_line(lines[i], &cmds[k], NULL, 0);
		if (p < 0) {
			free(cmds);
			return;
		}
		if (p == 1)
			cmds[k++].line = (unsigned)(i + 1);
	}
	struct hnv_model *c = mdl_model_copy(m);
	struct hnv_model_txn *t;
	char e[ERR_LEN] = "";
	assert_int_equal(hnv_model_txn_begin(c, &t), 0);
	int crc = hnv_model_txn_cmds(t, cmds, k, e, sizeof(e));
	if (crc != rc || (rc != 0 && strcmp(e, err) != 0)) {
		show_txn(m, lines, n);
		fail_msg("commands: rc %d \"%s\"; lines: rc %d \"%s\"", crc, e, rc, err);
	}
	hnv_model_txn_abort(t);
	hnv_model_free(c);
	explicit_bzero(cmds, n * sizeof(*cmds));
	free(cmds);
}

static void random_txn(struct hnv_model **mp, struct gen *g, struct tally *tl)
{
	struct hnv_model *m = *mp;
	char lines[6][512];
	const char *lp[6];
	size_t n = pick(g, 2) ? 1 : 2 + pick(g, 4);
	for (size_t i = 0; i < n; i++) {
		gen_line(g, lines[i], sizeof(lines[i]));
		lp[i] = lines[i];
	}
	char *before = hnv_model_text(m, true);
	struct hnv_model_txn *t;
	char e1[ERR_LEN] = "", e2[ERR_LEN] = "";
	struct hnv_model_txn *t2;
	assert_int_equal(hnv_model_txn_begin(m, &t), 0);
	assert_int_equal(hnv_model_txn_begin(m, &t2), -EBUSY);
	int rc = hnv_model_txn_lines(t, lp, n, e1, sizeof(e1));
	int orc = hnv_model_txn_replay(t, e2, sizeof(e2));
	if ((rc == 0) != (orc == 0) || rc != orc || strcmp(e1, e2) != 0) {
		show_txn(m, lines, n);
		fail_msg("model: rc %d \"%s\"\nreplay: rc %d \"%s\"", rc, e1, orc, e2);
	}
	/* readers see the old state meanwhile */
	char *during = hnv_model_text(m, true);
	assert_string_equal(before, during);
	free(during);
	check_cmds(m, lines, n, rc, e1);
	/* the copying transaction agrees */
	struct hnv_model *copy = NULL;
	char e3[ERR_LEN] = "";
	int crc = hnv_model_transact(m, lp, n, &copy, e3, sizeof(e3));
	if (crc != rc || strcmp(e1, e3) != 0)
		fail_msg("transact: rc %d \"%s\"; in place: rc %d \"%s\"", crc, e3, rc, e1);
	if (rc != 0) {
		tl->refused++;
		tally_refusal(tl, e1);
		hnv_model_txn_abort(t);
		char *after = hnv_model_text(m, true);
		assert_string_equal(before, after);
		free(after);
		free(before);
		return;
	}
	tl->ok++;
	if (pick(g, 8) == 0) {
		hnv_model_txn_abort(t);
		hnv_model_free(copy);
		free(before);
		return;
	}
	const struct hnv_model_change *ch;
	size_t nch;
	assert_int_equal(hnv_model_txn_changes(t, &ch, &nch), 0);
	char *after = hnv_model_text(copy, true);
	check_changes(t, before, after);
	hnv_model_txn_commit(t);
	tl->committed++;
	char *now = hnv_model_text(m, true);
	assert_string_equal(now, after);
	check_invariants(m);
	check_invariants(copy);
	/* a valid model's text loads to the same text */
	struct hnv_model *l = NULL;
	assert_int_equal(hnv_model_load(now, strlen(now), &l, e3, sizeof(e3)), 0);
	char *again = hnv_model_text(l, true);
	assert_string_equal(now, again);
	hnv_model_free(l);
	free(again);
	free(now);
	free(after);
	free(before);
	/* carry on with the copy now and then */
	if (pick(g, 4) == 0) {
		hnv_model_free(m);
		*mp = copy;
	} else {
		hnv_model_free(copy);
	}
}

/* Where each random walk starts. */
static const char base_conf[] =
	"pa add 192.168.4.11/24 --dev eth0\n"
	"rdomain add r1 --rdid {00000000-0000-0000-0000-000000000001}\n"
	"rdomain add r2 --rdid {00000000-0000-0000-0000-000000000002}\n"
	"vsubnet add 5001 --rdomain r1 --prefix 10.0.0.0/24 --prefix fd00::/64\n"
	"vsubnet add 5002 --rdomain r1 --prefix 10.0.1.0/24\n"
	"vsubnet add 6001 --rdomain r2 --prefix 10.1.0.0/16\n"
	"pool add a --vsid 5001 --range 10.0.0.100-10.0.0.101\n"
	"gateway add --rdomain r1 --vrf v1 --table 101\n"
	"port add p1 --vsid 5001 --ca 10.0.0.5 --mac 06:06:00:00:00:01\n"
	"lookup add --vsid 5001 --ca 10.0.0.6 --pa 192.168.4.12 --mac 06:06:00:00:00:02\n";

static void test_random_against_replay(void **state)
{
	(void)state;
	struct tally tl = {0};
	unsigned seeds = getenv("HNV_MODEL_CHECK_SEEDS")
				 ? (unsigned)atoi(getenv("HNV_MODEL_CHECK_SEEDS"))
				 : 40;
	for (unsigned seed = 1; seed <= seeds; seed++) {
		struct rng r = {0x9e3779b97f4a7c15ull * seed};
		struct gen g = {rng_byte, &r};
		struct hnv_model *m = NULL;
		char err[ERR_LEN];
		if (hnv_model_load(base_conf, strlen(base_conf), &m, err, sizeof(err)) != 0)
			fail_msg("base: %s", err);
		for (int i = 0; i < 150; i++)
			random_txn(&m, &g, &tl);
		hnv_model_free(m);
	}
	printf("random transactions: %u accepted (%u committed), %u refused\n", tl.ok, tl.committed,
	       tl.refused);
	if (getenv("HNV_MODEL_CHECK_KINDS"))
		for (unsigned i = 0; i < tl.n_kinds; i++)
			printf("%6u %s\n", tl.nkind[i], tl.kinds[i]);
	assert_true(tl.committed > 100 && tl.refused > 100);
}

/* ---- single cases ---- */

/* One transaction on m: model and replay give rc and want (a message
 * suffix-free match: equal). Commits it when it passes. */
static void txn_both(struct hnv_model *m, const char *const *lines, size_t n, int want_rc,
		     const char *want)
{
	struct hnv_model_txn *t;
	char e1[ERR_LEN] = "", e2[ERR_LEN] = "";
	assert_int_equal(hnv_model_txn_begin(m, &t), 0);
	int rc = hnv_model_txn_lines(t, lines, n, e1, sizeof(e1));
	int orc = hnv_model_txn_replay(t, e2, sizeof(e2));
	if (rc != want_rc || orc != want_rc || strcmp(e1, want) != 0 || strcmp(e2, want) != 0)
		fail_msg("model: rc %d \"%s\"\nreplay: rc %d \"%s\"\nwant: rc %d \"%s\"", rc, e1,
			 orc, e2, want_rc, want);
	if (rc == 0)
		hnv_model_txn_commit(t);
	else
		hnv_model_txn_abort(t);
}

static void txn1(struct hnv_model *m, const char *line, int want_rc, const char *want)
{
	txn_both(m, &line, 1, want_rc, want);
}

static struct hnv_model *load_ok(const char *text)
{
	struct hnv_model *m = NULL;
	char err[ERR_LEN];
	if (hnv_model_load(text, strlen(text), &m, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	return m;
}

/* Base entries a change concerns: their refusals name no line. */
static void test_concerned_base_entries(void **state)
{
	(void)state;
	struct hnv_model *m = load_ok(
		"rdomain add r1 --rdid {00000000-0000-0000-0000-000000000001}\n"
		"vsubnet add 5001 --rdomain r1 --prefix 10.0.0.0/24\n"
		"port add p1 --vsid 5001 --ca 10.0.0.5 --mac 06:06:00:00:00:01\n"
		"port add p2 --vsid 5001 --ca 10.0.0.5 --mac 06:06:00:00:00:02\n"
		"port add p3 --vsid 5001 --ca 10.0.0.2 --mac 06:06:00:00:00:03\n"
		"lookup add --vsid 5001 --ca 0.0.0.0 --pa 192.168.4.9 --mac 06:06:00:00:00:0a "
		"--type l2only\n"
		"lookup add --vsid 5001 --ca 0.0.0.0 --pa 192.168.4.9 --mac 06:06:00:00:00:0b "
		"--type gateway-wildcard\n");
	/* without a PA, ports make no records: two may share a CA; the first
	 * PA makes them */
	txn1(m, "pa add 192.168.4.11/24 --dev eth0", -EEXIST,
	     "port add: CA 10.0.0.5 of port \"p2\" is already the address of port \"p1\" in "
	     "VSID 5001");
	/* the first pool reserves the DHCP server identifier */
	txn1(m, "pool add a --vsid 5001 --range 10.0.0.100-10.0.0.110", -EINVAL,
	     "port add: CA 10.0.0.2 is reserved as the DHCP server identifier of VSID 5001 (it "
	     "has pool \"a\")");
	/* a record set to gateway-wildcard comes before the one that was */
	txn1(m,
	     "lookup set --vsid 5001 --ca 0.0.0.0 --pa 192.168.4.9 --mac 06:06:00:00:00:0a "
	     "--type gateway-wildcard",
	     -EEXIST,
	     "lookup add: record VSID 5001 CA 0.0.0.0 MAC 06:06:00:00:00:0b already exists, or "
	     "another record of VSID 5001 has CA 0.0.0.0 (one gateway-wildcard per family)");
	/* a gateway port's name and MAC are reserved */
	const char *gw[] = {
		"gateway add --rdomain r1 --vrf v1 --table 101",
		"gateway ca --rdomain r1 --vsid 5001 --ca 10.0.0.9",
	};
	txn_both(m, gw, 2, 0, "");
	txn1(m, "vsubnet add 5002 --rdomain r1 --prefix 10.0.1.0/24", 0, "");
	txn1(m, "port add vsid5001 --vsid 5002 --ca 10.0.1.5 --mac 06:06:00:00:00:05", -EINVAL,
	     "line 1: port add: invalid port name \"vsid5001\": names vsidN are the gateway "
	     "role's ports");
	txn1(m, "port add p9 --vsid 5001 --ca 10.0.0.7 --mac 02:48:4e:00:13:89", -EEXIST,
	     "gateway ca: the gateway port vsid5001 of VSID 5001 clashes with a port of the same "
	     "name or MAC (port names vsidN are reserved for gateway ports)");
	txn1(m, "port add p10 --vsid 5002 --ca 10.0.1.5 --mac 02:48:4e:00:13:8a", 0, "");
	txn1(m, "gateway ca --rdomain r1 --vsid 5002 --ca 10.0.1.9", -EEXIST,
	     "gateway ca: the gateway port vsid5002 of VSID 5002 clashes with a port of the same "
	     "name or MAC (port names vsidN are reserved for gateway ports)");
	check_invariants(m);
	hnv_model_free(m);
}

/* A corp network is one tenant's, and no port's (issue 17 finding 4). */
static void test_corp_dev_owner(void **state)
{
	(void)state;
	struct hnv_model *m = load_ok(
		"rdomain add r1 --rdid {00000000-0000-0000-0000-000000000001}\n"
		"rdomain add r2 --rdid {00000000-0000-0000-0000-000000000002}\n"
		"vsubnet add 5001 --rdomain r1 --prefix 10.0.0.0/24\n"
		"port add p1 --vsid 5001 --ca 10.0.0.5 --mac 06:06:00:00:00:01 --dev veth7\n"
		"port add p3 --vsid 5001 --ca 10.0.0.7 --mac 06:06:00:00:00:03\n"
		"gateway add --rdomain r1 --vrf v1 --table 101 --corp-dev eth1\n");
	txn1(m, "gateway add --rdomain r2 --vrf v2 --table 102 --corp-dev eth1", -EEXIST,
	     "line 1: gateway add: routing domain \"r2\": corp device eth1 is already the corp "
	     "device "
	     "of routing domain \"r1\"");
	txn1(m, "gateway add --rdomain r2 --vrf v2 --table 102 --corp-dev veth7", -EEXIST,
	     "port add: port \"p1\": device veth7 is the corp device of routing domain \"r2\"");
	/* a port without --dev uses the TAP of its name */
	txn1(m, "gateway add --rdomain r2 --vrf v2 --table 102 --corp-dev p3", -EEXIST,
	     "port add: port \"p3\": device p3 is the corp device of routing domain \"r2\"");
	txn1(m, "port add p2 --vsid 5001 --ca 10.0.0.6 --mac 06:06:00:00:00:02 --dev eth1", -EEXIST,
	     "line 1: port add: port \"p2\": device eth1 is the corp device of routing domain "
	     "\"r1\"");
	txn1(m, "gateway add --rdomain r2 --vrf v2 --table 102 --corp-dev eth2", 0, "");
	check_invariants(m);
	hnv_model_free(m);
}

static char *big_text(const char *head, const char *fmt, unsigned n, unsigned a, unsigned b)
{
	size_t cap = strlen(head) + (size_t)n * 160 + 1, off = strlen(head);
	char *t = malloc(cap);
	memcpy(t, head, off + 1);
	for (unsigned i = 0; i < n; i++)
		off += (size_t)snprintf(t + off, cap - off, fmt, i + a, (i + b) >> 8 & 255,
					(i + b) & 255, (i + b) >> 8 & 255, (i + b) & 255);
	return t;
}

/* The policy tables' fixed sizes: 16 PAs, 1023 ports (gateway ports
 * included), 16384 routing domains, 65535 customer IDs. */
static void test_limits(void **state)
{
	(void)state;
	char *t = big_text("", "pa add 192.168.%u.%u/24 --dev eth0\n", 16, 0, 1);
	struct hnv_model *m = load_ok(t);
	txn1(m, "pa add 10.9.9.9/24 --dev eth0", -ENOSPC,
	     "line 1: pa add: provider address 10.9.9.9: table full");
	hnv_model_free(m);
	free(t);

	t = big_text("pa add 192.168.4.11/24 --dev eth0\n"
		     "rdomain add r1 --rdid {00000000-0000-0000-0000-000000000001}\n"
		     "vsubnet add 5001 --rdomain r1 --prefix 10.0.0.0/16\n"
		     "gateway add --rdomain r1 --vrf v1 --table 101\n",
		     "port add p%u --vsid 5001 --ca 10.0.%u.%u --mac 06:06:00:00:%02x:%02x\n",
		     LIMIT_PORTS - 1, 0, 300);
	m = load_ok(t);
	txn1(m, "gateway ca --rdomain r1 --vsid 5001 --ca 10.0.0.9", 0, "");
	/* 1022 ports and the gateway port: one more port fits, the gateway
	 * port after it does not */
	txn1(m, "port add x --vsid 5001 --ca 10.0.200.1 --mac 06:06:00:00:ff:ff", -ENOSPC,
	     "gateway ca: cannot add the gateway port vsid5001: table full");
	const char *swap[] = {"gateway ca-del --rdomain r1 --vsid 5001 --ca 10.0.0.9",
			      "port add x --vsid 5001 --ca 10.0.200.1 --mac 06:06:00:00:ff:ff"};
	txn_both(m, swap, 2, 0, "");
	txn1(m, "port add y --vsid 5001 --ca 10.0.200.2 --mac 06:06:00:00:ff:fe", -ENOSPC,
	     "line 1: port add: port \"y\": table full");
	txn1(m, "gateway ca --rdomain r1 --vsid 5001 --ca 10.0.0.9", -ENOSPC,
	     "gateway ca: cannot add the gateway port vsid5001: table full");
	check_invariants(m);
	hnv_model_free(m);
	free(t);

	t = big_text("", "rdomain add r%u --rdid {00000000-0000-0000-0000-0000%04x%02x%02x}\n",
		     LIMIT_RDOMAINS, 0, 0);
	m = load_ok(t);
	txn1(m, "rdomain add x --rdid {10000000-0000-0000-0000-000000000000}", -ENOSPC,
	     "line 1: rdomain add: rdomain \"x\" {10000000-0000-0000-0000-000000000000}: table "
	     "full");
	hnv_model_free(m);
	free(t);

	/* customer IDs: the model alone (the replay's table is a linear list) */
	unsigned n = LIMIT_CUSTOMERS + 1;
	size_t cap = (size_t)n * 160 + 256, off;
	t = malloc(cap);
	off = (size_t)snprintf(t, cap,
			       "rdomain add r1 --rdid {00000000-0000-0000-0000-000000000001}\n"
			       "vsubnet add 5001 --rdomain r1 --prefix 10.0.0.0/8\n");
	for (unsigned i = 0; i < n; i++)
		off += (size_t)snprintf(t + off, cap - off,
					"lookup add --vsid 5001 --ca 10.1.%u.%u --pa 192.168.4.1 "
					"--mac 06:06:00:00:%02x:%02x --customer-id "
					"{00000000-0000-0000-0000-0000%08x}\n",
					i >> 8, i & 255, i >> 8, i & 255, i);
	char err[ERR_LEN], want[ERR_LEN];
	struct hnv_model *x = NULL;
	assert_int_equal(hnv_model_load(t, strlen(t), &x, err, sizeof(err)), -ENOSPC);
	assert_null(x);
	unsigned last = n - 1; /* the 65536th ID, on line 2 + 65536 */
	snprintf(want, sizeof(want),
		 "line %u: lookup add: record VSID 5001 CA 10.1.%u.%u MAC "
		 "06:06:00:00:%02x:%02x: table full",
		 n + 2, last >> 8, last & 255, last >> 8, last & 255);
	assert_string_equal(err, want);
	free(t);
}

/* The transaction API around failures and the order of changes. */
static void test_txn_api(void **state)
{
	(void)state;
	struct hnv_model *m = load_ok(base_conf);
	struct hnv_model_txn *t;
	const struct hnv_model_change *ch;
	size_t n;
	char err[ERR_LEN];
	/* a refused line: the transaction only aborts */
	assert_int_equal(hnv_model_txn_begin(m, &t), 0);
	const char *bad[] = {"rdomain add r3 --rdid {00000000-0000-0000-0000-000000000003}",
			     "vsubnet add 7001 --rdomain r9 --prefix 10.7.0.0/24"};
	assert_int_equal(hnv_model_txn_lines(t, bad, 2, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "line 2: vsubnet add: routing domain \"r9\" not found");
	assert_int_equal(hnv_model_txn_lines(t, bad, 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "the transaction failed already (abort it)");
	assert_int_equal(hnv_model_txn_changes(t, &ch, &n), -EINVAL);
	char *before = hnv_model_text(m, true);
	hnv_model_txn_commit(t); /* as abort */
	char *after = hnv_model_text(m, true);
	assert_string_equal(before, after);
	free(after);
	/* a line the parser refuses: the oracle gives the same */
	assert_int_equal(hnv_model_txn_begin(m, &t), 0);
	const char *unparsable = "vsubnet add 7001 --bogus";
	assert_int_equal(hnv_model_txn_lines(t, &unparsable, 1, err, sizeof(err)), -EINVAL);
	char e2[ERR_LEN];
	assert_int_equal(hnv_model_txn_replay(t, e2, sizeof(e2)), -EINVAL);
	assert_string_equal(err, e2);
	hnv_model_txn_abort(t);
	/* several calls add up; changes: deletions in reverse dependency
	 * order first, then replacements and additions in dependency order */
	assert_int_equal(hnv_model_txn_begin(m, &t), 0);
	const char *one[] = {"lookup del --vsid 5001 --ca 10.0.0.6 --mac 060600000002",
			     "port del p1",
			     "rdomain add r3 --rdid {00000000-0000-0000-0000-000000000003}"};
	const char *two[] = {"global set --flowid off", "pool del a",
			     "lookup add --vsid 5001 --ca 10.0.0.6 --pa 192.168.4.13 --mac "
			     "060600000002",
			     "vsubnet add 7001 --rdomain r3 --prefix 10.7.0.0/24"};
	assert_int_equal(hnv_model_txn_lines(t, one, 3, err, sizeof(err)), 0);
	assert_int_equal(hnv_model_txn_lines(t, two, 4, err, sizeof(err)), 0);
	assert_int_equal(hnv_model_txn_changes(t, &ch, &n), 0);
	static const char *const want[][2] = {
		{"lookup add --vsid 5001 --ca 10.0.0.6", NULL},
		{"port add p1", NULL},
		{"pool add a", NULL},
		{NULL, "rdomain add r3"},
		{NULL, "vsubnet add 7001"},
		{NULL, "lookup add --vsid 5001 --ca 10.0.0.6 --pa 192.168.4.13"},
		{NULL, "global set --flowid off"},
	};
	assert_int_equal(n, ARRAY_LEN(want));
	for (size_t i = 0; i < n; i++) {
		char line[8192];
		for (int k = 0; k < 2; k++) {
			const struct hnv_conf_cmd *c = k ? ch[i].new : ch[i].old;
			if (want[i][k] == NULL) {
				assert_null(c);
				continue;
			}
			assert_non_null(c);
			assert_int_equal(hnv_conf_format(c, true, line, sizeof(line)), 0);
			if (strncmp(line, want[i][k], strlen(want[i][k])) != 0)
				fail_msg("change %zu: \"%s\", want \"%s...\"", i, line, want[i][k]);
		}
	}
	assert_int_equal(ch[5].new->line, 3); /* the line of its call */
	/* a set of what the model had is a replacement */
	const char *three = "global set --uplink-mtu 9000";
	assert_int_equal(hnv_model_txn_lines(t, &three, 1, err, sizeof(err)), 0);
	assert_int_equal(hnv_model_txn_changes(t, &ch, &n), 0);
	assert_null(ch[n - 1].old);
	hnv_model_txn_commit(t);
	assert_int_equal(hnv_model_txn_begin(m, &t), 0);
	assert_int_equal(hnv_model_txn_lines(t, &three, 1, err, sizeof(err)), 0);
	assert_int_equal(hnv_model_txn_changes(t, &ch, &n), 0);
	assert_int_equal(n, 1);
	assert_non_null(ch[0].old);
	assert_non_null(ch[0].new);
	hnv_model_txn_abort(t);
	check_invariants(m);
	/* commands from elsewhere: malformed ones are refused */
	struct hnv_conf_cmd c;
	memset(&c, 0, sizeof(c));
	c.kind = HNV_CONF_RDOMAIN_ADD;
	c.line = 7;
	memset(c.u.rdomain.name, 'a', sizeof(c.u.rdomain.name));
	assert_int_equal(hnv_model_txn_begin(m, &t), 0);
	assert_int_equal(hnv_model_txn_cmds(t, &c, 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 7: rdomain add: a value is not terminated or out of range");
	hnv_model_txn_abort(t);
	memset(&c, 0, sizeof(c));
	c.kind = HNV_CONF_PORT_ADD;
	snprintf(c.u.port.name, sizeof(c.u.port.name), "p9");
	c.u.port.vsid = 5001;
	c.u.port.n_cas = 2; /* both unspecified */
	assert_int_equal(hnv_model_txn_begin(m, &t), 0);
	assert_int_equal(hnv_model_txn_cmds(t, &c, 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "port add: a value is not terminated or out of range");
	hnv_model_txn_abort(t);
	/* a transaction of comments on an empty model, then a copy of it */
	struct hnv_model *e = hnv_model_new(), *copy = NULL;
	const char *comment = "# nothing";
	assert_int_equal(hnv_model_txn_begin(e, &t), 0);
	assert_int_equal(hnv_model_txn_lines(t, &comment, 1, err, sizeof(err)), 0);
	hnv_model_txn_commit(t);
	const char *rd = "rdomain add r1 --rdid {00000000-0000-0000-0000-000000000001}";
	assert_int_equal(hnv_model_transact(e, &rd, 1, &copy, err, sizeof(err)), 0);
	check_invariants(copy);
	hnv_model_free(copy);
	hnv_model_free(e);
	/* foreach_kind: one group */
	assert_int_equal(hnv_model_foreach_kind(m, HNV_CONF_LOOKUP_DEL, NULL, NULL), -EINVAL);
	hnv_model_txn_abort(NULL);
	hnv_model_txn_commit(NULL);
	assert_int_equal(hnv_model_txn_begin(NULL, &t), -EINVAL);
	free(before);
	hnv_model_free(m);
}

static int count_cb(const struct hnv_conf_cmd *c, void *arg)
{
	(void)c;
	(*(unsigned *)arg)++;
	return 0;
}

static void test_foreach_kind(void **state)
{
	(void)state;
	struct hnv_model *m = load_ok(base_conf);
	unsigned n = 0;
	assert_int_equal(hnv_model_foreach_kind(m, HNV_CONF_VSUBNET_ADD, count_cb, &n), 0);
	assert_int_equal(n, 3);
	n = 0;
	assert_int_equal(hnv_model_foreach_kind(m, HNV_CONF_GLOBAL_SET, count_cb, &n), 0);
	assert_int_equal(n, 0);
	n = 0;
	assert_int_equal(hnv_model_foreach(m, count_cb, &n), 0);
	assert_int_equal(n, 10);
	hnv_model_free(m);
}

/* ---- what one change costs ---- */

static long status_kib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			v = atol(line + strlen(field) + 1);
	if (f)
		fclose(f);
	return v;
}

static double clock_us(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double now_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

/* The records of tests/bench/apply.sh: one VSID, n records. */
static char *bench_text(unsigned n)
{
	static const char head[] =
		"rdomain add bench --rdid {BE0C0000-0000-0000-0000-000000005001}\n"
		"vsubnet add 5001 --rdomain bench --prefix 10.0.0.0/8\n";
	size_t cap = sizeof(head) + (size_t)n * 130, off = sizeof(head) - 1;
	char *t = malloc(cap);
	memcpy(t, head, off);
	for (unsigned i = 0; i < n; i++) {
		uint32_t a = 0x0A000000u + 16 + i, mc = 16 + i, h = i % 1000;
		off += (size_t)snprintf(
			t + off, cap - off,
			"lookup add --vsid 5001 --ca %u.%u.%u.%u --pa 172.16.%u.%u "
			"--mac 02:00:%02x:%02x:%02x:%02x --rule encap --type static\n",
			a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255, h / 250, h % 250 + 1,
			mc >> 24, mc >> 16 & 255, mc >> 8 & 255, mc & 255);
	}
	t[off] = '\0';
	return t;
}

/* One line as a whole transaction: begin, lines, changes, commit. */
static void timed_txn(struct hnv_model *m, const char *line, const char *what)
{
	FILE *f = fopen("/proc/self/clear_refs", "w"); /* resets VmHWM */
	if (f) {
		fputs("5", f);
		fclose(f);
	}
	long rss0 = status_kib("VmRSS:");
	double t0 = now_us();
	struct hnv_model_txn *t;
	char err[ERR_LEN];
	const struct hnv_model_change *ch;
	size_t n;
	assert_int_equal(hnv_model_txn_begin(m, &t), 0);
	double t1 = now_us();
	if (hnv_model_txn_lines(t, &line, 1, err, sizeof(err)) != 0)
		fail_msg("%s: %s", what, err);
	double t2 = now_us();
	assert_int_equal(hnv_model_txn_changes(t, &ch, &n), 0);
	assert_int_equal(n, 1);
	double t3 = now_us();
	hnv_model_txn_commit(t);
	double t4 = now_us();
	long hwm = status_kib("VmHWM:");
	printf("BENCH model-txn %s begin_us=%.1f lines_us=%.1f changes_us=%.1f commit_us=%.1f "
	       "total_us=%.1f peak_growth_kib=%ld\n",
	       what, t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0, f ? hwm - rss0 : -1);
}

static void test_one_change_cost(void **state)
{
	(void)state;
	const char *env = getenv("HNV_MODEL_BENCH_RECORDS");
	unsigned n = env ? (unsigned)atoi(env) : 100000;
	char *text = bench_text(n);
	long rss0 = status_kib("VmRSS:");
	double t0 = now_us(), c0 = clock_us(CLOCK_PROCESS_CPUTIME_ID);
	struct hnv_model *m = load_ok(text);
	double t1 = now_us(), c1 = clock_us(CLOCK_PROCESS_CPUTIME_ID);
	long rss1 = status_kib("VmRSS:");
	printf("BENCH model-load records=%u load_s=%.3f load_cpu_s=%.3f model_mib=%.1f\n", n,
	       (t1 - t0) / 1e6, (c1 - c0) / 1e6, (double)(rss1 - rss0) / 1024);
	free(text);
	for (int i = 0; i < 3; i++) {
		char add[256], del[256];
		snprintf(add, sizeof(add),
			 "lookup add --vsid 5001 --ca 10.200.0.%d --pa 172.16.9.9 --mac "
			 "02:ff:00:00:00:%02x",
			 i + 2, i);
		snprintf(del, sizeof(del),
			 "lookup del --vsid 5001 --ca 10.200.0.%d --mac 02:ff:00:00:00:%02x", i + 2,
			 i);
		timed_txn(m, add, "add");
		timed_txn(m, del, "del");
	}
	hnv_model_free(m);
}

int main(void)
{
	urcu_qsbr_register_thread();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_against_replay),
		cmocka_unit_test(test_concerned_base_entries),
		cmocka_unit_test(test_corp_dev_owner),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_txn_api),
		cmocka_unit_test(test_foreach_kind),
		cmocka_unit_test(test_one_change_cost),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	urcu_qsbr_unregister_thread();
	return rc;
}
