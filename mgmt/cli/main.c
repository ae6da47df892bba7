/* main.c: hnvgw, the command-line client of hnvgwd.
 *
 *   hnvgw [--socket PATH] [--json] COMMAND...
 *
 * Every command is one or more requests of mgmt/api.h on one connection
 * (client.c); the CLI itself decides nothing about the configuration (the
 * daemon validates), it only checks its own usage. Config commands (a first
 * word that is a config noun) are re-joined, quoting words where the
 * config-text tokenizer needs it, and sent as one exec line. Results are
 * printed by output.c; "ps" runs the NetWNV front end (ps.h) over the
 * connection.
 *
 * Exit status: 0 success; 1 the daemon refused (its message on stderr; the
 * socket's mode refusing the user counts too) or the command failed (a
 * file it cannot read, a trace that timed out); 2
 * usage error; 3 hnvgwd cannot be reached (no connection, or no
 * intelligible reply) (issue 17 finding 12); 4 a change was committed
 * (stored as a new revision) but hnvgwd could not apply all of it: what
 * and why on stderr (issue 17 finding 13).
 *
 * Secrets (issue 17 finding 9): a PSK may come from a file or stdin
 * (--psk-file FILE, --psk -) rather than argv, which every local user can
 * read; buffers that held one are cleared; the process is not dumpable.
 * Strings from hnvgwd are printed escaped (output.h; finding 11).
 */
#include "../../lib/clock.h"
#include "../../lib/vec.h"
#include "../api.h"
#include "client.h"
#include "output.h"
#include "ps.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3
#define EXIT_NOT_APPLIED 4
#define PSK_FILE_MAX 4096    /* bytes of a --psk-file (a PSK is at most 255) */
#define FILE_MAX (64u << 20) /* bytes of a commit or ps file */

/* First words that make a command a config-text line (mgmt/conftext.h). */
static const char *const nouns[] = {
	"rdomain", "vsubnet", "pa",   "port", "lookup", "route",    "global",
	"proute",  "gateway", "s2s",  "pool", "gre",    "l3",       "bgp-peer",
};

static const char *sock_path = HNV_API_DEFAULT_SOCK;
static bool json_out;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hnvgw [--socket PATH] [--json] COMMAND...\n"
		"\n"
		"Configuration (one transaction each; grammar in hnvgw(8)):\n"
		"  rdomain|vsubnet|pa|pool|port|lookup|route|proute|global|gateway|s2s|gre|l3|\n"
		"  bgp-peer ...\n"
		"  s2s add|set NAME ... --psk-file FILE|--psk -\n"
		"                                         the PSK from a file or stdin, not\n"
		"                                         argv (which every user can read)\n"
		"  commit -f FILE|- [--confirm SECONDS]   apply a file as one transaction\n"
		"  commit confirm                         keep a --confirm commit\n"
		"  config diff N M                        diff of revisions N and M\n"
		"  config rollback N                      apply revision N as a new one\n"
		"  port move NAME --to HOST               move a VM's port to another host\n"
		"                                         (hnvgwd --etcd only)\n"
		"  gateway move RDOMAIN --to HOST         move a gateway pool's tenant to\n"
		"                                         member HOST (hnvgwd --etcd only)\n"
		"\n"
		"Inspection:\n"
		"  show rdomains|vsubnets|pools|lookup|routes|ports|pa|proutes|gateways|s2s|\n"
		"       gre|l3|counters|status|config|revisions|global|gateway|nat|\n"
		"       gateway-routes|learned-routes|connections|gateway-pool|\n"
		"       gateway-pool-tenants|bgp-peers [--show-secrets]\n"
		"  show lookup [--vsid N] [--ca IP] [--pa IP]\n"
		"                                         only the matching records (also\n"
		"                                         --vsid for ports, routes, vsubnets,\n"
		"                                         pools; --ca for ports)\n"
		"  port add NAME --vsid N [--ca IP ...] [--mac MAC] [--dev IF]\n"
		"                                         a VM port: a TAP hnvgwd creates, or\n"
		"                                         the existing device IF (vnetN, veth)\n"
		"  nexthop --vsid N [--src IP] --dst IP   what the datapath would do\n"
		"  trace --count N [--port NAME|uplink] [--timeout S]\n"
		"                                         trace the next N live packets\n"
		"  ps [FILE|-]                            run NetWNV PowerShell cmdlets\n"
		"\n"
		"Options: --socket PATH (default " HNV_API_DEFAULT_SOCK "), --json (raw results)\n"
		"Exit status: 0 ok, 1 refused by hnvgwd (or failed: unreadable file, trace\n"
		"timeout), 2 usage error, 3 hnvgwd cannot be reached, 4 committed (stored as\n"
		"a new revision) but not applied (what and why on stderr; see show gateway).\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("hnvgw: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\nTry 'hnvgw --help'.\n", stderr);
	va_end(ap);
	return EXIT_USAGE;
}

