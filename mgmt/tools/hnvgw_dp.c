/* hnvgw-dp: offline tools around the datapath.
 *
 *   hnvgw-dp replay --config FILE --in PORT=FILE.pcap [--in ...] --out DIR
 *                   [--trace] [--neigh PA=MAC ...] [--uplink-mac MAC]
 *                   [--verify-checksums]
 *
 * replay runs the frames of each input pcap through the real forwarding code
 * as if they arrived on PORT ("uplink" or a port name from the config), in
 * timestamp order across inputs, and writes what leaves each port to
 * DIR/<port>.pcap (one file per port of the config, plus DIR/uplink.pcap,
 * empty when nothing left that way). With --trace it prints one JSON line per
 * packet on stdout: ingress, each stage's decision, verdict and counter. The
 * counters are printed at the end (stderr with --trace, else stdout).
 *
 * Outer IPv4 header checksums of captured frames are not verified unless
 * --verify-checksums is given: captures taken on a sender often hold
 * checksums its NIC was to fill in, as the kernel path in hnvgwd does.
 *
 * Exit status: 0 done, 1 an I/O error, 2 a usage or config error (nothing
 * replayed).
 */
#define _LGPL_SOURCE
#include "../../datapath/dp.h"
#include "../../datapath/io/pcap.h"
#include "../../lib/vec.h"
#include "../conf_apply.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <urcu/urcu-qsbr.h>

#define MAX_INPUTS 64

struct input {
	char port[HNV_NAME_MAX + 1];
	const char *path;
	int port_id;
};

struct frame {
	uint64_t ts_ns;
	unsigned input;
	unsigned seq; /* position within its input, for a stable order */
	uint32_t len;
	uint8_t *data;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: hnvgw-dp replay --config FILE --in PORT=FILE.pcap [--in ...] --out DIR\n"
		   "                      [--trace] [--neigh PA=MAC ...] [--uplink-mac MAC]\n"
		   "                      [--verify-checksums]\n");
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	if (!f)
		return NULL;
	struct hnv_buf b = {0};
	char chunk[65536];
	size_t r;
	while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
		hnv_buf_append(&b, chunk, r);
	bool bad = ferror(f);
	fclose(f);
	*len = b.len;
	if (bad) {
		hnv_buf_free(&b, false);
		return NULL;
	}
	return hnv_buf_take(&b);
}

static int frame_cmp(const void *a, const void *b)
{
	const struct frame *x = a, *y = b;
	if (x->ts_ns != y->ts_ns)
		return x->ts_ns < y->ts_ns ? -1 : 1;
	if (x->input != y->input)
		return x->input < y->input ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const char *port_label(struct hnv_dp *dp, unsigned id)
{
	const char *n = hnv_policy_port_name(hnv_dp_policy(dp), id);
	return n ? n : "?";
}

static void print_trace(struct hnv_dp *dp, unsigned idx, const struct input *in,
			const struct hnv_pkt *p)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "packet", json_object_new_int((int)idx));
	json_object_object_add(o, "ingress", json_object_new_string(in->port));
	json_object *st = json_object_new_array();
	for (unsigned i = 0; i < p->trace->n; i++) {
		json_object *s = json_object_new_object();
		json_object_object_add(
			s, "stage",
			json_object_new_string(hnv_stage_name(p->trace->step[i].stage)));
		json_object_object_add(s, "decision",
				       json_object_new_string(p->trace->step[i].text));
		json_object_array_add(st, s);
	}
	json_object_object_add(o, "stages", st);
	bool drop = hnv_reason_is_drop(p->reason);
	json_object_object_add(o, "verdict", json_object_new_string(drop ? "drop" : "forward"));
	if (!drop)
		json_object_object_add(o, "egress",
				       json_object_new_string(port_label(dp, p->out_port)));
	json_object_object_add(o, "vsid", json_object_new_int64(p->vsid));
	json_object_object_add(o, "counter", json_object_new_string(hnv_reason_name(p->reason)));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* What the command line asked for. */
struct opts {
	const char *config, *outdir;
	struct input inputs[MAX_INPUTS];
	unsigned n_inputs;
	bool trace, verify;
	struct hnv_mac uplink_mac;
	struct {
		struct hnv_ip pa;
		struct hnv_mac mac;
	} neigh[64];
	unsigned n_neigh;
};

