/* nat.c: table inet hnvgw (libnftnl batches) and the conntrack dump
 * (ctnetlink). See nat.h for the rules and the contracts.
 */
#include "nat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

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
#define MSG_RESERVE 8192 /* more than any one message of ours takes */
#define WHAT_LEN 160

/* The chains of table inet hnvgw, in the order they are created. */
enum { CH_PRE, CH_OUT, CH_SNAT, CH_NM_MARK, CH_NM_DNAT, CH_NM_SNAT, CH__COUNT };
static const struct {
	const char *name, *type;
	uint32_t hook;
	int32_t prio;
} chains[CH__COUNT] = {
	[CH_PRE] = {CHAIN_PRE, "filter", NF_INET_PRE_ROUTING, PRIO_RAW},
	[CH_OUT] = {CHAIN_OUT, "filter", NF_INET_LOCAL_OUT, PRIO_RAW},
	[CH_SNAT] = {CHAIN_SNAT, "nat", NF_INET_POST_ROUTING, PRIO_SRCNAT},
	[CH_NM_MARK] = {CHAIN_NM_MARK, "filter", NF_INET_PRE_ROUTING, PRIO_MANGLE},
	[CH_NM_DNAT] = {CHAIN_NM_DNAT, "nat", NF_INET_PRE_ROUTING, PRIO_DSTNAT},
	[CH_NM_SNAT] = {CHAIN_NM_SNAT, "nat", NF_INET_POST_ROUTING, PRIO_SRCNAT},
};

struct hnv_nat {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
};

static void errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- validation and zones ---- */

static bool ifname_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	if (n == 0 || n >= HNV_NAT_IFNAMSIZ || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || c == '/' || c == ':')
			return false;
	}
	return true;
}

static bool has_ext_if(const struct hnv_nat_tenant *t)
{
	return t->ext_if != NULL && t->ext_if[0] != '\0';
}

/* Interface i of tenant t, the external interface counted last when it is
 * not already among ifs. NULL past the end. */
static const char *tenant_if(const struct hnv_nat_tenant *t, size_t i)
{
	if (i < t->n_ifs)
		return t->ifs[i];
	if (i == t->n_ifs && has_ext_if(t)) {
		for (size_t j = 0; j < t->n_ifs; j++)
			if (strcmp(t->ifs[j], t->ext_if) == 0)
				return NULL;
		return t->ext_if;
	}
	return NULL;
}

static size_t tenant_n_ifs(const struct hnv_nat_tenant *t)
{
	return tenant_if(t, t->n_ifs) != NULL ? t->n_ifs + 1 : t->n_ifs;
}

static bool prefix_is_v4(const struct hnv_prefix *p)
{
	return hnv_ip_is_v4(&p->addr);
}

static size_t snat_rules(const struct hnv_nat_tenant *t)
{
	size_t n = 0;
	if (!t->has_ext_addr)
		return 0;
	for (size_t i = 0; i < t->n_prefixes; i++)
		n += prefix_is_v4(&t->prefixes[i]);
	return n;
}

