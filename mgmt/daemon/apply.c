/* apply.c: configuration changes applied as operations on the running
 * datapath (see apply.h for the contracts).
 *
 * Sections: commands in compact form (the undo log and the diff keep the
 * union member of each command, not the whole 2.4 KB struct); the
 * operations of a change and their inverses; the transaction; the changes
 * between two whole models.
 */
#include "apply.h"

#include "../../datapath/io/fwd.h"
#include "../../datapath/policy_read.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../../lib/vec.h"
#include "../conf_apply.h"
#include "../model.h"
#include "proutes.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Settings a "global set" leaves out go back to these (datapath/dp.h). */
#define DEFAULT_UPLINK_MTU 1500
#define DEFAULT_FLOWID true

#define NONE SIZE_MAX

/* ---- commands in compact form ---- */

#define SIZE_OF(m) sizeof(((struct hnv_conf_cmd *)0)->u.m)

/* What this file needs to know of each kind: the bytes of the union member
 * a command of the kind uses; for an add, the kind of the "del" that names
 * its object (every other kind names itself); whether it concerns the
 * gateway (hnv_apply_gateway_touched). */
static const struct kind_info {
	size_t size;
	enum hnv_conf_kind del;
	bool gateway;
} kinds[] = {
	[HNV_CONF_RDOMAIN_ADD] = {SIZE_OF(rdomain), HNV_CONF_RDOMAIN_DEL, false},
	[HNV_CONF_RDOMAIN_DEL] = {SIZE_OF(rdomain), HNV_CONF_RDOMAIN_DEL, false},
	[HNV_CONF_VSUBNET_ADD] = {SIZE_OF(vsubnet), HNV_CONF_VSUBNET_DEL, true},
	[HNV_CONF_VSUBNET_DEL] = {SIZE_OF(vsubnet), HNV_CONF_VSUBNET_DEL, true},
	[HNV_CONF_PA_ADD] = {SIZE_OF(pa), HNV_CONF_PA_DEL, true},
	[HNV_CONF_PA_DEL] = {SIZE_OF(pa), HNV_CONF_PA_DEL, true},
	[HNV_CONF_PORT_ADD] = {SIZE_OF(port), HNV_CONF_PORT_DEL, false},
	[HNV_CONF_PORT_DEL] = {SIZE_OF(port), HNV_CONF_PORT_DEL, false},
	[HNV_CONF_LOOKUP_ADD] = {SIZE_OF(lookup), HNV_CONF_LOOKUP_DEL, false},
	[HNV_CONF_LOOKUP_SET] = {SIZE_OF(lookup), HNV_CONF_LOOKUP_SET, false},
	[HNV_CONF_LOOKUP_DEL] = {SIZE_OF(lookup), HNV_CONF_LOOKUP_DEL, false},
	[HNV_CONF_ROUTE_ADD] = {SIZE_OF(route), HNV_CONF_ROUTE_DEL, false},
	[HNV_CONF_ROUTE_DEL] = {SIZE_OF(route), HNV_CONF_ROUTE_DEL, false},
	[HNV_CONF_GLOBAL_SET] = {SIZE_OF(global), HNV_CONF_GLOBAL_SET, true},
	[HNV_CONF_PROUTE_ADD] = {SIZE_OF(proute), HNV_CONF_PROUTE_DEL, false},
	[HNV_CONF_PROUTE_DEL] = {SIZE_OF(proute), HNV_CONF_PROUTE_DEL, false},
	[HNV_CONF_GATEWAY_ADD] = {SIZE_OF(gateway), HNV_CONF_GATEWAY_DEL, true},
	[HNV_CONF_GATEWAY_DEL] = {SIZE_OF(gateway), HNV_CONF_GATEWAY_DEL, true},
	[HNV_CONF_GATEWAY_CA] = {SIZE_OF(gateway_ca), HNV_CONF_GATEWAY_CA_DEL, true},
	[HNV_CONF_GATEWAY_CA_DEL] = {SIZE_OF(gateway_ca), HNV_CONF_GATEWAY_CA_DEL, true},
	[HNV_CONF_S2S_ADD] = {SIZE_OF(s2s), HNV_CONF_S2S_DEL, true},
	[HNV_CONF_S2S_DEL] = {SIZE_OF(s2s), HNV_CONF_S2S_DEL, true},
	[HNV_CONF_POOL_ADD] = {SIZE_OF(pool), HNV_CONF_POOL_DEL, false},
	[HNV_CONF_POOL_DEL] = {SIZE_OF(pool), HNV_CONF_POOL_DEL, false},
	[HNV_CONF_PORT_MOVE] = {SIZE_OF(port_move), HNV_CONF_PORT_MOVE, false},
	[HNV_CONF_GRE_ADD] = {SIZE_OF(conn), HNV_CONF_GRE_DEL, true},
	[HNV_CONF_GRE_DEL] = {SIZE_OF(conn), HNV_CONF_GRE_DEL, true},
	[HNV_CONF_L3_ADD] = {SIZE_OF(conn), HNV_CONF_L3_DEL, true},
	[HNV_CONF_L3_DEL] = {SIZE_OF(conn), HNV_CONF_L3_DEL, true},
	[HNV_CONF_BGP_PEER_ADD] = {SIZE_OF(bgp_peer), HNV_CONF_BGP_PEER_DEL, true},
	[HNV_CONF_BGP_PEER_DEL] = {SIZE_OF(bgp_peer), HNV_CONF_BGP_PEER_DEL, true},
	[HNV_CONF_GATEWAY_MOVE] = {SIZE_OF(port_move), HNV_CONF_GATEWAY_MOVE, false},
};
_Static_assert(sizeof(kinds) / sizeof(kinds[0]) == HNV_CONF_GATEWAY_MOVE + 1,
	       "a row for each kind");

/* The row of kind k, or NULL for a value outside the enum. */
static const struct kind_info *kind_info(enum hnv_conf_kind k)
{
	return (unsigned)k < sizeof(kinds) / sizeof(kinds[0]) ? &kinds[k] : NULL;
}

