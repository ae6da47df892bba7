/* common.c: what the I/O backends share (io.h): packet reset, the
 * virtio-net partial checksum and its recognition in punted frames, the
 * sendmmsg loop, socket filters, the simple close. */
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

/* ---- partial checksums of punted frames ----
 *
 * A frame that left a sender's kernel without its TCP/UDP checksum is
 * CHECKSUM_PARTIAL there: the sum is left to whoever sends it out
 * (csum_start/csum_offset say where), and the checksum field holds the
 * folded pseudo-header sum, not complemented. The kernel writes it so:
 * __tcp_v4_send_check sets th->check = ~tcp_v4_check(skb->len, saddr,
 * daddr, 0), and tcp_v4_check is csum_tcpudp_magic, which complements
 * csum_fold(csum_tcpudp_nofold(...)): the complement of a complement, the
 * folded sum of addresses, protocol and L4 length (as 16-bit words with
 * end-around carry; never 0, the protocol being nonzero). udp4_hwcsum
 * (uh->check = ~csum_tcpudp_magic(src, dst, len, IPPROTO_UDP, 0)),
 * __tcp_v6_send_check and udp6_hwcsum_outgoing (~csum_ipv6_magic) do the
 * same for the other three. A virtio guest with checksum offload sends the same
 * (VIRTIO_NET_HDR_F_NEEDS_CSUM: the host's virtio_net_hdr_to_skb turns
 * csum_start/csum_offset into a CHECKSUM_PARTIAL skb; the field holds what
 * the guest's stack wrote there, that pseudo-header sum).
 *
 * Between namespaces (veth, bridge, tc encapsulation and redirects) no
 * device ever finishes the sum: the skb keeps the state, and whoever
 * receives it as CHECKSUM_PARTIAL trusts it. The fast path's punt copy
 * (bpf_perf_event_output of the skb) carries the bytes only; the state is
 * lost, and a frame written from it into a TAP arrives with a checksum
 * that does not verify: the receiving kernel drops it (tcpdump in the VM:
 * "cksum 0x143a (incorrect -> ...)", 0x143a being the pseudo-header sum
 * of 10.0.0.5 -> 10.0.0.7, TCP, length 40).
 *
 * Userspace cannot see ip_summed, so the frame itself has to tell: a TCP or
 * UDP checksum that does not verify while its field equals exactly the
 * folded pseudo-header sum is what a partial frame carries, and finishing
 * it (hnv_io_finish_csum) writes what the sender's NIC would have. Any
 * other checksum that does not verify is left bad, for the receiver to
 * drop as it would have. A sender can make a frame look partial only by
 * writing that sum itself, and could as well have written the right one:
 * nothing is gained by it. Not touched: fragments (the sum covers the whole
 * datagram), IPv4 UDP with checksum 0 (none), IPv6 with extension headers,
 * anything malformed. Punted NVGRE packets (the fast path punts the outer
 * packet when the C engine decapsulates) are looked into once: the inner
 * frame is the partial one, the outer IP header is complete and NVGRE's GRE
 * header has no checksum, so nothing outside the inner L4 changes. */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint64_t sum16(uint64_t s, const uint8_t *p, size_t n)
{
	size_t i = 0;
	for (; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (i < n)
		s += (uint32_t)p[i] << 8;
	return s;
}

static uint16_t fold16(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static bool partial_eth(uint8_t *f, size_t len, size_t off, bool nvgre);

/* The IP packet at f[off..len) of EtherType type. nvgre: an NVGRE packet
 * may be looked into. */
static bool partial_ip(uint8_t *f, size_t len, size_t off, uint16_t type, bool nvgre)
{
	size_t l4, end;
	uint8_t proto;
	uint64_t pseudo;
	bool v4 = type == 0x0800;
	if (off > len)
		return false;
	const uint8_t *ip = f + off;
	if (v4) {
		if (len - off < 20 || ip[0] >> 4 != 4)
			return false;
		size_t ihl = (size_t)(ip[0] & 0x0f) * 4, tot = rd16(ip + 2);
		if (ihl < 20 || tot < ihl || tot > len - off)
			return false;
		if (rd16(ip + 6) & 0x3fff) /* MF or a fragment offset */
			return false;
		proto = ip[9];
		l4 = off + ihl;
		end = off + tot;
		pseudo = sum16(0, ip + 12, 8);
	} else if (type == 0x86dd) {
		if (len - off < 40 || ip[0] >> 4 != 6)
			return false;
		size_t plen = rd16(ip + 4);
		if (plen > len - off - 40)
			return false;
		proto = ip[6]; /* an extension header is not looked past */
		l4 = off + 40;
		end = l4 + plen;
		pseudo = sum16(0, ip + 8, 32);
	} else {
		return false;
	}
	size_t l4len = end - l4, at;
	if (proto == 47) {
		/* NVGRE: key present, no checksum or sequence, TEB */
		if (!nvgre || l4len < 8 || rd16(f + l4) != 0x2000 || rd16(f + l4 + 2) != 0x6558)
			return false;
		return partial_eth(f, end, l4 + 8, false);
	} else if (proto == 6) {
		if (l4len < 20)
			return false;
		at = 16;
	} else if (proto == 17) {
		if (l4len < 8 || rd16(f + l4 + 4) != l4len)
			return false;
		if (v4 && rd16(f + l4 + 6) == 0) /* no checksum */
			return false;
		at = 6;
	} else {
		return false;
	}
	pseudo += proto + l4len;
	if (fold16(sum16(pseudo, f + l4, l4len)) == 0xffff)
		return false; /* verifies */
	if (rd16(f + l4 + at) != fold16(pseudo))
		return false; /* plainly wrong: stays so */
	return hnv_io_finish_csum(f, end, l4, at) == 0;
}

/* The Ethernet frame at f[off..len): up to two VLAN tags. */
static bool partial_eth(uint8_t *f, size_t len, size_t off, bool nvgre)
{
	if (off > len || len - off < 14)
		return false;
	uint16_t type = rd16(f + off + 12);
	off += 14;
	for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8); tags++) {
		if (len - off < 4)
			return false;
		type = rd16(f + off + 2);
		off += 4;
	}
	return partial_ip(f, len, off, type, nvgre);
}

