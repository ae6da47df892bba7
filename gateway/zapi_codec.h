/* zapi_codec.h: the wire format of FRR zebra's API (ZAPI version 6), as
 * pure functions over buffers: the header, the commands hnvgwd sends
 * (encoders) and those it reads (decoders), and the command numbering of
 * each FRR release. Written from shared/reference/zapi-vici.md part A; it
 * never links libfrr. The client that speaks it is gateway/zapi.h.
 *
 * Untrusted input: decoders read zebra's bytes with explicit length
 * checks (a cursor that refuses every read past the end) and refuse
 * truncated messages, trailing garbage where the layout is fixed and
 * values out of range (fuzzed by tests/fuzz/fuzz_zapi.c).
 *
 * FRR release check: ZAPI command numbers change between FRR releases
 * while the version byte stays 6, so there is one command table per known
 * release, found by hnv_zapi_release_find from a version string (8.2,
 * 8.3, 8.4, 8.5, 9.0 share one numbering).
 */
#ifndef HNV_ZAPI_CODEC_H
#define HNV_ZAPI_CODEC_H

#include "../lib/hnv_types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HNV_ZAPI_ROUTE_STATIC 3
#define HNV_ZAPI_ROUTE_BGP 9
#define HNV_ZAPI_ROUTE_SHARP 23
#define HNV_ZAPI_ROUTE_OPENFABRIC 26
#define HNV_ZAPI_VRF_NAMSIZ 36 /* VRF_NAMSIZ, with the NUL */
#define HNV_ZAPI_IF_NAMSIZ 16  /* INTERFACE_NAMSIZ, with the NUL */
#define HNV_ZAPI_NH_MAX 64     /* nexthops kept per decoded route */
#define HNV_ZAPI_MAX_MSG 16384 /* ZEBRA_MAX_PACKET_SIZ */
#define HNV_ZAPI_HDR_LEN 10
#define HNV_ZAPI_DEFAULT_DISTANCE 150

/* ZAPI nexthop types (lib/nexthop.h). */
enum hnv_zapi_nh_type {
	HNV_ZAPI_NH_IFINDEX = 1,
	HNV_ZAPI_NH_IPV4 = 2,
	HNV_ZAPI_NH_IPV4_IFINDEX = 3,
	HNV_ZAPI_NH_IPV6 = 4,
	HNV_ZAPI_NH_IPV6_IFINDEX = 5,
	HNV_ZAPI_NH_BLACKHOLE = 6,
};

/* Blackhole kinds (enum blackhole_type). */
enum hnv_zapi_bh {
	HNV_ZAPI_BH_UNSPEC = 0,
	HNV_ZAPI_BH_NULL = 1,
	HNV_ZAPI_BH_REJECT = 2,
	HNV_ZAPI_BH_ADMINPROHIB = 3,
};

struct hnv_zapi_nh {
	uint8_t type;     /* enum hnv_zapi_nh_type */
	uint8_t flags;    /* ZAPI nexthop flags as received (decode only) */
	uint8_t bh_type;  /* enum hnv_zapi_bh, for BLACKHOLE */
	uint32_t vrf_id;  /* nexthop VRF (decode only; encode uses the route's) */
	uint32_t ifindex; /* IFINDEX and *_IFINDEX; 0 otherwise */
	struct hnv_ip gw; /* IPV4* (mapped) and IPV6*; zero otherwise */
	uint32_t weight;  /* decode only; 0 if absent */
};

/* A route as ZAPI carries it (ROUTE_ADD/DELETE, REDISTRIBUTE_ROUTE_*). */
struct hnv_zapi_route {
	uint8_t type; /* ZEBRA_ROUTE_* of the owner */
	uint16_t instance;
	uint32_t flags;   /* ZEBRA_FLAG_* */
	uint32_t message; /* ZAPI_MESSAGE_* bits present */
	uint8_t safi;     /* 1 unicast */
	struct hnv_prefix prefix;
	uint8_t distance; /* valid if message & HNV_ZAPI_MSG_DISTANCE */
	uint32_t metric;  /* valid if message & HNV_ZAPI_MSG_METRIC */
	uint32_t tag, mtu, table_id;
	unsigned n_nh;       /* nexthops stored in nh[] */
	unsigned n_nh_total; /* nexthops in the message (may exceed n_nh) */
	struct hnv_zapi_nh nh[HNV_ZAPI_NH_MAX];
};

