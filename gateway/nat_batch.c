/* nat_batch.c: the nftables messages that make table inet hnvgw hold
 * the tenants' zones, SNAT and NETMAP rules (nat.h), built with libnftnl
 * into one batch; pure functions of the tenant list. */
#include "nat_int.h"

#include "../lib/err.h"
#include "../lib/vec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAIN_PRE "zone_pre"
#define CHAIN_OUT "zone_out"
#define CHAIN_SNAT "tenant_snat"
#define CHAIN_NM_MARK "netmap_mark"
#define CHAIN_NM_DNAT "netmap_dnat"
#define CHAIN_NM_SNAT "netmap_snat"
#define PRIO_RAW (-300)    /* NF_IP_PRI_RAW */
#define PRIO_MANGLE (-150) /* NF_IP_PRI_MANGLE */
#define PRIO_DSTNAT (-100) /* NF_IP_PRI_NAT_DST */
#define PRIO_SRCNAT 100    /* NF_IP_PRI_NAT_SRC */
#define MSG_RESERVE 8192   /* more than any one message of ours takes */

const struct nat_chain nat_chains[CH__COUNT] = {
	[CH_PRE] = {CHAIN_PRE, "filter", NF_INET_PRE_ROUTING, PRIO_RAW},
	[CH_OUT] = {CHAIN_OUT, "filter", NF_INET_LOCAL_OUT, PRIO_RAW},
	[CH_SNAT] = {CHAIN_SNAT, "nat", NF_INET_POST_ROUTING, PRIO_SRCNAT},
	[CH_NM_MARK] = {CHAIN_NM_MARK, "filter", NF_INET_PRE_ROUTING, PRIO_MANGLE},
	[CH_NM_DNAT] = {CHAIN_NM_DNAT, "nat", NF_INET_PRE_ROUTING, PRIO_DSTNAT},
	[CH_NM_SNAT] = {CHAIN_NM_SNAT, "nat", NF_INET_POST_ROUTING, PRIO_SRCNAT},
};

/* ---- tenants ---- */

bool nat_has_ext_if(const struct hnv_nat_tenant *t)
{
	return t->ext_if != NULL && t->ext_if[0] != '\0';
}

const char *nat_tenant_if(const struct hnv_nat_tenant *t, size_t i)
{
	if (i < t->n_ifs)
		return t->ifs[i];
	if (i == t->n_ifs && nat_has_ext_if(t)) {
		for (size_t j = 0; j < t->n_ifs; j++)
			if (strcmp(t->ifs[j], t->ext_if) == 0)
				return NULL;
		return t->ext_if;
	}
	return NULL;
}

static size_t tenant_n_ifs(const struct hnv_nat_tenant *t)
{
	return nat_tenant_if(t, t->n_ifs) != NULL ? t->n_ifs + 1 : t->n_ifs;
}

static size_t snat_rules(const struct hnv_nat_tenant *t)
{
	size_t n = 0;
	if (!t->has_ext_addr)
		return 0;
	for (size_t i = 0; i < t->n_prefixes; i++)
		n += hnv_ip_is_v4(&t->prefixes[i].addr);
	return n;
}

void nat_rule_counts(const struct hnv_nat_tenant *t, size_t n, size_t want[CH__COUNT])
{
	memset(want, 0, CH__COUNT * sizeof(want[0]));
	for (size_t i = 0; i < n; i++) {
		want[CH_PRE] += tenant_n_ifs(&t[i]);
		want[CH_OUT] += tenant_n_ifs(&t[i]);
		want[CH_SNAT] += snat_rules(&t[i]);
		for (size_t k = 0; k < t[i].n_netmaps; k++) {
			bool remote = t[i].netmaps[k].remote;
			want[CH_NM_MARK] += 2 * remote;
			want[CH_NM_DNAT]++;
			want[CH_NM_SNAT]++;
		}
	}
}

/* ---- fingerprint ---- */

struct fnv {
	uint64_t h;
};

static void fnv_add(struct fnv *f, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		f->h ^= b[i];
		f->h *= 0x100000001b3ull;
	}
}

static void fnv_str(struct fnv *f, const char *s)
{
	fnv_add(f, s != NULL ? s : "", (s != NULL ? strlen(s) : 0) + 1);
}

