/* vec.h: growable arrays and text buffers, the one copy of the doubling
 * realloc every module needs.
 *
 *	struct foo *items; size_t n, cap;
 *	if (HNV_GROW(items, cap, n + 1))
 *		return -ENOMEM;
 *	items[n++] = x;
 */
#ifndef HNV_VEC_H
#define HNV_VEC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Makes room for at least need elements of elem bytes in the array whose
 * pointer is at *arrp (any object pointer type) with *cap allocated:
 * doubles, 8 at the least. 0, or -ENOMEM (allocation failed or the size
 * overflows) with the array and *cap unchanged. */
int hnv_grow_array(void *arrp, size_t *cap, size_t need, size_t elem);
#define HNV_GROW(arr, cap, need) hnv_grow_array(&(arr), &(cap), (need), sizeof(*(arr)))

/* A NUL-terminated text that grows; zero-initialized is empty. After a
 * failed append, oom is set and later appends do nothing, so a caller
 * checks once at the end. */
struct hnv_buf {
	char *p;
	size_t len, cap;
	bool oom;
};
void hnv_buf_append(struct hnv_buf *b, const char *s, size_t n);
void hnv_buf_puts(struct hnv_buf *b, const char *s);
void hnv_buf_printf(struct hnv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hnv_buf_vprintf(struct hnv_buf *b, const char *fmt, va_list ap);
/* Hands the text over (malloc'd; "" for an empty buffer), or NULL after an
 * allocation failure; the buffer is empty afterwards either way. */
char *hnv_buf_take(struct hnv_buf *b);
/* Frees the text; wipe: clears it first (it held a secret). */
void hnv_buf_free(struct hnv_buf *b, bool wipe);

#endif
