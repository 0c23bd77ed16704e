"""Search correctness against exact numpy brute force, for every vector index type and
metric (issue 5).

One module-scoped corpus per (index type, metric): the same 2,000 clustered vectors
(16-d, 20 clusters, seed 0; binary: 128 bits) in two sealed, indexed segments (900 rows
each) plus 200 growing rows, with deletes made before and after the index builds. Every
search is checked against brute force over the rows that are alive (and pass the filter):
FLAT and IVF with nprobe = nlist exactly (ties aside), HNSW/AUTOINDEX by recall@10.

This module does not use the `client` fixture (its cleanup would drop the corpus between
tests); the corpus is dropped at module teardown.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from helpers import (
    INVALID_PARAMETER,
    expect_error,
    assert_exact_topk,
    assert_sorted_scores,
    clustered_bits,
    clustered_vectors,
    exact_scores,
    higher_is_closer,
    hits_of,
    ranked,
    score_close,
    tie_aware_recall,
)

N = 2000
DIM = 16
BITS = 128
CLUSTERS = 20
SEAL_1, SEAL_2 = 900, 1800  # rows [0, 900) and [900, 1800) are flushed; the rest grow
NLIST = 16
K = 10
PK = "pk"  # not "id": hits must be keyed by the real pk name
RECALL = 0.9

FLOAT_INDEXES = {
    # index type: (build params, search params giving exact results or best recall)
    "FLAT": ({}, {}),
    "IVF_FLAT": ({"nlist": NLIST}, {"nprobe": NLIST}),
    "HNSW": ({"M": 16, "efConstruction": 100}, {"ef": 64}),
    "AUTOINDEX": ({}, {}),
}
BINARY_INDEXES = {
    "BIN_FLAT": ({}, {}),
    "BIN_IVF_FLAT": ({"nlist": NLIST}, {"nprobe": NLIST}),
    "AUTOINDEX": ({}, {}),
}
EXACT = {"FLAT", "IVF_FLAT", "BIN_FLAT", "BIN_IVF_FLAT"}  # exact with the params above
FLOAT_METRICS = ["L2", "IP", "COSINE"]
BINARY_METRICS = ["HAMMING", "JACCARD"]

FLOAT_COMBOS = [(i, m) for i in FLOAT_INDEXES for m in FLOAT_METRICS]
BINARY_COMBOS = [(i, m) for i in BINARY_INDEXES for m in BINARY_METRICS]


def combo_id(combo) -> str:
    return "-".join(combo)


@dataclass
class Corpus:
    name: str
    index: str
    metric: str
    binary: bool
    params: dict  # search params ("params" part)
    vectors: np.ndarray  # float32 (N, DIM) or packed uint8 (N, BITS/8)
    pks: np.ndarray  # int64 (N,)
    alive: np.ndarray  # bool (N,)
    columns: dict = field(default_factory=dict)  # scalar name -> np array (N,)

    @property
    def exact(self) -> bool:
        return self.index in EXACT

    def query_data(self, rows: np.ndarray) -> list:
        return [r.tobytes() for r in rows] if self.binary else [r.tolist() for r in rows]

    def scores(self, queries: np.ndarray, mask: np.ndarray | None = None) -> list:
        """Per query {pk: exact score} over the alive rows (and `mask`)."""
        keep = self.alive if mask is None else self.alive & mask
        s = exact_scores(self.metric, self.vectors[keep], queries)
        ids = self.pks[keep].tolist()
        return [dict(zip(ids, row.tolist())) for row in s]

    def search(self, client: MilvusClient, queries: np.ndarray, limit: int = K, params=None, **kw):
        sp = {"metric_type": self.metric, "params": dict(self.params if params is None else params)}
        return client.search(
            self.name, data=self.query_data(queries), limit=limit, search_params=sp, anns_field="vec", **kw
        )


# ---- data ------------------------------------------------------------------------------

FLOAT_VECTORS, LABELS = clustered_vectors(N, DIM, CLUSTERS, seed=0)
BINARY_VECTORS, BINARY_LABELS = clustered_bits(N, BITS, CLUSTERS, seed=0)
PKS = (np.arange(N, dtype=np.int64) * 7 + 1000)  # not positions: ids map through the server
_rng = np.random.default_rng(1)
BUCKET = _rng.permutation(N) % 100  # uniform 0..99, unrelated to position and cluster
G7 = np.arange(N) % 7
DELETE_EARLY = np.arange(N) % 23 == 0  # deleted before the index builds finish
DELETE_LATE = np.arange(N) % 31 == 5  # deleted after the indexes are built
ALIVE = ~(DELETE_EARLY | DELETE_LATE)


def float_queries() -> np.ndarray:
    rng = np.random.default_rng(2)
    near = FLOAT_VECTORS[rng.choice(N, 10, replace=False)] + 0.2 * rng.standard_normal((10, DIM))
    far = 1.5 * rng.standard_normal((10, DIM))
    return np.vstack([near, far]).astype(np.float32)


def binary_queries() -> np.ndarray:
    rng = np.random.default_rng(3)
    near = BINARY_VECTORS[rng.choice(N, 10, replace=False)] ^ np.packbits(
        (rng.random((10, BITS)) < 0.05).astype(np.uint8), axis=1
    )
    far = rng.integers(0, 256, (10, BITS // 8), dtype=np.uint8)
    return np.vstack([near, far]).astype(np.uint8)


FLOAT_QUERIES = float_queries()
BINARY_QUERIES = binary_queries()


def rows_of(lo: int, hi: int) -> list:
    return [
        {
            PK: int(PKS[i]),
            "bucket": int(BUCKET[i]),
            "grp": int(LABELS[i]),
            "g7": int(G7[i]),
            "tag": f"t{i % 5}",
        }
        for i in range(lo, hi)
    ]


def schema(binary: bool):
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field(PK, DataType.INT64, is_primary=True)
    if binary:
        s.add_field("vec", DataType.BINARY_VECTOR, dim=BITS)
    else:
        s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("bucket", DataType.INT64)
    s.add_field("grp", DataType.INT64)
    s.add_field("g7", DataType.INT64)
    s.add_field("tag", DataType.VARCHAR, max_length=8)
    return s


def wait_built(client: MilvusClient, name: str, rows: int, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        desc = client.describe_index(name, "vec")
        if desc["indexed_rows"] == rows and desc["pending_index_rows"] == 0 and desc["state"] == "Finished":
            return desc
        assert time.monotonic() < deadline, f"index of {name} not built after {timeout}s: {desc}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def mclient(server):
    c = MilvusClient(uri=server.uri, dedicated=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def corpora(mclient: MilvusClient) -> dict:
    out: dict = {}
    combos = [(i, m, False) for i, m in FLOAT_COMBOS] + [(i, m, True) for i, m in BINARY_COMBOS]
    for index, metric, binary in combos:
        name = f"{'b' if binary else 'f'}_{index}_{metric}".lower()
        build, search = (BINARY_INDEXES if binary else FLOAT_INDEXES)[index]
        ip = mclient.prepare_index_params()
        ip.add_index("vec", index_type=index, metric_type=metric, params=build)
        mclient.create_collection(name, schema=schema(binary))
        mclient.create_index(name, ip, sync=False)  # skip pymilvus's 0.5 s wait; built below
        mclient.load_collection(name)
        vectors = BINARY_VECTORS if binary else FLOAT_VECTORS

        def insert(lo, hi):
            rows = rows_of(lo, hi)
            for i, row in zip(range(lo, hi), rows):
                row["vec"] = vectors[i].tobytes() if binary else vectors[i].tolist()
            mclient.insert(name, rows)

        insert(0, SEAL_1)
        mclient.flush(name)
        insert(SEAL_1, SEAL_2)
        mclient.flush(name)
        insert(SEAL_2, N)  # growing
        mclient.delete(name, ids=PKS[DELETE_EARLY].tolist())
        out[(index, metric)] = Corpus(
            name, index, metric, binary, search, vectors, PKS, ALIVE,
            {"bucket": BUCKET, "grp": LABELS, "g7": G7},
        )
    for corpus in out.values():
        wait_built(mclient, corpus.name, SEAL_2)
        mclient.delete(corpus.name, ids=PKS[DELETE_LATE].tolist())
    yield out
    for corpus in out.values():
        mclient.drop_collection(corpus.name)


def fc(corpora, combo) -> Corpus:
    return corpora[combo]


def check_results(corpus: Corpus, res, queries, k: int, mask=None, what: str = "") -> list:
    """Check each query's hits against brute force; returns per-query recalls."""
    assert len(res) == len(queries), f"{what}: {len(res)} result lists for {len(queries)} queries"
    truth = corpus.scores(queries, mask)
    recalls = []
    for q, (hits, scores) in enumerate(zip(res, truth)):
        ids, dists = hits_of(hits, PK)
        label = f"{what} {corpus.name} query {q}"
        assert_sorted_scores(corpus.metric, dists, label)
        if corpus.exact:
            assert_exact_topk(corpus.metric, ids, dists, scores, k, label)
            recalls.append(1.0)
            continue
        assert len(ids) == min(k, len(scores)), f"{label}: {len(ids)} hits, want {min(k, len(scores))}"
        assert len(set(ids)) == len(ids), f"{label}: duplicate ids {ids}"
        for i, d in zip(ids, dists):
            assert i in scores, f"{label}: id {i} is filtered out or deleted"
            assert score_close(d, scores[i]), f"{label}: id {i} distance {d}, exact {scores[i]}"
        recalls.append(tie_aware_recall(corpus.metric, ids, scores, k))
    return recalls


