"""Dataset exports through the pinned cvat-sdk / cvat-cli 2.80.0: CVAT for images 1.1 and
COCO 1.0 of tasks and jobs, written by the export workers and downloaded with the
client's own flow; results reused while the task is unchanged; refusals."""

import json
import os
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import requests
from cvat_sdk import make_client
from cvat_sdk.api_client import models
from test_annotations import by_name, document, make_task

EXPORTERS = ["COCO 1.0", "CVAT for images 1.1"]


def register(base_url):
    """Another user, through the REST API."""
    username = "x" + uuid.uuid4().hex[:10]
    body = {"username": username, "password1": "Compat-pass-31", "password2": "Compat-pass-31"}
    assert requests.post(f"{base_url}/api/auth/register", json=body, timeout=10).status_code == 201
    return username, body["password1"]


def annotated_task(client, tmp_path, **spec):
    task = make_task(client, tmp_path, **spec)
    ids = by_name(task)
    task.set_annotations(models.LabeledDataRequest(**document(ids)))
    return task, ids


def test_the_formats_list_names_exactly_the_working_exporters(base_url, new_user):
    formats = requests.get(f"{base_url}/api/server/annotation/formats", auth=new_user, timeout=10).json()
    assert [f["name"] for f in formats["exporters"]] == EXPORTERS
    assert all(f["enabled"] and f["ext"] == "ZIP" and f["dimension"] == "2d" for f in formats["exporters"])
    assert [f["version"] for f in formats["exporters"]] == ["1.0", "1.1"]
    assert formats["importers"] == []


