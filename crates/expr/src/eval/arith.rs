//! Arithmetic over evaluated operands. Overflow, integer division by zero and
//! non-finite results make the row null (unknown) instead of wrapping, so `a * k > 0`
//! can never match because of an overflowed product.
//!
//! A chain is applied a step at a time in a loop, so its length costs no stack.

use super::Ctx;
use super::vals::{Vals, operand};
use crate::ast::ArithOp;
use crate::error::Result;
use crate::plan::{ArithStep, Operand, Ty};
use crate::value::{Num, arith, int_arith};
use arrow_array::{Float64Array, Int64Array};
use std::borrow::Cow;

/// `first step₁ step₂ ...`, left to right.
pub(crate) fn evaluate<'a>(ctx: &'a Ctx<'_>, first: &'a Operand, steps: &'a [ArithStep]) -> Result<Vals<'a>> {
    let mut acc = operand(ctx, first)?;
    for step in steps {
        let right = operand(ctx, &step.operand)?;
        acc = apply(ctx.rows, &acc, step.op, &right, step.ty);
    }
    Ok(acc)
}

/// `l op r` for every row, as values of type `ty`.
fn apply<'a>(rows: usize, l: &Vals<'_>, op: ArithOp, r: &Vals<'_>, ty: Ty) -> Vals<'a> {
    let result = |i: usize| arith(op, l.num_at(i)?, r.num_at(i)?);
    match ty {
        Ty::Int => {
            // Fast path for the common `field op constant`.
            if let (Vals::Int(a), Vals::Const(c)) = (l, r)
                && let Some(Num::Int(c)) = c.as_num()
            {
                let values: Int64Array = a.iter().map(|x| int_arith(op, x?, c)).collect();
                return Vals::Int(values);
            }
            Vals::Int((0..rows).map(|i| result(i).and_then(|n| n.as_exact_i64())).collect())
        }
        Ty::Float => Vals::Float((0..rows).map(|i| result(i).map(Num::as_f64)).collect::<Float64Array>()),
        _ => Vals::Json((0..rows).map(|i| result(i).map(|n| Cow::Owned(n.to_json()))).collect()),
    }
}
