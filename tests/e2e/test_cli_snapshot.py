"""`quiver snapshot ...`: the command-line client against a real server.

The collection is made with pymilvus and the CLI is run as a subprocess (no TTY, so
`restore --wait` prints progress lines instead of a bar). Checks outputs and the exit-code
contract: 0 success, 1 server-reported error, 2 usage or connection error.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
import subprocess
from typing import Optional

import pytest
from pymilvus import MilvusClient

from conftest import free_port, quiver_binary
from helpers import basic_schema, count_rows, wait_restore

CLI_TIMEOUT_S = 60.0
ROWS = 100


def cli(server_uri: Optional[str], *args: str, db: Optional[str] = None,
        env: Optional[dict] = None) -> subprocess.CompletedProcess:
    """Run `quiver snapshot [--uri U] [--db D] ARGS...` and return the finished process."""
    cmd = [str(quiver_binary()), "snapshot"]
    if server_uri is not None:
        cmd += ["--uri", server_uri]
    if db is not None:
        cmd += ["--db", db]
    cmd += list(args)
    full_env = {k: v for k, v in os.environ.items() if k != "QUIVER_URI"}
    full_env.update(env or {})
    return subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT_S,
                          stdin=subprocess.DEVNULL, env=full_env)


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    return proc


def fails(proc: subprocess.CompletedProcess, code: int, *fragments: str) -> None:
    assert proc.returncode == code, (
        f"expected exit {code}, got {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    for frag in fragments:
        assert frag.lower() in proc.stderr.lower(), f"{frag!r} not in stderr: {proc.stderr!r}"


def make_source(client: MilvusClient, name: str) -> None:
    """`name` with ROWS flushed rows, in the client's database."""
    client.create_collection(name, schema=basic_schema())
    rows = [{"id": i, "vector": [float(i % 7)] * 8, "title": f"t{i}"} for i in range(ROWS)]
    client.insert(name, rows)
    client.flush(name)


def loaded_count(client: MilvusClient, name: str) -> int:
    """Rows of `name` once indexed (FLAT, unless it has an index) and loaded."""
    if not client.list_indexes(name):
        index = client.prepare_index_params()
        index.add_index("vector", index_type="FLAT", metric_type="L2")
        client.create_index(name, index)
    client.load_collection(name)
    return count_rows(client, name)