void hnv_nat_fingerprint(const struct hnv_nat_tenant *t, size_t n, char *buf, size_t len)
{
	struct fnv f = {0xcbf29ce484222325ull};
	fnv_str(&f, "hnvgw nat rules v2");
	uint64_t cnt = n;
	fnv_add(&f, &cnt, sizeof(cnt));
	for (size_t i = 0; i < n; i++) {
		fnv_str(&f, t[i].name);
		fnv_add(&f, &t[i].zone, sizeof(t[i].zone));
		cnt = tenant_n_ifs(&t[i]);
		fnv_add(&f, &cnt, sizeof(cnt));
		for (size_t k = 0; nat_tenant_if(&t[i], k) != NULL; k++)
			fnv_str(&f, nat_tenant_if(&t[i], k));
		fnv_str(&f, nat_has_ext_if(&t[i]) ? t[i].ext_if : "");
		uint8_t e = t[i].has_ext_addr;
		fnv_add(&f, &e, 1);
		if (e)
			fnv_add(&f, t[i].ext_addr.b, 16);
		cnt = t[i].n_prefixes;
		fnv_add(&f, &cnt, sizeof(cnt));
		for (size_t k = 0; k < t[i].n_prefixes; k++) {
			fnv_add(&f, t[i].prefixes[k].addr.b, 16);
			fnv_add(&f, &t[i].prefixes[k].len, 1);
		}
		cnt = t[i].n_netmaps;
		fnv_add(&f, &cnt, sizeof(cnt));
		for (size_t k = 0; k < t[i].n_netmaps; k++) {
			const struct hnv_nat_netmap *m = &t[i].netmaps[k];
			uint8_t rm = m->remote;
			fnv_str(&f, m->ifname);
			fnv_add(&f, &rm, 1);
			fnv_add(&f, &m->mark, sizeof(m->mark));
			fnv_add(&f, &m->site_mark, sizeof(m->site_mark));
			fnv_add(&f, m->real.addr.b, 16);
			fnv_add(&f, m->mapped.addr.b, 16);
			fnv_add(&f, &m->real.len, 1);
		}
	}
	snprintf(buf, len, "hnvgw nat v2 %016" PRIx64, f.h);
}

/* ---- the batch ---- */

static char *batch_room(struct nat_batch *b)
{
	if (b->oom)
		return NULL;
	size_t cap = b->cap;
	if (HNV_GROW(b->p, b->cap, b->len + MSG_RESERVE) ||
	    HNV_GROW(b->what, b->cap_what, b->seq - b->seq0 + 1)) {
		b->oom = true;
		return NULL;
	}
	if (b->cap != cap) /* messages are built into zeroed room */
		memset(b->p + b->len, 0, b->cap - b->len);
	return b->p + b->len;
}

static void batch_what(struct nat_batch *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Describes the message about to get sequence number b->seq. */
static void batch_what(struct nat_batch *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->what[b->seq - b->seq0], NAT_WHAT_LEN, fmt, ap);
	va_end(ap);
}

static void batch_commit(struct nat_batch *b, struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->seq++;
}

static struct nlmsghdr *batch_msg(struct nat_batch *b, uint16_t type, uint16_t flags)
{
	char *p = batch_room(b);
	if (p == NULL)
		return NULL;
	return nftnl_nlmsg_build_hdr(p, type, NFPROTO_INET, flags | NLM_F_ACK, b->seq);
}

static void batch_table(struct nat_batch *b, uint16_t type, uint16_t flags, const char *userdata)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh = batch_msg(b, type, flags);
	if (t == NULL || nlh == NULL ||
	    nftnl_table_set_str(t, NFTNL_TABLE_NAME, HNV_NAT_TABLE) < 0 ||
	    (userdata != NULL &&
	     nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, userdata, strlen(userdata) + 1) < 0)) {
		b->oom = true;
	} else {
		batch_what(b, "%s table inet %s", type == NFT_MSG_DELTABLE ? "delete" : "add",
			   HNV_NAT_TABLE);
		nftnl_table_nlmsg_build_payload(nlh, t);
		batch_commit(b, nlh);
	}
	if (t != NULL)
		nftnl_table_free(t);
}

static void batch_chain(struct nat_batch *b, const char *name, const char *type, uint32_t hook,
			int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh = batch_msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
	if (c == NULL || nlh == NULL ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, HNV_NAT_TABLE) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type) < 0) {
		b->oom = true;
	} else {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		batch_what(b, "add chain %s (type %s, priority %d) to table inet %s", name, type,
			   (int)prio, HNV_NAT_TABLE);
		nftnl_chain_nlmsg_build_payload(nlh, c);
		batch_commit(b, nlh);
	}
	if (c != NULL)
		nftnl_chain_free(c);
}

/* Rule under construction; every expression writes or reads register 1. */
struct rule {
	struct nftnl_rule *r;
	bool oom;
};

