//! Which index types and parameters a field accepts, checked before an index definition
//! is stored, so a bad request is refused with a message that names the problem.

use super::json_index::{self, JsonCast, MILVUS_INDEX_TYPES};
use crate::error::{EngineError, Result, invalid};
use crate::schema::{DataType, FieldSchema};
use std::collections::BTreeMap;

/// `AUTOINDEX` on vectors is served by HNSW; DescribeIndex says so in `auto_index_type`.
pub const AUTOINDEX: &str = "AUTOINDEX";
const FLOAT_VECTOR_INDEXES: &[&str] = &["FLAT", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "IVF_RABITQ", "SCANN", "HNSW", "DISKANN", AUTOINDEX];
const FLOAT_METRICS: &[&str] = &["L2", "IP", "COSINE"];
const BINARY_VECTOR_INDEXES: &[&str] = &["BIN_FLAT", "BIN_IVF_FLAT", AUTOINDEX];
const BINARY_METRICS: &[&str] = &["HAMMING", "JACCARD"];
const SPARSE_VECTOR_INDEXES: &[&str] = &["SPARSE_INVERTED_INDEX", "SPARSE_WAND", AUTOINDEX];
const SPARSE_METRICS: &[&str] = &["IP"];
/// Milvus serves INT8_VECTOR with HNSW (and brute force); AUTOINDEX means HNSW.
const INT8_VECTOR_INDEXES: &[&str] = &["FLAT", "HNSW", AUTOINDEX];
/// Sparse search algorithms Milvus accepts (`inverted_index_algo`).
const SPARSE_ALGORITHMS: &[&str] = &["TAAT_NAIVE", "DAAT_WAND", "DAAT_MAXSCORE"];
/// The index of Geometry fields.
pub const RTREE: &str = "RTREE";
const SCALAR_INDEXES: &[&str] = &["INVERTED", "STL_SORT", "BITMAP", AUTOINDEX];

/// A checked index request.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexSpec {
    pub index_type: String,
    /// Empty for scalar indexes.
    pub metric_type: String,
    pub params: BTreeMap<String, String>,
    /// For an index on a JSON field or `$meta`: the type it holds.
    pub json_cast: Option<JsonCast>,
}

/// A refused index parameter, in Milvus's words: `{reason}: invalid parameter[...]`.
pub(crate) fn params_error(reason: impl std::fmt::Display) -> EngineError {
    invalid(format!("{reason}: invalid parameter[expected=valid index params][actual=invalid index params]"))
}

