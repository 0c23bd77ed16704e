//! Vector search: per segment, the segment's index (or exact search when it has none,
//! as for growing data), restricted to the rows that are visible and match the filter;
//! then a merge of every segment's hits into each query's top-k, ordered as Milvus
//! orders them (L2/HAMMING/JACCARD ascending, IP/COSINE descending), with one hit per
//! primary key (see [`latest`](super::latest)).

use super::latest::keep_latest_of;
use super::query::{OutputColumn, QueryRequest, compile, resolve_output};
use crate::catalog::model::{Collection, IndexDefinition};
use crate::data::{CollectionView, Segment};
use crate::error::{EngineError, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int8Type, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use quiver_base::PartitionId;
use quiver_expr::{Plan, TemplateValue};
use quiver_format::columns::{META_COLUMN, SparseParts, TS_COLUMN, bf16_to_f32, f16_to_f32, sparse_parts};
use quiver_format::logs::PkColumn;
use quiver_format::schema::{DataType, FieldSchema};
use quiver_index::{Hit, Metric, SearchParams, SparseRows, Vectors, brute_force, parallel_map};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

/// Owned vectors, row-major: the queries of one search request, or the rows of a
/// segment an index is built from. Half-precision and int8 rows are widened to f32.
#[derive(Clone, Debug)]
pub enum QueryVectors {
    Float {
        dim: usize,
        data: Vec<f32>,
    },
    Binary {
        dim_bits: usize,
        data: Vec<u8>,
    },
    /// Sparse rows in CSR form (`offsets` has one entry more than there are rows).
    Sparse {
        offsets: Vec<i32>,
        indices: Vec<u32>,
        values: Vec<f32>,
    },
}

impl QueryVectors {
    pub fn as_vectors(&self) -> Vectors<'_> {
        match self {
            QueryVectors::Float { dim, data } => Vectors::Float { dim: *dim, data },
            QueryVectors::Binary { dim_bits, data } => Vectors::Binary { dim_bits: *dim_bits, data },
            QueryVectors::Sparse { offsets, indices, values } => Vectors::Sparse(SparseRows { offsets, indices, values }),
        }
    }

    /// Sparse rows copied out of their Arrow column.
    fn sparse(parts: &SparseParts) -> QueryVectors {
        let (start, end) = (parts.offsets[0] as usize, *parts.offsets.last().expect("list offsets") as usize);
        QueryVectors::Sparse {
            offsets: parts.offsets.iter().map(|o| o - parts.offsets[0]).collect(),
            indices: parts.indices[start..end].to_vec(),
            values: parts.values[start..end].to_vec(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct SearchRequest {
    /// The vector field; optional when the collection has exactly one.
    pub anns_field: Option<String>,
    pub vectors: QueryVectors,
    pub nq: usize,
    pub limit: usize,
    pub offset: usize,
    pub metric: Option<String>,
    pub params: SearchParams,
    pub filter: String,
    pub templates: HashMap<String, TemplateValue>,
    pub output_fields: Vec<String>,
    pub partitions: Option<Vec<PartitionId>>,
    pub group_by: Option<String>,
    pub group_size: usize,
    /// A search iterator's next page: only hits strictly farther than this score (the
    /// last hit of the page before).
    pub after_score: Option<f32>,
}

#[derive(Clone, Debug)]
pub struct SearchOutput {
    /// Hits per query.
    pub topks: Vec<usize>,
    /// Scores of every hit, query after query.
    pub scores: Vec<f32>,
    /// Primary keys of every hit.
    pub pks: ArrayRef,
    /// Requested output columns, aligned with `pks`.
    pub columns: Vec<OutputColumn>,
    pub output_fields: Vec<String>,
    /// Values of the group-by field, aligned with `pks`.
    pub group_by: Option<OutputColumn>,
    /// The timestamp the search read the collection at (Milvus's `session_ts`).
    pub read_ts: u64,
    /// The metric the scores are in.
    pub metric: Metric,
}

/// A hit before it is resolved to rows: which segment, which row of it.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    score: f32,
    segment: usize,
    row: u32,
}

/// Search a view of the collection's rows as of `read_ts`.
pub fn search(collection: &Collection, view: &CollectionView, request: &SearchRequest, read_ts: u64) -> Result<SearchOutput> {
    let field = vector_field(collection, request.anns_field.as_deref())?;
    let metric = resolve_metric(collection, field, request.metric.as_deref())?;
    let graph = field.data_type != DataType::SparseFloatVector
        && collection.indexes.iter().any(|d| d.field_id == field.id && matches!(d.index_type.as_str(), "HNSW" | "DISKANN" | "AUTOINDEX"));
    // As in Milvus, a plain graph search needs ef >= limit; a range search does not.
    if let Some(ef) = request.params.ef.filter(|&ef| graph && ef < request.limit && request.params.radius.is_none()) {
        return Err(EngineError::InvalidParameter(format!("ef ({ef}) must be at least the limit ({})", request.limit)));
    }
    check_dim(field, &request.vectors)?;
    let request: Cow<SearchRequest> = match request.after_score {
        Some(bound) => Cow::Owned(SearchRequest { params: past(&request.params, metric, bound), ..request.clone() }),
        None => Cow::Borrowed(request),
    };
    let plan = compile(&request.filter, collection, &request.templates)?;
    let projection = resolve_output(&collection.schema, &request.output_fields)?;
    let group_field = match &request.group_by {
        Some(name) => Some(
            collection
                .schema
                .field(name)
                .filter(|f| !f.data_type.is_vector() && !matches!(f.data_type, DataType::Json | DataType::Array | DataType::Geometry))
                .ok_or_else(|| EngineError::InvalidParameter(format!("group_by field {name} must be a scalar field of the collection")))?
                .clone(),
        ),
        None => None,
    };
    run(collection, view, field, metric, plan.as_ref(), &request, &projection.fields, projection.meta, group_field.as_ref(), read_ts).map(
        |mut out| {
            out.output_fields = projection.names.clone();
            out
        },
    )
}

/// The parameters of a search iterator's page after `bound`: a range search whose inner
/// bound excludes `bound` and everything closer (tightening the caller's own, if any),
/// and whose outer bound is the caller's radius, else none.
fn past(params: &SearchParams, metric: Metric, bound: f32) -> SearchParams {
    let (inner, radius, tighter): (f32, f32, fn(f32, f32) -> bool) = if metric.higher_is_closer() {
        // IP, COSINE: `radius < score <= range_filter`.
        (bound.next_down(), f32::NEG_INFINITY, |own, inner| own < inner)
    } else {
        // L2, HAMMING, JACCARD: `range_filter <= score < radius`.
        (bound.next_up(), f32::INFINITY, |own, inner| own > inner)
    };
    SearchParams {
        radius: Some(params.radius.unwrap_or(radius)),
        range_filter: Some(params.range_filter.filter(|&own| tighter(own, inner)).unwrap_or(inner)),
        ..params.clone()
    }
}

fn vector_field<'a>(collection: &'a Collection, name: Option<&str>) -> Result<&'a FieldSchema> {
    let vectors: Vec<&FieldSchema> = collection.schema.fields.iter().filter(|f| f.data_type.is_vector()).collect();
    match name.filter(|n| !n.is_empty()) {
        Some(name) => vectors.into_iter().find(|f| f.name == name).ok_or_else(|| {
            EngineError::InvalidParameter(format!(
                "failed to create query plan: failed to get field schema by name: fieldName({name}) not found: invalid parameter"
            ))
        }),
        None if vectors.len() == 1 => Ok(vectors[0]),
        None => Err(EngineError::InvalidParameter("multiple anns_fields exist, please specify a anns_field in search_params".to_string())),
    }
}

fn resolve_metric(collection: &Collection, field: &FieldSchema, requested: Option<&str>) -> Result<Metric> {
    let indexed: Option<&IndexDefinition> = collection.indexes.iter().find(|d| d.field_id == field.id);
    let default = match field.data_type {
        DataType::BinaryVector => "HAMMING",
        DataType::SparseFloatVector => "IP",
        _ => "COSINE",
    };
    let expected = indexed.map(|d| d.metric_type.as_str());
    let name = match (requested.filter(|m| !m.is_empty()), expected) {
        (Some(asked), Some(index)) if !asked.eq_ignore_ascii_case(index) => {
            return Err(EngineError::InvalidParameter(format!(
                "metric type not match: invalid parameter[expected={index}][actual={asked}]"
            )));
        }
        (Some(asked), _) => asked.to_string(),
        (None, Some(index)) => index.to_string(),
        (None, None) => default.to_string(),
    };
    let metric = Metric::parse(&name).map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
    let sparse = field.data_type == DataType::SparseFloatVector;
    if sparse && metric != Metric::Ip {
        return Err(EngineError::InvalidParameter(format!(
            "metric type not match: invalid parameter[expected=IP][actual={name}]: only IP is supported for sparse float vector field {}",
            field.name
        )));
    }
    if metric.is_binary() != (field.data_type == DataType::BinaryVector) {
        return Err(EngineError::InvalidParameter(format!(
            "metric type {name} is not supported for field {} of type {}",
            field.name,
            field.data_type.name()
        )));
    }
    Ok(metric)
}

fn check_dim(field: &FieldSchema, vectors: &QueryVectors) -> Result<()> {
    let is_sparse = matches!(vectors, QueryVectors::Sparse { .. });
    if is_sparse != (field.data_type == DataType::SparseFloatVector) {
        return Err(EngineError::InvalidParameter(format!(
            "the query vectors are not of the type of field {} ({})",
            field.name,
            field.data_type.name()
        )));
    }
    if is_sparse {
        // A sparse row's dimension is its largest index: any is fine.
        return Ok(());
    }
    let dim = field.dim().unwrap_or(0) as usize;
    if vectors.as_vectors().dim() != dim {
        return Err(EngineError::InvalidParameter(format!(
            "vector dimension mismatch, expected vector size {dim}, actual {} (field {})",
            vectors.as_vectors().dim(),
            field.name
        )));
    }
    Ok(())
}

/// Which of a segment's rows a search may return, or `None` for all of them.
fn allowed_rows(segment: &Segment, state: &CollectionView, plan: Option<&Plan>, pk_name: &str, read_ts: u64) -> Result<Option<Vec<bool>>> {
    let everything_visible = plan.is_none() && state.deletes.is_empty() && segment.max_ts <= read_ts;
    if everything_visible {
        return Ok(None);
    }
    let indexed = plan.and_then(|p| super::query::index_mask(segment, p));
    let mut allow = Vec::with_capacity(segment.rows);
    for batch in &segment.batches {
        let visible = state.deletes.visible(batch, pk_name, segment.partition, read_ts);
        let start = allow.len();
        match (plan, &indexed) {
            (Some(plan), None) => allow.extend(arrow_arith::boolean::and(&visible, &plan.evaluate(batch)?)?.values().iter()),
            (Some(_), Some(selected)) => {
                allow.extend(visible.values().iter().zip(&selected[start..start + batch.num_rows()]).map(|(v, s)| v && *s))
            }
            (None, _) => allow.extend(visible.values().iter()),
        }
    }
    Ok(Some(allow))
}

/// A batch's vectors as the index crate takes them (half-precision and int8 widened to
/// f32).
fn batch_vectors(field: &FieldSchema, array: &ArrayRef) -> Result<QueryVectors> {
    let dim = field.dim().unwrap_or(0) as usize;
    Ok(match field.data_type {
        DataType::FloatVector => {
            let list = array.as_fixed_size_list();
            let values = list.values().as_primitive::<Float32Type>();
            let start = list.offset() * dim;
            QueryVectors::Float { dim, data: values.values()[start..start + list.len() * dim].to_vec() }
        }
        DataType::Int8Vector => {
            let list = array.as_fixed_size_list();
            let values = list.values().as_primitive::<Int8Type>();
            let start = list.offset() * dim;
            QueryVectors::Float { dim, data: values.values()[start..start + list.len() * dim].iter().map(|&v| v as f32).collect() }
        }
        DataType::BinaryVector => {
            let binary = array.as_fixed_size_binary();
            let width = dim / 8;
            let start = binary.offset() * width;
            QueryVectors::Binary { dim_bits: dim, data: binary.value_data()[start..start + binary.len() * width].to_vec() }
        }
        DataType::Float16Vector | DataType::BFloat16Vector => {
            let binary = array.as_fixed_size_binary();
            let bf16 = field.data_type == DataType::BFloat16Vector;
            let mut out = Vec::with_capacity(binary.len() * dim);
            for row in 0..binary.len() {
                for pair in binary.value(row).chunks_exact(2) {
                    let bits = u16::from_le_bytes([pair[0], pair[1]]);
                    out.push(if bf16 { bf16_to_f32(bits) } else { f16_to_f32(bits) });
                }
            }
            QueryVectors::Float { dim, data: out }
        }
        DataType::SparseFloatVector => QueryVectors::sparse(&sparse_parts(array.as_ref())?),
        other => return Err(EngineError::InvalidParameter(format!("{} is not a vector type", other.name()))),
    })
}

fn better(metric: Metric) -> impl Fn(&Candidate, &Candidate) -> Ordering {
    move |a, b| {
        let order = a.score.partial_cmp(&b.score).unwrap_or(Ordering::Equal);
        if metric.higher_is_closer() { order.reverse() } else { order }
    }
}

/// A search spreads its segments over threads when they hold at least this many rows
/// together: below it, starting threads costs more than the graph walks they split.
const PARALLEL_SEARCH_ROWS: usize = 50_000;

/// Threads one search may use across segments: every core (a sequential client otherwise
/// leaves all but one idle; concurrent searches just share them).
fn search_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[allow(clippy::too_many_arguments)]
fn run(
    collection: &Collection,
    state: &CollectionView,
    field: &FieldSchema,
    metric: Metric,
    plan: Option<&Plan>,
    request: &SearchRequest,
    output: &[FieldSchema],
    with_meta: bool,
    group_field: Option<&FieldSchema>,
    read_ts: u64,
) -> Result<SearchOutput> {
    let pk_name = collection.schema.primary_field().name.clone();
    let queries = request.vectors.as_vectors();
    let nq = request.nq.max(1);
    let per_group = request.group_size.max(1);
    // Every segment returns enough candidates for the merge (and for grouping).
    let wanted = (request.limit + request.offset) * if group_field.is_some() { per_group * 4 } else { 1 };
    let segments: Vec<&Segment> = state
        .segments
        .iter()
        .map(|s| s.as_ref())
        .filter(|s| s.rows > 0 && request.partitions.as_ref().is_none_or(|ps| ps.contains(&s.partition)))
        .collect();
    // Row addressing: (segment, row) -> (batch number in `sources`, row in batch).
    let mut sources: Vec<&RecordBatch> = Vec::new();
    let mut first_batch: Vec<usize> = Vec::with_capacity(segments.len());
    for segment in &segments {
        first_batch.push(sources.len());
        sources.extend(segment.batches.iter());
    }
    let locate = |c: &Candidate| -> (usize, usize) {
        let segment = segments[c.segment];
        let mut row = c.row as usize;
        for (i, batch) in segment.batches.iter().enumerate() {
            if row < batch.num_rows() {
                return (first_batch[c.segment] + i, row);
            }
            row -= batch.num_rows();
        }
        unreachable!("a hit's row lies inside its segment")
    };
    let gather = |name: &str, picks: &[(usize, usize)]| -> Result<ArrayRef> {
        let columns: Vec<ArrayRef> = sources.iter().map(|b| b.column_by_name(name).expect("stored column").clone()).collect();
        let refs: Vec<&dyn Array> = columns.iter().map(|a| a.as_ref()).collect();
        Ok(arrow_select::interleave::interleave(&refs, picks)?)
    };
    let searchable_rows: usize = segments.iter().map(|s| s.rows).sum();
    let threads = if segments.len() > 1 && searchable_rows >= PARALLEL_SEARCH_ROWS { search_threads() } else { 1 };
    let allows: Vec<Option<Vec<bool>>> =
        parallel_map(segments.len(), threads, |i| allowed_rows(segments[i], state, plan, &pk_name, read_ts))?;
    let collect = |k: usize| -> Result<Vec<Vec<Candidate>>> {
        // Widening past the client's `ef` widens the graph search with it.
        let params = SearchParams { k, ef: request.params.ef.map(|ef| ef.max(k)), ..request.params.clone() };
        let per_segment = parallel_map(segments.len(), threads, |index| -> Result<Vec<Vec<Hit>>> {
            let (segment, allow) = (segments[index], &allows[index]);
            if allow.as_ref().is_some_and(|a| !a.iter().any(|&b| b)) {
                return Ok(Vec::new());
            }
            Ok(match segment.indexes.get(&field.id) {
                Some(built) => built.index.search(&queries, &params, allow.as_deref())?,
                None => exact_over_batches(segment, field, metric, &queries, &params, allow.as_deref(), nq)?,
            })
        })?;
        let mut candidates: Vec<Vec<Candidate>> = vec![Vec::new(); nq];
        for (index, hits) in per_segment.into_iter().enumerate() {
            for (q, list) in hits.into_iter().enumerate() {
                candidates[q].extend(list.into_iter().map(|h| Candidate { score: h.score, segment: index, row: h.row }));
            }
        }
        let order = better(metric);
        candidates.iter_mut().for_each(|list| list.sort_by(&order));
        Ok(candidates)
    };
    // One hit per primary key: the latest row among the key's candidates.
    let latest_only = |list: Vec<Candidate>| -> Result<Vec<Candidate>> {
        if list.len() < 2 {
            return Ok(list);
        }
        let locs: Vec<(usize, usize)> = list.iter().map(&locate).collect();
        let keys = gather(&pk_name, &locs)?;
        let ts = gather(TS_COLUMN, &locs)?;
        let ts = ts.as_primitive::<UInt64Type>();
        let stamps: Vec<(u64, usize, u32)> = list.iter().enumerate().map(|(i, c)| (ts.value(i), c.segment, c.row)).collect();
        let keep = keep_latest_of(keys.as_ref(), &stamps);
        Ok(list.into_iter().zip(keep).filter_map(|(candidate, kept)| kept.then_some(candidate)).collect())
    };
    // Grouping ranks every group by its best row, so every row is a candidate (exact
    // for FLAT; the graph search of HNSW stays approximate).
    let mut k = if group_field.is_some() { searchable_rows.max(wanted) } else { wanted };
    let chosen = loop {
        let found = collect(k)?;
        let found_counts: Vec<usize> = found.iter().map(Vec::len).collect();
        let distinct: Vec<Vec<Candidate>> = found.into_iter().map(latest_only).collect::<Result<_>>()?;
        // Repeats of a key crowd other keys out of the candidates: widen until each query
        // has its hits or every row was a candidate.
        let crowded = distinct.iter().zip(&found_counts).any(|(list, &found)| list.len() < found && list.len() < wanted);
        if !crowded || k >= searchable_rows {
            break distinct;
        }
        k = k.saturating_mul(2).min(searchable_rows);
    };
    let mut topks = Vec::with_capacity(nq);
    let mut scores = Vec::new();
    let mut picks: Vec<(usize, usize)> = Vec::new();
    for list in chosen {
        let selected: Vec<Candidate> = match group_field {
            None => list.into_iter().skip(request.offset).take(request.limit).collect(),
            Some(group) => {
                let locs: Vec<(usize, usize)> = list.iter().map(&locate).collect();
                let values = if locs.is_empty() { None } else { Some(gather(&group.name, &locs)?) };
                let mut groups: Vec<(String, usize)> = Vec::new();
                let mut out = Vec::new();
                for (i, candidate) in list.into_iter().enumerate() {
                    let key = values.as_ref().map(|v| value_key(v, i)).unwrap_or_default();
                    let room = groups.len() < request.limit + request.offset;
                    match groups.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, n)) if *n < per_group => {
                            *n += 1;
                            out.push((key, candidate));
                        }
                        Some(_) => {}
                        None if room => {
                            groups.push((key.clone(), 1));
                            out.push((key, candidate));
                        }
                        None => {}
                    }
                }
                let kept: Vec<String> = groups.iter().skip(request.offset).map(|(k, _)| k.clone()).collect();
                out.into_iter().filter(|(k, _)| kept.contains(k)).map(|(_, c)| c).collect()
            }
        };
        topks.push(selected.len());
        for candidate in &selected {
            scores.push(candidate.score);
            picks.push(locate(candidate));
        }
    }
    let pk_type = quiver_format::columns::arrow_type(collection.schema.primary_field());
    let empty = |t: &arrow_schema::DataType| arrow_array::new_empty_array(t);
    let pks = if picks.is_empty() { empty(&pk_type) } else { gather(&pk_name, &picks)? };
    let mut columns = Vec::new();
    // The primary key travels in the ids; it is a column too when asked for by name or by
    // `*` (the Node SDK builds rows from the columns only).
    let pk_asked = request.output_fields.iter().any(|n| n.trim() == pk_name || n.trim() == "*");
    for f in output.iter().filter(|f| f.name != pk_name || pk_asked) {
        let array = if picks.is_empty() { empty(&quiver_format::columns::arrow_type(f)) } else { gather(&f.name, &picks)? };
        columns.push(OutputColumn { field: Some(f.clone()), array });
    }
    if with_meta {
        let array = if picks.is_empty() { empty(&arrow_schema::DataType::Utf8) } else { gather(META_COLUMN, &picks)? };
        columns.push(OutputColumn { field: None, array });
    }
    let group_by = match group_field {
        Some(f) => Some(OutputColumn {
            field: Some(f.clone()),
            array: if picks.is_empty() { empty(&quiver_format::columns::arrow_type(f)) } else { gather(&f.name, &picks)? },
        }),
        None => None,
    };
    Ok(SearchOutput { topks, scores, pks, columns, output_fields: Vec::new(), group_by, read_ts, metric })
}