/* ZAPI_MESSAGE_* bits of hnv_zapi_route.message. */
#define HNV_ZAPI_MSG_NEXTHOP 0x01
#define HNV_ZAPI_MSG_DISTANCE 0x02
#define HNV_ZAPI_MSG_METRIC 0x04
#define HNV_ZAPI_MSG_TAG 0x08
#define HNV_ZAPI_MSG_MTU 0x10
#define HNV_ZAPI_MSG_SRCPFX 0x20
#define HNV_ZAPI_MSG_BACKUP_NEXTHOPS 0x40
#define HNV_ZAPI_MSG_NHG 0x80
#define HNV_ZAPI_MSG_TABLEID 0x100
#define HNV_ZAPI_MSG_SRTE 0x200
#define HNV_ZAPI_MSG_OPAQUE 0x400
/* ZEBRA_FLAG_* of hnv_zapi_route.flags. */
#define HNV_ZAPI_FLAG_ALLOW_RECURSION 0x01
#define HNV_ZAPI_FLAG_EVPN_ROUTE 0x20
/* enum zserv_client_capabilities, for hnv_zapi_enc_client_cap. */
#define HNV_ZAPI_CAP_GR 1
#define HNV_ZAPI_CAP_UPDATE_COMPLETE 2
#define HNV_ZAPI_CAP_UPDATE_PENDING 3
#define HNV_ZAPI_CAP_GR_DISABLE 4
#define HNV_ZAPI_CAP_RIB_STALE_TIME 5

struct hnv_zapi_release; /* one command table */

/* The table for an FRR version string ("8.4.4", "9.0"), or NULL. */
const struct hnv_zapi_release *hnv_zapi_release_find(const char *version);
/* "8.2, 8.3, 8.4, 8.5, 9.0" */
const char *hnv_zapi_releases_supported(void);

/* Logical commands, mapped to numbers by the release table. */
enum hnv_zapi_cmd {
	HNV_ZC_INTERFACE_ADD,
	HNV_ZC_INTERFACE_DELETE,
	HNV_ZC_INTERFACE_ADDRESS_ADD,
	HNV_ZC_INTERFACE_ADDRESS_DELETE,
	HNV_ZC_INTERFACE_UP,
	HNV_ZC_INTERFACE_DOWN,
	HNV_ZC_ROUTE_ADD,
	HNV_ZC_ROUTE_DELETE,
	HNV_ZC_ROUTE_NOTIFY_OWNER,
	HNV_ZC_REDISTRIBUTE_ADD,
	HNV_ZC_REDISTRIBUTE_DELETE,
	HNV_ZC_ROUTER_ID_ADD,
	HNV_ZC_HELLO,
	HNV_ZC_CAPABILITIES,
	HNV_ZC_REDISTRIBUTE_ROUTE_ADD,
	HNV_ZC_REDISTRIBUTE_ROUTE_DEL,
	HNV_ZC_VRF_ADD,
	HNV_ZC_VRF_DELETE,
	HNV_ZC_ERROR,
	HNV_ZC_CLIENT_CAPABILITIES,
	HNV_ZC__COUNT,
	HNV_ZC_UNKNOWN = HNV_ZC__COUNT,
};
uint16_t hnv_zapi_cmd_num(const struct hnv_zapi_release *rel, enum hnv_zapi_cmd c);
enum hnv_zapi_cmd hnv_zapi_cmd_from_num(const struct hnv_zapi_release *rel, uint16_t num);

struct hnv_zapi_hdr {
	uint16_t len; /* including the header */
	uint32_t vrf_id;
	uint16_t cmd;
};
/* 0; -EAGAIN when fewer than 10 bytes; -EPROTO for a corrupt header. */
int hnv_zapi_hdr_decode(const uint8_t *buf, size_t len, struct hnv_zapi_hdr *h);

/* Encoders write one whole message (header included) into buf and return
 * its length, or -ENOSPC, or -EINVAL for values ZAPI cannot carry. */
int hnv_zapi_enc_hello(const struct hnv_zapi_release *rel, uint8_t *buf, size_t cap, uint8_t proto,
		       bool notify);