impl IndexSpec {
    /// Parse the client's key-value parameters (`index_type`, `metric_type`, flat build
    /// parameters, and an optional `params` JSON object) for `field`.
    pub fn parse(field: &FieldSchema, kvs: &BTreeMap<String, String>) -> Result<IndexSpec> {
        let mut params = BTreeMap::new();
        for (key, value) in kvs {
            if key == "params" {
                merge_json_params(value, &mut params)?;
            } else {
                params.insert(key.clone(), value.clone());
            }
        }
        let given_type = params.remove("index_type").unwrap_or_else(|| AUTOINDEX.to_string());
        let index_type = given_type.to_uppercase();
        let given_metric = params.remove("metric_type").unwrap_or_default();
        let metric_type = given_metric.to_uppercase();
        let name = &field.name;
        if !MILVUS_INDEX_TYPES.contains(&index_type.as_str()) {
            return Err(invalid(format!("invalid parameter[expected=valid index][actual=invalid index type: {given_type}]")));
        }
        if field.data_type == DataType::Geometry || index_type == RTREE {
            return geometry_spec(field, index_type, params);
        }
        if field.data_type == DataType::Json {
            let json_cast = Some(json_index::check(&index_type, &params)?);
            return Ok(IndexSpec { index_type, metric_type: String::new(), params, json_cast });
        }
        let (types, metrics, default_metric): (&[&str], &[&str], &str) = match field.data_type {
            DataType::SparseFloatVector => (SPARSE_VECTOR_INDEXES, SPARSE_METRICS, "IP"),
            DataType::Int8Vector => (INT8_VECTOR_INDEXES, FLOAT_METRICS, "COSINE"),
            t if t.is_vector() && t != DataType::BinaryVector => (FLOAT_VECTOR_INDEXES, FLOAT_METRICS, "COSINE"),
            DataType::BinaryVector => (BINARY_VECTOR_INDEXES, BINARY_METRICS, "HAMMING"),
            _ => (SCALAR_INDEXES, &[], ""),
        };
        if !types.contains(&index_type.as_str()) {
            return Err(invalid(format!(
                "invalid index type: {index_type}, field {name} of type {} supports: {}",
                field.data_type.name(),
                types.join(", ")
            )));
        }
        let metric_type = if field.data_type.is_vector() {
            let metric = if metric_type.is_empty() { default_metric.to_string() } else { metric_type };
            if !metrics.contains(&metric.as_str()) {
                let kind = match field.data_type {
                    DataType::BinaryVector => "binary",
                    DataType::SparseFloatVector => "sparse",
                    _ => "float",
                };
                return Err(params_error(format!("{kind} vector index does not support metric type: {given_metric}")));
            }
            metric
        } else {
            // Milvus ignores a metric given for a scalar index (clients send one with
            // every index of a batch).
            if index_type == "STL_SORT" && !(field.data_type.is_integer() || matches!(field.data_type, DataType::Float | DataType::Double))
            {
                return Err(invalid(format!("STL_SORT is only supported on numeric fields, field {name}")));
            }
            if index_type == "BITMAP" {
                check_bitmap(field)?;
            }
            String::new()
        };
        match index_type.as_str() {
            "HNSW" => {
                check_int(&params, "M", 2, 2048)?;
                check_int(&params, "efConstruction", 1, i32::MAX as i64)?;
            }
            "IVF_FLAT" | "BIN_IVF_FLAT" | "IVF_SQ8" | "SCANN" | "IVF_RABITQ" => check_int(&params, "nlist", 1, 65_536)?,
            "IVF_PQ" => {
                check_int(&params, "nlist", 1, 65_536)?;
                check_int(&params, "nbits", 1, 8)?;
                check_pq_m(field, &params)?;
            }
            "DISKANN" => {
                check_int(&params, "max_degree", 1, 512)?;
                check_int(&params, "search_list_size", 1, i32::MAX as i64)?;
            }
            "SPARSE_INVERTED_INDEX" | "SPARSE_WAND" => check_sparse_params(&params)?,
            _ => {}
        }
        if let Some(policy) = params.get("warmup") {
            crate::schema::check_warmup(policy)?;
        }
        for key in ["with_raw_data", "refine"] {
            if let Some(v) = params.get(key).filter(|v| !matches!(v.to_ascii_lowercase().as_str(), "true" | "false")) {
                return Err(invalid(format!("param '{key}' ({v}) should be a boolean")));
            }
        }
        Ok(IndexSpec { index_type, metric_type, params, json_cast: None })
    }
}

/// Geometry fields take RTREE (or AUTOINDEX, which Milvus serves with RTREE) and
/// nothing else; RTREE goes on nothing but Geometry fields. Both in Milvus's words.
/// A metric given with them is ignored, as for every scalar index.
fn geometry_spec(field: &FieldSchema, index_type: String, params: BTreeMap<String, String>) -> Result<IndexSpec> {
    if field.data_type != DataType::Geometry {
        return Err(invalid(format!("RTREE index can only be built on geometry field, field {}", field.name)));
    }
    if index_type != RTREE && index_type != AUTOINDEX {
        return Err(invalid(format!("{index_type} are not supported on Geometry field, field {}", field.name)));
    }
    Ok(IndexSpec { index_type, metric_type: String::new(), params, json_cast: None })
}

/// Milvus builds BITMAP indexes on bools, integers, strings and arrays, never on the
/// primary key.
fn check_bitmap(field: &FieldSchema) -> Result<()> {
    if field.is_primary_key {
        return Err(params_error("create bitmap index on primary key not supported"));
    }
    let served = field.data_type.is_integer() || matches!(field.data_type, DataType::Bool | DataType::VarChar | DataType::Array);
    if !served {
        return Err(params_error("bitmap index are only supported on bool, int, string and array field"));
    }
    Ok(())
}

/// `drop_ratio_build` in `[0, 1)` and a known `inverted_index_algo`, in Milvus's words.
fn check_sparse_params(params: &BTreeMap<String, String>) -> Result<()> {
    if let Some(raw) = params.get("drop_ratio_build") {
        match raw.trim().parse::<f64>() {
            Ok(ratio) if (0.0..1.0).contains(&ratio) => {}
            _ => return Err(params_error(format!("param 'drop_ratio_build' ({raw}) should be in range [0.000000, 1.000000)"))),
        }
    }
    if let Some(algo) = params.get("inverted_index_algo")
        && !SPARSE_ALGORITHMS.contains(&algo.trim().to_ascii_uppercase().as_str())
    {
        return Err(params_error(format!(
            "sparse inverted index algorithm {algo} not found or not supported, supported: {SPARSE_ALGORITHMS:?}"
        )));
    }
    Ok(())
}

