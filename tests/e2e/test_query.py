"""Query, get, count(*) and query_iterator, and the Milvus filter language.

One collection of 100 rows is shared by the module (on a server of its own, so the
per-test cleanup of the `client` fixture does not drop it): rows 0..59 are flushed
(sealed), rows 60..99 are growing, so every filter runs over both kinds of data.
Each filter's expected result is computed in Python from the same rows.
"""

from __future__ import annotations

import time

import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import MilvusException

from conftest import QuiverServer
from helpers import (
    COLLECTION_NOT_LOADED,
    INVALID_PARAMETER,
    count_rows,
    expect_error,
    pks,
    pymilvus_warnings,
    rows_by_pk,
)

COLL = "filters"
N = 100
GREEK = ["alpha", "beta", "gamma", "delta"]
COLORS = ["red", "green", "blue"]


def make_row(i: int) -> dict:
    row = {
        "id": i,
        "vec": [float(i), float(i % 7), 0.0, 1.0],
        "name": f"n{i:03d}",
        "tag": f"{GREEK[i % 4]}{i}",
        "i32": i * 3 - 50,
        "f64": i / 4.0,
        "flag": i % 3 == 0,
        # Rows with i % 5 == 0 have no "a" path at all.
        "j": {"other": True} if i % 5 == 0 else {"a": {"b": i % 10}, "s": "x" if i % 2 else "y", "l": [i, i + 1]},
        "arr": list(range(i % 4)),
        "opt": None if i % 4 == 0 else i,
        "color": COLORS[i % 3],
    }
    if i % 2 == 0:
        row["size"] = i % 10
    return row


ROWS = [make_row(i) for i in range(N)]


def schema():
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    s.add_field("name", DataType.VARCHAR, max_length=16)
    s.add_field("tag", DataType.VARCHAR, max_length=16)
    s.add_field("i32", DataType.INT32)
    s.add_field("f64", DataType.DOUBLE)
    s.add_field("flag", DataType.BOOL)
    s.add_field("j", DataType.JSON)
    s.add_field("arr", DataType.ARRAY, element_type=DataType.INT64, max_capacity=4)
    s.add_field("opt", DataType.INT32, nullable=True)
    return s


@pytest.fixture(scope="module")
def qsrv(quiver_bin, tmp_path_factory):
    base = tmp_path_factory.mktemp("query")
    srv = QuiverServer(quiver_bin, base / "data", base / "quiver.log").start()
    c = srv.client()
    c.create_collection(COLL, schema=schema())
    c.insert(COLL, ROWS[:30])
    c.insert(COLL, ROWS[30:60])
    c.flush(COLL)
    c.insert(COLL, ROWS[60:80])
    c.insert(COLL, ROWS[80:])
    c.load_collection(COLL)
    yield srv
    if srv.running:
        srv.stop()


@pytest.fixture
def qc(qsrv) -> MilvusClient:
    if not qsrv.running:
        qsrv.start()
    return qsrv.client()


def plain(res) -> list:
    """Query results as plain dicts (vector columns are decoded lazily by pymilvus)."""
    return [dict(r) for r in res]


def ids_where(pred) -> list:
    return [r["id"] for r in ROWS if pred(r)]


def a_b(r):
    return r["j"].get("a", {}).get("b")