static struct nftnl_expr *rule_expr(struct rule *r, const char *name)
{
	struct nftnl_expr *e = r->oom ? NULL : nftnl_expr_alloc(name);
	if (e == NULL) {
		r->oom = true;
		return NULL;
	}
	nftnl_rule_add_expr(r->r, e);
	return e;
}

static void e_meta(struct rule *r, uint32_t key)
{
	struct nftnl_expr *e = rule_expr(r, "meta");
	if (e == NULL)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

static void e_cmp_op(struct rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = rule_expr(r, "cmp");
	if (e == NULL)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	if (nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len) < 0)
		r->oom = true;
}

static void e_cmp(struct rule *r, const void *data, uint32_t len)
{
	e_cmp_op(r, NFT_CMP_EQ, data, len);
}

/* iifname/oifname == name, or != name with neq */
static void e_ifname_op(struct rule *r, uint32_t key, const char *name, bool neq)
{
	char buf[HNV_NAT_IFNAMSIZ] = {0};
	memcpy(buf, name, strlen(name)); /* validated: shorter than IFNAMSIZ */
	e_meta(r, key);
	e_cmp_op(r, neq ? NFT_CMP_NEQ : NFT_CMP_EQ, buf, sizeof(buf));
}

static void e_ifname(struct rule *r, uint32_t key, const char *name)
{
	e_ifname_op(r, key, name, false);
}

static void e_imm_reg(struct rule *r, uint32_t reg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = rule_expr(r, "immediate");
	if (e == NULL)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
	if (nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len) < 0)
		r->oom = true;
}

static void e_imm(struct rule *r, const void *data, uint32_t len)
{
	e_imm_reg(r, NFT_REG_1, data, len);
}

/* ip saddr (offset 12) or ip daddr (16) within p (IPv4) */
static void e_addr_v4(struct rule *r, uint32_t offset, const struct hnv_prefix *p)
{
	uint8_t proto = NFPROTO_IPV4;
	e_meta(r, NFT_META_NFPROTO);
	e_cmp(r, &proto, 1);
	struct nftnl_expr *e = rule_expr(r, "payload");
	if (e == NULL)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, 4);
	uint8_t mask[4] = {0}, xor[4] = {
				       0};
	for (unsigned bit = 0; bit < p->len; bit++)
		mask[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
	if (p->len < 32) {
		e = rule_expr(r, "bitwise");
		if (e == NULL)
			return;
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
		if (nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, 4) < 0 ||
		    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, 4) < 0)
			r->oom = true;
	}
	e_cmp(r, p->addr.b + 12, 4);
}

static void e_saddr_v4(struct rule *r, const struct hnv_prefix *p)
{
	e_addr_v4(r, 12, p); /* iphdr.saddr */
}

/* ct zone == zone */
static void e_ct_zone(struct rule *r, uint16_t zone)
{
	struct nftnl_expr *e = rule_expr(r, "ct");
	if (e == NULL)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_ZONE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	e_cmp(r, &zone, sizeof(zone)); /* 16 bits, host order */
}

/* meta mark set mark */
static void e_set_mark(struct rule *r, uint32_t mark)
{
	e_imm(r, &mark, sizeof(mark));
	struct nftnl_expr *e = rule_expr(r, "meta");
	if (e == NULL)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
}

/* snat/dnat ip prefix to p: NETMAP, the host part kept */
static void e_netmap(struct rule *r, uint32_t type, const struct hnv_prefix *p)
{
	uint8_t lo[4], hi[4];
	for (unsigned i = 0; i < 4; i++) {
		unsigned bits = p->len > i * 8 ? p->len - i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
		lo[i] = p->addr.b[12 + i] & mask;
		hi[i] = (uint8_t)(lo[i] | (uint8_t)~mask);
	}
	e_imm_reg(r, NFT_REG_1, lo, 4);
	e_imm_reg(r, NFT_REG_2, hi, 4);
	struct nftnl_expr *e = rule_expr(r, "nat");
	if (e == NULL)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, type);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, NFT_REG_2);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_NETMAP);
}

static void batch_rule(struct nat_batch *b, const char *chain, struct rule *r, const char *what)
{
	struct nlmsghdr *nlh = batch_msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
	if (nlh == NULL || r->oom ||
	    nftnl_rule_set_str(r->r, NFTNL_RULE_TABLE, HNV_NAT_TABLE) < 0 ||
	    nftnl_rule_set_str(r->r, NFTNL_RULE_CHAIN, chain) < 0) {
		b->oom = true;
		return;
	}
	batch_what(b, "add rule to chain %s: %s", chain, what);
	nftnl_rule_nlmsg_build_payload(nlh, r->r);
	batch_commit(b, nlh);
}

