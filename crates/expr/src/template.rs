//! Template values: Milvus's `expr_template_values`, which let a client send
//! `pk in {ids}` and the ids separately instead of formatting them into the text.
//!
//! Values nested deeper than [`MAX_DEPTH`] (arrays of arrays, JSON) are refused with
//! [`ExprError::TooDeep`], like expressions, before anything recurses over them.

use crate::ast::MAX_DEPTH;
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

fn too_deep(name: &str) -> ExprError {
    ExprError::TooDeep { what: format!("the value of template variable {name}"), limit: MAX_DEPTH }
}

impl TemplateValue {
    pub(crate) fn to_literal(&self, name: &str) -> Result<Literal> {
        self.literal_at(name, 1)
    }

    /// The literal for this value, which sits `depth` levels deep in the template.
    fn literal_at(&self, name: &str, depth: usize) -> Result<Literal> {
        if depth > MAX_DEPTH {
            return Err(too_deep(name));
        }
        Ok(match self {
            TemplateValue::Bool(b) => Literal::Bool(*b),
            TemplateValue::Int(i) => Literal::Int(*i),
            TemplateValue::Float(f) => Literal::Float(*f),
            TemplateValue::String(s) => Literal::Str(s.clone()),
            TemplateValue::Array(items) => Literal::List(items.iter().map(|v| v.literal_at(name, depth + 1)).collect::<Result<_>>()?),
            TemplateValue::Json(v) => json_literal(v, name, depth)?,
        })
    }
}

fn json_literal(value: &Value, name: &str, depth: usize) -> Result<Literal> {
    if depth > MAX_DEPTH {
        return Err(too_deep(name));
    }
    Ok(match value {
        Value::Null => return Err(ExprError::Unsupported { what: format!("a null value for template variable {name}") }),
        Value::Bool(b) => Literal::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Literal::Int(i),
            None => Literal::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Literal::Str(s.clone()),
        Value::Array(items) => Literal::List(items.iter().map(|v| json_literal(v, name, depth + 1)).collect::<Result<_>>()?),
        Value::Object(_) => {
            if json_height(value) + depth - 1 > MAX_DEPTH {
                return Err(too_deep(name));
            }
            Literal::Json(value.clone())
        }
    })
}

/// How many levels `value` nests (a scalar is 1), counted without recursion.
fn json_height(value: &Value) -> usize {
    let mut tallest = 0;
    let mut pending = vec![(value, 1)];
    while let Some((value, depth)) = pending.pop() {
        tallest = tallest.max(depth);
        match value {
            Value::Array(items) => pending.extend(items.iter().map(|v| (v, depth + 1))),
            Value::Object(map) => pending.extend(map.values().map(|v| (v, depth + 1))),
            _ => {}
        }
    }
    tallest
}
