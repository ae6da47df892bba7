/* fuzz_store_journal.c: libFuzzer harness for the store's journal, which
 * hnv_store_open reads from disk (mgmt/store.c, mgmt/store_journal.c).
 *
 * The first input byte picks how the rest becomes hnvgw.journal:
 *   bit 1 set: the rest is the whole file, header included;
 *   else a valid header over hnvgw.conf, then, with bit 0 set, records
 *   made from the rest as (u32 body_len, body) pieces with their magic and
 *   checksum filled in (so the fuzzer reaches the bodies), a short last
 *   piece left torn; with bit 0 clear, the rest as it is.
 * Checks:
 * 1. hnv_journal_replay on the records equals a plain reimplementation
 *    (first occurrence removed, lines appended) record by record.
 * 2. hnv_store_open on a state directory holding hnvgw.conf, its revision
 *    and that journal either refuses with a message or loads exactly the
 *    text and revision of check 1 (a bad tail dropped), lists revisions
 *    ending there, answers that revision with the same text; after close
 *    (which compacts) a second open loads the same again.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../mgmt/store.h"
#include "../../mgmt/store_journal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

/* The text of revision 1; its last line has no newline. */
static const char BASE[] = "a\nb\na\nc\nroute add --rdomain blue --prefix 10.0.0.0/8\n\nlast";
#define BASE_REV 1

static const char *tmp_parent; /* tmpfs when there is one */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	tmp_parent = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	return 0;
}

static void put32(unsigned char *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* hnvgw.journal's bytes for this input (malloc'd). */
static unsigned char *journal_image(const uint8_t *buf, size_t len, size_t *out_len)
{
	unsigned mode = len ? buf[0] : 0;
	buf += len > 0;
	len -= len > 0;
	/* a piece of 4 + n bytes becomes a record of 16 + n */
	unsigned char *j = malloc(HNV_JOURNAL_HDR_LEN + 4 * len + 64), *o = j;
	if (j == NULL)
		abort();
	if (mode & 2) {
		memcpy(j, buf, len);
		*out_len = len;
		return j;
	}
	struct hnv_journal_hdr h = {BASE_REV, sizeof(BASE) - 1,
				    hnv_store_hash(BASE, sizeof(BASE) - 1)};
	hnv_journal_hdr_encode(&h, o);
	o += HNV_JOURNAL_HDR_LEN;
	if (!(mode & 1)) {
		memcpy(o, buf, len);
		*out_len = HNV_JOURNAL_HDR_LEN + len;
		return j;
	}
	for (size_t i = 0; i < len;) {
		size_t body = len - i >= 4 ? get32(buf + i) : 0;
		if (len - i < 4 || body > len - i - 4) {
			/* torn: the piece as it is */
			memcpy(o, buf + i, len - i);
			o += len - i;
			break;
		}
		unsigned char *rec = o;
		memcpy(o, "HNVR", 4);
		put32(o + 4, (uint32_t)body);
		memcpy(o + 8, buf + i + 4, body);
		o += 8 + body;
		uint64_t c = hnv_store_hash(rec, 8 + body);
		for (int k = 0; k < 8; k++)
			*o++ = (unsigned char)(c >> (8 * k));
		i += 4 + body;
	}
	*out_len = (size_t)(o - j);
	return j;
}

/* ---- check 1: the plain reimplementation ---- */

struct plain {
	char **line; /* NULL when removed */
	size_t *len;
	bool *nl;
	size_t n, cap;
};

static void plain_add(struct plain *p, const char *s, size_t len, bool nl)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->line = realloc(p->line, p->cap * sizeof(*p->line));
		p->len = realloc(p->len, p->cap * sizeof(*p->len));
		p->nl = realloc(p->nl, p->cap * sizeof(*p->nl));
		if (!p->line || !p->len || !p->nl)
			abort();
	}
	p->line[p->n] = malloc(len + 1);
	memcpy(p->line[p->n], s, len);
	p->len[p->n] = len;
	p->nl[p->n++] = nl;
}

static void plain_free(struct plain *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->line[i]);
	free(p->line);
	free(p->len);
	free(p->nl);
}

/* Applies rec; false (p unchanged) when a del line is missing. */
static bool plain_apply(struct plain *p, const struct hnv_journal_rec *r)
{
	size_t *gone = malloc((r->ndel + 1) * sizeof(*gone));
	for (size_t d = 0; d < r->ndel; d++) {
		size_t i = 0;
		for (; i < p->n; i++) {
			bool taken = false;
			for (size_t k = 0; k < d; k++)
				taken |= gone[k] == i;
			if (!taken && p->line[i] && p->len[i] == r->line[d].len &&
			    memcmp(p->line[i], r->line[d].p, p->len[i]) == 0)
				break;
		}
		if (i == p->n) {
			free(gone);
			return false;
		}
		gone[d] = i;
	}
	for (size_t d = 0; d < r->ndel; d++) {
		free(p->line[gone[d]]);
		p->line[gone[d]] = NULL;
	}
	free(gone);
	if (r->nadd > 0)
		for (size_t i = p->n; i-- > 0;)
			if (p->line[i]) {
				p->nl[i] = true;
				break;
			}
	for (size_t a = 0; a < r->nadd; a++)
		plain_add(p, r->line[r->ndel + a].p, r->line[r->ndel + a].len, true);
	return true;
}

