//! CVAT for images 1.1 (formats.md §3): `annotations.xml` with the task's, job's or
//! project's meta and one `<image>` per exported frame (in a project with its subset and
//! task); tracks appear as plain shapes on every frame where they are visible.

use crate::document::Annotations;
use crate::frames::{FrameShape, Frames};
use crate::source::{ExportSource, LabelInfo, Meta, Person, TaskInfo, VideoInfo};
use crate::xml::Xml;
use crate::{source_name, Names};
use cvat_annotations::{AttributeVal, ShapeType};
use std::io::{self, Write};

pub fn write(source: &ExportSource, data: &Annotations, out: impl Write) -> io::Result<()> {
    let names = Names::new(&source.labels);
    let mut xml = Xml::new(out)?;
    write_head(&mut xml, source)?;
    let frames = Frames::exact(source, data);
    for (at, frame) in source.frames.iter().enumerate() {
        let annotations = frames.at(at)?;
        let id = frame.id.to_string();
        let (width, height, task_id) = (frame.width.to_string(), frame.height.to_string(), frame.task_id.to_string());
        let mut attributes = vec![("id", id.as_str()), ("name", frame.name.as_str())];
        if source.meta.is_project() {
            attributes.extend([("subset", frame.subset.as_str()), ("task_id", task_id.as_str())]);
        }
        attributes.extend([("width", width.as_str()), ("height", height.as_str())]);
        xml.open("image", &attributes)?;
        let mut shapes = annotations.shapes;
        shapes.sort_by_key(|s| s.z_order);
        for shape in &shapes {
            write_shape(&mut xml, &names, shape)?;
        }
        for tag in annotations.tags {
            let mut attributes = vec![("label", names.label(tag.label_id)), ("source", source_name(tag.source))];
            let group = tag.group.unwrap_or(0).to_string();
            if group != "0" {
                attributes.push(("group_id", &group));
            }
            xml.open("tag", &attributes)?;
            write_values(&mut xml, &names, &tag.attributes)?;
            xml.close("tag")?;
        }
        xml.close("image")?;
    }
    xml.close("annotations")?;
    xml.finish()?;
    Ok(())
}

/// The root, the version and the meta of the document (both CVAT flavours share them).
pub(crate) fn write_head(xml: &mut Xml<impl Write>, source: &ExportSource) -> io::Result<()> {
    xml.open("annotations", &[])?;
    xml.leaf("version", "1.1")?;
    xml.open("meta", &[])?;
    match &source.meta {
        Meta::Task(task) => write_task(xml, task, Some(&source.labels))?,
        Meta::Job(task, job) => {
            xml.open("job", &[])?;
            xml.leaf("id", &job.id.to_string())?;
            xml.leaf("size", &(job.stop - job.start + 1).to_string())?;
            xml.leaf("mode", &task.mode)?;
            xml.leaf("overlap", &task.overlap.to_string())?;
            xml.leaf("bugtracker", &task.bug_tracker)?;
            xml.leaf("created", &task.created)?;
            xml.leaf("updated", &job.updated)?;
            xml.leaf("subset", task.subset_name())?;
            xml.leaf("start_frame", &task.absolute(job.start).to_string())?;
            xml.leaf("stop_frame", &task.absolute(job.stop).to_string())?;
            xml.leaf("frame_filter", &task.frame_filter)?;
            xml.open("segments", &[])?;
            for segment in task.segments.iter().filter(|s| s.url.ends_with(&format!("/api/jobs/{}", job.id))) {
                write_segment(xml, segment.id, segment.start, segment.stop, &segment.url)?;
            }
            xml.close("segments")?;
            write_person(xml, "owner", &task.owner)?;
            write_person(xml, "assignee", &job.assignee)?;
            write_labels(xml, &source.labels)?;
            xml.close("job")?;
        }
        Meta::Project(project, tasks) => {
            xml.open("project", &[])?;
            xml.leaf("id", &project.id.to_string())?;
            xml.leaf("name", &project.name)?;
            xml.leaf("bugtracker", &project.bug_tracker)?;
            xml.leaf("created", &project.created)?;
            xml.leaf("updated", &project.updated)?;
            xml.open("tasks", &[])?;
            for task in tasks {
                write_task(xml, task, None)?;
            }
            xml.close("tasks")?;
            let mut subsets: Vec<&str> = tasks.iter().map(TaskInfo::subset_name).collect();
            subsets.dedup();
            xml.leaf("subsets", &subsets.join("\n"))?;
            write_person(xml, "owner", &project.owner)?;
            write_person(xml, "assignee", &project.assignee)?;
            write_labels(xml, &source.labels)?;
            xml.close("project")?;
        }
    }
    xml.leaf("dumped", &source.dumped)?;
    if let Meta::Job(TaskInfo { video: Some(video), .. }, _) = &source.meta {
        write_original_size(xml, video)?;
    }
    xml.close("meta")
}

