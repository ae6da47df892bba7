/* conftext.h: the hnvgw config text.
 *
 * hnvgw's configuration is a replayable list of hnvgw command lines without
 * the leading "hnvgw". This module parses one line (or a whole file) into a
 * typed command and formats a command back into its canonical line;
 * conf_apply.h applies commands to a datapath context. Parsing checks
 * syntax and ranges of single values; hnv_conf_apply checks references and
 * duplicates through the policy tables. The command types are the config
 * text's own (this header includes lib/ headers only); the applier converts
 * them to the datapath's.
 *
 * Grammar (one command per line; '#' starts a comment; blank lines ignored;
 * values may be "double quoted"):
 *   rdomain add NAME --rdid GUID
 *   rdomain del NAME
 *   vsubnet add VSID --rdomain NAME --prefix P [--prefix P ...]
 *   vsubnet del VSID
 *   pa add IP/LEN --dev IF
 *   pa del IP
 *   pool add NAME --vsid N --range A-B [--dns IP[,IP...]] [--lease SECONDS]
 *   pool del NAME
 *   port add NAME --vsid N [--ca IP ...] [--mac MAC] [--dev IF]
 *   port del NAME
 *   port move NAME --to HOST
 *   lookup add --vsid N --ca IP --pa IP --mac MAC [--rule encap|nat|none]
 *          [--type static|dynamic|l2only|gateway-wildcard] [--vm-name TEXT]
 *          [--customer-id GUID] [--context TEXT] [--use-vm-mac]
 *   lookup set  (same options; selects by --vsid --ca --mac, sets the rest)
 *   lookup del --vsid N --ca IP --mac MAC
 *   route add --rdomain NAME --vsid N --prefix P --nexthop IP [--metric N]
 *   route del --rdomain NAME --prefix P --nexthop IP
 *   global set [--gateway-mac MAC] [--flowid on|off] [--uplink-mtu N]
 *          [--use-external-router on|off]
 *   proute add --prefix P --nexthop IP --dev IF [--metric N]
 *   proute del --prefix P --nexthop IP
 *   gateway add --rdomain NAME [--pool NAME] --vrf NAME --table N [--corp-dev IF]
 *          [--corp-addr IP/LEN] [--corp-nexthop IP] [--nat-external IP]
 *          [--bgp-asn N [--bgp-peer IP --bgp-peer-asn N]]
 *   gateway ca --rdomain NAME [--pool NAME] --vsid N --ca IP
 *   gateway ca-del --rdomain NAME [--pool NAME] --vsid N --ca IP
 *   gateway del --rdomain NAME [--pool NAME]
 *   gateway move RDOMAIN --to HOST
 *   s2s add NAME --rdomain NAME --peer IP|HOST|any [--local-addr IP]
 *          --local-id ID --remote-id ID [--allow-legacy-crypto]
 *          (--psk SECRET | --cert FILE --key FILE [--ca-cert FILE])
 *          [--ike-proposal P ...] [--esp-proposal P ...]
 *          --remote-prefix P [--remote-prefix P ...] [--dpd SECONDS]
 *          [--local-netmap REAL=MAPPED ...] [--remote-netmap REAL=MAPPED ...]
 *          [--pool NAME]
 *   s2s del NAME [--rdomain NAME --pool NAME]
 *   gre add NAME --rdomain NAME --local IP --remote IP [--key N] --addr IP/LEN
 *          [--remote-prefix P ...] [--rate-out KBIT] [--rate-in KBIT]
 *   gre del NAME
 *   l3 add NAME --rdomain NAME --dev IF --vlan N --addr IP/LEN --nexthop IP
 *          [--remote-prefix P ...] [--rate-out KBIT] [--rate-in KBIT]
 *   l3 del NAME
 *   bgp-peer add NAME --rdomain NAME --addr IP --asn N [--source IP]
 *          [--prefix-in P[,ge=N][,le=N] ...] [--prefix-out P[,ge=N][,le=N] ...]
 *   bgp-peer del NAME
 *
 * MACs: 060600000005, 06-06-00-00-00-05 or 06:06:00:00:00:05.
 * GUIDs: with or without braces, any case.
 *
 * Pools (IPv4; DHCP answered by the datapath, datapath/dhcp.h):
 *   pool:   A-B inside one prefix of the VSID, at most 65536 addresses,
 *           not holding the prefix's network, default gateway (lowest
 *           usable), DHCP server identifier (second-lowest usable, e.g.
 *           10.10.0.2 in 10.10.0.0/16) or broadcast address; no overlap
 *           with another pool of the VSID; at most HNV_CONF_POOLS_MAX per
 *           VSID. --dns: 1-4 IPv4 unicast addresses, comma separated.
 *           --lease 60-31536000 s, default 86400. Pool names are unique.
 *   port:   the config text always carries --ca and --mac; hnvgwd's model
 *           (mgmt/model.h) fills them in when a "port add" leaves them out.
 *           A CA may not be the server identifier of a VSID with a pool.
 *           Each CA of a port gets a lookup record (CA, MAC, PA = this
 *           host's first IPv4 provider address, else its first IPv6 one,
 *           rule encap, type static, VM name = port name), made and
 *           removed with the port; an explicit "lookup add" for the same
 *           VSID and CA replaces it. A host without a PA makes none.
 *           --dev IF: the port is the existing device IF (a qemu/libvirt
 *           TAP such as vnet3 that qemu holds, or the host end of a veth
 *           into a container or namespace), which hnvgwd attaches to but
 *           never creates, deletes or moves; without it hnvgwd creates a
 *           TAP named NAME. IF is an interface name (1-15 characters, not
 *           vsidN: those are the gateway role's ports); no two ports use
 *           one device (a port without --dev uses the device NAME). A
 *           device that does not exist refuses the change when hnvgwd
 *           applies it on a host edge.
 *   gateway move: hands the tenant RDOMAIN of a gateway pool to the pool's
 *           member HOST (a planned move: the holder tears it down and
 *           releases it, then HOST claims it; docs/gateway-pool.md). Like
 *           port move it is no configuration: refused without --etcd
 *           (HNV_CONF_GATEWAY_MOVE_REFUSED).
 *   port move: hands port NAME to host HOST of a shared policy (hnvgwd
 *           --etcd carries it out, mgmt/daemon/sync.c). HOST: 1-63
 *           characters of A-Z a-z 0-9 _ . -, not . or .., as hnvgwd's
 *           --host-name. It is no configuration: nothing stores it, and
 *           the applier and hnvgwd's model refuse it with
 *           HNV_CONF_PORT_MOVE_REFUSED.
 *
 * Provider routes (proute), UseExternalRouter, the gateway attachment and
 * S2S tunnels are stored and validated here; later issues apply them to the
 * kernel and charon. hnv_conf_apply leaves the datapath alone for them.
 *   proute: nexthop of the prefix's family, 0.0.0.0 or :: for on-link;
 *           metric 0-4294967295, default 0. Identity: (prefix, nexthop).
 *   gateway: one per routing domain; VRF names (1-15 characters, like
 *           interface names) and tables (1-4294967294 except 253-255, the
 *           kernel's default, main and local, 220, strongSwan's, and
 *           hnvgw's NETMAP tables 0x48000000-0x480fffff) unique among
 *           gateways.
 *           gateway del removes the gateway's CAs with it.
 *           --pool NAME (a gateway pool, letters, digits, _ . -, 1-63, as
 *           hnvgwd --gateway-pool): the pool's active member serves the
 *           tenant instead of the host the line is given to; only with
 *           shared policy (hnvgwd --etcd: HNV_CONF_POOL_REFUSED otherwise).
 *           A gateway's CAs, and the del of the gateway or of a CA, name
 *           the gateway's pool (or none when it is host-bound).
 *   gateway ca: the gateway's customer address in one VSID of its routing
 *           domain: inside that VSID's prefixes and not its default gateway;
 *           at most one per VSID and address family.
 *   s2s:    IKEv2 tunnel into the routing domain's gateway (gateway add
 *           first). Identities: 1-255 printable ASCII characters, no double
 *           quote or backslash, no leading or trailing space. PSK: 20-255
 *           printable ASCII characters, not part of an identity; never
 *           shown in a message.
 *           Certificate and key: a file name or an absolute path, 1-127
 *           printable characters without spaces, quotes, backslashes or ".."
 *           components. Proposals are strongSwan proposal strings, one per
 *           option, at most HNV_S2S_PROPOSALS_MAX; weak algorithms (DES, 3DES,
 *           CAST-128, Blowfish, NULL, MD5, SHA-1, MODP below 2048 bits, DH
 *           groups 1, 2, 5, 22, ecp192) are refused by name; DH groups given
 *           by number (dh14, group14) are refused with their keyword. Defaults: IKE
 *           aes256gcm16-prfsha384-ecp384, ESP aes256gcm16-ecp384. DPD delay
 *           0-3600 s (0: off), default 30. Tunnels with the same peer need
 *           different (local-id, remote-id) pairs.
 *           --pool NAME: the tunnel of a pool tenant; NAME is its gateway's
 *           pool (a host-bound tunnel on a pool gateway is refused, and the
 *           reverse); needs --peer IP and --local-addr (the floating
 *           address the holder adds); s2s del of it names the same
 *           --rdomain and --pool. Only with shared policy.
 *           NETMAP (1:1 prefix translation before the tunnel, IPv4): a
 *           --local-netmap shows the tenant's prefix REAL to the site as
 *           MAPPED; a --remote-netmap shows the site's prefix REAL (inside a
 *           --remote-prefix) to the tenant as MAPPED. REAL and MAPPED have
 *           the same length; no two REAL or MAPPED prefixes of a tunnel
 *           overlap, and a remote MAPPED prefix overlaps no remote prefix.
 *           At most HNV_S2S_NETMAP_MAX of each kind.
 *           Peer: an address; a DNS name (HOST: 1-253 characters, labels of
 *           1-63 letters, digits and inner hyphens joined by dots, the last
 *           not all digits), resolved by charon whenever it initiates or
 *           matches; or "any": a site with a dynamic address the gateway
 *           only answers (never initiates). An "any" tunnel's --remote-id is
 *           what picks it (not %any, no wildcard '*'), unique among the
 *           "any" tunnels of one local address.
 *           --allow-legacy-crypto: charon accepts, after the tunnel's own
 *           proposals, HNV_S2S_IKE_LEGACY and HNV_S2S_ESP_LEGACY (the
 *           defaults of Windows Server 2012 R2 and older peers); the commit
 *           reply warns (hnv_conf_warning).
 *   gre, l3: connections of a routing domain's gateway (gateway add
 *           first), mgmt/conf_conn.c and docs/gateway.md. NAME: 1-12
 *           characters (the device is gr-NAME or l3-NAME); names are unique
 *           per type (a gre and an l3 connection may share one). --addr: the gateway's
 *           address on the connection with its prefix length (host bits
 *           set, not the network or broadcast address of an IPv4 prefix
 *           shorter than /31). gre: --local and --remote are the tunnel's
 *           outer IPv4 addresses on the provider side (default VRF), --key
 *           0-4294967295; two tunnels with the same local and remote
 *           addresses need different keys. l3: an 802.1Q sub-interface of
 *           --dev (not a device hnvgw owns), --vlan 1-4094, unique per
 *           --dev; --nexthop inside --addr's prefix; without
 *           --remote-prefix the connection carries the VRF's default
 *           route of --nexthop's family (refused when the gateway's
 *           --corp-nexthop or another connection of the tenant has it). --remote-prefix: up to
 *           HNV_CONN_REMOTE_MAX, no two overlapping. --rate-out (what the
 *           tenant sends into the connection) and --rate-in (what it
 *           receives from it): kbit/s, HNV_CONN_RATE_MIN-HNV_CONN_RATE_MAX,
 *           absent: unlimited.
 *   gateway --bgp-asn: the tenant's local AS; with --bgp-peer and
 *           --bgp-peer-asn one neighbor without filters (every route both
 *           ways). --bgp-peer needs --bgp-asn and --bgp-peer-asn.
 *   bgp-peer: a BGP neighbor of a routing domain's gateway (which needs
 *           --bgp-asn), in its VRF: on the corp side, behind an S2S
 *           tunnel or any connection whose addresses are in the VRF.
 *           Names are unique among peers; an address is one peer's (or
 *           the gateway's --bgp-peer) per routing domain. --source: the
 *           session's source address (bgpd's update-source). Filters,
 *           at most HNV_BGP_PEER_PREFIXES_MAX per direction, each a prefix
 *           of the peer's address family, the route's length that of P or,
 *           with ge/le, len(P) < ge <= le <= 32 or 128: --prefix-in lists
 *           what the tenant accepts from the peer, and nothing else (no
 *           --prefix-in: it learns nothing); --prefix-out what it
 *           announces, by default the tenant's own prefixes (the VSID
 *           prefixes of its gateway CAs).
 */
