"""Functions served by agents, driven by the pinned cvat-cli 2.80.0: `function
create-native`, `function run-agent` (batch, with --burst; interactive, running), the
lambda endpoints CVAT's UI calls, and the agent protocol's refusals."""

import os
import queue
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import requests
from cvat_sdk import make_client
from cvat_sdk.api_client import models

import cli
from test_task_data import make_images

FUNCTIONS = Path(__file__).with_name("functions")


def session(base_url, user):
    s = requests.Session()
    s.auth = user
    s.headers["Accept"] = "application/vnd.cvat+json"
    s.base_url = base_url
    return s


def call(s, method, path, **kwargs):
    return s.request(method, s.base_url + path, timeout=60, **kwargs)


def make_task(base_url, user, tmp_path, frames=3):
    labels = [
        models.PatchedLabelRequest(
            name="car",
            attributes=[models.AttributeRequest(name="model", input_type="text", mutable=False, values=[""])],
        ),
        models.PatchedLabelRequest(name="sky"),
    ]
    with make_client(base_url, credentials=user) as client:
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name="auto", labels=labels, segment_size=2),
            resources=[str(p) for p in make_images(tmp_path, frames)],
            status_check_period=0.2,
        )
        return task.id


def create_native(base_url, user, name, function_file):
    result = cli.run(base_url, user, "function", "create-native", name, "--function-file", str(FUNCTIONS / function_file))
    return int(result.stdout.strip().splitlines()[-1])


def annotations(s, task):
    response = call(s, "GET", f"/api/tasks/{task}/annotations")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_task_annotated_by_a_cli_agent(base_url, new_user, tmp_path):
    s = session(base_url, new_user)
    task = make_task(base_url, new_user, tmp_path)
    function = create_native(base_url, new_user, "fixed boxes", "boxes.py")

    remote = call(s, "GET", f"/api/functions/{function}").json()
    assert (remote["provider"], remote["kind"], remote["name"]) == ("native", "detector", "fixed boxes")
    assert [(l["name"], l["type"]) for l in remote["labels_v2"]] == [("car", "rectangle"), ("dog", "rectangle")]

    listed = call(s, "GET", "/api/lambda/functions").json()
    mine = [f for f in listed if f["id"] == str(function)]
    assert mine and mine[0]["kind"] == "detector" and mine[0]["labels_v2"][0]["name"] == "car"
    assert call(s, "HEAD", "/api/lambda/functions").status_code == 200

    # Something to be replaced: cleanup removes what was there.
    car = {l["name"]: l for l in call(s, "GET", f"/api/labels?task_id={task}").json()["results"]}["car"]
    manual = {"shapes": [{"type": "points", "frame": 0, "label_id": car["id"], "points": [3, 3]}]}
    assert call(s, "PUT", f"/api/tasks/{task}/annotations", json=manual).status_code == 200

    created = call(s, "POST", "/api/lambda/requests",
                   json={"function": str(function), "task": task, "threshold": 0.5, "cleanup": True})
    assert created.status_code == 200, created.text
    request = created.json()
    assert request["status"] == "queued" and request["function"] == {"id": str(function), "task": task, "threshold": 0.5}
    again = call(s, "POST", "/api/lambda/requests", json={"function": str(function), "task": task})
    assert again.status_code == 409, again.text
    assert request["id"] in [r["id"] for r in call(s, "GET", "/api/lambda/requests").json()]

    cli.run(base_url, new_user, "function", "run-agent", str(function), "--function-file",
            str(FUNCTIONS / "boxes.py"), "--burst", timeout=300)

    done = call(s, "GET", f"/api/lambda/requests/{request['id']}").json()
    assert (done["status"], done["progress"]) == ("finished", 100), done
    assert done["started"] and done["ended"]
    shapes = annotations(s, task)["shapes"]
    # One car per frame (the dog has no label in the task), nothing of before.
    assert sorted(sh["frame"] for sh in shapes) == [0, 1, 2]
    for shape in shapes:
        assert (shape["type"], shape["label_id"], shape["source"]) == ("rectangle", car["id"], "auto")
        assert shape["attributes"] == [{"spec_id": car["attributes"][0]["id"], "value": "auto"}]
    # A request of one job keeps to the job's frames and adds to what is there.
    job = call(s, "GET", f"/api/jobs?task_id={task}&sort=id").json()["results"][1]
    created = call(s, "POST", "/api/lambda/requests", json={"function": str(function), "task": task, "job": job["id"]})
    assert created.status_code == 200, created.text
    cli.run(base_url, new_user, "function", "run-agent", str(function), "--function-file",
            str(FUNCTIONS / "boxes.py"), "--burst", timeout=300)
    assert sorted(sh["frame"] for sh in annotations(s, task)["shapes"]) == [0, 1, 2, 2]

    cli.run(base_url, new_user, "function", "delete", str(function))
    assert call(s, "GET", f"/api/functions/{function}").status_code == 404


