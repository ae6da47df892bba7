/* conf_apply_vm.c: the applier for VMs' objects (conf_apply_int.h): ports
 * with the lookup records made for them, explicit lookup records, and IP
 * pools published to the datapath's DHCP.
 */
#include "conf_apply_int.h"

#include "../datapath/dhcp.h"
#include "../datapath/policy.h"
#include "../lib/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

/* The datapath's specs of the commands' objects. */

static void port_spec(const struct hnv_conf_port *c, struct hnv_port_spec *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->name, c->name, sizeof(s->name));
	s->vsid = c->vsid;
	s->mac = c->mac;
	s->n_cas = c->n_cas;
	memcpy(s->cas, c->cas, sizeof(s->cas));
}

static void lookup_spec(const struct hnv_conf_lookup *c, struct hnv_lookup_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->vsid = c->vsid;
	s->ca = c->ca;
	s->pa = c->pa;
	s->mac = c->mac;
	s->rule = c->rule;
	s->type = c->type;
	s->use_vm_mac = c->use_vm_mac;
	s->has_customer_id = c->has_customer_id;
	s->customer_id = c->customer_id;
	memcpy(s->vm_name, c->vm_name, sizeof(s->vm_name));
	memcpy(s->context, c->context, sizeof(s->context));
}

static void dhcp_pool(const struct hnv_conf_range *c, struct hnv_dhcp_pool *s)
{
	memset(s, 0, sizeof(*s));
	s->first = c->first;
	s->last = c->last;
	s->n_dns = c->n_dns;
	memcpy(s->dns, c->dns, sizeof(s->dns));
	s->lease = c->lease;
}

static bool pool_of_vsid(const void *elem, const void *key)
{
	return ((const struct hnv_conf_pool *)elem)->vsid == *(const uint32_t *)key;
}

static bool auto_of_port(const void *elem, const void *key)
{
	return strcmp(((const struct auto_rec *)elem)->port, key) == 0;
}

struct vsid_ca {
	uint32_t vsid;
	const struct hnv_ip *ca;
};

static bool auto_is(const void *elem, const void *key)
{
	const struct auto_rec *a = elem;
	const struct vsid_ca *k = key;
	return a->vsid == k->vsid && hnv_ip_eq(&a->ca, k->ca);
}

/* The lookup records of a new port's CAs (conftext.h, "port"). */
static int port_records(struct hnv_conf_batch *b, const struct hnv_conf_port *s, char *err,
			size_t errlen)
{
	struct hnv_policy *p = hnv_dp_policy(b->dp);
	const struct hnv_ip *pa = hnv_policy_local_pa(p, true);
	if (pa == NULL)
		pa = hnv_policy_local_pa(p, false);
	if (pa == NULL)
		return 0;
	for (unsigned i = 0; i < s->n_cas; i++) {
		struct hnv_lookup_spec r;
		memset(&r, 0, sizeof(r));
		r.vsid = s->vsid;
		r.ca = s->cas[i];
		r.pa = *pa;
		r.mac = s->mac;
		r.rule = HNV_RULE_ENCAP;
		r.type = HNV_TYPE_STATIC;
		memcpy(r.vm_name, s->name, sizeof(r.vm_name));
		int rc = hnv_policy_lookup_add(p, &r);
		struct vsid_ca key = {s->vsid, &s->cas[i]};
		long other = rc == -EEXIST ? CONF_FIND(b->autos, auto_is, &key) : -1;
		if (other >= 0) {
			char t[INET6_ADDRSTRLEN];
			hnv_fmt_ip(&s->cas[i], t, sizeof(t));
			hnv_seterr(err, errlen,
				   "port add: CA %s of port \"%s\" is already the address of port "
				   "\"%s\" in VSID %u",
				   t, s->name, b->autos.a[other].port, s->vsid);
			return -EEXIST;
		}
		if (rc == -EEXIST)
			continue; /* an explicit record of this CA stays */
		struct auto_rec a;
		memset(&a, 0, sizeof(a));
		memcpy(a.port, s->name, sizeof(a.port));
		a.vsid = s->vsid;
		a.ca = s->cas[i];
		a.mac = s->mac;
		if (rc == 0 && CONF_PUSH(b->autos, &a) < 0)
			rc = -ENOMEM;
		if (rc < 0) {
			char t[INET6_ADDRSTRLEN];
			hnv_fmt_ip(&s->cas[i], t, sizeof(t));
			hnv_seterr(err, errlen, "port add: port \"%s\": lookup record of CA %s: %s",
				   s->name, t, conf_errno_text(rc));
			return rc;
		}
	}
	return 0;
}

