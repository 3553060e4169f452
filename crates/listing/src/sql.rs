//! Parameterised SQL fragments.

use crate::FieldType;
use serde_json::Value;
use tokio_postgres::types::ToSql;

/// A bound value. Placeholders are written with an explicit cast (`$1::int8`), so
/// PostgreSQL never has to infer a parameter's type.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    Int(i64),
    Text(String),
    Bool(bool),
    /// An RFC 3339 string, cast to `timestamptz` by the server.
    Timestamp(String),
}

impl SqlParam {
    fn cast(&self) -> &'static str {
        match self {
            SqlParam::Int(_) => "int8",
            SqlParam::Text(_) => "text",
            SqlParam::Bool(_) => "bool",
            SqlParam::Timestamp(_) => "text::timestamptz",
        }
    }

    pub fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            SqlParam::Int(v) => v,
            SqlParam::Text(v) | SqlParam::Timestamp(v) => v,
            SqlParam::Bool(v) => v,
        }
    }
}

/// Converts a JSON value to a parameter of the field's type, accepting the string
/// spellings a query string produces (`"3"`, `"True"`).
pub(crate) fn typed_param(ty: FieldType, value: &Value) -> Option<SqlParam> {
    match (ty, value) {
        (FieldType::Int, Value::Number(n)) => n.as_i64().map(SqlParam::Int),
        (FieldType::Int, Value::String(s)) => s.trim().parse().ok().map(SqlParam::Int),
        (FieldType::Text, Value::String(s)) => Some(SqlParam::Text(s.clone())),
        (FieldType::Text, Value::Number(n)) => Some(SqlParam::Text(n.to_string())),
        (FieldType::Bool, Value::Bool(b)) => Some(SqlParam::Bool(*b)),
        (FieldType::Bool, Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => Some(SqlParam::Bool(true)),
            "false" | "0" => Some(SqlParam::Bool(false)),
            _ => None,
        },
        (FieldType::Timestamp, Value::String(s)) if !s.is_empty() => Some(SqlParam::Timestamp(s.clone())),
        _ => None,
    }
}

/// `AND`-joined conditions with their parameters.
#[derive(Debug, Default)]
pub struct SqlWhere {
    clauses: Vec<String>,
    params: Vec<SqlParam>,
}

impl SqlWhere {
    /// Adds a condition whose one `{}` stands for `value`.
    pub fn push(&mut self, template: &str, value: SqlParam) {
        self.push_many(template, vec![value]);
    }

    /// Adds a condition with one `{}` per value, in order.
    pub fn push_many(&mut self, template: &str, values: Vec<SqlParam>) {
        let clause = self.bind(template, values);
        self.clauses.push(clause);
    }

    /// Adds a condition with no parameters.
    pub fn push_raw(&mut self, clause: impl Into<String>) {
        self.clauses.push(clause.into());
    }

    /// Replaces each `{}` in `template` by the next placeholder, registering the values.
    pub(crate) fn bind(&mut self, template: &str, values: Vec<SqlParam>) -> String {
        let mut out = String::with_capacity(template.len() + 8 * values.len());
        let mut values = values.into_iter();
        let mut rest = template;
        while let Some(at) = rest.find("{}") {
            out.push_str(&rest[..at]);
            let value = values.next().expect("one value per placeholder");
            out.push_str(&format!("${}::{}", self.params.len() + 1, value.cast()));
            self.params.push(value);
            rest = &rest[at + 2..];
        }
        out.push_str(rest);
        out
    }

    /// `WHERE a AND b`, or an empty string.
    pub fn to_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    pub fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(SqlParam::as_sql).collect()
    }

    pub fn param_values(&self) -> &[SqlParam] {
        &self.params
    }
}
