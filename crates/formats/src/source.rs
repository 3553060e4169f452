//! What an export knows besides the annotations: the task, job or project as CVAT's
//! formats describe it, the labels in primary-key order (sublabels included), and the
//! frames the export covers. The task service renders it; the export worker reads it.
//!
//! A project is exported as one sequence of frames: its tasks' frames one after the
//! other (each frame keeps its task, subset and the frame number files show), with the
//! annotations of every task moved onto that sequence.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportSource {
    /// The display name of the format, e.g. `CVAT for images 1.1`.
    pub format: String,
    pub save_images: bool,
    /// Where the archive is stored.
    pub result_key: String,
    /// For a backup: its JSON files by name (`task.json`, `annotations.json`), written
    /// as they are; the frames go under `data/`.
    #[serde(default)]
    pub backup: Option<serde_json::Value>,
    pub meta: Meta,
    /// Primary-key order, sublabels included: the order of label indices everywhere.
    pub labels: Vec<LabelInfo>,
    /// The frames exported, in frame order.
    pub frames: Vec<FrameInfo>,
    /// When the export was made, as CVAT writes it (`2025-01-02 12:00:00.123456+00:00`).
    pub dumped: String,
}

/// What the export describes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Meta {
    Task(TaskInfo),
    Job(TaskInfo, JobInfo),
    /// The project and its tasks with data, in export order.
    Project(ProjectInfo, Vec<TaskInfo>),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectInfo {
    pub id: i64,
    pub name: String,
    pub bug_tracker: String,
    pub created: String,
    pub updated: String,
    pub owner: Option<Person>,
    pub assignee: Option<Person>,
}

impl Meta {
    pub fn is_project(&self) -> bool {
        matches!(self, Meta::Project(..))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskInfo {
    pub id: i64,
    pub name: String,
    pub size: i64,
    /// `annotation` (images) or `interpolation` (video).
    pub mode: String,
    pub overlap: i64,
    pub bug_tracker: String,
    pub created: String,
    pub updated: String,
    pub subset: String,
    pub start_frame: i64,
    pub stop_frame: i64,
    pub frame_step: i64,
    pub frame_filter: String,
    pub segments: Vec<SegmentInfo>,
    pub owner: Option<Person>,
    pub assignee: Option<Person>,
    /// For a task made from a video: the video's name and frame size.
    #[serde(default)]
    pub video: Option<VideoInfo>,
}

/// What CVAT's meta tells of a task's video (`<original_size>`, `<source>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VideoInfo {
    pub source: String,
    pub width: u32,
    pub height: u32,
}

impl TaskInfo {
    /// The subset items are written in: the task's, or `default`.
    pub fn subset_name(&self) -> &str {
        if self.subset.is_empty() {
            "default"
        } else {
            &self.subset
        }
    }

    /// The absolute frame number of a task-relative frame.
    pub fn absolute(&self, frame: u32) -> i64 {
        self.start_frame + i64::from(frame) * self.frame_step.max(1)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobInfo {
    pub id: i64,
    pub updated: String,
    /// Task-relative frames of the job.
    pub start: u32,
    pub stop: u32,
    pub assignee: Option<Person>,
}

/// One annotation job of the task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentInfo {
    pub id: i64,
    pub start: u32,
    pub stop: u32,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Person {
    pub username: String,
    pub email: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabelInfo {
    pub id: i64,
    pub name: String,
    pub color: String,
    /// `any`, `rectangle`, …, `skeleton`, `tag`.
    pub kind: String,
    /// The skeleton's name, for a sublabel.
    pub parent: Option<String>,
    /// A skeleton's SVG with sublabels named (`data-label-name`), else empty.
    pub svg: String,
    pub attributes: Vec<AttributeInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttributeInfo {
    pub id: i64,
    pub name: String,
    pub mutable: bool,
    pub input_type: String,
    pub default_value: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FrameInfo {
    /// The frame number annotations carry: task-relative, or the position in a
    /// project's sequence.
    pub frame: u32,
    /// The number files show: the task's absolute frame number (`start_frame + n ×
    /// step`), in a project moved past the earlier tasks of the same subset.
    pub id: i64,
    /// The subset the frame's task is in (`default` when it has none).
    pub subset: String,
    pub task_id: i64,
    /// The frame's path as uploaded (`a/b/img1.jpg`), or `frame_000000` for video.
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// Where the original image is, when the export saves images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRef>,
}

/// An original image inside a stored chunk archive: `length` bytes from `offset` of
/// the object `key`; `extension` is the file type (`jpeg`, `png`, …).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageRef {
    pub key: String,
    pub offset: u64,
    pub length: u64,
    pub extension: String,
}

/// Each skeleton's point labels by the skeleton's name, in label order.
pub(crate) fn points_by_skeleton(labels: &[LabelInfo]) -> HashMap<&str, Vec<&LabelInfo>> {
    let mut points: HashMap<&str, Vec<&LabelInfo>> = HashMap::new();
    for label in labels {
        if let Some(parent) = &label.parent {
            points.entry(parent.as_str()).or_default().push(label);
        }
    }
    points
}
