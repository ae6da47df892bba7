/* fwd.c: the host edge's forwarding thread (see fwd.h for the contracts). */
#define _LGPL_SOURCE
#include "fwd.h"

#include "../../lib/log.h"
#include "../../lib/vec.h"
#include "../bpf/fp.h"
#include "../policy.h"
#include "../policy_read.h"
#include "io.h"
#include "steer.h"

#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <urcu/urcu-qsbr.h>

#define FWD_BATCH 64
_Static_assert(HNV_FWD_THREADS_MAX <= HNV_STEER_THREADS_MAX, "steer.h builds the filters");
#define FWD_IDLE_MS 1000 /* poll timeout; the eventfd wakes it earlier */

/* The I/O port of one VM port: the TAP hnvgwd made for it or a socket on
 * its device (--dev). Several may share a name between two publishes (a
 * port replaced by one on another device): the newest (gen) is the one the
 * next view uses. Owned by the control thread; freed after a grace period
 * once no view has it. */
struct fwd_port {
	char name[HNV_NAME_MAX + 1];
	char dev[IF_NAMESIZE]; /* "": a TAP named name */
	struct hnv_mac mac;
	bool gateway;
	uint64_t gen;
	struct hnv_io_port *io; /* NULL: the device is missing (noted at start) */
	int fp_id;              /* the port id the fast path serves it as; -1: none */
};

struct fwd_entry {
	uint16_t id;
	struct hnv_io_port *io;
	struct fwd_port *port; /* NULL for the uplink */
};

/* What the forwarding threads read. Immutable once published. The uplink
 * entry (list[0], by_id[HNV_PORT_UPLINK]) is thread 0's instance, for names
 * and counters: each thread receives and sends on its own (fwd_thread). */
struct fwd_view {
	struct hnv_dp *dp;
	struct hnv_dp_worker *worker[HNV_FWD_THREADS_MAX]; /* thread k's, on dp */
	unsigned n;
	struct fwd_entry list[HNV_PORTS_MAX]; /* list[0]: the uplink */
	struct hnv_io_port *by_id[HNV_PORTS_MAX];
	const char *name_by_id[HNV_PORTS_MAX]; /* port names, "uplink" */
};

/* A live trace session (fwd.h). Written by one forwarding thread at a
 * time, the one that set busy (a thread that finds it set forwards its
 * batch untraced): rec[filled..count) and then filled (release); the
 * control thread reads filled (acquire) and rec[0..filled). Freed by the
 * control thread after a grace period. */
struct fwd_trace {
	uint64_t id;
	unsigned count;
	int port; /* port id, or -1: any */
	atomic_flag busy;
	_Atomic unsigned filled;
	struct hnv_fwd_trace_rec rec[];
};

/* Remote PAs the uplink has filled its state in for (hnv_fwd_remote_pa):
 * open addressing, grown at half load. */
struct pa_set {
	struct hnv_ip *slot;
	bool *used;
	size_t mask, n;
};

/* One forwarding thread. Its uplink instance (its own socket, which with
 * several threads receives only the thread's share, steer.h) and its
 * worker are its own: only this thread calls their rx/tx and processes on
 * the worker. It receives from the uplink, from the VM ports whose id %
 * n_thr is its index (so a port's frames keep their order) and, thread 0
 * only, from the fast path's punt channel. Created and freed by the
 * control thread. */
#define FLOOD_BATCH 16

struct fwd_thread {
	struct hnv_fwd *f;
	unsigned idx;
	struct hnv_io_port *uplink;
	struct hnv_dp_worker *worker; /* on f->dp, made by attach; read through the view */
	int evfd;                     /* wakes it: a new view, stop */
	bool started;
	pthread_t thread;
	_Atomic uint64_t rx_packets; /* frames it received (uplink, its ports, punts) */
	struct pollfd pfd[HNV_PORTS_MAX + 2];
	struct hnv_pkt *flood_pool; /* FLOOD_BATCH copies (flood_out); NULL until needed */
};

struct hnv_fwd {
	struct fwd_trace *trace; /* RCU; NULL: no session */
	uint64_t trace_ids;
	struct hnv_io_port *uplink; /* thr[0].uplink: the uplink's name, prepare */
	struct hnv_fp *fp;          /* the caller's; NULL: no fast path */
	struct fwd_view *view;      /* RCU */
	struct hnv_dp *dp;          /* attached, the caller's */
	struct fwd_thread *thr;
	unsigned n_thr;
	/* every VM port's I/O: the view's and those opened for ports the
	 * datapath is getting; closed at publish once no port of the datapath
	 * has it */
	struct fwd_port **port;
	size_t n_port, cap_port;
	uint64_t gen;
	struct pa_set pas;
	bool uplink_stale;
	bool ports_dirty; /* a port's I/O was opened since the last publish */
	bool missing;     /* a --dev port's device is missing: retried at publish */
	/* the fast path's records of the trace session (control thread) */
	struct hnv_fwd_trace_rec fptrace[HNV_FWD_TRACE_MAX];
	unsigned n_fptrace;
	atomic_bool stop;
};

/* ---- forwarding thread ---- */

static const char *port_name(const struct fwd_view *v, unsigned id)
{
	if (id == HNV_PORT_FLOOD)
		return "flood";
	return id < HNV_PORTS_MAX && v->name_by_id[id] ? v->name_by_id[id] : "?";
}

