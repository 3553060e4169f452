//! Dataset formats, written natively as CVAT writes them (`formats.md` in the reference):
//! an export is an [`ExportSource`] (task, labels, frames) and the task's annotations
//! ([`Annotations`], spooled by the export worker and read back a frame at a time),
//! written into a zip archive laid out as CVAT's (entries stored, no directory entries);
//! an import reads a file object by object into a [`Sink`]. The export worker fetches
//! and stores; this crate reads and writes the files it is given.

mod backup;
mod classification;
mod coco;
mod coco_area;
mod coco_read;
mod contours;
mod cvat_images;
mod cvat_read;
mod cvat_video;
mod darknet;
mod datumaro;
mod datumaro_read;
mod document;
mod frames;
mod import;
mod raster;
mod source;
mod ultralytics;
mod voc;
mod xml;
mod yolo;

pub use backup::documents_with_ids;
pub use document::{read_line, write_line, write_raw_line, Annotations, ObjectKind, Spool};
pub use frames::{per_frame, FrameAnnotations, FrameShape, Frames};
pub use import::{
    dataset_subsets, read_annotations, read_subset, DatasetSubset, ImportError, ImportFormat, LineSink, Masks, Sink,
};
pub use source::{
    AttributeInfo, ExportSource, FrameInfo, ImageRef, JobInfo, LabelInfo, Meta, Person, ProjectInfo, SegmentInfo,
    TaskInfo, VideoInfo,
};
pub use ultralytics::Task as UltralyticsTask;

use cvat_annotations::{AttributeVal, Source};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::io::{Seek, Write};
use zip::write::SimpleFileOptions;

/// The formats this server writes, by the names CVAT lists and clients send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    CocoKeypoints,
    CvatImages,
    CvatVideo,
    Coco,
    Yolo,
    /// The Ultralytics YOLO formats with a label file per item.
    Ultralytics(UltralyticsTask),
    UltralyticsClassification,
    Datumaro,
    Voc,
    SegmentationMask,
}

impl Format {
    /// In CVAT's registry order.
    pub const EXPORTERS: [Format; 14] = [
        Format::Coco,
        Format::CocoKeypoints,
        Format::CvatVideo,
        Format::CvatImages,
        Format::Datumaro,
        Format::SegmentationMask,
        Format::Voc,
        Format::Yolo,
        Format::Ultralytics(UltralyticsTask::Detection),
        Format::Ultralytics(UltralyticsTask::DetectionTrack),
        Format::Ultralytics(UltralyticsTask::OrientedBoxes),
        Format::Ultralytics(UltralyticsTask::Segmentation),
        Format::Ultralytics(UltralyticsTask::Pose),
        Format::UltralyticsClassification,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::CvatImages => "CVAT for images 1.1",
            Format::CvatVideo => "CVAT for video 1.1",
            Format::Coco => "COCO 1.0",
            Format::CocoKeypoints => "COCO Keypoints 1.0",
            Format::Yolo => "YOLO 1.1",
            Format::Ultralytics(task) => task.name(),
            Format::UltralyticsClassification => "Ultralytics YOLO Classification 1.0",
            Format::Datumaro => "Datumaro 1.0",
            Format::Voc => "PASCAL VOC 1.1",
            Format::SegmentationMask => "Segmentation mask 1.1",
        }
    }

    /// The version at the end of the name (`/api/server/annotation/formats` lists it).
    pub fn version(self) -> &'static str {
        self.name().rsplit_once(' ').map_or("", |(_, version)| version)
    }

    pub fn exporter(name: &str) -> Option<Format> {
        Self::EXPORTERS.into_iter().find(|f| f.name() == name)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("Unknown export format \"{0}\"")]
    UnknownFormat(String),
    #[error("writing the archive: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing the archive: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// Where each exported frame's image goes in the archive, in `source.frames` order (a
/// frame may go to several places, or none).
pub type ImagePlaces = Vec<Vec<String>>;

