#!/bin/bash
# demo.sh: `make demo`, the main job: the gateway VM image boots under qemu
# and runs the private-cloud and hybrid-cloud lab scenarios (tests/lab/):
# two Hyper-V hosts (hnvgwd host edges), tenants Contoso and Fabrikam with
# the same addresses, this gateway routing them to a corporate BGP router,
# to the internet through SNAT, and to their own on-premises sites through
# IPsec tunnels negotiated by strongSwan. The full console logs stay in
# build/images/lab/; this prints a readable summary. The Makefile builds
# the programs and the image first.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LOG=build/images/lab/demo.log
mkdir -p build/images/lab

cat <<'EOF'
hnvgw demo: a multitenant Hyper-V Network Virtualization gateway
  provider network 192.168.4.0/24: hosts h1 (.11) and h2 (.22), gateway (.1)
  Contoso  (VSID 5001) VMs ct1 10.10.0.5 on h1, ct2 10.10.0.7 on h2
  Fabrikam (VSID 6001) VMs fb1 10.10.0.5 on h1, fb2 10.10.0.7 on h2
  private cloud: Contoso <-> corporate 172.16.0.0/16 (BGP), Fabrikam -> internet (SNAT)
  hybrid cloud:  each tenant <-> its own site 192.168.0.0/16 over IPsec (IKEv2, AES-GCM)
                 and a Fabrikam branch numbered 10.10.0.0/16 like Fabrikam, through NETMAP
booting the gateway VM image under qemu (software emulation: a few minutes per scenario)...
EOF
images/lab.sh private-cloud hybrid-cloud >"$LOG" 2>&1
rc=$?

for s in private-cloud hybrid-cloud; do
	f=build/images/lab/$s.log
	printf '\n===== scenario %s =====\n' "$s"
	[[ -f $f ]] || { echo "(no console log)"; continue; }
	# checks, in order, without the console noise
	tr -d '\r' <"$f" | sed -n 's/^\(ok   - \|FAIL - \)/\1/p; s/^== \(.*\) (t=.*/\n-- \1/p' |
		grep -vE '^$|^-- summary$' | sed 's/^-- /\n-- /'
	printf '\n-- summary\n'
	tr -d '\r' <"$f" | sed -n '/^---- summary ----/,/^---- end of summary ----/p' | sed '1d;$d'
	tr -d '\r' <"$f" | grep -E "^$s: [0-9]+ passed" || echo "$s: did not finish (see $f)"
done
echo
tail -n 1 "$LOG"
if ((rc == 0)); then
	echo "demo: every check passed"
else
	echo "demo: some checks failed; full logs in build/images/lab/"
fi
exit $rc
