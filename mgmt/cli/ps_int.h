/* ps_int.h: the NetWNV front end's private interface between its stages
 * (the public one is ps.h; the overview is in ps.c).
 *
 *   ps_lex.c      script bytes -> tokens
 *   ps_param.c    the vocabulary: parameters, their types, the cmdlets and
 *                 which parameters each takes, NetWNV's enums and numbers
 *   ps_bind.c     tokens -> statements of typed, checked values
 *   ps_run.c      statements -> calls of hnv_ps_io, one transaction each;
 *                 config lines, show rows, errors
 *   ps_format.c   object classes: properties of show rows, filters,
 *                 Format-List output
 *   ps_cmdlets.c  what each cmdlet does
 *
 * Nothing here is used outside mgmt/cli/ps*.c.
 */
#ifndef HNV_PS_INT_H
#define HNV_PS_INT_H

#include "ps.h"

#include "../conftext.h" /* HNV_CONF_PREFIXES_MAX */
#include "../../lib/addr.h"
#include "../../lib/hnv_types.h"
#include "../../lib/vec.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PS_SCRIPT_MAX (1u << 20) /* bytes of one script, like one API request */
#define PS_LIST_MAX 4096         /* values of one comma list */
#define PS_VALUE_MAX 4096        /* bytes of one value: a config line is no longer */
#define MSG_MAX 512              /* one error message */
#define SHOW_MAX 64              /* bytes of a value quoted in a message */

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

#define PS_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- characters and messages (ps_lex.c) ---- */

static inline bool ps_is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline bool ps_is_ctrl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* True when s begins with prefix p, ignoring case (ASCII). */
bool ps_caseprefix(const char *s, const char *p);

/* A value for a message: at most SHOW_MAX bytes, control characters as
 * '?', "..." when cut. buf has SHOWBUF bytes; returns buf. */
#define SHOWBUF (SHOW_MAX + 4)
const char *ps_show(const char *s, char buf[SHOWBUF]);

/* A syntax error: msg (MSG_MAX bytes) = "line N: " and the formatted
 * message. Returns -EINVAL. */
