//! The Search RPC: request parameters and query vectors from the wire, results back in
//! the shape pymilvus decodes (`topks` cut the flat `ids`/`scores`/`fields_data`).

use crate::convert::{field_data, templates};
use prost::Message;
use quiver_engine::{Engine, EngineError, QueryVectors, Result, SearchOutput, SearchRequest};
use quiver_format::columns::{bf16_to_f32, f16_to_f32};
use quiver_format::logs::PkColumn;
use quiver_index::SearchParams;
use quiver_proto::common::{KeyValuePair, PlaceholderGroup, PlaceholderType};
use quiver_proto::milvus::{SearchRequest as WireSearch, SearchResults, search_request::SearchInput};
use quiver_proto::schema::{IDs, LongArray, SearchIteratorV2Results, SearchResultData, StringArray, i_ds::IdField};
use serde_json::Value;

/// Largest `limit` (and `offset + limit`) of a search, as in Milvus.
const MAX_TOPK: usize = 16_384;

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::InvalidParameter(message.into())
}

/// Index search parameters, read from the `params` JSON or, as Milvus also accepts, as
/// top-level search parameters.
pub(crate) const INDEX_SEARCH_PARAMS: &[&str] =
    &["ef", "nprobe", "search_list", "reorder_k", "refine_k", "radius", "range_filter", "drop_ratio_search", "dim_max_score_ratio"];

/// The search parameters pymilvus sends as string KVs, `params` JSON folded in.
#[derive(Default)]
struct Params {
    limit: Option<usize>,
    offset: usize,
    metric: Option<String>,
    anns_field: Option<String>,
    round_decimal: i64,
    group_by: Option<String>,
    group_size: usize,
    ef: Option<usize>,
    nprobe: Option<usize>,
    /// SCANN's `reorder_k`: candidates re-scored exactly.
    reorder_k: Option<usize>,
    /// IVF_RABITQ's `refine_k`: candidates re-scored exactly, per hit wanted.
    refine_k: Option<f64>,
    radius: Option<f32>,
    range_filter: Option<f32>,
    /// Sparse search: the fraction of each query's smallest values left out.
    drop_ratio_search: Option<f32>,
    /// Search iterator v2 (`search_iter_v2`): the reply carries the iterator's token and
    /// the bound its next page starts after.
    iterator: bool,
    /// The iterator's token, echoed (`search_iter_id`; absent on its first page).
    iterator_token: Option<String>,
    /// The score of the last hit of the iterator's page before (`search_iter_last_bound`).
    last_bound: Option<f32>,
}

fn parse_usize(key: &str, value: &str) -> Result<usize> {
    value.trim().parse::<usize>().map_err(|_| invalid(format!("{key} [{value}] is invalid, should be a non-negative integer")))
}

fn json_number(key: &str, value: &Value) -> Result<f64> {
    match value {
        Value::Number(n) => n.as_f64().ok_or_else(|| invalid(format!("search param {key} is not a number"))),
        Value::String(s) => s.trim().parse().map_err(|_| invalid(format!("search param {key} [{s}] is not a number"))),
        other => Err(invalid(format!("search param {key} [{other}] is not a number"))),
    }
}

