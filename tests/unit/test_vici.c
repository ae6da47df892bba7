/* test_vici.c: the VICI builder, framing and decoder against byte vectors
 * written by hand from strongSwan's vici README (not captured from our own
 * encoder) and against what a real charon sent (tests/data/vici/), every
 * truncation and structure error, and the command/event connections
 * against a scripted fake charon on a unix socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../vpn/vici.h"
#include "vici_rec.h"

/* CMD_REQUEST "version", no elements. */
static const uint8_t vec_version[] = {
	0x00, 0x00, 0x00, 0x09,                     /* length 9 */
	0x00,                                       /* CMD_REQUEST */
	0x07, 'v',  'e',  'r',  's', 'i', 'o', 'n', /* name */
};

/* CMD_REQUEST "load-shared" { id = t1  owners = [a, b]  s { k = v } } */
static const uint8_t vec_shared[] = {
	0x00, 0x00, 0x00, 0x30, /* length 48 */
	0x00,                   /* CMD_REQUEST */
	0x0b, 'l',  'o',  'a',  'd',  '-', 's',  'h',  'a', 'r',
	'e',  'd',  0x03, 0x02, 'i',  'd', 0x00, 0x02, 't', '1', /* KEY_VALUE id = t1 */
	0x04, 0x06, 'o',  'w',  'n',  'e', 'r',  's',            /* LIST_START owners */
	0x05, 0x00, 0x01, 'a',                                   /* LIST_ITEM a */
	0x05, 0x00, 0x01, 'b',                                   /* LIST_ITEM b */
	0x06,                                                    /* LIST_END */
	0x01, 0x01, 's',                                         /* SECTION_START s */
	0x03, 0x01, 'k',  0x00, 0x01, 'v',                       /* KEY_VALUE k = v */
	0x02,                                                    /* SECTION_END */
};
/* Packet lengths (after the prefix) at which vec_shared cut short is still
 * a balanced message: after the name, after "id", after the list. */
static const size_t shared_ok_cuts[] = {13, 21, 38};

/* CMD_RESPONSE { success = yes  errmsg = "" } */
static const uint8_t vec_response[] = {
	0x00, 0x00, 0x00, 0x19, /* length 25 */
	0x01,                   /* CMD_RESPONSE: no name */
	0x03, 0x07, 's',  'u',  'c', 'c', 'e', 's', 's', 0x00, 0x03, 'y',
	'e',  's',  0x03, 0x06, 'e', 'r', 'r', 'm', 's', 'g',  0x00, 0x00,
};
static const size_t response_ok_cuts[] = {1, 15};

/* EVENT_CONFIRM: type only. */
static const uint8_t vec_confirm[] = {0x00, 0x00, 0x00, 0x01, 0x05};

static void finish_ok(struct hnv_vici_buf *b)
{
	int rc = hnv_vici_buf_finish(b);
	if (rc)
		fail_msg("finish: %d", rc);
}

static void test_encode_vectors(void **state)
{
	(void)state;
	struct hnv_vici_buf b;
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, "version");
	finish_ok(&b);
	assert_int_equal(b.len, sizeof(vec_version));
	assert_memory_equal(b.data, vec_version, sizeof(vec_version));
	hnv_vici_buf_free(&b);

	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, "load-shared");
	hnv_vici_kv_str(&b, "id", "t1");
	hnv_vici_list_start(&b, "owners");
	hnv_vici_list_item_str(&b, "a");
	hnv_vici_list_item(&b, "b", 1);
	hnv_vici_list_end(&b);
	hnv_vici_section_start(&b, "s");
	hnv_vici_kv_fmt(&b, "k", "%c", 'v');
	hnv_vici_section_end(&b);
	finish_ok(&b);
	assert_int_equal(b.len, sizeof(vec_shared));
	assert_memory_equal(b.data, vec_shared, sizeof(vec_shared));
	hnv_vici_buf_free(&b);
	assert_null(b.data);

	hnv_vici_buf_init(&b, HNV_VICI_CMD_RESPONSE, NULL);
	hnv_vici_kv_str(&b, "success", "yes");
	hnv_vici_kv(&b, "errmsg", "", 0);
	finish_ok(&b);
	assert_memory_equal(b.data, vec_response, sizeof(vec_response));
	hnv_vici_buf_free(&b);

	hnv_vici_buf_init(&b, HNV_VICI_EVENT_CONFIRM, NULL);
	finish_ok(&b);
	assert_memory_equal(b.data, vec_confirm, sizeof(vec_confirm));
	hnv_vici_buf_free(&b);
}

