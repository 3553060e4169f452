//! Label specifications as clients send them for projects and tasks (`labels` of
//! `ProjectWriteRequest`/`TaskWriteRequest`, `PatchedLabelRequest`): parsed from JSON and
//! validated, with errors in CVAT's nested shape (`{"labels": [{}, {"name": ["…"]}]}`) or
//! its list shape for rules across labels (`["All label names must be unique"]`).
//!
//! Beyond CVAT (which leaves these to clients): colors must be `#RRGGBB`, a default value
//! must be one of the allowed values, `number` attributes need `[min, max, step]`, and
//! checkbox attributes `["true"]` or `["false"]`.

use cvat_error::{ApiError, ApiResult, ErrorKind};
use serde_json::{json, Map, Value};
use std::collections::HashSet;

pub const LABEL_TYPES: &[&str] =
    &["any", "rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton", "tag", "interval"];
pub const INPUT_TYPES: &[&str] = &["checkbox", "radio", "number", "text", "select"];

#[derive(Debug, Clone, PartialEq)]
pub struct AttributeSpec {
    pub id: Option<i64>,
    pub name: String,
    pub mutable: bool,
    pub input_type: String,
    pub default_value: String,
    pub values: Vec<String>,
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LabelSpec {
    pub id: Option<i64>,
    pub name: String,
    /// Empty: the server picks one.
    pub color: String,
    /// The `type` as given; `None` when absent (`any` for a new label, unchanged for an update).
    pub kind: Option<String>,
    pub svg: String,
    pub attributes: Vec<AttributeSpec>,
    pub sublabels: Vec<LabelSpec>,
    pub deleted: bool,
}

/// Errors of one object, keyed by field.
#[derive(Default)]
struct Errors(Map<String, Value>);

impl LabelSpec {
    /// The type to store for a new label.
    pub fn new_kind(&self) -> &str {
        self.kind.as_deref().unwrap_or("any")
    }
}

impl Errors {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        let list = self.0.entry(field.to_string()).or_insert_with(|| json!([]));
        if let Value::Array(items) = list {
            items.push(Value::String(message.into()));
        }
    }

    fn nest(&mut self, field: &str, items: Vec<Value>) {
        if items.iter().any(|i| i.as_object().is_some_and(|o| !o.is_empty())) {
            self.0.insert(field.to_string(), Value::Array(items));
        }
    }
}

/// Parses and validates a `labels` list.
pub fn parse_labels(value: &Value) -> ApiResult<Vec<LabelSpec>> {
    let items = value
        .as_array()
        .ok_or_else(|| ApiError::field("labels", "Expected a list of items but got something else."))?;
    let mut results = Vec::with_capacity(items.len());
    let mut errors = Vec::with_capacity(items.len());
    for item in items {
        let mut own = Errors::default();
        let parsed = label(item, &mut own, false);
        errors.push(Value::Object(own.0));
        results.push(parsed);
    }
    if errors.iter().any(|e| e.as_object().is_some_and(|o| !o.is_empty())) {
        return Err(ApiError::new(ErrorKind::BadRequest, json!({ "labels": errors })));
    }
    let labels: Vec<LabelSpec> = results.into_iter().flatten().collect();
    unique_names(labels.iter().filter(|l| !l.deleted).map(|l| l.name.as_str()))
        .map_err(|_| ApiError::invalid("All label names must be unique"))?;
    Ok(labels)
}

fn unique_names<'a>(names: impl Iterator<Item = &'a str>) -> Result<(), String> {
    let mut seen = HashSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(name.to_string());
        }
    }
    Ok(())
}

fn string(object: &Map<String, Value>, key: &str, errors: &mut Errors, max: usize) -> Option<String> {
    match object.get(key)? {
        Value::String(s) if s.chars().count() <= max => Some(s.clone()),
        Value::String(_) => {
            errors.add(key, format!("Ensure this field has no more than {max} characters."));
            None
        }
        _ => {
            errors.add(key, "Not a valid string.");
            None
        }
    }
}