/* Bytes of the union member a command of kind k uses. */
static size_t member_size(enum hnv_conf_kind k)
{
	const struct kind_info *ki = kind_info(k);
	return ki ? ki->size : sizeof(((struct hnv_conf_cmd *)0)->u);
}

/* Commands one after the other: a head, then the member, 8-byte aligned.
 * It may hold PSKs: cleared before its memory is freed or reused. */
struct cmdbuf {
	unsigned char *p;
	size_t len, cap;
};

struct cmd_head {
	uint32_t kind;
	uint32_t size;
};

static size_t cmd_span(size_t size)
{
	return sizeof(struct cmd_head) + ((size + 7) & ~(size_t)7);
}

/* Appends c; 0 and its offset in *off, or -ENOMEM. */
static int cmdbuf_put(struct cmdbuf *b, const struct hnv_conf_cmd *c, size_t *off)
{
	size_t size = member_size(c->kind), span = cmd_span(size);
	if (b->len + span > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + span)
			cap *= 2;
		unsigned char *p = malloc(cap);
		if (!p)
			return -ENOMEM;
		if (b->p) {
			memcpy(p, b->p, b->len);
			explicit_bzero(b->p, b->cap);
			free(b->p);
		}
		b->p = p;
		b->cap = cap;
	}
	struct cmd_head h = {(uint32_t)c->kind, (uint32_t)size};
	memcpy(b->p + b->len, &h, sizeof(h));
	memcpy(b->p + b->len + sizeof(h), &c->u, size);
	*off = b->len;
	b->len += span;
	return 0;
}

/* The command at off, whole, in *c (clear it after use: it may hold a PSK). */
static void cmdbuf_get(const struct cmdbuf *b, size_t off, struct hnv_conf_cmd *c)
{
	struct cmd_head h;
	memcpy(&h, b->p + off, sizeof(h));
	memset(c, 0, sizeof(*c));
	c->kind = (enum hnv_conf_kind)h.kind;
	memcpy(&c->u, b->p + off + sizeof(h), h.size);
}

/* Forgets everything from len on. */
static void cmdbuf_cut(struct cmdbuf *b, size_t len)
{
	if (b->p && len < b->len)
		explicit_bzero(b->p + len, b->len - len);
	b->len = len;
}

static void cmdbuf_free(struct cmdbuf *b)
{
	if (b->p)
		explicit_bzero(b->p, b->cap);
	free(b->p);
	*b = (struct cmdbuf){0};
}

/* ---- operations ---- */

/* What undoes one change: the commands as given (offsets in the arena),
 * which of them is applied now, and the port whose lookup records an
 * explicit "lookup add" replaced. */
struct undo {
	size_t old, new, port;
	bool old_gone; /* old was deleted (a replacement by del, then add) */
	bool new_in;   /* new was applied (or set: lookup, settings) */
};

struct hnv_apply {
	struct hnv_dp *dp;
	struct hnv_conf_batch *batch;
	struct hnv_fwd *fwd;
	struct hnv_proutes *proutes; /* NULL: provider routes stay in the config */
	struct hnv_mac default_gw_mac;
	struct cmdbuf arena; /* the commands the undo log names */
	struct undo *log;
	size_t n_log, cap_log;
	bool gateway_touched;
	bool ports_touched; /* the datapath's ports may have changed since publish */
	/* the provider address the ports' lookup records were made with
	 * (conftext.h, "port"): the first IPv4 one, else the first IPv6 one */
	bool has_pa;
	struct hnv_ip pa;
	/* What the stored configuration holds but the datapath refuses
	 * (hnv_conf_supported; an older hnvgw accepted it), left out at load:
	 * lookup records (by VSID, CA, MAC), still in the model, so deleting
	 * or correcting one works; UseExternalRouter $true is applied as
	 * $false. n_left_out counts both; left_out_first is the first reason. */
	struct hnv_conf_lookup *skipped;
	size_t n_skipped, cap_skipped, n_left_out;
	char left_out_first[512];
};

/* The index of the left-out record with s's (VSID, CA, MAC), or -1. */
static long skipped_find(const struct hnv_apply *a, const struct hnv_conf_lookup *s)
{
	for (size_t i = 0; i < a->n_skipped; i++) {
		const struct hnv_conf_lookup *k = &a->skipped[i];
		if (k->vsid == s->vsid && hnv_ip_eq(&k->ca, &s->ca) && hnv_mac_eq(&k->mac, &s->mac))
			return (long)i;
	}
	return -1;
}

static int skipped_add(struct hnv_apply *a, const struct hnv_conf_lookup *s)
{
	if (skipped_find(a, s) >= 0)
		return 0;
	if (HNV_GROW(a->skipped, a->cap_skipped, a->n_skipped + 1))
		return -ENOMEM;
	a->skipped[a->n_skipped++] = *s;
	return 0;
}

/* Forgets the left-out record of s's key: true when there was one. */
static bool skipped_take(struct hnv_apply *a, const struct hnv_conf_lookup *s)
{
	long i = skipped_find(a, s);
	if (i < 0)
		return false;
	a->skipped[i] = a->skipped[--a->n_skipped];
	return true;
}

/* The "del" that names the object of an add command. */
static int del_of(const struct hnv_conf_cmd *add, struct hnv_conf_cmd *del)
{
	const struct kind_info *ki = kind_info(add->kind);
	if (!ki || ki->del == add->kind)
		return -EINVAL;
	memset(del, 0, sizeof(*del));
	del->kind = ki->del;
	memcpy(&del->u, &add->u, ki->size);
	if (del->kind == HNV_CONF_S2S_DEL) /* the del names the tunnel only */
		explicit_bzero(del->u.s2s.psk, sizeof(del->u.s2s.psk));
	return 0;
}

static bool touches_gateway(const struct hnv_conf_cmd *c)
{
	const struct kind_info *ki = kind_info(c->kind);
	return ki && ki->gateway;
}

