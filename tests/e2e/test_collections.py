"""Collection DDL through MilvusClient: create / describe / list / drop / rename / alter,
name rules and schema validation."""

from __future__ import annotations

import time

import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.grpc_gen import schema_pb2

from helpers import (
    COLLECTION_NOT_FOUND,
    FIELD_INVALID_NAME,
    INVALID_PARAMETER,
    UNEXPECTED,
    assert_status,
    basic_schema,
    expect_error,
    field_by_name,
    load_state_name,
    partition_key_schema,
    pb_field,
    pk_field,
    raw_create_collection,
    raw_has_collection,
    vec_field,
)

# ---- create / list / has / drop ---------------------------------------------------------


def test_create_list_has_drop(client: MilvusClient, unique_name):
    name = unique_name("coll")
    assert not client.has_collection(name)
    client.create_collection(name, schema=basic_schema())
    assert client.has_collection(name)
    assert name in client.list_collections()
    client.drop_collection(name)
    assert not client.has_collection(name)
    assert name not in client.list_collections()


def test_create_with_schema_and_no_index_stays_not_loaded(client: MilvusClient, unique_name):
    name = unique_name("coll")
    client.create_collection(name, schema=basic_schema())
    assert load_state_name(client, name) == "NotLoad"


def test_describe_unknown_collection(client: MilvusClient, unique_name):
    # DescribeCollection has its own wording for a missing collection.
    missing = unique_name("missing")
    with expect_error(COLLECTION_NOT_FOUND, f"can't find collection[database=default][collection={missing}]"):
        client.describe_collection(missing)


def test_drop_unknown_collection_is_idempotent(client: MilvusClient, unique_name):
    name = unique_name("missing")
    client.drop_collection(name)  # must not raise
    assert not client.has_collection(name)


def test_drop_twice_is_idempotent(client: MilvusClient, unique_name):
    name = unique_name("coll")
    client.create_collection(name, schema=basic_schema())
    client.drop_collection(name)
    client.drop_collection(name)
    assert not client.has_collection(name)


def test_recreate_after_drop_gets_new_id(client: MilvusClient, unique_name):
    name = unique_name("coll")
    client.create_collection(name, schema=basic_schema())
    first = client.describe_collection(name)["collection_id"]
    client.drop_collection(name)
    client.create_collection(name, schema=basic_schema(dim=4))
    desc = client.describe_collection(name)
    assert desc["collection_id"] != first
    assert field_by_name(desc, "vector")["params"]["dim"] == 4


def test_identical_recreate_is_idempotent(client: MilvusClient, unique_name):
    name = unique_name("coll")
    client.create_collection(name, schema=basic_schema())
    cid = client.describe_collection(name)["collection_id"]
    client.create_collection(name, schema=basic_schema())  # same parameters: succeeds
    assert client.describe_collection(name)["collection_id"] == cid
    assert client.list_collections().count(name) == 1


def test_duplicate_create_with_different_parameters(client: MilvusClient, unique_name):
    name = unique_name("coll")
    client.create_collection(name, schema=basic_schema(dim=8))
    with expect_error(UNEXPECTED, "create duplicate collection with different parameters"):
        client.create_collection(name, schema=basic_schema(dim=16))
    desc = client.describe_collection(name)
    assert field_by_name(desc, "vector")["params"]["dim"] == 8


def test_collection_name_equal_to_existing_alias(client: MilvusClient, unique_name):
    target, alias = unique_name("coll"), unique_name("alias")
    client.create_collection(target, schema=basic_schema())
    client.create_alias(target, alias)
    with expect_error(UNEXPECTED, "conflicts with an existing alias"):
        client.create_collection(alias, schema=basic_schema())
    assert client.describe_alias(alias)["collection_name"] == target


def test_list_collections_lists_every_collection(client: MilvusClient, unique_name):
    names = {unique_name("coll") for _ in range(3)}
    for n in names:
        client.create_collection(n, schema=basic_schema())
    assert names <= set(client.list_collections())


