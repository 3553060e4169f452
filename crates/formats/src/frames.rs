//! A document seen frame by frame, as every per-frame format writes it: the shapes on
//! each exported frame (tracks interpolated to every frame on which they are visible,
//! §2.6) and its tags.

use crate::document::Annotations;
use crate::source::ExportSource;
use cvat_annotations::{shape_at, AttributeVal, Shape, ShapeType, Source, Tag, Track};
use std::io;

/// A shape on one frame, from a shape or from a track.
#[derive(Debug, Clone)]
pub struct FrameShape {
    pub kind: ShapeType,
    pub label_id: i64,
    pub points: Vec<f64>,
    pub rotation: f64,
    pub occluded: bool,
    pub outside: bool,
    pub z_order: i32,
    pub group: i64,
    pub source: Source,
    /// The shape's values, then (for tracks) the track's.
    pub attributes: Vec<AttributeVal>,
    /// A skeleton's points, one per sublabel.
    pub elements: Vec<FrameShape>,
    /// For a track: its 0-based index in the document and whether this is a keyframe.
    pub track: Option<(usize, bool)>,
}

/// What one exported frame shows.
#[derive(Debug, Default)]
pub struct FrameAnnotations {
    pub shapes: Vec<FrameShape>,
    pub tags: Vec<Tag>,
}

/// A document frame by frame: a frame's shapes and tags are read from the spool and
/// its tracks interpolated when it is written, and dropped after (memory holds one
/// frame's objects, not the whole export's).
pub struct Frames<'a> {
    source: &'a ExportSource,
    annotations: &'a Annotations,
    /// Per frame of `source.frames`: the tracks visible on it, by index.
    tracks: Vec<Vec<u32>>,
    /// Coordinates rounded to two decimals.
    rounded: bool,
}

impl<'a> Frames<'a> {
    /// For the formats CVAT writes through datumaro, whose shapes keep their coordinates
    /// rounded to two decimals (numpy's `around`: halves to even) — what files show and
    /// what areas and pixels are computed from.
    pub fn new(source: &'a ExportSource, annotations: &'a Annotations) -> Self {
        Self::with(source, annotations, true)
    }

    /// For CVAT's own XML, which formats coordinates as they are.
    pub fn exact(source: &'a ExportSource, annotations: &'a Annotations) -> Self {
        Self::with(source, annotations, false)
    }

    fn with(source: &'a ExportSource, annotations: &'a Annotations, rounded: bool) -> Self {
        let mut tracks = vec![Vec::new(); source.frames.len()];
        for (i, track) in annotations.tracks().iter().enumerate() {
            for at in track_span(source, track) {
                tracks[at].push(i as u32);
            }
        }
        Self { source, annotations, tracks, rounded }
    }

    /// What frame `at` of `source.frames` shows: its shapes, the tracks visible on it, its
    /// tags.
    pub fn at(&self, at: usize) -> io::Result<FrameAnnotations> {
        let frame = self.source.frames[at].frame;
        let mut shapes: Vec<FrameShape> = self.annotations.shapes_on(frame)?.iter().map(from_shape).collect();
        let tracks = self.annotations.tracks();
        shapes.extend(
            self.tracks[at]
                .iter()
                .filter_map(|&i| track_shape(&tracks[i as usize], frame, i as usize).filter(|shape| !shape.outside)),
        );
        if self.rounded {
            shapes.iter_mut().for_each(round_points);
        }
        Ok(FrameAnnotations { shapes, tags: self.annotations.tags_on(frame)? })
    }
}

/// One entry per frame of `source.frames`, in the same order, made as it is taken.
pub fn per_frame<'a>(
    source: &'a ExportSource,
    annotations: &'a Annotations,
) -> impl Iterator<Item = io::Result<FrameAnnotations>> + 'a {
    let frames = Frames::new(source, annotations);
    (0..source.frames.len()).map(move |at| frames.at(at))
}

