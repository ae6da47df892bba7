/* s2s_msg.c: the VICI requests that load a tunnel into charon (s2s.h,
 * "message builders"). Pure functions of the tunnel, apart from reading
 * its credential files. */
#include "s2s.h"

#include "../lib/addr.h"
#include "../lib/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CRED_FILE_MAX (64 * 1024) /* a PEM certificate or key */

static void add_prefix_item(struct hnv_vici_buf *b, const struct hnv_prefix *p)
{
	char s[64];
	hnv_fmt_prefix(p, s, sizeof(s));
	hnv_vici_list_item_str(b, s);
}

/* The items of a comma-joined proposal string. */
static void add_items(struct hnv_vici_buf *b, const char *joined)
{
	char tmp[HNV_S2S_PROPOSALS_LEN + 1];
	snprintf(tmp, sizeof(tmp), "%s", joined);
	char *save = NULL;
	for (char *p = strtok_r(tmp, ",", &save); p; p = strtok_r(NULL, ",", &save))
		hnv_vici_list_item_str(b, p);
}

/* The tunnel's proposals (def when it has none) and, for a tunnel with
 * legacy crypto, the legacy ones after them: charon as initiator offers
 * them in this order, as responder it takes the first of the peer's
 * proposals any of them matches. */
static void add_proposals(struct hnv_vici_buf *b, const char *key, const char *joined,
			  const char *def, const char *legacy)
{
	hnv_vici_list_start(b, key);
	add_items(b, joined[0] ? joined : def);
	if (legacy)
		add_items(b, legacy);
	hnv_vici_list_end(b);
}

void hnv_s2s_peer_str(const struct hnv_s2s_conf *c, char *buf, size_t len)
{
	if (c->peer_any)
		snprintf(buf, len, "any");
	else if (c->peer_host[0])
		snprintf(buf, len, "%.*s", (int)strnlen(c->peer_host, sizeof(c->peer_host)),
			 c->peer_host);
	else
		hnv_fmt_ip(&c->peer, buf, len);
}

static int cred_path(const char *cred_dir, const char *sub, const char *file, char *out, size_t len)
{
	int n = file[0] == '/' ? snprintf(out, len, "%s", file)
			       : snprintf(out, len, "%s/%s/%s", cred_dir, sub, file);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Reads a whole credential file (at most CRED_FILE_MAX) into a malloc'd
 * buffer the caller clears and frees. */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > CRED_FILE_MAX) {
		close(fd);
		return -EINVAL;
	}
	uint8_t *d = malloc((size_t)st.st_size);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, d + got, (size_t)st.st_size - got);
		if (r <= 0) {
			explicit_bzero(d, (size_t)st.st_size);
			free(d);
			close(fd);
			return r < 0 ? -errno : -EIO;
		}
		got += (size_t)r;
	}
	close(fd);
	*out = d;
	*len = got;
	return 0;
}

/* A credential file by name in dir/sub (or absolute path), malloc'd. */
static int read_cred(const char *dir, const char *sub, const char *file, uint8_t **out, size_t *len)
{
	char path[512];
	int rc = cred_path(dir, sub, file, path, sizeof(path));
	return rc ? rc : read_file(path, out, len);
}

int hnv_s2s_conn_name(const char *prefix, const char *name, char *out, size_t len)
{
	int n = snprintf(out, len, "%s%s", prefix ? prefix : HNV_S2S_PREFIX_DEFAULT, name);
	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}

