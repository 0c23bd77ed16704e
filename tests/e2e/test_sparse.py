"""SPARSE_FLOAT_VECTOR fields through stock pymilvus: every input form, Milvus's rules,
exact inner-product search (brute force on growing data, SPARSE_INVERTED_INDEX and
SPARSE_WAND on sealed data) checked against numpy, and the rows and results across
deletes, restart, compaction and snapshot restore."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest
import scipy.sparse
from pymilvus import DataType, MilvusClient, MilvusException

from helpers import wait_index_finished, wait_restore

DIM = 200
ROWS = 600
SEED = 1606


def sparse_rows(n: int, seed: int, dim: int = DIM, nnz: tuple = (3, 12)) -> list:
    """Seeded sparse rows as dicts {index: value}, values in (0, 1]."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        indices = rng.sample(range(dim), rng.randint(*nnz))
        rows.append({i: round(rng.uniform(0.01, 1.0), 4) for i in indices})
    return rows


def dense(rows: list, dim: int = DIM) -> np.ndarray:
    out = np.zeros((len(rows), dim), dtype=np.float32)
    for r, row in enumerate(rows):
        for i, v in row.items():
            out[r, i] = v
    return out


def exact_top(base: list, pks: list, query: dict, k: int, allowed=None) -> list:
    """The top-k (pk, score) by inner product, ties by lower pk, as Quiver and Milvus
    rank them (a row that shares no term with the query scores 0)."""
    q = dense([query])[0]
    scores = dense(base) @ q
    hits = [(pk, float(s)) for pk, s in zip(pks, scores) if allowed is None or allowed(pk)]
    hits.sort(key=lambda h: (-h[1], h[0]))
    return hits[:k]


def schema(client: MilvusClient):
    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("tag", DataType.INT64)
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    return s


def create(client: MilvusClient, name: str, index_type: str = "SPARSE_INVERTED_INDEX", params: dict | None = None):
    client.create_collection(name, schema=schema(client))
    index = client.prepare_index_params()
    index.add_index("sparse", index_type=index_type, metric_type="IP", params=params or {})
    client.create_index(name, index)
    client.load_collection(name)


def insert(client: MilvusClient, name: str, rows: list, first: int = 0) -> list:
    pks = list(range(first, first + len(rows)))
    client.insert(name, [{"id": pk, "tag": pk % 5, "sparse": row} for pk, row in zip(pks, rows)])
    return pks


def search(client: MilvusClient, name: str, queries: list, k: int = 10, params: dict | None = None, **kwargs) -> list:
    res = client.search(
        name,
        data=queries,
        anns_field="sparse",
        limit=k,
        search_params={"metric_type": "IP", "params": params or {}},
        **kwargs,
    )
    return [[(h["id"], h["distance"]) for h in hits] for hits in res]


def assert_same(got: list, want: list):
    assert [pk for pk, _ in got] == [pk for pk, _ in want], (got, want)
    np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=1e-5, atol=1e-6)


def test_every_input_form_reads_back_as_dicts(client, unique_name):
    name = unique_name("sparse_forms")
    create(client, name)
    row = {3: 0.5, 17: 0.25, 150: 1.0}
    csr = scipy.sparse.csr_matrix(([0.5, 0.25, 1.0], ([0, 0, 0], [3, 17, 150])), shape=(1, DIM))
    client.insert(name, [{"id": 1, "tag": 0, "sparse": row}])
    client.insert(name, [{"id": 2, "tag": 0, "sparse": csr}])
    client.insert(name, [{"id": 3, "tag": 0, "sparse": [(3, 0.5), (17, 0.25), (150, 1.0)]}])
    client.insert(name, [{"id": 4, "tag": 0, "sparse": {}}])
    got = {r["id"]: r["sparse"] for r in client.query(name, "id > 0", output_fields=["sparse"])}
    assert got == {1: row, 2: row, 3: row, 4: {}}, got
    hits = search(client, name, [{17: 2.0}], k=10)
    assert [pk for pk, _ in hits[0]] == [1, 2, 3, 4], "the empty row shares no term: it ranks last"
    assert [score for _, score in hits[0]] == pytest.approx([0.5, 0.5, 0.5, 0.0])


@pytest.mark.parametrize(
    "row, fragment",
    [
        ({1: -0.5}, "negative value in sparse float vector"),
        ({1: float("inf")}, "invalid value in sparse float vector"),
    ],
)
def test_milvus_rules_for_values(client, unique_name, row, fragment):
    name = unique_name("sparse_rules")
    create(client, name)
    with pytest.raises(MilvusException, match=fragment):
        client.insert(name, [{"id": 1, "tag": 0, "sparse": row}])
    assert client.query(name, "id >= 0", output_fields=["id"]) == []


def test_only_ip_is_served(client, unique_name):
    name = unique_name("sparse_metric")
    create(client, name)
    insert(client, name, sparse_rows(5, SEED))
    with pytest.raises(MilvusException, match="metric type not match"):
        client.search(name, data=[{1: 1.0}], anns_field="sparse", limit=3, search_params={"metric_type": "L2"})
    bare = unique_name("sparse_bare")
    client.create_collection(bare, schema=schema(client))
    index = client.prepare_index_params()
    index.add_index("sparse", index_type="SPARSE_WAND", metric_type="L2")
    with pytest.raises(MilvusException, match="sparse vector index does not support metric type: L2"):
        client.create_index(bare, index)