static void rule_zone(struct nat_batch *b, const struct hnv_nat_tenant *t, const char *ifname,
		      bool out)
{
	struct rule r = {nftnl_rule_alloc(), false};
	if (r.r == NULL) {
		b->oom = true;
		return;
	}
	uint16_t zone = t->zone; /* the ct expression loads 16 bits, host order */
	e_ifname(&r, out ? NFT_META_OIFNAME : NFT_META_IIFNAME, ifname);
	e_imm(&r, &zone, sizeof(zone));
	struct nftnl_expr *e = rule_expr(&r, "ct");
	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_ZONE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, NFT_REG_1);
	}
	char what[NAT_WHAT_LEN];
	snprintf(what, sizeof(what), "tenant %s: %s \"%s\" ct zone set %u", t->name,
		 out ? "oifname" : "iifname", ifname, t->zone);
	batch_rule(b, out ? CHAIN_OUT : CHAIN_PRE, &r, what);
	nftnl_rule_free(r.r);
}

static void rule_snat(struct nat_batch *b, const struct hnv_nat_tenant *t,
		      const struct hnv_prefix *p)
{
	struct rule r = {nftnl_rule_alloc(), false};
	if (r.r == NULL) {
		b->oom = true;
		return;
	}
	e_ifname(&r, NFT_META_OIFNAME, t->ext_if);
	e_saddr_v4(&r, p);
	e_imm(&r, t->ext_addr.b + 12, 4);
	struct nftnl_expr *e = rule_expr(&r, "nat");
	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_SNAT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	}
	char what[NAT_WHAT_LEN], pfx[INET_ADDRSTRLEN], ext[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, p->addr.b + 12, pfx, sizeof(pfx));
	inet_ntop(AF_INET, t->ext_addr.b + 12, ext, sizeof(ext));
	snprintf(what, sizeof(what), "tenant %s: oifname \"%s\" ip saddr %s/%u snat to %s", t->name,
		 t->ext_if, pfx, p->len, ext);
	batch_rule(b, CHAIN_SNAT, &r, what);
	nftnl_rule_free(r.r);
}

static void fmt_prefix_v4(const struct hnv_prefix *p, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, p->addr.b + 12, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, p->len);
}

/* The rules of one netmap (nat.h). */
static void rules_netmap(struct nat_batch *b, const struct hnv_nat_tenant *t,
			 const struct hnv_nat_netmap *m)
{
	char real[24], mapped[24], what[NAT_WHAT_LEN];
	fmt_prefix_v4(&m->real, real, sizeof(real));
	fmt_prefix_v4(&m->mapped, mapped, sizeof(mapped));
	struct rule r[4];
	for (int i = 0; i < 4; i++) {
		r[i].r = nftnl_rule_alloc();
		r[i].oom = r[i].r == NULL;
	}
	if (r[0].oom || r[1].oom || r[2].oom || r[3].oom) {
		b->oom = true;
	} else if (!m->remote) {
		/* tenant -> site: the tenant's source; site -> tenant: back */
		e_ifname(&r[0], NFT_META_OIFNAME, m->ifname);
		e_addr_v4(&r[0], 12, &m->real);
		e_netmap(&r[0], NFT_NAT_SNAT, &m->mapped);
		snprintf(what, sizeof(what),
			 "tenant %s: oifname \"%s\" ip saddr %s snat ip prefix to %s", t->name,
			 m->ifname, real, mapped);
		batch_rule(b, CHAIN_NM_SNAT, &r[0], what);
		e_ifname(&r[1], NFT_META_IIFNAME, m->ifname);
		e_addr_v4(&r[1], 16, &m->mapped);
		e_netmap(&r[1], NFT_NAT_DNAT, &m->real);
		snprintf(what, sizeof(what),
			 "tenant %s: iifname \"%s\" ip daddr %s dnat ip prefix to %s", t->name,
			 m->ifname, mapped, real);
		batch_rule(b, CHAIN_NM_DNAT, &r[1], what);
	} else {
		/* tenant -> site: the site's view of itself, routed by mark */
		e_ct_zone(&r[0], t->zone);
		e_ifname_op(&r[0], NFT_META_IIFNAME, m->ifname, true);
		e_addr_v4(&r[0], 16, &m->mapped);
		e_set_mark(&r[0], m->mark);
		snprintf(what, sizeof(what),
			 "tenant %s: ct zone %u iifname != \"%s\" ip daddr %s meta mark set 0x%x",
			 t->name, t->zone, m->ifname, mapped, m->mark);
		batch_rule(b, CHAIN_NM_MARK, &r[0], what);
		e_ct_zone(&r[1], t->zone);
		e_ifname_op(&r[1], NFT_META_IIFNAME, m->ifname, true);
		e_addr_v4(&r[1], 16, &m->mapped);
		e_netmap(&r[1], NFT_NAT_DNAT, &m->real);
		snprintf(what, sizeof(what),
			 "tenant %s: ct zone %u iifname != \"%s\" ip daddr %s dnat ip prefix to %s",
			 t->name, t->zone, m->ifname, mapped, real);
		batch_rule(b, CHAIN_NM_DNAT, &r[1], what);
		/* site -> tenant: the site's source as the tenant knows it,
		 * marked on the way in (see nat.h) */
		e_ifname(&r[2], NFT_META_IIFNAME, m->ifname);
		e_addr_v4(&r[2], 12, &m->real);
		e_set_mark(&r[2], m->site_mark);
		snprintf(what, sizeof(what),
			 "tenant %s: iifname \"%s\" ip saddr %s meta mark set 0x%x", t->name,
			 m->ifname, real, m->site_mark);
		batch_rule(b, CHAIN_NM_MARK, &r[2], what);
		e_meta(&r[3], NFT_META_MARK);
		e_cmp(&r[3], &m->site_mark, sizeof(m->site_mark));
		e_addr_v4(&r[3], 12, &m->real);
		e_netmap(&r[3], NFT_NAT_SNAT, &m->mapped);
		snprintf(what, sizeof(what),
			 "tenant %s: meta mark 0x%x ip saddr %s snat ip prefix to %s", t->name,
			 m->site_mark, real, mapped);
		batch_rule(b, CHAIN_NM_SNAT, &r[3], what);
	}
	for (int i = 0; i < 4; i++)
		if (r[i].r != NULL)
			nftnl_rule_free(r[i].r);
}

