#!/usr/bin/env bash
# Property-based tests of the HTTP API with schemathesis.
#
# Starts hookstream-server on a free loopback port with a new database,
# reads the seeded credentials from its stdout and runs every schemathesis
# check against the spec that the server serves at /openapi.json. Exits
# non-zero on any failure, when fewer than MIN_TEST_CASES test cases ran,
# or when the server logged an error.
#
# Environment:
#   HOOKSTREAM_SERVER           server binary to test; when unset, the script
#                               builds the debug binary with cargo
#   SCHEMATHESIS_MAX_EXAMPLES   test cases per phase (default 1000)
#   SCHEMATHESIS_SEED           generation seed (default 20240601, so that CI
#                               runs repeat); schemathesis prints it either way
set -euo pipefail
cd "$(dirname "$0")/.."

readonly SCHEMATHESIS_VERSION=4.32.5
readonly VENV=target/schemathesis-venv
readonly MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-1000}
readonly SEED=${SCHEMATHESIS_SEED:-20240601}
readonly MIN_TEST_CASES=1000
# Seconds to wait for the server to print its credentials.
readonly START_TIMEOUT=30

echo "== schemathesis $SCHEMATHESIS_VERSION"
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "version $SCHEMATHESIS_VERSION"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
schemathesis=$(realpath "$VENV/bin/schemathesis")

if [[ -n ${HOOKSTREAM_SERVER:-} ]]; then
    server_binary=$(realpath "$HOOKSTREAM_SERVER")
else
    cargo build --locked -p hookstream-server --bin hookstream-server
    server_binary=$(realpath "${CARGO_TARGET_DIR:-target}/debug/hookstream-server")
fi

workdir=$(mktemp -d)
server_pid=
stop_server() {
    local status=$?
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" || true
    fi
    if [[ $status -ne 0 && -f $workdir/server.log ]]; then
        echo "-- last lines of the server log:"
        tail -n 40 "$workdir/server.log"
    fi
    rm -rf "$workdir"
    exit "$status"
}
trap stop_server EXIT

# The kernel picks a free port; the server binds it right after, so another
# process taking it in between is possible but unlikely.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base_url="http://127.0.0.1:$port"
RUST_LOG=info "$server_binary" serve --listen "127.0.0.1:$port" --database "$workdir/hookstream.db" \
    >"$workdir/seed.json" 2>"$workdir/server.log" &
server_pid=$!

# `serve` on a new database prints the seeded tenant as one JSON line
# before it binds the port.
for ((waited = 0; waited < START_TIMEOUT * 10; waited++)); do
    [[ -s $workdir/seed.json ]] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "hookstream-server exited before printing its credentials" >&2
        exit 1
    fi
    sleep 0.1
done
if [[ ! -s $workdir/seed.json ]]; then
    echo "hookstream-server printed no credentials within ${START_TIMEOUT}s" >&2
    exit 1
fi
read_seed() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$workdir/seed.json" "$1"
}
api_key=$(read_seed api_key)
connection_id=$(read_seed connection_id)

# The seeded connection id fills the `id` path parameter of most test cases,
# so that they reach the update; the others get generated ids.
#
# A schema-valid body may still break a connection rule that the schema
# cannot express (an operator and a value that do not fit, a JSONata
# syntax error, `transform_enabled` without an expression, `enabled`
# against `status`). positive_data_acceptance therefore accepts 400, and
# the custom check below requires such a 400 to name only those rules.
# A body over the server's size limit gets the spec's 413.
cat >"$workdir/schemathesis.toml" <<EOF
hooks = "$workdir/hooks.py"

[dictionaries.connection_ids]
values = ["$connection_id"]

[parameters]
"path.id" = { dictionary = "connection_ids", probability = 0.8 }

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "400", "401", "404"]

[checks.negative_data_rejection]
expected-statuses = ["400", "401", "404", "405", "413", "415"]
EOF
cat >"$workdir/hooks.py" <<'EOF'
import schemathesis

# The `details[].code` values of the server's connection rules.
CONNECTION_RULE_CODES = {"conflict", "field", "op_mismatch", "invalid_jsonata", "missing_expression"}


@schemathesis.check
def schema_valid_rejected_only_by_rules(ctx, response, case):
    """Fail a schema-valid request whose 400 names a schema violation."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    details = response.json().get("details") or []
    codes = {detail.get("code") for detail in details}
    if not codes or not codes <= CONNECTION_RULE_CODES:
        raise AssertionError(f"a schema-valid request was rejected with codes {sorted(codes)}")
    return None
EOF

started=$SECONDS
# schemathesis keeps its example database in the working directory, so it
# runs in the temporary directory. `--url` replaces the spec's public
# server URL, so every request goes to the loopback server.
(
    cd "$workdir"
    "$schemathesis" --config-file "$workdir/schemathesis.toml" run "$base_url/openapi.json" \
        --url "$base_url/v1" \
        --header "X-API-Key: $api_key" \
        --checks all \
        --max-examples "$MAX_EXAMPLES" \
        --seed "$SEED" \
        --wait-for-schema 30 \
        --request-timeout 30 \
        --no-color
) | tee "$workdir/schemathesis.log"
echo "schemathesis ran for $((SECONDS - started))s"

# The summary line has the form `1146 generated, 1146 passed, 4 skipped`.
summary=$(grep -E '^ *[0-9]+ generated' "$workdir/schemathesis.log" | tail -n 1)
test_cases=$(grep -oE '[0-9]+ generated' <<<"$summary" | cut -d' ' -f1)
passed=$(grep -oE '[0-9]+ passed' <<<"$summary" | cut -d' ' -f1)
requests=$(grep -c 'finished processing request' "$workdir/server.log" || true)
echo "schemathesis generated ${test_cases:-no} test cases; the server responded to $requests requests"
if [[ -z $test_cases || $test_cases -lt $MIN_TEST_CASES ]]; then
    echo "schemathesis generated fewer than $MIN_TEST_CASES test cases; raise SCHEMATHESIS_MAX_EXAMPLES" >&2
    exit 1
fi
if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "hookstream-server exited during the run" >&2
    exit 1
fi
if grep -qE ' (ERROR|WARN) ' "$workdir/server.log"; then
    grep -E ' (ERROR|WARN) ' "$workdir/server.log" | head -n 20 >&2 || true
    echo "hookstream-server logged the errors above" >&2
    exit 1
fi
echo "schemathesis: ${passed:-0} passed, 0 failed"
