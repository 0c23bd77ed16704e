use super::*;
use arrow_array::new_empty_array;
use prost::Message;
use quiver_base::FieldId;
use quiver_engine::data::rows::{InsertColumns, PkSource, assemble};
use quiver_format::schema::{CollectionSchema, DefaultValue};
use quiver_proto::milvus::InsertRequest;

fn field(name: &str, data_type: DataType) -> FieldSchema {
    let mut field = FieldSchema::new(name, data_type);
    field.id = FieldId(105);
    field
}

fn nullable(mut field: FieldSchema) -> FieldSchema {
    field.nullable = true;
    field
}

fn array_field(name: &str, element: DataType) -> FieldSchema {
    let mut field = field(name, DataType::Array).with_param("max_capacity", 4).with_param("max_length", 8);
    field.element_type = Some(element);
    field
}

/// A scalar column as a result carries it (`field_id` set, as [`from_arrow`] writes it).
fn scalar_column(field: &FieldSchema, data: Scalar, valid_data: Vec<bool>) -> FieldData {
    FieldData {
        r#type: data_type_to_wire(field.data_type),
        field_name: field.name.clone(),
        field_id: field.id.0,
        is_dynamic: false,
        valid_data,
        field: Some(Field::Scalars(ScalarField { data: Some(data) })),
    }
}

fn vector_column(field: &FieldSchema, dim: i64, data: Vector) -> FieldData {
    FieldData {
        r#type: data_type_to_wire(field.data_type),
        field_name: field.name.clone(),
        field_id: field.id.0,
        is_dynamic: false,
        valid_data: Vec::new(),
        field: Some(Field::Vectors(VectorField { dim, data: Some(data) })),
    }
}

fn longs(data: &[i64]) -> Scalar {
    Scalar::LongData(LongArray { data: data.to_vec() })
}

fn ints(data: &[i32]) -> Scalar {
    Scalar::IntData(IntArray { data: data.to_vec() })
}

fn strings(data: &[&str]) -> Scalar {
    Scalar::StringData(wire::StringArray { data: data.iter().map(|s| s.to_string()).collect() })
}

fn jsons(data: &[&str]) -> Scalar {
    Scalar::JsonData(JsonArray { data: data.iter().map(|s| s.as_bytes().to_vec()).collect() })
}

/// to_arrow gives the layout's type and `num_rows` rows, and from_arrow gives `data` back.
fn assert_round_trip(field: &FieldSchema, data: &FieldData, num_rows: usize) -> ArrayRef {
    let array = to_arrow(field, data, num_rows).unwrap_or_else(|e| panic!("{}: {e}", field.name));
    assert_eq!(array.data_type(), &arrow_type(field), "{}", field.name);
    assert_eq!(array.len(), num_rows, "{}", field.name);
    assert_eq!(&from_arrow(field, &array), data, "{}", field.name);
    array
}

fn error_of(field: &FieldSchema, data: &FieldData, num_rows: usize) -> String {
    let error = to_arrow(field, data, num_rows).expect_err("conversion should fail");
    assert!(error.contains(&field.name), "the error names the field: {error}");
    error
}

// ---- round trips -------------------------------------------------------------------------

