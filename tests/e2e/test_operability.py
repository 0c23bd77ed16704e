"""The first failures an operator meets say what is wrong, in words: bad configuration,
a second server on one data directory, a bucket that is not there, a closed log pipe."""

from __future__ import annotations

import signal
import subprocess
import time

from pymilvus import MilvusClient

from conftest import free_port

START_S = 60


def serve(quiver_bin, data_dir, *extra, **popen):
    args = [str(quiver_bin), "serve", "--data-dir", str(data_dir), "--port", str(free_port()), "--metrics-port", "0"]
    return subprocess.Popen(args + list(extra), **popen)


def refused(quiver_bin, data_dir, *extra, env=None) -> subprocess.CompletedProcess:
    args = [str(quiver_bin), "serve", "--data-dir", str(data_dir), "--port", str(free_port()), "--metrics-port", "0"]
    return subprocess.run(args + list(extra), capture_output=True, text=True, timeout=START_S, env=env)


def test_a_log_level_that_is_not_one_is_refused(quiver_bin, tmp_path):
    import os

    done = refused(quiver_bin, tmp_path / "data", env={**os.environ, "QUIVER_LOG_LEVEL": "verbose"})
    assert done.returncode == 2, done
    assert 'invalid log_level "verbose": "verbose" is not a level' in done.stderr, done.stderr


def test_a_second_server_on_one_data_directory_says_so(make_server, quiver_bin):
    first = make_server()
    done = refused(quiver_bin, first.data_dir)
    assert done.returncode != 0
    assert "is in use by another process (is another quiver server running on this data directory?)" in done.stderr, done.stderr
    assert first.client().list_collections() is not None  # the first one is unharmed


def test_a_missing_bucket_is_named_at_startup(s3_server, quiver_bin, tmp_path):
    config = tmp_path / "quiver.toml"
    config.write_text(s3_server.storage_config().replace(f'bucket = "{s3_server.bucket}"', 'bucket = "no-such-bucket"'))
    done = refused(quiver_bin, tmp_path / "data", "--config", str(config))
    assert done.returncode != 0
    assert f'object storage (bucket "no-such-bucket" at {s3_server.url}) cannot be written: it does not exist' in done.stderr, done.stderr
    assert "quiver ready" not in done.stderr


def test_a_closed_log_pipe_does_not_crash_the_shutdown(quiver_bin, tmp_path):
    # `quiver serve 2>&1 | head -1`, then Ctrl-C: the reader is gone when shutdown logs.
    proc = serve(quiver_bin, tmp_path / "data", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert "quiver ready" in proc.stdout.readline()
        proc.stdout.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=START_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_host_may_be_a_name(quiver_bin, tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [str(quiver_bin), "serve", "--data-dir", str(tmp_path / "data"), "--host", "localhost", "--port", str(port),
         "--metrics-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert "quiver ready" in proc.stdout.readline()
        client = MilvusClient(f"http://localhost:{port}")
        assert client.list_collections() == []
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=START_S)


# ---- messages that say what happened ---------------------------------------------------------


def snapshot_cli(quiver_bin, uri: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(quiver_bin), "snapshot", "--uri", uri, *args], capture_output=True, text=True,
                          timeout=START_S, stdin=subprocess.DEVNULL)


def one_row_snapshot(server, collection: str, snapshot: str):
    """A one-row collection, flushed, with a snapshot; returns the client."""
    client = server.client()
    client.create_collection(collection, dimension=4)
    client.insert(collection, [{"id": 1, "vector": [0.5] * 4}])
    client.flush(collection)
    client.create_snapshot(snapshot, collection)
    return client


def test_dropping_a_missing_snapshot_says_nothing_was_dropped(make_server, quiver_bin):
    server = make_server()
    client = one_row_snapshot(server, "kept", "real")
    missing = snapshot_cli(quiver_bin, server.uri, "drop", "kept", "imagined")
    assert missing.returncode == 0, missing.stderr
    assert missing.stdout.strip() == "no snapshot imagined in default.kept; nothing was dropped"
    dropped = snapshot_cli(quiver_bin, server.uri, "drop", "kept", "real")
    assert dropped.stdout.strip() == "dropped snapshot real of default.kept"
    assert client.list_snapshots("kept") == []


def test_restore_errors_say_what_is_wrong(make_server):
    from pymilvus.exceptions import MilvusException

    server = make_server()
    client = server.client()
    client.create_collection("src", dimension=4)
    client.create_collection("taken", dimension=4)
    client.insert("src", [{"id": 1, "vector": [0.5] * 4}])
    client.flush("src")
    client.create_snapshot("s", "src")
    for call, code, words in [
        (lambda: client.restore_snapshot("s", "src", "taken"), 65535,
         "create duplicate collection with different parameters, collection: taken (the restore target already exists"),
        (lambda: client.describe_snapshot("gone", "src"), 2600, "collection src: snapshot not found[snapshot=gone]"),
        (lambda: client.get_restore_snapshot_state(987654321), 2100, "restore job not found: jobID=987654321 (unknown"),
    ]:
        try:
            call()
            raise AssertionError(f"expected {words!r}")
        except MilvusException as error:
            assert error.code == code and words in error.message, error
            assert "importing data failed" not in error.message


def test_inspect_given_a_data_directory_points_at_its_objects(make_server, quiver_bin):
    server = make_server()
    done = subprocess.run([str(quiver_bin), "inspect", "--root", str(server.data_dir), "snapshots"],
                          capture_output=True, text=True, timeout=START_S)
    assert done.returncode == 2
    root = server.data_dir.resolve()
    assert f"{root} is a quiver data directory; its storage root is {root / 'objects'}" in done.stderr, done.stderr


def test_inspect_counts_in_words(make_server, quiver_bin):
    server = make_server()
    client = one_row_snapshot(server, "one", "s")
    shown = subprocess.run([str(quiver_bin), "inspect", "--root", str(server.objects_dir), "show", "one", "s"],
                           capture_output=True, text=True, timeout=START_S)
    assert shown.returncode == 0, shown.stderr
    assert "1 segment, 1 row, 0 deletes" in shown.stdout, shown.stdout
