/* fuzz_vici.c: libFuzzer harness for the VICI framing and decoder
 * (vpn/vici.c), the parsers that read what charon sends.
 *
 * 1. The input as a byte stream: hnv_vici_frame splits it into packets
 *    (never a length beyond what is there), each is decoded.
 * 2. The input as one packet: hnv_vici_decode.
 * Every decoded message is walked completely (names and values must be
 * NUL-terminated at their length), looked up through the helpers, and
 * re-encoded with the builder; the re-encoding must decode to the same
 * tree shape (a message the decoder accepts is one the builder can write).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vpn/vici.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

static size_t walk(const struct hnv_vici_node *s, struct hnv_vici_buf *b, int depth)
{
	size_t n = 0;
	for (const struct hnv_vici_node *c = s->child; c; c = c->next, n++) {
		if (strlen(c->name) > 255)
			abort();
		switch (c->kind) {
		case HNV_VICI_N_SECTION:
			if (depth >= HNV_VICI_DEPTH_MAX)
				abort();
			hnv_vici_section_start(b, c->name);
			n += walk(c, b, depth + 1);
			hnv_vici_section_end(b);
			break;
		case HNV_VICI_N_KV:
			if (c->value[c->vlen] != 0)
				abort();
			hnv_vici_kv(b, c->name, c->value, c->vlen);
			uint64_t v;
			(void)hnv_vici_u64(s, c->name, &v);
			(void)hnv_vici_yes(s, c->name);
			if (!hnv_vici_str(s, c->name))
				abort();
			break;
		case HNV_VICI_N_LIST:
			hnv_vici_list_start(b, c->name);
			for (const struct hnv_vici_node *i = c->child; i; i = i->next, n++) {
				if (i->kind != HNV_VICI_N_ITEM || i->value[i->vlen] != 0)
					abort();
				hnv_vici_list_item(b, i->value, i->vlen);
			}
			hnv_vici_list_end(b);
			break;
		default:
			abort();
		}
	}
	return n;
}

static size_t count(const struct hnv_vici_node *s)
{
	size_t n = 0;
	for (const struct hnv_vici_node *c = s->child; c; c = c->next)
		n += 1 +
		     (c->kind == HNV_VICI_N_SECTION || c->kind == HNV_VICI_N_LIST ? count(c) : 0);
	return n;
}

static void check(const uint8_t *p, size_t len)
{
	struct hnv_vici_msg *m;
	if (hnv_vici_decode(p, len, &m))
		return;
	enum hnv_vici_op op = hnv_vici_msg_op(m);
	const char *name = hnv_vici_msg_name(m);
	struct hnv_vici_buf b;
	hnv_vici_buf_init(&b, op, name[0] ? name : NULL);
	size_t n = walk(hnv_vici_msg_root(m), &b, 0);
	if (hnv_vici_buf_finish(&b) != 0)
		abort();
	/* the re-encoding is the input byte for byte: the format has one
	 * encoding per tree */
	if (b.len - 4 != len || memcmp(b.data + 4, p, len) != 0)
		abort();
	struct hnv_vici_msg *m2;
	if (hnv_vici_decode(b.data + 4, b.len - 4, &m2) != 0)
		abort();
	if (count(hnv_vici_msg_root(m2)) != n || hnv_vici_msg_op(m2) != op)
		abort();
	hnv_vici_msg_free(m2);
	hnv_vici_buf_free(&b);
	hnv_vici_msg_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	size_t off = 0, n;
	while (hnv_vici_frame(buf + off, len - off, &n) == 1) {
		check(buf + off + 4, n);
		off += 4 + n;
	}
	check(buf, len);
	return 0;
}
