/* store.h: durable configuration with numbered revisions.
 *
 * Layout under the state directory (created 0700; every file 0600: they
 * hold PSKs):
 *   hnvgw.conf     the config text hnvgwd loads and an operator reads and
 *                  edits; current except for the records in hnvgw.journal
 *   hnvgw.journal  only while hnvgw.conf is larger than
 *                  HNV_STORE_DELTA_MIN: the revisions committed since
 *                  hnvgw.conf was written, as delta records
 *   revisions/NNNNNN.conf            a revision's whole text
 *   revisions/SSSSSS-EEEEEE.journal  revisions S+1..E as deltas over S
 * The last HNV_STORE_KEEP revisions are kept (plus the whole text the
 * oldest of them is replayed from, when it is not whole itself).
 *
 * Costs. hnv_store_commit writes the whole text twice (revision and
 * hnvgw.conf). hnv_store_commit_delta writes the delta once: it appends one
 * record to hnvgw.journal and fsyncs it. When the journal holds more than
 * 1/HNV_STORE_JOURNAL_FRACTION of hnvgw.conf's size, it is compacted (a
 * whole commit of the same revision: hnvgw.conf rewritten, the journal
 * moved into revisions/), so a changed line costs O(1) bytes written on
 * average. A resulting text of at most HNV_STORE_DELTA_MIN bytes is
 * written whole right away (a few fsyncs cost more than the bytes): for
 * such configurations hnvgw.conf is always current. hnv_store_close
 * compacts too, so hnvgw.conf is current whenever hnvgwd is stopped.
 *
 * hnvgw.conf edited by hand. The store remembers the file it last wrote or
 * read (inode, size, times; after a change of those, its bytes). An edit
 * is never a revision before the caller has validated it: hnv_store_load
 * returns the edited file (with the current revision number, as always),
 * hnv_store_current the current revision's text; the caller commits the
 * edit (hnv_store_commit) once it is valid, or leaves it. Any commit,
 * whole or delta, overwrites an edit not yet committed.
 *  - At open: a hnvgw.conf that is neither the journal's base nor the
 *    newest revision was edited after the store last wrote it: it stays as
 *    it is, the newest revision current (issue 17 finding 6: an edit that
 *    hnvgwd refused was stored as a revision at the next start, which
 *    then failed, and failed again at every restart). The journal's
 *    revisions stay in the history (hnvgw config diff shows them) but are
 *    not in the edited text. So with a journal (a large configuration,
 *    hnvgwd killed rather than stopped), hnvgw.conf lacks the journal's
 *    changes: edit it with hnvgwd stopped cleanly, or start hnvgwd once
 *    first.
 *
 * Every write is atomic: whole files go to a temp file that is fsync'ed
 * and renamed (then the directory fsync'ed); a journal record is appended
 * and fsync'ed, and carries its length and a checksum. A crash at any
 * point leaves the old or the new revision, never a torn one:
 * hnv_store_open removes temp files, drops a torn journal tail and
 * completes or undoes an interrupted commit or compaction.
 * One process at a time: open takes a lock on the directory (-EBUSY).
 * Functions return 0 or a negative errno. Texts returned hold PSKs: clear
 * them (explicit_bzero) before free.
 */
#ifndef HNV_STORE_H
#define HNV_STORE_H

#include <stddef.h>

#define HNV_STORE_KEEP 50
#define HNV_STORE_DELTA_MIN (256u << 10)
#define HNV_STORE_JOURNAL_FRACTION 4

struct hnv_store;

int hnv_store_open(const char *dir, struct hnv_store **out, char *err, size_t errlen);
/* Compacts a journal (see above), then releases everything. */
void hnv_store_close(struct hnv_store *s);

/* The current config text (malloc'd, NUL-terminated) and its revision;
 * an empty text and revision 0 when nothing was ever committed. */
int hnv_store_load(struct hnv_store *s, char **text, size_t *len, unsigned *rev);

/* The current revision's text (malloc'd) and number, whatever hnvgw.conf
 * holds now (an edit not committed yet). */
int hnv_store_current(struct hnv_store *s, char **text, size_t *len, unsigned *rev);

/* Persists text as the current config and as a new revision; returns 0 and
 * the revision number, or a negative errno (nothing changed on failure;
 * -EFBIG beyond 256 MiB). */
int hnv_store_commit(struct hnv_store *s, const char *text, size_t len, unsigned *rev);

/* Persists a new revision whose text is the current one (the last
 * committed revision's) with, for each del line in order, the first line
 * with exactly those bytes removed, and then the add lines appended in
 * order, each ending in '\n' (a last line without one gets one first).
 * Lines are given without their newline. Every other function then
 * answers exactly as if that text had been committed with
 * hnv_store_commit. Costs O(size of the lines given), see above.
 * 0 and the revision number, or a negative errno with nothing changed:
 * -ENOENT when a del line is not in the text, -EINVAL when a line holds
 * '\n', -EFBIG when the text would exceed 256 MiB. */
int hnv_store_commit_delta(struct hnv_store *s, const char *const *del, size_t ndel,
			   const char *const *add, size_t nadd, unsigned *rev);

/* Text of a kept revision (malloc'd), or -ENOENT. */
int hnv_store_revision(struct hnv_store *s, unsigned rev, char **text, size_t *len);

/* Kept revision numbers, oldest first (malloc'd array). */
int hnv_store_revisions(struct hnv_store *s, unsigned **revs, size_t *n);

/* A unified diff (malloc'd) between two kept revisions, headed
 * "--- rev N" / "+++ rev M"; "" when they are equal. Every line shows as
 * hnv_conf_mask_line (conftext.h) shows it, for any member of group
 * hnvgw: PSKs print as <secret> however the line is spelled, comments
 * that may hold a secret and lines that do not parse are replaced; a
 * line whose PSK changed still shows as changed. */
int hnv_store_diff(struct hnv_store *s, unsigned from, unsigned to, char **out);

/* The same diff between two texts, with the given header labels. */
int hnv_store_diff_text(const char *a, size_t alen, const char *b, size_t blen,
			const char *from_label, const char *to_label, char **out);

#endif
