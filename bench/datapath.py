#!/usr/bin/env python3
"""Data-path benchmark: Quiver vs Milvus 2.3.5 vs milvus-lite 3.2.2, same data, one run.

Workload (shared/reference/peer-numbers.md): N x 128-d float32 from numpy default_rng(42),
100 unit-norm cluster centres, rows = centre + N(0, 0.1^2); pk INT64 0..N-1, category INT64
= pk % 10; schema pk/category/vector, dynamic field off. Steps, all through the stock pymilvus
3.0.2 MilvusClient against a server running as a separate process on 127.0.0.1:

  insert    10 batches of N/10 row dicts (whole insert timed, client encode included)
  flush     timed
  (Milvus 2.3.5 only: FLAT index on `vector`, untimed -- it refuses to load without one)
  load      load_collection, timed
  count(*) with `category == 3`, query(`category == 3`, pk+category, limit 100) and
  unfiltered count(*): median of 20 calls each

Server memory: the server's process tree (process + children, summed) is sampled with psutil
every 50 ms from spawn to the end of the steps, and VmHWM of every process in the tree is read
from /proc at the end (summed; an upper bound when the processes peak at different times).

Each system gets a fresh data dir and a free port; servers are always killed (whole process
group). A system that fails to start, errors or returns wrong counts is reported as n/a and the
others go on. With --runs K the whole sequence is repeated K times and the table reports the
minimum of each step over the successful runs.

Run: bench/setup.sh, then bench/.venvs/client/bin/python bench/datapath.py [--runs 3]
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENVS = BENCH / ".venvs"
RUNS_DIR = BENCH / ".runs"
RESULTS_MD = BENCH / "RESULTS.md"
SECTION = "## Data path (issue 4)"

DIM = 128
N_CENTRES = 100
SIGMA = 0.1
SEED = 42
BATCHES = 10
REPEATS = 20
COLL = "bench_datapath"
MILVUS_COMPONENTS = ["rootCoord", "proxy", "queryCoord", "queryNode", "indexNode", "dataCoord", "dataNode"]

SYSTEM_LABEL = {"quiver": "Quiver", "milvus": "Milvus 2.3.5", "lite": "milvus-lite 3.2.2"}
START_TIMEOUT = {"quiver": 60.0, "milvus": 300.0, "lite": 180.0}


def log(msg: str) -> None:
    print(f"[{dt.datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------------------------
# data


def make_data(n: int) -> np.ndarray:
    rng = np.random.default_rng(SEED)
    centres = rng.standard_normal((N_CENTRES, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    assign = rng.integers(0, N_CENTRES, size=n)
    noise = rng.normal(0.0, SIGMA, size=(n, DIM)).astype(np.float32)
    return (centres[assign] + noise).astype(np.float32)


def make_batches(vectors: np.ndarray) -> list[list[dict]]:
    n = len(vectors)
    as_lists = vectors.tolist()
    rows = [{"pk": i, "category": i % 10, "vector": as_lists[i]} for i in range(n)]
    size = -(-n // BATCHES)
    return [rows[i : i + size] for i in range(0, n, size)]


# --------------------------------------------------------------------------------------------
# servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LIVE: set["Server"] = set()


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root] + root.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


class Server:
    """A server process started in its own session; stop() kills its whole process group."""

    def __init__(self, system: str, cmd: list[str], workdir: Path, env: dict | None = None):
        self.system = system
        self.cmd = cmd
        self.workdir = workdir
        self.stdout_path = workdir / f"{system}.stdout.log"
        self.stderr_path = workdir / f"{system}.stderr.log"
        full_env = dict(os.environ)
        full_env["PYTHONUNBUFFERED"] = "1"
        full_env.update(env or {})
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.t_spawn = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, stdout=self._out, stderr=self._err, stdin=subprocess.DEVNULL,
            env=full_env, cwd=workdir, start_new_session=True,
        )
        self.pgid = self.proc.pid  # start_new_session: pgid == pid
        self.known_pids: set[int] = {self.proc.pid}
        LIVE.add(self)
        self.peak_rss = 0  # since spawn
        self.work_peak_rss = 0  # since mark_ready()
        self._stop_sampling = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._stop_sampling.is_set():
            total = 0
            for p in tree(self.proc.pid):
                try:
                    total += p.memory_info().rss
                    self.known_pids.add(p.pid)
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            self.peak_rss = max(self.peak_rss, total)
            self.work_peak_rss = max(self.work_peak_rss, total)
            self._stop_sampling.wait(0.05)

    def mark_ready(self) -> None:
        self.work_peak_rss = 0

    def alive(self) -> bool:
        return self.proc.poll() is None

    def hwm(self) -> tuple[int, list[str]]:
        """Sum of VmHWM over the live process tree in bytes, and a per-process breakdown."""
        total, detail = 0, []
        for p in tree(self.proc.pid):
            try:
                text = Path(f"/proc/{p.pid}/status").read_text()
            except OSError:
                continue
            m = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
            name = re.search(r"^Name:\s+(.*)$", text, re.M)
            if m:
                total += int(m.group(1)) * 1024
                detail.append(f"{name.group(1) if name else p.pid}: {int(m.group(1)) // 1024} MiB")
        return total, detail

    def log_tail(self, lines: int = 15) -> str:
        out = []
        for path in (self.stderr_path, self.stdout_path):
            try:
                text = path.read_text(errors="replace").strip().splitlines()[-lines:]
            except OSError:
                continue
            if text:
                out.append(f"--- {path.name} (last {len(text)} lines)\n" + "\n".join(text))
        return "\n".join(out) or "(no server output)"

    def stop(self, grace: float = 5.0) -> None:
        self._stop_sampling.set()
        if self.alive():
            sig = signal.SIGKILL if grace <= 0 else signal.SIGTERM
            try:
                os.killpg(self.pgid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=max(grace, 0.1))
            except subprocess.TimeoutExpired:
                pass
        # Kill whatever is left of the group, and any descendant that left the group.
        try:
            os.killpg(self.pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid in self.known_pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log(f"warning: {self.system} pid {self.proc.pid} did not die after SIGKILL")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(psutil.pid_exists(p) and _not_zombie(p) for p in self.known_pids):
            time.sleep(0.1)
        self._out.close()
        self._err.close()
        LIVE.discard(self)


def _not_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _kill_all_live() -> None:
    for s in list(LIVE):
        try:
            s.stop(grace=0)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


atexit.register(_kill_all_live)


def _on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


class BenchError(Exception):
    pass


def start_server(system: str, workdir: Path, data_dir: Path, port: int, quiver_bin: Path) -> Server:
    if system == "quiver":
        if not quiver_bin.is_file():
            raise BenchError(f"quiver binary not found at {quiver_bin} (cargo build --release -p quiver-server)")
        cmd = [str(quiver_bin), "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)]
    elif system == "milvus":
        exe = VENVS / "milvus" / "bin" / "milvus-server"
        if not exe.exists():
            raise BenchError(f"{exe} missing: run bench/setup.sh")
        cmd = [str(exe), "--data", str(data_dir), "--proxy-port", str(port)]
        for comp in MILVUS_COMPONENTS:
            cmd += ["--extra-config", f"{comp}.ip=127.0.0.1"]
    elif system == "lite":
        exe = VENVS / "lite" / "bin" / "milvus-lite"
        if not exe.exists():
            raise BenchError(f"{exe} missing: run bench/setup.sh")
        cmd = [str(exe), "server", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)]
    else:
        raise BenchError(f"unknown system {system}")
    return Server(system, cmd, workdir)


def wait_ready(server: Server, port: int, timeout: float):
    """Wait until the port accepts TCP and a MilvusClient can connect and list collections."""
    from pymilvus import MilvusClient

    deadline = time.monotonic() + timeout
    last_err = "port not open yet"
    while time.monotonic() < deadline:
        if not server.alive():
            raise BenchError(f"{server.system} exited with code {server.proc.returncode} during startup\n{server.log_tail()}")
        if server.system == "milvus":
            # The wrapper prints its banner only after Milvus' /healthz answers OK.
            out = server.stdout_path.read_text(errors="replace") if server.stdout_path.exists() else ""
            if "timeout" in out.lower() or "already stopped" in out.lower():
                raise BenchError(f"milvus-server reported a failed start\n{server.log_tail()}")
            if "Version:" not in out:
                time.sleep(0.5)
                continue
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
        except OSError as e:
            last_err = f"connect: {e}"
            time.sleep(0.2)
            continue
        try:
            client = MilvusClient(uri=f"http://127.0.0.1:{port}", timeout=10)
            client.list_collections(timeout=10)
            return client
        except Exception as e:  # noqa: BLE001
            last_err = f"{type(e).__name__}: {e}"
            time.sleep(1.0)
    raise BenchError(f"{server.system} not ready on port {port} after {timeout:.0f} s ({last_err})\n{server.log_tail()}")


# --------------------------------------------------------------------------------------------
# the workload


def median_ms(fn, repeats: int = REPEATS) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times), result


def count_of(res) -> int:
    rows = list(res)
    if len(rows) != 1 or "count(*)" not in rows[0]:
        raise BenchError(f"unexpected count(*) result: {rows!r:.300}")
    return int(rows[0]["count(*)"])


def dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def run_workload(system: str, client, batches: list[list[dict]], n: int, server: Server, data_dir: Path) -> dict:
    from pymilvus import DataType, MilvusClient

    r: dict = {}
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("category", DataType.INT64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    if client.has_collection(COLL, timeout=30):
        client.drop_collection(COLL, timeout=60)
    client.create_collection(COLL, schema=schema, timeout=60)

    log(f"  {system}: insert {n} rows in {len(batches)} batches")
    t0 = time.perf_counter()
    inserted = 0
    for batch in batches:
        res = client.insert(COLL, batch, timeout=300)
        inserted += int(res["insert_count"])
    r["insert_s"] = time.perf_counter() - t0
    if inserted != n:
        raise BenchError(f"insert_count total {inserted} != {n}")

    log(f"  {system}: flush")
    t0 = time.perf_counter()
    client.flush(COLL, timeout=600)
    r["flush_s"] = time.perf_counter() - t0

    if system == "milvus":
        log("  milvus: FLAT index (untimed; Milvus 2.3.5 needs an index to load)")
        t0 = time.perf_counter()
        idx = client.prepare_index_params()
        idx.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
        client.create_index(COLL, idx, timeout=600)
        r["index_untimed_s"] = time.perf_counter() - t0

    log(f"  {system}: load")
    t0 = time.perf_counter()
    client.load_collection(COLL, timeout=600)
    r["load_s"] = time.perf_counter() - t0

    log(f"  {system}: count / query x{REPEATS}")
    r["count_filtered_ms"], res = median_ms(
        lambda: client.query(COLL, filter="category == 3", output_fields=["count(*)"], timeout=120))
    got = count_of(res)
    if got != n // 10:
        raise BenchError(f"count(*) with category == 3 returned {got}, expected {n // 10}")

    r["query_ms"], res = median_ms(
        lambda: client.query(COLL, filter="category == 3", output_fields=["pk", "category"], limit=100, timeout=120))
    rows = list(res)
    if len(rows) != 100:
        raise BenchError(f"query category == 3 limit 100 returned {len(rows)} rows")
    bad = [row for row in rows if row.get("category") != 3 or int(row.get("pk", -1)) % 10 != 3]
    if bad:
        raise BenchError(f"query returned {len(bad)} rows that do not match category == 3, e.g. {bad[0]!r}")

    r["count_all_ms"], res = median_ms(
        lambda: client.query(COLL, filter="", output_fields=["count(*)"], timeout=120))
    got = count_of(res)
    if got != n:
        raise BenchError(f"unfiltered count(*) returned {got}, expected {n}")

    r["peak_rss_b"] = server.work_peak_rss
    r["peak_rss_incl_startup_b"] = server.peak_rss
    r["hwm_b"], r["hwm_detail"] = server.hwm()
    # Bytes on disk: Milvus' data dir also holds its unpacked binaries, configs and logs.
    r["disk_b"] = dir_size(data_dir / "data") if system == "milvus" else dir_size(data_dir)
    return r


def run_system(system: str, run_idx: int, run_root: Path, batches, n: int, args) -> dict:
    workdir = run_root / f"run{run_idx}-{system}"
    data_dir = workdir / "data"
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    port = free_port()
    server = None
    client = None
    watchdog = None
    ok = False
    try:
        load1 = os.getloadavg()[0]
        log(f"{SYSTEM_LABEL[system]} (run {run_idx}): starting on port {port}, data dir {data_dir} (load avg {load1:.2f})")
        server = start_server(system, workdir, data_dir, port, args.quiver_bin)
        # A run that overstays its budget gets its server killed; the client calls then fail.
        watchdog = threading.Timer(args.system_timeout, lambda: (log(f"{system}: watchdog fired after "
                                   f"{args.system_timeout:.0f} s, killing server"), server.stop(grace=0)))
        watchdog.daemon = True
        watchdog.start()
        client = wait_ready(server, port, START_TIMEOUT[system])
        ready_s = time.perf_counter() - server.t_spawn
        server.mark_ready()
        log(f"  {system}: ready after {ready_s:.1f} s")
        r = run_workload(system, client, batches, n, server, data_dir)
        r["ready_s"] = ready_s
        r["loadavg_before"] = load1
        r["loadavg_after"] = os.getloadavg()[0]
        r["ok"] = ok = True
        log(f"  {system}: " + ", ".join(f"{k}={v:.3g}" for k, v in r.items() if isinstance(v, float)))
        return r
    except KeyboardInterrupt:
        raise
    except Exception as e:  # noqa: BLE001 - report and go on with the other systems
        msg = f"{type(e).__name__}: {e}"
        if server is not None and not isinstance(e, BenchError):
            msg += "\n" + server.log_tail()
        log(f"ERROR {SYSTEM_LABEL[system]} (run {run_idx}): {msg}")
        return {"ok": False, "error": msg.splitlines()[0][:300]}
    finally:
        if watchdog:
            watchdog.cancel()
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001
                pass
        if server is not None:
            server.stop(grace=0 if system == "milvus" else 5)
        if ok and not args.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)  # failed runs keep theirs (and the logs) for a post-mortem


# --------------------------------------------------------------------------------------------
# report

STEPS = [
    # key, label, unit, kind ("time" or "mem" or "info")
    ("insert_s", "insert {n} rows (10 batches of row dicts, client encode incl.)", "s", "time"),
    ("flush_s", "flush", "s", "time"),
    ("load_s", "load_collection", "s", "time"),
    ("count_filtered_ms", "count(*) `category == 3` (median of 20)", "ms", "time"),
    ("query_ms", "query `category == 3` pk+category limit 100 (median of 20)", "ms", "time"),
    ("count_all_ms", "count(*) unfiltered (median of 20)", "ms", "time"),
    ("peak_rss_b", "server peak RSS during the steps (process tree, sampled every 50 ms)", "MiB", "mem"),
    ("peak_rss_incl_startup_b", "server peak RSS including startup (same sampling)", "MiB", "mem"),
    ("hwm_b", "server VmHWM, summed over the process tree", "MiB", "mem"),
    ("ready_s", "startup until first Connect answers (info)", "s", "time"),
    ("disk_b", "bytes on disk after the run (info)", "MB", "mem"),
]


def fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "n/a"
    if unit == "MiB":
        return f"{v / 2**20:,.0f} MiB"
    if unit == "MB":
        return f"{v / 1e6:,.0f} MB"
    if unit == "ms":
        return f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms"
    return f"{v:.3f} s" if v < 1 else f"{v:.2f} s"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "n/a"
    x = a / b
    return f"{x:.3f}" if x < 0.1 else f"{x:.2f}"


def sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.rstrip()
    except Exception:  # noqa: BLE001
        return "?"


def venv_version(venv: str, dist: str) -> str:
    py = VENVS / venv / "bin" / "python"
    if not py.exists():
        return "not installed"
    return sh([str(py), "-c", f"import importlib.metadata as m; print(m.version('{dist}'))"]) or "?"


def build_report(results: dict, systems: list[str], args, n: int, started: dt.datetime, elapsed: float) -> str:
    runs = args.runs
    best: dict[str, dict[str, float | None]] = {}
    n_ok: dict[str, int] = {}
    for s in systems:
        ok = [r for r in results[s] if r.get("ok")]
        n_ok[s] = len(ok)
        best[s] = {key: (min(r[key] for r in ok) if ok else None) for key, *_ in STEPS}

    cols = [SYSTEM_LABEL[s] + (f" ({n_ok[s]}/{runs} runs ok)" if n_ok[s] != runs else "") for s in systems]
    ratio_cols = [(other, f"quiver/{'milvus' if other == 'milvus' else 'lite'}")
                  for other in ("milvus", "lite") if "quiver" in systems and other in systems]
    lines = []
    lines.append(f"| step (min of {runs} run{'s' if runs != 1 else ''}) | " + " | ".join(cols)
                 + "".join(f" | {rc}" for _, rc in ratio_cols) + " |")
    lines.append("| --- " * (1 + len(cols) + len(ratio_cols)) + "|")
    for key, label, unit, _kind in STEPS:
        row = [label.format(n=f"{n:,}")] + [fmt(best[s][key], unit) for s in systems]
        row += [ratio(best["quiver"][key], best[other][key]) for other, _ in ratio_cols]
        lines.append("| " + " | ".join(row) + " |")
    table = "\n".join(lines)

    # every run, for the spread
    spread = ["| step | " + " | ".join(SYSTEM_LABEL[s] for s in systems) + " |",
              "| --- " * (1 + len(systems)) + "|"]
    for key, label, unit, _kind in STEPS:
        cells = []
        for s in systems:
            vals = [fmt(r[key], unit) if r.get("ok") else "failed" for r in results[s]]
            cells.append(" / ".join(vals))
        spread.append(f"| {label.format(n=f'{n:,}')} | " + " | ".join(cells) + " |")
    errors = [f"- {SYSTEM_LABEL[s]} run {i + 1}: {r['error']}" for s in systems
              for i, r in enumerate(results[s]) if not r.get("ok")]
    idx_times = [r["index_untimed_s"] for r in results.get("milvus", []) if r.get("ok") and "index_untimed_s" in r]

    commit = sh(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"])
    dirty = sh(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "--", "crates", "Cargo.toml", "Cargo.lock"])
    try:
        bin_time = dt.datetime.fromtimestamp(args.quiver_bin.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")
    except OSError:
        bin_time = "?"
    cpu = sh(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).strip()
    free = sh(["free", "-g"])
    cmdline = "bench/.venvs/client/bin/python bench/datapath.py" + "".join(f" {a}" for a in sys.argv[1:])

    out = [SECTION, ""]
    out.append(f"Measured {started.strftime('%Y-%m-%d %H:%M')} (local time), whole run {elapsed / 60:.1f} min.  ")
    out.append(f"Command: `{cmdline}`  ")
    out.append(f"Quiver commit `{commit}`{' with uncommitted changes under crates/' if dirty else ''}, "
               f"binary `{os.path.relpath(args.quiver_bin, ROOT) if str(args.quiver_bin).startswith(str(ROOT)) else args.quiver_bin}` "
               f"built {bin_time}.  ")
    out.append(f"Peers: milvus (PyPI) {venv_version('milvus', 'milvus')}, milvus-lite {venv_version('lite', 'milvus-lite')}; "
               f"client pymilvus {venv_version('client', 'pymilvus')}, Python {sys.version.split()[0]}.  ")
    out.append(f"Machine: nproc {os.cpu_count()}, {cpu}, kernel {os.uname().release}.")
    out.append("")
    out.append("```\n$ free -g\n" + free + "\n```")
    out.append("")
    out.append(f"Workload: {n:,} x {DIM}-d float32, default_rng({SEED}), {N_CENTRES} unit-norm centres + N(0, {SIGMA}²); "
               "pk INT64 0..N-1, category = pk % 10; schema pk/category/vector, dynamic field off, no index "
               "(except Milvus, see below). Stock pymilvus 3.0.2 `MilvusClient`, server in its own process on "
               "127.0.0.1, fresh data dir each; the client and the server share the 2 cores.")
    out.append("")
    out.append(table)
    out.append("")
    out.append("Ratio columns are Quiver's value divided by the peer's: **< 1 means Quiver is faster** (time rows) "
               "**or uses less memory / disk** (RSS and disk rows); > 1 means Quiver is slower or bigger.")
    out.append("")
    out.append("Notes:")
    out.append("- Times are wall-clock as the pymilvus user sees them, so they include pymilvus' own polling floors: "
               "`flush` polls GetFlushState every 0.5 s and `load_collection` polls GetLoadingProgress every 0.2 s "
               "(pymilvus-wire.md), and the insert includes ~2.7 s of client-side encoding for 100k rows.")
    out.append("- Milvus 2.3.5 cannot load a collection without an index, so it gets a FLAT/L2 index after the flush, "
               "untimed" + (f" ({min(idx_times):.1f}–{max(idx_times):.1f} s)" if idx_times else "")
               + "; its load and RSS include that index. Quiver and milvus-lite load without one.")
    out.append("- RSS is of the server process tree only (Milvus: the `milvus-server` Python wrapper, ~20 MB, plus the "
               "`milvus run standalone` child; milvus-lite: one Python process). Sampling starts at spawn; the first RSS row counts "
               "only from the first successful Connect to the end of the steps, the second includes startup. "
               "VmHWM is summed per process, so for a tree it can exceed the sampled peak: Milvus's wrapper reads its "
               "whole lzma-packed binary into memory while unpacking it at startup (~250 MiB, freed before Milvus "
               "serves), which lands in the startup row and in the VmHWM sum, not in the first row.")
    for s in systems:
        ok = [r for r in results[s] if r.get("ok") and len(r.get("hwm_detail", [])) > 1]
        if ok:
            out.append(f"- {SYSTEM_LABEL[s]} VmHWM per process (last run): " + ", ".join(ok[-1]["hwm_detail"]) + ".")
    out.append("- Bytes on disk: the whole data dir for Quiver and milvus-lite; for Milvus its `data/` subdir "
               "(etcd, rocksmq WAL, binlogs, index), not its unpacked binaries and logs.")
    loads = [r[k] for s in systems for r in results[s] if r.get("ok") for k in ("loadavg_before", "loadavg_after")]
    if loads:
        out.append(f"- 1-min load average at the start/end of each system's run: {min(loads):.2f}–{max(loads):.2f} "
                   "(the machine has 2 cores; other work on it, e.g. a cargo build, makes the numbers noisier).")
    out.append("- Startup: Milvus's includes unpacking its ~200 MB of binaries into the fresh data dir.")
    if errors:
        out.append("")
        out.append("Failed runs (reported as n/a above when no run succeeded):")
        out.extend(errors)
    if runs > 1:
        out.append("")
        out.append("<details><summary>Every run (run 1 / run 2 / ...)</summary>")
        out.append("")
        out.extend(spread)
        out.append("")
        out.append("</details>")
    out.append("")
    return "\n".join(out)


def write_results_md(section: str) -> None:
    if RESULTS_MD.exists():
        text = RESULTS_MD.read_text()
    else:
        text = ("# Quiver benchmark results\n\n"
                "Quiver measured against its peers (Milvus 2.3.5 from the PyPI `milvus` wheel and milvus-lite 3.2.2) "
                "in one run on the same data and the same machine, through the stock pymilvus 3.0.2 client. "
                "See shared/reference/peer-numbers.md for the workload.\n\n"
                "To reproduce:\n\n"
                "```\n"
                "cargo build --release -j2 -p quiver-server\n"
                "bench/setup.sh                                    # venvs under bench/.venvs/ (idempotent)\n"
                "bench/.venvs/client/bin/python bench/datapath.py --runs 3\n"
                "```\n\n"
                "Options: `--systems quiver,milvus,lite`, `--rows N`, `--runs K` (min per step over K runs), "
                "`--quiver-bin PATH`. Server logs and raw JSON go to `bench/.runs/`.\n\n")
    start = text.find(SECTION)
    if start >= 0:
        nxt = text.find("\n## ", start + len(SECTION))
        end = len(text) if nxt < 0 else nxt + 1
        text = text[:start] + section.rstrip("\n") + "\n" + ("\n" + text[end:] if nxt >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS_MD.write_text(text.rstrip("\n") + "\n")


# --------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--systems", default="quiver,milvus,lite", help="comma-separated subset of quiver,milvus,lite")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=1, help="repeat the whole sequence; report the min per step")
    ap.add_argument("--quiver-bin", type=Path, default=ROOT / "target" / "release" / "quiver")
    ap.add_argument("--system-timeout", type=float, default=1200.0,
                    help="kill a system's server if its run (startup + steps) takes longer than this many seconds")
    ap.add_argument("--keep-data", action="store_true", help="keep the servers' data dirs under bench/.runs/")
    ap.add_argument("--no-write", action="store_true", help="print the table but do not touch bench/RESULTS.md")
    args = ap.parse_args()
    args.quiver_bin = args.quiver_bin.resolve()

    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in SYSTEM_LABEL]
    if unknown or not systems:
        ap.error(f"unknown system(s) {unknown}; choose from {list(SYSTEM_LABEL)}")
    if args.rows < 1000 or args.rows % (10 * BATCHES):
        ap.error(f"--rows must be >= 1000 and a multiple of {10 * BATCHES}")

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)  # also when started in the background (SIG_IGN inherited)
    started = dt.datetime.now()
    t_start = time.perf_counter()
    run_root = RUNS_DIR / started.strftime("datapath-%Y%m%d-%H%M%S")
    run_root.mkdir(parents=True, exist_ok=True)

    log(f"generating {args.rows:,} x {DIM} clustered vectors (seed {SEED})")
    batches = make_batches(make_data(args.rows))

    results: dict[str, list[dict]] = {s: [] for s in systems}
    try:
        for k in range(1, args.runs + 1):
            for s in systems:
                results[s].append(run_system(s, k, run_root, batches, args.rows, args))
    except KeyboardInterrupt:
        log("interrupted: killing servers")
        _kill_all_live()
        return 130
    finally:
        (run_root / "results.json").write_text(json.dumps(results, indent=2))

    elapsed = time.perf_counter() - t_start
    report = build_report(results, systems, args, args.rows, started, elapsed)
    print()
    print(report)
    (run_root / "report.md").write_text(report)
    if not args.no_write:
        write_results_md(report)
        log(f"wrote section '{SECTION}' to {RESULTS_MD.relative_to(ROOT)}")
    log(f"raw results and server logs in {run_root.relative_to(ROOT)} (total {elapsed / 60:.1f} min)")
    return 0 if all(any(r.get("ok") for r in results[s]) for s in systems) else 1


if __name__ == "__main__":
    sys.exit(main())
