//! Request bodies parsed against their own declaration: a request type's utoipa schema
//! (types, `required`, `nullable`, `min_length`/`max_length`, `pattern`,
//! `minimum`/`maximum`, `enum`, nested models) is the one statement of its rules.
//! [`parse`] checks a body against it, collecting every field error in Django REST
//! framework's words and CVAT's shapes (`{"field": ["message"]}`, nested objects as
//! `{"field": {"inner": [...]}}`, lists of objects as `{"field": [{}, {"inner": [...]}]}`),
//! then lets serde build the type. So the schema in `/api/schema/`, the checks and the
//! parsed value cannot disagree.

use cvat_error::{ApiError, ApiResult, ErrorKind};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Number, Value};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};
use utoipa::ToSchema;

/// `body` checked against `T`'s schema and deserialized into `T`. Like DRF, an integral
/// float (`1.0`) counts as an integer and unknown fields are ignored.
pub fn parse<T: ToSchema + DeserializeOwned>(body: &Map<String, Value>) -> ApiResult<T> {
    let rules = rules_of::<T>();
    let mut body = body.clone();
    let errors = rules.check(&mut body);
    if !errors.is_empty() {
        return Err(ApiError::new(ErrorKind::BadRequest, Value::Object(errors)));
    }
    serde_json::from_value(Value::Object(body)).map_err(|err| {
        // The checks above admit only values serde reads; this means the type and its
        // schema disagree.
        tracing::error!(error = %err, model = T::name().as_ref(), "a checked body did not deserialize");
        ApiError::internal()
    })
}

/// The schema of a type (with the models it refers to), read once per type.
fn rules_of<T: ToSchema>() -> Arc<Rules> {
    static CACHE: LazyLock<RwLock<HashMap<&'static str, Arc<Rules>>>> = LazyLock::new(Default::default);
    let key = std::any::type_name::<T>();
    if let Some(rules) = CACHE.read().ok().and_then(|cache| cache.get(key).cloned()) {
        return rules;
    }
    let mut referenced = Vec::new();
    T::schemas(&mut referenced);
    let components: Map<String, Value> =
        referenced.into_iter().map(|(name, schema)| (name, serde_json::to_value(schema).unwrap_or_default())).collect();
    let schema = serde_json::to_value(T::schema()).unwrap_or_default();
    let rules = Arc::new(Rules::read(&schema, &components, 0));
    if let Ok(mut cache) = CACHE.write() {
        cache.insert(key, rules.clone());
    }
    rules
}

/// How deep models may nest (labels → sublabels → attributes is three).
const MAX_DEPTH: usize = 8;

#[derive(Debug)]
struct Rules {
    properties: Vec<Property>,
    required: Vec<String>,
}

impl Rules {
    fn read(schema: &Value, components: &Map<String, Value>, depth: usize) -> Self {
        let properties = schema["properties"].as_object().into_iter().flatten();
        Self {
            properties: properties.map(|(name, spec)| Property::read(name, spec, components, depth)).collect(),
            required: schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        }
    }