FILTERS = [
    ("id < 10", lambda r: r["id"] < 10),
    ("id <= 10", lambda r: r["id"] <= 10),
    ("id > 95", lambda r: r["id"] > 95),
    ("id != 5 and id < 8", lambda r: r["id"] != 5 and r["id"] < 8),
    ("10 < id", lambda r: r["id"] > 10),
    ("5 <= id < 9", lambda r: 5 <= r["id"] < 9),
    ("id in [1, 5, 99, 500]", lambda r: r["id"] in (1, 5, 99)),
    ("id not in [0, 1, 2] and id < 6", lambda r: r["id"] in (3, 4, 5)),
    ("i32 >= 0 and i32 < 100", lambda r: 0 <= r["i32"] < 100),
    ("i32 == -50", lambda r: r["i32"] == -50),
    ("f64 == 2.5", lambda r: r["f64"] == 2.5),
    ("f64 > 20.5", lambda r: r["f64"] > 20.5),
    ("flag == true", lambda r: r["flag"]),
    ("flag == false and id < 10", lambda r: not r["flag"] and r["id"] < 10),
    ('name == "n042"', lambda r: r["name"] == "n042"),
    ("name > 'n095'", lambda r: r["name"] > "n095"),
    ("name in ['n001', 'n077', 'zzz']", lambda r: r["name"] in ("n001", "n077")),
    ("name like 'n00%'", lambda r: r["name"].startswith("n00")),
    ("tag like 'beta%'", lambda r: r["tag"].startswith("beta")),
    ("tag like '%7'", lambda r: r["tag"].endswith("7")),
    ("tag like '%mm%'", lambda r: "mm" in r["tag"]),
    ("not (id < 90)", lambda r: not r["id"] < 90),
    ("id < 5 or id > 95", lambda r: r["id"] < 5 or r["id"] > 95),
    ("(id < 20 or id > 80) and not flag", lambda r: (r["id"] < 20 or r["id"] > 80) and not r["flag"]),
    ("id < 50 && i32 > 0 || id == 99", lambda r: (r["id"] < 50 and r["i32"] > 0) or r["id"] == 99),
    ("id % 7 == 0", lambda r: r["id"] % 7 == 0),
    ("id % 7 != 0 and id < 10", lambda r: r["id"] % 7 != 0 and r["id"] < 10),
    ("i32 + 50 == 150", lambda r: r["i32"] + 50 == 150),
    ("f64 * 4 == 20", lambda r: r["f64"] * 4 == 20),
    ("i32 - 1 == 0", lambda r: r["i32"] - 1 == 0),
    ('j["a"]["b"] == 3', lambda r: a_b(r) == 3),
    ('j["a"]["b"] > 7', lambda r: a_b(r) is not None and a_b(r) > 7),
    ('j["s"] == "x"', lambda r: r["j"].get("s") == "x"),
    ('j["other"] == true', lambda r: r["j"].get("other") is True),
    ('j["a"]["b"] in [1, 2]', lambda r: a_b(r) in (1, 2)),
    ("color == 'red'", lambda r: r["color"] == "red"),
    ('$meta["color"] == "blue"', lambda r: r["color"] == "blue"),
    ("size > 5", lambda r: r.get("size") is not None and r["size"] > 5),
    ("color in ['red', 'green'] and id < 20", lambda r: r["color"] in ("red", "green") and r["id"] < 20),
    ("array_contains(arr, 2)", lambda r: 2 in r["arr"]),
    ("array_contains_all(arr, [0, 1])", lambda r: 0 in r["arr"] and 1 in r["arr"]),
    ("array_contains_any(arr, [2, 9])", lambda r: 2 in r["arr"] or 9 in r["arr"]),
    ("array_length(arr) == 0", lambda r: len(r["arr"]) == 0),
    ("array_length(arr) == 3 and id < 30", lambda r: len(r["arr"]) == 3 and r["id"] < 30),
    ("opt is null", lambda r: r["opt"] is None),
    ("opt is not null and id < 10", lambda r: r["opt"] is not None and r["id"] < 10),
    ("opt > 90", lambda r: r["opt"] is not None and r["opt"] > 90),
    ("", lambda r: True),
    # Upper-case keywords and other spellings of the Milvus grammar.
    ("id < 3 OR id > 97", lambda r: r["id"] < 3 or r["id"] > 97),
    ("name LIKE 'n00%' AND NOT flag", lambda r: r["name"].startswith("n00") and not r["flag"]),
    ("id IN [1, 2]", lambda r: r["id"] in (1, 2)),
    ("opt IS NULL AND id < 10", lambda r: r["opt"] is None and r["id"] < 10),
    ("opt IS NOT NULL AND id < 6", lambda r: r["opt"] is not None and r["id"] < 6),
    ("flag == True and id < 10", lambda r: r["flag"] and r["id"] < 10),
    ("flag == TRUE and id < 10", lambda r: r["flag"] and r["id"] < 10),
    ("flag != false and id < 10", lambda r: r["flag"] and r["id"] < 10),
    ("ARRAY_CONTAINS(arr, 2)", lambda r: 2 in r["arr"]),
    ("!(id < 95)", lambda r: r["id"] >= 95),
    ("id == 0x10", lambda r: r["id"] == 16),
    ("f64 > 1e1", lambda r: r["f64"] > 10),
    ("f64 >= -1.5e0 and id < 3", lambda r: r["id"] < 3),
    ("i32 < -40", lambda r: r["i32"] < -40),
    ("name like 'n005'", lambda r: r["name"] == "n005"),
    ("id in []", lambda r: False),
    ("id not in [] and id < 3", lambda r: r["id"] < 3),
    # Field-to-field comparison.
    ("i32 > id", lambda r: r["i32"] > r["id"]),
    ("f64 * 1 == 0 or i32 == id", lambda r: r["f64"] == 0 or r["i32"] == r["id"]),
    # JSON array index, json_contains, array element access, exists.
    ('j["l"][0] == 6', lambda r: r["j"].get("l", [None])[0] == 6),
    ('j["l"][1] == 8', lambda r: len(r["j"].get("l", [])) > 1 and r["j"]["l"][1] == 8),
    ('json_contains(j["l"], 8)', lambda r: 8 in r["j"].get("l", [])),
    ("arr[0] == 0", lambda r: len(r["arr"]) > 0 and r["arr"][0] == 0),
    ("arr[2] == 2", lambda r: len(r["arr"]) > 2 and r["arr"][2] == 2),
    ('exists j["a"]', lambda r: "a" in r["j"]),
]


