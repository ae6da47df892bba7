/* metrics_gather.c: the contents of hnvgwd's Prometheus document
 * (metrics_gather.h). */
#include "metrics_gather.h"

#include "../../gateway/gw.h"
#include "core.h"
#include "metrics_text.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *row_str(json_object *r, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(r, key, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

static uint64_t row_u64(json_object *r, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(r, key, &v))
		return 0;
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v) ? 1 : 0;
	if (!json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_uint64(v);
}

static bool row_has(json_object *r, const char *key)
{
	return json_object_object_get_ex(r, key, NULL);
}

/* The rows of `show WHAT` (a new array), or NULL. */
static json_object *show(struct hnv_core *c, const char *what)
{
	json_object *rows = NULL;
	char err[256];
	if (hnv_core_show(c, what, false, NULL, false, 0, &rows, err, sizeof(err)))
		return NULL;
	if (rows && !json_object_is_type(rows, json_type_array)) {
		json_object_put(rows);
		return NULL;
	}
	return rows;
}

/* ---- the daemon ---- */

static uint64_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	unsigned long long size, res;
	uint64_t r = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &res) == 2)
		r = (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
	fclose(f);
	return r;
}

static uint64_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	uint64_t n = 0;
	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n ? n - 1 : 0; /* not the directory's own descriptor */
}

static void count_error(void *arg, const char *kind, const char *name, const char *rdomain,
			const char *error)
{
	(void)kind, (void)name, (void)rdomain, (void)error;
	(*(uint64_t *)arg)++;
}

static void daemon_health(const struct hnv_metrics_ctx *x, struct hnv_buf *b)
{
	hnv_prom_family(b, "hnvgw_up", "gauge", "1: hnvgwd answers (this document comes from it)");
	hnv_prom_u64(b, "hnvgw_up", NULL, 1);
	hnv_prom_family(b, "hnvgw_start_time_seconds", "gauge",
			"when hnvgwd started, seconds since the Unix epoch");
	hnv_prom_f64(b, "hnvgw_start_time_seconds", NULL, x->start_time);
	hnv_prom_family(b, "hnvgw_config_revision", "gauge",
			"the running configuration revision (hnvgw show revisions)");
	hnv_prom_u64(b, "hnvgw_config_revision", NULL, hnv_core_revision(x->core));
	hnv_prom_family(b, "hnvgw_config_refused", "gauge",
			"1: hnvgw.conf was refused and an older revision runs (hnvgw show "
			"status, config_warning)");
	hnv_prom_u64(b, "hnvgw_config_refused", NULL, hnv_core_warning(x->core) ? 1 : 0);
	hnv_prom_family(b, "hnvgw_datapath_info", "gauge",
			"1, labelled with the tier that forwards (kernel: tc eBPF fast path and "
			"the C engine; userspace: the C engine; none: no --uplink) and --datapath");
	hnv_prom_u64(b, "hnvgw_datapath_info", L("tier", x->tier, "requested", x->requested), 1);
	uint64_t errs = 0;
	if (x->gw)
		hnv_gw_errors(x->gw, count_error, &errs);
	hnv_prom_family(b, "hnvgw_apply_errors", "gauge",
			"gateways and S2S tunnels whose configuration is not applied now (the "
			"not_applied of commits; hnvgw show gateway, s2s-status)");
	hnv_prom_u64(b, "hnvgw_apply_errors", NULL, errs);
	hnv_prom_family(b, "hnvgw_process_resident_memory_bytes", "gauge",
			"hnvgwd's resident set size");
	hnv_prom_u64(b, "hnvgw_process_resident_memory_bytes", NULL, rss_bytes());
	hnv_prom_family(b, "hnvgw_process_open_fds", "gauge", "hnvgwd's open file descriptors");
	hnv_prom_u64(b, "hnvgw_process_open_fds", NULL, open_fds());
}

/* ---- the datapath: reasons of both tiers, ports, threads ---- */

