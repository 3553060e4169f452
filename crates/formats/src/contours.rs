//! Masks traced into polygons, as CVAT's imports do with `conv_mask_to_poly` (datumaro's
//! `mask_to_polygons`): the outer borders of the mask's parts as OpenCV 4's
//! `findContours(RETR_EXTERNAL, CHAIN_APPROX_TC89_KCOS)` finds them — Suzuki and Abe's
//! border following over the mask framed by a row and column of background, then Teh
//! and Chin's k-cosine approximation of each border's chain code — in OpenCV's order
//! (the last border found first). A border of at most two points is dropped, the others
//! are closed by repeating their first point and kept when pycocotools' rasteriser
//! gives them an area of at least one pixel. Checked against OpenCV's own output
//! (`tests/data/opencv_contours.json`).

use crate::coco_area::polygons_area;

/// The polygons (x, y pairs) CVAT makes of a mask (`mask[y * width + x]`).
pub(crate) fn mask_polygons(mask: &[bool], width: u32, height: u32) -> Vec<Vec<f64>> {
    external_contours(mask, width as usize, height as usize)
        .into_iter()
        .filter(|contour| contour.len() > 2)
        .map(|mut contour| {
            if contour.first() != contour.last() {
                contour.push(contour[0]);
            }
            contour.iter().flat_map(|&(x, y)| [f64::from(x.max(0)), f64::from(y.max(0))]).collect::<Vec<f64>>()
        })
        .filter(|polygon| polygons_area(std::iter::once(polygon.as_slice()), width, height) >= 1.0)
        .collect()
}

/// Chain code directions: (dx, dy) of code `s` (y grows downwards).
const DELTAS: [(i32, i32); 8] = [(1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1)];

/// Pixel marks while scanning: unvisited foreground, a followed border pixel, and a
/// followed border pixel with background on its right (OpenCV's 8-bit marks).
const BLACK: i8 = 1;
const NEW: i8 = 2;
const RIGHT: i8 = NEW | i8::MIN;

/// The outer borders of the parts of a mask not inside another part's hole, each as its
/// points after the k-cosine approximation.
fn external_contours(mask: &[bool], width: usize, height: usize) -> Vec<Vec<(i32, i32)>> {
    // Framed by one pixel of background on every side.
    let (w, h) = (width + 2, height + 2);
    let mut image = vec![0i8; w * h];
    for y in 0..height {
        for x in 0..width {
            if mask.get(y * width + x) == Some(&true) {
                image[(y + 1) * w + x + 1] = BLACK;
            }
        }
    }
    let step = w as isize;
    let offset = |s: usize| DELTAS[s % 8].0 as isize + DELTAS[s % 8].1 as isize * step;
    let mut found = Vec::new();
    for y in 1..h - 1 {
        // The last border pixel met on this row, as OpenCV tracks it.
        let mut last = (0usize, y);
        let mut prev = 0i8;
        let mut x = 1;
        while x < w - 1 {
            let p = image[y * w + x];
            if p != prev {
                let outer_start = prev == 0 && p == BLACK;
                let hole_start = !outer_start && p == 0 && prev >= 1;
                if hole_start && prev & !1 != 0 {
                    last.0 = x - 1;
                }
                // Holes are not followed, nor outer borders inside another part.
                if outer_start && image[last.1 * w + last.0] <= 0 {
                    last.0 = x;
                    found.push(follow(&mut image, y * w + x, (x as i32 - 1, y as i32 - 1), &offset));
                    // The scan goes on after the start pixel, which is now marked.
                    prev = image[y * w + x];
                    x += 1;
                    continue;
                }
                prev = p;
                if prev & !1 != 0 {
                    last.0 = x;
                }
            }
            x += 1;
        }
    }
    found.reverse();
    found
}

/// Follows the outer border starting at pixel `start` (whose left neighbour is
/// background), marking it, and answers its approximated points (`origin` is the start
/// in the mask's coordinates).
fn follow(image: &mut [i8], start: usize, origin: (i32, i32), offset: &impl Fn(usize) -> isize) -> Vec<(i32, i32)> {
    let at = |i: usize, s: usize| (i as isize + offset(s)) as usize;
    // The first foreground neighbour clockwise from the left one.
    let mut s = 4usize;
    let first = loop {
        s = (s + 7) % 8;
        let neighbour = at(start, s);
        if image[neighbour] != 0 || s == 4 {
            break neighbour;
        }
    };
    let mut codes = Vec::new();
    if s == 4 {
        // A single pixel: back where the search began.
        image[start] = RIGHT;
        return approximate(&codes, origin);
    }
    let mut current = start;
    loop {
        let came_from = s;
        let mut next = current;
        let mut turn = s.min(15);
        while turn < 15 {
            turn += 1;
            next = at(current, turn);
            if image[next] != 0 {
                break;
            }
        }
        s = turn & 7;
        if s >= 1 && s - 1 < came_from {
            image[current] = RIGHT;
        } else if image[current] == BLACK {
            image[current] = NEW;
        }
        codes.push(s as u8);
        if next == start && current == first {
            break;
        }
        current = next;
        s = (s + 4) & 7;
    }
    approximate(&codes, origin)
}

/// One point of the chain during the approximation.
#[derive(Debug, Clone, Copy)]
struct Item {
    point: (i32, i32),
    /// Support region.
    k: usize,
    /// Curvature, as the bits of OpenCV's float (comparable as integers).
    s: i32,
    removed: bool,
}

