"""Dataset exports, annotation imports and backups through the pinned cvat-sdk / cvat-cli
2.80.0: every listed format of tasks, jobs and projects, written by the export workers and
downloaded with the client's own flow; results reused while the task is unchanged;
imports into fresh tasks (a round trip per importer); exports opened in upstream
datumaro; backups and restores; refusals."""

import io
import json
import os
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import requests
from cvat_sdk import make_client
from cvat_sdk.api_client import models
import cli
from test_annotations import MASK, by_name, document, labels, make_task
from test_cloud_storages import bucket  # noqa: F401 (a fixture)

ULTRALYTICS = ["Ultralytics YOLO Detection 1.0", "Ultralytics YOLO Detection Track 1.0",
               "Ultralytics YOLO Oriented Bounding Boxes 1.0", "Ultralytics YOLO Segmentation 1.0",
               "Ultralytics YOLO Pose 1.0", "Ultralytics YOLO Classification 1.0"]
EXPORTERS = ["COCO 1.0", "COCO Keypoints 1.0", "CVAT for video 1.1", "CVAT for images 1.1", "Datumaro 1.0",
             "Segmentation mask 1.1", "PASCAL VOC 1.1", "YOLO 1.1"] + ULTRALYTICS


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
    assert [f["version"] for f in formats["exporters"]] == ["1.0", "1.0", "1.1", "1.1", "1.0", "1.1", "1.1", "1.1"] + [
        "1.0"] * 6
    # As CVAT: one importer for both CVAT flavours, none for Detection Track (Detection
    # reads track numbers), the Ultralytics ones in CVAT's order.
    assert [(f["name"], f["ext"]) for f in formats["importers"]] == [
        ("COCO 1.0", "JSON, ZIP"), ("COCO Keypoints 1.0", "JSON, ZIP"), ("CVAT 1.1", "XML, ZIP"),
        ("Datumaro 1.0", "JSON, ZIP"), ("Segmentation mask 1.1", "ZIP"), ("PASCAL VOC 1.1", "ZIP"),
        ("YOLO 1.1", "ZIP"),
        ("Ultralytics YOLO Detection 1.0", "ZIP"), ("Ultralytics YOLO Segmentation 1.0", "ZIP"),
        ("Ultralytics YOLO Oriented Bounding Boxes 1.0", "ZIP"), ("Ultralytics YOLO Pose 1.0", "ZIP"),
        ("Ultralytics YOLO Classification 1.0", "ZIP")]


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
    # The box, the polygon, the mask and the ellipse (painted) of frame 1, and the track's box.
    assert kinds == [(0, "list"), (0, "list"), (0, "list"), (1, "dict"), (1, "dict")]
    box = next(a for a in frame1 if a["bbox"] == [1.5, 2.0, 28.5, 38.25])
    assert box["segmentation"] == [] and box["area"] == pytest.approx(28.5 * 38.25)
    assert box["attributes"] == {"model": "b", "speed": 40.0, "occluded": True, "rotation": 45.0}
    polygon = next(a for a in frame1 if a["segmentation"] and isinstance(a["segmentation"], list))
    # The area pycocotools gives the triangle on this 65×48 frame (not its exact 50).
    assert polygon["segmentation"] == [[0.0, 0.0, 10.0, 0.0, 10.0, 10.0]] and polygon["area"] == 45.0
    mask = next(a for a in frame1 if a["iscrowd"] == 1 and a["bbox"][0:2] == [10.0, 20.0])
    assert mask["bbox"] == [10.0, 20.0, 2.0, 2.0] and mask["area"] == 3
    # The ellipse centred at (20, 20) with radii 10 and 5, as a crowd RLE of the pixels
    # OpenCV's filled ellipse sets (cv2.ellipse on this frame sets 187).
    ellipse = next(a for a in frame1 if a["iscrowd"] == 1 and a is not mask)
    assert ellipse["bbox"] == [10.0, 15.0, 21.0, 11.0] and ellipse["area"] == 187
    assert ellipse["attributes"]["rotation"] == 0.0
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
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    cli.run(base_url, new_user, "task", "export-dataset",
            str(task.id), str(out_dir / "cli.zip"), "--format", "CVAT for images 1.1", "--with-images", "False",
            "--completion_verification_period", "0.2")
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
        classes = task.export_dataset("Ultralytics YOLO Classification 1.0", tmp_path / "classes.zip")
    uploaded = {f"frame_{i:02d}.png": (tmp_path / f"frame_{i:02d}.png").read_bytes() for i in range(6)}
    with zipfile.ZipFile(classes) as archive:
        # Each image in the folder of its tag's label, or in no_label/.
        assert sorted(archive.namelist()) == ["train/labels.json", "train/no_label/frame_01.png",
                                              "train/no_label/frame_02.png", "train/no_label/frame_03.png",
                                              "train/no_label/frame_04.png", "train/no_label/frame_05.png",
                                              "train/sky/frame_00.png"]
        assert archive.read("train/sky/frame_00.png") == uploaded["frame_00.png"]
        assert json.loads(archive.read("train/labels.json"))["frame_00"] == {
            "labels": ["sky"], "path": "sky/frame_00.png"}
    with zipfile.ZipFile(coco) as archive:
        assert sorted(archive.namelist()) == ["annotations/instances_default.json"] + [
            f"images/default/{name}" for name in sorted(uploaded)]
        assert {n: archive.read(f"images/default/{n}") for n in uploaded} == uploaded
    with zipfile.ZipFile(cvat) as archive:
        assert {n: archive.read(f"images/{n}") for n in uploaded} == uploaded
        assert archive.getinfo("images/frame_00.png").compress_type == zipfile.ZIP_STORED


def per_frame(data, names):
    """Comparable (frame, type, label, points, flags, attributes by name) of every shape."""
    out = []
    for shape in data.shapes:
        attributes = {names["attribute", a.spec_id]: a.value for a in shape.attributes}
        elements = [(names["label", e.label_id], e.points, e.outside) for e in shape.elements]
        out.append((shape.frame, shape.type.value, names["label", shape.label_id], shape.points, shape.rotation,
                    shape.occluded, shape.z_order, attributes, elements))
    return sorted(out, key=repr)


def label_names(task):
    """Label and attribute names by ("label" | "attribute", id): the id spaces overlap."""
    names = {}
    for label in task.get_labels():
        names["label", label.id] = label.name
        names.update({("attribute", a.id): a.name for a in label.attributes})
        for sub in label.sublabels or []:
            names["label", sub.id] = sub.name
    return names


def interpolated(task, frames=6):
    """The task's shapes on every frame, as CVAT for images writes them (tracks expanded)."""
    out = task.export_dataset("CVAT for images 1.1", Path(f"/tmp/{uuid.uuid4().hex}.zip"), include_images=False)
    root = ET.fromstring(zipfile.ZipFile(out).read("annotations.xml"))
    os.remove(out)
    return [(i.get("id"), ET.tostring(i)) for i in root.findall("image")]


def seen(task):
    """Per frame, the shapes CVAT for images writes (tracks expanded), in any order and
    without their source; tags left out."""
    out = task.export_dataset("CVAT for images 1.1", Path(f"/tmp/{uuid.uuid4().hex}.zip"), include_images=False)
    root = ET.fromstring(zipfile.ZipFile(out).read("annotations.xml"))
    os.remove(out)

    def node(e):
        attributes = sorted((k, v) for k, v in e.attrib.items() if k != "source")
        return repr((e.tag, attributes, (e.text or "").strip(), [node(c) for c in e]))

    return [(i.get("id"), sorted(node(c) for c in i if c.tag != "tag")) for i in root.findall("image")]