/* ---- connection ---- */

/* Connects c to hnvgwd; prints why not. 0, or the exit status. */
static int conn_open(struct hnv_cli_conn *c)
{
	int rc = hnv_cli_connect(c, sock_path);
	if (rc == -ENAMETOOLONG)
		return usage_error("socket path %s is too long", sock_path);
	if (rc < 0) {
		fprintf(stderr, "hnvgw: cannot connect to hnvgwd at %s: %s%s\n", sock_path,
			strerror(-rc),
			rc == -ENOENT || rc == -ECONNREFUSED ? " (is hnvgwd running?)"
			: rc == -EACCES                      ? " (root or group hnvgw needed)"
							     : "");
		/* the socket's mode refuses this user as hnvgwd would */
		return rc == -EACCES ? EXIT_REFUSED : EXIT_UNREACHABLE;
	}
	return 0;
}

/* err, hnvgwd's message or about the connection, on stderr, escaped. */
static void print_err(const char *err)
{
	fputs("hnvgw: ", stderr);
	hnv_cli_fputs_safe(err, false, stderr);
	fputc('\n', stderr);
}

/* One request on a fresh connection; prints a refusal. Returns 0 with the
 * result (caller owns it), or the exit status with *result NULL. */
static int request(json_object *req, json_object **result)
{
	struct hnv_cli_conn c;
	*result = NULL;
	int rc = conn_open(&c);
	if (rc) {
		json_object_put(req);
		return rc;
	}
	char err[4096];
	rc = hnv_cli_call(&c, req, result, err, sizeof(err));
	hnv_cli_close(&c);
	if (rc) {
		print_err(err);
		return rc < 0 ? EXIT_UNREACHABLE : EXIT_REFUSED;
	}
	return 0;
}

/* A paged request (client.h hnv_cli_paged) on a fresh connection, as
 * request. */
static int request_paged(json_object *(*mk)(void *arg), void *arg, json_object **result)
{
	struct hnv_cli_conn c;
	*result = NULL;
	int rc = conn_open(&c);
	if (rc)
		return rc;
	char err[4096];
	rc = hnv_cli_paged(&c, mk, arg, result, err, sizeof(err));
	hnv_cli_close(&c);
	if (rc) {
		print_err(err);
		return rc < 0 ? EXIT_UNREACHABLE : EXIT_REFUSED;
	}
	return 0;
}

/* ---- commands ---- */

static bool is_noun(const char *w)
{
	for (size_t i = 0; i < sizeof(nouns) / sizeof(nouns[0]); i++)
		if (strcmp(w, nouns[i]) == 0)
			return true;
	return false;
}

/* Joins words into one config-text line: a word that is empty or holds a
 * blank, '#' or '"' is double quoted, with '"' and '\' escaped. */
static char *join_words(char **w, int n)
{
	size_t len = 1;
	for (int i = 0; i < n; i++)
		len += 2 * strlen(w[i]) + 3;
	char *s = malloc(len), *o = s;
	if (!s)
		return NULL;
	for (int i = 0; i < n; i++) {
		if (i)
			*o++ = ' ';
		bool q = w[i][0] == '\0' || strpbrk(w[i], " \t#\"");
		if (q)
			*o++ = '"';
		for (const char *p = w[i]; *p; p++) {
			if (q && (*p == '"' || *p == '\\'))
				*o++ = '\\';
			*o++ = *p;
		}
		if (q)
			*o++ = '"';
	}
	*o = '\0';
	return s;
}

