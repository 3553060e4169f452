//! PASCAL VOC 1.1 (formats.md §11): `Annotations/<item>.xml` for every item (its boxes as
//! objects with `truncated`, `occluded`, `difficult`, `pose` and the other attributes),
//! `ImageSets/Main/<subset>.txt`, for tags `ImageSets/Main/<label>_<subset>.txt` (`1` or
//! `-1` per item), masks and ellipses painted into `SegmentationClass/<item>.png` (label
//! colours) and `SegmentationObject/<item>.png` (an instance colour each, in z order)
//! listed in `ImageSets/Segmentation/<subset>.txt`, `labelmap.txt` (`background` first,
//! colours of the VOC palette by position), and `JPEGImages/` when images are saved.
//! Items without any annotation are also listed in `ImageSets/Segmentation`, `Action`
//! and `Layout` (CVAT's labels declare no actions or parts, so nothing else is).
//! Polygons, polylines, points, skeletons and cuboids have no place in VOC and are left
//! out, as CVAT does.
//!
//! Import reads the same back: boxes from the XML files (those with `track_id` and
//! `keyframe` attributes as tracks again), tags from the label lists, and
//! one mask per instance of `SegmentationObject` (its label from `SegmentationClass`),
//! or per label of `SegmentationClass` alone. Masks stay masks (no polygons are traced).
//!
//! Segmentation mask 1.1 (§12) is the segmentation part alone: every shape with an
//! area (masks, ellipses, polygons, boxes) painted, the labels' own colours in a label
//! map sorted by name; it is read back by the same reader.
//!
//! Not as CVAT: ellipses and polygons are painted by testing each pixel's centre
//! (OpenCV's outline may differ by a pixel), shapes of one group are not merged into one
//! instance.

use crate::coco_read::rebuild_track;
use crate::contours::mask_polygons;
use crate::cvat_read::{finish, start, Element};
use crate::darknet::new_shape;
use crate::document::Annotations;
use crate::frames::{FrameShape, Frames};
use crate::import::{member_text, required_text, ImportError, Masks, Names as ImportNames};
use crate::raster::pixels;
use crate::source::{ExportSource, LabelInfo};
use crate::xml::Xml;
use crate::{item_id, stored, FormatError, Names};
use cvat_annotations::{AttributeVal, LabeledData, ShapeType, Tag};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, Read, Seek, Write};

/// The colour of index `i` in the VOC palette: the bits of `i` spread over the high bits
/// of red, green and blue.
pub(crate) fn palette(i: usize) -> [u8; 3] {
    let (mut rgb, mut c) = ([0u8; 3], i);
    for bit in 0..8 {
        for (channel, value) in rgb.iter_mut().enumerate() {
            *value |= (((c >> channel) & 1) as u8) << (7 - bit);
        }
        c >>= 3;
    }
    rgb
}

/// Which of the two VOC-shaped formats is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// PASCAL VOC 1.1: boxes, tags and masks.
    Voc,
    /// Segmentation mask 1.1: every shape with an area painted, nothing else.
    SegmentationMask,
}

/// The label map with each label's colour. VOC: `background` first unless a label has
/// that name, then the labels in order, in the palette's colours by position.
/// Segmentation mask: the labels' own colours (`background` black unless a label has
/// that name), sorted by name.
fn label_map(labels: &[LabelInfo], flavour: Flavour) -> Vec<(String, [u8; 3])> {
    let mut names: Vec<(&str, &str)> = Vec::with_capacity(labels.len() + 1);
    if !labels.iter().any(|l| l.name == "background") {
        names.push(("background", "#000000"));
    }
    names.extend(labels.iter().map(|l| (l.name.as_str(), l.color.as_str())));
    match flavour {
        Flavour::Voc => names.iter().enumerate().map(|(i, (n, _))| (n.to_string(), palette(i))).collect(),
        Flavour::SegmentationMask => {
            let colour = |hex: &str| -> [u8; 3] {
                let hex = hex.trim_start_matches('#');
                let part = |i: usize| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()).unwrap_or(0);
                [part(0), part(2), part(4)]
            };
            let mut map: Vec<(String, [u8; 3])> = names.iter().map(|(n, c)| (n.to_string(), colour(c))).collect();
            map.sort_by(|a, b| a.0.cmp(&b.0));
            map
        }
    }
}

