"""Delete (by ids, by filter, by partition) and upsert semantics, over growing and sealed
data, checked with exact queries, count(*) and collection statistics."""

from __future__ import annotations

import pytest
from pymilvus import DataType, MilvusClient

from helpers import count_rows, partition_key_schema, pks, rows_by_pk


def schema(dynamic: bool = True):
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=dynamic)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    s.add_field("name", DataType.VARCHAR, max_length=32)
    s.add_field("n", DataType.INT64)
    return s


def row(i: int, gen: str = "v1", **extra) -> dict:
    r = {"id": i, "vec": [float(i), 1.0], "name": f"{gen}-{i}", "n": i * 10}
    r.update(extra)
    return r


def setup(client, name, n=100, flush_first=None, dynamic=True):
    """n rows; with flush_first=k, rows [0, k) are flushed (sealed) and the rest growing."""
    client.create_collection(name, schema=schema(dynamic))
    if flush_first is not None:
        client.insert(name, [row(i) for i in range(flush_first)])
        client.flush(name)
        client.insert(name, [row(i) for i in range(flush_first, n)])
    else:
        client.insert(name, [row(i) for i in range(n)])
    client.load_collection(name)


@pytest.mark.parametrize("flush_first", [None, 50, 100], ids=["growing", "mixed", "sealed"])
def test_delete_by_ids(client, unique_name, flush_first):
    name = unique_name("del")
    setup(client, name, flush_first=flush_first)
    res = client.delete(name, ids=[0, 1, 49, 50, 51, 99])
    assert res["delete_count"] == 6
    expected = [i for i in range(100) if i not in (0, 1, 49, 50, 51, 99)]
    assert pks(client, name) == expected
    assert count_rows(client, name) == 94
    assert client.get_collection_stats(name)["row_count"] == 94
    assert list(client.get(name, ids=[0, 50, 99])) == []
    # Deletes survive a flush, and deleting again is harmless.
    client.flush(name)
    client.delete(name, ids=[0, 1])
    assert pks(client, name) == expected
    assert count_rows(client, name) == 94


@pytest.mark.parametrize("flush_first", [None, 40], ids=["growing", "mixed"])
def test_delete_by_filter(client, unique_name, flush_first):
    name = unique_name("delf")
    setup(client, name, flush_first=flush_first)
    res = client.delete(name, filter="n >= 500 and n < 700")
    assert res["delete_count"] == 20
    assert pks(client, name) == [i for i in range(100) if not 50 <= i < 70]
    res = client.delete(name, filter="name like 'v1-9%'")
    assert res["delete_count"] == 11  # 9, 90..99
    assert pks(client, name) == [i for i in range(100) if not (50 <= i < 70 or i == 9 or i >= 90)]
    res = client.delete(name, filter="id in {ids}", filter_params={"ids": [1, 2, 3]})
    assert res["delete_count"] == 3
    assert client.delete(name, filter="id > 100000")["delete_count"] == 0
    remaining = [i for i in range(100) if not (50 <= i < 70 or i in (1, 2, 3, 9) or i >= 90)]
    assert pks(client, name) == remaining
    assert count_rows(client, name) == len(remaining)
    assert client.get_collection_stats(name)["row_count"] == len(remaining)


def test_delete_by_dynamic_key_filter(client, unique_name):
    name = unique_name("deldyn")
    client.create_collection(name, schema=schema(dynamic=True))
    client.insert(name, [row(i, color=["red", "blue"][i % 2]) for i in range(20)])
    client.load_collection(name)
    assert client.delete(name, filter='color == "red"')["delete_count"] == 10
    assert pks(client, name) == list(range(1, 20, 2))


def test_delete_then_reinsert_same_key(client, unique_name):
    name = unique_name("reins")
    setup(client, name, n=10, flush_first=10)
    client.delete(name, ids=[3, 4])
    client.insert(name, [row(3, gen="v2")])
    got = rows_by_pk(client, name, output_fields=["name"])
    assert sorted(got) == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert got[3]["name"] == "v2-3"
    client.flush(name)
    got = rows_by_pk(client, name, output_fields=["name"])
    assert got[3]["name"] == "v2-3" and 4 not in got
    assert count_rows(client, name) == 9


def test_delete_does_not_touch_rows_inserted_later(client, unique_name):
    name = unique_name("later")
    setup(client, name, n=10)
    client.delete(name, filter="id < 5")
    client.insert(name, [row(i, gen="v2") for i in range(5)])
    got = rows_by_pk(client, name, output_fields=["name"])
    assert sorted(got) == list(range(10))
    assert all(got[i]["name"] == "v2-%d" % i for i in range(5))


