/* test_s2s.c: the load-conn and load-shared messages vpn/s2s.c builds for
 * configured tunnels (PSK and certificate), decoded back with the VICI
 * decoder and checked key by key; and that the PSK appears in no message
 * but load-shared, in no log line and in no status line, including when
 * the manager runs its whole sync against a fake charon.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../mgmt/conftext.h"
#include "../../mgmt/daemon/gwstate.h"
#include "../../vpn/s2s.h"
#include "vici_rec.h"

#define PSK "correct-horse-battery-staple-42"

/* The tunnel of an "s2s add" line, as the gateway hands it to vpn/. */
static void parse_tunnel(const char *line, struct hnv_s2s_conf *out)
{
	char err[256] = "";
	struct hnv_conf_cmd c;
	if (hnv_conf_parse_line(line, &c, err, sizeof(err)) != 1)
		fail_msg("%s: %s", line, err);
	assert_int_equal(c.kind, HNV_CONF_S2S_ADD);
	hnv_gwstate_s2s(&c.u.s2s, out);
	explicit_bzero(&c, sizeof(c));
}

static struct hnv_vici_msg *decode_buf(const struct hnv_vici_buf *b)
{
	size_t n;
	assert_int_equal(hnv_vici_frame(b->data, b->len, &n), 1);
	struct hnv_vici_msg *m;
	assert_int_equal(hnv_vici_decode(b->data + 4, n, &m), 0);
	return m;
}

/* The items of list name in s, joined by ','. */
static const char *items(const struct hnv_vici_node *s, const char *name)
{
	static char out[512];
	const struct hnv_vici_node *l = hnv_vici_find(s, name, HNV_VICI_N_LIST);
	if (!l)
		fail_msg("no list %s", name);
	out[0] = 0;
	for (const struct hnv_vici_node *i = l->child; i; i = i->next)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", out[0] ? "," : "",
			 i->value);
	return out;
}

static const struct hnv_vici_node *section(const struct hnv_vici_node *s, const char *name)
{
	const struct hnv_vici_node *n = hnv_vici_find(s, name, HNV_VICI_N_SECTION);
	if (!n)
		fail_msg("no section %s", name);
	return n;
}

