"""Monitoring: /metrics in Prometheus's text format and /healthz on the metrics port, with
values checked after known operations on a fresh server."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

from conftest import data_config, free_port

DIM = 8


def scrape(server) -> dict:
    """Every sample: (name, sorted labels) -> value. Parsed by Prometheus's own client, so
    a malformed exposition fails here."""
    with urllib.request.urlopen(f"{server.metrics_url}/metrics", timeout=10) as reply:
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("text/plain")
        text = reply.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: dict, name: str, **labels) -> float:
    """Sum over every sample of `name` whose labels include `labels`."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def wait_until(check, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def fill(client: MilvusClient, name: str, rows: int = 200) -> None:
    client.create_collection(name, dimension=DIM)
    client.insert(name, [{"id": i, "vector": [float(i % 7)] * DIM} for i in range(rows)])
    client.flush(name)


def test_counters_start_at_zero(make_server):
    samples = scrape(make_server())
    for name in ["quiver_gc_passes_total", "quiver_snapshots_created_total", "quiver_restore_copied_bytes_total"]:
        assert (name, ()) in samples and samples[(name, ())] == 0, name
    assert value(samples, "quiver_restore_jobs_finished_total", state="Failed") == 0
    assert ("quiver_restore_jobs_finished_total", (("state", "Failed"),)) in samples


def test_healthz_answers_ok(make_server):
    server = make_server()
    with urllib.request.urlopen(f"{server.metrics_url}/healthz", timeout=10) as reply:
        assert (reply.status, reply.read()) == (200, b"OK")


def test_metrics_count_what_happened(make_server):
    server = make_server()
    client = server.client()
    fill(client, "metered")
    with pytest.raises(MilvusException):
        client.describe_collection("never_created")
    with pytest.raises(MilvusException):
        client.create_resource_group("elsewhere")  # not served: code 10
    client.create_snapshot("nightly", "metered")
    job = client.restore_snapshot("nightly", "metered", "metered_copy")
    wait_until(lambda: client.get_restore_snapshot_state(job).state == "RestoreSnapshotCompleted", what="restore")
    client.drop_snapshot("nightly", "metered")
    # Index builds run in the background after the flush.
    samples = wait_until(
        lambda: (s := scrape(server)) and total(s, "quiver_index_build_duration_seconds_count") >= 1 and s,
        what="an index build to be measured",
    )

    # Every RPC by method and Milvus code: exactly what this test sent.
    assert value(samples, "quiver_rpc_requests_total", method="Insert", code="0") == 1
    assert value(samples, "quiver_rpc_requests_total", method="Flush", code="0") == 1
    assert value(samples, "quiver_rpc_requests_total", method="DescribeCollection", code="100") == 1
    assert value(samples, "quiver_rpc_requests_total", method="CreateSnapshot", code="0") == 1
    # An RPC Quiver does not serve is counted with the code of its Status.
    assert value(samples, "quiver_rpc_requests_total", method="CreateResourceGroup", code="10") == 1
    assert value(samples, "quiver_rpc_duration_seconds_count", method="Insert") == 1
    assert value(samples, "quiver_rpc_duration_seconds_sum", method="Insert") > 0

    # The write path, snapshots and restores.
    assert total(samples, "quiver_wal_fsync_duration_seconds_count") >= 1
    assert total(samples, "quiver_wal_group_records_count") >= 1
    assert total(samples, "quiver_flush_duration_seconds_count") >= 1
    assert value(samples, "quiver_snapshots_created_total") == 1
    assert value(samples, "quiver_snapshots_dropped_total") == 1
    assert value(samples, "quiver_restore_jobs_finished_total", state="Completed") == 1
    assert value(samples, "quiver_restore_jobs", state="Completed") == 1
    assert value(samples, "quiver_restore_jobs", state="Executing") == 0
    assert value(samples, "quiver_restore_copied_bytes_total") > 0

    # Object storage and memory.
    assert value(samples, "quiver_object_store_requests_total", op="put") >= 2
    assert value(samples, "quiver_object_store_request_duration_seconds_count", op="put") >= 2
    # The source's one segment; the restored copy is not loaded.
    assert value(samples, "quiver_loaded_segments", state="sealed") == 1
    assert value(samples, "quiver_segment_memory_bytes") > 0
    assert value(samples, "quiver_process_resident_memory_bytes") > 1_000_000


def test_gc_and_object_store_failures_are_counted(make_server):
    server = make_server(config=data_config(gc_interval_seconds=1, gc_grace_seconds=0))
    client = server.client()
    fill(client, "doomed")
    fill(client, "damaged")
    client.release_collection("damaged")
    # A data file lost behind the server's back: loading fails on a missing object.
    for path in (server.objects_dir / "insert_log").rglob("*"):
        if path.is_file() and str(client.describe_collection("damaged")["collection_id"]) in path.parts:
            path.unlink()
    with pytest.raises(MilvusException):
        client.load_collection("damaged", timeout=20)
    client.drop_collection("doomed")
    samples = wait_until(
        lambda: (s := scrape(server)) and value(s, "quiver_gc_deleted_files_total") > 0 and s,
        what="GC to delete the dropped collection's files",
    )
    assert value(samples, "quiver_gc_passes_total") >= 1
    assert value(samples, "quiver_gc_deleted_bytes_total") > 0
    assert total(samples, "quiver_object_store_errors_total", kind="not_found") >= 1


def test_a_taken_metrics_port_is_refused_in_words(make_server, quiver_bin, tmp_path):
    first = make_server()
    second = subprocess.run(
        [str(quiver_bin), "serve", "--data-dir", str(tmp_path / "second"), "--port", str(free_port()),
         "--metrics-port", str(first.metrics_port)],
        capture_output=True, text=True, timeout=60,
    )
    assert second.returncode != 0
    assert f"cannot listen on 127.0.0.1:{first.metrics_port} for metrics" in second.stderr, second.stderr
    assert "--metrics-port" in second.stderr


def test_metrics_can_be_switched_off(make_server):
    server = make_server(config="[metrics]\nenabled = false\n")
    assert "metrics=off" in server.log_text()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.metrics_port), timeout=2).close()