@pytest.mark.parametrize("flush_first", [None, 100], ids=["growing", "sealed"])
def test_upsert_replaces_rows(client, unique_name, flush_first):
    name = unique_name("ups")
    setup(client, name, flush_first=flush_first)
    res = client.upsert(name, [row(i, gen="v2", extra=i) for i in range(50)])
    assert res["upsert_count"] == 50 and list(res["ids"]) == list(range(50))
    got = rows_by_pk(client, name)
    assert sorted(got) == list(range(100))
    for i in range(100):
        want = row(i, gen="v2", extra=i) if i < 50 else row(i)
        assert got[i] == want, f"row {i}"
    assert count_rows(client, name) == 100
    assert client.get_collection_stats(name)["row_count"] == 100
    # Old values are gone: no row matches them any more.
    assert pks(client, name, "name like 'v1-%'") == list(range(50, 100))
    # Upserting new keys inserts them.
    client.upsert(name, [row(i, gen="v3") for i in range(100, 110)])
    assert count_rows(client, name) == 110
    assert pks(client, name, "name like 'v3-%'") == list(range(100, 110))


def test_upsert_across_flush_boundary(client, unique_name):
    """Old row sealed, new row growing; then both flushed; then upserted again."""
    name = unique_name("upsb")
    setup(client, name, n=20, flush_first=20)
    client.upsert(name, [row(i, gen="v2") for i in range(0, 20, 2)])
    expect = {i: (f"v2-{i}" if i % 2 == 0 else f"v1-{i}") for i in range(20)}
    got = rows_by_pk(client, name, output_fields=["name"])
    assert {k: v["name"] for k, v in got.items()} == expect
    client.flush(name)
    got = rows_by_pk(client, name, output_fields=["name"])
    assert {k: v["name"] for k, v in got.items()} == expect
    client.upsert(name, [row(i, gen="v3") for i in range(0, 20, 4)])
    expect.update({i: f"v3-{i}" for i in range(0, 20, 4)})
    got = rows_by_pk(client, name, output_fields=["name"])
    assert {k: v["name"] for k, v in got.items()} == expect
    assert count_rows(client, name) == 20
    assert client.get_collection_stats(name)["row_count"] == 20
    assert pks(client, name, "name like 'v2-%'") == [i for i in range(0, 20, 2) if i % 4]


def test_upsert_same_key_twice_keeps_last(client, unique_name):
    name = unique_name("ups2")
    setup(client, name, n=5)
    client.upsert(name, [row(1, gen="a")])
    client.upsert(name, [row(1, gen="b")])
    client.flush(name)
    client.upsert(name, [row(1, gen="c")])
    assert list(client.get(name, ids=[1], output_fields=["name"])) == [{"id": 1, "name": "c-1"}]
    assert count_rows(client, name) == 5


def test_upsert_removes_dynamic_keys_of_the_old_row(client, unique_name):
    name = unique_name("upsdyn")
    client.create_collection(name, schema=schema(dynamic=True))
    client.insert(name, [row(1, color="red", size=3)])
    client.upsert(name, [row(1, gen="v2", shape="round")])
    client.load_collection(name)
    assert rows_by_pk(client, name)[1] == row(1, gen="v2", shape="round")
    assert pks(client, name, "color == 'red'") == []


def test_upsert_with_varchar_primary_key(client, unique_name):
    name = unique_name("upsv")
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=16)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    s.add_field("n", DataType.INT32)
    client.create_collection(name, schema=s)
    client.insert(name, [{"pk": f"k{i}", "vec": [1.0, 1.0], "n": i} for i in range(10)])
    client.flush(name)
    res = client.upsert(name, [{"pk": f"k{i}", "vec": [1.0, 1.0], "n": -i} for i in range(5, 12)])
    assert res["upsert_count"] == 7 and list(res["ids"]) == [f"k{i}" for i in range(5, 12)]
    client.load_collection(name)
    got = rows_by_pk(client, name, pk="pk", output_fields=["n"])
    assert {k: v["n"] for k, v in got.items()} == {
        **{f"k{i}": i for i in range(5)},
        **{f"k{i}": -i for i in range(5, 12)},
    }


def test_upsert_that_changes_the_partition_key_moves_the_row(client, unique_name):
    name = unique_name("upspk")
    client.create_collection(name, schema=partition_key_schema(dim=2), num_partitions=4)
    client.insert(name, [{"id": i, "tenant": i % 3, "vector": [1.0, 0.0]} for i in range(30)])
    client.flush(name)
    # Every row moves to tenant 100 + i (other partitions, in general).
    client.upsert(name, [{"id": i, "tenant": 100 + i, "vector": [0.0, 1.0]} for i in range(30)])
    client.load_collection(name)
    got = rows_by_pk(client, name, output_fields=["tenant"])
    assert {k: v["tenant"] for k, v in got.items()} == {i: 100 + i for i in range(30)}
    assert count_rows(client, name) == 30
    assert pks(client, name, "tenant < 100") == []
    assert client.get_collection_stats(name)["row_count"] == 30
