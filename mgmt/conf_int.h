/* conf_int.h: what the config text's modules share; private to mgmt/conf_*.c.
 *
 * The config text (grammar in conftext.h) is handled in layers, each
 * trusting only what the previous one guarantees:
 *   conf_lex.c     bytes of one line -> at most CONF_WORDS_MAX NUL-terminated
 *                  words (quotes and escapes resolved, comment dropped);
 *   conf_parse.c   words -> struct hnv_conf_cmd: the command and option
 *                  tables, every value parsed and range checked
 *                  (conf_value.c), the S2S options in conf_s2s.c;
 *   conf_apply*.c  commands -> datapath calls, with the checks that need the
 *                  current tables (conf_apply.h);
 *   conf_format.c  command -> its canonical line (hnv_conf_format).
 * Nothing here keeps state between calls, except through a batch.
 *
 * PSKs: a parsed line's words are cleared after use, no message shows a
 * word of an "s2s add" line, and a message that would show a piece of the
 * line's PSK (put where another value belongs) is replaced (conf_scrub).
 */
#ifndef HNV_CONF_INT_H
#define HNV_CONF_INT_H

#include "conf_check.h"
#include "conftext.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CONF_LINE_MAX 4096 /* bytes of one line, without its "\r\n" */
#define CONF_WORDS_MAX 96  /* the longest valid command (s2s add) has 88 words */
#define CONF_MSG_MAX 512   /* one message before the "line N: " prefix */

/* A value shown in a message: at most 64 bytes of it, then "..." if cut.
 * SHOWF goes in the format string, SHOWA(v) in the arguments. */
#define SHOW_MAX 64
#define SHOWF "\"%.64s%s\""
#define SHOWA(v) (v), (strlen(v) > SHOW_MAX ? "..." : "")

/* True when s holds a NUL within its size bytes: a command's strings are
 * checked before use, since a caller may build a command by hand. */
static inline bool conf_terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}
#define CONF_TERMINATED(field) conf_terminated((field), sizeof(field))

/* ---- the tokenizer (conf_lex.c) ---- */

struct conf_word {
	const char *s; /* NUL-terminated, inside conf_words.buf */
	bool quoted;   /* a quoted word is always a value, never an option */
};

struct conf_words {
	unsigned n;
	size_t comment; /* where the line's comment ('#') starts, or its length */
	struct conf_word w[CONF_WORDS_MAX];
	char buf[CONF_LINE_MAX + 1]; /* unescaped words never outgrow the line */
};

/* Space or tab: what separates words. */
bool conf_is_blank(char c);

/* Splits s[0..len) (no line terminator, no NUL) into ws: 0, or -EINVAL with
 * a message naming a column, never a character (the line may hold a PSK). */
int conf_tokenize(const char *s, size_t len, struct conf_words *ws, char *err, size_t errlen);

/* ---- one command being parsed (conf_parse.c) ---- */

enum conf_opt {
	OPT_RDID,
	OPT_RDOMAIN,
	OPT_PREFIX,
	OPT_DEV,
	OPT_VSID,
	OPT_CA,
	OPT_PA,
	OPT_MAC,
	OPT_RULE,
	OPT_TYPE,
	OPT_VM_NAME,
	OPT_CUSTOMER_ID,
	OPT_CONTEXT,
	OPT_USE_VM_MAC,
	OPT_NEXTHOP,
	OPT_METRIC,
	OPT_GATEWAY_MAC,
	OPT_FLOWID,
	OPT_UPLINK_MTU,
	OPT_USE_EXT_ROUTER,
	OPT_VRF,
	OPT_TABLE,
	OPT_CORP_DEV,
	OPT_NAT_EXTERNAL,
	OPT_CORP_ADDR,
	OPT_CORP_NEXTHOP,
	OPT_BGP_ASN,
	OPT_BGP_PEER,
	OPT_BGP_PEER_ASN,
	OPT_PEER,
	OPT_LOCAL_ADDR,
	OPT_LOCAL_ID,
	OPT_REMOTE_ID,
	OPT_PSK,
	OPT_CERT,
	OPT_KEY,
	OPT_CA_CERT,
	OPT_IKE_PROPOSAL,
	OPT_ESP_PROPOSAL,
	OPT_REMOTE_PREFIX,
	OPT_DPD,
	OPT_LOCAL_NETMAP,
	OPT_REMOTE_NETMAP,
	OPT_RANGE,
	OPT_DNS,
	OPT_LEASE,
	OPT_TO,
	OPT_ALLOW_LEGACY,
	OPT_LOCAL,
	OPT_REMOTE,
	OPT_ADDR,
	OPT_VLAN,
	OPT_RATE_OUT,
	OPT_RATE_IN,
	OPT_ASN,
	OPT_SOURCE,
	OPT_PREFIX_IN,
	OPT_PREFIX_OUT,
	OPT_POOL,
	OPT__COUNT
};

#define VALS_MAX 16 /* the most values a repeatable option may have */

/* The words of one command, sorted by option. The option table (conf_parse.c)
 * guarantees that required options are present and that an option appears
 * at most as often as the command allows. */
struct conf_pctx {
	const char *cmd; /* "lookup add", for messages */
	const char *pos; /* the positional argument, or NULL */
	unsigned n[OPT__COUNT];
	const char *val[OPT__COUNT][VALS_MAX];
	char *err;
	size_t errlen;
};

