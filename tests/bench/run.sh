#!/usr/bin/env bash
# `make bench`: whole-stack benchmarks on loopback, bounded in time.
#   1. GET /api/users/self with an access token (gateway -> auth gRPC -> PostgreSQL)
#   2. GET /healthz on the gateway (no backend hop), in the same run for comparison
#   3. GET /api/tasks over 100k tasks in 1k projects: filter + sort + page_size=100, as
#      their (non-admin) owner and as the admin; latency at 1 connection, throughput at many.
#      Every page carries CVAT's exact `count`, so a filter matching many rows counts them all.
#   4. task data: 1080p JPEGs through a media worker with every chunk built at once, beside
#      libjpeg-turbo's own decode+encode of the same files; then chunk/frame serving.
#   4b. ingest: 1,000 uploaded 640x480 JPEGs ready after Upload-Finish with chunks built on
#      first request (the default) and all at once, beside Pillow; first requests of unbuilt
#      chunks (tests/bench/ingest.py).
#   5. annotations: PUT and GET of one job's annotations (100k boxes, 100k polygons, 10k
#      tracks, 1M points) beside PostgreSQL's COPY of the same rows; PATCH of 100 into 100k
#   6. exports: COCO 1.0 and CVAT for images 1.1 of a 10k-frame task with 100k and 1M
#      boxes plus tracks, and imports of the same files; time and the export worker's and
#      task service's peak RSS, beside `datumaro convert` and PostgreSQL's COPY
#   7. memory: the media worker's peak RSS over a 1,000- and a 10,000-image task and a
#      1 GiB video, all from the share (sampled from /proc every 0.2 s).
#   8. surface: events ingest beside PostgreSQL's COPY, task PATCH latency with and without
#      a webhook, webhook deliveries per second beside a direct client, and an online
#      function call through an agent beside GET /api/users/self (tests/bench/surface.py).
# BENCH_SECTIONS picks sections (default "api lists media ingest scaling video annotations exports memory surface").
# Release build, an isolated stack (own database and ports), wrk as the load generator.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --release --workspace --bins

# Where deploy/local/deps.sh keeps the local object store, before this run sets its own data dir.
LOCAL_S3_DIR=${CVAT_DATA_DIR:-$ROOT/.data}/s3
# The services' allocator settings, for the processes this script starts itself too.
set -a; . deploy/local/allocator.env; set +a
RUN_ID=b$$
export CVAT_DATA_DIR=$ROOT/.data/bench-$RUN_ID
mkdir -p "$CVAT_DATA_DIR"
export CVAT_DATABASE_URL="postgres://cvat:cvat@127.0.0.1:5432/cvat_bench_$RUN_ID"
export CVAT_QUEUE_PREFIX="bench-$RUN_ID" CVAT_S3_BUCKET="bench-$RUN_ID"
export CVAT_GATEWAY_LISTEN=127.0.0.1:28080 CVAT_AUTH_LISTEN=127.0.0.1:25051 CVAT_TASK_LISTEN=127.0.0.1:25052
export CVAT_AUTH_URL=http://127.0.0.1:25051 CVAT_TASK_URL=http://127.0.0.1:25052
export CVAT_ADMIN_USER=admin CVAT_ADMIN_PASSWORD=bench-admin-pass-1
export CVAT_SHARE_DIR=$CVAT_DATA_DIR/share
# The exports section imports its 200 MB archives in one multipart request.
export CVAT_MAX_UPLOAD_FILE_BYTES=$((1024 * 1024 * 1024))
SECTIONS=" ${BENCH_SECTIONS:-api lists media ingest scaling video annotations exports memory surface} "
# The surface section's webhook receiver listens on 127.0.0.2, the one internal network allowed.
export CVAT_REMOTE_ALLOWED_NETWORKS=127.0.0.2/32
want() { [[ "$SECTIONS" == *" $1 "* ]]; }
# A Python that has the modules named: the machine's, or the compatibility suite's venv.
python_with() {
  if python3 -c "import $1" 2>/dev/null; then echo python3; return; fi
  bash tests/compat/run.sh --version >/dev/null
  echo tests/compat/.venv/bin/python
}
export RUST_LOG=warn
URL=http://127.0.0.1:28080
PGPASSWORD=cvat psql -h 127.0.0.1 -U cvat -d postgres -q -c "CREATE DATABASE cvat_bench_$RUN_ID"
cleanup() {
  set +e
  bash deploy/local/stop-services.sh
  PGPASSWORD=cvat psql -h 127.0.0.1 -U cvat -d postgres -q -c "DROP DATABASE IF EXISTS cvat_bench_$RUN_ID WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$CVAT_DATA_DIR"
  # The bucket, when the store is the local s3s-fs (a directory per bucket): runs add up.
  if [ -d "$LOCAL_S3_DIR/$CVAT_S3_BUCKET" ]; then rm -rf "${LOCAL_S3_DIR:?}/$CVAT_S3_BUCKET"; fi
}
trap cleanup EXIT
CVAT_HEALTH_PORT_BASE=29100 bash deploy/local/services.sh target/release
# The same gateway without its caches (verified credentials, frames, chunks), beside it, for the
# before/after of the same run.
UNCACHED=http://127.0.0.1:28081
CVAT_GATEWAY_LISTEN=127.0.0.1:28081 CVAT_HEALTH_LISTEN=127.0.0.1:29105 CVAT_CREDENTIAL_CACHE_SECONDS=0 \
  CVAT_FRAME_CACHE_BYTES=0 CVAT_CHUNK_CACHE_BYTES=0 CVAT_DEV_MODE=1 \
  target/release/cvat-gateway >>"$CVAT_DATA_DIR/logs/gateway-uncached.log" 2>&1 &
