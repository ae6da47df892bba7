/* steer.c: the steering hash and its classic BPF programs (steer.h): the
 * per-socket filter and the fanout program.
 *
 * The hash: h = SEED; h = mix(h, VSID); then per inner word w (IPv4:
 * source, destination, ports; IPv6: source and destination as four words
 * each, ports) h = mix(h, w); the result is fin(h). mix is (h ^ w) * MULT,
 * fin the murmur3 finalizer: both need only what classic BPF has (32-bit
 * xor, multiply, shift), and fin spreads every input bit into the low
 * bits that h % n reads. Words are read big-endian, as BPF_LD loads them.
 *
 * The programs walk the same steps in the same order (emit_hash), with
 * the same length checks before each load: a classic BPF load past the end
 * would end the program with 0 (a filter: dropped on every thread; the
 * fanout program: thread 0, whatever the hash says).
 * Registers: X holds the offset of the GRE header (M[O]) while words are
 * loaded; the running hash lives in M[H]; M[IHL] the inner IPv4 header
 * length.
 */
#include "steer.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <stdbool.h>

#define SEED 0x2545f491u
#define MULT 0x9e3779b1u
#define FIN1 0x85ebca6bu
#define FIN2 0xc2b2ae35u

#define GRE_FLAGS_KEY 0x2000 /* key present, nothing else: NVGRE */
#define GRE_TEB 0x6558
#define ETH_LEN 14
#define GRE_LEN 8
#define INNER (GRE_LEN + ETH_LEN) /* GRE header to inner IP header */

static uint32_t mix(uint32_t h, uint32_t w)
{
	return (h ^ w) * MULT;
}

static uint32_t fin(uint32_t h)
{
	h ^= h >> 16;
	h *= FIN1;
	h ^= h >> 13;
	h *= FIN2;
	h ^= h >> 16;
	return h;
}

static uint32_t rd16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool l4_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

uint32_t hnv_steer_hash(const uint8_t *p, size_t len)
{
	size_t o;
	if (len < 20)
		return 0;
	if (p[0] >> 4 == 4) {
		if ((rd16(p + 6) & 0x3fff) || p[9] != IPPROTO_GRE || (p[0] & 15) * 4 < 20)
			return 0;
		o = (size_t)(p[0] & 15) * 4;
	} else if (p[0] >> 4 == 6) {
		if (len < 40 || p[6] != IPPROTO_GRE)
			return 0;
		o = 40;
	} else {
		return 0;
	}
	if (len < o + INNER || rd16(p + o) != GRE_FLAGS_KEY || rd16(p + o + 2) != GRE_TEB)
		return 0;
	uint32_t h = mix(SEED, rd32(p + o + 4) >> 8);
	size_t i = o + INNER;
	uint32_t et = rd16(p + o + GRE_LEN + 12);
	if (et == ETH_P_IP) {
		if (len < i + 20 || (p[i] & 15) * 4 < 20)
			return fin(h);
		size_t ihl = (size_t)(p[i] & 15) * 4;
		h = mix(h, rd32(p + i + 12));
		h = mix(h, rd32(p + i + 16));
		if ((rd16(p + i + 6) & 0x3fff) || !l4_ports(p[i + 9]) || len < i + ihl + 4)
			return fin(h);
		h = mix(h, rd32(p + i + ihl));
	} else if (et == ETH_P_IPV6) {
		if (len < i + 40)
			return fin(h);
		for (size_t k = 0; k < 8; k++)
			h = mix(h, rd32(p + i + 8 + 4 * k));
		if (!l4_ports(p[i + 6]) || len < i + 44)
			return fin(h);
		h = mix(h, rd32(p + i + 40));
	}
	return fin(h);
}

/* ---- the filter ---- */

enum lbl {
	L_NONE,
	L_STEER, /* HNV_STEER_ETH: the frame is NVGRE to this host */
	L_E6,    /* HNV_STEER_ETH: not IPv4 */
	L_V4,
	L_GRE,
	L_IN4,
	L_IN6,
	L_P4,
	L_P6,
	L_FIN,
	L_H0,
	L_TAIL,
	L_ACCEPT,
	L_DROP,
	L__COUNT
};

enum {
	M_O,
	M_H,
	M_IHL
}; /* scratch memory slots */