/* Refuses a CA that is the DHCP server identifier of a VSID with a pool. */
static int check_server_id(struct hnv_conf_batch *b, const char *cmd,
			   const struct hnv_vsubnet_spec *vs, const struct hnv_ip *ca, char *err,
			   size_t errlen)
{
	long pi = CONF_FIND(b->pools, pool_of_vsid, &vs->vsid);
	return conf_check_server_id(cmd, vs->vsid, vs->prefixes, vs->n_prefixes,
				    pi < 0 ? NULL : b->pools.a[pi].name, ca, err, errlen);
}

/* port del: the port and the records made for it (one an explicit
 * lookup del took is gone). */
static int port_del(struct hnv_conf_batch *b, const struct hnv_conf_port *s, char *err,
		    size_t errlen)
{
	struct hnv_policy *p = hnv_dp_policy(b->dp);
	const char *cmd = "port del";
	int rc = hnv_policy_port_del(p, s->name);
	if (rc == -ENOENT)
		hnv_seterr(err, errlen, "%s: port \"%s\" not found", cmd, s->name);
	else if (rc < 0)
		hnv_seterr(err, errlen, "%s: port \"%s\": %s", cmd, s->name, conf_errno_text(rc));
	if (rc < 0)
		return rc;
	long di = CONF_FIND(b->devs, conf_name_is, s->name);
	if (di >= 0)
		CONF_DEL(b->devs, di);
	for (long i; (i = CONF_FIND(b->autos, auto_of_port, s->name)) >= 0;) {
		const struct auto_rec *a = &b->autos.a[i];
		rc = hnv_policy_lookup_del(p, a->vsid, &a->ca, &a->mac);
		if (rc < 0 && rc != -ENOENT) {
			hnv_seterr(err, errlen, "%s: port \"%s\": its lookup record: %s", cmd,
				   s->name, conf_errno_text(rc));
			return rc;
		}
		CONF_DEL(b->autos, i);
	}
	return 0;
}

