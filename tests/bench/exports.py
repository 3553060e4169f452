"""`make bench` exports section: COCO 1.0 and CVAT for images 1.1 exports of a task of
10k frames with 100k and with 1M boxes plus tracks (1k tracks of 100 keyframes at the
larger size), then imports of the same files; time from the request to its end and the
peak RSS of the export worker and the task service. Beside them, in the same run,
`datumaro convert` of the same COCO file to the Datumaro format (when datumaro can be
installed from PyPI) and PostgreSQL's COPY of the task's annotation rows.

Usage: exports.py URL TOKEN DATABASE_URL PIDS_FILE SHARE_DIR
"""

import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile

import requests
from annotations import PeakRss, api, copy_yardstick

URL, TOKEN, DATABASE, PIDS, SHARE = sys.argv[1:6]
FRAMES = 10_000


def make_task():
    folder = os.path.join(SHARE, "export-frames")
    if not os.path.isdir(folder):
        os.makedirs(folder)
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=32x24", "-frames:v",
                        str(FRAMES), os.path.join(folder, "f%05d.png")], check=True)
    labels = [{"name": "car", "attributes": [
        {"name": "model", "mutable": False, "input_type": "select", "values": ["a", "b"]}]}]
    task = api("POST", "/api/tasks", json={"name": "export bench", "labels": labels}).json()["id"]
    api("POST", f"/api/tasks/{task}/data/", json={"image_quality": 70, "server_files": ["export-frames/"]})
    wait(f"action%3Dcreate%26target%3Dtask%26target_id%3D{task}")
    job = api("GET", f"/api/jobs?task_id={task}").json()["results"][0]["id"]
    car = api("GET", f"/api/labels?task_id={task}").json()["results"][0]
    return task, job, car["id"], car["attributes"][0]["id"]


def wait(rq_id):
    for _ in range(36000):
        request = api("GET", f"/api/requests/{rq_id}").json()
        if request["status"] == "finished":
            return request
        if request["status"] == "failed":
            raise RuntimeError(request["message"])
        time.sleep(0.05)
    raise RuntimeError("timed out")


def document(boxes, tracks, car, model):
    shapes = [{"type": "rectangle", "frame": i % FRAMES, "label_id": car,
               "points": [i % 600, i % 400, i % 600 + 20.5, i % 400 + 30.25],
               "attributes": [{"spec_id": model, "value": "a"}]} for i in range(boxes)]
    track_list = []
    for t in range(tracks):
        start = (t * 97) % (FRAMES - 101)
        keyframes = [{"type": "rectangle", "frame": start + k, "points": [k, k, k + 10.0, k + 10.0]}
                     for k in range(100)]
        keyframes.append({"type": "rectangle", "frame": start + 100, "points": [0, 0, 1, 1], "outside": True})
        track_list.append({"frame": start, "label_id": car, "attributes": [{"spec_id": model, "value": "b"}],
                           "shapes": keyframes})
    return {"shapes": shapes, "tracks": track_list}


def quote(rq_id):
    return requests.utils.quote(rq_id, safe="")


def export(task, format_name):
    with PeakRss() as rss:
        start = time.perf_counter()
        rq_id = api("POST", f"/api/tasks/{task}/dataset/export",
                    params={"format": format_name, "save_images": "False"}).json()["rq_id"]
        request = wait(quote(rq_id))
        took = time.perf_counter() - start
    archive = requests.get(request["result_url"], headers={"Authorization": f"Token {TOKEN}"}, timeout=600).content
    return took, rss, archive


def import_file(task, format_name, name, archive):
    with PeakRss() as rss:
        start = time.perf_counter()
        answer = requests.post(f"{URL}/api/tasks/{task}/annotations/", params={"format": format_name},
                               files={"annotation_file": (name, archive)},
                               headers={"Authorization": f"Token {TOKEN}"}, timeout=600)
        answer.raise_for_status()
        rq_id = answer.json()["rq_id"]
        wait(quote(rq_id))
        took = time.perf_counter() - start
    return took, rss


def datumaro_yardstick(coco_zip):
    """`datumaro convert` of the COCO archive to Datumaro, when datumaro installs."""
    venv = os.path.join(os.path.dirname(__file__), ".venv-datumaro")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(os.path.join(venv, "bin", "datum")):
        made = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True)
        installed = made.returncode == 0 and subprocess.run(
            [python, "-m", "pip", "install", "-q", "datumaro[cli]"], capture_output=True, timeout=900).returncode == 0
        if not installed:
            return "datumaro could not be installed here"
    with tempfile.TemporaryDirectory() as work:
        with zipfile.ZipFile(io.BytesIO(coco_zip)) as archive:
            archive.extractall(os.path.join(work, "coco"))
        # Upstream datumaro wants the images directory even for annotations alone.
        os.makedirs(os.path.join(work, "coco", "images", "default"), exist_ok=True)
        start = time.perf_counter()
        converted = subprocess.run([os.path.join(venv, "bin", "datum"), "convert", "-if", "coco_instances", "-i",
                                    os.path.join(work, "coco"), "-f", "datumaro", "-o", os.path.join(work, "out")],
                                   capture_output=True, text=True)
        took = time.perf_counter() - start
    if converted.returncode != 0:
        return f"datumaro convert failed: {converted.stderr.strip()[-200:]}"
    return f"datumaro convert of the same COCO file to Datumaro: {took:6.2f} s"


def main():
    task, job, car, model = make_task()
    for label, boxes, tracks in [("100k boxes + 100 tracks", 100_000, 100), ("1M boxes + 1k tracks", 1_000_000, 1_000)]:
        body = json.dumps(document(boxes, tracks, car, model)).encode()
        api("PUT", f"/api/jobs/{job}/annotations/", data=body)
        print(f"== {label} of 100 keyframes on {FRAMES} frames ({len(body) / 1e6:.0f} MB of JSON); "
              f"PostgreSQL COPY of the task's rows: {copy_yardstick(job):5.2f} s")
        coco = None
        for format_name, importer, name in [("COCO 1.0", "COCO 1.0", "coco.zip"),
                                            ("CVAT for images 1.1", "CVAT 1.1", "cvat.zip")]:
            took, rss, archive = export(task, format_name)
            coco = archive if importer == "COCO 1.0" else coco
            print(f"   export {format_name:<22} {took:6.2f} s  {len(archive) / 1e6:6.1f} MB  "
                  f"RSS before\u2192peak: {rss.grown('export', 'task')}")
            took, rss = import_file(task, importer, name, archive)
            print(f"   import {importer:<22} {took:6.2f} s  RSS before\u2192peak: {rss.grown('export', 'task')}")
        print(f"   {datumaro_yardstick(coco)}")


main()
