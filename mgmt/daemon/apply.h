/* apply.h: configuration changes applied as operations on the running
 * datapath.
 *
 * hnvgwd keeps one datapath for its whole life. A struct hnv_apply holds
 * the one config batch over it (mgmt/conf_apply.h hnv_conf_batch_*), begun
 * when the datapath is created and ended when it is freed, so the batch
 * knows every routing domain, gateway, tunnel and pool of the running
 * configuration and each change is checked and applied against it alone.
 *
 * A change is a pair of model entries (mgmt/model.h: "add" commands and
 * "global set"): old NULL adds new, new NULL deletes old, both replace old
 * by new. hnv_apply_change applies the operations of one change:
 *   deletion     the "del" command naming old;
 *   addition     new;
 *   replacement  "lookup set" for a lookup record, "global set" for the
 *                settings (fields new leaves out go back to the defaults),
 *                else the "del" of old, then new.
 * What the applier derives follows as a replay of the configuration would
 * make it: the lookup record of a port's CA comes back when an explicit
 * record that replaced it is deleted, and when the provider address the
 * ports' records take (the first IPv4 one, else the first IPv6 one)
 * changes, publish makes every port's records again. The host edge's ports
 * follow (datapath/io/fwd.h): a port's TAP is opened before the datapath
 * gets the port, and closed by the publish after the datapath lost it.
 *
 * A transaction is hnv_apply_begin, the changes in the order of contract 2
 * (deletions in reverse dependency order, then replacements and additions
 * in dependency order), hnv_apply_publish, and either nothing more or
 * hnv_apply_undo, which applies the inverse of every operation since begin,
 * newest first, and publishes again: the datapath is as it was at begin.
 * A change that fails leaves none of its own operations applied (those of
 * earlier changes stay until undo). Customer routes become visible to the
 * forwarding threads at publish; every other operation when it is applied.
 *
 * hnv_apply_change keeps what undo needs (the members of the commands, in
 * an arena cleared at the next begin): the caller's commands may go once
 * it returns.
 *
 * Threads: the control thread (registered with liburcu-qsbr, online).
 * Errors: 0 or a negative errno with a message naming the bad value, never
 * a PSK.
 */
#ifndef HNV_APPLY_H
#define HNV_APPLY_H

#include "../../datapath/dp.h"
#include "../conftext.h"

#include <stdbool.h>
#include <stddef.h>

struct hnv_apply;
struct hnv_fwd;
struct hnv_model;

/* Begins the batch over dp, which must be new (no policy, default
 * settings) and outlive the applier. 0, or -ENOMEM. */
int hnv_apply_new(struct hnv_dp *dp, struct hnv_apply **out);
/* Ends the batch; the datapath keeps what was applied. NULL is fine. */
void hnv_apply_free(struct hnv_apply *a);
/* The host edge whose TAPs follow the datapath's ports; NULL: none. */
void hnv_apply_set_fwd(struct hnv_apply *a, struct hnv_fwd *f);
/* The host edge's provider routes (proutes.h): from now on "proute add"
 * and its deletion add and delete the kernel route in the change (a route
 * the kernel refuses fails the change); NULL: none. */
struct hnv_proutes;
void hnv_apply_set_proutes(struct hnv_apply *a, struct hnv_proutes *p);

/* Applies every command of m as an addition and publishes: the initial
 * load of a new datapath (nothing to undo: on failure the caller frees the
 * datapath). 0, or a negative errno with err. */
int hnv_apply_load(struct hnv_apply *a, const struct hnv_model *m, char *err, size_t errlen);
/* How many commands of the configuration hnv_apply_load applied it left
 * out, because the datapath refuses them (hnv_conf_supported: lookup
 * records with rule nat or none, left out; UseExternalRouter $true,
 * applied as $false), each logged; *first: the reason of the first. They
 * stay in the model: a change that deletes or corrects such a record
 * works. */
size_t hnv_apply_left_out(const struct hnv_apply *a, const char **first);

/* Starts a transaction: forgets how to undo the previous one. */
void hnv_apply_begin(struct hnv_apply *a);
int hnv_apply_change(struct hnv_apply *a, const struct hnv_conf_cmd *old,
		     const struct hnv_conf_cmd *new, char *err, size_t errlen);
/* Publishes the transaction (route changes, the host edge's ports). */
int hnv_apply_publish(struct hnv_apply *a, char *err, size_t errlen);
/* Undoes the transaction and publishes. 0, or the first error of an
 * inverse operation (logged; the datapath may then differ from the
 * configuration). */
int hnv_apply_undo(struct hnv_apply *a);

/* True when a change since begin touched what the gateway role reads:
 * gateways, gateway CAs, S2S tunnels, the settings, provider addresses or
 * virtual subnets (the gateway's ports take their prefixes). */
bool hnv_apply_gateway_touched(const struct hnv_apply *a);

/* ---- the changes between two whole models ---- */

/* The changes that turn model from into model to, in apply order. An entry
 * that depends on a deleted or replaced one (a port on its VSID, a route in
 * its routing domain, ...) is deleted and added again around it. from
 * is read twice, to once; memory: the changed commands, plus about 100
 * bytes per entry of the two models while it runs. 0, or -ENOMEM. */
struct hnv_apply_diff;
int hnv_apply_diff(const struct hnv_model *from, const struct hnv_model *to,
		   struct hnv_apply_diff **out);
size_t hnv_apply_diff_count(const struct hnv_apply_diff *d);
/* Calls cb with each change in order (old or new NULL as in a change; the
 * commands are on the stack and cleared afterwards: they may hold a PSK)
 * until cb returns nonzero, which is returned. */
typedef int (*hnv_apply_diff_cb)(void *arg, const struct hnv_conf_cmd *old,
				 const struct hnv_conf_cmd *new);
int hnv_apply_diff_foreach(const struct hnv_apply_diff *d, hnv_apply_diff_cb cb, void *arg);
void hnv_apply_diff_free(struct hnv_apply_diff *d);

#endif
