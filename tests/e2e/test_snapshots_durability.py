"""Collection snapshots across GC, collection drops, restarts, crashes and corrupt files.

Servers of their own: GC runs every second with a 1 s grace period where GC matters.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import QuiverServer, data_config
from helpers import (
    INVALID_PARAMETER,
    RESTORE_JOB_NOT_FOUND,
    RESTORE_STATES,
    SNAPSHOT_NOT_FOUND,
    SNAPSHOT_PINNED,
    count_rows,
    expect_error,
    rows_by_pk,
    snapshot_files,
    wait_restore,
)
from test_cli_snapshot import cli, ok
from test_snapshots import (
    COMPLETED,
    FAILED,
    build_source,
    collection_id,
    create_source,
    fill,
    restore_ok,
    search_hits,
    snapshot_id,
    wait_for_index,
)

GC_CONFIG = data_config(
    gc_interval_seconds=1,
    gc_grace_seconds=1,
    compaction_interval_seconds=3600,
    seal_idle_seconds=3600,
)
GC_WAIT_S = 30.0


def in_mode(config: str | None, mode: str) -> str:
    """`config` with `[data] restore_mode = mode` (restores clone by default)."""
    return (config or "[data]\n").replace("[data]\n", f'[data]\nrestore_mode = "{mode}"\n', 1)


def wait_until(pred, timeout: float = GC_WAIT_S, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def prove_gc_ran(srv: QuiverServer) -> None:
    """Plant an unreferenced data file and wait until GC removes it."""
    stray = srv.objects_dir / "insert_log" / "987654" / "1" / "1" / f"{time.monotonic_ns()}.parquet"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"not referenced by anything")
    assert wait_until(lambda: not stray.exists()), "GC did not run (a stray file stayed)"


def collection_data_files(srv: QuiverServer, cid: int) -> list:
    out = []
    for kind in ("insert_log", "delta_log"):
        root = srv.objects_dir / kind / str(cid)
        if root.exists():
            out += [p for p in root.rglob("*") if p.is_file()]
    return out


def own_files(srv: QuiverServer, s3_location: str) -> list:
    files = snapshot_files(srv.objects_dir, s3_location)
    return [srv.objects_dir / s3_location] + [srv.objects_dir / k for k in files["manifests"]]


# ---- GC protection ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["copy", "clone"])
def test_gc_keeps_every_file_a_snapshot_references(make_server, unique_name, mode):
    srv = make_server(config=in_mode(GC_CONFIG, mode))
    c = srv.client()
    name, snap, target = unique_name("src"), unique_name("snap"), unique_name("dst")
    expected = build_source(c, name)
    c.load_collection(name)
    assert rows_by_pk(c, name) == expected
    hits = search_hits(c, name)
    index_before = c.describe_index(name, "vec_idx")
    c.create_snapshot(snap, name)
    info = c.describe_snapshot(snap, name)
    files = snapshot_files(srv.objects_dir, info.s3_location)
    keys = sorted(files["data_keys"])
    assert any(k.startswith("index_files/") for k in keys) and any(k.startswith("delta_log/") for k in keys)
    referenced = [srv.objects_dir / k for k in keys] + own_files(srv, info.s3_location)
    assert all(p.is_file() for p in referenced)

    # Make every captured file garbage for the live collection.
    c.delete(name, filter="id < 150")
    c.flush(name)
    job = c.compact(name)
    assert c.get_compaction_state(job) == "Completed"
    c.release_collection(name)
    c.drop_index(name, "vec_idx")
    live_segments = {s.segment_id for s in c.list_persistent_segments(name)}
    assert not live_segments & set(files["metadata"]["segment_ids"]), "compaction rewrote nothing"
    time.sleep(4)
    prove_gc_ran(srv)
    missing = [str(p) for p in referenced if not p.exists()]
    assert missing == [], f"GC deleted files the snapshot references: {missing}"

    restore_ok(c, snap, name, target)
    idx = c.describe_index(target, "vec_idx")
    assert idx["state"] == "Finished" and idx["indexed_rows"] == index_before["indexed_rows"], idx
    c.load_collection(target)
    assert rows_by_pk(c, target) == expected
    assert search_hits(c, target) == hits

    # Once the snapshot is dropped, its no-longer-live files are collected when nothing
    # else needs them: a copy does not; a clone does, until it is dropped too.
    c.drop_snapshot(snap, name)
    dead = [srv.objects_dir / k for k in keys]
    if mode == "clone":
        time.sleep(3)
        prove_gc_ran(srv)
        assert all(p.exists() for p in dead), "GC deleted files the clone references"
        c.release_collection(target)
        c.load_collection(target)
        assert rows_by_pk(c, target) == expected
        c.drop_collection(target)
    assert wait_until(lambda: not any(p.exists() for p in dead)), (
        "files nothing references any more were never collected: "
        + ", ".join(str(p) for p in dead if p.exists())
    )
    if mode == "clone":
        return
    c.release_collection(target)
    c.load_collection(target)
    assert rows_by_pk(c, target) == expected
    srv.restart()
    c = srv.client()
    c.load_collection(target)
    assert rows_by_pk(c, target) == expected


def test_gc_keeps_files_of_a_dropped_partition_in_a_snapshot(make_server, unique_name):
    srv = make_server(config=GC_CONFIG)
    c = srv.client()
    name, snap, target = unique_name("src"), unique_name("snap"), unique_name("dst")
    create_source(c, name, index=False)
    c.create_partition(name, "p1")
    exp_default = fill(c, name, range(20))
    exp_p1 = fill(c, name, range(100, 140), partition_name="p1")
    c.create_snapshot(snap, name)
    c.drop_partition(name, "p1")
    time.sleep(3)
    prove_gc_ran(srv)
    restore_ok(c, snap, name, target)
    c.load_collection(target)
    assert rows_by_pk(c, target, partition_names=["p1"]) == exp_p1
    assert rows_by_pk(c, target) == {**exp_default, **exp_p1}


def test_drop_collection_drops_unpinned_snapshots_keeps_pinned(make_server, unique_name):
    srv = make_server(config=GC_CONFIG)
    c = srv.client()
    name = unique_name("src")
    create_source(c, name, index=False)
    fill(c, name, range(60))
    c.delete(name, ids=[1, 2])
    c.flush(name)
    cid = collection_id(c, name)
    c.create_snapshot("kept", name)
    c.create_snapshot("gone", name)
    kept = c.describe_snapshot("kept", name)
    gone = c.describe_snapshot("gone", name)
    kept_files = own_files(srv, kept.s3_location)
    gone_files = own_files(srv, gone.s3_location)
    kept_data = [srv.objects_dir / k for k in snapshot_files(srv.objects_dir, kept.s3_location)["data_keys"]]
    pin = c.pin_snapshot_data("kept", name)

    c.drop_collection(name)
    assert wait_until(lambda: not any(p.exists() for p in gone_files), timeout=10), (
        "an unpinned snapshot of a dropped collection kept its files"
    )
    time.sleep(3)
    prove_gc_ran(srv)
    assert all(p.exists() for p in kept_files), "a pinned snapshot lost its own files with its collection"
    missing = [str(p) for p in kept_data if not p.exists()]
    assert missing == [], f"GC deleted data files of a pinned snapshot: {missing}"
    # A new collection of that name starts with no snapshots.
    create_source(c, name, index=False)
    assert c.list_snapshots(name) == []
    assert collection_id(c, name) != cid

    # After the unpin the sweeper drops it, then GC reclaims the dropped collection's files.
    c.unpin_snapshot_data(pin)
    assert wait_until(lambda: not any(p.exists() for p in kept_files)), (
        "the sweeper did not drop an unpinned snapshot of a dropped collection: "
        + ", ".join(str(p) for p in kept_files if p.exists())
    )
    assert wait_until(lambda: collection_data_files(srv, cid) == []), collection_data_files(srv, cid)
    assert c.list_snapshots(name) == []


# ---- restart and crash -----------------------------------------------------------------


def test_snapshots_and_jobs_survive_restart(fresh_server, unique_name):
    srv = fresh_server
    c = srv.client()
    name, t1, t2 = unique_name("src"), unique_name("t1"), unique_name("t2")
    expected = build_source(c, name)
    c.create_snapshot("s1", name, description="before restart")
    c.create_snapshot("s2", name, compaction_protection_seconds=3600)
    job, final, _ = restore_ok(c, "s1", name, t1)
    pin = c.pin_snapshot_data("s2", name)
    described = {s: c.describe_snapshot(s, name) for s in ("s1", "s2")}
    segments = {s.segment_id for s in c.list_persistent_segments(name)}

    srv.restart()
    c = srv.client()
    assert sorted(c.list_snapshots(name)) == ["s1", "s2"]
    for s, info in described.items():
        assert c.describe_snapshot(s, name) == info
    assert c.get_restore_snapshot_state(job) == final
    assert [j.job_id for j in c.list_restore_snapshot_jobs(collection_name=t1)] == [job]
    with expect_error(SNAPSHOT_PINNED, "pinned"):
        c.drop_snapshot("s2", name)
    # Compaction protection survives too.
    compaction = c.compact(name)
    assert c.get_compaction_state(compaction) == "Completed"
    assert {s.segment_id for s in c.list_persistent_segments(name)} == segments
    with expect_error(INVALID_PARAMETER, "already exists"):
        c.create_snapshot("s1", name)

    restore_ok(c, "s1", name, t2)
    for t in (t1, t2):
        c.load_collection(t)
        assert rows_by_pk(c, t) == expected
    c.unpin_snapshot_data(pin)
    c.drop_snapshot("s2", name)
    srv.restart()
    c = srv.client()
    assert c.list_snapshots(name) == ["s1"]


def test_snapshot_survives_sigkill_right_after_create(fresh_server, unique_name):
    srv = fresh_server
    c = srv.client()
    name, target = unique_name("src"), unique_name("dst")
    create_source(c, name, index=False)
    expected = fill(c, name, range(80))
    c.create_snapshot("s", name, description="acknowledged")
    info = c.describe_snapshot("s", name)
    srv.kill()
    srv.start()
    c = srv.client()
    assert c.describe_snapshot("s", name) == info
    restore_ok(c, "s", name, target)
    c.load_collection(target)
    assert rows_by_pk(c, target) == expected


@pytest.mark.parametrize("config", ["default", "aggressive_gc"])
def test_restore_resumes_after_sigkill(make_server, unique_name, config):
    srv = make_server(config=GC_CONFIG if config == "aggressive_gc" else None)
    c = srv.client()
    name, target = unique_name("src"), unique_name("dst")
    create_source(c, name)
    expected: dict = {}
    for b in range(20):
        expected.update(fill(c, name, range(b * 20, b * 20 + 20)))
    c.delete(name, ids=list(range(0, 400, 9)))
    c.flush(name)
    for k in range(0, 400, 9):
        expected.pop(k)
    wait_for_index(c, name)
    c.load_collection(name)
    hits = search_hits(c, name)
    c.create_snapshot("s", name)
    job = c.restore_snapshot("s", name, target)
    srv.kill()
    srv.start()
    c = srv.client()
    info = c.get_restore_snapshot_state(job)
    assert info.state in RESTORE_STATES, info
    assert c.has_collection(target)
    final, seen = wait_restore(c, job)
    assert final.state == COMPLETED, final
    assert final.progress == 100 and final.time_cost > 0
    assert c.describe_index(target, "vec_idx")["state"] == "Finished"
    c.load_collection(target)
    assert rows_by_pk(c, target) == expected
    assert count_rows(c, target) == len(expected)
    assert search_hits(c, target) == hits
    c.drop_snapshot("s", name)  # the job's pin is released


def test_finished_restore_jobs_expire(make_server, unique_name):
    srv = make_server(config=data_config(restore_job_retention_seconds=1))
    c = srv.client()
    name, target = unique_name("src"), unique_name("dst")
    create_source(c, name, index=False)
    fill(c, name, range(10))
    c.create_snapshot("s", name)
    job, _, _ = restore_ok(c, "s", name, target)

    def gone() -> bool:
        try:
            c.get_restore_snapshot_state(job)
            return False
        except Exception as e:  # noqa: BLE001
            assert getattr(e, "code", None) == RESTORE_JOB_NOT_FOUND, e
            return True

    assert wait_until(gone, timeout=20), "a finished job outlived its retention"
    assert c.list_restore_snapshot_jobs(collection_name=target) == []
    assert c.has_collection(target)


# ---- corruption ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["insert_log", "delta_log", "index_files", "missing"])
def test_corrupt_snapshot_file_fails_the_restore(make_server, unique_name, kind):
    """A copy verifies every file before Completed (and a clone checks each is there: see
    test_a_clone_names_a_corrupt_file_after_completed for what it finds after)."""
    srv = make_server(config=in_mode(None, "copy") if kind != "missing" else None)
    c = srv.client()
    name, target = unique_name("src"), unique_name("dst")
    build_source(c, name)
    c.create_snapshot("s", name)
    info = c.describe_snapshot("s", name)
    keys = sorted(snapshot_files(srv.objects_dir, info.s3_location)["data_keys"])
    prefix = "insert_log" if kind == "missing" else kind
    key = next(k for k in keys if k.startswith(prefix + "/"))
    path: Path = srv.objects_dir / key
    if kind == "missing":
        path.unlink()
    else:
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))

    job = c.restore_snapshot("s", name, target)
    final, seen = wait_restore(c, job)
    assert final.state == FAILED, final
    assert all(s.state != COMPLETED for s in seen)
    assert key in final.reason, f"the failure reason should name {key}: {final.reason!r}"
    assert final.progress < 100, final
    # Stays failed; the job's pin is released.
    time.sleep(1)
    assert c.get_restore_snapshot_state(job).state == FAILED
    assert [j.state for j in c.list_restore_snapshot_jobs(collection_name=target)] == [FAILED]
    c.drop_snapshot("s", name)
    with expect_error(SNAPSHOT_NOT_FOUND, "snapshot not found"):
        c.describe_snapshot("s", name)


def corrupt_in_place(srv: QuiverServer, c, name: str, kind: str) -> str:
    """Flip one byte of a `kind` file of snapshot `s` of `name` (size unchanged); its key."""
    info = c.describe_snapshot("s", name)
    keys = sorted(snapshot_files(srv.objects_dir, info.s3_location)["data_keys"])
    key = next(k for k in keys if k.startswith(kind + "/"))
    path: Path = srv.objects_dir / key
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return key


@pytest.mark.parametrize("kind", ["insert_log", "index_files"])
def test_a_clone_names_a_corrupt_file_after_completed(make_server, unique_name, kind):
    """A file changed in place (same size) passes a clone's presence check; the full
    check right after Completed finds it and names it in the job and the log. (Delete
    logs are read, and verified, before Completed: test_a_clone_with_a_corrupt_delete_log_fails.)"""
    srv = make_server()
    c = srv.client()
    name, target = unique_name("src"), unique_name("dst")
    build_source(c, name)
    c.create_snapshot("s", name)
    key = corrupt_in_place(srv, c, name, kind)
    job = c.restore_snapshot("s", name, target)
    final, _ = wait_restore(c, job)
    assert final.state == COMPLETED, final
    described = wait_until(lambda: (lambda j: j if j["verification"] != "pending" else None)(
        json.loads(ok(cli(srv.uri, "job", str(job), "--json")).stdout)))
    assert described["verification"] == "failed" and key in described["verification_reason"], described
    assert "a cloned collection's file failed its check" in srv.log_text() and key in srv.log_text()


def test_a_clone_with_a_corrupt_delete_log_fails(make_server, unique_name):
    srv = make_server()
    c = srv.client()
    name, target = unique_name("src"), unique_name("dst")
    build_source(c, name)
    c.create_snapshot("s", name)
    key = corrupt_in_place(srv, c, name, "delta_log")
    final, seen = wait_restore(c, c.restore_snapshot("s", name, target))
    assert final.state == FAILED and key in final.reason, final
    assert all(s.state != COMPLETED for s in seen)


@pytest.mark.parametrize("mode", ["copy", "clone"])
def test_dropping_the_source_during_a_restore(make_server, unique_name, mode):
    """The running restore pins the snapshot: the cascade skips it and GC keeps its
    files, so the job completes exactly; afterwards the orphan snapshot is swept. The
    source's files go then, except (for a clone) the ones the clone references."""
    srv = make_server(config=in_mode(GC_CONFIG, mode))
    c = srv.client()
    name, target = unique_name("src"), unique_name("dst")
    create_source(c, name)
    expected: dict = {}
    for b in range(20):
        expected.update(fill(c, name, range(b * 10, b * 10 + 10)))
    c.delete(name, ids=list(range(0, 200, 7)))
    c.flush(name)
    for k in range(0, 200, 7):
        expected.pop(k)
    wait_for_index(c, name)
    cid = collection_id(c, name)
    c.create_snapshot("s", name)
    info = c.describe_snapshot("s", name)
    job = c.restore_snapshot("s", name, target)
    c.drop_collection(name)
    final, _ = wait_restore(c, job)
    assert final.state == COMPLETED, final
    c.load_collection(target)
    assert rows_by_pk(c, target) == expected
    snap_own = own_files(srv, info.s3_location) if (srv.objects_dir / info.s3_location).exists() else []
    assert wait_until(lambda: not any(p.exists() for p in snap_own)), "orphan snapshot never swept"
    if mode == "clone":
        shared = collection_data_files(srv, cid)
        assert shared, "the clone's files are the source's"
        time.sleep(3)
        prove_gc_ran(srv)
        assert all(p.exists() for p in shared), "GC deleted files the clone references"
    else:
        assert wait_until(lambda: collection_data_files(srv, cid) == []), collection_data_files(srv, cid)
    c.release_collection(target)
    c.load_collection(target)
    assert rows_by_pk(c, target) == expected
    if mode == "clone":
        c.drop_collection(target)
        assert wait_until(lambda: collection_data_files(srv, cid) == []), collection_data_files(srv, cid)


