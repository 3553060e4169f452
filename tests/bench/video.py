"""`make bench` video section: a 1080p clip (180 frames, 25 fps; ffmpeg's mandelbrot
zoom: fine detail, every frame differs) made a task with zip chunks (`use_zip_chunks`, what every
video task had before MP4 chunks) and with CVAT's MP4 chunks (the default); for each:
seconds until ready, bytes per frame of the compressed and original chunks a client
downloads, what storage holds per frame, the first and a warm request of each MP4 chunk,
and single compressed frames (one connection) beside `/healthz` on the same connection.
Yardstick: ffmpeg decoding the clip on this machine in the same run.

Usage: video.py URL TOKEN WORK_DIR
"""

import os
import statistics
import subprocess
import sys
import time

import requests

URL, TOKEN, WORK = sys.argv[1:4]
AUTH = {"Authorization": f"Token {TOKEN}"}
FRAMES = 180
CHUNK = 36


def clip():
    path = os.path.join(WORK, "clip-1080p.mp4")
    if not os.path.exists(path):
        subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "mandelbrot=size=1920x1080:rate=25",
             "-frames:v", str(FRAMES), "-c:v", "libx264", "-crf", "18", "-pix_fmt", "yuv420p", path],
            check=True, timeout=600,
        )
    return path


def yardstick(path):
    """Seconds ffmpeg takes to decode the clip (all threads)."""
    started = time.perf_counter()
    subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"], check=True, timeout=600)
    return time.perf_counter() - started


def create_task(path, params):
    """A task of the clip, uploaded in one request: its id and seconds until ready."""
    task = requests.post(f"{URL}/api/tasks", headers=AUTH, json={"name": "video", "labels": [{"name": "a"}]})
    task = task.json()["id"]
    started = time.perf_counter()
    with open(path, "rb") as handle:
        data = {"image_quality": "70", "chunk_size": str(CHUNK), **params}
        answer = requests.post(f"{URL}/api/tasks/{task}/data/", headers=AUTH, data=data,
                               files={"client_files[0]": ("clip.mp4", handle)})
        answer.raise_for_status()
    rq = f"{URL}/api/requests/action%3Dcreate%26target%3Dtask%26target_id%3D{task}"
    session = requests.Session()
    while True:
        status = session.get(rq, headers=AUTH).json()["status"]
        if status == "finished":
            return task, time.perf_counter() - started
        if status == "failed":
            sys.exit(f"task {task} failed")
        time.sleep(0.01)


def chunks(task, quality, session):
    """Each chunk of `quality` in order: (seconds, bytes); all of one content type."""
    out, kinds = [], set()
    for number in range((FRAMES + CHUNK - 1) // CHUNK):
        started = time.perf_counter()
        answer = session.get(f"{URL}/api/tasks/{task}/data?type=chunk&number={number}&quality={quality}",
                             headers=AUTH)
        answer.raise_for_status()
        out.append((time.perf_counter() - started, len(answer.content)))
        kinds.add(answer.headers["content-type"])
    assert len(kinds) == 1, kinds
    print(f"  {quality} chunks of task {task}: {kinds.pop()}")
    return out


def per_frame(measured):
    return sum(size for _, size in measured) / FRAMES


def p50_ms(seconds):
    return statistics.median(seconds) * 1000


def singles(task, session):
    """p50 ms of 300 single compressed frames and of 300 `/healthz`, one connection."""
    frames, health = [], []
    for i in range(300):
        started = time.perf_counter()
        session.get(f"{URL}/api/tasks/{task}/data?type=frame&number={(i * 37) % FRAMES}&quality=compressed",
                    headers=AUTH).raise_for_status()
        frames.append(time.perf_counter() - started)
        started = time.perf_counter()
        session.get(f"{URL}/healthz").raise_for_status()
        health.append(time.perf_counter() - started)
    return p50_ms(frames), p50_ms(health)


def main():
    path = clip()
    print(f"clip: {FRAMES} frames 1920x1080, {os.path.getsize(path) / FRAMES / 1024:.1f} KiB/frame as uploaded; "
          f"ffmpeg decodes it in {yardstick(path):.2f} s")
    session = requests.Session()
    zipped, ready = create_task(path, {"use_zip_chunks": "true"})
    zip_compressed = per_frame(chunks(zipped, "compressed", session))
    # The original zips every video task had before (kept to serve single frames): the
    # sum of its members, the original frames.
    original_frames = sum(
        len(session.get(f"{URL}/api/tasks/{zipped}/data?type=frame&number={n}&quality=original",
                        headers=AUTH).content)
        for n in range(FRAMES)
    ) / FRAMES
    print(f"zip chunks (before: what every video task had): ready in {ready:.2f} s; per frame: compressed "
          f"{zip_compressed / 1024:.1f} KiB, original {original_frames / 1024:.1f} KiB; "
          f"stored {(zip_compressed + original_frames) / 1024:.1f} KiB")
    task, ready = create_task(path, {})
    first_compressed = chunks(task, "compressed", session)
    warm = chunks(task, "compressed", session)
    first_original = chunks(task, "original", session)
    mp4_compressed, mp4_original = per_frame(first_compressed), per_frame(first_original)
    print(f"MP4 chunks (after; the default): ready in {ready:.2f} s; per frame: compressed "
          f"{mp4_compressed / 1024:.1f} KiB ({zip_compressed / mp4_compressed:.1f}x smaller), original "
          f"{mp4_original / 1024:.1f} KiB (lossless); stored with the frame zips single frames are read from: "
          f"{(zip_compressed + original_frames + mp4_compressed + mp4_original) / 1024:.1f} KiB")
    print(f"  MP4 compressed chunk of {CHUNK} frames: first request p50 {p50_ms([t for t, _ in first_compressed]):.0f} ms "
          f"(max {max(t for t, _ in first_compressed) * 1000:.0f}); warm p50 {p50_ms([t for t, _ in warm]):.1f} ms; "
          f"original first request p50 {p50_ms([t for t, _ in first_original]):.0f} ms")
    frame, health = singles(task, session)
    print(f"  single compressed frame of the video task, one connection: p50 {frame:.2f} ms "
          f"(/healthz on the same connection: {health:.2f} ms)")


main()