@pytest.mark.parametrize("exporter, importer", [
    ("CVAT for images 1.1", "CVAT 1.1"), ("CVAT for video 1.1", "CVAT 1.1"), ("COCO 1.0", "COCO 1.0"),
    ("COCO Keypoints 1.0", "COCO Keypoints 1.0"), ("Datumaro 1.0", "Datumaro 1.0"),
    ("PASCAL VOC 1.1", "PASCAL VOC 1.1"), ("Segmentation mask 1.1", "Segmentation mask 1.1"), ("YOLO 1.1", "YOLO 1.1"),
    ("Ultralytics YOLO Detection 1.0", "Ultralytics YOLO Detection 1.0"),
    ("Ultralytics YOLO Detection Track 1.0", "Ultralytics YOLO Detection 1.0"),
    ("Ultralytics YOLO Oriented Bounding Boxes 1.0", "Ultralytics YOLO Oriented Bounding Boxes 1.0"),
    ("Ultralytics YOLO Segmentation 1.0", "Ultralytics YOLO Segmentation 1.0"),
    ("Ultralytics YOLO Pose 1.0", "Ultralytics YOLO Pose 1.0"),
    ("Ultralytics YOLO Classification 1.0", "Ultralytics YOLO Classification 1.0"),
])
def test_an_export_imports_into_a_fresh_task(base_url, new_user, tmp_path, exporter, importer):
    with make_client(base_url, credentials=new_user) as client:
        source, ids = annotated_task(client, tmp_path)
        exported = source.export_dataset(exporter, tmp_path / "export.zip", include_images=False)
        fresh = make_task(client, tmp_path)
        fresh.set_annotations(models.LabeledDataRequest(tags=[{"frame": 5, "label_id": by_name(fresh)["sky"]}]))
        # Masks stay masks here; the next test imports them as CVAT does by default.
        fresh.import_annotations(importer, exported, status_check_period=0.2, conv_mask_to_poly=False)
        imported = fresh.get_annotations()
        names, fresh_names = label_names(source), label_names(fresh)
        if exporter == "CVAT for video 1.1":
            # Every shape comes back as a track (a mask as a shape: masks are not tracked),
            # tracks with their keyframes, all from a "file"; the format has no tags.
            assert seen(fresh) == seen(source)
            assert len(imported.tracks) == 2 + 7 and len(imported.shapes) == 1 and imported.tags == []
            assert {t.source for t in imported.tracks} == {"file"}
            rectangle = next(t for t in imported.tracks if t.frame == 0)
            assert [(s.frame, s.outside) for s in rectangle.shapes] == [(0, False), (3, True)]
        elif importer == "CVAT 1.1":
            # Everything comes back; tracks as shapes on each frame they are visible on.
            assert interpolated(fresh) == [
                (frame, xml.replace(f"task_id={source.id}".encode(), b"")) for frame, xml in interpolated(source)]
            assert len(imported.shapes) == 8 + 3 + 5 and imported.tracks == [] and len(imported.tags) == 1
            back = per_frame(imported, fresh_names)
            assert [s for s in per_frame(source.get_annotations(), names) if s not in back] == []
        elif exporter == "Ultralytics YOLO Detection Track 1.0":
            # The track's boxes carry its number: they come back as a track, a keyframe
            # on each frame and an outside one after.
            (track,) = imported.tracks
            assert imported.shapes == []
            assert [(s.frame, s.outside) for s in track.shapes] == [(0, False), (1, False), (2, False), (3, True)]
            assert track.shapes[1].points == pytest.approx([2.0, 2.0, 12.0, 12.0], abs=0.01)
        elif importer == "Datumaro 1.0":
            # Everything but the 2D cuboid (the format has none); tracks again from their
            # track_id and keyframe, the tag as a tag.
            assert seen(fresh) == [(frame, [n for n in nodes if not n.startswith("('cuboid'")])
                                   for frame, nodes in seen(source)]
            assert len(imported.tracks) == 2 and [(t.frame, t.label_id) for t in imported.tags] == [
                (0, by_name(fresh)["sky"])]
        elif importer == "Segmentation mask 1.1":
            # Every shape with an area painted, back as masks of its label: the track's box
            # alone on frames 0 and 2 (10×10 pixels, as pycocotools rasterises the box for
            # CVAT's boxes_to_masks), frame 1's shapes.
            assert {s.type.value for s in imported.shapes} == {"mask"} and imported.tracks == []
            assert {s.label_id for s in imported.shapes} == {by_name(fresh)["car"]}
            by_frame = {f: [s for s in imported.shapes if s.frame == f] for f in range(6)}
            assert [len(by_frame[f]) for f in (0, 2, 3)] == [1, 1, 0] and len(by_frame[1]) >= 3
            assert sum(by_frame[0][0].points[1:-4:2]) == 100
        elif importer == "PASCAL VOC 1.1":
            # Boxes (the rotated one keeps its rotation), the box track again from its
            # track_id/keyframe, the mask and the ellipse as masks, the tag.
            assert sorted((s.type.value, s.frame, round(s.rotation)) for s in imported.shapes) == [
                ("mask", 1, 0), ("mask", 1, 0), ("rectangle", 1, 45)]
            (track,) = imported.tracks
            assert [(s.frame, s.outside) for s in track.shapes] == [(0, False), (2, False), (3, True)]
            assert [(t.frame, t.label_id) for t in imported.tags] == [(0, by_name(fresh)["sky"])]
            mask = next(s for s in imported.shapes if s.type.value == "mask" and s.points[-4:] == [10, 20, 11, 21])
            assert mask.points == [float(v) for v in MASK]
        elif importer == "COCO Keypoints 1.0":
            # Skeletons only: the plain one (its hand absent), and the track again from
            # its per-frame skeletons, each point a track of its own.
            ids = by_name(fresh)
            (plain,) = imported.shapes
            assert (plain.type.value, plain.frame, plain.label_id) == ("skeleton", 2, ids["person"])
            assert [(e.label_id, e.points, e.outside) for e in plain.elements] == [
                (ids["head"], [1.0, 1.0], False), (ids["hand"], [2.0, 2.0], True)]
            (track,) = imported.tracks
            assert [(s.frame, s.outside) for s in track.shapes] == [(1, False)]
            assert sorted((e.label_id, [s.points for s in e.shapes]) for e in track.elements) == [
                (ids["head"], [[5.0, 5.0]]), (ids["hand"], [[6.0, 6.0]])]
            assert imported.tags == []
        elif importer == "Ultralytics YOLO Oriented Bounding Boxes 1.0":
            # Every box, the rotated one with its rotation; the track's boxes per frame.
            boxes = sorted((s.frame, s.rotation) for s in imported.shapes)
            assert [(f, pytest.approx(r, abs=1e-3)) for f, r in boxes] == [(0, 0), (1, 0), (1, 45), (2, 0)]
            rotated = next(s for s in imported.shapes if s.rotation)
            assert rotated.points == pytest.approx([1.5, 2.0, 30.0, 40.25], abs=0.01)
            assert imported.tracks == [] and {s.type.value for s in imported.shapes} == {"rectangle"}
        elif importer == "Ultralytics YOLO Segmentation 1.0":
            # The polygon, and the ellipse traced into the outline of its pixels (the
            # three-pixel mask is too small to keep, as in CVAT).
            polygon, ellipse = sorted(imported.shapes, key=lambda s: len(s.points))
            assert {(s.type.value, s.frame, s.label_id) for s in imported.shapes} == {
                ("polygon", 1, by_name(fresh)["car"])}
            assert polygon.points == pytest.approx([0.0, 0.0, 10.0, 0.0, 10.0, 10.0], abs=0.01)
            xs, ys = ellipse.points[0::2], ellipse.points[1::2]
            assert ellipse.points[:2] == pytest.approx(ellipse.points[-2:], abs=0.01)
            # OpenCV's filled ellipse spans x 10-30 and y 15-25 (normalised and back).
            assert [min(xs), max(xs), min(ys), max(ys)] == pytest.approx([10, 30, 15, 25], abs=0.01)
        elif importer == "Ultralytics YOLO Pose 1.0":
            # The plain skeleton (its hand absent) and the track's skeleton on frames 1-5.
            ids = by_name(fresh)
            skeletons = sorted(imported.shapes, key=lambda s: s.frame)
            assert [s.frame for s in skeletons] == [1, 2, 2, 3, 4, 5] and imported.tracks == []
            on_2 = sorted([(e.label_id, [round(v, 2) for v in e.points], e.outside) for e in s.elements]
                          for s in skeletons if s.frame == 2)
            assert on_2 == [[(ids["head"], [1.0, 1.0], False), (ids["hand"], [2.0, 2.0], True)],
                            [(ids["head"], [5.0, 5.0], False), (ids["hand"], [6.0, 6.0], False)]], on_2
            assert {s.label_id for s in skeletons} == {ids["person"]}
        elif importer == "Ultralytics YOLO Classification 1.0":
            # Tags only: the sky on frame 0 (the tag set before the import is gone).
            assert [(t.frame, t.label_id) for t in imported.tags] == [(0, by_name(fresh)["sky"])]
            assert imported.shapes == [] and imported.tracks == []
        elif importer in ("YOLO 1.1", "Ultralytics YOLO Detection 1.0"):
            # YOLO carries axis-aligned boxes only: the track's three (the other box is rotated).
            boxes = sorted((s.frame, s.label_id) for s in imported.shapes)
            assert boxes == [(f, by_name(fresh)["car"]) for f in range(3)] and imported.tracks == []
            expected = {0: [0.0, 0.0, 10.0, 10.0], 1: [2.0, 2.0, 12.0, 12.0], 2: [4.0, 4.0, 14.0, 14.0]}
            for shape in imported.shapes:
                assert shape.points == pytest.approx(expected[shape.frame], abs=0.01)
        else:
            # COCO carries boxes, polygons and masks, and the box track as a track again.
            # Neither z_order nor the rotation of anything but boxes has a place in COCO.
            kept = [s[:4] + (s[4] if s[1] == "rectangle" else 0.0, s[5], 0) + s[7:]
                    for s in per_frame(source.get_annotations(), names) if s[1] in ("rectangle", "polygon", "mask")]
            # The ellipse comes back as the mask it was painted into.
            back = per_frame(imported, fresh_names)
            painted = [s for s in back if s[1] == "mask" and s[3][-4:] == [10.0, 15.0, 30.0, 25.0]]
            assert len(painted) == 1 and [s for s in back if s not in painted] == sorted(kept, key=repr)
            (track,) = imported.tracks
            assert [(s.frame, s.outside) for s in track.shapes] == [(0, False), (2, False), (3, True)]
            assert track.shapes[1].points == [4.0, 4.0, 14.0, 14.0]
            assert imported.tags == []  # replaced: the tag set before is gone
        request = [r for r in client.api_client.requests_api.list()[0].results
                   if r.operation.type == "import:annotations" and r.operation.task_id == fresh.id]
        assert request and request[0].status.value == "finished" and request[0].operation.format == importer


