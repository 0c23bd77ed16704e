"""Machinery shared by the benchmarks in bench/ (datapath.py, search.py, snapshot.py).

- the workload's data (clustered float32 vectors, seed 42) and query vectors;
- starting Quiver, Milvus 2.3.5 (PyPI `milvus`, venv bench/.venvs/milvus) and milvus-lite 3.2.2
  (venv bench/.venvs/lite) as separate processes on 127.0.0.1, each in its own session, with the
  process tree's RSS sampled every 50 ms and the whole process group killed at the end (also on
  exit, SIGINT and SIGTERM);
- page-cache eviction of given files (posix_fadvise DONTNEED) for cold-cache timings;
- the report header (command, date, commit, machine, load) and writing one `## ` section of
  bench/RESULTS.md in place.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
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
from pathlib import Path

import numpy as np
import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENVS = BENCH / ".venvs"
RUNS_DIR = BENCH / ".runs"
RESULTS_MD = BENCH / "RESULTS.md"

DIM = 128
N_CENTRES = 100
SIGMA = 0.1
SEED = 42
MILVUS_COMPONENTS = ["rootCoord", "proxy", "queryCoord", "queryNode", "indexNode", "dataCoord", "dataNode"]

SYSTEM_LABEL = {"quiver": "Quiver", "milvus": "Milvus 2.3.5", "lite": "milvus-lite 3.2.2"}
START_TIMEOUT = {"quiver": 60.0, "milvus": 300.0, "lite": 180.0}


def log(msg: str) -> None:
    print(f"[{dt.datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# data


def make_centres() -> np.ndarray:
    """The 100 unit-norm cluster centres: the first draw of default_rng(42), as make_data does."""
    rng = np.random.default_rng(SEED)
    centres = rng.standard_normal((N_CENTRES, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return centres


def make_data(n: int) -> np.ndarray:
    """n rows: a random centre + N(0, SIGMA^2) noise, all from default_rng(42)."""
    rng = np.random.default_rng(SEED)
    centres = rng.standard_normal((N_CENTRES, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    assign = rng.integers(0, N_CENTRES, size=n)
    noise = rng.normal(0.0, SIGMA, size=(n, DIM)).astype(np.float32)
    return (centres[assign] + noise).astype(np.float32)


def make_queries(nq: int) -> np.ndarray:
    """nq query vectors from the same distribution as the data (same centres), from default_rng(43)."""
    centres = make_centres()
    rng = np.random.default_rng(SEED + 1)
    assign = rng.integers(0, N_CENTRES, size=nq)
    noise = rng.normal(0.0, SIGMA, size=(nq, DIM)).astype(np.float32)
    return (centres[assign] + noise).astype(np.float32)


def row_batches(vectors: np.ndarray, batch: int, extra=None):
    """Yield lists of row dicts {pk, category, vector, **extra(pk)}, built lazily per batch.

    pk = offset of the row, category = pk % 10."""
    n = len(vectors)
    for start in range(0, n, batch):
        part = vectors[start : start + batch].tolist()
        rows = []
        for j, vec in enumerate(part):
            pk = start + j
            row = {"pk": pk, "category": pk % 10, "vector": vec}
            if extra:
                row.update(extra(pk))
            rows.append(row)
        yield rows


# --------------------------------------------------------------------------------------------
# servers


def failed_system(label: str, error: Exception, server) -> dict:
    """Logs a system's failed run (with its server's log tail unless the bench itself
    raised) and returns the result entry that records it; the other systems go on."""
    msg = f"{type(error).__name__}: {error}"
    if server is not None and not isinstance(error, BenchError):
        msg += "\n" + server.log_tail()
    log(f"ERROR {label}: {msg}")
    return {"ok": False, "error": msg.splitlines()[0][:300]}


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
            total = self.rss_now()
            self.peak_rss = max(self.peak_rss, total)
            self.work_peak_rss = max(self.work_peak_rss, total)
            self._stop_sampling.wait(0.05)

    def rss_now(self) -> int:
        """RSS of the process tree now (bytes, summed)."""
        total = 0
        for p in tree(self.proc.pid):
            try:
                total += p.memory_info().rss
                self.known_pids.add(p.pid)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return total

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


def kill_all_live() -> None:
    for s in list(LIVE):
        try:
            s.stop(grace=0)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


atexit.register(kill_all_live)


def _on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def install_signal_handlers() -> None:
    """SIGTERM/SIGINT raise KeyboardInterrupt (also when started in the background with SIGINT ignored)."""
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


def start_server(system: str, workdir: Path, data_dir: Path, port: int, quiver_bin: Path,
                 quiver_config: Path | None = None, cpus: str | None = None) -> Server:
    """Spawn a server. quiver_config: a TOML file for `quiver serve --config`; cpus: run it under
    `taskset -c CPUS` (Quiver sizes its index-build thread pool from the CPUs it may run on)."""
    if system == "quiver":
        if not quiver_bin.is_file():
            raise BenchError(f"quiver binary not found at {quiver_bin} (cargo build --release -p quiver-server)")
        # Any free metrics port: Milvus, run beside it, takes 9091.
        cmd = [str(quiver_bin), "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port),
               "--metrics-port", "0"]
        if quiver_config is not None:
            cmd += ["--config", str(quiver_config)]
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
    if cpus is not None:
        cmd = ["taskset", "-c", cpus] + cmd
    return Server(system, cmd, workdir)


def wait_ready(server: Server, port: int, timeout: float, client_kwargs: dict | None = None):
    """Wait until the port accepts TCP and a MilvusClient can connect and list collections.
    client_kwargs: MilvusClient's arguments beyond the default http:// uri (a token, an
    https:// uri with its certificates)."""
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
            client = MilvusClient(**{"uri": f"http://127.0.0.1:{port}", "timeout": 10, **(client_kwargs or {})})
            client.list_collections(timeout=10)
            return client
        except Exception as e:  # noqa: BLE001
            last_err = f"{type(e).__name__}: {e}"
            time.sleep(1.0)
    raise BenchError(f"{server.system} not ready on port {port} after {timeout:.0f} s ({last_err})\n{server.log_tail()}")


