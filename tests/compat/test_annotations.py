"""Annotations through the pinned cvat-sdk / cvat-cli 2.80.0: every shape type, tags,
tracks and skeletons saved and read back exactly, PATCH actions, task-level writes cut
across jobs, label removal, bad input, permissions and concurrent savers."""

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import requests
from cvat_sdk import make_client
from cvat_sdk.api_client import exceptions, models
from cvat_sdk.core.proxies.annotations import AnnotationUpdateAction
from test_projects_tasks import label_specs
from test_task_data import make_images

MASK = [0, 2, 1, 1, 10, 20, 11, 21]  # runs over a 2×2 box at (10, 20)


def labels():
    """The car (two attributes) and skeleton labels of the projects suite, and a tag label."""
    return label_specs() + [models.PatchedLabelRequest(name="sky")]


def make_task(client, tmp_path, frames=6, **spec):
    paths = make_images(tmp_path, frames)
    return client.tasks.create_from_data(
        models.TaskWriteRequest(name="annotated", labels=labels(), **spec),
        resources=[str(p) for p in paths],
        data_params={"image_quality": 70},
        status_check_period=0.2,
    )


def by_name(task):
    named = {l.name: l for l in task.get_labels()}
    car, person = named["car"], named["person"]
    return {
        "car": car.id,
        "model": car.attributes[0].id,
        "speed": car.attributes[1].id,
        "person": person.id,
        "head": person.sublabels[0].id,
        "hand": person.sublabels[1].id,
        "sky": named["sky"].id,
    }


def document(ids):
    car, person = ids["car"], ids["person"]
    attrs = [{"spec_id": ids["model"], "value": "b"}, {"spec_id": ids["speed"], "value": "40"}]
    shapes = [
        {"type": t, "frame": 1, "label_id": car, "points": p, "attributes": attrs, "z_order": 2, "occluded": True}
        for t, p in [
            ("rectangle", [1.5, 2.0, 30.0, 40.25]),
            ("polygon", [0.0, 0.0, 10.0, 0.0, 10.0, 10.0]),
            ("polyline", [0.0, 0.0, 5.0, 5.0]),
            ("points", [3.0, 4.0, 5.0, 6.0]),
            ("ellipse", [20.0, 20.0, 30.0, 25.0]),
            ("cuboid", [float(i) for i in range(16)]),
            ("mask", [float(v) for v in MASK]),
        ]
    ]
    shapes[0]["rotation"] = 45.0
    shapes.append(
        {
            "type": "skeleton",
            "frame": 2,
            "label_id": person,
            "points": [],
            "elements": [
                {"type": "points", "frame": 2, "label_id": ids["head"], "points": [1.0, 1.0], "outside": False},
                {"type": "points", "frame": 2, "label_id": ids["hand"], "points": [2.0, 2.0], "outside": True},
            ],
        }
    )
    tracks = [
        {
            "frame": 0,
            "label_id": car,
            "attributes": [{"spec_id": ids["model"], "value": "a"}],
            "shapes": [
                {"type": "rectangle", "frame": 0, "points": [0.0, 0.0, 10.0, 10.0],
                 "attributes": [{"spec_id": ids["speed"], "value": "10"}]},
                {"type": "rectangle", "frame": 3, "points": [6.0, 6.0, 16.0, 16.0], "outside": True,
                 "attributes": [{"spec_id": ids["speed"], "value": "20"}]},
            ],
        },
        {
            "frame": 1,
            "label_id": person,
            "shapes": [{"type": "skeleton", "frame": 1, "points": []}],
            "elements": [
                {"frame": 1, "label_id": ids["head"], "shapes": [{"type": "points", "frame": 1, "points": [5.0, 5.0]}]},
                {"frame": 1, "label_id": ids["hand"], "shapes": [{"type": "points", "frame": 1, "points": [6.0, 6.0]}]},
            ],
        },
    ]
    tags = [{"frame": 0, "label_id": ids["sky"]}]
    return {"tags": tags, "shapes": shapes, "tracks": tracks}