static struct hnv_vici_msg *decode_vec(const uint8_t *v, size_t len)
{
	size_t n = 0;
	assert_int_equal(hnv_vici_frame(v, len, &n), 1);
	assert_int_equal(n, len - 4);
	struct hnv_vici_msg *m = NULL;
	int rc = hnv_vici_decode(v + 4, n, &m);
	if (rc)
		fail_msg("decode: %d", rc);
	return m;
}

static void test_decode_vectors(void **state)
{
	(void)state;
	struct hnv_vici_msg *m = decode_vec(vec_shared, sizeof(vec_shared));
	assert_int_equal(hnv_vici_msg_op(m), HNV_VICI_CMD_REQUEST);
	assert_string_equal(hnv_vici_msg_name(m), "load-shared");
	const struct hnv_vici_node *r = hnv_vici_msg_root(m), *n;
	assert_string_equal(hnv_vici_str(r, "id"), "t1");
	n = hnv_vici_find(r, "owners", HNV_VICI_N_LIST);
	assert_non_null(n);
	assert_int_equal(n->child->kind, HNV_VICI_N_ITEM);
	assert_string_equal(n->child->value, "a");
	assert_string_equal(n->child->next->value, "b");
	assert_null(n->child->next->next);
	n = hnv_vici_find(r, "s", HNV_VICI_N_SECTION);
	assert_non_null(n);
	assert_string_equal(hnv_vici_str(n, "k"), "v");
	assert_null(hnv_vici_str(r, "k")); /* only inside s */
	assert_null(hnv_vici_find(r, "id", HNV_VICI_N_SECTION));
	/* order of the top level: id, owners, s */
	assert_string_equal(r->child->name, "id");
	assert_string_equal(r->child->next->name, "owners");
	assert_string_equal(r->child->next->next->name, "s");
	assert_null(r->child->next->next->next);
	hnv_vici_msg_free(m);

	m = decode_vec(vec_response, sizeof(vec_response));
	assert_int_equal(hnv_vici_msg_op(m), HNV_VICI_CMD_RESPONSE);
	assert_string_equal(hnv_vici_msg_name(m), "");
	assert_true(hnv_vici_yes(hnv_vici_msg_root(m), "success"));
	assert_string_equal(hnv_vici_str(hnv_vici_msg_root(m), "errmsg"), "");
	hnv_vici_msg_free(m);

	m = decode_vec(vec_version, sizeof(vec_version));
	assert_string_equal(hnv_vici_msg_name(m), "version");
	assert_null(hnv_vici_msg_root(m)->child);
	hnv_vici_msg_free(m);

	m = decode_vec(vec_confirm, sizeof(vec_confirm));
	assert_int_equal(hnv_vici_msg_op(m), HNV_VICI_EVENT_CONFIRM);
	hnv_vici_msg_free(m);
}

static bool in(const size_t *set, size_t n, size_t v)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == v)
			return true;
	return false;
}

/* Every prefix of a stream is an incomplete frame; every prefix of a
 * packet is rejected unless it ends on a balanced element boundary. */
static void truncations(const uint8_t *v, size_t len, const size_t *ok, size_t nok)
{
	size_t n;
	for (size_t k = 0; k < len; k++)
		assert_int_equal(hnv_vici_frame(v, k, &n), 0);
	for (size_t k = 0; k < len - 4; k++) {
		struct hnv_vici_msg *m = NULL;
		int rc = hnv_vici_decode(v + 4, k, &m);
		if (in(ok, nok, k)) {
			if (rc)
				fail_msg("cut at %zu: %d, want a message", k, rc);
			hnv_vici_msg_free(m);
		} else {
			if (rc == 0)
				fail_msg("cut at %zu accepted", k);
			assert_true(rc == -EMSGSIZE || rc == -EINVAL);
			assert_null(m);
		}
	}
}