/// Exact search batch by batch (growing segments, and sealed ones before their index is built).
fn exact_over_batches(
    segment: &Segment,
    field: &FieldSchema,
    metric: Metric,
    queries: &Vectors,
    params: &SearchParams,
    allow: Option<&[bool]>,
    nq: usize,
) -> Result<Vec<Vec<Hit>>> {
    let mut all: Vec<Vec<Hit>> = vec![Vec::new(); nq];
    let mut base = 0usize;
    for batch in &segment.batches {
        let rows = batch.num_rows();
        let vectors = batch_vectors(field, batch.column_by_name(&field.name).expect("vector column"))?;
        let window = allow.map(|a| &a[base..base + rows]);
        if window.is_none_or(|w| w.iter().any(|&b| b)) {
            let hits = brute_force(metric, &vectors.as_vectors(), queries, params, window)?;
            for (q, list) in hits.into_iter().enumerate() {
                all[q].extend(list.into_iter().map(|h| Hit { row: h.row + base as u32, score: h.score }));
            }
        }
        base += rows;
    }
    Ok(all)
}

/// A scalar value as a comparable text key (group-by values, primary keys); null is its
/// own key.
pub(super) fn value_key(values: &ArrayRef, i: usize) -> String {
    use arrow_array::types::*;
    use arrow_schema::DataType as T;
    if values.is_null(i) {
        return "\u{0}null".to_string();
    }
    match values.data_type() {
        T::Boolean => values.as_boolean().value(i).to_string(),
        T::Int8 => values.as_primitive::<Int8Type>().value(i).to_string(),
        T::Int16 => values.as_primitive::<Int16Type>().value(i).to_string(),
        T::Int32 => values.as_primitive::<Int32Type>().value(i).to_string(),
        T::Int64 => values.as_primitive::<Int64Type>().value(i).to_string(),
        T::Float32 => values.as_primitive::<Float32Type>().value(i).to_string(),
        T::Float64 => values.as_primitive::<Float64Type>().value(i).to_string(),
        _ => values.as_string::<i32>().value(i).to_string(),
    }
}

