#!/usr/bin/env python3
"""Search benchmark (issue 5): Quiver vs Milvus 2.3.5 vs milvus-lite 3.2.2, same client and data, one run.

Data (common.make_data): N x 128-d float32 from default_rng(42), 100 unit-norm centres,
rows = centre + N(0, 0.1^2); pk INT64 0..N-1, category INT64 = pk % 10, sel INT64 = pk % 100
(for selectivity filters). Queries (common.make_queries): same centres, default_rng(43).
Per system, through the stock pymilvus 3.0.2 MilvusClient, server in its own process:

  insert    N/10k batches of 10,000 row dicts; flush
  build     create_index HNSW M=16 efConstruction=200 L2, timed from the call until pymilvus
            returns (it polls DescribeIndex every 0.5 s until Finished)
  load      load_collection
  search    20 warm-up searches, then Q sequential single-query top-10 searches at ef=64
            (QPS = Q / wall time; p50/p99 latency; recall@10 vs numpy brute force)
  filtered  F queries each with `category == 3` (10%), `sel == 7` (1%), `sel < 10` (10%),
            `sel < 50` (50%): QPS, p50, recall@10 vs brute force over the allowed rows
  memory    server process tree RSS sampled every 50 ms from ready to the end; VmHWM

Quiver's index builder uses std::thread::available_parallelism() threads (2 here) and has no
knob, so the 1-thread build is a second Quiver server started under `taskset -c 0`
(insert, flush, build, load, and the first 200 queries for its recall).

--rows 1000000: the 1M x 128 mode (Q = 200, no filtered searches unless --filtered-queries is
given), written to its own section of bench/RESULTS.md.

Run: bench/setup.sh, then bench/.venvs/client/bin/python bench/search.py [--systems quiver,milvus,lite]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from common import (DIM, N_CENTRES, RUNS_DIR, SEED, SIGMA, SYSTEM_LABEL, BenchError, add_common_args, failed_system, count_of,
                    dir_size, fmt, header_lines, install_signal_handlers, kill_all_live, log, make_data,
                    make_queries, parse_systems, percentile, ratio, row_batches, running, write_results_md)

COLL = "bench_search"
BATCH = 10_000
K = 10
EF = 64
M = 16
EF_CONSTRUCTION = 200
WARMUP = 20
ONE_CPU_QUERIES = 200

# name, expression, allowed(pk array) -> bool mask, what fraction
FILTERS = [
    ("category", "category == 3", lambda pk: pk % 10 == 3, "10%"),
    ("sel1", "sel == 7", lambda pk: pk % 100 == 7, "1%"),
    ("sel10", "sel < 10", lambda pk: pk % 100 < 10, "10%"),
    ("sel50", "sel < 50", lambda pk: pk % 100 < 50, "50%"),
]

LABEL = dict(SYSTEM_LABEL, quiver1="Quiver, taskset -c 0")


# --------------------------------------------------------------------------------------------
# ground truth


def brute_force(data: np.ndarray, queries: np.ndarray, allowed: np.ndarray | None = None, k: int = K) -> np.ndarray:
    """Exact top-k pks by L2 (float64), optionally over the allowed rows only."""
    x = data.astype(np.float64)
    idx_map = np.arange(len(x))
    if allowed is not None:
        x = x[allowed]
        idx_map = idx_map[allowed]
    xn = (x * x).sum(axis=1)
    out = np.empty((len(queries), k), dtype=np.int64)
    chunk = max(1, min(len(queries), 20_000_000 // max(len(x), 1)))
    for s in range(0, len(queries), chunk):
        q = queries[s : s + chunk].astype(np.float64)
        d = xn[None, :] - 2.0 * (q @ x.T)
        part = np.argpartition(d, k, axis=1)[:, :k]
        order = np.take_along_axis(d, part, axis=1).argsort(axis=1)
        out[s : s + chunk] = idx_map[np.take_along_axis(part, order, axis=1)]
    return out


def recall(got: list[list[int]], truth: np.ndarray) -> float:
    hits = sum(len(set(g[:K]) & set(t.tolist())) for g, t in zip(got, truth))
    return hits / (len(truth) * K)


# --------------------------------------------------------------------------------------------
# the workload


def hit_pk(h) -> int:
    try:
        return int(h["pk"])
    except (KeyError, TypeError):
        return int(h["id"])


def create_collection(client) -> None:
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("category", DataType.INT64)
    schema.add_field("sel", DataType.INT64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    if client.has_collection(COLL, timeout=30):
        client.drop_collection(COLL, timeout=60)
    client.create_collection(COLL, schema=schema, timeout=60)


def run_searches(client, queries: np.ndarray, expr: str, pk_ok=None) -> dict:
    """Sequential single-query searches; returns qps, latencies, result pks, filter violations."""
    params = {"metric_type": "L2", "params": {"ef": EF}}
    lat, got, violations, short = [], [], 0, 0
    as_lists = queries.tolist()
    t_all = time.perf_counter()
    for q in as_lists:
        t0 = time.perf_counter()
        res = client.search(COLL, data=[q], limit=K, filter=expr, search_params=params, timeout=60)
        lat.append((time.perf_counter() - t0) * 1000.0)
        pks = [hit_pk(h) for h in res[0]]
        if len(pks) < K:
            short += 1
        if pk_ok is not None:
            violations += sum(1 for p in pks if not pk_ok(np.int64(p)))
        got.append(pks)
    wall = time.perf_counter() - t_all
    return {"qps": len(as_lists) / wall, "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99),
            "mean_ms": statistics.fmean(lat), "got": got, "violations": violations, "short": short}


def run_workload(system: str, rs, data: np.ndarray, queries: np.ndarray, truth: dict, args, loads: list) -> dict:
    client, server = rs.client, rs.server
    n = len(data)
    one_cpu = system == "quiver1"
    r: dict = {"ready_s": rs.ready_s}
    create_collection(client)

    log(f"  {system}: insert {n:,} rows in batches of {BATCH:,}")
    t0 = time.perf_counter()
    inserted = 0
    for batch in row_batches(data, BATCH, extra=lambda pk: {"sel": pk % 100}):
        inserted += int(client.insert(COLL, batch, timeout=600)["insert_count"])
    r["insert_s"] = time.perf_counter() - t0
    if inserted != n:
        raise BenchError(f"insert_count total {inserted} != {n}")

    log(f"  {system}: flush")
    t0 = time.perf_counter()
    client.flush(COLL, timeout=1200)
    r["flush_s"] = time.perf_counter() - t0
    loads.append(os.getloadavg()[0])

    log(f"  {system}: create_index HNSW M={M} efConstruction={EF_CONSTRUCTION} (load avg {loads[-1]:.2f})")
    idx = client.prepare_index_params()
    idx.add_index(field_name="vector", index_type="HNSW", metric_type="L2",
                  params={"M": M, "efConstruction": EF_CONSTRUCTION})
    t0 = time.perf_counter()
    client.create_index(COLL, idx, timeout=7200)
    r["build_s"] = time.perf_counter() - t0
    r["build_load_after"] = os.getloadavg()[0]
    loads.append(r["build_load_after"])
    try:
        desc = client.describe_index(COLL, "vector", timeout=30)
        r["index_desc"] = {k: v for k, v in desc.items() if k in ("index_type", "total_rows", "indexed_rows",
                                                                   "pending_index_rows", "state", "M", "efConstruction")}
    except Exception as e:  # noqa: BLE001
        r["index_desc"] = {"error": f"{type(e).__name__}: {e}"[:200]}
    log(f"  {system}: build {r['build_s']:.2f} s, {r['index_desc']}")

    log(f"  {system}: load")
    t0 = time.perf_counter()
    client.load_collection(COLL, timeout=1200)
    r["load_s"] = time.perf_counter() - t0
    got = count_of(client.query(COLL, filter="", output_fields=["count(*)"], timeout=120))
    if got != n:
        raise BenchError(f"count(*) after load is {got}, expected {n}")

    warm = queries[-WARMUP:]
    run_searches(client, warm, "")
    nq = ONE_CPU_QUERIES if one_cpu else len(queries) - WARMUP
    qs = queries[:nq]
    loads.append(os.getloadavg()[0])
    log(f"  {system}: {nq} searches, top-{K}, ef={EF} (load avg {loads[-1]:.2f})")
    s = run_searches(client, qs, "")
    r["search"] = {k: v for k, v in s.items() if k != "got"}
    r["search"]["recall"] = recall(s["got"], truth["all"][:nq])
    r["search"]["n"] = nq
    r["search"]["recall_first_200"] = recall(s["got"][:ONE_CPU_QUERIES], truth["all"][:ONE_CPU_QUERIES])
    log(f"  {system}: {s['qps']:.0f} QPS, p50 {s['p50_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms, "
        f"recall@{K} {r['search']['recall']:.4f}")

    if not one_cpu and args.filtered_queries > 0:
        nf = min(args.filtered_queries, len(queries) - WARMUP)
        for name, expr, allowed, _what in FILTERS:
            run_searches(client, warm[:5], expr)
            s = run_searches(client, queries[:nf], expr, pk_ok=allowed)
            r[name] = {k: v for k, v in s.items() if k != "got"}
            r[name]["recall"] = recall(s["got"], truth[name][:nf])
            r[name]["n"] = nf
            log(f"  {system}: `{expr}`: {s['qps']:.0f} QPS, p50 {s['p50_ms']:.2f} ms, recall {r[name]['recall']:.4f}"
                + (f", {s['violations']} hits violating the filter" if s["violations"] else "")
                + (f", {s['short']} results with < {K} hits" if s["short"] else ""))
        loads.append(os.getloadavg()[0])

    r["peak_rss_b"] = server.work_peak_rss
    r["peak_rss_incl_startup_b"] = server.peak_rss
    r["hwm_b"], r["hwm_detail"] = server.hwm()
    r["disk_b"] = dir_size(rs.data_dir / "data") if system == "milvus" else dir_size(rs.data_dir)
    return r


def run_system(system: str, run_root: Path, data, queries, truth, args, loads: list) -> dict:
    real = "quiver" if system == "quiver1" else system
    workdir = run_root / system
    if workdir.exists():
        shutil.rmtree(workdir)
    server = None
    ok = False
    try:
        with running(real, workdir, args.quiver_bin, args.system_timeout,
                     cpus="0" if system == "quiver1" else None) as rs:
            server = rs.server
            loads.append(os.getloadavg()[0])
            r = run_workload(system, rs, data, queries, truth, args, loads)
            r["ok"] = ok = True
            return r
    except KeyboardInterrupt:
        raise
    except Exception as e:  # noqa: BLE001 - report and go on with the other systems
        return failed_system(LABEL[system], e, server)
    finally:
        if ok and not args.keep_data:
            shutil.rmtree(workdir / "data", ignore_errors=True)


# --------------------------------------------------------------------------------------------
# report


def get(r: dict | None, path: str):
    if not r or not r.get("ok"):
        return None
    cur = r
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def build_report(section: str, results: dict, systems: list[str], args, n: int, nq: int, started, elapsed, loads) -> str:
    shown = [s for s in systems if s != "quiver1"]
    q, q1 = results.get("quiver"), results.get("quiver1")
    peers = [p for p in ("milvus", "lite") if p in shown and "quiver" in shown]
    nf = min(args.filtered_queries, nq)
    rows = [
        # label, path, unit, better ("lower"/"higher"/None)
        (f"insert {n:,} rows ({n // BATCH} batches of {BATCH:,} row dicts) (info)", "insert_s", "s", "lower"),
        ("flush (info)", "flush_s", "s", "lower"),
        (f"HNSW build M={M} efC={EF_CONSTRUCTION}: create_index → Finished, all cores", "build_s", "s", "lower"),
        ("load_collection", "load_s", "s", "lower"),
        (f"search QPS, {nq:,} sequential top-{K}, ef={EF}", "search.qps", "qps", "higher"),
        ("search latency p50", "search.p50_ms", "ms", "lower"),
        ("search latency p99", "search.p99_ms", "ms", "lower"),
        (f"recall@{K} (ef={EF})", "search.recall", "recall", "higher"),
    ]
    if nf > 0:
        for name, expr, _allowed, what in FILTERS:
            rows.append((f"`{expr}` ({what} allowed): QPS, {nf} queries", f"{name}.qps", "qps", "higher"))
            rows.append((f"`{expr}`: p50", f"{name}.p50_ms", "ms", "lower"))
            rows.append((f"`{expr}`: recall@{K} vs exact over allowed rows", f"{name}.recall", "recall", "higher"))
    rows += [
        ("server peak RSS, ready → end (process tree, sampled every 50 ms)", "peak_rss_b", "MiB", "lower"),
        ("server VmHWM, summed over the process tree", "hwm_b", "MiB", "lower"),
        ("bytes on disk after the run (info)", "disk_b", "MB", "lower"),
        ("startup until first Connect answers (info)", "ready_s", "s", "lower"),
    ]
    head = "| step | " + " | ".join(LABEL[s] for s in shown) + "".join(f" | quiver/{p}" for p in peers) + " |"
    lines = [head, "| --- " * (1 + len(shown) + len(peers)) + "|"]
    for label, path, unit, _better in rows:
        cells = [fmt(get(results.get(s), path), unit) for s in shown]
        cells += [ratio(get(q, path), get(results.get(p), path)) for p in peers]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
        if path == "build_s" and "quiver" in shown and q1 is not None:
            c1 = [fmt(get(q1, "build_s"), "s") if s == "quiver" else "–" for s in shown]
            c1 += [ratio(get(q1, "build_s"), get(results.get(p), "build_s")) for p in peers]
            lines.append(f"| HNSW build, Quiver on 1 core (`taskset -c 0`: 1 build thread) | " + " | ".join(c1) + " |")
    table = "\n".join(lines)

    # targets
    tl = ["| target (issue 5) | Quiver | Milvus 2.3.5 | ratio | met? |", "| --- | --- | --- | --- | --- |"]
    mv = results.get("milvus")

    def yes(b):
        return "n/a" if b is None else ("**yes**" if b else "**NO**")

    qq, mq = get(q, "search.qps"), get(mv, "search.qps")
    tl.append(f"| QPS ≥ 1.5× Milvus | {fmt(qq, 'qps')} | {fmt(mq, 'qps')} | {ratio(qq, mq)}× | "
              f"{yes(None if qq is None or mq is None else qq >= 1.5 * mq)} |")
    rq, rm = get(q, "search.recall"), get(mv, "search.recall")
    tl.append(f"| recall@10 ≥ 0.98 at ef=64 | {fmt(rq, 'recall')} | {fmt(rm, 'recall')} | – | "
              f"{yes(None if rq is None else rq >= 0.98)} |")
    if nf > 0:
        for name, expr, _a, what in FILTERS:
            fq, fm = get(q, f"{name}.recall"), get(mv, f"{name}.recall")
            tgt = "filtered recall (`category == 3`) ≥ 0.95" if name == "category" else f"recall with `{expr}` ({what}) ≥ 0.95"
            tl.append(f"| {tgt} | {fmt(fq, 'recall')} | {fmt(fm, 'recall')} | – | {yes(None if fq is None else fq >= 0.95)} |")
    bq, bm = get(q, "build_s"), get(mv, "build_s")
    tl.append(f"| build time ≤ Milvus's (all cores) | {fmt(bq, 's')} | {fmt(bm, 's')} | {ratio(bq, bm)}× | "
              f"{yes(None if bq is None or bm is None else bq <= bm)} |")
    b1 = get(q1, "build_s")
    if b1 is not None:
        tl.append(f"| build time ≤ Milvus's, Quiver on 1 core vs Milvus on 2 (info) | {fmt(b1, 's')} | {fmt(bm, 's')} | "
                  f"{ratio(b1, bm)}× | {yes(None if bm is None else b1 <= bm)} |")
    mq_, mm_ = get(q, "peak_rss_b"), get(mv, "peak_rss_b")
    tl.append(f"| server peak RSS ≤ 0.5× Milvus | {fmt(mq_, 'MiB')} | {fmt(mm_, 'MiB')} | {ratio(mq_, mm_)}× | "
              f"{yes(None if mq_ is None or mm_ is None else mq_ <= 0.5 * mm_)} |")
    targets = "\n".join(tl)

    out = header_lines(section, "search.py", args, started, elapsed, loads)
    out.append(f"Workload: {n:,} x {DIM}-d float32, default_rng({SEED}), {N_CENTRES} unit-norm centres + N(0, {SIGMA}²); "
               "pk INT64 0..N-1, category = pk % 10, sel = pk % 100; dynamic field off. Queries: "
               f"{nq:,} (+{WARMUP} warm-up) vectors from the same centres, default_rng({SEED + 1}). Stock pymilvus 3.0.2 "
               "`MilvusClient`, server in its own process on 127.0.0.1, fresh data dir each; the client and the "
               "server share the 2 cores.")
    out.append("")
    out.append(table)
    out.append("")
    out.append("Ratio columns are Quiver's value divided by the peer's: for times, latency and memory **< 1 means Quiver "
               "is better**; for QPS and recall **> 1 means Quiver is better**.")
    out.append("")
    out.append(targets)
    out.append("")
    out.append("Notes:")
    out.append(f"- Build time is what a pymilvus user waits: `create_index` returns after pymilvus' own polling "
               "(DescribeIndex/GetIndexState every 0.5 s), so each build time is rounded up to the next poll.")
    if q1 is not None:
        extra = ""
        if get(q1, "search.recall") is not None:
            extra = f" Its recall@{K} on the first {ONE_CPU_QUERIES} queries: {get(q1, 'search.recall'):.4f}"
            if get(q, "search.recall_first_200") is not None:
                extra += f" (the all-cores build on the same queries: {get(q, 'search.recall_first_200'):.4f})"
            extra += "."
        out.append("- Quiver has no build-thread knob: its index builder uses `std::thread::available_parallelism()` "
                   "threads (2 here). The 1-thread number is a separate Quiver server run under `taskset -c 0` "
                   "(available_parallelism() honours the CPU affinity mask, so it builds with 1 thread; the whole "
                   f"server shares that one core).{extra}")
    out.append("- Milvus 2.3.5 builds with its own (knowhere) thread pool over both cores; it has no per-call thread "
               "knob either, so only its default is reported.")
    out.append(f"- Recall: hits shared with numpy's exact top-{K} (float64 L2), divided by {K} × queries; with a filter, "
               "the exact top-10 among the allowed rows only.")
    viol = [(LABEL[s], name, results[s][name]["violations"]) for s in systems for name, *_ in FILTERS
            if get(results.get(s), f"{name}.violations")]
    short = [(LABEL[s], name, results[s][name]["short"]) for s in systems for name, *_ in FILTERS
             if get(results.get(s), f"{name}.short")]
    if viol:
        out.append("- **Filter violations** (hits not matching the filter): "
                   + ", ".join(f"{a} {b}: {c}" for a, b, c in viol) + ".")
    else:
        out.append("- Every filtered hit of every system was checked against its filter: no violations.")
    if short:
        out.append("- Results with fewer than 10 hits: " + ", ".join(f"{a} {b}: {c}" for a, b, c in short) + ".")
    for s in systems:
        d = get(results.get(s), "index_desc")
        if d:
            out.append(f"- {LABEL[s]} DescribeIndex after the build: `{json.dumps(d)}`.")
    for s in systems:
        d = get(results.get(s), "hwm_detail")
        if d and len(d) > 1:
            out.append(f"- {LABEL[s]} VmHWM per process: " + ", ".join(d) + ".")
    out.append("- RSS is of the server process tree only (Milvus: the `milvus-server` Python wrapper, ~20 MB, plus the "
               "`milvus run standalone` child; milvus-lite: one Python process), from the first successful Connect to "
               "the end of the searches, so it includes the build.")
    errors = [f"- {LABEL[s]}: {results[s]['error']}" for s in systems if not results[s].get("ok")]
    if errors:
        out.append("")
        out.append("Failed systems (n/a above):")
        out.extend(errors)
    out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(ap, "quiver,milvus,lite")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=None, help="unfiltered searches (default 1000; 200 with --rows >= 1M)")
    ap.add_argument("--filtered-queries", type=int, default=None,
                    help="searches per filter (default 200; 0 with --rows >= 1M)")
    ap.add_argument("--no-quiver-1cpu", action="store_true", help="skip the 1-thread (taskset -c 0) Quiver build")
    ap.add_argument("--system-timeout", type=float, default=3600.0,
                    help="kill a system's server if its run takes longer than this many seconds")
    args = ap.parse_args()
    args.quiver_bin = args.quiver_bin.resolve()
    systems = parse_systems(ap, args)
    if args.rows < 1000 or args.rows % BATCH:
        ap.error(f"--rows must be a multiple of {BATCH}")
    big = args.rows >= 1_000_000
    nq = args.queries if args.queries is not None else (200 if big else 1000)
    if args.filtered_queries is None:
        args.filtered_queries = 0 if big else 200
    if "quiver" in systems and not args.no_quiver_1cpu:
        systems.insert(systems.index("quiver") + 1, "quiver1")
    section = "## Search (issue 5)" if args.rows == 100_000 else f"## Search at {args.rows:,} rows (issue 5)"

    install_signal_handlers()
    started = dt.datetime.now()
    t_start = time.perf_counter()
    run_root = RUNS_DIR / started.strftime("search-%Y%m%d-%H%M%S")
    run_root.mkdir(parents=True, exist_ok=True)

    log(f"generating {args.rows:,} x {DIM} clustered vectors (seed {SEED}) and {nq + WARMUP} queries")
    data = make_data(args.rows)
    queries = make_queries(nq + WARMUP)
    log("exact ground truth (numpy, float64)")
    pks = np.arange(args.rows, dtype=np.int64)
    truth = {"all": brute_force(data, queries[:nq])}
    nf = min(args.filtered_queries, nq)
    if nf > 0:
        for name, _expr, allowed, _what in FILTERS:
            truth[name] = brute_force(data, queries[:nf], allowed(pks))
    log(f"ground truth done ({time.perf_counter() - t_start:.1f} s)")

    results: dict[str, dict] = {}
    loads: list[float] = [os.getloadavg()[0]]
    try:
        for s in systems:
            results[s] = run_system(s, run_root, data, queries, truth, args, loads)
            (run_root / "results.json").write_text(json.dumps(results, indent=2))
    except KeyboardInterrupt:
        log("interrupted: killing servers")
        kill_all_live()
        return 130
    finally:
        (run_root / "results.json").write_text(json.dumps(results, indent=2))

    elapsed = time.perf_counter() - t_start
    report = build_report(section, results, systems, args, args.rows, nq, started, elapsed, loads)
    print()
    print(report)
    (run_root / "report.md").write_text(report)
    if not args.no_write:
        write_results_md(section, report)
        log(f"wrote section '{section}' to bench/RESULTS.md")
    log(f"raw results and server logs in {run_root} (total {elapsed / 60:.1f} min)")
    return 0 if all(results[s].get("ok") for s in systems) else 1


if __name__ == "__main__":
    sys.exit(main())