# ---- plain top-k -----------------------------------------------------------------------


@pytest.mark.parametrize("combo", FLOAT_COMBOS, ids=combo_id)
def test_float_topk_matches_brute_force(mclient, corpora, combo):
    corpus = fc(corpora, combo)
    res = corpus.search(mclient, FLOAT_QUERIES)
    recalls = check_results(corpus, res, FLOAT_QUERIES, K)
    assert np.mean(recalls) >= RECALL, f"{corpus.name}: recall@10 {np.mean(recalls):.3f} per query {recalls}"


@pytest.mark.parametrize("combo", BINARY_COMBOS, ids=combo_id)
def test_binary_topk_matches_brute_force(mclient, corpora, combo):
    corpus = fc(corpora, combo)
    res = corpus.search(mclient, BINARY_QUERIES)
    recalls = check_results(corpus, res, BINARY_QUERIES, K)
    assert np.mean(recalls) >= RECALL, f"{corpus.name}: recall@10 {np.mean(recalls):.3f} per query {recalls}"


@pytest.mark.parametrize("combo", FLOAT_COMBOS, ids=combo_id)
def test_large_limit_across_segments(mclient, corpora, combo):
    """limit 300 draws from both sealed segments and the growing rows at once."""
    corpus = fc(corpora, combo)
    queries = FLOAT_QUERIES[:4]
    params = dict(corpus.params, ef=300) if corpus.index in ("HNSW", "AUTOINDEX") else None
    res = corpus.search(mclient, queries, limit=300, params=params)  # HNSW wants ef >= k
    recalls = check_results(corpus, res, queries, 300)
    assert np.mean(recalls) >= RECALL, f"{corpus.name}: recall@300 {np.mean(recalls):.3f}"
    positions = {int(p): i for i, p in enumerate(PKS)}
    for hits in res:
        where = {("seg1" if positions[h[PK]] < SEAL_1 else "seg2" if positions[h[PK]] < SEAL_2 else "growing") for h in hits}
        assert where == {"seg1", "seg2", "growing"}, f"hits came only from {where}"


