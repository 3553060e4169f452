//! Task data from `remote_files`, served by a small HTTP server of the test's own on
//! 127.0.0.2, the one network `tests/run.sh` allows (`CVAT_REMOTE_ALLOWED_NETWORKS`):
//! downloads work there, while loopback at 127.0.0.1, a redirect to it, an error status,
//! an unreachable port, a body over `CVAT_REMOTE_MAX_BYTES` and a server that stalls
//! past `CVAT_REMOTE_TIMEOUT_SECONDS` each fail the request with a clear message.

use crate::common::*;
use crate::task_data::{new_task, png, request_of};
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Answers GETs: `/img/{name}.png` a small PNG, `/big.png` more than the limit,
/// `/to-loopback.png` a redirect to 127.0.0.1, `/stall.png` nothing, anything else 404.
async fn file_server() -> (String, u16) {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.expect("127.0.0.2 is loopback on Linux");
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut head = vec![0u8; 4096];
                let n = socket.read(&mut head).await.unwrap_or(0);
                let text = String::from_utf8_lossy(&head[..n]).to_string();
                let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (status, extra, body) = match path.as_str() {
                    p if p.starts_with("/img/") => ("200 OK", String::new(), png(12, 10)),
                    "/big.png" => ("200 OK", String::new(), vec![1u8; 3 << 20]),
                    "/to-loopback.png" => {
                        ("302 Found", format!("Location: http://127.0.0.1:{port}/img/x.png\r\n"), Vec::new())
                    }
                    "/stall.png" => {
                        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                        return;
                    }
                    _ => ("404 Not Found", String::new(), Vec::new()),
                };
                let header =
                    format!("HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = socket.write_all(header.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    (format!("http://127.0.0.2:{port}"), port)
}

#[tokio::test]
async fn remote_files_are_downloaded_from_allowed_addresses_only() {
    let (user, _) = Caller::new().await;
    let (server, port) = file_server().await;
    let task = new_task(&user).await;
    let path = format!("/api/tasks/{task}/data/");
    let urls = [format!("{server}/img/b%20two.png"), format!("{server}/img/a.png?x=1")];
    let started = user.post(&path, None, json!({"image_quality": 70, "remote_files": urls})).await;
    expect(started, StatusCode::ACCEPTED).await;
    assert_eq!(request_of(&user, task).await["status"], "finished");
    let meta = expect(user.get(&format!("/api/tasks/{task}/data/meta"), None).await, StatusCode::OK).await;
    let names: Vec<&str> = meta["frames"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a.png", "b two.png"]);
    let frame = user.get(&format!("/api/tasks/{task}/data?type=frame&number=0&quality=original"), None).await;
    assert_eq!(frame.bytes().await.unwrap().as_ref(), png(12, 10).as_slice());

    let refusals = [
        (format!("http://127.0.0.1:{port}/img/a.png"), "private, loopback"),
        (format!("http://localhost:{port}/img/a.png"), "private, loopback"),
        (format!("{server}/to-loopback.png"), "private, loopback"),
        (format!("{server}/missing.png"), "HTTP 404"),
        (format!("{server}/big.png"), "larger than the limit"),
        (format!("{server}/stall.png"), "timed out"),
        ("http://127.0.0.2:9/closed.png".to_string(), "cannot be downloaded"),
    ];
    for (url, reason) in refusals {
        let task = new_task(&user).await;
        let path = format!("/api/tasks/{task}/data/");
        expect(user.post(&path, None, json!({"image_quality": 70, "remote_files": [url]})).await, StatusCode::ACCEPTED)
            .await;
        let request = request_of(&user, task).await;
        assert_eq!(request["status"], "failed", "{url}");
        assert!(request["message"].as_str().unwrap().contains(reason), "{url}: {request}");
    }

    let task = new_task(&user).await;
    let path = format!("/api/tasks/{task}/data/");
    for bad in [json!(["file:///etc/passwd"]), json!(["http://host/"]), json!("http://x/a.png"), json!([1])] {
        let response = user.post(&path, None, json!({"image_quality": 70, "remote_files": bad})).await;
        assert!(expect(response, StatusCode::BAD_REQUEST).await.get("remote_files").is_some(), "{bad}");
    }
    let twice = json!([format!("{server}/img/a.png"), format!("{server}/other/a.png")]);
    let response = user.post(&path, None, json!({"image_quality": 70, "remote_files": twice})).await;
    expect(response, StatusCode::BAD_REQUEST).await;
    let mixed = json!({"image_quality": 70, "remote_files": urls, "server_files": ["a.png"]});
    expect(user.post(&path, None, mixed).await, StatusCode::BAD_REQUEST).await;
}

fn tar_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_path(name).unwrap();
        header.set_cksum();
        builder.append(&header, bytes.as_slice()).unwrap();
    }
    builder.into_inner().unwrap()
}

