/* pcap.c: classic pcap reader and writer (see pcap.h for the contracts).
 *
 * File layout (all fields 32-bit unless noted, in the byte order the magic
 * reveals):
 *   global header, 24 bytes: magic, version major (16), minor (16),
 *     thiszone, sigfigs, snaplen, linktype
 *   per record, 16 bytes: ts_sec, ts_frac (usec or nsec), caplen, origlen,
 *     then caplen bytes of frame
 *
 * The byte order is taken from the magic's byte pattern, not from the host,
 * and every field is assembled byte by byte, so no unaligned or host-order
 * access is made and the code is the same on any host.
 */
#include "pcap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GLOBAL_HDR_LEN 24u
#define RECORD_HDR_LEN 16u
#define SIZE_UNKNOWN UINT64_MAX

struct hnv_pcap_reader {
	FILE *f;            /* file reader; NULL for a memory reader */
	const uint8_t *mem; /* memory reader: borrowed input */
	size_t mem_len;
	uint64_t off;    /* bytes of input consumed so far */
	uint64_t size;   /* input length, SIZE_UNKNOWN for a pipe */
	bool big_endian; /* byte order of the file's fields */
	bool nsec;       /* ts_frac counts nanoseconds */
	int state;       /* 0 running, 1 end of input, < 0 sticky error */
	uint64_t nrec;   /* records returned so far */
	uint8_t *buf;    /* file reader: holds the current record */
	char name[64];   /* for messages: the file name's tail, or "memory" */
	char err[192];
};

struct hnv_pcap_writer {
	FILE *f;
	int err; /* first failure (negative errno), sticky */
};

/* The attribute lets -Wformat check every message against its arguments. */
__attribute__((format(printf, 3, 4))) static int fail(struct hnv_pcap_reader *r, int ret,
						      const char *fmt, ...)
{
	int n = snprintf(r->err, sizeof(r->err), "%s: ", r->name);
	if (n < 0 || (size_t)n >= sizeof(r->err))
		n = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
	va_end(ap);
	r->state = ret;
	return ret;
}

