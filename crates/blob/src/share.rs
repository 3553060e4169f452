//! The server's share: a directory of files that clients name by relative path
//! (`/api/server/share`, `server_files`). Every path is resolved inside the root (no
//! `..`, no symlink leading out), so a client never reads outside it.

use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    #[error("{0} is not a path inside the share")]
    Outside(String),
    #[error("{0} does not exist in the share")]
    Missing(String),
    #[error("reading the share failed: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareEntry {
    pub name: String,
    pub is_dir: bool,
}

#[derive(Debug, Clone)]
pub struct Share {
    root: PathBuf,
}

impl Share {
    pub fn new(root: impl AsRef<Path>) -> Self {
        Self { root: root.as_ref().to_path_buf() }
    }

    /// The absolute path of `relative` (a leading `/` means the share's root).
    pub fn resolve(&self, relative: &str) -> Result<PathBuf, ShareError> {
        let outside = || ShareError::Outside(relative.to_string());
        let trimmed = relative.trim_start_matches('/');
        let mut path = self.root.clone();
        for component in Path::new(trimmed).components() {
            match component {
                Component::Normal(part) => path.push(part),
                Component::CurDir => {}
                _ => return Err(outside()),
            }
        }
        let root = self.root.canonicalize().map_err(|_| ShareError::Missing("/".into()))?;
        let real = path.canonicalize().map_err(|_| ShareError::Missing(relative.to_string()))?;
        if !real.starts_with(&root) {
            return Err(outside());
        }
        Ok(real)
    }

    /// The entries of a directory, directories first, then by name.
    pub fn list(&self, directory: &str) -> Result<Vec<ShareEntry>, ShareError> {
        let dir = self.resolve(directory)?;
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else { continue };
            if name.starts_with('.') {
                continue;
            }
            entries.push(ShareEntry { is_dir: entry.file_type()?.is_dir(), name });
        }
        entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then(a.name.cmp(&b.name)));
        Ok(entries)
    }

    /// The files named by `paths` (files, or directories walked recursively), as paths
    /// relative to the root, without those under any of `exclude`.
    pub fn files(&self, paths: &[String], exclude: &[String]) -> Result<Vec<String>, ShareError> {
        let root = self.root.canonicalize()?;
        let excluded: Vec<PathBuf> = exclude.iter().filter_map(|e| self.resolve(e).ok()).collect();
        let mut out = Vec::new();
        let mut stack: Vec<PathBuf> = paths.iter().map(|p| self.resolve(p)).collect::<Result<_, _>>()?;
        // Directories already walked: a symlink to an ancestor must not loop forever.
        let mut walked = std::collections::HashSet::new();
        while let Some(path) = stack.pop() {
            if excluded.iter().any(|e| path.starts_with(e)) {
                continue;
            }
            if path.is_dir() {
                if !walked.insert(path.clone()) {
                    continue;
                }
                for entry in std::fs::read_dir(&path)? {
                    let real = entry?.path().canonicalize()?;
                    // A symlink pointing out of the share is skipped.
                    if real.starts_with(&root) {
                        stack.push(real);
                    }
                }
            } else if let Ok(relative) = path.strip_prefix(&root) {
                out.push(relative.to_string_lossy().into_owned());
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    pub fn read(&self, relative: &str) -> Result<Vec<u8>, ShareError> {
        Ok(std::fs::read(self.resolve(relative)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_loop_is_walked_once() {
        let root = std::env::temp_dir().join(format!("cvat-share-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/1.png"), b"1").unwrap();
        std::os::unix::fs::symlink(root.join("a"), root.join("a/b/up")).unwrap();
        let share = Share::new(&root);
        assert_eq!(share.files(&["a/".to_string()], &[]).unwrap(), vec!["a/b/1.png".to_string()]);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn paths_stay_inside() {
        let root = std::env::temp_dir().join(format!("cvat-share-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/1.png"), b"1").unwrap();
        std::fs::write(root.join("a/b/2.png"), b"2").unwrap();
        std::fs::write(root.join("top.jpg"), b"3").unwrap();
        let outside = std::env::temp_dir().join(format!("cvat-secret-{}", uuid::Uuid::new_v4()));
        std::fs::write(&outside, b"secret").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("a/link.png")).unwrap();
        let share = Share::new(&root);

        let listed = share.list("/").unwrap();
        assert_eq!(listed[0], ShareEntry { name: "a".into(), is_dir: true });
        assert_eq!(share.files(&["/a".into()], &["a/b".into()]).unwrap(), ["a/1.png"]);
        assert_eq!(share.files(&["a".into(), "top.jpg".into()], &[]).unwrap(), ["a/1.png", "a/b/2.png", "top.jpg"]);
        assert_eq!(share.read("a/b/2.png").unwrap(), b"2");
        for bad in ["../x", "a/../../etc/passwd", "a/link.png"] {
            assert!(share.read(bad).is_err(), "{bad}");
        }
        assert!(matches!(share.read("nope.png"), Err(ShareError::Missing(_))));
    }
}
