/* metrics.c: the Prometheus endpoint's HTTP side (libmicrohttpd) and the
 * hand-over of each scrape to the control thread (metrics.h). */
#include "metrics.h"

#include "../../lib/err.h"
#include "../../lib/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define CONN_LIMIT 16   /* scrapers connected at once */
#define CONN_TIMEOUT 10 /* seconds an idle connection is kept */

struct hnv_metrics {
	struct MHD_Daemon *mhd;
	int efd; /* HTTP thread -> control thread: a document is wanted */
	hnv_metrics_gather_fn gather;
	void *arg;
	pthread_mutex_t mu; /* guards what follows */
	pthread_cond_t cv;  /* done moved, or closing */
	uint64_t asked;     /* scrapes asked for */
	uint64_t done;      /* asked when the last document was built */
	char *doc;          /* that document (malloc'd), NULL: gather failed */
	size_t doc_len;
	bool closing;
	struct hnv_ratelimit log_rl; /* libmicrohttpd's messages (HTTP thread) */
};

/* ---- the listen address ---- */

static int parse_port(const char *s, size_t n, uint16_t *port)
{
	if (n == 0 || n > 5)
		return -EINVAL;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int hnv_metrics_parse_addr(const char *s, size_t len, struct sockaddr_storage *sa, socklen_t *salen,
			   char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	const char *colon;
	size_t hl;
	uint16_t port;
	bool v6 = len > 0 && s[0] == '[';
	memset(sa, 0, sizeof(*sa));
	if (v6) {
		const char *close = memchr(s, ']', len);
		if (!close || close + 1 >= s + len || close[1] != ':')
			goto bad;
		hl = (size_t)(close - s) - 1;
		colon = close + 1;
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, hl);
	} else {
		colon = memrchr(s, ':', len);
		if (!colon)
			goto bad;
		hl = (size_t)(colon - s);
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, s, hl);
	}
	host[hl] = '\0';
	if (memchr(host, '\0', hl))
		goto bad;
	if (parse_port(colon + 1, len - (size_t)(colon + 1 - s), &port))
		goto bad;
	if (v6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)sa;
		char *pct = strchr(host, '%');
		if (pct) {
			*pct = '\0';
			if (!pct[1] || !(a6->sin6_scope_id = if_nametoindex(pct + 1)))
				goto bad;
		}
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			goto bad;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*salen = sizeof(*a6);
		return 0;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)sa;
	if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
		goto bad;
	a4->sin_family = AF_INET;
	a4->sin_port = htons(port);
	*salen = sizeof(*a4);
	return 0;
bad:
	memset(sa, 0, sizeof(*sa));
	hnv_seterr(err, errlen,
		   "--metrics \"%.*s\": want IPV4:PORT or [IPV6]:PORT (an address, not a name; "
		   "port 1-65535), e.g. 127.0.0.1:9417 or [::1]:9417",
		   (int)(len > 200 ? 200 : len), s);
	return -EINVAL;
}

/* ---- the control thread's side ---- */

static int src_fd(void *arg, short *events)
{
	*events = POLLIN;
	return ((struct hnv_metrics *)arg)->efd;
}

static int src_timeout(void *arg)
{
	(void)arg;
	return -1;
}