static uint32_t rd32(const uint8_t *p, bool big_endian)
{
	if (big_endian)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t rd16(const uint8_t *p, bool big_endian)
{
	return big_endian ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static void wr32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Takes up to n bytes of input. A memory reader points *out into the input;
 * a file reader reads into dst (n bytes of room) and points *out there.
 * Returns the number of bytes taken; fewer than n means end of input or, for
 * a file, a read error (ferror). */
static size_t pull(struct hnv_pcap_reader *r, size_t n, uint8_t *dst, const uint8_t **out)
{
	size_t got;
	if (r->f == NULL) {
		size_t left = r->mem_len - (size_t)r->off;
		got = n < left ? n : left;
		*out = r->mem + r->off;
	} else {
		got = fread(dst, 1, n, r->f);
		*out = dst;
	}
	r->off += got;
	return got;
}

static bool read_failed(const struct hnv_pcap_reader *r)
{
	return r->f != NULL && ferror(r->f);
}

/* Reads and validates the global header. Returns 0 or a negative errno with
 * the message in r->err. */
static int read_global_header(struct hnv_pcap_reader *r)
{
	uint8_t local[GLOBAL_HDR_LEN];
	const uint8_t *h;
	size_t got = pull(r, GLOBAL_HDR_LEN, local, &h);
	if (read_failed(r))
		return fail(r, -EIO, "read error in the global header");
	if (got < GLOBAL_HDR_LEN)
		return fail(r, -EINVAL, "truncated global header (%zu of %u bytes)", got,
			    GLOBAL_HDR_LEN);

	static const uint8_t usec_le[4] = {0xd4, 0xc3, 0xb2, 0xa1};
	static const uint8_t usec_be[4] = {0xa1, 0xb2, 0xc3, 0xd4};
	static const uint8_t nsec_le[4] = {0x4d, 0x3c, 0xb2, 0xa1};
	static const uint8_t nsec_be[4] = {0xa1, 0xb2, 0x3c, 0x4d};
	static const uint8_t pcapng[4] = {0x0a, 0x0d, 0x0d, 0x0a};
	if (memcmp(h, usec_le, 4) == 0) {
		r->big_endian = false;
		r->nsec = false;
	} else if (memcmp(h, usec_be, 4) == 0) {
		r->big_endian = true;
		r->nsec = false;
	} else if (memcmp(h, nsec_le, 4) == 0) {
		r->big_endian = false;
		r->nsec = true;
	} else if (memcmp(h, nsec_be, 4) == 0) {
		r->big_endian = true;
		r->nsec = true;
	} else if (memcmp(h, pcapng, 4) == 0) {
		return fail(r, -EINVAL,
			    "pcapng is not supported; convert with: editcap -F pcap IN OUT");
	} else {
		return fail(r, -EINVAL, "bad magic 0x%02x%02x%02x%02x: not a pcap file", h[0], h[1],
			    h[2], h[3]);
	}

	uint16_t major = rd16(h + 4, r->big_endian);
	uint16_t minor = rd16(h + 6, r->big_endian);
	if (major != 2)
		return fail(r, -EINVAL, "unsupported pcap version %u.%u (want 2.x)", major, minor);
	uint32_t linktype = rd32(h + 20, r->big_endian);
	if (linktype != HNV_PCAP_LINKTYPE_ETHERNET)
		return fail(r, -EINVAL, "link type %" PRIu32 " is not Ethernet (1)", linktype);
	return 0;
}

static struct hnv_pcap_reader *reader_new(const char *name)
{
	struct hnv_pcap_reader *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	/* Keep the tail of long paths: the file name is the useful part. */
	size_t len = strlen(name);
	if (len >= sizeof(r->name))
		name += len - (sizeof(r->name) - 1);
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->size = SIZE_UNKNOWN;
	return r;
}

/* Finishes an open: on failure copies the message out and frees r. */
static int open_finish(struct hnv_pcap_reader *r, int ret, struct hnv_pcap_reader **out, char *err,
		       size_t errlen)
{
	if (ret < 0) {
		if (errlen > 0)
			snprintf(err, errlen, "%s", r->err);
		hnv_pcap_close_reader(r);
		return ret;
	}
	*out = r;
	return 0;
}

int hnv_pcap_open_read(const char *path, struct hnv_pcap_reader **out, char *err, size_t errlen)
{
	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	struct hnv_pcap_reader *r = reader_new(path);
	if (r == NULL) {
		if (errlen > 0)
			snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	r->f = fopen(path, "rbe");
	if (r->f == NULL) {
		int e = errno;
		return open_finish(r, fail(r, -e, "%s", strerror(e)), out, err, errlen);
	}
	struct stat st;
	if (fstat(fileno(r->f), &st) != 0) {
		int e = errno;
		return open_finish(r, fail(r, -e, "%s", strerror(e)), out, err, errlen);
	}
	if (S_ISDIR(st.st_mode))
		return open_finish(r, fail(r, -EISDIR, "is a directory"), out, err, errlen);
	if (S_ISREG(st.st_mode))
		r->size = (uint64_t)st.st_size;
	r->buf = malloc(HNV_PCAP_MAX_CAPLEN);
	if (r->buf == NULL)
		return open_finish(r, fail(r, -ENOMEM, "out of memory"), out, err, errlen);
	return open_finish(r, read_global_header(r), out, err, errlen);
}

int hnv_pcap_open_mem(const uint8_t *buf, size_t len, struct hnv_pcap_reader **out, char *err,
		      size_t errlen)
{
	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	struct hnv_pcap_reader *r = reader_new("memory");
	if (r == NULL) {
		if (errlen > 0)
			snprintf(err, errlen, "memory: out of memory");
		return -ENOMEM;
	}
	/* An empty input may come with a NULL pointer; give pull() a real one. */
	static const uint8_t empty[1];
	r->mem = buf != NULL ? buf : empty;
	r->mem_len = buf != NULL ? len : 0;
	r->size = len;
	return open_finish(r, read_global_header(r), out, err, errlen);
}

int hnv_pcap_next(struct hnv_pcap_reader *r, const uint8_t **data, uint32_t *caplen,
		  uint32_t *origlen, uint64_t *ts_ns)
{
	if (r->state != 0)
		return r->state < 0 ? r->state : 0;

	uint64_t rec = r->nrec + 1, at = r->off;
	uint8_t local[RECORD_HDR_LEN];
	const uint8_t *h;
	size_t got = pull(r, RECORD_HDR_LEN, local, &h);
	if (read_failed(r))
		return fail(r, -EIO, "record %" PRIu64 " at offset %" PRIu64 ": read error", rec,
			    at);
	if (got == 0) {
		r->state = 1;
		return 0;
	}
	if (got < RECORD_HDR_LEN)
		return fail(r, -EINVAL,
			    "record %" PRIu64 " at offset %" PRIu64
			    ": truncated record header (%zu of %u bytes)",
			    rec, at, got, RECORD_HDR_LEN);

	uint32_t sec = rd32(h, r->big_endian);
	uint32_t frac = rd32(h + 4, r->big_endian);
	uint32_t cap = rd32(h + 8, r->big_endian);
	uint32_t orig = rd32(h + 12, r->big_endian);
	if (cap > HNV_PCAP_MAX_CAPLEN)
		return fail(r, -EINVAL,
			    "record %" PRIu64 " at offset %" PRIu64 ": caplen %" PRIu32
			    " exceeds %u",
			    rec, at, cap, HNV_PCAP_MAX_CAPLEN);
	if (cap > orig)
		return fail(r, -EINVAL,
			    "record %" PRIu64 " at offset %" PRIu64 ": caplen %" PRIu32
			    " exceeds origlen %" PRIu32,
			    rec, at, cap, orig);
	if (r->size != SIZE_UNKNOWN && cap > r->size - r->off)
		return fail(r, -EINVAL,
			    "record %" PRIu64 " at offset %" PRIu64 ": caplen %" PRIu32
			    " exceeds the %" PRIu64 " bytes left",
			    rec, at, cap, r->size - r->off);

	const uint8_t *frame;
	got = pull(r, cap, r->buf, &frame);
	if (read_failed(r))
		return fail(r, -EIO, "record %" PRIu64 " at offset %" PRIu64 ": read error", rec,
			    at);
	if (got < cap)
		return fail(r, -EINVAL,
			    "record %" PRIu64 " at offset %" PRIu64
			    ": truncated record (%zu of %" PRIu32 " bytes)",
			    rec, at, got, cap);

	r->nrec = rec;
	*data = frame;
	*caplen = cap;
	if (origlen != NULL)
		*origlen = orig;
	if (ts_ns != NULL)
		*ts_ns = (uint64_t)sec * 1000000000u + (r->nsec ? frac : (uint64_t)frac * 1000u);
	return 1;
}

const char *hnv_pcap_reader_error(const struct hnv_pcap_reader *r)
{
	return r->state < 0 ? r->err : "";
}

void hnv_pcap_close_reader(struct hnv_pcap_reader *r)
{
	if (r == NULL)
		return;
	if (r->f != NULL)
		fclose(r->f);
	free(r->buf);
	free(r);
}

/* errno after a failed stdio call, which C does not promise to set. */
static int stdio_errno(void)
{
	return errno != 0 ? -errno : -EIO;
}

static int put(struct hnv_pcap_writer *w, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	errno = 0;
	if (fwrite(p, 1, n, w->f) != n)
		w->err = stdio_errno();
	return w->err;
}

int hnv_pcap_open_write(const char *path, struct hnv_pcap_writer **out)
{
	*out = NULL;
	struct hnv_pcap_writer *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->f = fopen(path, "wbe");
	if (w->f == NULL) {
		int ret = -errno;
		free(w);
		return ret;
	}
	uint8_t h[GLOBAL_HDR_LEN] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0};
	/* thiszone and sigfigs stay 0 */
	wr32le(h + 16, HNV_PCAP_MAX_CAPLEN);
	wr32le(h + 20, HNV_PCAP_LINKTYPE_ETHERNET);
	int ret = put(w, h, sizeof(h));
	if (ret < 0) {
		hnv_pcap_close_writer(w);
		return ret;
	}
	*out = w;
	return 0;
}

int hnv_pcap_write(struct hnv_pcap_writer *w, const void *frame, uint32_t len, uint64_t ts_ns)
{
	if (w->err < 0)
		return w->err;
	if (len > HNV_PCAP_MAX_CAPLEN)
		return -EMSGSIZE;
	uint64_t sec = ts_ns / 1000000000u;
	if (sec > UINT32_MAX)
		return -ERANGE;
	uint8_t h[RECORD_HDR_LEN];
	wr32le(h, (uint32_t)sec);
	wr32le(h + 4, (uint32_t)(ts_ns % 1000000000u / 1000u));
	wr32le(h + 8, len);
	wr32le(h + 12, len);
	int ret = put(w, h, sizeof(h));
	if (ret < 0)
		return ret;
	return put(w, frame, len);
}

int hnv_pcap_close_writer(struct hnv_pcap_writer *w)
{
	if (w == NULL)
		return 0;
	int ret = w->err;
	errno = 0;
	if (fflush(w->f) != 0 && ret == 0)
		ret = stdio_errno();
	errno = 0;
	if (fclose(w->f) != 0 && ret == 0)
		ret = stdio_errno();
	free(w);
	return ret;
}
