/* store.c: durable configuration with numbered revisions (store.h).
 *
 * Files live under the state directory, opened once and used through its
 * descriptor:
 *   hnvgw.conf              the current config text
 *   revisions/NNNNNN.conf   kept revisions (at least 6 digits)
 *   .tmp-*                  a write in progress (both directories)
 * Every write goes to a mkstemp file in the target's directory, which is
 * made 0600, written completely, fsync'ed and renamed over the target; the
 * directory is fsync'ed after the rename.
 *
 * A commit writes the revision first and hnvgw.conf second, and removes the
 * revision again if hnvgw.conf cannot be written. A crash between the two
 * leaves a newest revision that hnvgw.conf does not match; hnv_store_open
 * repairs that (see reconcile()). hnvgw.conf is the truth: a file edited by
 * hand while hnvgwd was down becomes a new revision.
 *
 * Texts hold PSKs: buffers this module frees are cleared first, diffs
 * print PSKs as <secret>.
 */
#include "store.h"

#include "conftext.h"
#include "../lib/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF_NAME "hnvgw.conf"
#define REV_DIR "revisions"
#define TMP_PREFIX ".tmp-"
#define FILE_MAX (256u << 20) /* a config larger than this is refused */

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

struct hnv_store {
	int dfd, rfd;       /* the state directory and revisions/ */
	char *dir, *revdir; /* their paths, for mkstemp */
	unsigned rev;       /* current revision, 0 before the first commit */
};

/* Clears and frees a text that may hold PSKs. */
static void text_free(char *t, size_t len)
{
	if (t == NULL)
		return;
	explicit_bzero(t, len);
	free(t);
}

/* ---- files ---- */

/* Reads dfd/name whole into a malloc'd NUL-terminated buffer. */
static int read_at(int dfd, const char *name, char **text, size_t *len)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode))
		rc = -EINVAL;
	else if (st.st_size > (off_t)FILE_MAX)
		rc = -EFBIG;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	/* one spare byte tells a file that grew since fstat */
	size_t cap = (size_t)st.st_size + 2, n = 0;
	char *buf = malloc(cap);
	if (buf == NULL) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || n + (size_t)(r > 0 ? r : 0) == cap - 1) {
			/* a file that grows is being written by someone else */
			rc = r < 0 ? -errno : -EAGAIN;
			text_free(buf, cap);
			close(fd);
			return rc;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Replaces dpath/name (dfd is dpath) atomically with text: temp file,
 * fchmod 0600, write, fsync, rename, fsync of the directory. */
static int write_atomic(int dfd, const char *dpath, const char *name, const char *text, size_t len)
{
	char tmp[PATH_MAX];
	int k = snprintf(tmp, sizeof(tmp), "%s/" TMP_PREFIX "%s-XXXXXX", dpath, name);
	if (k < 0 || (size_t)k >= sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	const char *base = tmp + strlen(dpath) + 1;
	int rc = fchmod(fd, 0600) < 0 ? -errno : 0;
	if (rc == 0)
		rc = write_all(fd, text, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dfd, base, dfd, name) < 0)
		rc = -errno;
	if (rc < 0) {
		unlinkat(dfd, base, 0);
		return rc;
	}
	return fsync(dfd) < 0 ? -errno : 0;
}

/* Removes leftovers of writes a crash interrupted. */
static int clean_temps(int dfd)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	int rc = 0;
	for (struct dirent *de; (de = readdir(d)) != NULL;)
		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 &&
		    unlinkat(dfd, de->d_name, 0) < 0 && rc == 0)
			rc = -errno;
	closedir(d);
	return rc;
}

/* ---- revisions ---- */

static void rev_name(unsigned rev, char *buf, size_t len)
{
	snprintf(buf, len, "%06u.conf", rev);
}

