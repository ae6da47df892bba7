/* test_pcap.c: the classic pcap reader and writer (datapath/io/pcap.c).
 *
 * Run from the repository root (tests/data/gre_nvgre.pcap is read by a
 * relative path). Malformed inputs are checked through all three ways in:
 * the memory reader, a regular file (whose size is known up front) and a
 * pipe (where only a short read reveals truncation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../datapath/io/pcap.h"

#define TESTDATA "tests/data/gre_nvgre.pcap"

/* A capture under construction, in the byte order and precision chosen. */
struct cap {
	uint8_t b[4096];
	size_t len;
	int big_endian;
};

static void put32(struct cap *c, uint32_t v)
{
	assert_true(c->len + 4 <= sizeof(c->b));
	for (int i = 0; i < 4; i++) {
		int shift = c->big_endian ? 24 - 8 * i : 8 * i;
		c->b[c->len++] = (uint8_t)(v >> shift);
	}
}

static void put16(struct cap *c, uint16_t v)
{
	assert_true(c->len + 2 <= sizeof(c->b));
	c->b[c->len++] = (uint8_t)(c->big_endian ? v >> 8 : v);
	c->b[c->len++] = (uint8_t)(c->big_endian ? v : v >> 8);
}

static void cap_header(struct cap *c, int big_endian, uint32_t magic, uint32_t linktype)
{
	memset(c, 0, sizeof(*c));
	c->big_endian = big_endian;
	put32(c, magic);
	put16(c, 2);
	put16(c, 4);
	put32(c, 0);
	put32(c, 0);
	put32(c, 262144);
	put32(c, linktype);
}

static void cap_record(struct cap *c, uint32_t sec, uint32_t frac, uint32_t caplen,
		       uint32_t origlen, uint32_t present)
{
	put32(c, sec);
	put32(c, frac);
	put32(c, caplen);
	put32(c, origlen);
	assert_true(c->len + present <= sizeof(c->b));
	for (uint32_t i = 0; i < present; i++)
		c->b[c->len++] = (uint8_t)(i * 7 + 1);
}