def test_an_interactor_answers_online_through_a_running_agent(base_url, new_user, tmp_path):
    s = session(base_url, new_user)
    task = make_task(base_url, new_user, tmp_path, frames=2)
    function = create_native(base_url, new_user, "outline", "outline.py")
    lambda_view = call(s, "GET", f"/api/lambda/functions/{function}").json()
    assert lambda_view["kind"] == "interactor"
    assert (lambda_view["min_pos_points"], lambda_view["min_neg_points"]) == (1, 0)
    assert (lambda_view["startswith_box"], lambda_view["startswith_box_optional"]) == (False, False)

    agent = subprocess.Popen(
        [str(Path(sys.executable).with_name("cvat-cli")), "--server-host", base_url, "--auth", ":".join(new_user),
         "function", "run-agent", str(function), "--function-file", str(FUNCTIONS / "outline.py")],
        stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in agent.stderr], daemon=True).start()
    try:
        # The agent says when it listens to its queue (then a request reaches it at once).
        while "Connected to the queue event stream" not in lines.get(timeout=120):
            pass
        job = call(s, "GET", f"/api/jobs?task_id={task}").json()["results"][0]["id"]
        answer = call(s, "POST", f"/api/lambda/functions/{function}",
                      json={"job": job, "frame": 1, "pos_points": [[10, 12], [20, 30]], "neg_points": []})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"shapes": [{"type": "polygon", "points": [9, 11, 21, 11, 21, 31, 9, 31],
                                             "attributes": []}]}
        # The function refuses prompts it cannot take: the caller reads why.
        refused = call(s, "POST", f"/api/lambda/functions/{function}",
                       json={"task": task, "frame": 0, "pos_points": []})
        assert refused.status_code == 400 and "not enough positive points" in refused.text, refused.text
    finally:
        agent.terminate()
        agent.wait(timeout=30)


def test_the_agent_protocol_refuses_what_it_cannot_take(base_url, new_user, tmp_path):
    s = session(base_url, new_user)
    task = make_task(base_url, new_user, tmp_path, frames=2)
    created = call(s, "POST", "/api/functions", json={
        "provider": "native", "name": "raw", "kind": "detector",
        "labels_v2": [{"name": "car", "attributes": []}],
    })
    assert created.status_code == 201, created.text
    function = created.json()["id"]
    queue_path = f"/api/functions/queues/function:{function}"
    requested = call(s, "POST", "/api/lambda/requests", json={"function": str(function), "task": task})
    assert requested.status_code == 200, requested.text

    for body in [{}, {"agent_id": "a"}, {"agent_id": "a", "request_category": "urgent"}, [1]]:
        bad = call(s, "POST", f"{queue_path}/requests/acquire", json=body)
        assert bad.status_code == 400, (body, bad.text)
    empty = call(s, "POST", f"{queue_path}/requests/acquire", json={"agent_id": "a", "request_category": "interactive"})
    assert empty.json() == {"ar_assignment": None}
    got = call(s, "POST", f"{queue_path}/requests/acquire", json={"agent_id": "a", "request_category": "batch"}).json()
    ar = got["ar_assignment"]
    assert ar["ar_params"]["type"] == "annotate_task" and ar["ar_params"]["task"] == task
    assert ar["ar_params"]["mapping"] == {"car": {"name": "car", "attributes": {}}}

    # Another agent holds nothing: its calls are conflicts; unknown requests are 404s.
    result = {"annotations": {"tags": [], "shapes": []}}
    assert call(s, "POST", f"{queue_path}/requests/{ar['ar_id']}/complete", json={"agent_id": "b", **result}).status_code == 409
    assert call(s, "POST", f"{queue_path}/requests/{ar['ar_id']}/update", json={"agent_id": "b", "progress": 0.5}).status_code == 409
    assert call(s, "POST", f"{queue_path}/requests/{uuid.uuid4()}/fail", json={"agent_id": "a", "exc_info": "x"}).status_code == 404
    # A result naming a label the task does not have is refused, and nothing is written.
    bad_label = {"annotations": {"shapes": [{"type": "rectangle", "frame": 0, "label_id": 999999, "points": [0, 0, 1, 1]}]}}
    refused = call(s, "POST", f"{queue_path}/requests/{ar['ar_id']}/complete", json={"agent_id": "a", **bad_label})
    assert refused.status_code == 400, refused.text
    assert annotations(s, task)["shapes"] == []
    assert call(s, "POST", f"{queue_path}/requests/{ar['ar_id']}/update", json={"agent_id": "a", "progress": 0.5}).status_code == 200
    assert call(s, "GET", f"/api/lambda/requests/{requested.json()['id']}").json()["progress"] == 50
    failed = call(s, "POST", f"{queue_path}/requests/{ar['ar_id']}/fail", json={"agent_id": "a", "exc_info": "no GPU"})
    assert failed.status_code == 200, failed.text
    shown = call(s, "GET", f"/api/lambda/requests/{requested.json()['id']}").json()
    assert (shown["status"], shown["exc_info"]) == ("failed", "no GPU")

    # Somebody else neither serves nor sees a private function.
    other = ("o" + uuid.uuid4().hex[:10], "Compat-pass-31")
    assert requests.post(f"{base_url}/api/auth/register", timeout=10,
                         json={"username": other[0], "password1": other[1], "password2": other[1]}).status_code == 201
    stranger = session(base_url, other)
    assert call(stranger, "GET", f"/api/functions/{function}").status_code == 403
    assert call(stranger, "GET", f"{queue_path}/watch").status_code == 403
    assert str(function) not in [f["id"] for f in call(stranger, "GET", "/api/lambda/functions").json()]
    assert call(stranger, "GET", f"/api/lambda/requests/{requested.json()['id']}").status_code == 403
    # Unknown functions and queue names.
    assert call(s, "POST", "/api/lambda/requests", json={"function": "nope", "task": task}).status_code == 404
    assert call(s, "POST", "/api/functions/queues/lambda:1/requests/acquire", json={"agent_id": "a", "request_category": "batch"}).status_code == 404
    bad_kind = call(s, "POST", "/api/functions", json={"provider": "native", "name": "x", "kind": "oracle"})
    assert bad_kind.status_code == 400 and "kind" in bad_kind.json()


