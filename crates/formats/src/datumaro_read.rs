//! The `Datumaro 1.0` importer (formats.md §8): every `annotations/<subset>.json` (or a
//! bare JSON file) with `categories` and `items`. Items are matched to frames by image
//! path, id or `attr.frame`; label ids index the file's label categories; a skeleton's
//! `x, y, v` triplets are its points in the order of its points category; annotations
//! with `track_id` and `keyframe` make tracks again (per file).

use crate::coco_read::{mask_geometry, rebuild_track, text};
use crate::darknet::new_shape;
use crate::import::{ImportError, Names};
use cvat_annotations::{LabeledData, Shape, ShapeType, Source, Tag};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::BufRead;

#[derive(Deserialize)]
struct Document {
    categories: Categories,
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Categories {
    label: LabelCategories,
    #[serde(default)]
    points: PointCategories,
}

#[derive(Deserialize)]
struct LabelCategories {
    labels: Vec<LabelCategory>,
}

#[derive(Deserialize)]
struct LabelCategory {
    name: String,
}

#[derive(Deserialize, Default)]
struct PointCategories {
    #[serde(default)]
    items: Vec<PointCategory>,
}

#[derive(Deserialize)]
struct PointCategory {
    label_id: usize,
    labels: Vec<String>,
}

#[derive(Deserialize)]
struct Item {
    id: String,
    #[serde(default)]
    annotations: Vec<Annotation>,
    #[serde(default)]
    attr: Map<String, Value>,
    #[serde(default)]
    image: Option<ImageRef>,
}

#[derive(Deserialize)]
struct ImageRef {
    path: String,
}

#[derive(Deserialize)]
struct Annotation {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    attributes: Map<String, Value>,
    #[serde(default)]
    group: i64,
    label_id: Option<usize>,
    #[serde(default)]
    z_order: i32,
    #[serde(default)]
    bbox: Vec<f64>,
    #[serde(default)]
    points: Vec<f64>,
    #[serde(default)]
    rle: Option<Value>,
    #[serde(default)]
    points_attributes: Vec<Map<String, Value>>,
}

/// What an annotation's attributes say besides the label's values.
struct Flags {
    occluded: bool,
    rotation: f64,
    source: Source,
    /// `track_id` with `keyframe`, when it has both.
    track: Option<(i64, bool)>,
}

fn take_flags(attributes: &mut Map<String, Value>) -> Flags {
    let occluded = attributes.remove("occluded").is_some_and(|v| v.as_bool() == Some(true));
    let rotation = attributes.remove("rotation").and_then(|v| v.as_f64()).unwrap_or(0.0);
    let source = match attributes.remove("source").as_ref().and_then(Value::as_str) {
        Some("manual") => Source::Manual,
        Some("auto") => Source::Auto,
        Some("semi-auto") => Source::SemiAuto,
        Some("consensus") => Source::Consensus,
        _ => Source::File,
    };
    let track_id = attributes.remove("track_id").and_then(|v| v.as_i64());
    let keyframe = attributes.remove("keyframe").map(|v| v.as_bool() == Some(true));
    Flags { occluded, rotation, source, track: track_id.zip(keyframe) }
}

pub(crate) fn read(input: impl BufRead, names: &Names) -> Result<LabeledData, ImportError> {
    let document: Document =
        serde_json::from_reader(input).map_err(|e| ImportError::invalid(format!("Malformed Datumaro JSON: {e}")))?;
    let categories = &document.categories;
    let mut data = LabeledData::default();
    let mut tracks: BTreeMap<i64, Vec<(bool, Shape)>> = BTreeMap::new();
    for item in document.items {
        let absolute = item.attr.get("frame").and_then(Value::as_i64);
        let frame = match &item.image {
            Some(image) => names.frame(&image.path, None).or_else(|_| names.frame(&item.id, absolute))?,
            None => names.frame(&item.id, absolute)?,
        };
        for (number, mut annotation) in item.annotations.into_iter().enumerate() {
            let context = |message: String| {
                ImportError::invalid(format!("item {} annotation {}: {message}", item.id, number + 1))
            };
            let index = annotation.label_id.ok_or_else(|| context("the annotation has no label".into()))?;
            let name = &categories.label.labels.get(index).ok_or_else(|| context(format!("no label {index}")))?.name;
            let label = names.label(name)?;
            let flags = take_flags(&mut annotation.attributes);
            let values = Names::values(label, annotation.attributes.iter().map(|(k, v)| (k.clone(), text(v))));
            let group = (annotation.group != 0).then_some(annotation.group);
            if annotation.kind == "label" {
                data.tags.push(Tag {
                    id: None,
                    frame,
                    label_id: label.id,
                    group,
                    source: flags.source,
                    attributes: values,
                });
                continue;
            }
            let p = &annotation.points;
            let (kind, points) = match annotation.kind.as_str() {
                "bbox" => match annotation.bbox[..] {
                    [x, y, w, h] => (ShapeType::Rectangle, vec![x, y, x + w, y + h]),
                    _ => return Err(context("a bbox is [x, y, w, h]".into())),
                },
                "polygon" => (ShapeType::Polygon, p.clone()),
                "polyline" => (ShapeType::Polyline, p.clone()),
                "points" => (ShapeType::Points, p.clone()),
                "ellipse" => match p[..] {
                    [x1, y1, x2, y2] => (ShapeType::Ellipse, vec![(x1 + x2) / 2.0, (y1 + y2) / 2.0, x2, y1]),
                    _ => return Err(context("an ellipse is [x1, y1, x2, y2]".into())),
                },
                "mask" => {
                    let rle = annotation.rle.as_ref().ok_or_else(|| context("a mask has no rle".into()))?;
                    let (width, height) = names.size(frame);
                    mask_geometry(rle, width as u32, height as u32).map_err(context)?
                }
                "skeleton" => (ShapeType::Skeleton, Vec::new()),
                // Kinds CVAT has no 2D shape for (captions, 3D cuboids).
                _ => continue,
            };
            let mut shape = new_shape(kind, frame, label.id, points);
            (shape.occluded, shape.z_order, shape.group, shape.source, shape.attributes) =
                (flags.occluded, annotation.z_order, group, flags.source, values);
            if matches!(kind, ShapeType::Rectangle | ShapeType::Ellipse) {
                shape.rotation = flags.rotation;
            }
            if kind == ShapeType::Skeleton {
                let point_names = categories
                    .points
                    .items
                    .iter()
                    .find(|c| c.label_id == index)
                    .map_or(&[][..], |c| c.labels.as_slice());
                for (slot, point) in annotation.points.chunks(3).enumerate() {
                    let Some(point_name) = point_names.get(slot) else { continue };
                    let sublabel = names.sublabel(name, point_name)?;
                    let mut element = new_shape(ShapeType::Points, frame, sublabel.id, vec![point[0], point[1]]);
                    let visibility = point.get(2).copied().unwrap_or(2.0);
                    (element.outside, element.occluded) = (visibility == 0.0, visibility == 1.0);
                    element.source = flags.source;
                    if let Some(mut attributes) = annotation.points_attributes.get(slot).cloned() {
                        take_flags(&mut attributes);
                        element.attributes =
                            Names::values(sublabel, attributes.iter().map(|(k, v)| (k.clone(), text(v))));
                    }
                    shape.elements.push(element);
                }
            }
            match flags.track {
                Some((track, keyframe)) => tracks.entry(track).or_default().push((keyframe, shape)),
                None => data.shapes.push(shape),
            }
        }
    }
    data.tracks.extend(tracks.into_values().map(|shapes| rebuild_track(shapes, names)));
    Ok(data)
}
