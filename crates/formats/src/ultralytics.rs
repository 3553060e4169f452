//! The Ultralytics YOLO formats with one label file per item (formats.md §10): Detection,
//! Detection Track, Oriented Bounding Boxes, Segmentation and Pose. Each writes
//! `data.yaml` (classes by index, `path: .`, a list file per subset; Pose its
//! `kpt_shape`), `<subset>.txt`, `labels/<subset>/<item>.txt` for items that have lines
//! and `images/<subset>/…` when images are saved; the subset `default` is written as
//! `train`. Lines hold normalised coordinates (`%.6f`):
//! - Detection: `cls cx cy w h` of axis-aligned boxes (Track adds the track number);
//! - Oriented Bounding Boxes: `cls` and the four corners of a box, rotated;
//! - Segmentation: `cls x0 y0 x1 y1 …` of polygons, and of masks and ellipses traced
//!   into the polygons of their parts as CVAT traces them (`contours`; an ellipse is
//!   painted first, its pixel centres tested);
//! - Pose: `cls cx cy w h` of a skeleton's present points, then `x y v` per point of the
//!   largest skeleton (`v` 0 absent, 1 occluded, 2 visible; missing points `0.0 0.0 0`).
//!
//! Import reads the same lines back; a last field with a track number makes the shapes
//! of one number a track again (boxes, skeletons and polygons alike). Oriented boxes come
//! back with the rotation their corners show.

use crate::coco_read::rebuild_track;
use crate::contours::mask_polygons;
use crate::darknet::{box_line, box_shape, new_shape, subset_name};
use crate::document::Annotations;
use crate::frames::{per_frame, FrameShape};
use crate::import::{required_text, ImportError, Names as Frames};
use crate::raster::pixels;
use crate::source::{points_by_skeleton, ExportSource, FrameInfo, LabelInfo};
use crate::{item_id, stored, FormatError};
use cvat_annotations::{LabeledData, Shape, ShapeType};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Read, Seek, Write};

/// What the label lines of an Ultralytics dataset hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Detection,
    DetectionTrack,
    OrientedBoxes,
    Segmentation,
    Pose,
}

impl Task {
    /// The format's name as CVAT lists it.
    pub fn name(self) -> &'static str {
        match self {
            Task::Detection => "Ultralytics YOLO Detection 1.0",
            Task::DetectionTrack => "Ultralytics YOLO Detection Track 1.0",
            Task::OrientedBoxes => "Ultralytics YOLO Oriented Bounding Boxes 1.0",
            Task::Segmentation => "Ultralytics YOLO Segmentation 1.0",
            Task::Pose => "Ultralytics YOLO Pose 1.0",
        }
    }

    /// The labels classes are numbered over: top-level ones (Pose: skeletons only).
    fn classes(self, labels: &[LabelInfo]) -> Vec<&LabelInfo> {
        labels.iter().filter(|l| l.parent.is_none() && (self != Task::Pose || l.kind == "skeleton")).collect()
    }
}

pub fn image_path(frame: &FrameInfo, name: &str) -> String {
    format!("images/{}/{name}", subset_name(&frame.subset))
}

/// What the lines of one archive are made from.
struct LineWriter {
    task: Task,
    classes: HashMap<i64, usize>,
    /// Pose: each skeleton's point label ids in order, and the most points of any.
    points: HashMap<i64, Vec<i64>>,
    max_points: usize,
}

impl LineWriter {
    fn line(&self, shape: &FrameShape, frame: &FrameInfo) -> Option<String> {
        let class = *self.classes.get(&shape.label_id)?;
        let (w, h) = (f64::from(frame.width.max(1)), f64::from(frame.height.max(1)));
        let mut line = match (self.task, shape.kind) {
            (Task::Detection | Task::DetectionTrack, ShapeType::Rectangle) if shape.rotation == 0.0 => {
                box_line(class, &shape.points, frame.width, frame.height)?
            }
            (Task::OrientedBoxes, ShapeType::Rectangle) => {
                let corners = rotated_corners(&shape.points, shape.rotation)?;
                normalised(class, corners.iter().flat_map(|(x, y)| [x / w, y / h]))
            }
            (Task::Segmentation, ShapeType::Polygon) => polygon_line(class, &shape.points, frame),
            (Task::Pose, ShapeType::Skeleton) => self.pose_line(class, shape, frame)?,
            _ => return None,
        };
        if let (Task::DetectionTrack, Some((track, _))) = (self.task, shape.track) {
            line.push_str(&format!(" {track}"));
        }
        Some(line)
    }

