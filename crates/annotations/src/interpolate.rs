//! A track's shape on any frame (reference §8): keyframes are stored, frames between
//! them are interpolated, the last visible keyframe lasts to the end, and an `outside`
//! keyframe hides the object until the next keyframe.
//!
//! Per shape type: rectangles, ellipses, cuboids and skeletons (whose elements are
//! tracks of their own) move linearly per coordinate with rotation on the shorter arc;
//! a single point moves linearly, several points keep the earlier keyframe; polygons
//! and polylines with the same number of points move per vertex, otherwise both are
//! resampled to the larger count by relative arc length first (CVAT matches curves by
//! arc length too; it then thins the points, which this does not); masks are not
//! interpolated.

use crate::model::{ShapeType, Track, TrackedShape};

/// The track's shape on `frame`, `None` before its first keyframe. An `outside` shape
/// is returned as such: the object exists but is not visible.
pub fn shape_at(track: &Track, frame: u32) -> Option<TrackedShape> {
    let next = track.shapes.partition_point(|s| s.frame <= frame);
    let before = track.shapes.get(next.checked_sub(1)?)?;
    if before.frame == frame {
        return Some(before.clone());
    }
    let moved = match track.shapes.get(next) {
        Some(after) if !before.outside => between(before, after, frame),
        _ => TrackedShape { id: None, frame, ..before.clone() },
    };
    Some(moved)
}

/// The shape on `frame` strictly between keyframes `a` and `b`.
fn between(a: &TrackedShape, b: &TrackedShape, frame: u32) -> TrackedShape {
    let t = f64::from(frame - a.frame) / f64::from(b.frame - a.frame);
    let (points, rotation) = match a.kind {
        ShapeType::Rectangle | ShapeType::Ellipse | ShapeType::Cuboid | ShapeType::Skeleton => {
            (lerp_points(&a.points, &b.points, t), lerp_angle(a.rotation, b.rotation, t))
        }
        ShapeType::Points if a.points.len() == 2 && b.points.len() == 2 => {
            (lerp_points(&a.points, &b.points, t), a.rotation)
        }
        ShapeType::Polygon | ShapeType::Polyline => (lerp_curve(a, b, t), a.rotation),
        ShapeType::Points | ShapeType::Mask => (a.points.clone(), a.rotation),
    };
    TrackedShape { id: None, frame, points, rotation, ..a.clone() }
}

fn lerp_points(a: &[f64], b: &[f64], t: f64) -> Vec<f64> {
    if a.len() != b.len() {
        return a.to_vec();
    }
    a.iter().zip(b).map(|(x, y)| x + (y - x) * t).collect()
}

/// Along the shorter arc, in [0, 360).
fn lerp_angle(a: f64, b: f64, t: f64) -> f64 {
    let delta = (b - a + 540.0).rem_euclid(360.0) - 180.0;
    (a + delta * t).rem_euclid(360.0)
}

fn lerp_curve(a: &TrackedShape, b: &TrackedShape, t: f64) -> Vec<f64> {
    if a.points.len() == b.points.len() {
        return lerp_points(&a.points, &b.points, t);
    }
    let count = a.points.len().max(b.points.len()) / 2;
    let closed = a.kind == ShapeType::Polygon;
    let ra = resample(&a.points, count, closed);
    let rb = resample(&b.points, count, closed);
    lerp_points(&ra, &rb, t)
}

