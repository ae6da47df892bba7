/* api.h: the hnvgwd control protocol, shared by the daemon, the hnvgw CLI
 * and the NetWNV (PowerShell) front end.
 *
 * Transport: a Unix stream socket (default /run/hnvgw/hnvgw.sock, mode 0660,
 * group hnvgw). Each request and each reply is one JSON object on one line
 * (newline-delimited), at most HNV_API_MAX_LINE bytes. Every object carries
 * "v": HNV_API_VERSION; a request with another version is refused.
 * The daemon answers requests of one connection in order.
 *
 * Authorization (SO_PEERCRED): uid 0 may do everything; other members of
 * the hnvgw group may only use the read-only ops (show, diff, revisions,
 * nexthop); anyone else is refused.
 *
 * Requests ("op" selects):
 *   {"v":1,"op":"exec","lines":["rdomain add blue --rdid {...}", ...],
 *    "confirm":SECONDS?}
 *       One transaction of config-text lines (mgmt/conftext.h grammar):
 *       validated against the whole resulting config, applied all or
 *       nothing, persisted as a new revision, then acknowledged. With
 *       "confirm", it is rolled back unless "commit-confirm" follows within
 *       SECONDS. "result": {"rev":N, "applied":true} or, when the gateway
 *       role could not apply all of it (stored all the same; issue 17
 *       finding 13), {"rev":N, "applied":false, "not_applied":[{"object":
 *       "gateway RDOMAIN"|"s2s NAME", "error":TEXT}]}; rollback alike.
 *       A transaction larger than one line is sent in chunks on one
 *       connection (issue 17 finding 7): each chunk but the last carries
 *       "more": true (and no "confirm"); the daemon keeps its lines and
 *       answers "result": {"pending": LINES SO FAR}; the last chunk (no
 *       "more") runs all of them as one transaction, numbered as sent. At
 *       most HNV_EXEC_MAX_LINES lines and HNV_TXN_MAX_BYTES bytes in all;
 *       the lines kept are dropped when a chunk or the transaction is
 *       refused or the connection closes.
 *   {"v":1,"op":"commit-confirm"}
 *   {"v":1,"op":"show","what":W,"secrets":false,"offset":K?,
 *    "vsid":N?,"ca":"IP"?,"pa":"IP"?}
 *       W: rdomains | vsubnets | lookup | routes | ports | pa | gateways |
 *          s2s | counters | config | revisions | global.
 *       "result" is an array of objects (one per row) except for
 *       config (a string: the config text, which replayed rebuilds the same
 *       state; PSKs print as <secret> unless "secrets" is true and the
 *       client is root).
 *       Filters (done by the daemon): "vsid" keeps the rows of that VSID
 *       (lookup, ports, routes, vsubnets, pools), "ca" the rows with that
 *       customer address (lookup, ports), "pa" those with that provider
 *       address (lookup); another target refuses a filter.
 *       Pages (issue 17 finding 7): with "offset", the reply holds the rows
 *       (config: the lines) from number K on, as many as fit in
 *       HNV_API_PAGE_BYTES (at least one): "result": {"rows":[...]} or
 *       {"text":"..."}, "rev": the revision it was made from, and "next":
 *       the offset of the following page, absent on the last. A client
 *       starts at 0 and asks again while there is a "next", starting over
 *       when "rev" changed. Without "offset", a reply longer than
 *       HNV_API_MAX_LINE is refused.
 *   {"v":1,"op":"diff","from":N,"to":M,"offset":K?}
 *       unified diff of two revisions; "offset" pages it by lines as show
 *       config does.
 *   {"v":1,"op":"rollback","rev":N}          applies revision N as a new one
 *   {"v":1,"op":"nexthop","vsid":N,"src":"IP"?,"dst":"IP"}
 *       What the datapath would do with a packet from a VM in VSID N (from
 *       src, or the first port/record CA of that VSID) to dst: the same
 *       decision code as replay and trace. "result": {"verdict", "counter",
 *       "stages":[...], "vsid", "next_hop_ca", "pa", "mac", "egress"}.
 *
 *   {"v":1,"op":"trace","count":N,"port":NAME?}
 *       Host edge only, root only. The forwarding thread traces the next N
 *       (1-64) packets received on port NAME ("uplink" for the provider
 *       uplink; any port without "port"); a new trace replaces the previous
 *       one. "result": {"session":ID,"count":N}. The forwarding thread never
 *       waits for this: the records are handed back through memory it
 *       publishes (datapath/io/fwd.h).
 *   {"v":1,"op":"trace","session":ID}
 *       The records of session ID traced so far, "result":
 *       {"session":ID,"records":[...]}, each record as hnvgw-dp replay
 *       --trace prints it: {"packet","ingress","stages":[{"stage",
 *       "decision"}],"verdict":"forward"|"drop","egress"?,"vsid","counter"}.
 *       The client polls until it has N records or gives up.
 *
 * Replies: {"v":1,"ok":true,"result":...} or
 *          {"v":1,"ok":false,"error":"message naming the bad value"}.
 *
 * Lookup rows (show lookup) use the NetWNV names so the PowerShell front end
 * can print them: CustomerAddress, VirtualSubnetID, MACAddress (12 hex
 * digits, upper case), ProviderAddress, CustomerID, Context, Rule
 * (TranslationMethodEncap|Nat|None), VMName, UseVmMACAddress, Type (Static|
 * Dynamic|GatewayWildcard|L2Only). Route rows: RoutingDomainID, VirtualSubnetID,
 * DestinationPrefix, NextHop, Metric (and "rdomain", the hnvgw name). PA rows:
 * ProviderAddress, PrefixLength, InterfaceName. Other rows use lower-case
 * hnvgw names.
 */
