//! Recognises filters a scalar index can answer on its own: one integer, string or
//! bool field compared with literals (`f == v`, `f != v`, `f < v`, `lo < f <= hi`,
//! `f in [...]`). Float fields are left to evaluation, whose f32 rounding rules an index
//! would have to repeat.

use super::node::{InList, Operand, Pred};
use crate::ast::CmpOp;
use crate::value::Literal;
use quiver_format::schema::DataType;

/// A literal an index compares with.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TermValue {
    Bool(bool),
    Int(i64),
    Str(String),
}

/// One bound of a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    pub value: TermValue,
    pub inclusive: bool,
}

/// What an index must select.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TermMatch {
    /// Rows whose value is one of these (`==` or `in`).
    AnyOf(Vec<TermValue>),
    /// Rows with a value that is none of these (`!=` or `not in`); nulls never match.
    NoneOf(Vec<TermValue>),
    /// Rows whose value lies in the range.
    Range { lower: Option<Bound>, upper: Option<Bound> },
}

/// A whole filter that is one indexable test on one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexTerm {
    pub field: String,
    pub matches: TermMatch,
}

fn indexable(operand: &Operand) -> Option<&str> {
    match operand {
        Operand::Column(c)
            if matches!(
                c.data_type,
                DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::VarChar | DataType::Bool
            ) =>
        {
            Some(&c.name)
        }
        _ => None,
    }
}

fn value(literal: &Literal) -> Option<TermValue> {
    match literal {
        Literal::Bool(b) => Some(TermValue::Bool(*b)),
        Literal::Int(i) => Some(TermValue::Int(*i)),
        Literal::Str(s) => Some(TermValue::Str(s.clone())),
        _ => None,
    }
}

fn compare(field: &str, op: CmpOp, v: TermValue) -> IndexTerm {
    let bound = |inclusive| Some(Bound { value: v.clone(), inclusive });
    let matches = match op {
        CmpOp::Eq => TermMatch::AnyOf(vec![v.clone()]),
        CmpOp::Ne => TermMatch::NoneOf(vec![v.clone()]),
        CmpOp::Lt => TermMatch::Range { lower: None, upper: bound(false) },
        CmpOp::Le => TermMatch::Range { lower: None, upper: bound(true) },
        CmpOp::Gt => TermMatch::Range { lower: bound(false), upper: None },
        CmpOp::Ge => TermMatch::Range { lower: bound(true), upper: None },
    };
    IndexTerm { field: field.to_string(), matches }
}

/// The index term `pred` is, if it is one.
pub(crate) fn index_term(pred: &Pred) -> Option<IndexTerm> {
    match pred {
        Pred::Compare { left, op, right: Operand::Literal(literal) } => {
            let field = indexable(left)?;
            Some(compare(field, *op, value(literal)?))
        }
        Pred::In { operand, list, negated } => {
            let field = indexable(operand)?;
            let mut values: Vec<TermValue> = match list {
                InList::Int(set) => set.iter().map(|i| TermValue::Int(*i)).collect(),
                InList::Str(set) => set.iter().map(|s| TermValue::Str(s.clone())).collect(),
                InList::Bool { has_true, has_false } => {
                    [(*has_true, true), (*has_false, false)].iter().filter(|(has, _)| *has).map(|(_, b)| TermValue::Bool(*b)).collect()
                }
                _ => return None,
            };
            values.sort();
            let matches = if *negated { TermMatch::NoneOf(values) } else { TermMatch::AnyOf(values) };
            Some(IndexTerm { field: field.to_string(), matches })
        }
        // A chained range (`lo < f <= hi`) plans as an AND of two compares on one field.
        Pred::And(children) if children.len() == 2 => {
            let a = index_term(&children[0])?;
            let b = index_term(&children[1])?;
            match (a.matches, b.matches) {
                (TermMatch::Range { lower: Some(lower), upper: None }, TermMatch::Range { lower: None, upper: Some(upper) })
                | (TermMatch::Range { lower: None, upper: Some(upper) }, TermMatch::Range { lower: Some(lower), upper: None })
                    if a.field == b.field =>
                {
                    Some(IndexTerm { field: a.field, matches: TermMatch::Range { lower: Some(lower), upper: Some(upper) } })
                }
                _ => None,
            }
        }
        _ => None,
    }
}
