# shellcheck shell=bash
# lib.sh: helpers for the replay tests (tests/replay/test_*.sh).
#
# Source it first thing:   . "$(dirname "$0")/lib.sh"
# It turns on `set -euo pipefail` and sets:
#   REPO      the repository root (absolute)
#   HNVGW_DP  the hnvgw-dp binary (make passes the ASan build; default
#             $REPO/build/asan/hnvgw-dp)
#   PYTHON    Debian's /usr/bin/python3, which has python3-scapy (another
#             python3 earlier on PATH, e.g. pyenv's, may not)
#
# Functions:
#   fail MSG...                  print "FAIL: script:line: MSG" and exit 1
#   expect_eq WHAT ACTUAL WANT   fail unless ACTUAL == WANT (string compare)
#   mkscratch                    create a temp dir in $SCRATCH, removed on exit
#   mkpcap OUT.pcap KIND ARGS... craft input frames (tests/replay/mkpcap.py)
#   add OUT.pcap KIND ARGS...    mkpcap, appending after the first frame
#   replay_run NAME CONFIG ARGS...
#                                hnvgw-dp replay of CONFIG with ARGS (--in,
#                                --neigh, ...): outputs in $SCRATCH/NAME/,
#                                trace in NAME.trace; fails unless it exits 0
#   outcomes NAME                "ingress counter egress vsid" per packet
#   tshark_fields [--outer|--inner] PCAP FIELD...
#                                one line per frame, FIELDs tab-separated
#   tshark_count PCAP [FILTER]   number of frames (matching a display filter)
#   nvgre_vsid KEY, nvgre_flowid KEY
#                                VSID / FlowID from a gre.key value
#
# What tshark 4.0 (Debian 12) prints with -T fields, checked on
# tests/data/gre_nvgre.pcap (outer 100.0.17.1 -> 100.0.17.2, key 0x12345602,
# inner 10.0.0.1 -> 10.0.0.2):
#   gre.key              0x12345602   (hex, 8 digits, 0x prefix)
#   gre.proto            0x6558
#   gre.flags_and_version 0x2000
#   ip.src               100.0.17.1,10.0.0.1   (every occurrence, outer
#   eth.src              aa:bb:00:00:20:01,aa:bb:00:00:10:01   first)
#   ip.checksum.status   0 Bad, 1 Good, 2 Unverified (per occurrence)
#   a field absent from a frame prints as an empty string
# There is NO nvgre dissector in tshark 4.0: nvgre.vsid / nvgre.flow_id do
# not exist (tshark exits with an error if asked for them). NVGRE decodes as
# GRE with protocol 0x6558 (Transparent Ethernet Bridging) followed by the
# inner Ethernet frame, with no -o option needed; take the VSID and FlowID
# from gre.key with nvgre_vsid / nvgre_flowid. --outer picks the first
# occurrence of each field, --inner the last (for a frame that is not
# encapsulated both give its only one).
#
# tshark_fields runs tshark with:
#   -n                          no name resolution
#   -o ip.check_checksum:TRUE   so ip.checksum.status says Good or Bad
#   -o ip.defragment:FALSE, -o ipv6.defragment:FALSE
#                               every frame is shown as it is, fragments are
#                               not reassembled into a later frame
# Other useful fields: eth.dst, eth.type, vlan.id, ip.dst, ip.proto, ip.ttl,
# ip.flags.df, ip.flags.mf, ip.len, ip.dsfield.ecn, ipv6.src, ipv6.dst,
# ipv6.nxt, ipv6.hlim, icmp.type, icmp.code, icmp.mtu, icmpv6.type,
# icmpv6.mtu, icmpv6.nd.ns.target_address, icmpv6.nd.na.target_address,
# icmpv6.opt.linkaddr, arp.opcode, arp.src.hw_mac, arp.src.proto_ipv4,
# arp.dst.proto_ipv4, frame.len.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HNVGW_DP=${HNVGW_DP:-$REPO/build/asan/hnvgw-dp}
PYTHON=/usr/bin/python3

