#!/bin/bash
# test_pool.sh: gateway pools through etcd (docs/gateway-pool.md) on a
# 3-member etcd cluster on loopback (tests/etcd/lib.sh), control plane only.
#   1. etcd leases (lease_check.c): expiry without keepalives, keepalives,
#      create-once transactions bound to a lease, revoke
set -u
. "$(dirname "$0")/lib.sh"
LEASE_CHECK=${LEASE_CHECK:-$ROOT/build/asan/lease_check}

for n in 1 2 3; do etcd_start "$n"; done
etcd_wait_healthy

# ---- 1. leases
"$LEASE_CHECK" "$ALL_URLS" "$PREFIX" || fail "etcd leases (lease_check)"

echo "PASS: test_pool.sh"