fn parse_params(pairs: &[KeyValuePair]) -> Result<Params> {
    let mut p = Params { round_decimal: -1, ..Params::default() };
    let mut apply = |key: &str, value: &Value| -> Result<()> {
        match key {
            // DISKANN's search list is served by the HNSW graph's candidate list.
            "ef" | "search_list" => p.ef = Some(json_number(key, value)? as usize),
            "reorder_k" => p.reorder_k = Some(json_number(key, value)? as usize),
            "refine_k" => {
                let factor = json_number(key, value)?;
                if factor.is_nan() || factor < 1.0 {
                    return Err(invalid(format!("refine_k [{factor}] should be at least 1")));
                }
                p.refine_k = Some(factor);
            }
            "nprobe" => p.nprobe = Some(json_number(key, value)? as usize),
            "drop_ratio_search" => {
                let ratio = json_number(key, value)?;
                if !(0.0..1.0).contains(&ratio) {
                    return Err(invalid(format!("drop_ratio_search [{ratio}] should be in range [0.000000, 1.000000)")));
                }
                p.drop_ratio_search = Some(ratio as f32);
            }
            // DAAT_MAXSCORE's pruning bound: no effect on the exact scan, but checked as
            // Milvus checks it.
            "dim_max_score_ratio" => {
                let ratio = json_number(key, value)?;
                if !(0.5..=1.3).contains(&ratio) {
                    return Err(invalid(format!("dim_max_score_ratio {ratio} should be in range [0.500000, 1.300000]")));
                }
            }
            "radius" => p.radius = Some(json_number(key, value)? as f32),
            "range_filter" => p.range_filter = Some(json_number(key, value)? as f32),
            "metric_type" => {
                if let Some(m) = value.as_str().filter(|m| !m.is_empty()) {
                    p.metric = Some(m.to_uppercase());
                }
            }
            _ => {}
        }
        Ok(())
    };
    for kv in pairs {
        match kv.key.as_str() {
            "params" => {
                let parsed: Value =
                    serde_json::from_str(&kv.value).map_err(|e| invalid(format!("search params is not valid JSON: {e}")))?;
                if let Value::Object(map) = parsed {
                    for (key, value) in &map {
                        apply(key, value)?;
                    }
                }
            }
            key if key == "metric_type" || INDEX_SEARCH_PARAMS.contains(&key) => apply(&kv.key, &Value::String(kv.value.clone()))?,
            _ => {}
        }
    }
    for kv in pairs {
        match kv.key.as_str() {
            "topk" | "limit" => p.limit = Some(parse_usize(&kv.key, &kv.value)?),
            "offset" => p.offset = parse_usize("offset", &kv.value)?,
            "anns_field" if !kv.value.is_empty() => p.anns_field = Some(kv.value.clone()),
            "round_decimal" => {
                p.round_decimal = kv.value.trim().parse().map_err(|_| invalid(format!("round_decimal [{}] is invalid", kv.value)))?
            }
            "group_by_field" if !kv.value.is_empty() => p.group_by = Some(kv.value.clone()),
            "group_size" => p.group_size = parse_usize("group_size", &kv.value)?,
            // pymilvus writes Python booleans ("True"), the Node SDK JavaScript ones.
            "search_iter_v2" => p.iterator = kv.value.trim().eq_ignore_ascii_case("true"),
            "search_iter_id" if !kv.value.is_empty() => p.iterator_token = Some(kv.value.clone()),
            "search_iter_last_bound" => {
                let bound = kv.value.trim().parse::<f32>().ok().filter(|b| b.is_finite());
                p.last_bound = Some(bound.ok_or_else(|| invalid(format!("search_iter_last_bound [{}] is not a number", kv.value)))?);
            }
            _ => {}
        }
    }
    Ok(p)
}

/// Decode the query vectors of a placeholder group.
fn query_vectors(bytes: &[u8]) -> Result<(QueryVectors, usize)> {
    let group = PlaceholderGroup::decode(bytes).map_err(|e| invalid(format!("placeholder group is not valid: {e}")))?;
    let value = group.placeholders.first().ok_or_else(|| invalid("the search request holds no query vectors"))?;
    let rows = &value.values;
    if rows.is_empty() {
        return Err(invalid("the search request holds no query vectors"));
    }
    let kind = PlaceholderType::try_from(value.r#type).unwrap_or(PlaceholderType::None);
    if kind == PlaceholderType::SparseFloatVector {
        return Ok((field_data::sparse_rows_from_wire(rows).map_err(invalid)?, rows.len()));
    }
    let width = rows[0].len();
    if rows.iter().any(|r| r.len() != width) {
        return Err(invalid("query vectors of one search must have the same dimension"));
    }
    let vectors = match kind {
        PlaceholderType::FloatVector => QueryVectors::Float {
            dim: width / 4,
            data: rows.iter().flat_map(|r| r.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect(),
        },
        PlaceholderType::BinaryVector => QueryVectors::Binary { dim_bits: width * 8, data: rows.concat() },
        PlaceholderType::Int8Vector => {
            QueryVectors::Float { dim: width, data: rows.concat().into_iter().map(|b| b as i8 as f32).collect() }
        }
        PlaceholderType::Float16Vector | PlaceholderType::BFloat16Vector => {
            let bf16 = kind == PlaceholderType::BFloat16Vector;
            QueryVectors::Float {
                dim: width / 2,
                data: rows
                    .iter()
                    .flat_map(|r| r.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])))
                    .map(|bits| if bf16 { bf16_to_f32(bits) } else { f16_to_f32(bits) })
                    .collect(),
            }
        }
        other => return Err(invalid(format!("search with {} query data is not supported", other.as_str_name()))),
    };
    Ok((vectors, rows.len()))
}

/// A wire search request in engine terms.
pub(super) struct ParsedSearch {
    pub request: SearchRequest,
    /// For a search by primary keys: the keys whose stored vectors are the queries.
    pub keys: Option<PkColumn>,
    pub round_decimal: i64,
    /// Search iterator v2: the token and last bound of the page before.
    iterator: Option<(Option<String>, Option<f32>)>,
}

