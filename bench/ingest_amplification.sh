#!/usr/bin/env bash
# Memory under the ingest amplification attack, and the plain ingest rate, for two server
# binaries in one run (issue 17 item 4). For each binary in turn:
#
#   1. starts `BIN serve` on a fresh data directory on a loopback port (no rate limit),
#   2. sends ATTACKERS concurrent requests (default 20), each a ~16 KB gzip body that inflates
#      to one event of 15 MiB, and reads the server's peak RSS (VmHWM) after they are answered,
#   3. runs plain durable ingest (`bench ingest --batch 1000`) for SECONDS and reports events/s,
#   4. stops the server.
#
# Then prints both per binary and the ratio AFTER/BEFORE. The load generator is the AFTER
# binary's `bench`, so only the server differs.
#
# Usage: bench/ingest_amplification.sh BIN_BEFORE BIN_AFTER [SECONDS]   (default 10 s)
# Method: BENCHMARKS.md, "Memory under ingest amplification".
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 BIN_BEFORE BIN_AFTER [SECONDS]" >&2
  exit 2
fi
before=$(realpath "$1")
after=$(realpath "$2")
seconds=${3:-10}
attackers=${SEALOG_BENCH_ATTACKERS:-20}
port=${SEALOG_BENCH_PORT:-7395}
root=$(mktemp -d)
server=''
cleanup() {
  kill $server 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT

. "$(dirname "$0")/serve.sh"

bomb=$root/bomb.json.gz
{
  printf '{"events": [{"id": "0192f3a0-0000-7000-8000-000000000001", "ts": "2026-01-01T00:00:00Z",'
  printf ' "agent": {"id": "a"}, "action": "decision", "status": "ok", "attributes": {"blob": "'
  head -c $((15 << 20)) /dev/zero | tr '\0' x
  printf '"}}]}'
} | gzip -9 >"$bomb"

kib() { awk "/^$1:/ {print \$2}" "/proc/$server/status"; }

# measure NAME BIN: one run against `BIN serve`; leaves its outputs in $root/NAME.
measure() {
  bin=$2
  work=$root/$1
  mkdir -p "$work"
  start_server --rate-limit 0
  local idle
  idle=$(kib VmRSS)
  local pids=()
  for _ in $(seq "$attackers"); do
    curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' -H 'Content-Encoding: gzip' \
      --data-binary "@$bomb" "$url/v1/logs/default/events" >>"$work/codes" &
    pids+=($!)
  done
  wait "${pids[@]}"
  echo "$idle $(kib VmHWM)" >"$work/rss"
  "$after" bench ingest --server "$url" --token "$token" --batch 1000 --events 4000000 \
    --seconds "$seconds" --concurrency 4 >"$work/plain.out" 2>&1
  echo "== $1: $bin: answers $(sort "$work/codes" | uniq -c | xargs)"
  sed 's/^/   /' "$work/plain.out"
  kill "$server"
  wait "$server" || true
  server=''
}

measure before "$before"
measure after "$after"

rate() { grep -o "= [0-9.]* events/s" "$1" | head -1 | awk '{print $2}' | grep . || echo -; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
ratio() {
  awk -v b="$1" -v a="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f×", a / b; else print "-" }'
}
echo
echo "$attackers concurrent gzip bodies of $(stat -c %s "$bomb") bytes, each one 15 MiB event;"
echo "then plain ingest for ${seconds} s"
echo
echo '| server | RSS idle MiB | peak RSS MiB | plain ingest, events/s |'
echo '|---|---|---|---|'
for n in before after; do
  read -r idle peak <"$root/$n/rss"
  printf '| %s | %s | %s | %s |\n' "$n" "$(mib "$idle")" "$(mib "$peak")" "$(rate "$root/$n/plain.out")"
done
read -r _ bpeak <"$root/before/rss"
read -r _ apeak <"$root/after/rss"
printf '| after / before | | %s | %s |\n' "$(ratio "$bpeak" "$apeak")" \
  "$(ratio "$(rate "$root/before/plain.out")" "$(rate "$root/after/plain.out")")"
