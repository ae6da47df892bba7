/* fuzz_conftext.c: libFuzzer harness for the config text (mgmt/conf_*.c).
 *
 * 1. The value parsers on the input as one string: whatever they accept must
 *    format and parse back to the same value.
 * 2. hnv_conf_parse_text on the whole input: a rejection must say which line;
 *    an acceptance must give NUL-terminated strings and in-range counts.
 * 3. Every accepted command formats (hnv_conf_format) to a line that parses
 *    back to the same command; the masked form never holds the PSK.
 * 4. Accepted commands are applied to a fresh datapath context, so the
 *    applier and the policy tables behind it are fuzzed too; a failure must
 *    leave a message.
 * 5. A text the model loads gives a config text that loads to the same
 *    text again (mgmt/model.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-qsbr.h>

#include "../../mgmt/conf_apply.h"
#include "../../mgmt/model.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

/* The model builds datapath contexts: register as their control thread. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	urcu_qsbr_register_thread();
	return 0;
}

static void check_values(const uint8_t *buf, size_t len)
{
	char s[128], t[64];
	size_t n = len < sizeof(s) - 1 ? len : sizeof(s) - 1;
	memcpy(s, buf, n);
	s[n] = '\0';

	struct hnv_ip ip, ip2;
	if (hnv_parse_ip(s, &ip) == 0) {
		hnv_fmt_ip(&ip, t, sizeof(t));
		if (hnv_parse_ip(t, &ip2) != 0 || !hnv_ip_eq(&ip, &ip2))
			abort();
	}
	struct hnv_prefix p, p2;
	if (hnv_parse_prefix(s, &p) == 0) {
		hnv_fmt_prefix(&p, t, sizeof(t));
		if (hnv_parse_prefix(t, &p2) != 0 || !hnv_ip_eq(&p.addr, &p2.addr) ||
		    p.len != p2.len)
			abort();
	}
	struct hnv_mac m, m2;
	if (hnv_parse_mac(s, &m) == 0) {
		hnv_fmt_mac(&m, t, sizeof(t));
		if (hnv_parse_mac(t, &m2) != 0 || !hnv_mac_eq(&m, &m2))
			abort();
	}
	struct hnv_guid g, g2;
	if (hnv_parse_guid(s, &g) == 0) {
		hnv_fmt_guid(&g, t, sizeof(t));
		if (hnv_parse_guid(t, &g2) != 0 || memcmp(g.b, g2.b, sizeof(g.b)) != 0)
			abort();
	}
	uint32_t vsid;
	if (hnv_parse_vsid(s, &vsid) == 0 && (vsid < HNV_VSID_MIN || vsid > HNV_VSID_MAX))
		abort();
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void check_cmd(const struct hnv_conf_cmd *c)
{
	switch (c->kind) {
	case HNV_CONF_RDOMAIN_ADD:
	case HNV_CONF_RDOMAIN_DEL:
		if (!terminated(c->u.rdomain.name, sizeof(c->u.rdomain.name)))
			abort();
		break;
	case HNV_CONF_VSUBNET_ADD:
		if (c->u.vsubnet.n_prefixes == 0 || c->u.vsubnet.n_prefixes > HNV_CONF_PREFIXES_MAX)
			abort();
		break;
	case HNV_CONF_PA_ADD:
		if (!terminated(c->u.pa.dev, sizeof(c->u.pa.dev)))
			abort();
		break;
	case HNV_CONF_PORT_ADD:
		/* no CA is fine: hnvgwd's model takes one from the VSID's pool */
		if (c->u.port.n_cas > HNV_CONF_CAS_MAX)
			abort();
		break;
	case HNV_CONF_LOOKUP_ADD:
	case HNV_CONF_LOOKUP_SET:
		if (!terminated(c->u.lookup.vm_name, sizeof(c->u.lookup.vm_name)) ||
		    !terminated(c->u.lookup.context, sizeof(c->u.lookup.context)))
			abort();
		break;
	case HNV_CONF_GLOBAL_SET:
		if (c->u.global.has_uplink_mtu &&
		    (c->u.global.uplink_mtu < 576 || c->u.global.uplink_mtu > 9000))
			abort();
		break;
	case HNV_CONF_PROUTE_ADD:
		if (!terminated(c->u.proute.dev, sizeof(c->u.proute.dev)))
			abort();
		break;
	case HNV_CONF_GATEWAY_ADD: {
		const struct hnv_conf_gateway *g = &c->u.gateway;
		if (!terminated(g->rdomain, sizeof(g->rdomain)) ||
		    !terminated(g->vrf, sizeof(g->vrf)) ||
		    !terminated(g->corp_dev, sizeof(g->corp_dev)) || g->table == 0 ||
		    g->table == UINT32_MAX || (g->table >= 253 && g->table <= 255))
			abort();
		break;
	}
	case HNV_CONF_S2S_ADD: {
		const struct hnv_conf_s2s *t = &c->u.s2s;
		if (!terminated(t->psk, sizeof(t->psk)) || !terminated(t->ike, sizeof(t->ike)) ||
		    !terminated(t->esp, sizeof(t->esp)) || t->n_remote == 0 ||
		    t->n_remote > HNV_S2S_REMOTE_MAX || t->dpd > HNV_S2S_DPD_MAX || !t->ike[0] ||
		    !t->esp[0])
			abort();
		if (t->auth == HNV_S2S_AUTH_PSK ? strlen(t->psk) < HNV_S2S_PSK_MIN
						: t->auth != HNV_S2S_AUTH_CERT || t->psk[0])
			abort();
		if (t->n_local_netmap > HNV_S2S_NETMAP_MAX ||
		    t->n_remote_netmap > HNV_S2S_NETMAP_MAX)
			abort();
		for (unsigned i = 0; i < t->n_local_netmap + t->n_remote_netmap; i++) {
			const struct hnv_s2s_netmap *m =
				i < t->n_local_netmap ? &t->local_netmap[i]
						      : &t->remote_netmap[i - t->n_local_netmap];
			if (m->real.len != m->mapped.len || !hnv_ip_is_v4(&m->real.addr) ||
			    !hnv_ip_is_v4(&m->mapped.addr))
				abort();
		}
		break;
	}
	default:
		break;
	}
	if (c->line == 0)
		abort();
}

