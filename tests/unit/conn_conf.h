/* conn_conf.h: what the unit tests of a routing domain's connections start
 * from (test_conn.c, test_rroute.c, test_s2s_rate.c): two routing domains
 * with gateways (BASE), a line of each kind of connection, and the
 * verdicts of both validators on a text. Include after <cmocka.h>.
 */
#ifndef HNV_TEST_CONN_CONF_H
#define HNV_TEST_CONN_CONF_H

#include <stdio.h>
#include <string.h>

#include "../../datapath/policy.h"
#include "../../mgmt/conf_apply.h"
#include "../../mgmt/conftext.h"
#include "../../mgmt/model.h"

#define PSK "Xq3mN8pL2vR6tW4zK9sB1yF5"
#define BASE                                                                                       \
	"rdomain add blue --rdid 11111111-2222-3333-4444-000000005001\n"                           \
	"rdomain add red --rdid 11111111-2222-3333-4444-000000006001\n"                            \
	"gateway add --rdomain blue --vrf blue --table 101\n"                                      \
	"gateway add --rdomain red --vrf red --table 102\n"
/* a tunnel of routing domain rd with remote prefix(es) pfx and extra options */
#define S2S_LINE(n, rd, peer, pfx, extra)                                                          \
	"s2s add " n " --rdomain " rd " --peer " peer " --local-id gw-" n " --remote-id site-" n   \
	" --psk " PSK " " pfx " --dpd 30" extra "\n"
#define GRE_LINE(n, rd, remote, pfx)                                                               \
	"gre add " n " --rdomain " rd " --local 198.51.100.1 --remote " remote                     \
	" --addr 172.30.0.1/30 " pfx "\n"
#define L3_LINE(n, rd, vlan, pfx)                                                                  \
	"l3 add " n " --rdomain " rd " --dev eth2 --vlan " vlan                                    \
	" --addr 172.31.0.1/24 --nexthop 172.31.0.2" pfx "\n"

/* BASE then extra, through the model hnvgwd commits with and through the
 * applier's batch (hnvgw-dp replay). */
struct verdicts {
	int mrc, brc;              /* their return codes */
	char merr[512], berr[512]; /* and messages */
	struct hnv_model *m;       /* the model (NULL when refused): the caller frees */
};

static inline void both_verdicts(const char *extra, struct verdicts *v)
{
	char text[8192];
	memset(v, 0, sizeof(*v));
	snprintf(text, sizeof(text), "%s%s", BASE, extra);
	v->mrc = hnv_model_load(text, strlen(text), &v->m, v->merr, sizeof(v->merr));
	struct hnv_conf_cmd *cmds;
	size_t n;
	assert_int_equal(
		hnv_conf_parse_text(text, strlen(text), &cmds, &n, v->berr, sizeof(v->berr)), 0);
	struct hnv_dp *dp = hnv_dp_new();
	assert_non_null(dp);
	v->brc = hnv_conf_apply(dp, cmds, n, v->berr, sizeof(v->berr));
	hnv_conf_cmds_free(cmds, n);
	hnv_dp_free(dp);
}

#endif