    /// A shape's lines: one, none, or for a mask or an ellipse in Segmentation one per
    /// part it is traced into.
    fn lines(&self, shape: &FrameShape, frame: &FrameInfo) -> Vec<String> {
        if self.task != Task::Segmentation || !matches!(shape.kind, ShapeType::Mask | ShapeType::Ellipse) {
            return self.line(shape, frame).into_iter().collect();
        }
        let Some(&class) = self.classes.get(&shape.label_id) else { return Vec::new() };
        let mut mask = vec![false; frame.width as usize * frame.height as usize];
        for (x, y) in pixels(shape, frame.width, frame.height) {
            mask[y as usize * frame.width as usize + x as usize] = true;
        }
        mask_polygons(&mask, frame.width, frame.height).iter().map(|p| polygon_line(class, p, frame)).collect()
    }

    /// `cls cx cy w h` of the present points, then `x y v` per point slot.
    fn pose_line(&self, class: usize, shape: &FrameShape, frame: &FrameInfo) -> Option<String> {
        let (w, h) = (f64::from(frame.width.max(1)), f64::from(frame.height.max(1)));
        let slots = self.points.get(&shape.label_id)?;
        let mut present: Vec<(f64, f64)> = Vec::new();
        let mut keypoints = String::new();
        for slot in 0..self.max_points {
            let point = slots.get(slot).and_then(|id| shape.elements.iter().find(|e| e.label_id == *id));
            match point.and_then(|p| Some((p, *p.points.first()?, *p.points.get(1)?))) {
                Some((p, x, y)) => {
                    let visibility = if p.outside {
                        0
                    } else if p.occluded {
                        1
                    } else {
                        2
                    };
                    if visibility > 0 {
                        present.push((x, y));
                    }
                    keypoints.push_str(&format!(" {:.6} {:.6} {visibility}", x / w, y / h));
                }
                None => keypoints.push_str(" 0.0 0.0 0"),
            }
        }
        let (x1, y1, x2, y2) = present
            .iter()
            .fold((f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY), |(a, b, c, d), (x, y)| {
                (a.min(*x), b.min(*y), c.max(*x), d.max(*y))
            });
        let bbox = if present.is_empty() { [0.0; 4] } else { [x1, y1, x2, y2] };
        let mut line = box_line(class, &bbox, frame.width, frame.height)?;
        line.push_str(&keypoints);
        Some(line)
    }
}

/// `cls v0 v1 …` with every value `%.6f`.
fn normalised(class: usize, values: impl Iterator<Item = f64>) -> String {
    let mut line = class.to_string();
    for value in values {
        line.push_str(&format!(" {value:.6}"));
    }
    line
}

/// A box's corners (x1,y1), (x2,y1), (x2,y2), (x1,y2), turned by `rotation` degrees
/// about its centre.
pub(crate) fn rotated_corners(points: &[f64], rotation: f64) -> Option<[(f64, f64); 4]> {
    let &[x1, y1, x2, y2] = points else { return None };
    let (cx, cy) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
    let (sin, cos) = rotation.to_radians().sin_cos();
    let turn = |x: f64, y: f64| (cx + cos * (x - cx) - sin * (y - cy), cy + sin * (x - cx) + cos * (y - cy));
    Some([turn(x1, y1), turn(x2, y1), turn(x2, y2), turn(x1, y2)])
}

