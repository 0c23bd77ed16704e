#!/usr/bin/env python3
"""Snapshot benchmark (issue 6): Quiver's snapshots vs copying files vs the Milvus 2.3.5 way without snapshots.

One Quiver server (local object storage under <data_dir>/objects; automatic compaction held off
with `[data] compaction_interval_seconds = 86400` so the small test segments stay separate),
stock pymilvus 3.0.2 MilvusClient, collections pk INT64 / category INT64 (pk % 10) /
vector FLOAT_VECTOR(128) with common.make_data's clustered vectors:

  create latency   collections of 1, 10, 100 and 1,000 segments of R rows (R = 100; each segment
                   is one insert + flush; the count is checked with list_persistent_segments),
                   plus 100 segments of 10*R rows (10x the data); HNSW index built on each (so
                   the manifests carry index files too). Per collection: 1 warm-up pair, then 20
                   pairs create_snapshot(s_i) + drop_snapshot(s_i), every name different; p50/p95.
  metadata calls   describe_snapshot, list_snapshots, get_restore_snapshot_state (of a finished
                   job): 200 calls each, p50/p95.
  restore          the 100k x 128 collection (10 x 10k inserts, flush, HNSW M=16 efC=200 L2,
                   loaded): snapshot it, then restore_snapshot into new collections, timed from
                   the RPC until get_restore_snapshot_state says Completed (polled every 10 ms);
                   the first one with the source files evicted from the page cache (cold), then
                   warm ones. Then load_collection + one search on the restored collection: time
                   until it answers; its results must equal the source's.
  cp -r            the snapshot's files (from `quiver inspect files --json`: insert_log, delta_log,
                   index_files dirs under <data_dir>/objects) copied with `cp -r` into a new dir on
                   the same disk, then `sync`; cold (files evicted with posix_fadvise DONTNEED first)
                   and warm.
  traditional      what a Milvus 2.3.5 user must do without snapshots, on a Milvus 2.3.5 server
                   holding the same collection (built, indexed, loaded, untimed): query_iterator
                   dump of every row (pk, category, vector), insert into a new collection (10k-row
                   batches), flush, create HNSW and wait, load -- timed end to end. The same path
                   on Quiver is reported for information.

Run: bench/setup.sh, then bench/.venvs/client/bin/python bench/snapshot.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from common import (DIM, RUNS_DIR, SEED, SYSTEM_LABEL, BenchError, add_common_args, count_of, dir_size,
                    evict_from_page_cache, fmt, fsync_probe, header_lines, install_signal_handlers, kill_all_live,
                    log, make_data, resident_bytes, make_queries, parse_systems, percentile, ratio, row_batches, running,
                    write_results_md)

SECTION = "## Snapshots (issue 6)"
BATCH = 10_000
M = 16
EF_CONSTRUCTION = 200
SRC = "snap_src"
SNAP = "snap_main"
QUIVER_CONFIG = """# bench/snapshot.py: keep the many small test segments apart (automatic compaction would merge them)
[data]
compaction_interval_seconds = 86400
"""
DONE = "RestoreSnapshotCompleted"
FAILED = "RestoreSnapshotFailed"


def size_txt(b: float) -> str:
    return f"{b / 1e6:,.1f} MB" if b >= 1e6 else f"{b / 1e3:,.0f} kB"


def ms_stats(values: list[float]) -> dict:
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "min": min(values), "max": max(values),
            "n": len(values)}


def timed_calls(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def schema():
    from pymilvus import DataType, MilvusClient

    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("pk", DataType.INT64, is_primary=True)
    s.add_field("category", DataType.INT64)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    return s


def hnsw(client):
    idx = client.prepare_index_params()
    idx.add_index(field_name="vector", index_type="HNSW", metric_type="L2",
                  params={"M": M, "efConstruction": EF_CONSTRUCTION})
    return idx


def search_pks(client, coll: str, queries: np.ndarray) -> list[list[int]]:
    res = client.search(coll, data=queries.tolist(), limit=10, search_params={"metric_type": "L2", "params": {"ef": 64}},
                        timeout=120)
    out = []
    for hits in res:
        row = []
        for h in hits:
            try:
                row.append(int(h["pk"]))
            except (KeyError, TypeError):
                row.append(int(h["id"]))
        out.append(row)
    return out


def segment_count(client, coll: str) -> int | None:
    try:
        return len(client.list_persistent_segments(coll, timeout=60))
    except Exception as e:  # noqa: BLE001
        log(f"  (list_persistent_segments failed: {type(e).__name__}: {e})")
        return None


def collection_id(client, coll: str) -> int:
    return int(client.describe_collection(coll, timeout=30)["collection_id"])


# --------------------------------------------------------------------------------------------
# part 1: create latency vs segment count


def segment_case(client, data_dir: Path, segments: int, rows_per_segment: int, pairs: int, vectors: np.ndarray,
                 build_index: bool) -> dict:
    from pymilvus import MilvusClient  # noqa: F401

    coll = f"segs_{segments}x{rows_per_segment}"
    r: dict = {"segments_wanted": segments, "rows_per_segment": rows_per_segment, "rows": segments * rows_per_segment}
    client.create_collection(coll, schema=schema(), timeout=60)
    log(f"  {coll}: {segments} x (insert {rows_per_segment} rows + flush)")
    t0 = time.perf_counter()
    for i in range(segments):
        base = i * rows_per_segment
        part = vectors[base : base + rows_per_segment].tolist()
        client.insert(coll, [{"pk": base + j, "category": (base + j) % 10, "vector": v} for j, v in enumerate(part)],
                      timeout=60)
        client.flush(coll, timeout=120)
    r["make_s"] = time.perf_counter() - t0
    if build_index:
        t0 = time.perf_counter()
        client.create_index(coll, hnsw(client), timeout=3600)
        r["index_s"] = time.perf_counter() - t0
    r["segments"] = segment_count(client, coll)
    if r["segments"] is not None and r["segments"] != segments:
        log(f"  WARNING {coll}: {r['segments']} segments, wanted {segments}")
    cid = collection_id(client, coll)
    r["bytes"] = dir_size(data_dir / "objects" / "insert_log" / str(cid))
    log(f"  {coll}: made in {r['make_s']:.1f} s (+ index {r.get('index_s', 0):.1f} s), {r['segments']} segments, "
        f"{r['bytes'] / 1e6:.1f} MB of insert logs; {pairs} create+drop pairs")

    client.create_snapshot("warmup", coll, timeout=120)
    client.drop_snapshot("warmup", coll, timeout=120)
    r["fsync_before_ms"] = fsync_probe(data_dir.parent / "fsync-probe")
    creates, drops = [], []
    for i in range(pairs):
        name = f"s_{i}"
        t0 = time.perf_counter()
        client.create_snapshot(name, coll, timeout=120)
        t1 = time.perf_counter()
        client.drop_snapshot(name, coll, timeout=120)
        t2 = time.perf_counter()
        creates.append((t1 - t0) * 1000.0)
        drops.append((t2 - t1) * 1000.0)
    r["create_ms"] = ms_stats(creates)
    r["drop_ms"] = ms_stats(drops)
    r["create_all_ms"] = creates
    r["fsync_after_ms"] = fsync_probe(data_dir.parent / "fsync-probe")
    log(f"  {coll}: create p50 {r['create_ms']['p50']:.2f} ms p95 {r['create_ms']['p95']:.2f} ms; "
        f"drop p50 {r['drop_ms']['p50']:.2f} ms")
    return r


# --------------------------------------------------------------------------------------------
# part 2: the 100k collection: metadata calls, restore, cp -r


def build_source(client, data: np.ndarray) -> dict:
    r = {}
    client.create_collection(SRC, schema=schema(), timeout=60)
    t0 = time.perf_counter()
    for batch in row_batches(data, BATCH):
        client.insert(SRC, batch, timeout=600)
    client.flush(SRC, timeout=600)
    r["insert_flush_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    client.create_index(SRC, hnsw(client), timeout=3600)
    r["index_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    client.load_collection(SRC, timeout=600)
    r["load_s"] = time.perf_counter() - t0
    got = count_of(client.query(SRC, filter="", output_fields=["count(*)"], timeout=120))
    if got != len(data):
        raise BenchError(f"source count(*) {got} != {len(data)}")
    return r


def snapshot_files(quiver_bin: Path, objects: Path) -> list[dict]:
    out = subprocess.run([str(quiver_bin), "inspect", "--root", str(objects), "files", SRC, SNAP, "--json"],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise BenchError(f"quiver inspect files failed ({out.returncode}): {out.stderr.strip()[:300]}")
    doc = json.loads(out.stdout)
    files = []
    for seg in doc["segments"]:
        for kind in ("insert_logs", "delete_logs", "index_files"):
            for f in seg.get(kind, []):
                files.append({"key": f["key"], "size": int(f["size"]), "kind": kind})
    return files


def copy_dirs(files: list[dict]) -> list[str]:
    """The top-level dirs holding the snapshot's files: insert_log/<cid>, delta_log/<cid>, index_files/<build>."""
    dirs = set()
    for f in files:
        parts = f["key"].split("/")
        dirs.add("/".join(parts[:2]))
    return sorted(dirs)