fn flag(object: &Map<String, Value>, key: &str, errors: &mut Errors) -> Option<bool> {
    match object.get(key)? {
        Value::Bool(b) => Some(*b),
        _ => {
            errors.add(key, "Must be a valid boolean.");
            None
        }
    }
}

fn id(object: &Map<String, Value>, errors: &mut Errors) -> Option<i64> {
    match object.get("id")? {
        Value::Number(n) if n.as_i64().is_some_and(|v| v > 0) => n.as_i64(),
        _ => {
            errors.add("id", "A valid integer is required.");
            None
        }
    }
}

fn valid_color(color: &str) -> bool {
    color.len() == 7 && color.starts_with('#') && color[1..].chars().all(|c| c.is_ascii_hexdigit())
}

fn label(value: &Value, errors: &mut Errors, sublabel: bool) -> Option<LabelSpec> {
    let Some(object) = value.as_object() else {
        errors.add("non_field_errors", "Invalid data. Expected a dictionary.");
        return None;
    };
    let id = id(object, errors);
    let deleted = flag(object, "deleted", errors).unwrap_or(false);
    if deleted && id.is_none() {
        errors.add("deleted", "Deleted label must have an ID");
    }
    let name = string(object, "name", errors, 64).unwrap_or_default();
    if name.is_empty() && id.is_none() {
        errors.add("name", "This field is required.");
    }
    let color = string(object, "color", errors, 8).unwrap_or_default();
    if !color.is_empty() && !valid_color(&color) {
        errors.add("color", "Enter a color as #RRGGBB.");
    }
    let kind = match object.get("type") {
        None | Some(Value::Null) => None,
        Some(Value::String(kind)) if LABEL_TYPES.contains(&kind.as_str()) => Some(kind.clone()),
        Some(other) => {
            errors.add("type", format!("{other} is not a valid choice."));
            None
        }
    };
    let svg = string(object, "svg", errors, usize::MAX).unwrap_or_default();
    let attributes = list(object, "attributes", errors, attribute);
    if let Err(name) = unique_names(attributes.iter().filter(|a| !a.deleted).map(|a| a.name.as_str())) {
        errors.add("attributes", format!("Duplicate attribute with name '{name}' exists"));
    }
    let sublabels = list(object, "sublabels", errors, |v, e| label(v, e, true));
    if kind.as_deref() == Some("skeleton") {
        if sublabel {
            errors.add("type", "A sublabel cannot be a skeleton.");
        } else if sublabels.is_empty() && id.is_none() {
            errors.add("sublabels", "A skeleton needs at least one sublabel.");
        }
    } else if !sublabels.is_empty() {
        errors.add("sublabels", "Only skeleton labels have sublabels.");
    }
    if let Err(name) = unique_names(sublabels.iter().map(|l| l.name.as_str())) {
        errors.add("sublabels", format!("Duplicate sublabel with name '{name}' exists"));
    }
    Some(LabelSpec { id, name, color, kind, svg, attributes, sublabels, deleted })
}

/// Parses a nested list, keeping per-item errors at their positions.
fn list<T>(
    object: &Map<String, Value>,
    key: &str,
    errors: &mut Errors,
    parse: impl Fn(&Value, &mut Errors) -> Option<T>,
) -> Vec<T> {
    let Some(value) = object.get(key) else { return Vec::new() };
    let Some(items) = value.as_array() else {
        errors.add(key, "Expected a list of items but got something else.");
        return Vec::new();
    };
    let mut nested = Vec::with_capacity(items.len());
    let mut parsed = Vec::with_capacity(items.len());
    for item in items {
        let mut own = Errors::default();
        parsed.extend(parse(item, &mut own));
        nested.push(Value::Object(own.0));
    }
    errors.nest(key, nested);
    parsed
}

