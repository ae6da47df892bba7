/* store.c: durable configuration with numbered revisions (store.h).
 *
 * Files live under the state directory, opened once and used through its
 * descriptor:
 *   hnvgw.conf                      the snapshot: the text of revision S
 *   hnvgw.journal                   revisions S+1..E as deltas over it
 *   revisions/NNNNNN.conf           revisions kept whole (at least 6 digits)
 *   revisions/SSSSSS-EEEEEE.journal an earlier journal, kept for history
 *   .tmp-*                          a write in progress (both directories)
 * Whole files are replaced atomically (hnv_write_atomic: a temp file made
 * 0600, written, fsync'ed and renamed over the target, the directory
 * fsync'ed; temp files are named .tmp-* and removed at open). The journal is the one file
 * written in place: a record is appended and fsync'ed, and a record that
 * does not check is where the journal ends.
 *
 * In memory the store holds the current text as indexed lines
 * (store_journal.h): the snapshot it read or wrote, with the journal's
 * records applied. That answers whether a del line is there without
 * reading anything, and load without reading the journal.
 *
 * The order of the steps, and what a crash between them leaves (open sorts
 * it out in recover()):
 *  - whole commit of revision N: revisions/N.conf; hnvgw.conf; the journal
 *    renamed into revisions/ (none left). Before hnvgw.conf: the journal
 *    still describes hnvgw.conf, N.conf is newer than its last record and
 *    is removed (the old revision). After: hnvgw.conf is not the journal's
 *    base but equals the newest N.conf (the new revision).
 *  - compaction at E: the same with N = E: a whole commit of the same
 *    revision, so either way the text is E's.
 *  - delta commit N: the journal created if there is none (temp file and
 *    rename), one record appended and fsync'ed: it is there whole or not.
 * hnvgw.conf edited by hand (its bytes are neither the journal's base nor
 * a newest revision) is no revision until the caller has validated it and
 * commits it (store.h): open leaves it in place, the newest revision
 * current.
 *
 * Texts hold PSKs: buffers this module frees are cleared first.
 */
#include "store.h"

#include "../lib/err.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "../lib/vec.h"
#include "store_journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF_NAME "hnvgw.conf"
#define JOURNAL_NAME "hnvgw.journal"
#define REV_DIR "revisions"
#define TMP_PREFIX ".tmp-"

/* What hnvgw.conf was when this process last wrote or read it. */
struct conf_id {
	bool known;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
};

struct hnv_store {
	int dfd, rfd;         /* the state directory and revisions/ */
	char *dir, *revdir;   /* their paths, for mkstemp */
	unsigned rev;         /* current revision, 0 before the first commit */
	struct hnv_lines cur; /* its text; cur.base is the snapshot */
	uint64_t snap_hash;   /* of cur.base */
	struct conf_id conf;
	/* hnvgw.journal: revisions jbase+1..jend over revision jbase */
	bool jexists;
	bool jstale; /* hnvgw.conf no longer is its base: retire it before
			any append */
	int jfd;     /* open for writing while jexists && !jstale, else -1 */
	unsigned jbase, jend;
	size_t jlen; /* its bytes up to the end of the last record */
};

/* Clears and frees a text that may hold PSKs. */
static void text_free(char *t, size_t len)
{
	if (t == NULL)
		return;
	explicit_bzero(t, len);
	free(t);
}