static void test_truncations(void **state)
{
	(void)state;
	truncations(vec_shared, sizeof(vec_shared), shared_ok_cuts, 3);
	truncations(vec_response, sizeof(vec_response), response_ok_cuts, 2);
	truncations(vec_version, sizeof(vec_version), NULL, 0);
	/* a frame announcing more than the maximum */
	const uint8_t big[] = {0x00, 0x08, 0x00, 0x01, 0x01};
	size_t n;
	assert_int_equal(hnv_vici_frame(big, sizeof(big), &n), -EMSGSIZE);
	const uint8_t max[] = {0x00, 0x08, 0x00, 0x00};
	assert_int_equal(hnv_vici_frame(max, sizeof(max), &n), 0); /* 512 KiB: wait */
	uint8_t *huge = calloc(1, HNV_VICI_MSG_MAX + 1);
	struct hnv_vici_msg *m;
	huge[0] = HNV_VICI_CMD_RESPONSE;
	assert_int_equal(hnv_vici_decode(huge, HNV_VICI_MSG_MAX + 1, &m), -EMSGSIZE);
	free(huge);
}

static int dec(const uint8_t *p, size_t n)
{
	struct hnv_vici_msg *m = NULL;
	int rc = hnv_vici_decode(p, n, &m);
	hnv_vici_msg_free(m);
	return rc;
}

#define DEC(...)                                                                                   \
	({                                                                                         \
		const uint8_t p_[] = {__VA_ARGS__};                                                \
		dec(p_, sizeof(p_));                                                               \
	})

static void test_structure_errors(void **state)
{
	(void)state;
	/* CMD_RESPONSE (1) followed by elements */
	assert_int_equal(DEC(1, 5, 0, 1, 'a'), -EINVAL);               /* item outside a list */
	assert_int_equal(DEC(1, 6), -EINVAL);                          /* list end outside */
	assert_int_equal(DEC(1, 2), -EINVAL);                          /* section end, none open */
	assert_int_equal(DEC(1, 1, 1, 's'), -EINVAL);                  /* unbalanced section */
	assert_int_equal(DEC(1, 4, 1, 'l'), -EINVAL);                  /* unterminated list */
	assert_int_equal(DEC(1, 4, 1, 'l', 4, 1, 'm', 6, 6), -EINVAL); /* nested list */
	assert_int_equal(DEC(1, 4, 1, 'l', 1, 1, 's', 2, 6), -EINVAL); /* section in a list */
	assert_int_equal(DEC(1, 4, 1, 'l', 3, 1, 'k', 0, 0, 6), -EINVAL); /* key in a list */
	assert_int_equal(DEC(1, 4, 1, 'l', 2, 6), -EINVAL);        /* section end in a list */
	assert_int_equal(DEC(1, 1, 1, 's', 6, 2), -EINVAL);        /* list end in a section */
	assert_int_equal(DEC(1, 0), -EINVAL);                      /* element type 0 */
	assert_int_equal(DEC(1, 7), -EINVAL);                      /* element type 7 */
	assert_int_equal(DEC(8), -EINVAL);                         /* packet type 8 */
	assert_int_equal(DEC(0, 0), -EINVAL);                      /* empty command name */
	assert_int_equal(DEC(5, 3, 1, 'k', 0, 0), -EINVAL);        /* confirm with elements */
	assert_int_equal(DEC(2, 0), -EINVAL);                      /* CMD_UNKNOWN + bytes */
	assert_int_equal(DEC(1, 3, 2, 'k', 0, 0, 0), -EINVAL);     /* NUL in a key name */
	assert_int_equal(DEC(1, 3, 1, 'k', 0, 2, 'v'), -EMSGSIZE); /* value runs past */
	assert_int_equal(DEC(1, 3, 9, 'k'), -EMSGSIZE);            /* name runs past */
	assert_int_equal(DEC(), -EMSGSIZE);                        /* nothing */
	assert_int_equal(DEC(7, 1, 'e'), 0);                       /* EVENT, no elements */
	assert_int_equal(DEC(1, 3, 1, 'k', 0, 3, 'a', 0, 'b'), 0); /* NUL in a value: fine */

	/* nesting: HNV_VICI_DEPTH_MAX sections are fine, one more is not */
	uint8_t deep[1 + 4 * (HNV_VICI_DEPTH_MAX + 1)];
	for (unsigned extra = 0; extra < 2; extra++) {
		unsigned d = HNV_VICI_DEPTH_MAX + extra;
		size_t k = 0;
		deep[k++] = 1;
		for (unsigned i = 0; i < d; i++) {
			deep[k++] = 1;
			deep[k++] = 1;
			deep[k++] = 's';
		}
		for (unsigned i = 0; i < d; i++)
			deep[k++] = 2;
		assert_int_equal(dec(deep, k), extra ? -EINVAL : 0);
	}

	/* a value holding NUL keeps its length */
	const uint8_t p[] = {1, 3, 1, 'k', 0, 3, 'a', 0, 'b'};
	struct hnv_vici_msg *m;
	assert_int_equal(hnv_vici_decode(p, sizeof(p), &m), 0);
	const struct hnv_vici_node *k = hnv_vici_find(hnv_vici_msg_root(m), "k", HNV_VICI_N_KV);
	assert_int_equal(k->vlen, 3);
	assert_memory_equal(k->value, "a\0b", 3);
	hnv_vici_msg_free(m);
}

