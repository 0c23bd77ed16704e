"""The quantized and graph index types beyond FLAT/IVF_FLAT/HNSW: IVF_SQ8 and IVF_PQ as
built, SCANN, IVF_RABITQ and DISKANN served by them (DescribeIndex says by what), BITMAP
on scalars. Each is checked for recall against exact scores, its parameters, and a
snapshot round trip."""

from __future__ import annotations

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient, MilvusException

from helpers import clustered_vectors, exact_scores, tie_aware_recall, wait_index_finished, wait_restore

DIM = 32
ROWS = 3000
NQ = 20
K = 10

# (index type, build params, search params, recall@10 it must reach, what serves it)
TYPES = [
    ("IVF_SQ8", {"nlist": 32}, {"nprobe": 8}, 0.9, None),
    ("IVF_PQ", {"nlist": 32, "m": 16, "nbits": 8}, {"nprobe": 8}, 0.8, None),
    ("SCANN", {"nlist": 32}, {"nprobe": 8, "reorder_k": 100}, 0.9, "IVF_PQ"),
    ("IVF_RABITQ", {"nlist": 32}, {"nprobe": 8, "refine_k": 4}, 0.9, "IVF_SQ8"),
    ("DISKANN", {}, {"search_list": 64}, 0.9, "HNSW"),
]


@pytest.fixture(scope="module")
def data():
    base, _ = clustered_vectors(ROWS + NQ, DIM, 24, seed=11, spread=0.4)
    return base[:ROWS], base[ROWS:]


def _collection(client: MilvusClient, name: str, metric: str, index_type: str, params: dict, base) -> None:
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("tag", DataType.VARCHAR, max_length=16)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index("v", index_name="v", index_type=index_type, metric_type=metric, params=params)
    client.create_collection(name, schema=schema, index_params=index)
    client.insert(name, [{"id": i, "tag": f"t{i % 7}", "v": base[i].tolist()} for i in range(ROWS)])
    client.flush(name)
    wait_index_finished(client, name, "v", ROWS)
    client.load_collection(name)


def _recall(client: MilvusClient, name: str, metric: str, search_params: dict, base, queries) -> float:
    scores = exact_scores(metric, base, queries)
    hits = client.search(name, data=queries.tolist(), limit=K, search_params={"metric_type": metric, "params": search_params})
    recalls = []
    for q, row in enumerate(hits):
        ids = [h["id"] for h in row]
        assert len(ids) == K
        recalls.append(tie_aware_recall(metric, ids, {i: scores[q][i] for i in range(ROWS)}, K))
    return float(np.mean(recalls))


@pytest.mark.parametrize("index_type,params,search_params,min_recall,served_by", TYPES, ids=[t[0] for t in TYPES])
@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE"])
def test_index_type_reaches_its_recall_and_says_what_serves_it(
    client, data, index_type, params, search_params, min_recall, served_by, metric
):
    base, queries = data
    name = f"it_{index_type.lower()}_{metric.lower()}"
    _collection(client, name, metric, index_type, params, base)
    recall = _recall(client, name, metric, search_params, base, queries)
    assert recall >= min_recall, f"{index_type}/{metric}: recall@10 {recall:.3f}"
    described = client.describe_index(name, "v")
    assert described["index_type"] == index_type
    assert described["metric_type"] == metric
    if served_by is None:
        assert "served_by" not in described
    else:
        assert described["served_by"].startswith(served_by), described
    # Filters still restrict a quantized search.
    hits = client.search(name, data=queries[:2].tolist(), limit=K, filter="tag == 't3'", output_fields=["tag"])
    assert all(h["entity"]["tag"] == "t3" for row in hits for h in row)
    assert all(len(row) == K for row in hits)


def test_refined_types_report_exact_distances(client, data):
    base, queries = data
    _collection(client, "it_scann_exact", "L2", "SCANN", {"nlist": 16}, base)
    scores = exact_scores("L2", base, queries[:3])
    hits = client.search("it_scann_exact", data=queries[:3].tolist(), limit=K, search_params={"params": {"nprobe": 16}})
    for q, row in enumerate(hits):
        for h in row:
            assert h["distance"] == pytest.approx(scores[q][h["id"]], rel=1e-4, abs=1e-4)


def _refused(fn, *fragments: str) -> None:
    with pytest.raises(MilvusException) as e:
        fn()
    for fragment in fragments:
        assert fragment in e.value.message, e.value.message


