/* proutes.h: the configuration's provider routes ("proute add", the
 * NetWNV New-NetVirtualizationProviderRoute) as kernel routes.
 *
 * On the host edge a provider route is a route of the main table toward
 * provider addresses: "PREFIX via NEXTHOP dev DEV metric METRIC" (on-link
 * without NEXTHOP), marked proto HNV_RTNL_PROTO (gateway/rtnl.h). The
 * uplink resolves the next hop of every remote PA through the kernel's
 * routes (datapath/io/nlneigh.h), so a PA behind a provider route is
 * reached through its next hop.
 *
 * Life cycle: hnv_proutes_reconcile on start makes the kernel's routes of
 * that protocol exactly the model's (removes the others, adds the
 * missing); then every committed "proute add"/"proute del" adds or deletes
 * its route as part of the commit (mgmt/daemon/apply.h): a route the kernel
 * refuses (no such device, a next hop on no subnet of the device, a route
 * of that prefix and metric that is not ours) refuses the commit with the
 * kernel's reason. Routes stay in place when hnvgwd stops.
 *
 * Threads: the control thread. Errors: 0 or a negative errno with a
 * message naming the route.
 */
#ifndef HNV_PROUTES_H
#define HNV_PROUTES_H

#include "../conftext.h"

#include <stddef.h>

struct hnv_proutes;
struct hnv_model;

/* Opens the rtnetlink socket. 0, or a negative errno with err. */
int hnv_proutes_new(struct hnv_proutes **out, char *err, size_t errlen);
void hnv_proutes_free(struct hnv_proutes *p);

/* The route of "proute add" s: added (s->dev must exist) or deleted. */
int hnv_proutes_add(struct hnv_proutes *p, const struct hnv_conf_proute *s, char *err,
		    size_t errlen);
int hnv_proutes_del(struct hnv_proutes *p, const struct hnv_conf_proute *s, char *err,
		    size_t errlen);

/* Makes the kernel's provider routes those of m. Routes that cannot be
 * added are logged (warning) and skipped. Returns how many could not be
 * added or removed, or a negative errno when the routes cannot be listed. */
int hnv_proutes_reconcile(struct hnv_proutes *p, const struct hnv_model *m);

#endif
