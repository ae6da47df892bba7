/* store_journal.c: the store's text as indexed lines, and the journal's
 * records (store_journal.h). */
#include "store_journal.h"

#include "../lib/vec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN (64u << 10) /* appended lines are copied into chunks this large */

/* ---- hash ---- */

static uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static uint64_t le64(const unsigned char *b)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | b[i];
	return v;
}

static uint32_t le32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void put32(unsigned char *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

/* Eight bytes at a time, murmur3's mixing; the final avalanche makes every
 * input bit reach every output bit. Not for adversaries: it detects torn
 * and damaged records and tells texts apart. */
uint64_t hnv_store_hash(const void *p, size_t n)
{
	const uint64_t c1 = 0x87c37b91114253d5ull, c2 = 0x4cf5ad432745937full;
	const unsigned char *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)n * 0xff51afd7ed558ccdull);
	for (; n >= 8; b += 8, n -= 8) {
		uint64_t k = le64(b) * c1;
		h ^= rotl64(k, 31) * c2;
		h = rotl64(h, 27) * 5 + 0x52dce729;
	}
	uint64_t k = 0;
	for (size_t i = n; i-- > 0;)
		k = (k << 8) | b[i];
	h ^= rotl64(k * c2, 33) * c1;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static uint32_t line_hash(const char *p, size_t len)
{
	uint64_t h = hnv_store_hash(p, len);
	return (uint32_t)(h ^ (h >> 32));
}

/* ---- the index ---- */

/* The slot holding lines with these bytes, or the empty slot where it
 * would go. The table is never full (at most half). */
static size_t slot_find(const struct hnv_lines *l, const char *p, size_t len, uint32_t h)
{
	size_t mask = l->nslot - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		const struct hnv_lslot *s = &l->slot[i];
		if (s->key == 0)
			return i;
		if (s->hash != h)
			continue;
		const struct hnv_lline *k = &l->v[s->key - 1];
		if (k->len == len && memcmp(k->p, p, len) == 0)
			return i;
	}
}

/* Room for need distinct contents at half load. */
static int slots_reserve(struct hnv_lines *l, size_t need)
{
	if (need <= l->nslot / 2)
		return 0;
	size_t ns = l->nslot ? l->nslot : 16;
	while (ns / 2 < need) {
		if (ns > SIZE_MAX / 2 / sizeof(*l->slot))
			return -ENOMEM;
		ns *= 2;
	}
	struct hnv_lslot *nt = calloc(ns, sizeof(*nt));
	if (nt == NULL)
		return -ENOMEM;
	struct hnv_lslot *old = l->slot;
	size_t on = l->nslot;
	l->slot = nt;
	l->nslot = ns;
	for (size_t i = 0; i < on; i++) {
		if (old[i].key == 0)
			continue;
		size_t mask = ns - 1, j = old[i].hash & mask;
		while (nt[j].key != 0)
			j = (j + 1) & mask;
		nt[j] = old[i];
	}
	free(old);
	return 0;
}

/* Appends line i (in l->v already) to the queue of its bytes. The table
 * has room (slots_reserve). */
static void link_line(struct hnv_lines *l, uint32_t i)
{
	struct hnv_lline *x = &l->v[i];
	struct hnv_lslot *s = &l->slot[slot_find(l, x->p, x->len, x->hash)];
	if (s->key == 0) {
		*s = (struct hnv_lslot){i + 1, HNV_LINES_NONE, HNV_LINES_NONE, x->hash};
		l->nkeys++;
	}
	x->next = HNV_LINES_NONE;
	x->live = 1;
	if (s->tail == HNV_LINES_NONE)
		s->head = i;
	else
		l->v[s->tail].next = i;
	s->tail = i;
}

void hnv_lines_free(struct hnv_lines *l)
{
	if (l->base != NULL) {
		explicit_bzero(l->base, l->base_len);
		free(l->base);
	}
	for (size_t i = 0; i < l->nchunk; i++) {
		explicit_bzero(l->chunk[i].p, l->chunk[i].used);
		free(l->chunk[i].p);
	}
	free(l->chunk);
	free(l->v);
	free(l->slot);
	memset(l, 0, sizeof(*l));
	l->nonl = HNV_LINES_NONE;
}