/* The exit status of res, the result of a change (exec, rollback), with
 * done saying what was done ("committed revision N"): printed on stdout
 * unless quiet (--json: the result), and when hnvgwd could not apply all
 * of it, "DONE, but not applied: OBJECT: ERROR; ..." on stderr and
 * EXIT_NOT_APPLIED (issue 17 finding 13). */
static int change_status(json_object *res, const char *done, bool quiet)
{
	char *what;
	bool failed = hnv_cli_not_applied(res, &what);
	json_object *warnings;
	if (json_out)
		hnv_cli_print_json(res);
	else if (!quiet && !failed)
		printf("%s\n", done);
	/* committed all the same: the exit status stays what it is */
	if (!json_out && json_object_object_get_ex(res, "warnings", &warnings) &&
	    json_object_is_type(warnings, json_type_array))
		for (size_t i = 0; i < json_object_array_length(warnings); i++) {
			const char *w =
				json_object_get_string(json_object_array_get_idx(warnings, i));
			if (!w)
				continue;
			fputs("hnvgw: warning: ", stderr);
			hnv_cli_fputs_safe(w, false, stderr);
			fputc('\n', stderr);
		}
	if (!failed)
		return 0;
	fprintf(stderr, "hnvgw: %s, but not applied: ", done);
	hnv_cli_fputs_safe(what ? what : "out of memory", false, stderr);
	fputs("\nhnvgw: the change is stored; hnvgwd retries what the kernel refused "
	      "('hnvgw show gateway' shows the state)\n",
	      stderr);
	free(what);
	return EXIT_NOT_APPLIED;
}

static int exec_status(json_object *res, bool quiet)
{
	char done[160];
	json_object *rev, *confirm, *back;
	int r = json_object_object_get_ex(res, "rev", &rev) ? json_object_get_int(rev) : 0;
	if (json_object_object_get_ex(res, "confirm", &confirm) &&
	    json_object_object_get_ex(res, "rollback_to", &back))
		snprintf(done, sizeof(done),
			 "committed revision %d; back to revision %d in %d s unless "
			 "'hnvgw commit confirm' follows",
			 r, json_object_get_int(back), json_object_get_int(confirm));
	else
		snprintf(done, sizeof(done), "committed revision %d", r);
	return change_status(res, done, quiet);
}

/* One transaction of the lines, in chunks when it is larger than a
 * request line (issue 17 finding 7). */
static int exec_lines(const char *const *lines, size_t n, unsigned confirm, bool quiet)
{
	struct hnv_cli_conn c;
	int rc = conn_open(&c);
	if (rc)
		return rc;
	json_object *res;
	char err[4096];
	rc = hnv_cli_exec(&c, lines, n, confirm, &res, err, sizeof(err));
	hnv_cli_close(&c);
	if (rc) {
		print_err(err);
		return rc < 0 ? EXIT_UNREACHABLE : EXIT_REFUSED;
	}
	rc = exec_status(res, quiet);
	json_object_put(res);
	return rc;
}

