/* conn_drive.c: runs one gateway/rtnl_conn.c operation per invocation
 * against the kernel of the current network namespace, for
 * tests/conn/test_conn_tc.sh and the image lab's connections scenario.
 *
 *   conn_drive rate-out DEV KBIT     tbf root qdisc (0: removed)
 *   conn_drive rate-in DEV KBIT      ingress qdisc + matchall police (0: removed)
 *   conn_drive shaping DEV           "tbf=BYTES_PER_S root=0|1 ingress=0|1", from
 *                                    hnv_rtnl_shaping_get; fails when the
 *                                    dump of every device (hnv_rtnl_shapings)
 *                                    says otherwise
 *   conn_drive gre NAME LOCAL REMOTE [KEY]
 *   conn_drive vlan NAME PARENT ID
 *   conn_drive link NAME             "kind=K link=IFINDEX vlan=ID gre=L>R key=K|-"
 *
 * Exit status 0, or 1 with the module's error message on stderr.
 */
#include "../../gateway/rtnl.h"
#include "../../lib/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ifindex_of(struct hnv_rtnl *r, const char *name, char *err, size_t errlen)
{
	struct hnv_rtnl_link l;
	int rc = hnv_rtnl_link_get(r, name, &l, err, errlen);
	return rc < 0 ? rc : l.ifindex;
}

int main(int argc, char **argv)
{
	char err[512] = "";
	struct hnv_rtnl *r;
	if (hnv_rtnl_open(&r, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	int rc = -1;
	const char *cmd = argc > 1 ? argv[1] : "";
	if ((strcmp(cmd, "rate-out") == 0 || strcmp(cmd, "rate-in") == 0) && argc == 4) {
		int ifi = ifindex_of(r, argv[2], err, sizeof(err));
		uint32_t kbit = (uint32_t)strtoul(argv[3], NULL, 10);
		rc = ifi < 0         ? ifi
		     : cmd[5] == 'o' ? hnv_rtnl_rate_out(r, ifi, argv[2], kbit, err, sizeof(err))
				     : hnv_rtnl_rate_in(r, ifi, argv[2], kbit, err, sizeof(err));
	} else if (strcmp(cmd, "shaping") == 0 && argc == 3) {
		int ifi = ifindex_of(r, argv[2], err, sizeof(err));
		struct hnv_rtnl_shaping s;
		rc = ifi < 0 ? ifi : hnv_rtnl_shaping_get(r, ifi, &s, err, sizeof(err));
		struct hnv_rtnl_dev_shaping *all = NULL;
		size_t n = 0;
		if (rc == 0 && (rc = hnv_rtnl_shapings(r, &all, &n, err, sizeof(err))) == 0) {
			const struct hnv_rtnl_dev_shaping *e = hnv_rtnl_shaping_find(all, n, ifi);
			struct hnv_rtnl_shaping t = e ? e->s : (struct hnv_rtnl_shaping){0};
			if (t.tbf_bytes_per_s != s.tbf_bytes_per_s || t.has_root != s.has_root ||
			    t.has_ingress != s.has_ingress) {
				snprintf(err, sizeof(err),
					 "dump of every device: tbf=%llu root=%d ingress=%d",
					 (unsigned long long)t.tbf_bytes_per_s, t.has_root,
					 t.has_ingress);
				rc = -1;
			}
			free(all);
		}
		if (rc == 0)
			printf("tbf=%llu root=%d ingress=%d\n",
			       (unsigned long long)s.tbf_bytes_per_s, s.has_root, s.has_ingress);
	} else if (strcmp(cmd, "gre") == 0 && (argc == 5 || argc == 6)) {
		struct hnv_ip l, m;
		if (hnv_parse_ip(argv[3], &l) < 0 || hnv_parse_ip(argv[4], &m) < 0) {
			fprintf(stderr, "bad address\n");
			return 1;
		}
		rc = hnv_rtnl_add_gre(r, argv[2], &l, &m, argc == 6,
				      argc == 6 ? (uint32_t)strtoul(argv[5], NULL, 10) : 0, err,
				      sizeof(err));
	} else if (strcmp(cmd, "vlan") == 0 && argc == 5) {
		int ifi = ifindex_of(r, argv[3], err, sizeof(err));
		rc = ifi < 0 ? ifi
			     : hnv_rtnl_add_vlan(r, argv[2], ifi, argv[3],
						 (uint16_t)strtoul(argv[4], NULL, 10), err,
						 sizeof(err));
	} else if (strcmp(cmd, "link") == 0 && argc == 3) {
		struct hnv_rtnl_link l;
		rc = hnv_rtnl_link_get(r, argv[2], &l, err, sizeof(err));
		if (rc == 0) {
			char a[16], b[16], k[16] = "-";
			inet_ntop(AF_INET, &l.gre_local, a, sizeof(a));
			inet_ntop(AF_INET, &l.gre_remote, b, sizeof(b));
			if (l.gre_has_key)
				snprintf(k, sizeof(k), "%u", l.gre_key);
			printf("kind=%s link=%d vlan=%u gre=%s>%s key=%s\n",
			       l.kind[0] ? l.kind : "-", l.link, l.vlan_id, a, b, k);
		}
	} else {
		fprintf(stderr, "usage: see tests/conn/conn_drive.c\n");
		hnv_rtnl_close(r);
		return 2;
	}
	hnv_rtnl_close(r);
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	return 0;
}