def test_pin_ttl_expiry_lets_the_sweeper_drop_an_orphan(make_server, unique_name):
    srv = make_server(config=GC_CONFIG)
    c = srv.client()
    name = unique_name("src")
    create_source(c, name, index=False)
    fill(c, name, range(20))
    c.create_snapshot("s", name)
    info = c.describe_snapshot("s", name)
    files = own_files(srv, info.s3_location)
    c.pin_snapshot_data("s", name, ttl_seconds=3)
    c.drop_collection(name)
    time.sleep(1)
    assert all(p.exists() for p in files), "a pinned snapshot was dropped with its collection"
    assert wait_until(lambda: not any(p.exists() for p in files)), "expired pin never released the orphan"


# ---- S3 ----------------------------------------------------------------------------------


def test_snapshots_on_s3(make_server, s3_server, unique_name):
    import uuid

    prefix = f"snap-{uuid.uuid4().hex[:8]}"
    srv = make_server(config=s3_server.storage_config(root_path=prefix))
    c = srv.client()
    name, target = unique_name("src"), unique_name("dst")
    expected = build_source(c, name)
    c.load_collection(name)
    hits = search_hits(c, name)
    cid = collection_id(c, name)
    c.create_snapshot("s", name)
    info = c.describe_snapshot("s", name)
    sid = snapshot_id(info.s3_location.removeprefix(prefix + "/"))
    keys = set(s3_server.keys(prefix + "/"))
    meta_key = f"{prefix}/snapshots/{cid}/metadata/{sid}.json"
    assert meta_key in keys, sorted(k for k in keys if "/snapshots/" in k)
    manifests = {k for k in keys if k.startswith(f"{prefix}/snapshots/{cid}/manifests/{sid}/")}
    assert len(manifests) == len(c.list_persistent_segments(name))
    restore_ok(c, "s", name, target)
    assert c.describe_index(target, "vec_idx")["state"] == "Finished"
    c.load_collection(target)
    assert rows_by_pk(c, target) == expected
    assert search_hits(c, target) == hits
    c.drop_snapshot("s", name)
    keys = set(s3_server.keys(prefix + "/"))
    assert meta_key not in keys and not (manifests & keys)
    assert not [p for p in srv.objects_dir.rglob("*") if p.is_file()] if srv.objects_dir.exists() else True