static int validate_tenant(const struct hnv_nat_tenant *t, size_t idx, char *err, size_t errlen)
{
	if (t->name == NULL || t->name[0] == '\0' || strlen(t->name) > HNV_NAME_MAX) {
		errf(err, errlen, "tenant %zu: name must be 1..%d characters", idx, HNV_NAME_MAX);
		return -EINVAL;
	}
	if (t->zone == 0) {
		errf(err, errlen, "tenant %s: conntrack zone 0 is out of range (1..65535)",
		     t->name);
		return -EINVAL;
	}
	if (t->n_ifs > 0 && t->ifs == NULL) {
		errf(err, errlen, "tenant %s: %zu interfaces but no list", t->name, t->n_ifs);
		return -EINVAL;
	}
	for (size_t i = 0; i < t->n_ifs; i++) {
		if (!ifname_ok(t->ifs[i])) {
			errf(err, errlen, "tenant %s: bad interface name \"%s\"", t->name,
			     t->ifs[i] != NULL ? t->ifs[i] : "(null)");
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(t->ifs[i], t->ifs[j]) == 0) {
				errf(err, errlen, "tenant %s: interface %s listed twice", t->name,
				     t->ifs[i]);
				return -EINVAL;
			}
	}
	if (has_ext_if(t) && !ifname_ok(t->ext_if)) {
		errf(err, errlen, "tenant %s: bad external interface name \"%s\"", t->name,
		     t->ext_if);
		return -EINVAL;
	}
	if (t->has_ext_addr) {
		if (!has_ext_if(t)) {
			errf(err, errlen,
			     "tenant %s: an external address needs an external interface", t->name);
			return -EINVAL;
		}
		if (!hnv_ip_is_v4(&t->ext_addr) || hnv_ip_is_unspec(&t->ext_addr)) {
			char a[INET6_ADDRSTRLEN];
			inet_ntop(AF_INET6, t->ext_addr.b, a, sizeof(a));
			errf(err, errlen,
			     "tenant %s: external address %s is not a unicast IPv4 address",
			     t->name, a);
			return -EINVAL;
		}
	}
	if (t->n_netmaps > 0 && t->netmaps == NULL) {
		errf(err, errlen, "tenant %s: %zu netmaps but no list", t->name, t->n_netmaps);
		return -EINVAL;
	}
	for (size_t i = 0; i < t->n_netmaps; i++) {
		const struct hnv_nat_netmap *m = &t->netmaps[i];
		bool known = false;
		for (size_t k = 0; m->ifname != NULL && k < t->n_ifs; k++)
			known |= strcmp(t->ifs[k], m->ifname) == 0;
		if (!known) {
			errf(err, errlen, "tenant %s: netmap %zu is on \"%s\", not an interface of the tenant",
			     t->name, i, m->ifname != NULL ? m->ifname : "(null)");
			return -EINVAL;
		}
		if (!prefix_is_v4(&m->real) || !prefix_is_v4(&m->mapped) ||
		    m->real.len != m->mapped.len || m->real.len > 32) {
			errf(err, errlen,
			     "tenant %s: netmap %zu on %s needs two IPv4 prefixes of one length",
			     t->name, i, m->ifname);
			return -EINVAL;
		}
		if (m->remote != (m->mark != 0) || m->remote != (m->site_mark != 0) ||
		    (m->remote && m->mark == m->site_mark)) {
			errf(err, errlen, "tenant %s: netmap %zu on %s: %s", t->name, i, m->ifname,
			     m->remote ? "a remote netmap needs two distinct marks"
				       : "a local netmap takes no mark");
			return -EINVAL;
		}
	}
	if (t->n_prefixes > 0 && t->prefixes == NULL) {
		errf(err, errlen, "tenant %s: %zu prefixes but no list", t->name, t->n_prefixes);
		return -EINVAL;
	}
	for (size_t i = 0; i < t->n_prefixes; i++) {
		const struct hnv_prefix *p = &t->prefixes[i];
		if (p->len > (prefix_is_v4(p) ? 32 : 128)) {
			errf(err, errlen, "tenant %s: prefix %zu has length %u", t->name, i,
			     p->len);
			return -EINVAL;
		}
	}
	return 0;
}

int hnv_nat_validate(const struct hnv_nat_tenant *t, size_t n, char *err, size_t errlen)
{
	if (n > 0 && t == NULL) {
		errf(err, errlen, "%zu tenants but no list", n);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		int rc = validate_tenant(&t[i], i, err, errlen);
		if (rc != 0)
			return rc;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(t[i].name, t[j].name) == 0) {
				errf(err, errlen, "tenant %s is listed twice", t[i].name);
				return -EINVAL;
			}
			if (t[i].zone == t[j].zone) {
				errf(err, errlen, "tenants %s and %s both use conntrack zone %u",
				     t[j].name, t[i].name, t[i].zone);
				return -EINVAL;
			}
		}
	}
	/* An interface in two tenants would give its traffic two zones. */
	for (size_t i = 0; i < n; i++)
		for (size_t a = 0; tenant_if(&t[i], a) != NULL; a++)
			for (size_t j = 0; j < i; j++)
				for (size_t b = 0; tenant_if(&t[j], b) != NULL; b++)
					if (strcmp(tenant_if(&t[i], a), tenant_if(&t[j], b)) == 0) {
						errf(err, errlen,
						     "interface %s is in tenants %s and %s",
						     tenant_if(&t[i], a), t[j].name, t[i].name);
						return -EINVAL;
					}
	return 0;
}

static int cmp_table_idx(const void *a, const void *b, void *arg)
{
	const uint32_t *tables = arg;
	uint32_t x = tables[*(const size_t *)a], y = tables[*(const size_t *)b];
	return x < y ? -1 : x > y;
}

int hnv_nat_zones(const uint32_t *tables, size_t n, uint16_t *zones, char *err, size_t errlen)
{
	uint8_t *used = calloc(65536 / 8, 1);
	size_t *idx = calloc(n + 1, sizeof(*idx));
	if (used == NULL || idx == NULL) {
		free(used);
		free(idx);
		errf(err, errlen, "out of memory for %zu conntrack zones", n);
		return -ENOMEM;
	}
	/* Indices in ascending table order: duplicates are neighbours, and
	 * the ids above 65535 come last, smallest first. */
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_table_idx, (void *)tables);
	int rc = 0;
	for (size_t k = 0; k < n && rc == 0; k++) {
		uint32_t tb = tables[idx[k]];
		if (tb == 0) {
			errf(err, errlen, "VRF table 0 has no conntrack zone");
			rc = -EINVAL;
		} else if (k > 0 && tables[idx[k - 1]] == tb) {
			errf(err, errlen, "VRF table %" PRIu32 " is listed twice", tb);
			rc = -EINVAL;
		} else if (tb <= UINT16_MAX) {
			zones[idx[k]] = (uint16_t)tb;
			used[tb / 8] |= (uint8_t)(1u << (tb % 8));
		}
	}
	unsigned next = UINT16_MAX;
	for (size_t k = 0; k < n && rc == 0; k++) {
		uint32_t tb = tables[idx[k]];
		if (tb <= UINT16_MAX)
			continue;
		while (next > 0 && (used[next / 8] & (1u << (next % 8))))
			next--;
		if (next == 0) {
			errf(err, errlen, "no conntrack zone left for VRF table %" PRIu32, tb);
			rc = -ENOSPC;
			break;
		}
		zones[idx[k]] = (uint16_t)next--;
	}
	free(used);
	free(idx);
	return rc;
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
		for (size_t k = 0; tenant_if(&t[i], k) != NULL; k++)
			fnv_str(&f, tenant_if(&t[i], k));
		fnv_str(&f, has_ext_if(&t[i]) ? t[i].ext_if : "");
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

