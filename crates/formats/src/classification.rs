//! Ultralytics YOLO Classification 1.0 (formats.md §10): tags only. Each subset has a
//! `labels.json` — `{"<item id>": {"labels": [...], "path": "<label>/<file>"}}` in item
//! order — and, when images are saved, a copy of the image in the folder of each of its
//! tags' labels (`no_label/` for an item without tags); a name already taken in a folder
//! gets `.0`, `.1`, … before its extension. The subset `default` is written as `train`.
//! Import reads `labels.json`, or without it the label folders.

use crate::darknet::subset_name;
use crate::document::Annotations;
use crate::frames::per_frame;
use crate::import::{required_text, ImportError, Names as Frames};
use crate::source::ExportSource;
use crate::{archive_name, item_id, stored, FormatError, Names};
use cvat_annotations::{LabeledData, Source, Tag};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Seek, Write};

const NO_LABEL: &str = "no_label";

/// Writes the `labels.json` files and answers where each frame's image goes.
pub fn write<W: Write + Seek>(
    source: &ExportSource,
    data: &Annotations,
    zip: &mut zip::ZipWriter<W>,
) -> Result<Vec<Vec<String>>, FormatError> {
    let names = Names::new(&source.labels);
    let mut subsets: BTreeMap<&str, Vec<(String, Value)>> = BTreeMap::new();
    let mut taken: HashSet<String> = HashSet::new();
    let mut places = Vec::with_capacity(source.frames.len());
    for (frame, annotations) in source.frames.iter().zip(per_frame(source, data)) {
        let annotations = annotations?;
        let subset = subset_name(&frame.subset);
        let mut labels: Vec<&str> = Vec::new();
        for tag in &annotations.tags {
            let name = names.label(tag.label_id);
            if !name.is_empty() && !labels.contains(&name) {
                labels.push(name);
            }
        }
        let file = archive_name(frame);
        let file = file.rsplit('/').next().unwrap_or_default();
        let folders = if labels.is_empty() { vec![NO_LABEL] } else { labels.clone() };
        let mut paths = Vec::new();
        let mut path = String::new();
        for folder in folders {
            let unique = free_name(&mut taken, &format!("{subset}/{folder}"), file);
            path = format!("{folder}/{unique}");
            paths.push(format!("{subset}/{path}"));
        }
        subsets
            .entry(subset)
            .or_default()
            .push((item_id(&frame.name).to_string(), json!({"labels": labels, "path": path})));
        places.push(paths);
    }
    for (subset, items) in subsets {
        zip.start_file(format!("{subset}/labels.json"), stored())?;
        // In item order (serde_json's map would sort the keys).
        zip.write_all(b"{")?;
        for (i, (id, entry)) in items.iter().enumerate() {
            if i > 0 {
                zip.write_all(b",")?;
            }
            serde_json::to_writer(&mut *zip, id).map_err(std::io::Error::from)?;
            zip.write_all(b":")?;
            serde_json::to_writer(&mut *zip, entry).map_err(std::io::Error::from)?;
        }
        zip.write_all(b"}")?;
    }
    Ok(places)
}

/// `file` in `folder`, or `name.N.ext` with the first N not taken yet.
fn free_name(taken: &mut HashSet<String>, folder: &str, file: &str) -> String {
    let (stem, extension) = match file.rfind('.') {
        Some(dot) if dot > 0 => (&file[..dot], &file[dot..]),
        _ => (file, ""),
    };
    let mut candidate = file.to_string();
    let mut n = 0;
    while !taken.insert(format!("{folder}/{candidate}")) {
        candidate = format!("{stem}.{n}{extension}");
        n += 1;
    }
    candidate
}

/// Reads the tags of every subset: from its `labels.json`, or else from the label folders
/// its images are in.
pub(crate) fn read<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    names: &Frames,
) -> Result<LabeledData, ImportError> {
    let files: Vec<String> = archive.file_names().map(str::to_string).collect();
    let mut by_item: Vec<(String, Vec<String>)> = Vec::new();
    let lists: Vec<&String> =
        files.iter().filter(|f| f.matches('/').count() == 1 && f.ends_with("/labels.json")).collect();
    let listed: HashSet<&str> = lists.iter().filter_map(|f| f.split('/').next()).collect();
    for list in &lists {
        let text = required_text(archive, list)?;
        let items: HashMap<String, Value> =
            serde_json::from_str(&text).map_err(|e| ImportError::invalid(format!("{list}: {e}")))?;
        for (id, entry) in items {
            let labels = entry
                .get("labels")
                .and_then(Value::as_array)
                .ok_or_else(|| ImportError::invalid(format!("{list}: item {id} has no list of labels")))?;
            let labels = labels
                .iter()
                .map(|l| l.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| ImportError::invalid(format!("{list}: the labels of item {id} are not names")))?;
            by_item.push((id, labels));
        }
    }
    // Subsets without labels.json: `<subset>/<label>/<file>`.
    for file in &files {
        let parts: Vec<&str> = file.split('/').collect();
        let [subset, label, name] = parts[..] else { continue };
        if listed.contains(subset) || name.is_empty() {
            continue;
        }
        let labels = if label == NO_LABEL { Vec::new() } else { vec![label.to_string()] };
        by_item.push((item_id(name).to_string(), labels));
    }
    if lists.is_empty() && by_item.is_empty() {
        return Err(ImportError::invalid("The archive has neither <subset>/labels.json nor <subset>/<label>/<image>"));
    }
    let mut data = LabeledData::default();
    for (id, labels) in by_item {
        let frame = names.frame(&id, None)?;
        for label in labels {
            let label = names.label(&label)?;
            data.tags.push(Tag {
                id: None,
                frame,
                label_id: label.id,
                group: None,
                source: Source::Manual,
                attributes: Vec::new(),
            });
        }
    }
    data.tags.sort_by_key(|t| t.frame);
    Ok(data)
}
