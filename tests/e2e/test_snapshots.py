"""Collection snapshots through MilvusClient (pymilvus 3.0.2, generation-2 API):
create / list / describe / drop, pins, restore (jobs, the restored collection, point in
time), errors, databases and aliases, concurrency.

Restart, crash, GC and corruption tests are in test_snapshots_durability.py; the user
guide's examples in test_snapshots_user_guide.py.
"""

from __future__ import annotations

import re
import threading
import time

import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import MilvusException
from pymilvus.grpc_gen import milvus_pb2

from helpers import (
    COLLECTION_NOT_FOUND,
    DATABASE_NOT_FOUND,
    INVALID_PARAMETER,
    RESTORE_JOB_NOT_FOUND,
    RPC_TIMEOUT_S,
    SNAPSHOT_NOT_FOUND,
    SNAPSHOT_PINNED,
    UNEXPECTED,
    assert_ok,
    assert_status,
    count_rows,
    expect_error,
    load_state_name,
    partition_key_schema,
    rows_by_pk,
    snapshot_files,
    wait_restore,
)

DIM = 8
COMPLETED = "RestoreSnapshotCompleted"
FAILED = "RestoreSnapshotFailed"
QUERY_VECTORS = [
    [0.37 * (k + 1) for k in range(DIM)],
    [3.1 - 0.29 * k for k in range(DIM)],
    [1.7, 0.2, 2.9, 0.4, 1.1, 2.3, 0.9, 1.6],
]


# ---- data ------------------------------------------------------------------------------


def vec(i: int, gen: int = 0) -> list:
    """Distinct per id (first component), exact in float32 (multiples of 1/8)."""
    return [i / 8.0] + [float((i * (k + 3) + gen * 7) % 17) / 8.0 for k in range(DIM - 1)]


def row(i: int, gen: str = "v1") -> dict:
    g = {"v1": 0, "v2": 1, "v3": 2}.get(gen, 3)
    return {"id": i, "vector": vec(i, g), "title": f"{gen}-{i}", "n": i * 3}


def schema(description: str = "snapshot source", dynamic: bool = False):
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=dynamic, description=description)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("title", DataType.VARCHAR, max_length=64)
    s.add_field("n", DataType.INT64)
    return s


def index_params(c: MilvusClient):
    ip = c.prepare_index_params()
    ip.add_index("vector", index_name="vec_idx", index_type="HNSW", metric_type="L2",
                 params={"M": 8, "efConstruction": 64})
    return ip


def create_source(c: MilvusClient, name: str, *, consistency: str = "Session", index: bool = True,
                  dynamic: bool = False, **kwargs) -> None:
    c.create_collection(name, schema=schema(dynamic=dynamic), consistency_level=consistency, **kwargs)
    if index:
        c.create_index(name, index_params(c))


def fill(c: MilvusClient, name: str, ids, gen: str = "v1", flush: bool = True, **kwargs) -> dict:
    rows = [row(i, gen) for i in ids]
    c.insert(name, rows, **kwargs)
    if flush:
        c.flush(name)
    return {r["id"]: r for r in rows}


def build_source(c: MilvusClient, name: str, *, index: bool = True, consistency: str = "Session") -> dict:
    """3 flushed batches of 100 rows, flushed deletes and an upsert, index built.
    Returns the expected rows."""
    create_source(c, name, consistency=consistency, index=index)
    expected: dict = {}
    for b in range(3):
        expected.update(fill(c, name, range(b * 100, b * 100 + 100)))
    c.delete(name, ids=list(range(0, 300, 10)))
    for i in range(0, 300, 10):
        expected.pop(i)
    ups = [row(i, "v2") for i in (5, 105, 205, 10)]  # 10 was deleted: re-created
    c.upsert(name, ups)
    expected.update({r["id"]: r for r in ups})
    c.flush(name)
    if index:
        wait_for_index(c, name)
    return expected


def wait_for_index(c: MilvusClient, name: str, index_name: str = "vec_idx") -> dict:
    deadline = time.monotonic() + 30
    while True:
        d = c.describe_index(name, index_name)
        if d["state"] == "Finished" and d["pending_index_rows"] == 0 and d["indexed_rows"] > 0:
            return d
        assert time.monotonic() < deadline, f"index of {name} not built: {d}"
        time.sleep(0.1)


def search_hits(c: MilvusClient, name: str, **kwargs) -> list:
    res = c.search(
        name,
        data=QUERY_VECTORS,
        limit=10,
        output_fields=["title"],
        search_params={"metric_type": "L2", "params": {"ef": 64}},
        **kwargs,
    )
    return [[(h["id"], h["entity"]["title"]) for h in hits] for hits in res]


def search_distances(c: MilvusClient, name: str) -> list:
    res = c.search(name, data=QUERY_VECTORS, limit=10, search_params={"metric_type": "L2", "params": {"ef": 64}})
    return [[h["distance"] for h in hits] for hits in res]


def restore_ok(c: MilvusClient, snapshot: str, source: str, target: str, **kwargs):
    job = c.restore_snapshot(snapshot, source, target, **kwargs)
    assert isinstance(job, int) and job > 0, job
    final, seen = wait_restore(c, job)
    assert final.state == COMPLETED, final
    assert final.progress == 100 and final.reason == "" and final.time_cost > 0, final
    return job, final, seen


def seg_ids(c: MilvusClient, name: str) -> set:
    return {s.segment_id for s in c.list_persistent_segments(name)}


def collection_id(c: MilvusClient, name: str, **kwargs) -> int:
    return c.describe_collection(name, **kwargs)["collection_id"]


def snapshot_id(s3_location: str) -> int:
    m = re.fullmatch(r"snapshots/(\d+)/metadata/(\d+)\.json", s3_location)
    assert m, f"s3_location {s3_location!r} is not snapshots/<collection_id>/metadata/<snapshot_id>.json"
    return int(m.group(2))


@pytest.fixture
def db_client(server):
    opened = []

    def make(db: str) -> MilvusClient:
        c = MilvusClient(uri=server.uri, db_name=db, dedicated=True)
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.close()


# ---- create / list / describe ---------------------------------------------------------


def test_create_list_describe(server, client, unique_name):
    name, snap = unique_name("src"), unique_name("snap")
    expected = build_source(client, name)
    cid = collection_id(client, name)
    before_ms = int(time.time() * 1000)
    client.create_snapshot(snap, name, description="nightly backup")
    after_ms = int(time.time() * 1000)

    assert client.list_snapshots(name) == [snap]
    info = client.describe_snapshot(snap, name)
    assert info.name == snap
    assert info.description == "nightly backup"
    assert info.collection_name == name
    assert info.partition_names == ["_default"]
    assert info.create_ts > 0
    physical = info.create_ts >> 18
    assert before_ms - 5000 <= physical <= after_ms + 5000, (
        f"create_ts {info.create_ts} is not a hybrid TSO near now (physical {physical} ms)"
    )
    sid = snapshot_id(info.s3_location)
    assert info.s3_location == f"snapshots/{cid}/metadata/{sid}.json"

    # On disk: the metadata JSON and one Avro manifest per sealed segment.
    snap_files = snapshot_files(server.objects_dir, info.s3_location)
    meta = snap_files["metadata"]
    assert meta["snapshot_info"]["name"] == snap
    assert meta["snapshot_info"]["id"] == sid
    assert meta["snapshot_info"]["collection_id"] == cid
    segments = seg_ids(client, name)
    assert set(meta["segment_ids"]) == segments
    manifest_dir = server.objects_dir / "snapshots" / str(cid) / "manifests" / str(sid)
    assert sorted(p.name for p in manifest_dir.iterdir()) == sorted(f"{s}.avro" for s in segments)
    assert sorted(meta["manifest_list"]) == sorted(
        f"snapshots/{cid}/manifests/{sid}/{s}.avro" for s in segments
    )
    # Every referenced data file exists; the index files are captured too.
    keys = snap_files["data_keys"]
    assert all((server.objects_dir / k).is_file() for k in keys), keys
    assert any(k.startswith("insert_log/") for k in keys)
    assert any(k.startswith("delta_log/") for k in keys)
    assert any(k.startswith("index_files/") for k in keys), "built index files are not captured"

    # The source is unaffected.
    client.load_collection(name)
    assert rows_by_pk(client, name) == expected


