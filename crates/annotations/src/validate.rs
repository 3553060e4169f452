//! Checks a document against the labels of its task and the frames of its job, and
//! brings it to the form that is stored (CVAT's rules, reference §8): keyframes sorted,
//! a track starts at its first keyframe, skeleton shapes carry no points of their own,
//! elements share their parent's frame.
//!
//! Stricter than CVAT where CVAT stores what it cannot read back: attribute values must
//! fit their attribute (numbers in range, radio/select among the values, checkbox
//! true/false), point counts must fit the shape type, a mask's runs must cover its box.

use crate::model::{AttributeVal, Interval, LabeledData, Shape, ShapeType, Tag, Track, TrackedShape};
use crate::problems::{Key, Problems};
use cvat_error::ApiError;
use std::collections::{HashMap, HashSet};

/// An attribute of a label as the task defines it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeRule {
    pub id: i64,
    pub mutable: bool,
    pub input_type: String,
    pub default_value: String,
    pub values: Vec<String>,
}

/// A label of the task (or of its project), with its sublabels' ids for skeletons.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRule {
    pub id: i64,
    /// `any`, a shape type, `skeleton`, `tag`, …
    pub kind: String,
    pub parent: Option<i64>,
    pub attributes: Vec<AttributeRule>,
    pub sublabels: Vec<i64>,
}

/// The labels an annotation of one task may use.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    labels: HashMap<i64, LabelRule>,
}

impl Schema {
    pub fn new(labels: impl IntoIterator<Item = LabelRule>) -> Self {
        Self { labels: labels.into_iter().map(|l| (l.id, l)).collect() }
    }

    pub fn label(&self, id: i64) -> Option<&LabelRule> {
        self.labels.get(&id)
    }
}

/// The frames a job covers (task-relative, inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRange {
    pub start: u32,
    pub stop: u32,
}

impl FrameRange {
    pub fn contains(self, frame: u32) -> bool {
        (self.start..=self.stop).contains(&frame)
    }
}

const MAX_VALUE_CHARS: usize = 4096;

/// Validates `data` for the job covering `frames` and normalises it for storage; on
/// a problem nothing is changed that matters (the caller saves nothing).
pub fn validate(data: &mut LabeledData, schema: &Schema, frames: FrameRange) -> Result<(), ApiError> {
    let mut check = Check { schema, frames, problems: Problems::default(), path: Vec::new() };
    check.list("tags", &mut data.tags, Check::tag);
    check.list("shapes", &mut data.shapes, |c, s| c.shape(s, None));
    check.list("tracks", &mut data.tracks, |c, t| c.track(t, None));
    check.list("intervals", &mut data.intervals, Check::interval);
    check.problems.finish()
}

struct Check<'a> {
    schema: &'a Schema,
    frames: FrameRange,
    problems: Problems,
    path: Vec<Key>,
}

impl<'a> Check<'a> {
    fn list<T>(&mut self, field: &'static str, items: &mut [T], mut each: impl FnMut(&mut Self, &mut T)) {
        self.path.push(Key::Field(field));
        for (index, item) in items.iter_mut().enumerate() {
            if self.problems.full() {
                break;
            }
            self.path.push(Key::Index(index));
            each(self, item);
            self.path.pop();
        }
        self.path.pop();
    }

    fn problem(&mut self, field: &'static str, message: impl Into<String>) {
        self.problems.add(&self.path, field, message);
    }

