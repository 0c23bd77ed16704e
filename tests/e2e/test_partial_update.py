"""Partial update (pymilvus `upsert(..., partial_update=True)`): fields a row leaves out
keep their stored values; new keys take null or the field's default."""

from __future__ import annotations

from pymilvus import DataType, MilvusClient

from helpers import INVALID_PARAMETER, expect_error


def make(client: MilvusClient, name: str) -> None:
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=4)
    schema.add_field("title", DataType.VARCHAR, max_length=32)
    schema.add_field("score", DataType.INT64, nullable=True)
    schema.add_field("level", DataType.INT64, default_value=7)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index)
    rows = [{"id": i, "vector": [float(i)] * 4, "title": f"t{i}", "score": i * 10, "level": i, "color": "red"} for i in range(4)]
    client.insert(name, rows[:2])
    client.flush(name)
    client.insert(name, rows[2:])  # stored rows sealed and growing alike


def rows_of(client: MilvusClient, name: str) -> dict:
    got = client.query(name, filter="", output_fields=["*"], limit=100)
    return {r["id"]: r for r in got}


def test_left_out_fields_keep_their_stored_values(client: MilvusClient, unique_name):
    name = unique_name("partial")
    make(client, name)
    # pymilvus sends one field set per batch.
    client.upsert(name, [{"id": 1, "score": 99}, {"id": 2, "score": 98}], partial_update=True)
    client.upsert(name, [{"id": 3, "title": "new", "vector": [9.0] * 4}], partial_update=True)
    got = rows_of(client, name)
    assert (got[1]["title"], got[1]["score"], got[1]["level"], got[1]["vector"], got[1]["color"]) == ("t1", 99, 1, [1.0] * 4, "red")
    assert (got[2]["title"], got[2]["score"]) == ("t2", 98)
    assert (got[3]["title"], got[3]["score"], got[3]["vector"]) == ("new", 30, [9.0] * 4)
    assert (got[0]["score"], got[0]["title"]) == (0, "t0")  # an untouched row
    assert client.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"] == 4


def test_new_keys_need_every_field_without_null_or_default(client: MilvusClient, unique_name):
    name = unique_name("partial")
    make(client, name)
    client.upsert(name, [{"id": 50, "vector": [5.0] * 4, "title": "fresh"}], partial_update=True)
    fresh = rows_of(client, name)[50]
    assert (fresh["score"], fresh["level"], fresh["title"]) == (None, 7, "fresh")
    with expect_error(INVALID_PARAMETER, "fieldSchema(vector) has no corresponding fieldData pass in"):
        client.upsert(name, [{"id": 60, "title": "no vector"}], partial_update=True)
    assert 60 not in rows_of(client, name)