@pytest.mark.parametrize("format_name", ["PASCAL VOC 1.1", "Segmentation mask 1.1"])
def test_masks_become_polygons_unless_asked_not_to(base_url, new_user, tmp_path, format_name):
    # CVAT's default for these importers: each mask becomes the outlines of its parts
    # (OpenCV's borders, as datumaro traces them); conv_mask_to_poly=false keeps masks.
    with make_client(base_url, credentials=new_user) as client:
        task = make_task(client, tmp_path)
        car = by_name(task)["car"]
        block = [0, 5, 6, 5, 6, 5, 5, 6, 6, 10, 10, 20, 13]  # a 5x4 block and a pixel beside it
        task.set_annotations(models.LabeledDataRequest(shapes=[
            {"type": "mask", "frame": 1, "label_id": car, "points": block}]))
        exported = task.export_dataset(format_name, tmp_path / "masks.zip", include_images=False)
        task.import_annotations(format_name, exported, status_check_period=0.2)
        shapes = task.get_annotations().shapes
        assert [(s.type.value, s.frame, s.label_id, s.points) for s in shapes] == [
            ("polygon", 1, car, [10, 10, 10, 13, 14, 13, 14, 10, 10, 10])]
        task.import_annotations(format_name, exported, status_check_period=0.2, conv_mask_to_poly=False)
        shapes = task.get_annotations().shapes
        assert [(s.type.value, s.points[-4:]) for s in shapes] == [("mask", [10, 10, 20, 13])]