/// Writes the annotation files of `source.format` (or a backup's JSON files) into `zip`
/// and answers where the images go (writing them is the caller's: see [`write_image`]).
pub fn write_annotations<W: Write + Seek>(
    source: &ExportSource,
    data: &Annotations,
    zip: &mut zip::ZipWriter<W>,
) -> Result<ImagePlaces, FormatError> {
    let format = Format::exporter(&source.format);
    if let Some(files) = source.backup.as_ref().and_then(|b| b.as_object()) {
        for (number, (name, content)) in files.iter().enumerate() {
            zip.start_file(name.as_str(), stored())?;
            match content {
                // Streamed by the task service (`annotations.json`), piece by piece.
                Value::Null => data.copy_raw(number as u32, &mut *zip)?,
                _ => serde_json::to_writer(&mut *zip, content).map_err(std::io::Error::from)?,
            }
        }
    } else {
        match format.ok_or_else(|| FormatError::UnknownFormat(source.format.clone()))? {
            format @ (Format::CvatImages | Format::CvatVideo) => {
                zip.start_file("annotations.xml", stored())?;
                let mut out = std::io::BufWriter::new(&mut *zip);
                match format {
                    Format::CvatVideo => cvat_video::write(source, data, &mut out)?,
                    _ => cvat_images::write(source, data, &mut out)?,
                }
                out.flush()?;
            }
            format @ (Format::Coco | Format::CocoKeypoints) => {
                let task = if format == Format::Coco { coco::Task::Instances } else { coco::Task::Keypoints };
                let frames = Frames::new(source, data);
                for subset in coco::subsets(source) {
                    zip.start_file(coco::file_name(task, subset), stored())?;
                    let mut out = std::io::BufWriter::new(&mut *zip);
                    coco::write(source, &frames, subset, task, &mut out)?;
                    out.flush()?;
                }
            }
            Format::Yolo => yolo::write(source, data, zip)?,
            Format::Ultralytics(task) => ultralytics::write(source, data, zip, task)?,
            Format::UltralyticsClassification => return classification::write(source, data, zip),
            Format::Datumaro => datumaro::write(source, data, zip)?,
            Format::Voc => voc::write(source, data, zip, voc::Flavour::Voc)?,
            Format::SegmentationMask => voc::write(source, data, zip, voc::Flavour::SegmentationMask)?,
        }
    }
    Ok(source.frames.iter().map(|frame| vec![image_path(source, frame, format)]).collect())
}

/// A frame's path as the archive names it: its path without segments that could leave
/// the archive's root, with its type's extension when the name has none (video frames).
pub(crate) fn archive_name(frame: &FrameInfo) -> String {
    let name: Vec<&str> = frame.name.split(['/', '\\']).filter(|s| !s.is_empty() && *s != "." && *s != "..").collect();
    let mut name = name.join("/");
    if let Some(image) = &frame.image {
        if !name.rsplit('/').next().unwrap_or_default().contains('.') {
            name = format!("{name}.{}", image.extension.to_ascii_uppercase());
        }
    }
    name
}

/// Where a frame's image goes in the archive of `format`: under `images/` (COCO and
/// projects: `images/<subset>/`) by its archive name; a backup's under `data/`.
fn image_path(source: &ExportSource, frame: &FrameInfo, format: Option<Format>) -> String {
    let name = archive_name(frame);
    match format {
        // A project's backup has a folder per task, in the order of its tasks.
        _ if source.backup.is_some() => match &source.meta {
            Meta::Project(_, tasks) => {
                let n = tasks.iter().position(|t| t.id == frame.task_id).unwrap_or_default();
                format!("task_{n}/data/{name}")
            }
            _ => format!("data/{name}"),
        },
        Some(Format::Coco | Format::CocoKeypoints | Format::Datumaro) => format!("images/{}/{name}", frame.subset),
        Some(Format::Yolo) => yolo::image_path(frame, &name),
        Some(Format::Voc | Format::SegmentationMask) => format!("JPEGImages/{name}"),
        Some(Format::Ultralytics(_)) => ultralytics::image_path(frame, &name),
        _ if source.meta.is_project() => format!("images/{}/{name}", frame.subset),
        _ => format!("images/{name}"),
    }
}