int ps_syntax_err(char *msg, unsigned line, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* ---- tokens (ps_lex.c) ---- */

enum tk {
	TK_WORD,   /* a bare word: cmdlet name or unquoted value */
	TK_STRING, /* a quoted string, quotes and escapes resolved */
	TK_PARAM,  /* -Name or -Name: (s is the name without '-' and ':') */
	TK_TRUE,   /* $true */
	TK_FALSE,  /* $false */
	TK_COMMA,
	TK_PIPE,
	TK_NL,   /* end of line */
	TK_SEMI, /* ; */
	TK_EOF,
};

struct tok {
	enum tk kind;
	bool colon; /* TK_PARAM written as -Name: */
	unsigned line, col;
	const char *s; /* NUL-terminated; for punctuation a description */
};

/* The tokens of a script; t[n - 1] is TK_EOF. Every s points into arena
 * or at a static text. */
struct ps_toks {
	struct tok *t;
	size_t n, cap;
	char *arena;
};

/* Splits script (len bytes, at most PS_SCRIPT_MAX) into tokens: quotes,
 * escapes, line continuations and comments resolved. 0, or -EINVAL /
 * -ENOMEM with "line N: ..." in msg (MSG_MAX bytes). out is to be freed
 * with ps_toks_free either way. */
int ps_lex(const char *script, size_t len, struct ps_toks *out, char *msg);
void ps_toks_free(struct ps_toks *tk);

/* A token described for a message: "string \"...\"" and the like. buf has
 * DESCBUF bytes; returns buf. */
#define DESCBUF (SHOWBUF + 16)
const char *ps_tok_desc(const struct tok *t, char buf[DESCBUF]);

static inline bool ps_is_value(const struct tok *t)
{
	return t->kind == TK_WORD || t->kind == TK_STRING || t->kind == TK_TRUE ||
	       t->kind == TK_FALSE;
}

/* ---- parameters and cmdlets (ps_param.c) ---- */

enum pid {
	P_CUSTOMER_ADDRESS,
	P_VSID,
	P_MAC,
	P_PROVIDER_ADDRESS,
	P_CUSTOMER_ID,
	P_CONTEXT,
	P_RULE,
	P_VM_NAME,
	P_USE_VM_MAC,
	P_TYPE,
	P_UNUSABLE,
	P_UNSYNCHRONIZED,
	P_RDID,
	P_DEST_PREFIX,
	P_NEXTHOP,
	P_METRIC,
	P_IFINDEX,
	P_PREFIX_LEN,
	P_VLAN,
	P_ADDRESS_STATE,
	P_MANAGED_BY_CLUSTER,
	P_USE_EXT_ROUTER,
	P_SRC_CA,
	P_DST_CA,
	P_SRC_VSID,
	P_CIM_SESSION,
	P_THROTTLE,
	P_AS_JOB,
	P_CONFIRM,
	P_WHATIF,
	P__COUNT
};

enum vtype {
	V_UINT,   /* decimal or 0x hex, in [min, max] */
	V_IP,     /* IPv4 or IPv6 */
	V_MAC,    /* 12 hex digits, or with - or : */
	V_GUID,   /* braces optional */
	V_PREFIX, /* IP/LEN, host bits zero */
	V_RULE,   /* TranslationMethodNat|Encap|None or 35|36|37 */
	V_TYPE,   /* Static|Dynamic|GatewayWildcard|L2Only or 35|36|37|41 */
	V_BOOL,   /* $true, $false, 1, 0; alone: true */
	V_SWITCH, /* alone, or -Name:$true / -Name:$false */
	V_STR,    /* any text without control characters (tab allowed) */
	V_ANY,    /* accepted and ignored */
};

struct pdef {
	const char *name;
	enum vtype type;
	uint32_t min, max;
};
extern const struct pdef ps_pdefs[P__COUNT];

/* Parameter flags within one cmdlet. */
#define F_REQ 0x1    /* mandatory */
#define F_LIST 0x2   /* accepts a comma list */
#define F_FILTER 0x4 /* selects objects (Get/Set/Remove) */
#define F_SET 0x8    /* a value Set-... changes */

struct cparam {
	enum pid id;
	uint8_t flags;
};

enum verb {
	VB_GET,
	VB_NEW,
	VB_SET,
	VB_REMOVE,
	VB_SELECT,
	VB_FORMAT
};
enum noun {
	N_LOOKUP,
	N_CROUTE,
	N_PA,
	N_PROUTE,
	N_GLOBAL,
	N_NEXTHOP,
	N_NONE
};

struct cmdlet {
	const char *name;
	enum verb verb;
	enum noun noun;
	const struct cparam *p;
	size_t np;
};

/* The cmdlet named name (any case), or NULL. */
const struct cmdlet *ps_cmdlet_find(const char *name);
/* The flags of parameter id in cmdlet c; false if c does not take it. */
bool ps_cmdlet_param(const struct cmdlet *c, enum pid id, uint8_t *flags);

/* A NetWNV enum value: its PowerShell name, its config-text name, its
 * number. */
struct ps_enum {
	const char *name, *conf;
	unsigned num;
};
extern const struct ps_enum ps_rules[3], ps_types[4];

/* Index of s in ps_rules (is_rule) or ps_types by name (any case) or
 * number; with conf, the hnvgw name is accepted too (rows from the daemon).
 * -1 if none. */
int ps_enum_find(const char *s, bool is_rule, bool conf);

/* Unsigned number as PowerShell writes it: decimal (leading zeros allowed)
 * or 0x hex; false on syntax error or above max. */
bool ps_num_parse(const char *s, uint32_t max, uint32_t *out);

/* True/False, $true/$false, 1/0, on/off, yes/no (any case); false if none. */
bool ps_bool_text(const char *s, bool *out);

/* ---- bound statements (ps_bind.c) ---- */

struct val {
	const char *text; /* as written (resolved quotes), for messages */
	union {
		uint32_t u;
		bool b;
		struct hnv_ip ip;
		struct hnv_mac mac;
		struct hnv_guid guid;
		struct hnv_prefix pfx;
	} v;
};

struct arg {
	unsigned n; /* 0: not given */
	struct val *v;
};

struct cmd {
	const struct cmdlet *def;
	unsigned line, col;
	struct arg a[P__COUNT];
};

struct stmt {
	unsigned n; /* 1, or 2 for a pipeline */
	struct cmd c[2];
};

/* The statements of a script. st[i] values point into vals, their texts
 * into the tokens, which must outlive them. */
struct ps_prog {
	struct stmt *st;
	size_t nst, capst;
	struct val *vals;
	size_t nvals, capvals;
};

/* Binds the tokens tk (ending in TK_EOF) into statements: cmdlets
 * resolved, parameters matched, values converted, mandatory parameters
 * and pipelines checked. 0, or -EINVAL / -ENOMEM with "line N: ..." in
 * msg (MSG_MAX bytes). out is to be freed with ps_prog_free either way. */
int ps_bind(const struct ps_toks *tk, struct ps_prog *out, char *msg);
void ps_prog_free(struct ps_prog *p);

/* Was cmdlet c given parameter id, which has flag (F_FILTER, F_SET) in
 * c's cmdlet? (ps_param.c) */
bool ps_given(const struct cmd *c, enum pid id, uint8_t flag);
/* Was f given any parameter with flag? (ps_param.c) */
bool ps_has_flag(const struct cmd *f, uint8_t flag);

/* ---- the runner (ps_run.c) ---- */

struct run {
	const struct hnv_ps_io *io;
	const struct stmt *st;
	size_t nst;
	bool failed;
	bool not_applied; /* a commit was stored but not (fully) applied */
	size_t *pending;  /* statements waiting for their VSID (New-...LookupRecord) */
	size_t npending;
};

/* Runs the statements of p in order through io. Returns 0 when each
 * succeeded, 1 when one failed (each failure reported on io->err), 4 when
 * none failed but a commit was not (fully) applied, or -1
 * with "line 1: out of memory" in msg before anything ran. */
int ps_run(const struct ps_prog *p, const struct hnv_ps_io *io, char *msg);

/* Reports an error of cmdlet c as PowerShell does and marks the statement
 * failed. */
void ps_fail(struct run *r, const struct cmd *c, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* Reports that a show WHAT row lacks a valid field; returns false. */
bool ps_bad_row(struct run *r, const struct cmd *c, const char *what, const char *field);

/* Did cmdlet c get -WhatIf (true)? */
bool ps_whatif(const struct cmd *c);

/* Config lines of one transaction: each a malloc'd text. */
struct lines {
	char **v;
	size_t n, cap;
	bool oom;
};

/* Moves the text of b into l (b is empty afterwards); an allocation
 * failure of either marks l. */
void ps_lines_push(struct lines *l, struct hnv_buf *b);
void ps_lines_free(struct lines *l);

/* Commits l as one transaction for cmdlet c (or prints it under -WhatIf).
 * Takes ownership of l. Returns true on success. */
bool ps_commit(struct run *r, const struct cmd *c, struct lines *l);

/* Values in config text. ps_buf_val writes v bare when it is made of
 * characters that can never start an option or a comment, otherwise
 * "double quoted" with \" and \\ escaped; false (nothing written) for
 * control characters, which config text cannot carry (tab excepted).
 * MACs are written as NetWNV does, 12 upper-case hex digits. */
bool ps_buf_val(struct hnv_buf *b, const char *v);
void ps_buf_ip(struct hnv_buf *b, const struct hnv_ip *ip);
void ps_buf_prefix(struct hnv_buf *b, const struct hnv_prefix *p);
void ps_buf_mac(struct hnv_buf *b, const struct hnv_mac *m);
void ps_buf_guid(struct hnv_buf *b, const struct hnv_guid *g);

/* The rows of show WHAT as an array the caller puts, or NULL after an
 * error was reported. A single object (show global) becomes one row. */
json_object *ps_show_rows(struct run *r, const struct cmd *c, const char *what);

/* A scalar field of a row as text: strings as they are (pointing into the
 * row), numbers in decimal (in buf), booleans True/False; NULL when
 * absent, null or not a scalar. */
const char *ps_row_text(json_object *row, const char *key, char *buf, size_t len);
bool ps_row_uint(json_object *row, const char *key, uint32_t max, uint32_t *out);
bool ps_row_ip(json_object *row, const char *key, struct hnv_ip *out);
bool ps_row_prefix(json_object *row, const char *key, struct hnv_prefix *out);

/* ---- object classes and Format-List (ps_format.c) ---- */

#define PR_HIDDEN 0x1  /* a filter only, not printed */
#define PR_IFINDEX 0x2 /* the row holds an interface name; the value is its index */

struct prop {
	enum pid id;
	const char *key;  /* field of the show row, NULL: always dflt */
	const char *dflt; /* when the row lacks the field */
	uint8_t flags;
};

/* The objects of a noun that Get reads: rows of show WHAT. */
struct ps_class {
	const char *what; /* show WHAT */
	const char *cim;  /* the CIM class, as PowerShell names it in errors */
	const struct prop *props;
	size_t nprops;
};

/* The class of noun (N_LOOKUP .. N_GLOBAL). */
const struct ps_class *ps_class_of(enum noun noun);

/* MACs as NetWNV writes them: 12 upper-case hex digits. */
void ps_fmt_mac12(const struct hnv_mac *m, char t[13]);

/* Property text as PowerShell prints it: addresses canonical, MACs as 12
 * upper-case hex digits, GUIDs {UPPER}, booleans True/False, enums by
 * name; anything that does not parse is returned as it came (raw). */
const char *ps_prop_display(enum vtype ty, const char *raw, char *buf, size_t len);

/* A row matches when, for every filter cmdlet f was given, one of its
 * values matches. */
bool ps_row_matches(const struct ps_class *cl, const struct cmd *f, json_object *row);
/* "-CustomerAddress 10.0.0.5,10.0.0.7 -VirtualSubnetID 5001" */
void ps_filters_desc(const struct cmd *f, char *buf, size_t len);

/* Format-List: a blank line before each object, names padded to the
 * longest; ps_print_end writes the two blank lines after the last one.
 * Nothing when out is NULL. */
void ps_print_object(FILE *out, const struct ps_class *cl, json_object *row);
void ps_print_end(FILE *out, size_t nobj);

/* The answer of Select-NetVirtualizationNextHop: texts as the "nexthop"
 * op returned them (NULL: absent), dst as the cmdlet was given it. */
struct ps_nexthop {
	const char *src, *dst, *next_hop, *src_mac, *mac;
	uint32_t vsid;
};
/* Format-List of it with the property names Windows uses. */
void ps_print_nexthop(FILE *out, const struct ps_nexthop *nh);

/* ---- cmdlets (ps_cmdlets.c): each reports its own failure ---- */

/* New-NetVirtualizationLookupRecord, statement idx. When its VSID is
 * unknown and may_wait, and a later statement (from next on) is a
 * New-NetVirtualizationCustomerRoute for it, the statement is appended to
 * r->pending instead. */
void ps_new_lookup(struct run *r, size_t idx, size_t next, bool may_wait);
/* New-NetVirtualizationCustomerRoute, statement idx: also creates the
 * rdomain and virtual subnet it implies (see ps_cmdlets.c). */
void ps_new_croute(struct run *r, size_t idx);
void ps_new_pa(struct run *r, const struct cmd *c);
void ps_new_proute(struct run *r, const struct cmd *c);
/* f selects the rows (the Get of a pipeline, or the cmdlet itself); a acts
 * on them: Get prints, Remove and Set commit one transaction. */
void ps_query(struct run *r, const struct cmd *f, const struct cmd *a);
void ps_set_global(struct run *r, const struct cmd *c);
void ps_select_nexthop(struct run *r, const struct cmd *c);

#endif
