"""Task data through the pinned cvat-sdk / cvat-cli 2.80.0: uploads in CVAT's
Upload-Start / Upload-Multiple / Upload-Finish protocol, processing by a media worker,
background requests, and frames, chunks, meta and previews read back."""

import io
import os
import subprocess
import zipfile
from pathlib import Path

import cli
import pytest
from cvat_sdk import make_client
from cvat_sdk.api_client import models
from PIL import Image


def make_images(directory: Path, count: int, size=(64, 48)):
    paths = []
    for i in range(count):
        path = directory / f"frame_{i:02d}.png"
        Image.new("RGB", (size[0] + i, size[1]), (i * 40 % 256, 120, 200)).save(path)
        paths.append(path)
    return paths


def test_create_from_images_and_read_back(base_url, new_user, tmp_path):
    paths = make_images(tmp_path, 5)
    with make_client(base_url, credentials=new_user) as client:
        project = client.projects.create(
            models.ProjectWriteRequest(name="with data", labels=[models.PatchedLabelRequest(name="car")])
        )
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name="images", project_id=project.id, segment_size=2),
            resources=[str(p) for p in reversed(paths)],
            data_params={"image_quality": 80, "chunk_size": 2},
            status_check_period=0.2,
        )
        assert task.size == 5 and task.mode == "annotation"
        assert task.data_compressed_chunk_type == "imageset" and task.data_original_chunk_type == "imageset"
        assert (task.data_chunk_size, task.image_quality, task.data) == (2, 80, task.id)
        assert Image.open(io.BytesIO(project.get_preview().read())).format == "JPEG"
        jobs = sorted(task.get_jobs(), key=lambda j: j.id)
        assert [(j.start_frame, j.stop_frame) for j in jobs] == [(0, 1), (2, 3), (4, 4)]

        meta = task.get_meta()
        assert [f.name for f in meta.frames] == [p.name for p in paths], "lexicographical order"
        assert [(f.width, f.height) for f in meta.frames] == [(64 + i, 48) for i in range(5)]
        assert meta.chunk_size == 2 and meta.image_quality == 80 and meta.deleted_frames == []

        originals = task.download_frames(range(5), outdir=str(tmp_path / "out"), quality="original")
        for i, path in enumerate(paths):
            assert (tmp_path / "out" / f"frame_{i:06d}.png").read_bytes() == path.read_bytes()
        compressed = Image.open(task.get_frame(3, quality="compressed"))
        assert compressed.format == "JPEG" and compressed.size == (67, 48)

        buffer = io.BytesIO()
        task.download_chunk(1, buffer, quality="compressed")
        with zipfile.ZipFile(buffer) as chunk:
            assert chunk.namelist() == ["000000.jpeg", "000001.jpeg"]
        assert Image.open(io.BytesIO(task.get_preview().read())).size[0] <= 256

        job = jobs[1]
        assert [f.name for f in job.get_meta().frames] == [paths[2].name, paths[3].name]
        job_frames = job.download_frames([2, 3], outdir=str(tmp_path / "job"), quality="original")
        assert (tmp_path / "job" / "frame_000003.png").read_bytes() == paths[3].read_bytes()

        task.remove_frames_by_ids([4])
        assert task.get_meta().deleted_frames == [4]

        requests_page, _ = client.api_client.requests_api.list()
        assert [r.operation.type for r in requests_page.results] == ["create:task"]
        assert requests_page.results[0].status.value == "finished"


