//! Video tasks have CVAT's chunk types: H.264 MP4 chunks (the original lossless and full
//! size; the compressed one at the task's quality, halved while 1080 pixels high or more)
//! unless `use_zip_chunks` asks for zips of compressed frames; job chunks that do not line
//! up with the task's are MP4 too. Each is built once, on first request or ahead of it.
//! Single frames stay JPEGs read straight from storage.

use crate::common::*;
use crate::task_data::{request_of, send_with, zip_members};
use reqwest::StatusCode;
use std::process::Command;

/// A video of `frames` frames whose frame n is flat grey, [`grey`]`(n)` once decoded, so
/// a decoded frame tells which frame it is.
fn graded_clip(width: u32, height: u32, frames: u32) -> Vec<u8> {
    let path = std::env::temp_dir().join(format!("cvat-e2e-{}.mp4", uuid::Uuid::new_v4()));
    let source = format!("nullsrc=s={width}x{height}:r=10,geq=lum='16+N*14':cb=128:cr=128");
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i", &source, "-frames:v", &frames.to_string()])
        .args(["-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p"])
        .arg(&path)
        .status()
        .expect("ffmpeg runs");
    assert!(made.success());
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    bytes
}

/// What an MP4 chunk holds: its codec profile, frame size and each frame's mean luma.
struct Decoded {
    profile: String,
    size: (u32, u32),
    lumas: Vec<u32>,
}

fn decode(mp4: &[u8]) -> Decoded {
    let path = std::env::temp_dir().join(format!("cvat-e2e-{}.mp4", uuid::Uuid::new_v4()));
    std::fs::write(&path, mp4).unwrap();
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,profile,width,height"])
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(&path)
        .output()
        .expect("ffprobe runs");
    let fields: std::collections::HashMap<String, String> = String::from_utf8_lossy(&probe.stdout)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    assert_eq!(fields.get("codec_name").map(String::as_str), Some("h264"), "{fields:?}");
    let size: (u32, u32) = (fields["width"].parse().unwrap(), fields["height"].parse().unwrap());
    let raw = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .expect("ffmpeg runs");
    let _ = std::fs::remove_file(&path);
    assert!(raw.status.success());
    let pixels = (size.0 * size.1) as usize;
    let lumas = raw
        .stdout
        .chunks(pixels)
        .map(|f| (f.iter().map(|&p| u64::from(p)).sum::<u64>() / pixels as u64) as u32)
        .collect();
    Decoded { profile: fields["profile"].clone(), size, lumas }
}

/// Frame n's grey level in full range (the clip's luma is limited range: 16 is black).
fn grey(n: u32) -> u32 {
    (n * 14 * 255 + 109) / 219
}

/// [`grey`]`(n)` for each frame n of `frames`, give or take what lossy coding changes.
fn assert_frames(lumas: &[u32], frames: std::ops::RangeInclusive<u32>) {
    let expected: Vec<u32> = frames.map(grey).collect();
    assert_eq!(lumas.len(), expected.len(), "{lumas:?} for {expected:?}");
    for (got, want) in lumas.iter().zip(&expected) {
        assert!(got.abs_diff(*want) <= 6, "{lumas:?} for {expected:?}");
    }
}

async fn video_task(caller: &Caller, clip: Vec<u8>, params: &[(&'static str, &'static str)]) -> i64 {
    let spec = serde_json::json!({"name": "video", "labels": [{"name": "a"}], "segment_size": 10});
    let task = expect(caller.post("/api/tasks", None, spec).await, StatusCode::CREATED).await["id"].as_i64().unwrap();
    expect(send_with(caller, task, params, vec![("clip.mp4", clip)]).await, StatusCode::ACCEPTED).await;
    let request = request_of(caller, task).await;
    assert_eq!(request["status"], "finished", "{request}");
    task
}

