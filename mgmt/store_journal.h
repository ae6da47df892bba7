/* store_journal.h: the store's text as indexed lines, and the journal's
 * binary records (internal to mgmt/store*.c and its tests; the layout and
 * the rules are in store.h).
 *
 * A text is a sequence of lines: a line is its bytes up to a '\n' (which it
 * does not hold) and whether a '\n' ends it (only a text's last line may
 * lack one). A delta first removes, for each del line in order, the first
 * live line with exactly those bytes (newline not compared), then appends
 * each add line followed by '\n'; before the first appended line, a last
 * line without '\n' gets one. Removing always takes the earliest
 * occurrence and appending always goes to the end, so replaying the same
 * deltas on the same text gives the same text, byte for byte.
 *
 * Texts hold PSKs: everything here that held a line is cleared before it is
 * freed.
 */
#ifndef HNV_STORE_JOURNAL_H
#define HNV_STORE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A text larger than this is refused (it could not be read back). */
#define HNV_STORE_FILE_MAX (256u << 20)

/* 64-bit hash of n bytes (checksums, the snapshot's identity, the index). */
uint64_t hnv_store_hash(const void *p, size_t n);

/* Bytes of one line, without a newline. */
struct hnv_span {
	const char *p;
	size_t len;
};

/* ---- the text as lines ----
 * Lines live in one array in text order; removed lines stay (dead) until
 * the text is rebuilt, so positions never move. Each distinct content has
 * a slot holding its live lines as a queue, earliest first: removing the
 * first occurrence is O(1), so is appending. */
struct hnv_lline {
	const char *p;
	uint32_t len;
	uint32_t next; /* the next live line with these bytes, or HNV_LINES_NONE */
	uint32_t hash;
	uint8_t nl, live;
};

struct hnv_lslot {
	uint32_t key; /* 1 + a line with these bytes (live or dead); 0: empty */
	uint32_t head, tail;
	uint32_t hash;
};

#define HNV_LINES_NONE UINT32_MAX

struct hnv_lines {
	char *base; /* the text the lines were built from (owned) */
	size_t base_len;
	struct hnv_lline *v;
	size_t n, cap;
	struct hnv_lslot *slot; /* open addressing, a power of two */
	size_t nslot, nkeys;
	struct hnv_lchunk {
		char *p;
		size_t size, used;
	} * chunk; /* copies of appended lines; the last one fills */
	size_t nchunk, chunkcap;
	size_t text_len; /* of the live lines with their newlines */
	uint32_t nonl;   /* the base's last line when it lacks '\n' */
};

/* Builds l over text (malloc'd, len bytes; l owns it from now on, also on
 * failure). 0, -ENOMEM, or -EFBIG beyond HNV_STORE_FILE_MAX. */
int hnv_lines_init(struct hnv_lines *l, char *text, size_t len);
/* Clears and frees everything l holds; l is empty afterwards. */
void hnv_lines_free(struct hnv_lines *l);
/* The text (malloc'd, NUL-terminated, len without the NUL): the live lines
 * in order, then the add lines when nadd > 0 (as a delta appends them). */
int hnv_lines_text(const struct hnv_lines *l, const struct hnv_span *add, size_t nadd, char **text,
		   size_t *len);
/* The text's length after appending these lines. */
size_t hnv_lines_len_plus(const struct hnv_lines *l, const struct hnv_span *add, size_t nadd);

/* The removals of a delta: marks the first live occurrence of each del
 * line dead, in order, recording them in pops (ndel entries). 0, or
 * -ENOENT when one is missing (l unchanged). */
int hnv_lines_take(struct hnv_lines *l, const struct hnv_span *del, size_t ndel, uint32_t *pops);
/* Undoes a successful hnv_lines_take. */
void hnv_lines_untake(struct hnv_lines *l, const uint32_t *pops, size_t ndel);
/* Makes room so that appending these lines cannot fail: 0 or -ENOMEM. */
int hnv_lines_reserve(struct hnv_lines *l, const struct hnv_span *add, size_t nadd);
/* The appends of a delta, after hnv_lines_reserve for the same lines. */
void hnv_lines_append(struct hnv_lines *l, const struct hnv_span *add, size_t nadd);

/* ---- the journal file ----
 * A header, then records, little-endian:
 *   header  "HNVJ" u32 version(1) u32 base_rev u32 0 u64 base_len
 *           u64 base_hash u64 check                          (40 bytes)
 *   record  "HNVR" u32 body_len, body: u32 rev u32 ndel u32 nadd, then
 *           ndel + nadd lines as u32 len + bytes (no '\n'); u64 check
 * check is hnv_store_hash of everything before it in the header or record.
 * base_* identify the text the records apply to (hnvgw.conf when it was
 * written); records are numbered base_rev + 1, base_rev + 2, ... */
#define HNV_JOURNAL_HDR_LEN 40

struct hnv_journal_hdr {
	unsigned base_rev;
	uint64_t base_len, base_hash;
};

void hnv_journal_hdr_encode(const struct hnv_journal_hdr *h, unsigned char *out);
/* 0, or -EBADMSG when buf does not start with a valid header. */
int hnv_journal_hdr_decode(const char *buf, size_t len, struct hnv_journal_hdr *h);

/* One record (malloc'd; clear it before free). 0, -EINVAL (a line holds
 * '\n'), -EFBIG (larger than HNV_STORE_FILE_MAX) or -ENOMEM. */
int hnv_journal_rec_encode(unsigned rev, const struct hnv_span *del, size_t ndel,
			   const struct hnv_span *add, size_t nadd, char **out, size_t *len);

struct hnv_journal_rec {
	unsigned rev;
	size_t ndel, nadd;
	struct hnv_span *line; /* ndel dels then nadd adds, into the buffer */
};

/* Decodes the record at buf[*off..len): 1 with *off past it (free rec with
 * hnv_journal_rec_free); 0 at the end of buf; -EBADMSG when the bytes from
 * *off are not one whole valid record (a torn tail or damage); -ENOMEM. */
int hnv_journal_rec_decode(const char *buf, size_t len, size_t *off, struct hnv_journal_rec *rec);
void hnv_journal_rec_free(struct hnv_journal_rec *rec);

/* Applies the records in buf[off..len) (after a journal's header) to l,
 * while each is valid, is numbered one past the previous one (the first
 * base + 1) and is at most upto; a record whose del line is missing is
 * invalid too. *last: the number of the last one applied (base if none);
 * *end: the offset after it, so bytes from *end on that are not beyond
 * upto are a torn tail or damage. 0 or -ENOMEM (l then unusable). */
int hnv_journal_replay(struct hnv_lines *l, const char *buf, size_t len, size_t off, unsigned base,
		       unsigned upto, unsigned *last, size_t *end);

#endif