static void test_psk_conn(void **state)
{
	(void)state;
	struct hnv_s2s_conf c;
	parse_tunnel("s2s add contoso --rdomain blue --peer 203.0.113.1 --local-addr 198.51.100.2 "
		     "--local-id gw-a.example --remote-id 203.0.113.1 --psk " PSK
		     " --remote-prefix 192.168.0.0/16 --remote-prefix 172.16.0.0/12 --dpd 10",
		     &c);
	struct hnv_s2s_spec sp = {.conf = &c, .if_id = 101};
	struct hnv_vici_buf b;
	char err[256];
	assert_int_equal(hnv_s2s_build_conn(&sp, NULL, NULL, &b, err, sizeof(err)), 0);
	assert_null(memmem(b.data, b.len, PSK, strlen(PSK)));
	struct hnv_vici_msg *m = decode_buf(&b);
	assert_string_equal(hnv_vici_msg_name(m), "load-conn");
	const struct hnv_vici_node *r = hnv_vici_msg_root(m);
	assert_non_null(r->child);
	assert_null(r->child->next); /* exactly one connection */
	const struct hnv_vici_node *conn = section(r, "hnvgw-contoso");
	assert_string_equal(hnv_vici_str(conn, "version"), "2");
	assert_string_equal(items(conn, "local_addrs"), "198.51.100.2");
	assert_string_equal(items(conn, "remote_addrs"), "203.0.113.1");
	assert_string_equal(items(conn, "proposals"), "aes256gcm16-prfsha384-ecp384");
	assert_string_equal(hnv_vici_str(conn, "dpd_delay"), "10s");
	assert_string_equal(hnv_vici_str(conn, "unique"), "replace");
	assert_string_equal(hnv_vici_str(conn, "rekey_time"), HNV_S2S_REKEY_IKE);
	assert_string_equal(hnv_vici_str(conn, "if_id_in"), "101");
	assert_string_equal(hnv_vici_str(conn, "if_id_out"), "101");
	const struct hnv_vici_node *l = section(conn, "local"), *rm = section(conn, "remote");
	assert_string_equal(hnv_vici_str(l, "auth"), "psk");
	assert_string_equal(hnv_vici_str(l, "id"), "gw-a.example");
	assert_string_equal(hnv_vici_str(rm, "auth"), "psk");
	assert_string_equal(hnv_vici_str(rm, "id"), "203.0.113.1");
	const struct hnv_vici_node *ch = section(section(conn, "children"), "hnvgw-contoso");
	assert_string_equal(items(ch, "local_ts"), "0.0.0.0/0");
	assert_string_equal(items(ch, "remote_ts"), "192.168.0.0/16,172.16.0.0/12");
	assert_string_equal(items(ch, "esp_proposals"), "aes256gcm16-ecp384");
	assert_string_equal(hnv_vici_str(ch, "mode"), "tunnel");
	assert_string_equal(hnv_vici_str(ch, "start_action"), "start");
	assert_string_equal(hnv_vici_str(ch, "dpd_action"), "restart");
	assert_string_equal(hnv_vici_str(ch, "close_action"), "start");
	assert_string_equal(hnv_vici_str(ch, "if_id_in"), "101");
	assert_string_equal(hnv_vici_str(ch, "rekey_time"), HNV_S2S_REKEY_CHILD);
	hnv_vici_msg_free(m);
	hnv_vici_buf_free(&b);

	/* trap, tenant prefixes as local_ts, no if_id, a prefix of our own,
	 * several proposals, DPD off */
	parse_tunnel("s2s add fab --rdomain red --peer 2001:db8::1 --local-id a --remote-id b "
		     "--psk " PSK " --ike-proposal aes128gcm16-prfsha256-ecp256 "
		     "--ike-proposal aes256-sha384-modp3072 --remote-prefix 2001:db8:5::/48 "
		     "--dpd 0",
		     &c);
	const struct hnv_prefix lts[2] = {
		{.addr = c.remote[0].addr, .len = 64},
		{.addr = c.remote[0].addr, .len = 56},
	};
	sp = (struct hnv_s2s_spec){.conf = &c, .n_local_ts = 2, .local_ts = lts, .trap = true};
	assert_int_equal(hnv_s2s_build_conn(&sp, "t-", NULL, &b, err, sizeof(err)), 0);
	m = decode_buf(&b);
	conn = section(hnv_vici_msg_root(m), "t-fab");
	assert_null(hnv_vici_find(conn, "local_addrs", HNV_VICI_N_LIST));
	assert_null(hnv_vici_str(conn, "dpd_delay"));
	assert_null(hnv_vici_str(conn, "if_id_in"));
	assert_string_equal(items(conn, "remote_addrs"), "2001:db8::1");
	assert_string_equal(items(conn, "proposals"),
			    "aes128gcm16-prfsha256-ecp256,aes256-sha384-modp3072");
	ch = section(section(conn, "children"), "t-fab");
	assert_string_equal(items(ch, "local_ts"), "2001:db8:5::/64,2001:db8:5::/56");
	assert_string_equal(hnv_vici_str(ch, "start_action"), "trap");
	assert_string_equal(hnv_vici_str(ch, "close_action"), "trap");
	assert_null(hnv_vici_str(ch, "if_id_out"));
	hnv_vici_msg_free(m);
	hnv_vici_buf_free(&b);

	/* taken down: nothing in charon starts it again */
	sp.admin_down = true;
	assert_int_equal(hnv_s2s_build_conn(&sp, "t-", NULL, &b, err, sizeof(err)), 0);
	m = decode_buf(&b);
	ch = section(section(section(hnv_vici_msg_root(m), "t-fab"), "children"), "t-fab");
	assert_string_equal(hnv_vici_str(ch, "start_action"), "none");
	assert_string_equal(hnv_vici_str(ch, "close_action"), "none");
	assert_string_equal(hnv_vici_str(ch, "dpd_action"), "clear");
	hnv_vici_msg_free(m);
	hnv_vici_buf_free(&b);
	explicit_bzero(&c, sizeof(c));
}

static void test_shared(void **state)
{
	(void)state;
	struct hnv_s2s_conf c;
	parse_tunnel("s2s add contoso --rdomain blue --peer 203.0.113.1 --local-id gw-a.example "
		     "--remote-id site.example --psk " PSK " --remote-prefix 192.168.0.0/16",
		     &c);
	struct hnv_vici_buf b;
	assert_int_equal(hnv_s2s_build_shared(&c, NULL, &b), 0);
	struct hnv_vici_msg *m = decode_buf(&b);
	const struct hnv_vici_node *r = hnv_vici_msg_root(m);
	assert_string_equal(hnv_vici_msg_name(m), "load-shared");
	assert_string_equal(hnv_vici_str(r, "id"), "hnvgw-contoso");
	assert_string_equal(hnv_vici_str(r, "type"), "IKE");
	assert_string_equal(hnv_vici_str(r, "data"), PSK);
	assert_string_equal(items(r, "owners"), "gw-a.example,site.example");
	hnv_vici_msg_free(m);
	hnv_vici_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	explicit_bzero(&c, sizeof(c));
}