#ifndef HNV_API_H
#define HNV_API_H

#define HNV_API_VERSION 1
#define HNV_API_MAX_LINE (1024 * 1024)
#define HNV_API_PAGE_BYTES (256 * 1024)       /* a page of a paged reply, about */
#define HNV_TXN_MAX_BYTES (64u * 1024 * 1024) /* lines of a chunked transaction */
#define HNV_API_DEFAULT_SOCK "/run/hnvgw/hnvgw.sock"

#include "../lib/hnv_types.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- requests (the codec, mgmt/api.c; no daemon state) ---- */

enum hnv_op {
	HNV_OP_EXEC,
	HNV_OP_COMMIT_CONFIRM,
	HNV_OP_SHOW,
	HNV_OP_DIFF,
	HNV_OP_ROLLBACK,
	HNV_OP_NEXTHOP,
	HNV_OP_TRACE,
	HNV_OP_S2S, /* {"name": tunnel, "action": "up"|"down"} */
};

#define HNV_EXEC_MAX_LINES 100000 /* lines of one transaction */
#define HNV_CONFIRM_MAX 86400     /* seconds */
#define HNV_SHOW_WHAT_MAX 31      /* bytes of a "what" */

struct hnv_request {
	enum hnv_op op;
	union {
		struct {
			char **lines; /* n pointers into buf; may hold PSKs */
			size_t n;
			char *buf;
			size_t buflen;
			unsigned confirm; /* seconds; 0: no confirm */
			bool more;        /* a chunk: more lines follow */
		} exec;
		struct {
			char what[HNV_SHOW_WHAT_MAX + 1]; /* [a-z0-9-]+, not yet checked
							   * against the model's list */
			bool secrets;
			bool paged; /* "offset" given */
			uint64_t offset;
			bool has_vsid, has_ca, has_pa;
			uint32_t vsid; /* within HNV_VSID_MIN..HNV_VSID_MAX */
			struct hnv_ip ca, pa;
		} show;
		struct {
			unsigned from, to;
			bool paged;
			uint64_t offset;
		} diff;
		struct {
			unsigned rev;
		} rollback;
		struct {
			uint32_t vsid; /* within HNV_VSID_MIN..HNV_VSID_MAX */
			bool has_src;
			struct hnv_ip src, dst;
		} nexthop;
		struct {
			unsigned count; /* start a session: 1..64; 0: read one */
			uint64_t session;
			bool has_port;
			char port[HNV_NAME_MAX + 1]; /* a port name or "uplink" */
		} trace;
		struct {
			char name[HNV_NAME_MAX + 1];
			bool up;
		} s2s;
	} u;
};

/* Parses and validates one request line (len bytes, without its '\n'; need
 * not be NUL-terminated). Returns 0 and fills *req (release it with
 * hnv_request_clear), or -EINVAL with a message in err; *req needs no
 * clearing then. Strict: the object must carry "v": HNV_API_VERSION, a known
 * "op", exactly the fields of that op with their JSON types, and nothing
 * after the object. */
int hnv_request_parse(const char *line, size_t len, struct hnv_request *req, char *err,
		      size_t errlen);
/* Frees what the request owns, zeroing exec lines first (PSKs). */
void hnv_request_clear(struct hnv_request *req);
const char *hnv_op_name(enum hnv_op op);
/* True for the ops that change the configuration (root only). */
bool hnv_op_changes(enum hnv_op op);

/* Replies: {"v", "ok": true, "result": result} (takes result) and
 * {"v", "ok": false, "error": msg}. New objects, the caller's. */
json_object *hnv_reply_ok(json_object *result);
json_object *hnv_reply_error(const char *msg);

/* Replaces in msg (msglen bytes, NUL-terminated) every occurrence of a
 * secret of the exec lines with <secret>: the PSK of each line that parses
 * as "s2s add" (mgmt/conftext.h). The parser's own messages never show a
 * PSK; this keeps the PSK of a valid line out of messages made later (the
 * model's checks, the exec hook). */
void hnv_scrub_secrets(char *msg, size_t msglen, const char *const *lines, size_t n);

#endif