/* The reason counters ("counter" without a '.'), drops or not. */
static void reasons(struct hnv_buf *b, json_object *rows, bool drops)
{
	const char *name = drops ? "hnvgw_datapath_drops_total" : "hnvgw_datapath_events_total";
	hnv_prom_family(b, name, "counter",
			drops ? "packets dropped (or consumed) by the datapath, by reason "
				"(datapath/reasons.h) and by the tier that counted them: "
				"fast_path (tc eBPF) or engine (the C engine)"
			      : "packets the datapath forwarded or answered, by reason "
				"(datapath/reasons.h) and by the tier that counted them: "
				"fast_path (tc eBPF) or engine (the C engine)");
	size_t n = json_object_array_length(rows);
	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(rows, i);
		const char *c = row_str(r, "counter");
		if (!c[0] || strchr(c, '.') || (row_u64(r, "drop") != 0) != drops)
			continue;
		if (row_has(r, "fast_path")) {
			hnv_prom_u64(b, name, L("reason", c, "tier", "fast_path"),
				     row_u64(r, "fast_path"));
			hnv_prom_u64(b, name, L("reason", c, "tier", "engine"),
				     row_u64(r, "engine"));
		} else {
			hnv_prom_u64(b, name, L("reason", c, "tier", "engine"),
				     row_u64(r, "value"));
		}
	}
}

/* The counter rows "OWNER.COUNTER" become families hnvgw_<kind>_<COUNTER>_total:
 * port (a VM port, a gateway port or "uplink"), fwd_thread ("thread:K"),
 * fastpath, learn. */
enum owner_kind {
	OWNER_PORT,
	OWNER_THREAD,
	OWNER_FASTPATH,
	OWNER_LEARN
};

static const struct {
	const char *counter, *help;
} port_help[] = {
	{"rx_packets", "frames received on the port (uplink: NVGRE packets)"},
	{"rx_bytes", "bytes received on the port"},
	{"rx_errors", "receive errors on the port"},
	{"rx_dropped", "frames received on the port and dropped before the datapath"},
	{"tx_packets", "frames sent on the port"},
	{"tx_bytes", "bytes sent on the port"},
	{"tx_errors", "send errors on the port"},
	{"tx_no_neigh", "NVGRE not sent on the uplink: no neighbour entry for the next hop"},
	{"rx_punt", "frames the fast path handed to the C engine from this port"},
};