/* One replay run: the datapath and what flows through it. */
struct run {
	struct hnv_dp *dp;
	struct hnv_dp_worker *w;
	struct hnv_pcap_writer *writers[HNV_PORTS_MAX];
	struct frame *frames;
	size_t n_frames, cap_frames;
};

static int opt_in(struct opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || !eq[1] || (size_t)(eq - arg) > HNV_NAME_MAX) {
		fprintf(stderr, "hnvgw-dp: --in wants PORT=FILE.pcap, got \"%s\"\n", arg);
		return 2;
	}
	if (o->n_inputs == MAX_INPUTS) {
		fprintf(stderr, "hnvgw-dp: at most %d --in\n", MAX_INPUTS);
		return 2;
	}
	struct input *in = &o->inputs[o->n_inputs++];
	memcpy(in->port, arg, (size_t)(eq - arg));
	in->port[eq - arg] = 0;
	in->path = eq + 1;
	return 0;
}

static int opt_neigh(struct opts *o, char *arg)
{
	char *eq = strchr(arg, '=');
	if (o->n_neigh == 64 || !eq) {
		fprintf(stderr, "hnvgw-dp: --neigh wants PA=MAC, got \"%s\"\n", arg);
		return 2;
	}
	*eq = 0;
	if (hnv_parse_ip(arg, &o->neigh[o->n_neigh].pa) ||
	    hnv_parse_mac(eq + 1, &o->neigh[o->n_neigh].mac)) {
		*eq = '=';
		fprintf(stderr, "hnvgw-dp: invalid --neigh \"%s\"\n", arg);
		return 2;
	}
	o->n_neigh++;
	return 0;
}