    /// The label of a top-level object (`parent` None) or of an element of `parent`.
    fn label(&mut self, id: i64, parent: Option<&LabelRule>) -> Option<&'a LabelRule> {
        let schema = self.schema;
        let found = schema.label(id).filter(|l| match parent {
            None => l.parent.is_none(),
            Some(p) => l.parent == Some(p.id),
        });
        if found.is_none() {
            self.problem("label_id", format!("label_id `{id}` is invalid"));
        }
        found
    }

    fn frame(&mut self, field: &'static str, frame: u32) {
        if !self.frames.contains(frame) {
            let FrameRange { start, stop } = self.frames;
            self.problem(field, format!("The frame {frame} is outside the job's frames [{start}, {stop}]."));
        }
    }

    fn group(&mut self, group: Option<i64>) {
        if group.is_some_and(|g| g < 0) {
            self.problem("group", "Ensure this value is greater than or equal to 0.");
        }
    }

    fn score(&mut self, score: Option<f64>) {
        if score.is_some_and(|s| !(0.0..=1.0).contains(&s)) {
            self.problem("score", "Ensure this value is between 0 and 1.");
        }
    }

    /// Attribute values of an object; `mutable` limits which specs may appear (tracks
    /// take immutable ones, their keyframes mutable ones).
    fn attributes(&mut self, values: &[AttributeVal], label: &LabelRule, mutable: Option<bool>) {
        let mut seen = HashSet::new();
        for value in values {
            let Some(rule) = label.attributes.iter().find(|a| a.id == value.spec_id) else {
                self.problem(
                    "attributes",
                    format!("spec_id `{}` is not an attribute of label {}", value.spec_id, label.id),
                );
                continue;
            };
            if !seen.insert(value.spec_id) {
                self.problem("attributes", format!("spec_id `{}` is given twice", value.spec_id));
            }
            match mutable {
                Some(true) if !rule.mutable => self.problem(
                    "attributes",
                    format!("spec_id `{}` is an immutable attribute: set it on the track", value.spec_id),
                ),
                Some(false) if rule.mutable => self.problem(
                    "attributes",
                    format!("spec_id `{}` is a mutable attribute: set it on the track's shapes", value.spec_id),
                ),
                _ => {}
            }
            if let Err(message) = value_fits(rule, &value.value) {
                self.problem("attributes", format!("spec_id `{}`: {message}", value.spec_id));
            }
        }
    }

    fn tag(&mut self, tag: &mut Tag) {
        self.frame("frame", tag.frame);
        self.group(tag.group);
        if let Some(label) = self.label(tag.label_id, None) {
            self.attributes(&tag.attributes, label, None);
        }
    }

    fn interval(&mut self, interval: &mut Interval) {
        self.frame("start", interval.start);
        if let Some(stop) = interval.stop {
            self.frame("stop", stop);
            if stop < interval.start {
                self.problem("stop", "The interval ends before it starts.");
            }
        }
        self.group(interval.group);
        self.score(interval.score);
        if let Some(label) = self.label(interval.label_id, None) {
            self.attributes(&interval.attributes, label, None);
        }
    }

    fn shape(&mut self, shape: &mut Shape, parent: Option<&LabelRule>) {
        self.frame("frame", shape.frame);
        self.group(shape.group);
        self.score(shape.score);
        self.geometry(shape.kind, &shape.points, shape.rotation);
        let Some(label) = self.label(shape.label_id, parent) else { return };
        self.attributes(&shape.attributes, label, None);
        self.skeleton_kind(shape.kind, label, shape.elements.len(), parent.is_some());
        if shape.kind == ShapeType::Skeleton {
            shape.points.clear();
            let frame = shape.frame;
            shape.elements.iter_mut().for_each(|e| e.frame = frame);
            self.elements(&shape.elements, label, |e| e.label_id);
            self.list("elements", &mut shape.elements, |c, e| c.shape(e, Some(label)));
        }
    }

    fn track(&mut self, track: &mut Track, parent: Option<&LabelRule>) {
        self.group(track.group);
        self.keyframes(track);
        let Some(first) = track.shapes.first() else {
            self.problem("shapes", "A track needs at least one shape.");
            return;
        };
        let kind = first.kind;
        self.frame("frame", track.frame);
        let Some(label) = self.label(track.label_id, parent) else { return };
        self.attributes(&track.attributes, label, Some(false));
        self.skeleton_kind(kind, label, track.elements.len(), parent.is_some());
        self.list("shapes", &mut track.shapes, |c, s| c.tracked_shape(s, kind, label));
        if kind == ShapeType::Skeleton {
            let frame = track.frame;
            for element in &mut track.elements {
                clamp_to(element, frame);
            }
            self.elements(&track.elements, label, |e| e.label_id);
            self.list("elements", &mut track.elements, |c, e| c.track(e, Some(label)));
        }
    }

    /// Sorts keyframes, refuses two on one frame, and starts the track at its first
    /// keyframe (an earlier track frame gets an `outside` copy of that keyframe, as CVAT
    /// adds one).
    fn keyframes(&mut self, track: &mut Track) {
        track.shapes.sort_by_key(|s| s.frame);
        if track.shapes.windows(2).any(|w| w[0].frame == w[1].frame) {
            self.problem("shapes", "A track has at most one shape per frame.");
        }
        let Some(first) = track.shapes.first() else { return };
        if track.frame < first.frame {
            let outside = TrackedShape { id: None, frame: track.frame, outside: true, ..first.clone() };
            track.shapes.insert(0, outside);
        } else {
            track.frame = first.frame;
        }
    }

    fn tracked_shape(&mut self, shape: &mut TrackedShape, kind: ShapeType, label: &LabelRule) {
        self.frame("frame", shape.frame);
        if shape.kind != kind {
            self.problem("type", "All shapes of a track have the same type.");
        }
        self.geometry(shape.kind, &shape.points, shape.rotation);
        self.attributes(&shape.attributes, label, Some(true));
        if shape.kind == ShapeType::Skeleton {
            shape.points.clear();
        }
    }

    /// A skeleton label takes skeleton objects with elements; other labels take other
    /// shape types and no elements; elements are never skeletons.
    fn skeleton_kind(&mut self, kind: ShapeType, label: &LabelRule, elements: usize, is_element: bool) {
        let skeleton_label = label.kind == "skeleton";
        if is_element && kind == ShapeType::Skeleton {
            self.problem("type", "A skeleton element cannot be a skeleton.");
        } else if skeleton_label != (kind == ShapeType::Skeleton) {
            self.problem(
                "type",
                format!("The type {} does not fit the {} label {}.", kind.as_str(), label.kind, label.id),
            );
        } else if !skeleton_label && elements > 0 {
            self.problem("elements", "Only skeletons have elements.");
        }
    }

    /// Every sublabel of the skeleton exactly once.
    fn elements<T>(&mut self, elements: &[T], label: &LabelRule, label_of: impl Fn(&T) -> i64) {
        let mut given: Vec<i64> = elements.iter().map(label_of).collect();
        given.sort_unstable();
        let mut expected = label.sublabels.clone();
        expected.sort_unstable();
        if given != expected {
            self.problem(
                "elements",
                format!("A skeleton of label {} needs one element per sublabel {expected:?}.", label.id),
            );
        }
    }

    fn geometry(&mut self, kind: ShapeType, points: &[f64], rotation: f64) {
        if !(0.0..=360.0).contains(&rotation) {
            self.problem("rotation", "Ensure this value is between 0 and 360.");
        }
        if let Err(message) = points_fit(kind, points) {
            self.problem("points", message);
        }
    }
}

