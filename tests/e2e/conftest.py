"""End-to-end test harness: starts the real `quiver` binary and drives it with pymilvus.

The binary comes from `$QUIVER_BIN`; without it, `<target dir>/debug/quiver` is used
(`scripts/test.sh` builds it and sets `QUIVER_BIN`).

Fixtures:
  * `server`       one Quiver per test module (fresh temp data dir).
  * `client`       a `MilvusClient` on `server`, function-scoped; after each test every
                   collection (and its aliases) in every database and every non-default
                   database is dropped, so tests are independent.
  * `fresh_server` a Quiver of the test's own, for restart/crash tests.
  * `unique_name`  `unique_name("c")` -> "c_3f9a..." (valid in every Milvus name rule).
  * `raw_stub`     a raw gRPC `MilvusServiceStub` on `server`, for requests the pymilvus
                   client would refuse to send (client-side checks) and status checks.
  * `make_server`  a factory for Quivers of the test's own, optionally with a TOML config
                   (`make_server(config=data_config(gc_interval_seconds=1))`); all are
                   stopped at teardown.
  * `s3_server`    (session) a real S3-protocol server (moto_server from the venv) with an
                   empty bucket `quiver`; see `S3Endpoint`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import socket
import subprocess
import shutil
import sys
import time
import urllib.error
import urllib.request
import uuid
import warnings
from pathlib import Path
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import grpc
import pytest
from pymilvus import MilvusClient
from pymilvus.grpc_gen import milvus_pb2_grpc

REPO_ROOT = Path(__file__).resolve().parents[2]

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
# Bounded per-call time (pymilvus treats `timeout` as the overall retry budget too), so
# housekeeping never hangs on a misbehaving server.
HOUSEKEEPING_TIMEOUT_S = 15.0

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# Every server process we started, so none outlives the test run (see _reap_servers).
_LIVE_PROCS: "set[subprocess.Popen]" = set()


@atexit.register
def _reap_servers() -> None:
    for proc in list(_LIVE_PROCS):
        with contextlib.suppress(Exception):
            if proc.poll() is None:
                _kill_group(proc)
                proc.wait(timeout=STOP_TIMEOUT_S)


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the server and anything it spawned (it leads its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _default_binary() -> Path:
    target = os.environ.get("CARGO_TARGET_DIR") or str(REPO_ROOT / "target")
    return Path(target) / "debug" / "quiver"


def quiver_binary() -> Path:
    path = Path(os.environ.get("QUIVER_BIN") or _default_binary())
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"quiver binary not found or not executable at {path}; run scripts/test.sh "
            "(it builds the binary) or set QUIVER_BIN",
            pytrace=False,
        )
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class QuiverServer:
    """A `quiver serve` child process on 127.0.0.1 with its own data dir and log file.

    The ports (gRPC and metrics) are chosen once and kept across restarts, so `uri` and
    `metrics_url` stay valid. With `config`
    (TOML text) the server runs with `--config <file>`; the file is written next to the log
    and `--data-dir/--host/--port` still override what it says.
    """

    def __init__(
        self,
        binary: Path,
        data_dir: Path,
        log_path: Path,
        port: Optional[int] = None,
        config: Optional[str] = None,
    ):
        self.binary = Path(binary)
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path)
        self.port = port or free_port()
        self.metrics_port = free_port()
        self.config = config
        self.config_path: Optional[Path] = None
        if config is not None:
            self.config_path = self.log_path.parent / f"quiver-{self.port}.toml"
        self.proc: Optional[subprocess.Popen] = None
        # Extra environment for the next start (e.g. QUIVER_FAILPOINTS for fault tests).
        self.extra_env: dict[str, str] = {}
        self.starts = 0
        self._log_start_offset = 0
        self._clients: list[MilvusClient] = []

    # ---- lifecycle -------------------------------------------------------------------

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def objects_dir(self) -> Path:
        """Where the local object store keeps data files (the default storage)."""
        return self.data_dir / "objects"

    def start(self, timeout: float = START_TIMEOUT_S) -> "QuiverServer":
        assert not self.running, "server already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [str(self.binary), "serve"]
        if self.config_path is not None:
            self.config_path.parent.mkdir(parents=True, exist_ok=True)
            self.config_path.write_text(self.config or "")
            args += ["--config", str(self.config_path)]
        args += ["--data-dir", str(self.data_dir), "--host", "127.0.0.1", "--port", str(self.port)]
        args += ["--metrics-port", str(self.metrics_port)]
        self.starts += 1
        with open(self.log_path, "ab") as log:
            self._log_start_offset = log.tell()
            header = f"===== quiver start #{self.starts} port={self.port} =====\n"
            log.write(header.encode())
            log.flush()
            env = dict(os.environ)
            env.setdefault("RUST_BACKTRACE", "1")
            env.setdefault("NO_COLOR", "1")
            env.update(self.extra_env)
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
            _LIVE_PROCS.add(self.proc)
        deadline = time.monotonic() + timeout
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise RuntimeError(
                    f"quiver exited with code {rc} before listening on port {self.port}\n"
                    f"--- server log ---\n{self.log_text(current_run_only=True)}"
                )
            if _port_accepts(self.port):
                return self
            if time.monotonic() > deadline:
                self._kill_quietly()
                raise RuntimeError(
                    f"quiver did not listen on port {self.port} within {timeout:.0f} s\n"
                    f"--- server log ---\n{self.log_text(current_run_only=True)}"
                )
            time.sleep(0.05)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM, wait, and assert a clean exit (code 0). Returns the exit code."""
        self._close_clients()
        assert self.proc is not None, "server was never started"
        if self.proc.poll() is not None:
            rc = self.proc.returncode
            raise AssertionError(
                f"quiver was already dead (exit code {rc}) when asked to stop\n"
                f"--- server log ---\n{self.log_tail()}"
            )
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill_quietly()
            raise AssertionError(
                f"quiver did not exit within {timeout:.0f} s of SIGTERM\n"
                f"--- server log ---\n{self.log_tail()}"
            ) from None
        assert rc == 0, (
            f"quiver exited with code {rc} after SIGTERM (expected 0)\n"
            f"--- server log ---\n{self.log_tail()}"
        )
        return rc

    def kill(self) -> None:
        """SIGKILL (as `kill -9`) and reap."""
        self._close_clients()
        if self.proc is not None and self.proc.poll() is None:
            _kill_group(self.proc)
            self.proc.wait(timeout=STOP_TIMEOUT_S)

    def restart(self) -> "QuiverServer":
        self.stop()
        return self.start()

    def _kill_quietly(self) -> None:
        with contextlib.suppress(Exception):
            if self.proc is not None and self.proc.poll() is None:
                _kill_group(self.proc)
                self.proc.wait(timeout=STOP_TIMEOUT_S)

    # ---- clients ---------------------------------------------------------------------

    def client(self, db_name: str = "") -> MilvusClient:
        """A MilvusClient on its own (dedicated) channel, closed when the server stops.

        Use this around restarts: pymilvus pools shared channels per address, and a
        fresh channel avoids reconnect back-off after the server went away.
        """
        c = MilvusClient(uri=self.uri, db_name=db_name, dedicated=True)
        self._clients.append(c)
        return c

    def _close_clients(self) -> None:
        for c in self._clients:
            with contextlib.suppress(Exception):
                c.close()
        self._clients.clear()

    # ---- logs ------------------------------------------------------------------------

    def log_text(self, current_run_only: bool = False) -> str:
        try:
            data = self.log_path.read_bytes()
        except FileNotFoundError:
            return ""
        if current_run_only:
            data = data[self._log_start_offset :]
        return _ANSI.sub("", data.decode("utf-8", errors="replace"))

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def __repr__(self) -> str:
        return f"QuiverServer(uri={self.uri}, data_dir={self.data_dir}, running={self.running})"


