/* hnvgw_main.c: the hnvgw command-line client of hnvgwd.
 *
 *   hnvgw [--socket PATH] [--json] COMMAND...
 *
 * Every command is one or more requests of mgmt/api.h on one connection;
 * the CLI itself decides nothing about the configuration (the daemon
 * validates), it only checks its own usage. Config commands (a first word
 * that is a config noun) are re-joined, quoting words where the config-text
 * tokenizer needs it, and sent as one exec line.
 *
 * Exit status: 0 success; 1 the daemon refused (its message on stderr) or
 * could not be reached; 2 usage error.
 */
#include "../api.h"
#include "ps.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define REPLY_MAX (64u << 20) /* bytes of one reply line the client accepts */
#define FILE_MAX (64u << 20)  /* bytes of a commit or ps file */

/* First words that make a command a config-text line (mgmt/conftext.h). */
static const char *const nouns[] = {
	"rdomain", "vsubnet", "pa", "port", "lookup", "route", "global", "proute", "gateway", "s2s",
	"pool",
};

static const char *sock_path = HNV_API_DEFAULT_SOCK;
static bool json_out;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hnvgw [--socket PATH] [--json] COMMAND...\n"
		"\n"
		"Configuration (one transaction each; grammar in hnvgw(8)):\n"
		"  rdomain|vsubnet|pa|pool|port|lookup|route|proute|global|gateway|s2s ...\n"
		"  commit -f FILE|- [--confirm SECONDS]   apply a file as one transaction\n"
		"  commit confirm                         keep a --confirm commit\n"
		"  config diff N M                        diff of revisions N and M\n"
		"  config rollback N                      apply revision N as a new one\n"
		"  port move NAME --to HOST               move a VM's port to another host\n"
		"                                         (hnvgwd --etcd only)\n"
		"\n"
		"Inspection:\n"
		"  show rdomains|vsubnets|pools|lookup|routes|ports|pa|proutes|gateways|s2s|\n"
		"       counters|config|revisions|global|gateway|nat|gateway-routes|\n"
		"       learned-routes [--show-secrets]\n"
		"  nexthop --vsid N [--src IP] --dst IP   what the datapath would do\n"
		"  trace --count N [--port NAME|uplink] [--timeout S]\n"
		"                                         trace the next N live packets\n"
		"  ps [FILE|-]                            run NetWNV PowerShell cmdlets\n"
		"\n"
		"Options: --socket PATH (default " HNV_API_DEFAULT_SOCK "), --json (raw results)\n"
		"Exit status: 0 ok, 1 refused by hnvgwd or hnvgwd unreachable, 2 usage error.\n");
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

struct conn {
	int fd;
	char *buf;
	size_t len, cap;
};

static int conn_open(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "hnvgw: socket path %s is too long\n", sock_path);
		return EXIT_REFUSED;
	}
	strcpy(sa.sun_path, sock_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;
		fprintf(stderr, "hnvgw: cannot connect to hnvgwd at %s: %s%s\n", sock_path,
			strerror(e),
			e == ENOENT || e == ECONNREFUSED ? " (is hnvgwd running?)"
			: e == EACCES                    ? " (root or group hnvgw needed)"
							 : "");
		if (fd >= 0)
			close(fd);
		return EXIT_REFUSED;
	}
	c->fd = fd;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->buf) {
		explicit_bzero(c->buf, c->cap);
		free(c->buf);
	}
}

/* Sends req (consumed) and reads its reply. Returns 0 with the result
 * (caller owns it; NULL when absent), 1 when the daemon refused (message in
 * err), -1 when the connection failed (message in err). */