def test_cvat_for_images_holds_every_shape_on_its_frames(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task, ids = annotated_task(client, tmp_path)
        out = task.export_dataset("CVAT for images 1.1", tmp_path / "cvat.zip", include_images=False)
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["annotations.xml"]
        text = archive.read("annotations.xml").decode()
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>')
    root = ET.fromstring(text)
    meta = root.find("meta/task")
    assert meta.findtext("id") == str(task.id) and meta.findtext("size") == "6"
    assert meta.findtext("owner/username") == new_user[0]
    labels = [l.findtext("name") for l in meta.findall("labels/label")]
    assert {"car", "person", "head", "hand", "sky"} == set(labels)
    car = next(l for l in meta.findall("labels/label") if l.findtext("name") == "car")
    assert [a.findtext("name") for a in car.findall("attributes/attribute")] == ["model", "speed"]
    assert [s.findtext("url") for s in meta.findall("segments/segment")] == [
        f"{base_url}/api/jobs/{task.get_jobs()[0].id}"]

    images = root.findall("image")
    assert [i.get("id") for i in images] == [str(f) for f in range(6)]
    assert all(i.get("width") and i.get("height") for i in images)
    frame1 = images[1]
    # Shapes by z_order: the track's box (0) comes before the shapes (2).
    assert [b.get("z_order") for b in frame1.findall("box")] == ["0", "2"]
    box = frame1.findall("box")[1]
    assert (box.get("xtl"), box.get("ytl"), box.get("xbr"), box.get("ybr"), box.get("rotation")) == (
        "1.50", "2.00", "30.00", "40.25", "45.00")
    assert box.get("occluded") == "1" and box.get("z_order") == "2" and box.get("source") == "manual"
    assert {a.get("name"): a.text for a in box.findall("attribute")} == {"model": "b", "speed": "40"}
    assert frame1.find("polygon").get("points") == "0.00,0.00;10.00,0.00;10.00,10.00"
    ellipse = frame1.find("ellipse")
    assert (ellipse.get("cx"), ellipse.get("cy"), ellipse.get("rx"), ellipse.get("ry")) == (
        "20.00", "20.00", "10.00", "-5.00")
    mask = frame1.find("mask")
    assert (mask.get("rle"), mask.get("left"), mask.get("top"), mask.get("width"), mask.get("height")) == (
        "0, 2, 1, 1", "10", "20", "2", "2")
    assert (frame1.find("cuboid").get("xbr2"), frame1.find("cuboid").get("ybr2")) == ("14.00", "15.00")
    skeleton = images[2].find("skeleton")
    assert skeleton.get("occluded") is None
    assert [(p.get("label"), p.get("outside"), p.get("points")) for p in skeleton.findall("points")] == [
        ("head", "0", "1.00,1.00"), ("hand", "1", "2.00,2.00")]
    # The track's box is on every frame until its outside keyframe, interpolated between.
    track_boxes = [
        [b for b in image.findall("box") if b.get("z_order") == "0" and b.get("label") == "car"] for image in images
    ]
    assert [len(b) for b in track_boxes] == [1, 1, 1, 0, 0, 0]
    assert track_boxes[1][0].get("xtl") == "2.00"
    assert {a.get("name"): a.text for a in track_boxes[0][0].findall("attribute")} == {"speed": "10", "model": "a"}
    assert images[0].find("tag").get("label") == "sky"


def test_coco_has_instances_with_track_ids(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task, ids = annotated_task(client, tmp_path)
        out = task.export_dataset("COCO 1.0", tmp_path / "coco.zip", include_images=False)
        labels = sorted(task.get_labels(), key=lambda l: l.id)
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["annotations/instances_default.json"]
        coco = json.loads(archive.read("annotations/instances_default.json"))
    assert list(coco) == ["licenses", "info", "categories", "images", "annotations"]
    # Labels in primary-key order, sublabels included, with their skeleton as parent.
    names = [c["name"] for c in coco["categories"]]
    assert names[0] == "car" and set(names) == {"car", "person", "head", "hand", "sky"}
    assert {c["name"]: c["supercategory"] for c in coco["categories"]}["head"] == "person"
    assert [i["id"] for i in coco["images"]] == [1, 2, 3, 4, 5, 6]
    assert [i["file_name"] for i in coco["images"]] == [f"frame_{i:02d}.png" for i in range(6)]
    assert [(i["width"], i["height"]) for i in coco["images"]] == [(64 + i, 48) for i in range(6)]
    by_image = {}
    for annotation in coco["annotations"]:
        by_image.setdefault(annotation["image_id"], []).append(annotation)
    assert [a["id"] for a in coco["annotations"]] == list(range(1, len(coco["annotations"]) + 1))
    frame1 = by_image[2]
    kinds = sorted((a["iscrowd"], type(a["segmentation"]).__name__) for a in frame1)
    # The box, the polygon and the mask of frame 1, and the track's box.
    assert kinds == [(0, "list"), (0, "list"), (0, "list"), (1, "dict")]
    box = next(a for a in frame1 if a["bbox"] == [1.5, 2.0, 28.5, 38.25])
    assert box["segmentation"] == [] and box["area"] == pytest.approx(28.5 * 38.25)
    assert box["attributes"] == {"model": "b", "speed": 40.0, "occluded": True, "rotation": 45.0}
    polygon = next(a for a in frame1 if a["segmentation"] and isinstance(a["segmentation"], list))
    assert polygon["segmentation"] == [[0.0, 0.0, 10.0, 0.0, 10.0, 10.0]] and polygon["area"] == 50.0
    mask = next(a for a in frame1 if a["iscrowd"] == 1)
    assert mask["bbox"] == [10.0, 20.0, 2.0, 2.0] and mask["area"] == 3
    tracked = [a for a in coco["annotations"] if "track_id" in a.get("attributes", {})]
    assert [(a["image_id"], a["attributes"]["keyframe"]) for a in tracked] == [(1, True), (2, False), (3, False)]
    assert {a["category_id"] for a in tracked} == {1}


def test_a_job_exports_its_frames_and_its_meta(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task, _ = annotated_task(client, tmp_path, frames=6, segment_size=3)
        jobs = sorted(task.get_jobs(), key=lambda j: j.start_frame)
        out = jobs[1].export_dataset("CVAT for images 1.1", tmp_path / "job.zip", include_images=False)
    root = ET.fromstring(zipfile.ZipFile(out).read("annotations.xml"))
    job = root.find("meta/job")
    assert (job.findtext("id"), job.findtext("start_frame"), job.findtext("stop_frame")) == (str(jobs[1].id), "3", "5")
    assert [i.get("id") for i in root.findall("image")] == ["3", "4", "5"]
    assert root.findall("image/box") == []  # the track went outside on frame 3


def test_an_unchanged_task_reuses_its_export(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task, ids = annotated_task(client, tmp_path)
        first = task.export_dataset("COCO 1.0", tmp_path / "a.zip", include_images=False)
        url = f"{base_url}/api/tasks/{task.id}/dataset/export?format=COCO%201.0&save_images=False"
        again = requests.post(url, auth=new_user, timeout=10)
        assert again.status_code == 202
        rq_id = again.json()["rq_id"]
        # Reused: finished at once, with the same archive.
        request = requests.get(f"{base_url}/api/requests/{requests.utils.quote(rq_id, safe='')}",
                               auth=new_user, timeout=10).json()
        assert request["status"] == "finished" and request["operation"]["format"] == "COCO 1.0"
        assert request["operation"]["type"] == "export:annotations" and request["expiry_date"]
        download = requests.get(request["result_url"], auth=new_user, timeout=10)
        assert download.status_code == 200 and download.content == Path(first).read_bytes()
        disposition = download.headers["Content-Disposition"]
        assert disposition == f'attachment; filename="task_{task.id}_annotations_COCO 1.0.zip"'

        # A change makes the next export run again and show it.
        task.remove_annotations()
        second = task.export_dataset("COCO 1.0", tmp_path / "b.zip", include_images=False)
        coco = json.loads(zipfile.ZipFile(second).read("annotations/instances_default.json"))
        assert coco["annotations"] == []


def test_the_cli_exports_a_task(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task, _ = annotated_task(client, tmp_path)
    cli = Path(sys.executable).with_name("cvat-cli")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = subprocess.run(
        [str(cli), "--server-host", base_url, "--auth", f"{new_user[0]}:{new_user[1]}", "task", "export-dataset",
         str(task.id), str(out_dir / "cli.zip"), "--format", "CVAT for images 1.1", "--with-images", "False",
         "--completion_verification_period", "0.2"],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr
    root = ET.fromstring(zipfile.ZipFile(out_dir / "cli.zip").read("annotations.xml"))
    assert len(root.findall("image")) == 6


def test_exports_are_refused_clearly(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task, _ = annotated_task(client, tmp_path)
        start = f"{base_url}/api/tasks/{task.id}/dataset/export"
        unknown = requests.post(f"{start}?format=Nope%201.0", auth=new_user, timeout=10)
        assert unknown.status_code == 400 and "Unknown format" in unknown.text
        missing = requests.post(start, auth=new_user, timeout=10)
        assert missing.status_code == 400 and missing.json() == {"format": ["This field is required."]}
        cloud = requests.post(f"{start}?format=COCO%201.0&location=cloud_storage", auth=new_user, timeout=10)
        assert cloud.status_code == 400

        # Someone else can neither export the task nor download the owner's archive.
        other = register(base_url)
        assert requests.post(f"{start}?format=COCO%201.0", auth=other, timeout=10).status_code == 403
        rq_id = requests.post(f"{start}?format=COCO%201.0", auth=new_user, timeout=10).json()["rq_id"]
        client.wait_for_completion(rq_id, status_check_period=0.2)
        download = f"{base_url}/api/tasks/{task.id}/dataset/download"
        assert requests.get(download, params={"rq_id": rq_id}, auth=other, timeout=10).status_code == 403
        assert requests.get(download, params={"rq_id": "nope"}, auth=new_user, timeout=10).status_code == 404


def test_images_are_saved_as_uploaded(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task, _ = annotated_task(client, tmp_path)
        # The client's default: with images.
        coco = task.export_dataset("COCO 1.0", tmp_path / "coco-images.zip")
        cvat = task.export_dataset("CVAT for images 1.1", tmp_path / "cvat-images.zip")
    uploaded = {f"frame_{i:02d}.png": (tmp_path / f"frame_{i:02d}.png").read_bytes() for i in range(6)}
    with zipfile.ZipFile(coco) as archive:
        assert sorted(archive.namelist()) == ["annotations/instances_default.json"] + [
            f"images/default/{name}" for name in sorted(uploaded)]
        assert {n: archive.read(f"images/default/{n}") for n in uploaded} == uploaded
    with zipfile.ZipFile(cvat) as archive:
        assert {n: archive.read(f"images/{n}") for n in uploaded} == uploaded
        assert archive.getinfo("images/frame_00.png").compress_type == zipfile.ZIP_STORED
