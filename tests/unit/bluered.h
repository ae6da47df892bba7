/* bluered.h: the Blue/Red demo of the Hyper-V documentation on Host1 as
 * config text (two tenants in 10.0.0.0/24, a second blue VSID, a remote
 * host behind an IPv6 PA, four local ports), shared by the forwarding
 * tests (test_dp.c) and the differential tests of both tiers
 * (test_fp_diff.c). */
#ifndef HNV_TEST_BLUERED_H
#define HNV_TEST_BLUERED_H

#define BLUERED_CONF                                                                               \
	"pa add 192.168.4.11/24 --dev eth0\n"                                                      \
	"pa add fd00:4::11/64 --dev eth0\n"                                                        \
	"rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}\n"                         \
	"rdomain add red --rdid {11111111-2222-3333-4444-000000006001}\n"                          \
	"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24 --prefix fd00:5001::/64\n"           \
	"vsubnet add 5002 --rdomain blue --prefix 10.0.1.0/24\n"                                   \
	"vsubnet add 6001 --rdomain red --prefix 10.0.0.0/24\n"                                    \
	"port add blue1 --vsid 5001 --ca 10.0.0.5 --ca fd00:5001::5 --mac 060600000005\n"          \
	"port add red1 --vsid 6001 --ca 10.0.0.5 --mac 080800000005\n"                             \
	"port add blue3 --vsid 5002 --ca 10.0.1.5 --mac 060600010005\n"                            \
	"port add blue4 --vsid 5001 --ca 10.0.0.6 --mac 060600000006\n"                            \
	"lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005\n"              \
	"lookup add --vsid 5001 --ca fd00:5001::5 --pa 192.168.4.11 --mac 060600000005\n"          \
	"lookup add --vsid 5001 --ca 10.0.0.6 --pa 192.168.4.11 --mac 060600000006\n"              \
	"lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 060600000007\n"              \
	"lookup add --vsid 5001 --ca fd00:5001::7 --pa 192.168.4.22 --mac 060600000007\n"          \
	"lookup add --vsid 5001 --ca 10.0.0.9 --pa fd00:4::22 --mac 060600000009\n"                \
	"lookup add --vsid 5001 --ca fd00:5001::9 --pa fd00:4::22 --mac 060600000009\n"            \
	"lookup add --vsid 6001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 080800000005\n"              \
	"lookup add --vsid 6001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 080800000007\n"              \
	"lookup add --vsid 5002 --ca 10.0.1.5 --pa 192.168.4.11 --mac 060600010005\n"              \
	"lookup add --vsid 5002 --ca 10.0.1.9 --pa 192.168.4.22 --mac 060600010009\n"              \
	"route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0 --metric "    \
	"255\n"                                                                                    \
	"route add --rdomain blue --vsid 5002 --prefix 10.0.1.0/24 --nexthop 0.0.0.0 --metric "    \
	"255\n"                                                                                    \
	"route add --rdomain blue --vsid 5001 --prefix fd00:5001::/64 --nexthop :: --metric 255\n" \
	"route add --rdomain red --vsid 6001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0 --metric "     \
	"255\n"

/* The VMs' MACs (BLUE2, RED2, BLUE9, REMOTE5002: remote) and the
 * distributed gateway's. */
#define GW_MAC "02155d000001"
#define BLUE1 "060600000005"
#define BLUE2 "060600000007"
#define BLUE4 "060600000006"
#define BLUE9 "060600000009"
#define RED1 "080800000005"
#define RED2 "080800000007"
#define BLUE3 "060600010005"
#define REMOTE5002 "060600010009"

#endif