def cp_r(objects: Path, dirs: list[str], dest: Path, cold: bool) -> dict:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for d in dirs:
        (dest / d).parent.mkdir(parents=True, exist_ok=True)
    resident = None
    if cold:
        evict_from_page_cache([objects / d for d in dirs])
        resident = resident_bytes([objects / d for d in dirs])
    t0 = time.perf_counter()
    for d in dirs:
        subprocess.run(["cp", "-r", str(objects / d), str(dest / d)], check=True)
    t1 = time.perf_counter()
    subprocess.run(["sync"], check=True)
    t2 = time.perf_counter()
    return {"cp_s": t1 - t0, "cp_sync_s": t2 - t0, "bytes": dir_size(dest), "resident_before_b": resident}


def restore_once(client, target: str, queries: np.ndarray, expect: list[list[int]], n: int) -> dict:
    r: dict = {}
    polls, states = [], []
    t0 = time.perf_counter()
    job = client.restore_snapshot(SNAP, SRC, target, timeout=120)
    t_rpc = time.perf_counter()
    while True:
        p0 = time.perf_counter()
        st = client.get_restore_snapshot_state(job, timeout=30)
        polls.append((time.perf_counter() - p0) * 1000.0)
        states.append((st.state, st.progress))
        if st.state in (DONE, FAILED):
            break
        if time.perf_counter() - t0 > 600:
            raise BenchError(f"restore {target} not done after 600 s: {st}")
        time.sleep(0.01)
    t_done = time.perf_counter()
    if st.state != DONE:
        raise BenchError(f"restore {target} failed: {st.reason}")
    r["job_id"] = job
    r["rpc_s"] = t_rpc - t0
    r["completed_s"] = t_done - t0
    r["server_time_cost_ms"] = st.time_cost
    r["polls"] = len(polls)
    r["poll_ms"] = polls
    r["progress_seen"] = sorted({p for _s, p in states})
    progress = [p for _s, p in states]
    r["progress_monotonic"] = all(a <= b for a, b in zip(progress, progress[1:]))
    t_l = time.perf_counter()
    client.load_collection(target, timeout=600)
    t_loaded = time.perf_counter()
    got = search_pks(client, target, queries[:1])
    t_ans = time.perf_counter()
    r["load_s"] = t_loaded - t_l
    r["first_search_s"] = t_ans - t_loaded
    r["restore_load_search_s"] = t_ans - t0
    # checks, untimed
    got = search_pks(client, target, queries)
    r["same_results"] = got == expect
    r["count"] = count_of(client.query(target, filter="", output_fields=["count(*)"], timeout=120))
    if r["count"] != n:
        raise BenchError(f"restored {target} has {r['count']} rows, expected {n}")
    client.release_collection(target, timeout=120)
    return r


