"""Geometry fields and spatial filters through stock pymilvus.

A GEOMETRY field takes WKT strings (pymilvus sends them in `geometry_wkt_data`) and
returns them in Milvus's canonical WKT form. Filters use ST_EQUALS, ST_TOUCHES,
ST_OVERLAPS, ST_CROSSES, ST_CONTAINS, ST_INTERSECTS, ST_WITHIN, ST_DWITHIN (meters on
the sphere, from a longitude/latitude point) and ST_ISVALID; expected rows are computed
independently with shapely (GEOS).
"""

from __future__ import annotations

import math

import pytest
import shapely
from pymilvus import DataType, MilvusClient

from helpers import INVALID_PARAMETER, UNEXPECTED, expect_error, wait_restore

DIM = 4

# A hand-checked map: squares, lines and points around the unit squares of a grid.
SHAPES = {
    1: "POINT (1 1)",
    2: "POINT (5 5)",
    3: "POINT (2 0)",  # on the boundary of square 10
    4: "LINESTRING (0 0, 4 4)",  # crosses square 10's interior
    5: "LINESTRING (2 -1, 2 0)",  # touches square 10 at one point
    6: "LINESTRING (10 10, 11 11)",
    7: "POLYGON ((0 0, 2 0, 2 2, 0 2, 0 0))",  # equals square 10
    8: "POLYGON ((1 1, 3 1, 3 3, 1 3, 1 1))",  # overlaps square 10
    9: "POLYGON ((2 0, 4 0, 4 2, 2 2, 2 0))",  # touches square 10 along an edge
    10: "POLYGON ((0 0, 2 0, 2 2, 0 2, 0 0))",
    11: "POLYGON ((-1 -1, 5 -1, 5 5, -1 5, -1 -1))",  # contains square 10
    12: "MULTIPOINT ((0.5 0.5), (7 7))",
    13: "GEOMETRYCOLLECTION (POINT (1.5 1.5), LINESTRING (8 8, 9 9))",
}
QUERY = "POLYGON ((0 0, 2 0, 2 2, 0 2, 0 0))"
PREDICATES = {
    "ST_EQUALS": shapely.equals,
    "ST_TOUCHES": shapely.touches,
    "ST_OVERLAPS": shapely.overlaps,
    "ST_CROSSES": shapely.crosses,
    "ST_CONTAINS": shapely.contains,
    "ST_INTERSECTS": shapely.intersects,
    "ST_WITHIN": shapely.within,
}


def schema(nullable: bool = False, default: str | None = None):
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    kwargs = {"nullable": True} if nullable else {}
    if default is not None:
        kwargs["default_value"] = default
    s.add_field("geo", DataType.GEOMETRY, **kwargs)
    return s


def vec(i: int) -> list:
    return [float(i), 1.0, 0.5, -1.0]


def make(client: MilvusClient, name: str, rows: dict, rtree: bool = True, **schema_kwargs) -> None:
    client.create_collection(name, schema=schema(**schema_kwargs))
    client.insert(name, [{"id": i, "vec": vec(i), "geo": wkt} for i, wkt in rows.items()])
    client.flush(name)
    index = client.prepare_index_params()
    index.add_index("vec", index_type="FLAT", metric_type="L2")
    if rtree:
        index.add_index("geo", index_type="RTREE")
    client.create_index(name, index)
    client.load_collection(name)


def ids(client: MilvusClient, name: str, filter: str) -> set:
    return {r["id"] for r in client.query(name, filter=filter, output_fields=["id"])}


