/* sync.h: policy shared by many hnvgwd through etcd (hnvgwd --etcd).
 *
 * The shared policy lives under one key prefix (default /hnvgw/), one key
 * per object, its value the object's config-text line (mgmt/conftext.h
 * grammar, canonical form):
 *
 *   rd/R/rdomain                 rdomain add R --rdid G
 *   rd/R/vsubnet/V               vsubnet add V --rdomain R ...
 *   rd/R/pool/NAME               pool add NAME --vsid V --range A-B ...
 *   rd/R/route/P@NH              route add --rdomain R ... --prefix P --nexthop NH
 *   rd/R/lookup/V/CA             lookup add --vsid V --ca CA ...
 *   rd/R/lookup/V/mac-MAC        a lookup record without CA (L2Only, wildcard)
 *   rd/R/alloc/V/IP              "HOST/PORT": the address is taken
 *   rd/R/port/HOST/NAME          port add NAME --vsid V --ca ... --mac ...
 *   rd/R/gw/HOST                 gateway add --rdomain R ... (that host's)
 *   rd/R/gwca/HOST/V/CA          gateway ca --rdomain R --vsid V --ca CA
 *   hosts/HOST/pa                the host's provider address
 *   guard/vsid/V, guard/rdid/G, guard/pool/NAME
 *                                uniqueness of VSIDs, RDIDs and pool names
 *                                across routing domains
 *
 * Values are not trusted as commands (issue 17 finding 1). A config key's
 * value must be exactly one line of the add command its key names, whose
 * own key (sync_key_of, in the routing domain the line names, with the
 * key's host) is that key; a pool, port, lookup, route or gateway ca line
 * must name a VSID whose vsubnet is under the same rd/R/. Anything else is
 * refused: logged once per key and revision, counted (hnvgw show etcd),
 * and the key is treated as absent, so its value never becomes local or
 * shared configuration and an object an older hnvgwd applied from it is
 * deleted; the other keys of the routing domain apply as usual.
 *
 * Security: https:// members, a client certificate (etcd
 * --client-cert-auth) and an etcd user with a password (mgmt/etcd.h).
 *
 * What a host applies. A host is interested in the routing domains where
 * it has a port (rd/R/port/HOST/...) or a gateway attachment (rd/R/gw/HOST).
 * Its running model is its local-only objects (pa, proute, global, s2s,
 * kept in its own store as without etcd) plus, for each routing domain of
 * interest: the rdomain, its vsubnets, pools, routes and lookup records,
 * and its own ports and gateway objects. Other hosts' ports reach it as
 * their lookup records. Adding a port to a new routing domain pulls that
 * domain's policy; removing the last one drops it.
 *
 * Reading. A watch thread reads the whole prefix once (range), then
 * watches it from the next revision; it keeps an in-memory mirror of the
 * prefix on the control thread: per key its value, mod_revision and, for
 * config keys, the command its line parses to (parsed once, on the watch
 * thread, when the value arrives). When the watch
 * breaks (member gone, etcd down) it retries with backoff (100 ms doubling
 * to 5 s) across the member URLs and resumes from the revision after the
 * last one it delivered, so no event is lost or applied twice; when that
 * revision was compacted it reads the whole prefix again. Meanwhile the
 * host keeps its running model and forwarding untouched. Changes to the
 * mirror are applied at most every HNV_SYNC_DEBOUNCE_MS: the keys the host
 * applies are compared, as commands, with those of the running model, and
 * what differs is handed to the core as del and add commands, one
 * revision (validated, persisted and applied like any other).
 *
 * Writing. A transaction of shared lines sent to a host is validated on a
 * view: the host's model plus every routing domain the lines touch, from
 * the mirror. Then each line becomes puts and deletes of its keys, in one
 * etcd transaction whose compares say that every key written, and the
 * rdomain, vsubnet and pool keys of every touched routing domain, are
 * still as validated (mod_revision, or create_revision 0 for a new key);
 * deleting an rdomain, vsubnet or pool also requires that nothing under
 * rd/R/ changed since the mirror's revision. When a compare fails, another
 * host won the race: the mirror catches up through the watch and the
 * transaction is validated and tried again (at most HNV_SYNC_RETRIES
 * times). A port add without --ca takes the lowest address of its VSID's
 * pools that has no rd/R/alloc key and no lookup record: the alloc key is
 * created with a create_revision == 0 compare, so two hosts never hand out
 * the same address. The host applies its own successful write to its
 * mirror and model before answering (read-your-writes); the watch later
 * delivers the same events again, which change nothing.
 *
 * A transaction may not mix shared and local-only lines, and commit
 * --confirm is refused for shared lines (etcd has no pending state).
 * A revision installed without etcd (local lines, config rollback,
 * SIGHUP reload) is compared with the mirror afterwards: shared objects it
 * changed are put back as etcd has them, in one more revision.
 *
 *   port move NAME --to HOST
 * moves a port between hosts in one transaction: rd/R/port/SRC/NAME is
 * deleted, rd/R/port/HOST/NAME created with the same line, and each lookup
 * record of the port gets HOST's PA (hosts/HOST/pa). The source drops the
 * port, the destination creates it, every host sees the new PA through
 * its watch. It may be sent to any host.
 *
 * Threads: everything but the watch thread runs on the control thread.
 */
