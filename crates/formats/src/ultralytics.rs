//! Ultralytics YOLO Detection 1.0 and Detection Track 1.0 (formats.md §10): `data.yaml`
//! (classes by index, `path: .`, a list file per subset), `<subset>.txt`,
//! `labels/<subset>/<item>.txt` with `cls cx cy w h` (normalised, `%.6f`; Track adds the
//! shape's track number) for items that have boxes, and `images/<subset>/…` when images
//! are saved. The subset `default` is written as `train`. Import reads Detection files;
//! a sixth field makes the boxes of one number a track again.

use crate::coco_read::rebuild_track;
use crate::darknet::{box_line, box_shape, class_numbers, subset_name};
use crate::frames::per_frame;
use crate::import::{ImportError, Names as Frames};
use crate::source::{ExportSource, FrameInfo};
use crate::{item_id, stored, FormatError};
use cvat_annotations::{LabeledData, Shape, ShapeType};
use std::collections::BTreeMap;
use std::io::{BufRead, Read, Seek, Write};

pub fn image_path(frame: &FrameInfo, name: &str) -> String {
    format!("images/{}/{name}", subset_name(&frame.subset))
}

/// `with_tracks`: Detection Track, whose lines end with the shape's track number.
pub fn write<W: Write + Seek>(
    source: &ExportSource,
    data: &LabeledData,
    zip: &mut zip::ZipWriter<W>,
    with_tracks: bool,
) -> Result<(), FormatError> {
    let top: Vec<&crate::LabelInfo> = source.labels.iter().filter(|l| l.parent.is_none()).collect();
    let classes = class_numbers(&source.labels);
    let mut lists: BTreeMap<&str, String> = BTreeMap::new();
    for (frame, annotations) in source.frames.iter().zip(per_frame(source, data)) {
        let subset = subset_name(&frame.subset);
        lists.entry(subset).or_default().push_str(&format!("data/images/{subset}/{}\n", frame.name));
        let mut lines = String::new();
        for shape in annotations.shapes.iter().filter(|s| s.kind == ShapeType::Rectangle && s.rotation == 0.0) {
            let Some(line) =
                classes.get(&shape.label_id).and_then(|c| box_line(*c, &shape.points, frame.width, frame.height))
            else {
                continue;
            };
            lines.push_str(&line);
            if let (true, Some((track, _))) = (with_tracks, shape.track) {
                lines.push_str(&format!(" {track}"));
            }
            lines.push('\n');
        }
        if !lines.is_empty() {
            zip.start_file(format!("labels/{subset}/{}.txt", item_id(&frame.name)), stored())?;
            zip.write_all(lines.as_bytes())?;
        }
    }
    // PyYAML's dump: keys sorted, block style.
    let mut keys: BTreeMap<&str, String> = BTreeMap::new();
    let names: String = top.iter().enumerate().map(|(i, l)| format!("\n  {i}: {}", l.name)).collect();
    keys.insert("names", names);
    keys.insert("path", " .".into());
    for subset in lists.keys() {
        keys.insert(subset, format!(" {subset}.txt"));
    }
    zip.start_file("data.yaml", stored())?;
    for (key, value) in &keys {
        writeln!(zip, "{key}:{value}")?;
    }
    for (subset, list) in &lists {
        zip.start_file(format!("{subset}.txt"), stored())?;
        zip.write_all(list.as_bytes())?;
    }
    Ok(())
}

