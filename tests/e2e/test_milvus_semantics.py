"""Behaviour where Milvus has a rule of its own that applications rely on, checked through
stock pymilvus: duplicate primary keys (Milvus does not deduplicate inserts; reads return
the latest row of a key, count(*) counts stored rows), upsert into an auto_id collection,
and the checks of a query's limit and offset."""

from __future__ import annotations

import pytest
from pymilvus import DataType, MilvusClient

from helpers import INVALID_PARAMETER, count_rows, expect_error, wait_restore


def schema(pk_type: DataType = DataType.INT64):
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    if pk_type == DataType.VARCHAR:
        s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=16)
    else:
        s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    s.add_field("gen", DataType.INT64)
    return s


def rows(keys, gen: int, key=int):
    # Every generation's vectors lie elsewhere, so a search ranks the generations apart.
    return [{"id": key(k), "vec": [float(k), float(gen)], "gen": gen} for k in keys]


def latest(client, name, **kwargs) -> dict:
    res = client.query(name, filter="", output_fields=["gen"], limit=1000, **kwargs)
    ids = [r["id"] for r in res]
    assert len(ids) == len(set(ids)), f"a key returned twice: {sorted(ids)}"
    return {r["id"]: r["gen"] for r in res}


def write_generations(client, name, flush_between: bool, key=int):
    """Keys 0..9 at gen 1, keys 0..4 again at gen 2, key 0 again at gen 3 (each in its own
    request; flushed between requests when asked)."""
    for keys, gen in ((range(10), 1), (range(5), 2), ([0], 3)):
        client.insert(name, rows(keys, gen, key))
        if flush_between:
            client.flush(name)
    return {key(k): (3 if k == 0 else 2 if k < 5 else 1) for k in range(10)}


def create(client, name, pk_type=DataType.INT64):
    index = client.prepare_index_params()
    index.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema(pk_type), index_params=index, consistency_level="Strong")


@pytest.mark.parametrize("flush_between", [False, True], ids=["growing", "sealed"])
def test_query_get_and_search_return_the_latest_row_of_a_key(client, unique_name, flush_between):
    name = unique_name("dups")
    create(client, name)
    expected = write_generations(client, name, flush_between)
    assert latest(client, name) == expected
    assert [r["gen"] for r in client.get(name, ids=[0, 3, 7], output_fields=["gen"])] == [3, 2, 1]
    assert [r["id"] for r in client.query(name, filter="id < 5", output_fields=["id"])] == [0, 1, 2, 3, 4]
    # A window counts keys, not rows.
    page = client.query(name, filter="", output_fields=["gen"], limit=3, offset=1)
    assert [(r["id"], r["gen"]) for r in page] == [(1, 2), (2, 2), (3, 2)]
    # A search near key 0's first generation finds key 0 once, as its latest row.
    hits = client.search(name, data=[[0.0, 1.0]], limit=10, output_fields=["gen"])[0]
    ids = [h["id"] for h in hits]
    assert len(ids) == len(set(ids)) == 10, ids
    assert {h["id"]: h["entity"]["gen"] for h in hits} == expected
    # count(*) counts stored rows, as Milvus's does (16 rows were written).
    assert count_rows(client, name) == 16


def test_a_repeat_inside_one_insert_keeps_the_last_row(client, unique_name):
    name = unique_name("dupin")
    create(client, name, DataType.VARCHAR)
    client.insert(name, [{"id": "a", "vec": [0.0, float(g)], "gen": g} for g in range(5)])
    client.insert(name, [{"id": "b", "vec": [1.0, 1.0], "gen": 1}])
    assert latest(client, name) == {"a": 4, "b": 1}
    assert [r["gen"] for r in client.query(name, filter='id == "a"', output_fields=["gen"])] == [4]
    assert count_rows(client, name) == 6


def test_deleting_a_repeated_key_deletes_every_row_of_it(client, unique_name):
    name = unique_name("dupdel")
    create(client, name)
    write_generations(client, name, flush_between=True)
    client.delete(name, ids=[0, 1])
    assert set(latest(client, name)) == set(range(2, 10))
    assert count_rows(client, name) == 16 - 3 - 2


