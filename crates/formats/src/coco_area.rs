//! Polygons as COCO's pixels: what pycocotools' polygon rasteriser (`rleFrPoly`, which
//! CVAT's exports go through) marks on an image of the frame's size, for an instance's
//! `area` and for polygons joining a mask instance's RLE. Its rule, followed here:
//!
//! 1. Corners are scaled ×5 and rounded (`(int)(5·v + 0.5)`, truncating toward zero);
//!    the outline is closed.
//! 2. Each edge is walked one unit at a time along its longer axis, the other coordinate
//!    rounded from the edge's slope (edges always walked from their lower end).
//! 3. Wherever the walk changes column, it leaves a boundary point: the column
//!    (`(x + 0.5) / 5 - 0.5` of the left one of the two) if it is a whole pixel column
//!    inside the image, and the row `ceil((min(y) + 0.5) / 5 - 0.5)`, clamped to
//!    `0..=height`.
//! 4. The boundary points, as column-major offsets `column·height + row`, sorted, toggle
//!    between outside and inside (a point met twice toggles back).

/// Column-major offsets (`x·height + y`) where the inside of `points` (x, y pairs)
/// starts and stops, sorted; the pixels from an even-numbered entry to the next one are
/// inside.
fn boundaries(points: &[f64], width: u32, height: u32) -> Vec<u64> {
    const SCALE: f64 = 5.0;
    let corners: Vec<(i64, i64)> = points
        .chunks_exact(2)
        .map(|p| ((SCALE * p[0] + 0.5) as i32 as i64, (SCALE * p[1] + 0.5) as i32 as i64))
        .collect();
    let Some(&first) = corners.first() else { return Vec::new() };
    let mut walk: Vec<(i64, i64)> = Vec::new();
    for (k, &(x0, y0)) in corners.iter().enumerate() {
        let (x1, y1) = corners.get(k + 1).copied().unwrap_or(first);
        let (dx, dy) = ((x1 - x0).abs(), (y1 - y0).abs());
        // Walked from the end with the smaller coordinate on the longer axis.
        let flip = (dx >= dy && x0 > x1) || (dx < dy && y0 > y1);
        let ((xs, ys), (xe, ye)) = if flip { ((x1, y1), (x0, y0)) } else { ((x0, y0), (x1, y1)) };
        if dx >= dy {
            let slope = if dx == 0 { 0.0 } else { (ye - ys) as f64 / dx as f64 };
            for d in 0..=dx {
                let t = if flip { dx - d } else { d };
                walk.push((t + xs, (ys as f64 + slope * t as f64 + 0.5) as i64));
            }
        } else {
            let slope = (xe - xs) as f64 / dy as f64;
            for d in 0..=dy {
                let t = if flip { dy - d } else { d };
                walk.push(((xs as f64 + slope * t as f64 + 0.5) as i64, t + ys));
            }
        }
    }
    let (w, h) = (f64::from(width), f64::from(height));
    let mut offsets: Vec<u64> = walk
        .windows(2)
        .filter(|pair| pair[0].0 != pair[1].0)
        .filter_map(|pair| {
            let ((u0, v0), (u1, v1)) = (pair[0], pair[1]);
            let column = (if u1 < u0 { u1 } else { u1 - 1 } as f64 + 0.5) / SCALE - 0.5;
            if column.floor() != column || column < 0.0 || column > w - 1.0 {
                return None;
            }
            let row = ((v0.min(v1) as f64 + 0.5) / SCALE - 0.5).clamp(0.0, h).ceil();
            Some(column as u64 * u64::from(height) + row as u64)
        })
        .collect();
    offsets.sort_unstable();
    offsets
}

/// The runs of pixels inside `points` on a `width`×`height` frame, as column-major
/// offset ranges (`start..stop` of `x·height + y`), in order.
pub(crate) fn polygon_runs(points: &[f64], width: u32, height: u32) -> Vec<(u64, u64)> {
    let mut marks = boundaries(points, width, height);
    marks.push(u64::from(width) * u64::from(height));
    // From an even-numbered mark to the next one is inside (a repeated mark gives an
    // empty run, which is how a point met twice cancels).
    marks.chunks_exact(2).map(|run| (run[0], run[1])).filter(|(a, b)| a < b).collect()
}

/// The area (in pixels) of the union of `polygons` on a `width`×`height` frame, as
/// pycocotools counts it.
pub(crate) fn polygons_area<'a>(polygons: impl Iterator<Item = &'a [f64]>, width: u32, height: u32) -> f64 {
    let mut inside: Vec<(u64, u64)> = polygons.flat_map(|points| polygon_runs(points, width, height)).collect();
    inside.sort_unstable();
    let (mut area, mut reached) = (0u64, 0u64);
    for (start, stop) in inside {
        let start = start.max(reached);
        if stop > start {
            area += stop - start;
            reached = stop;
        }
    }
    area as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Areas pycocotools 2.0.11 gives (`area(merge(frPyObjects(polygons, h, w)))`).
    #[test]
    fn areas_match_pycocotools() {
        let cases: &[(&[&[f64]], u32, u32, f64)] = &[
            (&[&[0.0, 400.0, 320.0, 300.0, 640.0, 400.0]], 640, 480, 32000.0),
            (&[&[10.0, 20.0, 110.0, 20.0, 110.0, 70.0, 10.0, 70.0]], 640, 480, 5000.0),
            (&[&[1.3, 2.7, 15.2, 3.1, 9.9, 12.6]], 20, 20, 65.0),
            (&[&[-5.0, -5.0, 8.4, 1.2, 3.3, 9.9, 0.2, 30.0]], 16, 16, 78.0),
            (&[&[2.0, 2.0, 10.0, 2.0, 10.0, 10.0, 6.0, 4.0, 2.0, 10.0]], 12, 12, 40.0),
            (&[&[0.5, 0.5, 4.5, 0.5, 4.5, 4.5, 0.5, 4.5], &[2.5, 2.5, 6.5, 2.5, 6.5, 6.5, 2.5, 6.5]], 8, 8, 28.0),
            (&[&[100.25, 50.75, 300.5, 60.125, 250.0, 200.0, 120.0, 180.5]], 320, 240, 22481.0),
        ];
        for (polygons, width, height, expected) in cases {
            assert_eq!(polygons_area(polygons.iter().copied(), *width, *height), *expected, "{polygons:?}");
        }
    }

    /// 300 random polygon sets (corners outside the frame, fractions, self-crossings,
    /// several per instance) with the areas pycocotools 2.0.11 gave them.
    #[test]
    fn random_polygons_match_pycocotools() {
        for case in crate::test_support::cases(include_str!("../tests/data/pycocotools_areas.json")) {
            let polygons: Vec<Vec<f64>> = serde_json::from_value(case["polygons"].clone()).unwrap();
            let (width, height) = (case["width"].as_u64().unwrap() as u32, case["height"].as_u64().unwrap() as u32);
            let area = polygons_area(polygons.iter().map(Vec::as_slice), width, height);
            assert_eq!(area, case["area"].as_f64().unwrap(), "{case}");
        }
    }
}