def test_a_broken_image_fails_the_request_and_data_can_be_sent_again(base_url, new_user, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nthis is not really a png")
    with make_client(base_url, credentials=new_user) as client:
        spec = models.TaskWriteRequest(name="broken", labels=[models.PatchedLabelRequest(name="car")])
        with pytest.raises(Exception) as error:
            client.tasks.create_from_data(spec, resources=[str(broken)], status_check_period=0.2)
        assert "broken.png is not a valid image" in str(error.value)
        task = next(t for t in client.tasks.list() if t.name == "broken")
        assert task.size == 0
        good = make_images(tmp_path, 1)
        task.upload_data(resources=[str(good[0])], params={"image_quality": 70})
        task.fetch()
        assert task.size == 1


def test_cli_task_create_local_files(base_url, new_user, tmp_path):
    paths = make_images(tmp_path, 3)
    cli.create_task(base_url, new_user, "cli data", "local", *map(str, paths))
    with make_client(base_url, credentials=new_user) as client:
        task = next(t for t in client.tasks.list() if t.name == "cli data")
        assert task.size == 3


def test_create_from_a_zip_archive(base_url, new_user, tmp_path):
    paths = make_images(tmp_path, 4)
    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in paths:
            zf.write(path, f"set/{path.name}")
        zf.writestr("set/readme.txt", "not an image")
        zf.writestr("__MACOSX/set/._frame_00.png", "junk")
    with make_client(base_url, credentials=new_user) as client:
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name="zipped", labels=[models.PatchedLabelRequest(name="car")]),
            resources=[str(archive)],
            data_params={"image_quality": 75, "start_frame": 1, "frame_step": 2},
            status_check_period=0.2,
        )
        assert task.size == 2
        meta = task.get_meta()
        assert [f.name for f in meta.frames] == ["set/frame_01.png", "set/frame_03.png"]
        assert (meta.start_frame, meta.stop_frame, meta.frame_filter) == (1, 3, "step=2")
        task.download_frames([1], outdir=str(tmp_path / "out"), quality="original")
        assert (tmp_path / "out" / "frame_000001.png").read_bytes() == paths[3].read_bytes()


def test_a_file_over_100_mib_goes_over_tus(base_url, new_user, tmp_path):
    paths = make_images(tmp_path, 2)
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for path in paths:
            zf.write(path, path.name)
        zf.writestr("padding.bin", os.urandom(101 * 1024 * 1024))
    assert archive.stat().st_size > 100 * 1024 * 1024
    with make_client(base_url, credentials=new_user) as client:
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name="big", labels=[models.PatchedLabelRequest(name="car")]),
            resources=[str(archive)],
            status_check_period=0.5,
        )
        assert task.size == 2
        assert [f.name for f in task.get_meta().frames] == [p.name for p in paths]


def test_create_from_the_share(base_url, new_user):
    from cvat_sdk.core.proxies.tasks import ResourceType

    share = Path(os.environ.get("CVAT_SHARE_DIR", ""))
    if not share.is_dir():
        pytest.fail("CVAT_SHARE_DIR is set by tests/run.sh")
    folder = share / f"set-{new_user[0]}"
    folder.mkdir()
    paths = make_images(folder, 3)
    (folder / "notes.txt").write_text("not an image")
    with make_client(base_url, credentials=new_user) as client:
        listing, _ = client.api_client.server_api.list_share(directory=f"/{folder.name}")
        assert {(e.name, str(e.type)) for e in listing} >= {("frame_00.png", "REG"), ("notes.txt", "REG")}
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name="shared", labels=[models.PatchedLabelRequest(name="car")]),
            resources=[f"/{folder.name}/"],
            resource_type=ResourceType.SHARE,
            data_params={"image_quality": 70},
            status_check_period=0.2,
        )
        assert task.size == 3
        assert [f.name for f in task.get_meta().frames] == [f"{folder.name}/{p.name}" for p in paths]
        with pytest.raises(Exception):
            client.api_client.server_api.list_share(directory="/../")


def test_job_file_mapping(base_url, new_user, tmp_path):
    paths = make_images(tmp_path, 5)
    names = [p.name for p in paths]
    mapping = [[names[4], names[0]], [names[2]], [names[1], names[3]]]
    with make_client(base_url, credentials=new_user) as client:
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name="mapped", labels=[models.PatchedLabelRequest(name="car")]),
            resources=[str(p) for p in paths],
            data_params={"image_quality": 70, "job_file_mapping": mapping},
            status_check_period=0.2,
        )
        jobs = sorted(task.get_jobs(), key=lambda j: j.id)
        assert [(j.start_frame, j.stop_frame) for j in jobs] == [(0, 1), (2, 2), (3, 4)]
        assert [f.name for f in task.get_meta().frames] == [n for job in mapping for n in job]
        spec = models.TaskWriteRequest(name="bad mapping", labels=[models.PatchedLabelRequest(name="car")])
        with pytest.raises(Exception):
            client.tasks.create_from_data(
                spec, resources=[str(paths[0])], data_params={"image_quality": 70, "job_file_mapping": [["nope.png"]]}
            )