/// Python's `str(float)` for the values VOC files carry.
fn py_float(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e16 {
        format!("{value:.1}")
    } else {
        format!("{value}")
    }
}

fn write_png(
    zip: &mut zip::ZipWriter<impl Write + Seek>,
    path: &str,
    width: u32,
    height: u32,
    rgb: &[u8],
) -> Result<(), FormatError> {
    zip.start_file(path, stored())?;
    let mut encoder = png::Encoder::new(&mut *zip, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(io::Error::other)?;
    writer.write_image_data(rgb).map_err(io::Error::other)?;
    writer.finish().map_err(io::Error::other)?;
    Ok(())
}

pub fn write<W: Write + Seek>(
    source: &ExportSource,
    data: &Annotations,
    zip: &mut zip::ZipWriter<W>,
    flavour: Flavour,
) -> Result<(), FormatError> {
    let names = Names::new(&source.labels);
    let map = label_map(&source.labels, flavour);
    let class: HashMap<&str, [u8; 3]> = map.iter().map(|(n, c)| (n.as_str(), *c)).collect();
    let painted = |kind: ShapeType| match flavour {
        Flavour::Voc => matches!(kind, ShapeType::Mask | ShapeType::Ellipse),
        Flavour::SegmentationMask => {
            matches!(kind, ShapeType::Mask | ShapeType::Ellipse | ShapeType::Polygon | ShapeType::Rectangle)
        }
    };
    let frames = Frames::new(source, data);
    let mut main: BTreeMap<&str, String> = BTreeMap::new();
    let mut segmentation: BTreeMap<&str, String> = BTreeMap::new();
    // Per subset: the items without any annotation, for the Action and Layout lists.
    let mut bare: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    // Per subset: each item's id and the labels of its tags.
    let mut tagged: BTreeMap<&str, Vec<(&str, Vec<&str>)>> = BTreeMap::new();
    let mut any_tags = false;
    for (at, frame) in source.frames.iter().enumerate() {
        let annotations = frames.at(at)?;
        let id = item_id(&frame.name);
        let subset = frame.subset.as_str();
        let masks: Vec<&FrameShape> = annotations.shapes.iter().filter(|s| painted(s.kind)).collect();
        if flavour == Flavour::Voc {
            main.entry(subset).or_default().push_str(&format!("{id}\n"));
            zip.start_file(format!("Annotations/{id}.xml"), stored())?;
            let mut out = io::BufWriter::new(&mut *zip);
            write_annotation(&mut out, &names, source, frame, id, &annotations.shapes, !masks.is_empty())?;
            out.flush()?;
        }
        let unannotated = annotations.shapes.is_empty() && annotations.tags.is_empty();
        if !masks.is_empty() || unannotated {
            segmentation.entry(subset).or_default().push_str(&format!("{id}\n"));
        }
        if unannotated && flavour == Flavour::Voc {
            bare.entry(subset).or_default().push(id);
        }
        if !masks.is_empty() {
            let (w, h) = (frame.width, frame.height);
            let (mut classes, mut objects) = (vec![0u8; (w * h * 3) as usize], vec![0u8; (w * h * 3) as usize]);
            for (number, instance) in instances(masks, w, h, flavour).iter().enumerate() {
                let class_colour = class.get(names.label(instance.label_id)).copied().unwrap_or_default();
                let object_colour = palette(number + 1);
                for &(x, y) in &instance.pixels {
                    let at = ((y * w + x) * 3) as usize;
                    classes[at..at + 3].copy_from_slice(&class_colour);
                    objects[at..at + 3].copy_from_slice(&object_colour);
                }
            }
            write_png(zip, &format!("SegmentationClass/{id}.png"), w, h, &classes)?;
            write_png(zip, &format!("SegmentationObject/{id}.png"), w, h, &objects)?;
        }
        any_tags |= annotations.tags.iter().any(|t| names.index(t.label_id).is_some());
        let labels: Vec<&str> = annotations.tags.iter().map(|t| names.label(t.label_id)).collect();
        tagged.entry(subset).or_default().push((id, labels));
    }
    for (subset, list) in &main {
        zip.start_file(format!("ImageSets/Main/{subset}.txt"), stored())?;
        zip.write_all(list.as_bytes())?;
    }
    for (subset, list) in &segmentation {
        zip.start_file(format!("ImageSets/Segmentation/{subset}.txt"), stored())?;
        zip.write_all(list.as_bytes())?;
    }
    for (subset, ids) in &bare {
        zip.start_file(format!("ImageSets/Action/{subset}.txt"), stored())?;
        for id in ids {
            writeln!(zip, "{id}")?;
        }
        // The layout list quotes an id with spaces (its lines may carry object numbers).
        zip.start_file(format!("ImageSets/Layout/{subset}.txt"), stored())?;
        for id in ids {
            match id.split_whitespace().nth(1) {
                Some(_) => writeln!(zip, "\"{id}\"")?,
                None => writeln!(zip, "{id}")?,
            }
        }
    }
    if flavour == Flavour::Voc && any_tags {
        for (subset, items) in &tagged {
            for label in source.labels.iter().filter(|l| l.parent.is_none()) {
                zip.start_file(format!("ImageSets/Main/{}_{subset}.txt", label.name), stored())?;
                for (id, labels) in items {
                    let mark = if labels.contains(&label.name.as_str()) { " 1" } else { "-1" };
                    writeln!(zip, "{id} {mark}")?;
                }
            }
        }
    }
    zip.start_file("labelmap.txt", stored())?;
    zip.write_all(b"# label:color_rgb:parts:actions\n")?;
    for (name, [r, g, b]) in &map {
        writeln!(zip, "{name}:{r},{g},{b}::")?;
    }
    Ok(())
}

/// One item's `Annotations/<id>.xml`: its boxes as objects.
fn write_annotation(
    out: impl Write,
    names: &Names,
    source: &ExportSource,
    frame: &crate::FrameInfo,
    id: &str,
    shapes: &[FrameShape],
    segmented: bool,
) -> io::Result<()> {
    let mut xml = Xml::bare(out);
    xml.open("annotation", &[])?;
    xml.leaf("folder", id.split_once('_').map_or("", |(folder, _)| folder))?;
    xml.leaf("filename", &frame.name)?;
    xml.open("source", &[])?;
    for part in ["database", "annotation", "image"] {
        xml.leaf(part, "Unknown")?;
    }
    xml.close("source")?;
    xml.open("size", &[])?;
    xml.leaf("width", &frame.width.to_string())?;
    xml.leaf("height", &frame.height.to_string())?;
    xml.leaf("depth", "")?;
    xml.close("size")?;
    xml.leaf("segmented", if segmented { "1" } else { "0" })?;
    for shape in shapes.iter().filter(|s| s.kind == ShapeType::Rectangle) {
        let Some(label) = source.labels.iter().find(|l| l.id == shape.label_id) else { continue };
        let value = |name: &str| -> Option<&str> {
            let spec = label.attributes.iter().find(|a| a.name == name)?;
            Some(
                shape
                    .attributes
                    .iter()
                    .find(|v| v.spec_id == spec.id)
                    .map_or(spec.default_value.as_str(), |v| &v.value),
            )
        };
        let flag = |name: &str| match value(name) {
            Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => "1",
            _ => "0",
        };
        xml.open("object", &[])?;
        xml.leaf("name", names.label(shape.label_id))?;
        if let Some(pose) = value("pose") {
            xml.leaf("pose", pose)?;
        }
        xml.leaf("truncated", flag("truncated"))?;
        xml.leaf("occluded", if shape.occluded { "1" } else { "0" })?;
        xml.leaf("difficult", flag("difficult"))?;
        xml.open("bndbox", &[])?;
        for (key, value) in ["xmin", "ymin", "xmax", "ymax"].iter().zip(&shape.points) {
            xml.leaf(key, &py_float(*value))?;
        }
        xml.close("bndbox")?;
        xml.open("attributes", &[])?;
        let mut pairs: Vec<(&str, String)> = label
            .attributes
            .iter()
            .filter(|a| !matches!(a.name.as_str(), "pose" | "truncated" | "difficult"))
            .map(|a| {
                let v =
                    shape.attributes.iter().find(|v| v.spec_id == a.id).map_or(a.default_value.as_str(), |v| &v.value);
                let v = match (a.input_type.as_str(), v) {
                    ("checkbox", v) => if v.eq_ignore_ascii_case("true") { "True" } else { "False" }.to_string(),
                    ("number", v) => v.parse::<f64>().map_or(v.to_string(), py_float),
                    (_, v) => v.to_string(),
                };
                (a.name.as_str(), v)
            })
            .collect();
        pairs.push(("rotation", py_float(shape.rotation)));
        if let Some((track, keyframe)) = shape.track {
            pairs.push(("track_id", track.to_string()));
            pairs.push(("keyframe", if keyframe { "True" } else { "False" }.to_string()));
        }
        for (name, value) in pairs {
            xml.open("attribute", &[])?;
            xml.leaf("name", name)?;
            xml.leaf("value", &value)?;
            xml.close("attribute")?;
        }
        xml.close("attributes")?;
        xml.close("object")?;
    }
    xml.close("annotation")?;
    xml.finish()?;
    Ok(())
}

/// One instance of the segmentation images: its label and pixels.
#[derive(Debug)]
struct Instance {
    label_id: i64,
    z_order: i32,
    pixels: Vec<(u32, u32)>,
}

/// A frame's painted shapes as instances, in painting order (ascending z order; equal
/// ones in order). Segmentation mask follows CVAT's exporter (datumaro's
/// `merge_instance_segments` after rotated boxes became polygons, appended last): the
/// shapes without a group one by one, then each group as one instance — its members'
/// pixels, the label and z order of its largest member (the first of equals).
fn instances(mut shapes: Vec<&FrameShape>, width: u32, height: u32, flavour: Flavour) -> Vec<Instance> {
    if flavour == Flavour::SegmentationMask {
        shapes.sort_by_key(|s| s.kind == ShapeType::Rectangle && s.rotation != 0.0);
        shapes.sort_by_key(|s| s.group);
    }
    let mut instances: Vec<Instance> = Vec::new();
    let mut rest = shapes.as_slice();
    while let Some(first) = rest.first() {
        let members = match (flavour, first.group) {
            (Flavour::SegmentationMask, group) if group != 0 => rest.iter().take_while(|s| s.group == group).count(),
            _ => 1,
        };
        let mut leader: Option<(&FrameShape, usize)> = None;
        let mut pixels_of = Vec::new();
        for shape in &rest[..members] {
            let covered = pixels(shape, width, height);
            if leader.is_none_or(|(_, area)| covered.len() > area) {
                leader = Some((shape, covered.len()));
            }
            pixels_of.extend(covered);
        }
        if let Some((leader, _)) = leader {
            instances.push(Instance { label_id: leader.label_id, z_order: leader.z_order, pixels: pixels_of });
        }
        rest = &rest[members..];
    }
    instances.sort_by_key(|i| i.z_order);
    instances
}

/// Reads a VOC archive back (see the module's documentation).
pub(crate) fn read<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    names: &ImportNames,
    labels: &[LabelInfo],
    masks: Masks,
) -> Result<LabeledData, ImportError> {
    let files: Vec<String> = archive.file_names().map(str::to_string).collect();
    let root = files
        .iter()
        .find_map(|f| f.find("Annotations/").or_else(|| f.find("ImageSets/")).map(|at| f[..at].to_string()))
        .ok_or_else(|| ImportError::invalid("The archive has neither Annotations/ nor ImageSets/ of a VOC dataset"))?;
    // The label map: the archive's, or the task's labels in the palette's colours.
    let map: Vec<(String, [u8; 3])> = match member_text(archive, &format!("{root}labelmap.txt"))? {
        Some(content) => content
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|line| {
                let mut parts = line.split(':');
                let name = parts.next().unwrap_or_default().to_string();
                let rgb: Vec<u8> =
                    parts.next().unwrap_or_default().split(',').filter_map(|v| v.trim().parse().ok()).collect();
                match rgb[..] {
                    [r, g, b] => Ok((name, [r, g, b])),
                    _ => Err(ImportError::invalid(format!("labelmap.txt: \"{line}\" has no r,g,b colour"))),
                }
            })
            .collect::<Result<_, _>>()?,
        None => label_map(labels, Flavour::Voc),
    };
    let by_colour: HashMap<[u8; 3], &str> = map.iter().map(|(n, c)| (*c, n.as_str())).collect();
    let mut data = LabeledData::default();
    let mut tracks: BTreeMap<i64, Vec<(bool, cvat_annotations::Shape)>> = BTreeMap::new();
    let annotations = format!("{root}Annotations/");
    for file in files.iter().filter(|f| f.starts_with(&annotations) && f.ends_with(".xml")) {
        let id = &file[annotations.len()..file.len() - 4];
        let entry = archive.by_name(file)?;
        let element = read_element(std::io::BufReader::new(entry.take(1 << 30)))
            .map_err(|e| ImportError::invalid(format!("{file}: {e}")))?;
        let frame = match element.child_text("filename") {
            Some(name) if !name.is_empty() => names.frame(name, None).or_else(|_| names.frame(id, None))?,
            _ => names.frame(id, None)?,
        };
        for object in element.children.iter().filter(|c| c.name == "object") {
            let name = object
                .child_text("name")
                .ok_or_else(|| ImportError::invalid(format!("{file}: an object has no name")))?;
            let label = names.label(name)?;
            let Some(bndbox) = object.children.iter().find(|c| c.name == "bndbox") else { continue };
            let number = |key: &str| -> Result<f64, ImportError> {
                bndbox
                    .child_text(key)
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| ImportError::invalid(format!("{file}: <bndbox> has no number {key}")))
            };
            let mut shape = new_shape(
                ShapeType::Rectangle,
                frame,
                label.id,
                vec![number("xmin")?, number("ymin")?, number("xmax")?, number("ymax")?],
            );
            shape.occluded = object.child_text("occluded") == Some("1");
            let mut named: Vec<(String, String)> = Vec::new();
            let (mut track, mut keyframe) = (None, None);
            for key in ["truncated", "difficult"] {
                if let Some(v) = object.child_text(key) {
                    named.push((key.to_string(), (v == "1").to_string()));
                }
            }
            if let Some(pose) = object.child_text("pose") {
                named.push(("pose".into(), pose.to_string()));
            }
            for attribute in object.children.iter().filter(|c| c.name == "attributes").flat_map(|a| &a.children) {
                let (Some(key), Some(value)) = (attribute.child_text("name"), attribute.child_text("value")) else {
                    continue;
                };
                match key {
                    "rotation" => shape.rotation = value.parse().unwrap_or(0.0),
                    "track_id" => track = value.parse::<i64>().ok(),
                    "keyframe" => keyframe = Some(value.eq_ignore_ascii_case("true")),
                    "occluded" => shape.occluded = value.eq_ignore_ascii_case("true") || value == "1",
                    _ => named.push((key.to_string(), value.to_string())),
                }
            }
            shape.attributes = ImportNames::values(label, named);
            match track.zip(keyframe) {
                Some((track, keyframe)) => tracks.entry(track).or_default().push((keyframe, shape)),
                None => data.shapes.push(shape),
            }
        }
    }
    data.tracks.extend(tracks.into_values().map(|shapes| rebuild_track(shapes, names)));
    read_tags(archive, &files, &root, names, &mut data)?;
    read_segmentation(archive, &files, &root, names, &by_colour, masks, &mut data)?;
    Ok(data)
}

