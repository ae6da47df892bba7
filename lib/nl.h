/* nl.h: netlink for the control thread: one socket for request/reply
 * exchanges (libmnl), and the checked walk over the attributes of
 * untrusted netlink messages. Used by rtnetlink (gateway/rtnl.c),
 * nftables (gateway/nat.c) and ctnetlink (gateway/conntrack.c).
 *
 * Replies are untrusted input: hnv_nl_talk checks each reply's nlmsg_len
 * against the bytes received before a callback sees it (libmnl's
 * mnl_nlmsg_ok compares it as an int, so a length of 2 GiB or more would
 * pass), and the attribute walk checks every length against what is left
 * before anything is read.
 */
#ifndef HNV_NL_H
#define HNV_NL_H

#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Replies are read into 32 KiB: the kernel then fills each part of a dump
 * up to that size (it sizes them by the largest read so far), so a large
 * table takes few parts and a change to it rarely falls between two. */
#define HNV_NL_BUF_SIZE 32768

/* One socket, bound to an automatic port id; one thread at a time. */
struct hnv_nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq; /* the next sequence number */
	/* HNV_NL_BUF_SIZE bytes for replies; a request may be built in it
	 * too (it is sent before any reply is read into it) */
	char *buf;
};

/* Opens a close-on-exec socket of bus (NETLINK_ROUTE, NETLINK_NETFILTER,
 * ...). 0 or a negative errno; nl is zeroed on failure. */
int hnv_nl_open(struct hnv_nl *nl, int bus);
/* Closes it; a zeroed nl is fine. */
void hnv_nl_close(struct hnv_nl *nl);
int hnv_nl_fd(const struct hnv_nl *nl);

/* Sends the request nlh, giving it the next sequence number, and calls cb
 * (NULL: none) for each reply to it of a type >= NLMSG_MIN_TYPE, until the
 * ACK or the end of a dump; replies to other requests are skipped. cb
 * returns MNL_CB_OK, MNL_CB_STOP (no more calls; the replies are still
 * read to the end) or MNL_CB_ERROR (out of memory).
 * Returns 0; the kernel's error as a negative errno; -ENOMEM when cb
 * failed; -EINTR when the kernel marked the dump interrupted (the table
 * changed while it was read: what cb saw may be incomplete, so dump it
 * again); -EPROTO for a reply whose length is wrong; or the socket's
 * -errno. */
int hnv_nl_talk(struct hnv_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

/* ---- attributes ---- */

/* One attribute: its type (NLA_TYPE_MASK applied: without the nested and
 * byte-order flags) and payload. data is NULL for an absent one. */
struct hnv_nl_attr {
	uint16_t type;
	const uint8_t *data;
	size_t len;
};

/* A walk over the attributes in a byte range. */
struct hnv_nl_cursor {
	const uint8_t *p;
	size_t left;
};

static inline struct hnv_nl_cursor hnv_nl_cursor(const void *data, size_t len)
{
	return (struct hnv_nl_cursor){(const uint8_t *)data, len};
}

/* The attributes nested in a. */
static inline struct hnv_nl_cursor hnv_nl_nested(const struct hnv_nl_attr *a)
{
	return hnv_nl_cursor(a->data, a->len);
}

/* 1 and the next attribute in *a, 0 at the end, -EINVAL for an attribute
 * whose length is below its header or runs past the range, or for bytes
 * left over that cannot hold one (the last attribute may lack its
 * padding). */
int hnv_nl_next(struct hnv_nl_cursor *c, struct hnv_nl_attr *a);

/* Walks the whole range into tb[0..max] by type: an attribute repeats,
 * the last one counts; types above max are skipped. 0, or -EINVAL as
 * hnv_nl_next. */
int hnv_nl_index(struct hnv_nl_cursor c, struct hnv_nl_attr *tb, unsigned max);

/* Payload readers: 0, or -EINVAL when a's payload has another size.
 * be16/be32 convert from network order. */
int hnv_nl_u8(const struct hnv_nl_attr *a, uint8_t *v);
int hnv_nl_be16(const struct hnv_nl_attr *a, uint16_t *v);
int hnv_nl_be32(const struct hnv_nl_attr *a, uint32_t *v);
int hnv_nl_u32(const struct hnv_nl_attr *a, uint32_t *v);
/* A string payload (up to its first NUL, or all of it) into buf: 0, or
 * -EINVAL when it does not fit len - 1 bytes. */
int hnv_nl_str(const struct hnv_nl_attr *a, char *buf, size_t len);

#endif