def test_gc_protection_holds_across_restart(make_server, unique_name):
    srv = make_server(config=GC_CONFIG)
    c = srv.client()
    name, target = unique_name("src"), unique_name("dst")
    expected = build_source(c, name)
    c.create_snapshot("s", name)
    info = c.describe_snapshot("s", name)
    referenced = [srv.objects_dir / k for k in snapshot_files(srv.objects_dir, info.s3_location)["data_keys"]]
    c.delete(name, filter="id >= 0")
    c.flush(name)
    c.compact(name)
    c.release_collection(name)
    c.drop_index(name, "vec_idx")
    srv.kill()
    srv.start()
    c = srv.client()
    time.sleep(4)
    prove_gc_ran(srv)
    missing = [str(p) for p in referenced if not p.exists()]
    assert missing == [], f"after a restart GC deleted files the snapshot references: {missing}"
    restore_ok(c, "s", name, target)
    c.load_collection(target)
    assert rows_by_pk(c, target) == expected
    # The restored collection lives its own life under aggressive GC.
    c.delete(target, ids=[5, 105])
    c.flush(target)
    c.compact(target)
    expected.pop(5)
    expected.pop(105)
    time.sleep(3)
    prove_gc_ran(srv)
    srv.restart()
    c = srv.client()
    c.load_collection(target)
    assert rows_by_pk(c, target) == expected