/* The first value of option o, or NULL when it was not given. */
static inline const char *conf_opt1(const struct conf_pctx *c, enum conf_opt o)
{
	return c->n[o] ? c->val[o][0] : NULL;
}

/* ---- value getters (conf_value.c) ----
 * Each parses one value v into out and returns 0, or -EINVAL with a message
 * "<cmd>: invalid <what> "<v>": <why>" in c->err. */

int conf_bad(struct conf_pctx *c, const char *what, const char *v, const char *why);
int conf_get_vsid(struct conf_pctx *c, const char *v, uint32_t *out);
/* unspec_ok: 0.0.0.0 and :: are accepted. */
int conf_get_ip(struct conf_pctx *c, const char *what, const char *v, bool unspec_ok,
		struct hnv_ip *out);
/* A unicast address: not unspecified, multicast or IPv4 broadcast. */
int conf_get_unicast(struct conf_pctx *c, const char *what, const char *v, struct hnv_ip *out);
/* An IPv4 unicast address (pools). */
int conf_get_ip4(struct conf_pctx *c, const char *what, const char *v, struct hnv_ip *out);
/* A prefix without host bits. */
int conf_get_prefix(struct conf_pctx *c, const char *what, const char *v, struct hnv_prefix *out);
/* The --remote-prefix values into out[] (room for the parser's count) and
 * their number into *n; two that overlap are refused naming both. */
int conf_get_remote_prefixes(struct conf_pctx *c, struct hnv_prefix *out, unsigned *n);
/* A station MAC: unicast and not all-zero. */
int conf_get_mac(struct conf_pctx *c, const char *what, const char *v, struct hnv_mac *out);
int conf_get_guid(struct conf_pctx *c, const char *what, const char *v, struct hnv_guid *out);
/* A name: 1..HNV_NAME_MAX of [A-Za-z0-9_.-]; out has HNV_NAME_MAX + 1 bytes. */
int conf_get_name(struct conf_pctx *c, const char *what, const char *v, char *out);
/* An interface (or VRF) name as Linux accepts it, restricted to name
 * characters. */
int conf_get_dev(struct conf_pctx *c, const char *what, const char *v, char out[HNV_DEV_MAX + 1]);
/* Why name may not be a port's or a corp network's device: one hnvgw
 * creates or owns (a gateway port vsidN, a VRF rd-*, an XFRM interface
 * xf-*), the loopback, or "uplink" (the uplink's name in counters and
 * traces; a TAP port is named after its port). NULL: it may. */
const char *conf_reserved_dev(const char *name);
/* A host name of a shared policy: 1..HNV_CONF_HOST_MAX of [A-Za-z0-9_.-],
 * not . or .. (what hnv_sync_host_valid accepts). */
int conf_get_host(struct conf_pctx *c, const char *what, const char *v,
		  char out[HNV_CONF_HOST_MAX + 1]);
/* Free text of at most size - 1 bytes. */
int conf_get_text(struct conf_pctx *c, const char *what, const char *v, char *out, size_t size);
/* A decimal number min..max. */
int conf_get_uint(struct conf_pctx *c, const char *what, const char *v, uint32_t min, uint32_t max,
		  uint32_t *out);
int conf_get_onoff(struct conf_pctx *c, const char *what, const char *v, bool *out);
int conf_get_rule(struct conf_pctx *c, const char *v, enum hnv_rule *out);
int conf_get_type(struct conf_pctx *c, const char *v, enum hnv_rec_type *out);
/* The canonical (lower-case) name of a record type, "?" for none. */
const char *conf_type_name(enum hnv_rec_type t);

/* ---- S2S tunnels (conf_s2s.c) ---- */

/* The builders of "s2s add" and "s2s del" for the command table: fill
 * cmd->u.s2s from c; 0 or -EINVAL. No message shows (part of) the PSK. */
int conf_build_s2s_add(struct conf_pctx *c, struct hnv_conf_cmd *cmd);
/* --rate-out and --rate-in of gre, l3 and s2s add (conf_conn.c): kbit/s,
 * HNV_CONN_RATE_MIN-HNV_CONN_RATE_MAX; left 0 (unlimited) when absent. */
int conf_get_rates(struct conf_pctx *c, uint32_t *out, uint32_t *in);
int conf_build_s2s_del(struct conf_pctx *c, struct hnv_conf_cmd *cmd);

/* ---- GRE and L3 connections (conf_conn.c) ---- */

/* The builders of "gre add", "l3 add" and their "del" for the command
 * table: fill cmd->u.conn from c; 0 or -EINVAL. */
int conf_build_gre_add(struct conf_pctx *c, struct hnv_conf_cmd *cmd);
int conf_build_l3_add(struct conf_pctx *c, struct hnv_conf_cmd *cmd);
int conf_build_conn_del(struct conf_pctx *c, struct hnv_conf_cmd *cmd);

/* ---- BGP peers (conf_bgp.c) ---- */

int conf_build_bgp_peer_add(struct conf_pctx *c, struct hnv_conf_cmd *cmd);
int conf_build_bgp_peer_del(struct conf_pctx *c, struct hnv_conf_cmd *cmd);
/* hnv_conf_warning of a "bgp-peer add": one without --prefix-in learns no
 * route (by design, docs/gateway.md). */
bool conf_bgp_peer_warning(const struct hnv_conf_bgp_peer *p, char *buf, size_t len);
/* " --prefix-in P,ge=N,le=N": one filter entry as the parser reads it. */
int conf_fmt_bgp_match(const struct hnv_conf_bgp_match *m, char *buf, size_t len);

#endif
