/* fp.c: the kernel fast path, userspace side (see fp.h): loads the
 * programs of fp.bpf.c, attaches them with tc (clsact, direct action),
 * keeps the maps of fp_maps.h equal to a datapath's policy and settings by
 * deltas (one map write per changed object, counted in map_ops), and reads
 * what the programs punt.
 *
 * The maps are written only from the control thread: the policy mirror
 * callbacks (policy.h: each called after the policy prepared a change and
 * before it publishes it; each here changes all of its map entries or none),
 * the settings listener, attach/detach and bind. The punt reader runs on the
 * forwarding thread and touches only the perf rings, the trace ring (under
 * trace_lock) and atomic statistics.
 */
#include "fp.h"

#include "../../lib/err.h"
#include "../../lib/hmap.h"
#include "../../lib/log.h"
#include "../../lib/vec.h"
#include "../io/io.h"
#include "../policy_read.h"
#include "fp.skel.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Our tc filter on every device: a fixed handle and priority, so an
 * attach after a crash replaces the stale filter (BPF_TC_F_REPLACE). */
#define FP_TC_HANDLE 0x4856 /* "HV" */
#define FP_TC_PRIO 0x4856
#define FP_PUNT_PAGES 64      /* per CPU: 256 KiB of punted frames */
#define FP_SCRATCH (1u << 16) /* perf records are at most 64 KiB (u16 size) */

/* One device we attached to (or, for a TAP port, only registered). */
struct attach {
	bool used;
	int ifindex;
	enum hnv_fp_port_kind kind;
	bool has_prog;     /* a tc filter of ours is on the device */
	bool hook_created; /* we created its clsact qdisc: remove it at detach */
	enum bpf_tc_attach_point point;
	/* a port's entries in fp_ports and fp_port_macs, while the policy has
	 * the port */
	bool in_maps;
	struct fp_portmac_key mac_key;
};

struct touched {
	uint16_t rd;
	struct hnv_prefix pfx;
};

struct hnv_fp {
	struct fp *skel;
	int fd_cfg, fd_pas, fd_vsids, fd_recs4, fd_recs, fd_lrecs, fd_routes, fd_ports,
		fd_port_macs, fd_counters, fd_last, fd_port_stats;
	struct hnv_hmap lrecs; /* the keys in fp_lrecs (lrec_key) */
	int ncpus;
	int stats_fd; /* BPF_ENABLE_STATS while >= 0 (hnv_fp_stats_enable) */
	uint64_t map_ops;
	struct fp_cfg cfg;            /* as written to fp_cfg */
	struct fp_ip pas[FP_MAX_PAS]; /* the keys of fp_pas, in the order added */
	unsigned n_pas;
	struct hnv_dp *dp; /* bound datapath, or NULL */
	struct hnv_policy *pol;
	struct attach uplink;
	struct attach ports[HNV_PORTS_MAX];
	/* (routing domain, prefix) changed since the last commit */
	struct touched *touched;
	size_t n_touched, cap_touched;
	/* punt channel (forwarding thread) */
	struct perf_buffer *pb;
	size_t pb_next; /* the ring read first next time, so none starves */
	size_t page_size;
	uint8_t *scratch; /* FP_SCRATCH bytes: a record that wraps a ring's end */
	_Atomic uint64_t st_frames, st_traces, st_lost, st_too_big, st_malformed;
	pthread_mutex_t trace_lock;
	struct hnv_fp_trace trace[HNV_FP_TRACE_RING];
	unsigned trace_head, trace_n; /* oldest at (head - n) mod size */
};

/* ---- map writes ---- */

static int map_put(struct hnv_fp *fp, int fd, const void *key, const void *val)
{
	fp->map_ops++;
	int rc = bpf_map_update_elem(fd, key, val, BPF_ANY);
	return rc < 0 ? -errno : 0;
}

/* Deleting an absent entry is not an error: the map already says so. */
static int map_del(struct hnv_fp *fp, int fd, const void *key)
{
	fp->map_ops++;
	int rc = bpf_map_delete_elem(fd, key);
	return rc < 0 && errno != ENOENT ? -errno : 0;
}

static int cfg_write(struct hnv_fp *fp, const struct fp_cfg *c)
{
	__u32 zero = 0;
	int rc = map_put(fp, fp->fd_cfg, &zero, c);
	if (!rc)
		fp->cfg = *c;
	return rc;
}

static void cfg_pas(struct fp_cfg *c, const struct hnv_ip *pa4, const struct hnv_ip *pa6)
{
	c->has_pa4 = pa4 != NULL;
	c->has_pa6 = pa6 != NULL;
	memset(&c->pa4, 0, sizeof(c->pa4));
	memset(&c->pa6, 0, sizeof(c->pa6));
	if (pa4)
		memcpy(c->pa4.b, pa4->b, 16);
	if (pa6)
		memcpy(c->pa6.b, pa6->b, 16);
}

/* fp_cfg's copy of the local PAs: their number and the first FP_CFG_PAS
 * of fp->pas. */
static void cfg_pa_list(const struct hnv_fp *fp, struct fp_cfg *c)
{
	c->n_pas = fp->n_pas;
	memset(c->pas, 0, sizeof(c->pas));
	for (unsigned i = 0; i < fp->n_pas && i < FP_CFG_PAS; i++)
		c->pas[i] = fp->pas[i];
}

/* Adds k to or removes it from fp->pas (after the same change to fp_pas,
 * which holds at most FP_MAX_PAS). True when the set changed. */
static bool pa_list_set(struct hnv_fp *fp, const struct fp_ip *k, bool added)
{
	unsigned i = 0;
	while (i < fp->n_pas && memcmp(&fp->pas[i], k, sizeof(*k)) != 0)
		i++;
	if (added) {
		if (i < fp->n_pas || fp->n_pas == FP_MAX_PAS)
			return false;
		fp->pas[fp->n_pas++] = *k;
		return true;
	}
	if (i == fp->n_pas)
		return false;
	memmove(&fp->pas[i], &fp->pas[i + 1], (fp->n_pas - i - 1) * sizeof(*k));
	fp->n_pas--;
	return true;
}

/* ---- the policy's objects as map entries ---- */

static bool rec_in_fp(const struct hnv_rec *r)
{
	return !hnv_ip_is_unspec(&r->ca) || r->type == HNV_TYPE_GATEWAY_WILDCARD;
}

/* r's key in the map of its CA's family: fp_recs4 (IPv4) or fp_recs.
 * Returns that map's descriptor. */
struct rec_key {
	union {
		struct fp_rec4_key k4;
		struct fp_rec_key k6;
	};
};
static int rec_key(const struct hnv_fp *fp, const struct hnv_rec *r, struct rec_key *k)
{
	memset(k, 0, sizeof(*k));
	if (hnv_ip_is_v4(&r->ca)) {
		k->k4.vsid = r->vsid;
		memcpy(k->k4.ca4, r->ca.b + 12, 4);
		return fp->fd_recs4;
	}
	k->k6.vsid = r->vsid;
	memcpy(k->k6.ca.b, r->ca.b, 16);
	return fp->fd_recs;
}

