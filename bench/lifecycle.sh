#!/usr/bin/env bash
# Private content, in one run on a fresh release server:
#
#   1. ingest of N events (default 100,000) whose input is a commitment, then of N whose input
#      is 256 B of private content the server encrypts (spread over 100 data subjects);
#   2. the erasure of one of those 100 subjects (its blobs spread over every batch), timed over
#      HTTP;
#   3. the erasure of one subject with B blobs (default 100,000), ingested into a log of its
#      own, timed over HTTP, and the same data directory checked by `sealog fsck` after.
#
# Usage: cargo build --release -p sealog && bench/lifecycle.sh [N] [B]
# Results and method: BENCHMARKS.md, "Private content and erasure".
set -euo pipefail

events=${1:-100000}
blobs=${2:-100000}
bin=${SEALOG_BIN:-target/release/sealog}
port=${SEALOG_BENCH_PORT:-7393}
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

. "$(dirname "$0")/serve.sh"
start_server --rate-limit 0

for input in commitment private; do
  echo "== ingest $events events, input: $input"
  "$bin" bench ingest --server "$url" --token "$token" --events "$events" --batch 1000 \
    --concurrency 8 --payload-bytes 300 --input "$input"
done
du -sh "$work/data/content" "$work/data/logs"
(ls "$work/data/content/default/packs" 2>/dev/null || true) | wc -l | sed 's/^/content packs: /'

echo "== erasure of one of the 100 subjects of those events (its blobs share every batch)"
curl -s -o /dev/null -w 'erasure: HTTP %{http_code} in %{time_total} s\n' -X POST \
  -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  "$url/v1/logs/default/subjects/pseudo-0/erasure" -d '{"reason": "benchmark"}'

echo "== erasure of one subject with $blobs blobs"
curl -sf -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  "$url/v1/logs" -d '{"name": "erase"}' >/dev/null
"$bin" bench ingest --server "$url" --log erase --token "$token" --events "$blobs" \
  --batch 1000 --concurrency 8 --payload-bytes 300 --input private --subjects 1
curl -s -o /dev/null -w 'erasure: HTTP %{http_code} in %{time_total} s\n' -X POST \
  -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  "$url/v1/logs/erase/subjects/pseudo-0/erasure" -d '{"reason": "benchmark"}'
du -sh "$work/data/content/erase"
kill "$server"
wait "$server" || true
"$bin" fsck --data "$work/data" && echo "fsck: clean (exit 0)"
