/* ps_int.h: the NetWNV front end's private interface between its stages
 * (the public one is ps.h; the overview is in ps.c).
 *
 *   ps_lex.c      script bytes -> tokens
 *   ps_vars.c     tokens -> tokens: $name = value assignments taken out,
 *                 every later $name replaced by its value's tokens
 *   ps_param.c    the vocabulary: parameters, their types, the cmdlets and
 *                 which parameters each takes, NetWNV's enums and numbers
 *   ps_bind.c     tokens -> statements of typed, checked values
 *   ps_pipe.c     the PowerShell stages of a pipeline after Get-...:
 *                 Where-Object, Select-Object, Format-Table, Format-List
 *   ps_run.c      statements -> calls of hnv_ps_io, one transaction each;
 *                 config lines, show rows, errors
 *   ps_format.c   object classes: properties of show rows, filters,
 *                 Format-List output
 *   ps_cmdlets.c  what each cmdlet does
 *   ps_view.c     Where-Object conditions on rows; Format-Table/List of
 *                 the chosen properties
 *
 * Nothing here is used outside mgmt/cli/ps*.c.
 */
#ifndef HNV_PS_INT_H
#define HNV_PS_INT_H

#include "ps.h"

#include "../../lib/addr.h"
#include "../../lib/hnv_types.h"
#include "../../lib/vec.h"
#include "../conftext.h" /* HNV_CONF_PREFIXES_MAX */

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
	TK_VAR,    /* $name (s is the name); none is left after ps_expand_vars */
	TK_MEMBER, /* $_.Name (s is the property name) */
	TK_ASSIGN, /* = at the start of a token */
	TK_LBRACE, /* { opening a script block (not a GUID) */
	TK_RBRACE, /* } closing it */
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

/* Takes the assignments "$name = value[, value...]" (a statement of its
 * own) out of tk and replaces every later $name by the tokens of its value
 * (names in any case). 0, or -EINVAL / -ENOMEM with "line N: ..." in msg:
 * a variable used before it is set, an assignment of anything but values,
 * a '=' elsewhere. (ps_vars.c) */
int ps_expand_vars(struct ps_toks *tk, char *msg);

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
	VB_SELECT
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
	const enum pid *pos; /* positional parameters, position 0 first */
	size_t npos;
};

/* The cmdlet named name (any case), or NULL. */
const struct cmdlet *ps_cmdlet_find(const char *name);
/* The flags of parameter id in cmdlet c; false if c does not take it. */
bool ps_cmdlet_param(const struct cmdlet *c, enum pid id, uint8_t *flags);
/* " -A -B ..." : the parameters c takes, for messages (buf of len bytes). */
void ps_cmdlet_params_desc(const struct cmdlet *c, char *buf, size_t len);

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

/* A Where-Object condition: $_.Prop -op value. */
enum cop {
	OP_EQ,
	OP_NE,
	OP_LIKE,
	OP_NOTLIKE,
	OP_MATCH,
	OP_NOTMATCH
};

struct cond {
	unsigned prop; /* index into the class's props */
	enum cop op;
	const char *text; /* the value as written */
	uint32_t u;       /* -eq/-ne on a number or enum: the value */
	bool b;           /* -eq/-ne on a Boolean: the value */
	void *re;         /* -match/-notmatch: the compiled regex_t */
};

/* How Get-... output is shown: Select-Object chooses properties (and
 * with 4 or fewer PowerShell shows a table), Format-Table / Format-List
 * choose the layout and may name properties too. */
#define PS_VIEW_MAX 16
enum view_kind {
	VIEW_DEFAULT,
	VIEW_LIST,
	VIEW_TABLE
};
struct view {
	enum view_kind kind;
	bool selected;            /* Select-Object chose idx */
	unsigned n;               /* 0: every property the class prints */
	uint8_t idx[PS_VIEW_MAX]; /* indexes into the class's props */
};

struct stmt {
	unsigned n; /* 1, or 2 for Get-... | Remove-... or Set-... */
	struct cmd c[2];
	size_t where, nwhere; /* its conditions: ps_prog conds[where, where + nwhere) */
	struct view view;
};

/* The statements of a script. st[i] values point into vals, their texts
 * into the tokens, which must outlive them. */
struct ps_prog {
	struct stmt *st;
	size_t nst, capst;
	struct val *vals;
	size_t nvals, capvals;
	struct cond *conds;
	size_t nconds, capconds;
};

/* The binder's cursor over the tokens (ps_bind.c, ps_pipe.c). */
struct bind {
	const struct tok *t;
	size_t i, ntok;
	struct ps_prog *p;
	char *msg;
};
const struct tok *ps_cur(const struct bind *b);
void ps_advance(struct bind *b);

/* Binds the stage after a '|' whose name is the word at the cursor when
 * it is Where-Object (where, ?), Select-Object (select), Format-Table
 * (ft) or Format-List (fl), into s; *taken says whether it was one.
 * Checks the stage may follow what s has so far. (ps_pipe.c) */
int ps_bind_stage(struct bind *b, struct stmt *s, bool *taken);
/* Is name one of those stages (any case)? */
bool ps_is_stage(const char *name);

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
	const struct cond *conds;
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
/* The index of the printed property named name (any case) in cl, or -1. */
int ps_class_prop(const struct ps_class *cl, const char *name);

/* Property p of row as PowerShell prints it (ps_prop_display), in buf
 * (len >= 64) or pointing into the row. */
const char *ps_prop_text(const struct prop *p, json_object *row, char *buf, size_t len);

/* PowerShell -like: * and ? wildcards, case-insensitive. */
bool ps_like(const char *s, const char *pattern);

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

/* ---- Where-Object and the views (ps_view.c) ---- */

/* Does row satisfy each of the n conditions c? */
bool ps_where_matches(const struct ps_class *cl, const struct cond *c, size_t n, json_object *row);
/* Prints rows (an array) as v says: Format-List (a blank line before each
 * object, names padded to the longest, two blank lines after the last) or
 * Format-Table (header, dashes, one line per row, numbers right-aligned).
 * Nothing when out is NULL or rows is empty. */
void ps_print_rows(FILE *out, const struct ps_class *cl, const struct view *v, json_object *rows);

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
/* Statement s: its first cmdlet selects the rows (with its filters and
 * the Where-Object conditions), the last acts on them: Get prints (as the
 * statement's view says), Remove and Set commit one transaction. */
void ps_query(struct run *r, const struct stmt *s);
void ps_set_global(struct run *r, const struct cmd *c);
void ps_select_nexthop(struct run *r, const struct cmd *c);

#endif