def test_create_from_a_video(base_url, new_user, tmp_path):
    video = tmp_path / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10", "-t", "3",
         "-pix_fmt", "yuv420p", str(video)],
        check=True, timeout=60,
    )
    with make_client(base_url, credentials=new_user) as client:
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name="video", labels=[models.PatchedLabelRequest(name="car")], segment_size=10),
            resources=[str(video)],
            data_params={"image_quality": 70, "start_frame": 2, "frame_step": 2},
            status_check_period=0.2,
        )
        assert task.mode == "interpolation" and task.size == 14
        jobs = sorted(task.get_jobs(), key=lambda j: j.id)
        assert [(j.start_frame, j.stop_frame) for j in jobs] == [(0, 9), (5, 13)], "overlap 5 for video"
        meta = task.get_meta()
        # Every frame, each named after the video.
        assert [(f.name, f.width, f.height) for f in meta.frames] == [("clip.mp4", 320, 240)] * 14
        frame = Image.open(task.get_frame(13, quality="compressed"))
        assert frame.size == (320, 240)
        # CVAT's chunk types: H.264 MP4 chunks of both qualities (the default chunk size
        # of a video is 36 frames: all 14 in chunk 0).
        assert (task.data_compressed_chunk_type, task.data_original_chunk_type) == ("video", "video")
        for quality in ("compressed", "original"):
            chunk = tmp_path / f"chunk-{quality}.mp4"
            with open(chunk, "wb") as out:
                task.download_chunk(0, out, quality=quality)
            probe = subprocess.run(
                ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                 "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0", str(chunk)],
                check=True, capture_output=True, text=True, timeout=60,
            )
            assert probe.stdout.strip() == "h264,320,240,14", (quality, probe.stdout)


def test_create_from_a_tar_gz_archive(base_url, new_user, tmp_path):
    import tarfile

    paths = make_images(tmp_path, 3)
    archive = tmp_path / "images.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for path in paths:
            tf.add(path, f"set/{path.name}")
    with make_client(base_url, credentials=new_user) as client:
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name="tarred", labels=[models.PatchedLabelRequest(name="car")]),
            resources=[str(archive)],
            data_params={"image_quality": 70, "sorting_method": "natural"},
            status_check_period=0.2,
        )
        assert task.size == 3
        assert [f.name for f in task.get_meta().frames] == [f"set/{p.name}" for p in paths]
        task.download_frames([2], outdir=str(tmp_path / "out"), quality="original")
        assert (tmp_path / "out" / "frame_000002.png").read_bytes() == paths[2].read_bytes()