def test_latest_rows_survive_compaction_restart_and_restore(make_server, unique_name):
    srv = make_server()
    client = srv.client()
    name = unique_name("dupkeep")
    create(client, name)
    expected = write_generations(client, name, flush_between=True)
    client.compact(name)
    assert latest(client, name) == expected
    srv.restart()
    client = srv.client()
    client.load_collection(name)
    assert latest(client, name) == expected
    snapshot = unique_name("dupsnap")
    client.create_snapshot(snapshot, name)
    restored = unique_name("duprest")
    job = client.restore_snapshot(snapshot, name, restored)
    final, _ = wait_restore(client, job)
    assert final.state == "RestoreSnapshotCompleted", final
    client.load_collection(restored)
    assert latest(client, restored) == expected
    hits = client.search(restored, data=[[0.0, 1.0]], limit=10, output_fields=["gen"])[0]
    assert {h["id"]: h["entity"]["gen"] for h in hits} == expected


# ---- upsert into an auto_id collection -----------------------------------------------------


def auto_id_schema():
    s = MilvusClient.create_schema(auto_id=True, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True, auto_id=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    s.add_field("gen", DataType.INT64)
    return s


def test_upsert_into_an_auto_id_collection_replaces_named_keys_with_new_ones(client, unique_name):
    name = unique_name("upsauto")
    index = client.prepare_index_params()
    index.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=auto_id_schema(), index_params=index, consistency_level="Strong")
    inserted = client.insert(name, [{"vec": [float(i), 0.0], "gen": 1} for i in range(5)])["ids"]
    # Keys that name no row: the rows are added under new keys.
    added = client.upsert(name, [{"id": 10**12 + i, "vec": [0.0, 0.0], "gen": 2} for i in range(2)])
    assert len(added["ids"]) == 2 and min(added["ids"]) > max(inserted), (added, inserted)
    assert count_rows(client, name) == 7
    # Keys that name rows: those rows go, the new ones come under new keys.
    replaced = inserted[:3]
    res = client.upsert(name, [{"id": k, "vec": [1.0, 1.0], "gen": 3} for k in replaced])
    assert res["upsert_count"] == 3
    assert min(res["ids"]) > max(added["ids"]), (res, added)
    assert client.get(name, ids=replaced) == []
    got = client.query(name, filter="", output_fields=["gen"], limit=100)
    assert sorted((r["id"], r["gen"]) for r in got) == sorted(
        [(k, 1) for k in inserted[3:]] + [(k, 2) for k in added["ids"]] + [(k, 3) for k in res["ids"]]
    )
    client.flush(name)
    assert client.get_collection_stats(name)["row_count"] == 7


# ---- query parameters ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(server):
    c = server.client()
    name = "semantics_small"
    if c.has_collection(name):
        c.drop_collection(name)
    create(c, name)
    c.insert(name, rows(range(30), 1))
    return c, name


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"limit": 16385}, "invalid max query result window, (offset+limit) should be in range [1, 16384], but got 16385"),
        ({"limit": 16384, "offset": 1}, "invalid max query result window, (offset+limit) should be in range [1, 16384]"),
        ({"limit": 2, "offset": -1}, "invalid max query result window, offset [-1] is invalid, should be gte than 0"),
        ({"limit": -1, "offset": 10}, "invalid max query result window, limit [-1] is invalid, should be greater than 0"),
    ],
)
def test_query_window_is_checked_with_milvus_words(small, kwargs, message):
    c, name = small
    with expect_error(INVALID_PARAMETER, message):
        c.query(name, filter="id >= 0", output_fields=["id"], **kwargs)


def test_an_offset_without_a_limit_is_ignored_as_in_milvus(small):
    c, name = small
    assert [r["id"] for r in c.query(name, filter="id >= 25", output_fields=["id"], offset=3)] == [25, 26, 27, 28, 29]
    with expect_error(INVALID_PARAMETER, "empty expression should be used with limit"):
        c.query(name, filter="", output_fields=["id"], offset=1)
