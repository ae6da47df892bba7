/* rtnl_drive.c: runs one gateway/rtnl.c operation per invocation against
 * the kernel of the current network namespace, for tests/rtnl/test_rtnl.sh.
 *
 *   rtnl_drive links                      one line per link:
 *                                         NAME kind=K master=NAME|- up=0|1 mac=M|-
 *   rtnl_drive get NAME                   the same line for one link
 *   rtnl_drive addr add|del DEV A/PLEN
 *   rtnl_drive addrs DEV                  one A/PLEN [proto N] per line
 *   rtnl_drive addrs-count DEV N          N dumps of DEV's addresses on one
 *                                         socket: "N ok, F failed, counts MIN-MAX"
 *   rtnl_drive master DEV BRIDGE|none
 *   rtnl_drive up DEV 0|1
 *   rtnl_drive mac DEV XX:XX:XX:XX:XX:XX
 *   rtnl_drive del DEV
 *   rtnl_drive vrf NAME TABLE
 *   rtnl_drive xfrm NAME IF_ID [DEV]
 *   rtnl_drive rule add|del PRIO MARK TABLE
 *   rtnl_drive rules                      one line per IPv4 rule:
 *                                         prio=P fwmark=0xM/0xK table=T action=A
 *   rtnl_drive default add|del TABLE DEV
 *
 * Exit status 0, or 1 with the module's error message on stderr.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/rtnl.h"

#define MAX_LINKS 256

struct all {
	struct hnv_rtnl_link l[MAX_LINKS];
	size_t n;
};

static void collect(const struct hnv_rtnl_link *l, void *arg)
{
	struct all *a = arg;
	if (a->n < MAX_LINKS)
		a->l[a->n++] = *l;
}

static void count_addr(const struct hnv_rtnl_addr *a, void *arg)
{
	(void)a;
	++*(size_t *)arg;
}

static void print_link(const struct all *a, const struct hnv_rtnl_link *l)
{
	const char *master = "-";
	for (size_t i = 0; i < a->n; i++)
		if (l->master && a->l[i].ifindex == l->master)
			master = a->l[i].name;
	char mac[18] = "-";
	if (l->has_mac)
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", l->mac.b[0],
			 l->mac.b[1], l->mac.b[2], l->mac.b[3], l->mac.b[4], l->mac.b[5]);
	printf("%s kind=%s master=%s up=%d mac=%s\n", l->name, l->kind[0] ? l->kind : "-", master,
	       l->up, mac);
}

static void print_addr(const struct hnv_rtnl_addr *a, void *arg)
{
	(void)arg;
	char s[INET6_ADDRSTRLEN];
	if (hnv_ip_is_v4(&a->addr))
		inet_ntop(AF_INET, a->addr.b + 12, s, sizeof(s));
	else
		inet_ntop(AF_INET6, a->addr.b, s, sizeof(s));
	if (a->proto)
		printf("%s/%u proto %u\n", s, a->plen, a->proto);
	else
		printf("%s/%u\n", s, a->plen);
}

static void print_rule(const struct hnv_rtnl_rule *ru, void *arg)
{
	(void)arg;
	printf("prio=%u fwmark=0x%x/0x%x table=%u action=%u\n", ru->prio, ru->fwmark, ru->fwmask,
	       ru->table, ru->action);
}

static int parse_prefix(const char *s, struct hnv_ip *a, unsigned *plen)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	if (slash == NULL)
		return -1;
	*slash = 0;
	*plen = (unsigned)atoi(slash + 1);
	uint8_t v4[4];
	if (inet_pton(AF_INET, buf, v4) == 1) {
		hnv_ip_from_v4(a, v4);
		return 0;
	}
	return inet_pton(AF_INET6, buf, a->b) == 1 ? 0 : -1;
}

static void print_addr_ifx(const struct hnv_rtnl_addr *a, void *arg)
{
	printf("%d ", a->ifindex);
	print_addr(a, arg);
}

static int usage(void)
{
	fprintf(stderr, "usage: see tests/rtnl/rtnl_drive.c\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	struct hnv_rtnl *r;
	char err[256] = "";
	if (hnv_rtnl_open(&r, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	static struct all a;
	int rc = hnv_rtnl_links(r, collect, &a, err, sizeof(err));
	const char *cmd = argv[1];
	struct hnv_rtnl_link l = {0}, m = {0};
	if (rc < 0) {
		/* err set */
	} else if (strcmp(cmd, "links") == 0) {
		for (size_t i = 0; i < a.n; i++)
			print_link(&a, &a.l[i]);
	} else if (strcmp(cmd, "get") == 0 && argc == 3) {
		rc = hnv_rtnl_link_get(r, argv[2], &l, err, sizeof(err));
		if (rc == 0)
			print_link(&a, &l);
	} else if (strcmp(cmd, "addr") == 0 && argc == 5) {
		struct hnv_ip ip;
		unsigned plen;
		if (parse_prefix(argv[4], &ip, &plen) < 0)
			return usage();
		rc = hnv_rtnl_link_get(r, argv[3], &l, err, sizeof(err));
		if (rc == 0)
			rc = hnv_rtnl_addr(r, strcmp(argv[2], "add") == 0, l.ifindex, l.name, &ip,
					   plen, err, sizeof(err));
	} else if (strcmp(cmd, "float") == 0 && argc == 5) {
		/* prints 1 (changed) or 0 (already so) */
		struct hnv_ip ip;
		unsigned plen;
		if (parse_prefix(argv[4], &ip, &plen) < 0)
			return usage();
		rc = hnv_rtnl_link_get(r, argv[3], &l, err, sizeof(err));
		if (rc == 0)
			rc = hnv_rtnl_float_addr(r, strcmp(argv[2], "add") == 0, l.ifindex, l.name,
						 &ip, err, sizeof(err));
		if (rc >= 0)
			printf("%d\n", rc);
	} else if (strcmp(cmd, "addrs") == 0 && argc == 3) {
		rc = hnv_rtnl_link_get(r, argv[2], &l, err, sizeof(err));
		if (rc == 0)
			rc = hnv_rtnl_addrs(r, l.ifindex, print_addr, NULL, err, sizeof(err));
	} else if (strcmp(cmd, "addrs-all") == 0 && argc == 2) {
		/* every interface's: "ifindex address/len" */
		rc = hnv_rtnl_addrs(r, 0, print_addr_ifx, NULL, err, sizeof(err));
	} else if (strcmp(cmd, "addrs-count") == 0 && argc == 4) {
		rc = hnv_rtnl_link_get(r, argv[2], &l, err, sizeof(err));
		int n = atoi(argv[3]), ok = 0, failed = 0;
		size_t min = (size_t)-1, max = 0;
		for (int i = 0; rc == 0 && i < n; i++) {
			size_t cnt = 0;
			if (hnv_rtnl_addrs(r, l.ifindex, count_addr, &cnt, err, sizeof(err)) == 0) {
				ok++;
				min = cnt < min ? cnt : min;
				max = cnt > max ? cnt : max;
			} else {
				failed++;
			}
		}
		if (rc == 0)
			printf("%d ok, %d failed, counts %zu-%zu\n", ok, failed, ok ? min : 0, max);
		if (failed)
			fprintf(stderr, "last error: %s\n", err);
	} else if (strcmp(cmd, "master") == 0 && argc == 4) {
		rc = hnv_rtnl_link_get(r, argv[2], &l, err, sizeof(err));
		if (rc == 0 && strcmp(argv[3], "none") != 0)
			rc = hnv_rtnl_link_get(r, argv[3], &m, err, sizeof(err));
		if (rc == 0)
			rc = hnv_rtnl_set_link(r, l.ifindex, l.name, m.ifindex, -1, NULL, err,
					       sizeof(err));
	} else if (strcmp(cmd, "up") == 0 && argc == 4) {
		rc = hnv_rtnl_link_get(r, argv[2], &l, err, sizeof(err));
		if (rc == 0)
			rc = hnv_rtnl_set_link(r, l.ifindex, l.name, -1, atoi(argv[3]) != 0, NULL,
					       err, sizeof(err));
	} else if (strcmp(cmd, "mac") == 0 && argc == 4) {
		struct hnv_mac mac;
		unsigned b[6];
		if (sscanf(argv[3], "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
			   &b[5]) != 6)
			return usage();
		for (int i = 0; i < 6; i++)
			mac.b[i] = (uint8_t)b[i];
		rc = hnv_rtnl_link_get(r, argv[2], &l, err, sizeof(err));
		if (rc == 0)
			rc = hnv_rtnl_set_link(r, l.ifindex, l.name, -1, -1, &mac, err,
					       sizeof(err));
	} else if (strcmp(cmd, "del") == 0 && argc == 3) {
		rc = hnv_rtnl_link_get(r, argv[2], &l, err, sizeof(err));
		if (rc == 0)
			rc = hnv_rtnl_del_link(r, l.ifindex, l.name, err, sizeof(err));
	} else if (strcmp(cmd, "vrf") == 0 && argc == 4) {
		rc = hnv_rtnl_add_vrf(r, argv[2], (uint32_t)strtoul(argv[3], NULL, 10), err,
				      sizeof(err));
	} else if (strcmp(cmd, "xfrm") == 0 && (argc == 4 || argc == 5)) {
		if (argc == 5)
			rc = hnv_rtnl_link_get(r, argv[4], &l, err, sizeof(err));
		if (rc == 0)
			rc = hnv_rtnl_add_xfrm(r, argv[2], (uint32_t)strtoul(argv[3], NULL, 10),
					       l.ifindex, err, sizeof(err));
	} else if (strcmp(cmd, "rule") == 0 && argc == 6) {
		rc = hnv_rtnl_rule(r, strcmp(argv[2], "add") == 0,
				   (uint32_t)strtoul(argv[3], NULL, 0),
				   (uint32_t)strtoul(argv[4], NULL, 0),
				   (uint32_t)strtoul(argv[5], NULL, 0), err, sizeof(err));
	} else if (strcmp(cmd, "rules") == 0) {
		rc = hnv_rtnl_rules(r, print_rule, NULL, err, sizeof(err));
	} else if (strcmp(cmd, "default") == 0 && argc == 5) {
		rc = hnv_rtnl_link_get(r, argv[4], &l, err, sizeof(err));
		if (rc == 0)
			rc = hnv_rtnl_default_dev(r, strcmp(argv[2], "add") == 0,
						  (uint32_t)strtoul(argv[3], NULL, 0), l.ifindex,
						  l.name, err, sizeof(err));
	} else {
		hnv_rtnl_close(r);
		return usage();
	}
	hnv_rtnl_close(r);
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	return 0;
}
