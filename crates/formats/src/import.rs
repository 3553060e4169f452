//! Reading annotation files back into a task's document: what every importer shares —
//! finding the annotation file in an upload (a zip archive or the bare file), matching
//! items to the task's frames and names to its labels and attributes (formats.md §2.7).

use crate::document::{write_line, ObjectKind};
use crate::source::{ExportSource, LabelInfo};
use crate::ultralytics::Task;
use cvat_annotations::{AttributeVal, LabeledData, Shape, Tag, Track};
use std::collections::HashMap;
use std::io::{Read, Seek};
use std::path::Path;

/// An import that cannot be done; the message is for the user and names what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Invalid(String),
    #[error("reading the file: {0}")]
    Io(#[from] std::io::Error),
}

impl ImportError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}

impl From<zip::result::ZipError> for ImportError {
    fn from(err: zip::result::ZipError) -> Self {
        Self::invalid(format!("The archive is broken: {err}"))
    }
}

/// Where a reader puts what it reads, object by object.
pub trait Sink {
    fn tag(&mut self, tag: Tag) -> Result<(), ImportError>;
    fn shape(&mut self, shape: Shape) -> Result<(), ImportError>;
    fn track(&mut self, track: Track) -> Result<(), ImportError>;

    /// Takes every object of a document read whole.
    fn take_all(&mut self, data: LabeledData) -> Result<(), ImportError> {
        data.tags.into_iter().try_for_each(|t| self.tag(t))?;
        data.shapes.into_iter().try_for_each(|s| self.shape(s))?;
        data.tracks.into_iter().try_for_each(|t| self.track(t))
    }
}

impl Sink for LabeledData {
    fn tag(&mut self, tag: Tag) -> Result<(), ImportError> {
        self.tags.push(tag);
        Ok(())
    }

    fn shape(&mut self, shape: Shape) -> Result<(), ImportError> {
        self.shapes.push(shape);
        Ok(())
    }

    fn track(&mut self, track: Track) -> Result<(), ImportError> {
        self.tracks.push(track);
        Ok(())
    }
}

/// Objects written out as lines ([`write_line`]) as they are read: what an import sends
/// the task service, without holding the document.
pub struct LineSink<W: std::io::Write> {
    out: W,
    line: Vec<u8>,
}

impl<W: std::io::Write> LineSink<W> {
    pub fn new(out: W) -> Self {
        Self { out, line: Vec::new() }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn put(&mut self, kind: ObjectKind, frame: u32, object: &impl serde::Serialize) -> Result<(), ImportError> {
        self.line.clear();
        write_line(&mut self.line, kind, frame, object);
        Ok(self.out.write_all(&self.line)?)
    }
}

impl<W: std::io::Write> Sink for LineSink<W> {
    fn tag(&mut self, tag: Tag) -> Result<(), ImportError> {
        self.put(ObjectKind::Tag, tag.frame, &tag)
    }

    fn shape(&mut self, shape: Shape) -> Result<(), ImportError> {
        self.put(ObjectKind::Shape, shape.frame, &shape)
    }

    fn track(&mut self, track: Track) -> Result<(), ImportError> {
        self.put(ObjectKind::Track, track.frame, &track)
    }
}

/// What an import makes of masks: CVAT's `conv_mask_to_poly` (on unless asked off),
/// which only its mask-based importers — PASCAL VOC and Segmentation mask — apply:
/// each mask becomes the polygons of its parts' outer borders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Masks {
    Keep,
    Trace,
}

/// The formats this server reads, by the names CVAT lists and clients send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Cvat,
    Coco,
    CocoKeypoints,
    Datumaro,
    SegmentationMask,
    Voc,
    Yolo,
    /// Detection (which reads Detection Track files too), Segmentation, Oriented
    /// Bounding Boxes and Pose.
    Ultralytics(Task),
    UltralyticsClassification,
}

