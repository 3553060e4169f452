//! Label specifications as clients send them for projects and tasks (`labels` of
//! `ProjectWriteRequest`/`TaskWriteRequest`, `PatchedLabelRequest`). `cvat_models::parse`
//! has checked each field's shape; this applies the rules across fields, with errors in
//! CVAT's nested shape (`{"labels": [{}, {"name": ["…"]}]}`) or its list shape for rules
//! across labels (`["All label names must be unique"]`).
//!
//! Beyond CVAT (which leaves these to clients): colors must be `#RRGGBB`, a default value
//! must be one of the allowed values, `number` attributes need `[min, max, step]`, and
//! checkbox attributes `["true"]` or `["false"]`.

use cvat_error::{ApiError, ApiResult, ErrorKind};
use cvat_models::{AttributeRequest, LabelType, PatchedLabelRequest, SublabelRequest};
use serde_json::{json, Map, Value};
use std::collections::HashSet;

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

/// Checks a `labels` list.
pub fn parse_labels(requests: &[PatchedLabelRequest]) -> ApiResult<Vec<LabelSpec>> {
    let mut errors = Errors::default();
    let results = nested(requests, "labels", &mut errors, label);
    if !errors.0.is_empty() {
        return Err(ApiError::new(ErrorKind::BadRequest, Value::Object(errors.0)));
    }
    unique_names(results.iter().filter(|l| !l.deleted).map(|l| l.name.as_str()))
        .map_err(|_| ApiError::invalid("All label names must be unique"))?;
    Ok(results)
}

/// Checks one label on its own (`PATCH /api/labels/{id}`): errors keyed by its fields.
pub fn parse_label(request: &PatchedLabelRequest) -> ApiResult<LabelSpec> {
    let mut errors = Errors::default();
    let spec = label(request, &mut errors);
    match errors.0.is_empty() {
        true => Ok(spec),
        false => Err(ApiError::new(ErrorKind::BadRequest, Value::Object(errors.0))),
    }
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

fn valid_color(color: &str) -> bool {
    color.len() == 7 && color.starts_with('#') && color[1..].chars().all(|c| c.is_ascii_hexdigit())
}

fn label(request: &PatchedLabelRequest, errors: &mut Errors) -> LabelSpec {
    let deleted = request.deleted.unwrap_or(false);
    if deleted && request.id.is_none() {
        errors.add("deleted", "Deleted label must have an ID");
    }
    let name = request.name.clone().unwrap_or_default();
    if name.is_empty() && request.id.is_none() {
        errors.add("name", "This field is required.");
    }
    let sublabels: Vec<LabelSpec> =
        nested(request.sublabels.as_deref().unwrap_or_default(), "sublabels", errors, sublabel);
    let spec = LabelSpec {
        id: request.id,
        name,
        color: request.color.clone().unwrap_or_default(),
        kind: request.r#type.as_ref().map(cvat_models::wire_name),
        svg: request.svg.clone().unwrap_or_default(),
        attributes: attributes(request.attributes.as_deref().unwrap_or_default(), errors),
        sublabels,
        deleted,
    };
    check_label(&spec, request.r#type, false, errors);
    spec
}

fn sublabel(request: &SublabelRequest, errors: &mut Errors) -> LabelSpec {
    let spec = LabelSpec {
        id: request.id,
        name: request.name.clone(),
        color: request.color.clone().unwrap_or_default(),
        kind: request.r#type.as_ref().map(cvat_models::wire_name),
        svg: String::new(),
        attributes: attributes(request.attributes.as_deref().unwrap_or_default(), errors),
        sublabels: Vec::new(),
        deleted: false,
    };
    check_label(&spec, request.r#type, true, errors);
    spec
}

/// The rules across a label's fields: its colour, skeletons and their sublabels.
fn check_label(spec: &LabelSpec, kind: Option<LabelType>, sublabel: bool, errors: &mut Errors) {
    if !spec.color.is_empty() && !valid_color(&spec.color) {
        errors.add("color", "Enter a color as #RRGGBB.");
    }
    if kind == Some(LabelType::Skeleton) {
        if sublabel {
            errors.add("type", "A sublabel cannot be a skeleton.");
        } else if spec.sublabels.is_empty() && spec.id.is_none() {
            errors.add("sublabels", "A skeleton needs at least one sublabel.");
        }
    } else if !spec.sublabels.is_empty() {
        errors.add("sublabels", "Only skeleton labels have sublabels.");
    }
    if let Err(name) = unique_names(spec.sublabels.iter().map(|l| l.name.as_str())) {
        errors.add("sublabels", format!("Duplicate sublabel with name '{name}' exists"));
    }
}

fn attributes(requests: &[AttributeRequest], errors: &mut Errors) -> Vec<AttributeSpec> {
    let attributes = nested(requests, "attributes", errors, attribute);
    if let Err(name) = unique_names(attributes.iter().filter(|a| !a.deleted).map(|a| a.name.as_str())) {
        errors.add("attributes", format!("Duplicate attribute with name '{name}' exists"));
    }
    attributes
}

/// Checks a nested list, keeping per-item errors at their positions.
fn nested<R, T>(requests: &[R], key: &str, errors: &mut Errors, check: impl Fn(&R, &mut Errors) -> T) -> Vec<T> {
    let mut positions = Vec::with_capacity(requests.len());
    let mut checked = Vec::with_capacity(requests.len());
    for request in requests {
        let mut own = Errors::default();
        checked.push(check(request, &mut own));
        positions.push(Value::Object(own.0));
    }
    errors.nest(key, positions);
    checked
}

fn attribute(request: &AttributeRequest, errors: &mut Errors) -> AttributeSpec {
    let input_type = cvat_models::wire_name(&request.input_type);
    let default_value = check_values(&input_type, &request.values, request.default_value.clone(), errors);
    AttributeSpec {
        id: request.id,
        name: request.name.clone(),
        mutable: request.mutable,
        input_type,
        default_value,
        values: request.values.clone(),
        deleted: request.deleted.unwrap_or(false),
    }
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

    /// `labels` as a task body carries them: the model's checks, then these.
    fn check(labels: Value) -> ApiResult<Vec<LabelSpec>> {
        let body = json!({"name": "task", "labels": labels});
        let task: cvat_models::TaskWriteRequest = cvat_models::parse(body.as_object().unwrap())?;
        parse_labels(task.labels.as_deref().unwrap_or_default())
    }

    fn errors_of(value: Value) -> Value {
        check(value).unwrap_err().body
    }

    #[test]
    fn a_full_specification() {
        let labels = check(json!([
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
        // The model's checks first: shapes and choices, at their positions.
        let body = errors_of(json!([
            {"name": "ok"},
            {"name": "b", "type": "hexagon", "attributes": [{"name": "q", "mutable": true, "input_type": "slider", "values": []}]}
        ]));
        assert_eq!(body["labels"][0], json!({}));
        assert_eq!(body["labels"][1]["type"], json!(["\"hexagon\" is not a valid choice."]));
        assert!(body["labels"][1]["attributes"][0]["input_type"].is_array());
        // Then the rules across fields, at theirs.
        let body = errors_of(json!([{"name": "ok"}, {"color": "red"}]));
        assert_eq!(body["labels"][0], json!({}));
        assert_eq!(body["labels"][1]["name"][0], "This field is required.");
        assert!(body["labels"][1]["color"].is_array());
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
            errors_of(json!({"name": "a"})),
            json!({"labels": ["Expected a list of items but got type \"dict\"."]})
        );
    }
}