/* The settings as target has them, the defaults where it (or NULL) has
 * none: the datapath holds exactly the model's settings afterwards. */
static int apply_global(struct hnv_apply *a, const struct hnv_conf_cmd *target, char *err,
			size_t errlen)
{
	struct hnv_conf_cmd c;
	memset(&c, 0, sizeof(c));
	c.kind = HNV_CONF_GLOBAL_SET;
	struct hnv_conf_global *g = &c.u.global;
	const struct hnv_conf_global *t = target ? &target->u.global : NULL;
	g->has_gateway_mac = g->has_flowid = g->has_uplink_mtu = true;
	g->has_use_external_router = true;
	g->gateway_mac = t && t->has_gateway_mac ? t->gateway_mac : a->default_gw_mac;
	g->flowid = t && t->has_flowid ? t->flowid : DEFAULT_FLOWID;
	g->uplink_mtu = t && t->has_uplink_mtu ? t->uplink_mtu : DEFAULT_UPLINK_MTU;
	g->use_external_router = t && t->has_use_external_router && t->use_external_router;
	int rc = hnv_conf_batch_apply(a->batch, &c, err, errlen);
	if (rc == 0 && a->fwd)
		hnv_fwd_uplink_stale(a->fwd);
	return rc;
}

/* Kinds whose add or del may change the datapath's ports: a port, and the
 * gateway ports that gateway CAs make (a gateway del takes its CAs). */
static void note_ports(struct hnv_apply *a, const struct hnv_conf_cmd *c)
{
	if (c->kind == HNV_CONF_PORT_ADD || c->kind == HNV_CONF_GATEWAY_CA ||
	    c->kind == HNV_CONF_GATEWAY_ADD)
		a->ports_touched = true;
}

/* The kernel route of "proute add" c added or deleted, when the host edge
 * installs provider routes (proutes.h); other commands: 0. */
static int proute_kernel(struct hnv_apply *a, const struct hnv_conf_cmd *c, bool add, char *err,
			 size_t errlen)
{
	if (a->proutes == NULL || c->kind != HNV_CONF_PROUTE_ADD)
		return 0;
	char e[512];
	int rc = add ? hnv_proutes_add(a->proutes, &c->u.proute, e, sizeof(e))
		     : hnv_proutes_del(a->proutes, &c->u.proute, e, sizeof(e));
	if (rc && err)
		hnv_seterr(err, errlen, "%s", e);
	else if (rc)
		hnv_log(HNV_LOG_ERR, "restoring a provider route: %s", e);
	else if (a->fwd) /* the uplink asks the kernel for its PAs' next hops again */
		hnv_fwd_uplink_stale(a->fwd);
	return rc;
}

static int apply_del(struct hnv_apply *a, const struct hnv_conf_cmd *c, char *err, size_t errlen)
{
	if (c->kind == HNV_CONF_LOOKUP_ADD && skipped_take(a, &c->u.lookup))
		return 0; /* left out at load: the datapath never had it */
	note_ports(a, c);
	if (c->kind == HNV_CONF_GLOBAL_SET)
		return apply_global(a, NULL, err, errlen);
	struct hnv_conf_cmd d;
	int rc = del_of(c, &d);
	if (rc)
		hnv_seterr(err, errlen, "cannot delete a command of kind %d", (int)c->kind);
	else if ((rc = proute_kernel(a, c, false, err, errlen)) == 0 &&
		 (rc = hnv_conf_batch_apply(a->batch, &d, err, errlen)))
		proute_kernel(a, c, true, NULL, 0);
	explicit_bzero(&d, sizeof(d));
	return rc;
}

/* The port of the datapath that owns CA ca in vsid (not a gateway port:
 * those make no lookup records), or NULL. */
static const struct hnv_port *port_owning(const struct hnv_policy *pol, uint32_t vsid,
					  const struct hnv_ip *ca)
{
	for (unsigned id = 1; id < HNV_PORTS_MAX; id++) {
		const struct hnv_port *pt = hnv_policy_port(pol, id);
		if (!pt || pt->vsid != vsid || pt->gateway)
			continue;
		for (unsigned i = 0; i < pt->n_cas; i++)
			if (hnv_ip_eq(&pt->cas[i], ca))
				return pt;
	}
	return NULL;
}

/* The "port add" of a port of the datapath (its device, which the datapath
 * does not know, from the host edge). */
static void port_cmd_of(const struct hnv_apply *a, const struct hnv_port *pt,
			struct hnv_conf_cmd *p)
{
	memset(p, 0, sizeof(*p));
	p->kind = HNV_CONF_PORT_ADD;
	memcpy(p->u.port.name, pt->name, sizeof(p->u.port.name));
	const char *dev = a->fwd ? hnv_fwd_port_dev(a->fwd, pt->name) : NULL;
	if (dev)
		snprintf(p->u.port.dev, sizeof(p->u.port.dev), "%s", dev);
	p->u.port.vsid = pt->vsid;
	p->u.port.mac = pt->mac;
	for (unsigned i = 0; i < pt->n_cas && i < HNV_CONF_CAS_MAX; i++)
		p->u.port.cas[p->u.port.n_cas++] = pt->cas[i];
}

/* True, with the "port add" of the port of the datapath that owns the CA
 * of lookup command c in *p, when that port exists and the datapath holds
 * a lookup record of the CA (held) or holds none (!held). */
static bool owner_port(const struct hnv_apply *a, const struct hnv_conf_cmd *c, bool held,
		       struct hnv_conf_cmd *p)
{
	const struct hnv_conf_lookup *s = &c->u.lookup;
	const struct hnv_policy *pol = hnv_dp_policy(a->dp);
	if (hnv_ip_is_unspec(&s->ca) || (hnv_policy_rec_by_ca(pol, hnv_hash_ca(s->vsid, &s->ca),
							      s->vsid, &s->ca) != NULL) != held)
		return false;
	const struct hnv_port *pt = port_owning(pol, s->vsid, &s->ca);
	if (!pt)
		return false;
	port_cmd_of(a, pt, p);
	return true;
}