fn write_original_size(xml: &mut Xml<impl Write>, video: &VideoInfo) -> io::Result<()> {
    xml.open("original_size", &[])?;
    xml.leaf("width", &video.width.to_string())?;
    xml.leaf("height", &video.height.to_string())?;
    xml.close("original_size")
}

/// A task's meta; in a project's meta, without labels (`labels` None).
fn write_task(xml: &mut Xml<impl Write>, task: &TaskInfo, labels: Option<&[LabelInfo]>) -> io::Result<()> {
    xml.open("task", &[])?;
    xml.leaf("id", &task.id.to_string())?;
    xml.leaf("name", &task.name)?;
    xml.leaf("size", &task.size.to_string())?;
    xml.leaf("mode", &task.mode)?;
    xml.leaf("overlap", &task.overlap.to_string())?;
    xml.leaf("bugtracker", &task.bug_tracker)?;
    xml.leaf("created", &task.created)?;
    xml.leaf("updated", &task.updated)?;
    xml.leaf("subset", task.subset_name())?;
    xml.leaf("start_frame", &task.start_frame.to_string())?;
    xml.leaf("stop_frame", &task.stop_frame.to_string())?;
    xml.leaf("frame_filter", &task.frame_filter)?;
    xml.open("segments", &[])?;
    for segment in &task.segments {
        write_segment(xml, segment.id, segment.start, segment.stop, &segment.url)?;
    }
    xml.close("segments")?;
    write_person(xml, "owner", &task.owner)?;
    write_person(xml, "assignee", &task.assignee)?;
    if let Some(labels) = labels {
        write_labels(xml, labels)?;
    }
    if let Some(video) = &task.video {
        write_original_size(xml, video)?;
        xml.leaf("source", &video.source)?;
    }
    xml.close("task")
}

fn write_segment(xml: &mut Xml<impl Write>, id: i64, start: u32, stop: u32, url: &str) -> io::Result<()> {
    xml.open("segment", &[])?;
    xml.leaf("id", &id.to_string())?;
    xml.leaf("start", &start.to_string())?;
    xml.leaf("stop", &stop.to_string())?;
    xml.leaf("url", url)?;
    xml.close("segment")
}

fn write_person(xml: &mut Xml<impl Write>, role: &str, person: &Option<Person>) -> io::Result<()> {
    match person {
        None => xml.leaf(role, ""),
        Some(person) => {
            xml.open(role, &[])?;
            xml.leaf("username", &person.username)?;
            xml.leaf("email", &person.email)?;
            xml.close(role)
        }
    }
}

fn write_labels(xml: &mut Xml<impl Write>, labels: &[LabelInfo]) -> io::Result<()> {
    xml.open("labels", &[])?;
    for label in labels {
        xml.open("label", &[])?;
        xml.leaf("name", &label.name)?;
        xml.leaf("color", &label.color)?;
        xml.leaf("type", &label.kind)?;
        xml.open("attributes", &[])?;
        for attribute in &label.attributes {
            xml.open("attribute", &[])?;
            xml.leaf("name", &attribute.name)?;
            xml.leaf("mutable", if attribute.mutable { "True" } else { "False" })?;
            xml.leaf("input_type", &attribute.input_type)?;
            xml.leaf("default_value", &attribute.default_value)?;
            xml.leaf("values", &attribute.values.join("\n"))?;
            xml.close("attribute")?;
        }
        xml.close("attributes")?;
        if let Some(parent) = &label.parent {
            xml.leaf("parent", parent)?;
        }
        if label.kind == "skeleton" {
            xml.leaf("svg", &label.svg)?;
        }
        xml.close("label")?;
    }
    xml.close("labels")
}

pub(crate) fn write_values(xml: &mut Xml<impl Write>, names: &Names, values: &[AttributeVal]) -> io::Result<()> {
    for value in values {
        if let Some(name) = names.attribute(value.spec_id) {
            xml.leaf_with("attribute", &[("name", name)], &value.value)?;
        }
    }
    Ok(())
}

