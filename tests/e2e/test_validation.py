"""Insert/upsert validation: each bad batch is rejected with code 1100 and a message that
names the problem, and leaves NO row of the batch behind (checked with count(*) and get).

Where pymilvus would refuse to send a bad batch itself, the request is built by hand
(raw gRPC), like helpers.raw_create_collection does for schemas.
"""

from __future__ import annotations

import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import MilvusException
from pymilvus.grpc_gen import schema_pb2

from helpers import (
    COLLECTION_NOT_FOUND,
    INVALID_PARAMETER,
    PARTITION_NOT_FOUND,
    assert_ok,
    assert_status,
    count_rows,
    expect_error,
    fd_float_vector,
    fd_int,
    fd_json,
    fd_long,
    fd_varchar,
    raw_write,
    rows_by_pk,
)

DT = schema_pb2.DataType
BASE = 5  # valid rows inserted before every bad batch (ids 0..4)
BAD_IDS = [100, 101, 102]


def schema():
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    s.add_field("name", DataType.VARCHAR, max_length=8)
    s.add_field("n", DataType.INT32)
    s.add_field("small", DataType.INT8)
    s.add_field("arr", DataType.ARRAY, element_type=DataType.INT64, max_capacity=3)
    s.add_field("opt", DataType.INT32, nullable=True)
    s.add_field("j", DataType.JSON)
    return s


def good_row(i: int) -> dict:
    return {"id": i, "vec": [1.0, 2.0, 3.0, float(i)], "name": f"r{i}", "n": i, "small": 1,
            "arr": [i], "opt": None, "j": {"i": i}}


@pytest.fixture
def coll(client, unique_name):
    name = unique_name("val")
    client.create_collection(name, schema=schema())
    client.insert(name, [good_row(i) for i in range(BASE)])
    client.load_collection(name)
    return name


def assert_nothing_written(client, name):
    assert count_rows(client, name) == BASE
    assert list(client.get(name, ids=BAD_IDS)) == []
    assert client.get_collection_stats(name)["row_count"] == BASE


def bad_batch(**override_for_101) -> list:
    rows = [good_row(i) for i in BAD_IDS]
    rows[1].update(override_for_101)
    return rows


def raw_columns(n_override=None, skip=(), extra=(), rows=3, num_rows=None):
    """Valid raw columns for ids 100..102, with single columns replaced/removed/added."""
    ids = BAD_IDS[:rows]
    cols = {
        "id": fd_long("id", ids),
        "vec": fd_float_vector("vec", [[1.0, 2.0, 3.0, 4.0]] * rows),
        "name": fd_varchar("name", [f"r{i}" for i in ids]),
        "n": fd_int("n", list(range(rows))),
        "small": fd_int("small", [1] * rows, DT.Int8),
        "arr": schema_pb2.FieldData(
            type=DT.Array,
            field_name="arr",
            scalars=schema_pb2.ScalarField(
                array_data=schema_pb2.ArrayArray(
                    element_type=DT.Int64,
                    data=[schema_pb2.ScalarField(long_data=schema_pb2.LongArray(data=[1]))] * rows,
                )
            ),
        ),
        "opt": fd_int("opt", [0] * rows, valid=[False] * rows),
        "j": fd_json("j", [{"k": 1}] * rows),
    }
    if n_override:
        cols.update(n_override)
    for name in skip:
        cols.pop(name)
    fields = list(cols.values()) + list(extra)
    return fields, (num_rows if num_rows is not None else rows)


# ---- through MilvusClient -------------------------------------------------------------


def test_wrong_vector_dim(client, coll):
    rows = [dict(good_row(i), vec=[1.0, 2.0, 3.0, 4.0, 5.0]) for i in BAD_IDS]
    with expect_error(INVALID_PARAMETER, "dim"):
        client.insert(coll, rows)
    assert_nothing_written(client, coll)


def test_one_row_with_wrong_vector_dim(client, coll):
    with expect_error(INVALID_PARAMETER, "dim"):
        client.insert(coll, bad_batch(vec=[1.0, 2.0, 3.0]))
    assert_nothing_written(client, coll)


def test_varchar_over_max_length(client, coll):
    with expect_error(INVALID_PARAMETER, "name", "length"):
        client.insert(coll, bad_batch(name="abcdefghi"))
    assert_nothing_written(client, coll)
    # Exactly max_length (ASCII) is fine.
    client.insert(coll, [dict(good_row(8), name="abcdefgh")])
    assert client.get(coll, ids=[8], output_fields=["name"])[0]["name"] == "abcdefgh"