/* Reads a whole file ("-": stdin) into a NUL-terminated buffer. */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (!f) {
		fprintf(stderr, "hnvgw: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	size_t cap = 0, n = 0;
	char *b = NULL;
	bool ok = false;
	for (;;) {
		if (n + 1 >= cap) {
			if (cap >= FILE_MAX) {
				fprintf(stderr, "hnvgw: %s is larger than %u bytes\n", path,
					FILE_MAX);
				break;
			}
			if (HNV_GROW(b, cap, cap ? 2 * cap : 65536))
				break;
		}
		size_t r = fread(b + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0) {
			if (ferror(f))
				fprintf(stderr, "hnvgw: reading %s: %s\n", path, strerror(errno));
			else
				ok = true;
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (!ok) {
		if (b)
			explicit_bzero(b, n);
		free(b);
		return NULL;
	}
	b[n] = '\0';
	*len = n;
	return b;
}

/* Clears and frees a secret (NULL: nothing). */
static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* --psk-file FILE and --psk - among the n words w of an s2s line: the PSK
 * is read from FILE or stdin (one line, its newline dropped) and put in w
 * as "--psk SECRET", so it is never in argv, which every local user can
 * read in /proc (issue 17 finding 9). *secret: the PSK read (malloc'd; the
 * caller frees it with free_secret once w is used), NULL when none was.
 * Returns 0 or the exit status. */
static int take_psk(char **w, int n, char **secret)
{
	*secret = NULL;
	for (int i = 0; i < n; i++) {
		bool file = strcmp(w[i], "--psk-file") == 0;
		if (!file &&
		    !(strcmp(w[i], "--psk") == 0 && i + 1 < n && strcmp(w[i + 1], "-") == 0))
			continue;
		if (i + 1 >= n)
			return usage_error("--psk-file needs a FILE");
		if (*secret) {
			free_secret(*secret);
			*secret = NULL;
			return usage_error("the PSK is given twice");
		}
		const char *from = file ? w[i + 1] : "-";
		size_t len;
		char *text = read_all(from, &len);
		if (!text)
			return EXIT_REFUSED;
		if (len && text[len - 1] == '\n')
			text[--len] = '\0';
		if (len && text[len - 1] == '\r')
			text[--len] = '\0';
		if (strlen(text) != len || strchr(text, '\n') || len > PSK_FILE_MAX) {
			free_secret(text);
			fprintf(stderr, "hnvgw: the PSK in %s must be one line of text\n",
				file ? from : "standard input");
			return EXIT_REFUSED;
		}
		w[i] = "--psk";
		w[++i] = text;
		*secret = text;
	}
	return 0;
}

static int cmd_config_line(int argc, char **argv)
{
	char *secret = NULL;
	int rc = strcmp(argv[0], "s2s") == 0 ? take_psk(argv, argc, &secret) : 0;
	if (rc)
		return rc;
	char *line = join_words(argv, argc);
	free_secret(secret);
	if (!line)
		return EXIT_REFUSED;
	rc = exec_lines((const char *const *)&line, 1, 0, true);
	explicit_bzero(line, strlen(line));
	free(line);
	return rc;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	if (!*s || *s == '-' || *s == '+')
		return -1;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || errno || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Cuts text (len bytes) into its lines in place, at "\n" or "\r\n"; the
 * malloc'd array *lines (n entries) points into text. 0 or -ENOMEM. */
static int split_lines(char *text, size_t len, char ***lines, size_t *n)
{
	size_t cap = 0;
	for (char *p = text; p < text + len;) {
		char *nl = memchr(p, '\n', (size_t)(text + len - p));
		char *end = nl ? nl : text + len;
		if (end > p && end[-1] == '\r')
			end[-1] = '\0';
		*end = '\0';
		if (HNV_GROW(*lines, cap, *n + 1))
			return -ENOMEM;
		(*lines)[(*n)++] = p;
		p = end + 1;
	}
	return 0;
}

static int cmd_commit(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "confirm") == 0) {
		json_object *res;
		int rc = request(hnv_cli_req("commit-confirm"), &res);
		if (rc == 0) {
			if (json_out)
				hnv_cli_print_json(res);
			else
				printf("revision %d confirmed\n",
				       json_object_get_int(json_object_object_get(res, "rev")));
		}
		json_object_put(res);
		return rc;
	}
	const char *file = NULL;
	unsigned long confirm = 0;
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--file") == 0) &&
		    i + 1 < argc && !file) {
			file = argv[++i];
		} else if (strcmp(argv[i], "--confirm") == 0 && i + 1 < argc) {
			if (parse_uint(argv[++i], 86400, &confirm) || confirm == 0)
				return usage_error("--confirm wants 1-86400 seconds, not \"%s\"",
						   argv[i]);
		} else {
			return usage_error("commit: unexpected \"%s\" (commit -f FILE "
					   "[--confirm SECONDS] | commit confirm)",
					   argv[i]);
		}
	}
	if (!file)
		return usage_error("commit needs -f FILE (or 'commit confirm')");
	size_t len;
	char *text = read_all(file, &len);
	if (!text)
		return EXIT_REFUSED;
	/* one line per file line, so the daemon's "line N" is the file's */
	char **lines = NULL;
	size_t n = 0;
	int rc;
	if (split_lines(text, len, &lines, &n) < 0) {
		fprintf(stderr, "hnvgw: out of memory\n");
		rc = EXIT_REFUSED;
	} else if (n == 0) {
		fprintf(stderr, "hnvgw: %s is empty\n", file);
		rc = EXIT_REFUSED;
	} else {
		rc = exec_lines((const char *const *)lines, n, (unsigned)confirm, false);
	}
	explicit_bzero(text, len);
	free(text);
	free(lines);
	return rc;
}

