/* conftext.h: the hnvgw config text.
 *
 * hnvgw's configuration is a replayable list of hnvgw command lines without
 * the leading "hnvgw". This module parses one line (or a whole file) into a
 * typed command and applies commands to a datapath context. Parsing checks
 * syntax and ranges of single values; hnv_conf_apply checks references and
 * duplicates through the policy tables.
 *
 * Grammar (one command per line; '#' starts a comment; blank lines ignored;
 * values may be "double quoted"):
 *   rdomain add NAME --rdid GUID
 *   rdomain del NAME
 *   vsubnet add VSID --rdomain NAME --prefix P [--prefix P ...]
 *   vsubnet del VSID
 *   pa add IP/LEN --dev IF
 *   pa del IP
 *   port add NAME --vsid N --ca IP [--ca IP ...] --mac MAC
 *   port del NAME
 *   lookup add --vsid N --ca IP --pa IP --mac MAC [--rule encap|nat|none]
 *          [--type static|dynamic|l2only|gateway-wildcard] [--vm-name NAME]
 *          [--customer-id GUID] [--context TEXT] [--use-vm-mac]
 *   lookup set  (same options; selects by --vsid --ca --mac, sets the rest)
 *   lookup del --vsid N --ca IP --mac MAC
 *   route add --rdomain NAME --vsid N --prefix P --nexthop IP [--metric N]
 *   route del --rdomain NAME --prefix P --nexthop IP
 *   global set [--gateway-mac MAC] [--flowid on|off] [--uplink-mtu N]
 *
 * MACs: 060600000005, 06-06-00-00-00-05 or 06:06:00:00:00:05.
 * GUIDs: with or without braces, any case.
 */
#ifndef HNV_CONFTEXT_H
#define HNV_CONFTEXT_H

#include "../datapath/dp.h"
#include "../datapath/policy.h"

enum hnv_conf_kind {
	HNV_CONF_RDOMAIN_ADD,
	HNV_CONF_RDOMAIN_DEL,
	HNV_CONF_VSUBNET_ADD,
	HNV_CONF_VSUBNET_DEL,
	HNV_CONF_PA_ADD,
	HNV_CONF_PA_DEL,
	HNV_CONF_PORT_ADD,
	HNV_CONF_PORT_DEL,
	HNV_CONF_LOOKUP_ADD,
	HNV_CONF_LOOKUP_SET,
	HNV_CONF_LOOKUP_DEL,
	HNV_CONF_ROUTE_ADD,
	HNV_CONF_ROUTE_DEL,
	HNV_CONF_GLOBAL_SET,
};

struct hnv_conf_global {
	bool has_gateway_mac, has_flowid, has_uplink_mtu;
	struct hnv_mac gateway_mac;
	bool flowid;
	unsigned uplink_mtu; /* 576..9000 */
};

struct hnv_conf_cmd {
	enum hnv_conf_kind kind;
	unsigned line; /* 1-based line number in its file, 0 for a single line */
	union {
		struct {
			char name[HNV_NAME_MAX + 1];
			struct hnv_guid rdid;
		} rdomain;
		struct hnv_vsubnet_spec vsubnet; /* del: only vsid */
		struct {
			struct hnv_prefix addr; /* del: len unused */
			char dev[16];
		} pa;
		struct hnv_port_spec port;      /* del: only name */
		struct hnv_lookup_spec lookup;  /* del: vsid, ca, mac */
		struct hnv_route_spec route;    /* del: rdomain, prefix, nexthop */
		struct hnv_conf_global global;
	} u;
};

/* Parses one line. Returns 1 and fills *cmd for a command, 0 for a blank or
 * comment line, or -EINVAL with a message in err naming the bad value. */
int hnv_conf_parse_line(const char *line, struct hnv_conf_cmd *cmd, char *err, size_t errlen);

/* Parses a whole text (len bytes, need not be NUL-terminated). On success
 * returns 0 and a malloc'd array in *cmds (free()), count in *n. On error
 * returns -EINVAL and err reads "line N: ...". */
int hnv_conf_parse_text(const char *text, size_t len, struct hnv_conf_cmd **cmds, size_t *n,
			char *err, size_t errlen);

/* Applies commands in order to dp, then commits the policy. Stops at the
 * first failure, returning its negative errno with "line N: ..." in err;
 * changes already made stay (callers wanting all-or-nothing apply to a fresh
 * context and swap). */
int hnv_conf_apply(struct hnv_dp *dp, const struct hnv_conf_cmd *cmds, size_t n, char *err,
		   size_t errlen);

/* Value parsers, shared with the CLI and the PowerShell front end.
 * Each returns 0 or -EINVAL. */
int hnv_parse_mac(const char *s, struct hnv_mac *mac);
int hnv_parse_guid(const char *s, struct hnv_guid *g);
int hnv_parse_ip(const char *s, struct hnv_ip *ip);
int hnv_parse_prefix(const char *s, struct hnv_prefix *p); /* host bits must be 0 */
int hnv_parse_vsid(const char *s, uint32_t *vsid);

/* Formatters: buffers of at least 46 (ip), 50 (prefix), 18 (mac, colon
 * form), 39 (guid, braces, upper case as NetWNV prints). */
void hnv_fmt_ip(const struct hnv_ip *ip, char *buf, size_t len);
void hnv_fmt_prefix(const struct hnv_prefix *p, char *buf, size_t len);
void hnv_fmt_mac(const struct hnv_mac *mac, char *buf, size_t len);
void hnv_fmt_guid(const struct hnv_guid *g, char *buf, size_t len);

#endif
