#!/usr/bin/env bash
# Compares two server commands under the same load, in alternating pairs.
#
# Usage:
#   scripts/compare-servers.sh COMMAND_A COMMAND_B
#
# Each command is run by bash with `--listen 127.0.0.1:PORT --database FILE`
# appended, on a new database, so any build of `hookstream-server serve` or
# `hookstream-bench baseline-server` fits, with environment settings in
# front. For example, the cost of the per-request log line:
#
#   scripts/compare-servers.sh \
#       'RUST_LOG=warn target/release/hookstream-server serve' \
#       'RUST_LOG=info target/release/hookstream-server serve'
#
# Both servers run for the whole comparison. Each round loads A, then B,
# with `hookstream-bench load`, and prints both results and the ratios A/B.
# The last line gives the median ratios over all rounds: pairs that run
# back to back share the machine's load at that moment, so the median of
# their ratios moves less than the ratio of separate medians.
#
# Environment:
#   COMPARE_ROUNDS       pairs of loads (default 12)
#   COMPARE_SECONDS      measured seconds per load (default 5)
#   COMPARE_CONCURRENCY  requests in flight (default 1)
#   COMPARE_OUT          folder for databases and logs (default: a new
#                        temporary folder, printed at the end)
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -ne 2 ]]; then
    echo "usage: $0 COMMAND_A COMMAND_B (see the comment at the top of this script)" >&2
    exit 2
fi
readonly ROUNDS=${COMPARE_ROUNDS:-12}
readonly SECONDS_MEASURED=${COMPARE_SECONDS:-5}
readonly CONCURRENCY=${COMPARE_CONCURRENCY:-1}
readonly BENCH=target/release/hookstream-bench
if [[ ! -x $BENCH ]]; then
    echo "$BENCH is missing; run: cargo build --release -p hookstream-server -p hookstream-bench" >&2
    exit 1
fi

out=${COMPARE_OUT:-$(mktemp -d)}
mkdir -p "$out"
pids=()
stop_servers() {
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            wait "$pid" || true
        fi
    done
}
trap stop_servers EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

seed_field() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# Starts server NAME with COMMAND and waits for its seed output.
start_server() {
    local name=$1 command=$2 port
    port=$(free_port)
    echo "$port" >"$out/$name.port"
    bash -c "$command --listen 127.0.0.1:$port --database '$out/$name.db'" \
        >"$out/$name.seed.json" 2>"$out/$name.log" &
    pids+=("$!")
    for _ in $(seq 100); do
        [[ -s $out/$name.seed.json ]] && return 0
        sleep 0.1
    done
    echo "server $name printed no credentials within 10 s; see $out/$name.log" >&2
    exit 1
}

# Loads server NAME once and prints "REQUESTS_PER_SECOND P99_MS".
load_server() {
    local name=$1 report
    if ! report=$("$BENCH" load --address "127.0.0.1:$(cat "$out/$name.port")" \
        --connection-id "$(seed_field "$out/$name.seed.json" connection_id)" \
        --api-key "$(seed_field "$out/$name.seed.json" api_key)" \
        --concurrency "$CONCURRENCY" --warmup 1 --duration "$SECONDS_MEASURED"); then
        echo "the load on server $name failed; see $out/$name.log" >&2
        exit 1
    fi
    python3 -c '
import re, sys
report = sys.argv[1]
print(re.search(r"([0-9.]+) req/s", report).group(1), re.search(r"p99 ([0-9.]+) ms", report).group(1))
' "$report"
}

start_server a "$1"
start_server b "$2"
echo "A: $1"
echo "B: $2"
for round in $(seq "$ROUNDS"); do
    read -r a_rate a_p99 <<<"$(load_server a)"
    read -r b_rate b_p99 <<<"$(load_server b)"
    echo "$round $a_rate $a_p99 $b_rate $b_p99"
done | python3 -c '
import statistics, sys
rate_ratios, p99_ratios = [], []
for line in sys.stdin:
    round_number, a_rate, a_p99, b_rate, b_p99 = line.split()
    rate_ratios.append(float(a_rate) / float(b_rate))
    p99_ratios.append(float(a_p99) / float(b_p99))
    print(f"round {round_number}: A {a_rate} req/s, p99 {a_p99} ms; B {b_rate} req/s, p99 {b_p99} ms;"
          f" A/B req/s {rate_ratios[-1]:.3f}, p99 {p99_ratios[-1]:.3f}", flush=True)
if not rate_ratios:
    sys.exit("no round finished, so there is no ratio to report")
print(f"median over {len(rate_ratios)} rounds: A/B req/s {statistics.median(rate_ratios):.3f},"
      f" p99 {statistics.median(p99_ratios):.3f}")
'
echo "databases and logs are in $out"
