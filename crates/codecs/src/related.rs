//! Context images ("related images") as CVAT lays them out: the files under
//! `<dir>/related_images/<stem>_<ext>/` belong to the frame `<dir>/<stem>.<ext>` and are
//! not frames themselves. A frame's context images are served as one zip of JPEGs.

use crate::MediaError;
use std::collections::HashMap;
use std::io::{Cursor, Write};

const DIRECTORY: &str = "related_images";

/// Frames and, for each frame that has some, its context images (sorted).
#[derive(Debug, Default, PartialEq)]
pub struct Related {
    pub frames: Vec<String>,
    pub context: HashMap<String, Vec<String>>,
}

/// The frame a context image belongs to, when its path follows the layout.
fn owner(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    let at = parts.iter().position(|p| *p == DIRECTORY)?;
    if parts.len() != at + 3 {
        return None;
    }
    let (stem, extension) = parts[at + 1].rsplit_once('_')?;
    let frame = format!("{stem}.{extension}");
    Some(if at == 0 { frame } else { format!("{}/{frame}", parts[..at].join("/")) })
}

/// Splits file paths into frames and context images. Files anywhere under a
/// `related_images` directory are never frames; those whose frame is missing are dropped.
pub fn split(paths: Vec<String>) -> Related {
    let (context, frames): (Vec<String>, Vec<String>) =
        paths.into_iter().partition(|p| p.split('/').any(|part| part == DIRECTORY));
    let mut related = Related { frames, context: HashMap::new() };
    for path in context {
        if let Some(frame) = owner(&path).filter(|f| related.frames.contains(f)) {
            related.context.entry(frame).or_default().push(path);
        }
    }
    related.context.values_mut().for_each(|images| images.sort());
    related
}

/// A zip of context images, each re-encoded as JPEG and named `<file name>.jpg`.
pub fn context_archive(images: Vec<(String, Vec<u8>)>) -> Result<Vec<u8>, MediaError> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (path, bytes) in images {
        let frame = crate::process_image(&path, bytes, 95)?;
        let name = path.rsplit('/').next().unwrap_or(&path);
        let broken = |e: String| MediaError::Archive(e);
        writer.start_file(format!("{name}.jpg"), options).map_err(|e| broken(e.to_string()))?;
        writer.write_all(&frame.compressed).map_err(|e| broken(e.to_string()))?;
    }
    let out = writer.finish().map_err(|e| MediaError::Archive(e.to_string()))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_images_follow_their_frames() {
        let paths = [
            "a/001.png",
            "a/related_images/001_png/left.jpg",
            "a/related_images/001_png/right.jpg",
            "a/related_images/009_png/orphan.jpg",
            "b.jpg",
            "related_images/b_jpg/ctx.png",
            "related_images/stray.png",
        ];
        let related = split(paths.iter().map(|p| p.to_string()).collect());
        assert_eq!(related.frames, ["a/001.png", "b.jpg"]);
        assert_eq!(
            related.context["a/001.png"],
            ["a/related_images/001_png/left.jpg", "a/related_images/001_png/right.jpg"]
        );
        assert_eq!(related.context["b.jpg"], ["related_images/b_jpg/ctx.png"]);
        assert_eq!(related.context.len(), 2);
    }
}
