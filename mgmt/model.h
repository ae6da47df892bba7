/* model.h: the running configuration of hnvgwd.
 *
 * A model is the configuration as an ordered list of config-text commands
 * (mgmt/conftext.h) that, replayed into a fresh datapath, rebuild the state:
 * "add" commands and "global set", in dependency order. Changes arrive as
 * transactions of config-text lines; a transaction is applied to a copy of
 * the model (add appends, del removes the matching add, set replaces it),
 * and the copy is validated completely by building a scratch datapath from
 * it. The running model is never modified: callers swap models.
 *
 * A "port add" without --ca takes the lowest free address of its VSID's
 * pools (free: no port, lookup record or gateway CA of the VSID holds it)
 * and without --mac gets 0a:VV:a:b:c:d (a.b.c.d its IPv4 CA, VV the VSID's
 * three bytes XORed, incremented while a port or record of the VSID has
 * that MAC). The model stores the completed line, so its text replays to
 * the same addresses. Refusals name what is missing: no VM subnet with the
 * VSID, a subnet without pool, an exhausted pool. "pool del" is refused
 * while ports hold addresses of the pool, naming them.
 *
 * Secrets (S2S PSKs) live only in the model and in the persisted file; the
 * text form masks them as <secret> unless asked otherwise. A text or row
 * made with show_secrets holds PSKs: clear it (explicit_bzero) before free.
 *
 * Threads: call every function from the one control thread, registered
 * with liburcu-qsbr (urcu_qsbr_register_thread) and online. load, transact
 * and build_dp build datapath contexts, whose policy tables wait for grace
 * periods; the forwarding threads must keep reporting quiescent states (or
 * be offline) meanwhile, or those calls block.
 */
#ifndef HNV_MODEL_H
#define HNV_MODEL_H

#include "../datapath/dp.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

struct hnv_model;

struct hnv_model *hnv_model_new(void); /* empty configuration */
void hnv_model_free(struct hnv_model *m);

/* Parses and validates a whole config text. 0, or -EINVAL with "line N: ..."
 * in err; *out untouched on error. */
int hnv_model_load(const char *text, size_t len, struct hnv_model **out, char *err, size_t errlen);

/* Applies lines as one transaction to a copy of cur. 0 and the new model in
 * *next, or a negative errno with a message naming the bad line and value
 * (cur unchanged either way). */
int hnv_model_transact(const struct hnv_model *cur, const char *const *lines, size_t n,
		       struct hnv_model **next, char *err, size_t errlen);

/* The config text; PSKs print as <secret> unless show_secrets. malloc'd. */
char *hnv_model_text(const struct hnv_model *m, bool show_secrets);

/* Calls cb with every command of the model in replay order (dependencies
 * first) until cb returns nonzero, which is returned. The command is on the
 * stack and cleared after the call (it may hold a PSK). */
struct hnv_conf_cmd;
typedef int (*hnv_model_cb)(const struct hnv_conf_cmd *cmd, void *arg);
int hnv_model_foreach(const struct hnv_model *m, hnv_model_cb cb, void *arg);

/* Builds a fresh datapath context holding the model's policy. */
int hnv_model_build_dp(const struct hnv_model *m, struct hnv_dp **out, char *err, size_t errlen);

/* Rows for "show WHAT" (see mgmt/api.h for names and fields); NULL with
 * -EINVAL for an unknown WHAT. Never contains secrets unless show_secrets. */
int hnv_model_show(const struct hnv_model *m, const char *what, bool show_secrets,
		   json_object **rows);

#endif
