/* garp.c: gratuitous ARP / unsolicited NA for a taken-over address (see
 * garp.h). The frames are built here byte by byte; nothing is parsed. */
#include "garp.h"

#include "../lib/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define ETH_HDR 14
#define ARP_LEN 28
#define ETH_MIN 60 /* without FCS: short frames are padded to this */
#define IP6_HDR 40
#define NA_LEN 32 /* ICMPv6 header 4, flags 4, target 16, option 8 */

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put(uint8_t *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

static uint8_t *eth(uint8_t *p, const uint8_t dst[6], const struct hnv_mac *src, uint16_t type)
{
	p = put(p, dst, 6);
	p = put(p, src->b, 6);
	return put16(p, type);
}

static size_t arp_frame(uint8_t *buf, const struct hnv_mac *mac, const struct hnv_ip *addr,
			uint16_t op)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t zero[6] = {0};
	const uint8_t *ip4 = addr->b + 12;
	uint8_t *p = eth(buf, bcast, mac, ETH_P_ARP);
	p = put16(p, ARPHRD_ETHER);
	p = put16(p, ETH_P_IP);
	*p++ = 6;
	*p++ = 4;
	p = put16(p, op);
	p = put(p, mac->b, 6);
	p = put(p, ip4, 4);
	/* target hardware address: unknown in a request, ours in a reply */
	p = put(p, op == ARPOP_REQUEST ? zero : mac->b, 6);
	p = put(p, ip4, 4);
	memset(p, 0, (size_t)(buf + ETH_MIN - p));
	return ETH_MIN;
}

/* The ICMPv6 checksum over the pseudo header (src, dst, length, next
 * header 58) and the message. */
static uint16_t icmp6_csum(const uint8_t *src, const uint8_t *dst, const uint8_t *msg, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i < 16; i += 2)
		s += (uint32_t)(src[i] << 8 | src[i + 1]) + (uint32_t)(dst[i] << 8 | dst[i + 1]);
	s += (uint32_t)(n >> 16) + (uint32_t)(n & 0xffff) + IPPROTO_ICMPV6;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(msg[i] << 8 | msg[i + 1]);
	if (n & 1)
		s += (uint32_t)msg[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static size_t na_frame(uint8_t *buf, const struct hnv_mac *mac, const struct hnv_ip *addr)
{
	static const uint8_t all_nodes_mac[6] = {0x33, 0x33, 0, 0, 0, 1};
	static const uint8_t all_nodes[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	uint8_t *p = eth(buf, all_nodes_mac, mac, ETH_P_IPV6);
	*p++ = 0x60; /* version 6, traffic class and flow label 0 */
	*p++ = 0;
	p = put16(p, 0);
	p = put16(p, NA_LEN);
	*p++ = IPPROTO_ICMPV6;
	*p++ = 255; /* hop limit: receivers drop ND with any other */
	p = put(p, addr->b, 16);
	p = put(p, all_nodes, 16);
	uint8_t *msg = p;
	*p++ = 136; /* Neighbor Advertisement */
	*p++ = 0;
	p = put16(p, 0); /* checksum, below */
	*p++ = 0xa0;     /* Router, Override; not Solicited */
	*p++ = 0;
	p = put16(p, 0);
	p = put(p, addr->b, 16);
	*p++ = 2; /* option: target link-layer address */
	*p++ = 1; /* length in units of 8 bytes */
	p = put(p, mac->b, 6);
	put16(msg + 2, icmp6_csum(addr->b, all_nodes, msg, NA_LEN));
	return (size_t)(p - buf);
}

size_t hnv_garp_frame(uint8_t *buf, size_t cap, const struct hnv_mac *mac,
		      const struct hnv_ip *addr, unsigned idx)
{
	if (cap < HNV_GARP_FRAME_MAX)
		return 0;
	if (hnv_ip_is_v4(addr))
		return idx == 0   ? arp_frame(buf, mac, addr, ARPOP_REQUEST)
		       : idx == 1 ? arp_frame(buf, mac, addr, ARPOP_REPLY)
				  : 0;
	return idx == 0 ? na_frame(buf, mac, addr) : 0;
}

int hnv_garp_announce(const char *ifname, int ifindex, const struct hnv_ip *addr, char *err,
		      size_t errlen)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		hnv_seterr(err, errlen, "announcing an address on %s: AF_PACKET socket: %s", ifname,
			   strerror(e));
		return -e;
	}
	struct ifreq ifr = {0};
	if (strlen(ifname) >= sizeof(ifr.ifr_name)) {
		close(fd);
		hnv_seterr(err, errlen, "announcing an address: interface name %s too long",
			   ifname);
		return -EINVAL;
	}
	memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		int e = errno;
		close(fd);
		hnv_seterr(err, errlen, "announcing an address on %s: its MAC: %s", ifname,
			   strerror(e));
		return -e;
	}
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		close(fd);
		return 0; /* no link layer to announce on */
	}
	struct hnv_mac mac;
	memcpy(mac.b, ifr.ifr_hwaddr.sa_data, 6);
	uint8_t buf[HNV_GARP_FRAME_MAX];
	int sent = 0;
	size_t n;
	for (unsigned i = 0; (n = hnv_garp_frame(buf, sizeof(buf), &mac, addr, i)) > 0; i++) {
		struct sockaddr_ll to = {
			.sll_family = AF_PACKET,
			.sll_protocol = htons((uint16_t)(buf[12] << 8 | buf[13])),
			.sll_ifindex = ifindex,
			.sll_halen = 6,
		};
		memcpy(to.sll_addr, buf, 6);
		if (sendto(fd, buf, n, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)n) {
			int e = errno;
			close(fd);
			hnv_seterr(err, errlen, "announcing an address on %s: send: %s", ifname,
				   strerror(e));
			return -e;
		}
		sent++;
	}
	close(fd);
	return sent;
}