# ---- growing rows and deletes ------------------------------------------------------------


@pytest.mark.parametrize("combo", [c for c in FLOAT_COMBOS if c[1] != "IP"], ids=combo_id)
def test_each_segment_and_growing_rows_found(mclient, corpora, combo):
    """A query equal to a stored vector finds that row first (L2 0, COSINE 1), whether it
    lives in the first or second sealed segment or in growing data."""
    corpus = fc(corpora, combo)
    positions = [p for p in (3, 450, 901, 1500, 1801, 1950, 1999) if ALIVE[p]]
    res = corpus.search(mclient, FLOAT_VECTORS[positions], limit=3)
    for p, hits in zip(positions, res):
        assert hits[0][PK] == PKS[p], f"row {p}: top hit {hits[0]}, want pk {PKS[p]}"
        want = 0.0 if corpus.metric == "L2" else 1.0
        assert abs(hits[0]["distance"] - want) < 1e-4, hits[0]


@pytest.mark.parametrize("combo", FLOAT_COMBOS + [("BIN_FLAT", "HAMMING")], ids=combo_id)
def test_deleted_rows_never_returned(mclient, corpora, combo):
    """Queries sitting on deleted rows (early and late deletes, every segment and growing
    data): no deleted pk comes back, and the rest matches brute force."""
    corpus = fc(corpora, combo)
    deleted = np.flatnonzero(~ALIVE)
    picks = [p for p in deleted if p in (0, 5, 920, 1196, 1811, 1965)] + list(deleted[::15][:6])
    queries = corpus.vectors[picks]
    res = corpus.search(mclient, queries, limit=20)
    dead = set(PKS[~ALIVE].tolist())
    for hits in res:
        assert not dead & {h[PK] for h in hits}, f"deleted pks returned: {dead & {h[PK] for h in hits}}"
    recalls = check_results(corpus, res, queries, 20)
    assert np.mean(recalls) >= RECALL


