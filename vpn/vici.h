/* vici.h: a client for strongSwan's VICI protocol (charon 5.9.8).
 *
 * Wire format (strongSwan src/libcharon/plugins/vici/README.md):
 *   transport: u32 big-endian length of the packet, then the packet;
 *              at most HNV_VICI_MSG_MAX bytes
 *   packet:    u8 type; named types add u8 name length + name;
 *              CMD_REQUEST, CMD_RESPONSE and EVENT carry a message
 *   message:   elements, each a u8 type:
 *              SECTION_START name8 | SECTION_END | KEY_VALUE name8 value16 |
 *              LIST_START name8 | LIST_ITEM value16 | LIST_END
 *              (name8: u8 length + bytes; value16: u16 BE length + bytes)
 *   Sections balance, lists hold only items and do not nest.
 *
 * Three parts:
 *   builder    hnv_vici_buf: one packet, length prefix included, ready to
 *              send; errors are sticky and reported by hnv_vici_buf_finish.
 *   decoder    hnv_vici_decode: validates a packet completely (every length
 *              against what is left, nesting, names), then builds a tree of
 *              hnv_vici_node that the walker functions read.
 *   connection hnv_vici_conn: a command connection (one command at a time,
 *              blocking with a timeout) or an event connection (registered
 *              once, then read without blocking whenever its fd polls
 *              readable).
 */
#ifndef HNV_VICI_H
#define HNV_VICI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HNV_VICI_MSG_MAX (512u * 1024u) /* packet bytes, without the length */
#define HNV_VICI_DEPTH_MAX 32           /* section nesting we accept */
#define HNV_VICI_DEFAULT_SOCKET "/var/run/charon.vici"

enum hnv_vici_op {
	HNV_VICI_CMD_REQUEST = 0,
	HNV_VICI_CMD_RESPONSE = 1,
	HNV_VICI_CMD_UNKNOWN = 2,
	HNV_VICI_EVENT_REGISTER = 3,
	HNV_VICI_EVENT_UNREGISTER = 4,
	HNV_VICI_EVENT_CONFIRM = 5,
	HNV_VICI_EVENT_UNKNOWN = 6,
	HNV_VICI_EVENT = 7,
};

enum hnv_vici_elem {
	HNV_VICI_SECTION_START = 1,
	HNV_VICI_SECTION_END = 2,
	HNV_VICI_KEY_VALUE = 3,
	HNV_VICI_LIST_START = 4,
	HNV_VICI_LIST_ITEM = 5,
	HNV_VICI_LIST_END = 6,
};

/* ---- builder ---- */

/* A packet under construction. data holds the u32 length prefix too. The
 * first error (-ENOMEM, -EMSGSIZE, -EINVAL for a misplaced element or a
 * name/value too long) sticks in err; later calls do nothing. */
struct hnv_vici_buf {
	uint8_t *data;
	size_t len, cap;
	int err;
	unsigned depth; /* open sections */
	bool in_list;
	bool has_msg; /* the packet type carries a message */
};

/* Starts a packet of type op. name is required exactly for the named types
 * (CMD_REQUEST, EVENT_REGISTER, EVENT_UNREGISTER, EVENT), else NULL. */
void hnv_vici_buf_init(struct hnv_vici_buf *b, enum hnv_vici_op op, const char *name);
/* Clears (explicit_bzero: it may hold a secret) and frees the buffer. */
void hnv_vici_buf_free(struct hnv_vici_buf *b);

