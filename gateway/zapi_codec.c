/* zapi_codec.c: the ZAPI wire format (see zapi_codec.h; the format is in
 * shared/reference/zapi-vici.md part A). */
#include "zapi_codec.h"

#include "../lib/addr.h"

#include <errno.h>
#include <string.h>

#define ZEBRA_HEADER_MARKER 254
#define ZSERV_VERSION 6

#define ZNH_FLAG_LABEL 0x02
#define ZNH_FLAG_WEIGHT 0x04
#define ZNH_FLAG_HAS_BACKUP 0x08
#define ZNH_FLAG_SEG6 0x10
#define ZNH_FLAG_SEG6LOCAL 0x20

#define AF_ZINET 2   /* Linux AF_INET, as zebra writes it */
#define AF_ZINET6 10 /* Linux AF_INET6 */

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

bool hnv_zapi_prefix_valid(const struct hnv_prefix *p)
{
	return p->len <= (hnv_ip_is_v4(&p->addr) ? 32 : 128) && !hnv_prefix_host_bits_set(p);
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
	const uint32_t known = HNV_ZAPI_MSG_NEXTHOP | HNV_ZAPI_MSG_DISTANCE | HNV_ZAPI_MSG_METRIC |
			       HNV_ZAPI_MSG_TAG | HNV_ZAPI_MSG_MTU | HNV_ZAPI_MSG_TABLEID;
	if ((r->message & ~known) || r->type >= rel->route_max ||
	    !hnv_zapi_prefix_valid(&r->prefix) || (r->safi != 1 && r->safi != 2))
		return -EINVAL;
	if ((r->message & HNV_ZAPI_MSG_NEXTHOP) && (r->n_nh == 0 || r->n_nh > HNV_ZAPI_NH_MAX))
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
	if (r->message & HNV_ZAPI_MSG_NEXTHOP) {
		put16(&w, (uint16_t)r->n_nh);
		for (unsigned i = 0; i < r->n_nh; i++) {
			int rc = put_nh(&w, &r->nh[i], vrf_id, v4);
			if (rc < 0)
				return rc;
		}
	}
	if (r->message & HNV_ZAPI_MSG_DISTANCE)
		put8(&w, r->distance);
	if (r->message & HNV_ZAPI_MSG_METRIC)
		put32(&w, r->metric);
	if (r->message & HNV_ZAPI_MSG_TAG)
		put32(&w, r->tag);
	if (r->message & HNV_ZAPI_MSG_MTU)
		put32(&w, r->mtu);
	if (r->message & HNV_ZAPI_MSG_TABLEID)
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
	if (rflags & HNV_ZAPI_FLAG_EVPN_ROUTE)
		get(r, NULL, 6); /* router MAC */
	if (rmsg & HNV_ZAPI_MSG_SRTE)
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
	if (rt->message & HNV_ZAPI_MSG_SRCPFX) {
		uint8_t sl = get8(&r);
		if (sl > 128)
			return -EINVAL;
		get(&r, NULL, (sl + 7u) / 8);
	}
	if (rt->message & HNV_ZAPI_MSG_NHG)
		get32(&r);
	if (rt->message & HNV_ZAPI_MSG_NEXTHOP) {
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
	if (rt->message & HNV_ZAPI_MSG_BACKUP_NEXTHOPS) {
		uint16_t n = get16(&r);
		for (unsigned i = 0; i < n && !r.err; i++) {
			struct hnv_zapi_nh nh;
			if (get_nh(&r, &nh, rt->flags, rt->message) < 0)
				return -EINVAL;
		}
	}
	if (rt->message & HNV_ZAPI_MSG_DISTANCE)
		rt->distance = get8(&r);
	if (rt->message & HNV_ZAPI_MSG_METRIC)
		rt->metric = get32(&r);
	if (rt->message & HNV_ZAPI_MSG_TAG)
		rt->tag = get32(&r);
	if (rt->message & HNV_ZAPI_MSG_MTU)
		rt->mtu = get32(&r);
	if (rt->message & HNV_ZAPI_MSG_TABLEID)
		rt->table_id = get32(&r);
	if (rt->message & HNV_ZAPI_MSG_OPAQUE) {
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

int hnv_zapi_dec_error(const uint8_t *body, size_t len, uint32_t *code)
{
	struct rbuf r = {.p = body, .len = len};
	*code = get32_host(&r);
	return r.err ? -EINVAL : 0;
}
