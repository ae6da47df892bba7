/* gw_s2s_addr.c: the floating local addresses of a gateway pool's
 * tunnels (s2s add --pool, docs/gateway-pool.md), for gw_s2s.c.
 *
 * The member that holds a pool tenant adds each of its tunnels'
 * --local-addr, as a host address marked with IFA_PROTO HNV_RTNL_PROTO,
 * to the interface the main table routes the tunnel's peer through,
 * before charon loads the connection (which initiates from it), and
 * announces it there (gateway/garp.h) so that the site's router sends to
 * this member's MAC at once. A marked address no tunnel wants any more
 * (the tenant went to another member, this member was fenced, or a
 * previous hnvgwd left it) is removed after charon unloaded the tunnels,
 * so the teardown runs in the order tunnel, SAs, address, before the pool
 * lets another member claim the tenant. Addresses without the mark are
 * the administrator's and never touched. */
#include "garp.h"
#include "gw_int.h"

#include "../lib/addr.h"
#include "../lib/err.h"
#include "../lib/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *link_name(const struct hnv_gw *g, int ifindex)
{
	for (size_t i = 0; i < g->n_links; i++)
		if (g->links[i].ifindex == ifindex)
			return g->links[i].name;
	return NULL;
}

static bool floats(const struct tunnel *tu)
{
	return tu->c.pool[0] && tu->c.has_local_addr && tu->ifindex;
}

void gw_s2s_addrs_add(struct hnv_gw *g, struct desired *d)
{
	char err[ERR_LEN], a[INET6_ADDRSTRLEN];
	for (unsigned i = 0; i < d->n_s2s; i++) {
		struct tunnel *tu = &d->s2s[i];
		tu->addr_ifindex = 0;
		if (!floats(tu))
			continue;
		int oif;
		const char *dev = NULL;
		int rc = hnv_rtnl_route_oif(g->nl, &tu->c.peer, &oif, err, sizeof(err));
		if (rc == 0 && !(dev = link_name(g, oif))) {
			snprintf(err, sizeof(err),
				 "the route to the peer leaves through interface %d, "
				 "which was not listed",
				 oif);
			rc = -ENODEV;
		}
		if (rc == 0)
			rc = hnv_rtnl_float_addr(g->nl, true, oif, dev, &tu->c.local_addr, err,
						 sizeof(err));
		if (rc < 0) {
			/* charon gets the tunnel all the same: it cannot initiate
			 * from an address that is not there, and says so */
			hnv_log(HNV_LOG_ERR, "s2s %s: local address: %s", tu->c.name, err);
			snprintf(tu->err, sizeof(tu->err), "local address not added: %.200s", err);
			g->retry = true;
			continue;
		}
		tu->addr_ifindex = oif;
		hnv_fmt_ip(&tu->c.local_addr, a, sizeof(a));
		if (rc == 0)
			continue; /* there already: this member has it */
		hnv_log(HNV_LOG_NOTICE, "s2s %s: added local address %s to %s (pool %s)",
			tu->c.name, a, dev, tu->c.pool);
		int n = hnv_garp_announce(dev, oif, &tu->c.local_addr, err, sizeof(err));
		if (n < 0)
			hnv_log(HNV_LOG_WARNING, "s2s %s: %s", tu->c.name, err);
		else if (n > 0)
			hnv_log(HNV_LOG_INFO, "s2s %s: announced %s on %s (%s)", tu->c.name, a, dev,
				hnv_ip_is_v4(&tu->c.local_addr) ? "gratuitous ARP"
								: "unsolicited NA");
	}
}

static bool wanted(const struct desired *d, const struct hnv_rtnl_addr *x)
{
	for (unsigned i = 0; i < d->n_s2s; i++) {
		const struct tunnel *tu = &d->s2s[i];
		if (tu->addr_ifindex == x->ifindex && hnv_ip_eq(&tu->c.local_addr, &x->addr))
			return true;
	}
	return false;
}

void gw_s2s_addrs_prune(struct hnv_gw *g, const struct desired *d)
{
	char err[ERR_LEN], a[INET6_ADDRSTRLEN];
	/* g->addrs: as this apply began; what it added is wanted */
	for (size_t i = 0; i < g->n_addrs; i++) {
		const struct hnv_rtnl_addr *x = &g->addrs[i];
		if (x->proto != HNV_RTNL_PROTO || wanted(d, x))
			continue;
		const char *dev = link_name(g, x->ifindex);
		hnv_fmt_ip(&x->addr, a, sizeof(a));
		int rc = hnv_rtnl_float_addr(g->nl, false, x->ifindex, dev ? dev : "?", &x->addr,
					     err, sizeof(err));
		if (rc < 0) {
			hnv_log(HNV_LOG_ERR, "s2s: %s", err);
			g->retry = true;
		} else if (rc > 0) {
			hnv_log(HNV_LOG_NOTICE, "s2s: removed local address %s from %s", a,
				dev ? dev : "?");
		}
	}
}
