/* err.h: the one error convention (STYLE.md 9). Functions return 0 or a
 * negative errno and, where the caller gives a buffer, a message for users
 * that names the bad value. */
#ifndef HNV_ERR_H
#define HNV_ERR_H

#include <stddef.h>

/* Formats a message into err (errlen bytes, always NUL-terminated); does
 * nothing when err is NULL or errlen is 0. */
void hnv_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
