//! COCO 1.0 (formats.md §6): `annotations/instances_<subset>.json` (one per subset) with rectangles,
//! polygons, masks and ellipses as instances; tracks become per-frame instances carrying
//! `track_id` and `keyframe`. Polylines, points, skeletons, cuboids and tags have no
//! place in COCO instances and are left out.
//!
//! COCO Keypoints 1.0 (§7): `annotations/person_keypoints_<subset>.json`, categories of
//! the top-level labels with their points and edges, and one annotation per skeleton:
//! its points as `x, y, v` and the box of the present ones, or, for a skeleton grouped
//! with a box, polygon or mask, that instance's box and segmentation. Other shapes are
//! left out.
//!
//! Masks and ellipses (painted, see `raster`) become crowd RLEs (`iscrowd` 1); a polygon
//! instance's `area` is the pixel count pycocotools gives it (`coco_area`), as CVAT's.

use crate::frames::{FrameShape, Frames};
use crate::raster::pixels;
use crate::source::{points_by_skeleton, ExportSource, FrameInfo, LabelInfo};
use crate::Names;
use cvat_annotations::ShapeType;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

#[derive(Serialize)]
struct Image<'a> {
    id: usize,
    width: u32,
    height: u32,
    file_name: &'a str,
    license: u8,
    flickr_url: &'static str,
    coco_url: &'static str,
    date_captured: u8,
}

#[derive(Serialize)]
struct Category<'a> {
    id: usize,
    name: &'a str,
    supercategory: &'a str,
    /// COCO Keypoints: the skeleton's point names and its edges (1-based point numbers).
    #[serde(skip_serializing_if = "Option::is_none")]
    keypoints: Option<Vec<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skeleton: Option<Vec<[u32; 2]>>,
}

#[derive(Serialize)]
struct Instance {
    id: usize,
    image_id: usize,
    category_id: usize,
    segmentation: Value,
    area: f64,
    bbox: [f64; 4],
    iscrowd: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    attributes: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keypoints: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    num_keypoints: Option<usize>,
}

/// Which COCO file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Instances,
    Keypoints,
}

/// The subsets of the export's frames, in order of appearance: one JSON file each.
pub fn subsets(source: &ExportSource) -> Vec<&str> {
    let mut subsets: Vec<&str> = Vec::new();
    for frame in &source.frames {
        if !subsets.contains(&frame.subset.as_str()) {
            subsets.push(&frame.subset);
        }
    }
    subsets
}

/// The JSON file of a subset in the archive.
pub fn file_name(task: Task, subset: &str) -> String {
    match task {
        Task::Instances => format!("annotations/instances_{subset}.json"),
        Task::Keypoints => format!("annotations/person_keypoints_{subset}.json"),
    }
}

/// One subset's file: its frames (image ids count across the whole export) and their
/// instances.
pub fn write(source: &ExportSource, frames: &Frames, subset: &str, task: Task, mut out: impl Write) -> io::Result<()> {
    let names = Names::new(&source.labels);
    let points = points_by_skeleton(&source.labels);
    let in_subset = || source.frames.iter().enumerate().filter(|(_, f)| f.subset == subset);
    out.write_all(br#"{"licenses":[{"name":"","id":0,"url":""}],"info":{"contributor":"","date_created":"","description":"","url":"","version":"","year":""},"categories":"#)?;
    let categories: Vec<Category> = source
        .labels
        .iter()
        .enumerate()
        .filter(|(_, l)| task == Task::Instances || l.parent.is_none())
        .map(|(i, l)| Category {
            id: i + 1,
            name: &l.name,
            supercategory: l.parent.as_deref().unwrap_or(""),
            keypoints: (task == Task::Keypoints).then(|| {
                points.get(l.name.as_str()).map_or(Vec::new(), |p| p.iter().map(|p| p.name.as_str()).collect())
            }),
            skeleton: (task == Task::Keypoints).then(|| edges(&l.svg)),
        })
        .collect();
    serde_json::to_writer(&mut out, &categories)?;
    out.write_all(b",\"images\":[")?;
    for (n, (i, frame)) in in_subset().enumerate() {
        if n > 0 {
            out.write_all(b",")?;
        }
        let image = Image {
            id: i + 1,
            width: frame.width,
            height: frame.height,
            file_name: &frame.name,
            license: 0,
            flickr_url: "",
            coco_url: "",
            date_captured: 0,
        };
        serde_json::to_writer(&mut out, &image)?;
    }
    out.write_all(b"],\"annotations\":[")?;
    let mut next_id = 1;
    for (i, frame) in in_subset() {
        let annotations = frames.at(i)?;
        for members in instances(&annotations.shapes, task) {
            let made = match task {
                Task::Instances => instance(&names, &members, frame.width, frame.height, i + 1, next_id),
                Task::Keypoints => keypoints_instance(&names, &points, &members, frame, i + 1, next_id),
            };
            let Some(instance) = made else { continue };
            if next_id > 1 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut out, &instance)?;
            next_id += 1;
        }
    }
    out.write_all(b"]}")?;
    Ok(())
}