echo " $!" >>"$CVAT_DATA_DIR/services.pids"
for _ in $(seq 1 100); do curl -fsS -o /dev/null "$UNCACHED/readyz" 2>/dev/null && break; sleep 0.1; done
# The stack's media worker (third in the list), for its CPU time and memory.
media_pid=$(cut -d' ' -f3 "$CVAT_DATA_DIR/services.pids")

key=$(curl -fsS -X POST "$URL/api/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$CVAT_ADMIN_PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
token=$(curl -fsS -X POST "$URL/api/auth/access_tokens" -H "Authorization: Token $key" -H 'Content-Type: application/json' \
  -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')

# One request first, so a run measures the steady state: wrk corrects its latencies for
# coordinated omission, and a first request held 0.3-1 s by a list's first count becomes
# ~70 samples per connection at the slow end. The first counts are reported on their own
# (first_pages).
run() { # label path [header]
  local out THREADS=$(( CONNECTIONS < 2 ? 1 : 2 ))
  curl -s -o /dev/null ${3:+-H "$3"} "$URL$2" || true
  if [ -n "${3:-}" ]; then
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency -H "$3" "$URL$2")
  else
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency "$URL$2")
  fi
  local rps p50 p99 errors transfer
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
  transfer=$(awk '/Transfer\/sec/ {print $2}' <<<"$out")
  printf '%-44s %12s req/s   p50 %-9s p99 %-9s %9s/s %s\n' "$1" "$rps" "$p50" "$p99" "$transfer" "$errors"
}

curl -fsS -X POST "$URL/api/auth/register" -H 'Content-Type: application/json' \
  -d '{"username":"bencher","password1":"Bench-owner-pass-9","password2":"Bench-owner-pass-9"}' >/dev/null
