//! The HybridSearch RPC: each sub-request is read as a Search request is, the ranker
//! from `rank_params` (pymilvus's `RRFRanker` / `WeightedRanker`) or from a rerank
//! `function_score` (pymilvus's `Function(type=RERANK)`), then the engine searches and
//! fuses (see `quiver_engine::read` for the formulas).

use super::search::{ParsedSearch, check_limit, parse_search, results};
use quiver_engine::{Engine, EngineError, GroupScorer, HybridRequest, Ranker, Result};
use quiver_proto::common::KeyValuePair;
use quiver_proto::milvus::{HybridSearchRequest, SearchResults};
use quiver_proto::schema::{FunctionScore, FunctionType};
use serde_json::Value;

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::InvalidParameter(message.into())
}

/// Milvus's default RRF smoothing constant, and the exclusive bound on it.
const DEFAULT_RRF_K: f64 = 60.0;
const MAX_RRF_K: f64 = 16_384.0;

/// The top-level parameters of a hybrid search (`rank_params`, all text).
struct RankParams<'a> {
    pairs: &'a [KeyValuePair],
}

impl<'a> RankParams<'a> {
    fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|kv| kv.key == key).map(|kv| kv.value.as_str()).filter(|v| !v.is_empty())
    }

    fn number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>> {
        self.get(key).map(|v| v.trim().parse::<T>().map_err(|_| invalid(format!("{key} [{v}] is invalid in the rank params")))).transpose()
    }
}

/// `k` of an RRF ranker, in Milvus's range and words.
fn rrf(k: Option<f64>) -> Result<Ranker> {
    let k = k.unwrap_or(DEFAULT_RRF_K);
    if !(k > 0.0 && k < MAX_RRF_K) {
        return Err(invalid(format!("The rank params k should be in range (0, {MAX_RRF_K})")));
    }
    Ok(Ranker::Rrf { k: k as f32 })
}

/// The weights and `norm_score` of a weighted ranker, in Milvus's rules and words.
fn weighted(weights: Option<&Value>, norm: Option<&Value>) -> Result<Ranker> {
    let weights = weights.ok_or_else(|| invalid("weights not found"))?;
    let list = match weights {
        Value::String(text) => serde_json::from_str::<Value>(text).unwrap_or(Value::Null),
        other => other.clone(),
    };
    let weights: Vec<f32> = list
        .as_array()
        .and_then(|items| items.iter().map(|w| w.as_f64().map(|w| w as f32)).collect())
        .ok_or_else(|| invalid(format!("Parse weights param failed, weight should be []float, bug got: {weights}")))?;
    if weights.iter().any(|w| !(0.0..=1.0).contains(w)) {
        return Err(invalid("rank param weight should be in range [0, 1]"));
    }
    let normalize = match norm {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            let text = other.as_str().map_or_else(|| other.to_string(), str::to_string);
            match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(invalid(format!("norm_score params must be true/false, bug got {text}"))),
            }
        }
    };
    Ok(Ranker::Weighted { weights, normalize })
}

/// The ranker of `rank_params` (`strategy` and its `params` JSON); RRF when none is given.
fn ranker_of_params(params: &RankParams) -> Result<Ranker> {
    let inner: Value = match params.get("params") {
        Some(text) => serde_json::from_str(text).map_err(|e| invalid(format!("rank params are not valid JSON: {e}")))?,
        None => Value::Null,
    };
    match params.get("strategy").map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("rrf") => {
            rrf(inner.get("k").map(|k| k.as_f64().ok_or_else(|| invalid(format!("Param k:{k} is not a number")))).transpose()?)
        }
        Some("weighted") => weighted(inner.get("weights"), inner.get("norm_score")),
        Some(other) => Err(invalid(format!("unsupported rank type {other}"))),
    }
}

