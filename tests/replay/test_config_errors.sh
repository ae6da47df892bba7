#!/bin/bash
# test_config_errors.sh: a config with one bad line (tests/data/
# bluered-host1.conf with that line changed or added) makes `hnvgw-dp replay`
# exit 2 before replaying anything: the error names the file, the line number
# and the bad value, stdout stays empty, and no output file is written (the
# --out directory is neither created nor filled). Bad command lines too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mkscratch

BASE=$REPO/tests/data/bluered-host1.conf
IN=$SCRATCH/in.pcap
mkpcap "$IN" vm-icmp 060600000005 060600000007 10.0.0.5 10.0.0.7

# expect_refused NAME WANT... -- ARGS...: hnvgw-dp replay ARGS with --out
# into a fresh path, then into an existing empty directory. Each time: exit
# status 2, nothing on stdout, stderr containing every WANT (an extended
# regex), no output files.
expect_refused()
{
	local name=$1 w rc out
	shift
	local wants=()
	while [[ $1 != -- ]]; do
		wants+=("$1")
		shift
	done
	shift
	for out in "$SCRATCH/$name-out" "$SCRATCH/$name-existing"; do
		[[ $out == *-existing ]] && mkdir "$out"
		rc=0
		"$HNVGW_DP" replay "$@" --out "$out" >"$SCRATCH/$name.stdout" 2>"$SCRATCH/$name.stderr" ||
			rc=$?
		[[ $rc == 2 ]] ||
			fail "$name: exit status $rc, want 2 (stderr: $(cat "$SCRATCH/$name.stderr"))"
		[[ ! -s $SCRATCH/$name.stdout ]] ||
			fail "$name: unexpected stdout: $(cat "$SCRATCH/$name.stdout")"
		for w in "${wants[@]}"; do
			grep -Eq -- "$w" "$SCRATCH/$name.stderr" ||
				fail "$name: error does not match /$w/: $(cat "$SCRATCH/$name.stderr")"
		done
		if [[ $out == *-existing ]]; then
			[[ -z $(ls -A "$out") ]] || fail "$name: files written to $out: $(ls -A "$out")"
		else
			[[ ! -e $out ]] || fail "$name: $out was created"
		fi
	done
	echo "$name: $(head -1 "$SCRATCH/$name.stderr")"
}

# bad_config NAME VALUE OLD NEW: the base config with the line OLD replaced by
# NEW (NEW appended when OLD is empty) must be refused with an error naming
# NEW's line number and VALUE.
bad_config()
{
	local name=$1 value=$2 old=$3 new=$4 conf=$SCRATCH/$1.conf line
	if [[ -n $old ]]; then
		grep -qxF -- "$old" "$BASE" || fail "$name: no line '$old' in $BASE"
		OLD=$old NEW=$new awk '$0 == ENVIRON["OLD"] { print ENVIRON["NEW"]; next } { print }' \
			"$BASE" >"$conf"
	else
		{
			cat "$BASE"
			echo "$new"
		} >"$conf"
	fi
	line=$(grep -nxF -- "$new" "$conf" | cut -d: -f1)
	[[ $line =~ ^[0-9]+$ ]] || fail "$name: cannot find the bad line in $conf"
	expect_refused "$name" "${conf##*/}" "(^|[^0-9])line $line:" -- \
		--config "$conf" --in blue1="$IN"
	grep -qF -- "$value" "$SCRATCH/$name.stderr" ||
		fail "$name: error does not name the bad value $value: $(cat "$SCRATCH/$name.stderr")"
}

# the base config itself is fine (so the errors below are the bad lines')
rc=0
"$HNVGW_DP" replay --config "$BASE" --in blue1="$IN" --out "$SCRATCH/good" >/dev/null 2>&1 || rc=$?
expect_eq "exit status with the good config" "$rc" 0

bad_config vsid-4095 4095 \
	"vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24" \
	"vsubnet add 4095 --rdomain blue --prefix 10.0.0.0/24"
bad_config vsid-ffffff 16777215 \
	"vsubnet add 6001 --rdomain red --prefix 10.0.0.0/24" \
	"vsubnet add 16777215 --rdomain red --prefix 10.0.0.0/24"
bad_config bad-mac 06060000000G \
	"port add blue1 --vsid 5001 --ca 10.0.0.5 --mac 060600000005" \
	"port add blue1 --vsid 5001 --ca 10.0.0.5 --mac 06060000000G"
bad_config short-mac 06:06:00:00:05 "" \
	"lookup add --vsid 5001 --ca 10.0.0.9 --pa 192.168.4.22 --mac 06:06:00:00:05"
bad_config bad-guid "{11111111-2222-3333-4444-00000000600Z}" \
	"rdomain add red --rdid {11111111-2222-3333-4444-000000006001}" \
	"rdomain add red --rdid {11111111-2222-3333-4444-00000000600Z}"
bad_config unknown-command frobnicate \
	"# The VMs on this host." \
	"frobnicate add blue3 --vsid 5001"
bad_config lookup-missing-vsid 5002 "" \
	"lookup add --vsid 5002 --ca 10.0.1.9 --pa 192.168.4.22 --mac 060600010009"