static int port_add(struct hnv_conf_batch *b, const struct hnv_conf_port *s, char *err,
		    size_t errlen)
{
	struct hnv_policy *p = hnv_dp_policy(b->dp);
	const char *cmd = "port add";
	static const struct hnv_mac zero_mac;
	if (s->n_cas > HNV_CONF_CAS_MAX) {
		hnv_seterr(err, errlen, "%s: port \"%s\" needs 1-%d CAs", cmd, s->name,
			   HNV_CONF_CAS_MAX);
		return -EINVAL;
	}
	struct hnv_vsubnet_spec vs;
	if (hnv_policy_vsubnet_get(p, s->vsid, &vs) < 0)
		return conf_vsid_missing(cmd, s->vsid, err, errlen);
	if (s->n_cas == 0 || hnv_mac_eq(&s->mac, &zero_mac)) {
		hnv_seterr(err, errlen,
			   "%s: port \"%s\" needs --ca and --mac here (hnvgwd fills them in from "
			   "the pool of VSID %u)",
			   cmd, s->name, s->vsid);
		return -EINVAL;
	}
	int rc;
	for (unsigned i = 0; i < s->n_cas; i++) {
		rc = conf_check_ca(cmd, vs.vsid, vs.prefixes, vs.n_prefixes, &s->cas[i], err,
				   errlen);
		if (rc == 0)
			rc = check_server_id(b, cmd, &vs, &s->cas[i], err, errlen);
		if (rc < 0)
			return rc;
	}
	struct dev_rec d;
	memset(&d, 0, sizeof(d));
	memcpy(d.port, s->name, sizeof(d.port));
	snprintf(d.dev, sizeof(d.dev), "%s", s->dev[0] ? s->dev : s->name);
	struct hnv_port_spec spec;
	port_spec(s, &spec);
	rc = hnv_policy_port_add(p, &spec);
	if (rc >= 0) {
		if ((rc = conf_dev_free(b, cmd, s->name, d.dev, err, errlen)) < 0 ||
		    (rc = CONF_PUSH(b->devs, &d)) < 0) {
			if (rc == -ENOMEM)
				hnv_seterr(err, errlen, "%s: port \"%s\": out of memory", cmd,
					   s->name);
			hnv_policy_port_del(p, s->name);
			return rc;
		}
		return port_records(b, s, err, errlen);
	}
	if (rc == -EEXIST) {
		char m[18];
		hnv_fmt_mac(&s->mac, m, sizeof(m));
		hnv_seterr(err, errlen,
			   "%s: port \"%s\" already exists, or MAC %s is already a port of VSID %u",
			   cmd, s->name, m, s->vsid);
	} else if (rc == -ENOENT) {
		return conf_vsid_missing(cmd, s->vsid, err, errlen);
	} else {
		hnv_seterr(err, errlen, "%s: port \"%s\": %s", cmd, s->name, conf_errno_text(rc));
	}
	return rc;
}

int conf_apply_port(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		    size_t errlen)
{
	const struct hnv_conf_port *s = &c->u.port;
	bool add = c->kind == HNV_CONF_PORT_ADD;
	if (!CONF_TERMINATED(s->name)) {
		hnv_seterr(err, errlen, "%s: name is not terminated",
			   add ? "port add" : "port del");
		return -EINVAL;
	}
	return add ? port_add(b, s, err, errlen) : port_del(b, s, err, errlen);
}

/* A record in messages: its CA in a, MAC in m, "VSID N CA a MAC m" in rec.
 * Formatted only for a message: a config applies many records. */
static void lookup_name(const struct hnv_conf_lookup *s, char a[INET6_ADDRSTRLEN], char m[18],
			char *rec, size_t reclen)
{
	hnv_fmt_ip(&s->ca, a, INET6_ADDRSTRLEN);
	hnv_fmt_mac(&s->mac, m, 18);
	snprintf(rec, reclen, "VSID %u CA %s MAC %s", s->vsid, a, m);
}

/* The default-gateway record s of VSID vs (conf_is_gateway_rec): it sets
 * or clears the VSID's router MAC (policy.h hnv_policy_gw_rec_add); "set"
 * changes nothing the datapath holds (PA checked, names are the model's). */
