/* bgp_drive.c: hnv_bgp_apply (gateway/bgp.c) from the command line, for
 * tests/bgp/test_bgp.sh.
 *
 *   bgp_drive [-N PATHSPACE] [-v VTYSH] -f FRAGMENT [TENANT...]
 *
 * TENANT is comma-separated: vrf=NAME,as=ASN[,rid=A.B.C.D]
 * [,nb=ADDR/ASN]...[,net=PREFIX/LEN]...[,redist=connected|static|kernel|openfabric]...
 * No tenant means none wanted. Exit 0, or 1 with the error on stderr.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../gateway/bgp.h"

#define MAX_T 8
#define MAX_N 8

static struct hnv_bgp_tenant t[MAX_T];
static struct hnv_bgp_neighbor nb[MAX_T][MAX_N];
static struct hnv_prefix net[MAX_T][MAX_N];
static struct hnv_ip rid[MAX_T];

static int parse_ip(const char *s, struct hnv_ip *a)
{
	uint8_t v4[4];
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, v4) == 1) {
		hnv_ip_from_v4(a, v4);
		return 0;
	}
	return inet_pton(AF_INET6, s, a->b) == 1 ? 0 : -1;
}

/* "ADDR/NUMBER": the address and the number. */
static int split(char *s, struct hnv_ip *a, unsigned long *num)
{
	char *slash = strrchr(s, '/');
	if (slash == NULL)
		return -1;
	*slash = 0;
	*num = strtoul(slash + 1, NULL, 10);
	return parse_ip(s, a);
}

static int parse_tenant(char *spec, size_t i)
{
	struct hnv_bgp_tenant *x = &t[i];
	for (char *save, *kv = strtok_r(spec, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		if (v == NULL)
			return -1;
		*v++ = 0;
		unsigned long num;
		if (strcmp(kv, "vrf") == 0) {
			x->vrf = v;
		} else if (strcmp(kv, "as") == 0) {
			x->local_as = (uint32_t)strtoul(v, NULL, 10);
		} else if (strcmp(kv, "rid") == 0) {
			if (parse_ip(v, &rid[i]) < 0)
				return -1;
			x->router_id = &rid[i];
		} else if (strcmp(kv, "nb") == 0 && x->n_neighbors < MAX_N) {
			struct hnv_bgp_neighbor *n = &nb[i][x->n_neighbors++];
			if (split(v, &n->addr, &num) < 0)
				return -1;
			n->remote_as = (uint32_t)num;
		} else if (strcmp(kv, "net") == 0 && x->n_networks < MAX_N) {
			struct hnv_prefix *p = &net[i][x->n_networks++];
			if (split(v, &p->addr, &num) < 0)
				return -1;
			p->len = (uint8_t)num;
		} else if (strcmp(kv, "redist") == 0) {
			x->redist |= strcmp(v, "connected") == 0    ? HNV_BGP_REDIST_CONNECTED
				     : strcmp(v, "static") == 0     ? HNV_BGP_REDIST_STATIC
				     : strcmp(v, "kernel") == 0     ? HNV_BGP_REDIST_KERNEL
				     : strcmp(v, "openfabric") == 0 ? HNV_BGP_REDIST_OPENFABRIC
								    : 1u << 30;
		} else {
			return -1;
		}
	}
	x->neighbors = nb[i];
	x->networks = net[i];
	return 0;
}

int main(int argc, char **argv)
{
	struct hnv_bgp_opts o = {0};
	int c;
	while ((c = getopt(argc, argv, "N:v:f:")) != -1) {
		if (c == 'N')
			o.pathspace = optarg;
		else if (c == 'v')
			o.vtysh = optarg;
		else if (c == 'f')
			o.path = optarg;
		else
			return 2;
	}
	size_t n = 0;
	for (int i = optind; i < argc && n < MAX_T; i++, n++)
		if (parse_tenant(argv[i], n) < 0) {
			fprintf(stderr, "bad tenant %s\n", argv[i]);
			return 2;
		}
	char err[1024] = "";
	if (o.path == NULL || hnv_bgp_apply(&o, t, n, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", o.path ? err : "-f FRAGMENT is required");
		return 1;
	}
	return 0;
}
