/* conf_s2s.c: the options of "s2s add" (conf_int.h): the peer, identities,
 * the PSK, certificate paths, IKE and ESP proposals with the weak-crypto
 * refusals, remote prefixes and NETMAP prefixes; the commit warning of
 * --allow-legacy-crypto (hnv_conf_warning).
 *
 * The PSK: every word of an "s2s add" line may be (part of) it, so the
 * parser's messages for the line name positions, never words; the PSK's own
 * messages (get_psk) name no part of it, and conf_scrub replaces any other
 * message that would show a piece of it.
 */
#include "conf_int.h"

#include "../lib/err.h"

#include <errno.h>
#include <stdio.h>

static bool printable_ascii(char ch)
{
	return ch >= 0x20 && ch <= 0x7e;
}

/* An IKE identity (FQDN, address, e-mail or DN). Quotes and backslashes are
 * refused so the value can be written into charon's configuration without
 * escaping. */
static int get_ident(struct conf_pctx *c, const char *what, const char *v, char *out)
{
	size_t len = strlen(v);
	if (len == 0)
		return conf_bad(c, what, v, "empty");
	if (len > HNV_S2S_ID_MAX)
		return conf_bad(c, what, v, "longer than 255 characters");
	for (size_t i = 0; i < len; i++)
		if (!printable_ascii(v[i]) || v[i] == '"' || v[i] == '\\')
			return conf_bad(c, what, v,
					"use printable ASCII characters without \" or \\");
	if (v[0] == ' ' || v[len - 1] == ' ')
		return conf_bad(c, what, v, "leading or trailing space");
	memcpy(out, v, len + 1);
	return 0;
}

