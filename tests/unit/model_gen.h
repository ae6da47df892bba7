/* model_gen.h: random config lines over a small universe of names and
 * addresses, so that transactions collide: duplicate identities, RDIDs,
 * VRFs, tables, CAs and MACs, CAs on default gateways and DHCP server
 * identifiers, pools that overlap or hold reserved addresses, gateway port
 * names and MACs, the limits of PAs and pools, deletes of what others
 * need. tests/unit/test_model_check.c draws from a PRNG,
 * tests/fuzz/fuzz_model.c from the fuzzer's bytes.
 */
#ifndef HNV_TEST_MODEL_GEN_H
#define HNV_TEST_MODEL_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The source of choices: next(arg) returns a byte. */
struct gen {
	uint8_t (*next)(void *arg);
	void *arg;
};

static unsigned pick(struct gen *g, unsigned n)
{
	return (unsigned)g->next(g->arg) % n;
}

#define PICK(g, arr) ((arr)[pick((g), sizeof(arr) / sizeof((arr)[0]))])

static const char *const gen_rd[] = {"r1", "r2", "r3"};
static const char *const gen_vsid[] = {"5001", "5002", "6001"};
static const char *const gen_prefix[] = {"10.0.0.0/24", "10.0.1.0/24", "10.1.0.0/16",
					 "fd00::/64",   "10.0.0.0/30", "0.0.0.0/0"};
static const char *const gen_ca[] = {"10.0.0.1",   "10.0.0.2",   "10.0.0.5", "10.0.0.6",
				     "10.0.1.5",   "10.1.0.5",   "fd00::5",  "10.2.0.5",
				     "10.0.0.100", "10.0.0.101", "0.0.0.0",  "::"};
static const char *const gen_mac[] = {"060600000001", "060600000002", "060600000003",
				      "02:48:4e:00:13:89", "0a:9a:0a:00:00:05"};
static const char *const gen_port[] = {"p1", "p2", "p3", "vsid5001", "vsid5002"};
static const char *const gen_pool[] = {"a", "b", "c"};
static const char *const gen_range[] = {"10.0.0.100-10.0.0.101", "10.0.0.101-10.0.0.110",
					"10.0.0.0-10.0.0.5",     "10.0.0.2-10.0.0.3",
					"10.0.1.10-10.0.1.12",   "10.1.0.10-10.1.0.20",
					"10.0.0.200-10.0.0.255"};
static const char *const gen_type[] = {"static", "dynamic", "gateway-wildcard", "l2only"};
/* Only encap: rules nat and none are stored by the model (an older hnvgw
 * accepted them, and a stored configuration must load) but refused by the
 * datapath at commit (conf_apply.h hnv_conf_supported), so the model and
 * the replay would differ on them by design; test_conftext
 * test_apply_refused_settings and test_refused_stored.sh cover them. */
static const char *const gen_rule[] = {"encap"};
static const char *const gen_text[] = {"", "vmA", "vmB", "p1"};
static const char *const gen_rnh[] = {"0.0.0.0", "10.0.0.9", "::"};
static const char *const gen_rpfx[] = {"10.0.0.0/24", "10.9.0.0/16", "fd00::/64", "0.0.0.0/0"};

