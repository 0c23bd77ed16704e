"""Every Python example of the snapshot user guide (docs: snapshot_user_guide.md), with
the guide's collection and snapshot names and its calls as written, except where stock
pymilvus 3.0.2 cannot run them as written (each adaptation is marked ADAPTED):

* `describe_snapshot`, `drop_snapshot` take a required `collection_name` (generation-2
  API); the guide's calls omit it (TypeError in pymilvus before any RPC).
* `restore_snapshot(snapshot_name, collection_name=...)` is the generation-1 call; 3.0.2
  needs `source_collection_name` and `target_collection_name` (TypeError otherwise).
* `SnapshotInfo` has no `id` and `RestoreSnapshotJobInfo` no `collection_id` in
  pymilvus 3.0.2 (AttributeError); the prints use `collection_name` instead.
* Snapshot names with a dot (`v1.0_baseline`) break Milvus's name rule (letters,
  digits, `_`, `$`); the versioning example uses `v1_0_baseline`, and
  `test_guide_names_with_a_dot_are_rejected` pins the Milvus behaviour.
"""

from __future__ import annotations

import datetime
import json
import time

from pymilvus import MilvusClient

from helpers import (
    INVALID_PARAMETER,
    RESTORE_JOB_NOT_FOUND,
    SNAPSHOT_NOT_FOUND,
    UNEXPECTED,
    expect_error,
    read_avro_ocf,
    rows_by_pk,
)
from test_snapshots import create_source, fill, wait_for_index