static void test_cert_conn(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_s2s.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/x509", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/x509/gw.pem", dir);
	const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(pem, f);
	fclose(f);

	struct hnv_s2s_conf c;
	parse_tunnel("s2s add corp --rdomain blue --peer 203.0.113.9 --local-id \"CN=gw\" "
		     "--remote-id \"CN=site\" --cert gw.pem --key gw.key "
		     "--esp-proposal aes128gcm16-ecp256 --remote-prefix 10.9.0.0/16",
		     &c);
	struct hnv_s2s_spec sp = {.conf = &c, .if_id = 7};
	struct hnv_vici_buf b;
	char err[256];
	assert_int_equal(hnv_s2s_build_conn(&sp, NULL, dir, &b, err, sizeof(err)), 0);
	struct hnv_vici_msg *m = decode_buf(&b);
	const struct hnv_vici_node *conn = section(hnv_vici_msg_root(m), "hnvgw-corp");
	const struct hnv_vici_node *l = section(conn, "local");
	assert_string_equal(hnv_vici_str(l, "auth"), "pubkey");
	assert_string_equal(hnv_vici_str(l, "id"), "CN=gw");
	assert_string_equal(items(l, "certs"), pem); /* the file's content */
	assert_string_equal(hnv_vici_str(section(conn, "remote"), "auth"), "pubkey");
	assert_string_equal(hnv_vici_str(section(conn, "remote"), "id"), "CN=site");
	const struct hnv_vici_node *ch = section(section(conn, "children"), "hnvgw-corp");
	assert_string_equal(items(ch, "esp_proposals"), "aes128gcm16-ecp256");
	assert_null(hnv_vici_find(section(conn, "remote"), "cacerts", HNV_VICI_N_LIST));
	hnv_vici_msg_free(m);
	hnv_vici_buf_free(&b);
	/* no load-shared for a certificate tunnel */
	assert_int_equal(hnv_s2s_build_shared(&c, NULL, &b), -EINVAL);
	hnv_vici_buf_free(&b);

	/* --ca-cert: the CA's PEM (from x509ca/) in the remote's cacerts */
	char ca_path[256];
	snprintf(ca_path, sizeof(ca_path), "%s/x509ca", dir);
	assert_int_equal(mkdir(ca_path, 0700), 0);
	snprintf(ca_path, sizeof(ca_path), "%s/x509ca/ca.pem", dir);
	const char ca_pem[] = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n";
	assert_non_null(f = fopen(ca_path, "w"));
	fputs(ca_pem, f);
	fclose(f);
	snprintf(c.ca_cert, sizeof(c.ca_cert), "ca.pem");
	assert_int_equal(hnv_s2s_build_conn(&sp, NULL, dir, &b, err, sizeof(err)), 0);
	m = decode_buf(&b);
	conn = section(hnv_vici_msg_root(m), "hnvgw-corp");
	assert_string_equal(items(section(conn, "remote"), "cacerts"), ca_pem);
	assert_string_equal(items(section(conn, "local"), "certs"), pem);
	hnv_vici_msg_free(m);
	hnv_vici_buf_free(&b);
	/* a missing CA certificate names it */
	unlink(ca_path);
	assert_int_equal(hnv_s2s_build_conn(&sp, NULL, dir, &b, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "CA certificate ca.pem"));
	hnv_vici_buf_free(&b);

	/* a missing certificate names the file */
	unlink(path);
	assert_int_equal(hnv_s2s_build_conn(&sp, NULL, dir, &b, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "gw.pem"));
	hnv_vici_buf_free(&b);
	snprintf(path, sizeof(path), "%s/x509", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/x509ca", dir);
	rmdir(path);
	rmdir(dir);
}

/* ---- the manager against a fake charon: logs and status ---- */

struct fake {
	int lfd;
	char path[108];
	pthread_t th;
	pthread_mutex_t mu;
	char cmds[64][32]; /* command names in order */
	unsigned n;
	char regs[64][32]; /* "+name" registered, "-name" unregistered, in order */
	unsigned n_regs;
	bool psk_outside_shared;                   /* the PSK seen in any other request */
	bool old_conn, old_key, our_conn, our_key; /* what "charon" holds */
	bool push_log;       /* a "log" event right after the "log" registration */
	bool drop_list_sas;  /* the next list-sas closes its connection instead */
	char loaded[64][48]; /* connections loaded, other than hnvgw-contoso */
	unsigned n_loaded;
	/* the connections' serve threads still running, and their sockets:
	 * fake_stop waits for them before it frees the fake */
	int conn_fds[16];
	unsigned n_conns;
	pthread_cond_t conns_done;
};

static void reply(int fd, struct hnv_vici_buf *b)
{
	assert_int_equal(hnv_vici_buf_finish(b), 0);
	assert_int_equal(write(fd, b->data, b->len), (ssize_t)b->len);
	hnv_vici_buf_free(b);
}

/* charon holding one stale connection and secret of ours and one of
 * somebody else's; list-sas reports one established SA of hnvgw-contoso. */