/* fp_lrecs (fp_maps.h): a copy of the records whose PA is local. An
 * entry is the record's value or absent, never an older value: a change
 * removes the entry before it writes fp_recs4/fp_recs and adds it after.
 * A record that does not fit (the map is full) is read from fp_recs4 or
 * fp_recs, as it would be without this map. */

#define LREC_NAME 48

/* name: the key as hex digits (VSID, then CA), for fp->lrecs. Written
 * by hand: every record change formats one, and snprintf's 17 calls
 * doubled the time to fill 1M records. */
static void lrec_key(const struct hnv_rec *r, struct fp_rec_key *k, char name[LREC_NAME])
{
	static const char hex[] = "0123456789abcdef";
	memset(k, 0, sizeof(*k));
	k->vsid = r->vsid;
	memcpy(k->ca.b, r->ca.b, 16);
	char *o = name;
	for (int sh = 28; sh >= 0; sh -= 4)
		*o++ = hex[(r->vsid >> sh) & 0xf];
	for (unsigned i = 0; i < 16; i++) {
		*o++ = hex[r->ca.b[i] >> 4];
		*o++ = hex[r->ca.b[i] & 0xf];
	}
	*o = '\0';
}

static bool pa_is_local(const struct hnv_fp *fp, const struct hnv_ip *pa)
{
	for (unsigned i = 0; i < fp->n_pas; i++)
		if (memcmp(fp->pas[i].b, pa->b, 16) == 0)
			return true;
	return false;
}

/* Removes r's fp_lrecs entry, if it has one. */
static int lrec_drop(struct hnv_fp *fp, const struct hnv_rec *r)
{
	if (fp->lrecs.n == 0)
		return 0;
	struct fp_rec_key k;
	char name[LREC_NAME];
	lrec_key(r, &k, name);
	if (!hnv_hmap_find(&fp->lrecs, name))
		return 0;
	int rc = map_del(fp, fp->fd_lrecs, &k);
	if (!rc)
		hnv_hmap_del(&fp->lrecs, name, NULL);
	return rc;
}

/* Adds r's fp_lrecs entry (value v, as written to fp_recs4/fp_recs) when
 * its PA is local. Best effort: without the entry, its record is read
 * where it always is. */
static void lrec_add(struct hnv_fp *fp, const struct hnv_rec *r, const struct fp_rec *v)
{
	if (hnv_ip_is_unspec(&r->ca) || !pa_is_local(fp, &r->pa))
		return;
	struct fp_rec_key k;
	char name[LREC_NAME];
	lrec_key(r, &k, name);
	if (hnv_hmap_put(&fp->lrecs, name, NULL, NULL))
		return;
	if (map_put(fp, fp->fd_lrecs, &k, v))
		hnv_hmap_del(&fp->lrecs, name, NULL);
}

static void rec_value(const struct hnv_rec *r, struct fp_rec *v)
{
	memset(v, 0, sizeof(*v));
	memcpy(v->pa.b, r->pa.b, 16);
	memcpy(v->mac, r->mac.b, 6);
	v->rule = r->rule;
	v->type = r->type;
}

static int m_rec_set(void *arg, const struct hnv_rec *r)
{
	struct hnv_fp *fp = arg;
	struct rec_key k;
	struct fp_rec v;
	int fd = rec_key(fp, r, &k);
	rec_value(r, &v);
	int rc = lrec_drop(fp, r);
	if (!rc)
		rc = map_put(fp, fd, &k, &v);
	if (!rc)
		lrec_add(fp, r, &v);
	return rc;
}

static int m_rec_del(void *arg, const struct hnv_rec *r)
{
	struct hnv_fp *fp = arg;
	struct rec_key k;
	int fd = rec_key(fp, r, &k);
	int rc = lrec_drop(fp, r);
	return rc ? rc : map_del(fp, fd, &k);
}

/* After a change of the local PAs: each record of the maps in fp_lrecs
 * if and only if its PA is local now. Best effort (see lrec_add); an
 * entry that stays is still its record's value. */
static int lrec_sync_one(const struct hnv_rec *r, void *arg)
{
	struct hnv_fp *fp = arg;
	if (!rec_in_fp(r))
		return 0;
	struct fp_rec_key k;
	char name[LREC_NAME];
	lrec_key(r, &k, name);
	bool in = hnv_hmap_find(&fp->lrecs, name) != NULL;
	if (in && !pa_is_local(fp, &r->pa)) {
		lrec_drop(fp, r);
	} else if (!in) {
		struct fp_rec v;
		rec_value(r, &v);
		lrec_add(fp, r, &v);
	}
	return 0;
}

static void lrecs_sync(struct hnv_fp *fp)
{
	hnv_policy_rec_foreach(fp->pol, lrec_sync_one, fp);
}

/* fp_vsids' entry of vsid into *vs (zeroed when there is none): the copy
 * in struct fp_port. True when there is one. */
static bool port_vs(struct hnv_fp *fp, __u32 vsid, struct fp_vsid *vs)
{
	if (bpf_map_lookup_elem(fp->fd_vsids, &vsid, vs) == 0)
		return true;
	memset(vs, 0, sizeof(*vs));
	return false;
}

/* After fp_vsids' entry of vsid changed: the ports of that VSID get the
 * new copy (struct fp_port.vs). */
static int ports_vs_sync(struct hnv_fp *fp, __u32 vsid)
{
	struct fp_vsid vs;
	bool has = port_vs(fp, vsid, &vs);
	for (unsigned id = 0; id < HNV_PORTS_MAX; id++) {
		const struct attach *a = &fp->ports[id];
		if (!a->in_maps || a->mac_key.vsid != vsid)
			continue;
		__u32 k = (__u32)a->ifindex;
		struct fp_port v;
		if (bpf_map_lookup_elem(fp->fd_ports, &k, &v) != 0)
			continue;
		v.has_vs = has;
		v.vs = vs;
		int rc = map_put(fp, fp->fd_ports, &k, &v);
		if (rc)
			return rc;
	}
	return 0;
}

