"""Instant restores (clones) and mounted snapshots through stock pymilvus and the CLI.

A clone references the snapshot's files: nothing is copied, its rows and search results
are the source's at snapshot time, and it outlives its source and its snapshot with GC
running without grace. A mount is a read-only clone: loadable and searchable, writes and
schema changes refused in words that say why, removed by `unmount`.
"""

from __future__ import annotations

import json
import time

import numpy as np
from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

from helpers import basic_schema, count_rows, wait_restore
from test_cli_snapshot import cli, fails, ok

DIM = 8
ROWS = 300
GC_NOW = "[data]\ngc_interval_seconds = 1\ngc_grace_seconds = 0\n"


def make_source(client: MilvusClient, name: str, snapshot: str) -> None:
    """`name`: ROWS rows in two flushed segments with an HNSW index and a delete, loaded,
    and its snapshot `snapshot`; then more rows the snapshot does not hold."""
    client.create_collection(name, schema=basic_schema(dim=DIM))
    rng = np.random.default_rng(7)
    vectors = rng.random((ROWS + 50, DIM), dtype=np.float32)
    rows = [{"id": i, "vector": vectors[i].tolist(), "title": f"t{i}"} for i in range(ROWS + 50)]
    client.insert(name, rows[: ROWS // 2])
    client.flush(name)
    client.insert(name, rows[ROWS // 2 : ROWS])
    client.delete(name, filter="id in [1, 2, 3]")
    client.flush(name)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64})
    client.create_index(name, index)
    client.load_collection(name)
    client.create_snapshot(snapshot, name)
    client.insert(name, rows[ROWS:])
    client.flush(name)
    # The source's last segment is indexed before a test looks at the stored files.
    deadline = time.monotonic() + 30
    while client.describe_index(name, "vector")["pending_index_rows"] and time.monotonic() < deadline:
        time.sleep(0.05)


def search_ids(client: MilvusClient, name: str) -> list[list[int]]:
    queries = np.random.default_rng(11).random((5, DIM), dtype=np.float32).tolist()
    hits = client.search(name, data=queries, limit=10, search_params={"params": {"ef": 64}})
    return [[hit["id"] for hit in row] for row in hits]


def stored_files(server) -> set[str]:
    return {str(p.relative_to(server.objects_dir)) for p in server.objects_dir.rglob("*") if p.is_file()}


def job_json(server, job_id: int) -> dict:
    return json.loads(ok(cli(server.uri, "job", str(job_id), "--json")).stdout)


def wait_verified(server, job_id: int) -> dict:
    deadline = time.monotonic() + 30
    while True:
        job = job_json(server, job_id)
        if job["verification"] != "pending" or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def test_pymilvus_restore_clones_without_copying(make_server):
    server = make_server()
    client = server.client()
    make_source(client, "src", "s")
    expected = {r["id"] for r in client.query("src", filter=f"id < {ROWS}", output_fields=["id"])}
    before = stored_files(server)

    job_id = client.restore_snapshot("s", "src", target_collection_name="clone")
    info, _ = wait_restore(client, job_id)
    assert info.state == "RestoreSnapshotCompleted", info
    written = {f for f in stored_files(server) - before if not f.startswith("snapshots/")}
    assert written == set(), f"a clone writes no data file: {sorted(written)}"

    client.load_collection("clone")
    assert {r["id"] for r in client.query("clone", filter="id >= 0", output_fields=["id"])} == expected
    assert count_rows(client, "clone") == ROWS - 3
    job = wait_verified(server, job_id)
    assert (job["mode"], job["verification"]) == ("clone", "verified"), job
    assert job["total_bytes"] > 0 and job["copied_bytes"] == job["total_bytes"], job
    # Its index came with it: searchable at once, exactly as a copy would be.
    copy = json.loads(ok(cli(server.uri, "job", ok(cli(server.uri, "restore", "src", "s", "copy", "--mode", "copy", "--wait")).stdout.split()[0], "--json")).stdout)
    assert (copy["mode"], copy["verification"]) == ("copy", "verified before completed"), copy
    client.load_collection("copy")
    assert search_ids(client, "clone") == search_ids(client, "copy")


def test_clones_outlive_their_source_and_snapshot_with_gc_running(make_server):
    server = make_server(GC_NOW)
    client = server.client()
    make_source(client, "src", "s")
    ok(cli(server.uri, "clone", "src", "s", "c1", "--wait"))
    ok(cli(server.uri, "clone", "src", "s", "c2", "--wait"))
    client.load_collection("c1")
    want = search_ids(client, "c1")
    # The first clone's own writes and compaction leave the shared files alone.
    client.load_collection("c2")
    client.insert("c2", [{"id": 10_000, "vector": [0.5] * DIM, "title": "new"}])
    client.delete("c2", filter="id in [10, 11, 12]")
    client.flush("c2")
    client.compact("c2")
    client.drop_snapshot("s", "src")
    client.drop_collection("src")
    time.sleep(3)  # GC passes with no grace
    server.restart()
    client = server.client()
    for name in ("c1", "c2"):
        client.load_collection(name)
    assert search_ids(client, "c1") == want
    assert count_rows(client, "c1") == ROWS - 3
    assert count_rows(client, "c2") == ROWS - 3 + 1 - 3
    assert "missing" not in server.log_text() and "corrupt" not in server.log_text()


def test_configured_copy_mode_makes_independent_files(make_server):
    server = make_server('[data]\nrestore_mode = "copy"\n')
    client = server.client()
    make_source(client, "src", "s")
    before = stored_files(server)
    job_id = client.restore_snapshot("s", "src", target_collection_name="copied")
    info, _ = wait_restore(client, job_id)
    assert info.state == "RestoreSnapshotCompleted", info
    assert any(f.startswith("insert_log/") for f in stored_files(server) - before), "copy mode copies"
    assert job_json(server, job_id)["mode"] == "copy"


def test_mounted_snapshot_is_searchable_and_read_only(make_server):
    server = make_server()
    client = server.client()
    make_source(client, "src", "s")
    # What the source answered at snapshot time: its rows below ROWS.
    job_id = client.restore_snapshot("s", "src", target_collection_name="reference")
    wait_restore(client, job_id)
    client.load_collection("reference")
    want = search_ids(client, "reference")

    mounted = ok(cli(server.uri, "mount", "src", "s", "m"))
    assert "mounted snapshot s of default.src as default.m (read-only)" in mounted.stdout, mounted.stdout
    client.load_collection("m")
    assert search_ids(client, "m") == want
    assert count_rows(client, "m") == ROWS - 3

    def refused(call, *args, **kwargs):
        try:
            call(*args, **kwargs)
        except MilvusException as error:
            assert "is the mounted snapshot src/s and is read-only" in error.message, error.message
            return
        raise AssertionError(f"{call.__name__} on a mount was accepted")

    refused(client.insert, "m", [{"id": 99_999, "vector": [0.0] * DIM, "title": "x"}])
    refused(client.upsert, "m", [{"id": 5, "vector": [0.0] * DIM, "title": "x"}])
    refused(client.delete, "m", filter="id in [5]")
    refused(client.create_partition, "m", "p")
    refused(client.drop_index, "m", "vector")
    refused(client.rename_collection, "m", "m2")
    assert count_rows(client, "m") == ROWS - 3

    fails(cli(server.uri, "unmount", "src"), 1, "collection src is not a mounted snapshot")
    ok(cli(server.uri, "unmount", "m"))
    assert not client.has_collection("m")
    assert client.has_collection("src")


def test_rollback_in_place_and_its_undo(make_server):
    server = make_server()
    client = server.client()
    make_source(client, "src", "s")
    client.create_alias("src", "live")
    at_snapshot = {r["id"] for r in client.query("src", filter=f"id < {ROWS}", output_fields=["id"])}
    # A bad batch: overwrites, deletes, and a row still growing.
    client.upsert("src", [{"id": 5, "vector": [9.0] * DIM, "title": "bad"}])
    client.delete("src", filter="id < 50")
    client.insert("src", [{"id": 90_000, "vector": [1.0] * DIM, "title": "late"}])
    bad = {r["id"] for r in client.query("src", filter="id >= 0", output_fields=["id"])}

    out = json.loads(ok(cli(server.uri, "rollback", "live", "s", "--json")).stdout)
    assert out["rows_before"] == len(bad) and out["rows_after"] == len(at_snapshot), out
    assert out["saved_as"].startswith("before_rollback_"), out
    # Still loaded, same name and alias; the rows are the snapshot's.
    assert {r["id"] for r in client.query("live", filter="id >= 0", output_fields=["id"])} == at_snapshot
    assert client.query("src", filter="id == 5", output_fields=["title"])[0]["title"] == "t5"
    assert out["saved_as"] in client.list_snapshots("src")

    text = ok(cli(server.uri, "rollback", "src", out["saved_as"])).stdout
    assert f"rolled back default.src to snapshot {out['saved_as']}" in text, text
    server.restart()
    client = server.client()
    client.load_collection("src")
    assert {r["id"] for r in client.query("src", filter="id >= 0", output_fields=["id"])} == bad
    fails(cli(server.uri, "rollback", "src", "nope"), 1, "nope")


def test_usage_shows_shared_and_exclusive_bytes(make_server):
    server = make_server(GC_NOW)
    client = server.client()
    make_source(client, "src", "s")
    usage = json.loads(ok(cli(server.uri, "usage", "src", "--json")).stdout)
    [s] = usage["snapshots"]
    assert s["name"] == "s" and s["total_bytes"] > 0 and s["exclusive_bytes"] == 0, usage
    # After the source is rewritten, the snapshot alone holds the old files.
    client.delete("src", filter="id < 100")
    client.flush("src")
    client.compact("src")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        usage = json.loads(ok(cli(server.uri, "usage", "src", "--json")).stdout)
        if usage["snapshots"][0]["exclusive_bytes"] > 0:
            break
        time.sleep(0.2)
    s = usage["snapshots"][0]
    assert s["exclusive_bytes"] > 0 and s["shared_bytes"] + s["exclusive_bytes"] == s["total_bytes"], usage
    assert usage["snapshot_only_bytes"] == s["exclusive_bytes"], usage
    table = ok(cli(server.uri, "usage", "src")).stdout
    assert "EXCLUSIVE (freed by drop)" in table and "held only by snapshots" in table, table