static int gw_rec_apply(struct hnv_policy *p, const struct hnv_vsubnet_spec *vs,
			enum hnv_conf_kind kind, const char *cmd, const struct hnv_conf_lookup *s,
			char *err, size_t errlen)
{
	char a[INET6_ADDRSTRLEN], m[18], rec[96];
	struct hnv_mac have;
	int rc;
	lookup_name(s, a, m, rec, sizeof(rec));
	if (kind == HNV_CONF_LOOKUP_DEL) {
		rc = hnv_policy_gw_rec_del(p, s->vsid, &s->ca, &s->mac);
		if (rc == -ENOENT)
			hnv_seterr(err, errlen, "%s: no record %s", cmd, rec);
		else if (rc < 0)
			hnv_seterr(err, errlen, "%s: record %s: %s", cmd, rec, conf_errno_text(rc));
		return rc < 0 ? rc : 0;
	}
	if ((rc = conf_check_gw_rec(cmd, s, err, errlen)) < 0)
		return rc;
	if (kind == HNV_CONF_LOOKUP_SET) {
		rc = hnv_policy_gw_rec_get(p, s->vsid, &s->ca, &have);
		if (rc == 0 && !hnv_mac_eq(&have, &s->mac))
			rc = -ENOENT;
		if (rc < 0)
			hnv_seterr(err, errlen, "%s: no record %s", cmd, rec);
		return rc < 0 ? rc : 0;
	}
	rc = hnv_policy_gw_rec_add(p, s->vsid, &s->ca, &s->mac);
	if (rc == -EEXIST) {
		hnv_seterr(err, errlen,
			   "%s: record %s already exists, or another record of VSID %u has CA %s",
			   cmd, rec, s->vsid, a);
	} else if (rc == -EINVAL) {
		/* the MAC of the VSID's other gateway record */
		char o[18] = "?";
		for (unsigned i = 0; i < vs->n_prefixes; i++) {
			struct hnv_ip gw;
			conf_gateway_of(&vs->prefixes[i], &gw);
			if (hnv_policy_gw_rec_get(p, s->vsid, &gw, &have) == 0)
				hnv_fmt_mac(&have, o, sizeof(o));
		}
		hnv_seterr(err, errlen,
			   "%s: record %s: VSID %u has a default-gateway record with MAC %s "
			   "already; its records (one per address family) name one router MAC",
			   cmd, rec, s->vsid, o);
	} else if (rc < 0) {
		hnv_seterr(err, errlen, "%s: record %s: %s", cmd, rec, conf_errno_text(rc));
	}
	return rc < 0 ? rc : 0;
}

int conf_apply_lookup(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		      size_t errlen)
{
	struct hnv_policy *p = hnv_dp_policy(b->dp);
	const struct hnv_conf_lookup *s = &c->u.lookup;
	const char *cmd = c->kind == HNV_CONF_LOOKUP_ADD   ? "lookup add"
			  : c->kind == HNV_CONF_LOOKUP_SET ? "lookup set"
							   : "lookup del";
	char a[INET6_ADDRSTRLEN], m[18], rec[96];
	int rc;
	struct hnv_vsubnet_spec vs;
	bool has_vs = hnv_policy_vsubnet_get(p, s->vsid, &vs) == 0;
	if (c->kind == HNV_CONF_LOOKUP_DEL && has_vs && !hnv_ip_is_unspec(&s->ca) &&
	    conf_is_gateway_rec(s, vs.prefixes, vs.n_prefixes))
		return gw_rec_apply(p, &vs, c->kind, cmd, s, err, errlen);
	if (c->kind == HNV_CONF_LOOKUP_DEL) {
		rc = hnv_policy_lookup_del(p, s->vsid, &s->ca, &s->mac);
		if (rc < 0)
			lookup_name(s, a, m, rec, sizeof(rec));
		if (rc == -ENOENT)
			hnv_seterr(err, errlen, "%s: no record %s", cmd, rec);
		else if (rc < 0)
			hnv_seterr(err, errlen, "%s: record %s: %s", cmd, rec, conf_errno_text(rc));
		return rc < 0 ? rc : 0;
	}
	if (!CONF_TERMINATED(s->vm_name) || !CONF_TERMINATED(s->context)) {
		hnv_seterr(err, errlen, "%s: VM name or context is not terminated", cmd);
		return -EINVAL;
	}
	if ((rc = conf_rule_supported(cmd, s, err, errlen)) < 0)
		return rc;
	if (!has_vs)
		return conf_vsid_missing(cmd, s->vsid, err, errlen);
	if (!hnv_ip_is_unspec(&s->ca) && conf_is_gateway_rec(s, vs.prefixes, vs.n_prefixes))
		return gw_rec_apply(p, &vs, c->kind, cmd, s, err, errlen);
	if (!hnv_ip_is_unspec(&s->ca)) {
		rc = conf_check_ca(cmd, vs.vsid, vs.prefixes, vs.n_prefixes, &s->ca, err, errlen);
		if (rc < 0)
			return rc;
	}
	struct hnv_lookup_spec spec;
	lookup_spec(s, &spec);
	if (c->kind == HNV_CONF_LOOKUP_ADD) {
		rc = hnv_policy_lookup_add(p, &spec);
		struct vsid_ca key = {s->vsid, &s->ca};
		long ai = rc == -EEXIST ? CONF_FIND(b->autos, auto_is, &key) : -1;
		if (ai >= 0) {
			/* an explicit record replaces the one made for a port */
			const struct auto_rec *x = &b->autos.a[ai];
			rc = hnv_policy_lookup_del(p, x->vsid, &x->ca, &x->mac);
			CONF_DEL(b->autos, ai);
			if (rc == 0)
				rc = hnv_policy_lookup_add(p, &spec);
		}
		if (rc < 0)
			lookup_name(s, a, m, rec, sizeof(rec));
		if (rc == -EEXIST)
			hnv_seterr(err, errlen,
				   "%s: record %s already exists, or another record of VSID %u has "
				   "CA %s%s",
				   cmd, rec, s->vsid, a,
				   hnv_ip_is_unspec(&s->ca) ? " (one gateway-wildcard per family)"
							    : "");
		else if (rc == -ENOENT)
			return conf_vsid_missing(cmd, s->vsid, err, errlen);
		else if (rc < 0)
			hnv_seterr(err, errlen, "%s: record %s: %s", cmd, rec, conf_errno_text(rc));
	} else {
		rc = hnv_policy_lookup_set(p, &spec);
		if (rc < 0)
			lookup_name(s, a, m, rec, sizeof(rec));
		if (rc == -ENOENT)
			hnv_seterr(err, errlen, "%s: no record %s", cmd, rec);
		else if (rc < 0)
			hnv_seterr(err, errlen, "%s: record %s: %s", cmd, rec, conf_errno_text(rc));
	}
	return rc < 0 ? rc : 0;
}