static void serve(struct fake *f, int fd)
{
	for (;;) {
		uint8_t hdr[4];
		if (read_full(fd, hdr, 4))
			return;
		size_t n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | hdr[2] << 8 | hdr[3];
		uint8_t *pkt = malloc(n);
		if (read_full(fd, pkt, n)) {
			free(pkt);
			return;
		}
		struct hnv_vici_msg *m;
		assert_int_equal(hnv_vici_decode(pkt, n, &m), 0);
		const char *name = hnv_vici_msg_name(m);
		struct hnv_vici_buf b;
		pthread_mutex_lock(&f->mu);
		if (hnv_vici_msg_op(m) == HNV_VICI_CMD_REQUEST && f->n < 64)
			snprintf(f->cmds[f->n++], sizeof(f->cmds[0]), "%s", name);
		if ((hnv_vici_msg_op(m) == HNV_VICI_EVENT_REGISTER ||
		     hnv_vici_msg_op(m) == HNV_VICI_EVENT_UNREGISTER) &&
		    f->n_regs < 64)
			snprintf(f->regs[f->n_regs++], sizeof(f->regs[0]), "%c%s",
				 hnv_vici_msg_op(m) == HNV_VICI_EVENT_REGISTER ? '+' : '-', name);
		if (strcmp(name, "load-shared") && memmem(pkt, n, PSK, strlen(PSK)))
			f->psk_outside_shared = true;
		const char *arg = hnv_vici_str(hnv_vici_msg_root(m), "name");
		if (!arg)
			arg = hnv_vici_str(hnv_vici_msg_root(m), "id");
		bool old = arg && strcmp(arg, "hnvgw-old") == 0;
		if (strcmp(name, "unload-conn") == 0 && old)
			f->old_conn = false;
		if (strcmp(name, "unload-shared") == 0 && old)
			f->old_key = false;
		if (strcmp(name, "load-conn") == 0) {
			const struct hnv_vici_node *c = hnv_vici_msg_root(m)->child;
			if (c && c->name && strcmp(c->name, "hnvgw-contoso") == 0)
				f->our_conn = true;
			else if (c && c->name && f->n_loaded < 64)
				snprintf(f->loaded[f->n_loaded++], sizeof(f->loaded[0]), "%s",
					 c->name);
		}
		if (strcmp(name, "load-shared") == 0)
			f->our_key = true;
		bool old_conn = f->old_conn, old_key = f->old_key;
		bool our_conn = f->our_conn, our_key = f->our_key;
		bool drop = f->drop_list_sas && strcmp(name, "list-sas") == 0;
		if (drop)
			f->drop_list_sas = false;
		pthread_mutex_unlock(&f->mu);
		free(pkt);
		if (drop) {
			hnv_vici_msg_free(m);
			return;
		}
		switch (hnv_vici_msg_op(m)) {
		case HNV_VICI_EVENT_REGISTER:
		case HNV_VICI_EVENT_UNREGISTER:
			hnv_vici_buf_init(&b, HNV_VICI_EVENT_CONFIRM, NULL);
			reply(fd, &b);
			if (f->push_log && hnv_vici_msg_op(m) == HNV_VICI_EVENT_REGISTER &&
			    strcmp(name, "log") == 0) {
				hnv_vici_buf_init(&b, HNV_VICI_EVENT, "log");
				hnv_vici_kv_str(&b, "group", "IKE");
				hnv_vici_kv_str(&b, "ikesa-name", "hnvgw-contoso");
				hnv_vici_kv_str(&b, "msg", "retransmit 1 of request");
				reply(fd, &b);
			}
			break;
		case HNV_VICI_CMD_REQUEST:
			if (strcmp(name, "list-sas") == 0) {
				hnv_vici_buf_init(&b, HNV_VICI_EVENT, "list-sa");
				hnv_vici_section_start(&b, "hnvgw-contoso");
				hnv_vici_kv_str(&b, "state", "ESTABLISHED");
				hnv_vici_kv_str(&b, "established", "42");
				hnv_vici_section_start(&b, "child-sas");
				hnv_vici_section_start(&b, "hnvgw-contoso-1");
				hnv_vici_kv_str(&b, "state", "INSTALLED");
				hnv_vici_kv_str(&b, "bytes-in", "1000");
				hnv_vici_kv_str(&b, "bytes-out", "2000");
				hnv_vici_kv_str(&b, "packets-in", "10");
				hnv_vici_kv_str(&b, "packets-out", "20");
				hnv_vici_section_end(&b);
				hnv_vici_section_end(&b);
				hnv_vici_section_end(&b);
				reply(fd, &b);
			}
			hnv_vici_buf_init(&b, HNV_VICI_CMD_RESPONSE, NULL);
			if (strcmp(name, "get-conns") == 0) {
				hnv_vici_list_start(&b, "conns");
				if (old_conn)
					hnv_vici_list_item_str(&b, "hnvgw-old");
				hnv_vici_list_item_str(&b, "theirs");
				if (our_conn)
					hnv_vici_list_item_str(&b, "hnvgw-contoso");
				pthread_mutex_lock(&f->mu);
				for (unsigned i = 0; i < f->n_loaded; i++)
					hnv_vici_list_item_str(&b, f->loaded[i]);
				pthread_mutex_unlock(&f->mu);
				hnv_vici_list_end(&b);
			} else if (strcmp(name, "get-shared") == 0) {
				hnv_vici_list_start(&b, "keys");
				if (old_key)
					hnv_vici_list_item_str(&b, "hnvgw-old");
				hnv_vici_list_item_str(&b, "theirs");
				if (our_key)
					hnv_vici_list_item_str(&b, "hnvgw-contoso");
				/* their PSKs came with them, by the same name */
				pthread_mutex_lock(&f->mu);
				for (unsigned i = 0; i < f->n_loaded; i++)
					hnv_vici_list_item_str(&b, f->loaded[i]);
				pthread_mutex_unlock(&f->mu);
				hnv_vici_list_end(&b);
			} else {
				hnv_vici_kv_str(&b, "success", "yes");
			}
			reply(fd, &b);
			break;
		default:
			break;
		}
		hnv_vici_msg_free(m);
	}
}

