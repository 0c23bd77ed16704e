"""Crash at every step of snapshot create, drop and restore (and of flush and compaction),
then restart: nothing acknowledged is lost, nothing half-made is visible, nothing a
snapshot references is deleted, and interrupted restores finish.

The server aborts (as abruptly as `kill -9`) at a named failpoint armed through the
`QUIVER_FAILPOINTS` environment variable. Calls that crash the server are made over raw
gRPC with a deadline, because pymilvus retries an unavailable server for minutes.
"""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.grpc_gen import milvus_pb2

from conftest import QuiverServer, data_config

ROWS = 300
DIM = 8
SWEEP_WAIT_S = 15


def _vector(i: int) -> list[float]:
    return [float((i * 7 + j) % 13) / 13.0 for j in range(DIM)]


def _make_collection(client: MilvusClient, name: str = "c") -> None:
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("tag", DataType.INT64)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index("v", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64})
    client.create_collection(name, schema=schema, index_params=index)
    client.insert(name, [{"pk": i, "tag": i % 5, "v": _vector(i)} for i in range(ROWS)])
    client.delete(name, ids=[0, 1, 2])
    client.flush(name)


def _wait_indexed(client: MilvusClient, collection: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if client.describe_index(collection, "v")["state"] == "Finished":
            return
        time.sleep(0.2)
    raise AssertionError("index build did not finish")


def _count(client: MilvusClient, collection: str) -> int:
    client.load_collection(collection)
    return client.query(collection, filter="", output_fields=["count(*)"])[0]["count(*)"]


def _pks(client: MilvusClient, collection: str) -> list[int]:
    client.load_collection(collection)
    return sorted(r["pk"] for r in client.query(collection, filter="pk >= 0", output_fields=["pk"], limit=16384))


def _raw(server: QuiverServer, method: str, request, response_type):
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    call = channel.unary_unary(
        f"/milvus.proto.milvus.MilvusService/{method}",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_type.FromString,
    )
    try:
        return call(request, timeout=10)
    finally:
        channel.close()


def _crash_with(server: QuiverServer, point: str) -> None:
    """Restart the server with `point` armed."""
    server.stop()
    server.extra_env = {"QUIVER_FAILPOINTS": point}
    server.start()


def _await_abort(server: QuiverServer) -> None:
    assert server.proc is not None
    rc = server.proc.wait(timeout=30)
    assert rc != 0, "the server should have aborted at the failpoint"
    assert "failpoint" in server.log_text(current_run_only=True)


def _restart_clean(server: QuiverServer) -> MilvusClient:
    server.extra_env = {}
    server.start()
    return server.client()


def _snapshot_files(server: QuiverServer) -> list[Path]:
    root = server.objects_dir / "snapshots"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _data_files(server: QuiverServer) -> list[Path]:
    files = []
    for prefix in ("insert_log", "delta_log", "index_files"):
        root = server.objects_dir / prefix
        files += [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    return sorted(files)


def _wait_for(predicate, what: str, timeout: float = SWEEP_WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _wait_job(client: MilvusClient, job_id: int, timeout: float = 60):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = client.get_restore_snapshot_state(job_id)
        if last.state in ("RestoreSnapshotCompleted", "RestoreSnapshotFailed"):
            return last
        time.sleep(0.2)
    raise AssertionError(f"restore job {job_id} did not end: {last}")


@pytest.fixture
def crashable(quiver_bin, tmp_path):
    # GC runs often with a short grace period, so a file lost to it would show.
    server = QuiverServer(quiver_bin, tmp_path / "data", tmp_path / "quiver.log", config=data_config(gc_interval_seconds=1, gc_grace_seconds=1))
    server.start()
    yield server
    server.extra_env = {}
    server._kill_quietly()


@pytest.mark.parametrize(
    "point", ["snapshot.create.after_pending", "snapshot.create.after_manifests", "snapshot.create.before_commit"]
)
def test_crash_during_create_leaves_no_visible_snapshot(crashable: QuiverServer, point: str):
    client = crashable.client()
    _make_collection(client)
    _wait_indexed(client, "c")
    expected = _pks(client, "c")
    _crash_with(crashable, point)
    request = milvus_pb2.CreateSnapshotRequest(name="s1", collection_name="c")
    with pytest.raises(grpc.RpcError):
        _raw(crashable, "CreateSnapshot", request, milvus_pb2.CreateSnapshotRequest)
    _await_abort(crashable)

    client = _restart_clean(crashable)
    assert client.list_snapshots(collection_name="c") == []
    # The sweeper removes the half-written files and releases the name.
    _wait_for(lambda: not _snapshot_files(crashable), "the sweeper to remove a dead create's files")
    client.create_snapshot("s1", "c")
    assert client.list_snapshots(collection_name="c") == ["s1"]
    job = client.restore_snapshot("s1", "c", "r")
    assert _wait_job(client, job).state == "RestoreSnapshotCompleted"
    assert _pks(client, "r") == expected


@pytest.mark.parametrize("point", ["snapshot.drop.after_deleting", "snapshot.drop.after_files"])
def test_crash_during_drop_finishes_the_drop_and_keeps_data(crashable: QuiverServer, point: str):
    client = crashable.client()
    _make_collection(client)
    _wait_indexed(client, "c")
    expected = _pks(client, "c")
    client.create_snapshot("s1", "c")
    data_before = _data_files(crashable)
    _crash_with(crashable, point)
    request = milvus_pb2.DropSnapshotRequest(name="s1", collection_name="c")
    with pytest.raises(grpc.RpcError):
        _raw(crashable, "DropSnapshot", request, milvus_pb2.DropSnapshotRequest)
    _await_abort(crashable)

    client = _restart_clean(crashable)
    assert client.list_snapshots(collection_name="c") == []
    _wait_for(lambda: not _snapshot_files(crashable), "the sweeper to finish the drop")
    # Dropping a snapshot never deletes the collection's data.
    assert all(p.exists() for p in data_before if "insert_log" in str(p) or "index_files" in str(p))
    assert _pks(client, "c") == expected
    client.create_snapshot("s1", "c")  # the name is free again


@pytest.mark.parametrize(
    "point", ["restore.after_job_saved", "restore.after_first_copy", "restore.before_register", "restore.after_register"]
)
def test_crash_during_restore_resumes_and_completes_exactly(crashable: QuiverServer, point: str):
    client = crashable.client()
    _make_collection(client)
    _wait_indexed(client, "c")
    expected = _pks(client, "c")
    client.create_snapshot("s1", "c")
    # Source changes after the snapshot must not leak into the restore.
    client.delete("c", ids=[10, 11])
    client.insert("c", [{"pk": 10_000, "tag": 1, "v": _vector(1)}])
    client.flush("c")
    _crash_with(crashable, point)
    request = milvus_pb2.RestoreSnapshotRequest(name="s1", collection_name="c", target_collection_name="r")
    try:
        reply = _raw(crashable, "RestoreSnapshot", request, milvus_pb2.RestoreSnapshotResponse)
        assert reply.job_id > 0
    except grpc.RpcError:
        pass  # the crash came inside the RPC
    _await_abort(crashable)

    client = _restart_clean(crashable)
    jobs = client.list_restore_snapshot_jobs()
    assert len(jobs) == 1, jobs
    done = _wait_job(client, jobs[0].job_id)
    assert done.state == "RestoreSnapshotCompleted", done.reason
    assert done.progress == 100
    assert _pks(client, "r") == expected
    index = client.describe_index("r", "v")
    assert index["state"] == "Finished"
    assert index["indexed_rows"] == ROWS  # the segment's rows, deleted ones included, as Milvus counts
    # The pin of the finished job is gone: the snapshot can be dropped.
    client.drop_snapshot("s1", "c")


@pytest.mark.parametrize("point", ["flush.after_objects", "compaction.after_objects"])
def test_crash_between_writing_files_and_committing_them(crashable: QuiverServer, point: str):
    client = crashable.client()
    _make_collection(client)
    client.insert("c", [{"pk": 1000 + i, "tag": 2, "v": _vector(i)} for i in range(50)])
    client.delete("c", ids=[5, 6])
    if point == "compaction.after_objects":
        client.flush("c")
    expected = sorted(set(range(3, ROWS)) - {5, 6} | set(range(1000, 1050)))
    _crash_with(crashable, point)
    if point == "flush.after_objects":
        request = milvus_pb2.FlushRequest(collection_names=["c"])
        method, response = "Flush", milvus_pb2.FlushResponse
    else:
        request = milvus_pb2.ManualCompactionRequest(collection_name="c")
        method, response = "ManualCompaction", milvus_pb2.ManualCompactionResponse
    with pytest.raises(grpc.RpcError):
        _raw(crashable, method, request, response)
    _await_abort(crashable)

    client = _restart_clean(crashable)
    assert _pks(client, "c") == expected
    # The orphaned files are unreferenced and go after the grace period; the data stays.
    time.sleep(3)
    assert _pks(client, "c") == expected
    client.flush("c")
    client.compact("c")
    assert _pks(client, "c") == expected
