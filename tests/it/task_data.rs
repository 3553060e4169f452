//! Task data end to end with bad input: hostile names, files that are not images, media
//! kinds not supported yet, a second upload, other users, and a failed processing that
//! leaves the task ready for another attempt.

use crate::common::*;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    image_file(width, height, 7, image::ImageFormat::Png)
}

/// A gradient image of `width`×`height` whose blue channel is `shade`, encoded as `format`.
pub(crate) fn image_file(width: u32, height: u32, shade: u8, format: image::ImageFormat) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, shade]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image).write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// The members of a zip archive (a chunk), in order.
pub(crate) fn zip_members(zip_bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut archive.by_index(i).unwrap(), &mut content).unwrap();
            content
        })
        .collect()
}

pub(crate) async fn new_task(caller: &Caller) -> i64 {
    let task = expect(
        caller.post("/api/tasks", None, json!({"name": "data", "labels": [{"name": "a"}]})).await,
        StatusCode::CREATED,
    )
    .await;
    task["id"].as_i64().unwrap()
}

/// One plain multipart data request with the given files, at image quality 70.
pub(crate) async fn send(caller: &Caller, task: i64, files: Vec<(&str, Vec<u8>)>) -> reqwest::Response {
    send_with(caller, task, &[("image_quality", "70")], files).await
}

