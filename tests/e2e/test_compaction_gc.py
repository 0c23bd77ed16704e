"""Compaction (manual, with deletes and upserts across segments) and garbage collection
of data files in the local object store (`<data_dir>/objects/{insert_log,delta_log}/...`).

GC runs on a server configured with `gc_interval_seconds = 1`, `gc_grace_seconds = 2`
(automatic compaction is pushed out of the way so only manual compactions happen).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import MilvusException

from conftest import QuiverServer, data_config
from helpers import COLLECTION_NOT_FOUND, count_rows, expect_error, rows_by_pk

GC_CONFIG = data_config(
    gc_interval_seconds=1,
    gc_grace_seconds=2,
    compaction_interval_seconds=3600,
    seal_idle_seconds=3600,
)
# GC may take up to interval + grace (+ scheduling slack) to remove a file.
GC_WAIT_S = 20.0


def schema():
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    s.add_field("name", DataType.VARCHAR, max_length=16)
    s.add_field("n", DataType.INT64)
    return s


def row(i: int, gen: str = "v1") -> dict:
    return {"id": i, "vec": [float(i), 0.0, 1.0, -1.0], "name": f"{gen}-{i}", "n": i * 3}


def wait_until(pred, timeout: float = GC_WAIT_S, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def segment_files(srv: QuiverServer, cid: int, segment: int) -> list[Path]:
    """Insert and delta logs of one segment (any partition)."""
    out: list[Path] = []
    for kind in ("insert_log", "delta_log"):
        out += [p for p in (srv.objects_dir / kind / str(cid)).glob(f"*/{segment}/*") if p.is_file()]
    return out


def collection_files(srv: QuiverServer, cid: int) -> list[Path]:
    out: list[Path] = []
    for kind in ("insert_log", "delta_log"):
        root = srv.objects_dir / kind / str(cid)
        if root.exists():
            out += [p for p in root.rglob("*") if p.is_file()]
    return out


def sealed_segments(c: MilvusClient, name: str) -> dict:
    """segment id -> num_rows, from GetPersistentSegmentInfo."""
    return {s.segment_id: s.num_rows for s in c.list_persistent_segments(name)}


def build_fragmented(c: MilvusClient, name: str) -> dict:
    """5 batches each followed by a flush, then deletes and cross-segment upserts, flushed,
    then some growing rows. Returns the expected rows."""
    c.create_collection(name, schema=schema())
    expected = {}
    for b in range(5):
        batch = [row(i) for i in range(b * 40, b * 40 + 40)]
        c.insert(name, batch)
        c.flush(name)
        expected.update({r["id"]: r for r in batch})
    c.delete(name, ids=list(range(0, 200, 7)))
    c.delete(name, filter="id >= 120 and id < 140")  # a whole half of segment 4
    for i in list(expected):
        if i % 7 == 0 or 120 <= i < 140:
            expected.pop(i)
    ups = [row(i, gen="v2") for i in (1, 41, 81, 121, 161, 199)]  # 121 was deleted: re-created
    c.upsert(name, ups)
    expected.update({r["id"]: r for r in ups})
    c.flush(name)
    growing = [row(i, gen="g") for i in range(300, 310)]
    c.insert(name, growing)
    expected.update({r["id"]: r for r in growing})
    return expected


def check_exact(c: MilvusClient, name: str, expected: dict) -> None:
    assert rows_by_pk(c, name) == expected
    assert count_rows(c, name) == len(expected)
    assert c.get_collection_stats(name)["row_count"] == len(expected)
    assert sorted(r["id"] for r in c.query(name, filter="name like 'v2-%'", output_fields=["id"])) == [
        1, 41, 81, 121, 161, 199
    ]


# ---- compaction (default config) ----------------------------------------------------------


def test_compaction_merges_segments_and_drops_deleted_rows(server, client, unique_name):
    name = unique_name("compact")
    expected = build_fragmented(client, name)
    client.load_collection(name)
    before = sealed_segments(client, name)
    assert len(before) >= 5, f"5 flushed batches should give >= 5 segments, got {before}"
    check_exact(client, name, expected)

    job = client.compact(name)
    assert client.get_compaction_state(job) == "Completed"
    plans = client.get_compaction_plans(job)
    assert plans.state.name == "Completed"
    assert plans.plans, "a fragmented collection with deletes should give a plan"
    sources = {s for p in plans.plans for s in p.sources}
    assert sources and sources <= set(before), (sources, before)

    after = sealed_segments(client, name)
    assert len(after) < len(before), f"segment count did not drop: {before} -> {after}"
    assert not (sources & set(after)), "compacted-away segments are still listed"
    sealed_expected = len([k for k in expected if k < 300])
    assert sum(after.values()) == sealed_expected, (
        f"sealed rows after compaction {after} should be exactly the live sealed rows"
    )
    loaded = {s.segment_id for s in client.list_loaded_segments(name) if s.state_name == "Sealed"}
    assert loaded == set(after)
    check_exact(client, name, expected)

    # Writes after compaction, and a restart, keep it exact.
    client.delete(name, ids=[2, 300])
    expected.pop(2)
    expected.pop(300)
    check_exact(client, name, expected)
    server.restart()
    c = server.client()
    c.load_collection(name)
    check_exact(c, name, expected)
    assert sealed_segments(c, name) == after


def test_compaction_of_fully_deleted_segment(client, unique_name):
    name = unique_name("alldel")
    client.create_collection(name, schema=schema())
    client.load_collection(name)
    client.insert(name, [row(i) for i in range(20)])
    client.flush(name)
    client.insert(name, [row(i) for i in range(20, 40)])
    client.flush(name)
    client.delete(name, filter="id < 20")
    client.flush(name)
    job = client.compact(name)
    assert client.get_compaction_state(job) == "Completed"
    assert rows_by_pk(client, name) == {i: row(i) for i in range(20, 40)}
    assert sum(sealed_segments(client, name).values()) == 20


@pytest.mark.parametrize("state", ["never_loaded", "released"])
def test_compaction_does_not_need_a_loaded_collection(client, unique_name, state):
    """Milvus compacts flushed segments whatever the load state (DataCoord's job)."""
    name = unique_name("unloadedc")
    client.create_collection(name, schema=schema())
    if state == "released":
        client.load_collection(name)
    for b in range(3):
        client.insert(name, [row(i) for i in range(b * 10, b * 10 + 10)])
        client.flush(name)
    client.delete(name, filter="id % 5 == 0")
    client.flush(name)
    if state == "released":
        client.release_collection(name)
    before = sealed_segments(client, name)
    job = client.compact(name)
    assert client.get_compaction_state(job) == "Completed"
    after = sealed_segments(client, name)
    assert len(after) < len(before), f"nothing compacted: {before} -> {after}"
    assert sum(after.values()) == 24
    client.load_collection(name)
    assert rows_by_pk(client, name) == {i: row(i) for i in range(30) if i % 5}


def test_compaction_state_of_unknown_job(client):
    with pytest.raises(MilvusException):
        client.get_compaction_state(987654321)


def test_compaction_with_nothing_to_do(client, unique_name):
    name = unique_name("nothing")
    client.create_collection(name, schema=schema())
    client.insert(name, [row(i) for i in range(5)])
    job = client.compact(name)
    assert client.get_compaction_state(job) == "Completed"
    client.load_collection(name)
    assert rows_by_pk(client, name) == {i: row(i) for i in range(5)}


def test_compaction_of_unknown_collection(client):
    with expect_error(COLLECTION_NOT_FOUND, "nope_coll"):
        client.compact("nope_coll")


# ---- garbage collection -------------------------------------------------------------------


@pytest.fixture(scope="module")
def gc_server(quiver_bin, tmp_path_factory):
    base = tmp_path_factory.mktemp("gc")
    srv = QuiverServer(quiver_bin, base / "data", base / "quiver.log", config=GC_CONFIG).start()
    yield srv
    srv._close_clients()
    if srv.running:
        srv.stop()


@pytest.fixture
def gc(gc_server):
    if not gc_server.running:
        gc_server.start()
    return gc_server


def test_gc_removes_unreferenced_file(gc):
    stray = gc.objects_dir / "insert_log" / "999" / "1" / "1" / "1.parquet"
    stray_delta = gc.objects_dir / "delta_log" / "999" / "1" / "1" / "2.parquet"
    unrelated = gc.objects_dir / "unrelated" / "keep.txt"
    for p in (stray, stray_delta, unrelated):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"not a real parquet file")
    time.sleep(0.5)
    assert stray.exists(), "a file younger than gc_grace_seconds must not be removed yet"
    assert wait_until(lambda: not stray.exists()), f"{stray} was not garbage-collected"
    assert wait_until(lambda: not stray_delta.exists()), f"{stray_delta} was not garbage-collected"
    assert unrelated.exists(), "GC must only touch the data prefixes it manages"


