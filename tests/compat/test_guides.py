"""Annotation guides and their files through the pinned cvat-sdk 2.80.0: markdown on a
project (shown as `guide_id` on the project, its tasks' jobs), images uploaded for it,
CVAT's limits, and who may see or change them."""

import io
import uuid

import pytest
import requests
from cvat_sdk import make_client
from cvat_sdk.api_client import exceptions, models
from PIL import Image

from test_task_data import make_images


def png_bytes():
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


def test_a_project_guide_with_an_image(base_url, new_user, tmp_path):
    with make_client(base_url, credentials=new_user) as client:
        project = client.projects.create(
            models.ProjectWriteRequest(name="guided", labels=[models.PatchedLabelRequest(name="car")])
        )
        guides = client.api_client.guides_api
        guide, response = guides.create(annotation_guide_write_request=models.AnnotationGuideWriteRequest(project_id=project.id, markdown="# Cars"))
        assert response.status == 201 and (guide.project_id, guide.task_id, guide.markdown) == (project.id, None, "# Cars")
        assert client.projects.retrieve(project.id).guide_id == guide.id
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name="in project", project_id=project.id),
            resources=[str(p) for p in make_images(tmp_path, 2)],
            status_check_period=0.2,
        )
        assert task.get_jobs()[0].guide_id == guide.id
        with pytest.raises(exceptions.ApiException) as twice:
            guides.create(annotation_guide_write_request=models.AnnotationGuideWriteRequest(project_id=project.id, markdown="again"))
        assert twice.value.status == 409

        image = tmp_path / "car.png"
        image.write_bytes(png_bytes())
        asset, response = client.api_client.assets_api.create(guide_id=guide.id, file=open(image, "rb"))
        assert response.status == 201 and (asset.filename, asset.guide_id) == ("car.png", guide.id)
        assert asset.owner.username == new_user[0]
        _, response = client.api_client.assets_api.retrieve(asset.uuid, _parse_response=False)
        assert response.data == image.read_bytes() and response.headers["Content-Type"] == "image/png"

        updated, _ = guides.partial_update(guide.id, patched_annotation_guide_write_request=models.
                                           PatchedAnnotationGuideWriteRequest(markdown=f"![car](/api/assets/{asset.uuid})"))
        assert asset.uuid in updated.markdown

        # Somebody else sees neither the guide nor its files.
        other = ("g" + uuid.uuid4().hex[:10], "Compat-pass-31")
        requests.post(f"{base_url}/api/auth/register", timeout=10,
                      json={"username": other[0], "password1": other[1], "password2": other[1]})
        assert requests.get(f"{base_url}/api/guides/{guide.id}", auth=other, timeout=10).status_code == 403
        assert requests.get(f"{base_url}/api/assets/{asset.uuid}", auth=other, timeout=10).status_code == 403
        assert requests.delete(f"{base_url}/api/assets/{asset.uuid}", auth=other, timeout=10).status_code == 403

        client.api_client.assets_api.destroy(asset.uuid)
        with pytest.raises(exceptions.NotFoundException):
            client.api_client.assets_api.retrieve(asset.uuid)
        guides.destroy(guide.id)
        assert client.projects.retrieve(project.id).guide_id is None


def test_assets_refuse_what_is_not_an_image(base_url, new_user):
    with make_client(base_url, credentials=new_user) as client:
        task = client.tasks.create(models.TaskWriteRequest(name="guided task", labels=[models.PatchedLabelRequest(name="a")]))
        guide, _ = client.api_client.guides_api.create(annotation_guide_write_request=models.AnnotationGuideWriteRequest(task_id=task.id, markdown=""))
    auth = new_user

    def upload(name, content, guide_id=guide.id):
        return requests.post(f"{base_url}/api/assets", auth=auth, timeout=30,
                             data={"guide_id": str(guide_id)}, files={"file": (name, content)})

    assert upload("x.png", b"#!/bin/sh\necho not an image\n").status_code == 400
    assert upload("big.png", b"\x89PNG" + b"0" * (10 * 1024 * 1024)).status_code == 413
    assert upload("x.png", png_bytes(), guide_id=999999).status_code == 400
    assert upload("../../etc/x.png", png_bytes()).json()["filename"] == "x.png"
    assert requests.post(f"{base_url}/api/guides", auth=auth, timeout=10,
                         json={"markdown": "nowhere"}).status_code == 400
    assert requests.post(f"{base_url}/api/guides", auth=auth, timeout=10,
                         json={"task_id": task.id, "project_id": 1, "markdown": "both"}).status_code == 400
