"""Webhooks through the pinned cvat-sdk 2.80.0: a receiver on 127.0.0.2 (the one internal
network the test stack allows) checks each delivery's signature as a CVAT receiver would;
refused targets, retries with back-off and redeliveries."""

import hashlib
import hmac
import http.server
import json
import queue
import threading
import time
import uuid

import pytest
import requests
from cvat_sdk import make_client
from cvat_sdk.api_client import models

SECRET = "s3cret-" + uuid.uuid4().hex[:6]


class Receiver:
    """An HTTP server on 127.0.0.2 recording what it receives; answers the statuses in
    `answers` first, then 200."""

    def __init__(self, answers=()):
        self.received = queue.Queue()
        self.answers = list(answers)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.put((self.headers, body))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"received")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.2:{self.server.server_address[1]}/hook"

    def next(self, timeout=60):
        """The next delivery: checks its signature as CVAT's docs show, answers the payload."""
        headers, body = self.received.get(timeout=timeout)
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Signature-256"], expected), headers
        assert headers["Content-Type"] == "application/json"
        return json.loads(body)

    def close(self):
        self.server.shutdown()


def until(check, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.2)


def test_a_project_webhook_delivers_signed_changes(base_url, new_user):
    receiver = Receiver()
    try:
        with make_client(base_url, credentials=new_user) as client:
            project = client.projects.create(
                models.ProjectWriteRequest(name="hooked", labels=[models.PatchedLabelRequest(name="car")])
            )
            webhook, _ = client.api_client.webhooks_api.create(models.WebhookWriteRequest(
                target_url=receiver.url, type="project", project_id=project.id, secret=SECRET,
                events=["create:task", "update:task", "delete:task", "update:project"],
                description="ci receiver",
            ))
            assert (str(webhook.type), webhook.project_id, webhook.is_active) == ("project", project.id, True)
            assert "secret" not in webhook.to_dict()

            delivery, _ = client.api_client.webhooks_api.create_ping(webhook.id)
            assert delivery.event == "ping"
            ping = receiver.next()
            assert (ping["event"], ping["webhook"]["id"], ping["sender"]["username"]) == ("ping", webhook.id, new_user[0])

            task = client.tasks.create(models.TaskWriteRequest(name="first", project_id=project.id))
            created = receiver.next()
            assert (created["event"], created["task"]["id"], created["webhook_id"]) == ("create:task", task.id, webhook.id)
            task.update(models.PatchedTaskWriteRequest(name="renamed"))
            updated = receiver.next()
            assert updated["event"] == "update:task"
            assert updated["task"]["name"] == "renamed" and updated["before_update"] == {"name": "first"}
            task.remove()
            deleted = receiver.next()
            assert (deleted["event"], deleted["task"]["id"]) == ("delete:task", task.id)

            # Every delivery is recorded with the target's answer.
            def all_answered():
                page, _ = client.api_client.webhooks_api.list_deliveries(webhook.id)
                return page if page.count == 4 and all(d.status_code == 200 for d in page.results) else None
            page = until(all_answered)
            assert [d.event for d in page.results] == ["delete:task", "update:task", "create:task", "ping"]
            assert page.results[1].changed_fields == "name" and page.results[1].response == "received"
            read, _ = client.api_client.webhooks_api.retrieve(webhook.id)
            assert read.last_status == 200

            # A redelivery sends the same payload again, marked as one.
            client.api_client.webhooks_api.create_deliveries_redelivery(str(page.results[1].id), webhook.id)
            assert receiver.next() == updated
            redelivered = until(lambda: [d for d in client.api_client.webhooks_api.list_deliveries(webhook.id)[0].results
                                         if d.redelivery and d.status_code == 200])
            assert redelivered[0].event == "update:task"

            # Inactive webhooks are not called.
            client.api_client.webhooks_api.partial_update(
                webhook.id, patched_webhook_write_request=models.PatchedWebhookWriteRequest(is_active=False))
            client.projects.retrieve(project.id).update(models.PatchedProjectWriteRequest(name="quiet"))
            with pytest.raises(queue.Empty):
                receiver.received.get(timeout=3)
    finally:
        receiver.close()


