"""The data path together with the rest of the catalog: quick-setup collections, aliases,
renames, databases; and background sealing and compaction driven by configuration."""

from __future__ import annotations

import time

from pymilvus import DataType, MilvusClient

from conftest import data_config
from helpers import COLLECTION_NOT_FOUND, count_rows, expect_error, pks, rows_by_pk


def schema():
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    s.add_field("name", DataType.VARCHAR, max_length=16)
    return s


def row(i: int, gen: str = "v1") -> dict:
    return {"id": i, "vec": [float(i), 1.0, 2.0, 3.0], "name": f"{gen}-{i}"}


def wait_until(pred, timeout: float = 20.0, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def test_quick_setup_collection(client, unique_name):
    """create_collection(name, dimension=d): pk `id`, `vector`, dynamic field, loaded."""
    name = unique_name("quick")
    client.create_collection(name, dimension=4)
    data = [{"id": i, "vector": [0.5, 0.25, float(i), -1.0], "color": f"c{i % 3}", "n": i} for i in range(50)]
    assert client.insert(name, data)["insert_count"] == 50
    got = rows_by_pk(client, name)
    assert got == {d["id"]: d for d in data}
    assert pks(client, name, "color == 'c1' and n < 10") == [1, 4, 7]
    client.delete(name, filter="n >= 40")
    assert count_rows(client, name) == 40


def test_data_operations_through_an_alias(client, unique_name):
    name, alias = unique_name("real"), unique_name("alias")
    client.create_collection(name, schema=schema())
    client.create_alias(name, alias)
    client.insert(alias, [row(i) for i in range(20)])
    client.flush(alias)
    client.upsert(alias, [row(0, gen="v2")])
    client.delete(alias, ids=[1])
    client.load_collection(alias)
    expected = {i: row(i) for i in range(2, 20)}
    expected[0] = row(0, gen="v2")
    assert rows_by_pk(client, alias) == expected
    assert rows_by_pk(client, name) == expected
    assert client.get_collection_stats(alias)["row_count"] == 19
    assert [r["id"] for r in client.get(alias, ids=[0, 1, 2])] == [0, 2]


def test_rename_keeps_the_data(client, unique_name):
    old, new = unique_name("old"), unique_name("new")
    client.create_collection(old, schema=schema())
    client.insert(old, [row(i) for i in range(10)])
    client.flush(old)
    client.insert(old, [row(i) for i in range(10, 15)])
    client.rename_collection(old, new)
    client.insert(new, [row(i) for i in range(15, 20)])
    client.load_collection(new)
    assert rows_by_pk(client, new) == {i: row(i) for i in range(20)}
    with expect_error(COLLECTION_NOT_FOUND):
        client.insert(old, [row(99)])


def test_same_collection_name_in_two_databases_is_isolated(server, client, unique_name):
    db = unique_name("db")
    client.create_database(db)
    other = server.client(db_name=db)
    name = "shared_name"
    client.create_collection(name, schema=schema())
    other.create_collection(name, schema=schema())
    client.insert(name, [row(i) for i in range(10)])
    other.insert(name, [row(i, gen="db2") for i in range(5, 8)])
    client.flush(name)
    other.flush(name)
    client.delete(name, ids=[5])
    for c in (client, other):
        c.load_collection(name)
    assert rows_by_pk(client, name) == {i: row(i) for i in range(10) if i != 5}
    assert rows_by_pk(other, name) == {i: row(i, gen="db2") for i in range(5, 8)}
    other.drop_collection(name)
    assert count_rows(client, name) == 9


def test_flush_of_empty_collection(client, unique_name):
    name = unique_name("empty")
    client.create_collection(name, schema=schema())
    client.flush(name)
    assert client.list_persistent_segments(name) == []
    client.load_collection(name)
    assert count_rows(client, name) == 0
    assert client.query(name, filter="id >= 0", output_fields=["id", "name"]) == []
    assert client.get_collection_stats(name)["row_count"] == 0


def test_stats_count_visible_rows_without_load(client, unique_name):
    name = unique_name("stats")
    client.create_collection(name, schema=schema())
    client.create_partition(name, "p1")
    client.insert(name, [row(i) for i in range(10)])
    client.insert(name, [row(i) for i in range(10, 16)], partition_name="p1")
    client.flush(name)
    client.delete(name, ids=[0, 1, 10])
    client.upsert(name, [row(2, gen="v2")])
    assert client.get_collection_stats(name)["row_count"] == 13
    assert client.get_partition_stats(name, "_default")["row_count"] == 8
    assert client.get_partition_stats(name, "p1")["row_count"] == 5


def test_size_based_seal(make_server, unique_name):
    """With seal_mb = 1, growing data past 1 MiB is sealed without any flush (the server
    checks about once a second, so every burst is followed by a wait)."""
    srv = make_server(config=data_config(seal_mb=1, compaction_interval_seconds=3600))
    c = srv.client()
    name = unique_name("sealmb")
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=128)
    c.create_collection(name, schema=s)
    n = 0
    for burst in range(3):  # 3 x 2400 rows x 512 B of vector ~ 1.2 MB each
        for _ in range(2):
            c.insert(name, [{"id": n + k, "vec": [float(n + k)] * 128} for k in range(1200)])
            n += 1200
        assert wait_until(lambda: len(c.list_persistent_segments(name)) == burst + 1), (
            f"burst {burst}: {c.list_persistent_segments(name)}"
        )
    assert sum(seg.num_rows for seg in c.list_persistent_segments(name)) == n
    c.load_collection(name)
    assert count_rows(c, name) == n
    assert pks(c, name, "id % 1200 == 1199") == [k * 1200 + 1199 for k in range(6)]
    got = c.query(name, filter="id in [0, 2500, 7199]", output_fields=["vec"])
    assert {r["id"]: list(r["vec"]) for r in got} == {i: [float(i)] * 128 for i in (0, 2500, 7199)}
    srv.kill()
    srv.start()
    c = srv.client()
    c.load_collection(name)
    assert count_rows(c, name) == n
    assert len(set(pks(c, name))) == n


