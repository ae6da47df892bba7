/* conf_rroute.h: the prefixes a tunnel or connection routes into itself
 * in its tenant's VRF, and the check that no two objects of one routing
 * domain route overlapping ones (zebra holds one route per prefix and VRF:
 * the second object's route would replace the first one's, and a prefix
 * inside another would take part of its traffic). Shared by the applier's
 * batch (conf_apply_gw.c, conf_apply_conn.c) and the model
 * (model_check.c), which refuse with the same words. Private to mgmt/.
 *
 * Two prefixes overlap when they have one family and one contains the
 * other; a default route (a /0) overlaps only another default route of
 * its family: more specific routes beside it are ordinary routing (the
 * gateway's --corp-nexthop with S2S prefixes is the usual hybrid set-up).
 * Objects of different routing domains never clash: their VRFs keep them
 * apart. */
#ifndef HNV_CONF_RROUTE_H
#define HNV_CONF_RROUTE_H

#include "conftext.h"

#include <stddef.h>

/* s2s: its remote prefixes (those inside the real side of a remote netmap
 * replaced by the netmaps' mapped prefixes, as hnvgwd routes them); gre
 * and l3: their remote prefixes, or an l3's default route. */
#define HNV_CONF_RROUTES_MAX (HNV_S2S_REMOTE_MAX + HNV_S2S_NETMAP_MAX)
struct hnv_conf_rroutes {
	unsigned n;
	struct hnv_prefix p[HNV_CONF_RROUTES_MAX];
};

void hnv_conf_s2s_rroutes(const struct hnv_conf_s2s *s, struct hnv_conf_rroutes *out);
void hnv_conf_conn_rroutes(const struct hnv_conf_conn *c, struct hnv_conf_rroutes *out);

/* An object for the message: kind "s2s", "gre" or "l3", its name. */
struct hnv_conf_robj {
	const char *kind, *name;
};

/* Refuses object a (added after b, in routing domain rdomain) when one of
 * its prefixes overlaps one of b's: -EEXIST and "<kind> add: <kind> "A"
 * routes P, which overlaps Q of <kind> "B" in routing domain "R" ...",
 * naming the first such pair (a's prefixes in order, then b's). 0 when
 * none overlaps. */
int hnv_conf_rroutes_clash(const struct hnv_conf_robj *a, const struct hnv_conf_rroutes *ra,
			   const struct hnv_conf_robj *b, const struct hnv_conf_rroutes *rb,
			   const char *rdomain, char *err, size_t errlen);

#endif
