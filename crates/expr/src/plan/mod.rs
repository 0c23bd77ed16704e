//! A [`Plan`]: an expression checked against a collection schema, ready to evaluate
//! over Arrow batches of that collection.
//!
//! Planning resolves identifiers (schema field, `$meta`, or dynamic key), substitutes
//! templates, folds constants, type-checks every operator and precomputes lookup sets,
//! so evaluation does no name resolution and no type dispatch per row.

mod build;
mod node;
mod operand;
mod pks;
mod spatial;
mod term;

pub(crate) use node::{ArithStep, ColumnRef, InList, JsonNeeds, Needles, Operand, Pred, Ty, need};
pub use pks::Pks;
pub(crate) use spatial::{Relation, SpatialTest};
pub use term::{Bound, IndexTerm, NumKey, TermMatch, TermTarget, TermValue};

use crate::ast::{Ast, PathStep};
use crate::error::Result;
use crate::eval;
use crate::parser::parse;
use crate::template::TemplateValue;
use arrow_array::{BooleanArray, RecordBatch};
use quiver_format::schema::CollectionSchema;
use std::collections::{BTreeSet, HashMap};

/// A typed, checked filter.
#[derive(Clone, Debug)]
pub struct Plan {
    root: Pred,
    columns: BTreeSet<String>,
    json_columns: JsonNeeds,
    primary_keys: Option<Pks>,
}

impl Plan {
    /// Plans a parsed expression against `schema`, resolving `{name}` templates.
    pub fn new(ast: &Ast, schema: &CollectionSchema, templates: &HashMap<String, TemplateValue>) -> Result<Plan> {
        let planner = build::Planner { schema, templates };
        let root = planner.predicate(ast)?;
        let mut columns = BTreeSet::new();
        root.columns(&mut columns);
        let mut json_columns = JsonNeeds::new();
        root.json_columns(&mut json_columns);
        let primary_keys = schema.fields.iter().find(|f| f.is_primary_key).and_then(|pk| pks::primary_keys(&root, &pk.name));
        Ok(Plan { root, columns, json_columns, primary_keys })
    }

    /// Parses and plans `text`; blank text matches every row.
    pub fn compile(text: &str, schema: &CollectionSchema, templates: &HashMap<String, TemplateValue>) -> Result<Plan> {
        Plan::new(&parse(text)?, schema, templates)
    }

    /// Which rows of `batch` match. Rows where the expression is unknown (it involves
    /// a null) do not match; the result has no nulls. The batch needs only the columns
    /// in [`Plan::columns`].
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        let matches = eval::evaluate(&self.root, batch, &self.json_columns)?;
        Ok(BooleanArray::new(matches, None))
    }

    /// The columns (field names, `$meta`) the expression reads.
    pub fn columns(&self) -> BTreeSet<String> {
        self.columns.clone()
    }

    /// The literal primary keys when the whole expression is `pk in [...]` / `pk == v`
    /// (possibly OR-ed), for point lookups. `Some(empty)` means no row can match.
    pub fn primary_keys(&self) -> Option<Pks> {
        self.primary_keys.clone()
    }

    /// The whole filter as one test a scalar or JSON path index can answer, if it is one.
    pub fn index_term(&self) -> Option<IndexTerm> {
        term::index_term(&self.root)
    }

    /// Whether the plan matches every row without reading anything (an empty filter).
    pub fn matches_all(&self) -> bool {
        matches!(self.root, Pred::Const(true))
    }
}

/// The JSON column (a JSON field or `$meta`) and path that `text` names, resolved as a
/// filter naming it is: `meta["a"][0]`, `$meta["k"]`, or a dynamic key `k["x"]`.
/// `None` when `text` is a valid operand of another kind (a literal, a scalar field).
/// Indexes on JSON paths are defined through this, so a filter on the same path finds
/// its index.
pub fn json_path_of(text: &str, schema: &CollectionSchema) -> Result<Option<(String, Vec<PathStep>)>> {
    let planner = build::Planner { schema, templates: &HashMap::new() };
    Ok(match planner.operand(&parse(text)?)? {
        Operand::Json { column, path } => Some((column, path)),
        _ => None,
    })
}
