/* gwstate.h: the gateway role's desired state (gateway/gw.h) built from
 * the config model: its gateways, its gateway CAs with their gateway
 * ports, the prefixes of the VSIDs that hold those CAs, and its S2S
 * tunnels. The model's types stay in mgmt/; gateway/ and vpn/ get their
 * own, converted here field by field.
 *
 * hnvgwd's control thread calls hnv_gwstate_apply whenever the gateway
 * part of the model may have changed.
 */
#ifndef HNV_GWSTATE_H
#define HNV_GWSTATE_H

#include "../../gateway/gw.h"

#include <stddef.h>

struct hnv_model;
struct hnv_conf_s2s;

/* The desired state of one model, in malloc'd arrays. Zero-initialized is
 * empty. tunnels hold PSKs: hnv_gwstate_free clears them. */
struct hnv_gwstate {
	struct hnv_gw_tenant *tenants;
	size_t n_tenants, cap_tenants;
	struct hnv_gw_ca *cas;
	size_t n_cas, cap_cas;
	struct hnv_gw_vsubnet *vsubnets; /* only the VSIDs of gateway CAs */
	size_t n_vsubnets, cap_vsubnets;
	struct hnv_s2s_conf *tunnels;
	size_t n_tunnels, cap_tunnels;
	struct hnv_gw_conn *conns; /* gre and l3 */
	size_t n_conns, cap_conns;
	struct hnv_gw_bgp_peer *bgp_peers;
	size_t n_bgp_peers, cap_bgp_peers;
};

/* Fills s (empty on entry) from m. 0, or -ENOMEM with s freed. */
int hnv_gwstate_build(const struct hnv_model *m, struct hnv_gwstate *s);
/* The view of s that hnv_gw_apply takes (pointers into s). */
void hnv_gwstate_desired(const struct hnv_gwstate *s, struct hnv_gw_desired *d);
/* Frees the arrays after clearing the tunnels; s is empty afterwards. */
void hnv_gwstate_free(struct hnv_gwstate *s);

/* Builds m's desired state, hands it to hnv_gw_apply and frees it.
 * hnv_gw_apply's result (tenants with errors), or -ENOMEM (logged). */
int hnv_gwstate_apply(struct hnv_gw *g, const struct hnv_model *m);

/* What the gateway role could not apply of a change, for the reply to it
 * (issue 17 finding 13): a reporter (core.h hnv_core_set_reporter) over
 * g. A change names the gateway objects of its commands: "gateway ADD"
 * and "gateway-ca" the gateway of their routing domain, "vsubnet add" the
 * gateways with a CA in its VSID, "s2s add" its tunnel and the gateway of
 * its routing domain (which the tunnel needs), "gre add" and "l3 add" their
 * connection and its gateway. After the change the rows
 * are the errors hnv_gw_errors reports for those objects: {"object":
 * "gateway RDOMAIN" | "s2s NAME" | "gre NAME" | "l3 NAME", "error"}; an object in error that the
 * change did not name (it failed before) is not among them. */
struct hnv_gwstate_report;
/* 0, or -ENOMEM. */
int hnv_gwstate_report_new(struct hnv_gw *g, struct hnv_gwstate_report **out);
void hnv_gwstate_report_free(struct hnv_gwstate_report *r);
/* The reporter for hnv_core_set_reporter (valid while r is). */
struct hnv_core_reporter;
void hnv_gwstate_reporter(struct hnv_gwstate_report *r, struct hnv_core_reporter *out);

/* The configured tunnel c in vpn/s2s.h's type (out holds c's PSK). */
void hnv_gwstate_s2s(const struct hnv_conf_s2s *c, struct hnv_s2s_conf *out);

#endif
