/* fuzz_pcap.c: libFuzzer harness for the pcap reader (datapath/io/pcap.c).
 *
 * Parses the input as a whole capture through the memory reader and touches
 * every byte of every record it returns, so ASan catches any record that
 * points outside the input. A rejected input must leave an error message;
 * the reader must never hand out more records than the input can hold. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../datapath/io/pcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	struct hnv_pcap_reader *r;
	char err[256];
	if (hnv_pcap_open_mem(buf, len, &r, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	const uint8_t *data;
	uint32_t caplen, origlen;
	uint64_t ts_ns;
	size_t records = 0, bytes = 24;
	volatile uint8_t sink = 0;
	int ret;
	while ((ret = hnv_pcap_next(r, &data, &caplen, &origlen, &ts_ns)) == 1) {
		records++;
		bytes += 16 + (size_t)caplen;
		if (bytes > len || caplen > origlen || caplen > HNV_PCAP_MAX_CAPLEN)
			abort();
		for (uint32_t i = 0; i < caplen; i++)
			sink ^= data[i];
	}
	(void)sink;
	(void)records;
	if (ret < 0 && hnv_pcap_reader_error(r)[0] == '\0')
		abort();
	if (ret == 0 && bytes != len)
		abort();
	/* Sticky: the end or the error is reported again. */
	if (hnv_pcap_next(r, &data, &caplen, &origlen, &ts_ns) != ret)
		abort();
	hnv_pcap_close_reader(r);
	return 0;
}
