"""Index management through MilvusClient and raw CreateIndex: every vector index type and
metric, flat and JSON build parameters, describe/list/drop, build progress and state,
scalar index types, refused types and parameters, and restart without rebuild."""

from __future__ import annotations

import time

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.grpc_gen import common_pb2, milvus_pb2

from helpers import (
    INVALID_PARAMETER,
    RPC_TIMEOUT_S,
    UNEXPECTED,
    assert_exact_topk,
    assert_ok,
    assert_status,
    exact_scores,
    expect_error,
    hits_of,
)

DIM = 8
BITS = 64

FLOAT_CASES = [
    ("FLAT", "L2", {}),
    ("FLAT", "IP", {}),
    ("FLAT", "COSINE", {}),
    ("IVF_FLAT", "L2", {"nlist": 8}),
    ("IVF_FLAT", "IP", {"nlist": 4}),
    ("IVF_FLAT", "COSINE", {"nlist": 16}),
    ("HNSW", "L2", {"M": 16, "efConstruction": 64}),
    ("HNSW", "IP", {"M": 8, "efConstruction": 40}),
    ("HNSW", "COSINE", {"M": 32, "efConstruction": 100}),
    ("AUTOINDEX", "L2", {}),
    ("AUTOINDEX", "IP", {}),
    ("AUTOINDEX", "COSINE", {}),
]
BINARY_CASES = [
    ("BIN_FLAT", "HAMMING", {}),
    ("BIN_FLAT", "JACCARD", {}),
    ("BIN_IVF_FLAT", "HAMMING", {"nlist": 8}),
    ("BIN_IVF_FLAT", "JACCARD", {"nlist": 4}),
    ("AUTOINDEX", "HAMMING", {}),
    ("AUTOINDEX", "JACCARD", {}),
]


def case_id(case) -> str:
    return f"{case[0]}-{case[1]}"


def make_collection(client: MilvusClient, name: str, *, binary: bool = False):
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    if binary:
        s.add_field("vector", DataType.BINARY_VECTOR, dim=BITS)
    else:
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("cat", DataType.INT64)
    s.add_field("price", DataType.DOUBLE)
    s.add_field("title", DataType.VARCHAR, max_length=16)
    s.add_field("meta", DataType.JSON)
    client.create_collection(name, schema=s)