int hnv_lines_init(struct hnv_lines *l, char *text, size_t len)
{
	memset(l, 0, sizeof(*l));
	l->nonl = HNV_LINES_NONE;
	l->base = text;
	l->base_len = len;
	if (len > HNV_STORE_FILE_MAX) {
		hnv_lines_free(l);
		return -EFBIG;
	}
	size_t n = 0;
	for (const char *p = text; p < text + len; n++) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		p = nl ? nl + 1 : text + len;
	}
	if (HNV_GROW(l->v, l->cap, n ? n : 1) || slots_reserve(l, n)) {
		hnv_lines_free(l);
		return -ENOMEM;
	}
	for (const char *p = text; p < text + len;) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
		l->v[l->n] =
			(struct hnv_lline){p, (uint32_t)ll, 0, line_hash(p, ll), nl != NULL, 1};
		link_line(l, (uint32_t)l->n);
		if (nl == NULL)
			l->nonl = (uint32_t)l->n;
		l->n++;
		p += ll + (nl != NULL);
	}
	l->text_len = len;
	return 0;
}

size_t hnv_lines_len_plus(const struct hnv_lines *l, const struct hnv_span *add, size_t nadd)
{
	size_t n = l->text_len;
	if (nadd > 0 && l->nonl != HNV_LINES_NONE && l->v[l->nonl].live)
		n++;
	for (size_t i = 0; i < nadd; i++)
		n += add[i].len + 1;
	return n;
}

int hnv_lines_text(const struct hnv_lines *l, const struct hnv_span *add, size_t nadd, char **text,
		   size_t *len)
{
	size_t n = hnv_lines_len_plus(l, add, nadd);
	char *t = malloc(n + 1), *o = t;
	if (t == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		const struct hnv_lline *x = &l->v[i];
		if (!x->live)
			continue;
		memcpy(o, x->p, x->len);
		o += x->len;
		if (x->nl || (nadd > 0 && i == l->nonl))
			*o++ = '\n';
	}
	for (size_t i = 0; i < nadd; i++) {
		memcpy(o, add[i].p, add[i].len);
		o += add[i].len;
		*o++ = '\n';
	}
	*o = '\0';
	*text = t;
	*len = n;
	return 0;
}

void hnv_lines_untake(struct hnv_lines *l, const uint32_t *pops, size_t ndel)
{
	for (size_t i = ndel; i-- > 0;) {
		struct hnv_lline *x = &l->v[pops[i]];
		struct hnv_lslot *s = &l->slot[slot_find(l, x->p, x->len, x->hash)];
		x->next = s->head;
		s->head = pops[i];
		if (s->tail == HNV_LINES_NONE)
			s->tail = pops[i];
		x->live = 1;
		l->text_len += x->len + x->nl;
	}
}

int hnv_lines_take(struct hnv_lines *l, const struct hnv_span *del, size_t ndel, uint32_t *pops)
{
	for (size_t i = 0; i < ndel; i++) {
		uint32_t h = line_hash(del[i].p, del[i].len);
		struct hnv_lslot *s =
			l->nslot ? &l->slot[slot_find(l, del[i].p, del[i].len, h)] : NULL;
		if (s == NULL || s->key == 0 || s->head == HNV_LINES_NONE) {
			hnv_lines_untake(l, pops, i);
			return -ENOENT;
		}
		uint32_t k = s->head;
		struct hnv_lline *x = &l->v[k];
		s->head = x->next;
		if (s->head == HNV_LINES_NONE)
			s->tail = HNV_LINES_NONE;
		x->live = 0;
		l->text_len -= x->len + x->nl;
		pops[i] = k;
	}
	return 0;
}