    /// Every field's errors, by field name (empty: the object is good).
    fn check(&self, body: &mut Map<String, Value>) -> Map<String, Value> {
        let mut errors = Map::new();
        for property in &self.properties {
            let name = property.name.as_str();
            let problem = match body.get_mut(name) {
                None if self.required.contains(&property.name) => Some(message("This field is required.")),
                None => None,
                Some(Value::Null) if property.nullable => None,
                Some(Value::Null) => Some(message("This field may not be null.")),
                Some(value) => property.kind.check(value).err(),
            };
            if let Some(problem) = problem {
                errors.insert(name.to_string(), problem);
            }
        }
        errors
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
    /// Any JSON value.
    Any,
    Text {
        min: usize,
        max: Option<usize>,
        pattern: Option<regex::Regex>,
        choices: Option<Vec<String>>,
        /// `format: date-time`: RFC 3339, as chrono reads it.
        moment: bool,
    },
    Integer {
        min: i64,
        max: i64,
    },
    Number,
    Boolean,
    List(Box<Kind>),
    /// A free-form object.
    Object,
    /// A nested model.
    Model(Box<Rules>),
}

fn message(text: impl Into<String>) -> Value {
    json!([text.into()])
}

/// The component a `$ref` names.
fn resolve<'a>(spec: &'a Value, components: &'a Map<String, Value>) -> Option<&'a Value> {
    let name = spec["$ref"].as_str()?.rsplit('/').next()?;
    components.get(name)
}

impl Property {
    fn read(name: &str, spec: &Value, components: &Map<String, Value>, depth: usize) -> Self {
        let alternatives = spec["oneOf"].as_array();
        let nullable = types_of(spec).contains(&"null")
            || alternatives.is_some_and(|alts| alts.iter().any(|alt| alt["type"] == "null"));
        // `Option<Model>` is `oneOf: [{type: null}, {$ref}]`.
        let spec = alternatives.and_then(|alts| alts.iter().find(|alt| alt["type"] != "null")).unwrap_or(spec);
        Self { name: name.to_string(), nullable, kind: Kind::read(spec, components, depth) }
    }
}

fn types_of(spec: &Value) -> Vec<&str> {
    match &spec["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

impl Kind {
    fn read(spec: &Value, components: &Map<String, Value>, depth: usize) -> Self {
        if let Some(model) = resolve(spec, components) {
            return match depth < MAX_DEPTH {
                true => Kind::read(model, components, depth + 1),
                false => Kind::Any,
            };
        }
        let size = |key: &str| spec[key].as_u64().map(|n| n as usize);
        let whole = |key: &str, default: i64| spec[key].as_i64().unwrap_or(default);
        match types_of(spec).into_iter().find(|t| *t != "null") {
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
                moment: spec["format"] == "date-time",
            },
            Some("integer") => Kind::Integer { min: whole("minimum", i64::MIN), max: whole("maximum", i64::MAX) },
            Some("number") => Kind::Number,
            Some("boolean") => Kind::Boolean,
            Some("array") => Kind::List(Box::new(Kind::read(&spec["items"], components, depth))),
            Some("object") if spec.get("properties").is_some() => {
                Kind::Model(Box::new(Rules::read(spec, components, depth)))
            }
            Some("object") => Kind::Object,
            _ => Kind::Any,
        }
    }

    /// Checks `value` (an integral float becomes an integer), or says what is wrong in
    /// the shape DRF gives it.
    fn check(&self, value: &mut Value) -> Result<(), Value> {
        match self {
            Kind::Any => Ok(()),
            Kind::Text { min, max, pattern, choices, moment } => {
                let Value::String(text) = value else { return Err(message("Not a valid string.")) };
                if *moment && chrono::DateTime::parse_from_rfc3339(text).is_err() {
                    return Err(message(
                        "Datetime has wrong format. Use one of these formats instead: \
                         YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
                    ));
                }
                if let Some(choices) = choices {
                    return match choices.contains(text) {
                        true => Ok(()),
                        false => Err(message(format!("\"{text}\" is not a valid choice."))),
                    };
                }
                let length = text.chars().count();
                if *min > 0 && text.trim().is_empty() {
                    Err(message("This field may not be blank."))
                } else if let Some(max) = max.filter(|max| length > *max) {
                    Err(message(format!("Ensure this field has no more than {max} characters.")))
                } else if length < *min {
                    Err(message(format!("Ensure this field has at least {min} characters.")))
                } else if pattern.as_ref().is_some_and(|p| !p.is_match(text)) {
                    // Django's RegexValidator says no more.
                    Err(message("Enter a valid value."))
                } else {
                    Ok(())
                }
            }
            Kind::Integer { min, max } => {
                let Some(number) = value.as_number().and_then(whole) else {
                    return Err(message("A valid integer is required."));
                };
                if number < *min {
                    return Err(message(format!("Ensure this value is greater than or equal to {min}.")));
                }
                if number > *max {
                    return Err(message(format!("Ensure this value is less than or equal to {max}.")));
                }
                *value = Value::Number(number.into());
                Ok(())
            }
            Kind::Number => match value.is_number() {
                true => Ok(()),
                false => Err(message("A valid number is required.")),
            },
            Kind::Boolean => match value.is_boolean() {
                true => Ok(()),
                false => Err(message("Must be a valid boolean.")),
            },
            Kind::List(item) => {
                let Value::Array(items) = value else {
                    return Err(message(format!("Expected a list of items but got type \"{}\".", type_name(value))));
                };
                if let Kind::Model(_) = item.as_ref() {
                    // A list of objects: one error object per item, in place ([{}, {...}]).
                    let errors: Vec<Value> =
                        items.iter_mut().map(|v| item.check(v).err().unwrap_or_else(|| json!({}))).collect();
                    return match errors.iter().all(|e| e.as_object().is_some_and(Map::is_empty)) {
                        true => Ok(()),
                        false => Err(Value::Array(errors)),
                    };
                }
                items.iter_mut().try_for_each(|v| item.check(v))
            }
            Kind::Object => match value.is_object() {
                true => Ok(()),
                false => Err(message(format!("Expected a dictionary of items but got type \"{}\".", type_name(value)))),
            },
            Kind::Model(rules) => {
                let Value::Object(object) = value else {
                    let got = type_name(value);
                    return Err(
                        json!({"non_field_errors": [format!("Invalid data. Expected a dictionary, but got {got}.")]}),
                    );
                };
                let errors = rules.check(object);
                match errors.is_empty() {
                    true => Ok(()),
                    false => Err(Value::Object(errors)),
                }
            }
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