struct batch {
	char *p;
	size_t len, cap;
	uint32_t seq0, seq;     /* seq0: BEGIN */
	char (*what)[WHAT_LEN]; /* by seq - seq0 */
	size_t cap_what;
	bool oom;
};

static char *batch_room(struct batch *b)
{
	if (b->oom)
		return NULL;
	if (b->cap - b->len < MSG_RESERVE) {
		size_t cap = b->cap ? b->cap * 2 : 4 * MSG_RESERVE;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = true;
			return NULL;
		}
		memset(p + b->len, 0, cap - b->len);
		b->p = p;
		b->cap = cap;
	}
	size_t idx = b->seq - b->seq0;
	if (idx >= b->cap_what) {
		size_t cap = b->cap_what ? b->cap_what * 2 : 64;
		void *w = realloc(b->what, cap * sizeof(*b->what));
		if (w == NULL) {
			b->oom = true;
			return NULL;
		}
		b->what = w;
		b->cap_what = cap;
	}
	return b->p + b->len;
}

static void batch_what(struct batch *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Describes the message about to get sequence number b->seq. */
static void batch_what(struct batch *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->what[b->seq - b->seq0], WHAT_LEN, fmt, ap);
	va_end(ap);
}

static void batch_commit(struct batch *b, struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->seq++;
}

static struct nlmsghdr *batch_msg(struct batch *b, uint16_t type, uint16_t flags)
{
	char *p = batch_room(b);
	if (p == NULL)
		return NULL;
	return nftnl_nlmsg_build_hdr(p, type, NFPROTO_INET, flags | NLM_F_ACK, b->seq);
}

static void batch_table(struct batch *b, uint16_t type, uint16_t flags, const char *userdata)
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

static void batch_chain(struct batch *b, const char *name, const char *type, uint32_t hook,
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

static void batch_rule(struct batch *b, const char *chain, struct rule *r, const char *what)
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

static void rule_zone(struct batch *b, const struct hnv_nat_tenant *t, const char *ifname, bool out)
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
	char what[WHAT_LEN];
	snprintf(what, sizeof(what), "tenant %s: %s \"%s\" ct zone set %u", t->name,
		 out ? "oifname" : "iifname", ifname, t->zone);
	batch_rule(b, out ? CHAIN_OUT : CHAIN_PRE, &r, what);
	nftnl_rule_free(r.r);
}

static void rule_snat(struct batch *b, const struct hnv_nat_tenant *t, const struct hnv_prefix *p)
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
	char what[WHAT_LEN], pfx[INET_ADDRSTRLEN], ext[INET_ADDRSTRLEN];
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
static void rules_netmap(struct batch *b, const struct hnv_nat_tenant *t,
			 const struct hnv_nat_netmap *m)
{
	char real[24], mapped[24], what[WHAT_LEN];
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
		snprintf(what, sizeof(what), "tenant %s: oifname \"%s\" ip saddr %s snat ip prefix to %s",
			 t->name, m->ifname, real, mapped);
		batch_rule(b, CHAIN_NM_SNAT, &r[0], what);
		e_ifname(&r[1], NFT_META_IIFNAME, m->ifname);
		e_addr_v4(&r[1], 16, &m->mapped);
		e_netmap(&r[1], NFT_NAT_DNAT, &m->real);
		snprintf(what, sizeof(what), "tenant %s: iifname \"%s\" ip daddr %s dnat ip prefix to %s",
			 t->name, m->ifname, mapped, real);
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
		snprintf(what, sizeof(what), "tenant %s: meta mark 0x%x ip saddr %s snat ip prefix to %s",
			 t->name, m->site_mark, real, mapped);
		batch_rule(b, CHAIN_NM_SNAT, &r[3], what);
	}
	for (int i = 0; i < 4; i++)
		if (r[i].r != NULL)
			nftnl_rule_free(r[i].r);
}

