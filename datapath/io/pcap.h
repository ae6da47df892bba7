/* pcap.h: classic pcap (libpcap file format) reader and writer.
 *
 * Our own small codec, no libpcap: the replay backend and the tests read
 * captures with it and write one capture per egress port.
 *
 * Reader: accepts both byte orders, microsecond (0xa1b2c3d4) and nanosecond
 * (0xa1b23c4d) timestamps, version 2.x, and link type 1 (Ethernet) only.
 * Every record length is checked before it is used: caplen must be at most
 * HNV_PCAP_MAX_CAPLEN, no larger than origlen, and no larger than what is
 * left of the input (0 is a valid, empty record). A truncated record or
 * header is an error, never a short read handed on.
 * pcapng and other formats are rejected with a message saying so.
 *
 * Writer: microsecond timestamps, little-endian, snaplen HNV_PCAP_MAX_CAPLEN,
 * link type 1, each frame written whole (caplen == origlen).
 *
 * Errors: functions return 0 (or 1, see hnv_pcap_next) or a negative errno:
 * -EINVAL for a malformed or unsupported file, -ENOMEM, -EIO for a failed
 * read, or the errno of a failed open/write/close.
 */
#ifndef HNV_PCAP_H
#define HNV_PCAP_H

#include <stddef.h>
#include <stdint.h>

#define HNV_PCAP_MAX_CAPLEN 262144u
#define HNV_PCAP_LINKTYPE_ETHERNET 1u

struct hnv_pcap_reader;
struct hnv_pcap_writer;

/* Opens the capture at path and validates its global header. On success
 * returns 0 and a reader in *out (free with hnv_pcap_close_reader). On error
 * returns a negative errno, *out is NULL, and err (if errlen > 0) says what
 * was wrong and with which value, e.g. "x.pcap: link type 113 is not
 * Ethernet (1)". The file is read sequentially; it may be a pipe. */
int hnv_pcap_open_read(const char *path, struct hnv_pcap_reader **out, char *err, size_t errlen);

/* Same as hnv_pcap_open_read over len bytes at buf. The reader borrows buf:
 * it must stay valid and unchanged until hnv_pcap_close_reader. */
int hnv_pcap_open_mem(const uint8_t *buf, size_t len, struct hnv_pcap_reader **out, char *err,
		      size_t errlen);

/* Returns the next record: 1 with *data and *caplen set (and *origlen, *ts_ns
 * when those pointers are non-NULL; ts_ns is nanoseconds since the epoch),
 * 0 at a clean end of input, or a negative errno for a malformed record or a
 * read error (the message is in hnv_pcap_reader_error). *data stays valid
 * until the next call on r or its close. End of input and errors are sticky:
 * later calls return the same value again. */
int hnv_pcap_next(struct hnv_pcap_reader *r, const uint8_t **data, uint32_t *caplen,
		  uint32_t *origlen, uint64_t *ts_ns);

/* The message of the last error on r ("" if none): names the record number
 * (1-based), its byte offset and the bad value. Valid until r is closed. */
const char *hnv_pcap_reader_error(const struct hnv_pcap_reader *r);

/* Frees r. Accepts NULL. */
void hnv_pcap_close_reader(struct hnv_pcap_reader *r);

/* Creates or truncates path and writes the global header. Returns 0 and a
 * writer in *out, or a negative errno (*out is NULL). */
int hnv_pcap_open_write(const char *path, struct hnv_pcap_writer **out);

/* Appends one frame of len bytes with timestamp ts_ns (nanoseconds since
 * the epoch, stored as seconds + microseconds). Returns 0, -EMSGSIZE if len
 * exceeds HNV_PCAP_MAX_CAPLEN, -ERANGE if the seconds do not fit 32 bits, or
 * the errno of a failed write. A failed write makes the writer unusable:
 * later writes and the close return the same error. */
int hnv_pcap_write(struct hnv_pcap_writer *w, const void *frame, uint32_t len, uint64_t ts_ns);

/* Flushes and closes the file and frees w (always, even on error). Returns
 * 0 only if every write, the flush and the close succeeded; otherwise the
 * first negative errno. Accepts NULL (returns 0). */
int hnv_pcap_close_writer(struct hnv_pcap_writer *w);

#endif
