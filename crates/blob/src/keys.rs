//! The stable keys of task data in the blob store, shared by whoever writes and reads
//! them (gateway, task service, media workers).

/// The archive of an export request of a task (or one of its jobs): one per request,
/// replaced when the request runs again, gone with the task.
pub fn export(task: i64, request_id: &str) -> String {
    format!("tasks/{task}/exports/{}.zip", key_segment(request_id))
}

/// The archive of a project's export request.
pub fn project_export(project: i64, request_id: &str) -> String {
    format!("projects/{project}/exports/{}.zip", key_segment(request_id))
}

/// The CSV of an events export request.
pub fn events_export(request_id: &str) -> String {
    format!("events/{}.csv", key_segment(request_id))
}

/// A request id as one safe key segment (`&`, `=` and the like become `_`).
fn key_segment(request_id: &str) -> String {
    request_id.chars().map(|c| if c.is_ascii_alphanumeric() || "-_@".contains(c) { c } else { '_' }).collect()
}

/// Everything of a task.
pub fn task_dir(task: i64) -> String {
    format!("tasks/{task}")
}

pub fn upload(task: i64, name: &str) -> String {
    format!("tasks/{task}/uploads/{name}")
}

/// A file of a one-request upload, kept apart from every other request's.
pub fn batch_upload(task: i64, batch: &str, name: &str) -> String {
    format!("tasks/{task}/uploads/{batch}/{name}")
}

/// A piece of a resumable upload under the collection it goes to (`tasks/5/data`,
/// `jobs/7/annotations`), by its offset in the file and the request that sent it
/// (`nonce`): two requests racing for one offset write two objects, and only the one the
/// task service accepts is ever read, so the loser cannot overwrite the winner.
pub fn upload_part(collection: &str, upload: &str, offset: i64, nonce: &str) -> String {
    format!("{collection}/tus/{upload}/{offset:020}-{nonce}")
}

/// A plain (one-request) upload of an annotation file to import.
pub fn import_file(name: &str) -> String {
    format!("imports/{}/{name}", uuid::Uuid::new_v4().simple())
}

/// A task chunk as a zip of its frames (CVAT's `imageset`). A video task keeps these too:
/// its single frames are read from them.
pub fn chunk(task: i64, quality: &str, number: i64) -> String {
    format!("tasks/{task}/chunks/{quality}/{number}.zip")
}

/// A task chunk of a video task as H.264 MP4 (CVAT's `video` chunk type).
pub fn video_chunk(task: i64, quality: &str, number: i64) -> String {
    format!("tasks/{task}/chunks/{quality}/{number}.mp4")
}

/// A chunk of a job whose frames do not line up with the task's chunks, built by the
/// media worker: chunk `index` of the job over the segment that starts at `segment_start`.
pub fn job_chunk(task: i64, segment_start: i64, quality: &str, index: i64) -> String {
    format!("tasks/{task}/jobs/{segment_start}/{quality}/{index}.zip")
}

/// [`job_chunk`] of a video task as H.264 MP4.
pub fn job_video_chunk(task: i64, segment_start: i64, quality: &str, index: i64) -> String {
    format!("tasks/{task}/jobs/{segment_start}/{quality}/{index}.mp4")
}

/// A zip of a frame's context images (JPEG), `frame` numbered like the task's.
pub fn context_images(task: i64, frame: i64) -> String {
    format!("tasks/{task}/context/{frame}.zip")
}

/// The task's `manifest.jsonl` (CVAT's description of its media).
pub fn manifest(task: i64) -> String {
    format!("tasks/{task}/manifest.jsonl")
}

pub fn preview(task: i64) -> String {
    format!("tasks/{task}/preview.jpeg")
}

/// What a client may name an uploaded file: a base name with no path, no control
/// characters and no leading dot (hostile names are refused, never turned into paths).
pub fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        for good in ["a.png", "frame 001.JPG", "ünï.png"] {
            assert!(valid_file_name(good), "{good}");
        }
        for bad in ["", "../x.png", "a/b.png", "a\\b.png", ".hidden", "a\nb.png"] {
            assert!(!valid_file_name(bad), "{bad:?}");
        }
    }
}