/* tenants NULL: only remove the table (flush). */
static int build(struct batch *b, const struct hnv_nat_tenant *t, size_t n, bool recreate,
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
			batch_chain(b, chains[c].name, chains[c].type, chains[c].hook,
				    chains[c].prio);
		for (size_t i = 0; i < n; i++) {
			for (size_t k = 0; tenant_if(&t[i], k) != NULL; k++) {
				rule_zone(b, &t[i], tenant_if(&t[i], k), false);
				rule_zone(b, &t[i], tenant_if(&t[i], k), true);
			}
			for (size_t k = 0; k < t[i].n_netmaps; k++)
				rules_netmap(b, &t[i], &t[i].netmaps[k]);
			if (!t[i].has_ext_addr)
				continue;
			for (size_t k = 0; k < t[i].n_prefixes; k++)
				if (prefix_is_v4(&t[i].prefixes[k]))
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
		errf(err, errlen, "nftables: out of memory building the batch for %zu tenants", n);
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
	struct batch b;
	rc = build(&b, t, n, true, seq, err, errlen);
	if (rc != 0)
		return rc;
	free(b.what);
	*buf = b.p;
	*len = b.len;
	return 0;
}

/* ---- the socket ---- */

int hnv_nat_open(struct hnv_nat **out, char *err, size_t errlen)
{
	struct hnv_nat *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		errf(err, errlen, "nat: out of memory");
		return -ENOMEM;
	}
	h->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (h->nl == NULL || mnl_socket_bind(h->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		errf(err, errlen, "nat: cannot open a netfilter netlink socket: %s", strerror(e));
		if (h->nl != NULL)
			mnl_socket_close(h->nl);
		free(h);
		return -e;
	}
	/* ACKs without the request copied in: a large batch's ACKs stay small. */
	int one = 1;
	mnl_socket_setsockopt(h->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	h->portid = mnl_socket_get_portid(h->nl);
	h->seq = (uint32_t)time(NULL);
	*out = h;
	return 0;
}

void hnv_nat_close(struct hnv_nat *h)
{
	if (h == NULL)
		return;
	mnl_socket_close(h->nl);
	free(h);
}

static void grow_sockbuf(struct hnv_nat *h, int opt, size_t want)
{
	int fd = mnl_socket_get_fd(h->nl);
	int cur = 0;
	socklen_t sl = sizeof(cur);
	if (getsockopt(fd, SOL_SOCKET, opt == SO_SNDBUFFORCE ? SO_SNDBUF : SO_RCVBUF, &cur, &sl) ==
		    0 &&
	    (size_t)cur >= want + 4096)
		return;
	int v = want > INT32_MAX / 2 ? INT32_MAX / 2 : (int)want;
	/* Best effort: without CAP_NET_ADMIN the send fails and says so. */
	(void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

/* Sends the batch and reads every reply the kernel queued while handling
 * it (nfnetlink processes a batch inside sendmsg). */
static int send_batch(struct hnv_nat *h, struct batch *b, char *err, size_t errlen)
{
	size_t n_msgs = b->seq - b->seq0;
	grow_sockbuf(h, SO_SNDBUFFORCE, b->len);
	/* one ACK per message, each an skb of well under 1 KiB truesize */
	grow_sockbuf(h, SO_RCVBUFFORCE, n_msgs * 1024 + 65536);
	if (mnl_socket_sendto(h->nl, b->p, b->len) < 0) {
		int e = errno;
		errf(err, errlen,
		     "nftables: cannot send the batch (%zu bytes) for table inet %s: %s", b->len,
		     HNV_NAT_TABLE, strerror(e));
		return -e;
	}
	size_t acked = 0;
	int first = 0;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int fd = mnl_socket_get_fd(h->nl);
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			int e = errno;
			errf(err, errlen,
			     "nftables: reading the replies to the batch for table inet %s: %s",
			     HNV_NAT_TABLE, strerror(e));
			return -e;
		}
		int left = (int)r;
		for (const struct nlmsghdr *nlh = (const void *)buf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			/* mnl_nlmsg_ok compares nlmsg_len as an int */
			if (nlh->nlmsg_len > (uint32_t)left)
				break;
			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct nlmsgerr))
				continue;
			struct nlmsgerr me;
			memcpy(&me, mnl_nlmsg_get_payload(nlh), sizeof(me));
			uint32_t idx = nlh->nlmsg_seq - b->seq0;
			if (nlh->nlmsg_pid != h->portid || idx >= n_msgs)
				continue; /* not about this batch */
			if (me.error == 0) {
				acked++;
				continue;
			}
			if (first == 0) {
				first = me.error < 0 ? me.error : -EPROTO;
				errf(err, errlen, "nftables: cannot %s: %s", b->what[idx],
				     strerror(-first));
			}
		}
	}
	if (first != 0)
		return first;
	if (acked != n_msgs - 2) {
		errf(err, errlen, "nftables: %zu of %zu changes to table inet %s acknowledged",
		     acked, n_msgs - 2, HNV_NAT_TABLE);
		return -EPROTO;
	}
	return 0;
}

/* ---- reading the table back ---- */

struct table_state {
	bool found;
	char userdata[128];
	size_t n_chains, n_other_chains;
	size_t rules[CH__COUNT], rules_other;
	bool oom;
};

/* The index of one of our chains, -1 for any other name (NULL too). */
static int chain_index(const char *name)
{
	for (int c = 0; name != NULL && c < CH__COUNT; c++)
		if (strcmp(name, chains[c].name) == 0)
			return c;
	return -1;
}