int nat_build(struct nat_batch *b, const struct hnv_nat_tenant *t, size_t n, bool recreate,
	      uint32_t seq, char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	b->seq0 = b->seq = seq;
	char *p = batch_room(b);
	if (p != NULL) {
		batch_what(b, "commit the transaction for table inet %s", HNV_NAT_TABLE);
		b->len += NLMSG_ALIGN(nftnl_batch_begin(p, b->seq++)->nlmsg_len);
	}
	/* Add-if-missing then delete: the delete never fails with ENOENT. */
	batch_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE, NULL);
	batch_table(b, NFT_MSG_DELTABLE, 0, NULL);
	if (recreate) {
		char fp[64];
		hnv_nat_fingerprint(t, n, fp, sizeof(fp));
		batch_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, fp);
		for (int c = 0; c < CH__COUNT; c++)
			batch_chain(b, nat_chains[c].name, nat_chains[c].type, nat_chains[c].hook,
				    nat_chains[c].prio);
		for (size_t i = 0; i < n; i++) {
			for (size_t k = 0; nat_tenant_if(&t[i], k) != NULL; k++) {
				rule_zone(b, &t[i], nat_tenant_if(&t[i], k), false);
				rule_zone(b, &t[i], nat_tenant_if(&t[i], k), true);
			}
			for (size_t k = 0; k < t[i].n_netmaps; k++)
				rules_netmap(b, &t[i], &t[i].netmaps[k]);
			if (!t[i].has_ext_addr)
				continue;
			for (size_t k = 0; k < t[i].n_prefixes; k++)
				if (hnv_ip_is_v4(&t[i].prefixes[k].addr))
					rule_snat(b, &t[i], &t[i].prefixes[k]);
		}
	}
	p = batch_room(b);
	if (p != NULL) {
		batch_what(b, "end the transaction for table inet %s", HNV_NAT_TABLE);
		b->len += NLMSG_ALIGN(nftnl_batch_end(p, b->seq++)->nlmsg_len);
	}
	if (b->oom) {
		free(b->p);
		free(b->what);
		memset(b, 0, sizeof(*b));
		hnv_seterr(err, errlen,
			   "nftables: out of memory building the batch for %zu tenants", n);
		return -ENOMEM;
	}
	return 0;
}

int hnv_nat_build_batch(const struct hnv_nat_tenant *t, size_t n, uint32_t seq, void **buf,
			size_t *len, char *err, size_t errlen)
{
	int rc = hnv_nat_validate(t, n, err, errlen);
	if (rc != 0)
		return rc;
	struct nat_batch b;
	rc = nat_build(&b, t, n, true, seq, err, errlen);
	if (rc != 0)
		return rc;
	free(b.what);
	*buf = b.p;
	*len = b.len;
	return 0;
}