/// `"1"` or `"0"`.
pub(crate) fn flag(value: bool) -> &'static str {
    if value {
        "1"
    } else {
        "0"
    }
}

fn fixed(value: f64) -> String {
    format!("{value:.2}")
}

/// `x0,y0;x1,y1;…`
pub(crate) fn point_list(points: &[f64]) -> String {
    points.chunks(2).map(|p| p.iter().map(|v| fixed(*v)).collect::<Vec<_>>().join(",")).collect::<Vec<_>>().join(";")
}

/// A shape's element name and its geometry attributes (formats.md §3.3), rotation
/// included where it applies.
pub(crate) fn geometry(shape: &FrameShape) -> (&'static str, Vec<(&'static str, String)>) {
    let p = &shape.points;
    let at = |i: usize| p.get(i).copied().unwrap_or(0.0);
    let mut attributes: Vec<(&str, String)> = Vec::new();
    let element = match shape.kind {
        ShapeType::Rectangle => {
            for (i, key) in ["xtl", "ytl", "xbr", "ybr"].into_iter().enumerate() {
                attributes.push((key, fixed(at(i))));
            }
            "box"
        }
        ShapeType::Polygon | ShapeType::Polyline | ShapeType::Points => {
            attributes.push(("points", point_list(p)));
            shape.kind.as_str()
        }
        ShapeType::Ellipse => {
            let (cx, cy) = (at(0), at(1));
            attributes.extend([
                ("cx", fixed(cx)),
                ("cy", fixed(cy)),
                ("rx", fixed(at(2) - cx)),
                ("ry", fixed(cy - at(3))),
            ]);
            "ellipse"
        }
        ShapeType::Cuboid => {
            let keys = [
                "xtl1", "ytl1", "xbl1", "ybl1", "xtr1", "ytr1", "xbr1", "ybr1", "xtl2", "ytl2", "xbl2", "ybl2", "xtr2",
                "ytr2", "xbr2", "ybr2",
            ];
            for (i, key) in keys.into_iter().enumerate() {
                attributes.push((key, fixed(at(i))));
            }
            "cuboid"
        }
        ShapeType::Mask => {
            let n = p.len().saturating_sub(4);
            let runs: Vec<String> = p[..n].iter().map(|v| format!("{}", *v as i64)).collect();
            let (left, top, right, bottom) = (at(n) as i64, at(n + 1) as i64, at(n + 2) as i64, at(n + 3) as i64);
            attributes.extend([
                ("rle", runs.join(", ")),
                ("left", left.to_string()),
                ("top", top.to_string()),
                ("width", (right - left + 1).to_string()),
                ("height", (bottom - top + 1).to_string()),
            ]);
            "mask"
        }
        ShapeType::Skeleton => "skeleton",
    };
    if matches!(shape.kind, ShapeType::Rectangle | ShapeType::Ellipse) && shape.rotation != 0.0 {
        attributes.push(("rotation", fixed(shape.rotation)));
    }
    (element, attributes)
}

fn write_shape(xml: &mut Xml<impl Write>, names: &Names, shape: &FrameShape) -> io::Result<()> {
    let (element, geometry) = geometry(shape);
    let z_order = shape.z_order.to_string();
    let group = shape.group.to_string();
    let mut all: Vec<(&str, &str)> =
        vec![("label", names.label(shape.label_id)), ("source", source_name(shape.source))];
    if shape.kind != ShapeType::Skeleton {
        all.push(("occluded", flag(shape.occluded)));
    }
    all.extend(geometry.iter().map(|(k, v)| (*k, v.as_str())));
    all.push(("z_order", &z_order));
    if shape.group != 0 {
        all.push(("group_id", &group));
    }
    xml.open(element, &all)?;
    for element in &shape.elements {
        let points = point_list(&element.points);
        let group = element.group.to_string();
        let mut attributes = vec![
            ("label", names.label(element.label_id)),
            ("source", source_name(element.source)),
            ("outside", flag(element.outside)),
            ("occluded", flag(element.occluded)),
            ("points", points.as_str()),
        ];
        if element.group != 0 {
            attributes.push(("group_id", &group));
        }
        xml.open("points", &attributes)?;
        write_values(xml, names, &element.attributes)?;
        xml.close("points")?;
    }
    write_values(xml, names, &shape.attributes)?;
    xml.close(element)
}
