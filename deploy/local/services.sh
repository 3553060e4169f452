#!/usr/bin/env bash
# Starts the five services from already-built binaries and waits until the gateway is
# ready. Usage: services.sh <target dir> [--foreground]
# With --foreground it stays attached and stops everything on Ctrl-C (make run);
# otherwise it leaves them running and writes their pids to $CVAT_DATA_DIR/services.pids.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:?target directory, e.g. target/debug}
DATA=${CVAT_DATA_DIR:-$PWD/.data}
mkdir -p "$DATA/logs"
# Local runs (make run, test, bench) may use the built-in development secrets.
export CVAT_DEV_MODE=${CVAT_DEV_MODE:-1}
export CVAT_MAIL_DIR=${CVAT_MAIL_DIR:-$DATA/mail}
export CVAT_BLOB_DIR=${CVAT_BLOB_DIR:-$DATA/blobs}
export CVAT_SHARE_DIR=${CVAT_SHARE_DIR:-$DATA/share}
mkdir -p "$CVAT_SHARE_DIR"
# glibc's allocator otherwise keeps what a burst of large buffers (argon2's 19 MiB per
# password hash, decoded images, chunks) once needed, per thread arena: buffers of 1 MiB
# and more are mapped and returned when freed, and four arenas serve all threads.
if [ -z "${GLIBC_TUNABLES:-}" ]; then set -a; . deploy/local/allocator.env; set +a; fi
GATEWAY=${CVAT_GATEWAY_LISTEN:-127.0.0.1:8080}
pids=()

stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

# Health/metrics ports of the non-HTTP services: base+1 auth, +2 task, +3 media, +4 export.
HEALTH_BASE=${CVAT_HEALTH_PORT_BASE:-9100}
declare -A OFFSET=([auth]=1 [task]=2 [media]=3 [export]=4 [gateway]=0)

start() { # name
  CVAT_HEALTH_LISTEN=127.0.0.1:$((HEALTH_BASE + OFFSET[$1])) "$BIN/cvat-$1" >>"$DATA/logs/$1.log" 2>&1 &
  pids+=($!)
}

# auth first: it applies its migrations and creates the admin user.
start auth
start task
start media
start export
start gateway
echo "${pids[*]}" >"$DATA/services.pids"

for _ in $(seq 1 120); do
  if curl -fsS "http://$GATEWAY/readyz" >/dev/null 2>&1; then break; fi
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "a service exited during start-up; logs in $DATA/logs:" >&2
      tail -n 20 "$DATA"/logs/*.log >&2
      stop
      exit 1
    fi
  done
  sleep 0.5
done
curl -fsS "http://$GATEWAY/readyz" >/dev/null || { echo "gateway not ready; logs in $DATA/logs" >&2; stop; exit 1; }

if [ "${2:-}" = "--foreground" ]; then
  trap 'echo; echo "stopping"; stop; exit 0' INT TERM
  echo "CVAT API on http://$GATEWAY  (admin: ${CVAT_ADMIN_USER:-admin} / ${CVAT_ADMIN_PASSWORD:-cvat-admin-2024})"
  echo "logs: $DATA/logs   Ctrl-C stops everything"
  wait
fi