/// Tags from `ImageSets/Main/<label>_<subset>.txt` (`<id> 1`).
fn read_tags<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    files: &[String],
    root: &str,
    names: &ImportNames,
    data: &mut LabeledData,
) -> Result<(), ImportError> {
    let main = format!("{root}ImageSets/Main/");
    let lists: Vec<&String> = files.iter().filter(|f| f.starts_with(&main) && f.ends_with(".txt")).collect();
    let subsets: Vec<&str> = lists.iter().map(|f| &f[main.len()..f.len() - 4]).filter(|s| !s.contains('/')).collect();
    for file in &lists {
        let stem = &file[main.len()..file.len() - 4];
        let Some(label) = subsets.iter().find_map(|s| stem.strip_suffix(&format!("_{s}"))) else { continue };
        let Ok(label) = names.label(label) else { continue };
        for line in required_text(archive, file)?.lines() {
            let mut parts = line.split_whitespace();
            let (Some(id), Some("1")) = (parts.next(), parts.next()) else { continue };
            data.tags.push(Tag {
                id: None,
                frame: names.frame(id, None)?,
                label_id: label.id,
                group: None,
                source: Default::default(),
                attributes: Vec::<AttributeVal>::new(),
            });
        }
    }
    Ok(())
}

/// Masks from `SegmentationObject/<id>.png` (one per instance colour, its label from
/// `SegmentationClass`), or from `SegmentationClass/<id>.png` alone (one per label).
fn read_segmentation<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    files: &[String],
    root: &str,
    names: &ImportNames,
    by_colour: &HashMap<[u8; 3], &str>,
    masks: Masks,
    data: &mut LabeledData,
) -> Result<(), ImportError> {
    let classes_dir = format!("{root}SegmentationClass/");
    for file in files.iter().filter(|f| f.starts_with(&classes_dir) && f.ends_with(".png")) {
        let id = &file[classes_dir.len()..file.len() - 4];
        let frame = names.frame(id, None)?;
        let (width, height, classes) = read_png(archive, file)?;
        let objects_path = format!("{root}SegmentationObject/{id}.png");
        let objects = if files.contains(&objects_path) { Some(read_png(archive, &objects_path)?.2) } else { None };
        // Pixels by instance (or by class): their class colour and positions.
        let mut regions: BTreeMap<[u8; 3], ([u8; 3], Vec<usize>)> = BTreeMap::new();
        for at in 0..(width * height) as usize {
            let class = [classes[at * 3], classes[at * 3 + 1], classes[at * 3 + 2]];
            if class == [0, 0, 0] || class == [224, 224, 192] {
                continue;
            }
            let key = objects.as_ref().map_or(class, |o| [o[at * 3], o[at * 3 + 1], o[at * 3 + 2]]);
            regions.entry(key).or_insert((class, Vec::new())).1.push(at);
        }
        for (class, pixels) in regions.into_values() {
            let name = by_colour
                .get(&class)
                .ok_or_else(|| ImportError::invalid(format!("{file}: the colour {class:?} is not in the label map")))?;
            let label = names.label(name)?;
            match masks {
                Masks::Keep => {
                    data.shapes.push(new_shape(ShapeType::Mask, frame, label.id, cvat_mask(&pixels, width as usize)))
                }
                Masks::Trace => {
                    let mut mask = vec![false; (width * height) as usize];
                    pixels.iter().for_each(|&at| mask[at] = true);
                    for polygon in mask_polygons(&mask, width, height) {
                        data.shapes.push(new_shape(ShapeType::Polygon, frame, label.id, polygon));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Pixels (row-major indices on an image `width` wide) as CVAT mask points: runs over
/// the tight box starting with a run of unset pixels, then the box.
fn cvat_mask(pixels: &[usize], width: usize) -> Vec<f64> {
    let (xs, ys): (Vec<usize>, Vec<usize>) = pixels.iter().map(|p| (p % width, p / width)).unzip();
    let (left, right) = (*xs.iter().min().unwrap_or(&0), *xs.iter().max().unwrap_or(&0));
    let (top, bottom) = (*ys.iter().min().unwrap_or(&0), *ys.iter().max().unwrap_or(&0));
    let box_width = right - left + 1;
    let mut set = vec![false; box_width * (bottom - top + 1)];
    for (x, y) in xs.iter().zip(&ys) {
        set[(y - top) * box_width + (x - left)] = true;
    }
    let mut runs = Vec::new();
    let (mut current, mut run) = (false, 0u64);
    for value in set {
        if value != current {
            runs.push(run as f64);
            (current, run) = (value, 0);
        }
        run += 1;
    }
    runs.push(run as f64);
    runs.extend([left as f64, top as f64, right as f64, bottom as f64]);
    runs
}

/// A PNG as 8-bit RGB pixels (palette and grey images expanded).
fn read_png<R: Read + Seek>(archive: &mut zip::ZipArchive<R>, path: &str) -> Result<(u32, u32, Vec<u8>), ImportError> {
    let broken = |e: &dyn std::fmt::Display| ImportError::invalid(format!("{path} is not a readable PNG: {e}"));
    let mut bytes = Vec::new();
    archive.by_name(path)?.take(1 << 30).read_to_end(&mut bytes)?;
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| broken(&e))?;
    let mut buffer = vec![0; reader.output_buffer_size().ok_or_else(|| broken(&"too large"))?];
    let info = reader.next_frame(&mut buffer).map_err(|e| broken(&e))?;
    let (width, height) = (info.width, info.height);
    let channels = info.color_type.samples();
    let rgb = buffer[..info.buffer_size()]
        .chunks(channels)
        .flat_map(|p| match p.len() {
            1 | 2 => [p[0], p[0], p[0]],
            _ => [p[0], p[1], p[2]],
        })
        .collect();
    Ok((width, height, rgb))
}

/// The root element of a small XML file, whole.
fn read_element(input: impl BufRead) -> Result<Element, ImportError> {
    let mut reader = quick_xml::Reader::from_reader(input);
    let mut buffer = Vec::new();
    loop {
        let position = reader.buffer_position();
        match reader.read_event_into(&mut buffer) {
            Ok(quick_xml::events::Event::Start(tag)) => {
                let element = start(&reader, &tag)?;
                return finish(&mut reader, element);
            }
            Ok(quick_xml::events::Event::Eof) => return Err(ImportError::invalid("the file has no root element")),
            Ok(_) => {}
            Err(e) => return Err(ImportError::invalid(format!("Malformed XML near byte {position}: {e}"))),
        }
        buffer.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames of polygons, boxes and masks with groups and z orders, and the class and
    /// instance masks CVAT's Segmentation mask exporter paints for them (its transforms
    /// and datumaro's CompiledMask, run with datumaro 1.13 and pycocotools from PyPI).
    #[test]
    fn segmentation_instances_are_cvats() {
        let cases = crate::test_support::cases(include_str!("../tests/data/segmentation_instances.json"));
        let mut merged = 0;
        for case in &cases {
            let (width, height) = (case["width"].as_u64().unwrap() as u32, case["height"].as_u64().unwrap() as u32);
            let shapes: Vec<FrameShape> = case["shapes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    crate::test_support::shape(
                        serde_json::from_value(s["type"].clone()).unwrap(),
                        s["label"].as_i64().unwrap(),
                        serde_json::from_value(s["points"].clone()).unwrap(),
                        s["rotation"].as_f64().unwrap(),
                        s["z_order"].as_i64().unwrap() as i32,
                        s["group"].as_i64().unwrap(),
                    )
                })
                .collect();
            let made = instances(shapes.iter().collect(), width, height, Flavour::SegmentationMask);
            merged += shapes.len() - made.len();
            let (mut classes, mut objects) =
                (vec![0i64; (width * height) as usize], vec![0i64; (width * height) as usize]);
            for (number, instance) in made.iter().enumerate() {
                for &(x, y) in &instance.pixels {
                    classes[(y * width + x) as usize] = instance.label_id;
                    objects[(y * width + x) as usize] = number as i64 + 1;
                }
            }
            let want = |key: &str| -> Vec<i64> { serde_json::from_value(case[key].clone()).unwrap() };
            assert_eq!(classes, want("classes"), "classes of {}", case["shapes"]);
            assert_eq!(objects, want("instances"), "instances of {}", case["shapes"]);
        }
        assert!(merged > 50, "groups were merged: {merged}");
    }
}