struct conn_arg {
	struct fake *f;
	int fd;
};

static void *serve_thread(void *arg)
{
	struct conn_arg *ca = arg;
	struct fake *f = ca->f;
	serve(f, ca->fd);
	pthread_mutex_lock(&f->mu);
	for (unsigned i = 0; i < f->n_conns; i++)
		if (f->conn_fds[i] == ca->fd) {
			f->conn_fds[i] = f->conn_fds[--f->n_conns];
			break;
		}
	close(ca->fd);
	pthread_cond_broadcast(&f->conns_done);
	pthread_mutex_unlock(&f->mu);
	free(ca);
	return NULL;
}

/* The manager holds two connections at once (commands, events): one
 * thread each. */
static void *fake_main(void *arg)
{
	struct fake *f = arg;
	for (;;) {
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			return NULL;
		struct conn_arg *ca = malloc(sizeof(*ca));
		pthread_mutex_lock(&f->mu);
		bool room = ca && f->n_conns < sizeof(f->conn_fds) / sizeof(f->conn_fds[0]);
		if (room)
			f->conn_fds[f->n_conns++] = fd;
		pthread_mutex_unlock(&f->mu);
		if (!room) {
			close(fd);
			free(ca);
			continue;
		}
		ca->f = f;
		ca->fd = fd;
		pthread_t t;
		pthread_create(&t, NULL, serve_thread, ca);
		pthread_detach(t);
	}
}

/* A fake charon listening at /tmp/test_s2s.PID.NAME.sock. */
static struct fake *fake_start(const char *name)
{
	struct fake *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->conns_done, NULL);
	snprintf(f->path, sizeof(f->path), "/tmp/test_s2s.%d.%s.sock", (int)getpid(), name);
	unlink(f->path);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
	return f;
}

/* Stops accepting, ends the connections still open and waits for their
 * serve threads (they read the fake until they return), then frees it. */
static void fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->th, NULL);
	close(f->lfd);
	pthread_mutex_lock(&f->mu);
	for (unsigned i = 0; i < f->n_conns; i++)
		shutdown(f->conn_fds[i], SHUT_RDWR);
	while (f->n_conns)
		pthread_cond_wait(&f->conns_done, &f->mu);
	pthread_mutex_unlock(&f->mu);
	pthread_cond_destroy(&f->conns_done);
	pthread_mutex_destroy(&f->mu);
	unlink(f->path);
	free(f);
}

static unsigned count_cmd(struct fake *f, const char *name)
{
	unsigned n = 0;
	pthread_mutex_lock(&f->mu);
	for (unsigned i = 0; i < f->n; i++)
		n += strcmp(f->cmds[i], name) == 0;
	pthread_mutex_unlock(&f->mu);
	return n;
}

static char logbuf[8192];

static void capture(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	snprintf(logbuf + strlen(logbuf), sizeof(logbuf) - strlen(logbuf), "%s\n", msg);
}

/* Every event registered with the fake was unregistered before its
 * connection closed (hnv_s2s_destroy has returned, so its confirmations
 * came); with_log: "log" was registered, and unregistered first. */