/* "NNNNNN.conf" (at least 6 digits, no sign) -> rev >= 1, else 0. */
static unsigned rev_parse(const char *name)
{
	size_t nd = strspn(name, "0123456789");
	if (nd < 6 || strcmp(name + nd, ".conf") != 0)
		return 0;
	unsigned long long v = 0;
	for (size_t i = 0; i < nd; i++) {
		v = v * 10 + (unsigned)(name[i] - '0');
		if (v >= UINT_MAX)
			return 0;
	}
	char canon[32];
	rev_name((unsigned)v, canon, sizeof(canon));
	return strcmp(canon, name) == 0 ? (unsigned)v : 0;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

static int list_revs(int rfd, unsigned **revs, size_t *n)
{
	int fd = openat(rfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	unsigned *a = NULL;
	size_t cnt = 0, cap = 0;
	int rc = 0;
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		unsigned r = rev_parse(de->d_name);
		if (r == 0)
			continue;
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			unsigned *na = realloc(a, ncap * sizeof(*a));
			if (na == NULL) {
				rc = -ENOMEM;
				break;
			}
			a = na;
			cap = ncap;
		}
		a[cnt++] = r;
	}
	closedir(d);
	if (rc < 0) {
		free(a);
		return rc;
	}
	if (cnt > 1)
		qsort(a, cnt, sizeof(*a), cmp_uint);
	*revs = a;
	*n = cnt;
	return 0;
}

static int read_rev(struct hnv_store *s, unsigned rev, char **text, size_t *len)
{
	char name[32];
	rev_name(rev, name, sizeof(name));
	return read_at(s->rfd, name, text, len);
}