/// A skeleton's edges from its SVG (`data-node-from`/`data-node-to` of each line).
pub(crate) fn edges(svg: &str) -> Vec<[u32; 2]> {
    let number = |line: &str, key: &str| -> Option<u32> {
        let at = line.find(key)? + key.len();
        line[at..].trim_start_matches(['=', '"', '\'']).split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    };
    svg.split("<line")
        .skip(1)
        .filter_map(|line| {
            let line = &line[..line.find('>').unwrap_or(line.len())];
            Some([number(line, "data-node-from")?, number(line, "data-node-to")?])
        })
        .collect()
}

/// One skeleton of an instance as a COCO Keypoints annotation: with the box and
/// segmentation of what it is grouped with, or else the box of its present points.
fn keypoints_instance(
    names: &Names,
    points: &HashMap<&str, Vec<&LabelInfo>>,
    members: &[&FrameShape],
    frame: &FrameInfo,
    image_id: usize,
    id: usize,
) -> Option<Instance> {
    let skeleton = members.iter().find(|s| s.kind == ShapeType::Skeleton)?;
    let others: Vec<&FrameShape> = members.iter().copied().filter(|s| s.kind != ShapeType::Skeleton).collect();
    let slots = points.get(names.label(skeleton.label_id)).map_or(&[][..], Vec::as_slice);
    let mut keypoints = Vec::with_capacity(slots.len() * 3);
    let mut present = Vec::new();
    for slot in slots {
        let point = skeleton.elements.iter().find(|e| e.label_id == slot.id);
        let (x, y, v) = match point {
            Some(p) if p.points.len() >= 2 => (
                p.points[0],
                p.points[1],
                if p.outside {
                    0
                } else if p.occluded {
                    1
                } else {
                    2
                },
            ),
            _ => (0.0, 0.0, 0),
        };
        if v > 0 {
            present.push([x, y, 0.0, 0.0]);
        }
        keypoints.extend([serde_json::json!(x), serde_json::json!(y), serde_json::json!(v)]);
    }
    let mut instance = match others.is_empty() {
        true => {
            let bbox = union(present.into_iter()).map(round2);
            let mut attributes = names.typed_values(skeleton.label_id, &skeleton.attributes);
            attributes.insert("occluded".into(), Value::Bool(skeleton.occluded));
            if let Some((track, _)) = skeleton.track {
                attributes.insert("track_id".into(), serde_json::json!(track));
            }
            attributes.insert("keyframe".into(), Value::Bool(skeleton.track.is_some_and(|(_, k)| k)));
            Instance {
                id,
                image_id,
                category_id: names.index(skeleton.label_id)? + 1,
                segmentation: Value::Array(Vec::new()),
                area: bbox[2] * bbox[3],
                bbox,
                iscrowd: 0,
                score: None,
                attributes,
                keypoints: None,
                num_keypoints: None,
            }
        }
        false => {
            let mut instance = instance(names, &others, frame.width, frame.height, image_id, id)?;
            instance.category_id = names.index(skeleton.label_id)? + 1;
            instance
        }
    };
    instance.num_keypoints = Some(keypoints.chunks(3).filter(|p| p[2] != 0).count());
    instance.keypoints = Some(keypoints);
    Some(instance)
}

