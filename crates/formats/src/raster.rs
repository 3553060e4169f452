//! Shapes as pixels, for the formats that carry areas as images or run lengths (VOC,
//! Segmentation mask, COCO's RLE), as CVAT's exporters make them: masks from their runs;
//! polygons and boxes (turned by their rotation) as pycocotools rasterises them
//! (`polygons_to_masks`, `boxes_to_masks`); ellipses as OpenCV's `ellipse` fills them
//! (CVAT's `EllipsesToMasks`): the outline as a polygon of the arc every few degrees
//! from OpenCV's sine table, in 16-bit fixed point, its edges drawn as 8-connected lines
//! and the inside filled scan line by scan line (checked against OpenCV 4.14,
//! `tests/data/opencv_ellipses.json`).

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
            // CVAT's EllipsesToMasks: centre and axes rounded (Python's round), then
            // `cv2.ellipse(…, angle=rotation, 0, 360, thickness=-1)`.
            let round = |v: f64| v.round_ties_even() as i64;
            let (cx, cy) = (round(p[0]), round(p[1]));
            let axes = (round(p[2] - p[0]).abs(), round(p[1] - p[3]).abs());
            let angle = shape.rotation.round_ties_even() as i64;
            filled_ellipse((cx, cy), axes, angle, width, height, &mut |x, y| out.push((x, y)));
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

/// Fixed-point precision of OpenCV's drawing.
const SHIFT: u32 = 16;
const ONE: i64 = 1 << SHIFT;

/// OpenCV's sine table: `sin` of 0..=450 degrees to seven decimals, as floats.
fn sine(degrees: i64) -> f32 {
    static TABLE: std::sync::LazyLock<Vec<f32>> = std::sync::LazyLock::new(|| {
        (0..=450).map(|d| format!("{:.7}", f64::from(d).to_radians().sin()).parse().unwrap_or(0.0)).collect()
    });
    TABLE[degrees.clamp(0, 450) as usize]
}

/// `cv2.ellipse(img, centre, axes, angle, 0, 360, colour, thickness=-1)` on a
/// `width`×`height` image: `paint` is called for each pixel set (some more than once).
fn filled_ellipse(
    centre: (i64, i64),
    axes: (i64, i64),
    angle: i64,
    width: u32,
    height: u32,
    paint: &mut impl FnMut(u32, u32),
) {
    let (w, h) = (i64::from(width), i64::from(height));
    let mut put = |x: i64, y: i64| {
        if (0..w).contains(&x) && (0..h).contains(&y) {
            paint(x as u32, y as u32);
        }
    };
    let (cx, cy) = (centre.0 << SHIFT, centre.1 << SHIFT);
    let (ax, ay) = (axes.0 << SHIFT, axes.1 << SHIFT);
    let step = match (ax.max(ay) + (ONE >> 1)) >> SHIFT {
        d if d < 3 => 90,
        d if d < 10 => 30,
        d if d < 15 => 18,
        _ => 5,
    };
    // ellipse2Poly: the arc every `step` degrees, turned by the angle.
    let mut angle = angle;
    while angle < 0 {
        angle += 360;
    }
    while angle > 360 {
        angle -= 360;
    }
    let (cos, sin) = (f64::from(sine(450 - angle)), f64::from(sine(angle)));
    let mut outline: Vec<(i64, i64)> = Vec::new();
    for at in (0..360 + step).step_by(step as usize) {
        let at = at.min(360);
        let x = ax as f64 * f64::from(sine(450 - at));
        let y = ay as f64 * f64::from(sine(at));
        let (px, py) = (cx as f64 + x * cos - y * sin, cy as f64 + x * sin + y * cos);
        let fixed = |v: f64| {
            let whole = ((v / ONE as f64).round_ties_even() as i64) << SHIFT;
            whole + (v - whole as f64).round_ties_even() as i64
        };
        let point = (fixed(px), fixed(py));
        if outline.last() != Some(&point) {
            outline.push(point);
        }
    }
    if outline.len() == 1 {
        outline = vec![(cx, cy); 2];
    }
    fill_convex(&outline, w, h, &mut put);
}