/* Format, parse back, compare; and the masked form hides the PSK. */
static void check_format(const struct hnv_conf_cmd *c)
{
	static char line[8192];
	struct hnv_conf_cmd back;
	if (hnv_conf_format(c, true, line, sizeof(line)) != 0 || strlen(line) > 4096)
		abort();
	if (hnv_conf_parse_line(line, &back, NULL, 0) != 1)
		abort();
	back.line = c->line;
	if (memcmp(&back, c, sizeof(back)) != 0)
		abort();
	if (c->kind == HNV_CONF_S2S_ADD && c->u.s2s.auth == HNV_S2S_AUTH_PSK) {
		if (hnv_conf_format(c, false, line, sizeof(line)) != 0 ||
		    strstr(line, c->u.s2s.psk) != NULL)
			abort();
	}
}

static void check_model(const uint8_t *buf, size_t len)
{
	struct hnv_model *m, *m2;
	char err[512];
	if (hnv_model_load((const char *)buf, len, &m, err, sizeof(err)) != 0) {
		if (strncmp(err, "line ", 5) != 0)
			abort();
		return;
	}
	char *t = hnv_model_text(m, true);
	if (t == NULL || hnv_model_load(t, strlen(t), &m2, err, sizeof(err)) != 0)
		abort();
	char *t2 = hnv_model_text(m2, true);
	if (t2 == NULL || strcmp(t, t2) != 0)
		abort();
	free(t);
	free(t2);
	hnv_model_free(m);
	hnv_model_free(m2);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	check_values(buf, len);

	struct hnv_conf_cmd *cmds;
	size_t n;
	char err[512] = "";
	if (hnv_conf_parse_text((const char *)buf, len, &cmds, &n, err, sizeof(err)) != 0) {
		if (strncmp(err, "line ", 5) != 0)
			abort();
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		check_cmd(&cmds[i]);
		check_format(&cmds[i]);
	}

	struct hnv_dp *dp = hnv_dp_new();
	if (dp == NULL)
		abort();
	err[0] = '\0';
	if (hnv_conf_apply(dp, cmds, n, err, sizeof(err)) != 0 && err[0] == '\0')
		abort();
	hnv_dp_free(dp);
	hnv_conf_cmds_free(cmds, n);
	check_model(buf, len);
	return 0;
}
