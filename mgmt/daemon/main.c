/* hnvgwd_main.c: the hnvgw daemon.
 *
 *   hnvgwd [--state-dir DIR] [--socket PATH] [--foreground]
 *          [--log-level err|warning|notice|info|debug] [--uplink IF]
 *          [--uplink-backend raw|packet] [--datapath kernel|userspace|auto]
 *          [--fwd-threads N] [--zebra PATH|none]
 *          [--etcd URL[,URL...] --host-name NAME [--etcd-prefix PREFIX]
 *           [--etcd-cacert FILE] [--etcd-cert FILE --etcd-key FILE]
 *           [--etcd-user NAME --etcd-password-file FILE]]
 *          [--metrics ADDR:PORT]
 *
 * --uplink IF makes hnvgwd an HNV host edge: NVGRE is sent and received on
 * interface IF (the provider network), every configured port gets a TAP
 * device of its name, and a forwarding thread moves packets between them
 * (datapath/io/fwd.h). Without it hnvgwd only manages the configuration.
 * --uplink-backend picks how the uplink sends and receives: raw (raw IPv4
 * socket, the kernel routes the outer packet; the default) or packet
 * (AF_PACKET, outer Ethernet built from the kernel's route and neighbour
 * tables; needed for IPv6 PAs).
 * --fwd-threads N (1 to 16, default 1; needs --uplink): N forwarding
 * threads. Each has its own uplink socket and gets its share of received
 * NVGRE by a hash of the VSID and the inner flow (datapath/io/steer.h):
 * with the packet backend the sockets form one PACKET_FANOUT_CBPF group
 * (the kernel runs the hash once per frame), with the raw backend each
 * socket's filter keeps its share. One remote host's traffic spreads over
 * the threads and every flow stays on one. VM ports are read by thread
 * (port id % N); with the fast path only thread 0 reads its punts. `show
 * counters` has thread:K.rx_packets and thread:K.uplink_rx_packets. Why 1
 * by default: with the kernel fast path (the tier used when it loads) the
 * threads carry only punts and hnvgwd's TAPs, and each further thread
 * costs the raw backend one more socket filter run and copy per NVGRE
 * packet; set it for the userspace tier, at
 * most one per CPU the host gives hnvgwd.
 * --datapath picks the forwarding tier (ARCHITECTURE "Two tiers"): kernel
 * (the tc eBPF fast path, datapath/bpf/fp.h, forwards ordinary unicast in
 * the kernel and punts the rest to the C engine; hnvgwd does not start
 * when it cannot be loaded and attached), userspace (the C engine forwards
 * everything; no eBPF is loaded) or auto (the default: kernel when it
 * loads, else one log line saying why, and userspace). `show status` says
 * which tier forwards and why.
 * --zebra PATH: zebra's API socket (default /run/frr/zserv.api), used once
 * the configuration has a gateway (the gateway role installs the routes it
 * owns per VRF there); none: never talk to zebra.
 * --vici PATH: charon's VICI socket (default /var/run/charon.vici), used
 * once the configuration has an S2S tunnel; none: never talk to charon.
 * --frr-pathspace NAME: the FRR instance of this hnvgwd is FRR's pathspace
 * NAME (zebra/bgpd -N NAME): vtysh is run with -N NAME and the BGP fragment
 * is /etc/frr/NAME/hnvgw-bgp.conf (the directory is created), bgpd's pid is
 * read from /run/frr/NAME/bgpd.pid (its restarts are watched), so that two
 * gateway instances (network namespaces of one machine, each with its own
 * zebra, bgpd and --zebra /run/frr/NAME/zserv.api) do not share FRR.
 * --bgp-fragment PATH: the BGP fragment hnvgwd writes and loads with vtysh
 * (default /etc/frr/hnvgw-bgp.conf, or the pathspace's as above).
 * --etcd: routing domains, subnets, pools, ports, lookup records, customer
 * routes and gateway attachments are shared with other hosts through etcd
 * (members tried in turn) under PREFIX (default /hnvgw/); this host,
 * named --host-name, applies the routing domains it has ports or gateway
 * attachments in (mgmt/daemon/sync.h). Without --etcd everything is local.
 * --etcd-cacert: the CA that signed the members' certificates (https://
 * URLs; else the system's CAs). --etcd-cert, --etcd-key: a client
 * certificate for etcd's --client-cert-auth; the key file must be mode
 * 0600 (or 0400), else hnvgwd does not start. --etcd-user,
 * --etcd-password-file: an etcd user (etcd auth enabled), its password the
 * file's first line (mode 0600 too); hnvgwd authenticates and sends the
 * token etcd gives with every request (mgmt/etcd.h).
 * --metrics ADDR:PORT (IPv4 "A.B.C.D:PORT" or "[IPV6]:PORT"; off by
 * default): a Prometheus endpoint, GET /metrics, served by libmicrohttpd in
 * its own thread; the document is built on the control thread
 * (mgmt/daemon/metrics.h). A bad value or an address that cannot be
 * listened on stops the start.
 * --gateway-pool NAME: this gateway is a member of the pool NAME (needs
 * --etcd and --host-name): it holds an etcd lease of --pool-ttl seconds
 * (default 3) and the key pool/NAME/member/HOST bound to it, and considers
 * itself fenced when no keepalive has succeeded for long enough that etcd
 * may have expired the lease (mgmt/daemon/pool.h, docs/gateway-pool.md).
 *
 * Start-up, in this order: register with liburcu-qsbr; open the state
 * directory and load the current config into a model (a bad hnvgw.conf is
 * refused with its name and line, and the last good revision runs: see
 * hnv_core_open); build the
 * datapath from it; create the control socket; tell systemd READY=1
 * (Type=notify). Without --foreground the daemon forks and the parent exits
 * once the child is ready (status 0) or has failed (status 1).
 *
 * SIGTERM and SIGINT end it cleanly; SIGHUP re-reads the stored config.
 * SIGKILL at any time loses nothing acknowledged: every change is persisted
 * atomically before its reply is sent.
 */