/* An explicit "lookup add" of a port's CA replaces the record made for the
 * port (conftext.h): remembers the port (as its "port add") so that undo
 * can make the record again. 0, or -ENOMEM. */
static int note_replaced_port(struct hnv_apply *a, const struct hnv_conf_cmd *c, size_t *port)
{
	struct hnv_conf_cmd p;
	*port = NONE;
	return owner_port(a, c, true, &p) ? cmdbuf_put(&a->arena, &p, port) : 0;
}

/* The uplink resolves the PA of lookup record c (hnv_fwd_remote_pa), but
 * for a default-gateway record: its PA (169.254.254.254) is no host's. */
static void remote_pa(struct hnv_apply *a, const struct hnv_conf_cmd *c)
{
	struct hnv_mac m;
	if (a->fwd &&
	    hnv_policy_gw_rec_get(hnv_dp_policy(a->dp), c->u.lookup.vsid, &c->u.lookup.ca, &m) != 0)
		hnv_fwd_remote_pa(a->fwd, &c->u.lookup.pa);
}

/* Adds c; the host edge's TAP of a port (or of the gateway port a gateway
 * CA brings) first. port: NULL, or where to note a port whose lookup
 * record c replaces (see note_replaced_port). */
static int apply_add(struct hnv_apply *a, const struct hnv_conf_cmd *c, size_t *port, char *err,
		     size_t errlen)
{
	int rc;
	note_ports(a, c);
	if (c->kind == HNV_CONF_GLOBAL_SET)
		return apply_global(a, c, err, errlen);
	if (a->fwd && c->kind == HNV_CONF_PORT_ADD &&
	    (rc = hnv_fwd_port_add(a->fwd, c->u.port.name, &c->u.port.mac, false, c->u.port.dev,
				   err, errlen)))
		return rc;
	if (a->fwd && c->kind == HNV_CONF_GATEWAY_CA) {
		char name[HNV_DEV_MAX + 1];
		struct hnv_mac mac;
		hnv_gateway_port(c->u.gateway_ca.vsid, name, &mac);
		if ((rc = hnv_fwd_port_add(a->fwd, name, &mac, true, NULL, err, errlen)))
			return rc;
	}
	if (port && c->kind == HNV_CONF_LOOKUP_ADD && (rc = note_replaced_port(a, c, port))) {
		hnv_seterr(err, errlen, "out of memory");
		return rc;
	}
	if ((rc = hnv_conf_batch_apply(a->batch, c, err, errlen)))
		return rc;
	if ((rc = proute_kernel(a, c, true, err, errlen))) {
		struct hnv_conf_cmd d;
		char e[256];
		if (del_of(c, &d) == 0 && hnv_conf_batch_apply(a->batch, &d, e, sizeof(e)))
			hnv_log(HNV_LOG_ERR, "undoing a refused provider route: %s", e);
		return rc;
	}
	if (c->kind == HNV_CONF_LOOKUP_ADD)
		remote_pa(a, c);
	return 0;
}

/* "lookup set": the record of c's (VSID, CA, MAC) takes c's values. */
static int apply_lookup_set(struct hnv_apply *a, const struct hnv_conf_cmd *c, char *err,
			    size_t errlen)
{
	struct hnv_conf_cmd s;
	memset(&s, 0, sizeof(s));
	s.kind = HNV_CONF_LOOKUP_SET;
	s.u.lookup = c->u.lookup;
	int rc = hnv_conf_batch_apply(a->batch, &s, err, errlen);
	if (rc == 0)
		remote_pa(a, c);
	return rc;
}

/* A replacement done by one command rather than del, then add. */
static bool set_in_place(const struct hnv_conf_cmd *old, const struct hnv_conf_cmd *new)
{
	return old && new && old->kind == new->kind &&
	       (old->kind == HNV_CONF_LOOKUP_ADD || old->kind == HNV_CONF_GLOBAL_SET);
}

/* Makes c's values hold, in place (set_in_place): the settings, or the
 * values of a lookup record. */
static int apply_set(struct hnv_apply *a, const struct hnv_conf_cmd *c, char *err, size_t errlen)
{
	if (c->kind == HNV_CONF_GLOBAL_SET)
		return apply_global(a, c, err, errlen);
	if (skipped_find(a, &c->u.lookup) < 0)
		return apply_lookup_set(a, c, err, errlen);
	/* a record left out at load, corrected: added now */
	int rc = apply_add(a, c, NULL, err, errlen);
	if (rc == 0)
		skipped_take(a, &c->u.lookup);
	return rc;
}

/* Adds c again after a refused change took it away; a failure is logged
 * ("cannot restore <what>: ..."), the caller's error stays the refusal. */
static void add_back(struct hnv_apply *a, const struct hnv_conf_cmd *c, const char *what)
{
	char e[256];
	if (c->kind == HNV_CONF_LOOKUP_ADD && hnv_conf_supported(c, e, sizeof(e)) < 0) {
		if (skipped_add(a, &c->u.lookup)) /* it was left out: it stays so */
			hnv_log(HNV_LOG_ERR, "cannot restore %s: out of memory", what);
		return;
	}
	if (apply_add(a, c, NULL, e, sizeof(e)))
		hnv_log(HNV_LOG_ERR, "cannot restore %s: %s", what, e);
}

/* Makes the records of a port again, as "port add" made them: the port
 * goes and comes back (its TAP stays open: fwd.h). */
static int restore_port(struct hnv_apply *a, const struct hnv_conf_cmd *p, char *err, size_t errlen)
{
	int rc = apply_del(a, p, err, errlen);
	return rc ? rc : apply_add(a, p, NULL, err, errlen);
}

/* A deleted lookup record of a port's CA lets the port's own record come
 * back, as a replay of the configuration would make it. */
static int lookup_gone(struct hnv_apply *a, const struct hnv_conf_cmd *c, char *err, size_t errlen)
{
	struct hnv_conf_cmd p;
	return owner_port(a, c, false, &p) ? restore_port(a, &p, err, errlen) : 0;
}

