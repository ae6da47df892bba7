/* zapi.c: FRR zebra API client (see zapi.h for the contract and
 * shared/reference/zapi-vici.md part A for the wire format). */
#include "zapi.h"

#include "../lib/log.h"
#include "../lib/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ZEBRA_HEADER_MARKER 254
#define ZSERV_VERSION 6

#define ZFLAG_ALLOW_RECURSION 0x01
#define ZFLAG_EVPN_ROUTE 0x20

#define ZMSG_NEXTHOP 0x01
#define ZMSG_DISTANCE 0x02
#define ZMSG_METRIC 0x04
#define ZMSG_TAG 0x08
#define ZMSG_MTU 0x10
#define ZMSG_SRCPFX 0x20
#define ZMSG_BACKUP_NEXTHOPS 0x40
#define ZMSG_NHG 0x80
#define ZMSG_TABLEID 0x100
#define ZMSG_SRTE 0x200
#define ZMSG_OPAQUE 0x400

#define ZNH_FLAG_LABEL 0x02
#define ZNH_FLAG_WEIGHT 0x04
#define ZNH_FLAG_HAS_BACKUP 0x08
#define ZNH_FLAG_SEG6 0x10
#define ZNH_FLAG_SEG6LOCAL 0x20

#define ZCAP_GR 1
#define ZCAP_UPDATE_COMPLETE 2

#define NOTE_FAIL_INSTALL 0
#define NOTE_BETTER_ADMIN_WON 1
#define NOTE_INSTALLED 2
#define NOTE_REMOVED 3

#define AF_ZINET 2   /* Linux AF_INET, as zebra writes it */
#define AF_ZINET6 10 /* Linux AF_INET6 */

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 1000
#define REFUSED_RETRY_MS 30000
#define SYNC_FALLBACK_MS 10000
#define VERSION_TIMEOUT_MS 2000
#define OUT_MAX (64u << 20) /* queued bytes before the session is dropped */
#define IN_CAP (2 * HNV_ZAPI_MAX_MSG)
#define MAX_REDIST 64

/* ==== release tables ==== */

struct hnv_zapi_release {
	const char *const *versions; /* "major.minor" this table serves */
	uint16_t num[HNV_ZC__COUNT];
	uint8_t route_max; /* ZEBRA_ROUTE_MAX */
};

/* FRR 8.2 .. 9.0: lib/zclient.h zebra_message_types_t counted from 0
 * (IMPORT_ROUTE_* removed in 8.2; 8.5 only appends TC_*; 9.1 removes
 * INTERFACE_VRF_UPDATE and shifts every command >= 36). */
static const char *const v82_90[] = {"8.2", "8.3", "8.4", "8.5", "9.0", NULL};
static const struct hnv_zapi_release releases[] = {
	{
		.versions = v82_90,
		.num =
			{
				[HNV_ZC_INTERFACE_ADD] = 0,
				[HNV_ZC_INTERFACE_DELETE] = 1,
				[HNV_ZC_INTERFACE_ADDRESS_ADD] = 2,
				[HNV_ZC_INTERFACE_ADDRESS_DELETE] = 3,
				[HNV_ZC_INTERFACE_UP] = 4,
				[HNV_ZC_INTERFACE_DOWN] = 5,
				[HNV_ZC_ROUTE_ADD] = 8,
				[HNV_ZC_ROUTE_DELETE] = 9,
				[HNV_ZC_ROUTE_NOTIFY_OWNER] = 10,
				[HNV_ZC_REDISTRIBUTE_ADD] = 11,
				[HNV_ZC_REDISTRIBUTE_DELETE] = 12,
				[HNV_ZC_ROUTER_ID_ADD] = 15,
				[HNV_ZC_HELLO] = 18,
				[HNV_ZC_CAPABILITIES] = 19,
				[HNV_ZC_REDISTRIBUTE_ROUTE_ADD] = 30,
				[HNV_ZC_REDISTRIBUTE_ROUTE_DEL] = 31,
				[HNV_ZC_VRF_ADD] = 33,
				[HNV_ZC_VRF_DELETE] = 34,
				[HNV_ZC_ERROR] = 118,
				[HNV_ZC_CLIENT_CAPABILITIES] = 119,
			},
		.route_max = 31,
	},
};

const char *hnv_zapi_releases_supported(void)
{
	return "8.2, 8.3, 8.4, 8.5, 9.0";
}

const struct hnv_zapi_release *hnv_zapi_release_find(const char *version)
{
	if (!version)
		return NULL;
	/* "major.minor" then the end or a non-digit ("8.4.4", "9.0-dev") */
	size_t i = 0;
	while (version[i] >= '0' && version[i] <= '9')
		i++;
	if (i == 0 || i > 3 || version[i] != '.')
		return NULL;
	size_t j = i + 1;
	while (version[j] >= '0' && version[j] <= '9')
		j++;
	if (j == i + 1 || j - i - 1 > 3)
		return NULL;
	char mm[8];
	memcpy(mm, version, j);
	mm[j] = '\0';
	for (size_t r = 0; r < sizeof(releases) / sizeof(releases[0]); r++)
		for (const char *const *v = releases[r].versions; *v; v++)
			if (strcmp(*v, mm) == 0)
				return &releases[r];
	return NULL;
}

