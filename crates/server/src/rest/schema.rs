//! Schemas and index parameters in Milvus's REST JSON <-> their protobuf messages.
//!
//! Data types are named as in the protobuf enum (`Int64`, `VarChar`, `FloatVector`,
//! `JSON`; case sensitive, as Milvus reads them). Whether a type is supported is the
//! gRPC path's decision (`convert::schema`), not this module's.

use crate::status;
use quiver_proto::common::KeyValuePair;
use quiver_proto::schema::{CollectionSchema, DataType, FieldSchema, ValueField, value_field::Data};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Failure, key_values, pairs_of};

/// A field of the full form of `collections/create`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldSpec {
    field_name: String,
    data_type: String,
    #[serde(default)]
    element_data_type: String,
    #[serde(default)]
    is_primary: bool,
    #[serde(default)]
    is_partition_key: bool,
    #[serde(default)]
    is_clustering_key: bool,
    #[serde(default)]
    element_type_params: Map<String, Value>,
    #[serde(default)]
    nullable: bool,
    #[serde(default)]
    default_value: Option<Value>,
    #[serde(default)]
    description: String,
}

/// The `schema` of the full form of `collections/create`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SchemaSpec {
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    #[serde(default, rename = "autoID", alias = "autoId")]
    auto_id: bool,
    #[serde(default)]
    enable_dynamic_field: bool,
    #[serde(default)]
    functions: Vec<Value>,
}

/// One entry of `indexParams` (`collections/create`, `indexes/create`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexSpec {
    pub field_name: String,
    #[serde(default)]
    pub index_name: String,
    #[serde(default)]
    metric_type: String,
    #[serde(default)]
    index_type: String,
    #[serde(default)]
    params: Map<String, Value>,
}

impl IndexSpec {
    /// The `extra_params` of CreateIndex: `index_type`, `metric_type`, and the build
    /// parameters as one `params` JSON text (as pymilvus and Milvus's REST send them).
    /// An `index_type` inside `params` counts when `indexType` is absent.
    pub fn extra_params(&self) -> Vec<KeyValuePair> {
        let kv = |key: &str, value: String| KeyValuePair { key: key.to_string(), value };
        let mut out = Vec::new();
        let index_type = match (&*self.index_type, self.params.get("index_type")) {
            ("", Some(value)) => super::text_of(value),
            (given, _) => given.to_string(),
        };
        if !index_type.is_empty() {
            out.push(kv("index_type", index_type));
        }
        if !self.metric_type.is_empty() {
            out.push(kv("metric_type", self.metric_type.clone()));
        }
        let mut build = self.params.clone();
        build.remove("index_type");
        if !build.is_empty() {
            out.push(kv("params", Value::Object(build).to_string()));
        }
        out
    }
}

fn parse_data_type(name: &str, what: &str, field: &str) -> Result<DataType, Failure> {
    DataType::from_str_name(name)
        .filter(|t| *t != DataType::None)
        .ok_or_else(|| status::invalid_request(format!("{what} {name} of field {field} is invalid (case sensitive)")).into())
}

fn default_value(value: &Value, data_type: DataType, field: &str) -> Result<ValueField, Failure> {
    let wrong = || Failure::from(status::invalid_request(format!("defaultValue {value} of field {field} does not fit its type")));
    let data = match data_type {
        DataType::Bool => Data::BoolData(value.as_bool().ok_or_else(wrong)?),
        DataType::Int8 | DataType::Int16 | DataType::Int32 => {
            Data::IntData(value.as_i64().and_then(|v| i32::try_from(v).ok()).ok_or_else(wrong)?)
        }
        DataType::Int64 => Data::LongData(value.as_i64().ok_or_else(wrong)?),
        DataType::Float => Data::FloatData(value.as_f64().ok_or_else(wrong)? as f32),
        DataType::Double => Data::DoubleData(value.as_f64().ok_or_else(wrong)?),
        DataType::VarChar | DataType::String | DataType::Geometry => Data::StringData(value.as_str().ok_or_else(wrong)?.to_string()),
        _ => {
            return Err(
                status::invalid_request(format!("field {field} of type {} cannot have a default value", data_type.as_str_name())).into()
            );
        }
    };
    Ok(ValueField { data: Some(data) })
}