def test_array_over_max_capacity(client, coll):
    with expect_error(INVALID_PARAMETER, "arr", "capacity"):
        client.insert(coll, bad_batch(arr=[1, 2, 3, 4]))
    assert_nothing_written(client, coll)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")], ids=["nan", "inf", "-inf"])
def test_nan_or_infinity_in_float_vector(client, coll, bad):
    # Milvus refuses NaN and +-Inf in float vectors (proxy validation, VerifyFloats32).
    with expect_error(INVALID_PARAMETER):
        client.insert(coll, bad_batch(vec=[1.0, bad, 0.0, 0.0]))
    assert_nothing_written(client, coll)


def test_upsert_rejected_leaves_old_rows(client, coll):
    with expect_error(INVALID_PARAMETER, "dim"):
        client.upsert(coll, [dict(good_row(i), name="new", vec=[1.0]) for i in range(3)])
    got = rows_by_pk(client, coll, output_fields=["name"])
    assert {k: v["name"] for k, v in got.items()} == {i: f"r{i}" for i in range(BASE)}
    with expect_error(INVALID_PARAMETER, "name", "length"):
        client.upsert(coll, [dict(good_row(0), name="new"), dict(good_row(1), name="x" * 20)])
    got = rows_by_pk(client, coll, output_fields=["name"])
    assert {k: v["name"] for k, v in got.items()} == {i: f"r{i}" for i in range(BASE)}


def test_insert_into_missing_partition_or_collection(client, coll):
    with expect_error(PARTITION_NOT_FOUND, "nopart"):
        client.insert(coll, [good_row(100)], partition_name="nopart")
    with expect_error(COLLECTION_NOT_FOUND, "nocoll"):
        client.insert("nocoll", [good_row(100)])
    assert_nothing_written(client, coll)


# ---- raw requests (pymilvus checks these on the client side) ----------------------------


def test_raw_valid_batch_is_accepted(client, coll, raw_stub):
    """Guards the raw builders: unmodified, the raw batch goes in."""
    fields, n = raw_columns()
    res = raw_write(raw_stub, coll, fields, n)
    assert_ok(res.status)
    assert list(res.IDs.int_id.data) == BAD_IDS
    assert count_rows(client, coll) == BASE + 3


def test_raw_missing_field(client, coll, raw_stub):
    fields, n = raw_columns(skip=["name"])
    assert_status(raw_write(raw_stub, coll, fields, n).status, INVALID_PARAMETER, "name")
    assert_nothing_written(client, coll)


def test_raw_unknown_field_without_dynamic_field(client, coll, raw_stub):
    fields, n = raw_columns(extra=[fd_long("bogus", [1, 2, 3])])
    assert_status(raw_write(raw_stub, coll, fields, n).status, INVALID_PARAMETER, "bogus")
    assert_nothing_written(client, coll)


def test_raw_dynamic_column_without_dynamic_field(client, coll, raw_stub):
    fields, n = raw_columns(extra=[fd_json("$meta", [{"x": 1}] * 3, dynamic=True)])
    assert_status(raw_write(raw_stub, coll, fields, n).status, INVALID_PARAMETER, "dynamic")
    assert_nothing_written(client, coll)


def test_raw_wrong_type(client, coll, raw_stub):
    fields, n = raw_columns(n_override={"n": fd_varchar("n", ["a", "b", "c"])})
    assert_status(raw_write(raw_stub, coll, fields, n).status, INVALID_PARAMETER, "n")
    assert_nothing_written(client, coll)
    # Right type tag, wrong payload (Int32 column carrying long_data).
    wrong = schema_pb2.FieldData(
        type=DT.Int32, field_name="n",
        scalars=schema_pb2.ScalarField(long_data=schema_pb2.LongArray(data=[1, 2, 3])),
    )
    fields, n = raw_columns(n_override={"n": wrong})
    assert_status(raw_write(raw_stub, coll, fields, n).status, INVALID_PARAMETER, "n")
    assert_nothing_written(client, coll)


def test_raw_null_in_non_nullable_field(client, coll, raw_stub):
    fields, n = raw_columns(n_override={"n": fd_int("n", [1, 0, 3], valid=[True, False, True])})
    assert_status(raw_write(raw_stub, coll, fields, n).status, INVALID_PARAMETER, "n", "null")
    assert_nothing_written(client, coll)


def test_raw_int8_out_of_range(client, coll, raw_stub):
    fields, n = raw_columns(n_override={"small": fd_int("small", [1, 300, 2], DT.Int8)})
    assert_status(raw_write(raw_stub, coll, fields, n).status, INVALID_PARAMETER, "small")
    assert_nothing_written(client, coll)


