//! Arithmetic over evaluated operands. Overflow, integer division by zero and
//! non-finite results make the row null (unknown) instead of wrapping, so `a * k > 0`
//! can never match because of an overflowed product.

use super::Ctx;
use super::vals::{Vals, operand};
use crate::ast::ArithOp;
use crate::error::Result;
use crate::plan::{Operand, Ty};
use crate::value::{Num, arith};
use arrow_array::{Float64Array, Int64Array};
use std::borrow::Cow;

pub(crate) fn evaluate<'a>(ctx: &'a Ctx<'_>, op: ArithOp, left: &'a Operand, right: &'a Operand, ty: Ty) -> Result<Vals<'a>> {
    let (l, r) = (operand(ctx, left)?, operand(ctx, right)?);
    let rows = ctx.rows;
    let result = |i: usize| arith(op, l.num_at(i)?, r.num_at(i)?);
    Ok(match ty {
        Ty::Int => {
            // Fast path for the common `field op constant`.
            if let (Vals::Int(a), Vals::Const(c)) = (&l, &r)
                && let Some(Num::Int(c)) = c.as_num()
            {
                let values: Int64Array = a.iter().map(|x| crate::value::int_arith(op, x?, c)).collect();
                return Ok(Vals::Int(values));
            }
            Vals::Int((0..rows).map(|i| result(i).and_then(|n| n.as_exact_i64())).collect())
        }
        Ty::Float => Vals::Float((0..rows).map(|i| result(i).map(Num::as_f64)).collect::<Float64Array>()),
        _ => Vals::Json((0..rows).map(|i| result(i).map(|n| Cow::Owned(n.to_json()))).collect()),
    })
}
