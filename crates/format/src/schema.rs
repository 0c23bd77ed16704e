//! Collection schemas in engine terms, and the rules a schema must follow.
//!
//! Field ids are assigned here: user fields get 100, 101, … in declaration order (0 and
//! 1 are Milvus's system RowID and Timestamp fields). The dynamic `$meta` field is not a
//! schema field: `enable_dynamic_field` says whether it exists.

use crate::error::{NameKind, Result, invalid, unclassified};
use crate::names;
use quiver_base::FieldId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// First id given to a user field.
pub const FIRST_FIELD_ID: i64 = 100;
/// Name of the hidden JSON field that holds dynamic keys.
pub const DYNAMIC_FIELD_NAME: &str = "$meta";
/// The field id index definitions give `$meta` (indexes on dynamic keys). `$meta` is
/// no schema field, and -1 is no user or system field's id.
pub const DYNAMIC_FIELD_ID: FieldId = FieldId(-1);
/// Most fields a collection may have (Milvus `proxy.maxFieldNum`).
pub const MAX_FIELDS: usize = 64;
/// Most vector fields a collection may have (Milvus `proxy.maxVectorFieldNum`).
pub const MAX_VECTOR_FIELDS: usize = 10;
/// Largest vector dimension (Milvus `proxy.maxDimension`).
pub const MAX_DIM: i64 = 32_768;
/// A field's memory-mapping setting (a type parameter, as Milvus keeps it).
const MMAP_PARAM: &str = "mmap.enabled";
/// A field's cache warm-up setting.
const WARMUP_PARAM: &str = "warmup";
/// Fewest dimensions of a vector field (Milvus's).
pub const MIN_DIM: i64 = 2;
/// Largest VarChar `max_length`.
pub const MAX_VARCHAR_LENGTH: i64 = 65_535;
/// Largest Array `max_capacity`.
pub const MAX_ARRAY_CAPACITY: i64 = 4_096;

/// Field data types Quiver stores. Wire codes live in the server's converter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataType {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    Float,
    Double,
    VarChar,
    Array,
    Json,
    /// A geometry, stored as canonical WKT (see [`crate::geometry`]).
    Geometry,
    BinaryVector,
    FloatVector,
    Float16Vector,
    BFloat16Vector,
    /// Variable-length `(u32 index, f32 value)` pairs; no `dim` (see [`crate::columns`]).
    SparseFloatVector,
    Int8Vector,
}

impl DataType {
    pub fn is_vector(self) -> bool {
        matches!(
            self,
            DataType::BinaryVector
                | DataType::FloatVector
                | DataType::Float16Vector
                | DataType::BFloat16Vector
                | DataType::SparseFloatVector
                | DataType::Int8Vector
        )
    }

    pub fn is_integer(self) -> bool {
        matches!(self, DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64)
    }

    /// May be an Array's element type.
    pub fn is_array_element(self) -> bool {
        matches!(
            self,
            DataType::Bool
                | DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::Float
                | DataType::Double
                | DataType::VarChar
        )
    }

    /// Milvus's display name (used in messages).
    pub fn name(self) -> &'static str {
        match self {
            DataType::Bool => "Bool",
            DataType::Int8 => "Int8",
            DataType::Int16 => "Int16",
            DataType::Int32 => "Int32",
            DataType::Int64 => "Int64",
            DataType::Float => "Float",
            DataType::Double => "Double",
            DataType::VarChar => "VarChar",
            DataType::Array => "Array",
            DataType::Json => "JSON",
            DataType::Geometry => "Geometry",
            DataType::BinaryVector => "BinaryVector",
            DataType::FloatVector => "FloatVector",
            DataType::Float16Vector => "Float16Vector",
            DataType::BFloat16Vector => "BFloat16Vector",
            DataType::SparseFloatVector => "SparseFloatVector",
            DataType::Int8Vector => "Int8Vector",
        }
    }
}

/// A field's default value, as the client declared it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DefaultValue {
    Bool(bool),
    Int(i32),
    Long(i64),
    Float(f32),
    Double(f64),
    String(String),
}

