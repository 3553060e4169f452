//! Request bodies parsed against their own declaration: a request type's utoipa schema
//! (types, `required`, `nullable`, `min_length`/`max_length`, `pattern`,
//! `minimum`/`maximum`, `enum`) is the one statement of its rules. [`parse`] checks a body against it,
//! collecting every field error in Django REST framework's words and CVAT's
//! `{"field": ["message"]}` shape, then lets serde build the type. So the schema in
//! `/api/schema/`, the checks and the parsed value cannot disagree.
//!
//! Properties given by reference (`$ref`, `oneOf`: labels, storages) are left to the
//! domain's own parser, which reports their errors; the type keeps them as JSON.

use cvat_error::{ApiError, ApiResult, FieldErrors};
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};
use utoipa::ToSchema;

/// `body` checked against `T`'s schema and deserialized into `T`. Like DRF, an integral
/// float (`1.0`) counts as an integer and unknown fields are ignored.
pub fn parse<T: ToSchema + DeserializeOwned>(body: &Map<String, Value>) -> ApiResult<T> {
    let rules = rules_of::<T>();
    let mut body = body.clone();
    let mut errors = FieldErrors::default();
    for rule in &rules.properties {
        rule.check(&mut body, rules.required.contains(&rule.name), &mut errors);
    }
    errors.finish()?;
    serde_json::from_value(Value::Object(body)).map_err(|err| {
        // The checks above admit only values serde reads; this means the type and its
        // schema disagree.
        tracing::error!(error = %err, model = T::name().as_ref(), "a checked body did not deserialize");
        ApiError::internal()
    })
}

/// The schema of a type, read once per type.
fn rules_of<T: ToSchema>() -> Arc<Rules> {
    static CACHE: LazyLock<RwLock<HashMap<&'static str, Arc<Rules>>>> = LazyLock::new(Default::default);
    let key = std::any::type_name::<T>();
    if let Some(rules) = CACHE.read().ok().and_then(|cache| cache.get(key).cloned()) {
        return rules;
    }
    let schema = serde_json::to_value(T::schema()).unwrap_or_default();
    let rules = Arc::new(Rules::read(&schema));
    if let Ok(mut cache) = CACHE.write() {
        cache.insert(key, rules.clone());
    }
    rules
}

#[derive(Debug)]
struct Rules {
    properties: Vec<Property>,
    required: Vec<String>,
}

impl Rules {
    fn read(schema: &Value) -> Self {
        let properties = schema["properties"].as_object().into_iter().flatten();
        Self {
            properties: properties.map(|(name, spec)| Property::read(name, spec)).collect(),
            required: schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        }
    }
}

#[derive(Debug)]
struct Property {
    name: String,
    nullable: bool,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// Checked by the domain's own parser.
    Referenced,
    Text {
        min: usize,
        max: Option<usize>,
        pattern: Option<regex::Regex>,
        choices: Option<Vec<String>>,
    },
    Integer {
        min: i64,
        max: i64,
    },
    Number,
    Boolean,
    List(Box<Kind>),
    Object,
}