/// An element track starts no earlier than its skeleton's track.
fn clamp_to(element: &mut Track, frame: u32) {
    if element.frame < frame {
        element.frame = frame;
    }
    if let Some(first) = element.shapes.first_mut() {
        if first.frame < frame {
            let last_before = element.shapes.iter().rposition(|s| s.frame <= frame).unwrap_or(0);
            element.shapes.drain(..last_before);
            if let Some(first) = element.shapes.first_mut() {
                first.frame = first.frame.max(frame);
            }
        }
    }
}

fn points_fit(kind: ShapeType, points: &[f64]) -> Result<(), String> {
    let n = points.len();
    let pairs = n.is_multiple_of(2);
    match kind {
        ShapeType::Rectangle | ShapeType::Ellipse if n != 4 => {
            Err(format!("A {} has 4 numbers, not {n}.", kind.as_str()))
        }
        ShapeType::Cuboid if n != 16 => Err(format!("A cuboid has 16 numbers, not {n}.")),
        ShapeType::Polygon if n < 6 || !pairs => Err("A polygon needs at least 3 points (x, y pairs).".into()),
        ShapeType::Polyline if n < 4 || !pairs => Err("A polyline needs at least 2 points (x, y pairs).".into()),
        ShapeType::Points if n < 2 || !pairs => Err("Points need at least one point (x, y pairs).".into()),
        ShapeType::Mask => mask_fits(points),
        _ => Ok(()),
    }
}