#include "../../datapath/bpf/fp.h"
#include "../../datapath/io/fwd.h"
#include "../../gateway/gw.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "../api.h"
#include "control.h"
#include "gwstate.h"
#include "metrics.h"
#include "metrics_gather.h"
#include "pool.h"
#include "proutes.h"
#include "sync.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-qsbr.h>

#define DEFAULT_STATE_DIR "/etc/hnvgw"

static volatile sig_atomic_t stop_flag, reload_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	reload_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hnvgwd [--state-dir DIR] [--socket PATH] [--foreground]\n"
		"              [--log-level err|warning|notice|info|debug] [--uplink IF]\n"
		"              [--uplink-backend raw|packet] [--datapath kernel|userspace|auto]\n"
		"              [--fwd-threads N] [--zebra PATH|none] [--vici PATH|none]\n"
		"              [--frr-pathspace NAME] [--bgp-fragment PATH]\n"
		"              [--learn-timeout SECONDS]\n"
		"              [--etcd URL[,URL...] --host-name NAME [--etcd-prefix P]\n"
		"               [--etcd-cacert FILE] [--etcd-cert FILE --etcd-key FILE]\n"
		"               [--etcd-user NAME --etcd-password-file FILE]\n"
		"               [--gateway-pool NAME [--pool-ttl SECONDS]]]\n"
		"              [--metrics ADDR:PORT]\n"
		"defaults: --state-dir " DEFAULT_STATE_DIR " --socket " HNV_API_DEFAULT_SOCK
		" --log-level info --datapath auto --fwd-threads 1 --learn-timeout 300\n");
}

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET, an
 * absolute path or an abstract name written with a leading '@'. Returns 0
 * when not run by systemd. */
static int sd_notify_send(const char *msg)
{
	const char *e = getenv("NOTIFY_SOCKET");
	if (!e || !*e)
		return 0;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(e);
	if ((e[0] != '/' && e[0] != '@') || len >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, e, len);
	if (e[0] == '@')
		sa.sun_path[0] = '\0';
	socklen_t salen =
		(socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (e[0] == '@' ? 0 : 1));
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ssize_t w = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	int rc = w < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* True when stderr is the journal stream systemd connected: then lines
 * carry "<N>" priority prefixes ($JOURNAL_STREAM is "DEV:INODE" of it). */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st))
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* Forks; the parent waits for one status byte from the child ('0' ready)
 * and exits with it. Returns the write end of the pipe in the child. */
static int daemonize(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC)) {
		perror("hnvgwd: pipe");
		exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("hnvgwd: fork");
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		char c = '1';
		ssize_t r;
		do
			r = read(p[0], &c, 1);
		while (r < 0 && errno == EINTR);
		_exit(r == 1 && c == '0' ? 0 : 1);
	}
	close(p[0]);
	setsid();
	if (chdir("/")) {
		/* not fatal: paths given were already made absolute or relative to
		 * the start directory by the caller */
	}
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	return p[1];
}

static void report_ready(int fd, bool ok)
{
	if (fd < 0)
		return;
	char c = ok ? '0' : '1';
	(void)!write(fd, &c, 1);
	close(fd);
}

/* An absolute path for p (the daemon leaves the start directory). */
static char *absolute(const char *p)
{
	if (p[0] == '/')
		return strdup(p);
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	size_t n = strlen(cwd) + strlen(p) + 2;
	char *r = malloc(n);
	if (r)
		snprintf(r, n, "%s/%s", cwd, p);
	return r;
}

static void gw_changed(void *arg, const struct hnv_model *m)
{
	hnv_gwstate_apply(arg, m);
}

static json_object *gw_status(void *arg)
{
	return hnv_gw_show(arg);
}

