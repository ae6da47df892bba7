/* test_sync.c: the etcd sync module's pure parts: the key layout and the
 * command each key holds (mgmt/daemon/sync_keys.c), and the per-key
 * differences between what a host applied and what the mirror holds,
 * as commands in apply order (mgmt/daemon/sync_delta.c).
 *
 * The main thread registers with liburcu-qsbr: the applied state is read
 * from models, which model.h requires it for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <urcu/urcu-qsbr.h>

#include "../../mgmt/daemon/sync_int.h"
#include "../../mgmt/model.h"

static void test_key_parse(void **state)
{
	(void)state;
	struct sync_key k;
	assert_int_equal(sync_key_parse("rd/red/rdomain", &k), SYNC_K_RDOMAIN);
	assert_string_equal(k.rd, "red");
	assert_string_equal(k.rest, "");
	assert_int_equal(sync_key_parse("rd/red/vsubnet/5001", &k), SYNC_K_VSUBNET);
	assert_string_equal(k.rest, "5001");
	assert_int_equal(sync_key_parse("rd/red/port/h1/vm1", &k), SYNC_K_PORT);
	assert_string_equal(k.host, "h1");
	assert_string_equal(k.rest, "vm1");
	assert_int_equal(sync_key_parse("rd/blue/gw/h3", &k), SYNC_K_GW);
	assert_string_equal(k.host, "h3");
	assert_string_equal(k.rest, "");
	assert_int_equal(sync_key_parse("rd/blue/gwca/h3/6001/10.1.0.1", &k), SYNC_K_GWCA);
	assert_string_equal(k.rest, "6001/10.1.0.1");
	assert_int_equal(sync_key_parse("rd/red/alloc/5001/10.1.1.100", &k), SYNC_K_ALLOC);
	assert_int_equal(sync_key_parse("rd/red/lookup/5001/mac-02:00:00:00:00:01", &k),
			 SYNC_K_LOOKUP);
	static const char *const other[] = {
		"hosts/h1/pa", "guard/vsid/5001",  "rd/red",     "rd//rdomain",
		"rd/red/nope", "rd/red/port//vm1", "rd/red/gw/", "rdx/red/rdomain",
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		assert_int_equal(sync_key_parse(other[i], &k), SYNC_K_OTHER);
	assert_true(sync_name_ok("vm1"));
	assert_false(sync_name_ok(""));
	assert_false(sync_name_ok(".."));
	assert_false(sync_name_ok("a/b"));
}

/* Each shared line's key, as sync_key_of makes it, parses back to its
 * routing domain, type and host. */
