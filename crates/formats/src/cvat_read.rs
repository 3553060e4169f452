//! The `CVAT 1.1` importer (formats.md §5): both XML flavours — `<image>` elements with
//! shapes and tags (CVAT for images) and `<track>` elements with per-frame shapes (CVAT
//! for video). The file is read element by element: one `<image>` or `<track>` at a
//! time is held as a small tree.

use crate::import::{ImportError, Names, Sink};
use crate::source::LabelInfo;
use cvat_annotations::{Shape, ShapeType, Source, Tag, Track, TrackedShape};
use quick_xml::events::{BytesStart, Event};
use std::collections::HashMap;
use std::io::BufRead;

/// One element with its attributes, text and children.
#[derive(Debug, Default)]
pub(crate) struct Element {
    pub name: String,
    attributes: HashMap<String, String>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The text of the first child named `name` (trimmed), if any.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.children.iter().find(|c| c.name == name).map(|c| c.text.trim())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }

    fn required(&self, key: &str) -> Result<&str, ImportError> {
        self.get(key).ok_or_else(|| ImportError::invalid(format!("<{}> has no {key}", self.name)))
    }

    fn number(&self, key: &str) -> Result<f64, ImportError> {
        let text = self.required(key)?;
        text.trim()
            .parse()
            .map_err(|_| ImportError::invalid(format!("<{}> {key}=\"{text}\" is not a number", self.name)))
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("1") | Some("true") | Some("True"))
    }

    /// `<attribute name="…">value</attribute>` children.
    fn named_values(&self) -> Vec<(String, String)> {
        self.children
            .iter()
            .filter(|c| c.name == "attribute")
            .filter_map(|c| Some((c.get("name")?.to_string(), c.text.clone())))
            .collect()
    }
}

fn xml_error(err: impl std::fmt::Display, position: u64) -> ImportError {
    ImportError::invalid(format!("Malformed XML near byte {position}: {err}"))
}

pub(crate) fn start(reader: &quick_xml::Reader<impl BufRead>, tag: &BytesStart) -> Result<Element, ImportError> {
    let position = reader.buffer_position();
    let mut element = Element { name: String::from_utf8_lossy(tag.name().as_ref()).into_owned(), ..Default::default() };
    for attribute in tag.attributes() {
        let attribute = attribute.map_err(|e| xml_error(e, position))?;
        let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| xml_error(e, position))?
            .into_owned();
        element.attributes.insert(key, value);
    }
    Ok(element)
}

/// Reads the rest of `element` (its start tag was read) up to its end tag.
pub(crate) fn finish(
    reader: &mut quick_xml::Reader<impl BufRead>,
    mut element: Element,
) -> Result<Element, ImportError> {
    let mut stack: Vec<Element> = Vec::new();
    let mut buffer = Vec::new();
    loop {
        let position = reader.buffer_position();
        let event = reader.read_event_into(&mut buffer).map_err(|e| xml_error(e, position))?;
        let current = stack.last_mut().unwrap_or(&mut element);
        match event {
            Event::Start(tag) => {
                let child = start(reader, &tag)?;
                stack.push(child);
            }
            Event::Empty(tag) => {
                let child = start(reader, &tag)?;
                current.children.push(child);
            }
            Event::Text(text) => current.text.push_str(&text.decode().map_err(|e| xml_error(e, position))?),
            Event::CData(text) => current.text.push_str(&String::from_utf8_lossy(&text)),
            Event::GeneralRef(reference) => {
                let name = reference.decode().map_err(|e| xml_error(e, position))?;
                match reference.resolve_char_ref().map_err(|e| xml_error(e, position))? {
                    Some(c) => current.text.push(c),
                    None => current.text.push_str(
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| xml_error(format!("unknown entity &{name};"), position))?,
                    ),
                }
            }
            Event::End(_) => match stack.pop() {
                Some(done) => stack.last_mut().unwrap_or(&mut element).children.push(done),
                None => return Ok(element),
            },
            Event::Eof => return Err(ImportError::invalid(format!("The XML ends inside <{}>", element.name))),
            _ => {}
        }
        buffer.clear();
    }
}

/// Reads a whole file, or with `subset` only its `<image>` and `<track>` elements of that
/// subset (elements without one are in `default`).
pub(crate) fn read(
    input: impl BufRead,
    names: &Names,
    subset: Option<&str>,
    sink: &mut dyn Sink,
) -> Result<(), ImportError> {
    let mut reader = quick_xml::Reader::from_reader(input);
    let mut buffer = Vec::new();
    let mut seen_root = false;
    loop {
        let position = reader.buffer_position();
        let event = reader.read_event_into(&mut buffer).map_err(|e| xml_error(e, position))?;
        match event {
            Event::Start(tag) | Event::Empty(tag) if tag.name().as_ref() == b"annotations" => seen_root = true,
            Event::Start(tag) if matches!(tag.name().as_ref(), b"image" | b"track" | b"meta") => {
                let element = start(&reader, &tag)?;
                let element = finish(&mut reader, element)?;
                if subset.is_some_and(|s| element.name != "meta" && element.get("subset").unwrap_or("default") != s) {
                    buffer.clear();
                    continue;
                }
                match element.name.as_str() {
                    "image" => read_image(&element, names, sink)?,
                    "track" => read_track(&element, names, sink)?,
                    _ => {}
                }
            }
            Event::Empty(tag) if tag.name().as_ref() == b"image" => {
                let element = start(&reader, &tag)?;
                if subset.is_some_and(|s| element.get("subset").unwrap_or("default") != s) {
                    buffer.clear();
                    continue;
                }
                names.frame(element.required("name")?, element.get("id").and_then(|i| i.parse().ok()))?;
            }
            Event::Eof => break,
            _ => {}
        }
        buffer.clear();
    }
    if !seen_root {
        return Err(ImportError::invalid("This is not a CVAT annotation file: it has no <annotations> element"));
    }
    Ok(())
}