static json_object *gw_nat(void *arg)
{
	return hnv_gw_show_nat(arg);
}

static json_object *gw_routes(void *arg)
{
	return hnv_gw_show_routes(arg);
}

static json_object *gw_learned(void *arg)
{
	return hnv_gw_show_learned(arg);
}

static json_object *gw_conns(void *arg)
{
	return hnv_gw_show_conns(arg);
}

static json_object *gw_bgp_peers(void *arg)
{
	return hnv_gw_show_bgp_peers(arg);
}

static json_object *gw_s2s(void *arg)
{
	return hnv_gw_show_s2s(arg);
}

static int gw_s2s_ctl(void *arg, const char *name, bool up, char *err, size_t errlen)
{
	return hnv_gw_s2s_ctl(arg, name, up, err, errlen);
}

/* The command line. */
struct args {
	const char *state_dir, *sock, *uplink, *backend, *zserv, *vici, *datapath;
	const char *etcd, *host_name, *etcd_prefix;
	const char *etcd_cacert, *etcd_cert, *etcd_key, *etcd_user, *etcd_password_file;
	const char *metrics; /* --metrics ADDR:PORT, or NULL */
	bool foreground;
	unsigned fwd_threads; /* 0: not given (1) */
	enum hnv_log_level level;
	unsigned learn_timeout; /* 0: the default (HNV_LEARN_TIMEOUT_DEFAULT) */
	const char *gateway_pool;
	unsigned pool_ttl;         /* 0: not given (HNV_POOL_DEFAULT_TTL) */
	const char *frr_pathspace; /* --frr-pathspace, or NULL: FRR's default */
	const char *bgp_fragment;  /* --bgp-fragment, or NULL: see frr_fragment */
};

/* What getopt cannot check: no operands, and the --etcd options together. */
static int check_args(int argc, char **argv, const struct args *a)
{
	if (optind != argc) {
		fprintf(stderr, "hnvgwd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if ((a->host_name || a->etcd_prefix || a->etcd_cacert || a->etcd_cert || a->etcd_key ||
	     a->etcd_user || a->etcd_password_file) &&
	    !a->etcd) {
		fprintf(stderr, "hnvgwd: --host-name and the --etcd-* options need --etcd\n");
		usage(stderr);
		return 2;
	}
	if (!a->etcd_cert != !a->etcd_key || !a->etcd_user != !a->etcd_password_file) {
		fprintf(stderr, "hnvgwd: --etcd-cert and --etcd-key go together, so do "
				"--etcd-user and --etcd-password-file\n");
		usage(stderr);
		return 2;
	}
	if ((a->gateway_pool || a->pool_ttl) && (!a->etcd || !a->gateway_pool)) {
		fprintf(stderr, "hnvgwd: --gateway-pool needs --etcd and --host-name (the pool is "
				"coordinated through etcd), --pool-ttl needs --gateway-pool\n");
		usage(stderr);
		return 2;
	}
	if (a->gateway_pool && hnv_sync_host_valid(a->gateway_pool)) {
		fprintf(stderr,
			"hnvgwd: --gateway-pool \"%s\": want 1-%d letters, digits, '_', '.' or "
			"'-'\n",
			a->gateway_pool, HNV_SYNC_HOST_MAX);
		usage(stderr);
		return 2;
	}
	if (a->fwd_threads && !a->uplink) {
		fprintf(stderr, "hnvgwd: --fwd-threads needs --uplink (the threads forward "
				"between the uplink and the ports)\n");
		usage(stderr);
		return 2;
	}
	if (a->etcd && (!a->host_name || hnv_sync_host_valid(a->host_name))) {
		fprintf(stderr,
			"hnvgwd: --etcd needs --host-name NAME (letters, digits, '_', '.', "
			"'-'; got \"%s\")\n",
			a->host_name ? a->host_name : "");
		usage(stderr);
		return 2;
	}
	return -1;
}

#define FRR_PATHSPACE_MAX 32

/* An FRR pathspace name hnvgwd accepts: it becomes a path component below
 * /etc/frr and /run/frr, so no '/', no dot names. */
static bool frr_pathspace_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > FRR_PATHSPACE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* Parses the command line into *a. Returns -1 to go on, else the exit
 * status (0 after --help, 2 for a usage error, already reported). */
