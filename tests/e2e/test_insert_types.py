"""Insert and read back every supported data type, through MilvusClient.

Each round trip is checked in three places: straight from the growing (unflushed) data,
after a flush (sealed data), and after a flush plus a graceful restart, when the rows can
only come from the Parquet insert logs.
"""

from __future__ import annotations

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from helpers import count_rows, pks, rows_by_pk

MODES = ["growing", "flushed", "restarted"]


def settle(srv, client: MilvusClient, collection: str, mode: str) -> MilvusClient:
    """Put the inserted data where `mode` says and return a client to read it with."""
    if mode == "growing":
        return client
    client.flush(collection)
    if mode == "flushed":
        return client
    srv.restart()
    c = srv.client()
    c.load_collection(collection)
    return c


def f32_vec(i: int, dim: int) -> list:
    # Exactly representable in float32, so the round trip can be compared with ==.
    return [i * 0.5, -float(i), 0.125, 1.0, 2.0 ** -(i % 8), 3.0, -0.75, 1024.0][:dim]


def scalar_schema():
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=8)
    s.add_field("b", DataType.BOOL)
    s.add_field("i8", DataType.INT8)
    s.add_field("i16", DataType.INT16)
    s.add_field("i32", DataType.INT32)
    s.add_field("i64", DataType.INT64)
    s.add_field("f", DataType.FLOAT)
    s.add_field("d", DataType.DOUBLE)
    s.add_field("s", DataType.VARCHAR, max_length=32)
    s.add_field("j", DataType.JSON)
    s.add_field("a_i64", DataType.ARRAY, element_type=DataType.INT64, max_capacity=5)
    s.add_field("a_i32", DataType.ARRAY, element_type=DataType.INT32, max_capacity=5)
    s.add_field("a_i8", DataType.ARRAY, element_type=DataType.INT8, max_capacity=5)
    s.add_field("a_f", DataType.ARRAY, element_type=DataType.FLOAT, max_capacity=5)
    s.add_field("a_d", DataType.ARRAY, element_type=DataType.DOUBLE, max_capacity=5)
    s.add_field("a_b", DataType.ARRAY, element_type=DataType.BOOL, max_capacity=5)
    s.add_field("a_s", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=5, max_length=8)
    return s


def scalar_row(i: int) -> dict:
    n = i % 6  # array lengths 0..5
    return {
        "id": i,
        "vec": f32_vec(i, 8),
        "b": i % 3 == 0,
        "i8": [-128, 127, 0, -1][i % 4] if i < 4 else (i % 256) - 128,
        "i16": [-32768, 32767][i % 2] if i < 2 else i * 100 - 5000,
        "i32": [-(2**31), 2**31 - 1][i % 2] if i < 2 else i * 100_000 - 7,
        "i64": [-(2**63), 2**63 - 1][i % 2] if i < 2 else i * 10**12 + 3,
        "f": i * 0.25 - 3.0,
        "d": i / 3.0,
        "s": "" if i == 0 else ("ünï 🙂 " + str(i) if i % 7 == 0 else f"str-{i}"),
        "j": {
            "i": i,
            "name": f"n{i}",
            "nested": {"list": [i, "x", None, True], "f": 1.5},
            "empty": {},
            "u": "ü🙂",
        },
        "a_i64": [i * 10**10 + k for k in range(n)],
        "a_i32": [i - k for k in range(n)],
        "a_i8": [(i + k) % 100 - 50 for k in range(n)],
        "a_f": [k * 0.5 for k in range(n)],
        "a_d": [i / 7 + k for k in range(n)],
        "a_b": [(i + k) % 2 == 0 for k in range(n)],
        "a_s": [f"e{i}_{k}"[:8] for k in range(n)],
    }


@pytest.mark.parametrize("mode", MODES)
def test_every_scalar_type_round_trips(make_server, unique_name, mode):
    srv = make_server()
    c = srv.client()
    name = unique_name("types")
    c.create_collection(name, schema=scalar_schema())
    rows = [scalar_row(i) for i in range(60)]
    res = c.insert(name, rows[:25])
    assert res["insert_count"] == 25 and list(res["ids"]) == list(range(25))
    res = c.insert(name, rows[25:])
    assert res["insert_count"] == 35 and list(res["ids"]) == list(range(25, 60))
    c.load_collection(name)
    c = settle(srv, c, name, mode)

    got = rows_by_pk(c, name)
    assert sorted(got) == list(range(60))
    for row in rows:
        assert got[row["id"]] == row, f"row {row['id']} differs"
    assert count_rows(c, name) == 60
    assert c.get_collection_stats(name)["row_count"] == 60


def byte_vector_schema():
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=16)
    s.add_field("bin", DataType.BINARY_VECTOR, dim=16)
    s.add_field("f16", DataType.FLOAT16_VECTOR, dim=4)
    s.add_field("bf16", DataType.BFLOAT16_VECTOR, dim=4)
    return s