def test_without_functions_the_ui_sees_none(base_url, new_user):
    s = session(base_url, new_user)
    # A new user sees no functions: CVAT answers 503 to the UI's HEAD then.
    assert call(s, "HEAD", "/api/lambda/functions").status_code == 503
    assert call(s, "GET", "/api/lambda/functions").json() == []
    assert call(s, "GET", "/api/lambda/requests").json() == []


def test_a_tracker_answers_through_the_raw_agent_protocol(base_url, new_user, tmp_path):
    """An agent speaking the protocol by hand (as cvat-cli's does): watch, acquire,
    complete; a tracker's first call starts tracking, the next one tracks."""
    s = session(base_url, new_user)
    task = make_task(base_url, new_user, tmp_path, frames=2)
    created = call(s, "POST", "/api/functions", json={
        "provider": "native", "name": "follow", "kind": "tracker", "supported_shape_types": ["rectangle"]})
    assert created.status_code == 201, created.text
    function = created.json()["id"]
    queue_path = f"/api/functions/queues/function:{function}"
    seen = []

    def agent():
        with requests.Session() as a:
            a.auth = new_user
            for _ in range(2):
                while True:
                    got = a.post(base_url + queue_path + "/requests/acquire", timeout=30,
                                 json={"agent_id": "hand", "request_category": "interactive"}).json()["ar_assignment"]
                    if got:
                        break
                    with a.get(base_url + queue_path + "/watch", stream=True, timeout=30) as stream:
                        for line in stream.iter_lines(chunk_size=1):
                            if line.startswith(b"event: newrequest"):
                                break
                params = got["ar_params"]
                seen.append(params)
                result = ({"states": ["s1"]} if params["type"] == "init_tracking"
                          else {"states": params["states"], "shapes": [{"type": "rectangle", "points": [2, 2, 6, 6]}]})
                a.post(base_url + queue_path + f"/requests/{got['ar_id']}/complete", timeout=30,
                       json={"agent_id": "hand", **result}).raise_for_status()

    worker = threading.Thread(target=agent, daemon=True)
    worker.start()
    started = call(s, "POST", f"/api/lambda/functions/{function}",
                   json={"task": task, "frame": 0, "shapes": [{"type": "rectangle", "points": [1, 1, 5, 5]}]})
    assert started.status_code == 200, started.text
    assert started.json() == {"states": ["s1"]}
    tracked = call(s, "POST", f"/api/lambda/functions/{function}", json={"task": task, "frame": 1, "states": ["s1"]})
    assert tracked.status_code == 200, tracked.text
    assert tracked.json() == {"states": ["s1"], "shapes": [{"type": "rectangle", "points": [2, 2, 6, 6]}]}
    worker.join(timeout=60)
    assert [p["type"] for p in seen] == ["init_tracking", "track"]
    assert seen[0]["shapes"] == [{"type": "rectangle", "points": [1, 1, 5, 5]}] and seen[1]["frame"] == 1