def data(n: int, seed: int, binary: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if binary:
        return rng.integers(0, 256, (n, BITS // 8), dtype=np.uint8)
    return rng.standard_normal((n, DIM)).astype(np.float32)


def insert(client: MilvusClient, name: str, x: np.ndarray, start: int = 0, binary: bool = False):
    client.insert(name, [
        {"id": start + i, "vector": x[i].tobytes() if binary else x[i].tolist(), "cat": (start + i) % 5,
         "price": (start + i) / 2, "title": f"t{(start + i) % 7}", "meta": {"i": start + i}}
        for i in range(len(x))
    ])


def index_params(client: MilvusClient, field: str, index_type: str, metric: str = "", index_name: str = "", **params):
    ip = client.prepare_index_params()
    kw = {"index_type": index_type, "params": params}
    if metric:
        kw["metric_type"] = metric
    if index_name:
        kw["index_name"] = index_name
    ip.add_index(field, **kw)
    return ip


def wait_finished(client: MilvusClient, name: str, index: str, rows: int, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        d = client.describe_index(name, index)
        if d["state"] == "Finished" and d["indexed_rows"] == rows and d["pending_index_rows"] == 0:
            return d
        assert time.monotonic() < deadline, f"{name}.{index} not built: {d}"
        time.sleep(0.05)


def described(index_type, metric, params, rows, field="vector", index_name="vector") -> dict:
    out = {"index_type": index_type}
    if metric:
        out["metric_type"] = metric
    out.update({k: str(v) for k, v in params.items()})
    if index_type == "AUTOINDEX" and metric:
        out["auto_index_type"] = "HNSW"  # what serves it, reported honestly
    out.update({
        "field_name": field, "index_name": index_name, "total_rows": rows, "indexed_rows": rows,
        "pending_index_rows": 0, "state": "Finished",
    })
    return out


# ---- vector index types ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", FLOAT_CASES + BINARY_CASES, ids=case_id)
def test_vector_index_types_build_describe_and_search(client: MilvusClient, unique_name, case):
    index_type, metric, params = case
    binary = case in BINARY_CASES
    name = unique_name("c")
    make_collection(client, name, binary=binary)
    x = data(300, seed=1, binary=binary)
    insert(client, name, x[:150], binary=binary)
    client.flush(name)
    insert(client, name, x[150:], start=150, binary=binary)
    client.flush(name)
    client.create_index(name, index_params(client, "vector", index_type, metric, **params), sync=False)
    desc = wait_finished(client, name, "vector", 300)
    assert desc == described(index_type, metric, params, 300)
    assert client.list_indexes(name) == ["vector"]
    assert client.list_indexes(name, field_name="vector") == ["vector"]
    client.load_collection(name)
    q = x[[5, 250]]
    sp = {"metric_type": metric, "params": {"nprobe": params["nlist"]} if "nlist" in params else {}}
    res = client.search(name, data=[r.tobytes() for r in q] if binary else q.tolist(), limit=5, search_params=sp)
    truth = exact_scores(metric, x, q)
    for qi in range(2):
        scores = dict(enumerate(truth[qi].tolist()))
        ids, dists = hits_of(res[qi], "id")
        if index_type in ("AUTOINDEX",):
            assert ids[0] == [5, 250][qi] or metric == "IP", (qi, ids)  # a stored vector finds itself
            assert len(ids) == 5
        else:
            assert_exact_topk(metric, ids, dists, scores, 5, f"{index_type}/{metric} query {qi}")
    # Searching with another metric than the index's is refused.
    other = {"L2": "IP", "IP": "COSINE", "COSINE": "L2", "HAMMING": "JACCARD", "JACCARD": "HAMMING"}[metric]
    with expect_error(INVALID_PARAMETER, "metric type not match"):
        client.search(name, data=[r.tobytes() for r in q] if binary else q.tolist(), limit=5,
                      search_params={"metric_type": other})


def test_create_index_waits_until_finished(client: MilvusClient, unique_name):
    """pymilvus's create_index polls DescribeIndex until Finished: once it returns, the
    flushed rows are indexed."""
    name = unique_name("c")
    make_collection(client, name)
    insert(client, name, data(500, seed=2))
    client.flush(name)
    client.create_index(name, index_params(client, "vector", "HNSW", "L2", M=16, efConstruction=64))
    assert client.describe_index(name, "vector") == described("HNSW", "L2", {"M": 16, "efConstruction": 64}, 500)


def test_index_name_and_default_metric(client: MilvusClient, unique_name):
    name = unique_name("c")
    make_collection(client, name)
    insert(client, name, data(40, seed=3))
    client.flush(name)
    client.create_index(name, index_params(client, "vector", "HNSW", index_name="vec_idx", M=8), sync=False)
    desc = wait_finished(client, name, "vec_idx", 40)
    assert desc == described("HNSW", "COSINE", {"M": 8}, 40, index_name="vec_idx"), "metric defaults to COSINE"
    assert client.list_indexes(name) == ["vec_idx"]
    assert client.list_indexes(name, field_name="title") == []
    assert client.describe_index(name, "nope") is None


def test_index_params_as_json_kv_in_raw_create_index(client: MilvusClient, raw_stub, unique_name):
    """CreateIndex with a `params` JSON KV (older clients, other SDKs) is the same as flat KVs."""
    name = unique_name("c")
    make_collection(client, name)
    insert(client, name, data(60, seed=4))
    client.flush(name)

    def create(field, index_name, **kvs):
        req = milvus_pb2.CreateIndexRequest(
            collection_name=name, field_name=field, index_name=index_name,
            extra_params=[common_pb2.KeyValuePair(key=k, value=v) for k, v in kvs.items()],
        )
        return raw_stub.CreateIndex(req, timeout=RPC_TIMEOUT_S)

    assert_ok(create("vector", "v", index_type="HNSW", metric_type="IP", params='{"M": 8, "efConstruction": 40}'))
    desc = wait_finished(client, name, "v", 60)
    assert desc == described("HNSW", "IP", {"M": 8, "efConstruction": 40}, 60, index_name="v")
    # The same definition sent as flat KVs is the same index (idempotent).
    assert_ok(create("vector", "v", index_type="HNSW", metric_type="IP", M="8", efConstruction="40"))
    assert client.list_indexes(name) == ["v"]
    # Broken JSON and out-of-range values inside the JSON are refused.
    assert_status(create("price", "p", index_type="STL_SORT", params="{not json"), INVALID_PARAMETER, "json")
    other = unique_name("c")
    make_collection(client, other)
    req = milvus_pb2.CreateIndexRequest(
        collection_name=other, field_name="vector", index_name="v",
        extra_params=[common_pb2.KeyValuePair(key="index_type", value="HNSW"),
                      common_pb2.KeyValuePair(key="metric_type", value="L2"),
                      common_pb2.KeyValuePair(key="params", value='{"M": 1}')],
    )
    assert_status(raw_stub.CreateIndex(req, timeout=RPC_TIMEOUT_S), INVALID_PARAMETER, "'M'")
    assert client.list_indexes(other) == []


# ---- refused requests ----------------------------------------------------------------------------

BAD = [
    ("vector", dict(index_type="GPU_CAGRA", metric_type="L2"), "invalid index type: GPU_CAGRA"),
    ("vector", dict(index_type="HNSW_PQ", metric_type="L2"), "invalid index type: HNSW_PQ"),
    ("vector", dict(index_type="HNSW", metric_type="L2", params={"M": 1}), "'M'"),
    ("vector", dict(index_type="HNSW", metric_type="L2", params={"M": 4096}), "'M'"),
    ("vector", dict(index_type="HNSW", metric_type="L2", params={"M": "many"}), "'M'"),
    ("vector", dict(index_type="HNSW", metric_type="L2", params={"efConstruction": 0}), "'efConstruction'"),
    ("vector", dict(index_type="IVF_FLAT", metric_type="L2", params={"nlist": 0}), "'nlist'"),
    ("vector", dict(index_type="IVF_FLAT", metric_type="L2", params={"nlist": 100000}), "'nlist'"),
    ("vector", dict(index_type="HNSW", metric_type="HAMMING"), "float vector index does not support metric type: HAMMING"),
    ("vector", dict(index_type="FLAT", metric_type="EUCLID"), "float vector index does not support metric type: EUCLID"),
    ("vector", dict(index_type="BIN_FLAT", metric_type="HAMMING"), "invalid index type: BIN_FLAT"),
    ("vector", dict(index_type="INVERTED"), "invalid index type: INVERTED"),
    ("title", dict(index_type="STL_SORT"), "STL_SORT"),
    ("title", dict(index_type="HNSW", metric_type="L2"), "invalid index type: HNSW"),
    ("meta", dict(index_type="INVERTED"), "JSON"),
]


@pytest.mark.parametrize("field,kw,fragment", BAD, ids=[f"{b[0]}-{b[2]}" for b in BAD])
def test_unsupported_index_or_param_is_refused(client: MilvusClient, unique_name, field, kw, fragment):
    name = unique_name("c")
    make_collection(client, name)
    ip = client.prepare_index_params()
    ip.add_index(field, **kw)
    with expect_error(INVALID_PARAMETER, fragment):
        client.create_index(name, ip)
    assert client.list_indexes(name) == [], "a refused index must not be half-created"


@pytest.mark.parametrize("index_type,metric", [("HNSW", "L2"), ("IVF_FLAT", "HAMMING")])
def test_binary_field_refuses_float_index_or_metric(client: MilvusClient, unique_name, index_type, metric):
    name = unique_name("c")
    make_collection(client, name, binary=True)
    with expect_error(INVALID_PARAMETER):
        client.create_index(name, index_params(client, "vector", index_type, metric))
    with expect_error(INVALID_PARAMETER, "binary vector index does not support metric type: L2"):
        client.create_index(name, index_params(client, "vector", "BIN_FLAT", "L2"))


def test_one_distinct_index_per_field(client: MilvusClient, unique_name):
    name = unique_name("c")
    make_collection(client, name)
    client.create_index(name, index_params(client, "vector", "HNSW", "L2", M=16), sync=False)
    client.create_index(name, index_params(client, "vector", "HNSW", "L2", M=16), sync=False)  # same: fine
    # Milvus reports a clash of index definitions as a plain error (65535).
    with expect_error(UNEXPECTED, "CreateIndex failed: at most one distinct index is allowed per field"):
        client.create_index(name, index_params(client, "vector", "HNSW", "L2", M=32), sync=False)
    with expect_error(UNEXPECTED, "CreateIndex failed: at most one distinct index is allowed per field"):
        client.create_index(name, index_params(client, "vector", "FLAT", "IP"), sync=False)
    assert client.describe_index(name, "vector")["M"] == "16"


# ---- drop, rebuild ----------------------------------------------------------------------------------


def test_drop_index_and_rebuild_with_another_metric(client: MilvusClient, unique_name):
    name = unique_name("c")
    make_collection(client, name)
    x = data(200, seed=5)
    insert(client, name, x)
    client.flush(name)
    client.create_index(name, index_params(client, "vector", "HNSW", "L2"), sync=False)
    wait_finished(client, name, "vector", 200)
    client.load_collection(name)
    with expect_error(INVALID_PARAMETER, "vector index cannot be dropped on loaded collection"):
        client.drop_index(name, "vector")
    client.release_collection(name)
    client.drop_index(name, "vector")
    assert client.describe_index(name, "vector") is None
    assert client.list_indexes(name) == []
    client.drop_index(name, "vector")  # dropping a missing index succeeds, as in Milvus
    client.create_index(name, index_params(client, "vector", "FLAT", "IP"), sync=False)
    assert wait_finished(client, name, "vector", 200) == described("FLAT", "IP", {}, 200)
    client.load_collection(name)
    q = data(2, seed=6)
    res = client.search(name, data=q.tolist(), limit=8)  # metric comes from the new index
    truth = exact_scores("IP", x, q)
    for qi in range(2):
        assert_exact_topk("IP", *hits_of(res[qi], "id"), dict(enumerate(truth[qi].tolist())), 8)
    with expect_error(INVALID_PARAMETER, "metric type not match"):
        client.search(name, data=q.tolist(), limit=8, search_params={"metric_type": "L2"})


# ---- scalar indexes -----------------------------------------------------------------------------------


def test_scalar_index_types(client: MilvusClient, unique_name):
    name = unique_name("c")
    make_collection(client, name)
    x = data(300, seed=7)
    insert(client, name, x)
    client.flush(name)
    ip = client.prepare_index_params()
    ip.add_index("vector", index_type="FLAT", metric_type="L2")
    ip.add_index("cat", index_type="STL_SORT")
    ip.add_index("price", index_type="AUTOINDEX")
    ip.add_index("title", index_type="INVERTED")
    client.create_index(name, ip, sync=False)
    wait_finished(client, name, "vector", 300)
    assert sorted(client.list_indexes(name)) == ["cat", "price", "title", "vector"]
    for field, index_type in (("cat", "STL_SORT"), ("price", "AUTOINDEX"), ("title", "INVERTED")):
        assert client.describe_index(name, field) == described(index_type, "", {}, 300, field, field)
    client.load_collection(name)
    q = data(3, seed=8)
    cats = np.arange(300) % 5
    titles = np.array([f"t{i % 7}" for i in range(300)])
    price = np.arange(300) / 2
    expr = 'cat in [1, 3] and title != "t2" and price >= 20.5'
    mask = np.isin(cats, [1, 3]) & (titles != "t2") & (price >= 20.5)
    res = client.search(name, data=q.tolist(), limit=10, filter=expr, output_fields=["cat", "title", "price"])
    ids = np.flatnonzero(mask).tolist()
    truth = exact_scores("L2", x[mask], q)
    for qi in range(3):
        assert_exact_topk("L2", *hits_of(res[qi], "id"), dict(zip(ids, truth[qi].tolist())), 10)
    client.release_collection(name)
    client.drop_index(name, "title")
    assert sorted(client.list_indexes(name)) == ["cat", "price", "vector"]


# ---- progress ----------------------------------------------------------------------------------------------


def test_describe_index_progress_follows_flushes(client: MilvusClient, unique_name):
    name = unique_name("c")
    make_collection(client, name)
    client.create_index(name, index_params(client, "vector", "HNSW", "L2", M=8, efConstruction=32), sync=False)
    client.load_collection(name)
    empty = client.describe_index(name, "vector")
    assert (empty["total_rows"], empty["indexed_rows"], empty["pending_index_rows"], empty["state"]) == (0, 0, 0, "Finished")
    insert(client, name, data(400, seed=9))
    client.flush(name)
    # Every observation while the build runs is consistent: rows are indexed or pending,
    # and the state is Finished exactly when nothing is pending.
    deadline = time.monotonic() + 30
    while True:
        d = client.describe_index(name, "vector")
        assert d["indexed_rows"] + d["pending_index_rows"] == 400 == d["total_rows"], d
        assert (d["state"] == "Finished") == (d["pending_index_rows"] == 0), d
        assert d["state"] in ("Finished", "InProgress"), d
        if d["state"] == "Finished":
            break
        assert time.monotonic() < deadline, d
        time.sleep(0.01)
    insert(client, name, data(100, seed=10), start=400)  # growing: not indexed, not pending
    d = client.describe_index(name, "vector")
    assert (d["indexed_rows"], d["pending_index_rows"], d["state"]) == (400, 0, "Finished"), d
    client.flush(name)
    d = wait_finished(client, name, "vector", 500)
    assert d["total_rows"] == 500
    # Deletes do not make rows pending again.
    client.delete(name, ids=list(range(0, 500, 10)))
    d = client.describe_index(name, "vector")
    assert (d["indexed_rows"], d["pending_index_rows"], d["state"]) == (500, 0, "Finished"), d


def test_index_built_for_a_released_collection(client: MilvusClient, unique_name):
    """Builds read vectors from insert logs when the collection is not loaded."""
    name = unique_name("c")
    make_collection(client, name)
    x = data(250, seed=11)
    insert(client, name, x)
    client.flush(name)
    client.create_index(name, index_params(client, "vector", "IVF_FLAT", "L2", nlist=4))
    assert client.describe_index(name, "vector") == described("IVF_FLAT", "L2", {"nlist": 4}, 250)
    client.load_collection(name)
    q = data(2, seed=12)
    res = client.search(name, data=q.tolist(), limit=6, search_params={"params": {"nprobe": 4}})
    truth = exact_scores("L2", x, q)
    for qi in range(2):
        assert_exact_topk("L2", *hits_of(res[qi], "id"), dict(enumerate(truth[qi].tolist())), 6)


def test_compaction_rebuilds_the_index_and_search_stays_exact(client: MilvusClient, unique_name):
    name = unique_name("c")
    make_collection(client, name)
    client.create_index(name, index_params(client, "vector", "IVF_FLAT", "L2", nlist=4), sync=False)
    client.load_collection(name)
    x = data(600, seed=15)
    for part in range(3):
        insert(client, name, x[part * 200:(part + 1) * 200], start=part * 200)
        client.flush(name)
    wait_finished(client, name, "vector", 600)
    gone = list(range(0, 600, 6))
    client.delete(name, ids=gone)
    alive = [i for i in range(600) if i % 6]
    q = data(4, seed=16)
    sp = {"params": {"nprobe": 4}}
    truth = exact_scores("L2", x[alive], q)

    def check(label):
        res = client.search(name, data=q.tolist(), limit=10, search_params=sp)
        for qi in range(4):
            assert_exact_topk("L2", *hits_of(res[qi], "id"), dict(zip(alive, truth[qi].tolist())), 10, f"{label} query {qi}")

    check("before compaction")
    job = client.compact(name)
    assert client.get_compaction_state(job) == "Completed"
    check("right after compaction")
    d = wait_finished(client, name, "vector", 500)
    assert d["total_rows"] == 500, d
    check("after the rebuild")


# ---- restart -------------------------------------------------------------------------------------------------


def built_segments(log: str) -> list:
    """(collection, segment) of every "index built" log line."""
    import re

    out = []
    for line in log.splitlines():
        if "index built" in line:
            coll = re.search(r"collection=(\S+)", line).group(1)
            seg = re.search(r"segment=(\S+)", line).group(1)
            out.append((coll, seg))
    return out


def test_restart_loads_index_files_without_rebuilding(fresh_server, unique_name):
    c = fresh_server.client()
    loaded, released = unique_name("c"), unique_name("c")
    x = data(650, seed=13)
    for name in (loaded, released):
        make_collection(c, name)
        insert(c, name, x[:300])
        c.flush(name)
        insert(c, name, x[300:600], start=300)
        c.flush(name)
        ip = index_params(c, "vector", "HNSW", "L2", M=16, efConstruction=64)
        ip.add_index("cat", index_type="INVERTED")
        c.create_index(name, ip, sync=False)
        wait_finished(c, name, "vector", 600)
        insert(c, name, x[600:], start=600)  # growing, in the WAL only
    c.load_collection(loaded)
    q = np.vstack([data(4, seed=14), x[620:621]])
    sp = {"params": {"ef": 64}}
    before = c.search(loaded, data=q.tolist(), limit=10, search_params=sp, filter="cat != 2")
    assert before[4][0]["id"] == 620, "growing row found"
    old = built_segments(fresh_server.log_text())
    assert len(old) == 4 and len(set(old)) == 4, f"expected one build per (collection, segment): {old}"
    index_files = sorted(p for p in fresh_server.objects_dir.rglob("*") if p.is_file() and "index_files" in p.parts)
    assert len(index_files) == 4, index_files

    fresh_server.restart()
    c = fresh_server.client()
    # At once, with no wait: the builds are known.
    for name in (loaded, released):
        d = c.describe_index(name, "vector")
        assert (d["state"], d["indexed_rows"], d["pending_index_rows"]) == ("Finished", 600, 0), d
    after = c.search(loaded, data=q.tolist(), limit=10, search_params=sp, filter="cat != 2")
    assert [[dict(h) for h in r] for r in after] == [[dict(h) for h in r] for r in before]
    c.load_collection(released)
    again = c.search(released, data=q.tolist(), limit=10, search_params=sp, filter="cat != 2")
    assert [hits_of(r, "id")[0] for r in again] == [hits_of(r, "id")[0] for r in before]
    time.sleep(1.0)  # several rounds of the background builder
    rebuilt = set(built_segments(fresh_server.log_text(current_run_only=True))) & set(old)
    assert not rebuilt, f"indexes of old segments were rebuilt after restart: {sorted(rebuilt)}"
    now = sorted(p for p in fresh_server.objects_dir.rglob("*") if p.is_file() and "index_files" in p.parts)
    assert set(index_files) <= set(now), "index files of the old segments are gone"


def test_alter_index_properties_while_released(client: MilvusClient, unique_name):
    name = unique_name("c")
    client.create_collection(name, dimension=8)  # quick form: indexed and loaded
    index_name = client.list_indexes(name)[0]
    assert "mmap.enabled" not in client.describe_index(name, index_name)
    with expect_error(104, f"can't alter index on loaded collection, please release the collection first: "
                           f"collection already loaded[collection={name}]"):
        client.alter_index_properties(name, index_name, properties={"mmap.enabled": True})
    client.release_collection(name)
    client.alter_index_properties(name, index_name, properties={"mmap.enabled": True, "warmup": "sync"})
    described = client.describe_index(name, index_name)
    assert (described["mmap.enabled"], described["warmup"]) == ("True", "sync")
    client.drop_index_properties(name, index_name, property_keys=["mmap.enabled"])
    assert "mmap.enabled" not in client.describe_index(name, index_name)
    with expect_error(INVALID_PARAMETER, "invalid mmap.enabled value: 20, expected: true, false"):
        client.alter_index_properties(name, index_name, properties={"mmap.enabled": 20})
    with expect_error(INVALID_PARAMETER, "invalid warmup policy"):
        client.alter_index_properties(name, index_name, properties={"warmup": "later"})
    with expect_error(INVALID_PARAMETER, "M is not a configable index property"):
        client.alter_index_properties(name, index_name, properties={"M": 32})
    # The index still serves after the change.
    client.load_collection(name)
    client.insert(name, [{"id": 1, "vector": [0.5] * 8}])
    assert client.search(name, data=[[0.5] * 8], limit=1)[0][0]["id"] == 1


def test_a_metric_given_for_a_scalar_index_is_ignored(client: MilvusClient, unique_name):
    name = unique_name("c")
    make_collection(client, name)
    client.create_index(name, index_params(client, "cat", "INVERTED", "L2"))
    described = client.describe_index(name, "cat")
    assert described["index_type"] == "INVERTED" and "metric_type" not in described
