//! A task's document is its annotation jobs' documents: a task-level write is cut per
//! job by frame range, a task-level read joins the jobs back (reference §8).
//!
//! Cutting: tags and shapes go to every job whose range holds their frame (overlapping
//! frames: to both); a track keeps its keyframes inside the range and gains an
//! interpolated keyframe at the range's start when it is visible there, and one at the
//! range's stop when it goes on past it; intervals are clipped to the range.
//!
//! Joining, job by job in frame order: objects of a job on the frames it shares with
//! the previous job are matched to what is already joined (tags by label; shapes by
//! label, type and box IoU ≥ 0.75, greedily; tracks by label and the IoU of their
//! shapes on the first frame the later one has) and a match is not repeated; a matched
//! track continues the earlier one. An earlier track still visible where the later job's
//! overlap ends and not continued gets an `outside` keyframe there, so it does not run
//! on into frames it was never annotated on. With no overlap this is a concatenation.

use crate::interpolate::shape_at;
use crate::model::{Interval, LabeledData, Shape, ShapeType, Track, TrackedShape};
use crate::validate::FrameRange;

/// The part of `data` inside `range`.
pub fn slice(data: &LabeledData, range: FrameRange) -> LabeledData {
    LabeledData {
        version: 0,
        tags: data.tags.iter().filter(|t| range.contains(t.frame)).cloned().collect(),
        shapes: data.shapes.iter().filter(|s| range.contains(s.frame)).cloned().collect(),
        tracks: data.tracks.iter().filter_map(|t| slice_track(t, range)).collect(),
        intervals: data.intervals.iter().filter_map(|i| clip_interval(i, range)).collect(),
    }
}

fn clip_interval(interval: &Interval, range: FrameRange) -> Option<Interval> {
    let stop = interval.stop.unwrap_or(u32::MAX);
    if interval.start > range.stop || stop < range.start {
        return None;
    }
    let stop = interval.stop.map(|s| s.min(range.stop));
    Some(Interval { start: interval.start.max(range.start), stop, ..interval.clone() })
}

fn slice_track(track: &Track, range: FrameRange) -> Option<Track> {
    let shapes = slice_keyframes(track, range);
    let first = shapes.first()?.frame;
    let elements = track
        .elements
        .iter()
        .map(|e| {
            let mut shapes = slice_keyframes(e, range);
            if shapes.is_empty() {
                // Elements follow their skeleton: an element with nothing in range is
                // present and hidden from the skeleton's first frame here.
                shapes = shape_at(e, first).or_else(|| e.shapes.first().cloned()).into_iter().collect();
                shapes.iter_mut().for_each(|s| {
                    s.frame = first;
                    s.outside = true;
                });
            }
            Track { frame: shapes.first().map_or(first, |s| s.frame), shapes, ..e.clone() }
        })
        .collect();
    Some(Track { frame: first, shapes, elements, ..track.clone() })
}

fn slice_keyframes(track: &Track, range: FrameRange) -> Vec<TrackedShape> {
    let mut shapes: Vec<TrackedShape> = track.shapes.iter().filter(|s| range.contains(s.frame)).cloned().collect();
    let starts_inside = shapes.first().is_some_and(|s| s.frame == range.start);
    if !starts_inside {
        if let Some(entry) = shape_at(track, range.start).filter(|s| !s.outside) {
            shapes.insert(0, entry);
        }
    }
    let goes_on = track.shapes.last().is_some_and(|s| s.frame > range.stop);
    let ends_inside = shapes.last().is_some_and(|s| s.frame == range.stop);
    if goes_on && !ends_inside && !shapes.is_empty() {
        if let Some(exit) = shape_at(track, range.stop).filter(|s| !s.outside) {
            shapes.push(exit);
        }
    }
    shapes
}

/// Joins the documents of a task's annotation jobs, given in frame order with their
/// ranges.
pub fn merge(jobs: Vec<(FrameRange, LabeledData)>) -> LabeledData {
    let mut joined = LabeledData::default();
    let mut previous: Option<FrameRange> = None;
    for (range, data) in jobs {
        match previous {
            None => joined = data,
            Some(before) => join(&mut joined, data, before, range),
        }
        previous = Some(range);
    }
    joined
}