static void test_builder_errors(void **state)
{
	(void)state;
	struct hnv_vici_buf b;
	char big[300];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;

	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, NULL); /* named type without name */
	assert_int_equal(hnv_vici_buf_finish(&b), -EINVAL);
	hnv_vici_buf_free(&b);
	hnv_vici_buf_init(&b, HNV_VICI_CMD_RESPONSE, "x"); /* unnamed type with a name */
	assert_int_equal(hnv_vici_buf_finish(&b), -EINVAL);
	hnv_vici_buf_free(&b);
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, "c");
	hnv_vici_list_item_str(&b, "a"); /* item outside a list */
	assert_int_equal(hnv_vici_buf_finish(&b), -EINVAL);
	hnv_vici_buf_free(&b);
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, "c");
	hnv_vici_section_end(&b);
	assert_int_equal(hnv_vici_buf_finish(&b), -EINVAL);
	hnv_vici_buf_free(&b);
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, "c");
	hnv_vici_section_start(&b, "s"); /* left open */
	assert_int_equal(hnv_vici_buf_finish(&b), -EINVAL);
	hnv_vici_buf_free(&b);
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, "c");
	hnv_vici_list_start(&b, "l");
	hnv_vici_kv_str(&b, "k", "v"); /* key in a list */
	hnv_vici_list_end(&b);
	assert_int_equal(hnv_vici_buf_finish(&b), -EINVAL);
	hnv_vici_buf_free(&b);
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, "c");
	hnv_vici_list_start(&b, "l");
	hnv_vici_list_start(&b, "m"); /* nested list */
	assert_int_equal(hnv_vici_buf_finish(&b), -EINVAL);
	hnv_vici_buf_free(&b);
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, "c");
	hnv_vici_kv_str(&b, big, "v"); /* name over 255 */
	assert_int_equal(hnv_vici_buf_finish(&b), -EINVAL);
	hnv_vici_buf_free(&b);
	hnv_vici_buf_init(&b, HNV_VICI_EVENT_CONFIRM, NULL);
	hnv_vici_kv_str(&b, "k", "v"); /* confirm carries no message */
	assert_int_equal(hnv_vici_buf_finish(&b), -EINVAL);
	hnv_vici_buf_free(&b);

	/* a value over 65535 bytes, and a packet over 512 KiB */
	size_t vlen = 70000;
	char *v = calloc(1, vlen);
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, "c");
	hnv_vici_kv(&b, "k", v, vlen);
	assert_int_equal(hnv_vici_buf_finish(&b), -EINVAL);
	hnv_vici_buf_free(&b);
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, "c");
	for (int i = 0; i < 9; i++)
		hnv_vici_kv(&b, "k", v, 65535);
	assert_int_equal(hnv_vici_buf_finish(&b), -EMSGSIZE);
	hnv_vici_buf_free(&b);
	free(v);
}

