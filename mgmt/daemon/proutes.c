/* proutes.c: provider routes as kernel routes (see proutes.h). */
#include "proutes.h"

#include "../../gateway/rtnl.h"
#include "../../lib/addr.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../../lib/vec.h"
#include "../model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The kernel stores IPv6 routes added with metric 0 with this one. */
#define IP6_DEFAULT_METRIC 1024

struct hnv_proutes {
	struct hnv_rtnl *rtnl;
};

int hnv_proutes_new(struct hnv_proutes **out, char *err, size_t errlen)
{
	struct hnv_proutes *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		hnv_seterr(err, errlen, "provider routes: out of memory");
		return -ENOMEM;
	}
	int rc = hnv_rtnl_open(&p->rtnl, err, errlen);
	if (rc) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void hnv_proutes_free(struct hnv_proutes *p)
{
	if (p == NULL)
		return;
	hnv_rtnl_close(p->rtnl);
	free(p);
}

static void fmt_route(const struct hnv_conf_proute *s, char *buf, size_t len)
{
	char pfx[64], nh[INET6_ADDRSTRLEN];
	hnv_fmt_prefix(&s->prefix, pfx, sizeof(pfx));
	hnv_fmt_ip(&s->nexthop, nh, sizeof(nh));
	snprintf(buf, len, "%s via %s", pfx, nh);
}

int hnv_proutes_add(struct hnv_proutes *p, const struct hnv_conf_proute *s, char *err,
		    size_t errlen)
{
	char what[128], kerr[384];
	fmt_route(s, what, sizeof(what));
	unsigned ifindex = if_nametoindex(s->dev);
	if (ifindex == 0 || ifindex > INT32_MAX) {
		hnv_seterr(err, errlen,
			   "proute add: provider route %s: device \"%s\" does not exist on "
			   "this host",
			   what, s->dev);
		return -ENODEV;
	}
	int rc = hnv_rtnl_proute(p->rtnl, true, &s->prefix, &s->nexthop, (int)ifindex, s->dev,
				 s->metric, kerr, sizeof(kerr));
	if (rc)
		hnv_seterr(err, errlen, "proute add: provider route %s: %s", what, kerr);
	return rc;
}

int hnv_proutes_del(struct hnv_proutes *p, const struct hnv_conf_proute *s, char *err,
		    size_t errlen)
{
	char what[128], kerr[384];
	fmt_route(s, what, sizeof(what));
	/* a device that went away took its routes with it */
	unsigned ifindex = if_nametoindex(s->dev);
	if (ifindex == 0 || ifindex > INT32_MAX)
		return 0;
	int rc = hnv_rtnl_proute(p->rtnl, false, &s->prefix, &s->nexthop, (int)ifindex, s->dev,
				 s->metric, kerr, sizeof(kerr));
	if (rc)
		hnv_seterr(err, errlen, "proute del: provider route %s: %s", what, kerr);
	return rc;
}

/* ---- reconciliation ---- */

struct want {
	struct hnv_conf_proute r;
	int ifindex; /* 0: the device does not exist */
	bool present;
};

struct reconcile {
	struct hnv_proutes *p;
	struct want *w;
	size_t n, cap;
	int failed;
	bool nomem;
};

static int collect(const struct hnv_conf_cmd *c, void *arg)
{
	struct reconcile *x = arg;
	if (HNV_GROW(x->w, x->cap, x->n + 1)) {
		x->nomem = true;
		return -ENOMEM;
	}
	struct want *w = &x->w[x->n++];
	memset(w, 0, sizeof(*w));
	w->r = c->u.proute;
	unsigned i = if_nametoindex(w->r.dev);
	w->ifindex = i > INT32_MAX ? 0 : (int)i;
	return 0;
}

static uint32_t kernel_metric(const struct hnv_conf_proute *r)
{
	return !hnv_ip_is_v4(&r->prefix.addr) && r->metric == 0 ? IP6_DEFAULT_METRIC : r->metric;
}

/* Whether kernel route k is the route of w. */
static bool same(const struct hnv_rtnl_route *k, const struct want *w)
{
	bool via = !hnv_ip_is_unspec(&w->r.nexthop);
	return k->dst.len == w->r.prefix.len && hnv_ip_eq(&k->dst.addr, &w->r.prefix.addr) &&
	       k->has_gateway == via && (!via || hnv_ip_eq(&k->gateway, &w->r.nexthop)) &&
	       k->oif == w->ifindex && k->metric == kernel_metric(&w->r);
}

static void stale(const struct hnv_rtnl_route *k, void *arg)
{
	struct reconcile *x = arg;
	for (size_t i = 0; i < x->n; i++)
		if (!x->w[i].present && x->w[i].ifindex > 0 && same(k, &x->w[i])) {
			x->w[i].present = true;
			return;
		}
	char err[512], dev[IF_NAMESIZE] = "?";
	if (k->oif > 0)
		if_indextoname((unsigned)k->oif, dev);
	if (hnv_rtnl_proute(x->p->rtnl, false, &k->dst, k->has_gateway ? &k->gateway : NULL, k->oif,
			    dev, k->metric, err, sizeof(err))) {
		hnv_log(HNV_LOG_WARNING, "provider routes: %s", err);
		x->failed++;
	}
}

int hnv_proutes_reconcile(struct hnv_proutes *p, const struct hnv_model *m)
{
	struct reconcile x = {.p = p};
	char err[512];
	int rc = hnv_model_foreach_kind(m, HNV_CONF_PROUTE_ADD, collect, &x);
	if (rc == 0)
		rc = hnv_rtnl_proutes(p->rtnl, stale, &x, err, sizeof(err));
	else
		hnv_seterr(err, sizeof(err), "%s", x.nomem ? "out of memory" : strerror(-rc));
	if (rc) {
		hnv_log(HNV_LOG_ERR, "provider routes: %s", err);
		free(x.w);
		return rc;
	}
	for (size_t i = 0; i < x.n; i++) {
		if (x.w[i].present)
			continue;
		if (hnv_proutes_add(p, &x.w[i].r, err, sizeof(err))) {
			hnv_log(HNV_LOG_WARNING, "%s (not installed)", err);
			x.failed++;
		}
	}
	free(x.w);
	return x.failed;
}