@pytest.mark.parametrize("expr,pred", FILTERS, ids=[f[0] or "<empty>" for f in FILTERS])
def test_filter(qc, expr, pred):
    assert pks(qc, COLL, expr) == ids_where(pred)


@pytest.mark.parametrize(
    "expr,params,pred",
    [
        ("id in {ids}", {"ids": [3, 4, 70, 1000]}, lambda r: r["id"] in (3, 4, 70)),
        ("id > {lo} and f64 < {hi}", {"lo": 40, "hi": 12.5}, lambda r: r["id"] > 40 and r["f64"] < 12.5),
        ("color == {c} and id < {n}", {"c": "green", "n": 30}, lambda r: r["color"] == "green" and r["id"] < 30),
        ("name like {p}", {"p": "n01%"}, lambda r: r["name"].startswith("n01")),
        ("flag == {b} and id < 12", {"b": True}, lambda r: r["flag"] and r["id"] < 12),
        ('j["a"]["b"] == {v}', {"v": 4}, lambda r: a_b(r) == 4),
        ("array_contains_any(arr, {xs})", {"xs": [1, 2]}, lambda r: 1 in r["arr"] or 2 in r["arr"]),
    ],
)
def test_filter_templates(qc, expr, params, pred):
    res = qc.query(COLL, filter=expr, filter_params=params, output_fields=["id"], limit=1000)
    assert sorted(r["id"] for r in res) == ids_where(pred)


def test_count_star(qc):
    assert count_rows(qc, COLL) == N
    assert count_rows(qc, COLL, "id >= 50") == 50
    assert count_rows(qc, COLL, "color == 'red'") == len(ids_where(lambda r: r["color"] == "red"))
    assert count_rows(qc, COLL, "id > {x}", filter_params={"x": 89}) == 10
    assert count_rows(qc, COLL, "id > 1000") == 0
    assert qc.get_collection_stats(COLL)["row_count"] == N


def test_output_fields_star_returns_every_field_and_dynamic_key(qc):
    got = rows_by_pk(qc, COLL, filter="id in [0, 1, 61, 99]")
    assert got == {i: ROWS[i] for i in (0, 1, 61, 99)}


def test_output_fields_named(qc):
    res = qc.query(COLL, filter="id in [2, 3, 70]", output_fields=["name", "j", "arr"])
    assert sorted(res, key=lambda r: r["id"]) == [
        {"id": i, "name": ROWS[i]["name"], "j": ROWS[i]["j"], "arr": ROWS[i]["arr"]} for i in (2, 3, 70)
    ]
    # The primary key is always returned, even when not asked for.
    res = qc.query(COLL, filter="id == 4", output_fields=["i32"])
    assert plain(res) == [{"id": 4, "i32": ROWS[4]["i32"]}]
    # Vectors on request.
    res = qc.query(COLL, filter="id == 65", output_fields=["vec"])
    assert plain(res) == [{"id": 65, "vec": ROWS[65]["vec"]}]


def test_output_fields_dynamic_keys(qc):
    res = qc.query(COLL, filter="id in [0, 1, 2, 3]", output_fields=["size", "color", "opt"])
    got = sorted(res, key=lambda r: r["id"])
    want = []
    for i in range(4):
        row = {"id": i, "color": ROWS[i]["color"], "opt": ROWS[i]["opt"]}
        if "size" in ROWS[i]:
            row["size"] = ROWS[i]["size"]
        want.append(row)
    assert got == want


def test_default_output_fields_are_all_fields(qc):
    # MilvusClient.query without output_fields sends ["*"].
    res = qc.query(COLL, filter="id == 7")
    assert plain(res) == [ROWS[7]]


