//! Shapes as pixels, for the formats that carry areas as images or run lengths (VOC,
//! Segmentation mask, COCO's RLE): masks from their runs, ellipses, polygons and boxes by
//! testing each pixel's centre (OpenCV's outline may differ by a pixel).

use crate::frames::FrameShape;
use cvat_annotations::ShapeType;

/// The pixels a mask, an ellipse, a polygon or a box covers on a `width`×`height` image
/// (other shapes cover none).
pub(crate) fn pixels(shape: &FrameShape, width: u32, height: u32) -> Vec<(u32, u32)> {
    let p = &shape.points;
    let inside = |x: i64, y: i64| x >= 0 && y >= 0 && x < i64::from(width) && y < i64::from(height);
    let mut out = Vec::new();
    match shape.kind {
        ShapeType::Mask if p.len() >= 4 => {
            let n = p.len() - 4;
            let (left, top, right) = (p[n] as i64, p[n + 1] as i64, p[n + 2] as i64);
            let box_width = (right - left + 1).max(1);
            let mut at = 0i64;
            for (i, run) in p[..n].iter().enumerate() {
                let run = *run as i64;
                if i % 2 == 1 {
                    for k in at..at + run {
                        let (x, y) = (left + k % box_width, top + k / box_width);
                        if inside(x, y) {
                            out.push((x as u32, y as u32));
                        }
                    }
                }
                at += run;
            }
        }
        ShapeType::Ellipse if p.len() >= 4 => {
            let (cx, cy, rx, ry) = (p[0], p[1], (p[2] - p[0]).abs().max(0.5), (p[1] - p[3]).abs().max(0.5));
            let (sin, cos) = shape.rotation.to_radians().sin_cos();
            let reach = rx.max(ry).ceil() as i64 + 1;
            for y in (cy as i64 - reach)..=(cy as i64 + reach) {
                for x in (cx as i64 - reach)..=(cx as i64 + reach) {
                    let (dx, dy) = (x as f64 - cx, y as f64 - cy);
                    let (u, v) = (dx * cos + dy * sin, -dx * sin + dy * cos);
                    if (u / rx).powi(2) + (v / ry).powi(2) <= 1.0 && inside(x, y) {
                        out.push((x as u32, y as u32));
                    }
                }
            }
        }
        ShapeType::Polygon | ShapeType::Rectangle => {
            let corners: Vec<(f64, f64)> = match shape.kind {
                ShapeType::Rectangle if p.len() >= 4 => {
                    crate::ultralytics::rotated_corners(&p[..4], shape.rotation).map_or(Vec::new(), |c| c.to_vec())
                }
                _ => p.chunks(2).filter(|c| c.len() == 2).map(|c| (c[0], c[1])).collect(),
            };
            fill_polygon(&corners, &mut |x, y| {
                if inside(x, y) {
                    out.push((x as u32, y as u32));
                }
            });
        }
        _ => {}
    }
    out
}

/// Calls `paint` for every pixel whose centre (integer coordinates) is inside the
/// polygon or on its outline, row by row (even-odd rule; the bottom row is taken just
/// above the lowest corner, so that outline belongs to the shape too).
fn fill_polygon(corners: &[(f64, f64)], paint: &mut impl FnMut(i64, i64)) {
    if corners.len() < 3 {
        return;
    }
    let min_y = corners.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
    let max_y = corners.iter().map(|c| c.1).fold(f64::NEG_INFINITY, f64::max);
    for y in min_y.ceil() as i64..=max_y.floor() as i64 {
        let row = (y as f64).min(max_y - 1e-9);
        let mut crossings: Vec<f64> = Vec::new();
        for (i, &(x0, y0)) in corners.iter().enumerate() {
            let (x1, y1) = corners[(i + 1) % corners.len()];
            if (y0 <= row && row < y1) || (y1 <= row && row < y0) {
                crossings.push(x0 + (row - y0) / (y1 - y0) * (x1 - x0));
            }
        }
        crossings.sort_by(f64::total_cmp);
        for pair in crossings.chunks(2) {
            if let [left, right] = pair {
                // A hair of slack: the bottom row is taken a hair above the corner.
                for x in (left - 1e-6).ceil() as i64..=(right + 1e-6).floor() as i64 {
                    paint(x, y);
                }
            }
        }
    }
}
