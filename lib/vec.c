/* vec.c: growable arrays and text buffers (vec.h). */
#include "vec.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hnv_grow_array(void *arrp, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 8;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (elem && ncap > SIZE_MAX / elem)
		return -ENOMEM;
	void *old;
	memcpy(&old, arrp, sizeof(old));
	void *p = realloc(old, ncap * elem);
	if (!p)
		return -ENOMEM;
	memcpy(arrp, &p, sizeof(p));
	*cap = ncap;
	return 0;
}

static bool buf_room(struct hnv_buf *b, size_t more)
{
	if (b->oom)
		return false;
	if (more > SIZE_MAX - b->len - 1 || hnv_grow_array(&b->p, &b->cap, b->len + more + 1, 1)) {
		b->oom = true;
		return false;
	}
	return true;
}

void hnv_buf_append(struct hnv_buf *b, const char *s, size_t n)
{
	if (!buf_room(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void hnv_buf_puts(struct hnv_buf *b, const char *s)
{
	hnv_buf_append(b, s, strlen(s));
}

void hnv_buf_vprintf(struct hnv_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if (!buf_room(b, (size_t)n))
		return;
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void hnv_buf_printf(struct hnv_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hnv_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *hnv_buf_take(struct hnv_buf *b)
{
	char *p = NULL;
	if (!b->oom)
		p = b->p ? b->p : strdup("");
	else
		hnv_buf_free(b, true);
	memset(b, 0, sizeof(*b));
	return p;
}

void hnv_buf_free(struct hnv_buf *b, bool wipe)
{
	if (b->p && wipe)
		explicit_bzero(b->p, b->cap);
	free(b->p);
	memset(b, 0, sizeof(*b));
}
