#!/usr/bin/env bash
# Exports and verifies an evidence pack of N events (default 1,000,000) end to end:
#
#   1. starts a release `sealog serve` on a fresh data directory,
#   2. fills the log with `sealog bench ingest` (~300-byte events, batches of 1,000),
#   3. times `sealog export` of the whole log (the server builds and self-checks the pack),
#   4. times `sealog verify` of the pack (ZIP read, JSON parsing, leaf hashes, inclusion proofs,
#      manifest digests, sessions) on every core, with its peak memory,
#   5. and, as the physical baseline of the same run, `sha256sum` of the same pack.
#
# Usage: cargo build --release -p sealog && bench/evidence.sh [EVENTS]
# Results and method: BENCHMARKS.md, "Evidence packs".
set -euo pipefail

events=${1:-1000000}
bin=${SEALOG_BIN:-target/release/sealog}
port=${SEALOG_BENCH_PORT:-7391}
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

. "$(dirname "$0")/serve.sh"
start_server

echo "== ingest $events events"
"$bin" bench ingest --server "$url" --token "$token" --events "$events" --batch 1000 \
  --concurrency 4 --payload-bytes 300

now() { date +%s.%N; }

echo "== export"
start=$(now)
"$bin" export --server "$url" --token "$token" -o "$work/pack.zip"
export_s=$(python3 -c "print($(now) - $start)")
ls -l "$work/pack.zip"

vkey=$(curl -s -H "Authorization: Bearer $token" "$url/v1/logs/default" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["vkey"])')
kill "$server"
wait "$server" || true

echo "== verify"
start=$(now)
/usr/bin/time -f "verify peak RSS %M KiB" "$bin" verify "$work/pack.zip" --log-key "$vkey" |
  head -3
verify_s=$(python3 -c "print($(now) - $start)")

echo "== baseline: sha256sum of the same pack"
start=$(now)
sha256sum "$work/pack.zip" >/dev/null
hash_s=$(python3 -c "print($(now) - $start)")

python3 - "$events" "$export_s" "$verify_s" "$hash_s" <<'EOF'
import sys
n, export_s, verify_s, hash_s = int(sys.argv[1]), *map(float, sys.argv[2:])
print(f"export: {export_s:.2f} s ({n / export_s:,.0f} events/s)")
print(f"verify: {verify_s:.2f} s ({n / verify_s:,.0f} events/s)")
print(f"sha256sum baseline: {hash_s:.2f} s; verify / baseline = {verify_s / hash_s:.1f}x")
EOF
