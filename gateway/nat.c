/* nat.c: table inet hnvgw: the tenant list checked, conntrack zones, the
 * batch (nat_batch.c) sent and acknowledged, the table read back; and the
 * tenants' translations (conntrack.h). See nat.h for the contracts.
 */
#include "nat_int.h"

#include "../lib/err.h"
#include "../lib/nl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct hnv_nat {
	struct hnv_nl nl; /* NETLINK_NETFILTER: nftables and ctnetlink */
};

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

static int validate_tenant(const struct hnv_nat_tenant *t, size_t idx, char *err, size_t errlen)
{
	if (t->name == NULL || t->name[0] == '\0' || strlen(t->name) > HNV_NAME_MAX) {
		hnv_seterr(err, errlen, "tenant %zu: name must be 1..%d characters", idx,
			   HNV_NAME_MAX);
		return -EINVAL;
	}
	if (t->zone == 0) {
		hnv_seterr(err, errlen, "tenant %s: conntrack zone 0 is out of range (1..65535)",
			   t->name);
		return -EINVAL;
	}
	if (t->n_ifs > 0 && t->ifs == NULL) {
		hnv_seterr(err, errlen, "tenant %s: %zu interfaces but no list", t->name, t->n_ifs);
		return -EINVAL;
	}
	for (size_t i = 0; i < t->n_ifs; i++) {
		if (!ifname_ok(t->ifs[i])) {
			hnv_seterr(err, errlen, "tenant %s: bad interface name \"%s\"", t->name,
				   t->ifs[i] != NULL ? t->ifs[i] : "(null)");
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(t->ifs[i], t->ifs[j]) == 0) {
				hnv_seterr(err, errlen, "tenant %s: interface %s listed twice",
					   t->name, t->ifs[i]);
				return -EINVAL;
			}
	}
	if (nat_has_ext_if(t) && !ifname_ok(t->ext_if)) {
		hnv_seterr(err, errlen, "tenant %s: bad external interface name \"%s\"", t->name,
			   t->ext_if);
		return -EINVAL;
	}
	if (t->has_ext_addr) {
		if (!nat_has_ext_if(t)) {
			hnv_seterr(err, errlen,
				   "tenant %s: an external address needs an external interface",
				   t->name);
			return -EINVAL;
		}
		if (!hnv_ip_is_v4(&t->ext_addr) || hnv_ip_is_unspec(&t->ext_addr)) {
			char a[INET6_ADDRSTRLEN];
			inet_ntop(AF_INET6, t->ext_addr.b, a, sizeof(a));
			hnv_seterr(err, errlen,
				   "tenant %s: external address %s is not a unicast IPv4 address",
				   t->name, a);
			return -EINVAL;
		}
	}
	if (t->n_netmaps > 0 && t->netmaps == NULL) {
		hnv_seterr(err, errlen, "tenant %s: %zu netmaps but no list", t->name,
			   t->n_netmaps);
		return -EINVAL;
	}
	for (size_t i = 0; i < t->n_netmaps; i++) {
		const struct hnv_nat_netmap *m = &t->netmaps[i];
		bool known = false;
		for (size_t k = 0; m->ifname != NULL && k < t->n_ifs; k++)
			known |= strcmp(t->ifs[k], m->ifname) == 0;
		if (!known) {
			hnv_seterr(err, errlen,
				   "tenant %s: netmap %zu is on \"%s\", not an interface of the "
				   "tenant",
				   t->name, i, m->ifname != NULL ? m->ifname : "(null)");
			return -EINVAL;
		}
		if (!hnv_ip_is_v4(&m->real.addr) || !hnv_ip_is_v4(&m->mapped.addr) ||
		    m->real.len != m->mapped.len || m->real.len > 32) {
			hnv_seterr(
				err, errlen,
				"tenant %s: netmap %zu on %s needs two IPv4 prefixes of one length",
				t->name, i, m->ifname);
			return -EINVAL;
		}
		if (m->remote != (m->mark != 0) || m->remote != (m->site_mark != 0) ||
		    (m->remote && m->mark == m->site_mark)) {
			hnv_seterr(err, errlen, "tenant %s: netmap %zu on %s: %s", t->name, i,
				   m->ifname,
				   m->remote ? "a remote netmap needs two distinct marks"
					     : "a local netmap takes no mark");
			return -EINVAL;
		}
	}
	if (t->n_prefixes > 0 && t->prefixes == NULL) {
		hnv_seterr(err, errlen, "tenant %s: %zu prefixes but no list", t->name,
			   t->n_prefixes);
		return -EINVAL;
	}
	for (size_t i = 0; i < t->n_prefixes; i++) {
		const struct hnv_prefix *p = &t->prefixes[i];
		if (p->len > (hnv_ip_is_v4(&p->addr) ? 32 : 128)) {
			hnv_seterr(err, errlen, "tenant %s: prefix %zu has length %u", t->name, i,
				   p->len);
			return -EINVAL;
		}
	}
	return 0;
}

