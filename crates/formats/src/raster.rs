//! Shapes as pixels, for the formats that carry areas as images or run lengths (VOC,
//! Segmentation mask, COCO's RLE): masks from their runs; polygons and boxes (turned by
//! their rotation) as pycocotools rasterises them, which is how CVAT's exporters paint
//! them (`polygons_to_masks`, `boxes_to_masks`); ellipses by testing each pixel's centre
//! (CVAT draws them with OpenCV, whose outline may differ by a pixel).

use crate::coco_area::polygon_runs;
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
            let outline: Vec<f64> = match shape.kind {
                ShapeType::Rectangle if p.len() >= 4 => crate::ultralytics::rotated_corners(&p[..4], shape.rotation)
                    .map_or(Vec::new(), |corners| corners.iter().flat_map(|&(x, y)| [x, y]).collect()),
                _ => p.clone(),
            };
            let h = u64::from(height.max(1));
            for (start, stop) in polygon_runs(&outline, width, height) {
                out.extend((start..stop).map(|at| ((at / h) as u32, (at % h) as u32)));
            }
        }
        _ => {}
    }
    out
}