# ---- name rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["a", "_", "_leading_underscore", "A1_b2", "with$dollar", "x" * 255],
    ids=["single", "underscore", "leading_underscore", "mixed", "dollar", "len255"],
)
def test_valid_collection_names(client: MilvusClient, name):
    client.create_collection(name, schema=basic_schema())
    assert client.has_collection(name)
    assert name in client.list_collections()


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("1abc", "the first character of a collection name must be an underscore or letter"),
        ("$abc", "the first character of a collection name must be an underscore or letter"),
        ("-abc", "the first character of a collection name must be an underscore or letter"),
        ("ab-c", "collection name can only contain numbers, letters"),
        ("ab c", "collection name can only contain numbers, letters"),
        ("ab.c", "collection name can only contain numbers, letters"),
        ("abé", "collection name can only contain numbers, letters"),
        ("x" * 256, "the length of a collection name must be less than 255 characters"),
    ],
    ids=["digit_first", "dollar_first", "dash_first", "dash", "space", "dot", "non_ascii", "len256"],
)
def test_invalid_collection_names(client: MilvusClient, name, fragment):
    with expect_error(INVALID_PARAMETER, fragment):
        client.create_collection(name, schema=basic_schema())
    assert name not in client.list_collections()


def test_empty_collection_name(raw_stub):
    # pymilvus refuses an empty name client-side, so send the request raw.
    status = raw_create_collection(raw_stub, "", [pk_field(), vec_field()])
    assert_status(status, INVALID_PARAMETER, "collection name should not be empty: invalid parameter")


@pytest.mark.parametrize(
    "field_name, fragment",
    [
        ("1f", "Invalid field name: 1f. The first character of a field name must be an underscore or letter.: "
               "field name invalid[field=1f]"),
        ("f-g", "Invalid field name: f-g. Field name can only contain numbers, letters, and underscores.: "
                "field name invalid[field=f-g]"),
        ("price$usd", "Invalid field name: price$usd. Field name can only contain numbers, letters, and "
                      "underscores.: field name invalid[field=price$usd]"),
        ("x" * 256, "The length of a field name must be less than 255 characters."),
        ("", "field name should not be empty: field name invalid[field=]"),
    ],
    ids=["digit_first", "dash", "dollar", "len256", "empty"],
)
def test_invalid_field_names(raw_stub, unique_name, field_name, fragment):
    name = unique_name("coll")
    status = raw_create_collection(
        raw_stub,
        name,
        [pk_field(), vec_field(), pb_field(field_name, schema_pb2.DataType.Int64)],
    )
    assert_status(status, FIELD_INVALID_NAME, fragment)
    assert not raw_has_collection(raw_stub, name)


# ---- schema validation ------------------------------------------------------------------
# The first four are refused by pymilvus client-side, so they go raw over gRPC.


def _raw_schema_cases():
    Int64, Float, VarChar = (schema_pb2.DataType.Int64, schema_pb2.DataType.Float,
                             schema_pb2.DataType.VarChar)
    return {
        "no_primary_key": dict(fields=[pb_field("a", Int64), vec_field()]),
        "two_primary_keys": dict(
            fields=[pk_field("a"), pb_field("b", VarChar, primary=True,
                                            type_params={"max_length": 8}), vec_field()]
        ),
        "float_primary_key": dict(fields=[pb_field("a", Float, primary=True), vec_field()]),
        "partition_key_on_vector": dict(
            fields=[pk_field(), pb_field("v", schema_pb2.DataType.FloatVector,
                                         partition_key=True, type_params={"dim": 8})],
            num_partitions=4,
        ),
    }


@pytest.mark.parametrize("case", list(_raw_schema_cases()))
def test_invalid_schema_raw(raw_stub, unique_name, case):
    spec = _raw_schema_cases()[case]
    name = unique_name("coll")
    status = raw_create_collection(raw_stub, name, spec["fields"],
                                   num_partitions=spec.get("num_partitions", 0))
    assert_status(status, INVALID_PARAMETER)
    assert status.reason, "an invalid schema must come with a reason"
    assert not raw_has_collection(raw_stub, name)


def _schema_no_vector():
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("n", DataType.INT64)
    return s


def _schema_duplicate_fields():
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=8)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=8)
    return s


def _schema_vector_without_dim():
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR)
    return s


def _schema_varchar_without_max_length():
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=8)
    s.add_field("title", DataType.VARCHAR)
    return s


@pytest.mark.parametrize(
    "build",
    [
        _schema_no_vector,
        _schema_duplicate_fields,
        _schema_vector_without_dim,
    ],
    ids=lambda f: f.__name__.removeprefix("_schema_"),
)
def test_invalid_schema(client: MilvusClient, unique_name, build):
    name = unique_name("coll")
    with expect_error(INVALID_PARAMETER):
        client.create_collection(name, schema=build())
    assert not client.has_collection(name)


