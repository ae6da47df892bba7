/* gw_bgp.c: `show bgp-peers`: the tenants' BGP neighbors as configured
 * (the gateways' --bgp-peer and the named peers with their filters) and as
 * bgpd reports them (gateway/bgp_show.c). */
#include "gw_int.h"

#include "../lib/addr.h"
#include "../lib/vec.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct states {
	struct hnv_bgp_peer_state *s;
	size_t n, cap;
};

static void keep_state(void *arg, const struct hnv_bgp_peer_state *s)
{
	struct states *st = arg;
	if (HNV_GROW(st->s, st->cap, st->n + 1) == 0)
		st->s[st->n++] = *s;
}

static const struct hnv_bgp_peer_state *find_state(const struct states *st, const char *vrf,
						   const char *addr)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->s[i].vrf, vrf) == 0 && strcmp(st->s[i].addr, addr) == 0)
			return &st->s[i];
	return NULL;
}

static json_object *count(long long n)
{
	return n < 0 ? NULL : json_object_new_int64(n);
}

/* A filter as the config text writes it, entries joined by spaces. */
static void filter_text(struct hnv_buf *b, const struct hnv_bgp_match *m, unsigned n)
{
	char a[INET6_ADDRSTRLEN];
	for (unsigned i = 0; i < n; i++) {
		hnv_fmt_ip(&m[i].prefix.addr, a, sizeof(a));
		hnv_buf_printf(b, "%s%s/%u", i ? " " : "", a, m[i].prefix.len);
		if (m[i].ge)
			hnv_buf_printf(b, ",ge=%u", m[i].ge);
		if (m[i].le)
			hnv_buf_printf(b, ",le=%u", m[i].le);
	}
}

static void add_row(json_object *rows, const struct tenant *t, const char *name,
		    const struct hnv_ip *addr, uint32_t asn, const char *in, const char *out,
		    const struct states *st, bool have_state, const char *why)
{
	char a[INET6_ADDRSTRLEN];
	hnv_fmt_ip(addr, a, sizeof(a));
	const struct hnv_bgp_peer_state *s = find_state(st, t->vrf, a);
	json_object *r = json_object_new_object();
	json_object_object_add(r, "rdomain", json_object_new_string(t->c.rdomain));
	json_object_object_add(r, "peer", json_object_new_string(name));
	json_object_object_add(r, "address", json_object_new_string(a));
	json_object_object_add(r, "asn", json_object_new_int64(asn));
	json_object_object_add(r, "in", json_object_new_string(in));
	json_object_object_add(r, "out", json_object_new_string(out));
	const char *state = s ? s->state : have_state ? "not in bgpd" : why;
	json_object_object_add(r, "state", json_object_new_string(state));
	json_object_object_add(r, "received", s ? count(s->received) : NULL);
	json_object_object_add(r, "accepted", s ? count(s->accepted) : NULL);
	json_object_object_add(r, "announced", s ? count(s->announced) : NULL);
	json_object_array_add(rows, r);
}

json_object *hnv_gw_show_bgp_peers(const struct hnv_gw *g)
{
	json_object *rows = json_object_new_array();
	const struct desired *d = g ? g->d : NULL;
	bool any = false;
	for (unsigned i = 0; d && i < d->n_gw; i++)
		any |= d->gw[i].c.bgp_asn != 0;
	if (!any)
		return rows;
	struct states st = {0};
	char err[256] = "";
	bool have = hnv_bgp_neighbors(&g->bgp_opts, keep_state, &st, err, sizeof(err)) >= 0;
	for (unsigned i = 0; i < d->n_gw; i++) {
		const struct tenant *t = &d->gw[i];
		if (!t->c.bgp_asn)
			continue;
		if (!hnv_ip_is_unspec(&t->c.bgp_peer))
			add_row(rows, t, "(gateway --bgp-peer)", &t->c.bgp_peer, t->c.bgp_peer_asn,
				"any (no filter)", "any (no filter)", &st, have, err);
		for (unsigned j = 0; j < d->n_peers; j++) {
			const struct hnv_gw_bgp_peer *p = &d->peers[j];
			if (strcmp(p->rdomain, t->c.rdomain) != 0)
				continue;
			struct hnv_buf in = {0}, out = {0};
			if (p->n_in)
				filter_text(&in, p->in, p->n_in);
			else
				hnv_buf_puts(&in, "none (learns nothing: no --prefix-in)");
			if (p->n_out)
				filter_text(&out, p->out, p->n_out);
			else
				hnv_buf_puts(&out, "own prefixes");
			add_row(rows, t, p->name, &p->addr, p->asn, in.p ? in.p : "",
				out.p ? out.p : "", &st, have, err);
			hnv_buf_free(&in, false);
			hnv_buf_free(&out, false);
		}
	}
	free(st.s);
	return rows;
}
