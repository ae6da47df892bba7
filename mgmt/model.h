/* model.h: the running configuration of hnvgwd.
 *
 * A model is the configuration as an ordered list of config-text commands
 * (mgmt/conftext.h) that, replayed into a fresh datapath, rebuild the state:
 * "add" commands and "global set", in dependency order. Changes arrive as
 * transactions of config-text lines (add appends, del removes the matching
 * add, set replaces it in place). A transaction works on the model in place
 * and costs in the size of the change, not of the model: it is an overlay
 * the model's readers do not see until it commits. Its result is checked
 * completely by the model itself: every check a replay of the result into
 * a fresh datapath would make (references, duplicates, CA placement,
 * gateway and S2S rules, pools, ports and their lookup records, the
 * datapath's table limits), with the messages that replay gives.
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
 * with liburcu-qsbr (urcu_qsbr_register_thread) and online. build_dp and
 * hnv_model_txn_replay build datapath contexts, whose policy tables wait
 * for grace periods; the forwarding threads must keep reporting quiescent
 * states (or be offline) meanwhile, or those calls block.
 */
#ifndef HNV_MODEL_H
#define HNV_MODEL_H

#include "../datapath/dp.h"
#include "conftext.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

struct hnv_model;

struct hnv_model *hnv_model_new(void); /* empty configuration */
void hnv_model_free(struct hnv_model *m);

/* Parses and checks a whole config text (one transaction on an empty
 * model). 0, or a negative errno with "line N: ..." in err; *out untouched
 * on error. */
int hnv_model_load(const char *text, size_t len, struct hnv_model **out, char *err, size_t errlen);

/* Applies lines as one transaction to a copy of cur. 0 and the new model in
 * *next, or a negative errno with a message naming the bad line and value
 * (cur unchanged either way). Copies the whole model: the daemon's changes
 * use hnv_model_txn_* on its model instead. */
int hnv_model_transact(const struct hnv_model *cur, const char *const *lines, size_t n,
		       struct hnv_model **next, char *err, size_t errlen);

/* ---- transactions in place ----
 *
 *	hnv_model_txn_begin(m, &t);
 *	if (hnv_model_txn_lines(t, lines, n, err, errlen) == 0 &&
 *	    hnv_model_txn_changes(t, &ch, &nch) == 0 && <apply ch elsewhere>)
 *		hnv_model_txn_commit(t);
 *	else
 *		hnv_model_txn_abort(t);
 *
 * One transaction per model at a time. While it is open, every other
 * hnv_model_* function on m sees m as it was before (m must not be freed).
 * Each call costs in the size of what it changes. */
struct hnv_model_txn;

/* 0, -EBUSY (m has an open transaction) or -ENOMEM. */
int hnv_model_txn_begin(struct hnv_model *m, struct hnv_model_txn **out);

/* Applies lines (line N of a message is lines[N-1]) and checks the result
 * as a whole: 0, or a negative errno with the message a replay of the
 * result into a fresh datapath would give ("line N: ..."). After a failure
 * the transaction only aborts: further calls return -EINVAL and commit
 * leaves m unchanged. */
int hnv_model_txn_lines(struct hnv_model_txn *t, const char *const *lines, size_t n, char *err,
			size_t errlen);
/* The same for parsed commands; messages say "line N: " when cmds[i].line
 * is N > 0. A "port add" without CAs or MAC is completed as for lines. */
int hnv_model_txn_cmds(struct hnv_model_txn *t, const struct hnv_conf_cmd *cmds, size_t n,
		       char *err, size_t errlen);

/* What the transaction changed, in apply order: first deletions
 * (old != NULL, new == NULL) in reverse dependency order, then replacements
 * (both set: "lookup set", "global set" of what m had) and additions
 * (old == NULL) in dependency order. old and new are "add" commands (for
 * global: the merged "global set"); new->line is the line that made it.
 * An object deleted and added again is a deletion and an addition. The
 * array and commands stay valid until the next lines/cmds call, commit or
 * abort (they may hold PSKs: the transaction clears them). 0, -EINVAL (a
 * failed transaction) or -ENOMEM. */
struct hnv_model_change {
	const struct hnv_conf_cmd *old, *new;
};
int hnv_model_txn_changes(struct hnv_model_txn *t, const struct hnv_model_change **out, size_t *n);

/* m now holds the result; frees t. Cannot fail (what it needs is
 * allocated by lines/cmds). After a failed lines/cmds call: as abort. */
void hnv_model_txn_commit(struct hnv_model_txn *t);
/* m unchanged; frees t. NULL is fine. */
void hnv_model_txn_abort(struct hnv_model_txn *t);

/* Test oracle, not for production paths: the verdict of the old
 * validation on the transaction's result, which replays all of m with the
 * changes into a fresh datapath context through the config applier
 * (hnv_conf_batch_*). A transaction whose lines were refused before the
 * checks gives that refusal. tests/unit/test_model_check.c and
 * tests/fuzz/fuzz_model.c hold the model's own checks to it. */
int hnv_model_txn_replay(const struct hnv_model_txn *t, char *err, size_t errlen);

/* The config text; PSKs print as <secret> unless show_secrets. malloc'd. */
char *hnv_model_text(const struct hnv_model *m, bool show_secrets);

/* Calls cb with every command of the model in replay order (dependencies
 * first) until cb returns nonzero, which is returned. The command is on the
 * stack and cleared after the call (it may hold a PSK). */
typedef int (*hnv_model_cb)(const struct hnv_conf_cmd *cmd, void *arg);
int hnv_model_foreach(const struct hnv_model *m, hnv_model_cb cb, void *arg);
/* The same for one group only: the entries whose command is add_kind
 * (HNV_CONF_GLOBAL_SET for the settings). -EINVAL for a kind no entry has. */
int hnv_model_foreach_kind(const struct hnv_model *m, enum hnv_conf_kind add_kind, hnv_model_cb cb,
			   void *arg);

/* Builds a fresh datapath context holding the model's policy. */
int hnv_model_build_dp(const struct hnv_model *m, struct hnv_dp **out, char *err, size_t errlen);

/* Rows for "show WHAT" (see mgmt/api.h for names and fields); NULL with
 * -EINVAL for an unknown WHAT. Never contains secrets unless show_secrets. */
int hnv_model_show(const struct hnv_model *m, const char *what, bool show_secrets,
		   json_object **rows);
/* Which rows a show keeps (mgmt/api.h "show"): vsid for lookup, ports,
 * routes, vsubnets and pools; ca for lookup and ports; pa for lookup. */
struct hnv_show_filter {
	bool has_vsid, has_ca, has_pa;
	uint32_t vsid;
	struct hnv_ip ca, pa;
};
/* One page of hnv_model_show (issue 17 finding 7): the rows that match f
 * (NULL: all) from the offset-th of them on, while their JSON text stays
 * within max_bytes (at least one row); *next: the offset of the following
 * page, 0 when this is the last. -EINVAL for an unknown WHAT, -ENOTSUP for
 * a filter WHAT does not take. Work and memory: one walk of WHAT's rows,
 * JSON only for the page's. row_fn (NULL: none) may add fields to each
 * row of the page (what the daemon knows beyond the model, e.g. a lookup
 * record's REDIRECT override) before the row is measured, so the page
 * stays within max_bytes with them. */
typedef void (*hnv_show_row_fn)(void *arg, json_object *row);
int hnv_model_show_page(const struct hnv_model *m, const char *what, bool show_secrets,
			const struct hnv_show_filter *f, size_t offset, size_t max_bytes,
			hnv_show_row_fn row_fn, void *row_arg, json_object **rows, size_t *next);

#endif