static int m_vsubnet_set(void *arg, const struct hnv_vsubnet *vs)
{
	struct fp_vsid v;
	memset(&v, 0, sizeof(v));
	v.rd = vs->rd_idx;
	v.n_gw = vs->n_prefixes;
	v.flags = (vs->dhcp ? FP_VSID_DHCP : 0) | (vs->l2 ? FP_VSID_L2ONLY : 0);
	if (vs->gw_recs) {
		v.flags |= FP_VSID_GW_MAC;
		memcpy(v.gw_mac, vs->gw_mac.b, 6);
	}
	for (unsigned i = 0; i < vs->n_prefixes && i < FP_VSID_GWS; i++)
		memcpy(v.gw[i].b, vs->gateway[i].b, 16);
	__u32 k = vs->vsid;
	struct hnv_fp *fp = arg;
	struct fp_vsid old;
	bool had = port_vs(fp, k, &old);
	int rc = map_put(fp, fp->fd_vsids, &k, &v);
	if (rc == 0 && (rc = ports_vs_sync(fp, k)) != 0) {
		/* all or none: the old entry back, and the ports' copies of it
		 * (best effort) */
		if (had)
			map_put(fp, fp->fd_vsids, &k, &old);
		else
			map_del(fp, fp->fd_vsids, &k);
		ports_vs_sync(fp, k);
	}
	return rc;
}

/* No port has a copy to refresh: the policy refuses to delete a VSID that
 * a port uses. */
static int m_vsubnet_del(void *arg, const struct hnv_vsubnet *vs)
{
	__u32 k = vs->vsid;
	struct hnv_fp *fp = arg;
	return map_del(fp, fp->fd_vsids, &k);
}

/* The LPM key of (rd, prefix): 32 bits of routing domain, then the
 * prefix's bits in the mapped space; host bits cleared. */
static void route_key(uint16_t rd, const struct hnv_prefix *pfx, struct fp_route_key *k)
{
	memset(k, 0, sizeof(*k));
	unsigned bits = hnv_prefix_bits128(pfx);
	if (bits > 128)
		bits = 128;
	k->prefixlen = 32 + bits;
	k->rd = htonl(rd);
	for (unsigned i = 0; i < 16; i++) {
		unsigned have = bits > i * 8 ? bits - i * 8 : 0;
		uint8_t mask = have >= 8 ? 0xff : (uint8_t)(0xff00 >> have);
		k->addr.b[i] = pfx->addr.b[i] & mask;
	}
}

/* Writes or deletes the entry of (rd, prefix): the route the policy
 * chooses among its configured routes (staged) or among the committed
 * ones (committed, to undo a failed publish). */
static int route_sync(struct hnv_fp *fp, uint16_t rd, const struct hnv_prefix *pfx, bool committed)
{
	struct fp_route_key k;
	struct hnv_route_hit hit;
	route_key(rd, pfx, &k);
	bool found = committed ? hnv_policy_route_committed(fp->pol, rd, pfx, &hit)
			       : hnv_policy_route_exact(fp->pol, rd, pfx, &hit);
	if (!found)
		return map_del(fp, fp->fd_routes, &k);
	struct fp_route v;
	memset(&v, 0, sizeof(v));
	v.vsid = hit.vsid;
	v.metric = hit.metric;
	memcpy(v.nexthop.b, hit.nexthop.b, 16);
	return map_put(fp, fp->fd_routes, &k, &v);
}

/* After a change to fp_routes: every entry of the route caches fp_rcache4
 * and fp_rcache is stale from now on (struct fp_rcache_val). */
static void route_gen_bump(struct hnv_fp *fp)
{
	__atomic_add_fetch(&fp->skel->bss->fp_route_gen, 1, __ATOMIC_SEQ_CST);
}

static int m_route_touch(void *arg, uint16_t rd, const struct hnv_prefix *pfx)
{
	struct hnv_fp *fp = arg;
	if (HNV_GROW(fp->touched, fp->cap_touched, fp->n_touched + 1))
		return -ENOMEM;
	fp->touched[fp->n_touched++] = (struct touched){rd, *pfx};
	return 0;
}

static int touched_cmp(const void *a, const void *b)
{
	const struct touched *x = a, *y = b;
	if (x->rd != y->rd)
		return x->rd < y->rd ? -1 : 1;
	if (x->pfx.len != y->pfx.len)
		return x->pfx.len < y->pfx.len ? -1 : 1;
	return memcmp(x->pfx.addr.b, y->pfx.addr.b, 16);
}

/* Inside hnv_policy_commit, before the FIBs are published: one write per
 * touched (rd, prefix). A failure puts back the committed choice of the
 * prefixes written so far and keeps the touched set, as the policy keeps
 * its changes staged. */
static int m_route_publish(void *arg)
{
	struct hnv_fp *fp = arg;
	if (fp->n_touched > 1)
		qsort(fp->touched, fp->n_touched, sizeof(*fp->touched), touched_cmp);
	size_t n = 0;
	for (size_t i = 0; i < fp->n_touched; i++)
		if (!n || touched_cmp(&fp->touched[n - 1], &fp->touched[i]) != 0)
			fp->touched[n++] = fp->touched[i];
	fp->n_touched = n;
	for (size_t i = 0; i < n; i++) {
		int rc = route_sync(fp, fp->touched[i].rd, &fp->touched[i].pfx, false);
		if (rc) {
			while (i-- > 0)
				route_sync(fp, fp->touched[i].rd, &fp->touched[i].pfx, true);
			route_gen_bump(fp);
			return rc;
		}
	}
	if (n)
		route_gen_bump(fp);
	fp->n_touched = 0;
	return 0;
}

static int m_pa_set(void *arg, const struct hnv_ip *pa, bool added, const struct hnv_ip *pa4,
		    const struct hnv_ip *pa6)
{
	struct hnv_fp *fp = arg;
	struct fp_ip k;
	memcpy(k.b, pa->b, 16);
	__u8 one = 1;
	int rc = added ? map_put(fp, fp->fd_pas, &k, &one) : map_del(fp, fp->fd_pas, &k);
	if (rc)
		return rc;
	bool changed = pa_list_set(fp, &k, added);
	struct fp_cfg c = fp->cfg;
	cfg_pas(&c, pa4, pa6);
	cfg_pa_list(fp, &c);
	if (memcmp(&c, &fp->cfg, sizeof(c)) != 0)
		rc = cfg_write(fp, &c);
	if (rc) {
		if (changed)
			pa_list_set(fp, &k, !added);
		if (added)
			map_del(fp, fp->fd_pas, &k);
		else
			map_put(fp, fp->fd_pas, &k, &one);
	} else if (changed) {
		lrecs_sync(fp);
	}
	return rc;
}

/* ---- ports ---- */

static __u8 port_flags(const struct attach *a, const struct hnv_port *pt)
{
	__u8 f = 0;
	if (a->kind == HNV_FP_PORT_TAP)
		f |= FP_PORT_SLOW;
	if (a->kind == HNV_FP_PORT_GATEWAY)
		f |= FP_PORT_GATEWAY | FP_PORT_INGRESS;
	if (pt->gateway) /* the C engine skips its source checks too */
		f |= FP_PORT_GATEWAY;
	return f;
}

/* Zeroes port id's fp_port_stats slot on every CPU: a port entering the
 * maps (new, re-added, re-attached) starts from 0, not from what an
 * earlier port with its id counted. */