int hnv_lines_reserve(struct hnv_lines *l, const struct hnv_span *add, size_t nadd)
{
	size_t bytes = 0;
	for (size_t i = 0; i < nadd; i++) {
		if (add[i].len > HNV_STORE_FILE_MAX || bytes > HNV_STORE_FILE_MAX)
			return -EFBIG;
		bytes += add[i].len;
	}
	if (nadd >= HNV_LINES_NONE - l->n)
		return -EFBIG;
	if (HNV_GROW(l->v, l->cap, l->n + nadd) || slots_reserve(l, l->nkeys + nadd))
		return -ENOMEM;
	struct hnv_lchunk *last = l->nchunk ? &l->chunk[l->nchunk - 1] : NULL;
	if (bytes == 0 || (last != NULL && last->size - last->used >= bytes))
		return 0;
	size_t sz = bytes > CHUNK_MIN ? bytes : CHUNK_MIN;
	char *c = malloc(sz);
	if (c == NULL || HNV_GROW(l->chunk, l->chunkcap, l->nchunk + 1)) {
		free(c);
		return -ENOMEM;
	}
	l->chunk[l->nchunk++] = (struct hnv_lchunk){c, sz, 0};
	return 0;
}

void hnv_lines_append(struct hnv_lines *l, const struct hnv_span *add, size_t nadd)
{
	if (nadd == 0)
		return;
	if (l->nonl != HNV_LINES_NONE) {
		if (l->v[l->nonl].live) {
			l->v[l->nonl].nl = 1;
			l->text_len++;
		}
		l->nonl = HNV_LINES_NONE;
	}
	struct hnv_lchunk *c = l->nchunk ? &l->chunk[l->nchunk - 1] : NULL;
	for (size_t i = 0; i < nadd; i++) {
		/* an empty line needs no bytes (and maybe there is no chunk) */
		const char *p = "";
		if (add[i].len > 0) {
			memcpy(c->p + c->used, add[i].p, add[i].len);
			p = c->p + c->used;
			c->used += add[i].len;
		}
		l->v[l->n] = (struct hnv_lline){
			p, (uint32_t)add[i].len, 0, line_hash(add[i].p, add[i].len), 1, 1};
		link_line(l, (uint32_t)l->n);
		l->n++;
		l->text_len += add[i].len + 1;
	}
}

/* ---- records ---- */

static const unsigned char HDR_MAGIC[4] = {'H', 'N', 'V', 'J'};
static const unsigned char REC_MAGIC[4] = {'H', 'N', 'V', 'R'};
#define JOURNAL_VERSION 1
#define REC_FIXED 12 /* rev, ndel, nadd */

void hnv_journal_hdr_encode(const struct hnv_journal_hdr *h, unsigned char *out)
{
	memcpy(out, HDR_MAGIC, 4);
	put32(out + 4, JOURNAL_VERSION);
	put32(out + 8, h->base_rev);
	put32(out + 12, 0);
	put64(out + 16, h->base_len);
	put64(out + 24, h->base_hash);
	put64(out + 32, hnv_store_hash(out, 32));
}

int hnv_journal_hdr_decode(const char *buf, size_t len, struct hnv_journal_hdr *h)
{
	const unsigned char *b = (const unsigned char *)buf;
	if (len < HNV_JOURNAL_HDR_LEN || memcmp(b, HDR_MAGIC, 4) != 0 ||
	    le32(b + 4) != JOURNAL_VERSION || le32(b + 12) != 0 ||
	    le64(b + 32) != hnv_store_hash(b, 32))
		return -EBADMSG;
	h->base_rev = le32(b + 8);
	h->base_len = le64(b + 16);
	h->base_hash = le64(b + 24);
	return 0;
}

int hnv_journal_rec_encode(unsigned rev, const struct hnv_span *del, size_t ndel,
			   const struct hnv_span *add, size_t nadd, char **out, size_t *len)
{
	size_t body = REC_FIXED;
	for (size_t i = 0; i < ndel + nadd; i++) {
		const struct hnv_span *x = i < ndel ? &del[i] : &add[i - ndel];
		if (memchr(x->p, '\n', x->len) != NULL)
			return -EINVAL;
		if (x->len > HNV_STORE_FILE_MAX || body > HNV_STORE_FILE_MAX)
			return -EFBIG;
		body += 4 + x->len;
	}
	if (body > HNV_STORE_FILE_MAX)
		return -EFBIG;
	size_t n = 8 + body + 8;
	unsigned char *b = malloc(n), *o = b;
	if (b == NULL)
		return -ENOMEM;
	memcpy(o, REC_MAGIC, 4);
	put32(o + 4, (uint32_t)body);
	put32(o + 8, rev);
	put32(o + 12, (uint32_t)ndel);
	put32(o + 16, (uint32_t)nadd);
	o += 8 + REC_FIXED;
	for (size_t i = 0; i < ndel + nadd; i++) {
		const struct hnv_span *x = i < ndel ? &del[i] : &add[i - ndel];
		put32(o, (uint32_t)x->len);
		if (x->len > 0)
			memcpy(o + 4, x->p, x->len);
		o += 4 + x->len;
	}
	put64(o, hnv_store_hash(b, 8 + body));
	*out = (char *)b;
	*len = n;
	return 0;
}

