"""`quiver inspect` and the offline recipes (docs/offline-processing.md) read a snapshot
straight from object storage, with no server, and see exactly the rows `query` returns
on the restored collection.

The module builds one snapshot with every kind of file: several segments (a flush per
batch), an upsert whose delete lands in an older segment's delete log, deletes flushed
into delete logs of three segments, an HNSW index, and rows, deletes and upserts made
after the snapshot (which must not show). Then each reader is compared with the
restored collection's `query`: `inspect export` (JSON lines, Parquet per segment and in
one file), the pyarrow/fastavro recipe (tests/e2e/offline_recipe.py) and DuckDB.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from pymilvus import DataType, MilvusClient

import offline_recipe

DIM = 4
SNAPSHOT = "snap"
RESTORED_SUFFIX = "_restored"
# Ids the snapshot holds: 0..149 less the deleted ones; 10..14 upserted (generation v2).
DELETED = set(range(20, 30)) | set(range(70, 75)) | {125}
UPSERTED = set(range(10, 15))


def vec(i: int, gen: int = 0) -> list:
    """Distinct per id and exact in float32 (multiples of 1/8)."""
    return [i / 8.0] + [float((i * (k + 3) + gen * 7) % 17) / 8.0 for k in range(DIM - 1)]


def make_row(i: int, gen: str = "v1") -> dict:
    g = {"v1": 0, "v2": 1, "v3": 2}[gen]
    row = {
        "id": i,
        "vector": vec(i, g),
        "title": f"{gen}-{i}",
        "n": i * 3 + g,
        "score": i / 4.0,
        "ratio": (i % 8) / 8.0,
        "flag": i % 2 == 0,
        "info": {"i": i, "gen": gen, "nested": {"odd": i % 2 == 1}},
        "tags": list(range(i, i + i % 4)),
        "note": None if i % 5 == 0 else f"note {i}",
    }
    if i % 4 == 0:
        row["color"] = ["red", "green", "blue"][i % 3]
        row["weight"] = i * 0.5
    return row


def expected_ids() -> set:
    return set(range(150)) - DELETED


def schema():
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True, description="inspect source")
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("title", DataType.VARCHAR, max_length=64)
    s.add_field("n", DataType.INT32)
    s.add_field("score", DataType.DOUBLE)
    s.add_field("ratio", DataType.FLOAT)
    s.add_field("flag", DataType.BOOL)
    s.add_field("info", DataType.JSON)
    s.add_field("tags", DataType.ARRAY, element_type=DataType.INT64, max_capacity=4)
    s.add_field("note", DataType.VARCHAR, max_length=32, nullable=True)
    return s


def normalize(value):
    """Plain Python values (pymilvus may hand back numpy scalars and arrays)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    return value


def by_id(records) -> dict:
    out = {}
    for record in records:
        record = normalize(dict(record))
        assert record["id"] not in out, f"id {record['id']} appears twice"
        out[record["id"]] = record
    return out


def assert_same_rows(actual: dict, expected: dict, what: str) -> None:
    assert len(actual) == len(expected), f"{what}: {len(actual)} rows, the restored collection has {len(expected)}"
    assert actual.keys() == expected.keys(), (
        f"{what}: ids differ: extra {sorted(actual.keys() - expected.keys())[:10]}, "
        f"missing {sorted(expected.keys() - actual.keys())[:10]}"
    )
    for pk, row in expected.items():
        assert actual[pk] == row, f"{what}: row {pk} differs:\n  got      {actual[pk]}\n  expected {row}"


def query_all(client: MilvusClient, name: str) -> list:
    return client.query(name, filter="id >= 0", output_fields=["*"], limit=16384)