fn attribute(value: &Value, errors: &mut Errors) -> Option<AttributeSpec> {
    let Some(object) = value.as_object() else {
        errors.add("non_field_errors", "Invalid data. Expected a dictionary.");
        return None;
    };
    let id = id(object, errors);
    let deleted = flag(object, "deleted", errors).unwrap_or(false);
    let name = string(object, "name", errors, 64).unwrap_or_default();
    if name.is_empty() {
        errors.add("name", "This field is required.");
    }
    let mutable = flag(object, "mutable", errors);
    if mutable.is_none() && !object.contains_key("mutable") {
        errors.add("mutable", "This field is required.");
    }
    let input_type = match object.get("input_type") {
        Some(Value::String(t)) if INPUT_TYPES.contains(&t.as_str()) => t.clone(),
        Some(other) => {
            errors.add("input_type", format!("{other} is not a valid choice."));
            String::new()
        }
        None => {
            errors.add("input_type", "This field is required.");
            String::new()
        }
    };
    let values = match object.get("values") {
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
        }
        Some(_) => {
            errors.add("values", "Expected a list of strings.");
            Vec::new()
        }
        None => {
            errors.add("values", "This field is required.");
            Vec::new()
        }
    };
    let default_value = string(object, "default_value", errors, 128);
    let default_value = check_values(&input_type, &values, default_value, errors);
    Some(AttributeSpec { id, name, mutable: mutable.unwrap_or(false), input_type, default_value, values, deleted })
}