static int port_stats_clear(struct hnv_fp *fp, __u32 id)
{
	struct fp_port_stats *z = calloc((size_t)fp->ncpus, sizeof(*z));
	if (!z)
		return -ENOMEM;
	int rc = map_put(fp, fp->fd_port_stats, &id, z);
	free(z);
	return rc;
}

/* Writes port pt's two entries (by ifindex, by (vsid, MAC)); all or none.
 * A port that was not in the maps gets its fp_port_stats slot cleared
 * first. */
static int port_put(struct hnv_fp *fp, struct attach *a, const struct hnv_port *pt)
{
	if (!a->in_maps) {
		int rc = port_stats_clear(fp, pt->id);
		if (rc)
			return rc;
	}
	struct fp_port v;
	memset(&v, 0, sizeof(v));
	v.id = pt->id;
	v.flags = port_flags(a, pt);
	v.n_cas = pt->n_cas < FP_PORT_CAS ? pt->n_cas : FP_PORT_CAS;
	v.vsid = pt->vsid;
	memcpy(v.mac, pt->mac.b, 6);
	for (unsigned i = 0; i < v.n_cas; i++)
		memcpy(v.cas[i].b, pt->cas[i].b, 16);
	v.has_vs = port_vs(fp, v.vsid, &v.vs);
	struct fp_portmac_key mk;
	memset(&mk, 0, sizeof(mk));
	mk.vsid = pt->vsid;
	memcpy(mk.mac, pt->mac.b, 6);
	struct fp_port_ref ref = {.ifindex = (__u32)a->ifindex, .id = pt->id, .flags = v.flags};
	__u32 k = (__u32)a->ifindex;
	int rc = map_put(fp, fp->fd_ports, &k, &v);
	if (rc)
		return rc;
	rc = map_put(fp, fp->fd_port_macs, &mk, &ref);
	if (rc) {
		map_del(fp, fp->fd_ports, &k);
		return rc;
	}
	a->in_maps = true;
	a->mac_key = mk;
	return 0;
}

/* Removes a port's entries; all or none. */
static int port_remove(struct hnv_fp *fp, struct attach *a)
{
	if (!a->in_maps)
		return 0;
	int rc = map_del(fp, fp->fd_port_macs, &a->mac_key);
	if (rc)
		return rc;
	__u32 k = (__u32)a->ifindex;
	rc = map_del(fp, fp->fd_ports, &k);
	if (rc) {
		struct fp_port_ref ref = {0};
		struct fp_port v;
		if (bpf_map_lookup_elem(fp->fd_ports, &k, &v) == 0) {
			ref = (struct fp_port_ref){.ifindex = k, .id = v.id, .flags = v.flags};
			map_put(fp, fp->fd_port_macs, &a->mac_key, &ref);
		}
		return rc;
	}
	a->in_maps = false;
	return 0;
}

static int m_port_set(void *arg, const struct hnv_port *pt)
{
	struct hnv_fp *fp = arg;
	struct attach *a = &fp->ports[pt->id];
	return a->used ? port_put(fp, a, pt) : 0;
}

static int m_port_del(void *arg, const struct hnv_port *pt)
{
	struct hnv_fp *fp = arg;
	return port_remove(fp, &fp->ports[pt->id]);
}

static const struct hnv_policy_mirror_ops mirror_ops = {
	.vsubnet_set = m_vsubnet_set,
	.vsubnet_del = m_vsubnet_del,
	.rec_set = m_rec_set,
	.rec_del = m_rec_del,
	.route_touch = m_route_touch,
	.route_publish = m_route_publish,
	.pa_set = m_pa_set,
	.port_set = m_port_set,
	.port_del = m_port_del,
};

/* ---- settings and counters from the datapath ---- */

static void cfg_settings(struct fp_cfg *c, const struct hnv_dp_settings *s)
{
	memcpy(c->gw_mac, s->gw_mac.b, 6);
	memcpy(c->uplink_mac, s->uplink_mac.b, 6);
	c->uplink_mtu = s->uplink_mtu;
	c->flowid = s->flowid ? 1 : 0;
}

static void on_settings(void *arg, const struct hnv_dp_settings *s)
{
	struct hnv_fp *fp = arg;
	struct fp_cfg c = fp->cfg;
	cfg_settings(&c, s);
	int rc = cfg_write(fp, &c);
	if (rc)
		hnv_log(HNV_LOG_ERR, "fast path: writing the settings into fp_cfg: %s",
			strerror(-rc));
}

/* Sums every CPU's value of each fp_counters index into sums. */
static void counters_sum(const struct hnv_fp *fp, uint64_t sums[FP_C__COUNT])
{
	memset(sums, 0, FP_C__COUNT * sizeof(uint64_t));
	uint64_t *v = calloc((size_t)fp->ncpus, sizeof(*v));
	if (!v)
		return;
	for (__u32 i = 0; i < FP_C__COUNT; i++) {
		if (bpf_map_lookup_elem(fp->fd_counters, &i, v) != 0)
			continue;
		for (int c = 0; c < fp->ncpus; c++)
			sums[i] += v[c];
	}
	free(v);
}

void hnv_fp_counters(const struct hnv_fp *fp, uint64_t out[HNV_R__COUNT])
{
	uint64_t sums[FP_C__COUNT];
	counters_sum(fp, sums);
	for (unsigned i = 0; i < HNV_R__COUNT; i++)
		out[i] += sums[i];
}

void hnv_fp_events(const struct hnv_fp *fp, uint64_t out[FP_C__COUNT - HNV_R__COUNT])
{
	uint64_t sums[FP_C__COUNT];
	counters_sum(fp, sums);
	for (unsigned i = HNV_R__COUNT; i < FP_C__COUNT; i++)
		out[i - HNV_R__COUNT] = sums[i];
}

int hnv_fp_port_stats(const struct hnv_fp *fp, unsigned id, struct fp_port_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (id >= FP_MAX_PORTS)
		return -EINVAL;
	struct fp_port_stats *v = calloc((size_t)fp->ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	__u32 k = id;
	int rc = bpf_map_lookup_elem(fp->fd_port_stats, &k, v) == 0 ? 0 : -errno;
	for (int c = 0; !rc && c < fp->ncpus; c++) {
		out->rx_packets += v[c].rx_packets;
		out->rx_bytes += v[c].rx_bytes;
		out->rx_dropped += v[c].rx_dropped;
		out->tx_packets += v[c].tx_packets;
		out->tx_bytes += v[c].tx_bytes;
	}
	free(v);
	return rc;
}

static void counter_source(void *arg, uint64_t out[HNV_R__COUNT])
{
	hnv_fp_counters(arg, out);
}

/* ---- open and free ---- */

/* libbpf's warnings during open and load, the tail kept for the error
 * message (the verifier log ends with the reason). Control thread only. */
static char load_log[2048];
static size_t load_log_len;

static int log_capture(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	char line[512];
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n <= 0)
		return 0;
	size_t len = strlen(line);
	if (len >= sizeof(load_log))
		len = sizeof(load_log) - 1;
	if (load_log_len + len >= sizeof(load_log)) {
		size_t drop = load_log_len + len - (sizeof(load_log) - 1);
		memmove(load_log, load_log + drop, load_log_len - drop);
		load_log_len -= drop;
	}
	memcpy(load_log + load_log_len, line, len);
	load_log_len += len;
	load_log[load_log_len] = 0;
	return 0;
}