def wait_restored(client: MilvusClient, job_id: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        state = client.get_restore_snapshot_state(job_id)
        if state.state == "RestoreSnapshotCompleted":
            return
        assert state.state != "RestoreSnapshotFailed", f"restore failed: {state}"
        assert time.monotonic() < deadline, f"restore not done after {timeout}s: {state}"
        time.sleep(0.05)


def wait_index_built(client: MilvusClient, name: str, index: str, timeout: float = 60.0) -> None:
    """Index builds run in the background; the snapshot should capture them."""
    deadline = time.monotonic() + timeout
    while True:
        desc = client.describe_index(name, index)
        if desc["state"] == "Finished" and desc["pending_index_rows"] == 0 and desc["indexed_rows"] > 0:
            return
        assert time.monotonic() < deadline, f"index {index} of {name} not built: {desc}"
        time.sleep(0.1)


def inspect(bin_path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(bin_path), "inspect", *args], capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, f"inspect {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def build_snapshot(client: MilvusClient, name: str) -> None:
    """Several segments, deletes in delete logs, then the snapshot, then later writes."""
    ip = client.prepare_index_params()
    ip.add_index("vector", index_name="vec_idx", index_type="HNSW", metric_type="L2",
                 params={"M": 8, "efConstruction": 64})
    client.create_collection(name, schema=schema(), index_params=ip, consistency_level="Strong")
    client.insert(name, [make_row(i) for i in range(0, 60)])
    client.flush(name)
    client.insert(name, [make_row(i) for i in range(60, 120)])
    client.flush(name)
    client.upsert(name, [make_row(i, "v2") for i in sorted(UPSERTED)])
    client.insert(name, [make_row(i) for i in range(120, 150)])
    client.flush(name)
    client.delete(name, ids=sorted(DELETED))
    client.flush(name)
    wait_index_built(client, name, "vec_idx")
    client.create_snapshot(snapshot_name=SNAPSHOT, collection_name=name, description="for inspect")
    # After the snapshot: none of this may show in any reader.
    client.insert(name, [make_row(i) for i in range(150, 170)])
    client.delete(name, ids=list(range(30, 40)))
    client.upsert(name, [make_row(i, "v3") for i in range(0, 5)])
    client.flush(name)


@pytest.fixture(scope="module")
def snap(server, quiver_bin):
    """The snapshot, the restored collection's rows (the reference) and the object root."""
    client = MilvusClient(uri=server.uri, dedicated=True)
    name = f"inspect_{int(time.time() * 1000) % 10**9}"
    try:
        build_snapshot(client, name)
        restored = name + RESTORED_SUFFIX
        wait_restored(client, client.restore_snapshot(snapshot_name=SNAPSHOT, source_collection_name=name,
                                                      target_collection_name=restored))
        client.load_collection(restored)
        expected = by_id(query_all(client, restored))
        yield {"name": name, "root": server.objects_dir, "expected": expected, "bin": quiver_bin}
    finally:
        client.close()


def test_the_restored_collection_is_the_snapshot(snap):
    """The reference itself: the ids and generations the writes left at snapshot time."""
    expected = snap["expected"]
    assert set(expected) == expected_ids()
    for pk, row in expected.items():
        gen = "v2" if pk in UPSERTED else "v1"
        assert row == normalize(make_row(pk, gen)) | {"id": pk}, row


def test_snapshots_lists_it(snap):
    out = inspect(snap["bin"], "--root", str(snap["root"]), "snapshots", "--json")
    listed = [s for s in json.loads(out.stdout) if s["collection"] == snap["name"]]
    assert len(listed) == 1, out.stdout
    s = listed[0]
    assert s["snapshot"] == SNAPSHOT and s["description"] == "for inspect"
    assert s["segments"] >= 3 and s["rows"] >= 150 + len(UPSERTED) and s["deletes"] >= len(DELETED)
    assert s["bytes"] > 0
    assert abs((s["create_ts"] >> 18) / 1000 - time.time()) < 600
    assert s["created_at"].endswith("Z")
    table = inspect(snap["bin"], "snapshots", "--root", str(snap["root"])).stdout
    assert "COLLECTION" in table and snap["name"] in table and SNAPSHOT in table, table


def test_show_prints_metadata_schema_indexes_and_files(snap):
    text = inspect(snap["bin"], "--root", str(snap["root"]), "show", snap["name"], SNAPSHOT).stdout
    for expected in ["Snapshot", SNAPSHOT, "FloatVector(dim=4)", "Array<Int64>(max_capacity=4)", "primary key",
                     "nullable", "vec_idx", "HNSW", "insert_log/", "delta_log/", "index_files/", "dynamic field: yes"]:
        assert expected in text, f"{expected!r} not in:\n{text}"
    shown = json.loads(inspect(snap["bin"], "--root", str(snap["root"]), "show", snap["name"], SNAPSHOT, "--json").stdout)
    assert shown["metadata"]["snapshot_info"]["name"] == SNAPSHOT
    assert len(shown["manifests"]) == len(shown["metadata"]["manifest_list"])
    # By collection id too.
    collection_id = str(shown["metadata"]["snapshot_info"]["collection_id"])
    by_id_text = inspect(snap["bin"], "--root", str(snap["root"]), "show", collection_id, SNAPSHOT).stdout
    assert by_id_text == text


def files_json(snap) -> dict:
    return json.loads(inspect(snap["bin"], "--root", str(snap["root"]), "files", snap["name"], SNAPSHOT, "--json").stdout)


def test_files_json_lists_every_file_per_segment(snap):
    files = files_json(snap)
    assert files["schema"]["primary_key"] == "id" and files["schema"]["primary_key_type"] == "Int64"
    assert files["schema"]["dynamic_field"] is True
    assert files["schema"]["columns"][-2:] == ["$meta", "$ts"]
    segments = files["segments"]
    assert len(segments) >= 3
    assert sum(len(s["delete_logs"]) for s in segments) >= 3, "deletes reach three segments' delete logs"
    assert all(s["index_files"] for s in segments), "every sealed segment has its HNSW build"
    root = Path(files["root"])
    for segment in segments:
        assert segment["rows"] == sum(f["rows"] for f in segment["insert_logs"])
        for f in segment["insert_logs"] + segment["delete_logs"] + segment["index_files"]:
            assert (root / f["key"]).stat().st_size == f["size"], f
            assert 0 <= f["crc32c"] < 2**32


def test_export_jsonl_equals_the_restored_query(snap, tmp_path):
    out = tmp_path / "jsonl"
    proc = inspect(snap["bin"], "--root", str(snap["root"]), "export", snap["name"], SNAPSHOT,
                   "--format", "jsonl", "--out", str(out))
    assert f"exported {len(snap['expected'])} rows" in proc.stdout, proc.stdout
    rows = [json.loads(line) for line in (out / "data.jsonl").read_text().splitlines()]
    assert_same_rows(by_id(rows), snap["expected"], "inspect export --format jsonl")


def parquet_records(paths: list, metadata: dict) -> dict:
    records = []
    for path in paths:
        records += offline_recipe.to_records(pq.read_table(path), metadata)
    return by_id(records)


def test_export_parquet_equals_the_restored_query(snap, tmp_path):
    metadata = {"collection": {"schema": {"fields": [{"name": "info", "data_type": "Json"}]}}}
    per_segment = tmp_path / "per-segment"
    inspect(snap["bin"], "--root", str(snap["root"]), "export", snap["name"], SNAPSHOT,
            "--format", "parquet", "--out", str(per_segment))
    files = sorted(per_segment.glob("segment-*.parquet"))
    assert len(files) == len(files_json(snap)["segments"])
    table = pq.read_table(files[0])
    assert "$ts" not in table.column_names and "$meta" in table.column_names
    assert str(table.schema.field("vector").type).startswith("list<"), table.schema
    assert_same_rows(parquet_records(files, metadata), snap["expected"], "inspect export --format parquet")
    single = tmp_path / "single"
    inspect(snap["bin"], "--root", str(snap["root"]), "export", snap["name"], SNAPSHOT,
            "--format", "parquet", "--single-file", "--out", str(single))
    assert [p.name for p in single.iterdir()] == ["data.parquet"]
    assert_same_rows(parquet_records([single / "data.parquet"], metadata), snap["expected"],
                     "inspect export --format parquet --single-file")


def test_pyarrow_fastavro_recipe_equals_the_restored_query(snap, tmp_path):
    table, metadata = offline_recipe.read_snapshot(str(snap["root"]), snap["name"], SNAPSHOT)
    assert table.num_rows == len(snap["expected"])
    assert_same_rows(by_id(offline_recipe.to_records(table, metadata)), snap["expected"], "pyarrow recipe")
    # As a script, the way the docs run it.
    out = tmp_path / "rows.jsonl"
    assert offline_recipe.main(["--root", str(snap["root"]), "--collection", snap["name"],
                                "--snapshot", SNAPSHOT, "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert_same_rows(by_id(rows), snap["expected"], "pyarrow recipe (script)")


def duckdb_rows(files: dict):
    """Recipe 2 of docs/offline-processing.md: the visible rows (a pyarrow Table) with DuckDB,
    from the output of `quiver inspect files --json`."""
    root = files["root"]
    pk = files["schema"]["primary_key"]
    create_ts = files["snapshot"]["create_ts"]
    parts = []
    for segment in files["segments"]:
        inserts = [f"{root}/{f['key']}" for f in segment["insert_logs"]]
        deletes = [f"{root}/{f['key']}" for f in segment["delete_logs"]]
        if not inserts:
            continue
        sql = f'SELECT r.* EXCLUDE ("$ts") FROM read_parquet({inserts}) r WHERE r."$ts" <= {create_ts}'
        if deletes:
            sql += (f' AND NOT EXISTS (SELECT 1 FROM read_parquet({deletes}) d'
                    f' WHERE d.pk = r."{pk}" AND r."$ts" < d."$ts" AND d."$ts" <= {create_ts})')
        parts.append(sql)
    con = duckdb.connect()
    relation = con.sql(" UNION ALL ".join(parts))
    table = relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.arrow()
    return table


def test_duckdb_recipe_equals_the_restored_query(snap):
    files = files_json(snap)
    table = duckdb_rows(files)
    metadata = {"collection": {"schema": {"fields": [{"name": "info", "data_type": "Json"}]}}}
    assert_same_rows(by_id(offline_recipe.to_records(table, metadata)), snap["expected"], "DuckDB recipe")


def copy_snapshot(snap, files: dict, dest: Path) -> Path:
    """Copy exactly the snapshot's objects (the live root is shared with the running
    server and the restored collection, and may change while it is copied)."""
    keys = [files["snapshot"]["metadata_key"]] + [s["manifest_key"] for s in files["segments"]]
    keys += [f["key"] for s in files["segments"] for f in s["insert_logs"] + s["delete_logs"] + s["index_files"]]
    for key in keys:
        (dest / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(snap["root"]) / key, dest / key)
    return dest


def test_verify_passes_then_names_every_bad_file(snap, tmp_path):
    ok = inspect(snap["bin"], "--root", str(snap["root"]), "verify", snap["name"], SNAPSHOT)
    assert "files OK" in ok.stdout, ok.stdout
    # Corrupt a copy.
    files = files_json(snap)
    copy = copy_snapshot(snap, files, tmp_path / "objects")
    assert "files OK" in inspect(snap["bin"], "--root", str(copy), "verify", snap["name"], SNAPSHOT).stdout
    flipped = files["segments"][0]["insert_logs"][0]["key"]
    data = bytearray((copy / flipped).read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / flipped).write_bytes(bytes(data))
    removed = files["segments"][-1]["delete_logs"][0]["key"] if files["segments"][-1]["delete_logs"] else \
        next(f["key"] for s in files["segments"] for f in s["delete_logs"])
    (copy / removed).unlink()
    truncated = files["segments"][1]["index_files"][0]["key"]
    (copy / truncated).write_bytes((copy / truncated).read_bytes()[:-1])
    bad = inspect(snap["bin"], "--root", str(copy), "verify", snap["name"], SNAPSHOT, check=False)
    assert bad.returncode == 1, bad
    report = bad.stdout
    assert f"BAD CRC32C  {flipped}" in report, report
    assert f"MISSING     {removed}" in report, report
    assert f"BAD SIZE    {truncated}" in report, report
    assert "3 of" in bad.stderr and "failed verification" in bad.stderr, bad.stderr
    # Export refuses the corrupt file rather than returning wrong rows.
    refused = inspect(snap["bin"], "--root", str(copy), "export", snap["name"], SNAPSHOT,
                      "--format", "jsonl", "--out", str(tmp_path / "x"), check=False)
    assert refused.returncode == 1 and "does not match the manifest" in refused.stderr, refused.stderr


def test_errors_are_clear(snap, tmp_path):
    root = str(snap["root"])
    unknown = inspect(snap["bin"], "--root", root, "show", snap["name"], "nope", check=False)
    assert unknown.returncode == 1
    assert f"has no snapshot \"nope\"; its snapshots: {SNAPSHOT}" in unknown.stderr, unknown.stderr
    no_collection = inspect(snap["bin"], "--root", root, "show", "no_such_collection", SNAPSHOT, check=False)
    assert no_collection.returncode == 1 and snap["name"] in no_collection.stderr, no_collection.stderr
    missing_root = inspect(snap["bin"], "--root", str(tmp_path / "absent"), "snapshots", check=False)
    assert missing_root.returncode == 2 and "does not exist" in missing_root.stderr, missing_root.stderr
    assert not (tmp_path / "absent").exists()
    # A metadata file from a newer Quiver is refused with the format's message.
    files = files_json(snap)
    copy = copy_snapshot(snap, files, tmp_path / "objects")
    meta_path = copy / files["snapshot"]["metadata_key"]
    metadata = json.loads(meta_path.read_text())
    metadata["format_version"] = 2
    meta_path.write_text(json.dumps(metadata))
    newer = inspect(snap["bin"], "--root", str(copy), "show", str(files["collection"]["id"]), SNAPSHOT, check=False)
    assert newer.returncode == 1
    assert "snapshot format version 2 is too new, current supported version: 1 (please upgrade Quiver)" in newer.stderr, \
        newer.stderr
    listed = inspect(snap["bin"], "--root", str(copy), "snapshots", check=False)
    assert listed.returncode == 1 and "too new" in listed.stderr, listed


def test_s3_root_reads_the_same_snapshot(s3_server, make_server, tmp_path):
    """One code path for both backends: inspect and the pyarrow recipe on S3 (moto)."""
    prefix = f"inspect{int(time.time() * 1000) % 10**9}"
    srv = make_server(config=s3_server.storage_config(root_path=prefix))
    client = srv.client()
    name = "s3_inspect"
    client.create_collection(name, schema=schema(), index_params=None, consistency_level="Strong")
    client.insert(name, [make_row(i) for i in range(0, 30)])
    client.flush(name)
    client.insert(name, [make_row(i) for i in range(30, 50)])
    client.delete(name, ids=list(range(5, 15)))
    client.flush(name)
    client.create_snapshot(snapshot_name=SNAPSHOT, collection_name=name)
    client.delete(name, ids=list(range(40, 50)))
    client.flush(name)
    want = sorted(set(range(50)) - set(range(5, 15)))

    s3 = ["--root", f"s3://{s3_server.bucket}/{prefix}", "--endpoint", s3_server.url, "--allow-http",
          "--access-key-id", s3_server.access_key_id, "--secret-access-key", s3_server.secret_access_key]
    quiver = srv.binary
    assert "files OK" in inspect(quiver, *s3, "verify", name, SNAPSHOT).stdout
    out = tmp_path / "s3-export"
    inspect(quiver, *s3, "export", name, SNAPSHOT, "--format", "jsonl", "--out", str(out))
    rows = by_id(json.loads(line) for line in (out / "data.jsonl").read_text().splitlines())
    assert sorted(rows) == want
    assert rows[0] == normalize(make_row(0)), rows[0]
    table, metadata = offline_recipe.read_snapshot(
        f"s3://{s3_server.bucket}/{prefix}", name, SNAPSHOT, endpoint=s3_server.url,
        access_key=s3_server.access_key_id, secret_key=s3_server.secret_access_key)
    assert by_id(offline_recipe.to_records(table, metadata)) == rows
    # Plain HTTP must be asked for.
    refused = inspect(quiver, *[a for a in s3 if a != "--allow-http"], "snapshots", check=False)
    assert refused.returncode == 2 and "--allow-http" in refused.stderr, refused.stderr


# ---- the documentation shows the code that runs -------------------------------------------

REPO = Path(__file__).resolve().parents[2]
DOCUMENTED = {
    "tests/e2e/offline_recipe.py": ["open_root", "read_bytes", "find_snapshot", "read_manifest", "log_keys",
                                    "segment_rows", "read_snapshot", "to_records"],
    "tests/e2e/test_inspect.py": ["duckdb_rows"],
    "scripts/spark_snapshot.py": ["find_snapshot", "read_manifests", "log_paths", "union", "visible_rows",
                                  "json_records"],
}


def function_source(text: str, name: str) -> str:
    """A top-level function's text, up to the next top-level statement."""
    match = re.search(rf"^def {name}\(.*?(?=^(?:def |class |if __name__|[A-Z_]+ = )|\Z)", text, re.S | re.M)
    assert match, f"no function {name}"
    return match.group(0).rstrip()


def test_the_docs_show_the_code_that_is_tested():
    doc = (REPO / "docs" / "offline-processing.md").read_text()
    for path, names in DOCUMENTED.items():
        text = (REPO / path).read_text()
        for name in names:
            assert function_source(text, name) in doc, (
                f"docs/offline-processing.md does not show {path}:{name} as it is; copy it over")
