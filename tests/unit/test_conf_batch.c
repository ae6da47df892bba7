/* test_conf_batch.c: a conf batch kept open over a datapath context
 * (mgmt/conf_apply.h), as hnvgwd keeps one for its whole life: changes
 * applied one at a time and made visible by hnv_conf_batch_publish, the
 * gateway ports kept in line with the gateway CAs; and "port move", which
 * the applier and hnvgwd's model (mgmt/model.c) refuse alike.
 *
 * The main thread is registered with liburcu-qsbr for the whole run (route
 * lookups are read-side functions).
 */
#define _LGPL_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-qsbr.h>

#include "../../datapath/policy_read.h"
#include "../../mgmt/conf_apply.h"
#include "../../mgmt/model.h"

struct fixture {
	struct hnv_dp *dp;
	struct hnv_policy *p;
	struct hnv_conf_batch *b;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	f->dp = hnv_dp_new();
	if (f->dp == NULL || hnv_conf_batch_begin(f->dp, &f->b) != 0) {
		hnv_dp_free(f->dp);
		free(f);
		return -1;
	}
	f->p = hnv_dp_policy(f->dp);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char err[512];
	int rc = hnv_conf_batch_end(f->b, err, sizeof(err));
	urcu_qsbr_thread_offline();
	hnv_dp_free(f->dp);
	urcu_qsbr_thread_online();
	free(f);
	return rc == 0 ? 0 : -1;
}

/* Parses line and applies it through the open batch; returns the result,
 * the message in err. */
static int apply(struct fixture *f, const char *line, char *err, size_t errlen)
{
	struct hnv_conf_cmd c;
	int rc = hnv_conf_parse_line(line, &c, err, errlen);
	if (rc != 1)
		fail_msg("parse \"%s\": rc %d, %s", line, rc, err);
	return hnv_conf_batch_apply(f->b, &c, err, errlen);
}

static void apply_ok(struct fixture *f, const char *line)
{
	char err[512] = "";
	int rc = apply(f, line, err, sizeof(err));
	if (rc != 0)
		fail_msg("\"%s\": rc %d, %s", line, rc, err);
}

static void publish_ok(struct fixture *f)
{
	char err[512] = "";
	int rc = hnv_conf_batch_publish(f->b, err, sizeof(err));
	if (rc != 0)
		fail_msg("publish: rc %d, %s", rc, err);
}

/* The route a lookup of dst in the routing domain of vsid finds: its
 * prefix length, or -1 for none. */
static int route_to(struct fixture *f, uint32_t vsid, const char *dst, struct hnv_route_hit *hit)
{
	const struct hnv_vsubnet *v = hnv_policy_vsubnet(f->p, vsid);
	assert_non_null(v);
	struct hnv_ip d;
	assert_int_equal(hnv_parse_ip(dst, &d), 0);
	return hnv_policy_route_lookup(f->p, v->rd_idx, &d, hit) ? hit->prefix.len : -1;
}

/* The CAs of gateway port vsid<vsid>: their number, -1 when there is no
 * such port. */
static int gateway_port_cas(struct fixture *f, uint32_t vsid)
{
	char name[HNV_DEV_MAX + 1];
	struct hnv_mac mac;
	hnv_gateway_port(vsid, name, &mac);
	int id = hnv_policy_port_id(f->p, name);
	if (id < 0)
		return -1;
	const struct hnv_port *pt = hnv_policy_port(f->p, (unsigned)id);
	assert_non_null(pt);
	assert_true(pt->gateway);
	assert_memory_equal(pt->mac.b, mac.b, 6);
	return pt->n_cas;
}

static void blue(struct fixture *f)
{
	apply_ok(f, "rdomain add blue --rdid 11111111-2222-3333-4444-000000005001");
	apply_ok(f, "vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24 --prefix "
		    "fd00:5001::/64");
}

/* A route applied through the open batch is found by a lookup once the
 * batch is published, and the batch stays open for the next change. */
