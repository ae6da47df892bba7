/* conf_apply.h: applies config-text commands (conftext.h) to a datapath
 * context.
 *
 * The applier turns each command into policy and datapath calls, with the
 * checks that need the current tables: references, duplicates, a CA inside
 * its VSID. It is the only part of the config text that knows the
 * datapath's types; it converts the commands' own.
 */
#ifndef HNV_CONF_APPLY_H
#define HNV_CONF_APPLY_H

#include "../datapath/dp.h"
#include "conftext.h"

/* Applies commands in order to dp, then commits the policy. Stops at the
 * first failure, returning its negative errno with "line N: ..." in err;
 * changes already made stay (callers wanting all-or-nothing apply to a fresh
 * context and swap).
 *
 * Provider routes, gateways and S2S tunnels touch no datapath state; their
 * checks that need other objects see VSIDs in dp, but routing domains,
 * gateways and tunnels only as added by the same call (or batch, below):
 * apply a whole configuration at once (hnv_model does). The same holds for
 * pools (checks of later pools and ports) and for the lookup records made
 * for ports: a later "port del" or explicit "lookup add" removes or replaces
 * only the records its own call or batch made.
 * The calling thread must be the context's control thread (dp.h). */
int hnv_conf_apply(struct hnv_dp *dp, const struct hnv_conf_cmd *cmds, size_t n, char *err,
		   size_t errlen);

/* 0 when the datapath can give command c its effect, else -EOPNOTSUPP
 * with the reason: lookup records with rule nat or none, "global set
 * --use-external-router on" (docs/netwnv-settings.md). Applying such a
 * command fails the same way; hnvgwd also asks before applying a stored
 * configuration or an etcd value an older hnvgw accepted, to leave them
 * out and report them instead. */
int hnv_conf_supported(const struct hnv_conf_cmd *c, char *err, size_t errlen);

/* hnv_conf_apply one command at a time, for callers that do not hold the
 * whole array: begin, apply each (same checks and messages), end.
 *
 * A batch remembers what the datapath does not hold (routing domain names,
 * provider routes, gateways, gateway CAs, tunnels, pools, the lookup
 * records made for ports), so a batch may also stay open for the life of a
 * datapath context and take its changes one at a time, publishing after
 * each (hnvgwd); it knows only what was applied through it, so such a batch
 * is begun on the empty context it fills. publish makes what was applied visible and keeps the batch
 * open: it brings the gateway ports in line with the gateway CAs (one per
 * VSID holding CAs, with all of them, see hnv_gateway_port; a port whose
 * CAs changed is replaced) and commits the policy's route changes
 * (hnv_policy_commit), the latter also when a gateway port fails. A
 * gateway port whose VSID loses a CA (gateway ca-del, gateway del) is
 * removed at once, so that the VSID can go in the same change; publish
 * adds it back with the VSID's other CAs. end publishes (also after a
 * failed apply) and frees the batch.
 *
 * begin returns 0, -EINVAL (no dp or out) or -ENOMEM; apply, publish and
 * end return like hnv_conf_apply (publish: the first failure). */
struct hnv_conf_batch;
int hnv_conf_batch_begin(struct hnv_dp *dp, struct hnv_conf_batch **out);
int hnv_conf_batch_apply(struct hnv_conf_batch *b, const struct hnv_conf_cmd *cmd, char *err,
			 size_t errlen);
int hnv_conf_batch_publish(struct hnv_conf_batch *b, char *err, size_t errlen);
int hnv_conf_batch_end(struct hnv_conf_batch *b, char *err, size_t errlen);

#endif