#ifndef HNV_CONFTEXT_H
#define HNV_CONFTEXT_H

#include "../lib/addr.h"
#include "../lib/hnv_types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	HNV_CONF_PROUTE_ADD,
	HNV_CONF_PROUTE_DEL,
	HNV_CONF_GATEWAY_ADD,
	HNV_CONF_GATEWAY_DEL,
	HNV_CONF_GATEWAY_CA,
	HNV_CONF_GATEWAY_CA_DEL,
	HNV_CONF_S2S_ADD,
	HNV_CONF_S2S_DEL,
	HNV_CONF_POOL_ADD,
	HNV_CONF_POOL_DEL,
	HNV_CONF_PORT_MOVE,
	HNV_CONF_GRE_ADD,
	HNV_CONF_GRE_DEL,
	HNV_CONF_L3_ADD,
	HNV_CONF_L3_DEL,
	HNV_CONF_BGP_PEER_ADD,
	HNV_CONF_BGP_PEER_DEL,
	HNV_CONF_GATEWAY_MOVE, /* u.port_move: name is the routing domain */
};

/* Limits of the config text. The datapath has the same ones (datapath/
 * policy.h; conf_apply.c checks at compile time that they agree). */
#define HNV_CONF_PREFIXES_MAX 4 /* prefixes of a VM subnet */
#define HNV_CONF_CAS_MAX 4      /* CAs of a port */
#define HNV_CONF_DNS_MAX 4      /* DNS servers of a pool */
#define HNV_CONF_POOLS_MAX 8    /* pools of a VM subnet */

