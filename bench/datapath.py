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
import datetime as dt
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from common import (DIM, N_CENTRES, RUNS_DIR, SEED, SIGMA, SYSTEM_LABEL, BenchError, Server, failed_system, count_of,
                    dir_size, fmt, header_lines, install_signal_handlers, kill_all_live, log, make_data,
                    ratio, running, write_results_md)
from common import ROOT
from common import median_ms as _median_ms

SECTION = "## Data path (issue 4)"
BATCHES = 10
REPEATS = 20
COLL = "bench_datapath"


def median_ms(fn, repeats: int = REPEATS) -> tuple[float, object]:
    return _median_ms(fn, repeats)


# --------------------------------------------------------------------------------------------
# data


def make_batches(vectors: np.ndarray) -> list[list[dict]]:
    n = len(vectors)
    as_lists = vectors.tolist()
    rows = [{"pk": i, "category": i % 10, "vector": as_lists[i]} for i in range(n)]
    size = -(-n // BATCHES)
    return [rows[i : i + size] for i in range(0, n, size)]


# --------------------------------------------------------------------------------------------
# the workload


def encode_only_s(client, batches) -> float | None:
    """pymilvus' own client-side work for the same insert (build + serialize each InsertRequest), no server.

    Uses pymilvus internals (3.0.2); returns None if they moved."""
    try:
        from pymilvus.client.prepare import Prepare

        conn = client._get_connection()
        schema, schema_ts = conn._get_schema(COLL)
        t0 = time.perf_counter()
        for batch in batches:
            req = Prepare.row_insert_param(COLL, batch, "", schema.get("fields"),
                                           struct_fields_info=schema.get("struct_array_fields", []),
                                           schema_timestamp=schema_ts,
                                           enable_dynamic=schema.get("enable_dynamic_field", False))
            req.SerializeToString()
        return time.perf_counter() - t0
    except Exception as e:  # noqa: BLE001
        log(f"  (encode-only measurement unavailable: {type(e).__name__}: {e})")
        return None


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

    r["encode_s"] = encode_only_s(client, batches)

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
    if workdir.exists():
        shutil.rmtree(workdir)
    server: Server | None = None
    ok = False
    try:
        load1 = os.getloadavg()[0]
        log(f"{SYSTEM_LABEL[system]} (run {run_idx})")
        with running(system, workdir, args.quiver_bin, args.system_timeout) as rs:
            server = rs.server
            r = run_workload(system, rs.client, batches, n, rs.server, rs.data_dir)
            r["ready_s"] = rs.ready_s
            r["loadavg_before"] = load1
            r["loadavg_after"] = os.getloadavg()[0]
            r["ok"] = ok = True
            log(f"  {system}: " + ", ".join(f"{k}={v:.3g}" for k, v in r.items() if isinstance(v, float)))
            return r
    except KeyboardInterrupt:
        raise
    except Exception as e:  # noqa: BLE001 - report and go on with the other systems
        return failed_system(f"{SYSTEM_LABEL[system]} (run {run_idx})", e, server)
    finally:
        if ok and not args.keep_data:
            shutil.rmtree(workdir / "data", ignore_errors=True)  # failed runs keep theirs (and the logs) for a post-mortem

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
    ("hwm_b", "server VmHWM, summed over the process tree", "MiB", "mem"),
    ("encode_s", "pymilvus encode alone for the same insert, no server (info: the client floor)", "s", "time"),
    ("ready_s", "startup until first Connect answers (info)", "s", "time"),
    ("disk_b", "bytes on disk after the run (info)", "MB", "mem"),
]


def build_report(results: dict, systems: list[str], args, n: int, started: dt.datetime, elapsed: float) -> str:
    runs = args.runs
    best: dict[str, dict[str, float | None]] = {}
    n_ok: dict[str, int] = {}
    for s in systems:
        ok = [r for r in results[s] if r.get("ok")]
        n_ok[s] = len(ok)
        best[s] = {}
        for key, *_ in STEPS:
            vals = [r[key] for r in ok if r.get(key) is not None]
            best[s][key] = min(vals) if vals else None

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
            vals = [fmt(r.get(key), unit) if r.get("ok") else "failed" for r in results[s]]
            cells.append(" / ".join(vals))
        spread.append(f"| {label.format(n=f'{n:,}')} | " + " | ".join(cells) + " |")
    errors = [f"- {SYSTEM_LABEL[s]} run {i + 1}: {r['error']}" for s in systems
              for i, r in enumerate(results[s]) if not r.get("ok")]
    idx_times = [r["index_untimed_s"] for r in results.get("milvus", []) if r.get("ok") and "index_untimed_s" in r]

    out = header_lines(SECTION, "datapath.py", args, started, elapsed)
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
    out.append("- Times are wall-clock as the pymilvus user sees them: the insert includes pymilvus' row encoding "
               "(measured alone in the 'encode alone' row, same process, right after the insert), and `flush` / "
               "`load_collection` include pymilvus' polling (GetFlushState every 0.5 s, GetLoadingProgress every "
               "0.2 s, after a first immediate check; pymilvus-wire.md).")
    out.append("- Milvus 2.3.5 cannot load a collection without an index, so it gets a FLAT/L2 index after the flush, "
               "untimed" + (f" ({min(idx_times):.1f}–{max(idx_times):.1f} s)" if idx_times and max(idx_times) - min(idx_times) >= 0.05
                            else f" ({idx_times[0]:.1f} s)" if idx_times else "")
               + "; its load and RSS include that index. Quiver and milvus-lite load without one.")
    extra = [(r["peak_rss_incl_startup_b"] - r["peak_rss_b"]) / 2**20 for s in systems for r in results[s]
             if r.get("ok") and "peak_rss_incl_startup_b" in r]
    startup_note = ("; counting startup too changes no run's peak by more than "
                    f"{max(extra):.0f} MiB" if extra else "")
    out.append("- RSS is of the server process tree only (Milvus: the `milvus-server` Python wrapper, ~20 MB, plus the "
               "`milvus run standalone` child; milvus-lite: one Python process). The sampled peak counts from the first successful "
               "Connect to the end of the steps" + startup_note + ". VmHWM is summed per process, so for a tree it can exceed the sampled peak: Milvus's wrapper reads its "
               "whole lzma-packed binary into memory while unpacking it at startup (~250 MiB, freed before Milvus "
               "serves), which lands in the VmHWM sum but not in the sampled peak.")
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


# --------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--systems", default="quiver,milvus,lite", help="comma-separated subset of quiver,milvus,lite")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=1, help="repeat the whole sequence; report the min per step")
    ap.add_argument("--quiver-bin", type=Path, default=ROOT / "target" / "release" / "quiver")
    ap.add_argument("--quiver-commit", default=None,
                    help="commit the --quiver-bin was built from, for the report (default: this checkout's HEAD)")
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

    install_signal_handlers()
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
        kill_all_live()
        return 130
    finally:
        (run_root / "results.json").write_text(json.dumps(results, indent=2))

    elapsed = time.perf_counter() - t_start
    report = build_report(results, systems, args, args.rows, started, elapsed)
    print()
    print(report)
    (run_root / "report.md").write_text(report)
    if not args.no_write:
        write_results_md(SECTION, report)
        log(f"wrote section '{SECTION}' to bench/RESULTS.md")
    log(f"raw results and server logs in {run_root.relative_to(ROOT)} (total {elapsed / 60:.1f} min)")
    return 0 if all(any(r.get("ok") for r in results[s]) for s in systems) else 1


if __name__ == "__main__":
    sys.exit(main())
