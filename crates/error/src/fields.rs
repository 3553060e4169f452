//! Reads typed fields out of a JSON object body, collecting every error before failing,
//! with Django REST framework's messages.

use crate::{ApiResult, FieldErrors};
use serde_json::{Map, Value};

pub struct Fields<'a> {
    body: &'a Map<String, Value>,
    pub errors: FieldErrors,
}

impl<'a> Fields<'a> {
    pub fn new(body: &'a Map<String, Value>) -> Self {
        Self { body, errors: FieldErrors::default() }
    }

    /// A string that must be present and non-empty.
    pub fn required_str(&mut self, name: &str) -> String {
        match self.body.get(name) {
            None | Some(Value::Null) => {
                self.errors.add(name, "This field is required.");
                String::new()
            }
            Some(Value::String(s)) if s.is_empty() => {
                self.errors.add(name, "This field may not be blank.");
                String::new()
            }
            Some(_) => self.optional_str(name).unwrap_or_default(),
        }
    }

    pub fn optional_str(&mut self, name: &str) -> Option<String> {
        match self.body.get(name)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.errors.add(name, "Not a valid string.");
                None
            }
        }
    }

    /// A string of at most `max` characters (`min_one`: not blank either).
    pub fn bounded_str(&mut self, name: &str, max: usize, min_one: bool) -> Option<String> {
        let value = self.optional_str(name)?;
        if min_one && value.trim().is_empty() {
            self.errors.add(name, "This field may not be blank.");
            return None;
        }
        if value.chars().count() > max {
            self.errors.add(name, format!("Ensure this field has no more than {max} characters."));
            return None;
        }
        Some(value)
    }

    /// A string or null: `Some(None)` for null.
    pub fn nullable_str(&mut self, name: &str) -> Option<Option<String>> {
        match self.body.get(name)? {
            Value::Null => Some(None),
            _ => self.optional_str(name).map(Some),
        }
    }

    pub fn optional_bool(&mut self, name: &str) -> Option<bool> {
        match self.body.get(name)? {
            Value::Bool(b) => Some(*b),
            _ => {
                self.errors.add(name, "Must be a valid boolean.");
                None
            }
        }
    }

    /// A whole number within `range`; like DRF, an integral float (`1.0`) counts.
    pub fn optional_int(&mut self, name: &str, range: std::ops::RangeInclusive<i64>) -> Option<i64> {
        let whole = |n: &serde_json::Number| {
            n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
        };
        match self.body.get(name)? {
            Value::Number(n) if whole(n).is_some() => {
                let v = whole(n).unwrap_or_default();
                if v < *range.start() {
                    self.errors.add(name, format!("Ensure this value is greater than or equal to {}.", range.start()));
                    None
                } else if v > *range.end() {
                    self.errors.add(name, format!("Ensure this value is less than or equal to {}.", range.end()));
                    None
                } else {
                    Some(v)
                }
            }
            _ => {
                self.errors.add(name, "A valid integer is required.");
                None
            }
        }
    }

    /// A whole number or null: `Some(None)` for null.
    pub fn nullable_int(&mut self, name: &str, range: std::ops::RangeInclusive<i64>) -> Option<Option<i64>> {
        match self.body.get(name)? {
            Value::Null => Some(None),
            _ => self.optional_int(name, range).map(Some),
        }
    }

    /// A list of numbers.
    pub fn optional_numbers(&mut self, name: &str) -> Option<Vec<f64>> {
        let Value::Array(items) = self.body.get(name)? else {
            self.errors.add(name, "Expected a list of items.");
            return None;
        };
        let numbers: Option<Vec<f64>> = items.iter().map(Value::as_f64).collect();
        if numbers.is_none() {
            self.errors.add(name, "A valid number is required.");
        }
        numbers
    }

    /// One of `choices`.
    pub fn choice(&mut self, name: &str, choices: &[&str]) -> Option<String> {
        let value = self.optional_str(name)?;
        if choices.contains(&value.as_str()) {
            Some(value)
        } else {
            self.errors.add(name, format!("\"{value}\" is not a valid choice."));
            None
        }
    }

    /// Fails with every collected field error.
    pub fn finish(self) -> ApiResult<()> {
        self.errors.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_collect_errors() {
        let body = json!({"name": 3, "flag": "yes", "blank": "", "n": 5, "big": 99, "c": "x"});
        let mut fields = Fields::new(body.as_object().unwrap());
        fields.optional_str("name");
        fields.optional_bool("flag");
        fields.required_str("missing");
        fields.required_str("blank");
        assert_eq!(fields.optional_int("n", 0..=10), Some(5));
        fields.optional_int("big", 0..=10);
        fields.choice("c", &["a"]);
        let err = fields.finish().unwrap_err();
        for key in ["name", "flag", "missing", "blank", "big", "c"] {
            assert!(err.body.get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn integral_floats_are_integers() {
        let body = json!({"whole": 3.0, "part": 2.5, "huge": 1e300});
        let mut fields = Fields::new(body.as_object().unwrap());
        assert_eq!(fields.optional_int("whole", 0..=10), Some(3));
        assert_eq!(fields.optional_int("part", 0..=10), None);
        assert_eq!(fields.optional_int("huge", 0..=i64::MAX), None);
        let err = fields.finish().unwrap_err();
        assert_eq!(err.body["part"], json!(["A valid integer is required."]));
    }
}