# --------------------------------------------------------------------------------------------
# the traditional path (no snapshots): dump, re-insert, flush, rebuild, load


def traditional(client, n: int, iterator_batch: int) -> dict:
    r: dict = {}
    target = "trad_restored"
    if client.has_collection(target, timeout=30):
        client.drop_collection(target, timeout=60)
    t0 = time.perf_counter()
    it = client.query_iterator(SRC, batch_size=iterator_batch, filter="", output_fields=["pk", "category", "vector"],
                               timeout=600)
    rows = []
    while True:
        page = it.next()
        if not page:
            it.close()
            break
        rows.extend({"pk": int(x["pk"]), "category": int(x["category"]), "vector": x["vector"]} for x in page)
    t_dump = time.perf_counter()
    if len(rows) != n or len({x["pk"] for x in rows}) != n:
        raise BenchError(f"query_iterator returned {len(rows)} rows ({len({x['pk'] for x in rows})} distinct), expected {n}")
    client.create_collection(target, schema=schema(), timeout=60)
    for s in range(0, n, BATCH):
        client.insert(target, rows[s : s + BATCH], timeout=600)
    t_ins = time.perf_counter()
    client.flush(target, timeout=600)
    t_fl = time.perf_counter()
    client.create_index(target, hnsw(client), timeout=3600)
    t_idx = time.perf_counter()
    client.load_collection(target, timeout=600)
    t_load = time.perf_counter()
    got = count_of(client.query(target, filter="", output_fields=["count(*)"], timeout=120))
    if got != n:
        raise BenchError(f"traditional restore has {got} rows, expected {n}")
    r.update(dump_s=t_dump - t0, insert_s=t_ins - t_dump, flush_s=t_fl - t_ins, index_s=t_idx - t_fl,
             load_s=t_load - t_idx, total_s=t_load - t0)
    log("  traditional path: " + ", ".join(f"{k} {v:.2f} s" for k, v in r.items()))
    return r


