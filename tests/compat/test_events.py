"""Events through the pinned cvat-sdk 2.80.0: client batches (with their clocks
corrected and their senders set by the server), the server's own events of changes, CSV
exports as background requests and by the legacy GET, and the legacy log endpoints."""

import csv
import io
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import requests
from cvat_sdk import make_client
from cvat_sdk.api_client import models


def until(check, timeout=90):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.2)


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_client_events_are_stored_and_exported(base_url, new_user):
    marker = uuid.uuid4().hex
    with make_client(base_url, credentials=new_user) as client:
        task = client.tasks.create(models.TaskWriteRequest(name="evented", labels=[models.PatchedLabelRequest(name="a")]))
        # The client's clock is an hour behind: the server corrects it.
        behind = datetime.now(timezone.utc) - timedelta(hours=1)
        stored, response = client.api_client.events_api.create(models.ClientEventsRequest(
            timestamp=behind,
            events=[
                models.EventRequest(scope="load:job", timestamp=behind - timedelta(seconds=5), task_id=task.id,
                                    payload=json.dumps({"marker": marker}), user_id=999999, duration=42),
                models.EventRequest(scope="change:frame", timestamp=behind, task_id=task.id, count=3),
            ],
        ))
        assert response.status == 201
        assert [e.user_name for e in stored.events] == [new_user[0], new_user[0]]
        corrected = stored.events[0].timestamp
        assert abs((corrected - datetime.now(timezone.utc)).total_seconds()) < 120, corrected

        started, response = client.api_client.events_api.create_export(filename="mine.csv")
        assert response.status == 202
        request = until(lambda: (lambda r: r if r.status.value in ("finished", "failed") else None)(
            client.api_client.requests_api.retrieve(started.rq_id)[0]))
        assert request.status.value == "finished", request.message
        download = requests.get(request.result_url, auth=new_user, timeout=30)
        assert download.status_code == 200 and "mine.csv" in download.headers["Content-Disposition"]
        exported = rows(download.text)
        assert list(exported[0])[:6] == ["scope", "obj_name", "obj_id", "obj_val", "source", "timestamp"]
        mine = [r for r in exported if marker in (r["payload"] or "")]
        assert len(mine) == 1 and mine[0]["scope"] == "load:job" and mine[0]["source"] == "client"
        assert (mine[0]["user_name"], mine[0]["duration"], mine[0]["task_id"]) == (new_user[0], "42", str(task.id))
        # The server's own events of the caller's changes are there too.
        assert any(r["scope"] == "create:task" and r["obj_id"] == str(task.id) and r["source"] == "server"
                   for r in exported)


def test_the_legacy_export_and_log_endpoints(base_url, new_user):
    auth = new_user
    logged = requests.post(f"{base_url}/api/server/logs", auth=auth, timeout=10,
                           json=[{"name": "Load job", "time": "now", "job_id": 1, "message": "old client"}])
    assert logged.status_code == 201, logged.text
    assert logged.json()["events"][0]["scope"] == "debug:info"
    reported = requests.post(f"{base_url}/api/server/exception", auth=auth, timeout=10,
                             json={"message": "TypeError: x is undefined", "filename": "app.js", "line": 3})
    assert reported.status_code == 201 and reported.json()["events"][0]["scope"] == "send:exception"

    started = requests.get(f"{base_url}/api/events", auth=auth, timeout=10)
    assert started.status_code == 202, started.text
    query_id = started.json()["query_id"]
    until(lambda: requests.get(f"{base_url}/api/events?query_id={query_id}", auth=auth, timeout=10).status_code == 201)
    download = requests.get(f"{base_url}/api/events?query_id={query_id}&action=download", auth=auth, timeout=30)
    assert download.status_code == 200, download.text
    scopes = {r["scope"] for r in rows(download.text)}
    assert {"debug:info", "send:exception"} <= scopes
    # Only the caller's own events, outside organizations.
    assert {r["user_name"] for r in rows(download.text)} == {auth[0]}


def test_bad_batches_are_refused_whole(base_url, new_user):
    now = datetime.now(timezone.utc).isoformat()

    def send(body):
        return requests.post(f"{base_url}/api/events", json=body, auth=new_user, timeout=30)

    for body, field in [
        ({"timestamp": now, "events": [{"scope": "drop:tables", "timestamp": now}]}, "scope"),
        ({"timestamp": now, "events": [{"scope": "load:job", "timestamp": now, "payload": "{oops"}]}, "payload"),
        ({"timestamp": "yesterday", "events": []}, "timestamp"),
        ({"events": []}, "timestamp"),
        ({"timestamp": now, "events": [{"scope": "load:job"}]}, "events"),
    ]:
        refused = send(body)
        assert refused.status_code == 400 and field in refused.json(), (body, refused.text)
    too_many = send({"timestamp": now, "events": [{"scope": "load:job", "timestamp": now}] * 10001})
    assert too_many.status_code == 413, too_many.text[:200]
    assert requests.get(f"{base_url}/api/events?action=upload", auth=new_user, timeout=10).status_code == 400
    bad_export = requests.post(f"{base_url}/api/events/export?from=soon", auth=new_user, timeout=10)
    assert bad_export.status_code == 400
    hostile = requests.post(f"{base_url}/api/events/export?filename=../../x.csv", auth=new_user, timeout=10)
    assert hostile.status_code == 400 and "filename" in hostile.json()