# ---- housekeeping between tests ---------------------------------------------------------


def cleanup_everything(uri: str) -> list[str]:
    """Drop every alias and collection in every database, then every non-default
    database. Best effort: returns the errors met instead of raising."""
    errors: list[str] = []
    t = HOUSEKEEPING_TIMEOUT_S
    admin = MilvusClient(uri=uri, dedicated=True)
    try:
        try:
            dbs = admin.list_databases(timeout=t)
        except Exception as e:  # noqa: BLE001
            return [f"list_databases: {e!r}"]
        for db in dbs:
            dbc = MilvusClient(uri=uri, db_name=db, dedicated=True)
            try:
                try:
                    colls = dbc.list_collections(timeout=t)
                except Exception as e:  # noqa: BLE001
                    errors.append(f"[{db}] list_collections: {e!r}")
                    colls = []
                for coll in colls:
                    try:
                        aliases = dbc.list_aliases(collection_name=coll, timeout=t)["aliases"]
                    except Exception as e:  # noqa: BLE001
                        errors.append(f"[{db}] list_aliases({coll}): {e!r}")
                        aliases = []
                    for alias in aliases:
                        try:
                            dbc.drop_alias(alias, timeout=t)
                        except Exception as e:  # noqa: BLE001
                            errors.append(f"[{db}] drop_alias({alias}): {e!r}")
                    try:
                        dbc.drop_collection(coll, timeout=t)
                    except Exception as e:  # noqa: BLE001
                        errors.append(f"[{db}] drop_collection({coll}): {e!r}")
            finally:
                dbc.close()
            if db != "default":
                try:
                    admin.drop_database(db, timeout=t)
                except Exception as e:  # noqa: BLE001
                    errors.append(f"drop_database({db}): {e!r}")
    finally:
        admin.close()
    return errors


# ---- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def quiver_bin() -> Path:
    return quiver_binary()


@pytest.fixture(scope="module")
def server(quiver_bin, tmp_path_factory) -> Iterator[QuiverServer]:
    base = tmp_path_factory.mktemp("quiver-module")
    srv = QuiverServer(quiver_bin, base / "data", base / "quiver.log")
    srv.start()
    yield srv
    if srv.running:
        srv.stop()
    else:
        # Crashed and not revived: tell, but the failing test already reported it.
        warnings.warn(f"module server was not running at teardown; log tail:\n{srv.log_tail()}")


