/* nexthop.c: the "nexthop" probe (see nexthop.h for the contract). */
#include "nexthop.h"

#include "../../datapath/policy_read.h"
#include "../../datapath/proto.h"
#include "../../lib/addr.h"
#include "../../lib/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_PORT "probe"
#define PROBE_PAYLOAD 32
#define PROBE_ID 0x686e /* "hn" */

/* Stands in for the next-hop MAC of remote PAs, which the I/O layer would
 * resolve; locally administered so it is recognizable in a capture. */
static const struct hnv_mac placeholder_neigh = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};

static const char *family(const struct hnv_ip *a)
{
	return hnv_ip_is_v4(a) ? "IPv4" : "IPv6";
}

/* The local port of vsid that owns ca, or NULL. */
static const struct hnv_port *port_owning(const struct hnv_policy *pol, uint32_t vsid,
					  const struct hnv_ip *ca)
{
	for (unsigned id = 1; id < HNV_PORTS_MAX; id++) {
		const struct hnv_port *pt = hnv_policy_port(pol, id);
		if (!pt || pt->vsid != vsid)
			continue;
		for (unsigned i = 0; i < pt->n_cas; i++)
			if (hnv_ip_eq(&pt->cas[i], ca))
				return pt;
	}
	return NULL;
}

struct first_rec {
	uint32_t vsid;
	bool v4;
	bool found;
	struct hnv_ip ca;
};

static int first_rec_cb(const struct hnv_rec *r, void *arg)
{
	struct first_rec *f = arg;
	if (r->vsid != f->vsid || hnv_ip_is_unspec(&r->ca) || hnv_ip_is_v4(&r->ca) != f->v4)
		return 0;
	f->ca = r->ca;
	f->found = true;
	return 1; /* stop */
}

/* The default source: the first port CA of the VSID of the wanted family,
 * else the first lookup record CA. */
static bool default_source(const struct hnv_policy *pol, uint32_t vsid, bool v4, struct hnv_ip *out)
{
	for (unsigned id = 1; id < HNV_PORTS_MAX; id++) {
		const struct hnv_port *pt = hnv_policy_port(pol, id);
		if (!pt || pt->vsid != vsid)
			continue;
		for (unsigned i = 0; i < pt->n_cas; i++)
			if (hnv_ip_is_v4(&pt->cas[i]) == v4) {
				*out = pt->cas[i];
				return true;
			}
	}
	struct first_rec f = {.vsid = vsid, .v4 = v4};
	hnv_policy_rec_foreach(pol, first_rec_cb, &f);
	*out = f.ca;
	return f.found;
}

/* Writes an ICMP(v6) echo request frame into f (at least 128 bytes) and
 * returns its length. */