impl ImportFormat {
    /// In CVAT's registry order.
    pub const IMPORTERS: [ImportFormat; 12] = [
        ImportFormat::Coco,
        ImportFormat::CocoKeypoints,
        ImportFormat::Cvat,
        ImportFormat::Datumaro,
        ImportFormat::SegmentationMask,
        ImportFormat::Voc,
        ImportFormat::Yolo,
        ImportFormat::Ultralytics(Task::Detection),
        ImportFormat::Ultralytics(Task::Segmentation),
        ImportFormat::Ultralytics(Task::OrientedBoxes),
        ImportFormat::Ultralytics(Task::Pose),
        ImportFormat::UltralyticsClassification,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ImportFormat::Cvat => "CVAT 1.1",
            ImportFormat::Coco => "COCO 1.0",
            ImportFormat::CocoKeypoints => "COCO Keypoints 1.0",
            ImportFormat::Datumaro => "Datumaro 1.0",
            ImportFormat::Voc => "PASCAL VOC 1.1",
            ImportFormat::SegmentationMask => "Segmentation mask 1.1",
            ImportFormat::Yolo => "YOLO 1.1",
            ImportFormat::Ultralytics(task) => task.name(),
            ImportFormat::UltralyticsClassification => "Ultralytics YOLO Classification 1.0",
        }
    }

    /// What the upload may be, as `/api/server/annotation/formats` lists it.
    pub fn extensions(self) -> &'static str {
        match self {
            ImportFormat::Cvat => "XML, ZIP",
            ImportFormat::Coco | ImportFormat::CocoKeypoints | ImportFormat::Datumaro => "JSON, ZIP",
            ImportFormat::Voc
            | ImportFormat::SegmentationMask
            | ImportFormat::Yolo
            | ImportFormat::Ultralytics(_)
            | ImportFormat::UltralyticsClassification => "ZIP",
        }
    }

    pub fn version(self) -> &'static str {
        self.name().rsplit_once(' ').map_or("", |(_, version)| version)
    }

    /// Whether a whole dataset (images and annotations, a task per subset) is imported
    /// into a project in this format: those whose subsets are told by their files.
    pub fn imports_datasets(self) -> bool {
        matches!(self, ImportFormat::Coco | ImportFormat::CocoKeypoints | ImportFormat::Cvat | ImportFormat::Datumaro)
    }

    pub fn importer(name: &str) -> Option<ImportFormat> {
        Self::IMPORTERS.into_iter().find(|f| f.name() == name)
    }
}

/// The largest annotation file read out of an archive (a zip bomb stops here).
const MAX_MEMBER_BYTES: u64 = 4 << 30;

/// The largest text file (lists, configurations, label maps) read out of an archive.
const MAX_TEXT_BYTES: u64 = 1 << 30;

/// A member of an archive as UTF-8 text, `None` when the archive has no such member.
pub(crate) fn member_text<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    path: &str,
) -> Result<Option<String>, ImportError> {
    let Ok(entry) = archive.by_name(path) else { return Ok(None) };
    let mut content = String::new();
    entry
        .take(MAX_TEXT_BYTES)
        .read_to_string(&mut content)
        .map_err(|_| ImportError::invalid(format!("{path} is not UTF-8 text")))?;
    Ok(Some(content))
}

/// A member the archive must have, as UTF-8 text.
pub(crate) fn required_text<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    path: &str,
) -> Result<String, ImportError> {
    member_text(archive, path)?.ok_or_else(|| ImportError::invalid(format!("The archive has no {path}")))
}

