/* metrics.h: hnvgwd's Prometheus endpoint (hnvgwd --metrics ADDR:PORT).
 *
 * An HTTP server of libmicrohttpd, in its own internal thread, answers
 * GET (and HEAD) /metrics with the text exposition format (Content-Type
 * "text/plain; version=0.0.4; charset=utf-8"); any other path is 404, any
 * other method on /metrics 405 (with "Allow: GET, HEAD"). libmicrohttpd
 * parses HTTP; hnvgwd parses only the listen address.
 *
 * Threads: the document is built on the control thread, which owns all of
 * hnvgwd's state (core.h), never on the HTTP thread. For each scrape the
 * HTTP thread asks the control thread through an eventfd (hnv_metrics_source,
 * one more event source of the control loop) and waits, at most
 * HNV_METRICS_WAIT_MS, for the document; when the control thread is busy
 * that long (a long commit), the scrape gets 503. The gather function runs
 * between two events of the control loop, as a `show` request does.
 */
#ifndef HNV_METRICS_H
#define HNV_METRICS_H

#include "../../lib/source.h"
#include "../../lib/vec.h"

#include <stddef.h>
#include <sys/socket.h>

#define HNV_METRICS_WAIT_MS 10000
#define HNV_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The listen address of --metrics: "A.B.C.D:PORT" or "[IPV6]:PORT" (port
 * 1..65535, decimal; an IPv6 address may carry a "%zone"). text is s[0..len)
 * (need not be NUL-terminated). Returns 0 with *sa / *salen set, or -EINVAL
 * with a message in err naming the bad value. */
int hnv_metrics_parse_addr(const char *s, size_t len, struct sockaddr_storage *sa, socklen_t *salen,
			   char *err, size_t errlen);

/* Builds the whole document into out (on the control thread). Returns 0,
 * or a negative errno (the scrape then gets 500). */
typedef int (*hnv_metrics_gather_fn)(void *arg, struct hnv_buf *out);

struct hnv_metrics;

/* Listens on addr (hnv_metrics_parse_addr's text) and serves scrapes with
 * documents of gather(arg); arg must outlive the handle. 0, or a negative
 * errno with a message in err (the address is taken, ...). */
int hnv_metrics_new(const char *addr, hnv_metrics_gather_fn gather, void *arg,
		    struct hnv_metrics **out, char *err, size_t errlen);
/* The control loop's source that builds the documents asked for. */
void hnv_metrics_source(struct hnv_metrics *m, struct hnv_source *src);
/* Stops the server (a scrape waiting gets 503) and frees the handle. NULL
 * is fine. */
void hnv_metrics_free(struct hnv_metrics *m);

#endif
