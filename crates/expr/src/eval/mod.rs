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
mod spatial;
mod tri;
mod vals;

use crate::ast::{CmpOp, PathStep};
use crate::error::{ExprError, Result};
use crate::json::lookup;
use crate::like::LikePattern;
use crate::plan::{InList, JsonNeeds, Needles, Operand, Pred, need};
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_buffer::BooleanBuffer;
use serde_json::Value;
use std::collections::HashMap;
use tri::Tri;

/// Calls `visit(row, path, value)` for each row of the JSON column `cells` (named
/// `name` in errors) that has a value at `paths[path]`, seen exactly as a filter sees
/// it: null and empty cells, missing keys and JSON nulls have none. Indexes over JSON
/// paths are built from this, so they select the rows evaluation would.
pub fn json_path_values(
    name: &str,
    cells: &StringArray,
    paths: &[Vec<PathStep>],
    mut visit: impl FnMut(usize, usize, &Value),
) -> Result<()> {
    let mut needs = JsonNeeds::new();
    paths.iter().for_each(|path| need(&mut needs, name, path));
    let keys = needs.get(name).and_then(Option::as_ref);
    for (row, doc) in documents::parse_column(name, cells, keys)?.iter().enumerate() {
        let Some(doc) = doc else { continue };
        for (at, path) in paths.iter().enumerate() {
            if let Some(value) = lookup(doc, path).filter(|v| !v.is_null()) {
                visit(row, at, value);
            }
        }
    }
    Ok(())
}

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

// `predicate` recurses through `and`/`or`/`not`, so it only dispatches: in unoptimised
// builds every temporary of a function has its own stack slot, and one large match would
// cost kilobytes per nesting level.
fn predicate(ctx: &Ctx<'_>, pred: &Pred) -> Result<Tri> {
    match pred {
        Pred::Const(b) => Ok(Tri::constant(*b, ctx.rows)),
        Pred::And(children) => all(ctx, children),
        Pred::Or(children) => any(ctx, children),
        Pred::Not(inner) => negation(ctx, inner),
        Pred::Compare { left, op, right } => compare(ctx, left, *op, right),
        Pred::In { operand, list, negated } => in_list(ctx, operand, list, *negated),
        Pred::Like { operand, pattern } => like(ctx, operand, pattern),
        Pred::IsNull { operand, negated } => is_null(ctx, operand, *negated),
        Pred::Contains { operand, all, needles, unmatchable } => contains(ctx, operand, *all, needles, *unmatchable),
        Pred::Exists { column, path } => exists(ctx, column, path),
        Pred::Truthy(operand) => truthy(ctx, operand),
        Pred::Spatial { column, test } => spatial::spatial(ctx, column, test),
    }
}

fn all(ctx: &Ctx<'_>, children: &[Pred]) -> Result<Tri> {
    let mut acc = Tri::constant(true, ctx.rows);
    for child in children {
        acc = acc.and(&predicate(ctx, child)?);
    }
    Ok(acc)
}

fn any(ctx: &Ctx<'_>, children: &[Pred]) -> Result<Tri> {
    let mut acc = Tri::constant(false, ctx.rows);
    for child in children {
        acc = acc.or(&predicate(ctx, child)?);
    }
    Ok(acc)
}

fn negation(ctx: &Ctx<'_>, inner: &Pred) -> Result<Tri> {
    Ok(predicate(ctx, inner)?.not())
}

fn compare(ctx: &Ctx<'_>, left: &Operand, op: CmpOp, right: &Operand) -> Result<Tri> {
    if let (Operand::Column(column), Operand::Literal(literal)) = (left, right)
        && let Some(tri) = compare::compare_native(ctx.column(&column.name)?.as_ref(), column.data_type, op, literal)
    {
        return Ok(tri);
    }
    Ok(compare::compare(&vals::operand(ctx, left)?, op, &vals::operand(ctx, right)?, ctx.rows))
}

fn in_list(ctx: &Ctx<'_>, operand: &Operand, list: &InList, negated: bool) -> Result<Tri> {
    let native = match operand {
        Operand::Column(column) => compare::in_native(ctx.column(&column.name)?.as_ref(), column.data_type, list),
        _ => None,
    };
    let tri = match native {
        Some(tri) => tri,
        None => compare::in_list(&vals::operand(ctx, operand)?, list, ctx.rows),
    };
    Ok(if negated { tri.not() } else { tri })
}

fn like(ctx: &Ctx<'_>, operand: &Operand, pattern: &LikePattern) -> Result<Tri> {
    Ok(compare::like(&vals::operand(ctx, operand)?, pattern, ctx.rows))
}

fn contains(ctx: &Ctx<'_>, operand: &Operand, all: bool, needles: &Needles, unmatchable: bool) -> Result<Tri> {
    contains::contains(&vals::operand(ctx, operand)?, all, needles, unmatchable, ctx.rows)
}

fn truthy(ctx: &Ctx<'_>, operand: &Operand) -> Result<Tri> {
    Ok(compare::truthy(&vals::operand(ctx, operand)?, ctx.rows))
}

fn is_null(ctx: &Ctx<'_>, operand: &Operand, negated: bool) -> Result<Tri> {
    let tri = compare::is_null(&vals::operand(ctx, operand)?, ctx.rows);
    Ok(if negated { tri.not() } else { tri })
}

fn exists(ctx: &Ctx<'_>, column: &str, path: &[PathStep]) -> Result<Tri> {
    let docs = ctx.json(column)?;
    Ok(Tri::from_fn(ctx.rows, |i| docs[i].as_ref().map(|doc| lookup(doc, path).is_some())))
}