def test_idle_seal(make_server, unique_name):
    """With seal_idle_seconds = 1, growing data is sealed on its own shortly after."""
    srv = make_server(config=data_config(seal_idle_seconds=1, compaction_interval_seconds=3600))
    c = srv.client()
    name = unique_name("idle")
    c.create_collection(name, schema=schema())
    c.insert(name, [row(i) for i in range(30)])
    assert wait_until(lambda: sum(s.num_rows for s in c.list_persistent_segments(name)) == 30), (
        c.list_persistent_segments(name)
    )
    c.load_collection(name)
    assert rows_by_pk(c, name) == {i: row(i) for i in range(30)}
    srv.kill()
    srv.start()
    c = srv.client()
    c.load_collection(name)
    assert rows_by_pk(c, name) == {i: row(i) for i in range(30)}


def test_automatic_compaction(make_server, unique_name):
    """With compaction_interval_seconds = 1, small segments with deletes get merged."""
    srv = make_server(config=data_config(compaction_interval_seconds=1))
    c = srv.client()
    name = unique_name("auto")
    c.create_collection(name, schema=schema())
    for b in range(6):
        c.insert(name, [row(i) for i in range(b * 10, b * 10 + 10)])
        c.flush(name)
    c.delete(name, filter="id % 4 == 0")
    c.flush(name)
    before = len(c.list_persistent_segments(name))
    assert before >= 6
    expected = {i: row(i) for i in range(60) if i % 4}
    c.load_collection(name)
    assert wait_until(lambda: len(c.list_persistent_segments(name)) < before), (
        f"no automatic compaction within the wait: {c.list_persistent_segments(name)}"
    )
    assert rows_by_pk(c, name) == expected
    assert count_rows(c, name) == len(expected)
    srv.restart()
    c = srv.client()
    c.load_collection(name)
    assert rows_by_pk(c, name) == expected


def test_writes_while_released_are_seen_after_load(server, client, unique_name):
    """Release drops the loaded columns; writes in between and a restart change nothing
    about what the next load shows."""
    name = unique_name("rel")
    client.create_collection(name, schema=schema())
    client.load_collection(name)
    client.insert(name, [row(i) for i in range(40)])
    client.flush(name)
    client.insert(name, [row(i) for i in range(40, 50)])
    client.release_collection(name)
    client.delete(name, ids=[0, 1, 45])
    client.upsert(name, [row(2, gen="v2"), row(46, gen="v2"), row(60, gen="v2")])
    client.flush(name)
    client.delete(name, filter="id >= 30 and id < 35")
    expected = {i: row(i) for i in range(50) if i not in (0, 1, 45) and not 30 <= i < 35}
    expected.update({i: row(i, gen="v2") for i in (2, 46, 60)})
    assert client.get_collection_stats(name)["row_count"] == len(expected)
    client.load_collection(name)
    assert rows_by_pk(client, name) == expected
    client.release_collection(name)
    server.restart()
    c = server.client()
    assert c.get_collection_stats(name)["row_count"] == len(expected)
    c.load_collection(name)
    assert rows_by_pk(c, name) == expected
    c.release_collection(name)
    c.load_collection(name)
    assert count_rows(c, name) == len(expected)