static void tmp_path(char *path, size_t len)
{
	snprintf(path, len, "/tmp/test_pcap_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	if (len > 0)
		assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t *buf = malloc(1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

enum via {
	VIA_MEM,
	VIA_FILE,
	VIA_PIPE
};

/* Opens buf through the chosen way in. For VIA_PIPE the bytes are already
 * in the pipe (small inputs only) and its write end is closed. */
static int open_via(enum via via, const uint8_t *buf, size_t len, struct hnv_pcap_reader **r,
		    char *err, size_t errlen)
{
	char path[64];
	int ret;
	switch (via) {
	case VIA_MEM:
		return hnv_pcap_open_mem(buf, len, r, err, errlen);
	case VIA_FILE:
		tmp_path(path, sizeof(path));
		write_file(path, buf, len);
		ret = hnv_pcap_open_read(path, r, err, errlen);
		unlink(path);
		return ret;
	case VIA_PIPE: {
		int p[2];
		assert_int_equal(pipe(p), 0);
		assert_true(len < 65536);
		if (len > 0)
			assert_int_equal(write(p[1], buf, len), (ssize_t)len);
		close(p[1]);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
		ret = hnv_pcap_open_read(path, r, err, errlen);
		close(p[0]);
		return ret;
	}
	}
	fail();
	return -1;
}

/* Parses buf to the end and expects the open (at_open) or a later
 * hnv_pcap_next to fail with want, with a message containing msg. */
static void expect_reject(const uint8_t *buf, size_t len, int at_open, int want, const char *msg)
{
	for (enum via via = VIA_MEM; via <= VIA_PIPE; via++) {
		struct hnv_pcap_reader *r = NULL;
		char err[256] = "unset";
		int ret = open_via(via, buf, len, &r, err, sizeof(err));
		if (at_open) {
			assert_int_equal(ret, want);
			assert_null(r);
			if (strstr(err, msg) == NULL)
				fail_msg("via %d: \"%s\" lacks \"%s\"", via, err, msg);
			continue;
		}
		assert_int_equal(ret, 0);
		assert_non_null(r);
		assert_string_equal(hnv_pcap_reader_error(r), "");
		const uint8_t *data;
		uint32_t caplen;
		int n = 0;
		while ((ret = hnv_pcap_next(r, &data, &caplen, NULL, NULL)) == 1)
			assert_true(++n < 100);
		assert_int_equal(ret, want);
		if (strstr(hnv_pcap_reader_error(r), msg) == NULL)
			fail_msg("via %d: \"%s\" lacks \"%s\"", via, hnv_pcap_reader_error(r), msg);
		/* Errors are sticky. */
		assert_int_equal(hnv_pcap_next(r, &data, &caplen, NULL, NULL), want);
		hnv_pcap_close_reader(r);
	}
}

static void test_round_trip(void **state)
{
	(void)state;
	static uint8_t big[9000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i ^ (i >> 8));
	const struct {
		uint32_t len;
		uint64_t ts_ns;
	} frames[] = {
		{60, 1700000000123456789ull},
		{0, 1700000000123457000ull},
		{1514, 5},
		{9000, 4294967295999999999ull},
	};
	size_t nframes = sizeof(frames) / sizeof(frames[0]);

	char path[64];
	tmp_path(path, sizeof(path));
	struct hnv_pcap_writer *w;
	assert_int_equal(hnv_pcap_open_write(path, &w), 0);
	for (size_t i = 0; i < nframes; i++)
		assert_int_equal(hnv_pcap_write(w, big, frames[i].len, frames[i].ts_ns), 0);
	assert_int_equal(hnv_pcap_close_writer(w), 0);

	size_t len;
	uint8_t *file = slurp(path, &len);
	size_t want_len = 24;
	for (size_t i = 0; i < nframes; i++)
		want_len += 16 + frames[i].len;
	assert_int_equal(len, want_len);
	/* Little-endian, microseconds, version 2.4, snaplen 262144, Ethernet. */
	static const uint8_t hdr[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0,
					0,    0,    0,    0,    0, 0, 4, 0, 1, 0, 0, 0};
	assert_memory_equal(file, hdr, sizeof(hdr));

	for (enum via via = VIA_MEM; via <= VIA_FILE; via++) {
		struct hnv_pcap_reader *r;
		char err[256];
		assert_int_equal(open_via(via, file, len, &r, err, sizeof(err)), 0);
		for (size_t i = 0; i < nframes; i++) {
			const uint8_t *data;
			uint32_t caplen, origlen;
			uint64_t ts;
			assert_int_equal(hnv_pcap_next(r, &data, &caplen, &origlen, &ts), 1);
			assert_int_equal(caplen, frames[i].len);
			assert_int_equal(origlen, frames[i].len);
			/* Stored as microseconds: the nanoseconds are cut. */
			assert_int_equal(ts, frames[i].ts_ns / 1000 * 1000);
			assert_memory_equal(data, big, caplen);
		}
		const uint8_t *data;
		uint32_t caplen;
		assert_int_equal(hnv_pcap_next(r, &data, &caplen, NULL, NULL), 0);
		assert_int_equal(hnv_pcap_next(r, &data, &caplen, NULL, NULL), 0);
		assert_string_equal(hnv_pcap_reader_error(r), "");
		hnv_pcap_close_reader(r);
	}
	free(file);
	unlink(path);
}

static void test_write_limits(void **state)
{
	(void)state;
	char path[64];
	tmp_path(path, sizeof(path));
	struct hnv_pcap_writer *w;
	assert_int_equal(hnv_pcap_open_write(path, &w), 0);
	static uint8_t frame[HNV_PCAP_MAX_CAPLEN + 1];
	assert_int_equal(hnv_pcap_write(w, frame, HNV_PCAP_MAX_CAPLEN + 1, 0), -EMSGSIZE);
	assert_int_equal(hnv_pcap_write(w, frame, 60, 4294967296000000000ull), -ERANGE);
	/* Neither refusal spoils the writer. */
	assert_int_equal(hnv_pcap_write(w, frame, HNV_PCAP_MAX_CAPLEN, 0), 0);
	assert_int_equal(hnv_pcap_close_writer(w), 0);
	assert_int_equal(hnv_pcap_close_writer(NULL), 0);
	unlink(path);

	assert_int_equal(hnv_pcap_open_write("/nonexistent-dir/x.pcap", &w), -ENOENT);
	assert_null(w);
}

static void test_write_failure_reported(void **state)
{
	(void)state;
	struct stat st;
	if (stat("/dev/full", &st) != 0)
		skip();
	/* stdio buffers the small writes; the failure shows at the close. */
	struct hnv_pcap_writer *w;
	assert_int_equal(hnv_pcap_open_write("/dev/full", &w), 0);
	static const uint8_t frame[60];
	int ret = hnv_pcap_write(w, frame, sizeof(frame), 0);
	assert_true(ret == 0 || ret == -ENOSPC);
	assert_int_equal(hnv_pcap_close_writer(w), -ENOSPC);
}

static void test_testdata(void **state)
{
	(void)state;
	struct hnv_pcap_reader *r;
	char err[256];
	int ret = hnv_pcap_open_read(TESTDATA, &r, err, sizeof(err));
	if (ret != 0)
		fail_msg("%s (run from the repository root)", err);
	const uint8_t *data;
	uint32_t caplen, origlen;
	uint64_t ts;
	assert_int_equal(hnv_pcap_next(r, &data, &caplen, &origlen, &ts), 1);
	assert_int_equal(caplen, 98);
	assert_int_equal(origlen, 98);
	assert_int_equal(ts, 0x6332acd7ull * 1000000000ull + 0x031500ull * 1000ull);
	/* Outer IPv4 (ethertype 0x0800), protocol 47, GRE 0x2000 0x6558, key. */
	assert_int_equal(data[12] << 8 | data[13], 0x0800);
	assert_int_equal(data[23], 47);
	static const uint8_t gre[8] = {0x20, 0x00, 0x65, 0x58, 0x12, 0x34, 0x56, 0x02};
	assert_memory_equal(data + 34, gre, sizeof(gre));
	assert_int_equal(hnv_pcap_next(r, &data, &caplen, &origlen, &ts), 0);
	hnv_pcap_close_reader(r);
}

/* Both byte orders, both precisions: same record, same result. */
static void test_byte_orders(void **state)
{
	(void)state;
	const struct {
		int big_endian;
		uint32_t magic;
		uint64_t want_ts;
	} cases[] = {
		{0, 0xa1b2c3d4, 1000000000ull * 1000000000ull + 250000000ull},
		{1, 0xa1b2c3d4, 1000000000ull * 1000000000ull + 250000000ull},
		{0, 0xa1b23c4d, 1000000000ull * 1000000000ull + 250000},
		{1, 0xa1b23c4d, 1000000000ull * 1000000000ull + 250000},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cap c;
		cap_header(&c, cases[i].big_endian, cases[i].magic, 1);
		cap_record(&c, 1000000000, 250000, 42, 1500, 42);
		for (enum via via = VIA_MEM; via <= VIA_PIPE; via++) {
			struct hnv_pcap_reader *r;
			char err[256];
			assert_int_equal(open_via(via, c.b, c.len, &r, err, sizeof(err)), 0);
			const uint8_t *data;
			uint32_t caplen, origlen;
			uint64_t ts;
			assert_int_equal(hnv_pcap_next(r, &data, &caplen, &origlen, &ts), 1);
			assert_int_equal(caplen, 42);
			assert_int_equal(origlen, 1500);
			assert_int_equal(ts, cases[i].want_ts);
			assert_int_equal(data[0], 1);
			assert_int_equal(data[41], (uint8_t)(41 * 7 + 1));
			assert_int_equal(hnv_pcap_next(r, &data, &caplen, NULL, NULL), 0);
			hnv_pcap_close_reader(r);
		}
	}
}

static void test_empty_capture(void **state)
{
	(void)state;
	struct cap c;
	cap_header(&c, 0, 0xa1b2c3d4, 1);
	struct hnv_pcap_reader *r;
	char err[256];
	assert_int_equal(hnv_pcap_open_mem(c.b, c.len, &r, err, sizeof(err)), 0);
	const uint8_t *data;
	uint32_t caplen;
	assert_int_equal(hnv_pcap_next(r, &data, &caplen, NULL, NULL), 0);
	hnv_pcap_close_reader(r);
	hnv_pcap_close_reader(NULL);
}

static void test_bad_magic(void **state)
{
	(void)state;
	struct cap c;
	cap_header(&c, 0, 0xa1b2cd34, 1); /* "modified" pcap: not ours */
	expect_reject(c.b, c.len, 1, -EINVAL, "bad magic 0x34cdb2a1");
	cap_header(&c, 0, 0x0a0d0d0a, 1);
	expect_reject(c.b, c.len, 1, -EINVAL, "pcapng is not supported");
	memcpy(c.b, "GET / HTTP/1.1\r\nHost: example\r\n", 24);
	expect_reject(c.b, 24, 1, -EINVAL, "bad magic");
}

static void test_bad_version(void **state)
{
	(void)state;
	struct cap c;
	cap_header(&c, 1, 0xa1b2c3d4, 1);
	c.b[5] = 1; /* major 1, big-endian */
	expect_reject(c.b, c.len, 1, -EINVAL, "version 1.4");
}

static void test_not_ethernet(void **state)
{
	(void)state;
	struct cap c;
	cap_header(&c, 0, 0xa1b2c3d4, 113); /* Linux cooked capture */
	cap_record(&c, 0, 0, 20, 20, 20);
	expect_reject(c.b, c.len, 1, -EINVAL, "link type 113 is not Ethernet");
	cap_header(&c, 1, 0xa1b2c3d4, 101); /* raw IP */
	expect_reject(c.b, c.len, 1, -EINVAL, "link type 101");
	/* FCS-length bits above the link type: frames would carry an FCS. */
	cap_header(&c, 0, 0xa1b2c3d4, 0x14000001);
	expect_reject(c.b, c.len, 1, -EINVAL, "is not Ethernet");
}

static void test_truncated_header(void **state)
{
	(void)state;
	struct cap c;
	cap_header(&c, 0, 0xa1b2c3d4, 1);
	expect_reject(c.b, 23, 1, -EINVAL, "truncated global header (23 of 24 bytes)");
	expect_reject(c.b, 3, 1, -EINVAL, "truncated global header (3 of 24");
	expect_reject(c.b, 0, 1, -EINVAL, "truncated global header (0 of 24");
	expect_reject(NULL, 0, 1, -EINVAL, "truncated global header");
}

static void test_truncated_record_header(void **state)
{
	(void)state;
	struct cap c;
	cap_header(&c, 0, 0xa1b2c3d4, 1);
	cap_record(&c, 0, 0, 60, 60, 60);
	cap_record(&c, 0, 0, 60, 60, 60);
	/* Second record's header cut after 10 of its 16 bytes. */
	expect_reject(c.b, 24 + 76 + 10, 0, -EINVAL,
		      "record 2 at offset 100: truncated record header (10 of 16 bytes)");
}

static void test_truncated_record(void **state)
{
	(void)state;
	struct cap c;
	cap_header(&c, 0, 0xa1b2c3d4, 1);
	cap_record(&c, 0, 0, 60, 60, 60);
	cap_record(&c, 0, 0, 60, 60, 60);
	size_t len = c.len - 1; /* last byte of the last frame missing */
	/* A regular file or memory knows its size: caught before reading. */
	struct hnv_pcap_reader *r;
	char err[256];
	const uint8_t *data;
	uint32_t caplen;
	assert_int_equal(hnv_pcap_open_mem(c.b, len, &r, err, sizeof(err)), 0);
	assert_int_equal(hnv_pcap_next(r, &data, &caplen, NULL, NULL), 1);
	assert_int_equal(hnv_pcap_next(r, &data, &caplen, NULL, NULL), -EINVAL);
	assert_string_equal(hnv_pcap_reader_error(r),
			    "memory: record 2 at offset 100: caplen 60 exceeds the 59 bytes left");
	hnv_pcap_close_reader(r);
	/* A pipe finds out by the short read. */
	assert_int_equal(open_via(VIA_PIPE, c.b, len, &r, err, sizeof(err)), 0);
	assert_int_equal(hnv_pcap_next(r, &data, &caplen, NULL, NULL), 1);
	assert_int_equal(hnv_pcap_next(r, &data, &caplen, NULL, NULL), -EINVAL);
	assert_non_null(strstr(hnv_pcap_reader_error(r),
			       "record 2 at offset 100: truncated record (59 of 60 bytes)"));
	hnv_pcap_close_reader(r);
	/* Every way in rejects it, whichever check fires. */
	expect_reject(c.b, len, 0, -EINVAL, "record 2 at offset 100");
}

static void test_caplen_larger_than_file(void **state)
{
	(void)state;
	struct cap c;
	cap_header(&c, 0, 0xa1b2c3d4, 1);
	cap_record(&c, 0, 0, 200000, 200000, 50);
	expect_reject(c.b, c.len, 0, -EINVAL, "record 1 at offset 24");
	cap_header(&c, 1, 0xa1b2c3d4, 1);
	cap_record(&c, 0, 0, 0xffffffff, 0xffffffff, 50);
	expect_reject(c.b, c.len, 0, -EINVAL, "caplen 4294967295 exceeds 262144");
	cap_header(&c, 0, 0xa1b2c3d4, 1);
	cap_record(&c, 0, 0, 262145, 262145, 0);
	expect_reject(c.b, c.len, 0, -EINVAL, "caplen 262145 exceeds 262144");
}

static void test_caplen_above_origlen(void **state)
{
	(void)state;
	struct cap c;
	cap_header(&c, 0, 0xa1b2c3d4, 1);
	cap_record(&c, 0, 0, 60, 59, 60);
	expect_reject(c.b, c.len, 0, -EINVAL, "caplen 60 exceeds origlen 59");
}

static void test_open_errors(void **state)
{
	(void)state;
	struct hnv_pcap_reader *r = (void *)1;
	char err[256];
	assert_int_equal(hnv_pcap_open_read("/nonexistent/x.pcap", &r, err, sizeof(err)), -ENOENT);
	assert_null(r);
	assert_string_equal(err, "/nonexistent/x.pcap: No such file or directory");
	assert_int_equal(hnv_pcap_open_read("/tmp", &r, err, sizeof(err)), -EISDIR);
	assert_null(r);
	/* A tiny error buffer is filled as far as it goes; none at all is fine. */
	char small[8];
	assert_int_equal(hnv_pcap_open_read("/nonexistent/x.pcap", &r, small, sizeof(small)),
			 -ENOENT);
	assert_string_equal(small, "/nonexi");
	assert_int_equal(hnv_pcap_open_read("/nonexistent/x.pcap", &r, NULL, 0), -ENOENT);
}

/* Every single-bit flip of a good capture parses or fails cleanly. */
static void test_bit_flips(void **state)
{
	(void)state;
	size_t len;
	uint8_t *good = slurp(TESTDATA, &len);
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	unsigned ok = 0, rejected = 0;
	for (size_t i = 0; i < len * 8; i++) {
		memcpy(buf, good, len);
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		struct hnv_pcap_reader *r;
		char err[256];
		if (hnv_pcap_open_mem(buf, len, &r, err, sizeof(err)) != 0) {
			rejected++;
			continue;
		}
		const uint8_t *data;
		uint32_t caplen;
		int ret;
		unsigned sum = 0;
		while ((ret = hnv_pcap_next(r, &data, &caplen, NULL, NULL)) == 1)
			for (uint32_t k = 0; k < caplen; k++)
				sum += data[k];
		(void)sum;
		if (ret < 0)
			rejected++;
		else
			ok++;
		hnv_pcap_close_reader(r);
	}
	/* Flips in the frame bytes, timestamps and origlen upward still parse. */
	assert_true(ok > 0);
	assert_true(rejected > 0);
	free(buf);
	free(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_write_limits),
		cmocka_unit_test(test_write_failure_reported),
		cmocka_unit_test(test_testdata),
		cmocka_unit_test(test_byte_orders),
		cmocka_unit_test(test_empty_capture),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_not_ethernet),
		cmocka_unit_test(test_truncated_header),
		cmocka_unit_test(test_truncated_record_header),
		cmocka_unit_test(test_truncated_record),
		cmocka_unit_test(test_caplen_larger_than_file),
		cmocka_unit_test(test_caplen_above_origlen),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_bit_flips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
