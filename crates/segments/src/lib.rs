//! Task frame arithmetic, as CVAT computes it when data is attached to a task:
//! the `step=N` frame filter, the task size after start/stop/step, the segments (one
//! annotation job each) from segment size and overlap, and the derived job and task
//! statuses. Pure functions: the task service and the media workers share them.

use std::ops::RangeInclusive;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("Invalid frame filter \"{0}\": only \"step=N\" with N >= 1 is supported")]
    BadFilter(String),
    #[error("Stop frame must be more or equal start frame")]
    StopBeforeStart,
    #[error("The start frame is beyond the last frame")]
    StartBeyondEnd,
}

/// Parses CVAT's frame filter: empty means step 1; otherwise `step=N` (spaces allowed around `=`).
pub fn parse_frame_filter(filter: &str) -> Result<u32, FrameError> {
    let trimmed = filter.trim();
    if trimmed.is_empty() {
        return Ok(1);
    }
    let bad = || FrameError::BadFilter(filter.to_string());
    let (key, value) = trimmed.split_once('=').ok_or_else(bad)?;
    if key.trim() != "step" {
        return Err(bad());
    }
    let value = value.trim();
    if value.starts_with('0') {
        return Err(bad());
    }
    value.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(bad)
}

/// The frames of a task among `total` source frames: `start..=stop` (stop defaulting to,
/// and clamped at, the last frame) every `step`th frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRange {
    pub start: u64,
    /// The last frame actually included (CVAT stores `start + (size - 1) * step`).
    pub stop: u64,
    pub step: u64,
    pub size: u64,
}

pub fn frame_range(total: u64, start: u64, stop: Option<u64>, step: u32) -> Result<FrameRange, FrameError> {
    let step = u64::from(step.max(1));
    if total == 0 {
        return Ok(FrameRange { start, stop: start, step, size: 0 });
    }
    if start >= total {
        return Err(FrameError::StartBeyondEnd);
    }
    let last = stop.map_or(total - 1, |s| s.min(total - 1));
    if last < start {
        return Err(FrameError::StopBeforeStart);
    }
    let size = (last - start) / step + 1;
    Ok(FrameRange { start, stop: start + (size - 1) * step, step, size })
}

impl FrameRange {
    /// The source frame number of task frame `k` (0-based, `k < size`).
    pub fn source_frame(&self, k: u64) -> u64 {
        self.start + k * self.step
    }
}

/// Segments of a task of `size` frames, as relative frame ranges in job order.
/// `segment_size` 0 or larger than the task means one segment; `overlap` defaults to 5
/// for video (interpolation) tasks and 0 otherwise, and is clamped to half a segment.
pub fn segments(size: u64, segment_size: u64, overlap: Option<u64>, video: bool) -> Vec<RangeInclusive<u64>> {
    if size == 0 {
        return Vec::new();
    }
    let effective = if segment_size == 0 || segment_size > size { size } else { segment_size };
    let overlap = overlap.unwrap_or(if video { 5 } else { 0 }).min(effective / 2);
    let stride = effective - overlap;
    (0..size - overlap).step_by(stride as usize).map(|start| start..=(start + effective - 1).min(size - 1)).collect()
}

/// Segments of a `job_file_mapping`: each inner list of files is one job, frames in order.
pub fn mapped_segments(files_per_job: &[usize]) -> Vec<RangeInclusive<u64>> {
    let mut start = 0u64;
    files_per_job
        .iter()
        .filter(|n| **n > 0)
        .map(|n| {
            let range = start..=start + *n as u64 - 1;
            start += *n as u64;
            range
        })
        .collect()
}

/// The segments of a processed task: from `frames_per_job` (a `job_file_mapping`) when
/// given, else from `segment_size` and `overlap`. The task service makes the jobs from
/// these and the media workers the job chunks, so both compute them here.
pub fn task_segments(
    size: u64,
    segment_size: u64,
    overlap: Option<u64>,
    frames_per_job: &[u64],
    video: bool,
) -> Vec<RangeInclusive<u64>> {
    if frames_per_job.is_empty() {
        segments(size, segment_size, overlap, video)
    } else {
        mapped_segments(&frames_per_job.iter().map(|n| *n as usize).collect::<Vec<_>>())
    }
}

/// Chunk `index` of the job over `segment` (frames relative to the task): its frames,
/// and whether they are exactly task chunk `first / chunk_size` (a job chunk that starts
/// on a task chunk and is full is served as that task chunk; any other is built). `None`
/// past the job's last chunk.
pub fn job_chunk(segment: &RangeInclusive<u64>, chunk_size: u64, index: u64) -> Option<(RangeInclusive<u64>, bool)> {
    let chunk_size = chunk_size.max(1);
    let first = segment.start().checked_add(index.checked_mul(chunk_size)?)?;
    if first > *segment.end() {
        return None;
    }
    let last = (first + chunk_size - 1).min(*segment.end());
    let whole_task_chunk = first % chunk_size == 0 && last - first + 1 == chunk_size;
    Some((first..=last, whole_task_chunk))
}

/// A job's legacy `status` from its stage and state.
pub fn job_status(stage: &str, state: &str) -> &'static str {
    match (stage, state) {
        ("annotation", _) => "annotation",
        ("acceptance", "completed") => "completed",
        _ => "validation",
    }
}

