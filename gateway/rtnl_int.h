/* rtnl_int.h: the rtnetlink handle, shared by rtnl.c (links, addresses,
 * rules, routes) and rtnl_conn.c (GRE and VLAN links, qdiscs); no one else
 * reads it. */
#ifndef HNV_RTNL_INT_H
#define HNV_RTNL_INT_H

#include "../lib/nl.h"
#include "rtnl.h"

struct hnv_rtnl {
	struct hnv_nl nl; /* requests are built in nl.buf */
};

#endif