def test_full_lifecycle(server, client: MilvusClient, unique_name):
    source, snap, target = unique_name("src"), unique_name("snap"), unique_name("dst")
    make_source(client, source)

    created = ok(cli(server.uri, "create", source, snap, "--description", "from the cli",
                     "--compaction-protection-seconds", "60"))
    assert snap in created.stdout

    assert ok(cli(server.uri, "list", source)).stdout.splitlines() == [snap]
    assert json.loads(ok(cli(server.uri, "list", source, "--json")).stdout) == [snap]

    described = ok(cli(server.uri, "describe", source, snap)).stdout
    assert re.search(rf"^Name:\s+{snap}$", described, re.M), described
    assert re.search(r"^Description:\s+from the cli$", described, re.M), described
    assert re.search(rf"^Collection:\s+{source}$", described, re.M), described
    assert re.search(r"^Partitions:\s+_default$", described, re.M), described
    info = client.describe_snapshot(snap, source)
    as_json = json.loads(ok(cli(server.uri, "describe", source, snap, "--json")).stdout)
    assert as_json["name"] == snap
    assert as_json["description"] == "from the cli"
    assert as_json["collection_name"] == source
    assert as_json["partition_names"] == ["_default"]
    assert as_json["create_ts"] == info.create_ts > 0
    assert as_json["s3_location"] == info.s3_location != ""
    assert as_json["create_time"].endswith("UTC")

    restored = ok(cli(server.uri, "restore", source, snap, target, "--wait"))
    lines = restored.stdout.splitlines()
    job_id = int(lines[0])
    assert job_id > 0
    assert re.search(rf"restore job {job_id} completed: default\.{target} .* in \d", restored.stdout), restored.stdout
    # Without a TTY the bar hides itself; progress lines must show the final state.
    assert f"restore job {job_id}: Completed 100%" in restored.stderr, restored.stderr
    assert client.get_restore_snapshot_state(job_id).state == "RestoreSnapshotCompleted"
    assert loaded_count(client, target) == ROWS

    table = ok(cli(server.uri, "jobs")).stdout.splitlines()
    assert table[0].split() == ["JOB", "ID", "SNAPSHOT", "TARGET", "STATE", "PROGRESS", "TIME", "COST", "REASON"]
    row = next(line for line in table[1:] if line.split()[0] == str(job_id))
    assert row.split()[1:5] == [snap, f"default.{target}", "Completed", "100%"], row

    jobs = json.loads(ok(cli(server.uri, "jobs", "--collection", target, "--json")).stdout)
    assert [j["job_id"] for j in jobs] == [job_id]
    assert jobs[0] | {"start_time": 0, "time_cost": 0} == {
        "job_id": job_id, "snapshot_name": snap, "db_name": "default", "collection_name": target,
        "state": "Completed", "progress": 100, "reason": "", "start_time": 0, "time_cost": 0,
    }
    assert jobs[0]["start_time"] > 0 and jobs[0]["time_cost"] > 0
    assert json.loads(ok(cli(server.uri, "jobs", "--collection", source, "--json")).stdout) == []

    one = ok(cli(server.uri, "job", str(job_id))).stdout
    assert re.search(rf"^Job ID:\s+{job_id}$", one, re.M), one
    assert re.search(r"^State:\s+Completed$", one, re.M), one
    assert re.search(rf"^Target:\s+default\.{target}$", one, re.M), one
    described = json.loads(ok(cli(server.uri, "job", str(job_id), "--json")).stdout)
    # `job` adds what Quiver's own service knows of the job: a clone (the default mode),
    # its bytes, and the check of its files after Completed.
    extension = {k: described.pop(k) for k in ("mode", "copied_bytes", "total_bytes", "verification", "verification_reason")}
    assert described == jobs[0]
    assert extension["mode"] == "clone" and extension["copied_bytes"] == extension["total_bytes"] > 0, extension
    assert extension["verification"] in ("pending", "verified") and extension["verification_reason"] == "", extension

    assert snap in ok(cli(server.uri, "drop", source, snap)).stdout
    assert ok(cli(server.uri, "list", source)).stdout == ""
    assert client.list_snapshots(collection_name=source) == []


def test_restore_without_wait_prints_only_the_job_id(server, client: MilvusClient, unique_name):
    source, snap, target = unique_name("src"), unique_name("snap"), unique_name("dst")
    make_source(client, source)
    client.create_snapshot(snap, source)

    restored = ok(cli(server.uri, "restore", source, snap, target))
    assert re.fullmatch(r"\d+\n", restored.stdout), restored.stdout
    job_id = int(restored.stdout)
    final, _ = wait_restore(client, job_id)
    assert final.state == "RestoreSnapshotCompleted", final
    job = json.loads(ok(cli(server.uri, "job", str(job_id), "--json")).stdout)
    assert (job["snapshot_name"], job["collection_name"], job["state"]) == (snap, target, "Completed")


def test_database_flags(server, client: MilvusClient, unique_name):
    """--db addresses another database (request field and `dbname` header), --target-db
    restores across databases."""
    db, other = unique_name("db"), unique_name("db")
    client.create_database(db)
    client.create_database(other)
    source, snap, target = unique_name("src"), unique_name("snap"), unique_name("dst")
    make_source(server.client(db_name=db), source)

    ok(cli(server.uri, "create", source, snap, db=db))
    assert ok(cli(server.uri, "list", source, db=db)).stdout.splitlines() == [snap]
    fails(cli(server.uri, "list", source), 1, "collection not found")

    restored = ok(cli(server.uri, "restore", source, snap, target, "--target-db", other, "--wait", db=db))
    job_id = int(restored.stdout.splitlines()[0])
    assert f"{other}.{target}" in restored.stdout
    in_other = server.client(db_name=other)
    assert target in in_other.list_collections()
    assert target not in server.client(db_name=db).list_collections()
    jobs = json.loads(ok(cli(server.uri, "jobs", "--json", db=other)).stdout)
    assert [(j["job_id"], j["db_name"], j["collection_name"]) for j in jobs] == [(job_id, other, target)]
    assert loaded_count(in_other, target) == ROWS