def setup_collection(client: MilvusClient, name: str, rows: int = 200, flush: bool = False) -> dict:
    """A collection with an index and `rows` rows in two flushed batches, plus a few
    unflushed rows unless `flush` (the guide flushes before every snapshot)."""
    create_source(client, name)
    expected = fill(client, name, range(rows // 2))
    expected.update(fill(client, name, range(rows // 2, rows)))
    wait_for_index(client, name)
    expected.update(fill(client, name, range(1000, 1010), flush=flush))
    return expected


def guide_client(server) -> MilvusClient:
    # The guide: client = MilvusClient(uri="http://localhost:19530")
    return MilvusClient(uri=server.uri)


# ---- API reference ---------------------------------------------------------------------


def test_guide_create_snapshot(server, client, capsys):
    expected = setup_collection(client, "my_collection")

    client = guide_client(server)

    # Recommended: Flush data before creating snapshot to ensure all data is included
    client.flush(collection_name="my_collection")

    # Create snapshot for entire collection
    client.create_snapshot(
        collection_name="my_collection",
        snapshot_name="backup_20240101",
        description="Daily backup for January 1st, 2024"
    )

    info = client.describe_snapshot(snapshot_name="backup_20240101", collection_name="my_collection")
    assert info.description == "Daily backup for January 1st, 2024"
    # The flush made every row part of the snapshot.
    client.restore_snapshot("backup_20240101", "my_collection", "check_restore")
    _wait_completed(client, "check_restore")
    client.load_collection("check_restore")
    assert rows_by_pk(client, "check_restore") == expected


def test_guide_list_snapshots(client):
    setup_collection(client, "my_collection", flush=True)
    client.create_snapshot(collection_name="my_collection", snapshot_name="backup_20240101")
    client.create_snapshot(collection_name="my_collection", snapshot_name="backup_20240102")

    # List all snapshots for a collection
    snapshots = client.list_snapshots(collection_name="my_collection")

    assert sorted(snapshots) == ["backup_20240101", "backup_20240102"]


def test_guide_describe_snapshot(client, capsys):
    setup_collection(client, "my_collection", flush=True)
    client.create_snapshot(
        collection_name="my_collection",
        snapshot_name="backup_20240101",
        description="Daily backup for January 1st, 2024",
    )

    snapshot_info = client.describe_snapshot(
        snapshot_name="backup_20240101",
        collection_name="my_collection",  # ADAPTED: required in pymilvus 3.0.2
        include_collection_info=True
    )

    # ADAPTED: print(f"Snapshot ID: {snapshot_info.id}") -- SnapshotInfo has no id
    print(f"Collection: {snapshot_info.collection_name}")
    print(f"Created: {snapshot_info.create_ts}")
    print(f"Description: {snapshot_info.description}")

    out = capsys.readouterr().out
    assert "Collection: my_collection\n" in out
    assert f"Created: {snapshot_info.create_ts}\n" in out and snapshot_info.create_ts > 0
    assert "Description: Daily backup for January 1st, 2024\n" in out


def test_guide_restore_snapshot(client, capsys):
    expected = setup_collection(client, "my_collection", flush=True)
    client.create_snapshot(collection_name="my_collection", snapshot_name="backup_20240101")

    # Restore snapshot to new collection
    job_id = client.restore_snapshot(
        snapshot_name="backup_20240101",
        source_collection_name="my_collection",  # ADAPTED: pymilvus 3.0.2 names
        target_collection_name="restored_collection",
    )

    # Wait for restore to complete
    import time
    while True:
        state = client.get_restore_snapshot_state(job_id=job_id)
        if state.state == "RestoreSnapshotCompleted":
            print(f"Restore completed in {state.time_cost}ms")
            break
        elif state.state == "RestoreSnapshotFailed":
            print(f"Restore failed: {state.reason}")
            break
        print(f"Restore progress: {state.progress}%")
        time.sleep(1)

    out = capsys.readouterr().out
    assert "Restore failed" not in out, out
    assert f"Restore completed in {state.time_cost}ms" in out and state.time_cost > 0
    client.load_collection("restored_collection")
    assert rows_by_pk(client, "restored_collection") == expected


def test_guide_drop_snapshot(client):
    setup_collection(client, "my_collection", flush=True)
    client.create_snapshot(collection_name="my_collection", snapshot_name="backup_20240101")

    client.drop_snapshot(snapshot_name="backup_20240101", collection_name="my_collection")  # ADAPTED

    assert client.list_snapshots(collection_name="my_collection") == []


def test_guide_get_restore_snapshot_state(client, capsys):
    setup_collection(client, "my_collection", flush=True)
    client.create_snapshot(collection_name="my_collection", snapshot_name="backup_20240101")
    job_id = client.restore_snapshot("backup_20240101", "my_collection", "restored_collection")
    _wait_completed(client, "restored_collection")

    state = client.get_restore_snapshot_state(job_id=job_id)  # the guide: job_id=12345

    print(f"Job ID: {state.job_id}")
    print(f"Snapshot Name: {state.snapshot_name}")
    print(f"Collection: {state.collection_name}")  # ADAPTED: no collection_id in 3.0.2
    print(f"State: {state.state}")
    print(f"Progress: {state.progress}%")
    if state.state == "RestoreSnapshotFailed":
        print(f"Failure Reason: {state.reason}")
    print(f"Time Cost: {state.time_cost}ms")

    out = capsys.readouterr().out
    assert out == (
        f"Job ID: {job_id}\n"
        "Snapshot Name: backup_20240101\n"
        "Collection: restored_collection\n"
        "State: RestoreSnapshotCompleted\n"
        "Progress: 100%\n"
        f"Time Cost: {state.time_cost}ms\n"
    )
    # The guide's literal job id is unknown here: "restore job not found".
    with expect_error(RESTORE_JOB_NOT_FOUND, "restore job not found"):
        client.get_restore_snapshot_state(job_id=12345)


def test_guide_list_restore_snapshot_jobs(client, capsys):
    setup_collection(client, "my_collection", flush=True)
    client.create_snapshot(collection_name="my_collection", snapshot_name="backup_20240101")
    j1 = client.restore_snapshot("backup_20240101", "my_collection", "restored_a")
    j2 = client.restore_snapshot("backup_20240101", "my_collection", "restored_b")
    _wait_completed(client, "restored_a")
    _wait_completed(client, "restored_b")

    # List all restore jobs
    jobs = client.list_restore_snapshot_jobs()

    for job in jobs:
        print(f"Job {job.job_id}: {job.snapshot_name} -> Collection {job.collection_name}")  # ADAPTED
        print(f"  State: {job.state}, Progress: {job.progress}%")

    # List restore jobs for a specific collection
    jobs = client.list_restore_snapshot_jobs(collection_name="my_collection")

    out = capsys.readouterr().out
    assert f"Job {j1}: backup_20240101 -> Collection restored_a\n" in out
    assert f"Job {j2}: backup_20240101 -> Collection restored_b\n" in out
    assert out.count("  State: RestoreSnapshotCompleted, Progress: 100%\n") == 2
    assert jobs == []  # the filter is the TARGET collection; nothing was restored into it
    assert [j.job_id for j in client.list_restore_snapshot_jobs(collection_name="restored_a")] == [j1]


# ---- use cases -------------------------------------------------------------------------


def test_guide_use_case_daily_backup(client):
    expected = setup_collection(client, "production_vectors")

    import datetime

    # Create daily backup
    today = datetime.date.today().strftime("%Y%m%d")
    snapshot_name = f"daily_backup_{today}"

    # Recommended: Flush data to ensure all changes are persisted
    client.flush(collection_name="production_vectors")

    # Create snapshot
    client.create_snapshot(
        collection_name="production_vectors",
        snapshot_name=snapshot_name,
        description=f"Daily backup for {today}"
    )

    assert client.list_snapshots(collection_name="production_vectors") == [snapshot_name]
    info = client.describe_snapshot(snapshot_name, "production_vectors")
    assert info.description == f"Daily backup for {today}"
    client.restore_snapshot(snapshot_name, "production_vectors", "daily_check")
    _wait_completed(client, "daily_check")
    client.load_collection("daily_check")
    assert rows_by_pk(client, "daily_check") == expected


def test_guide_use_case_offline_processing(server, client):
    """Steps 1, 2 and 4 as written; step 3 (Spark) reads the snapshot from the object
    store the way the guide describes: metadata JSON -> Avro manifests -> data files."""
    expected = setup_collection(client, "user_embeddings")

    # Step 1: Create snapshot for offline processing
    snapshot_name = f"analytics_snapshot_{datetime.date.today().strftime('%Y%m%d')}"

    # Recommended: Flush data to ensure all changes are persisted
    client.flush(collection_name="user_embeddings")
    client.create_snapshot(
        collection_name="user_embeddings",
        snapshot_name=snapshot_name,
        description="Snapshot for daily analytics job"
    )

    # Step 2: Get snapshot metadata to locate data files in S3
    snapshot_info = client.describe_snapshot(
        snapshot_name=snapshot_name,
        collection_name="user_embeddings",  # ADAPTED
        include_collection_info=True
    )

    # Step 3 (instead of Spark): parse the metadata JSON, then the manifests.
    s3_path = snapshot_info.s3_location
    metadata = json.loads((server.objects_dir / s3_path).read_text())
    total_rows = 0
    data_files = []
    for manifest_key in metadata["manifest_list"]:
        (entry,) = read_avro_ocf((server.objects_dir / manifest_key).read_bytes())
        total_rows += entry["num_of_rows"]
        for group in entry["binlog_files"]:
            data_files += [b["log_path"] for b in group["binlogs"]]
    assert data_files and all((server.objects_dir / k).is_file() for k in data_files)
    assert total_rows == len(expected)  # no deletes: every stored row is live
    assert metadata["collection"]["collection_name"] == "user_embeddings"
    assert [f["name"] for f in metadata["collection"]["schema"]["fields"]] == ["id", "vector", "title", "n"]

    # Step 4: Clean up snapshot after processing completes
    client.drop_snapshot(snapshot_name=snapshot_name, collection_name="user_embeddings")  # ADAPTED

    assert client.list_snapshots(collection_name="user_embeddings") == []
    assert not (server.objects_dir / s3_path).exists()
    assert all((server.objects_dir / k).is_file() for k in data_files)


def test_guide_use_case_versioning(client):
    create_source(client, "ml_embeddings")
    v1 = fill(client, "ml_embeddings", range(100), flush=False)

    # Create version snapshots before major updates
    # Recommended: Flush to ensure all data is captured
    client.flush(collection_name="ml_embeddings")

    client.create_snapshot(
        collection_name="ml_embeddings",
        snapshot_name="v1_0_baseline",  # ADAPTED: "v1.0_baseline" is not a valid name
        description="Baseline model embeddings"
    )

    # "model update": new embeddings for every row
    client.upsert("ml_embeddings", [dict(r, title=f"improved-{k}") for k, r in v1.items()])
    v2 = {k: dict(r, title=f"improved-{k}") for k, r in v1.items()}

    # After model update, flush and create new snapshot
    client.flush(collection_name="ml_embeddings")

    client.create_snapshot(
        collection_name="ml_embeddings",
        snapshot_name="v1_1_improved",  # ADAPTED: "v1.1_improved"
        description="Improved model embeddings"
    )

    for snap, want, target in (("v1_0_baseline", v1, "ml_v1_0"), ("v1_1_improved", v2, "ml_v1_1")):
        client.restore_snapshot(snap, "ml_embeddings", target)
        _wait_completed(client, target)
        client.load_collection(target)
        assert rows_by_pk(client, target) == want


def test_guide_names_with_a_dot_are_rejected(client):
    """The guide's versioning names contain '.', which Milvus's name rule refuses
    (reference §3: `a.b` is rejected). Its 'good naming' examples without a dot work."""
    create_source(client, "ml_embeddings", index=False)
    for bad in ("v1.0_baseline", "v1.1_improved", "v2.1_production_release"):
        with expect_error(INVALID_PARAMETER, "."):
            client.create_snapshot(collection_name="ml_embeddings", snapshot_name=bad)
    for good in ("daily_backup_20240101", "test_dataset_regression_suite"):
        client.create_snapshot(collection_name="ml_embeddings", snapshot_name=good)
    assert sorted(client.list_snapshots(collection_name="ml_embeddings")) == [
        "daily_backup_20240101", "test_dataset_regression_suite"
    ]


def test_guide_use_case_testing_environment(client, capsys):
    expected = setup_collection(client, "test_collection")

    # Create test data snapshot
    # Recommended: Flush to ensure all test data is captured
    client.flush(collection_name="test_collection")

    client.create_snapshot(
        collection_name="test_collection",
        snapshot_name="test_dataset_v1",
        description="Test dataset for regression testing"
    )

    # Restore for testing with progress tracking
    job_id = client.restore_snapshot(
        snapshot_name="test_dataset_v1",
        source_collection_name="test_collection",  # ADAPTED
        target_collection_name="test_environment",
    )

    # Monitor restore progress
    import time
    while True:
        state = client.get_restore_snapshot_state(job_id=job_id)
        if state.state == "RestoreSnapshotCompleted":
            print(f"Test environment ready! Restored in {state.time_cost}ms")
            break
        elif state.state == "RestoreSnapshotFailed":
            print(f"Restore failed: {state.reason}")
            break
        print(f"Setting up test environment: {state.progress}%")
        time.sleep(1)

    out = capsys.readouterr().out
    assert f"Test environment ready! Restored in {state.time_cost}ms" in out, out
    client.load_collection("test_environment")
    assert rows_by_pk(client, "test_environment") == expected


def test_guide_use_case_multiple_restores(client, capsys):
    # The guide restores snapshot_v0..2; here they are three versions of one collection.
    create_source(client, "versions")
    expected = {}
    wants = []
    for i in range(3):
        expected.update(fill(client, "versions", range(i * 50, i * 50 + 50)))
        client.create_snapshot(f"snapshot_v{i}", "versions")
        wants.append(dict(expected))

    # Start multiple restore operations
    job_ids = []
    for i in range(3):
        job_id = client.restore_snapshot(
            snapshot_name=f"snapshot_v{i}",
            source_collection_name="versions",  # ADAPTED
            target_collection_name=f"test_env_{i}",
        )
        job_ids.append(job_id)
    started = list(job_ids)

    # Monitor all jobs
    while job_ids:
        completed = []
        for job_id in job_ids:
            state = client.get_restore_snapshot_state(job_id=job_id)
            if state.state in ["RestoreSnapshotCompleted", "RestoreSnapshotFailed"]:
                completed.append(job_id)
                print(f"Job {job_id} finished: {state.state}")

        for job_id in completed:
            job_ids.remove(job_id)

        if job_ids:
            time.sleep(1)

    # Alternatively, list all restore jobs
    jobs = client.list_restore_snapshot_jobs()
    for job in jobs:
        print(f"Job {job.job_id}: {job.snapshot_name} - {job.progress}% ({job.state})")

    out = capsys.readouterr().out
    for i, job_id in enumerate(started):
        assert f"Job {job_id} finished: RestoreSnapshotCompleted\n" in out, out
        assert f"Job {job_id}: snapshot_v{i} - 100% (RestoreSnapshotCompleted)\n" in out, out
    for i in range(3):
        client.load_collection(f"test_env_{i}")
        assert rows_by_pk(client, f"test_env_{i}") == wants[i]


# ---- troubleshooting: the documented errors --------------------------------------------


def test_guide_error_messages(client):
    setup_collection(client, "my_collection", flush=True)
    client.create_snapshot(collection_name="my_collection", snapshot_name="backup_20240101")
    # "snapshot not found"
    with expect_error(SNAPSHOT_NOT_FOUND, "snapshot not found"):
        client.describe_snapshot("backup_19990101", "my_collection")
    with expect_error(SNAPSHOT_NOT_FOUND, "snapshot not found"):
        client.restore_snapshot("backup_19990101", "my_collection", "restored_collection")
    # "collection already exists": Milvus says "create duplicate collection with
    # different parameters" (the reference); pymilvus users see that text.
    with expect_error(UNEXPECTED, "duplicate collection"):
        client.restore_snapshot("backup_20240101", "my_collection", "my_collection")
    # "restore job not found"
    with expect_error(RESTORE_JOB_NOT_FOUND, "restore job not found"):
        client.get_restore_snapshot_state(job_id=12345)


# ---- helpers ---------------------------------------------------------------------------


def _wait_completed(client: MilvusClient, target: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        jobs = client.list_restore_snapshot_jobs(collection_name=target)
        assert len(jobs) == 1, jobs
        if jobs[0].state == "RestoreSnapshotCompleted":
            return
        assert jobs[0].state != "RestoreSnapshotFailed", jobs[0]
        assert time.monotonic() < deadline, jobs[0]
        time.sleep(0.05)