static void test_numbers(void **state)
{
	(void)state;
	struct hnv_vici_buf b;
	hnv_vici_buf_init(&b, HNV_VICI_CMD_RESPONSE, NULL);
	hnv_vici_kv_str(&b, "a", "123");
	hnv_vici_kv_str(&b, "b", "");
	hnv_vici_kv_str(&b, "c", "12a");
	hnv_vici_kv_str(&b, "d", "18446744073709551615");
	hnv_vici_kv_str(&b, "e", "18446744073709551616");
	hnv_vici_kv_str(&b, "f", "-1");
	finish_ok(&b);
	struct hnv_vici_msg *m = decode_vec(b.data, b.len);
	const struct hnv_vici_node *r = hnv_vici_msg_root(m);
	uint64_t v = 7;
	assert_int_equal(hnv_vici_u64(r, "a", &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(hnv_vici_u64(r, "b", &v), -EINVAL);
	assert_int_equal(hnv_vici_u64(r, "c", &v), -EINVAL);
	assert_int_equal(hnv_vici_u64(r, "d", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(hnv_vici_u64(r, "e", &v), -EINVAL);
	assert_int_equal(hnv_vici_u64(r, "f", &v), -EINVAL);
	assert_int_equal(hnv_vici_u64(r, "zz", &v), -ENOENT);
	assert_false(hnv_vici_yes(r, "a"));
	hnv_vici_msg_free(m);
	hnv_vici_buf_free(&b);
}

/* ---- a scripted fake charon ---- */

struct fake {
	int lfd;
	char path[108];
	pthread_t th;
};

/* Sends a finished buffer one byte per write: the client must reassemble. */
static void send_slow(int fd, struct hnv_vici_buf *b)
{
	assert_int_equal(hnv_vici_buf_finish(b), 0);
	for (size_t i = 0; i < b->len; i++)
		assert_int_equal(write(fd, b->data + i, 1), 1);
	hnv_vici_buf_free(b);
}

static void send_simple(int fd, enum hnv_vici_op op)
{
	struct hnv_vici_buf b;
	hnv_vici_buf_init(&b, op, NULL);
	send_slow(fd, &b);
}

static void list_sa_event(int fd, const char *ike)
{
	struct hnv_vici_buf b;
	hnv_vici_buf_init(&b, HNV_VICI_EVENT, "list-sa");
	hnv_vici_section_start(&b, ike);
	hnv_vici_kv_str(&b, "state", "ESTABLISHED");
	hnv_vici_section_end(&b);
	send_slow(fd, &b);
}

/* Serves one connection: confirms registrations (EVENT_UNKNOWN for
 * "bogus"; after "child-rekey" it sends an ike-updown event and hangs up),
 * streams two list-sa events and an unrelated one for list-sas, answers
 * "nope" with CMD_UNKNOWN and other commands with success = yes. */
static void serve(int fd)
{
	for (;;) {
		uint8_t hdr[4], *pkt;
		if (read_full(fd, hdr, 4))
			return;
		size_t n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | hdr[2] << 8 | hdr[3];
		pkt = malloc(n);
		if (read_full(fd, pkt, n)) {
			free(pkt);
			return;
		}
		struct hnv_vici_msg *m;
		assert_int_equal(hnv_vici_decode(pkt, n, &m), 0);
		free(pkt);
		const char *name = hnv_vici_msg_name(m);
		struct hnv_vici_buf b;
		switch (hnv_vici_msg_op(m)) {
		case HNV_VICI_EVENT_REGISTER:
		case HNV_VICI_EVENT_UNREGISTER:
			send_simple(fd, strcmp(name, "bogus") ? HNV_VICI_EVENT_CONFIRM
							      : HNV_VICI_EVENT_UNKNOWN);
			if (strcmp(name, "child-rekey") == 0) {
				hnv_vici_buf_init(&b, HNV_VICI_EVENT, "ike-updown");
				hnv_vici_kv_str(&b, "up", "yes");
				hnv_vici_section_start(&b, "hnvgw-t1");
				hnv_vici_section_end(&b);
				send_slow(fd, &b);
				hnv_vici_msg_free(m);
				return;
			}
			break;
		case HNV_VICI_CMD_REQUEST:
			if (strcmp(name, "nope") == 0) {
				send_simple(fd, HNV_VICI_CMD_UNKNOWN);
				break;
			}
			if (strcmp(name, "list-sas-slow") == 0) /* 600 ms in all */
				for (int i = 0; i < 4; i++) {
					usleep(150 * 1000);
					list_sa_event(fd, "s");
				}
			if (strcmp(name, "hang") == 0)
				usleep(600 * 1000);
			if (strcmp(name, "list-sas") == 0) {
				list_sa_event(fd, "a");
				hnv_vici_buf_init(&b, HNV_VICI_EVENT, "log");
				send_slow(fd, &b);
				list_sa_event(fd, "b");
			}
			hnv_vici_buf_init(&b, HNV_VICI_CMD_RESPONSE, NULL);
			hnv_vici_kv_str(&b, "success", strcmp(name, "fail") ? "yes" : "no");
			hnv_vici_kv_str(&b, "errmsg", "it failed");
			send_slow(fd, &b);
			break;
		default:
			break;
		}
		hnv_vici_msg_free(m);
	}
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	for (;;) {
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			return NULL;
		serve(fd);
		close(fd);
	}
}

static void fake_start(struct fake *f)
{
	snprintf(f->path, sizeof(f->path), "/tmp/test_vici.%d.sock", (int)getpid());
	unlink(f->path);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->path);
}

struct seen {
	unsigned n;
	char names[4][32];
	char events[4][32];
};

static void on_ev(void *arg, const char *event, const struct hnv_vici_msg *m)
{
	struct seen *s = arg;
	const struct hnv_vici_node *n = hnv_vici_msg_root(m)->child;
	while (n && n->kind != HNV_VICI_N_SECTION)
		n = n->next;
	if (s->n < 4) {
		snprintf(s->events[s->n], sizeof(s->events[0]), "%s", event);
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", n ? n->name : "");
	}
	s->n++;
}

static void cmd(struct hnv_vici_conn *c, const char *name, int want)
{
	struct hnv_vici_buf b;
	char err[64];
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, name);
	finish_ok(&b);
	assert_int_equal(hnv_vici_cmd_ok(c, &b, err, sizeof(err)), want);
	if (want == -EIO)
		assert_string_equal(err, "it failed");
	hnv_vici_buf_free(&b);
}

static void test_connections(void **state)
{
	(void)state;
	struct fake f;
	fake_start(&f);

	/* command connection: plain, failing, unknown and streamed commands */
	struct hnv_vici_conn *c;
	assert_int_equal(hnv_vici_connect(f.path, 5000, &c), 0);
	cmd(c, "version", 0);
	cmd(c, "fail", -EIO);
	cmd(c, "nope", -ENOENT);
	struct hnv_vici_buf b;
	struct hnv_vici_msg *resp;
	struct seen s = {0};
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, "list-sas");
	finish_ok(&b);
	assert_int_equal(hnv_vici_cmd_stream(c, &b, "list-sa", on_ev, &s, &resp), 0);
	hnv_vici_buf_free(&b);
	assert_true(hnv_vici_yes(hnv_vici_msg_root(resp), "success"));
	hnv_vici_msg_free(resp);
	assert_int_equal(s.n, 2); /* the "log" event is not handed out */
	assert_string_equal(s.names[0], "a");
	assert_string_equal(s.names[1], "b");
	cmd(c, "version", 0); /* still in step after the stream */
	/* a stream slower than the timeout in all but not between its
	 * events completes; a reply slower than the timeout does not */
	hnv_vici_set_timeout(c, 300);
	memset(&s, 0, sizeof(s));
	hnv_vici_buf_init(&b, HNV_VICI_CMD_REQUEST, "list-sas-slow");
	finish_ok(&b);
	assert_int_equal(hnv_vici_cmd_stream(c, &b, "list-sa", on_ev, &s, &resp), 0);
	hnv_vici_buf_free(&b);
	hnv_vici_msg_free(resp);
	assert_int_equal(s.n, 4);
	cmd(c, "hang", -ETIMEDOUT);
	usleep(400 * 1000); /* the fake's late reply lands before the close */
	hnv_vici_close(c);

	/* event connection: an unknown event name fails the open */
	const char *bad[] = {"ike-updown", "bogus"};
	assert_int_equal(hnv_vici_events_open(f.path, bad, 2, on_ev, &s, 5000, &c), -ENOENT);

	/* events arrive, then charon hangs up: -EPIPE */
	const char *names[] = {"ike-updown", "child-updown", "ike-rekey", "child-rekey"};
	memset(&s, 0, sizeof(s));
	assert_int_equal(hnv_vici_events_open(f.path, names, 4, on_ev, &s, 5000, &c), 0);
	int rc = 0;
	for (int i = 0; i < 200 && rc == 0; i++) {
		struct pollfd p = {.fd = hnv_vici_fd(c), .events = POLLIN};
		assert_true(poll(&p, 1, 5000) > 0);
		rc = hnv_vici_events_dispatch(c);
	}
	assert_int_equal(rc, -EPIPE);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.events[0], "ike-updown");
	assert_string_equal(s.names[0], "hnvgw-t1");
	hnv_vici_close(c);

	fake_stop(&f);
	/* nobody listening */
	assert_true(hnv_vici_connect(f.path, 100, &c) < 0);
}

