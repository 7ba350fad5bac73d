#!/usr/bin/env bash
# Compares two server commands under the same load, in alternating pairs.
#
# Usage:
#   scripts/compare-servers.sh COMMAND_A COMMAND_B
#
# bash runs each command with `--listen 127.0.0.1:PORT --database FILE`
# appended, on a new database, so any build of `hookstream-server serve` or
# `hookstream-bench baseline-server` fits, with environment settings in
# front. Relative paths in a command start at the repository root. For
# example, the cost of the per-request log line:
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
#   COMPARE_OUT          new or empty folder for databases and logs
#                        (default: a new temporary folder, printed at the end)
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 COMMAND_A COMMAND_B (see the comment at the top of this script)" >&2
    exit 2
fi

# Reads a whole number of at least 1 from the environment variable NAME.
positive_setting() {
    local name=$1 default=$2 value
    value=${!name:-$default}
    if [[ ! $value =~ ^[1-9][0-9]*$ ]]; then
        echo "$name must be a whole number of at least 1, not '$value'" >&2
        exit 2
    fi
    echo "$value"
}

ROUNDS=$(positive_setting COMPARE_ROUNDS 12)
SECONDS_MEASURED=$(positive_setting COMPARE_SECONDS 5)
CONCURRENCY=$(positive_setting COMPARE_CONCURRENCY 1)
readonly ROUNDS SECONDS_MEASURED CONCURRENCY

# COMPARE_OUT is relative to the folder the script was started from.
if [[ -n ${COMPARE_OUT:-} ]]; then
    out=$(realpath -m -- "$COMPARE_OUT")
    mkdir -p -- "$out"
    if [[ -n $(ls -A -- "$out") ]]; then
        echo "COMPARE_OUT $out is not empty; choose a new folder so that both servers start on new databases" >&2
        exit 2
    fi
else
    out=$(mktemp -d)
fi

cd "$(dirname "$0")/.."
readonly BENCH=target/release/hookstream-bench
if [[ ! -x $BENCH ]]; then
    echo "$BENCH is missing; run: cargo build --release -p hookstream-server -p hookstream-bench" >&2
    exit 1
fi

# Each server runs in its own session, so stopping its process group also
# stops what its command started (for example a pipeline or `time`).
server_groups=()
stop_servers() {
    for group in "${server_groups[@]}"; do
        kill -TERM -- "-$group" 2>/dev/null || true
    done
    for group in "${server_groups[@]}"; do
        for _ in $(seq 100); do
            kill -0 -- "-$group" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$group" 2>/dev/null || true
    done
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

seed_field() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# Starts server NAME with COMMAND and waits for its seed output.
start_server() {
    local name=$1 command=$2 port pid
    port=$(free_port)
    echo "$port" >"$out/$name.port"
    setsid bash -c "$command \"\$@\"" "server-$name" \
        --listen "127.0.0.1:$port" --database "$out/$name.db" \
        >"$out/$name.seed.json" 2>"$out/$name.log" &
    pid=$!
    server_groups+=("$pid")
    for _ in $(seq 100); do
        [[ -s $out/$name.seed.json ]] && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "server $name exited before it printed its credentials; its log ends with:" >&2
            tail -n 20 "$out/$name.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "server $name printed no credentials within 10 s; see $out/$name.log" >&2
    exit 1
}

# Loads server NAME once and stores "REQUESTS_PER_SECOND P99_MS" in
# $out/NAME.result.
load_server() {
    local name=$1
    if ! "$BENCH" load --address "127.0.0.1:$(cat "$out/$name.port")" \
        --connection-id "$(seed_field "$out/$name.seed.json" connection_id)" \
        --api-key "$(seed_field "$out/$name.seed.json" api_key)" \
        --concurrency "$CONCURRENCY" --warmup 1 --duration "$SECONDS_MEASURED" \
        >"$out/$name.load.txt" 2>&1; then
        echo "the load on server $name failed:" >&2
        cat "$out/$name.load.txt" >&2
        echo "the server's log is $out/$name.log" >&2
        exit 1
    fi
    python3 - "$out/$name.load.txt" >"$out/$name.result" <<'PY'
import re, sys
report = open(sys.argv[1]).read()
rate = re.search(r"([0-9.]+) req/s", report)
p99 = re.search(r"p99 ([0-9.]+) ms", report)
errors = re.search(r"([0-9]+) errors", report)
if not (rate and p99 and errors):
    sys.exit(f"cannot read the load report: {report.strip()}")
if int(errors.group(1)) > 0 or float(rate.group(1)) == 0:
    sys.exit(f"the load had errors or no requests, so the round has no ratio: {report.strip()}")
print(rate.group(1), p99.group(1))
PY
}

start_server a "$1"
start_server b "$2"
echo "A: $1"
echo "B: $2"
: >"$out/ratios.txt"
for round in $(seq "$ROUNDS"); do
    load_server a
    load_server b
    # Prints the round and appends its two ratios to ratios.txt.
    python3 - "$round" "$out" <<'PY'
import sys
round_number, out = sys.argv[1:]
a_rate, a_p99 = map(float, open(f"{out}/a.result").read().split())
b_rate, b_p99 = map(float, open(f"{out}/b.result").read().split())
rate_ratio, p99_ratio = a_rate / b_rate, a_p99 / b_p99
print(f"round {round_number}: A {a_rate:.0f} req/s, p99 {a_p99:.3f} ms;"
      f" B {b_rate:.0f} req/s, p99 {b_p99:.3f} ms;"
      f" A/B req/s {rate_ratio:.3f}, p99 {p99_ratio:.3f}")
with open(f"{out}/ratios.txt", "a") as ratios:
    ratios.write(f"{rate_ratio} {p99_ratio}\n")
PY
done
python3 - "$out/ratios.txt" <<'PY'
import statistics, sys
rows = [tuple(map(float, line.split())) for line in open(sys.argv[1])]
rate_median = statistics.median(row[0] for row in rows)
p99_median = statistics.median(row[1] for row in rows)
print(f"median over {len(rows)} rounds: A/B req/s {rate_median:.3f}, p99 {p99_median:.3f}")
PY
echo "databases and logs are in $out"