/// `|difference|` of two successive chain codes as a turn (index `cur - prev + 7`).
const TURN: [i32; 15] = [1, 2, 3, 4, 3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1];

/// Teh–Chin's dominant points of a closed chain (k-cosine curvature), as OpenCV 4
/// computes them, integer and float rounding included.
fn approximate(codes: &[u8], origin: (i32, i32)) -> Vec<(i32, i32)> {
    if codes.is_empty() {
        return vec![origin];
    }
    let len = codes.len();
    let mut items = Vec::with_capacity(len);
    let mut point = origin;
    for i in 0..len {
        let prev = codes[if i == 0 { len - 1 } else { i - 1 }] as i32;
        let cur = codes[i] as i32;
        let s = TURN[(cur - prev + 7) as usize];
        items.push(Item { point, k: 0, s, removed: s == 0 });
        point = (point.0 + DELTAS[cur as usize].0, point.1 + DELTAS[cur as usize].1);
    }
    let n = items.len();
    let back = |i: usize, j: usize| if i >= j { i - j } else { n - j + i };
    let ahead = |i: usize, j: usize| if i + j < n { i + j } else { i + j - n };
    // Pass 1: support regions and curvatures.
    for i in 0..n {
        if items[i].removed {
            continue;
        }
        let k = support(&items, i, &back, &ahead);
        items[i].k = k;
        items[i].s = cosine(&items, i, k, &back, &ahead);
    }
    // Pass 2: non-maxima suppression.
    for i in 0..n {
        let (k2, s) = (items[i].k >> 1, items[i].s);
        let suppressed = (1..=k2).any(|j| items[back(i, j)].s > s || items[ahead(i, j)].s > s);
        if suppressed {
            items[i].s = 0;
            items[i].removed = true;
        }
    }
    // Pass 3: points with a support of one that do not dominate a neighbour.
    for i in 0..n {
        if items[i].removed {
            continue;
        }
        let s = items[i].s;
        if items[i].k == 1 && (s <= items[back(i, 1)].s || s <= items[ahead(i, 1)].s) {
            items[i].s = 0;
            items[i].removed = true;
        }
    }
    items.iter().filter(|item| !item.removed).map(|item| item.point).collect()
}

fn support(
    items: &[Item],
    i: usize,
    back: &impl Fn(usize, usize) -> usize,
    ahead: &impl Fn(usize, usize) -> usize,
) -> usize {
    let (mut d_num, mut l) = (0i32, 0i32);
    let mut k = 1;
    loop {
        let (p1, p2, p) = (items[back(i, k)].point, items[ahead(i, k)].point, items[i].point);
        let (dx, dy) = (p2.0 - p1.0, p2.1 - p1.1);
        let lk = dx * dx + dy * dy;
        let dk_num = (p.0 - p1.0) * dy - (p.1 - p1.1) * dx;
        let d = ((f64::from(d_num) * f64::from(lk) - f64::from(dk_num) * f64::from(l)) as f32).to_bits() as i32;
        if k > 1 && (l >= lk || (d_num > 0 && d <= 0) || (d_num < 0 && d >= 0)) {
            break;
        }
        d_num = dk_num;
        l = lk;
        k += 1;
        if k > items.len() {
            break;
        }
    }
    k - 1
}

fn cosine(
    items: &[Item],
    i: usize,
    k: usize,
    back: &impl Fn(usize, usize) -> usize,
    ahead: &impl Fn(usize, usize) -> usize,
) -> i32 {
    let mut s = 0;
    let p = items[i].point;
    for j in (1..=k).rev() {
        let (p1, p2) = (items[back(i, j)].point, items[ahead(i, j)].point);
        let (dx1, dy1, dx2, dy2) = (p1.0 - p.0, p1.1 - p.1, p2.0 - p.0, p2.1 - p.1);
        if (dx1 | dy1) == 0 || (dx2 | dy2) == 0 {
            break;
        }
        let (dx1, dy1, dx2, dy2) = (f64::from(dx1), f64::from(dy1), f64::from(dx2), f64::from(dy2));
        let cosine =
            f64::from(((dx1 * dx2 + dy1 * dy2) / ((dx1 * dx1 + dy1 * dy1) * (dx2 * dx2 + dy2 * dy2)).sqrt()) as f32);
        let bits = ((cosine + 1.1) as f32).to_bits() as i32;
        if j < k && bits <= s {
            break;
        }
        s = bits;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Masks and what OpenCV 4.14's `findContours(RETR_EXTERNAL, CHAIN_APPROX_TC89_KCOS)`
    /// answered for them (made with opencv-python-headless from PyPI).
    #[test]
    fn borders_are_opencvs() {
        for case in crate::test_support::cases(include_str!("../tests/data/opencv_contours.json")) {
            let (width, height) = (case["width"].as_u64().unwrap() as usize, case["height"].as_u64().unwrap() as usize);
            let mask: Vec<bool> = case["mask"].as_str().unwrap().bytes().map(|b| b == b'1').collect();
            let want: Vec<Vec<(i32, i32)>> = serde_json::from_value(case["contours"].clone()).unwrap();
            assert_eq!(external_contours(&mask, width, height), want, "mask {}", case["mask"]);
        }
    }
}
