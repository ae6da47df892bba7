/* file.c: atomic file replacement (file.h). */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hnv_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int hnv_write_atomic(const char *dir, const char *name, const void *data, size_t len, mode_t mode,
		     const char *tmp_prefix)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	int k = snprintf(tmp, sizeof(tmp), "%s/%s%s-XXXXXX", dir, tmp_prefix, name);
	int l = snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	if (k < 0 || (size_t)k >= sizeof(tmp) || l < 0 || (size_t)l >= sizeof(dst))
		return -ENAMETOOLONG;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fchmod(fd, mode) < 0 ? -errno : 0;
	if (rc == 0)
		rc = hnv_write_all(fd, data, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, dst) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	rc = fsync(dfd) < 0 ? -errno : 0;
	close(dfd);
	return rc;
}