static void test_publish_routes(void **state)
{
	struct fixture *f = *state;
	struct hnv_route_hit hit;
	blue(f);
	apply_ok(f, "route add --rdomain blue --vsid 5001 --prefix 10.20.0.0/16 --nexthop 10.0.0.9 "
		    "--metric 7");
	assert_int_equal(route_to(f, 5001, "10.20.1.1", &hit), -1);
	publish_ok(f);
	assert_int_equal(route_to(f, 5001, "10.20.1.1", &hit), 16);
	assert_int_equal(hit.vsid, 5001);
	assert_int_equal(hit.metric, 7);
	char nh[64];
	hnv_fmt_ip(&hit.nexthop, nh, sizeof(nh));
	assert_string_equal(nh, "10.0.0.9");

	/* the same batch takes the next change */
	apply_ok(f,
		 "route add --rdomain blue --vsid 5001 --prefix 10.20.5.0/24 --nexthop 10.0.0.9");
	apply_ok(f, "route del --rdomain blue --prefix 10.20.0.0/16 --nexthop 10.0.0.9");
	assert_int_equal(route_to(f, 5001, "10.20.5.1", &hit), 16);
	publish_ok(f);
	assert_int_equal(route_to(f, 5001, "10.20.5.1", &hit), 24);
	assert_int_equal(route_to(f, 5001, "10.20.1.1", &hit), -1);

	/* what the batch remembers stays: the routing domain is known */
	char err[512] = "";
	assert_int_equal(apply(f, "rdomain add blue --rdid 11111111-2222-3333-4444-000000005001",
			       err, sizeof(err)),
			 -EEXIST);
	apply_ok(f, "gateway add --rdomain blue --vrf blue --table 1001");

	assert_int_equal(hnv_conf_batch_publish(NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "no batch to publish");
}

/* Gateway ports follow the gateway CAs at each publish; one whose VSID
 * loses a CA goes at once, so the VSID can go in the same change. */
static void test_publish_gateway_ports(void **state)
{
	struct fixture *f = *state;
	blue(f);
	apply_ok(f, "gateway add --rdomain blue --vrf blue --table 1001");
	apply_ok(f, "gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.2");
	assert_int_equal(gateway_port_cas(f, 5001), -1);
	publish_ok(f);
	assert_int_equal(gateway_port_cas(f, 5001), 1);
	publish_ok(f); /* nothing changed: the port stays */
	assert_int_equal(gateway_port_cas(f, 5001), 1);

	apply_ok(f, "gateway ca --rdomain blue --vsid 5001 --ca fd00:5001::2");
	assert_int_equal(gateway_port_cas(f, 5001), 1);
	publish_ok(f);
	assert_int_equal(gateway_port_cas(f, 5001), 2);

	apply_ok(f, "gateway ca-del --rdomain blue --vsid 5001 --ca 10.0.0.2");
	assert_int_equal(gateway_port_cas(f, 5001), -1);
	publish_ok(f);
	assert_int_equal(gateway_port_cas(f, 5001), 1);

	/* gateway del takes the CAs and their port; the VSID can go next */
	apply_ok(f, "gateway del --rdomain blue");
	assert_int_equal(gateway_port_cas(f, 5001), -1);
	apply_ok(f, "vsubnet del 5001");
	publish_ok(f);
	assert_int_equal(gateway_port_cas(f, 5001), -1);

	/* and the same again through gateway ca-del */
	apply_ok(f, "vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24");
	apply_ok(f, "gateway add --rdomain blue --vrf blue --table 1001");
	apply_ok(f, "gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.2");
	publish_ok(f);
	assert_int_equal(gateway_port_cas(f, 5001), 1);
	apply_ok(f, "gateway ca-del --rdomain blue --vsid 5001 --ca 10.0.0.2");
	apply_ok(f, "vsubnet del 5001");
	publish_ok(f);
	assert_int_equal(gateway_port_cas(f, 5001), -1);
}

/* A gateway port that cannot be added fails the publish with the end's
 * message, but the route changes are committed all the same. */
static void test_publish_clash_commits_routes(void **state)
{
	struct fixture *f = *state;
	struct hnv_route_hit hit;
	char err[512] = "";
	blue(f);
	apply_ok(f, "gateway add --rdomain blue --vrf blue --table 1001");
	/* a VM port with the gateway port's MAC (its name, vsidN, the parser
	 * refuses) */
	apply_ok(f, "port add clash --vsid 5001 --ca 10.0.0.5 --mac 02484e001389");
	apply_ok(f, "gateway ca --rdomain blue --vsid 5001 --ca 10.0.0.2");
	apply_ok(f,
		 "route add --rdomain blue --vsid 5001 --prefix 10.30.0.0/16 --nexthop 10.0.0.9");
	assert_int_equal(hnv_conf_batch_publish(f->b, err, sizeof(err)), -EEXIST);
	assert_string_equal(err,
			    "gateway ca: the gateway port vsid5001 of VSID 5001 clashes with a "
			    "port of the same name or MAC (port names vsidN are reserved for "
			    "gateway ports)");
	assert_int_equal(route_to(f, 5001, "10.30.1.1", &hit), 16);

	/* the clash gone, the next publish adds the port */
	apply_ok(f, "port del clash");
	publish_ok(f);
	assert_int_equal(gateway_port_cas(f, 5001), 1);
}

/* port move is a request to the shared policy (hnvgwd --etcd): neither the
 * applier nor the model takes it, and both say why. */
static void test_port_move_refused(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	blue(f);
	apply_ok(f, "port add blue1 --vsid 5001 --ca 10.0.0.5 --mac 060600000005");
	assert_int_equal(apply(f, "port move blue1 --to h2", err, sizeof(err)), -EOPNOTSUPP);
	assert_string_equal(err, "port move needs shared policy (hnvgwd --etcd)");
	assert_string_equal(err, HNV_CONF_PORT_MOVE_REFUSED);
	assert_true(hnv_policy_port_id(f->p, "blue1") >= 0); /* nothing moved */
	/* gateway move and a --pool line alike: they exist only through etcd */
	assert_int_equal(apply(f, "gateway move blue --to h2", err, sizeof(err)), -EOPNOTSUPP);
	assert_string_equal(err, HNV_CONF_GATEWAY_MOVE_REFUSED);

	static const char text[] = "rdomain add red --rdid 11111111-2222-3333-4444-000000006001\n"
				   "# a comment\n"
				   "port move blue1 --to h2\n";
	struct hnv_conf_cmd *cmds;
	size_t n;
	assert_int_equal(hnv_conf_parse_text(text, strlen(text), &cmds, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(hnv_conf_apply(f->dp, cmds, n, err, sizeof(err)), -EOPNOTSUPP);
	assert_string_equal(err, "line 3: port move needs shared policy (hnvgwd --etcd)");
	hnv_conf_cmds_free(cmds, n);

	struct hnv_model *m = NULL;
	assert_int_equal(hnv_model_load(text, strlen(text), &m, err, sizeof(err)), -EOPNOTSUPP);
	assert_null(m);
	assert_string_equal(err, "line 3: port move needs shared policy (hnvgwd --etcd)");
}

/* An S2S tunnel follows its gateway: a pool tenant's tunnel names the
 * pool (--pool, and needs --local-addr, the floating address); a tunnel of
 * this host alone on a pool tenant is refused (it would not follow a
 * failover), as is a pool tunnel on a host-bound gateway; no message shows
 * the PSK. */
static void test_s2s_of_pool_tenant(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	static const char host[] = "s2s add site1 --rdomain blue --peer 192.0.2.1 --local-id a "
				   "--remote-id b --remote-prefix 10.9.0.0/16 --psk "
				   "Hd5xJ8cQ2wE7rT4uY9iO3pA6";
	static const char pooled[] = "s2s add site1 --rdomain blue --peer 192.0.2.1 --local-addr "
				     "192.0.2.9 --local-id a --remote-id b --remote-prefix "
				     "10.9.0.0/16 --psk Hd5xJ8cQ2wE7rT4uY9iO3pA6 --pool edge";
	static const char other[] = "s2s add site1 --rdomain blue --peer 192.0.2.1 --local-addr "
				    "192.0.2.9 --local-id a --remote-id b --remote-prefix "
				    "10.9.0.0/16 --psk Hd5xJ8cQ2wE7rT4uY9iO3pA6 --pool west";
	blue(f);
	apply_ok(f, "gateway add --rdomain blue --pool edge --vrf blue --table 7");
	assert_int_equal(apply(f, host, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "s2s add: tunnel \"site1\": the gateway of routing domain "
				 "\"blue\" is in pool \"edge\": give --pool edge (a tunnel of "
				 "this host alone would not follow the tenant to another member)");
	assert_null(strstr(err, "Hd5xJ8"));
	assert_int_equal(apply(f, other, err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, "Hd5xJ8"));
	apply_ok(f, pooled);
	/* its gateway stays while it does */
	assert_true(apply(f, "gateway del --rdomain blue --pool edge", err, sizeof(err)) < 0);
	apply_ok(f, "s2s del site1 --rdomain blue --pool edge");
	apply_ok(f, "gateway del --rdomain blue --pool edge");
	apply_ok(f, "gateway add --rdomain blue --vrf blue --table 7");
	assert_int_equal(apply(f, pooled, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "s2s add: tunnel \"site1\": the gateway of routing domain "
				 "\"blue\" is bound to a host, not to pool \"edge\"");
	apply_ok(f, host);
}

static int group_setup(void **state)
{
	(void)state;
	urcu_qsbr_register_thread();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	urcu_qsbr_unregister_thread();
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_publish_routes),
		T(test_publish_gateway_ports),
		T(test_publish_clash_commits_routes),
		T(test_port_move_refused),
		T(test_s2s_of_pool_tenant),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