/// `[runs…, left, top, right, bottom]`: an inclusive box and whole, non-negative runs
/// covering it exactly.
fn mask_fits(points: &[f64]) -> Result<(), String> {
    let Some((runs, bbox)) = points.split_last_chunk::<4>() else {
        return Err("A mask is its runs followed by left, top, right, bottom.".into());
    };
    let whole = |v: f64| v >= 0.0 && v.fract() == 0.0;
    let [left, top, right, bottom] = *bbox;
    if !bbox.iter().all(|v| whole(*v)) || right < left || bottom < top {
        return Err("A mask's box must be whole non-negative numbers with left ≤ right and top ≤ bottom.".into());
    }
    if !runs.iter().all(|v| whole(*v)) {
        return Err("A mask's runs must be whole non-negative numbers.".into());
    }
    let area = (right - left + 1.0) * (bottom - top + 1.0);
    let covered: f64 = runs.iter().sum();
    if covered != area {
        return Err(format!("A mask's runs cover {covered} pixels, its box {area}."));
    }
    Ok(())
}

/// Whether `value` is one the attribute can take.
pub fn value_fits(rule: &AttributeRule, value: &str) -> Result<(), String> {
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(format!("Ensure this field has no more than {MAX_VALUE_CHARS} characters."));
    }
    match rule.input_type.as_str() {
        "checkbox" if !value.eq_ignore_ascii_case("true") && !value.eq_ignore_ascii_case("false") => {
            Err(format!("`{value}` is not true or false"))
        }
        "number" => number_fits(&rule.values, value),
        "radio" | "select" if !rule.values.iter().any(|v| v == value) => {
            Err(format!("`{value}` is not one of {:?}", rule.values))
        }
        _ => Ok(()),
    }
}