/// IVF_PQ's `m` must divide the dimension (each sub-quantizer takes `dim / m` floats).
fn check_pq_m(field: &FieldSchema, params: &BTreeMap<String, String>) -> Result<()> {
    let Some(raw) = params.get("m") else { return Ok(()) };
    let dim = field.dim().unwrap_or(0);
    match raw.trim().parse::<i64>() {
        Ok(m) if m >= 1 && dim % m == 0 => Ok(()),
        Ok(m) if m >= 1 => Err(params_error(format!(
            "The dimension of a vector (dim) should be a multiple of the number of subquantizers (m). Dimension:{dim}, m:{m}"
        ))),
        _ => Err(invalid(format!("param 'm' ({raw}) should be an integer in range [1, {dim}]"))),
    }
}

fn merge_json_params(json: &str, into: &mut BTreeMap<String, String>) -> Result<()> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| invalid(format!("index params is not a JSON object: {e}")))?;
    let object = value.as_object().ok_or_else(|| invalid("index params is not a JSON object"))?;
    for (key, value) in object {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        into.insert(key.clone(), text);
    }
    Ok(())
}

fn check_int(params: &BTreeMap<String, String>, key: &str, min: i64, max: i64) -> Result<()> {
    let Some(raw) = params.get(key) else { return Ok(()) };
    match raw.trim().parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(()),
        _ => Err(invalid(format!("param '{key}' ({raw}) should be an integer in range [{min}, {max}]"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn field(name: &str, data_type: DataType) -> FieldSchema {
        FieldSchema::new(name, data_type)
    }

    fn vector() -> FieldSchema {
        field("v", DataType::FloatVector).with_param("dim", 8)
    }

    fn kvs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn flat_and_json_params_are_both_accepted() {
        let flat =
            IndexSpec::parse(&vector(), &kvs(&[("index_type", "HNSW"), ("metric_type", "L2"), ("M", "16"), ("efConstruction", "200")]))
                .unwrap();
        let json = IndexSpec::parse(
            &vector(),
            &kvs(&[("index_type", "HNSW"), ("metric_type", "L2"), ("params", r#"{"M": 16, "efConstruction": 200}"#)]),
        )
        .unwrap();
        assert_eq!(flat, json);
        assert_eq!(flat.params.get("M").unwrap(), "16");
    }

    #[test]
    fn defaults_to_autoindex_cosine() {
        let spec = IndexSpec::parse(&vector(), &BTreeMap::new()).unwrap();
        assert_eq!((spec.index_type.as_str(), spec.metric_type.as_str()), ("AUTOINDEX", "COSINE"));
    }

    #[test]
    fn rejects_what_it_cannot_serve() {
        let err = |p: &[(&str, &str)]| IndexSpec::parse(&vector(), &kvs(p)).unwrap_err().to_string();
        assert!(err(&[("index_type", "GPU_CAGRA")]).contains("invalid index type: GPU_CAGRA"));
        assert!(err(&[("index_type", "IVF_PQ"), ("m", "3")]).contains("multiple of the number of subquantizers"));
        assert!(err(&[("index_type", "IVF_PQ"), ("nbits", "12")]).contains("'nbits'"));
        assert!(err(&[("index_type", "SCANN"), ("with_raw_data", "maybe")]).contains("'with_raw_data'"));
        assert!(err(&[("index_type", "DISKANN"), ("max_degree", "0")]).contains("'max_degree'"));
        assert!(
            err(&[("metric_type", "HAMMING")]).starts_with("float vector index does not support metric type: HAMMING: invalid parameter")
        );
        assert!(err(&[("index_type", "HNSW"), ("M", "1")]).contains("'M'"));
        assert!(IndexSpec::parse(&field("n", DataType::Int64), &kvs(&[("index_type", "STL_SORT")])).is_ok());
        assert!(IndexSpec::parse(&field("s", DataType::VarChar), &kvs(&[("index_type", "STL_SORT")])).is_err());
        let bitmap = |f: FieldSchema| IndexSpec::parse(&f, &kvs(&[("index_type", "BITMAP")])).map_err(|e| e.to_string());
        assert!(bitmap(field("b", DataType::Bool)).is_ok());
        assert!(
            bitmap(field("d", DataType::Double))
                .unwrap_err()
                .contains("bitmap index are only supported on bool, int, string and array field")
        );
    }

    #[test]
    fn quantized_and_graph_types_are_accepted_with_their_parameters() {
        for (index_type, extra) in [
            ("IVF_SQ8", ("nlist", "64")),
            ("IVF_PQ", ("m", "4")),
            ("SCANN", ("with_raw_data", "true")),
            ("IVF_RABITQ", ("nlist", "8")),
            ("DISKANN", ("search_list_size", "50")),
        ] {
            let spec = IndexSpec::parse(&vector(), &kvs(&[("index_type", index_type), ("metric_type", "L2"), extra])).unwrap();
            assert_eq!(spec.index_type, index_type);
        }
    }
}
