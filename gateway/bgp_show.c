/* bgp_show.c: the state of the tenants' BGP neighbors as bgpd reports it
 * (`show bgp vrf all neighbors json`), for `hnvgw show bgp-peers`.
 *
 * The JSON is bgpd's, so untrusted: it is parsed by json-c with a length
 * (never past len), every member is looked up with its type checked, and
 * strings are copied bounded. A member bgpd leaves out gives -1 (counts)
 * or "" (text).
 */
#include "bgp.h"

#include "../lib/err.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_OUT_MAX (16u << 20) /* bgpd output read, at most */

static const char *get_str(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static long long get_int(json_object *o, const char *key)
{
	json_object *v;
	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	int64_t x = json_object_get_int64(v);
	return x < 0 ? -1 : (long long)x;
}

/* The unicast address family block of a neighbor: "ipv4Unicast" or
 * "ipv6Unicast" under "addressFamilyInfo" (the one it is activated in). */
static json_object *af_info(json_object *nb)
{
	json_object *afi, *v;
	if (!json_object_object_get_ex(nb, "addressFamilyInfo", &afi) ||
	    !json_object_is_type(afi, json_type_object))
		return NULL;
	static const char *const keys[] = {"ipv4Unicast", "ipv6Unicast"};
	for (size_t i = 0; i < 2; i++)
		if (json_object_object_get_ex(afi, keys[i], &v) &&
		    json_object_is_type(v, json_type_object))
			return v;
	return NULL;
}

static void one_neighbor(const char *vrf, const char *addr, json_object *nb, hnv_bgp_peer_fn fn,
			 void *arg, int *count)
{
	struct hnv_bgp_peer_state s;
	memset(&s, 0, sizeof(s));
	snprintf(s.vrf, sizeof(s.vrf), "%s", vrf);
	snprintf(s.addr, sizeof(s.addr), "%s", addr);
	const char *st = get_str(nb, "bgpState");
	snprintf(s.state, sizeof(s.state), "%s", st ? st : "");
	s.uptime_ms = get_int(nb, "bgpTimerUpMsec");
	if (s.uptime_ms < 0 || strcmp(s.state, "Established") != 0)
		s.uptime_ms = -1;
	json_object *af = af_info(nb);
	s.accepted = get_int(af, "acceptedPrefixCounter");
	s.announced = get_int(af, "sentPrefixCounter");
	s.received = -1; /* from the Adj-RIB-In, when the caller asks for it */
	fn(arg, &s);
	(*count)++;
}

int hnv_bgp_parse_neighbors(const char *text, size_t len, hnv_bgp_peer_fn fn, void *arg)
{
	if (len > INT_MAX)
		return -EINVAL;
	json_tokener *tok = json_tokener_new();
	if (tok == NULL)
		return -ENOMEM;
	json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	json_tokener_free(tok);
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return -EINVAL;
	}
	const size_t plen = strlen(HNV_BGP_VRF_PREFIX);
	int count = 0;
	/* {"VRF": {"vrfId": N, "vrfName": "VRF", "ADDR": {...}, ...}, ...} */
	json_object_object_foreach(root, vrf, inst)
	{
		if (strncmp(vrf, HNV_BGP_VRF_PREFIX, plen) != 0 ||
		    !json_object_is_type(inst, json_type_object))
			continue;
		json_object_object_foreach(inst, addr, nb)
		{
			if (json_object_is_type(nb, json_type_object) && get_str(nb, "bgpState"))
				one_neighbor(vrf, addr, nb, fn, arg, &count);
		}
	}
	json_object_put(root);
	return count;
}

/* Runs CMD on bgpd's vty into *out; 0, or a negative errno with err set. */
static int vty_show(const struct hnv_bgp_opts *o, const char *cmd, char **out, char *err,
		    size_t errlen)
{
	int rc = hnv_bgp_vty_show(o, cmd, HNV_BGP_VTY_TIMEOUT * 1000, SHOW_OUT_MAX, out);
	if (rc != 0)
		hnv_seterr(err, errlen, "bgp: %s: %s", cmd,
			   rc < 0 ? strerror(-rc) : "bgpd refused it");
	return rc > 0 ? -EIO : rc;
}

/* Prefixes in the Adj-RIB-In of one neighbor: `show bgp vrf V ipv4|ipv6
 * unicast neighbors A received-routes json` ("totalPrefixCounter"). */
static long long received(const struct hnv_bgp_opts *o, const struct hnv_bgp_peer_state *s)
{
	char cmd[256], err[256], *out = NULL;
	bool v6 = strchr(s->addr, ':') != NULL;
	snprintf(cmd, sizeof(cmd), "show bgp vrf %s %s unicast neighbors %s received-routes json",
		 s->vrf, v6 ? "ipv6" : "ipv4", s->addr);
	long long n = -1;
	if (vty_show(o, cmd, &out, err, sizeof(err)) == 0) {
		json_object *root = json_tokener_parse(out);
		if (root && json_object_is_type(root, json_type_object))
			n = get_int(root, "totalPrefixCounter");
		json_object_put(root);
	}
	free(out);
	return n;
}

struct collect {
	const struct hnv_bgp_opts *o;
	hnv_bgp_peer_fn fn;
	void *arg;
};

static void with_received(void *arg, const struct hnv_bgp_peer_state *s)
{
	struct collect *c = arg;
	struct hnv_bgp_peer_state x = *s;
	if (strcmp(x.state, "Established") == 0)
		x.received = received(c->o, s);
	c->fn(c->arg, &x);
}

int hnv_bgp_neighbors(const struct hnv_bgp_opts *o, hnv_bgp_peer_fn fn, void *arg, char *err,
		      size_t errlen)
{
	char *out = NULL;
	int rc = vty_show(o, "show bgp vrf all neighbors json", &out, err, errlen);
	if (rc < 0)
		return rc;
	struct collect c = {o, fn, arg};
	rc = hnv_bgp_parse_neighbors(out, strlen(out), with_received, &c);
	free(out);
	if (rc == -EINVAL)
		hnv_seterr(err, errlen, "bgp: bgpd's neighbors are not the JSON expected");
	return rc;
}