static size_t build_echo(uint8_t *f, const struct hnv_mac *dmac, const struct hnv_mac *smac,
			 const struct hnv_ip *src, const struct hnv_ip *dst)
{
	bool v4 = hnv_ip_is_v4(dst);
	size_t o = hnv_eth_write(f, dmac, smac, v4 ? HNV_ET_IPV4 : HNV_ET_IPV6);
	uint16_t l4len = 8 + PROBE_PAYLOAD;
	uint8_t *ip = f + o;
	o += v4 ? hnv_ipv4_write(ip, src, dst, 1, 0, l4len, 64, true, PROBE_ID)
		: hnv_ipv6_write(ip, src, dst, 58, 0, 0, l4len, 64);
	uint8_t *icmp = f + o;
	icmp[0] = v4 ? 8 : ICMP6_ECHO_REQUEST;
	icmp[1] = 0;
	wr16(icmp + 2, 0);
	wr16(icmp + 4, PROBE_ID);
	wr16(icmp + 6, 1);
	for (unsigned i = 0; i < PROBE_PAYLOAD; i++)
		icmp[8 + i] = (uint8_t)('a' + i % 26);
	wr16(icmp + 2, v4 ? hnv_csum_fold(hnv_csum_add(0, icmp, l4len))
			  : hnv_csum6(src, dst, 58, icmp, l4len));
	return o + l4len;
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void add_ip(json_object *o, const char *k, const struct hnv_ip *ip)
{
	char buf[64];
	hnv_fmt_ip(ip, buf, sizeof(buf));
	add_str(o, k, buf);
}

static void add_mac(json_object *o, const char *k, const struct hnv_mac *mac)
{
	char buf[24];
	hnv_fmt_mac(mac, buf, sizeof(buf));
	add_str(o, k, buf);
}

/* The lookup record the datapath used for a forwarded packet, found with
 * the same read-side functions it calls. Replies the datapath generated
 * itself (ARP, echo, ICMP errors) have none. */
static const struct hnv_rec *chosen_record(const struct hnv_policy *pol, uint32_t src_vsid,
					   const struct hnv_ip *dst, enum hnv_reason r,
					   struct hnv_ip *nh)
{
	if (r == HNV_R_tx_encap || r == HNV_R_tx_local) {
		*nh = *dst;
		return hnv_policy_rec_by_ca(pol, hnv_hash_ca(src_vsid, dst), src_vsid, dst);
	}
	if (r != HNV_R_tx_routed_encap && r != HNV_R_tx_routed_local)
		return NULL;
	const struct hnv_vsubnet *vs = hnv_policy_vsubnet(pol, src_vsid);
	struct hnv_route_hit hit;
	if (!vs || !hnv_policy_route_lookup(pol, vs->rd_idx, dst, &hit))
		return NULL;
	*nh = hnv_ip_is_unspec(&hit.nexthop) ? *dst : hit.nexthop;
	const struct hnv_rec *rec =
		hnv_policy_rec_by_ca(pol, hnv_hash_ca(hit.vsid, nh), hit.vsid, nh);
	return rec ? rec : hnv_policy_wildcard(pol, hit.vsid, nh);
}

static json_object *describe(struct hnv_dp *dp, const struct hnv_pkt *p, const struct hnv_trace *tr,
			     uint32_t src_vsid, const struct hnv_ip *src,
			     const struct hnv_mac *smac, const struct hnv_ip *dst)
{
	const struct hnv_policy *pol = hnv_dp_policy(dp);
	bool drop = hnv_reason_is_drop(p->reason);
	json_object *o = json_object_new_object();
	add_str(o, "verdict", drop ? "drop" : "forward");
	add_str(o, "counter", hnv_reason_name(p->reason));
	json_object *st = json_object_new_array();
	for (unsigned i = 0; i < tr->n && i < HNV_TRACE_STEPS; i++) {
		json_object *s = json_object_new_object();
		add_str(s, "stage", hnv_stage_name(tr->step[i].stage));
		add_str(s, "decision", tr->step[i].text);
		json_object_array_add(st, s);
	}
	json_object_object_add(o, "stages", st);
	json_object_object_add(o, "vsid", json_object_new_int64(p->vsid));
	add_ip(o, "src", src);
	add_mac(o, "src_mac", smac);
	add_ip(o, "dst", dst);
	if (drop)
		return o;
	const char *egress =
		p->out_port == HNV_PORT_UPLINK ? "uplink" : hnv_policy_port_name(pol, p->out_port);
	add_str(o, "egress", egress ? egress : "?");
	struct hnv_ip nh;
	const struct hnv_rec *rec = chosen_record(pol, src_vsid, dst, p->reason, &nh);
	if (rec) {
		add_ip(o, "next_hop_ca", &nh);
		add_ip(o, "pa", &rec->pa);
		add_mac(o, "mac", &rec->mac);
	}
	return o;
}

/* The PA of the record a packet from src_vsid to dst leaves toward: the
 * destination's own record, else the record of the route's next hop (or
 * the wildcard), as the datapath chooses them. NULL: none. */
static const struct hnv_ip *pa_toward(const struct hnv_policy *pol, uint32_t src_vsid,
				      const struct hnv_ip *dst)
{
	struct hnv_ip nh;
	const struct hnv_rec *r = chosen_record(pol, src_vsid, dst, HNV_R_tx_encap, &nh);
	if (!r)
		r = chosen_record(pol, src_vsid, dst, HNV_R_tx_routed_encap, &nh);
	return r && !hnv_ip_is_unspec(&r->pa) ? &r->pa : NULL;
}

/* The ingress port for a frame from s in vsid: a local port owning the CA,
 * else a synthetic one with the MAC of s's record (*added: its name, to be
 * removed). 0 with *port_id and *smac, or a negative errno with err. */
static int ingress(struct hnv_policy *pol, uint32_t vsid, const struct hnv_ip *s, unsigned *port_id,
		   struct hnv_mac *smac, char added[HNV_NAME_MAX + 1], char *err, size_t errlen)
{
	char buf[64];
	added[0] = '\0';
	const struct hnv_port *pt = port_owning(pol, vsid, s);
	if (pt) {
		*port_id = pt->id;
		*smac = pt->mac;
		return 0;
	}
	const struct hnv_rec *r = hnv_policy_rec_by_ca(pol, hnv_hash_ca(vsid, s), vsid, s);
	if (!r) {
		hnv_fmt_ip(s, buf, sizeof(buf));
		hnv_seterr(err, errlen,
			   "source %s is neither a port CA nor a lookup record CA in VSID %u", buf,
			   vsid);
		return -ENOENT;
	}
	struct hnv_port_spec ps = {.vsid = vsid, .mac = r->mac, .n_cas = 1};
	ps.cas[0] = *s;
	/* a free name: "probe", else "probe2", "probe3", ... */
	snprintf(ps.name, sizeof(ps.name), "%s", PROBE_PORT);
	for (unsigned k = 2; hnv_policy_port_id(pol, ps.name) >= 0 && k < HNV_PORTS_MAX; k++)
		snprintf(ps.name, sizeof(ps.name), "%s%u", PROBE_PORT, k);
	int id = hnv_policy_port_add(pol, &ps);
	if (id >= 0)
		memcpy(added, ps.name, sizeof(ps.name));
	if (id == -EEXIST) {
		/* A local port already has this MAC (it does not own the
		 * CA): the frame enters there and the datapath judges. */
		pt = hnv_policy_port_by_mac(pol, vsid, &ps.mac);
		id = pt ? pt->id : -EEXIST;
	}
	if (id < 0) {
		hnv_seterr(err, errlen, "cannot attach a probe port in VSID %u: %s", vsid,
			   strerror(-id));
		return id;
	}
	*port_id = (unsigned)id;
	*smac = ps.mac;
	return 0;
}

/* The probe's source CA: src, else the VSID's default source. */
static int source(const struct hnv_policy *pol, uint32_t vsid, const struct hnv_ip *src,
		  const struct hnv_ip *dst, struct hnv_ip *s, char *err, size_t errlen)
{
	bool v4 = hnv_ip_is_v4(dst);
	char buf[64], d[64];
	if (!hnv_policy_vsubnet(pol, vsid)) {
		hnv_seterr(err, errlen, "VSID %u is not configured", vsid);
		return -ENOENT;
	}
	if (src && hnv_ip_is_v4(src) != v4) {
		hnv_fmt_ip(src, buf, sizeof(buf));
		hnv_fmt_ip(dst, d, sizeof(d));
		hnv_seterr(err, errlen, "source %s (%s) and destination %s (%s) differ in family",
			   buf, family(src), d, family(dst));
		return -EINVAL;
	}
	if (src) {
		*s = *src;
		return 0;
	}
	if (!default_source(pol, vsid, v4, s)) {
		hnv_seterr(err, errlen,
			   "VSID %u has no port or lookup record with an %s CA to send from", vsid,
			   family(dst));
		return -ENOENT;
	}
	return 0;
}

int hnv_nexthop(struct hnv_dp *dp, bool stand_in, uint32_t vsid, const struct hnv_ip *src,
		const struct hnv_ip *dst, json_object **result, uint64_t counted[HNV_R__COUNT],
		char *err, size_t errlen)
{
	struct hnv_policy *pol = hnv_dp_policy(dp);
	struct hnv_ip s;
	unsigned port_id;
	struct hnv_mac smac;
	char added[HNV_NAME_MAX + 1];
	int rc = source(pol, vsid, src, dst, &s, err, errlen);
	if (rc || (rc = ingress(pol, vsid, &s, &port_id, &smac, added, err, errlen)))
		return rc;

	const struct hnv_rec *dr = hnv_policy_rec_by_ca(pol, hnv_hash_ca(vsid, dst), vsid, dst);
	/* off-link: to the VSID's router MAC (its default-gateway record's) */
	const struct hnv_vsubnet *vs = hnv_policy_vsubnet(pol, vsid);
	struct hnv_mac dmac = *hnv_dp_gateway_mac(dp);
	if (dr)
		dmac = dr->mac;
	else if (vs && vs->gw_recs)
		dmac = vs->gw_mac;
	uint8_t frame[128];
	size_t flen = build_echo(frame, &dmac, &smac, &s, dst);
	struct hnv_trace tr;
	struct hnv_pkt *p = calloc(1, sizeof(*p));
	struct hnv_dp_worker *w = hnv_dp_worker_new(dp);
	if (!p || !w) {
		hnv_seterr(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	for (int pass = 0; pass < 2; pass++) {
		memset(&tr, 0, sizeof(tr));
		hnv_pkt_load(p, frame, flen, (uint16_t)port_id);
		p->trace = &tr;
		hnv_dp_process(w, &p, 1);
		counted[p->reason]++;
		const struct hnv_ip *pa;
		if (p->reason != HNV_R_drop_neigh_miss || !stand_in || pass ||
		    !(pa = pa_toward(pol, vsid, dst)))
			break;
		if ((rc = hnv_dp_neigh_set(dp, pa, &placeholder_neigh))) {
			hnv_seterr(err, errlen, "cannot prepare the probe: %s", strerror(-rc));
			goto out;
		}
	}
	*result = describe(dp, p, &tr, vsid, &s, &smac, dst);
	rc = 0;
out:
	hnv_dp_worker_free(w);
	free(p);
	if (added[0])
		hnv_policy_port_del(pol, added);
	return rc;
}
