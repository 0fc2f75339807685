#!/usr/bin/env bash
# Proof latency under saturating ingest, for two server binaries in one run (issue 15 item 2).
# For each binary in turn:
#
#   1. starts `BIN serve` on a fresh data directory on a loopback port (no rate limit),
#   2. saturates it with two ingest loads in the background, both bounded in time and events:
#      receipts (`--wait-checkpoint --batch 10000`: every answer waits for a checkpoint and
#      carries 10,000 inclusion proofs) and plain durable ingest (`--batch 1000`),
#   3. after a warm-up, runs `sealog bench proofs`: records 1,000 events, then fetches their
#      proofs (`GET /v1/logs/default/events/{id}/proof`) in turn for SECONDS,
#   4. stops the server.
#
# Then prints proof latency p50/p99 and the ingest rates per binary, and the ratio AFTER/BEFORE.
# Every load generator is the AFTER binary's (or SEALOG_BENCH_CLIENT's) `bench`, so only the
# server differs.
#
# Usage: bench/proof_latency.sh BIN_BEFORE BIN_AFTER [SECONDS]   (default 20 s per binary)
# Method: BENCHMARKS.md, "Proof latency under saturating ingest".
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 BIN_BEFORE BIN_AFTER [SECONDS]" >&2
  exit 2
fi
before=$(realpath "$1")
after=$(realpath "$2")
seconds=${3:-20}
client=$(realpath "${SEALOG_BENCH_CLIENT:-$after}")
port=${SEALOG_BENCH_PORT:-7394}
concurrency=${SEALOG_BENCH_CONCURRENCY:-4}
root=$(mktemp -d)
server='' heavy='' plain='' proofs=''
cleanup() {
  kill $server $heavy $plain $proofs 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT

. "$(dirname "$0")/serve.sh"

# The number after "= " and before UNIT in the first line of FILE that has it, else "-".
rate() { grep -o "= [0-9.]* $2" "$1" | head -1 | awk '{print $2}' | grep . || echo -; }
# p50 or p99 of the "proof latency:" line of FILE, else "-".
latency() { sed -n "s/.*proof latency:.*$2 \([0-9.]*\) ms.*/\1/p" "$1" | grep . || echo -; }

# measure NAME BIN: one run against `BIN serve`; leaves its outputs in $root/NAME.
measure() {
  bin=$2
  work=$root/$1
  mkdir -p "$work"
  echo "== $1: $bin"
  start_server --rate-limit 0
  kill -0 "$server" || { cat "$work/serve.out"; return 1; }
  # The loads outlast the measurement: the warm-up, the recording and the window itself.
  local load_s=$((seconds + 8))
  "$client" bench ingest --server "$url" --token "$token" --wait-checkpoint --batch 10000 \
    --events 2000000 --seconds "$load_s" --concurrency "$concurrency" \
    >"$work/heavy.out" 2>&1 &
  heavy=$!
  "$client" bench ingest --server "$url" --token "$token" --batch 1000 \
    --events 4000000 --seconds "$load_s" --concurrency "$concurrency" \
    >"$work/plain.out" 2>&1 &
  plain=$!
  sleep 3
  "$client" bench proofs --server "$url" --token "$token" --events 1000 \
    --seconds "$seconds" --concurrency "$concurrency" >"$work/proofs.out" 2>&1 &
  proofs=$!
  wait "$proofs" || echo "   bench proofs failed"
  for load in heavy plain; do
    kill -0 "${!load}" 2>/dev/null ||
      echo "   warning: the $load ingest load ended before the proofs did; not saturated throughout"
  done
  wait "$heavy" || echo "   the receipts load failed"
  wait "$plain" || echo "   the plain load failed"
  heavy='' plain='' proofs=''
  sed 's/^/   /' "$work/proofs.out" "$work/heavy.out" "$work/plain.out"
  kill "$server"
  wait "$server" || true
  server=''
}

measure before "$before"
measure after "$after"

row() {
  local w=$root/$1
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$(latency "$w/proofs.out" p50)" \
    "$(latency "$w/proofs.out" p99)" "$(rate "$w/proofs.out" proofs/s)" \
    "$(rate "$w/heavy.out" events/s)" "$(rate "$w/plain.out" events/s)"
}
# ratio BEFORE AFTER: AFTER / BEFORE, else "-".
ratio() {
  awk -v b="$1" -v a="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f×", a / b; else print "-" }'
}
echo
echo "proof latency under saturating ingest, ${seconds} s per server, concurrency $concurrency each"
echo
echo '| server | proof p50 ms | proof p99 ms | proofs/s | ingest wait=checkpoint, events/s | ingest plain, events/s |'
echo '|---|---|---|---|---|---|'
row before
row after
b=$root/before a=$root/after
printf '| after / before | %s | %s | %s | %s | %s |\n' \
  "$(ratio "$(latency "$b/proofs.out" p50)" "$(latency "$a/proofs.out" p50)")" \
  "$(ratio "$(latency "$b/proofs.out" p99)" "$(latency "$a/proofs.out" p99)")" \
  "$(ratio "$(rate "$b/proofs.out" proofs/s)" "$(rate "$a/proofs.out" proofs/s)")" \
  "$(ratio "$(rate "$b/heavy.out" events/s)" "$(rate "$a/heavy.out" events/s)")" \
  "$(ratio "$(rate "$b/plain.out" events/s)" "$(rate "$a/plain.out" events/s)")"