/// Reads the file at `path` (as uploaded) in `format` into `sink`, object by object,
/// for `source`'s task or job. A file that turns out bad part-way has given the sink
/// some objects already: the caller saves all of them or nothing.
pub fn read_annotations(
    format: ImportFormat,
    path: &Path,
    source: &ExportSource,
    masks: Masks,
    sink: &mut dyn Sink,
) -> Result<(), ImportError> {
    let mut file = std::fs::File::open(path)?;
    let mut magic = [0u8; 4];
    let is_zip = file.read(&mut magic)? == 4 && magic[..2] == *b"PK" && matches!(magic[2..], [3, 4] | [5, 6] | [7, 8]);
    file.rewind()?;
    let names = Names::new(source);
    if !is_zip {
        let reader = std::io::BufReader::new(file);
        return match format {
            ImportFormat::Cvat | ImportFormat::Coco | ImportFormat::CocoKeypoints | ImportFormat::Datumaro => {
                read_document(format, reader, &names, None, sink)
            }
            ImportFormat::Voc
            | ImportFormat::SegmentationMask
            | ImportFormat::Yolo
            | ImportFormat::Ultralytics(_)
            | ImportFormat::UltralyticsClassification => {
                Err(ImportError::invalid(format!("{} files come as a zip archive", format.name())))
            }
        };
    }
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))?;
    // These formats' readers make the whole document (their files are per item, or
    // their tracks are rebuilt across files).
    let whole = match format {
        ImportFormat::Yolo => Some(crate::yolo::read(&mut archive, &names)?),
        ImportFormat::Voc | ImportFormat::SegmentationMask => {
            Some(crate::voc::read(&mut archive, &names, &source.labels, masks)?)
        }
        ImportFormat::Ultralytics(task) => Some(crate::ultralytics::read(&mut archive, &names, task)?),
        ImportFormat::UltralyticsClassification => Some(crate::classification::read(&mut archive, &names)?),
        ImportFormat::Cvat | ImportFormat::Coco | ImportFormat::CocoKeypoints | ImportFormat::Datumaro => None,
    };
    if let Some(data) = whole {
        return sink.take_all(data);
    }
    let prefix = annotation_prefix(format);
    let wanted = |name: &str| match format {
        ImportFormat::Cvat => name.ends_with(".xml"),
        ImportFormat::Datumaro => name.ends_with(".json") && name.split('/').rev().nth(1) == Some("annotations"),
        _ => {
            let base = name.rsplit('/').next().unwrap_or(name);
            base.starts_with(prefix) && base.ends_with(".json")
        }
    };
    let members: Vec<String> = archive.file_names().filter(|n| wanted(n)).map(str::to_string).collect();
    if members.is_empty() {
        let expected = match format {
            ImportFormat::Cvat => "an .xml annotation file".to_string(),
            ImportFormat::Datumaro => "annotations/<subset>.json".to_string(),
            _ => format!("annotations/{prefix}<subset>.json"),
        };
        return Err(ImportError::invalid(format!("The archive has no {expected} for {}", format.name())));
    }
    read_members(&mut archive, &members, format, &names, None, sink)
}

/// One subset of a dataset imported into a project: its name and its images (archive
/// member, file name), in name order.
#[derive(Debug)]
pub struct DatasetSubset {
    pub name: String,
    pub images: Vec<(String, String)>,
}

/// The subsets of a dataset archive in `format` (one of [`ImportFormat::imports_datasets`])
/// and their images: a project import makes a task of each.
pub fn dataset_subsets(format: ImportFormat, path: &Path) -> Result<Vec<DatasetSubset>, ImportError> {
    let archive = open_dataset(path)?;
    let files: Vec<&str> = archive.file_names().filter(|n| !n.ends_with('/')).collect();
    let prefix = annotation_prefix(format);
    let mut names: Vec<String> = match format {
        ImportFormat::Coco | ImportFormat::CocoKeypoints | ImportFormat::Datumaro => files
            .iter()
            .filter_map(|f| f.strip_prefix("annotations/")?.strip_prefix(prefix)?.strip_suffix(".json"))
            .filter(|s| !s.is_empty() && !s.contains('/'))
            .map(str::to_string)
            .collect(),
        ImportFormat::Cvat => files
            .iter()
            .filter_map(|f| {
                let rest = f.strip_prefix("images/")?;
                Some(rest.split_once('/').map_or("default", |(subset, _)| subset).to_string())
            })
            .collect(),
        _ => return Err(ImportError::invalid(format!("{} datasets are not imported into projects", format.name()))),
    };
    names.sort();
    names.dedup();
    if names.is_empty() {
        return Err(ImportError::invalid(format!("The archive has no subsets of a {} dataset", format.name())));
    }
    let single = names.len() == 1;
    names
        .into_iter()
        .map(|name| {
            let folder = format!("images/{name}/");
            let mut images: Vec<(String, String)> = files
                .iter()
                .filter_map(|f| Some((f.to_string(), f.strip_prefix(folder.as_str())?.to_string())))
                .collect();
            if images.is_empty() && single {
                images = files
                    .iter()
                    .filter_map(|f| Some((f.to_string(), f.strip_prefix("images/")?.to_string())))
                    .collect();
            }
            if let Some((member, _)) = images.iter().find(|(_, file)| file.contains('/')) {
                return Err(ImportError::invalid(format!(
                    "{member}: images in folders of a subset are not imported into projects yet"
                )));
            }
            if images.is_empty() {
                return Err(ImportError::invalid(format!(
                    "The dataset has no images of subset {name}: a project import needs them (export with images)"
                )));
            }
            images.sort_by(|a, b| a.1.cmp(&b.1));
            Ok(DatasetSubset { name, images })
        })
        .collect()
}