/* The tail of the captured log on one line, at most max bytes. */
static const char *log_tail(size_t max)
{
	for (char *c = load_log; *c; c++)
		if (*c == '\n' || *c == '\t')
			*c = ' ';
	return load_log_len > max ? load_log + load_log_len - max : load_log;
}

static const char *load_hint(int rc)
{
	switch (-rc) {
	case EPERM:
	case EACCES:
		return "not permitted: eBPF needs CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON (or "
		       "root); "
		       "unprivileged eBPF is refused by kernel.unprivileged_bpf_disabled";
	case ENOSYS:
		return "this kernel has no bpf() system call (CONFIG_BPF_SYSCALL)";
	case E2BIG:
		return "a map or program exceeds this kernel's limits";
	default:
		break;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		return "this kernel exposes no BTF (/sys/kernel/btf/vmlinux missing, "
		       "CONFIG_DEBUG_INFO_BTF)";
	if (strstr(load_log, "PROG LOAD LOG") || strstr(load_log, "verifier"))
		return "the verifier rejected a program";
	return "loading failed";
}

int hnv_fp_open(struct hnv_fp **out, char *err, size_t errlen)
{
	*out = NULL;
	struct hnv_fp *fp = calloc(1, sizeof(*fp));
	if (!fp)
		return -ENOMEM;
	fp->stats_fd = -1;
	pthread_mutex_init(&fp->trace_lock, NULL);
	load_log_len = 0;
	load_log[0] = 0;
	libbpf_print_fn_t prev = libbpf_set_print(log_capture);
	int rc = 0;
	fp->skel = fp__open();
	if (!fp->skel)
		rc = -errno;
	else if (fp__load(fp->skel) != 0)
		rc = -errno;
	libbpf_set_print(prev);
	if (rc) {
		hnv_seterr(err, errlen, "eBPF fast path: %s (%s); libbpf: %s", load_hint(rc),
			   strerror(-rc), load_log_len ? log_tail(600) : "nothing");
		hnv_fp_free(fp);
		return rc;
	}
	struct fp *s = fp->skel;
	fp->fd_cfg = bpf_map__fd(s->maps.fp_cfg);
	fp->fd_pas = bpf_map__fd(s->maps.fp_pas);
	fp->fd_vsids = bpf_map__fd(s->maps.fp_vsids);
	fp->fd_recs4 = bpf_map__fd(s->maps.fp_recs4);
	fp->fd_recs = bpf_map__fd(s->maps.fp_recs);
	fp->fd_lrecs = bpf_map__fd(s->maps.fp_lrecs);
	fp->fd_routes = bpf_map__fd(s->maps.fp_routes);
	fp->fd_ports = bpf_map__fd(s->maps.fp_ports);
	fp->fd_port_macs = bpf_map__fd(s->maps.fp_port_macs);
	fp->fd_counters = bpf_map__fd(s->maps.fp_counters);
	fp->fd_last = bpf_map__fd(s->maps.fp_last);
	fp->fd_port_stats = bpf_map__fd(s->maps.fp_port_stats);
	fp->ncpus = libbpf_num_possible_cpus();
	if (fp->ncpus <= 0) {
		rc = fp->ncpus < 0 ? fp->ncpus : -EINVAL;
		hnv_seterr(err, errlen, "eBPF fast path: counting the possible CPUs: %s",
			   strerror(-rc));
		hnv_fp_free(fp);
		return rc;
	}
	long ps = sysconf(_SC_PAGESIZE);
	fp->page_size = ps > 0 ? (size_t)ps : 4096;
	fp->scratch = malloc(FP_SCRATCH);
	/* no callbacks: hnv_fp_punt_read reads the rings itself, so it can
	 * stop when the caller's batch is full */
	fp->pb = perf_buffer__new(bpf_map__fd(s->maps.fp_punt), FP_PUNT_PAGES, NULL, NULL, NULL,
				  NULL);
	if (!fp->scratch || !fp->pb) {
		rc = fp->pb ? -ENOMEM : -errno;
		hnv_seterr(err, errlen, "eBPF fast path: setting up the punt rings: %s",
			   strerror(-rc));
		hnv_fp_free(fp);
		return rc;
	}
	/* the programs see the C engine's defaults until bind */
	struct fp_cfg c;
	memset(&c, 0, sizeof(c));
	rc = cfg_write(fp, &c);
	if (rc) {
		hnv_seterr(err, errlen, "eBPF fast path: writing fp_cfg: %s", strerror(-rc));
		hnv_fp_free(fp);
		return rc;
	}
	*out = fp;
	return 0;
}

/* ---- tc attachment ---- */

static int tc_attach(struct attach *a, int prog_fd, char *err, size_t errlen, const char *ifname)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex, .attach_point = a->point);
	int rc = bpf_tc_hook_create(&hook);
	if (rc && rc != -EEXIST) {
		hnv_seterr(err, errlen, "adding a clsact qdisc to %s: %s", ifname, strerror(-rc));
		return rc;
	}
	a->hook_created = rc == 0;
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FP_TC_HANDLE, .priority = FP_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	rc = bpf_tc_attach(&hook, &opts);
	if (rc) {
		hnv_seterr(err, errlen, "attaching the fast path's tc filter to %s %s: %s", ifname,
			   a->point == BPF_TC_INGRESS ? "ingress" : "egress", strerror(-rc));
		if (a->hook_created) {
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&hook);
			a->hook_created = false;
		}
		return rc;
	}
	a->has_prog = true;
	return 0;
}

/* Removes our filter (the device may be gone already: nothing to do then)
 * and the clsact qdisc if we created it. */
static void tc_detach(struct attach *a)
{
	if (!a->has_prog)
		return;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex, .attach_point = a->point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FP_TC_HANDLE, .priority = FP_TC_PRIO);
	bpf_tc_detach(&hook, &opts);
	if (a->hook_created) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	a->has_prog = false;
	a->hook_created = false;
}

static bool ifindex_taken(const struct hnv_fp *fp, int ifindex)
{
	if (fp->uplink.used && fp->uplink.ifindex == ifindex)
		return true;
	for (unsigned i = 1; i < HNV_PORTS_MAX; i++)
		if (fp->ports[i].used && fp->ports[i].ifindex == ifindex)
			return true;
	return false;
}