struct prog {
	struct sock_filter *c;
	unsigned n;
	bool overflow;
	int at[L__COUNT];
	uint8_t jt[HNV_STEER_PROG_MAX], jf[HNV_STEER_PROG_MAX]; /* enum lbl; L_NONE: next */
	bool ja[HNV_STEER_PROG_MAX];                            /* k is an enum lbl */
};

static void op(struct prog *p, uint16_t code, uint32_t k)
{
	if (p->n >= HNV_STEER_PROG_MAX) {
		p->overflow = true;
		return;
	}
	p->jt[p->n] = p->jf[p->n] = L_NONE;
	p->ja[p->n] = false;
	p->c[p->n++] = (struct sock_filter)BPF_STMT(code, k);
}

/* A conditional jump on A: to t when true, f when false (L_NONE: the next
 * instruction). */
static void jmp(struct prog *p, uint16_t code, uint32_t k, enum lbl t, enum lbl f)
{
	op(p, BPF_JMP | code, k);
	if (!p->overflow) {
		p->jt[p->n - 1] = (uint8_t)t;
		p->jf[p->n - 1] = (uint8_t)f;
	}
}

static void go(struct prog *p, enum lbl l)
{
	op(p, BPF_JMP | BPF_JA, l);
	if (!p->overflow)
		p->ja[p->n - 1] = true;
}

static void label(struct prog *p, enum lbl l)
{
	p->at[l] = (int)p->n;
}

/* Demands len >= X + k, else goes to fail; then X = M[restore]. */
static void need_x(struct prog *p, uint32_t k, enum lbl fail, int restore)
{
	op(p, BPF_MISC | BPF_TXA, 0);
	op(p, BPF_ALU | BPF_ADD | BPF_K, k);
	op(p, BPF_MISC | BPF_TAX, 0);
	op(p, BPF_LD | BPF_W | BPF_LEN, 0);
	jmp(p, BPF_JGE | BPF_X, 0, L_NONE, fail);
	op(p, BPF_LDX | BPF_MEM, (uint32_t)restore);
}

/* h = mix(h, A); X is restored to the GRE offset. */
static void emit_mix(struct prog *p)
{
	op(p, BPF_LDX | BPF_MEM, M_H);
	op(p, BPF_ALU | BPF_XOR | BPF_X, 0);
	op(p, BPF_ALU | BPF_MUL | BPF_K, MULT);
	op(p, BPF_ST, M_H);
	op(p, BPF_LDX | BPF_MEM, M_O);
}

/* Jumps to t when A is TCP or UDP, else to f. */
static void emit_ports_proto(struct prog *p, enum lbl t, enum lbl f)
{
	jmp(p, BPF_JEQ | BPF_K, IPPROTO_TCP, t, L_NONE);
	jmp(p, BPF_JEQ | BPF_K, IPPROTO_UDP, t, f);
}

/* The steps of hnv_steer_hash for an outer IP header at offset b: ends at
 * L_TAIL (placed by the caller) with A = the hash (0 from L_H0). */