static void check_unregistered(struct fake *f, bool with_log)
{
	bool log_seen = false;
	for (unsigned i = 0; i < f->n_regs; i++) {
		if (f->regs[i][0] != '+')
			continue;
		log_seen = log_seen || strcmp(f->regs[i] + 1, "log") == 0;
		unsigned plus = 0, minus = 0;
		for (unsigned j = 0; j < f->n_regs; j++)
			if (strcmp(f->regs[j] + 1, f->regs[i] + 1) == 0) {
				plus += f->regs[j][0] == '+';
				minus += f->regs[j][0] == '-';
			}
		if (plus != minus)
			fail_msg("%s registered %u times, unregistered %u times", f->regs[i] + 1,
				 plus, minus);
	}
	assert_true(log_seen == with_log);
	if (with_log) {
		unsigned first_minus = 0;
		while (first_minus < f->n_regs && f->regs[first_minus][0] != '-')
			first_minus++;
		/* the status commands' list-sa streams come and go on the
		 * command connection; the event connection's first unregistration
		 * is the last one's names backwards, log first */
		for (unsigned i = first_minus; i < f->n_regs; i++)
			if (strcmp(f->regs[i], "-list-sa") && strcmp(f->regs[i], "+list-sa")) {
				assert_string_equal(f->regs[i], "-log");
				break;
			}
	}
}

/* The tunnel contoso (if_id 101) and a watching manager's options for
 * the fake f. */
static void contoso_watching(const struct fake *f, struct hnv_s2s_conf *c, struct hnv_s2s_spec *sp,
			     struct hnv_s2s_opts *o)
{
	parse_tunnel("s2s add contoso --rdomain blue --peer 203.0.113.1 --local-id gw-a.example "
		     "--remote-id site.example --psk " PSK " --remote-prefix 192.168.0.0/16",
		     c);
	*sp = (struct hnv_s2s_spec){.conf = c, .if_id = 101};
	*o = (struct hnv_s2s_opts){
		.vici_path = f->path, .log = capture, .timeout_ms = 5000, .watch = true};
}

/* A watching manager for the fake f, synced with the tunnel contoso (its
 * configuration in *c, which the caller clears). */
static struct hnv_s2s *contoso_synced(const struct fake *f, struct hnv_s2s_conf *c)
{
	struct hnv_s2s_spec sp;
	struct hnv_s2s_opts o;
	contoso_watching(f, c, &sp, &o);
	struct hnv_s2s *s;
	assert_int_equal(hnv_s2s_create(&o, &s), 0);
	assert_int_equal(hnv_s2s_sync(s, &sp, 1), 0);
	return s;
}

static void test_manager_fake(void **state)
{
	(void)state;
	struct fake *f = fake_start("mgr");
	f->old_conn = f->old_key = true;

	struct hnv_s2s_conf c;
	struct hnv_s2s_spec sp;
	struct hnv_s2s_opts o;
	contoso_watching(f, &c, &sp, &o);
	struct hnv_s2s *s;
	logbuf[0] = 0;
	assert_int_equal(hnv_s2s_create(&o, &s), 0);
	assert_true(hnv_s2s_connected(s));
	assert_true(hnv_s2s_fd(s) >= 0);
	assert_int_equal(hnv_s2s_sync(s, &sp, 1), 0);
	/* the same list again: nothing is loaded a second time */
	assert_int_equal(hnv_s2s_sync(s, &sp, 1), 0);

	struct hnv_s2s_status st;
	char line[512];
	assert_int_equal(hnv_s2s_status(s, "contoso", &st), 0);
	assert_string_equal(st.ike_state, "ESTABLISHED");
	assert_string_equal(st.child_state, "INSTALLED");
	assert_int_equal(st.ike_sas, 1);
	assert_int_equal(st.established_s, 42);
	assert_int_equal(st.bytes_in, 1000);
	assert_int_equal(st.packets_out, 20);
	assert_int_equal(hnv_s2s_status_format("contoso", &st, line, sizeof(line)), 0);
	assert_null(strstr(line, PSK));
	assert_int_equal(hnv_s2s_status(s, "nope", &st), -ENOENT);
	/* up with an IKE SA already there: no initiate */
	assert_int_equal(hnv_s2s_up(s, "contoso"), 0);
	/* down: the connection reloaded with start_action none, then the
	 * IKE SA terminated; up: reloaded with start (charon starts it: the
	 * fake lists an SA, so no initiate) */
	assert_int_equal(hnv_s2s_down(s, "contoso"), 0);
	assert_int_equal(hnv_s2s_up(s, "contoso"), 0);
	assert_int_equal(hnv_s2s_down(s, "nope"), -ENOENT);
	hnv_s2s_destroy(s);

	pthread_mutex_lock(&f->mu);
	/* in order: stale "hnvgw-old" unloaded (terminate first), "theirs"
	 * left alone, then our secret and connection loaded; the second sync
	 * only asks (get-conns, get-shared); status; up, down, up */
	const char *want[] = {
		"get-conns",
		"terminate",
		"unload-conn",
		"unload-shared",
		"get-shared",
		"load-shared",
		"load-conn",
		"get-conns",
		"get-shared",
		"list-sas",
		/* up */
		"get-conns",
		"get-shared",
		"list-sas",
		/* down */
		"get-conns",
		"get-shared",
		"load-shared",
		"load-conn",
		"list-sas",
		"terminate",
		/* up */
		"get-conns",
		"get-shared",
		"load-shared",
		"load-conn",
		"list-sas",
	};
	unsigned nw = sizeof(want) / sizeof(want[0]);
	for (unsigned i = 0; i < f->n && i < nw; i++)
		if (strcmp(f->cmds[i], want[i]))
			fail_msg("command %u: %s, want %s", i, f->cmds[i], want[i]);
	assert_int_equal(f->n, nw);
	assert_false(f->psk_outside_shared);
	assert_null(strstr(logbuf, PSK));
	assert_non_null(strstr(logbuf, "loaded hnvgw-contoso"));
	assert_non_null(strstr(logbuf, "unloaded hnvgw-old"));
	assert_null(strstr(logbuf, "theirs"));
	check_unregistered(f, true);

	/* a one-shot manager (vici_drive status, a tool that exits): no event
	 * connection, no registration but the list-sa stream of its status,
	 * which it unregisters */
	f->n_regs = 0;
	pthread_mutex_unlock(&f->mu);
	o.watch = false;
	assert_int_equal(hnv_s2s_create(&o, &s), 0);
	assert_true(hnv_s2s_connected(s));
	assert_int_equal(hnv_s2s_fd(s), -1);
	assert_int_equal(hnv_s2s_sync(s, &sp, 1), 0);
	assert_int_equal(hnv_s2s_status(s, "contoso", &st), 0);
	assert_string_equal(st.ike_state, "ESTABLISHED");
	hnv_s2s_destroy(s);
	pthread_mutex_lock(&f->mu);
	check_unregistered(f, false);
	assert_int_equal(f->n_regs, 2);
	assert_string_equal(f->regs[0], "+list-sa");
	pthread_mutex_unlock(&f->mu);

	fake_stop(f);
	explicit_bzero(&c, sizeof(c));
}

