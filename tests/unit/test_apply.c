/* test_apply.c: changes applied as operations on a running datapath
 * (mgmt/daemon/apply.c) over the real config text, model, policy tables
 * and datapath context.
 *
 * The yardstick: after any change, the running datapath holds exactly what
 * a fresh datapath loaded with the resulting configuration holds (records
 * with every field, ports, virtual subnets with their DHCP pools, routes,
 * provider addresses, settings); after a refused transaction it holds
 * exactly what it held before. Counters run on: the datapath is never
 * replaced. The main thread registers with liburcu-qsbr (apply.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <urcu/urcu-qsbr.h>

#include "../../datapath/policy_read.h"
#include "../../lib/addr.h"
#include "../../lib/vec.h"
#include "../../mgmt/daemon/apply.h"
#include "../../mgmt/model.h"
#include "pktgen.h"

#define PSK "Zq8-secret-Psk-4711-abcdef"
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Every kind of entry, with dependents on each routing domain and VSID. */
static const char base[] =
	"pa add 192.168.4.11/24 --dev eth0\n"
	"proute add --prefix 0.0.0.0/0 --nexthop 192.168.4.1 --dev eth0\n"
	"rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}\n"
	"rdomain add red --rdid {11111111-2222-3333-4444-000000006001}\n"
	"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24\n"
	"vsubnet add 5002 --rdomain blue --prefix 10.0.1.0/24\n"
	"vsubnet add 6001 --rdomain red --prefix 10.0.0.0/24\n"
	"pool add bluepool --vsid 5001 --range 10.0.0.100-10.0.0.150 --dns 10.0.0.53\n"
	"gateway add --rdomain blue --vrf vrf-blue --table 1001\n"
	"gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.2\n"
	"port add blue1 --vsid 5001 --ca 10.0.0.5 --mac 060600000005\n"
	"port add red1 --vsid 6001 --ca 10.0.0.5 --mac 080800000005\n"
	"lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 060600000007 --vm-name "
	"Blue2\n"
	"lookup add --vsid 5002 --ca 10.0.1.9 --pa 192.168.4.22 --mac 060600000109\n"
	"lookup add --vsid 6001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 080800000007 --vm-name Red2\n"
	"route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0\n"
	"route add --rdomain blue --vsid 5002 --prefix 10.0.1.0/24 --nexthop 0.0.0.0\n"
	"route add --rdomain blue --vsid 5002 --prefix 172.16.0.0/16 --nexthop 10.0.1.9\n"
	"route add --rdomain red --vsid 6001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0\n"
	"s2s add site1 --rdomain blue --peer 203.0.113.9 --local-id gw.example --remote-id "
	"site1.example --psk " PSK " --remote-prefix 192.168.50.0/24\n"
	"global set --flowid off\n";

struct fix {
	struct hnv_model *m;
	struct hnv_dp *dp;
	struct hnv_apply *a;
};

static struct hnv_model *load(const char *text)
{
	struct hnv_model *m;
	char err[512] = "";
	int rc = hnv_model_load(text, strlen(text), &m, err, sizeof(err));
	if (rc)
		fail_msg("load: %s", err);
	return m;
}

/* A new datapath holding m, through an applier. */
static void fix_open(struct fix *f, struct hnv_model *m)
{
	char err[512] = "";
	f->m = m;
	f->dp = hnv_dp_new();
	assert_non_null(f->dp);
	assert_int_equal(hnv_apply_new(f->dp, &f->a), 0);
	int rc = hnv_apply_load(f->a, m, err, sizeof(err));
	if (rc)
		fail_msg("apply load: %s", err);
}

static void fix_close(struct fix *f)
{
	hnv_apply_free(f->a);
	urcu_qsbr_synchronize_rcu();
	hnv_dp_free(f->dp);
	hnv_model_free(f->m);
	memset(f, 0, sizeof(*f));
}

static struct hnv_model *transact(const struct hnv_model *cur, const char *const *lines, size_t n)
{
	struct hnv_model *next;
	char err[512] = "";
	int rc = hnv_model_transact(cur, lines, n, &next, err, sizeof(err));
	if (rc)
		fail_msg("transact: %s", err);
	return next;
}

/* text with its line that starts with old replaced by line (NULL: the
 * line removed). malloc'd. */