/// Adds one image to the archive, stored as it is.
pub fn write_image<W: Write + Seek>(zip: &mut zip::ZipWriter<W>, path: &str, bytes: &[u8]) -> Result<(), FormatError> {
    zip.start_file(path, stored())?;
    zip.write_all(bytes)?;
    Ok(())
}

/// Entries are stored, as in CVAT's archives (images are compressed already).
pub(crate) fn stored() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored).large_file(true)
}

/// An item's id as formats write it: its path without the extension (`a/b/img1.jpg` →
/// `a/b/img1`).
pub(crate) fn item_id(name: &str) -> &str {
    match name.rfind('.') {
        Some(dot) if !name[dot..].contains('/') => &name[..dot],
        _ => name,
    }
}

/// How CVAT names an object's source in files.
pub(crate) fn source_name(source: Source) -> &'static str {
    match source {
        Source::Manual => "manual",
        Source::SemiAuto => "semi-auto",
        Source::Auto => "auto",
        Source::File => "file",
        Source::Consensus => "consensus",
    }
}

/// Label and attribute names by id, and label indices (their order in the source).
pub(crate) struct Names<'a> {
    labels: HashMap<i64, (usize, &'a LabelInfo)>,
    attributes: HashMap<i64, &'a AttributeInfo>,
}

impl<'a> Names<'a> {
    pub fn new(labels: &'a [LabelInfo]) -> Self {
        Self {
            labels: labels.iter().enumerate().map(|(i, l)| (l.id, (i, l))).collect(),
            attributes: labels.iter().flat_map(|l| &l.attributes).map(|a| (a.id, a)).collect(),
        }
    }

    /// The label's name (empty for a label the source does not have).
    pub fn label(&self, id: i64) -> &'a str {
        self.labels.get(&id).map_or("", |(_, l)| l.name.as_str())
    }

    pub fn index(&self, id: i64) -> Option<usize> {
        self.labels.get(&id).map(|(i, _)| *i)
    }

    pub fn attribute(&self, id: i64) -> Option<&'a str> {
        self.attributes.get(&id).map(|a| a.name.as_str())
    }

    /// Every attribute of the label with the object's value or its default, typed as
    /// datumaro types them (number → float, checkbox → bool, others → string).
    pub fn typed_values(&self, label: i64, values: &[AttributeVal]) -> Map<String, Value> {
        let mut out = Map::new();
        let Some((_, label)) = self.labels.get(&label) else { return out };
        for spec in &label.attributes {
            let value = values.iter().find(|v| v.spec_id == spec.id).map_or(spec.default_value.as_str(), |v| &v.value);
            let typed = match spec.input_type.as_str() {
                "number" => value.parse::<f64>().map_or_else(|_| Value::String(value.into()), |n| serde_json::json!(n)),
                "checkbox" => Value::Bool(value.eq_ignore_ascii_case("true")),
                _ => Value::String(value.into()),
            };
            out.insert(spec.name.clone(), typed);
        }
        out
    }
}

/// What the tests against other tools' output share.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::frames::FrameShape;
    use cvat_annotations::{ShapeType, Source};

    /// The cases of a fixture made with the other tool (`tests/data/*.json`).
    pub fn cases(json: &str) -> Vec<serde_json::Value> {
        let cases: Vec<serde_json::Value> = serde_json::from_str(json).unwrap();
        assert!(cases.len() >= 100, "a fixture of {} cases", cases.len());
        cases
    }

    /// A shape on a frame with only what painting looks at.
    pub fn shape(
        kind: ShapeType,
        label_id: i64,
        points: Vec<f64>,
        rotation: f64,
        z_order: i32,
        group: i64,
    ) -> FrameShape {
        FrameShape {
            kind,
            label_id,
            points,
            rotation,
            occluded: false,
            outside: false,
            z_order,
            group,
            source: Source::Manual,
            attributes: Vec::new(),
            elements: Vec::new(),
            track: None,
        }
    }
}