class Running:
    """A started, ready server with a connected client (see running())."""

    def __init__(self, server: Server, client, port: int, ready_s: float, data_dir: Path):
        self.server = server
        self.client = client
        self.port = port
        self.ready_s = ready_s
        self.data_dir = data_dir

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def running(system: str, workdir: Path, quiver_bin: Path, timeout: float, *,
            quiver_config: Path | None = None, cpus: str | None = None, client_kwargs: dict | None = None,
            port: int | None = None):
    """Start `system` with data dir workdir/data on a free port (or `port`), wait until it
    answers, yield a Running; always close the client and kill the server's process group on
    the way out. A watchdog kills the server after `timeout` seconds (the client calls then
    fail). client_kwargs: see wait_ready."""
    data_dir = workdir / "data"
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log(f"{SYSTEM_LABEL.get(system, system)}: starting on port {port}, data dir {data_dir} "
        f"(load avg {os.getloadavg()[0]:.2f}){' under taskset -c ' + cpus if cpus else ''}")
    server = start_server(system, workdir, data_dir, port, quiver_bin, quiver_config=quiver_config, cpus=cpus)
    client = None
    watchdog = threading.Timer(timeout, lambda: (log(f"{system}: watchdog fired after {timeout:.0f} s, killing server"),
                                                 server.stop(grace=0)))
    watchdog.daemon = True
    watchdog.start()
    try:
        client = wait_ready(server, port, START_TIMEOUT[system], client_kwargs)
        ready_s = time.perf_counter() - server.t_spawn
        server.mark_ready()
        log(f"  {system}: ready after {ready_s:.1f} s")
        yield Running(server, client, port, ready_s, data_dir)
    finally:
        watchdog.cancel()
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001
                pass
        server.stop(grace=0 if system == "milvus" else 5)


def guarded(what: str, fn, *a, server_of=None, **kw) -> dict:
    """Run fn(*a, **kw) -> dict; on an error (not KeyboardInterrupt) log it and return
    {"ok": False, "error": first line}, so the other systems go on."""
    try:
        r = fn(*a, **kw)
        r["ok"] = True
        return r
    except KeyboardInterrupt:
        raise
    except Exception as e:  # noqa: BLE001
        msg = f"{type(e).__name__}: {e}"
        log(f"ERROR {what}: {msg}")
        return {"ok": False, "error": msg.splitlines()[0][:300]}


# --------------------------------------------------------------------------------------------
# measuring


def median_ms(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times), result


