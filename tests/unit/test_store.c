/* test_store.c: durable configuration and revisions (mgmt/store.c), whole and
 * delta commits, in a temporary state directory; the diff tests are in
 * test_store_diff.c.
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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../mgmt/store.h"

#define PSK "Zq8-secret-Psk-4711-abcdef"

struct tmp {
	char root[64];  /* mkdtemp */
	char state[96]; /* root/state, created by the store */
};

static int setup_tmp(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));
	snprintf(t->root, sizeof(t->root), "/tmp/hnvgw-store-XXXXXX");
	if (mkdtemp(t->root) == NULL)
		return -1;
	snprintf(t->state, sizeof(t->state), "%s/state", t->root);
	*state = t;
	return 0;
}

static void rm_rf(const char *path)
{
	DIR *d = opendir(path);
	if (d != NULL) {
		for (struct dirent *de; (de = readdir(d)) != NULL;) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			char p[512];
			snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
			rm_rf(p);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static int teardown_tmp(void **state)
{
	struct tmp *t = *state;
	rm_rf(t->root);
	free(t);
	return 0;
}

static struct hnv_store *open_ok(const char *dir)
{
	struct hnv_store *s = NULL;
	char err[256] = "";
	int rc = hnv_store_open(dir, &s, err, sizeof(err));
	if (rc != 0)
		fail_msg("open %s: rc %d: %s", dir, rc, err);
	return s;
}

static void assert_current(struct hnv_store *s, const char *want, unsigned want_rev)
{
	char *text;
	size_t len;
	unsigned rev = 99;
	assert_int_equal(hnv_store_load(s, &text, &len, &rev), 0);
	assert_int_equal(len, strlen(want));
	assert_string_equal(text, want);
	assert_int_equal(rev, want_rev);
	free(text);
}

/* The current revision's text, whatever hnvgw.conf holds. */
static void assert_revision_current(struct hnv_store *s, const char *want, unsigned want_rev)
{
	char *text;
	size_t len;
	unsigned rev = 99;
	assert_int_equal(hnv_store_current(s, &text, &len, &rev), 0);
	assert_int_equal(len, strlen(want));
	assert_string_equal(text, want);
	assert_int_equal(rev, want_rev);
	free(text);
}

static unsigned commit_ok(struct hnv_store *s, const char *text)
{
	unsigned rev = 0;
	assert_int_equal(hnv_store_commit(s, text, strlen(text), &rev), 0);
	return rev;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static unsigned mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static void assert_revs(struct hnv_store *s, unsigned first, unsigned last)
{
	unsigned *revs;
	size_t n;
	assert_int_equal(hnv_store_revisions(s, &revs, &n), 0);
	assert_int_equal(n, last >= first ? last - first + 1 : 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(revs[i], first + i);
	free(revs);
}

/* ---- store ---- */

static void test_open_empty(void **state)
{
	struct tmp *t = *state;
	mode_t old = umask(0);
	struct hnv_store *s = open_ok(t->state);
	umask(old);
	assert_current(s, "", 0);
	assert_revs(s, 1, 0);
	assert_int_equal(mode_of(t->state), 0700);
	char p[256];
	snprintf(p, sizeof(p), "%s/revisions", t->state);
	assert_int_equal(mode_of(p), 0700);
	char *text;
	size_t len;
	assert_int_equal(hnv_store_revision(s, 1, &text, &len), -ENOENT);
	assert_int_equal(hnv_store_revision(s, 0, &text, &len), -ENOENT);
	hnv_store_close(s);
	hnv_store_close(NULL);

	char err[256];
	struct hnv_store *x = NULL;
	assert_int_equal(hnv_store_open("", &x, err, sizeof(err)), -EINVAL);
	snprintf(p, sizeof(p), "%s/no/such/dir", t->root);
	assert_int_equal(hnv_store_open(p, &x, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot create"));
	assert_null(x);
}

static void test_commit_load(void **state)
{
	struct tmp *t = *state;
	/* an existing, too open directory is tightened */
	assert_int_equal(mkdir(t->state, 0755), 0);
	struct hnv_store *s = open_ok(t->state);
	assert_int_equal(mode_of(t->state), 0700);
	static const char a[] = "rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}\n";
	assert_int_equal(commit_ok(s, a), 1);
	assert_current(s, a, 1);
	char p[256];
	snprintf(p, sizeof(p), "%s/hnvgw.conf", t->state);
	assert_int_equal(mode_of(p), 0600);
	snprintf(p, sizeof(p), "%s/revisions/000001.conf", t->state);
	assert_int_equal(mode_of(p), 0600);
	char *text;
	size_t len;
	assert_int_equal(hnv_store_revision(s, 1, &text, &len), 0);
	assert_string_equal(text, a);
	free(text);
	/* an empty config is a revision too */
	assert_int_equal(commit_ok(s, ""), 2);
	assert_current(s, "", 2);
	assert_revs(s, 1, 2);
	/* one process at a time */
	struct hnv_store *x = NULL;
	char err[256];
	assert_int_equal(hnv_store_open(t->state, &x, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "in use by another process"));
	hnv_store_close(s);
}

static void test_numbering_restart(void **state)
{
	struct tmp *t = *state;
	struct hnv_store *s = open_ok(t->state);
	commit_ok(s, "a\n");
	commit_ok(s, "b\n");
	assert_int_equal(commit_ok(s, "c\n"), 3);
	hnv_store_close(s);
	s = open_ok(t->state);
	assert_current(s, "c\n", 3);
	assert_int_equal(commit_ok(s, "d\n"), 4);
	hnv_store_close(s);
	s = open_ok(t->state);
	assert_current(s, "d\n", 4);
	assert_revs(s, 1, 4);
	hnv_store_close(s);
}

static void test_keep_50(void **state)
{
	struct tmp *t = *state;
	struct hnv_store *s = open_ok(t->state);
	char text[32];
	for (unsigned i = 1; i <= 60; i++) {
		snprintf(text, sizeof(text), "rev %u\n", i);
		assert_int_equal(commit_ok(s, text), i);
	}
	assert_revs(s, 11, 60);
	char *r;
	size_t len;
	assert_int_equal(hnv_store_revision(s, 10, &r, &len), -ENOENT);
	assert_int_equal(hnv_store_revision(s, 11, &r, &len), 0);
	assert_string_equal(r, "rev 11\n");
	free(r);
	hnv_store_close(s);
	s = open_ok(t->state);
	assert_current(s, "rev 60\n", 60);
	assert_int_equal(commit_ok(s, "rev 61\n"), 61);
	assert_revs(s, 12, 61);
	hnv_store_close(s);
}

/* A crash leaves temporary files: they are removed and change nothing. */
static void test_temp_cleanup(void **state)
{
	struct tmp *t = *state;
	struct hnv_store *s = open_ok(t->state);
	commit_ok(s, "good\n");
	hnv_store_close(s);
	char p1[256], p2[256];
	snprintf(p1, sizeof(p1), "%s/.tmp-hnvgw.conf-Ab12Cd", t->state);
	snprintf(p2, sizeof(p2), "%s/revisions/.tmp-000002.conf-Ef34Gh", t->state);
	write_file(p1, "torn hal");
	write_file(p2, "torn half of a revis");
	s = open_ok(t->state);
	assert_false(exists(p1));
	assert_false(exists(p2));
	assert_current(s, "good\n", 1);
	assert_revs(s, 1, 1);
	assert_int_equal(commit_ok(s, "next\n"), 2);
	hnv_store_close(s);
}

/* The window between a commit's two renames, and hand edits. */
static void test_crash_recovery(void **state)
{
	struct tmp *t = *state;
	char conf[256], rev[256];
	snprintf(conf, sizeof(conf), "%s/hnvgw.conf", t->state);
	struct hnv_store *s = open_ok(t->state);
	commit_ok(s, "one\n");
	commit_ok(s, "two\n");
	hnv_store_close(s);

	/* revision 3 written, hnvgw.conf not: the commit never completed */
	snprintf(rev, sizeof(rev), "%s/revisions/000003.conf", t->state);
	write_file(rev, "three\n");
	s = open_ok(t->state);
	assert_current(s, "two\n", 2);
	assert_false(exists(rev));
	assert_revs(s, 1, 2);
	hnv_store_close(s);

	/* edited by hand while stopped: load shows it, but it is no revision
	 * until committed (by hnvgwd, once it is valid); then 0600 */
	write_file(conf, "edited\n");
	chmod(conf, 0644);
	s = open_ok(t->state);
	assert_current(s, "edited\n", 2);
	assert_revision_current(s, "two\n", 2);
	assert_revs(s, 1, 2);
	assert_int_equal(commit_ok(s, "edited\n"), 3);
	assert_int_equal(mode_of(conf), 0600);
	assert_revs(s, 1, 3);
	hnv_store_close(s);

	/* hnvgw.conf removed: restored from the newest revision */
	unlink(conf);
	s = open_ok(t->state);
	assert_current(s, "edited\n", 3);
	assert_int_equal(mode_of(conf), 0600);
	hnv_store_close(s);
}

/* The very first commit interrupted: no hnvgw.conf, revision 1 only. */
static void test_crash_first_commit(void **state)
{
	struct tmp *t = *state;
	struct hnv_store *s = open_ok(t->state);
	hnv_store_close(s);
	char rev[256];
	snprintf(rev, sizeof(rev), "%s/revisions/000001.conf", t->state);
	write_file(rev, "first\n");
	s = open_ok(t->state);
	assert_current(s, "", 0);
	assert_false(exists(rev));
	assert_int_equal(commit_ok(s, "first\n"), 1);
	hnv_store_close(s);
}

/* A config written before there were revisions is loaded as an edit of
 * the empty revision 0, and becomes revision 1 when committed. */
static void test_existing_conf(void **state)
{
	struct tmp *t = *state;
	assert_int_equal(mkdir(t->state, 0700), 0);
	char conf[256];
	snprintf(conf, sizeof(conf), "%s/hnvgw.conf", t->state);
	write_file(conf, "pa add 192.168.4.11/24 --dev eth0\n");
	struct hnv_store *s = open_ok(t->state);
	assert_current(s, "pa add 192.168.4.11/24 --dev eth0\n", 0);
	assert_revision_current(s, "", 0);
	assert_revs(s, 1, 0);
	assert_int_equal(commit_ok(s, "pa add 192.168.4.11/24 --dev eth0\n"), 1);
	assert_revs(s, 1, 1);
	hnv_store_close(s);
}

static char *read_file(const char *path, size_t *len);

/* issue 17 finding 6: a refused SIGHUP reload left a gateway that would
 * not start: the next open stored the bad hnvgw.conf as a revision before
 * hnvgwd validated it, hnvgwd refused that revision and exited, and every
 * restart found it again. Open never makes a revision of an edit: it
 * stays in hnvgw.conf, the newest revision current, across any number of
 * opens, until the caller commits it. */
static void test_edit_no_revision_before_validation(void **state)
{
	struct tmp *t = *state;
	char conf[256];
	snprintf(conf, sizeof(conf), "%s/hnvgw.conf", t->state);
	struct hnv_store *s = open_ok(t->state);
	commit_ok(s, "rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}\n");
	hnv_store_close(s);
	static const char bad[] = "rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}\n"
				  "vsubnet add 5001 --rdomain nowhere --prefix 10.0.0.0/24\n";
	write_file(conf, bad);
	for (int round = 0; round < 3; round++) {
		s = open_ok(t->state);
		assert_revs(s, 1, 1);
		assert_revision_current(s,
					"rdomain add blue --rdid "
					"{11111111-2222-3333-4444-000000005001}\n",
					1);
		assert_current(s, bad, 1);
		hnv_store_close(s);
		char *now = read_file(conf, NULL);
		assert_string_equal(now, bad);
		free(now);
	}
	/* a commit overwrites the edit, as documented */
	s = open_ok(t->state);
	assert_int_equal(commit_ok(s, "rdomain del blue\n"), 2);
	assert_current(s, "rdomain del blue\n", 2);
	hnv_store_close(s);
}

/* ---- delta commits ----
 * A twin store gets every resulting text as a whole commit; the store
 * under test must answer exactly as it does. */

/* A line of a large config (about 100 bytes). */
static int big_line(char *buf, size_t len, const char *tag, unsigned i)
{
	return snprintf(buf, len,
			"lookup add --vsid 5001 --ca 10.%u.%u.%u --pa 192.168.4.22 --mac "
			"0606%08x --vm %s-%u",
			(i >> 16) & 255, (i >> 8) & 255, i & 255, i, tag, i);
}

/* n such lines (malloc'd). */
static char *big_text(unsigned n, const char *tag)
{
	char *t = malloc((size_t)n * 128 + 1), line[128];
	size_t o = 0;
	for (unsigned i = 0; i < n; i++) {
		int k = big_line(line, sizeof(line), tag, i);
		memcpy(t + o, line, (size_t)k);
		o += (size_t)k;
		t[o++] = '\n';
	}
	t[o] = '\0';
	return t;
}

/* The delta applied by hand: the first occurrence of each del line
 * removed, the adds appended (after a '\n' if the text lacks a final
 * one). NULL when a del line is missing. */
static char *ref_apply(const char *text, const char *const *del, size_t ndel,
		       const char *const *add, size_t nadd)
{
	size_t len = strlen(text), n = 0;
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	n += len > 0 && text[len - 1] != '\n';
	const char **ls = calloc(n + 1, sizeof(*ls));
	size_t *ll = calloc(n + 1, sizeof(*ll));
	bool *gone = calloc(n + 1, sizeof(*gone));
	size_t k = 0;
	for (const char *p = text; *p; k++) {
		const char *e = strchr(p, '\n');
		ls[k] = p;
		ll[k] = e ? (size_t)(e - p) : strlen(p);
		p += ll[k] + (e != NULL);
	}
	char *out = NULL;
	for (size_t d = 0; d < ndel; d++) {
		size_t i = 0;
		while (i < n &&
		       (gone[i] || ll[i] != strlen(del[d]) || memcmp(ls[i], del[d], ll[i]) != 0))
			i++;
		if (i == n)
			goto done;
		gone[i] = true;
	}
	size_t cap = len + 2;
	for (size_t a = 0; a < nadd; a++)
		cap += strlen(add[a]) + 1;
	out = malloc(cap);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (gone[i])
			continue;
		memcpy(out + o, ls[i], ll[i]);
		o += ll[i];
		if (ls[i][ll[i]] == '\n')
			out[o++] = '\n';
	}
	if (nadd > 0 && o > 0 && out[o - 1] != '\n')
		out[o++] = '\n';
	for (size_t a = 0; a < nadd; a++) {
		memcpy(out + o, add[a], strlen(add[a]));
		o += strlen(add[a]);
		out[o++] = '\n';
	}
	out[o] = '\0';
done:
	free(ls);
	free(ll);
	free(gone);
	return out;
}

struct pair {
	struct tmp *t;
	char dir[128], twin[128];
	struct hnv_store *s, *w; /* under test, and its twin */
	char *text;              /* the current text */
};

static void pair_open(struct pair *p, struct tmp *t)
{
	memset(p, 0, sizeof(*p));
	p->t = t;
	snprintf(p->dir, sizeof(p->dir), "%s", t->state);
	snprintf(p->twin, sizeof(p->twin), "%s/twin", t->root);
	p->s = open_ok(p->dir);
	p->w = open_ok(p->twin);
	p->text = strdup("");
}

static void pair_close(struct pair *p)
{
	hnv_store_close(p->s);
	hnv_store_close(p->w);
	free(p->text);
}

/* A whole commit of text to both. */
static unsigned pair_commit(struct pair *p, const char *text)
{
	unsigned r1 = commit_ok(p->s, text), r2 = commit_ok(p->w, text);
	assert_int_equal(r1, r2);
	free(p->text);
	p->text = strdup(text);
	return r1;
}

/* The delta to the store under test, its result whole to the twin. */
static unsigned pair_delta(struct pair *p, const char *const *del, size_t ndel,
			   const char *const *add, size_t nadd)
{
	char *want = ref_apply(p->text, del, ndel, add, nadd);
	assert_non_null(want);
	unsigned r1 = 0;
	int rc = hnv_store_commit_delta(p->s, del, ndel, add, nadd, &r1);
	if (rc != 0)
		fail_msg("delta commit: %d", rc);
	unsigned r2 = commit_ok(p->w, want);
	assert_int_equal(r1, r2);
	free(p->text);
	p->text = want;
	return r1;
}

static void assert_same_text(const char *what, const char *got, size_t glen, const char *want)
{
	if (glen != strlen(want) || memcmp(got, want, glen) != 0)
		fail_msg("%s: %zu bytes, want %zu", what, glen, strlen(want));
}

/* Every answer of a equals b's: load, revisions, each revision's text,
 * a diff across the window. */
static void assert_same(struct hnv_store *a, struct hnv_store *b)
{
	char *ta, *tb;
	size_t la, lb;
	unsigned ra, rb;
	assert_int_equal(hnv_store_load(a, &ta, &la, &ra), 0);
	assert_int_equal(hnv_store_load(b, &tb, &lb, &rb), 0);
	assert_int_equal(ra, rb);
	assert_same_text("load", ta, la, tb);
	free(ta);
	free(tb);
	unsigned *va, *vb;
	size_t na, nb;
	assert_int_equal(hnv_store_revisions(a, &va, &na), 0);
	assert_int_equal(hnv_store_revisions(b, &vb, &nb), 0);
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(va[i], vb[i]);
		assert_int_equal(hnv_store_revision(a, va[i], &ta, &la), 0);
		assert_int_equal(hnv_store_revision(b, vb[i], &tb, &lb), 0);
		char what[32];
		snprintf(what, sizeof(what), "revision %u", va[i]);
		assert_same_text(what, ta, la, tb);
		free(ta);
		free(tb);
	}
	if (na > 0) {
		unsigned before = va[0] - 1;
		assert_int_equal(hnv_store_revision(a, before, &ta, &la), -ENOENT);
		assert_int_equal(hnv_store_revision(a, va[na - 1] + 1, &ta, &la), -ENOENT);
		char *da, *db;
		unsigned from = na > 1 ? va[na - 2] : va[0];
		assert_int_equal(hnv_store_diff(a, from, va[na - 1], &da), 0);
		assert_int_equal(hnv_store_diff(b, from, vb[nb - 1], &db), 0);
		assert_string_equal(da, db);
		free(da);
		free(db);
		assert_int_equal(hnv_store_diff(a, va[0], va[na - 1], &da), 0);
		assert_int_equal(hnv_store_diff(b, vb[0], vb[nb - 1], &db), 0);
		assert_string_equal(da, db);
		free(da);
		free(db);
	}
	free(va);
	free(vb);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return b;
}

static off_t size_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static void path_in(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* Copies directory src to dst (files and subdirectories): the state a
 * crash at this moment would leave, every write having been fsync'ed. */
static void copy_dir(const char *src, const char *dst)
{
	assert_int_equal(mkdir(dst, 0700), 0);
	DIR *d = opendir(src);
	assert_non_null(d);
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char a[512], b[512];
		path_in(a, sizeof(a), src, de->d_name);
		path_in(b, sizeof(b), dst, de->d_name);
		struct stat st;
		assert_int_equal(lstat(a, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			copy_dir(a, b);
			continue;
		}
		size_t n;
		char *t = read_file(a, &n);
		int fd = open(b, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, t, n), (ssize_t)n);
		close(fd);
		free(t);
	}
	closedir(d);
}

/* Names in dir/revisions ending in suffix. */
static unsigned count_files(const char *dir, const char *suffix)
{
	char p[512];
	path_in(p, sizeof(p), dir, "revisions");
	DIR *d = opendir(p);
	assert_non_null(d);
	unsigned n = 0;
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		size_t l = strlen(de->d_name), s = strlen(suffix);
		n += l > s && strcmp(de->d_name + l - s, suffix) == 0;
	}
	closedir(d);
	return n;
}

/* The store's hnvgw.conf holds want. */
static void assert_conf_file(const char *dir, const char *want)
{
	char p[512];
	path_in(p, sizeof(p), dir, "hnvgw.conf");
	size_t n;
	char *t = read_file(p, &n);
	assert_non_null(t);
	assert_same_text("hnvgw.conf", t, n, want);
	free(t);
}

/* A large base (beyond HNV_STORE_DELTA_MIN) committed whole to both. */
static void pair_big_base(struct pair *p, unsigned n)
{
	char *base = big_text(n, "base");
	assert_true(strlen(base) > HNV_STORE_DELTA_MIN);
	pair_commit(p, base);
	free(base);
}

/* Small configurations are written whole: hnvgw.conf is current, there is
 * no journal; the answers are a whole commit's. */
static void test_delta_small(void **state)
{
	struct pair p;
	pair_open(&p, *state);
	const char *add1[] = {"rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}",
			      "pa add 192.168.4.11/24 --dev eth0"};
	assert_int_equal(pair_delta(&p, NULL, 0, add1, 2), 1);
	const char *del2[] = {"pa add 192.168.4.11/24 --dev eth0"};
	const char *add2[] = {"pa add 192.168.4.12/24 --dev eth0", ""};
	assert_int_equal(pair_delta(&p, del2, 1, add2, 2), 2);
	/* nothing at all is a revision too, as an unchanged whole commit is */
	assert_int_equal(pair_delta(&p, NULL, 0, NULL, 0), 3);
	assert_same(p.s, p.w);
	assert_conf_file(p.dir, p.text);
	char j[256];
	path_in(j, sizeof(j), p.dir, "hnvgw.journal");
	assert_false(exists(j));
	pair_close(&p);
}

/* What a delta means: the first occurrence goes; a missing final newline
 * is added before appending; small (whole) and large (journal) alike. */
static void test_delta_semantics(void **state)
{
	struct tmp *t = *state;
	for (int big = 0; big < 2; big++) {
		struct pair p;
		pair_open(&p, t);
		char *base = big ? big_text(3000, "pad") : strdup("");
		size_t bl = strlen(base);
		base = realloc(base, bl + 64);
		strcpy(base + bl, "a\nb\na\nc");
		pair_commit(&p, base);
		free(base);
		const char *dela[] = {"a"};
		pair_delta(&p, dela, 1, NULL, 0); /* the first "a" */
		assert_same(p.s, p.w);
		const char *addd[] = {"d"};
		pair_delta(&p, NULL, 0, addd, 1); /* "c" gets its newline */
		assert_same(p.s, p.w);
		const char *delac[] = {"a", "c", "d"};
		const char *adda[] = {"a", "a", "e"};
		pair_delta(&p, delac, 3, adda, 3);
		assert_same(p.s, p.w);
		const char *delaa[] = {"a", "a"};
		pair_delta(&p, delaa, 2, NULL, 0);
		assert_same(p.s, p.w);
		/* the same, stored and read back */
		hnv_store_close(p.s);
		p.s = open_ok(p.dir);
		assert_same(p.s, p.w);
		pair_close(&p);
		char dir[256];
		snprintf(dir, sizeof(dir), "rm -rf %s %s/twin", t->state, t->root);
		assert_int_equal(system(dir), 0);
	}
}

/* A text without a final newline whose last line is deleted, and one that
 * gets nothing appended, stay as a whole commit would leave them. */
static void test_delta_no_newline(void **state)
{
	struct pair p;
	pair_open(&p, *state);
	char *base = big_text(3000, "pad");
	size_t bl = strlen(base);
	base = realloc(base, bl + 16);
	strcpy(base + bl, "x\nlast");
	pair_commit(&p, base);
	free(base);
	const char *delx[] = {"x"};
	pair_delta(&p, delx, 1, NULL, 0);
	assert_same(p.s, p.w);
	const char *dell[] = {"last"};
	const char *addy[] = {"y"};
	pair_delta(&p, dell, 1, addy, 1);
	assert_same(p.s, p.w);
	hnv_store_close(p.s);
	p.s = open_ok(p.dir);
	assert_same(p.s, p.w);
	pair_close(&p);
}

/* Refusals change nothing: no revision, no byte of the journal. */
static void test_delta_refused(void **state)
{
	struct pair p;
	pair_open(&p, *state);
	pair_big_base(&p, 3000);
	char l0[128], l1[128];
	big_line(l0, sizeof(l0), "base", 0);
	big_line(l1, sizeof(l1), "base", 1);
	const char *del[] = {l0};
	const char *add[] = {"x"};
	pair_delta(&p, del, 1, add, 1); /* l0 is gone now; the journal exists */
	char j[256];
	path_in(j, sizeof(j), p.dir, "hnvgw.journal");
	off_t jsize = size_of(j);
	assert_true(jsize > 0);
	unsigned rev;
	const char *missing[] = {l1, l0};
	assert_int_equal(hnv_store_commit_delta(p.s, missing, 2, add, 1, &rev), -ENOENT);
	const char *twice[] = {"x", "x"};
	assert_int_equal(hnv_store_commit_delta(p.s, twice, 2, NULL, 0, &rev), -ENOENT);
	const char *partial[] = {"no such line"};
	assert_int_equal(hnv_store_commit_delta(p.s, partial, 1, NULL, 0, &rev), -ENOENT);
	const char *nl[] = {"two\nlines"};
	assert_int_equal(hnv_store_commit_delta(p.s, NULL, 0, nl, 1, &rev), -EINVAL);
	assert_int_equal(hnv_store_commit_delta(p.s, nl, 1, NULL, 0, &rev), -EINVAL);
	const char *null[] = {NULL};
	assert_int_equal(hnv_store_commit_delta(p.s, NULL, 0, null, 1, &rev), -EINVAL);
	assert_int_equal(hnv_store_commit_delta(p.s, NULL, 1, NULL, 0, &rev), -EINVAL);
	assert_int_equal(hnv_store_commit_delta(NULL, NULL, 0, NULL, 0, &rev), -EINVAL);
	assert_int_equal(size_of(j), jsize);
	assert_same(p.s, p.w);
	/* the line l1 is still there: it was not taken by the refused one */
	const char *del1[] = {l1, "x"};
	assert_int_equal(pair_delta(&p, del1, 2, NULL, 0), 3);
	/* a small configuration refuses the same way */
	assert_same(p.s, p.w);
	pair_close(&p);
}

/* Large configurations: one record per commit, hnvgw.conf untouched until
 * compaction; the answers equal whole commits', also after reopening. */
static void test_delta_journal(void **state)
{
	struct pair p;
	pair_open(&p, *state);
	pair_big_base(&p, 3000);
	char *snapshot = strdup(p.text);
	char conf[256], j[256];
	path_in(conf, sizeof(conf), p.dir, "hnvgw.conf");
	path_in(j, sizeof(j), p.dir, "hnvgw.journal");
	char dl[8][128], al[8][128];
	for (unsigned i = 0; i < 8; i++) {
		big_line(dl[i], sizeof(dl[i]), "base", i * 97);
		big_line(al[i], sizeof(al[i]), "new", i);
	}
	off_t last = 0;
	for (unsigned i = 0; i < 8; i++) {
		const char *del[] = {dl[i]};
		const char *add[] = {al[i], PSK};
		assert_int_equal(pair_delta(&p, del, 1, add, 2), i + 2);
		assert_true(size_of(j) > last);
		last = size_of(j);
		assert_same(p.s, p.w);
	}
	/* the journal holds the changes: hnvgw.conf is still the base */
	assert_conf_file(p.dir, snapshot);
	assert_int_equal(mode_of(j), 0600);
	assert_true(last < 4096);
	/* read back after a crash (no close: the files as they are) */
	char img[256];
	snprintf(img, sizeof(img), "%s/crash", p.t->root);
	copy_dir(p.dir, img);
	struct hnv_store *c = open_ok(img);
	assert_same(c, p.w);
	hnv_store_close(c);
	/* a clean close compacts: hnvgw.conf is current, no journal */
	hnv_store_close(p.s);
	assert_conf_file(p.dir, p.text);
	assert_false(exists(j));
	p.s = open_ok(p.dir);
	assert_same(p.s, p.w);
	free(snapshot);
	pair_close(&p);
}

/* Compaction keeps every answer; the window of HNV_STORE_KEEP revisions
 * crosses compactions; old whole texts and journals are pruned. */
static void test_delta_compaction_window(void **state)
{
	struct pair p;
	pair_open(&p, *state);
	pair_big_base(&p, 3000);
	char j[256];
	path_in(j, sizeof(j), p.dir, "hnvgw.journal");
	unsigned compactions = 0, n = 0;
	for (unsigned i = 0; i < 130; i++) {
		/* every commit adds 40 lines and removes 20 of the previous one:
		 * the journal passes a quarter of hnvgw.conf about every 20 */
		const char *add[40], *del[20];
		char *buf = malloc(60 * 128);
		for (unsigned k = 0; k < 40; k++) {
			big_line(buf + k * 128, 128, "c", i * 40 + k);
			add[k] = buf + k * 128;
		}
		size_t nd = 0;
		for (unsigned k = 0; i > 0 && k < 20; k++) {
			big_line(buf + (40 + k) * 128, 128, "c", (i - 1) * 40 + k);
			del[nd++] = buf + (40 + k) * 128;
		}
		bool had = exists(j);
		pair_delta(&p, del, nd, add, 40);
		compactions += had && !exists(j);
		free(buf);
		if (i % 7 == 0 || i > 120)
			assert_same(p.s, p.w);
		n++;
	}
	assert_true(compactions >= 3);
	assert_same(p.s, p.w);
	assert_revs(p.s, n + 1 - HNV_STORE_KEEP + 1, n + 1);
	/* whole texts: the base of the oldest kept revision and the ones
	 * compaction wrote since, not 50 */
	assert_true(count_files(p.dir, ".conf") <= 5);
	assert_true(count_files(p.dir, ".journal") >= 1);
	hnv_store_close(p.s);
	p.s = open_ok(p.dir);
	assert_same(p.s, p.w);
	pair_close(&p);
}

/* Texts after each of k deltas on a large base (texts[0] is the base). */
struct history {
	char *texts[8];
	off_t jsize[8]; /* the journal's size after each */
};

static void make_history(struct pair *p, struct history *h, unsigned k)
{
	pair_big_base(p, 3000);
	h->texts[0] = strdup(p->text);
	char j[256];
	path_in(j, sizeof(j), p->dir, "hnvgw.journal");
	for (unsigned i = 1; i <= k; i++) {
		char d[128], a[128];
		big_line(d, sizeof(d), "base", i * 11);
		big_line(a, sizeof(a), "hist", i);
		const char *del[] = {d};
		const char *add[] = {a, "s2s add t --psk " PSK};
		pair_delta(p, del, 1, add, 2);
		h->texts[i] = strdup(p->text);
		h->jsize[i] = size_of(j);
	}
}

static void history_free(struct history *h)
{
	for (unsigned i = 0; i < 8; i++)
		free(h->texts[i]);
}

/* A torn last record (every cut of it) is dropped at open: the previous
 * revision, the journal cut back, and commits continue from there. */
static void test_delta_torn_tail(void **state)
{
	struct pair p;
	pair_open(&p, *state);
	struct history h = {0};
	make_history(&p, &h, 3);
	char img[256], j[512];
	snprintf(img, sizeof(img), "%s/img", p.t->root);
	path_in(j, sizeof(j), img, "hnvgw.journal");
	off_t from = h.jsize[2], to = h.jsize[3];
	for (off_t cut = from; cut <= to + 3; cut += (cut < from + 40 || cut > to - 40) ? 1 : 17) {
		copy_dir(p.dir, img);
		if (cut <= to) {
			assert_int_equal(truncate(j, cut), 0);
		} else {
			/* garbage after the last record */
			FILE *f = fopen(j, "a");
			fwrite("HNVR\x01\x02", 1, (size_t)(cut - to), f);
			fclose(f);
		}
		struct hnv_store *s = open_ok(img);
		unsigned want = cut == to || cut > to ? 4 : 3;
		assert_current(s, h.texts[want - 1], want);
		assert_int_equal(size_of(j), cut >= to ? to : from);
		assert_revs(s, 1, want);
		char *r;
		size_t len;
		assert_int_equal(hnv_store_revision(s, 2, &r, &len), 0);
		assert_same_text("revision 2", r, len, h.texts[1]);
		free(r);
		/* the next commit takes the next number */
		const char *add[] = {"after"};
		unsigned rev = 0;
		assert_int_equal(hnv_store_commit_delta(s, NULL, 0, add, 1, &rev), 0);
		assert_int_equal(rev, want + 1);
		hnv_store_close(s);
		s = open_ok(img);
		assert_int_equal(hnv_store_revision(s, want + 1, &r, &len), 0);
		char *w = ref_apply(h.texts[want - 1], NULL, 0, add, 1);
		assert_same_text("after the cut", r, len, w);
		free(w);
		free(r);
		hnv_store_close(s);
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", img);
		assert_int_equal(system(cmd), 0);
	}
	/* a damaged header is refused, not guessed at */
	copy_dir(p.dir, img);
	FILE *f = fopen(j, "r+");
	fputc('X', f);
	fclose(f);
	struct hnv_store *x = NULL;
	char err[256];
	assert_int_equal(hnv_store_open(img, &x, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "hnvgw.journal is not a journal"));
	history_free(&h);
	pair_close(&p);
}

/* The steps of a whole commit and of a compaction, interrupted: open
 * finds the old or the new revision. */
static void test_delta_crash_steps(void **state)
{
	struct pair p;
	pair_open(&p, *state);
	struct history h = {0};
	make_history(&p, &h, 3);
	char img[256], f[512], cmd[300];
	snprintf(img, sizeof(img), "%s/img", p.t->root);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", img);
	/* whole commit 5: its revision written, hnvgw.conf not */
	copy_dir(p.dir, img);
	snprintf(f, sizeof(f), "%s/revisions/000005.conf", img);
	write_file(f, "new whole text\n");
	struct hnv_store *s = open_ok(img);
	assert_current(s, h.texts[3], 4);
	assert_false(exists(f));
	assert_revs(s, 1, 4);
	hnv_store_close(s);
	assert_int_equal(system(cmd), 0);
	/* whole commit 5: hnvgw.conf written too, the journal not retired */
	copy_dir(p.dir, img);
	write_file(f, "new whole text\n");
	path_in(f, sizeof(f), img, "hnvgw.conf");
	write_file(f, "new whole text\n");
	s = open_ok(img);
	assert_current(s, "new whole text\n", 5);
	assert_revs(s, 1, 5);
	char *r;
	size_t len;
	assert_int_equal(hnv_store_revision(s, 3, &r, &len), 0);
	assert_same_text("revision 3", r, len, h.texts[2]);
	free(r);
	path_in(f, sizeof(f), img, "hnvgw.journal");
	assert_false(exists(f));
	hnv_store_close(s);
	assert_int_equal(system(cmd), 0);
	/* compaction at 4: revision 4 written whole, then hnvgw.conf: each
	 * step alone leaves revision 4 */
	for (int step = 1; step <= 2; step++) {
		copy_dir(p.dir, img);
		snprintf(f, sizeof(f), "%s/revisions/000004.conf", img);
		write_file(f, h.texts[3]);
		if (step == 2) {
			path_in(f, sizeof(f), img, "hnvgw.conf");
			write_file(f, h.texts[3]);
		}
		s = open_ok(img);
		assert_same(s, p.w);
		hnv_store_close(s);
		s = open_ok(img);
		assert_same(s, p.w);
		hnv_store_close(s);
		assert_int_equal(system(cmd), 0);
	}
	/* the journal created, no record yet */
	hnv_store_close(p.s);
	p.s = open_ok(p.dir); /* closed: compacted, no journal */
	copy_dir(p.dir, img);
	s = open_ok(img);
	const char *add[] = {"one more"};
	unsigned rev;
	assert_int_equal(hnv_store_commit_delta(s, NULL, 0, add, 1, &rev), 0);
	assert_int_equal(rev, 5);
	path_in(f, sizeof(f), img, "hnvgw.journal");
	assert_int_equal(truncate(f, 40), 0);
	char img2[256];
	snprintf(img2, sizeof(img2), "%s/img2", p.t->root);
	copy_dir(img, img2);
	hnv_store_close(s);
	s = open_ok(img2);
	assert_current(s, h.texts[3], 4);
	hnv_store_close(s);
	/* hnvgw.conf removed while a journal has records: restored whole */
	assert_int_equal(system(cmd), 0);
	copy_dir(img2, img);
	s = open_ok(img);
	assert_int_equal(hnv_store_commit_delta(s, NULL, 0, add, 1, &rev), 0);
	char img3[256];
	snprintf(img3, sizeof(img3), "%s/img3", p.t->root);
	copy_dir(img, img3);
	hnv_store_close(s);
	path_in(f, sizeof(f), img3, "hnvgw.conf");
	unlink(f);
	s = open_ok(img3);
	char *w = ref_apply(h.texts[3], NULL, 0, add, 1);
	assert_current(s, w, 5);
	assert_conf_file(img3, w);
	free(w);
	hnv_store_close(s);
	history_free(&h);
	pair_close(&p);
}

/* hnvgw.conf edited by hand: while open, load returns the edit and the
 * next commit overwrites it (as a whole commit does); while stopped (a
 * crash left a journal), open leaves it for the caller to commit. */
static void test_delta_hand_edit(void **state)
{
	struct pair p;
	pair_open(&p, *state);
	struct history h = {0};
	make_history(&p, &h, 3);
	char conf[256], j[256];
	path_in(conf, sizeof(conf), p.dir, "hnvgw.conf");
	path_in(j, sizeof(j), p.dir, "hnvgw.journal");
	/* the same bytes written again: no edit, the journal goes on */
	char *snap = read_file(conf, NULL);
	write_file(conf, snap);
	free(snap);
	assert_current(p.s, h.texts[3], 4);
	const char *add[] = {"added"};
	off_t js = size_of(j);
	pair_delta(&p, NULL, 0, add, 1);
	assert_true(size_of(j) > js);
	assert_same(p.s, p.w);
	/* an edit while running: load shows it, with the current number */
	write_file(conf, "edited\n");
	char *t;
	size_t len;
	unsigned rev;
	assert_int_equal(hnv_store_load(p.s, &t, &len, &rev), 0);
	assert_string_equal(t, "edited\n");
	assert_int_equal(rev, 5);
	free(t);
	/* the next delta commit overwrites it, as a whole commit would */
	const char *add2[] = {"added again"};
	pair_delta(&p, NULL, 0, add2, 1);
	assert_conf_file(p.dir, p.text);
	assert_false(exists(j));
	assert_same(p.s, p.w);
	/* an edit of a crashed store's hnvgw.conf: load shows it, the
	 * journal's last revision is current until the edit is committed */
	pair_delta(&p, NULL, 0, add, 1);
	assert_true(exists(j));
	char img[256], f[512];
	snprintf(img, sizeof(img), "%s/img", p.t->root);
	copy_dir(p.dir, img);
	path_in(f, sizeof(f), img, "hnvgw.conf");
	write_file(f, "pa add 192.168.4.11/24 --dev eth0\n");
	struct hnv_store *s = open_ok(img);
	assert_current(s, "pa add 192.168.4.11/24 --dev eth0\n", 7);
	assert_revs(s, 1, 7);
	assert_int_equal(hnv_store_current(s, &t, &len, &rev), 0);
	assert_same_text("current", t, len, p.text);
	free(t);
	assert_int_equal(commit_ok(s, "pa add 192.168.4.11/24 --dev eth0\n"), 8);
	assert_current(s, "pa add 192.168.4.11/24 --dev eth0\n", 8);
	assert_int_equal(mode_of(f), 0600);
	assert_revs(s, 1, 8);
	/* the journal's revision is history */
	assert_int_equal(hnv_store_revision(s, 7, &t, &len), 0);
	assert_same_text("revision 7", t, len, p.text);
	free(t);
	path_in(f, sizeof(f), img, "hnvgw.journal");
	assert_false(exists(f));
	hnv_store_close(s);
	history_free(&h);
	pair_close(&p);
}

/* The text after op i of the kill test: the base, then for every op k
 * before i its lines 10..199 (op k+1 removed 0..9), op i-1's lines whole. */
#define KILL_LINES 200
#define KILL_GONE 10
static void kill_line(char *buf, size_t len, unsigned op, unsigned j)
{
	snprintf(buf, len,
		 "route add --rdomain blue --prefix 10.%u.%u.0/24 --nexthop 10.0.0.1 op%u",
		 op & 255, j, op);
}

static char *kill_text(const char *base, unsigned rev)
{
	unsigned ops = rev - 1;
	size_t cap = strlen(base) + (size_t)ops * KILL_LINES * 96 + 1, o = strlen(base);
	char *t = malloc(cap), line[128];
	memcpy(t, base, o);
	for (unsigned k = 1; k <= ops; k++)
		for (unsigned j = k == ops ? 0 : KILL_GONE; j < KILL_LINES; j++) {
			kill_line(line, sizeof(line), k, j);
			o += (size_t)sprintf(t + o, "%s\n", line);
		}
	t[o] = '\0';
	return t;
}

/* The child: opens the store, commits op after op (every fifth whole),
 * reporting each acknowledged revision, until killed. */
static void kill_child(const char *dir, const char *base, int fd)
{
	struct hnv_store *s = NULL;
	char err[256];
	if (hnv_store_open(dir, &s, err, sizeof(err)) != 0)
		_exit(2);
	char *t;
	size_t len;
	unsigned rev;
	if (hnv_store_load(s, &t, &len, &rev) != 0)
		_exit(3);
	free(t);
	static char lines[KILL_LINES + KILL_GONE][128];
	for (unsigned op = rev;; op++) {
		const char *add[KILL_LINES], *del[KILL_GONE];
		for (unsigned j = 0; j < KILL_LINES; j++) {
			kill_line(lines[j], sizeof(lines[j]), op, j);
			add[j] = lines[j];
		}
		for (unsigned j = 0; j < KILL_GONE && op > 1; j++) {
			kill_line(lines[KILL_LINES + j], sizeof(lines[0]), op - 1, j);
			del[j] = lines[KILL_LINES + j];
		}
		unsigned got;
		int rc;
		if (op % 5 == 0) {
			char *w = kill_text(base, op + 1);
			rc = hnv_store_commit(s, w, strlen(w), &got);
			free(w);
		} else {
			rc = hnv_store_commit_delta(s, del, op > 1 ? KILL_GONE : 0, add, KILL_LINES,
						    &got);
		}
		if (rc != 0 || got != op + 1)
			_exit(4);
		if (write(fd, &got, sizeof(got)) != sizeof(got))
			_exit(5);
	}
}

/* Real crashes: a child committing is killed at random moments (in a
 * record's write, a compaction, a whole commit); every open finds the
 * last acknowledged revision or the one after it, whole. */
static void test_delta_kill(void **state)
{
	struct tmp *t = *state;
	char *base = big_text(3000, "kill");
	struct hnv_store *s = open_ok(t->state);
	commit_ok(s, base);
	hnv_store_close(s);
	srand(4242);
	unsigned acked = 1, ahead = 0;
	int round;
	for (round = 0; round < 16 && acked < 90; round++) {
		int pfd[2];
		assert_int_equal(pipe(pfd), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			kill_child(t->state, base, pfd[1]);
		}
		close(pfd[1]);
		usleep((useconds_t)(5000 + rand() % 60000));
		kill(pid, SIGKILL);
		int st;
		waitpid(pid, &st, 0);
		assert_true(WIFSIGNALED(st));
		for (unsigned r; read(pfd[0], &r, sizeof(r)) == sizeof(r);)
			acked = r;
		close(pfd[0]);
		s = open_ok(t->state);
		char *text;
		size_t len;
		unsigned rev;
		assert_int_equal(hnv_store_load(s, &text, &len, &rev), 0);
		if (rev != acked && rev != acked + 1)
			fail_msg("round %d: revision %u after acknowledging %u", round, rev, acked);
		char *want = kill_text(base, rev);
		assert_same_text("after the kill", text, len, want);
		free(want);
		free(text);
		unsigned first = rev > HNV_STORE_KEEP ? rev - HNV_STORE_KEEP + 1 : 1;
		assert_revs(s, first, rev);
		for (unsigned r = first; r <= rev; r += 7) {
			assert_int_equal(hnv_store_revision(s, r, &text, &len), 0);
			want = kill_text(base, r);
			assert_same_text("a kept revision", text, len, want);
			free(want);
			free(text);
		}
		ahead += rev == acked + 1;
		acked = rev;
		hnv_store_close(s);
	}
	assert_true(acked > 5);
	print_message("kill: %d kills, revision %u reached; %u found a commit the child had not "
		      "acknowledged yet\n",
		      round, acked, ahead);
	free(base);
}

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Bytes this process has handed to write(2) so far. */
static long long wchar(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	long long v = -1;
	char k[64];
	long long x;
	while (f != NULL && fscanf(f, "%63[^:]: %lld\n", k, &x) == 2)
		if (strcmp(k, "wchar") == 0)
			v = x;
	if (f)
		fclose(f);
	return v;
}

/* Not a test of speed (nothing is asserted): what one change costs with
 * HNVGW_STORE_BENCH_LINES lines (1,000,000 unless set), whole and delta. */
static void test_delta_bench(void **state)
{
	struct tmp *t = *state;
	const char *e = getenv("HNVGW_STORE_BENCH_LINES");
	unsigned n = e ? (unsigned)strtoul(e, NULL, 10) : 1000000;
	if (n < 3000)
		n = 3000;
	char *text = big_text(n, "bench");
	size_t len = strlen(text);
	struct hnv_store *s = open_ok(t->state);
	long long t0 = now_us(), w0 = wchar();
	unsigned rev;
	assert_int_equal(hnv_store_commit(s, text, len, &rev), 0);
	long long t1 = now_us(), w1 = wchar();
	char d[128], a[128];
	big_line(d, sizeof(d), "bench", n / 2);
	big_line(a, sizeof(a), "bench-new", n / 2);
	const char *del[] = {d}, *add[] = {a};
	assert_int_equal(hnv_store_commit_delta(s, del, 1, add, 1, &rev), 0);
	long long t2 = now_us(), w2 = wchar();
	/* ten more, for a steadier number */
	for (unsigned i = 0; i < 10; i++) {
		big_line(d, sizeof(d), "bench", i);
		big_line(a, sizeof(a), "bench-new", i);
		assert_int_equal(hnv_store_commit_delta(s, del, 1, add, 1, &rev), 0);
	}
	long long t3 = now_us(), w3 = wchar();
	char *l;
	size_t ll;
	assert_int_equal(hnv_store_load(s, &l, &ll, &rev), 0);
	long long t4 = now_us();
	free(l);
	hnv_store_close(s);
	long long t5 = now_us();
#ifdef __SANITIZE_ADDRESS__
	const char *build = " (ASan build)";
#else
	const char *build = "";
#endif
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	print_message("bench: %u lines, %zu bytes%s; peak RSS of this test program %ld MiB\n"
		      "bench: whole commit  %8.1f ms %12lld bytes written\n"
		      "bench: delta commit  %8.3f ms %12lld bytes written\n"
		      "bench: 10 more       %8.3f ms each, %lld bytes each\n"
		      "bench: load          %8.1f ms; close (compaction) %.1f ms\n",
		      n, len, build, ru.ru_maxrss / 1024, (t1 - t0) / 1e3, w1 - w0, (t2 - t1) / 1e3,
		      w2 - w1, (t3 - t2) / 1e4, (w3 - w2) / 10, (t4 - t3) / 1e3, (t5 - t4) / 1e3);
	free(text);
}

static void test_store_diff(void **state)
{
	struct tmp *t = *state;
	struct hnv_store *s = open_ok(t->state);
	/* config lines: the diff hides a line that does not parse */
	commit_ok(s, "rdomain del a\nrdomain del b\n");
	commit_ok(s, "rdomain del a\nrdomain del c\n");
	char *d = NULL;
	assert_int_equal(hnv_store_diff(s, 1, 2, &d), 0);
	assert_string_equal(d, "--- rev 1\n+++ rev 2\n@@ -1,2 +1,2 @@\n rdomain del a\n"
			       "-rdomain del b\n+rdomain del c\n");
	free(d);
	assert_int_equal(hnv_store_diff(s, 2, 1, &d), 0);
	assert_string_equal(d, "--- rev 2\n+++ rev 1\n@@ -1,2 +1,2 @@\n rdomain del a\n"
			       "-rdomain del c\n+rdomain del b\n");
	free(d);
	assert_int_equal(hnv_store_diff(s, 2, 2, &d), 0);
	assert_string_equal(d, "");
	free(d);
	assert_int_equal(hnv_store_diff(s, 1, 3, &d), -ENOENT);
	hnv_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_empty, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_commit_load, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_numbering_restart, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_keep_50, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_temp_cleanup, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_crash_recovery, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_crash_first_commit, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_existing_conf, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_edit_no_revision_before_validation, setup_tmp,
						teardown_tmp),
		cmocka_unit_test_setup_teardown(test_delta_small, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_delta_semantics, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_delta_no_newline, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_delta_refused, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_delta_journal, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_delta_compaction_window, setup_tmp,
						teardown_tmp),
		cmocka_unit_test_setup_teardown(test_delta_torn_tail, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_delta_crash_steps, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_delta_hand_edit, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_delta_kill, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_delta_bench, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_store_diff, setup_tmp, teardown_tmp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
