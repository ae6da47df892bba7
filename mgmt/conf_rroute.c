/* conf_rroute.c: overlapping routes of a routing domain's tunnels and
 * connections (conf_rroute.h). */
#include "conf_rroute.h"

#include "../lib/addr.h"
#include "../lib/err.h"

#include <arpa/inet.h>
#include <errno.h>

/* p lies inside outer. */
static bool within(const struct hnv_prefix *outer, const struct hnv_prefix *p)
{
	return outer->len <= p->len && hnv_prefix_contains(outer, &p->addr);
}

void hnv_conf_s2s_rroutes(const struct hnv_conf_s2s *s, struct hnv_conf_rroutes *out)
{
	unsigned nr = s->n_remote < HNV_S2S_REMOTE_MAX ? s->n_remote : HNV_S2S_REMOTE_MAX;
	unsigned nm =
		s->n_remote_netmap < HNV_S2S_NETMAP_MAX ? s->n_remote_netmap : HNV_S2S_NETMAP_MAX;
	out->n = 0;
	for (unsigned i = 0; i < nr; i++) {
		bool mapped = false;
		for (unsigned k = 0; k < nm && !mapped; k++)
			mapped = within(&s->remote_netmap[k].real, &s->remote[i]);
		if (!mapped)
			out->p[out->n++] = s->remote[i];
	}
	for (unsigned k = 0; k < nm; k++)
		out->p[out->n++] = s->remote_netmap[k].mapped;
}

void hnv_conf_conn_rroutes(const struct hnv_conf_conn *c, struct hnv_conf_rroutes *out)
{
	unsigned nr = c->n_remote < HNV_CONN_REMOTE_MAX ? c->n_remote : HNV_CONN_REMOTE_MAX;
	out->n = 0;
	for (unsigned i = 0; i < nr; i++)
		out->p[out->n++] = c->remote[i];
	if (c->type == HNV_CONN_L3 && nr == 0) {
		struct hnv_prefix d = {.len = 0};
		if (hnv_ip_is_v4(&c->nexthop))
			d.addr.b[10] = d.addr.b[11] = 0xff; /* 0.0.0.0, IPv4-mapped */
		out->p[out->n++] = d;
	}
}

static bool overlap(const struct hnv_prefix *a, const struct hnv_prefix *b)
{
	if (hnv_ip_is_v4(&a->addr) != hnv_ip_is_v4(&b->addr))
		return false;
	if (a->len == 0 || b->len == 0)
		return a->len == b->len;
	return within(a, b) || within(b, a);
}

int hnv_conf_rroutes_clash(const struct hnv_conf_robj *a, const struct hnv_conf_rroutes *ra,
			   const struct hnv_conf_robj *b, const struct hnv_conf_rroutes *rb,
			   const char *rdomain, char *err, size_t errlen)
{
	for (unsigned i = 0; i < ra->n; i++)
		for (unsigned k = 0; k < rb->n; k++) {
			if (!overlap(&ra->p[i], &rb->p[k]))
				continue;
			char pa[INET6_ADDRSTRLEN + 4], pb[INET6_ADDRSTRLEN + 4];
			hnv_fmt_prefix(&ra->p[i], pa, sizeof(pa));
			hnv_fmt_prefix(&rb->p[k], pb, sizeof(pb));
			hnv_seterr(err, errlen,
				   "%s add: %s \"%s\" routes %s, which overlaps %s of %s \"%s\" in "
				   "routing domain \"%s\": its VRF would route one prefix through "
				   "two objects (give prefixes that do not overlap)",
				   a->kind, a->kind, a->name, pa, pb, b->kind, b->name, rdomain);
			return -EEXIST;
		}
	return 0;
}