static int parse_args(int argc, char **argv, struct args *a)
{
	*a = (struct args){.state_dir = DEFAULT_STATE_DIR,
			   .sock = HNV_API_DEFAULT_SOCK,
			   .zserv = HNV_GW_ZSERV_DEFAULT,
			   .vici = HNV_GW_VICI_DEFAULT,
			   .datapath = "auto",
			   .level = HNV_LOG_INFO};
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, 's'},
		{"socket", required_argument, NULL, 'S'},
		{"foreground", no_argument, NULL, 'f'},
		{"log-level", required_argument, NULL, 'l'},
		{"uplink", required_argument, NULL, 'u'},
		{"zebra", required_argument, NULL, 'z'},
		{"vici", required_argument, NULL, 'V'},
		{"uplink-backend", required_argument, NULL, 'U'},
		{"datapath", required_argument, NULL, 'D'},
		{"fwd-threads", required_argument, NULL, 'T'},
		{"etcd", required_argument, NULL, 'E'},
		{"host-name", required_argument, NULL, 'H'},
		{"etcd-prefix", required_argument, NULL, 'P'},
		{"etcd-cacert", required_argument, NULL, 'C'},
		{"etcd-cert", required_argument, NULL, 'c'},
		{"etcd-key", required_argument, NULL, 'k'},
		{"etcd-user", required_argument, NULL, 'e'},
		{"etcd-password-file", required_argument, NULL, 'p'},
		{"learn-timeout", required_argument, NULL, 'L'},
		{"metrics", required_argument, NULL, 'M'},
		{"gateway-pool", required_argument, NULL, 'G'},
		{"pool-ttl", required_argument, NULL, 'Y'},
		{"frr-pathspace", required_argument, NULL, 'N'},
		{"bgp-fragment", required_argument, NULL, 'B'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			a->state_dir = optarg;
			break;
		case 'S':
			a->sock = optarg;
			break;
		case 'f':
			a->foreground = true;
			break;
		case 'u':
			a->uplink = optarg;
			break;
		case 'z':
			a->zserv = strcmp(optarg, "none") == 0 ? NULL : optarg;
			break;
		case 'V':
			a->vici = strcmp(optarg, "none") == 0 ? NULL : optarg;
			break;
		case 'U':
			if (strcmp(optarg, "raw") && strcmp(optarg, "packet")) {
				fprintf(stderr,
					"hnvgwd: unknown uplink backend \"%s\" (raw or packet)\n",
					optarg);
				usage(stderr);
				return 2;
			}
			a->backend = optarg;
			break;
		case 'D':
			if (strcmp(optarg, "kernel") && strcmp(optarg, "userspace") &&
			    strcmp(optarg, "auto")) {
				fprintf(stderr,
					"hnvgwd: unknown datapath \"%s\" (kernel, userspace or "
					"auto)\n",
					optarg);
				usage(stderr);
				return 2;
			}
			a->datapath = optarg;
			break;
		case 'T': {
			char *end;
			errno = 0;
			unsigned long n = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || n < 1 ||
			    n > HNV_FWD_THREADS_MAX) {
				fprintf(stderr,
					"hnvgwd: --fwd-threads \"%s\": a number from 1 to %d\n",
					optarg, HNV_FWD_THREADS_MAX);
				usage(stderr);
				return 2;
			}
			a->fwd_threads = (unsigned)n;
			break;
		}
		case 'l':
			if (hnv_log_level_parse(optarg, &a->level)) {
				fprintf(stderr, "hnvgwd: unknown log level \"%s\"\n", optarg);
				usage(stderr);
				return 2;
			}
			break;
		case 'E':
			a->etcd = optarg;
			break;
		case 'H':
			a->host_name = optarg;
			break;
		case 'P':
			a->etcd_prefix = optarg;
			break;
		case 'C':
			a->etcd_cacert = optarg;
			break;
		case 'c':
			a->etcd_cert = optarg;
			break;
		case 'k':
			a->etcd_key = optarg;
			break;
		case 'e':
			a->etcd_user = optarg;
			break;
		case 'p':
			a->etcd_password_file = optarg;
			break;
		case 'L': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || v < 1 || v > 86400) {
				fprintf(stderr,
					"hnvgwd: --learn-timeout \"%s\": seconds from 1 to 86400\n",
					optarg);
				usage(stderr);
				return 2;
			}
			a->learn_timeout = (unsigned)v;
			break;
		}
		case 'M': {
			struct sockaddr_storage ss;
			socklen_t sl;
			char e[512];
			if (hnv_metrics_parse_addr(optarg, strlen(optarg), &ss, &sl, e,
						   sizeof(e))) {
				fprintf(stderr, "hnvgwd: %s\n", e);
				usage(stderr);
				return 2;
			}
			a->metrics = optarg;
			break;
		}
		case 'G':
			a->gateway_pool = optarg;
			break;
		case 'Y': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || v < HNV_POOL_MIN_TTL ||
			    v > HNV_POOL_MAX_TTL) {
				fprintf(stderr,
					"hnvgwd: --pool-ttl \"%s\": seconds from %d to %d\n",
					optarg, HNV_POOL_MIN_TTL, HNV_POOL_MAX_TTL);
				usage(stderr);
				return 2;
			}
			a->pool_ttl = (unsigned)v;
			break;
		}
		case 'N':
			if (!frr_pathspace_valid(optarg)) {
				fprintf(stderr,
					"hnvgwd: --frr-pathspace \"%s\": want 1-%d letters, "
					"digits, "
					"'_' or '-' (FRR's -N NAME, a directory below /etc/frr and "
					"/run/frr)\n",
					optarg, FRR_PATHSPACE_MAX);
				usage(stderr);
				return 2;
			}
			a->frr_pathspace = optarg;
			break;
		case 'B':
			if (optarg[0] != '/' || optarg[strlen(optarg) - 1] == '/') {
				fprintf(stderr,
					"hnvgwd: --bgp-fragment \"%s\": want the absolute path of "
					"a "
					"file\n",
					optarg);
				usage(stderr);
				return 2;
			}
			a->bgp_fragment = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	return check_args(argc, argv, a);
}

