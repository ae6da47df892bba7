/* gw_bgpstate.c: the state of each tenant's BGP session, as bgpd reports
 * it (hnv_gw_show_bgp, gw.h). */
#include "../lib/addr.h"
#include "../lib/err.h"
#include "bgpstate.h"
#include "gw_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BGPSTATE_TIMEOUT_MS 2000    /* bgpd, for one show */
#define BGPSTATE_OUT_MAX (4u << 20) /* its output kept, at most */

struct session_row {
	const char *vrf; /* rd-<vrf> */
	char peer[HNV_BGPSTATE_PEER_MAX];
	bool found;
	struct hnv_bgp_session s; /* pfx_rcvd summed over the address families */
};

struct sessions {
	struct session_row *rows;
	unsigned n;
};

static void on_session(void *arg, const struct hnv_bgp_session *s)
{
	struct sessions *ss = arg;
	for (unsigned i = 0; i < ss->n; i++) {
		struct session_row *r = &ss->rows[i];
		if (strcmp(r->vrf, s->vrf) || strcmp(r->peer, s->peer))
			continue;
		if (!r->found) {
			r->s = *s;
			r->found = true;
		} else {
			r->s.pfx_rcvd += s->pfx_rcvd;
		}
	}
}

/* bgpd's summary of every VRF: 0 with *out (malloc'd), or a negative errno
 * with why (bgpd not running, timed out). */
static int query(const struct hnv_gw *g, char **out, char *why, size_t whylen)
{
	int rc = hnv_bgp_vty_show(&g->bgp_opts, "show bgp vrf all summary json",
				  BGPSTATE_TIMEOUT_MS, BGPSTATE_OUT_MAX, out);
	if (rc < 0)
		hnv_seterr(why, whylen, "bgpd's vty: %s", strerror(-rc));
	else if (rc > 0)
		hnv_seterr(why, whylen, "bgpd refused the summary (status %d)", rc);
	return rc > 0 ? -EIO : rc;
}

json_object *hnv_gw_show_bgp(const struct hnv_gw *g)
{
	json_object *rows = json_object_new_array();
	const struct desired *d = g ? g->d : NULL;
	struct sessions ss = {0};
	if (!rows || !d)
		return rows;
	ss.rows = calloc(d->n_gw ? d->n_gw : 1, sizeof(*ss.rows));
	if (!ss.rows) {
		json_object_put(rows);
		return NULL;
	}
	for (unsigned i = 0; i < d->n_gw; i++) {
		const struct tenant *t = &d->gw[i];
		if (!t->c.bgp_asn)
			continue;
		struct session_row *r = &ss.rows[ss.n++];
		r->vrf = t->vrf;
		hnv_fmt_ip(&t->c.bgp_peer, r->peer, sizeof(r->peer));
	}
	char why[256] = "";
	if (ss.n) {
		char *text = NULL;
		if (query(g, &text, why, sizeof(why)) == 0) {
			if (hnv_bgp_summary_parse(text, strlen(text), on_session, &ss) < 0)
				hnv_seterr(why, sizeof(why), "bgpd is not running");
			free(text);
		}
	}
	unsigned k = 0;
	for (unsigned i = 0; i < d->n_gw; i++) {
		const struct tenant *t = &d->gw[i];
		if (!t->c.bgp_asn)
			continue;
		const struct session_row *r = &ss.rows[k++];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "rdomain", json_object_new_string(t->c.rdomain));
		json_object_object_add(o, "vrf", json_object_new_string(t->vrf));
		json_object_object_add(o, "peer", json_object_new_string(r->peer));
		json_object_object_add(o, "peer_asn", json_object_new_int64(t->c.bgp_peer_asn));
		const char *state = r->found ? r->s.state : why[0] ? why : "not in bgpd";
		json_object_object_add(o, "state", json_object_new_string(state));
		json_object_object_add(
			o, "established",
			json_object_new_boolean(r->found && !strcmp(r->s.state, "Established")));
		json_object_object_add(o, "msg_rcvd", json_object_new_uint64(r->s.msg_rcvd));
		json_object_object_add(o, "msg_sent", json_object_new_uint64(r->s.msg_sent));
		json_object_object_add(o, "pfx_rcvd", json_object_new_uint64(r->s.pfx_rcvd));
		json_object_object_add(o, "uptime_ms", json_object_new_uint64(r->s.uptime_ms));
		json_object_object_add(o, "connections_established",
				       json_object_new_uint64(r->s.conn_established));
		json_object_object_add(o, "connections_dropped",
				       json_object_new_uint64(r->s.conn_dropped));
		json_object_array_add(rows, o);
	}
	free(ss.rows);
	return rows;
}
