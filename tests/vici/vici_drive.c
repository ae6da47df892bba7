/* vici_drive.c: drives charon through vpn/s2s and vpn/vici for
 * tests/vici/test_charon.sh.
 *
 *   vici_drive SOCK CONF run        manager loop: sync, then poll events and
 *                                   tick (reconnect + reload); SIGUSR1
 *                                   re-syncs, SIGTERM ends (tunnels stay);
 *                                   with VICI_CTL=FILE, a line "up T" or
 *                                   "down T" written there is run by this
 *                                   manager (as hnvgwd runs `s2s up|down`)
 *                                   and the file removed
 *   vici_drive SOCK CONF sync       one sync by a fresh manager, then exit
 *                                   (what a restarted hnvgwd does)
 *   vici_drive SOCK CONF status T   one status line of tunnel T
 *   vici_drive SOCK CONF up|down T  initiate / terminate
 *   vici_drive SOCK - count-ike [C] IKE SAs charon lists (of connection C)
 *
 * CONF is hnvgw config text; its "s2s add" lines are the tunnels (no
 * if_id: kernel-libipsec has none). Log lines go to stdout. Only run holds
 * an event connection (hnv_s2s_opts.watch, as hnvgwd); the one-shot
 * operations register for no event.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../mgmt/conftext.h"
#include "../../mgmt/daemon/gwstate.h"
#include "../../vpn/s2s.h"

static volatile sig_atomic_t stop, resync;

static void on_sig(int sig)
{
	if (sig == SIGUSR1)
		resync = 1;
	else
		stop = 1;
}

static FILE *logf; /* stdout for run, else stderr */

static void log_line(void *arg, int level, const char *msg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(logf, "%lld.%03ld <%d> %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000, level,
		msg);
	fflush(logf);
}

static int load_specs(const char *path, struct hnv_conf_cmd **cmds, size_t *ncmds,
		      struct hnv_s2s_conf **confs, struct hnv_s2s_spec **specs, size_t *n)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	/* the whole file: 1,000 tunnels are ~200 KB */
	char *text = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			char *t = realloc(text, cap = cap ? 2 * cap : 1 << 16);
			if (!t) {
				free(text);
				fclose(f);
				return -1;
			}
			text = t;
		}
		size_t r = fread(text + len, 1, cap - len, f);
		if (r == 0)
			break;
		len += r;
	}
	fclose(f);
	char err[512];
	int rc = hnv_conf_parse_text(text, len, cmds, ncmds, err, sizeof(err));
	explicit_bzero(text, cap); /* PSKs */
	free(text);
	if (rc) {
		fprintf(stderr, "%s: %s\n", path, err);
		return -1;
	}
	*confs = calloc(*ncmds + 1, sizeof(**confs));
	*specs = calloc(*ncmds + 1, sizeof(**specs));
	*n = 0;
	for (size_t i = 0; i < *ncmds; i++)
		if ((*cmds)[i].kind == HNV_CONF_S2S_ADD) {
			hnv_gwstate_s2s(&(*cmds)[i].u.s2s, &(*confs)[*n]);
			(*specs)[*n] = (struct hnv_s2s_spec){.conf = &(*confs)[*n]};
			(*n)++;
		}
	return 0;
}

struct count {
	const char *conn; /* NULL: every connection */
	unsigned n;
};

static void count_ike(void *arg, const char *event, const struct hnv_vici_msg *m)
{
	(void)event;
	struct count *q = arg;
	for (const struct hnv_vici_node *n = hnv_vici_msg_root(m)->child; n; n = n->next)
		if (n->kind == HNV_VICI_N_SECTION && (!q->conn || strcmp(q->conn, n->name) == 0))
			q->n++;
}