def test_gc_keeps_referenced_files(gc, unique_name):
    c = gc.client()
    name = unique_name("gckeep")
    c.create_collection(name, schema=schema())
    cid = c.describe_collection(name)["collection_id"]
    c.insert(name, [row(i) for i in range(100)])
    c.flush(name)
    c.delete(name, ids=list(range(10)))
    c.flush(name)
    files = collection_files(gc, cid)
    assert any("insert_log" in str(p) for p in files) and any("delta_log" in str(p) for p in files), files
    time.sleep(5)  # > interval + grace
    assert all(p.exists() for p in files), [str(p) for p in files if not p.exists()]
    c.load_collection(name)
    assert rows_by_pk(c, name) == {i: row(i) for i in range(10, 100)}
    gc.restart()
    c = gc.client()
    c.load_collection(name)
    assert rows_by_pk(c, name) == {i: row(i) for i in range(10, 100)}
    c.drop_collection(name)


def test_gc_removes_compacted_away_files(gc, unique_name):
    c = gc.client()
    name = unique_name("gccomp")
    expected = build_fragmented(c, name)
    cid = c.describe_collection(name)["collection_id"]
    c.load_collection(name)
    before = sealed_segments(c, name)
    old_files = {seg: segment_files(gc, cid, seg) for seg in before}
    assert all(old_files.values()), f"every sealed segment should have files: {old_files}"

    job = c.compact(name)
    assert c.get_compaction_state(job) == "Completed"
    after = sealed_segments(c, name)
    gone_segments = set(before) - set(after)
    assert gone_segments, f"compaction removed no segment: {before} -> {after}"
    gone_files = [p for seg in gone_segments for p in old_files[seg]]
    new_files = [p for seg in after for p in segment_files(gc, cid, seg)]
    assert new_files, f"the compacted segments have no files: {after}"

    assert wait_until(lambda: not any(p.exists() for p in gone_files)), (
        "compacted-away files were not collected: " + ", ".join(str(p) for p in gone_files if p.exists())
    )
    assert all(p.exists() for p in new_files), [str(p) for p in new_files if not p.exists()]
    check_exact(c, name, expected)
    gc.restart()
    c = gc.client()
    c.load_collection(name)
    check_exact(c, name, expected)
    c.drop_collection(name)


