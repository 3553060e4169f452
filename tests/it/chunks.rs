//! Compressed chunks built on first request (CVAT's data "on the fly", the default): a
//! task is ready with its original chunks; each compressed chunk is built once by a media
//! worker, however many readers ask for it at once, and ahead of any request in the
//! background; an image whose header reads but whose pixels do not is refused by name
//! when its chunk is built; `use_cache: false` builds everything at once as before.

use crate::common::*;
use crate::task_data::{image_file, new_task, png, request_of, send_with, zip_members as members};
use reqwest::StatusCode;
use std::time::{Duration, Instant};

fn jpeg(width: u32, height: u32, shade: u8) -> Vec<u8> {
    image_file(width, height, shade, image::ImageFormat::Jpeg)
}

/// The task's chunks built on request as the database records them: key, claims taken,
/// built.
pub(crate) async fn chunk_rows(task: i64) -> Vec<(String, i32, bool)> {
    let database = crate::foundations::database().await;
    let rows = database
        .query("SELECT key, builds, built FROM engine.chunk_builds WHERE task_id = $1 ORDER BY key", &[&task])
        .await
        .unwrap();
    let read = |r: &tokio_postgres::Row| -> Result<(String, i32, bool), tokio_postgres::Error> {
        Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
    };
    rows.iter().map(|r| read(r).expect("a chunk_builds row of key, builds, built")).collect()
}

async fn task_of_jpegs(caller: &Caller, images: &[Vec<u8>], params: &[(&'static str, &'static str)]) -> i64 {
    let task = new_task(caller).await;
    let names: Vec<String> = (0..images.len()).map(|i| format!("f{i:02}.jpg")).collect();
    let files = names.iter().map(String::as_str).zip(images.iter().cloned()).collect();
    expect(send_with(caller, task, params, files).await, StatusCode::ACCEPTED).await;
    let request = request_of(caller, task).await;
    assert_eq!(request["status"], "finished", "{request}");
    task
}

#[tokio::test]
async fn a_compressed_chunk_is_built_once_however_many_ask_at_once() {
    let (owner, _) = Caller::new().await;
    let images: Vec<Vec<u8>> = (0..6).map(|i| jpeg(64, 48, 40 * i)).collect();
    let task = task_of_jpegs(&owner, &images, &[("image_quality", "70"), ("chunk_size", "2")]).await;

    for number in 0..3usize {
        let path = format!("/api/tasks/{task}/data?type=chunk&number={number}&quality=compressed");
        let answers = futures_util::future::join_all((0..8).map(|_| owner.get(&path, None))).await;
        let mut bodies = Vec::new();
        for answer in answers {
            assert_eq!(answer.status(), StatusCode::OK, "{path}");
            bodies.push(answer.bytes().await.unwrap());
        }
        assert!(bodies.iter().all(|b| b == &bodies[0]), "every reader gets the same chunk");
        let frames = members(&bodies[0]);
        assert_eq!(frames.len(), 2);
        for frame in &frames {
            let decoded = image::load_from_memory_with_format(frame, image::ImageFormat::Jpeg).unwrap();
            assert_eq!((decoded.width(), decoded.height()), (64, 48));
        }
        // A single frame is the chunk's member, byte for byte; the original is the upload.
        let single = format!("/api/tasks/{task}/data?type=frame&number={}&quality=compressed", 2 * number + 1);
        let single = owner.get(&single, None).await;
        assert_eq!(single.status(), StatusCode::OK);
        assert_eq!(single.bytes().await.unwrap().as_ref(), frames[1].as_slice());
        let original = format!("/api/tasks/{task}/data?type=chunk&number={number}&quality=original");
        let original = members(&owner.get(&original, None).await.bytes().await.unwrap());
        assert_eq!(original, images[2 * number..2 * number + 2]);
    }
    let rows = chunk_rows(task).await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().all(|(_, builds, built)| *builds == 1 && *built), "each built once: {rows:?}");
}

#[tokio::test]
async fn chunks_are_built_ahead_of_any_request() {
    let (owner, _) = Caller::new().await;
    let images: Vec<Vec<u8>> = (0..4).map(|i| jpeg(32, 32, 60 * i)).collect();
    let task = task_of_jpegs(&owner, &images, &[("image_quality", "70"), ("chunk_size", "2")]).await;
    // Nobody asks: the media workers build both chunks on their own (a busy machine may
    // take a while; the product promises they are built, not when).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let rows = chunk_rows(task).await;
        if rows.len() == 2 && rows.iter().all(|(_, _, built)| *built) {
            break;
        }
        assert!(Instant::now() < deadline, "not built ahead: {rows:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let store = stack_store();
    for number in 0..2 {
        let stored = cvat_blob::BlobStore::get(&store, &cvat_blob::keys::chunk(task, "compressed", number)).await;
        assert_eq!(members(&stored.unwrap()).len(), 2);
    }
}

#[tokio::test]
async fn an_image_whose_pixels_cannot_be_read_is_refused_by_name_when_its_chunk_is_built() {
    let (owner, _) = Caller::new().await;
    // The header (size) reads; the pixel data is cut off.
    let whole = png(40, 30);
    let broken = whole[..whole.len() / 2].to_vec();
    let task = new_task(&owner).await;
    // (Not the first frame: the task's preview is made from that one when it is processed.)
    let files = vec![("a_fine.png", png(20, 10)), ("b_broken.png", broken.clone())];
    let params = [("image_quality", "70"), ("chunk_size", "1")];
    expect(send_with(&owner, task, &params, files).await, StatusCode::ACCEPTED).await;
    assert_eq!(request_of(&owner, task).await["status"], "finished");

    let refused = owner.get(&format!("/api/tasks/{task}/data?type=chunk&number=1&quality=compressed"), None).await;
    let body = expect(refused, StatusCode::BAD_REQUEST).await.to_string();
    assert!(body.contains("b_broken.png"), "{body}");
    let frame = owner.get(&format!("/api/tasks/{task}/data?type=frame&number=1&quality=compressed"), None).await;
    expect(frame, StatusCode::BAD_REQUEST).await;
    // The original is served as uploaded, and the rest of the task works.
    let original = owner.get(&format!("/api/tasks/{task}/data?type=frame&number=1&quality=original"), None).await;
    assert_eq!(original.bytes().await.unwrap().as_ref(), broken.as_slice());
    let fine = owner.get(&format!("/api/tasks/{task}/data?type=chunk&number=0&quality=compressed"), None).await;
    assert_eq!(fine.status(), StatusCode::OK);
    assert_eq!(members(&fine.bytes().await.unwrap()).len(), 1);
}

#[tokio::test]
async fn without_use_cache_every_chunk_is_built_when_the_data_is_processed() {
    let (owner, _) = Caller::new().await;
    let images: Vec<Vec<u8>> = (0..3).map(|i| jpeg(16, 16, 80 * i)).collect();
    let params = [("image_quality", "70"), ("chunk_size", "2"), ("use_cache", "false")];
    let task = task_of_jpegs(&owner, &images, &params).await;
    assert!(chunk_rows(task).await.is_empty());
    let store = stack_store();
    for number in 0..2 {
        let stored = cvat_blob::BlobStore::get(&store, &cvat_blob::keys::chunk(task, "compressed", number)).await;
        assert!(stored.is_ok(), "compressed chunk {number} is stored when the task is ready");
    }
    let chunk = owner.get(&format!("/api/tasks/{task}/data?type=chunk&number=1&quality=compressed"), None).await;
    assert_eq!(members(&chunk.bytes().await.unwrap()).len(), 1);
}
