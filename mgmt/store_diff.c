/* store_diff.c: the unified diff between two config texts (store.h:
 * hnv_store_diff_text). */
#include "store.h"

#include "../lib/vec.h"
#include "conftext.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* One diff line, as anyone in group hnvgw may see it: through
 * hnv_conf_mask_line, which reads the line with the config parser, so a
 * PSK never shows however the line is written (issue 17 finding 3: a
 * prefix test let "s2s  add", tabs, quoted words and comments through). */
static void put_line(struct hnv_buf *d, char mark, const struct line *l)
{
	char shown[HNV_CONF_MASKED_MAX];
	hnv_buf_append(d, &mark, 1);
	if (hnv_conf_mask_line(l->p, l->len, shown, sizeof(shown)) < 0)
		snprintf(shown, sizeof(shown), "%s", HNV_CONF_MASK_HIDDEN);
	hnv_buf_append(d, shown, strlen(shown));
	hnv_buf_append(d, "\n", 1);
	if (!l->nl)
		hnv_buf_append(d, "\\ No newline at end of file\n", 28);
}

static void put_range(struct hnv_buf *d, char side, size_t start, size_t count)
{
	/* an empty range names the line before it */
	if (count == 1)
		hnv_buf_printf(d, "%c%zu", side, start + 1);
	else
		hnv_buf_printf(d, "%c%zu,%zu", side, count ? start + 1 : start, count);
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
	struct hnv_buf d = {0};
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
			hnv_buf_printf(&d, "--- %s\n+++ %s\n", from_label, to_label);
			any = true;
		}
		hnv_buf_append(&d, "@@ ", 3);
		put_range(&d, '-', e[hs].a, ca);
		hnv_buf_append(&d, " ", 1);
		put_range(&d, '+', e[hs].b, cb);
		hnv_buf_append(&d, " @@\n", 4);
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
	char *text = rc == 0 ? hnv_buf_take(&d) : NULL;
	if (rc == 0 && text == NULL)
		rc = -ENOMEM;
	if (rc < 0) {
		hnv_buf_free(&d, true);
		return rc;
	}
	*out = text;
	return 0;
}