/* show WHAT [--show-secrets] [--vsid N] [--ca IP] [--pa IP]: asked for in
 * pages, filtered by hnvgwd (issue 17 finding 7). */
static int cmd_show(int argc, char **argv)
{
	struct {
		const char *what;
		bool secrets;
		json_object *filter; /* "vsid", "ca", "pa", or NULL */
	} o = {0};
	const char *vsid = NULL, *ca = NULL, *pa = NULL;
	for (int i = 1; i < argc; i++) {
		const char **val = strcmp(argv[i], "--vsid") == 0 ? &vsid
				   : strcmp(argv[i], "--ca") == 0 ? &ca
				   : strcmp(argv[i], "--pa") == 0 ? &pa
								  : NULL;
		if (strcmp(argv[i], "--show-secrets") == 0)
			o.secrets = true;
		else if (val && i + 1 < argc && !*val)
			*val = argv[++i];
		else if (!o.what && argv[i][0] != '-')
			o.what = argv[i];
		else
			return usage_error("show: unexpected \"%s\"", argv[i]);
	}
	if (!o.what)
		return usage_error("show needs what to show (rdomains, vsubnets, lookup, routes, "
				   "ports, pa, proutes, gateways, s2s, counters, config, "
				   "revisions, global)");
	unsigned long v;
	unsigned char a[16];
	if (vsid && parse_uint(vsid, UINT32_MAX, &v))
		return usage_error("--vsid wants a number, not \"%s\"", vsid);
	if (ca && inet_pton(AF_INET, ca, a) != 1 && inet_pton(AF_INET6, ca, a) != 1)
		return usage_error("--ca wants an IPv4 or IPv6 address, not \"%s\"", ca);
	if (pa && inet_pton(AF_INET, pa, a) != 1 && inet_pton(AF_INET6, pa, a) != 1)
		return usage_error("--pa wants an IPv4 or IPv6 address, not \"%s\"", pa);
	if (vsid || ca || pa) {
		o.filter = json_object_new_object();
		if (vsid)
			json_object_object_add(o.filter, "vsid", json_object_new_int64((int64_t)v));
		if (ca)
			json_object_object_add(o.filter, "ca", json_object_new_string(ca));
		if (pa)
			json_object_object_add(o.filter, "pa", json_object_new_string(pa));
	}
	json_object *res = NULL;
	struct hnv_cli_conn c;
	int rc = conn_open(&c);
	if (rc == 0) {
		char err[4096];
		rc = hnv_cli_show(&c, o.what, o.secrets, o.filter, &res, err, sizeof(err));
		hnv_cli_close(&c);
		if (rc)
			print_err(err);
		rc = rc < 0 ? EXIT_UNREACHABLE : rc ? EXIT_REFUSED : 0;
	}
	json_object_put(o.filter);
	if (rc)
		return rc;
	if (json_out)
		hnv_cli_print_json(res);
	else if (json_object_is_type(res, json_type_string))
		hnv_cli_print_text(res);
	else
		hnv_cli_print_table(res);
	if (json_object_is_type(res, json_type_string)) {
		const char *s = json_object_get_string(res);
		explicit_bzero((char *)s, strlen(s));
	}
	json_object_put(res);
	return 0;
}