/* enum zserv_client_capabilities (lib/zclient.h; verified against zebra
 * 8.4.4's GR debug log): cap 1 GR_CAPABILITIES / 5 RIB_STALE_TIME: a =
 * stale time; cap 2 ROUTE_UPDATE_COMPLETE / 3 ROUTE_UPDATE_PENDING: a =
 * afi, b = safi; cap 4 GR_DISABLE: nothing. vrf_id goes in the body. */
int hnv_zapi_enc_client_cap(const struct hnv_zapi_release *rel, uint8_t *buf, size_t cap,
			    uint32_t capability, uint32_t a, uint32_t b, uint32_t vrf_id);
/* ROUTE_ADD (add) or ROUTE_DELETE: r->type/instance/flags/safi/prefix, and
 * the fields named by r->message (NEXTHOP with r->n_nh nexthops, DISTANCE,
 * METRIC, TAG, MTU, TABLEID; other bits are -EINVAL). */
int hnv_zapi_enc_route(const struct hnv_zapi_release *rel, uint8_t *buf, size_t cap, bool add,
		       uint32_t vrf_id, const struct hnv_zapi_route *r);
int hnv_zapi_enc_redistribute(const struct hnv_zapi_release *rel, uint8_t *buf, size_t cap,
			      bool add, uint32_t vrf_id, uint8_t afi, uint8_t type);
/* Empty-bodied INTERFACE_ADD / ROUTER_ID_ADD (body afi u16). */
int hnv_zapi_enc_interface_add(const struct hnv_zapi_release *rel, uint8_t *buf, size_t cap);
int hnv_zapi_enc_router_id_add(const struct hnv_zapi_release *rel, uint8_t *buf, size_t cap,
			       uint16_t afi);

/* What ZAPI carries as a route's prefix: a length within the family and no
 * host bits set. */
bool hnv_zapi_prefix_valid(const struct hnv_prefix *p);

/* Decoders take the BODY (after the 10-byte header) and its length; they
 * return 0 or -EINVAL (truncated, trailing garbage where the layout is
 * fixed, or values out of range). */
int hnv_zapi_dec_route(const uint8_t *body, size_t len, struct hnv_zapi_route *r);

struct hnv_zapi_vrf_info {
	char name[HNV_ZAPI_VRF_NAMSIZ];
	char netns[HNV_ZAPI_VRF_NAMSIZ];
	uint32_t table_id;
};
int hnv_zapi_dec_vrf_add(const uint8_t *body, size_t len, struct hnv_zapi_vrf_info *v);

/* enum zapi_route_notify_owner */
#define HNV_ZAPI_NOTE_FAIL_INSTALL 0
#define HNV_ZAPI_NOTE_BETTER_ADMIN_WON 1
#define HNV_ZAPI_NOTE_INSTALLED 2
#define HNV_ZAPI_NOTE_REMOVED 3
#define HNV_ZAPI_NOTE_REMOVE_FAIL 4

struct hnv_zapi_notify {
	uint32_t note; /* HNV_ZAPI_NOTE_* */
	struct hnv_prefix prefix;
	uint32_t table_id;
	uint8_t afi, safi;
};
int hnv_zapi_dec_notify(const uint8_t *body, size_t len, struct hnv_zapi_notify *n);

struct hnv_zapi_if {
	char name[HNV_ZAPI_IF_NAMSIZ];
	uint32_t ifindex;
	uint8_t status;
	uint64_t flags; /* IFF_* */
	uint32_t mtu;
};
int hnv_zapi_dec_interface(const uint8_t *body, size_t len, struct hnv_zapi_if *i);

struct hnv_zapi_caps {
	uint32_t vrf_backend;
	uint8_t mpls;
	uint32_t multipath_num;
	uint8_t mlag_role;
};
int hnv_zapi_dec_capabilities(const uint8_t *body, size_t len, struct hnv_zapi_caps *c);

/* ZEBRA_ERROR's code (enum zebra_error_types: 1 no such VRF, 2 invalid
 * message type); 0, or -EINVAL when the body is shorter. */
int hnv_zapi_dec_error(const uint8_t *body, size_t len, uint32_t *code);

#endif
