/* fuzz_steer.c: libFuzzer harness for the steering hash of the forwarding
 * threads (datapath/io/steer.c hnv_steer_hash) and its classic BPF filter.
 *
 * Each input is one outer IP packet as a raw IPv4 socket (or, after the
 * Ethernet header, a packet socket) receives it: untrusted bytes from the
 * provider network. It is copied into a buffer of exactly its size (ASan
 * catches any read past it); afterwards (abort() on a violation):
 *   - the hash is the same on a second run (no state, nothing uninitialised);
 *   - the kernel, running hnv_steer_filter for each thread of 2 and of 3
 *     threads on AF_UNIX datagram sockets, delivers the input to exactly
 *     the thread hnv_steer_pick names, and to no other.
 * Seeds (tests/fuzz/seeds/fuzz_steer/): NVGRE with inner IPv4 UDP, inner
 * IPv6 TCP, and an outer IPv6 header.
 */
#include "../../datapath/io/steer.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_steer: %s:%d: %s\n", __FILE__, __LINE__, #c);        \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* sockets of 2 and of 3 threads: [0..2) and [2..5) */
static int tx[5], rx[5];
static const unsigned n_of[5] = {2, 2, 3, 3, 3}, t_of[5] = {0, 1, 0, 1, 2};

static void setup(void)
{
	for (unsigned i = 0; i < 5; i++) {
		int sv[2];
		CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
		int sz = 1 << 20;
		(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		struct sock_filter code[HNV_STEER_PROG_MAX];
		int len = hnv_steer_filter(code, HNV_STEER_L3, t_of[i], n_of[i]);
		CHECK(len > 0);
		struct sock_fprog prog = {.len = (unsigned short)len, .filter = code};
		CHECK(setsockopt(sv[1], SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) == 0);
		tx[i] = sv[0];
		rx[i] = sv[1];
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
	}
	if (size == 0 || size > 65000)
		return 0;
	uint8_t *p = malloc(size);
	CHECK(p);
	memcpy(p, data, size);
	uint32_t h = hnv_steer_hash(p, size);
	CHECK(hnv_steer_hash(p, size) == h);
	static uint8_t got[65536];
	for (unsigned i = 0; i < 5; i++) {
		if (send(tx[i], p, size, 0) != (ssize_t)size)
			continue; /* the kernel refused the datagram: nothing to compare */
		ssize_t r = recv(rx[i], got, sizeof(got), 0);
		bool want = hnv_steer_pick(h, n_of[i]) == t_of[i];
		CHECK(want ? r == (ssize_t)size && memcmp(got, p, size) == 0
			   : r < 0 && errno == EAGAIN);
	}
	free(p);
	return 0;
}