/* Blocks the signals hnvgwd handles, installs their handlers and fills
 * *waitmask with the mask ppoll waits with (see hnv_server_run). */
static void setup_signals(sigset_t *waitmask)
{
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGHUP);
	struct sigaction sa = {.sa_handler = on_stop};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The running daemon's parts; NULL until started. */
struct daemon {
	char *state_dir, *sock; /* absolute */
	struct hnv_core *core;
	struct hnv_server *srv;
	struct hnv_fwd *fwd;
	struct hnv_fp *fp; /* the kernel fast path, when it forwards */
	struct hnv_gw *gw;
	struct hnv_proutes *proutes;          /* the host edge's provider routes */
	struct hnv_gwstate_report *gw_report; /* what a commit could not apply */
	struct hnv_sync *sync;
	struct hnv_metrics *metrics; /* --metrics */
	struct hnv_metrics_ctx metrics_ctx;
	struct hnv_pool *pool;
	/* for show status: the --datapath asked for, the tier that forwards
	 * and why */
	const char *requested, *tier;
	char why[1024];
	const char *uplink, *backend;
	/* the host this hnvgwd manages: --host-name, else the machine's
	 * (hnvgw ps checks -CimSession against it) */
	char host[256];
};

static json_object *status_rows(void *arg)
{
	const struct daemon *d = arg;
	json_object *rows = json_object_new_array(), *r = json_object_new_object();
	json_object_object_add(r, "datapath", json_object_new_string(d->tier));
	json_object_object_add(r, "requested", json_object_new_string(d->requested));
	json_object_object_add(r, "why", json_object_new_string(d->why));
	json_object_object_add(r, "host", json_object_new_string(d->host));
	/* what the configuration hnvgwd started with could not give */
	const char *w = hnv_core_warning(d->core);
	json_object_object_add(r, "config_warning", json_object_new_string(w ? w : ""));
	if (d->uplink) {
		json_object_object_add(r, "uplink", json_object_new_string(d->uplink));
		json_object_object_add(r, "uplink_backend", json_object_new_string(d->backend));
	}
	json_object_array_add(rows, r);
	return rows;
}

/* Opens the fast path unless --datapath userspace. 0 with d->fp set (or
 * NULL: auto fell back, d->why says why), or -1 with err (kernel). */
static int open_fast_path(const struct args *a, struct daemon *d, char *err, size_t errlen)
{
	char e[900];
	d->fp = NULL;
	if (strcmp(a->datapath, "userspace") == 0) {
		snprintf(d->why, sizeof(d->why), "--datapath userspace: no eBPF loaded");
		return 0;
	}
	if (hnv_fp_open(&d->fp, e, sizeof(e)) == 0)
		return 0;
	d->fp = NULL;
	if (strcmp(a->datapath, "kernel") == 0) {
		snprintf(err, errlen, "--datapath kernel: the fast path cannot be loaded: %s", e);
		return -1;
	}
	hnv_seterr(d->why, sizeof(d->why), "fast path unavailable: %s", e);
	hnv_log(HNV_LOG_WARNING,
		"fast path unavailable: %s; forwarding in userspace (the C engine, "
		"--datapath auto)",
		e);
	return 0;
}

/* The host edge: the fast path (--datapath), the forwarding thread on the
 * uplink, attached to the running datapath. With auto, a fast path that
 * loads but cannot attach (the error starts with "fast path: ") falls back
 * to userspace as one that does not load. 0, or -1 with err. */
