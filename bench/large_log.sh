#!/usr/bin/env bash
# Does a big log slow ingest down, does the index keep up, and does memory stay flat?
#
#   1. starts a release `sealog serve` on a fresh data directory,
#   2. after a warm-up of 20,000 events, measures HTTP ingest of PROBE events into the
#      nearly empty log,
#   3. fills the log to FILL events (default 10,000,000), sampling the server's resident
#      memory and the index lag (`sealog_index_lag_entries`) every second,
#   4. measures the same PROBE ingest again with the log full, and prints the ratio,
#   5. reports disk use against leaf bytes.
#
# Usage: cargo build --release -p sealog && bench/large_log.sh [FILL] [PROBE]
# Results and method: BENCHMARKS.md, "A large log".
set -euo pipefail

fill=${1:-10000000}
probe=${2:-300000}
bin=${SEALOG_BIN:-target/release/sealog}
port=${SEALOG_BENCH_PORT:-7393}
work=${SEALOG_BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
server='' sampler=''
trap 'kill "$server" "$sampler" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

. "$(dirname "$0")/serve.sh"
start_server --rate-limit 0
ingest() {
  "$bin" bench ingest --server "$url" --token "$token" --events "$1" --batch 1000 \
    --concurrency 4 --payload-bytes 300
}

# One line per second: elapsed s, RSS KiB, index lag, tree size.
(
  start=$(date +%s)
  while kill -0 "$server" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
    metrics=$(curl -s "$url/metrics" -H "Authorization: Bearer $token" || true)
    lag=$(awk '/^sealog_index_lag_entries/ {print $2}' <<<"$metrics")
    size=$(awk '/^sealog_tree_size/ {print $2}' <<<"$metrics")
    echo "$(($(date +%s) - start)) $rss ${lag:-?} ${size:-?}"
    sleep 1
  done
) >"$work/samples" &
sampler=$!

echo "== warm-up: 20,000 events"
ingest 20000 >/dev/null
echo "== probe on the (nearly) empty log"
ingest "$probe" | tee "$work/empty.out"
echo "== fill to $fill events"
ingest $((fill - probe - 20000)) | tail -3
echo "== waiting for the index to catch up"
for _ in $(seq 600); do
  lag=$(curl -s "$url/metrics" -H "Authorization: Bearer $token" |
    awk '/^sealog_index_lag_entries/ {print $2}')
  [ "${lag:-1}" = "0" ] && break
  sleep 1
done
echo "== probe on the full log"
ingest "$probe" | tee "$work/full.out"

rate() { grep -o '= [0-9]* events/s' "$1" | grep -o '[0-9]*'; }
empty=$(rate "$work/empty.out")
full=$(rate "$work/full.out")
python3 - "$empty" "$full" "$work/samples" <<'EOF'
import sys
empty, full, samples = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
print(f"ingest: empty log {empty:,} events/s, full log {full:,} events/s, ratio {full / empty:.2f}")
rows = [l.split() for l in open(samples) if len(l.split()) == 4 and l.split()[2] != "?"]
rss = [int(r[1]) for r in rows]
lag = [int(float(r[2])) for r in rows]
print(f"server RSS: min {min(rss) / 1024:.0f} MiB, max {max(rss) / 1024:.0f} MiB, "
      f"last {rss[-1] / 1024:.0f} MiB over {len(rows)} samples")
print(f"index lag: max {max(lag):,} entries, median {sorted(lag)[len(lag) // 2]:,}")
EOF
kill "$server"
wait "$server" || true
leaf_bytes=$(du -sb "$work/data/logs/default/entries" | cut -f1)
total=$(du -sb "$work/data" | cut -f1)
python3 -c "print(f'disk: {$total / 2**30:.2f} GiB in all, {$total / $leaf_bytes:.2f}x the entry segments')"
cp "$work/samples" "${SEALOG_BENCH_SAMPLES:-/tmp/large_log.samples}"