fn join(joined: &mut LabeledData, data: LabeledData, before: FrameRange, range: FrameRange) {
    let shared = FrameRange { start: range.start, stop: before.stop.min(range.stop) };
    let has_shared = range.start <= before.stop;
    let in_shared = |frame: u32| has_shared && shared.contains(frame);

    let mut taken = vec![false; joined.tags.len()];
    for tag in data.tags {
        let matched = in_shared(tag.frame)
            && take(&mut taken, joined.tags.iter().map(|t| t.frame == tag.frame && t.label_id == tag.label_id));
        if !matched {
            joined.tags.push(tag);
        }
    }
    let mut taken = vec![false; joined.shapes.len()];
    for shape in data.shapes {
        let matched = in_shared(shape.frame) && take(&mut taken, joined.shapes.iter().map(|s| same_shape(s, &shape)));
        if !matched {
            joined.shapes.push(shape);
        }
    }
    join_tracks(&mut joined.tracks, data.tracks, has_shared.then_some(shared), range.start);
    for interval in data.intervals {
        if !joined
            .intervals
            .iter()
            .any(|i| i.label_id == interval.label_id && i.start == interval.start && i.stop == interval.stop)
        {
            joined.intervals.push(interval);
        }
    }
}

/// Marks and reports the first untaken candidate that matches.
fn take(taken: &mut [bool], matches: impl Iterator<Item = bool>) -> bool {
    for (index, matches) in matches.enumerate() {
        if matches && !taken[index] {
            taken[index] = true;
            return true;
        }
    }
    false
}

fn same_shape(a: &Shape, b: &Shape) -> bool {
    a.frame == b.frame && a.label_id == b.label_id && a.kind == b.kind && iou(outline(a), outline(b)) >= 0.75
}

/// The points that bound a shape: a mask's are its box, after its runs.
fn outline(shape: &Shape) -> &[f64] {
    match shape.kind {
        ShapeType::Mask => shape.points.split_last_chunk::<4>().map_or(&[], |(_, bbox)| bbox.as_slice()),
        _ => &shape.points,
    }
}

fn join_tracks(joined: &mut Vec<Track>, tracks: Vec<Track>, shared: Option<FrameRange>, start: u32) {
    let end = shared.map_or(start, |s| s.stop + 1);
    let earlier = joined.len();
    let mut continued = vec![false; earlier];
    for track in tracks {
        let candidate = shared.filter(|s| s.contains(track.frame)).and_then(|_| {
            let first = track.shapes.first()?;
            (0..earlier).find(|&i| !continued[i] && continues(&joined[i], &track, first))
        });
        match candidate {
            Some(index) => {
                continued[index] = true;
                extend(&mut joined[index], track);
            }
            None => joined.push(track),
        }
    }
    for (index, track) in joined.iter_mut().enumerate().take(earlier) {
        if !continued[index] {
            end_at(track, end);
        }
    }
}

fn continues(earlier: &Track, later: &Track, first: &TrackedShape) -> bool {
    earlier.label_id == later.label_id
        && shape_at(earlier, first.frame)
            .is_some_and(|s| !s.outside && s.kind == first.kind && iou(&s.points, &first.points) >= 0.75)
}

/// The later track's keyframes replace the earlier one's from its first frame on.
fn extend(earlier: &mut Track, later: Track) {
    let from = later.frame;
    earlier.shapes.retain(|s| s.frame < from);
    earlier.shapes.extend(later.shapes);
    for element in later.elements {
        match earlier.elements.iter_mut().find(|e| e.label_id == element.label_id) {
            Some(mine) => extend(mine, element),
            None => earlier.elements.push(element),
        }
    }
}

/// Hides a track that is visible at `frame` from there on.
fn end_at(track: &mut Track, frame: u32) {
    let visible = track.shapes.last().is_some_and(|s| !s.outside && s.frame < frame);
    if visible {
        if let Some(mut last) = shape_at(track, frame) {
            last.outside = true;
            track.shapes.push(last);
        }
    }
    for element in &mut track.elements {
        end_at(element, frame);
    }
}