/* The PSK: no message may contain any part of it, so none uses conf_bad(). */
static int get_psk(struct conf_pctx *c, const char *v, char *out)
{
	size_t len = strlen(v);
	if (strcmp(v, "<secret>") == 0) {
		hnv_seterr(c->err, c->errlen,
			   "%s: the PSK is masked as <secret> (a config shown without secrets); "
			   "give the key itself",
			   c->cmd);
		return -EINVAL;
	}
	if (len < HNV_S2S_PSK_MIN) {
		hnv_seterr(c->err, c->errlen, "%s: PSK too short: use at least %d characters",
			   c->cmd, HNV_S2S_PSK_MIN);
		return -EINVAL;
	}
	if (len > HNV_S2S_PSK_MAX) {
		hnv_seterr(c->err, c->errlen, "%s: PSK too long: use at most %d characters", c->cmd,
			   HNV_S2S_PSK_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		if (!printable_ascii(v[i])) {
			hnv_seterr(
				c->err, c->errlen,
				"%s: PSK has a character outside printable ASCII at position %zu",
				c->cmd, i + 1);
			return -EINVAL;
		}
	memcpy(out, v, len + 1);
	return 0;
}

/* A certificate or key file: a name (in charon's directories) or an
 * absolute path, never climbing with "..". */
static int get_path(struct conf_pctx *c, const char *what, const char *v, char *out)
{
	size_t len = strlen(v);
	if (len == 0 || len > HNV_S2S_PATH_MAX)
		return conf_bad(c, what, v, "must be 1-127 characters");
	for (size_t i = 0; i < len; i++)
		if (!printable_ascii(v[i]) || v[i] == ' ' || v[i] == '"' || v[i] == '\\')
			return conf_bad(c, what, v,
					"use printable ASCII characters without spaces, \" or \\");
	if (strchr(v, '/') != NULL && v[0] != '/')
		return conf_bad(c, what, v, "must be a file name or an absolute path");
	for (const char *p = v + (v[0] == '/');;) {
		size_t cl = strcspn(p, "/");
		if (cl == 0 || (cl == 1 && p[0] == '.') || (cl == 2 && p[0] == '.' && p[1] == '.'))
			return conf_bad(c, what, v, "empty, \".\" or \"..\" path component");
		if (p[cl] == '\0')
			break;
		p += cl + 1;
	}
	memcpy(out, v, len + 1);
	return 0;
}

/* strongSwan proposal keywords hnvgw accepts (lower case). */
enum alg_kind {
	ALG_ENCR,
	ALG_AEAD,
	ALG_INTEG,
	ALG_PRF,
	ALG_DH,
	ALG_ESN
};

static const struct {
	const char *name;
	enum alg_kind kind;
} good_algs[] = {
	{"aes128", ALG_ENCR},      {"aes192", ALG_ENCR},
	{"aes256", ALG_ENCR},      {"aes128ctr", ALG_ENCR},
	{"aes192ctr", ALG_ENCR},   {"aes256ctr", ALG_ENCR},
	{"camellia128", ALG_ENCR}, {"camellia192", ALG_ENCR},
	{"camellia256", ALG_ENCR}, {"aes128gcm8", ALG_AEAD},
	{"aes128gcm12", ALG_AEAD}, {"aes128gcm16", ALG_AEAD},
	{"aes192gcm8", ALG_AEAD},  {"aes192gcm12", ALG_AEAD},
	{"aes192gcm16", ALG_AEAD}, {"aes256gcm8", ALG_AEAD},
	{"aes256gcm12", ALG_AEAD}, {"aes256gcm16", ALG_AEAD},
	{"aes128ccm8", ALG_AEAD},  {"aes128ccm12", ALG_AEAD},
	{"aes128ccm16", ALG_AEAD}, {"aes192ccm8", ALG_AEAD},
	{"aes192ccm12", ALG_AEAD}, {"aes192ccm16", ALG_AEAD},
	{"aes256ccm8", ALG_AEAD},  {"aes256ccm12", ALG_AEAD},
	{"aes256ccm16", ALG_AEAD}, {"chacha20poly1305", ALG_AEAD},
	{"sha256", ALG_INTEG},     {"sha384", ALG_INTEG},
	{"sha512", ALG_INTEG},     {"sha2_256", ALG_INTEG},
	{"sha2_384", ALG_INTEG},   {"sha2_512", ALG_INTEG},
	{"aesxcbc", ALG_INTEG},    {"aescmac", ALG_INTEG},
	{"prfsha256", ALG_PRF},    {"prfsha384", ALG_PRF},
	{"prfsha512", ALG_PRF},    {"prfaesxcbc", ALG_PRF},
	{"prfaescmac", ALG_PRF},   {"modp2048", ALG_DH},
	{"modp3072", ALG_DH},      {"modp4096", ALG_DH},
	{"modp6144", ALG_DH},      {"modp8192", ALG_DH},
	{"modp2048s224", ALG_DH},  {"modp2048s256", ALG_DH},
	{"ecp224", ALG_DH},        {"ecp256", ALG_DH},
	{"ecp384", ALG_DH},        {"ecp521", ALG_DH},
	{"ecp224bp", ALG_DH},      {"ecp256bp", ALG_DH},
	{"ecp384bp", ALG_DH},      {"ecp512bp", ALG_DH},
	{"curve25519", ALG_DH},    {"x25519", ALG_DH},
	{"curve448", ALG_DH},      {"x448", ALG_DH},
	{"esn", ALG_ESN},          {"noesn", ALG_ESN},
};

/* Keywords strongSwan knows that hnvgw refuses, and why. */
static const struct {
	const char *name, *why;
} weak_algs[] = {
	{"des", "DES (56-bit key)"},
	{"3des", "3DES (64-bit block cipher)"},
	{"cast128", "CAST-128 (64-bit block cipher)"},
	{"blowfish128", "Blowfish (64-bit block cipher)"},
	{"null", "NULL encryption"},
	{"md5", "MD5"},
	{"md5_128", "MD5"},
	{"prfmd5", "MD5"},
	{"sha", "SHA-1"},
	{"sha1", "SHA-1"},
	{"sha1_160", "SHA-1"},
	{"prfsha1", "SHA-1"},
	{"modp768", "MODP 768 (DH group 1)"},
	{"modp1024", "MODP 1024 (DH group 2)"},
	{"modp1536", "MODP 1536 (DH group 5)"},
	{"modp1024s160", "MODP 1024 (DH group 22)"},
	{"ecp192", "ECP 192 (DH group 25)"},
};

/* IKE DH group numbers, which strongSwan does not accept: weak ones are
 * refused as weak, the others are named by their keyword. */
static const struct {
	unsigned num;
	const char *name;
	bool weak;
} dh_groups[] = {
	{1, "modp768", true},        {2, "modp1024", true},       {5, "modp1536", true},
	{14, "modp2048", false},     {15, "modp3072", false},     {16, "modp4096", false},
	{17, "modp6144", false},     {18, "modp8192", false},     {19, "ecp256", false},
	{20, "ecp384", false},       {21, "ecp521", false},       {22, "modp1024s160", true},
	{23, "modp2048s224", false}, {24, "modp2048s256", false}, {25, "ecp192", true},
	{26, "ecp224", false},       {27, "ecp224bp", false},     {28, "ecp256bp", false},
	{29, "ecp384bp", false},     {30, "ecp512bp", false},     {31, "curve25519", false},
	{32, "curve448", false},
};

/* "dh14", "group14", "dhgroup14": the group number, or 0. */
static unsigned dh_group_number(const char *t)
{
	static const char *const pfx[] = {"dhgroup", "group", "dh"};
	for (size_t i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++) {
		size_t n = strlen(pfx[i]);
		uint32_t v;
		if (strncmp(t, pfx[i], n) == 0 && hnv_parse_dec(t + n, 99, &v) == 0)
			return v;
	}
	return 0;
}

/* One proposal: valid keywords, no weak algorithm, complete for its kind
 * (IKE: encryption, DH group and integrity or, with AEAD, a PRF; ESP:
 * encryption and integrity unless AEAD). Appends it in lower case to list
 * (size bytes, ',' separated). */
static int get_proposal(struct conf_pctx *c, bool ike, const char *v, char *list, size_t size)
{
	const char *kind = ike ? "IKE proposal" : "ESP proposal";
	char p[HNV_S2S_PROPOSALS_LEN + 1];
	size_t len = strlen(v);
	if (len == 0 || len >= sizeof(p))
		return conf_bad(c, kind, v, "must be 1-255 characters");
	for (size_t i = 0; i <= len; i++)
		p[i] = hnv_ascii_lower(v[i]);
	for (size_t i = 0; i < len; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || hnv_is_digit(p[i]) || p[i] == '_' ||
		      p[i] == '-'))
			return conf_bad(c, kind, v,
					"one proposal of algorithm keywords joined by '-', "
					"e.g. aes256gcm16-prfsha384-ecp384");
	unsigned n[ALG_ESN + 1] = {0};
	char tok[HNV_S2S_PROPOSALS_LEN + 1];
	for (const char *t = p; *t;) {
		size_t tl = strcspn(t, "-");
		if (tl == 0)
			return conf_bad(c, kind, v, "empty algorithm between '-'");
		memcpy(tok, t, tl);
		tok[tl] = '\0';
		t += tl + (t[tl] == '-');
		if (t[-1] == '-' && *t == '\0')
			return conf_bad(c, kind, v, "ends with '-'");
		for (size_t i = 0; i < sizeof(weak_algs) / sizeof(weak_algs[0]); i++)
			if (strcmp(tok, weak_algs[i].name) == 0) {
				hnv_seterr(c->err, c->errlen,
					   "%s: weak algorithm \"%s\" in %s " SHOWF
					   ": %s is refused (--allow-legacy-crypto adds the "
					   "Windows Server 2012 R2 defaults to a tunnel)",
					   c->cmd, tok, kind, SHOWA(v), weak_algs[i].why);
				return -EINVAL;
			}
		unsigned g = dh_group_number(tok);
		for (size_t i = 0; g && i < sizeof(dh_groups) / sizeof(dh_groups[0]); i++) {
			if (dh_groups[i].num != g)
				continue;
			if (dh_groups[i].weak)
				hnv_seterr(c->err, c->errlen,
					   "%s: weak algorithm \"%s\" in %s " SHOWF
					   ": DH group %u (%s) is refused, MODP groups below 2048 "
					   "bits "
					   "are weak",
					   c->cmd, tok, kind, SHOWA(v), g, dh_groups[i].name);
			else
				hnv_seterr(c->err, c->errlen,
					   "%s: %s " SHOWF ": write DH group %u as \"%s\"", c->cmd,
					   kind, SHOWA(v), g, dh_groups[i].name);
			return -EINVAL;
		}
		size_t k = 0, nk = sizeof(good_algs) / sizeof(good_algs[0]);
		while (k < nk && strcmp(tok, good_algs[k].name) != 0)
			k++;
		if (k == nk) {
			hnv_seterr(c->err, c->errlen, "%s: unknown algorithm \"%s\" in %s " SHOWF,
				   c->cmd, tok, kind, SHOWA(v));
			return -EINVAL;
		}
		n[good_algs[k].kind]++;
	}
	const char *why = NULL;
	if (n[ALG_ENCR] + n[ALG_AEAD] == 0)
		why = "no encryption algorithm";
	else if (n[ALG_ENCR] && n[ALG_AEAD])
		why = "AEAD and non-AEAD encryption cannot share a proposal";
	else if (n[ALG_AEAD] && n[ALG_INTEG])
		why = "an AEAD algorithm takes no integrity algorithm";
	else if (n[ALG_ENCR] && !n[ALG_INTEG])
		why = "no integrity algorithm (e.g. sha256)";
	else if (ike && n[ALG_ESN])
		why = "esn and noesn belong to ESP proposals";
	else if (ike && !n[ALG_DH])
		why = "no DH group (e.g. ecp384 or modp3072)";
	else if (ike && n[ALG_AEAD] && !n[ALG_PRF])
		why = "an AEAD IKE proposal needs a PRF (e.g. prfsha384)";
	else if (!ike && n[ALG_PRF])
		why = "a PRF belongs to IKE proposals";
	if (why)
		return conf_bad(c, kind, v, why);
	size_t used = strlen(list);
	if (used + (used > 0) + len >= size) {
		hnv_seterr(c->err, c->errlen, "%s: %ss longer than %zu characters together", c->cmd,
			   kind, size - 1);
		return -EINVAL;
	}
	if (used > 0)
		list[used++] = ',';
	memcpy(list + used, p, len + 1);
	return 0;
}

static bool prefixes_overlap(const struct hnv_prefix *a, const struct hnv_prefix *b)
{
	return hnv_prefix_contains(a, &b->addr) || hnv_prefix_contains(b, &a->addr);
}

/* --local-netmap / --remote-netmap REAL=MAPPED: IPv4 prefixes of one
 * length; within one kind no two real and no two mapped prefixes overlap,
 * and no mapped prefix overlaps a real one. */
static int get_netmaps(struct conf_pctx *c, bool remote, struct hnv_s2s_netmap *out, unsigned *n)
{
	unsigned opt = remote ? OPT_REMOTE_NETMAP : OPT_LOCAL_NETMAP;
	const char *what = remote ? "remote netmap" : "local netmap";
	for (unsigned i = 0; i < c->n[opt]; i++) {
		const char *v = c->val[opt][i];
		const char *eq = strchr(v, '=');
		char real[64];
		if (eq == NULL || (size_t)(eq - v) >= sizeof(real))
			return conf_bad(c, what, v, "expected REAL=MAPPED (two IPv4 prefixes)");
		memcpy(real, v, (size_t)(eq - v));
		real[eq - v] = '\0';
		struct hnv_s2s_netmap *m = &out[i];
		const char *why;
		if (hnv_parse_prefix_why(real, &m->real, false, &why) < 0 ||
		    hnv_parse_prefix_why(eq + 1, &m->mapped, false, &why) < 0)
			return conf_bad(c, what, v, why);
		if (!hnv_ip_is_v4(&m->real.addr) || !hnv_ip_is_v4(&m->mapped.addr))
			return conf_bad(c, what, v, "NETMAP is IPv4 only (there is no NAT66)");
		if (m->real.len != m->mapped.len)
			return conf_bad(c, what, v, "the two prefixes differ in length");
		if (m->real.len == 0)
			return conf_bad(c, what, v, "a /0 cannot be mapped");
		if (prefixes_overlap(&m->real, &m->mapped))
			return conf_bad(c, what, v, "the mapped prefix overlaps the real one");
		for (unsigned k = 0; k < i; k++)
			if (prefixes_overlap(&out[k].real, &m->real) ||
			    prefixes_overlap(&out[k].mapped, &m->mapped) ||
			    prefixes_overlap(&out[k].real, &m->mapped) ||
			    prefixes_overlap(&out[k].mapped, &m->real)) {
				hnv_seterr(c->err, c->errlen, "%s: %s " SHOWF " overlaps %s " SHOWF,
					   c->cmd, what, SHOWA(v), what, SHOWA(c->val[opt][k]));
				return -EINVAL;
			}
		*n = i + 1;
	}
	return 0;
}

static bool is_alnum(char ch)
{
	return hnv_is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* Why v is not a DNS host name charon can resolve (RFC 1123 labels: 1-63
 * letters, digits and inner hyphens; at most 253 characters; the last
 * label not all digits, which would be a mistyped address), or NULL. */
static const char *host_why(const char *v)
{
	size_t len = strlen(v);
	if (len > HNV_S2S_HOST_MAX)
		return "a host name has at most 253 characters";
	if (v[len - 1] == '.')
		return "a host name without the trailing dot";
	bool digits = true;
	for (const char *l = v;;) {
		size_t n = strcspn(l, ".");
		if (n == 0)
			return "empty label (two dots, or a leading dot)";
		if (n > 63)
			return "a label of a host name has at most 63 characters";
		if (l[0] == '-' || l[n - 1] == '-')
			return "a label may not start or end with '-'";
		digits = true;
		for (size_t i = 0; i < n; i++) {
			if (!is_alnum(l[i]) && l[i] != '-')
				return "an address, a host name (letters, digits, '-' and '.') or "
				       "any";
			digits &= hnv_is_digit(l[i]);
		}
		if (l[n] == '\0')
			break;
		l += n + 1;
	}
	return digits ? "neither an address nor a host name (whose last label is not all digits)"
		      : NULL;
}

/* --peer: "any", an address, or a host name for charon to resolve. */
static int get_peer(struct conf_pctx *c, const char *v, struct hnv_conf_s2s *s)
{
	if (strcmp(v, "any") == 0) {
		s->peer_any = true;
		return 0;
	}
	if (v[0] == '\0')
		return conf_bad(c, "peer", v, "empty");
	/* something with ':' or only digits and dots is meant as an address */
	if (strchr(v, ':') != NULL || strspn(v, "0123456789.") == strlen(v))
		return conf_get_unicast(c, "peer", v, &s->peer);
	const char *why = host_why(v);
	if (why)
		return conf_bad(c, "peer", v, why);
	memcpy(s->peer_host, v, strlen(v) + 1);
	return 0;
}

int conf_build_s2s_add(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_s2s *s = &cmd->u.s2s;
	int rc = conf_get_name(c, "tunnel name", c->pos, s->name);
	if (rc == 0)
		rc = conf_get_name(c, "rdomain name", conf_opt1(c, OPT_RDOMAIN), s->rdomain);
	if (rc == 0 && c->n[OPT_POOL])
		rc = conf_get_host(c, "pool name", conf_opt1(c, OPT_POOL), s->pool);
	if (rc == 0)
		rc = get_peer(c, conf_opt1(c, OPT_PEER), s);
	/* the member that holds a pool tenant adds the floating local
	 * address where the peer is routed, and initiates to the peer */
	if (rc == 0 && s->pool[0] && (s->peer_any || s->peer_host[0]))
		return conf_bad(c, "peer", conf_opt1(c, OPT_PEER),
				"a tunnel of a gateway pool needs the peer's address (the "
				"member that holds the tenant initiates to it and adds "
				"--local-addr where it is routed)");
	if (rc == 0 && s->pool[0] && !c->n[OPT_LOCAL_ADDR])
		return conf_bad(c, "pool", s->pool,
				"a tunnel of a gateway pool needs --local-addr (the floating "
				"address the member that holds the tenant adds, so the site "
				"keeps its configuration across a failover)");
	if (rc == 0 && c->n[OPT_LOCAL_ADDR]) {
		const char *la = conf_opt1(c, OPT_LOCAL_ADDR);
		rc = conf_get_unicast(c, "local address", la, &s->local_addr);
		s->has_local_addr = true;
		if (rc == 0 && !s->peer_any && !s->peer_host[0] &&
		    hnv_ip_is_v4(&s->local_addr) != hnv_ip_is_v4(&s->peer))
			return conf_bad(c, "local address", la, "not of the peer's address family");
	}
	if (rc == 0)
		rc = get_ident(c, "local ID", conf_opt1(c, OPT_LOCAL_ID), s->local_id);
	if (rc == 0)
		rc = get_ident(c, "remote ID", conf_opt1(c, OPT_REMOTE_ID), s->remote_id);
	if (rc < 0)
		return rc;
	/* charon picks an "any" tunnel by the identity the site sends alone */
	if (s->peer_any && (s->remote_id[0] == '%' || strchr(s->remote_id, '*') != NULL))
		return conf_bad(c, "remote ID", s->remote_id,
				"--peer any needs a --remote-id naming one site (no %any, no "
				"wildcard '*'): it is what tells this tunnel's site from any "
				"other");
	s->legacy_crypto = c->n[OPT_ALLOW_LEGACY] > 0;
	if ((rc = conf_get_rates(c, &s->rate_out, &s->rate_in)) < 0)
		return rc;
	if (c->n[OPT_PSK] && (c->n[OPT_CERT] || c->n[OPT_KEY] || c->n[OPT_CA_CERT])) {
		hnv_seterr(c->err, c->errlen, "%s: give --psk or --cert with --key%s, not both",
			   c->cmd, c->n[OPT_CA_CERT] ? " (and --ca-cert)" : "");
		return -EINVAL;
	}
	if (c->n[OPT_PSK]) {
		s->auth = HNV_S2S_AUTH_PSK;
		rc = get_psk(c, conf_opt1(c, OPT_PSK), s->psk);
		/* identities are shown to every reader; the PSK is not */
		if (rc == 0 && (conf_shows_secret(s->local_id, s->psk) ||
				conf_shows_secret(s->remote_id, s->psk))) {
			hnv_seterr(c->err, c->errlen, "%s: the PSK must not appear in an identity",
				   c->cmd);
			return -EINVAL;
		}
		if (rc == 0 && conf_shows_secret(s->peer_host, s->psk)) {
			hnv_seterr(c->err, c->errlen, "%s: the PSK must not appear in the peer",
				   c->cmd);
			return -EINVAL;
		}
	} else if (c->n[OPT_CERT] && c->n[OPT_KEY]) {
		s->auth = HNV_S2S_AUTH_CERT;
		rc = get_path(c, "certificate", conf_opt1(c, OPT_CERT), s->cert);
		if (rc == 0)
			rc = get_path(c, "key", conf_opt1(c, OPT_KEY), s->key);
		if (rc == 0 && c->n[OPT_CA_CERT])
			rc = get_path(c, "CA certificate", conf_opt1(c, OPT_CA_CERT), s->ca_cert);
	} else {
		hnv_seterr(c->err, c->errlen, "%s: missing %s", c->cmd,
			   c->n[OPT_CERT]  ? "--key"
			   : c->n[OPT_KEY] ? "--cert"
					   : "--psk or --cert with --key");
		return -EINVAL;
	}
	for (unsigned i = 0; rc == 0 && i < c->n[OPT_IKE_PROPOSAL]; i++)
		rc = get_proposal(c, true, c->val[OPT_IKE_PROPOSAL][i], s->ike, sizeof(s->ike));
	for (unsigned i = 0; rc == 0 && i < c->n[OPT_ESP_PROPOSAL]; i++)
		rc = get_proposal(c, false, c->val[OPT_ESP_PROPOSAL][i], s->esp, sizeof(s->esp));
	if (rc < 0)
		return rc;
	if (!s->ike[0])
		snprintf(s->ike, sizeof(s->ike), "%s", HNV_S2S_IKE_DEFAULT);
	if (!s->esp[0])
		snprintf(s->esp, sizeof(s->esp), "%s", HNV_S2S_ESP_DEFAULT);
	rc = conf_get_remote_prefixes(c, s->remote, &s->n_remote);
	if (rc < 0)
		return rc;
	s->dpd = HNV_S2S_DPD_DEFAULT;
	if (c->n[OPT_DPD])
		rc = conf_get_uint(c, "DPD delay", conf_opt1(c, OPT_DPD), 0, HNV_S2S_DPD_MAX,
				   &s->dpd);
	if (rc == 0)
		rc = get_netmaps(c, false, s->local_netmap, &s->n_local_netmap);
	if (rc == 0)
		rc = get_netmaps(c, true, s->remote_netmap, &s->n_remote_netmap);
	if (rc < 0)
		return rc;
	/* the site's mapped prefixes are addresses the tenant sends to the
	 * tunnel: they must not be site prefixes themselves, and each real
	 * one is something the tunnel carries */
	for (unsigned i = 0; i < s->n_remote_netmap; i++) {
		const struct hnv_s2s_netmap *m = &s->remote_netmap[i];
		const char *v = c->val[OPT_REMOTE_NETMAP][i];
		bool inside = false;
		for (unsigned k = 0; k < s->n_remote; k++) {
			if (prefixes_overlap(&m->mapped, &s->remote[k]))
				return conf_bad(c, "remote netmap", v,
						"its mapped prefix overlaps a --remote-prefix");
			inside |= hnv_prefix_contains(&s->remote[k], &m->real.addr) &&
				  s->remote[k].len <= m->real.len;
		}
		if (!inside)
			return conf_bad(c, "remote netmap", v,
					"its real prefix is not inside a --remote-prefix");
	}
	return 0;
}

int conf_build_s2s_del(struct conf_pctx *c, struct hnv_conf_cmd *cmd)
{
	struct hnv_conf_s2s *s = &cmd->u.s2s;
	int rc = conf_get_name(c, "tunnel name", c->pos, s->name);
	/* a pool's tunnel is found in etcd by its routing domain and pool */
	if (rc == 0 && c->n[OPT_POOL] != c->n[OPT_RDOMAIN])
		return conf_bad(c, c->n[OPT_POOL] ? "pool" : "rdomain",
				conf_opt1(c, c->n[OPT_POOL] ? OPT_POOL : OPT_RDOMAIN),
				"s2s del takes --rdomain and --pool together (a gateway "
				"pool's tunnel), or neither");
	if (rc == 0 && c->n[OPT_RDOMAIN])
		rc = conf_get_name(c, "rdomain name", conf_opt1(c, OPT_RDOMAIN), s->rdomain);
	if (rc == 0 && c->n[OPT_POOL])
		rc = conf_get_host(c, "pool name", conf_opt1(c, OPT_POOL), s->pool);
	return rc;
}

bool hnv_conf_warning(const struct hnv_conf_cmd *cmd, char *buf, size_t len)
{
	if (len)
		buf[0] = '\0';
	if (cmd->kind == HNV_CONF_BGP_PEER_ADD)
		return conf_bgp_peer_warning(&cmd->u.bgp_peer, buf, len);
	if (cmd->kind != HNV_CONF_S2S_ADD || !cmd->u.s2s.legacy_crypto ||
	    !CONF_TERMINATED(cmd->u.s2s.name))
		return false;
	snprintf(buf, len,
		 "s2s %s: --allow-legacy-crypto: this tunnel also accepts DH group 2 "
		 "(MODP1024), SHA-1 and 3DES (%s; ESP %s); use it only until the site "
		 "supports the default proposals",
		 cmd->u.s2s.name, HNV_S2S_IKE_LEGACY, HNV_S2S_ESP_LEGACY);
	return true;
}
