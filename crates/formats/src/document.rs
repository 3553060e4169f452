//! An export's annotations as the export worker holds them: tracks in memory (formats
//! interpolate them frame by frame), tags and shapes left in a spool (the file the task
//! service's answer was written to) and read back a frame at a time through an index of
//! where each one is. So the worker's memory grows with the number of tracks and a few
//! bytes per shape, not with the shapes themselves.
//!
//! The task service sends objects as lines (`t 12 {…}`): the kind's letter (`t`ag,
//! `s`hape, trac`k`), the frame, then the object as JSON (which has no raw newline).
//! Objects of one kind keep the order they are sent in: the document's order. A
//! backup's `annotations.json` comes as `r` lines instead: pieces of the file's JSON, in
//! order, with the file's position among the backup's files in place of a frame.

use cvat_annotations::{LabeledData, Shape, Tag, Track};
use serde::Serialize;
use std::io::{self, BufRead};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Tag,
    Shape,
    Track,
    /// A piece of a backup file.
    Raw,
}

impl ObjectKind {
    fn from_letter(letter: u8) -> Option<Self> {
        match letter {
            b't' => Some(ObjectKind::Tag),
            b's' => Some(ObjectKind::Shape),
            b'k' => Some(ObjectKind::Track),
            b'r' => Some(ObjectKind::Raw),
            _ => None,
        }
    }

    fn letter(self) -> u8 {
        match self {
            ObjectKind::Tag => b't',
            ObjectKind::Shape => b's',
            ObjectKind::Track => b'k',
            ObjectKind::Raw => b'r',
        }
    }
}

/// Appends one object as a line.
pub fn write_line(out: &mut Vec<u8>, kind: ObjectKind, frame: u32, object: &impl Serialize) {
    out.push(kind.letter());
    out.extend_from_slice(format!(" {frame} ").as_bytes());
    // Rendering a value made from our own types cannot fail.
    serde_json::to_writer(&mut *out, object).unwrap_or_default();
    out.push(b'\n');
}

/// Appends a piece of backup file number `file` as a line (it must hold no newline).
pub fn write_raw_line(out: &mut Vec<u8>, file: u32, piece: &str) {
    out.extend_from_slice(format!("r {file} ").as_bytes());
    out.extend_from_slice(piece.as_bytes());
    out.push(b'\n');
}

/// Where lines were written, read back by position.
pub trait Spool: Send + Sync {
    fn read_at(&self, offset: u64, length: usize) -> io::Result<Vec<u8>>;
}

impl Spool for std::fs::File {
    fn read_at(&self, offset: u64, length: usize) -> io::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let mut bytes = vec![0; length];
        self.read_exact_at(&mut bytes, offset)?;
        Ok(bytes)
    }
}

impl Spool for Vec<u8> {
    fn read_at(&self, offset: u64, length: usize) -> io::Result<Vec<u8>> {
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        self.get(start..start + length).map(<[u8]>::to_vec).ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
    }
}

/// Where one spooled object is.
#[derive(Debug, Clone, Copy)]
struct Entry {
    frame: u32,
    length: u32,
    offset: u64,
}

/// Objects of one kind in the spool: in document order, and by frame.
#[derive(Default)]
struct Index {
    entries: Vec<Entry>,
    by_frame: Vec<u32>,
}

impl Index {
    fn sort(&mut self) {
        let entries = &self.entries;
        self.by_frame = (0..entries.len() as u32).collect();
        // Stable: a frame's objects keep the document's order.
        self.by_frame.sort_by_key(|&i| entries[i as usize].frame);
    }

    fn on(&self, frame: u32) -> impl Iterator<Item = &Entry> {
        let at = |i: &u32| self.entries[*i as usize].frame;
        let first = self.by_frame.partition_point(|i| at(i) < frame);
        self.by_frame[first..].iter().take_while(move |i| at(i) == frame).map(|&i| &self.entries[i as usize])
    }
}

pub struct Annotations {
    spool: Box<dyn Spool>,
    tracks: Vec<Track>,
    tags: Index,
    shapes: Index,
    /// Pieces of backup files, in order (`frame`: the file's number).
    raw: Vec<Entry>,
}

impl Annotations {
    /// Indexes the lines `lines` reads, which are the spool's bytes from `start` on.
    pub fn index(spool: Box<dyn Spool>, mut lines: impl BufRead, start: u64) -> io::Result<Self> {
        let mut annotations = Annotations {
            spool,
            tracks: Vec::new(),
            tags: Index::default(),
            shapes: Index::default(),
            raw: Vec::new(),
        };
        let (mut offset, mut line) = (start, Vec::new());
        loop {
            line.clear();
            let read = lines.read_until(b'\n', &mut line)?;
            if read == 0 {
                break;
            }
            let at = offset;
            offset += read as u64;
            let body = line.strip_suffix(b"\n").unwrap_or(&line);
            if body.is_empty() {
                continue;
            }
            let (kind, frame, json) = read_line(body)?;
            let json_at = at + (body.len() - json.len()) as u64;
            let entry = Entry { frame, length: json.len() as u32, offset: json_at };
            match kind {
                ObjectKind::Tag => annotations.tags.entries.push(entry),
                ObjectKind::Shape => annotations.shapes.entries.push(entry),
                ObjectKind::Track => annotations.tracks.push(serde_json::from_slice(json)?),
                ObjectKind::Raw => annotations.raw.push(entry),
            }
        }
        annotations.tags.sort();
        annotations.shapes.sort();
        Ok(annotations)
    }