/* Deletes all but the newest HNV_STORE_KEEP revisions. */
static int prune(struct hnv_store *s)
{
	unsigned *revs;
	size_t n;
	int rc = list_revs(s->rfd, &revs, &n);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i + HNV_STORE_KEEP < n; i++) {
		char name[32];
		rev_name(revs[i], name, sizeof(name));
		if (unlinkat(s->rfd, name, 0) < 0 && rc == 0)
			rc = -errno;
	}
	free(revs);
	if (n > HNV_STORE_KEEP && fsync(s->rfd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* Writes text as revision rev, then as hnvgw.conf; undoes the revision if
 * hnvgw.conf fails. */
static int commit_as(struct hnv_store *s, unsigned rev, const char *text, size_t len)
{
	char name[32];
	rev_name(rev, name, sizeof(name));
	int rc = write_atomic(s->rfd, s->revdir, name, text, len);
	if (rc < 0)
		return rc;
	rc = write_atomic(s->dfd, s->dir, CONF_NAME, text, len);
	if (rc < 0) {
		unlinkat(s->rfd, name, 0);
		fsync(s->rfd);
		return rc;
	}
	s->rev = rev;
	/* a revision too many is no failure of the commit: the next prune
	 * retries */
	prune(s);
	return 0;
}

static bool same_text(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* Makes hnvgw.conf and the newest revision agree after a crash or a hand
 * edit:
 *   conf equals the newest revision N          -> current is N;
 *   conf equals N-1 (or is missing and N is 1) -> N's commit never
 *                                                  completed: N is removed;
 *   conf missing otherwise                     -> restored from N;
 *   conf differs from every case above         -> conf becomes N+1. */
static int reconcile(struct hnv_store *s)
{
	char *conf = NULL, *newest = NULL, *prev = NULL;
	size_t clen = 0, nlen = 0, plen = 0;
	unsigned *revs = NULL;
	size_t n = 0;
	int rc = read_at(s->dfd, CONF_NAME, &conf, &clen);
	bool missing = rc == -ENOENT;
	if (rc < 0 && !missing)
		return rc;
	rc = list_revs(s->rfd, &revs, &n);
	if (rc < 0)
		goto out;
	if (n == 0) {
		s->rev = 0;
		if (clen > 0)
			rc = commit_as(s, 1, conf, clen);
		goto out;
	}
	unsigned top = revs[n - 1];
	rc = read_rev(s, top, &newest, &nlen);
	if (rc < 0)
		goto out;
	if (!missing && same_text(conf, clen, newest, nlen)) {
		s->rev = top;
		goto out;
	}
	bool have_prev = n >= 2 && revs[n - 2] == top - 1;
	if (have_prev) {
		rc = read_rev(s, top - 1, &prev, &plen);
		if (rc < 0)
			goto out;
	}
	if ((have_prev && !missing && same_text(conf, clen, prev, plen)) ||
	    (missing && top == 1 && n == 1)) {
		char name[32];
		rev_name(top, name, sizeof(name));
		if (unlinkat(s->rfd, name, 0) < 0 || fsync(s->rfd) < 0) {
			rc = -errno;
			goto out;
		}
		s->rev = have_prev ? top - 1 : 0;
		goto out;
	}
	if (missing) {
		rc = write_atomic(s->dfd, s->dir, CONF_NAME, newest, nlen);
		if (rc == 0)
			s->rev = top;
		goto out;
	}
	rc = top == UINT_MAX - 1 ? -EOVERFLOW : commit_as(s, top + 1, conf, clen);
out:
	text_free(conf, clen);
	text_free(newest, nlen);
	text_free(prev, plen);
	free(revs);
	return rc;
}

/* ---- open and close ---- */

/* Opens (creating) directory path below dfd as 0700, owned by us. */
static int open_dir(int dfd, const char *path, int *out, char *err, size_t errlen)
{
	if (mkdirat(dfd, path, 0700) < 0 && errno != EEXIST) {
		int rc = -errno;
		hnv_seterr(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return rc;
	}
	int fd = openat(dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int rc = -errno;
		hnv_seterr(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return rc;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int rc = -errno;
		close(fd);
		hnv_seterr(err, errlen, "cannot stat %s: %s", path, strerror(-rc));
		return rc;
	}
	/* The directory holds PSKs: nobody else may own or enter it. */
	if (st.st_uid != geteuid()) {
		close(fd);
		hnv_seterr(err, errlen, "%s is owned by uid %u, not by uid %u", path,
		       (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0) {
		int rc = -errno;
		close(fd);
		hnv_seterr(err, errlen, "cannot make %s mode 0700: %s", path, strerror(-rc));
		return rc;
	}
	*out = fd;
	return 0;
}

void hnv_store_close(struct hnv_store *s)
{
	if (s == NULL)
		return;
	if (s->rfd >= 0)
		close(s->rfd);
	if (s->dfd >= 0)
		close(s->dfd); /* releases the lock */
	free(s->dir);
	free(s->revdir);
	free(s);
}

int hnv_store_open(const char *dir, struct hnv_store **out, char *err, size_t errlen)
{
	if (dir == NULL || dir[0] == '\0' || out == NULL) {
		hnv_seterr(err, errlen, "no state directory");
		return -EINVAL;
	}
	struct hnv_store *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->dfd = s->rfd = -1;
	s->dir = strdup(dir);
	if (s->dir == NULL || asprintf(&s->revdir, "%s/" REV_DIR, dir) < 0) {
		s->revdir = NULL;
		hnv_store_close(s);
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = open_dir(AT_FDCWD, dir, &s->dfd, err, errlen);
	if (rc == 0 && flock(s->dfd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		hnv_seterr(err, errlen, "state directory %s is in use by another process", dir);
	}
	if (rc == 0)
		rc = open_dir(s->dfd, REV_DIR, &s->rfd, err, errlen);
	if (rc == 0) {
		rc = clean_temps(s->dfd);
		if (rc == 0)
			rc = clean_temps(s->rfd);
		if (rc < 0)
			hnv_seterr(err, errlen, "cannot remove temporary files in %s: %s", dir,
			       strerror(-rc));
	}
	if (rc == 0) {
		rc = reconcile(s);
		if (rc < 0)
			hnv_seterr(err, errlen, "cannot recover %s/" CONF_NAME ": %s", dir,
			       strerror(-rc));
	}
	if (rc == 0)
		rc = prune(s);
	if (rc < 0) {
		hnv_store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

/* ---- the API ---- */

int hnv_store_load(struct hnv_store *s, char **text, size_t *len, unsigned *rev)
{
	if (s == NULL || text == NULL || len == NULL)
		return -EINVAL;
	char *t;
	size_t n;
	int rc = read_at(s->dfd, CONF_NAME, &t, &n);
	if (rc == -ENOENT && s->rev == 0) {
		t = calloc(1, 1);
		n = 0;
		rc = t ? 0 : -ENOMEM;
	}
	if (rc < 0)
		return rc;
	*text = t;
	*len = n;
	if (rev)
		*rev = s->rev;
	return 0;
}

int hnv_store_commit(struct hnv_store *s, const char *text, size_t len, unsigned *rev)
{
	if (s == NULL || (text == NULL && len > 0))
		return -EINVAL;
	unsigned *revs;
	size_t n;
	int rc = list_revs(s->rfd, &revs, &n);
	if (rc < 0)
		return rc;
	unsigned next = (n ? revs[n - 1] : 0) + 1;
	free(revs);
	if (next < s->rev + 1)
		next = s->rev + 1;
	if (next >= UINT_MAX)
		return -EOVERFLOW;
	rc = commit_as(s, next, text ? text : "", len);
	if (rc == 0 && rev)
		*rev = next;
	return rc;
}

int hnv_store_revision(struct hnv_store *s, unsigned rev, char **text, size_t *len)
{
	if (s == NULL || text == NULL || len == NULL || rev == 0 || rev >= UINT_MAX)
		return rev == 0 ? -ENOENT : -EINVAL;
	return read_rev(s, rev, text, len);
}

int hnv_store_revisions(struct hnv_store *s, unsigned **revs, size_t *n)
{
	if (s == NULL || revs == NULL || n == NULL)
		return -EINVAL;
	return list_revs(s->rfd, revs, n);
}

/* ---- unified diff ----
 * Lines are compared by content and by whether a newline ends them. The
 * edit script is a shortest one (its equal lines are a longest common
 * subsequence), found by Myers' O(ND) algorithm after the common head and
 * tail are set aside: fast when few lines changed, however long the
 * config. When more than DIFF_D_MAX lines changed, the middle is shown as
 * removed and added whole: still a correct diff, just not a minimal one.
 * Output follows diff -u: 3 lines of context, hunks closer than 6 lines
 * merged, a change's removed lines before its added ones. */

#define DIFF_CONTEXT 3
#define DIFF_D_MAX 2048 /* the trace holds (D + 1)^2 ints: 16 MiB at most */

struct line {
	const char *p;
	size_t len; /* without the newline */
	bool nl;    /* a newline ends it */
	uint64_t h;
};

struct text_lines {
	struct line *l;
	size_t n;
};

static int split_lines(const char *t, size_t len, struct text_lines *out)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += t[i] == '\n';
	n += len > 0 && t[len - 1] != '\n';
	out->n = n;
	out->l = calloc(n ? n : 1, sizeof(*out->l));
	if (out->l == NULL)
		return -ENOMEM;
	size_t k = 0;
	for (size_t off = 0; off < len; k++) {
		const char *nl = memchr(t + off, '\n', len - off);
		struct line *l = &out->l[k];
		l->p = t + off;
		l->len = nl ? (size_t)(nl - (t + off)) : len - off;
		l->nl = nl != NULL;
		uint64_t h = 0xcbf29ce484222325ull ^ l->nl;
		for (size_t i = 0; i < l->len; i++)
			h = (h ^ (uint8_t)l->p[i]) * 0x100000001b3ull;
		l->h = h;
		off += l->len + l->nl;
	}
	return 0;
}

static bool line_eq(const struct line *a, const struct line *b)
{
	return a->h == b->h && a->len == b->len && a->nl == b->nl &&
	       memcmp(a->p, b->p, a->len) == 0;
}

enum {
	ED_EQ,
	ED_DEL,
	ED_INS
};

struct edit {
	uint8_t op;
	size_t a, b; /* lines of each side before this edit */
};

/* Myers over a[0..n) and b[0..m) (the middles): writes the script
 * backwards into rev (at most n + m edits, positions relative to the
 * middles) and returns its length, or 0 with *too_many when the shortest
 * script has more than DIFF_D_MAX changes. */
static int myers(const struct line *a, long n, const struct line *b, long m, struct edit *rev,
		 size_t *nrev, bool *too_many)
{
	/* x fits 32 bits: a text has at most FILE_MAX lines */
	long dmax = n + m < DIFF_D_MAX ? n + m : DIFF_D_MAX;
	long off = dmax + 1;
	int32_t *v = calloc((size_t)(2 * dmax + 3), sizeof(*v));
	/* trace: v[-d..d] before step d, for d = 0..D, one after another */
	int32_t *trace = malloc((size_t)(dmax + 1) * (size_t)(dmax + 1) * sizeof(*trace));
	if (v == NULL || trace == NULL) {
		free(v);
		free(trace);
		return -ENOMEM;
	}
	long d, found = -1;
	size_t tsz = 0;
	for (d = 0; d <= dmax && found < 0; d++) {
		memcpy(trace + tsz, v + off - d, (size_t)(2 * d + 1) * sizeof(*v));
		tsz += (size_t)(2 * d + 1);
		for (long k = -d; k <= d; k += 2) {
			long x = (k == -d || (k != d && v[off + k - 1] < v[off + k + 1]))
					 ? v[off + k + 1]
					 : v[off + k - 1] + 1;
			long y = x - k;
			while (x < n && y < m && line_eq(&a[x], &b[y]))
				x++, y++;
			v[off + k] = (int32_t)x;
			if (x >= n && y >= m) {
				found = d;
				break;
			}
		}
	}
	free(v);
	*too_many = found < 0;
	*nrev = 0;
	if (found < 0) {
		free(trace);
		return 0;
	}
	/* walk back from (n, m): the snake of step d, then its one edit */
	long x = n, y = m;
	for (d = found; d >= 0; d--) {
		tsz -= (size_t)(2 * d + 1);
		const int32_t *tv = trace + tsz + d; /* tv[k], k in -d..d */
		long k = x - y, pk, px, py;
		if (d == 0) {
			px = py = 0;
			pk = 0;
		} else {
			pk = (k == -d || (k != d && tv[k - 1] < tv[k + 1])) ? k + 1 : k - 1;
			px = tv[pk];
			py = px - pk;
		}
		long sx = d == 0 ? 0 : (pk == k + 1 ? px : px + 1);
		while (x > sx) {
			x--, y--;
			rev[(*nrev)++] = (struct edit){ED_EQ, (size_t)x, (size_t)y};
		}
		if (d > 0) {
			bool ins = pk == k + 1;
			rev[(*nrev)++] =
				(struct edit){ins ? ED_INS : ED_DEL, (size_t)px, (size_t)py};
			x = px;
			y = py;
		}
	}
	free(trace);
	return 0;
}

/* The edit script turning a into b; *ne edits. */
static int edit_script(const struct text_lines *a, const struct text_lines *b, struct edit **out,
		       size_t *ne)
{
	size_t pre = 0, suf = 0;
	while (pre < a->n && pre < b->n && line_eq(&a->l[pre], &b->l[pre]))
		pre++;
	while (suf < a->n - pre && suf < b->n - pre &&
	       line_eq(&a->l[a->n - 1 - suf], &b->l[b->n - 1 - suf]))
		suf++;
	size_t ma = a->n - pre - suf, mb = b->n - pre - suf;
	struct edit *e = malloc((a->n + b->n + 1) * sizeof(*e));
	struct edit *rev = malloc((ma + mb + 1) * sizeof(*rev));
	size_t nrev = 0;
	bool too_many = false;
	int rc = e && rev ? 0 : -ENOMEM;
	if (rc == 0)
		rc = myers(a->l + pre, (long)ma, b->l + pre, (long)mb, rev, &nrev, &too_many);
	if (rc < 0) {
		free(e);
		free(rev);
		return rc;
	}
	size_t n = 0;
	for (size_t k = 0; k < pre; k++)
		e[n++] = (struct edit){ED_EQ, k, k};
	if (too_many) {
		for (size_t k = 0; k < ma; k++)
			e[n++] = (struct edit){ED_DEL, pre + k, pre};
		for (size_t k = 0; k < mb; k++)
			e[n++] = (struct edit){ED_INS, pre + ma, pre + k};
	}
	while (nrev > 0) {
		struct edit x = rev[--nrev];
		e[n++] = (struct edit){x.op, pre + x.a, pre + x.b};
	}
	for (size_t k = 0; k < suf; k++)
		e[n++] = (struct edit){ED_EQ, pre + ma + k, pre + mb + k};
	free(rev);
	/* diff -u prints a change's removed lines before its added ones */
	for (size_t s = 0; s < n;) {
		if (e[s].op == ED_EQ) {
			s++;
			continue;
		}
		size_t t = s, nd = 0;
		while (t < n && e[t].op != ED_EQ)
			nd += e[t++].op == ED_DEL;
		size_t a0 = e[s].a, b0 = e[s].b;
		for (size_t k = s; k < t; k++) {
			bool del = k - s < nd;
			e[k].op = del ? ED_DEL : ED_INS;
			e[k].a = del ? a0 + (k - s) : a0 + nd;
			e[k].b = b0 + (del ? 0 : k - s - nd);
		}
		s = t;
	}
	*out = e;
	*ne = n;
	return 0;
}

struct dbuf {
	char *s;
	size_t n, cap;
	bool failed;
};

static void dbuf_add(struct dbuf *d, const char *p, size_t n)
{
	if (d->failed)
		return;
	if (d->n + n + 1 > d->cap) {
		size_t ncap = d->cap ? d->cap : 1024;
		while (ncap < d->n + n + 1)
			ncap *= 2;
		char *ns = realloc(d->s, ncap);
		if (ns == NULL) {
			d->failed = true;
			return;
		}
		d->s = ns;
		d->cap = ncap;
	}
	memcpy(d->s + d->n, p, n);
	d->n += n;
	d->s[d->n] = '\0';
}

static void PRINTF_LIKE(2, 3) dbuf_fmt(struct dbuf *d, const char *fmt, ...)
{
	char t[128];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(t, sizeof(t), fmt, ap);
	va_end(ap);
	if (k > 0)
		dbuf_add(d, t, (size_t)k < sizeof(t) ? (size_t)k : sizeof(t) - 1);
}

/* One diff line; an "s2s add" line is printed with its PSK masked. */
static void put_line(struct dbuf *d, char mark, const struct line *l)
{
	static const char s2s[] = "s2s add";
	dbuf_add(d, &mark, 1);
	size_t skip = 0;
	while (skip < l->len && (l->p[skip] == ' ' || l->p[skip] == '\t'))
		skip++;
	bool secret =
		l->len - skip >= sizeof(s2s) - 1 && memcmp(l->p + skip, s2s, sizeof(s2s) - 1) == 0;
	if (!secret) {
		dbuf_add(d, l->p, l->len);
	} else {
		/* stored lines were validated; one that no longer parses is
		 * not printed at all rather than risk its PSK */
		char buf[8192], out[8192];
		struct hnv_conf_cmd c;
		int rc = -EINVAL;
		if (l->len < sizeof(buf)) {
			memcpy(buf, l->p, l->len);
			buf[l->len] = '\0';
			rc = hnv_conf_parse_line(buf, &c, NULL, 0) == 1 ? 0 : -EINVAL;
		}
		if (rc == 0)
			rc = hnv_conf_format(&c, false, out, sizeof(out));
		const char *shown = rc == 0 ? out : "# s2s add line not shown";
		dbuf_add(d, shown, strlen(shown));
		explicit_bzero(buf, sizeof(buf));
		explicit_bzero(&c, sizeof(c));
	}
	dbuf_add(d, "\n", 1);
	if (!l->nl)
		dbuf_add(d, "\\ No newline at end of file\n", 28);
}

static void put_range(struct dbuf *d, char side, size_t start, size_t count)
{
	/* an empty range names the line before it */
	if (count == 1)
		dbuf_fmt(d, "%c%zu", side, start + 1);
	else
		dbuf_fmt(d, "%c%zu,%zu", side, count ? start + 1 : start, count);
}

int hnv_store_diff_text(const char *a, size_t alen, const char *b, size_t blen,
			const char *from_label, const char *to_label, char **out)
{
	if ((a == NULL && alen > 0) || (b == NULL && blen > 0) || from_label == NULL ||
	    to_label == NULL || out == NULL)
		return -EINVAL;
	struct text_lines la = {0}, lb = {0};
	struct edit *e = NULL;
	size_t ne = 0;
	int rc = split_lines(a, alen, &la);
	if (rc == 0)
		rc = split_lines(b, blen, &lb);
	if (rc == 0)
		rc = edit_script(&la, &lb, &e, &ne);
	struct dbuf d = {0};
	dbuf_add(&d, "", 0);
	bool any = false;
	for (size_t i = 0; rc == 0 && i < ne;) {
		size_t s = i;
		while (s < ne && e[s].op == ED_EQ)
			s++;
		if (s == ne)
			break;
		/* the hunk: from DIFF_CONTEXT before the first change to
		 * DIFF_CONTEXT after the last change that is separated from
		 * the next one by at most 2 * DIFF_CONTEXT equal lines */
		size_t hs = s > i + DIFF_CONTEXT ? s - DIFF_CONTEXT : i, last = s;
		for (size_t k = s; k < ne; k++) {
			if (e[k].op != ED_EQ) {
				last = k;
				continue;
			}
			if (k - last > 2 * DIFF_CONTEXT)
				break;
		}
		size_t he = last + 1 + DIFF_CONTEXT < ne ? last + 1 + DIFF_CONTEXT : ne;
		size_t ca = 0, cb = 0;
		for (size_t k = hs; k < he; k++) {
			ca += e[k].op != ED_INS;
			cb += e[k].op != ED_DEL;
		}
		if (!any) {
			dbuf_fmt(&d, "--- %s\n+++ %s\n", from_label, to_label);
			any = true;
		}
		dbuf_add(&d, "@@ ", 3);
		put_range(&d, '-', e[hs].a, ca);
		dbuf_add(&d, " ", 1);
		put_range(&d, '+', e[hs].b, cb);
		dbuf_add(&d, " @@\n", 4);
		for (size_t k = hs; k < he; k++) {
			if (e[k].op == ED_EQ)
				put_line(&d, ' ', &la.l[e[k].a]);
			else if (e[k].op == ED_DEL)
				put_line(&d, '-', &la.l[e[k].a]);
			else
				put_line(&d, '+', &lb.l[e[k].b]);
		}
		i = he;
	}
	free(e);
	free(la.l);
	free(lb.l);
	if (rc == 0 && d.failed)
		rc = -ENOMEM;
	if (rc < 0) {
		free(d.s);
		return rc;
	}
	*out = d.s;
	return 0;
}

int hnv_store_diff(struct hnv_store *s, unsigned from, unsigned to, char **out)
{
	if (s == NULL || out == NULL)
		return -EINVAL;
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	int rc = hnv_store_revision(s, from, &a, &alen);
	if (rc == 0)
		rc = hnv_store_revision(s, to, &b, &blen);
	char la[32], lb[32];
	snprintf(la, sizeof(la), "rev %u", from);
	snprintf(lb, sizeof(lb), "rev %u", to);
	if (rc == 0)
		rc = hnv_store_diff_text(a, alen, b, blen, la, lb, out);
	text_free(a, alen);
	text_free(b, blen);
	return rc;
}