def test_get_by_ids(qc):
    res = qc.get(COLL, ids=[0, 59, 60, 99, 12345])
    assert sorted(plain(res), key=lambda r: r["id"]) == [ROWS[i] for i in (0, 59, 60, 99)]
    res = qc.get(COLL, ids=5, output_fields=["tag"])
    assert plain(res) == [{"id": 5, "tag": ROWS[5]["tag"]}]
    assert list(qc.get(COLL, ids=[-1, 100])) == []


def test_limit_offset_pages_cover_everything_once(qc):
    seen = []
    for offset in range(0, N, 15):
        page = qc.query(COLL, filter="id >= 0", output_fields=["id"], limit=15, offset=offset)
        assert len(page) == min(15, N - offset)
        seen.extend(r["id"] for r in page)
    assert sorted(seen) == list(range(N)), "limit/offset pages must not overlap or miss rows"
    assert len(qc.query(COLL, filter="id < 10", output_fields=["id"], limit=3)) == 3
    assert len(qc.query(COLL, filter="id < 10", output_fields=["id"], limit=50, offset=8)) == 2
    assert qc.query(COLL, filter="id < 10", output_fields=["id"], limit=5, offset=20) == []


def test_query_with_limit_returns_smallest_primary_keys_in_order(qc):
    # Milvus merges query results by primary key (query_iterator depends on it).
    res = qc.query(COLL, filter="id >= 55", output_fields=["id"], limit=10)
    assert [r["id"] for r in res] == list(range(55, 65))
    res = qc.query(COLL, filter="id >= 0", output_fields=["id"], limit=5, offset=58)
    assert [r["id"] for r in res] == list(range(58, 63))


def test_query_iterator_returns_every_row_once(qc):
    it = qc.query_iterator(COLL, batch_size=7, filter="id >= 3", output_fields=["id", "name"])
    got = []
    try:
        while True:
            batch = it.next()
            if not batch:
                break
            assert len(batch) <= 7
            got.extend(batch)
    finally:
        it.close()
    assert sorted(r["id"] for r in got) == list(range(3, N))
    assert len(got) == N - 3, "no row twice"
    assert all(r["name"] == ROWS[r["id"]]["name"] for r in got)


def test_query_results_carry_the_read_timestamp(qc):
    """`session_ts` is the hybrid timestamp the query read at; pymilvus's query_iterator pins
    its later pages to it and warns (falling back to a client-side clock) without it."""
    session_ts = qc.query(COLL, filter="id < 3", output_fields=["id"]).extra["iterator_session_ts"]
    assert abs((session_ts >> 18) - time.time() * 1000) < 60_000, session_ts
    later = qc.query(COLL, filter="id < 3", output_fields=["count(*)"]).extra["iterator_session_ts"]
    assert later > session_ts
    with pymilvus_warnings() as warnings:
        it = qc.query_iterator(COLL, batch_size=50, filter="id >= 0", output_fields=["id"])
        while it.next():
            pass
        it.close()
    assert not [w for w in warnings if "mvccTs" in w], warnings


def test_query_iterator_with_limit(qc):
    it = qc.query_iterator(COLL, batch_size=4, limit=10, filter="color == 'blue'", output_fields=["id"])
    got = []
    try:
        while True:
            batch = it.next()
            if not batch:
                break
            got.extend(r["id"] for r in batch)
    finally:
        it.close()
    assert sorted(got) == ids_where(lambda r: r["color"] == "blue")[:10]


@pytest.mark.parametrize(
    "expr,fragment",
    [
        ("id >>> 3", ">>"),
        ("id < 3 andd id > 1", "andd"),
        ("id in [1, 2", "']'"),
        ("(id > 1", "')'"),
        ("id == ", "end of expression"),
        ("name like", "end of expression"),
        ("id < 'a' +", "end of expression"),
        ("id == 1 )", "')'"),
        ("id == @", "@"),
        ("array_contains(arr)", "array_contains"),
    ],
)
def test_filter_parse_errors_name_the_token(qc, expr, fragment):
    with expect_error(INVALID_PARAMETER, fragment):
        qc.query(COLL, filter=expr, output_fields=["id"])