owner_key=$(curl -fsS -X POST "$URL/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"username":"bencher","password":"Bench-owner-pass-9"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
CONNECTIONS_SAVED=$CONNECTIONS

if want api; then
echo "== whole stack, $CONNECTIONS connections, $DURATION each, $(nproc) cores"
run "GET /healthz (gateway only)" /healthz
run "GET /api/users/self (Bearer, gateway's cache)" /api/users/self "Authorization: Bearer $token"
URL=$UNCACHED run "GET /api/users/self (Bearer, auth gRPC, Redis)" /api/users/self "Authorization: Bearer $token"
fi

if want lists; then
echo "== filling 100,000 tasks across 1,000 projects, and 1,000,000 jobs"
# The owner creates one project through the API (which records them in the engine's
# users table); the rest is bulk SQL so the fill takes seconds, not an hour.
curl -fsS -X POST "$URL/api/projects" -H "Authorization: Token $owner_key" -H 'Content-Type: application/json' \
  -d '{"name":"project 0","labels":[{"name":"car"}]}' >/dev/null
PGPASSWORD=cvat psql -h 127.0.0.1 -U cvat -d "cvat_bench_$RUN_ID" -q -v ON_ERROR_STOP=1 <<'SQL'
SET search_path TO engine;
INSERT INTO projects (name, owner_id)
  SELECT 'project ' || g, (SELECT owner_id FROM projects LIMIT 1) FROM generate_series(1, 999) g;
INSERT INTO tasks (name, project_id, owner_id, status, subset, updated_date)
  SELECT 'task ' || g, p.id, p.owner_id, (ARRAY['annotation', 'validation', 'completed'])[1 + g % 3],
         (ARRAY['train', 'val', 'test', ''])[1 + g % 4], now() - g * interval '1 second'
  FROM generate_series(1, 100000) g
  JOIN (SELECT id, owner_id, row_number() OVER (ORDER BY id) - 1 AS n FROM projects) p ON p.n = g % 1000;
-- Ten jobs (and segments) per task: 1,000,000 jobs.
INSERT INTO segments (task_id, start_frame, stop_frame)
  SELECT t.id, k * 10, k * 10 + 9 FROM tasks t, generate_series(0, 9) k;
INSERT INTO jobs (segment_id, task_id, state)
  SELECT s.id, s.task_id, (ARRAY['new', 'in progress', 'completed'])[1 + s.id % 3] FROM segments s;
SQL
# An organization of the owner holding every tenth project and its tasks, with a worker
# assigned the first job of one in ten of those tasks (1,000 tasks and jobs to see).
curl -fsS -X POST "$URL/api/auth/register" -H 'Content-Type: application/json' \
  -d '{"username":"benchworker","email":"benchworker@example.com","password1":"Bench-worker-pass-9","password2":"Bench-worker-pass-9"}' >/dev/null
worker_key=$(curl -fsS -X POST "$URL/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"username":"benchworker","password":"Bench-worker-pass-9"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
# (A project of their own records the worker in the engine's users table.)
worker_id=$(curl -fsS -X POST "$URL/api/projects" -H "Authorization: Token $worker_key" -H 'Content-Type: application/json' \
  -d '{"name":"own","labels":[{"name":"car"}]}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["owner"]["id"])')
org_id=$(curl -fsS -X POST "$URL/api/organizations" -H "Authorization: Token $owner_key" -H 'Content-Type: application/json' \
  -d '{"slug":"benchorg"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -fsS -X POST "$URL/api/invitations?org=benchorg" -H "Authorization: Token $owner_key" -H 'Content-Type: application/json' \
  -d '{"role":"worker","email":"benchworker@example.com"}' >/dev/null
PGPASSWORD=cvat psql -h 127.0.0.1 -U cvat -d "cvat_bench_$RUN_ID" -q -v ON_ERROR_STOP=1 -v org="$org_id" -v worker="$worker_id" <<'SQL'
SET search_path TO engine;
UPDATE projects SET organization_id = :org WHERE id % 10 = 0 AND owner_id <> :worker;
UPDATE tasks t SET organization_id = :org FROM projects p WHERE p.id = t.project_id AND p.organization_id = :org;
UPDATE jobs j SET assignee_id = :worker FROM segments s,
  (SELECT id, row_number() OVER (ORDER BY id) AS n FROM tasks WHERE organization_id = :org) t
  WHERE s.id = j.segment_id AND s.start_frame = 0 AND t.id = j.task_id AND t.n % 10 = 0;
SQL
# What autovacuum would have done by now: statistics and the visibility map.
PGPASSWORD=cvat psql -h 127.0.0.1 -U cvat -d "cvat_bench_$RUN_ID" -q -c "VACUUM ANALYZE engine.tasks" \
  -c "VACUUM ANALYZE engine.projects" -c "VACUUM ANALYZE engine.segments" -c "VACUUM ANALYZE engine.jobs"

project=$(PGPASSWORD=cvat psql -h 127.0.0.1 -U cvat -d "cvat_bench_$RUN_ID" -tA -c "SELECT max(id) - 500 FROM engine.projects")
encode() { python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
in_project="/api/tasks?page_size=100&sort=-updated_date&filter=$(encode "{\"and\":[{\"==\":[{\"var\":\"project_id\"},$project]},{\"in\":[{\"var\":\"status\"},[\"annotation\",\"validation\"]]}]}")"
by_status="/api/tasks?page_size=100&sort=-updated_date&filter=$(encode '{"and":[{"==":[{"var":"status"},"annotation"]},{"==":[{"var":"subset"},"train"]}]}')"
by_project="/api/tasks?page_size=100&sort=name&project_id=$project"
by_search="/api/tasks?page_size=100&sort=-id&search=task%2099"
jobs_by_search="/api/jobs?search=task%2099"
jobs_by_state="/api/jobs?filter=$(encode '{"==":[{"var":"state"},"in progress"]}')"

list_runs() { # label suffix
echo "== lists, $1: latency, 1 connection, page_size=100"
CONNECTIONS=1
run "tasks: filter project+status, sort -updated" "$in_project" "Authorization: Token $owner_key"
run "tasks: project_id=, sort name" "$by_project" "Authorization: Token $owner_key"
run "tasks: filter project+status (admin)" "$in_project" "Authorization: Bearer $token"
run "tasks: filter status+subset (8k of 100k match)" "$by_status" "Authorization: Token $owner_key"
run "tasks: search across 10 fields, sort -id" "$by_search" "Authorization: Token $owner_key"
run "jobs: search across 5 fields (1M)" "$jobs_by_search" "Authorization: Token $owner_key"
CONNECTIONS=$CONNECTIONS_SAVED
echo "== lists, $1: throughput, $CONNECTIONS connections"
run "tasks: filter project+status, sort -updated" "$in_project" "Authorization: Token $owner_key"
run "GET /api/tasks (page of 10 of 100k)" "/api/tasks" "Authorization: Token $owner_key"
run "GET /api/tasks (admin)" "/api/tasks" "Authorization: Bearer $token"
run "tasks: filter status+subset" "$by_status" "Authorization: Token $owner_key"
run "tasks: search across 10 fields" "$by_search" "Authorization: Token $owner_key"
run "jobs: search across 5 fields (1M)" "$jobs_by_search" "Authorization: Token $owner_key"
run "GET /api/jobs (page of 10 of 1M)" "/api/jobs" "Authorization: Token $owner_key"
run "GET /api/jobs?filter=state (1M)" "$jobs_by_state" "Authorization: Token $owner_key"
run "GET /api/projects (page of 10 of 1k)" "/api/projects" "Authorization: Token $owner_key"
run "GET /api/tasks?org= as its worker (1k of 10k)" "/api/tasks?org=benchorg" "Authorization: Token $worker_key"
run "GET /api/jobs?org= as its worker (1k of 100k)" "/api/jobs?org=benchorg" "Authorization: Token $worker_key"
}
first_pages() { # the first request of each list after a write: the count it waits for
echo "== lists: the first page after a write (no kept count serves it)"
local label path key
while IFS='|' read -r label path key; do
  PGPASSWORD=cvat psql -h 127.0.0.1 -U cvat -d "cvat_bench_$RUN_ID" -q -c "UPDATE engine.projects SET name = name WHERE false"
  printf '%-44s %8.0f ms\n' "$label" "$(curl -fsS -o /dev/null -w '%{time_total}' "$URL$path" -H "Authorization: Token $key" | awk '{print $1 * 1000}')"
done <<LISTS
GET /api/tasks (100k)|/api/tasks|$owner_key
tasks: search across 10 fields|$by_search|$owner_key
tasks: filter status+subset|$by_status|$owner_key
GET /api/jobs (1M)|/api/jobs|$owner_key
jobs: search across 5 fields (1M)|$jobs_by_search|$owner_key
GET /api/projects (1k)|/api/projects|$owner_key
GET /api/jobs?org= as its worker|/api/jobs?org=benchorg|$worker_key
LISTS
}
restart_task() { # settings...: the stack's task service again, with these settings
  local pid
  pid=$(awk '{print $2}' "$CVAT_DATA_DIR/services.pids")
  kill "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  env "$@" CVAT_HEALTH_LISTEN=127.0.0.1:29102 CVAT_DEV_MODE=1 target/release/cvat-task >>"$CVAT_DATA_DIR/logs/task.log" 2>&1 &
  # Second in the list, where the stop script and the memory report look for it.
  sed -i "s/^\([0-9]*\) $pid /\1 $! /" "$CVAT_DATA_DIR/services.pids"
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:29102/readyz" 2>/dev/null && break; sleep 0.1; done
}
list_runs "counts kept between writes"
first_pages
# The same with the task service counting every page (as before counts were kept).
restart_task CVAT_LIST_COUNT_CACHE_ENTRIES=0
list_runs "every page counted"
restart_task CVAT_LIST_COUNT_CACHE_ENTRIES=10000
fi

new_task() { # name
  curl -fsS -X POST "$URL/api/tasks" -H "Authorization: Token $owner_key" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1\",\"labels\":[{\"name\":\"car\"}]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
wait_request() { # task; echoes the final status
  local rq="action%3Dcreate%26target%3Dtask%26target_id%3D$1" status=queued
  for _ in $(seq 1 36000); do
    # (No Python per poll: twenty interpreters a second took a tenth of the cores the
    # measured work runs on.)
    status=$(curl -fsS "$URL/api/requests/$rq" -H "Authorization: Token $owner_key" | grep -o '"status": *"[a-z]*"' | head -1 | cut -d'"' -f4)
    [ "$status" = finished ] || [ "$status" = failed ] && break
    sleep 0.05
  done
  echo "$status"
}

if want media; then
echo "== media: 1080p JPEGs through a media worker vs libjpeg-turbo on the same machine"
command -v cjpeg >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjpeg-turbo-progs >/dev/null; }
IMAGES=${BENCH_IMAGES:-60}
media_dir=$CVAT_DATA_DIR/media-bench
mkdir -p "$media_dir"
python3 - "$media_dir" <<'PY'
import sys
out = sys.argv[1]
for v in range(4):
    rows = []
    for y in range(1080):
        rows.append(bytes(((x // 3 + y * (v + 1) + (x * y >> 9)) & 0xFF) for x in range(1920 * 3)))
    with open(f"{out}/base{v}.ppm", "wb") as f:
        f.write(b"P6 1920 1080 255\n" + b"".join(rows))
PY
for i in $(seq 0 $((IMAGES - 1))); do
  v=$((i % 4))
  [ -f "$media_dir/base$v.jpg" ] || cjpeg -quality 90 "$media_dir/base$v.ppm" >"$media_dir/base$v.jpg"
  cp "$media_dir/base$v.jpg" "$media_dir/$(printf 'f%04d.jpg' "$i")"
done
# Per image, the CPU time is the figure to compare per core: one `djpeg | cjpeg` stream
# is two processes that overlap on two cores.
yardstick=$( { TIMEFORMAT='%R %U %S'; time (for f in "$media_dir"/f*.jpg; do djpeg "$f" | cjpeg -quality 70 >/dev/null; done); } 2>&1 )
read -r wall user sys <<<"$yardstick"
python3 -c "print(f'libjpeg-turbo decode+encode (djpeg | cjpeg -quality 70), 1 stream: {$IMAGES / $wall:8.1f} images/s, {($user + $sys) * 1000 / $IMAGES:5.1f} ms of CPU per image')"
cpu_seconds() { # pid: its user and system CPU time so far, in seconds (0 when it is not here)
  if [ -n "$1" ] && [ -r "/proc/$1/stat" ]; then awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; else echo 0; fi
}
object_store=$(pgrep -f s3s-fs-cvat | head -1 || true)

task=$(new_task "media bench")
form=(-F image_quality=70)
i=0
for f in "$media_dir"/f*.jpg; do form+=(-F "client_files[$i]=@$f"); i=$((i + 1)); done
curl -fsS -o /dev/null -X POST "$URL/api/tasks/$task/data/" -H "Authorization: Token $owner_key" -H 'Upload-Start: x'
curl -fsS -o /dev/null -X POST "$URL/api/tasks/$task/data/" -H "Authorization: Token $owner_key" -H 'Upload-Multiple: x' "${form[@]}"
worker_before=$(cpu_seconds "$media_pid") store_before=$(cpu_seconds "$object_store")
start=$(date +%s.%N)
curl -fsS -o /dev/null -X POST "$URL/api/tasks/$task/data/" -H "Authorization: Token $owner_key" -H 'Upload-Finish: x' \
  -H 'Content-Type: application/json' -d '{"image_quality":70,"use_cache":false}'
status=$(wait_request "$task")
end=$(date +%s.%N)
worker_after=$(cpu_seconds "$media_pid") store_after=$(cpu_seconds "$object_store")
python3 -c "print(f'media worker, use_cache false ($status: decode, EXIF, JPEG q70, chunks of both qualities, preview, S3): {$IMAGES / ($end - $start):8.1f} images/s')"
python3 -c "print(f'  CPU per image: the media worker {($worker_after - $worker_before) * 1000 / $IMAGES:5.1f} ms, the local object store {($store_after - $store_before) * 1000 / $IMAGES:5.1f} ms')"

chunk="/api/tasks/$task/data?type=chunk&number=0&quality=compressed"
chunk_bytes=$(curl -fsS -o /dev/null -w '%{size_download}' "$URL$chunk" -H "Authorization: Token $owner_key")
echo "== serving task data (a compressed chunk is $((chunk_bytes / 1048576)) MiB: 4 connections for it, $CONNECTIONS for the rest)"
CONNECTIONS=4
run "warm compressed chunk (gateway's chunk cache)" "$chunk" "Authorization: Token $owner_key"
URL=$UNCACHED run "warm compressed chunk (streamed from S3)" "$chunk" "Authorization: Token $owner_key"
CONNECTIONS=$CONNECTIONS_SAVED
run "compressed frame (gateway's frame cache)" "/api/tasks/$task/data?type=frame&number=5&quality=compressed" "Authorization: Token $owner_key"
URL=$UNCACHED run "compressed frame (range read from S3)" "/api/tasks/$task/data?type=frame&number=5&quality=compressed" "Authorization: Token $owner_key"
run "task data meta" "/api/tasks/$task/data/meta" "Authorization: Token $owner_key"
fi

if want ingest; then
echo "== ingest: 1,000 uploaded 640x480 JPEGs, chunks on first request and all at once, beside Pillow"
PYTHON=$(python_with 'requests, PIL')
"$PYTHON" tests/bench/ingest.py "$URL" "$owner_key" "$CVAT_DATA_DIR"
fi

if want scaling; then
echo "== scaling: 1, 2 and 4 media workers (processes on these two cores), a burst of 20 tasks x 100 1080p JPEGs"
PYTHON=$(python_with 'requests, PIL')
# The workers started here ("PID PORT" lines; health ports 29113…), beside the stack's.
extra_media=$CVAT_DATA_DIR/extra-media
: >"$extra_media"
for workers in 1 2 4; do
  while [ $(($(wc -l <"$extra_media") + 1)) -lt $workers ]; do
    tests/bench/media-workers.sh start $((29113 + $(wc -l <"$extra_media"))) >>"$extra_media"
  done
  "$PYTHON" tests/bench/scaling.py "$URL" "$owner_key" "$CVAT_DATA_DIR" "$workers media worker(s)"
done
# The same burst while the three workers started here are restarted one at a time
# (SIGTERM, the job in hand finished, a new worker on its port): nothing lost or repeated.
"$PYTHON" tests/bench/scaling.py "$URL" "$owner_key" "$CVAT_DATA_DIR" \
  "4 media workers, 3 restarted one at a time" "tests/bench/media-workers.sh restart $extra_media"
tests/bench/media-workers.sh stop "$extra_media"
fi

if want video; then
echo "== video: a 1080p clip with zip chunks and with CVAT's MP4 chunks, beside ffmpeg decoding it"
PYTHON=$(python_with requests)
"$PYTHON" tests/bench/video.py "$URL" "$owner_key" "$CVAT_DATA_DIR"
fi

if want annotations; then
echo "== annotations of one job through the whole stack, beside PostgreSQL's COPY of the same rows"
PYTHON=$(python_with requests)
PGPASSWORD=cvat "$PYTHON" tests/bench/annotations.py "$URL" "$owner_key" \
  "postgres://cvat@127.0.0.1:5432/cvat_bench_$RUN_ID" "$CVAT_DATA_DIR/services.pids" "$CVAT_SHARE_DIR"
fi

if want exports; then
echo "== exports and imports of a 10k-frame task, beside datumaro and PostgreSQL's COPY"
PYTHON=$(python_with requests)
PGPASSWORD=cvat "$PYTHON" tests/bench/exports.py "$URL" "$owner_key" \
  "postgres://cvat@127.0.0.1:5432/cvat_bench_$RUN_ID" "$CVAT_DATA_DIR/services.pids" "$CVAT_SHARE_DIR"
fi

if want surface; then
echo "== events, webhooks and functions"
PYTHON=$(python_with requests)
PGPASSWORD=cvat "$PYTHON" tests/bench/surface.py "$URL" "$owner_key" "postgres://cvat@127.0.0.1:5432/cvat_bench_$RUN_ID" \
  "$CVAT_DATA_DIR/services.pids"
fi

if want memory; then
echo "== memory: the media worker's peak RSS by task size (from the share, sampled every 0.2 s)"
command -v cjpeg >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjpeg-turbo-progs >/dev/null; }
peak_rss() { # samples file -> MiB
  sort -n "$1" | tail -1 | awk '{printf "%.0f", $1 / 1024}'
}
sample_rss() { # file; samples VmRSS (KiB) of the media worker until killed
  while true; do awk '/VmRSS/ {print $2}' "/proc/$media_pid/status" >>"$1" 2>/dev/null; sleep 0.2; done
}
process_share() { # label, JSON server_files
  local task status start end sampler samples=$CVAT_DATA_DIR/rss-$RANDOM
  task=$(new_task "$1")
  sample_rss "$samples" & sampler=$!
  start=$(date +%s.%N)
  curl -fsS -o /dev/null -X POST "$URL/api/tasks/$task/data/" -H "Authorization: Token $owner_key" \
    -H 'Content-Type: application/json' -d "{\"image_quality\":70,\"server_files\":$2}"
  status=$(wait_request "$task")
  end=$(date +%s.%N)
  kill $sampler; wait $sampler 2>/dev/null || true
  local frames
  frames=$(curl -fsS "$URL/api/tasks/$task" -H "Authorization: Token $owner_key" | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')
  printf '%-40s %s, %6s frames in %6.1f s, peak RSS %5s MiB\n' "$1" "$status" "$frames" \
    "$(python3 -c "print($end - $start)")" "$(peak_rss "$samples")"
}
python3 - "$CVAT_DATA_DIR" <<'PY'
import sys
out = sys.argv[1]
for v in range(4):
    rows = [bytes(((x // 3 + y * (v + 1) + (x * y >> 7)) & 0xFF) for x in range(640 * 3)) for y in range(480)]
    with open(f"{out}/small{v}.ppm", "wb") as f:
        f.write(b"P6 640 480 255\n" + b"".join(rows))
PY
for count in 1000 10000; do
  dir=$CVAT_SHARE_DIR/images-$count
  mkdir -p "$dir"
  for v in 0 1 2 3; do cjpeg -quality 90 "$CVAT_DATA_DIR/small$v.ppm" >"$CVAT_DATA_DIR/small$v.jpg"; done
  # Hard links: 10,000 files of the share cost four files of disk.
  for i in $(seq 0 $((count - 1))); do ln -f "$CVAT_DATA_DIR/small$((i % 4)).jpg" "$dir/$(printf 'f%05d.jpg' "$i")"; done
  process_share "$count images of 640x480" "[\"images-$count/\"]"
done
# A 1 GiB video: two seconds of 1080p noise (intra-only MPEG-4, barely compressible),
# repeated by stream copy until the file passes 1 GiB.
ffmpeg -v error -f lavfi -i "nullsrc=s=1920x1080:r=25,geq=lum='random(1)*255':cb=128:cr=128" -t 2 \
  -c:v mpeg4 -q:v 2 -g 1 -y "$CVAT_DATA_DIR/noise.avi"
clip=$(stat -c %s "$CVAT_DATA_DIR/noise.avi")
loops=$(( (1073741824 + clip - 1) / clip - 1 ))
ffmpeg -v error -stream_loop "$loops" -i "$CVAT_DATA_DIR/noise.avi" -c copy -y "$CVAT_SHARE_DIR/big.avi"
echo "video: $(( $(stat -c %s "$CVAT_SHARE_DIR/big.avi") / 1048576 )) MiB"
process_share "1 GiB video (1080p)" '["big.avi"]'
fi

echo "== memory at rest: each service's RSS after the sections above (the uncached gateway included)"
sleep 5
bash tests/rss.sh "$CVAT_DATA_DIR/services.pids"