/* An interface of a tenant, for the check that no two tenants share one. */
struct if_ref {
	const char *name;
	size_t tenant;
};

static int cmp_if_ref(const void *a, const void *b)
{
	const struct if_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->tenant > y->tenant) - (x->tenant < y->tenant);
}

static int cmp_idx_by_name(const void *a, const void *b, void *arg)
{
	const struct hnv_nat_tenant *t = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(t[x].name, t[y].name);
	return c ? c : (x > y) - (x < y);
}

static int cmp_idx_by_zone(const void *a, const void *b, void *arg)
{
	const struct hnv_nat_tenant *t = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = (t[x].zone > t[y].zone) - (t[x].zone < t[y].zone);
	return c ? c : (x > y) - (x < y);
}

/* Names, zones and interfaces unique among the tenants: sorted and
 * compared with their neighbours (a comparison of every pair was
 * quadratic: 2.4 s for 4,000 tenants natively). */
int hnv_nat_validate(const struct hnv_nat_tenant *t, size_t n, char *err, size_t errlen)
{
	if (n > 0 && t == NULL) {
		hnv_seterr(err, errlen, "%zu tenants but no list", n);
		return -EINVAL;
	}
	size_t n_ifs = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = validate_tenant(&t[i], i, err, errlen);
		if (rc != 0)
			return rc;
		for (size_t a = 0; nat_tenant_if(&t[i], a) != NULL; a++)
			n_ifs++;
	}
	size_t *idx = calloc(n + 1, sizeof(*idx));
	struct if_ref *ifs = calloc(n_ifs + 1, sizeof(*ifs));
	if (idx == NULL || ifs == NULL) {
		free(idx);
		free(ifs);
		hnv_seterr(err, errlen, "out of memory checking %zu tenants", n);
		return -ENOMEM;
	}
	int rc = 0;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_idx_by_name, (void *)t);
	for (size_t k = 1; k < n && rc == 0; k++)
		if (strcmp(t[idx[k - 1]].name, t[idx[k]].name) == 0) {
			hnv_seterr(err, errlen, "tenant %s is listed twice", t[idx[k]].name);
			rc = -EINVAL;
		}
	if (rc == 0)
		qsort_r(idx, n, sizeof(*idx), cmp_idx_by_zone, (void *)t);
	for (size_t k = 1; k < n && rc == 0; k++)
		if (t[idx[k - 1]].zone == t[idx[k]].zone) {
			hnv_seterr(err, errlen, "tenants %s and %s both use conntrack zone %u",
				   t[idx[k - 1]].name, t[idx[k]].name, t[idx[k]].zone);
			rc = -EINVAL;
		}
	/* An interface in two tenants would give its traffic two zones. */
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t a = 0; nat_tenant_if(&t[i], a) != NULL; a++)
			ifs[m++] = (struct if_ref){nat_tenant_if(&t[i], a), i};
	if (rc == 0)
		qsort(ifs, m, sizeof(*ifs), cmp_if_ref);
	for (size_t k = 1; k < m && rc == 0; k++)
		if (strcmp(ifs[k - 1].name, ifs[k].name) == 0 &&
		    ifs[k - 1].tenant != ifs[k].tenant) {
			hnv_seterr(err, errlen, "interface %s is in tenants %s and %s", ifs[k].name,
				   t[ifs[k - 1].tenant].name, t[ifs[k].tenant].name);
			rc = -EINVAL;
		}
	free(idx);
	free(ifs);
	return rc;
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
		hnv_seterr(err, errlen, "out of memory for %zu conntrack zones", n);
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
			hnv_seterr(err, errlen, "VRF table 0 has no conntrack zone");
			rc = -EINVAL;
		} else if (k > 0 && tables[idx[k - 1]] == tb) {
			hnv_seterr(err, errlen, "VRF table %" PRIu32 " is listed twice", tb);
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
			hnv_seterr(err, errlen, "no conntrack zone left for VRF table %" PRIu32,
				   tb);
			rc = -ENOSPC;
			break;
		}
		zones[idx[k]] = (uint16_t)next--;
	}
	free(used);
	free(idx);
	return rc;
}