impl Property {
    fn read(name: &str, spec: &Value) -> Self {
        let types: Vec<&str> = match &spec["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let referenced = spec.get("oneOf").or(spec.get("$ref")).or(spec.get("allOf"));
        let nullable = types.contains(&"null")
            || spec["oneOf"].as_array().is_some_and(|alts| alts.iter().any(|alt| alt["type"] == "null"));
        let kind = if referenced.is_some() { Kind::Referenced } else { Kind::read(&types, spec) };
        Self { name: name.to_string(), nullable, kind }
    }

    fn check(&self, body: &mut Map<String, Value>, required: bool, errors: &mut FieldErrors) {
        let name = self.name.as_str();
        match body.get_mut(name) {
            None if required => errors.add(name, "This field is required."),
            None => {}
            Some(Value::Null) if self.nullable => {}
            Some(Value::Null) => errors.add(name, "This field may not be null."),
            Some(value) => {
                if let Err(message) = self.kind.check(value) {
                    errors.add(name, message);
                }
            }
        }
    }
}

impl Kind {
    fn read(types: &[&str], spec: &Value) -> Self {
        let size = |key: &str| spec[key].as_u64().map(|n| n as usize);
        let whole = |key: &str, default: i64| spec[key].as_i64().unwrap_or(default);
        match types.iter().find(|t| **t != "null").copied() {
            Some("string") => Kind::Text {
                min: size("minLength").unwrap_or(0),
                max: size("maxLength"),
                // A pattern that does not compile is the declaration's mistake: logged, not applied.
                pattern: spec["pattern"].as_str().and_then(|p| {
                    regex::Regex::new(p)
                        .map_err(|err| tracing::error!(error = %err, pattern = p, "unusable schema pattern"))
                        .ok()
                }),
                choices: spec["enum"]
                    .as_array()
                    .map(|values| values.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()),
            },
            Some("integer") => Kind::Integer { min: whole("minimum", i64::MIN), max: whole("maximum", i64::MAX) },
            Some("number") => Kind::Number,
            Some("boolean") => Kind::Boolean,
            Some("array") => {
                let items = &spec["items"];
                let item_types: Vec<&str> = items["type"].as_str().into_iter().collect();
                if items.get("$ref").is_some() || item_types.is_empty() {
                    Kind::List(Box::new(Kind::Referenced))
                } else {
                    Kind::List(Box::new(Kind::read(&item_types, items)))
                }
            }
            Some("object") => Kind::Object,
            _ => Kind::Referenced,
        }
    }

    /// Checks `value` (an integral float becomes an integer), or says what is wrong.
    fn check(&self, value: &mut Value) -> Result<(), String> {
        match self {
            Kind::Referenced => Ok(()),
            Kind::Text { min, max, pattern, choices } => {
                let Value::String(text) = value else { return Err("Not a valid string.".into()) };
                if let Some(choices) = choices {
                    return match choices.contains(text) {
                        true => Ok(()),
                        false => Err(format!("\"{text}\" is not a valid choice.")),
                    };
                }
                let length = text.chars().count();
                if *min > 0 && text.trim().is_empty() {
                    Err("This field may not be blank.".into())
                } else if let Some(max) = max.filter(|max| length > *max) {
                    Err(format!("Ensure this field has no more than {max} characters."))
                } else if length < *min {
                    Err(format!("Ensure this field has at least {min} characters."))
                } else if pattern.as_ref().is_some_and(|p| !p.is_match(text)) {
                    // Django's RegexValidator says no more.
                    Err("Enter a valid value.".into())
                } else {
                    Ok(())
                }
            }
            Kind::Integer { min, max } => {
                let Some(number) = value.as_number().and_then(whole) else {
                    return Err("A valid integer is required.".into());
                };
                if number < *min {
                    return Err(format!("Ensure this value is greater than or equal to {min}."));
                }
                if number > *max {
                    return Err(format!("Ensure this value is less than or equal to {max}."));
                }
                *value = Value::Number(number.into());
                Ok(())
            }
            Kind::Number => match value.is_number() {
                true => Ok(()),
                false => Err("A valid number is required.".into()),
            },
            Kind::Boolean => match value.is_boolean() {
                true => Ok(()),
                false => Err("Must be a valid boolean.".into()),
            },
            Kind::List(item) => {
                let Value::Array(items) = value else {
                    return Err(format!("Expected a list of items but got type \"{}\".", type_name(value)));
                };
                items.iter_mut().try_for_each(|v| item.check(v))
            }
            Kind::Object => match value.is_object() {
                true => Ok(()),
                false => Err(format!("Expected a dictionary of items but got type \"{}\".", type_name(value))),
            },
        }
    }
}

/// A whole number, an integral float included (DRF's `IntegerField` takes `1.0`).
fn whole(number: &Number) -> Option<i64> {
    number.as_i64().or_else(|| number.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
}

/// Python's name for a JSON value's type, as DRF's messages give it.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}