/* ---- what a real charon sent (tests/data/vici/) ---- */

/* Decodes every packet of a recording into msgs (at most max); every
 * shorter cut of each packet fails cleanly or decodes (a cut at an element
 * boundary is a shorter message), never reads past the cut (ASan). */
static size_t decode_rec(const char *name, struct hnv_vici_msg **msgs, size_t max)
{
	struct vici_rec r;
	const uint8_t *pkt;
	size_t n, count = 0;
	vici_rec_load(name, &r);
	while (vici_rec_next(&r, &pkt, &n)) {
		for (size_t cut = 0; cut < n; cut++) {
			uint8_t *copy = malloc(cut ? cut : 1);
			memcpy(copy, pkt, cut);
			struct hnv_vici_msg *m = NULL;
			if (hnv_vici_decode(copy, cut, &m) == 0)
				hnv_vici_msg_free(m);
			free(copy);
		}
		assert_true(count < max);
		if (hnv_vici_decode(pkt, n, &msgs[count]))
			fail_msg("%s: packet %zu does not decode", name, count);
		count++;
	}
	vici_rec_free(&r);
	return count;
}

static void free_msgs(struct hnv_vici_msg **msgs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hnv_vici_msg_free(msgs[i]);
}

static const struct hnv_vici_node *sec(const struct hnv_vici_node *s, const char *name)
{
	const struct hnv_vici_node *n = hnv_vici_find(s, name, HNV_VICI_N_SECTION);
	if (!n)
		fail_msg("no section %s in %s", name, s->name);
	return n;
}

