"""Rows and partitions: inserts into named partitions, queries and deletes limited to
partitions, partition-key routing, and dropping a partition with its rows."""

from __future__ import annotations

import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import MilvusException

from helpers import (
    PARTITION_NOT_FOUND,
    UNEXPECTED,
    count_rows,
    expect_error,
    partition_key_schema,
    pks,
    rows_by_pk,
)


def schema():
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    s.add_field("part", DataType.VARCHAR, max_length=16)
    return s


def rows(ids, part):
    return [{"id": i, "vec": [1.0, float(i)], "part": part} for i in ids]


LAYOUT = {"_default": range(0, 20), "p1": range(20, 50), "p2": range(50, 60)}


@pytest.fixture
def parted(client, unique_name):
    name = unique_name("parts")
    client.create_collection(name, schema=schema())
    client.create_partition(name, "p1")
    client.create_partition(name, "p2")
    client.create_partition(name, "empty")
    for part, ids in LAYOUT.items():
        ids = list(ids)
        half = len(ids) // 2
        client.insert(name, rows(ids[:half], part), partition_name=part)
        client.flush(name)  # half of every partition sealed, half growing
        client.insert(name, rows(ids[half:], part), partition_name=part)
    client.load_collection(name)
    return name


def test_query_by_partition(client, parted):
    for part, ids in LAYOUT.items():
        assert pks(client, parted, partition_names=[part]) == list(ids)
        assert count_rows(client, parted, partition_names=[part]) == len(ids)
        assert client.get_partition_stats(parted, part)["row_count"] == len(ids)
        got = rows_by_pk(client, parted, output_fields=["part"], partition_names=[part])
        assert {v["part"] for v in got.values()} == {part}
    assert pks(client, parted, partition_names=["p1", "p2"]) == list(range(20, 60))
    assert pks(client, parted, "id > 45", partition_names=["p1", "p2"]) == list(range(46, 60))
    assert pks(client, parted, partition_names=["empty"]) == []
    assert client.get_partition_stats(parted, "empty")["row_count"] == 0
    assert pks(client, parted) == list(range(60))
    assert client.get_collection_stats(parted)["row_count"] == 60
    assert sorted(r["id"] for r in client.get(parted, ids=[0, 25, 55], partition_names=["p1"])) == [25]


def test_query_unknown_partition(client, parted):
    # Milvus's reads name a missing partition in their own words, code 65535.
    with expect_error(UNEXPECTED, "partition name nopart not found"):
        client.query(parted, filter="id >= 0", output_fields=["id"], partition_names=["nopart"])


def test_delete_in_one_partition_only(client, parted):
    # Same filter, limited to p1: rows elsewhere stay.
    res = client.delete(parted, filter="id >= 0", partition_name="p1")
    assert res["delete_count"] == 30
    assert pks(client, parted) == list(range(0, 20)) + list(range(50, 60))
    assert client.get_partition_stats(parted, "p1")["row_count"] == 0
    # Delete by ids in a partition where those ids do not live: nothing happens.
    client.delete(parted, ids=[0, 1, 55], partition_name="p2")
    # ...except 55, which does live in p2.
    assert pks(client, parted) == list(range(0, 20)) + [i for i in range(50, 60) if i != 55]
    assert client.get_partition_stats(parted, "_default")["row_count"] == 20
    assert client.get_collection_stats(parted)["row_count"] == 29


def test_same_primary_key_in_two_partitions_delete_scoped(client, unique_name):
    name = unique_name("dup")
    client.create_collection(name, schema=schema())
    client.create_partition(name, "p1")
    client.insert(name, rows([1, 2], "_default"))
    client.insert(name, rows([1, 2], "p1"), partition_name="p1")
    client.load_collection(name)
    client.delete(name, ids=[1], partition_name="p1")
    assert pks(client, name, partition_names=["p1"]) == [2]
    assert pks(client, name, partition_names=["_default"]) == [1, 2]


def test_upsert_into_partition(client, parted):
    client.upsert(parted, rows([20, 21], "p1-new"), partition_name="p1")
    got = rows_by_pk(client, parted, output_fields=["part"], partition_names=["p1"])
    assert got[20]["part"] == "p1-new" and got[21]["part"] == "p1-new" and got[22]["part"] == "p1"
    assert client.get_partition_stats(parted, "p1")["row_count"] == 30
    assert count_rows(client, parted) == 60


def test_drop_partition_drops_its_rows(client, parted):
    with expect_error(UNEXPECTED, "release it first"):
        # Milvus refuses to drop a loaded partition (plain error, code 65535).
        client.drop_partition(parted, "p1")
    assert pks(client, parted, partition_names=["p1"]) == list(range(20, 50))
    client.release_partitions(parted, ["p1"])
    client.drop_partition(parted, "p1")
    client.load_collection(parted)
    assert pks(client, parted) == list(range(0, 20)) + list(range(50, 60))
    assert client.get_collection_stats(parted)["row_count"] == 30
    with expect_error(PARTITION_NOT_FOUND, "p1"):
        client.insert(parted, rows([999], "p1"), partition_name="p1")
    # A new partition of the same name starts empty.
    client.create_partition(parted, "p1")
    client.load_collection(parted)
    assert pks(client, parted, partition_names=["p1"]) == []
    client.insert(parted, rows([20], "again"), partition_name="p1")
    assert pks(client, parted, partition_names=["p1"]) == [20]


