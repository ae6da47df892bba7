/* fuzz_dp.h: the datapath both packet-path harnesses fuzz (fuzz_uplink,
 * fuzz_vmport): the Blue/Red demo of the Hyper-V documentation on Host1,
 * plus a second blue VSID, a remote host behind an IPv6 PA, and a green
 * VSID 7001 with L2Only records (dynamic learning and flooding,
 * docs/dynamic-learning.md). Included by one harness per binary;
 * FUZZ_NAME prefixes its messages. */
#ifndef HNV_FUZZ_DP_H
#define HNV_FUZZ_DP_H

#define _LGPL_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-qsbr.h>

#include "../../datapath/dp.h"
#include "../../datapath/policy_read.h"
#include "../../datapath/proto.h"
#include "../../mgmt/conf_apply.h"
#include "../unit/pktgen.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

static const char CONF[] =
	"pa add 192.168.4.11/24 --dev eth0\n"
	"pa add fd00:4::11/64 --dev eth0\n"
	"rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}\n"
	"rdomain add red --rdid {11111111-2222-3333-4444-000000006001}\n"
	"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24 --prefix fd00:5001::/64\n"
	"vsubnet add 5002 --rdomain blue --prefix 10.0.1.0/24\n"
	"vsubnet add 6001 --rdomain red --prefix 10.0.0.0/24\n"
	"port add blue1 --vsid 5001 --ca 10.0.0.5 --ca fd00:5001::5 --mac 060600000005\n"
	"port add red1 --vsid 6001 --ca 10.0.0.5 --mac 080800000005\n"
	"port add blue3 --vsid 5002 --ca 10.0.1.5 --mac 060600010005\n"
	"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005\n"
	"lookup add --vsid 5001 --ca fd00:5001::5 --pa 192.168.4.11 --mac 060600000005\n"
	"lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 060600000007\n"
	"lookup add --vsid 5001 --ca fd00:5001::7 --pa 192.168.4.22 --mac 060600000007\n"
	"lookup add --vsid 5001 --ca 10.0.0.9 --pa fd00:4::22 --mac 060600000009\n"
	"lookup add --vsid 5001 --ca fd00:5001::9 --pa fd00:4::22 --mac 060600000009\n"
	"lookup add --vsid 6001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 080800000005\n"
	"lookup add --vsid 6001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 080800000007\n"
	"lookup add --vsid 5002 --ca 10.0.1.5 --pa 192.168.4.11 --mac 060600010005\n"
	"lookup add --vsid 5002 --ca 10.0.1.9 --pa 192.168.4.22 --mac 060600010009\n"
	"route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0 --metric 255\n"
	"route add --rdomain blue --vsid 5002 --prefix 10.0.1.0/24 --nexthop 0.0.0.0 --metric 255\n"
	"route add --rdomain blue --vsid 5001 --prefix fd00:5001::/64 --nexthop :: --metric 255\n"
	"route add --rdomain red --vsid 6001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0 --metric 255\n"
	"rdomain add green --rdid {11111111-2222-3333-4444-000000007001}\n"
	"vsubnet add 7001 --rdomain green --prefix 10.7.0.0/24\n"
	"port add g1 --vsid 7001 --ca 10.7.0.11 --mac 0a0a0000000b\n"
	"port add g2 --vsid 7001 --ca 10.7.0.12 --mac 0a0a0000000c\n"
	"lookup add --vsid 7001 --ca 10.7.0.11 --pa 192.168.4.11 --mac 0a0a0000000b\n"
	"lookup add --vsid 7001 --ca 0.0.0.0 --pa 192.168.4.11 --mac 0a0a0000000b --type l2only\n"
	"lookup add --vsid 7001 --ca 0.0.0.0 --pa 192.168.4.22 --mac 0a0a00000015 --type l2only\n"
	"lookup add --vsid 7001 --ca 0.0.0.0 --pa fd00:4::22 --mac 0a0a00000016 --type l2only\n"
	"lookup add --vsid 7001 --ca 10.7.0.21 --pa 192.168.4.22 --mac 0a0a00000015\n"
	"route add --rdomain green --vsid 7001 --prefix 10.7.0.0/24 --nexthop 0.0.0.0 --metric "
	"255\n";

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, FUZZ_NAME ": %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static uint32_t fuzz_ticks = 1;
static inline uint32_t fuzz_clock(void *arg)
{
	(void)arg;
	return fuzz_ticks / 16 + 1;
}

/* Registers the calling thread with liburcu, builds the datapath from CONF
 * with uplink MTU mtu and next hops for the remote PAs, and returns it. */
static inline struct hnv_dp *fuzz_dp_build(unsigned mtu)
{
	urcu_qsbr_register_thread(); /* the thread libFuzzer runs inputs on */
	struct hnv_dp *d = hnv_dp_new();
	CHECK(d);
	struct hnv_conf_cmd *cmds;
	size_t n;
	char err[256];
	if (hnv_conf_parse_text(CONF, strlen(CONF), &cmds, &n, err, sizeof(err)) ||
	    hnv_conf_apply(d, cmds, n, err, sizeof(err))) {
		fprintf(stderr, FUZZ_NAME ": config: %s\n", err);
		abort();
	}
	free(cmds);
	struct hnv_mac um = pg_mac("00155d000011"), nm = pg_mac("00155d000022");
	struct hnv_ip pa4 = pg_ip("192.168.4.22"), pa6 = pg_ip("fd00:4::22");
	hnv_dp_set_uplink(d, &um, mtu);
	CHECK(hnv_dp_neigh_set(d, &pa4, &nm) == 0);
	CHECK(hnv_dp_neigh_set(d, &pa6, &nm) == 0);
	/* learned records age within a run: a clock that advances per input */
	hnv_dp_set_clock(d, fuzz_clock, NULL);
	CHECK(hnv_dp_set_learn_timeout(d, 30) == 0);
	return d;
}

/* Every learned record: Type Dynamic, Rule Encap, an address inside its
 * VSID's prefix, and an L2Only record of its (VSID, MAC) with its PA. */
static inline int fuzz_check_learned(const struct hnv_rec *r, void *arg)
{
	const struct hnv_policy *pol = arg;
	CHECK(r->flags & HNV_REC_F_LEARNED);
	CHECK(r->type == HNV_TYPE_DYNAMIC && r->rule == HNV_RULE_ENCAP);
	const struct hnv_vsubnet *vs = hnv_policy_vsubnet(pol, r->vsid);
	CHECK(vs && hnv_policy_learnable(vs, &r->ca));
	const struct hnv_rec *l2 = hnv_policy_l2only(vs, &r->mac);
	CHECK(l2 && hnv_ip_eq(&l2->pa, &r->pa));
	CHECK(hnv_policy_rec_by_ca(pol, hnv_hash_ca(r->vsid, &r->ca), r->vsid, &r->ca) == r);
	return 0;
}

/* The control thread's share of an input: apply what was learned, age,
 * check every learned record. */
static inline void fuzz_learn(struct hnv_dp *d)
{
	fuzz_ticks++;
	CHECK(hnv_dp_learn_run(d) >= 0);
	struct hnv_policy *pol = hnv_dp_policy(d);
	CHECK(hnv_policy_n_learned(pol, 0, NULL) <= HNV_LEARN_MAX);
	hnv_policy_learned_foreach(pol, fuzz_check_learned, pol);
}

#endif