static int ifindex_of(const char *ifname, char *err, size_t errlen)
{
	unsigned ifi = if_nametoindex(ifname);
	if (!ifi) {
		int rc = -errno;
		hnv_seterr(err, errlen, "device %s: %s", ifname, strerror(-rc));
		return rc;
	}
	return (int)ifi;
}

/* The ifindex of ifname when no program of fp serves it yet, else a
 * negative errno with err. */
static int free_ifindex(const struct hnv_fp *fp, const char *ifname, char *err, size_t errlen)
{
	int ifi = ifindex_of(ifname, err, errlen);
	if (ifi >= 0 && ifindex_taken(fp, ifi)) {
		hnv_seterr(err, errlen, "%s is served by the fast path already", ifname);
		return -EBUSY;
	}
	return ifi;
}

int hnv_fp_attach_uplink(struct hnv_fp *fp, const char *ifname, char *err, size_t errlen)
{
	if (fp->uplink.used) {
		hnv_seterr(err, errlen, "the fast path's uplink is attached already");
		return -EEXIST;
	}
	int ifi = free_ifindex(fp, ifname, err, errlen);
	if (ifi < 0)
		return ifi;
	struct attach a = {.used = true, .ifindex = ifi, .point = BPF_TC_INGRESS};
	int rc = tc_attach(&a, bpf_program__fd(fp->skel->progs.fp_uplink_in), err, errlen, ifname);
	if (rc)
		return rc;
	struct fp_cfg c = fp->cfg;
	c.uplink_ifindex = (__u32)ifi;
	rc = cfg_write(fp, &c);
	if (rc) {
		hnv_seterr(err, errlen, "writing fp_cfg: %s", strerror(-rc));
		tc_detach(&a);
		return rc;
	}
	fp->uplink = a;
	return 0;
}

int hnv_fp_attach_port(struct hnv_fp *fp, unsigned port_id, const char *ifname,
		       enum hnv_fp_port_kind kind, char *err, size_t errlen)
{
	if (port_id == HNV_PORT_UPLINK || port_id >= HNV_PORTS_MAX) {
		hnv_seterr(err, errlen, "port id %u is out of range 1..%u", port_id,
			   HNV_PORTS_MAX - 1);
		return -EINVAL;
	}
	if (kind != HNV_FP_PORT_DEV && kind != HNV_FP_PORT_TAP && kind != HNV_FP_PORT_GATEWAY) {
		hnv_seterr(err, errlen, "port kind %d is unknown", (int)kind);
		return -EINVAL;
	}
	if (fp->ports[port_id].used) {
		hnv_seterr(err, errlen, "port %u is attached already", port_id);
		return -EEXIST;
	}
	int ifi = free_ifindex(fp, ifname, err, errlen);
	if (ifi < 0)
		return ifi;
	struct attach *a = &fp->ports[port_id];
	*a = (struct attach){.used = true, .ifindex = ifi, .kind = kind};
	int rc = 0;
	if (kind == HNV_FP_PORT_DEV) {
		a->point = BPF_TC_INGRESS;
		rc = tc_attach(a, bpf_program__fd(fp->skel->progs.fp_port_in), err, errlen, ifname);
	} else if (kind == HNV_FP_PORT_GATEWAY) {
		a->point = BPF_TC_EGRESS;
		rc = tc_attach(a, bpf_program__fd(fp->skel->progs.fp_gw_out), err, errlen, ifname);
	}
	const struct hnv_port *pt = fp->pol ? hnv_policy_port(fp->pol, port_id) : NULL;
	if (!rc && pt) {
		rc = port_put(fp, a, pt);
		if (rc) {
			hnv_seterr(err, errlen, "writing port %u's fast path entries: %s", port_id,
				   strerror(-rc));
			tc_detach(a);
		}
	}
	if (rc)
		memset(a, 0, sizeof(*a));
	return rc;
}

int hnv_fp_detach_port(struct hnv_fp *fp, unsigned port_id)
{
	if (port_id == HNV_PORT_UPLINK || port_id >= HNV_PORTS_MAX || !fp->ports[port_id].used)
		return -ENOENT;
	struct attach *a = &fp->ports[port_id];
	int rc = port_remove(fp, a);
	if (rc)
		return rc;
	tc_detach(a);
	memset(a, 0, sizeof(*a));
	return 0;
}

void hnv_fp_free(struct hnv_fp *fp)
{
	if (!fp)
		return;
	hnv_fp_stats_enable(fp, false);
	if (fp->dp) {
		hnv_policy_set_mirror(fp->pol, NULL);
		hnv_dp_on_settings(fp->dp, NULL, NULL);
		hnv_dp_set_counter_source(fp->dp, NULL, NULL);
	}
	for (unsigned i = 1; i < HNV_PORTS_MAX; i++)
		tc_detach(&fp->ports[i]);
	tc_detach(&fp->uplink);
	perf_buffer__free(fp->pb);
	fp__destroy(fp->skel);
	free(fp->touched);
	hnv_hmap_clear(&fp->lrecs, NULL);
	free(fp->scratch);
	pthread_mutex_destroy(&fp->trace_lock);
	free(fp);
}

/* ---- bind: the initial fill ---- */

static int fill_vsubnet(const struct hnv_vsubnet *v, void *arg)
{
	return m_vsubnet_set(arg, v);
}

static int fill_rec(const struct hnv_rec *r, void *arg)
{
	return rec_in_fp(r) ? m_rec_set(arg, r) : 0;
}

static int fill_route(uint16_t rd, const struct hnv_prefix *pfx, void *arg)
{
	return route_sync(arg, rd, pfx, true);
}

static int fill_pa(const struct hnv_prefix *pa, void *arg)
{
	struct hnv_fp *fp = arg;
	struct fp_ip k;
	memcpy(k.b, pa->addr.b, 16);
	__u8 one = 1;
	int rc = map_put(fp, fp->fd_pas, &k, &one);
	if (!rc)
		pa_list_set(fp, &k, true);
	return rc;
}

static int fill_port(const struct hnv_port *pt, void *arg)
{
	return m_port_set(arg, pt);
}

