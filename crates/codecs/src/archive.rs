//! Zip and tar archives of images as task data, read safely: member paths must stay
//! inside the archive (no absolute paths, no `..`), and the declared sizes are bounded so
//! that a zip bomb is refused before anything is inflated; every read is also capped at
//! the declared size, so a lying header cannot inflate more. Tar links and special files
//! are skipped, never followed. A gzip-compressed tar is first inflated (capped) into a
//! plain one by [`inflate_gzip`], since members are read by seeking.

use crate::{is_image_name, MediaError};
use std::io::{Read, Seek, SeekFrom, Write};

/// Whether a file name is an archive this server takes as task data.
pub fn is_archive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".zip", ".tar", ".tar.gz", ".tgz"].iter().any(|ext| lower.ends_with(ext))
}

/// Whether an archive is a gzip-compressed tar.
pub fn is_gzip_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".tar.gz") || lower.ends_with(".tgz")
}

/// Inflates a gzip stream into `output`, refusing more than `limit` bytes.
pub fn inflate_gzip(name: &str, input: impl Read, mut output: impl Write, limit: u64) -> Result<u64, MediaError> {
    let broken = |reason: String| MediaError::NotAnArchive { name: name.to_string(), reason };
    let mut decoder = flate2::read::GzDecoder::new(input).take(limit + 1);
    let written = std::io::copy(&mut decoder, &mut output).map_err(|e| broken(e.to_string()))?;
    if written > limit {
        return Err(broken(format!("it expands to more than {limit} bytes")));
    }
    Ok(written)
}

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

/// A regular member of a tar archive: where its bytes start and how many there are.
struct TarMember {
    position: u64,
    size: u64,
}

enum Members<R> {
    Zip(zip::ZipArchive<R>),
    /// Member paths in archive order, and the reader to seek in.
    Tar {
        reader: R,
        order: Vec<String>,
        index: std::collections::HashMap<String, TarMember>,
    },
}

/// An opened zip or (plain) tar archive of task data (in memory or in a file).
pub struct ImageArchive<R> {
    name: String,
    members: Members<R>,
}

impl<R: Read + Seek> ImageArchive<R> {
    /// Opens an archive (a tar when its name says so, else a zip) and checks every member
    /// against `limits`.
    pub fn open(name: &str, reader: R, limits: ArchiveLimits) -> Result<Self, MediaError> {
        let lower = name.to_ascii_lowercase();
        let members =
            if lower.ends_with(".zip") { open_zip(name, reader, limits)? } else { open_tar(name, reader, limits)? };
        Ok(Self { name: name.to_string(), members })
    }

    /// The image members, by their paths inside the archive.
    pub fn image_names(&self) -> Vec<String> {
        let keep = |n: &&str| !n.ends_with('/') && !ignored(n) && is_image_name(n);
        match &self.members {
            Members::Zip(zip) => zip.file_names().filter(keep).map(str::to_string).collect(),
            Members::Tar { order, .. } => order.iter().map(String::as_str).filter(keep).map(str::to_string).collect(),
        }
    }

    /// A member's bytes, never more than its declared size.
    pub fn read(&mut self, path: &str) -> Result<Vec<u8>, MediaError> {
        let broken = |reason: String| MediaError::NotAnArchive { name: self.name.clone(), reason };
        let (member, declared): (Box<dyn Read + '_>, u64) = match &mut self.members {
            Members::Zip(zip) => {
                let member = zip.by_name(path).map_err(|e| broken(e.to_string()))?;
                let size = member.size();
                (Box::new(member), size)
            }
            Members::Tar { reader, index, .. } => {
                let found = index.get(path).ok_or_else(|| broken(format!("{path}: no such member")))?;
                reader.seek(SeekFrom::Start(found.position)).map_err(|e| broken(format!("{path}: {e}")))?;
                (Box::new(&mut *reader), found.size)
            }
        };
        let mut out = Vec::with_capacity(declared.min(64 << 20) as usize);
        member.take(declared).read_to_end(&mut out).map_err(|e| broken(format!("{path}: {e}")))?;
        if (out.len() as u64) < declared {
            return Err(broken(format!("{path}: the archive ends inside this member")));
        }
        Ok(out)
    }
}

fn open_zip<R: Read + Seek>(name: &str, reader: R, limits: ArchiveLimits) -> Result<Members<R>, MediaError> {
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
    Ok(Members::Zip(zip))
}