/* A VM subnet of a routing domain. */
struct hnv_conf_vsubnet {
	uint32_t vsid;
	char rdomain[HNV_NAME_MAX + 1];
	unsigned n_prefixes;
	struct hnv_prefix prefixes[HNV_CONF_PREFIXES_MAX];
};

/* A lookup record: (vsid, ca, mac) names it. */
struct hnv_conf_lookup {
	uint32_t vsid;
	struct hnv_ip ca; /* unspecified for GatewayWildcard and L2Only */
	struct hnv_ip pa;
	struct hnv_mac mac;
	enum hnv_rule rule;
	enum hnv_rec_type type;
	bool use_vm_mac;
	bool has_customer_id;
	struct hnv_guid customer_id;
	char vm_name[HNV_NAME_MAX + 1];
	char context[HNV_TEXT_MAX + 1];
};

/* A customer route of a routing domain: (rdomain, prefix, nexthop) names
 * it. */
struct hnv_conf_route {
	char rdomain[HNV_NAME_MAX + 1];
	uint32_t vsid;
	struct hnv_prefix prefix;
	struct hnv_ip nexthop; /* unspecified = on-link */
	uint32_t metric;
};

#define HNV_DEV_MAX 15 /* interface and VRF names, IFNAMSIZ - 1 */

