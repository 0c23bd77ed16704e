"""Search by primary keys (Milvus 2.6, pymilvus `search(ids=...)`): the stored vectors of
the named rows are the queries."""

from __future__ import annotations

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from helpers import INVALID_PARAMETER, UNEXPECTED, expect_error

DIM = 8
ROWS = 300


def make(client: MilvusClient, name: str, pk_type=DataType.INT64, binary=False) -> np.ndarray:
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((ROWS, DIM)).astype(np.float32)
    schema = MilvusClient.create_schema(auto_id=False)
    pk_args = {"max_length": 16} if pk_type == DataType.VARCHAR else {}
    schema.add_field("pk", pk_type, is_primary=True, **pk_args)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("tag", DataType.INT64)
    if binary:
        schema.add_field("b", DataType.BINARY_VECTOR, dim=16)
    index = client.prepare_index_params()
    index.add_index("v", index_type="FLAT", metric_type="L2")
    if binary:
        index.add_index("b", index_type="BIN_FLAT", metric_type="HAMMING")
    client.create_collection(name, schema=schema, index_params=index)
    key = (lambda i: f"k{i}") if pk_type == DataType.VARCHAR else (lambda i: i)
    rows = [{"pk": key(i), "v": vectors[i].tolist(), "tag": i % 3} for i in range(ROWS)]
    if binary:
        for i, row in enumerate(rows):
            row["b"] = bytes([i % 256, (i * 7) % 256])
    client.insert(name, rows[:200])
    client.flush(name)
    client.insert(name, rows[200:])  # growing rows are found too
    client.load_collection(name)
    return vectors


def test_keys_search_like_their_vectors(client: MilvusClient, unique_name):
    name = unique_name("bypk")
    vectors = make(client, name)
    keys = [3, 150, 250]
    by_keys = client.search(name, ids=keys, limit=5, output_fields=["tag"])
    by_vectors = client.search(name, data=vectors[keys].tolist(), limit=5, output_fields=["tag"])
    assert len(by_keys) == 3
    for key, got, want in zip(keys, by_keys, by_vectors):
        assert got[0]["pk"] == key and got[0]["distance"] == pytest.approx(0.0, abs=1e-5)
        assert [(h["pk"], h["entity"]["tag"]) for h in got] == [(h["pk"], h["entity"]["tag"]) for h in want]
    filtered = client.search(name, ids=[3], limit=5, filter="tag == 1")
    assert all(h["pk"] % 3 == 1 for h in filtered[0]) and len(filtered[0]) == 5


def test_varchar_keys(client: MilvusClient, unique_name):
    name = unique_name("bypk")
    make(client, name, pk_type=DataType.VARCHAR)
    hits = client.search(name, ids=["k7", "k260"], limit=3)
    assert [row[0]["pk"] for row in hits] == ["k7", "k260"]


def test_refusals(client: MilvusClient, unique_name):
    name = unique_name("bypk")
    make(client, name, binary=True)
    with expect_error(INVALID_PARAMETER, "multiple vector fields exist, please specify anns_field in search_params"):
        client.search(name, ids=[1], limit=3)
    assert client.search(name, ids=[1], limit=3, anns_field="b")[0][0]["pk"] == 1
    with expect_error(INVALID_PARAMETER, "some of the provided primary key IDs do not exist: missing IDs [9999]"):
        client.search(name, ids=[1, 9999], limit=3, anns_field="v")
    with expect_error(INVALID_PARAMETER, "duplicate IDs found in search request"):
        client.search(name, ids=[1, 1], limit=3, anns_field="v")
    with expect_error(INVALID_PARAMETER, "primary key is int64, but IDs type mismatch"):
        client.search(name, ids=["a"], limit=3, anns_field="v")
    client.create_partition(name, "empty")
    client.load_partitions(name, ["empty"])
    # The keys are looked up in the partitions searched.
    with expect_error(INVALID_PARAMETER, "missing IDs [1]"):
        client.search(name, ids=[1], limit=3, anns_field="v", partition_names=["empty"])
    with expect_error(UNEXPECTED, "partition name nowhere not found"):
        client.search(name, ids=[1], limit=3, anns_field="v", partition_names=["nowhere"])
