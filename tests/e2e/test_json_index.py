"""JSON path indexes: `create_index` on a path of a JSON field or on a key of the dynamic
field, with `json_path` and `json_cast_type` as Milvus takes them. Filters on indexed
paths must return exactly what the same filters return over an unindexed copy of the
data, whatever types the rows hold at the path; the indexes are described, dropped,
kept across a restart and carried by snapshots as Milvus's are."""

from __future__ import annotations

import random
import time

import pytest
from pymilvus import DataType, MilvusClient, MilvusException

from helpers import wait_restore

ROWS = 3000
# The types a path holds, mixed on purpose: a row whose value is not of an index's cast
# type is not indexed, and a filter on it must still find it by evaluation.
SCALARS = [0, 1, 2, 3, 3.0, 3.5, -7, 1e3, "3", "x1", "x2", "x9", "", True, False, None]

# (field or dynamic key, json_path, json_cast_type, index_type)
INDEXES = [
    ("j", "j['a']", "DOUBLE", "INVERTED"),
    ("j", "j['s']", "VARCHAR", "INVERTED"),
    ("j", "j['flag']", "BOOL", "AUTOINDEX"),
    ("j", "j['any']", "JSON", "INVERTED"),
    ("j", "j['deep']['b']", "double", "INVERTED"),
    ("j", "j['tags']", "ARRAY_DOUBLE", "INVERTED"),
    ("j", "j['names']", "array_varchar", "INVERTED"),
    ("j", "j['bools']", "ARRAY_BOOL", "INVERTED"),
    ("j", "j['list'][0]", "DOUBLE", "INVERTED"),
    ("color", "color", "VARCHAR", "INVERTED"),
    ("size", "size", "DOUBLE", "AUTOINDEX"),
    ("meta", "meta['k']", "VARCHAR", "INVERTED"),
]

FILTERS = [
    'j["a"] == 3',
    'j["a"] == 3.0',
    'j["a"] == 3.5',
    'j["a"] != 3',
    'j["a"] in [1, 2, 3.5, 1000]',
    'j["a"] not in [1, 2]',
    '1 < j["a"] <= 3.5',
    'j["a"] > 2',
    'j["a"] >= 1000',
    'j["a"] < 0',
    'j["a"] == "3"',
    'j["a"] == true',
    'j["a"] in ["x1", 3]',
    'j["s"] == "x1"',
    'j["s"] != "x1"',
    'j["s"] >= "x2"',
    'j["s"] in ["x1", "x9", ""]',
    'j["s"] == 3',
    'j["flag"] == true',
    'j["flag"] != false',
    'j["flag"] in [true]',
    'j["any"] == 1',
    'j["any"] == "3"',
    'j["any"] in [1, "x1", true, 3.5]',
    'j["any"] != 0',
    'j["any"] > 2',
    'j["deep"]["b"] == 2',
    'j["deep"]["b"] < 2',
    'json_contains(j["tags"], 3)',
    'json_contains(j["tags"], "3")',
    'json_contains_all(j["tags"], [1, 2])',
    'json_contains_any(j["tags"], [1, 9, 3.5])',
    'json_contains(j["names"], "x1")',
    'json_contains_any(j["names"], ["x1", "x2"])',
    'json_contains_all(j["names"], ["x1", "x2"])',
    'json_contains(j["bools"], true)',
    'json_contains_all(j["bools"], [true, false])',
    'j["list"][0] == 2',
    'j["list"][0] > 1',
    'color == "red"',
    'color != "red"',
    'color in ["red", "blue", "nope"]',
    'color > "c"',
    '$meta["color"] == "red"',
    'color == 3',
    'size > 5',
    'size == 3',
    '2 <= size < 7',
    'meta["k"] == "x2"',
    'j["a"] > 2 and color == "red"',
    'j["a"] == 3 or j["s"] == "x1"',
]


def _scalar(rng: random.Random):
    return rng.choice(SCALARS)


def _value(rng: random.Random):
    """A value at a path: mostly scalars, sometimes arrays, objects, or nothing."""
    roll = rng.random()
    if roll < 0.7:
        return _scalar(rng)
    if roll < 0.85:
        return [_scalar(rng) for _ in range(rng.randrange(4))]
    return {"b": _scalar(rng)}