    /// A document held in memory, as lines (tests, and exports made in one piece).
    pub fn from_data(data: &LabeledData) -> io::Result<Self> {
        let mut lines = Vec::new();
        for tag in &data.tags {
            write_line(&mut lines, ObjectKind::Tag, tag.frame, tag);
        }
        for shape in &data.shapes {
            write_line(&mut lines, ObjectKind::Shape, shape.frame, shape);
        }
        for track in &data.tracks {
            write_line(&mut lines, ObjectKind::Track, track.frame, track);
        }
        let reader = io::Cursor::new(lines.clone());
        Self::index(Box::new(lines), reader, 0)
    }

    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    pub fn tags_on(&self, frame: u32) -> io::Result<Vec<Tag>> {
        self.tags.on(frame).map(|e| self.read(e)).collect()
    }

    pub fn shapes_on(&self, frame: u32) -> io::Result<Vec<Shape>> {
        self.shapes.on(frame).map(|e| self.read(e)).collect()
    }

    /// Every shape, in document order.
    pub fn shapes(&self) -> impl Iterator<Item = io::Result<Shape>> + '_ {
        self.shapes.entries.iter().map(|e| self.read(e))
    }

    /// Writes the pieces of backup file number `file` to `out`, in order.
    pub fn copy_raw(&self, file: u32, out: &mut impl std::io::Write) -> io::Result<()> {
        for entry in self.raw.iter().filter(|e| e.frame == file) {
            out.write_all(&self.spool.read_at(entry.offset, entry.length as usize)?)?;
        }
        Ok(())
    }

    fn read<T: serde::de::DeserializeOwned>(&self, entry: &Entry) -> io::Result<T> {
        let bytes = self.spool.read_at(entry.offset, entry.length as usize)?;
        Ok(serde_json::from_slice(&bytes)?)
    }
}

/// One line (without its newline): the object's kind, frame and JSON.
pub fn read_line(line: &[u8]) -> io::Result<(ObjectKind, u32, &[u8])> {
    let mut fields = line.splitn(3, |b| *b == b' ');
    let (Some([kind]), Some(frame), Some(json)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(invalid("a line that is not an object"));
    };
    let kind = ObjectKind::from_letter(*kind).ok_or_else(|| invalid("an object of an unknown kind"))?;
    let frame = std::str::from_utf8(frame).ok().and_then(|f| f.parse().ok()).ok_or_else(|| invalid("a bad frame"))?;
    Ok((kind, frame, json))
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("the annotations sent have {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_come_back_by_frame_in_document_order() {
        let data: LabeledData = serde_json::from_value(serde_json::json!({
            "tags": [{"frame": 2, "label_id": 1}],
            "shapes": [
                {"type": "points", "frame": 3, "label_id": 1, "points": [1, 1]},
                {"type": "points", "frame": 1, "label_id": 1, "points": [2, 2]},
                {"type": "points", "frame": 3, "label_id": 1, "points": [3, 3]},
            ],
            "tracks": [{"frame": 0, "label_id": 1, "shapes": [{"type": "points", "frame": 0, "points": [4, 4]}]}],
        }))
        .unwrap();
        let annotations = Annotations::from_data(&data).unwrap();
        let on_three: Vec<f64> = annotations.shapes_on(3).unwrap().iter().map(|s| s.points[0]).collect();
        assert_eq!(on_three, [1.0, 3.0]);
        assert!(annotations.shapes_on(2).unwrap().is_empty());
        assert_eq!(annotations.tags_on(2).unwrap().len(), 1);
        let all: Vec<f64> = annotations.shapes().map(|s| s.unwrap().points[0]).collect();
        assert_eq!(all, [1.0, 2.0, 3.0]);
        assert_eq!(annotations.tracks().len(), 1);
    }

    #[test]
    fn pieces_of_a_file_come_back_in_order() {
        let mut lines = Vec::new();
        write_raw_line(&mut lines, 1, "[{\"a\":");
        write_line(&mut lines, ObjectKind::Tag, 0, &serde_json::json!({"frame": 0, "label_id": 1}));
        write_raw_line(&mut lines, 0, "other");
        write_raw_line(&mut lines, 1, "1}]");
        let annotations = Annotations::index(Box::new(lines.clone()), io::Cursor::new(lines), 0).unwrap();
        let mut file = Vec::new();
        annotations.copy_raw(1, &mut file).unwrap();
        assert_eq!(file, br#"[{"a":1}]"#);
        assert_eq!(annotations.tags_on(0).unwrap().len(), 1);
    }

    #[test]
    fn a_broken_line_is_an_error() {
        let lines = b"s 1\n".to_vec();
        let error = Annotations::index(Box::new(lines.clone()), io::Cursor::new(lines), 0).err().unwrap();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }
}
