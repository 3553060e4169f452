//! Datumaro 1.0 (formats.md §8): `annotations/<subset>.json` per subset with the label
//! categories (sublabels with their skeleton as parent, every attribute name), the
//! skeletons' point categories, and one item per frame carrying every shape type but 2D
//! cuboids: boxes, polygons, polylines, points, ellipses, masks (COCO's compressed RLE),
//! skeletons (points with visibility) and tags; tracks as per-frame shapes with
//! `track_id` and `keyframe`; skeleton joints from the skeleton's edges. Written with
//! Python's `json.dump` separators. The importer is `datumaro_read`.

use crate::coco::{coco_rle, edges};
use crate::document::Annotations;
use crate::frames::{FrameAnnotations, FrameShape, Frames};
use crate::source::ExportSource;
use crate::{item_id, stored, FormatError, Names};
use cvat_annotations::ShapeType;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::io::{self, Seek, Write};

/// `json.dump`'s default separators: `", "` between items, `": "` after keys.
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }
}

fn write_python(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(out, PythonFormatter);
    value.serialize(&mut serializer).map_err(io::Error::from)
}

/// pycocotools' compressed string of uncompressed counts (formats.md §2.3).
pub(crate) fn compress_counts(counts: &[u64]) -> String {
    let mut out = String::new();
    for (i, count) in counts.iter().enumerate() {
        let mut x = *count as i64;
        if i > 2 {
            x -= counts[i - 2] as i64;
        }
        loop {
            let mut c = x & 0x1f;
            x >>= 5;
            let more = if c & 0x10 != 0 { x != -1 } else { x != 0 };
            if more {
                c |= 0x20;
            }
            out.push(char::from((c + 48) as u8));
            if !more {
                break;
            }
        }
    }
    out
}

/// The annotation objects of one frame.
fn annotations(source: &ExportSource, names: &Names, frame: &FrameAnnotations, width: u32, height: u32) -> Vec<Value> {
    let mut out = Vec::new();
    for shape in &frame.shapes {
        let Some(label) = names.index(shape.label_id) else { continue };
        let mut attributes = names.typed_values(shape.label_id, &shape.attributes);
        if shape.kind != ShapeType::Skeleton {
            attributes.insert("occluded".into(), Value::Bool(shape.occluded));
        }
        if matches!(shape.kind, ShapeType::Rectangle | ShapeType::Ellipse) {
            attributes.insert("rotation".into(), json!(shape.rotation));
        }
        if let Some((track, keyframe)) = shape.track {
            attributes.insert("track_id".into(), json!(track));
            attributes.insert("keyframe".into(), Value::Bool(keyframe));
        }
        let p = &shape.points;
        let at = |i: usize| p.get(i).copied().unwrap_or(0.0);
        let mut object = Map::new();
        object.insert("id".into(), json!(0));
        let (kind, extra): (&str, Vec<(&str, Value)>) = match shape.kind {
            ShapeType::Rectangle => (
                "bbox",
                vec![
                    ("label_id", json!(label)),
                    ("z_order", json!(shape.z_order)),
                    ("bbox", json!([at(0), at(1), at(2) - at(0), at(3) - at(1)])),
                ],
            ),
            ShapeType::Polygon | ShapeType::Polyline => (
                if shape.kind == ShapeType::Polygon { "polygon" } else { "polyline" },
                vec![("label_id", json!(label)), ("points", json!(p)), ("z_order", json!(shape.z_order))],
            ),
            ShapeType::Points => (
                "points",
                vec![
                    ("label_id", json!(label)),
                    ("points", json!(p)),
                    ("z_order", json!(shape.z_order)),
                    ("visibility", json!(vec![2; p.len() / 2])),
                ],
            ),
            ShapeType::Ellipse => {
                let (cx, cy, right, top) = (at(0), at(1), at(2), at(3));
                let bottom = cy + (cy - top);
                let left = cx - (right - cx);
                (
                    "ellipse",
                    vec![
                        ("label_id", json!(label)),
                        ("points", json!([left, top, right, bottom])),
                        ("z_order", json!(shape.z_order)),
                    ],
                )
            }
            ShapeType::Mask => {
                let (counts, ..) = coco_rle(&[shape], width, height);
                (
                    "mask",
                    vec![
                        ("label_id", json!(label)),
                        ("rle", json!({"counts": compress_counts(&counts), "size": [height, width]})),
                        ("z_order", json!(shape.z_order)),
                    ],
                )
            }
            ShapeType::Skeleton => {
                let (points, point_attributes) = skeleton_points(source, names, shape);
                (
                    "skeleton",
                    vec![
                        ("label_id", json!(label)),
                        ("points", json!(points)),
                        ("points_attributes", json!(point_attributes)),
                    ],
                )
            }
            ShapeType::Cuboid => continue,
        };
        object.insert("type".into(), json!(kind));
        object.insert("attributes".into(), Value::Object(attributes));
        object.insert("group".into(), json!(shape.group));
        for (key, value) in extra {
            object.insert(key.into(), value);
        }
        out.push(Value::Object(object));
    }
    for tag in &frame.tags {
        let Some(label) = names.index(tag.label_id) else { continue };
        out.push(json!({"id": 0, "type": "label", "attributes": names.typed_values(tag.label_id, &tag.attributes),
                        "group": tag.group.unwrap_or(0), "label_id": label}));
    }
    out
}