def test_raw_num_rows_mismatch(client, coll, raw_stub):
    fields, _ = raw_columns()
    assert_status(raw_write(raw_stub, coll, fields, 4).status, INVALID_PARAMETER, "rows")
    assert_nothing_written(client, coll)
    # One column shorter than the others.
    fields, n = raw_columns(n_override={"n": fd_int("n", [1, 2])})
    assert_status(raw_write(raw_stub, coll, fields, n).status, INVALID_PARAMETER, "n")
    assert_nothing_written(client, coll)


def test_raw_invalid_json(client, coll, raw_stub):
    bad = schema_pb2.FieldData(
        type=DT.JSON, field_name="j",
        scalars=schema_pb2.ScalarField(json_data=schema_pb2.JSONArray(data=[b"{}", b"{not json", b"{}"])),
    )
    fields, n = raw_columns(n_override={"j": bad})
    assert_status(raw_write(raw_stub, coll, fields, n).status, INVALID_PARAMETER, "json")
    assert_nothing_written(client, coll)


def test_raw_upsert_missing_field(client, coll, raw_stub):
    fields, n = raw_columns(skip=["vec"])
    assert_status(raw_write(raw_stub, coll, fields, n, upsert=True).status, INVALID_PARAMETER, "vec")
    assert_nothing_written(client, coll)


def test_raw_primary_key_values_with_auto_id(client, unique_name, raw_stub):
    name = unique_name("autoval")
    s = MilvusClient.create_schema(auto_id=True, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True, auto_id=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(name, schema=s)
    client.load_collection(name)
    res = raw_write(raw_stub, name, [fd_long("id", [1, 2]), fd_float_vector("vec", [[1.0, 2.0]] * 2)], 2)
    assert_status(res.status, INVALID_PARAMETER, "id")
    assert count_rows(client, name) == 0
    # Without the pk column it is fine.
    res = raw_write(raw_stub, name, [fd_float_vector("vec", [[1.0, 2.0]] * 2)], 2)
    assert_ok(res.status)
    assert len(res.IDs.int_id.data) == 2
    assert count_rows(client, name) == 2


def test_raw_dynamic_field_must_be_json_objects(client, unique_name, raw_stub):
    name = unique_name("dynval")
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(name, schema=s)
    client.load_collection(name)
    fields = [fd_long("id", [1, 2]), fd_float_vector("vec", [[1.0, 2.0]] * 2),
              fd_json("$meta", [{"a": 1}, [1, 2]], dynamic=True)]
    assert_status(raw_write(raw_stub, name, fields, 2).status, INVALID_PARAMETER)
    assert count_rows(client, name) == 0
    fields[2] = fd_json("$meta", [{"a": 1}, {"b": "x"}], dynamic=True)
    assert_ok(raw_write(raw_stub, name, fields, 2).status)
    assert rows_by_pk(client, name, output_fields=["a", "b"]) == {1: {"id": 1, "a": 1}, 2: {"id": 2, "b": "x"}}


# ---- delete / query requests ----------------------------------------------------------------


def test_raw_delete_with_empty_expression_is_refused(client, coll, raw_stub):
    from pymilvus.grpc_gen import milvus_pb2

    resp = raw_stub.Delete(milvus_pb2.DeleteRequest(collection_name=coll, expr=""), timeout=15)
    assert resp.status.code != 0, "an empty delete expression must not delete everything"
    assert count_rows(client, coll) == BASE


@pytest.mark.parametrize("expr", ["id + 1", "name", "id in [1, 2", "nosuch == 1"])
def test_delete_with_invalid_expression(client, coll, expr):
    with expect_error(INVALID_PARAMETER):
        client.delete(coll, filter=expr)
    assert count_rows(client, coll) == BASE


def test_delete_on_unknown_collection_or_partition(client, coll):
    with expect_error(COLLECTION_NOT_FOUND, "nocoll"):
        client.delete("nocoll", ids=[1])
    with expect_error(PARTITION_NOT_FOUND, "nopart"):
        client.delete(coll, ids=[1], partition_name="nopart")
    assert count_rows(client, coll) == BASE


def test_query_limit_above_the_maximum_window(client, coll):
    # Milvus: (offset + limit) must be within [1, 16384].
    with pytest.raises(MilvusException) as info:
        client.query(coll, filter="id >= 0", output_fields=["id"], limit=16385)
    assert "16384" in info.value.message or "limit" in info.value.message
    with pytest.raises(MilvusException):
        client.query(coll, filter="id >= 0", output_fields=["id"], limit=16000, offset=1000)