bad_config ca-outside-prefix 10.0.1.5 \
	"port add blue1 --vsid 5001 --ca 10.0.0.5 --mac 060600000005" \
	"port add blue1 --vsid 5001 --ca 10.0.1.5 --mac 060600000005"
bad_config ca-is-gateway 10.0.0.1 \
	"port add red1 --vsid 6001 --ca 10.0.0.5 --mac 080800000005" \
	"port add red1 --vsid 6001 --ca 10.0.0.1 --mac 080800000005"
bad_config unknown-rdomain green "" \
	"route add --rdomain green --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0"
bad_config bad-mtu 100 "" "global set --uplink-mtu 100"
# BGP peers: a filter of the other family; a peer of a routing domain
# without a gateway
bad_config bgp-peer-family 2001:db8::/32 "" \
	"bgp-peer add corp --rdomain blue --addr 172.31.1.2 --asn 65001 --prefix-in 2001:db8::/32"
bad_config bgp-peer-no-gateway '"blue" has no gateway' "" \
	"bgp-peer add corp --rdomain blue --addr 172.31.1.2 --asn 65001 --prefix-in 172.16.0.0/16"
# settings hnvgw cannot give their Hyper-V effect (docs/netwnv-settings.md)
L='lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 060600000007 --rule encap --type static --vm-name Blue2 --customer-id {11111111-2222-3333-4444-000000005001}'
bad_config rule-nat "rule nat (TranslationMethodNat, IP rewrite) is not supported" "$L" "${L/--rule encap/--rule nat}"
bad_config rule-none "rule none (TranslationMethodNone) is not supported" "$L" "${L/--rule encap/--rule none}"
bad_config external-router "UseExternalRouter \$true) is not supported" "" "global set --use-external-router on"
# a default-gateway record (CA 10.0.0.1) with the PA of a host, not the
# demo's 169.254.254.254
bad_config gw-record-pa "must have PA 169.254.254.254, not 192.168.4.22" "" \
	"lookup add --vsid 5001 --ca 10.0.0.1 --pa 192.168.4.22 --mac 101010101101"
# S2S peers (issue 19 item 4): a malformed host name; --peer any with a
# remote ID that would accept any site
S='--local-id gw.example --psk 0123456789abcdefghijk --remote-prefix 192.168.0.0/16'
bad_config s2s-bad-host 'invalid peer "host..example": empty label' "" \
	"s2s add t1 --rdomain blue --peer host..example --remote-id site $S"
bad_config s2s-any-wildcard '--peer any needs a --remote-id naming one site' "" \
	"s2s add t1 --rdomain blue --peer any --remote-id %any $S"

# overlapping remote prefixes of one routing domain's tunnels and
# connections (zebra would keep one route): the second object's line is
# refused naming both objects and both prefixes; the same prefixes in
# another routing domain (another VRF) are fine
GW='gateway add --rdomain blue --vrf blue --table 101
gateway add --rdomain red --vrf red --table 102'
T1="s2s add t1 --rdomain blue --peer 192.0.2.2 --remote-id site $S"
G1='gre add g1 --rdomain blue --local 198.51.100.1 --remote 198.51.100.7 --addr 172.30.0.1/30 --remote-prefix 192.168.50.0/24'
printf '%s\n%s\n%s\n' "$GW" "$T1" "${G1/--rdomain blue/--rdomain red}" | cat "$BASE" - >"$SCRATCH/overlap-ok.conf"
rc=0
"$HNVGW_DP" replay --config "$SCRATCH/overlap-ok.conf" --in blue1="$IN" --out "$SCRATCH/overlap-ok" \
	>/dev/null 2>"$SCRATCH/overlap-ok.stderr" || rc=$?
expect_eq "exit status with 192.168.0.0/16 in blue and 192.168.50.0/24 in red ($(cat "$SCRATCH/overlap-ok.stderr"))" "$rc" 0
printf '%s\n%s\n%s\n' "$GW" "$T1" "$G1" | cat "$BASE" - >"$SCRATCH/overlap.conf"
line=$(grep -n '^gre add g1' "$SCRATCH/overlap.conf" | cut -d: -f1)
expect_refused overlap-s2s-gre "overlap\.conf" "line $line: gre add: gre \"g1\" routes 192\.168\.50\.0/24, which overlaps 192\.168\.0\.0/16 of s2s \"t1\" in routing domain \"blue\"" -- \
	--config "$SCRATCH/overlap.conf" --in blue1="$IN"
grep -q 0123456789abcdefghijk "$SCRATCH/overlap-s2s-gre.stderr" && fail "overlap-s2s-gre: the PSK is in the error"

# command-line mistakes are refused the same way
expect_refused missing-config "no-such\.conf" -- --config "$SCRATCH/no-such.conf" --in blue1="$IN"
expect_refused unknown-port "blue9" -- --config "$BASE" --in blue9="$IN"
expect_refused bad-neigh "192\.168\.4\.22=zz" -- --config "$BASE" --in blue1="$IN" \
	--neigh 192.168.4.22=zz

echo "test_config_errors: ok"