def test_an_unanswered_delivery_is_retried(base_url, new_user):
    receiver = Receiver(answers=[503])
    try:
        slug = "w" + uuid.uuid4().hex[:10]
        with make_client(base_url, credentials=new_user) as client:
            client.organizations.create(models.OrganizationWriteRequest(slug=slug))
            client.organization_slug = slug
            webhook, _ = client.api_client.webhooks_api.create(models.WebhookWriteRequest(
                target_url=receiver.url, type="organization", secret=SECRET, events=["create:project"],
            ))
            assert webhook.organization is not None
            project = client.projects.create(models.ProjectWriteRequest(name="retried"))
            first, second = receiver.next(), receiver.next()
            assert first == second and first["project"]["id"] == project.id
            delivery = until(lambda: [d for d in client.api_client.webhooks_api.list_deliveries(webhook.id)[0].results
                                      if d.status_code == 200])
            assert delivery[0].attempt == 2
    finally:
        receiver.close()


def test_webhooks_refuse_what_they_cannot_take(base_url, new_user):
    with make_client(base_url, credentials=new_user) as client:
        project = client.projects.create(models.ProjectWriteRequest(name="refusing"))
        api = client.api_client.webhooks_api

        def refused(**fields):
            request = dict(target_url="http://127.0.0.2:9/x", type="project", project_id=project.id,
                           events=["create:task"])
            request.update(fields)
            response = requests.post(f"{base_url}/api/webhooks", json=request, auth=new_user, timeout=10)
            assert response.status_code in (400, 403), response.text
            return response.status_code, response.json()

        # Inside addresses (the stack's own loopback), other schemes, unknown events.
        for url in ["http://127.0.0.1:8080/hook", "http://localhost/hook", "ftp://127.0.0.2/x", "not a url"]:
            status, body = refused(target_url=url)
            assert (status, list(body)) == (400, ["target_url"]), url
        assert refused(events=["create:everything"]) == (400, {"events": ['"create:everything" is not a valid choice.']})
        assert refused(events=["create:project"])[0] == 400
        assert refused(type="server")[0] == 400
        assert refused(type="organization", project_id=None)[0] == 400
        # Somebody else's project.
        other = ("x" + uuid.uuid4().hex[:10], "Compat-pass-31")
        requests.post(f"{base_url}/api/auth/register", timeout=10,
                      json={"username": other[0], "password1": other[1], "password2": other[1]})
        response = requests.post(f"{base_url}/api/webhooks", auth=other, timeout=10, json={
            "target_url": "http://127.0.0.2:9/x", "type": "project", "project_id": project.id, "events": []})
        assert response.status_code == 403, response.text

        catalogue, _ = api.retrieve_events(type="project")
        keys = {e.key for e in catalogue.events}
        assert "update:task" in keys and "create:project" not in keys and "delete:project" in keys
        bad = requests.get(f"{base_url}/api/webhooks/events?type=galaxy", auth=new_user, timeout=10)
        assert bad.status_code == 400 and "type" in bad.json()


def test_organization_changes_reach_an_organization_webhook(base_url, new_user):
    receiver = Receiver()
    try:
        slug = "o" + uuid.uuid4().hex[:10]
        member = ("m" + uuid.uuid4().hex[:10], "Compat-pass-31")
        requests.post(f"{base_url}/api/auth/register", timeout=10, json={
            "username": member[0], "password1": member[1], "password2": member[1], "email": f"{member[0]}@example.com"})
        with make_client(base_url, credentials=new_user) as client:
            org = client.organizations.create(models.OrganizationWriteRequest(slug=slug, name="before"))
            client.organization_slug = slug
            client.api_client.webhooks_api.create(models.WebhookWriteRequest(
                target_url=receiver.url, type="organization", secret=SECRET,
                events=["update:organization", "create:invitation", "update:membership", "delete:membership"],
            ))
            org.update(models.PatchedOrganizationWriteRequest(name="after"))
            updated = receiver.next()
            assert updated["event"] == "update:organization"
            assert updated["organization"]["name"] == "after" and updated["before_update"] == {"name": "before"}
            client.api_client.invitations_api.create(
                models.InvitationWriteRequest(role="worker", email=f"{member[0]}@example.com"))
            invited = receiver.next()
            assert (invited["event"], invited["invitation"]["user"]["username"]) == ("create:invitation", member[0])
            membership = [m for m in client.api_client.memberships_api.list()[0].results if m.user.username == member[0]][0]
            client.api_client.memberships_api.partial_update(
                membership.id, patched_membership_write_request=models.PatchedMembershipWriteRequest(role="supervisor"))
            changed = receiver.next()
            assert changed["event"] == "update:membership" and changed["before_update"] == {"role": "worker"}
            client.api_client.memberships_api.destroy(membership.id)
            removed = receiver.next()
            assert (removed["event"], removed["membership"]["id"]) == ("delete:membership", membership.id)
    finally:
        receiver.close()
