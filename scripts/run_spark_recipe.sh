#!/usr/bin/env bash
# Runs the PySpark recipe of docs/offline-processing.md end to end and checks it:
#   1. installs pyspark, fastavro and pymilvus into a venv (Java 17+ must be installed);
#   2. starts `quiver serve` on a temporary data directory;
#   3. with pymilvus, makes a collection with scalars, a VarChar, JSON, dynamic keys and a
#      float vector over several segments (a flush per batch), an upsert, deletes flushed
#      into delete logs, snapshots it, then writes, deletes and upserts more rows (which
#      the snapshot must not show); restores the snapshot and queries the restored
#      collection;
#   4. stops the server and runs scripts/spark_snapshot.py on <data_dir>/objects;
#   5. compares Spark's row count and rows with the restored collection's query.
# Exit status 0 when they are equal. Environment:
#   QUIVER_BIN   the quiver binary (default: built with cargo, target/debug/quiver)
#   SPARK_VENV   venv for pyspark (default: target/spark-venv)
#   PYTHON       interpreter that creates the venv (default: python3)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
step() { printf '\n==> %s\n' "$*"; }

step "java"
if ! command -v java >/dev/null 2>&1; then
  echo "error: java not found; PySpark needs Java 17 or newer (e.g. apt-get install openjdk-17-jre-headless)" >&2
  exit 1
fi
java -version 2>&1 | head -1

step "venv with pyspark"
VENV="${SPARK_VENV:-$ROOT/target/spark-venv}"
if [[ ! -x "$VENV/bin/python" ]]; then
  "${PYTHON:-python3}" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check pyspark fastavro pymilvus==3.0.2
"$VENV/bin/python" -c 'import pyspark; print("pyspark", pyspark.__version__)'

step "quiver binary"
if [[ -z "${QUIVER_BIN:-}" ]]; then
  cargo build -j2 --locked -p quiver-server
  QUIVER_BIN="$ROOT/target/debug/quiver"
fi
echo "$QUIVER_BIN"

WORK="$(mktemp -d)"
echo "work directory: $WORK"

step "snapshot with pymilvus, restore, query; then Spark; then compare"
QUIVER_BIN="$QUIVER_BIN" WORK="$WORK" SPARK_PY="$VENV/bin/python" "$VENV/bin/python" - <<'PY'
import json, os, signal, socket, subprocess, sys, time
from pymilvus import DataType, MilvusClient

work, binary = os.environ["WORK"], os.environ["QUIVER_BIN"]
DIM, SNAPSHOT, NAME = 8, "nightly", "books"
DELETED = set(range(20, 30)) | set(range(70, 75)) | {125}
UPSERTED = set(range(10, 15))

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def row(i, gen="v1"):
    g = {"v1": 0, "v2": 1, "v3": 2}[gen]
    r = {"id": i, "vector": [i / 8.0] + [float((i * (k + 3) + 7 * g) % 17) / 8.0 for k in range(DIM - 1)],
         "title": f"{gen}-{i}", "year": 1900 + i + g, "price": i / 4.0, "rating": (i % 8) / 8.0,
         "in_print": i % 2 == 0, "info": {"i": i, "gen": gen, "tags": ["a", "b"][: i % 3]}}
    if i % 4 == 0:
        r["shelf"] = f"s{i % 3}"
    return r

def normalize(v):
    if hasattr(v, "tolist"):
        v = v.tolist()
    if isinstance(v, dict):
        return {k: normalize(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [normalize(x) for x in v]
    return v

port = free_port()
log = open(os.path.join(work, "quiver.log"), "ab")
server = subprocess.Popen([binary, "serve", "--data-dir", os.path.join(work, "data"), "--host", "127.0.0.1",
                           "--port", str(port), "--metrics-port", "0"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
try:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"quiver did not start; see {work}/quiver.log")
            time.sleep(0.1)
    c = MilvusClient(uri=f"http://127.0.0.1:{port}")
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("title", DataType.VARCHAR, max_length=64)
    s.add_field("year", DataType.INT32)
    s.add_field("price", DataType.DOUBLE)
    s.add_field("rating", DataType.FLOAT)
    s.add_field("in_print", DataType.BOOL)
    s.add_field("info", DataType.JSON)
    ip = c.prepare_index_params()
    ip.add_index("vector", index_name="vec_idx", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64})
    c.create_collection(NAME, schema=s, index_params=ip, consistency_level="Strong")
    c.insert(NAME, [row(i) for i in range(0, 60)]); c.flush(NAME)
    c.insert(NAME, [row(i) for i in range(60, 120)]); c.flush(NAME)
    c.upsert(NAME, [row(i, "v2") for i in sorted(UPSERTED)])
    c.insert(NAME, [row(i) for i in range(120, 150)]); c.flush(NAME)
    c.delete(NAME, ids=sorted(DELETED)); c.flush(NAME)
    c.create_snapshot(snapshot_name=SNAPSHOT, collection_name=NAME)
    c.insert(NAME, [row(i) for i in range(150, 170)])
    c.delete(NAME, ids=list(range(30, 40)))
    c.upsert(NAME, [row(i, "v3") for i in range(0, 5)])
    c.flush(NAME)
    job = c.restore_snapshot(snapshot_name=SNAPSHOT, source_collection_name=NAME, target_collection_name="books_restored")
    while (state := c.get_restore_snapshot_state(job)).state != "RestoreSnapshotCompleted":
        if state.state == "RestoreSnapshotFailed":
            sys.exit(f"restore failed: {state}")
        time.sleep(0.1)
    c.load_collection("books_restored")
    expected = {r["id"]: normalize(dict(r)) for r in c.query("books_restored", filter="id >= 0", output_fields=["*"], limit=16384)}
    print(f"restored collection: {len(expected)} rows (query)")
    c.close()
finally:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
print("server stopped; Spark reads the files alone")

out = os.path.join(work, "spark.jsonl")
started = time.monotonic()
subprocess.run([os.environ["SPARK_PY"], "scripts/spark_snapshot.py", "--root", os.path.join(work, "data", "objects"),
                "--collection", NAME, "--snapshot", SNAPSHOT, "--format", "jsonl", "--out", out,
                "--master", "local[2]"], check=True)
spark_rows = [json.loads(line) for line in open(out)]
got = {r["id"]: r for r in spark_rows}
print(f"spark: {len(spark_rows)} rows in {time.monotonic() - started:.0f} s")
problems = []
if len(spark_rows) != len(expected):
    problems.append(f"row count: spark {len(spark_rows)}, restored query {len(expected)}")
if len(got) != len(spark_rows):
    problems.append("spark returned a primary key twice")
for pk in sorted(expected.keys() | got.keys()):
    if got.get(pk) != expected.get(pk):
        problems.append(f"row {pk}: spark {got.get(pk)} != restored {expected.get(pk)}")
if problems:
    print("RESULT: MISMATCH")
    print("\n".join(problems[:20]))
    sys.exit(1)
print(f"RESULT: OK: Spark returned the same {len(spark_rows)} rows as query on the restored collection")
PY
rm -rf "$WORK"