static int start_forwarding(const struct args *a, struct daemon *d, char *err, size_t errlen)
{
	if (open_fast_path(a, d, err, errlen))
		return -1;
	for (;;) {
		if (hnv_fwd_new(a->uplink, a->backend, d->fp, a->fwd_threads ? a->fwd_threads : 1,
				&d->fwd, err, errlen) == 0 &&
		    hnv_core_attach_fwd(d->core, d->fwd, err, errlen) == 0)
			break;
		bool fp_failed = d->fp && strncmp(err, "fast path: ", 11) == 0;
		if (!fp_failed || strcmp(a->datapath, "auto") != 0) {
			if (fp_failed) {
				char e[1024];
				hnv_seterr(e, sizeof(e), "--datapath kernel: %s", err);
				hnv_seterr(err, errlen, "%s", e);
			}
			return -1;
		}
		hnv_seterr(d->why, sizeof(d->why), "fast path unavailable: %s", err + 11);
		hnv_log(HNV_LOG_WARNING,
			"fast path unavailable: %s; forwarding in userspace (the C engine, "
			"--datapath auto)",
			err + 11);
		hnv_fwd_free(d->fwd);
		d->fwd = NULL;
		hnv_fp_free(d->fp);
		d->fp = NULL;
	}
	d->tier = d->fp ? "kernel" : "userspace";
	if (d->fp)
		snprintf(d->why, sizeof(d->why),
			 "tc eBPF fast path on %s and the ports; the C engine serves what it "
			 "punts and hnvgwd's TAPs",
			 a->uplink);
	hnv_log(HNV_LOG_NOTICE,
		"host edge: forwarding on uplink %s (%s backend), %s datapath: %s; %u forwarding "
		"thread%s",
		a->uplink, d->backend, d->tier, d->why, hnv_fwd_threads(d->fwd),
		hnv_fwd_threads(d->fwd) > 1 ? "s" : "");
	return 0;
}

/* The gateway role: the model's gateways applied to the kernel now
 * (reconciliation) and after every change. It needs the forwarding
 * thread, which owns the gateway ports. */
