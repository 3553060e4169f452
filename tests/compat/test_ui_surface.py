"""What CVAT's web UI asks of the server beyond the generated client's calls, and the
legacy endpoints older clients use: health as django-health-check answers it, the logo,
organizations' `contact`, restrictions, PATCH of an invitation, the flat cloud listing."""

import uuid

import requests
from cvat_sdk import make_client
from test_cloud_storages import bucket, storage_request  # noqa: F401 (a fixture)


def get(base_url, path, user=None, **kwargs):
    return requests.get(base_url + path, auth=user, timeout=30, **kwargs)


def register(base_url, email=None):
    user = ("w" + uuid.uuid4().hex[:10], "Compat-pass-31")
    body = {"username": user[0], "password1": user[1], "password2": user[1]}
    if email:
        body["email"] = email
    assert requests.post(base_url + "/api/auth/register", json=body, timeout=10).status_code == 201
    return user


def test_first_screen(base_url):
    # The UI's first call, before anyone logs in.
    health = get(base_url, "/api/server/health/?format=json")
    assert health.status_code == 200, health.text
    assert health.json() and set(health.json().values()) == {"working"}
    about = get(base_url, "/api/server/about").json()
    assert about["logo_url"].startswith(base_url) and about["logo_url"].endswith(".svg")
    logo = get(base_url, about["logo_url"][len(base_url):])
    assert logo.status_code == 200 and logo.headers["Content-Type"] == "image/svg+xml" and b"<svg" in logo.content
    assert get(base_url, "/api/restrictions/user-agreements").json() == []
    terms = get(base_url, "/api/restrictions/terms-of-use")
    assert terms.status_code == 200 and terms.headers["Content-Type"].startswith("text/html")


def test_organizations_render_contact_as_an_object(base_url, new_user):
    slug = "c" + uuid.uuid4().hex[:10]
    created = requests.post(base_url + "/api/organizations", json={"slug": slug}, auth=new_user, timeout=10)
    assert created.status_code == 201, created.text
    assert created.json()["contact"] == {}
    listed = get(base_url, "/api/organizations", new_user).json()["results"]
    assert [o["contact"] for o in listed if o["slug"] == slug] == [{}]


def test_an_invitation_is_accepted_with_patch(base_url, new_user):
    slug = "p" + uuid.uuid4().hex[:10]
    assert requests.post(base_url + "/api/organizations", json={"slug": slug}, auth=new_user, timeout=10).ok
    email = f"inv{uuid.uuid4().hex[:8]}@example.com"
    invitee = register(base_url, email)
    invited = requests.post(base_url + "/api/invitations", json={"role": "worker", "email": email},
                            auth=new_user, headers={"X-Organization": slug}, timeout=10)
    assert invited.status_code == 201, invited.text
    key = invited.json()["key"]
    # Only `accepted: true` is taken, as CVAT's older clients send it.
    refused = requests.patch(f"{base_url}/api/invitations/{key}", json={"role": "owner"}, auth=invitee, timeout=10)
    assert refused.status_code == 400 and "accepted" in refused.json()
    # An existing user joined at once (CVAT's default), so there is nothing to accept.
    again = requests.patch(f"{base_url}/api/invitations/{key}", json={"accepted": True}, auth=invitee, timeout=10)
    assert again.status_code == 400 and "already accepted" in again.text, again.text
    members = get(base_url, "/api/memberships", invitee, headers={"X-Organization": slug}).json()["results"]
    assert {m["user"]["username"]: m["role"] for m in members}[invitee[0]] == "worker"


def test_the_legacy_content_lists_every_file(base_url, new_user, bucket):  # noqa: F811
    name, paths = bucket
    with make_client(base_url, credentials=new_user) as client:
        storage, _ = client.api_client.cloudstorages_api.create(storage_request(name))
    content = get(base_url, f"/api/cloudstorages/{storage.id}/content", new_user)
    assert content.status_code == 200, content.text
    assert content.json() == [f"frames/{p.name}" for p in paths]
    stranger = register(base_url)
    assert get(base_url, f"/api/cloudstorages/{storage.id}/content", stranger).status_code == 403


def test_a_signed_url_reads_without_credentials_for_a_while(base_url, new_user):
    import time

    task = requests.post(f"{base_url}/api/tasks", auth=new_user, timeout=10,
                         json={"name": "signed", "labels": [{"name": "a"}]}).json()
    other = requests.post(f"{base_url}/api/tasks", auth=new_user, timeout=10,
                          json={"name": "not signed", "labels": [{"name": "a"}]}).json()
    signed = requests.post(f"{base_url}/api/auth/signing", auth=new_user, timeout=10,
                           json={"url": f"/api/tasks/{task['id']}/"})
    assert signed.status_code == 200, signed.text
    url = signed.json()
    assert url.startswith(f"{base_url}/api/tasks/{task['id']}?sign=")
    read = requests.get(url, timeout=10)
    assert read.status_code == 200 and read.json()["name"] == "signed"
    # The signature is for that URL only, and only for reading.
    sign = url.split("sign=")[1]
    assert requests.get(f"{base_url}/api/tasks/{other['id']}?sign={sign}", timeout=10).status_code == 401
    assert requests.patch(url, json={"name": "changed"}, timeout=10).status_code == 403
    assert requests.post(f"{base_url}/api/auth/signing", auth=new_user, timeout=10,
                         json={"url": "http://elsewhere.example/x"}).status_code == 400
    time.sleep(31)
    expired = requests.get(url, timeout=10)
    assert expired.status_code == 401 and "expired" in expired.text