/// One plain multipart data request with the given parameters and files.
pub(crate) async fn send_with(
    caller: &Caller,
    task: i64,
    params: &[(&'static str, &'static str)],
    files: Vec<(&str, Vec<u8>)>,
) -> reqwest::Response {
    let mut form = Form::new();
    for (name, value) in params {
        form = form.text(*name, *value);
    }
    for (i, (name, bytes)) in files.into_iter().enumerate() {
        form = form.part(format!("client_files[{i}]"), Part::bytes(bytes).file_name(name.to_string()));
    }
    http()
        .post(url(&format!("/api/tasks/{task}/data/")))
        .header("Authorization", &caller.0)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// CVAT's `Upload-Finish`: processing of what was uploaded, at image quality 70.
pub(crate) async fn finish_upload(caller: &Caller, task: i64) -> reqwest::Response {
    http()
        .post(url(&format!("/api/tasks/{task}/data/")))
        .header("Authorization", &caller.0)
        .header("Upload-Finish", "")
        .json(&json!({"image_quality": 70}))
        .send()
        .await
        .unwrap()
}

/// Waits (up to a minute: the machine may be busy, a failed attempt is retried after
/// seconds) until the task's data request has ended.
pub(crate) async fn request_of(caller: &Caller, task: i64) -> Value {
    let id = format!("action%3Dcreate%26target%3Dtask%26target_id%3D{task}");
    for _ in 0..600 {
        let request = expect(caller.get(&format!("/api/requests/{id}"), None).await, StatusCode::OK).await;
        if request["status"] == "finished" || request["status"] == "failed" {
            return request;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the request of task {task} never ended");
}

#[tokio::test]
async fn uploads_refuse_bad_input_and_keep_the_task_usable() {
    let (user, _) = Caller::new().await;
    let (other, _) = Caller::new().await;
    let task = new_task(&user).await;

    for name in [".hidden.png", "a\u{7}.png", "..", "dir/"] {
        let response = send(&user, task, vec![(name, png(4, 4))]).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
    }
    let response = send(&user, task, vec![("notes.txt", b"hello".to_vec())]).await;
    assert_eq!(expect(response, StatusCode::BAD_REQUEST).await, json!(["No media data found"]));
    let response = send(&user, task, vec![("data.7z", b"....".to_vec())]).await;
    assert!(expect(response, StatusCode::BAD_REQUEST).await[0].as_str().unwrap().contains("not supported"));
    expect(send(&other, task, vec![("a.png", png(4, 4))]).await, StatusCode::FORBIDDEN).await;
    let tus = http()
        .post(url(&format!("/api/tasks/{task}/data/")))
        .header("Authorization", &user.0)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(tus.status(), StatusCode::BAD_REQUEST);

    // A file that is not an image fails the request with its name; the task takes data again.
    let mut truncated = png(40, 40);
    truncated.truncate(80);
    let started = expect(send(&user, task, vec![("cut.png", truncated)]).await, StatusCode::ACCEPTED).await;
    assert!(started["rq_id"].as_str().unwrap().contains(&task.to_string()));
    let failed = request_of(&user, task).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["message"].as_str().unwrap().contains("cut.png is not a valid image"), "{failed}");
    let id = failed["id"].as_str().unwrap().replace('=', "%3D").replace('&', "%26");
    expect(other.get(&format!("/api/requests/{id}"), None).await, StatusCode::FORBIDDEN).await;
    expect(user.get(&format!("/api/tasks/{task}/data/meta"), None).await, StatusCode::NOT_FOUND).await;

    // Paths are reduced to base names: nothing lands outside the task's own keys.
    expect(send(&user, task, vec![("../../b.png", png(8, 6)), ("a.png", png(6, 8))]).await, StatusCode::ACCEPTED).await;
    assert_eq!(request_of(&user, task).await["status"], "finished");
    let meta = expect(user.get(&format!("/api/tasks/{task}/data/meta"), None).await, StatusCode::OK).await;
    assert_eq!(meta["frames"][0]["name"], "a.png");
    assert_eq!((meta["frames"][0]["width"].as_i64(), meta["size"].as_i64()), (Some(6), Some(2)));
    assert_eq!(meta["frames"][1]["name"], "b.png");
    let again = send(&user, task, vec![("c.png", png(4, 4))]).await;
    assert_eq!(expect(again, StatusCode::BAD_REQUEST).await, json!("Adding more data is not supported"));

    // Deleted frames: set through the task's meta, out-of-range numbers refused.
    let meta_path = format!("/api/tasks/{task}/data/meta");
    let changed = expect(user.patch(&meta_path, json!({"deleted_frames": [1, 1]})).await, StatusCode::OK).await;
    assert_eq!(changed["deleted_frames"], json!([1]));
    expect(user.patch(&meta_path, json!({"deleted_frames": [7]})).await, StatusCode::BAD_REQUEST).await;
    expect(other.patch(&meta_path, json!({"deleted_frames": []})).await, StatusCode::FORBIDDEN).await;
    let cancel = user.post(&format!("/api/requests/{id}/cancel"), None, json!({})).await;
    assert_eq!(
        expect(cancel, StatusCode::BAD_REQUEST).await,
        json!("Only requests that have not yet been started can be cancelled")
    );

    // Reading: permission, parameters, caching.
    let frame = format!("/api/tasks/{task}/data?type=frame&number=1&quality=original");
    expect(other.get(&frame, None).await, StatusCode::FORBIDDEN).await;
    let response = user.get(&frame, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(response.bytes().await.unwrap().as_ref(), png(8, 6).as_slice());
    let cached = http().get(url(&frame)).header("Authorization", &user.0).header("If-None-Match", &etag).send().await;
    assert_eq!(cached.unwrap().status(), StatusCode::NOT_MODIFIED);
    for bad in ["type=frame&number=2", "type=frame", "type=movie&number=0", "type=chunk&number=0&quality=best"] {
        let response = user.get(&format!("/api/tasks/{task}/data?{bad}"), None).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

pub(crate) fn zip_of(members: &[(&str, Vec<u8>)], method: zip::CompressionMethod) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in members {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[tokio::test]
async fn hostile_archives_fail_their_request() {
    let (user, _) = Caller::new().await;
    let escaping = zip_of(&[("../../etc/evil.png", png(4, 4))], zip::CompressionMethod::Stored);
    let bomb = zip_of(&[("zeros.png", vec![0u8; 64 << 20])], zip::CompressionMethod::Deflated);
    let broken = b"PK\x03\x04 truncated".to_vec();
    for (name, bytes, reason) in
        [("escape.zip", escaping, "outside"), ("bomb.zip", bomb, "zip bomb"), ("broken.zip", broken, "broken.zip")]
    {
        let task = new_task(&user).await;
        expect(send(&user, task, vec![(name, bytes)]).await, StatusCode::ACCEPTED).await;
        let request = request_of(&user, task).await;
        assert_eq!(request["status"], "failed", "{name}");
        assert!(request["message"].as_str().unwrap().contains(reason), "{name}: {request}");
    }
    let task = new_task(&user).await;
    let two = send(&user, task, vec![("a.zip", vec![1]), ("b.zip", vec![2])]).await;
    assert!(expect(two, StatusCode::BAD_REQUEST).await[0].as_str().unwrap().contains("simultaneously"));
}

#[tokio::test]
async fn resumable_uploads_follow_tus() {
    use base64::Engine as _;
    let (user, _) = Caller::new().await;
    let task = new_task(&user).await;
    let file = png(32, 24);
    let collection = url(&format!("/api/tasks/{task}/data/"));
    let name = base64::engine::general_purpose::STANDARD.encode("/home/me/pictures/tus.png");
    let created = http()
        .post(&collection)
        .header("Authorization", &user.0)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", file.len().to_string())
        .header("Upload-Metadata", format!("filename {name}"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("http://"), "absolute Location: {location}");
    assert_eq!(created.headers()["upload-filename"], "tus.png");

    let patch = |offset: usize, body: Vec<u8>| {
        http()
            .patch(&location)
            .header("Authorization", &user.0)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(body)
            .send()
    };
    let half = file.len() / 2;
    let first = patch(0, file[..half].to_vec()).await.unwrap();
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    assert_eq!(first.headers()["upload-offset"], half.to_string().as_str());
    let wrong = patch(0, file[..half].to_vec()).await.unwrap();
    assert_eq!(wrong.status(), StatusCode::CONFLICT);
    assert_eq!(wrong.headers()["upload-offset"], half.to_string().as_str());
    let head = http().head(&location).header("Authorization", &user.0).send().await.unwrap();
    assert_eq!(head.headers()["upload-offset"], half.to_string().as_str());
    let too_long = patch(half, vec![0; file.len()]).await.unwrap();
    assert_eq!(too_long.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (other, _) = Caller::new().await;
    let foreign = http().head(&location).header("Authorization", &other.0).send().await.unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let last = patch(half, file[half..].to_vec()).await.unwrap();
    assert_eq!(last.headers()["upload-offset"], file.len().to_string().as_str());

    expect(finish_upload(&user, task).await, StatusCode::ACCEPTED).await;
    assert_eq!(request_of(&user, task).await["status"], "finished");
    let frame = user.get(&format!("/api/tasks/{task}/data?type=frame&number=0&quality=original"), None).await;
    assert_eq!(frame.bytes().await.unwrap().as_ref(), file.as_slice());
}

#[tokio::test]
async fn deleting_a_task_removes_its_blobs() {
    use cvat_blob::BlobStore;
    let (user, _) = Caller::new().await;
    let store = stack_store();
    let task = new_task(&user).await;
    expect(send(&user, task, vec![("a.png", png(8, 8))]).await, StatusCode::ACCEPTED).await;
    assert_eq!(request_of(&user, task).await["status"], "finished");
    let chunk = cvat_blob::keys::chunk(task, "original", 0);
    assert!(store.exists(&chunk).await.unwrap());
    expect(user.delete(&format!("/api/tasks/{task}")).await, StatusCode::NO_CONTENT).await;
    // Blobs go in no promised order: wait until none is left.
    let preview = cvat_blob::keys::preview(task);
    for _ in 0..600 {
        if !store.exists(&chunk).await.unwrap() && !store.exists(&preview).await.unwrap() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the blobs of task {task} are still there");
}

#[tokio::test]
async fn share_paths_stay_inside_the_share() {
    let (user, _) = Caller::new().await;
    let task = new_task(&user).await;
    let path = format!("/api/tasks/{task}/data/");
    let post = |body: Value| user.post(&path, None, body);
    let escaping = post(json!({"image_quality": 70, "server_files": ["../../etc/passwd"]})).await;
    assert!(expect(escaping, StatusCode::BAD_REQUEST).await.get("server_files").is_some());
    for directory in ["/../", "/../../etc"] {
        let listing = user.get(&format!("/api/server/share?directory={directory}"), None).await;
        assert!(listing.status().is_client_error(), "{directory}");
    }
    expect(post(json!({"image_quality": 70, "server_files": ["no-such-dir/"]})).await, StatusCode::ACCEPTED).await;
    let failed = request_of(&user, task).await;
    assert!(failed["message"].as_str().unwrap().contains("does not exist in the share"), "{failed}");
}

#[tokio::test]
async fn an_oversized_file_is_refused_and_not_stored() {
    use cvat_blob::BlobStore;
    let limit: usize =
        std::env::var("CVAT_MAX_UPLOAD_FILE_BYTES").ok().and_then(|v| v.parse().ok()).unwrap_or(100 << 20);
    let (user, _) = Caller::new().await;
    let task = new_task(&user).await;
    let response = send(&user, task, vec![("huge.png", vec![7u8; limit + 1024])]).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let store = stack_store();
    assert!(!store.exists(&cvat_blob::keys::upload(task, "huge.png")).await.unwrap(), "nothing half-stored");
    let finish = user.post(&format!("/api/tasks/{task}/data/"), None, json!({"image_quality": 70})).await;
    assert_eq!(expect(finish, StatusCode::BAD_REQUEST).await, json!(["No media data found"]));
}

/// Jobs that start inside a task chunk (an overlap) get chunks of their own, built by the
/// media worker from the task's chunks: the right frames, in order, byte for byte.
#[tokio::test]
async fn job_chunks_that_span_task_chunks_hold_the_jobs_frames() {
    let (user, _) = Caller::new().await;
    let body = json!({"name": "overlap", "labels": [{"name": "a"}], "segment_size": 4, "overlap": 1});
    let task = expect(user.post("/api/tasks", None, body).await, StatusCode::CREATED).await["id"].as_i64().unwrap();
    let images: Vec<Vec<u8>> = (0..10).map(|i| png(5 + i, 3)).collect();
    let names: Vec<String> = (0..10).map(|i| format!("f{i:02}.png")).collect();
    let files = names.iter().map(String::as_str).zip(images.iter().cloned()).collect();
    let sent = send_with(&user, task, &[("image_quality", "70"), ("chunk_size", "4")], files).await;
    expect(sent, StatusCode::ACCEPTED).await;
    assert_eq!(request_of(&user, task).await["status"], "finished");
    let jobs = results(&user, &format!("/api/jobs?task_id={task}&sort=id"), None).await;
    let ranges: Vec<(i64, i64)> =
        jobs.iter().map(|j| (j["start_frame"].as_i64().unwrap(), j["stop_frame"].as_i64().unwrap())).collect();
    assert_eq!(ranges, [(0, 3), (3, 6), (6, 9)]);
    for (job, first_frames) in
        [(&jobs[1], vec![3, 4, 5, 6]), (&jobs[2], vec![6, 7, 8, 9]), (&jobs[0], vec![0, 1, 2, 3])]
    {
        let path = format!("/api/jobs/{}/data?type=chunk&index=0&quality=original", job["id"]);
        let response = user.get(&path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let members = zip_members(&response.bytes().await.unwrap());
        assert_eq!(members.len(), first_frames.len());
        for (member, frame) in first_frames.iter().enumerate() {
            assert_eq!(members[member], images[*frame], "job {} member {member}", job["id"]);
        }
    }
}

#[tokio::test]
async fn an_image_declaring_too_many_pixels_fails_its_request_by_name() {
    let (caller, _) = Caller::new().await;
    let task = new_task(&caller).await;
    // A real 16×16 JPEG whose frame header claims 60000×60000 (3.6 Gpx, 10.8 GB of RGB).
    let mut jpeg = std::io::Cursor::new(Vec::new());
    let image = image::RgbImage::from_fn(16, 16, |x, y| image::Rgb([x as u8 * 9, y as u8 * 9, 7]));
    image::DynamicImage::ImageRgb8(image).write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
    let mut bytes = jpeg.into_inner();
    let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).expect("a baseline JPEG");
    bytes[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    expect(send(&caller, task, vec![("bomb.jpg", bytes)]).await, StatusCode::ACCEPTED).await;
    let request = request_of(&caller, task).await;
    assert_eq!(request["status"], "failed", "{request}");
    let message = request["message"].as_str().unwrap();
    assert!(message.contains("bomb.jpg") && message.contains("pixels"), "{message}");
}

#[tokio::test]
async fn racing_one_request_uploads_never_mix_files() {
    let (caller, _) = Caller::new().await;
    let task = new_task(&caller).await;
    let sends = (0..5).map(|i| {
        let caller = &caller;
        async move {
            let name = format!("racer{i}.png");
            let response = send(caller, task, vec![(name.as_str(), png(8 + i, 8))]).await;
            (name, response.status())
        }
    });
    let outcomes = futures_util::future::join_all(sends).await;
    let winners: Vec<&String> = outcomes.iter().filter(|(_, s)| *s == StatusCode::ACCEPTED).map(|(n, _)| n).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|(_, s)| s.is_success() || s.is_client_error()), "{outcomes:?}");
    assert_eq!(request_of(&caller, task).await["status"], "finished");
    let meta = expect(caller.get(&format!("/api/tasks/{task}/data/meta"), None).await, StatusCode::OK).await;
    let frames: Vec<&str> = meta["frames"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(frames, [winners[0].as_str()], "only the accepted request's file is used");
}

#[tokio::test]
async fn racing_tus_pieces_keep_the_accepted_bytes() {
    use base64::Engine as _;
    let (user, _) = Caller::new().await;
    let task = new_task(&user).await;
    // Two different images of exactly the same length (BMP: no compression).
    let bmp = |shade: u8| {
        let image = image::RgbImage::from_fn(16, 12, |x, y| image::Rgb([shade, x as u8 * 9, y as u8 * 9]));
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(image).write_to(&mut out, image::ImageFormat::Bmp).unwrap();
        out.into_inner()
    };
    let (first, second) = (bmp(10), bmp(200));
    assert_eq!(first.len(), second.len());
    let name = base64::engine::general_purpose::STANDARD.encode("race.bmp");
    let created = http()
        .post(url(&format!("/api/tasks/{task}/data/")))
        .header("Authorization", &user.0)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", first.len().to_string())
        .header("Upload-Metadata", format!("filename {name}"))
        .send()
        .await
        .unwrap();
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let patch = |body: Vec<u8>| {
        http()
            .patch(&location)
            .header("Authorization", &user.0)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", "0")
            .header("Content-Type", "application/offset+octet-stream")
            .body(body)
            .send()
    };
    let (a, b) = futures_util::future::join(patch(first.clone()), patch(second.clone())).await;
    let (a, b) = (a.unwrap().status(), b.unwrap().status());
    let accepted = match (a, b) {
        (StatusCode::NO_CONTENT, StatusCode::CONFLICT) => &first,
        (StatusCode::CONFLICT, StatusCode::NO_CONTENT) => &second,
        other => panic!("one piece is accepted, the other refused: {other:?}"),
    };
    expect(finish_upload(&user, task).await, StatusCode::ACCEPTED).await;
    assert_eq!(request_of(&user, task).await["status"], "finished");
    let frame = user.get(&format!("/api/tasks/{task}/data?type=frame&number=0&quality=original"), None).await;
    assert_eq!(frame.bytes().await.unwrap().as_ref(), accepted.as_slice(), "the accepted piece's bytes");
}

/// The gateway keeps frames it has read; the cache never answers a caller the task
/// service has not allowed, nor a frame of a task that is gone.
#[tokio::test]
async fn cached_frames_are_served_only_to_who_may_see_them() {
    let (owner, _) = Caller::new().await;
    let (stranger, _) = Caller::new().await;
    let task = new_task(&owner).await;
    expect(send(&owner, task, vec![("a.png", png(8, 8)), ("b.png", png(9, 9))]).await, StatusCode::ACCEPTED).await;
    assert_eq!(request_of(&owner, task).await["status"], "finished");
    for path in [
        format!("/api/tasks/{task}/data?type=frame&number=1&quality=compressed"),
        format!("/api/tasks/{task}/data?type=frame&number=1&quality=original"),
        format!("/api/tasks/{task}/preview"),
    ] {
        let first = owner.get(&path, None).await;
        assert_eq!(first.status(), StatusCode::OK, "{path}");
        let first = first.bytes().await.unwrap();
        let again = owner.get(&path, None).await;
        assert_eq!(again.bytes().await.unwrap(), first, "{path}");
        assert_eq!(stranger.get(&path, None).await.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let original = owner.get(&format!("/api/tasks/{task}/data?type=frame&number=1&quality=original"), None).await;
    assert_eq!(original.bytes().await.unwrap().as_ref(), png(9, 9).as_slice());
    expect(owner.delete(&format!("/api/tasks/{task}")).await, StatusCode::NO_CONTENT).await;
    let gone = owner.get(&format!("/api/tasks/{task}/data?type=frame&number=1&quality=compressed"), None).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

/// A chunk read once is kept by the gateway: read again, it comes from memory (here: after
/// its blob is gone from the store behind the gateway's back), still only for callers the
/// task service allows, and never once the task is deleted.
#[tokio::test]
async fn a_chunk_read_again_comes_from_the_gateways_memory_for_who_may_see_it() {
    use cvat_blob::BlobStore;
    let (owner, _) = Caller::new().await;
    let (stranger, _) = Caller::new().await;
    let task = new_task(&owner).await;
    expect(send(&owner, task, vec![("a.png", png(8, 8)), ("b.png", png(9, 9))]).await, StatusCode::ACCEPTED).await;
    assert_eq!(request_of(&owner, task).await["status"], "finished");
    let path = format!("/api/tasks/{task}/data?type=chunk&number=0&quality=original");
    let first = owner.get(&path, None).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first = first.bytes().await.unwrap();
    let store = stack_store();
    let key = cvat_blob::keys::chunk(task, "original", 0);
    assert_eq!(store.get(&key).await.unwrap(), first, "the chunk's blob");
    store.delete(&key).await.unwrap();
    let again = owner.get(&path, None).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.bytes().await.unwrap(), first);
    assert_eq!(stranger.get(&path, None).await.status(), StatusCode::FORBIDDEN);
    expect(owner.delete(&format!("/api/tasks/{task}")).await, StatusCode::NO_CONTENT).await;
    assert_eq!(owner.get(&path, None).await.status(), StatusCode::NOT_FOUND);
}