/* The provider address ports' records take now (see struct hnv_apply). */
static bool records_pa(const struct hnv_apply *a, struct hnv_ip *out)
{
	const struct hnv_policy *pol = hnv_dp_policy(a->dp);
	const struct hnv_ip *pa = hnv_policy_local_pa(pol, true);
	if (!pa)
		pa = hnv_policy_local_pa(pol, false);
	if (pa)
		*out = *pa;
	return pa != NULL;
}

static void records_pa_take(struct hnv_apply *a)
{
	a->has_pa = records_pa(a, &a->pa);
}

/* When that address changed, every port's records are made again with the
 * new one (or go: no address). */
static int records_pa_follow(struct hnv_apply *a, char *err, size_t errlen)
{
	struct hnv_ip now;
	bool has = records_pa(a, &now);
	if (has == a->has_pa && (!has || hnv_ip_eq(&now, &a->pa)))
		return 0;
	const struct hnv_policy *pol = hnv_dp_policy(a->dp);
	char(*names)[HNV_NAME_MAX + 1] = calloc(HNV_PORTS_MAX, sizeof(*names));
	if (!names) {
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size_t n = 0;
	for (unsigned id = 1; id < HNV_PORTS_MAX; id++) {
		const struct hnv_port *pt = hnv_policy_port(pol, id);
		if (pt && !pt->gateway)
			memcpy(names[n++], pt->name, sizeof(names[0]));
	}
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int id = hnv_policy_port_id(pol, names[i]);
		const struct hnv_port *pt = id > 0 ? hnv_policy_port(pol, (unsigned)id) : NULL;
		struct hnv_conf_cmd p;
		if (!pt)
			continue;
		port_cmd_of(a, pt, &p);
		rc = restore_port(a, &p, err, errlen);
	}
	free(names);
	if (rc == 0)
		records_pa_take(a);
	return rc;
}

/* ---- the transaction ---- */

int hnv_apply_new(struct hnv_dp *dp, struct hnv_apply **out)
{
	struct hnv_apply *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->dp = dp;
	a->default_gw_mac = *hnv_dp_gateway_mac(dp);
	int rc = hnv_conf_batch_begin(dp, &a->batch);
	if (rc) {
		free(a);
		return rc;
	}
	*out = a;
	return 0;
}

void hnv_apply_free(struct hnv_apply *a)
{
	if (!a)
		return;
	char err[256];
	if (hnv_conf_batch_end(a->batch, err, sizeof(err)))
		hnv_log(HNV_LOG_WARNING, "closing the datapath's batch: %s", err);
	cmdbuf_free(&a->arena);
	free(a->log);
	free(a->skipped);
	free(a);
}

void hnv_apply_set_fwd(struct hnv_apply *a, struct hnv_fwd *f)
{
	a->fwd = f;
}

void hnv_apply_set_proutes(struct hnv_apply *a, struct hnv_proutes *p)
{
	a->proutes = p;
}

struct load {
	struct hnv_apply *a;
	char *err;
	size_t errlen;
};

/* Applies one stored command; what the datapath refuses (an older hnvgw
 * accepted it) is left out, logged and counted, never a reason not to
 * apply the rest. */
static int load_one(const struct hnv_conf_cmd *c, void *arg)
{
	struct load *l = arg;
	struct hnv_apply *a = l->a;
	char why[512];
	if (hnv_conf_supported(c, why, sizeof(why)) == 0)
		return apply_add(a, c, NULL, l->err, l->errlen);
	hnv_log(HNV_LOG_ERR, "stored configuration: not applied: %s", why);
	if (a->n_left_out++ == 0)
		snprintf(a->left_out_first, sizeof(a->left_out_first), "%s", why);
	if (c->kind != HNV_CONF_GLOBAL_SET) {
		int rc = skipped_add(a, &c->u.lookup);
		if (rc)
			hnv_seterr(l->err, l->errlen, "out of memory");
		return rc;
	}
	struct hnv_conf_cmd g = *c;
	g.u.global.use_external_router = false;
	return apply_add(a, &g, NULL, l->err, l->errlen);
}

size_t hnv_apply_left_out(const struct hnv_apply *a, const char **first)
{
	*first = a->left_out_first;
	return a->n_left_out;
}

int hnv_apply_load(struct hnv_apply *a, const struct hnv_model *m, char *err, size_t errlen)
{
	struct load l = {a, err, errlen};
	int rc = hnv_model_foreach(m, load_one, &l);
	records_pa_take(a); /* the ports were added after the addresses */
	if (rc == 0)
		rc = hnv_apply_publish(a, err, errlen);
	return rc;
}

void hnv_apply_begin(struct hnv_apply *a)
{
	cmdbuf_cut(&a->arena, 0);
	a->n_log = 0;
	a->gateway_touched = false;
	records_pa_take(a);
}

