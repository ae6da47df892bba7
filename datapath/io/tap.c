/* tap.c: one VM port as a TAP device (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR).
 *
 * The device is created with the port's name and MAC in the daemon's
 * network namespace; it may then be moved into the VM's namespace (the fd
 * keeps working). It disappears when the port is closed, except with
 * hnv_io_tap_persist_ops (the gateway role's ports): that device stays, with
 * its VRF, addresses and routes, while hnvgwd restarts, and opening the same
 * name attaches to it again; hnvgwd's reconciliation deletes the ones no
 * longer configured.
 *
 * Checksums: the device announces TUN_F_CSUM, so the VM's stack may hand us
 * TCP/UDP with a partial checksum (virtio VIRTIO_NET_HDR_F_NEEDS_CSUM, the
 * CHECKSUM_PARTIAL of the kernel): rx completes it before the engine sees
 * the frame, so what leaves this host is always a complete, correct packet.
 * Segmentation offloads are not announced: the kernel segments before the
 * frame reaches us (NVGRE must not exceed the provider MTU anyway). Frames
 * written to the VM carry flags 0: the VM verifies checksums itself, so a
 * corrupted frame from the provider network is never declared valid.
 */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#define VNET_HLEN ((unsigned)sizeof(struct virtio_net_hdr))

struct tap {
	struct hnv_io_port io;
};

static int tap_open_common(const char *name, const struct hnv_mac *mac, bool persist,
			   struct hnv_io_port **out, char *err, size_t errlen)
{
	struct ifreq ifr = {0};
	if (strlen(name) >= sizeof(ifr.ifr_name)) {
		snprintf(err, errlen,
			 "port %s: a TAP device name has at most %zu characters; use a shorter "
			 "port name",
			 name, sizeof(ifr.ifr_name) - 1);
		return -EINVAL;
	}
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int rc = -errno;
		snprintf(err, errlen, "port %s: /dev/net/tun: %s", name, strerror(errno));
		return rc;
	}
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	const char *what = "TUNSETIFF";
	if (ioctl(fd, TUNSETIFF, &ifr))
		goto fail;
	what = "TUNSETPERSIST";
	if (persist && ioctl(fd, TUNSETPERSIST, 1L))
		goto fail;
	what = "TUNSETOFFLOAD";
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM))
		goto fail;
	if (mac) {
		struct ifreq hw = {0};
		memcpy(hw.ifr_name, name, strlen(name) + 1);
		hw.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(hw.ifr_hwaddr.sa_data, mac->b, 6);
		what = "SIOCSIFHWADDR";
		if (ioctl(fd, SIOCSIFHWADDR, &hw))
			goto fail;
	}
	struct tap *t = calloc(1, sizeof(*t));
	if (!t) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->io.ops = persist ? &hnv_io_tap_persist_ops : &hnv_io_tap_ops;
	t->io.fd = fd;
	snprintf(t->io.name, sizeof(t->io.name), "%s", name);
	*out = &t->io;
	return 0;
fail:;
	int rc = -errno;
	snprintf(err, errlen, "port %s: TAP device: %s: %s", name, what, strerror(errno));
	close(fd);
	return rc;
}

static int tap_open(const char *name, const struct hnv_mac *mac, struct hnv_io_port **out,
		    char *err, size_t errlen)
{
	return tap_open_common(name, mac, false, out, err, errlen);
}

static int tap_open_persist(const char *name, const struct hnv_mac *mac, struct hnv_io_port **out,
			    char *err, size_t errlen)
{
	return tap_open_common(name, mac, true, out, err, errlen);
}

static int tap_rx(struct hnv_io_port *port, struct hnv_pkt **pkts, unsigned n, uint16_t in_port)
{
	unsigned k = 0;
	while (k < n) {
		struct hnv_pkt *p = pkts[k];
		uint8_t *at = p->buf + HNV_PKT_HEADROOM - VNET_HLEN;
		ssize_t r = read(port->fd, at, HNV_PKT_BUFSIZE - HNV_PKT_HEADROOM + VNET_HLEN);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EIO)
				break; /* EIO: the device is down */
			return k ? (int)k : -errno;
		}
		struct virtio_net_hdr h;
		if ((size_t)r < VNET_HLEN + 14) {
			hnv_io_count(&port->st.rx_errors, 1);
			continue;
		}
		memcpy(&h, at, sizeof(h));
		hnv_io_pkt_reset(p, in_port);
		p->len = (uint32_t)((size_t)r - VNET_HLEN);
		if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE ||
		    ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
		     hnv_io_finish_csum(p->data, p->len, h.csum_start, h.csum_offset))) {
			hnv_io_count(&port->st.rx_errors, 1);
			continue;
		}
		hnv_io_count(&port->st.rx_bytes, p->len);
		k++;
	}
	hnv_io_count(&port->st.rx_packets, k);
	return (int)k;
}

static int tap_tx(struct hnv_io_port *port, struct hnv_pkt **pkts, unsigned n)
{
	struct virtio_net_hdr h = {.flags = 0, .gso_type = VIRTIO_NET_HDR_GSO_NONE};
	unsigned sent = 0;
	for (unsigned i = 0; i < n; i++) {
		struct iovec iov[2] = {{&h, sizeof(h)}, {pkts[i]->data, pkts[i]->len}};
		ssize_t w;
		do
			w = writev(port->fd, iov, 2);
		while (w < 0 && errno == EINTR);
		if (w < 0) {
			hnv_io_count(&port->st.tx_errors, 1);
			continue;
		}
		hnv_io_count(&port->st.tx_bytes, pkts[i]->len);
		sent++;
	}
	hnv_io_count(&port->st.tx_packets, sent);
	return (int)sent;
}

const struct hnv_io_ops hnv_io_tap_ops = {
	.type = "tap",
	.open = tap_open,
	.prepare = NULL,
	.rx = tap_rx,
	.tx = tap_tx,
	.close = hnv_io_close_simple,
};

const struct hnv_io_ops hnv_io_tap_persist_ops = {
	.type = "tap-persistent",
	.open = tap_open_persist,
	.prepare = NULL,
	.rx = tap_rx,
	.tx = tap_tx,
	.close = hnv_io_close_simple,
};
