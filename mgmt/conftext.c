/* conftext.c: the hnvgw config text (grammar in conftext.h).
 *
 * Layers, each trusting only what the previous one guarantees:
 *   tokenizer   bytes of one line -> at most CONF_WORDS_MAX NUL-terminated
 *               words (quotes and escapes resolved, comment dropped);
 *   command     words -> struct hnv_conf_cmd, every value parsed and range
 *               checked, options checked against the command's table;
 *   applier     commands -> policy/dp calls, with the checks that need the
 *               current tables (references, duplicates, CA inside VSID);
 *               a batch (hnv_conf_batch_*) also remembers what the datapath
 *               does not hold: routing domain names, provider routes,
 *               gateways, gateway CAs and tunnels;
 *   formatter   command -> its canonical line (hnv_conf_format).
 * No function here keeps state between calls, except through a batch.
 *
 * PSKs: a parsed line's words are cleared after use, no message shows a
 * word of an "s2s add" line, and a message that would show a piece of the
 * line's PSK (put where another value belongs) is replaced.
 */
#include "conftext.h"

#include "../datapath/dhcp.h"
#include "../datapath/policy_read.h"
#include "../lib/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONF_LINE_MAX 4096 /* bytes of one line, without its "\r\n" */
#define CONF_WORDS_MAX 96  /* the longest valid command (s2s add) has 83 words */
#define MSG_MAX 512        /* one message before the "line N: " prefix */
#define DEV_MAX HNV_DEV_MAX

/* A value shown in a message: at most 64 bytes of it, then "..." if cut.
 * SHOWF goes in the format string, SHOWA(v) in the arguments. */
#define SHOW_MAX 64
#define SHOWF "\"%.64s%s\""
#define SHOWA(v) (v), (strlen(v) > SHOW_MAX ? "..." : "")

/* The format attribute lets -Wformat check every message against its
 * arguments; both gcc and clang support it. */
#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif


/* ---- tokenizer ----
 * Its messages name columns, never characters: the line may hold a PSK. */

struct word {
	const char *s; /* NUL-terminated, inside words.buf */
	bool quoted;   /* a quoted word is always a value, never an option */
};

struct words {
	unsigned n;
	struct word w[CONF_WORDS_MAX];
	char buf[CONF_LINE_MAX + 1]; /* unescaped words never outgrow the line */
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Splits s[0..len) (no line terminator, no NUL) into words. */
static int tokenize(const char *s, size_t len, struct words *ws, char *err, size_t errlen)
{
	size_t i = 0, o = 0;
	ws->n = 0;
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)s[k];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			hnv_seterr(err, errlen, "control character 0x%02x at column %zu", c, k + 1);
			return -EINVAL;
		}
	}
	while (i < len) {
		if (is_blank(s[i])) {
			i++;
			continue;
		}
		if (s[i] == '#')
			break;
		if (ws->n == CONF_WORDS_MAX) {
			hnv_seterr(err, errlen, "too many words (at most %d)", CONF_WORDS_MAX);
			return -EINVAL;
		}
		/* Each input byte yields at most one output byte and every word
		 * consumes at least one byte more than its text, so o stays
		 * below len + 1 <= sizeof(buf); checked anyway. */
		struct word *w = &ws->w[ws->n];
		size_t start = i;
		w->s = ws->buf + o;
		w->quoted = s[i] == '"';
		if (w->quoted) {
			i++;
			for (;;) {
				if (i >= len) {
					hnv_seterr(err, errlen,
					       "unterminated quoted value at column %zu",
					       start + 1);
					return -EINVAL;
				}
				char c = s[i];
				if (c == '"')
					break;
				if (c == '\\') {
					if (i + 1 >= len) {
						hnv_seterr(err, errlen,
						       "unterminated quoted value at column %zu",
						       start + 1);
						return -EINVAL;
					}
					c = s[++i];
					if (c != '"' && c != '\\') {
						hnv_seterr(err, errlen,
						       "invalid escape at column %zu "
						       "(only \\\" and \\\\)",
						       i);
						return -EINVAL;
					}
				}
				if (o + 1 >= sizeof(ws->buf))
					goto too_long;
				ws->buf[o++] = c;
				i++;
			}
			i++; /* the closing quote */
			if (i < len && !is_blank(s[i]) && s[i] != '#') {
				hnv_seterr(err, errlen,
				       "unexpected character after quoted value at column %zu",
				       i + 1);
				return -EINVAL;
			}
		} else {
			while (i < len && !is_blank(s[i]) && s[i] != '#') {
				if (s[i] == '"') {
					hnv_seterr(err, errlen,
					       "unexpected quote inside word at column %zu", i + 1);
					return -EINVAL;
				}
				if (o + 1 >= sizeof(ws->buf))
					goto too_long;
				ws->buf[o++] = s[i++];
			}
		}
		if (o >= sizeof(ws->buf))
			goto too_long;
		ws->buf[o++] = '\0';
		ws->n++;
	}
	return 0;
too_long:
	hnv_seterr(err, errlen, "line too long (more than %d bytes)", CONF_LINE_MAX);
	return -EINVAL;
}

/* ---- commands and options ---- */

enum opt {
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
	OPT__COUNT
};

/* max: how often the option may appear in a command that lets it repeat
 * (cmd_def.multi); 1 for the others. */
static const struct {
	const char *name;
	bool flag; /* takes no value */
	unsigned max;
} opt_defs[OPT__COUNT] = {
	[OPT_RDID] = {"--rdid", false, 1},
	[OPT_RDOMAIN] = {"--rdomain", false, 1},
	[OPT_PREFIX] = {"--prefix", false, HNV_VSUBNET_MAX_PREFIXES},
	[OPT_DEV] = {"--dev", false, 1},
	[OPT_VSID] = {"--vsid", false, 1},
	[OPT_CA] = {"--ca", false, HNV_PORT_MAX_CAS},
	[OPT_PA] = {"--pa", false, 1},
	[OPT_MAC] = {"--mac", false, 1},
	[OPT_RULE] = {"--rule", false, 1},
	[OPT_TYPE] = {"--type", false, 1},
	[OPT_VM_NAME] = {"--vm-name", false, 1},
	[OPT_CUSTOMER_ID] = {"--customer-id", false, 1},
	[OPT_CONTEXT] = {"--context", false, 1},
	[OPT_USE_VM_MAC] = {"--use-vm-mac", true, 1},
	[OPT_NEXTHOP] = {"--nexthop", false, 1},
	[OPT_METRIC] = {"--metric", false, 1},
	[OPT_GATEWAY_MAC] = {"--gateway-mac", false, 1},
	[OPT_FLOWID] = {"--flowid", false, 1},
	[OPT_UPLINK_MTU] = {"--uplink-mtu", false, 1},
	[OPT_USE_EXT_ROUTER] = {"--use-external-router", false, 1},
	[OPT_VRF] = {"--vrf", false, 1},
	[OPT_TABLE] = {"--table", false, 1},
	[OPT_CORP_DEV] = {"--corp-dev", false, 1},
	[OPT_NAT_EXTERNAL] = {"--nat-external", false, 1},
	[OPT_CORP_ADDR] = {"--corp-addr", false, 1},
	[OPT_CORP_NEXTHOP] = {"--corp-nexthop", false, 1},
	[OPT_BGP_ASN] = {"--bgp-asn", false, 1},
	[OPT_BGP_PEER] = {"--bgp-peer", false, 1},
	[OPT_BGP_PEER_ASN] = {"--bgp-peer-asn", false, 1},
	[OPT_PEER] = {"--peer", false, 1},
	[OPT_LOCAL_ADDR] = {"--local-addr", false, 1},
	[OPT_LOCAL_ID] = {"--local-id", false, 1},
	[OPT_REMOTE_ID] = {"--remote-id", false, 1},
	[OPT_PSK] = {"--psk", false, 1},
	[OPT_CERT] = {"--cert", false, 1},
	[OPT_KEY] = {"--key", false, 1},
	[OPT_CA_CERT] = {"--ca-cert", false, 1},
	[OPT_IKE_PROPOSAL] = {"--ike-proposal", false, HNV_S2S_PROPOSALS_MAX},
	[OPT_ESP_PROPOSAL] = {"--esp-proposal", false, HNV_S2S_PROPOSALS_MAX},
	[OPT_REMOTE_PREFIX] = {"--remote-prefix", false, HNV_S2S_REMOTE_MAX},
	[OPT_DPD] = {"--dpd", false, 1},
	[OPT_LOCAL_NETMAP] = {"--local-netmap", false, HNV_S2S_NETMAP_MAX},
	[OPT_REMOTE_NETMAP] = {"--remote-netmap", false, HNV_S2S_NETMAP_MAX},
	[OPT_RANGE] = {"--range", false, 1},
	[OPT_DNS] = {"--dns", false, 1},
	[OPT_LEASE] = {"--lease", false, 1},
};

#define VALS_MAX 16 /* the largest opt_defs[].max */
_Static_assert(HNV_VSUBNET_MAX_PREFIXES <= VALS_MAX && HNV_PORT_MAX_CAS <= VALS_MAX &&
		       HNV_S2S_PROPOSALS_MAX <= VALS_MAX && HNV_S2S_REMOTE_MAX <= VALS_MAX &&
		       HNV_S2S_NETMAP_MAX <= VALS_MAX,
	       "VALS_MAX must hold every repeatable option");

/* One command being parsed. */
struct pctx {
	const char *cmd; /* "lookup add", for messages */
	const char *pos; /* the positional argument, or NULL */
	unsigned n[OPT__COUNT];
	const char *val[OPT__COUNT][VALS_MAX];
	char *err;
	size_t errlen;
};

struct cmd_def {
	const char *obj, *verb;
	enum hnv_conf_kind kind;
	const char *pos;  /* name of the positional argument, or NULL */
	uint64_t allowed; /* bit per enum opt */
	uint64_t required;
	uint64_t multi; /* options that may repeat, up to opt_defs[].max times */
	int (*build)(struct pctx *c, struct hnv_conf_cmd *cmd);
};

#define B(o) (UINT64_C(1) << (o))

/* -- value helpers: parse one option value, message names it -- */

static int bad(struct pctx *c, const char *what, const char *v, const char *why)
{
	hnv_seterr(c->err, c->errlen, "%s: invalid %s " SHOWF ": %s", c->cmd, what, SHOWA(v), why);
	return -EINVAL;
}

static const char *opt1(const struct pctx *c, enum opt o)
{
	return c->n[o] ? c->val[o][0] : NULL;
}

static int get_vsid(struct pctx *c, const char *v, uint32_t *out)
{
	const char *why;
	if (hnv_parse_vsid_why(v, out, &why) < 0)
		return bad(c, "VSID", v, why);
	return 0;
}

static int get_ip(struct pctx *c, const char *what, const char *v, bool unspec_ok,
		  struct hnv_ip *out)
{
	const char *why;
	if (hnv_parse_ip_why(v, out, &why) < 0)
		return bad(c, what, v, why);
	if (!unspec_ok && hnv_ip_is_unspec(out))
		return bad(c, what, v, "unspecified address");
	return 0;
}

static int get_prefix(struct pctx *c, const char *what, const char *v, struct hnv_prefix *out)
{
	const char *why;
	if (hnv_parse_prefix_why(v, out, false, &why) < 0)
		return bad(c, what, v, why);
	return 0;
}

/* A station MAC: unicast and not all-zero. */
static int get_mac(struct pctx *c, const char *what, const char *v, struct hnv_mac *out)
{
	static const struct hnv_mac zero;
	const char *why;
	if (hnv_parse_mac_why(v, out, &why) < 0)
		return bad(c, what, v, why);
	if (out->b[0] & 1)
		return bad(c, what, v, "multicast or broadcast address");
	if (hnv_mac_eq(out, &zero))
		return bad(c, what, v, "all-zero address");
	return 0;
}

static int get_guid(struct pctx *c, const char *what, const char *v, struct hnv_guid *out)
{
	const char *why;
	if (hnv_parse_guid_why(v, out, &why) < 0)
		return bad(c, what, v, why);
	return 0;
}

/* A name: 1..HNV_NAME_MAX of [A-Za-z0-9_.-]; out has HNV_NAME_MAX + 1 bytes. */
static int get_name(struct pctx *c, const char *what, const char *v, char *out)
{
	size_t len = strlen(v);
	if (len == 0)
		return bad(c, what, v, "empty");
	if (len > HNV_NAME_MAX)
		return bad(c, what, v, "longer than 63 characters");
	for (size_t i = 0; i < len; i++)
		if (!hnv_is_name_char(v[i]))
			return bad(c, what, v, "use only A-Z a-z 0-9 _ . -");
	memcpy(out, v, len + 1);
	return 0;
}

/* An interface (or VRF) name as Linux accepts it, restricted to name
 * characters. */
static int get_dev(struct pctx *c, const char *what, const char *v, char out[DEV_MAX + 1])
{
	size_t len = strlen(v);
	if (len == 0 || len > DEV_MAX || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return bad(c, what, v, "must be 1-15 characters, not . or ..");
	for (size_t i = 0; i < len; i++)
		if (!hnv_is_name_char(v[i]))
			return bad(c, what, v, "use only A-Z a-z 0-9 _ . -");
	memcpy(out, v, len + 1);
	return 0;
}

static int get_text(struct pctx *c, const char *what, const char *v, char *out, size_t size)
{
	size_t len = strlen(v);
	if (len >= size) {
		char why[48];
		snprintf(why, sizeof(why), "longer than %zu bytes", size - 1);
		return bad(c, what, v, why);
	}
	memcpy(out, v, len + 1);
	return 0;
}

static int get_uint(struct pctx *c, const char *what, const char *v, uint32_t min, uint32_t max,
		    uint32_t *out)
{
	if (hnv_parse_dec(v, max, out) < 0 || *out < min) {
		hnv_seterr(c->err, c->errlen,
		       "%s: invalid %s " SHOWF ": must be a decimal number %u-%u", c->cmd, what,
		       SHOWA(v), min, max);
		return -EINVAL;
	}
	return 0;
}

static int get_rule(struct pctx *c, const char *v, enum hnv_rule *out)
{
	static const struct {
		const char *a, *b;
		enum hnv_rule r;
	} t[] = {
		{"encap", "TranslationMethodEncap", HNV_RULE_ENCAP},
		{"nat", "TranslationMethodNat", HNV_RULE_NAT},
		{"none", "TranslationMethodNone", HNV_RULE_NONE},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (hnv_ascii_caseeq(v, t[i].a) || hnv_ascii_caseeq(v, t[i].b)) {
			*out = t[i].r;
			return 0;
		}
	return bad(c, "rule", v, "must be encap, nat or none");
}

static const struct {
	const char *a, *b;
	enum hnv_rec_type t;
} type_names[] = {
	{"static", "Static", HNV_TYPE_STATIC},
	{"dynamic", "Dynamic", HNV_TYPE_DYNAMIC},
	{"l2only", "L2Only", HNV_TYPE_L2ONLY},
	{"gateway-wildcard", "GatewayWildcard", HNV_TYPE_GATEWAY_WILDCARD},
};

static int get_type(struct pctx *c, const char *v, enum hnv_rec_type *out)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (hnv_ascii_caseeq(v, type_names[i].a) || hnv_ascii_caseeq(v, type_names[i].b)) {
			*out = type_names[i].t;
			return 0;
		}
	return bad(c, "type", v, "must be static, dynamic, l2only or gateway-wildcard");
}

static const char *type_name(enum hnv_rec_type t)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].t == t)
			return type_names[i].a;
	return "?";
}

/* -- per-command builders: the option table guarantees required options
 * are present and single-valued ones appear at most once -- */

static int build_rdomain_add(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	int rc = get_name(c, "rdomain name", c->pos, cmd->u.rdomain.name);
	if (rc == 0)
		rc = get_guid(c, "RDID", opt1(c, OPT_RDID), &cmd->u.rdomain.rdid);
	return rc;
}

static int build_rdomain_del(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	return get_name(c, "rdomain name", c->pos, cmd->u.rdomain.name);
}

static int build_vsubnet_add(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_vsubnet_spec *s = &cmd->u.vsubnet;
	int rc = get_vsid(c, c->pos, &s->vsid);
	if (rc == 0)
		rc = get_name(c, "rdomain name", opt1(c, OPT_RDOMAIN), s->rdomain);
	for (unsigned i = 0; rc == 0 && i < c->n[OPT_PREFIX]; i++) {
		const char *v = c->val[OPT_PREFIX][i];
		struct hnv_prefix *p = &s->prefixes[i];
		rc = get_prefix(c, "prefix", v, p);
		if (rc < 0)
			break;
		/* the lowest address is the gateway: leave room for it and a VM */
		if (hnv_prefix_bits128(p) > 126)
			return bad(c, "prefix", v,
				   "too small for a virtual subnet (at most /30 or /126)");
		for (unsigned k = 0; k < i; k++)
			if (hnv_prefix_contains(&s->prefixes[k], &p->addr) ||
			    hnv_prefix_contains(p, &s->prefixes[k].addr)) {
				hnv_seterr(c->err, c->errlen,
				       "%s: prefix " SHOWF " overlaps prefix " SHOWF, c->cmd,
				       SHOWA(v), SHOWA(c->val[OPT_PREFIX][k]));
				return -EINVAL;
			}
		s->n_prefixes = i + 1;
	}
	return rc;
}

static int build_vsubnet_del(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	return get_vsid(c, c->pos, &cmd->u.vsubnet.vsid);
}

static int build_pa_add(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	const char *why;
	if (hnv_parse_prefix_why(c->pos, &cmd->u.pa.addr, true, &why) < 0)
		return bad(c, "PA", c->pos, why);
	if (hnv_ip_is_unspec(&cmd->u.pa.addr.addr))
		return bad(c, "PA", c->pos, "unspecified address");
	return get_dev(c, "device name", opt1(c, OPT_DEV), cmd->u.pa.dev);
}