/* hnvgwd's poll turn (hnv_s2s_run) with an event waiting: the events are
 * read and the audit that is due runs all the same (it only ran on the
 * timer, which a charon logging more than once a second held off). */
static void test_run_audits_with_events(void **state)
{
	(void)state;
	struct fake *f = fake_start("run");
	f->push_log = true;

	struct hnv_s2s_conf c;
	struct hnv_s2s *s = contoso_synced(f, &c);
	pthread_mutex_lock(&f->mu);
	unsigned after_sync = f->n;
	pthread_mutex_unlock(&f->mu);
	/* the event socket readable (the fake's log event: on the socket or
	 * already read with the registration's confirmation) */
	assert_int_equal(hnv_s2s_run(s, POLLIN), 0);
	hnv_s2s_destroy(s);

	/* the audit (no audit has run since the manager started): charon's
	 * lists and its SAs */
	pthread_mutex_lock(&f->mu);
	const char *want[] = {"get-conns", "get-shared", "list-sas"};
	assert_int_equal(f->n, after_sync + 3);
	for (unsigned i = 0; i < 3; i++)
		assert_string_equal(f->cmds[after_sync + i], want[i]);
	pthread_mutex_unlock(&f->mu);

	fake_stop(f);
	explicit_bzero(&c, sizeof(c));
}

/* Breaks the manager's command connection (the fake closes it at the
 * next list-sas) and runs the manager until it has reconnected. */
static void break_and_reconnect(struct fake *f, struct hnv_s2s *s)
{
	struct hnv_s2s_status st;
	unsigned connects = hnv_s2s_connects(s);
	pthread_mutex_lock(&f->mu);
	f->drop_list_sas = true;
	pthread_mutex_unlock(&f->mu);
	assert_int_equal(hnv_s2s_status(s, "contoso", &st), -ENOTCONN);
	assert_false(hnv_s2s_connected(s));
	for (int i = 0; i < 40 && !hnv_s2s_connected(s); i++) {
		hnv_s2s_run(s, 0); /* reconnects at most once a second */
		usleep(100 * 1000);
	}
	assert_true(hnv_s2s_connected(s));
	assert_int_equal(hnv_s2s_connects(s), connects + 1);
}

/* A reconnect to a charon that still holds the tunnel (a command timed
 * out, the socket broke) loads nothing again; one to a charon that lost
 * it (restarted) loads it again. */
static void test_reconnect_reloads_only_lost(void **state)
{
	(void)state;
	struct fake *f = fake_start("recon");
	struct hnv_s2s_conf c;
	struct hnv_s2s *s = contoso_synced(f, &c);
	assert_int_equal(count_cmd(f, "load-conn"), 1);
	assert_int_equal(count_cmd(f, "load-shared"), 1);

	break_and_reconnect(f, s);
	assert_int_equal(count_cmd(f, "load-conn"), 1);
	assert_int_equal(count_cmd(f, "load-shared"), 1);

	pthread_mutex_lock(&f->mu);
	f->our_conn = f->our_key = false; /* charon came back empty */
	pthread_mutex_unlock(&f->mu);
	break_and_reconnect(f, s);
	assert_int_equal(count_cmd(f, "load-conn"), 2);
	assert_int_equal(count_cmd(f, "load-shared"), 2);
	hnv_s2s_destroy(s);
	fake_stop(f);
	explicit_bzero(&c, sizeof(c));
}

