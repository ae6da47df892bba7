/* conntrack.h: the kernel's connection tracking table over ctnetlink:
 * entries parsed (untrusted input: every attribute, nested ones too, is
 * length-checked; fuzzed by tests/fuzz/fuzz_ctnl.c), formatted, and the
 * whole table dumped. The gateway shows its tenants' translations with it
 * (gateway/nat.h hnv_nat_list). Control thread only.
 */
#ifndef HNV_CONNTRACK_H
#define HNV_CONNTRACK_H

#include "../lib/hnv_types.h"

#include <stddef.h>
#include <stdint.h>

struct hnv_nl;

/* One conntrack entry. Ports are host order; for ICMP/ICMPv6 sport and
 * tsport hold the echo id and dport is 0. */
struct hnv_ct {
	uint16_t zone;
	uint8_t family;         /* AF_INET or AF_INET6 */
	uint8_t proto;          /* IPPROTO_* */
	struct hnv_ip src, dst; /* original direction */
	uint16_t sport, dport;
	struct hnv_ip tsrc; /* source after translation (reply dst) */
	uint16_t tsport;
	bool snat;          /* tsrc:tsport differ from src:sport */
	struct hnv_ip tdst; /* destination after translation (reply src) */
	bool dnat;          /* tdst differs from dst */
	uint8_t icmp_type, icmp_code;
	uint32_t status;  /* IPS_* bits */
	uint32_t timeout; /* seconds left */
	char state[16];   /* TCP state, or ASSURED/REPLIED/UNREPLIED */
};

/* Parses one ctnetlink IPCTNL_MSG_CT_NEW message (the netlink header
 * included; len bytes available, which may exceed nlmsg_len). Every
 * attribute, nested ones too, is length-checked: -EINVAL for a malformed
 * message (including a missing tuple), -ENOENT for a well-formed message of
 * another type. */
int hnv_ct_parse(const void *msg, size_t len, struct hnv_ct *out);

/* "udp 10.10.0.5:40000 -> 203.0.113.100:5353 as 198.51.100.1:40000
 * zone 1 UNREPLIED 29s"; a translated destination adds "to ADDR" after the
 * translated source ("... as 172.31.0.5:40000 to 10.10.0.1 zone 1 ..."). */
void hnv_ct_format(const struct hnv_ct *ct, char *buf, size_t len);

/* Dumps the table over nl (a NETLINK_NETFILTER socket, lib/nl.h), calling
 * cb for each entry. 0; -EPROTO when the kernel sent a malformed entry
 * (the others were delivered); or a negative errno; err says which. */
typedef void (*hnv_ct_cb)(const struct hnv_ct *ct, void *arg);
int hnv_ct_dump(struct hnv_nl *nl, hnv_ct_cb cb, void *arg, char *err, size_t errlen);

#endif