/// Search by primary keys (Milvus 2.6): the query vectors are the stored vectors of the
/// rows with these keys, in the keys' order, read from the view the search then reads.
pub fn vectors_of_keys(
    collection: &Collection,
    view: &CollectionView,
    anns_field: Option<&str>,
    keys: &PkColumn,
    partitions: Option<Vec<PartitionId>>,
    read_ts: u64,
) -> Result<QueryVectors> {
    let vectors = collection.schema.fields.iter().filter(|f| f.data_type.is_vector()).count();
    if vectors > 1 && anns_field.is_none_or(str::is_empty) {
        return Err(EngineError::InvalidParameter("multiple vector fields exist, please specify anns_field in search_params".into()));
    }
    let field = vector_field(collection, anns_field)?;
    let pk = collection.schema.primary_field();
    let wanted: Vec<TemplateValue> = match (keys, pk.data_type) {
        (PkColumn::Int(ids), DataType::Int64) => ids.iter().map(|id| TemplateValue::Int(*id)).collect(),
        (PkColumn::Str(ids), DataType::VarChar) => ids.iter().map(|id| TemplateValue::String(id.clone())).collect(),
        (_, DataType::Int64) => return Err(EngineError::InvalidParameter("primary key is int64, but IDs type mismatch".into())),
        _ => return Err(EngineError::InvalidParameter("primary key is varchar, but IDs type mismatch".into())),
    };
    let texts: Vec<String> = match keys {
        PkColumn::Int(ids) => ids.iter().map(i64::to_string).collect(),
        PkColumn::Str(ids) => ids.clone(),
    };
    let mut position = HashMap::with_capacity(texts.len());
    for (i, key) in texts.iter().enumerate() {
        if position.insert(key.clone(), i).is_some() {
            return Err(EngineError::InvalidParameter("duplicate IDs found in search request".into()));
        }
    }
    const KEYS: &str = "__search_keys";
    let request = QueryRequest {
        filter: format!("{} in {{{KEYS}}}", pk.name),
        templates: HashMap::from([(KEYS.to_string(), TemplateValue::Array(wanted))]),
        output_fields: vec![pk.name.clone(), field.name.clone()],
        partitions,
        limit: None,
        offset: 0,
    };
    let found = super::query::query(collection, view, &request, read_ts)?;
    let column = |name: &str| found.columns.iter().find(|c| c.field.as_ref().is_some_and(|f| f.name == name)).map(|c| &c.array);
    let (Some(pks), Some(vectors)) = (column(&pk.name), column(&field.name)) else {
        return Err(EngineError::Internal("a key lookup returned no key or vector column".into()));
    };
    let mut order = vec![usize::MAX; texts.len()];
    for row in 0..pks.len() {
        if let Some(&at) = position.get(&value_key(pks, row)) {
            order[at] = row;
        }
    }
    let missing: Vec<&str> = order.iter().zip(&texts).filter(|(row, _)| **row == usize::MAX).map(|(_, key)| key.as_str()).collect();
    if !missing.is_empty() {
        return Err(EngineError::InvalidParameter(format!(
            "some of the provided primary key IDs do not exist: missing IDs [{}]",
            missing.join(", ")
        )));
    }
    let rows = arrow_select::take::take(vectors, &arrow_array::UInt64Array::from_iter_values(order.iter().map(|&r| r as u64)), None)?;
    batch_vectors(field, &rows)
}