def bf16_bytes(values: list) -> bytes:
    # Truncation of exactly representable values is exact.
    return (np.array(values, dtype=np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()


@pytest.mark.parametrize("mode", MODES)
def test_binary_float16_bfloat16_vectors_round_trip(make_server, unique_name, mode):
    srv = make_server()
    c = srv.client()
    name = unique_name("bytevec")
    c.create_collection(name, schema=byte_vector_schema())
    rows, expected = [], {}
    for i in range(40):
        vals = [i * 0.5, -1.0, 2.0 ** -(i % 5), 3.0]
        f16 = np.array(vals, dtype=np.float16).astype("<f2").tobytes()
        bf16 = bf16_bytes(vals)
        binv = bytes([i, 255 - i])
        pk = f"k{i:02d}"
        # Rows 0..19 as packed bytes; rows 20..39 as float32 lists, which pymilvus sends
        # as `float_vector` data for the server to convert (one encoding per request).
        as_bytes = i < 20
        row = {"pk": pk, "bin": binv, "f16": f16 if as_bytes else vals, "bf16": bf16 if as_bytes else vals}
        rows.append(row)
        expected[pk] = {"pk": pk, "bin": [binv], "f16": [f16], "bf16": [bf16]}
    assert c.insert(name, rows[:20])["insert_count"] == 20
    assert c.insert(name, rows[20:])["insert_count"] == 20
    c.load_collection(name)
    c = settle(srv, c, name, mode)
    got = rows_by_pk(c, name, pk="pk")
    assert got == expected


@pytest.mark.parametrize("mode", MODES)
def test_nullable_and_default_values(make_server, unique_name, mode):
    srv = make_server()
    c = srv.client()
    name = unique_name("nulls")
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    s.add_field("n_i32", DataType.INT32, nullable=True)
    s.add_field("n_s", DataType.VARCHAR, max_length=16, nullable=True)
    s.add_field("n_j", DataType.JSON, nullable=True)
    s.add_field("n_arr", DataType.ARRAY, element_type=DataType.INT64, max_capacity=3, nullable=True)
    s.add_field("d_f64", DataType.DOUBLE, default_value=1.5)
    s.add_field("d_s", DataType.VARCHAR, max_length=16, default_value="dflt")
    s.add_field("nd_i64", DataType.INT64, nullable=True, default_value=7)
    s.add_field("d_b", DataType.BOOL, default_value=True)
    c.create_collection(name, schema=s)

    rows, expected = [], {}
    for i in range(30):
        row = {"id": i, "vec": [float(i), 1.0]}
        exp = {"id": i, "vec": [float(i), 1.0]}
        kind = i % 3
        if kind == 0:  # explicit values everywhere
            row.update(n_i32=i, n_s=f"s{i}", n_j={"k": i}, n_arr=[i, i], d_f64=i * 0.5,
                       d_s=f"v{i}", nd_i64=i * 11, d_b=False)
        elif kind == 1:  # explicit None everywhere
            row.update(n_i32=None, n_s=None, n_j=None, n_arr=None, d_f64=None, d_s=None,
                       nd_i64=None, d_b=None)
        # kind == 2: the optional fields are left out of the row
        if kind == 0:
            exp.update(n_i32=i, n_s=f"s{i}", n_j={"k": i}, n_arr=[i, i], d_f64=i * 0.5,
                       d_s=f"v{i}", nd_i64=i * 11, d_b=False)
        else:
            # Null stays null; a field with a default value takes the default (also when
            # it is nullable too).
            exp.update(n_i32=None, n_s=None, n_j=None, n_arr=None, d_f64=1.5, d_s="dflt",
                       nd_i64=7, d_b=True)
        rows.append(row)
        expected[i] = exp
    assert c.insert(name, rows)["insert_count"] == 30
    c.load_collection(name)
    c = settle(srv, c, name, mode)
    got = rows_by_pk(c, name)
    for i in range(30):
        assert got[i] == expected[i], f"row {i}"
    # Null handling in filters sees the same thing.
    assert pks(c, name, "n_i32 is null") == [i for i in range(30) if i % 3]
    assert pks(c, name, "n_s is not null") == [i for i in range(30) if i % 3 == 0]
    assert pks(c, name, "nd_i64 == 7") == [i for i in range(30) if i % 3]
    assert pks(c, name, 'd_s == "dflt"') == [i for i in range(30) if i % 3]


@pytest.mark.parametrize("mode", MODES)
def test_dynamic_field_keys_round_trip(make_server, unique_name, mode):
    srv = make_server()
    c = srv.client()
    name = unique_name("dyn")
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    s.add_field("title", DataType.VARCHAR, max_length=16)
    c.create_collection(name, schema=s)
    rows = []
    for i in range(30):
        row = {"id": i, "vec": [1.0, float(i)], "title": f"t{i}"}
        if i % 2 == 0:
            row["color"] = ["red", "green", "blue"][i % 3]
        if i % 3 == 0:
            row.update(count=i, ratio=i / 4, tags=["a", str(i)], meta={"x": {"y": i}}, ok=i % 6 == 0)
        rows.append(row)
    assert c.insert(name, rows)["insert_count"] == 30
    c.load_collection(name)
    c = settle(srv, c, name, mode)

    got = rows_by_pk(c, name)
    assert got == {r["id"]: r for r in rows}

    # Asking for one dynamic key: pk + that key, and only where the row has it.
    named = rows_by_pk(c, name, output_fields=["color"])
    for r in rows:
        want = {"id": r["id"]}
        if "color" in r:
            want["color"] = r["color"]
        assert named[r["id"]] == want

    # A schema field plus dynamic keys.
    mixed = rows_by_pk(c, name, output_fields=["title", "count", "meta"])
    for r in rows:
        want = {"id": r["id"], "title": r["title"]}
        want.update({k: r[k] for k in ("count", "meta") if k in r})
        assert mixed[r["id"]] == want


def test_auto_id_generates_unique_int64_ids(server, client, unique_name):
    name = unique_name("auto")
    s = MilvusClient.create_schema(auto_id=True, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True, auto_id=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    s.add_field("k", DataType.INT64)
    client.create_collection(name, schema=s)
    all_ids = []
    for batch in range(3):
        rows = [{"vec": [0.0, float(i)], "k": batch * 100 + i} for i in range(50)]
        res = client.insert(name, rows)
        assert res["insert_count"] == 50
        ids = list(res["ids"])
        assert len(ids) == 50 and all(isinstance(x, int) for x in ids)
        all_ids.extend(ids)
        if batch == 1:
            client.flush(name)
    assert len(set(all_ids)) == 150, "auto ids must be unique across batches"
    client.load_collection(name)
    got = rows_by_pk(client, name, output_fields=["k"])
    assert sorted(got) == sorted(all_ids)
    # Each returned id is bound to the row it was returned for.
    expect_k = {id_: (i // 50) * 100 + i % 50 for i, id_ in enumerate(all_ids)}
    assert {pk: row["k"] for pk, row in got.items()} == expect_k
    sample = all_ids[::17]
    assert {r["id"]: r["k"] for r in client.get(name, ids=sample)} == {
        x: expect_k[x] for x in sample
    }


def test_varchar_primary_keys(client, unique_name):
    name = unique_name("vpk")
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=32)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    s.add_field("n", DataType.INT64)
    client.create_collection(name, schema=s)
    keys = [f"key-{i:03d}" for i in range(40)] + ["ключ", "with space", "🙂", "0", ""]
    rows = [{"pk": k, "vec": [1.0, 2.0], "n": i} for i, k in enumerate(keys)]
    res = client.insert(name, rows)
    assert res["insert_count"] == len(keys) and list(res["ids"]) == keys
    client.load_collection(name)
    got = rows_by_pk(client, name, pk="pk", output_fields=["n"])
    assert got == {k: {"pk": k, "n": i} for i, k in enumerate(keys)}
    assert sorted(r["pk"] for r in client.get(name, ids=["ключ", "🙂", "nope"])) == ["ключ", "🙂"]
    assert client.delete(name, ids=["ключ", "key-001"])["delete_count"] == 2
    client.flush(name)
    assert "ключ" not in rows_by_pk(client, name, pk="pk", output_fields=["n"])
    assert count_rows(client, name) == len(keys) - 2
    assert pks(client, name, 'pk like "key-00%"', pk="pk") == [
        f"key-00{i}" for i in range(10) if i != 1
    ]


def test_multiple_shards_keep_every_row(client, unique_name):
    name = unique_name("shards")
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    s.add_field("n", DataType.INT32)
    client.create_collection(name, schema=s, num_shards=3)
    assert client.describe_collection(name)["num_shards"] == 3
    client.insert(name, [{"id": i, "vec": f32_vec(i, 4), "n": i * 2} for i in range(200)])
    client.flush(name)
    client.insert(name, [{"id": i, "vec": f32_vec(i, 4), "n": i * 2} for i in range(200, 260)])
    client.load_collection(name)
    got = rows_by_pk(client, name, output_fields=["n", "vec"])
    assert sorted(got) == list(range(260))
    assert all(got[i]["n"] == i * 2 and got[i]["vec"] == f32_vec(i, 4) for i in range(260))
    assert count_rows(client, name) == 260
    assert client.get_collection_stats(name)["row_count"] == 260


def test_insert_before_load_is_counted_and_visible_after_load(client, unique_name):
    name = unique_name("preload")
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(name, schema=s)
    client.insert(name, [{"id": i, "vec": [0.0, 1.0]} for i in range(25)])
    # Statistics do not need the collection loaded.
    assert client.get_collection_stats(name)["row_count"] == 25
    client.load_collection(name)
    assert pks(client, name, "id >= 0") == list(range(25))
