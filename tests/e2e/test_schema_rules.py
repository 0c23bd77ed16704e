"""Schema and property rules refused in Milvus's words and codes (as Milvus's own suite
expects them), through stock pymilvus."""

from __future__ import annotations

import pytest
from pymilvus import DataType, MilvusClient

from helpers import COLLECTION_NOT_LOADED, INVALID_PARAMETER, UNEXPECTED, expect_error


def schema_with(*extra, pk_kwargs=None, dim=8):
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True, **(pk_kwargs or {}))
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    for name, data_type, kwargs in extra:
        schema.add_field(name, data_type, **kwargs)
    return schema


@pytest.mark.parametrize(
    "schema_args,code,message",
    [
        ({"pk_kwargs": {"nullable": True}}, INVALID_PARAMETER, "primary field not support null: invalid parameter"),
        ({"pk_kwargs": {"default_value": 5}}, INVALID_PARAMETER, "primary field not support default_value: invalid parameter"),
        ({"dim": 1}, UNEXPECTED, "invalid dimension: 1. should be in range 2 ~ 32768"),
        ({"dim": 32769}, UNEXPECTED, "invalid dimension: 32769 of field vector. float vector dimension should be in range 2 ~ 32768"),
    ],
    ids=["pk-nullable", "pk-default", "dim-1", "dim-too-large"],
)
def test_schema_refusals(client: MilvusClient, unique_name, schema_args, code, message):
    with expect_error(code, message):
        client.create_collection(unique_name("rules"), schema=schema_with(**schema_args))


@pytest.mark.parametrize(
    "field,message",
    [
        (("f", DataType.FLOAT, {"default_value": True}), "type (Float) of field (f) is not equal to the type(DataType_Bool) of default_value"),
        (("j", DataType.JSON, {"default_value": "{}"}), "type not support default_value, type:JSON"),
        (
            ("s", DataType.VARCHAR, {"max_length": 2, "default_value": "abc"}),
            "the length (3) of string exceeds max length (2): invalid parameter",
        ),
        (
            ("s", DataType.VARCHAR, {"max_length": 65536}),
            "the maximum length specified for the field(s) should be in (0, 65535], but got 65536 instead: invalid parameter",
        ),
        (("a", DataType.ARRAY, {"element_type": DataType.INT64}), "the value for max_capacity of field a must be an integer"),
    ],
    ids=["default-type", "json-default", "default-too-long", "max-length", "max-capacity"],
)
def test_field_refusals(client: MilvusClient, unique_name, field, message):
    with expect_error(INVALID_PARAMETER, message):
        client.create_collection(unique_name("rules"), schema=schema_with(field))


def test_ten_vector_fields_and_no_more(client: MilvusClient, unique_name):
    vectors = [(f"v{i}", DataType.FLOAT_VECTOR, {"dim": 4}) for i in range(9)]
    name = unique_name("rules")
    client.create_collection(name, schema=schema_with(*vectors))
    assert sum(f["type"] == DataType.FLOAT_VECTOR for f in client.describe_collection(name)["fields"]) == 10
    with expect_error(UNEXPECTED, "maximum vector field's number should be limited to 10"):
        client.create_collection(unique_name("rules"), schema=schema_with(*vectors, ("v9", DataType.FLOAT_VECTOR, {"dim": 4})))


def test_property_changes_need_something_to_change(client: MilvusClient, unique_name):
    name = unique_name("rules")
    client.create_collection(name, dimension=4)
    with expect_error(INVALID_PARAMETER, "no properties or delete keys provided"):
        client.drop_collection_properties(name, property_keys=[])
    db = unique_name("db")
    client.create_database(db)
    with expect_error(INVALID_PARAMETER, "alter database with empty properties and delete keys"):
        client.drop_database_properties(db, property_keys=[])


def test_mmap_changes_only_while_released(client: MilvusClient, unique_name):
    name = unique_name("rules")
    client.create_collection(name, dimension=4)  # the quick form loads it
    with expect_error(INVALID_PARAMETER, "can not alter mmap properties if collection loaded"):
        client.alter_collection_properties(name, properties={"mmap.enabled": True})
    client.release_collection(name)
    client.alter_collection_properties(name, properties={"mmap.enabled": True})
    assert client.describe_collection(name)["properties"]["mmap.enabled"] == "True"


def test_partition_reads_name_missing_partitions_first(client: MilvusClient, unique_name):
    name = unique_name("rules")
    client.create_collection(name, dimension=4)
    client.release_collection(name)
    with expect_error(INVALID_PARAMETER, "due to no partition specified"):
        client.load_partitions(name, partition_names=[])
    # A missing partition is named before the collection is found not loaded.
    with expect_error(UNEXPECTED, "partition name nowhere not found"):
        client.query(name, filter="id >= 0", partition_names=["nowhere"])
    with expect_error(COLLECTION_NOT_LOADED):
        client.query(name, filter="id >= 0", partition_names=["_default"])