def test_manifests_describe_the_captured_segments(server, client, unique_name):
    """docs/FORMAT.md: one manifest per segment, every file with its real size, its log
    id and its row timestamps."""
    name, snap = unique_name("src"), unique_name("snap")
    create_source(client, name)
    for b in range(3):
        fill(client, name, range(b * 100, b * 100 + 100))
    client.delete(name, ids=list(range(0, 300, 10)))  # after every insert
    client.flush(name)
    wait_for_index(client, name)
    persistent = {s.segment_id: s.num_rows for s in client.list_persistent_segments(name)}
    client.create_snapshot(snap, name)
    info = client.describe_snapshot(snap, name)
    files = snapshot_files(server.objects_dir, info.s3_location)
    manifests = list(files["manifests"].values())
    assert {m["segment_id"] for m in manifests} == set(persistent)
    partition_id = files["metadata"]["collection"]["partitions"]["_default"]
    problems: list = []
    for m in manifests:
        assert m["format_version"] == 1
        assert m["partition_id"] == partition_id
        assert m["num_of_rows"] == sum(b["entries_num"] for g in m["binlog_files"] for b in g["binlogs"])
        for group in m["binlog_files"] + m["deltalog_files"]:
            for b in group["binlogs"]:
                path = server.objects_dir / b["log_path"]
                assert b["log_size"] == path.stat().st_size, b
                if b["log_id"] != int(path.stem):
                    problems.append(f"log_id {b['log_id']} is not the file's log id {path.stem}: {b['log_path']}")
                if not 0 < b["timestamp_from"] <= b["timestamp_to"]:
                    problems.append(
                        f"timestamp_from {b['timestamp_from']} is not the smallest row timestamp "
                        f"(want 0 < from <= to = {b['timestamp_to']}): {b['log_path']}"
                    )
        # The deletes of this source were issued after every insert of the segment.
        insert_to = max(b["timestamp_to"] for g in m["binlog_files"] for b in g["binlogs"])
        for g in m["deltalog_files"]:
            for b in g["binlogs"]:
                if not b["timestamp_to"] > insert_to:
                    problems.append(
                        f"delta log timestamp_to {b['timestamp_to']} is not its largest delete timestamp "
                        f"(deletes came after the inserts, up to {insert_to}): {b['log_path']}"
                    )
        assert len(m["index_files"]) == 1, m["index_files"]
        idx = m["index_files"][0]
        assert idx["index_name"] == "vec_idx" and idx["segment_id"] == m["segment_id"]
        assert idx["num_rows"] == m["num_of_rows"]
        assert idx["serialized_size"] == sum(
            (server.objects_dir / p).stat().st_size for p in idx["index_file_paths"]
        ), idx
    assert problems == [], "\n".join(problems)


def test_unflushed_rows_are_not_captured(client, unique_name):
    name, snap, target = unique_name("src"), unique_name("snap"), unique_name("dst")
    create_source(client, name)
    flushed = fill(client, name, range(100))
    fill(client, name, range(100, 150), flush=False)  # growing only
    wait_for_index(client, name)
    client.create_snapshot(snap, name)
    restore_ok(client, snap, name, target)
    client.load_collection(target)
    assert rows_by_pk(client, target) == flushed
    client.load_collection(name)
    assert count_rows(client, name) == 150


@pytest.mark.parametrize(
    "bad, fragment",
    [
        ("   ", "empty"),
        ("a" * 256, "255"),
        ("1snapshot", "first character"),
        ("$dollar", "first character"),
        ("snapshot-with-dash", "-"),
        ("a.b", "."),
        ("a b", " "),
        ("a/b", "/"),
        ("名字", "first character"),
    ],
)
def test_create_snapshot_invalid_names(client, unique_name, bad, fragment):
    name = unique_name("src")
    create_source(client, name, index=False)
    with expect_error(INVALID_PARAMETER, fragment):
        client.create_snapshot(bad, name)
    assert client.list_snapshots(name) == []


def test_create_snapshot_valid_name_edges(client, unique_name):
    name = unique_name("src")
    create_source(client, name, index=False)
    fill(client, name, range(10))
    names = ["s" * 255, "_x", "a$b", "A1_b2"]
    for n in names:
        client.create_snapshot(n, name)
    assert sorted(client.list_snapshots(name)) == sorted(names)
    for n in names:
        assert client.describe_snapshot(n, name).name == n


def test_create_snapshot_empty_name_raw(client, raw_stub, unique_name):
    """pymilvus refuses an empty name client-side; the server must refuse it too."""
    name = unique_name("src")
    create_source(client, name, index=False)
    status = raw_stub.CreateSnapshot(
        milvus_pb2.CreateSnapshotRequest(name="", collection_name=name), timeout=RPC_TIMEOUT_S
    )
    assert_status(status, INVALID_PARAMETER, "empty")
    assert status.error_code != 0
    assert client.list_snapshots(name) == []


def test_create_snapshot_unknown_collection(client, unique_name):
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.create_snapshot(unique_name("snap"), unique_name("nope"))


def test_duplicate_name_in_one_collection_only(client, unique_name):
    a, b, snap = unique_name("a"), unique_name("b"), unique_name("snap")
    for n in (a, b):
        create_source(client, n, index=False)
        fill(client, n, range(20))
    client.create_snapshot(snap, a, description="first")
    with expect_error(INVALID_PARAMETER, "already exists"):
        client.create_snapshot(snap, a, description="second")
    assert client.describe_snapshot(snap, a).description == "first"
    client.create_snapshot(snap, b, description="other collection")
    assert client.list_snapshots(a) == [snap]
    assert client.list_snapshots(b) == [snap]
    assert client.describe_snapshot(snap, b).description == "other collection"
    assert client.describe_snapshot(snap, a).s3_location != client.describe_snapshot(snap, b).s3_location


def test_compaction_protection_seconds_limits(client, raw_stub, unique_name):
    name = unique_name("src")
    create_source(client, name, index=False)
    fill(client, name, range(10))
    with expect_error(INVALID_PARAMETER, "must not exceed 604800"):
        client.create_snapshot("too_long", name, compaction_protection_seconds=604801)
    client.create_snapshot("max_ok", name, compaction_protection_seconds=604800)
    status = raw_stub.CreateSnapshot(
        milvus_pb2.CreateSnapshotRequest(name="negative", collection_name=name, compaction_protection_seconds=-1),
        timeout=RPC_TIMEOUT_S,
    )
    assert_status(status, INVALID_PARAMETER, "non-negative")
    assert client.list_snapshots(name) == ["max_ok"]


def test_compaction_protection_holds_off_compaction(client, unique_name):
    """Segments of a snapshot with compaction protection are not compacted; without
    protection they are."""
    protected, free = unique_name("prot"), unique_name("free")
    for n in (protected, free):
        create_source(client, n, index=False)
        for b in range(3):
            fill(client, n, range(b * 50, b * 50 + 50))
        client.delete(n, ids=list(range(0, 150, 3)))
        client.flush(n)
    client.create_snapshot("held", protected, compaction_protection_seconds=3600)
    client.create_snapshot("not_held", free)
    before_p, before_f = seg_ids(client, protected), seg_ids(client, free)
    for n in (protected, free):
        job = client.compact(n)
        assert client.get_compaction_state(job) == "Completed"
    assert seg_ids(client, protected) == before_p, "compaction rewrote protected segments"
    assert seg_ids(client, free) != before_f, "compaction without protection did nothing"
    expected = {i: row(i) for i in range(150) if i % 3}
    for n in (protected, free):
        client.load_collection(n)
        assert rows_by_pk(client, n) == expected