def _rows() -> list[dict]:
    rng = random.Random(12)
    rows = []
    for i in range(ROWS):
        doc = {}
        for key in ["a", "s", "flag", "any", "tags", "names", "bools", "list"]:
            if rng.random() < 0.9:
                doc[key] = _value(rng)
        doc["deep"] = {"b": _scalar(rng)} if rng.random() < 0.8 else _scalar(rng)
        row = {"pk": i, "v": [float(i % 7), 1.0, 0.5, float(i % 3)], "meta": {"k": _value(rng)}}
        # Every fifth document is not an object at all (pymilvus would parse a string
        # there as JSON text, so those are numbers, bools, arrays or null).
        row["j"] = rng.choice([3, 2.5, True, None, [1, "x1"]]) if i % 5 == 0 else doc
        if rng.random() < 0.8:
            row["color"] = rng.choice(["red", "blue", "green", 3, None, ["red"]])
        if rng.random() < 0.8:
            row["size"] = rng.choice([1, 2, 3, 3.0, 6.5, 7, 10, "3", True, None])
        rows.append(row)
    return rows


def _schema():
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    schema.add_field("j", DataType.JSON, nullable=True)
    schema.add_field("meta", DataType.JSON)
    return schema


def _index_params(client: MilvusClient, json_indexes: bool):
    params = client.prepare_index_params()
    params.add_index("v", index_type="FLAT", metric_type="L2")
    if json_indexes:
        for field, path, cast, index_type in INDEXES:
            params.add_index(field, index_type=index_type, params={"json_path": path, "json_cast_type": cast})
    return params