impl DefaultValue {
    /// The wire type of the value, in Milvus's words (`DataType_Int64`).
    fn wire_type(&self) -> &'static str {
        match self {
            DefaultValue::Bool(_) => "DataType_Bool",
            DefaultValue::Int(_) => "DataType_Int32",
            DefaultValue::Long(_) => "DataType_Int64",
            DefaultValue::Float(_) => "DataType_Float",
            DefaultValue::Double(_) => "DataType_Double",
            DefaultValue::String(_) => "DataType_VarChar",
        }
    }

    fn fits(&self, data_type: DataType) -> bool {
        matches!(
            (self, data_type),
            (DefaultValue::Bool(_), DataType::Bool)
                | (DefaultValue::Int(_), DataType::Int8 | DataType::Int16 | DataType::Int32)
                | (DefaultValue::Long(_), DataType::Int64)
                | (DefaultValue::Float(_), DataType::Float)
                | (DefaultValue::Double(_), DataType::Double)
                | (DefaultValue::String(_), DataType::VarChar | DataType::Geometry)
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldSchema {
    pub id: FieldId,
    pub name: String,
    pub description: String,
    pub data_type: DataType,
    /// Element type of an Array field.
    pub element_type: Option<DataType>,
    pub is_primary_key: bool,
    pub auto_id: bool,
    pub is_partition_key: bool,
    pub is_clustering_key: bool,
    pub nullable: bool,
    pub default_value: Option<DefaultValue>,
    /// `dim`, `max_length`, `max_capacity`, `mmap.enabled`, … as the client sent them.
    pub type_params: BTreeMap<String, String>,
}

impl FieldSchema {
    /// A plain field (not a key, not nullable, no parameters); id assigned on validation.
    pub fn new(name: impl Into<String>, data_type: DataType) -> FieldSchema {
        FieldSchema {
            id: FieldId(0),
            name: name.into(),
            description: String::new(),
            data_type,
            element_type: None,
            is_primary_key: false,
            auto_id: false,
            is_partition_key: false,
            is_clustering_key: false,
            nullable: false,
            default_value: None,
            type_params: BTreeMap::new(),
        }
    }

    /// The same field with one more type parameter (`dim`, `max_length`, …).
    pub fn with_param(mut self, key: &str, value: impl ToString) -> FieldSchema {
        self.type_params.insert(key.to_string(), value.to_string());
        self
    }

    /// An integer type parameter such as `dim` or `max_length`.
    pub fn int_param(&self, key: &str) -> Option<i64> {
        self.type_params.get(key).and_then(|v| v.trim().parse().ok())
    }

    /// The vector dimension, for vector fields.
    pub fn dim(&self) -> Option<i64> {
        self.int_param("dim")
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollectionSchema {
    pub name: String,
    pub description: String,
    pub auto_id: bool,
    pub enable_dynamic_field: bool,
    pub fields: Vec<FieldSchema>,
    /// Bumped by every change of the fields after creation (an added field), as Milvus's
    /// `CollectionSchema.version`: rows stored under an older version lack the newer
    /// fields and read them as null or their default.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub version: i32,
}

fn is_zero(version: &i32) -> bool {
    *version == 0
}

impl CollectionSchema {
    pub fn primary_field(&self) -> &FieldSchema {
        self.fields.iter().find(|f| f.is_primary_key).expect("validated schema has a primary key")
    }

    pub fn partition_key_field(&self) -> Option<&FieldSchema> {
        self.fields.iter().find(|f| f.is_partition_key)
    }

    pub fn field(&self, name: &str) -> Option<&FieldSchema> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// `$meta` as a JSON field with [`DYNAMIC_FIELD_ID`], for indexes on dynamic keys;
    /// `None` without a dynamic field.
    pub fn dynamic_field(&self) -> Option<FieldSchema> {
        self.enable_dynamic_field.then(|| FieldSchema { id: DYNAMIC_FIELD_ID, ..FieldSchema::new(DYNAMIC_FIELD_NAME, DataType::Json) })
    }

    /// The field an index on `id` covers: a schema field or `$meta`.
    pub fn index_field(&self, id: FieldId) -> Option<FieldSchema> {
        match self.fields.iter().find(|f| f.id == id) {
            Some(field) => Some(field.clone()),
            None if id == DYNAMIC_FIELD_ID => self.dynamic_field(),
            None => None,
        }
    }

    /// Same user-visible definition, ignoring assigned field ids (idempotent create).
    pub fn same_definition(&self, other: &CollectionSchema) -> bool {
        let strip = |s: &CollectionSchema| {
            let mut s = s.clone();
            s.fields.iter_mut().for_each(|f| f.id = FieldId(0));
            s
        };
        strip(self) == strip(other)
    }

    /// The schema with `field` added to an existing collection (AddCollectionField), in
    /// Milvus's rules and words: the field must be nullable (so rows stored before it
    /// read null, or its default), may not be a primary, partition or second clustering
    /// key, and gets the next field id; the schema version moves on.
    pub fn with_added_field(&self, mut field: FieldSchema) -> Result<CollectionSchema> {
        let name = field.name.clone();
        names::validate(NameKind::Field, &name)?;
        if self.fields.len() >= MAX_FIELDS {
            return Err(invalid(format!("The number of fields has reached the maximum value {MAX_FIELDS}: invalid parameter")));
        }
        if self.field(&name).is_some() {
            return Err(invalid(format!("duplicated field name {name}: invalid parameter")));
        }
        if field.is_primary_key || field.auto_id {
            return Err(invalid(format!("not support to add pk field, field name = {name}: invalid parameter")));
        }
        if field.is_partition_key {
            return Err(invalid(format!("not support to add partition key field, field name  = {name}: invalid parameter")));
        }
        if field.is_clustering_key && self.fields.iter().any(|f| f.is_clustering_key) {
            return Err(invalid(format!("already has another clustering key field, field name: {name}: invalid parameter")));
        }
        if !field.nullable {
            return Err(invalid(format!("added field must be nullable, please check it, field name = {name}: invalid parameter")));
        }
        if field.data_type.is_vector() {
            return Err(invalid(format!("adding vector field {name} to an existing collection is not supported by Quiver yet")));
        }
        validate_field(&field, &self.name)?;
        // Rows stored before the field read its default: it must fit the field's type.
        let fits = match (&field.default_value, field.data_type) {
            (Some(DefaultValue::Int(v)), DataType::Int8) => i8::try_from(*v).is_ok(),
            (Some(DefaultValue::Int(v)), DataType::Int16) => i16::try_from(*v).is_ok(),
            _ => true,
        };
        if !fits {
            return Err(invalid(format!("the default value of field {name} is out of range for {}", field.data_type.name())));
        }
        canonicalize_default(&mut field)?;
        let mut next = self.clone();
        field.id = FieldId(self.fields.iter().map(|f| f.id.0).max().unwrap_or(FIRST_FIELD_ID - 1) + 1);
        next.fields.push(field);
        next.version += 1;
        Ok(next)
    }

    /// The schema with field `name`'s type parameters changed (AlterCollectionField), in
    /// Milvus's rules and words: `max_length` of strings and string arrays and
    /// `max_capacity` of arrays may change at any time; the memory settings
    /// (`mmap.enabled`, `warmup`) only while the collection is released (`loaded` false);
    /// nothing else about a field changes. Stored rows are not rechecked, as in Milvus.
    pub fn with_altered_field(
        &self,
        name: &str,
        params: &BTreeMap<String, String>,
        delete_keys: &[String],
        loaded: bool,
    ) -> Result<CollectionSchema> {
        let mut next = self.clone();
        let field = next
            .fields
            .iter_mut()
            .find(|f| f.name == name)
            .ok_or_else(|| invalid(format!("field {name} does not exist in collection {}: invalid parameter", self.name)))?;
        let strings = field.data_type == DataType::VarChar || field.element_type == Some(DataType::VarChar);
        for key in params.keys().chain(delete_keys) {
            match key.as_str() {
                "max_length" if !strings => return Err(invalid("can not modify the maxlength for non-string types")),
                "max_capacity" if field.data_type != DataType::Array => {
                    return Err(invalid("can not modify the max_capacity for non-array types"));
                }
                "max_length" | "max_capacity" => {}
                MMAP_PARAM | WARMUP_PARAM if loaded => {
                    return Err(invalid("can not alter collection field properties if collection loaded"));
                }
                MMAP_PARAM | WARMUP_PARAM => {}
                other => return Err(invalid(format!("{other} does not allow update in collection field param"))),
            }
        }
        if delete_keys.iter().any(|k| k == "max_length" || k == "max_capacity") {
            return Err(invalid("max_length and max_capacity can be changed, not removed"));
        }
        field.type_params.extend(params.iter().map(|(k, v)| (k.clone(), v.clone())));
        delete_keys.iter().for_each(|key| {
            field.type_params.remove(key);
        });
        validate_field(field, &self.name)?;
        Ok(next)
    }

    /// Check every rule and assign field ids (100, 101, …). Returns the schema to store.
    pub fn validated(mut self) -> Result<CollectionSchema> {
        if self.fields.is_empty() {
            return Err(invalid("schema does not contain any field"));
        }
        if self.fields.len() > MAX_FIELDS {
            return Err(invalid(format!("maximum field's number should be limited to {MAX_FIELDS}")));
        }
        let mut seen = HashSet::new();
        for field in &self.fields {
            names::validate(NameKind::Field, &field.name)?;
            if !seen.insert(field.name.as_str()) {
                return Err(invalid(format!("duplicated field name {}", field.name)));
            }
            validate_field(field, &self.name)?;
        }
        let primary: Vec<_> = self.fields.iter().filter(|f| f.is_primary_key).collect();
        match primary.len() {
            0 => return Err(invalid("primary key is not specified")),
            1 => {}
            _ => {
                return Err(invalid(
                    "there are more than one primary key, field names: ".to_string()
                        + &primary.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", "),
                ));
            }
        }
        let pk = primary[0];
        if !matches!(pk.data_type, DataType::Int64 | DataType::VarChar) {
            return Err(invalid(format!(
                "the data type of primary key should be Int64 or VarChar, field: {}, type: {}",
                pk.name,
                pk.data_type.name()
            )));
        }
        if pk.nullable {
            return Err(invalid("primary field not support null: invalid parameter"));
        }
        if pk.default_value.is_some() {
            return Err(invalid("primary field not support default_value: invalid parameter"));
        }
        if let Some(field) = self.fields.iter().find(|f| f.auto_id && !f.is_primary_key) {
            return Err(invalid(format!("only the primary key field can be auto id, field: {}", field.name)));
        }
        // The schema-level autoID flag and the pk's flag mean the same thing.
        let auto_id = self.auto_id || pk.auto_id;
        let vectors = self.fields.iter().filter(|f| f.data_type.is_vector()).count();
        if vectors == 0 {
            return Err(invalid("schema does not contain vector field: invalid parameter"));
        }
        if vectors > MAX_VECTOR_FIELDS {
            return Err(unclassified(format!("maximum vector field's number should be limited to {MAX_VECTOR_FIELDS}")));
        }
        let partition_keys: Vec<_> = self.fields.iter().filter(|f| f.is_partition_key).collect();
        if partition_keys.len() > 1 {
            return Err(invalid("there are more than one partition key"));
        }
        if let Some(key) = partition_keys.first() {
            if !matches!(key.data_type, DataType::Int64 | DataType::VarChar) {
                return Err(invalid(format!("the data type of partition key should be Int64 or VarChar, field: {}", key.name)));
            }
            if key.is_primary_key {
                return Err(invalid("the partition key field must not be primary field"));
            }
            if key.nullable {
                return Err(invalid("partition key field not support nullable: invalid parameter"));
            }
        }
        if self.fields.iter().filter(|f| f.is_clustering_key).count() > 1 {
            return Err(invalid("there are more than one clustering key"));
        }
        self.auto_id = auto_id;
        for (position, field) in self.fields.iter_mut().enumerate() {
            field.id = FieldId(FIRST_FIELD_ID + position as i64);
            canonicalize_default(field)?;
            if field.is_primary_key {
                field.auto_id = auto_id;
            }
        }
        Ok(self)
    }
}

/// The cache warm-up policies Milvus accepts (field `warmup`, `warmup.*` collection
/// properties, index `warmup`).
pub const WARMUP_POLICIES: &[&str] = &["sync", "async", "disable"];

/// A warm-up policy, checked in Milvus's words.
pub fn check_warmup(value: &str) -> Result<()> {
    if WARMUP_POLICIES.contains(&value.trim().to_ascii_lowercase().as_str()) {
        Ok(())
    } else {
        Err(invalid(format!("invalid warmup policy: {value}, expected: {}", WARMUP_POLICIES.join(", "))))
    }
}

/// A Geometry field's default value in canonical WKT, as every stored value is, so rows
/// filled with it read back (and compare) like inserted ones.
fn canonicalize_default(field: &mut FieldSchema) -> Result<()> {
    if field.data_type == DataType::Geometry
        && let Some(DefaultValue::String(text)) = &mut field.default_value
    {
        *text = crate::geometry::canonical_wkt(text)
            .map_err(|e| invalid(format!("invalid default value of geometry field {}: {e}", field.name)))?;
    }
    Ok(())
}

/// One field's own rules; `collection` is named in the messages that name it.
fn validate_field(field: &FieldSchema, collection: &str) -> Result<()> {
    let name = &field.name;
    if let Some(policy) = field.type_params.get(WARMUP_PARAM) {
        check_warmup(policy)?;
    }
    if field.name == DYNAMIC_FIELD_NAME {
        return Err(invalid(format!("field name {name} is reserved for the dynamic field")));
    }
    if field.data_type == DataType::SparseFloatVector {
        // A sparse row's dimension is its largest index; Milvus ignores a declared `dim`.
        if field.nullable {
            return Err(invalid(format!("vector type not support null, field: {name}")));
        }
        if field.default_value.is_some() {
            return Err(invalid(format!("type not support default_value, type:{}", field.data_type.name())));
        }
        if field.is_partition_key || field.is_clustering_key {
            return Err(invalid(format!("vector field {name} can not be a partition key or clustering key")));
        }
    } else if field.data_type.is_vector() {
        let dim = field.dim().ok_or_else(|| {
            invalid(format!("dimension is not defined in field type params of field {name}, check type param `dim` for vector field"))
        })?;
        // Milvus's two wordings: below the minimum without the field, above it with.
        if dim < MIN_DIM {
            return Err(unclassified(format!("invalid dimension: {dim}. should be in range {MIN_DIM} ~ {MAX_DIM}")));
        }
        if dim > MAX_DIM {
            let kind = if field.data_type == DataType::BinaryVector { "binary" } else { "float" };
            return Err(unclassified(format!(
                "invalid dimension: {dim} of field {name}. {kind} vector dimension should be in range {MIN_DIM} ~ {MAX_DIM}"
            )));
        }
        if field.data_type == DataType::BinaryVector && dim % 8 != 0 {
            return Err(invalid(format!("invalid dimension: {dim} of field {name}. binary vector dimension should be multiple of 8.")));
        }
        if field.nullable {
            return Err(invalid(format!("vector type not support null, field: {name}")));
        }
        if field.default_value.is_some() {
            return Err(invalid(format!("type not support default_value, type:{}", field.data_type.name())));
        }
        if field.is_partition_key || field.is_clustering_key {
            return Err(invalid(format!("vector field {name} can not be a partition key or clustering key")));
        }
    }
    if field.data_type == DataType::VarChar || field.element_type == Some(DataType::VarChar) {
        let max_length = field.int_param("max_length").ok_or_else(|| {
            unclassified(format!("type param(max_length) should be specified for the field({name}) of collection {collection}"))
        })?;
        if max_length <= 0 || max_length > MAX_VARCHAR_LENGTH {
            return Err(invalid(format!(
                "the maximum length specified for the field({name}) should be in (0, {MAX_VARCHAR_LENGTH}], but got {max_length} instead: invalid parameter"
            )));
        }
        if let Some(DefaultValue::String(text)) = &field.default_value
            && text.chars().count() as i64 > max_length
        {
            return Err(invalid(format!(
                "the length ({}) of string exceeds max length ({max_length}): invalid parameter[expected=valid length string][actual=string length exceeds max length]",
                text.chars().count()
            )));
        }
    }
    if field.data_type == DataType::Array {
        let element = field.element_type.ok_or_else(|| invalid(format!("element data type None is not valid, field: {name}")))?;
        if !element.is_array_element() {
            return Err(invalid(format!("element type {} is not supported in array field {name}", element.name())));
        }
        let capacity = field
            .int_param("max_capacity")
            .ok_or_else(|| invalid(format!("the value for max_capacity of field {name} must be an integer")))?;
        if capacity <= 0 || capacity > MAX_ARRAY_CAPACITY {
            return Err(invalid(format!(
                "the maximum capacity specified for a Array should be in (0, {MAX_ARRAY_CAPACITY}], but got {capacity}, field: {name}"
            )));
        }
    } else if field.element_type.is_some() {
        return Err(invalid(format!("element type is only allowed for array fields, field: {name}")));
    }
    if field.default_value.is_some() && matches!(field.data_type, DataType::Json | DataType::Array) {
        return Err(invalid(format!("type not support default_value, type:{}", field.data_type.name())));
    }
    if let Some(default) = &field.default_value
        && !default.fits(field.data_type)
    {
        return Err(invalid(format!(
            "type ({}) of field ({name}) is not equal to the type({}) of default_value",
            field.data_type.name(),
            default.wire_type()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, data_type: DataType) -> FieldSchema {
        FieldSchema::new(name, data_type)
    }

    fn simple_schema(name: &str) -> CollectionSchema {
        let mut pk = field("pk", DataType::Int64);
        pk.is_primary_key = true;
        let vector = field("vector", DataType::FloatVector).with_param("dim", 8);
        CollectionSchema {
            name: name.into(),
            description: String::new(),
            auto_id: false,
            enable_dynamic_field: true,
            fields: vec![pk, vector],
            version: 0,
        }
    }

    fn error_of(schema: CollectionSchema) -> String {
        schema.validated().unwrap_err().to_string()
    }

    #[test]
    fn assigns_ids_from_100_in_order() {
        let schema = simple_schema("c").validated().unwrap();
        let ids: Vec<i64> = schema.fields.iter().map(|f| f.id.0).collect();
        assert_eq!(ids, [100, 101]);
    }

    #[test]
    fn schema_auto_id_marks_the_primary_key() {
        let mut schema = simple_schema("c");
        schema.auto_id = true;
        assert!(schema.validated().unwrap().primary_field().auto_id);
    }

    #[test]
    fn rejects_broken_schemas() {
        let mut s = simple_schema("c");
        s.fields[0].is_primary_key = false;
        assert!(error_of(s).contains("primary key is not specified"));

        let mut s = simple_schema("c");
        s.fields[1].type_params.clear();
        assert!(error_of(s).contains("dimension is not defined"));

        let mut s = simple_schema("c");
        s.fields.push(field("pk", DataType::Bool));
        assert!(error_of(s).contains("duplicated field name pk"));

        let mut s = simple_schema("c");
        s.fields.retain(|f| !f.data_type.is_vector());
        assert!(error_of(s).contains("does not contain vector field"));

        let mut s = simple_schema("c");
        s.fields.push(field("text", DataType::VarChar));
        assert!(error_of(s).contains("max_length"));

        let mut s = simple_schema("c");
        s.fields[0].data_type = DataType::Float;
        assert!(error_of(s).contains("primary key should be Int64 or VarChar"));

        let mut s = simple_schema("c");
        let mut n = field("n", DataType::Int32);
        n.default_value = Some(DefaultValue::String("x".into()));
        s.fields.push(n);
        assert_eq!(error_of(s), "type (Int32) of field (n) is not equal to the type(DataType_VarChar) of default_value");

        let mut s = simple_schema("c");
        s.fields[1].type_params.insert("dim".into(), "1".into());
        assert_eq!(error_of(s), "invalid dimension: 1. should be in range 2 ~ 32768");

        let mut s = simple_schema("c");
        let mut tag = field("tag", DataType::VarChar).with_param("max_length", 2);
        tag.default_value = Some(DefaultValue::String("abc".into()));
        s.fields.push(tag);
        assert!(error_of(s).starts_with("the length (3) of string exceeds max length (2)"));
    }
}
