"""`make bench` surface section: events, webhooks and functions, each beside a yardstick
measured in the same run.

  * events ingest: POST /api/events in batches of 100 from 8 clients, beside
    PostgreSQL's COPY of the same number of rows into a table like `events`;
  * task PATCH latency without and with an organization webhook listening (deliveries
    are queued in the write's transaction, never sent on the request path);
  * webhook deliveries per second: 1,000 pings queued while the webhook is inactive,
    then the time until a local receiver has them all, beside the receiver's own rate
    when a client posts to it directly;
  * an online function call (`annotate_frame`-like interactive request) answered by an
    agent that does no work (SSE watch, acquire, complete), beside GET /api/users/self.

Usage: surface.py URL OWNER_TOKEN DATABASE_URL PIDS_FILE
"""

import concurrent.futures
import http.server
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone

import requests

URL, TOKEN, DATABASE, PIDS = sys.argv[1:5]
SERVICES = dict(zip(["auth", "task", "media", "export", "gateway"], open(PIDS).read().split()))
HEADERS = {"Authorization": f"Token {TOKEN}", "Content-Type": "application/json"}
session = requests.Session()
session.headers.update(HEADERS)


def api(method, path, **kwargs):
    response = session.request(method, URL + path, timeout=120, **kwargs)
    response.raise_for_status()
    return response


def p50_ms(samples):
    return statistics.median(samples) * 1000


def timed(call, n):
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def events_ingest(batches=400, size=100, clients=8):
    now = datetime.now(timezone.utc).isoformat()
    body = json.dumps({"timestamp": now, "events": [
        {"scope": "change:frame", "timestamp": now, "job_id": 1, "count": i, "payload": '{"bench": true}'}
        for i in range(size)]})

    def post(_):
        with requests.Session() as s:
            s.headers.update(HEADERS)
            s.post(URL + "/api/events", data=body, timeout=120).raise_for_status()

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, range(batches)))
    rate = batches * size / (time.perf_counter() - start)
    # The yardstick: COPY of as many rows of the same shape, in one statement.
    with tempfile.NamedTemporaryFile("w", suffix=".csv") as rows:
        for i in range(batches * size):
            rows.write(f"change:frame,{now},1,{i},\"{{\"\"bench\"\": true}}\",bench,1\n")
        rows.flush()
        psql = ["psql", DATABASE, "-q", "-v", "ON_ERROR_STOP=1"]
        script = ("CREATE TEMP TABLE copied (LIKE engine.events INCLUDING DEFAULTS);\n"
                  f"\\copy copied (scope, timestamp, job_id, count, payload, user_name, user_id) FROM '{rows.name}' CSV\n")
        start = time.perf_counter()
        subprocess.run(psql, input=script, text=True, check=True)
        copy_rate = batches * size / (time.perf_counter() - start)
    print(f"events ingest, batches of {size}, {clients} clients     {rate:10.0f} events/s   "
          f"(PostgreSQL COPY of the same rows: {copy_rate:10.0f} rows/s)")


class Receiver:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.count += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.2:{self.server.server_address[1]}/hook"

    def wait_for(self, n, timeout=300):
        deadline = time.monotonic() + timeout
        while self.count < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {self.count} of {n} deliveries arrived")
            time.sleep(0.01)


