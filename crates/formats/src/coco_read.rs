//! The `COCO 1.0` importer (formats.md §6): instances as boxes (empty segmentation),
//! polygons (one per part; a multi-part object's parts share a group) or masks (RLE,
//! plain or compressed counts). Annotations carrying `track_id` and `keyframe`
//! attributes become tracks again (§2.7-7).
//!
//! `COCO Keypoints 1.0` (§7) reads the same files with `keypoints`: each annotation's
//! points (`x, y, v`, named by its category's `keypoints`) become a skeleton of the
//! category's label; boxes are dropped, segmentations kept as the skeleton's polygons.
//!
//! Beyond CVAT: the last visible shape before a track leaves the picture is kept as a
//! keyframe, so the frames between keyframes come back exactly as exported.

use crate::coco::Task;
use crate::darknet::new_shape;
use crate::import::{ImportError, Names, Sink};
use cvat_annotations::{Shape, ShapeType, Source, Track, TrackedShape};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

#[derive(Deserialize)]
struct Image {
    id: i64,
    file_name: String,
    #[serde(default)]
    width: u32,
    #[serde(default)]
    height: u32,
}

#[derive(Deserialize)]
struct Category {
    id: i64,
    name: String,
    #[serde(default)]
    keypoints: Vec<String>,
}

#[derive(Deserialize)]
struct Annotation {
    id: i64,
    image_id: i64,
    category_id: i64,
    #[serde(default)]
    segmentation: Value,
    #[serde(default)]
    bbox: Vec<f64>,
    #[serde(default)]
    attributes: Map<String, Value>,
    #[serde(default)]
    keypoints: Option<Vec<f64>>,
}

/// An attribute value as text: integral numbers without a fraction, booleans as
/// `true`/`false`.
pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Reads a COCO file into `sink` annotation by annotation: the `annotations` list is
/// taken an element at a time (after `images` and `categories`, where COCO files have
/// it; a file that lists them later has its annotations held until they come). Only
/// tracks are held to the end, to be rebuilt from their shapes.
pub(crate) fn read(input: impl BufRead, names: &Names, task: Task, sink: &mut dyn Sink) -> Result<(), ImportError> {
    let mut reader = Reader {
        names,
        task,
        sink,
        images: None,
        categories: None,
        index: None,
        waiting: Vec::new(),
        tracks: BTreeMap::new(),
        failure: None,
    };
    let mut json = serde_json::Deserializer::from_reader(input);
    let parsed = DeserializeSeed::deserialize(&mut reader, &mut json).and_then(|()| json.end());
    if let Some(failure) = reader.failure.take() {
        return Err(failure);
    }
    parsed.map_err(|e| ImportError::invalid(format!("Malformed COCO JSON: {e}")))?;
    reader.finish()
}

/// An image's frame, width and height.
type Frame = (u32, u32, u32);

struct Reader<'a, 's> {
    names: &'a Names<'a>,
    task: Task,
    sink: &'s mut dyn Sink,
    images: Option<Vec<Image>>,
    categories: Option<Vec<Category>>,
    /// Frames (and sizes) by image id and categories by id, once both lists are read.
    index: Option<(HashMap<i64, Frame>, HashMap<i64, Category>)>,
    /// Annotations read before the lists they refer to.
    waiting: Vec<Annotation>,
    tracks: BTreeMap<i64, Vec<(bool, Shape)>>,
    /// Why reading stopped, when it was not the JSON.
    failure: Option<ImportError>,
}

impl Reader<'_, '_> {
    /// Builds the index once both lists are there; answers whether it is.
    fn ready(&mut self) -> Result<bool, ImportError> {
        if self.index.is_none() && self.images.is_some() && self.categories.is_some() {
            let mut images = HashMap::new();
            for image in self.images.take().unwrap_or_default() {
                images.insert(image.id, (self.names.frame(&image.file_name, None)?, image.width, image.height));
            }
            let categories = self.categories.take().unwrap_or_default().into_iter().map(|c| (c.id, c)).collect();
            self.index = Some((images, categories));
            for annotation in std::mem::take(&mut self.waiting) {
                self.add(annotation)?;
            }
        }
        Ok(self.index.is_some())
    }