static void test_recorded(void **state)
{
	(void)state;
	struct hnv_vici_msg *m[16];
	uint64_t v;

	/* swanctl --list-conns: confirm, one list-conn event, the response */
	assert_int_equal(decode_rec("list-conns.s2c", m, 16), 3);
	assert_int_equal(hnv_vici_msg_op(m[0]), HNV_VICI_EVENT_CONFIRM);
	assert_int_equal(hnv_vici_msg_op(m[1]), HNV_VICI_EVENT);
	assert_string_equal(hnv_vici_msg_name(m[1]), "list-conn");
	assert_int_equal(hnv_vici_msg_op(m[2]), HNV_VICI_CMD_RESPONSE);
	const struct hnv_vici_node *conn = sec(hnv_vici_msg_root(m[1]), "hnvgw-t1");
	const struct hnv_vici_node *l = hnv_vici_find(conn, "local_addrs", HNV_VICI_N_LIST);
	assert_non_null(l);
	assert_non_null(l->child);
	assert_string_equal(l->child->value, "192.0.2.1");
	assert_null(l->child->next);
	assert_string_equal(hnv_vici_str(conn, "version"), "IKEv2");
	assert_string_equal(hnv_vici_str(conn, "unique"), "UNIQUE_REPLACE");
	assert_int_equal(hnv_vici_u64(conn, "dpd_delay", &v), 0);
	assert_int_equal(v, 5);
	assert_string_equal(hnv_vici_str(sec(conn, "remote-1"), "id"), "site.example");
	const struct hnv_vici_node *child = sec(sec(conn, "children"), "hnvgw-t1");
	assert_string_equal(hnv_vici_str(child, "close_action"), "start");
	l = hnv_vici_find(child, "remote-ts", HNV_VICI_N_LIST);
	assert_non_null(l);
	assert_string_equal(l->child->value, "192.168.0.0/16");
	/* an empty list is a list without items */
	l = hnv_vici_find(sec(conn, "local-1"), "certs", HNV_VICI_N_LIST);
	assert_non_null(l);
	assert_null(l->child);
	free_msgs(m, 3);

	/* swanctl --terminate: control-log events streamed before the answer */
	size_t n = decode_rec("terminate.s2c", m, 16);
	assert_int_equal(n, 9);
	for (size_t i = 1; i + 1 < n; i++) {
		assert_string_equal(hnv_vici_msg_name(m[i]), "control-log");
		assert_string_equal(hnv_vici_str(hnv_vici_msg_root(m[i]), "ikesa-name"), "hnvgw-t1");
	}
	assert_string_equal(hnv_vici_str(hnv_vici_msg_root(m[7]), "msg"), "IKE_SA deleted");
	const struct hnv_vici_node *resp = hnv_vici_msg_root(m[8]);
	assert_true(hnv_vici_yes(resp, "success"));
	assert_int_equal(hnv_vici_u64(resp, "terminated", &v), 0);
	assert_int_equal(v, 1);
	free_msgs(m, n);

	/* the manager's event connection: an ike-rekey event holds the old
	 * and the new IKE SA; the last ike-updown has no "up" (down) */
	n = decode_rec("manager-events.s2c", m, 16);
	assert_int_equal(n, 10);
	const char *want[] = {"ike-updown", "child-updown", "child-rekey",
			      "ike-rekey",  "ike-updown",   "child-updown"};
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(hnv_vici_msg_op(m[i]), HNV_VICI_EVENT_CONFIRM);
	for (size_t i = 4; i < n; i++)
		assert_string_equal(hnv_vici_msg_name(m[i]), want[i - 4]);
	assert_true(hnv_vici_yes(hnv_vici_msg_root(m[4]), "up"));
	assert_false(hnv_vici_yes(hnv_vici_msg_root(m[8]), "up"));
	const struct hnv_vici_node *ike = sec(hnv_vici_msg_root(m[7]), "hnvgw-t1");
	assert_string_equal(hnv_vici_str(sec(ike, "old"), "state"), "REKEYING");
	assert_string_equal(hnv_vici_str(sec(ike, "new"), "state"), "ESTABLISHED");
	assert_int_equal(hnv_vici_u64(sec(ike, "new"), "uniqueid", &v), 0);
	assert_int_equal(v, 2);
	free_msgs(m, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_vectors), cmocka_unit_test(test_decode_vectors),
		cmocka_unit_test(test_truncations),    cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_builder_errors), cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_connections),    cmocka_unit_test(test_recorded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
