"""The Search RPC through MilvusClient: result shape (pk name, entity, output fields,
dynamic keys), partitions, nq > 1, growing data, deletes and upserts, load state, error
statuses, round_decimal, and search_iterator. Small collections with a FLAT index (or
none), so every expectation is exact brute force."""

from __future__ import annotations

import time

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from helpers import (
    COLLECTION_NOT_FOUND,
    COLLECTION_NOT_LOADED,
    INVALID_PARAMETER,
    UNEXPECTED,
    assert_exact_topk,
    assert_sorted_scores,
    exact_scores,
    expect_error,
    hits_of,
    pymilvus_warnings,
    ranked,
)

DIM = 8
PARTITION_NOT_LOADED = 201  # Milvus's code for a search in a released partition


def vectors(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def flat_index(client: MilvusClient, field: str = "vector", metric: str = "L2", index_type: str = "FLAT", **params):
    ip = client.prepare_index_params()
    ip.add_index(field, index_type=index_type, metric_type=metric, params=params)
    return ip


def simple_collection(client: MilvusClient, name: str, *, pk: str = "id", pk_type=DataType.INT64,
                      metric: str = "L2", dynamic: bool = False, index: bool = True, load: bool = True):
    """pk, `vector` FloatVector(DIM), `cat` Int64, `title` VarChar; FLAT index; loaded."""
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=dynamic)
    if pk_type == DataType.VARCHAR:
        s.add_field(pk, pk_type, is_primary=True, max_length=32)
    else:
        s.add_field(pk, pk_type, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("cat", DataType.INT64)
    s.add_field("title", DataType.VARCHAR, max_length=32)
    client.create_collection(name, schema=s)
    if index:
        client.create_index(name, flat_index(client, metric=metric), sync=False)
    if load:
        client.load_collection(name)


def rows(x: np.ndarray, start: int = 0, pk: str = "id", str_pk: bool = False) -> list:
    return [
        {pk: (f"k{start + i}" if str_pk else start + i), "vector": x[i].tolist(), "cat": (start + i) % 10,
         "title": f"t{start + i}"}
        for i in range(len(x))
    ]


def exact(metric: str, ids: list, base: np.ndarray, queries: np.ndarray) -> list:
    """Per query {id: exact score}."""
    s = exact_scores(metric, base, queries)
    return [dict(zip(ids, r.tolist())) for r in s]


def wait_indexed(client: MilvusClient, name: str, rows: int, index: str = "vector", timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        d = client.describe_index(name, index)
        if d["indexed_rows"] == rows and d["state"] == "Finished":
            return d
        assert time.monotonic() < deadline, f"not indexed: {d}"
        time.sleep(0.05)


# ---- result shape -------------------------------------------------------------------------------


@pytest.mark.parametrize("pk,pk_type", [("doc_id", DataType.INT64), ("name", DataType.VARCHAR)])
def test_hits_are_keyed_by_the_primary_key_name(client: MilvusClient, unique_name, pk, pk_type):
    name = unique_name("c")
    str_pk = pk_type == DataType.VARCHAR
    simple_collection(client, name, pk=pk, pk_type=pk_type)
    x = vectors(50)
    client.insert(name, rows(x, pk=pk, str_pk=str_pk))
    res = client.search(name, data=[x[7].tolist()], limit=3)
    assert len(res) == 1 and len(res[0]) == 3
    top = res[0][0]
    assert set(top.keys()) == {pk, "distance", "entity"}, dict(top)
    assert top[pk] == ("k7" if str_pk else 7)
    assert top["entity"] == {}, "no output_fields: only pk and distance, as Milvus"
    assert abs(top["distance"]) < 1e-6
    ids = [f"k{i}" if str_pk else i for i in range(50)]
    assert_exact_topk("L2", *hits_of(res[0], pk), exact("L2", ids, x, x[7:8])[0], 3)


def test_output_fields_scalars_vectors_and_dynamic_keys(client: MilvusClient, unique_name):
    name = unique_name("c")
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("title", DataType.VARCHAR, max_length=32)
    s.add_field("score", DataType.DOUBLE)
    s.add_field("flag", DataType.BOOL)
    s.add_field("meta", DataType.JSON)
    client.create_collection(name, schema=s, index_params=flat_index(client))
    x = vectors(40, seed=1)
    data = []
    for i in range(40):
        row = {"id": i, "vector": x[i].tolist(), "title": f"t{i}", "score": i / 4, "flag": i % 2 == 0,
               "meta": {"n": i, "tags": ["a", str(i)]}}
        if i % 3 == 0:
            row["color"] = f"c{i}"
        if i % 4 == 0:
            row["size"] = i * 10
        data.append(row)
    client.insert(name, data)
    client.flush(name)
    expected = {r["id"]: r for r in data}

    def check(res, fields):
        for h in res[0]:
            want = {f: expected[h["id"]][f] for f in fields if f in expected[h["id"]] and f != "vector"}
            ent = dict(h["entity"])
            got_vec = ent.pop("vector", None)
            if "vector" in fields:
                assert got_vec == x[h["id"]].tolist(), "vector output must be the stored float32 values"
            assert ent == want, f"hit {h['id']}: entity {ent}, want {want}"

    q = [x[6].tolist()]
    fields = ["title", "score", "flag", "meta", "vector", "color", "size"]
    res = client.search(name, data=q, limit=12, output_fields=fields)
    assert len(res[0]) == 12
    check(res, fields)
    # Only dynamic keys.
    check(client.search(name, data=q, limit=12, output_fields=["color"]), ["color"])
    # "*": every schema field, the primary key included (the Node SDK builds its rows from
    # the columns alone), and every dynamic key.
    res = client.search(name, data=q, limit=12, output_fields=["*"])
    check(res, ["id", "title", "score", "flag", "meta", "vector", "color", "size"])
    # The pk itself as an output field.
    res = client.search(name, data=q, limit=3, output_fields=["id", "title"])
    for h in res[0]:
        assert h["entity"] == {"id": h["id"], "title": f"t{h['id']}"}, dict(h)


def test_unknown_output_field_is_rejected_without_dynamic_field(client: MilvusClient, unique_name):
    name = unique_name("c")
    simple_collection(client, name)
    client.insert(name, rows(vectors(5)))
    with expect_error(INVALID_PARAMETER, "nope"):
        client.search(name, data=[vectors(1)[0].tolist()], limit=2, output_fields=["nope"])


def test_many_queries_in_one_request(client: MilvusClient, unique_name):
    """nq = 25: each query's hits equal the same query searched alone, and brute force."""
    name = unique_name("c")
    simple_collection(client, name)
    x = vectors(300, seed=2)
    client.insert(name, rows(x[:200]))
    client.flush(name)
    client.insert(name, rows(x[200:], start=200))
    queries = vectors(25, seed=3)
    together = client.search(name, data=queries.tolist(), limit=7, filter="cat != 4", output_fields=["cat"])
    assert len(together) == 25
    truth = exact("L2", [i for i in range(300) if i % 10 != 4], x[np.arange(300) % 10 != 4], queries)
    for q in range(25):
        alone = client.search(name, data=[queries[q].tolist()], limit=7, filter="cat != 4", output_fields=["cat"])
        assert [dict(h) for h in together[q]] == [dict(h) for h in alone[0]], f"query {q}"
        assert_exact_topk("L2", *hits_of(together[q], "id"), truth[q], 7, f"query {q}")


# ---- partitions ----------------------------------------------------------------------------------


def test_partition_names_restrict_the_search(client: MilvusClient, unique_name):
    name = unique_name("c")
    simple_collection(client, name)
    client.create_partition(name, "p1")
    client.create_partition(name, "p2")
    x = vectors(90, seed=4)
    client.insert(name, rows(x[:30]))
    client.insert(name, rows(x[30:60], start=30), partition_name="p1")
    client.insert(name, rows(x[60:], start=60), partition_name="p2")
    client.flush(name)
    client.insert(name, rows(vectors(10, seed=5), start=90), partition_name="p1")  # growing in p1
    allx = np.vstack([x, vectors(10, seed=5)])
    members = {"_default": list(range(30)), "p1": list(range(30, 60)) + list(range(90, 100)), "p2": list(range(60, 90))}
    q = vectors(3, seed=6)
    for parts in (["p1"], ["p2"], ["_default"], ["p1", "p2"], ["_default", "p1", "p2"]):
        ids = sorted(i for p in parts for i in members[p])
        truth = exact("L2", ids, allx[ids], q)
        res = client.search(name, data=q.tolist(), limit=15, partition_names=parts)
        for qi in range(3):
            assert_exact_topk("L2", *hits_of(res[qi], "id"), truth[qi], 15, f"partitions {parts} query {qi}")
    # Milvus's reads name a missing partition in their own words, code 65535.
    with expect_error(UNEXPECTED, "partition name nope not found"):
        client.search(name, data=q.tolist(), limit=3, partition_names=["nope"])


def test_released_partition_is_not_searched(client: MilvusClient, unique_name):
    name = unique_name("c")
    simple_collection(client, name)
    client.create_partition(name, "p1")
    x = vectors(40, seed=7)
    client.insert(name, rows(x[:20]))
    client.insert(name, rows(x[20:], start=20), partition_name="p1")
    client.release_partitions(name, ["p1"])
    res = client.search(name, data=[x[25].tolist()], limit=40)
    assert sorted(h["id"] for h in res[0]) == list(range(20)), "only loaded partitions are searched"
    with expect_error(PARTITION_NOT_LOADED, "not loaded"):
        client.search(name, data=[x[25].tolist()], limit=5, partition_names=["p1"])
    client.load_partitions(name, ["p1"])
    res = client.search(name, data=[x[25].tolist()], limit=1)
    assert res[0][0]["id"] == 25


# ---- growing data, deletes, upserts -------------------------------------------------------------


@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE"])
def test_growing_only_data_is_searched_exactly(client: MilvusClient, unique_name, metric):
    name = unique_name("c")
    simple_collection(client, name, metric=metric)
    x = vectors(120, seed=8)
    client.insert(name, rows(x[:60]))
    client.insert(name, rows(x[60:], start=60))
    q = vectors(4, seed=9)
    res = client.search(name, data=q.tolist(), limit=10)
    truth = exact(metric, list(range(120)), x, q)
    for qi in range(4):
        assert_exact_topk(metric, *hits_of(res[qi], "id"), truth[qi], 10, f"{metric} query {qi}")


def test_collection_without_index_searches_by_brute_force(client: MilvusClient, unique_name):
    name = unique_name("c")
    simple_collection(client, name, index=False)
    x = vectors(80, seed=10)
    client.insert(name, rows(x))
    client.flush(name)
    q = vectors(2, seed=11)
    for metric in ("L2", "IP"):
        res = client.search(name, data=q.tolist(), limit=6, search_params={"metric_type": metric})
        truth = exact(metric, list(range(80)), x, q)
        for qi in range(2):
            assert_exact_topk(metric, *hits_of(res[qi], "id"), truth[qi], 6, f"{metric} query {qi}")


def test_deletes_and_upserts_are_honoured(client: MilvusClient, unique_name):
    name = unique_name("c")
    simple_collection(client, name)
    x = vectors(300, seed=12)
    client.insert(name, rows(x[:200]))
    client.flush(name)
    wait_indexed(client, name, 200)
    client.insert(name, rows(x[200:], start=200))
    gone = [3, 50, 199, 205, 299]
    client.delete(name, ids=gone)
    moved = [10, 220]
    far = np.full((2, DIM), 40.0, dtype=np.float32) + np.arange(2, dtype=np.float32)[:, None]
    client.upsert(name, [{"id": moved[i], "vector": far[i].tolist(), "cat": 0, "title": "moved"} for i in range(2)])
    current = x.copy()
    current[moved] = far
    alive = [i for i in range(300) if i not in gone]
    q = np.vstack([x[gone], x[moved]])
    res = client.search(name, data=q.tolist(), limit=10, output_fields=["title"])
    truth = exact("L2", alive, current[alive], q)
    for qi in range(len(q)):
        ids, dists = hits_of(res[qi], "id")
        assert not set(ids) & set(gone), f"deleted ids returned: {set(ids) & set(gone)}"
        assert_exact_topk("L2", ids, dists, truth[qi], 10, f"query {qi}")
    # The upserted rows are found where they are now, with their new values.
    res = client.search(name, data=far.tolist(), limit=1, output_fields=["title"])
    for i in range(2):
        assert res[i][0]["id"] == moved[i] and res[i][0]["distance"] < 1e-6, res[i]
        assert res[i][0]["entity"]["title"] == "moved"
    # Delete by filter, then a flush: still gone.
    client.delete(name, filter="cat == 7")
    client.flush(name)
    res = client.search(name, data=vectors(5, seed=13).tolist(), limit=50, output_fields=["cat"])
    for hits in res:
        assert all(h["entity"]["cat"] != 7 for h in hits)
        assert not {h["id"] for h in hits} & set(gone)


# ---- load state and errors ---------------------------------------------------------------------


def test_search_follows_load_and_release(client: MilvusClient, unique_name):
    name = unique_name("c")
    simple_collection(client, name, load=False)
    x = vectors(60, seed=14)
    client.insert(name, rows(x))
    client.flush(name)
    q = [x[9].tolist()]
    with expect_error(COLLECTION_NOT_LOADED, "not loaded"):
        client.search(name, data=q, limit=3)
    client.load_collection(name)
    first = client.search(name, data=q, limit=5)
    assert first[0][0]["id"] == 9
    client.release_collection(name)
    with expect_error(COLLECTION_NOT_LOADED, "not loaded"):
        client.search(name, data=q, limit=3)
    client.load_collection(name)
    again = client.search(name, data=q, limit=5)
    assert [dict(h) for h in again[0]] == [dict(h) for h in first[0]]


def test_search_errors(client: MilvusClient, unique_name):
    name = unique_name("c")
    simple_collection(client, name)  # FLAT, L2
    x = vectors(20, seed=15)
    client.insert(name, rows(x))
    q = [x[0].tolist()]
    with expect_error(COLLECTION_NOT_FOUND):
        client.search(unique_name("missing"), data=q, limit=3)
    with expect_error(INVALID_PARAMETER, "dimension"):
        client.search(name, data=[[0.5] * (DIM + 1)], limit=3)
    with expect_error(INVALID_PARAMETER, "metric type not match"):
        client.search(name, data=q, limit=3, search_params={"metric_type": "IP"})
    with expect_error(INVALID_PARAMETER, "metric type not match"):
        client.search(name, data=q, limit=3, search_params={"metric_type": "COSINE", "params": {}})
    with expect_error(INVALID_PARAMETER, "nope"):
        client.search(name, data=q, limit=3, anns_field="nope")
    with expect_error(INVALID_PARAMETER):
        client.search(name, data=q, limit=3, filter="cat >>> 3")
    with expect_error(INVALID_PARAMETER, "range_filter"):
        client.search(name, data=q, limit=3, search_params={"params": {"radius": 1.0, "range_filter": 2.0}})
    with expect_error(INVALID_PARAMETER, "group"):
        client.search(name, data=q, limit=3, group_by_field="vector")
    with expect_error(INVALID_PARAMETER, "group"):
        client.search(name, data=q, limit=3, group_by_field="nope")
    with expect_error(INVALID_PARAMETER, "topk"):
        client.search(name, data=q, limit=16385)
    # Metric names are case-insensitive.
    res = client.search(name, data=q, limit=3, search_params={"metric_type": "l2"})
    assert res[0][0]["id"] == 0


def test_offset_plus_limit_is_capped(client: MilvusClient, unique_name):
    """As Milvus (and as Quiver's own Query): offset + limit may not pass 16384."""
    name = unique_name("c")
    simple_collection(client, name)
    client.insert(name, rows(vectors(20, seed=15)))
    q = [vectors(1, seed=15)[0].tolist()]
    assert len(client.search(name, data=q, limit=16000, offset=384)[0]) == 0  # 16384: allowed
    with expect_error(INVALID_PARAMETER, "offset"):
        client.search(name, data=q, limit=16000, offset=1000)


def test_hnsw_ef_must_cover_limit(client: MilvusClient, unique_name):
    name = unique_name("c")
    s = MilvusClient.create_schema(auto_id=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection(name, schema=s, index_params=flat_index(client, index_type="HNSW", M=8, efConstruction=32))
    x = vectors(30, seed=16)
    client.insert(name, [{"id": i, "vector": x[i].tolist()} for i in range(30)])
    client.flush(name)
    wait_indexed(client, name, 30)  # the check belongs to the HNSW index (growing data is brute force)
    with expect_error(INVALID_PARAMETER, "ef"):
        client.search(name, data=[x[0].tolist()], limit=10, search_params={"params": {"ef": 5}})
    res = client.search(name, data=[x[0].tolist()], limit=10, search_params={"params": {"ef": 10}})
    assert len(res[0]) == 10 and res[0][0]["id"] == 0


def test_empty_results_keep_one_list_per_query(client: MilvusClient, unique_name):
    name = unique_name("c")
    simple_collection(client, name)
    q = vectors(3, seed=17).tolist()
    res = client.search(name, data=q, limit=5, output_fields=["title"])
    assert [list(r) for r in res] == [[], [], []], "empty collection"
    client.insert(name, rows(vectors(20, seed=18)))
    res = client.search(name, data=q, limit=5, filter="cat > 100", output_fields=["title"])
    assert [list(r) for r in res] == [[], [], []], "filter matching nothing"
    res = client.search(name, data=q, limit=100)
    assert [len(r) for r in res] == [20, 20, 20], "limit above the row count returns every row"


def test_round_decimal(client: MilvusClient, unique_name):
    name = unique_name("c")
    simple_collection(client, name)
    x = vectors(30, seed=19)
    client.insert(name, rows(x))
    q = vectors(1, seed=20)
    exact_res = client.search(name, data=q.tolist(), limit=5)
    rounded = client.search(name, data=q.tolist(), limit=5, round_decimal=2)
    assert [h["id"] for h in rounded[0]] == [h["id"] for h in exact_res[0]]
    for r, e in zip(rounded[0], exact_res[0]):
        assert r["distance"] == pytest.approx(round(e["distance"], 2), abs=1e-6), (r, e)


def test_dynamic_key_filter(client: MilvusClient, unique_name):
    name = unique_name("c")
    simple_collection(client, name, dynamic=True)
    x = vectors(60, seed=21)
    data = rows(x)
    for i, r in enumerate(data):
        if i % 2:
            r["color"] = "red" if i % 3 else "blue"
    client.insert(name, data)
    q = vectors(2, seed=22)
    res = client.search(name, data=q.tolist(), limit=8, filter='color == "red"', output_fields=["color"])
    ids = [i for i in range(60) if i % 2 and i % 3]
    truth = exact("L2", ids, x[ids], q)
    for qi in range(2):
        assert all(h["entity"] == {"color": "red"} for h in res[qi]), res[qi]
        assert_exact_topk("L2", *hits_of(res[qi], "id"), truth[qi], 8)


def test_binary_vector_search_and_output(client: MilvusClient, unique_name):
    name = unique_name("c")
    s = MilvusClient.create_schema(auto_id=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("bits", DataType.BINARY_VECTOR, dim=64)
    client.create_collection(name, schema=s, index_params=flat_index(client, "bits", "HAMMING", "BIN_FLAT"))
    b = np.random.default_rng(23).integers(0, 256, (100, 8), dtype=np.uint8)
    client.insert(name, [{"id": i, "bits": b[i].tobytes()} for i in range(100)])
    q = np.random.default_rng(24).integers(0, 256, (2, 8), dtype=np.uint8)
    res = client.search(name, data=[r.tobytes() for r in q], limit=10, output_fields=["bits"])
    truth = exact("HAMMING", list(range(100)), b, q)
    for qi in range(2):
        assert_exact_topk("HAMMING", *hits_of(res[qi], "id"), truth[qi], 10)
        for h in res[qi]:
            got = h["entity"]["bits"]
            got = got[0] if isinstance(got, list) else got
            assert bytes(got) == b[h["id"]].tobytes()
    with expect_error(INVALID_PARAMETER, "metric type not match"):
        client.search(name, data=[q[0].tobytes()], limit=3, search_params={"metric_type": "JACCARD"})
    with expect_error(INVALID_PARAMETER):
        client.search(name, data=[q[0][:4].tobytes()], limit=3)


def test_two_vector_fields_need_anns_field(client: MilvusClient, unique_name):
    name = unique_name("c")
    s = MilvusClient.create_schema(auto_id=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("a", DataType.FLOAT_VECTOR, dim=4)
    s.add_field("b", DataType.FLOAT_VECTOR, dim=DIM)
    ip = client.prepare_index_params()
    ip.add_index("a", index_type="FLAT", metric_type="L2")
    ip.add_index("b", index_type="FLAT", metric_type="IP")
    client.create_collection(name, schema=s, index_params=ip)
    xa, xb = vectors(50, 25, dim=4), vectors(50, 26)
    client.insert(name, [{"id": i, "a": xa[i].tolist(), "b": xb[i].tolist()} for i in range(50)])
    qa, qb = vectors(1, 27, dim=4), vectors(1, 28)
    ra = client.search(name, data=qa.tolist(), anns_field="a", limit=5)
    rb = client.search(name, data=qb.tolist(), anns_field="b", limit=5)
    assert_exact_topk("L2", *hits_of(ra[0], "id"), exact("L2", list(range(50)), xa, qa)[0], 5)
    assert_exact_topk("IP", *hits_of(rb[0], "id"), exact("IP", list(range(50)), xb, qb)[0], 5)
    with expect_error(INVALID_PARAMETER, "anns_field"):
        client.search(name, data=qb.tolist(), limit=5)


# ---- search_iterator ------------------------------------------------------------------------------


def test_search_iterator_v2_is_served(client: MilvusClient, unique_name):
    """pymilvus (like the Node SDK) pages with iterator v2: each reply carries a token and the
    bound the next page starts after, and `session_ts`; pymilvus falls back to v1 (with a
    warning) if the token is missing, and the Node SDK's iterator yields nothing."""
    name = unique_name("c")
    simple_collection(client, name, metric="L2")
    x = vectors(50, seed=33)
    client.insert(name, rows(x))
    q = vectors(1, seed=34).tolist()
    conn = client._get_connection()
    first = conn.search(name, data=q, anns_field="", param={"metric_type": "L2"}, limit=10,
                        iterator=True, search_iter_v2=True, search_iter_batch_size=10)
    info = first.get_search_iterator_v2_results_info()
    assert info.token, "no iterator token"
    assert info.last_bound == pytest.approx(first[0][-1]["distance"])
    assert abs((first.get_session_ts() >> 18) - time.time() * 1000) < 60_000
    page = conn.search(name, data=q, anns_field="", param={"metric_type": "L2"}, limit=10, iterator=True,
                       search_iter_v2=True, search_iter_batch_size=10, search_iter_id=info.token,
                       search_iter_last_bound=info.last_bound)
    assert page.get_search_iterator_v2_results_info().token == info.token
    assert page[0][0]["distance"] > info.last_bound, "the next page starts strictly after the bound"
    assert not {h["id"] for h in page[0]} & {h["id"] for h in first[0]}
    with pymilvus_warnings() as warnings:
        it = client.search_iterator(name, data=q, batch_size=20, search_params={"metric_type": "L2"})
        assert [len(it.next()) for _ in range(4)] == [20, 20, 10, 0]
    assert not warnings, warnings


@pytest.mark.parametrize("metric", ["L2", "IP"])
def test_search_iterator_returns_every_row_once_in_order(client: MilvusClient, unique_name, metric):
    name = unique_name("c")
    simple_collection(client, name, metric=metric)
    x = vectors(400, seed=29)
    client.insert(name, rows(x[:250]))
    client.flush(name)
    client.insert(name, rows(x[250:], start=250))
    client.delete(name, ids=[0, 1, 260])
    alive = [i for i in range(400) if i not in (0, 1, 260)]
    q = vectors(1, seed=30)
    truth = ranked(metric, exact(metric, alive, x[alive], q)[0])

    def drain(**kw):
        it = client.search_iterator(name, data=q.tolist(), batch_size=64,
                                    search_params={"metric_type": metric}, **kw)
        got = []
        for _ in range(100):
            page = it.next()
            if len(page) == 0:
                break
            assert len(page) <= 64
            got.extend((h["id"], h["distance"]) for h in page)
        it.close()
        return got

    got = drain(output_fields=["cat"])
    ids = [i for i, _ in got]
    assert len(ids) == len(set(ids)), f"rows returned twice: {len(ids) - len(set(ids))}"
    assert sorted(ids) == alive, f"missing {sorted(set(alive) - set(ids))[:10]}, extra {sorted(set(ids) - set(alive))[:10]}"
    assert_sorted_scores(metric, [d for _, d in got], "iterator pages")
    for (gi, gd), (ti, td) in zip(got, truth):
        assert gd == pytest.approx(td, rel=1e-4, abs=1e-4)
    # With a filter: every matching row once.
    got = drain(filter="cat in [2, 3]")
    want = [i for i in alive if i % 10 in (2, 3)]
    assert sorted(i for i, _ in got) == want
    # With a limit: exactly the best rows.
    it = client.search_iterator(name, data=q.tolist(), batch_size=30, limit=100,
                                search_params={"metric_type": metric})
    got = []
    while True:
        page = it.next()
        # pymilvus's iterator v2 ends a limited iteration with None, v1 with an empty page.
        if not page:
            break
        got.extend(h["id"] for h in page)
    assert len(got) == 100
    assert set(got) == {i for i, _ in truth[:100]}


def test_search_iterator_over_hnsw(client: MilvusClient, unique_name):
    """Over an HNSW index the iterator is approximate (range search on a graph), but it
    never repeats a row, keeps distance order, and covers nearly every row."""
    name = unique_name("c")
    s = MilvusClient.create_schema(auto_id=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection(name, schema=s)
    client.create_index(name, flat_index(client, index_type="HNSW", M=16, efConstruction=64), sync=False)
    client.load_collection(name)
    x = vectors(600, seed=31)
    client.insert(name, [{"id": i, "vector": x[i].tolist()} for i in range(600)])
    client.flush(name)
    wait_indexed(client, name, 600)
    it = client.search_iterator(name, data=[x[0].tolist()], batch_size=100,
                                search_params={"metric_type": "L2", "params": {"ef": 128}})
    got = []
    for _ in range(100):
        page = it.next()
        if len(page) == 0:
            break
        got.extend((h["id"], h["distance"]) for h in page)
    ids = [i for i, _ in got]
    assert len(ids) == len(set(ids)), "rows returned twice"
    assert_sorted_scores("L2", [d for _, d in got], "iterator pages")
    assert len(ids) >= 0.99 * 600, f"iterator covered {len(ids)} of 600 rows"