static int cb_table(const struct nlmsghdr *nlh, void *data)
{
	struct table_state *s = data;
	struct nftnl_table *t = nftnl_table_alloc();
	if (t == NULL) {
		s->oom = true;
		return MNL_CB_ERROR;
	}
	if (nftnl_table_nlmsg_parse(nlh, t) == 0 && nftnl_table_is_set(t, NFTNL_TABLE_NAME) &&
	    strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), HNV_NAT_TABLE) == 0) {
		s->found = true;
		uint32_t len = 0;
		const char *ud = nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len);
		if (ud != NULL && len > 0 && len < sizeof(s->userdata) && ud[len - 1] == '\0')
			memcpy(s->userdata, ud, len);
	}
	nftnl_table_free(t);
	return MNL_CB_OK;
}

static int cb_chain(const struct nlmsghdr *nlh, void *data)
{
	struct table_state *s = data;
	struct nftnl_chain *c = nftnl_chain_alloc();
	if (c == NULL) {
		s->oom = true;
		return MNL_CB_ERROR;
	}
	if (nftnl_chain_nlmsg_parse(nlh, c) == 0 && nftnl_chain_is_set(c, NFTNL_CHAIN_TABLE) &&
	    strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), HNV_NAT_TABLE) == 0) {
		const char *name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
		if (chain_index(name) >= 0)
			s->n_chains++;
		else
			s->n_other_chains++;
	}
	nftnl_chain_free(c);
	return MNL_CB_OK;
}

static int cb_rule(const struct nlmsghdr *nlh, void *data)
{
	struct table_state *s = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	if (r == NULL) {
		s->oom = true;
		return MNL_CB_ERROR;
	}
	if (nftnl_rule_nlmsg_parse(nlh, r) == 0 && nftnl_rule_is_set(r, NFTNL_RULE_TABLE) &&
	    strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), HNV_NAT_TABLE) == 0) {
		int c = chain_index(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
		if (c >= 0)
			s->rules[c]++;
		else
			s->rules_other++;
	}
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

/* Sends one request and runs cb over each reply message until the ACK or
 * DONE. Every message's nlmsg_len is checked against the bytes received
 * (libmnl's mnl_nlmsg_ok compares it as an int, so lengths of 2 GiB and
 * more would pass), so cb may trust nlmsg_len. */
static int talk(struct hnv_nat *h, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	if (mnl_socket_sendto(h->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	uint32_t seq = nlh->nlmsg_seq;
	char buf[32768]; /* a dump part fits (libmnl: MNL_SOCKET_DUMP_SIZE) */
	for (;;) {
		ssize_t r = mnl_socket_recvfrom(h->nl, buf, sizeof(buf));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		size_t off = 0;
		while (off + sizeof(struct nlmsghdr) <= (size_t)r) {
			const struct nlmsghdr *m = (const void *)(buf + off);
			if (m->nlmsg_len < sizeof(*m) || m->nlmsg_len > (size_t)r - off)
				return -EPROTO;
			off += NLMSG_ALIGN(m->nlmsg_len);
			if (m->nlmsg_pid != h->portid || m->nlmsg_seq != seq)
				continue; /* not ours: an earlier request's leftovers */
			if (m->nlmsg_type == NLMSG_DONE)
				return 0;
			if (m->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr e;
				if (m->nlmsg_len < NLMSG_HDRLEN + sizeof(e))
					return -EPROTO;
				memcpy(&e, (const char *)m + NLMSG_HDRLEN, sizeof(e));
				return e.error <= 0 ? e.error : -EPROTO;
			}
			if (m->nlmsg_type < NLMSG_MIN_TYPE)
				continue;
			if (cb(m, data) < MNL_CB_OK)
				return -ENOMEM;
		}
	}
}

static int read_table(struct hnv_nat *h, struct table_state *s, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	memset(s, 0, sizeof(*s));

	struct nftnl_table *t = nftnl_table_alloc();
	if (t == NULL || nftnl_table_set_str(t, NFTNL_TABLE_NAME, HNV_NAT_TABLE) < 0) {
		if (t != NULL)
			nftnl_table_free(t);
		errf(err, errlen, "nftables: out of memory");
		return -ENOMEM;
	}
	struct nlmsghdr *nlh =
		nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, h->seq++);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	int rc = talk(h, nlh, cb_table, s);
	if (rc == -ENOENT)
		return 0;
	if (rc != 0 || s->oom) {
		rc = rc != 0 ? rc : -ENOMEM;
		errf(err, errlen, "nftables: cannot read table inet %s: %s", HNV_NAT_TABLE,
		     strerror(-rc));
		return rc;
	}
	if (!s->found)
		return 0;

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_INET, NLM_F_DUMP, h->seq++);
	rc = talk(h, nlh, cb_chain, s);
	if (rc == 0 && !s->oom) {
		struct nftnl_rule *r = nftnl_rule_alloc();
		if (r == NULL || nftnl_rule_set_str(r, NFTNL_RULE_TABLE, HNV_NAT_TABLE) < 0) {
			if (r != NULL)
				nftnl_rule_free(r);
			s->oom = true;
		} else {
			nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP,
						    h->seq++);
			nftnl_rule_nlmsg_build_payload(nlh, r);
			nftnl_rule_free(r);
			rc = talk(h, nlh, cb_rule, s);
		}
	}
	if (rc != 0 || s->oom) {
		rc = rc != 0 ? rc : -ENOMEM;
		errf(err, errlen, "nftables: cannot list the chains and rules of table inet %s: %s",
		     HNV_NAT_TABLE, strerror(-rc));
		return rc;
	}
	return 0;
}

