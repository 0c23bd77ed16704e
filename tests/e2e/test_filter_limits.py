"""No filter can take the server down: very long chains of `and`/`or` work, and nesting
deeper than the filter language's limit is refused with code 1100 naming the limit,
through query, search and delete alike, and the server keeps serving."""

from __future__ import annotations

import pytest
from pymilvus import DataType, MilvusClient

from helpers import INVALID_PARAMETER, count_rows, expect_error

ROWS = 50


@pytest.fixture
def coll(client, unique_name):
    name = unique_name("flt")
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("n", DataType.INT64)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    client.create_collection(name, schema=schema)
    client.insert(name, [{"id": i, "n": i % 7, "vec": [float(i), 1.0, 0.0, 0.0]} for i in range(ROWS)])
    client.load_collection(name)
    return name


def nested(depth: int) -> str:
    return "(" * depth + "id >= 0" + ")" * depth


DEEP = [
    pytest.param(nested(5_000), id="5000 parentheses"),
    pytest.param("not " * 5_000 + "id >= 0", id="5000 nots"),
    pytest.param("id >= " + "-" * 5_000 + "1", id="5000 unary minus"),
    pytest.param("id >= " + "(" * 5_000 + "1" + ")" * 5_000, id="5000 parenthesised literal"),
]


def test_long_and_or_chains_are_answered(client, coll):
    # About 14 KB of `and`s (what once overflowed a server thread's stack), and longer.
    conjunction = " and ".join(["id >= 0"] * 1_250 + ["n == 3"])
    assert count_rows(client, coll, conjunction) == len([i for i in range(ROWS) if i % 7 == 3])
    disjunction = " or ".join(f"id == {i}" for i in range(20_000))
    assert count_rows(client, coll, disjunction) == ROWS
    hits = client.search(coll, data=[[0.0, 1.0, 0.0, 0.0]], limit=3, filter=conjunction)
    assert [h["id"] for h in hits[0]] == [3, 10, 17]


@pytest.mark.parametrize("deep", DEEP)
def test_too_deep_filters_are_refused_and_the_server_survives(client, coll, deep):
    with expect_error(INVALID_PARAMETER, "nest"):
        client.query(coll, filter=deep, output_fields=["id"], limit=1)
    with expect_error(INVALID_PARAMETER, "nest"):
        client.search(coll, data=[[0.0, 1.0, 0.0, 0.0]], limit=3, filter=deep)
    with expect_error(INVALID_PARAMETER, "nest"):
        client.delete(coll, filter=deep)
    assert count_rows(client, coll) == ROWS, "nothing was deleted and the server still answers"


def test_a_long_chain_deletes_exactly_its_rows(client, coll):
    doomed = list(range(0, ROWS, 2))
    client.delete(coll, filter=" or ".join(f"(id == {i} and n == {i % 7})" for i in doomed))
    assert count_rows(client, coll) == ROWS - len(doomed)
