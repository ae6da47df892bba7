/* garp_drive.c: gateway/garp.c against the kernel of the current network
 * namespace, for tests/garp/test_garp.sh.
 *
 *   garp_drive DEV ADDR     hnv_garp_announce of ADDR on DEV; prints
 *                           "sent N" (N frames)
 *
 * Exit status 0, or 1 with the module's error message on stderr.
 */
#include <net/if.h>
#include <stdio.h>

#include "../../gateway/garp.h"
#include "../../lib/addr.h"

int main(int argc, char **argv)
{
	struct hnv_ip a;
	char err[256] = "";
	if (argc != 3 || hnv_parse_ip(argv[2], &a) < 0) {
		fprintf(stderr, "usage: garp_drive DEV ADDR\n");
		return 2;
	}
	int ifindex = (int)if_nametoindex(argv[1]);
	if (ifindex == 0) {
		fprintf(stderr, "no interface %s\n", argv[1]);
		return 1;
	}
	int n = hnv_garp_announce(argv[1], ifindex, &a, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("sent %d\n", n);
	return 0;
}