int hnv_fp_bind(struct hnv_fp *fp, struct hnv_dp *dp, char *err, size_t errlen)
{
	if (fp->dp) {
		hnv_seterr(err, errlen, "the fast path is bound already");
		return -EALREADY;
	}
	struct hnv_policy *p = hnv_dp_policy(dp);
	if (hnv_policy_uncommitted(p)) {
		hnv_seterr(err, errlen, "the policy has uncommitted route changes: commit first");
		return -EBUSY;
	}
	fp->pol = p;
	struct hnv_dp_settings s;
	hnv_dp_settings(dp, &s);
	struct fp_cfg c = fp->cfg;
	cfg_settings(&c, &s);
	cfg_pas(&c, hnv_policy_local_pa(p, true), hnv_policy_local_pa(p, false));
	int rc = cfg_write(fp, &c);
	const char *what = "fp_cfg";
	if (!rc && (rc = hnv_policy_vsubnet_foreach(p, fill_vsubnet, fp)))
		what = "fp_vsids";
	if (!rc && (rc = hnv_policy_rec_foreach(p, fill_rec, fp)))
		what = "fp_recs4/fp_recs";
	if (!rc && (rc = hnv_policy_route_foreach(p, fill_route, fp)))
		what = "fp_routes";
	route_gen_bump(fp);
	fp->n_pas = 0;
	if (!rc && (rc = hnv_policy_pa_foreach(p, fill_pa, fp)))
		what = "fp_pas";
	if (!rc) {
		c = fp->cfg;
		cfg_pa_list(fp, &c);
		if ((rc = cfg_write(fp, &c)))
			what = "fp_cfg";
	}
	if (!rc) /* the records with a local PA, now that the PAs are known */
		lrecs_sync(fp);
	if (!rc && (rc = hnv_policy_port_foreach(p, fill_port, fp)))
		what = "fp_ports";
	if (rc) {
		hnv_seterr(err, errlen, "filling the fast path's map %s: %s", what, strerror(-rc));
		fp->pol = NULL;
		return rc;
	}
	fp->dp = dp;
	struct hnv_policy_mirror m = {&mirror_ops, fp};
	hnv_policy_set_mirror(p, &m);
	hnv_dp_on_settings(dp, on_settings, fp);
	hnv_dp_set_counter_source(dp, counter_source, fp);
	return 0;
}

/* ---- punt channel ---- */

int hnv_fp_punt_fd(const struct hnv_fp *fp)
{
	return perf_buffer__epoll_fd(fp->pb);
}

static void stat_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void trace_push(struct hnv_fp *fp, const struct fp_event_hdr *h)
{
	pthread_mutex_lock(&fp->trace_lock);
	struct hnv_fp_trace *t = &fp->trace[fp->trace_head];
	t->in_port = h->in_port;
	t->ifindex = h->ifindex;
	t->v = h->v;
	fp->trace_head = (fp->trace_head + 1) % HNV_FP_TRACE_RING;
	if (fp->trace_n < HNV_FP_TRACE_RING)
		fp->trace_n++;
	pthread_mutex_unlock(&fp->trace_lock);
	stat_add(&fp->st_traces, 1);
}

/* One bpf_perf_event_output record: struct fp_event_hdr, then the frame.
 * raw holds rawlen bytes (the kernel pads it to 8 bytes with the u32 size
 * before it, so the frame may be followed by padding). */
static void event(struct hnv_fp *fp, const uint8_t *raw, size_t rawlen, struct hnv_pkt *pkt,
		  unsigned *got)
{
	struct fp_event_hdr h;
	if (rawlen < sizeof(h)) {
		stat_add(&fp->st_malformed, 1);
		return;
	}
	memcpy(&h, raw, sizeof(h));
	switch (h.kind) {
	case FP_EV_PUNT:
		if (h.len > rawlen - sizeof(h) || h.in_port >= HNV_PORTS_MAX) {
			stat_add(&fp->st_malformed, 1);
			return;
		}
		if (hnv_pkt_load(pkt, raw + sizeof(h), h.len, h.in_port) != 0) {
			stat_add(&fp->st_too_big, 1);
			return;
		}
		/* The copy has the skb's bytes but not its ip_summed: a frame
		 * that was CHECKSUM_PARTIAL (a guest's or a local sender's,
		 * never finished by a NIC on its way through veths and
		 * bridges) would leave for a TAP or the uplink with its
		 * checksum field still holding the pseudo-header sum, and be
		 * dropped by its receiver. Such a frame is recognized by its
		 * bytes and finished here (datapath/io/common.c says how);
		 * every other frame is left exactly as received. */
		hnv_io_csum_complete_partial(pkt->data, pkt->len);
		(*got)++;
		stat_add(&fp->st_frames, 1);
		return;
	case FP_EV_TRACE:
		trace_push(fp, &h);
		return;
	default:
		stat_add(&fp->st_malformed, 1);
	}
}

/* Copies len bytes at ring position pos (wrapping) out of data[size]. */
static void ring_copy(void *dst, const uint8_t *data, size_t size, uint64_t pos, size_t len)
{
	size_t off = (size_t)(pos & (size - 1));
	size_t first = len < size - off ? len : size - off;
	memcpy(dst, data + off, first);
	memcpy((uint8_t *)dst + first, data, len - first);
}

/* Reads one CPU's ring (the mmap at base, mapped bytes) until it is empty
 * or pkts[*got..n) is full. The ring's geometry and every record's length
 * are checked before they are used. */
static void ring_read(struct hnv_fp *fp, void *base, size_t mapped, struct hnv_pkt **pkts,
		      unsigned n, unsigned *got)
{
	struct perf_event_mmap_page *mp = base;
	uint64_t off = mp->data_offset, size = mp->data_size;
	if (off < sizeof(*mp) || size < sizeof(struct perf_event_header) || (size & (size - 1)) ||
	    off > mapped || size > mapped - off || size > SIZE_MAX) {
		stat_add(&fp->st_malformed, 1);
		return;
	}
	const uint8_t *data = (const uint8_t *)base + off;
	uint64_t head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = mp->data_tail;
	while (tail != head && *got < n) {
		uint64_t avail = head - tail;
		struct perf_event_header eh;
		if (avail < sizeof(eh) || avail > size) {
			stat_add(&fp->st_malformed, 1);
			tail = head;
			break;
		}
		ring_copy(&eh, data, (size_t)size, tail, sizeof(eh));
		if (eh.size < sizeof(eh) || eh.size > avail) {
			stat_add(&fp->st_malformed, 1);
			tail = head;
			break;
		}
		const uint8_t *rec;
		size_t at = (size_t)(tail & (size - 1));
		if (at + eh.size <= size) {
			rec = data + at;
		} else {
			ring_copy(fp->scratch, data, (size_t)size, tail, eh.size);
			rec = fp->scratch;
		}
		const uint8_t *body = rec + sizeof(eh);
		size_t blen = eh.size - sizeof(eh);
		if (eh.type == PERF_RECORD_SAMPLE) {
			uint32_t rawlen;
			if (blen < sizeof(rawlen)) {
				stat_add(&fp->st_malformed, 1);
			} else {
				memcpy(&rawlen, body, sizeof(rawlen));
				if (rawlen > blen - sizeof(rawlen))
					stat_add(&fp->st_malformed, 1);
				else
					event(fp, body + sizeof(rawlen), rawlen, pkts[*got], got);
			}
		} else if (eh.type == PERF_RECORD_LOST) {
			uint64_t lost;
			if (blen < 2 * sizeof(uint64_t)) {
				stat_add(&fp->st_malformed, 1);
			} else {
				memcpy(&lost, body + sizeof(uint64_t), sizeof(lost));
				stat_add(&fp->st_lost, lost);
			}
		}
		tail += eh.size;
	}
	__atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
}