def test_a_job_imports_its_frames(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        source, _ = annotated_task(client, tmp_path)
        exported = source.export_dataset("CVAT for images 1.1", tmp_path / "export.zip", include_images=False)
        fresh = make_task(client, tmp_path, segment_size=3)
        first, second = sorted(fresh.get_jobs(), key=lambda j: j.start_frame)
        # The file covers all six frames: the job takes only objects on its own.
        with pytest.raises(Exception, match="outside|frame"):
            first.import_annotations("CVAT 1.1", exported, status_check_period=0.2)
        assert first.get_annotations().shapes == []


def test_the_cli_imports_a_file(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        source, _ = annotated_task(client, tmp_path)
        exported = source.export_dataset("COCO 1.0", tmp_path / "export.zip", include_images=False)
        fresh = make_task(client, tmp_path)
    cli.run(base_url, new_user, "task", "import-dataset",
            str(fresh.id), str(exported), "--format", "COCO 1.0")
    with make_client(base_url, credentials=new_user) as client:
        imported = client.tasks.retrieve(fresh.id).get_annotations()
    # Frame 1's box, polygon, mask and ellipse (painted into a mask), and the box track.
    assert len(imported.shapes) == 4 and len(imported.tracks) == 1


def bad_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("name, content, reason", [
    ("labels.xml", b'<?xml version="1.0"?><annotations><image id="0" name="frame_00.png">'
                   b'<box label="truck" xtl="1" ytl="1" xbr="2" ybr="2"/></image></annotations>',
     "Label 'truck' is not registered for this task"),
    ("frames.xml", b'<annotations><image id="99" name="elsewhere.png"></image></annotations>',
     "Could not match item id: 'elsewhere' with any task frame"),
    ("broken.xml", b'<annotations><image id="0" name="frame_00.png"><box label="car"', "Malformed XML"),
    ("empty.zip", b"PK\x05\x06" + b"\x00" * 18, "archive"),
    ("points.xml", b'<annotations><image id="0" name="frame_00.png">'
                   b'<polygon label="car" points="1,2;x,y"/></image></annotations>', "are not x,y pairs"),
])
def test_bad_files_fail_the_import_and_change_nothing(base_url, new_user, tmp_path, name, content, reason):
    with make_client(base_url, credentials=new_user) as client:
        task, ids = annotated_task(client, tmp_path)
        before = task.get_annotations().to_dict()
        with pytest.raises(Exception, match=reason):
            task.import_annotations("CVAT 1.1", bad_file(tmp_path, name, content), status_check_period=0.2)
        assert task.get_annotations().to_dict() == before


def test_an_import_refused_after_many_objects_changes_nothing(base_url, new_user, tmp_path):
    # The task service saves an import in batches of 10,000 objects inside one
    # transaction: a problem in the 25,001st object leaves the task as it was.
    boxes = b'<box label="car" xtl="1" ytl="1" xbr="2" ybr="2"/>' * 25_000
    content = (b'<annotations><image id="0" name="frame_00.png">' + boxes +
               b'<box label="car" xtl="1" ytl="1" xbr="2" ybr="2" rotation="400"/></image></annotations>')
    with make_client(base_url, credentials=new_user) as client:
        task, _ = annotated_task(client, tmp_path)
        before = task.get_annotations().to_dict()
        with pytest.raises(Exception, match="Ensure this value is between 0 and 360"):
            task.import_annotations("CVAT 1.1", bad_file(tmp_path, "late.xml", content), status_check_period=0.2)
        assert task.get_annotations().to_dict() == before
        # Without the bad box, all of them are saved.
        good = content.replace(b' rotation="400"', b"")
        task.import_annotations("CVAT 1.1", bad_file(tmp_path, "good.xml", good), status_check_period=0.2)
        assert len(task.get_annotations().shapes) == 25_001


def test_a_plain_multipart_import_and_refusals(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        source, _ = annotated_task(client, tmp_path)
        exported = source.export_dataset("COCO 1.0", tmp_path / "export.zip", include_images=False)
        fresh = make_task(client, tmp_path)
        url = f"{base_url}/api/tasks/{fresh.id}/annotations/"
        with open(exported, "rb") as f:
            started = requests.post(url, params={"format": "COCO 1.0"}, files={"annotation_file": f},
                                    auth=new_user, timeout=30)
        assert started.status_code == 202, started.text
        client.wait_for_completion(started.json()["rq_id"], status_check_period=0.2)
        assert len(fresh.get_annotations().shapes) == 4  # box, polygon, mask, ellipse as a mask

        unknown = requests.post(url, params={"format": "Nope 1.0"}, files={"annotation_file": ("a.xml", b"<a/>")},
                                auth=new_user, timeout=10)
        assert unknown.status_code == 400 and "Unknown format" in unknown.text
        other = register(base_url)
        refused = requests.post(url, params={"format": "COCO 1.0"}, files={"annotation_file": ("a.json", b"{}")},
                                auth=other, timeout=10)
        assert refused.status_code == 403
        nothing = requests.post(url, params={"format": "COCO 1.0", "filename": "never.zip"},
                                headers={"Upload-Finish": "1"}, auth=new_user, timeout=10)
        assert nothing.status_code == 400 and "never.zip" in nothing.text


def test_the_legacy_get_forms_export_as_cvat_2_did(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task, _ = annotated_task(client, tmp_path)
    # GET …/annotations?format= (no images) and GET …/dataset?format= (with images):
    # 202 while running, 201 when ready, the archive with action=download.
    for path, with_images in [("annotations", False), ("dataset", True)]:
        url = f"{base_url}/api/tasks/{task.id}/{path}"
        params = {"format": "CVAT for images 1.1"}
        for _ in range(600):
            answer = requests.get(url, params=params, auth=new_user, timeout=10)
            assert answer.status_code in (201, 202), answer.text
            if answer.status_code == 201:
                break
            time.sleep(0.1)
        assert answer.status_code == 201
        archive = requests.get(url, params=dict(params, action="download"), auth=new_user, timeout=30)
        assert archive.status_code == 200 and archive.headers["Content-Type"] == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
        assert "annotations.xml" in names and any(n.startswith("images/") for n in names) == with_images
    unknown = requests.get(f"{base_url}/api/tasks/{task.id}/dataset", params={"format": "Nope"}, auth=new_user,
                           timeout=10)
    assert unknown.status_code == 400


def project_with_tasks(client, tmp_path):
    """A project (the suite's labels) with an annotated task in subset `train` and one
    without a subset, six frames each with the same file names."""
    from test_annotations import labels
    from test_task_data import make_images

    project = client.projects.create(models.ProjectWriteRequest(name="exported", labels=labels()))
    tasks = []
    for subset in ["train", ""]:
        folder = tmp_path / (subset or "plain")
        folder.mkdir()
        paths = make_images(folder, 6)
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name=f"part {subset}", project_id=project.id, subset=subset),
            resources=[str(p) for p in paths], data_params={"image_quality": 70}, status_check_period=0.2)
        task.set_annotations(models.LabeledDataRequest(**document(by_name(task))))
        tasks.append(task)
    return project, tasks


def test_a_project_exports_its_tasks_by_subset(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        project, (train, plain) = project_with_tasks(client, tmp_path)
        coco = project.export_dataset("COCO 1.0", tmp_path / "coco.zip", include_images=False)
        cvat = project.export_dataset("CVAT for images 1.1", tmp_path / "cvat.zip", include_images=False)
        with_images = project.export_dataset("COCO 1.0", tmp_path / "images.zip")
    with zipfile.ZipFile(coco) as archive:
        assert sorted(archive.namelist()) == ["annotations/instances_default.json", "annotations/instances_train.json"]
        default = json.loads(archive.read("annotations/instances_default.json"))
        trained = json.loads(archive.read("annotations/instances_train.json"))
    # Image ids count across the export: the default subset's task comes first.
    assert [i["id"] for i in default["images"]] == [1, 2, 3, 4, 5, 6]
    assert [i["id"] for i in trained["images"]] == [7, 8, 9, 10, 11, 12]
    # Per task: frame 1's box, polygon, mask and ellipse, and the track's three boxes.
    assert len(default["annotations"]) == len(trained["annotations"]) == 7
    assert {a["image_id"] for a in trained["annotations"]} == {7, 8, 9}
    with zipfile.ZipFile(with_images) as archive:
        assert {n for n in archive.namelist() if n.startswith("images/")} == {
            f"images/{subset}/frame_{i:02d}.png" for subset in ("default", "train") for i in range(6)}

    root = ET.fromstring(zipfile.ZipFile(cvat).read("annotations.xml"))
    meta = root.find("meta/project")
    assert meta.findtext("id") == str(project.id) and meta.findtext("subsets") == "default\ntrain"
    assert [t.findtext("id") for t in meta.findall("tasks/task")] == [str(plain.id), str(train.id)]
    assert all(t.find("labels") is None for t in meta.findall("tasks/task"))
    images = root.findall("image")
    assert [(i.get("id"), i.get("subset"), i.get("task_id")) for i in images] == [
        (str(f), "default", str(plain.id)) for f in range(6)] + [(str(f), "train", str(train.id)) for f in range(6)]
    # Each task's track ends with its task: three boxes in each.
    assert sum(1 for i in images for b in i.findall("box") if b.get("z_order") == "0") == 6


def test_the_cli_exports_a_project(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        project, _ = project_with_tasks(client, tmp_path)
    cli.run(base_url, new_user, "project", "export-dataset",
            str(project.id), str(tmp_path / "project.zip"), "--format", "COCO 1.0", "--with-images", "False",
            "--completion_verification_period", "0.2")
    assert len(zipfile.ZipFile(tmp_path / "project.zip").namelist()) == 2


DATUMARO_COUNT = """
import json, os, sys, tempfile, zipfile
from datumaro.components.dataset import Dataset
with tempfile.TemporaryDirectory() as root:
    zipfile.ZipFile(sys.argv[1]).extractall(root)
    os.makedirs(os.path.join(root, "images"), exist_ok=True)  # upstream datumaro wants it
    dataset = Dataset.import_from(root, sys.argv[2])
    kinds = {}
    for item in dataset:
        for annotation in item.annotations:
            kinds[annotation.type.name] = kinds.get(annotation.type.name, 0) + 1
    print(json.dumps({"items": len(dataset), "annotations": kinds,
                      "labels": [c.name for c in dataset.categories()[1].items]}))
"""


def datumaro_opens(archive, datumaro_format):
    """What datumaro (PyPI) reads from an archive of ours under its format name."""
    python = os.environ.get("CVAT_DATUMARO_PYTHON", "")
    assert python, "tests/compat/run.sh provides datumaro"
    result = subprocess.run([python, "-c", DATUMARO_COUNT, str(archive), datumaro_format],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_exports_open_in_datumaro(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task, _ = annotated_task(client, tmp_path)
        coco = task.export_dataset("COCO 1.0", tmp_path / "coco.zip")
        cvat = task.export_dataset("CVAT for images 1.1", tmp_path / "cvat.zip")
        keypoints = task.export_dataset("COCO Keypoints 1.0", tmp_path / "keypoints.zip")
        voc = task.export_dataset("PASCAL VOC 1.1", tmp_path / "voc.zip")
    # VOC: the tag, the four boxes (the track's three), the mask and the ellipse painted.
    opened = datumaro_opens(voc, "voc")
    assert (opened["items"], opened["annotations"]) == (6, {"label": 1, "bbox": 4, "mask": 2})
    assert opened["labels"][0] == "background"
    with make_client(base_url, credentials=new_user) as client:
        masks = client.tasks.retrieve(task.id).export_dataset("Segmentation mask 1.1", tmp_path / "masks.zip")
    # Segmentation mask: the three frames with shapes that have an area, one instance
    # each, as CVAT paints them: on frame 1 the rotated box, which CVAT turns into a
    # polygon after the other shapes, covers the ellipse and the mask; the polygon and
    # the track's box stay visible; the track's box on frames 0 and 2.
    opened = datumaro_opens(masks, "voc_segmentation")
    assert (opened["items"], opened["annotations"]) == (3, {"mask": 5})
    # The plain skeleton and the track's on frames 1-5, each with its box; only
    # top-level labels are categories.
    opened = datumaro_opens(keypoints, "coco_person_keypoints")
    assert opened == {"items": 6, "annotations": {"points": 6, "bbox": 6}, "labels": ["car", "person", "sky"]}
    opened = datumaro_opens(coco, "coco_instances")
    # Six frames; frame 1's box, polygon, mask and ellipse (a mask), and the track's boxes
    # on frames 0-2 (datumaro reads each instance's bbox as a box too: 4 + 3).
    assert opened["items"] == 6
    assert opened["annotations"] == {"bbox": 7, "polygon": 1, "mask": 2}
    assert set(opened["labels"]) == {"car", "person", "head", "hand", "sky"}
    with make_client(base_url, credentials=new_user) as client:
        yolo = client.tasks.retrieve(task.id).export_dataset("YOLO 1.1", tmp_path / "yolo.zip")
    opened = datumaro_opens(yolo, "yolo")
    assert opened["items"] == 6 and opened["annotations"] == {"bbox": 3}
    with make_client(base_url, credentials=new_user) as client:
        ultralytics = client.tasks.retrieve(task.id).export_dataset("Ultralytics YOLO Detection 1.0",
                                                                    tmp_path / "ultralytics.zip")
    # As CVAT, no label file for a frame without boxes; upstream datumaro then sees only
    # the three frames that have one.
    opened = datumaro_opens(ultralytics, "yolo")
    assert opened["items"] == 3 and opened["annotations"] == {"bbox": 3}
    # Upstream datumaro (unlike CVAT's fork) does not read skeletons in its own format: the
    # native export is opened for a task without them.
    with make_client(base_url, credentials=new_user) as client:
        folder = tmp_path / "plain"
        folder.mkdir()
        plain = make_task(client, folder)
        ids = by_name(plain)
        full = document(ids)
        person = ids["person"]
        full["shapes"] = [s for s in full["shapes"] if s["label_id"] != person]
        full["tracks"] = [t for t in full["tracks"] if t["label_id"] != person]
        plain.set_annotations(models.LabeledDataRequest(**full))
        native = plain.export_dataset("Datumaro 1.0", tmp_path / "datumaro.zip")
    # Every type but the 2D cuboid: frame 1's shapes, the track's boxes, and the tag.
    opened = datumaro_opens(native, "datumaro")
    assert opened["items"] == 6
    assert opened["annotations"] == {"bbox": 4, "polygon": 1, "polyline": 1, "points": 1, "ellipse": 1, "mask": 1,
                                     "label": 1}
    opened = datumaro_opens(cvat, "cvat")
    # Every shape datumaro's CVAT reader knows: the track's three boxes and the rotated
    # box, the tag, polygon, polyline, mask, and the points of the points shape and of
    # the skeletons (2 on frame 2, 2 on each of the skeleton track's frames 1-5).
    assert opened["items"] == 6
    assert opened["annotations"] == {"bbox": 3, "rotated_bbox": 1, "label": 1, "polygon": 1, "polyline": 1,
                                     "mask": 1, "points": 1 + 2 + 2 * 5}


def test_a_video_task_exports_as_cvat_for_video(base_url, new_user, tmp_path):
    clip = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "0.6",
                    "-pix_fmt", "yuv420p", str(clip)], check=True, timeout=60)
    with make_client(base_url, credentials=new_user) as client:
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name="clip", labels=labels()), resources=[str(clip)],
            data_params={"image_quality": 70}, status_check_period=0.2)
        assert task.size == 6
        # Without skeletons and masks: upstream datumaro (unlike CVAT's fork) cannot read a
        # skeleton's points or a mask inside a <track> (it wants a frame on the points and
        # an image for the mask).
        ids = by_name(task)
        full = document(ids)
        full["shapes"] = [s for s in full["shapes"] if s["label_id"] != ids["person"] and s["type"] != "mask"]
        full["tracks"] = [t for t in full["tracks"] if t["label_id"] != ids["person"]]
        task.set_annotations(models.LabeledDataRequest(**full))
        out = task.export_dataset("CVAT for video 1.1", tmp_path / "video.zip", include_images=False)
    root = ET.fromstring(zipfile.ZipFile(out).read("annotations.xml"))
    meta = root.find("meta/task")
    assert (meta.find("mode").text, meta.find("source").text) == ("interpolation", "clip.mp4")
    assert (meta.find("original_size/width").text, meta.find("original_size/height").text) == ("160", "120")
    assert root.findall("image") == [] and root.findall(".//tag") == []
    tracks = root.findall("track")
    # The track, then each of the six shapes as a track of its own.
    assert [t.get("id") for t in tracks] == [str(i) for i in range(7)]
    boxes = tracks[0].findall("box")
    assert [(b.get("frame"), b.get("keyframe"), b.get("outside")) for b in boxes] == [
        ("0", "1", "0"), ("1", "0", "0"), ("2", "0", "0"), ("3", "1", "1")]
    # A plain shape on frame 1 is closed by an outside copy on frame 2.
    assert [(s.get("frame"), s.get("outside")) for s in tracks[1]] == [("1", "0"), ("2", "1")]
    opened = datumaro_opens(out, "cvat")
    # Upstream datumaro reads every track shape, outside ones too, and no ellipses or
    # cuboids: the box track on frames 0-3, and each shape and its closing copy.
    assert opened["items"] == 4
    assert opened["annotations"] == {"bbox": 4, "rotated_bbox": 2, "polygon": 2, "polyline": 2, "points": 2}


def test_a_task_backup_has_cvat_layout(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task, ids = annotated_task(client, tmp_path, segment_size=3)
        out = task.download_backup(tmp_path / "backup.zip")
        jobs = sorted(task.get_jobs(), key=lambda j: j.id)
    uploaded = {f"frame_{i:02d}.png": (tmp_path / f"frame_{i:02d}.png").read_bytes() for i in range(6)}
    with zipfile.ZipFile(out) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(["annotations.json", "task.json"] + [f"data/{n}" for n in uploaded])
        assert {n: archive.read(f"data/{n}") for n in uploaded} == uploaded
        meta = json.loads(archive.read("task.json"))
        documents = json.loads(archive.read("annotations.json"))
    assert meta["version"] == "1.0" and meta["name"] == "annotated" and meta["status"] == "annotation"
    assert [(j["start_frame"], j["stop_frame"], j["type"]) for j in meta["jobs"]] == [
        (j.start_frame, j.stop_frame, "annotation") for j in jobs]
    assert meta["data"]["image_quality"] == 70 and meta["data"]["chunk_type"] == "imageset"
    car = next(l for l in meta["labels"] if l["name"] == "car")
    assert "id" not in car and [a["name"] for a in car["attributes"]] == ["model", "speed"]
    person = next(l for l in meta["labels"] if l["name"] == "person")
    assert [s["name"] for s in person["sublabels"]] == ["head", "hand"]
    assert 'data-label-name="head"' in person["svg"]
    # One document per job, by names: the first job holds frames 0-2.
    assert len(documents) == 2
    first = documents[0]
    box = next(s for s in first["shapes"] if s["type"] == "rectangle")
    assert box["label"] == "car" and "label_id" not in box
    assert box["attributes"] == [{"name": "model", "value": "b"}, {"name": "speed", "value": "40"}]
    assert first["tags"][0]["label"] == "sky"


def test_the_cli_backs_a_task_up(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task, _ = annotated_task(client, tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    cli.run(base_url, new_user, "task", "backup",
            str(task.id), str(out_dir), "--completion_verification_period", "0.2")
    (saved,) = list(out_dir.iterdir())
    assert saved.name == f"task_{task.id}_backup.zip"
    assert "task.json" in zipfile.ZipFile(saved).namelist()
    # The legacy form answers the same archive once it is ready.
    legacy = requests.get(f"{base_url}/api/tasks/{task.id}/backup", params={"action": "download"},
                          auth=new_user, timeout=30)
    assert legacy.status_code == 200 and legacy.content == saved.read_bytes()


def test_a_backup_restores_with_its_data_jobs_and_annotations(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task, _ = annotated_task(client, tmp_path, segment_size=3)
        backup = task.download_backup(tmp_path / "backup.zip")
        restored = client.tasks.create_from_backup(backup, status_check_period=0.2)
        assert restored.id != task.id
        assert (restored.name, restored.size, restored.segment_size) == (task.name, 6, 3)
        assert sorted(l.name for l in restored.get_labels()) == sorted(l.name for l in task.get_labels())
        assert [(j.start_frame, j.stop_frame) for j in sorted(restored.get_jobs(), key=lambda j: j.id)] == [
            (j.start_frame, j.stop_frame) for j in sorted(task.get_jobs(), key=lambda j: j.id)]
        assert per_frame(restored.get_annotations(), label_names(restored)) == per_frame(
            task.get_annotations(), label_names(task))
        # Tracks as the jobs hold them (a task-level save cut them per job).
        assert len(restored.get_annotations().tracks) == len(task.get_annotations().tracks)
        assert len(restored.get_annotations().tags) == 1
        frame = restored.get_frame(2, quality="original").read()
        assert frame == (tmp_path / "frame_02.png").read_bytes()
        requests_list = client.api_client.requests_api.list()[0].results
        restore = next(r for r in requests_list if r.operation.type == "import:backup")
        assert restore.status.value == "finished" and restore.result_id == restored.id


def test_the_cli_restores_a_backup(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task, _ = annotated_task(client, tmp_path)
        backup = task.download_backup(tmp_path / "backup.zip")
    cli.run(base_url, new_user, "task",
            "create-from-backup", str(backup), "--completion_verification_period", "0.2")
    with make_client(base_url, credentials=new_user) as client:
        names = [t.name for t in client.tasks.list()]
    assert names.count("annotated") == 2


def test_a_cvat_made_backup_keeps_its_frame_selection(base_url, new_user, tmp_path):
    """CVAT's backups keep every uploaded file under data/ and select the frames with
    start_frame, stop_frame and frame_filter; frames deleted in CVAT stay deleted."""
    from test_task_data import make_images
    paths = make_images(tmp_path, 8)
    spec = {"name": "selected", "version": "1.0", "status": "annotation", "subset": "", "bug_tracker": "",
            "labels": [{"name": "car", "color": "#ff0000", "type": "rectangle", "attributes": []}],
            "data": {"image_quality": 70, "chunk_size": 2, "start_frame": 1, "stop_frame": 6,
                     "frame_filter": "step=2", "deleted_frames": [1], "sorting_method": "lexicographical",
                     "storage": "local", "storage_method": "cache", "chunk_type": "imageset"},
            "jobs": [{"start_frame": 0, "stop_frame": 2, "status": "annotation", "type": "annotation"}]}
    document = {"version": 0, "tags": [], "tracks": [], "shapes": [
        {"type": "rectangle", "frame": 2, "label": "car", "points": [1, 1, 4, 4], "attributes": []}]}
    path = tmp_path / "cvat-made.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("task.json", json.dumps(spec))
        archive.writestr("annotations.json", json.dumps([document]))
        for p in paths:
            archive.write(p, f"data/{p.name}")
    with make_client(base_url, credentials=new_user) as client:
        task = client.tasks.create_from_backup(path, status_check_period=0.2)
        meta = task.get_meta()
        # Frames 1, 3 and 5 of the eight files; the task's frame 1 (file 3) deleted.
        assert task.size == 3 and [f.name for f in meta.frames] == [paths[i].name for i in (1, 3, 5)]
        assert meta.deleted_frames == [1]
        assert [s.frame for s in task.get_annotations().shapes] == [2]
        # Backed up here, the archive holds those frames and selects all of them.
        backup = task.download_backup(tmp_path / "again.zip")
        with zipfile.ZipFile(backup) as archive:
            data = json.loads(archive.read("task.json"))["data"]
            media = sorted(n for n in archive.namelist() if n.startswith("data/"))
        assert media == [f"data/{paths[i].name}" for i in (1, 3, 5)]
        assert (data["start_frame"], data["stop_frame"], data.get("frame_filter")) == (0, 2, None)
        assert data["deleted_frames"] == [1]
        again = client.tasks.create_from_backup(backup, status_check_period=0.2)
        assert [f.name for f in again.get_meta().frames] == [paths[i].name for i in (1, 3, 5)]
        assert again.get_meta().deleted_frames == [1]


def broken_backup(tmp_path, task_json=None, annotations="[]", media=True):
    path = tmp_path / "broken.zip"
    with zipfile.ZipFile(path, "w") as archive:
        if task_json is not None:
            archive.writestr("task.json", json.dumps(task_json))
        archive.writestr("annotations.json", annotations)
        if media:
            archive.writestr("data/a.png", (tmp_path / "frame_00.png").read_bytes())
    return path


@pytest.mark.parametrize("case, reason", [
    ("no task.json", "The backup has no task.json"),
    ("version", "2.0 version is not supported"),
    ("label", "label 'truck' is not in task.json"),
])
def test_a_broken_backup_restores_nothing(base_url, new_user, tmp_path, case, reason):
    with make_client(base_url, credentials=new_user) as client:
        from test_task_data import make_images
        make_images(tmp_path, 1)
        spec = {"name": "broken", "version": "1.0", "labels": [{"name": "car", "attributes": []}], "data": {},
                "jobs": [{"start_frame": 0, "stop_frame": 0, "status": "annotation", "type": "annotation"}]}
        if case == "no task.json":
            path = broken_backup(tmp_path)
        elif case == "version":
            path = broken_backup(tmp_path, dict(spec, version="2.0"))
        else:
            documents = [{"version": 0, "tags": [], "shapes": [
                {"type": "rectangle", "frame": 0, "label": "truck", "points": [0, 0, 1, 1], "attributes": []}],
                "tracks": []}]
            path = broken_backup(tmp_path, spec, json.dumps(documents))
        before = [t.id for t in client.tasks.list()]
        with pytest.raises(Exception, match=reason):
            client.tasks.create_from_backup(path, status_check_period=0.2)
        assert [t.id for t in client.tasks.list()] == before


def test_a_project_backup_restores_with_its_tasks(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        project, (train, plain) = project_with_tasks(client, tmp_path)
        backup = project.download_backup(tmp_path / "project.zip")
        with zipfile.ZipFile(backup) as archive:
            names = set(archive.namelist())
            meta = json.loads(archive.read("project.json"))
            first = json.loads(archive.read("task_0/task.json"))
        # project.json, then each task by id under task_<n>/ with its media.
        assert meta["name"] == "exported" and meta["version"] == "1.0"
        assert {l["name"] for l in meta["labels"]} == {"car", "person", "sky"}
        assert first["name"] == "part train" and first["subset"] == "train"
        assert {f"task_{n}/{f}" for n in (0, 1) for f in ["task.json", "annotations.json"]} <= names
        assert {n for n in names if "/data/" in n} == {
            f"task_{n}/data/frame_{i:02d}.png" for n in (0, 1) for i in range(6)}

        restored = client.projects.create_from_backup(backup, status_check_period=0.2)
        assert restored.id != project.id and restored.name == "exported"
        assert sorted(l.name for l in restored.get_labels()) == sorted(l.name for l in project.get_labels())
        tasks = sorted(restored.get_tasks(), key=lambda t: t.id)
        assert [(t.name, t.subset, t.size) for t in tasks] == [("part train", "train", 6), ("part ", "", 6)]
        for before, after in zip([train, plain], tasks):
            after = client.tasks.retrieve(after.id)
            assert per_frame(after.get_annotations(), label_names(after)) == per_frame(
                before.get_annotations(), label_names(before))
        assert client.tasks.retrieve(tasks[1].id).get_frame(3, quality="original").read() == (
            tmp_path / "plain" / "frame_03.png").read_bytes()
        restore = next(r for r in client.api_client.requests_api.list()[0].results
                       if r.operation.type == "import:backup")
        assert restore.status.value == "finished" and restore.result_id == restored.id


def test_the_cli_backs_up_and_restores_a_project(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        project = client.projects.create(models.ProjectWriteRequest(name="empty", labels=[{"name": "car"}]))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    cli.run(base_url, new_user, "project", "backup", str(project.id), str(out_dir),
            "--completion_verification_period", "0.2")
    (saved,) = list(out_dir.iterdir())
    # A project without tasks is backed up and restored too.
    assert zipfile.ZipFile(saved).namelist() == ["project.json"]
    cli.run(base_url, new_user, "project", "create-from-backup", str(saved),
            "--completion_verification_period", "0.2")
    with make_client(base_url, credentials=new_user) as client:
        restored = [p for p in client.projects.list() if p.name == "empty" and p.id != project.id]
        assert len(restored) == 1 and [l.name for l in restored[0].get_labels()] == ["car"]


def test_a_broken_project_backup_restores_nothing(base_url, new_user, tmp_path):
    from test_task_data import make_images
    make_images(tmp_path, 1)
    path = tmp_path / "broken-project.zip"
    spec = {"name": "half", "version": "1.0", "labels": [{"name": "car", "attributes": []}], "data": {},
            "jobs": [{"start_frame": 0, "stop_frame": 0, "status": "annotation", "type": "annotation"}]}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.json", json.dumps({"name": "half", "version": "1.0",
                                                    "labels": [{"name": "car", "attributes": []}]}))
        # The first task is whole, the second has no annotations.json.
        for n in (0, 1):
            archive.writestr(f"task_{n}/task.json", json.dumps(spec))
            archive.writestr(f"task_{n}/data/a.png", (tmp_path / "frame_00.png").read_bytes())
        archive.writestr("task_0/annotations.json", "[]")
    with make_client(base_url, credentials=new_user) as client:
        projects, tasks = [p.id for p in client.projects.list()], [t.id for t in client.tasks.list()]
        with pytest.raises(Exception, match="The backup has no task_1/annotations.json"):
            client.projects.create_from_backup(path, status_check_period=0.2)
        assert [p.id for p in client.projects.list()] == projects
        assert [t.id for t in client.tasks.list()] == tasks


def test_a_project_makes_a_task_per_subset_of_a_dataset(base_url, new_user, tmp_path):
    from test_annotations import labels
    with make_client(base_url, credentials=new_user) as client:
        source, (train, plain) = project_with_tasks(client, tmp_path)
        coco = source.export_dataset("COCO 1.0", tmp_path / "coco.zip")
        made = client.projects.create_from_dataset(models.ProjectWriteRequest(name="from coco", labels=labels()),
                                                   dataset_path=str(coco), dataset_format="COCO 1.0",
                                                   status_check_period=0.2)
        tasks = sorted(made.get_tasks(), key=lambda t: t.name)
        # One task per subset, named after it, with its images and what COCO carries:
        # frame 1's box, polygon and mask, and the box track.
        assert [(t.name, t.subset, t.size) for t in tasks] == [("default", "default", 6), ("train", "train", 6)]
        for task in tasks:
            task = client.tasks.retrieve(task.id)
            imported = task.get_annotations()
            # The ellipse comes back as the mask it was painted into.
            assert sorted(s.type.value for s in imported.shapes) == ["mask", "mask", "polygon", "rectangle"]
            assert len(imported.tracks) == 1
        frame = client.tasks.retrieve(tasks[1].id).get_frame(4, quality="original").read()
        assert frame == (tmp_path / "train" / "frame_04.png").read_bytes()
        request = next(r for r in client.api_client.requests_api.list()[0].results
                       if r.operation.type == "import:dataset")
        assert request.status.value == "finished" and request.operation.project_id == made.id


def test_the_cli_makes_a_project_from_a_cvat_dataset(base_url, new_user, tmp_path):
    from test_annotations import labels
    with make_client(base_url, credentials=new_user) as client:
        source, _ = project_with_tasks(client, tmp_path)
        cvat = source.export_dataset("CVAT for images 1.1", tmp_path / "cvat.zip")
        datumaro = source.export_dataset("Datumaro 1.0", tmp_path / "datumaro.zip")
        # The labels as the suite makes them, in the CLI's JSON.
        label_spec = json.dumps([l.to_dict() for l in labels()])
    cli.run(base_url, new_user, "project", "create", "from cvat", "--labels", label_spec,
            "--dataset_path", str(cvat), "--dataset_format", "CVAT 1.1",
            "--completion_verification_period", "0.2")
    with make_client(base_url, credentials=new_user) as client:
        (made,) = [p for p in client.projects.list() if p.name == "from cvat"]
        tasks = sorted(made.get_tasks(), key=lambda t: t.name)
        assert [t.name for t in tasks] == ["default", "train"]
        # Everything CVAT for images carries, tracks as shapes on their frames.
        for task in tasks:
            imported = client.tasks.retrieve(task.id).get_annotations()
            assert len(imported.shapes) == 8 + 3 + 5 and len(imported.tags) == 1
    # import-dataset adds a task per subset of another dataset to the project.
    cli.run(base_url, new_user, "project", "import-dataset", str(made.id), str(datumaro), "--format", "Datumaro 1.0")
    with make_client(base_url, credentials=new_user) as client:
        tasks = client.projects.retrieve(made.id).get_tasks()
        assert sorted(t.name for t in tasks) == ["default", "default", "train", "train"]
        newest = client.tasks.retrieve(max(t.id for t in tasks))
        # Datumaro carries every shape but the 2D cuboid, tracks per frame made tracks again.
        assert len(newest.get_annotations().tracks) == 2 and len(newest.get_annotations().tags) == 1


def test_dataset_imports_into_projects_are_refused_clearly(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        project = client.projects.create(models.ProjectWriteRequest(name="target", labels=[{"name": "car"}]))
        (tmp_path / "a.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
        with open(tmp_path / "a.zip", "rb") as file:
            answer = requests.post(f"{base_url}/api/projects/{project.id}/dataset/", params={"format": "YOLO 1.1"},
                                   files={"dataset_file": file}, auth=new_user, timeout=30)
        assert answer.status_code == 400 and "not imported into projects" in answer.text
        # Annotations without images make no task.
        annotations_only = tmp_path / "coco.zip"
        with zipfile.ZipFile(annotations_only, "w") as archive:
            archive.writestr("annotations/instances_default.json", json.dumps(
                {"images": [], "annotations": [], "categories": [{"id": 1, "name": "car"}]}))
        with pytest.raises(Exception, match="needs them"):
            project.import_dataset("COCO 1.0", annotations_only, status_check_period=0.2)
        assert project.get_tasks() == []


def wait_for(base_url, auth, rq_id):
    """The request once it is finished or failed."""
    for _ in range(600):
        request = requests.get(f"{base_url}/api/requests/{requests.utils.quote(rq_id, safe='')}", auth=auth,
                               timeout=10).json()
        if request["status"] in ("finished", "failed"):
            return request
        time.sleep(0.2)
    raise AssertionError(f"{rq_id} did not end")


def test_exports_and_imports_go_through_a_cloud_storage(base_url, new_user, tmp_path, bucket):
    from test_cloud_storages import storage_request
    name, _ = bucket
    folder = Path(os.environ["CVAT_TEST_USER_S3_DIR"]) / name
    with make_client(base_url, credentials=new_user) as client:
        storage, _ = client.api_client.cloudstorages_api.create(storage_request(name))
        task, _ = annotated_task(client, tmp_path)
        cloud = {"location": "cloud_storage", "cloud_storage_id": storage.id}
        started = requests.post(f"{base_url}/api/tasks/{task.id}/dataset/export", auth=new_user, timeout=30,
                                params={"format": "COCO 1.0", "save_images": "false", "filename": "out/coco.zip",
                                        **cloud})
        assert started.status_code == 202
        done = wait_for(base_url, new_user, started.json()["rq_id"])
        # Written into the user's bucket; nothing to download here.
        assert done["status"] == "finished" and done["result_url"] is None
        with zipfile.ZipFile(folder / "out" / "coco.zip") as archive:
            assert archive.namelist() == ["annotations/instances_default.json"]

        folder2 = tmp_path / "fresh"
        folder2.mkdir()
        fresh = make_task(client, folder2)
        started = requests.post(f"{base_url}/api/tasks/{fresh.id}/annotations/", auth=new_user, timeout=30,
                                params={"format": "COCO 1.0", "filename": "out/coco.zip", **cloud})
        assert started.status_code == 202, started.text
        assert wait_for(base_url, new_user, started.json()["rq_id"])["status"] == "finished"
        assert len(fresh.get_annotations().shapes) == 4 and len(fresh.get_annotations().tracks) == 1

        # Without a location, the task's target storage decides; a missing object fails
        # the import with its name.
        fresh.update(models.PatchedTaskWriteRequest(target_storage=models.StorageRequest(
            **cloud)))
        started = requests.post(f"{base_url}/api/tasks/{fresh.id}/backup/export", auth=new_user, timeout=30)
        assert wait_for(base_url, new_user, started.json()["rq_id"])["status"] == "finished"
        assert zipfile.ZipFile(folder / f"task_{fresh.id}_backup.zip").read("task.json")
        # ... and restores from there.
        started = requests.post(f"{base_url}/api/tasks/backup/", auth=new_user, timeout=30,
                                params={"filename": f"task_{fresh.id}_backup.zip", **cloud})
        restored = wait_for(base_url, new_user, started.json()["rq_id"])
        assert restored["status"] == "finished", restored
        assert len(client.tasks.retrieve(restored["result_id"]).get_annotations().shapes) == 4
        started = requests.post(f"{base_url}/api/tasks/{fresh.id}/annotations/", auth=new_user, timeout=30,
                                params={"format": "COCO 1.0", "filename": "out/missing.zip", **cloud})
        failed = wait_for(base_url, new_user, started.json()["rq_id"])
        assert failed["status"] == "failed" and "out/missing.zip" in failed["message"]

    refused = requests.post(f"{base_url}/api/tasks/{task.id}/dataset/export", auth=new_user, timeout=30,
                            params={"format": "COCO 1.0", "location": "cloud_storage"})
    assert refused.status_code == 400 and "cloud_storage_id" in refused.json()
    refused = requests.post(f"{base_url}/api/tasks/{task.id}/dataset/export", auth=new_user, timeout=30,
                            params={"format": "COCO 1.0", "location": "cloud_storage", "cloud_storage_id": 999999,
                                    "filename": "../x.zip"})
    assert refused.status_code == 400