/* 0 to go on, else the exit status (-1: --help was answered, exit 0). */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"in", required_argument, NULL, 'i'},
		{"out", required_argument, NULL, 'o'},
		{"trace", no_argument, NULL, 't'},
		{"neigh", required_argument, NULL, 'n'},
		{"uplink-mac", required_argument, NULL, 'u'},
		{"verify-checksums", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	o->uplink_mac = (struct hnv_mac){{0x02, 0x50, 0x00, 0x00, 0x00, 0x01}};
	int c, rc = 0;
	while (rc == 0 && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'o':
			o->outdir = optarg;
			break;
		case 't':
			o->trace = true;
			break;
		case 'v':
			o->verify = true;
			break;
		case 'i':
			rc = opt_in(o, optarg);
			break;
		case 'n':
			rc = opt_neigh(o, optarg);
			break;
		case 'u':
			if (hnv_parse_mac(optarg, &o->uplink_mac)) {
				fprintf(stderr, "hnvgw-dp: invalid --uplink-mac \"%s\"\n", optarg);
				rc = 2;
			}
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (rc == 0 && (!o->config || !o->outdir || !o->n_inputs || optind != argc)) {
		usage(stderr);
		rc = 2;
	}
	return rc;
}

/* The config applied to a new datapath, and the inputs' port ids. */
static int setup(struct opts *o, struct run *r)
{
	size_t clen;
	char *text = read_file(o->config, &clen);
	if (!text) {
		fprintf(stderr, "hnvgw-dp: cannot read config %s: %s\n", o->config,
			strerror(errno));
		return -1;
	}
	char err[512];
	struct hnv_conf_cmd *cmds = NULL;
	size_t n_cmds;
	int rc = hnv_conf_parse_text(text, clen, &cmds, &n_cmds, err, sizeof(err));
	free(text);
	if (!rc && !(r->dp = hnv_dp_new()))
		rc = -ENOMEM;
	if (!rc && !(r->w = hnv_dp_worker_new(r->dp)))
		rc = -ENOMEM;
	if (rc == -ENOMEM)
		snprintf(err, sizeof(err), "out of memory");
	if (!rc)
		rc = hnv_conf_apply(r->dp, cmds, n_cmds, err, sizeof(err));
	hnv_conf_cmds_free(cmds, cmds ? n_cmds : 0);
	if (rc) {
		fprintf(stderr, "hnvgw-dp: %s: %s\n", o->config, err);
		return -1;
	}
	struct hnv_policy *pol = hnv_dp_policy(r->dp);
	hnv_dp_set_uplink(r->dp, &o->uplink_mac, 0);
	for (unsigned i = 0; i < o->n_neigh; i++)
		hnv_dp_neigh_set(r->dp, &o->neigh[i].pa, &o->neigh[i].mac);
	for (unsigned i = 0; i < o->n_inputs; i++) {
		struct input *in = &o->inputs[i];
		in->port_id = strcmp(in->port, "uplink") == 0 ? HNV_PORT_UPLINK
							      : hnv_policy_port_id(pol, in->port);
		if (in->port_id < 0) {
			fprintf(stderr, "hnvgw-dp: --in %s: no port \"%s\" in %s\n", in->path,
				in->port, o->config);
			return -1;
		}
	}
	return 0;
}

/* Appends the frames of input i to r->frames. */
static int read_input(const struct opts *o, unsigned i, struct run *r)
{
	struct hnv_pcap_reader *rd;
	char err[512];
	if (hnv_pcap_open_read(o->inputs[i].path, &rd, err, sizeof(err))) {
		fprintf(stderr, "hnvgw-dp: %s: %s\n", o->inputs[i].path, err);
		return -1;
	}
	const uint8_t *data;
	uint32_t caplen, origlen;
	uint64_t ts;
	unsigned seq = 0;
	int rc;
	while ((rc = hnv_pcap_next(rd, &data, &caplen, &origlen, &ts)) == 1) {
		if (HNV_GROW(r->frames, r->cap_frames, r->n_frames + 1))
			break;
		struct frame *f = &r->frames[r->n_frames];
		f->data = malloc(caplen ? caplen : 1);
		if (!f->data)
			break;
		memcpy(f->data, data, caplen);
		f->len = caplen;
		f->ts_ns = ts;
		f->input = i;
		f->seq = seq++;
		r->n_frames++;
	}
	if (rc == 1)
		fprintf(stderr, "hnvgw-dp: %s: out of memory\n", o->inputs[i].path);
	else if (rc < 0)
		fprintf(stderr, "hnvgw-dp: %s: %s\n", o->inputs[i].path, hnv_pcap_reader_error(rd));
	hnv_pcap_close_reader(rd);
	return rc == 0 ? 0 : -1;
}

/* One writer per configured port, DIR/<port>.pcap. */
static int open_writers(const struct opts *o, struct run *r)
{
	if (mkdir(o->outdir, 0755) && errno != EEXIST) {
		fprintf(stderr, "hnvgw-dp: cannot create %s: %s\n", o->outdir, strerror(errno));
		return -1;
	}
	struct hnv_policy *pol = hnv_dp_policy(r->dp);
	for (unsigned id = 0; id < HNV_PORTS_MAX; id++) {
		const char *name = hnv_policy_port_name(pol, id);
		if (!name)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s.pcap", o->outdir, name);
		if (hnv_pcap_open_write(path, &r->writers[id])) {
			fprintf(stderr, "hnvgw-dp: cannot write %s: %s\n", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Writes the copies of a flooded frame (dp.h hnv_dp_flood) to the
 * captures of their egress ports. */
static int write_flood(struct run *r, const struct hnv_pkt *p, uint64_t ts_ns)
{
	enum {
		N = 8
	};
	static struct hnv_pkt pool[N];
	struct hnv_pkt *copies[N];
	for (unsigned i = 0; i < N; i++)
		copies[i] = &pool[i];
	unsigned cursor = 0, k;
	while ((k = hnv_dp_flood(r->w, p, &cursor, copies, N)) > 0)
		for (unsigned i = 0; i < k; i++) {
			const struct hnv_pkt *q = copies[i];
			if (hnv_reason_is_drop(q->reason) || q->out_port >= HNV_PORTS_MAX ||
			    !r->writers[q->out_port])
				continue;
			if (hnv_pcap_write(r->writers[q->out_port], q->data, q->len, ts_ns)) {
				fprintf(stderr, "hnvgw-dp: write failed: %s\n", strerror(errno));
				return -1;
			}
		}
	return 0;
}

/* Runs the frames through the engine in batches, writes what leaves. */
static int forward(const struct opts *o, struct run *r)
{
	struct hnv_pkt *pkts = calloc(HNV_BATCH_MAX, sizeof(*pkts));
	struct hnv_trace *traces = calloc(HNV_BATCH_MAX, sizeof(*traces));
	int rc = pkts && traces ? 0 : -1;
	struct hnv_pkt *batch[HNV_BATCH_MAX];
	for (size_t base = 0; rc == 0 && base < r->n_frames; base += HNV_BATCH_MAX) {
		unsigned n = 0;
		for (size_t k = base; k < r->n_frames && n < HNV_BATCH_MAX; k++, n++) {
			struct frame *f = &r->frames[k];
			struct hnv_pkt *p = &pkts[n];
			if (hnv_pkt_load(p, f->data, f->len,
					 (uint16_t)o->inputs[f->input].port_id)) {
				fprintf(stderr, "hnvgw-dp: frame of %u bytes is too large\n",
					f->len);
				rc = -1;
				break;
			}
			if (!o->verify)
				p->flags |= HNV_PKT_F_L3_CSUM_OK;
			p->trace = o->trace ? &traces[n] : NULL;
			batch[n] = p;
		}
		if (rc)
			break;
		hnv_dp_process(r->w, batch, n);
		for (unsigned k = 0; k < n && rc == 0; k++) {
			struct hnv_pkt *p = batch[k];
			const struct frame *f = &r->frames[base + k];
			if (o->trace)
				print_trace(r->dp, (unsigned)(base + k), &o->inputs[f->input], p);
			if (p->out_port == HNV_PORT_FLOOD && !hnv_reason_is_drop(p->reason)) {
				rc = write_flood(r, p, f->ts_ns);
				continue;
			}
			if (hnv_reason_is_drop(p->reason) || p->out_port >= HNV_PORTS_MAX ||
			    !r->writers[p->out_port])
				continue;
			if (hnv_pcap_write(r->writers[p->out_port], p->data, p->len, f->ts_ns)) {
				fprintf(stderr, "hnvgw-dp: write failed: %s\n", strerror(errno));
				rc = -1;
			}
		}
		hnv_dp_worker_quiescent(r->w);
	}
	free(pkts);
	free(traces);
	return rc;
}

static int close_writers(struct run *r)
{
	int bad = 0;
	for (unsigned id = 0; id < HNV_PORTS_MAX; id++)
		if (r->writers[id]) {
			int rc = hnv_pcap_close_writer(r->writers[id]);
			r->writers[id] = NULL;
			if (rc && !bad) {
				fprintf(stderr, "hnvgw-dp: closing output failed: %s\n",
					strerror(-rc));
				bad = -1;
			}
		}
	return bad;
}

static void summary(const struct opts *o, const struct run *r)
{
	uint64_t cnt[HNV_R__COUNT];
	hnv_dp_counters(r->dp, cnt);
	FILE *sum = o->trace ? stderr : stdout;
	fprintf(sum, "%zu packets\n", r->n_frames);
	for (unsigned i = 0; i < HNV_R__COUNT; i++)
		if (cnt[i])
			fprintf(sum, "  %-24s %llu\n", hnv_reason_name(i),
				(unsigned long long)cnt[i]);
}

/* Exit status: 0 done, 1 a capture or output failed, 2 usage or config. */
static int replay(int argc, char **argv)
{
	struct opts o = {0};
	int rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	urcu_qsbr_register_thread();
	struct run r = {0};
	int status = 2;
	if (setup(&o, &r) == 0) {
		status = 1;
		rc = 0;
		for (unsigned i = 0; i < o.n_inputs && rc == 0; i++)
			rc = read_input(&o, i, &r);
		if (rc == 0) {
			qsort(r.frames, r.n_frames, sizeof(*r.frames), frame_cmp);
			rc = open_writers(&o, &r);
		}
		if (rc == 0)
			rc = forward(&o, &r);
		if (close_writers(&r) == 0 && rc == 0) {
			summary(&o, &r);
			status = 0;
		}
	}
	for (size_t i = 0; i < r.n_frames; i++)
		free(r.frames[i].data);
	free(r.frames);
	hnv_dp_worker_free(r.w);
	/* the policy frees memory only after a grace period: go offline first */
	urcu_qsbr_thread_offline();
	hnv_dp_free(r.dp);
	urcu_qsbr_unregister_thread();
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "replay") == 0)
		return replay(argc - 1, argv + 1);
	fprintf(stderr, "hnvgw-dp: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