#[test]
fn scalar_types_round_trip() {
    let f = field("b", DataType::Bool);
    assert_round_trip(&f, &scalar_column(&f, Scalar::BoolData(BoolArray { data: vec![true, false, true] }), vec![]), 3);
    let f = field("i8", DataType::Int8);
    assert_round_trip(&f, &scalar_column(&f, ints(&[-128, 0, 127]), vec![]), 3);
    let f = field("i16", DataType::Int16);
    assert_round_trip(&f, &scalar_column(&f, ints(&[-32768, 1, 32767]), vec![]), 3);
    let f = field("i32", DataType::Int32);
    assert_round_trip(&f, &scalar_column(&f, ints(&[i32::MIN, 2, i32::MAX]), vec![]), 3);
    let f = field("i64", DataType::Int64);
    assert_round_trip(&f, &scalar_column(&f, longs(&[i64::MIN, 3, i64::MAX]), vec![]), 3);
    let f = field("f", DataType::Float);
    assert_round_trip(&f, &scalar_column(&f, Scalar::FloatData(FloatArray { data: vec![1.5, -0.25, f32::MAX] }), vec![]), 3);
    let f = field("d", DataType::Double);
    assert_round_trip(&f, &scalar_column(&f, Scalar::DoubleData(DoubleArray { data: vec![1e300, -0.5, 0.0] }), vec![]), 3);
    let f = field("s", DataType::VarChar).with_param("max_length", 8);
    assert_round_trip(&f, &scalar_column(&f, strings(&["", "héllo", "x"]), vec![]), 3);
    let f = field("j", DataType::Json);
    assert_round_trip(&f, &scalar_column(&f, jsons(&[r#"{"a":[1,2]}"#, "3", r#""text""#]), vec![]), 3);
}

#[test]
fn array_types_round_trip() {
    let f = array_field("al", DataType::Int64);
    let cells = vec![
        ScalarField { data: Some(longs(&[1, 2, 3])) },
        ScalarField { data: Some(longs(&[])) },
        ScalarField { data: Some(longs(&[-7])) },
    ];
    let data = scalar_column(&f, Scalar::ArrayData(ArrayArray { data: cells, element_type: wire::DataType::Int64 as i32 }), vec![]);
    let array = assert_round_trip(&f, &data, 3);
    let list = array.as_list::<i32>();
    assert_eq!(list.value(0).as_primitive::<Int64Type>().values().to_vec(), vec![1, 2, 3]);
    assert_eq!(list.value(1).len(), 0);

    let f = array_field("as", DataType::VarChar);
    let cells = vec![ScalarField { data: Some(strings(&["a", "bc"])) }, ScalarField { data: Some(strings(&["d"])) }];
    let data = scalar_column(&f, Scalar::ArrayData(ArrayArray { data: cells, element_type: wire::DataType::VarChar as i32 }), vec![]);
    assert_round_trip(&f, &data, 2);
}

#[test]
fn vector_types_round_trip() {
    let f = field("fv", DataType::FloatVector).with_param("dim", 2);
    let array =
        assert_round_trip(&f, &vector_column(&f, 2, Vector::FloatVector(FloatArray { data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0] })), 3);
    assert_eq!(array.as_fixed_size_list().value(1).as_primitive::<Float32Type>().values().to_vec(), vec![3.0, 4.0]);
    let f = field("bv", DataType::BinaryVector).with_param("dim", 16);
    assert_round_trip(&f, &vector_column(&f, 16, Vector::BinaryVector(vec![0xff, 0x00, 0x12, 0x34])), 2);
    let f = field("hv", DataType::Float16Vector).with_param("dim", 2);
    assert_round_trip(&f, &vector_column(&f, 2, Vector::Float16Vector((0u8..8).collect())), 2);
    let f = field("bf", DataType::BFloat16Vector).with_param("dim", 2);
    assert_round_trip(&f, &vector_column(&f, 2, Vector::Bfloat16Vector((10u8..18).collect())), 2);
}

#[test]
fn nullable_columns_round_trip_in_the_aligned_form() {
    let f = nullable(field("n", DataType::Int64));
    let array = assert_round_trip(&f, &scalar_column(&f, longs(&[10, 0, 0, 40]), vec![true, false, false, true]), 4);
    assert_eq!(array.null_count(), 2);
    assert!(array.is_null(1) && array.is_valid(3));

    let f = nullable(field("s", DataType::VarChar).with_param("max_length", 8));
    assert_round_trip(&f, &scalar_column(&f, strings(&["", "b", ""]), vec![false, true, false]), 3);

    let f = nullable(field("j", DataType::Json));
    assert_round_trip(&f, &scalar_column(&f, jsons(&["null", "{}"]), vec![false, true]), 2);

    let f = nullable(array_field("a", DataType::Int32));
    let cells = vec![ScalarField { data: Some(ints(&[])) }, ScalarField { data: Some(ints(&[5, 6])) }];
    let data =
        scalar_column(&f, Scalar::ArrayData(ArrayArray { data: cells, element_type: wire::DataType::Int32 as i32 }), vec![false, true]);
    let array = assert_round_trip(&f, &data, 2);
    assert!(array.is_null(0));
}

#[test]
fn compressed_insert_columns_come_back_aligned() {
    let f = nullable(field("n", DataType::Int64));
    let insert = scalar_column(&f, longs(&[10, 40]), vec![true, false, false, true]);
    let array = to_arrow(&f, &insert, 4).unwrap();
    assert_eq!(array.as_primitive::<Int64Type>().iter().collect::<Vec<_>>(), vec![Some(10), None, None, Some(40)]);
    assert_eq!(from_arrow(&f, &array), scalar_column(&f, longs(&[10, 0, 0, 40]), vec![true, false, false, true]));

    let f = nullable(field("s", DataType::VarChar));
    let insert = scalar_column(&f, strings(&["b"]), vec![false, true, false]);
    let array = to_arrow(&f, &insert, 3).unwrap();
    assert_eq!(array.as_string::<i32>().iter().collect::<Vec<_>>(), vec![None, Some("b"), None]);
}

#[test]
fn null_rows_stay_null_for_the_engine_to_judge() {
    // A default value is the engine's to fill in.
    let mut f = field("d", DataType::Double);
    f.default_value = Some(DefaultValue::Double(1.5));
    let insert = scalar_column(&f, Scalar::DoubleData(DoubleArray { data: vec![2.5] }), vec![false, true, false]);
    let array = to_arrow(&f, &insert, 3).unwrap();
    assert_eq!(array.as_primitive::<Float64Type>().iter().collect::<Vec<_>>(), vec![None, Some(2.5), None]);

    // So is refusing a null in a field that is not nullable.
    let f = field("n", DataType::Int64);
    let array = to_arrow(&f, &scalar_column(&f, longs(&[1]), vec![true, false]), 2).unwrap();
    assert_eq!(array.as_primitive::<Int64Type>().iter().collect::<Vec<_>>(), vec![Some(1), None]);

    let f = array_field("tags", DataType::VarChar);
    let cells = vec![ScalarField { data: Some(strings(&["a"])) }];
    let data = scalar_column(&f, Scalar::ArrayData(ArrayArray { data: cells, element_type: 0 }), vec![false, true]);
    let array = to_arrow(&f, &data, 2).unwrap();
    assert!(array.is_null(0) && array.is_valid(1));
}

#[test]
fn value_rules_are_left_to_the_engine() {
    let f = field("name", DataType::VarChar).with_param("max_length", 3);
    let array = to_arrow(&f, &scalar_column(&f, strings(&["abcd"]), vec![]), 1).unwrap();
    assert_eq!(array.as_string::<i32>().value(0), "abcd");

    let f = array_field("tags", DataType::VarChar);
    let cells =
        vec![ScalarField { data: Some(strings(&["a", "b", "c", "d", "e"])) }, ScalarField { data: Some(strings(&["far too long"])) }];
    let data = scalar_column(&f, Scalar::ArrayData(ArrayArray { data: cells, element_type: 0 }), vec![]);
    let array = to_arrow(&f, &data, 2).unwrap();
    assert_eq!(array.as_list::<i32>().value(0).len(), 5);

    let f = field("doc", DataType::Json);
    let array = to_arrow(&f, &scalar_column(&f, jsons(&["{"]), vec![]), 1).unwrap();
    assert_eq!(array.as_string::<i32>().value(0), "{");

    let meta = FieldData {
        r#type: wire::DataType::Json as i32,
        field_name: META_COLUMN.into(),
        is_dynamic: true,
        field: Some(Field::Scalars(ScalarField { data: Some(jsons(&["[1]", "{"])) })),
        ..FieldData::default()
    };
    assert_eq!(dynamic_to_arrow(&meta, 2).unwrap().as_string::<i32>().iter().collect::<Vec<_>>(), vec![Some("[1]"), Some("{")]);
}

#[test]
fn half_precision_fields_accept_float32_values() {
    let f = field("hv", DataType::Float16Vector).with_param("dim", 2);
    let data = vector_column(&f, 2, Vector::FloatVector(FloatArray { data: vec![1.0, -2.0, 0.5, 65504.0] }));
    let array = to_arrow(&f, &data, 2).unwrap();
    let expected: Vec<u8> = [0x3C00u16, 0xC000, 0x3800, 0x7BFF].iter().flat_map(|h| h.to_le_bytes()).collect();
    assert_eq!(from_arrow(&f, &array), vector_column(&f, 2, Vector::Float16Vector(expected)));

    let f = field("bf", DataType::BFloat16Vector).with_param("dim", 2);
    let data = vector_column(&f, 2, Vector::FloatVector(FloatArray { data: vec![1.0, -2.0, 0.5, 3.0] }));
    let array = to_arrow(&f, &data, 2).unwrap();
    let expected: Vec<u8> = [0x3F80u16, 0xC000, 0x3F00, 0x4040].iter().flat_map(|h| h.to_le_bytes()).collect();
    assert_eq!(from_arrow(&f, &array), vector_column(&f, 2, Vector::Bfloat16Vector(expected)));
    // Ties round to even; NaN stays NaN.
    assert_eq!(f32_to_bf16_bits(f32::from_bits(0x3F80_8000)), 0x3F80);
    assert_eq!(f32_to_bf16_bits(f32::from_bits(0x3F81_8000)), 0x3F82);
    assert!(f32::from_bits((f32_to_bf16_bits(f32::NAN) as u32) << 16).is_nan());
}

#[test]
fn empty_columns_convert_both_ways() {
    let fields = [
        field("b", DataType::Bool),
        field("i8", DataType::Int8),
        nullable(field("n", DataType::Int64)),
        field("s", DataType::VarChar),
        field("j", DataType::Json),
        array_field("a", DataType::Float),
        field("fv", DataType::FloatVector).with_param("dim", 4),
        field("bv", DataType::BinaryVector).with_param("dim", 8),
        field("bf", DataType::BFloat16Vector).with_param("dim", 4),
    ];
    for f in &fields {
        let empty = from_arrow(f, &new_empty_array(&arrow_type(f)));
        assert_eq!(empty.field_name, f.name);
        assert!(empty.field.is_some(), "{}: an empty result column still says its kind", f.name);
        let array = to_arrow(f, &empty, 0).unwrap();
        assert_eq!(array.len(), 0);
        assert_eq!(array.data_type(), &arrow_type(f));
        // A column with no oneof at all is also an empty column.
        let bare = FieldData { field: None, ..empty };
        assert_eq!(to_arrow(f, &bare, 0).unwrap().len(), 0, "{}", f.name);
    }
}

#[test]
fn dynamic_field_and_count_columns() {
    let meta = FieldData {
        r#type: wire::DataType::Json as i32,
        field_name: META_COLUMN.into(),
        is_dynamic: true,
        field: Some(Field::Scalars(ScalarField { data: Some(jsons(&[r#"{"color":"red"}"#, "{}"])) })),
        ..FieldData::default()
    };
    let array = dynamic_to_arrow(&meta, 2).unwrap();
    assert_eq!(array.as_string::<i32>().value(0), r#"{"color":"red"}"#);
    assert_eq!(dynamic_from_arrow(&array), meta);

    // valid_data marks null rows, compressed or aligned, as for any other column.
    let compressed = FieldData { valid_data: vec![false, true, false, true], ..meta.clone() };
    let array = dynamic_to_arrow(&compressed, 4).unwrap();
    assert_eq!(array.as_string::<i32>().iter().collect::<Vec<_>>(), vec![None, Some(r#"{"color":"red"}"#), None, Some("{}")]);
    let aligned = FieldData { valid_data: vec![true, false], ..meta };
    let array = dynamic_to_arrow(&aligned, 2).unwrap();
    assert_eq!(array.as_string::<i32>().iter().collect::<Vec<_>>(), vec![Some(r#"{"color":"red"}"#), None]);

    let count = count_field(42);
    assert_eq!(count.field_name, "count(*)");
    assert_eq!(count.r#type, wire::DataType::Int64 as i32);
    assert_eq!(count.field, Some(Field::Scalars(ScalarField { data: Some(longs(&[42])) })));
}

// ---- errors ------------------------------------------------------------------------------

#[test]
fn wrong_type_or_slot_is_rejected() {
    let f = field("title", DataType::VarChar);
    let data = scalar_column(&field("title", DataType::Int64), longs(&[1]), vec![]);
    assert_eq!(error_of(&f, &data, 1), "field title: expected VarChar data, got Int64");

    let f = field("n", DataType::Int64);
    let data = scalar_column(&f, ints(&[1]), vec![]);
    assert_eq!(error_of(&f, &data, 1), "field n: Int64 data must be in long_data, got int_data");

    let f = field("v", DataType::FloatVector).with_param("dim", 2);
    let data = scalar_column(&f, longs(&[1]), vec![]);
    assert!(error_of(&f, &data, 1).contains("must be in vectors"));
    let data = vector_column(&f, 2, Vector::BinaryVector(vec![0; 2]));
    assert!(error_of(&f, &data, 1).contains("got binary_vector"));

    let f = array_field("tags", DataType::Int64);
    let cells = vec![ScalarField { data: Some(strings(&["x"])) }];
    let data = scalar_column(&f, Scalar::ArrayData(ArrayArray { data: cells, element_type: 0 }), vec![]);
    assert!(error_of(&f, &data, 1).contains("must be in long_data, got string_data"));
}

#[test]
fn vector_dim_and_length_are_checked() {
    let f = field("vector", DataType::FloatVector).with_param("dim", 4);
    let data = vector_column(&f, 3, Vector::FloatVector(FloatArray { data: vec![0.0; 9] }));
    assert_eq!(error_of(&f, &data, 3), "the length(9) of float data should divide the dim(4) of field data(vector)");
    let data = vector_column(&f, 2, Vector::FloatVector(FloatArray { data: vec![0.0; 8] }));
    assert_eq!(error_of(&f, &data, 4), "the dim (2) of field data(vector) is not equal to schema dim (4)");
    let data = vector_column(&f, 4, Vector::FloatVector(FloatArray { data: vec![0.0; 28] }));
    assert_eq!(error_of(&f, &data, 10), "the num_rows (10) of field data(vector) does not match: got 28 values for dim 4");

    let f = field("bits", DataType::BinaryVector).with_param("dim", 16);
    let data = vector_column(&f, 16, Vector::BinaryVector(vec![0; 5]));
    assert_eq!(error_of(&f, &data, 3), "the dim (13) of field data(bits) is not equal to schema dim (16)");
    let f = field("half", DataType::Float16Vector).with_param("dim", 4);
    let data = vector_column(&f, 4, Vector::Float16Vector(vec![0; 8]));
    assert!(error_of(&f, &data, 2).contains("got 8 bytes for dim 4"));

    let f = field("vector", DataType::FloatVector).with_param("dim", 1);
    let mut data = vector_column(&f, 1, Vector::FloatVector(FloatArray { data: vec![0.0] }));
    data.valid_data = vec![false, true];
    assert!(error_of(&f, &data, 2).contains("cannot hold null rows"));
}

#[test]
fn out_of_range_integers_are_rejected() {
    let f = field("small", DataType::Int8);
    assert_eq!(error_of(&f, &scalar_column(&f, ints(&[1, 128]), vec![]), 2), "field small: value 128 is out of range for Int8");
    let f = field("medium", DataType::Int16);
    assert_eq!(error_of(&f, &scalar_column(&f, ints(&[-40000]), vec![]), 1), "field medium: value -40000 is out of range for Int16");
    let f = array_field("bytes", DataType::Int8);
    let cells = vec![ScalarField { data: Some(ints(&[300])) }];
    let data = scalar_column(&f, Scalar::ArrayData(ArrayArray { data: cells, element_type: 0 }), vec![]);
    assert!(error_of(&f, &data, 1).contains("value 300 is out of range for Int8"));
}

#[test]
fn json_must_be_utf8() {
    let f = field("doc", DataType::Json);
    let data = scalar_column(&f, Scalar::JsonData(JsonArray { data: vec![b"{}".to_vec(), vec![0xff, 0xfe]] }), vec![]);
    assert_eq!(error_of(&f, &data, 2), "field doc: the JSON in row 1 is not valid UTF-8");

    let meta = |rows: &[&str]| FieldData {
        r#type: wire::DataType::Json as i32,
        field_name: META_COLUMN.into(),
        is_dynamic: true,
        field: Some(Field::Scalars(ScalarField { data: Some(jsons(rows)) })),
        ..FieldData::default()
    };
    let bad_utf8 = FieldData {
        field: Some(Field::Scalars(ScalarField { data: Some(Scalar::JsonData(JsonArray { data: vec![vec![b'{', 0xff, b'}']] })) })),
        ..meta(&[])
    };
    assert_eq!(dynamic_to_arrow(&bad_utf8, 1).unwrap_err(), "field $meta: the JSON in row 0 is not valid UTF-8");
    assert_eq!(dynamic_to_arrow(&meta(&["{}"]), 2).unwrap_err(), "field $meta: got 1 values for 2 rows");
    let wrong_valid = FieldData { valid_data: vec![true], ..meta(&["{}", "{}"]) };
    assert_eq!(dynamic_to_arrow(&wrong_valid, 2).unwrap_err(), "field $meta: valid_data has 1 entries for 2 rows");
    let wrong = FieldData { r#type: wire::DataType::VarChar as i32, ..meta(&["{}"]) };
    assert_eq!(dynamic_to_arrow(&wrong, 1).unwrap_err(), "field $meta: expected JSON data, got VarChar");
}

#[test]
fn row_counts_are_checked() {
    let f = field("n", DataType::Int64);
    assert_eq!(error_of(&f, &scalar_column(&f, longs(&[1, 2]), vec![]), 3), "field n: got 2 values for 3 rows");

    let f = nullable(field("n", DataType::Int64));
    assert_eq!(error_of(&f, &scalar_column(&f, longs(&[1]), vec![true, false]), 3), "field n: valid_data has 2 entries for 3 rows");
    let data = scalar_column(&f, longs(&[1, 2]), vec![true, false, true, true]);
    assert_eq!(error_of(&f, &data, 4), "field n: got 2 values for 3 non-null rows of 4");
}

// ---- requests serialized by pymilvus itself (testdata/pymilvus_insert.py) -----------------

/// The collection `testdata/pymilvus_insert.py` describes to pymilvus.
fn pymilvus_fixture_schema() -> Vec<FieldSchema> {
    let mut d = field("d", DataType::Double);
    d.default_value = Some(DefaultValue::Double(1.5));
    let mut arr = nullable(field("arr", DataType::Array).with_param("max_capacity", 8));
    arr.element_type = Some(DataType::Int64);
    vec![
        field("pk", DataType::Int64),
        field("vec", DataType::FloatVector).with_param("dim", 4),
        nullable(field("n", DataType::Int64)),
        nullable(field("s", DataType::VarChar).with_param("max_length", 64)),
        nullable(field("i8", DataType::Int8)),
        nullable(field("j", DataType::Json)),
        arr,
        d,
    ]
}

/// Each schema field's column of a pymilvus InsertRequest, converted.
fn convert_pymilvus_request(bytes: &[u8]) -> (Vec<ArrayRef>, ArrayRef) {
    let request = InsertRequest::decode(bytes).unwrap();
    let num_rows = request.num_rows as usize;
    let column = |name: &str| request.fields_data.iter().find(|c| c.field_name == name).unwrap_or_else(|| panic!("no column {name}"));
    let arrays = pymilvus_fixture_schema().iter().map(|f| to_arrow(f, column(&f.name), num_rows).unwrap()).collect();
    let meta = request.fields_data.iter().find(|c| c.is_dynamic).unwrap();
    (arrays, dynamic_to_arrow(meta, num_rows).unwrap())
}

#[test]
fn pymilvus_rows_with_nones_convert() {
    let (columns, meta) = convert_pymilvus_request(include_bytes!("testdata/nullable_insert.bin"));
    let [pk, vec, n, s, i8, j, arr, d] = columns.as_slice() else { panic!("eight columns") };
    assert_eq!(pk.as_primitive::<Int64Type>().values().to_vec(), vec![1, 2, 3, 4]);
    assert_eq!(vec.as_fixed_size_list().value(3).as_primitive::<Float32Type>().values().to_vec(), vec![13.0, 14.0, 15.0, 16.0]);
    assert_eq!(n.as_primitive::<Int64Type>().iter().collect::<Vec<_>>(), vec![Some(10), None, None, Some(40)]);
    assert_eq!(s.as_string::<i32>().iter().collect::<Vec<_>>(), vec![Some("a"), None, None, Some("d")]);
    assert_eq!(i8.as_primitive::<Int8Type>().iter().collect::<Vec<_>>(), vec![Some(-5), None, None, Some(7)]);
    assert_eq!(j.as_string::<i32>().iter().collect::<Vec<_>>(), vec![Some(r#"{"k":1}"#), None, None, Some(r#"[1,"x"]"#)]);
    let arr = arr.as_list::<i32>();
    assert_eq!(arr.value(0).as_primitive::<Int64Type>().values().to_vec(), vec![1, 2]);
    assert!(arr.is_null(1) && arr.is_null(2));
    assert!(arr.is_valid(3) && arr.value(3).is_empty());
    // `d` has a default: rows sent as None (row 1) or left out (row 2) arrive null, and
    // the engine fills them (`pymilvus_nulls_take_defaults_in_the_engine`).
    assert_eq!(d.as_primitive::<Float64Type>().iter().collect::<Vec<_>>(), vec![Some(2.5), None, None, Some(4.5)]);
    assert_eq!(meta.as_string::<i32>().iter().collect::<Vec<_>>(), vec![Some(r#"{"color":"red"}"#), Some("{}"), Some("{}"), Some("{}")]);

    // Back out as a result: aligned values, placeholders at the null rows.
    let schema = pymilvus_fixture_schema();
    let n_out = from_arrow(&schema[2], n);
    assert_eq!(n_out.valid_data, vec![true, false, false, true]);
    assert_eq!(n_out.field, Some(Field::Scalars(ScalarField { data: Some(longs(&[10, 0, 0, 40])) })));
}

#[test]
fn pymilvus_all_null_columns_convert() {
    let (columns, _) = convert_pymilvus_request(include_bytes!("testdata/all_null_insert.bin"));
    let [_, _, n, s, i8, j, arr, d] = columns.as_slice() else { panic!("eight columns") };
    for column in [n, s, i8, j, arr, d] {
        assert_eq!((column.len(), column.null_count()), (2, 2));
    }
}

#[test]
fn pymilvus_nulls_take_defaults_in_the_engine() {
    let mut fields = pymilvus_fixture_schema();
    fields[0].is_primary_key = true;
    let schema =
        CollectionSchema { name: "c".into(), description: String::new(), auto_id: false, enable_dynamic_field: true, fields, version: 0 };
    let (columns, meta) = convert_pymilvus_request(include_bytes!("testdata/nullable_insert.bin"));
    let input =
        InsertColumns { num_rows: 4, fields: schema.fields.iter().map(|f| f.name.clone()).zip(columns).collect(), dynamic: Some(meta) };
    let batch = assemble(&schema, input, PkSource::Client, 1).unwrap();
    let d = batch.column_by_name("d").unwrap();
    assert_eq!(d.as_primitive::<Float64Type>().iter().collect::<Vec<_>>(), vec![Some(2.5), Some(1.5), Some(1.5), Some(4.5)]);
    assert_eq!(batch.column_by_name("n").unwrap().null_count(), 2, "a nullable field without a default keeps its nulls");
}

#[test]
fn sliced_arrays_convert_only_their_rows() {
    let f = field("fv", DataType::FloatVector).with_param("dim", 2);
    let array =
        to_arrow(&f, &vector_column(&f, 2, Vector::FloatVector(FloatArray { data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0] })), 3).unwrap();
    assert_eq!(
        from_arrow(&f, &array.slice(1, 2)),
        vector_column(&f, 2, Vector::FloatVector(FloatArray { data: vec![3.0, 4.0, 5.0, 6.0] }))
    );

    let f = field("bv", DataType::BinaryVector).with_param("dim", 8);
    let array = to_arrow(&f, &vector_column(&f, 8, Vector::BinaryVector(vec![1, 2, 3])), 3).unwrap();
    assert_eq!(from_arrow(&f, &array.slice(2, 1)), vector_column(&f, 8, Vector::BinaryVector(vec![3])));

    let f = nullable(field("n", DataType::Int64));
    let array = to_arrow(&f, &scalar_column(&f, longs(&[10, 40]), vec![true, false, false, true]), 4).unwrap();
    assert_eq!(from_arrow(&f, &array.slice(1, 3)), scalar_column(&f, longs(&[0, 0, 40]), vec![false, false, true]));

    let f = array_field("al", DataType::Int64);
    let cells = vec![ScalarField { data: Some(longs(&[1])) }, ScalarField { data: Some(longs(&[2, 3])) }];
    let data = scalar_column(&f, Scalar::ArrayData(ArrayArray { data: cells.clone(), element_type: wire::DataType::Int64 as i32 }), vec![]);
    let array = to_arrow(&f, &data, 2).unwrap();
    let expected =
        scalar_column(&f, Scalar::ArrayData(ArrayArray { data: cells[1..].to_vec(), element_type: wire::DataType::Int64 as i32 }), vec![]);
    assert_eq!(from_arrow(&f, &array.slice(1, 1)), expected);
}