/// The shapes a COCO file carries, as instances: ungrouped shapes alone, a group's
/// together (skeletons only in COCO Keypoints).
fn instances(shapes: &[FrameShape], task: Task) -> Vec<Vec<&FrameShape>> {
    let mut alone = Vec::new();
    let mut groups: BTreeMap<i64, Vec<&FrameShape>> = BTreeMap::new();
    for shape in shapes {
        let carried = match shape.kind {
            ShapeType::Rectangle | ShapeType::Polygon | ShapeType::Mask | ShapeType::Ellipse => true,
            ShapeType::Skeleton => task == Task::Keypoints,
            _ => false,
        };
        if !carried {
            continue;
        }
        if shape.group == 0 {
            alone.push(vec![shape]);
        } else {
            groups.entry(shape.group).or_default().push(shape);
        }
    }
    alone.extend(groups.into_values());
    alone
}

/// `[x, y, w, h]` of a shape.
fn bounds(shape: &FrameShape) -> [f64; 4] {
    let p = &shape.points;
    match shape.kind {
        ShapeType::Mask if p.len() >= 4 => {
            let n = p.len() - 4;
            [p[n], p[n + 1], p[n + 2] - p[n] + 1.0, p[n + 3] - p[n + 1] + 1.0]
        }
        ShapeType::Ellipse if p.len() >= 4 => {
            let (rx, ry) = ((p[2] - p[0]).abs(), (p[1] - p[3]).abs());
            [p[0] - rx, p[1] - ry, 2.0 * rx, 2.0 * ry]
        }
        _ => {
            let xs = p.iter().step_by(2);
            let ys = p.iter().skip(1).step_by(2);
            let (x0, x1) = xs.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
            let (y0, y1) = ys.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
            if x0 > x1 || y0 > y1 {
                [0.0; 4]
            } else {
                [x0, y0, x1 - x0, y1 - y0]
            }
        }
    }
}

fn union(boxes: impl Iterator<Item = [f64; 4]>) -> [f64; 4] {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for [x, y, w, h] in boxes {
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + w), y1.max(y + h));
    }
    if x0 > x1 {
        [0.0; 4]
    } else {
        [x0, y0, x1 - x0, y1 - y0]
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn instance(
    names: &Names,
    members: &[&FrameShape],
    width: u32,
    height: u32,
    image_id: usize,
    id: usize,
) -> Option<Instance> {
    let leader = members.iter().max_by(|a, b| {
        let (ba, bb) = (bounds(a), bounds(b));
        (ba[2] * ba[3]).total_cmp(&(bb[2] * bb[3]))
    })?;
    let boxes: Vec<&FrameShape> = members.iter().copied().filter(|s| s.kind == ShapeType::Rectangle).collect();
    let polygons: Vec<&FrameShape> = members.iter().copied().filter(|s| s.kind == ShapeType::Polygon).collect();
    let masks: Vec<&FrameShape> =
        members.iter().copied().filter(|s| matches!(s.kind, ShapeType::Mask | ShapeType::Ellipse)).collect();
    let (segmentation, area, bbox, iscrowd) = if !masks.is_empty() {
        // The instance's polygons join its masks in the one RLE.
        let painted: Vec<&FrameShape> = masks.iter().chain(&polygons).copied().collect();
        let (counts, area, bbox) = coco_rle(&painted, width, height);
        (serde_json::json!({"counts": counts, "size": [height, width]}), area as f64, bbox, 1)
    } else if !polygons.is_empty() {
        let parts: Vec<Value> = polygons.iter().map(|p| serde_json::json!(p.points)).collect();
        let area = crate::coco_area::polygons_area(polygons.iter().map(|p| p.points.as_slice()), width, height);
        let bbox = if boxes.is_empty() {
            union(polygons.iter().map(|p| bounds(p)))
        } else {
            union(boxes.iter().map(|b| bounds(b)))
        };
        (Value::Array(parts), area, bbox, 0)
    } else {
        let bbox = union(members.iter().map(|m| bounds(m)));
        (Value::Array(Vec::new()), bbox[2] * bbox[3], bbox, 0)
    };
    let mut attributes = names.typed_values(leader.label_id, &leader.attributes);
    let score = attributes.remove("score").and_then(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()));
    attributes.remove("is_crowd");
    attributes.insert("occluded".into(), Value::Bool(leader.occluded));
    if matches!(leader.kind, ShapeType::Rectangle | ShapeType::Ellipse) {
        attributes.insert("rotation".into(), serde_json::json!(leader.rotation));
    }
    if let Some((track, keyframe)) = leader.track {
        attributes.insert("track_id".into(), serde_json::json!(track));
        attributes.insert("keyframe".into(), Value::Bool(keyframe));
    }
    Some(Instance {
        id,
        image_id,
        category_id: names.index(leader.label_id)? + 1,
        segmentation,
        area,
        bbox: bbox.map(round2),
        iscrowd,
        score,
        attributes,
        keypoints: None,
        num_keypoints: None,
    })
}