static int start_gateway(const struct args *a, struct daemon *d, char *err, size_t errlen)
{
	struct hnv_gw_opts go = {.zserv = a->zserv,
				 .vici = a->vici,
				 .uplink = a->uplink,
				 .frr_pathspace = a->frr_pathspace,
				 .bgp_fragment = a->bgp_fragment};
	/* static: hnv_gw_new keeps the pointer */
	static char frag[sizeof("/etc/frr/") + FRR_PATHSPACE_MAX + sizeof("/hnvgw-bgp.conf")];
	if (a->frr_pathspace && !a->bgp_fragment) {
		/* the pathspace's own directory, as FRR names it for its files */
		snprintf(frag, sizeof(frag), "/etc/frr/%s", a->frr_pathspace);
		if (mkdir(frag, 0755) && errno != EEXIST) {
			snprintf(err, errlen, "--frr-pathspace %s: cannot create %s: %s",
				 a->frr_pathspace, frag, strerror(errno));
			return -1;
		}
		snprintf(frag, sizeof(frag), "/etc/frr/%s/hnvgw-bgp.conf", a->frr_pathspace);
		go.bgp_fragment = frag;
	}
	static char pidfile[sizeof("/run/frr/") + FRR_PATHSPACE_MAX + sizeof("/bgpd.pid")];
	if (a->frr_pathspace) { /* where bgpd -N NAME writes its pid (restart watch) */
		snprintf(pidfile, sizeof(pidfile), "/run/frr/%s/bgpd.pid", a->frr_pathspace);
		go.bgpd_pidfile = pidfile;
	}
	if (hnv_gw_new(&go, &d->gw, err, errlen))
		return -1;
	if (hnv_gwstate_report_new(d->gw, &d->gw_report)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	struct hnv_core_reporter rep;
	hnv_gwstate_reporter(d->gw_report, &rep);
	hnv_core_set_reporter(d->core, &rep);
	hnv_core_add_status(d->core, "gateway", gw_status, d->gw);
	hnv_core_add_status(d->core, "nat", gw_nat, d->gw);
	hnv_core_add_status(d->core, "gateway-routes", gw_routes, d->gw);
	hnv_core_add_status(d->core, "learned-routes", gw_learned, d->gw);
	hnv_core_add_status(d->core, "s2s-status", gw_s2s, d->gw);
	hnv_core_add_status(d->core, "connections", gw_conns, d->gw);
	hnv_core_add_status(d->core, "bgp-peers", gw_bgp_peers, d->gw);
	hnv_core_set_s2s_ctl(d->core, gw_s2s_ctl, d->gw);
	hnv_core_set_observer(d->core, gw_changed, d->gw);
	return 0;
}

/* Shared policy (mgmt/daemon/sync.h): the watch runs in its own thread, its
 * results are applied on this one. */
static int start_sync(const struct args *a, struct daemon *d, char *err, size_t errlen)
{
	struct hnv_sync_opts so = {.urls = a->etcd,
				   .host = a->host_name,
				   .prefix = a->etcd_prefix,
				   .cacert = a->etcd_cacert,
				   .cert = a->etcd_cert,
				   .key = a->etcd_key,
				   .user = a->etcd_user,
				   .password_file = a->etcd_password_file};
	struct hnv_source src = {.name = "etcd",
				 .fd = hnv_sync_fd,
				 .timeout_ms = hnv_sync_timeout_ms,
				 .run = hnv_sync_run};
	if (hnv_sync_new(d->core, &so, &d->sync, err, errlen))
		return -1;
	src.arg = d->sync;
	if (hnv_server_add_source(d->srv, &src)) {
		snprintf(err, errlen, "too many event sources");
		return -1;
	}
	hnv_log(HNV_LOG_NOTICE, "shared policy: etcd %s, host %s%s%s%s%s", a->etcd, a->host_name,
		a->etcd_cert ? ", client certificate " : "", a->etcd_cert ? a->etcd_cert : "",
		a->etcd_user ? ", etcd user " : "", a->etcd_user ? a->etcd_user : "");
	return 0;
}

/* Gateway pool membership (mgmt/daemon/pool.h): a keepalive thread; the
 * fencing deadline is watched on this one. */
static int start_pool(const struct args *a, struct daemon *d, char *err, size_t errlen)
{
	struct hnv_pool_opts po = {.name = a->gateway_pool,
				   .ttl = a->pool_ttl,
				   .urls = a->etcd,
				   .host = a->host_name,
				   .prefix = a->etcd_prefix,
				   .cacert = a->etcd_cacert,
				   .cert = a->etcd_cert,
				   .key = a->etcd_key,
				   .user = a->etcd_user,
				   .password_file = a->etcd_password_file,
				   .sync = d->sync,
				   .gw = d->gw};
	if (hnv_pool_new(d->core, &po, &d->pool, err, errlen))
		return -1;
	struct hnv_source src = {.name = "gateway-pool",
				 .fd = hnv_pool_fd,
				 .timeout_ms = hnv_pool_timeout_ms,
				 .run = hnv_pool_run,
				 .arg = d->pool};
	if (hnv_server_add_source(d->srv, &src)) {
		snprintf(err, errlen, "too many event sources");
		return -1;
	}
	hnv_log(HNV_LOG_NOTICE, "gateway pool %s: member %s, lease TTL %u s", a->gateway_pool,
		a->host_name, a->pool_ttl ? a->pool_ttl : HNV_POOL_DEFAULT_TTL);
	return 0;
}

/* MS-NVGREE REDIRECTs the forwarding thread accepted: applied to the
 * datapath's records on this (the control) thread. */
static int redirect_fd(void *arg, short *events)
{
	const struct daemon *d = arg;
	*events = POLLIN;
	return hnv_dp_redirect_fd(hnv_core_dp(d->core));
}

static int redirect_timeout(void *arg)
{
	(void)arg;
	return -1;
}

/* A PA a REDIRECT named: the uplink learns its next hop at the publish. */
static void redirect_pa(void *arg, const struct hnv_ip *pa)
{
	struct daemon *d = arg;
	if (d->fwd)
		hnv_fwd_remote_pa(d->fwd, pa);
}

static void redirect_run(void *arg, short revents)
{
	struct daemon *d = arg;
	char err[512];
	(void)revents;
	if (hnv_dp_redirects_apply(hnv_core_dp(d->core), redirect_pa, d) > 0 && d->fwd &&
	    hnv_fwd_publish(d->fwd, false, err, sizeof(err)))
		hnv_log(HNV_LOG_WARNING, "after a REDIRECT: %s", err);
}

/* The Prometheus endpoint (--metrics), its documents built on this
 * thread. */
static int start_metrics(const struct args *a, struct daemon *d, char *err, size_t errlen)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	d->metrics_ctx = (struct hnv_metrics_ctx){
		.core = d->core,
		.gw = d->gw,
		.etcd = d->sync != NULL,
		.tier = d->tier,
		.requested = d->requested,
		.start_time = (double)now.tv_sec + (double)now.tv_nsec / 1e9,
	};
	if (hnv_metrics_new(a->metrics, hnv_metrics_gather, &d->metrics_ctx, &d->metrics, err,
			    errlen))
		return -1;
	struct hnv_source src;
	hnv_metrics_source(d->metrics, &src);
	if (hnv_server_add_source(d->srv, &src)) {
		snprintf(err, errlen, "too many event sources");
		return -1;
	}
	hnv_log(HNV_LOG_NOTICE, "metrics: Prometheus endpoint on http://%s/metrics", a->metrics);
	return 0;
}

/* Start-up in the order of the comment at the top of this file. 0, or -1
 * with a message in err. */