def test_varchar_without_max_length_is_refused_as_milvus_does(client: MilvusClient, unique_name):
    name = unique_name("coll")
    # Milvus reports this one without an error class: code 65535.
    with expect_error(UNEXPECTED, f"type param(max_length) should be specified for the field(title) of collection {name}"):
        client.create_collection(name, schema=_schema_varchar_without_max_length())
    assert not client.has_collection(name)


def test_num_partitions_without_partition_key(client: MilvusClient, unique_name):
    name = unique_name("coll")
    with expect_error(INVALID_PARAMETER):
        client.create_collection(name, schema=basic_schema(), num_partitions=4)
    assert not client.has_collection(name)


# ---- describe_collection ----------------------------------------------------------------


def test_describe_collection_shape(client: MilvusClient, unique_name):
    name = unique_name("coll")
    schema = basic_schema(dim=16, dynamic=True, description="books and their vectors")
    schema.add_field("year", DataType.INT32)
    client.create_collection(
        name,
        schema=schema,
        consistency_level="Strong",
        num_shards=2,
        properties={"collection.ttl.seconds": "3600", "custom.key": "v1"},
    )
    desc = client.describe_collection(name)

    assert desc["collection_name"] == name
    assert desc["description"] == "books and their vectors"
    assert desc["collection_id"] != 0
    assert desc["enable_dynamic_field"] is True
    assert desc["consistency_level"] == 0 and desc["consistency_level_name"] == "Strong"
    assert desc["num_shards"] == 2
    assert desc["properties"] == {"collection.ttl.seconds": "3600", "custom.key": "v1"}
    assert desc["aliases"] == []
    assert desc.get("created_timestamp", 0) > 0
    assert desc.get("update_timestamp", 0) > 0

    # User fields only, in schema order, ids from 100; no `$meta`, no system fields.
    names = [f["name"] for f in desc["fields"]]
    assert names == ["id", "vector", "title", "year"]
    assert [f["field_id"] for f in desc["fields"]] == [100, 101, 102, 103]
    assert "$meta" not in names

    pk = field_by_name(desc, "id")
    assert pk["type"] == DataType.INT64 and pk.get("is_primary") is True
    assert not pk.get("auto_id", False)
    vec = field_by_name(desc, "vector")
    assert vec["type"] == DataType.FLOAT_VECTOR and vec["params"]["dim"] == 16
    title = field_by_name(desc, "title")
    assert title["type"] == DataType.VARCHAR and title["params"]["max_length"] == 64
    assert field_by_name(desc, "year")["type"] == DataType.INT32


def test_describe_collection_auto_id(client: MilvusClient, unique_name):
    name = unique_name("coll")
    schema = MilvusClient.create_schema(auto_id=True)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("emb", DataType.FLOAT_VECTOR, dim=4)
    client.create_collection(name, schema=schema)
    desc = client.describe_collection(name)
    pk = field_by_name(desc, "pk")
    assert pk["type"] == DataType.INT64 and pk.get("is_primary") is True
    assert pk.get("auto_id") is True and desc["auto_id"] is True
    assert desc["enable_dynamic_field"] is False


def test_describe_collection_varchar_pk(client: MilvusClient, unique_name):
    name = unique_name("coll")
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=32)
    schema.add_field("emb", DataType.FLOAT_VECTOR, dim=4)
    client.create_collection(name, schema=schema)
    pk = field_by_name(client.describe_collection(name), "pk")
    assert pk["type"] == DataType.VARCHAR and pk["params"]["max_length"] == 32
    assert pk.get("is_primary") is True and not pk.get("auto_id", False)


def test_describe_collection_default_consistency_is_bounded(client: MilvusClient, unique_name):
    name = unique_name("coll")
    client.create_collection(name, schema=basic_schema())
    desc = client.describe_collection(name)
    assert desc["consistency_level_name"] == "Bounded"


def test_describe_partition_key_collection(client: MilvusClient, unique_name):
    name = unique_name("coll")
    client.create_collection(name, schema=partition_key_schema(), num_partitions=4)
    desc = client.describe_collection(name)
    assert desc["num_partitions"] == 4
    assert field_by_name(desc, "tenant").get("is_partition_key") is True