    fn take(&mut self, annotation: Annotation) -> Result<(), ImportError> {
        match self.ready()? {
            true => self.add(annotation),
            false => {
                self.waiting.push(annotation);
                Ok(())
            }
        }
    }

    fn add(&mut self, annotation: Annotation) -> Result<(), ImportError> {
        let Some((images, categories)) = &self.index else { return Ok(()) };
        let names = self.names;
        let context = |message: String| ImportError::invalid(format!("annotation {}: {message}", annotation.id));
        let &(frame, width, height) =
            images.get(&annotation.image_id).ok_or_else(|| context(format!("no image {}", annotation.image_id)))?;
        let category = categories
            .get(&annotation.category_id)
            .ok_or_else(|| context(format!("no category {}", annotation.category_id)))?;
        let label = names.label(&category.name)?;
        let mut attributes = annotation.attributes;
        let occluded = attributes.remove("occluded").is_some_and(|v| v.as_bool() == Some(true));
        let rotation = attributes.remove("rotation").and_then(|v| v.as_f64()).unwrap_or(0.0);
        let track = attributes.remove("track_id").and_then(|v| v.as_i64());
        let keyframe = attributes.remove("keyframe").map(|v| v.as_bool() == Some(true));
        let values = Names::values(label, attributes.iter().map(|(k, v)| (k.clone(), text(v))));
        let mut geometries = geometry(&annotation.segmentation, &annotation.bbox, width, height).map_err(context)?;
        let mut elements = Vec::new();
        if self.task == Task::Keypoints {
            geometries.retain(|(kind, _)| *kind != ShapeType::Rectangle);
            let Some(keypoints) = &annotation.keypoints else { return Ok(()) };
            elements = skeleton_points(keypoints, category, names, frame).map_err(context)?;
            geometries.push((ShapeType::Skeleton, Vec::new()));
        }
        let group = (geometries.len() > 1).then_some(annotation.id);
        for (kind, points) in geometries {
            let shape = Shape {
                kind,
                occluded,
                outside: false,
                z_order: 0,
                rotation: if kind == ShapeType::Rectangle { rotation } else { 0.0 },
                points,
                id: None,
                frame,
                label_id: label.id,
                group,
                source: Source::Manual,
                attributes: values.clone(),
                score: None,
                elements: if kind == ShapeType::Skeleton { std::mem::take(&mut elements) } else { Vec::new() },
            };
            match (track, keyframe) {
                (Some(track), Some(keyframe)) => self.tracks.entry(track).or_default().push((keyframe, shape)),
                _ => self.sink.shape(shape)?,
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(), ImportError> {
        for (list, present) in [("images", self.images.is_some()), ("categories", self.categories.is_some())] {
            if !present && self.index.is_none() {
                return Err(ImportError::invalid(format!("Malformed COCO JSON: missing field `{list}`")));
            }
        }
        self.ready()?;
        for shapes in std::mem::take(&mut self.tracks).into_values() {
            self.sink.track(rebuild_track(shapes, self.names))?;
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for &mut Reader<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for &mut Reader<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a COCO object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "images" => self.images = Some(map.next_value()?),
                "categories" => self.categories = Some(map.next_value()?),
                "annotations" => map.next_value_seed(EachAnnotation(&mut *self))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The `annotations` list, taken an element at a time.
struct EachAnnotation<'r, 'a, 's>(&'r mut Reader<'a, 's>);

impl<'de> DeserializeSeed<'de> for EachAnnotation<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EachAnnotation<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of annotations")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut list: A) -> Result<(), A::Error> {
        while let Some(annotation) = list.next_element::<Annotation>()? {
            if let Err(failure) = self.0.take(annotation) {
                self.0.failure = Some(failure);
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// The points of a COCO Keypoints annotation (`x, y, v` per name of the category's
/// `keypoints`) as the elements of a skeleton.
fn skeleton_points(keypoints: &[f64], category: &Category, names: &Names, frame: u32) -> Result<Vec<Shape>, String> {
    if !keypoints.len().is_multiple_of(3) {
        return Err("keypoints are not x, y, v triples".into());
    }
    let mut elements = Vec::new();
    for (i, point) in keypoints.chunks(3).enumerate() {
        let name = category
            .keypoints
            .get(i)
            .ok_or_else(|| format!("keypoint {} has no name in category {}", i + 1, category.name))?;
        let sublabel = names.sublabel(&category.name, name).map_err(|e| e.to_string())?;
        let mut element = new_shape(ShapeType::Points, frame, sublabel.id, vec![point[0], point[1]]);
        (element.outside, element.occluded) = (point[2] == 0.0, point[2] == 1.0);
        elements.push(element);
    }
    Ok(elements)
}

/// Per-frame shapes of one track back as keyframes: explicit keyframes, the last shape
/// before a gap (followed by an outside keyframe), and an outside keyframe after the
/// last shape unless it is on the last frame.
pub(crate) fn rebuild_track(mut shapes: Vec<(bool, Shape)>, names: &Names) -> Track {
    shapes.sort_by_key(|(_, s)| s.frame);
    let (label_id, frame, group, values) = match shapes.first() {
        Some((_, first)) => (first.label_id, first.frame, first.group, first.attributes.clone()),
        None => (0, 0, None, Vec::new()),
    };
    let (immutable, _) = names.split(label_id, values);
    let mut keyframes: Vec<TrackedShape> = Vec::new();
    let tracked = |shape: &Shape, frame: u32, outside: bool| TrackedShape {
        kind: shape.kind,
        occluded: shape.occluded,
        outside,
        z_order: shape.z_order,
        rotation: shape.rotation,
        points: shape.points.clone(),
        id: None,
        frame,
        attributes: names.split(label_id, shape.attributes.clone()).1,
    };
    for (i, (keyframe, shape)) in shapes.iter().enumerate() {
        let next = shapes.get(i + 1).map(|(_, s)| s.frame);
        let gap_after = next.map_or(shape.frame < names.last_frame, |n| n > shape.frame + 1);
        if *keyframe || i == 0 || gap_after {
            keyframes.push(tracked(shape, shape.frame, false));
        }
        if gap_after {
            keyframes.push(tracked(shape, shape.frame + 1, true));
        }
    }
    // A skeleton's points are tracks of their own, rebuilt the same way.
    let mut points: BTreeMap<i64, Vec<(bool, Shape)>> = BTreeMap::new();
    for (keyframe, shape) in &mut shapes {
        for element in std::mem::take(&mut shape.elements) {
            points.entry(element.label_id).or_default().push((*keyframe, element));
        }
    }
    Track {
        id: None,
        frame,
        label_id,
        group,
        source: Source::Manual,
        attributes: immutable,
        shapes: keyframes,
        elements: points.into_values().map(|shapes| rebuild_track(shapes, names)).collect(),
    }
}

/// What a COCO segmentation describes, as CVAT shapes.
fn geometry(segmentation: &Value, bbox: &[f64], width: u32, height: u32) -> Result<Vec<(ShapeType, Vec<f64>)>, String> {
    match segmentation {
        Value::Array(parts) if parts.iter().any(|p| p.as_array().is_some_and(|a| !a.is_empty())) => parts
            .iter()
            .filter(|p| p.as_array().is_some_and(|a| !a.is_empty()))
            .map(|part| {
                let points: Option<Vec<f64>> = part.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect());
                match points {
                    Some(points) if points.len() >= 6 && points.len() % 2 == 0 => Ok((ShapeType::Polygon, points)),
                    _ => Err("a polygon needs at least 3 points as x, y pairs".to_string()),
                }
            })
            .collect(),
        Value::Object(_) => Ok(vec![mask_geometry(segmentation, width, height)?]),
        _ => match bbox {
            [x, y, w, h] => Ok(vec![(ShapeType::Rectangle, vec![*x, *y, x + w, y + h])]),
            _ => Err("a box needs \"bbox\": [x, y, width, height]".into()),
        },
    }
}

/// A COCO RLE (`{"counts": [...] or "compressed", "size": [h, w]}`, column-major over the
/// image) as a CVAT mask; an image size of 0×0 is not checked.
pub(crate) fn mask_geometry(rle: &Value, width: u32, height: u32) -> Result<(ShapeType, Vec<f64>), String> {
    let size: Vec<u32> = rle
        .get("size")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(|v| v.as_u64().map(|v| v as u32)).collect())
        .unwrap_or_default();
    let [h, w] = size[..] else { return Err("a mask needs \"size\": [height, width]".into()) };
    if (width, height) != (0, 0) && (w, h) != (width, height) {
        return Err(format!("the mask is {w}×{h} but its image is {width}×{height}"));
    }
    let counts = match rle.get("counts") {
        Some(Value::Array(counts)) => counts.iter().map(|c| c.as_u64().unwrap_or(0)).collect(),
        Some(Value::String(compressed)) => decompress(compressed)?,
        _ => return Err("a mask needs \"counts\"".into()),
    };
    Ok((ShapeType::Mask, cvat_mask(&counts, w, h)?))
}

/// pycocotools' compressed counts (formats.md §2.3) as plain counts.
fn decompress(text: &str) -> Result<Vec<u64>, String> {
    let bytes = text.as_bytes();
    let mut counts: Vec<i64> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let (mut value, mut shift) = (0i64, 0);
        loop {
            let c = i64::from(*bytes.get(at).ok_or("the compressed counts end early")?) - 48;
            at += 1;
            value |= (c & 0x1f) << shift;
            shift += 5;
            if c & 0x20 == 0 {
                if c & 0x10 != 0 {
                    value |= -1 << shift;
                }
                break;
            }
        }
        if counts.len() > 2 {
            value += counts[counts.len() - 2];
        }
        counts.push(value);
    }
    counts.into_iter().map(|c| u64::try_from(c).map_err(|_| "negative count in the mask".to_string())).collect()
}

/// Column-major counts over a `w`×`h` image as CVAT's mask points: row-major runs over
/// the tight box of the set pixels (starting with a run of zeros), then the box.
fn cvat_mask(counts: &[u64], w: u32, h: u32) -> Result<Vec<f64>, String> {
    let (w, h) = (w as usize, h as usize);
    if counts.iter().sum::<u64>() != (w * h) as u64 {
        return Err("the mask's counts do not cover its image".into());
    }
    let mut pixels = vec![false; w * h];
    let mut at = 0usize;
    for (i, count) in counts.iter().enumerate() {
        let count = *count as usize;
        if i % 2 == 1 {
            for k in at..at + count {
                pixels[(k % h) * w + k / h] = true;
            }
        }
        at += count;
    }
    let set: Vec<(usize, usize)> =
        (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).filter(|(x, y)| pixels[y * w + x]).collect();
    let Some(left) = set.iter().map(|p| p.0).min() else { return Err("the mask is empty".into()) };
    let right = set.iter().map(|p| p.0).max().unwrap_or(left);
    let top = set.iter().map(|p| p.1).min().unwrap_or(0);
    let bottom = set.iter().map(|p| p.1).max().unwrap_or(top);
    let mut runs = Vec::new();
    let (mut current, mut run) = (false, 0u64);
    for y in top..=bottom {
        for x in left..=right {
            if pixels[y * w + x] != current {
                runs.push(run as f64);
                (current, run) = (!current, 0);
            }
            run += 1;
        }
    }
    runs.push(run as f64);
    runs.extend([left as f64, top as f64, right as f64, bottom as f64]);
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_rle_becomes_the_documented_cvat_mask() {
        let mask = cvat_mask(&[962, 1, 478, 2, 478, 1, 305278], 640, 480).unwrap();
        assert_eq!(mask, vec![1.0, 4.0, 1.0, 2.0, 1.0, 4.0, 2.0]);
    }

    #[test]
    fn compressed_counts_decode() {
        assert_eq!(decompress("Rn01n>10OPeY9").unwrap(), vec![962, 1, 478, 2, 478, 1, 305278]);
    }
}