/* A VM's port. */
struct hnv_conf_port {
	char name[HNV_NAME_MAX + 1];
	uint32_t vsid;
	struct hnv_mac mac; /* all-zero: not given */
	unsigned n_cas;
	struct hnv_ip cas[HNV_CONF_CAS_MAX];
	char dev[HNV_DEV_MAX + 1]; /* "": a TAP hnvgwd creates, named name */
};

/* port move NAME --to HOST. HNV_CONF_HOST_MAX is HNV_SYNC_HOST_MAX
 * (mgmt/daemon/sync.h), the longest host name of a shared policy. */
#define HNV_CONF_HOST_MAX 63
#define HNV_CONF_POOL_REFUSED                                                                      \
	"--pool needs shared policy (hnvgwd --etcd): a gateway pool exists only through etcd"
#define HNV_CONF_GATEWAY_MOVE_REFUSED                                                              \
	"gateway move needs shared policy (hnvgwd --etcd): it moves a gateway pool's tenant"
#define HNV_CONF_PORT_MOVE_REFUSED "port move needs shared policy (hnvgwd --etcd)"
struct hnv_conf_port_move {
	char name[HNV_NAME_MAX + 1];
	char host[HNV_CONF_HOST_MAX + 1];
};

struct hnv_conf_global {
	bool has_gateway_mac, has_flowid, has_uplink_mtu;
	struct hnv_mac gateway_mac;
	bool flowid;
	unsigned uplink_mtu; /* 576..9000 */
	bool has_use_external_router, use_external_router;
};

