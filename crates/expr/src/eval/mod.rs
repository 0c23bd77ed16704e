//! Evaluating a plan over one Arrow batch, a predicate at a time.
//!
//! Each predicate yields a [`Tri`] (rows known true / known false); logic combines
//! bitmaps; only the rows known true match. JSON columns the plan reads are parsed
//! once per batch up front (only the keys the plan reads), however many predicates
//! use them.

mod arith;
mod compare;
mod contains;
mod documents;
mod tri;
mod vals;

use crate::error::{ExprError, Result};
use crate::json::lookup;
use crate::plan::{JsonNeeds, Operand, Pred};
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_buffer::BooleanBuffer;
use serde_json::Value;
use std::collections::HashMap;
use tri::Tri;

/// The rows of `batch` where `pred` is true.
pub(crate) fn evaluate(pred: &Pred, batch: &RecordBatch, json_columns: &JsonNeeds) -> Result<BooleanBuffer> {
    let ctx = Ctx::new(batch, json_columns)?;
    Ok(predicate(&ctx, pred)?.t)
}

/// One batch being evaluated, with its JSON columns parsed.
pub(crate) struct Ctx<'b> {
    batch: &'b RecordBatch,
    pub rows: usize,
    /// Per JSON column, each row's document (`None` for a null cell).
    json: HashMap<String, Vec<Option<Value>>>,
}

impl<'b> Ctx<'b> {
    fn new(batch: &'b RecordBatch, json_columns: &JsonNeeds) -> Result<Ctx<'b>> {
        let rows = batch.num_rows();
        let mut ctx = Ctx { batch, rows, json: HashMap::new() };
        for (name, keys) in json_columns {
            let array = ctx.column(name)?;
            let cells = array.as_any().downcast_ref::<StringArray>().ok_or_else(|| ExprError::ColumnType {
                name: name.clone(),
                expected: "Utf8 (JSON text)".into(),
                found: array.data_type().to_string(),
            })?;
            ctx.json.insert(name.clone(), documents::parse_column(name, cells, keys.as_ref())?);
        }
        Ok(ctx)
    }

    pub fn column(&self, name: &str) -> Result<&'b ArrayRef> {
        self.batch.column_by_name(name).ok_or_else(|| ExprError::MissingColumn { name: name.to_string() })
    }

    pub fn json(&self, name: &str) -> Result<&[Option<Value>]> {
        self.json.get(name).map(Vec::as_slice).ok_or_else(|| ExprError::MissingColumn { name: name.to_string() })
    }
}

fn predicate(ctx: &Ctx<'_>, pred: &Pred) -> Result<Tri> {
    let rows = ctx.rows;
    Ok(match pred {
        Pred::Const(b) => Tri::constant(*b, rows),
        Pred::And(children) => {
            let mut acc = Tri::constant(true, rows);
            for child in children {
                acc = acc.and(&predicate(ctx, child)?);
            }
            acc
        }
        Pred::Or(children) => {
            let mut acc = Tri::constant(false, rows);
            for child in children {
                acc = acc.or(&predicate(ctx, child)?);
            }
            acc
        }
        Pred::Not(inner) => predicate(ctx, inner)?.not(),
        Pred::Compare { left, op, right } => {
            let native = match (left, right) {
                (Operand::Column(column), Operand::Literal(literal)) => {
                    compare::compare_native(ctx.column(&column.name)?.as_ref(), column.data_type, *op, literal)
                }
                _ => None,
            };
            match native {
                Some(tri) => tri,
                None => compare::compare(&vals::operand(ctx, left)?, *op, &vals::operand(ctx, right)?, rows),
            }
        }
        Pred::In { operand, list, negated } => {
            let native = match operand {
                Operand::Column(column) => compare::in_native(ctx.column(&column.name)?.as_ref(), column.data_type, list),
                _ => None,
            };
            let tri = match native {
                Some(tri) => tri,
                None => compare::in_list(&vals::operand(ctx, operand)?, list, rows),
            };
            if *negated { tri.not() } else { tri }
        }
        Pred::Like { operand, pattern } => compare::like(&vals::operand(ctx, operand)?, pattern, rows),
        Pred::IsNull { operand, negated } => {
            let tri = compare::is_null(&vals::operand(ctx, operand)?, rows);
            if *negated { tri.not() } else { tri }
        }
        Pred::Contains { operand, all, needles, unmatchable } => {
            contains::contains(&vals::operand(ctx, operand)?, *all, needles, *unmatchable, rows)?
        }
        Pred::Exists { column, path } => {
            let docs = ctx.json(column)?;
            Tri::from_fn(rows, |i| docs[i].as_ref().map(|doc| lookup(doc, path).is_some()))
        }
        Pred::Truthy(operand) => compare::truthy(&vals::operand(ctx, operand)?, rows),
    })
}