def test_integer_literals_beyond_the_field_type(client, unique_name):
    """Comparing an Int8/Int16 field with a literal outside its range must not wrap."""
    name = unique_name("narrow")
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    s.add_field("i8", DataType.INT8)
    s.add_field("i16", DataType.INT16)
    client.create_collection(name, schema=s)
    vals = [-128, -1, 0, 1, 44, 127]
    client.insert(name, [{"id": k, "vec": [0.0, 0.0], "i8": v, "i16": v * 200} for k, v in enumerate(vals)])
    client.load_collection(name)
    everything = list(range(len(vals)))
    assert pks(client, name, "i8 < 300") == everything
    assert pks(client, name, "i8 > 300") == []
    assert pks(client, name, "i8 == 300") == []  # 300 wraps to 44 as an i8
    assert pks(client, name, "i8 != 300") == everything
    assert pks(client, name, "i8 in [1, 300]") == [3]
    assert pks(client, name, "i8 > -1000") == everything
    assert pks(client, name, "i16 == 8800") == [4]
    assert pks(client, name, "i16 < 70000") == everything
    assert pks(client, name, "i16 == 74336") == []  # 74336 wraps to 8800 as an i16


def test_empty_filter_needs_a_limit(qc):
    # Milvus: "empty expression should be used with limit" (count(*) is exempt).
    with pytest.raises(MilvusException) as info:
        qc.query(COLL, filter="", output_fields=["id"])
    assert "limit" in info.value.message
    assert len(qc.query(COLL, filter="", output_fields=["id"], limit=7)) == 7


def test_unknown_field_on_collection_without_dynamic_field(client, unique_name):
    name = unique_name("nodyn")
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(name, schema=s)
    client.insert(name, [{"id": 1, "vec": [1.0, 2.0]}])
    client.load_collection(name)
    with expect_error(INVALID_PARAMETER, "nosuch"):
        client.query(name, filter="nosuch > 1", output_fields=["id"])
    with expect_error(INVALID_PARAMETER, "nosuch"):
        client.query(name, filter="id > 0", output_fields=["nosuch"])
    with expect_error(INVALID_PARAMETER, "nosuch"):
        client.delete(name, filter="nosuch == 1")
    assert count_rows(client, name) == 1


def test_query_needs_a_loaded_collection(client, unique_name):
    name = unique_name("unloaded")
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(name, schema=s)
    client.insert(name, [{"id": i, "vec": [1.0, 2.0]} for i in range(5)])
    with expect_error(COLLECTION_NOT_LOADED, "not loaded"):
        client.query(name, filter="id >= 0", output_fields=["id"])
    with expect_error(COLLECTION_NOT_LOADED, "not loaded"):
        client.get(name, ids=[1])
    with expect_error(COLLECTION_NOT_LOADED, "not loaded"):
        count_rows(client, name)
    client.load_collection(name)
    assert pks(client, name, "id >= 0") == [0, 1, 2, 3, 4]
    client.release_collection(name)
    with expect_error(COLLECTION_NOT_LOADED, "not loaded"):
        client.query(name, filter="id >= 0", output_fields=["id"])
    # Writes do not need the collection loaded, and are seen after the next load.
    client.insert(name, [{"id": 9, "vec": [0.0, 0.0]}])
    client.delete(name, ids=[0])
    client.load_collection(name)
    assert pks(client, name, "id >= 0") == [1, 2, 3, 4, 9]


def test_query_unknown_collection(client):
    with expect_error(100, "nope_coll"):
        client.query("nope_coll", filter="id > 0")


def test_pk_order_and_iterator_when_growing_rows_have_smaller_keys(client, unique_name):
    """Sealed segment holds ids 50..99, growing data ids 0..49 (plus an upsert of a sealed
    row). Milvus returns query results merged by primary key, so `limit` takes the
    smallest keys and query_iterator (which pages with `pk > last`) sees every row once."""
    name = unique_name("order")
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(name, schema=s)
    client.insert(name, [{"id": i, "vec": [0.0, 1.0]} for i in range(50, 100)])
    client.flush(name)
    client.insert(name, [{"id": i, "vec": [0.0, 1.0]} for i in range(50)])
    client.upsert(name, [{"id": 70, "vec": [1.0, 1.0]}])
    client.load_collection(name)

    res = client.query(name, filter="id >= 0", output_fields=["id"], limit=10)
    assert [r["id"] for r in res] == list(range(10))

    it = client.query_iterator(name, batch_size=8, filter="id >= 0", output_fields=["id"])
    got = []
    try:
        while True:
            batch = it.next()
            if not batch:
                break
            got.extend(r["id"] for r in batch)
    finally:
        it.close()
    assert sorted(got) == list(range(100)), f"iterator missed {sorted(set(range(100)) - set(got))}"
    assert len(got) == 100
