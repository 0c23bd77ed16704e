//! Operands evaluated a column at a time.
//!
//! Scalar columns become one Arrow array (integers widened to Int64, Float to
//! Float64, which is exact); JSON paths become one borrowed value per row, looked up in
//! documents parsed once per batch; literals stay constants so kernels can compare a
//! column against a scalar without materialising it.

use super::Ctx;
use super::arith;
use crate::ast::PathStep;
use crate::error::{ExprError, Result};
use crate::json::lookup;
use crate::plan::{ColumnRef, Operand};
use crate::value::Literal;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{
    Array, BooleanArray, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, ListArray, StringArray, UInt64Array,
};
use arrow_buffer::NullBuffer;
use quiver_format::schema::DataType;
use serde_json::{Number, Value};
use std::borrow::Cow;

/// One operand's values for every row of the batch.
#[derive(Debug)]
pub(crate) enum Vals<'a> {
    Int(Int64Array),
    Float(Float64Array),
    Str(StringArray),
    Bool(BooleanArray),
    /// An Array field; `element` is its element type.
    List {
        list: ListArray,
        element: DataType,
        name: &'a str,
    },
    /// Per row: the JSON value, or `None` when missing or null.
    Json(Vec<Option<Cow<'a, Value>>>),
    Const(&'a Literal),
}

/// Recurses through arithmetic and `array_length`, so it only dispatches (see
/// [`super::predicate`]).
pub(crate) fn operand<'a>(ctx: &'a Ctx<'_>, operand: &'a Operand) -> Result<Vals<'a>> {
    match operand {
        Operand::Column(column) => self::column(ctx, column),
        Operand::Json { column, path } => json_path(ctx, column, path),
        Operand::Element { column, index } => element(ctx, column, *index),
        Operand::Length(inner) => length(ctx, inner),
        Operand::Literal(literal) => Ok(Vals::Const(literal)),
        Operand::Arith { first, steps } => arith::evaluate(ctx, first, steps),
    }
}

fn column<'a>(ctx: &'a Ctx<'_>, column: &'a ColumnRef) -> Result<Vals<'a>> {
    widen(ctx.column(&column.name)?.as_ref(), column, column.data_type)
}

fn downcast<'x, T: Array + 'static>(array: &'x dyn Array, name: &str, data_type: DataType) -> Result<&'x T> {
    array.as_any().downcast_ref::<T>().ok_or_else(|| ExprError::ColumnType {
        name: name.to_string(),
        expected: format!("the Arrow layout of a {} field", data_type.name()),
        found: array.data_type().to_string(),
    })
}

/// Reads `array` as values of `data_type` (a scalar type, or Array for the column
/// itself), widening integers and floats.
pub(crate) fn widen<'a>(array: &dyn Array, column: &'a ColumnRef, data_type: DataType) -> Result<Vals<'a>> {
    let name = column.name.as_str();
    Ok(match data_type {
        DataType::Bool => Vals::Bool(downcast::<BooleanArray>(array, name, data_type)?.clone()),
        DataType::Int8 => Vals::Int(downcast::<Int8Array>(array, name, data_type)?.unary::<_, Int64Type>(i64::from)),
        DataType::Int16 => Vals::Int(downcast::<Int16Array>(array, name, data_type)?.unary::<_, Int64Type>(i64::from)),
        DataType::Int32 => Vals::Int(downcast::<Int32Array>(array, name, data_type)?.unary::<_, Int64Type>(i64::from)),
        DataType::Int64 => Vals::Int(downcast::<Int64Array>(array, name, data_type)?.clone()),
        DataType::Float => Vals::Float(downcast::<Float32Array>(array, name, data_type)?.unary::<_, Float64Type>(f64::from)),
        DataType::Double => Vals::Float(downcast::<Float64Array>(array, name, data_type)?.clone()),
        // A Geometry column reaches here only through `is null` (planning refuses
        // every other operator on it).
        DataType::VarChar | DataType::Geometry => Vals::Str(downcast::<StringArray>(array, name, data_type)?.clone()),
        DataType::Array => Vals::List {
            list: downcast::<ListArray>(array, name, data_type)?.clone(),
            element: column.element.unwrap_or(DataType::Int64),
            name,
        },
        other => {
            return Err(ExprError::ColumnType {
                name: name.to_string(),
                expected: "a scalar or Array field".into(),
                found: other.name().to_string(),
            });
        }
    })
}

fn json_path<'a>(ctx: &'a Ctx<'_>, column: &str, path: &[PathStep]) -> Result<Vals<'a>> {
    let docs = ctx.json(column)?;
    Ok(Vals::Json(docs.iter().map(|doc| doc.as_ref().and_then(|d| lookup(d, path)).filter(|v| !v.is_null()).map(Cow::Borrowed)).collect()))
}