int hnv_nat_apply(struct hnv_nat *h, const struct hnv_nat_tenant *t, size_t n, bool *changed,
		  char *err, size_t errlen)
{
	if (changed != NULL)
		*changed = false;
	int rc = hnv_nat_validate(t, n, err, errlen);
	if (rc != 0)
		return rc;

	struct table_state s;
	rc = read_table(h, &s, err, errlen);
	if (rc != 0)
		return rc;
	char fp[64];
	hnv_nat_fingerprint(t, n, fp, sizeof(fp));
	size_t want[CH__COUNT] = {0};
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
	if (s.found && strcmp(s.userdata, fp) == 0 && s.n_chains == CH__COUNT &&
	    s.n_other_chains == 0 && memcmp(s.rules, want, sizeof(want)) == 0 && s.rules_other == 0)
		return 0;

	struct batch b;
	rc = build(&b, t, n, true, h->seq, err, errlen);
	if (rc != 0)
		return rc;
	h->seq = b.seq;
	rc = send_batch(h, &b, err, errlen);
	free(b.p);
	free(b.what);
	if (rc == 0 && changed != NULL)
		*changed = true;
	return rc;
}

int hnv_nat_flush(struct hnv_nat *h, char *err, size_t errlen)
{
	struct batch b;
	int rc = build(&b, NULL, 0, false, h->seq, err, errlen);
	if (rc != 0)
		return rc;
	h->seq = b.seq;
	rc = send_batch(h, &b, err, errlen);
	free(b.p);
	free(b.what);
	return rc;
}

/* ---- ctnetlink ---- */

/* A cursor over netlink attributes; every length is checked against what
 * is left before anything is read. */
struct acur {
	const uint8_t *p;
	size_t left;
};

struct attr {
	uint16_t type;
	const uint8_t *data;
	size_t len;
};

/* 1 and *a, 0 at the end, -EINVAL for a malformed attribute. */
static int attr_next(struct acur *c, struct attr *a)
{
	if (c->left == 0)
		return 0;
	struct nlattr h;
	if (c->left < sizeof(h))
		return -EINVAL;
	memcpy(&h, c->p, sizeof(h));
	if (h.nla_len < sizeof(h) || h.nla_len > c->left)
		return -EINVAL;
	a->type = h.nla_type & NLA_TYPE_MASK;
	a->data = c->p + sizeof(h);
	a->len = h.nla_len - sizeof(h);
	size_t step = NLA_ALIGN(h.nla_len);
	if (step > c->left)
		step = c->left; /* the last attribute may lack its padding */
	c->p += step;
	c->left -= step;
	return 1;
}

static struct acur nested(const struct attr *a)
{
	return (struct acur){a->data, a->len};
}

static int get_u8(const struct attr *a, uint8_t *v)
{
	if (a->len != 1)
		return -EINVAL;
	*v = a->data[0];
	return 0;
}

static int get_be16(const struct attr *a, uint16_t *v)
{
	if (a->len != 2)
		return -EINVAL;
	uint16_t x;
	memcpy(&x, a->data, 2);
	*v = ntohs(x);
	return 0;
}

static int get_be32(const struct attr *a, uint32_t *v)
{
	if (a->len != 4)
		return -EINVAL;
	uint32_t x;
	memcpy(&x, a->data, 4);
	*v = ntohl(x);
	return 0;
}

struct tuple {
	int family; /* 0 until an address is seen */
	bool has_src, has_dst, has_proto;
	struct hnv_ip src, dst;
	uint8_t proto;
	uint16_t sport, dport, icmp_id;
	uint8_t icmp_type, icmp_code;
};

static int set_addr(struct tuple *t, const struct attr *a, int family, struct hnv_ip *dst,
		    bool *has)
{
	if (a->len != (family == AF_INET ? 4u : 16u) || (t->family != 0 && t->family != family))
		return -EINVAL;
	t->family = family;
	if (family == AF_INET)
		hnv_ip_from_v4(dst, a->data);
	else
		memcpy(dst->b, a->data, 16);
	*has = true;
	return 0;
}

static int parse_tuple_ip(const struct attr *outer, struct tuple *t)
{
	struct acur c = nested(outer);
	struct attr a;
	int rc;
	while ((rc = attr_next(&c, &a)) == 1) {
		switch (a.type) {
		case CTA_IP_V4_SRC:
			rc = set_addr(t, &a, AF_INET, &t->src, &t->has_src);
			break;
		case CTA_IP_V4_DST:
			rc = set_addr(t, &a, AF_INET, &t->dst, &t->has_dst);
			break;
		case CTA_IP_V6_SRC:
			rc = set_addr(t, &a, AF_INET6, &t->src, &t->has_src);
			break;
		case CTA_IP_V6_DST:
			rc = set_addr(t, &a, AF_INET6, &t->dst, &t->has_dst);
			break;
		default:
			rc = 0;
			break;
		}
		if (rc != 0)
			return rc;
	}
	return rc;
}