void hnv_journal_rec_free(struct hnv_journal_rec *rec)
{
	free(rec->line);
	rec->line = NULL;
}

int hnv_journal_rec_decode(const char *buf, size_t len, size_t *off, struct hnv_journal_rec *rec)
{
	if (*off >= len)
		return 0;
	const unsigned char *b = (const unsigned char *)buf + *off;
	size_t left = len - *off;
	if (left < 8 + REC_FIXED + 8 || memcmp(b, REC_MAGIC, 4) != 0)
		return -EBADMSG;
	size_t body = le32(b + 4);
	if (body < REC_FIXED || body > left - 16 ||
	    le64(b + 8 + body) != hnv_store_hash(b, 8 + body))
		return -EBADMSG;
	uint32_t rev = le32(b + 8), ndel = le32(b + 12), nadd = le32(b + 16);
	size_t nl = (size_t)ndel + nadd;
	/* every line takes at least its 4-byte length */
	if (rev == 0 || nl > (body - REC_FIXED) / 4)
		return -EBADMSG;
	struct hnv_span *line = malloc((nl ? nl : 1) * sizeof(*line));
	if (line == NULL)
		return -ENOMEM;
	const unsigned char *p = b + 8 + REC_FIXED, *e = b + 8 + body;
	for (size_t i = 0; i < nl; i++) {
		if ((size_t)(e - p) < 4 || le32(p) > (size_t)(e - p) - 4 ||
		    memchr(p + 4, '\n', le32(p)) != NULL) {
			free(line);
			return -EBADMSG;
		}
		line[i] = (struct hnv_span){(const char *)p + 4, le32(p)};
		p += 4 + le32(p);
	}
	if (p != e) {
		free(line);
		return -EBADMSG;
	}
	*rec = (struct hnv_journal_rec){rev, ndel, nadd, line};
	*off += 8 + body + 8;
	return 1;
}

/* One record onto l: -EBADMSG (l unchanged) when a del line is missing. */
static int apply(struct hnv_lines *l, const struct hnv_journal_rec *r)
{
	uint32_t *pops = malloc((r->ndel ? r->ndel : 1) * sizeof(*pops));
	if (pops == NULL)
		return -ENOMEM;
	int rc = hnv_lines_take(l, r->line, r->ndel, pops);
	if (rc == 0) {
		rc = hnv_lines_reserve(l, r->line + r->ndel, r->nadd);
		if (rc < 0)
			hnv_lines_untake(l, pops, r->ndel);
		else
			hnv_lines_append(l, r->line + r->ndel, r->nadd);
	}
	free(pops);
	return rc == -ENOENT || rc == -EFBIG ? -EBADMSG : rc;
}

int hnv_journal_replay(struct hnv_lines *l, const char *buf, size_t len, size_t off, unsigned base,
		       unsigned upto, unsigned *last, size_t *end)
{
	*last = base;
	*end = off;
	while (*last < upto) {
		struct hnv_journal_rec r;
		size_t o = *end;
		int rc = hnv_journal_rec_decode(buf, len, &o, &r);
		if (rc == -ENOMEM)
			return rc;
		if (rc <= 0)
			break;
		rc = r.rev == *last + 1 ? apply(l, &r) : -EBADMSG;
		hnv_journal_rec_free(&r);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0)
			break;
		*last += 1;
		*end = o;
	}
	return 0;
}