# ---- filters -------------------------------------------------------------------------------

SELECTIVITY = {"50pct": ("bucket < 50", BUCKET < 50), "10pct": ("bucket < 10", BUCKET < 10),
               "1pct": ("bucket == 42", BUCKET == 42)}


@pytest.mark.parametrize("selectivity", list(SELECTIVITY))
@pytest.mark.parametrize("combo", FLOAT_COMBOS, ids=combo_id)
def test_filtered_search(mclient, corpora, combo, selectivity):
    corpus = fc(corpora, combo)
    expr, mask = SELECTIVITY[selectivity]
    res = corpus.search(mclient, FLOAT_QUERIES, filter=expr, output_fields=["bucket"])
    allowed = set(PKS[mask & ALIVE].tolist())
    for hits in res:
        for h in hits:
            assert h[PK] in allowed, f"{h} does not satisfy {expr} (or is deleted)"
            assert eval(expr, {}, {"bucket": h["entity"]["bucket"]}), h
    recalls = check_results(corpus, res, FLOAT_QUERIES, K, mask, what=expr)
    assert np.mean(recalls) >= RECALL, f"{corpus.name} {expr}: recall {np.mean(recalls):.3f} {recalls}"


@pytest.mark.parametrize("combo", BINARY_COMBOS, ids=combo_id)
def test_binary_filtered_search(mclient, corpora, combo):
    corpus = fc(corpora, combo)
    mask = (BUCKET < 10) & (G7 != 3)
    res = corpus.search(mclient, BINARY_QUERIES, filter="bucket < 10 and g7 != 3")
    recalls = check_results(corpus, res, BINARY_QUERIES, K, mask)
    assert np.mean(recalls) >= RECALL, recalls


@pytest.mark.parametrize("combo", [("FLAT", "L2"), ("HNSW", "COSINE")], ids=combo_id)
def test_filter_template_matches_literal(mclient, corpora, combo):
    corpus = fc(corpora, combo)
    literal = corpus.search(mclient, FLOAT_QUERIES, filter='bucket in [3, 14, 15, 92] and tag != "t1"')
    templated = corpus.search(
        mclient, FLOAT_QUERIES, filter="bucket in {b} and tag != {t}",
        filter_params={"b": [3, 14, 15, 92], "t": "t1"},
    )
    assert [hits_of(h, PK)[0] for h in templated] == [hits_of(h, PK)[0] for h in literal]
    tags = np.array([f"t{i % 5}" for i in range(N)])
    mask = np.isin(BUCKET, [3, 14, 15, 92]) & (tags != "t1")
    recalls = check_results(corpus, templated, FLOAT_QUERIES, K, mask)
    assert np.mean(recalls) >= RECALL


# ---- offset ----------------------------------------------------------------------------------


@pytest.mark.parametrize("combo", FLOAT_COMBOS, ids=combo_id)
def test_offset_skips_exactly(mclient, corpora, combo):
    corpus = fc(corpora, combo)
    whole = corpus.search(mclient, FLOAT_QUERIES, limit=15)
    page = corpus.search(mclient, FLOAT_QUERIES, limit=10, offset=5)
    truth = corpus.scores(FLOAT_QUERIES)
    for q, (w, p, scores) in enumerate(zip(whole, page, truth)):
        assert hits_of(p, PK)[0] == hits_of(w, PK)[0][5:15], f"query {q}: offset page != ranks 5..14"
        if corpus.exact:
            want = ranked(corpus.metric, scores)[5:15]
            for (wid, ws), h in zip(want, p):
                assert score_close(h["distance"], ws), f"query {q}: {h} vs rank value {ws}"


