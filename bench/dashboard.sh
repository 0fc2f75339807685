#!/usr/bin/env bash
# Times the dashboard's main pages in a real browser with N events in the log (default
# 1,000,000):
#
#   1. starts a release `sealog serve` on a fresh data directory,
#   2. fills the log with `sealog bench ingest` (~300-byte events, batches of 1,000) and waits
#      until the query index covers every event,
#   3. drives Debian's headless Chromium over the DevTools protocol (the driver of the
#      dashboard's end-to-end tests: the ignored test `render_times` in
#      crates/sealog-cli/tests/dashboard_render.rs), signed in with the admin key and the log key
#      pinned, through the logs overview, the events explorer without and with filters, an
#      event with its proof verified in the browser, and a session, RUNS times each (default 5),
#      and prints a table of the times until each page shows its data.
#
# The app records a User Timing measure, `sealog:page`, when a page has drawn its data; the
# table gives the median (min–max) of it per page. Nothing is asserted about speed.
#
# With SEALOG_BIN_BEFORE set to another build of `sealog`, the pages are timed first with that
# server and then with SEALOG_BIN, on the same data directory, in the same run.
#
# Usage: cargo build --release -p sealog && bench/dashboard.sh [EVENTS] [RUNS]
# Needs Chromium (Debian: apt-get install chromium; another binary: CHROMIUM=/path/to/chrome).
# Results and method: BENCHMARKS.md, "Dashboard rendering with 1 M events".
set -euo pipefail
cd "$(dirname "$0")/.."

events=${1:-1000000}
runs=${2:-5}
bin=${SEALOG_BIN:-target/release/sealog}
port=${SEALOG_BENCH_PORT:-7392}
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

# The browser driver is a test target; build it before the server takes the machine's time.
cargo test -p sealog --test dashboard_render --no-run 2>&1 | tail -1

. bench/serve.sh
start_server --rate-limit 0

echo "== ingest $events events"
"$bin" bench ingest --server "$url" --token "$token" --events "$events" --batch 1000 \
  --concurrency 4 --payload-bytes 300

echo "== waiting for the query index"
for _ in $(seq 600); do
  lag=$(curl -s -H "Authorization: Bearer $token" "$url/v1/logs/default" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["index_lag"])')
  [ "$lag" = 0 ] && break
  sleep 0.5
done
du -sh "$work/data"

pages() {
  echo "== pages, $runs runs each, server $bin"
  SEALOG_BENCH_URL="$url" SEALOG_BENCH_TOKEN="$token" SEALOG_BENCH_RUNS="$runs" \
    cargo test -p sealog --test dashboard_render -- --ignored --exact render_times --nocapture \
    2>&1 | grep -E '^(\||log size)'
  echo "histogram requests alone (curl, 10 each, median):"
  for q in "" "agent=bench-3" "status=error"; do
    for _ in $(seq 10); do
      curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $token" \
        "$url/v1/logs/default/events/histogram?buckets=48&$q"
    done | sort -n | sed -n 5p | awk -v q="${q:-no filter}" '{printf "  %s: %.1f ms\n", q, $1 * 1000}'
  done
}

if [ -n "${SEALOG_BIN_BEFORE:-}" ]; then
  after=$bin
  kill "$server"
  wait "$server" || true
  bin=$SEALOG_BIN_BEFORE
  start_server --rate-limit 0
  pages
  kill "$server"
  wait "$server" || true
  bin=$after
  start_server --rate-limit 0
fi
pages