/// A task's `status` from its jobs' statuses.
pub fn task_status<'a>(job_statuses: impl IntoIterator<Item = &'a str>) -> &'static str {
    let statuses: Vec<&str> = job_statuses.into_iter().collect();
    if statuses.contains(&"annotation") {
        "annotation"
    } else if statuses.contains(&"validation") {
        "validation"
    } else {
        "completed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_chunks() {
        // A job of frames 3..=9 over task chunks of 4: 3..=6 and 7..=9, both built.
        assert_eq!(job_chunk(&(3..=9), 4, 0), Some((3..=6, false)));
        assert_eq!(job_chunk(&(3..=9), 4, 1), Some((7..=9, false)));
        assert_eq!(job_chunk(&(3..=9), 4, 2), None);
        // Aligned and full: the task's own chunk.
        assert_eq!(job_chunk(&(4..=11), 4, 1), Some((8..=11, true)));
        assert_eq!(job_chunk(&(0..=9), 4, 2), Some((8..=9, false)));
        assert_eq!(job_chunk(&(0..=9), 4, u64::MAX), None);
        assert_eq!(task_segments(10, 4, Some(1), &[], false), segments(10, 4, Some(1), false));
        assert_eq!(task_segments(10, 4, None, &[3, 7], false), vec![0..=2, 3..=9]);
    }

    #[test]
    fn frame_filters() {
        assert_eq!(parse_frame_filter(""), Ok(1));
        assert_eq!(parse_frame_filter("step=3"), Ok(3));
        assert_eq!(parse_frame_filter(" step = 12 "), Ok(12));
        for bad in ["step=0", "step=-1", "step=x", "stride=2", "step=05", "3"] {
            assert!(parse_frame_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_after_start_stop_step() {
        assert_eq!(frame_range(10, 0, None, 1).unwrap(), FrameRange { start: 0, stop: 9, step: 1, size: 10 });
        assert_eq!(frame_range(10, 2, Some(8), 3).unwrap(), FrameRange { start: 2, stop: 8, step: 3, size: 3 });
        assert_eq!(frame_range(10, 1, Some(100), 4).unwrap(), FrameRange { start: 1, stop: 9, step: 4, size: 3 });
        assert_eq!(frame_range(10, 1, Some(7), 4).unwrap().stop, 5);
        assert_eq!(frame_range(10, 5, Some(4), 1), Err(FrameError::StopBeforeStart));
        assert_eq!(frame_range(10, 10, None, 1), Err(FrameError::StartBeyondEnd));
        let range = frame_range(100, 10, None, 5).unwrap();
        assert_eq!((range.size, range.source_frame(0), range.source_frame(17)), (18, 10, 95));
    }

    fn bounds(segments: Vec<RangeInclusive<u64>>) -> Vec<(u64, u64)> {
        segments.into_iter().map(|r| (*r.start(), *r.end())).collect()
    }

    /// (size, segment size, overlap, video, expected segments)
    type SegmentCase = (u64, u64, Option<u64>, bool, &'static [(u64, u64)]);

    #[test]
    fn segments_like_cvat() {
        let table: &[SegmentCase] = &[
            (10, 4, Some(0), false, &[(0, 3), (4, 7), (8, 9)]),
            (10, 4, Some(1), false, &[(0, 3), (3, 6), (6, 9)]),
            (10, 0, None, false, &[(0, 9)]),
            (10, 50, None, false, &[(0, 9)]),
            (100, 0, None, true, &[(0, 99)]),
            (100, 40, None, true, &[(0, 39), (35, 74), (70, 99)]),
            (10, 4, Some(9), false, &[(0, 3), (2, 5), (4, 7), (6, 9)]),
            (1, 1, None, false, &[(0, 0)]),
            (5, 1, Some(3), false, &[(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)]),
            (0, 10, None, false, &[]),
        ];
        for (size, segment_size, overlap, video, expected) in table {
            assert_eq!(
                bounds(segments(*size, *segment_size, *overlap, *video)),
                expected.to_vec(),
                "size {size} segment {segment_size} overlap {overlap:?}"
            );
        }
    }

    #[test]
    fn every_frame_is_in_some_segment() {
        for size in 1..60u64 {
            for segment_size in 0..20u64 {
                for overlap in 0..6u64 {
                    let parts = segments(size, segment_size, Some(overlap), false);
                    let covered: std::collections::BTreeSet<u64> = parts.iter().flat_map(|r| r.clone()).collect();
                    assert_eq!(covered.len() as u64, size, "{size} {segment_size} {overlap}");
                }
            }
        }
    }

    #[test]
    fn file_mappings() {
        assert_eq!(bounds(mapped_segments(&[2, 3, 1])), vec![(0, 1), (2, 4), (5, 5)]);
    }

    #[test]
    fn statuses() {
        assert_eq!(job_status("annotation", "completed"), "annotation");
        assert_eq!(job_status("validation", "new"), "validation");
        assert_eq!(job_status("acceptance", "completed"), "completed");
        assert_eq!(job_status("acceptance", "in progress"), "validation");
        assert_eq!(task_status(["completed", "annotation"]), "annotation");
        assert_eq!(task_status(["completed", "validation"]), "validation");
        assert_eq!(task_status(["completed"]), "completed");
    }
}