static int call(struct conn *c, json_object *req, json_object **result, char *err, size_t errlen)
{
	*result = NULL;
	json_object_object_add(req, "v", json_object_new_int(HNV_API_VERSION));
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN |
								    JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(s);
	int rc = -1, send_errno = 0;
	for (size_t off = 0; off <= n;) {
		const char *p = off < n ? s + off : "\n";
		size_t l = off < n ? n - off : 1;
		ssize_t w = send(c->fd, p, l, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			/* the daemon may have answered before closing: read on */
			send_errno = errno;
			break;
		}
		off += (size_t)w;
	}
	char *nl;
	while (!(nl = c->len ? memchr(c->buf, '\n', c->len) : NULL)) {
		if (c->len == c->cap) {
			if (c->cap >= REPLY_MAX) {
				snprintf(err, errlen, "reply from hnvgwd too long");
				goto out;
			}
			size_t cap = c->cap ? 2 * c->cap : 65536;
			char *b = realloc(c->buf, cap);
			if (!b) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			c->buf = b;
			c->cap = cap;
		}
		ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : send_errno;
			snprintf(err, errlen, "hnvgwd closed the connection without a reply%s%s",
				 e ? ": " : "", e ? strerror(e) : "");
			goto out;
		}
		c->len += (size_t)r;
	}
	size_t linelen = (size_t)(nl - c->buf), rest = c->len - linelen - 1;
	*nl = '\0';
	json_object *reply = json_tokener_parse(c->buf);
	memmove(c->buf, nl + 1, rest);
	explicit_bzero(c->buf + rest, linelen + 1); /* replies may hold secrets */
	c->len = rest;
	json_object *v, *ok, *e;
	if (!reply || !json_object_is_type(reply, json_type_object) ||
	    !json_object_object_get_ex(reply, "v", &v) ||
	    json_object_get_int(v) != HNV_API_VERSION ||
	    !json_object_object_get_ex(reply, "ok", &ok)) {
		snprintf(err, errlen, "unintelligible reply from hnvgwd (protocol version %d)",
			 HNV_API_VERSION);
		json_object_put(reply);
		goto out;
	}
	if (!json_object_get_boolean(ok)) {
		snprintf(err, errlen, "%s",
			 json_object_object_get_ex(reply, "error", &e) ? json_object_get_string(e)
								       : "refused");
		rc = 1;
	} else {
		if (json_object_object_get_ex(reply, "result", result))
			json_object_get(*result);
		rc = 0;
	}
	json_object_put(reply);
out:
	json_object_put(req);
	return rc;
}

/* One request on a fresh connection; prints a refusal. Returns 0 with the
 * result, or the exit status. */
static int request(json_object *req, json_object **result)
{
	struct conn c;
	int rc = conn_open(&c);
	if (rc) {
		json_object_put(req);
		return rc;
	}
	char err[4096];
	rc = call(&c, req, result, err, sizeof(err));
	conn_close(&c);
	if (rc) {
		fprintf(stderr, "hnvgw: %s\n", err);
		return EXIT_REFUSED;
	}
	return 0;
}

static json_object *new_req(const char *op)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "op", json_object_new_string(op));
	return o;
}

/* ---- output ---- */

static void print_json(json_object *o)
{
	printf("%s\n", o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								     JSON_C_TO_STRING_SPACED |
								     JSON_C_TO_STRING_NOSLASHESCAPE)
			 : "null");
}

/* A cell: strings as they are, lists joined with ',', null and "" as '-'. */
static char *cell(json_object *v)
{
	char *s = NULL;
	switch (json_object_get_type(v)) {
	case json_type_null:
		return strdup("-");
	case json_type_string:
		return strdup(json_object_get_string_len(v) ? json_object_get_string(v) : "-");
	case json_type_array: {
		size_t n = json_object_array_length(v), len = 1;
		char **parts = calloc(n ? n : 1, sizeof(*parts));
		for (size_t i = 0; parts && i < n; i++) {
			parts[i] = cell(json_object_array_get_idx(v, i));
			len += (parts[i] ? strlen(parts[i]) : 0) + 1;
		}
		s = parts ? calloc(1, len) : NULL;
		for (size_t i = 0; parts && i < n; i++) {
			if (s && parts[i]) {
				if (i)
					strcat(s, ",");
				strcat(s, parts[i]);
			}
			free(parts[i]);
		}
		free(parts);
		return s;
	}
	default:
		return strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	}
}

#define MAX_COLS 64

/* Rows (objects) as an aligned table: the columns are the keys in the
 * order they first appear. */