/* Hands the session's next free records to matching packets of the batch;
 * returns how many were taken (they are the first *k of idx[]). */
static unsigned trace_arm(struct fwd_trace *t, struct hnv_pkt **pkts, unsigned n, unsigned *idx)
{
	unsigned filled = atomic_load_explicit(&t->filled, memory_order_relaxed), k = 0;
	for (unsigned i = 0; i < n && filled + k < t->count; i++) {
		if (t->port >= 0 && pkts[i]->in_port != (unsigned)t->port)
			continue;
		pkts[i]->trace = &t->rec[filled + k].trace;
		idx[k++] = i;
	}
	return k;
}

static void trace_finish(struct fwd_trace *t, const struct fwd_view *v, struct hnv_pkt **pkts,
			 const unsigned *idx, unsigned k)
{
	unsigned filled = atomic_load_explicit(&t->filled, memory_order_relaxed);
	for (unsigned j = 0; j < k; j++) {
		const struct hnv_pkt *p = pkts[idx[j]];
		struct hnv_fwd_trace_rec *r = &t->rec[filled + j];
		snprintf(r->ingress, sizeof(r->ingress), "%s", port_name(v, p->in_port));
		r->egress[0] = '\0';
		if (!hnv_reason_is_drop(p->reason))
			snprintf(r->egress, sizeof(r->egress), "%s", port_name(v, p->out_port));
		r->reason = p->reason;
		r->vsid = p->vsid;
	}
	atomic_store_explicit(&t->filled, filled + k, memory_order_release);
}

/* The I/O port of port id for thread th: its own uplink instance, or the
 * view's VM port (NULL: none). */
static struct hnv_io_port *io_of(const struct fwd_thread *th, const struct fwd_view *v, unsigned id)
{
	return id == HNV_PORT_UPLINK ? th->uplink : id < HNV_PORTS_MAX ? v->by_id[id] : NULL;
}

/* Sends one packet the engine decided: to the uplink batch up (*nu) or
 * out of its port. */
static void send_one(struct fwd_thread *th, const struct fwd_view *v, struct hnv_pkt *p,
		     struct hnv_pkt **up, unsigned *nu)
{
	if (hnv_reason_is_drop(p->reason))
		return;
	if (p->out_port == HNV_PORT_UPLINK) {
		up[(*nu)++] = p;
		return;
	}
	struct hnv_io_port *out = io_of(th, v, p->out_port);
	if (out)
		out->ops->tx(out, &p, 1);
}

/* The copies of a flooded frame (dp.h hnv_dp_flood), sent a batch at a
 * time from the thread's own pool, on its worker and uplink instance. */
static void flood_out(struct fwd_thread *th, const struct fwd_view *v, const struct hnv_pkt *p)
{
	if (!th->flood_pool && !(th->flood_pool = calloc(FLOOD_BATCH, sizeof(*th->flood_pool))))
		return;
	struct hnv_pkt *copies[FLOOD_BATCH], *up[FLOOD_BATCH];
	for (unsigned i = 0; i < FLOOD_BATCH; i++)
		copies[i] = &th->flood_pool[i];
	unsigned cursor = 0, k;
	while ((k = hnv_dp_flood(v->worker[th->idx], p, &cursor, copies, FLOOD_BATCH)) > 0) {
		unsigned nu = 0;
		for (unsigned i = 0; i < k; i++)
			send_one(th, v, copies[i], up, &nu);
		if (nu)
			th->uplink->ops->tx(th->uplink, up, nu);
	}
}

static void forward(struct fwd_thread *th, const struct fwd_view *v, struct fwd_trace *t,
		    struct hnv_pkt **pkts, unsigned n)
{
	struct hnv_pkt *up[FWD_BATCH];
	unsigned nu = 0, idx[FWD_BATCH], k = 0;
	bool tracing = t && !atomic_flag_test_and_set_explicit(&t->busy, memory_order_acquire);
	if (tracing)
		k = trace_arm(t, pkts, n, idx);
	hnv_dp_process(v->worker[th->idx], pkts, n);
	if (k)
		trace_finish(t, v, pkts, idx, k);
	if (tracing)
		atomic_flag_clear_explicit(&t->busy, memory_order_release);
	for (unsigned i = 0; i < n; i++) {
		struct hnv_pkt *p = pkts[i];
		if (hnv_reason_is_drop(p->reason)) {
			struct hnv_io_port *in = io_of(th, v, p->in_port);
			if (in)
				hnv_io_count(&in->st.rx_dropped, 1);
			continue;
		}
		if (p->out_port == HNV_PORT_FLOOD) {
			flood_out(th, v, p);
			continue;
		}
		send_one(th, v, p, up, &nu);
	}
	if (nu)
		th->uplink->ops->tx(th->uplink, up, nu);
}

/* One batch of the frames the fast path punted: counted as received on
 * their ingress port (rx_punt too), then forwarded as any port's. Returns
 * how many. */