def test_snapshot_through_alias(client, unique_name):
    name, alias, snap, target = unique_name("src"), unique_name("al"), unique_name("snap"), unique_name("dst")
    create_source(client, name)
    expected = fill(client, name, range(50))
    wait_for_index(client, name)
    client.create_alias(name, alias)
    client.create_snapshot(snap, alias)
    assert client.list_snapshots(name) == [snap]
    assert client.list_snapshots(alias) == [snap]
    info = client.describe_snapshot(snap, alias)
    assert info.collection_name == name
    assert info.s3_location == client.describe_snapshot(snap, name).s3_location
    with expect_error(INVALID_PARAMETER, "already exists"):
        client.create_snapshot(snap, name)
    restore_ok(client, snap, alias, target)
    client.load_collection(target)
    assert rows_by_pk(client, target) == expected
    pin = client.pin_snapshot_data(snap, alias)
    with expect_error(SNAPSHOT_PINNED, "pinned"):
        client.drop_snapshot(snap, alias)
    client.unpin_snapshot_data(pin)
    client.drop_snapshot(snap, alias)
    assert client.list_snapshots(name) == []


def test_snapshots_in_another_database(client, db_client, unique_name):
    db, name, snap = unique_name("db"), unique_name("src"), unique_name("snap")
    client.create_database(db)
    dbc = db_client(db)
    create_source(dbc, name, index=False)
    fill(dbc, name, range(30))
    # Explicit db_name from a client of the default database.
    client.create_snapshot(snap, name, db_name=db, description="in db")
    assert client.list_snapshots(name, db_name=db) == [snap]
    assert dbc.list_snapshots(name) == [snap]  # the client's database
    assert dbc.describe_snapshot(snap, name).description == "in db"
    assert client.describe_snapshot(snap, name, db_name=db).collection_name == name
    # The default database has no such collection.
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.list_snapshots(name)
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.create_snapshot("other", name)
    # A same-named collection in the default database has its own snapshots.
    create_source(client, name, index=False)
    assert client.list_snapshots(name) == []
    client.create_snapshot(snap, name, description="in default")
    assert client.describe_snapshot(snap, name).description == "in default"
    assert dbc.describe_snapshot(snap, name).description == "in db"
    client.drop_snapshot(snap, name, db_name=db)
    assert dbc.list_snapshots(name) == []
    assert client.list_snapshots(name) == [snap]
    with expect_error(DATABASE_NOT_FOUND, "database not found"):
        client.create_snapshot("x", name, db_name=unique_name("nodb"))


def test_describe_unknown_snapshot(client, unique_name):
    name = unique_name("src")
    create_source(client, name, index=False)
    with expect_error(SNAPSHOT_NOT_FOUND, "snapshot not found"):
        client.describe_snapshot("never_created", name)
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.describe_snapshot("never_created", unique_name("nope"))
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.list_snapshots(unique_name("nope"))


def test_list_snapshots_requires_a_collection(client):
    with expect_error(INVALID_PARAMETER, "collection_name is required"):
        client.list_snapshots()


def test_list_snapshots_of_many(client, unique_name):
    name = unique_name("src")
    create_source(client, name, index=False)
    names = []
    for i in range(6):
        fill(client, name, range(i * 10, i * 10 + 10))
        n = f"snap_{i}"
        client.create_snapshot(n, name, description=f"after batch {i}")
        names.append(n)
    assert sorted(client.list_snapshots(name)) == sorted(names)
    ts = [client.describe_snapshot(n, name).create_ts for n in names]
    assert ts == sorted(ts) and len(set(ts)) == len(ts), f"create_ts not increasing: {ts}"


def test_snapshot_of_empty_collection_restores_empty(client, unique_name):
    name, snap, target = unique_name("empty"), unique_name("snap"), unique_name("dst")
    create_source(client, name)
    client.create_snapshot(snap, name)
    info = client.describe_snapshot(snap, name)
    assert info.partition_names == ["_default"]
    job, final, _ = restore_ok(client, snap, name, target)
    assert client.describe_collection(target)["fields"] == client.describe_collection(name)["fields"]
    client.load_collection(target)
    assert count_rows(client, target) == 0


# ---- drop ----------------------------------------------------------------------------


def test_drop_snapshot_removes_its_files_only(server, client, unique_name):
    name, snap = unique_name("src"), unique_name("snap")
    expected = build_source(client, name)
    cid = collection_id(client, name)
    client.create_snapshot(snap, name)
    info = client.describe_snapshot(snap, name)
    sid = snapshot_id(info.s3_location)
    files = snapshot_files(server.objects_dir, info.s3_location)
    own = [server.objects_dir / info.s3_location] + [server.objects_dir / k for k in files["manifests"]]
    assert all(p.is_file() for p in own)

    client.drop_snapshot(snap, name)
    assert client.list_snapshots(name) == []
    with expect_error(SNAPSHOT_NOT_FOUND, "snapshot not found"):
        client.describe_snapshot(snap, name)
    assert not any(p.exists() for p in own), [str(p) for p in own if p.exists()]
    assert not (server.objects_dir / "snapshots" / str(cid) / "manifests" / str(sid)).exists() or not any(
        (server.objects_dir / "snapshots" / str(cid) / "manifests" / str(sid)).iterdir()
    )
    # Data and index files are not the snapshot's: they stay.
    assert all((server.objects_dir / k).is_file() for k in files["data_keys"])
    client.load_collection(name)
    assert rows_by_pk(client, name) == expected

    # Idempotent; the name can be used again.
    client.drop_snapshot(snap, name)
    client.drop_snapshot("never_created", name)
    client.create_snapshot(snap, name, description="again")
    assert client.describe_snapshot(snap, name).description == "again"
    assert client.describe_snapshot(snap, name).s3_location != info.s3_location


def test_drop_snapshot_errors(client, raw_stub, unique_name):
    name = unique_name("src")
    create_source(client, name, index=False)
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.drop_snapshot("s", unique_name("nope"))
    with expect_error(INVALID_PARAMETER):
        client.drop_snapshot("bad-name", name)
    status = raw_stub.DropSnapshot(milvus_pb2.DropSnapshotRequest(name="s", collection_name=""), timeout=RPC_TIMEOUT_S)
    assert_status(status, INVALID_PARAMETER, "collection_name is required")


def test_drop_collection_drops_its_snapshots(server, client, unique_name):
    name = unique_name("src")
    create_source(client, name, index=False)
    fill(client, name, range(40))
    cid = collection_id(client, name)
    for s in ("s1", "s2"):
        client.create_snapshot(s, name)
    assert (server.objects_dir / "snapshots" / str(cid)).exists()
    client.drop_collection(name)
    create_source(client, name, index=False)
    assert client.list_snapshots(name) == []
    with expect_error(SNAPSHOT_NOT_FOUND, "snapshot not found"):
        client.describe_snapshot("s1", name)
    with expect_error(SNAPSHOT_NOT_FOUND, "snapshot not found"):
        client.restore_snapshot("s1", name, unique_name("dst"))
    leftover = [p for p in (server.objects_dir / "snapshots" / str(cid)).rglob("*") if p.is_file()]
    assert leftover == [], f"snapshot files of the dropped collection stayed: {leftover}"
    client.create_snapshot("s1", name)  # the name is free in the new collection
    assert client.list_snapshots(name) == ["s1"]


# ---- pins ------------------------------------------------------------------------------


def test_pin_blocks_drop_until_every_pin_is_released(client, unique_name):
    name, snap = unique_name("src"), unique_name("snap")
    create_source(client, name, index=False)
    fill(client, name, range(20))
    client.create_snapshot(snap, name)
    p1 = client.pin_snapshot_data(snap, name)
    p2 = client.pin_snapshot_data(snap, name, ttl_seconds=3600)
    assert isinstance(p1, int) and p1 > 0 and p2 > 0 and p1 != p2
    with expect_error(SNAPSHOT_PINNED, "pinned"):
        client.drop_snapshot(snap, name)
    client.unpin_snapshot_data(p1)
    with expect_error(SNAPSHOT_PINNED, "pinned"):
        client.drop_snapshot(snap, name)
    assert client.list_snapshots(name) == [snap]
    client.unpin_snapshot_data(p2)
    client.unpin_snapshot_data(p2)  # idempotent
    client.drop_snapshot(snap, name)
    assert client.list_snapshots(name) == []