static bool split_row(const char *c, enum owner_kind *kind, char *owner, size_t olen,
		      const char **counter)
{
	const char *dot = strrchr(c, '.');
	if (!dot || dot == c || !dot[1] || (size_t)(dot - c) >= olen)
		return false;
	for (const char *p = dot + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	memcpy(owner, c, (size_t)(dot - c));
	owner[dot - c] = '\0';
	*counter = dot + 1;
	if (strncmp(owner, "thread:", 7) == 0) {
		*kind = OWNER_THREAD;
		memmove(owner, owner + 7, strlen(owner + 7) + 1);
	} else if (strcmp(owner, "fastpath") == 0) {
		*kind = OWNER_FASTPATH;
	} else if (strcmp(owner, "learn") == 0) {
		*kind = OWNER_LEARN;
	} else {
		*kind = OWNER_PORT;
	}
	return true;
}

static const char *const kind_prefix[] = {"hnvgw_port_", "hnvgw_fwd_thread_", "hnvgw_fastpath_",
					  "hnvgw_learn_"};

static void family_name(enum owner_kind k, const char *counter, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s_total", kind_prefix[k], counter);
}

/* One family per distinct (kind, counter), in the order of first
 * appearance, each with all its rows. */
static void owned_counters(struct hnv_buf *b, json_object *rows)
{
	size_t n = json_object_array_length(rows);
	char *done = calloc(n ? n : 1, 1);
	if (!done) {
		b->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char owner[128], fam[160], help[256];
		enum owner_kind kind;
		const char *counter;
		json_object *r = json_object_array_get_idx(rows, i);
		if (done[i] ||
		    !split_row(row_str(r, "counter"), &kind, owner, sizeof(owner), &counter))
			continue;
		family_name(kind, counter, fam, sizeof(fam));
		snprintf(help, sizeof(help), "%s", row_str(r, "description"));
		if (kind == OWNER_PORT)
			for (size_t h = 0; h < sizeof(port_help) / sizeof(port_help[0]); h++)
				if (strcmp(counter, port_help[h].counter) == 0)
					snprintf(help, sizeof(help),
						 "%s, by the tier that counted them: fast_path (tc "
						 "eBPF) or engine (the C engine)",
						 port_help[h].help);
		if (kind == OWNER_THREAD)
			snprintf(help, sizeof(help), "%s",
				 strcmp(counter, "rx_packets") == 0
					 ? "frames the forwarding thread received (uplink, its VM "
					   "ports, punts)"
					 : "NVGRE packets steered to the forwarding thread");
		hnv_prom_family(b, fam, "counter", help);
		for (size_t j = i; j < n; j++) {
			char o2[128], f2[160];
			enum owner_kind k2;
			const char *c2;
			json_object *r2 = json_object_array_get_idx(rows, j);
			if (done[j] || !split_row(row_str(r2, "counter"), &k2, o2, sizeof(o2), &c2))
				continue;
			family_name(k2, c2, f2, sizeof(f2));
			if (strcmp(f2, fam))
				continue;
			done[j] = 1;
			uint64_t v = row_u64(r2, "value");
			if (k2 == OWNER_PORT && row_has(r2, "fast_path")) {
				/* as the reasons: each tier's share */
				hnv_prom_u64(b, fam, L("port", o2, "tier", "fast_path"),
					     row_u64(r2, "fast_path"));
				hnv_prom_u64(b, fam, L("port", o2, "tier", "engine"),
					     row_u64(r2, "engine"));
			} else if (k2 == OWNER_PORT)
				hnv_prom_u64(b, fam, L("port", o2, "tier", "engine"), v);
			else if (k2 == OWNER_THREAD)
				hnv_prom_u64(b, fam, L("thread", o2), v);
			else
				hnv_prom_u64(b, fam, NULL, v);
		}
	}
	free(done);
}

/* ---- the gateway role: tenants, NAT, S2S, BGP ---- */

static void tenants(struct hnv_buf *b, json_object *gws, json_object *nat)
{
	size_t n = json_object_array_length(gws), nn = nat ? json_object_array_length(nat) : 0;
	hnv_prom_family(b, "hnvgw_gateway_up", "gauge",
			"1: the tenant's VRF, gateway ports and corp side are applied (hnvgw show "
			"gateway: state ok); 0: not (the state says why)");
	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(gws, i);
		hnv_prom_u64(b, "hnvgw_gateway_up",
			     L("rdomain", row_str(r, "rdomain"), "vrf", row_str(r, "vrf")),
			     strcmp(row_str(r, "state"), "ok") == 0);
	}
	if (!nat)
		return; /* conntrack could not be read: no number rather than 0 */
	hnv_prom_family(b, "hnvgw_nat_entries", "gauge",
			"conntrack entries in the tenant's zone that NAT translates (hnvgw show "
			"nat)");
	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(gws, i);
		const char *rd = row_str(r, "rdomain");
		uint64_t cnt = 0;
		for (size_t k = 0; k < nn; k++)
			if (!strcmp(row_str(json_object_array_get_idx(nat, k), "rdomain"), rd))
				cnt++;
		char zone[24];
		snprintf(zone, sizeof(zone), "%llu", (unsigned long long)row_u64(r, "zone"));
		hnv_prom_u64(b, "hnvgw_nat_entries", L("rdomain", rd, "zone", zone), cnt);
	}
}

struct row_metric {
	const char *name, *type, *help, *field;
};