/* A watching manager given more tunnels that initiate than its start
 * window loads only a window's worth; the others wait, unloaded, with
 * the reason in their status, and the tick loads them as the window frees
 * (here: the connecting ones' wait passes; an IKE SA up frees it at
 * once). A manager that does not watch loads them all. */
static void test_start_window(void **state)
{
	(void)state;
	struct fake *f = fake_start("window");
	struct hnv_s2s_conf c[5];
	struct hnv_s2s_spec sp[5];
	for (int i = 0; i < 5; i++) {
		char line[512];
		snprintf(line, sizeof(line),
			 "s2s add t%d --rdomain blue --peer 203.0.113.%d --local-id gw-%d "
			 "--remote-id site-%d --psk " PSK " --remote-prefix 192.168.%d.0/24",
			 i, i + 1, i, i, i);
		parse_tunnel(line, &c[i]);
		sp[i] = (struct hnv_s2s_spec){.conf = &c[i], .if_id = 101 + (uint32_t)i};
	}
	struct hnv_s2s_opts o = {.vici_path = f->path,
				 .log = capture,
				 .timeout_ms = 5000,
				 .watch = true,
				 .start_window = 2,
				 .start_wait_ms = 400};
	struct hnv_s2s *s;
	assert_int_equal(hnv_s2s_create(&o, &s), 0);
	assert_int_equal(hnv_s2s_sync(s, sp, 5), 0);
	assert_int_equal(count_cmd(f, "load-conn"), 2);
	struct hnv_s2s_status st;
	assert_int_equal(hnv_s2s_status(s, "t4", &st), 0);
	assert_string_equal(st.reason, "queued: at most 2 tunnels connect at once");
	/* the window is full: a tick (and its first audit) loads nothing more,
	 * and the audit does not take the queued ones for lost */
	logbuf[0] = '\0';
	assert_int_equal(hnv_s2s_run(s, 0), 0);
	assert_int_equal(count_cmd(f, "load-conn"), 2);
	assert_null(strstr(logbuf, "had lost"));
	usleep(450 * 1000);
	assert_int_equal(hnv_s2s_run(s, 0), 0);
	assert_int_equal(count_cmd(f, "load-conn"), 4);
	assert_int_equal(hnv_s2s_status(s, "t2", &st), 0);
	assert_string_equal(st.reason, "");
	usleep(450 * 1000);
	assert_int_equal(hnv_s2s_run(s, 0), 0);
	assert_int_equal(count_cmd(f, "load-conn"), 5);
	assert_null(strstr(logbuf, "had lost"));
	hnv_s2s_destroy(s);

	/* without watching: all at once */
	struct hnv_s2s_opts one = {.vici_path = f->path, .log = capture, .timeout_ms = 5000};
	pthread_mutex_lock(&f->mu);
	f->n = 0;
	f->n_loaded = 0;
	pthread_mutex_unlock(&f->mu);
	assert_int_equal(hnv_s2s_create(&one, &s), 0);
	assert_int_equal(hnv_s2s_sync(s, sp, 5), 0);
	assert_int_equal(count_cmd(f, "load-conn"), 5);
	hnv_s2s_destroy(s);
	fake_stop(f);
	explicit_bzero(c, sizeof(c));
}

/* The audit's period: 3 s while an audit is quick, ten times an audit's
 * duration for a slow one (thousands of tunnels), never beyond 60 s. */
static void test_audit_gap(void **state)
{
	(void)state;
	assert_int_equal(hnv_s2s_audit_gap(0), HNV_S2S_AUDIT_S);
	assert_int_equal(hnv_s2s_audit_gap(20), HNV_S2S_AUDIT_S);
	assert_int_equal(hnv_s2s_audit_gap(300), HNV_S2S_AUDIT_S);
	assert_int_equal(hnv_s2s_audit_gap(301), 4);
	assert_int_equal(hnv_s2s_audit_gap(1500), 15);
	assert_int_equal(hnv_s2s_audit_gap(5999), 60);
	assert_int_equal(hnv_s2s_audit_gap(600000), HNV_S2S_AUDIT_MAX_S);
	assert_int_equal(hnv_s2s_audit_gap(-5), HNV_S2S_AUDIT_S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_psk_conn),
		cmocka_unit_test(test_shared),
		cmocka_unit_test(test_cert_conn),
		cmocka_unit_test(test_manager_fake),
		cmocka_unit_test(test_audit_gap),
		cmocka_unit_test(test_run_audits_with_events),
		cmocka_unit_test(test_start_window),
		cmocka_unit_test(test_reconnect_reloads_only_lost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