def test_pinned_snapshot_can_still_be_restored(client, unique_name):
    name, snap, target = unique_name("src"), unique_name("snap"), unique_name("dst")
    create_source(client, name)
    expected = fill(client, name, range(60))
    wait_for_index(client, name)
    client.create_snapshot(snap, name)
    pin = client.pin_snapshot_data(snap, name)
    restore_ok(client, snap, name, target)
    # The job's own pin is gone, the explicit one stays.
    with expect_error(SNAPSHOT_PINNED, "pinned"):
        client.drop_snapshot(snap, name)
    client.unpin_snapshot_data(pin)
    client.drop_snapshot(snap, name)
    client.load_collection(target)
    assert rows_by_pk(client, target) == expected


def test_pin_validation(client, raw_stub, unique_name):
    name, snap = unique_name("src"), unique_name("snap")
    create_source(client, name, index=False)
    client.create_snapshot(snap, name)
    with expect_error(INVALID_PARAMETER, "exceeds maximum of 2592000"):
        client.pin_snapshot_data(snap, name, ttl_seconds=2592001)
    ok = client.pin_snapshot_data(snap, name, ttl_seconds=2592000)
    assert ok > 0
    resp = raw_stub.PinSnapshotData(
        milvus_pb2.PinSnapshotDataRequest(name=snap, collection_name=name, ttl_seconds=-1), timeout=RPC_TIMEOUT_S
    )
    assert_status(resp.status, INVALID_PARAMETER, "non-negative")
    assert resp.pin_id == 0
    status = raw_stub.UnpinSnapshotData(milvus_pb2.UnpinSnapshotDataRequest(pin_id=0), timeout=RPC_TIMEOUT_S)
    assert_status(status, INVALID_PARAMETER, "pin_id")
    with expect_error(SNAPSHOT_NOT_FOUND, "snapshot not found"):
        client.pin_snapshot_data("never_created", name)
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.pin_snapshot_data(snap, unique_name("nope"))
    client.unpin_snapshot_data(987654321987)  # unknown: success
    assert_ok(raw_stub.UnpinSnapshotData(milvus_pb2.UnpinSnapshotDataRequest(pin_id=123456789), timeout=RPC_TIMEOUT_S))
    client.unpin_snapshot_data(ok)
    client.drop_snapshot(snap, name)


def test_pin_ttl_expires(client, unique_name):
    name, snap = unique_name("src"), unique_name("snap")
    create_source(client, name, index=False)
    client.create_snapshot(snap, name)
    client.pin_snapshot_data(snap, name, ttl_seconds=1)
    with expect_error(SNAPSHOT_PINNED, "pinned"):
        client.drop_snapshot(snap, name)
    time.sleep(2.2)
    client.drop_snapshot(snap, name)
    assert client.list_snapshots(name) == []


# ---- restore ---------------------------------------------------------------------------


def test_restore_roundtrip(client, unique_name):
    name, snap, target = unique_name("src"), unique_name("snap"), unique_name("dst")
    expected = build_source(client, name)
    client.load_collection(name)
    assert rows_by_pk(client, name) == expected
    source_hits = search_hits(client, name)
    source_dist = search_distances(client, name)
    filtered = rows_by_pk(client, name, filter="n > 300 and title like 'v1-%'")
    source_desc = client.describe_collection(name)
    source_index = client.describe_index(name, "vec_idx")
    client.create_snapshot(snap, name)

    job = client.restore_snapshot(snap, name, target)
    assert isinstance(job, int) and job > 0
    # The target exists at once, not loaded.
    assert client.has_collection(target)
    assert load_state_name(client, target) == "NotLoad"
    final, seen = wait_restore(client, job)
    assert final.state == COMPLETED, final
    assert final.progress == 100 and final.reason == "" and final.time_cost > 0, final
    assert final.snapshot_name == snap and final.collection_name == target and final.db_name == "default"
    assert load_state_name(client, target) == "NotLoad", "a restore must not load the target"

    # Schema, field ids, description, consistency level, properties.
    desc = client.describe_collection(target)
    assert desc["collection_id"] != source_desc["collection_id"]
    assert desc["fields"] == source_desc["fields"]
    assert [f["field_id"] for f in desc["fields"]] == [f["field_id"] for f in source_desc["fields"]]
    assert desc["description"] == "snapshot source" == source_desc["description"]
    assert desc["consistency_level"] == source_desc["consistency_level"]
    assert desc["consistency_level_name"] == "Session"
    assert desc["enable_dynamic_field"] == source_desc["enable_dynamic_field"]
    assert desc["auto_id"] == source_desc["auto_id"]
    assert desc["num_shards"] == source_desc["num_shards"]
    assert desc["properties"].get("preserve_field_ids") == "true", desc["properties"]
    assert client.list_partitions(target) == ["_default"]

    # Index definitions, already built (no rebuild): right after Completed.
    assert client.list_indexes(target) == ["vec_idx"]
    idx = client.describe_index(target, "vec_idx")
    assert idx["state"] == "Finished", idx
    assert idx["pending_index_rows"] == 0, idx
    assert idx["indexed_rows"] == source_index["indexed_rows"] == idx["total_rows"], (idx, source_index)
    for k in ("index_type", "metric_type", "M", "efConstruction", "field_name", "index_name"):
        assert idx[k] == source_index[k], (k, idx, source_index)

    # Job listing (target filter).
    assert [j.job_id for j in client.list_restore_snapshot_jobs(collection_name=target)] == [job]
    assert job in [j.job_id for j in client.list_restore_snapshot_jobs()]
    assert job not in [j.job_id for j in client.list_restore_snapshot_jobs(collection_name=name)]
    listed = client.list_restore_snapshot_jobs(collection_name=target)[0]
    assert listed == client.get_restore_snapshot_state(job)

    # Data: query and search as on the source at snapshot time.
    client.load_collection(target)
    assert rows_by_pk(client, target) == expected
    assert count_rows(client, target) == len(expected)
    assert rows_by_pk(client, target, filter="n > 300 and title like 'v1-%'") == filtered
    assert search_hits(client, target) == source_hits
    for got, want in zip(search_distances(client, target), source_dist):
        assert got == pytest.approx(want, rel=1e-6, abs=1e-6)
    assert client.get_collection_stats(target)["row_count"] == len(expected)
    restored_segments = client.list_persistent_segments(target)
    assert sorted(s.num_rows for s in restored_segments) == sorted(
        s.num_rows for s in client.list_persistent_segments(name)
    )
    assert not {s.segment_id for s in restored_segments} & seg_ids(client, name)


def test_restored_collection_is_independent(client, unique_name):
    name, snap, t1, t2 = unique_name("src"), unique_name("snap"), unique_name("t1"), unique_name("t2")
    expected = build_source(client, name)
    client.create_snapshot(snap, name)
    restore_ok(client, snap, name, t1)
    # Write to the restored collection; the source and a second restore do not see it.
    client.load_collection(t1)
    client.insert(t1, [row(1000, "v3")])
    client.delete(t1, ids=[1, 2])
    client.flush(t1)
    restore_ok(client, snap, name, t2)
    client.load_collection(t2)
    client.load_collection(name)
    assert rows_by_pk(client, t2) == expected
    assert rows_by_pk(client, name) == expected
    e1 = dict(expected)
    e1.pop(1)
    e1.pop(2)
    e1[1000] = row(1000, "v3")
    assert rows_by_pk(client, t1) == e1
    # Dropping the snapshot and the source leaves the restored collections intact.
    client.drop_snapshot(snap, name)
    client.release_collection(name)
    client.drop_collection(name)
    client.release_collection(t2)
    client.load_collection(t2)
    assert rows_by_pk(client, t2) == expected
    # A restored collection can itself be snapshotted and restored.
    t3 = unique_name("t3")
    client.create_snapshot("chained", t1)
    restore_ok(client, "chained", t1, t3)
    client.load_collection(t3)
    assert rows_by_pk(client, t3) == e1
    assert client.describe_collection(t3)["properties"].get("preserve_field_ids") == "true"


