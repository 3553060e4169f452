#!/usr/bin/env bash
# Extra media workers for the bench's scaling section, started from target/release with
# the bench's environment; each is recorded in the stack's services.pids so the bench's
# cleanup stops it if nothing else does.
#
#   media-workers.sh start PORT      starts one (health port PORT), waits until it is ready,
#                                    prints "PID PORT"
#   media-workers.sh restart FILE    a rolling restart, as Kubernetes does one: each worker
#                                    of FILE ("PID PORT" lines) in turn gets SIGTERM, is
#                                    waited for (it finishes its job in hand) and replaced
#                                    on its port; FILE is rewritten with the new workers
#   media-workers.sh stop FILE       SIGTERM to the workers of FILE, waiting for each
set -euo pipefail
cd "$(dirname "$0")/../.."

start() {
  local port=$1 pid
  CVAT_HEALTH_LISTEN=127.0.0.1:$port CVAT_DEV_MODE=1 target/release/cvat-media \
    >>"$CVAT_DATA_DIR/logs/media-$port.log" 2>&1 &
  pid=$!
  echo " $pid" >>"$CVAT_DATA_DIR/services.pids"
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break; sleep 0.1; done
  echo "$pid $port"
}

stop() { # pid: SIGTERM, then wait for the drain (at most 50 s) to end it
  kill -TERM "$1" 2>/dev/null || return 0
  while kill -0 "$1" 2>/dev/null; do sleep 0.1; done
}

case $1 in
  start) start "$2" ;;
  restart)
    replaced=()
    while read -r pid port; do
      stop "$pid"
      replaced+=("$(start "$port")")
    done <"$2"
    printf '%s\n' "${replaced[@]}" >"$2"
    ;;
  stop) while read -r pid _; do stop "$pid"; done <"$2" ;;
  *) echo "usage: $0 start PORT | restart FILE | stop FILE" >&2; exit 2 ;;
esac
