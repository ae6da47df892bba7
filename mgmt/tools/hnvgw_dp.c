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
#include "../conf_apply.h"
#include "../../datapath/dp.h"
#include "../../datapath/io/pcap.h"

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
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (n < cap) {
			if (ferror(f)) {
				free(buf);
				buf = NULL;
			}
			break;
		}
		char *nb = realloc(buf, cap * 2);
		if (!nb)
			free(buf);
		buf = nb;
		cap *= 2;
	}
	fclose(f);
	*len = n;
	return buf;
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
		json_object_object_add(s, "stage",
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

static int replay(int argc, char **argv)
{
	const char *config = NULL, *outdir = NULL;
	struct input inputs[MAX_INPUTS];
	unsigned n_inputs = 0;
	bool trace = false, verify = false;
	struct hnv_mac uplink_mac = {{0x02, 0x50, 0x00, 0x00, 0x00, 0x01}};
	struct {
		struct hnv_ip pa;
		struct hnv_mac mac;
	} neigh[64];
	unsigned n_neigh = 0;
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
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *eq;
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'o':
			outdir = optarg;
			break;
		case 't':
			trace = true;
			break;
		case 'v':
			verify = true;
			break;
		case 'i':
			eq = strchr(optarg, '=');
			if (!eq || eq == optarg || !eq[1] || (size_t)(eq - optarg) > HNV_NAME_MAX) {
				fprintf(stderr, "hnvgw-dp: --in wants PORT=FILE.pcap, got \"%s\"\n",
					optarg);
				return 2;
			}
			if (n_inputs == MAX_INPUTS) {
				fprintf(stderr, "hnvgw-dp: at most %d --in\n", MAX_INPUTS);
				return 2;
			}
			memcpy(inputs[n_inputs].port, optarg, (size_t)(eq - optarg));
			inputs[n_inputs].port[eq - optarg] = 0;
			inputs[n_inputs].path = eq + 1;
			n_inputs++;
			break;
		case 'n':
			eq = strchr(optarg, '=');
			if (n_neigh == 64 || !eq) {
				fprintf(stderr, "hnvgw-dp: --neigh wants PA=MAC, got \"%s\"\n", optarg);
				return 2;
			}
			*eq = 0;
			if (hnv_parse_ip(optarg, &neigh[n_neigh].pa) ||
			    hnv_parse_mac(eq + 1, &neigh[n_neigh].mac)) {
				*eq = '=';
				fprintf(stderr, "hnvgw-dp: invalid --neigh \"%s\"\n", optarg);
				return 2;
			}
			n_neigh++;
			break;
		case 'u':
			if (hnv_parse_mac(optarg, &uplink_mac)) {
				fprintf(stderr, "hnvgw-dp: invalid --uplink-mac \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!config || !outdir || !n_inputs || optind != argc) {
		usage(stderr);
		return 2;
	}

	size_t clen;
	char *text = read_file(config, &clen);
	if (!text) {
		fprintf(stderr, "hnvgw-dp: cannot read config %s: %s\n", config, strerror(errno));
		return 2;
	}
	char err[512];
	struct hnv_conf_cmd *cmds;
	size_t n_cmds;
	int rc = hnv_conf_parse_text(text, clen, &cmds, &n_cmds, err, sizeof(err));
	free(text);
	if (rc) {
		fprintf(stderr, "hnvgw-dp: %s: %s\n", config, err);
		return 2;
	}

	urcu_qsbr_register_thread();
	int status = 2;
	struct hnv_dp *dp = hnv_dp_new();
	struct hnv_dp_worker *w = dp ? hnv_dp_worker_new(dp) : NULL;
	struct hnv_pcap_writer *writers[HNV_PORTS_MAX] = {0};
	struct frame *frames = NULL;
	size_t n_frames = 0, cap_frames = 0;
	struct hnv_pkt *pkts = NULL;
	struct hnv_trace *traces = NULL;
	if (!w) {
		fprintf(stderr, "hnvgw-dp: out of memory\n");
		goto out;
	}
	rc = hnv_conf_apply(dp, cmds, n_cmds, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "hnvgw-dp: %s: %s\n", config, err);
		goto out;
	}
	struct hnv_policy *pol = hnv_dp_policy(dp);
	hnv_dp_set_uplink(dp, &uplink_mac, 0);
	for (unsigned i = 0; i < n_neigh; i++)
		hnv_dp_neigh_set(dp, &neigh[i].pa, &neigh[i].mac);
	for (unsigned i = 0; i < n_inputs; i++) {
		if (strcmp(inputs[i].port, "uplink") == 0) {
			inputs[i].port_id = HNV_PORT_UPLINK;
			continue;
		}
		inputs[i].port_id = hnv_policy_port_id(pol, inputs[i].port);
		if (inputs[i].port_id < 0) {
			fprintf(stderr, "hnvgw-dp: --in %s: no port \"%s\" in %s\n", inputs[i].path,
				inputs[i].port, config);
			goto out;
		}
	}

	/* read every input */
	status = 1;
	for (unsigned i = 0; i < n_inputs; i++) {
		struct hnv_pcap_reader *r;
		if (hnv_pcap_open_read(inputs[i].path, &r, err, sizeof(err))) {
			fprintf(stderr, "hnvgw-dp: %s: %s\n", inputs[i].path, err);
			goto out;
		}
		const uint8_t *data;
		uint32_t caplen, origlen;
		uint64_t ts;
		unsigned seq = 0;
		while ((rc = hnv_pcap_next(r, &data, &caplen, &origlen, &ts)) == 1) {
			if (n_frames == cap_frames) {
				size_t cap = cap_frames ? cap_frames * 2 : 256;
				struct frame *nf = realloc(frames, cap * sizeof(*nf));
				if (!nf) {
					hnv_pcap_close_reader(r);
					goto out;
				}
				frames = nf;
				cap_frames = cap;
			}
			struct frame *f = &frames[n_frames];
			f->data = malloc(caplen ? caplen : 1);
			if (!f->data) {
				hnv_pcap_close_reader(r);
				goto out;
			}
			memcpy(f->data, data, caplen);
			f->len = caplen;
			f->ts_ns = ts;
			f->input = i;
			f->seq = seq++;
			n_frames++;
		}
		if (rc < 0) {
			fprintf(stderr, "hnvgw-dp: %s: %s\n", inputs[i].path,
				hnv_pcap_reader_error(r));
			hnv_pcap_close_reader(r);
			goto out;
		}
		hnv_pcap_close_reader(r);
	}
	qsort(frames, n_frames, sizeof(*frames), frame_cmp);

	if (mkdir(outdir, 0755) && errno != EEXIST) {
		fprintf(stderr, "hnvgw-dp: cannot create %s: %s\n", outdir, strerror(errno));
		goto out;
	}
	for (unsigned id = 0; id < HNV_PORTS_MAX; id++) {
		const char *name = hnv_policy_port_name(pol, id);
		if (!name)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s.pcap", outdir, name);
		if (hnv_pcap_open_write(path, &writers[id])) {
			fprintf(stderr, "hnvgw-dp: cannot write %s: %s\n", path, strerror(errno));
			goto out;
		}
	}

	pkts = calloc(HNV_BATCH_MAX, sizeof(*pkts));
	traces = calloc(HNV_BATCH_MAX, sizeof(*traces));
	if (!pkts || !traces)
		goto out;
	struct hnv_pkt *batch[HNV_BATCH_MAX];
	for (size_t base = 0; base < n_frames; base += HNV_BATCH_MAX) {
		unsigned n = 0;
		for (size_t k = base; k < n_frames && n < HNV_BATCH_MAX; k++, n++) {
			struct frame *f = &frames[k];
			struct hnv_pkt *p = &pkts[n];
			if (hnv_pkt_load(p, f->data, f->len, (uint16_t)inputs[f->input].port_id)) {
				fprintf(stderr, "hnvgw-dp: frame of %u bytes is too large\n",
					f->len);
				goto out;
			}
			if (!verify)
				p->flags |= HNV_PKT_F_L3_CSUM_OK;
			p->trace = trace ? &traces[n] : NULL;
			batch[n] = p;
		}
		hnv_dp_process(w, batch, n);
		for (unsigned k = 0; k < n; k++) {
			struct hnv_pkt *p = batch[k];
			const struct frame *f = &frames[base + k];
			if (trace)
				print_trace(dp, (unsigned)(base + k), &inputs[f->input], p);
			if (hnv_reason_is_drop(p->reason) || !writers[p->out_port])
				continue;
			if (hnv_pcap_write(writers[p->out_port], p->data, p->len, f->ts_ns)) {
				fprintf(stderr, "hnvgw-dp: write failed: %s\n", strerror(errno));
				goto out;
			}
		}
		hnv_dp_worker_quiescent(w);
	}
	for (unsigned id = 0; id < HNV_PORTS_MAX; id++)
		if (writers[id]) {
			rc = hnv_pcap_close_writer(writers[id]);
			writers[id] = NULL;
			if (rc) {
				fprintf(stderr, "hnvgw-dp: closing output failed: %s\n",
					strerror(-rc));
				goto out;
			}
		}

	uint64_t cnt[HNV_R__COUNT];
	hnv_dp_counters(dp, cnt);
	FILE *sum = trace ? stderr : stdout;
	fprintf(sum, "%zu packets\n", n_frames);
	for (unsigned r = 0; r < HNV_R__COUNT; r++)
		if (cnt[r])
			fprintf(sum, "  %-24s %llu\n", hnv_reason_name(r), (unsigned long long)cnt[r]);
	status = 0;
out:
	for (unsigned id = 0; id < HNV_PORTS_MAX; id++)
		if (writers[id])
			hnv_pcap_close_writer(writers[id]);
	for (size_t i = 0; i < n_frames; i++)
		free(frames[i].data);
	free(frames);
	free(pkts);
	free(traces);
	free(cmds);
	hnv_dp_worker_free(w);
	/* the policy frees memory only after a grace period: go offline first */
	urcu_qsbr_thread_offline();
	hnv_dp_free(dp);
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