/// The masks and ellipses painted into one image, with the polygons of the instance
/// rasterised as pycocotools does, as COCO's uncompressed RLE (column-major counts
/// starting with a run of zeros), the number of pixels set, and the box `[x, y, w, h]` of
/// those pixels.
pub(crate) fn coco_rle(masks: &[&FrameShape], width: u32, height: u32) -> (Vec<u64>, u64, [f64; 4]) {
    let (w, h) = (width as usize, height as usize);
    let mut set = vec![false; w * h];
    let (mut left, mut top, mut right, mut bottom) = (usize::MAX, usize::MAX, 0, 0);
    let mut paint = |x: usize, y: usize| {
        set[y * w + x] = true;
        (left, top, right, bottom) = (left.min(x), top.min(y), right.max(x), bottom.max(y));
    };
    for mask in masks {
        pixels(mask, width, height).into_iter().for_each(|(x, y)| paint(x as usize, y as usize));
    }
    let mut counts = Vec::new();
    let (mut current, mut run, mut area) = (false, 0u64, 0u64);
    for x in 0..w {
        for y in 0..h {
            let value = set[y * w + x];
            area += u64::from(value);
            if value != current {
                counts.push(run);
                (current, run) = (value, 0);
            }
            run += 1;
        }
    }
    counts.push(run);
    let bbox = match area {
        0 => [0.0; 4],
        _ => [left as f64, top as f64, (right - left + 1) as f64, (bottom - top + 1) as f64],
    };
    (counts, area, bbox)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(points: Vec<f64>) -> FrameShape {
        FrameShape {
            kind: ShapeType::Mask,
            label_id: 1,
            points,
            rotation: 0.0,
            occluded: false,
            outside: false,
            z_order: 0,
            group: 0,
            source: Default::default(),
            attributes: Vec::new(),
            elements: Vec::new(),
            track: None,
        }
    }

    #[test]
    fn cvat_mask_becomes_the_documented_coco_rle() {
        // formats.md §2.2/§2.3: box (2,1)-(4,2), rows 011/110, in a 640×480 image.
        let shape = mask(vec![1.0, 4.0, 1.0, 2.0, 1.0, 4.0, 2.0]);
        let (counts, area, _) = coco_rle(&[&shape], 640, 480);
        assert_eq!(counts, vec![962, 1, 478, 2, 478, 1, 305278]);
        assert_eq!(area, 4);
        assert_eq!(bounds(&shape), [2.0, 1.0, 3.0, 2.0]);
    }

    #[test]
    fn polygons_join_a_mask_instance_as_pycocotools_rasterises_them() {
        let square = [10.0, 0.0, 16.0, 0.0, 16.0, 6.0, 10.0, 6.0];
        let polygon = FrameShape { kind: ShapeType::Polygon, points: square.to_vec(), ..mask(Vec::new()) };
        let shape = mask(vec![1.0, 4.0, 1.0, 2.0, 1.0, 4.0, 2.0]);
        let (counts, area, bbox) = coco_rle(&[&shape, &polygon], 20, 10);
        let polygon_area = crate::coco_area::polygons_area([&square[..]].into_iter(), 20, 10);
        assert_eq!(area as f64, 4.0 + polygon_area);
        assert_eq!(counts.iter().sum::<u64>(), 200);
        assert_eq!(bbox[0], 2.0);
    }
}
