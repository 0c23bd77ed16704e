//! The typed plan: predicates over operands, every field resolved and every operand's
//! type known.
//!
//! The plan mirrors the tree's shape (flat `and`/`or` and arithmetic chains, at most
//! [`crate::MAX_DEPTH`] levels plus one), so its recursive passes are bounded too.
//!
//! Invariant relied on by evaluation: an operand of static type [`Ty::Int`] evaluates
//! to Int64 values, [`Ty::Float`] to Float64, [`Ty::Str`] to strings, [`Ty::Bool`] to
//! booleans, [`Ty::Json`] to per-row JSON values, [`Ty::Array`] to a list column, and a
//! literal stays a constant. The planner builds [`InList`] and [`Needles`] to match
//! their operand's type.

use super::spatial::SpatialTest;
use crate::ast::{ArithOp, CmpOp, PathStep};
use crate::hash::FastSet;
use crate::like::LikePattern;
use crate::value::Literal;
use quiver_format::schema::DataType;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A predicate: yields true, false or unknown per row.
#[derive(Clone, Debug)]
pub(crate) enum Pred {
    Const(bool),
    And(Vec<Pred>),
    Or(Vec<Pred>),
    Not(Box<Pred>),
    /// A literal, if any, is on the right.
    Compare {
        left: Operand,
        op: CmpOp,
        right: Operand,
    },
    In {
        operand: Operand,
        list: InList,
        negated: bool,
    },
    Like {
        operand: Operand,
        pattern: LikePattern,
    },
    IsNull {
        operand: Operand,
        negated: bool,
    },
    /// `array_contains`/`_all`/`_any` and the `json_` spellings (`array_contains(x, v)`
    /// is `_any` of `[v]`). Needles that can never equal an element (1.5 in an Int64
    /// array) are dropped and set `unmatchable`, which makes `_all` false.
    Contains {
        operand: Operand,
        all: bool,
        needles: Needles,
        unmatchable: bool,
    },
    /// `exists column[path]`: the key is present (even when its value is null).
    Exists {
        column: String,
        path: Vec<PathStep>,
    },
    /// A bare Bool field or JSON path used as a predicate.
    Truthy(Operand),
    /// `ST_*(field, ...)` on a Geometry field.
    Spatial {
        column: String,
        test: SpatialTest,
    },
}

/// A schema field read as a column.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ColumnRef {
    pub name: String,
    pub data_type: DataType,
    /// The element type of an Array field.
    pub element: Option<DataType>,
}

#[derive(Clone, Debug)]
pub(crate) enum Operand {
    /// A scalar or Array field (JSON fields are `Json` with an empty path).
    Column(ColumnRef),
    /// A JSON field or `$meta`, followed by a path (possibly empty).
    Json {
        column: String,
        path: Vec<PathStep>,
    },
    /// `array_field[index]`.
    Element {
        column: ColumnRef,
        index: u64,
    },
    /// `array_length(x)` of an Array field or JSON path.
    Length(Box<Operand>),
    Literal(Literal),
    /// `first step₁ step₂ ...`, applied left to right; never holds two literals in a
    /// row at its start (those are folded).
    Arith {
        first: Box<Operand>,
        steps: Vec<ArithStep>,
    },
}

/// One step of an arithmetic chain: the value so far `op operand`.
#[derive(Clone, Debug)]
pub(crate) struct ArithStep {
    pub op: ArithOp,
    pub operand: Operand,
    /// The type of the value after this step.
    pub ty: Ty,
}

/// The static type of an operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    Bool,
    Int,
    Float,
    Str,
    /// Dynamically typed: decided per row.
    Json,
    /// An Array field with its element type.
    Array(DataType),
    /// A list literal.
    List,
    /// A Geometry field: only the spatial functions read it.
    Geometry,
}

/// The static type of a scalar schema type.
pub(crate) fn scalar_ty(data_type: DataType) -> Ty {
    match data_type {
        DataType::Bool => Ty::Bool,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => Ty::Int,
        DataType::Float | DataType::Double => Ty::Float,
        DataType::VarChar => Ty::Str,
        DataType::Geometry => Ty::Geometry,
        // Vectors never reach a plan; JSON fields are `Operand::Json`.
        _ => Ty::Json,
    }
}

impl Operand {
    pub fn ty(&self) -> Ty {
        match self {
            Operand::Column(c) => match (c.data_type, c.element) {
                (DataType::Array, Some(element)) => Ty::Array(element),
                (data_type, _) => scalar_ty(data_type),
            },
            Operand::Json { .. } => Ty::Json,
            Operand::Element { column, .. } => scalar_ty(column.element.unwrap_or(DataType::Int64)),
            Operand::Length(_) => Ty::Int,
            Operand::Literal(l) => match l {
                Literal::Bool(_) => Ty::Bool,
                Literal::Int(_) => Ty::Int,
                Literal::Float(_) => Ty::Float,
                Literal::Str(_) => Ty::Str,
                Literal::List(_) => Ty::List,
                Literal::Json(_) => Ty::Json,
            },
            Operand::Arith { first, steps } => steps.last().map_or_else(|| first.ty(), |step| step.ty),
        }
    }

