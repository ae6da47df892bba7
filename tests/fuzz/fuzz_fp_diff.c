/* fuzz_fp_diff.c: libFuzzer harness feeding both forwarding tiers (the
 * differential test of tests/unit/fpdiff.h under coverage guidance).
 *
 * The Blue/Red datapath of fuzz_dp.h is built once, in a network namespace
 * of the harness's own, with the fast path bound to it (needs root and
 * BPF: the harness aborts at start if either is missing, so a run that
 * tested nothing cannot pass). Each input is one byte choosing the ingress
 * (0 the uplink, then each port in id order) and the frame. It goes
 * through the C engine and through the fast path's program with
 * BPF_PROG_TEST_RUN; the two must agree on verdict, egress, bytes and
 * counter unless the fast path punted the frame to the C engine.
 * Seeds (tests/fuzz/seeds/fuzz_fp_diff/) are the uplink and VM port seeds
 * with their ingress byte.
 */
#define FUZZ_NAME "fuzz_fp_diff"
#include "fuzz_dp.h"

#include "../unit/fpdiff.h"

static struct fpd *x;
static int ports[8];
static unsigned n_ports;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	urcu_qsbr_register_thread();
	static const char *const remote[] = {"192.168.4.22", "fd00:4::22", NULL};
	char why[512] = "";
	x = fpd_new(CONF, remote, why, sizeof(why));
	if (!x) {
		fprintf(stderr, FUZZ_NAME ": cannot build both tiers: %s\n", why);
		abort();
	}
	ports[n_ports++] = HNV_PORT_UPLINK;
	for (unsigned id = 1; id < HNV_PORTS_MAX && n_ports < 8; id++)
		if (x->port_ifindex[id])
			ports[n_ports++] = (int)id;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	if (len < 1)
		return 0;
	int port = ports[buf[0] % n_ports];
	char why[256];
	if (fpd_compare(x, buf + 1, len - 1, port, why, sizeof(why)) == FPD_DIFFERENT) {
		fprintf(stderr, FUZZ_NAME ": tiers differ on a frame from port %d: %s\n", port,
			why);
		abort();
	}
	return 0;
}
