#!/usr/bin/env bash
# Subject access in a large log: N events (default 200,000) without a subject, then 10 events
# of a subject with a short pseudo id (found by the query index's subject term) and 10 of one
# with a 129-byte pseudo id (too long to be a search term, so found by a scan of the whole log,
# which is what every subject export did before the index was used). Each subject's export
# (`GET /v1/logs/default/subjects/{id}/export`) is timed R times (default 5).
#
# Usage: cargo build -p sealog && SEALOG_BIN=target/debug/sealog bench/subject_export.sh [N] [R]
# Results and method: BENCHMARKS.md, "Subject access with the query index".
set -euo pipefail

events=${1:-200000}
rounds=${2:-5}
bin=${SEALOG_BIN:-target/release/sealog}
port=${SEALOG_BENCH_PORT:-7394}
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

. "$(dirname "$0")/serve.sh"
start_server --rate-limit 0

"$bin" bench ingest --server "$url" --token "$token" --events "$events" --batch 1000 \
  --concurrency 4 --payload-bytes 300 --input commitment
short=pseudo-indexed
long=pseudo-$(printf 'x%.0s' $(seq 122))
for subject in "$short" "$long"; do
  body=$(for i in $(seq 10); do
    printf '{"id":"%s","ts":"2026-01-01T00:00:00Z","agent":{"id":"bench"},"action":"decision","status":"ok","input":{"private":"prompt %s"},"context":{"subject":{"pseudo_id":"%s"}}}\n' \
      "$(python3 -c 'import uuid,time,os; t=int(time.time()*1000); b=t.to_bytes(6,"big")+os.urandom(10); b=bytearray(b); b[6]=0x70|(b[6]&15); b[8]=0x80|(b[8]&63); print(uuid.UUID(bytes=bytes(b)))')" "$i" "$subject"
  done | paste -sd, -)
  curl -sf -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    "$url/v1/logs/default/events" -d "{\"events\": [$body]}" >/dev/null
done
# Let the index catch up, so that the short subject's export is the index's answer.
until curl -sf -H "Authorization: Bearer $token" "$url/v1/logs/default" |
  python3 -c 'import json,sys; l=json.load(sys.stdin); sys.exit(l["index_watermark"] != l["size"])'; do
  sleep 0.2
done
curl -sf -H "Authorization: Bearer $token" "$url/v1/logs/default" |
  python3 -c 'import json,sys; print("log size:", json.load(sys.stdin)["size"])'
for subject in "$short" "$long"; do
  for _ in $(seq "$rounds"); do
    curl -sf -o "$work/pack.zip" -w "${#subject}-byte pseudo id: HTTP %{http_code}, %{size_download} bytes in %{time_total} s\n" \
      -H "Authorization: Bearer $token" "$url/v1/logs/default/subjects/$subject/export"
  done
done