def test_wkt_round_trips_in_milvus_form(client, unique_name):
    name = unique_name("geo")
    rows = {
        1: "POINT(1.50 2)",
        2: "linestring (0 0,1 1)",
        3: "MULTIPOINT (1 1, 2 2)",
        4: "GEOMETRYCOLLECTION(POINT(1 1),LINESTRING(2 2,3 3))",
        5: "POINT EMPTY",
        6: "POLYGON EMPTY",
        7: "POINT (-73.98765432109876 40.123456789012344)",
        8: "MULTIPOLYGON (((0 0, 2 0, 2 2, 0 2, 0 0)), ((3 3, 5 3, 5 5, 3 5, 3 3)))",
    }
    make(client, name, rows)
    got = {r["id"]: r["geo"] for r in client.query(name, filter="id >= 0", output_fields=["geo"])}
    assert got == {
        1: "POINT (1.5 2)",
        2: "LINESTRING (0 0, 1 1)",
        3: "MULTIPOINT ((1 1), (2 2))",
        4: "GEOMETRYCOLLECTION (POINT (1 1), LINESTRING (2 2, 3 3))",
        5: "POINT EMPTY",
        6: "POLYGON EMPTY",
        7: "POINT (-73.98765432109876 40.123456789012344)",
        8: "MULTIPOLYGON (((0 0, 2 0, 2 2, 0 2, 0 0)), ((3 3, 5 3, 5 5, 3 5, 3 3)))",
    }
    # Canonical text is what shapely reads back as the same geometry.
    for i, text in got.items():
        assert shapely.equals_exact(shapely.from_wkt(text), shapely.from_wkt(rows[i]), 0) or shapely.from_wkt(text).is_empty


@pytest.mark.parametrize("rtree", [True, False])
def test_spatial_predicates_match_shapely(client, unique_name, rtree):
    name = unique_name("geo")
    make(client, name, SHAPES, rtree=rtree)
    query = shapely.from_wkt(QUERY)
    for function, predicate in PREDICATES.items():
        expected = {i for i, wkt in SHAPES.items() if predicate(shapely.from_wkt(wkt), query)}
        assert ids(client, name, f"{function}(geo, '{QUERY}')") == expected, function
        # Names are case-insensitive, and `not` is the complement on non-null rows.
        assert ids(client, name, f"{function.lower()}(geo, '{QUERY}')") == expected, function
        assert ids(client, name, f"not {function}(geo, '{QUERY}')") == set(SHAPES) - expected, function
    # The hand-checked facts shapely is trusted for above.
    assert ids(client, name, f"ST_EQUALS(geo, '{QUERY}')") == {7, 10}
    assert ids(client, name, f"ST_TOUCHES(geo, '{QUERY}')") == {3, 5, 9}
    # A line through the square, and a multipoint or collection partly inside it.
    assert ids(client, name, f"ST_CROSSES(geo, '{QUERY}')") == {4, 12, 13}
    assert ids(client, name, f"ST_OVERLAPS(geo, '{QUERY}')") == {8}


def test_spatial_filter_inside_search_and_with_other_terms(client, unique_name):
    name = unique_name("geo")
    make(client, name, SHAPES)
    hits = client.search(name, data=[vec(0)], limit=20, filter=f"ST_WITHIN(geo, '{QUERY}')", output_fields=["geo"])[0]
    expected = {i for i, wkt in SHAPES.items() if shapely.within(shapely.from_wkt(wkt), shapely.from_wkt(QUERY))}
    assert {h["id"] for h in hits} == expected
    assert all(h["entity"]["geo"] == SHAPES[h["id"]] for h in hits)
    assert ids(client, name, f"ST_INTERSECTS(geo, '{QUERY}') and id > 8") == {9, 10, 11, 12, 13}


def haversine_m(lon1, lat1, lon2, lat2):
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def test_st_dwithin_is_meters_on_the_sphere(client, unique_name):
    name = unique_name("geo")
    center = (-74.0060, 40.7128)
    # Points east of the center every ~85 m, so no point sits on a tested distance.
    points = {i: (center[0] + i * 0.001, center[1]) for i in range(1, 30)}
    make(client, name, {i: f"POINT ({x} {y})" for i, (x, y) in points.items()})
    for meters in (0, 100, 1000, 2000):
        expected = {i for i, (x, y) in points.items() if haversine_m(x, y, *center) <= meters}
        got = ids(client, name, f"ST_DWITHIN(geo, 'POINT ({center[0]} {center[1]})', {meters})")
        assert got == expected, meters
    with expect_error(INVALID_PARAMETER, "invalid coordinate"):
        client.query(name, filter="ST_DWITHIN(geo, 'POINT (-74.006 95)', 1000)")
    with expect_error(INVALID_PARAMETER, "non-negative"):
        client.query(name, filter=f"ST_DWITHIN(geo, 'POINT ({center[0]} {center[1]})', -1)")


