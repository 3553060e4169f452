//! A document seen frame by frame, as every per-frame format writes it: the shapes on
//! each exported frame (tracks interpolated to every frame on which they are visible,
//! §2.6) and its tags.

use crate::source::ExportSource;
use cvat_annotations::{shape_at, AttributeVal, LabeledData, Shape, ShapeType, Source, Tag, Track};
use std::collections::HashMap;

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
pub struct FrameAnnotations<'a> {
    pub shapes: Vec<FrameShape>,
    pub tags: Vec<&'a Tag>,
}

/// One entry per frame of `source.frames`, in the same order.
pub fn per_frame<'a>(source: &ExportSource, data: &'a LabeledData) -> Vec<FrameAnnotations<'a>> {
    let index: HashMap<u32, usize> = source.frames.iter().enumerate().map(|(i, f)| (f.frame, i)).collect();
    let mut frames: Vec<FrameAnnotations> = source.frames.iter().map(|_| FrameAnnotations::default()).collect();
    for shape in &data.shapes {
        if let Some(&at) = index.get(&shape.frame) {
            frames[at].shapes.push(from_shape(shape));
        }
    }
    for (number, track) in data.tracks.iter().enumerate() {
        for (at, shape) in track_frames(source, track, number) {
            if !shape.outside {
                frames[at].shapes.push(shape);
            }
        }
    }
    for tag in &data.tags {
        if let Some(&at) = index.get(&tag.frame) {
            frames[at].tags.push(tag);
        }
    }
    frames
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

/// A track on the exported frames of its span (from its first keyframe to its last
/// outside one, or to the end), by index into `source.frames`: its visible shapes and its
/// keyframes, outside ones included (`outside` and the keyframe flag tell which).
pub(crate) fn track_frames(source: &ExportSource, track: &Track, number: usize) -> Vec<(usize, FrameShape)> {
    let first = source.frames.partition_point(|f| f.frame < track.frame);
    let end = match track.shapes.last() {
        Some(last) if last.outside => source.frames.partition_point(|f| f.frame <= last.frame),
        _ => source.frames.len(),
    };
    (first..end).filter_map(|at| Some((at, track_shape(track, source.frames[at].frame, number)?))).collect()
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