fn source_of(element: &Element) -> Source {
    match element.get("source") {
        Some("auto") => Source::Auto,
        Some("semi-auto") => Source::SemiAuto,
        Some("file") => Source::File,
        Some("consensus") => Source::Consensus,
        _ => Source::Manual,
    }
}

fn group_of(element: &Element) -> Option<i64> {
    element.get("group_id").and_then(|g| g.parse().ok()).filter(|g| *g != 0)
}

/// A shape element's type and points (formats.md §3.3, read backwards).
fn geometry(element: &Element) -> Result<Option<(ShapeType, Vec<f64>)>, ImportError> {
    let numbers = |keys: &[&str]| keys.iter().map(|k| element.number(k)).collect::<Result<Vec<f64>, _>>();
    let point_list = || -> Result<Vec<f64>, ImportError> {
        let text = element.required("points")?;
        let mut points = Vec::new();
        for pair in text.split(';').filter(|p| !p.trim().is_empty()) {
            for value in pair.split(',') {
                points.push(value.trim().parse().map_err(|_| {
                    ImportError::invalid(format!("<{}> points=\"{text}\" are not x,y pairs", element.name))
                })?);
            }
        }
        Ok(points)
    };
    Ok(Some(match element.name.as_str() {
        "box" => (ShapeType::Rectangle, numbers(&["xtl", "ytl", "xbr", "ybr"])?),
        "polygon" => (ShapeType::Polygon, point_list()?),
        "polyline" => (ShapeType::Polyline, point_list()?),
        "points" => (ShapeType::Points, point_list()?),
        "ellipse" => {
            let [cx, cy, rx, ry] = quad(element, ["cx", "cy", "rx", "ry"])?;
            (ShapeType::Ellipse, vec![cx, cy, cx + rx, cy - ry])
        }
        "cuboid" => (
            ShapeType::Cuboid,
            numbers(&[
                "xtl1", "ytl1", "xbl1", "ybl1", "xtr1", "ytr1", "xbr1", "ybr1", "xtl2", "ytl2", "xbl2", "ybl2", "xtr2",
                "ytr2", "xbr2", "ybr2",
            ])?,
        ),
        "mask" => {
            let rle = element.required("rle")?;
            let mut points = rle
                .split(',')
                .map(|v| v.trim().parse::<f64>())
                .collect::<Result<Vec<f64>, _>>()
                .map_err(|_| ImportError::invalid(format!("<mask> rle=\"{rle}\" is not a list of numbers")))?;
            let [left, top, width, height] = quad(element, ["left", "top", "width", "height"])?;
            points.extend([left, top, left + width - 1.0, top + height - 1.0]);
            (ShapeType::Mask, points)
        }
        "skeleton" => (ShapeType::Skeleton, Vec::new()),
        _ => return Ok(None),
    }))
}

fn quad(element: &Element, keys: [&str; 4]) -> Result<[f64; 4], ImportError> {
    Ok([element.number(keys[0])?, element.number(keys[1])?, element.number(keys[2])?, element.number(keys[3])?])
}

fn read_image(image: &Element, names: &Names, sink: &mut dyn Sink) -> Result<(), ImportError> {
    let frame = names.frame(image.required("name")?, image.get("id").and_then(|i| i.parse().ok()))?;
    for child in &image.children {
        if child.name == "tag" {
            let label = names.label(child.required("label")?)?;
            sink.tag(Tag {
                id: None,
                frame,
                label_id: label.id,
                group: group_of(child),
                source: source_of(child),
                attributes: Names::values(label, child.named_values()),
            })?;
            continue;
        }
        let Some((kind, points)) = geometry(child)? else { continue };
        let label = names.label(child.required("label")?)?;
        let elements = skeleton_points(child, label, names, frame)?;
        sink.shape(Shape {
            kind,
            occluded: child.flag("occluded"),
            outside: false,
            z_order: child.get("z_order").and_then(|z| z.parse().ok()).unwrap_or(0),
            rotation: child.get("rotation").and_then(|r| r.parse().ok()).unwrap_or(0.0),
            points,
            id: None,
            frame,
            label_id: label.id,
            group: group_of(child),
            source: source_of(child),
            attributes: Names::values(label, child.named_values()),
            score: None,
            elements,
        })?;
    }
    Ok(())
}