/// OpenCV's `FillConvexPoly` (8-connected, 16-bit fixed point): the edges drawn as
/// lines, then each scan line between the left and right edge.
fn fill_convex(v: &[(i64, i64)], w: i64, h: i64, put: &mut impl FnMut(i64, i64)) {
    let n = v.len();
    let half = ONE >> 1;
    let mut previous = v[n - 1];
    let (mut ymin, mut ymax, mut xmin, mut xmax, mut imin) = (v[0].1, v[0].1, v[0].0, v[0].0, 0);
    for (i, &p) in v.iter().enumerate() {
        if p.1 < ymin {
            ymin = p.1;
            imin = i;
        }
        (ymax, xmax, xmin) = (ymax.max(p.1), xmax.max(p.0), xmin.min(p.0));
        line(previous, p, w, h, put);
        previous = p;
    }
    let (xmin, xmax, ymin, ymax) =
        ((xmin + half) >> SHIFT, (xmax + half) >> SHIFT, (ymin + half) >> SHIFT, (ymax + half) >> SHIFT);
    if n < 3 || xmax < 0 || ymax < 0 || xmin >= w || ymin >= h {
        return;
    }
    let ymax = ymax.min(h - 1);
    #[derive(Clone, Copy)]
    struct Edge {
        idx: usize,
        di: usize,
        x: i64,
        dx: i64,
        ye: i64,
    }
    let mut edge =
        [Edge { idx: imin, di: 1, x: -ONE, dx: 0, ye: ymin }, Edge { idx: imin, di: n - 1, x: -ONE, dx: 0, ye: ymin }];
    let mut edges = n as i64;
    let mut y = ymin;
    loop {
        for e in edge.iter_mut() {
            if y < e.ye {
                continue;
            }
            let (mut idx0, di) = (e.idx, e.di);
            let mut idx = (idx0 + di) % n;
            loop {
                let more = edges > 0;
                edges -= 1;
                if !more {
                    break;
                }
                let ty = (v[idx].1 + half) >> SHIFT;
                if ty > y {
                    let (xs, xe) = (v[idx0].0, v[idx].0);
                    e.ye = ty;
                    e.dx = ((xe - xs) * 2 + (ty - y)) / (2 * (ty - y));
                    e.x = xs;
                    e.idx = idx;
                    break;
                }
                idx0 = idx;
                idx = (idx + di) % n;
            }
        }
        if edges < 0 {
            break;
        }
        if y >= 0 {
            let (left, right) = if edge[0].x > edge[1].x { (1, 0) } else { (0, 1) };
            let (x1, x2) = ((edge[left].x + half) >> SHIFT, (edge[right].x + half) >> SHIFT);
            if x2 >= 0 && x1 < w {
                for x in x1.max(0)..=x2.min(w - 1) {
                    put(x, y);
                }
            }
        }
        edge[0].x += edge[0].dx;
        edge[1].x += edge[1].dx;
        y += 1;
        if y > ymax {
            break;
        }
    }
}