static int parse_tuple_proto(const struct attr *outer, struct tuple *t)
{
	struct acur c = nested(outer);
	struct attr a;
	int rc;
	while ((rc = attr_next(&c, &a)) == 1) {
		switch (a.type) {
		case CTA_PROTO_NUM:
			rc = get_u8(&a, &t->proto);
			t->has_proto = rc == 0;
			break;
		case CTA_PROTO_SRC_PORT:
			rc = get_be16(&a, &t->sport);
			break;
		case CTA_PROTO_DST_PORT:
			rc = get_be16(&a, &t->dport);
			break;
		case CTA_PROTO_ICMP_ID:
		case CTA_PROTO_ICMPV6_ID:
			rc = get_be16(&a, &t->icmp_id);
			break;
		case CTA_PROTO_ICMP_TYPE:
		case CTA_PROTO_ICMPV6_TYPE:
			rc = get_u8(&a, &t->icmp_type);
			break;
		case CTA_PROTO_ICMP_CODE:
		case CTA_PROTO_ICMPV6_CODE:
			rc = get_u8(&a, &t->icmp_code);
			break;
		default:
			rc = 0;
			break;
		}
		if (rc != 0)
			return rc;
	}
	return rc;
}

static int parse_tuple(const struct attr *outer, struct tuple *t)
{
	struct acur c = nested(outer);
	struct attr a;
	int rc;
	while ((rc = attr_next(&c, &a)) == 1) {
		if (a.type == CTA_TUPLE_IP)
			rc = parse_tuple_ip(&a, t);
		else if (a.type == CTA_TUPLE_PROTO)
			rc = parse_tuple_proto(&a, t);
		else
			rc = 0;
		if (rc != 0)
			return rc;
	}
	if (rc != 0)
		return rc;
	return t->has_src && t->has_dst && t->has_proto ? 0 : -EINVAL;
}

/* CTA_PROTOINFO { CTA_PROTOINFO_TCP { CTA_PROTOINFO_TCP_STATE } } */
static int parse_protoinfo(const struct attr *outer, int *tcp_state)
{
	struct acur c = nested(outer);
	struct attr a;
	int rc;
	while ((rc = attr_next(&c, &a)) == 1) {
		if (a.type != CTA_PROTOINFO_TCP)
			continue;
		struct acur ci = nested(&a);
		struct attr b;
		while ((rc = attr_next(&ci, &b)) == 1) {
			if (b.type != CTA_PROTOINFO_TCP_STATE)
				continue;
			uint8_t st;
			if (get_u8(&b, &st) != 0)
				return -EINVAL;
			*tcp_state = st;
		}
		if (rc != 0)
			return rc;
	}
	return rc;
}

static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

int hnv_nat_parse_ct(const void *msg, size_t len, struct hnv_nat_ct *out)
{
	struct nlmsghdr nh;
	struct nfgenmsg g;
	const size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(g));
	if (len < sizeof(nh))
		return -EINVAL;
	memcpy(&nh, msg, sizeof(nh));
	if (nh.nlmsg_len < off || nh.nlmsg_len > len)
		return -EINVAL;
	if (nh.nlmsg_type != ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW))
		return -ENOENT;
	memcpy(&g, (const uint8_t *)msg + NLMSG_HDRLEN, sizeof(g));

	struct tuple orig = {0}, reply = {0};
	bool has_orig = false, has_reply = false;
	int tcp_state = -1;
	memset(out, 0, sizeof(*out));
	struct acur c = {(const uint8_t *)msg + off, nh.nlmsg_len - off};
	struct attr a;
	int rc;
	while ((rc = attr_next(&c, &a)) == 1) {
		switch (a.type) {
		case CTA_TUPLE_ORIG:
			memset(&orig, 0, sizeof(orig));
			rc = parse_tuple(&a, &orig);
			has_orig = rc == 0;
			break;
		case CTA_TUPLE_REPLY:
			memset(&reply, 0, sizeof(reply));
			rc = parse_tuple(&a, &reply);
			has_reply = rc == 0;
			break;
		case CTA_STATUS:
			rc = get_be32(&a, &out->status);
			break;
		case CTA_TIMEOUT:
			rc = get_be32(&a, &out->timeout);
			break;
		case CTA_ZONE:
			rc = get_be16(&a, &out->zone);
			break;
		case CTA_PROTOINFO:
			rc = parse_protoinfo(&a, &tcp_state);
			break;
		default:
			rc = 0;
			break;
		}
		if (rc != 0)
			return -EINVAL;
	}
	if (rc != 0 || !has_orig || !has_reply || orig.family != reply.family ||
	    orig.proto != reply.proto)
		return -EINVAL;
	if (g.nfgen_family != AF_UNSPEC && g.nfgen_family != orig.family)
		return -EINVAL;

	out->family = (uint8_t)orig.family;
	out->proto = orig.proto;
	out->src = orig.src;
	out->dst = orig.dst;
	out->tsrc = reply.dst;
	out->tdst = reply.src;
	out->dnat = !hnv_ip_eq(&out->dst, &out->tdst);
	if (is_icmp(orig.proto)) {
		out->sport = orig.icmp_id;
		out->tsport = reply.icmp_id;
		out->icmp_type = orig.icmp_type;
		out->icmp_code = orig.icmp_code;
	} else {
		out->sport = orig.sport;
		out->dport = orig.dport;
		out->tsport = reply.dport;
	}
	out->snat = !hnv_ip_eq(&out->src, &out->tsrc) || out->sport != out->tsport;

	static const char *const tcp_names[] = {
		"NONE",       "SYN_SENT", "SYN_RECV",  "ESTABLISHED", "FIN_WAIT",
		"CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",       "SYN_SENT2",
	};
	const char *st;
	if (orig.proto == IPPROTO_TCP && tcp_state >= 0 &&
	    (size_t)tcp_state < sizeof(tcp_names) / sizeof(tcp_names[0]))
		st = tcp_names[tcp_state];
	else if (out->status & IPS_ASSURED)
		st = "ASSURED";
	else if (out->status & IPS_SEEN_REPLY)
		st = "REPLIED";
	else
		st = "UNREPLIED";
	snprintf(out->state, sizeof(out->state), "%s", st);
	return 0;
}