static char *plain_text(const struct plain *p, size_t *len)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++)
		n += p->line[i] ? p->len[i] + p->nl[i] : 0;
	char *t = malloc(n + 1), *o = t;
	for (size_t i = 0; i < p->n; i++) {
		if (!p->line[i])
			continue;
		memcpy(o, p->line[i], p->len[i]);
		o += p->len[i];
		if (p->nl[i])
			*o++ = '\n';
	}
	*o = '\0';
	*len = n;
	return t;
}

/* The text after the journal's good records, and the last one's number. */
static char *expected(const unsigned char *j, size_t jl, unsigned *last, size_t *tlen)
{
	struct plain p = {0};
	for (const char *s = BASE; *s;) {
		const char *e = strchr(s, '\n');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		plain_add(&p, s, l, e != NULL);
		s += l + (e != NULL);
	}
	*last = BASE_REV;
	size_t off = HNV_JOURNAL_HDR_LEN;
	for (;;) {
		struct hnv_journal_rec r;
		if (hnv_journal_rec_decode((const char *)j, jl, &off, &r) != 1)
			break;
		bool ok = r.rev == *last + 1 && plain_apply(&p, &r);
		hnv_journal_rec_free(&r);
		if (!ok)
			break;
		(*last)++;
	}
	char *t = plain_text(&p, tlen);
	plain_free(&p);
	return t;
}

static void check_replay(const unsigned char *j, size_t jl, const char *want, size_t wlen,
			 unsigned want_last)
{
	struct hnv_lines l;
	char *base = strdup(BASE);
	if (hnv_lines_init(&l, base, sizeof(BASE) - 1) != 0)
		abort();
	unsigned last;
	size_t end;
	if (hnv_journal_replay(&l, (const char *)j, jl, HNV_JOURNAL_HDR_LEN, BASE_REV, UINT32_MAX,
			       &last, &end) != 0)
		abort();
	char *t;
	size_t tl;
	if (hnv_lines_text(&l, NULL, 0, &t, &tl) != 0)
		abort();
	if (last != want_last || tl != wlen || memcmp(t, want, tl) != 0 || end > jl)
		abort();
	free(t);
	hnv_lines_free(&l);
}

/* ---- check 2: through the store ---- */

static void write_at(const char *dir, const char *name, const void *p, size_t n)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n)
		abort();
	close(fd);
}

static void rm_tree(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return;
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		if (de->d_name[0] == '.' &&
		    (de->d_name[1] == '\0' || strcmp(de->d_name, "..") == 0))
			continue;
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (de->d_type == DT_DIR)
			rm_tree(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(path);
}

static void check_loaded(struct hnv_store *s, const char *want, size_t wlen, unsigned want_rev)
{
	char *t;
	size_t tl;
	unsigned rev;
	if (hnv_store_load(s, &t, &tl, &rev) != 0 || rev != want_rev || tl != wlen ||
	    memcmp(t, want, tl) != 0)
		abort();
	free(t);
	unsigned *revs;
	size_t n;
	if (hnv_store_revisions(s, &revs, &n) != 0 || n == 0 || revs[n - 1] != want_rev)
		abort();
	free(revs);
	if (hnv_store_revision(s, want_rev, &t, &tl) != 0 || tl != wlen || memcmp(t, want, tl) != 0)
		abort();
	free(t);
}

/* In a directory of its own, removed afterwards (libFuzzer ends with
 * _Exit: no atexit cleanup). */
static void check_store(const unsigned char *j, size_t jl, bool header_ok, const char *want,
			size_t wlen, unsigned want_rev)
{
	char root[64], dir[128], rdir[160];
	snprintf(root, sizeof(root), "%s/fuzz-store-XXXXXX", tmp_parent);
	if (mkdtemp(root) == NULL)
		abort();
	snprintf(dir, sizeof(dir), "%s/state", root);
	snprintf(rdir, sizeof(rdir), "%s/revisions", dir);
	if (mkdir(dir, 0700) != 0 || mkdir(rdir, 0700) != 0)
		abort();
	write_at(dir, "hnvgw.conf", BASE, sizeof(BASE) - 1);
	write_at(rdir, "000001.conf", BASE, sizeof(BASE) - 1);
	write_at(dir, "hnvgw.journal", j, jl);
	struct hnv_store *s = NULL;
	char err[256] = "";
	int rc = hnv_store_open(dir, &s, err, sizeof(err));
	if (rc != 0) {
		/* only a header that is not this journal's may be refused */
		if (header_ok || err[0] == '\0')
			abort();
	} else if (header_ok) {
		check_loaded(s, want, wlen, want_rev);
		hnv_store_close(s);
		if (hnv_store_open(dir, &s, err, sizeof(err)) != 0)
			abort();
		check_loaded(s, want, wlen, want_rev);
		hnv_store_close(s);
	} else {
		hnv_store_close(s);
	}
	rm_tree(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	if (len > (1u << 16))
		return 0;
	size_t jl;
	unsigned char *j = journal_image(buf, len, &jl);
	struct hnv_journal_hdr h;
	bool header_ok = hnv_journal_hdr_decode((const char *)j, jl, &h) == 0 &&
			 h.base_rev == BASE_REV && h.base_len == sizeof(BASE) - 1 &&
			 h.base_hash == hnv_store_hash(BASE, sizeof(BASE) - 1);
	unsigned last = BASE_REV;
	size_t wlen = 0;
	char *want = NULL;
	if (header_ok) {
		want = expected(j, jl, &last, &wlen);
		check_replay(j, jl, want, wlen, last);
	}
	check_store(j, jl, header_ok, want, wlen, last);
	free(want);
	free(j);
	return 0;
}
