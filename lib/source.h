/* source.h: an event source of a single-threaded poll loop (hnvgwd's
 * control thread serves the zebra, charon, bgpd and etcd clients this way).
 *
 * Before every poll: fd(arg, &events) is the descriptor to wait on (-1: none
 * now), timeout_ms(arg) the milliseconds until it wants run() without an
 * event (-1: never). After the poll, run(arg, revents) is called when the fd
 * is ready or the timeout expired (revents 0). */
#ifndef HNV_SOURCE_H
#define HNV_SOURCE_H

struct hnv_source {
	const char *name;
	int (*fd)(void *arg, short *events);
	int (*timeout_ms)(void *arg);
	void (*run)(void *arg, short revents);
	void *arg;
};

#endif