static int build_pa_del(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	return get_ip(c, "PA", c->pos, false, &cmd->u.pa.addr.addr);
}

static int build_port_add(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_port_spec *s = &cmd->u.port;
	int rc = get_name(c, "port name", c->pos, s->name);
	if (rc == 0)
		rc = get_vsid(c, opt1(c, OPT_VSID), &s->vsid);
	/* without --mac the MAC stays all-zero: hnvgwd's model makes one */
	if (rc == 0 && c->n[OPT_MAC])
		rc = get_mac(c, "MAC", opt1(c, OPT_MAC), &s->mac);
	for (unsigned i = 0; rc == 0 && i < c->n[OPT_CA]; i++) {
		const char *v = c->val[OPT_CA][i];
		rc = get_ip(c, "CA", v, false, &s->cas[i]);
		for (unsigned k = 0; rc == 0 && k < i; k++)
			if (hnv_ip_eq(&s->cas[k], &s->cas[i]))
				rc = bad(c, "CA", v, "given twice");
		s->n_cas = i + 1;
	}
	return rc;
}

static int build_port_del(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	return get_name(c, "port name", c->pos, cmd->u.port.name);
}

static int get_unicast(struct pctx *c, const char *what, const char *v, struct hnv_ip *out);

static uint32_t ip4_u32(const struct hnv_ip *a)
{
	return (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 | (uint32_t)a->b[14] << 8 |
	       a->b[15];
}

/* An IPv4 address for a pool: unicast, not unspecified. */
static int get_ip4(struct pctx *c, const char *what, const char *v, struct hnv_ip *out)
{
	int rc = get_unicast(c, what, v, out);
	if (rc == 0 && !hnv_ip_is_v4(out))
		return bad(c, what, v, "pools are IPv4 (DHCPv6 is not offered)");
	return rc;
}

static int build_pool_add(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_pool *s = &cmd->u.pool;
	const char *range = opt1(c, OPT_RANGE);
	char a[INET6_ADDRSTRLEN + 1];
	int rc = get_name(c, "pool name", c->pos, s->name);
	if (rc == 0)
		rc = get_vsid(c, opt1(c, OPT_VSID), &s->vsid);
	if (rc < 0)
		return rc;
	const char *dash = strchr(range, '-');
	size_t alen = dash ? (size_t)(dash - range) : 0;
	if (dash == NULL || alen == 0 || alen >= sizeof(a))
		return bad(c, "range", range, "expected FIRST-LAST, e.g. 10.10.1.100-10.10.1.130");
	memcpy(a, range, alen);
	a[alen] = '\0';
	rc = get_ip4(c, "range start", a, &s->range.first);
	if (rc == 0)
		rc = get_ip4(c, "range end", dash + 1, &s->range.last);
	if (rc < 0)
		return rc;
	uint32_t f = ip4_u32(&s->range.first), l = ip4_u32(&s->range.last);
	if (f > l)
		return bad(c, "range", range, "the first address is above the last");
	if (l - f >= HNV_POOL_SIZE_MAX)
		return bad(c, "range", range, "more than 65536 addresses");
	s->range.lease = HNV_POOL_LEASE_DEFAULT;
	if (c->n[OPT_LEASE])
		rc = get_uint(c, "lease", opt1(c, OPT_LEASE), HNV_POOL_LEASE_MIN,
			      HNV_POOL_LEASE_MAX, &s->range.lease);
	if (rc < 0 || !c->n[OPT_DNS])
		return rc;
	const char *dns = opt1(c, OPT_DNS);
	for (const char *p = dns;;) {
		size_t n = strcspn(p, ",");
		if (n == 0 || n >= sizeof(a))
			return bad(c, "DNS server list", dns, "expected IP[,IP...]");
		if (s->range.n_dns == HNV_DHCP_DNS_MAX)
			return bad(c, "DNS server list", dns, "at most 4 servers");
		memcpy(a, p, n);
		a[n] = '\0';
		rc = get_ip4(c, "DNS server", a, &s->range.dns[s->range.n_dns]);
		if (rc < 0)
			return rc;
		s->range.n_dns++;
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	return 0;
}

static int build_pool_del(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	return get_name(c, "pool name", c->pos, cmd->u.pool.name);
}

/* lookup add and lookup set: a complete record. */
static int build_lookup(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_lookup_spec *s = &cmd->u.lookup;
	const char *ca = opt1(c, OPT_CA);
	s->rule = HNV_RULE_ENCAP;
	s->type = HNV_TYPE_STATIC;
	int rc = get_vsid(c, opt1(c, OPT_VSID), &s->vsid);
	if (rc == 0)
		rc = get_ip(c, "CA", ca, true, &s->ca);
	if (rc == 0)
		rc = get_ip(c, "PA", opt1(c, OPT_PA), false, &s->pa);
	if (rc == 0)
		rc = get_mac(c, "MAC", opt1(c, OPT_MAC), &s->mac);
	if (rc == 0 && c->n[OPT_RULE])
		rc = get_rule(c, opt1(c, OPT_RULE), &s->rule);
	if (rc == 0 && c->n[OPT_TYPE])
		rc = get_type(c, opt1(c, OPT_TYPE), &s->type);
	if (rc == 0 && c->n[OPT_VM_NAME])
		/* free text like Context: Hyper-V VM names often hold spaces */
		rc = get_text(c, "VM name", opt1(c, OPT_VM_NAME), s->vm_name, sizeof(s->vm_name));
	if (rc == 0 && c->n[OPT_CUSTOMER_ID]) {
		rc = get_guid(c, "customer ID", opt1(c, OPT_CUSTOMER_ID), &s->customer_id);
		s->has_customer_id = true;
	}
	if (rc == 0 && c->n[OPT_CONTEXT])
		rc = get_text(c, "context", opt1(c, OPT_CONTEXT), s->context, sizeof(s->context));
	if (rc < 0)
		return rc;
	s->use_vm_mac = c->n[OPT_USE_VM_MAC] > 0;
	bool wild = s->type == HNV_TYPE_GATEWAY_WILDCARD || s->type == HNV_TYPE_L2ONLY;
	if (wild && !hnv_ip_is_unspec(&s->ca)) {
		hnv_seterr(c->err, c->errlen, "%s: --ca " SHOWF " must be 0.0.0.0 or :: for type %s",
		       c->cmd, SHOWA(ca), type_name(s->type));
		return -EINVAL;
	}
	if (!wild && hnv_ip_is_unspec(&s->ca)) {
		static const char why[] = "needs --type gateway-wildcard or l2only";
		hnv_seterr(c->err, c->errlen,
		       "%s: --ca " SHOWF " is unspecified, which %s (type is %s)", c->cmd,
		       SHOWA(ca), why, type_name(s->type));
		return -EINVAL;
	}
	if (s->use_vm_mac && s->rule != HNV_RULE_NAT) {
		hnv_seterr(c->err, c->errlen, "%s: --use-vm-mac needs --rule nat", c->cmd);
		return -EINVAL;
	}
	return 0;
}

static int build_lookup_del(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_lookup_spec *s = &cmd->u.lookup;
	int rc = get_vsid(c, opt1(c, OPT_VSID), &s->vsid);
	if (rc == 0)
		rc = get_ip(c, "CA", opt1(c, OPT_CA), true, &s->ca);
	if (rc == 0)
		rc = get_mac(c, "MAC", opt1(c, OPT_MAC), &s->mac);
	return rc;
}

/* --prefix and --nexthop of one family (route and proute keys). */
static int prefix_nexthop(struct pctx *c, struct hnv_prefix *prefix, struct hnv_ip *nexthop)
{
	const char *nh = opt1(c, OPT_NEXTHOP), *pfx = opt1(c, OPT_PREFIX);
	int rc = get_prefix(c, "prefix", pfx, prefix);
	if (rc == 0)
		rc = get_ip(c, "nexthop", nh, true, nexthop);
	if (rc == 0 && hnv_ip_is_v4(&prefix->addr) != hnv_ip_is_v4(nexthop)) {
		bool v4 = hnv_ip_is_v4(&prefix->addr);
		hnv_seterr(c->err, c->errlen, "%s: nexthop " SHOWF " is %s but prefix " SHOWF " is %s",
		       c->cmd, SHOWA(nh), v4 ? "IPv6" : "IPv4", SHOWA(pfx), v4 ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	return rc;
}

static int route_key(struct pctx *c, struct hnv_route_spec *s)
{
	int rc = get_name(c, "rdomain name", opt1(c, OPT_RDOMAIN), s->rdomain);
	return rc ? rc : prefix_nexthop(c, &s->prefix, &s->nexthop);
}

static int build_route_add(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_route_spec *s = &cmd->u.route;
	s->metric = 255;
	int rc = route_key(c, s);
	if (rc == 0)
		rc = get_vsid(c, opt1(c, OPT_VSID), &s->vsid);
	if (rc == 0 && c->n[OPT_METRIC])
		rc = get_uint(c, "metric", opt1(c, OPT_METRIC), 0, UINT32_MAX, &s->metric);
	return rc;
}

static int build_route_del(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	return route_key(c, &cmd->u.route);
}

static int get_onoff(struct pctx *c, const char *what, const char *v, bool *out)
{
	if (strcmp(v, "on") == 0)
		*out = true;
	else if (strcmp(v, "off") == 0)
		*out = false;
	else
		return bad(c, what, v, "must be on or off");
	return 0;
}

static int build_global_set(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_global *g = &cmd->u.global;
	int rc = 0;
	if (!c->n[OPT_GATEWAY_MAC] && !c->n[OPT_FLOWID] && !c->n[OPT_UPLINK_MTU] &&
	    !c->n[OPT_USE_EXT_ROUTER]) {
		hnv_seterr(c->err, c->errlen,
		       "%s: nothing to set (give --gateway-mac, --flowid, --uplink-mtu or "
		       "--use-external-router)",
		       c->cmd);
		return -EINVAL;
	}
	if (c->n[OPT_GATEWAY_MAC]) {
		rc = get_mac(c, "gateway MAC", opt1(c, OPT_GATEWAY_MAC), &g->gateway_mac);
		g->has_gateway_mac = true;
	}
	if (rc == 0 && c->n[OPT_FLOWID]) {
		rc = get_onoff(c, "--flowid value", opt1(c, OPT_FLOWID), &g->flowid);
		g->has_flowid = true;
	}
	if (rc == 0 && c->n[OPT_USE_EXT_ROUTER]) {
		rc = get_onoff(c, "--use-external-router value", opt1(c, OPT_USE_EXT_ROUTER),
			       &g->use_external_router);
		g->has_use_external_router = true;
	}
	if (rc == 0 && c->n[OPT_UPLINK_MTU]) {
		uint32_t mtu;
		rc = get_uint(c, "uplink MTU", opt1(c, OPT_UPLINK_MTU), 576, 9000, &mtu);
		g->uplink_mtu = mtu;
		g->has_uplink_mtu = true;
	}
	return rc;
}

/* -- provider routes -- */

static int proute_key(struct pctx *c, struct hnv_conf_proute *s)
{
	return prefix_nexthop(c, &s->prefix, &s->nexthop);
}

static int build_proute_add(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_proute *s = &cmd->u.proute;
	int rc = proute_key(c, s);
	if (rc == 0)
		rc = get_dev(c, "device name", opt1(c, OPT_DEV), s->dev);
	if (rc == 0 && c->n[OPT_METRIC])
		rc = get_uint(c, "metric", opt1(c, OPT_METRIC), 0, UINT32_MAX, &s->metric);
	return rc;
}

static int build_proute_del(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	return proute_key(c, &cmd->u.proute);
}

/* -- the gateway attachment -- */

/* A unicast address: not unspecified, multicast or IPv4 broadcast. */
static int get_unicast(struct pctx *c, const char *what, const char *v, struct hnv_ip *out)
{
	int rc = get_ip(c, what, v, false, out);
	if (rc < 0)
		return rc;
	bool v4 = hnv_ip_is_v4(out);
	if ((v4 && (out->b[12] & 0xf0) == 0xe0) || (!v4 && out->b[0] == 0xff))
		return bad(c, what, v, "multicast address");
	if (v4 && out->b[12] == 255 && out->b[13] == 255 && out->b[14] == 255 && out->b[15] == 255)
		return bad(c, what, v, "broadcast address");
	return 0;
}

static int build_gateway_add(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_gateway *g = &cmd->u.gateway;
	const char *table = opt1(c, OPT_TABLE);
	int rc = get_name(c, "rdomain name", opt1(c, OPT_RDOMAIN), g->rdomain);
	if (rc == 0)
		rc = get_dev(c, "VRF name", opt1(c, OPT_VRF), g->vrf);
	if (rc == 0 && strlen(g->vrf) > HNV_VRF_NAME_MAX)
		return bad(c, "VRF name", g->vrf,
			   "at most 12 characters (the VRF device is named rd-<name>)");
	if (rc == 0)
		rc = get_uint(c, "table", table, 1, UINT32_MAX - 1, &g->table);
	/* The kernel's own tables: a tenant VRF must never share them. */
	if (rc == 0 && g->table >= 253 && g->table <= 255)
		return bad(c, "table", table,
			   "253-255 are the kernel's default, main and local tables");
	/* strongSwan's: charon's default rule "from all lookup 220" comes
	 * before the VRFs' l3mdev rule, and would apply a VRF table 220 to
	 * every tenant's traffic */
	if (rc == 0 && g->table == 220)
		return bad(c, "table", table,
			   "220 is strongSwan's routing table (charon's rule for it precedes "
			   "every VRF)");
	if (rc == 0 && g->table >= HNV_NETMAP_TABLE_MIN && g->table <= HNV_NETMAP_TABLE_MAX)
		return bad(c, "table", table,
			   "1207959552-1208999935 (0x48000000-0x480fffff) are hnvgw's NETMAP tables");
	if (rc == 0 && c->n[OPT_CORP_DEV])
		rc = get_dev(c, "corp device name", opt1(c, OPT_CORP_DEV), g->corp_dev);
	if (rc == 0 && c->n[OPT_NAT_EXTERNAL]) {
		rc = get_unicast(c, "NAT external address", opt1(c, OPT_NAT_EXTERNAL),
				 &g->nat_external);
		g->has_nat_external = true;
	}
	const char *why;
	if (rc == 0 && c->n[OPT_CORP_ADDR]) {
		if (!g->corp_dev[0])
			return bad(c, "corp address", opt1(c, OPT_CORP_ADDR), "needs --corp-dev");
		if (hnv_parse_prefix_why(opt1(c, OPT_CORP_ADDR), &g->corp_addr, true, &why) < 0)
			return bad(c, "corp address", opt1(c, OPT_CORP_ADDR), why);
		if (hnv_ip_is_unspec(&g->corp_addr.addr))
			return bad(c, "corp address", opt1(c, OPT_CORP_ADDR),
				   "unspecified address");
		g->has_corp_addr = true;
	}
	if (rc == 0 && c->n[OPT_CORP_NEXTHOP]) {
		if (!g->corp_dev[0])
			return bad(c, "corp next hop", opt1(c, OPT_CORP_NEXTHOP),
				   "needs --corp-dev");
		rc = get_unicast(c, "corp next hop", opt1(c, OPT_CORP_NEXTHOP), &g->corp_nexthop);
		g->has_corp_nexthop = rc == 0;
	}
	unsigned nbgp = !!c->n[OPT_BGP_ASN] + !!c->n[OPT_BGP_PEER] + !!c->n[OPT_BGP_PEER_ASN];
	if (rc == 0 && nbgp != 0 && nbgp != 3)
		return bad(c, "BGP",
			   opt1(c, c->n[OPT_BGP_ASN]    ? OPT_BGP_ASN
				   : c->n[OPT_BGP_PEER] ? OPT_BGP_PEER
							: OPT_BGP_PEER_ASN),
			   "give --bgp-asn, --bgp-peer and --bgp-peer-asn together");
	if (rc == 0 && nbgp == 3) {
		rc = get_uint(c, "BGP AS number", opt1(c, OPT_BGP_ASN), 1, UINT32_MAX, &g->bgp_asn);
		if (rc == 0)
			rc = get_unicast(c, "BGP peer", opt1(c, OPT_BGP_PEER), &g->bgp_peer);
		if (rc == 0)
			rc = get_uint(c, "BGP peer AS number", opt1(c, OPT_BGP_PEER_ASN), 1,
				      UINT32_MAX, &g->bgp_peer_asn);
	}
	return rc;
}

static int build_gateway_del(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	return get_name(c, "rdomain name", opt1(c, OPT_RDOMAIN), cmd->u.gateway.rdomain);
}

/* gateway ca and gateway ca-del: the same three values. */
static int build_gateway_ca(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_gateway_ca *g = &cmd->u.gateway_ca;
	int rc = get_name(c, "rdomain name", opt1(c, OPT_RDOMAIN), g->rdomain);
	if (rc == 0)
		rc = get_vsid(c, opt1(c, OPT_VSID), &g->vsid);
	if (rc == 0)
		rc = get_unicast(c, "CA", opt1(c, OPT_CA), &g->ca);
	return rc;
}

/* True when msg shows secret or 8 consecutive characters of it. */
static bool shows_secret(const char *msg, const char *secret)
{
	size_t n = strlen(secret), w = n < 8 ? n : 8;
	if (w < 4)
		return false; /* too short to tell from ordinary words */
	for (size_t i = 0; i + w <= n; i++)
		if (memmem(msg, strlen(msg), secret + i, w) != NULL)
			return true;
	return false;
}

/* -- S2S tunnels -- */

static bool printable_ascii(char ch)
{
	return ch >= 0x20 && ch <= 0x7e;
}

/* An IKE identity (FQDN, address, e-mail or DN). Quotes and backslashes are
 * refused so the value can be written into charon's configuration without
 * escaping. */
static int get_ident(struct pctx *c, const char *what, const char *v, char *out)
{
	size_t len = strlen(v);
	if (len == 0)
		return bad(c, what, v, "empty");
	if (len > HNV_S2S_ID_MAX)
		return bad(c, what, v, "longer than 255 characters");
	for (size_t i = 0; i < len; i++)
		if (!printable_ascii(v[i]) || v[i] == '"' || v[i] == '\\')
			return bad(c, what, v, "use printable ASCII characters without \" or \\");
	if (v[0] == ' ' || v[len - 1] == ' ')
		return bad(c, what, v, "leading or trailing space");
	memcpy(out, v, len + 1);
	return 0;
}

/* The PSK: no message may contain any part of it, so none uses bad(). */
static int get_psk(struct pctx *c, const char *v, char *out)
{
	size_t len = strlen(v);
	if (strcmp(v, "<secret>") == 0) {
		hnv_seterr(c->err, c->errlen,
		       "%s: the PSK is masked as <secret> (a config shown without secrets); "
		       "give the key itself",
		       c->cmd);
		return -EINVAL;
	}
	if (len < HNV_S2S_PSK_MIN) {
		hnv_seterr(c->err, c->errlen, "%s: PSK too short: use at least %d characters", c->cmd,
		       HNV_S2S_PSK_MIN);
		return -EINVAL;
	}
	if (len > HNV_S2S_PSK_MAX) {
		hnv_seterr(c->err, c->errlen, "%s: PSK too long: use at most %d characters", c->cmd,
		       HNV_S2S_PSK_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		if (!printable_ascii(v[i])) {
			hnv_seterr(c->err, c->errlen,
			       "%s: PSK has a character outside printable ASCII at position %zu",
			       c->cmd, i + 1);
			return -EINVAL;
		}
	memcpy(out, v, len + 1);
	return 0;
}

/* A certificate or key file: a name (in charon's directories) or an
 * absolute path, never climbing with "..". */
static int get_path(struct pctx *c, const char *what, const char *v, char *out)
{
	size_t len = strlen(v);
	if (len == 0 || len > HNV_S2S_PATH_MAX)
		return bad(c, what, v, "must be 1-127 characters");
	for (size_t i = 0; i < len; i++)
		if (!printable_ascii(v[i]) || v[i] == ' ' || v[i] == '"' || v[i] == '\\')
			return bad(c, what, v,
				   "use printable ASCII characters without spaces, \" or \\");
	if (strchr(v, '/') != NULL && v[0] != '/')
		return bad(c, what, v, "must be a file name or an absolute path");
	for (const char *p = v + (v[0] == '/');;) {
		size_t cl = strcspn(p, "/");
		if (cl == 0 || (cl == 1 && p[0] == '.') || (cl == 2 && p[0] == '.' && p[1] == '.'))
			return bad(c, what, v, "empty, \".\" or \"..\" path component");
		if (p[cl] == '\0')
			break;
		p += cl + 1;
	}
	memcpy(out, v, len + 1);
	return 0;
}

/* strongSwan proposal keywords hnvgw accepts (lower case). */
enum alg_kind {
	ALG_ENCR,
	ALG_AEAD,
	ALG_INTEG,
	ALG_PRF,
	ALG_DH,
	ALG_ESN
};

static const struct {
	const char *name;
	enum alg_kind kind;
} good_algs[] = {
	{"aes128", ALG_ENCR},      {"aes192", ALG_ENCR},
	{"aes256", ALG_ENCR},      {"aes128ctr", ALG_ENCR},
	{"aes192ctr", ALG_ENCR},   {"aes256ctr", ALG_ENCR},
	{"camellia128", ALG_ENCR}, {"camellia192", ALG_ENCR},
	{"camellia256", ALG_ENCR}, {"aes128gcm8", ALG_AEAD},
	{"aes128gcm12", ALG_AEAD}, {"aes128gcm16", ALG_AEAD},
	{"aes192gcm8", ALG_AEAD},  {"aes192gcm12", ALG_AEAD},
	{"aes192gcm16", ALG_AEAD}, {"aes256gcm8", ALG_AEAD},
	{"aes256gcm12", ALG_AEAD}, {"aes256gcm16", ALG_AEAD},
	{"aes128ccm8", ALG_AEAD},  {"aes128ccm12", ALG_AEAD},
	{"aes128ccm16", ALG_AEAD}, {"aes192ccm8", ALG_AEAD},
	{"aes192ccm12", ALG_AEAD}, {"aes192ccm16", ALG_AEAD},
	{"aes256ccm8", ALG_AEAD},  {"aes256ccm12", ALG_AEAD},
	{"aes256ccm16", ALG_AEAD}, {"chacha20poly1305", ALG_AEAD},
	{"sha256", ALG_INTEG},     {"sha384", ALG_INTEG},
	{"sha512", ALG_INTEG},     {"sha2_256", ALG_INTEG},
	{"sha2_384", ALG_INTEG},   {"sha2_512", ALG_INTEG},
	{"aesxcbc", ALG_INTEG},    {"aescmac", ALG_INTEG},
	{"prfsha256", ALG_PRF},    {"prfsha384", ALG_PRF},
	{"prfsha512", ALG_PRF},    {"prfaesxcbc", ALG_PRF},
	{"prfaescmac", ALG_PRF},   {"modp2048", ALG_DH},
	{"modp3072", ALG_DH},      {"modp4096", ALG_DH},
	{"modp6144", ALG_DH},      {"modp8192", ALG_DH},
	{"modp2048s224", ALG_DH},  {"modp2048s256", ALG_DH},
	{"ecp224", ALG_DH},        {"ecp256", ALG_DH},
	{"ecp384", ALG_DH},        {"ecp521", ALG_DH},
	{"ecp224bp", ALG_DH},      {"ecp256bp", ALG_DH},
	{"ecp384bp", ALG_DH},      {"ecp512bp", ALG_DH},
	{"curve25519", ALG_DH},    {"x25519", ALG_DH},
	{"curve448", ALG_DH},      {"x448", ALG_DH},
	{"esn", ALG_ESN},          {"noesn", ALG_ESN},
};

/* Keywords strongSwan knows that hnvgw refuses, and why. */
static const struct {
	const char *name, *why;
} weak_algs[] = {
	{"des", "DES (56-bit key)"},
	{"3des", "3DES (64-bit block cipher)"},
	{"cast128", "CAST-128 (64-bit block cipher)"},
	{"blowfish128", "Blowfish (64-bit block cipher)"},
	{"null", "NULL encryption"},
	{"md5", "MD5"},
	{"md5_128", "MD5"},
	{"prfmd5", "MD5"},
	{"sha", "SHA-1"},
	{"sha1", "SHA-1"},
	{"sha1_160", "SHA-1"},
	{"prfsha1", "SHA-1"},
	{"modp768", "MODP 768 (DH group 1)"},
	{"modp1024", "MODP 1024 (DH group 2)"},
	{"modp1536", "MODP 1536 (DH group 5)"},
	{"modp1024s160", "MODP 1024 (DH group 22)"},
	{"ecp192", "ECP 192 (DH group 25)"},
};

/* IKE DH group numbers, which strongSwan does not accept: weak ones are
 * refused as weak, the others are named by their keyword. */
static const struct {
	unsigned num;
	const char *name;
	bool weak;
} dh_groups[] = {
	{1, "modp768", true},        {2, "modp1024", true},       {5, "modp1536", true},
	{14, "modp2048", false},     {15, "modp3072", false},     {16, "modp4096", false},
	{17, "modp6144", false},     {18, "modp8192", false},     {19, "ecp256", false},
	{20, "ecp384", false},       {21, "ecp521", false},       {22, "modp1024s160", true},
	{23, "modp2048s224", false}, {24, "modp2048s256", false}, {25, "ecp192", true},
	{26, "ecp224", false},       {27, "ecp224bp", false},     {28, "ecp256bp", false},
	{29, "ecp384bp", false},     {30, "ecp512bp", false},     {31, "curve25519", false},
	{32, "curve448", false},
};

/* "dh14", "group14", "dhgroup14": the group number, or 0. */
static unsigned dh_group_number(const char *t)
{
	static const char *const pfx[] = {"dhgroup", "group", "dh"};
	for (size_t i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++) {
		size_t n = strlen(pfx[i]);
		uint32_t v;
		if (strncmp(t, pfx[i], n) == 0 && hnv_parse_dec(t + n, 99, &v) == 0)
			return v;
	}
	return 0;
}

/* One proposal: valid keywords, no weak algorithm, complete for its kind
 * (IKE: encryption, DH group and integrity or, with AEAD, a PRF; ESP:
 * encryption and integrity unless AEAD). Appends it in lower case to list
 * (size bytes, ',' separated). */
static int get_proposal(struct pctx *c, bool ike, const char *v, char *list, size_t size)
{
	const char *kind = ike ? "IKE proposal" : "ESP proposal";
	char p[HNV_S2S_PROPOSALS_LEN + 1];
	size_t len = strlen(v);
	if (len == 0 || len >= sizeof(p))
		return bad(c, kind, v, "must be 1-255 characters");
	for (size_t i = 0; i <= len; i++)
		p[i] = hnv_ascii_lower(v[i]);
	for (size_t i = 0; i < len; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || hnv_is_digit(p[i]) || p[i] == '_' || p[i] == '-'))
			return bad(c, kind, v,
				   "one proposal of algorithm keywords joined by '-', "
				   "e.g. aes256gcm16-prfsha384-ecp384");
	unsigned n[ALG_ESN + 1] = {0};
	char tok[HNV_S2S_PROPOSALS_LEN + 1];
	for (const char *t = p; *t;) {
		size_t tl = strcspn(t, "-");
		if (tl == 0)
			return bad(c, kind, v, "empty algorithm between '-'");
		memcpy(tok, t, tl);
		tok[tl] = '\0';
		t += tl + (t[tl] == '-');
		if (t[-1] == '-' && *t == '\0')
			return bad(c, kind, v, "ends with '-'");
		for (size_t i = 0; i < sizeof(weak_algs) / sizeof(weak_algs[0]); i++)
			if (strcmp(tok, weak_algs[i].name) == 0) {
				hnv_seterr(c->err, c->errlen,
				       "%s: weak algorithm \"%s\" in %s " SHOWF ": %s is refused",
				       c->cmd, tok, kind, SHOWA(v), weak_algs[i].why);
				return -EINVAL;
			}
		unsigned g = dh_group_number(tok);
		for (size_t i = 0; g && i < sizeof(dh_groups) / sizeof(dh_groups[0]); i++) {
			if (dh_groups[i].num != g)
				continue;
			if (dh_groups[i].weak)
				hnv_seterr(c->err, c->errlen,
				       "%s: weak algorithm \"%s\" in %s " SHOWF
				       ": DH group %u (%s) is refused, MODP groups below 2048 bits "
				       "are weak",
				       c->cmd, tok, kind, SHOWA(v), g, dh_groups[i].name);
			else
				hnv_seterr(c->err, c->errlen,
				       "%s: %s " SHOWF ": write DH group %u as \"%s\"", c->cmd,
				       kind, SHOWA(v), g, dh_groups[i].name);
			return -EINVAL;
		}
		size_t k = 0, nk = sizeof(good_algs) / sizeof(good_algs[0]);
		while (k < nk && strcmp(tok, good_algs[k].name) != 0)
			k++;
		if (k == nk) {
			hnv_seterr(c->err, c->errlen, "%s: unknown algorithm \"%s\" in %s " SHOWF,
			       c->cmd, tok, kind, SHOWA(v));
			return -EINVAL;
		}
		n[good_algs[k].kind]++;
	}
	const char *why = NULL;
	if (n[ALG_ENCR] + n[ALG_AEAD] == 0)
		why = "no encryption algorithm";
	else if (n[ALG_ENCR] && n[ALG_AEAD])
		why = "AEAD and non-AEAD encryption cannot share a proposal";
	else if (n[ALG_AEAD] && n[ALG_INTEG])
		why = "an AEAD algorithm takes no integrity algorithm";
	else if (n[ALG_ENCR] && !n[ALG_INTEG])
		why = "no integrity algorithm (e.g. sha256)";
	else if (ike && n[ALG_ESN])
		why = "esn and noesn belong to ESP proposals";
	else if (ike && !n[ALG_DH])
		why = "no DH group (e.g. ecp384 or modp3072)";
	else if (ike && n[ALG_AEAD] && !n[ALG_PRF])
		why = "an AEAD IKE proposal needs a PRF (e.g. prfsha384)";
	else if (!ike && n[ALG_PRF])
		why = "a PRF belongs to IKE proposals";
	if (why)
		return bad(c, kind, v, why);
	size_t used = strlen(list);
	if (used + (used > 0) + len >= size) {
		hnv_seterr(c->err, c->errlen, "%s: %ss longer than %zu characters together", c->cmd,
		       kind, size - 1);
		return -EINVAL;
	}
	if (used > 0)
		list[used++] = ',';
	memcpy(list + used, p, len + 1);
	return 0;
}

static bool prefixes_overlap(const struct hnv_prefix *a, const struct hnv_prefix *b)
{
	return hnv_prefix_contains(a, &b->addr) || hnv_prefix_contains(b, &a->addr);
}

/* --local-netmap / --remote-netmap REAL=MAPPED: IPv4 prefixes of one
 * length; within one kind no two real and no two mapped prefixes overlap,
 * and no mapped prefix overlaps a real one. */
static int get_netmaps(struct pctx *c, bool remote, struct hnv_s2s_netmap *out, unsigned *n)
{
	unsigned opt = remote ? OPT_REMOTE_NETMAP : OPT_LOCAL_NETMAP;
	const char *what = remote ? "remote netmap" : "local netmap";
	for (unsigned i = 0; i < c->n[opt]; i++) {
		const char *v = c->val[opt][i];
		const char *eq = strchr(v, '=');
		char real[64];
		if (eq == NULL || (size_t)(eq - v) >= sizeof(real))
			return bad(c, what, v, "expected REAL=MAPPED (two IPv4 prefixes)");
		memcpy(real, v, (size_t)(eq - v));
		real[eq - v] = '\0';
		struct hnv_s2s_netmap *m = &out[i];
		const char *why;
		if (hnv_parse_prefix_why(real, &m->real, false, &why) < 0 ||
		    hnv_parse_prefix_why(eq + 1, &m->mapped, false, &why) < 0)
			return bad(c, what, v, why);
		if (!hnv_ip_is_v4(&m->real.addr) || !hnv_ip_is_v4(&m->mapped.addr))
			return bad(c, what, v, "NETMAP is IPv4 only (there is no NAT66)");
		if (m->real.len != m->mapped.len)
			return bad(c, what, v, "the two prefixes differ in length");
		if (m->real.len == 0)
			return bad(c, what, v, "a /0 cannot be mapped");
		if (prefixes_overlap(&m->real, &m->mapped))
			return bad(c, what, v, "the mapped prefix overlaps the real one");
		for (unsigned k = 0; k < i; k++)
			if (prefixes_overlap(&out[k].real, &m->real) ||
			    prefixes_overlap(&out[k].mapped, &m->mapped) ||
			    prefixes_overlap(&out[k].real, &m->mapped) ||
			    prefixes_overlap(&out[k].mapped, &m->real)) {
				hnv_seterr(c->err, c->errlen, "%s: %s " SHOWF " overlaps %s " SHOWF,
				       c->cmd, what, SHOWA(v), what, SHOWA(c->val[opt][k]));
				return -EINVAL;
			}
		*n = i + 1;
	}
	return 0;
}

static int build_s2s_add(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_s2s *s = &cmd->u.s2s;
	int rc = get_name(c, "tunnel name", c->pos, s->name);
	if (rc == 0)
		rc = get_name(c, "rdomain name", opt1(c, OPT_RDOMAIN), s->rdomain);
	if (rc == 0)
		rc = get_unicast(c, "peer", opt1(c, OPT_PEER), &s->peer);
	if (rc == 0 && c->n[OPT_LOCAL_ADDR]) {
		const char *la = opt1(c, OPT_LOCAL_ADDR);
		rc = get_unicast(c, "local address", la, &s->local_addr);
		s->has_local_addr = true;
		if (rc == 0 && hnv_ip_is_v4(&s->local_addr) != hnv_ip_is_v4(&s->peer))
			return bad(c, "local address", la, "not of the peer's address family");
	}
	if (rc == 0)
		rc = get_ident(c, "local ID", opt1(c, OPT_LOCAL_ID), s->local_id);
	if (rc == 0)
		rc = get_ident(c, "remote ID", opt1(c, OPT_REMOTE_ID), s->remote_id);
	if (rc < 0)
		return rc;
	if (c->n[OPT_PSK] && (c->n[OPT_CERT] || c->n[OPT_KEY] || c->n[OPT_CA_CERT])) {
		hnv_seterr(c->err, c->errlen, "%s: give --psk or --cert with --key%s, not both", c->cmd,
		       c->n[OPT_CA_CERT] ? " (and --ca-cert)" : "");
		return -EINVAL;
	}
	if (c->n[OPT_PSK]) {
		s->auth = HNV_S2S_AUTH_PSK;
		rc = get_psk(c, opt1(c, OPT_PSK), s->psk);
		/* identities are shown to every reader; the PSK is not */
		if (rc == 0 &&
		    (shows_secret(s->local_id, s->psk) || shows_secret(s->remote_id, s->psk))) {
			hnv_seterr(c->err, c->errlen, "%s: the PSK must not appear in an identity",
			       c->cmd);
			return -EINVAL;
		}
	} else if (c->n[OPT_CERT] && c->n[OPT_KEY]) {
		s->auth = HNV_S2S_AUTH_CERT;
		rc = get_path(c, "certificate", opt1(c, OPT_CERT), s->cert);
		if (rc == 0)
			rc = get_path(c, "key", opt1(c, OPT_KEY), s->key);
		if (rc == 0 && c->n[OPT_CA_CERT])
			rc = get_path(c, "CA certificate", opt1(c, OPT_CA_CERT), s->ca_cert);
	} else {
		hnv_seterr(c->err, c->errlen, "%s: missing %s", c->cmd,
		       c->n[OPT_CERT]  ? "--key"
		       : c->n[OPT_KEY] ? "--cert"
				       : "--psk or --cert with --key");
		return -EINVAL;
	}
	for (unsigned i = 0; rc == 0 && i < c->n[OPT_IKE_PROPOSAL]; i++)
		rc = get_proposal(c, true, c->val[OPT_IKE_PROPOSAL][i], s->ike, sizeof(s->ike));
	for (unsigned i = 0; rc == 0 && i < c->n[OPT_ESP_PROPOSAL]; i++)
		rc = get_proposal(c, false, c->val[OPT_ESP_PROPOSAL][i], s->esp, sizeof(s->esp));
	if (rc < 0)
		return rc;
	if (!s->ike[0])
		snprintf(s->ike, sizeof(s->ike), "%s", HNV_S2S_IKE_DEFAULT);
	if (!s->esp[0])
		snprintf(s->esp, sizeof(s->esp), "%s", HNV_S2S_ESP_DEFAULT);
	for (unsigned i = 0; i < c->n[OPT_REMOTE_PREFIX]; i++) {
		const char *v = c->val[OPT_REMOTE_PREFIX][i];
		struct hnv_prefix *p = &s->remote[i];
		rc = get_prefix(c, "remote prefix", v, p);
		if (rc < 0)
			return rc;
		for (unsigned k = 0; k < i; k++)
			if (hnv_prefix_contains(&s->remote[k], &p->addr) ||
			    hnv_prefix_contains(p, &s->remote[k].addr)) {
				hnv_seterr(c->err, c->errlen,
				       "%s: remote prefix " SHOWF " overlaps remote prefix " SHOWF,
				       c->cmd, SHOWA(v), SHOWA(c->val[OPT_REMOTE_PREFIX][k]));
				return -EINVAL;
			}
		s->n_remote = i + 1;
	}
	s->dpd = HNV_S2S_DPD_DEFAULT;
	if (c->n[OPT_DPD])
		rc = get_uint(c, "DPD delay", opt1(c, OPT_DPD), 0, HNV_S2S_DPD_MAX, &s->dpd);
	if (rc == 0)
		rc = get_netmaps(c, false, s->local_netmap, &s->n_local_netmap);
	if (rc == 0)
		rc = get_netmaps(c, true, s->remote_netmap, &s->n_remote_netmap);
	if (rc < 0)
		return rc;
	/* the site's mapped prefixes are addresses the tenant sends to the
	 * tunnel: they must not be site prefixes themselves, and each real
	 * one is something the tunnel carries */
	for (unsigned i = 0; i < s->n_remote_netmap; i++) {
		const struct hnv_s2s_netmap *m = &s->remote_netmap[i];
		const char *v = c->val[OPT_REMOTE_NETMAP][i];
		bool inside = false;
		for (unsigned k = 0; k < s->n_remote; k++) {
			if (prefixes_overlap(&m->mapped, &s->remote[k]))
				return bad(c, "remote netmap", v,
					   "its mapped prefix overlaps a --remote-prefix");
			inside |= hnv_prefix_contains(&s->remote[k], &m->real.addr) &&
				  s->remote[k].len <= m->real.len;
		}
		if (!inside)
			return bad(c, "remote netmap", v,
				   "its real prefix is not inside a --remote-prefix");
	}
	return 0;
}

static int build_s2s_del(struct pctx *c, struct hnv_conf_cmd *cmd)
{
	return get_name(c, "tunnel name", c->pos, cmd->u.s2s.name);
}

#define PROUTE_KEY (B(OPT_PREFIX) | B(OPT_NEXTHOP))
#define GWCA_KEY (B(OPT_RDOMAIN) | B(OPT_VSID) | B(OPT_CA))
#define S2S_OPTS                                                                                   \
	(B(OPT_RDOMAIN) | B(OPT_PEER) | B(OPT_LOCAL_ADDR) | B(OPT_LOCAL_ID) | B(OPT_REMOTE_ID) |   \
	 B(OPT_PSK) | B(OPT_CERT) | B(OPT_KEY) | B(OPT_CA_CERT) | B(OPT_IKE_PROPOSAL) |            \
	 B(OPT_ESP_PROPOSAL) | B(OPT_REMOTE_PREFIX) | B(OPT_DPD) | B(OPT_LOCAL_NETMAP) |               \
	 B(OPT_REMOTE_NETMAP))
#define S2S_REQ                                                                                    \
	(B(OPT_RDOMAIN) | B(OPT_PEER) | B(OPT_LOCAL_ID) | B(OPT_REMOTE_ID) | B(OPT_REMOTE_PREFIX))

#define LOOKUP_OPTS                                                                                \
	(B(OPT_VSID) | B(OPT_CA) | B(OPT_PA) | B(OPT_MAC) | B(OPT_RULE) | B(OPT_TYPE) |            \
	 B(OPT_VM_NAME) | B(OPT_CUSTOMER_ID) | B(OPT_CONTEXT) | B(OPT_USE_VM_MAC))
#define LOOKUP_REQ (B(OPT_VSID) | B(OPT_CA) | B(OPT_PA) | B(OPT_MAC))
#define LOOKUP_KEY (B(OPT_VSID) | B(OPT_CA) | B(OPT_MAC))
#define ROUTE_KEY (B(OPT_RDOMAIN) | B(OPT_PREFIX) | B(OPT_NEXTHOP))

static const struct cmd_def cmd_defs[] = {
	{"rdomain", "add", HNV_CONF_RDOMAIN_ADD, "NAME", B(OPT_RDID), B(OPT_RDID), 0,
	 build_rdomain_add},
	{"rdomain", "del", HNV_CONF_RDOMAIN_DEL, "NAME", 0, 0, 0, build_rdomain_del},
	{"vsubnet", "add", HNV_CONF_VSUBNET_ADD, "VSID", B(OPT_RDOMAIN) | B(OPT_PREFIX),
	 B(OPT_RDOMAIN) | B(OPT_PREFIX), B(OPT_PREFIX), build_vsubnet_add},
	{"vsubnet", "del", HNV_CONF_VSUBNET_DEL, "VSID", 0, 0, 0, build_vsubnet_del},
	{"pa", "add", HNV_CONF_PA_ADD, "IP/LEN", B(OPT_DEV), B(OPT_DEV), 0, build_pa_add},
	{"pa", "del", HNV_CONF_PA_DEL, "IP", 0, 0, 0, build_pa_del},
	{"port", "add", HNV_CONF_PORT_ADD, "NAME", B(OPT_VSID) | B(OPT_CA) | B(OPT_MAC),
	 B(OPT_VSID), B(OPT_CA), build_port_add},
	{"port", "del", HNV_CONF_PORT_DEL, "NAME", 0, 0, 0, build_port_del},
	{"lookup", "add", HNV_CONF_LOOKUP_ADD, NULL, LOOKUP_OPTS, LOOKUP_REQ, 0, build_lookup},
	{"lookup", "set", HNV_CONF_LOOKUP_SET, NULL, LOOKUP_OPTS, LOOKUP_REQ, 0, build_lookup},
	{"lookup", "del", HNV_CONF_LOOKUP_DEL, NULL, LOOKUP_KEY, LOOKUP_KEY, 0, build_lookup_del},
	{"route", "add", HNV_CONF_ROUTE_ADD, NULL, ROUTE_KEY | B(OPT_VSID) | B(OPT_METRIC),
	 ROUTE_KEY | B(OPT_VSID), 0, build_route_add},
	{"route", "del", HNV_CONF_ROUTE_DEL, NULL, ROUTE_KEY, ROUTE_KEY, 0, build_route_del},
	{"global", "set", HNV_CONF_GLOBAL_SET, NULL,
	 B(OPT_GATEWAY_MAC) | B(OPT_FLOWID) | B(OPT_UPLINK_MTU) | B(OPT_USE_EXT_ROUTER), 0, 0,
	 build_global_set},
	{"proute", "add", HNV_CONF_PROUTE_ADD, NULL, PROUTE_KEY | B(OPT_DEV) | B(OPT_METRIC),
	 PROUTE_KEY | B(OPT_DEV), 0, build_proute_add},
	{"proute", "del", HNV_CONF_PROUTE_DEL, NULL, PROUTE_KEY, PROUTE_KEY, 0, build_proute_del},
	{"gateway", "add", HNV_CONF_GATEWAY_ADD, NULL,
	 B(OPT_RDOMAIN) | B(OPT_VRF) | B(OPT_TABLE) | B(OPT_CORP_DEV) | B(OPT_NAT_EXTERNAL) |
		 B(OPT_CORP_ADDR) | B(OPT_CORP_NEXTHOP) | B(OPT_BGP_ASN) | B(OPT_BGP_PEER) |
		 B(OPT_BGP_PEER_ASN),
	 B(OPT_RDOMAIN) | B(OPT_VRF) | B(OPT_TABLE), 0, build_gateway_add},
	{"gateway", "del", HNV_CONF_GATEWAY_DEL, NULL, B(OPT_RDOMAIN), B(OPT_RDOMAIN), 0,
	 build_gateway_del},
	{"gateway", "ca", HNV_CONF_GATEWAY_CA, NULL, GWCA_KEY, GWCA_KEY, 0, build_gateway_ca},
	{"gateway", "ca-del", HNV_CONF_GATEWAY_CA_DEL, NULL, GWCA_KEY, GWCA_KEY, 0,
	 build_gateway_ca},
	{"s2s", "add", HNV_CONF_S2S_ADD, "NAME", S2S_OPTS, S2S_REQ,
	 B(OPT_IKE_PROPOSAL) | B(OPT_ESP_PROPOSAL) | B(OPT_REMOTE_PREFIX) | B(OPT_LOCAL_NETMAP) |
		 B(OPT_REMOTE_NETMAP),
	 build_s2s_add},
	{"s2s", "del", HNV_CONF_S2S_DEL, "NAME", 0, 0, 0, build_s2s_del},
	{"pool", "add", HNV_CONF_POOL_ADD, "NAME",
	 B(OPT_VSID) | B(OPT_RANGE) | B(OPT_DNS) | B(OPT_LEASE), B(OPT_VSID) | B(OPT_RANGE), 0,
	 build_pool_add},
	{"pool", "del", HNV_CONF_POOL_DEL, "NAME", 0, 0, 0, build_pool_del},
};
#define N_CMDS (sizeof(cmd_defs) / sizeof(cmd_defs[0]))

_Static_assert(OPT__COUNT <= 64, "option bits must fit the uint64_t masks");

static bool is_option(const struct word *w)
{
	return !w->quoted && w->s[0] == '-' && w->s[1] == '-';
}

static int find_cmd(const struct words *ws, const struct cmd_def **out, char *err, size_t errlen)
{
	const char *obj = ws->w[0].s;
	bool obj_known = false;
	for (size_t i = 0; i < N_CMDS; i++) {
		if (strcmp(cmd_defs[i].obj, obj) != 0)
			continue;
		obj_known = true;
		if (ws->n > 1 && strcmp(cmd_defs[i].verb, ws->w[1].s) == 0) {
			*out = &cmd_defs[i];
			return 0;
		}
	}
	if (!obj_known) {
		hnv_seterr(err, errlen, "unknown command " SHOWF, SHOWA(obj));
		return -EINVAL;
	}
	char verbs[32] = "";
	size_t o = 0;
	for (size_t i = 0; i < N_CMDS; i++)
		if (strcmp(cmd_defs[i].obj, obj) == 0) {
			int k = snprintf(verbs + o, sizeof(verbs) - o, "%s%s", o ? ", " : "",
					 cmd_defs[i].verb);
			if (k < 0 || (size_t)k >= sizeof(verbs) - o)
				break;
			o += (size_t)k;
		}
	if (ws->n == 1)
		hnv_seterr(err, errlen, "\"%s\" needs a verb: %s", obj, verbs);
	else
		hnv_seterr(err, errlen, "unknown command \"%s %.64s%s\" (verbs: %s)", obj,
		       SHOWA(ws->w[1].s), verbs);
	return -EINVAL;
}

/* The options of d, for a message that cannot name the word it refuses. */
static void list_options(const struct cmd_def *d, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	for (unsigned k = 0; k < OPT__COUNT; k++) {
		if (!(d->allowed & B(k)))
			continue;
		int n = snprintf(buf + o, size - o, "%s%s", o ? " " : "", opt_defs[k].name);
		if (n < 0 || (size_t)n >= size - o)
			break;
		o += (size_t)n;
	}
}

/* A message that would show (part of) the PSK, because the user put it
 * where another value belongs, is replaced by one naming no value. */
static void scrub(char *err, size_t errlen, const char *cmd, const char *secret)
{
	if (err != NULL && errlen > 0 && shows_secret(err, secret))
		hnv_seterr(err, errlen, "%s: invalid value (not shown: it contains the PSK)", cmd);
}

/* parse_words with the caller's word buffer. */
static int parse_ws(const char *s, size_t len, struct words *ws, struct hnv_conf_cmd *cmd,
		    char *err, size_t errlen)
{
	int rc = tokenize(s, len, ws, err, errlen);
	if (rc < 0)
		return rc;
	if (ws->n == 0)
		return 0;
	const struct cmd_def *d;
	rc = find_cmd(ws, &d, err, errlen);
	if (rc < 0)
		return rc;
	/* Any word of an s2s add line may be (part of) a PSK: its messages
	 * name positions and option names, never words. */
	bool secret = d->kind == HNV_CONF_S2S_ADD;

	char name[24];
	snprintf(name, sizeof(name), "%s %s", d->obj, d->verb);
	struct pctx c;
	memset(&c, 0, sizeof(c));
	c.cmd = name;
	c.err = err;
	c.errlen = errlen;

	unsigned i = 2;
	if (d->pos) {
		if (i >= ws->n || is_option(&ws->w[i])) {
			hnv_seterr(err, errlen, "%s: missing %s", name, d->pos);
			return -EINVAL;
		}
		c.pos = ws->w[i++].s;
	}
	while (i < ws->n) {
		const struct word *w = &ws->w[i++];
		if (!is_option(w) && secret) {
			hnv_seterr(err, errlen,
			       "%s: unexpected value at word %u (a value with spaces needs quotes)",
			       name, i);
			return -EINVAL;
		}
		if (!is_option(w)) {
			hnv_seterr(err, errlen, "%s: unexpected " SHOWF, name, SHOWA(w->s));
			return -EINVAL;
		}
		enum opt o = OPT__COUNT;
		for (unsigned k = 0; k < OPT__COUNT; k++)
			if ((d->allowed & B(k)) && strcmp(opt_defs[k].name, w->s) == 0)
				o = (enum opt)k;
		if (o == OPT__COUNT && secret) {
			char opts[512];
			list_options(d, opts, sizeof(opts));
			hnv_seterr(err, errlen, "%s: unknown option at word %u (options: %s)", name, i,
			       opts);
			return -EINVAL;
		}
		if (o == OPT__COUNT) {
			hnv_seterr(err, errlen, "unknown option " SHOWF " for \"%s\"", SHOWA(w->s),
			       name);
			return -EINVAL;
		}
		unsigned max = (d->multi & B(o)) ? opt_defs[o].max : 1;
		if (c.n[o] >= max) {
			if (max == 1)
				hnv_seterr(err, errlen, "%s: %s given more than once", name, w->s);
			else
				hnv_seterr(err, errlen, "%s: too many %s (at most %u)", name, w->s,
				       max);
			return -EINVAL;
		}
		if (opt_defs[o].flag) {
			c.n[o]++;
			continue;
		}
		if (i >= ws->n || is_option(&ws->w[i])) {
			hnv_seterr(err, errlen, "%s: missing value for %s", name, w->s);
			return -EINVAL;
		}
		c.val[o][c.n[o]++] = ws->w[i++].s;
	}
	for (unsigned k = 0; k < OPT__COUNT; k++)
		if ((d->required & B(k)) && c.n[k] == 0) {
			hnv_seterr(err, errlen, "%s: missing %s", name, opt_defs[k].name);
			return -EINVAL;
		}

	memset(cmd, 0, sizeof(*cmd));
	cmd->kind = d->kind;
	rc = d->build(&c, cmd);
	if (rc < 0 && c.n[OPT_PSK] && strcmp(c.val[OPT_PSK][0], "<secret>") != 0)
		scrub(err, errlen, name, c.val[OPT_PSK][0]);
	return rc < 0 ? rc : 1;
}

/* Parses one line of len bytes (no terminator, no NUL). 1, 0 or -EINVAL.
 * The words are cleared afterwards: they may hold a PSK. */
static int parse_words(const char *s, size_t len, struct hnv_conf_cmd *cmd, char *err,
		       size_t errlen)
{
	struct words ws;
	int rc = parse_ws(s, len, &ws, cmd, err, errlen);
	explicit_bzero(&ws, sizeof(ws));
	return rc;
}

int hnv_conf_parse_line(const char *line, struct hnv_conf_cmd *cmd, char *err, size_t errlen)
{
	if (line == NULL || cmd == NULL) {
		hnv_seterr(err, errlen, "no line to parse");
		return -EINVAL;
	}
	size_t len = strnlen(line, CONF_LINE_MAX + 3);
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > CONF_LINE_MAX) {
		hnv_seterr(err, errlen, "line too long (more than %d bytes)", CONF_LINE_MAX);
		return -EINVAL;
	}
	struct hnv_conf_cmd t;
	int rc = parse_words(line, len, &t, err, errlen);
	if (rc == 1) {
		t.line = 0;
		*cmd = t;
	}
	explicit_bzero(&t, sizeof(t));
	return rc;
}

int hnv_conf_parse_text(const char *text, size_t len, struct hnv_conf_cmd **cmds, size_t *n,
			char *err, size_t errlen)
{
	char msg[MSG_MAX];
	struct hnv_conf_cmd *arr = NULL, c;
	size_t cnt = 0, cap = 0, off = 0;
	unsigned lineno = 0;
	int rc = 0;

	if (cmds == NULL || n == NULL || (text == NULL && len > 0)) {
		hnv_seterr(err, errlen, "no text to parse");
		return -EINVAL;
	}
	*cmds = NULL;
	*n = 0;
	while (off < len) {
		const char *ls = text + off;
		const char *nl = memchr(ls, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - ls) : len - off;
		off += ll + (nl ? 1 : 0);
		if (lineno == UINT32_MAX) {
			hnv_seterr(err, errlen, "too many lines");
			rc = -EINVAL;
			break;
		}
		lineno++;
		if (ll > 0 && ls[ll - 1] == '\r')
			ll--;
		if (ll > CONF_LINE_MAX) {
			hnv_seterr(err, errlen, "line %u: line too long (more than %d bytes)", lineno,
			       CONF_LINE_MAX);
			rc = -EINVAL;
			break;
		}
		const char *nul = memchr(ls, '\0', ll);
		if (nul) {
			hnv_seterr(err, errlen, "line %u: NUL byte at column %zu", lineno,
			       (size_t)(nul - ls) + 1);
			rc = -EINVAL;
			break;
		}
		rc = parse_words(ls, ll, &c, msg, sizeof(msg));
		if (rc < 0) {
			hnv_seterr(err, errlen, "line %u: %s", lineno, msg);
			break;
		}
		if (rc == 0)
			continue;
		c.line = lineno;
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct hnv_conf_cmd *na = NULL;
			/* not realloc: the old array may hold PSKs to clear */
			if (ncap <= SIZE_MAX / sizeof(*arr))
				na = malloc(ncap * sizeof(*arr));
			if (na != NULL && cnt > 0)
				memcpy(na, arr, cnt * sizeof(*arr));
			hnv_conf_cmds_free(arr, cnt);
			arr = na;
			if (na == NULL) {
				hnv_seterr(err, errlen, "line %u: out of memory", lineno);
				rc = -ENOMEM;
				break;
			}
			cap = ncap;
		}
		arr[cnt++] = c;
		rc = 0;
	}
	explicit_bzero(&c, sizeof(c));
	if (rc < 0) {
		hnv_conf_cmds_free(arr, cnt);
		return rc;
	}
	*cmds = arr; /* NULL when the text holds no command */
	*n = cnt;
	return 0;
}

void hnv_conf_cmds_free(struct hnv_conf_cmd *cmds, size_t n)
{
	if (cmds == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		if (cmds[i].kind == HNV_CONF_S2S_ADD)
			explicit_bzero(&cmds[i], sizeof(cmds[i]));
	free(cmds);
}

/* ---- applier ---- */

static const char *errno_text(int rc)
{
	switch (rc) {
	case -EINVAL:
		return "invalid value";
	case -EEXIST:
		return "already exists";
	case -ENOENT:
		return "not found";
	case -ENOSPC:
		return "table full";
	case -ENOMEM:
		return "out of memory";
	case -EBUSY:
		return "in use";
	case -EXDEV:
		return "in another routing domain";
	default:
		return "failed";
	}
}

/* The default gateway of a prefix: its lowest usable address. */
static void gateway_of(const struct hnv_prefix *p, struct hnv_ip *gw)
{
	*gw = p->addr;
	for (int i = 15; i >= 0; i--)
		if (++gw->b[i] != 0)
			break;
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static int vsid_missing(const char *cmd, uint32_t vsid, char *err, size_t errlen)
{
	hnv_seterr(err, errlen, "%s: VSID %u is not configured (vsubnet add %u first)", cmd, vsid,
	       vsid);
	return -ENOENT;
}

/* A CA must lie inside one of the VSID's prefixes and not be the default
 * gateway of that prefix (HNV reserves it on every host). */
static int check_ca(const char *cmd, const struct hnv_vsubnet_spec *vs, const struct hnv_ip *ca,
		    char *err, size_t errlen)
{
	char a[INET6_ADDRSTRLEN], pl[64] = "";
	unsigned np = vs->n_prefixes < HNV_VSUBNET_MAX_PREFIXES ? vs->n_prefixes
								: HNV_VSUBNET_MAX_PREFIXES;
	for (unsigned i = 0; i < np; i++) {
		const struct hnv_prefix *p = &vs->prefixes[i];
		if (!hnv_prefix_contains(p, ca))
			continue;
		struct hnv_ip gw;
		gateway_of(p, &gw);
		if (hnv_ip_eq(&gw, ca)) {
			hnv_fmt_ip(ca, a, sizeof(a));
			hnv_fmt_prefix(p, pl, sizeof(pl));
			hnv_seterr(err, errlen, "%s: CA %s is the default gateway of VSID %u (%s)", cmd,
			       a, vs->vsid, pl);
			return -EINVAL;
		}
		return 0;
	}
	char list[HNV_VSUBNET_MAX_PREFIXES * 52] = "";
	size_t o = 0;
	hnv_fmt_ip(ca, a, sizeof(a));
	for (unsigned i = 0; i < np; i++) {
		hnv_fmt_prefix(&vs->prefixes[i], pl, sizeof(pl));
		int k = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", pl);
		if (k < 0 || (size_t)k >= sizeof(list) - o)
			break;
		o += (size_t)k;
	}
	hnv_seterr(err, errlen, "%s: CA %s is outside the prefixes of VSID %u (%s)", cmd, a, vs->vsid,
	       list);
	return -EINVAL;
}

/* ---- what a batch knows beyond the datapath ----
 * The routing domains it added, and the objects that live only in the
 * configuration (provider routes, gateways, gateway CAs, tunnels). Small
 * arrays searched linearly: there are at most a few per routing domain. */

struct vec {
	void *a;
	size_t n, cap, size;
};

static void *vec_at(const struct vec *v, size_t i)
{
	return (char *)v->a + i * v->size;
}

static int vec_push(struct vec *v, const void *item)
{
	if (v->n == v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 8;
		void *na = NULL;
		if (ncap <= SIZE_MAX / v->size)
			na = realloc(v->a, ncap * v->size);
		if (na == NULL)
			return -ENOMEM;
		v->a = na;
		v->cap = ncap;
	}
	memcpy(vec_at(v, v->n++), item, v->size);
	return 0;
}

static void vec_del(struct vec *v, size_t i)
{
	memmove(vec_at(v, i), vec_at(v, i + 1), (v->n - i - 1) * v->size);
	v->n--;
}

struct gw_rec {
	char rdomain[HNV_NAME_MAX + 1];
	char vrf[HNV_DEV_MAX + 1];
	uint32_t table;
};

/* A tunnel without its secrets: what other tunnels are checked against. */
struct s2s_rec {
	char name[HNV_NAME_MAX + 1];
	char rdomain[HNV_NAME_MAX + 1];
	struct hnv_ip peer;
	bool has_local_addr;
	struct hnv_ip local_addr;
	char local_id[HNV_S2S_ID_MAX + 1];
	char remote_id[HNV_S2S_ID_MAX + 1];
};

struct hnv_conf_batch {
	struct hnv_dp *dp;
	struct vec rdomains; /* char[HNV_NAME_MAX + 1] */
	struct vec gws;      /* struct gw_rec */
	struct vec cas;      /* struct hnv_conf_gateway_ca */
	struct vec s2s;      /* struct s2s_rec */
	struct vec proutes;  /* struct hnv_conf_proute, key fields */
	struct vec pools;    /* struct hnv_conf_pool */
	struct vec autos;    /* struct auto_rec: port records not replaced */
};

/* A lookup record made for a port's CA (conftext.h), until the port goes
 * or an explicit "lookup add" of the same VSID and CA replaces it. */
struct auto_rec {
	char port[HNV_NAME_MAX + 1];
	uint32_t vsid;
	struct hnv_ip ca;
	struct hnv_mac mac;
};

/* Index of the first element for which match(elem, key) holds, or -1. */
static long vec_find(const struct vec *v, bool (*match)(const void *, const void *),
		     const void *key)
{
	for (size_t i = 0; i < v->n; i++)
		if (match(vec_at(v, i), key))
			return (long)i;
	return -1;
}

static bool name_is(const void *elem, const void *key)
{
	return strcmp(elem, key) == 0; /* every record starts with its name */
}

static bool gw_uses_rdomain(const void *elem, const void *key)
{
	return strcmp(((const struct gw_rec *)elem)->rdomain, key) == 0;
}

static bool s2s_uses_rdomain(const void *elem, const void *key)
{
	return strcmp(((const struct s2s_rec *)elem)->rdomain, key) == 0;
}

static bool ca_uses_rdomain(const void *elem, const void *key)
{
	return strcmp(((const struct hnv_conf_gateway_ca *)elem)->rdomain, key) == 0;
}

static bool ca_uses_vsid(const void *elem, const void *key)
{
	return ((const struct hnv_conf_gateway_ca *)elem)->vsid == *(const uint32_t *)key;
}

static bool pool_of_vsid(const void *elem, const void *key)
{
	return ((const struct hnv_conf_pool *)elem)->vsid == *(const uint32_t *)key;
}

static bool rdomain_known(const struct hnv_conf_batch *b, const char *name)
{
	return vec_find(&b->rdomains, name_is, name) >= 0;
}

static int rdomain_missing(const char *cmd, const char *name, char *err, size_t errlen)
{
	hnv_seterr(err, errlen, "%s: routing domain \"%s\" not found", cmd, name);
	return -ENOENT;
}

static int apply_rdomain(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
			 size_t errlen)
{
	struct hnv_policy *p = hnv_dp_policy(b->dp);
	const char *name = c->u.rdomain.name;
	bool add = c->kind == HNV_CONF_RDOMAIN_ADD;
	const char *cmd = add ? "rdomain add" : "rdomain del";
	char g[40];
	if (!terminated(name, sizeof(c->u.rdomain.name))) {
		hnv_seterr(err, errlen, "%s: name is not terminated", cmd);
		return -EINVAL;
	}
	if (!add && vec_find(&b->gws, gw_uses_rdomain, name) >= 0) {
		hnv_seterr(err, errlen,
		       "%s: rdomain \"%s\" is in use by its gateway (gateway del first)", cmd,
		       name);
		return -EBUSY;
	}
	if (!add && vec_find(&b->s2s, s2s_uses_rdomain, name) >= 0) {
		hnv_seterr(err, errlen, "%s: rdomain \"%s\" is in use by s2s tunnels (s2s del first)",
		       cmd, name);
		return -EBUSY;
	}
	hnv_fmt_guid(&c->u.rdomain.rdid, g, sizeof(g));
	int rc = add ? hnv_policy_rdomain_add(p, name, &c->u.rdomain.rdid)
		     : hnv_policy_rdomain_del(p, name);
	long known = rc == 0 ? vec_find(&b->rdomains, name_is, name) : -1;
	if (rc == 0 && add && vec_push(&b->rdomains, c->u.rdomain.name) < 0) {
		hnv_policy_rdomain_del(p, name);
		rc = -ENOMEM;
	} else if (rc == 0 && !add && known >= 0) {
		vec_del(&b->rdomains, (size_t)known);
	}
	if (rc == -EEXIST)
		hnv_seterr(err, errlen,
		       "%s: rdomain \"%s\" already exists, or RDID %s belongs to another rdomain",
		       cmd, name, g);
	else if (rc == -ENOENT)
		hnv_seterr(err, errlen, "%s: rdomain \"%s\" not found", cmd, name);
	else if (rc == -EBUSY)
		hnv_seterr(err, errlen,
		       "%s: rdomain \"%s\" is in use (delete its vsubnets and routes first)", cmd,
		       name);
	else if (rc < 0)
		hnv_seterr(err, errlen, "%s: rdomain \"%s\"%s%s: %s", cmd, name, add ? " " : "",
		       add ? g : "", errno_text(rc));
	return rc < 0 ? rc : 0;
}

static int apply_vsubnet(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
			 size_t errlen)
{
	struct hnv_policy *p = hnv_dp_policy(b->dp);
	const struct hnv_vsubnet_spec *s = &c->u.vsubnet;
	bool add = c->kind == HNV_CONF_VSUBNET_ADD;
	const char *cmd = add ? "vsubnet add" : "vsubnet del";
	if (add && !terminated(s->rdomain, sizeof(s->rdomain))) {
		hnv_seterr(err, errlen, "%s: rdomain name is not terminated", cmd);
		return -EINVAL;
	}
	long pl = add ? -1 : vec_find(&b->pools, pool_of_vsid, &s->vsid);
	if (pl >= 0) {
		hnv_seterr(err, errlen, "%s: VSID %u is in use by pool \"%s\" (pool del first)", cmd,
		       s->vsid,
		       ((const struct hnv_conf_pool *)vec_at(&b->pools, (size_t)pl))->name);
		return -EBUSY;
	}
	long ca = add ? -1 : vec_find(&b->cas, ca_uses_vsid, &s->vsid);
	if (ca >= 0) {
		hnv_seterr(err, errlen,
		       "%s: VSID %u is in use by the gateway of routing domain \"%s\" (gateway "
		       "ca-del first)",
		       cmd, s->vsid,
		       ((const struct hnv_conf_gateway_ca *)vec_at(&b->cas, (size_t)ca))->rdomain);
		return -EBUSY;
	}
	int rc = add ? hnv_policy_vsubnet_add(p, s) : hnv_policy_vsubnet_del(p, s->vsid);
	if (rc == -EEXIST)
		hnv_seterr(err, errlen, "%s: VSID %u already exists", cmd, s->vsid);
	else if (rc == -ENOENT && add)
		hnv_seterr(err, errlen, "%s: routing domain \"%s\" not found", cmd, s->rdomain);
	else if (rc == -ENOENT)
		hnv_seterr(err, errlen, "%s: VSID %u is not configured", cmd, s->vsid);
	else if (rc == -EBUSY)
		hnv_seterr(err, errlen,
		       "%s: VSID %u is in use (delete its ports, lookup records and routes first)",
		       cmd, s->vsid);
	else if (rc < 0)
		hnv_seterr(err, errlen, "%s: VSID %u: %s", cmd, s->vsid, errno_text(rc));
	return rc < 0 ? rc : 0;
}

static int apply_pa(struct hnv_policy *p, const struct hnv_conf_cmd *c, char *err, size_t errlen)
{
	bool add = c->kind == HNV_CONF_PA_ADD;
	const char *cmd = add ? "pa add" : "pa del";
	char a[INET6_ADDRSTRLEN];
	hnv_fmt_ip(&c->u.pa.addr.addr, a, sizeof(a));
	int rc = add ? hnv_policy_pa_add(p, &c->u.pa.addr)
		     : hnv_policy_pa_del(p, &c->u.pa.addr.addr);
	if (rc == -EEXIST)
		hnv_seterr(err, errlen, "%s: provider address %s already exists", cmd, a);
	else if (rc == -ENOENT)
		hnv_seterr(err, errlen, "%s: provider address %s not found", cmd, a);
	else if (rc < 0)
		hnv_seterr(err, errlen, "%s: provider address %s: %s", cmd, a, errno_text(rc));
	return rc < 0 ? rc : 0;
}

static bool auto_of_port(const void *elem, const void *key)
{
	return strcmp(((const struct auto_rec *)elem)->port, key) == 0;
}

struct vsid_ca {
	uint32_t vsid;
	const struct hnv_ip *ca;
};

static bool auto_is(const void *elem, const void *key)
{
	const struct auto_rec *a = elem;
	const struct vsid_ca *k = key;
	return a->vsid == k->vsid && hnv_ip_eq(&a->ca, k->ca);
}

/* The lookup records of a new port's CAs (conftext.h, "port"). */
static int port_records(struct hnv_conf_batch *b, const struct hnv_port_spec *s, char *err,
			size_t errlen)
{
	struct hnv_policy *p = hnv_dp_policy(b->dp);
	const struct hnv_ip *pa = hnv_policy_local_pa(p, true);
	if (pa == NULL)
		pa = hnv_policy_local_pa(p, false);
	if (pa == NULL)
		return 0;
	for (unsigned i = 0; i < s->n_cas; i++) {
		struct hnv_lookup_spec r;
		memset(&r, 0, sizeof(r));
		r.vsid = s->vsid;
		r.ca = s->cas[i];
		r.pa = *pa;
		r.mac = s->mac;
		r.rule = HNV_RULE_ENCAP;
		r.type = HNV_TYPE_STATIC;
		memcpy(r.vm_name, s->name, sizeof(r.vm_name));
		int rc = hnv_policy_lookup_add(p, &r);
		struct vsid_ca key = {s->vsid, &s->cas[i]};
		long other = rc == -EEXIST ? vec_find(&b->autos, auto_is, &key) : -1;
		if (other >= 0) {
			char t[INET6_ADDRSTRLEN];
			hnv_fmt_ip(&s->cas[i], t, sizeof(t));
			hnv_seterr(err, errlen,
			       "port add: CA %s of port \"%s\" is already the address of port "
			       "\"%s\" in VSID %u",
			       t, s->name,
			       ((const struct auto_rec *)vec_at(&b->autos, (size_t)other))->port,
			       s->vsid);
			return -EEXIST;
		}
		if (rc == -EEXIST)
			continue; /* an explicit record of this CA stays */
		struct auto_rec a;
		memset(&a, 0, sizeof(a));
		memcpy(a.port, s->name, sizeof(a.port));
		a.vsid = s->vsid;
		a.ca = s->cas[i];
		a.mac = s->mac;
		if (rc == 0 && vec_push(&b->autos, &a) < 0)
			rc = -ENOMEM;
		if (rc < 0) {
			char t[INET6_ADDRSTRLEN];
			hnv_fmt_ip(&s->cas[i], t, sizeof(t));
			hnv_seterr(err, errlen, "port add: port \"%s\": lookup record of CA %s: %s",
			       s->name, t, errno_text(rc));
			return rc;
		}
	}
	return 0;
}

/* Refuses a CA that is the DHCP server identifier of a VSID with a pool. */
static int check_server_id(struct hnv_conf_batch *b, const char *cmd,
			   const struct hnv_vsubnet_spec *vs, const struct hnv_ip *ca, char *err,
			   size_t errlen)
{
	long pi = vec_find(&b->pools, pool_of_vsid, &vs->vsid);
	if (pi < 0 || !hnv_ip_is_v4(ca))
		return 0;
	for (unsigned i = 0; i < vs->n_prefixes && i < HNV_VSUBNET_MAX_PREFIXES; i++) {
		struct hnv_ip sid;
		if (!hnv_prefix_contains(&vs->prefixes[i], ca))
			continue;
		hnv_dhcp_server_id(&vs->prefixes[i], &sid);
		if (hnv_ip_eq(&sid, ca)) {
			char a[INET6_ADDRSTRLEN];
			hnv_fmt_ip(ca, a, sizeof(a));
			hnv_seterr(err, errlen,
			       "%s: CA %s is reserved as the DHCP server identifier of VSID %u "
			       "(it has pool \"%s\")",
			       cmd, a, vs->vsid,
			       ((const struct hnv_conf_pool *)vec_at(&b->pools, (size_t)pi))->name);
			return -EINVAL;
		}
	}
	return 0;
}

static int apply_port(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		      size_t errlen)
{
	struct hnv_policy *p = hnv_dp_policy(b->dp);
	const struct hnv_port_spec *s = &c->u.port;
	bool add = c->kind == HNV_CONF_PORT_ADD;
	const char *cmd = add ? "port add" : "port del";
	static const struct hnv_mac zero_mac;
	int rc;
	if (!terminated(s->name, sizeof(s->name))) {
		hnv_seterr(err, errlen, "%s: name is not terminated", cmd);
		return -EINVAL;
	}
	if (!add) {
		rc = hnv_policy_port_del(p, s->name);
		if (rc == -ENOENT)
			hnv_seterr(err, errlen, "%s: port \"%s\" not found", cmd, s->name);
		else if (rc < 0)
			hnv_seterr(err, errlen, "%s: port \"%s\": %s", cmd, s->name, errno_text(rc));
		if (rc < 0)
			return rc;
		/* its records go with it (one an explicit lookup del took is gone) */
		for (long i; (i = vec_find(&b->autos, auto_of_port, s->name)) >= 0;) {
			const struct auto_rec *a = vec_at(&b->autos, (size_t)i);
			rc = hnv_policy_lookup_del(p, a->vsid, &a->ca, &a->mac);
			if (rc < 0 && rc != -ENOENT) {
				hnv_seterr(err, errlen, "%s: port \"%s\": its lookup record: %s", cmd,
				       s->name, errno_text(rc));
				return rc;
			}
			vec_del(&b->autos, (size_t)i);
		}
		return 0;
	}
	if (s->n_cas > HNV_PORT_MAX_CAS) {
		hnv_seterr(err, errlen, "%s: port \"%s\" needs 1-%d CAs", cmd, s->name,
		       HNV_PORT_MAX_CAS);
		return -EINVAL;
	}
	struct hnv_vsubnet_spec vs;
	if (hnv_policy_vsubnet_get(p, s->vsid, &vs) < 0)
		return vsid_missing(cmd, s->vsid, err, errlen);
	if (s->n_cas == 0 || hnv_mac_eq(&s->mac, &zero_mac)) {
		hnv_seterr(err, errlen,
		       "%s: port \"%s\" needs --ca and --mac here (hnvgwd fills them in from the "
		       "pool of VSID %u)",
		       cmd, s->name, s->vsid);
		return -EINVAL;
	}
	for (unsigned i = 0; i < s->n_cas; i++) {
		rc = check_ca(cmd, &vs, &s->cas[i], err, errlen);
		if (rc == 0)
			rc = check_server_id(b, cmd, &vs, &s->cas[i], err, errlen);
		if (rc < 0)
			return rc;
	}
	rc = hnv_policy_port_add(p, s);
	if (rc >= 0)
		return port_records(b, s, err, errlen);
	if (rc == -EEXIST) {
		char m[18];
		hnv_fmt_mac(&s->mac, m, sizeof(m));
		hnv_seterr(err, errlen,
		       "%s: port \"%s\" already exists, or MAC %s is already a port of VSID %u",
		       cmd, s->name, m, s->vsid);
	} else if (rc == -ENOENT) {
		return vsid_missing(cmd, s->vsid, err, errlen);
	} else if (rc < 0) {
		hnv_seterr(err, errlen, "%s: port \"%s\": %s", cmd, s->name, errno_text(rc));
	}
	return rc < 0 ? rc : 0;
}

/* A record in messages: its CA in a, MAC in m, "VSID N CA a MAC m" in rec.
 * Formatted only for a message: a config applies many records. */
static void lookup_name(const struct hnv_lookup_spec *s, char a[INET6_ADDRSTRLEN], char m[18],
			char *rec, size_t reclen)
{
	hnv_fmt_ip(&s->ca, a, INET6_ADDRSTRLEN);
	hnv_fmt_mac(&s->mac, m, 18);
	snprintf(rec, reclen, "VSID %u CA %s MAC %s", s->vsid, a, m);
}

static int apply_lookup(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
			size_t errlen)
{
	struct hnv_policy *p = hnv_dp_policy(b->dp);
	const struct hnv_lookup_spec *s = &c->u.lookup;
	const char *cmd = c->kind == HNV_CONF_LOOKUP_ADD   ? "lookup add"
			  : c->kind == HNV_CONF_LOOKUP_SET ? "lookup set"
							   : "lookup del";
	char a[INET6_ADDRSTRLEN], m[18], rec[96];
	int rc;
	if (c->kind == HNV_CONF_LOOKUP_DEL) {
		rc = hnv_policy_lookup_del(p, s->vsid, &s->ca, &s->mac);
		if (rc < 0)
			lookup_name(s, a, m, rec, sizeof(rec));
		if (rc == -ENOENT)
			hnv_seterr(err, errlen, "%s: no record %s", cmd, rec);
		else if (rc < 0)
			hnv_seterr(err, errlen, "%s: record %s: %s", cmd, rec, errno_text(rc));
		return rc < 0 ? rc : 0;
	}
	if (!terminated(s->vm_name, sizeof(s->vm_name)) ||
	    !terminated(s->context, sizeof(s->context))) {
		hnv_seterr(err, errlen, "%s: VM name or context is not terminated", cmd);
		return -EINVAL;
	}
	struct hnv_vsubnet_spec vs;
	if (hnv_policy_vsubnet_get(p, s->vsid, &vs) < 0)
		return vsid_missing(cmd, s->vsid, err, errlen);
	if (!hnv_ip_is_unspec(&s->ca)) {
		rc = check_ca(cmd, &vs, &s->ca, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (c->kind == HNV_CONF_LOOKUP_ADD) {
		rc = hnv_policy_lookup_add(p, s);
		struct vsid_ca key = {s->vsid, &s->ca};
		long ai = rc == -EEXIST ? vec_find(&b->autos, auto_is, &key) : -1;
		if (ai >= 0) {
			/* an explicit record replaces the one made for a port */
			const struct auto_rec *x = vec_at(&b->autos, (size_t)ai);
			rc = hnv_policy_lookup_del(p, x->vsid, &x->ca, &x->mac);
			vec_del(&b->autos, (size_t)ai);
			if (rc == 0)
				rc = hnv_policy_lookup_add(p, s);
		}
		if (rc < 0)
			lookup_name(s, a, m, rec, sizeof(rec));
		if (rc == -EEXIST)
			hnv_seterr(err, errlen,
			       "%s: record %s already exists, or another record of VSID %u has "
			       "CA %s%s",
			       cmd, rec, s->vsid, a,
			       hnv_ip_is_unspec(&s->ca) ? " (one gateway-wildcard per family)"
							: "");
		else if (rc == -ENOENT)
			return vsid_missing(cmd, s->vsid, err, errlen);
		else if (rc < 0)
			hnv_seterr(err, errlen, "%s: record %s: %s", cmd, rec, errno_text(rc));
	} else {
		rc = hnv_policy_lookup_set(p, s);
		if (rc < 0)
			lookup_name(s, a, m, rec, sizeof(rec));
		if (rc == -ENOENT)
			hnv_seterr(err, errlen, "%s: no record %s", cmd, rec);
		else if (rc < 0)
			hnv_seterr(err, errlen, "%s: record %s: %s", cmd, rec, errno_text(rc));
	}
	return rc < 0 ? rc : 0;
}

static int apply_route(struct hnv_policy *p, const struct hnv_conf_cmd *c, char *err, size_t errlen)
{
	const struct hnv_route_spec *s = &c->u.route;
	bool add = c->kind == HNV_CONF_ROUTE_ADD;
	const char *cmd = add ? "route add" : "route del";
	char pfx[64], nh[INET6_ADDRSTRLEN];
	int rc;
	if (!terminated(s->rdomain, sizeof(s->rdomain))) {
		hnv_seterr(err, errlen, "%s: rdomain name is not terminated", cmd);
		return -EINVAL;
	}
	hnv_fmt_prefix(&s->prefix, pfx, sizeof(pfx));
	hnv_fmt_ip(&s->nexthop, nh, sizeof(nh));
	if (!add) {
		rc = hnv_policy_route_del(p, s->rdomain, &s->prefix, &s->nexthop);
		if (rc == -ENOENT)
			hnv_seterr(err, errlen,
			       "%s: no route %s via %s in routing domain \"%s\" (or no such "
			       "routing domain)",
			       cmd, pfx, nh, s->rdomain);
		else if (rc < 0)
			hnv_seterr(err, errlen, "%s: route %s via %s: %s", cmd, pfx, nh,
			       errno_text(rc));
		return rc < 0 ? rc : 0;
	}
	struct hnv_vsubnet_spec vs;
	bool have_vs = hnv_policy_vsubnet_get(p, s->vsid, &vs) == 0;
	rc = hnv_policy_route_add(p, s);
	if (rc == -ENOENT && !have_vs)
		return vsid_missing(cmd, s->vsid, err, errlen);
	if (rc == -ENOENT)
		hnv_seterr(err, errlen, "%s: routing domain \"%s\" not found", cmd, s->rdomain);
	else if (rc == -EXDEV && have_vs)
		hnv_seterr(err, errlen, "%s: VSID %u belongs to routing domain \"%s\", not \"%s\"", cmd,
		       s->vsid, vs.rdomain, s->rdomain);
	else if (rc == -EEXIST)
		hnv_seterr(err, errlen, "%s: route %s via %s already exists in routing domain \"%s\"",
		       cmd, pfx, nh, s->rdomain);
	else if (rc < 0)
		hnv_seterr(err, errlen, "%s: route %s via %s in routing domain \"%s\": %s", cmd, pfx,
		       nh, s->rdomain, errno_text(rc));
	return rc < 0 ? rc : 0;
}

/* Publishes the pools of vsid to the datapath's DHCP. */
static int pools_publish(struct hnv_conf_batch *b, uint32_t vsid)
{
	struct hnv_dhcp_cfg cfg;
	memset(&cfg, 0, sizeof(cfg));
	for (size_t i = 0; i < b->pools.n; i++) {
		const struct hnv_conf_pool *o = vec_at(&b->pools, i);
		if (o->vsid == vsid && cfg.n_pools < HNV_DHCP_POOLS_MAX)
			cfg.pools[cfg.n_pools++] = o->range;
	}
	return hnv_policy_vsubnet_dhcp_set(hnv_dp_policy(b->dp), vsid, &cfg);
}

static bool in_range(uint32_t x, uint32_t first, uint32_t last)
{
	return x >= first && x <= last;
}

static int apply_pool(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		      size_t errlen)
{
	const struct hnv_conf_pool *s = &c->u.pool;
	bool add = c->kind == HNV_CONF_POOL_ADD;
	const char *cmd = add ? "pool add" : "pool del";
	if (!terminated(s->name, sizeof(s->name))) {
		hnv_seterr(err, errlen, "%s: name is not terminated", cmd);
		return -EINVAL;
	}
	long pi = vec_find(&b->pools, name_is, s->name);
	int rc;
	if (!add) {
		if (pi < 0) {
			hnv_seterr(err, errlen, "%s: pool \"%s\" not found", cmd, s->name);
			return -ENOENT;
		}
		uint32_t vsid = ((const struct hnv_conf_pool *)vec_at(&b->pools, (size_t)pi))->vsid;
		vec_del(&b->pools, (size_t)pi);
		rc = pools_publish(b, vsid);
		if (rc < 0)
			hnv_seterr(err, errlen, "%s: pool \"%s\": %s", cmd, s->name, errno_text(rc));
		return rc;
	}
	if (pi >= 0) {
		hnv_seterr(err, errlen, "%s: pool \"%s\" already exists", cmd, s->name);
		return -EEXIST;
	}
	const struct hnv_dhcp_pool *r = &s->range;
	if (!hnv_ip_is_v4(&r->first) || !hnv_ip_is_v4(&r->last) || r->n_dns > HNV_DHCP_DNS_MAX) {
		hnv_seterr(err, errlen, "%s: pool \"%s\": invalid range or DNS servers", cmd, s->name);
		return -EINVAL;
	}
	char f[INET6_ADDRSTRLEN], l[INET6_ADDRSTRLEN], pl[64];
	hnv_fmt_ip(&r->first, f, sizeof(f));
	hnv_fmt_ip(&r->last, l, sizeof(l));
	uint32_t lo = ip4_u32(&r->first), hi = ip4_u32(&r->last);
	struct hnv_vsubnet_spec vs;
	if (hnv_policy_vsubnet_get(hnv_dp_policy(b->dp), s->vsid, &vs) < 0) {
		hnv_seterr(err, errlen,
		       "%s: pool \"%s\": VSID %u is not configured: a pool needs a VM subnet "
		       "(vsubnet add %u --rdomain NAME --prefix P first)",
		       cmd, s->name, s->vsid, s->vsid);
		return -ENOENT;
	}
	const struct hnv_prefix *px = NULL;
	for (unsigned i = 0; i < vs.n_prefixes && i < HNV_VSUBNET_MAX_PREFIXES; i++)
		if (hnv_prefix_contains(&vs.prefixes[i], &r->first) &&
		    hnv_prefix_contains(&vs.prefixes[i], &r->last))
			px = &vs.prefixes[i];
	if (px == NULL) {
		char list[HNV_VSUBNET_MAX_PREFIXES * 52] = "";
		size_t o = 0;
		for (unsigned i = 0; i < vs.n_prefixes && i < HNV_VSUBNET_MAX_PREFIXES; i++) {
			hnv_fmt_prefix(&vs.prefixes[i], pl, sizeof(pl));
			int k = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", pl);
			if (k < 0 || (size_t)k >= sizeof(list) - o)
				break;
			o += (size_t)k;
		}
		hnv_seterr(err, errlen,
		       "%s: range %s-%s of pool \"%s\" is not inside one prefix of VSID %u (%s)",
		       cmd, f, l, s->name, s->vsid, list);
		return -EINVAL;
	}
	hnv_fmt_prefix(px, pl, sizeof(pl));
	struct hnv_ip gw, sid;
	gateway_of(px, &gw);
	hnv_dhcp_server_id(px, &sid);
	uint32_t net = ip4_u32(&px->addr);
	uint32_t bcast = net | (px->len >= 32 ? 0 : UINT32_MAX >> px->len);
	const struct {
		uint32_t a;
		const char *what;
	} reserved[] = {
		{net, "network address"},
		{ip4_u32(&gw), "default gateway"},
		{ip4_u32(&sid), "DHCP server identifier"},
		{bcast, "broadcast address"},
	};
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (in_range(reserved[i].a, lo, hi)) {
			uint8_t v4[4] = {(uint8_t)(reserved[i].a >> 24),
					 (uint8_t)(reserved[i].a >> 16),
					 (uint8_t)(reserved[i].a >> 8), (uint8_t)reserved[i].a};
			struct hnv_ip x;
			char xa[INET6_ADDRSTRLEN];
			hnv_ip_from_v4(&x, v4);
			hnv_fmt_ip(&x, xa, sizeof(xa));
			hnv_seterr(err, errlen,
			       "%s: range %s-%s of pool \"%s\" holds %s, the %s of VSID %u (%s)",
			       cmd, f, l, s->name, xa, reserved[i].what, s->vsid, pl);
			return -EINVAL;
		}
	unsigned n = 0;
	for (size_t i = 0; i < b->pools.n; i++) {
		const struct hnv_conf_pool *o = vec_at(&b->pools, i);
		if (o->vsid != s->vsid)
			continue;
		n++;
		uint32_t olo = ip4_u32(&o->range.first), ohi = ip4_u32(&o->range.last);
		if (hi < olo || lo > ohi)
			continue;
		char of[INET6_ADDRSTRLEN], ol[INET6_ADDRSTRLEN];
		hnv_fmt_ip(&o->range.first, of, sizeof(of));
		hnv_fmt_ip(&o->range.last, ol, sizeof(ol));
		hnv_seterr(err, errlen,
		       "%s: range %s-%s of pool \"%s\" overlaps pool \"%s\" (%s-%s) of VSID %u",
		       cmd, f, l, s->name, o->name, of, ol, s->vsid);
		return -EEXIST;
	}
	if (n >= HNV_DHCP_POOLS_MAX) {
		hnv_seterr(err, errlen, "%s: pool \"%s\": VSID %u already has %d pools", cmd, s->name,
		       s->vsid, HNV_DHCP_POOLS_MAX);
		return -ENOSPC;
	}
	if (vec_push(&b->pools, s) < 0) {
		hnv_seterr(err, errlen, "%s: pool \"%s\": out of memory", cmd, s->name);
		return -ENOMEM;
	}
	rc = pools_publish(b, s->vsid);
	if (rc < 0)
		hnv_seterr(err, errlen, "%s: pool \"%s\": %s", cmd, s->name, errno_text(rc));
	return rc;
}

static int apply_proute(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
			size_t errlen)
{
	const struct hnv_conf_proute *s = &c->u.proute;
	bool add = c->kind == HNV_CONF_PROUTE_ADD;
	const char *cmd = add ? "proute add" : "proute del";
	char pfx[64], nh[INET6_ADDRSTRLEN];
	hnv_fmt_prefix(&s->prefix, pfx, sizeof(pfx));
	hnv_fmt_ip(&s->nexthop, nh, sizeof(nh));
	if (add && !terminated(s->dev, sizeof(s->dev))) {
		hnv_seterr(err, errlen, "%s: device name is not terminated", cmd);
		return -EINVAL;
	}
	size_t i;
	for (i = 0; i < b->proutes.n; i++) {
		const struct hnv_conf_proute *r = vec_at(&b->proutes, i);
		if (r->prefix.len == s->prefix.len && hnv_ip_eq(&r->prefix.addr, &s->prefix.addr) &&
		    hnv_ip_eq(&r->nexthop, &s->nexthop))
			break;
	}
	if (add && i < b->proutes.n) {
		hnv_seterr(err, errlen, "%s: provider route %s via %s already exists", cmd, pfx, nh);
		return -EEXIST;
	}
	if (!add && i == b->proutes.n) {
		hnv_seterr(err, errlen, "%s: no provider route %s via %s", cmd, pfx, nh);
		return -ENOENT;
	}
	if (!add) {
		vec_del(&b->proutes, i);
		return 0;
	}
	struct hnv_conf_proute key;
	memset(&key, 0, sizeof(key));
	key.prefix = s->prefix;
	key.nexthop = s->nexthop;
	if (vec_push(&b->proutes, &key) < 0) {
		hnv_seterr(err, errlen, "%s: provider route %s via %s: out of memory", cmd, pfx, nh);
		return -ENOMEM;
	}
	return 0;
}

static int apply_gateway_add(struct hnv_conf_batch *b, const struct hnv_conf_gateway *g, char *err,
			     size_t errlen)
{
	const char *cmd = "gateway add";
	if (!terminated(g->rdomain, sizeof(g->rdomain)) || !terminated(g->vrf, sizeof(g->vrf)) ||
	    !terminated(g->corp_dev, sizeof(g->corp_dev))) {
		hnv_seterr(err, errlen, "%s: a name is not terminated", cmd);
		return -EINVAL;
	}
	if (!rdomain_known(b, g->rdomain))
		return rdomain_missing(cmd, g->rdomain, err, errlen);
	for (size_t i = 0; i < b->gws.n; i++) {
		const struct gw_rec *o = vec_at(&b->gws, i);
		if (strcmp(o->rdomain, g->rdomain) == 0) {
			hnv_seterr(err, errlen,
			       "%s: routing domain \"%s\" already has a gateway (VRF %s)", cmd,
			       g->rdomain, o->vrf);
			return -EEXIST;
		}
		if (strcmp(o->vrf, g->vrf) == 0) {
			hnv_seterr(err, errlen,
			       "%s: VRF %s already exists (gateway of routing domain \"%s\")", cmd,
			       g->vrf, o->rdomain);
			return -EEXIST;
		}
		if (o->table == g->table) {
			hnv_seterr(err, errlen,
			       "%s: table %u already exists (VRF %s of routing domain \"%s\")", cmd,
			       g->table, o->vrf, o->rdomain);
			return -EEXIST;
		}
	}
	struct gw_rec r;
	memset(&r, 0, sizeof(r));
	memcpy(r.rdomain, g->rdomain, sizeof(r.rdomain));
	memcpy(r.vrf, g->vrf, sizeof(r.vrf));
	r.table = g->table;
	if (vec_push(&b->gws, &r) < 0) {
		hnv_seterr(err, errlen, "%s: gateway of \"%s\": out of memory", cmd, g->rdomain);
		return -ENOMEM;
	}
	return 0;
}

static int apply_gateway_del(struct hnv_conf_batch *b, const char *rdomain, char *err,
			     size_t errlen)
{
	const char *cmd = "gateway del";
	long gi = vec_find(&b->gws, gw_uses_rdomain, rdomain);
	if (gi < 0) {
		hnv_seterr(err, errlen, "%s: routing domain \"%s\" has no gateway", cmd, rdomain);
		return -ENOENT;
	}
	long ti = vec_find(&b->s2s, s2s_uses_rdomain, rdomain);
	if (ti >= 0) {
		hnv_seterr(err, errlen,
		       "%s: the gateway of routing domain \"%s\" is in use by s2s \"%s\" (s2s del "
		       "first)",
		       cmd, rdomain, ((const struct s2s_rec *)vec_at(&b->s2s, (size_t)ti))->name);
		return -EBUSY;
	}
	/* The gateway's CAs are part of it and go with it. */
	for (long i; (i = vec_find(&b->cas, ca_uses_rdomain, rdomain)) >= 0;)
		vec_del(&b->cas, (size_t)i);
	vec_del(&b->gws, (size_t)gi);
	return 0;
}

static bool same_family(const struct hnv_ip *a, const struct hnv_ip *b)
{
	return hnv_ip_is_v4(a) == hnv_ip_is_v4(b);
}

static int apply_gateway_ca(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
			    size_t errlen)
{
	const struct hnv_conf_gateway_ca *g = &c->u.gateway_ca;
	bool add = c->kind == HNV_CONF_GATEWAY_CA;
	const char *cmd = add ? "gateway ca" : "gateway ca-del";
	char a[INET6_ADDRSTRLEN];
	if (!terminated(g->rdomain, sizeof(g->rdomain))) {
		hnv_seterr(err, errlen, "%s: rdomain name is not terminated", cmd);
		return -EINVAL;
	}
	hnv_fmt_ip(&g->ca, a, sizeof(a));
	size_t i;
	for (i = 0; i < b->cas.n; i++) {
		const struct hnv_conf_gateway_ca *o = vec_at(&b->cas, i);
		if (strcmp(o->rdomain, g->rdomain) == 0 && o->vsid == g->vsid &&
		    same_family(&o->ca, &g->ca))
			break;
	}
	if (!add) {
		const struct hnv_conf_gateway_ca *o = i < b->cas.n ? vec_at(&b->cas, i) : NULL;
		if (o == NULL || !hnv_ip_eq(&o->ca, &g->ca)) {
			hnv_seterr(err, errlen,
			       "%s: the gateway of routing domain \"%s\" has no CA %s in VSID %u",
			       cmd, g->rdomain, a, g->vsid);
			return -ENOENT;
		}
		vec_del(&b->cas, i);
		return 0;
	}
	if (vec_find(&b->gws, gw_uses_rdomain, g->rdomain) < 0) {
		hnv_seterr(err, errlen,
		       "%s: routing domain \"%s\" has no gateway (gateway add --rdomain %s first)",
		       cmd, g->rdomain, g->rdomain);
		return -ENOENT;
	}
	struct hnv_vsubnet_spec vs;
	if (hnv_policy_vsubnet_get(hnv_dp_policy(b->dp), g->vsid, &vs) < 0)
		return vsid_missing(cmd, g->vsid, err, errlen);
	if (strcmp(vs.rdomain, g->rdomain) != 0) {
		hnv_seterr(err, errlen, "%s: VSID %u belongs to routing domain \"%s\", not \"%s\"", cmd,
		       g->vsid, vs.rdomain, g->rdomain);
		return -EXDEV;
	}
	int rc = check_ca(cmd, &vs, &g->ca, err, errlen);
	if (rc < 0)
		return rc;
	if (i < b->cas.n) {
		char o[INET6_ADDRSTRLEN];
		hnv_fmt_ip(&((const struct hnv_conf_gateway_ca *)vec_at(&b->cas, i))->ca, o,
			   sizeof(o));
		hnv_seterr(err, errlen,
		       "%s: CA %s: the gateway of routing domain \"%s\" already exists in VSID %u "
		       "with CA %s (one per address family)",
		       cmd, a, g->rdomain, g->vsid, o);
		return -EEXIST;
	}
	if (vec_push(&b->cas, g) < 0) {
		hnv_seterr(err, errlen, "%s: CA %s: out of memory", cmd, a);
		return -ENOMEM;
	}
	return 0;
}

static int apply_s2s(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		     size_t errlen)
{
	const struct hnv_conf_s2s *s = &c->u.s2s;
	bool add = c->kind == HNV_CONF_S2S_ADD;
	const char *cmd = add ? "s2s add" : "s2s del";
	if (!terminated(s->name, sizeof(s->name))) {
		hnv_seterr(err, errlen, "%s: name is not terminated", cmd);
		return -EINVAL;
	}
	long ti = vec_find(&b->s2s, name_is, s->name);
	if (!add) {
		if (ti < 0) {
			hnv_seterr(err, errlen, "%s: tunnel \"%s\" not found", cmd, s->name);
			return -ENOENT;
		}
		vec_del(&b->s2s, (size_t)ti);
		return 0;
	}
	if (!terminated(s->rdomain, sizeof(s->rdomain)) ||
	    !terminated(s->local_id, sizeof(s->local_id)) ||
	    !terminated(s->remote_id, sizeof(s->remote_id))) {
		hnv_seterr(err, errlen, "%s: tunnel \"%s\": a value is not terminated", cmd, s->name);
		return -EINVAL;
	}
	if (ti >= 0) {
		hnv_seterr(err, errlen, "%s: tunnel \"%s\" already exists", cmd, s->name);
		return -EEXIST;
	}
	if (!rdomain_known(b, s->rdomain))
		return rdomain_missing(cmd, s->rdomain, err, errlen);
	if (vec_find(&b->gws, gw_uses_rdomain, s->rdomain) < 0) {
		hnv_seterr(err, errlen,
		       "%s: tunnel \"%s\": routing domain \"%s\" has no gateway (gateway add "
		       "--rdomain %s first)",
		       cmd, s->name, s->rdomain, s->rdomain);
		return -ENOENT;
	}
	/* charon tells tunnels to one peer apart by their identities. */
	for (size_t i = 0; i < b->s2s.n; i++) {
		const struct s2s_rec *o = vec_at(&b->s2s, i);
		bool same_local = o->has_local_addr == s->has_local_addr &&
				  (!s->has_local_addr || hnv_ip_eq(&o->local_addr, &s->local_addr));
		if (hnv_ip_eq(&o->peer, &s->peer) && same_local &&
		    strcmp(o->local_id, s->local_id) == 0 &&
		    strcmp(o->remote_id, s->remote_id) == 0) {
			char a[INET6_ADDRSTRLEN];
			hnv_fmt_ip(&s->peer, a, sizeof(a));
			hnv_seterr(err, errlen,
			       "%s: tunnel \"%s\" has the peer %s and the identities of tunnel "
			       "\"%s\" (local-id \"%s\", remote-id \"%s\"); give one of them "
			       "another --local-id or --remote-id",
			       cmd, s->name, a, o->name, s->local_id, s->remote_id);
			if (s->auth == HNV_S2S_AUTH_PSK && terminated(s->psk, sizeof(s->psk)))
				scrub(err, errlen, cmd, s->psk);
			return -EEXIST;
		}
	}
	struct s2s_rec r;
	memset(&r, 0, sizeof(r));
	memcpy(r.name, s->name, sizeof(r.name));
	memcpy(r.rdomain, s->rdomain, sizeof(r.rdomain));
	r.peer = s->peer;
	r.has_local_addr = s->has_local_addr;
	r.local_addr = s->local_addr;
	memcpy(r.local_id, s->local_id, sizeof(r.local_id));
	memcpy(r.remote_id, s->remote_id, sizeof(r.remote_id));
	if (vec_push(&b->s2s, &r) < 0) {
		hnv_seterr(err, errlen, "%s: tunnel \"%s\": out of memory", cmd, s->name);
		return -ENOMEM;
	}
	return 0;
}

static int apply_global(struct hnv_dp *dp, const struct hnv_conf_cmd *c, char *err, size_t errlen)
{
	const struct hnv_conf_global *g = &c->u.global;
	if (g->has_uplink_mtu && (g->uplink_mtu < 576 || g->uplink_mtu > 9000)) {
		hnv_seterr(err, errlen, "global set: uplink MTU %u is outside 576-9000", g->uplink_mtu);
		return -EINVAL;
	}
	if (g->has_gateway_mac)
		hnv_dp_set_gateway_mac(dp, &g->gateway_mac);
	if (g->has_flowid)
		hnv_dp_set_flowid(dp, g->flowid);
	/* The uplink MAC belongs to the I/O layer: NULL keeps it (dp.h). */
	if (g->has_uplink_mtu)
		hnv_dp_set_uplink(dp, NULL, g->uplink_mtu);
	/* UseExternalRouter is no datapath setting: nothing to do here. */
	return 0;
}

static int apply_one(struct hnv_conf_batch *b, const struct hnv_conf_cmd *c, char *err,
		     size_t errlen)
{
	struct hnv_policy *p = hnv_dp_policy(b->dp);
	switch (c->kind) {
	case HNV_CONF_RDOMAIN_ADD:
	case HNV_CONF_RDOMAIN_DEL:
		return apply_rdomain(b, c, err, errlen);
	case HNV_CONF_VSUBNET_ADD:
	case HNV_CONF_VSUBNET_DEL:
		return apply_vsubnet(b, c, err, errlen);
	case HNV_CONF_PA_ADD:
	case HNV_CONF_PA_DEL:
		return apply_pa(p, c, err, errlen);
	case HNV_CONF_PORT_ADD:
	case HNV_CONF_PORT_DEL:
		return apply_port(b, c, err, errlen);
	case HNV_CONF_LOOKUP_ADD:
	case HNV_CONF_LOOKUP_SET:
	case HNV_CONF_LOOKUP_DEL:
		return apply_lookup(b, c, err, errlen);
	case HNV_CONF_POOL_ADD:
	case HNV_CONF_POOL_DEL:
		return apply_pool(b, c, err, errlen);
	case HNV_CONF_ROUTE_ADD:
	case HNV_CONF_ROUTE_DEL:
		return apply_route(p, c, err, errlen);
	case HNV_CONF_GLOBAL_SET:
		return apply_global(b->dp, c, err, errlen);
	case HNV_CONF_PROUTE_ADD:
	case HNV_CONF_PROUTE_DEL:
		return apply_proute(b, c, err, errlen);
	case HNV_CONF_GATEWAY_ADD:
		return apply_gateway_add(b, &c->u.gateway, err, errlen);
	case HNV_CONF_GATEWAY_DEL:
		if (!terminated(c->u.gateway.rdomain, sizeof(c->u.gateway.rdomain))) {
			hnv_seterr(err, errlen, "gateway del: rdomain name is not terminated");
			return -EINVAL;
		}
		return apply_gateway_del(b, c->u.gateway.rdomain, err, errlen);
	case HNV_CONF_GATEWAY_CA:
	case HNV_CONF_GATEWAY_CA_DEL:
		return apply_gateway_ca(b, c, err, errlen);
	case HNV_CONF_S2S_ADD:
	case HNV_CONF_S2S_DEL:
		return apply_s2s(b, c, err, errlen);
	}
	hnv_seterr(err, errlen, "unknown command kind %d", (int)c->kind);
	return -EINVAL;
}

int hnv_conf_batch_begin(struct hnv_dp *dp, struct hnv_conf_batch **out)
{
	if (dp == NULL || out == NULL)
		return -EINVAL;
	struct hnv_conf_batch *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	b->dp = dp;
	b->rdomains.size = HNV_NAME_MAX + 1;
	b->gws.size = sizeof(struct gw_rec);
	b->cas.size = sizeof(struct hnv_conf_gateway_ca);
	b->s2s.size = sizeof(struct s2s_rec);
	b->proutes.size = sizeof(struct hnv_conf_proute);
	b->pools.size = sizeof(struct hnv_conf_pool);
	b->autos.size = sizeof(struct auto_rec);
	*out = b;
	return 0;
}

int hnv_conf_batch_apply(struct hnv_conf_batch *b, const struct hnv_conf_cmd *cmd, char *err,
			 size_t errlen)
{
	char msg[MSG_MAX];
	if (b == NULL || cmd == NULL) {
		hnv_seterr(err, errlen, "nothing to apply");
		return -EINVAL;
	}
	int rc = apply_one(b, cmd, msg, sizeof(msg));
	if (rc < 0 && cmd->line)
		hnv_seterr(err, errlen, "line %u: %s", cmd->line, msg);
	else if (rc < 0)
		hnv_seterr(err, errlen, "%s", msg);
	return rc;
}

void hnv_gateway_port(uint32_t vsid, char name[HNV_DEV_MAX + 1], struct hnv_mac *mac)
{
	snprintf(name, HNV_DEV_MAX + 1, "vsid%u", vsid);
	const struct hnv_mac m = {
		{0x02, 0x48, 0x4e, (uint8_t)(vsid >> 16), (uint8_t)(vsid >> 8), (uint8_t)vsid}};
	*mac = m;
}

/* One gateway port per VSID holding gateway CAs, with all of them. */
static int add_gateway_ports(struct hnv_conf_batch *b, char *err, size_t errlen)
{
	for (size_t i = 0; i < b->cas.n; i++) {
		const struct hnv_conf_gateway_ca *g = vec_at(&b->cas, i);
		bool first = true;
		for (size_t j = 0; j < i && first; j++)
			first = ((const struct hnv_conf_gateway_ca *)vec_at(&b->cas, j))->vsid !=
				g->vsid;
		if (!first)
			continue;
		struct hnv_port_spec s = {.vsid = g->vsid, .gateway = true};
		hnv_gateway_port(g->vsid, s.name, &s.mac);
		for (size_t j = i; j < b->cas.n && s.n_cas < HNV_PORT_MAX_CAS; j++) {
			const struct hnv_conf_gateway_ca *o = vec_at(&b->cas, j);
			if (o->vsid == g->vsid)
				s.cas[s.n_cas++] = o->ca;
		}
		int rc = hnv_policy_port_add(hnv_dp_policy(b->dp), &s);
		if (rc == -EEXIST) {
			hnv_seterr(err, errlen,
			       "gateway ca: the gateway port %s of VSID %u clashes with a port of "
			       "the "
			       "same name or MAC (port names vsidN are reserved for gateway ports)",
			       s.name, g->vsid);
			return rc;
		}
		if (rc < 0) {
			hnv_seterr(err, errlen, "gateway ca: cannot add the gateway port %s: %s",
			       s.name, errno_text(rc));
			return rc;
		}
	}
	return 0;
}

int hnv_conf_batch_end(struct hnv_conf_batch *b, char *err, size_t errlen)
{
	if (b == NULL)
		return 0;
	int rc = add_gateway_ports(b, err, errlen);
	if (rc == 0 && (rc = hnv_policy_commit(hnv_dp_policy(b->dp))) < 0)
		hnv_seterr(err, errlen, "commit: %s", errno_text(rc));
	free(b->rdomains.a);
	free(b->gws.a);
	free(b->cas.a);
	free(b->s2s.a);
	free(b->proutes.a);
	free(b->pools.a);
	free(b->autos.a);
	free(b);
	return rc;
}

int hnv_conf_apply(struct hnv_dp *dp, const struct hnv_conf_cmd *cmds, size_t n, char *err,
		   size_t errlen)
{
	if (dp == NULL || (cmds == NULL && n > 0)) {
		hnv_seterr(err, errlen, "nothing to apply to");
		return -EINVAL;
	}
	struct hnv_conf_batch *b;
	int rc = hnv_conf_batch_begin(dp, &b);
	if (rc < 0) {
		hnv_seterr(err, errlen, "out of memory");
		return rc;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = hnv_conf_batch_apply(b, &cmds[i], err, errlen);
	/* Publish even after a failure: readers see what was applied. The
	 * first failure's message stays. */
	char cerr[512];
	int crc = hnv_conf_batch_end(b, cerr, sizeof(cerr));
	if (rc == 0 && crc < 0) {
		hnv_seterr(err, errlen, "%s", cerr);
		rc = crc;
	}
	return rc;
}

/* ---- formatter ---- */

/* A line being built: once it overflows, over stays set and nothing more is
 * written (buf stays NUL-terminated). */
struct out {
	char *buf;
	size_t len, off;
	bool over;
};

static void PRINTF_LIKE(2, 3) out_add(struct out *o, const char *fmt, ...)
{
	if (o->over)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->off, o->len - o->off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->off) {
		o->over = true;
		o->buf[o->off] = '\0';
		return;
	}
	o->off += (size_t)n;
}

/* A value the tokenizer would split, drop or take for an option needs
 * quotes; inside them only " and \ are escaped. */
static bool needs_quotes(const char *v)
{
	if (v[0] == '\0' || (v[0] == '-' && v[1] == '-'))
		return true;
	for (; *v; v++)
		if (is_blank(*v) || *v == '#' || *v == '"')
			return true;
	return false;
}

/* " --opt value" (or " value" when opt is NULL). */
static void out_val(struct out *o, const char *opt, const char *v)
{
	if (opt)
		out_add(o, " %s", opt);
	if (!needs_quotes(v)) {
		out_add(o, " %s", v);
		return;
	}
	out_add(o, " \"");
	for (; *v; v++)
		out_add(o, "%s%c", (*v == '"' || *v == '\\') ? "\\" : "", *v);
	out_add(o, "\"");
}

static void out_ip(struct out *o, const char *opt, const struct hnv_ip *ip)
{
	char t[INET6_ADDRSTRLEN];
	hnv_fmt_ip(ip, t, sizeof(t));
	out_add(o, " %s %s", opt, t);
}

static void out_prefix(struct out *o, const char *opt, const struct hnv_prefix *p)
{
	char t[64];
	hnv_fmt_prefix(p, t, sizeof(t));
	out_add(o, "%s%s %s", opt ? " " : "", opt ? opt : "", t);
}

static void out_mac(struct out *o, const char *opt, const struct hnv_mac *m)
{
	char t[18];
	hnv_fmt_mac(m, t, sizeof(t));
	out_add(o, " %s %s", opt, t);
}

#define TERMINATED(field) terminated((field), sizeof(field))

static const char *rule_name(enum hnv_rule r)
{
	return r == HNV_RULE_NAT ? "nat" : r == HNV_RULE_NONE ? "none" : "encap";
}

static int format_lookup(struct out *o, const struct hnv_conf_cmd *cmd)
{
	const struct hnv_lookup_spec *s = &cmd->u.lookup;
	const char *verb = cmd->kind == HNV_CONF_LOOKUP_ADD   ? "add"
			   : cmd->kind == HNV_CONF_LOOKUP_SET ? "set"
							      : "del";
	out_add(o, "lookup %s --vsid %u", verb, s->vsid);
	out_ip(o, "--ca", &s->ca);
	if (cmd->kind == HNV_CONF_LOOKUP_DEL) {
		out_mac(o, "--mac", &s->mac);
		return 0;
	}
	if (!TERMINATED(s->vm_name) || !TERMINATED(s->context))
		return -EINVAL;
	out_ip(o, "--pa", &s->pa);
	out_mac(o, "--mac", &s->mac);
	out_add(o, " --rule %s --type %s", rule_name(s->rule), type_name(s->type));
	if (s->vm_name[0])
		out_val(o, "--vm-name", s->vm_name);
	if (s->has_customer_id) {
		char g[40];
		hnv_fmt_guid(&s->customer_id, g, sizeof(g));
		out_add(o, " --customer-id %s", g);
	}
	if (s->context[0])
		out_val(o, "--context", s->context);
	if (s->use_vm_mac)
		out_add(o, " --use-vm-mac");
	return 0;
}

/* Each element of a ','-joined proposal list as its own option. */
static void out_list(struct out *o, const char *opt, const char *list)
{
	char one[HNV_S2S_PROPOSALS_LEN + 1];
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		memcpy(one, p, n);
		one[n] = '\0';
		out_val(o, opt, one);
		p += n + (p[n] == ',');
	}
}

static void out_netmaps(struct out *o, const char *opt, const struct hnv_s2s_netmap *m,
			unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char r[64], v[64];
		hnv_fmt_prefix(&m[i].real, r, sizeof(r));
		hnv_fmt_prefix(&m[i].mapped, v, sizeof(v));
		out_add(o, " %s %s=%s", opt, r, v);
	}
}

static int format_s2s(struct out *o, const struct hnv_conf_s2s *s, bool show_secrets)
{
	if (!TERMINATED(s->rdomain) || !TERMINATED(s->local_id) || !TERMINATED(s->remote_id) ||
	    !TERMINATED(s->psk) || !TERMINATED(s->cert) || !TERMINATED(s->key) ||
	    !TERMINATED(s->ca_cert) || !TERMINATED(s->ike) || !TERMINATED(s->esp) ||
	    s->n_remote > HNV_S2S_REMOTE_MAX || s->n_local_netmap > HNV_S2S_NETMAP_MAX ||
	    s->n_remote_netmap > HNV_S2S_NETMAP_MAX)
		return -EINVAL;
	out_add(o, "s2s add");
	out_val(o, NULL, s->name);
	out_val(o, "--rdomain", s->rdomain);
	out_ip(o, "--peer", &s->peer);
	if (s->has_local_addr)
		out_ip(o, "--local-addr", &s->local_addr);
	out_val(o, "--local-id", s->local_id);
	out_val(o, "--remote-id", s->remote_id);
	if (s->auth == HNV_S2S_AUTH_PSK && show_secrets) {
		out_val(o, "--psk", s->psk);
	} else if (s->auth == HNV_S2S_AUTH_PSK) {
		out_add(o, " --psk <secret>");
	} else {
		out_val(o, "--cert", s->cert);
		out_val(o, "--key", s->key);
		if (s->ca_cert[0])
			out_val(o, "--ca-cert", s->ca_cert);
	}
	out_list(o, "--ike-proposal", s->ike);
	out_list(o, "--esp-proposal", s->esp);
	for (unsigned i = 0; i < s->n_remote; i++)
		out_prefix(o, "--remote-prefix", &s->remote[i]);
	out_add(o, " --dpd %u", s->dpd);
	out_netmaps(o, "--local-netmap", s->local_netmap, s->n_local_netmap);
	out_netmaps(o, "--remote-netmap", s->remote_netmap, s->n_remote_netmap);
	return 0;
}

static int format_cmd(struct out *o, const struct hnv_conf_cmd *cmd, bool show_secrets)
{
	switch (cmd->kind) {
	case HNV_CONF_RDOMAIN_ADD:
	case HNV_CONF_RDOMAIN_DEL: {
		if (!TERMINATED(cmd->u.rdomain.name))
			return -EINVAL;
		out_add(o, "rdomain %s", cmd->kind == HNV_CONF_RDOMAIN_ADD ? "add" : "del");
		out_val(o, NULL, cmd->u.rdomain.name);
		if (cmd->kind == HNV_CONF_RDOMAIN_ADD) {
			char g[40];
			hnv_fmt_guid(&cmd->u.rdomain.rdid, g, sizeof(g));
			out_add(o, " --rdid %s", g);
		}
		return 0;
	}
	case HNV_CONF_VSUBNET_ADD: {
		const struct hnv_vsubnet_spec *s = &cmd->u.vsubnet;
		if (!TERMINATED(s->rdomain) || s->n_prefixes > HNV_VSUBNET_MAX_PREFIXES)
			return -EINVAL;
		out_add(o, "vsubnet add %u", s->vsid);
		out_val(o, "--rdomain", s->rdomain);
		for (unsigned i = 0; i < s->n_prefixes; i++)
			out_prefix(o, "--prefix", &s->prefixes[i]);
		return 0;
	}
	case HNV_CONF_VSUBNET_DEL:
		out_add(o, "vsubnet del %u", cmd->u.vsubnet.vsid);
		return 0;
	case HNV_CONF_PA_ADD:
		if (!TERMINATED(cmd->u.pa.dev))
			return -EINVAL;
		out_add(o, "pa add");
		out_prefix(o, NULL, &cmd->u.pa.addr);
		out_val(o, "--dev", cmd->u.pa.dev);
		return 0;
	case HNV_CONF_PA_DEL: {
		char t[INET6_ADDRSTRLEN];
		hnv_fmt_ip(&cmd->u.pa.addr.addr, t, sizeof(t));
		out_add(o, "pa del %s", t);
		return 0;
	}
	case HNV_CONF_PORT_ADD: {
		const struct hnv_port_spec *s = &cmd->u.port;
		if (!TERMINATED(s->name) || s->n_cas > HNV_PORT_MAX_CAS)
			return -EINVAL;
		out_add(o, "port add");
		out_val(o, NULL, s->name);
		out_add(o, " --vsid %u", s->vsid);
		for (unsigned i = 0; i < s->n_cas; i++)
			out_ip(o, "--ca", &s->cas[i]);
		static const struct hnv_mac zero;
		if (!hnv_mac_eq(&s->mac, &zero))
			out_mac(o, "--mac", &s->mac);
		return 0;
	}
	case HNV_CONF_PORT_DEL:
		if (!TERMINATED(cmd->u.port.name))
			return -EINVAL;
		out_add(o, "port del");
		out_val(o, NULL, cmd->u.port.name);
		return 0;
	case HNV_CONF_LOOKUP_ADD:
	case HNV_CONF_LOOKUP_SET:
	case HNV_CONF_LOOKUP_DEL:
		return format_lookup(o, cmd);
	case HNV_CONF_ROUTE_ADD:
	case HNV_CONF_ROUTE_DEL: {
		const struct hnv_route_spec *s = &cmd->u.route;
		bool add = cmd->kind == HNV_CONF_ROUTE_ADD;
		if (!TERMINATED(s->rdomain))
			return -EINVAL;
		out_add(o, "route %s", add ? "add" : "del");
		out_val(o, "--rdomain", s->rdomain);
		if (add)
			out_add(o, " --vsid %u", s->vsid);
		out_prefix(o, "--prefix", &s->prefix);
		out_ip(o, "--nexthop", &s->nexthop);
		if (add)
			out_add(o, " --metric %u", s->metric);
		return 0;
	}
	case HNV_CONF_GLOBAL_SET: {
		const struct hnv_conf_global *g = &cmd->u.global;
		out_add(o, "global set");
		if (g->has_gateway_mac)
			out_mac(o, "--gateway-mac", &g->gateway_mac);
		if (g->has_flowid)
			out_add(o, " --flowid %s", g->flowid ? "on" : "off");
		if (g->has_uplink_mtu)
			out_add(o, " --uplink-mtu %u", g->uplink_mtu);
		if (g->has_use_external_router)
			out_add(o, " --use-external-router %s",
				g->use_external_router ? "on" : "off");
		return 0;
	}
	case HNV_CONF_PROUTE_ADD:
	case HNV_CONF_PROUTE_DEL: {
		const struct hnv_conf_proute *s = &cmd->u.proute;
		bool add = cmd->kind == HNV_CONF_PROUTE_ADD;
		if (add && !TERMINATED(s->dev))
			return -EINVAL;
		out_add(o, "proute %s", add ? "add" : "del");
		out_prefix(o, "--prefix", &s->prefix);
		out_ip(o, "--nexthop", &s->nexthop);
		if (add) {
			out_val(o, "--dev", s->dev);
			out_add(o, " --metric %u", s->metric);
		}
		return 0;
	}
	case HNV_CONF_GATEWAY_ADD: {
		const struct hnv_conf_gateway *g = &cmd->u.gateway;
		if (!TERMINATED(g->rdomain) || !TERMINATED(g->vrf) || !TERMINATED(g->corp_dev))
			return -EINVAL;
		out_add(o, "gateway add");
		out_val(o, "--rdomain", g->rdomain);
		out_val(o, "--vrf", g->vrf);
		out_add(o, " --table %u", g->table);
		if (g->corp_dev[0])
			out_val(o, "--corp-dev", g->corp_dev);
		if (g->has_nat_external)
			out_ip(o, "--nat-external", &g->nat_external);
		if (g->has_corp_addr) {
			char a[INET6_ADDRSTRLEN];
			hnv_fmt_ip(&g->corp_addr.addr, a, sizeof(a));
			out_add(o, " --corp-addr %s/%u", a, g->corp_addr.len);
		}
		if (g->has_corp_nexthop)
			out_ip(o, "--corp-nexthop", &g->corp_nexthop);
		if (g->bgp_asn) {
			out_add(o, " --bgp-asn %u", g->bgp_asn);
			out_ip(o, "--bgp-peer", &g->bgp_peer);
			out_add(o, " --bgp-peer-asn %u", g->bgp_peer_asn);
		}
		return 0;
	}
	case HNV_CONF_GATEWAY_DEL:
		if (!TERMINATED(cmd->u.gateway.rdomain))
			return -EINVAL;
		out_add(o, "gateway del");
		out_val(o, "--rdomain", cmd->u.gateway.rdomain);
		return 0;
	case HNV_CONF_GATEWAY_CA:
	case HNV_CONF_GATEWAY_CA_DEL: {
		const struct hnv_conf_gateway_ca *g = &cmd->u.gateway_ca;
		if (!TERMINATED(g->rdomain))
			return -EINVAL;
		out_add(o, "gateway %s", cmd->kind == HNV_CONF_GATEWAY_CA ? "ca" : "ca-del");
		out_val(o, "--rdomain", g->rdomain);
		out_add(o, " --vsid %u", g->vsid);
		out_ip(o, "--ca", &g->ca);
		return 0;
	}
	case HNV_CONF_S2S_ADD:
		if (!TERMINATED(cmd->u.s2s.name))
			return -EINVAL;
		return format_s2s(o, &cmd->u.s2s, show_secrets);
	case HNV_CONF_S2S_DEL:
		if (!TERMINATED(cmd->u.s2s.name))
			return -EINVAL;
		out_add(o, "s2s del");
		out_val(o, NULL, cmd->u.s2s.name);
		return 0;
	case HNV_CONF_POOL_ADD:
	case HNV_CONF_POOL_DEL: {
		const struct hnv_conf_pool *s = &cmd->u.pool;
		char f[INET6_ADDRSTRLEN], l[INET6_ADDRSTRLEN];
		if (!TERMINATED(s->name) || s->range.n_dns > HNV_DHCP_DNS_MAX)
			return -EINVAL;
		out_add(o, "pool %s", cmd->kind == HNV_CONF_POOL_ADD ? "add" : "del");
		out_val(o, NULL, s->name);
		if (cmd->kind == HNV_CONF_POOL_DEL)
			return 0;
		hnv_fmt_ip(&s->range.first, f, sizeof(f));
		hnv_fmt_ip(&s->range.last, l, sizeof(l));
		out_add(o, " --vsid %u --range %s-%s", s->vsid, f, l);
		for (unsigned i = 0; i < s->range.n_dns; i++) {
			hnv_fmt_ip(&s->range.dns[i], f, sizeof(f));
			out_add(o, "%s%s", i ? "," : " --dns ", f);
		}
		out_add(o, " --lease %u", s->range.lease);
		return 0;
	}
	}
	return -EINVAL;
}

int hnv_conf_format(const struct hnv_conf_cmd *cmd, bool show_secrets, char *buf, size_t len)
{
	if (cmd == NULL || buf == NULL || len == 0)
		return -EINVAL;
	struct out o = {buf, len, 0, false};
	buf[0] = '\0';
	int rc = format_cmd(&o, cmd, show_secrets);
	if (rc == 0 && o.over)
		rc = -ENOSPC;
	if (rc < 0)
		explicit_bzero(buf, len); /* a cut line may end inside the PSK */
	return rc;
}