# --------------------------------------------------------------------------------------------


def run_quiver(args, run_root: Path, data: np.ndarray, seg_vectors: np.ndarray, queries: np.ndarray, loads: list) -> dict:
    res: dict = {"segments": [], "ok": False}
    workdir = run_root / "quiver"
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "quiver.toml"
    cfg.write_text(QUIVER_CONFIG)
    with running("quiver", workdir, args.quiver_bin, args.system_timeout, quiver_config=cfg) as rs:
        client, data_dir = rs.client, rs.data_dir
        objects = data_dir / "objects"

        # 1. create latency vs segments
        cases = [(s, args.rows_per_segment) for s in args.segments] + [(100, 10 * args.rows_per_segment)]
        for segments, rps in cases:
            loads.append(os.getloadavg()[0])
            res["segments"].append(segment_case(client, data_dir, segments, rps, args.pairs, seg_vectors,
                                                not args.no_segment_index))
            res["peak_rss_b"] = rs.server.work_peak_rss

        # 2. the 100k collection
        loads.append(os.getloadavg()[0])
        log(f"  source: {len(data):,} rows, HNSW, loaded")
        res["source"] = build_source(client, data)
        expect = search_pks(client, SRC, queries)
        # Released, so that nothing of the source is held in the server's memory during the cold steps.
        client.release_collection(SRC, timeout=120)
        t0 = time.perf_counter()
        client.create_snapshot(SNAP, SRC, description="bench", timeout=120)
        res["source"]["create_snapshot_ms"] = (time.perf_counter() - t0) * 1000.0
        files = snapshot_files(args.quiver_bin, objects)
        dirs = copy_dirs(files)
        res["files"] = {"count": len(files), "bytes": sum(f["size"] for f in files),
                        "by_kind": {k: sum(f["size"] for f in files if f["kind"] == k) for k in
                                    ("insert_logs", "delete_logs", "index_files")},
                        "dirs": dirs, "dir_bytes": sum(dir_size(objects / d) for d in dirs)}
        log(f"  snapshot: {len(files)} files, {res['files']['bytes'] / 1e6:.1f} MB in {dirs}")

        # metadata calls
        info = client.describe_snapshot(SNAP, SRC, timeout=30)
        res["s3_location"] = info.s3_location
        res["meta"] = {
            "describe_snapshot": ms_stats(timed_calls(lambda: client.describe_snapshot(SNAP, SRC, timeout=30), args.meta_calls)),
            "list_snapshots": ms_stats(timed_calls(lambda: client.list_snapshots(SRC, timeout=30), args.meta_calls)),
        }

        # cp -r baseline
        loads.append(os.getloadavg()[0])
        cpdir = workdir / "cp-baseline"
        res["cp"] = {"cold": cp_r(objects, dirs, cpdir / "cold", cold=True)}
        warm_resident = resident_bytes([objects / d for d in dirs])
        warm = [cp_r(objects, dirs, cpdir / f"warm{i}", cold=False) for i in range(3)]
        res["cp"]["warm"] = {k: sorted(w[k] for w in warm)[1] for k in ("cp_s", "cp_sync_s", "bytes")}
        res["cp"]["warm"]["resident_before_b"] = warm_resident
        shutil.rmtree(cpdir, ignore_errors=True)
        log(f"  cp -r: cold {res['cp']['cold']['cp_s']:.3f} s (+sync {res['cp']['cold']['cp_sync_s']:.3f} s), "
            f"warm {res['cp']['warm']['cp_s']:.3f} s (+sync {res['cp']['warm']['cp_sync_s']:.3f} s)")

        # restores: first cold, then warm
        res["restores"] = []
        for i in range(args.restores):
            cold = i == 0
            resident = None
            if cold:
                n_ev = evict_from_page_cache([objects])
                resident = resident_bytes([objects / d for d in dirs])
                log(f"  evicted {n_ev} files under objects/ from the page cache; "
                    f"snapshot files still resident: {'?' if resident is None else f'{resident / 1e6:.1f} MB'}")
            else:
                resident = resident_bytes([objects / d for d in dirs])
            r = restore_once(client, f"restored_{i}", queries, expect, len(data))
            r["cold"] = cold
            r["resident_before_b"] = resident
            res["restores"].append(r)
            log(f"  restore {i} ({'cold' if cold else 'warm'}): RPC {r['rpc_s'] * 1000:.1f} ms, Completed after "
                f"{r['completed_s'] * 1000:.1f} ms (server time_cost {r['server_time_cost_ms']} ms, {r['polls']} polls), "
                f"+ load {r['load_s'] * 1000:.0f} ms + first search {r['first_search_s'] * 1000:.1f} ms; "
                f"same results as source: {r['same_results']}")
        # Hard links: the source files' link count after the restores (1 + one per restore if linked).
        res["source_nlink"] = sorted({os.stat(objects / f["key"]).st_nlink for f in files})
        job = res["restores"][-1]["job_id"]
        res["meta"]["get_restore_snapshot_state"] = ms_stats(
            timed_calls(lambda: client.get_restore_snapshot_state(job, timeout=30), args.meta_calls))
        res["meta"]["get_restore_snapshot_state_during_restores"] = ms_stats(
            [p for r in res["restores"] for p in r["poll_ms"]])
        for r in res["restores"]:
            del r["poll_ms"]
        for k, v in res["meta"].items():
            log(f"  {k}: p50 {v['p50']:.2f} ms, p95 {v['p95']:.2f} ms ({v['n']} calls)")

        # the no-snapshot path on Quiver, for information
        if args.quiver_traditional:
            loads.append(os.getloadavg()[0])
            log("  Quiver: traditional path (info)")
            try:
                client.load_collection(SRC, timeout=600)  # released above for the cold steps; untimed
                res["traditional"] = traditional(client, len(data), args.iterator_batch)
            except Exception as e:  # noqa: BLE001
                log(f"  Quiver traditional path failed: {type(e).__name__}: {e}")
                res["traditional"] = {"error": f"{type(e).__name__}: {e}"[:300]}
        res["peak_rss_b"] = rs.server.work_peak_rss
        res["ok"] = True
    if not args.keep_data:
        shutil.rmtree(workdir / "data", ignore_errors=True)
    return res


