/* nvgre_ext.h: the MS-NVGREE extension messages, REDIRECT and UNREACHABLE.
 *
 * Facts used (sources and what was not findable: docs/nvgre-ext.md):
 *   - Both messages are ordinary NVGRE frames (GRE 0x2000, protocol 0x6558,
 *     key = VSID << 8) sent by the Receiver NVE back to the Sender NVE of a
 *     frame; their payload frame is an inner Ethernet header (destination:
 *     the Sender NVE's MAC, source: the Receiver NVE's MAC, EtherType
 *     0x0800 or 0x86DD, no 802.1Q tag), an inner IP header and an ICMP
 *     header ([MS-NVGREE] 2.2 UNREACHABLE message, 1.3.3 NVE).
 *   - REDIRECT is an ICMP redirect that tells the sender a VM's new PA
 *     after a live migration (wnvapi.h WNV_REDIRECT_PARAM: VSID, CA, PA,
 *     NewPA); UNREACHABLE is sent when the receiver has no (or a
 *     mismatched) isolation policy for the frame.
 * Choices where the sources were not findable (the strictest reading):
 *   - the inner IP header goes between the NVEs: source = the Receiver
 *     NVE's PA, destination = the Sender NVE's PA, in the PAs' family; a
 *     receiver recognises a message by inner IP destination == outer IP
 *     destination (its own PA) and requires inner source == outer source;
 *   - IPv4: REDIRECT is ICMP type 5 code 1 (host) whose gateway field is
 *     the new PA (IPv4 only); UNREACHABLE is type 3 code 1 (host);
 *     IPv6: REDIRECT is ICMPv6 type 137 code 0 with target = new PA,
 *     destination = the CA (IPv4 CAs mapped) and a Redirected Header
 *     option; UNREACHABLE is ICMPv6 type 1 code 0;
 *   - the ICMP body quotes the customer's IP packet that triggered the
 *     message: its header + 8 bytes. The CA and source CA are read from
 *     that quote (REDIRECT over IPv6: the destination field must agree).
 * The VSID is the GRE key's, given by the caller; the caller checks the
 * outer addresses against the inner ones.
 */
#ifndef HNV_NVGRE_EXT_H
#define HNV_NVGRE_EXT_H

#include "../lib/hnv_types.h"

#include <stddef.h>
#include <stdint.h>

enum hnv_nvx_kind {
	HNV_NVX_REDIRECT = 1,
	HNV_NVX_UNREACHABLE = 2,
};

struct hnv_nvx {
	enum hnv_nvx_kind kind;
	struct hnv_mac dst_mac; /* inner Ethernet: the Sender NVE's */
	struct hnv_mac src_mac; /* inner Ethernet: the Receiver NVE's */
	struct hnv_ip from_pa;  /* inner IP source: the NVE sending the message */
	struct hnv_ip to_pa;    /* inner IP destination: the NVE it goes to */
	struct hnv_ip new_pa;   /* REDIRECT: the PA the CA now lives at */
	struct hnv_ip ca;       /* destination of the quoted customer packet */
	struct hnv_ip src_ca;   /* source of the quoted customer packet */
};

/* Largest message hnv_nvx_write produces: Ethernet 14, IPv6 40, ICMPv6
 * redirect 40, option header 8, quote of at most 60 + 8 bytes. */
#define HNV_NVX_MAX_LEN 256

/* Decodes the inner frame of an NVGRE packet (len bytes at p, Ethernet
 * first) as an extension message. 0: m filled; -EPROTO: not an extension
 * message (not ICMP redirect/unreachable of the form above); -EMSGSIZE:
 * truncated; -EINVAL: malformed (bad checksum, tagged, fragment, quote that
 * is not an IP header, unusable new PA). Never reads past len. */
int hnv_nvx_parse(const uint8_t *p, size_t len, struct hnv_nvx *m);

/* Writes message m (kind, MACs, from_pa, to_pa, and for REDIRECT new_pa)
 * quoting the customer IP packet quote (qlen bytes: its header + 8 bytes
 * at most are copied) at p, which has room for cap bytes. The CA fields of
 * m are not used: they are the quote's. Returns the frame length, or
 * -EINVAL (PAs of different families, an IPv6 new PA in an IPv4 message,
 * a quote that is not a whole IP header) or -ENOSPC. */
int hnv_nvx_write(uint8_t *p, size_t cap, const struct hnv_nvx *m, const uint8_t *quote,
		  size_t qlen);

#endif