pub fn write<W: Write + Seek>(
    source: &ExportSource,
    data: &Annotations,
    zip: &mut zip::ZipWriter<W>,
    task: Task,
) -> Result<(), FormatError> {
    let classed = task.classes(&source.labels);
    let classes: HashMap<i64, usize> = classed.iter().enumerate().map(|(i, l)| (l.id, i)).collect();
    let by_skeleton = points_by_skeleton(&source.labels);
    let points: HashMap<i64, Vec<i64>> = classed
        .iter()
        .map(|l| (l.id, by_skeleton.get(l.name.as_str()).map_or(Vec::new(), |p| p.iter().map(|p| p.id).collect())))
        .collect();
    let max_points = if task == Task::Pose { points.values().map(Vec::len).max().unwrap_or(0) } else { 0 };
    let writer = LineWriter { task, classes, points, max_points };
    let mut lists: BTreeMap<&str, String> = BTreeMap::new();
    for (frame, annotations) in source.frames.iter().zip(per_frame(source, data)) {
        let annotations = annotations?;
        let subset = subset_name(&frame.subset);
        lists.entry(subset).or_default().push_str(&format!("data/images/{subset}/{}\n", frame.name));
        let lines: String = annotations.shapes.iter().flat_map(|s| writer.lines(s, frame)).map(|l| l + "\n").collect();
        if !lines.is_empty() {
            zip.start_file(format!("labels/{subset}/{}.txt", item_id(&frame.name)), stored())?;
            zip.write_all(lines.as_bytes())?;
        }
    }
    // PyYAML's dump: keys sorted, block style.
    let mut keys: BTreeMap<&str, String> = BTreeMap::new();
    let names: String = classed.iter().enumerate().map(|(i, l)| format!("\n  {i}: {}", l.name)).collect();
    keys.insert("names", names);
    keys.insert("path", " .".into());
    if task == Task::Pose {
        keys.insert("kpt_shape", format!("\n- {max_points}\n- 3"));
    }
    for subset in lists.keys() {
        keys.insert(subset, format!(" {subset}.txt"));
    }
    zip.start_file("data.yaml", stored())?;
    for (key, value) in &keys {
        writeln!(zip, "{key}:{value}")?;
    }
    for (subset, list) in &lists {
        zip.start_file(format!("{subset}.txt"), stored())?;
        zip.write_all(list.as_bytes())?;
    }
    Ok(())
}

/// `cls x0 y0 x1 y1 …` of a polygon, normalised by the frame's size.
fn polygon_line(class: usize, points: &[f64], frame: &FrameInfo) -> String {
    let (w, h) = (f64::from(frame.width.max(1)), f64::from(frame.height.max(1)));
    normalised(class, points.chunks(2).flat_map(|p| [p[0] / w, p.get(1).copied().unwrap_or(0.0) / h]))
}