def run_milvus(args, run_root: Path, data: np.ndarray, loads: list) -> dict:
    workdir = run_root / "milvus"
    with running("milvus", workdir, args.quiver_bin, args.system_timeout) as rs:
        client = rs.client
        loads.append(os.getloadavg()[0])
        log(f"  Milvus: source {len(data):,} rows, HNSW, loaded (untimed setup)")
        res = {"source": build_source(client, data)}
        loads.append(os.getloadavg()[0])
        log("  Milvus: traditional path")
        res["traditional"] = traditional(client, len(data), args.iterator_batch)
        loads.append(os.getloadavg()[0])
        res["ok"] = True
    if not args.keep_data:
        shutil.rmtree(workdir / "data", ignore_errors=True)
    return res


# --------------------------------------------------------------------------------------------
# report


def build_report(res: dict, args, n: int, started, elapsed, loads) -> str:
    q, mv = res.get("quiver", {}), res.get("milvus", {})
    out = header_lines(SECTION, "snapshot.py", args, started, elapsed, loads)
    out.append(f"Quiver with local object storage (`<data_dir>/objects` on the same disk as everything else) and "
               f"`[data] compaction_interval_seconds = 86400` (automatic compaction would merge the small test "
               f"segments). Stock pymilvus 3.0.2 `MilvusClient`; collections pk INT64 / category INT64 / "
               f"vector FLOAT_VECTOR({DIM}), clustered vectors from default_rng({SEED}).")
    out.append("")

    segs = q.get("segments", [])
    if segs:
        out.append(f"### Create latency vs segments ({args.pairs} create + drop pairs per collection, "
                   "each name different, after 1 warm-up pair)")
        out.append("")
        out.append("| collection | segments (listed) | rows | insert-log bytes | create p50 | create p95 | drop p50 | "
                   "drop p95 | create p50 ÷ 100-segment p50 | disk: 1 KiB write + fsync + dir fsync p50, before / after |")
        out.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        base = next((s for s in segs if s["segments_wanted"] == 100 and s["rows_per_segment"] == args.rows_per_segment), None)
        for s in segs:
            out.append(f"| {s['segments_wanted']} segments × {s['rows_per_segment']:,} rows | {s['segments']} | "
                       f"{s['rows']:,} | {size_txt(s['bytes'])} | "
                       f"{fmt(s['create_ms']['p50'], 'ms')} | {fmt(s['create_ms']['p95'], 'ms')} | "
                       f"{fmt(s['drop_ms']['p50'], 'ms')} | {fmt(s['drop_ms']['p95'], 'ms')} | "
                       f"{ratio(s['create_ms']['p50'], base['create_ms']['p50']) if base else 'n/a'} | "
                       f"{fmt(s.get('fsync_before_ms'), 'ms')} / {fmt(s.get('fsync_after_ms'), 'ms')} |")
        out.append("")
        big = next((s for s in segs if s["segments_wanted"] == 100 and s["rows_per_segment"] == 10 * args.rows_per_segment), None)
        if base:
            p50 = base["create_ms"]["p50"]
            out.append(f"- Target: create p50 < 20 ms at 100 segments: **{p50:.2f} ms — {'met' if p50 < 20 else 'MISSED'}**.")
        if base and big:
            x = big["create_ms"]["p50"] / base["create_ms"]["p50"]
            out.append(f"- Independent of data size: 100 segments with 10× the rows per segment "
                       f"({big['bytes'] / 1e6:.1f} MB vs {base['bytes'] / 1e6:.1f} MB of insert logs) create in "
                       f"{big['create_ms']['p50']:.2f} ms vs {base['create_ms']['p50']:.2f} ms p50 (×{x:.2f}).")
        made = ", ".join(f"{s['segments_wanted']}×{s['rows_per_segment']}: {s['make_s']:.1f} s"
                         + (f" + index {s['index_s']:.1f} s" if "index_s" in s else "") for s in segs)
        out.append(f"- Each segment is one insert + flush; HNSW (M={M}, efConstruction={EF_CONSTRUCTION}) built on every "
                   f"segment{' (disabled: --no-segment-index)' if args.no_segment_index else ''}, so each manifest lists "
                   f"insert logs and index files. Time to make them (untimed for the table): {made}.")
        out.append("")

    meta = q.get("meta")
    if meta:
        out.append(f"### Metadata calls ({args.meta_calls} sequential calls each, on the {n:,}-row collection's snapshot)")
        out.append("")
        out.append("| call | p50 | p95 | max | target p50 < 5 ms |")
        out.append("| --- | --- | --- | --- | --- |")
        labels = {"describe_snapshot": "describe_snapshot",
                  "list_snapshots": "list_snapshots(collection)",
                  "get_restore_snapshot_state": "get_restore_snapshot_state (finished job)",
                  "get_restore_snapshot_state_during_restores": "get_restore_snapshot_state while restores ran (every 10 ms poll, info)"}
        for k, label in labels.items():
            if k in meta:
                v = meta[k]
                out.append(f"| {label} | {fmt(v['p50'], 'ms')} | {fmt(v['p95'], 'ms')} | {fmt(v['max'], 'ms')} | "
                           f"{'met' if v['p50'] < 5 else '**MISSED**'} |")
        out.append("")

    restores = q.get("restores", [])
    if restores:
        files = q["files"]
        cold = next((r for r in restores if r["cold"]), None)
        warm = [r for r in restores if not r["cold"]]

        def med(key):
            vals = sorted(r[key] for r in warm)
            return vals[len(vals) // 2] if vals else None

        w_done, w_all = med("completed_s"), med("restore_load_search_s")
        c_done = cold["completed_s"] if cold else None
        c_all = cold["restore_load_search_s"] if cold else None
        cp = q["cp"]
        trad = mv.get("traditional", {}) if mv.get("ok") else {}
        qtrad = q.get("traditional", {})
        out.append(f"### Restore of the {n:,} × {DIM}-d collection with its HNSW index")
        out.append("")
        out.append(f"The snapshot references {files['count']} files, {files['bytes'] / 1e6:.1f} MB "
                   f"(insert logs {files['by_kind']['insert_logs'] / 1e6:.1f} MB, delete logs "
                   f"{files['by_kind']['delete_logs'] / 1e6:.1f} MB, index files {files['by_kind']['index_files'] / 1e6:.1f} MB); "
                   f"`cp -r` copies the dirs {', '.join(f'`objects/{d}`' for d in files['dirs'])} "
                   f"({files['dir_bytes'] / 1e6:.1f} MB). Cold = the files evicted from the page cache first "
                   f"(posix_fadvise DONTNEED); warm = median of {len(warm)} (restores) / 3 (cp).")
        out.append("")
        out.append("| path | cold | warm | Quiver restore ÷ this (cold / warm) | target |")
        out.append("| --- | --- | --- | --- | --- |")
        out.append(f"| **Quiver restore_snapshot → Completed** (RPC until GetRestoreSnapshotState says Completed, polled every 10 ms) "
                   f"| {fmt(c_done, 's')} | {fmt(w_done, 's')} | – | – |")
        out.append(f"| Quiver restore → Completed → load_collection → first search answered (info) | {fmt(c_all, 's')} | "
                   f"{fmt(w_all, 's')} | – | – |")
        out.append(f"| `cp -r` of the snapshot's files | {fmt(cp['cold']['cp_s'], 's')} | {fmt(cp['warm']['cp_s'], 's')} | "
                   f"{ratio(c_done, cp['cold']['cp_s'])} / {ratio(w_done, cp['warm']['cp_s'])} | – |")
        cs, ws = ratio(c_done, cp['cold']['cp_sync_s']), ratio(w_done, cp['warm']['cp_sync_s'])
        ok = (c_done is not None and c_done <= 1.25 * cp['cold']['cp_sync_s']
              and (w_done is None or w_done <= 1.25 * cp['warm']['cp_sync_s']))
        out.append(f"| `cp -r` + `sync` | {fmt(cp['cold']['cp_sync_s'], 's')} | {fmt(cp['warm']['cp_sync_s'], 's')} | "
                   f"{cs} / {ws} | ≤ 1.25: **{'met' if ok else 'MISSED'}** |")
        if trad:
            t = trad["total_s"]
            x1 = t / w_done if w_done else None
            x2 = t / w_all if w_all else None
            out.append(f"| Milvus 2.3.5 without snapshots: query_iterator dump + insert + flush + HNSW + load "
                       f"| – | {fmt(t, 's')} | Milvus ÷ Quiver: {x1:.0f}× (to Completed), {x2:.0f}× (to a search answered) | "
                       f"≥ 50×: **{'met' if x1 and x1 >= 50 else 'MISSED'}** |")
        elif "milvus" in res:
            out.append(f"| Milvus 2.3.5 without snapshots | failed: {mv.get('error', '?')} | | | |")
        if qtrad and "total_s" in qtrad:
            out.append(f"| Quiver without snapshots, same path (info) | – | {fmt(qtrad['total_s'], 's')} | "
                       f"{qtrad['total_s'] / w_done:.0f}× (to Completed) | – |")
        out.append("")
        if trad or (qtrad and "total_s" in qtrad):
            out.append("| traditional path step | Milvus 2.3.5 | Quiver (info) |")
            out.append("| --- | --- | --- |")
            for k, label in [("dump_s", f"query_iterator dump (batch_size {args.iterator_batch}, pk+category+vector)"),
                             ("insert_s", f"insert into a new collection ({BATCH:,}-row batches)"), ("flush_s", "flush"),
                             ("index_s", "create_index HNSW + wait"), ("load_s", "load_collection"),
                             ("total_s", "**total**")]:
                out.append(f"| {label} | {fmt(trad.get(k), 's')} | {fmt(qtrad.get(k), 's')} |")
            out.append("")
        out.append("Notes:")
        out.append("- Every restore: " + "; ".join(
            f"{'cold' if r_['cold'] else 'warm'} {r_['completed_s'] * 1000:.0f} ms (RPC {r_['rpc_s'] * 1000:.1f} ms, "
            f"server time_cost {r_['server_time_cost_ms']} ms, load {r_['load_s'] * 1000:.0f} ms, "
            f"first search {r_['first_search_s'] * 1000:.1f} ms)" for r_ in restores) + ".")
        same = all(r_["same_results"] for r_ in restores)
        mono = all(r_["progress_monotonic"] for r_ in restores)
        out.append(f"- Every restored collection had {n:,} rows; its top-10 results for 20 queries were "
                   f"{'identical to' if same else '**different from**'} the source's; the progress values seen were "
                   f"{'monotonic' if mono else '**not monotonic**'} ({sorted({p for r_ in restores for p in r_['progress_seen']})}).")
        def mb(b):
            return "?" if b is None else f"{b / 1e6:.1f} MB"
        out.append(f"- Page-cache residency of the snapshot's {files['bytes'] / 1e6:.1f} MB just before each timing "
                   f"(util-linux fincore): cold cp {mb(cp['cold'].get('resident_before_b'))}, warm cp "
                   f"{mb(cp['warm'].get('resident_before_b'))}; restores "
                   + ", ".join(f"{'cold' if r_['cold'] else 'warm'} {mb(r_.get('resident_before_b'))}" for r_ in restores)
                   + ". This is a VM: a 'cold' read still may come from the host's cache, so cold times are a lower bound "
                   "for a real cold disk.")
        out.append("- Quiver restores by hard-linking the files on local storage (link count of the snapshot's files after "
                   f"the {len(restores)} restores: {q.get('source_nlink')}) and then re-reading each one to check "
                   "its size and CRC-32C, so the cold restore reads the collection's bytes from disk while `cp -r` "
                   "reads and writes them. `sync` flushes the whole filesystem (other sessions' writes included).")
        out.append("- The load_collection of a restored collection includes pymilvus' polling of GetLoadingProgress; "
                   "no index is rebuilt (the restored index files are loaded).")
        if trad:
            out.append("- The traditional path is timed from the first query_iterator call to load_collection returning "
                       "on the new collection; the source collection (same data, HNSW, loaded) was built untimed.")
        out.append(f"- Source snapshot create (one call, 1 segment): {q['source']['create_snapshot_ms']:.1f} ms. "
                   f"s3_location: `{q.get('s3_location', '')}`.")
        out.append(f"- Quiver server peak RSS over the whole run: {fmt(q.get('peak_rss_b'), 'MiB')}.")
    errs = [f"- {k}: {v.get('error')}" for k, v in res.items() if not v.get("ok")]
    if errs:
        out.append("")
        out.append("Failed parts:")
        out.extend(errs)
    out.append("")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(ap, "quiver,milvus")
    ap.add_argument("--rows", type=int, default=100_000, help="rows of the restore collection")
    ap.add_argument("--segments", default="1,10,100,1000", help="segment counts for the create-latency collections")
    ap.add_argument("--rows-per-segment", type=int, default=100)
    ap.add_argument("--pairs", type=int, default=20, help="create+drop pairs per collection")
    ap.add_argument("--meta-calls", type=int, default=200)
    ap.add_argument("--restores", type=int, default=6, help="restores of the 100k collection (the first cold)")
    ap.add_argument("--iterator-batch", type=int, default=10_000, help="query_iterator batch_size of the traditional path")
    ap.add_argument("--no-segment-index", action="store_true", help="do not build HNSW on the segment-count collections")
    ap.add_argument("--no-quiver-traditional", dest="quiver_traditional", action="store_false",
                    help="skip the no-snapshot path on Quiver (info row)")
    ap.add_argument("--system-timeout", type=float, default=3600.0)
    args = ap.parse_args()
    args.quiver_bin = args.quiver_bin.resolve()
    args.segments = [int(x) for x in args.segments.split(",") if x.strip()]
    systems = parse_systems(ap, args, ("quiver", "milvus"))
    if "quiver" not in systems:
        ap.error("quiver is required")

    install_signal_handlers()
    started = dt.datetime.now()
    t_start = time.perf_counter()
    run_root = RUNS_DIR / started.strftime("snapshot-%Y%m%d-%H%M%S")
    run_root.mkdir(parents=True, exist_ok=True)
    seg_rows = max(max(args.segments) * args.rows_per_segment, 100 * 10 * args.rows_per_segment)
    log(f"generating {args.rows:,} + {seg_rows:,} x {DIM} clustered vectors")
    data = make_data(args.rows)
    seg_vectors = make_data(seg_rows)
    queries = make_queries(20)
    loads: list[float] = [os.getloadavg()[0]]
    res: dict = {}
    try:
        for s in systems:
            try:
                if s == "quiver":
                    res[s] = run_quiver(args, run_root, data, seg_vectors, queries, loads)
                else:
                    res[s] = run_milvus(args, run_root, data, loads)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # noqa: BLE001
                log(f"ERROR {SYSTEM_LABEL[s]}: {type(e).__name__}: {e}")
                res[s] = {"ok": False, "error": f"{type(e).__name__}: {e}".splitlines()[0][:300]}
            (run_root / "results.json").write_text(json.dumps(res, indent=2))
    except KeyboardInterrupt:
        log("interrupted: killing servers")
        kill_all_live()
        return 130
    finally:
        (run_root / "results.json").write_text(json.dumps(res, indent=2))

    elapsed = time.perf_counter() - t_start
    report = build_report(res, args, args.rows, started, elapsed, loads)
    print()
    print(report)
    (run_root / "report.md").write_text(report)
    if not args.no_write:
        write_results_md(SECTION, report)
        log(f"wrote section '{SECTION}' to bench/RESULTS.md")
    log(f"raw results and server logs in {run_root} (total {elapsed / 60:.1f} min)")
    return 0 if all(v.get("ok") for v in res.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