def test_st_isvalid(client, unique_name):
    name = unique_name("geo")
    rows = {1: "POLYGON ((0 0, 2 0, 2 2, 0 2, 0 0))", 2: "POLYGON ((0 0, 2 2, 2 0, 0 2, 0 0))", 3: "POINT (1 1)"}
    make(client, name, rows)
    valid = {i for i, wkt in rows.items() if shapely.is_valid(shapely.from_wkt(wkt))}
    assert valid == {1, 3}
    assert ids(client, name, "ST_ISVALID(geo)") == valid
    assert ids(client, name, "not st_isvalid(geo)") == {2}


def test_nulls_and_defaults(client, unique_name):
    name = unique_name("geo")
    make(client, name, {1: "POINT (1 1)", 2: None, 3: "POINT (9 9)"}, nullable=True)
    rows = {r["id"]: r["geo"] for r in client.query(name, filter="id >= 0", output_fields=["geo"])}
    assert rows == {1: "POINT (1 1)", 2: None, 3: "POINT (9 9)"}
    # A null row is neither inside nor outside.
    assert ids(client, name, f"ST_WITHIN(geo, '{QUERY}')") == {1}
    assert ids(client, name, f"not ST_WITHIN(geo, '{QUERY}')") == {3}
    assert ids(client, name, "geo is null") == {2}

    named = unique_name("geodef")
    make(client, named, {1: "POINT (1 1)", 2: None}, default="POINT(0   0)")
    rows = {r["id"]: r["geo"] for r in client.query(named, filter="id >= 0", output_fields=["geo"])}
    assert rows == {1: "POINT (1 1)", 2: "POINT (0 0)"}
    assert ids(client, named, "ST_EQUALS(geo, 'POINT (0 0)')") == {2}


def test_refusals_in_milvus_words(client, unique_name):
    name = unique_name("geo")
    make(client, name, {1: "POINT (1 1)"})
    for bad in ["INVALID WKT", "POINT ()", "LINESTRING (0 0)", "POLYGON ((0 0, 1 0, 1 1, 0 1))", ""]:
        with expect_error(INVALID_PARAMETER, "syntax error"):
            client.insert(name, [{"id": 2, "vec": vec(2), "geo": bad}])
    for bad_filter in [
        "ST_CONTAINS(geo)",
        "ST_INTERSECTS(geo, 'POINT (1 1)', 'POINT (2 2)')",
        "ST_WITHIN(id, 'POINT (1 1)')",
        "ST_WITHIN(geo, 'NOT WKT')",
        "geo == 'POINT (1 1)'",
    ]:
        with expect_error(INVALID_PARAMETER, "failed to create query plan: cannot parse expression"):
            client.query(name, filter=bad_filter)
    # Milvus refuses an unknown function where its query node builds the plan.
    with expect_error(UNEXPECTED, "Create retrieve plan by expr failed", "ST_CONTAIN"):
        client.query(name, filter="ST_CONTAIN(geo, 'POINT (1 1)')")
    other = unique_name("geoidx")
    client.create_collection(other, schema=schema())
    index = client.prepare_index_params()
    index.add_index("geo", index_type="INVERTED")
    with expect_error(INVALID_PARAMETER, "INVERTED are not supported on Geometry field"):
        client.create_index(other, index)
    index = client.prepare_index_params()
    index.add_index("id", index_type="RTREE")
    with expect_error(INVALID_PARAMETER, "RTREE index can only be built on geometry field"):
        client.create_index(other, index)


def test_rtree_index_is_described_honestly(client, unique_name):
    name = unique_name("geo")
    make(client, name, {1: "POINT (1 1)"})
    described = client.describe_index(name, "geo")
    assert described["index_type"] == "RTREE"
    assert "no R-tree is built" in described["served_by"]


def test_snapshot_restore_keeps_geometries(client, unique_name):
    name, target, snap = unique_name("geo"), unique_name("georestored"), unique_name("geosnap")
    make(client, name, SHAPES)
    client.create_snapshot(snap, name)
    job = client.restore_snapshot(snap, name, target)
    final, _ = wait_restore(client, job)
    assert final.progress == 100, final
    client.load_collection(target)
    read = lambda c: sorted((r["id"], r["geo"]) for r in client.query(c, filter="id >= 0", output_fields=["geo"]))
    assert read(target) == read(name)
    for function in PREDICATES:
        f = f"{function}(geo, '{QUERY}')"
        assert ids(client, target, f) == ids(client, name, f), function