void hnv_vici_section_start(struct hnv_vici_buf *b, const char *name);
void hnv_vici_section_end(struct hnv_vici_buf *b);
/* A key with a byte-string value (len <= 65535). */
void hnv_vici_kv(struct hnv_vici_buf *b, const char *key, const void *val, size_t len);
void hnv_vici_kv_str(struct hnv_vici_buf *b, const char *key, const char *val);
void hnv_vici_kv_fmt(struct hnv_vici_buf *b, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void hnv_vici_list_start(struct hnv_vici_buf *b, const char *name);
void hnv_vici_list_item(struct hnv_vici_buf *b, const void *val, size_t len);
void hnv_vici_list_item_str(struct hnv_vici_buf *b, const char *val);
void hnv_vici_list_end(struct hnv_vici_buf *b);
/* Closes the packet: checks balance, writes the length prefix. Returns 0
 * or the first error; -EINVAL for an open section or list. */
int hnv_vici_buf_finish(struct hnv_vici_buf *b);

/* ---- framing ---- */

/* Looks at the start of a byte stream: 1 and the packet's length (without
 * the 4-byte prefix) in *pkt_len when a whole packet is there, 0 when more
 * bytes are needed, -EMSGSIZE when the announced length exceeds
 * HNV_VICI_MSG_MAX. */
int hnv_vici_frame(const uint8_t *buf, size_t len, size_t *pkt_len);

/* ---- decoder ---- */

enum hnv_vici_kind {
	HNV_VICI_N_SECTION = 1,
	HNV_VICI_N_KV,
	HNV_VICI_N_LIST,
	HNV_VICI_N_ITEM,
};

/* A node of a decoded message. Names and values are NUL-terminated copies;
 * vlen counts the value's bytes (a value may itself hold NUL bytes). A
 * section's children are its elements in order, a list's its items. */
struct hnv_vici_node {
	enum hnv_vici_kind kind;
	const char *name;  /* "" for items and the root */
	const char *value; /* KV and ITEM; else NULL */
	size_t vlen;
	const struct hnv_vici_node *child, *next;
};

struct hnv_vici_msg; /* opaque: a decoded packet */

/* Decodes one packet (without the u32 length prefix). Returns 0 and a
 * message to free with hnv_vici_msg_free, or -EMSGSIZE (a length runs past
 * the end or the packet exceeds HNV_VICI_MSG_MAX), -EINVAL (unknown type or
 * element, an element where it is not allowed, unbalanced sections, bytes
 * after a packet type without a message), -ENOMEM. */
int hnv_vici_decode(const uint8_t *pkt, size_t len, struct hnv_vici_msg **out);
/* Clears (values may be secrets) and frees; NULL is fine. */
void hnv_vici_msg_free(struct hnv_vici_msg *m);

enum hnv_vici_op hnv_vici_msg_op(const struct hnv_vici_msg *m);
const char *hnv_vici_msg_name(const struct hnv_vici_msg *m); /* "" when unnamed */
/* The root section (no name); its children are the message's top level. */
const struct hnv_vici_node *hnv_vici_msg_root(const struct hnv_vici_msg *m);

/* First child of section s with this name and kind, or NULL. */
const struct hnv_vici_node *hnv_vici_find(const struct hnv_vici_node *s, const char *name,
					  enum hnv_vici_kind kind);
/* Value of key in section s, or NULL. */
const char *hnv_vici_str(const struct hnv_vici_node *s, const char *key);
/* True when key is "yes". */
bool hnv_vici_yes(const struct hnv_vici_node *s, const char *key);
/* A decimal value: 0, -ENOENT when absent, -EINVAL when not a number. */
int hnv_vici_u64(const struct hnv_vici_node *s, const char *key, uint64_t *out);

/* ---- connections ---- */

struct hnv_vici_conn;

/* Called for each EVENT packet: on an event connection for the registered
 * names, on a command connection for the streamed event of the running
 * command. The message belongs to the caller of the callback. */
typedef void (*hnv_vici_event_fn)(void *arg, const char *event, const struct hnv_vici_msg *m);

/* Command connection to the unix socket path. 0, or a negative errno from
 * socket/connect. timeout_ms bounds each later command. */
int hnv_vici_connect(const char *path, int timeout_ms, struct hnv_vici_conn **out);
/* Changes the bound of c's later commands (c NULL or timeout_ms <= 0: no
 * change). A command that streams events may take longer in all: each
 * streamed event starts a new timeout. */
void hnv_vici_set_timeout(struct hnv_vici_conn *c, int timeout_ms);
/* Closes c (NULL is fine). An event connection still in step first
 * unregisters its events, waiting at most 2 s (less when its timeout is
 * shorter) for charon's confirmations and handing events that arrive
 * meanwhile to its callback: charon keeps a closed subscriber for a while
 * and logs, at level 1, every event it cannot deliver to it, which for a
 * "log" subscriber is a loop. A connection out of step (after a timeout,
 * a failed send, a packet that does not decode) or closed by charon is
 * closed at once. */
void hnv_vici_close(struct hnv_vici_conn *c);
int hnv_vici_fd(const struct hnv_vici_conn *c);

/* Sends the finished request req and waits for its CMD_RESPONSE. Returns 0
 * with *resp (free it), -ENOENT for CMD_UNKNOWN, -ETIMEDOUT, -EPIPE when
 * charon closed the socket, -EPROTO for a reply that is no response or
 * does not decode. After -ETIMEDOUT, -EPIPE or -EPROTO the connection is
 * out of step: close it. */
int hnv_vici_cmd(struct hnv_vici_conn *c, const struct hnv_vici_buf *req,
		 struct hnv_vici_msg **resp);
/* A streamed command (list-sas with "list-sa", list-conns with
 * "list-conn"): registers event, sends req, hands every such event to fn
 * until the CMD_RESPONSE, unregisters. Returns like hnv_vici_cmd. */
int hnv_vici_cmd_stream(struct hnv_vici_conn *c, const struct hnv_vici_buf *req, const char *event,
			hnv_vici_event_fn fn, void *arg, struct hnv_vici_msg **resp);
/* A command answered with success = yes / errmsg. 0 on success; -EIO with
 * charon's errmsg (truncated) in err otherwise; other errors as above. */
int hnv_vici_cmd_ok(struct hnv_vici_conn *c, const struct hnv_vici_buf *req, char *err,
		    size_t errlen);

/* Event connection: connects and registers each of the n names (waiting for
 * each confirmation, timeout_ms each), then switches the socket to
 * non-blocking. fn receives the events, also those arriving while
 * registering. -ENOENT when charon does not know an event name. */
int hnv_vici_events_open(const char *path, const char *const *names, size_t n, hnv_vici_event_fn fn,
			 void *arg, int timeout_ms, struct hnv_vici_conn **out);
/* Reads what is available without blocking and dispatches every complete
 * event. Returns 0, -EPIPE when charon closed the socket (reconnect), or
 * -EPROTO for a packet that does not decode (reconnect too). */
int hnv_vici_events_dispatch(struct hnv_vici_conn *c);

#endif