/* One line into buf. */
static void gen_line(struct gen *g, char *buf, size_t len)
{
	char pa[32], ca2[64] = "", opt[256] = "";
	buf[0] = '\0';
	snprintf(pa, sizeof(pa), "192.168.4.%u", 11 + pick(g, 18));
	switch (pick(g, 24)) {
	case 0:
		snprintf(buf, len, "rdomain add %s --rdid {00000000-0000-0000-0000-00000000000%u}",
			 PICK(g, gen_rd), 1 + pick(g, 4));
		return;
	case 1:
		snprintf(buf, len, "rdomain del %s", PICK(g, gen_rd));
		return;
	case 2:
	case 3:
		if (pick(g, 3) == 0)
			snprintf(opt, sizeof(opt), " --prefix %s", PICK(g, gen_prefix));
		snprintf(buf, len, "vsubnet add %s --rdomain %s --prefix %s%s", PICK(g, gen_vsid),
			 PICK(g, gen_rd), PICK(g, gen_prefix), opt);
		return;
	case 4:
		snprintf(buf, len, "vsubnet del %s", PICK(g, gen_vsid));
		return;
	case 5:
		if (pick(g, 3))
			snprintf(buf, len, "pa add %s/24 --dev eth0", pa);
		else
			snprintf(buf, len, "pa del %s", pa);
		return;
	case 6:
	case 7:
		/* without --ca or --mac the model fills them in */
		if (pick(g, 2))
			snprintf(opt, sizeof(opt), " --ca %s", PICK(g, gen_ca));
		if (opt[0] && pick(g, 4) == 0)
			snprintf(ca2, sizeof(ca2), " --ca %s", PICK(g, gen_ca));
		snprintf(buf, len, "port add %s --vsid %s%s%s", PICK(g, gen_port),
			 PICK(g, gen_vsid), opt, ca2);
		if (pick(g, 2))
			snprintf(buf + strlen(buf), len - strlen(buf), " --mac %s",
				 PICK(g, gen_mac));
		return;
	case 8:
		snprintf(buf, len, "port del %s", PICK(g, gen_port));
		return;
	case 9:
		snprintf(buf, len, "pool add %s --vsid %s --range %s", PICK(g, gen_pool),
			 PICK(g, gen_vsid), PICK(g, gen_range));
		return;
	case 10:
		snprintf(buf, len, "pool del %s", PICK(g, gen_pool));
		return;
	case 11:
	case 12:
	case 13: {
		const char *type = PICK(g, gen_type), *ca = PICK(g, gen_ca);
		const char *rule = PICK(g, gen_rule);
		bool wild = strcmp(type, "gateway-wildcard") == 0 || strcmp(type, "l2only") == 0;
		if (pick(g, 4) != 0) /* mostly records that parse */
			ca = wild ? gen_ca[10 + pick(g, 2)] : gen_ca[2 + pick(g, 8)];
		if (pick(g, 3) == 0)
			snprintf(opt, sizeof(opt), " --vm-name %s", gen_text[1 + pick(g, 3)]);
		if (pick(g, 4) == 0)
			snprintf(opt + strlen(opt), sizeof(opt) - strlen(opt),
				 " --customer-id {00000000-0000-0000-0000-0000000000%02u}",
				 pick(g, 3));
		if (pick(g, 5) == 0)
			snprintf(opt + strlen(opt), sizeof(opt) - strlen(opt), " --context %s",
				 gen_text[1 + pick(g, 3)]);
		snprintf(buf, len,
			 "lookup %s --vsid %s --ca %s --pa %s --mac %s --type %s --rule %s%s",
			 pick(g, 3) == 0 ? "set" : "add", PICK(g, gen_vsid), ca, pa,
			 PICK(g, gen_mac), type, rule, opt);
		return;
	}
	case 14:
		snprintf(buf, len, "lookup del --vsid %s --ca %s --mac %s", PICK(g, gen_vsid),
			 PICK(g, gen_ca), PICK(g, gen_mac));
		return;
	case 15: {
		const char *p = PICK(g, gen_rpfx);
		snprintf(buf, len, "route add --rdomain %s --vsid %s --prefix %s --nexthop %s",
			 PICK(g, gen_rd), PICK(g, gen_vsid), p,
			 strchr(p, ':') ? "::" : gen_rnh[pick(g, 2)]);
		return;
	}
	case 16: {
		const char *p = PICK(g, gen_rpfx);
		snprintf(buf, len, "route del --rdomain %s --prefix %s --nexthop %s",
			 PICK(g, gen_rd), p, strchr(p, ':') ? "::" : gen_rnh[pick(g, 2)]);
		return;
	}
	case 17:
		snprintf(buf, len, "gateway add --rdomain %s --vrf v%u --table %u", PICK(g, gen_rd),
			 pick(g, 3), 100 + pick(g, 3));
		return;
	case 18:
		snprintf(buf, len, "gateway del --rdomain %s", PICK(g, gen_rd));
		return;
	case 19:
		snprintf(buf, len, "gateway %s --rdomain %s --vsid %s --ca %s",
			 pick(g, 3) ? "ca" : "ca-del", PICK(g, gen_rd), PICK(g, gen_vsid),
			 gen_ca[pick(g, 10)]);
		return;
	case 20:
		snprintf(buf, len,
			 "s2s add t%u --rdomain %s --peer 203.0.113.%u --local-id id%u --remote-id "
			 "site%u --psk Zq8-secret-Psk-4711-abcdef --remote-prefix 192.168.50.0/24",
			 pick(g, 3), PICK(g, gen_rd), 9 + pick(g, 2), pick(g, 2), pick(g, 2));
		return;
	case 21:
		snprintf(buf, len, "s2s del t%u", pick(g, 3));
		return;
	case 22:
		if (pick(g, 2))
			snprintf(buf, len,
				 "proute add --prefix 0.0.0.0/0 --nexthop 192.168.4.%u --dev eth0",
				 1 + pick(g, 2));
		else
			snprintf(buf, len, "proute del --prefix 0.0.0.0/0 --nexthop 192.168.4.%u",
				 1 + pick(g, 2));
		return;
	default:
		snprintf(buf, len, "global set --flowid %s --uplink-mtu %u",
			 pick(g, 2) ? "on" : "off", 1400 + pick(g, 200));
		return;
	}
}

#endif
