/* uplink.c: the provider uplink as a raw IPv4 socket for protocol 47.
 *
 * Why a raw IP socket and not AF_PACKET: this kernel has no GRE support,
 * so with AF_PACKET the kernel would still see every NVGRE packet and answer
 * it with ICMP protocol-unreachable unless a raw socket for protocol 47 is
 * open anyway; and AF_PACKET needs the next hop's MAC for each PA from the
 * kernel's neighbour table (netlink), including ARP resolution we would have
 * to trigger. A raw socket with IP_HDRINCL lets the kernel route the outer
 * packet and resolve its next hop (so ARP and provider routes work as for
 * any host traffic), verifies the outer IPv4 header before we see it, and
 * batches with recvmmsg/sendmmsg. The cost: outer IPv6 is not supported
 * here (IPv6 raw sockets hide the header), and the kernel reassembles outer
 * fragments before delivering them (RFC 7637 lets a receiver drop them; we
 * accept them instead).
 *
 * Receive: each datagram is the outer IPv4 header and what follows. An
 * Ethernet header (destination the uplink's MAC, type IPv4) is put in front
 * so the engine sees the frame it expects; HNV_PKT_F_L3_CSUM_OK is set
 * because the kernel checked the header checksum.
 *
 * Transmit: the engine's outer Ethernet header is stripped and the IPv4
 * packet (DF set, checksum and length filled by the kernel) is sent to its
 * destination PA. The engine wants a next-hop MAC for every remote PA;
 * prepare() supplies the uplink's own MAC as a placeholder for each PA named
 * by a lookup record, since the kernel chooses the real one.
 */
#include "io.h"
#include "steer.h"

#include "../../lib/vec.h"
#include "../policy_read.h"
#include "../proto.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define UPLINK_BATCH 64
#define ETH_HLEN 14

struct uplink {
	struct hnv_io_port io; /* first: the ops see a struct hnv_io_port */
	struct hnv_mac mac;
	unsigned mtu;
	struct mmsghdr msgs[UPLINK_BATCH];
	struct iovec iov[UPLINK_BATCH];
	size_t bytes[UPLINK_BATCH]; /* counted per message sent */
	struct sockaddr_in dst[UPLINK_BATCH];
};

static int uplink_open(const char *name, const struct hnv_mac *mac, struct hnv_io_port **out,
		       char *err, size_t errlen)
{
	(void)mac;
	struct ifreq ifr = {0};
	if (strlen(name) >= sizeof(ifr.ifr_name)) {
		snprintf(err, errlen, "uplink \"%s\": interface names have at most %zu characters",
			 name, sizeof(ifr.ifr_name) - 1);
		return -EINVAL;
	}
	struct uplink *u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	u->io.ops = &hnv_io_uplink_raw_ops;
	snprintf(u->io.name, sizeof(u->io.name), "%s", name);
	int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_GRE);
	int one = 1, rcvbuf = 4 << 20;
	int rc = 0;
	const char *what = "socket(AF_INET, SOCK_RAW, 47)";
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	u->io.fd = fd;
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, (socklen_t)strlen(name))) {
		rc = -errno;
		what = "SO_BINDTODEVICE";
		goto fail;
	}
	if (setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one))) {
		rc = -errno;
		what = "IP_HDRINCL";
		goto fail;
	}
	/* not fatal: the default buffer only loses more under bursts */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	if (ioctl(fd, SIOCGIFHWADDR, &ifr)) {
		rc = -errno;
		what = "SIOCGIFHWADDR";
		goto fail;
	}
	memcpy(u->mac.b, ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(fd, SIOCGIFMTU, &ifr)) {
		rc = -errno;
		what = "SIOCGIFMTU";
		goto fail;
	}
	u->mtu = (unsigned)ifr.ifr_mtu;
	*out = &u->io;
	return 0;
fail:
	snprintf(err, errlen, "uplink %s: %s: %s", name, what, strerror(-rc));
	if (fd >= 0)
		close(fd);
	free(u);
	return rc;
}

struct pa_fill {
	struct hnv_dp *dp;
	const struct hnv_policy *pol;
	const struct hnv_mac *mac;
	bool v6;
	struct hnv_ip *seen; /* PAs already set */
	size_t n_seen, cap;
	int rc;
};

static int fill_pa(const struct hnv_rec *r, void *arg)
{
	struct pa_fill *f = arg;
	if ((!f->v6 && !hnv_ip_is_v4(&r->pa)) || hnv_policy_is_local_pa(f->pol, &r->pa))
		return 0;
	/* hnv_dp_neigh_set replaces an existing entry: duplicates are harmless
	 * but cost a grace period each, so skip PAs already set */
	for (size_t i = 0; i < f->n_seen; i++)
		if (hnv_ip_eq(&f->seen[i], &r->pa))
			return 0;
	if (HNV_GROW(f->seen, f->cap, f->n_seen + 1)) {
		f->rc = -ENOMEM;
		return 0;
	}
	f->seen[f->n_seen++] = r->pa;
	int rc = hnv_dp_neigh_set(f->dp, &r->pa, f->mac);
	if (rc)
		f->rc = rc;
	return 0;
}