static void print_table(json_object *rows)
{
	if (!json_object_is_type(rows, json_type_array)) {
		print_json(rows);
		return;
	}
	size_t n = json_object_array_length(rows), ncol = 0;
	const char *cols[MAX_COLS];
	size_t width[MAX_COLS];
	for (size_t r = 0; r < n; r++) {
		json_object *row = json_object_array_get_idx(rows, r);
		if (!json_object_is_type(row, json_type_object))
			continue;
		json_object_object_foreach(row, k, v)
		{
			(void)v;
			size_t c = 0;
			while (c < ncol && strcmp(cols[c], k) != 0)
				c++;
			if (c == ncol && ncol < MAX_COLS) {
				cols[ncol] = k;
				width[ncol++] = strlen(k);
			}
		}
	}
	if (ncol == 0)
		return;
	char **cells = calloc(n * ncol, sizeof(*cells));
	if (!cells)
		return;
	for (size_t r = 0; r < n; r++) {
		json_object *row = json_object_array_get_idx(rows, r), *v;
		for (size_t c = 0; c < ncol; c++) {
			cells[r * ncol + c] =
				json_object_object_get_ex(row, cols[c], &v) ? cell(v) : strdup("-");
			size_t l = cells[r * ncol + c] ? strlen(cells[r * ncol + c]) : 0;
			if (l > width[c])
				width[c] = l;
		}
	}
	for (size_t c = 0; c < ncol; c++)
		printf("%-*s%s", c + 1 < ncol ? (int)width[c] : 0, cols[c],
		       c + 1 < ncol ? "  " : "\n");
	for (size_t r = 0; r < n; r++)
		for (size_t c = 0; c < ncol; c++) {
			const char *s = cells[r * ncol + c] ? cells[r * ncol + c] : "?";
			printf("%-*s%s", c + 1 < ncol ? (int)width[c] : 0, s,
			       c + 1 < ncol ? "  " : "\n");
		}
	for (size_t i = 0; i < n * ncol; i++)
		free(cells[i]);
	free(cells);
}

static void print_text(json_object *o)
{
	const char *s = json_object_get_string(o);
	size_t n = s ? strlen(s) : 0;
	fputs(s ? s : "", stdout);
	if (n && s[n - 1] != '\n')
		putchar('\n');
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

static void print_exec_result(json_object *res)
{
	if (json_out) {
		print_json(res);
		return;
	}
	json_object *rev, *confirm, *back;
	if (!json_object_object_get_ex(res, "rev", &rev))
		return;
	if (json_object_object_get_ex(res, "confirm", &confirm) &&
	    json_object_object_get_ex(res, "rollback_to", &back))
		printf("committed revision %d; back to revision %d in %d s unless "
		       "'hnvgw commit confirm' follows\n",
		       json_object_get_int(rev), json_object_get_int(back),
		       json_object_get_int(confirm));
	else
		printf("committed revision %d\n", json_object_get_int(rev));
}

static int exec_lines(const char *const *lines, size_t n, unsigned confirm, bool quiet)
{
	json_object *req = new_req("exec"), *arr = json_object_new_array(), *res;
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(lines[i]));
	json_object_object_add(req, "lines", arr);
	if (confirm)
		json_object_object_add(req, "confirm", json_object_new_int64(confirm));
	int rc = request(req, &res);
	if (rc == 0 && (!quiet || json_out))
		print_exec_result(res);
	json_object_put(res);
	return rc;
}

