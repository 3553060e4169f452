//! Zip archives of images as task data, read safely: member paths must stay inside the
//! archive (no absolute paths, no `..`), and the declared sizes are bounded so that a zip
//! bomb is refused before anything is inflated; every read is also capped at the declared
//! size, so a lying header cannot inflate more.

use crate::{is_image_name, MediaError};
use std::io::{Read, Seek};

/// Bounds on what an archive may expand to.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveLimits {
    pub max_members: usize,
    pub max_total_bytes: u64,
    /// Largest uncompressed/compressed ratio of a member above 1 MiB.
    pub max_ratio: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        Self { max_members: 100_000, max_total_bytes: 8 << 30, max_ratio: 200 }
    }
}

/// Names CVAT ignores inside archives (macOS metadata).
fn ignored(path: &str) -> bool {
    path.split('/').any(|part| matches!(part, "__MACOSX" | "__MSOSX" | ".DS_Store" | "._.DS_Store"))
}

fn safe_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.split('/').any(|part| part == ".." || part.contains(':'))
        && !path.chars().any(char::is_control)
}

/// An opened zip archive of task data (in memory or in a file).
pub struct ImageArchive<R> {
    name: String,
    zip: zip::ZipArchive<R>,
}

impl<R: Read + Seek> ImageArchive<R> {
    /// Opens an archive and checks every member against `limits`.
    pub fn open(name: &str, reader: R, limits: ArchiveLimits) -> Result<Self, MediaError> {
        let broken = |reason: String| MediaError::NotAnArchive { name: name.to_string(), reason };
        let mut zip = zip::ZipArchive::new(reader).map_err(|e| broken(e.to_string()))?;
        if zip.len() > limits.max_members {
            return Err(broken(format!("more than {} members", limits.max_members)));
        }
        let mut total = 0u64;
        for i in 0..zip.len() {
            let member = zip.by_index_raw(i).map_err(|e| broken(e.to_string()))?;
            let path = member.name().to_string();
            if !safe_path(&path) {
                return Err(broken(format!("member {path:?} would be written outside the task's files")));
            }
            total = total.saturating_add(member.size());
            let ratio = member.size() / member.compressed_size().max(1);
            if member.size() > 1 << 20 && ratio > limits.max_ratio {
                return Err(broken(format!("member {path} expands {ratio} times (a zip bomb?)")));
            }
        }
        if total > limits.max_total_bytes {
            return Err(broken(format!("it expands to more than {} bytes", limits.max_total_bytes)));
        }
        Ok(Self { name: name.to_string(), zip })
    }

    /// The image members, by their paths inside the archive.
    pub fn image_names(&self) -> Vec<String> {
        self.zip
            .file_names()
            .filter(|n| !n.ends_with('/') && !ignored(n) && is_image_name(n))
            .map(str::to_string)
            .collect()
    }

    /// A member's bytes, never more than its declared size.
    pub fn read(&mut self, path: &str) -> Result<Vec<u8>, MediaError> {
        let broken = |reason: String| MediaError::NotAnArchive { name: self.name.clone(), reason };
        let member = self.zip.by_name(path).map_err(|e| broken(e.to_string()))?;
        let declared = member.size();
        let mut out = Vec::with_capacity(declared.min(64 << 20) as usize);
        member.take(declared).read_to_end(&mut out).map_err(|e| broken(format!("{path}: {e}")))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn zip(members: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, bytes) in members {
            writer.start_file(*name, options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn images_are_listed_and_read() {
        let bytes = zip(
            &[("a/1.png", b"one"), ("b.txt", b"x"), ("__MACOSX/._1.png", b"junk"), ("c/2.JPG", b"two")],
            zip::CompressionMethod::Deflated,
        );
        let mut archive = ImageArchive::open("data.zip", Cursor::new(&bytes), ArchiveLimits::default()).unwrap();
        assert_eq!(archive.image_names(), ["a/1.png", "c/2.JPG"]);
        assert_eq!(archive.read("c/2.JPG").unwrap(), b"two");
    }

    #[test]
    fn hostile_archives_are_refused() {
        for path in ["../escape.png", "/abs.png", "a/../../b.png", "c:\\x.png"] {
            let bytes = zip(&[(path, b"x")], zip::CompressionMethod::Stored);
            let err = ImageArchive::open("evil.zip", Cursor::new(&bytes), ArchiveLimits::default()).err().expect(path);
            assert!(err.to_string().contains("evil.zip"), "{err}");
        }
        let zeros = vec![0u8; 4 << 20];
        let bomb = zip(&[("big.png", &zeros)], zip::CompressionMethod::Deflated);
        assert!(ImageArchive::open("bomb.zip", Cursor::new(&bomb), ArchiveLimits::default()).is_err());
        let small = ArchiveLimits { max_total_bytes: 10, ..Default::default() };
        let bytes = zip(&[("a.png", b"0123456789ab")], zip::CompressionMethod::Stored);
        assert!(ImageArchive::open("x.zip", Cursor::new(&bytes), small).is_err());
        assert!(ImageArchive::open("x.zip", Cursor::new(b"not a zip"), ArchiveLimits::default()).is_err());
    }
}
