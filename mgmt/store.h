/* store.h: durable configuration with numbered revisions.
 *
 * Layout under the state directory (created 0700): hnvgw.conf, the current
 * config text (mode 0600: it holds PSKs), and revisions/NNNNNN.conf, the
 * last HNV_STORE_KEEP revisions. Every write is atomic: temp file, fsync,
 * rename, fsync of the directory. A crash at any point leaves either the
 * old or the new file, never a torn one; hnv_store_open removes leftover
 * temporary files and completes or undoes an interrupted commit.
 * One process at a time: open takes a lock on the directory (-EBUSY).
 * Functions return 0 or a negative errno. Texts returned hold PSKs: clear
 * them (explicit_bzero) before free.
 */
#ifndef HNV_STORE_H
#define HNV_STORE_H

#include <stddef.h>

#define HNV_STORE_KEEP 50

struct hnv_store;

int hnv_store_open(const char *dir, struct hnv_store **out, char *err, size_t errlen);
void hnv_store_close(struct hnv_store *s);

/* The current config text (malloc'd, NUL-terminated) and its revision;
 * an empty text and revision 0 when nothing was ever committed. */
int hnv_store_load(struct hnv_store *s, char **text, size_t *len, unsigned *rev);

/* Persists text as the current config and as a new revision; returns 0 and
 * the revision number, or a negative errno (nothing changed on failure). */
int hnv_store_commit(struct hnv_store *s, const char *text, size_t len, unsigned *rev);

/* Text of a kept revision (malloc'd), or -ENOENT. */
int hnv_store_revision(struct hnv_store *s, unsigned rev, char **text, size_t *len);

/* Kept revision numbers, oldest first (malloc'd array). */
int hnv_store_revisions(struct hnv_store *s, unsigned **revs, size_t *n);

/* A unified diff (malloc'd) between two kept revisions, headed
 * "--- rev N" / "+++ rev M"; "" when they are equal. PSKs print as
 * <secret>; a line whose PSK changed still shows as changed. */
int hnv_store_diff(struct hnv_store *s, unsigned from, unsigned to, char **out);

/* The same diff between two texts, with the given header labels. */
int hnv_store_diff_text(const char *a, size_t alen, const char *b, size_t blen,
			const char *from_label, const char *to_label, char **out);

#endif
