# Sourced by the bench scripts: starts `$bin serve` on `$work/data` at port `$port` with any
# extra flags given, waits until it listens, and sets `server` (its pid), `token` and `url`.
start_server() {
  SEALOG_LOG=warn "$bin" serve --data "$work/data" --listen "127.0.0.1:$port" \
    --name bench.local "$@" >"$work/serve.out" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    [ -s "$work/data/admin.token" ] && grep -q "listening on" "$work/serve.out" && break
    sleep 0.1
  done
  token=$(cat "$work/data/admin.token")
  url="http://127.0.0.1:$port"
}