struct hnv_conf_proute {
	struct hnv_prefix prefix;
	struct hnv_ip nexthop;     /* unspecified: on-link */
	char dev[HNV_DEV_MAX + 1]; /* add only */
	uint32_t metric;           /* add only */
};

struct hnv_conf_gateway {
	char rdomain[HNV_NAME_MAX + 1];
	char vrf[HNV_DEV_MAX + 1]; /* add only, like every field below */
	uint32_t table;
	char corp_dev[HNV_DEV_MAX + 1]; /* "" when not given */
	bool has_nat_external;
	struct hnv_ip nat_external;
	bool has_corp_addr;          /* the gateway's address on the corp device */
	struct hnv_prefix corp_addr; /* with its host bits */
	bool has_corp_nexthop;       /* default route of the VRF via the corp side */
	struct hnv_ip corp_nexthop;
	uint32_t bgp_asn;       /* 0: no BGP */
	struct hnv_ip bgp_peer; /* unspecified: none (bgp-peer objects may add some) */
	uint32_t bgp_peer_asn;
	/* --pool: "" host-bound; else the gateway pool whose active member
	 * serves the tenant (hnvgwd --etcd, docs/gateway-pool.md). add and del */
	char pool[HNV_CONF_HOST_MAX + 1];
};

#define HNV_VRF_NAME_MAX 12 /* the VRF device is rd-<name> */

struct hnv_conf_gateway_ca {
	char rdomain[HNV_NAME_MAX + 1];
	uint32_t vsid;
	struct hnv_ip ca;
	char pool[HNV_CONF_HOST_MAX + 1]; /* as its gateway's */
};

enum hnv_s2s_auth {
	HNV_S2S_AUTH_PSK = 1,
	HNV_S2S_AUTH_CERT = 2,
};