/// All of a segment's vectors of `field`, row-major.
pub fn segment_vectors(segment: &Segment, field: &FieldSchema) -> Result<QueryVectors> {
    let columns: Vec<&ArrayRef> = segment.batches.iter().map(|b| b.column_by_name(&field.name).expect("vector column")).collect();
    if columns.is_empty() {
        return batch_vectors(field, &arrow_array::new_empty_array(&quiver_format::columns::arrow_type(field)));
    }
    let refs: Vec<&dyn Array> = columns.iter().map(|c| c.as_ref()).collect();
    batch_vectors(field, &arrow_select::concat::concat(&refs)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_iterator_page_starts_strictly_past_the_last_bound() {
        let plain = SearchParams::top_k(10);
        let l2 = past(&plain, Metric::L2, 1.5);
        assert_eq!((l2.range_filter, l2.radius), (Some(1.5f32.next_up()), Some(f32::INFINITY)));
        let ip = past(&plain, Metric::Ip, 0.5);
        assert_eq!((ip.range_filter, ip.radius), (Some(0.5f32.next_down()), Some(f32::NEG_INFINITY)));
    }

    #[test]
    fn an_iterator_page_keeps_the_callers_range_where_it_is_tighter() {
        let ranged = SearchParams { radius: Some(9.0), range_filter: Some(2.0), ..SearchParams::top_k(10) };
        let beyond = past(&ranged, Metric::L2, 1.5);
        assert_eq!((beyond.range_filter, beyond.radius), (Some(2.0), Some(9.0)), "the caller's inner bound is past the page's");
        let within = past(&ranged, Metric::L2, 3.0);
        assert_eq!(within.range_filter, Some(3.0f32.next_up()));
        let cosine = SearchParams { radius: Some(0.1), range_filter: Some(0.4), ..SearchParams::top_k(10) };
        assert_eq!(past(&cosine, Metric::Cosine, 0.9).range_filter, Some(0.4));
        assert_eq!(past(&cosine, Metric::Cosine, 0.3).range_filter, Some(0.3f32.next_down()));
    }
}