static void fmt_addr(const struct hnv_ip *ip, int family, char *buf, size_t len)
{
	if (family == AF_INET)
		inet_ntop(AF_INET, ip->b + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, ip->b, buf, (socklen_t)len);
}

void hnv_nat_ct_format(const struct hnv_nat_ct *ct, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], ts[INET6_ADDRSTRLEN], pn[8];
	char td[INET6_ADDRSTRLEN + 4] = "";
	if (ct->dnat) {
		memcpy(td, " to ", 5);
		fmt_addr(&ct->tdst, ct->family, td + 4, sizeof(td) - 4);
	}
	fmt_addr(&ct->src, ct->family, s, sizeof(s));
	fmt_addr(&ct->dst, ct->family, d, sizeof(d));
	fmt_addr(&ct->tsrc, ct->family, ts, sizeof(ts));
	const char *proto = ct->proto == IPPROTO_TCP      ? "tcp"
			    : ct->proto == IPPROTO_UDP    ? "udp"
			    : ct->proto == IPPROTO_ICMP   ? "icmp"
			    : ct->proto == IPPROTO_ICMPV6 ? "icmpv6"
							  : NULL;
	if (proto == NULL) {
		snprintf(pn, sizeof(pn), "%u", ct->proto);
		proto = pn;
	}
	bool v6 = ct->family == AF_INET6;
	if (is_icmp(ct->proto))
		snprintf(buf, len,
			 "%s %s id %u -> %s type %u code %u as %s id %u%s zone %u %s %" PRIu32 "s",
			 proto, s, ct->sport, d, ct->icmp_type, ct->icmp_code, ts, ct->tsport, td,
			 ct->zone, ct->state, ct->timeout);
	else
		snprintf(buf, len, "%s %s%s%s:%u -> %s%s%s:%u as %s%s%s:%u%s zone %u %s %" PRIu32 "s",
			 proto, v6 ? "[" : "", s, v6 ? "]" : "", ct->sport, v6 ? "[" : "", d,
			 v6 ? "]" : "", ct->dport, v6 ? "[" : "", ts, v6 ? "]" : "", ct->tsport, td,
			 ct->zone, ct->state, ct->timeout);
}

struct list_ctx {
	const struct hnv_nat_tenant *t;
	size_t n;
	hnv_nat_list_cb cb;
	void *arg;
	bool bad;
};

static int cb_ct(const struct nlmsghdr *nlh, void *data)
{
	struct list_ctx *l = data;
	struct hnv_nat_ct ct;
	int rc = hnv_nat_parse_ct(nlh, nlh->nlmsg_len, &ct);
	if (rc == -ENOENT)
		return MNL_CB_OK;
	if (rc != 0) {
		l->bad = true;
		return MNL_CB_OK;
	}
	for (size_t i = 0; i < l->n; i++)
		if (l->t[i].zone == ct.zone) {
			l->cb(l->t[i].name, &ct, l->arg);
			break;
		}
	return MNL_CB_OK;
}

int hnv_nat_list(struct hnv_nat *h, const struct hnv_nat_tenant *t, size_t n, hnv_nat_list_cb cb,
		 void *arg, char *err, size_t errlen)
{
	if (n > 0 && t == NULL) {
		errf(err, errlen, "%zu tenants but no list", n);
		return -EINVAL;
	}
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = h->seq++;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	struct list_ctx l = {t, n, cb, arg, false};
	int rc = talk(h, nlh, cb_ct, &l);
	if (rc != 0) {
		errf(err, errlen, "conntrack: cannot dump the connection table: %s", strerror(-rc));
		return rc;
	}
	if (l.bad) {
		errf(err, errlen, "conntrack: the kernel sent a malformed entry in the dump");
		return -EPROTO;
	}
	return 0;
}
