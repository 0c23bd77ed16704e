//! Milvus filter expressions (`query(filter=...)`, `delete(filter=...)`,
//! `search(filter=...)`): parse once, check against a collection schema, evaluate a
//! column at a time over Arrow batches. No I/O.
//!
//! - [`parse`] turns text into an [`Ast`] (syntax only; errors name the token and its
//!   position).
//! - [`Plan::new`] resolves identifiers against a [`CollectionSchema`] (schema fields,
//!   then dynamic keys in `$meta`), substitutes templates, and type-checks.
//! - [`Plan::evaluate`] returns which rows of a batch match. Comparisons with nulls
//!   (null fields, missing JSON keys) are unknown; unknown propagates through
//!   `and`/`or`/`not` (Kleene logic) and only rows known true match.
//!
//! Any input is safe to hand over: a malformed or unsupported expression, or one nested
//! deeper than [`MAX_DEPTH`] levels, is an [`ExprError`], never a panic or a stack
//! overflow. Chains of `and`/`or` and of arithmetic are flat, so their length is limited
//! only by memory.
//!
//! Batch layout: one column per schema field named after it, `$meta` for dynamic
//! fields, as in `quiver_format::columns`; only the columns in [`Plan::columns`] need
//! be present.
//!
//! [`CollectionSchema`]: quiver_format::schema::CollectionSchema

mod ast;
mod error;
mod eval;
mod hash;
mod json;
mod lexer;
mod like;
mod parser;
mod plan;
mod template;
mod value;

pub use ast::{ArithOp, Ast, CmpOp, MAX_DEPTH, PathStep};
pub use error::{ExprError, Result};
pub use eval::json_path_values;
pub use parser::parse;
pub use plan::{Bound, IndexTerm, NumKey, Pks, Plan, TermMatch, TermTarget, TermValue, json_path_of};
pub use template::TemplateValue;