/// Checks `values` for the input type and returns the default value to store.
fn check_values(input_type: &str, values: &[String], default: Option<String>, errors: &mut Errors) -> String {
    match input_type {
        "checkbox" => {
            let default = default.unwrap_or_else(|| values.first().cloned().unwrap_or_else(|| "false".into()));
            if !(values.is_empty() || values == ["true"] || values == ["false"]) {
                errors.add("values", "A checkbox takes [\"true\"] or [\"false\"].");
            }
            if default != "true" && default != "false" {
                errors.add("default_value", "A checkbox default is \"true\" or \"false\".");
            }
            default
        }
        "radio" | "select" => {
            if values.is_empty() {
                errors.add("values", "At least one value is required.");
            } else if unique_names(values.iter().map(String::as_str)).is_err() {
                errors.add("values", "Values must be unique.");
            }
            let default =
                default.filter(|d| !d.is_empty()).unwrap_or_else(|| values.first().cloned().unwrap_or_default());
            if !values.is_empty() && !values.contains(&default) {
                errors.add("default_value", format!("\"{default}\" is not one of the values."));
            }
            default
        }
        "number" => {
            let numbers: Vec<f64> = values.iter().filter_map(|v| v.trim().parse().ok()).collect();
            let [min, max, step] = numbers.as_slice() else {
                errors.add("values", "A number attribute takes [min, max, step].");
                return default.unwrap_or_default();
            };
            if min >= max || *step <= 0.0 || values.len() != 3 {
                errors.add("values", "Expected min < max and step > 0.");
            }
            let default = default.filter(|d| !d.is_empty()).unwrap_or_else(|| values[0].clone());
            match default.trim().parse::<f64>() {
                Ok(d) if d >= *min && d <= *max => {}
                _ => errors.add("default_value", format!("\"{default}\" is not a number between {min} and {max}.")),
            }
            default
        }
        _ => default.unwrap_or_else(|| values.first().cloned().unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(value: Value) -> Value {
        parse_labels(&value).unwrap_err().body
    }

    #[test]
    fn a_full_specification() {
        let labels = parse_labels(&json!([
            {"name": "car", "color": "#ff0000", "attributes": [
                {"name": "model", "mutable": false, "input_type": "select", "values": ["a", "b"], "default_value": "b"},
                {"name": "speed", "mutable": true, "input_type": "number", "values": ["0", "200", "5"]},
                {"name": "parked", "mutable": true, "input_type": "checkbox", "values": ["false"]},
                {"name": "note", "mutable": true, "input_type": "text", "values": []}
            ]},
            {"name": "person", "type": "skeleton", "svg": "<line/>", "sublabels": [{"name": "head"}, {"name": "hand"}]},
            {"id": 7, "deleted": true}
        ]))
        .unwrap();
        assert_eq!(labels.len(), 3);
        let speed = &labels[0].attributes[1];
        assert_eq!((speed.default_value.as_str(), speed.input_type.as_str()), ("0", "number"));
        assert_eq!(labels[0].attributes[2].default_value, "false");
        assert_eq!(labels[1].sublabels.len(), 2);
        assert_eq!(labels[1].kind.as_deref(), Some("skeleton"));
        assert_eq!(labels[0].kind, None);
        assert!(labels[2].deleted);
    }

    #[test]
    fn duplicate_names() {
        assert_eq!(errors_of(json!([{"name": "a"}, {"name": "a"}])), json!(["All label names must be unique"]));
        let body = errors_of(json!([{"name": "a", "attributes": [
            {"name": "x", "mutable": true, "input_type": "text", "values": []},
            {"name": "x", "mutable": true, "input_type": "text", "values": []}
        ]}]));
        assert_eq!(body["labels"][0]["attributes"][0], "Duplicate attribute with name 'x' exists");
    }

    #[test]
    fn errors_keep_their_positions() {
        let body = errors_of(json!([
            {"name": "ok"},
            {"color": "red"},
            {"name": "b", "type": "hexagon", "attributes": [{"name": "q", "mutable": true, "input_type": "slider", "values": []}]}
        ]));
        assert_eq!(body["labels"][0], json!({}));
        assert_eq!(body["labels"][1]["name"][0], "This field is required.");
        assert!(body["labels"][1]["color"].is_array());
        assert!(body["labels"][2]["type"].is_array());
        assert!(body["labels"][2]["attributes"][0]["input_type"].is_array());
    }

    #[test]
    fn attribute_values_and_defaults() {
        let cases = [
            json!({"name": "a", "mutable": true, "input_type": "select", "values": ["x"], "default_value": "y"}),
            json!({"name": "a", "mutable": true, "input_type": "radio", "values": []}),
            json!({"name": "a", "mutable": true, "input_type": "number", "values": ["5", "1", "1"]}),
            json!({"name": "a", "mutable": true, "input_type": "number", "values": ["0", "10", "1"], "default_value": "11"}),
            json!({"name": "a", "mutable": true, "input_type": "checkbox", "values": ["maybe"]}),
            json!({"name": "a", "input_type": "text", "values": []}),
            json!({"name": "a", "mutable": true, "input_type": "text", "values": [1]}),
        ];
        for attribute in cases {
            let body = errors_of(json!([{"name": "l", "attributes": [attribute.clone()]}]));
            assert!(body["labels"][0]["attributes"][0].as_object().is_some_and(|o| !o.is_empty()), "{attribute}");
        }
    }

    #[test]
    fn skeleton_rules_and_deletion() {
        assert!(errors_of(json!([{"name": "s", "type": "skeleton"}]))["labels"][0]["sublabels"].is_array());
        assert!(errors_of(json!([{"name": "a", "sublabels": [{"name": "b"}]}]))["labels"][0]["sublabels"].is_array());
        let body = errors_of(json!([{"name": "s", "type": "skeleton", "sublabels": [{"name": "x"}, {"name": "x"}]}]));
        assert!(body["labels"][0]["sublabels"].is_array());
        assert!(errors_of(json!([{"name": "a", "deleted": true}]))["labels"][0]["deleted"].is_array());
        assert_eq!(
            parse_labels(&json!({"name": "a"})).unwrap_err().body,
            json!({"labels": ["Expected a list of items but got something else."]})
        );
    }
}
