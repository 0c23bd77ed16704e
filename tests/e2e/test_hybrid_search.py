"""HybridSearch through stock pymilvus over a float, an INT8 and a sparse vector field:
each sub-search checked against numpy brute force, the fused ranking recomputed here
with Milvus's RRF and weighted formulas from the sub-searches' own hits, plus offset,
round_decimal, output fields, group-by, the function rerankers and the REST endpoint."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import requests
from pymilvus import AnnSearchRequest, DataType, Function, FunctionType, MilvusClient, MilvusException, RRFRanker, WeightedRanker

from helpers import wait_index_finished

DIM = 8
SPARSE_DIM = 64
ROWS = 300
SEED = 1616


def data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    floats = rng.normal(size=(n, DIM)).astype(np.float32)
    int8s = rng.integers(-128, 128, size=(n, DIM), dtype=np.int8)
    pyrng = random.Random(seed)
    sparse = [{i: round(pyrng.uniform(0.05, 1.0), 4) for i in pyrng.sample(range(SPARSE_DIM), 6)} for _ in range(n)]
    return floats, int8s, sparse


def create(client: MilvusClient, name: str, int8_index: str = "HNSW"):
    s = client.create_schema(auto_id=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("tag", DataType.INT64)
    s.add_field("dense", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("int8", DataType.INT8_VECTOR, dim=DIM)
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    client.create_collection(name, schema=s)
    index = client.prepare_index_params()
    index.add_index("dense", index_type="FLAT", metric_type="L2")
    index.add_index("int8", index_type=int8_index, metric_type="COSINE", params={"M": 16, "efConstruction": 200})
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_index(name, index)
    client.load_collection(name)


@pytest.fixture
def loaded(client, unique_name):
    name = unique_name("hybrid")
    create(client, name)
    floats, int8s, sparse = data(ROWS, SEED)
    client.insert(
        name,
        [{"id": i, "tag": i % 7, "dense": floats[i], "int8": int8s[i], "sparse": sparse[i]} for i in range(ROWS)],
    )
    client.flush(name)
    for field in ("dense", "int8", "sparse"):
        wait_index_finished(client, name, field, ROWS)
    return name, (floats, int8s, sparse)


def queries(seed: int, nq: int = 2):
    floats, int8s, sparse = data(nq, seed)
    return list(floats), list(int8s), sparse


def sub_requests(q, limit=20, dense_filter=""):
    floats, int8s, sparse = q
    return [
        AnnSearchRequest(floats, "dense", {"metric_type": "L2"}, limit, expr=dense_filter),
        AnnSearchRequest(int8s, "int8", {"metric_type": "COSINE", "params": {"ef": 300}}, limit),
        AnnSearchRequest(sparse, "sparse", {"metric_type": "IP"}, limit),
    ]


def sub_hits(client, name, q, limit=20, dense_filter=""):
    """Each sub-request run on its own as a plain search: [(metric, [[(id, score)]])]."""
    out = []
    for req, metric in zip(sub_requests(q, limit, dense_filter), ("L2", "COSINE", "IP")):
        res = client.search(name, data=req.data, anns_field=req.anns_field, search_params=req.param, limit=limit, filter=req.expr or "")
        out.append((metric, [[(h["id"], h["distance"]) for h in hits] for hits in res]))
    return out


def fuse(subs, score_of, descending=True):
    """Fused [(id, score)] per query, ties by lower id, as Milvus orders them."""
    nq = len(subs[0][1])
    fused = []
    for q in range(nq):
        total = {}
        for i, (metric, per_query) in enumerate(subs):
            for rank, (pk, score) in enumerate(per_query[q]):
                total[pk] = total.get(pk, 0.0) + score_of(i, metric, rank, score)
        fused.append(sorted(total.items(), key=lambda kv: ((-kv[1] if descending else kv[1]), kv[0])))
    return fused


def norm(metric, s):
    if metric == "COSINE":
        return (1 + s) * 0.5
    if metric == "IP":
        return 0.5 + math.atan(s) / math.pi
    return 1.0 - 2 * math.atan(s) / math.pi


def hits_of(res):
    return [[(h["id"], h["distance"]) for h in hits] for hits in res]


def assert_fused(got, want, limit, offset=0):
    for g, w in zip(got, want):
        w = w[offset : offset + limit]
        assert [pk for pk, _ in g] == [pk for pk, _ in w], (g, w)
        np.testing.assert_allclose([s for _, s in g], [s for _, s in w], rtol=1e-4, atol=1e-6)


def test_each_field_alone_is_exact(client, loaded):
    name, (floats, int8s, sparse) = loaded
    q = queries(SEED + 1)
    subs = sub_hits(client, name, q, limit=10)
    qf, qi, qs = q
    for n in range(2):
        l2 = ((floats - qf[n]) ** 2).sum(axis=1)
        assert [pk for pk, _ in subs[0][1][n]] == list(np.argsort(l2, kind="stable")[:10])
        a, b = int8s.astype(np.float32), qi[n].astype(np.float32)
        cosine = (a @ b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b))
        want = sorted(range(ROWS), key=lambda r: (-cosine[r], r))[:10]
        assert [pk for pk, _ in subs[1][1][n]] == want
        np.testing.assert_allclose([s for _, s in subs[1][1][n]], [cosine[r] for r in want], rtol=1e-4)
        ip = {r: sum(v * sparse[r].get(i, 0.0) for i, v in qs[n].items()) for r in range(ROWS)}
        want = sorted(ip, key=lambda r: (-ip[r], r))[:10]
        assert [pk for pk, _ in subs[2][1][n]] == want
    row = client.query(name, "id == 5", output_fields=["int8"])[0]["int8"]
    assert np.frombuffer(row[0] if isinstance(row, list) else row, dtype=np.int8).tolist() == int8s[5].tolist()


@pytest.mark.parametrize("k", [60, 5])
def test_rrf_matches_milvus_formula(client, loaded, k):
    name, _ = loaded
    q = queries(SEED + 2)
    want = fuse(sub_hits(client, name, q), lambda i, metric, rank, score: 1.0 / (k + rank + 1))
    got = hits_of(client.hybrid_search(name, sub_requests(q), RRFRanker(k), limit=10))
    assert_fused(got, want, 10)
    paged = hits_of(client.hybrid_search(name, sub_requests(q), RRFRanker(k), limit=5, offset=4))
    assert_fused(paged, want, 5, offset=4)


@pytest.mark.parametrize("normalize", [True, False])
def test_weighted_matches_milvus_formula(client, loaded, normalize):
    name, _ = loaded
    q = queries(SEED + 3)
    weights = [0.2, 0.5, 0.9]

    def score_of(i, metric, rank, score):
        # Without norm_score the mixed metrics still turn L2 into "larger is better".
        mapped = norm(metric, score) if normalize or metric == "L2" else score
        return weights[i] * mapped

    want = fuse(sub_hits(client, name, q), score_of)
    got = hits_of(client.hybrid_search(name, sub_requests(q), WeightedRanker(*weights, norm_score=normalize), limit=10))
    assert_fused(got, want, 10)


def test_function_rerankers(client, loaded):
    name, _ = loaded
    q = queries(SEED + 4)
    rrf = Function(name="rrf", input_field_names=[], function_type=FunctionType.RERANK, params={"reranker": "rrf", "k": 20})
    want = fuse(sub_hits(client, name, q), lambda i, metric, rank, score: 1.0 / (20 + rank + 1))
    assert_fused(hits_of(client.hybrid_search(name, sub_requests(q), rrf, limit=10)), want, 10)
    weighted = Function(
        name="w", input_field_names=[], function_type=FunctionType.RERANK,
        params={"reranker": "weighted", "weights": [1.0, 0.0, 0.0], "norm_score": True},
    )
    want = fuse(sub_hits(client, name, q), lambda i, metric, rank, score: [1.0, 0.0, 0.0][i] * norm(metric, score))
    assert_fused(hits_of(client.hybrid_search(name, sub_requests(q), weighted, limit=10)), want, 10)
    model = Function(
        name="m", input_field_names=["tag"], function_type=FunctionType.RERANK,
        params={"reranker": "model", "provider": "tei", "queries": ["x"], "endpoint": "http://localhost:1"},
    )
    with pytest.raises(MilvusException, match="remote inference service"):
        client.hybrid_search(name, sub_requests(q), model, limit=10)


def test_filters_output_fields_rounding_and_errors(client, loaded):
    name, (floats, _, _) = loaded
    q = queries(SEED + 5, nq=1)
    res = client.hybrid_search(
        name, sub_requests(q, dense_filter="tag == 3"), RRFRanker(), limit=10, output_fields=["tag", "dense"], round_decimal=3,
    )
    want = fuse(sub_hits(client, name, q, dense_filter="tag == 3"), lambda i, metric, rank, score: 1.0 / (61 + rank))
    assert [h["id"] for h in res[0]] == [pk for pk, _ in want[0][:10]]
    for h in res[0]:
        assert h["entity"]["tag"] == h["id"] % 7
        np.testing.assert_allclose(h["entity"]["dense"], floats[h["id"]], rtol=1e-6)
        assert h["distance"] == round(h["distance"], 3)
    with pytest.raises(MilvusException, match="the length of weights param mismatch"):
        client.hybrid_search(name, sub_requests(q), WeightedRanker(0.5, 0.5), limit=10)
    with pytest.raises(MilvusException, match=r"rank params k should be in range \(0, 16384\)"):
        client.hybrid_search(name, sub_requests(q), RRFRanker(20000), limit=10)


def test_group_by_takes_groups_in_fused_order(client, loaded):
    name, _ = loaded
    q = queries(SEED + 6, nq=1)
    res = client.hybrid_search(name, sub_requests(q), RRFRanker(), limit=3, group_by_field="tag", output_fields=["tag"])
    tags = [h["entity"]["tag"] for h in res[0]]
    assert len(tags) == 3 and len(set(tags)) == 3, tags
    scores = [h["distance"] for h in res[0]]
    assert scores == sorted(scores, reverse=True)


def test_rest_hybrid_search(server, client, loaded):
    name, _ = loaded
    q = queries(SEED + 7, nq=1)
    floats, int8s, sparse = q
    body = {
        "collectionName": name,
        "search": [
            {"data": [floats[0].tolist()], "annsField": "dense", "limit": 20, "params": {"metric_type": "L2"}},
            {"data": [{str(k): v for k, v in sparse[0].items()}], "annsField": "sparse", "limit": 20},
        ],
        "rerank": {"strategy": "rrf", "params": {"k": 60}},
        "limit": 5,
        "outputFields": ["tag"],
    }
    reply = requests.post(f"{server.uri}/v2/vectordb/entities/hybrid_search", json=body, timeout=30).json()
    assert reply["code"] == 0, reply
    subs = [s for s in sub_hits(client, name, q) if s[0] != "COSINE"]
    want = fuse(subs, lambda i, metric, rank, score: 1.0 / (61 + rank))
    assert [row["id"] for row in reply["data"]] == [pk for pk, _ in want[0][:5]]
    assert all(row["tag"] == row["id"] % 7 for row in reply["data"])


def test_rest_rows_with_int8_and_sparse_vectors(server, client, unique_name):
    name = unique_name("hybrid_rest_rows")
    create(client, name)
    url = f"{server.uri}/v2/vectordb/entities"
    rows = [
        {"id": 1, "tag": 1, "dense": [0.5] * DIM, "int8": [-128, 127, 0, 1, 2, 3, 4, 5], "sparse": {"3": 0.5, "60": 1.0}},
        {"id": 2, "tag": 2, "dense": [0.1] * DIM, "int8": [1] * DIM, "sparse": {"indices": [7, 3], "values": [0.25, 2.0]}},
    ]
    reply = requests.post(f"{url}/insert", json={"collectionName": name, "data": rows}, timeout=30).json()
    assert reply["code"] == 0 and reply["data"]["insertCount"] == 2, reply
    reply = requests.post(
        f"{url}/query", json={"collectionName": name, "filter": "id > 0", "outputFields": ["int8", "sparse"]}, timeout=30
    ).json()
    got = {row["id"]: (row["int8"], row["sparse"]) for row in reply["data"]}
    assert got == {1: (rows[0]["int8"], {"3": 0.5, "60": 1.0}), 2: ([1] * DIM, {"3": 2.0, "7": 0.25})}, reply
    reply = requests.post(
        f"{url}/search", json={"collectionName": name, "annsField": "sparse", "data": [{"3": 1.0}], "limit": 2}, timeout=30
    ).json()
    assert [(row["id"], row["distance"]) for row in reply["data"]] == [(2, 2.0), (1, 0.5)], reply
    reply = requests.post(
        f"{url}/search", json={"collectionName": name, "annsField": "int8", "data": [[1] * DIM], "limit": 1}, timeout=30
    ).json()
    assert [row["id"] for row in reply["data"]] == [2], reply
