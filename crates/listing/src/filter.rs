//! CVAT's JSON-Logic `filter` parameter compiled to SQL.

use crate::sql::{typed_param, SqlParam, SqlWhere};
use crate::{Field, ListSpec};
use cvat_error::{ApiError, ApiResult};
use serde_json::{Map, Value};

fn error(message: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(format!("filter: {message}"))
}

pub(crate) fn apply(spec: &ListSpec, raw: &str, out: &mut SqlWhere) -> ApiResult<()> {
    let rule: Value = serde_json::from_str(raw).map_err(|e| error(format!("can't parse filter expression: {e}")))?;
    if rule.as_object().is_some_and(Map::is_empty) {
        return Err(ApiError::invalid("filter shouldn't be empty"));
    }
    let clause = Compiler { spec, out }.rule(&rule)?;
    out.push_raw(clause);
    Ok(())
}

struct Compiler<'a> {
    spec: &'a ListSpec,
    out: &'a mut SqlWhere,
}

impl Compiler<'_> {
    fn rule(&mut self, rule: &Value) -> ApiResult<String> {
        let object = rule
            .as_object()
            .filter(|o| o.len() == 1)
            .ok_or_else(|| error(format!("a rule must be an object with one operator, got {rule}")))?;
        let (op, args) = object.iter().next().expect("one entry");
        match op.as_str() {
            "and" | "or" => self.junction(op, args),
            "!" => Ok(format!("NOT ({})", self.rule(unary(args))?)),
            "!!" => self.rule(unary(args)),
            "var" => {
                let field = self.field(args)?;
                Ok(format!("({}) IS NOT NULL", field.sql))
            }
            "==" | "<" | "<=" | ">" | ">=" => self.comparison(op, args),
            "in" => self.membership(args),
            other => Err(error(format!("term '{other}' is not supported"))),
        }
    }

    fn junction(&mut self, op: &str, args: &Value) -> ApiResult<String> {
        let rules = args
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| error(format!("'{op}' needs a non-empty list of rules")))?;
        let parts = rules.iter().map(|r| self.rule(r)).collect::<ApiResult<Vec<_>>>()?;
        Ok(format!("({})", parts.join(if op == "and" { " AND " } else { " OR " })))
    }

    fn comparison(&mut self, op: &str, args: &Value) -> ApiResult<String> {
        let args = args.as_array().ok_or_else(|| error(format!("'{op}' needs a list of arguments")))?;
        let sql_op = if op == "==" { "=" } else { op };
        match args.as_slice() {
            [var, value] => {
                let field = self.var(var)?;
                let param = self.value(field, value)?;
                Ok(self.out.bind(&format!("{} {sql_op} {{}}", field.sql), vec![param]))
            }
            [low, var, high] if op == "<=" || op == "<" => {
                let field = self.var(var)?;
                let params = vec![self.value(field, low)?, self.value(field, high)?];
                Ok(self.out.bind(&format!("({{}} {sql_op} {f} AND {f} {sql_op} {{}})", f = field.sql), params))
            }
            _ => Err(error(format!("'{op}' has the wrong number of arguments"))),
        }
    }

    fn membership(&mut self, args: &Value) -> ApiResult<String> {
        match args.as_array().map(Vec::as_slice) {
            Some([var @ Value::Object(_), Value::Array(values)]) => {
                let field = self.var(var)?;
                if values.is_empty() {
                    return Ok("FALSE".to_string());
                }
                let params = values.iter().map(|v| self.value(field, v)).collect::<ApiResult<Vec<_>>>()?;
                let marks = vec!["{}"; params.len()].join(", ");
                Ok(self.out.bind(&format!("{} IN ({marks})", field.sql), params))
            }
            Some([Value::String(needle), var @ Value::Object(_)]) => {
                let field = self.var(var)?;
                let param = SqlParam::Text(needle.clone());
                Ok(self.out.bind(&format!("strpos(({})::text, {{}}) > 0", field.sql), vec![param]))
            }
            _ => Err(error("'in' needs [{\"var\": field}, [values]] or [\"text\", {\"var\": field}]")),
        }
    }

    /// `{"var": "name"}` → the field.
    fn var(&self, value: &Value) -> ApiResult<&'static Field> {
        match value.as_object().and_then(|o| o.get("var")) {
            Some(name) if value.as_object().is_some_and(|o| o.len() == 1) => self.field(name),
            _ => Err(error(format!("expected {{\"var\": field}}, got {value}"))),
        }
    }

    fn field(&self, name: &Value) -> ApiResult<&'static Field> {
        let name = name.as_str().ok_or_else(|| error(format!("a field name must be a string, got {name}")))?;
        self.spec.allowed(self.spec.filter, name).ok_or_else(|| error(format!("unknown field '{name}'")))
    }

    fn value(&self, field: &Field, value: &Value) -> ApiResult<SqlParam> {
        typed_param(field.ty, value).ok_or_else(|| error(format!("{value} is not a valid value for '{}'", field.name)))
    }
}

/// `{"!": rule}` and `{"!": [rule]}` mean the same.
fn unary(args: &Value) -> &Value {
    match args.as_array().map(Vec::as_slice) {
        Some([only]) => only,
        _ => args,
    }
}