int conf_rule_supported(const char *cmd, const struct hnv_conf_lookup *s, char *err, size_t errlen)
{
	if (s->rule == HNV_RULE_ENCAP)
		return 0;
	char a[INET6_ADDRSTRLEN], m[18], rec[96];
	lookup_name(s, a, m, rec, sizeof(rec));
	if (s->rule == HNV_RULE_NAT)
		hnv_seterr(err, errlen,
			   "%s: record %s: rule nat (TranslationMethodNat, IP rewrite) is not "
			   "supported: hnvgw forwards customer packets only in NVGRE "
			   "(TranslationMethodEncap); IP rewrite needs a provider address of its "
			   "own for every VM, answered and routed on the provider network, which "
			   "hnvgw does not provide (docs/netwnv-settings.md)",
			   cmd, rec);
	else
		hnv_seterr(err, errlen,
			   "%s: record %s: rule none (TranslationMethodNone) is not supported: "
			   "Microsoft documents no forwarding behaviour for it, so hnvgw cannot "
			   "forward such a record as Hyper-V does; use --rule encap "
			   "(docs/netwnv-settings.md)",
			   cmd, rec);
	return -EOPNOTSUPP;
}

static int pools_publish(struct hnv_conf_batch *b, uint32_t vsid)
{
	struct hnv_dhcp_cfg cfg;
	memset(&cfg, 0, sizeof(cfg));
	for (size_t i = 0; i < b->pools.n; i++) {
		const struct hnv_conf_pool *o = &b->pools.a[i];
		if (o->vsid == vsid && cfg.n_pools < HNV_DHCP_POOLS_MAX)
			dhcp_pool(&o->range, &cfg.pools[cfg.n_pools++]);
	}
	return hnv_policy_vsubnet_dhcp_set(hnv_dp_policy(b->dp), vsid, &cfg);
}

/* s overlaps no other pool of its VSID, which has room for one more. 0,
 * -EEXIST or -ENOSPC. */