/// A skeleton's `<points>` children as its elements.
fn skeleton_points(shape: &Element, label: &LabelInfo, names: &Names, frame: u32) -> Result<Vec<Shape>, ImportError> {
    if shape.name != "skeleton" {
        return Ok(Vec::new());
    }
    let mut elements = Vec::new();
    for point in shape.children.iter().filter(|c| c.name == "points") {
        let sublabel = names.sublabel(&label.name, point.required("label")?)?;
        let Some((kind, points)) = geometry(point)? else { continue };
        elements.push(Shape {
            kind,
            occluded: point.flag("occluded"),
            outside: point.flag("outside"),
            z_order: 0,
            rotation: 0.0,
            points,
            id: None,
            frame,
            label_id: sublabel.id,
            group: group_of(point),
            source: source_of(point),
            attributes: Names::values(sublabel, point.named_values()),
            score: None,
            elements: Vec::new(),
        });
    }
    Ok(elements)
}

/// A `<track>` of the video flavour: only its keyframes are kept (the shapes between
/// are interpolated again) and its source becomes `file`, as CVAT does; a skeleton's
/// `<points>` become one element track per sublabel. A track that starts with a mask is
/// a plain mask shape (masks are not tracked).
fn read_track(track: &Element, names: &Names, sink: &mut dyn Sink) -> Result<(), ImportError> {
    let label = names.label(track.required("label")?)?;
    let mut shapes = Vec::new();
    let mut immutable = Vec::new();
    let mut elements: Vec<Track> = Vec::new();
    for child in &track.children {
        let Some((kind, points)) = geometry(child)? else { continue };
        if !child.flag("keyframe") {
            continue;
        }
        let frame = names.absolute_frame(child.number("frame")? as i64)?;
        let (track_values, shape_values) = names.split(label.id, Names::values(label, child.named_values()));
        if immutable.is_empty() {
            immutable = track_values;
        }
        if kind == ShapeType::Skeleton {
            read_element_keyframes(child, label, names, frame, &mut elements)?;
        }
        // A skeleton carries no `outside` of its own: it is outside where all its points are.
        let outside = match kind {
            ShapeType::Skeleton => {
                let mut points = child.children.iter().filter(|c| c.name == "points");
                points.clone().next().is_some() && points.all(|p| p.flag("outside"))
            }
            _ => child.flag("outside"),
        };
        shapes.push(TrackedShape {
            kind,
            occluded: child.flag("occluded"),
            outside,
            z_order: child.get("z_order").and_then(|z| z.parse().ok()).unwrap_or(0),
            rotation: child.get("rotation").and_then(|r| r.parse().ok()).unwrap_or(0.0),
            points,
            id: None,
            frame,
            attributes: shape_values,
        });
    }
    shapes.sort_by_key(|s| s.frame);
    let Some(first) = shapes.first() else { return Err(ImportError::invalid("A <track> has no keyframes")) };
    if first.kind == ShapeType::Mask {
        let mut attributes = first.attributes.clone();
        attributes.extend(immutable);
        sink.shape(Shape {
            kind: ShapeType::Mask,
            occluded: first.occluded,
            outside: false,
            z_order: first.z_order,
            rotation: 0.0,
            points: first.points.clone(),
            id: None,
            frame: first.frame,
            label_id: label.id,
            group: group_of(track),
            source: Source::File,
            attributes,
            score: None,
            elements: Vec::new(),
        })?;
        return Ok(());
    }
    for element in &mut elements {
        element.shapes.sort_by_key(|s| s.frame);
        element.frame = element.shapes.first().map_or(0, |s| s.frame);
    }
    sink.track(Track {
        id: None,
        frame: first.frame,
        label_id: label.id,
        group: group_of(track),
        source: Source::File,
        attributes: immutable,
        shapes,
        elements,
    })?;
    Ok(())
}

/// The keyframe `<points>` of a skeleton track's shape, added to their sublabels' tracks.
fn read_element_keyframes(
    skeleton: &Element,
    label: &LabelInfo,
    names: &Names,
    frame: u32,
    elements: &mut Vec<Track>,
) -> Result<(), ImportError> {
    for point in skeleton.children.iter().filter(|c| c.name == "points" && c.flag("keyframe")) {
        let sublabel = names.sublabel(&label.name, point.required("label")?)?;
        let Some((kind, points)) = geometry(point)? else { continue };
        let (immutable, values) = names.split(sublabel.id, Names::values(sublabel, point.named_values()));
        let at = match elements.iter().position(|e| e.label_id == sublabel.id) {
            Some(at) => at,
            None => {
                elements.push(Track {
                    id: None,
                    frame,
                    label_id: sublabel.id,
                    group: None,
                    source: Source::File,
                    attributes: immutable,
                    shapes: Vec::new(),
                    elements: Vec::new(),
                });
                elements.len() - 1
            }
        };
        elements[at].shapes.push(TrackedShape {
            kind,
            occluded: point.flag("occluded"),
            outside: point.flag("outside"),
            z_order: 0,
            rotation: 0.0,
            points,
            id: None,
            frame,
            attributes: values,
        });
    }
    Ok(())
}
