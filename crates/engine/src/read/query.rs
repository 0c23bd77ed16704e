//! Reads: filter, project, count, limit and offset over growing and sealed segments at a
//! read timestamp, honouring deletes and returning one row per primary key (see
//! [`latest`](super::latest)).

use super::latest::latest_in_key_order;
use crate::catalog::model::Collection;
use crate::data::{CollectionView, Segment, pk_values as pk_column};
use crate::error::{EngineError, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow_select::concat::concat;
use quiver_base::PartitionId;
use quiver_expr::{Plan, TemplateValue};
use quiver_format::columns::{META_COLUMN, TS_COLUMN};
use quiver_format::logs::PkColumn;
use quiver_format::schema::{CollectionSchema, FieldSchema};
use std::collections::HashMap;
use std::sync::Arc;

/// The output name Milvus uses for a count.
pub const COUNT_STAR: &str = "count(*)";

#[derive(Clone, Debug, Default)]
pub struct QueryRequest {
    pub filter: String,
    pub templates: HashMap<String, TemplateValue>,
    pub output_fields: Vec<String>,
    /// `None`: every partition.
    pub partitions: Option<Vec<PartitionId>>,
    pub limit: Option<usize>,
    pub offset: usize,
}

/// One result column: a schema field, or the dynamic `$meta` column (`field` = None).
#[derive(Clone, Debug)]
pub struct OutputColumn {
    pub field: Option<FieldSchema>,
    pub array: ArrayRef,
}

#[derive(Clone, Debug, Default)]
pub struct QueryOutput {
    pub columns: Vec<OutputColumn>,
    /// Set for `count(*)` queries.
    pub count: Option<u64>,
    /// Names the client asked for: fields, and dynamic keys it wants from `$meta`.
    pub output_fields: Vec<String>,
    /// The timestamp the query read the collection at (Milvus's `session_ts`).
    pub read_ts: u64,
}

/// Which columns a query returns.
#[derive(Clone, Debug, Default)]
pub(crate) struct Projection {
    pub fields: Vec<FieldSchema>,
    pub meta: bool,
    pub count: bool,
    pub names: Vec<String>,
}

pub(crate) fn resolve_output(schema: &CollectionSchema, requested: &[String]) -> Result<Projection> {
    let mut projection = Projection::default();
    let mut wanted: Vec<&FieldSchema> = vec![schema.primary_field()];
    for name in requested.iter().map(|n| n.trim()) {
        match name {
            "" => continue,
            "*" => {
                wanted.extend(schema.fields.iter());
                projection.meta |= schema.enable_dynamic_field;
            }
            COUNT_STAR => projection.count = true,
            META_COLUMN if schema.enable_dynamic_field => projection.meta = true,
            _ => match schema.field(name) {
                Some(field) => wanted.push(field),
                None if schema.enable_dynamic_field => {
                    projection.meta = true;
                    projection.names.push(name.to_string());
                }
                None => return Err(EngineError::InvalidParameter(format!("field {name} not exist"))),
            },
        }
        if name != "*" && name != COUNT_STAR && schema.field(name).is_some() {
            projection.names.push(name.to_string());
        }
    }
    if projection.count && requested.iter().any(|n| n.trim() != COUNT_STAR && !n.trim().is_empty()) {
        return Err(EngineError::InvalidParameter("count(*) cannot be combined with other output fields".to_string()));
    }
    projection.fields = schema.fields.iter().filter(|f| wanted.iter().any(|w| w.name == f.name)).cloned().collect();
    Ok(projection)
}

/// Run a query over a view of the collection's rows as of `read_ts`.
pub fn query(collection: &Collection, view: &CollectionView, request: &QueryRequest, read_ts: u64) -> Result<QueryOutput> {
    let plan = compile(&request.filter, collection, &request.templates).map_err(unknown_function_at_retrieve)?;
    let projection = resolve_output(&collection.schema, &request.output_fields)?;
    let pk_name = &collection.schema.primary_field().name;
    let partitions = request.partitions.as_deref();
    if projection.count {
        let mut count = 0u64;
        for_each_match(view, plan.as_ref(), pk_name, partitions, read_ts, |_, mask| {
            count += mask.true_count() as u64;
            Ok(true)
        })?;
        return Ok(QueryOutput { count: Some(count), output_fields: vec![COUNT_STAR.to_string()], read_ts, ..Default::default() });
    }
    if plan.is_none() && request.limit.is_none() {
        return Err(EngineError::InvalidParameter("empty expression should be used with limit".to_string()));
    }
    let mut names: Vec<&str> = projection.fields.iter().map(|f| f.name.as_str()).collect();
    if projection.meta {
        names.push(META_COLUMN);
    }
    // Phase 1: the matching rows' primary keys and where each row lives. Batches are
    // reference counted, so keeping them past the lock copies nothing.
    let mut batches: Vec<RecordBatch> = Vec::new();
    let mut pks: Vec<ArrayRef> = Vec::new();
    let mut timestamps: Vec<ArrayRef> = Vec::new();
    let mut locations: Vec<(usize, usize)> = Vec::new();
    for_each_match(view, plan.as_ref(), pk_name, partitions, read_ts, |batch, mask| {
        if mask.true_count() > 0 {
            let index = batches.len();
            batches.push(project(batch, &names)?);
            pks.push(arrow_select::filter::filter(batch.column_by_name(pk_name).expect("pk column"), mask)?);
            timestamps.push(Arc::clone(batch.column_by_name(TS_COLUMN).expect("stored batches have $ts")));
            locations.extend(mask.values().set_indices().map(|row| (index, row)));
        }
        Ok(true)
    })?;
    // Phase 2: primary key order, as Milvus merges results (query_iterator's cursor,
    // `pk > last`, relies on it), one row per key; then gather only the rows in the window.
    let window: Vec<(usize, usize)> = if locations.is_empty() {
        Vec::new()
    } else {
        let all: Vec<&dyn Array> = pks.iter().map(|a| a.as_ref()).collect();
        let keys = concat(&all)?;
        let wanted = request.limit.map(|l| l.saturating_add(request.offset));
        let timestamp = |position: u32| {
            let (batch, row) = locations[position as usize];
            timestamps[batch].as_primitive::<UInt64Type>().value(row)
        };
        let order = latest_in_key_order(&keys, timestamp, wanted)?;
        order.iter().skip(request.offset).map(|&i| locations[i as usize]).collect()
    };
    let mut columns = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let array = if window.is_empty() {
            arrow_array::new_empty_array(&empty_type(collection, name))
        } else {
            let sources: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
            arrow_select::interleave::interleave(&sources, &window)?
        };
        columns.push(OutputColumn { field: collection.schema.field(name).cloned(), array });
    }
    Ok(QueryOutput { columns, count: None, output_fields: projection.names, read_ts })
}