/* One family per metric over rows, labelled with the label/field pairs. */
static void row_families(struct hnv_buf *b, json_object *rows, const struct row_metric *m,
			 size_t nm, const char *const *lf)
{
	size_t n = json_object_array_length(rows);
	for (size_t k = 0; k < nm; k++) {
		hnv_prom_family(b, m[k].name, m[k].type, m[k].help);
		for (size_t i = 0; i < n; i++) {
			json_object *r = json_object_array_get_idx(rows, i);
			const char *labels[9] = {0};
			for (size_t l = 0; lf[l] && l < 8; l += 2) {
				labels[l] = lf[l];
				labels[l + 1] = row_str(r, lf[l + 1]);
			}
			hnv_prom_u64(b, m[k].name, labels, row_u64(r, m[k].field));
		}
	}
}

static void s2s(struct hnv_buf *b, json_object *rows)
{
	/* 0/1 gauges: 1 when the row's field is the value; the info family
	 * (no field) is always 1, its labels tell the states */
	static const struct {
		const char *name, *help, *field, *is;
	} flag[] = {
		{"hnvgw_s2s_established", "1: the tunnel's IKE SA is ESTABLISHED in charon",
		 "state", "ESTABLISHED"},
		{"hnvgw_s2s_child_installed", "1: the tunnel's CHILD SA is INSTALLED in the kernel",
		 "child", "INSTALLED"},
		{"hnvgw_s2s_info",
		 "1, labelled with the tunnel's peer, XFRM interface, IKE and CHILD SA states as "
		 "charon reports them (hnvgw show s2s-status)",
		 NULL, NULL},
	};
	size_t n = json_object_array_length(rows);
	for (size_t k = 0; k < sizeof(flag) / sizeof(flag[0]); k++) {
		hnv_prom_family(b, flag[k].name, "gauge", flag[k].help);
		for (size_t i = 0; i < n; i++) {
			json_object *r = json_object_array_get_idx(rows, i);
			const char *t = row_str(r, "name"), *rd = row_str(r, "rdomain");
			hnv_prom_u64(b, flag[k].name,
				     flag[k].field
					     ? L("tunnel", t, "rdomain", rd)
					     : L("tunnel", t, "rdomain", rd, "peer",
						 row_str(r, "peer"), "interface",
						 row_str(r, "interface"), "state",
						 row_str(r, "state"), "child", row_str(r, "child")),
				     !flag[k].field ||
					     strcmp(row_str(r, flag[k].field), flag[k].is) == 0);
		}
	}
	static const struct row_metric m[] = {
		{"hnvgw_s2s_ike_sas", "gauge", "IKE SAs charon holds for the tunnel", "ike_sas"},
		{"hnvgw_s2s_established_seconds", "gauge",
		 "seconds since the tunnel's IKE SA was established", "established_s"},
		{"hnvgw_s2s_in_bytes_total", "counter",
		 "bytes received through the tunnel's CHILD SA (charon's count: starts again "
		 "with a new CHILD SA)",
		 "bytes_in"},
		{"hnvgw_s2s_out_bytes_total", "counter",
		 "bytes sent through the tunnel's CHILD SA (starts again with a new CHILD SA)",
		 "bytes_out"},
		{"hnvgw_s2s_in_packets_total", "counter",
		 "packets received through the tunnel's CHILD SA", "packets_in"},
		{"hnvgw_s2s_out_packets_total", "counter",
		 "packets sent through the tunnel's CHILD SA", "packets_out"},
		{"hnvgw_s2s_rekeys_total", "counter",
		 "IKE and CHILD SA rekeyings of the tunnel charon reports", "rekeys"},
	};
	row_families(b, rows, m, sizeof(m) / sizeof(m[0]),
		     L("tunnel", "name", "rdomain", "rdomain"));
}

