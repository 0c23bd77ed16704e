"""S3 object storage: a Quiver configured with `[storage] kind = "s3"` against a real
S3-protocol server (moto_server, started by the `s3_server` fixture) keeps its data files
in the bucket, under `root_path`, and nothing under the local `<data_dir>/objects`."""

from __future__ import annotations

import time
import uuid

from pymilvus import DataType, MilvusClient

from conftest import data_config
from helpers import count_rows, pks, rows_by_pk


def schema():
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    s.add_field("name", DataType.VARCHAR, max_length=16)
    return s


def row(i: int, gen: str = "v1") -> dict:
    return {"id": i, "vec": [float(i), 1.0, 0.0, -1.0], "name": f"{gen}-{i}", "k": i % 5}


def local_object_files(srv) -> list:
    root = srv.objects_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def wait_until(pred, timeout: float = 20.0, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def test_s3_storage_round_trip(make_server, s3_server, unique_name):
    prefix = f"prefix-{uuid.uuid4().hex[:8]}"
    srv = make_server(config=s3_server.storage_config(root_path=prefix))
    c = srv.client()
    name = unique_name("s3")
    c.create_collection(name, schema=schema())
    cid = c.describe_collection(name)["collection_id"]
    c.insert(name, [row(i) for i in range(150)])
    c.flush(name)
    c.delete(name, ids=list(range(0, 150, 3)))
    c.upsert(name, [row(i, gen="v2") for i in range(1, 20, 3)])
    c.flush(name)
    upserted = set(range(1, 20, 3))
    expected = {i: row(i, gen="v2" if i in upserted else "v1") for i in range(150) if i % 3}

    keys = s3_server.keys(prefix + "/")
    inserts = [k for k in keys if k.startswith(f"{prefix}/insert_log/{cid}/") and k.endswith(".parquet")]
    deltas = [k for k in keys if k.startswith(f"{prefix}/delta_log/{cid}/") and k.endswith(".parquet")]
    assert inserts, f"no insert logs in the bucket under {prefix}/insert_log/{cid}/: {keys}"
    assert deltas, f"no delta logs in the bucket under {prefix}/delta_log/{cid}/: {keys}"
    # insert_log/<collection>/<partition>/<segment>/<log>.parquet
    assert all(len(k.split("/")) == 6 for k in inserts + deltas), inserts + deltas
    assert local_object_files(srv) == [], "data files written locally despite S3 storage"
    # Nothing outside the configured root_path (the root-less test uses its own bucket).
    assert s3_server.keys("insert_log/") == [] and s3_server.keys("delta_log/") == []

    srv.restart()
    c = srv.client()
    c.load_collection(name)
    assert rows_by_pk(c, name) == expected
    assert count_rows(c, name) == len(expected)
    assert pks(c, name, "name like 'v2-%'") == [i for i in range(1, 20, 3)]
    assert local_object_files(srv) == []


def test_s3_unflushed_writes_survive_kill_then_flush(make_server, s3_server, unique_name):
    prefix = f"prefix-{uuid.uuid4().hex[:8]}"
    srv = make_server(config=s3_server.storage_config(root_path=prefix))
    c = srv.client()
    name = unique_name("s3k")
    c.create_collection(name, schema=schema())
    c.insert(name, [row(i) for i in range(40)])
    c.flush(name)
    c.insert(name, [row(i) for i in range(40, 80)])
    c.delete(name, ids=[0, 1, 79])
    srv.kill()
    srv.start()
    c = srv.client()
    c.load_collection(name)
    expected = {i: row(i) for i in range(80) if i not in (0, 1, 79)}
    assert rows_by_pk(c, name) == expected
    c.flush(name)
    c.compact(name)
    srv.restart()
    c = srv.client()
    c.load_collection(name)
    assert rows_by_pk(c, name) == expected
    assert local_object_files(srv) == []


def test_s3_without_root_path_and_gc(make_server, s3_server, unique_name):
    """Keys at the bucket root (own bucket); GC removes a dropped collection's objects."""
    bucket = s3_server.with_bucket(f"quiver-{uuid.uuid4().hex[:8]}")
    srv = make_server(
        config=bucket.storage_config()
        + data_config(gc_interval_seconds=1, gc_grace_seconds=2, compaction_interval_seconds=3600)
    )
    c = srv.client()
    keep, gone = unique_name("keep"), unique_name("gone")
    for n in (keep, gone):
        c.create_collection(n, schema=schema())
        c.insert(n, [row(i) for i in range(30)])
        c.flush(n)
    keep_id = c.describe_collection(keep)["collection_id"]
    gone_id = c.describe_collection(gone)["collection_id"]
    assert bucket.keys(f"insert_log/{gone_id}/")
    assert bucket.keys(f"insert_log/{keep_id}/")
    c.drop_collection(gone)
    assert wait_until(lambda: not bucket.keys(f"insert_log/{gone_id}/")), "dropped collection's objects stayed"
    # The live collection's files are still there and still serve.
    assert bucket.keys(f"insert_log/{keep_id}/")
    c.load_collection(keep)
    assert rows_by_pk(c, keep) == {i: row(i) for i in range(30)}
    assert local_object_files(srv) == []