int hnv_io_placeholder_neigh(struct hnv_dp *dp, const struct hnv_mac *mac, bool v6)
{
	struct pa_fill f = {.dp = dp, .pol = hnv_dp_policy(dp), .mac = mac, .v6 = v6};
	hnv_policy_rec_foreach(f.pol, fill_pa, &f);
	free(f.seen);
	return f.rc;
}

static int uplink_prepare(struct hnv_io_port *port, struct hnv_dp *dp, char *err, size_t errlen)
{
	struct uplink *u = (struct uplink *)port;
	hnv_dp_set_uplink(dp, &u->mac, 0);
	int rc = hnv_io_placeholder_neigh(dp, &u->mac, false);
	if (rc)
		snprintf(err, errlen, "uplink %s: cannot register next hops: %s", port->name,
			 strerror(-rc));
	return rc;
}

static int uplink_rx(struct hnv_io_port *port, struct hnv_pkt **pkts, unsigned n, uint16_t in_port)
{
	struct uplink *u = (struct uplink *)port;
	if (n > UPLINK_BATCH)
		n = UPLINK_BATCH;
	for (unsigned i = 0; i < n; i++) {
		u->iov[i].iov_base = pkts[i]->buf + HNV_PKT_HEADROOM + ETH_HLEN;
		u->iov[i].iov_len = HNV_PKT_BUFSIZE - HNV_PKT_HEADROOM - ETH_HLEN;
		u->msgs[i].msg_hdr = (struct msghdr){.msg_iov = &u->iov[i], .msg_iovlen = 1};
	}
	int got = recvmmsg(port->fd, u->msgs, n, MSG_DONTWAIT, NULL);
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
	unsigned k = 0;
	for (int i = 0; i < got; i++) {
		struct hnv_pkt *p = pkts[i];
		if (u->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			hnv_io_count(&port->st.rx_errors, 1);
			continue;
		}
		if (k != (unsigned)i) { /* keep the filled packets contiguous */
			struct hnv_pkt *t = pkts[k];
			pkts[k] = p;
			pkts[i] = t;
		}
		hnv_io_pkt_reset(p, in_port);
		p->len = ETH_HLEN + u->msgs[i].msg_len;
		hnv_eth_write(p->data, &u->mac, &(struct hnv_mac){{0}}, HNV_ET_IPV4);
		p->flags = HNV_PKT_F_L3_CSUM_OK;
		hnv_io_count(&port->st.rx_bytes, p->len);
		k++;
	}
	hnv_io_count(&port->st.rx_packets, k);
	return (int)k;
}

static int uplink_tx(struct hnv_io_port *port, struct hnv_pkt **pkts, unsigned n)
{
	struct uplink *u = (struct uplink *)port;
	unsigned sent_total = 0;
	while (n) {
		unsigned m = 0, take = n > UPLINK_BATCH ? UPLINK_BATCH : n;
		for (unsigned i = 0; i < take; i++) {
			struct hnv_pkt *p = pkts[i];
			/* the engine emits an outer IPv4 header right after Ethernet */
			if (p->len < ETH_HLEN + 20 || p->data[12] != 0x08 || p->data[13] != 0x00) {
				hnv_io_count(&port->st.tx_errors, 1);
				continue;
			}
			u->dst[m] = (struct sockaddr_in){.sin_family = AF_INET};
			memcpy(&u->dst[m].sin_addr, p->data + ETH_HLEN + 16, 4);
			u->iov[m].iov_base = p->data + ETH_HLEN;
			u->iov[m].iov_len = p->len - ETH_HLEN;
			u->msgs[m].msg_hdr = (struct msghdr){.msg_name = &u->dst[m],
							     .msg_namelen = sizeof(u->dst[m]),
							     .msg_iov = &u->iov[m],
							     .msg_iovlen = 1};
			u->bytes[m] = u->iov[m].iov_len;
			m++;
		}
		pkts += take;
		n -= take;
		sent_total += hnv_io_send_batch(port, port->fd, u->msgs, m, u->bytes);
	}
	return (int)sent_total;
}

/* Every raw socket for protocol 47 gets its own copy of every NVGRE
 * packet: with several forwarding threads each instance filters its share
 * (steer.h; the socket sees the outer IPv4 header first). Raw sockets have
 * no fanout: the kernel clones each packet for every thread's socket and
 * runs every thread's filter on it. */
static int uplink_steer(struct hnv_io_port *const *ports, unsigned n, char *err, size_t errlen)
{
	for (unsigned k = 0; k < n; k++) {
		struct sock_filter code[HNV_STEER_PROG_MAX];
		int len = hnv_steer_filter(code, HNV_STEER_L3, k, n);
		int rc = len < 0 ? len : hnv_io_set_filter(ports[k]->fd, code, (unsigned)len);
		if (rc) {
			snprintf(err, errlen, "uplink %s: steering filter of thread %u of %u: %s",
				 ports[k]->name, k, n, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

const struct hnv_io_ops hnv_io_uplink_raw_ops = {
	.type = "uplink-raw",
	.open = uplink_open,
	.prepare = uplink_prepare,
	.rx = uplink_rx,
	.tx = uplink_tx,
	.close = hnv_io_close_simple,
	.steer = uplink_steer,
};
