"""TruncateCollection through stock pymilvus (`client.truncate_collection`), as Milvus does
it: every row goes (sealed, growing, deleted or not), the collection stays with its schema,
partitions, indexes, aliases and load state, snapshots keep what they captured, and nothing
truncated comes back after a crash."""

from __future__ import annotations

from pymilvus import DataType, MilvusClient

from helpers import COLLECTION_NOT_FOUND, count_rows, expect_error, rows_by_pk, wait_restore


def schema():
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    return s


def row(i: int, gen: str = "old") -> dict:
    return {"id": i, "vec": [float(i), 1.0, 0.5, -1.0], "gen": gen}


def filled(client: MilvusClient, name: str) -> None:
    """Sealed rows with a delete log, then growing rows and a pending delete."""
    index = client.prepare_index_params()
    index.add_index("vec", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 32})
    client.create_collection(name, schema=schema(), index_params=index, consistency_level="Strong")
    client.create_partition(name, "p1")
    client.insert(name, [row(i) for i in range(100)])
    client.insert(name, [row(i) for i in range(100, 120)], partition_name="p1")
    client.delete(name, ids=[1, 2])
    client.flush(name)
    client.insert(name, [row(i) for i in range(200, 210)])
    client.delete(name, ids=[3])
    assert count_rows(client, name) == 120 - 3 + 10


def test_truncate_empties_the_collection_and_keeps_the_rest(client: MilvusClient, unique_name):
    name, alias = unique_name("t"), unique_name("alias")
    filled(client, name)
    client.create_alias(name, alias)
    before = client.describe_collection(name)
    indexes = client.list_indexes(name)

    client.truncate_collection(alias)

    assert count_rows(client, name) == 0
    assert client.get_collection_stats(name)["row_count"] == 0
    assert client.list_persistent_segments(name) == []
    after = client.describe_collection(name)
    for key in ("collection_id", "fields", "aliases", "num_partitions", "consistency_level", "properties"):
        assert after[key] == before[key], key
    assert client.list_partitions(name) == ["_default", "p1"]
    assert client.list_indexes(name) == indexes
    assert client.get_load_state(name)["state"].name == "Loaded"
    assert client.search(name, data=[[1.0, 1.0, 0.5, -1.0]], limit=5) == [[]]

    # Writing again works as in a new collection, old keys included.
    client.insert(name, [row(1, gen="new"), row(500, gen="new")])
    client.flush(name)
    assert rows_by_pk(client, name, output_fields=["id", "gen"]) == {1: {"id": 1, "gen": "new"}, 500: {"id": 500, "gen": "new"}}


def test_truncate_released_and_empty_collections(client: MilvusClient, unique_name):
    released, empty = unique_name("released"), unique_name("empty")
    filled(client, released)
    client.release_collection(released)
    client.truncate_collection(released)
    client.load_collection(released)
    assert count_rows(client, released) == 0

    client.create_collection(empty, dimension=4)
    client.truncate_collection(empty)
    assert count_rows(client, empty) == 0


def test_truncate_an_unknown_collection_errors_like_milvus(client: MilvusClient, unique_name):
    missing = unique_name("missing")
    with expect_error(COLLECTION_NOT_FOUND, "collection not found", missing):
        client.truncate_collection(missing)


def test_a_snapshot_keeps_what_it_captured(client: MilvusClient, unique_name):
    name, target = unique_name("t"), unique_name("restored")
    filled(client, name)
    client.flush(name)
    captured = rows_by_pk(client, name, output_fields=["id", "gen"])
    client.create_snapshot("before", name)
    client.truncate_collection(name)
    info, _ = wait_restore(client, client.restore_snapshot("before", name, target))
    assert info.state == "RestoreSnapshotCompleted", info
    client.load_collection(target)
    assert rows_by_pk(client, target, output_fields=["id", "gen"]) == captured
    assert count_rows(client, name) == 0


def test_nothing_truncated_comes_back_after_a_crash(fresh_server, unique_name):
    client = fresh_server.client()
    name = unique_name("t")
    filled(client, name)
    client.truncate_collection(name)
    client.insert(name, [row(7, gen="after")])
    fresh_server.kill()
    fresh_server.start()
    client = fresh_server.client()
    client.load_collection(name)
    assert rows_by_pk(client, name, output_fields=["id", "gen"]) == {7: {"id": 7, "gen": "after"}}
