#!/usr/bin/env bash
# Installs (when missing) and starts the four dependencies on loopback: PostgreSQL,
# Redis, RabbitMQ and an S3-compatible object store (s3s-fs). Idempotent: a dependency
# whose port already answers is used as it is. Data lives under $CVAT_DATA_DIR (.data).
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${CVAT_DATA_DIR:-$PWD/.data}
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
PG_PORT=5432 REDIS_PORT=6379 AMQP_PORT=5672 S3_PORT=8014
S3FS_VERSION=0.14.1

log() { printf '[deps] %s\n' "$*"; }
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { # port name seconds
  for _ in $(seq 1 "$3"); do answers "$1" && return 0; sleep 1; done
  log "$2 did not start on port $1"; return 1
}

apt_updated=0
install_pkg() { # package
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  log "installing $1"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}
need_pkg() { # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  [ -x "$1" ] && return 0
  install_pkg "$2"
}
need_lib() { # pkg-config name, package
  pkg-config --exists "$1" || install_pkg "$2"
}

# PostgreSQL and RabbitMQ run as their own system users, which must be able to reach their
# data directory; when the checkout lives somewhere they cannot enter (e.g. under /root),
# their data goes to /var/lib/cvat-local/<checkout id>/ instead.
service_dir() { # name user
  if su "$2" -s /bin/sh -c "test -x '$DATA'" 2>/dev/null; then
    echo "$DATA/$1"
  else
    echo "/var/lib/cvat-local/$(printf '%s' "$DATA" | md5sum | cut -c1-12)/$1"
  fi
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

start_postgres() {
  if answers $PG_PORT; then log "postgresql: using the server on :$PG_PORT"; else
    [ -n "$(pg_bin)" ] || need_pkg psql postgresql
    local bin; bin=$(pg_bin)
    local dir
    dir=$(service_dir postgres postgres)
    mkdir -p "$(dirname "$dir")"
    if [ ! -s "$dir/PG_VERSION" ]; then
      mkdir -p "$dir" && chown postgres:postgres "$dir"
      su postgres -s /bin/sh -c "$bin/initdb -D '$dir' -U postgres --auth=trust -E UTF8 >/dev/null"
    fi
    chown -R postgres:postgres "$dir"
    su postgres -s /bin/sh -c "$bin/pg_ctl -D '$dir' -l '$dir/server.log' -w -o \"-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories='$dir' -c max_connections=300\" start >/dev/null"
    log "postgresql started on :$PG_PORT"
  fi
  # The project's role and database; on a server we did not start this may be refused,
  # in which case CVAT_DATABASE_URL must point at a database that works.
  psql -h 127.0.0.1 -p $PG_PORT -U postgres -qtA -c "SELECT 1 FROM pg_roles WHERE rolname='cvat'" 2>/dev/null | grep -q 1 ||
    psql -h 127.0.0.1 -p $PG_PORT -U postgres -q -c "CREATE ROLE cvat LOGIN SUPERUSER PASSWORD 'cvat'" 2>/dev/null || true
  psql -h 127.0.0.1 -p $PG_PORT -U postgres -qtA -c "SELECT 1 FROM pg_database WHERE datname='cvat'" 2>/dev/null | grep -q 1 ||
    psql -h 127.0.0.1 -p $PG_PORT -U postgres -q -c "CREATE DATABASE cvat OWNER cvat" 2>/dev/null || true
}

start_redis() {
  if answers $REDIS_PORT; then log "redis: using the server on :$REDIS_PORT"; return; fi
  need_pkg redis-server redis-server
  mkdir -p "$DATA/redis"
  redis-server --bind 127.0.0.1 --port $REDIS_PORT --dir "$DATA/redis" --daemonize yes \
    --logfile "$DATA/redis/redis.log" --pidfile "$DATA/redis/redis.pid" --save "" --appendonly no
  wait_for $REDIS_PORT redis 20 && log "redis started on :$REDIS_PORT"
}

start_rabbitmq() {
  if answers $AMQP_PORT; then
    log "rabbitmq: using the server on :$AMQP_PORT"
    expire_test_queues "$(service_dir rabbitmq rabbitmq)"
    return
  fi
  need_pkg rabbitmq-server rabbitmq-server
  local dir
  dir=$(service_dir rabbitmq rabbitmq)
  mkdir -p "$dir" && chown -R rabbitmq:rabbitmq "$dir"
  su rabbitmq -s /bin/sh -c "HOME='$dir' RABBITMQ_MNESIA_BASE='$dir/mnesia' RABBITMQ_LOG_BASE='$dir/log' \
    RABBITMQ_PID_FILE='$dir/rabbitmq.pid' RABBITMQ_NODENAME=cvat@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT=$AMQP_PORT RABBITMQ_DIST_PORT=25672 ERL_EPMD_ADDRESS=127.0.0.1 \
    nohup /usr/lib/rabbitmq/bin/rabbitmq-server >'$dir/stdout.log' 2>&1 &"
  wait_for $AMQP_PORT rabbitmq 120 || exit 1
  log "rabbitmq started on :$AMQP_PORT"
  expire_test_queues "$dir"
}

# Each test and bench run declares its own queues (prefix test-<run>, bench-<run>); a
# policy drops them once they have gone unused for 10 minutes, so runs do not pile up
# queues that slow every later start of the broker (1,284 left over kept one from
# starting within two minutes).
expire_test_queues() { # data directory
  local cookie="$1/.erlang.cookie"
  [ -f "$cookie" ] || return 0
  su rabbitmq -s /bin/sh -c "rabbitmqctl -q -n cvat@localhost --erlang-cookie \$(cat '$cookie') \
    set_policy cvat-test-queues '^(test|bench)-' '{\"expires\":600000}' --apply-to queues" >/dev/null 2>&1 ||
    log "rabbitmq: could not set the expiry policy of test queues"
}

# The local object store. s3s-fs accepts connections without TCP_NODELAY, so on a reused
# connection a response's last partial segment waits for the client's delayed ACK: about
# 40 ms on many reads (measured: 2 ms on a fresh connection, 44 ms on a reused one). Real
# S3 servers (AWS, MinIO, Ceph) set it; the stand-in is built once, machine-wide, with that
# one line added, as `s3s-fs-cvat`.
S3FS_BIN=${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs-cvat

build_s3s_fs() {
  local work
  work=$(mktemp -d)
  log "building s3s-fs $S3FS_VERSION with TCP_NODELAY once, machine-wide (about 3 minutes)"
  curl -fsSL "https://static.crates.io/crates/s3s-fs/s3s-fs-$S3FS_VERSION.crate" | tar -xz -C "$work"
  local main="$work/s3s-fs-$S3FS_VERSION/src/main.rs"
  sed -i 's/^\( *\)let conn = http_server.serve_connection(TokioIo::new(socket)/\1let _ = socket.set_nodelay(true);\n&/' "$main"
  grep -q 'set_nodelay(true)' "$main" || { log "s3s-fs: the patch no longer applies"; return 1; }
  cargo install --path "$work/s3s-fs-$S3FS_VERSION" --features binary --locked --quiet --root "$work/root" &&
    install -m 755 "$work/root/bin/s3s-fs" "$S3FS_BIN"
  local built=$?
  rm -rf "$work"
  return $built
}

start_s3() {
  if answers $S3_PORT; then log "s3: using the server on :$S3_PORT"; return; fi
  [ -x "$S3FS_BIN" ] || build_s3s_fs || { log "s3s-fs could not be built"; exit 1; }
  mkdir -p "$DATA/s3"
  nohup "$S3FS_BIN" --host 127.0.0.1 --port $S3_PORT --access-key "${CVAT_S3_ACCESS_KEY:-cvat}" \
    --secret-key "${CVAT_S3_SECRET_KEY:-cvat-secret-key}" "$DATA/s3" >"$DATA/s3.log" 2>&1 &
  echo $! >"$DATA/s3.pid"
  wait_for $S3_PORT s3s-fs 20 && log "s3s-fs started on :$S3_PORT"
}

need_pkg protoc protobuf-compiler
# Build-time: the media codecs link the system's libjpeg-turbo through pkg-config.
need_pkg pkg-config pkg-config
need_lib libturbojpeg libturbojpeg0-dev
# Run-time of the media workers: video decoding and H.264 chunks.
command -v ffmpeg >/dev/null 2>&1 || install_pkg ffmpeg
# Media workers render PDF pages with poppler's pdftoppm.
command -v pdftoppm >/dev/null 2>&1 || install_pkg poppler-utils
need_pkg psql postgresql-client
# The local object store's source is fetched from crates.io's static host.
need_pkg curl curl
start_postgres
start_redis
start_rabbitmq
start_s3
log "all dependencies answer"
