#!/usr/bin/env bash
# The whole test suite against real dependencies (called by `make test`):
#   1. dependencies (PostgreSQL, Redis, RabbitMQ, S3) via deploy/local/deps.sh
#   2. the deployment files checked offline (deploy/check.sh), lints, unit tests of every crate
#   3. an isolated stack of the five services: its own database, queue prefix, bucket,
#      ports (a free block of 100 found at start, so two runs can overlap) and its own
#      Redis (which the outage test stops and restarts)
#   4. Rust end-to-end tests (tests/it) and the cvat-sdk/cvat-cli compatibility suite
#   5. a bounded schemathesis run over /api/schema/ (tests/schema/run.sh)
# `tests/run.sh --stack` only starts the stack (after a build) and keeps it until Ctrl-C,
# printing its address: for running single tests or the schema check by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STACK_ONLY=$([ "${1:-}" = "--stack" ] && echo 1 || echo "")
bash deploy/local/deps.sh

if [ -z "$STACK_ONLY" ]; then
  echo "== deployment files"
  bash deploy/check.sh

  echo "== formatting and lints"
  cargo fmt --all -- --check
  cargo clippy --workspace --all-targets -- -D warnings

  echo "== unit tests"
  cargo test --workspace --exclude cvat-e2e
fi

echo "== building the services"
cargo build --workspace --bins

# A block of 100 ports nobody listens on, below the ephemeral range: BASE+80 gateway,
# +51 auth, +52 task, +79 Redis, +15 the user's S3 server (127.0.0.2), +17 the test's
# OTLP collector, +0..+4 health ports, +20..+29 workers the tests start, +30..+45 extra
# auth services and gateways some tests start, +46 a service run to migrate and exit,
# +47/+48 a gateway a test stops.
free_block() {
  local base port
  for _ in $(seq 1 50); do
    base=$(( (RANDOM % 120 + 200) * 100 ))
    for port in $(seq "$base" $((base + 99))); do
      if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.2/$port) 2>/dev/null; then
        continue 2
      fi
    done
    echo "$base"
    return
  done
  echo "no free block of ports found" >&2
  exit 1
}
BASE=$(free_block)
export CVAT_TEST_PORT_BASE=$BASE
echo "== test stack on ports $BASE..$((BASE + 99))"

# Where deploy/local/deps.sh keeps the local object store, before this run sets its own data dir.
LOCAL_S3_DIR=${CVAT_DATA_DIR:-$ROOT/.data}/s3
RUN_ID=t$$
export CVAT_DATA_DIR=$ROOT/.data/test-$RUN_ID
mkdir -p "$CVAT_DATA_DIR"
export CVAT_DATABASE_URL="postgres://cvat:cvat@127.0.0.1:5432/cvat_test_$RUN_ID"
export CVAT_QUEUE_PREFIX="test-$RUN_ID"
export CVAT_S3_BUCKET="test-$RUN_ID"
export CVAT_GATEWAY_LISTEN=127.0.0.1:$((BASE + 80))
export CVAT_AUTH_LISTEN=127.0.0.1:$((BASE + 51)) CVAT_TASK_LISTEN=127.0.0.1:$((BASE + 52))
export CVAT_AUTH_URL=http://$CVAT_AUTH_LISTEN CVAT_TASK_URL=http://$CVAT_TASK_LISTEN
export CVAT_TEST_REDIS_PORT=$((BASE + 79))
export CVAT_REDIS_URL=redis://127.0.0.1:$CVAT_TEST_REDIS_PORT/0
export CVAT_ADMIN_USER=admin CVAT_ADMIN_PASSWORD=test-admin-pass-1
# Development mode, but with credentials of this run's own, so the tests prove the
# configured ones are what the services check (tests/it/foundations.rs).
export CVAT_DEV_MODE=1
export CVAT_SERVICE_TOKEN=service-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export CVAT_WORKER_TOKEN=worker-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
# A small pool: many concurrent requests must queue for connections, never deadlock.
export CVAT_DB_POOL_SIZE=4
export CVAT_LOGIN_MAX_FAILURES=5 CVAT_LOGIN_WINDOW_SECONDS=60
export CVAT_MAIL_DIR=$CVAT_DATA_DIR/mail
export CVAT_SHARE_DIR=$CVAT_DATA_DIR/share
# Small enough for tests/it/task_data.rs to exceed; the SDK sends bigger files over TUS.
export CVAT_MAX_UPLOAD_FILE_BYTES=$((16 * 1024 * 1024))
export CVAT_MAX_ANNOTATION_BYTES=$((4 * 1024 * 1024))
export CVAT_BODY_IDLE_TIMEOUT_SECONDS=2
# tests/it/remote_data.rs serves remote_files from 127.0.0.2, the one internal network allowed.
export CVAT_REMOTE_ALLOWED_NETWORKS=127.0.0.2/32 CVAT_REMOTE_MAX_BYTES=$((2 * 1024 * 1024)) CVAT_REMOTE_TIMEOUT_SECONDS=3
export CVAT_TEST_URL=http://$CVAT_GATEWAY_LISTEN
# tests/it/outage.rs starts and kills extra media workers from here.
export CVAT_TEST_BIN_DIR=$ROOT/target/debug
# tests/it/otlp.rs runs a collector here while the suite runs.
export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$((BASE + 17))

