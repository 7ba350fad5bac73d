#!/usr/bin/env bash
# Where a request's time goes in the generated server, beyond the store
# work that baseline (b) measures alone.
#
# Starts the release hookstream-server on a free loopback port with a new
# database and loads it with `hookstream-bench load` at one request in
# flight. Meanwhile `perf record -e cpu-clock` samples the server; the
# software clock works where hardware counters are not available. Prints
# the share of samples per shared object and the top symbols. The release
# binaries must be built first:
#
#   cargo build --release -p hookstream-server -p hookstream-bench
#
# Environment:
#   PROFILE_SECONDS      measured seconds (default 10)
#   PROFILE_CONCURRENCY  requests in flight (default 1)
#   PROFILE_OUT          folder for perf.data and the reports (default: a
#                        new temporary folder, printed at the end)
set -euo pipefail
cd "$(dirname "$0")/.."

readonly SECONDS_MEASURED=${PROFILE_SECONDS:-10}
readonly CONCURRENCY=${PROFILE_CONCURRENCY:-1}
readonly SERVER=target/release/hookstream-server
readonly BENCH=target/release/hookstream-bench

for binary in "$SERVER" "$BENCH"; do
    if [[ ! -x $binary ]]; then
        echo "$binary is missing; run: cargo build --release -p hookstream-server -p hookstream-bench" >&2
        exit 1
    fi
done
if ! command -v perf >/dev/null; then
    echo "perf is missing; install Debian's linux-perf package" >&2
    exit 1
fi

out=${PROFILE_OUT:-$(mktemp -d)}
mkdir -p "$out"
server_pid=
stop_server() {
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" || true
    fi
}
trap stop_server EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUST_LOG=info "$SERVER" serve --listen "127.0.0.1:$port" --database "$out/hookstream.db" \
    >"$out/seed.json" 2>"$out/server.log" &
server_pid=$!
for _ in $(seq 100); do
    [[ -s $out/seed.json ]] && break
    sleep 0.1
done
if [[ ! -s $out/seed.json ]]; then
    echo "hookstream-server printed no credentials within 10 s; see $out/server.log" >&2
    exit 1
fi
read_seed() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$out/seed.json" "$1"
}

# The load warms the server up for one second before perf attaches, and
# goes on one second after perf stops.
"$BENCH" load --address "127.0.0.1:$port" --connection-id "$(read_seed connection_id)" \
    --api-key "$(read_seed api_key)" --concurrency "$CONCURRENCY" \
    --warmup 1 --duration "$((SECONDS_MEASURED + 2))" >"$out/load.txt" &
load_pid=$!
sleep 1.5
perf record --quiet -e cpu-clock -F 4000 -g -p "$server_pid" -o "$out/perf.data" \
    -- sleep "$SECONDS_MEASURED" 2>"$out/perf-record.log"
wait "$load_pid"

perf report -i "$out/perf.data" --stdio --no-children --sort dso -g none \
    --percent-limit 1 2>/dev/null | grep -v '^#' | grep -v '^$' >"$out/by-object.txt" || true
perf report -i "$out/perf.data" --stdio --no-children --sort sym -g none \
    --percent-limit 0.7 2>/dev/null | grep -v '^#' | grep -v '^$' >"$out/by-symbol.txt" || true

echo "== load: $(cat "$out/load.txt")"
echo "== samples by shared object"
cat "$out/by-object.txt"
echo "== top symbols"
head -n 40 "$out/by-symbol.txt"
echo "== perf.data and reports are in $out"