def percentile(values, q: float) -> float:
    """Linear-interpolated percentile (q in 0..100), as numpy's default."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def evict_from_page_cache(paths) -> int:
    """fsync and drop the given files (or every file under given dirs) from the page cache with
    posix_fadvise(DONTNEED), so the next read comes from disk. Touches only these files."""
    count = 0
    for p in paths:
        p = Path(p)
        files = [p] if p.is_file() else [Path(r) / f for r, _d, fs in os.walk(p) for f in fs]
        for f in files:
            try:
                fd = os.open(f, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                count += 1
            finally:
                os.close(fd)
    return count


def count_of(res) -> int:
    rows = list(res)
    if len(rows) != 1 or "count(*)" not in rows[0]:
        raise BenchError(f"unexpected count(*) result: {rows!r:.300}")
    return int(rows[0]["count(*)"])


# --------------------------------------------------------------------------------------------
# report


def fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "n/a"
    if unit == "MiB":
        return f"{v / 2**20:,.0f} MiB"
    if unit == "MB":
        return f"{v / 1e6:,.0f} MB"
    if unit == "ms":
        return f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms"
    if unit == "qps":
        return f"{v:,.0f}"
    if unit == "recall":
        return f"{v:.4f}"
    if unit == "x":
        return f"{v:.2f}×"
    if unit == "int":
        return f"{v:,.0f}"
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


def add_common_args(ap, default_systems: str) -> None:
    ap.add_argument("--systems", default=default_systems, help="comma-separated subset of quiver,milvus,lite")
    ap.add_argument("--quiver-bin", type=Path, default=ROOT / "target" / "release" / "quiver")
    ap.add_argument("--quiver-commit", default=None,
                    help="commit the --quiver-bin was built from, for the report (default: this checkout's HEAD)")
    ap.add_argument("--keep-data", action="store_true", help="keep the servers' data dirs under bench/.runs/")
    ap.add_argument("--no-write", action="store_true", help="print the report but do not touch bench/RESULTS.md")


def parse_systems(ap, args, allowed=tuple(SYSTEM_LABEL)) -> list[str]:
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in allowed]
    if unknown or not systems:
        ap.error(f"unknown system(s) {unknown}; choose from {list(allowed)}")
    return systems


def command_line(script: str) -> str:
    return f"bench/.venvs/client/bin/python bench/{script}" + "".join(f" {a}" for a in sys.argv[1:])


def header_lines(section: str, script: str, args, started: dt.datetime, elapsed: float,
                 loads: list[float] | None = None) -> list[str]:
    """The section title and the lines saying how, when, on what and with which build it ran."""
    if args.quiver_commit:
        commit, dirty = args.quiver_commit[:12], ""
    else:
        commit = sh(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"])
        dirty = sh(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "--",
                    "crates", "Cargo.toml", "Cargo.lock"])
    try:
        bin_time = dt.datetime.fromtimestamp(args.quiver_bin.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")
    except OSError:
        bin_time = "?"
    cpu = sh(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).strip()
    free = sh(["free", "-g"])
    binpath = (os.path.relpath(args.quiver_bin, ROOT) if str(args.quiver_bin).startswith(str(ROOT))
               else str(args.quiver_bin))
    out = [section, ""]
    out.append(f"Measured {started.strftime('%Y-%m-%d %H:%M')} (local time), whole run {elapsed / 60:.1f} min.  ")
    out.append(f"Command: `{command_line(script)}`  ")
    out.append(f"Quiver commit `{commit}`{' with uncommitted changes under crates/' if dirty else ''}, "
               f"binary `{binpath}` built {bin_time}.  ")
    out.append(f"Peers: milvus (PyPI) {venv_version('milvus', 'milvus')}, milvus-lite {venv_version('lite', 'milvus-lite')}; "
               f"client pymilvus {venv_version('client', 'pymilvus')}, numpy {np.__version__}, Python {sys.version.split()[0]}.  ")
    load_txt = ""
    if loads:
        load_txt = (f" 1-min load average during the run (sampled at each step): {min(loads):.2f}–{max(loads):.2f} "
                    "on 2 cores (other sessions' builds share the machine).")
    out.append(f"Machine: nproc {os.cpu_count()}, {cpu}, kernel {os.uname().release}.{load_txt}")
    out.append("")
    out.append("```\n$ free -g\n" + free + "\n```")
    out.append("")
    return out


RESULTS_PREAMBLE = (
    "# Quiver benchmark results\n\n"
    "Quiver measured against its peers (Milvus 2.3.5 from the PyPI `milvus` wheel and milvus-lite 3.2.2) "
    "in one run on the same data and the same machine, through the stock pymilvus 3.0.2 client. "
    "See shared/reference/peer-numbers.md for the workload.\n\n"
)


def write_results_md(section_title: str, section: str) -> None:
    """Replace the `## section_title` section of bench/RESULTS.md (or append it)."""
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else RESULTS_PREAMBLE
    start = text.find(section_title)
    if start >= 0:
        nxt = text.find("\n## ", start + len(section_title))
        end = len(text) if nxt < 0 else nxt + 1
        text = text[:start] + section.rstrip("\n") + "\n" + ("\n" + text[end:] if nxt >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS_MD.write_text(text.rstrip("\n") + "\n")


def resident_bytes(paths) -> int | None:
    """Bytes of the given files (or files under given dirs) now in the page cache, via util-linux
    `fincore`; None when fincore is not available."""
    files = []
    for p in paths:
        p = Path(p)
        files += [p] if p.is_file() else [Path(r) / f for r, _d, fs in os.walk(p) for f in fs]
    if not files or not shutil.which("fincore"):
        return None
    total = 0
    for i in range(0, len(files), 200):
        out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES"] + [str(f) for f in files[i : i + 200]],
                             capture_output=True, text=True)
        if out.returncode != 0:
            return None
        total += sum(int(x) for x in out.stdout.split())
    return total


def fsync_probe(directory: Path, n: int = 20) -> float:
    """p50 ms of: write 1 KiB to a new file, fsync it, fsync its directory (the disk's state right now)."""
    directory.mkdir(parents=True, exist_ok=True)
    times = []
    for i in range(n):
        path = directory / f"probe-{i}"
        t0 = time.perf_counter()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, b"x" * 1024)
            os.fsync(fd)
        finally:
            os.close(fd)
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        times.append((time.perf_counter() - t0) * 1000.0)
        path.unlink()
    return statistics.median(times)