def test_gc_removes_dropped_collection_files(gc, unique_name):
    c = gc.client()
    keep, gone = unique_name("gckeep"), unique_name("gcdrop")
    for n in (keep, gone):
        c.create_collection(n, schema=schema())
        c.insert(n, [row(i) for i in range(50)])
        c.flush(n)
        c.delete(n, ids=[1, 2])
        c.flush(n)
    keep_id = c.describe_collection(keep)["collection_id"]
    gone_id = c.describe_collection(gone)["collection_id"]
    gone_files = collection_files(gc, gone_id)
    keep_files = collection_files(gc, keep_id)
    assert gone_files and keep_files
    c.drop_collection(gone)
    assert wait_until(lambda: not any(p.exists() for p in gone_files)), (
        "dropped collection's files stayed: " + ", ".join(str(p) for p in gone_files if p.exists())
    )
    assert collection_files(gc, gone_id) == []
    assert all(p.exists() for p in keep_files)
    c.load_collection(keep)
    assert rows_by_pk(c, keep) == {i: row(i) for i in range(50) if i not in (1, 2)}
    c.drop_collection(keep)


def test_gc_removes_dropped_partition_files(gc, unique_name):
    c = gc.client()
    name = unique_name("gcpart")
    c.create_collection(name, schema=schema())
    c.create_partition(name, "p1")
    c.insert(name, [row(i) for i in range(30)], partition_name="p1")
    c.insert(name, [row(i) for i in range(30, 40)])
    c.flush(name)
    cid = c.describe_collection(name)["collection_id"]
    all_files = collection_files(gc, cid)
    c.drop_partition(name, "p1")
    remaining = lambda: collection_files(gc, cid)  # noqa: E731
    assert wait_until(lambda: 0 < len(remaining()) < len(all_files)), (all_files, remaining())
    c.load_collection(name)
    assert rows_by_pk(c, name) == {i: row(i) for i in range(30, 40)}
    c.drop_collection(name)


def test_compaction_respects_delete_timestamps(server, client, unique_name):
    """A delete only hides versions written before it: a key deleted and then inserted
    again keeps its new row through flush, compaction and restart."""
    name = unique_name("delts")
    client.create_collection(name, schema=schema())
    client.insert(name, [row(i) for i in range(10)])
    client.flush(name)
    client.delete(name, ids=[3, 5])
    client.insert(name, [row(5, gen="v2")])  # same flush window as its delete
    client.flush(name)
    client.delete(name, ids=[7])
    client.flush(name)
    client.insert(name, [row(7, gen="v3")])  # later window than its delete
    client.flush(name)
    expected = {i: row(i) for i in range(10) if i not in (3, 5, 7)}
    expected[5] = row(5, gen="v2")
    expected[7] = row(7, gen="v3")
    client.load_collection(name)
    assert rows_by_pk(client, name) == expected
    job = client.compact(name)
    assert client.get_compaction_state(job) == "Completed"
    assert rows_by_pk(client, name) == expected
    server.restart()
    c = server.client()
    c.load_collection(name)
    assert rows_by_pk(c, name) == expected
    c.compact(name)
    assert rows_by_pk(c, name) == expected
    assert count_rows(c, name) == 9