def webhooks():
    slug = "b" + uuid.uuid4().hex[:10]
    api("POST", "/api/organizations", json={"slug": slug})
    org = {"X-Organization": slug}
    task = api("POST", "/api/tasks", headers=org, json={"name": "hooked", "labels": [{"name": "a"}]}).json()["id"]
    patch = lambda: api("PATCH", f"/api/tasks/{task}", json={"name": uuid.uuid4().hex})  # noqa: E731
    timed(patch, 20)
    without = p50_ms(timed(patch, 300))
    receiver = Receiver()
    hook = api("POST", "/api/webhooks", headers=org, json={
        "target_url": receiver.url, "type": "organization", "events": ["update:task"], "secret": "bench"}).json()["id"]
    with_hook = p50_ms(timed(patch, 300))
    receiver.wait_for(300)
    # The same with the export service (which posts deliveries) stopped: what the request
    # path itself adds, without the deliveries' work competing for the two cores.
    export = int(SERVICES["export"])
    os.kill(export, signal.SIGSTOP)
    try:
        paused = p50_ms(timed(patch, 300))
    finally:
        os.kill(export, signal.SIGCONT)
    receiver.wait_for(600)
    print(f"task PATCH p50, no webhook / a webhook listening   {without:7.2f} ms / {with_hook:7.2f} ms "
          f"(added {with_hook - without:+.2f} ms while deliveries are sent on the same cores; "
          f"{paused - without:+.2f} ms with the senders paused)")

    api("PATCH", f"/api/webhooks/{hook}", json={"is_active": False})
    for _ in range(1000):
        api("POST", f"/api/webhooks/{hook}/ping")
    before = receiver.count
    start = time.perf_counter()
    api("PATCH", f"/api/webhooks/{hook}", json={"is_active": True})
    receiver.wait_for(before + 1000)
    rate = 1000 / (time.perf_counter() - start)
    # The yardstick: the same receiver posted to directly by 8 clients.
    body = json.dumps({"event": "ping", "payload": "x" * 2000})

    def post(_):
        with requests.Session() as s:
            for _ in range(125):
                s.post(receiver.url, data=body, headers={"Content-Type": "application/json"}, timeout=30)

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(post, range(8)))
    direct = 1000 / (time.perf_counter() - start)
    print(f"webhook deliveries, 1,000 queued                    {rate:10.0f} /s   "
          f"(the receiver posted to directly by 8 clients: {direct:8.0f} /s)")


def functions():
    # The agent does no work, so the task needs no data: the call only goes round.
    task = api("POST", "/api/tasks", json={"name": "called", "labels": [{"name": "a"}]}).json()["id"]
    function = api("POST", "/api/functions", json={
        "provider": "native", "name": "instant", "kind": "interactor", "min_pos_points": 1}).json()["id"]
    queue = f"/api/functions/queues/function:{function}"
    stop = threading.Event()
    waiting = threading.Event()

    def watch():
        # As cvat-cli's agent: one event stream kept open, telling the worker to look.
        with requests.Session() as s:
            s.headers.update(HEADERS)
            with s.get(URL + queue + "/watch", stream=True, timeout=None) as stream:
                for line in stream.iter_lines(chunk_size=1):
                    if line.startswith(b"event: newrequest"):
                        waiting.set()
                    if stop.is_set():
                        return

    def agent():
        with requests.Session() as s:
            s.headers.update(HEADERS)
            while not stop.is_set():
                waiting.wait(1)
                waiting.clear()
                while True:
                    got = s.post(URL + queue + "/requests/acquire", timeout=30,
                                 json={"agent_id": "bench", "request_category": "interactive"}).json()["ar_assignment"]
                    if not got:
                        break
                    s.post(URL + queue + f"/requests/{got['ar_id']}/complete", timeout=30,
                           json={"agent_id": "bench", "shapes": []}).raise_for_status()

    threading.Thread(target=watch, daemon=True).start()
    worker = threading.Thread(target=agent, daemon=True)
    worker.start()
    time.sleep(1)
    call = lambda: api("POST", f"/api/lambda/functions/{function}",  # noqa: E731
                       json={"task": task, "frame": 0, "pos_points": [[1, 1]]})
    timed(call, 10)
    calls = p50_ms(timed(call, 200))
    plain = p50_ms(timed(lambda: api("GET", "/api/users/self"), 200))
    stop.set()
    print(f"online function call, agent doing no work, p50      {calls:7.2f} ms   "
          f"(GET /api/users/self p50: {plain:6.2f} ms)")


events_ingest()
webhooks()
functions()
