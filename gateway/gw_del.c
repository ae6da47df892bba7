/* gw_del.c: the gateway's stale links deleted together (gw_int.h). */
#include "gw_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One link at a time: what the group delete falls back to. */
static void del_one(struct hnv_gw *g, const struct gw_del *x)
{
	char err[ERR_LEN];
	if (hnv_rtnl_del_link(g->nl, x->ifindex, x->name, err, sizeof(err)) < 0)
		hnv_log(HNV_LOG_ERR, "gateway: %s", err);
	else
		hnv_log(HNV_LOG_INFO, "gateway: deleted %s %s, no longer configured", x->what,
			x->name);
}

static bool listed(const struct gw_del *del, size_t n, int ifindex)
{
	for (size_t i = 0; i < n; i++)
		if (del[i].ifindex == ifindex)
			return true;
	return false;
}

void gw_del_links(struct hnv_gw *g, const struct gw_del *del, size_t n)
{
	char err[ERR_LEN];
	if (n == 0)
		return;
	if (n == 1) {
		del_one(g, &del[0]);
		return;
	}
	/* A link left in the group by an earlier run that stopped between
	 * tagging and deleting, and wanted now, leaves the group first (no
	 * link is in it otherwise: the scan of del is the rare case). */
	for (size_t i = 0; i < g->n_links; i++) {
		const struct hnv_rtnl_link *l = &g->links[i];
		if (l->group == HNV_RTNL_DEL_GROUP && !listed(del, n, l->ifindex) &&
		    hnv_rtnl_set_group(g->nl, l->ifindex, l->name, 0, err, sizeof(err)) < 0)
			hnv_log(HNV_LOG_ERR, "gateway: %s", err);
	}
	bool *tagged = calloc(n, sizeof(*tagged));
	size_t n_tagged = 0;
	for (size_t i = 0; tagged && i < n; i++) {
		if (hnv_rtnl_set_group(g->nl, del[i].ifindex, del[i].name, HNV_RTNL_DEL_GROUP, err,
				       sizeof(err)) < 0)
			hnv_log(HNV_LOG_ERR, "gateway: %s", err);
		else {
			tagged[i] = true;
			n_tagged++;
		}
	}
	if (tagged && n_tagged &&
	    hnv_rtnl_del_group(g->nl, HNV_RTNL_DEL_GROUP, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < n; i++)
			if (tagged[i])
				hnv_log(HNV_LOG_INFO,
					"gateway: deleted %s %s, no longer configured", del[i].what,
					del[i].name);
		free(tagged);
		return;
	}
	if (tagged && n_tagged)
		hnv_log(HNV_LOG_WARNING, "gateway: %s; deleting each link alone", err);
	for (size_t i = 0; i < n; i++)
		del_one(g, &del[i]);
	free(tagged);
}