def strip(value):
    """The document without server-assigned ids, for comparing with what was sent."""
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def test_every_type_round_trips_through_a_job(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task = make_task(client, tmp_path)
        ids = by_name(task)
        (job,) = task.get_jobs()
        job.set_annotations(models.LabeledDataRequest(**document(ids)))
        saved = job.get_annotations()
        assert saved.version == 0
        assert len(saved.shapes) == 8 and len(saved.tracks) == 2 and len(saved.tags) == 1
        rectangle = saved.shapes[0]
        assert (rectangle.type.value, rectangle.points, rectangle.rotation, rectangle.z_order) == (
            "rectangle", [1.5, 2.0, 30.0, 40.25], 45.0, 2)
        assert rectangle.occluded and rectangle.source == "manual"
        assert [(a.spec_id, a.value) for a in rectangle.attributes] == [(ids["model"], "b"), (ids["speed"], "40")]
        assert [s.type.value for s in saved.shapes] == [
            "rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton"]
        assert saved.shapes[6].points == MASK
        skeleton = saved.shapes[7]
        assert skeleton.points == [] and [e.label_id for e in skeleton.elements] == [ids["head"], ids["hand"]]
        assert [e.outside for e in skeleton.elements] == [False, True]
        assert len({s.id for s in saved.shapes} | {e.id for e in skeleton.elements}) == 10

        track = saved.tracks[0]
        assert [(s.frame, s.outside) for s in track.shapes] == [(0, False), (3, True)]
        # The track keeps its immutable value, its keyframes their mutable ones.
        assert [(a.spec_id, a.value) for a in track.attributes] == [(ids["model"], "a")]
        assert [[a.value for a in s.attributes] for s in track.shapes] == [["10"], ["20"]]
        skeleton_track = saved.tracks[1]
        assert [e.label_id for e in skeleton_track.elements] == [ids["head"], ids["hand"]]
        assert skeleton_track.elements[0].shapes[0].points == [5.0, 5.0]
        # Defaults fill attributes a tag does not set (it has none); the sky tag stays bare.
        assert saved.tags[0].label_id == ids["sky"] and saved.tags[0].attributes == []

        # The task reads the same objects (one job: nothing to join).
        assert strip(task.get_annotations().to_dict()) == strip(saved.to_dict())

        job.remove_annotations()
        empty = job.get_annotations()
        assert (empty.shapes, empty.tracks, empty.tags) == ([], [], [])


def test_patch_actions_keep_ids(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task = make_task(client, tmp_path)
        ids = by_name(task)
        (job,) = task.get_jobs()
        box = {"type": "rectangle", "frame": 0, "label_id": ids["car"], "points": [0.0, 0.0, 1.0, 1.0]}
        job.update_annotations(
            models.PatchedLabeledDataRequest(shapes=[box, dict(box, frame=1)]), action=AnnotationUpdateAction.CREATE
        )
        first = job.get_annotations().shapes
        assert [s.frame for s in first] == [0, 1]
        # Missing attribute values read as the label's defaults.
        assert [(a.spec_id, a.value) for a in first[0].attributes] == [(ids["model"], "a"), (ids["speed"], "0")]

        moved = models.LabeledShapeRequest(**dict(first[1].to_dict(), points=[5.0, 5.0, 9.0, 9.0]))
        job.update_annotations(models.PatchedLabeledDataRequest(shapes=[moved]), action=AnnotationUpdateAction.UPDATE)
        second = job.get_annotations().shapes
        assert [(s.id, s.points) for s in second] == [(first[0].id, [0.0, 0.0, 1.0, 1.0]), (first[1].id, [5.0, 5.0, 9.0, 9.0])]

        job.remove_annotations(ids=[first[0].id])
        assert [s.id for s in job.get_annotations().shapes] == [first[1].id]

        # The raw PATCH answers the created objects with their new ids.
        response = requests.patch(
            f"{base_url}/api/jobs/{job.id}/annotations/?action=create",
            json={"tags": [{"frame": 2, "label_id": ids["sky"]}]},
            auth=new_user,
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert isinstance(response.json()["tags"][0]["id"], int)
        missing = requests.patch(f"{base_url}/api/jobs/{job.id}/annotations/", json={}, auth=new_user, timeout=10)
        assert missing.status_code == 400
        assert missing.json() == ["Please specify a correct 'action' for the request"]


def test_task_level_writes_are_cut_across_jobs(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task = make_task(client, tmp_path, frames=10, segment_size=5, overlap=2)
        ids = by_name(task)
        jobs = sorted(task.get_jobs(), key=lambda j: j.start_frame)
        assert [(j.start_frame, j.stop_frame) for j in jobs] == [(0, 4), (3, 7), (6, 9)]
        car = ids["car"]
        box = lambda frame, x: {"type": "rectangle", "frame": frame, "label_id": car, "points": [x, x, x + 10.0, x + 10.0]}
        track = {
            "frame": 0,
            "label_id": car,
            "shapes": [
                {"type": "rectangle", "frame": 0, "points": [0.0, 0.0, 10.0, 10.0]},
                {"type": "rectangle", "frame": 8, "points": [8.0, 8.0, 18.0, 18.0]},
            ],
        }
        task.set_annotations(
            models.LabeledDataRequest(shapes=[box(0, 0.0), box(4, 4.0), box(9, 9.0)], tracks=[track])
        )
        per_job = [j.get_annotations() for j in jobs]
        assert [[s.frame for s in d.shapes] for d in per_job] == [[0, 4], [4], [9]]
        # The track is in every job, with interpolated keyframes where it is cut.
        assert [[s.frame for s in d.tracks[0].shapes] for d in per_job] == [[0, 4], [3, 7], [6, 8]]
        assert per_job[1].tracks[0].shapes[0].points == [3.0, 3.0, 13.0, 13.0]

        joined = task.get_annotations()
        assert [s.frame for s in joined.shapes] == [0, 4, 9]
        (whole,) = joined.tracks
        frames = [s.frame for s in whole.shapes]
        assert frames[0] == 0 and frames[-1] == 8 and frames == sorted(frames)

        task.remove_annotations()
        assert all(j.get_annotations().shapes == [] for j in jobs)


def test_deleting_a_label_removes_its_annotations(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task = make_task(client, tmp_path)
        ids = by_name(task)
        (job,) = task.get_jobs()
        job.set_annotations(models.LabeledDataRequest(**document(ids)))
        client.api_client.labels_api.destroy(ids["sky"])
        assert job.get_annotations().tags == []
        client.api_client.labels_api.destroy(ids["person"])
        saved = job.get_annotations()
        assert all(s.label_id == ids["car"] for s in saved.shapes) and len(saved.tracks) == 1


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda d, ids: d["shapes"][0].update(label_id=999999), "label_id"),
        (lambda d, ids: d["shapes"][1].update(points=[0.0, 0.0, 1.0, 1.0]), "points"),
        (lambda d, ids: d["shapes"][0].update(frame=40), "frame"),
        (lambda d, ids: d["shapes"][6].update(points=[1.0, 1.0, 10.0, 20.0, 11.0, 21.0]), "points"),
        (lambda d, ids: d["shapes"][7]["elements"].pop(), "elements"),
        (lambda d, ids: d["shapes"][0]["attributes"].__setitem__(0, {"spec_id": ids["model"], "value": "c"}), "attributes"),
        (lambda d, ids: d["tracks"][0]["attributes"].append({"spec_id": ids["speed"], "value": "5"}), "attributes"),
    ],
)
def test_bad_documents_are_refused_and_nothing_is_saved(base_url, new_user, tmp_path, change, field):
    with make_client(base_url, credentials=new_user) as client:
        task = make_task(client, tmp_path)
        ids = by_name(task)
        (job,) = task.get_jobs()
        job.set_annotations(models.LabeledDataRequest(tags=[{"frame": 0, "label_id": ids["sky"]}]))
        bad = document(ids)
        change(bad, ids)
        response = requests.put(f"{base_url}/api/jobs/{job.id}/annotations/", json=bad, auth=new_user, timeout=10)
        assert response.status_code == 400, response.text
        assert field in str(response.json())
        saved = job.get_annotations()
        assert len(saved.tags) == 1 and saved.shapes == []


def test_wrong_shapes_and_sizes(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task = make_task(client, tmp_path)
        (job,) = task.get_jobs()
        url = f"{base_url}/api/jobs/{job.id}/annotations/"
        wrong = requests.put(url, json={"shapes": [{"type": "rectangle", "frame": "one", "label_id": 1}]}, auth=new_user, timeout=10)
        assert wrong.status_code == 400 and "frame" in wrong.json()["shapes"][0]
        broken = requests.put(url, data=b'{"shapes": [', headers={"Content-Type": "application/json"}, auth=new_user, timeout=10)
        assert broken.status_code == 400
        unknown = requests.put(url, json={"shapes": [{"type": "circle", "frame": 0, "label_id": 1}]}, auth=new_user, timeout=10)
        assert unknown.status_code == 400


def test_only_those_allowed_read_and_write(base_url, new_user, tmp_path):
    slug = "a" + uuid.uuid4().hex[:10]
    worker = ("w" + uuid.uuid4().hex[:8], "Worker-pass-5")
    with make_client(base_url) as anonymous:
        anonymous.api_client.auth_api.create_register(
            models.RegisterSerializerExRequest(
                username=worker[0], password1=worker[1], password2=worker[1], email=f"{worker[0]}@example.com"
            )
        )
    with make_client(base_url, credentials=new_user) as owner:
        owner.organizations.create(models.OrganizationWriteRequest(slug=slug))
        invitation, _ = owner.api_client.invitations_api.create(
            models.InvitationWriteRequest(role="worker", email=f"{worker[0]}@example.com"), org=slug
        )
        owner.organization_slug = slug
        task = make_task(owner, tmp_path)
        (job,) = task.get_jobs()
    assert invitation.accepted  # an existing user joins at once
    with make_client(base_url, credentials=worker) as client:
        worker_id = client.users.retrieve_current_user().id
    url = f"{base_url}/api/jobs/{job.id}/annotations/"
    headers = {"X-Organization": slug}
    # A worker of the organization who is not assigned to the job sees nothing of it.
    assert requests.get(url, auth=worker, headers=headers, timeout=10).status_code == 403
    assert requests.put(url, json={}, auth=worker, headers=headers, timeout=10).status_code == 403
    assert requests.delete(url, auth=worker, headers=headers, timeout=10).status_code == 403
    with make_client(base_url, credentials=new_user) as owner:
        owner.organization_slug = slug
        owner.jobs.retrieve(job.id).update(models.PatchedJobWriteRequest(assignee=worker_id))
    # Assigned, the worker annotates the job but not the rest of the task.
    assert requests.put(url, json={}, auth=worker, headers=headers, timeout=10).status_code == 200
    task_url = f"{base_url}/api/tasks/{task.id}/annotations/"
    assert requests.put(task_url, json={}, auth=worker, headers=headers, timeout=10).status_code == 403


def test_concurrent_savers_never_mix(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task = make_task(client, tmp_path)
        ids = by_name(task)
        (job,) = task.get_jobs()
    url = f"{base_url}/api/jobs/{job.id}/annotations/"
    bodies = [
        {"shapes": [{"type": "rectangle", "frame": f % 6, "label_id": ids["car"], "points": [n, n, n + 1.0, n + 1.0]}
                    for f in range(200)]}
        for n in (1.0, 2.0)
    ]
    errors = []

    def save(body):
        for _ in range(5):
            response = requests.put(url, json=body, auth=new_user, timeout=60)
            if response.status_code != 200:
                errors.append(response.text)

    threads = [threading.Thread(target=save, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    saved = requests.get(url, auth=new_user, timeout=10).json()["shapes"]
    assert len(saved) == 200
    assert len({s["points"][0] for s in saved}) == 1


FUNCTION = '''
import cvat_sdk.auto_annotation as cvataa

spec = cvataa.DetectionFunctionSpec(labels=[cvataa.label_spec("car", 0)])


def detect(context, image):
    return [cvataa.rectangle(0, [1.0, 2.0, 11.0, 12.0])]
'''


def test_cli_auto_annotate_uploads_the_function_shapes(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        task = make_task(client, tmp_path, frames=3)
        car = by_name(task)["car"]
    function = tmp_path / "boxes.py"
    function.write_text(FUNCTION)
    cli = Path(sys.executable).with_name("cvat-cli")
    for extra in ([], ["--clear-existing"]):
        result = subprocess.run(
            [str(cli), "--server-host", base_url, "--auth", f"{new_user[0]}:{new_user[1]}", "task", "auto-annotate",
             str(task.id), "--function-file", str(function), *extra],
            capture_output=True, text=True, timeout=300, env=dict(os.environ),
        )
        assert result.returncode == 0, result.stderr
    with make_client(base_url, credentials=new_user) as client:
        shapes = client.tasks.retrieve(task.id).get_annotations().shapes
    assert sorted(s.frame for s in shapes) == [0, 1, 2]
    assert all((s.label_id, s.points, s.source) == (car, [1.0, 2.0, 11.0, 12.0], "auto") for s in shapes)
