//! CVAT for video 1.1 (formats.md §4): the meta of CVAT for images, then one `<track>`
//! per track (its visible shapes on every exported frame plus every keyframe) and one
//! per plain shape (the shape, closed by an outside copy on the next frame unless that
//! frame is the last one). Tags are not written: the format has no place for them.

use crate::cvat_images::{flag, geometry, point_list, write_head, write_values};
use crate::document::Annotations;
use crate::frames::{from_shape, track_frames, FrameShape};
use crate::source::ExportSource;
use crate::xml::Xml;
use crate::{source_name, Names};
use cvat_annotations::{ShapeType, Source};
use std::collections::HashMap;
use std::io::{self, Write};

pub fn write(source: &ExportSource, data: &Annotations, out: impl Write) -> io::Result<()> {
    let names = Names::new(&source.labels);
    let index: HashMap<u32, usize> = source.frames.iter().enumerate().map(|(i, f)| (f.frame, i)).collect();
    let mut xml = Xml::new(out)?;
    write_head(&mut xml, source)?;
    let mut id = 0;
    for (number, track) in data.tracks().iter().enumerate() {
        let shapes = track_frames(source, track, number);
        let header = TrackHeader { label_id: track.label_id, source: track.source, group: track.group.unwrap_or(0) };
        write_track(&mut xml, &names, source, id, &header, &shapes)?;
        id += 1;
    }
    for shape in data.shapes() {
        let shape = shape?;
        let Some(&at) = index.get(&shape.frame) else { continue };
        let header = TrackHeader { label_id: shape.label_id, source: shape.source, group: shape.group.unwrap_or(0) };
        write_track(&mut xml, &names, source, id, &header, &shape_as_track(source, at, from_shape(&shape)))?;
        id += 1;
    }
    xml.close("annotations")?;
    xml.finish()?;
    Ok(())
}

struct TrackHeader {
    label_id: i64,
    source: Source,
    group: i64,
}

/// A plain shape as a track: a keyframe on its frame and, when the next exported frame of
/// the same task is not its last one, an outside keyframe there (CVAT's rule
/// `frame + step < stop_frame`).
fn shape_as_track(source: &ExportSource, at: usize, mut shape: FrameShape) -> Vec<(usize, FrameShape)> {
    let frames = &source.frames;
    let task = frames[at].task_id;
    let same_task = |i: usize| frames.get(i).is_some_and(|f| f.task_id == task);
    shape.track = Some((0, true));
    for element in &mut shape.elements {
        element.track = Some((0, true));
    }
    let mut shapes = vec![(at, shape.clone())];
    if same_task(at + 1) && same_task(at + 2) {
        shape.outside = true;
        for element in &mut shape.elements {
            element.outside = true;
        }
        shapes.push((at + 1, shape));
    }
    shapes
}

fn is_keyframe(shape: &FrameShape) -> bool {
    shape.track.is_some_and(|(_, keyframe)| keyframe)
}

fn write_track(
    xml: &mut Xml<impl Write>,
    names: &Names,
    source: &ExportSource,
    id: usize,
    header: &TrackHeader,
    shapes: &[(usize, FrameShape)],
) -> io::Result<()> {
    let id = id.to_string();
    let mut attributes =
        vec![("id", id.as_str()), ("label", names.label(header.label_id)), ("source", source_name(header.source))];
    let first = shapes.first().map(|(at, _)| &source.frames[*at]);
    let task_id = first.map(|f| f.task_id.to_string()).unwrap_or_default();
    if source.meta.is_project() {
        attributes.push(("task_id", &task_id));
        attributes.push(("subset", first.map_or("default", |f| f.subset.as_str())));
    }
    let group = header.group.to_string();
    if header.group != 0 {
        attributes.push(("group_id", &group));
    }
    xml.open("track", &attributes)?;
    for (at, shape) in shapes {
        // A skeleton is written only on frames where one of its points has a shape.
        if shape.kind == ShapeType::Skeleton && shape.elements.is_empty() {
            continue;
        }
        write_track_shape(xml, names, source.frames[*at].id, shape)?;
    }
    xml.close("track")
}

fn write_track_shape(xml: &mut Xml<impl Write>, names: &Names, frame: i64, shape: &FrameShape) -> io::Result<()> {
    let (element, geometry) = geometry(shape);
    let (frame, z_order) = (frame.to_string(), shape.z_order.to_string());
    let mut all: Vec<(&str, &str)> = vec![("frame", &frame), ("keyframe", flag(is_keyframe(shape)))];
    if shape.kind != ShapeType::Skeleton {
        all.extend([("outside", flag(shape.outside)), ("occluded", flag(shape.occluded))]);
    }
    all.extend(geometry.iter().map(|(k, v)| (*k, v.as_str())));
    all.push(("z_order", &z_order));
    xml.open(element, &all)?;
    for point in &shape.elements {
        let points = point_list(&point.points);
        xml.open(
            "points",
            &[
                ("label", names.label(point.label_id)),
                ("keyframe", flag(is_keyframe(point))),
                ("outside", flag(point.outside)),
                ("occluded", flag(point.occluded)),
                ("points", &points),
            ],
        )?;
        write_values(xml, names, &point.attributes)?;
        xml.close("points")?;
    }
    write_values(xml, names, &shape.attributes)?;
    xml.close(element)
}