#ifndef HNV_SYNC_H
#define HNV_SYNC_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define HNV_SYNC_DEFAULT_PREFIX "/hnvgw/"
#define HNV_SYNC_HOST_MAX 63
#define HNV_SYNC_DEBOUNCE_MS 30
#define HNV_SYNC_RETRIES 20
#define HNV_SYNC_TIMEOUT_MS 2000 /* per etcd request and member */

struct hnv_core;
struct hnv_sync;

struct hnv_sync_opts {
	const char *urls;   /* --etcd: URL[,URL...] */
	const char *host;   /* --host-name: [A-Za-z0-9_.-]{1,63} */
	const char *prefix; /* NULL: HNV_SYNC_DEFAULT_PREFIX; must end in '/' */
	/* TLS and etcd authentication (mgmt/etcd.h hnv_etcd_set_sec); NULL:
	 * not used */
	const char *cacert, *cert, *key;  /* --etcd-cacert, --etcd-cert, --etcd-key */
	const char *user, *password_file; /* --etcd-user, --etcd-password-file */
};

/* Starts the watch thread and hooks the core's exec. Does not wait for
 * etcd. 0, or a negative errno with a message naming the bad option. */
int hnv_sync_new(struct hnv_core *core, const struct hnv_sync_opts *o, struct hnv_sync **out,
		 char *err, size_t errlen);
/* Stops the thread, unhooks the core. NULL is fine. */
void hnv_sync_free(struct hnv_sync *s);

/* The control loop's event source (struct hnv_source of lib/source.h). */
int hnv_sync_fd(void *arg, short *events);
int hnv_sync_timeout_ms(void *arg);
void hnv_sync_run(void *arg, short revents);

/* The exec hook (see hnv_core_set_exec_hook): 1 when the lines are all
 * local-only (the core runs them itself), else 0 with *result, or a
 * negative errno with err. */
int hnv_sync_exec(void *arg, const char *const *lines, size_t n, unsigned confirm,
		  json_object **result, char *err, size_t errlen);

/* Key of a host name check: 0 or -EINVAL. */
int hnv_sync_host_valid(const char *host);

/* A member of gateway pool `pool` (mgmt/daemon/pool.h) holds the routing
 * domains rds (n of them; none when it is fenced): their rd/R/gw/@pool and
 * rd/R/gwca/@pool/... keys are applied as this host's own gateway lines,
 * and those of a routing domain it no longer holds are deleted (its
 * gateway torn down). Applied at once when the set changes, not
 * debounced. Control thread. 1 when the set changed (and was applied), 0
 * when it is the same, or -ENOMEM (the set is then empty: a member that
 * cannot tell what it holds serves none). */
int hnv_sync_pool_held(struct hnv_sync *s, const char *pool, const char *const *rds, size_t n);

#endif
