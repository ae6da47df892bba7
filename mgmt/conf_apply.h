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

/* hnv_conf_apply one command at a time, for callers that do not hold the
 * whole array: begin, apply each (same checks and messages), end. end
 * commits the policy (also after a failed apply) and frees the batch.
 * begin returns 0 or -ENOMEM; apply and end return like hnv_conf_apply. */
struct hnv_conf_batch;
int hnv_conf_batch_begin(struct hnv_dp *dp, struct hnv_conf_batch **out);
int hnv_conf_batch_apply(struct hnv_conf_batch *b, const struct hnv_conf_cmd *cmd, char *err,
			 size_t errlen);
int hnv_conf_batch_end(struct hnv_conf_batch *b, char *err, size_t errlen);

#endif
