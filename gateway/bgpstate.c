/* bgpstate.c: bgpd's session summary (bgpstate.h). */
#include "bgpstate.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

/* A non-negative integer member, else 0. */
static uint64_t u64_of(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	int64_t n = json_object_get_int64(v);
	return n > 0 ? (uint64_t)n : 0;
}

static void str_of(json_object *o, const char *key, char *buf, size_t len)
{
	json_object *v;
	buf[0] = '\0';
	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(buf, len, "%s", json_object_get_string(v));
}

int hnv_bgp_summary_parse(const char *text, size_t len, hnv_bgp_session_cb cb, void *arg)
{
	if (len > (size_t)INT32_MAX)
		return -EINVAL;
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	json_tokener_free(tok);
	if (!root || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return -EINVAL;
	}
	int n = 0;
	json_object_object_foreach(root, vrf, vo)
	{
		if (!json_object_is_type(vo, json_type_object))
			continue;
		json_object_object_foreach(vo, afi, ao)
		{
			json_object *peers;
			if (!json_object_is_type(ao, json_type_object) ||
			    !json_object_object_get_ex(ao, "peers", &peers) ||
			    !json_object_is_type(peers, json_type_object))
				continue;
			json_object_object_foreach(peers, addr, po)
			{
				if (!json_object_is_type(po, json_type_object))
					continue;
				struct hnv_bgp_session s = {0};
				snprintf(s.vrf, sizeof(s.vrf), "%s", vrf);
				snprintf(s.afi, sizeof(s.afi), "%s", afi);
				snprintf(s.peer, sizeof(s.peer), "%s", addr);
				str_of(po, "state", s.state, sizeof(s.state));
				s.msg_rcvd = u64_of(po, "msgRcvd");
				s.msg_sent = u64_of(po, "msgSent");
				s.pfx_rcvd = u64_of(po, "pfxRcd");
				s.uptime_ms = u64_of(po, "peerUptimeMsec");
				s.conn_established = u64_of(po, "connectionsEstablished");
				s.conn_dropped = u64_of(po, "connectionsDropped");
				cb(arg, &s);
				n++;
			}
		}
	}
	json_object_put(root);
	return n;
}
