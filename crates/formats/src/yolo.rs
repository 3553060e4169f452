//! YOLO 1.1 (Darknet, formats.md §9): axis-aligned boxes as `<class> <cx> <cy> <w> <h>`
//! (normalised, `%.6f`) in `obj_<subset>_data/<item>.txt`, one per frame, with
//! `obj.names`, `obj.data` and a list file per subset. The subset `default` is written
//! as `train`. Rotated boxes and every other shape type have no place in it; tracks are
//! written as boxes on the frames where they are visible, and come back as shapes.

use crate::darknet::{box_line, box_shape, class_numbers, subset_name};
use crate::document::Annotations;
use crate::frames::per_frame;
use crate::import::{required_text, ImportError, Names as Frames};
use crate::source::{ExportSource, FrameInfo};
use crate::{item_id, stored, FormatError, Names};
use cvat_annotations::{LabeledData, ShapeType};
use std::collections::HashMap;
use std::io::{BufRead, Read, Seek, Write};

/// Where a frame's image goes when images are saved.
pub fn image_path(frame: &FrameInfo, name: &str) -> String {
    format!("obj_{}_data/{name}", subset_name(&frame.subset))
}

pub fn write<W: Write + Seek>(
    source: &ExportSource,
    data: &Annotations,
    zip: &mut zip::ZipWriter<W>,
) -> Result<(), FormatError> {
    let names = Names::new(&source.labels);
    let classes = class_numbers(&source.labels);
    let mut subsets: Vec<&str> = Vec::new();
    let mut lists: HashMap<&str, String> = HashMap::new();
    for (frame, annotations) in source.frames.iter().zip(per_frame(source, data)) {
        let annotations = annotations?;
        let subset = subset_name(&frame.subset);
        if !subsets.contains(&subset) {
            subsets.push(subset);
        }
        lists.entry(subset).or_default().push_str(&format!("data/obj_{subset}_data/{}\n", frame.name));
        let mut lines = String::new();
        for shape in annotations.shapes.iter().filter(|s| s.kind == ShapeType::Rectangle && s.rotation == 0.0) {
            let Some(class) = classes.get(&shape.label_id) else { continue };
            if let Some(line) = box_line(*class, &shape.points, frame.width, frame.height) {
                lines.push_str(&line);
                lines.push('\n');
            }
        }
        zip.start_file(format!("obj_{subset}_data/{}.txt", item_id(&frame.name)), stored())?;
        zip.write_all(lines.as_bytes())?;
    }
    zip.start_file("obj.names", stored())?;
    for label in &source.labels {
        writeln!(zip, "{}", names.label(label.id))?;
    }
    let mut config = format!("classes = {}\n", source.labels.len());
    for subset in &subsets {
        zip.start_file(format!("{subset}.txt"), stored())?;
        zip.write_all(lists.get(subset).map_or("", String::as_str).as_bytes())?;
        config.push_str(&format!("{subset} = data/{subset}.txt\n"));
    }
    config.push_str("names = data/obj.names\nbackup = backup/\n");
    zip.start_file("obj.data", stored())?;
    zip.write_all(config.as_bytes())?;
    Ok(())
}

/// Reads a YOLO 1.1 archive: `obj.data` (at most four directories deep) names the
/// labels file and a list file per subset; each listed image's `.txt` holds its boxes.
pub(crate) fn read<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    names: &Frames,
) -> Result<LabeledData, ImportError> {
    let config_path = archive
        .file_names()
        .filter(|n| n.rsplit('/').next() == Some("obj.data") && n.matches('/').count() <= 4)
        .min_by_key(|n| n.len())
        .map(str::to_string)
        .ok_or_else(|| ImportError::invalid("The archive has no obj.data for YOLO 1.1"))?;
    let root = config_path.strip_suffix("obj.data").unwrap_or_default().to_string();
    let text = |archive: &mut zip::ZipArchive<R>, path: &str| required_text(archive, &format!("{root}{path}"));
    let config = text(archive, "obj.data")?;
    let mut lists = Vec::new();
    let mut names_file = String::from("obj.names");
    for line in config.lines().filter(|l| !l.trim().is_empty()) {
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| ImportError::invalid(format!("obj.data: the line {line:?} is not `key = value`")))?;
        let value = value.trim().trim_start_matches("data/").to_string();
        match key.trim() {
            "classes" | "backup" => {}
            "names" => names_file = value,
            _ => lists.push(value),
        }
    }
    let labels: Vec<String> =
        text(archive, &names_file)?.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
    let mut data = LabeledData::default();
    for list in lists {
        for image in text(archive, &list)?.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let image = image.trim_start_matches("data/");
            let item = image.split_once('/').map_or(image, |(_, rest)| rest);
            let frame = names.frame(item, None)?;
            let boxes = match archive.by_name(&format!("{root}{}.txt", item_id(image))) {
                Ok(entry) => std::io::BufReader::new(entry.take(1 << 30)),
                Err(_) => continue,
            };
            for (number, line) in boxes.lines().enumerate() {
                let line = line?;
                let fields: Vec<&str> = line.split_whitespace().collect();
                if fields.is_empty() {
                    continue;
                }
                let place = || format!("{}.txt line {}", item_id(image), number + 1);
                let values: Vec<f64> = fields.iter().skip(1).filter_map(|v| v.parse().ok()).collect();
                let (Ok(class), &[cx, cy, bw, bh]) = (fields[0].parse::<usize>(), &values[..]) else {
                    return Err(ImportError::invalid(format!("{}: expected `class cx cy w h`", place())));
                };
                let name = labels.get(class).ok_or_else(|| {
                    ImportError::invalid(format!("{}: class {class} is not in {names_file}", place()))
                })?;
                let label = names.label(name)?;
                data.shapes.push(box_shape(frame, label.id, [cx, cy, bw, bh], names.size(frame)));
            }
        }
    }
    Ok(data)
}
