"""`make bench` annotations section: PUT and GET of one job's annotations through the
whole stack (HTTP -> gateway -> task gRPC -> PostgreSQL), each beside PostgreSQL's own
COPY of the same rows in the same run, plus incremental saves and peak memory.

Usage: annotations.py URL TOKEN DATABASE_URL PIDS_FILE SHARE_DIR
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests

URL, TOKEN, DATABASE, PIDS, SHARE = sys.argv[1:6]
HEADERS = {"Authorization": f"Token {TOKEN}", "Content-Type": "application/json"}
SERVICES = dict(zip(["auth", "task", "media", "export", "gateway"], open(PIDS).read().split()))
FRAMES = 100


def api(method, path, **kwargs):
    response = requests.request(method, URL + path, headers=HEADERS, timeout=600, **kwargs)
    response.raise_for_status()
    return response


def make_job():
    """A task of FRAMES tiny frames from the share (one job) with a label of two attributes."""
    folder = os.path.join(SHARE, "annotation-frames")
    if not os.path.isdir(folder):
        os.makedirs(folder)
        subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=32x24", "-frames:v", str(FRAMES),
             os.path.join(folder, "f%04d.png")],
            check=True,
        )
    labels = [
        {"name": "car", "attributes": [
            {"name": "model", "mutable": False, "input_type": "select", "values": ["a", "b"]},
            {"name": "speed", "mutable": True, "input_type": "number", "values": ["0", "200", "1"]},
        ]},
        {"name": "point"},
    ]
    task = api("POST", "/api/tasks", json={"name": "annotation bench", "labels": labels}).json()["id"]
    api("POST", f"/api/tasks/{task}/data/", json={"image_quality": 70, "server_files": ["annotation-frames/"]})
    for _ in range(1200):
        request = api("GET", f"/api/requests/action%3Dcreate%26target%3Dtask%26target_id%3D{task}").json()
        if request["status"] in ("finished", "failed"):
            break
        time.sleep(0.05)
    job = api("GET", f"/api/jobs?task_id={task}").json()["results"][0]["id"]
    got = {l["name"]: l for l in api("GET", f"/api/labels?task_id={task}").json()["results"]}
    car = got["car"]
    return job, car["id"], [a["id"] for a in car["attributes"]], got["point"]["id"]


def rectangles(n, car, specs):
    return {"shapes": [
        {"type": "rectangle", "frame": i % FRAMES, "label_id": car, "points": [i % 640, i % 480, i % 640 + 20.5, i % 480 + 30.25],
         "attributes": [{"spec_id": specs[0], "value": "a"}, {"spec_id": specs[1], "value": str(i % 200)}]}
        for i in range(n)]}


def polygons(n, car):
    return {"shapes": [
        {"type": "polygon", "frame": i % FRAMES, "label_id": car,
         "points": [float((i + k * 7) % 640) for k in range(40)]}
        for i in range(n)]}


def tracks(n, keyframes, car):
    return {"tracks": [
        {"frame": 0, "label_id": car, "shapes": [
            {"type": "rectangle", "frame": k, "points": [k, k, k + 10.0, k + 10.0]}
            for k in range(min(keyframes, FRAMES))]}
        for _ in range(n)]}


def points(n, label):
    return {"shapes": [
        {"type": "points", "frame": i % FRAMES, "label_id": label, "points": [float(i % 640), float(i % 480)]}
        for i in range(n)]}


class PeakRss:
    """Samples the services' resident memory every 0.1 s while in use: the first sample
    (what the process held before, freed heap included) and the peak."""

    def __init__(self):
        self.peak = {name: 0 for name in SERVICES}
        self.start = {}
        self.running = True
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self):
        while self.running:
            for name, pid in SERVICES.items():
                try:
                    with open(f"/proc/{pid}/status") as status:
                        kib = next(int(l.split()[1]) for l in status if l.startswith("VmRSS"))
                    self.peak[name] = max(self.peak[name], kib)
                    self.start.setdefault(name, kib)
                except (OSError, StopIteration):
                    pass
            time.sleep(0.1)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.running = False
        self.thread.join()

    def of(self, *names):
        return ", ".join(f"{n} {self.peak[n] // 1024} MiB" for n in names)

    def grown(self, *names):
        """Each service's RSS before and at its peak."""
        return ", ".join(f"{n} {self.start.get(n, 0) // 1024}\u2192{self.peak[n] // 1024} MiB" for n in names)

    def __str__(self):
        return self.of("gateway", "task")


def copy_yardstick(job):
    """PostgreSQL's own COPY of the job's rows (out to a file, then timed back in)."""
    with tempfile.NamedTemporaryFile(suffix=".copy") as dump:
        psql = ["psql", DATABASE, "-q", "-v", "ON_ERROR_STOP=1"]
        subprocess.run(psql + ["-c", f"\\copy (SELECT * FROM engine.annotations WHERE job_id = {job}) TO '{dump.name}'"], check=True)
        script = (f"CREATE TEMP TABLE copied (LIKE engine.annotations INCLUDING ALL);\n"
                  f"\\copy copied FROM '{dump.name}'\n")
        start = time.perf_counter()
        subprocess.run(psql, input=script, text=True, check=True)
        return time.perf_counter() - start


def case(label, job, document):
    body = json.dumps(document).encode()
    path = f"/api/jobs/{job}/annotations/"
    with PeakRss() as put_rss:
        start = time.perf_counter()
        api("PUT", path, data=body)
        put = time.perf_counter() - start
    with PeakRss() as get_rss:
        start = time.perf_counter()
        answer = api("GET", path).content
        get = time.perf_counter() - start
    copy = copy_yardstick(job)
    print(f"{label:<36} {len(body) / 1e6:6.1f} MB  PUT {put:5.2f} s  GET {get:5.2f} s"
          f"  (PostgreSQL COPY of the rows {copy:5.2f} s)  peak RSS during PUT: {put_rss}; during GET: {get_rss}")
    assert len(answer) > 0


def patches(job, car, specs):
    body = json.dumps(rectangles(100, car, specs)).encode()
    path = f"/api/jobs/{job}/annotations/?action=create"
    times = []
    for _ in range(50):
        start = time.perf_counter()
        api("PATCH", path, data=body)
        times.append(time.perf_counter() - start)
    health = []
    for _ in range(50):
        start = time.perf_counter()
        requests.get(URL + "/healthz", timeout=10)
        health.append(time.perf_counter() - start)
    print(f"{'PATCH create of 100 into 100k boxes':<38} p50 {statistics.median(times) * 1000:6.1f} ms"
          f"  p90 {sorted(times)[44] * 1000:6.1f} ms  (GET /healthz p50 {statistics.median(health) * 1000:.1f} ms)")


def main():
    job, car, specs, point = make_job()
    case("100k rectangles, 2 attributes each", job, rectangles(100_000, car, specs))
    patches(job, car, specs)
    case("100k polygons of 20 points", job, polygons(100_000, car))
    case("10k tracks of 100 keyframes", job, tracks(10_000, 100, car))
    case("1M points shapes", job, points(1_000_000, point))


if __name__ == "__main__":
    main()