static int cmd_config_line(int argc, char **argv)
{
	char *line = join_words(argv, argc);
	if (!line)
		return EXIT_REFUSED;
	int rc = exec_lines((const char *const *)&line, 1, 0, true);
	explicit_bzero(line, strlen(line));
	free(line);
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
	size_t cap = 65536, n = 0;
	char *b = malloc(cap);
	while (b) {
		if (n + 1 >= cap) {
			if (cap >= FILE_MAX) {
				fprintf(stderr, "hnvgw: %s is larger than %u bytes\n", path,
					FILE_MAX);
				free(b);
				b = NULL;
				break;
			}
			char *nb = realloc(b, cap *= 2);
			if (!nb) {
				free(b);
				b = NULL;
				break;
			}
			b = nb;
		}
		size_t r = fread(b + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0) {
			if (ferror(f)) {
				fprintf(stderr, "hnvgw: reading %s: %s\n", path, strerror(errno));
				free(b);
				b = NULL;
			}
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (b) {
		b[n] = '\0';
		*len = n;
	}
	return b;
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

static int cmd_commit(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "confirm") == 0) {
		json_object *res;
		int rc = request(new_req("commit-confirm"), &res);
		if (rc == 0) {
			if (json_out)
				print_json(res);
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
	size_t n = 0, cap = 64;
	char **lines = malloc(cap * sizeof(*lines));
	for (char *p = text; lines && p < text + len;) {
		char *nl = memchr(p, '\n', (size_t)(text + len - p));
		char *end = nl ? nl : text + len;
		if (end > p && end[-1] == '\r')
			end[-1] = '\0';
		*end = '\0';
		if (n == cap) {
			char **nlns = realloc(lines, (cap *= 2) * sizeof(*lines));
			if (!nlns) {
				free(lines);
				lines = NULL;
				break;
			}
			lines = nlns;
		}
		lines[n++] = p;
		p = end + 1;
	}
	int rc;
	if (!lines) {
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

static int cmd_show(int argc, char **argv)
{
	const char *what = NULL;
	bool secrets = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--show-secrets") == 0)
			secrets = true;
		else if (!what && argv[i][0] != '-')
			what = argv[i];
		else
			return usage_error("show: unexpected \"%s\"", argv[i]);
	}
	if (!what)
		return usage_error("show needs what to show (rdomains, vsubnets, lookup, routes, "
				   "ports, pa, proutes, gateways, s2s, counters, config, "
				   "revisions, global)");
	json_object *req = new_req("show"), *res;
	json_object_object_add(req, "what", json_object_new_string(what));
	if (secrets)
		json_object_object_add(req, "secrets", json_object_new_boolean(true));
	int rc = request(req, &res);
	if (rc)
		return rc;
	if (json_out)
		print_json(res);
	else if (json_object_is_type(res, json_type_string))
		print_text(res);
	else
		print_table(res);
	if (json_object_is_type(res, json_type_string)) {
		const char *s = json_object_get_string(res);
		explicit_bzero((char *)s, strlen(s));
	}
	json_object_put(res);
	return 0;
}

static int cmd_config(int argc, char **argv)
{
	unsigned long a, b;
	json_object *req, *res;
	if (argc == 4 && strcmp(argv[1], "diff") == 0) {
		if (parse_uint(argv[2], UINT32_MAX, &a) || parse_uint(argv[3], UINT32_MAX, &b) ||
		    !a || !b)
			return usage_error("config diff wants two revision numbers");
		req = new_req("diff");
		json_object_object_add(req, "from", json_object_new_int64((int64_t)a));
		json_object_object_add(req, "to", json_object_new_int64((int64_t)b));
		int rc = request(req, &res);
		if (rc == 0)
			json_out ? print_json(res) : print_text(res);
		json_object_put(res);
		return rc;
	}
	if (argc == 3 && strcmp(argv[1], "rollback") == 0) {
		if (parse_uint(argv[2], UINT32_MAX, &a) || !a)
			return usage_error("config rollback wants a revision number, not \"%s\"",
					   argv[2]);
		req = new_req("rollback");
		json_object_object_add(req, "rev", json_object_new_int64((int64_t)a));
		int rc = request(req, &res);
		if (rc == 0) {
			if (json_out)
				print_json(res);
			else
				printf("revision %lu restored as revision %d\n", a,
				       json_object_get_int(json_object_object_get(res, "rev")));
		}
		json_object_put(res);
		return rc;
	}
	return usage_error("config diff N M | config rollback N");
}

/* trace: starts a session, then polls it every 100 ms and prints each new
 * record as one JSON line (the format of hnvgw-dp replay --trace) until N
 * records came or --timeout seconds (default 10) passed (exit 1). */
static int cmd_trace(int argc, char **argv)
{
	const char *count = NULL, *port = NULL, *timeout = NULL;
	for (int i = 1; i < argc; i++) {
		const char **slot = strcmp(argv[i], "--count") == 0     ? &count
				    : strcmp(argv[i], "--port") == 0    ? &port
				    : strcmp(argv[i], "--timeout") == 0 ? &timeout
									: NULL;
		if (!slot || i + 1 >= argc || *slot)
			return usage_error("trace --count N [--port NAME|uplink] [--timeout S]");
		*slot = argv[++i];
	}
	unsigned long n, tmo = 10;
	if (!count)
		return usage_error("trace needs --count N");
	if (parse_uint(count, 64, &n) || n == 0)
		return usage_error("--count wants a number of packets (1-64), not \"%s\"", count);
	if (timeout && (parse_uint(timeout, 86400, &tmo) || tmo == 0))
		return usage_error("--timeout wants seconds (1-86400), not \"%s\"", timeout);
	json_object *req = new_req("trace"), *res;
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
	size_t printed = 0;
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		req = new_req("trace");
		json_object_object_add(req, "session", json_object_new_int64(session));
		if ((rc = request(req, &res)))
			return rc;
		json_object *recs;
		size_t have = 0;
		if (json_object_object_get_ex(res, "records", &recs) &&
		    json_object_is_type(recs, json_type_array)) {
			have = json_object_array_length(recs);
			for (; printed < have; printed++)
				printf("%s\n", json_object_to_json_string_ext(
							json_object_array_get_idx(recs, printed),
							JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE));
			fflush(stdout);
		}
		json_object_put(res);
		if (have >= n)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((unsigned long)(now.tv_sec - start.tv_sec) >= tmo) {
			fprintf(stderr, "hnvgw: trace: %zu of %lu packets traced in %lu s\n", have, n,
				tmo);
			return EXIT_REFUSED;
		}
		nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
	}
}

static int cmd_nexthop(int argc, char **argv)
{
	const char *vsid = NULL, *src = NULL, *dst = NULL;
	for (int i = 1; i < argc; i++) {
		const char **slot = strcmp(argv[i], "--vsid") == 0  ? &vsid
				    : strcmp(argv[i], "--src") == 0 ? &src
				    : strcmp(argv[i], "--dst") == 0 ? &dst
								    : NULL;
		if (!slot || i + 1 >= argc || *slot)
			return usage_error("nexthop --vsid N [--src IP] --dst IP");
		*slot = argv[++i];
	}
	unsigned long v;
	if (!vsid || !dst)
		return usage_error("nexthop needs --vsid N and --dst IP");
	if (parse_uint(vsid, UINT32_MAX, &v))
		return usage_error("--vsid wants a number, not \"%s\"", vsid);
	json_object *req = new_req("nexthop"), *res;
	json_object_object_add(req, "vsid", json_object_new_int64((int64_t)v));
	if (src)
		json_object_object_add(req, "src", json_object_new_string(src));
	json_object_object_add(req, "dst", json_object_new_string(dst));
	int rc = request(req, &res);
	if (rc)
		return rc;
	if (json_out) {
		print_json(res);
	} else {
		json_object *stages = NULL;
		json_object_object_foreach(res, k, val)
		{
			if (json_object_is_type(val, json_type_array)) {
				stages = val;
				continue;
			}
			printf("%-12s %s\n", k, json_object_get_string(val));
		}
		if (stages && json_object_array_length(stages)) {
			printf("stages:\n");
			print_table(stages);
		}
	}
	json_object_put(res);
	return 0;
}

/* ---- ps: the PowerShell front end, talking to hnvgwd ---- */

static int ps_call(void *ctx, json_object *req, json_object **result, char *err, size_t errlen)
{
	int rc = call(ctx, req, result, err, errlen);
	return rc ? -1 : 0;
}

static int ps_exec(void *ctx, const char *const *lines, size_t n, char *err, size_t errlen)
{
	json_object *req = new_req("exec"), *arr = json_object_new_array(), *res;
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(lines[i]));
	json_object_object_add(req, "lines", arr);
	int rc = ps_call(ctx, req, &res, err, errlen);
	json_object_put(res);
	return rc;
}

static int ps_show(void *ctx, const char *what, json_object **rows, char *err, size_t errlen)
{
	json_object *req = new_req("show");
	json_object_object_add(req, "what", json_object_new_string(what));
	return ps_call(ctx, req, rows, err, errlen);
}

static int ps_nexthop(void *ctx, unsigned vsid, const char *src, const char *dst,
		      json_object **result, char *err, size_t errlen)
{
	json_object *req = new_req("nexthop");
	json_object_object_add(req, "vsid", json_object_new_int64(vsid));
	if (src)
		json_object_object_add(req, "src", json_object_new_string(src));
	json_object_object_add(req, "dst", json_object_new_string(dst));
	return ps_call(ctx, req, result, err, errlen);
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
	struct conn c;
	int rc = conn_open(&c);
	if (rc == 0) {
		struct hnv_ps_io io = {
			.ctx = &c,
			.exec = ps_exec,
			.show = ps_show,
			.nexthop = ps_nexthop,
			.out = stdout,
			.err = stderr,
		};
		rc = hnv_ps_run(script, len, &io);
		conn_close(&c);
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
		char *dw[] = {"s2s", "del", argv[2]};
		char *del = join_words(dw, 3), *opts = join_words(argv + 2, argc - 2);
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
			return usage_error("out of memory");
		}
		json_object *req = new_req("exec"), *lines = json_object_new_array(), *res;
		json_object_array_add(lines, json_object_new_string(del));
		json_object_array_add(lines, json_object_new_string(add));
		json_object_object_add(req, "lines", lines);
		explicit_bzero(add, strlen(add));
		free(add);
		free(del);
		int rc = request(req, &res);
		if (rc == 0)
			json_object_put(res);
		return rc;
	}
	if (argc != 3)
		return usage_error("s2s %s NAME", argv[1]);
	json_object *req = new_req("s2s"), *res;
	json_object_object_add(req, "name", json_object_new_string(argv[2]));
	json_object_object_add(req, "action", json_object_new_string(argv[1]));
	int rc = request(req, &res);
	if (rc == 0)
		json_object_put(res);
	return rc;
}

int main(int argc, char **argv)
{
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