def test_index_parameters_are_checked(client):
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("score", DataType.DOUBLE)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection("it_params", schema=schema)

    def create(field: str, index_type: str, **params):
        index = client.prepare_index_params()
        index.add_index(field, index_type=index_type, metric_type="L2" if field == "v" else None, params=params)
        client.create_index("it_params", index)

    _refused(lambda: create("v", "IVF_PQ", nlist=16, m=5), "multiple of the number of subquantizers", "Dimension:32, m:5")
    _refused(lambda: create("v", "IVF_PQ", nlist=16, m=8, nbits=12), "'nbits'")
    _refused(lambda: create("v", "IVF_SQ8", nlist=0), "'nlist'")
    _refused(lambda: create("v", "DISKANN", max_degree=0), "'max_degree'")
    _refused(lambda: create("v", "SCANN", with_raw_data="sometimes"), "'with_raw_data'")
    _refused(lambda: create("score", "BITMAP"), "bitmap index are only supported on bool, int, string and array field")
    _refused(lambda: create("id", "BITMAP"), "create bitmap index on primary key not supported")


def test_search_parameters_of_the_new_types_are_checked(client, data):
    base, queries = data
    _collection(client, "it_rabitq", "L2", "IVF_RABITQ", {"nlist": 16}, base)
    _refused(
        lambda: client.search("it_rabitq", data=queries[:1].tolist(), limit=K, search_params={"params": {"refine_k": 0.5}}),
        "refine_k",
    )
    _collection(client, "it_diskann", "L2", "DISKANN", {"max_degree": 32, "search_list_size": 64}, base)
    # As for HNSW's ef, DISKANN's search list must hold the limit.
    _refused(lambda: client.search("it_diskann", data=queries[:1].tolist(), limit=K, search_params={"params": {"search_list": 5}}), "limit")


def test_bitmap_index_answers_filters_like_a_scan(client):
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("color", DataType.VARCHAR, max_length=8)
    schema.add_field("level", DataType.INT32)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    rows = [{"id": i, "color": ["red", "green", "blue"][i % 3], "level": i % 5, "v": [float(i % 9), 1.0, 0.0, 1.0]} for i in range(900)]
    for name, bitmap in [("it_bitmap_plain", False), ("it_bitmap", True)]:
        index = client.prepare_index_params()
        index.add_index("v", index_type="FLAT", metric_type="L2")
        if bitmap:
            index.add_index("color", index_name="color", index_type="BITMAP")
            index.add_index("level", index_name="level", index_type="BITMAP")
        client.create_collection(name, schema=schema, index_params=index)
        client.insert(name, rows)
        client.flush(name)
        client.load_collection(name)
    described = client.describe_index("it_bitmap", "color")
    assert described["index_type"] == "BITMAP" and described["served_by"] == "INVERTED"
    for expr in ["color == 'red'", "color in ['green', 'blue'] and level >= 3", "level != 2", "color != 'blue'"]:
        want = sorted(r["id"] for r in client.query("it_bitmap_plain", filter=expr, limit=1000))
        got = sorted(r["id"] for r in client.query("it_bitmap", filter=expr, limit=1000))
        assert got == want and got, expr


def test_quantized_index_survives_snapshot_and_restore(client, data):
    base, queries = data
    _collection(client, "it_pq_src", "IP", "IVF_PQ", {"nlist": 32, "m": 16, "nbits": 6}, base)
    before = client.search("it_pq_src", data=queries.tolist(), limit=K, search_params={"params": {"nprobe": 8}})
    client.create_snapshot("it_pq_snap", "it_pq_src")
    job = client.restore_snapshot("it_pq_snap", "it_pq_src", "it_pq_copy")
    wait_restore(client, job)
    client.load_collection("it_pq_copy")
    described = client.describe_index("it_pq_copy", "v")
    assert (described["index_type"], described["m"], described["nbits"]) == ("IVF_PQ", "16", "6")
    after = client.search("it_pq_copy", data=queries.tolist(), limit=K, search_params={"params": {"nprobe": 8}})
    assert [[(h["id"], h["distance"]) for h in row] for row in after] == [[(h["id"], h["distance"]) for h in row] for row in before]
    client.drop_snapshot("it_pq_snap", "it_pq_src")
