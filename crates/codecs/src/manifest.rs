//! The manifest of a task's media (`manifest.jsonl`) in CVAT's layout, kept beside the
//! chunks so that backups and exports can describe the data as CVAT does. Images: a
//! version line, a type line, then one line per frame (name without extension, the
//! extension with its dot, size, context images, MD5 of the file). Video: version, type
//! and the video's properties.

use serde_json::json;

pub const VERSION: &str = "1.1";

/// One image frame of a manifest.
pub struct ManifestImage<'a> {
    /// The frame's path as the task names it (`dir/001.png`).
    pub path: &'a str,
    pub width: u32,
    pub height: u32,
    /// Paths of its context images.
    pub related: &'a [String],
    /// MD5 of the frame's original bytes.
    pub checksum: String,
}

/// The MD5 of bytes, as lowercase hex.
pub fn checksum(bytes: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(bytes))
}

pub fn images<'a>(frames: impl IntoIterator<Item = ManifestImage<'a>>) -> String {
    let mut out = format!("{}\n{}\n", json!({"version": VERSION}), json!({"type": "images"}));
    for frame in frames {
        let (stem, extension) = match frame.path.rsplit_once('.') {
            Some((stem, ext)) if !ext.contains('/') => (stem, format!(".{ext}")),
            _ => (frame.path, String::new()),
        };
        let mut line = json!({
            "name": stem,
            "extension": extension,
            "width": frame.width,
            "height": frame.height,
            "checksum": frame.checksum,
        });
        if !frame.related.is_empty() {
            line["meta"] = json!({"related_images": frame.related});
        }
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

pub fn video(name: &str, width: u32, height: u32, length: usize) -> String {
    format!(
        "{}\n{}\n{}\n",
        json!({"version": VERSION}),
        json!({"type": "video"}),
        json!({"properties": {"name": name, "resolution": [width, height], "length": length}})
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_follow_cvat_layout() {
        let related = vec!["a/related_images/1_png/x.jpg".to_string()];
        let text = images([
            ManifestImage { path: "a/1.png", width: 4, height: 3, related: &related, checksum: checksum(b"one") },
            ManifestImage { path: "b.jpeg", width: 2, height: 2, related: &[], checksum: checksum(b"") },
        ]);
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines[0], json!({"version": "1.1"}));
        assert_eq!(lines[1], json!({"type": "images"}));
        assert_eq!(lines[2]["name"], "a/1");
        assert_eq!(lines[2]["extension"], ".png");
        assert_eq!(lines[2]["meta"]["related_images"][0], "a/related_images/1_png/x.jpg");
        assert_eq!(lines[3]["checksum"], "d41d8cd98f00b204e9800998ecf8427e");
        let video = video("clip.mp4", 320, 240, 30);
        assert!(video.ends_with("{\"properties\":{\"length\":30,\"name\":\"clip.mp4\",\"resolution\":[320,240]}}\n"));
    }
}
