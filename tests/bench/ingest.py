"""`make bench` ingest section: 1,000 uploaded 640x480 JPEGs (the client's upload path:
Upload-Start, Upload-Multiple, Upload-Finish) made ready with compressed chunks built on
first request (the default) and all at once (`use_cache: false`), beside Pillow
(libjpeg-turbo) decoding and re-encoding the same files at q70 on one core in the same
run; then the first request of each unbuilt compressed chunk (72 frames), newest chunk
first so the background pre-build, which goes in frame order, rarely got there before.
(tests/bench/scaling.py uses its helpers.)

Usage: ingest.py URL TOKEN WORK_DIR
"""

import io
import os
import statistics
import sys
import time
from datetime import datetime, timezone

import requests
from PIL import Image

URL, TOKEN, WORK = sys.argv[1:4]
AUTH = {"Authorization": f"Token {TOKEN}"}
IMAGES = 1000
BATCH_BYTES = 4 << 20


def images(count=IMAGES, size=(640, 480)):
    """`count` distinct JPEGs of `size` at q90 (kept between runs)."""
    folder = os.path.join(WORK, f"ingest-{size[0]}x{size[1]}")
    os.makedirs(folder, exist_ok=True)
    paths = [os.path.join(folder, f"img{i:04d}.jpg") for i in range(count)]
    base = Image.effect_mandelbrot(size, (-2.0, -1.2, 1.0, 1.2), 64).convert("RGB")
    for i, path in enumerate(paths):
        if not os.path.exists(path):
            shifted = Image.eval(base, lambda v, i=i: (v * 7 + i * 13) % 256)
            shifted.save(path, quality=90)
    return paths


def yardstick(paths):
    """Pillow's decode + re-encode at q70 of every file, one core: images per second."""
    start = time.perf_counter()
    for path in paths:
        with Image.open(path) as image:
            image.load()
            image.save(io.BytesIO(), format="JPEG", quality=70)
    return len(paths) / (time.perf_counter() - start)


def upload(paths):
    """A task with the files uploaded as the SDK does (not yet finished): its id."""
    task = requests.post(f"{URL}/api/tasks", headers=AUTH, json={"name": "ingest", "labels": [{"name": "a"}]})
    task = task.json()["id"]
    data = f"{URL}/api/tasks/{task}/data/"
    requests.post(data, headers={**AUTH, "Upload-Start": "x"}).raise_for_status()
    batch, size = [], 0
    for path in paths + [None]:
        if path is not None:
            batch.append(path)
            size += os.path.getsize(path)
        if batch and (path is None or size >= BATCH_BYTES):
            files = [(f"client_files[{i}]", (os.path.basename(p), open(p, "rb"))) for i, p in enumerate(batch)]
            requests.post(data, headers={**AUTH, "Upload-Multiple": "x"}, files=files).raise_for_status()
            for _, (_, handle) in files:
                handle.close()
            batch, size = [], 0
    return task


def finish(task, use_cache):
    body = {"image_quality": 70, "use_cache": use_cache}
    requests.post(f"{URL}/api/tasks/{task}/data/", headers={**AUTH, "Upload-Finish": "x"}, json=body).raise_for_status()


def wait_ready(task, session):
    """The moment the task's request finished, as the server recorded it. Polled every
    50 ms: the server's own time keeps the figure exact without a poll every few
    milliseconds taking the cores the measured work runs on (same machine, same clock)."""
    rq = f"{URL}/api/requests/action%3Dcreate%26target%3Dtask%26target_id%3D{task}"
    while True:
        answer = session.get(rq, headers=AUTH).json()
        if answer["status"] == "finished":
            return datetime.fromisoformat(answer["finished_date"].replace("Z", "+00:00"))
        if answer["status"] == "failed":
            sys.exit(f"task {task} failed")
        time.sleep(0.05)


def create_task(paths, use_cache):
    """A task of `paths`: its id and the seconds from Upload-Finish until it is ready."""
    task = upload(paths)
    started = datetime.now(timezone.utc)
    finish(task, use_cache)
    finished = wait_ready(task, requests.Session())
    return task, (finished - started).total_seconds()


def first_requests(task):
    """Seconds of each chunk's first request, newest chunk first."""
    chunks = (IMAGES + 71) // 72
    session = requests.Session()
    times = []
    for number in reversed(range(chunks)):
        start = time.perf_counter()
        answer = session.get(f"{URL}/api/tasks/{task}/data?type=chunk&number={number}&quality=compressed",
                             headers=AUTH)
        times.append(time.perf_counter() - start)
        answer.raise_for_status()
    return times


def main():
    paths = images()
    per_core = yardstick(paths)
    print(f"Pillow (libjpeg-turbo) decode + encode q70, one core: {per_core:8.1f} images/s "
          f"= {IMAGES / per_core:.2f} s for {IMAGES}")
    for use_cache, label in ((True, "chunks on first request (default)"), (False, "every chunk at once")):
        ready = []
        for _ in range(3):
            task, elapsed = create_task(paths, use_cache)
            ready.append(elapsed)
            if use_cache:
                times = first_requests(task)
                print(f"  first request of each unbuilt 72-frame compressed chunk: p50 "
                      f"{statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
                      f"over {len(times)}")
        print(f"{IMAGES} uploaded 640x480 JPEGs ready after Upload-Finish, {label}: "
              f"{statistics.median(ready):.2f} s (median of 3: {', '.join(f'{r:.2f}' for r in ready)})")


if __name__ == "__main__":
    main()