fn number_fits(values: &[String], value: &str) -> Result<(), String> {
    let number: f64 = value.trim().parse().map_err(|_| format!("`{value}` is not a number"))?;
    let bound = |i: usize| values.get(i).and_then(|v| v.parse::<f64>().ok());
    match (bound(0), bound(1)) {
        (Some(min), Some(max)) if !(min..=max).contains(&number) => {
            Err(format!("{number} is not within [{min}, {max}]"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        let attribute = |id, mutable, input_type: &str, values: &[&str]| AttributeRule {
            id,
            mutable,
            input_type: input_type.into(),
            default_value: values.first().map_or(String::new(), |v| v.to_string()),
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        Schema::new([
            LabelRule {
                id: 1,
                kind: "any".into(),
                parent: None,
                attributes: vec![
                    attribute(10, false, "select", &["a", "b"]),
                    attribute(11, true, "number", &["0", "100", "1"]),
                ],
                sublabels: vec![],
            },
            LabelRule { id: 2, kind: "skeleton".into(), parent: None, attributes: vec![], sublabels: vec![3, 4] },
            LabelRule { id: 3, kind: "points".into(), parent: Some(2), attributes: vec![], sublabels: vec![] },
            LabelRule { id: 4, kind: "points".into(), parent: Some(2), attributes: vec![], sublabels: vec![] },
        ])
    }

    const FRAMES: FrameRange = FrameRange { start: 0, stop: 9 };

    fn check(body: serde_json::Value) -> Result<LabeledData, serde_json::Value> {
        let mut data: LabeledData = serde_json::from_value(body).unwrap();
        validate(&mut data, &schema(), FRAMES).map(|_| data).map_err(|e| e.body)
    }

    #[test]
    fn a_good_document_passes_and_is_normalised() {
        let data = check(json!({
            "shapes": [{"type": "skeleton", "frame": 2, "label_id": 2, "points": [1, 2],
                        "elements": [{"type": "points", "frame": 0, "label_id": 4, "points": [1, 1]},
                                     {"type": "points", "frame": 0, "label_id": 3, "points": [2, 2]}]}],
            "tracks": [{"frame": 1, "label_id": 1, "attributes": [{"spec_id": 10, "value": "b"}],
                        "shapes": [{"type": "rectangle", "frame": 5, "points": [0, 0, 1, 1]},
                                   {"type": "rectangle", "frame": 3, "points": [0, 0, 1, 1],
                                    "attributes": [{"spec_id": 11, "value": "7"}]}]}]
        }))
        .unwrap();
        let skeleton = &data.shapes[0];
        assert!(skeleton.points.is_empty());
        assert!(skeleton.elements.iter().all(|e| e.frame == 2));
        let track = &data.tracks[0];
        // Sorted keyframes; an earlier track frame gets an outside copy of the first one.
        assert_eq!(
            track.shapes.iter().map(|s| (s.frame, s.outside)).collect::<Vec<_>>(),
            [(1, true), (3, false), (5, false)]
        );
        assert_eq!(track.frame, 1);
    }

    #[test]
    fn every_rule_names_its_object() {
        let cases = [
            (json!({"shapes": [{"type": "rectangle", "frame": 0, "label_id": 9, "points": [0, 0, 1, 1]}]}), "label_id"),
            (json!({"shapes": [{"type": "rectangle", "frame": 0, "label_id": 3, "points": [0, 0, 1, 1]}]}), "label_id"),
            (json!({"shapes": [{"type": "polygon", "frame": 0, "label_id": 1, "points": [0, 0, 1, 1]}]}), "points"),
            (json!({"shapes": [{"type": "rectangle", "frame": 0, "label_id": 1, "points": [0, 0, 1]}]}), "points"),
            (json!({"shapes": [{"type": "cuboid", "frame": 0, "label_id": 1, "points": [0, 0, 1, 1]}]}), "points"),
            (json!({"shapes": [{"type": "rectangle", "frame": 10, "label_id": 1, "points": [0, 0, 1, 1]}]}), "frame"),
            (
                json!({"shapes": [{"type": "rectangle", "frame": 0, "label_id": 1, "rotation": 400, "points": [0, 0, 1, 1]}]}),
                "rotation",
            ),
            (json!({"shapes": [{"type": "mask", "frame": 0, "label_id": 1, "points": [1, 2, 0, 0, 1, 1]}]}), "points"),
            (json!({"shapes": [{"type": "mask", "frame": 0, "label_id": 1, "points": [4.5, 0, 0, 1, 1]}]}), "points"),
            (
                json!({"shapes": [{"type": "skeleton", "frame": 0, "label_id": 2,
                                "elements": [{"type": "points", "frame": 0, "label_id": 3, "points": [1, 1]}]}]}),
                "elements",
            ),
            (json!({"shapes": [{"type": "rectangle", "frame": 0, "label_id": 2, "points": [0, 0, 1, 1]}]}), "type"),
            (
                json!({"shapes": [{"type": "rectangle", "frame": 0, "label_id": 1, "points": [0, 0, 1, 1],
                                "attributes": [{"spec_id": 11, "value": "500"}]}]}),
                "attributes",
            ),
            (
                json!({"shapes": [{"type": "rectangle", "frame": 0, "label_id": 1, "points": [0, 0, 1, 1],
                                "attributes": [{"spec_id": 10, "value": "z"}]}]}),
                "attributes",
            ),
            (
                json!({"tags": [{"frame": 0, "label_id": 1, "attributes": [{"spec_id": 99, "value": "a"}]}]}),
                "attributes",
            ),
            (
                json!({"tracks": [{"frame": 0, "label_id": 1, "attributes": [{"spec_id": 11, "value": "1"}],
                                "shapes": [{"type": "rectangle", "frame": 0, "points": [0, 0, 1, 1]}]}]}),
                "attributes",
            ),
            (
                json!({"tracks": [{"frame": 0, "label_id": 1,
                                "shapes": [{"type": "rectangle", "frame": 0, "points": [0, 0, 1, 1],
                                            "attributes": [{"spec_id": 10, "value": "a"}]}]}]}),
                "shapes",
            ),
            (json!({"tracks": [{"frame": 0, "label_id": 1, "shapes": []}]}), "shapes"),
            (
                json!({"tracks": [{"frame": 0, "label_id": 1,
                                "shapes": [{"type": "rectangle", "frame": 0, "points": [0, 0, 1, 1]},
                                           {"type": "rectangle", "frame": 0, "points": [0, 0, 1, 1]}]}]}),
                "shapes",
            ),
            (json!({"intervals": [{"label_id": 1, "start": 5, "stop": 2}]}), "stop"),
        ];
        for (body, field) in cases {
            let list = body.as_object().unwrap().keys().next().unwrap().clone();
            let err = check(body.clone()).expect_err(&body.to_string());
            let object = &err[&list][0];
            assert!(object.get(field).is_some(), "{body} -> {err}");
        }
    }

    #[test]
    fn a_good_mask_covers_its_box() {
        assert!(mask_fits(&[0.0, 2.0, 1.0, 1.0, 10.0, 20.0, 11.0, 21.0]).is_ok());
        assert!(mask_fits(&[2.0, 10.0, 20.0, 11.0, 21.0]).is_err());
    }
}