static void emit_hash(struct prog *p, uint32_t b)
{
	op(p, BPF_LD | BPF_W | BPF_LEN, 0);
	jmp(p, BPF_JGE | BPF_K, b + 20, L_NONE, L_H0);
	op(p, BPF_LD | BPF_B | BPF_ABS, b);
	op(p, BPF_ALU | BPF_RSH | BPF_K, 4);
	jmp(p, BPF_JEQ | BPF_K, 4, L_V4, L_NONE);
	jmp(p, BPF_JEQ | BPF_K, 6, L_NONE, L_H0);
	/* outer IPv6 */
	op(p, BPF_LD | BPF_W | BPF_LEN, 0);
	jmp(p, BPF_JGE | BPF_K, b + 40, L_NONE, L_H0);
	op(p, BPF_LD | BPF_B | BPF_ABS, b + 6);
	jmp(p, BPF_JEQ | BPF_K, IPPROTO_GRE, L_NONE, L_H0);
	op(p, BPF_LDX | BPF_IMM, b + 40);
	go(p, L_GRE);
	/* outer IPv4 */
	label(p, L_V4);
	op(p, BPF_LD | BPF_H | BPF_ABS, b + 6);
	jmp(p, BPF_JSET | BPF_K, 0x3fff, L_H0, L_NONE);
	op(p, BPF_LD | BPF_B | BPF_ABS, b + 9);
	jmp(p, BPF_JEQ | BPF_K, IPPROTO_GRE, L_NONE, L_H0);
	op(p, BPF_LDX | BPF_B | BPF_MSH, b);
	op(p, BPF_MISC | BPF_TXA, 0);
	jmp(p, BPF_JGE | BPF_K, 20, L_NONE, L_H0);
	op(p, BPF_ALU | BPF_ADD | BPF_K, b);
	op(p, BPF_MISC | BPF_TAX, 0);
	/* GRE at X */
	label(p, L_GRE);
	op(p, BPF_STX, M_O);
	need_x(p, INNER, L_H0, M_O);
	op(p, BPF_LD | BPF_H | BPF_IND, 0);
	jmp(p, BPF_JEQ | BPF_K, GRE_FLAGS_KEY, L_NONE, L_H0);
	op(p, BPF_LD | BPF_H | BPF_IND, 2);
	jmp(p, BPF_JEQ | BPF_K, GRE_TEB, L_NONE, L_H0);
	op(p, BPF_LD | BPF_W | BPF_IND, 4);
	op(p, BPF_ALU | BPF_RSH | BPF_K, 8);
	op(p, BPF_ALU | BPF_XOR | BPF_K, SEED);
	op(p, BPF_ALU | BPF_MUL | BPF_K, MULT);
	op(p, BPF_ST, M_H);
	op(p, BPF_LD | BPF_H | BPF_IND, GRE_LEN + 12);
	jmp(p, BPF_JEQ | BPF_K, ETH_P_IP, L_IN4, L_NONE);
	jmp(p, BPF_JEQ | BPF_K, ETH_P_IPV6, L_IN6, L_FIN);
	/* inner IPv4 at X + INNER */
	label(p, L_IN4);
	need_x(p, INNER + 20, L_FIN, M_O);
	op(p, BPF_LD | BPF_B | BPF_IND, INNER);
	op(p, BPF_ALU | BPF_AND | BPF_K, 15);
	op(p, BPF_ALU | BPF_LSH | BPF_K, 2);
	jmp(p, BPF_JGE | BPF_K, 20, L_NONE, L_FIN);
	op(p, BPF_ST, M_IHL);
	op(p, BPF_LD | BPF_W | BPF_IND, INNER + 12);
	emit_mix(p);
	op(p, BPF_LD | BPF_W | BPF_IND, INNER + 16);
	emit_mix(p);
	op(p, BPF_LD | BPF_H | BPF_IND, INNER + 6);
	jmp(p, BPF_JSET | BPF_K, 0x3fff, L_FIN, L_NONE);
	op(p, BPF_LD | BPF_B | BPF_IND, INNER + 9);
	emit_ports_proto(p, L_P4, L_FIN);
	label(p, L_P4);
	/* X = GRE offset + inner IHL: the ports at X + INNER */
	op(p, BPF_LD | BPF_MEM, M_IHL);
	op(p, BPF_ALU | BPF_ADD | BPF_X, 0);
	op(p, BPF_ST, M_IHL);
	op(p, BPF_MISC | BPF_TAX, 0);
	need_x(p, INNER + 4, L_FIN, M_IHL);
	op(p, BPF_LD | BPF_W | BPF_IND, INNER);
	emit_mix(p);
	go(p, L_FIN);
	/* inner IPv6 at X + INNER */
	label(p, L_IN6);
	need_x(p, INNER + 40, L_FIN, M_O);
	for (uint32_t k = 0; k < 8; k++) {
		op(p, BPF_LD | BPF_W | BPF_IND, INNER + 8 + 4 * k);
		emit_mix(p);
	}
	op(p, BPF_LD | BPF_B | BPF_IND, INNER + 6);
	emit_ports_proto(p, L_P6, L_FIN);
	label(p, L_P6);
	need_x(p, INNER + 44, L_FIN, M_O);
	op(p, BPF_LD | BPF_W | BPF_IND, INNER + 40);
	emit_mix(p);
	/* A = fin(h) */
	label(p, L_FIN);
	op(p, BPF_LD | BPF_MEM, M_H);
	static const uint32_t steps[][2] = {{16, FIN1}, {13, FIN2}, {16, 0}};
	for (size_t s = 0; s < 3; s++) {
		op(p, BPF_MISC | BPF_TAX, 0);
		op(p, BPF_ALU | BPF_RSH | BPF_K, steps[s][0]);
		op(p, BPF_ALU | BPF_XOR | BPF_X, 0);
		if (steps[s][1])
			op(p, BPF_ALU | BPF_MUL | BPF_K, steps[s][1]);
	}
	go(p, L_TAIL);
	label(p, L_H0);
	op(p, BPF_LD | BPF_IMM, 0);
}