/// Indexes a plain tar: one pass over the headers, seeking past the data.
fn open_tar<R: Read + Seek>(name: &str, reader: R, limits: ArchiveLimits) -> Result<Members<R>, MediaError> {
    let broken = |reason: String| MediaError::NotAnArchive { name: name.to_string(), reason };
    let mut tar = tar::Archive::new(reader);
    let mut order = Vec::new();
    let mut index = std::collections::HashMap::new();
    let mut total = 0u64;
    let mut count = 0usize;
    for entry in tar.entries_with_seek().map_err(|e| broken(e.to_string()))? {
        let entry = entry.map_err(|e| broken(e.to_string()))?;
        count += 1;
        if count > limits.max_members {
            return Err(broken(format!("more than {} members", limits.max_members)));
        }
        let raw = entry.path_bytes();
        let path = std::str::from_utf8(&raw).map_err(|_| broken("a member's path is not UTF-8".into()))?;
        let path = path.strip_prefix("./").unwrap_or(path).to_string();
        if !safe_path(&path) {
            return Err(broken(format!("member {path:?} would be written outside the task's files")));
        }
        if !entry.header().entry_type().is_file() {
            continue; // directories, links and devices are not data
        }
        total = total.saturating_add(entry.size());
        if total > limits.max_total_bytes {
            return Err(broken(format!("it expands to more than {} bytes", limits.max_total_bytes)));
        }
        let member = TarMember { position: entry.raw_file_position(), size: entry.size() };
        if index.insert(path.clone(), member).is_none() {
            order.push(path);
        }
    }
    if count == 0 {
        return Err(broken("it has no members (is it a tar archive?)".into()));
    }
    Ok(Members::Tar { reader: tar.into_inner(), order, index })
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

    fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, bytes) in members {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            // set_path refuses `..`; hostile names are written raw, as an attacker would.
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_cksum();
            builder.append(&header, *bytes).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn tar_members_are_listed_and_read() {
        let bytes = tar(&[("./a/1.png", b"one"), ("b.txt", b"x"), ("c/2.jpg", b"two")]);
        let mut archive = ImageArchive::open("data.tar", Cursor::new(&bytes), ArchiveLimits::default()).unwrap();
        assert_eq!(archive.image_names(), ["a/1.png", "c/2.jpg"]);
        assert_eq!(archive.read("c/2.jpg").unwrap(), b"two");
        assert_eq!(archive.read("a/1.png").unwrap(), b"one");
        assert!(archive.read("nope.png").is_err());
    }

    #[test]
    fn gzip_is_inflated_within_its_limit() {
        let plain = tar(&[("1.png", b"one")]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain).unwrap();
        let gz = gz.finish().unwrap();
        let mut out = Vec::new();
        assert_eq!(inflate_gzip("d.tgz", Cursor::new(&gz), &mut out, 1 << 20).unwrap(), plain.len() as u64);
        assert_eq!(out, plain);
        assert!(inflate_gzip("d.tgz", Cursor::new(&gz), Vec::new(), 100).is_err());
        assert!(inflate_gzip("d.tgz", Cursor::new(b"not gzip"), Vec::new(), 100).is_err());
        assert!(is_archive_name("A.TAR.GZ") && is_archive_name("b.tgz") && !is_archive_name("c.gz"));
    }

    #[test]
    fn hostile_tars_are_refused() {
        for path in ["../escape.png", "/abs.png", "a/../../b.png"] {
            let bytes = tar(&[(path, b"x")]);
            let err = ImageArchive::open("evil.tar", Cursor::new(&bytes), ArchiveLimits::default()).err().expect(path);
            assert!(err.to_string().contains("outside"), "{err}");
        }
        let small = ArchiveLimits { max_total_bytes: 10, ..Default::default() };
        let bytes = tar(&[("a.png", b"0123456789ab")]);
        assert!(ImageArchive::open("x.tar", Cursor::new(&bytes), small).is_err());
        let many = ArchiveLimits { max_members: 1, ..Default::default() };
        let bytes = tar(&[("a.png", b"1"), ("b.png", b"2")]);
        assert!(ImageArchive::open("x.tar", Cursor::new(&bytes), many).is_err());
        assert!(ImageArchive::open("x.tar", Cursor::new(b"not a tar"), ArchiveLimits::default()).is_err());
        let mut truncated = tar(&[("a.png", &[7u8; 2000])]);
        truncated.truncate(1024);
        let opened = ImageArchive::open("t.tar", Cursor::new(&truncated), ArchiveLimits::default());
        assert!(opened.is_err() || opened.unwrap().read("a.png").is_err());
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
