//! Validation problems in DRF's nested error shape, so a client sees which object and
//! which field is wrong: `{"shapes": [{}, {}, {"points": ["…"]}]}`.

use cvat_error::{ApiError, ErrorKind};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A step into the document: a field of an object or an item of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    Field(&'static str),
    Index(usize),
}

/// Enough to find and fix the first objects; a body with a million bad objects does
/// not get a million-entry answer.
const MAX_PROBLEMS: usize = 20;

/// Past this index an error names its place in words (`shapes[25000]`) instead of
/// DRF's list with an empty object for every good item before it.
const MAX_PADDED_INDEX: usize = 50;

#[derive(Debug, Default)]
struct Node {
    messages: Vec<String>,
    children: BTreeMap<Key, Node>,
}

#[derive(Debug, Default)]
pub struct Problems {
    root: Node,
    count: usize,
}

impl Problems {
    /// Records `message` for `field` of the object at `path`.
    pub fn add(&mut self, path: &[Key], field: &'static str, message: impl Into<String>) {
        if self.count >= MAX_PROBLEMS {
            return;
        }
        self.count += 1;
        let mut node = &mut self.root;
        for key in path.iter().chain([&Key::Field(field)]) {
            node = node.children.entry(*key).or_default();
        }
        node.messages.push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn full(&self) -> bool {
        self.count >= MAX_PROBLEMS
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.is_empty() {
            return Ok(());
        }
        let body = if deepest_index(&self.root) > MAX_PADDED_INDEX {
            let mut lines = Vec::new();
            flatten(&self.root, String::new(), &mut lines);
            Value::Array(lines.into_iter().map(Value::String).collect())
        } else {
            render(&self.root)
        };
        Err(ApiError::new(ErrorKind::BadRequest, body))
    }
}

fn deepest_index(node: &Node) -> usize {
    node.children
        .iter()
        .map(|(key, child)| match key {
            Key::Index(i) => (*i).max(deepest_index(child)),
            Key::Field(_) => deepest_index(child),
        })
        .max()
        .unwrap_or(0)
}

/// `shapes[25000].points: message`, one line per message.
fn flatten(node: &Node, place: String, lines: &mut Vec<String>) {
    lines.extend(node.messages.iter().map(|m| format!("{place}: {m}")));
    for (key, child) in &node.children {
        let step = match key {
            Key::Index(i) => format!("{place}[{i}]"),
            Key::Field(name) if place.is_empty() => name.to_string(),
            Key::Field(name) => format!("{place}.{name}"),
        };
        flatten(child, step, lines);
    }
}

fn render(node: &Node) -> Value {
    if node.children.is_empty() {
        return Value::Array(node.messages.iter().cloned().map(Value::String).collect());
    }
    let items: Vec<(usize, &Node)> =
        node.children.iter().filter_map(|(k, n)| if let Key::Index(i) = k { Some((*i, n)) } else { None }).collect();
    if !items.is_empty() {
        let len = items.last().map_or(0, |(i, _)| i + 1);
        let mut list = vec![Value::Object(Map::new()); len];
        for (index, child) in items {
            list[index] = render(child);
        }
        return Value::Array(list);
    }
    let fields = node.children.iter().filter_map(|(k, n)| match k {
        Key::Field(name) => Some((name.to_string(), render(n))),
        Key::Index(_) => None,
    });
    Value::Object(fields.collect())
}

/// A body that does not parse as the document: the error names the place as the
/// nested shape does (`{"shapes": [{}, {"frame": ["invalid type: …"]}]}`).
pub fn parse_error(path: &serde_path_to_error::Path, message: &str) -> ApiError {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let (leaf, steps) = match segments.split_last() {
        Some((Segment::Map { key } | Segment::Enum { variant: key }, steps)) => (field_name(key), steps),
        _ => ("non_field_errors", segments.as_slice()),
    };
    let keys: Vec<Key> = steps
        .iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(Key::Index(*index)),
            Segment::Map { key } | Segment::Enum { variant: key } => Some(Key::Field(field_name(key))),
            Segment::Unknown => None,
        })
        .collect();
    let mut problems = Problems::default();
    problems.add(&keys, leaf, message);
    problems.finish().err().unwrap_or_else(|| ApiError::invalid(message.to_string()))
}

/// The field names a document has (a parse path can name no other).
fn field_name(key: &str) -> &'static str {
    const NAMES: &[&str] = &[
        "version",
        "tags",
        "shapes",
        "tracks",
        "intervals",
        "elements",
        "attributes",
        "id",
        "type",
        "frame",
        "label_id",
        "group",
        "source",
        "occluded",
        "outside",
        "z_order",
        "rotation",
        "points",
        "score",
        "start",
        "stop",
        "spec_id",
        "value",
    ];
    NAMES.iter().find(|n| **n == key).copied().unwrap_or("non_field_errors")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn problems_nest_by_object() {
        let mut problems = Problems::default();
        problems.add(&[Key::Field("shapes"), Key::Index(2)], "points", "too few");
        problems.add(&[Key::Field("tags"), Key::Index(0)], "label_id", "unknown");
        let err = problems.finish().unwrap_err();
        assert_eq!(err.body, json!({"shapes": [{}, {}, {"points": ["too few"]}], "tags": [{"label_id": ["unknown"]}]}));
    }

    #[test]
    fn far_objects_are_named_in_words() {
        let mut problems = Problems::default();
        problems.add(
            &[Key::Field("shapes"), Key::Index(25_000), Key::Field("elements"), Key::Index(1)],
            "points",
            "too few",
        );
        let err = problems.finish().unwrap_err();
        assert_eq!(err.body, json!(["shapes[25000].elements[1].points: too few"]));
    }

    #[test]
    fn parse_errors_name_the_place() {
        let body = r#"{"shapes": [{"type": "rectangle", "frame": 0, "label_id": 1}, {"type": "rectangle", "frame": "x", "label_id": 1}]}"#;
        let de = &mut serde_json::Deserializer::from_str(body);
        let err = serde_path_to_error::deserialize::<_, crate::LabeledData>(de).unwrap_err();
        let api = parse_error(err.path(), "A valid integer is required.");
        assert_eq!(api.body, json!({"shapes": [{}, {"frame": ["A valid integer is required."]}]}));
    }
}