struct diff_opts {
	unsigned long from, to;
};

static json_object *diff_req(void *arg)
{
	const struct diff_opts *o = arg;
	json_object *req = hnv_cli_req("diff");
	json_object_object_add(req, "from", json_object_new_int64((int64_t)o->from));
	json_object_object_add(req, "to", json_object_new_int64((int64_t)o->to));
	return req;
}

static int cmd_config(int argc, char **argv)
{
	unsigned long a, b;
	json_object *req, *res;
	if (argc == 4 && strcmp(argv[1], "diff") == 0) {
		if (parse_uint(argv[2], UINT32_MAX, &a) || parse_uint(argv[3], UINT32_MAX, &b) ||
		    !a || !b)
			return usage_error("config diff wants two revision numbers");
		struct diff_opts d = {a, b};
		int rc = request_paged(diff_req, &d, &res);
		if (rc == 0)
			json_out ? hnv_cli_print_json(res) : hnv_cli_print_text(res);
		json_object_put(res);
		return rc;
	}
	if (argc == 3 && strcmp(argv[1], "rollback") == 0) {
		if (parse_uint(argv[2], UINT32_MAX, &a) || !a)
			return usage_error("config rollback wants a revision number, not \"%s\"",
					   argv[2]);
		req = hnv_cli_req("rollback");
		json_object_object_add(req, "rev", json_object_new_int64((int64_t)a));
		int rc = request(req, &res);
		if (rc == 0) {
			char done[96];
			snprintf(done, sizeof(done), "revision %lu restored as revision %d", a,
				 json_object_get_int(json_object_object_get(res, "rev")));
			rc = change_status(res, done, false);
		}
		json_object_put(res);
		return rc;
	}
	return usage_error("config diff N M | config rollback N");
}

/* Takes argv[1..argc-1] as "NAME VALUE" pairs: the value of names[k] into
 * val[k]. False for another word, a name without a value or a name given
 * twice. */
static bool take_options(int argc, char **argv, const char *const *names, const char **val,
			 size_t n)
{
	for (int i = 1; i < argc; i++) {
		size_t k = 0;
		while (k < n && strcmp(argv[i], names[k]) != 0)
			k++;
		if (k == n || i + 1 >= argc || val[k])
			return false;
		val[k] = argv[++i];
	}
	return true;
}

/* Prints the records of array key of a trace result from *printed on, one
 * JSON line each; returns how many packets they finish: every record but a
 * fast-path punt (the engine's record of that packet follows). */
static size_t print_new(json_object *res, const char *key, size_t *printed)
{
	json_object *recs, *v;
	if (!json_object_object_get_ex(res, key, &recs) ||
	    !json_object_is_type(recs, json_type_array))
		return 0;
	size_t have = json_object_array_length(recs), done = 0;
	for (size_t i = 0; i < have; i++)
		done += !json_object_object_get_ex(json_object_array_get_idx(recs, i), "verdict",
						   &v) ||
			strcmp(json_object_get_string(v), "punt") != 0;
	for (; *printed < have; (*printed)++)
		hnv_cli_print_json_line(json_object_array_get_idx(recs, *printed));
	fflush(stdout);
	return done;
}

/* trace: starts a session, then polls it every 100 ms and prints each new
 * record as one JSON line (the format of hnvgw-dp replay --trace; "tier":
 * "engine" or "fast path") until N packets were traced (a punted one has
 * a record in each tier) or --timeout seconds (default 10) passed (exit
 * 1). */