/// The annotations of one subset of a dataset archive, for the task made of it.
pub fn read_subset(
    format: ImportFormat,
    path: &Path,
    source: &ExportSource,
    subset: &str,
) -> Result<LabeledData, ImportError> {
    let names = Names::new(source);
    let mut archive = open_dataset(path)?;
    let members: Vec<String> = match format {
        ImportFormat::Cvat => archive.file_names().filter(|n| n.ends_with(".xml")).map(str::to_string).collect(),
        _ => vec![format!("annotations/{}{subset}.json", annotation_prefix(format))],
    };
    let mut data = LabeledData::default();
    read_members(&mut archive, &members, format, &names, Some(subset), &mut data)?;
    Ok(data)
}

fn open_dataset(path: &Path) -> Result<zip::ZipArchive<std::io::BufReader<std::fs::File>>, ImportError> {
    zip::ZipArchive::new(std::io::BufReader::new(std::fs::File::open(path)?))
        .map_err(|_| ImportError::invalid("A dataset comes as a zip archive with its images: upload the full dataset"))
}

/// How a format's annotation files are named after `annotations/`, before the subset.
fn annotation_prefix(format: ImportFormat) -> &'static str {
    match format {
        ImportFormat::Coco => "instances_",
        ImportFormat::CocoKeypoints => "person_keypoints_",
        _ => "",
    }
}

/// The annotation files `members` of an archive as one document (of `subset` only, for
/// CVAT files that mix subsets); a file's problem is reported with its name.
fn read_members<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    members: &[String],
    format: ImportFormat,
    names: &Names,
    subset: Option<&str>,
    sink: &mut dyn Sink,
) -> Result<(), ImportError> {
    for member in members {
        let entry = archive.by_name(member)?;
        let reader = std::io::BufReader::new(entry.take(MAX_MEMBER_BYTES));
        read_document(format, reader, names, subset, sink).map_err(|err| match err {
            ImportError::Invalid(message) => ImportError::invalid(format!("{member}: {message}")),
            other => other,
        })?;
    }
    Ok(())
}

/// One annotation file of a format whose annotations are a single document.
fn read_document(
    format: ImportFormat,
    reader: impl std::io::BufRead,
    names: &Names,
    subset: Option<&str>,
    sink: &mut dyn Sink,
) -> Result<(), ImportError> {
    match format {
        ImportFormat::Cvat => crate::cvat_read::read(reader, names, subset, sink),
        ImportFormat::CocoKeypoints => crate::coco_read::read(reader, names, crate::coco::Task::Keypoints, sink),
        ImportFormat::Datumaro => sink.take_all(crate::datumaro_read::read(reader, names)?),
        _ => crate::coco_read::read(reader, names, crate::coco::Task::Instances, sink),
    }
}

/// The task's frames and labels by the names files use.
pub(crate) struct Names<'a> {
    frames: HashMap<&'a str, u32>,
    sizes: HashMap<u32, (u32, u32)>,
    stems: HashMap<&'a str, u32>,
    absolute: HashMap<i64, u32>,
    labels: HashMap<&'a str, &'a LabelInfo>,
    by_id: HashMap<i64, &'a LabelInfo>,
    sublabels: HashMap<(&'a str, &'a str), &'a LabelInfo>,
    /// Each skeleton's point labels, in label order.
    points: HashMap<&'a str, Vec<&'a LabelInfo>>,
    /// The last task-relative frame the target covers (tracks close after it).
    pub last_frame: u32,
}