def test_restore_partitions(client, unique_name):
    name, snap, target = unique_name("src"), unique_name("snap"), unique_name("dst")
    create_source(client, name)
    client.create_partition(name, "p1")
    client.create_partition(name, "p2")
    exp_default = fill(client, name, range(0, 40))
    exp_p1 = fill(client, name, range(100, 160), partition_name="p1")
    exp_p2 = fill(client, name, range(200, 230), partition_name="p2")
    client.delete(name, ids=[100, 101, 200])
    client.flush(name)
    for k in (100, 101):
        exp_p1.pop(k)
    exp_p2.pop(200)
    wait_for_index(client, name)
    client.create_snapshot(snap, name)
    client.create_partition(name, "p3")  # after the snapshot
    fill(client, name, range(300, 310), partition_name="p3")
    info = client.describe_snapshot(snap, name)
    assert sorted(info.partition_names) == ["_default", "p1", "p2"]
    restore_ok(client, snap, name, target)
    assert sorted(client.list_partitions(target)) == ["_default", "p1", "p2"]
    client.load_collection(target)
    assert rows_by_pk(client, target, partition_names=["_default"]) == exp_default
    assert rows_by_pk(client, target, partition_names=["p1"]) == exp_p1
    assert rows_by_pk(client, target, partition_names=["p2"]) == exp_p2


def test_restore_partition_dropped_after_snapshot(client, unique_name):
    """The snapshot still has the dropped partition's data; describe shows its name as ""."""
    name, snap, target = unique_name("src"), unique_name("snap"), unique_name("dst")
    create_source(client, name, index=False)
    client.create_partition(name, "p1")
    exp_default = fill(client, name, range(0, 20))
    exp_p1 = fill(client, name, range(100, 130), partition_name="p1")
    client.create_snapshot(snap, name)
    client.drop_partition(name, "p1")
    info = client.describe_snapshot(snap, name)
    assert sorted(info.partition_names) == ["", "_default"], info.partition_names
    restore_ok(client, snap, name, target)
    assert sorted(client.list_partitions(target)) == ["_default", "p1"]
    client.load_collection(target)
    assert rows_by_pk(client, target, partition_names=["p1"]) == exp_p1
    assert rows_by_pk(client, target) == {**exp_default, **exp_p1}


def test_restore_partition_key_collection(client, unique_name):
    name, snap, target = unique_name("pk"), unique_name("snap"), unique_name("dst")
    client.create_collection(name, schema=partition_key_schema(dim=DIM), num_partitions=4)
    rows = [{"id": i, "tenant": i % 5, "vector": vec(i)} for i in range(200)]
    client.insert(name, rows)
    client.flush(name)
    client.create_snapshot(snap, name)
    src_desc = client.describe_collection(name)
    restore_ok(client, snap, name, target)
    desc = client.describe_collection(target)
    assert desc["num_partitions"] == src_desc["num_partitions"] == 4
    assert sorted(client.list_partitions(target)) == sorted(client.list_partitions(name))
    assert [f["field_id"] for f in desc["fields"]] == [f["field_id"] for f in src_desc["fields"]]
    client.load_collection(target)
    assert rows_by_pk(client, target) == {r["id"]: r for r in rows}
    assert sorted(r["id"] for r in client.query(target, filter="tenant == 3", output_fields=["id"], limit=1000)) == [
        i for i in range(200) if i % 5 == 3
    ]


def test_restore_dynamic_fields(client, unique_name):
    name, snap, target = unique_name("dyn"), unique_name("snap"), unique_name("dst")
    create_source(client, name, dynamic=True, index=False)
    rows = [dict(row(i), color=["red", "green"][i % 2], extra={"k": i}) for i in range(50)]
    client.insert(name, rows)
    client.flush(name)
    client.create_snapshot(snap, name)
    restore_ok(client, snap, name, target)
    assert client.describe_collection(target)["enable_dynamic_field"] is True
    client.load_collection(target)
    assert rows_by_pk(client, target) == {r["id"]: r for r in rows}
    assert sorted(r["id"] for r in client.query(target, filter='color == "red"', output_fields=["id"], limit=100)) == list(
        range(0, 50, 2)
    )


def test_restore_preserves_consistency_level_and_description(client, unique_name):
    for level in ("Strong", "Bounded", "Eventually"):
        name, target = unique_name("cl"), unique_name("dst")
        client.create_collection(name, schema=schema(description=f"level {level}"), consistency_level=level)
        client.create_snapshot("s", name)
        restore_ok(client, "s", name, target)
        desc = client.describe_collection(target)
        assert desc["consistency_level_name"] == level, desc
        assert desc["description"] == f"level {level}"


def test_point_in_time(client, unique_name):
    """Writes after a snapshot (even flushed and compacted) never show in its restore;
    deletes flushed before it stay deleted. Two snapshots restore to their own times."""
    name = unique_name("src")
    expected_s1 = build_source(client, name)
    client.load_collection(name)
    assert rows_by_pk(client, name) == expected_s1
    hits_s1 = search_hits(client, name)
    client.create_snapshot("s1", name)

    # After s1: inserts, deletes, upserts, all flushed, then compaction.
    expected_s2 = dict(expected_s1)
    expected_s2.update(fill(client, name, range(300, 340)))
    client.delete(name, ids=[1, 2, 3, 105, 310])
    for k in (1, 2, 3, 105, 310):
        expected_s2.pop(k)
    ups = [row(i, "v3") for i in (4, 150, 320)]
    client.upsert(name, ups)
    expected_s2.update({r["id"]: r for r in ups})
    client.flush(name)
    job = client.compact(name)
    assert client.get_compaction_state(job) == "Completed"
    assert rows_by_pk(client, name) == expected_s2
    client.create_snapshot("s2", name)

    # After s2: more writes, flushed and compacted.
    client.delete(name, filter="id < 100")
    client.insert(name, [row(i, "v3") for i in range(400, 420)])
    client.flush(name)
    client.compact(name)

    t1, t2 = unique_name("t1"), unique_name("t2")
    restore_ok(client, "s1", name, t1)
    restore_ok(client, "s2", name, t2)
    client.load_collection(t1)
    client.load_collection(t2)
    assert rows_by_pk(client, t1) == expected_s1
    assert search_hits(client, t1) == hits_s1
    assert rows_by_pk(client, t2) == expected_s2
    assert count_rows(client, t1) == len(expected_s1)
    assert count_rows(client, t2) == len(expected_s2)


def test_restore_errors(client, raw_stub, unique_name):
    name, snap, other, alias = unique_name("src"), unique_name("snap"), unique_name("other"), unique_name("al")
    create_source(client, name)
    expected = fill(client, name, range(30))
    client.create_snapshot(snap, name)
    create_source(client, other, index=False)
    fill(client, other, range(5))
    client.create_alias(other, alias)

    with expect_error(UNEXPECTED, "duplicate collection"):
        client.restore_snapshot(snap, name, other)
    with expect_error(UNEXPECTED, "conflicts with an existing alias"):
        client.restore_snapshot(snap, name, alias)
    with expect_error(SNAPSHOT_NOT_FOUND, "snapshot not found"):
        client.restore_snapshot("never_created", name, unique_name("t"))
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.restore_snapshot(snap, unique_name("nope"), unique_name("t"))
    with expect_error(INVALID_PARAMETER):
        client.restore_snapshot(snap, name, "bad-target")
    with expect_error(INVALID_PARAMETER):
        client.restore_snapshot(snap, name, "   ")
    with expect_error(INVALID_PARAMETER):
        client.restore_snapshot("bad-snapshot", name, unique_name("t"))
    resp = raw_stub.RestoreSnapshot(
        milvus_pb2.RestoreSnapshotRequest(name=snap, collection_name=name, target_collection_name=""),
        timeout=RPC_TIMEOUT_S,
    )
    assert_status(resp.status, INVALID_PARAMETER, "target_collection_name is required")
    assert resp.job_id == 0
    with expect_error(DATABASE_NOT_FOUND, "database not found"):
        client.restore_snapshot(snap, name, unique_name("t"), target_db_name=unique_name("nodb"))

    # Nothing was created or changed, and no pin leaked.
    assert sorted(client.list_collections()) == sorted([name, other])
    client.load_collection(other)
    assert count_rows(client, other) == 5
    assert client.list_restore_snapshot_jobs() == []
    client.drop_snapshot(snap, name)
    assert client.list_snapshots(name) == []
    client.load_collection(name)
    assert rows_by_pk(client, name) == expected