static int cmd_trace(int argc, char **argv)
{
	static const char *const names[] = {"--count", "--port", "--timeout"};
	const char *val[3] = {NULL};
	if (!take_options(argc, argv, names, val, 3))
		return usage_error("trace --count N [--port NAME|uplink] [--timeout S]");
	const char *count = val[0], *port = val[1], *timeout = val[2];
	unsigned long n, tmo = 10;
	if (!count)
		return usage_error("trace needs --count N");
	if (parse_uint(count, 64, &n) || n == 0)
		return usage_error("--count wants a number of packets (1-64), not \"%s\"", count);
	if (timeout && (parse_uint(timeout, 86400, &tmo) || tmo == 0))
		return usage_error("--timeout wants seconds (1-86400), not \"%s\"", timeout);
	json_object *req = hnv_cli_req("trace"), *res;
	json_object_object_add(req, "count", json_object_new_int((int)n));
	if (port)
		json_object_object_add(req, "port", json_object_new_string(port));
	int rc = request(req, &res);
	if (rc)
		return rc;
	json_object *sid;
	int64_t session =
		json_object_object_get_ex(res, "session", &sid) ? json_object_get_int64(sid) : 0;
	json_object_put(res);
	size_t printed = 0, printed_fp = 0;
	int64_t start = hnv_mono_ms();
	for (;;) {
		req = hnv_cli_req("trace");
		json_object_object_add(req, "session", json_object_new_int64(session));
		if ((rc = request(req, &res)))
			return rc;
		size_t have = print_new(res, "records", &printed);
		/* with the kernel fast path: its programs' decisions */
		have += print_new(res, "fast_path", &printed_fp);
		json_object_put(res);
		if (have >= n)
			return 0;
		if (hnv_mono_ms() - start >= (int64_t)tmo * 1000) {
			fprintf(stderr, "hnvgw: trace: %zu of %lu packets traced in %lu s\n", have,
				n, tmo);
			return EXIT_REFUSED;
		}
		nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
	}
}

static int cmd_nexthop(int argc, char **argv)
{
	static const char *const names[] = {"--vsid", "--src", "--dst"};
	const char *val[3] = {NULL};
	if (!take_options(argc, argv, names, val, 3))
		return usage_error("nexthop --vsid N [--src IP] --dst IP");
	const char *vsid = val[0], *src = val[1], *dst = val[2];
	unsigned long v;
	if (!vsid || !dst)
		return usage_error("nexthop needs --vsid N and --dst IP");
	if (parse_uint(vsid, UINT32_MAX, &v))
		return usage_error("--vsid wants a number, not \"%s\"", vsid);
	json_object *req = hnv_cli_req("nexthop"), *res;
	json_object_object_add(req, "vsid", json_object_new_int64((int64_t)v));
	if (src)
		json_object_object_add(req, "src", json_object_new_string(src));
	json_object_object_add(req, "dst", json_object_new_string(dst));
	int rc = request(req, &res);
	if (rc)
		return rc;
	if (json_out || !json_object_is_type(res, json_type_object)) {
		hnv_cli_print_json(res);
	} else {
		json_object *stages = NULL;
		json_object_object_foreach(res, k, val)
		{
			if (json_object_is_type(val, json_type_array)) {
				stages = val;
				continue;
			}
			char *ek = hnv_cli_escape(k, false);
			printf("%-12s ", ek ? ek : "?");
			free(ek);
			hnv_cli_fputs_safe(json_object_get_string(val), false, stdout);
			putchar('\n');
		}
		if (stages && json_object_array_length(stages)) {
			printf("stages:\n");
			hnv_cli_print_table(stages);
		}
	}
	json_object_put(res);
	return 0;
}

static int cmd_ps(int argc, char **argv)
{
	if (argc > 2)
		return usage_error("ps [FILE|-]");
	const char *file = argc == 2 ? argv[1] : "-";
	size_t len;
	char *script = read_all(file, &len);
	if (!script)
		return EXIT_REFUSED;
	struct hnv_cli_conn c;
	int rc = conn_open(&c);
	if (rc == 0) {
		struct hnv_ps_io io = {.out = stdout, .err = stderr};
		hnv_cli_ps_io(&c, &io);
		rc = hnv_ps_run(script, len, &io);
		if (c.lost) /* a cmdlet's request got no answer */
			rc = EXIT_UNREACHABLE;
		hnv_cli_close(&c);
	}
	explicit_bzero(script, len);
	free(script);
	return rc;
}