async fn chunk(caller: &Caller, path: &str) -> (String, Vec<u8>) {
    let answer = caller.get(path, None).await;
    assert_eq!(answer.status(), StatusCode::OK, "{path}");
    let kind = answer.headers()["content-type"].to_str().unwrap().to_string();
    (kind, answer.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn a_video_has_mp4_chunks_built_once_and_jpeg_frames() {
    let (owner, _) = Caller::new().await;
    let params = [("image_quality", "70"), ("chunk_size", "4")];
    let task = video_task(&owner, graded_clip(64, 48, 14), &params).await;

    let read = expect(owner.get(&format!("/api/tasks/{task}"), None).await, StatusCode::OK).await;
    assert_eq!(
        (read["data_compressed_chunk_type"].as_str(), read["data_original_chunk_type"].as_str()),
        (Some("video"), Some("video"))
    );
    let jobs = expect(owner.get(&format!("/api/jobs?task_id={task}&sort=id"), None).await, StatusCode::OK).await;
    let jobs = jobs["results"].as_array().unwrap().clone();
    let spans: Vec<(i64, i64)> =
        jobs.iter().map(|j| (j["start_frame"].as_i64().unwrap(), j["stop_frame"].as_i64().unwrap())).collect();
    assert_eq!(spans, [(0, 9), (5, 13)], "a video's jobs overlap by 5");
    assert!(jobs
        .iter()
        .all(|j| j["data_compressed_chunk_type"] == "video" && j["data_original_chunk_type"] == "video"));

    // Four readers at once of each compressed chunk: one build, one answer.
    for (number, frames) in [(0, 0..=3), (3, 12..=13)] {
        let path = format!("/api/tasks/{task}/data?type=chunk&number={number}&quality=compressed");
        let answers = futures_util::future::join_all((0..4).map(|_| chunk(&owner, &path))).await;
        assert!(answers.iter().all(|a| a == &answers[0]), "every reader gets the same chunk");
        let (kind, body) = &answers[0];
        assert_eq!(kind, "video/mp4");
        let decoded = decode(body);
        assert_eq!((decoded.size, decoded.profile.as_str()), ((64, 48), "Constrained Baseline"));
        assert_frames(&decoded.lumas, frames);
    }
    let (kind, original) = chunk(&owner, &format!("/api/tasks/{task}/data?type=chunk&number=1&quality=original")).await;
    assert_eq!(kind, "video/mp4");
    let decoded = decode(&original);
    assert_eq!(decoded.size, (64, 48));
    assert_frames(&decoded.lumas, 4..=7);

    // The second job starts inside a task chunk: its own chunks, from its first frame.
    let job = jobs[1]["id"].as_i64().unwrap();
    for quality in ["compressed", "original"] {
        let (kind, body) = chunk(&owner, &format!("/api/jobs/{job}/data?type=chunk&index=2&quality={quality}")).await;
        assert_eq!(kind, "video/mp4");
        assert_frames(&decode(&body).lumas, 13..=13);
        let (_, body) = chunk(&owner, &format!("/api/jobs/{job}/data?type=chunk&index=0&quality={quality}")).await;
        assert_frames(&decode(&body).lumas, 5..=8);
    }

    // A single frame is a JPEG of the video's size.
    let frame = owner.get(&format!("/api/tasks/{task}/data?type=frame&number=13&quality=compressed"), None).await;
    assert_eq!(frame.headers()["content-type"], "image/jpeg");
    let frame = image::load_from_memory(&frame.bytes().await.unwrap()).unwrap().to_luma8();
    assert_eq!(frame.dimensions(), (64, 48));
    assert!(frame.pixels().all(|p| u32::from(p.0[0]).abs_diff(grey(13)) <= 6));

    let rows: Vec<_> = crate::chunks::chunk_rows(task).await.into_iter().filter(|(_, _, built)| *built).collect();
    for (key, builds, _) in &rows {
        assert_eq!(*builds, 1, "{key} built once");
    }
    assert!(rows.len() >= 8, "the chunks asked for are recorded built: {}", rows.len());
}

#[tokio::test]
async fn a_1080p_video_has_half_size_compressed_chunks_or_zips_when_asked() {
    let (owner, _) = Caller::new().await;
    let clip = graded_clip(1920, 1080, 2);
    let task = video_task(&owner, clip.clone(), &[("image_quality", "50")]).await;
    let (_, compressed) =
        chunk(&owner, &format!("/api/tasks/{task}/data?type=chunk&number=0&quality=compressed")).await;
    let decoded = decode(&compressed);
    assert_eq!(decoded.size, (960, 540), "halved while 1080 high or more, as CVAT does");
    assert_frames(&decoded.lumas, 0..=1);

    let zipped = video_task(&owner, clip, &[("image_quality", "50"), ("use_zip_chunks", "true")]).await;
    let read = expect(owner.get(&format!("/api/tasks/{zipped}"), None).await, StatusCode::OK).await;
    assert_eq!(
        (read["data_compressed_chunk_type"].as_str(), read["data_original_chunk_type"].as_str()),
        (Some("imageset"), Some("video"))
    );
    let (kind, body) = chunk(&owner, &format!("/api/tasks/{zipped}/data?type=chunk&number=0&quality=compressed")).await;
    assert_eq!(kind, "application/zip");
    assert_eq!(zip_members(&body).len(), 2);
    let (kind, body) = chunk(&owner, &format!("/api/tasks/{zipped}/data?type=chunk&number=0&quality=original")).await;
    assert_eq!(kind, "video/mp4");
    let decoded = decode(&body);
    assert_eq!((decoded.size, decoded.profile.as_str()), ((1920, 1080), "High 4:4:4 Predictive"));
    assert_frames(&decoded.lumas, 0..=1);
}