static unsigned punt_drain(struct fwd_thread *th, const struct fwd_view *v, struct hnv_pkt *pool,
			   struct hnv_pkt **pkts)
{
	struct hnv_fwd *f = th->f;
	for (unsigned k = 0; k < FWD_BATCH; k++)
		pkts[k] = &pool[k];
	int got = hnv_fp_punt_read(f->fp, pkts, FWD_BATCH);
	if (got <= 0)
		return 0;
	unsigned k = 0;
	for (int i = 0; i < got; i++) {
		struct hnv_pkt *p = pkts[i];
		struct hnv_io_port *in = p->in_port < HNV_PORTS_MAX ? v->by_id[p->in_port] : NULL;
		if (!in) /* a port that left the view meanwhile */
			continue;
		hnv_io_count(&in->st.rx_punt, 1);
		hnv_io_count(&in->st.rx_packets, 1);
		hnv_io_count(&in->st.rx_bytes, p->len);
		pkts[i] = pkts[k];
		pkts[k++] = p;
	}
	if (k)
		forward(th, v, rcu_dereference(f->trace), pkts, k);
	return (unsigned)got;
}

/* Whether thread th receives from entry i of v (the uplink: every thread,
 * from its own instance). */
static bool serves(const struct fwd_thread *th, const struct fwd_view *v, unsigned i)
{
	return i == 0 || v->list[i].id % th->f->n_thr == th->idx;
}

static void *fwd_main(void *arg)
{
	struct fwd_thread *th = arg;
	struct hnv_fwd *f = th->f;
	struct hnv_pkt *pkts[FWD_BATCH];
	struct hnv_pkt *pool = calloc(FWD_BATCH, sizeof(*pool));
	if (!pool) {
		fprintf(stderr, "hnvgwd: forwarding thread %u: out of memory\n", th->idx);
		return NULL;
	}
	bool punts = f->fp && th->idx == 0;
	urcu_qsbr_register_thread();
	while (!atomic_load(&f->stop)) {
		unsigned busy = 0;
		const struct fwd_view *v = rcu_dereference(f->view);
		for (unsigned i = 0; v && i < v->n; i++) {
			if (!serves(th, v, i))
				continue;
			struct hnv_io_port *io = io_of(th, v, v->list[i].id);
			for (unsigned k = 0; k < FWD_BATCH; k++)
				pkts[k] = &pool[k];
			int got = io->ops->rx(io, pkts, FWD_BATCH, v->list[i].id);
			if (got > 0) {
				hnv_io_count(&th->rx_packets, (uint64_t)got);
				forward(th, v, rcu_dereference(f->trace), pkts, (unsigned)got);
				busy += (unsigned)got;
			}
		}
		if (v && punts) {
			unsigned got = punt_drain(th, v, pool, pkts);
			hnv_io_count(&th->rx_packets, got);
			busy += got;
		}
		urcu_qsbr_quiescent_state();
		if (busy)
			continue;
		/* idle: wait for any of its ports or a new view, holding nothing */
		v = rcu_dereference(f->view);
		struct pollfd *pfd = th->pfd;
		nfds_t np = 0;
		pfd[np++] = (struct pollfd){.fd = th->evfd, .events = POLLIN};
		if (v && punts)
			pfd[np++] = (struct pollfd){.fd = hnv_fp_punt_fd(f->fp), .events = POLLIN};
		for (unsigned i = 0; v && i < v->n; i++)
			if (serves(th, v, i))
				pfd[np++] = (struct pollfd){.fd = io_of(th, v, v->list[i].id)->fd,
							    .events = POLLIN};
		urcu_qsbr_thread_offline();
		/* fds of a view replaced meanwhile may be closed: poll then
		 * reports POLLNVAL and the next turn reads the new view */
		poll(pfd, np, FWD_IDLE_MS);
		if (pfd[0].revents & POLLIN) {
			uint64_t x;
			(void)!read(th->evfd, &x, sizeof(x));
		}
		urcu_qsbr_thread_online();
	}
	urcu_qsbr_unregister_thread();
	free(pool);
	return NULL;
}

/* ---- control ---- */

/* Stops and joins the threads started, then frees their workers and closes
 * their uplinks and eventfds. */
static void threads_free(struct hnv_fwd *f)
{
	atomic_store(&f->stop, true);
	uint64_t one = 1;
	for (unsigned k = 0; k < f->n_thr; k++)
		if (f->thr[k].started)
			(void)!write(f->thr[k].evfd, &one, sizeof(one));
	/* a thread may be online, waiting for nothing from us: join them
	 * while this thread is offline so no grace period is pending */
	urcu_qsbr_thread_offline();
	for (unsigned k = 0; k < f->n_thr; k++)
		if (f->thr[k].started)
			pthread_join(f->thr[k].thread, NULL);
	urcu_qsbr_thread_online();
	for (unsigned k = 0; k < f->n_thr; k++) {
		struct fwd_thread *th = &f->thr[k];
		hnv_dp_worker_free(th->worker);
		free(th->flood_pool);
		if (th->uplink)
			th->uplink->ops->close(th->uplink);
		if (th->evfd >= 0)
			close(th->evfd);
	}
	free(f->thr);
}

/* Opens thread k's uplink instance and eventfd. */
static int thread_open(struct hnv_fwd *f, const struct hnv_io_ops *ops, const char *uplink,
		       unsigned k, char *err, size_t errlen)
{
	struct fwd_thread *th = &f->thr[k];
	th->f = f;
	th->idx = k;
	th->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (th->evfd < 0) {
		int rc = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return rc;
	}
	int rc = ops->open(uplink, NULL, &th->uplink, err, errlen);
	if (rc == 0 && f->fp && th->uplink->ops->rx_stop)
		rc = th->uplink->ops->rx_stop(th->uplink, err, errlen);
	return rc;
}