/// Intersection over union of the boxes around two point lists; identical degenerate
/// boxes (single points) count as 1.
fn iou(a: &[f64], b: &[f64]) -> f64 {
    let (Some(a), Some(b)) = (bounds(a), bounds(b)) else { return 0.0 };
    if a == b {
        return 1.0;
    }
    let w = (a.2.min(b.2) - a.0.max(b.0)).max(0.0);
    let h = (a.3.min(b.3) - a.1.max(b.1)).max(0.0);
    let inter = w * h;
    let area = |r: (f64, f64, f64, f64)| (r.2 - r.0) * (r.3 - r.1);
    let union = area(a) + area(b) - inter;
    if union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

fn bounds(points: &[f64]) -> Option<(f64, f64, f64, f64)> {
    let mut pairs = points.chunks_exact(2);
    let first = pairs.next()?;
    let start = (first[0], first[1], first[0], first[1]);
    Some(pairs.fold(start, |r, p| (r.0.min(p[0]), r.1.min(p[1]), r.2.max(p[0]), r.3.max(p[1]))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(body: serde_json::Value) -> LabeledData {
        serde_json::from_value(body).unwrap()
    }

    fn track() -> LabeledData {
        data(json!({"tracks": [{"id": 7, "frame": 0, "label_id": 1, "shapes": [
            {"type": "rectangle", "frame": 0, "points": [0, 0, 10, 10]},
            {"type": "rectangle", "frame": 8, "points": [8, 8, 18, 18]}]}]}))
    }

    fn frames(track: &Track) -> Vec<u32> {
        track.shapes.iter().map(|s| s.frame).collect()
    }

    #[test]
    fn slices_cut_tracks_with_interpolated_keyframes() {
        let whole = track();
        let middle = slice(&whole, FrameRange { start: 3, stop: 7 });
        assert_eq!(frames(&middle.tracks[0]), [3, 7]);
        assert_eq!(middle.tracks[0].shapes[0].points, [3.0, 3.0, 13.0, 13.0]);
        assert_eq!(middle.tracks[0].frame, 3);
        let last = slice(&whole, FrameRange { start: 6, stop: 9 });
        assert_eq!(frames(&last.tracks[0]), [6, 8]);
    }

    #[test]
    fn shapes_on_shared_frames_go_to_both_and_join_once() {
        let body = data(json!({"shapes": [
            {"type": "rectangle", "frame": 3, "label_id": 1, "points": [0, 0, 10, 10]},
            {"type": "rectangle", "frame": 0, "label_id": 1, "points": [0, 0, 10, 10]}]}));
        let (a, b) = (FrameRange { start: 0, stop: 4 }, FrameRange { start: 3, stop: 7 });
        let (first, second) = (slice(&body, a), slice(&body, b));
        assert_eq!((first.shapes.len(), second.shapes.len()), (2, 1));
        let joined = merge(vec![(a, first), (b, second)]);
        assert_eq!(joined.shapes.len(), 2);
    }

    #[test]
    fn a_cut_track_joins_back_into_one() {
        let whole = track();
        let ranges =
            [FrameRange { start: 0, stop: 4 }, FrameRange { start: 3, stop: 7 }, FrameRange { start: 6, stop: 9 }];
        let joined = merge(ranges.iter().map(|r| (*r, slice(&whole, *r))).collect());
        assert_eq!(joined.tracks.len(), 1);
        let track = &joined.tracks[0];
        assert_eq!(frames(track), [0, 3, 6, 8]);
        assert!(track.shapes.iter().all(|s| !s.outside));
    }

    #[test]
    fn without_overlap_an_unmatched_track_ends_where_the_next_job_starts() {
        let a = FrameRange { start: 0, stop: 4 };
        let b = FrameRange { start: 5, stop: 9 };
        let first = data(json!({"tracks": [{"frame": 0, "label_id": 1, "shapes": [
            {"type": "rectangle", "frame": 0, "points": [0, 0, 10, 10]}]}]}));
        let second = data(json!({"tracks": [{"frame": 5, "label_id": 1, "shapes": [
            {"type": "rectangle", "frame": 5, "points": [50, 50, 60, 60]}]}]}));
        let joined = merge(vec![(a, first), (b, second)]);
        assert_eq!(joined.tracks.len(), 2);
        assert_eq!(
            joined.tracks[0].shapes.iter().map(|s| (s.frame, s.outside)).collect::<Vec<_>>(),
            [(0, false), (5, true)]
        );
    }
}