@pytest.fixture
def client(server: QuiverServer) -> Iterator[MilvusClient]:
    if not server.running:
        # An earlier test in this module crashed it (and that test failed for it).
        server.start()
    c = MilvusClient(uri=server.uri, dedicated=True)
    yield c
    with contextlib.suppress(Exception):
        c.close()
    if not server.running:
        rc = server.proc.returncode if server.proc else None
        tail = server.log_tail()
        server.start()  # revive for the rest of the module
        pytest.fail(
            f"quiver died during this test (exit code {rc})\n--- server log ---\n{tail}",
            pytrace=False,
        )
    errors = cleanup_everything(server.uri)
    if errors:
        warnings.warn("cleanup after test was incomplete: " + "; ".join(errors))


@pytest.fixture
def fresh_server(quiver_bin, tmp_path) -> Iterator[QuiverServer]:
    srv = QuiverServer(quiver_bin, tmp_path / "data", tmp_path / "quiver.log")
    srv.start()
    yield srv
    srv._close_clients()
    if srv.running:
        srv.stop()


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    def make(prefix: str = "c") -> str:
        return f"{prefix}_{uuid.uuid4().hex[:12]}"

    return make


@pytest.fixture
def raw_channel(server: QuiverServer) -> Iterator[grpc.Channel]:
    ch = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield ch
    finally:
        ch.close()


@pytest.fixture
def raw_stub(raw_channel) -> milvus_pb2_grpc.MilvusServiceStub:
    return milvus_pb2_grpc.MilvusServiceStub(raw_channel)


# ---- configured servers ------------------------------------------------------------------


def data_config(**data) -> str:
    """TOML with a `[data]` section, e.g. `data_config(gc_interval_seconds=1)`."""
    lines = ["[data]"] + [f"{k} = {int(v)}" for k, v in data.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def make_server(quiver_bin, tmp_path) -> Iterator[Callable[..., QuiverServer]]:
    """`make_server(config=None)` -> a started Quiver with its own data dir under tmp_path
    (optionally configured by TOML text). Stopped (cleanly, asserted) at teardown."""
    servers: list[QuiverServer] = []

    def make(config: Optional[str] = None) -> QuiverServer:
        base = tmp_path / f"server{len(servers)}"
        srv = QuiverServer(quiver_bin, base / "data", base / "quiver.log", config=config)
        servers.append(srv)
        return srv.start()

    yield make
    for srv in servers:
        srv._close_clients()
        if srv.running:
            srv.stop()


# ---- S3 (moto_server) ----------------------------------------------------------------------


@dataclass
class S3Endpoint:
    """A running S3-protocol server. Any access key is accepted."""

    url: str
    bucket: str = "quiver"
    access_key_id: str = "testing"
    secret_access_key: str = "testing"
    region: str = "us-east-1"

    def storage_config(self, root_path: str = "") -> str:
        """The `[storage]` TOML section pointing Quiver at this bucket."""
        text = (
            "[storage]\n"
            'kind = "s3"\n'
            f'bucket = "{self.bucket}"\n'
            f'endpoint = "{self.url}"\n'
            f'region = "{self.region}"\n'
            f'access_key_id = "{self.access_key_id}"\n'
            f'secret_access_key = "{self.secret_access_key}"\n'
        )
        if root_path:
            text += f'root_path = "{root_path}"\n'
        return text

    def with_bucket(self, bucket: str) -> "S3Endpoint":
        """The same server with another bucket, created (unsigned PUT) if missing."""
        create_bucket(self.url, bucket)
        return S3Endpoint(self.url, bucket, self.access_key_id, self.secret_access_key, self.region)

    def boto(self):
        import boto3  # installed with moto[server]

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key in the bucket under `prefix`."""
        s3 = self.boto()
        keys: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return keys


def create_bucket(url: str, bucket: str) -> None:
    """Unsigned `PUT /bucket` (moto accepts it); an existing bucket is fine."""
    req = urllib.request.Request(f"{url}/{bucket}", method="PUT", data=b"")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200, f"bucket creation answered {resp.status}"
    except urllib.error.HTTPError as e:
        if e.code != 409:  # BucketAlreadyOwnedByYou / Exists
            raise


def _moto_executable() -> Optional[str]:
    beside = Path(sys.executable).parent / "moto_server"
    if beside.is_file():
        return str(beside)
    return shutil.which("moto_server")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[S3Endpoint]:
    exe = _moto_executable()
    if exe is None:
        pytest.fail(
            "moto_server not found; install tests/e2e/requirements.txt (moto[server])",
            pytrace=False,
        )
    port = free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [exe, "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _LIVE_PROCS.add(proc)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _port_accepts(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"moto_server did not listen on {port}:\n{log_path.read_text(errors='replace')}"
                )
            time.sleep(0.1)
        endpoint = S3Endpoint(url=f"http://127.0.0.1:{port}")
        create_bucket(endpoint.url, endpoint.bucket)
        yield endpoint
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                proc.wait(timeout=STOP_TIMEOUT_S)
        _LIVE_PROCS.discard(proc)
