"""Authorization and TLS (issue 14): search latency with `[security] authorization` off and
on, and over TLS beside plaintext, on one Quiver.

One data directory, filled once (default 20,000 clustered 128-d rows, HNSW, loaded), served
in turn by four configurations, each a fresh `quiver serve` on the same data and port:
plaintext without authorization; with authorization, searching as root (the check's fast
path) and as a user whose role holds the Search grant (the full check); and one-way TLS.
Each measures --searches single-vector top-10 searches after a warm-up, one at a time. The
four run in turn --rounds times (so a noisy minute on a shared machine hits all of them),
and the report gives each configuration's median p50 over the rounds, with the range.
Certificates come from the `openssl` CLI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import (DIM, RUNS_DIR, add_common_args, free_port, header_lines, install_signal_handlers, log,
                    make_data, make_queries, percentile, row_batches, running, write_results_md)

SECTION = "## Authorization and TLS (issue 14)"
COLLECTION = "auth_bench"
USER, PASSWORD, ROLE = "bench_user", "bench-pass-1", "bench_searcher"
WARMUP = 50


def certificates(directory: Path) -> Path:
    """A self-signed certificate for localhost (cert.pem, key.pem) in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem")],
        check=True, capture_output=True,
    )
    return directory


def fill(client, rows: int) -> None:
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("category", DataType.INT64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    params = client.prepare_index_params()
    params.add_index("vector", index_type="HNSW", metric_type="L2", params={"M": 16, "efConstruction": 100})
    client.create_collection(COLLECTION, schema=schema, index_params=params)
    for batch in row_batches(make_data(rows), 5_000):
        client.insert(COLLECTION, batch)
    client.flush(COLLECTION)
    client.load_collection(COLLECTION)
    while client.describe_index(COLLECTION, "vector")["state"] != "Finished":
        time.sleep(0.1)


def search_latencies(client, searches: int) -> dict:
    queries = make_queries(searches + WARMUP).tolist()
    client.load_collection(COLLECTION)
    for q in queries[:WARMUP]:
        client.search(COLLECTION, data=[q], limit=10, search_params={"ef": 64})
    times = []
    for q in queries[WARMUP:]:
        t0 = time.perf_counter()
        hits = client.search(COLLECTION, data=[q], limit=10, search_params={"ef": 64})
        times.append((time.perf_counter() - t0) * 1000.0)
        assert len(hits[0]) == 10
    return {"p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99)}


def report(res: list[dict], args, started: dt.datetime, elapsed: float) -> str:
    out = header_lines(SECTION, "auth.py", args, started, elapsed)
    out.append(f"{args.rows:,} rows of {DIM}-d vectors, HNSW (M 16, ef 64), loaded; {args.searches:,} single-vector "
               f"top-10 searches one at a time per configuration and round, after {WARMUP} warm-up searches; each "
               f"configuration is a fresh server on the same data; {args.rounds} rounds of the four in turn.")
    out.append("")
    summary = {}
    for r in res:
        summary.setdefault(r["label"], []).append(r)
    base = statistics.median(r["p50_ms"] for r in summary[res[0]["label"]])
    out.append("| configuration | search p50 (median of rounds) | vs plaintext, no authorization | p50 per round | p99 (median) |")
    out.append("| --- | ---: | ---: | --- | ---: |")
    for label, rounds in summary.items():
        p50 = statistics.median(r["p50_ms"] for r in rounds)
        p99 = statistics.median(r["p99_ms"] for r in rounds)
        each = ", ".join(f"{r['p50_ms']:.3f}" for r in rounds)
        out.append(f"| {label} | {p50:.3f} ms | {100.0 * (p50 / base - 1.0):+.1f} % | {each} ms | {p99:.3f} ms |")
    out.append("")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(ap, "quiver")
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--searches", type=int, default=2_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    args.quiver_bin = args.quiver_bin.resolve()
    install_signal_handlers()
    started = dt.datetime.now()
    t_start = time.perf_counter()
    run_root = RUNS_DIR / started.strftime("auth-%Y%m%d-%H%M%S")
    certs = certificates(run_root / "certs")
    port = free_port()
    auth = run_root / "auth.toml"
    auth.write_text("[security]\nauthorization = true\n")
    tls = run_root / "tls.toml"
    tls.write_text(f'[security]\ntls_cert = "{certs / "cert.pem"}"\ntls_key = "{certs / "key.pem"}"\n')
    https = {"uri": f"https://localhost:{port}", "server_pem_path": str(certs / "cert.pem"), "server_name": "localhost"}
    configurations = [
        ("plaintext, no authorization", None, {}),
        ("authorization, as root", auth, {"token": "root:Milvus"}),
        ("authorization, as a user with the Search grant", auth, {"token": f"{USER}:{PASSWORD}"}),
        ("TLS (one-way), no authorization", tls, https),
    ]
    results = []
    for number, (label, config, client_kwargs) in enumerate(configurations * args.rounds):
        # Users are made with authorization on; the first configuration filled the data.
        if number == 1:
            with running("quiver", run_root / "quiver", args.quiver_bin, 3600.0, quiver_config=auth, port=port,
                         client_kwargs={"token": "root:Milvus"}) as rs:
                rs.client.create_user(USER, PASSWORD)
                rs.client.create_role(ROLE)
                rs.client.grant_role(USER, ROLE)
                for privilege in ("Search", "Load"):
                    rs.client.grant_privilege_v2(ROLE, privilege, COLLECTION, "default")
        with running("quiver", run_root / "quiver", args.quiver_bin, 3600.0, quiver_config=config, port=port,
                     client_kwargs=client_kwargs) as rs:
            if number == 0:
                log(f"  filling {args.rows:,} rows")
                fill(rs.client, args.rows)
            result = search_latencies(rs.client, args.searches)
        log(f"  {label}: p50 {result['p50_ms']:.3f} ms, p99 {result['p99_ms']:.3f} ms")
        results.append({"label": label, **result})
    (run_root / "results.json").write_text(json.dumps(results, indent=2))
    text = report(results, args, started, time.perf_counter() - t_start)
    print(text)
    if not args.no_write:
        write_results_md(SECTION, text)
        log(f"wrote section '{SECTION}' to bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
