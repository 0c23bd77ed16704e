"""Durability of the data path: every acknowledged write survives SIGKILL.

The server fsyncs its WAL before acknowledging, so after `kill -9` and a start on the same
data dir every insert, delete and upsert that returned is there (and nothing twice), with
or without a flush in between.
"""

from __future__ import annotations

import pytest
from pymilvus import DataType, MilvusClient

from helpers import count_rows, pks, rows_by_pk


def schema(auto_id: bool = False):
    s = MilvusClient.create_schema(auto_id=auto_id, enable_dynamic_field=True)
    s.add_field("id", DataType.INT64, is_primary=True, auto_id=auto_id)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    s.add_field("name", DataType.VARCHAR, max_length=32)
    s.add_field("n", DataType.INT64)
    return s


def row(i: int, gen: str = "v1", **extra) -> dict:
    r = {"id": i, "vec": [float(i), 0.5, -1.0, 2.0], "name": f"{gen}-{i}", "n": i}
    r.update(extra)
    return r


def reopen(srv) -> MilvusClient:
    srv.start()
    c = srv.client()
    assert [n for n in c.list_collections()] is not None
    return c


def ensure_loaded(c: MilvusClient, name: str) -> None:
    state = c.get_load_state(name)["state"].name
    assert state in ("Loaded", "NotLoad", "Loading"), state
    c.load_collection(name)


def check_state(c: MilvusClient, name: str, expected: dict) -> None:
    got = rows_by_pk(c, name)  # fails on a duplicate pk
    assert sorted(got) == sorted(expected), (
        f"missing {sorted(set(expected) - set(got))[:20]}, "
        f"unexpected {sorted(set(got) - set(expected))[:20]}"
    )
    for pk, want in expected.items():
        assert got[pk] == want, f"row {pk}: {got[pk]} != {want}"
    assert count_rows(c, name) == len(expected)
    assert c.get_collection_stats(name)["row_count"] == len(expected)


def apply_mixed_writes(c: MilvusClient, name: str, expected: dict, base: int) -> None:
    """Inserts, deletes by id and filter, upserts of old and new keys, on ids >= base."""
    batch = [row(i, color="red" if i % 2 else "blue") for i in range(base, base + 300)]
    for k in range(0, 300, 100):
        c.insert(name, batch[k : k + 100])
    expected.update({r["id"]: r for r in batch})
    c.delete(name, ids=list(range(base, base + 30)))
    for i in range(base, base + 30):
        expected.pop(i)
    c.delete(name, filter=f"id >= {base + 250} and color == 'red'")
    for i in range(base + 250, base + 300):
        if i % 2:
            expected.pop(i)
    ups = [row(i, gen="v2", shape="sq") for i in range(base + 100, base + 120)]
    ups += [row(i, gen="v2") for i in range(base + 1000, base + 1005)]  # new keys
    c.upsert(name, ups)
    expected.update({r["id"]: r for r in ups})
    # Delete after upsert, and re-insert after delete.
    c.delete(name, ids=[base + 101])
    expected.pop(base + 101)
    c.insert(name, [row(base + 5, gen="v3")])
    expected[base + 5] = row(base + 5, gen="v3")


def test_unflushed_writes_survive_kill(fresh_server, unique_name):
    srv = fresh_server
    c = srv.client()
    name = unique_name("crash")
    c.create_collection(name, schema=schema())
    c.load_collection(name)
    expected: dict = {}
    apply_mixed_writes(c, name, expected, base=0)
    check_state(c, name, expected)

    srv.kill()
    c = reopen(srv)
    ensure_loaded(c, name)
    check_state(c, name, expected)
    assert list(c.get(name, ids=[0, 29, 101])) == []
    assert c.get(name, ids=[100], output_fields=["name", "shape"])[0] == {"id": 100, "name": "v2-100", "shape": "sq"}

    # Killed again right after the restart: replaying the WAL twice changes nothing.
    srv.kill()
    c = reopen(srv)
    ensure_loaded(c, name)
    check_state(c, name, expected)


def test_flush_then_more_writes_then_kill(fresh_server, unique_name):
    srv = fresh_server
    c = srv.client()
    name = unique_name("crash2")
    c.create_collection(name, schema=schema())
    c.load_collection(name)
    expected: dict = {}
    apply_mixed_writes(c, name, expected, base=0)
    c.flush(name)
    # Writes after the flush touch sealed rows (delete, upsert) and add growing ones.
    apply_mixed_writes(c, name, expected, base=2000)
    c.delete(name, ids=[31, 32, 33])
    for i in (31, 32, 33):
        expected.pop(i)
    c.upsert(name, [row(i, gen="v4") for i in range(40, 50)])
    expected.update({i: row(i, gen="v4") for i in range(40, 50)})
    check_state(c, name, expected)

    srv.kill()
    c = reopen(srv)
    ensure_loaded(c, name)
    check_state(c, name, expected)
    assert pks(c, name, "name like 'v4-%'") == list(range(40, 50))

    # A clean restart and a further flush keep exactly the same rows.
    c.flush(name)
    srv.restart()
    c = srv.client()
    ensure_loaded(c, name)
    check_state(c, name, expected)


def test_kill_during_a_stream_of_acknowledged_writes(fresh_server, unique_name):
    """Many small acknowledged writes, the last one right before the kill."""
    srv = fresh_server
    c = srv.client()
    name = unique_name("stream")
    c.create_collection(name, schema=schema())
    expected = {}
    for i in range(60):
        c.insert(name, [row(i)])
        expected[i] = row(i)
        if i % 10 == 9:
            c.delete(name, ids=[i - 5])
            expected.pop(i - 5)
    c.upsert(name, [row(59, gen="last")])
    expected[59] = row(59, gen="last")
    srv.kill()
    c = reopen(srv)
    ensure_loaded(c, name)
    check_state(c, name, expected)