/* A scrape is waiting: builds the document and hands it over. */
static void src_run(void *arg, short revents)
{
	struct hnv_metrics *m = arg;
	uint64_t n;
	(void)revents;
	if (read(m->efd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return;
	pthread_mutex_lock(&m->mu);
	uint64_t asked = m->asked;
	pthread_mutex_unlock(&m->mu);
	struct hnv_buf b = {0};
	int rc = m->gather(m->arg, &b);
	if (rc == 0 && b.oom)
		rc = -ENOMEM;
	pthread_mutex_lock(&m->mu);
	free(m->doc);
	m->doc = NULL;
	m->doc_len = 0;
	if (rc == 0) {
		m->doc_len = b.len;
		m->doc = hnv_buf_take(&b);
		if (!m->doc && (m->doc = malloc(1)))
			m->doc[0] = '\0';
	} else {
		hnv_buf_free(&b, false);
		hnv_log(HNV_LOG_WARNING, "metrics: cannot build the document: %s", strerror(-rc));
	}
	m->done = asked;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

void hnv_metrics_source(struct hnv_metrics *m, struct hnv_source *src)
{
	*src = (struct hnv_source){.name = "metrics",
				   .fd = src_fd,
				   .timeout_ms = src_timeout,
				   .run = src_run,
				   .arg = m};
}

/* ---- the HTTP thread's side ---- */

/* The document for one scrape (malloc'd, *len bytes), or NULL with *status
 * the HTTP status to answer instead. */
static char *fetch_doc(struct hnv_metrics *m, size_t *len, unsigned *status)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += HNV_METRICS_WAIT_MS / 1000;
	until.tv_nsec += (long)(HNV_METRICS_WAIT_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	char *doc = NULL;
	*status = MHD_HTTP_SERVICE_UNAVAILABLE;
	pthread_mutex_lock(&m->mu);
	uint64_t mine = ++m->asked;
	uint64_t one = 1;
	if (!m->closing && write(m->efd, &one, sizeof(one)) == (ssize_t)sizeof(one)) {
		int rc = 0;
		while (!m->closing && m->done < mine && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&m->cv, &m->mu, &until);
		if (!m->closing && m->done >= mine) {
			*status = MHD_HTTP_INTERNAL_SERVER_ERROR;
			if (m->doc && (doc = malloc(m->doc_len + 1))) {
				memcpy(doc, m->doc, m->doc_len + 1);
				*len = m->doc_len;
				*status = MHD_HTTP_OK;
			}
		}
	}
	pthread_mutex_unlock(&m->mu);
	return doc;
}

static enum MHD_Result answer_text(struct MHD_Connection *conn, unsigned status, const char *text,
				   const char *allow)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	enum MHD_Result rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct hnv_metrics *m = cls;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if (strcmp(url, "/metrics") != 0)
		return answer_text(conn, MHD_HTTP_NOT_FOUND,
				   "not found: hnvgwd serves only /metrics\n", NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				   "method not allowed: /metrics answers GET and HEAD\n",
				   "GET, HEAD");
	size_t len = 0;
	unsigned status;
	char *doc = fetch_doc(m, &len, &status);
	if (!doc)
		return answer_text(conn, status,
				   status == MHD_HTTP_SERVICE_UNAVAILABLE
					   ? "hnvgwd is busy or stopping; try again\n"
					   : "hnvgwd could not build the metrics\n",
				   NULL);
	struct MHD_Response *r = MHD_create_response_from_buffer(len, doc, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(doc);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, HNV_METRICS_CONTENT_TYPE);
	enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

/* libmicrohttpd's own messages (a connection it refused, a malformed
 * request, ...), rate-limited: any client that reaches the port can cause
 * them. Only the HTTP thread logs through rl. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct hnv_metrics *m = cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	hnv_log_rl(&m->log_rl, HNV_LOG_INFO, "metrics: %s", msg);
}

/* The listening socket, made here so that a taken address is reported
 * with its reason. */
static int listen_on(const struct sockaddr_storage *sa, socklen_t salen, const char *addr,
		     char *err, size_t errlen)
{
	int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0) {
		int e = errno;
		hnv_seterr(err, errlen, "--metrics %s: socket: %s", addr, strerror(e));
		return -e;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sa, salen) || listen(fd, 64)) {
		int e = errno;
		hnv_seterr(err, errlen, "--metrics %s: cannot listen: %s", addr, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

int hnv_metrics_new(const char *addr, hnv_metrics_gather_fn gather, void *arg,
		    struct hnv_metrics **out, char *err, size_t errlen)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	int rc = hnv_metrics_parse_addr(addr, strlen(addr), &sa, &salen, err, errlen);
	if (rc)
		return rc;
	struct hnv_metrics *m = calloc(1, sizeof(*m));
	if (!m) {
		hnv_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->gather = gather;
	m->arg = arg;
	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	m->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->efd < 0) {
		rc = -errno;
		hnv_seterr(err, errlen, "--metrics: eventfd: %s", strerror(-rc));
		goto fail;
	}
	int lfd = listen_on(&sa, salen, addr, err, errlen);
	if (lfd < 0) {
		rc = lfd;
		goto fail;
	}
	m->mhd = MHD_start_daemon(
		MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, m,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, m, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)lfd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)CONN_TIMEOUT, MHD_OPTION_END);
	if (!m->mhd) {
		close(lfd);
		rc = -EIO;
		hnv_seterr(err, errlen, "--metrics %s: libmicrohttpd did not start", addr);
		goto fail;
	}
	*out = m;
	return 0;
fail:
	if (m->efd >= 0)
		close(m->efd);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
	return rc;
}

void hnv_metrics_free(struct hnv_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->closing = true;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	MHD_stop_daemon(m->mhd); /* joins the HTTP thread, closes the socket */
	close(m->efd);
	free(m->doc);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
}