fail()
{
	echo "FAIL: ${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}: $*" >&2
	exit 1
}

expect_eq()
{
	local what=$1 actual=$2 want=$3
	if [[ $actual != "$want" ]]; then
		echo "FAIL: ${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}: $what: got '$actual', want '$want'" >&2
		exit 1
	fi
}

# Sets SCRATCH to a new temporary directory, removed when the script exits
# (kept if HNVGW_KEEP_SCRATCH=1, for looking at the pcaps after a failure).
# Call it directly, not as $(mkscratch): a subshell would remove the
# directory as soon as it returned.
mkscratch()
{
	if ((BASH_SUBSHELL > 0)); then
		fail "mkscratch: call it directly and use \$SCRATCH, not \$(mkscratch)"
	fi
	SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/hnvgw-replay.XXXXXX")
	if [[ ${HNVGW_KEEP_SCRATCH:-0} == 1 ]]; then
		echo "scratch: $SCRATCH (kept)" >&2
	else
		trap 'rm -rf -- "$SCRATCH"' EXIT
	fi
}

mkpcap()
{
	"$PYTHON" "$REPO/tests/replay/mkpcap.py" "$@"
}

add()
{
	local out=$1
	shift
	if [[ -s $out ]]; then
		mkpcap "$out" "$@" --append
	else
		mkpcap "$out" "$@"
	fi
}

replay_run()
{
	local name=$1 conf=$2 rc=0
	shift 2
	"$HNVGW_DP" replay --config "$conf" --out "$SCRATCH/$name" --trace "$@" \
		>"$SCRATCH/$name.trace" 2>"$SCRATCH/$name.err" || rc=$?
	if ((rc != 0)); then
		cat "$SCRATCH/$name.err" >&2
		fail "replay $name: hnvgw-dp exited $rc, want 0"
	fi
}

outcomes()
{
	"$PYTHON" -c '
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    print(o["ingress"], o["counter"], o.get("egress", "-"), o["vsid"])
' <"$SCRATCH/$1.trace"
}

# Runs tshark and passes on its stderr except the warning it always prints
# when run as root; returns tshark's exit status.
_tshark()
{
	local errfile rc=0
	errfile=$(mktemp)
	tshark -n -o ip.check_checksum:TRUE -o ip.defragment:FALSE -o ipv6.defragment:FALSE \
		"$@" 2>"$errfile" || rc=$?
	grep -v '^Running as user "root"' "$errfile" >&2 || true
	rm -f -- "$errfile"
	return "$rc"
}

tshark_fields()
{
	local occ=a
	case ${1:-} in
	--outer) occ=f; shift ;;
	--inner) occ=l; shift ;;
	esac
	(($# >= 2)) || fail "usage: tshark_fields [--outer|--inner] PCAP FIELD..."
	local pcap=$1 f args=()
	shift
	[[ -r $pcap ]] || fail "tshark_fields: cannot read $pcap"
	for f in "$@"; do
		args+=(-e "$f")
	done
	_tshark -r "$pcap" -T fields -E separator=/t -E occurrence="$occ" -E aggregator=, \
		"${args[@]}"
}

tshark_count()
{
	local pcap=$1 filter=${2:-} out
	[[ -r $pcap ]] || fail "tshark_count: cannot read $pcap"
	if [[ -n $filter ]]; then
		out=$(_tshark -r "$pcap" -Y "$filter" -T fields -e frame.number)
	else
		out=$(_tshark -r "$pcap" -T fields -e frame.number)
	fi
	if [[ -z $out ]]; then
		echo 0
	else
		wc -l <<<"$out"
	fi
}

# gre.key as tshark prints it (0x12345602) or any bash integer form.
nvgre_vsid()
{
	echo $(($1 >> 8))
}

nvgre_flowid()
{
	echo $(($1 & 0xff))
}