/// Reads an archive of `task`: the `*.yaml` (at the root or one level down; `data.yaml`
/// first), its class names, and for each subset's images (a list file, or the files
/// under a directory) the lines of `labels/…/<item>.txt`.
pub(crate) fn read<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    names: &Frames,
    task: Task,
) -> Result<LabeledData, ImportError> {
    let files: Vec<String> = archive.file_names().map(str::to_string).collect();
    let config_path = files
        .iter()
        .filter(|n| n.ends_with(".yaml") && n.matches('/').count() <= 1)
        .min_by_key(|n| (!n.ends_with("data.yaml"), n.len()))
        .cloned()
        .ok_or_else(|| ImportError::invalid("The archive has no data.yaml for Ultralytics YOLO"))?;
    let root = config_path.rsplit_once('/').map_or(String::new(), |(dir, _)| format!("{dir}/"));
    let config: serde_yaml::Value = serde_yaml::from_str(&required_text(archive, &config_path)?)
        .map_err(|e| ImportError::invalid(format!("{config_path} is not YAML: {e}")))?;
    let keypoints = match (task, config.get("kpt_shape")) {
        (Task::Pose, Some(shape)) => {
            match shape.as_sequence().map(|s| s.iter().map(|v| v.as_u64()).collect::<Vec<_>>()) {
                Some(shape) if matches!(shape[..], [Some(_), Some(2 | 3)]) => {
                    (shape[0].unwrap_or(0) as usize, shape[1].unwrap_or(3) as usize)
                }
                _ => return Err(ImportError::invalid(format!("{config_path}: kpt_shape is not [points, 2 or 3]"))),
            }
        }
        (Task::Pose, None) => {
            return Err(ImportError::invalid(format!("{config_path} has no kpt_shape: a Pose dataset needs it")))
        }
        (_, Some(_)) => {
            return Err(ImportError::invalid(format!("{config_path} has kpt_shape: that is a Pose dataset")))
        }
        (_, None) => (0, 0),
    };
    let classes: Vec<String> = match config.get("names") {
        Some(serde_yaml::Value::Sequence(items)) => {
            items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
        }
        Some(serde_yaml::Value::Mapping(map)) => {
            let mut pairs: Vec<(i64, String)> =
                map.iter().filter_map(|(k, v)| Some((k.as_i64()?, v.as_str()?.to_string()))).collect();
            pairs.sort();
            pairs.into_iter().map(|(_, name)| name).collect()
        }
        _ => return Err(ImportError::invalid(format!("{config_path} has no names"))),
    };
    let mut images = Vec::new();
    for (key, value) in config.as_mapping().into_iter().flatten() {
        let Some(key) = key.as_str() else { continue };
        if matches!(key, "names" | "path" | "kpt_shape" | "flip_idx" | "nc") {
            continue;
        }
        let Some(value) = value.as_str() else { continue };
        if value.ends_with(".txt") {
            let list = required_text(archive, &format!("{root}{value}"))?;
            images.extend(
                list.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| l.trim_start_matches("data/").trim_start_matches("./").to_string()),
            );
        } else {
            let dir = format!("{root}{}/", value.trim_end_matches('/'));
            images.extend(
                files
                    .iter()
                    .filter_map(|f| f.strip_prefix(&root))
                    .filter(|f| f.starts_with(&dir[root.len()..]) && !f.ends_with('/'))
                    .map(str::to_string),
            );
        }
    }
    let mut data = LabeledData::default();
    let mut tracks: BTreeMap<i64, Vec<(bool, Shape)>> = BTreeMap::new();
    for image in images {
        let parts: Vec<&str> = image.split('/').collect();
        let images_at = parts.iter().position(|p| *p == "images").filter(|i| *i <= 1).ok_or_else(|| {
            ImportError::invalid(format!("{image}: an image path has `images` as its first or second directory"))
        })?;
        let item = parts.get(2..).map(|p| p.join("/")).unwrap_or_default();
        let frame = names.frame(&item, None)?;
        let mut label_path: Vec<&str> = parts.clone();
        label_path[images_at] = "labels";
        let label_path = format!("{root}{}.txt", item_id(&label_path.join("/")));
        let lines = match archive.by_name(&label_path) {
            Ok(entry) => std::io::BufReader::new(entry.take(1 << 30)),
            Err(_) => continue,
        };
        for (number, line) in lines.lines().enumerate() {
            let line = line?;
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.is_empty() {
                continue;
            }
            let reader = LineReader { task, keypoints, frame, classes: &classes, config: &config_path };
            let (shape, track) = reader
                .read(&fields, names)
                .map_err(|e| ImportError::invalid(format!("{label_path} line {}: {e}", number + 1)))?;
            match track {
                Some(track) => tracks.entry(track).or_default().push((true, shape)),
                None => data.shapes.push(shape),
            }
        }
    }
    data.tracks.extend(tracks.into_values().map(|shapes| rebuild_track(shapes, names)));
    Ok(data)
}

/// What one label line is read against.
struct LineReader<'a> {
    task: Task,
    /// Pose: the points of a skeleton and the values of a point (`kpt_shape`).
    keypoints: (usize, usize),
    frame: u32,
    classes: &'a [String],
    config: &'a str,
}

