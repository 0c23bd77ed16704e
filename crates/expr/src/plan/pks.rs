//! Recognises filters that only name primary keys (`pk in [...]`, `pk == v`, OR-ed
//! together), so callers can look rows up by key instead of scanning.

use super::node::{InList, Operand, Pred};
use crate::ast::CmpOp;
use crate::value::{Literal, exact_i64};

/// The literal primary keys a filter selects, sorted and without duplicates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pks {
    Int(Vec<i64>),
    Str(Vec<String>),
}

/// The keys `pred` selects when it is nothing but primary-key equality tests on the
/// column `pk`.
pub(crate) fn primary_keys(pred: &Pred, pk: &str) -> Option<Pks> {
    let mut ints = Vec::new();
    let mut strs = Vec::new();
    collect(pred, pk, &mut ints, &mut strs)?;
    match (ints.is_empty(), strs.is_empty()) {
        (_, true) => {
            ints.sort_unstable();
            ints.dedup();
            Some(Pks::Int(ints))
        }
        (true, false) => {
            strs.sort_unstable();
            strs.dedup();
            Some(Pks::Str(strs))
        }
        (false, false) => None,
    }
}

fn collect(pred: &Pred, pk: &str, ints: &mut Vec<i64>, strs: &mut Vec<String>) -> Option<()> {
    let is_pk = |operand: &Operand| matches!(operand, Operand::Column(c) if c.name == pk);
    match pred {
        Pred::Or(children) => children.iter().try_for_each(|child| collect(child, pk, ints, strs)),
        Pred::In { operand, list, negated: false } if is_pk(operand) => {
            match list {
                InList::Int(set) => ints.extend(set),
                InList::Str(set) => strs.extend(set.iter().cloned()),
                _ => return None,
            }
            Some(())
        }
        Pred::Compare { left, op: CmpOp::Eq, right: Operand::Literal(literal) } if is_pk(left) => {
            match literal {
                Literal::Int(i) => ints.push(*i),
                // `pk == 1.5` selects nothing, which an empty contribution says.
                Literal::Float(f) => ints.extend(exact_i64(*f)),
                Literal::Str(s) => strs.push(s.clone()),
                _ => return None,
            }
            Some(())
        }
        _ => None,
    }
}