int hnv_s2s_build_conn(const struct hnv_s2s_spec *sp, const char *prefix, const char *cred_dir,
		       struct hnv_vici_buf *b, char *err, size_t errlen)
{
	const struct hnv_s2s_conf *c = sp->conf;
	char conn[HNV_S2S_CONN_NAME_MAX + 1], ip[64];
	hnv_vici_buf_init(b, HNV_VICI_CMD_REQUEST, "load-conn");
	if (hnv_s2s_conn_name(prefix, c->name, conn, sizeof(conn)) || !c->name[0]) {
		hnv_seterr(err, errlen, "tunnel name \"%s\" does not fit a connection name",
			   c->name);
		return -EINVAL;
	}
	if (c->n_remote == 0 || c->n_remote > HNV_S2S_REMOTE_MAX ||
	    sp->n_local_ts > HNV_S2S_LOCAL_TS_MAX) {
		hnv_seterr(err, errlen, "tunnel %s: %u remote and %u local prefixes", c->name,
			   c->n_remote, sp->n_local_ts);
		return -EINVAL;
	}
	if (c->auth != HNV_S2S_AUTHN_PSK && c->auth != HNV_S2S_AUTHN_CERT) {
		hnv_seterr(err, errlen, "tunnel %s: unknown authentication %d", c->name, c->auth);
		return -EINVAL;
	}
	uint8_t *cert = NULL, *ca = NULL;
	size_t cert_len = 0, ca_len = 0;
	if (c->auth == HNV_S2S_AUTHN_CERT) {
		const char *dir = cred_dir ? cred_dir : HNV_S2S_CRED_DIR_DEFAULT;
		int rc = read_cred(dir, "x509", c->cert, &cert, &cert_len);
		if (rc) {
			hnv_seterr(err, errlen, "tunnel %s: certificate %s: %s", c->name, c->cert,
				   strerror(-rc));
			return rc;
		}
		if (c->ca_cert[0] && (rc = read_cred(dir, "x509ca", c->ca_cert, &ca, &ca_len))) {
			hnv_seterr(err, errlen, "tunnel %s: CA certificate %s: %s", c->name,
				   c->ca_cert, strerror(-rc));
			free(cert);
			return rc;
		}
	}

	hnv_vici_section_start(b, conn);
	hnv_vici_kv_str(b, "version", "2");
	const struct hnv_ip *local = sp->has_local_addr  ? &sp->local_addr
				     : c->has_local_addr ? &c->local_addr
							 : NULL;
	if (local) {
		hnv_fmt_ip(local, ip, sizeof(ip));
		hnv_vici_list_start(b, "local_addrs");
		hnv_vici_list_item_str(b, ip);
		hnv_vici_list_end(b);
	}
	/* --peer any: any address (the site is found by its identity);
	 * a DNS name: charon resolves it when it initiates and matches */
	char peer[HNV_S2S_HOST_MAX + 1];
	if (c->peer_any)
		snprintf(peer, sizeof(peer), "%%any");
	else
		hnv_s2s_peer_str(c, peer, sizeof(peer));
	hnv_vici_list_start(b, "remote_addrs");
	hnv_vici_list_item_str(b, peer);
	hnv_vici_list_end(b);
	const bool legacy = c->legacy_crypto;
	add_proposals(b, "proposals", c->ike, HNV_S2S_IKE_DEFAULT,
		      legacy ? HNV_S2S_IKE_LEGACY : NULL);
	if (c->dpd)
		hnv_vici_kv_fmt(b, "dpd_delay", "%us", c->dpd);
	hnv_vici_kv_str(b, "rekey_time", HNV_S2S_REKEY_IKE);
	hnv_vici_kv_str(b, "keyingtries", "0");
	hnv_vici_kv_str(b, "unique", "replace");
	hnv_vici_kv_str(b, "mobike", "no");
	if (sp->if_id) {
		hnv_vici_kv_fmt(b, "if_id_in", "%u", sp->if_id);
		hnv_vici_kv_fmt(b, "if_id_out", "%u", sp->if_id);
	}
	const char *auth = c->auth == HNV_S2S_AUTHN_PSK ? "psk" : "pubkey";
	hnv_vici_section_start(b, "local");
	hnv_vici_kv_str(b, "auth", auth);
	hnv_vici_kv_str(b, "id", c->local_id);
	if (cert) {
		hnv_vici_list_start(b, "certs");
		hnv_vici_list_item(b, cert, cert_len);
		hnv_vici_list_end(b);
	}
	hnv_vici_section_end(b);
	hnv_vici_section_start(b, "remote");
	hnv_vici_kv_str(b, "auth", auth);
	hnv_vici_kv_str(b, "id", c->remote_id);
	if (ca) { /* charon trusts it for this connection and requires it */
		hnv_vici_list_start(b, "cacerts");
		hnv_vici_list_item(b, ca, ca_len);
		hnv_vici_list_end(b);
	}
	hnv_vici_section_end(b);

