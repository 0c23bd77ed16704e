"""Schema and property rules refused in Milvus's words and codes (as Milvus's own suite
expects them), through stock pymilvus."""

from __future__ import annotations

import pytest
from pymilvus import DataType, MilvusClient

from helpers import COLLECTION_NOT_LOADED, INVALID_PARAMETER, UNEXPECTED, expect_error, wait_restore


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


def test_alter_collection_field_changes_lengths_and_memory_settings(client: MilvusClient, unique_name):
    name = unique_name("rules")
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, max_length=32, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=4)
    schema.add_field("title", DataType.VARCHAR, max_length=32, nullable=True)
    schema.add_field("tags", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=8, max_length=32)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index)
    client.insert(name, [{"id": "a", "vector": [0.0] * 4, "title": "x" * 20, "tags": ["y" * 20]}])

    client.release_collection(name)
    client.alter_collection_field(name, field_name="title", field_params={"max_length": 8, "mmap.enabled": True})
    client.alter_collection_field(name, field_name="tags", field_params={"max_length": 8, "max_capacity": 2})
    fields = {f["name"]: f["params"] for f in client.describe_collection(name)["fields"]}
    assert fields["title"]["max_length"] == 8 and fields["title"]["mmap_enabled"] is True
    assert fields["tags"]["max_length"] == 8 and fields["tags"]["max_capacity"] == 2
    # New rows meet the new limits; the stored row is kept as it was.
    with expect_error(INVALID_PARAMETER, "length of varchar field title exceeds max length"):
        client.insert(name, [{"id": "b", "vector": [0.0] * 4, "title": "x" * 9, "tags": []}])
    with expect_error(INVALID_PARAMETER, 'length of Array array field "tags" exceeds max length'):
        client.insert(name, [{"id": "b", "vector": [0.0] * 4, "title": "ok", "tags": ["y" * 9]}])
    client.insert(name, [{"id": "b", "vector": [0.0] * 4, "title": "x" * 8, "tags": ["y" * 8, "z"]}])

    with expect_error(INVALID_PARAMETER, "can not modify the maxlength for non-string types"):
        client.alter_collection_field(name, field_name="vector", field_params={"max_length": 8})
    with expect_error(INVALID_PARAMETER, "element_type does not allow update in collection field param"):
        client.alter_collection_field(name, field_name="tags", field_params={"element_type": DataType.INT64})
    with expect_error(INVALID_PARAMETER, "nullable does not allow update in collection field param"):
        client.alter_collection_field(name, field_name="title", field_params={"nullable": False})
    with expect_error(INVALID_PARAMETER, "does not exist in collection"):
        client.alter_collection_field(name, field_name="nope", field_params={"max_length": 8})

    client.load_collection(name)
    with expect_error(INVALID_PARAMETER, "can not alter collection field properties if collection loaded"):
        client.alter_collection_field(name, field_name="vector", field_params={"mmap.enabled": True})
    client.alter_collection_field(name, field_name="id", field_params={"max_length": 64})  # lengths change while loaded
    assert {r["id"]: r["title"] for r in client.query(name, filter="", output_fields=["title"], limit=10)} == {"a": "x" * 20, "b": "x" * 8}


def test_warmup_policies_are_checked_everywhere(client: MilvusClient, unique_name):
    bad = schema_with(("title", DataType.VARCHAR, {"max_length": 8, "warmup": "eventually"}))
    with expect_error(INVALID_PARAMETER, "invalid warmup policy: eventually, expected: sync, async, disable"):
        client.create_collection(unique_name("rules"), schema=bad)
    with expect_error(INVALID_PARAMETER, "invalid warmup policy"):
        client.create_collection(unique_name("rules"), dimension=4, properties={"warmup.vectorIndex": "soon"})
    name = unique_name("rules")
    client.create_collection(name, schema=schema_with(("title", DataType.VARCHAR, {"max_length": 8, "warmup": "sync"})))
    with expect_error(INVALID_PARAMETER, "invalid warmup policy"):
        client.alter_collection_properties(name, properties={"warmup.scalarField": "never"})
    client.alter_collection_properties(name, properties={"warmup.scalarField": "async"})
    with expect_error(INVALID_PARAMETER, "invalid warmup policy"):
        client.alter_collection_field(name, field_name="title", field_params={"warmup": "never"})
    index = client.prepare_index_params()
    index.add_index("vector", index_type="HNSW", metric_type="L2", params={"M": 16, "warmup": "bad_value"})
    with expect_error(INVALID_PARAMETER, "invalid warmup policy"):
        client.create_index(name, index)


def test_dynamic_field_switched_on_for_real(client: MilvusClient, unique_name):
    name = unique_name("rules")
    schema = schema_with(dim=4)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index)
    client.insert(name, [{"id": i, "vector": [float(i)] * 4} for i in range(3)])
    client.flush(name)
    client.insert(name, [{"id": 3, "vector": [3.0] * 4}])  # growing when the switch happens
    assert client.describe_collection(name)["enable_dynamic_field"] is False

    client.alter_collection_properties(name, properties={"dynamicfield.enabled": False})  # already off: nothing to do
    client.alter_collection_properties(name, properties={"dynamicfield.enabled": True})
    assert client.describe_collection(name)["enable_dynamic_field"] is True
    assert "dynamicfield.enabled" not in client.describe_collection(name)["properties"]
    client.insert(name, [{"id": 10, "vector": [1.0] * 4, "color": "red"}])
    for reload in (False, True):
        if reload:
            client.release_collection(name)
            client.load_collection(name)
        assert [r["id"] for r in client.query(name, filter="color == 'red'")] == [10]
        old = client.query(name, filter="id < 4", output_fields=["color"])
        assert sorted(r["id"] for r in old) == [0, 1, 2, 3] and all("color" not in r for r in old)

    with expect_error(INVALID_PARAMETER, "dynamic schema cannot supported to be disabled: invalid parameter"):
        client.alter_collection_properties(name, properties={"dynamicfield.enabled": False})
    with expect_error(INVALID_PARAMETER, "cannot delete key dynamicfield.enabled"):
        client.drop_collection_properties(name, property_keys=["dynamicfield.enabled"])
    with expect_error(INVALID_PARAMETER, "can not delete mmap properties if collection loaded"):
        client.drop_collection_properties(name, property_keys=["mmap.enabled"])

    client.flush(name)  # a snapshot captures sealed segments
    client.create_snapshot("dyn_snap", name)
    job = client.restore_snapshot("dyn_snap", name, name + "_copy")
    wait_restore(client, job)
    client.load_collection(name + "_copy")
    assert client.describe_collection(name + "_copy")["enable_dynamic_field"] is True
    assert [r["id"] for r in client.query(name + "_copy", filter="color == 'red'")] == [10]
    client.drop_snapshot("dyn_snap", name)
