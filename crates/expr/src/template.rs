//! Template values: Milvus's `expr_template_values`, which let a client send
//! `pk in {ids}` and the ids separately instead of formatting them into the text.

use crate::error::{ExprError, Result};
use crate::value::Literal;
use serde_json::Value;

/// One template value, as the server decoded it from the request.
#[derive(Clone, Debug, PartialEq)]
pub enum TemplateValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Array(Vec<TemplateValue>),
    /// JSON data (Milvus sends JSON array elements as JSON text).
    Json(Value),
}

impl TemplateValue {
    pub(crate) fn to_literal(&self, name: &str) -> Result<Literal> {
        Ok(match self {
            TemplateValue::Bool(b) => Literal::Bool(*b),
            TemplateValue::Int(i) => Literal::Int(*i),
            TemplateValue::Float(f) => Literal::Float(*f),
            TemplateValue::String(s) => Literal::Str(s.clone()),
            TemplateValue::Array(items) => Literal::List(items.iter().map(|v| v.to_literal(name)).collect::<Result<_>>()?),
            TemplateValue::Json(v) => json_literal(v, name)?,
        })
    }
}

fn json_literal(value: &Value, name: &str) -> Result<Literal> {
    Ok(match value {
        Value::Null => return Err(ExprError::Unsupported { what: format!("a null value for template variable {name}") }),
        Value::Bool(b) => Literal::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Literal::Int(i),
            None => Literal::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Literal::Str(s.clone()),
        Value::Array(items) => Literal::List(items.iter().map(|v| json_literal(v, name)).collect::<Result<_>>()?),
        Value::Object(_) => Literal::Json(value.clone()),
    })
}
