/* common.c: what the I/O backends share (io.h): packet reset, the
 * virtio-net partial checksum, the sendmmsg loop, the simple close. */
#include "io.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

void hnv_io_pkt_reset(struct hnv_pkt *p, uint16_t in_port)
{
	p->data = p->buf + HNV_PKT_HEADROOM;
	p->in_port = in_port;
	p->out_port = 0;
	p->reason = 0;
	p->flags = 0;
	p->vsid = 0;
	p->trace = NULL;
}

int hnv_io_finish_csum(uint8_t *f, size_t len, size_t start, size_t offset)
{
	if (start >= len || offset > len - start || len - start - offset < 2)
		return -EINVAL;
	uint32_t sum = 0;
	size_t i = start;
	for (; i + 1 < len; i += 2)
		sum += (uint32_t)f[i] << 8 | f[i + 1];
	if (i < len)
		sum += (uint32_t)f[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	uint16_t c = (uint16_t)~sum;
	if (c == 0 && offset == 6) /* UDP: 0 would mean "no checksum" */
		c = 0xffff;
	f[start + offset] = (uint8_t)(c >> 8);
	f[start + offset + 1] = (uint8_t)c;
	return 0;
}

unsigned hnv_io_send_batch(struct hnv_io_port *port, int fd, struct mmsghdr *msgs, unsigned m,
			   const size_t *bytes)
{
	unsigned off = 0, sent = 0;
	while (off < m) {
		int s = sendmmsg(fd, msgs + off, m - off, MSG_DONTWAIT);
		if (s <= 0) {
			if (s < 0 && errno == EINTR)
				continue;
			/* the first message failed: count it, go on with the rest */
			hnv_io_count(&port->st.tx_errors, 1);
			off++;
			continue;
		}
		for (int i = 0; i < s; i++)
			hnv_io_count(&port->st.tx_bytes, bytes[off + (unsigned)i]);
		hnv_io_count(&port->st.tx_packets, (uint64_t)s);
		sent += (unsigned)s;
		off += (unsigned)s;
	}
	return sent;
}

void hnv_io_close_simple(struct hnv_io_port *port)
{
	if (!port)
		return;
	close(port->fd);
	free(port);
}