int hnv_fp_punt_read(struct hnv_fp *fp, struct hnv_pkt **pkts, unsigned n)
{
	size_t cnt = perf_buffer__buffer_cnt(fp->pb);
	unsigned got = 0;
	for (size_t k = 0; k < cnt && got < n; k++) {
		size_t i = (fp->pb_next + k) % cnt;
		void *base;
		size_t size;
		int rc = perf_buffer__buffer(fp->pb, (int)i, &base, &size);
		if (rc)
			return got ? (int)got : rc;
		/* libbpf maps one metadata page, then size bytes of ring */
		ring_read(fp, base, size + fp->page_size, pkts, n, &got);
	}
	if (cnt)
		fp->pb_next = (fp->pb_next + 1) % cnt;
	return (int)got;
}

void hnv_fp_punt_stats(const struct hnv_fp *fp, struct hnv_fp_punt_stats *out)
{
	struct hnv_fp *w = (struct hnv_fp *)fp;
	out->frames = atomic_load_explicit(&w->st_frames, memory_order_relaxed);
	out->traces = atomic_load_explicit(&w->st_traces, memory_order_relaxed);
	out->lost = atomic_load_explicit(&w->st_lost, memory_order_relaxed);
	out->too_big = atomic_load_explicit(&w->st_too_big, memory_order_relaxed);
	out->malformed = atomic_load_explicit(&w->st_malformed, memory_order_relaxed);
}

int hnv_fp_trace_set(struct hnv_fp *fp, bool on)
{
	struct fp_cfg c = fp->cfg;
	c.trace = on ? 1 : 0;
	return cfg_write(fp, &c);
}

unsigned hnv_fp_trace_take(struct hnv_fp *fp, struct hnv_fp_trace *out, unsigned n)
{
	pthread_mutex_lock(&fp->trace_lock);
	unsigned k = n < fp->trace_n ? n : fp->trace_n;
	unsigned first = (fp->trace_head + HNV_FP_TRACE_RING - fp->trace_n) % HNV_FP_TRACE_RING;
	for (unsigned i = 0; i < k; i++)
		out[i] = fp->trace[(first + i) % HNV_FP_TRACE_RING];
	fp->trace_n -= k;
	pthread_mutex_unlock(&fp->trace_lock);
	return k;
}

/* ---- test runs ---- */

/* Per-CPU values are laid out 8-byte aligned. */
#define LAST_STRIDE ((sizeof(struct fp_verdict) + 7) & ~(size_t)7)

static struct bpf_program *prog_of(const struct hnv_fp *fp, enum hnv_fp_prog prog)
{
	switch (prog) {
	case HNV_FP_PROG_UPLINK:
		return fp->skel->progs.fp_uplink_in;
	case HNV_FP_PROG_PORT:
		return fp->skel->progs.fp_port_in;
	case HNV_FP_PROG_GATEWAY:
		return fp->skel->progs.fp_gw_out;
	}
	return NULL;
}

int hnv_fp_test_run(struct hnv_fp *fp, enum hnv_fp_prog prog, int ifindex, const void *frame,
		    size_t len, void *out, size_t cap, size_t *outlen, struct fp_verdict *v,
		    unsigned repeat, double *ns_per_run)
{
	struct bpf_program *pr = prog_of(fp, prog);
	if (!pr || len < 14 || len > UINT32_MAX || cap > UINT32_MAX || repeat > INT32_MAX)
		return -EINVAL;
	/* every CPU's fp_last to a pattern no decision has; the run's CPU is
	 * the one whose entry changed */
	size_t sz = (size_t)fp->ncpus * LAST_STRIDE;
	uint8_t *last = malloc(sz);
	if (!last)
		return -ENOMEM;
	memset(last, 0xff, sz);
	__u32 zero = 0;
	int rc = bpf_map_update_elem(fp->fd_last, &zero, last, BPF_ANY);
	if (rc < 0) {
		rc = -errno;
		free(last);
		return rc;
	}
	struct __sk_buff ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.ifindex = (__u32)ifindex;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = cap ? out : NULL, .data_size_out = (__u32)cap, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = (int)(repeat ? repeat : 1));
	rc = bpf_prog_test_run_opts(bpf_program__fd(pr), &o);
	if (rc < 0) {
		rc = -errno;
		free(last);
		return rc;
	}
	if (outlen)
		*outlen = o.data_size_out;
	if (ns_per_run)
		*ns_per_run = o.duration;
	rc = bpf_map_lookup_elem(fp->fd_last, &zero, last) < 0 ? -errno : 0;
	bool found = false;
	for (int c = 0; !rc && c < fp->ncpus && !found; c++) {
		const uint8_t *e = last + (size_t)c * LAST_STRIDE;
		for (size_t i = 0; i < sizeof(*v) && !found; i++)
			found = e[i] != 0xff;
		if (found)
			memcpy(v, e, sizeof(*v));
	}
	free(last);
	if (rc || found)
		return rc;
	memset(v, 0, sizeof(*v));
	v->reason = HNV_R__COUNT;
	switch (o.retval) {
	case TC_ACT_OK:
		v->action = FP_ACT_PASS;
		return 0;
	case TC_ACT_SHOT:
		v->action = FP_ACT_DROP;
		return 0;
	case TC_ACT_REDIRECT:
		v->action = FP_ACT_REDIRECT;
		return 0;
	default:
		return -EPROTO;
	}
}

int hnv_fp_map_fd(const struct hnv_fp *fp, const char *map_name)
{
	const struct bpf_map *m = bpf_object__find_map_by_name(fp->skel->obj, map_name);
	return m ? bpf_map__fd(m) : -ENOENT;
}

uint64_t hnv_fp_map_ops(const struct hnv_fp *fp)
{
	return fp->map_ops;
}

/* ---- run-time statistics (benchmarks) ---- */

int hnv_fp_stats_enable(struct hnv_fp *fp, bool on)
{
	if (!on) {
		if (fp->stats_fd >= 0)
			close(fp->stats_fd);
		fp->stats_fd = -1;
		return 0;
	}
	if (fp->stats_fd >= 0)
		return 0;
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0)
		return -errno;
	fp->stats_fd = fd;
	return 0;
}

int hnv_fp_prog_stats(const struct hnv_fp *fp, enum hnv_fp_prog prog, uint64_t *run_ns,
		      uint64_t *runs)
{
	struct bpf_program *pr = prog_of(fp, prog);
	if (!pr)
		return -EINVAL;
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(pr), &info, &len) < 0)
		return -errno;
	*run_ns = info.run_time_ns;
	*runs = info.run_cnt;
	return 0;
}