	hnv_vici_section_start(b, "children");
	hnv_vici_section_start(b, conn);
	hnv_vici_list_start(b, "local_ts");
	if (sp->n_local_ts) {
		for (unsigned i = 0; i < sp->n_local_ts; i++)
			add_prefix_item(b, &sp->local_ts[i]);
	} else {
		bool v4 = false, v6 = false;
		for (unsigned i = 0; i < c->n_remote; i++) {
			if (hnv_ip_is_v4(&c->remote[i].addr))
				v4 = true;
			else
				v6 = true;
		}
		if (v4)
			hnv_vici_list_item_str(b, "0.0.0.0/0");
		if (v6)
			hnv_vici_list_item_str(b, "::/0");
	}
	hnv_vici_list_end(b);
	hnv_vici_list_start(b, "remote_ts");
	for (unsigned i = 0; i < c->n_remote; i++)
		add_prefix_item(b, &c->remote[i]);
	hnv_vici_list_end(b);
	add_proposals(b, "esp_proposals", c->esp, HNV_S2S_ESP_DEFAULT,
		      legacy ? HNV_S2S_ESP_LEGACY : NULL);
	hnv_vici_kv_str(b, "mode", "tunnel");
	hnv_vici_kv_str(b, "rekey_time", HNV_S2S_REKEY_CHILD);
	/* A responder-only tunnel has no address to initiate to (and a trap
	 * needs one to send the acquire to): charon waits for the site, and
	 * a site that is gone (DPD, DELETE) is only cleared; it comes back
	 * by initiating again. */
	bool passive = sp->admin_down || hnv_s2s_responder(c);
	const char *act = passive ? "none" : sp->trap ? "trap" : "start";
	hnv_vici_kv_str(b, "start_action", act);
	hnv_vici_kv_str(b, "dpd_action", passive ? "clear" : "restart");
	hnv_vici_kv_str(b, "close_action", act);
	if (sp->if_id) {
		hnv_vici_kv_fmt(b, "if_id_in", "%u", sp->if_id);
		hnv_vici_kv_fmt(b, "if_id_out", "%u", sp->if_id);
	}
	hnv_vici_section_end(b);
	hnv_vici_section_end(b);
	hnv_vici_section_end(b);
	free(cert); /* public */
	free(ca);
	int rc = hnv_vici_buf_finish(b);
	if (rc)
		hnv_seterr(err, errlen, "tunnel %s: load-conn message: %s", c->name, strerror(-rc));
	return rc;
}

int hnv_s2s_build_shared(const struct hnv_s2s_conf *c, const char *prefix, struct hnv_vici_buf *b)
{
	char conn[HNV_S2S_CONN_NAME_MAX + 1];
	hnv_vici_buf_init(b, HNV_VICI_CMD_REQUEST, "load-shared");
	if (c->auth != HNV_S2S_AUTHN_PSK || !c->psk[0] ||
	    hnv_s2s_conn_name(prefix, c->name, conn, sizeof(conn)))
		return -EINVAL;
	hnv_vici_kv_str(b, "id", conn);
	hnv_vici_kv_str(b, "type", "IKE");
	hnv_vici_kv(b, "data", c->psk, strnlen(c->psk, sizeof(c->psk)));
	hnv_vici_list_start(b, "owners");
	hnv_vici_list_item_str(b, c->local_id);
	hnv_vici_list_item_str(b, c->remote_id);
	hnv_vici_list_end(b);
	return hnv_vici_buf_finish(b);
}

int hnv_s2s_build_key(const struct hnv_s2s_conf *c, const char *cred_dir, struct hnv_vici_buf *b,
		      char *err, size_t errlen)
{
	uint8_t *key;
	size_t len;
	hnv_vici_buf_init(b, HNV_VICI_CMD_REQUEST, "load-key");
	int rc = read_cred(cred_dir ? cred_dir : HNV_S2S_CRED_DIR_DEFAULT, "private", c->key, &key,
			   &len);
	if (rc) {
		hnv_seterr(err, errlen, "key %s: %s", c->key, strerror(-rc));
		return rc;
	}
	hnv_vici_kv_str(b, "type", "any");
	hnv_vici_kv(b, "data", key, len);
	explicit_bzero(key, len);
	free(key);
	rc = hnv_vici_buf_finish(b);
	if (rc)
		hnv_seterr(err, errlen, "key %s: load-key message: %s", c->key, strerror(-rc));
	return rc;
}
