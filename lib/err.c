/* err.c: the error message setter (err.h). */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

void hnv_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
