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