/// The plan of a filter; `None` for an empty filter (every row).
/// An unknown function in a query filter, refused where Milvus refuses it (see
/// [`EngineError::RetrievePlan`]); other errors as they are.
fn unknown_function_at_retrieve(error: EngineError) -> EngineError {
    match error {
        EngineError::QueryPlan { source: source @ quiver_expr::ExprError::UnknownFunction { .. }, .. } => {
            EngineError::RetrievePlan { source }
        }
        other => other,
    }
}

pub(crate) fn compile(filter: &str, collection: &Collection, templates: &HashMap<String, TemplateValue>) -> Result<Option<Plan>> {
    if filter.trim().is_empty() {
        return Ok(None);
    }
    Plan::compile(filter, &collection.schema, templates)
        .map(Some)
        .map_err(|source| EngineError::QueryPlan { filter: filter.to_string(), source })
}

fn empty_type(collection: &Collection, name: &str) -> arrow_schema::DataType {
    quiver_format::columns::arrow_schema(&collection.schema)
        .field_with_name(name)
        .map(|f| f.data_type().clone())
        .unwrap_or(arrow_schema::DataType::Utf8)
}

fn project(batch: &RecordBatch, names: &[&str]) -> Result<RecordBatch> {
    let indices: Vec<usize> = names.iter().filter_map(|n| batch.schema().index_of(n).ok()).collect();
    Ok(batch.project(&indices)?)
}

/// Call `visit(batch, mask)` for every stored batch in scope, where `mask` selects the
/// rows visible at `read_ts` that match `plan`. `visit` returns false to stop early.
pub(crate) fn for_each_match(
    state: &CollectionView,
    plan: Option<&Plan>,
    pk_name: &str,
    partitions: Option<&[PartitionId]>,
    read_ts: u64,
    mut visit: impl FnMut(&RecordBatch, &BooleanArray) -> Result<bool>,
) -> Result<()> {
    for segment in &state.segments {
        if partitions.is_some_and(|ps| !ps.contains(&segment.partition)) {
            continue;
        }
        let indexed = plan.and_then(|p| index_mask(segment, p));
        let mut base = 0;
        for batch in &segment.batches {
            let visible = state.deletes.visible(batch, pk_name, segment.partition, read_ts);
            let rows = batch.num_rows();
            let mask = match (plan, &indexed) {
                (None, _) => visible,
                (Some(_), Some(selected)) => {
                    arrow_arith::boolean::and(&visible, &BooleanArray::from(selected[base..base + rows].to_vec()))?
                }
                (Some(plan), None) => arrow_arith::boolean::and(&visible, &plan.evaluate(batch)?)?,
            };
            base += rows;
            if !visit(batch, &mask)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The rows of a segment a filter selects, answered by a scalar index when the filter
/// is one test on an indexed field or JSON path that the index holds every row for.
pub(crate) fn index_mask(segment: &Segment, plan: &Plan) -> Option<Vec<bool>> {
    let term = plan.index_term()?;
    let (_, index) = segment.scalar.iter().find(|(target, _)| target.answers(&term.target, &term.matches))?;
    Some(index.select(&term.matches, segment.rows))
}

/// Primary keys of the rows matching `plan` now (for deletes by filter).
pub fn matching_pks(
    collection: &Collection,
    state: &CollectionView,
    plan: &Plan,
    partition: Option<PartitionId>,
    read_ts: u64,
) -> Result<PkColumn> {
    let pk_name = &collection.schema.primary_field().name;
    let scope = partition.map(|p| vec![p]);
    let mut out: Option<PkColumn> = None;
    for_each_match(state, Some(plan), pk_name, scope.as_deref(), read_ts, |batch, mask| {
        let selected = arrow_select::filter::filter(batch.column_by_name(pk_name).expect("pk column"), mask)?;
        let pks = pk_column(&selected);
        match (&mut out, pks) {
            (None, pks) => out = Some(pks),
            (Some(PkColumn::Int(all)), PkColumn::Int(more)) => all.extend(more),
            (Some(PkColumn::Str(all)), PkColumn::Str(more)) => all.extend(more),
            _ => {}
        }
        Ok(true)
    })?;
    Ok(out.unwrap_or(PkColumn::Int(Vec::new())))
}