int hnv_fwd_new(const char *uplink, const char *backend, struct hnv_fp *fp, unsigned threads,
		struct hnv_fwd **out, char *err, size_t errlen)
{
	const struct hnv_io_ops *ops;
	if (!backend)
		backend = HNV_FWD_DEFAULT_BACKEND;
	if (strcmp(backend, "raw") == 0) {
		ops = &hnv_io_uplink_raw_ops;
	} else if (strcmp(backend, "packet") == 0) {
		ops = &hnv_io_uplink_packet_ops;
	} else {
		snprintf(err, errlen, "unknown uplink backend \"%s\" (raw or packet)", backend);
		return -EINVAL;
	}
	if (threads < 1 || threads > HNV_FWD_THREADS_MAX) {
		snprintf(err, errlen, "%u forwarding threads: 1 to %d are supported", threads,
			 HNV_FWD_THREADS_MAX);
		return -EINVAL;
	}
	if (threads > 1 && !ops->steer) {
		snprintf(err, errlen, "uplink backend %s cannot steer to several threads", backend);
		return -EINVAL;
	}
	struct hnv_fwd *f = calloc(1, sizeof(*f));
	if (!f || !(f->thr = calloc(threads, sizeof(*f->thr)))) {
		free(f);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	f->fp = fp;
	f->n_thr = threads;
	for (unsigned k = 0; k < threads; k++)
		f->thr[k].evfd = -1;
	int rc = 0;
	for (unsigned k = 0; k < threads && rc == 0; k++)
		rc = thread_open(f, ops, uplink, k, err, errlen);
	f->uplink = f->thr[0].uplink;
	/* the instances are steered as a set, before any thread reads one;
	 * those that rx_stop stopped receive nothing and need none */
	if (rc == 0 && threads > 1 && !(fp && ops->rx_stop)) {
		struct hnv_io_port *up[HNV_FWD_THREADS_MAX];
		for (unsigned k = 0; k < threads; k++)
			up[k] = f->thr[k].uplink;
		rc = ops->steer(up, threads, err, errlen);
	}
	for (unsigned k = 0; k < threads && rc == 0; k++) {
		rc = -pthread_create(&f->thr[k].thread, NULL, fwd_main, &f->thr[k]);
		if (rc)
			snprintf(err, errlen, "cannot start forwarding thread %u: %s", k,
				 strerror(-rc));
		f->thr[k].started = rc == 0;
	}
	if (rc) {
		threads_free(f);
		free(f);
		return rc;
	}
	*out = f;
	return 0;
}

unsigned hnv_fwd_threads(const struct hnv_fwd *f)
{
	return f->n_thr;
}

/* The device a port's I/O uses. */
static const char *port_dev(const struct fwd_port *p)
{
	return p->dev[0] ? p->dev : p->name;
}

/* The newest I/O port of name: the one the next view uses; NULL: none. */
static struct fwd_port *port_wanted(const struct hnv_fwd *f, const char *name)
{
	struct fwd_port *best = NULL;
	for (size_t i = 0; i < f->n_port; i++)
		if (strcmp(f->port[i]->name, name) == 0 && (!best || f->port[i]->gen > best->gen))
			best = f->port[i];
	return best;
}

static struct fwd_port *port_exact(const struct hnv_fwd *f, const char *name, const char *dev,
				   bool gateway)
{
	for (size_t i = 0; i < f->n_port; i++) {
		struct fwd_port *p = f->port[i];
		if (strcmp(p->name, name) == 0 && strcmp(p->dev, dev) == 0 && p->gateway == gateway)
			return p;
	}
	return NULL;
}

static bool view_has(const struct fwd_view *v, const struct fwd_port *p)
{
	for (unsigned i = 1; v && i < v->n; i++)
		if (v->list[i].port == p)
			return true;
	return false;
}

/* Opens p's I/O: its TAP, or a socket on its device (send only when the
 * fast path serves the device's ingress). */
static int port_open(const struct hnv_fwd *f, struct fwd_port *p, char *err, size_t errlen)
{
	const struct hnv_io_ops *ops = p->dev[0]
					       ? (f->fp ? &hnv_io_dev_txonly_ops : &hnv_io_dev_ops)
				       : p->gateway ? &hnv_io_tap_persist_ops
						    : &hnv_io_tap_ops;
	char e[256];
	int rc = ops->open(port_dev(p), &p->mac, &p->io, e, sizeof(e));
	if (rc)
		snprintf(err, errlen, "port %s: %s", p->name, e);
	return rc;
}

int hnv_fwd_port_add(struct hnv_fwd *f, const char *name, const struct hnv_mac *mac, bool gateway,
		     const char *dev, char *err, size_t errlen)
{
	dev = dev ? dev : "";
	struct fwd_port *p = port_exact(f, name, dev, gateway);
	if (p) {
		int rc = !p->io && f->dp ? port_open(f, p, err, errlen) : 0;
		if (rc)
			return rc;
		p->gen = ++f->gen;
		f->ports_dirty = true;
		return 0;
	}
	if (strlen(name) > HNV_NAME_MAX || strlen(dev) >= IF_NAMESIZE) {
		snprintf(err, errlen, "port %s: name or device too long", name);
		return -EINVAL;
	}
	if (dev[0] && strcmp(dev, f->uplink->name) == 0) {
		snprintf(err, errlen, "port %s: device %s is the uplink", name, dev);
		return -EINVAL;
	}
	if (HNV_GROW(f->port, f->cap_port, f->n_port + 1) || !(p = calloc(1, sizeof(*p)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->dev, sizeof(p->dev), "%s", dev);
	p->mac = *mac;
	p->gateway = gateway;
	p->fp_id = -1;
	/* before attach: noted only, opened by attach */
	int rc = f->dp ? port_open(f, p, err, errlen) : 0;
	if (rc) {
		free(p);
		return rc;
	}
	p->gen = ++f->gen;
	f->port[f->n_port++] = p;
	f->ports_dirty = true;
	return 0;
}

const char *hnv_fwd_port_dev(const struct hnv_fwd *f, const char *name)
{
	const struct fwd_port *p = port_wanted(f, name);
	return p && p->dev[0] ? p->dev : NULL;
}

static void port_close(struct hnv_fwd *f, struct fwd_port *p)
{
	if (p->fp_id >= 0)
		hnv_fp_detach_port(f->fp, (unsigned)p->fp_id);
	if (p->io)
		p->io->ops->close(p->io);
	free(p);
}

/* Closes the I/O ports that neither the view v nor a port still to come
 * has: those of ports the datapath no longer holds, and the older ones of
 * a name whose port moved to another device. Only after a grace period
 * since v replaced any view that had them. A --dev device is only
 * detached: its socket closed, the fast path's program removed. */
static void ports_close_unused(struct hnv_fwd *f, const struct fwd_view *v)
{
	const struct hnv_policy *pol = hnv_dp_policy(f->dp);
	size_t k = 0;
	for (size_t i = 0; i < f->n_port; i++) {
		struct fwd_port *p = f->port[i];
		if (view_has(v, p) ||
		    (hnv_policy_port_id(pol, p->name) >= 0 && port_wanted(f, p->name) == p))
			f->port[k++] = p;
		else
			port_close(f, p);
	}
	f->n_port = k;
}

/* The view of the datapath's current ports in *out, opening a TAP for a
 * port that has no I/O yet. A --dev port whose device is still missing
 * (noted before attach) is left out of the view, and f->missing set. 0, or
 * a negative errno with err. */
static int view_build(struct hnv_fwd *f, struct fwd_view **out, char *err, size_t errlen)
{
	struct fwd_view *v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	v->dp = f->dp;
	for (unsigned k = 0; k < f->n_thr; k++)
		v->worker[k] = f->thr[k].worker;
	v->list[v->n++] = (struct fwd_entry){HNV_PORT_UPLINK, f->uplink, NULL};
	v->by_id[HNV_PORT_UPLINK] = f->uplink;
	v->name_by_id[HNV_PORT_UPLINK] = "uplink";
	f->missing = false;
	const struct hnv_policy *pol = hnv_dp_policy(f->dp);
	for (unsigned id = 1; id < HNV_PORTS_MAX; id++) {
		const struct hnv_port *pt = hnv_policy_port(pol, id);
		if (!pt)
			continue;
		struct fwd_port *p = port_wanted(f, pt->name);
		int rc = 0;
		if (!p &&
		    !(rc = hnv_fwd_port_add(f, pt->name, &pt->mac, pt->gateway, NULL, err, errlen)))
			p = port_wanted(f, pt->name);
		if (rc == 0 && !p->io && (rc = port_open(f, p, err, errlen)) && p->dev[0]) {
			f->missing = true;
			continue;
		}
		if (rc) {
			free(v);
			return rc;
		}
		v->list[v->n++] = (struct fwd_entry){(uint16_t)id, p->io, p};
		v->by_id[id] = p->io;
		v->name_by_id[id] = p->name;
	}
	*out = v;
	return 0;
}

static bool view_same(const struct fwd_view *a, const struct fwd_view *b)
{
	if (!a || !b || a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (a->list[i].id != b->list[i].id || a->list[i].io != b->list[i].io)
			return false;
	return true;
}

/* ---- remote PAs ---- */

static size_t pa_hash(const struct hnv_ip *pa)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (unsigned i = 0; i < 16; i++)
		h = (h ^ pa->b[i]) * 0x100000001b3ull;
	return (size_t)h;
}

/* 1 when pa was added, 0 when known, -ENOMEM. */
static int pa_set_add(struct pa_set *s, const struct hnv_ip *pa)
{
	if ((s->n + 1) * 2 > (s->slot ? s->mask + 1 : 0)) {
		size_t nmask = s->slot ? 2 * s->mask + 1 : 15;
		struct hnv_ip *ns = calloc(nmask + 1, sizeof(*ns));
		bool *nu = calloc(nmask + 1, sizeof(*nu));
		if (!ns || !nu) {
			free(ns);
			free(nu);
			return -ENOMEM;
		}
		for (size_t i = 0; s->slot && i <= s->mask; i++) {
			if (!s->used[i])
				continue;
			size_t j = pa_hash(&s->slot[i]) & nmask;
			while (nu[j])
				j = (j + 1) & nmask;
			ns[j] = s->slot[i];
			nu[j] = true;
		}
		free(s->slot);
		free(s->used);
		s->slot = ns;
		s->used = nu;
		s->mask = nmask;
	}
	size_t i = pa_hash(pa) & s->mask;
	for (; s->used[i]; i = (i + 1) & s->mask)
		if (hnv_ip_eq(&s->slot[i], pa))
			return 0;
	s->slot[i] = *pa;
	s->used[i] = true;
	s->n++;
	return 1;
}

static int pa_seen(const struct hnv_rec *r, void *arg)
{
	struct pa_set *s = arg;
	return pa_set_add(s, &r->pa) < 0;
}

void hnv_fwd_remote_pa(struct hnv_fwd *f, const struct hnv_ip *pa)
{
	if (!f->dp || hnv_ip_is_unspec(pa) || hnv_policy_is_local_pa(hnv_dp_policy(f->dp), pa))
		return;
	/* out of memory: refill anyway, the uplink covers every PA */
	if (pa_set_add(&f->pas, pa) != 0)
		f->uplink_stale = true;
}

void hnv_fwd_uplink_stale(struct hnv_fwd *f)
{
	f->uplink_stale = true;
}

/* ---- attach and publish ---- */

/* Makes the fast path serve exactly the ports of the published view v:
 * ports that left it or changed id are detached first, then the new ones
 * attached. 0, or a negative errno with err. */
static int fp_sync(struct hnv_fwd *f, const struct fwd_view *v, char *err, size_t errlen)
{
	if (!f->fp)
		return 0;
	for (size_t i = 0; i < f->n_port; i++) {
		struct fwd_port *p = f->port[i];
		int want = -1;
		for (unsigned k = 1; k < v->n; k++)
			if (v->list[k].port == p)
				want = v->list[k].id;
		if (p->fp_id >= 0 && p->fp_id != want) {
			hnv_fp_detach_port(f->fp, (unsigned)p->fp_id);
			p->fp_id = -1;
		}
	}
	for (unsigned k = 1; k < v->n; k++) {
		struct fwd_port *p = v->list[k].port;
		if (p->fp_id >= 0)
			continue;
		enum hnv_fp_port_kind kind = p->dev[0]    ? HNV_FP_PORT_DEV
					     : p->gateway ? HNV_FP_PORT_GATEWAY
							  : HNV_FP_PORT_TAP;
		char e[256];
		int rc = hnv_fp_attach_port(f->fp, v->list[k].id, port_dev(p), kind, e, sizeof(e));
		if (rc) {
			snprintf(err, errlen, "fast path: port %s (device %s): %s", p->name,
				 port_dev(p), e);
			return rc;
		}
		p->fp_id = v->list[k].id;
	}
	return 0;
}

/* Makes v the forwarding thread's view; after a grace period frees the
 * view it replaces, closes the I/O ports no port uses any more and lets
 * the fast path follow. */
static int view_publish(struct hnv_fwd *f, struct fwd_view *v, char *err, size_t errlen)
{
	struct fwd_view *old = f->view;
	rcu_assign_pointer(f->view, v);
	uint64_t one = 1;
	for (unsigned k = 0; k < f->n_thr; k++)
		(void)!write(f->thr[k].evfd, &one, sizeof(one));
	urcu_qsbr_synchronize_rcu();
	free(old);
	ports_close_unused(f, v);
	return fp_sync(f, v, err, errlen);
}

/* Binds the fast path to dp and attaches it to the uplink. */
static int fp_start(struct hnv_fwd *f, struct hnv_dp *dp, char *err, size_t errlen)
{
	char e[256];
	int rc = hnv_fp_bind(f->fp, dp, e, sizeof(e));
	if (rc == 0)
		rc = hnv_fp_attach_uplink(f->fp, f->uplink->name, e, sizeof(e));
	if (rc)
		snprintf(err, errlen, "fast path: %s", e);
	return rc;
}

/* Lets every thread's uplink instance fill its state into f->dp (the
 * AF_PACKET backend also starts resolving next hops in each instance's
 * own table). */
static int uplinks_prepare(struct hnv_fwd *f, char *err, size_t errlen)
{
	for (unsigned k = 0; k < f->n_thr; k++) {
		struct hnv_io_port *u = f->thr[k].uplink;
		int rc = u->ops->prepare ? u->ops->prepare(u, f->dp, err, errlen) : 0;
		if (rc)
			return rc;
	}
	return 0;
}

int hnv_fwd_attach(struct hnv_fwd *f, struct hnv_dp *dp, char *err, size_t errlen)
{
	if (f->dp) {
		snprintf(err, errlen, "the forwarding thread has a datapath already");
		return -EBUSY;
	}
	int rc = -ENOMEM;
	f->dp = dp;
	struct fwd_view *v = NULL;
	for (unsigned k = 0; k < f->n_thr; k++)
		if (!(f->thr[k].worker = hnv_dp_worker_new(dp))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	if (hnv_policy_rec_foreach(hnv_dp_policy(dp), pa_seen, &f->pas)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((rc = view_build(f, &v, err, errlen)))
		goto fail;
	for (size_t i = 0; i < f->n_port; i++)
		if (f->port[i]->dev[0] && !f->port[i]->io)
			hnv_log(HNV_LOG_WARNING,
				"port %s: device %s does not exist; the port is attached once it "
				"does (at the next configuration change)",
				f->port[i]->name, f->port[i]->dev);
	if ((rc = uplinks_prepare(f, err, errlen)))
		goto fail;
	if (f->fp && (rc = fp_start(f, dp, err, errlen)))
		goto fail;
	if ((rc = view_publish(f, v, err, errlen))) {
		v = NULL; /* published: the thread forwards on it; freed by hnv_fwd_free */
		goto fail_published;
	}
	return 0;
fail:
	free(v);
fail_published:
	if (f->view) { /* stop forwarding on dp before giving it back */
		struct fwd_view *old = f->view;
		rcu_assign_pointer(f->view, NULL);
		urcu_qsbr_synchronize_rcu();
		free(old);
	}
	for (unsigned k = 0; k < f->n_thr; k++) {
		hnv_dp_worker_free(f->thr[k].worker);
		f->thr[k].worker = NULL;
	}
	f->dp = NULL;
	for (size_t i = 0; i < f->n_port; i++)
		port_close(f, f->port[i]);
	f->n_port = 0;
	return rc;
}

int hnv_fwd_publish(struct hnv_fwd *f, bool ports, char *err, size_t errlen)
{
	if (!f->dp)
		return 0;
	int rc;
	if (f->uplink_stale && (rc = uplinks_prepare(f, err, errlen)))
		return rc;
	f->uplink_stale = false;
	if (!ports && !f->ports_dirty && !f->missing)
		return 0;
	struct fwd_view *v;
	if ((rc = view_build(f, &v, err, errlen)))
		return rc;
	f->ports_dirty = false;
	if (view_same(v, f->view)) {
		free(v);
		/* I/O opened for ports an undone change did not keep */
		ports_close_unused(f, f->view);
		return 0;
	}
	return view_publish(f, v, err, errlen);
}
int hnv_fwd_trace_start(struct hnv_fwd *f, unsigned count, const char *port, uint64_t *id,
			char *err, size_t errlen)
{
	if (count < 1 || count > HNV_FWD_TRACE_MAX) {
		snprintf(err, errlen, "trace count %u is out of range (1-%d)", count,
			 HNV_FWD_TRACE_MAX);
		return -EINVAL;
	}
	int pid = -1;
	if (port && strcmp(port, "uplink") == 0) {
		pid = HNV_PORT_UPLINK;
	} else if (port) {
		const struct fwd_view *v = f->view;
		for (unsigned i = 1; v && i < v->n && pid < 0; i++)
			if (strcmp(v->list[i].port->name, port) == 0)
				pid = v->list[i].id;
		if (pid < 0) {
			snprintf(err, errlen, "trace: no port \"%s\" on this host edge", port);
			return -ENOENT;
		}
	}
	struct fwd_trace *t = calloc(1, sizeof(*t) + count * sizeof(t->rec[0]));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->id = ++f->trace_ids;
	t->count = count;
	t->port = pid;
	if (f->fp) {
		struct hnv_fp_trace drop[16];
		hnv_fp_trace_set(f->fp, true);
		while (hnv_fp_trace_take(f->fp, drop, 16) == 16) /* an older session's */
			;
		f->n_fptrace = 0;
	}
	struct fwd_trace *old = f->trace;
	rcu_assign_pointer(f->trace, t);
	if (old) {
		urcu_qsbr_synchronize_rcu();
		free(old);
	}
	*id = t->id;
	return 0;
}

int hnv_fwd_trace_read(struct hnv_fwd *f, uint64_t id, const struct hnv_fwd_trace_rec **recs,
		       unsigned *count)
{
	const struct fwd_trace *t = f->trace; /* the control thread publishes it */
	if (!t || t->id != id)
		return -ESTALE;
	*count = atomic_load_explicit(&t->filled, memory_order_acquire);
	*recs = t->rec;
	return 0;
}

/* The port name of the device ifindex in view v ("uplink", or "" when
 * none). */
static void name_of_ifindex(const struct hnv_fwd *f, const struct fwd_view *v, unsigned ifindex,
			    char *out, size_t len)
{
	char dev[IF_NAMESIZE];
	out[0] = '\0';
	if (!ifindex || !if_indextoname(ifindex, dev))
		return;
	if (strcmp(dev, f->uplink->name) == 0) {
		snprintf(out, len, "uplink");
		return;
	}
	for (unsigned i = 1; v && i < v->n; i++)
		if (strcmp(port_dev(v->list[i].port), dev) == 0) {
			snprintf(out, len, "%s", v->list[i].port->name);
			return;
		}
	snprintf(out, len, "%s", dev);
}

int hnv_fwd_trace_read_fp(struct hnv_fwd *f, uint64_t id, const struct hnv_fwd_trace_rec **recs,
			  unsigned *count)
{
	const struct fwd_trace *t = f->trace;
	if (!t || t->id != id)
		return -ESTALE;
	const struct fwd_view *v = f->view;
	struct hnv_fp_trace ev[16];
	unsigned got;
	while (f->fp && f->n_fptrace < t->count && (got = hnv_fp_trace_take(f->fp, ev, 16)) > 0) {
		for (unsigned i = 0; i < got && f->n_fptrace < t->count; i++) {
			if (t->port >= 0 && ev[i].in_port != (unsigned)t->port)
				continue;
			struct hnv_fwd_trace_rec *r = &f->fptrace[f->n_fptrace++];
			memset(r, 0, sizeof(*r));
			r->fast_path = true;
			r->fp_action = ev[i].v.action;
			r->reason = (uint16_t)(ev[i].v.reason < HNV_R__COUNT ? ev[i].v.reason
									     : HNV_R__COUNT);
			r->vsid = ev[i].v.vsid;
			snprintf(r->ingress, sizeof(r->ingress), "%s",
				 v && ev[i].in_port < HNV_PORTS_MAX && v->name_by_id[ev[i].in_port]
					 ? v->name_by_id[ev[i].in_port]
					 : "?");
			if (r->fp_action == FP_ACT_REDIRECT)
				name_of_ifindex(f, v, ev[i].v.out_ifindex, r->egress,
						sizeof(r->egress));
		}
	}
	if (f->fp && f->n_fptrace >= t->count)
		hnv_fp_trace_set(f->fp, false);
	*recs = f->fptrace;
	*count = f->n_fptrace;
	return 0;
}

void hnv_fwd_free(struct hnv_fwd *f)
{
	if (!f)
		return;
	threads_free(f); /* first: no thread uses anything below any more */
	free(f->view);
	for (size_t i = 0; i < f->n_port; i++)
		port_close(f, f->port[i]);
	free(f->port);
	free(f->trace); /* the threads have ended */
	free(f->pas.slot);
	free(f->pas.used);
	free(f);
}

/* Counter field of io, or for the uplink (entry 0) its sum over every
 * thread's instance. */
#define IO_SUM(f, i, io, field)                                                                    \
	((i) == 0 ? uplink_sum(f, offsetof(struct hnv_io_stats, field))                            \
		  : atomic_load_explicit(&(io)->st.field, memory_order_relaxed))

static uint64_t uplink_sum(const struct hnv_fwd *f, size_t off)
{
	uint64_t sum = 0;
	for (unsigned k = 0; k < f->n_thr; k++)
		sum += atomic_load_explicit(
			(_Atomic uint64_t *)((char *)&f->thr[k].uplink->st + off),
			memory_order_relaxed);
	return sum;
}

void hnv_fwd_stats_tiers(struct hnv_fwd *f, hnv_fwd_tier_stat_cb cb, void *arg)
{
	const struct fwd_view *v = f->view; /* the control thread publishes it */
	bool tiers = f->fp != NULL;
	for (unsigned i = 0; v && i < v->n; i++) {
		struct hnv_io_port *io = v->list[i].io;
		const char *name = i == 0 ? "uplink" : v->list[i].port->name;
		/* the fast path's share (fp_maps.h struct fp_port_stats): its
		 * I/O on the port, counted as the engine counts its own */
		struct fp_port_stats ps;
		memset(&ps, 0, sizeof(ps));
		if (tiers)
			hnv_fp_port_stats(f->fp, v->list[i].id, &ps);
#define S(field, fp_share, is_err)                                                                 \
	do {                                                                                       \
		uint64_t e_ = IO_SUM(f, i, io, field);                                             \
		cb(name, #field, e_ + (fp_share), (fp_share), tiers, is_err, arg);                 \
	} while (0)
		S(rx_packets, ps.rx_packets, false);
		S(rx_bytes, ps.rx_bytes, false);
		S(rx_errors, 0, true);
		S(rx_dropped, ps.rx_dropped, true);
		S(tx_packets, ps.tx_packets, false);
		S(tx_bytes, ps.tx_bytes, false);
		S(tx_errors, 0, true);
		if (io->ops == &hnv_io_uplink_packet_ops)
			S(tx_no_neigh, 0, true);
		if (f->fp)
			S(rx_punt, 0, false);
#undef S
	}
	for (unsigned k = 0; k < f->n_thr; k++) {
		const struct fwd_thread *th = &f->thr[k];
		char name[32];
		snprintf(name, sizeof(name), "thread:%u", k);
		cb(name, "rx_packets", atomic_load_explicit(&th->rx_packets, memory_order_relaxed),
		   0, false, false, arg);
		cb(name, "uplink_rx_packets",
		   atomic_load_explicit(&th->uplink->st.rx_packets, memory_order_relaxed), 0, false,
		   false, arg);
	}
	if (f->fp) {
		uint64_t ev[FP_C__COUNT - HNV_R__COUNT] = {0};
		hnv_fp_events(f->fp, ev);
		cb("fastpath", "punted", ev[FP_C_PUNT - HNV_R__COUNT], 0, false, false, arg);
		cb("fastpath", "punt_lost", ev[FP_C_PUNT_LOST - HNV_R__COUNT], 0, false, true, arg);
		cb("fastpath", "passed", ev[FP_C_PASS - HNV_R__COUNT], 0, false, false, arg);
	}
}

struct sum_arg {
	hnv_fwd_stat_cb cb;
	void *arg;
};

static void sum_cb(const char *port, const char *counter, uint64_t value, uint64_t fast_path,
		   bool tiers, bool is_error, void *arg)
{
	(void)fast_path, (void)tiers;
	struct sum_arg *a = arg;
	a->cb(port, counter, value, is_error, a->arg);
}

void hnv_fwd_stats(struct hnv_fwd *f, hnv_fwd_stat_cb cb, void *arg)
{
	struct sum_arg a = {cb, arg};
	hnv_fwd_stats_tiers(f, sum_cb, &a);
}

bool hnv_fwd_fp_counters(struct hnv_fwd *f, uint64_t out[HNV_R__COUNT])
{
	if (!f->fp)
		return false;
	memset(out, 0, HNV_R__COUNT * sizeof(out[0]));
	hnv_fp_counters(f->fp, out);
	return true;
}

struct hnv_fp *hnv_fwd_fp(struct hnv_fwd *f)
{
	return f->fp;
}
