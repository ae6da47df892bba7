/* nat_drive.c: drives gateway/nat.c from test_nat.sh, in whatever network
 * namespace it runs in.
 *
 *   nat_drive apply TENANT...   prints "changed" or "unchanged"
 *   nat_drive flush
 *   nat_drive list TENANT...    one line per entry: "<tenant> <entry>"
 *
 * TENANT is one argument of space-separated key=value words:
 *   "name=a zone=1 if=ta if=xa ext=xa addr=198.51.100.1 prefix=10.10.0.0/16"
 * (if=, prefix= and netmap= repeat; ext= and addr= are optional). A netmap
 * is "netmap=local:IF:REAL=MAPPED" or
 * "netmap=remote:IF:REAL=MAPPED:MARK:SITE_MARK".
 * Exit status 0, or 1 with the library's message on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/nat.h"
#include "../../mgmt/conftext.h"

#define MAX_TENANTS 16
#define MAX_ITEMS 16

struct spec {
	char text[1024];
	const char *ifs[MAX_ITEMS];
	struct hnv_prefix prefixes[MAX_ITEMS];
	struct hnv_nat_netmap netmaps[MAX_ITEMS];
};

/* "local:IF:REAL=MAPPED" or "remote:IF:REAL=MAPPED:MARK:SITE_MARK" (v is
 * modified) */
static int parse_netmap(char *v, struct hnv_nat_netmap *m)
{
	char *kind = strtok(v, ":"), *ifn = strtok(NULL, ":"), *real = strtok(NULL, "=");
	char *mapped = strtok(NULL, ":"), *mark = strtok(NULL, ":");
	if (kind == NULL || ifn == NULL || real == NULL || mapped == NULL)
		return -EINVAL;
	m->remote = strcmp(kind, "remote") == 0;
	if (!m->remote && strcmp(kind, "local") != 0)
		return -EINVAL;
	m->ifname = ifn;
	if (hnv_parse_prefix(real, &m->real) != 0 || hnv_parse_prefix(mapped, &m->mapped) != 0)
		return -EINVAL;
	char *site = strtok(NULL, ":");
	if (mark != NULL) {
		char *end;
		m->mark = (uint32_t)strtoul(mark, &end, 0);
		if (*end != '\0')
			return -EINVAL;
	}
	if (site != NULL) {
		char *end;
		m->site_mark = (uint32_t)strtoul(site, &end, 0);
		if (*end != '\0')
			return -EINVAL;
	}
	return 0;
}

static int parse_tenant(const char *arg, struct spec *s, struct hnv_nat_tenant *t)
{
	memset(t, 0, sizeof(*t));
	if (strlen(arg) >= sizeof(s->text)) {
		fprintf(stderr, "tenant spec too long: %s\n", arg);
		return -EINVAL;
	}
	strcpy(s->text, arg);
	t->ifs = s->ifs;
	t->prefixes = s->prefixes;
	t->netmaps = s->netmaps;
	char *save = NULL;
	for (char *w = strtok_r(s->text, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
		char *v = strchr(w, '=');
		if (v == NULL) {
			fprintf(stderr, "word without '=': %s\n", w);
			return -EINVAL;
		}
		*v++ = '\0';
		if (strcmp(w, "name") == 0) {
			t->name = v;
		} else if (strcmp(w, "zone") == 0) {
			char *end;
			unsigned long z = strtoul(v, &end, 10);
			if (*end != '\0' || z > 65535) {
				fprintf(stderr, "bad zone %s\n", v);
				return -EINVAL;
			}
			t->zone = (uint16_t)z;
		} else if (strcmp(w, "if") == 0 && t->n_ifs < MAX_ITEMS) {
			s->ifs[t->n_ifs++] = v;
		} else if (strcmp(w, "ext") == 0) {
			t->ext_if = v;
		} else if (strcmp(w, "addr") == 0) {
			if (hnv_parse_ip(v, &t->ext_addr) != 0) {
				fprintf(stderr, "bad address %s\n", v);
				return -EINVAL;
			}
			t->has_ext_addr = true;
		} else if (strcmp(w, "netmap") == 0 && t->n_netmaps < MAX_ITEMS) {
			if (parse_netmap(v, &s->netmaps[t->n_netmaps]) != 0) {
				fprintf(stderr, "bad netmap %s\n", v);
				return -EINVAL;
			}
			t->n_netmaps++;
		} else if (strcmp(w, "prefix") == 0 && t->n_prefixes < MAX_ITEMS) {
			if (hnv_parse_prefix(v, &s->prefixes[t->n_prefixes]) != 0) {
				fprintf(stderr, "bad prefix %s\n", v);
				return -EINVAL;
			}
			t->n_prefixes++;
		} else {
			fprintf(stderr, "unknown or repeated too often: %s\n", w);
			return -EINVAL;
		}
	}
	return 0;
}

static void print_entry(const char *tenant, const struct hnv_ct *ct, void *arg)
{
	(void)arg;
	char line[256];
	hnv_ct_format(ct, line, sizeof(line));
	printf("%s %s\n", tenant, line);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: nat_drive apply|list TENANT... | flush\n");
		return 2;
	}
	static struct spec specs[MAX_TENANTS];
	struct hnv_nat_tenant t[MAX_TENANTS];
	size_t n = 0;
	for (int i = 2; i < argc; i++) {
		if (n == MAX_TENANTS) {
			fprintf(stderr, "more than %d tenants\n", MAX_TENANTS);
			return 2;
		}
		if (parse_tenant(argv[i], &specs[n], &t[n]) != 0)
			return 2;
		n++;
	}

	char err[512] = "";
	struct hnv_nat *h;
	int rc = hnv_nat_open(&h, err, sizeof(err));
	if (rc == 0) {
		if (strcmp(argv[1], "apply") == 0) {
			bool changed;
			rc = hnv_nat_apply(h, t, n, &changed, err, sizeof(err));
			if (rc == 0)
				printf("%s\n", changed ? "changed" : "unchanged");
		} else if (strcmp(argv[1], "flush") == 0 && n == 0) {
			rc = hnv_nat_flush(h, err, sizeof(err));
		} else if (strcmp(argv[1], "list") == 0) {
			rc = hnv_nat_list(h, t, n, print_entry, NULL, err, sizeof(err));
		} else {
			snprintf(err, sizeof(err), "unknown command %s", argv[1]);
			rc = -EINVAL;
		}
		hnv_nat_close(h);
	}
	if (rc != 0) {
		fprintf(stderr, "nat_drive %s: %s (%d)\n", argv[1], err, rc);
		return 1;
	}
	return 0;
}
