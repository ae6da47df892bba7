#!/bin/bash
# test_man.sh: every option `hnvgwd --help` lists is documented in
# hnvgwd(8), and every option `hnvgw --help` lists in hnvgw(8) (issue 20:
# --etcd, --zebra and --vici were in --help only). An option counts as
# documented when the page writes it as roff does, \-\-name. Run by
# `make integration-test`; needs no root.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

# check BINARY PAGE: the --options of BINARY --help missing from PAGE.
check()
{
	local bin=$1 page=$2 help opt missing=()
	help=$("$bin" --help)
	[[ -n $help ]] || fail "$bin --help printed nothing"
	local n=0
	while read -r opt; do
		n=$((n + 1))
		grep -qF -- "${opt//-/\\-}" "$page" || missing+=("$opt")
	done < <(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$help" | sort -u)
	((n > 3)) || fail "$bin --help lists only $n options: $help"
	((${#missing[@]} == 0)) || fail "$(basename "$page") lacks ${missing[*]} (listed by $(basename "$bin") --help)"
	pass "$(basename "$page") documents the $n options of $(basename "$bin") --help"
}

check "$HNVGWD" "$ROOT/mgmt/man/hnvgwd.8"
check "$HNVGW" "$ROOT/mgmt/man/hnvgw.8"