/// Reads a Detection archive: the `*.yaml` (at the root or one level down; `data.yaml`
/// first), its class names, and for each subset's images (a list file, or the files
/// under a directory) the boxes of `labels/…/<item>.txt`.
pub(crate) fn read<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    names: &Frames,
) -> Result<LabeledData, ImportError> {
    let files: Vec<String> = archive.file_names().map(str::to_string).collect();
    let config_path = files
        .iter()
        .filter(|n| n.ends_with(".yaml") && n.matches('/').count() <= 1)
        .min_by_key(|n| (!n.ends_with("data.yaml"), n.len()))
        .cloned()
        .ok_or_else(|| ImportError::invalid("The archive has no data.yaml for Ultralytics YOLO"))?;
    let root = config_path.rsplit_once('/').map_or(String::new(), |(dir, _)| format!("{dir}/"));
    let read_text = |archive: &mut zip::ZipArchive<R>, path: &str| -> Result<String, ImportError> {
        let mut entry =
            archive.by_name(path).map_err(|_| ImportError::invalid(format!("The archive has no {path}")))?;
        let mut content = String::new();
        (&mut entry)
            .take(1 << 30)
            .read_to_string(&mut content)
            .map_err(|_| ImportError::invalid(format!("{path} is not UTF-8 text")))?;
        Ok(content)
    };
    let config: serde_yaml::Value = serde_yaml::from_str(&read_text(archive, &config_path)?)
        .map_err(|e| ImportError::invalid(format!("{config_path} is not YAML: {e}")))?;
    if config.get("kpt_shape").is_some() {
        return Err(ImportError::invalid(format!("{config_path} has kpt_shape: that is a Pose dataset")));
    }
    let classes: Vec<String> = match config.get("names") {
        Some(serde_yaml::Value::Sequence(items)) => {
            items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
        }
        Some(serde_yaml::Value::Mapping(map)) => {
            let mut pairs: Vec<(i64, String)> =
                map.iter().filter_map(|(k, v)| Some((k.as_i64()?, v.as_str()?.to_string()))).collect();
            pairs.sort();
            pairs.into_iter().map(|(_, name)| name).collect()
        }
        _ => return Err(ImportError::invalid(format!("{config_path} has no names"))),
    };
    let mut images = Vec::new();
    for (key, value) in config.as_mapping().into_iter().flatten() {
        let Some(key) = key.as_str() else { continue };
        if matches!(key, "names" | "path" | "kpt_shape" | "flip_idx" | "nc") {
            continue;
        }
        let Some(value) = value.as_str() else { continue };
        if value.ends_with(".txt") {
            let list = read_text(archive, &format!("{root}{value}"))?;
            images.extend(
                list.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| l.trim_start_matches("data/").trim_start_matches("./").to_string()),
            );
        } else {
            let dir = format!("{root}{}/", value.trim_end_matches('/'));
            images.extend(
                files
                    .iter()
                    .filter_map(|f| f.strip_prefix(&root))
                    .filter(|f| f.starts_with(&dir[root.len()..]) && !f.ends_with('/'))
                    .map(str::to_string),
            );
        }
    }
    let mut data = LabeledData::default();
    let mut tracks: BTreeMap<i64, Vec<(bool, Shape)>> = BTreeMap::new();
    for image in images {
        let parts: Vec<&str> = image.split('/').collect();
        let images_at = parts.iter().position(|p| *p == "images").filter(|i| *i <= 1).ok_or_else(|| {
            ImportError::invalid(format!("{image}: an image path has `images` as its first or second directory"))
        })?;
        let item = parts.get(2..).map(|p| p.join("/")).unwrap_or_default();
        let frame = names.frame(&item, None)?;
        let mut label_path: Vec<&str> = parts.clone();
        label_path[images_at] = "labels";
        let label_path = format!("{root}{}.txt", item_id(&label_path.join("/")));
        let lines = match archive.by_name(&label_path) {
            Ok(entry) => std::io::BufReader::new(entry.take(1 << 30)),
            Err(_) => continue,
        };
        for (number, line) in lines.lines().enumerate() {
            let line = line?;
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.is_empty() {
                continue;
            }
            let place = || format!("{label_path} line {}", number + 1);
            let values: Vec<f64> = fields.iter().skip(1).take(4).filter_map(|v| v.parse().ok()).collect();
            let (Ok(class), &[cx, cy, bw, bh], 5 | 6) = (fields[0].parse::<usize>(), &values[..], fields.len()) else {
                return Err(ImportError::invalid(format!("{}: expected `class cx cy w h [track]`", place())));
            };
            let name = classes
                .get(class)
                .ok_or_else(|| ImportError::invalid(format!("{}: class {class} is not in {config_path}", place())))?;
            let label = names.label(name)?;
            let shape = box_shape(frame, label.id, [cx, cy, bw, bh], names.size(frame));
            match fields.get(5).map(|t| t.parse::<i64>()) {
                Some(Ok(track)) => tracks.entry(track).or_default().push((true, shape)),
                Some(Err(_)) => {
                    return Err(ImportError::invalid(format!("{}: the track number is not a number", place())))
                }
                None => data.shapes.push(shape),
            }
        }
    }
    data.tracks.extend(tracks.into_values().map(|shapes| rebuild_track(shapes, names)));
    Ok(data)
}