impl<'a> Names<'a> {
    pub fn new(source: &'a ExportSource) -> Self {
        let frames = source.frames.iter().map(|f| (f.name.as_str(), f.frame)).collect();
        let sizes = source.frames.iter().map(|f| (f.frame, (f.width, f.height))).collect();
        let stems = source.frames.iter().map(|f| (crate::item_id(&f.name), f.frame)).collect();
        let absolute = source.frames.iter().map(|f| (f.id, f.frame)).collect();
        let labels = source.labels.iter().filter(|l| l.parent.is_none()).map(|l| (l.name.as_str(), l)).collect();
        let sublabels =
            source.labels.iter().filter_map(|l| Some(((l.parent.as_deref()?, l.name.as_str()), l))).collect();
        let by_id = source.labels.iter().map(|l| (l.id, l)).collect();
        let points = crate::source::points_by_skeleton(&source.labels);
        let last_frame = source.frames.iter().map(|f| f.frame).max().unwrap_or(0);
        Self { frames, sizes, stems, absolute, labels, by_id, sublabels, points, last_frame }
    }

    /// A skeleton's point labels in label order (none for other labels).
    pub fn points_of(&self, skeleton: &str) -> &[&'a LabelInfo] {
        self.points.get(skeleton).map_or(&[], Vec::as_slice)
    }

    /// The frame an item names: by its path, its path without extension, or (when the
    /// file gives one) its absolute frame number.
    pub fn frame(&self, name: &str, absolute: Option<i64>) -> Result<u32, ImportError> {
        self.frames
            .get(name)
            .or_else(|| self.stems.get(crate::item_id(name)))
            .or_else(|| absolute.and_then(|a| self.absolute.get(&a)))
            .copied()
            .ok_or_else(|| {
                ImportError::invalid(format!("Could not match item id: '{}' with any task frame", crate::item_id(name)))
            })
    }

    /// A frame's width and height in pixels.
    pub fn size(&self, frame: u32) -> (f64, f64) {
        self.sizes.get(&frame).map_or((1.0, 1.0), |(w, h)| (f64::from(*w), f64::from(*h)))
    }

    /// The frame of an absolute frame number (video-style files).
    pub fn absolute_frame(&self, absolute: i64) -> Result<u32, ImportError> {
        self.absolute
            .get(&absolute)
            .copied()
            .ok_or_else(|| ImportError::invalid(format!("Frame {absolute} is not a frame of the task")))
    }

    pub fn label(&self, name: &str) -> Result<&'a LabelInfo, ImportError> {
        self.labels
            .get(name)
            .copied()
            .ok_or_else(|| ImportError::invalid(format!("Label '{name}' is not registered for this task")))
    }

    pub fn sublabel(&self, parent: &str, name: &str) -> Result<&'a LabelInfo, ImportError> {
        self.sublabels
            .get(&(parent, name))
            .copied()
            .ok_or_else(|| ImportError::invalid(format!("Label '{name}' is not a point of skeleton '{parent}'")))
    }

    /// Splits a track's values into the track's own (immutable attributes) and its
    /// keyframes' (mutable ones).
    pub fn split(&self, label: i64, values: Vec<AttributeVal>) -> (Vec<AttributeVal>, Vec<AttributeVal>) {
        let immutable = |v: &AttributeVal| {
            self.by_id.get(&label).is_some_and(|l| l.attributes.iter().any(|a| a.id == v.spec_id && !a.mutable))
        };
        values.into_iter().partition(immutable)
    }

    /// Values of attributes the label has (by name); others are dropped, as CVAT does.
    /// Checkbox values are normalised to `true`/`false`; values come in the label's order.
    pub fn values(label: &LabelInfo, named: impl IntoIterator<Item = (String, String)>) -> Vec<AttributeVal> {
        let mut values = Vec::new();
        for (name, value) in named {
            if let Some(spec) = label.attributes.iter().find(|a| a.name == name) {
                let value = if spec.input_type == "checkbox" {
                    (if value.eq_ignore_ascii_case("true") { "true" } else { "false" }).to_string()
                } else {
                    value
                };
                values.push(AttributeVal { spec_id: spec.id, value });
            }
        }
        values.sort_by_key(|v| v.spec_id);
        values
    }
}
