"""JSON path indexes (issue 12): query latency of filters on JSON paths and dynamic keys, with
and without an index on the path, on one Quiver.

Two collections of the same rows (default 100,000), one without and one with JSON path
indexes (INVERTED on j['cat'] DOUBLE, j['name'] VARCHAR, j['tags'] ARRAY_DOUBLE and the
dynamic key `color` VARCHAR); both flushed into sealed segments and loaded. For each filter,
the median over --repeats of a `count(*)` query and of a `limit=10` query, and the counts
compared (they must be equal: an index never changes results).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time

from common import (RUNS_DIR, add_common_args, header_lines, install_signal_handlers, log, median_ms, running,
                    write_results_md)

SECTION = "## JSON path indexes (issue 12)"
PLAIN, INDEXED = "json_plain", "json_indexed"
INDEXES = [
    ("j", "j['cat']", "DOUBLE"),
    ("j", "j['name']", "VARCHAR"),
    ("j", "j['tags']", "ARRAY_DOUBLE"),
    ("color", "color", "VARCHAR"),
]
FILTERS = [
    'j["cat"] == 7',
    'j["cat"] in [1, 2, 3, 500]',
    '10 <= j["cat"] < 20',
    'j["name"] == "n7"',
    'json_contains(j["tags"], 7)',
    'color == "c3"',
]


def rows(n: int, batch: int):
    for start in range(0, n, batch):
        yield [
            {
                "pk": pk,
                "v": [float(pk % 7), 1.0, 0.5, float(pk % 3)],
                "j": {"cat": pk % 1000, "name": f"n{pk % 500}", "tags": [pk % 50, (pk * 7) % 50], "pad": "x" * 20},
                "color": f"c{pk % 20}",
            }
            for pk in range(start, min(n, start + batch))
        ]


def fill(client, name: str, n: int, indexed: bool) -> float:
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    schema.add_field("j", DataType.JSON)
    params = client.prepare_index_params()
    params.add_index("v", index_type="FLAT", metric_type="L2")
    if indexed:
        for field, path, cast in INDEXES:
            params.add_index(field, index_type="INVERTED", params={"json_path": path, "json_cast_type": cast})
    client.create_collection(name, schema=schema, index_params=params)
    for batch in rows(n, 10_000):
        client.insert(name, batch)
    client.flush(name)
    t0 = time.perf_counter()
    client.load_collection(name)
    for index in client.list_indexes(name):
        while client.describe_index(name, index)["state"] != "Finished":
            time.sleep(0.05)
    return (time.perf_counter() - t0) * 1000.0


def measure(client, name: str, expr: str, repeats: int) -> dict:
    count_ms, res = median_ms(lambda: client.query(name, filter=expr, output_fields=["count(*)"]), repeats)
    limit_ms, _ = median_ms(lambda: client.query(name, filter=expr, output_fields=["pk"], limit=10), repeats)
    return {"count_ms": count_ms, "limit_ms": limit_ms, "count": res[0]["count(*)"]}


def report(res: dict, args, started: dt.datetime, elapsed: float) -> str:
    out = header_lines(SECTION, "json_index.py", args, started, elapsed)
    out.append(f"{args.rows:,} rows, flushed and loaded; filters on JSON paths and a dynamic key; median of "
               f"{args.repeats} queries each. Load + index build of the indexed copy: {res['load_ms'][INDEXED]:.0f} ms "
               f"(unindexed copy: {res['load_ms'][PLAIN]:.0f} ms).")
    out.append("")
    out.append("| filter | rows | count(*) without / with index | speed-up | limit 10 without / with index |")
    out.append("| --- | ---: | --- | ---: | --- |")
    for f in res["filters"]:
        p, i = f[PLAIN], f[INDEXED]
        out.append(f"| `{f['expr']}` | {i['count']:,} | {p['count_ms']:.2f} ms / {i['count_ms']:.2f} ms | "
                   f"{p['count_ms'] / i['count_ms']:.1f}x | {p['limit_ms']:.2f} ms / {i['limit_ms']:.2f} ms |")
    out.append("")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(ap, "quiver")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    args.quiver_bin = args.quiver_bin.resolve()
    install_signal_handlers()
    started = dt.datetime.now()
    t_start = time.perf_counter()
    run_root = RUNS_DIR / started.strftime("json-index-%Y%m%d-%H%M%S")
    run_root.mkdir(parents=True, exist_ok=True)
    res: dict = {"load_ms": {}, "filters": []}
    with running("quiver", run_root / "quiver", args.quiver_bin, 3600.0) as rs:
        for name, indexed in [(PLAIN, False), (INDEXED, True)]:
            log(f"  {name}: inserting {args.rows:,} rows")
            res["load_ms"][name] = fill(rs.client, name, args.rows, indexed)
        for expr in FILTERS:
            row = {"expr": expr}
            for name in (PLAIN, INDEXED):
                row[name] = measure(rs.client, name, expr, args.repeats)
            if row[PLAIN]["count"] != row[INDEXED]["count"]:
                log(f"ERROR {expr}: {row[PLAIN]['count']} rows without the index, {row[INDEXED]['count']} with it")
                return 1
            log(f"  {expr}: {row[PLAIN]['count_ms']:.2f} ms -> {row[INDEXED]['count_ms']:.2f} ms")
            res["filters"].append(row)
    (run_root / "results.json").write_text(json.dumps(res, indent=2))
    text = report(res, args, started, time.perf_counter() - t_start)
    print(text)
    if not args.no_write:
        write_results_md(SECTION, text)
        log(f"wrote section '{SECTION}' to bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