PGPASSWORD=cvat psql -h 127.0.0.1 -U cvat -d postgres -q -c "CREATE DATABASE cvat_test_$RUN_ID"
# A user's own S3 server for cloud storages, on 127.0.0.2 (the allowed internal network;
# the server's own store on 127.0.0.1 stays refused). s3s-fs keeps a bucket as a directory
# and an object as a file, so tests put objects by writing files.
USER_S3_PORT=$((BASE + 15))
export CVAT_TEST_USER_S3=http://127.0.0.2:$USER_S3_PORT CVAT_TEST_USER_S3_DIR=$CVAT_DATA_DIR/user-s3
export CVAT_TEST_USER_S3_KEY=user-key CVAT_TEST_USER_S3_SECRET=user-secret-key-1
mkdir -p "$CVAT_TEST_USER_S3_DIR"
# The local object store deps.sh built (TCP_NODELAY added).
S3FS_BIN=${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs-cvat
nohup "$S3FS_BIN" --host 127.0.0.2 --port $USER_S3_PORT --access-key $CVAT_TEST_USER_S3_KEY --secret-key $CVAT_TEST_USER_S3_SECRET \
  "$CVAT_TEST_USER_S3_DIR" >"$CVAT_DATA_DIR/user-s3.log" 2>&1 &
USER_S3_PID=$!
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.2/$USER_S3_PORT) 2>/dev/null && break; sleep 0.1; done
redis-server --bind 127.0.0.1 --port $CVAT_TEST_REDIS_PORT --save "" --appendonly no --daemonize yes \
  --dir "$CVAT_DATA_DIR" --logfile "$CVAT_DATA_DIR/redis.log"

cleanup() {
  set +e
  bash deploy/local/stop-services.sh
  redis-cli -p $CVAT_TEST_REDIS_PORT shutdown nosave >/dev/null 2>&1
  kill $USER_S3_PID 2>/dev/null
  PGPASSWORD=cvat psql -h 127.0.0.1 -U cvat -d postgres -q -c "DROP DATABASE IF EXISTS cvat_test_$RUN_ID WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$CVAT_DATA_DIR"
  # The bucket, when the store is the local s3s-fs (a directory per bucket): runs add up.
  if [ -d "$LOCAL_S3_DIR/$CVAT_S3_BUCKET" ]; then rm -rf "${LOCAL_S3_DIR:?}/$CVAT_S3_BUCKET"; fi
}
trap cleanup EXIT

export CVAT_HEALTH_PORT_BASE=$BASE
bash deploy/local/services.sh target/debug

if [ -n "$STACK_ONLY" ]; then
  echo "== the test stack answers on $CVAT_TEST_URL (admin / $CVAT_ADMIN_PASSWORD); its environment:"
  env | grep -E '^(CVAT_|OTEL_)' | sort >"$CVAT_DATA_DIR/env"
  echo "   $CVAT_DATA_DIR/env   Ctrl-C stops it"
  trap 'kill $SLEEPER 2>/dev/null; exit 0' INT TERM
  sleep infinity &
  SLEEPER=$!
  wait $SLEEPER
fi

echo "== end-to-end tests"
# The outage tests stop dependencies of the whole stack, and the 200,000-frame task keeps
# the stack's one media worker busy for minutes, so they run alone, afterwards.
cargo test -p cvat-e2e -- --test-threads=4 --skip outage:: --skip a_task_of_200000_frames
cargo test -p cvat-e2e -- --test-threads=1 outage:: a_task_of_200000_frames

echo "== client compatibility suite (cvat-sdk / cvat-cli 2.80.0)"
bash tests/compat/run.sh
# Memory at rest after the suites (debug builds; `make bench` reports release builds).
bash tests/rss.sh "$CVAT_DATA_DIR/services.pids"

echo "== schema conformance (schemathesis)"
bash tests/schema/run.sh
