"""Scalar indexes (INVERTED, STL_SORT, AUTOINDEX) answer simple filters; results must be
exactly those of the same filters over an unindexed copy of the data."""

from __future__ import annotations

import time

import pytest
from pymilvus import DataType, MilvusClient

ROWS = 600

FILTERS = [
    "category == 3",
    "category != 3",
    "category in [1, 2, 9]",
    "category not in [1, 2]",
    "1 < category <= 4",
    "category >= 7",
    "category < 0",
    "small == 5",
    "small > 300",
    "name == 'n17'",
    "name >= 'n5'",
    "name in ['n1', 'n2', 'nope']",
    "flag == true",
    "flag != false",
    "maybe == 2",
    "maybe != 2",
    "category == 3.0",
    "category == 3 and name like 'n1%'",
]


def _schema() -> object:
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("category", DataType.INT64)
    schema.add_field("small", DataType.INT8)
    schema.add_field("name", DataType.VARCHAR, max_length=16)
    schema.add_field("flag", DataType.BOOL)
    schema.add_field("maybe", DataType.INT32, nullable=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    return schema


def _rows() -> list[dict]:
    return [
        {
            "pk": i,
            "category": i % 10,
            "small": (i % 200) - 100,
            "name": f"n{i % 37}",
            "flag": i % 3 == 0,
            "maybe": None if i % 4 == 0 else i % 5,
            "v": [float(i % 7), 1.0, 0.5, float(i % 3)],
        }
        for i in range(ROWS)
    ]


def _load(client: MilvusClient, name: str, scalar_indexes: bool) -> None:
    index = client.prepare_index_params()
    index.add_index("v", index_type="FLAT", metric_type="L2")
    if scalar_indexes:
        index.add_index("category", index_type="INVERTED")
        index.add_index("small", index_type="STL_SORT")
        index.add_index("name", index_type="INVERTED")
        index.add_index("flag", index_type="AUTOINDEX")
        index.add_index("maybe", index_type="STL_SORT")
    client.create_collection(name, schema=_schema(), index_params=index)
    client.insert(name, _rows())
    client.delete(name, ids=[3, 13, 23])
    client.flush(name)
    client.insert(name, [{**r, "pk": r["pk"] + 10_000} for r in _rows()[:50]])  # growing rows too
    client.load_collection(name)


@pytest.fixture(scope="module")
def pair(server):
    # One pair of collections for the whole module (this module does not use the
    # per-test `client` fixture, whose cleanup would drop them).
    client = server.client()
    plain, indexed = "scalar_plain", "scalar_indexed"
    _load(client, plain, scalar_indexes=False)
    _load(client, indexed, scalar_indexes=True)
    time.sleep(1)  # let the background builder index the loaded segments
    yield client, plain, indexed
    client.drop_collection(plain)
    client.drop_collection(indexed)


@pytest.mark.parametrize("expr", FILTERS)
def test_indexed_filters_match_a_scan(pair, expr: str):
    client, plain, indexed = pair
    want = sorted(r["pk"] for r in client.query(plain, filter=expr, output_fields=["pk"], limit=16384))
    got = sorted(r["pk"] for r in client.query(indexed, filter=expr, output_fields=["pk"], limit=16384))
    assert got == want
    count = client.query(indexed, filter=expr, output_fields=["count(*)"])[0]["count(*)"]
    assert count == len(want)


def test_indexed_filters_restrict_search(pair):
    client, plain, indexed = pair
    for expr in ["category == 3", "name in ['n1', 'n2']", "2 <= category < 5"]:
        hits = client.search(indexed, data=[[1.0, 1.0, 0.5, 1.0]], limit=20, filter=expr, output_fields=["category", "name"])[0]
        want = client.search(plain, data=[[1.0, 1.0, 0.5, 1.0]], limit=20, filter=expr)[0]
        assert sorted(h["pk"] for h in hits) == sorted(h["pk"] for h in want)
        assert len(hits) == 20


def test_scalar_index_descriptions(pair):
    client, _, indexed = pair
    assert sorted(client.list_indexes(indexed)) == ["category", "flag", "maybe", "name", "small", "v"]
    assert client.describe_index(indexed, "small")["index_type"] == "STL_SORT"
    assert client.describe_index(indexed, "name")["state"] == "Finished"