    /// Milvus's name for the operand's type, for messages.
    pub fn type_name(&self) -> String {
        match self {
            Operand::Column(c) => match c.element {
                Some(element) => format!("Array of {}", element.name()),
                None => c.data_type.name().to_string(),
            },
            Operand::Element { column, .. } => column.element.unwrap_or(DataType::Int64).name().to_string(),
            Operand::Literal(l) => l.type_name().to_string(),
            other => match other.ty() {
                Ty::Int => "Int64".into(),
                Ty::Float => "Double".into(),
                _ => "JSON".into(),
            },
        }
    }

    /// Whether values are Float32, so literals compared with them are rounded to f32
    /// first (Milvus casts the literal to the column's type).
    pub fn is_float32(&self) -> bool {
        match self {
            Operand::Column(c) => c.data_type == DataType::Float,
            Operand::Element { column, .. } => column.element == Some(DataType::Float),
            _ => false,
        }
    }

    fn collect_columns(&self, out: &mut BTreeSet<String>) {
        match self {
            Operand::Column(c) | Operand::Element { column: c, .. } => {
                out.insert(c.name.clone());
            }
            Operand::Json { column, .. } => {
                out.insert(column.clone());
            }
            Operand::Length(inner) => inner.collect_columns(out),
            Operand::Arith { first, steps } => {
                first.collect_columns(out);
                steps.iter().for_each(|step| step.operand.collect_columns(out));
            }
            Operand::Literal(_) => {}
        }
    }

    fn collect_json(&self, out: &mut JsonNeeds) {
        match self {
            Operand::Json { column, path } => need(out, column, path),
            Operand::Length(inner) => inner.collect_json(out),
            Operand::Arith { first, steps } => {
                first.collect_json(out);
                steps.iter().for_each(|step| step.operand.collect_json(out));
            }
            _ => {}
        }
    }
}

/// Per JSON column the plan reads, the top-level keys its paths start with, or `None`
/// when some use needs the whole document. Evaluation parses only those keys.
pub(crate) type JsonNeeds = BTreeMap<String, Option<BTreeSet<String>>>;

pub(crate) fn need(out: &mut JsonNeeds, column: &str, path: &[PathStep]) {
    let key = match path.first() {
        Some(PathStep::Key(key)) => Some(key.clone()),
        // An index looks up key "3" in an object, so that key is needed.
        Some(PathStep::Index(i)) => Some(i.to_string()),
        None => None,
    };
    let entry = out.entry(column.to_string()).or_insert_with(|| Some(BTreeSet::new()));
    match (entry.as_mut(), key) {
        (Some(keys), Some(key)) => {
            keys.insert(key);
        }
        (_, None) => *entry = None,
        (None, Some(_)) => {}
    }
}

/// The values of an `in` list, typed after the operand.
#[derive(Clone, Debug)]
pub(crate) enum InList {
    Int(FastSet<i64>),
    /// Sorted, NaN-free, -0.0 folded into 0.0.
    Float(Vec<f64>),
    Str(FastSet<String>),
    Bool {
        has_true: bool,
        has_false: bool,
    },
    Json(Vec<Value>),
}

/// The values `array_contains*` looks for, typed after the array's elements.
#[derive(Clone, Debug)]
pub(crate) enum Needles {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Str(Vec<String>),
    Bool(Vec<bool>),
    Json(Vec<Value>),
}

impl Pred {
    fn operands(&self) -> Vec<&Operand> {
        match self {
            Pred::Compare { left, right, .. } => vec![left, right],
            Pred::In { operand, .. }
            | Pred::Like { operand, .. }
            | Pred::IsNull { operand, .. }
            | Pred::Contains { operand, .. }
            | Pred::Truthy(operand) => vec![operand],
            _ => Vec::new(),
        }
    }

    fn children(&self) -> Vec<&Pred> {
        match self {
            Pred::And(children) | Pred::Or(children) => children.iter().collect(),
            Pred::Not(inner) => vec![inner],
            _ => Vec::new(),
        }
    }

    /// Every column the predicate reads.
    pub fn columns(&self, out: &mut BTreeSet<String>) {
        if let Pred::Exists { column, .. } | Pred::Spatial { column, .. } = self {
            out.insert(column.clone());
        }
        self.operands().into_iter().for_each(|o| o.collect_columns(out));
        self.children().into_iter().for_each(|c| c.columns(out));
    }

    /// The JSON columns read, and which of their keys (see [`JsonNeeds`]).
    pub fn json_columns(&self, out: &mut JsonNeeds) {
        if let Pred::Exists { column, path } = self {
            need(out, column, path);
        }
        self.operands().into_iter().for_each(|o| o.collect_json(out));
        self.children().into_iter().for_each(|c| c.json_columns(out));
    }
}