bool hnv_io_csum_complete_partial(uint8_t *f, size_t len)
{
	return partial_eth(f, len, 0, true);
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

int hnv_io_set_filter(int fd, const struct sock_filter *code, unsigned len)
{
	struct sock_fprog prog = {.len = (unsigned short)len, .filter = (struct sock_filter *)code};
	if (len > BPF_MAXINSNS || setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
		return len > BPF_MAXINSNS ? -E2BIG : -errno;
	uint8_t buf[64];
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC) >= 0)
		;
	return 0;
}

void hnv_io_close_simple(struct hnv_io_port *port)
{
	if (!port)
		return;
	close(port->fd);
	free(port);
}

int hnv_io_vnet_rx(struct hnv_io_port *port, int fd, struct hnv_io_vnet *b, struct hnv_pkt **pkts,
		   unsigned n, uint16_t in_port)
{
	const size_t vlen = sizeof(struct virtio_net_hdr);
	if (n > HNV_IO_VNET_BATCH)
		n = HNV_IO_VNET_BATCH;
	for (unsigned i = 0; i < n; i++) {
		b->iov[i][0] = (struct iovec){&b->vh[i], vlen};
		b->iov[i][1] = (struct iovec){pkts[i]->buf + HNV_PKT_HEADROOM,
					      HNV_PKT_BUFSIZE - HNV_PKT_HEADROOM};
		b->msgs[i].msg_hdr = (struct msghdr){.msg_iov = b->iov[i], .msg_iovlen = 2};
	}
	int got = recvmmsg(fd, b->msgs, n, MSG_DONTWAIT, NULL);
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
	unsigned k = 0;
	for (int i = 0; i < got; i++) {
		struct hnv_pkt *p = pkts[i];
		const struct virtio_net_hdr *h = &b->vh[i];
		size_t len = b->msgs[i].msg_len;
		bool bad = (b->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) || len < vlen + 14 ||
			   h->gso_type != VIRTIO_NET_HDR_GSO_NONE;
		len -= bad ? 0 : vlen;
		uint8_t *f = p->buf + HNV_PKT_HEADROOM;
		if (!bad && (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			bad = hnv_io_finish_csum(f, len, h->csum_start, h->csum_offset) != 0;
		if (bad) {
			hnv_io_count(&port->st.rx_errors, 1);
			continue;
		}
		if (k != (unsigned)i) { /* keep the filled packets contiguous */
			pkts[i] = pkts[k];
			pkts[k] = p;
		}
		hnv_io_pkt_reset(p, in_port);
		p->len = (uint32_t)len;
		hnv_io_count(&port->st.rx_bytes, len);
		k++;
	}
	hnv_io_count(&port->st.rx_packets, k);
	return (int)k;
}

void hnv_io_vnet_put(struct hnv_io_vnet *b, unsigned i, uint8_t *frame, size_t len)
{
	static const struct virtio_net_hdr zero;
	b->iov[i][0] = (struct iovec){(void *)&zero, sizeof(zero)};
	b->iov[i][1] = (struct iovec){frame, len};
	b->msgs[i].msg_hdr = (struct msghdr){.msg_iov = b->iov[i], .msg_iovlen = 2};
	b->bytes[i] = len;
}