#[tokio::test]
async fn tar_archives_become_frames() {
    use std::io::Write;
    let (user, _) = Caller::new().await;
    let plain = tar_of(&[("d/2.png", png(5, 4)), ("d/1.png", png(4, 5)), ("readme.txt", b"x".to_vec())]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    let gzipped = gz.finish().unwrap();
    for (name, bytes) in [("data.tar", plain), ("data.tar.gz", gzipped.clone()), ("data.tgz", gzipped)] {
        let task = new_task(&user).await;
        expect(crate::task_data::send(&user, task, vec![(name, bytes)]).await, StatusCode::ACCEPTED).await;
        assert_eq!(request_of(&user, task).await["status"], "finished", "{name}");
        let meta = expect(user.get(&format!("/api/tasks/{task}/data/meta"), None).await, StatusCode::OK).await;
        assert_eq!(meta["frames"][0]["name"], "d/1.png", "{name}");
        assert_eq!(meta["size"], 2, "{name}");
        let frame = user.get(&format!("/api/tasks/{task}/data?type=frame&number=1&quality=original"), None).await;
        assert_eq!(frame.bytes().await.unwrap().as_ref(), png(5, 4).as_slice());
    }
    let task = new_task(&user).await;
    let not_gzip = crate::task_data::send(&user, task, vec![("fake.tgz", b"not gzip at all".to_vec())]).await;
    expect(not_gzip, StatusCode::ACCEPTED).await;
    let request = request_of(&user, task).await;
    assert!(request["message"].as_str().unwrap().contains("fake.tgz"), "{request}");
}

#[tokio::test]
async fn context_images_are_kept_beside_their_frames() {
    let (user, _) = Caller::new().await;
    let (other, _) = Caller::new().await;
    let members = [
        ("scene/0001.png", png(8, 8)),
        ("scene/0002.png", png(9, 9)),
        ("scene/related_images/0001_png/left.png", png(3, 2)),
        ("scene/related_images/0001_png/right.png", png(2, 3)),
    ];
    let archive = crate::task_data::zip_of(&members, zip::CompressionMethod::Deflated);
    let task = new_task(&user).await;
    expect(crate::task_data::send(&user, task, vec![("scene.zip", archive)]).await, StatusCode::ACCEPTED).await;
    assert_eq!(request_of(&user, task).await["status"], "finished");
    let meta = expect(user.get(&format!("/api/tasks/{task}/data/meta"), None).await, StatusCode::OK).await;
    assert_eq!(meta["size"], 2, "context images are not frames");
    assert_eq!(meta["frames"][0]["related_files"], 2);
    assert_eq!(meta["frames"][1]["related_files"], 0);

    let path = |n: i64| format!("/api/tasks/{task}/data?type=context_image&number={n}");
    let response = user.get(&path(0), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let bytes = response.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let names: Vec<String> = zip.file_names().map(str::to_string).collect();
    assert_eq!(names, ["left.png.jpg", "right.png.jpg"]);
    let mut left = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_name("left.png.jpg").unwrap(), &mut left).unwrap();
    assert_eq!(image::load_from_memory(&left).unwrap().width(), 3);
    expect(user.get(&path(1), None).await, StatusCode::NOT_FOUND).await;
    expect(user.get(&path(5), None).await, StatusCode::BAD_REQUEST).await;
    expect(other.get(&path(0), None).await, StatusCode::FORBIDDEN).await;

    // The manifest describes the frames as CVAT's does.
    use cvat_blob::BlobStore;
    let manifest = stack_store().get(&cvat_blob::keys::manifest(task)).await.unwrap();
    let lines: Vec<serde_json::Value> =
        String::from_utf8(manifest.to_vec()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[1], serde_json::json!({"type": "images"}));
    assert_eq!((lines[2]["name"].as_str(), lines[2]["extension"].as_str()), (Some("scene/0001"), Some(".png")));
    assert_eq!(lines[2]["meta"]["related_images"].as_array().unwrap().len(), 2);
    assert_eq!(lines[3]["width"], 9);
}

#[tokio::test]
async fn broken_media_fails_its_request_with_the_file_named() {
    let (user, _) = Caller::new().await;
    for (name, bytes, reason) in [
        ("doc.pdf", b"%PDF-1.4 not really".to_vec(), "PDF doc.pdf cannot be read"),
        ("clip.mp4", b"\x00\x00\x00\x18ftypmp42 truncated".to_vec(), "video clip.mp4 cannot be read"),
        ("empty.png", Vec::new(), "empty.png is not a valid image"),
    ] {
        let task = new_task(&user).await;
        expect(crate::task_data::send(&user, task, vec![(name, bytes)]).await, StatusCode::ACCEPTED).await;
        let request = request_of(&user, task).await;
        assert_eq!(request["status"], "failed", "{name}");
        assert!(request["message"].as_str().unwrap().contains(reason), "{name}: {request}");
        // The task takes data again.
        expect(crate::task_data::send(&user, task, vec![("ok.png", png(4, 4))]).await, StatusCode::ACCEPTED).await;
        assert_eq!(request_of(&user, task).await["status"], "finished", "{name}");
    }
}