def test_uri_from_environment(server, client: MilvusClient, unique_name):
    source = unique_name("src")
    make_source(client, source)
    client.create_snapshot("from_env", source)
    proc = ok(cli(None, "list", source, env={"QUIVER_URI": server.uri}))
    assert proc.stdout.splitlines() == ["from_env"]


def test_server_errors_exit_1(server, client: MilvusClient, unique_name):
    source, snap = unique_name("src"), unique_name("snap")
    missing = unique_name("missing")

    fails(cli(server.uri, "list", missing), 1, "error (code 100)", "collection not found")
    fails(cli(server.uri, "create", missing, snap), 1, "collection not found")
    fails(cli(server.uri, "restore", missing, snap, unique_name("dst"), "--wait"), 1, "collection not found")
    fails(cli(server.uri, "jobs", "--collection", missing), 1, "collection not found")

    make_source(client, source)
    fails(cli(server.uri, "describe", source, snap), 1, "error (code 2600)", "snapshot not found")
    fails(cli(server.uri, "job", "987654321"), 1, "error (code 2100)")
    ok(cli(server.uri, "create", source, snap))
    fails(cli(server.uri, "create", source, snap), 1, "already exists")
    fails(cli(server.uri, "create", source, "bad-name"), 1, "error (code 1100)")


def test_usage_and_connection_errors_exit_2(server):
    port = free_port()  # nothing listens there
    proc = cli(f"http://127.0.0.1:{port}", "list", "c")
    fails(proc, 2, f"cannot connect to http://127.0.0.1:{port}")
    assert proc.stdout == ""

    fails(cli(server.uri, "list"), 2, "required")  # missing <collection>
    fails(cli(server.uri, "frobnicate"), 2)
    fails(cli(server.uri, "job", "not-a-number"), 2, "invalid value")
    fails(cli("ftp://127.0.0.1:1", "list", "c"), 2, "unsupported scheme")


def test_ctrl_c_while_waiting_leaves_the_restore_running(fresh_server, unique_name):
    """Ctrl-C during `restore --wait` stops the waiting, not the job: the CLI says the job
    goes on and how to follow it, exits 130 as a shell reports SIGINT, and the job
    completes. The restore (a copy: a clone takes milliseconds) is stalled after its first
    file so it is surely running."""
    fresh_server.extra_env = {"QUIVER_FAILPOINTS": "restore.after_first_copy=sleep(4000)"}
    fresh_server.restart()
    client = fresh_server.client()
    source, snap, target = unique_name("src"), unique_name("snap"), unique_name("dst")
    make_source(client, source)
    ok(cli(fresh_server.uri, "create", source, snap))
    env = {k: v for k, v in os.environ.items() if k != "QUIVER_URI"}
    proc = subprocess.Popen(
        [str(quiver_binary()), "snapshot", "--uri", fresh_server.uri, "restore", source, snap, target, "--mode", "copy", "--wait"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env,
    )
    job_id = int(proc.stdout.readline())  # printed as soon as the job exists
    deadline = time.monotonic() + 3.0  # well inside the stall
    while (state := client.get_restore_snapshot_state(job_id).state) != "RestoreSnapshotExecuting":
        assert state == "RestoreSnapshotPending" and time.monotonic() < deadline, state
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=CLI_TIMEOUT_S)
    assert proc.returncode == 130, f"exit {proc.returncode}\nstdout:\n{out}\nstderr:\n{err}"
    assert (
        f"stopped waiting; restore job {job_id} continues on the server "
        f"(follow it with: quiver snapshot job {job_id})"
    ) in err, err
    final, _ = wait_restore(client, job_id, timeout=30.0)
    assert final.state == "RestoreSnapshotCompleted", final
    assert loaded_count(client, target) == ROWS
