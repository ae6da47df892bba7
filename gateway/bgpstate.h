/* bgpstate.h: the BGP sessions bgpd reports, from the JSON of
 * bgpd's `show bgp vrf all summary json` (FRR 8.4):
 *
 *   {"VRF": {"ipv4Unicast": {"peers": {"ADDR": {"state": "Established",
 *     "msgRcvd": N, "msgSent": N, "pfxRcd": N, "peerUptimeMsec": N,
 *     "connectionsEstablished": N, "connectionsDropped": N, ...}}, ...},
 *     "ipv6Unicast": {...}}, ...}
 *
 * The text comes from another process (bgpd, user frr): it is parsed with
 * json-c and every member is type-checked; a member of the wrong type or
 * missing counts as absent (0, or "" for the state), never as an error.
 */
#ifndef HNV_BGPSTATE_H
#define HNV_BGPSTATE_H

#include <stddef.h>
#include <stdint.h>

#define HNV_BGPSTATE_VRF_MAX 64
#define HNV_BGPSTATE_PEER_MAX 64
#define HNV_BGPSTATE_STATE_MAX 32

/* One peer of one address family of one VRF. Strings longer than their
 * field are cut. */
struct hnv_bgp_session {
	char vrf[HNV_BGPSTATE_VRF_MAX];
	char afi[16]; /* "ipv4Unicast", ... (cut) */
	char peer[HNV_BGPSTATE_PEER_MAX];
	char state[HNV_BGPSTATE_STATE_MAX]; /* "Established", "Active", ... */
	uint64_t msg_rcvd, msg_sent, pfx_rcvd, uptime_ms;
	uint64_t conn_established, conn_dropped;
};

typedef void (*hnv_bgp_session_cb)(void *arg, const struct hnv_bgp_session *s);

/* Calls cb for every peer in text[0..len). Returns the number of peers, or
 * -EINVAL when the text is not a JSON object (bgpd not running prints a
 * message instead). */
int hnv_bgp_summary_parse(const char *text, size_t len, hnv_bgp_session_cb cb, void *arg);

#endif
