"""Cloud storages through the pinned cvat-sdk / cvat-cli 2.80.0, against a user's own S3
server that tests/run.sh starts on 127.0.0.2 (s3s-fs: a bucket is a directory, an
object a file, so the test writes objects as files)."""

import os
import uuid
from pathlib import Path

import cli
import pytest
from cvat_sdk import make_client
from cvat_sdk.api_client import exceptions, models
from cvat_sdk.core.proxies.tasks import ResourceType
from PIL import Image


@pytest.fixture
def bucket():
    root = Path(os.environ.get("CVAT_TEST_USER_S3_DIR", ""))
    if not root.is_dir():
        pytest.fail("CVAT_TEST_USER_S3_DIR is set by tests/run.sh")
    name = "sdk-" + uuid.uuid4().hex[:10]
    images = root / name / "frames"
    images.mkdir(parents=True)
    paths = []
    for i in range(3):
        path = images / f"img_{i}.png"
        Image.new("RGB", (30 + i, 20), (i * 60, 10, 90)).save(path)
        paths.append(path)
    return name, paths


def storage_request(name, **changes):
    fields = dict(
        provider_type=models.ProviderTypeEnum("AWS_S3_BUCKET"),
        resource=name,
        display_name=f"sdk {name}",
        credentials_type=models.CredentialsTypeEnum("KEY_SECRET_KEY_PAIR"),
        key=os.environ["CVAT_TEST_USER_S3_KEY"],
        secret_key=os.environ["CVAT_TEST_USER_S3_SECRET"],
        specific_attributes=f"endpoint_url={os.environ['CVAT_TEST_USER_S3']}",
    )
    fields.update(changes)
    return models.CloudStorageWriteRequest(**fields)


def test_attach_list_and_create_a_task_from_a_bucket(base_url, new_user, bucket, tmp_path):
    name, paths = bucket
    with make_client(base_url, credentials=new_user) as client:
        api = client.api_client.cloudstorages_api
        storage, _ = api.create(storage_request(name))
        assert storage.resource == name and storage.owner.username == new_user[0]
        page, _ = api.list(name=f"sdk {name}")
        assert [s.id for s in page.results] == [storage.id]
        status, _ = api.retrieve_status(storage.id)
        assert status == "AVAILABLE"
        content, _ = api.retrieve_content_v2(storage.id, prefix="frames/")
        assert [(c.name, str(c.type)) for c in content.content] == [(p.name, "REG") for p in paths]

        with pytest.raises(exceptions.ApiException) as refused:
            api.create(storage_request(name, specific_attributes="endpoint_url=http://127.0.0.1:8014"))
        assert refused.value.status == 400

        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name="from bucket", labels=[models.PatchedLabelRequest(name="car")]),
            resources=["frames/"],
            resource_type=ResourceType.SHARE,
            data_params={"image_quality": 70, "cloud_storage_id": storage.id},
            status_check_period=0.2,
        )
        assert task.size == 3
        assert [f.name for f in task.get_meta().frames] == [f"frames/{p.name}" for p in paths]
        task.download_frames([2], outdir=str(tmp_path / "out"), quality="original")
        assert (tmp_path / "out" / "frame_000002.png").read_bytes() == paths[2].read_bytes()

        api.destroy(storage.id)
        with pytest.raises(exceptions.NotFoundException):
            api.retrieve(storage.id)


def test_cli_task_create_from_a_bucket_with_a_pattern(base_url, new_user, bucket):
    name, paths = bucket
    with make_client(base_url, credentials=new_user) as client:
        storage, _ = client.api_client.cloudstorages_api.create(storage_request(name))
    cli.create_task(base_url, new_user, "cli bucket", "share", "frames/", "--cloud_storage_id", str(storage.id),
                    "--filename_pattern", "*_[02].png")
    with make_client(base_url, credentials=new_user) as client:
        task = next(t for t in client.tasks.list() if t.name == "cli bucket")
        assert [f.name for f in task.get_meta().frames] == [f"frames/{paths[0].name}", f"frames/{paths[2].name}"]