int hnv_zapi_version_parse(const char *text, char *out, size_t outlen)
{
	/* first line: "<prog> version <ver>" */
	const char *eol = strchr(text, '\n');
	size_t linelen = eol ? (size_t)(eol - text) : strlen(text);
	const char *key = " version ";
	const char *p = memmem(text, linelen, key, strlen(key));
	if (!p)
		return -EINVAL;
	p += strlen(key);
	size_t n = 0;
	while (p + n < text + linelen &&
	       ((p[n] >= '0' && p[n] <= '9') || (p[n] >= 'a' && p[n] <= 'z') ||
		(p[n] >= 'A' && p[n] <= 'Z') || p[n] == '.' || p[n] == '-' || p[n] == '~' ||
		p[n] == '+' || p[n] == '_'))
		n++;
	if (n == 0 || n >= outlen)
		return -EINVAL;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

uint16_t hnv_zapi_cmd_num(const struct hnv_zapi_release *rel, enum hnv_zapi_cmd c)
{
	return c < HNV_ZC__COUNT ? rel->num[c] : 0xffff;
}

enum hnv_zapi_cmd hnv_zapi_cmd_from_num(const struct hnv_zapi_release *rel, uint16_t num)
{
	for (unsigned c = 0; c < HNV_ZC__COUNT; c++)
		if (rel->num[c] == num)
			return (enum hnv_zapi_cmd)c;
	return HNV_ZC_UNKNOWN;
}

/* ==== writer and reader ==== */

struct wbuf {
	uint8_t *p;
	size_t cap, len;
	bool err;
};

static void put(struct wbuf *w, const void *d, size_t n)
{
	if (w->err || w->cap - w->len < n) {
		w->err = true;
		return;
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void put8(struct wbuf *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(w, b, 2);
}

static void put32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	put(w, b, 4);
}

static void put_hdr(struct wbuf *w, uint16_t cmd, uint32_t vrf_id)
{
	put16(w, 0); /* length, set by finish() */
	put8(w, ZEBRA_HEADER_MARKER);
	put8(w, ZSERV_VERSION);
	put32(w, vrf_id);
	put16(w, cmd);
}

static int finish(struct wbuf *w)
{
	if (w->err || w->len > HNV_ZAPI_MAX_MSG)
		return -ENOSPC;
	w->p[0] = (uint8_t)(w->len >> 8);
	w->p[1] = (uint8_t)w->len;
	return (int)w->len;
}

struct rbuf {
	const uint8_t *p;
	size_t len, off;
	bool err;
};

static bool get(struct rbuf *r, void *d, size_t n)
{
	if (r->err || r->len - r->off < n) {
		r->err = true;
		if (d)
			memset(d, 0, n);
		return false;
	}
	if (d)
		memcpy(d, r->p + r->off, n);
	r->off += n;
	return true;
}

static uint8_t get8(struct rbuf *r)
{
	uint8_t v;
	get(r, &v, 1);
	return v;
}

static uint16_t get16(struct rbuf *r)
{
	uint8_t b[2];
	get(r, b, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t get32(struct rbuf *r)
{
	uint8_t b[4];
	get(r, b, 4);
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* A raw host-order u32 (stream_put of a C enum or struct field). */
static uint32_t get32_host(struct rbuf *r)
{
	uint32_t v;
	get(r, &v, 4);
	return v;
}

int hnv_zapi_hdr_decode(const uint8_t *buf, size_t len, struct hnv_zapi_hdr *h)
{
	if (len < HNV_ZAPI_HDR_LEN)
		return -EAGAIN;
	struct rbuf r = {.p = buf, .len = len};
	h->len = get16(&r);
	uint8_t marker = get8(&r), version = get8(&r);
	h->vrf_id = get32(&r);
	h->cmd = get16(&r);
	if (h->len < HNV_ZAPI_HDR_LEN || h->len > HNV_ZAPI_MAX_MSG ||
	    marker != ZEBRA_HEADER_MARKER || version != ZSERV_VERSION)
		return -EPROTO;
	return 0;
}

/* ==== prefixes ==== */

static bool family_bits(uint8_t family, unsigned *bits)
{
	if (family == AF_ZINET)
		*bits = 32;
	else if (family == AF_ZINET6)
		*bits = 128;
	else
		return false;
	return true;
}

/* Builds p from family, prefix length and the first (len+7)/8 bytes (or
 * the whole address) in a[]; clears host bits. */
static void prefix_make(struct hnv_prefix *p, uint8_t family, uint8_t len, const uint8_t *a)
{
	memset(p, 0, sizeof(*p));
	if (family == AF_ZINET)
		hnv_ip_from_v4(&p->addr, a);
	else
		memcpy(p->addr.b, a, 16);
	p->len = len;
	unsigned bits = hnv_prefix_bits128(p);
	for (unsigned i = 0; i < 16; i++) {
		unsigned lo = i * 8;
		if (lo >= bits)
			p->addr.b[i] = 0;
		else if (bits - lo < 8)
			p->addr.b[i] &= (uint8_t)(0xff << (8 - (bits - lo)));
	}
	if (family == AF_ZINET) { /* keep the mapped prefix intact */
		p->addr.b[10] = 0xff;
		p->addr.b[11] = 0xff;
	}
}

static bool prefix_valid(const struct hnv_prefix *p)
{
	unsigned max = hnv_ip_is_v4(&p->addr) ? 32 : 128;
	if (p->len > max)
		return false;
	struct hnv_prefix q;
	prefix_make(&q, hnv_ip_is_v4(&p->addr) ? AF_ZINET : AF_ZINET6, p->len,
		    hnv_ip_is_v4(&p->addr) ? p->addr.b + 12 : p->addr.b);
	return memcmp(&q.addr, &p->addr, 16) == 0;
}

static void put_prefix(struct wbuf *w, const struct hnv_prefix *p)
{
	bool v4 = hnv_ip_is_v4(&p->addr);
	put8(w, v4 ? AF_ZINET : AF_ZINET6);
	put8(w, p->len);
	put(w, v4 ? p->addr.b + 12 : p->addr.b, (p->len + 7u) / 8);
}

/* ==== encoders ==== */

int hnv_zapi_enc_hello(const struct hnv_zapi_release *rel, uint8_t *buf, size_t cap, uint8_t proto,
		       bool notify)
{
	struct wbuf w = {.p = buf, .cap = cap};
	put_hdr(&w, rel->num[HNV_ZC_HELLO], 0);
	put8(&w, proto);
	put16(&w, 0); /* instance */
	put32(&w, 0); /* session_id */
	put8(&w, notify ? 1 : 0);
	put8(&w, 0); /* synchronous */
	return finish(&w);
}

int hnv_zapi_enc_client_cap(const struct hnv_zapi_release *rel, uint8_t *buf, size_t cap,
			    uint32_t capability, uint32_t a, uint32_t b, uint32_t vrf_id)
{
	struct wbuf w = {.p = buf, .cap = cap};
	put_hdr(&w, rel->num[HNV_ZC_CLIENT_CAPABILITIES], 0);
	put32(&w, capability);
	switch (capability) { /* enum zserv_client_capabilities */
	case 1:               /* GR_CAPABILITIES */
	case 5:               /* RIB_STALE_TIME */
		put32(&w, a);
		put32(&w, vrf_id);
		break;
	case 2: /* ROUTE_UPDATE_COMPLETE */
	case 3: /* ROUTE_UPDATE_PENDING */
		put32(&w, a);
		put32(&w, b);
		put32(&w, vrf_id);
		break;
	case 4: /* GR_DISABLE */
		break;
	default:
		return -EINVAL;
	}
	return finish(&w);
}

static int put_nh(struct wbuf *w, const struct hnv_zapi_nh *nh, uint32_t vrf_id, bool v4)
{
	put32(w, vrf_id);
	put8(w, nh->type);
	put8(w, 0); /* flags */
	switch (nh->type) {
	case HNV_ZAPI_NH_BLACKHOLE:
		if (nh->bh_type > HNV_ZAPI_BH_ADMINPROHIB)
			return -EINVAL;
		put8(w, nh->bh_type);
		break;
	case HNV_ZAPI_NH_IPV4:
	case HNV_ZAPI_NH_IPV4_IFINDEX:
		if (!v4 || !hnv_ip_is_v4(&nh->gw))
			return -EINVAL;
		put(w, nh->gw.b + 12, 4);
		put32(w, nh->ifindex);
		break;
	case HNV_ZAPI_NH_IFINDEX:
		put32(w, nh->ifindex);
		break;
	case HNV_ZAPI_NH_IPV6:
	case HNV_ZAPI_NH_IPV6_IFINDEX:
		if (v4 || hnv_ip_is_v4(&nh->gw))
			return -EINVAL;
		put(w, nh->gw.b, 16);
		put32(w, nh->ifindex);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

int hnv_zapi_enc_route(const struct hnv_zapi_release *rel, uint8_t *buf, size_t cap, bool add,
		       uint32_t vrf_id, const struct hnv_zapi_route *r)
{
	const uint32_t known =
		ZMSG_NEXTHOP | ZMSG_DISTANCE | ZMSG_METRIC | ZMSG_TAG | ZMSG_MTU | ZMSG_TABLEID;
	if ((r->message & ~known) || r->type >= rel->route_max || !prefix_valid(&r->prefix) ||
	    (r->safi != 1 && r->safi != 2))
		return -EINVAL;
	if ((r->message & ZMSG_NEXTHOP) && (r->n_nh == 0 || r->n_nh > HNV_ZAPI_NH_MAX))
		return -EINVAL;
	bool v4 = hnv_ip_is_v4(&r->prefix.addr);
	struct wbuf w = {.p = buf, .cap = cap};
	put_hdr(&w, rel->num[add ? HNV_ZC_ROUTE_ADD : HNV_ZC_ROUTE_DELETE], vrf_id);
	put8(&w, r->type);
	put16(&w, r->instance);
	put32(&w, r->flags);
	put32(&w, r->message);
	put8(&w, r->safi);
	put_prefix(&w, &r->prefix);
	if (r->message & ZMSG_NEXTHOP) {
		put16(&w, (uint16_t)r->n_nh);
		for (unsigned i = 0; i < r->n_nh; i++) {
			int rc = put_nh(&w, &r->nh[i], vrf_id, v4);
			if (rc < 0)
				return rc;
		}
	}
	if (r->message & ZMSG_DISTANCE)
		put8(&w, r->distance);
	if (r->message & ZMSG_METRIC)
		put32(&w, r->metric);
	if (r->message & ZMSG_TAG)
		put32(&w, r->tag);
	if (r->message & ZMSG_MTU)
		put32(&w, r->mtu);
	if (r->message & ZMSG_TABLEID)
		put32(&w, r->table_id);
	return finish(&w);
}

int hnv_zapi_enc_redistribute(const struct hnv_zapi_release *rel, uint8_t *buf, size_t cap,
			      bool add, uint32_t vrf_id, uint8_t afi, uint8_t type)
{
	if ((afi != 1 && afi != 2) || type >= rel->route_max)
		return -EINVAL;
	struct wbuf w = {.p = buf, .cap = cap};
	put_hdr(&w, rel->num[add ? HNV_ZC_REDISTRIBUTE_ADD : HNV_ZC_REDISTRIBUTE_DELETE], vrf_id);
	put8(&w, afi);
	put8(&w, type);
	put16(&w, 0); /* instance */
	return finish(&w);
}

int hnv_zapi_enc_interface_add(const struct hnv_zapi_release *rel, uint8_t *buf, size_t cap)
{
	struct wbuf w = {.p = buf, .cap = cap};
	put_hdr(&w, rel->num[HNV_ZC_INTERFACE_ADD], 0);
	return finish(&w);
}

int hnv_zapi_enc_router_id_add(const struct hnv_zapi_release *rel, uint8_t *buf, size_t cap,
			       uint16_t afi)
{
	struct wbuf w = {.p = buf, .cap = cap};
	put_hdr(&w, rel->num[HNV_ZC_ROUTER_ID_ADD], 0);
	put16(&w, afi);
	return finish(&w);
}

/* ==== decoders ==== */

static int get_nh(struct rbuf *r, struct hnv_zapi_nh *nh, uint32_t rflags, uint32_t rmsg)
{
	memset(nh, 0, sizeof(*nh));
	nh->vrf_id = get32(r);
	nh->type = get8(r);
	nh->flags = get8(r);
	uint8_t a[16];
	switch (nh->type) {
	case HNV_ZAPI_NH_BLACKHOLE:
		nh->bh_type = get8(r);
		break;
	case HNV_ZAPI_NH_IPV4:
	case HNV_ZAPI_NH_IPV4_IFINDEX:
		get(r, a, 4);
		hnv_ip_from_v4(&nh->gw, a);
		nh->ifindex = get32(r);
		break;
	case HNV_ZAPI_NH_IFINDEX:
		nh->ifindex = get32(r);
		break;
	case HNV_ZAPI_NH_IPV6:
	case HNV_ZAPI_NH_IPV6_IFINDEX:
		get(r, nh->gw.b, 16);
		nh->ifindex = get32(r);
		break;
	default:
		return -EINVAL;
	}
	if (nh->flags & ZNH_FLAG_LABEL) {
		uint8_t n = get8(r);
		if (n == 0 || n > 16) /* MPLS_MAX_LABELS */
			return -EINVAL;
		get(r, NULL, 4u * n);
	}
	if (nh->flags & ZNH_FLAG_WEIGHT)
		nh->weight = get32(r);
	if (rflags & ZFLAG_EVPN_ROUTE)
		get(r, NULL, 6); /* router MAC */
	if (rmsg & ZMSG_SRTE)
		get32(r); /* color */
	if (nh->flags & ZNH_FLAG_HAS_BACKUP) {
		uint8_t n = get8(r);
		get(r, NULL, n);
	}
	if (nh->flags & ZNH_FLAG_SEG6LOCAL)
		return -EINVAL; /* raw struct seg6local_context: size not pinned */
	if (nh->flags & ZNH_FLAG_SEG6)
		get(r, NULL, 16);
	return r->err ? -EINVAL : 0;
}

int hnv_zapi_dec_route(const uint8_t *body, size_t len, struct hnv_zapi_route *rt)
{
	struct rbuf r = {.p = body, .len = len};
	memset(rt, 0, sizeof(*rt));
	rt->type = get8(&r);
	rt->instance = get16(&r);
	rt->flags = get32(&r);
	rt->message = get32(&r);
	rt->safi = get8(&r);
	uint8_t family = get8(&r), plen = get8(&r);
	unsigned bits;
	if (r.err || !family_bits(family, &bits) || plen > bits)
		return -EINVAL;
	uint8_t a[16] = {0};
	if (!get(&r, a, (plen + 7u) / 8))
		return -EINVAL;
	prefix_make(&rt->prefix, family, plen, a);
	if (rt->message & ZMSG_SRCPFX) {
		uint8_t sl = get8(&r);
		if (sl > 128)
			return -EINVAL;
		get(&r, NULL, (sl + 7u) / 8);
	}
	if (rt->message & ZMSG_NHG)
		get32(&r);
	if (rt->message & ZMSG_NEXTHOP) {
		uint16_t n = get16(&r);
		rt->n_nh_total = n;
		for (unsigned i = 0; i < n && !r.err; i++) {
			struct hnv_zapi_nh nh;
			if (get_nh(&r, &nh, rt->flags, rt->message) < 0)
				return -EINVAL;
			if (rt->n_nh < HNV_ZAPI_NH_MAX)
				rt->nh[rt->n_nh++] = nh;
		}
	}
	if (rt->message & ZMSG_BACKUP_NEXTHOPS) {
		uint16_t n = get16(&r);
		for (unsigned i = 0; i < n && !r.err; i++) {
			struct hnv_zapi_nh nh;
			if (get_nh(&r, &nh, rt->flags, rt->message) < 0)
				return -EINVAL;
		}
	}
	if (rt->message & ZMSG_DISTANCE)
		rt->distance = get8(&r);
	if (rt->message & ZMSG_METRIC)
		rt->metric = get32(&r);
	if (rt->message & ZMSG_TAG)
		rt->tag = get32(&r);
	if (rt->message & ZMSG_MTU)
		rt->mtu = get32(&r);
	if (rt->message & ZMSG_TABLEID)
		rt->table_id = get32(&r);
	if (rt->message & ZMSG_OPAQUE) {
		uint16_t ol = get16(&r);
		if (ol > 1024)
			return -EINVAL;
		get(&r, NULL, ol);
	}
	if (r.err || r.off != len)
		return -EINVAL;
	return 0;
}

/* A NUL-terminated name in a fixed field of n bytes. */
static bool get_name(struct rbuf *r, char *out, size_t n)
{
	if (!get(r, out, n))
		return false;
	if (memchr(out, '\0', n) == NULL)
		return false;
	for (size_t i = 0; out[i]; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			return false;
	return true;
}

int hnv_zapi_dec_vrf_add(const uint8_t *body, size_t len, struct hnv_zapi_vrf_info *v)
{
	struct rbuf r = {.p = body, .len = len};
	memset(v, 0, sizeof(*v));
	v->table_id = get32_host(&r);
	if (!get_name(&r, v->netns, HNV_ZAPI_VRF_NAMSIZ) ||
	    !get_name(&r, v->name, HNV_ZAPI_VRF_NAMSIZ) || r.off != len || v->name[0] == '\0')
		return -EINVAL;
	return 0;
}

int hnv_zapi_dec_notify(const uint8_t *body, size_t len, struct hnv_zapi_notify *n)
{
	struct rbuf r = {.p = body, .len = len};
	memset(n, 0, sizeof(*n));
	n->note = get32_host(&r);
	uint8_t family = get8(&r), plen = get8(&r);
	unsigned bits;
	if (r.err || !family_bits(family, &bits) || plen > bits)
		return -EINVAL;
	uint8_t a[16];
	get(&r, a, bits / 8);
	n->table_id = get32(&r);
	n->afi = get8(&r);
	n->safi = get8(&r);
	if (r.err || r.off != len || n->note > 4)
		return -EINVAL;
	prefix_make(&n->prefix, family, plen, a);
	return 0;
}

int hnv_zapi_dec_interface(const uint8_t *body, size_t len, struct hnv_zapi_if *i)
{
	struct rbuf r = {.p = body, .len = len};
	memset(i, 0, sizeof(*i));
	if (!get_name(&r, i->name, HNV_ZAPI_IF_NAMSIZ))
		return -EINVAL;
	i->ifindex = get32(&r);
	i->status = get8(&r);
	uint32_t hi = get32(&r), lo = get32(&r);
	i->flags = (uint64_t)hi << 32 | lo;
	get8(&r);  /* ptm_enable */
	get8(&r);  /* ptm_status */
	get32(&r); /* metric */
	get32(&r); /* speed */
	i->mtu = get32(&r);
	get32(&r); /* mtu6 */
	get32(&r); /* bandwidth */
	get32(&r); /* link_ifindex */
	get32(&r); /* ll_type */
	uint32_t hwlen = get32(&r);
	if (hwlen > 20) /* INTERFACE_HWADDR_MAX */
		return -EINVAL;
	get(&r, NULL, hwlen);
	uint8_t has_lp = get8(&r);
	/* link parameters (TE) are not used: with the flag set, the rest of
	 * the message is theirs; without it the message ends here */
	if (r.err || i->name[0] == '\0' || has_lp > 1 || (has_lp == 0 && r.off != len))
		return -EINVAL;
	return 0;
}

int hnv_zapi_dec_capabilities(const uint8_t *body, size_t len, struct hnv_zapi_caps *c)
{
	struct rbuf r = {.p = body, .len = len};
	c->vrf_backend = get32(&r);
	c->mpls = get8(&r);
	c->multipath_num = get32(&r);
	c->mlag_role = get8(&r);
	return r.err || r.off != len ? -EINVAL : 0;
}

/* ==== the client ==== */

struct zroute {
	struct zroute *next;
	char vrf[HNV_ZAPI_VRF_NAMSIZ];
	struct hnv_prefix p;
	struct hnv_zapi_nh nh;
	uint8_t distance;
	uint32_t metric;
	enum hnv_zapi_route_state state;
};

struct zvrf {
	char name[HNV_ZAPI_VRF_NAMSIZ];
	uint32_t id, table;
	bool complete_sent; /* GR ROUTE_UPDATE_COMPLETE sent this session */
};

struct zif {
	struct hnv_zapi_if i;
	uint32_t vrf_id;
};

struct hnv_zapi {
	char *path, *zebra_bin, *frr_version;
	uint8_t route_type;
	uint32_t gr_stale;
	hnv_zapi_redist_cb redist_cb;
	hnv_zapi_log_cb log;
	void *arg;

	int fd;
	enum hnv_zapi_conn conn;
	const struct hnv_zapi_release *rel;
	char release[32];
	char refused_release[32]; /* last release logged as refused */
	int last_conn_err;        /* last connect errno logged */
	long next_try_ms;
	unsigned backoff_ms;
	long sync_deadline_ms; /* GR update-complete fallback; 0: none */

	uint8_t in[IN_CAP];
	size_t in_len;
	uint8_t *out;
	size_t out_len, out_cap;

	struct zroute **tab;
	size_t nb, nroutes;
	unsigned queued; /* routes in state SENT */

	struct zvrf *vrfs;
	size_t nvrfs;
	struct zif *ifs;
	size_t nifs;
	struct {
		uint8_t afi, type;
	} redist[MAX_REDIST];
	size_t nredist;

	struct hnv_zapi_stats st;
	struct hnv_ratelimit rl_conn, rl_bad, rl_err, rl_route;
};

static void vzlog(struct hnv_zapi *z, int lvl, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (z->log)
		z->log(z->arg, lvl, msg);
	else
		hnv_log((enum hnv_log_level)lvl, "zapi: %s", msg);
}

__attribute__((format(printf, 3, 4))) static void zlog(struct hnv_zapi *z, int lvl, const char *fmt,
						       ...)
{
	va_list ap;
	va_start(ap, fmt);
	vzlog(z, lvl, fmt, ap);
	va_end(ap);
}

/* hnv_log_rl's policy, through z's sink. */
__attribute__((format(printf, 4, 5))) static void
zlog_rl(struct hnv_zapi *z, struct hnv_ratelimit *rl, int lvl, const char *fmt, ...)
{
	unsigned suppressed;
	bool pass = hnv_ratelimit_pass(rl, &suppressed);
	if (suppressed)
		zlog(z, lvl, "%u similar messages suppressed in the last %d s", suppressed,
		     HNV_LOG_WINDOW);
	if (!pass)
		return;
	va_list ap;
	va_start(ap, fmt);
	vzlog(z, lvl, fmt, ap);
	va_end(ap);
}

static void fmt_prefix(const struct hnv_prefix *p, char *buf, size_t n)
{
	char a[64];
	if (hnv_ip_is_v4(&p->addr))
		snprintf(a, sizeof(a), "%u.%u.%u.%u", p->addr.b[12], p->addr.b[13], p->addr.b[14],
			 p->addr.b[15]);
	else
		snprintf(a, sizeof(a), "%x:%x:%x:%x:%x:%x:%x:%x", p->addr.b[0] << 8 | p->addr.b[1],
			 p->addr.b[2] << 8 | p->addr.b[3], p->addr.b[4] << 8 | p->addr.b[5],
			 p->addr.b[6] << 8 | p->addr.b[7], p->addr.b[8] << 8 | p->addr.b[9],
			 p->addr.b[10] << 8 | p->addr.b[11], p->addr.b[12] << 8 | p->addr.b[13],
			 p->addr.b[14] << 8 | p->addr.b[15]);
	snprintf(buf, n, "%.59s/%u", a, p->len);
}

const char *hnv_zapi_route_state_name(enum hnv_zapi_route_state s)
{
	switch (s) {
	case HNV_ZAPI_RS_WAIT_VRF:
		return "wait-vrf";
	case HNV_ZAPI_RS_SENT:
		return "sent";
	case HNV_ZAPI_RS_INSTALLED:
		return "installed";
	case HNV_ZAPI_RS_FAILED:
		return "failed";
	case HNV_ZAPI_RS_BETTER_ADMIN_WON:
		return "better-admin-won";
	case HNV_ZAPI_RS_REMOVED:
		return "removed";
	}
	return "?";
}

/* ---- output ---- */

static void session_close(struct hnv_zapi *z, const char *why);

static int flush_out(struct hnv_zapi *z)
{
	while (z->fd >= 0 && z->out_len > 0) {
		ssize_t n = send(z->fd, z->out, z->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			int e = errno;
			session_close(z, strerror(e));
			return -e;
		}
		memmove(z->out, z->out + n, z->out_len - (size_t)n);
		z->out_len -= (size_t)n;
	}
	return 0;
}

/* Queues one encoded message (len from an encoder; < 0 is a bug in the
 * caller's values and is logged). */
static void queue_msg(struct hnv_zapi *z, const uint8_t *msg, int len)
{
	if (len < 0) {
		zlog_rl(z, &z->rl_bad, HNV_LOG_ERR, "cannot encode a message: %s", strerror(-len));
		return;
	}
	if (z->fd < 0)
		return;
	if (z->out_len + (size_t)len > OUT_MAX) {
		session_close(z, "output queue overflow (zebra does not read)");
		return;
	}
	if (z->out_cap - z->out_len < (size_t)len) {
		size_t nc = z->out_cap ? z->out_cap : 65536;
		while (nc - z->out_len < (size_t)len)
			nc *= 2;
		uint8_t *p = realloc(z->out, nc);
		if (!p) {
			session_close(z, "out of memory for the output queue");
			return;
		}
		z->out = p;
		z->out_cap = nc;
	}
	memcpy(z->out + z->out_len, msg, (size_t)len);
	z->out_len += (size_t)len;
	z->st.msgs_out++;
}

/* ---- tables ---- */

static uint64_t route_hash(const char *vrf, const struct hnv_prefix *p)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *c = vrf; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211ull;
	for (int i = 0; i < 16; i++)
		h = (h ^ p->addr.b[i]) * 1099511628211ull;
	return (h ^ p->len) * 1099511628211ull;
}

static struct zroute **route_slot(const struct hnv_zapi *z, const char *vrf,
				  const struct hnv_prefix *p)
{
	struct zroute **s = &z->tab[route_hash(vrf, p) & (z->nb - 1)];
	for (; *s; s = &(*s)->next)
		if ((*s)->p.len == p->len && hnv_ip_eq(&(*s)->p.addr, &p->addr) &&
		    strcmp((*s)->vrf, vrf) == 0)
			return s;
	return s;
}

static int route_grow(struct hnv_zapi *z)
{
	size_t nb = z->nb * 2;
	struct zroute **t = calloc(nb, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < z->nb; i++)
		for (struct zroute *r = z->tab[i], *next; r; r = next) {
			next = r->next;
			size_t b = route_hash(r->vrf, &r->p) & (nb - 1);
			r->next = t[b];
			t[b] = r;
		}
	free(z->tab);
	z->tab = t;
	z->nb = nb;
	return 0;
}

static struct zvrf *vrf_by_name(const struct hnv_zapi *z, const char *name)
{
	for (size_t i = 0; i < z->nvrfs; i++)
		if (strcmp(z->vrfs[i].name, name) == 0)
			return &z->vrfs[i];
	return NULL;
}

static struct zvrf *vrf_by_id(const struct hnv_zapi *z, uint32_t id)
{
	for (size_t i = 0; i < z->nvrfs; i++)
		if (z->vrfs[i].id == id)
			return &z->vrfs[i];
	return NULL;
}

static void set_state(struct hnv_zapi *z, struct zroute *r, enum hnv_zapi_route_state s)
{
	if (r->state == HNV_ZAPI_RS_SENT && z->queued > 0)
		z->queued--;
	if (s == HNV_ZAPI_RS_SENT)
		z->queued++;
	r->state = s;
}

/* ---- sending routes ---- */

/* Queues ROUTE_ADD (and marks r SENT) or ROUTE_DELETE for r. */
static void send_route(struct hnv_zapi *z, struct zroute *r, bool add, uint32_t vrf_id)
{
	struct hnv_zapi_route m = {
		.type = z->route_type,
		.safi = 1,
		.prefix = r->p,
	};
	if (add) {
		m.message = ZMSG_NEXTHOP | ZMSG_DISTANCE | ZMSG_METRIC;
		/* a bare gateway may be reached through another route */
		if (r->nh.type == HNV_ZAPI_NH_IPV4 || r->nh.type == HNV_ZAPI_NH_IPV6)
			m.flags = ZFLAG_ALLOW_RECURSION;
		m.n_nh = 1;
		m.nh[0] = r->nh;
		m.distance = r->distance;
		m.metric = r->metric;
	}
	uint8_t buf[256];
	uint64_t before = z->st.msgs_out;
	queue_msg(z, buf, hnv_zapi_enc_route(z->rel, buf, sizeof(buf), add, vrf_id, &m));
	if (add && z->st.msgs_out != before)
		set_state(z, r, HNV_ZAPI_RS_SENT);
}

static void send_cap(struct hnv_zapi *z, uint32_t cap, uint32_t a, uint32_t b, uint32_t vrf_id)
{
	uint8_t buf[64];
	queue_msg(z, buf, hnv_zapi_enc_client_cap(z->rel, buf, sizeof(buf), cap, a, b, vrf_id));
}

/* GR: once every sent route is answered (or the fallback deadline passed),
 * tell zebra each VRF's routes are complete, so stale routes of an earlier
 * session that were not sent again are removed now. */
static void maybe_complete(struct hnv_zapi *z)
{
	if (z->conn != HNV_ZAPI_CONNECTED || z->gr_stale == 0)
		return;
	if (z->queued > 0 && hnv_mono_ms() < z->sync_deadline_ms)
		return;
	for (size_t i = 0; i < z->nvrfs; i++) {
		if (z->vrfs[i].complete_sent)
			continue;
		send_cap(z, ZCAP_UPDATE_COMPLETE, 1, 1, z->vrfs[i].id);
		send_cap(z, ZCAP_UPDATE_COMPLETE, 2, 1, z->vrfs[i].id);
		z->vrfs[i].complete_sent = true;
	}
}

/* ---- session ---- */

static void session_close(struct hnv_zapi *z, const char *why)
{
	if (z->fd < 0)
		return;
	close(z->fd);
	z->fd = -1;
	if (z->conn == HNV_ZAPI_CONNECTED) {
		z->st.disconnects++;
		zlog_rl(z, &z->rl_conn, HNV_LOG_WARNING, "session with zebra at %s closed: %s",
			z->path, why);
		z->conn = HNV_ZAPI_DISCONNECTED;
		z->next_try_ms = hnv_mono_ms() + z->backoff_ms;
	}
	z->in_len = 0;
	z->out_len = 0;
	z->nvrfs = 0;
	z->nifs = 0;
	z->sync_deadline_ms = 0;
	for (size_t b = 0; b < z->nb; b++)
		for (struct zroute *r = z->tab[b]; r; r = r->next)
			set_state(z, r, HNV_ZAPI_RS_WAIT_VRF);
	z->queued = 0;
}

/* Runs prog --version (as argv[0] "zebra"), at most VERSION_TIMEOUT_MS. */
static int run_version(const char *prog, char *out, size_t outlen)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *argv[] = {(char *)"zebra", (char *)"--version", NULL};
	char *envp[] = {(char *)"LC_ALL=C", NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, prog, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		return -rc;
	}
	char buf[1024];
	size_t len = 0;
	long deadline = hnv_mono_ms() + VERSION_TIMEOUT_MS;
	for (;;) {
		long left = deadline - hnv_mono_ms();
		if (left <= 0)
			break;
		struct pollfd pfd = {.fd = p[0], .events = POLLIN};
		int n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		ssize_t r = read(p[0], buf + len, sizeof(buf) - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == sizeof(buf) - 1)
			break;
	}
	close(p[0]);
	buf[len] = '\0';
	kill(pid, SIGKILL); /* normally exited already */
	waitpid(pid, NULL, 0);
	return hnv_zapi_version_parse(buf, out, outlen);
}

/* The release of the zebra at the other end of fd. */
static int detect_release(struct hnv_zapi *z, int fd, char *out, size_t outlen)
{
	if (z->frr_version) {
		snprintf(out, outlen, "%s", z->frr_version);
		return 0;
	}
	struct ucred uc;
	socklen_t l = sizeof(uc);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0 && uc.pid > 0 &&
	    uc.pid != getpid()) {
		char exe[64];
		snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)uc.pid);
		if (run_version(exe, out, outlen) == 0)
			return 0;
	}
	return run_version(z->zebra_bin, out, outlen);
}

static void session_start(struct hnv_zapi *z)
{
	uint8_t buf[64];
	z->conn = HNV_ZAPI_CONNECTED;
	z->st.connects++;
	z->last_conn_err = 0;
	z->refused_release[0] = '\0';
	z->sync_deadline_ms = hnv_mono_ms() + SYNC_FALLBACK_MS;
	zlog(z, HNV_LOG_NOTICE, "connected to zebra at %s (FRR %s), route type %u%s", z->path,
	     z->release, z->route_type, z->gr_stale ? ", graceful restart" : "");
	queue_msg(z, buf, hnv_zapi_enc_hello(z->rel, buf, sizeof(buf), z->route_type, true));
	queue_msg(z, buf, hnv_zapi_enc_interface_add(z->rel, buf, sizeof(buf)));
	/* routes, GR and redistribution follow each VRF_ADD */
}

int hnv_zapi_attach_fd(struct hnv_zapi *z, int fd)
{
	session_close(z, "replaced");
	char ver[32];
	int rc = detect_release(z, fd, ver, sizeof(ver));
	const struct hnv_zapi_release *rel = rc == 0 ? hnv_zapi_release_find(ver) : NULL;
	if (!rel) {
		if (rc != 0)
			snprintf(ver, sizeof(ver), "unknown");
		if (strcmp(ver, z->refused_release) != 0) {
			zlog(z, HNV_LOG_ERR,
			     "zebra at %s runs FRR release %s: its ZAPI command numbers are not "
			     "known here (supported: %s); not connecting",
			     z->path, ver, hnv_zapi_releases_supported());
			snprintf(z->refused_release, sizeof(z->refused_release), "%s", ver);
		}
		close(fd);
		z->conn = HNV_ZAPI_REFUSED;
		z->st.refusals++;
		snprintf(z->st.frr_release, sizeof(z->st.frr_release), "%s", ver);
		z->next_try_ms = hnv_mono_ms() + REFUSED_RETRY_MS;
		return -EPROTONOSUPPORT;
	}
	z->rel = rel;
	snprintf(z->release, sizeof(z->release), "%s", ver);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	z->fd = fd;
	session_start(z);
	return flush_out(z);
}

static void try_connect(struct hnv_zapi *z)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", z->path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (e != z->last_conn_err)
			zlog(z, HNV_LOG_WARNING, "cannot connect to zebra at %s: %s; retrying",
			     z->path, strerror(e));
		z->last_conn_err = e;
		z->next_try_ms = hnv_mono_ms() + z->backoff_ms;
		z->backoff_ms =
			z->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : z->backoff_ms * 2;
		return;
	}
	z->backoff_ms = z->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : z->backoff_ms * 2;
	hnv_zapi_attach_fd(z, fd);
}

/* ---- handlers ---- */

static void on_vrf_add(struct hnv_zapi *z, uint32_t vrf_id, const struct hnv_zapi_vrf_info *vi)
{
	struct zvrf *v = vrf_by_id(z, vrf_id);
	if (v && strcmp(v->name, vi->name) != 0) { /* renamed: old name's routes wait */
		for (size_t b = 0; b < z->nb; b++)
			for (struct zroute *r = z->tab[b]; r; r = r->next)
				if (strcmp(r->vrf, v->name) == 0)
					set_state(z, r, HNV_ZAPI_RS_WAIT_VRF);
		*v = z->vrfs[--z->nvrfs];
	}
	v = vrf_by_name(z, vi->name);
	if (!v) {
		struct zvrf *nv = realloc(z->vrfs, (z->nvrfs + 1) * sizeof(*nv));
		if (!nv) {
			session_close(z, "out of memory for VRFs");
			return;
		}
		z->vrfs = nv;
		v = &z->vrfs[z->nvrfs++];
		memset(v, 0, sizeof(*v));
		snprintf(v->name, sizeof(v->name), "%s", vi->name);
	}
	v->id = vrf_id;
	v->table = vi->table_id;
	v->complete_sent = false;
	if (z->gr_stale)
		send_cap(z, ZCAP_GR, z->gr_stale, 0, vrf_id);
	uint8_t buf[64];
	for (size_t i = 0; i < z->nredist; i++)
		queue_msg(z, buf,
			  hnv_zapi_enc_redistribute(z->rel, buf, sizeof(buf), true, vrf_id,
						    z->redist[i].afi, z->redist[i].type));
	for (size_t b = 0; b < z->nb && z->fd >= 0; b++)
		for (struct zroute *r = z->tab[b]; r; r = r->next)
			if (strcmp(r->vrf, vi->name) == 0) {
				send_route(z, r, true, vrf_id);
			}
}

static void on_vrf_delete(struct hnv_zapi *z, uint32_t vrf_id)
{
	struct zvrf *v = vrf_by_id(z, vrf_id);
	if (!v)
		return;
	for (size_t b = 0; b < z->nb; b++)
		for (struct zroute *r = z->tab[b]; r; r = r->next)
			if (strcmp(r->vrf, v->name) == 0)
				set_state(z, r, HNV_ZAPI_RS_WAIT_VRF);
	*v = z->vrfs[--z->nvrfs];
}

static void on_notify(struct hnv_zapi *z, uint32_t vrf_id, const struct hnv_zapi_notify *n)
{
	struct zvrf *v = vrf_by_id(z, vrf_id);
	if (!v)
		return;
	struct zroute *r = *route_slot(z, v->name, &n->prefix);
	char pb[64];
	switch (n->note) {
	case NOTE_INSTALLED:
		z->st.notify_installed++;
		if (r)
			set_state(z, r, HNV_ZAPI_RS_INSTALLED);
		break;
	case NOTE_FAIL_INSTALL:
		z->st.notify_failed++;
		if (r) {
			set_state(z, r, HNV_ZAPI_RS_FAILED);
			fmt_prefix(&r->p, pb, sizeof(pb));
			zlog_rl(z, &z->rl_route, HNV_LOG_WARNING,
				"zebra failed to install %s in VRF %s", pb, v->name);
		}
		break;
	case NOTE_BETTER_ADMIN_WON:
		if (r)
			set_state(z, r, HNV_ZAPI_RS_BETTER_ADMIN_WON);
		break;
	case NOTE_REMOVED:
		z->st.notify_removed++;
		/* the answer to a delete; a route desired again is being re-sent */
		if (r && r->state != HNV_ZAPI_RS_SENT)
			set_state(z, r, HNV_ZAPI_RS_REMOVED);
		break;
	default:
		break;
	}
}

static void on_interface(struct hnv_zapi *z, enum hnv_zapi_cmd c, uint32_t vrf_id,
			 const struct hnv_zapi_if *i)
{
	size_t k = 0;
	while (k < z->nifs && (z->ifs[k].i.ifindex != i->ifindex || z->ifs[k].vrf_id != vrf_id))
		k++;
	if (c == HNV_ZC_INTERFACE_DELETE) {
		if (k < z->nifs)
			z->ifs[k] = z->ifs[--z->nifs];
		return;
	}
	if (k == z->nifs) {
		struct zif *ni = realloc(z->ifs, (z->nifs + 1) * sizeof(*ni));
		if (!ni)
			return;
		z->ifs = ni;
		z->nifs++;
	}
	z->ifs[k].i = *i;
	z->ifs[k].vrf_id = vrf_id;
}

static void bad_msg(struct hnv_zapi *z, const char *what, size_t len)
{
	z->st.bad_msgs++;
	zlog_rl(z, &z->rl_bad, HNV_LOG_WARNING, "malformed %s from zebra (%zu bytes), skipped",
		what, len);
}

static void dispatch(struct hnv_zapi *z, const struct hnv_zapi_hdr *h, const uint8_t *body,
		     size_t blen)
{
	enum hnv_zapi_cmd c = hnv_zapi_cmd_from_num(z->rel, h->cmd);
	z->st.msgs_in++;
	switch (c) {
	case HNV_ZC_CAPABILITIES: {
		struct hnv_zapi_caps caps;
		if (hnv_zapi_dec_capabilities(body, blen, &caps) < 0) {
			bad_msg(z, "CAPABILITIES", blen);
			break;
		}
		z->st.vrf_backend = caps.vrf_backend;
		z->st.multipath_num = caps.multipath_num;
		z->backoff_ms = BACKOFF_MIN_MS; /* the session works */
		break;
	}
	case HNV_ZC_VRF_ADD: {
		struct hnv_zapi_vrf_info vi;
		if (hnv_zapi_dec_vrf_add(body, blen, &vi) < 0) {
			bad_msg(z, "VRF_ADD", blen);
			break;
		}
		on_vrf_add(z, h->vrf_id, &vi);
		break;
	}
	case HNV_ZC_VRF_DELETE:
		on_vrf_delete(z, h->vrf_id);
		break;
	case HNV_ZC_ROUTE_NOTIFY_OWNER: {
		struct hnv_zapi_notify n;
		if (hnv_zapi_dec_notify(body, blen, &n) < 0) {
			bad_msg(z, "ROUTE_NOTIFY_OWNER", blen);
			break;
		}
		on_notify(z, h->vrf_id, &n);
		break;
	}
	case HNV_ZC_REDISTRIBUTE_ROUTE_ADD:
	case HNV_ZC_REDISTRIBUTE_ROUTE_DEL: {
		struct hnv_zapi_route *r = malloc(sizeof(*r));
		if (!r)
			break;
		if (hnv_zapi_dec_route(body, blen, r) < 0) {
			bad_msg(z, "REDISTRIBUTE_ROUTE", blen);
			free(r);
			break;
		}
		bool add = c == HNV_ZC_REDISTRIBUTE_ROUTE_ADD;
		if (add)
			z->st.redist_add++;
		else
			z->st.redist_del++;
		struct zvrf *v = vrf_by_id(z, h->vrf_id);
		if (z->redist_cb)
			z->redist_cb(z->arg, add, v ? v->name : "", h->vrf_id, r);
		free(r);
		break;
	}
	case HNV_ZC_INTERFACE_ADD:
	case HNV_ZC_INTERFACE_DELETE:
	case HNV_ZC_INTERFACE_UP:
	case HNV_ZC_INTERFACE_DOWN: {
		struct hnv_zapi_if i;
		if (hnv_zapi_dec_interface(body, blen, &i) < 0) {
			bad_msg(z, "INTERFACE message", blen);
			break;
		}
		on_interface(z, c, h->vrf_id, &i);
		break;
	}
	case HNV_ZC_ERROR: {
		struct rbuf r = {.p = body, .len = blen};
		uint32_t e = get32_host(&r);
		z->st.zebra_errors++;
		zlog_rl(z, &z->rl_err, HNV_LOG_WARNING,
			"zebra reported error %u (%s) for a message in VRF %u", e,
			e == 1   ? "no such VRF"
			: e == 2 ? "invalid message type"
				 : "unknown",
			h->vrf_id);
		break;
	}
	case HNV_ZC_UNKNOWN:
		z->st.unknown_cmds++;
		break;
	default: /* addresses and our own request types: not used */
		break;
	}
}

/* Handles the complete messages in z->in. */
static int parse_in(struct hnv_zapi *z)
{
	size_t off = 0;
	while (z->fd >= 0 && z->in_len - off >= HNV_ZAPI_HDR_LEN) {
		struct hnv_zapi_hdr h;
		if (hnv_zapi_hdr_decode(z->in + off, z->in_len - off, &h) < 0) {
			z->st.bad_msgs++;
			session_close(z, "corrupt message header from zebra");
			return -EPROTO;
		}
		if (z->in_len - off < h.len)
			break;
		dispatch(z, &h, z->in + off + HNV_ZAPI_HDR_LEN, h.len - HNV_ZAPI_HDR_LEN);
		off += h.len;
	}
	if (z->fd < 0)
		return 0;
	memmove(z->in, z->in + off, z->in_len - off);
	z->in_len -= off;
	maybe_complete(z);
	return 0;
}

int hnv_zapi_feed(struct hnv_zapi *z, const uint8_t *buf, size_t len)
{
	while (len > 0 && z->fd >= 0) {
		size_t n = IN_CAP - z->in_len;
		if (n > len)
			n = len;
		memcpy(z->in + z->in_len, buf, n);
		z->in_len += n;
		buf += n;
		len -= n;
		int rc = parse_in(z);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- public ---- */

struct hnv_zapi *hnv_zapi_new(const struct hnv_zapi_opts *o)
{
	const char *path = o->path ? o->path : HNV_ZAPI_DEFAULT_PATH;
	uint8_t type = o->route_type ? o->route_type : HNV_ZAPI_ROUTE_OPENFABRIC;
	if (path[0] == '\0' || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path) ||
	    (type != HNV_ZAPI_ROUTE_SHARP && type != HNV_ZAPI_ROUTE_OPENFABRIC)) {
		errno = EINVAL;
		return NULL;
	}
	struct hnv_zapi *z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	z->path = strdup(path);
	z->zebra_bin = strdup(o->zebra_bin ? o->zebra_bin : HNV_ZAPI_DEFAULT_ZEBRA);
	z->frr_version = o->frr_version ? strdup(o->frr_version) : NULL;
	z->nb = 256;
	z->tab = calloc(z->nb, sizeof(*z->tab));
	if (!z->path || !z->zebra_bin || (o->frr_version && !z->frr_version) || !z->tab) {
		hnv_zapi_free(z);
		errno = ENOMEM;
		return NULL;
	}
	z->route_type = type;
	z->gr_stale = o->gr_stale_time;
	z->redist_cb = o->redist_cb;
	z->log = o->log;
	z->arg = o->arg;
	z->fd = -1;
	z->conn = HNV_ZAPI_DISCONNECTED;
	z->backoff_ms = BACKOFF_MIN_MS;
	z->next_try_ms = 0;
	return z;
}

void hnv_zapi_free(struct hnv_zapi *z)
{
	if (!z)
		return;
	if (z->fd >= 0)
		close(z->fd);
	for (size_t b = 0; b < z->nb && z->tab; b++)
		for (struct zroute *r = z->tab[b], *next; r; r = next) {
			next = r->next;
			free(r);
		}
	free(z->tab);
	free(z->vrfs);
	free(z->ifs);
	free(z->out);
	free(z->path);
	free(z->zebra_bin);
	free(z->frr_version);
	free(z);
}

int hnv_zapi_fd(const struct hnv_zapi *z)
{
	return z->fd;
}

short hnv_zapi_poll_events(const struct hnv_zapi *z)
{
	if (z->fd < 0)
		return 0;
	return (short)(POLLIN | (z->out_len ? POLLOUT : 0));
}

int hnv_zapi_handle_io(struct hnv_zapi *z, short revents)
{
	if (z->fd < 0)
		return -ENOTCONN;
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		for (;;) {
			ssize_t n = read(z->fd, z->in + z->in_len, IN_CAP - z->in_len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n <= 0) {
				int e = n < 0 ? errno : 0;
				session_close(z,
					      n < 0 ? strerror(e) : "zebra closed the connection");
				return n < 0 ? -e : -ECONNRESET;
			}
			z->in_len += (size_t)n;
			int rc = parse_in(z);
			if (rc < 0)
				return rc;
		}
	}
	return flush_out(z);
}

int hnv_zapi_tick(struct hnv_zapi *z)
{
	long now = hnv_mono_ms();
	if (z->fd < 0 && now >= z->next_try_ms)
		try_connect(z);
	if (z->fd >= 0) {
		maybe_complete(z);
		flush_out(z);
	}
	now = hnv_mono_ms();
	long due;
	if (z->fd < 0) {
		due = z->next_try_ms - now;
	} else {
		bool pending = false;
		for (size_t i = 0; z->gr_stale && i < z->nvrfs; i++)
			pending |= !z->vrfs[i].complete_sent;
		if (!pending)
			return -1;
		due = z->sync_deadline_ms - now;
	}
	if (due < 0)
		due = 0;
	return due > 60000 ? 60000 : (int)due;
}

static bool nh_valid(const struct hnv_zapi_nh *nh, bool v4)
{
	switch (nh->type) {
	case HNV_ZAPI_NH_IFINDEX:
		return nh->ifindex != 0;
	case HNV_ZAPI_NH_IPV4:
	case HNV_ZAPI_NH_IPV6:
	case HNV_ZAPI_NH_IPV4_IFINDEX:
	case HNV_ZAPI_NH_IPV6_IFINDEX: {
		bool nv4 = nh->type == HNV_ZAPI_NH_IPV4 || nh->type == HNV_ZAPI_NH_IPV4_IFINDEX;
		bool withif = nh->type == HNV_ZAPI_NH_IPV4_IFINDEX ||
			      nh->type == HNV_ZAPI_NH_IPV6_IFINDEX;
		return nv4 == v4 && hnv_ip_is_v4(&nh->gw) == v4 && !hnv_ip_is_unspec(&nh->gw) &&
		       (!withif || nh->ifindex != 0);
	}
	case HNV_ZAPI_NH_BLACKHOLE:
		return nh->bh_type <= HNV_ZAPI_BH_ADMINPROHIB;
	}
	return false;
}

int hnv_zapi_route_set(struct hnv_zapi *z, const char *vrf, const struct hnv_prefix *p,
		       const struct hnv_zapi_nh *nh, uint8_t distance, uint32_t metric)
{
	char pb[64];
	if (!vrf || vrf[0] == '\0' || strlen(vrf) >= HNV_ZAPI_VRF_NAMSIZ) {
		zlog(z, HNV_LOG_ERR, "route: bad VRF name \"%.40s\"", vrf ? vrf : "");
		return -EINVAL;
	}
	if (!prefix_valid(p)) {
		zlog(z, HNV_LOG_ERR, "route in VRF %s: prefix length %u or host bits invalid", vrf,
		     p->len);
		return -EINVAL;
	}
	bool v4 = hnv_ip_is_v4(&p->addr);
	if (!nh_valid(nh, v4) || distance == 0) {
		fmt_prefix(p, pb, sizeof(pb));
		zlog(z, HNV_LOG_ERR,
		     "route %s in VRF %s: invalid nexthop (type %u, ifindex %u) or distance %u", pb,
		     vrf, nh->type, nh->ifindex, distance);
		return -EINVAL;
	}
	struct zroute **s = route_slot(z, vrf, p);
	struct zroute *r = *s;
	if (!r) {
		if (z->nroutes >= z->nb * 2 && route_grow(z) == 0)
			s = route_slot(z, vrf, p);
		r = calloc(1, sizeof(*r));
		if (!r)
			return -ENOMEM;
		snprintf(r->vrf, sizeof(r->vrf), "%s", vrf);
		r->p = *p;
		r->state = HNV_ZAPI_RS_WAIT_VRF;
		*s = r;
		z->nroutes++;
	}
	r->nh = *nh;
	r->nh.flags = 0;
	r->nh.weight = 0;
	r->nh.vrf_id = 0;
	if (r->nh.type == HNV_ZAPI_NH_IPV4 || r->nh.type == HNV_ZAPI_NH_IPV6 ||
	    r->nh.type == HNV_ZAPI_NH_BLACKHOLE)
		r->nh.ifindex = 0;
	if (r->nh.type == HNV_ZAPI_NH_IFINDEX || r->nh.type == HNV_ZAPI_NH_BLACKHOLE)
		memset(&r->nh.gw, 0, sizeof(r->nh.gw));
	r->distance = distance;
	r->metric = metric;
	struct zvrf *v = z->conn == HNV_ZAPI_CONNECTED ? vrf_by_name(z, vrf) : NULL;
	if (v) {
		send_route(z, r, true, v->id);
		flush_out(z);
	}
	return 0;
}

int hnv_zapi_route_del(struct hnv_zapi *z, const char *vrf, const struct hnv_prefix *p)
{
	if (!vrf || strlen(vrf) >= HNV_ZAPI_VRF_NAMSIZ)
		return -ENOENT;
	struct zroute **s = route_slot(z, vrf, p);
	struct zroute *r = *s;
	if (!r)
		return -ENOENT;
	struct zvrf *v = z->conn == HNV_ZAPI_CONNECTED ? vrf_by_name(z, vrf) : NULL;
	if (v)
		send_route(z, r, false, v->id);
	set_state(z, r, HNV_ZAPI_RS_WAIT_VRF);
	*s = r->next;
	free(r);
	z->nroutes--;
	flush_out(z);
	return 0;
}

void hnv_zapi_routes_flush(struct hnv_zapi *z)
{
	for (size_t b = 0; b < z->nb; b++)
		while (z->tab[b]) {
			struct zroute *r = z->tab[b];
			struct zvrf *v =
				z->conn == HNV_ZAPI_CONNECTED ? vrf_by_name(z, r->vrf) : NULL;
			if (v)
				send_route(z, r, false, v->id);
			set_state(z, r, HNV_ZAPI_RS_WAIT_VRF);
			z->tab[b] = r->next;
			free(r);
			z->nroutes--;
		}
	flush_out(z);
}

int hnv_zapi_route_foreach(const struct hnv_zapi *z,
			   int (*fn)(void *arg, const struct hnv_zapi_route_info *r), void *arg)
{
	for (size_t b = 0; b < z->nb; b++)
		for (struct zroute *r = z->tab[b]; r; r = r->next) {
			struct hnv_zapi_route_info ri = {
				.vrf = r->vrf,
				.prefix = r->p,
				.nh = r->nh,
				.distance = r->distance,
				.metric = r->metric,
				.state = r->state,
			};
			int rc = fn(arg, &ri);
			if (rc)
				return rc;
		}
	return 0;
}

int hnv_zapi_redistribute(struct hnv_zapi *z, uint8_t afi, uint8_t type)
{
	if ((afi != 1 && afi != 2) || type == 0 || type >= 31)
		return -EINVAL;
	for (size_t i = 0; i < z->nredist; i++)
		if (z->redist[i].afi == afi && z->redist[i].type == type)
			return 0;
	if (z->nredist == MAX_REDIST)
		return -ENOSPC;
	z->redist[z->nredist].afi = afi;
	z->redist[z->nredist].type = type;
	z->nredist++;
	if (z->conn == HNV_ZAPI_CONNECTED) {
		uint8_t buf[64];
		for (size_t i = 0; i < z->nvrfs; i++)
			queue_msg(z, buf,
				  hnv_zapi_enc_redistribute(z->rel, buf, sizeof(buf), true,
							    z->vrfs[i].id, afi, type));
		flush_out(z);
	}
	return 0;
}

int hnv_zapi_vrf_lookup(const struct hnv_zapi *z, const char *name, uint32_t *vrf_id,
			uint32_t *table_id)
{
	const struct zvrf *v = vrf_by_name(z, name);
	if (!v)
		return -ENOENT;
	if (vrf_id)
		*vrf_id = v->id;
	if (table_id)
		*table_id = v->table;
	return 0;
}

int hnv_zapi_if_lookup(const struct hnv_zapi *z, const char *vrf, const char *name,
		       uint32_t *ifindex, uint32_t *vrf_id)
{
	const struct zvrf *v = vrf ? vrf_by_name(z, vrf) : NULL;
	if (vrf && !v)
		return -ENOENT;
	for (size_t k = 0; k < z->nifs; k++)
		if (strcmp(z->ifs[k].i.name, name) == 0 && (!v || z->ifs[k].vrf_id == v->id)) {
			if (ifindex)
				*ifindex = z->ifs[k].i.ifindex;
			if (vrf_id)
				*vrf_id = z->ifs[k].vrf_id;
			return 0;
		}
	return -ENOENT;
}

void hnv_zapi_get_stats(const struct hnv_zapi *z, struct hnv_zapi_stats *st)
{
	*st = z->st;
	st->conn = z->conn;
	if (z->conn == HNV_ZAPI_CONNECTED)
		snprintf(st->frr_release, sizeof(st->frr_release), "%s", z->release);
	st->vrfs = (unsigned)z->nvrfs;
	st->interfaces = (unsigned)z->nifs;
	st->routes = (unsigned)z->nroutes;
	for (size_t b = 0; b < z->nb; b++)
		for (struct zroute *r = z->tab[b]; r; r = r->next)
			switch (r->state) {
			case HNV_ZAPI_RS_WAIT_VRF:
				st->routes_wait_vrf++;
				break;
			case HNV_ZAPI_RS_SENT:
				st->routes_sent++;
				break;
			case HNV_ZAPI_RS_INSTALLED:
				st->routes_installed++;
				break;
			default:
				st->routes_failed++;
				break;
			}
}