# ---- group by --------------------------------------------------------------------------------


def best_per_group(metric: str, scores: dict, group_of: dict, groups: int, size: int = 1) -> list:
    """Brute-force group-by: the `size` best rows of each group, for the `groups` groups
    whose best row is best; [(group, [(id, score)...])]."""
    per: dict = {}
    for i, s in ranked(metric, scores):
        g = group_of[i]
        per.setdefault(g, [])
        if len(per[g]) < size:
            per[g].append((i, s))
    order = sorted(per.items(), key=lambda kv: (-kv[1][0][1] if higher_is_closer(metric) else kv[1][0][1]))
    return order[:groups]


@pytest.mark.parametrize("group_field", ["grp", "g7"])
@pytest.mark.parametrize("combo", [c for c in FLOAT_COMBOS if c[0] in ("FLAT", "HNSW")], ids=combo_id)
def test_group_by_one_hit_per_group(mclient, corpora, combo, group_field):
    """group_by returns `limit` distinct groups (there are 20 `grp` values, 7 `g7`
    values), one hit each, and for FLAT exactly the best row of the best groups. `grp`
    is the cluster label: a query's nearest rows all share one value, so the server must
    look past them to fill the other groups."""
    corpus = fc(corpora, combo)
    limit = 5
    res = corpus.search(mclient, FLOAT_QUERIES, limit=limit, group_by_field=group_field, output_fields=[group_field])
    truth = corpus.scores(FLOAT_QUERIES)
    group_of = dict(zip(PKS.tolist(), corpus.columns[group_field].tolist()))
    for q, (hits, scores) in enumerate(zip(res, truth)):
        groups = [h["entity"][group_field] for h in hits]
        for h in hits:
            assert group_of[h[PK]] == h["entity"][group_field], h
        assert len(set(groups)) == len(groups), f"query {q}: groups repeat: {groups}"
        want = best_per_group(corpus.metric, scores, group_of, limit)
        assert len(hits) == len(want), (
            f"{corpus.name} query {q}: {len(hits)} groups {groups}, want {len(want)} "
            f"{[g for g, _ in want]}"
        )
        assert_sorted_scores(corpus.metric, [h["distance"] for h in hits], f"query {q}")
        if corpus.exact:
            assert groups == [g for g, _ in want], f"query {q}: groups {groups}, want {[g for g, _ in want]}"
            for h, (g, best) in zip(hits, want):
                assert score_close(h["distance"], best[0][1]), (h, best)


def test_group_by_group_size_two(mclient, corpora):
    corpus = fc(corpora, ("FLAT", "L2"))
    limit, size = 4, 2
    res = corpus.search(mclient, FLOAT_QUERIES, limit=limit, group_by_field="g7", group_size=size,
                        output_fields=["g7"])
    truth = corpus.scores(FLOAT_QUERIES)
    group_of = dict(zip(PKS.tolist(), G7.tolist()))
    for q, (hits, scores) in enumerate(zip(res, truth)):
        want = best_per_group("L2", scores, group_of, limit, size)
        got: dict = {}
        for h in hits:
            got.setdefault(h["entity"]["g7"], []).append(h["distance"])
        assert sorted(got) == sorted(g for g, _ in want), f"query {q}: groups {sorted(got)}, want {[g for g, _ in want]}"
        for g, rows in want:
            assert len(got[g]) == size, f"query {q} group {g}: {got[g]}"
            for d, (_, s) in zip(sorted(got[g]), rows):
                assert score_close(d, s), (q, g, got[g], rows)


# ---- range search ------------------------------------------------------------------------------


def range_bounds(metric: str, ordered: list, inner: int, outer: int) -> tuple:
    """(radius, range_filter) between ranks: rows of rank inner..outer-1 are in range."""
    s = [v for _, v in ordered]
    return (s[outer - 1] + s[outer]) / 2, (s[inner - 1] + s[inner]) / 2