/// OpenCV's `Line2`: an 8-connected line between two fixed-point points, clipped to the
/// image.
fn line(mut p1: (i64, i64), mut p2: (i64, i64), w: i64, h: i64, put: &mut impl FnMut(i64, i64)) {
    if !clip(w << SHIFT, h << SHIFT, &mut p1, &mut p2) {
        return;
    }
    let (dx, dy) = (p2.0 - p1.0, p2.1 - p1.1);
    let (ax, ay) = (dx.abs(), dy.abs());
    let (x_step, y_step, count);
    if ax > ay {
        if dx < 0 {
            std::mem::swap(&mut p1, &mut p2);
        }
        let dy = if dx < 0 { -dy } else { dy };
        (x_step, y_step) = (ONE, (dy << SHIFT) / (ax | 1));
        count = (p2.0 - p1.0) >> SHIFT;
    } else {
        if dy < 0 {
            std::mem::swap(&mut p1, &mut p2);
        }
        let dx = if dy < 0 { -dx } else { dx };
        (x_step, y_step) = ((dx << SHIFT) / (ay | 1), ONE);
        count = (p2.1 - p1.1) >> SHIFT;
    }
    let half = ONE >> 1;
    let (mut x, mut y) = (p1.0 + half, p1.1 + half);
    put((p2.0 + half) >> SHIFT, (p2.1 + half) >> SHIFT);
    if ax > ay {
        x >>= SHIFT;
        for _ in 0..=count {
            put(x, y >> SHIFT);
            x += 1;
            y += y_step;
        }
    } else {
        y >>= SHIFT;
        for _ in 0..=count {
            put(x >> SHIFT, y);
            x += x_step;
            y += 1;
        }
    }
}

/// OpenCV's `clipLine` on a `width`×`height` area: false when the line misses it.
fn clip(width: i64, height: i64, p1: &mut (i64, i64), p2: &mut (i64, i64)) -> bool {
    let (right, bottom) = (width - 1, height - 1);
    if width <= 0 || height <= 0 {
        return false;
    }
    let code = |p: (i64, i64)| {
        i64::from(p.0 < 0) + i64::from(p.0 > right) * 2 + i64::from(p.1 < 0) * 4 + i64::from(p.1 > bottom) * 8
    };
    let (mut c1, mut c2) = (code(*p1), code(*p2));
    if (c1 & c2) == 0 && (c1 | c2) != 0 {
        if c1 & 12 != 0 {
            let a = if c1 < 8 { 0 } else { bottom };
            p1.0 += (a - p1.1) * (p2.0 - p1.0) / (p2.1 - p1.1);
            p1.1 = a;
            c1 = i64::from(p1.0 < 0) + i64::from(p1.0 > right) * 2;
        }
        if c2 & 12 != 0 {
            let a = if c2 < 8 { 0 } else { bottom };
            p2.0 += (a - p2.1) * (p2.0 - p1.0) / (p2.1 - p1.1);
            p2.1 = a;
            c2 = i64::from(p2.0 < 0) + i64::from(p2.0 > right) * 2;
        }
        if (c1 & c2) == 0 && (c1 | c2) != 0 {
            if c1 != 0 {
                let a = if c1 == 1 { 0 } else { right };
                p1.1 += (a - p1.0) * (p2.1 - p1.1) / (p2.0 - p1.0);
                p1.0 = a;
                c1 = 0;
            }
            if c2 != 0 {
                let a = if c2 == 1 { 0 } else { right };
                p2.1 += (a - p2.0) * (p2.1 - p1.1) / (p2.0 - p1.0);
                p2.0 = a;
                c2 = 0;
            }
        }
    }
    (c1 | c2) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::shape;

    /// Ellipses and the pixels CVAT's EllipsesToMasks sets for them (OpenCV 4.14).
    #[test]
    fn ellipses_are_opencvs() {
        for case in &crate::test_support::cases(include_str!("../tests/data/opencv_ellipses.json")) {
            let (width, height) = (case["width"].as_u64().unwrap() as u32, case["height"].as_u64().unwrap() as u32);
            let points = serde_json::from_value(case["points"].clone()).unwrap();
            let shape = shape(ShapeType::Ellipse, 1, points, case["rotation"].as_f64().unwrap(), 0, 0);
            let mut mask = vec![b'0'; (width * height) as usize];
            for (x, y) in pixels(&shape, width, height) {
                mask[(y * width + x) as usize] = b'1';
            }
            assert_eq!(String::from_utf8(mask).unwrap(), case["mask"].as_str().unwrap(), "{case}");
        }
    }
}