/* ---- the socket ---- */

int hnv_nat_open(struct hnv_nat **out, char *err, size_t errlen)
{
	struct hnv_nat *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		hnv_seterr(err, errlen, "nat: out of memory");
		return -ENOMEM;
	}
	int rc = hnv_nl_open(&h->nl, NETLINK_NETFILTER);
	if (rc < 0) {
		hnv_seterr(err, errlen, "nat: cannot open a netfilter netlink socket: %s",
			   strerror(-rc));
		free(h);
		return rc;
	}
	/* ACKs without the request copied in: a large batch's ACKs stay small. */
	int one = 1;
	mnl_socket_setsockopt(h->nl.sock, NETLINK_CAP_ACK, &one, sizeof(one));
	*out = h;
	return 0;
}

void hnv_nat_close(struct hnv_nat *h)
{
	if (h == NULL)
		return;
	hnv_nl_close(&h->nl);
	free(h);
}

static void grow_sockbuf(struct hnv_nat *h, int opt, size_t want)
{
	int fd = hnv_nl_fd(&h->nl);
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
static int send_batch(struct hnv_nat *h, struct nat_batch *b, char *err, size_t errlen)
{
	size_t n_msgs = b->seq - b->seq0;
	grow_sockbuf(h, SO_SNDBUFFORCE, b->len);
	/* one ACK per message, each an skb of well under 1 KiB truesize */
	grow_sockbuf(h, SO_RCVBUFFORCE, n_msgs * 1024 + 65536);
	if (mnl_socket_sendto(h->nl.sock, b->p, b->len) < 0) {
		int e = errno;
		hnv_seterr(err, errlen,
			   "nftables: cannot send the batch (%zu bytes) for table inet %s: %s",
			   b->len, HNV_NAT_TABLE, strerror(e));
		return -e;
	}
	size_t acked = 0;
	int first = 0;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int fd = hnv_nl_fd(&h->nl);
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			int e = errno;
			hnv_seterr(
				err, errlen,
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
			if (nlh->nlmsg_pid != h->nl.portid || idx >= n_msgs)
				continue; /* not about this batch */
			if (me.error == 0) {
				acked++;
				continue;
			}
			if (first == 0) {
				first = me.error < 0 ? me.error : -EPROTO;
				hnv_seterr(err, errlen, "nftables: cannot %s: %s", b->what[idx],
					   strerror(-first));
			}
		}
	}
	if (first != 0)
		return first;
	if (acked != n_msgs - 2) {
		hnv_seterr(err, errlen,
			   "nftables: %zu of %zu changes to table inet %s acknowledged", acked,
			   n_msgs - 2, HNV_NAT_TABLE);
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
		if (strcmp(name, nat_chains[c].name) == 0)
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

/* Reads what table inet hnvgw holds into s (requests numbered by
 * hnv_nl_talk). 0; -EINTR when a dump was interrupted (someone changed
 * the ruleset meanwhile: s is not to be trusted); or -errno with err. */
static int read_table(struct hnv_nat *h, struct table_state *s, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	memset(s, 0, sizeof(*s));

	struct nftnl_table *t = nftnl_table_alloc();
	if (t == NULL || nftnl_table_set_str(t, NFTNL_TABLE_NAME, HNV_NAT_TABLE) < 0) {
		if (t != NULL)
			nftnl_table_free(t);
		hnv_seterr(err, errlen, "nftables: out of memory");
		return -ENOMEM;
	}
	struct nlmsghdr *nlh =
		nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, 0);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	int rc = hnv_nl_talk(&h->nl, nlh, cb_table, s);
	if (rc == -ENOENT)
		return 0;
	if (rc != 0 || s->oom) {
		rc = rc != 0 ? rc : -ENOMEM;
		hnv_seterr(err, errlen, "nftables: cannot read table inet %s: %s", HNV_NAT_TABLE,
			   strerror(-rc));
		return rc;
	}
	if (!s->found)
		return 0;

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_INET, NLM_F_DUMP, 0);
	rc = hnv_nl_talk(&h->nl, nlh, cb_chain, s);
	if (rc == 0 && !s->oom) {
		struct nftnl_rule *r = nftnl_rule_alloc();
		if (r == NULL || nftnl_rule_set_str(r, NFTNL_RULE_TABLE, HNV_NAT_TABLE) < 0) {
			if (r != NULL)
				nftnl_rule_free(r);
			s->oom = true;
		} else {
			nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP,
						    0);
			nftnl_rule_nlmsg_build_payload(nlh, r);
			nftnl_rule_free(r);
			rc = hnv_nl_talk(&h->nl, nlh, cb_rule, s);
		}
	}
	if (rc == -EINTR)
		return rc;
	if (rc != 0 || s->oom) {
		rc = rc != 0 ? rc : -ENOMEM;
		hnv_seterr(err, errlen,
			   "nftables: cannot list the chains and rules of table inet %s: %s",
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
	if (rc == -EINTR)
		s.found = false; /* changed while read: replace it */
	else if (rc != 0)
		return rc;
	char fp[64];
	hnv_nat_fingerprint(t, n, fp, sizeof(fp));
	size_t want[CH__COUNT];
	nat_rule_counts(t, n, want);
	if (s.found && strcmp(s.userdata, fp) == 0 && s.n_chains == CH__COUNT &&
	    s.n_other_chains == 0 && memcmp(s.rules, want, sizeof(want)) == 0 && s.rules_other == 0)
		return 0;

	struct nat_batch b;
	rc = nat_build(&b, t, n, true, h->nl.seq, err, errlen);
	if (rc != 0)
		return rc;
	h->nl.seq = b.seq;
	rc = send_batch(h, &b, err, errlen);
	free(b.p);
	free(b.what);
	if (rc == 0 && changed != NULL)
		*changed = true;
	return rc;
}

int hnv_nat_flush(struct hnv_nat *h, char *err, size_t errlen)
{
	struct nat_batch b;
	int rc = nat_build(&b, NULL, 0, false, h->nl.seq, err, errlen);
	if (rc != 0)
		return rc;
	h->nl.seq = b.seq;
	rc = send_batch(h, &b, err, errlen);
	free(b.p);
	free(b.what);
	return rc;
}

struct list_ctx {
	const struct hnv_nat_tenant *t;
	size_t n;
	hnv_nat_list_cb cb;
	void *arg;
};

static void list_entry(const struct hnv_ct *ct, void *arg)
{
	const struct list_ctx *l = arg;
	for (size_t i = 0; i < l->n; i++)
		if (l->t[i].zone == ct->zone) {
			l->cb(l->t[i].name, ct, l->arg);
			break;
		}
}

int hnv_nat_list(struct hnv_nat *h, const struct hnv_nat_tenant *t, size_t n, hnv_nat_list_cb cb,
		 void *arg, char *err, size_t errlen)
{
	if (n > 0 && t == NULL) {
		hnv_seterr(err, errlen, "%zu tenants but no list", n);
		return -EINVAL;
	}
	struct list_ctx l = {t, n, cb, arg};
	return hnv_ct_dump(&h->nl, list_entry, &l, err, errlen);
}