@pytest.fixture
def remote_server(tmp_path):
    """Serves tmp_path over HTTP on 127.0.0.2, the one internal address tests/run.sh allows."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.2:{server.server_address[1]}", server.server_address[1]
    server.shutdown()


def test_create_from_remote_files(base_url, new_user, tmp_path, remote_server):
    from cvat_sdk.core.proxies.tasks import ResourceType

    address, port = remote_server
    paths = make_images(tmp_path, 2)
    with make_client(base_url, credentials=new_user) as client:
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name="remote", labels=[models.PatchedLabelRequest(name="car")]),
            resources=[f"{address}/{p.name}" for p in paths],
            resource_type=ResourceType.REMOTE,
            data_params={"image_quality": 70},
            status_check_period=0.2,
        )
        assert task.size == 2
        assert [f.name for f in task.get_meta().frames] == [p.name for p in paths]
        task.download_frames([0], outdir=str(tmp_path / "out"), quality="original")
        assert (tmp_path / "out" / "frame_000000.png").read_bytes() == paths[0].read_bytes()

        # The same server through the loopback address the server itself lives on: refused.
        with pytest.raises(Exception, match="internal address"):
            client.tasks.create_from_data(
                models.TaskWriteRequest(name="internal", labels=[models.PatchedLabelRequest(name="car")]),
                resources=[f"http://127.0.0.1:{port}/{paths[0].name}"],
                resource_type=ResourceType.REMOTE,
                status_check_period=0.2,
            )


def test_cli_task_create_remote(base_url, new_user, tmp_path, remote_server):
    address, _ = remote_server
    paths = make_images(tmp_path, 2)
    cli.create_task(base_url, new_user, "cli remote", "remote", *[f"{address}/{p.name}" for p in paths])
    with make_client(base_url, credentials=new_user) as client:
        task = next(t for t in client.tasks.list() if t.name == "cli remote")
        assert task.size == 2


def test_context_images_in_an_archive(base_url, new_user, tmp_path):
    paths = make_images(tmp_path, 2)
    archive = tmp_path / "scene.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in paths:
            zf.write(path, f"scene/{path.name}")
        zf.write(paths[1], f"scene/related_images/{paths[0].stem}_png/side.png")
    with make_client(base_url, credentials=new_user) as client:
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name="context", labels=[models.PatchedLabelRequest(name="car")]),
            resources=[str(archive)],
            status_check_period=0.2,
        )
        assert task.size == 2
        meta = task.get_meta()
        assert [f.related_files for f in meta.frames] == [1, 0]
        _, response = client.api_client.tasks_api.retrieve_data(
            task.id, type="context_image", number=0, _parse_response=False
        )
        with zipfile.ZipFile(io.BytesIO(response.data)) as context:
            assert context.namelist() == ["side.png.jpg"]
            assert Image.open(io.BytesIO(context.read("side.png.jpg"))).size == Image.open(paths[1]).size


def test_create_from_a_pdf(base_url, new_user, tmp_path):
    pages = [Image.new("RGB", (200, 100 + 10 * i), (i * 60, 90, 30)) for i in range(4)]
    pdf = tmp_path / "report.pdf"
    pages[0].save(pdf, save_all=True, append_images=pages[1:], resolution=150)
    with make_client(base_url, credentials=new_user) as client:
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name="pdf", labels=[models.PatchedLabelRequest(name="car")]),
            resources=[str(pdf)],
            data_params={"image_quality": 70, "start_frame": 1, "frame_step": 2},
            status_check_period=0.2,
        )
        assert task.size == 2 and task.mode == "annotation"
        meta = task.get_meta()
        assert [f.name for f in meta.frames] == ["report000000001.jpeg", "report000000003.jpeg"]
        assert [(f.width, f.height) for f in meta.frames] == [(200, 110), (200, 130)]
        assert Image.open(task.get_frame(1, quality="compressed")).size == (200, 130)


def test_a_video_from_the_share(base_url, new_user):
    from cvat_sdk.core.proxies.tasks import ResourceType

    share = Path(os.environ.get("CVAT_SHARE_DIR", ""))
    video = share / f"clip-{new_user[0]}.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "2",
         "-pix_fmt", "yuv420p", str(video)],
        check=True, timeout=60,
    )
    with make_client(base_url, credentials=new_user) as client:
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name="shared video", labels=[models.PatchedLabelRequest(name="car")]),
            resources=[f"/{video.name}"],
            resource_type=ResourceType.SHARE,
            data_params={"image_quality": 70},
            status_check_period=0.2,
        )
        assert task.mode == "interpolation" and task.size == 20
        assert [f.name for f in task.get_meta().frames] == [video.name] * 20
    assert video.exists(), "a share file is read in place, never removed"


@pytest.mark.parametrize("kind", ["images", "video"])
def test_sdk_datasets_read_tasks_chunk_by_chunk(base_url, new_user, tmp_path, kind):
    """`cvat_sdk.datasets.TaskDataset` reads an image task's original chunks (imageset
    zips) and opens every member with Pillow. A video task's chunks are MP4, as CVAT's:
    the SDK refuses chunk-based access to them, as it does against CVAT, and reads their
    frames one by one."""
    from cvat_sdk import Client, Config
    from cvat_sdk.datasets import MediaDownloadPolicy, TaskDataset, UnsupportedDatasetError

    if kind == "images":
        resources = [str(p) for p in make_images(tmp_path, 5)]
    else:
        video = tmp_path / "clip.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=96x64:rate=10", "-t", "0.5",
             "-pix_fmt", "yuv420p", str(video)],
            check=True, timeout=60,
        )
        resources = [str(video)]
    client = Client(base_url, config=Config(cache_dir=tmp_path / "cache"))
    with client:
        client.login(new_user)
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name=f"dataset {kind}", labels=[models.PatchedLabelRequest(name="car")]),
            resources=resources,
            data_params={"image_quality": 80, "chunk_size": 2},
            status_check_period=0.2,
        )
        if kind == "video":
            with pytest.raises(UnsupportedDatasetError):
                TaskDataset(client, task.id, load_annotations=False)
            dataset = TaskDataset(
                client, task.id, load_annotations=False,
                media_download_policy=MediaDownloadPolicy.FETCH_FRAMES_ON_DEMAND,
            )
        else:
            dataset = TaskDataset(client, task.id, load_annotations=False)
        assert len(dataset.samples) == task.size == 5
        for index, sample in enumerate(dataset.samples):
            image = sample.media.load_image()
            if kind == "images":
                assert image.tobytes() == Image.open(resources[index]).convert("RGB").tobytes()
            else:
                assert image.size == (96, 64) and sample.frame_name == "clip.mp4"
