"""`make bench` scaling section, one run per number of media workers (processes, started
by tests/bench/run.sh): a burst of 20 tasks of 100 distinct 1080p JPEGs each, uploaded as
the SDK does and then finished together with every chunk built at once
(`use_cache: false`, so each task is real decoding and encoding work). Prints images per
second from the first Upload-Finish until every task is ready, and the queue wait: for
each task, the time from its Upload-Finish until a worker started it (its request leaves
`queued`). Then checks that each task was processed once: all its frames, one job.

With DURING, that shell command runs while the burst is processed (started once every
task is finished; the figures wait for it to end): the bench uses it for a rolling restart
of the workers.

Usage: scaling.py URL TOKEN WORK_DIR LABEL [DURING]
"""

import statistics
import subprocess
import sys
import time

import requests

from ingest import AUTH, URL, finish, images, upload

TASKS, IMAGES = 20, 100


def main():
    label = sys.argv[4]
    paths = images(IMAGES, (1920, 1080))
    tasks = [upload(paths) for _ in range(TASKS)]
    finished_at = {}
    started = time.perf_counter()
    for task in tasks:
        finish(task, False)
        finished_at[task] = time.perf_counter()
    during = subprocess.Popen(sys.argv[5], shell=True) if len(sys.argv) > 5 else None
    session = requests.Session()
    waits, pending = {}, set(tasks)
    while pending:
        for task in list(pending):
            rq = f"{URL}/api/requests/action%3Dcreate%26target%3Dtask%26target_id%3D{task}"
            status = session.get(rq, headers=AUTH).json()["status"]
            if status != "queued" and task not in waits:
                waits[task] = time.perf_counter() - finished_at[task]
            if status == "failed":
                sys.exit(f"task {task} failed")
            if status == "finished":
                pending.discard(task)
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    if during and during.wait() != 0:
        sys.exit(f"{sys.argv[5]!r} failed")
    for task in tasks:
        frames = len(session.get(f"{URL}/api/tasks/{task}/data/meta", headers=AUTH).json()["frames"])
        jobs = session.get(f"{URL}/api/jobs", headers=AUTH, params={"task_id": task}).json()["count"]
        if (frames, jobs) != (IMAGES, 1):
            sys.exit(f"task {task}: {frames} frames, {jobs} jobs")
    waited = sorted(waits.values())
    print(f"{label}: {TASKS} tasks x {IMAGES} 1080p JPEGs in {elapsed:.1f} s = {TASKS * IMAGES / elapsed:.1f} "
          f"images/s; queue wait p50 {statistics.median(waited):.1f} s, max {waited[-1]:.1f} s")


main()
