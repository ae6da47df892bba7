/* file.h: files that must never be seen half written. */
#ifndef HNV_FILE_H
#define HNV_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Writes all len bytes of data to fd (retrying short writes and EINTR).
 * 0 or a negative errno. */
int hnv_write_all(int fd, const void *data, size_t len);

/* Replaces dir/name with data[0..len) so that a crash at any point leaves
 * the old file or the new one: a temporary file dir/<tmp_prefix><name>-XXXXXX
 * (an owner that knows tmp_prefix removes leftovers at start) given mode
 * before anything is written, written, fsynced, renamed over the target,
 * then the directory fsynced. 0, or a negative errno with the target
 * unchanged and the temporary file removed. */
int hnv_write_atomic(const char *dir, const char *name, const void *data, size_t len, mode_t mode,
		     const char *tmp_prefix);

#endif
