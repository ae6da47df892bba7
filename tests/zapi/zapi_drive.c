/* zapi_drive.c: drives the hnvgw ZAPI client (gateway/zapi.c) against a
 * real zebra for tests/zapi/test_zebra.sh.
 *
 * zapi_drive --path SOCK [--gr SECONDS] [--type 23|26] [--redist AFI:TYPE]...
 *
 * Runs hnvgwd's poll loop shape: the client's fd, its tick timeout, and
 * stdin, where each line is a command:
 *   set VRF PREFIX (via IP [dev IFNAME] | dev IFNAME | blackhole) [distance D] [metric M]
 *   del VRF PREFIX
 *   flush
 *   stats            prints one "stats ..." line
 *   routes           prints one "route VRF PREFIX STATE" line per desired route
 * End of stdin ends the program WITHOUT deleting routes (like a crash of
 * hnvgwd: with graceful restart zebra keeps them until the stale time).
 *
 * Events on stdout, one line each, flushed:
 *   connected / disconnected
 *   all-installed N routes, T ms after the last disconnect (U ms after connect)
 *   redist add|del VRF PREFIX type T distance D metric M nexthops K
 *   error: ... (bad command; the program goes on)
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../gateway/zapi.h"
#include "../../mgmt/conftext.h"

static long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void redist(void *arg, bool add, const char *vrf, uint32_t vrf_id,
		   const struct hnv_zapi_route *r)
{
	(void)arg;
	(void)vrf_id;
	char p[64];
	hnv_fmt_prefix(&r->prefix, p, sizeof(p));
	printf("redist %s %s %s type %u distance %u metric %u nexthops %u\n", add ? "add" : "del",
	       vrf[0] ? vrf : "?", p, r->type, r->distance, r->metric, r->n_nh_total);
	fflush(stdout);
}

static void logline(void *arg, int level, const char *msg)
{
	(void)arg;
	fprintf(stderr, "zapi[%d]: %s\n", level, msg);
}

static int print_route(void *arg, const struct hnv_zapi_route_info *r)
{
	(void)arg;
	char p[64];
	hnv_fmt_prefix(&r->prefix, p, sizeof(p));
	printf("route %s %s %s\n", r->vrf, p, hnv_zapi_route_state_name(r->state));
	return 0;
}

static void command(struct hnv_zapi *z, char *line)
{
	char *save = NULL, *tok[16];
	int n = 0;
	for (char *t = strtok_r(line, " \t\n", &save); t && n < 16;
	     t = strtok_r(NULL, " \t\n", &save))
		tok[n++] = t;
	if (n == 0)
		return;
	if (strcmp(tok[0], "stats") == 0) {
		struct hnv_zapi_stats st;
		hnv_zapi_get_stats(z, &st);
		printf("stats conn %d release %s connects %llu routes %u installed %u failed %u "
		       "wait-vrf %u sent %u vrfs %u interfaces %u bad %llu unknown %llu errors "
		       "%llu\n",
		       (int)st.conn, st.frr_release[0] ? st.frr_release : "-",
		       (unsigned long long)st.connects, st.routes, st.routes_installed,
		       st.routes_failed, st.routes_wait_vrf, st.routes_sent, st.vrfs, st.interfaces,
		       (unsigned long long)st.bad_msgs, (unsigned long long)st.unknown_cmds,
		       (unsigned long long)st.zebra_errors);
		return;
	}
	if (strcmp(tok[0], "routes") == 0) {
		hnv_zapi_route_foreach(z, print_route, NULL);
		printf("routes end\n");
		return;
	}
	if (strcmp(tok[0], "flush") == 0) {
		hnv_zapi_routes_flush(z);
		return;
	}
	struct hnv_prefix p;
	if (n < 3 || hnv_parse_prefix(tok[2], &p) != 0) {
		printf("error: usage: set|del VRF PREFIX ...\n");
		return;
	}
	if (strcmp(tok[0], "del") == 0) {
		int rc = hnv_zapi_route_del(z, tok[1], &p);
		if (rc)
			printf("error: del: %s\n", strerror(-rc));
		return;
	}
	if (strcmp(tok[0], "set") != 0) {
		printf("error: unknown command %s\n", tok[0]);
		return;
	}
	struct hnv_zapi_nh nh = {0};
	bool v4 = hnv_ip_is_v4(&p.addr), has_gw = false, has_dev = false;
	unsigned distance = HNV_ZAPI_DEFAULT_DISTANCE, metric = 0;
	for (int i = 3; i < n; i++) {
		if (strcmp(tok[i], "blackhole") == 0) {
			nh.type = HNV_ZAPI_NH_BLACKHOLE;
			nh.bh_type = HNV_ZAPI_BH_NULL;
		} else if (i + 1 < n && strcmp(tok[i], "via") == 0) {
			if (hnv_parse_ip(tok[++i], &nh.gw) != 0) {
				printf("error: bad gateway %s\n", tok[i]);
				return;
			}
			has_gw = true;
		} else if (i + 1 < n && strcmp(tok[i], "dev") == 0) {
			if (hnv_zapi_if_lookup(z, tok[1], tok[++i], &nh.ifindex, NULL) != 0) {
				printf("error: zebra announced no interface %s in VRF %s\n", tok[i],
				       tok[1]);
				return;
			}
			has_dev = true;
		} else if (i + 1 < n && strcmp(tok[i], "distance") == 0) {
			distance = (unsigned)atoi(tok[++i]);
		} else if (i + 1 < n && strcmp(tok[i], "metric") == 0) {
			metric = (unsigned)atoi(tok[++i]);
		} else {
			printf("error: bad argument %s\n", tok[i]);
			return;
		}
	}
	if (nh.type != HNV_ZAPI_NH_BLACKHOLE) {
		if (has_gw)
			nh.type = v4 ? (has_dev ? HNV_ZAPI_NH_IPV4_IFINDEX : HNV_ZAPI_NH_IPV4)
				     : (has_dev ? HNV_ZAPI_NH_IPV6_IFINDEX : HNV_ZAPI_NH_IPV6);
		else
			nh.type = HNV_ZAPI_NH_IFINDEX;
	}
	int rc = hnv_zapi_route_set(z, tok[1], &p, &nh, (uint8_t)distance, metric);
	if (rc)
		printf("error: set: %s\n", strerror(-rc));
}

int main(int argc, char **argv)
{
	struct hnv_zapi_opts o = {.redist_cb = redist, .log = logline};
	unsigned redists[16][2];
	int nredist = 0;
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--path") == 0)
			o.path = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--gr") == 0)
			o.gr_stale_time = (uint32_t)atoi(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--type") == 0)
			o.route_type = (uint8_t)atoi(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--frr-version") == 0)
			o.frr_version = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--redist") == 0 && nredist < 16 &&
			 sscanf(argv[++i], "%u:%u", &redists[nredist][0], &redists[nredist][1]) ==
				 2)
			nredist++;
		else {
			fprintf(stderr, "usage: zapi_drive --path SOCK [--gr S] [--type T] "
					"[--frr-version V] "
					"[--redist AFI:TYPE]...\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	struct hnv_zapi *z = hnv_zapi_new(&o);
	if (!z) {
		perror("hnv_zapi_new");
		return 1;
	}
	for (int i = 0; i < nredist; i++)
		if (hnv_zapi_redistribute(z, (uint8_t)redists[i][0], (uint8_t)redists[i][1]) != 0) {
			fprintf(stderr, "bad --redist %u:%u\n", redists[i][0], redists[i][1]);
			return 2;
		}
	char line[1024];
	size_t llen = 0;
	bool stdin_open = true, was_conn = false, all_reported = false;
	long t_disc = -1, t_conn = -1;
	while (stdin_open) {
		int timeout = hnv_zapi_tick(z);
		struct pollfd pfd[2] = {{.fd = 0, .events = POLLIN},
					{.fd = hnv_zapi_fd(z), .events = hnv_zapi_poll_events(z)}};
		if (timeout < 0 || timeout > 100)
			timeout = 100; /* to notice state changes for the event lines */
		int rc = poll(pfd, pfd[1].fd >= 0 ? 2 : 1, timeout);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc > 0 && pfd[1].fd >= 0 && pfd[1].revents)
			hnv_zapi_handle_io(z, pfd[1].revents);
		if (rc > 0 && pfd[0].revents) {
			ssize_t r = read(0, line + llen, sizeof(line) - 1 - llen);
			if (r <= 0) {
				stdin_open = false;
			} else {
				llen += (size_t)r;
				char *nl;
				while ((nl = memchr(line, '\n', llen)) != NULL) {
					*nl = '\0';
					command(z, line);
					size_t used = (size_t)(nl - line) + 1;
					memmove(line, nl + 1, llen - used);
					llen -= used;
				}
				if (llen == sizeof(line) - 1)
					llen = 0;
			}
		}
		struct hnv_zapi_stats st;
		hnv_zapi_get_stats(z, &st);
		bool conn = st.conn == HNV_ZAPI_CONNECTED;
		if (conn != was_conn) {
			printf("%s\n", conn ? "connected" : "disconnected");
			if (conn)
				t_conn = mono_ms();
			else
				t_disc = mono_ms();
			was_conn = conn;
			all_reported = false;
		}
		bool all = conn && st.routes > 0 && st.routes_installed == st.routes;
		if (all && !all_reported) {
			long now = mono_ms();
			printf("all-installed %u routes, %ld ms after the last disconnect (%ld ms "
			       "after connect)\n",
			       st.routes, t_disc >= 0 ? now - t_disc : -1, now - t_conn);
		}
		if (!all && st.routes_installed != st.routes)
			all_reported = false;
		else if (all)
			all_reported = true;
	}
	hnv_zapi_free(z);
	return 0;
}