impl FieldSpec {
    /// The protobuf field; `auto_id` is the schema's (it applies to the primary key).
    pub fn to_wire(&self, auto_id: bool) -> Result<FieldSchema, Failure> {
        let data_type = parse_data_type(&self.data_type, "data type", &self.field_name)?;
        let element_type = if data_type == DataType::Array {
            parse_data_type(&self.element_data_type, "element data type", &self.field_name)? as i32
        } else {
            0
        };
        Ok(FieldSchema {
            name: self.field_name.clone(),
            description: self.description.clone(),
            data_type: data_type as i32,
            element_type,
            is_primary_key: self.is_primary,
            auto_id: self.is_primary && auto_id,
            is_partition_key: self.is_partition_key,
            is_clustering_key: self.is_clustering_key,
            nullable: self.nullable,
            type_params: pairs_of(&self.element_type_params),
            default_value: self
                .default_value
                .as_ref()
                .filter(|v| !v.is_null())
                .map(|v| default_value(v, data_type, &self.field_name))
                .transpose()?,
            ..Default::default()
        })
    }
}

impl SchemaSpec {
    /// The protobuf schema of the full form.
    pub fn to_wire(&self, collection: &str, description: &str) -> Result<CollectionSchema, Failure> {
        if !self.functions.is_empty() {
            return Err(status::invalid_request("collection functions are not supported by Quiver").into());
        }
        let fields = self.fields.iter().map(|spec| spec.to_wire(self.auto_id)).collect::<Result<Vec<_>, _>>()?;
        Ok(CollectionSchema {
            name: collection.to_string(),
            description: description.to_string(),
            auto_id: self.auto_id,
            enable_dynamic_field: self.enable_dynamic_field,
            fields,
            ..Default::default()
        })
    }

    pub fn has_field(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.field_name == name)
    }
}

/// A field as `collections/describe` shows it.
pub fn field_json(field: &FieldSchema) -> Value {
    let type_name = |code: i32| DataType::try_from(code).map(|t| t.as_str_name()).unwrap_or("None");
    let mut out = json!({
        "name": field.name,
        "id": field.field_id,
        "type": type_name(field.data_type),
        "description": field.description,
        "primaryKey": field.is_primary_key,
        "partitionKey": field.is_partition_key,
        "clusteringKey": field.is_clustering_key,
        "autoId": field.auto_id,
        "nullable": field.nullable,
    });
    if !field.type_params.is_empty() {
        out["params"] = key_values(&field.type_params);
    }
    if field.data_type == DataType::Array as i32 {
        out["elementType"] = Value::from(type_name(field.element_type));
    }
    out
}

/// Whether a wire data type is a vector.
pub fn is_vector(data_type: i32) -> bool {
    matches!(
        DataType::try_from(data_type),
        Ok(DataType::FloatVector
            | DataType::BinaryVector
            | DataType::Float16Vector
            | DataType::BFloat16Vector
            | DataType::SparseFloatVector
            | DataType::Int8Vector)
    )
}

/// A type parameter (`dim`, `max_length`) of a field, as a number.
pub fn type_param(field: &FieldSchema, key: &str) -> Option<usize> {
    field.type_params.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_params_become_create_index_extra_params() {
        let spec: IndexSpec = serde_json::from_value(json!({
            "fieldName": "v", "metricType": "L2", "params": {"index_type": "HNSW", "M": 8, "efConstruction": 64}
        }))
        .unwrap();
        let pairs: Vec<(String, String)> = spec.extra_params().into_iter().map(|kv| (kv.key, kv.value)).collect();
        assert_eq!(pairs[0], ("index_type".to_string(), "HNSW".to_string()));
        assert_eq!(pairs[1], ("metric_type".to_string(), "L2".to_string()));
        let build: Value = serde_json::from_str(&pairs[2].1).unwrap();
        assert_eq!(build, json!({"M": 8, "efConstruction": 64}));
    }

    #[test]
    fn full_form_fields_keep_their_types_and_params() {
        let spec: SchemaSpec = serde_json::from_value(json!({
            "autoID": true,
            "enableDynamicField": true,
            "fields": [
                {"fieldName": "pk", "dataType": "Int64", "isPrimary": true},
                {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}},
                {"fieldName": "tags", "dataType": "Array", "elementDataType": "VarChar",
                 "elementTypeParams": {"max_capacity": 8, "max_length": "16"}},
                {"fieldName": "n", "dataType": "Int32", "nullable": true, "defaultValue": 5}
            ]
        }))
        .unwrap();
        let wire = spec.to_wire("c", "d").unwrap();
        assert!(wire.auto_id && wire.enable_dynamic_field && wire.fields[0].auto_id);
        assert_eq!(type_param(&wire.fields[1], "dim"), Some(4));
        assert_eq!(wire.fields[2].element_type, DataType::VarChar as i32);
        assert_eq!(type_param(&wire.fields[2], "max_length"), Some(16));
        assert_eq!(wire.fields[3].default_value, Some(ValueField { data: Some(Data::IntData(5)) }));
        let bad: SchemaSpec = serde_json::from_value(json!({"fields": [{"fieldName": "x", "dataType": "int64"}]})).unwrap();
        assert_eq!(bad.to_wire("c", "").unwrap_err().0.code, status::code::PARAMETER_INVALID);
    }
}