static void test_key_of(void **state)
{
	(void)state;
	static const struct {
		const char *line, *rd, *key;
	} v[] = {
		{"rdomain add red --rdid {11111111-0000-0000-0000-000000000001}", "red",
		 "rd/red/rdomain"},
		{"vsubnet add 5001 --rdomain red --prefix 10.1.0.0/16", "red",
		 "rd/red/vsubnet/5001"},
		{"vsubnet del 5001", "red", "rd/red/vsubnet/5001"},
		{"pool add p1 --vsid 5001 --range 10.1.1.100-10.1.1.130", "red", "rd/red/pool/p1"},
		{"port add vm1 --vsid 5001 --ca 10.1.1.100 --mac 02:00:00:00:00:01", "red",
		 "rd/red/port/h1/vm1"},
		{"lookup add --vsid 5001 --ca 10.1.1.100 --pa 192.0.2.11 --mac 02:00:00:00:00:01",
		 "red", "rd/red/lookup/5001/10.1.1.100"},
		{"lookup del --vsid 5001 --ca 10.1.1.100 --mac 02:00:00:00:00:01", "red",
		 "rd/red/lookup/5001/10.1.1.100"},
		{"route add --rdomain red --vsid 5001 --prefix 10.30.0.0/16 --nexthop 10.1.1.100",
		 "red", "rd/red/route/10.30.0.0/16@10.1.1.100"},
		{"gateway add --rdomain red --vrf red --table 201", "red", "rd/red/gw/h1"},
		{"gateway ca --rdomain red --vsid 5001 --ca 10.1.0.5", "red",
		 "rd/red/gwca/h1/5001/10.1.0.5"},
		/* a pool's: "@NAME" in place of the host, whoever writes it */
		{"gateway add --rdomain red --pool edge --vrf red --table 201", "red",
		 "rd/red/gw/@edge"},
		{"gateway del --rdomain red --pool edge", "red", "rd/red/gw/@edge"},
		{"gateway ca --rdomain red --pool edge --vsid 5001 --ca 10.1.0.5", "red",
		 "rd/red/gwca/@edge/5001/10.1.0.5"},
		{"gateway ca-del --rdomain red --pool edge --vsid 5001 --ca 10.1.0.5", "red",
		 "rd/red/gwca/@edge/5001/10.1.0.5"},
		{"s2s add site1 --rdomain red --peer 192.0.2.1 --local-addr 192.0.2.9 --local-id a "
		 "--remote-id b --remote-prefix 10.9.0.0/16 --psk Hd5xJ8cQ2wE7rT4uY9iO3pA6 --pool "
		 "edge",
		 "red", "rd/red/s2s/@edge/site1"},
		{"s2s del site1 --rdomain red --pool edge", "red", "rd/red/s2s/@edge/site1"},
		{"gateway add --rdomain red --pool "
		 "p23456789012345678901234567890123456789012345678901234567890123 --vrf red "
		 "--table "
		 "201",
		 "red",
		 "rd/red/gw/@p23456789012345678901234567890123456789012345678901234567890123"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct hnv_conf_cmd c;
		char err[256], k[SYNC_KEY_MAX];
		assert_int_equal(hnv_conf_parse_line(v[i].line, &c, err, sizeof(err)), 1);
		assert_int_equal(sync_key_of(&c, v[i].rd, "h1", k, sizeof(k)), 0);
		assert_string_equal(k, v[i].key);
		struct sync_key pk;
		assert_int_equal(sync_key_parse(k, &pk), sync_kt_of_kind(c.kind));
		assert_string_equal(pk.rd, v[i].rd);
	}
	struct hnv_conf_cmd pa;
	char err[256], k[8];
	assert_int_equal(
		hnv_conf_parse_line("pa add 192.0.2.1/24 --dev eth0", &pa, err, sizeof(err)), 1);
	assert_int_equal(sync_kt_of_kind(pa.kind), SYNC_K_OTHER);
	assert_int_equal(sync_key_of(&pa, "red", "h1", k, sizeof(k)), -EINVAL);
	struct hnv_conf_cmd rd;
	assert_int_equal(hnv_conf_parse_line("rdomain del red", &rd, err, sizeof(err)), 1);
	assert_int_equal(sync_key_of(&rd, "red", "h1", k, sizeof(k)), -ENAMETOOLONG);
	/* a host-bound gateway line has no key under a pool's name */
	struct hnv_conf_cmd gw;
	char gk[SYNC_KEY_MAX];
	assert_int_equal(hnv_conf_parse_line("gateway add --rdomain red --vrf red --table 201", &gw,
					     err, sizeof(err)),
			 1);
	assert_int_equal(sync_key_of(&gw, "red", "@edge", gk, sizeof(gk)), -EINVAL);
	assert_int_equal(sync_pool_tenant_key("edge", "red", gk, sizeof(gk)), 0);
	assert_string_equal(gk, "pool/edge/tenant/red");
	/* "@" + 64 characters is no key */
	struct sync_key pk;
	assert_int_equal(
		sync_key_parse("rd/red/gw/"
			       "@p234567890123456789012345678901234567890123456789012345678901234",
			       &pk),
		SYNC_K_OTHER);
	assert_int_equal(sync_key_parse("rd/red/port/@edge/vm1", &pk), SYNC_K_PORT);
	/* a host's tunnel is local: no key, and no s2s key names a host */
	struct hnv_conf_cmd s2s;
	assert_int_equal(hnv_conf_parse_line("s2s add site1 --rdomain red --peer 192.0.2.1 "
					     "--local-id a --remote-id b --remote-prefix "
					     "10.9.0.0/16 --psk Hd5xJ8cQ2wE7rT4uY9iO3pA6",
					     &s2s, err, sizeof(err)),
			 1);
	assert_int_equal(sync_key_of(&s2s, "red", "h1", gk, sizeof(gk)), -EINVAL);
	assert_int_equal(sync_key_parse("rd/red/s2s/h1/site1", &pk), SYNC_K_OTHER);
	assert_int_equal(sync_key_parse("rd/red/s2s/@edge/site1", &pk), SYNC_K_S2S);
	assert_string_equal(pk.host, "@edge");
	assert_string_equal(pk.rest, "site1");
}

static void test_cmd(void **state)
{
	(void)state;
	struct sync_cmd *a, *b;
	char err[256];
	/* the same record written two ways is the same command */
	assert_int_equal(sync_cmd_parse(SYNC_K_LOOKUP,
					"lookup add --vsid 5001 --ca 10.1.1.100 --pa 192.0.2.11 "
					"--mac 02:00:00:00:00:01",
					&a, err, sizeof(err)),
			 1);
	assert_int_equal(sync_cmd_parse(SYNC_K_LOOKUP,
					"lookup add --mac 02-00-00-00-00-01 --vsid 5001 --pa "
					"192.0.2.11 --ca 10.1.1.100",
					&b, err, sizeof(err)),
			 1);
	assert_true(sync_cmd_eq(a, b));
	sync_cmd_unref(b);
	assert_int_equal(sync_cmd_parse(SYNC_K_LOOKUP,
					"lookup add --vsid 5001 --ca 10.1.1.100 --pa 192.0.2.12 "
					"--mac 02:00:00:00:00:01",
					&b, err, sizeof(err)),
			 1);
	assert_false(sync_cmd_eq(a, b));
	sync_cmd_unref(b);

	/* its del names the record */
	struct hnv_conf_cmd c, d;
	char line[SYNC_LINE_MAX];
	sync_cmd_get(a, &c);
	assert_int_equal(c.kind, HNV_CONF_LOOKUP_ADD);
	sync_cmd_del_of(&c, &d);
	assert_int_equal(hnv_conf_format(&d, false, line, sizeof(line)), 0);
	assert_string_equal(line, "lookup del --vsid 5001 --ca 10.1.1.100 --mac 02:00:00:00:00:01");
	assert_ptr_equal(sync_cmd_ref(a), a);
	sync_cmd_unref(a);
	sync_cmd_unref(a);

	/* a key holds its own kind only; a value of several lines is ignored */
	err[0] = '\0';
	assert_int_equal(sync_cmd_parse(SYNC_K_ROUTE, "pa add 192.0.2.1/24 --dev eth0", &a, err,
					sizeof(err)),
			 -EINVAL);
	assert_null(a);
	assert_non_null(strstr(err, "route"));
	assert_int_equal(sync_cmd_parse(SYNC_K_ROUTE, "route add --bogus", &a, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(sync_cmd_parse(SYNC_K_RDOMAIN,
					"rdomain add red --rdid "
					"{11111111-0000-0000-0000-000000000001}\nrdomain del red",
					&a, err, sizeof(err)),
			 0);
	assert_null(a);
	assert_int_equal(sync_cmd_parse(SYNC_K_RDOMAIN, "# a comment", &a, err, sizeof(err)), 0);

	/* values: config keys carry their command or why they are refused */
	struct sync_val v;
	assert_int_equal(sync_val_set(&v, "rd/red/rdomain",
				      strdup("rdomain add red --rdid "
					     "{11111111-0000-0000-0000-000000000001}"),
				      7),
			 0);
	assert_non_null(v.cmd);
	assert_null(v.bad);
	assert_int_equal(v.mod_rev, 7);
	sync_val_clear(&v);
	assert_int_equal(sync_val_set(&v, "rd/red/rdomain", strdup("rdomain add"), 7), 0);
	assert_null(v.cmd);
	assert_non_null(v.bad);
	sync_val_clear(&v);
	assert_int_equal(sync_val_set(&v, "hosts/h1/pa", strdup("192.0.2.11"), 8), 0);
	assert_null(v.cmd);
	assert_null(v.bad);
	assert_string_equal(v.value, "192.0.2.11");
	sync_val_clear(&v);
}

/* ---- differences ---- */

#define RED "rdomain add red --rdid {11111111-0000-0000-0000-000000000001}"
#define RED_V "vsubnet add 5001 --rdomain red --prefix 10.1.0.0/16"
#define VM1 "port add vm1 --vsid 5001 --ca 10.1.1.100 --mac 02:00:00:00:00:01"
#define REC1 "lookup add --vsid 5001 --ca 10.1.1.100 --pa 192.0.2.11 --mac 02:00:00:00:00:01"
#define REC2 "lookup add --vsid 5001 --ca 10.1.1.101 --pa 192.0.2.12 --mac 02:00:00:00:00:02"

struct fix {
	const char *host;            /* NULL: h1 */
	const struct hnv_hmap *keys; /* NULL: all */
	const char *pool;            /* the member's pool, or NULL */
	struct hnv_hmap held;        /* the routing domains it holds */
	bool any_pool;               /* a validation view */
	struct hnv_hmap mirror, applied, rds;
	struct sync_delta d;
	struct hnv_conf_cmd *cmds;
	size_t n;
	char err[512];
};

static void mset(struct fix *f, const char *key, const char *value)
{
	void *old = NULL;
	if (!value) {
		if (hnv_hmap_del(&f->mirror, key, &old))
			sync_val_free(old);
		return;
	}
	struct sync_val *v = malloc(sizeof(*v));
	assert_non_null(v);
	assert_int_equal(sync_val_set(v, key, strdup(value), 1), 0);
	assert_int_equal(hnv_hmap_put(&f->mirror, key, v, &old), 0);
	sync_val_free(old);
}

/* Computes the changes for host h1 (of the keys in f->keys when set)
 * into f->cmds; returns the rc. */
static int diff(struct fix *f)
{
	struct sync_delta_in in = {.mirror = &f->mirror,
				   .applied = &f->applied,
				   .rds = &f->rds,
				   .keys = f->keys,
				   .host = f->host ? f->host : "h1",
				   .prefix = "/hnvgw/",
				   .pool = f->pool,
				   .held = &f->held,
				   .any_pool = f->any_pool};
	sync_delta_free(&f->d);
	free(f->cmds);
	f->cmds = NULL;
	f->n = 0;
	f->err[0] = '\0';
	int rc = sync_delta_compute(&in, &f->d);
	if (rc == 0)
		assert_int_equal(sync_delta_cmds(&f->d, &f->cmds, &f->n), 0);
	return rc;
}

/* The commands as lines, one per line. */
static char *lines(const struct fix *f)
{
	static char buf[8192];
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < f->n; i++) {
		char line[SYNC_LINE_MAX];
		assert_int_equal(hnv_conf_format(&f->cmds[i], false, line, sizeof(line)), 0);
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s\n", line);
	}
	return buf;
}

static void commit(struct fix *f)
{
	assert_true(sync_delta_commit(&f->applied, &f->d));
	assert_int_equal(diff(f), 0);
	assert_int_equal(f->n, 0);
}

static void fix_free(struct fix *f)
{
	hnv_hmap_clear(&f->mirror, sync_val_free);
	sync_applied_clear(&f->applied);
	hnv_hmap_clear(&f->rds, NULL);
	hnv_hmap_clear(&f->held, NULL);
	sync_delta_free(&f->d);
	free(f->cmds);
}

static void fill_red(struct fix *f)
{
	mset(f, "rd/red/rdomain", RED);
	mset(f, "rd/red/vsubnet/5001", RED_V);
	mset(f, "rd/red/port/h1/vm1", VM1);
	mset(f, "rd/red/lookup/5001/10.1.1.100", REC1);
	mset(f, "rd/red/port/h2/vm2",
	     "port add vm2 --vsid 5001 --ca 10.1.1.101 --mac 02:00:00:00:00:02");
	mset(f, "rd/red/lookup/5001/10.1.1.101", REC2);
	mset(f, "rd/red/alloc/5001/10.1.1.100", "h1/vm1");
	mset(f, "rd/blue/rdomain",
	     "rdomain add blue --rdid {11111111-0000-0000-0000-000000000002}");
	mset(f, "hosts/h1/pa", "192.0.2.11");
	mset(f, "guard/vsid/5001", "red");
}

/* Red filled, its routing domain watched, diffed and committed: the base
 * of the change tests. */
static void red_committed(struct fix *f)
{
	fill_red(f);
	assert_int_equal(hnv_hmap_put(&f->rds, "red", NULL, NULL), 0);
	assert_int_equal(diff(f), 0);
	commit(f);
}

/* A new routing domain: its objects and this host's port, dependencies
 * first; nothing of other hosts' ports or domains not applied. */
static void test_delta_add(void **state)
{
	(void)state;
	struct fix f = {0};
	fill_red(&f);
	assert_int_equal(hnv_hmap_put(&f.rds, "red", NULL, NULL), 0);
	assert_int_equal(diff(&f), 0);
	assert_int_equal(f.d.n, 5);
	const char *got = lines(&f);
	assert_true(strncmp(got, RED "\n" RED_V "\n" VM1 "\n", strlen(RED RED_V VM1) + 3) == 0);
	assert_non_null(strstr(got, "--ca 10.1.1.100 --pa 192.0.2.11"));
	assert_non_null(strstr(got, "--ca 10.1.1.101 --pa 192.0.2.12"));
	assert_null(strstr(got, "vm2 "));
	assert_null(strstr(got, "blue"));
	commit(&f);
	assert_int_equal(f.applied.n, 5);
	fix_free(&f);
}

/* A record's PA changes: one lookup set; its MAC changes: del and add;
 * a port leaves; the domain is dropped: everything, dependents first. */
static void test_delta_change(void **state)
{
	(void)state;
	struct fix f = {0};
	red_committed(&f);

	mset(&f, "rd/red/lookup/5001/10.1.1.101",
	     "lookup add --vsid 5001 --ca 10.1.1.101 --pa 192.0.2.13 --mac 02:00:00:00:00:02");
	assert_int_equal(diff(&f), 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.cmds[0].kind, HNV_CONF_LOOKUP_SET);
	assert_non_null(
		strstr(lines(&f), "lookup set --vsid 5001 --ca 10.1.1.101 --pa 192.0.2.13"));
	commit(&f);

	mset(&f, "rd/red/lookup/5001/10.1.1.101",
	     "lookup add --vsid 5001 --ca 10.1.1.101 --pa 192.0.2.13 --mac 02:00:00:00:00:09");
	assert_int_equal(diff(&f), 0);
	assert_string_equal(lines(&f),
			    "lookup del --vsid 5001 --ca 10.1.1.101 --mac 02:00:00:00:00:02\n"
			    "lookup add --vsid 5001 --ca 10.1.1.101 --pa 192.0.2.13 --mac "
			    "02:00:00:00:00:09 --rule encap --type static\n");
	commit(&f);

	mset(&f, "rd/red/port/h1/vm1", NULL);
	assert_int_equal(diff(&f), 0);
	assert_string_equal(lines(&f), "port del vm1\n");
	commit(&f);

	hnv_hmap_clear(&f.rds, NULL);
	assert_int_equal(diff(&f), 0);
	assert_int_equal(f.n, 4);
	const char *got = lines(&f);
	const char *v = strstr(got, "vsubnet del 5001\n"), *r = strstr(got, "rdomain del red\n");
	assert_true(v && r && v < r && r == got + strlen(got) - strlen("rdomain del red\n"));
	assert_true(strncmp(got, "lookup del", 10) == 0);
	commit(&f);
	assert_int_equal(f.applied.n, 0);
	fix_free(&f);
}

/* Comparing only the keys that changed gives what comparing all does. */
static void test_delta_keys(void **state)
{
	(void)state;
	struct fix f = {0};
	struct hnv_hmap keys = {0};
	red_committed(&f);
	static const char *const touched[] = {"rd/red/lookup/5001/10.1.1.101", "rd/red/port/h1/vm1",
					      "rd/red/port/h1/vm5", "rd/red/lookup/5001/10.1.1.105",
					      "rd/red/alloc/5001/x"};
	mset(&f, touched[0],
	     "lookup add --vsid 5001 --ca 10.1.1.101 --pa 192.0.2.13 --mac 02:00:00:00:00:02");
	mset(&f, touched[1], NULL);
	mset(&f, touched[2], "port add vm5 --vsid 5001 --ca 10.1.1.105 --mac 02:00:00:00:00:05");
	mset(&f, touched[3],
	     "lookup add --vsid 5001 --ca 10.1.1.105 --pa 192.0.2.11 --mac 02:00:00:00:00:05");
	for (size_t i = 0; i < sizeof(touched) / sizeof(touched[0]); i++)
		assert_int_equal(hnv_hmap_put(&keys, touched[i], NULL, NULL), 0);
	assert_int_equal(diff(&f), 0);
	char all[8192];
	snprintf(all, sizeof(all), "%s", lines(&f));
	assert_int_equal(f.n, 4);
	f.keys = &keys;
	assert_int_equal(diff(&f), 0);
	assert_string_equal(lines(&f), all);
	commit(&f);
	hnv_hmap_clear(&keys, NULL);
	fix_free(&f);
}

/* A changed vsubnet cannot be deleted under its port and records: the
 * routing domain's objects are deleted and added again around it. */
static void test_delta_rebuild(void **state)
{
	(void)state;
	struct fix f = {0};
	red_committed(&f);
	mset(&f, "rd/red/vsubnet/5001",
	     "vsubnet add 5001 --rdomain red --prefix 10.1.0.0/16 --prefix 10.2.0.0/16");
	assert_int_equal(diff(&f), 0);
	const char *got = lines(&f);
	const char *pd = strstr(got, "port del vm1"), *vd = strstr(got, "vsubnet del 5001"),
		   *va = strstr(got, "vsubnet add 5001"), *pa = strstr(got, "port add vm1");
	assert_true(pd && vd && va && pa && pd < vd && vd < va && va < pa);
	assert_null(strstr(got, "rdomain del"));
	assert_int_equal(f.n, 8); /* 2 records, port, vsubnet: out and in */
	commit(&f);
	fix_free(&f);
}

/* issue 17 finding 1: a value that is not its key's own line (another
 * kind, another routing domain, another object, a VSID of another routing
 * domain, not one line) is refused: listed with why, as if absent (never
 * applied), while the other changes go on. */
static void test_delta_bad(void **state)
{
	(void)state;
	static const struct {
		const char *key, *value, *why;
	} bad[] = {
		{"rd/red/route/10.30.0.0/16@10.1.1.100", "pa add 192.0.2.1/24 --dev eth0",
		 "not a \"route\" line"},
		{"rd/red/route/10.30.0.0/16@10.1.1.100",
		 "s2s add t1 --rdomain red --peer 198.51.100.1 --local-id a --remote-id b --psk "
		 "sekrit-0123456789abcdef --remote-prefix 10.50.0.0/16",
		 "not a \"route\" line"},
		{"rd/red/route/10.30.0.0/16@10.1.1.100", "global set --uplink-mtu 1400",
		 "not a \"route\" line"},
		{"rd/red/route/10.30.0.0/16@10.1.1.100",
		 "proute add --prefix 0.0.0.0/0 --nexthop "
		 "192.0.2.1 --dev eth0",
		 "not a \"route\" line"},
		{"rd/red/route/10.30.0.0/16@10.1.1.100",
		 "route add --rdomain blue --vsid 6001 --prefix 10.30.0.0/16 --nexthop 10.1.1.100",
		 "a line of routing domain \"blue\" under routing domain \"red\""},
		{"rd/red/route/10.30.0.0/16@10.1.1.100",
		 "route add --rdomain red --vsid 5001 --prefix 10.31.0.0/16 --nexthop 10.1.1.100",
		 "whose key is rd/red/route/10.31.0.0/16@10.1.1.100"},
		{"rd/red/gw/h1", "gateway add --rdomain blue --vrf blue --table 100",
		 "a line of routing domain \"blue\""},
		{"rd/red/gw/h1", "pa add 192.0.2.1/24 --dev eth0", "not a \"gw\" line"},
		/* a pool's line only under its @NAME key, a host's never there */
		{"rd/red/gw/h1", "gateway add --rdomain red --pool edge --vrf red --table 201",
		 "whose key is rd/red/gw/@edge"},
		{"rd/red/gw/@edge", "gateway add --rdomain red --vrf red --table 201",
		 "a line without --pool under the key of pool \"edge\""},
		{"rd/red/gw/@edge2", "gateway add --rdomain red --pool edge --vrf red --table 201",
		 "whose key is rd/red/gw/@edge"},
		{"rd/red/gwca/@edge/5001/10.1.0.5",
		 "gateway ca --rdomain red --vsid 5001 --ca 10.1.0.5",
		 "a line without --pool under the key of pool \"edge\""},
		{"rd/red/gwca/h1/5001/10.1.0.5",
		 "gateway ca --rdomain red --pool edge --vsid 5001 --ca 10.1.0.5",
		 "whose key is rd/red/gwca/@edge/5001/10.1.0.5"},
		{"rd/red/port/h1/vm9",
		 "port add vm8 --vsid 5001 --ca 10.1.1.109 --mac 02:00:00:00:00:09",
		 "whose key is rd/red/port/h1/vm8"},
		{"rd/red/lookup/5001/10.1.1.102",
		 "lookup add --vsid 6001 --ca 10.1.1.102 --pa 192.0.2.12 --mac 02:00:00:00:00:03",
		 "whose key is rd/red/lookup/6001/10.1.1.102"},
		{"rd/red/lookup/6001/10.1.1.102",
		 "lookup add --vsid 6001 --ca 10.1.1.102 --pa 192.0.2.12 --mac 02:00:00:00:00:03",
		 "VSID 6001 is no vsubnet of routing domain \"red\""},
		{"rd/red/pool/bluepool",
		 "pool add bluepool --vsid 6001 --range 10.2.1.100-10.2.1.130",
		 "VSID 6001 is no vsubnet of routing domain \"red\""},
		{"rd/red/vsubnet/5002", "vsubnet add 5003 --rdomain red --prefix 10.5.0.0/16",
		 "whose key is rd/red/vsubnet/5003"},
		{"rd/red/route/10.30.0.0/16@10.1.1.100",
		 "route add --rdomain red --vsid 5001 --prefix 10.30.0.0/16 --nexthop 10.1.1.100\n"
		 "pa add 192.0.2.1/24 --dev eth0",
		 "not one config line"},
		{"rd/red/route/10.30.0.0/16@10.1.1.100", "# route add", "not one config line"},
		/* accepted by an older hnvgw, refused by the datapath now */
		{"rd/red/lookup/5001/10.1.1.102",
		 "lookup add --vsid 5001 --ca 10.1.1.102 --pa 192.0.2.12 --mac 02:00:00:00:00:03 "
		 "--rule nat",
		 "rule nat (TranslationMethodNat, IP rewrite) is not supported"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fix f = {.any_pool = true};
		fill_red(&f);
		mset(&f, "rd/blue/vsubnet/6001",
		     "vsubnet add 6001 --rdomain blue --prefix 10.2.0.0/16");
		assert_int_equal(hnv_hmap_put(&f.rds, "red", NULL, NULL), 0);
		assert_int_equal(hnv_hmap_put(&f.rds, "blue", NULL, NULL), 0);
		assert_int_equal(diff(&f), 0);
		assert_int_equal(f.d.n_refused, 0);
		commit(&f);
		/* the bad value, and a good change beside it */
		mset(&f, bad[i].key, bad[i].value);
		mset(&f, "rd/red/lookup/5001/10.1.1.101",
		     "lookup add --vsid 5001 --ca 10.1.1.101 --pa 192.0.2.13 --mac "
		     "02:00:00:00:00:02");
		assert_int_equal(diff(&f), 0);
		if (f.d.n_refused != 1 || strcmp(f.d.refused[0].key, bad[i].key) ||
		    !strstr(f.d.refused[0].why, bad[i].why))
			fail_msg("%s = \"%s\": refused %zu: %s", bad[i].key, bad[i].value,
				 f.d.n_refused, f.d.n_refused ? f.d.refused[0].why : "");
		assert_null(strstr(f.d.refused[0].why, "sekrit"));
		assert_int_equal(f.n, 1);
		assert_non_null(strstr(lines(&f), "lookup set --vsid 5001 --ca 10.1.1.101 --pa "
						  "192.0.2.13 --mac 02:00:00:00:00:02"));
		commit(&f);
		fix_free(&f);
	}
}

/* An object that an older hnvgwd applied from a value now refused is not
 * kept: the next compare deletes it. */
#define POOL_GW "gateway add --rdomain red --pool edge --vrf red --table 201"
#define POOL_CA "gateway ca --rdomain red --pool edge --vsid 5001 --ca 10.1.0.5"

/* A pool's gateway lines apply on the member of that pool holding the
 * routing domain, and leave when it stops holding it; nowhere else. */
static void test_delta_pool(void **state)
{
	(void)state;
	struct fix f = {0};
	fill_red(&f);
	mset(&f, "rd/red/gw/@edge", POOL_GW);
	mset(&f, "rd/red/gwca/@edge/5001/10.1.0.5", POOL_CA);
	assert_int_equal(hnv_hmap_put(&f.rds, "red", NULL, NULL), 0);
	assert_int_equal(diff(&f), 0);
	assert_null(strstr(lines(&f), "gateway"));
	commit(&f);
	/* a member of another pool holding red */
	f.pool = "other";
	assert_int_equal(hnv_hmap_put(&f.held, "red", NULL, NULL), 0);
	assert_int_equal(diff(&f), 0);
	assert_int_equal(f.n, 0);
	/* the member of edge holding red */
	f.pool = "edge";
	assert_int_equal(diff(&f), 0);
	assert_string_equal(lines(&f), POOL_GW "\n" POOL_CA "\n");
	commit(&f);
	/* it no longer holds red: the gateway goes (taking its CA) */
	hnv_hmap_del(&f.held, "red", NULL);
	assert_int_equal(diff(&f), 0);
	assert_string_equal(lines(&f), "gateway ca-del --rdomain red --pool edge --vsid 5001 --ca "
				       "10.1.0.5\n"
				       "gateway del --rdomain red --pool edge\n");
	sync_delta_commit(&f.applied, &f.d);
	fix_free(&f);
	/* a validation view takes every pool's */
	struct fix v = {.any_pool = true};
	fill_red(&v);
	mset(&v, "rd/red/gw/@edge", POOL_GW);
	assert_int_equal(hnv_hmap_put(&v.rds, "red", NULL, NULL), 0);
	assert_int_equal(diff(&v), 0);
	assert_non_null(strstr(lines(&v), POOL_GW "\n"));
	fix_free(&v);
}

/* A pool tenant's tunnel comes and goes with the tenant on the member
 * that holds it, after its gateway and before it. */
#define POOL_S2S                                                                                   \
	"s2s add site1 --rdomain red --peer 192.0.2.1 --local-addr 192.0.2.9 --local-id a "        \
	"--remote-id b --psk Hd5xJ8cQ2wE7rT4uY9iO3pA6 --ike-proposal "                             \
	"aes256gcm16-prfsha384-ecp384 --esp-proposal aes256gcm16-ecp384 --remote-prefix "          \
	"10.9.0.0/16 --dpd 30 --pool edge"
static void test_delta_pool_s2s(void **state)
{
	(void)state;
	struct fix f = {.pool = "edge"};
	fill_red(&f);
	mset(&f, "rd/red/gw/@edge", POOL_GW);
	mset(&f, "rd/red/s2s/@edge/site1", POOL_S2S);
	assert_int_equal(hnv_hmap_put(&f.rds, "red", NULL, NULL), 0);
	assert_int_equal(diff(&f), 0);
	assert_null(strstr(lines(&f), "s2s"));
	commit(&f);
	assert_int_equal(hnv_hmap_put(&f.held, "red", NULL, NULL), 0);
	assert_int_equal(diff(&f), 0);
	/* lines() masks the PSK; the command carries it */
	assert_string_equal(lines(&f),
			    POOL_GW "\n"
				    "s2s add site1 --rdomain red --peer 192.0.2.1 --local-addr "
				    "192.0.2.9 --local-id a --remote-id b --psk <secret> "
				    "--ike-proposal aes256gcm16-prfsha384-ecp384 --esp-proposal "
				    "aes256gcm16-ecp384 --remote-prefix 10.9.0.0/16 --dpd 30 "
				    "--pool edge\n");
	assert_string_equal(f.cmds[1].u.s2s.psk, "Hd5xJ8cQ2wE7rT4uY9iO3pA6");
	commit(&f);
	hnv_hmap_del(&f.held, "red", NULL);
	assert_int_equal(diff(&f), 0);
	assert_string_equal(lines(&f), "s2s del site1 --rdomain red --pool edge\n"
				       "gateway del --rdomain red --pool edge\n");
	assert_string_equal(f.cmds[0].u.s2s.psk, ""); /* a del carries no secret */
	sync_delta_commit(&f.applied, &f.d);
	fix_free(&f);
}

static void test_delta_bad_applied(void **state)
{
	(void)state;
	struct fix f = {0};
	fill_red(&f);
	mset(&f, "rd/blue/vsubnet/6001", "vsubnet add 6001 --rdomain blue --prefix 10.2.0.0/16");
	assert_int_equal(hnv_hmap_put(&f.rds, "red", NULL, NULL), 0);
	assert_int_equal(hnv_hmap_put(&f.rds, "blue", NULL, NULL), 0);
	assert_int_equal(diff(&f), 0);
	commit(&f);
	/* a red route on blue's VSID, as applied before this check */
	static const char route[] =
		"route add --rdomain red --vsid 6001 --prefix 10.30.0.0/16 --nexthop 10.2.1.100";
	struct hnv_conf_cmd c;
	char err[256];
	assert_int_equal(hnv_conf_parse_line(route, &c, err, sizeof(err)), 1);
	struct sync_cmd *sc = sync_cmd_new(&c);
	assert_non_null(sc);
	assert_int_equal(hnv_hmap_put(&f.applied, "rd/red/route/10.30.0.0/16@10.2.1.100", sc, NULL),
			 0);
	mset(&f, "rd/red/route/10.30.0.0/16@10.2.1.100", route);
	assert_int_equal(diff(&f), 0);
	assert_int_equal(f.d.n_refused, 1);
	assert_string_equal(lines(&f),
			    "route del --rdomain red --prefix 10.30.0.0/16 --nexthop 10.2.1.100\n");
	commit(&f);
	/* and a full compare refuses it again without applying anything */
	assert_int_equal(diff(&f), 0);
	assert_int_equal(f.d.n_refused, 1);
	assert_int_equal(f.n, 0);
	fix_free(&f);
}

/* The applied state read from a model matches the mirror it came from
 * (written differently): no change; local objects are not shared ones. */
static void test_applied_read(void **state)
{
	(void)state;
	static const char text[] =
		"pa add 192.0.2.11/24 --dev eth0\n" RED "\n" RED_V "\n"
		"port add vm1 --vsid 5001 --ca 10.1.1.100 --mac 02-00-00-00-00-01\n" REC1 "\n" REC2
		"\n"
		"route add --rdomain red --vsid 5001 --prefix 10.30.0.0/16 --nexthop 10.1.1.100\n";
	struct hnv_model *m;
	char err[512];
	assert_int_equal(hnv_model_load(text, strlen(text), &m, err, sizeof(err)), 0);
	struct fix f = {0};
	assert_int_equal(sync_applied_read(&f.applied, m, "h1"), 0);
	assert_int_equal(f.applied.n, 6);
	assert_non_null(hnv_hmap_find(&f.applied, "rd/red/port/h1/vm1"));
	assert_non_null(hnv_hmap_find(&f.applied, "rd/red/route/10.30.0.0/16@10.1.1.100"));
	fill_red(&f);
	mset(&f, "rd/red/route/10.30.0.0/16@10.1.1.100",
	     "route add --rdomain red --vsid 5001 --prefix 10.30.0.0/16 --nexthop 10.1.1.100");
	assert_int_equal(hnv_hmap_put(&f.rds, "red", NULL, NULL), 0);
	assert_int_equal(diff(&f), 0);
	assert_int_equal(f.n, 0);
	/* read as another host, the port is not its own: it goes */
	f.host = "h9";
	assert_int_equal(sync_applied_read(&f.applied, m, "h9"), 0);
	assert_int_equal(diff(&f), 0);
	assert_string_equal(lines(&f), "port del vm1\n");
	fix_free(&f);
	hnv_model_free(m);
}

int main(void)
{
	urcu_qsbr_register_thread();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_parse),
		cmocka_unit_test(test_key_of),
		cmocka_unit_test(test_cmd),
		cmocka_unit_test(test_delta_add),
		cmocka_unit_test(test_delta_change),
		cmocka_unit_test(test_delta_keys),
		cmocka_unit_test(test_delta_rebuild),
		cmocka_unit_test(test_delta_bad),
		cmocka_unit_test(test_delta_pool),
		cmocka_unit_test(test_delta_pool_s2s),
		cmocka_unit_test(test_delta_bad_applied),
		cmocka_unit_test(test_applied_read),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	urcu_qsbr_unregister_thread();
	return rc;
}