def test_restore_job_not_found(client):
    with expect_error(RESTORE_JOB_NOT_FOUND, "restore job not found"):
        client.get_restore_snapshot_state(987654321)


def test_restore_into_another_database(client, db_client, unique_name):
    db, name, snap, target = unique_name("db"), unique_name("src"), unique_name("snap"), unique_name("dst")
    client.create_database(db)
    expected = build_source(client, name)
    client.create_snapshot(snap, name)
    job, final, _ = restore_ok(client, snap, name, target, target_db_name=db)
    assert final.db_name == db and final.collection_name == target
    assert not client.has_collection(target)
    dbc = db_client(db)
    assert dbc.has_collection(target)
    # Listing is scoped to a database (the client's by default).
    assert job not in [j.job_id for j in client.list_restore_snapshot_jobs()]
    assert [j.job_id for j in client.list_restore_snapshot_jobs(db_name=db)] == [job]
    assert [j.job_id for j in dbc.list_restore_snapshot_jobs()] == [job]
    assert [j.job_id for j in dbc.list_restore_snapshot_jobs(collection_name=target)] == [job]
    dbc.load_collection(target)
    assert rows_by_pk(dbc, target) == expected
    idx = dbc.describe_index(target, "vec_idx")
    assert idx["state"] == "Finished" and idx["indexed_rows"] == idx["total_rows"] > 0, idx


def test_restore_from_another_database_and_empty_target_db_means_default(client, db_client, unique_name):
    db, name, snap = unique_name("db"), unique_name("src"), unique_name("snap")
    client.create_database(db)
    dbc = db_client(db)
    create_source(dbc, name, index=False)
    expected = fill(dbc, name, range(40))
    dbc.create_snapshot(snap, name)
    # Source database from the client's context; an empty target database is "default".
    t1 = unique_name("t1")
    job, final, _ = restore_ok(dbc, snap, name, t1)
    assert final.db_name == "default"
    assert client.has_collection(t1) and not dbc.has_collection(t1)
    # Explicit source database from a default-database client, into the source's database.
    t2 = unique_name("t2")
    restore_ok(client, snap, name, t2, source_db_name=db, target_db_name=db)
    assert dbc.has_collection(t2)
    for c, t in ((client, t1), (dbc, t2)):
        c.load_collection(t)
        assert rows_by_pk(c, t) == expected


def test_list_restore_jobs_filters_by_target(client, unique_name):
    name, snap, t1, t2 = unique_name("src"), unique_name("snap"), unique_name("t1"), unique_name("t2")
    create_source(client, name, index=False)
    fill(client, name, range(20))
    client.create_snapshot(snap, name)
    j1, _, _ = restore_ok(client, snap, name, t1)
    j2, _, _ = restore_ok(client, snap, name, t2)
    assert j1 != j2
    assert [j.job_id for j in client.list_restore_snapshot_jobs(collection_name=t1)] == [j1]
    assert [j.job_id for j in client.list_restore_snapshot_jobs(collection_name=t2)] == [j2]
    assert client.list_restore_snapshot_jobs(collection_name=name) == []
    assert {j1, j2} <= {j.job_id for j in client.list_restore_snapshot_jobs()}
    client.create_alias(t1, "t1_alias_" + t1[-6:])
    assert [j.job_id for j in client.list_restore_snapshot_jobs(collection_name="t1_alias_" + t1[-6:])] == [j1]
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.list_restore_snapshot_jobs(collection_name=unique_name("nope"))
    # A job whose target was dropped: still known, with an empty collection name.
    client.drop_alias("t1_alias_" + t1[-6:])
    client.drop_collection(t1)
    info = client.get_restore_snapshot_state(j1)
    assert info.state == COMPLETED and info.collection_name == ""


def test_snapshot_follows_a_renamed_collection(client, unique_name):
    name, new, snap, target = unique_name("src"), unique_name("renamed"), unique_name("snap"), unique_name("dst")
    create_source(client, name, index=False)
    expected = fill(client, name, range(25))
    client.create_snapshot(snap, name)
    client.rename_collection(name, new)
    assert client.list_snapshots(new) == [snap]
    assert client.describe_snapshot(snap, new).collection_name == new
    restore_ok(client, snap, new, target)
    client.load_collection(target)
    assert rows_by_pk(client, target) == expected


# ---- concurrency -----------------------------------------------------------------------


def test_concurrent_creates_of_one_name(server, client, unique_name):
    name, snap = unique_name("src"), unique_name("snap")
    create_source(client, name, index=False)
    fill(client, name, range(50))
    barrier = threading.Barrier(5)
    outcomes: list = []
    lock = threading.Lock()

    def create(i: int):
        c = server.client()
        barrier.wait()
        try:
            c.create_snapshot(snap, name, description=f"thread {i}")
            result = ("ok", i)
        except MilvusException as e:
            result = ("err", e.code, e.message)
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(outcomes) == 5, outcomes
    wins = [o for o in outcomes if o[0] == "ok"]
    losses = [o for o in outcomes if o[0] == "err"]
    assert len(wins) == 1, outcomes
    assert all(o[1] == INVALID_PARAMETER and "already exists" in o[2] for o in losses), losses
    assert client.list_snapshots(name) == [snap]
    assert client.describe_snapshot(snap, name).description == f"thread {wins[0][1]}"