#define HNV_S2S_ID_MAX 255
#define HNV_S2S_PSK_MIN 20
#define HNV_S2S_PSK_MAX 255
#define HNV_S2S_PATH_MAX 127
#define HNV_S2S_PROPOSALS_MAX 8
#define HNV_S2S_PROPOSALS_LEN 255 /* all proposals of one kind, joined by ',' */
#define HNV_S2S_REMOTE_MAX 16
#define HNV_S2S_DPD_DEFAULT 30
#define HNV_S2S_DPD_MAX 3600
#define HNV_S2S_NETMAP_MAX 4
/* Routing tables (and fwmarks) hnvgwd gives tunnels with a remote netmap:
 * HNV_NETMAP_TABLE_MIN | if_id (gateway/gw.c); no gateway may use them. */
#define HNV_NETMAP_TABLE_MIN 0x48000000u
#define HNV_NETMAP_TABLE_MAX 0x480fffffu
#define HNV_S2S_IKE_DEFAULT "aes256gcm16-prfsha384-ecp384"
#define HNV_S2S_ESP_DEFAULT "aes256gcm16-ecp384"
#define HNV_S2S_HOST_MAX 253 /* a --peer DNS name */
/* What --allow-legacy-crypto adds after a tunnel's proposals: the IKEv2
 * and ESP defaults of Windows Server 2012 R2 (3DES or AES-CBC with SHA-1,
 * DH group 2, ESP without PFS), docs/gateway.md. */
#define HNV_S2S_IKE_LEGACY "aes256-sha1-modp1024,aes128-sha1-modp1024,3des-sha1-modp1024"
#define HNV_S2S_ESP_LEGACY "aes256-sha1,aes128-sha1,3des-sha1"

/* An S2S tunnel. psk is a secret: whoever copies a command holding it
 * clears the copy with explicit_bzero (hnv_conf_cmds_free does). */
struct hnv_conf_s2s {
	char name[HNV_NAME_MAX + 1];
	char rdomain[HNV_NAME_MAX + 1]; /* add only, like every field below */
	struct hnv_ip peer;
	bool has_local_addr;
	struct hnv_ip local_addr; /* same family as peer */
	char local_id[HNV_S2S_ID_MAX + 1];
	char remote_id[HNV_S2S_ID_MAX + 1];
	enum hnv_s2s_auth auth;
	char psk[HNV_S2S_PSK_MAX + 1];   /* PSK auth only, else "" */
	char cert[HNV_S2S_PATH_MAX + 1]; /* certificate auth only, else "" */
	char key[HNV_S2S_PATH_MAX + 1];
	/* certificate auth: the CA the peer's certificate must chain to
	 * (x509ca/ or an absolute path); "": any CA charon already trusts */
	char ca_cert[HNV_S2S_PATH_MAX + 1];
	/* Lower-case proposals joined by ',' (swanctl's list form); the
	 * defaults when none was given. */
	char ike[HNV_S2S_PROPOSALS_LEN + 1];
	char esp[HNV_S2S_PROPOSALS_LEN + 1];
	unsigned n_remote;
	struct hnv_prefix remote[HNV_S2S_REMOTE_MAX];
	uint32_t dpd; /* seconds, 0: off */
	/* NETMAP before the tunnel: local[] translate the tenant's prefixes
	 * for the site, remote[] the site's for the tenant (IPv4, real and
	 * mapped of the same length). */
	unsigned n_local_netmap, n_remote_netmap;
	struct hnv_s2s_netmap {
		struct hnv_prefix real, mapped;
	} local_netmap[HNV_S2S_NETMAP_MAX], remote_netmap[HNV_S2S_NETMAP_MAX];
	/* --peer any: peer is unspecified and peer_host ""; --peer HOST:
	 * peer is unspecified and peer_host the DNS name */
	bool peer_any;
	char peer_host[HNV_S2S_HOST_MAX + 1];
	bool legacy_crypto; /* --allow-legacy-crypto */
	/* --rate-out, --rate-in: kbit/s on the tunnel's XFRM interface,
	 * HNV_CONN_RATE_MIN-HNV_CONN_RATE_MAX like a connection's; 0:
	 * unlimited */
	uint32_t rate_out, rate_in;
	/* --pool NAME: the tunnel of a gateway pool's tenant (its gateway's
	 * pool), shared through etcd and served by the member that holds the
	 * tenant, which adds local_addr (required) where the peer (an
	 * address) is routed; "": local configuration of this host */
	char pool[HNV_CONF_HOST_MAX + 1];
};