static char *with_line(const char *text, const char *old, const char *line)
{
	const char *at = strstr(text, old);
	assert_non_null(at);
	const char *end = strchr(at, '\n');
	assert_non_null(end);
	size_t n = strlen(text) + (line ? strlen(line) : 0) + 2;
	char *out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%.*s%s%s%s", (int)(at - text), text, line ? line : "", line ? "\n" : "",
		 end + 1);
	return out;
}

/* ---- the datapath's state as sorted text ---- */

struct dump {
	char **line;
	size_t n, cap;
	const struct hnv_policy *pol;
};

static void dump_add(struct dump *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dump_add(struct dump *d, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_int_equal(HNV_GROW(d->line, d->cap, d->n + 1), 0);
	d->line[d->n] = strdup(buf);
	assert_non_null(d->line[d->n++]);
}

static int dump_rec(const struct hnv_rec *r, void *arg)
{
	struct dump *d = arg;
	struct hnv_lookup_spec s;
	char ca[64], pa[64], mac[24], cust[48] = "-";
	hnv_policy_rec_spec(d->pol, r, &s);
	hnv_fmt_ip(&s.ca, ca, sizeof(ca));
	hnv_fmt_ip(&s.pa, pa, sizeof(pa));
	hnv_fmt_mac(&s.mac, mac, sizeof(mac));
	if (s.has_customer_id)
		hnv_fmt_guid(&s.customer_id, cust, sizeof(cust));
	dump_add(d, "rec %u %s %s %s rule %d type %d vm %s ctx %s cust %s usevm %d", s.vsid, ca, pa,
		 mac, (int)s.rule, (int)s.type, s.vm_name, s.context, cust, (int)s.use_vm_mac);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What the model's entries name, probed in the datapath. */
static int dump_probe(const struct hnv_conf_cmd *c, void *arg)
{
	struct dump *d = arg;
	char a[64], b[64];
	if (c->kind == HNV_CONF_VSUBNET_ADD) {
		const struct hnv_vsubnet *vs = hnv_policy_vsubnet(d->pol, c->u.vsubnet.vsid);
		struct hnv_vsubnet_spec s;
		if (!vs || hnv_policy_vsubnet_get(d->pol, c->u.vsubnet.vsid, &s)) {
			dump_add(d, "vsubnet %u none", c->u.vsubnet.vsid);
			return 0;
		}
		hnv_fmt_prefix(&s.prefixes[0], a, sizeof(a));
		dump_add(d, "vsubnet %u rd %s %u prefixes, first %s", s.vsid, s.rdomain,
			 s.n_prefixes, a);
		const struct hnv_dhcp_cfg *dh = vs->dhcp;
		for (unsigned i = 0; dh && i < dh->n_pools; i++) {
			hnv_fmt_ip(&dh->pools[i].first, a, sizeof(a));
			hnv_fmt_ip(&dh->pools[i].last, b, sizeof(b));
			dump_add(d, "pool of %u: %s-%s lease %u dns %u", s.vsid, a, b,
				 dh->pools[i].lease, dh->pools[i].n_dns);
		}
	} else if (c->kind == HNV_CONF_ROUTE_ADD) {
		const struct hnv_vsubnet *vs = hnv_policy_vsubnet(d->pol, c->u.route.vsid);
		struct hnv_route_hit hit;
		hnv_fmt_prefix(&c->u.route.prefix, a, sizeof(a));
		if (!vs ||
		    !hnv_policy_route_lookup(d->pol, vs->rd_idx, &c->u.route.prefix.addr, &hit)) {
			dump_add(d, "route %s in %s: none", a, c->u.route.rdomain);
			return 0;
		}
		hnv_fmt_ip(&hit.nexthop, b, sizeof(b));
		dump_add(d, "route %s in %s: vsid %u via %s metric %u", a, c->u.route.rdomain,
			 hit.vsid, b, hit.metric);
	} else if (c->kind == HNV_CONF_PA_ADD) {
		hnv_fmt_ip(&c->u.pa.addr.addr, a, sizeof(a));
		dump_add(d, "pa %s local %d", a,
			 (int)hnv_policy_is_local_pa(d->pol, &c->u.pa.addr.addr));
	}
	return 0;
}

/* The datapath's state, probed also for what the models name: one string,
 * lines sorted (port ids and record slots may differ between datapaths). */
static char *dump(struct hnv_dp *dp, const struct hnv_model *m1, const struct hnv_model *m2)
{
	struct dump d = {.pol = hnv_dp_policy(dp)};
	struct hnv_policy_stats st;
	hnv_policy_stats(d.pol, &st);
	dump_add(&d, "stats rec %zu routes %zu vsubnets %zu rdomains %zu", st.n_records,
		 st.n_routes, st.n_vsubnets, st.n_rdomains);
	hnv_policy_rec_foreach(d.pol, dump_rec, &d);
	for (unsigned id = 1; id < HNV_PORTS_MAX; id++) {
		const struct hnv_port *pt = hnv_policy_port(d.pol, id);
		if (!pt)
			continue;
		char mac[24], cas[256] = "";
		hnv_fmt_mac(&pt->mac, mac, sizeof(mac));
		for (unsigned i = 0; i < pt->n_cas; i++) {
			char a[64];
			hnv_fmt_ip(&pt->cas[i], a, sizeof(a));
			strcat(cas, " ");
			strcat(cas, a);
		}
		dump_add(&d, "port %s vsid %u mac %s gw %d cas%s", pt->name, pt->vsid, mac,
			 (int)pt->gateway, cas);
	}
	char gm[24];
	hnv_fmt_mac(hnv_dp_gateway_mac(dp), gm, sizeof(gm));
	dump_add(&d, "gateway mac %s", gm);
	const struct hnv_ip *pa4 = hnv_policy_local_pa(d.pol, true);
	char a[64] = "none";
	if (pa4)
		hnv_fmt_ip(pa4, a, sizeof(a));
	dump_add(&d, "first pa4 %s", a);
	if (m1)
		hnv_model_foreach(m1, dump_probe, &d);
	if (m2)
		hnv_model_foreach(m2, dump_probe, &d);
	qsort(d.line, d.n, sizeof(*d.line), cmp_str);
	size_t len = 1;
	for (size_t i = 0; i < d.n; i++)
		len += strlen(d.line[i]) + 1;
	char *out = malloc(len), *o = out;
	assert_non_null(out);
	for (size_t i = 0; i < d.n; i++) {
		o += sprintf(o, "%s\n", d.line[i]);
		free(d.line[i]);
	}
	*o = '\0';
	free(d.line);
	return out;
}

static void assert_same_text(const char *got, const char *want, const char *what)
{
	if (strcmp(got, want) == 0)
		return;
	fprintf(stderr, "%s differs.\n--- got:\n%s--- want:\n%s", what, got, want);
	fail();
}

/* ---- applying changes ---- */

struct run {
	struct hnv_apply *a;
	char err[512];
};

static int run_one(void *arg, const struct hnv_conf_cmd *old, const struct hnv_conf_cmd *new)
{
	struct run *r = arg;
	return hnv_apply_change(r->a, old, new, r->err, sizeof(r->err));
}

/* Moves f's datapath from f->m to next as one transaction; f->m becomes
 * next. Returns the number of changes. */
static size_t move_to(struct fix *f, struct hnv_model *next)
{
	struct hnv_apply_diff *d;
	assert_int_equal(hnv_apply_diff(f->m, next, &d), 0);
	size_t n = hnv_apply_diff_count(d);
	struct run r = {.a = f->a};
	hnv_apply_begin(f->a);
	int rc = hnv_apply_diff_foreach(d, run_one, &r);
	if (rc)
		fail_msg("apply: %s", r.err);
	if (hnv_apply_publish(f->a, r.err, sizeof(r.err)))
		fail_msg("publish: %s", r.err);
	hnv_apply_diff_free(d);
	hnv_model_free(f->m);
	f->m = next;
	return n;
}

/* f's datapath equals a fresh one loaded with f->m. */
static void check_like_fresh(struct fix *f, const char *what)
{
	struct fix fresh;
	struct hnv_model *copy = transact(f->m, NULL, 0);
	fix_open(&fresh, copy);
	char *got = dump(f->dp, f->m, NULL), *want = dump(fresh.dp, f->m, NULL);
	assert_same_text(got, want, what);
	free(want);
	fix_close(&fresh);
	/* and like the model's own replay (hnv_model_build_dp) */
	struct hnv_dp *dp;
	char err[512] = "";
	if (hnv_model_build_dp(f->m, &dp, err, sizeof(err)))
		fail_msg("build_dp: %s", err);
	want = dump(dp, f->m, NULL);
	assert_same_text(got, want, what);
	free(got);
	free(want);
	urcu_qsbr_synchronize_rcu();
	hnv_dp_free(dp);
}

/* Applies lines as a transaction and checks the result like a fresh load;
 * then the way back, checked the same. */
static void there_and_back(struct fix *f, const char *const *lines, size_t n, const char *what)
{
	struct hnv_model *start = transact(f->m, NULL, 0);
	assert_true(move_to(f, transact(f->m, lines, n)) > 0);
	check_like_fresh(f, what);
	assert_true(move_to(f, start) > 0);
	check_like_fresh(f, what);
}

static void test_add_del_each_kind(void **state)
{
	(void)state;
	struct fix f;
	fix_open(&f, load(base));
	static const char *const adds[][4] = {
		{"rdomain add green --rdid {11111111-2222-3333-4444-000000007001}"},
		{"vsubnet add 5003 --rdomain blue --prefix 10.0.2.0/24"},
		{"pa add 192.168.4.12/24 --dev eth1"},
		{"pa add 2001:db8::11/64 --dev eth0"},
		{"port add blue3 --vsid 5002 --ca 10.0.1.3 --mac 060600000103"},
		{"lookup add --vsid 5001 --ca 10.0.0.8 --pa 192.168.4.33 --mac 060600000008 "
		 "--rule encap --type dynamic --context ctx --customer-id "
		 "{11111111-2222-3333-4444-000000005001}"},
		{"lookup add --vsid 5001 --ca 0.0.0.0 --pa 192.168.4.1 --mac 060600000001 --type "
		 "gateway-wildcard"},
		{"route add --rdomain red --vsid 6001 --prefix 192.168.0.0/16 --nexthop 10.0.0.7 "
		 "--metric 7"},
		{"proute add --prefix 10.9.0.0/16 --nexthop 192.168.4.2 --dev eth0"},
		{"pool add bluepool2 --vsid 5001 --range 10.0.0.200-10.0.0.210 --lease 600"},
		{"gateway add --rdomain red --vrf vrf-red --table 1002",
		 "gateway ca --rdomain red --vsid 6001 --ca 10.0.0.2"},
		{"gateway ca --rdomain blue --vsid 5002 --ca 10.0.1.2"},
		{"s2s add site2 --rdomain blue --peer 203.0.113.10 --local-id gw.example "
		 "--remote-id "
		 "site2.example --psk " PSK "-2 --remote-prefix 192.168.60.0/24"},
		{"global set --gateway-mac 02:00:00:00:00:99 --uplink-mtu 1400"},
		/* deletions first (the way back adds them again) */
		{"lookup del --vsid 6001 --ca 10.0.0.7 --mac 080800000007"},
		{"port del red1"},
		{"route del --rdomain blue --prefix 172.16.0.0/16 --nexthop 10.0.1.9"},
		{"pool del bluepool"},
		{"s2s del site1"},
		{"gateway ca-del --rdomain blue --vsid 5001 --ca 10.0.0.2"},
		{"proute del --prefix 0.0.0.0/0 --nexthop 192.168.4.1"},
	};
	for (size_t i = 0; i < ARRAY_LEN(adds); i++) {
		size_t n = 0;
		while (n < 4 && adds[i][n])
			n++;
		there_and_back(&f, adds[i], n, adds[i][0]);
	}
	fix_close(&f);
}

/* Moves to the text base with the line starting old replaced, checks,
 * and comes back. */
static void replaced_and_back(struct fix *f, const char *old, const char *line)
{
	struct hnv_model *start = transact(f->m, NULL, 0);
	char *text = with_line(base, old, line);
	assert_true(move_to(f, load(text)) > 0);
	check_like_fresh(f, line ? line : old);
	assert_true(move_to(f, start) > 0);
	check_like_fresh(f, old);
	free(text);
}

static void test_replacements(void **state)
{
	(void)state;
	struct fix f;
	fix_open(&f, load(base));
	static const char *const sets[][3] = {
		/* in place: lookup set, the settings */
		{"lookup set --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.99 --mac 060600000007 "
		 "--vm-name Moved"},
		{"global set --flowid on --use-external-router off"},
		/* del, then add */
		{"port del blue1", "port add blue1 --vsid 5001 --ca 10.0.0.6 --mac 060600000006"},
		{"pool del bluepool",
		 "pool add bluepool --vsid 5001 --range 10.0.0.100-10.0.0.120"},
		{"s2s del site1",
		 "s2s add site1 --rdomain blue --peer 203.0.113.9 --local-id gw.example "
		 "--remote-id site1.example --psk " PSK " --remote-prefix 192.168.50.0/24 --dpd 9"},
		/* an explicit record of a port's CA, and without it again */
		{"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.77 --mac 060600000005"},
		/* the address the ports' records take */
		{"pa del 192.168.4.11", "pa add 192.168.7.11/24 --dev eth0"},
		{"pa del 192.168.4.11"},
	};
	for (size_t i = 0; i < ARRAY_LEN(sets); i++) {
		size_t n = sets[i][1] ? 2 : 1;
		there_and_back(&f, sets[i], n, sets[i][0]);
	}
	/* entries others depend on: these go and come back around them */
	static const char *const whole[][2] = {
		{"vsubnet add 5002", "vsubnet add 5002 --rdomain blue --prefix 10.0.1.0/25"},
		{"rdomain add blue",
		 "rdomain add blue --rdid {11111111-2222-3333-4444-00000000AAAA}"},
		{"gateway add --rdomain blue",
		 "gateway add --rdomain blue --vrf vrf-blue --table 1009"},
		{"pa add 192.168.4.11", "pa add 192.168.4.11/16 --dev eth9"},
		{"pa add 192.168.4.11", "pa add 192.168.4.12/24 --dev eth0"},
		{"global set", NULL},
	};
	for (size_t i = 0; i < ARRAY_LEN(whole); i++)
		replaced_and_back(&f, whole[i][0], whole[i][1]);
	/* everything, and back from nothing */
	struct hnv_model *start = transact(f.m, NULL, 0);
	move_to(&f, load(""));
	check_like_fresh(&f, "empty");
	move_to(&f, start);
	check_like_fresh(&f, "from empty");
	fix_close(&f);
}

/* A transaction whose last change fails is undone completely. */
static void test_undo(void **state)
{
	(void)state;
	struct fix f;
	fix_open(&f, load(base));
	char *before = dump(f.dp, f.m, NULL);
	const char *lines[] = {
		"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.77 --mac 060600000005",
		"lookup set --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.99 --mac 060600000007",
		"lookup del --vsid 5002 --ca 10.0.1.9 --mac 060600000109",
		"port del red1",
		"port add red2 --vsid 6001 --ca 10.0.0.9 --mac 080800000009",
		"route del --rdomain blue --prefix 172.16.0.0/16 --nexthop 10.0.1.9",
		"route add --rdomain red --vsid 6001 --prefix 192.168.0.0/16 --nexthop 10.0.0.7",
		"vsubnet add 6002 --rdomain red --prefix 10.0.9.0/24",
		"pool del bluepool",
		"gateway ca --rdomain blue --vsid 5002 --ca 10.0.1.2",
		"s2s del site1",
		"pa add 192.168.5.11/24 --dev eth1",
		"global set --gateway-mac 02:00:00:00:00:99 --uplink-mtu 1400 --flowid on",
		"rdomain add green --rdid {11111111-2222-3333-4444-000000007001}",
	};
	struct hnv_model *next = transact(f.m, lines, ARRAY_LEN(lines));
	struct hnv_apply_diff *d;
	assert_int_equal(hnv_apply_diff(f.m, next, &d), 0);
	struct run r = {.a = f.a};
	hnv_apply_begin(f.a);
	assert_int_equal(hnv_apply_diff_foreach(d, run_one, &r), 0);
	/* one more change the datapath refuses: the record exists */
	struct hnv_conf_cmd dup;
	char err[256];
	assert_int_equal(hnv_conf_parse_line("lookup add --vsid 6001 --ca 10.0.0.7 --pa "
					     "192.168.4.1 --mac 080800000007",
					     &dup, err, sizeof(err)),
			 1);
	assert_int_not_equal(hnv_apply_change(f.a, NULL, &dup, r.err, sizeof(r.err)), 0);
	assert_non_null(strstr(r.err, "10.0.0.7"));
	assert_int_equal(hnv_apply_undo(f.a), 0);
	char *after = dump(f.dp, f.m, NULL);
	assert_same_text(after, before, "the datapath after undo");
	free(after);
	/* nothing of next stays: probed for what next names too */
	struct fix fresh;
	fix_open(&fresh, transact(f.m, NULL, 0));
	char *got = dump(f.dp, f.m, next), *want = dump(fresh.dp, f.m, next);
	assert_same_text(got, want, "what the undone transaction named");
	free(got);
	free(want);
	fix_close(&fresh);
	hnv_apply_diff_free(d);
	hnv_model_free(next);
	/* an explicit record of a port's CA took the port's own record: undo
	 * makes the port's record again */
	struct hnv_conf_cmd expl;
	assert_int_equal(hnv_conf_parse_line("lookup add --vsid 5001 --ca 10.0.0.5 --pa "
					     "192.168.4.77 --mac 060600000005 --vm-name X",
					     &expl, err, sizeof(err)),
			 1);
	hnv_apply_begin(f.a);
	assert_int_equal(hnv_apply_change(f.a, NULL, &expl, r.err, sizeof(r.err)), 0);
	char *mid = dump(f.dp, f.m, NULL);
	assert_non_null(strstr(mid, "192.168.4.77"));
	free(mid);
	assert_int_not_equal(hnv_apply_change(f.a, NULL, &dup, r.err, sizeof(r.err)), 0);
	assert_int_equal(hnv_apply_undo(f.a), 0);
	after = dump(f.dp, f.m, NULL);
	assert_same_text(after, before, "undone explicit record of a port's CA");
	free(after);
	/* undone after its publish (the store refused it): the ports' records
	 * follow the provider address back */
	const char *moved[] = {"pa del 192.168.4.11", "pa add 192.168.7.11/24 --dev eth0",
			       "lookup del --vsid 5001 --ca 10.0.0.7 --mac 060600000007"};
	next = transact(f.m, moved, ARRAY_LEN(moved));
	assert_int_equal(hnv_apply_diff(f.m, next, &d), 0);
	hnv_apply_begin(f.a);
	assert_int_equal(hnv_apply_diff_foreach(d, run_one, &r), 0);
	assert_int_equal(hnv_apply_publish(f.a, r.err, sizeof(r.err)), 0);
	mid = dump(f.dp, f.m, NULL);
	assert_non_null(strstr(mid, "192.168.7.11 06:06:00:00:00:05"));
	free(mid);
	assert_int_equal(hnv_apply_undo(f.a), 0);
	after = dump(f.dp, f.m, NULL);
	assert_same_text(after, before, "undone after publish");
	free(after);
	hnv_apply_diff_free(d);
	hnv_model_free(next);
	/* a replacement whose add fails leaves the old entry */
	struct hnv_conf_cmd old, bad;
	assert_int_equal(hnv_conf_parse_line("port add blue1 --vsid 5001 --ca 10.0.0.5 --mac "
					     "060600000005",
					     &old, err, sizeof(err)),
			 1);
	assert_int_equal(hnv_conf_parse_line("port add blue1 --vsid 5009 --ca 10.0.0.5 --mac "
					     "060600000005",
					     &bad, err, sizeof(err)),
			 1);
	hnv_apply_begin(f.a);
	assert_int_equal(hnv_apply_change(f.a, &old, &bad, r.err, sizeof(r.err)), -ENOENT);
	assert_non_null(strstr(r.err, "5009"));
	assert_int_equal(hnv_apply_undo(f.a), 0);
	char *again = dump(f.dp, f.m, NULL);
	assert_same_text(again, before, "after a failed replacement");
	free(again);
	free(before);
	fix_close(&f);
}

/* Counters are the running datapath's: changes and undo keep them. */
static void test_counters_kept(void **state)
{
	(void)state;
	struct fix f;
	fix_open(&f, load(base));
	struct hnv_dp_worker *w = hnv_dp_worker_new(f.dp);
	struct hnv_pkt *p = calloc(1, sizeof(*p));
	assert_non_null(w);
	assert_non_null(p);
	int blue1 = hnv_policy_port_id(hnv_dp_policy(f.dp), "blue1");
	assert_true(blue1 > 0);
	uint8_t frame[PG_FRAME_MAX];
	size_t len = pg_arp_request(frame, "060600000005", "10.0.0.5", "10.0.0.7");
	uint64_t cnt[HNV_R__COUNT];
	for (int k = 0; k < 3; k++) {
		assert_int_equal(hnv_pkt_load(p, frame, len, (uint16_t)blue1), 0);
		hnv_dp_process(w, &p, 1);
		assert_int_equal(p->reason, HNV_R_arp_reply);
	}
	hnv_dp_counters(f.dp, cnt);
	assert_int_equal(cnt[HNV_R_arp_reply], 3);

	const char *lines[] = {"lookup del --vsid 5001 --ca 10.0.0.7 --mac 060600000007",
			       "port add blue9 --vsid 5001 --ca 10.0.0.9 --mac 060600000009"};
	struct hnv_model *start = transact(f.m, NULL, 0);
	move_to(&f, transact(f.m, lines, ARRAY_LEN(lines)));
	assert_int_equal(hnv_pkt_load(p, frame, len, (uint16_t)blue1), 0);
	hnv_dp_process(w, &p, 1);
	assert_int_equal(p->reason, HNV_R_drop_arp_unknown);
	move_to(&f, start);
	assert_int_equal(hnv_pkt_load(p, frame, len, (uint16_t)blue1), 0);
	hnv_dp_process(w, &p, 1);
	assert_int_equal(p->reason, HNV_R_arp_reply);
	hnv_dp_counters(f.dp, cnt);
	assert_int_equal(cnt[HNV_R_arp_reply], 4);
	assert_int_equal(cnt[HNV_R_drop_arp_unknown], 1);
	hnv_dp_worker_free(w);
	free(p);
	hnv_dp_counters(f.dp, cnt);
	assert_int_equal(cnt[HNV_R_arp_reply], 4);
	fix_close(&f);
}

/* The model's own change lists (hnv_model_txn_*), as the daemon applies
 * them: each transaction leaves the datapath like a fresh load. */
static void txn_apply(struct fix *f, const char *const *lines, size_t n)
{
	struct hnv_model_txn *t;
	const struct hnv_model_change *ch;
	size_t nch;
	char err[512] = "";
	assert_int_equal(hnv_model_txn_begin(f->m, &t), 0);
	if (hnv_model_txn_lines(t, lines, n, err, sizeof(err)))
		fail_msg("txn: %s: %s", lines[0], err);
	assert_int_equal(hnv_model_txn_changes(t, &ch, &nch), 0);
	hnv_apply_begin(f->a);
	for (size_t i = 0; i < nch; i++)
		if (hnv_apply_change(f->a, ch[i].old, ch[i].new, err, sizeof(err)))
			fail_msg("apply (%s): %s", lines[0], err);
	if (hnv_apply_publish(f->a, err, sizeof(err)))
		fail_msg("publish: %s", err);
	hnv_model_txn_commit(t);
	check_like_fresh(f, lines[0]);
}

static void test_model_txn(void **state)
{
	(void)state;
	struct fix f;
	fix_open(&f, load(base));
	static const char *const txns[][6] = {
		{"lookup add --vsid 5001 --ca 10.0.0.8 --pa 192.168.4.33 --mac 060600000008"},
		{"lookup set --vsid 5001 --ca 10.0.0.8 --pa 192.168.4.34 --mac 060600000008"},
		{"lookup del --vsid 5001 --ca 10.0.0.8 --mac 060600000008"},
		{"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.77 --mac 060600000005"},
		{"lookup del --vsid 5001 --ca 10.0.0.5 --mac 060600000005"},
		{"port add blue7 --vsid 5001"},
		{"port del blue7", "port add blue7 --vsid 5002 --ca 10.0.1.7 --mac 060600000107"},
		{"pa add 192.168.3.11/24 --dev eth0", "pa del 192.168.4.11"},
		{"lookup del --vsid 5002 --ca 10.0.1.9 --mac 060600000109",
		 "route del --rdomain blue --prefix 10.0.1.0/24 --nexthop 0.0.0.0",
		 "route del --rdomain blue --prefix 172.16.0.0/16 --nexthop 10.0.1.9",
		 "port del blue7", "vsubnet del 5002",
		 "vsubnet add 5002 --rdomain blue --prefix 10.0.2.0/24"},
		{"s2s del site1", "gateway ca-del --rdomain blue --vsid 5001 --ca 10.0.0.2",
		 "gateway del --rdomain blue"},
		{"gateway add --rdomain blue --vrf vrf-b2 --table 1003",
		 "gateway ca --rdomain blue --vsid 5002 --ca 10.0.2.2"},
		{"global set --gateway-mac 02:00:00:00:00:42 --flowid on"},
		{"pool del bluepool", "pool add p2 --vsid 5001 --range 10.0.0.60-10.0.0.70"},
		{"proute add --prefix 10.8.0.0/16 --nexthop 192.168.3.1 --dev eth0",
		 "rdomain add green --rdid {11111111-2222-3333-4444-000000007001}"},
	};
	for (size_t i = 0; i < ARRAY_LEN(txns); i++) {
		size_t n = 0;
		while (n < 6 && txns[i][n])
			n++;
		txn_apply(&f, txns[i], n);
	}
	fix_close(&f);
}

/* The diff's order: what depends on a replaced entry goes before it and
 * comes back after it. */
static int list_one(void *arg, const struct hnv_conf_cmd *old, const struct hnv_conf_cmd *new)
{
	struct hnv_buf *b = arg;
	char line[4096];
	if (old && hnv_conf_format(old, false, line, sizeof(line)) == 0)
		hnv_buf_printf(b, "- %s\n", line);
	if (new &&hnv_conf_format(new, false, line, sizeof(line)) == 0)
		hnv_buf_printf(b, "+ %s\n", line);
	return 0;
}

static void test_diff_order(void **state)
{
	(void)state;
	const char *a =
		"rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}\n"
		"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24\n"
		"port add blue1 --vsid 5001 --ca 10.0.0.5 --mac 060600000005\n"
		"lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 060600000007\n"
		"lookup add --vsid 5001 --ca 10.0.0.8 --pa 192.168.4.22 --mac 060600000008\n";
	const char *b =
		"rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}\n"
		"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/16\n"
		"port add blue1 --vsid 5001 --ca 10.0.0.5 --mac 060600000005\n"
		"lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 060600000007\n"
		"lookup add --vsid 5001 --ca 10.0.0.9 --pa 192.168.4.22 --mac 060600000009\n";
	struct hnv_model *ma = load(a), *mb = load(b);
	struct hnv_apply_diff *d;
	assert_int_equal(hnv_apply_diff(ma, mb, &d), 0);
	struct hnv_buf out = {0};
	hnv_apply_diff_foreach(d, list_one, &out);
	char *got = hnv_buf_take(&out);
	assert_same_text(
		got,
		"- lookup add --vsid 5001 --ca 10.0.0.8 --pa 192.168.4.22 --mac 06:06:00:00:00:08 "
		"--rule encap --type static\n"
		"- lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 06:06:00:00:00:07 "
		"--rule encap --type static\n"
		"- port add blue1 --vsid 5001 --ca 10.0.0.5 --mac 06:06:00:00:00:05\n"
		"- vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24\n"
		"+ vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/16\n"
		"+ port add blue1 --vsid 5001 --ca 10.0.0.5 --mac 06:06:00:00:00:05\n"
		"+ lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 06:06:00:00:00:07 "
		"--rule encap --type static\n"
		"+ lookup add --vsid 5001 --ca 10.0.0.9 --pa 192.168.4.22 --mac 06:06:00:00:00:09 "
		"--rule encap --type static\n",
		"diff of a replaced VSID");
	free(got);
	hnv_apply_diff_free(d);
	/* the same model: no change */
	assert_int_equal(hnv_apply_diff(ma, ma, &d), 0);
	assert_int_equal(hnv_apply_diff_count(d), 0);
	hnv_apply_diff_free(d);
	hnv_model_free(ma);
	hnv_model_free(mb);
}

int main(void)
{
	urcu_qsbr_register_thread();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_del_each_kind),
		cmocka_unit_test(test_replacements),
		cmocka_unit_test(test_undo),
		cmocka_unit_test(test_counters_kept),
		cmocka_unit_test(test_diff_order),
		cmocka_unit_test(test_model_txn),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	urcu_qsbr_unregister_thread();
	return rc;
}