def _fill(client: MilvusClient, name: str, json_indexes: bool) -> None:
    client.create_collection(name, schema=_schema(), index_params=_index_params(client, json_indexes))
    rows = _rows()
    client.insert(name, rows[: ROWS // 2])
    client.flush(name)
    client.insert(name, rows[ROWS // 2 :])
    client.delete(name, ids=list(range(0, ROWS, 97)))
    client.flush(name)
    client.insert(name, [{**r, "pk": r["pk"] + 100_000} for r in rows[:100]])  # growing rows too
    client.load_collection(name)


def _matches(client: MilvusClient, name: str, expr: str) -> list[int]:
    return sorted(r["pk"] for r in client.query(name, filter=expr, output_fields=["pk"], limit=16384))


def _wait_indexed(client: MilvusClient, name: str) -> None:
    deadline = time.monotonic() + 30
    for index in client.list_indexes(name):
        while client.describe_index(name, index)["state"] != "Finished":
            assert time.monotonic() < deadline, client.describe_index(name, index)
            time.sleep(0.1)


@pytest.fixture(scope="module")
def pair(server):
    # One pair for the whole module (the per-test `client` fixture would drop them).
    client = server.client()
    plain, indexed = "json_plain", "json_indexed"
    _fill(client, plain, json_indexes=False)
    _fill(client, indexed, json_indexes=True)
    _wait_indexed(client, indexed)
    time.sleep(1)  # the builder indexes loaded segments in the background
    yield client, plain, indexed
    client.drop_collection(plain)
    client.drop_collection(indexed)


@pytest.mark.parametrize("expr", FILTERS)
def test_indexed_json_filters_match_evaluation(pair, expr: str):
    client, plain, indexed = pair
    want = _matches(client, plain, expr)
    assert _matches(client, indexed, expr) == want
    count = client.query(indexed, filter=expr, output_fields=["count(*)"])[0]["count(*)"]
    assert count == len(want)


def test_indexed_json_filters_restrict_search(pair):
    client, plain, indexed = pair
    query = [[1.0, 1.0, 0.5, 1.0]]
    for expr in ['j["a"] in [1, 3]', 'color == "red"', 'json_contains_any(j["tags"], [1, 2])']:
        want = client.search(plain, data=query, limit=30, filter=expr)[0]
        got = client.search(indexed, data=query, limit=30, filter=expr)[0]
        assert len(got) == 30
        assert sorted(h["pk"] for h in got) == sorted(h["pk"] for h in want)


def test_json_indexes_are_described_as_milvus_does(pair):
    client, _, indexed = pair
    names = {
        "j/a", "j/s", "j/flag", "j/any", "j/deep/b", "j/tags", "j/names", "j/bools", "j/list/0",
        "$meta/color", "$meta/size", "meta/k", "v",
    }
    assert set(client.list_indexes(indexed)) == names
    d = client.describe_index(indexed, "j/deep/b")
    assert (d["field_name"], d["index_type"], d["json_path"], d["json_cast_type"]) == ("j", "INVERTED", "j['deep']['b']", "double")
    d = client.describe_index(indexed, "$meta/color")
    assert (d["field_name"], d["index_type"], d["json_path"], d["json_cast_type"]) == ("color", "INVERTED", "color", "VARCHAR")
    assert d["state"] == "Finished" and d["total_rows"] == d["indexed_rows"]
    assert sorted(client.list_indexes(indexed, field_name="j")) == sorted(n for n in names if n.startswith("j/"))
    assert client.list_indexes(indexed, field_name="size") == ["$meta/size"]


def test_create_describe_drop(client: MilvusClient, unique_name):
    name = unique_name("jidx")
    client.create_collection(name, schema=_schema(), index_params=_index_params(client, json_indexes=False))
    params = client.prepare_index_params()
    params.add_index("j", index_name="by_a", index_type="INVERTED", params={"json_path": "j['a']", "json_cast_type": "double"})
    params.add_index("j", index_type="INVERTED", params={"json_path": "j['b'][1]", "json_cast_type": "varchar"})
    params.add_index("j", index_type="AUTOINDEX", params={"json_cast_type": "json"})
    params.add_index("shade", index_type="INVERTED", params={"json_cast_type": "VARCHAR"})
    client.create_index(name, params)
    client.create_index(name, params)  # the same definitions again change nothing
    assert sorted(client.list_indexes(name)) == ["$meta/shade", "by_a", "j", "j/b/1", "v"]
    whole = client.describe_index(name, "j")
    assert (whole["json_path"], whole["json_cast_type"], whole["index_type"]) == ("j", "json", "AUTOINDEX")
    assert client.describe_index(name, "$meta/shade")["json_path"] == "shade"

    # As in Milvus, a loaded collection keeps its vector index but may lose others.
    with pytest.raises(MilvusException) as err:
        client.drop_index(name, "v")
    assert err.value.code == 1100 and err.value.message.startswith("vector index cannot be dropped on loaded collection"), err.value
    client.drop_index(name, "j/b/1")
    assert sorted(client.list_indexes(name)) == ["$meta/shade", "by_a", "j", "v"]
    client.drop_index(name, "$meta/shade")
    client.drop_index(name, "by_a")
    assert sorted(client.list_indexes(name)) == ["j", "v"]
    # A dropped path can be indexed again, with another cast.
    again = client.prepare_index_params()
    again.add_index("j", index_name="by_a", index_type="INVERTED", params={"json_path": "j['a']", "json_cast_type": "VARCHAR"})
    client.create_index(name, again)
    assert client.describe_index(name, "by_a")["json_cast_type"] == "VARCHAR"


def _refused(client: MilvusClient, name: str, field: str, index_type: str, params: dict) -> MilvusException:
    index = client.prepare_index_params()
    index.add_index(field, index_name="bad", index_type=index_type, params=params)
    with pytest.raises(MilvusException) as err:
        client.create_index(name, index)
    return err.value


def test_refusals_in_milvus_words(client: MilvusClient, unique_name):
    name = unique_name("jbad")
    client.create_collection(name, schema=_schema(), index_params=_index_params(client, json_indexes=False))
    suffix = ": invalid parameter[expected=valid index params][actual=invalid index params]"

    e = _refused(client, name, "j", "INVERTED", {"json_path": "j['a']"})
    assert (e.code, e.message) == (1100, "json index must specify cast type: missing parameter[missing_param=json_cast_type]" + suffix)
    e = _refused(client, name, "j", "INVERTED", {"json_path": "j['a']", "json_cast_type": "INT64"})
    assert (e.code, e.message) == (1100, "json_cast_type INT64 is not supported" + suffix)
    e = _refused(client, name, "j", "STL_SORT", {"json_path": "j['a']", "json_cast_type": "DOUBLE"})
    assert (e.code, e.message) == (1100, "STL_SORT are only supported on numeric, varchar or timestamptz field, got JSON" + suffix)
    e = _refused(client, name, "j", "BITMAP", {"json_path": "j['a']", "json_cast_type": "DOUBLE"})
    assert (e.code, e.message) == (1100, "bitmap index are only supported on bool, int, string and array field" + suffix)
    e = _refused(client, name, "j", "TRIE", {"json_path": "j['a']", "json_cast_type": "VARCHAR"})
    assert (e.code, e.message) == (1100, "TRIE are only supported on varchar field" + suffix)
    e = _refused(client, name, "j", "not_an_index", {"json_path": "j['a']", "json_cast_type": "DOUBLE"})
    assert e.code == 1100 and e.message.startswith("invalid parameter[expected=valid index][actual=invalid index type: not_an_index]"), e
    e = _refused(client, name, "j", "INVERTED", {"json_path": "/", "json_cast_type": "DOUBLE"})
    assert e.code == 65535 and e.message.startswith("cannot parse identifier: /"), e

    ok = client.prepare_index_params()
    ok.add_index("j", index_name="taken", index_type="INVERTED", params={"json_path": "j['a']", "json_cast_type": "DOUBLE"})
    client.create_index(name, ok)
    e = _refused(client, name, "j", "INVERTED", {"json_path": "j['a']", "json_cast_type": "VARCHAR"})
    assert (e.code, e.message) == (65535, "CreateIndex failed: creating multiple indexes on same field is not supported"), e
    clash = client.prepare_index_params()
    clash.add_index("j", index_name="taken", index_type="INVERTED", params={"json_path": "j['a']", "json_cast_type": "VARCHAR"})
    with pytest.raises(MilvusException) as err:
        client.create_index(name, clash)
    assert (err.value.code, err.value.message) == (65535, "CreateIndex failed: at most one distinct index is allowed per field")


def test_dynamic_keys_need_a_dynamic_field(client: MilvusClient, unique_name):
    name = unique_name("jstatic")
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    client.create_collection(name, schema=schema, index_params=_index_params(client, json_indexes=False))
    e = _refused(client, name, "color", "INVERTED", {"json_path": "color", "json_cast_type": "VARCHAR"})
    assert (e.code, e.message) == (65535, "cannot create index on non-exist field: color")


def _fill_small(client: MilvusClient, name: str) -> None:
    client.create_collection(name, schema=_schema(), index_params=_index_params(client, json_indexes=True))
    client.insert(name, _rows()[:600])
    client.flush(name)
    client.load_collection(name)


SMALL_FILTERS = ['j["a"] in [1, 3]', 'color == "red"', 'json_contains(j["tags"], 2)', 'size >= 3']


def _described(client: MilvusClient, name: str) -> dict:
    out = {}
    for index in client.list_indexes(name):
        d = client.describe_index(name, index)
        out[index] = (d["field_name"], d["index_type"], d.get("json_path"), d.get("json_cast_type"))
    return out


def test_json_indexes_survive_a_restart(fresh_server):
    client = fresh_server.client()
    _fill_small(client, "kept")
    before = _described(client, "kept")
    want = {expr: _matches(client, "kept", expr) for expr in SMALL_FILTERS}
    assert all(want.values()), want
    fresh_server.restart()
    client = fresh_server.client()
    assert _described(client, "kept") == before
    client.load_collection("kept")
    assert {expr: _matches(client, "kept", expr) for expr in SMALL_FILTERS} == want


def test_snapshot_and_restore_keep_json_indexes(client: MilvusClient, unique_name):
    name, target, snap = unique_name("jsrc"), unique_name("jdst"), unique_name("snap")
    _fill_small(client, name)
    client.create_snapshot(snap, name)
    job = client.restore_snapshot(snap, name, target)
    final, _ = wait_restore(client, job)
    assert final.state == "RestoreSnapshotCompleted", final
    assert _described(client, target) == _described(client, name)
    client.load_collection(target)
    for expr in SMALL_FILTERS:
        assert _matches(client, target, expr) == _matches(client, name, expr), expr