/* A GRE tunnel or an L3 (VLAN) connection of a tenant's gateway: the
 * commands gre add and l3 add. */
#define HNV_CONN_NAME_MAX 12 /* the device is gr-<name> or l3-<name> */
#define HNV_CONN_REMOTE_MAX 16
#define HNV_CONN_RATE_MIN 8        /* kbit/s */
#define HNV_CONN_RATE_MAX 32000000 /* kbit/s: 32 Gbit/s (tc_ratespec is 32-bit bytes/s) */
enum hnv_conn_type {
	HNV_CONN_GRE = 1,
	HNV_CONN_L3 = 2,
};
struct hnv_conf_conn {
	char name[HNV_NAME_MAX + 1];
	enum hnv_conn_type type;        /* add: from the kind */
	char rdomain[HNV_NAME_MAX + 1]; /* add only, like every field below */
	struct hnv_prefix addr;         /* the gateway's address, with its host bits */
	unsigned n_remote;
	struct hnv_prefix remote[HNV_CONN_REMOTE_MAX];
	uint32_t rate_out, rate_in; /* kbit/s, 0: unlimited */
	/* gre */
	struct hnv_ip local, remote_addr; /* IPv4, the outer addresses */
	bool has_key;
	uint32_t key;
	/* l3 */
	char dev[HNV_DEV_MAX + 1];
	uint32_t vlan;
	struct hnv_ip nexthop;
};

/* A BGP neighbor of a gateway with its filters (bgp-peer add). */
#define HNV_BGP_PEER_PREFIXES_MAX 16
struct hnv_conf_bgp_match {
	struct hnv_prefix prefix;
	uint8_t ge, le; /* 0: not given */
};
struct hnv_conf_bgp_peer {
	char name[HNV_NAME_MAX + 1];
	char rdomain[HNV_NAME_MAX + 1]; /* add only, like every field below */
	struct hnv_ip addr;
	uint32_t asn;
	bool has_source;
	struct hnv_ip source; /* same family as addr */
	unsigned n_in, n_out; /* n_out 0: the tenant's own prefixes */
	struct hnv_conf_bgp_match in[HNV_BGP_PEER_PREFIXES_MAX];
	struct hnv_conf_bgp_match out[HNV_BGP_PEER_PREFIXES_MAX];
};

#define HNV_POOL_LEASE_DEFAULT 86400
#define HNV_POOL_LEASE_MIN 60
#define HNV_POOL_LEASE_MAX 31536000
#define HNV_POOL_SIZE_MAX 65536

/* The addresses of a pool, first..last (IPv4), with its DHCP options. */
struct hnv_conf_range {
	struct hnv_ip first, last;
	unsigned n_dns;
	struct hnv_ip dns[HNV_CONF_DNS_MAX];
	uint32_t lease; /* seconds */
};

/* An IP pool of a VSID. */
struct hnv_conf_pool {
	char name[HNV_NAME_MAX + 1];
	uint32_t vsid; /* add only, like range */
	struct hnv_conf_range range;
};

