"""Adding a field to an existing collection (pymilvus `add_collection_field`, which sends
AlterCollectionSchema): Milvus's rules and words for what may be added; rows stored before
read the field as null or its default; it is filterable, survives a restart, and a snapshot
and its restore carry it."""

from __future__ import annotations

import pytest
from pymilvus import DataType, MilvusClient

from helpers import INVALID_PARAMETER, expect_error, wait_restore

ROWS = 20


def make(client: MilvusClient, name: str) -> None:
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    client.create_collection(name, schema=schema)
    client.insert(name, [{"id": i, "vec": [float(i), 0.0, 0.0, 1.0]} for i in range(ROWS // 2)])
    client.flush(name)
    client.insert(name, [{"id": i, "vec": [float(i), 0.0, 0.0, 1.0]} for i in range(ROWS // 2, ROWS)])  # growing
    client.load_collection(name)


def by_id(client: MilvusClient, name: str, field: str) -> dict:
    rows = client.query(name, filter="id >= 0", output_fields=["id", field], limit=1000)
    return {r["id"]: r[field] for r in rows}


def test_older_rows_read_the_default_and_new_rows_carry_the_field(client, unique_name):
    name = unique_name("add")
    make(client, name)
    version = client.describe_collection(name).get("schema_version", None)
    client.add_collection_field(name, "score", DataType.INT64, nullable=True, default_value=7)
    client.add_collection_field(name, "note", DataType.VARCHAR, max_length=16, nullable=True)
    fields = {f["name"]: f for f in client.describe_collection(name)["fields"]}
    assert fields["score"]["nullable"] and fields["score"]["default_value"].long_data == 7
    assert fields["score"]["field_id"] > fields["vec"]["field_id"]
    assert by_id(client, name, "score") == {i: 7 for i in range(ROWS)}
    assert by_id(client, name, "note") == {i: None for i in range(ROWS)}
    client.insert(name, [{"id": 100, "vec": [1.0, 1.0, 1.0, 1.0], "score": 3, "note": "new"}])
    assert client.query(name, filter="score == 3", output_fields=["id", "note"]) == [{"id": 100, "note": "new"}]
    assert len(client.query(name, filter="note is null", output_fields=["id"], limit=1000)) == ROWS
    if version is not None:
        assert client.describe_collection(name)["schema_version"] > version


def test_added_fields_survive_a_restart_and_a_snapshot_restore(fresh_server, unique_name):
    c = fresh_server.client()
    name, target = unique_name("add"), unique_name("dst")
    make(c, name)
    c.add_collection_field(name, "score", DataType.INT64, nullable=True, default_value=7)
    c.upsert(name, [{"id": 1, "vec": [0.0, 0.0, 0.0, 1.0], "score": 11}])
    expected = {i: 7 for i in range(ROWS)} | {1: 11}
    fresh_server.restart()
    c = fresh_server.client()
    c.load_collection(name)
    assert by_id(c, name, "score") == expected
    c.flush(name)
    c.compact(name)
    c.create_snapshot("s", name)
    state, _ = wait_restore(c, c.restore_snapshot("s", name, target))
    assert state.state == "RestoreSnapshotCompleted", state
    assert [f["name"] for f in c.describe_collection(target)["fields"]] == ["id", "vec", "score"]
    c.load_collection(target)
    assert by_id(c, target, "score") == expected


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"field_name": "score", "data_type": DataType.INT64, "nullable": False}, "added field must be nullable"),
        ({"field_name": "vec", "data_type": DataType.INT64, "nullable": True}, "duplicated field name vec"),
        ({"field_name": "p", "data_type": DataType.INT64, "nullable": True, "is_partition_key": True},
         "not support to add partition key field"),
    ],
)
def test_what_may_not_be_added_is_refused_in_milvus_words(client, unique_name, kwargs, words):
    name = unique_name("add")
    make(client, name)
    with expect_error(INVALID_PARAMETER, words):
        client.add_collection_field(name, **kwargs)
    assert [f["name"] for f in client.describe_collection(name)["fields"]] == ["id", "vec"]