def test_partition_key_routes_rows(client, unique_name):
    name = unique_name("pkey")
    client.create_collection(name, schema=partition_key_schema(dim=2), num_partitions=4)
    parts = client.list_partitions(name)
    assert len(parts) == 4

    def stats():
        return {p: client.get_partition_stats(name, p)["row_count"] for p in parts}

    # Learn where each tenant goes, one tenant at a time.
    home = {}
    next_id = 0
    for tenant in range(8):
        before = stats()
        client.insert(name, [{"id": next_id + k, "tenant": tenant, "vector": [1.0, 0.0]} for k in range(5)])
        next_id += 5
        after = stats()
        grown = [p for p in parts if after[p] != before[p]]
        assert len(grown) == 1 and after[grown[0]] - before[grown[0]] == 5, (tenant, before, after)
        home[tenant] = grown[0]
    assert len(set(home.values())) > 1, "8 tenants should not all hash to one of 4 partitions"

    # A mixed batch follows the same routing (hash of the key, not insertion order).
    before = stats()
    batch = [{"id": next_id + k, "tenant": k % 8, "vector": [0.0, 1.0]} for k in range(80)]
    client.insert(name, batch)
    client.flush(name)
    after = stats()
    for p in parts:
        want = sum(1 for r in batch if home[r["tenant"]] == p)
        assert after[p] - before[p] == want, p
    total = 40 + 80
    assert sum(after.values()) == total
    assert client.get_collection_stats(name)["row_count"] == total

    client.load_collection(name)
    assert count_rows(client, name) == total
    for tenant in range(8):
        expect = [r_id for r_id in range(tenant * 5, tenant * 5 + 5)]
        expect += [r["id"] for r in batch if r["tenant"] == tenant]
        assert pks(client, name, f"tenant == {tenant}") == sorted(expect)

    # Deleting by the partition key only touches that tenant.
    res = client.delete(name, filter="tenant == 3")
    assert res["delete_count"] == 15
    assert count_rows(client, name) == total - 15
    assert stats()[home[3]] == after[home[3]] - 15


def test_query_sees_only_loaded_partitions(client, parted):
    """Milvus answers a query on a partially loaded collection from the loaded
    partitions only."""
    client.release_collection(parted)
    client.load_partitions(parted, ["p1"])
    assert pks(client, parted, partition_names=["p1"]) == list(LAYOUT["p1"])
    assert pks(client, parted) == list(LAYOUT["p1"])
    assert count_rows(client, parted) == len(LAYOUT["p1"])
    client.load_partitions(parted, ["p2"])
    assert pks(client, parted) == list(LAYOUT["p1"]) + list(LAYOUT["p2"])


def test_query_naming_an_unloaded_partition_fails(client, parted):
    client.release_collection(parted)
    client.load_partitions(parted, ["p1"])
    with pytest.raises(MilvusException) as info:
        client.query(parted, filter="id >= 0", output_fields=["id"], partition_names=["p2"])
    assert "not loaded" in info.value.message, info.value


def test_partition_name_is_refused_on_partition_key_collections(client, unique_name):
    """Milvus: "not support manually specifying the partition names if partition key
    mode is used" (insert and delete)."""
    name = unique_name("pkeyname")
    client.create_collection(name, schema=partition_key_schema(dim=2), num_partitions=2)
    part = client.list_partitions(name)[0]
    with pytest.raises(MilvusException) as info:
        client.insert(name, [{"id": 1, "tenant": 1, "vector": [1.0, 0.0]}], partition_name=part)
    assert "partition key" in info.value.message, info.value
    assert client.get_collection_stats(name)["row_count"] == 0


def test_compaction_keeps_partitions_apart(client, unique_name):
    name = unique_name("comppart")
    client.create_collection(name, schema=schema())
    client.create_partition(name, "p1")
    client.load_collection(name)
    for b in range(3):
        client.insert(name, rows(range(b * 10, b * 10 + 10), "_default"))
        client.insert(name, rows(range(100 + b * 10, 100 + b * 10 + 10), "p1"), partition_name="p1")
        client.flush(name)
    client.delete(name, filter="id % 5 == 0")
    client.flush(name)
    before = client.list_persistent_segments(name)
    client.compact(name)
    after = client.list_persistent_segments(name)
    assert len(after) < len(before)
    assert {s.partition_id for s in after} == {s.partition_id for s in before}
    client.load_collection(name)
    want_default = [i for i in range(30) if i % 5]
    want_p1 = [i for i in range(100, 130) if i % 5]
    assert pks(client, name, partition_names=["_default"]) == want_default
    assert pks(client, name, partition_names=["p1"]) == want_p1
    got = rows_by_pk(client, name, output_fields=["part"])
    assert {k: v["part"] for k, v in got.items()} == {
        **{i: "_default" for i in want_default}, **{i: "p1" for i in want_p1}
    }
    assert client.get_partition_stats(name, "p1")["row_count"] == len(want_p1)