impl LineReader<'_> {
    /// The shape of one line, and its track number when it has one.
    fn read(&self, fields: &[&str], names: &Frames) -> Result<(Shape, Option<i64>), String> {
        let (points, values) = self.keypoints;
        let count = fields.len();
        let (expected, tracked) = match self.task {
            Task::Detection | Task::DetectionTrack => ("class cx cy w h [track]".to_string(), count == 6),
            Task::OrientedBoxes => ("class x1 y1 x2 y2 x3 y3 x4 y4 [track]".to_string(), count == 10),
            Task::Segmentation => ("class x0 y0 x1 y1 x2 y2 … [track]".to_string(), count.is_multiple_of(2)),
            Task::Pose => {
                (format!("class cx cy w h, {points} points of {values} values [track]"), count == 6 + points * values)
            }
        };
        let fits = match self.task {
            Task::Detection | Task::DetectionTrack => matches!(count, 5 | 6),
            Task::OrientedBoxes => matches!(count, 9 | 10),
            Task::Segmentation => count >= 7,
            Task::Pose => count == 5 + points * values || count == 6 + points * values,
        };
        if !fits {
            return Err(format!("expected `{expected}`"));
        }
        let end = if tracked { count - 1 } else { count };
        let track = match tracked {
            true => Some(fields[end].parse::<i64>().map_err(|_| "the track number is not a number".to_string())?),
            false => None,
        };
        let class: usize = fields[0].parse().map_err(|_| format!("the class `{}` is not a number", fields[0]))?;
        let name = self.classes.get(class).ok_or_else(|| format!("class {class} is not in {}", self.config))?;
        let label = names.label(name).map_err(|e| e.to_string())?;
        let numbers = fields[1..end]
            .iter()
            .map(|v| v.parse::<f64>().map_err(|_| format!("`{v}` is not a number")))
            .collect::<Result<Vec<f64>, String>>()?;
        let (w, h) = names.size(self.frame);
        let shape = match self.task {
            Task::Detection | Task::DetectionTrack => {
                box_shape(self.frame, label.id, [numbers[0], numbers[1], numbers[2], numbers[3]], (w, h))
            }
            Task::OrientedBoxes => {
                let corners: Vec<(f64, f64)> = numbers.chunks(2).map(|p| (p[0] * w, p[1] * h)).collect();
                let mut shape = new_shape(ShapeType::Rectangle, self.frame, label.id, Vec::new());
                (shape.points, shape.rotation) = unrotated_box(&corners);
                shape
            }
            Task::Segmentation => {
                let points = numbers.chunks(2).flat_map(|p| [p[0] * w, p.get(1).copied().unwrap_or(0.0) * h]).collect();
                new_shape(ShapeType::Polygon, self.frame, label.id, points)
            }
            Task::Pose => {
                let slots = names.points_of(&label.name);
                if slots.is_empty() {
                    return Err(format!("{name} is not a skeleton of the task"));
                }
                let mut shape = new_shape(ShapeType::Skeleton, self.frame, label.id, Vec::new());
                for (slot, point) in numbers[4..].chunks(values).enumerate() {
                    let Some(sublabel) = slots.get(slot) else { continue };
                    let visibility = if values == 3 { point[2] as i64 } else { 2 };
                    let mut element =
                        new_shape(ShapeType::Points, self.frame, sublabel.id, vec![point[0] * w, point[1] * h]);
                    (element.outside, element.occluded) = (visibility == 0, visibility == 1);
                    shape.elements.push(element);
                }
                shape
            }
        };
        Ok((shape, track))
    }
}

/// The box and rotation (degrees, 0 when below 1e-5) whose corners, turned, are
/// `corners` (in the order the writer gives them).
fn unrotated_box(corners: &[(f64, f64)]) -> (Vec<f64>, f64) {
    let [(x0, y0), (x1, y1), (x2, y2), ..] = corners else { return (vec![0.0; 4], 0.0) };
    let (cx, cy) = (corners.iter().map(|c| c.0).sum::<f64>() / 4.0, corners.iter().map(|c| c.1).sum::<f64>() / 4.0);
    let (width, height) = ((x1 - x0).hypot(y1 - y0), (x2 - x1).hypot(y2 - y1));
    let mut rotation = (y1 - y0).atan2(x1 - x0).to_degrees().rem_euclid(360.0);
    if rotation < 1e-5 || 360.0 - rotation < 1e-5 {
        rotation = 0.0;
    }
    (vec![cx - width / 2.0, cy - height / 2.0, cx + width / 2.0, cy + height / 2.0], rotation)
}