static int cmd_count(const char *sock, const char *conn)
{
	struct hnv_vici_conn *c;
	int rc = hnv_vici_connect(sock, 5000, &c);
	if (rc) {
		fprintf(stderr, "connect %s: %s\n", sock, strerror(-rc));
		return 1;
	}
	struct hnv_vici_buf b;
	struct hnv_vici_msg *m = NULL;
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, "list-sas");
	hnv_vici_kv_str(&b, "noblock", "yes");
	rc = hnv_vici_buf_finish(&b);
	struct count q = {conn, 0};
	if (!rc)
		rc = hnv_vici_cmd_stream(c, &b, "list-sa", count_ike, &q, &m);
	hnv_vici_buf_free(&b);
	hnv_vici_msg_free(m);
	hnv_vici_close(c);
	if (rc) {
		fprintf(stderr, "list-sas: %s\n", strerror(-rc));
		return 1;
	}
	printf("%u\n", q.n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr,
			"usage: vici_drive SOCK CONF run|sync|status|up|down|count-ike [ARG]\n");
		return 2;
	}
	const char *sock = argv[1], *op = argv[3], *arg = argc > 4 ? argv[4] : NULL;
	logf = strcmp(op, "run") == 0 ? stdout : stderr;
	if (strcmp(op, "count-ike") == 0)
		return cmd_count(sock, arg);

	struct hnv_conf_cmd *cmds = NULL;
	struct hnv_s2s_conf *confs = NULL;
	struct hnv_s2s_spec *specs = NULL;
	size_t ncmds = 0, n = 0;
	if (load_specs(argv[2], &cmds, &ncmds, &confs, &specs, &n))
		return 1;
	/* VICI_CRED_DIR: where certificate tunnels' files are (x509/,
	 * private/, x509ca/), instead of /etc/swanctl */
	struct hnv_s2s_opts o = {.vici_path = sock,
				 .log = log_line,
				 .timeout_ms = 5000,
				 .cred_dir = getenv("VICI_CRED_DIR"),
				 .watch = strcmp(op, "run") == 0};
	struct hnv_s2s *s;
	if (hnv_s2s_create(&o, &s)) {
		fprintf(stderr, "hnv_s2s_create failed\n");
		return 1;
	}
	int ret = 0, rc;
	if (strcmp(op, "sync") == 0) {
		rc = hnv_s2s_sync(s, specs, n);
		printf("sync: %s\n", rc ? strerror(-rc) : "ok");
		ret = rc != 0;
	} else if (strcmp(op, "run") == 0) {
		signal(SIGTERM, on_sig);
		signal(SIGINT, on_sig);
		signal(SIGUSR1, on_sig);
		rc = hnv_s2s_sync(s, specs, n);
		log_line(NULL, 6, rc ? "first sync failed" : "first sync ok");
		while (!stop) {
			if (resync) {
				resync = 0;
				rc = hnv_s2s_sync(s, specs, n);
				log_line(NULL, 6, rc ? "resync failed" : "resync ok");
			}
			const char *ctl = getenv("VICI_CTL");
			FILE *cf = ctl ? fopen(ctl, "r") : NULL;
			if (cf) {
				char line[128] = "", op2[8], name[64], out[160];
				if (!fgets(line, sizeof(line), cf))
					line[0] = 0;
				fclose(cf);
				unlink(ctl);
				if (sscanf(line, "%7s %63s", op2, name) == 2) {
					rc = strcmp(op2, "up") == 0     ? hnv_s2s_up(s, name)
					     : strcmp(op2, "down") == 0 ? hnv_s2s_down(s, name)
									: -EINVAL;
					snprintf(out, sizeof(out), "ctl %s %s: %s", op2, name,
						 rc ? strerror(-rc) : "ok");
					log_line(NULL, 5, out);
				}
			}
			struct pollfd p = {.fd = hnv_s2s_fd(s), .events = POLLIN};
			if (p.fd >= 0 ? poll(&p, 1, 500) > 0 : (poll(NULL, 0, 500), 0))
				hnv_s2s_dispatch(s);
			/* as hnvgwd: tick always (reconnect when down; audit of
			 * what charon holds when up) */
			unsigned before = hnv_s2s_connects(s);
			if (hnv_s2s_tick(s) == 0 && hnv_s2s_connects(s) != before) {
				char line[64];
				snprintf(line, sizeof(line), "reconnected (%u) and reloaded",
					 hnv_s2s_connects(s));
				log_line(NULL, 5, line);
			}
		}
	} else if (strcmp(op, "status") == 0 && arg) {
		struct hnv_s2s_status st;
		char line[512];
		hnv_s2s_sync(s, specs, n); /* tells the manager the names; changes nothing */
		rc = hnv_s2s_status(s, arg, &st);
		if (!rc)
			rc = hnv_s2s_status_format(arg, &st, line, sizeof(line));
		if (rc) {
			fprintf(stderr, "status %s: %s\n", arg, strerror(-rc));
			ret = 1;
		} else {
			printf("%s\n", line);
		}
	} else if ((strcmp(op, "up") == 0 || strcmp(op, "down") == 0) && arg) {
		hnv_s2s_sync(s, specs, n);
		rc = op[0] == 'u' ? hnv_s2s_up(s, arg) : hnv_s2s_down(s, arg);
		printf("%s %s: %s\n", op, arg, rc ? strerror(-rc) : "ok");
		ret = rc != 0;
	} else {
		fprintf(stderr, "unknown operation %s\n", op);
		ret = 2;
	}
	hnv_s2s_destroy(s);
	hnv_conf_cmds_free(cmds, ncmds);
	explicit_bzero(confs, n * sizeof(*confs)); /* PSKs */
	free(confs);
	free(specs);
	return ret;
}
