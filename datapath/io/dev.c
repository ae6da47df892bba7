/* dev.c: a VM port on a device someone else created (port add --dev IF):
 * a qemu/libvirt TAP (vnetN, held by qemu) or the host end of a veth into
 * a container or namespace. hnvgwd never creates, deletes, moves or
 * reconfigures the device; it only opens a socket on it.
 *
 * One AF_PACKET SOCK_RAW socket bound to the device's ifindex, frames
 * whole (Ethernet header on), with PACKET_VNET_HDR:
 *   hnv_io_dev_ops         (type "dev") receives every frame that arrives
 *                          on the device (not the ones sent out of it:
 *                          PACKET_IGNORE_OUTGOING) and sends. The C engine
 *                          forwards the port (--datapath userspace, or the
 *                          fast path did not load).
 *   hnv_io_dev_txonly_ops  (type "dev-tx") only sends: the fast path's
 *                          program on the device's ingress serves what
 *                          arrives, and what it punts reaches the engine
 *                          through the punt channel. The socket is bound
 *                          with protocol 0 (no frame is queued to it) and
 *                          carries a drop-all filter on top, so a frame is
 *                          never handled by both tiers.
 *
 * Checksums: a frame whose checksum its sender left partial (a local
 * stack's CHECKSUM_PARTIAL, virtio NEEDS_CSUM) is completed before the
 * engine sees it, as tap.c does. A GSO super-frame (the sender's TSO/GSO
 * on a veth or a qemu TAP with offloads) cannot be forwarded by the engine
 * as one frame: it is counted in rx_errors; turn segmentation offloads off
 * on the sending side (ethtool -K IF tso off gso off) for ports the C
 * engine serves. Frames sent carry a zero vnet header (complete packets).
 *
 * The device must exist at open (the change that names a missing device is
 * refused with its name); if it goes away later, sends fail (tx_errors)
 * and nothing is received until the port is added again.
 */
#include "io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

struct dev {
	struct hnv_io_port io; /* first: the ops see a struct hnv_io_port */
	int ifindex;
	struct hnv_io_vnet b; /* rx only (one thread) */
};

static int dev_open_common(const char *name, bool rx, struct hnv_io_port **out, char *err,
			   size_t errlen)
{
	if (strlen(name) > IF_NAMESIZE - 1) {
		snprintf(err, errlen, "device %s: interface names have at most %d characters", name,
			 IF_NAMESIZE - 1);
		return -EINVAL;
	}
	unsigned ifindex = if_nametoindex(name);
	if (ifindex == 0) {
		int rc = errno == ENODEV || errno == ENXIO ? -ENODEV : -errno;
		snprintf(err, errlen,
			 "device %s does not exist (a port with --dev attaches to an existing "
			 "device; hnvgwd does not create it)",
			 name);
		return rc;
	}
	struct dev *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	d->io.ops = rx ? &hnv_io_dev_ops : &hnv_io_dev_txonly_ops;
	d->ifindex = (int)ifindex;
	snprintf(d->io.name, sizeof(d->io.name), "%s", name);
	struct sock_filter drop[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
	struct sock_fprog none = {.len = 1, .filter = drop};
	int one = 1, rcvbuf = 4 << 20;
	const char *what = "socket(AF_PACKET, SOCK_RAW)";
	/* protocol 0: nothing is queued before the socket is set up */
	if ((d->io.fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	what = "SO_ATTACH_FILTER";
	if (!rx && setsockopt(d->io.fd, SOL_SOCKET, SO_ATTACH_FILTER, &none, sizeof(none)))
		goto fail;
	what = "PACKET_VNET_HDR";
	if (setsockopt(d->io.fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)))
		goto fail;
	/* not fatal: older kernels only cost a filter run on our own frames */
	(void)setsockopt(d->io.fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	if (rx)
		(void)setsockopt(d->io.fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_protocol = rx ? htons(ETH_P_ALL) : 0,
				  .sll_ifindex = (int)ifindex};
	what = "bind(AF_PACKET)";
	if (bind(d->io.fd, (struct sockaddr *)&sll, sizeof(sll)))
		goto fail;
	*out = &d->io;
	return 0;
fail:;
	int rc = -errno;
	snprintf(err, errlen, "device %s: %s: %s", name, what, strerror(errno));
	if (d->io.fd >= 0)
		close(d->io.fd);
	free(d);
	return rc;
}

static int dev_open(const char *name, const struct hnv_mac *mac, struct hnv_io_port **out,
		    char *err, size_t errlen)
{
	(void)mac; /* the device's MAC is its owner's */
	return dev_open_common(name, true, out, err, errlen);
}

static int dev_open_txonly(const char *name, const struct hnv_mac *mac, struct hnv_io_port **out,
			   char *err, size_t errlen)
{
	(void)mac;
	return dev_open_common(name, false, out, err, errlen);
}

static int dev_rx(struct hnv_io_port *port, struct hnv_pkt **pkts, unsigned n, uint16_t in_port)
{
	struct dev *d = (struct dev *)port;
	return hnv_io_vnet_rx(port, port->fd, &d->b, pkts, n, in_port);
}

static int dev_rx_none(struct hnv_io_port *port, struct hnv_pkt **pkts, unsigned n,
		       uint16_t in_port)
{
	(void)port;
	(void)pkts;
	(void)n;
	(void)in_port;
	return 0;
}

static int dev_tx(struct hnv_io_port *port, struct hnv_pkt **pkts, unsigned n)
{
	/* the caller's buffers: several forwarding threads may send at once
	 * (io.h); d->b is rx's */
	struct hnv_io_vnet b;
	unsigned sent = 0;
	while (n) {
		unsigned m = n > HNV_IO_VNET_BATCH ? HNV_IO_VNET_BATCH : n;
		for (unsigned i = 0; i < m; i++)
			hnv_io_vnet_put(&b, i, pkts[i]->data, pkts[i]->len);
		sent += hnv_io_send_batch(port, port->fd, b.msgs, m, b.bytes);
		pkts += m;
		n -= m;
	}
	return (int)sent;
}

const struct hnv_io_ops hnv_io_dev_ops = {
	.type = "dev",
	.open = dev_open,
	.prepare = NULL,
	.rx = dev_rx,
	.tx = dev_tx,
	.close = hnv_io_close_simple,
};

const struct hnv_io_ops hnv_io_dev_txonly_ops = {
	.type = "dev-tx",
	.open = dev_open_txonly,
	.prepare = NULL,
	.rx = dev_rx_none,
	.tx = dev_tx,
	.close = hnv_io_close_simple,
};
