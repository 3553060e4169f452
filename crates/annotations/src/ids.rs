//! Ids of a document's objects. Tags, shapes (skeleton elements included), tracks
//! (element tracks included), tracked shapes and intervals count in separate spaces.

use crate::model::{LabeledData, Shape, Track};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdSpace {
    Tag,
    Shape,
    Track,
    TrackedShape,
    Interval,
}

impl IdSpace {
    pub const ALL: [IdSpace; 5] = [Self::Tag, Self::Shape, Self::Track, Self::TrackedShape, Self::Interval];

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Calls `f` on every id of the document, nested ones included.
pub fn for_each_id(data: &mut LabeledData, f: &mut impl FnMut(IdSpace, &mut Option<i64>)) {
    data.tags.iter_mut().for_each(|t| f(IdSpace::Tag, &mut t.id));
    data.intervals.iter_mut().for_each(|i| f(IdSpace::Interval, &mut i.id));
    data.shapes.iter_mut().for_each(|s| shape_ids(s, f));
    data.tracks.iter_mut().for_each(|t| track_ids(t, f));
}

fn shape_ids(shape: &mut Shape, f: &mut impl FnMut(IdSpace, &mut Option<i64>)) {
    f(IdSpace::Shape, &mut shape.id);
    shape.elements.iter_mut().for_each(|e| shape_ids(e, f));
}

fn track_ids(track: &mut Track, f: &mut impl FnMut(IdSpace, &mut Option<i64>)) {
    f(IdSpace::Track, &mut track.id);
    track.shapes.iter_mut().for_each(|s| f(IdSpace::TrackedShape, &mut s.id));
    track.elements.iter_mut().for_each(|e| track_ids(e, f));
}

/// How many ids of each space (by [`IdSpace::index`]) are missing.
pub fn missing_ids(data: &mut LabeledData) -> [usize; 5] {
    let mut counts = [0; 5];
    for_each_id(data, &mut |space, id| {
        if id.is_none() {
            counts[space.index()] += 1;
        }
    });
    counts
}

/// Gives every missing id the next of `fresh` for its space (as many as
/// [`missing_ids`] counted).
pub fn fill_ids(data: &mut LabeledData, fresh: &mut [impl Iterator<Item = i64>; 5]) {
    for_each_id(data, &mut |space, id| {
        if id.is_none() {
            *id = fresh[space.index()].next();
        }
    });
}

/// Forgets every id (a create or a replace gets new ones).
pub fn clear_ids(data: &mut LabeledData) {
    for_each_id(data, &mut |_, id| *id = None);
}
