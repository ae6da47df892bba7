/* udpgen.c: the 64-byte UDP load of the end-to-end benchmarks (e2e.sh,
 * churn.sh).
 *
 *   udpgen send DST_IPV4 PORT SECONDS [PPS]
 *                                       sends 18-byte UDP payloads (64-byte
 *                                       Ethernet frames with the FCS) in
 *                                       sendmmsg batches of 64 for SECONDS,
 *                                       prints the number sent; with PPS,
 *                                       paced at PPS datagrams per second
 *                                       (a batch each millisecond)
 *   udpgen sink PORT SECONDS            binds PORT and never reads, so
 *                                       arriving datagrams are dropped at
 *                                       the socket instead of drawing ICMP
 *                                       port unreachable; exits after SECONDS
 *   udpgen count PORT SECONDS           binds PORT, reads every datagram for
 *                                       SECONDS, prints how many arrived
 *
 * The receiver side is measured by the caller from the interface counters.
 * A full socket buffer (ENOBUFS/EAGAIN) is retried: the sender runs as fast
 * as the path below it accepts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define PAYLOAD 18 /* 14 Ethernet + 20 IPv4 + 8 UDP + 18 + 4 FCS = 64 */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_num(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int do_send(const char *dst, long port, long secs, long pps)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, dst, &sa.sin_addr) != 1) {
		fprintf(stderr, "udpgen: \"%s\" is not an IPv4 address\n", dst);
		return 2;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("udpgen: socket/connect");
		return 1;
	}
	static char payload[PAYLOAD];
	struct iovec iov = {payload, sizeof(payload)};
	struct mmsghdr msgs[BATCH];
	for (int i = 0; i < BATCH; i++)
		msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}};
	unsigned long long sent = 0;
	double start = now_s(), end = start + (double)secs;
	while (now_s() < end) {
		unsigned want = BATCH;
		if (pps) { /* as many as are due by now, at most a batch */
			double due = (now_s() - start) * (double)pps - (double)sent;
			if (due < 1) {
				nanosleep(&(struct timespec){0, 1000 * 1000}, NULL);
				continue;
			}
			want = due < BATCH ? (unsigned)due : BATCH;
		}
		int n = sendmmsg(fd, msgs, want, 0);
		if (n > 0)
			sent += (unsigned long long)n;
		else if (n < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR &&
			 errno != ECONNREFUSED) {
			perror("udpgen: sendmmsg");
			return 1;
		}
	}
	printf("%llu\n", sent);
	close(fd);
	return 0;
}

/* Reads datagrams on PORT for secs seconds; prints how many. */
static int do_count(long port, long secs)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int rcvbuf = 32 << 20;
	struct timeval tv = {0, 100 * 1000};
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		perror("udpgen: socket/bind");
		return 1;
	}
	static char bufs[BATCH][64];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
		msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
	}
	unsigned long long got = 0;
	double end = now_s() + (double)secs;
	while (now_s() < end) {
		int n = recvmmsg(fd, msgs, BATCH, 0, NULL);
		if (n > 0)
			got += (unsigned long long)n;
	}
	printf("%llu\n", got);
	close(fd);
	return 0;
}

static int do_sink(long port, long secs)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("udpgen: socket/bind");
		return 1;
	}
	sleep((unsigned)secs);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	long port, secs, pps = 0;
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "send") == 0 &&
	    !parse_num(argv[3], 1, 65535, &port) && !parse_num(argv[4], 1, 3600, &secs) &&
	    (argc == 5 || !parse_num(argv[5], 1, 100000000, &pps)))
		return do_send(argv[2], port, secs, pps);
	if (argc == 4 && strcmp(argv[1], "count") == 0 && !parse_num(argv[2], 1, 65535, &port) &&
	    !parse_num(argv[3], 1, 3600, &secs))
		return do_count(port, secs);
	if (argc == 4 && strcmp(argv[1], "sink") == 0 && !parse_num(argv[2], 1, 65535, &port) &&
	    !parse_num(argv[3], 1, 3600, &secs))
		return do_sink(port, secs);
	fprintf(stderr,
		"usage: udpgen send DST_IPV4 PORT SECONDS [PPS] | udpgen sink PORT SECONDS | "
		"udpgen count PORT SECONDS\n");
	return 2;
}