def test_concurrent_restores_of_one_snapshot(server, client, unique_name):
    name, snap = unique_name("src"), unique_name("snap")
    expected = build_source(client, name)
    client.create_snapshot(snap, name)
    targets = [unique_name(f"t{i}") for i in range(3)]
    barrier = threading.Barrier(3)
    jobs: dict = {}
    errors: list = []

    def restore(t: str):
        c = server.client()
        barrier.wait()
        try:
            jobs[t] = c.restore_snapshot(snap, name, t)
        except Exception as e:  # noqa: BLE001
            errors.append((t, e))

    threads = [threading.Thread(target=restore, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(set(jobs.values())) == 3, jobs
    for t, job in jobs.items():
        final, _ = wait_restore(client, job)
        assert final.state == COMPLETED and final.collection_name == t, final
    for t in targets:
        client.load_collection(t)
        assert rows_by_pk(client, t) == expected
        assert client.describe_index(t, "vec_idx")["state"] == "Finished"
    client.drop_snapshot(snap, name)  # every restore released its pin


def test_concurrent_creates_of_distinct_names_while_writing(server, client, unique_name):
    name = unique_name("src")
    create_source(client, name, index=False)
    fill(client, name, range(100))
    stop = threading.Event()
    write_errors: list = []

    def writer():
        c = server.client()
        i = 1000
        while not stop.is_set():
            try:
                c.insert(name, [row(i)])
                if i % 5 == 0:
                    c.flush(name)
            except Exception as e:  # noqa: BLE001
                write_errors.append(e)
                return
            i += 1

    w = threading.Thread(target=writer)
    w.start()
    errors: list = []

    def create(n: str):
        try:
            server.client().create_snapshot(n, name)
        except Exception as e:  # noqa: BLE001
            errors.append((n, e))

    names = [f"snap_{i}" for i in range(6)]
    creators = [threading.Thread(target=create, args=(n,)) for n in names]
    for t in creators:
        t.start()
    for t in creators:
        t.join(60)
    stop.set()
    w.join(60)
    assert errors == [] and write_errors == []
    assert sorted(client.list_snapshots(name)) == names
    # Each restores to a consistent prefix of the writes: ids 0..99 plus 1000..k.
    for n in names[:3]:
        t = unique_name("t")
        restore_ok(client, n, name, t)
        client.load_collection(t)
        got = sorted(rows_by_pk(client, t))
        assert got[:100] == list(range(100))
        tail = got[100:]
        assert tail == list(range(1000, 1000 + len(tail))), tail[:20]


# ---- more data shapes and races -------------------------------------------------------


def test_restore_every_data_type(client, unique_name):
    from test_insert_types import scalar_row, scalar_schema

    name, snap, target = unique_name("types"), unique_name("snap"), unique_name("dst")
    client.create_collection(name, schema=scalar_schema())
    client.insert(name, [scalar_row(i) for i in range(40)])
    client.flush(name)
    client.delete(name, ids=[3, 17])
    client.flush(name)
    client.load_collection(name)
    source_rows = rows_by_pk(client, name)
    assert len(source_rows) == 38
    client.create_snapshot(snap, name)
    restore_ok(client, snap, name, target)
    assert client.describe_collection(target)["fields"] == client.describe_collection(name)["fields"]
    client.load_collection(target)
    assert rows_by_pk(client, target) == source_rows


def test_restore_varchar_primary_key(client, unique_name):
    name, snap, target = unique_name("vpk"), unique_name("snap"), unique_name("dst")
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=32)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection(name, schema=s)
    rows = {f"key-{i:03d}": {"pk": f"key-{i:03d}", "vector": vec(i)} for i in range(120)}
    items = list(rows.values())
    client.insert(name, items[:60])
    client.flush(name)
    client.insert(name, items[60:])
    client.flush(name)
    client.delete(name, ids=["key-001", "key-061", "key-119"])
    client.upsert(name, [{"pk": "key-002", "vector": vec(999)}])
    client.flush(name)
    for k in ("key-001", "key-061", "key-119"):
        rows.pop(k)
    rows["key-002"] = {"pk": "key-002", "vector": vec(999)}
    client.create_snapshot(snap, name)
    client.delete(name, ids=["key-010"])
    client.flush(name)
    restore_ok(client, snap, name, target)
    client.load_collection(target)
    assert rows_by_pk(client, target, pk="pk") == rows


def test_drop_snapshot_while_restoring_is_refused(client, unique_name):
    """A restore pins its snapshot until it ends: a drop either fails with 2601 or comes
    after the job is terminal."""
    name, snap, target = unique_name("src"), unique_name("snap"), unique_name("dst")
    create_source(client, name)
    expected: dict = {}
    for b in range(15):
        expected.update(fill(client, name, range(b * 10, b * 10 + 10)))
    wait_for_index(client, name)
    client.create_snapshot(snap, name)
    job = client.restore_snapshot(snap, name, target)
    try:
        client.drop_snapshot(snap, name)
        dropped = True
    except MilvusException as e:
        assert e.code == SNAPSHOT_PINNED and "pinned" in e.message.lower(), e
        dropped = False
    if dropped:
        state = client.get_restore_snapshot_state(job).state
        assert state == COMPLETED, f"the snapshot was dropped while its restore was {state}"
    final, _ = wait_restore(client, job)
    assert final.state == COMPLETED, final
    client.load_collection(target)
    assert rows_by_pk(client, target) == expected
    client.drop_snapshot(snap, name)
    assert client.list_snapshots(name) == []


def test_restore_with_the_source_name_into_another_database(client, db_client, unique_name):
    db, name, snap = unique_name("db"), unique_name("src"), unique_name("snap")
    client.create_database(db)
    create_source(client, name, index=False)
    expected = fill(client, name, range(30))
    client.create_snapshot(snap, name)
    restore_ok(client, snap, name, name, target_db_name=db)
    dbc = db_client(db)
    dbc.load_collection(name)
    assert rows_by_pk(dbc, name) == expected
    assert dbc.describe_collection(name)["collection_id"] != collection_id(client, name)


def test_dropping_the_target_during_a_restore_ends_the_job(client, unique_name):
    name, snap, target = unique_name("src"), unique_name("snap"), unique_name("dst")
    create_source(client, name)
    for b in range(15):
        fill(client, name, range(b * 10, b * 10 + 10))
    wait_for_index(client, name)
    client.create_snapshot(snap, name)
    job = client.restore_snapshot(snap, name, target)
    client.drop_collection(target)
    final, _ = wait_restore(client, job)
    assert final.state in (COMPLETED, FAILED), final
    assert not client.has_collection(target)
    client.drop_snapshot(snap, name)  # pin released either way
    # The name can be restored into again.
    client.create_snapshot(snap, name)
    restore_ok(client, snap, name, target)


def test_restore_keeps_every_index_definition(client, unique_name):
    name, snap, target = unique_name("src"), unique_name("snap"), unique_name("dst")
    create_source(client, name)
    ip = client.prepare_index_params()
    ip.add_index("n", index_name="n_idx", index_type="STL_SORT")
    client.create_index(name, ip)
    expected = fill(client, name, range(100))
    wait_for_index(client, name)
    client.create_snapshot(snap, name)
    restore_ok(client, snap, name, target)
    assert sorted(client.list_indexes(target)) == sorted(client.list_indexes(name)) == ["n_idx", "vec_idx"]
    for index in ("n_idx", "vec_idx"):
        got, want = client.describe_index(target, index), client.describe_index(name, index)
        assert got == want, (got, want)
    client.load_collection(target)
    assert rows_by_pk(client, target, filter="n >= 150") == {k: r for k, r in expected.items() if r["n"] >= 150}


def test_restore_of_a_snapshot_taken_before_the_index_was_built(client, unique_name):
    """No index files captured: the restored collection builds them itself."""
    name, snap, target = unique_name("src"), unique_name("snap"), unique_name("dst")
    client.create_collection(name, schema=schema(), consistency_level="Session")
    expected = fill(client, name, range(150))
    client.create_snapshot(snap, name)  # no index at all yet
    client.create_index(name, index_params(client))
    wait_for_index(client, name)
    info = client.describe_snapshot(snap, name)
    restore_ok(client, snap, name, target)
    assert client.list_indexes(target) == [], "the snapshot had no index definitions"
    client.create_index(target, index_params(client))
    wait_for_index(client, target)
    client.load_collection(name)
    client.load_collection(target)
    assert rows_by_pk(client, target) == expected
    assert search_hits(client, target) == search_hits(client, name)
    assert info.create_ts > 0


def test_concurrent_restores_into_one_target(server, client, unique_name):
    """Of concurrent restores into one new name exactly one gets a job; the others fail
    with "duplicate collection" (several rounds: the race is timing-dependent)."""
    name, snap = unique_name("src"), unique_name("snap")
    create_source(client, name, index=False)
    expected = fill(client, name, range(80))
    client.create_snapshot(snap, name)
    clients = [server.client() for _ in range(6)]
    for round_ in range(5):
        target = unique_name(f"dst{round_}")
        barrier = threading.Barrier(len(clients))
        outcomes: list = []
        lock = threading.Lock()

        def restore(c):
            barrier.wait()
            try:
                result = ("ok", c.restore_snapshot(snap, name, target))
            except MilvusException as e:
                result = ("err", e.code, e.message)
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=restore, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        wins = [o for o in outcomes if o[0] == "ok"]
        losses = [o for o in outcomes if o[0] == "err"]
        for _, job in wins:
            wait_restore(client, job)
        client.load_collection(target)
        rows = count_rows(client, target)
        assert len(outcomes) == len(clients) and len(wins) == 1, (
            f"round {round_}: {len(wins)} restores into {target} were accepted (jobs "
            f"{[w[1] for w in wins]}); the target now holds {rows} rows for {len(expected)} "
            f"snapshot rows. Outcomes: {outcomes}"
        )
        assert all(o[1] == UNEXPECTED and "duplicate collection" in o[2] for o in losses), losses
        assert rows_by_pk(client, target) == expected
        assert [j.job_id for j in client.list_restore_snapshot_jobs(collection_name=target)] == [wins[0][1]]
    client.drop_snapshot(snap, name)  # no pin leaked by the losers


def test_alias_conflict_is_per_database(client, db_client, unique_name):
    db, name, snap, alias = unique_name("db"), unique_name("src"), unique_name("snap"), unique_name("al")
    client.create_database(db)
    create_source(client, name, index=False)
    expected = fill(client, name, range(20))
    client.create_snapshot(snap, name)
    client.create_alias(name, alias)  # an alias in "default" only
    restore_ok(client, snap, name, alias, target_db_name=db)
    dbc = db_client(db)
    dbc.load_collection(alias)
    assert rows_by_pk(dbc, alias) == expected
    other = unique_name("other")
    dbc.create_alias(alias, other)
    with expect_error(UNEXPECTED, "conflicts with an existing alias"):
        client.restore_snapshot(snap, name, other, target_db_name=db)


def test_unicode_description(client, unique_name):
    name = unique_name("src")
    create_source(client, name, index=False)
    text = "日本語の説明 🙂 \"quoted\" \\ back\nslash"
    client.create_snapshot("s", name, description=text)
    assert client.describe_snapshot("s", name).description == text


def test_create_snapshot_racing_drop_collection(server, client, unique_name):
    """Whatever the interleaving, a dropped collection ends with no snapshots and no
    snapshot files."""
    for round_ in range(3):
        name = unique_name("race")
        create_source(client, name, index=False)
        fill(client, name, range(30))
        cid = collection_id(client, name)
        barrier = threading.Barrier(2)
        results: list = []

        def create():
            c = server.client()
            barrier.wait()
            try:
                c.create_snapshot("s", name)
                results.append("created")
            except MilvusException as e:
                results.append((e.code, e.message))

        def drop():
            c = server.client()
            barrier.wait()
            c.drop_collection(name)

        threads = [threading.Thread(target=create), threading.Thread(target=drop)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert all(r == "created" or r[0] == COLLECTION_NOT_FOUND for r in results), results
        root = server.objects_dir / "snapshots" / str(cid)
        deadline = time.monotonic() + 20
        while root.exists() and any(p.is_file() for p in root.rglob("*")):
            assert time.monotonic() < deadline, (
                f"round {round_}: snapshot files of dropped collection {cid} stayed: "
                f"{[str(p) for p in root.rglob('*') if p.is_file()]} (create: {results})"
            )
            time.sleep(0.25)
        create_source(client, name, index=False)
        assert client.list_snapshots(name) == []
        client.drop_collection(name)


def test_snapshot_racing_compaction_and_deletes(server, client, unique_name):
    """A snapshot taken while a compaction commits, or while deletes are flushed,
    restores to one consistent state: never duplicated or half-deleted rows."""
    for round_ in range(4):
        name, target = unique_name("race"), unique_name("dst")
        create_source(client, name, index=round_ % 2 == 0)
        expected: dict = {}
        for b in range(6):
            expected.update(fill(client, name, range(b * 30, b * 30 + 30)))
        client.delete(name, ids=list(range(0, 180, 4)))
        client.flush(name)
        for k in range(0, 180, 4):
            expected.pop(k)
        after_deletes = {k: r for k, r in expected.items() if not 30 <= k < 150}
        barrier = threading.Barrier(3)

        def compact():
            c = server.client()
            barrier.wait()
            c.compact(name)

        def delete():
            c = server.client()
            barrier.wait()
            c.delete(name, filter="id >= 30 and id < 150")
            c.flush(name)

        def snapshot():
            c = server.client()
            barrier.wait()
            time.sleep(0.002 * round_)
            c.create_snapshot("s", name)

        threads = [threading.Thread(target=f) for f in (compact, delete, snapshot)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        restore_ok(client, "s", name, target)
        client.load_collection(target)
        got = rows_by_pk(client, target)
        assert got in (expected, after_deletes), (
            f"round {round_}: restored {len(got)} rows, neither before ({len(expected)}) "
            f"nor after ({len(after_deletes)}) the racing delete: "
            f"{sorted(set(got) ^ set(expected))[:20]}"
        )


def test_status_codes_on_the_wire(client, raw_stub, unique_name):
    """Status.code (merr) and the legacy error_code, as Milvus fills them (reference
    §1.5): 100 -> CollectionNotExists (4), 1100 -> IllegalArgument (5), snapshot
    errors -> UnexpectedError (1); success has both zero."""
    name = unique_name("src")
    create_source(client, name, index=False)
    t = RPC_TIMEOUT_S
    ok = raw_stub.CreateSnapshot(milvus_pb2.CreateSnapshotRequest(name="s", collection_name=name), timeout=t)
    assert_ok(ok)
    dup = raw_stub.CreateSnapshot(milvus_pb2.CreateSnapshotRequest(name="s", collection_name=name), timeout=t)
    assert (dup.code, dup.error_code) == (INVALID_PARAMETER, 5), dup
    missing = raw_stub.CreateSnapshot(
        milvus_pb2.CreateSnapshotRequest(name="s", collection_name=unique_name("nope")), timeout=t
    )
    assert (missing.code, missing.error_code) == (COLLECTION_NOT_FOUND, 4), missing
    nf = raw_stub.DescribeSnapshot(milvus_pb2.DescribeSnapshotRequest(name="x", collection_name=name), timeout=t)
    assert (nf.status.code, nf.status.error_code) == (SNAPSHOT_NOT_FOUND, 1), nf.status
    pin = raw_stub.PinSnapshotData(milvus_pb2.PinSnapshotDataRequest(name="s", collection_name=name), timeout=t)
    assert_ok(pin.status)
    pinned = raw_stub.DropSnapshot(milvus_pb2.DropSnapshotRequest(name="s", collection_name=name), timeout=t)
    assert (pinned.code, pinned.error_code) == (SNAPSHOT_PINNED, 1), pinned
    job = raw_stub.GetRestoreSnapshotState(milvus_pb2.GetRestoreSnapshotStateRequest(job_id=424242), timeout=t)
    assert (job.status.code, job.status.error_code) == (RESTORE_JOB_NOT_FOUND, 1), job.status
    assert_ok(raw_stub.UnpinSnapshotData(milvus_pb2.UnpinSnapshotDataRequest(pin_id=pin.pin_id), timeout=t))
    assert_ok(raw_stub.DropSnapshot(milvus_pb2.DropSnapshotRequest(name="s", collection_name=name), timeout=t))
    assert_ok(raw_stub.DropSnapshot(milvus_pb2.DropSnapshotRequest(name="s", collection_name=name), timeout=t))
    listed = raw_stub.ListSnapshots(milvus_pb2.ListSnapshotsRequest(collection_name=name), timeout=t)
    assert_ok(listed.status)
    assert list(listed.snapshots) == []


def test_a_snapshot_right_after_a_flush_captures_finished_index_builds(make_server, quiver_bin):
    """create_snapshot waits for the index builds of the segments it captures, so the
    restore registers index files instead of building them again."""
    import json
    import subprocess

    server = make_server()
    c = server.client()
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=64)
    index = c.prepare_index_params()
    index.add_index("vector", index_type="HNSW", metric_type="L2", params={"M": 16, "efConstruction": 200})
    c.create_collection("fresh", schema=schema, index_params=index)
    for batch in range(4):
        c.insert("fresh", [{"id": batch * 5000 + i, "vector": [((batch * 5000 + i) * 7 % 101) / 101.0] * 64} for i in range(5000)])
        c.flush("fresh")
    c.create_snapshot("right_after", "fresh")
    listed = subprocess.run([str(quiver_bin), "inspect", "--root", str(server.objects_dir), "files", "fresh", "right_after", "--json"],
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    segments = json.loads(listed.stdout)["segments"]
    assert sum(s["rows"] for s in segments) == 20000
    assert all(s["index_files"] for s in segments), [(s["segment_id"], len(s["index_files"])) for s in segments]