def test_alter_and_drop_collection_properties(client: MilvusClient, unique_name):
    name = unique_name("coll")
    client.create_collection(name, schema=basic_schema(), properties={"a.b": "1"})
    before = client.describe_collection(name)
    assert before["properties"] == {"a.b": "1"}

    time.sleep(0.01)
    client.alter_collection_properties(name, properties={"a.b": "2", "c.d": "x"})
    altered = client.describe_collection(name)
    assert altered["properties"] == {"a.b": "2", "c.d": "x"}
    assert altered["update_timestamp"] > before["update_timestamp"]
    assert altered["created_timestamp"] == before["created_timestamp"]
    assert altered["collection_id"] == before["collection_id"]

    client.drop_collection_properties(name, property_keys=["a.b"])
    dropped = client.describe_collection(name)
    assert dropped["properties"] == {"c.d": "x"}
    assert dropped["update_timestamp"] > altered["update_timestamp"]


def test_alter_properties_of_unknown_collection(client: MilvusClient, unique_name):
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.alter_collection_properties(unique_name("missing"), properties={"a": "1"})


def test_created_timestamps_increase(client: MilvusClient, unique_name):
    a, b = unique_name("coll"), unique_name("coll")
    client.create_collection(a, schema=basic_schema())
    client.create_collection(b, schema=basic_schema())
    ta = client.describe_collection(a)["created_timestamp"]
    tb = client.describe_collection(b)["created_timestamp"]
    assert tb > ta
    assert client.describe_collection(b)["collection_id"] != client.describe_collection(a)[
        "collection_id"
    ]


# ---- rename -----------------------------------------------------------------------------


def test_rename_keeps_id_and_schema(client: MilvusClient, unique_name):
    old, new = unique_name("old"), unique_name("new")
    client.create_collection(old, schema=basic_schema(), properties={"k": "v"})
    before = client.describe_collection(old)
    client.rename_collection(old, new)
    assert not client.has_collection(old)
    assert client.has_collection(new)
    after = client.describe_collection(new)
    assert after["collection_name"] == new
    assert after["collection_id"] == before["collection_id"]
    assert after["fields"] == before["fields"]
    assert after["properties"] == {"k": "v"}
    assert new in client.list_collections() and old not in client.list_collections()


def test_rename_onto_existing_name(client: MilvusClient, unique_name):
    a, b = unique_name("a"), unique_name("b")
    client.create_collection(a, schema=basic_schema())
    client.create_collection(b, schema=basic_schema())
    with expect_error(UNEXPECTED, "duplicated new collection name"):
        client.rename_collection(a, b)
    assert client.has_collection(a) and client.has_collection(b)


def test_rename_unknown_collection(client: MilvusClient, unique_name):
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.rename_collection(unique_name("missing"), unique_name("new"))


def test_rename_to_invalid_name(client: MilvusClient, unique_name):
    a = unique_name("a")
    client.create_collection(a, schema=basic_schema())
    with expect_error(INVALID_PARAMETER, "the first character of a collection name"):
        client.rename_collection(a, "9bad")
    assert client.has_collection(a)


def test_rename_into_another_database(client: MilvusClient, server, unique_name):
    db = unique_name("db")
    client.create_database(db)
    old, new = unique_name("old"), unique_name("new")
    client.create_collection(old, schema=basic_schema())
    cid = client.describe_collection(old)["collection_id"]

    client.rename_collection(old, new, target_db=db)

    assert not client.has_collection(old)
    other = MilvusClient(uri=server.uri, db_name=db)
    try:
        assert other.list_collections() == [new]
        assert other.describe_collection(new)["collection_id"] == cid
    finally:
        other.close()


# ---- quick setup ------------------------------------------------------------------------


def test_quick_setup_create_collection(client: MilvusClient, unique_name):
    name = unique_name("qs")
    client.create_collection(name, dimension=8)

    desc = client.describe_collection(name)
    assert [f["name"] for f in desc["fields"]] == ["id", "vector"]
    pk = field_by_name(desc, "id")
    assert pk["type"] == DataType.INT64 and pk.get("is_primary") is True
    vec = field_by_name(desc, "vector")
    assert vec["type"] == DataType.FLOAT_VECTOR and vec["params"]["dim"] == 8
    assert desc["enable_dynamic_field"] is True

    assert load_state_name(client, name) == "Loaded"
    assert client.list_indexes(name) == ["vector"]
    index = client.describe_index(name, "vector")
    assert index is not None, "describe_index returned None (index not found)"
    assert index["index_type"] == "AUTOINDEX"
    assert index["metric_type"] == "COSINE"
    assert index["field_name"] == "vector"