static int pool_fits(const struct hnv_conf_batch *b, const struct hnv_conf_pool *s, const char *f,
		     const char *l, char *err, size_t errlen)
{
	unsigned n = 0;
	for (size_t i = 0; i < b->pools.n; i++) {
		const struct hnv_conf_pool *o = &b->pools.a[i];
		if (o->vsid != s->vsid)
			continue;
		n++;
		int rc = conf_check_pool_overlap(s, o, f, l, err, errlen);
		if (rc)
			return rc;
	}
	return conf_check_pool_room(s, n, err, errlen);
}

static int pool_add(struct hnv_conf_batch *b, const struct hnv_conf_pool *s, char *err,
		    size_t errlen)
{
	const char *cmd = "pool add";
	if (CONF_FIND(b->pools, conf_name_is, s->name) >= 0) {
		hnv_seterr(err, errlen, "%s: pool \"%s\" already exists", cmd, s->name);
		return -EEXIST;
	}
	const struct hnv_conf_range *r = &s->range;
	if (!hnv_ip_is_v4(&r->first) || !hnv_ip_is_v4(&r->last) || r->n_dns > HNV_CONF_DNS_MAX) {
		hnv_seterr(err, errlen, "%s: pool \"%s\": invalid range or DNS servers", cmd,
			   s->name);
		return -EINVAL;
	}
	char f[INET6_ADDRSTRLEN], l[INET6_ADDRSTRLEN];
	hnv_fmt_ip(&r->first, f, sizeof(f));
	hnv_fmt_ip(&r->last, l, sizeof(l));
	struct hnv_vsubnet_spec vs;
	if (hnv_policy_vsubnet_get(hnv_dp_policy(b->dp), s->vsid, &vs) < 0) {
		hnv_seterr(err, errlen,
			   "%s: pool \"%s\": VSID %u is not configured: a pool needs a VM subnet "
			   "(vsubnet add %u --rdomain NAME --prefix P first)",
			   cmd, s->name, s->vsid, s->vsid);
		return -ENOENT;
	}
	int rc = conf_check_pool_place(s, vs.prefixes, vs.n_prefixes, f, l, err, errlen);
	if (rc == 0)
		rc = pool_fits(b, s, f, l, err, errlen);
	if (rc < 0)
		return rc;
	if (CONF_PUSH(b->pools, s) < 0) {
		hnv_seterr(err, errlen, "%s: pool \"%s\": out of memory", cmd, s->name);
		return -ENOMEM;
	}
	rc = pools_publish(b, s->vsid);
	if (rc < 0)
		hnv_seterr(err, errlen, "%s: pool \"%s\": %s", cmd, s->name, conf_errno_text(rc));
	return rc;
}

int conf_apply_pool(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		    size_t errlen)
{
	const struct hnv_conf_pool *s = &c->u.pool;
	const char *cmd = c->kind == HNV_CONF_POOL_ADD ? "pool add" : "pool del";
	if (!CONF_TERMINATED(s->name)) {
		hnv_seterr(err, errlen, "%s: name is not terminated", cmd);
		return -EINVAL;
	}
	if (c->kind == HNV_CONF_POOL_ADD)
		return pool_add(b, s, err, errlen);
	long pi = CONF_FIND(b->pools, conf_name_is, s->name);
	if (pi < 0) {
		hnv_seterr(err, errlen, "%s: pool \"%s\" not found", cmd, s->name);
		return -ENOENT;
	}
	uint32_t vsid = b->pools.a[pi].vsid;
	CONF_DEL(b->pools, pi);
	int rc = pools_publish(b, vsid);
	if (rc < 0)
		hnv_seterr(err, errlen, "%s: pool \"%s\": %s", cmd, s->name, conf_errno_text(rc));
	return rc;
}

int conf_vsid_pool_busy(const struct hnv_conf_batch *b, const char *cmd, uint32_t vsid, char *err,
			size_t errlen)
{
	long pl = CONF_FIND(b->pools, pool_of_vsid, &vsid);
	if (pl < 0)
		return 0;
	hnv_seterr(err, errlen, "%s: VSID %u is in use by pool \"%s\" (pool del first)", cmd, vsid,
		   b->pools.a[pl].name);
	return -EBUSY;
}
