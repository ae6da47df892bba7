#!/bin/bash
# Layering check (make test): dependencies point down only.
#
#   lib <- datapath <- gateway, vpn <- mgmt <- mgmt/daemon, mgmt/cli, mgmt/tools
#
# A source file may include headers of its own layer or of a layer below;
# gateway/ may use vpn/ (the gateway role runs the tunnels), never the
# reverse; the three programs' folders in mgmt/ do not include each other.
# Prints every offending include and exits 1 when there is one.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${1:-$here/../..}

# --self-test: the check must fail on a tree with an include pointing up
if [ "$root" = --self-test ]; then
	t=$(mktemp -d)
	trap 'rm -rf "$t"' EXIT
	mkdir -p "$t/lib" "$t/mgmt/daemon" "$t/datapath"
	echo '#include "../mgmt/daemon/core.h"' >"$t/lib/a.c"
	echo '#include "../lib/a.h"' >"$t/datapath/ok.c"
	touch "$t/mgmt/daemon/core.h" "$t/lib/a.h"
	git -C "$t" init -q && git -C "$t" add -A
	if out=$(bash "$here/check.sh" "$t"); then
		echo "layering self-test: FAILED, an upward include passed: $out"
		exit 1
	fi
	grep -q 'lib/a.c (lib) includes ../mgmt/daemon/core.h' <<<"$out" || {
		echo "layering self-test: FAILED, unexpected output: $out"
		exit 1
	}
	echo "layering self-test: ok (an upward include is refused)"
	exit 0
fi
cd "$root"

# layer FILE: prints the layer's rank and name of a path below the root
layer() {
	case "$1" in
	lib/*) echo "0 lib" ;;
	datapath/*) echo "1 datapath" ;;
	vpn/*) echo "2 vpn" ;;
	gateway/*) echo "3 gateway" ;;
	mgmt/daemon/*) echo "5 mgmt/daemon" ;;
	mgmt/cli/*) echo "5 mgmt/cli" ;;
	mgmt/tools/*) echo "5 mgmt/tools" ;;
	mgmt/*) echo "4 mgmt" ;;
	*) echo "" ;;
	esac
}

bad=0
checked=0
while IFS= read -r f; do
	read -r frank fname <<<"$(layer "$f")"
	[ -n "${frank:-}" ] || continue
	dir=$(dirname "$f")
	while IFS= read -r inc; do
		target=$(realpath -m --relative-to=. "$dir/$inc")
		read -r trank tname <<<"$(layer "$target")"
		[ -n "${trank:-}" ] || continue
		checked=$((checked + 1))
		if [ "$trank" -gt "$frank" ] || { [ "$trank" -eq "$frank" ] && [ "$tname" != "$fname" ]; }; then
			echo "layering: $f ($fname) includes $inc ($tname, a layer above or beside it)"
			bad=1
		fi
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done < <(git ls-files -co --exclude-standard -- '*.c' '*.h' | grep -v '^tests/')

if [ "$bad" -ne 0 ]; then
	echo "layering: FAILED (lib <- datapath <- vpn <- gateway <- mgmt <- mgmt/{daemon,cli,tools})"
	exit 1
fi
echo "layering: ok ($checked includes across layers and within them checked)"
