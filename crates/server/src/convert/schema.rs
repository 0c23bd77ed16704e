//! `schema.CollectionSchema` on the wire <-> the engine's `CollectionSchema`.

use super::{key_values, properties};
use quiver_base::FieldId;
use quiver_engine::schema::{CollectionSchema, DataType, DefaultValue, FieldSchema};
use quiver_proto::schema::{self as wire, value_field::Data};

/// Why a wire schema cannot be turned into an engine schema.
pub type Invalid = String;

pub fn data_type_from_wire(code: i32) -> Result<DataType, Invalid> {
    use wire::DataType as W;
    let wire = W::try_from(code).map_err(|_| format!("unknown data type code {code}"))?;
    Ok(match wire {
        W::Bool => DataType::Bool,
        W::Int8 => DataType::Int8,
        W::Int16 => DataType::Int16,
        W::Int32 => DataType::Int32,
        W::Int64 => DataType::Int64,
        W::Float => DataType::Float,
        W::Double => DataType::Double,
        W::VarChar => DataType::VarChar,
        W::Array => DataType::Array,
        W::Json => DataType::Json,
        W::Geometry => DataType::Geometry,
        W::BinaryVector => DataType::BinaryVector,
        W::FloatVector => DataType::FloatVector,
        W::Float16Vector => DataType::Float16Vector,
        W::BFloat16Vector => DataType::BFloat16Vector,
        W::SparseFloatVector => DataType::SparseFloatVector,
        W::Int8Vector => DataType::Int8Vector,
        W::String => return Err("string data type not supported yet, please use VarChar type instead".to_string()),
        other => return Err(format!("data type {} is not supported by Quiver", other.as_str_name())),
    })
}

pub fn data_type_to_wire(data_type: DataType) -> i32 {
    use wire::DataType as W;
    let wire = match data_type {
        DataType::Bool => W::Bool,
        DataType::Int8 => W::Int8,
        DataType::Int16 => W::Int16,
        DataType::Int32 => W::Int32,
        DataType::Int64 => W::Int64,
        DataType::Float => W::Float,
        DataType::Double => W::Double,
        DataType::VarChar => W::VarChar,
        DataType::Array => W::Array,
        DataType::Json => W::Json,
        DataType::Geometry => W::Geometry,
        DataType::BinaryVector => W::BinaryVector,
        DataType::FloatVector => W::FloatVector,
        DataType::Float16Vector => W::Float16Vector,
        DataType::BFloat16Vector => W::BFloat16Vector,
        DataType::SparseFloatVector => W::SparseFloatVector,
        DataType::Int8Vector => W::Int8Vector,
    };
    wire as i32
}

fn default_from_wire(value: &wire::ValueField) -> Result<Option<DefaultValue>, Invalid> {
    Ok(match &value.data {
        None => None,
        Some(Data::BoolData(v)) => Some(DefaultValue::Bool(*v)),
        Some(Data::IntData(v)) => Some(DefaultValue::Int(*v)),
        Some(Data::LongData(v)) => Some(DefaultValue::Long(*v)),
        Some(Data::FloatData(v)) => Some(DefaultValue::Float(*v)),
        Some(Data::DoubleData(v)) => Some(DefaultValue::Double(*v)),
        Some(Data::StringData(v)) => Some(DefaultValue::String(v.clone())),
        Some(_) => return Err("unsupported default value type".to_string()),
    })
}

fn default_to_wire(value: &DefaultValue) -> wire::ValueField {
    let data = match value {
        DefaultValue::Bool(v) => Data::BoolData(*v),
        DefaultValue::Int(v) => Data::IntData(*v),
        DefaultValue::Long(v) => Data::LongData(*v),
        DefaultValue::Float(v) => Data::FloatData(*v),
        DefaultValue::Double(v) => Data::DoubleData(*v),
        DefaultValue::String(v) => Data::StringData(v.clone()),
    };
    wire::ValueField { data: Some(data) }
}

/// Decode one field of a client's schema (CreateCollection, AddCollectionField). Its id is
/// left for the engine to assign.
pub fn field_from_wire(f: &wire::FieldSchema) -> Result<FieldSchema, Invalid> {
    let element_type = match f.element_type {
        0 => None,
        code if wire::DataType::try_from(code).is_err() => return Err(format!("element type {code} is not supported")),
        code => Some(data_type_from_wire(code)?),
    };
    if f.is_dynamic {
        return Err(format!("field {} cannot be declared dynamic; use enable_dynamic_field", f.name));
    }
    Ok(FieldSchema {
        id: FieldId(0),
        name: f.name.clone(),
        description: f.description.clone(),
        data_type: data_type_from_wire(f.data_type).map_err(|e| format!("{e} (field {})", f.name))?,
        element_type,
        is_primary_key: f.is_primary_key,
        auto_id: f.auto_id,
        is_partition_key: f.is_partition_key,
        is_clustering_key: f.is_clustering_key,
        nullable: f.nullable,
        default_value: f.default_value.as_ref().map(default_from_wire).transpose()?.flatten(),
        type_params: properties(&f.type_params),
    })
}

/// Decode a client's schema. Field ids are left for the engine to assign.
pub fn from_wire(schema: &wire::CollectionSchema) -> Result<CollectionSchema, Invalid> {
    if !schema.functions.is_empty() {
        return Err("collection functions are not supported by Quiver".to_string());
    }
    if !schema.struct_array_fields.is_empty() {
        return Err("struct array fields are not supported by Quiver".to_string());
    }
    let fields = schema.fields.iter().map(field_from_wire).collect::<Result<Vec<_>, Invalid>>()?;
    Ok(CollectionSchema {
        name: schema.name.clone(),
        description: schema.description.clone(),
        auto_id: schema.auto_id,
        enable_dynamic_field: schema.enable_dynamic_field,
        fields,
        // A new collection starts at version 0, whatever the client sent (as in Milvus).
        version: 0,
    })
}

/// The schema as DescribeCollection shows it: user fields only (never `$meta`).
pub fn to_wire(schema: &CollectionSchema, db_name: &str) -> wire::CollectionSchema {
    wire::CollectionSchema {
        name: schema.name.clone(),
        description: schema.description.clone(),
        auto_id: schema.auto_id,
        enable_dynamic_field: schema.enable_dynamic_field,
        db_name: db_name.to_string(),
        version: schema.version,
        fields: schema
            .fields
            .iter()
            .map(|f| wire::FieldSchema {
                field_id: f.id.0,
                name: f.name.clone(),
                is_primary_key: f.is_primary_key,
                description: f.description.clone(),
                data_type: data_type_to_wire(f.data_type),
                type_params: key_values(&f.type_params),
                auto_id: f.auto_id,
                element_type: f.element_type.map(data_type_to_wire).unwrap_or(0),
                default_value: f.default_value.as_ref().map(default_to_wire),
                is_partition_key: f.is_partition_key,
                is_clustering_key: f.is_clustering_key,
                nullable: f.nullable,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}