static int start(const struct args *a, struct daemon *d, char *err, size_t errlen)
{
	if (hnv_core_open(d->state_dir, &d->core, err, errlen))
		return -1;
	if (a->learn_timeout)
		(void)hnv_core_set_learn_timeout(d->core, a->learn_timeout);
	d->requested = a->datapath;
	d->tier = "none";
	if (a->host_name)
		snprintf(d->host, sizeof(d->host), "%s", a->host_name);
	else if (gethostname(d->host, sizeof(d->host) - 1) != 0)
		d->host[0] = '\0';
	d->uplink = a->uplink;
	d->backend = a->backend ? a->backend : HNV_FWD_DEFAULT_BACKEND;
	snprintf(d->why, sizeof(d->why), "no --uplink: hnvgwd manages the configuration only");
	hnv_core_add_status(d->core, "status", status_rows, d);
	if (a->uplink && start_forwarding(a, d, err, errlen))
		return -1;
	if (d->fwd && start_gateway(a, d, err, errlen))
		return -1;
	if (d->fwd) {
		if (hnv_proutes_new(&d->proutes, err, errlen))
			return -1;
		hnv_core_attach_proutes(d->core, d->proutes);
	}
	if (hnv_server_open(d->sock, d->core, &d->srv, err, errlen))
		return -1;
	if (d->gw) {
		struct hnv_source gsrc[HNV_GW_SOURCES];
		size_t ng = hnv_gw_sources(d->gw, gsrc);
		for (size_t i = 0; i < ng; i++)
			if (hnv_server_add_source(d->srv, &gsrc[i])) {
				snprintf(err, errlen, "too many event sources");
				return -1;
			}
	}
	if (a->etcd && start_sync(a, d, err, errlen))
		return -1;
	if (a->gateway_pool && start_pool(a, d, err, errlen))
		return -1;
	struct hnv_dp *dp = hnv_core_dp(d->core);
	if (dp && hnv_dp_redirect_fd(dp) >= 0) {
		struct hnv_source rs = {.name = "nvgre-redirect",
					.fd = redirect_fd,
					.timeout_ms = redirect_timeout,
					.run = redirect_run,
					.arg = d};
		if (hnv_server_add_source(d->srv, &rs)) {
			snprintf(err, errlen, "too many event sources");
			return -1;
		}
	}
	if (a->metrics && start_metrics(a, d, err, errlen))
		return -1;
	return 0;
}

/* Frees what start made, in the reverse order. */
static void stop(struct daemon *d)
{
	char err[1024];
	hnv_metrics_free(d->metrics); /* its thread first: it waits for this one */
	hnv_server_close(d->srv);
	hnv_pool_free(d->pool);
	hnv_sync_free(d->sync);
	if (d->core)
		hnv_core_attach_fwd(d->core, NULL, err, sizeof(err));
	if (d->core)
		hnv_core_attach_proutes(d->core, NULL);
	hnv_proutes_free(d->proutes);
	if (d->core) {
		hnv_core_set_observer(d->core, NULL, NULL);
		hnv_core_set_reporter(d->core, NULL);
	}
	hnv_gwstate_report_free(d->gw_report);
	hnv_gw_free(d->gw);
	hnv_fwd_free(d->fwd); /* before the core frees the datapath it forwards on */
	hnv_fp_free(d->fp);   /* after the thread that reads it, before the datapath */
	hnv_core_close(d->core);
}

int main(int argc, char **argv)
{
	/* no core dump, no ptrace by other users of a process holding PSKs
	 * (issue 17 finding 9) */
	prctl(PR_SET_DUMPABLE, 0);
	struct args a;
	int rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	hnv_log_init(a.level, stderr_is_journal());

	struct daemon d = {.state_dir = absolute(a.state_dir), .sock = absolute(a.sock)};
	if (!d.state_dir || !d.sock) {
		fprintf(stderr, "hnvgwd: out of memory\n");
		return 1;
	}
	sigset_t waitmask;
	setup_signals(&waitmask);
	int ready_fd = a.foreground ? -1 : daemonize();

	urcu_qsbr_register_thread();
	int status = 1;
	char err[1024];
	if (start(&a, &d, err, sizeof(err))) {
		hnv_log(HNV_LOG_ERR, "not starting: %s", err);
		goto out;
	}
	hnv_log(HNV_LOG_NOTICE, "started: revision %u from %s, listening on %s",
		hnv_core_revision(d.core), d.state_dir, d.sock);
	/* a refused hnvgw.conf shows in systemctl status (issue 17 finding 6) */
	char ready[1200];
	snprintf(ready, sizeof(ready), "READY=1\nSTATUS=%s",
		 hnv_core_warning(d.core) ? hnv_core_warning(d.core) : "serving");
	int nrc = sd_notify_send(ready);
	if (nrc)
		hnv_log(HNV_LOG_WARNING, "cannot notify systemd at %s: %s", getenv("NOTIFY_SOCKET"),
			strerror(-nrc));
	report_ready(ready_fd, true);
	ready_fd = -1;

	if (hnv_server_run(d.srv, &waitmask, &stop_flag, &reload_flag) == 0)
		status = 0;
	sd_notify_send("STOPPING=1");
	hnv_log(HNV_LOG_NOTICE, "stopping at revision %u", hnv_core_revision(d.core));
out:
	report_ready(ready_fd, false);
	stop(&d);
	urcu_qsbr_unregister_thread();
	free(d.state_dir);
	free(d.sock);
	return status;
}
