#!/usr/bin/env bash
# `make bench`: whole-stack benchmarks on loopback, bounded in time.
#   1. GET /api/users/self with an access token (gateway -> auth gRPC -> PostgreSQL)
#   2. GET /healthz on the gateway (no backend hop), in the same run for comparison
# Release build, an isolated stack (own database and ports), wrk as the load generator.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --release --workspace --bins

RUN_ID=b$$
export CVAT_DATA_DIR=$ROOT/.data/bench-$RUN_ID
mkdir -p "$CVAT_DATA_DIR"
export CVAT_DATABASE_URL="postgres://cvat:cvat@127.0.0.1:5432/cvat_bench_$RUN_ID"
export CVAT_QUEUE_PREFIX="bench-$RUN_ID" CVAT_S3_BUCKET="bench-$RUN_ID"
export CVAT_GATEWAY_LISTEN=127.0.0.1:28080 CVAT_AUTH_LISTEN=127.0.0.1:25051 CVAT_TASK_LISTEN=127.0.0.1:25052
export CVAT_AUTH_URL=http://127.0.0.1:25051 CVAT_TASK_URL=http://127.0.0.1:25052
export CVAT_ADMIN_USER=admin CVAT_ADMIN_PASSWORD=bench-admin-pass-1
export RUST_LOG=warn
URL=http://127.0.0.1:28080
PGPASSWORD=cvat psql -h 127.0.0.1 -U cvat -d postgres -q -c "CREATE DATABASE cvat_bench_$RUN_ID"
cleanup() {
  set +e
  bash deploy/local/stop-services.sh
  PGPASSWORD=cvat psql -h 127.0.0.1 -U cvat -d postgres -q -c "DROP DATABASE IF EXISTS cvat_bench_$RUN_ID WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$CVAT_DATA_DIR"
}
trap cleanup EXIT
CVAT_HEALTH_PORT_BASE=29100 bash deploy/local/services.sh target/release

key=$(curl -fsS -X POST "$URL/api/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$CVAT_ADMIN_PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
token=$(curl -fsS -X POST "$URL/api/auth/access_tokens" -H "Authorization: Token $key" -H 'Content-Type: application/json' \
  -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')

run() { # label path [header]
  local out
  if [ -n "${3:-}" ]; then
    out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "$3" "$URL$2")
  else
    out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$URL$2")
  fi
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
  printf '%-44s %12s req/s   p50 %-9s p99 %-9s %s\n' "$1" "$rps" "$p50" "$p99" "$errors"
}

echo "== whole stack, $CONNECTIONS connections, $DURATION each, $(nproc) cores"
run "GET /healthz (gateway only)" /healthz
run "GET /api/users/self (Bearer, auth gRPC, PG)" /api/users/self "Authorization: Bearer $token"