/// A skeleton's points in its sublabels' order (`x, y, visibility`; a missing element
/// is `0, 0, 0`), and each point's attributes.
fn skeleton_points(source: &ExportSource, names: &Names, shape: &FrameShape) -> (Vec<f64>, Vec<Value>) {
    let parent = source.labels.iter().find(|l| l.id == shape.label_id).map(|l| l.name.as_str());
    let mut points = Vec::new();
    let mut attributes = Vec::new();
    for sublabel in source.labels.iter().filter(|l| l.parent.as_deref() == parent && parent.is_some()) {
        match shape.elements.iter().find(|e| e.label_id == sublabel.id) {
            Some(element) => {
                let visibility = if element.outside {
                    0.0
                } else if element.occluded {
                    1.0
                } else {
                    2.0
                };
                points.extend([
                    element.points.first().copied().unwrap_or(0.0),
                    element.points.get(1).copied().unwrap_or(0.0),
                    visibility,
                ]);
                let mut values = names.typed_values(element.label_id, &element.attributes);
                if let Some((track, keyframe)) = element.track {
                    values.insert("track_id".into(), json!(track));
                    values.insert("keyframe".into(), Value::Bool(keyframe));
                }
                attributes.push(Value::Object(values));
            }
            None => {
                points.extend([0.0, 0.0, 0.0]);
                attributes.push(json!({}));
            }
        }
    }
    (points, attributes)
}

pub fn write<W: Write + Seek>(
    source: &ExportSource,
    data: &Annotations,
    zip: &mut zip::ZipWriter<W>,
) -> Result<(), FormatError> {
    let names = Names::new(&source.labels);
    let mut attribute_names: Vec<&str> =
        source.labels.iter().flat_map(|l| l.attributes.iter().map(|a| a.name.as_str())).collect();
    attribute_names.push("occluded");
    attribute_names.sort_unstable();
    attribute_names.dedup();
    let labels: Vec<Value> = source
        .labels
        .iter()
        .map(|l| json!({"name": l.name, "parent": l.parent.as_deref().unwrap_or(""), "attributes": []}))
        .collect();
    let points: Vec<Value> = source
        .labels
        .iter()
        .enumerate()
        .filter(|(_, l)| l.kind == "skeleton")
        .map(|(index, skeleton)| {
            let sublabels: Vec<&str> = source
                .labels
                .iter()
                .filter(|l| l.parent.as_deref() == Some(skeleton.name.as_str()))
                .map(|l| l.name.as_str())
                .collect();
            json!({"label_id": index, "labels": sublabels, "joints": edges(&skeleton.svg)})
        })
        .collect();
    let categories = json!({
        "label": {"labels": labels, "label_groups": [], "attributes": attribute_names},
        "points": {"items": points},
    });
    let frames = Frames::new(source, data);
    let mut subsets: Vec<&str> = Vec::new();
    for frame in &source.frames {
        if !subsets.contains(&frame.subset.as_str()) {
            subsets.push(&frame.subset);
        }
    }
    for subset in subsets {
        zip.start_file(format!("annotations/{subset}.json"), stored())?;
        let mut out = io::BufWriter::new(&mut *zip);
        // Item by item (an item's annotations are made as it is written), with the
        // separators of Python's `json.dump`.
        out.write_all(br#"{"dm_format_version": "1.0", "media_type": 2, "infos": {}, "categories": "#)?;
        write_python(&mut out, &categories)?;
        out.write_all(br#", "items": ["#)?;
        let in_subset = source.frames.iter().enumerate().filter(|(_, f)| f.subset == subset);
        for (n, (at, frame)) in in_subset.enumerate() {
            if n > 0 {
                out.write_all(b", ")?;
            }
            let item = json!({
                "id": item_id(&frame.name),
                "annotations": self::annotations(source, &names, &frames.at(at)?, frame.width, frame.height),
                "attr": {"frame": frame.id},
                "image": {"path": frame.name, "size": [frame.height, frame.width]},
            });
            write_python(&mut out, &item)?;
        }
        out.write_all(b"]}")?;
        out.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_compress_as_pycocotools_does() {
        assert_eq!(compress_counts(&[962, 1, 478, 2, 478, 1, 305278]), "Rn01n>10OPeY9");
    }
}