int hnv_apply_change(struct hnv_apply *a, const struct hnv_conf_cmd *old,
		     const struct hnv_conf_cmd *new, char *err, size_t errlen)
{
	if (!old && !new) {
		hnv_seterr(err, errlen, "an empty change");
		return -EINVAL;
	}
	size_t mark = a->arena.len;
	struct undo u = {NONE, NONE, NONE, false, false};
	if (HNV_GROW(a->log, a->cap_log, a->n_log + 1) ||
	    (old && cmdbuf_put(&a->arena, old, &u.old)) ||
	    (new &&cmdbuf_put(&a->arena, new, &u.new))) {
		cmdbuf_cut(&a->arena, mark);
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	a->gateway_touched =
		a->gateway_touched || (old && touches_gateway(old)) || (new &&touches_gateway(new));
	int rc;
	if (set_in_place(old, new)) {
		rc = apply_set(a, new, err, errlen);
		u.new_in = rc == 0;
	} else {
		rc = old ? apply_del(a, old, err, errlen) : 0;
		u.old_gone = old && rc == 0;
		if (rc == 0 && old && !new && old->kind == HNV_CONF_LOOKUP_ADD &&
		    (rc = lookup_gone(a, old, err, errlen))) {
			add_back(a, old, "a lookup record");
			u.old_gone = false;
		}
		if (rc == 0 && new)
			rc = apply_add(a, new, &u.port, err, errlen);
		u.new_in = new &&rc == 0;
		if (rc && u.old_gone)
			add_back(a, old, "what a failed change replaced");
	}
	if (rc) {
		cmdbuf_cut(&a->arena, mark);
		return rc;
	}
	a->log[a->n_log++] = u;
	return 0;
}

int hnv_apply_publish(struct hnv_apply *a, char *err, size_t errlen)
{
	int rc = records_pa_follow(a, err, errlen);
	if (rc == 0)
		rc = hnv_conf_batch_publish(a->batch, err, errlen);
	if (rc == 0 && a->fwd)
		rc = hnv_fwd_publish(a->fwd, a->ports_touched, err, errlen);
	if (rc == 0)
		a->ports_touched = false;
	return rc;
}

/* The inverse of one logged change. */
static int undo_one(struct hnv_apply *a, const struct undo *u, char *err, size_t errlen)
{
	struct hnv_conf_cmd old, new, port;
	bool has_old = u->old != NONE, has_new = u->new != NONE;
	if (has_old)
		cmdbuf_get(&a->arena, u->old, &old);
	if (has_new)
		cmdbuf_get(&a->arena, u->new, &new);
	int rc = 0;
	if (has_old && has_new && set_in_place(&old, &new)) {
		rc = apply_set(a, &old, err, errlen);
	} else {
		if (u->new_in)
			rc = apply_del(a, &new, err, errlen);
		if (rc == 0 && u->port != NONE) {
			cmdbuf_get(&a->arena, u->port, &port);
			rc = restore_port(a, &port, err, errlen);
			explicit_bzero(&port, sizeof(port));
		}
		if (rc == 0 && u->old_gone)
			rc = apply_add(a, &old, NULL, err, errlen);
	}
	explicit_bzero(&old, sizeof(old));
	explicit_bzero(&new, sizeof(new));
	return rc;
}

int hnv_apply_undo(struct hnv_apply *a)
{
	int first = 0;
	char err[512];
	for (size_t i = a->n_log; i-- > 0;) {
		int rc = undo_one(a, &a->log[i], err, sizeof(err));
		if (rc) {
			hnv_log(HNV_LOG_ERR,
				"undoing a refused change: %s; the running datapath may differ "
				"from the configuration",
				err);
			first = first ? first : rc;
		}
	}
	/* publish makes the ports' records follow the provider address back */
	int rc = hnv_apply_publish(a, err, sizeof(err));
	if (rc) {
		hnv_log(HNV_LOG_ERR, "publishing an undone change: %s", err);
		first = first ? first : rc;
	}
	hnv_apply_begin(a);
	return first;
}

bool hnv_apply_gateway_touched(const struct hnv_apply *a)
{
	return a->gateway_touched;
}

/* ---- the changes between two whole models ----
 * Each entry of from is kept as hashes: of its identity (the fields its
 * "del" names, as the model keys it), of its content, and of the entries
 * it depends on. to is matched against them by identity. Two identities
 * with one hash would make one entry look like the other's replacement;
 * such a clash is noticed (an identity hash met twice in one model) and
 * the diff starts again as "delete everything, add everything". */

enum dstate {
	D_SAME,
	D_GONE,   /* not in to */
	D_REPL,   /* in to with other content */
	D_FORCED, /* unchanged, but depends on a changed entry: del, then add */
};

struct dent {
	uint64_t key, sum[2];
	uint64_t dep[2]; /* identity hashes of what it depends on; 0: none */
	size_t cmd;      /* offset in the diff's buffer, once needed */
	uint8_t kind;
	uint8_t state;
	bool seen; /* matched by an entry of to */
};

/* An entry of to, in to's order: new (offset, NONE: unchanged) and the
 * entry of from with its identity (NONE: none). */
struct tent {
	size_t from, new;
};

struct hnv_apply_diff {
	struct cmdbuf buf;
	struct {
		size_t old, new;
	} * ch;
	size_t n, cap;
};

struct differ {
	struct hnv_apply_diff *d;
	struct dent *e;
	size_t n, cap;
	uint32_t *slot; /* index + 1 of e by key; 0: empty */
	size_t mask;
	struct tent *t;
	size_t nt, capt;
	bool all; /* identity hashes clashed: replace everything */
	bool clash;
	size_t i; /* the entry of from the second reading is at */
	int rc;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

#define FNV0 0xcbf29ce484222325ull

static uint64_t fnv_str(uint64_t h, const char *s, size_t max)
{
	return fnv(h, s, strnlen(s, max) + 1);
}

/* Never 0 (0 means "no dependency"). */
static uint64_t key_done(uint64_t h)
{
	h = hnv_mix64(h);
	return h ? h : 1;
}

static uint64_t key_name(enum hnv_conf_kind kind, const char *name)
{
	uint8_t k = (uint8_t)kind;
	return key_done(fnv_str(fnv(FNV0, &k, 1), name, HNV_NAME_MAX + 1));
}

static uint64_t key_vsid(uint32_t vsid)
{
	uint8_t k = HNV_CONF_VSUBNET_ADD;
	return key_done(fnv(fnv(FNV0, &k, 1), &vsid, sizeof(vsid)));
}

/* The identity of an entry (a model entry: an add, or the settings). */
static uint64_t key_of(const struct hnv_conf_cmd *c)
{
	uint8_t k = (uint8_t)c->kind;
	uint64_t h = fnv(FNV0, &k, 1);
	switch (c->kind) {
	case HNV_CONF_PA_ADD:
		h = fnv(h, &c->u.pa.addr.addr, sizeof(c->u.pa.addr.addr));
		break;
	case HNV_CONF_PROUTE_ADD:
		h = fnv(h, &c->u.proute.prefix, sizeof(c->u.proute.prefix));
		h = fnv(h, &c->u.proute.nexthop, sizeof(c->u.proute.nexthop));
		break;
	case HNV_CONF_RDOMAIN_ADD:
		return key_name(c->kind, c->u.rdomain.name);
	case HNV_CONF_VSUBNET_ADD:
		return key_vsid(c->u.vsubnet.vsid);
	case HNV_CONF_POOL_ADD:
		return key_name(c->kind, c->u.pool.name);
	case HNV_CONF_GATEWAY_ADD:
		return key_name(c->kind, c->u.gateway.rdomain);
	case HNV_CONF_GATEWAY_CA: {
		uint8_t v4 = hnv_ip_is_v4(&c->u.gateway_ca.ca);
		h = fnv_str(h, c->u.gateway_ca.rdomain, HNV_NAME_MAX + 1);
		h = fnv(h, &c->u.gateway_ca.vsid, sizeof(c->u.gateway_ca.vsid));
		h = fnv(h, &v4, 1);
		break;
	}
	case HNV_CONF_PORT_ADD:
		return key_name(c->kind, c->u.port.name);
	case HNV_CONF_LOOKUP_ADD:
		h = fnv(h, &c->u.lookup.vsid, sizeof(c->u.lookup.vsid));
		h = fnv(h, &c->u.lookup.ca, sizeof(c->u.lookup.ca));
		h = fnv(h, &c->u.lookup.mac, sizeof(c->u.lookup.mac));
		break;
	case HNV_CONF_ROUTE_ADD:
		h = fnv_str(h, c->u.route.rdomain, HNV_NAME_MAX + 1);
		h = fnv(h, &c->u.route.prefix, sizeof(c->u.route.prefix));
		h = fnv(h, &c->u.route.nexthop, sizeof(c->u.route.nexthop));
		break;
	case HNV_CONF_S2S_ADD:
		return key_name(c->kind, c->u.s2s.name);
	case HNV_CONF_GRE_ADD:
	case HNV_CONF_L3_ADD:
		return key_name(c->kind, c->u.conn.name);
	case HNV_CONF_BGP_PEER_ADD:
		return key_name(c->kind, c->u.bgp_peer.name);
	default: /* the settings: one entry */
		break;
	}
	return key_done(h);
}

/* Content: two independent 64-bit hashes of the kind and the member. */
static void sum_of(const struct hnv_conf_cmd *c, uint64_t sum[2])
{
	size_t n = member_size(c->kind);
	const unsigned char *b = (const unsigned char *)&c->u;
	uint64_t h2 = 0x9e3779b97f4a7c15ull ^ (uint64_t)c->kind;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t w = 0;
		memcpy(&w, b + i, n - i < 8 ? n - i : 8);
		h2 = hnv_mix64(h2 ^ w) + i;
	}
	uint8_t k = (uint8_t)c->kind;
	sum[0] = fnv(fnv(FNV0, &k, 1), b, n);
	sum[1] = h2;
}

static void dent_deps(const struct hnv_conf_cmd *c, struct dent *e)
{
	switch (c->kind) {
	case HNV_CONF_VSUBNET_ADD:
		e->dep[0] = key_name(HNV_CONF_RDOMAIN_ADD, c->u.vsubnet.rdomain);
		break;
	case HNV_CONF_POOL_ADD:
		e->dep[0] = key_vsid(c->u.pool.vsid);
		break;
	case HNV_CONF_GATEWAY_ADD:
		e->dep[0] = key_name(HNV_CONF_RDOMAIN_ADD, c->u.gateway.rdomain);
		break;
	case HNV_CONF_GATEWAY_CA:
		e->dep[0] = key_name(HNV_CONF_GATEWAY_ADD, c->u.gateway_ca.rdomain);
		e->dep[1] = key_vsid(c->u.gateway_ca.vsid);
		break;
	case HNV_CONF_PORT_ADD:
	case HNV_CONF_LOOKUP_ADD:
		e->dep[0] =
			key_vsid(c->kind == HNV_CONF_PORT_ADD ? c->u.port.vsid : c->u.lookup.vsid);
		break;
	case HNV_CONF_ROUTE_ADD:
		e->dep[0] = key_name(HNV_CONF_RDOMAIN_ADD, c->u.route.rdomain);
		e->dep[1] = key_vsid(c->u.route.vsid);
		break;
	case HNV_CONF_S2S_ADD:
		e->dep[0] = key_name(HNV_CONF_GATEWAY_ADD, c->u.s2s.rdomain);
		break;
	case HNV_CONF_GRE_ADD:
	case HNV_CONF_L3_ADD:
		e->dep[0] = key_name(HNV_CONF_GATEWAY_ADD, c->u.conn.rdomain);
		break;
	case HNV_CONF_BGP_PEER_ADD:
		e->dep[0] = key_name(HNV_CONF_GATEWAY_ADD, c->u.bgp_peer.rdomain);
		break;
	default:
		break;
	}
}

static long dent_find(const struct differ *x, uint64_t key)
{
	for (size_t i = key & x->mask;; i = (i + 1) & x->mask) {
		uint32_t v = x->slot[i];
		if (v == 0)
			return -1;
		if (x->e[v - 1].key == key)
			return (long)v - 1;
	}
}

/* First reading of from: the entries as hashes. */
static int read_from(const struct hnv_conf_cmd *c, void *arg)
{
	struct differ *x = arg;
	if (HNV_GROW(x->e, x->cap, x->n + 1))
		return -ENOMEM;
	struct dent *e = &x->e[x->n++];
	memset(e, 0, sizeof(*e));
	e->key = key_of(c);
	sum_of(c, e->sum);
	e->kind = (uint8_t)c->kind;
	e->cmd = NONE;
	dent_deps(c, e);
	return 0;
}

static int index_from(struct differ *x)
{
	size_t size = 16;
	while (size < 2 * x->n + 2)
		size *= 2;
	if (x->n >= UINT32_MAX || !(x->slot = calloc(size, sizeof(*x->slot))))
		return -ENOMEM;
	x->mask = size - 1;
	for (size_t k = 0; k < x->n; k++) {
		size_t i = x->e[k].key & x->mask;
		for (; x->slot[i]; i = (i + 1) & x->mask)
			if (x->e[x->slot[i] - 1].key == x->e[k].key)
				x->clash = true;
		x->slot[i] = (uint32_t)k + 1;
	}
	return 0;
}

/* The reading of to: each entry matched with from's by identity. */
static int read_to(const struct hnv_conf_cmd *c, void *arg)
{
	struct differ *x = arg;
	if (HNV_GROW(x->t, x->capt, x->nt + 1))
		return -ENOMEM;
	struct tent *t = &x->t[x->nt++];
	long i = x->all ? -1 : dent_find(x, key_of(c));
	t->from = i < 0 ? NONE : (size_t)i;
	t->new = NONE;
	if (i >= 0) {
		struct dent *e = &x->e[i];
		uint64_t sum[2];
		sum_of(c, sum);
		if (e->seen)
			x->clash = true;
		e->seen = true;
		if (sum[0] == e->sum[0] && sum[1] == e->sum[1])
			return 0;
		e->state = D_REPL;
	}
	return cmdbuf_put(&x->d->buf, c, &t->new);
}

/* Entries whose dependencies changed are replaced by themselves; from's
 * order puts every dependency first, so one pass sees the final state.
 * (What the applier derives, the ports' own lookup records, follows by
 * itself: see lookup_gone and records_pa_follow.) */
static void force_dependents(struct differ *x)
{
	for (size_t k = 0; k < x->n; k++) {
		struct dent *e = &x->e[k];
		if (!e->seen)
			e->state = D_GONE;
		for (int j = 0; j < 2 && e->state == D_SAME && !x->all; j++) {
			long d = e->dep[j] ? dent_find(x, e->dep[j]) : -1;
			if (d >= 0 && x->e[d].state != D_SAME)
				e->state = D_FORCED;
		}
	}
}

/* Second reading of from: the commands of the entries that change. */
static int collect_from(const struct hnv_conf_cmd *c, void *arg)
{
	struct differ *x = arg;
	struct dent *e = &x->e[x->i++];
	return e->state == D_SAME ? 0 : cmdbuf_put(&x->d->buf, c, &e->cmd);
}

static int diff_push(struct hnv_apply_diff *d, size_t old, size_t new)
{
	if (HNV_GROW(d->ch, d->cap, d->n + 1))
		return -ENOMEM;
	d->ch[d->n].old = old;
	d->ch[d->n++].new = new;
	return 0;
}

/* Deletions newest first, then replacements and additions in to's order. */
static int assemble(struct differ *x)
{
	for (size_t k = x->n; k-- > 0;) {
		const struct dent *e = &x->e[k];
		if ((e->state == D_GONE || e->state == D_FORCED) && diff_push(x->d, e->cmd, NONE))
			return -ENOMEM;
	}
	for (size_t k = 0; k < x->nt; k++) {
		const struct tent *t = &x->t[k];
		const struct dent *e = t->from == NONE ? NULL : &x->e[t->from];
		int rc = 0;
		if (!e)
			rc = diff_push(x->d, NONE, t->new);
		else if (e->state == D_REPL)
			rc = diff_push(x->d, e->cmd, t->new);
		else if (e->state == D_FORCED)
			rc = diff_push(x->d, NONE, e->cmd);
		if (rc)
			return rc;
	}
	return 0;
}

static void differ_free(struct differ *x)
{
	free(x->e);
	free(x->slot);
	free(x->t);
}

/* Back to the start, for a second run that replaces everything. */
static void differ_restart(struct differ *x)
{
	differ_free(x);
	struct hnv_apply_diff *d = x->d;
	*x = (struct differ){.d = d, .all = true};
	cmdbuf_cut(&d->buf, 0);
	d->n = 0;
}

static int diff_run(struct differ *x, const struct hnv_model *from, const struct hnv_model *to)
{
	int rc;
	if ((rc = hnv_model_foreach(from, read_from, x)) || (rc = index_from(x)))
		return rc;
	if (!x->clash && (rc = hnv_model_foreach(to, read_to, x)))
		return rc;
	if (x->clash)
		return 0;
	force_dependents(x);
	if ((rc = hnv_model_foreach(from, collect_from, x)))
		return rc;
	return assemble(x);
}

int hnv_apply_diff(const struct hnv_model *from, const struct hnv_model *to,
		   struct hnv_apply_diff **out)
{
	struct hnv_apply_diff *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	struct differ x = {.d = d};
	int rc = diff_run(&x, from, to);
	if (rc == 0 && x.clash) {
		hnv_log(HNV_LOG_NOTICE, "configuration diff: identity hashes clash; every entry "
					"is deleted and added again");
		differ_restart(&x);
		rc = diff_run(&x, from, to);
	}
	differ_free(&x);
	if (rc) {
		hnv_apply_diff_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

size_t hnv_apply_diff_count(const struct hnv_apply_diff *d)
{
	return d->n;
}

int hnv_apply_diff_foreach(const struct hnv_apply_diff *d, hnv_apply_diff_cb cb, void *arg)
{
	struct hnv_conf_cmd old, new;
	int rc = 0;
	for (size_t i = 0; i < d->n && rc == 0; i++) {
		if (d->ch[i].old != NONE)
			cmdbuf_get(&d->buf, d->ch[i].old, &old);
		if (d->ch[i].new != NONE)
			cmdbuf_get(&d->buf, d->ch[i].new, &new);
		rc = cb(arg, d->ch[i].old != NONE ? &old : NULL,
			d->ch[i].new != NONE ? &new : NULL);
	}
	explicit_bzero(&old, sizeof(old));
	explicit_bzero(&new, sizeof(new));
	return rc;
}

void hnv_apply_diff_free(struct hnv_apply_diff *d)
{
	if (!d)
		return;
	cmdbuf_free(&d->buf);
	free(d->ch);
	free(d);
}