/// `array_field[index]`: the element, or null when the row is null or too short.
fn element<'a>(ctx: &'a Ctx<'_>, column: &'a ColumnRef, index: u64) -> Result<Vals<'a>> {
    let list = downcast::<ListArray>(ctx.column(&column.name)?.as_ref(), &column.name, DataType::Array)?;
    let offsets = list.value_offsets();
    let indices: UInt64Array = (0..list.len())
        .map(|i| {
            let (start, end) = (offsets[i] as u64, offsets[i + 1] as u64);
            // Lazily: `start + index` overflows for an index such as u64::MAX.
            (list.is_valid(i) && index < end - start).then(|| start + index)
        })
        .collect();
    let taken = arrow_select::take::take(list.values().as_ref(), &indices, None).map_err(|e| ExprError::ColumnType {
        name: column.name.clone(),
        expected: "a readable list column".into(),
        found: e.to_string(),
    })?;
    widen(taken.as_ref(), column, column.element.unwrap_or(DataType::Int64))
}

/// `array_length(x)`: elements per row; null for null rows and non-array JSON values.
fn length<'a>(ctx: &'a Ctx<'_>, inner: &'a Operand) -> Result<Vals<'a>> {
    let values = operand(ctx, inner)?;
    Ok(lengths(values, ctx.rows))
}

fn lengths<'a>(values: Vals<'_>, rows: usize) -> Vals<'a> {
    match values {
        Vals::List { list, .. } => {
            let lengths: Vec<i64> = list.value_offsets().windows(2).map(|w| i64::from(w[1] - w[0])).collect();
            Vals::Int(Int64Array::new(lengths.into(), list.nulls().cloned()))
        }
        Vals::Json(rows) => Vals::Int(
            rows.iter()
                .map(|v| match v.as_deref() {
                    Some(Value::Array(items)) => Some(items.len() as i64),
                    _ => None,
                })
                .collect(),
        ),
        other => Vals::Int(Int64Array::new_null(other.len(rows))),
    }
}

impl Vals<'_> {
    pub fn len(&self, rows: usize) -> usize {
        match self {
            Vals::Int(a) => a.len(),
            Vals::Float(a) => a.len(),
            Vals::Str(a) => a.len(),
            Vals::Bool(a) => a.len(),
            Vals::List { list, .. } => list.len(),
            Vals::Json(v) => v.len(),
            Vals::Const(_) => rows,
        }
    }

    /// Which rows are null, for the Arrow-backed kinds.
    pub fn nulls(&self) -> Option<&NullBuffer> {
        match self {
            Vals::Int(a) => a.nulls(),
            Vals::Float(a) => a.nulls(),
            Vals::Str(a) => a.nulls(),
            Vals::Bool(a) => a.nulls(),
            Vals::List { list, .. } => list.nulls(),
            Vals::Json(_) | Vals::Const(_) => None,
        }
    }

    /// Row `i` as a JSON value (`None` for null), for the dynamically typed paths.
    pub fn json_at(&self, i: usize) -> Option<Cow<'_, Value>> {
        if self.nulls().is_some_and(|n| n.is_null(i)) {
            return None;
        }
        let value = match self {
            Vals::Int(a) => Value::from(a.value(i)),
            Vals::Float(a) => Value::Number(Number::from_f64(a.value(i))?),
            Vals::Str(a) => Value::String(a.value(i).to_string()),
            Vals::Bool(a) => Value::Bool(a.value(i)),
            Vals::List { list, element, .. } => {
                let items = list.value(i);
                let column = ColumnRef { name: String::new(), data_type: DataType::Array, element: Some(*element) };
                let values = widen(items.as_ref(), &column, *element).ok()?;
                Value::Array((0..items.len()).map(|j| values.json_at(j).map_or(Value::Null, Cow::into_owned)).collect())
            }
            Vals::Json(rows) => return rows[i].as_deref().map(Cow::Borrowed),
            Vals::Const(literal) => literal.to_json(),
        };
        Some(Cow::Owned(value))
    }

    /// The number in row `i`, if it holds one.
    pub fn num_at(&self, i: usize) -> Option<crate::value::Num> {
        use crate::value::Num;
        if self.nulls().is_some_and(|n| n.is_null(i)) {
            return None;
        }
        match self {
            Vals::Int(a) => Some(Num::Int(a.value(i))),
            Vals::Float(a) => Some(Num::Float(a.value(i))),
            Vals::Json(rows) => rows[i].as_deref().and_then(crate::json::number),
            Vals::Const(literal) => literal.as_num(),
            _ => None,
        }
    }
}

/// Row-by-row JSON access with a constant converted once, not per row.
pub(crate) struct JsonView<'v, 'a> {
    vals: &'v Vals<'a>,
    constant: Option<Value>,
}

impl<'v, 'a> JsonView<'v, 'a> {
    pub fn new(vals: &'v Vals<'a>) -> Self {
        let constant = if let Vals::Const(literal) = vals { Some(literal.to_json()) } else { None };
        JsonView { vals, constant }
    }

    pub fn get(&self, i: usize) -> Option<Cow<'_, Value>> {
        match &self.constant {
            Some(value) => Some(Cow::Borrowed(value)),
            None => self.vals.json_at(i),
        }
    }
}
