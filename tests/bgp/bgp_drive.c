/* bgp_drive.c: hnv_bgp_apply (gateway/bgp.c) from the command line, for
 * tests/bgp/test_bgp.sh.
 *
 *   bgp_drive [-N PATHSPACE] [-d VTYDIR] -f FRAGMENT [TENANT...]
 *
 * TENANT is comma-separated: vrf=NAME,as=ASN[,rid=A.B.C.D]
 * [,nb=ADDR/ASN]...[,net=PREFIX/LEN]...[,redist=connected|static|kernel|openfabric]...
 *   [,peer=NAME@ADDR/ASN[,in=PREFIX/LEN[:ge:le]]...[,out=PREFIX/LEN[:ge:le]|none]...
 *    [,src=ADDR]]...
 * A named peer (peer=) gets filters: in= and out= entries (ge, le: 0 for
 * none) apply to the last peer given; without out= it announces the
 * tenant's networks, out=none nothing.
 * No tenant means none wanted. Exit 0, or 1 with the error on stderr.
 *
 *   bgp_drive [-N PATHSPACE] -s
 * prints each rd-* neighbor bgpd has: "VRF ADDR STATE received R accepted
 * A announced S" (hnv_bgp_neighbors).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../gateway/bgp.h"

#define MAX_T 2048 /* tenants: the scale measurements give hundreds */
#define MAX_N 8

static struct hnv_bgp_tenant t[MAX_T];
static struct hnv_bgp_neighbor nb[MAX_T][MAX_N];
static struct hnv_prefix net[MAX_T][MAX_N];
static struct hnv_ip rid[MAX_T];
static struct hnv_bgp_match flt[MAX_T][MAX_N][2][MAX_N];
static struct hnv_ip src[MAX_T][MAX_N];

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

/* "P/LEN[:GE:LE]" */
static int parse_match(char *v, struct hnv_bgp_match *m)
{
	unsigned long num;
	char *slash = strrchr(v, '/'), *colon = slash ? strchr(slash, ':') : NULL;
	memset(m, 0, sizeof(*m));
	if (colon) {
		*colon = 0;
		if (sscanf(colon + 1, "%hhu:%hhu", &m->ge, &m->le) != 2)
			return -1;
	}
	if (split(v, &m->prefix.addr, &num) < 0)
		return -1;
	m->prefix.len = (uint8_t)num;
	return 0;
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
		} else if (strcmp(kv, "peer") == 0 && x->n_neighbors < MAX_N) {
			size_t j = x->n_neighbors++;
			struct hnv_bgp_neighbor *n = &nb[i][j];
			char *at = strchr(v, '@');
			if (at == NULL)
				return -1;
			*at = 0;
			n->name = v;
			if (split(at + 1, &n->addr, &num) < 0)
				return -1;
			n->remote_as = (uint32_t)num;
			n->in = flt[i][j][0];
			n->out = flt[i][j][1];
			n->out_own = true;
		} else if ((strcmp(kv, "in") == 0 || strcmp(kv, "out") == 0 ||
			    strcmp(kv, "src") == 0) &&
			   x->n_neighbors > 0 && nb[i][x->n_neighbors - 1].name) {
			size_t j = x->n_neighbors - 1;
			struct hnv_bgp_neighbor *n = &nb[i][j];
			if (strcmp(kv, "src") == 0) {
				if (parse_ip(v, &src[i][j]) < 0)
					return -1;
				n->source = &src[i][j];
			} else if (strcmp(kv, "in") == 0 && n->n_in < MAX_N) {
				if (parse_match(v, &flt[i][j][0][n->n_in++]) < 0)
					return -1;
			} else if (strcmp(kv, "out") == 0 && strcmp(v, "none") == 0) {
				n->out_own = false;
			} else if (strcmp(kv, "out") == 0 && n->n_out < MAX_N) {
				n->out_own = false;
				if (parse_match(v, &flt[i][j][1][n->n_out++]) < 0)
					return -1;
			} else {
				return -1;
			}
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

static void print_peer(void *arg, const struct hnv_bgp_peer_state *s)
{
	(void)arg;
	printf("%s %s %s received %lld accepted %lld announced %lld\n", s->vrf, s->addr, s->state,
	       s->received, s->accepted, s->announced);
}

int main(int argc, char **argv)
{
	struct hnv_bgp_opts o = {0};
	bool show = false;
	int c;
	while ((c = getopt(argc, argv, "N:d:f:s")) != -1) {
		if (c == 's')
			show = true;
		else if (c == 'N')
			o.pathspace = optarg;
		else if (c == 'd')
			o.vty_dir = optarg;
		else if (c == 'f')
			o.path = optarg;
		else
			return 2;
	}
	char err[1024] = "";
	if (show) {
		if (hnv_bgp_neighbors(&o, print_peer, NULL, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		return 0;
	}
	size_t n = 0;
	for (int i = optind; i < argc && n < MAX_T; i++, n++)
		if (parse_tenant(argv[i], n) < 0) {
			fprintf(stderr, "bad tenant %s\n", argv[i]);
			return 2;
		}
	if (o.path == NULL || hnv_bgp_apply(&o, t, n, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", o.path ? err : "-f FRAGMENT is required");
		return 1;
	}
	return 0;
}