def test_auto_ids_stay_unique_across_a_crash(fresh_server, unique_name):
    srv = fresh_server
    c = srv.client()
    name = unique_name("autocrash")
    c.create_collection(name, schema=schema(auto_id=True))
    rows = [{k: v for k, v in row(i).items() if k != "id"} for i in range(50)]
    before = list(c.insert(name, rows)["ids"])
    srv.kill()
    c = reopen(srv)
    after = list(c.insert(name, rows)["ids"])
    assert len(set(before) | set(after)) == 100, "auto ids reused after a crash"
    ensure_loaded(c, name)
    got = rows_by_pk(c, name, output_fields=["n"])
    assert sorted(got) == sorted(before + after)
    assert count_rows(c, name) == 100


def test_dropped_collection_stays_dropped_after_kill(fresh_server, unique_name):
    srv = fresh_server
    c = srv.client()
    keep, gone = unique_name("keep"), unique_name("gone")
    for name in (keep, gone):
        c.create_collection(name, schema=schema())
        c.insert(name, [row(i) for i in range(20)])
    c.flush(gone)
    c.insert(gone, [row(i) for i in range(20, 30)])
    c.drop_collection(gone)
    # Same name again, different rows.
    c.create_collection(gone, schema=schema())
    c.insert(gone, [row(i, gen="new") for i in range(5)])
    srv.kill()
    c = reopen(srv)
    assert sorted(c.list_collections()) == sorted([keep, gone])
    ensure_loaded(c, gone)
    check_state(c, gone, {i: row(i, gen="new") for i in range(5)})
    ensure_loaded(c, keep)
    check_state(c, keep, {i: row(i) for i in range(20)})


def test_partition_writes_survive_kill(fresh_server, unique_name):
    srv = fresh_server
    c = srv.client()
    name = unique_name("partcrash")
    c.create_collection(name, schema=schema())
    c.create_partition(name, "p1")
    c.insert(name, [row(i) for i in range(10)], partition_name="p1")
    c.insert(name, [row(i) for i in range(10, 20)])
    c.delete(name, filter="id >= 0", partition_name="p1")
    c.insert(name, [row(i, gen="p1b") for i in range(5)], partition_name="p1")
    srv.kill()
    c = reopen(srv)
    ensure_loaded(c, name)
    assert pks(c, name, partition_names=["p1"]) == list(range(5))
    assert pks(c, name, partition_names=["_default"]) == list(range(10, 20))
    assert c.get_partition_stats(name, "p1")["row_count"] == 5


def test_filter_delete_is_not_reapplied_to_later_rows(fresh_server, unique_name):
    """A delete by filter removes the rows matching when it ran; rows written later that
    match the same filter stay, also after WAL replay and after a flush."""
    srv = fresh_server
    c = srv.client()
    name = unique_name("fdel")
    c.create_collection(name, schema=schema())
    c.insert(name, [row(i, color="red") for i in range(10)])
    c.delete(name, filter="n >= 5")
    c.insert(name, [row(i, gen="v2", color="red") for i in range(5, 8)])
    c.upsert(name, [row(0, color="blue")])
    c.delete(name, filter="color == 'red' and n < 3")
    expected = {0: row(0, color="blue")}
    expected.update({i: row(i, color="red") for i in (3, 4)})
    expected.update({i: row(i, gen="v2", color="red") for i in range(5, 8)})
    c.load_collection(name)
    check_state(c, name, expected)
    srv.kill()
    c = reopen(srv)
    ensure_loaded(c, name)
    check_state(c, name, expected)
    c.flush(name)
    srv.kill()
    c = reopen(srv)
    ensure_loaded(c, name)
    check_state(c, name, expected)


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_dropped_partition_stays_dropped_after_restart(fresh_server, unique_name, how):
    """Rows of a dropped partition, flushed or still growing, do not come back."""
    srv = fresh_server
    c = srv.client()
    name = unique_name("droppart")
    c.create_collection(name, schema=schema())
    c.create_partition(name, "p1")
    c.insert(name, [row(i) for i in range(10)], partition_name="p1")
    c.flush(name)
    c.insert(name, [row(i) for i in range(10, 15)], partition_name="p1")
    c.insert(name, [row(i) for i in range(20, 25)])
    c.drop_partition(name, "p1")
    c.load_collection(name)
    check_state(c, name, {i: row(i) for i in range(20, 25)})
    srv.kill() if how == "kill" else srv.stop()
    c = reopen(srv)
    assert c.list_partitions(name) == ["_default"]
    ensure_loaded(c, name)
    check_state(c, name, {i: row(i) for i in range(20, 25)})


def test_renamed_collection_keeps_growing_and_sealed_rows_after_kill(fresh_server, unique_name):
    srv = fresh_server
    c = srv.client()
    old, new = unique_name("old"), unique_name("new")
    c.create_collection(old, schema=schema())
    c.insert(old, [row(i) for i in range(10)])
    c.flush(old)
    c.insert(old, [row(i) for i in range(10, 20)])
    c.delete(old, ids=[0, 15])
    c.rename_collection(old, new)
    c.insert(new, [row(i) for i in range(20, 25)])
    srv.kill()
    c = reopen(srv)
    assert new in c.list_collections() and old not in c.list_collections()
    ensure_loaded(c, new)
    check_state(c, new, {i: row(i) for i in range(25) if i not in (0, 15)})