/* s2s show [--json] | up NAME | down NAME | set NAME OPTIONS... (the whole
 * tunnel again: replaces it in one transaction). */
static int cmd_s2s(int argc, char **argv)
{
	if (strcmp(argv[1], "show") == 0) {
		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--json") != 0)
				return usage_error("s2s show: unexpected \"%s\"", argv[i]);
			json_out = true;
		}
		char *sargv[] = {"show", "s2s-status"};
		return cmd_show(2, sargv);
	}
	if (argc < 3)
		return usage_error("s2s %s needs a tunnel name", argv[1]);
	if (strcmp(argv[1], "set") == 0) {
		/* "s2s del NAME" + "s2s add NAME ..." as one transaction */
		char *secret;
		int rc = take_psk(argv + 3, argc - 3, &secret);
		if (rc)
			return rc;
		char *dw[] = {"s2s", "del", argv[2]};
		char *del = join_words(dw, 3), *opts = join_words(argv + 2, argc - 2);
		free_secret(secret);
		size_t len = opts ? strlen(opts) + 9 : 0;
		char *add = opts ? malloc(len) : NULL;
		if (add)
			snprintf(add, len, "s2s add %s", opts);
		if (opts)
			explicit_bzero(opts, strlen(opts)); /* holds the PSK */
		free(opts);
		if (!del || !add) {
			free(del);
			free(add);
			fprintf(stderr, "hnvgw: out of memory\n");
			return EXIT_REFUSED;
		}
		const char *lines[] = {del, add};
		json_object *req = hnv_cli_exec_req(lines, 2), *res;
		explicit_bzero(add, strlen(add));
		free(add);
		free(del);
		rc = request(req, &res);
		if (rc == 0)
			rc = exec_status(res, true);
		json_object_put(res);
		return rc;
	}
	if (argc != 3)
		return usage_error("s2s %s NAME", argv[1]);
	json_object *req = hnv_cli_req("s2s"), *res;
	json_object_object_add(req, "name", json_object_new_string(argv[2]));
	json_object_object_add(req, "action", json_object_new_string(argv[1]));
	int rc = request(req, &res);
	if (rc == 0)
		json_object_put(res);
	return rc;
}

int main(int argc, char **argv)
{
	/* no core dump, no ptrace by the user's other processes: the CLI
	 * may hold a PSK (issue 17 finding 9) */
	prctl(PR_SET_DUMPABLE, 0);
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
			sock_path = argv[++i];
		} else if (strncmp(argv[i], "--socket=", 9) == 0) {
			sock_path = argv[i] + 9;
		} else if (strcmp(argv[i], "--json") == 0) {
			json_out = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			return usage_error("unknown option \"%s\"", argv[i]);
		}
	}
	if (i == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[i];
	int n = argc - i;
	char **args = argv + i;
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "s2s") == 0 && n >= 2 &&
	    (strcmp(args[1], "show") == 0 || strcmp(args[1], "up") == 0 ||
	     strcmp(args[1], "down") == 0 || strcmp(args[1], "set") == 0))
		return cmd_s2s(n, args);
	if (is_noun(cmd)) {
		if (n < 2)
			return usage_error("%s needs a verb (add, del, set, ...)", cmd);
		return cmd_config_line(n, args);
	}
	/* outside config lines, --json may also follow the command */
	int k = 1;
	for (int j = 1; j < n; j++) {
		if (strcmp(args[j], "--json") == 0)
			json_out = true;
		else
			args[k++] = args[j];
	}
	n = k;
	if (strcmp(cmd, "commit") == 0)
		return cmd_commit(n, args);
	if (strcmp(cmd, "show") == 0)
		return cmd_show(n, args);
	if (strcmp(cmd, "config") == 0)
		return cmd_config(n, args);
	if (strcmp(cmd, "nexthop") == 0)
		return cmd_nexthop(n, args);
	if (strcmp(cmd, "trace") == 0)
		return cmd_trace(n, args);
	if (strcmp(cmd, "ps") == 0)
		return cmd_ps(n, args);
	return usage_error("unknown command \"%s\"", cmd);
}