/* Resolves the labels of p into code; its length, or -E2BIG. */
static int resolve(struct prog *p)
{
	struct sock_filter *code = p->c;
	if (p->overflow)
		return -E2BIG;
	for (unsigned i = 0; i < p->n; i++) {
		int t = p->ja[i]             ? p->at[code[i].k]
			: p->jt[i] != L_NONE ? p->at[p->jt[i]]
					     : (int)i + 1;
		int f = p->jf[i] != L_NONE ? p->at[p->jf[i]] : (int)i + 1;
		if (p->ja[i]) {
			code[i].k = (uint32_t)(t - (int)i - 1);
			continue;
		}
		if (BPF_CLASS(code[i].code) != BPF_JMP)
			continue;
		if (t <= (int)i || f <= (int)i || t - (int)i - 1 > 255 || f - (int)i - 1 > 255)
			return -E2BIG; /* a label not placed or too far: a bug here */
		code[i].jt = (uint8_t)(t - (int)i - 1);
		code[i].jf = (uint8_t)(f - (int)i - 1);
	}
	return (int)p->n;
}

static void prog_init(struct prog *p, struct sock_filter *code)
{
	*p = (struct prog){.c = code};
	for (unsigned l = 0; l < L__COUNT; l++)
		p->at[l] = -1;
}

int hnv_steer_filter(struct sock_filter *code, enum hnv_steer_sock sock, unsigned thread,
		     unsigned n)
{
	if (n < 1 || n > HNV_STEER_THREADS_MAX || thread >= n)
		return -EINVAL;
	struct prog p;
	prog_init(&p, code);
	if (sock == HNV_STEER_ETH) {
		/* to this host; IPv4 protocol 47 or IPv6 next header 47 */
		op(&p, BPF_LD | BPF_B | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE));
		jmp(&p, BPF_JEQ | BPF_K, PACKET_HOST, L_NONE, L_DROP);
		op(&p, BPF_LD | BPF_H | BPF_ABS, 12);
		jmp(&p, BPF_JEQ | BPF_K, ETH_P_IP, L_NONE, L_E6);
		op(&p, BPF_LD | BPF_B | BPF_ABS, ETH_LEN + 9);
		jmp(&p, BPF_JEQ | BPF_K, IPPROTO_GRE, L_STEER, L_DROP);
		label(&p, L_E6);
		jmp(&p, BPF_JEQ | BPF_K, ETH_P_IPV6, L_NONE, L_DROP);
		op(&p, BPF_LD | BPF_B | BPF_ABS, ETH_LEN + 6);
		jmp(&p, BPF_JEQ | BPF_K, IPPROTO_GRE, L_STEER, L_DROP);
	}
	label(&p, L_STEER);
	if (n > 1) {
		emit_hash(&p, sock == HNV_STEER_ETH ? ETH_LEN : 0);
		label(&p, L_TAIL);
		op(&p, BPF_ALU | BPF_MOD | BPF_K, n);
		jmp(&p, BPF_JEQ | BPF_K, thread, L_ACCEPT, L_DROP);
	}
	label(&p, L_ACCEPT);
	op(&p, BPF_RET | BPF_K, 0xffffffffu);
	label(&p, L_DROP);
	op(&p, BPF_RET | BPF_K, 0);
	return resolve(&p);
}

int hnv_steer_fanout(struct sock_filter *code, unsigned n)
{
	if (n < 1 || n > HNV_STEER_THREADS_MAX)
		return -EINVAL;
	struct prog p;
	prog_init(&p, code);
	/* received (not sent) by this host, an IPv4 or IPv6 packet; the rest
	 * goes to 0, whose socket filter refuses it */
	op(&p, BPF_LD | BPF_B | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE));
	jmp(&p, BPF_JEQ | BPF_K, PACKET_HOST, L_NONE, L_H0);
	op(&p, BPF_LD | BPF_H | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL));
	jmp(&p, BPF_JEQ | BPF_K, ETH_P_IP, L_STEER, L_NONE);
	jmp(&p, BPF_JEQ | BPF_K, ETH_P_IPV6, L_STEER, L_H0);
	label(&p, L_STEER);
	emit_hash(&p, 0);
	label(&p, L_TAIL);
	op(&p, BPF_ALU | BPF_MOD | BPF_K, n);
	op(&p, BPF_RET | BPF_A, 0);
	return resolve(&p);
}