/// `count` points spread along the curve at equal steps of relative arc length,
/// starting at its first point.
fn resample(points: &[f64], count: usize, closed: bool) -> Vec<f64> {
    let mut vertices: Vec<(f64, f64)> = points.chunks_exact(2).map(|p| (p[0], p[1])).collect();
    if closed {
        if let Some(first) = vertices.first().copied() {
            vertices.push(first);
        }
    }
    let lengths: Vec<f64> = vertices.windows(2).map(|w| (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1)).collect();
    let total: f64 = lengths.iter().sum();
    if total == 0.0 || count < 2 {
        return vertices.iter().cycle().take(count).flat_map(|(x, y)| [*x, *y]).collect();
    }
    // A closed curve's last sample must not repeat its first point.
    let steps = if closed { count } else { count - 1 };
    let mut out = Vec::with_capacity(count * 2);
    let (mut segment, mut walked) = (0, 0.0);
    for i in 0..count {
        let target = total * i as f64 / steps as f64;
        while segment + 1 < lengths.len() && walked + lengths[segment] < target {
            walked += lengths[segment];
            segment += 1;
        }
        let (p, q) = (vertices[segment], vertices[segment + 1]);
        let local = if lengths[segment] == 0.0 { 0.0 } else { ((target - walked) / lengths[segment]).clamp(0.0, 1.0) };
        out.push(p.0 + (q.0 - p.0) * local);
        out.push(p.1 + (q.1 - p.1) * local);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Source;

    fn key(frame: u32, kind: ShapeType, points: &[f64], rotation: f64, outside: bool) -> TrackedShape {
        TrackedShape {
            kind,
            occluded: false,
            outside,
            z_order: 0,
            rotation,
            points: points.to_vec(),
            id: Some(1),
            frame,
            attributes: vec![],
        }
    }

    fn track(shapes: Vec<TrackedShape>) -> Track {
        Track {
            id: Some(1),
            frame: shapes[0].frame,
            label_id: 1,
            group: None,
            source: Source::Manual,
            attributes: vec![],
            shapes,
            elements: vec![],
        }
    }

    #[test]
    fn rectangles_move_linearly_and_last_keyframe_lasts() {
        let t = track(vec![
            key(0, ShapeType::Rectangle, &[0.0, 0.0, 10.0, 10.0], 0.0, false),
            key(10, ShapeType::Rectangle, &[10.0, 20.0, 30.0, 40.0], 0.0, false),
        ]);
        assert_eq!(shape_at(&t, 5).unwrap().points, vec![5.0, 10.0, 20.0, 25.0]);
        assert_eq!(shape_at(&t, 10).unwrap().points, vec![10.0, 20.0, 30.0, 40.0]);
        let later = shape_at(&t, 50).unwrap();
        assert_eq!((later.frame, later.points, later.outside), (50, vec![10.0, 20.0, 30.0, 40.0], false));
        assert!(shape_at(&track(vec![key(3, ShapeType::Rectangle, &[0.0; 4], 0.0, false)]), 2).is_none());
    }

    #[test]
    fn rotation_takes_the_shorter_arc() {
        let t = track(vec![
            key(0, ShapeType::Rectangle, &[0.0; 4], 350.0, false),
            key(4, ShapeType::Rectangle, &[0.0; 4], 10.0, false),
        ]);
        assert_eq!(shape_at(&t, 1).unwrap().rotation, 355.0);
        assert_eq!(shape_at(&t, 2).unwrap().rotation, 0.0);
        assert_eq!(shape_at(&t, 3).unwrap().rotation, 5.0);
    }

    #[test]
    fn outside_hides_until_the_next_keyframe() {
        let t = track(vec![
            key(0, ShapeType::Rectangle, &[0.0, 0.0, 10.0, 10.0], 0.0, false),
            key(4, ShapeType::Rectangle, &[4.0, 4.0, 14.0, 14.0], 0.0, true),
            key(8, ShapeType::Rectangle, &[8.0, 8.0, 18.0, 18.0], 0.0, false),
        ]);
        assert!(!shape_at(&t, 2).unwrap().outside);
        assert_eq!(shape_at(&t, 2).unwrap().points, vec![2.0, 2.0, 12.0, 12.0]);
        let hidden = shape_at(&t, 6).unwrap();
        assert!(hidden.outside);
        assert_eq!(hidden.points, vec![4.0, 4.0, 14.0, 14.0]);
        assert!(!shape_at(&t, 8).unwrap().outside);
    }

    #[test]
    fn points_and_masks() {
        let one = track(vec![
            key(0, ShapeType::Points, &[0.0, 0.0], 0.0, false),
            key(2, ShapeType::Points, &[2.0, 4.0], 0.0, false),
        ]);
        assert_eq!(shape_at(&one, 1).unwrap().points, vec![1.0, 2.0]);
        let many = track(vec![
            key(0, ShapeType::Points, &[0.0, 0.0, 1.0, 1.0], 0.0, false),
            key(2, ShapeType::Points, &[2.0, 4.0, 3.0, 3.0], 0.0, false),
        ]);
        assert_eq!(shape_at(&many, 1).unwrap().points, vec![0.0, 0.0, 1.0, 1.0]);
        let mask = track(vec![
            key(0, ShapeType::Mask, &[1.0, 0.0, 0.0, 0.0, 0.0], 0.0, false),
            key(2, ShapeType::Mask, &[1.0, 5.0, 5.0, 5.0, 5.0], 0.0, false),
        ]);
        assert_eq!(shape_at(&mask, 1).unwrap().points, vec![1.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn polygons_by_vertex_or_by_arc_length() {
        let square = [0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 0.0, 4.0];
        let moved = [2.0, 0.0, 6.0, 0.0, 6.0, 4.0, 2.0, 4.0];
        let t = track(vec![
            key(0, ShapeType::Polygon, &square, 0.0, false),
            key(2, ShapeType::Polygon, &moved, 0.0, false),
        ]);
        assert_eq!(shape_at(&t, 1).unwrap().points, vec![1.0, 0.0, 5.0, 0.0, 5.0, 4.0, 1.0, 4.0]);
        let line = [0.0, 0.0, 8.0, 0.0];
        let bent = [0.0, 0.0, 4.0, 0.0, 4.0, 4.0];
        let p =
            track(vec![key(0, ShapeType::Polyline, &line, 0.0, false), key(2, ShapeType::Polyline, &bent, 0.0, false)]);
        // Three samples on each: line 0, 4, 8 along x; bent at its corners (equal halves).
        assert_eq!(shape_at(&p, 1).unwrap().points, vec![0.0, 0.0, 4.0, 0.0, 6.0, 2.0]);
    }
}