@pytest.mark.parametrize(
    "index_type, params",
    [
        ("SPARSE_INVERTED_INDEX", {"inverted_index_algo": "TAAT_NAIVE"}),
        ("SPARSE_INVERTED_INDEX", {"inverted_index_algo": "DAAT_MAXSCORE"}),
        ("SPARSE_WAND", {}),
    ],
)
def test_search_is_exact_on_growing_and_indexed_data(client, unique_name, index_type, params):
    name = unique_name("sparse_exact")
    create(client, name, index_type, params)
    base = sparse_rows(ROWS, SEED)
    queries = sparse_rows(6, SEED + 1, nnz=(2, 8))
    pks = insert(client, name, base)
    # Growing rows: brute force.
    for got, q in zip(search(client, name, queries), queries):
        assert_same(got, exact_top(base, pks, q, 10))
    client.flush(name)
    wait_index_finished(client, name, "sparse", ROWS)
    # Sealed and indexed, with a filter, an offset and deletes.
    client.delete(name, filter="id < 50")
    for got, q in zip(search(client, name, queries, k=7, filter="tag != 2", offset=3), queries):
        assert_same(got, exact_top(base, pks, q, 10, allowed=lambda pk: pk >= 50 and pk % 5 != 2)[3:10])


def test_drop_ratio_search_leaves_out_the_smallest_query_values(client, unique_name):
    name = unique_name("sparse_drop")
    create(client, name)
    pks = insert(client, name, [{1: 1.0}, {2: 1.0}, {1: 0.5, 2: 0.5}])
    client.flush(name)
    wait_index_finished(client, name, "sparse", len(pks))
    query = [{1: 0.9, 2: 0.1}]
    assert search(client, name, query)[0] == [(0, pytest.approx(0.9)), (2, pytest.approx(0.5)), (1, pytest.approx(0.1))]
    kept = search(client, name, query, params={"drop_ratio_search": 0.5})[0]
    assert kept == [(0, pytest.approx(0.9)), (2, pytest.approx(0.45)), (1, 0.0)], "only index 1 of the query is kept"
    with pytest.raises(MilvusException, match="dim_max_score_ratio"):
        search(client, name, query, params={"dim_max_score_ratio": 1.4})


def test_group_by_keeps_the_best_row_of_each_group(client, unique_name):
    name = unique_name("sparse_group")
    create(client, name)
    base = sparse_rows(200, SEED + 2)
    pks = insert(client, name, base)
    query = sparse_rows(1, SEED + 3, nnz=(6, 6))[0]
    res = client.search(
        name, data=[query], anns_field="sparse", limit=3, group_by_field="tag", output_fields=["tag"],
        search_params={"metric_type": "IP"},
    )
    ranked = exact_top(base, pks, query, len(pks))
    best_per_tag = {}
    for pk, score in ranked:
        best_per_tag.setdefault(pk % 5, (pk, score))
    want = sorted(best_per_tag.values(), key=lambda h: (-h[1], h[0]))[:3]
    assert [(h["id"], h["entity"]["tag"]) for h in res[0]] == [(pk, pk % 5) for pk, _ in want]


def test_rows_and_results_survive_restart_compaction_and_restore(make_server, unique_name):
    server = make_server()
    client = MilvusClient(uri=server.uri)
    name = unique_name("sparse_durable")
    create(client, name)
    base = sparse_rows(300, SEED + 4)
    queries = sparse_rows(4, SEED + 5, nnz=(2, 8))
    pks = insert(client, name, base[:150])
    client.flush(name)
    pks += insert(client, name, base[150:], first=150)
    client.flush(name)
    wait_index_finished(client, name, "sparse", 300)
    want = [exact_top(base, pks, q, 10) for q in queries]
    before = search(client, name, queries)
    for got, w in zip(before, want):
        assert_same(got, w)

    server.restart()
    client = MilvusClient(uri=server.uri)
    client.load_collection(name)
    assert search(client, name, queries) == before
    assert client.query(name, "id == 7", output_fields=["sparse"])[0]["sparse"] == pytest.approx(base[7])

    job = client.compact(name)
    deadline = time.time() + 30
    while client.get_compaction_state(job) != "Completed" and time.time() < deadline:
        time.sleep(0.1)
    assert client.get_compaction_state(job) == "Completed"
    wait_index_finished(client, name, "sparse", 300)
    assert search(client, name, queries) == before

    client.create_snapshot("sparse_snap", name)
    target = unique_name("sparse_restored")
    job = client.restore_snapshot("sparse_snap", name, target)
    final, _ = wait_restore(client, job)
    assert final.progress == 100, final
    client.load_collection(target)
    assert search(client, target, queries) == before
    assert client.query(target, "id == 7", output_fields=["sparse"])[0]["sparse"] == pytest.approx(base[7])