static bool same_text(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

static char *text_dup(const char *t, size_t len)
{
	char *c = malloc(len + 1);
	if (c != NULL) {
		if (len > 0)
			memcpy(c, t, len);
		c[len] = '\0';
	}
	return c;
}

/* ---- files ---- */

/* Reads dfd/name whole into a malloc'd NUL-terminated buffer; *st (if not
 * NULL) is the file's stat. */
static int read_at(int dfd, const char *name, char **text, size_t *len, struct stat *stp)
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
	else if (st.st_size > (off_t)HNV_STORE_FILE_MAX)
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
	if (stp != NULL)
		*stp = st;
	return 0;
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

/* ---- hnvgw.conf's identity ---- */

static void conf_id_set(struct conf_id *id, const struct stat *st)
{
	*id = (struct conf_id){true, st->st_dev, st->st_ino, st->st_size, st->st_mtim, st->st_ctim};
}

/* Records hnvgw.conf as it is now (after this process wrote it). */
static void conf_id_update(struct hnv_store *s)
{
	struct stat st;
	if (fstatat(s->dfd, CONF_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0)
		conf_id_set(&s->conf, &st);
	else
		s->conf.known = false;
}

static bool ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* 1 when hnvgw.conf still holds the snapshot: the same file, untouched
 * (O(1)), or else the same bytes (read once after a touch or a copy of the
 * same text). 0 when it differs: *text (if not NULL) is what it holds now.
 * A negative errno when it cannot be read (-ENOENT: it is gone). */
static int conf_check(struct hnv_store *s, char **text, size_t *len)
{
	struct stat st;
	if (s->conf.known && fstatat(s->dfd, CONF_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == s->conf.dev && st.st_ino == s->conf.ino && st.st_size == s->conf.size &&
	    ts_eq(st.st_mtim, s->conf.mtim) && ts_eq(st.st_ctim, s->conf.ctim))
		return 1;
	char *t;
	size_t n;
	int rc = read_at(s->dfd, CONF_NAME, &t, &n, &st);
	if (rc < 0)
		return rc;
	if (same_text(t, n, s->cur.base, s->cur.base_len)) {
		conf_id_set(&s->conf, &st);
		text_free(t, n);
		return 1;
	}
	if (text != NULL) {
		*text = t;
		*len = n;
	} else {
		text_free(t, n);
	}
	return 0;
}

/* ---- revision files ---- */

static void rev_name(unsigned rev, char *buf, size_t len)
{
	snprintf(buf, len, "%06u.conf", rev);
}

static void seg_name(unsigned base, unsigned end, char *buf, size_t len)
{
	snprintf(buf, len, "%06u-%06u.journal", base, end);
}

/* At least 6 digits at *p, below UINT_MAX; *p moves past them. */
static bool parse_num(const char **p, unsigned *out)
{
	size_t nd = strspn(*p, "0123456789");
	if (nd < 6)
		return false;
	unsigned long long v = 0;
	for (size_t i = 0; i < nd; i++) {
		v = v * 10 + (unsigned)((*p)[i] - '0');
		if (v >= UINT_MAX)
			return false;
	}
	*p += nd;
	*out = (unsigned)v;
	return true;
}

/* "NNNNNN.conf" (N >= 1): 1; "SSSSSS-EEEEEE.journal" (S < E): 2; in the
 * canonical spelling only; anything else 0. */
static int name_parse(const char *name, unsigned *a, unsigned *b)
{
	const char *p = name;
	char canon[64];
	if (!parse_num(&p, a))
		return 0;
	if (strcmp(p, ".conf") == 0) {
		rev_name(*a, canon, sizeof(canon));
		return *a >= 1 && strcmp(canon, name) == 0 ? 1 : 0;
	}
	if (*p++ != '-' || !parse_num(&p, b) || strcmp(p, ".journal") != 0 || *b <= *a)
		return 0;
	seg_name(*a, *b, canon, sizeof(canon));
	return strcmp(canon, name) == 0 ? 2 : 0;
}

struct seg {
	unsigned base, end; /* revisions base+1..end over revision base */
};

/* What revisions/ holds, sorted. */
struct catalog {
	unsigned *conf;
	size_t nconf, cconf;
	struct seg *seg;
	size_t nseg, cseg;
};

static void catalog_free(struct catalog *c)
{
	free(c->conf);
	free(c->seg);
	memset(c, 0, sizeof(*c));
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	return x->end != y->end ? (x->end < y->end ? -1 : 1) : cmp_uint(&x->base, &y->base);
}

static int catalog_read(struct hnv_store *s, struct catalog *c)
{
	memset(c, 0, sizeof(*c));
	int fd = openat(s->rfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	int rc = 0;
	for (struct dirent *de; rc == 0 && (de = readdir(d)) != NULL;) {
		unsigned a, b;
		int k = name_parse(de->d_name, &a, &b);
		if (k == 1 && (rc = HNV_GROW(c->conf, c->cconf, c->nconf + 1)) == 0)
			c->conf[c->nconf++] = a;
		if (k == 2 && (rc = HNV_GROW(c->seg, c->cseg, c->nseg + 1)) == 0)
			c->seg[c->nseg++] = (struct seg){a, b};
	}
	closedir(d);
	if (rc < 0) {
		catalog_free(c);
		return rc;
	}
	if (c->nconf > 1)
		qsort(c->conf, c->nconf, sizeof(*c->conf), cmp_uint);
	if (c->nseg > 1)
		qsort(c->seg, c->nseg, sizeof(*c->seg), cmp_seg);
	return 0;
}

/* How many of lo..hi are kept whole. */
static size_t confs_in(const struct catalog *c, unsigned lo, unsigned hi)
{
	size_t n = 0;
	for (size_t i = 0; i < c->nconf; i++)
		n += c->conf[i] >= lo && c->conf[i] <= hi;
	return n;
}

/* Revision 0 is the empty text; any other base must be kept whole. */
static bool base_ok(const struct catalog *c, unsigned base)
{
	return base == 0 || confs_in(c, base, base) == 1;
}

enum src_kind {
	SRC_NONE,
	SRC_CONF,    /* revisions/N.conf */
	SRC_SEG,     /* a journal in revisions/ */
	SRC_JOURNAL, /* hnvgw.journal */
};

struct src {
	enum src_kind kind;
	unsigned base, end;
};

/* Where the text of revision r is. */
static struct src locate(const struct hnv_store *s, const struct catalog *c, unsigned r)
{
	if (r == 0)
		return (struct src){SRC_NONE, 0, 0};
	if (confs_in(c, r, r) == 1)
		return (struct src){SRC_CONF, r, r};
	if (s->jexists && s->jbase < r && r <= s->jend && base_ok(c, s->jbase))
		return (struct src){SRC_JOURNAL, s->jbase, s->jend};
	for (size_t i = c->nseg; i-- > 0;)
		if (c->seg[i].base < r && r <= c->seg[i].end && base_ok(c, c->seg[i].base))
			return (struct src){SRC_SEG, c->seg[i].base, c->seg[i].end};
	return (struct src){SRC_NONE, 0, 0};
}

struct span {
	unsigned lo, hi;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->lo != y->lo ? (x->lo < y->lo ? -1 : 1) : 0;
}

/* The kept revisions: the newest HNV_STORE_KEEP numbers that have a text,
 * oldest first, into w (room for HNV_STORE_KEEP). */
static int window(const struct hnv_store *s, const struct catalog *c, unsigned *w, size_t *nw)
{
	struct span *sp = malloc((c->nconf + c->nseg + 1) * sizeof(*sp));
	if (sp == NULL)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < c->nconf; i++)
		sp[n++] = (struct span){c->conf[i], c->conf[i]};
	for (size_t i = 0; i < c->nseg; i++)
		if (base_ok(c, c->seg[i].base))
			sp[n++] = (struct span){c->seg[i].base + 1, c->seg[i].end};
	if (s->jexists && s->jend > s->jbase && base_ok(c, s->jbase))
		sp[n++] = (struct span){s->jbase + 1, s->jend};
	qsort(sp, n, sizeof(*sp), cmp_span);
	/* merged into disjoint spans, then taken from the top down */
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && sp[i].lo <= sp[m - 1].hi + 1) {
			if (sp[i].hi > sp[m - 1].hi)
				sp[m - 1].hi = sp[i].hi;
		} else {
			sp[m++] = sp[i];
		}
	}
	unsigned tmp[HNV_STORE_KEEP];
	size_t k = 0;
	for (size_t i = m; i-- > 0 && k < HNV_STORE_KEEP;)
		for (unsigned r = sp[i].hi; k < HNV_STORE_KEEP; r--) {
			tmp[k++] = r;
			if (r == sp[i].lo)
				break;
		}
	free(sp);
	for (size_t i = 0; i < k; i++)
		w[i] = tmp[k - 1 - i];
	*nw = k;
	return 0;
}

/* Revision r from a journal file (dfd/name) over the text of revision base,
 * which it names in its header. */
static int replay_file(struct hnv_store *s, unsigned base, int dfd, const char *name, unsigned r,
		       char **text, size_t *len)
{
	char *bt, *jb = NULL, bn[32];
	size_t bl = 0, jl = 0;
	int rc = 0;
	if (base == 0) {
		bt = text_dup("", 0);
		rc = bt ? 0 : -ENOMEM;
	} else {
		rev_name(base, bn, sizeof(bn));
		rc = read_at(s->rfd, bn, &bt, &bl, NULL);
	}
	if (rc < 0)
		return rc;
	struct hnv_journal_hdr h;
	rc = read_at(dfd, name, &jb, &jl, NULL);
	if (rc == 0 && (hnv_journal_hdr_decode(jb, jl, &h) < 0 || h.base_rev != base ||
			h.base_len != bl || h.base_hash != hnv_store_hash(bt, bl)))
		rc = -EIO;
	if (rc < 0) {
		text_free(bt, bl);
		text_free(jb, jl);
		return rc;
	}
	struct hnv_lines l;
	rc = hnv_lines_init(&l, bt, bl);
	unsigned last = base;
	size_t end;
	if (rc == 0)
		rc = hnv_journal_replay(&l, jb, jl, HNV_JOURNAL_HDR_LEN, base, r, &last, &end);
	if (rc == 0)
		rc = last == r ? hnv_lines_text(&l, NULL, 0, text, len) : -EIO;
	hnv_lines_free(&l);
	text_free(jb, jl);
	return rc;
}

/* The text of revision r (kept or not), or -ENOENT. */
static int text_of(struct hnv_store *s, const struct catalog *c, unsigned r, char **text,
		   size_t *len)
{
	struct src w = locate(s, c, r);
	char name[64];
	switch (w.kind) {
	case SRC_CONF:
		rev_name(r, name, sizeof(name));
		return read_at(s->rfd, name, text, len, NULL);
	case SRC_JOURNAL:
		if (r == s->rev && !s->jstale)
			return hnv_lines_text(&s->cur, NULL, 0, text, len);
		return replay_file(s, w.base, s->dfd, JOURNAL_NAME, r, text, len);
	case SRC_SEG:
		seg_name(w.base, w.end, name, sizeof(name));
		return replay_file(s, w.base, s->rfd, name, r, text, len);
	case SRC_NONE:
		break;
	}
	return -ENOENT;
}

/* Deletes what no kept revision needs: revisions before the newest
 * HNV_STORE_KEEP, except the whole text and the journal an older kept one
 * is replayed from, and the journal's base. */
static int prune(struct hnv_store *s)
{
	struct catalog c;
	int rc = catalog_read(s, &c);
	if (rc < 0)
		return rc;
	unsigned w[HNV_STORE_KEEP];
	size_t nw;
	rc = window(s, &c, w, &nw);
	bool *need_base = calloc(c.nseg + 1, sizeof(*need_base));
	if (rc == 0 && need_base == NULL)
		rc = -ENOMEM;
	if (rc < 0 || nw == 0) {
		free(need_base);
		catalog_free(&c);
		return rc;
	}
	unsigned k0 = w[0];
	bool removed = false;
	char name[64];
	for (size_t i = 0; i < c.nseg; i++) {
		struct seg g = c.seg[i];
		unsigned lo = g.base + 1 > k0 ? g.base + 1 : k0;
		/* needed while a kept revision in it has no whole copy */
		if (g.end >= k0 && base_ok(&c, g.base) &&
		    confs_in(&c, lo, g.end) < g.end - lo + 1) {
			need_base[i] = true;
			continue;
		}
		seg_name(g.base, g.end, name, sizeof(name));
		if (unlinkat(s->rfd, name, 0) < 0 && rc == 0)
			rc = -errno;
		removed = true;
	}
	for (size_t i = 0; i < c.nconf; i++) {
		unsigned x = c.conf[i];
		bool keep = x >= k0 || (s->jexists && x == s->jbase);
		for (size_t j = 0; j < c.nseg && !keep; j++)
			keep = need_base[j] && c.seg[j].base == x;
		if (keep)
			continue;
		rev_name(x, name, sizeof(name));
		if (unlinkat(s->rfd, name, 0) < 0 && rc == 0)
			rc = -errno;
		removed = true;
	}
	if (removed && fsync(s->rfd) < 0 && rc == 0)
		rc = -errno;
	free(need_base);
	catalog_free(&c);
	return rc;
}

/* ---- the journal ---- */

/* Moves hnvgw.journal into revisions/ as history (or deletes it when it
 * holds no record): hnvgw.conf no longer is its base. */
static int retire_journal(struct hnv_store *s)
{
	if (!s->jexists)
		return 0;
	if (s->jfd >= 0) {
		close(s->jfd);
		s->jfd = -1;
	}
	char name[64];
	seg_name(s->jbase, s->jend, name, sizeof(name));
	int rc = s->jend > s->jbase ? renameat(s->dfd, JOURNAL_NAME, s->rfd, name)
				    : unlinkat(s->dfd, JOURNAL_NAME, 0);
	if (rc < 0 && errno != ENOENT)
		return -errno;
	s->jexists = s->jstale = false;
	s->jlen = 0;
	if (fsync(s->rfd) < 0 || fsync(s->dfd) < 0)
		return -errno;
	return 0;
}

/* Starts hnvgw.journal over the snapshot (revision s->rev, which must be
 * kept whole for the journal's revisions to be read back). */
static int journal_create(struct hnv_store *s)
{
	char name[32];
	rev_name(s->rev, name, sizeof(name));
	int rc = 0;
	if (s->rev > 0 && faccessat(s->rfd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		rc = hnv_write_atomic(s->revdir, name, s->cur.base, s->cur.base_len, 0600,
				      TMP_PREFIX);
	unsigned char hdr[HNV_JOURNAL_HDR_LEN];
	struct hnv_journal_hdr h = {s->rev, s->cur.base_len, s->snap_hash};
	hnv_journal_hdr_encode(&h, hdr);
	if (rc == 0)
		rc = hnv_write_atomic(s->dir, JOURNAL_NAME, hdr, sizeof(hdr), 0600, TMP_PREFIX);
	if (rc < 0)
		return rc;
	int fd = openat(s->dfd, JOURNAL_NAME, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	s->jfd = fd;
	s->jexists = true;
	s->jstale = false;
	s->jbase = s->jend = s->rev;
	s->jlen = sizeof(hdr);
	return 0;
}

/* Appends one record and makes it durable; on failure the journal is cut
 * back to where it ended. */
static int journal_append(struct hnv_store *s, const char *rec, size_t len)
{
	/* at the end of the last good record: over what a failed append may
	 * have left */
	int rc = lseek(s->jfd, (off_t)s->jlen, SEEK_SET) < 0 ? -errno : 0;
	if (rc == 0)
		rc = hnv_write_all(s->jfd, rec, len);
	if (rc == 0 && fdatasync(s->jfd) < 0)
		rc = -errno;
	if (rc < 0 && ftruncate(s->jfd, (off_t)s->jlen) == 0)
		fdatasync(s->jfd);
	if (rc == 0)
		s->jlen += len;
	return rc;
}

/* ---- whole commits ---- */

/* Makes text (malloc'd; taken over, also on failure) revision rev:
 * revisions/rev.conf, then hnvgw.conf, then the journal retired; undoes
 * the revision file if hnvgw.conf cannot be written. With rev == s->rev
 * this is a compaction. */
static int commit_whole(struct hnv_store *s, unsigned rev, char *text, size_t len)
{
	struct hnv_lines nl;
	uint64_t h = hnv_store_hash(text, len);
	int rc = hnv_lines_init(&nl, text, len);
	if (rc < 0)
		return rc;
	char name[32];
	rev_name(rev, name, sizeof(name));
	rc = hnv_write_atomic(s->revdir, name, text, len, 0600, TMP_PREFIX);
	if (rc < 0) {
		hnv_lines_free(&nl);
		return rc;
	}
	rc = hnv_write_atomic(s->dir, CONF_NAME, text, len, 0600, TMP_PREFIX);
	if (rc < 0) {
		if (rev != s->rev) {
			unlinkat(s->rfd, name, 0);
			fsync(s->rfd);
		}
		hnv_lines_free(&nl);
		return rc;
	}
	hnv_lines_free(&s->cur);
	s->cur = nl;
	s->snap_hash = h;
	s->rev = rev;
	conf_id_update(s);
	/* hnvgw.conf holds the whole text: the journal becomes history. If
	 * that fails, the commit stands; the journal is retired before the
	 * next append. */
	s->jstale = s->jexists;
	retire_journal(s);
	/* a revision too many is no failure of the commit: the next prune
	 * retries */
	prune(s);
	return 0;
}

/* Writes the current text whole: hnvgw.conf is up to date, the journal
 * empty. */
static int compact(struct hnv_store *s)
{
	char *t;
	size_t n;
	int rc = hnv_lines_text(&s->cur, NULL, 0, &t, &n);
	return rc < 0 ? rc : commit_whole(s, s->rev, t, n);
}

/* ---- open: recovery ---- */

/* Takes text (malloc'd) as the current text and snapshot. */
static int adopt(struct hnv_store *s, char *text, size_t len)
{
	uint64_t h = hnv_store_hash(text, len);
	hnv_lines_free(&s->cur);
	int rc = hnv_lines_init(&s->cur, text, len);
	if (rc == 0) {
		s->snap_hash = h;
		conf_id_update(s);
	}
	return rc;
}

/* Takes text (malloc'd), the current revision's, as the current text while
 * hnvgw.conf holds something else: a hand edit, which becomes a revision
 * only when the caller has validated it (store.h). */
static int adopt_edited(struct hnv_store *s, char *text, size_t len)
{
	int rc = adopt(s, text, len);
	s->conf.known = false;
	return rc;
}

/* Without a journal: makes hnvgw.conf (conf, clen; missing) and the newest
 * revision N agree after a crash or a hand edit:
 *   conf equals N                              -> current is N;
 *   conf equals N-1 (or is missing and N is 1) -> N's commit never
 *                                                  completed: N is removed;
 *   conf missing otherwise                     -> restored from N;
 *   conf differs from every case above         -> an edit: current is N,
 *                                                  hnvgw.conf stays as it is.
 * Takes conf over. */
static int reconcile(struct hnv_store *s, char *conf, size_t clen, bool missing)
{
	char *newest = NULL, *prev = NULL;
	size_t nlen = 0, plen = 0;
	struct catalog c;
	unsigned w[HNV_STORE_KEEP];
	size_t n = 0;
	int rc = catalog_read(s, &c);
	if (rc == 0)
		rc = window(s, &c, w, &n);
	if (rc < 0)
		goto out;
	if (n == 0) {
		s->rev = 0;
		if (clen > 0) {
			char *empty = text_dup("", 0);
			rc = empty ? adopt_edited(s, empty, 0) : -ENOMEM;
		} else {
			rc = adopt(s, conf, 0);
			conf = NULL;
		}
		goto out;
	}
	unsigned top = w[n - 1];
	rc = text_of(s, &c, top, &newest, &nlen);
	if (rc < 0)
		goto out;
	if (!missing && same_text(conf, clen, newest, nlen)) {
		s->rev = top;
		rc = adopt(s, conf, clen);
		conf = NULL;
		goto out;
	}
	bool have_prev = n >= 2 && w[n - 2] == top - 1;
	if (have_prev && (rc = text_of(s, &c, top - 1, &prev, &plen)) < 0)
		goto out;
	bool top_whole = locate(s, &c, top).kind == SRC_CONF;
	if (top_whole && ((have_prev && !missing && same_text(conf, clen, prev, plen)) ||
			  (missing && top == 1 && n == 1))) {
		char name[32];
		rev_name(top, name, sizeof(name));
		if (unlinkat(s->rfd, name, 0) < 0 || fsync(s->rfd) < 0) {
			rc = -errno;
			goto out;
		}
		s->rev = have_prev ? top - 1 : 0;
		rc = adopt(s, conf, clen);
		conf = NULL;
		goto out;
	}
	if (missing) {
		rc = hnv_write_atomic(s->dir, CONF_NAME, newest, nlen, 0600, TMP_PREFIX);
		if (rc == 0) {
			s->rev = top;
			rc = adopt(s, newest, nlen);
			newest = NULL;
		}
		goto out;
	}
	s->rev = top;
	rc = adopt_edited(s, newest, nlen);
	newest = NULL;
out:
	text_free(conf, clen);
	text_free(newest, nlen);
	text_free(prev, plen);
	catalog_free(&c);
	return rc;
}

/* Removes revision files numbered above rev: commits that never
 * completed. */
static int drop_above(struct hnv_store *s, unsigned rev)
{
	struct catalog c;
	int rc = catalog_read(s, &c);
	if (rc < 0)
		return rc;
	char name[64];
	bool removed = false;
	for (size_t i = 0; i < c.nconf; i++)
		if (c.conf[i] > rev) {
			rev_name(c.conf[i], name, sizeof(name));
			if (unlinkat(s->rfd, name, 0) < 0 && rc == 0)
				rc = -errno;
			removed = true;
		}
	for (size_t i = 0; i < c.nseg; i++)
		if (c.seg[i].end > rev) {
			seg_name(c.seg[i].base, c.seg[i].end, name, sizeof(name));
			if (unlinkat(s->rfd, name, 0) < 0 && rc == 0)
				rc = -errno;
			removed = true;
		}
	catalog_free(&c);
	if (removed && fsync(s->rfd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* Cuts the journal (open as fd) after its last good record. */
static int cut_tail(struct hnv_store *s, int fd, size_t end, size_t len)
{
	if (end == len)
		return 0;
	hnv_log(HNV_LOG_WARNING,
		"%s/" JOURNAL_NAME ": %zu bytes after revision %u are not whole records that "
		"apply (an interrupted write, or damage): dropped",
		s->dir, len - end, s->jend);
	if (ftruncate(fd, (off_t)end) < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

/* The journal describes hnvgw.conf (conf): the current text is conf with
 * its records applied. */
static int recover_replay(struct hnv_store *s, const struct hnv_journal_hdr *h, const char *jb,
			  size_t jl, char *conf, size_t clen)
{
	int fd = openat(s->dfd, JOURNAL_NAME, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		text_free(conf, clen);
		return -errno;
	}
	int rc = adopt(s, conf, clen);
	unsigned last = h->base_rev;
	size_t end = HNV_JOURNAL_HDR_LEN;
	if (rc == 0)
		rc = hnv_journal_replay(&s->cur, jb, jl, HNV_JOURNAL_HDR_LEN, h->base_rev, UINT_MAX,
					&last, &end);
	s->rev = s->jend = last;
	if (rc == 0)
		rc = cut_tail(s, fd, end, jl);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	s->jfd = fd;
	s->jlen = end;
	/* a whole commit newer than the journal wrote its revision but not
	 * hnvgw.conf */
	rc = drop_above(s, last);
	char name[32];
	rev_name(h->base_rev, name, sizeof(name));
	if (rc == 0 && h->base_rev > 0 && faccessat(s->rfd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		rc = hnv_write_atomic(s->revdir, name, s->cur.base, s->cur.base_len, 0600,
				      TMP_PREFIX);
	return rc;
}

/* The journal does not describe hnvgw.conf (conf; or it is missing). */
static int recover_other(struct hnv_store *s, const struct hnv_journal_hdr *h, const char *jb,
			 size_t jl, char *conf, size_t clen, bool missing)
{
	/* which records are whole: they are committed revisions */
	unsigned last = h->base_rev;
	size_t end = HNV_JOURNAL_HDR_LEN;
	for (size_t o = end;;) {
		struct hnv_journal_rec r;
		int k = hnv_journal_rec_decode(jb, jl, &o, &r);
		if (k < 0 && k != -EBADMSG) {
			text_free(conf, clen);
			return k;
		}
		if (k <= 0)
			break;
		bool next = r.rev == last + 1;
		hnv_journal_rec_free(&r);
		if (!next)
			break;
		last++;
		end = o;
	}
	s->jend = last;
	s->jstale = true;
	int fd = openat(s->dfd, JOURNAL_NAME, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	int rc = fd < 0 ? -errno : cut_tail(s, fd, end, jl);
	if (fd >= 0)
		close(fd);
	struct catalog c;
	if (rc == 0)
		rc = catalog_read(s, &c);
	if (rc < 0) {
		text_free(conf, clen);
		return rc;
	}
	unsigned top = c.nconf ? c.conf[c.nconf - 1] : 0;
	char *t = NULL;
	size_t tl = 0;
	if (top >= last)
		rc = text_of(s, &c, top, &t, &tl);
	catalog_free(&c);
	if (rc < 0) {
		text_free(conf, clen);
		return rc;
	}
	if (t != NULL && (missing || same_text(conf, clen, t, tl))) {
		/* a whole commit (or compaction) of top completed hnvgw.conf but
		 * did not retire the journal; or hnvgw.conf is gone and top is
		 * the newest revision */
		if (missing &&
		    (rc = hnv_write_atomic(s->dir, CONF_NAME, t, tl, 0600, TMP_PREFIX)) < 0) {
			text_free(t, tl);
			return rc;
		}
		text_free(conf, clen);
		s->rev = top;
		rc = adopt(s, t, tl);
		return rc == 0 ? retire_journal(s) : rc;
	}
	text_free(t, tl);
	if (missing) {
		/* hnvgw.conf is gone: the journal's last revision, written
		 * whole (read from the journal file: jstale) */
		text_free(conf, clen);
		s->rev = last;
		rc = catalog_read(s, &c);
		if (rc == 0)
			rc = text_of(s, &c, last, &t, &tl);
		catalog_free(&c);
		if (rc == 0)
			rc = commit_whole(s, last, t, tl);
		return rc;
	}
	/* edited by hand: the current revision is the newest one, the edit
	 * stays in hnvgw.conf for the caller to validate (store.h); the
	 * journal becomes history before anything is appended */
	text_free(conf, clen);
	unsigned cur = top > last ? top : last;
	if (last > h->base_rev)
		hnv_log(HNV_LOG_WARNING,
			"%s/" CONF_NAME " was edited by hand while revisions %u to %u were in "
			"the journal only: the edited file does not hold them",
			s->dir, h->base_rev + 1, last);
	rc = catalog_read(s, &c);
	if (rc == 0)
		rc = text_of(s, &c, cur, &t, &tl);
	catalog_free(&c);
	if (rc < 0)
		return rc;
	s->rev = cur;
	return adopt_edited(s, t, tl);
}

/* Brings the state directory to one consistent revision (see the top of
 * this file) and loads its text. */
static int recover(struct hnv_store *s, char *err, size_t errlen)
{
	char *conf = NULL, *jb = NULL;
	size_t clen = 0, jl = 0;
	int rc = read_at(s->dfd, CONF_NAME, &conf, &clen, NULL);
	bool missing = rc == -ENOENT;
	if (missing) {
		conf = text_dup("", 0);
		rc = conf ? 0 : -ENOMEM;
	}
	if (rc == 0)
		rc = read_at(s->dfd, JOURNAL_NAME, &jb, &jl, NULL);
	if (rc == -ENOENT) {
		rc = reconcile(s, conf, clen, missing);
		conf = NULL;
	} else if (rc == 0) {
		struct hnv_journal_hdr h;
		if (hnv_journal_hdr_decode(jb, jl, &h) < 0) {
			text_free(jb, jl);
			text_free(conf, clen);
			hnv_seterr(err, errlen,
				   "%s/" JOURNAL_NAME
				   " is not a journal (bad header); move it away "
				   "to start from " CONF_NAME,
				   s->dir);
			return -EBADMSG;
		}
		s->jexists = true;
		s->jbase = s->jend = h.base_rev;
		if (!missing && h.base_len == clen && h.base_hash == hnv_store_hash(conf, clen))
			rc = recover_replay(s, &h, jb, jl, conf, clen);
		else
			rc = recover_other(s, &h, jb, jl, conf, clen, missing);
		conf = NULL;
	}
	text_free(conf, clen);
	text_free(jb, jl);
	if (rc < 0)
		hnv_seterr(err, errlen, "cannot recover %s/" CONF_NAME ": %s", s->dir,
			   strerror(-rc));
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

static void store_free(struct hnv_store *s)
{
	if (s->jfd >= 0)
		close(s->jfd);
	if (s->rfd >= 0)
		close(s->rfd);
	if (s->dfd >= 0)
		close(s->dfd); /* releases the lock */
	hnv_lines_free(&s->cur);
	free(s->dir);
	free(s->revdir);
	free(s);
}

void hnv_store_close(struct hnv_store *s)
{
	if (s == NULL)
		return;
	/* hnvgw.conf up to date while hnvgwd is stopped; a failure leaves
	 * the journal, which the next open reads */
	if (s->jexists && s->jstale)
		retire_journal(s);
	else if (s->jexists && s->jend > s->jbase && s->rev == s->jend)
		compact(s);
	store_free(s);
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
	s->dfd = s->rfd = s->jfd = -1;
	s->cur.nonl = HNV_LINES_NONE;
	s->dir = strdup(dir);
	if (s->dir == NULL || asprintf(&s->revdir, "%s/" REV_DIR, dir) < 0) {
		s->revdir = NULL;
		store_free(s);
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
	if (rc == 0)
		rc = recover(s, err, errlen);
	if (rc == 0)
		rc = prune(s);
	if (rc < 0) {
		store_free(s);
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
	char *t = NULL;
	size_t n = 0;
	int rc = conf_check(s, &t, &n);
	if (rc == 1) {
		rc = hnv_lines_text(&s->cur, NULL, 0, &t, &n);
	} else if (rc == 0 && s->jexists && !s->jstale && s->jend > s->jbase) {
		hnv_log(HNV_LOG_WARNING,
			"%s/" CONF_NAME " was changed by hand while revisions %u to %u were "
			"in the journal only: the edited file does not hold them",
			s->dir, s->jbase + 1, s->jend);
	} else if (rc == -ENOENT && s->rev == 0) {
		t = text_dup("", 0);
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

int hnv_store_current(struct hnv_store *s, char **text, size_t *len, unsigned *rev)
{
	if (s == NULL || text == NULL || len == NULL)
		return -EINVAL;
	int rc = hnv_lines_text(&s->cur, NULL, 0, text, len);
	if (rc == 0 && rev)
		*rev = s->rev;
	return rc;
}

int hnv_store_commit(struct hnv_store *s, const char *text, size_t len, unsigned *rev)
{
	if (s == NULL || (text == NULL && len > 0))
		return -EINVAL;
	if (len > HNV_STORE_FILE_MAX)
		return -EFBIG;
	struct catalog c;
	int rc = catalog_read(s, &c);
	if (rc < 0)
		return rc;
	unsigned next = (c.nconf ? c.conf[c.nconf - 1] : 0) + 1;
	if (c.nseg > 0 && c.seg[c.nseg - 1].end >= next)
		next = c.seg[c.nseg - 1].end + 1;
	catalog_free(&c);
	if (next < s->rev + 1)
		next = s->rev + 1;
	if (next >= UINT_MAX)
		return -EOVERFLOW;
	char *copy = text_dup(text ? text : "", len);
	if (copy == NULL)
		return -ENOMEM;
	rc = commit_whole(s, next, copy, len);
	if (rc == 0 && rev)
		*rev = next;
	return rc;
}

/* The delta as one record at the end of the journal; compacts when the
 * journal has grown beyond its share of hnvgw.conf. The dels are taken
 * (pops); undone on failure. */
static int commit_journal(struct hnv_store *s, const struct hnv_span *del, size_t ndel,
			  const struct hnv_span *add, size_t nadd, uint32_t *pops)
{
	char *rec = NULL;
	size_t rlen = 0;
	unsigned next = s->rev + 1;
	int rc = hnv_journal_rec_encode(next, del, ndel, add, nadd, &rec, &rlen);
	if (rc == 0)
		rc = hnv_lines_reserve(&s->cur, add, nadd);
	if (rc == 0 && !s->jexists)
		rc = journal_create(s);
	if (rc == 0)
		rc = journal_append(s, rec, rlen);
	text_free(rec, rlen);
	if (rc < 0) {
		hnv_lines_untake(&s->cur, pops, ndel);
		return rc;
	}
	hnv_lines_append(&s->cur, add, nadd);
	s->rev = s->jend = next;
	/* the commit stands whether or not these succeed; both are retried
	 * by later commits */
	if (s->jlen - HNV_JOURNAL_HDR_LEN > s->cur.base_len / HNV_STORE_JOURNAL_FRACTION)
		compact(s);
	else
		prune(s);
	return 0;
}

static int commit_delta(struct hnv_store *s, const struct hnv_span *del, size_t ndel,
			const struct hnv_span *add, size_t nadd, uint32_t *pops)
{
	if (s->jstale) {
		int rc = retire_journal(s);
		if (rc < 0)
			return rc;
	}
	/* a hand edit hnvgwd has not loaded is overwritten, as by
	 * hnv_store_commit */
	int chk = conf_check(s, NULL, NULL);
	int rc = hnv_lines_take(&s->cur, del, ndel, pops);
	if (rc < 0)
		return rc;
	size_t len = hnv_lines_len_plus(&s->cur, add, nadd);
	size_t rlen = 16 + 12;
	for (size_t i = 0; i < ndel + nadd; i++)
		rlen += 4 + (i < ndel ? del[i].len : add[i - ndel].len);
	if (len > HNV_STORE_FILE_MAX) {
		hnv_lines_untake(&s->cur, pops, ndel);
		return -EFBIG;
	}
	if (chk == 1 && len > HNV_STORE_DELTA_MIN && s->jlen + rlen <= HNV_STORE_FILE_MAX)
		return commit_journal(s, del, ndel, add, nadd, pops);
	char *t;
	size_t n;
	rc = hnv_lines_text(&s->cur, add, nadd, &t, &n);
	hnv_lines_untake(&s->cur, pops, ndel);
	return rc < 0 ? rc : commit_whole(s, s->rev + 1, t, n);
}

int hnv_store_commit_delta(struct hnv_store *s, const char *const *del, size_t ndel,
			   const char *const *add, size_t nadd, unsigned *rev)
{
	if (s == NULL || (del == NULL && ndel > 0) || (add == NULL && nadd > 0) ||
	    ndel > UINT32_MAX || nadd > UINT32_MAX)
		return -EINVAL;
	if (s->rev >= UINT_MAX - 1)
		return -EOVERFLOW;
	struct hnv_span *sp = malloc((ndel + nadd + 1) * sizeof(*sp));
	uint32_t *pops = malloc((ndel + 1) * sizeof(*pops));
	int rc = sp && pops ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < ndel + nadd; i++) {
		const char *l = i < ndel ? del[i] : add[i - ndel];
		if (l == NULL || strchr(l, '\n') != NULL)
			rc = -EINVAL;
		else
			sp[i] = (struct hnv_span){l, strlen(l)};
	}
	if (rc == 0)
		rc = commit_delta(s, sp, ndel, sp + ndel, nadd, pops);
	free(sp);
	free(pops);
	if (rc == 0 && rev)
		*rev = s->rev;
	return rc;
}

int hnv_store_revision(struct hnv_store *s, unsigned rev, char **text, size_t *len)
{
	if (s == NULL || text == NULL || len == NULL || rev == 0 || rev >= UINT_MAX)
		return rev == 0 ? -ENOENT : -EINVAL;
	struct catalog c;
	unsigned w[HNV_STORE_KEEP];
	size_t n = 0;
	int rc = catalog_read(s, &c);
	if (rc < 0)
		return rc;
	rc = window(s, &c, w, &n);
	if (rc == 0)
		rc = n > 0 && rev >= w[0] && bsearch(&rev, w, n, sizeof(*w), cmp_uint)
			     ? text_of(s, &c, rev, text, len)
			     : -ENOENT;
	catalog_free(&c);
	return rc;
}

int hnv_store_revisions(struct hnv_store *s, unsigned **revs, size_t *n)
{
	if (s == NULL || revs == NULL || n == NULL)
		return -EINVAL;
	struct catalog c;
	int rc = catalog_read(s, &c);
	if (rc < 0)
		return rc;
	unsigned *w = malloc(HNV_STORE_KEEP * sizeof(*w));
	rc = w ? window(s, &c, w, n) : -ENOMEM;
	catalog_free(&c);
	if (rc < 0) {
		free(w);
		return rc;
	}
	*revs = w;
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
