#!/usr/bin/env bash
# `make fuzz`: Schemathesis against the service as it runs in production (uvicorn, response validation
# off), every check and the stateful phase on. Exits non-zero on any failure.
#
#   FUZZ_DATABASE_URL  the database to serve (migrated here); default: a fresh SQLite file
#   FUZZ_PORT          default 8400
#   FUZZ_MAX_EXAMPLES  examples per operation and phase, default 100
#   FUZZ_MAX_TIME      seconds for the whole run (fuzzing and stateful repeat until it is spent), default 300
#   FUZZ_SEED          default: a random one, printed so that a failure can be replayed
#   FUZZ_REPORT        Schemathesis report formats (default junit), FUZZ_REPORT_DIR where (default: a temporary dir)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=.venv/bin

WORK=$(mktemp -d)
SERVER_PID=
stop() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export DATABASE_URL="${FUZZ_DATABASE_URL:-sqlite:///$WORK/fuzz.db}"
export BETTER_AUTH_SECRET=$($BIN/python -c 'import secrets; print(secrets.token_urlsafe(48))')
export HOST=127.0.0.1 PORT="${FUZZ_PORT:-8400}" VALIDATE_RESPONSES=false LOG_LEVEL=WARNING
# One fuzzing user sends thousands of requests a minute: the rate limits would answer most of them 429.
export RATE_LIMIT_READ=0 RATE_LIMIT_WRITE=0
SEED="${FUZZ_SEED:-$(( (RANDOM << 15) | RANDOM ))}"
BASE="http://$HOST:$PORT/api"

$BIN/alembic upgrade head
$BIN/python -m handlers serve > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 60); do
    curl -fsS "$BASE/health" > /dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
    sleep 0.5
done
curl -fsS "$BASE/health" > /dev/null || { echo "the service did not become healthy"; cat "$WORK/server.log"; exit 1; }

echo "fuzzing $BASE with seed $SEED (replay: FUZZ_SEED=$SEED make fuzz)"
status=0
SCHEMATHESIS_HOOKS=tests.fuzz.hooks $BIN/schemathesis --config-file tests/fuzz/schemathesis.toml run "$BASE/openapi.json" \
    --url "$BASE" \
    --checks all \
    --phases "${FUZZ_PHASES:-examples,coverage,fuzzing,stateful}" \
    --mode all \
    --max-examples "${FUZZ_MAX_EXAMPLES:-100}" \
    --max-time "${FUZZ_MAX_TIME:-300}" \
    --seed "$SEED" \
    --workers 1 \
    --report "${FUZZ_REPORT:-junit}" --report-dir "${FUZZ_REPORT_DIR:-$WORK/report}" || status=$?

# An unhandled error (logged at ERROR with its traceback, answered 500) fails the run even if no check saw it.
if grep -E 'ERROR|CRITICAL|Traceback' "$WORK/server.log"; then
    echo "the server logged errors (above)"; status=1
fi
exit $status