/// The parameters, query vectors (or keys) and filter of one wire search request.
pub(super) fn parse_search(request: &WireSearch) -> Result<ParsedSearch> {
    let params = parse_params(&request.search_params)?;
    // Search by primary keys: the rows' own vectors are the queries, looked up by the
    // engine in the view it searches.
    let (vectors, nq, keys) = match &request.search_input {
        Some(SearchInput::PlaceholderGroup(bytes)) => {
            let (vectors, nq) = query_vectors(bytes)?;
            (vectors, nq, None)
        }
        Some(SearchInput::Ids(ids)) => {
            let keys = match &ids.id_field {
                Some(IdField::IntId(ids)) if !ids.data.is_empty() => PkColumn::Int(ids.data.clone()),
                Some(IdField::StrId(ids)) if !ids.data.is_empty() => PkColumn::Str(ids.data.clone()),
                _ => return Err(invalid("the search request holds no primary keys")),
            };
            (QueryVectors::Float { dim: 0, data: Vec::new() }, keys.len(), Some(keys))
        }
        None => return Err(invalid("the search request holds no query vectors")),
    };
    let limit = params.limit.ok_or_else(|| invalid("topk (limit) is required for search"))?;
    check_limit(limit, params.offset)?;
    if params.iterator && nq != 1 {
        return Err(invalid("search iterator v2 does not support processing multiple vectors simultaneously"));
    }
    let templates = templates::from_wire(&request.expr_template_values).map_err(EngineError::InvalidParameter)?;
    let search = SearchRequest {
        anns_field: params.anns_field,
        vectors,
        nq,
        limit,
        offset: params.offset,
        metric: params.metric,
        params: SearchParams {
            k: limit,
            ef: params.ef,
            nprobe: params.nprobe,
            refine_candidates: params.reorder_k.or(params.refine_k.map(|factor| (factor * limit as f64).ceil() as usize)),
            radius: params.radius,
            range_filter: params.range_filter,
            drop_ratio_search: params.drop_ratio_search,
            ..SearchParams::top_k(limit)
        },
        filter: request.dsl.clone(),
        templates,
        output_fields: request.output_fields.clone(),
        partitions: None,
        group_by: params.group_by,
        group_size: params.group_size,
        after_score: params.last_bound.filter(|_| params.iterator),
    };
    let iterator = params.iterator.then_some((params.iterator_token, params.last_bound));
    Ok(ParsedSearch { request: search, keys, round_decimal: params.round_decimal, iterator })
}

/// Milvus's bounds on `limit` and `offset + limit`.
pub(super) fn check_limit(limit: usize, offset: usize) -> Result<()> {
    if limit == 0 || limit > MAX_TOPK {
        return Err(invalid(format!("topk [{limit}] is invalid, it should be in range [1, {MAX_TOPK}]")));
    }
    if limit + offset > MAX_TOPK {
        return Err(invalid(format!("(offset+limit) should be in range [1, {MAX_TOPK}], but got {}", limit + offset)));
    }
    Ok(())
}

pub async fn search(engine: &Engine, db: &str, request: &WireSearch) -> Result<SearchResults> {
    let ParsedSearch { request: search, keys, round_decimal, iterator } = parse_search(request)?;
    let (nq, limit) = (search.nq, search.limit);
    let collection = engine.resolve(db, &request.collection_name)?;
    let output = match keys {
        Some(keys) => engine.search_by_keys(db, &request.collection_name, &request.partition_names, keys, search).await?,
        None => engine.search(db, &request.collection_name, &request.partition_names, search).await?,
    };
    // The next page starts after this page's last hit (or where this one started).
    let iterator = iterator.map(|(token, last_bound)| SearchIteratorV2Results {
        token: token.unwrap_or_else(|| output.read_ts.to_string()),
        last_bound: output.scores.last().copied().or(last_bound).unwrap_or_default(),
    });
    Ok(results(&collection.schema.primary_field().name, &collection.name, nq, limit, round_decimal, iterator, output))
}

pub(super) fn results(
    pk_name: &str,
    collection: &str,
    nq: usize,
    limit: usize,
    round_decimal: i64,
    iterator: Option<SearchIteratorV2Results>,
    output: SearchOutput,
) -> SearchResults {
    let scale = (round_decimal >= 0).then(|| 10f32.powi(round_decimal as i32));
    let scores = output.scores.iter().map(|s| scale.map_or(*s, |k| (s * k).round() / k)).collect();
    let ids = match quiver_engine::data::pk_values(&output.pks) {
        PkColumn::Int(data) => IdField::IntId(LongArray { data }),
        PkColumn::Str(data) => IdField::StrId(StringArray { data }),
    };
    let fields_data = output
        .columns
        .iter()
        .map(|c| match &c.field {
            Some(field) => field_data::from_arrow(field, &c.array),
            None => field_data::dynamic_from_arrow(&c.array),
        })
        .collect();
    let group_by_field_value = output.group_by.as_ref().and_then(|c| c.field.as_ref().map(|f| field_data::from_arrow(f, &c.array)));
    SearchResults {
        results: Some(SearchResultData {
            num_queries: nq as i64,
            top_k: limit as i64,
            topks: output.topks.iter().map(|k| *k as i64).collect(),
            scores,
            ids: Some(IDs { id_field: Some(ids) }),
            fields_data,
            output_fields: output.output_fields,
            primary_field_name: pk_name.to_string(),
            group_by_field_value,
            search_iterator_v2_results: iterator,
            ..Default::default()
        }),
        collection_name: collection.to_string(),
        session_ts: output.read_ts,
        ..Default::default()
    }
}
