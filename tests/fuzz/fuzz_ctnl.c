/* fuzz_ctnl.c: libFuzzer harness for the ctnetlink parser
 * (hnv_ct_parse in gateway/conntrack.c), which reads conntrack dump replies
 * from the kernel as untrusted input.
 *
 * 1. The input as it is: one message, then as a receive buffer holding a
 *    stream of messages (walked with libmnl's helpers plus the length
 *    check they miss, as the dump callback sees them).
 * 2. The input after its first 20 bytes (a netlink header and a nfgenmsg in
 *    the seeds) behind a correct CT_NEW header whose nlmsg_len covers it
 *    exactly, so mutations reach the attributes instead of failing the
 *    header check.
 * An accepted message must give a known family, a NUL-terminated state and
 * a formatted line; a refused one must say -EINVAL or -ENOENT. ASan and
 * UBSan catch any read outside the buffer (libFuzzer hands over exactly
 * len bytes).
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../gateway/conntrack.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

static void check(const void *msg, size_t len)
{
	struct hnv_ct ct;
	int rc = hnv_ct_parse(msg, len, &ct);
	if (rc == -EINVAL || rc == -ENOENT)
		return;
	if (rc != 0)
		abort();
	if (ct.family != AF_INET && ct.family != AF_INET6)
		abort();
	if (memchr(ct.state, '\0', sizeof(ct.state)) == NULL)
		abort();
	if (ct.family == AF_INET && (!hnv_ip_is_v4(&ct.src) || !hnv_ip_is_v4(&ct.tsrc)))
		abort();
	char line[256];
	hnv_ct_format(&ct, line, sizeof(line));
	if (memchr(line, '\0', sizeof(line)) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	check(buf, len);

	int left = len > INT32_MAX ? INT32_MAX : (int)len;
	for (const struct nlmsghdr *nlh = (const void *)buf; mnl_nlmsg_ok(nlh, left);
	     nlh = mnl_nlmsg_next(nlh, &left)) {
		/* mnl_nlmsg_ok compares nlmsg_len as an int: lengths of 2 GiB
		 * and more pass it */
		if (nlh->nlmsg_len > (uint32_t)left)
			break;
		/* a copy of exactly nlmsg_len bytes, aligned as the kernel's */
		void *m = malloc(nlh->nlmsg_len);
		if (m == NULL)
			abort();
		memcpy(m, nlh, nlh->nlmsg_len);
		check(m, nlh->nlmsg_len);
		free(m);
	}

	const size_t hdr = NLMSG_HDRLEN + sizeof(struct nfgenmsg);
	size_t body = len > hdr ? len - hdr : 0;
	if (body > 65535 - hdr)
		body = 65535 - hdr;
	uint8_t *m = malloc(hdr + body);
	if (m == NULL)
		abort();
	struct nlmsghdr nh = {
		.nlmsg_len = (uint32_t)(hdr + body),
		.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW,
		.nlmsg_flags = NLM_F_MULTI,
	};
	struct nfgenmsg g = {.nfgen_family = len > 16 ? buf[16] : AF_INET};
	memcpy(m, &nh, sizeof(nh));
	memcpy(m + NLMSG_HDRLEN, &g, sizeof(g));
	if (body > 0)
		memcpy(m + hdr, buf + hdr, body);
	check(m, hdr + body);
	free(m);
	return 0;
}