static void bgp(struct hnv_buf *b, json_object *rows)
{
	size_t n = json_object_array_length(rows);
	hnv_prom_family(b, "hnvgw_bgp_info", "gauge",
			"1, labelled with the tenant's BGP session state as bgpd reports it "
			"(or why bgpd could not be asked)");
	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(rows, i);
		hnv_prom_u64(b, "hnvgw_bgp_info",
			     L("rdomain", row_str(r, "rdomain"), "vrf", row_str(r, "vrf"), "peer",
			       row_str(r, "peer"), "state", row_str(r, "state")),
			     1);
	}
	static const struct row_metric m[] = {
		{"hnvgw_bgp_established", "gauge", "1: the tenant's BGP session is Established",
		 "established"},
		{"hnvgw_bgp_messages_received_total", "counter",
		 "BGP messages received from the peer (bgpd's msgRcvd)", "msg_rcvd"},
		{"hnvgw_bgp_messages_sent_total", "counter",
		 "BGP messages sent to the peer (bgpd's msgSent)", "msg_sent"},
		{"hnvgw_bgp_prefixes_received", "gauge",
		 "prefixes accepted from the peer, all address families", "pfx_rcvd"},
		{"hnvgw_bgp_connections_established_total", "counter",
		 "times the session was established", "connections_established"},
		{"hnvgw_bgp_connections_dropped_total", "counter",
		 "times the established session was dropped", "connections_dropped"},
	};
	row_families(b, rows, m, sizeof(m) / sizeof(m[0]), L("rdomain", "rdomain", "peer", "peer"));
	hnv_prom_family(b, "hnvgw_bgp_uptime_seconds", "gauge",
			"seconds the session has been Established (0: it is not)");
	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(rows, i);
		hnv_prom_f64(b, "hnvgw_bgp_uptime_seconds",
			     L("rdomain", row_str(r, "rdomain"), "peer", row_str(r, "peer")),
			     (double)row_u64(r, "uptime_ms") / 1000.0);
	}
}

static void etcd(struct hnv_buf *b, json_object *rows)
{
	hnv_prom_family(b, "hnvgw_etcd_connected", "gauge",
			"1: the last request of the etcd watch succeeded (hnvgw show etcd: "
			"last_error empty)");
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		hnv_prom_u64(b, "hnvgw_etcd_connected", NULL,
			     row_str(json_object_array_get_idx(rows, i), "last_error")[0] == 0);
	static const struct row_metric m[] = {
		{"hnvgw_etcd_synced", "gauge",
		 "1: the shared policy was read from etcd and applied", "synced"},
		{"hnvgw_etcd_revision", "gauge", "the etcd revision last applied", "etcd_revision"},
		{"hnvgw_etcd_keys", "gauge", "keys under the prefix (the mirror)", "keys"},
		{"hnvgw_etcd_refused_values_total", "counter",
		 "etcd values refused as not a valid object of their key", "refused_values"},
	};
	row_families(b, rows, m, sizeof(m) / sizeof(m[0]), (const char *const[]){NULL});
}

int hnv_metrics_gather(void *arg, struct hnv_buf *out)
{
	const struct hnv_metrics_ctx *x = arg;
	daemon_health(x, out);
	json_object *rows = show(x->core, "counters");
	if (!rows)
		return -ENOMEM;
	reasons(out, rows, false);
	reasons(out, rows, true);
	owned_counters(out, rows);
	json_object_put(rows);
	if (x->gw) {
		json_object *gws = show(x->core, "gateway"), *nat = show(x->core, "nat");
		json_object *tun = show(x->core, "s2s-status"), *ses = hnv_gw_show_bgp(x->gw);
		int rc = gws && tun && ses ? 0 : -ENOMEM;
		if (rc == 0) {
			tenants(out, gws, nat);
			s2s(out, tun);
			bgp(out, ses);
		}
		json_object_put(gws);
		json_object_put(nat);
		json_object_put(tun);
		json_object_put(ses);
		if (rc)
			return rc;
	}
	if (x->etcd) {
		json_object *e = show(x->core, "etcd");
		if (!e)
			return -ENOMEM;
		etcd(out, e);
		json_object_put(e);
	}
	hnv_buf_puts(out, "");
	return out->oom ? -ENOMEM : 0;
}