/// The ranker of a rerank `function_score`: Milvus's `rrf` and `weighted`; `decay` and
/// `model` rerankers are refused (a model reranker calls a remote inference service).
fn ranker_of_function(score: &FunctionScore) -> Result<Ranker> {
    let [function] = score.functions.as_slice() else {
        return Err(invalid(format!("hybrid search takes one rerank function, got {}", score.functions.len())));
    };
    if function.r#type != FunctionType::Rerank as i32 {
        return Err(invalid(format!("function {} is not a rerank function", function.name)));
    }
    let param = |key: &str| function.params.iter().find(|kv| kv.key.eq_ignore_ascii_case(key)).map(|kv| kv.value.as_str());
    let reranker = param("reranker").unwrap_or_default().trim().to_ascii_lowercase();
    if matches!(reranker.as_str(), "rrf" | "weighted") && !function.input_field_names.is_empty() {
        return Err(invalid(format!(
            "The {reranker} function does not support input parameters, but got {:?}",
            function.input_field_names
        )));
    }
    match reranker.as_str() {
        "rrf" => {
            rrf(param("k").map(|k| k.trim().parse::<f64>().map_err(|_| invalid(format!("Param k:{k} is not a number")))).transpose()?)
        }
        "weighted" => weighted(
            param("weights").map(|w| Value::String(w.to_string())).as_ref(),
            param("norm_score").map(|n| Value::String(n.to_string())).as_ref(),
        ),
        "model" => Err(invalid(format!(
            "rerank function {}: model rerankers call a remote inference service ({}), which Quiver does not do; use rrf or weighted",
            function.name,
            param("provider").unwrap_or("no provider given")
        ))),
        "decay" => Err(invalid(format!(
            "rerank function {}: the decay reranker is not supported by Quiver yet; use rrf or weighted",
            function.name
        ))),
        "" => Err(invalid(format!("rerank function {} names no reranker", function.name))),
        other => Err(invalid(format!("Unsupported rerank function: [{other}] , list of supported: [decay,model,rrf,weighted]"))),
    }
}

pub async fn hybrid_search(engine: &Engine, db: &str, request: &HybridSearchRequest) -> Result<SearchResults> {
    let params = RankParams { pairs: &request.rank_params };
    let ranker = match request.function_score.as_ref().filter(|f| !f.functions.is_empty()) {
        Some(function) => ranker_of_function(function)?,
        None => ranker_of_params(&params)?,
    };
    let limit: usize = params.number("limit")?.ok_or_else(|| invalid("limit is required for hybrid search"))?;
    let offset: usize = params.number("offset")?.unwrap_or(0);
    check_limit(limit, offset)?;
    let round_decimal: i64 = params.number("round_decimal")?.unwrap_or(-1);
    let group_scorer = match params.get("rank_group_scorer").map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("max") => GroupScorer::Max,
        Some("sum") => GroupScorer::Sum,
        Some("avg") => GroupScorer::Avg,
        Some(other) => return Err(invalid(format!("input group scorer type: {other} is not supported!"))),
    };
    let mut searches = Vec::with_capacity(request.requests.len());
    for sub in &request.requests {
        let ParsedSearch { request: search, keys, .. } = parse_search(sub)?;
        if keys.is_some() {
            return Err(invalid("hybrid search does not take primary keys as queries"));
        }
        searches.push(search);
    }
    if searches.is_empty() {
        return Err(invalid("hybrid search holds no search requests"));
    }
    let nq = searches[0].nq;
    let collection = engine.resolve(db, &request.collection_name)?;
    let hybrid = HybridRequest {
        searches,
        ranker,
        limit,
        offset,
        output_fields: request.output_fields.clone(),
        group_by: params.get("group_by_field").map(str::to_string),
        group_size: params.number("group_size")?.unwrap_or(1),
        strict_group_size: params.get("strict_group_size").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
        group_scorer,
    };
    let output = engine.hybrid_search(db, &request.collection_name, &request.partition_names, hybrid).await?;
    Ok(results(&collection.schema.primary_field().name, &collection.name, nq, limit, round_decimal, None, output))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kvs(pairs: &[(&str, &str)]) -> Vec<KeyValuePair> {
        pairs.iter().map(|(k, v)| KeyValuePair { key: k.to_string(), value: v.to_string() }).collect()
    }

    #[test]
    fn pymilvus_rankers_parse() {
        let rrf = kvs(&[("strategy", "rrf"), ("params", r#"{"k":30}"#)]);
        assert_eq!(ranker_of_params(&RankParams { pairs: &rrf }).unwrap(), Ranker::Rrf { k: 30.0 });
        let weighted = kvs(&[("strategy", "weighted"), ("params", r#"{"weights":[0.2,0.8],"norm_score":true}"#)]);
        assert_eq!(
            ranker_of_params(&RankParams { pairs: &weighted }).unwrap(),
            Ranker::Weighted { weights: vec![0.2, 0.8], normalize: true }
        );
        let too_big = kvs(&[("strategy", "rrf"), ("params", r#"{"k":16384}"#)]);
        assert!(ranker_of_params(&RankParams { pairs: &too_big }).unwrap_err().to_string().contains("(0, 16384)"));
        let heavy = kvs(&[("strategy", "weighted"), ("params", r#"{"weights":[1.5]}"#)]);
        assert!(ranker_of_params(&RankParams { pairs: &heavy }).unwrap_err().to_string().contains("[0, 1]"));
    }
}
