//! What YOLO 1.1 and the Ultralytics YOLO formats share: the subset naming, class numbers
//! (top-level labels only) and the normalised `cx cy w h` box, both ways.

use crate::source::LabelInfo;
use cvat_annotations::{Shape, ShapeType, Source};
use std::collections::HashMap;

/// The name a subset is written under: `default` (or none) is `train`.
pub(crate) fn subset_name(subset: &str) -> &str {
    if subset.is_empty() || subset == "default" {
        "train"
    } else {
        subset
    }
}

/// Class numbers by label id: the position among top-level labels.
pub(crate) fn class_numbers(labels: &[LabelInfo]) -> HashMap<i64, usize> {
    labels.iter().filter(|l| l.parent.is_none()).enumerate().map(|(i, l)| (l.id, i)).collect()
}

/// `class cx cy w h` (normalised by the image, `%.6f`) of an axis-aligned box shape.
pub(crate) fn box_line(class: usize, points: &[f64], width: u32, height: u32) -> Option<String> {
    let &[x1, y1, x2, y2] = points else { return None };
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    Some(format!(
        "{class} {:.6} {:.6} {:.6} {:.6}",
        (x1 + x2) / 2.0 / w,
        (y1 + y2) / 2.0 / h,
        (x2 - x1) / w,
        (y2 - y1) / h
    ))
}

/// The box a normalised `cx cy w h` describes on a frame of `size` pixels.
pub(crate) fn box_shape(frame: u32, label_id: i64, [cx, cy, bw, bh]: [f64; 4], (w, h): (f64, f64)) -> Shape {
    let (x1, y1) = ((cx - bw / 2.0) * w, (cy - bh / 2.0) * h);
    new_shape(ShapeType::Rectangle, frame, label_id, vec![x1, y1, x1 + bw * w, y1 + bh * h])
}

/// A plain shape read from a file, with nothing but its geometry.
pub(crate) fn new_shape(kind: ShapeType, frame: u32, label_id: i64, points: Vec<f64>) -> Shape {
    Shape {
        kind,
        occluded: false,
        outside: false,
        z_order: 0,
        rotation: 0.0,
        points,
        id: None,
        frame,
        label_id,
        group: None,
        source: Source::Manual,
        attributes: Vec::new(),
        score: None,
        elements: Vec::new(),
    }
}
