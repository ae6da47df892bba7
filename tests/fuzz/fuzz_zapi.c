/* fuzz_zapi.c: libFuzzer harness for the zebra API client (gateway/zapi.c)
 * and its decoders (gateway/zapi_codec.c), fed as zebra's byte stream.
 *
 * 1. The input is the stream zebra sends on a session of a client that
 *    holds desired routes in two VRFs, has redistribution on and GR
 *    registered: it goes through hnv_zapi_feed in chunks whose sizes come
 *    from the first input byte (messages split across reads). The client
 *    must survive anything: a corrupt header closes the session
 *    (-EPROTO), nothing else may fail; the redistribution callback's route
 *    must satisfy the decoder's promises; the stats must add up.
 * 2. Each pure decoder on the whole input: an accepted route has at most
 *    HNV_ZAPI_NH_MAX stored nexthops and a prefix length within its
 *    family; an accepted VRF/interface name is NUL-terminated.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../gateway/zapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

static void check_route(const struct hnv_zapi_route *r)
{
	if (r->n_nh > HNV_ZAPI_NH_MAX || r->n_nh > r->n_nh_total)
		abort();
	if (r->prefix.len > (hnv_ip_is_v4(&r->prefix.addr) ? 32 : 128))
		abort();
}

static void redist_cb(void *arg, bool add, const char *vrf, uint32_t vrf_id,
		      const struct hnv_zapi_route *r)
{
	(void)arg;
	(void)add;
	(void)vrf_id;
	if (strlen(vrf) >= HNV_ZAPI_VRF_NAMSIZ)
		abort();
	check_route(r);
}

static void log_cb(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	(void)msg;
}

static void drain(int fd)
{
	uint8_t b[65536];
	while (recv(fd, b, sizeof(b), MSG_DONTWAIT) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	/* 2. pure decoders */
	struct hnv_zapi_route *r = malloc(sizeof(*r));
	if (hnv_zapi_dec_route(buf, len, r) == 0)
		check_route(r);
	free(r);
	struct hnv_zapi_vrf_info v;
	if (hnv_zapi_dec_vrf_add(buf, len, &v) == 0 &&
	    (!memchr(v.name, 0, sizeof(v.name)) || !memchr(v.netns, 0, sizeof(v.netns))))
		abort();
	struct hnv_zapi_if i;
	if (hnv_zapi_dec_interface(buf, len, &i) == 0 && !memchr(i.name, 0, sizeof(i.name)))
		abort();
	struct hnv_zapi_notify n;
	if (hnv_zapi_dec_notify(buf, len, &n) == 0 && n.note > 4)
		abort();
	struct hnv_zapi_caps c;
	(void)hnv_zapi_dec_capabilities(buf, len, &c);

	/* 1. the stream */
	if (len < 1)
		return 0;
	size_t chunk = (size_t)buf[0] * 16 + 1;
	buf++;
	len--;
	struct hnv_zapi_opts o = {
		.path = "/nonexistent/zserv.api",
		.frr_version = "8.4.4",
		.gr_stale_time = 30,
		.redist_cb = redist_cb,
		.log = log_cb,
	};
	struct hnv_zapi *z = hnv_zapi_new(&o);
	if (!z)
		abort();
	struct hnv_prefix p;
	memset(&p, 0, sizeof(p));
	uint8_t a[4] = {10, 1, 0, 0};
	hnv_ip_from_v4(&p.addr, a);
	p.len = 16;
	struct hnv_zapi_nh nh = {.type = HNV_ZAPI_NH_IFINDEX, .ifindex = 2};
	if (hnv_zapi_route_set(z, "default", &p, &nh, 150, 0) != 0 ||
	    hnv_zapi_route_set(z, "blue", &p, &nh, 20, 1) != 0 || hnv_zapi_redistribute(z, 1, 3))
		abort();
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0)
		abort();
	if (hnv_zapi_attach_fd(z, sp[0]) != 0)
		abort();
	bool closed = false;
	for (size_t off = 0; off < len && !closed; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		int rc = hnv_zapi_feed(z, buf + off, n);
		if (rc == -EPROTO)
			closed = true;
		else if (rc != 0)
			abort();
		drain(sp[1]);
	}
	struct hnv_zapi_stats st;
	hnv_zapi_get_stats(z, &st);
	if (st.routes != 2 ||
	    st.routes_wait_vrf + st.routes_sent + st.routes_installed + st.routes_failed != 2)
		abort();
	if (closed != (hnv_zapi_fd(z) < 0))
		abort();
	if (hnv_zapi_route_del(z, "blue", &p) != 0)
		abort();
	hnv_zapi_routes_flush(z);
	hnv_zapi_free(z);
	close(sp[1]);
	return 0;
}