@pytest.mark.parametrize(
    "combo",
    [c for c in FLOAT_COMBOS if c[0] in ("FLAT", "IVF_FLAT", "HNSW")] + [("BIN_FLAT", "JACCARD")],
    ids=combo_id,
)
def test_range_search(mclient, corpora, combo):
    """radius/range_filter: exactly the brute-force rows with range_filter <= d < radius
    (L2; IP/COSINE: radius < s <= range_filter), best first, capped by limit."""
    corpus = fc(corpora, combo)
    queries = FLOAT_QUERIES[:6] if not corpus.binary else BINARY_QUERIES[:6]
    truth = corpus.scores(queries)
    for q, scores in enumerate(truth):
        order = ranked(corpus.metric, scores)
        values = [v for _, v in order]
        # Find ranks whose neighbours are well apart so rounding cannot move a row across.
        def gap_ok(r):
            return abs(values[r] - values[r - 1]) > 1e-3
        inner = next(r for r in range(5, 40) if gap_ok(r))
        outer = next(r for r in range(inner + 25, 200) if gap_ok(r))
        radius, range_filter = range_bounds(corpus.metric, order, inner, outer)
        want = order[inner:outer]
        params = dict(corpus.params, radius=radius, range_filter=range_filter)
        res = corpus.search(mclient, queries[q : q + 1], limit=500, params=params)[0]
        ids, dists = hits_of(res, PK)
        label = f"{corpus.name} query {q} radius {radius} range_filter {range_filter}"
        for i, d in zip(ids, dists):
            inside = (range_filter >= d > radius) if higher_is_closer(corpus.metric) else (range_filter <= d < radius)
            assert inside, f"{label}: {i} at {d} is outside the range"
        assert_sorted_scores(corpus.metric, dists, label)
        if corpus.exact:
            inside = dict(want)
            assert_exact_topk(corpus.metric, ids, dists, inside, 500, label)
            # limit caps a range search: the best `limit` rows in range.
            capped = corpus.search(mclient, queries[q : q + 1], limit=7, params=params)[0]
            assert_exact_topk(corpus.metric, *hits_of(capped, PK), inside, 7, label + " limit 7")
            # radius alone: everything closer than the radius.
            only = corpus.search(mclient, queries[q : q + 1], limit=500, params=dict(corpus.params, radius=radius))[0]
            assert_exact_topk(corpus.metric, *hits_of(only, PK), dict(order[:outer]), 500, label + " radius only")
        else:
            found = len(set(ids) & {i for i, _ in want}) / len(want)
            assert found >= RECALL, f"{label}: range recall {found:.3f}"


# ---- search params -------------------------------------------------------------------------------


def test_ivf_nprobe_is_honoured(mclient, corpora):
    """nprobe = nlist is exact; nprobe = 1 (one list of 16 probed) misses rows for the
    queries between clusters; both forms of passing nprobe work."""
    corpus = fc(corpora, ("IVF_FLAT", "L2"))
    truth = corpus.scores(FLOAT_QUERIES)
    nested = corpus.search(mclient, FLOAT_QUERIES, params={"nprobe": NLIST})
    flat = mclient.search(
        corpus.name, data=corpus.query_data(FLOAT_QUERIES), limit=K, anns_field="vec",
        search_params={"metric_type": "L2", "nprobe": NLIST},
    )
    assert [hits_of(h, PK)[0] for h in flat] == [hits_of(h, PK)[0] for h in nested]
    one = corpus.search(mclient, FLOAT_QUERIES, params={"nprobe": 1})
    r_one = np.mean([tie_aware_recall("L2", hits_of(h, PK)[0], s, K) for h, s in zip(one, truth)])
    r_all = np.mean([tie_aware_recall("L2", hits_of(h, PK)[0], s, K) for h, s in zip(nested, truth)])
    assert r_all == 1.0
    assert r_one < 1.0, "nprobe=1 gave exact results for every query: is nprobe ignored?"
    with expect_error(INVALID_PARAMETER, "nprobe"):
        corpus.search(mclient, FLOAT_QUERIES[:1], params={"nprobe": 0})


def test_hnsw_ef_forms_agree(mclient, corpora):
    corpus = fc(corpora, ("HNSW", "L2"))
    nested = corpus.search(mclient, FLOAT_QUERIES, params={"ef": 64})
    flat = mclient.search(
        corpus.name, data=corpus.query_data(FLOAT_QUERIES), limit=K, anns_field="vec",
        search_params={"metric_type": "L2", "ef": 64},
    )
    assert [hits_of(h, PK)[0] for h in flat] == [hits_of(h, PK)[0] for h in nested]