struct hnv_conf_cmd {
	enum hnv_conf_kind kind;
	unsigned line; /* 1-based line number in its file, 0 for a single line */
	union {
		struct {
			char name[HNV_NAME_MAX + 1];
			struct hnv_guid rdid;
		} rdomain;
		struct hnv_conf_vsubnet vsubnet; /* del: only vsid */
		struct {
			struct hnv_prefix addr; /* del: len unused */
			char dev[16];
		} pa;
		struct hnv_conf_port port;     /* del: only name */
		struct hnv_conf_lookup lookup; /* del: vsid, ca, mac */
		struct hnv_conf_route route;   /* del: rdomain, prefix, nexthop */
		struct hnv_conf_global global;
		struct hnv_conf_proute proute;         /* del: prefix, nexthop */
		struct hnv_conf_gateway gateway;       /* del: rdomain */
		struct hnv_conf_gateway_ca gateway_ca; /* ca and ca-del */
		struct hnv_conf_s2s s2s;               /* del: name */
		struct hnv_conf_pool pool;             /* del: name */
		struct hnv_conf_port_move port_move;
		struct hnv_conf_conn conn;         /* gre and l3; del: only name */
		struct hnv_conf_bgp_peer bgp_peer; /* del: only name */
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

/* Frees an array from hnv_conf_parse_text after clearing it (it may hold
 * PSKs). NULL is fine. */
void hnv_conf_cmds_free(struct hnv_conf_cmd *cmds, size_t n);

/* The warning a committed command deserves (an "s2s add" with
 * --allow-legacy-crypto, a "bgp-peer add" without --prefix-in: it learns
 * nothing), NUL-terminated in buf; never shows a secret.
 * Returns true when there is one. */
bool hnv_conf_warning(const struct hnv_conf_cmd *cmd, char *buf, size_t len);

/* Writes the canonical line of cmd (no newline) into buf: options in the
 * order of the grammar above, values quoted when they need it, defaults
 * written out, MACs as 06:06:00:00:00:05, GUIDs as {UPPER-CASE}. The line
 * parses back to the same command. The PSK prints as <secret> unless
 * show_secrets (a masked line does not parse: the PSK is missing).
 * Returns 0, -ENOSPC when the line does not fit len, or -EINVAL for a
 * command no parser produces (unknown kind, unterminated string). */
int hnv_conf_format(const struct hnv_conf_cmd *cmd, bool show_secrets, char *buf, size_t len);

/* A line of config text as anyone may see it (hnvgw config diff, the
 * daemon's log): a PSK never shows, however the line is written. The
 * line (len bytes, no newline; a final '\r' is dropped) is read by this
 * module's own lexer and parser, never by prefix:
 *  - a command is shown as written, except "s2s add" (whatever its
 *    spelling: blanks, tabs, quoted words), which shows as its canonical
 *    line with the PSK as <secret>;
 *  - a line that does not parse is replaced by HNV_CONF_MASK_HIDDEN, since
 *    nothing tells whether it holds a secret;
 *  - a comment (from the '#' the lexer finds outside quotes) is shown
 *    unless it may hold a secret: it names s2s, a PSK, a secret, a
 *    password or a key (in any case); then a commented-out "s2s add" line
 *    shows as "# " and its masked canonical line, anything else as
 *    HNV_CONF_MASK_COMMENT.
 * Writes the result, NUL-terminated, into buf (HNV_CONF_MASKED_MAX bytes
 * always suffice). 0, or -ENOSPC (buf holds "" then). */
#define HNV_CONF_MASKED_MAX 16384
#define HNV_CONF_MASK_HIDDEN "# (line not shown: it does not parse and may hold a secret)"
#define HNV_CONF_MASK_COMMENT "# (comment not shown: it may hold a secret)"
int hnv_conf_mask_line(const char *line, size_t len, char *buf, size_t buflen);

/* The gateway role's port of a VSID holding gateway CAs: a TAP named
 * vsid<VSID>, MAC 02:48:4e + the VSID's 24 bits. The applier adds it to the
 * datapath (conf_apply.h: one per VSID, with every gateway CA of the VSID);
 * hosts point their gateway lookup records at this MAC. */
void hnv_gateway_port(uint32_t vsid, char name[HNV_DEV_MAX + 1], struct hnv_mac *mac);

#endif