/// A shape's (and its elements') coordinates to two decimals, as `numpy.around` rounds.
fn round_points(shape: &mut FrameShape) {
    shape.points.iter_mut().for_each(|v| *v = (*v * 100.0).round_ties_even() / 100.0);
    shape.elements.iter_mut().for_each(round_points);
}

pub(crate) fn from_shape(shape: &Shape) -> FrameShape {
    FrameShape {
        kind: shape.kind,
        label_id: shape.label_id,
        points: shape.points.clone(),
        rotation: shape.rotation,
        occluded: shape.occluded,
        outside: shape.outside,
        z_order: shape.z_order,
        group: shape.group.unwrap_or(0),
        source: shape.source,
        attributes: shape.attributes.clone(),
        elements: shape.elements.iter().map(from_shape).collect(),
        track: None,
    }
}

/// A track's span in `source.frames` (indices): from its first keyframe to its last
/// outside one, or to the end (the frames are in order).
fn track_span(source: &ExportSource, track: &Track) -> std::ops::Range<usize> {
    let first = source.frames.partition_point(|f| f.frame < track.frame);
    let end = match track.shapes.last() {
        Some(last) if last.outside => source.frames.partition_point(|f| f.frame <= last.frame),
        _ => source.frames.len(),
    };
    first..end.max(first)
}

/// A track on the exported frames of its span, by index into `source.frames`: its
/// visible shapes and its keyframes, outside ones included (`outside` and the keyframe
/// flag tell which).
pub(crate) fn track_frames(source: &ExportSource, track: &Track, number: usize) -> Vec<(usize, FrameShape)> {
    track_span(source, track)
        .filter_map(|at| Some((at, track_shape(track, source.frames[at].frame, number)?)))
        .collect()
}

/// The track's shape on `frame`: a visible one, or an outside keyframe.
fn track_shape(track: &Track, frame: u32, number: usize) -> Option<FrameShape> {
    let shape = shape_at(track, frame)?;
    let keyframe = track.shapes.iter().any(|s| s.frame == frame);
    if shape.outside && !keyframe {
        return None;
    }
    // The keyframe's values and the track's, in the label's attribute order.
    let mut attributes = shape.attributes.clone();
    attributes.extend(track.attributes.iter().cloned());
    attributes.sort_by_key(|a| a.spec_id);
    let elements = track
        .elements
        .iter()
        .filter_map(|element| {
            let at = shape_at(element, frame)?;
            let mut attributes = at.attributes.clone();
            attributes.extend(element.attributes.iter().cloned());
            attributes.sort_by_key(|a| a.spec_id);
            Some(FrameShape {
                kind: at.kind,
                label_id: element.label_id,
                points: at.points,
                rotation: at.rotation,
                occluded: at.occluded,
                outside: at.outside,
                z_order: at.z_order,
                group: element.group.unwrap_or(0),
                source: element.source,
                attributes,
                elements: Vec::new(),
                track: Some((number, element.shapes.iter().any(|s| s.frame == frame))),
            })
        })
        .collect();
    Some(FrameShape {
        kind: shape.kind,
        label_id: track.label_id,
        points: shape.points,
        rotation: shape.rotation,
        occluded: shape.occluded,
        outside: shape.outside,
        z_order: shape.z_order,
        group: track.group.unwrap_or(0),
        source: track.source,
        attributes,
        elements,
        track: Some((number, keyframe)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_round_as_numpy_around_does() {
        let values = [0.125, 0.375, 19.6312, 2.675, -1.005, 1e-7, 123.4550000001, 0.145];
        let mut shape = from_shape(
            &serde_json::from_value(serde_json::json!({
                "type": "polygon", "frame": 0, "label_id": 1, "points": values,
            }))
            .unwrap(),
        );
        round_points(&mut shape);
        // numpy 2's `around(values, 2)`.
        assert_eq!(shape.points, [0.12, 0.38, 19.63, 2.68, -1.0, 0.0, 123.46, 0.14]);
    }
}
