/* vici_rec.h: the recorded charon byte streams of tests/data/vici/ (see
 * the README there), for test_vici.c and test_s2s.c. Run from the
 * repository root.
 */
#ifndef HNV_TEST_VICI_REC_H
#define HNV_TEST_VICI_REC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../vpn/vici.h"

#define VICI_REC_DIR "tests/data/vici/"

struct vici_rec {
	uint8_t *data;
	size_t len, off;
};

/* Loads tests/data/vici/<name>; fails the test when it cannot. */
static inline void vici_rec_load(const char *name, struct vici_rec *r)
{
	char path[256];
	snprintf(path, sizeof(path), VICI_REC_DIR "%s", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("%s: cannot open (run from the repository root)", path);
	r->data = malloc(1 << 20);
	r->len = fread(r->data, 1, 1 << 20, f);
	r->off = 0;
	fclose(f);
	if (r->len == 0)
		fail_msg("%s: empty", path);
}

static inline void vici_rec_free(struct vici_rec *r)
{
	free(r->data);
	r->data = NULL;
}

/* The next recorded packet (without its length prefix): 1, or 0 at the
 * end. A stream that does not frame fails the test. */
static inline int vici_rec_next(struct vici_rec *r, const uint8_t **pkt, size_t *n)
{
	if (r->off == r->len)
		return 0;
	if (hnv_vici_frame(r->data + r->off, r->len - r->off, n) != 1)
		fail_msg("recording: bad framing at byte %zu", r->off);
	*pkt = r->data + r->off + 4;
	r->off += 4 + *n;
	return 1;
}

/* Reads exactly n bytes: 0, or -1 at EOF or on an error. */
static inline int read_full(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

#endif
