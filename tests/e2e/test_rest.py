"""Milvus's RESTful API v2 on the gRPC port: every served endpoint, its success shape,
Milvus's error shape and codes, and results compared with pymilvus's over gRPC on the
same data (what one API creates the other sees)."""

from __future__ import annotations

import json
import random
import re
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from pymilvus import DataType, MilvusClient

from helpers import (
    ALIAS_NOT_FOUND,
    COLLECTION_NOT_FOUND,
    DATABASE_NOT_FOUND,
    INVALID_PARAMETER,
    SNAPSHOT_NOT_FOUND,
)

INDEX_NOT_FOUND = 700
SERVICE_UNIMPLEMENTED = 10
BODY_INVALID = 1801
PARAMETER_MISSING = 1802
INSERT_DATA_INVALID = 1804
DIM = 4


def post(server, endpoint: str, body=None, headers=None) -> dict:
    """POST a JSON body; Milvus answers every call with HTTP 200 and a `code`."""
    reply = requests.post(f"{server.uri}/v2/vectordb/{endpoint}", json={} if body is None else body, headers=headers, timeout=60)
    assert reply.status_code == 200, (endpoint, reply.status_code, reply.text)
    assert reply.headers["Content-Type"].startswith("application/json")
    return reply.json()


def ok(server, endpoint: str, body=None, headers=None):
    reply = post(server, endpoint, body, headers)
    assert reply["code"] == 0, (endpoint, reply)
    assert "message" not in reply
    return reply["data"]


def fails(server, endpoint: str, body, code: int, *fragments: str) -> str:
    reply = post(server, endpoint, body)
    assert reply["code"] == code, (endpoint, reply)
    assert set(reply) == {"code", "message"}, reply
    for fragment in fragments:
        assert fragment in reply["message"], (fragment, reply["message"])
    return reply["message"]


def rows(n: int, seed: int = 7, start: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [
        {"id": start + i, "vector": [rng.uniform(-1, 1) for _ in range(DIM)], "n": (start + i) % 5, "tag": f"t{(start + i) % 3}"}
        for i in range(n)
    ]


def quick_collection(server, name: str, metric: str = "L2", **extra) -> None:
    ok(server, "collections/create", {"collectionName": name, "dimension": DIM, "metricType": metric, **extra})


# ---- collections --------------------------------------------------------------------------


def test_quick_create_is_a_loaded_indexed_collection_pymilvus_sees(server, client: MilvusClient, unique_name):
    name = unique_name("rest")
    assert ok(server, "collections/create", {"collectionName": name, "dimension": DIM, "metricType": "L2"}) == {}
    assert name in ok(server, "collections/list")
    assert ok(server, "collections/has", {"collectionName": name}) == {"has": True}

    described = ok(server, "collections/describe", {"collectionName": name})
    assert described["collectionName"] == name
    assert described["load"] == "LoadStateLoaded"
    assert described["autoId"] is False and described["enableDynamicField"] is True
    assert described["consistencyLevel"] == "Bounded"
    assert described["aliases"] == []
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["id"]["type"] == "Int64" and fields["id"]["primaryKey"] is True
    assert fields["vector"]["type"] == "FloatVector"
    assert {"key": "dim", "value": str(DIM)} in fields["vector"]["params"]
    assert described["indexes"] == [{"fieldName": "vector", "indexName": "vector", "metricType": "L2"}]

    # The same collection through pymilvus over gRPC.
    grpc_view = client.describe_collection(name)
    assert grpc_view["collection_id"] == described["collectionID"]
    assert [f["name"] for f in grpc_view["fields"]] == ["id", "vector"]
    assert client.get_load_state(name)["state"].name == "Loaded"
    assert client.describe_index(name, "vector")["metric_type"] == "L2"


def test_quick_create_options(server, client: MilvusClient, unique_name):
    name = unique_name("rest")
    ok(server, "collections/create", {
        "collectionName": name, "dimension": DIM, "idType": "VarChar", "autoID": False,
        "primaryFieldName": "key", "vectorFieldName": "emb",
        "params": {"max_length": 32, "enableDynamicField": False, "consistencyLevel": "Strong"},
    })
    described = ok(server, "collections/describe", {"collectionName": name})
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["key"]["type"] == "VarChar" and {"key": "max_length", "value": "32"} in fields["key"]["params"]
    assert described["enableDynamicField"] is False
    assert described["consistencyLevel"] == "Strong"
    assert described["indexes"][0]["metricType"] == "COSINE", "COSINE when metricType is absent"
    assert client.describe_collection(name)["fields"][0]["name"] == "key"

    fails(server, "collections/create", {"collectionName": unique_name("rest")}, INVALID_PARAMETER, "dimension")
    fails(server, "collections/create", {"collectionName": unique_name("rest"), "dimension": DIM, "idType": "Float"}, INVALID_PARAMETER, "idType")


def test_full_form_create_with_schema_and_index_params(server, client: MilvusClient, unique_name):
    name = unique_name("rest")
    ok(server, "collections/create", {
        "collectionName": name,
        "schema": {
            "autoID": True,
            "enableDynamicField": False,
            "fields": [
                {"fieldName": "pk", "dataType": "Int64", "isPrimary": True},
                {"fieldName": "emb", "dataType": "FloatVector", "elementTypeParams": {"dim": DIM}},
                {"fieldName": "title", "dataType": "VarChar", "elementTypeParams": {"max_length": 64}},
                {"fieldName": "score", "dataType": "Int32", "nullable": True},
                {"fieldName": "doc", "dataType": "JSON"},
                {"fieldName": "tags", "dataType": "Array", "elementDataType": "Int64", "elementTypeParams": {"max_capacity": 4}},
            ],
        },
        "indexParams": [{"fieldName": "emb", "indexName": "emb_idx", "metricType": "IP", "indexType": "HNSW",
                         "params": {"M": 8, "efConstruction": 64}}],
    })
    described = ok(server, "collections/describe", {"collectionName": name})
    assert described["load"] == "LoadStateLoaded"
    assert described["autoId"] is True
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["tags"]["type"] == "Array" and fields["tags"]["elementType"] == "Int64"
    assert fields["score"]["nullable"] is True
    index = client.describe_index(name, "emb_idx")
    assert (index["index_type"], index["metric_type"], str(index["M"])) == ("HNSW", "IP", "8")
    grpc_fields = {f["name"]: f for f in client.describe_collection(name)["fields"]}
    assert grpc_fields["doc"]["type"] == DataType.JSON and grpc_fields["tags"]["element_type"] == DataType.INT64

    # Without indexParams the collection is created and not loaded, as Milvus does.
    bare = unique_name("rest")
    ok(server, "collections/create", {"collectionName": bare, "schema": {"fields": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": DIM}},
    ]}})
    assert ok(server, "collections/get_load_state", {"collectionName": bare}) == {"loadState": "LoadStateNotLoad"}

    # Data types are case sensitive, and an index on an undeclared field is a missing parameter.
    fails(server, "collections/create", {"collectionName": unique_name("rest"), "schema": {"fields": [
        {"fieldName": "id", "dataType": "int64", "isPrimary": True}]}}, INVALID_PARAMETER, "int64")
    fails(server, "collections/create", {"collectionName": unique_name("rest"), "schema": {"fields": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": DIM}}]},
        "indexParams": [{"fieldName": "nope", "metricType": "L2"}]}, PARAMETER_MISSING, "nope")


def test_pymilvus_collection_is_seen_over_rest(server, client: MilvusClient, unique_name):
    name = unique_name("grpc")
    client.create_collection(name, dimension=DIM, metric_type="IP")
    client.create_alias(name, name + "_a")
    described = ok(server, "collections/describe", {"collectionName": name})
    assert described["collectionID"] == client.describe_collection(name)["collection_id"]
    assert described["aliases"] == [name + "_a"]
    assert described["indexes"][0]["metricType"] == "IP"
    assert ok(server, "collections/has", {"collectionName": name}) == {"has": True}


def test_collection_lifecycle(server, client: MilvusClient, unique_name):
    name, renamed = unique_name("rest"), unique_name("renamed")
    quick_collection(server, name)
    ok(server, "entities/insert", {"collectionName": name, "data": rows(10)})
    client.flush(name)
    assert ok(server, "collections/get_stats", {"collectionName": name}) == {"rowCount": 10}
    assert ok(server, "collections/get_load_state", {"collectionName": name}) == {"loadState": "LoadStateLoaded", "loadProgress": 100}
    assert ok(server, "collections/release", {"collectionName": name}) == {}
    assert ok(server, "collections/get_load_state", {"collectionName": name}) == {"loadState": "LoadStateNotLoad"}
    assert client.get_load_state(name)["state"].name == "NotLoad"
    ok(server, "collections/load", {"collectionName": name})
    assert client.get_load_state(name)["state"].name == "Loaded"
    assert ok(server, "collections/rename", {"collectionName": name, "newCollectionName": renamed}) == {}
    assert client.has_collection(renamed) and not client.has_collection(name)
    assert ok(server, "collections/drop", {"collectionName": renamed}) == {}
    assert not client.has_collection(renamed)
    assert ok(server, "collections/has", {"collectionName": renamed}) == {"has": False}


def test_collection_maintenance_endpoints(server, client: MilvusClient, unique_name):
    name = unique_name("rest")
    quick_collection(server, name)
    ok(server, "entities/insert", {"collectionName": name, "data": rows(20)})

    assert ok(server, "collections/flush", {"collectionName": name}) == {}
    assert client.get_collection_stats(name)["row_count"] == 20

    assert ok(server, "collections/alter_properties", {"collectionName": name, "properties": {"collection.ttl.seconds": 3600}}) == {}
    assert client.describe_collection(name)["properties"].get("collection.ttl.seconds") == "3600"
    assert ok(server, "collections/drop_properties", {"collectionName": name, "propertyKeys": ["collection.ttl.seconds"]}) == {}
    assert "collection.ttl.seconds" not in client.describe_collection(name)["properties"]

    field = {"fieldName": "extra", "dataType": "Int64", "nullable": True}
    assert ok(server, "collections/fields/add", {"collectionName": name, "schema": field}) == {}
    assert "extra" in [f["name"] for f in client.describe_collection(name)["fields"]]
    assert ok(server, "collections/refresh_load", {"collectionName": name}) == {}
    got = ok(server, "entities/query", {"collectionName": name, "filter": "id == 3", "outputFields": ["extra"]})
    assert got == [{"id": 3, "extra": None}]

    ok(server, "entities/insert", {"collectionName": name, "data": rows(20, start=100)})
    ok(server, "collections/flush", {"collectionName": name})
    job = ok(server, "collections/compact", {"collectionName": name})["compactionID"]
    assert job > 0
    deadline = time.monotonic() + 30
    while (state := ok(server, "collections/get_compaction_state", {"jobID": job}))["state"] != "Completed":
        assert state["state"] == "Executing", state
        assert time.monotonic() < deadline, state
        time.sleep(0.1)
    assert state["compactionID"] == job
    assert client.get_compaction_state(job) == "Completed"
    assert client.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"] == 40
    fails(server, "collections/fields/add", {"collectionName": name, "schema": {"fieldName": "bad", "dataType": "Int64"}},
          INVALID_PARAMETER)


def test_database_properties(server, client: MilvusClient, unique_name):
    db = unique_name("db")
    ok(server, "databases/create", {"dbName": db})
    assert ok(server, "databases/alter", {"dbName": db, "properties": {"database.max.collections": 7}}) == {}
    assert client.describe_database(db)["database.max.collections"] == "7"
    assert ok(server, "databases/alter_properties", {"dbName": db, "properties": {"database.max.collections": 8}}) == {}
    assert client.describe_database(db)["database.max.collections"] == "8"
    assert ok(server, "databases/drop_properties", {"dbName": db, "propertyKeys": ["database.max.collections"]}) == {}
    assert "database.max.collections" not in client.describe_database(db)
    fails(server, "databases/alter", {"dbName": unique_name("nodb"), "properties": {"database.max.collections": 1}}, DATABASE_NOT_FOUND)
    ok(server, "databases/drop", {"dbName": db})


def test_missing_collection_is_code_100_everywhere(server, unique_name):
    missing = unique_name("missing")
    for endpoint in ["collections/describe", "collections/get_stats", "collections/get_load_state", "collections/load",
                     "collections/release", "partitions/list", "indexes/list"]:
        fails(server, endpoint, {"collectionName": missing}, COLLECTION_NOT_FOUND, missing)
    fails(server, "entities/query", {"collectionName": missing, "filter": "id > 0"}, COLLECTION_NOT_FOUND)
    fails(server, "entities/insert", {"collectionName": missing, "data": rows(1)}, COLLECTION_NOT_FOUND)
    fails(server, "entities/search", {"collectionName": missing, "data": [[0.0] * DIM]}, COLLECTION_NOT_FOUND)
    # Dropping a missing collection succeeds, as over gRPC.
    ok(server, "collections/drop", {"collectionName": missing})


# ---- databases ----------------------------------------------------------------------------


def test_databases_and_the_database_a_request_addresses(server, client: MilvusClient, unique_name):
    db = unique_name("db")
    assert ok(server, "databases/create", {"dbName": db, "properties": {"database.max.collections": 10}}) == {}
    assert db in ok(server, "databases/list")
    assert db in client.list_databases()
    described = ok(server, "databases/describe", {"dbName": db})
    assert described["dbName"] == db and described["dbID"] > 0
    assert {"key": "database.max.collections", "value": "10"} in described["properties"]

    # dbName in the body, else the DB-Name header, selects the database.
    in_body, in_header = unique_name("c"), unique_name("c")
    quick_collection(server, in_body, dbName=db)
    ok(server, "collections/create", {"collectionName": in_header, "dimension": DIM}, headers={"DB-Name": db})
    assert set(ok(server, "collections/list", {"dbName": db})) == {in_body, in_header}
    assert set(ok(server, "collections/list", headers={"DB-Name": db})) == {in_body, in_header}
    assert in_body not in ok(server, "collections/list")
    scoped = MilvusClient(uri=server.uri, db_name=db)
    try:
        assert set(scoped.list_collections()) == {in_body, in_header}
    finally:
        scoped.close()

    fails(server, "databases/describe", {"dbName": unique_name("nodb")}, DATABASE_NOT_FOUND)
    fails(server, "collections/list", {"dbName": unique_name("nodb")}, DATABASE_NOT_FOUND)
    for collection in (in_body, in_header):
        ok(server, "collections/drop", {"collectionName": collection, "dbName": db})
    assert ok(server, "databases/drop", {"dbName": db}) == {}
    assert db not in client.list_databases()


# ---- partitions, aliases, indexes -----------------------------------------------------------


def test_partitions(server, client: MilvusClient, unique_name):
    name = unique_name("rest")
    quick_collection(server, name)
    assert ok(server, "partitions/create", {"collectionName": name, "partitionName": "p1"}) == {}
    assert set(ok(server, "partitions/list", {"collectionName": name})) == {"_default", "p1"}
    assert set(client.list_partitions(name)) == {"_default", "p1"}
    assert ok(server, "partitions/has", {"collectionName": name, "partitionName": "p1"}) == {"has": True}
    assert ok(server, "partitions/has", {"collectionName": name, "partitionName": "p2"}) == {"has": False}
    ok(server, "entities/insert", {"collectionName": name, "partitionName": "p1", "data": rows(6)})
    client.flush(name)
    assert ok(server, "partitions/get_stats", {"collectionName": name, "partitionName": "p1"}) == {"rowCount": 6}
    assert ok(server, "partitions/get_stats", {"collectionName": name, "partitionName": "_default"}) == {"rowCount": 0}
    assert ok(server, "partitions/release", {"collectionName": name, "partitionNames": ["p1"]}) == {}
    assert client.get_load_state(name, partition_name="p1")["state"].name == "NotLoad"
    assert ok(server, "partitions/load", {"collectionName": name, "partitionNames": ["p1"]}) == {}
    assert client.get_load_state(name, partition_name="p1")["state"].name == "Loaded"
    ok(server, "partitions/release", {"collectionName": name, "partitionNames": ["p1"]})
    assert ok(server, "partitions/drop", {"collectionName": name, "partitionName": "p1"}) == {}
    assert client.list_partitions(name) == ["_default"]
    fails(server, "partitions/get_stats", {"collectionName": name, "partitionName": "p1"}, 200)


def test_aliases(server, client: MilvusClient, unique_name):
    first, second, alias = unique_name("rest"), unique_name("rest"), unique_name("alias")
    quick_collection(server, first)
    quick_collection(server, second)
    assert ok(server, "aliases/create", {"collectionName": first, "aliasName": alias}) == {}
    assert ok(server, "aliases/list", {"collectionName": first}) == [alias]
    assert alias in ok(server, "aliases/list")
    assert ok(server, "aliases/describe", {"aliasName": alias}) == {"dbName": "default", "collectionName": first, "aliasName": alias}
    assert ok(server, "aliases/alter", {"collectionName": second, "aliasName": alias}) == {}
    assert client.describe_alias(alias)["collection_name"] == second
    assert ok(server, "aliases/drop", {"aliasName": alias}) == {}
    assert client.list_aliases(collection_name=second)["aliases"] == []
    fails(server, "aliases/describe", {"aliasName": alias}, ALIAS_NOT_FOUND, alias)


def test_indexes(server, client: MilvusClient, unique_name):
    name = unique_name("rest")
    ok(server, "collections/create", {"collectionName": name, "schema": {"fields": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "vector", "dataType": "FloatVector", "elementTypeParams": {"dim": DIM}},
        {"fieldName": "n", "dataType": "Int64"},
    ]}})
    assert ok(server, "indexes/list", {"collectionName": name}) == []
    ok(server, "entities/insert", {"collectionName": name, "data": [{"id": r["id"], "vector": r["vector"], "n": r["n"]} for r in rows(20)]})
    client.flush(name)
    assert ok(server, "indexes/create", {"collectionName": name, "indexParams": [
        {"fieldName": "vector", "indexName": "vec_idx", "metricType": "L2", "indexType": "HNSW", "params": {"M": 16}},
        {"fieldName": "n", "indexName": "n_idx", "indexType": "INVERTED"},
    ]}) == {}
    assert set(ok(server, "indexes/list", {"collectionName": name})) == {"vec_idx", "n_idx"}
    assert set(client.list_indexes(name)) == {"vec_idx", "n_idx"}
    deadline = time.monotonic() + 60
    while True:
        [described] = ok(server, "indexes/describe", {"collectionName": name, "indexName": "vec_idx"})
        if described["indexState"] == "Finished" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert described["indexName"] == "vec_idx" and described["fieldName"] == "vector"
    assert (described["indexType"], described["metricType"]) == ("HNSW", "L2")
    assert (described["indexState"], described["totalRows"], described["indexedRows"], described["pendingRows"]) == ("Finished", 20, 20, 0)
    assert described["failReason"] == ""
    assert ok(server, "indexes/drop", {"collectionName": name, "indexName": "n_idx"}) == {}
    assert client.list_indexes(name) == ["vec_idx"]
    fails(server, "indexes/describe", {"collectionName": name, "indexName": "n_idx"}, INDEX_NOT_FOUND)


# ---- entities -----------------------------------------------------------------------------


def test_insert_get_query_delete_match_pymilvus(server, client: MilvusClient, unique_name):
    name = unique_name("rest")
    quick_collection(server, name)
    data = rows(30)
    inserted = ok(server, "entities/insert", {"collectionName": name, "data": data})
    assert inserted == {"insertCount": 30, "insertIds": list(range(30))}

    # Dynamic keys (`n`, `tag`) come back as row keys; vectors as float lists.
    got = ok(server, "entities/get", {"collectionName": name, "id": [3, 1], "outputFields": ["id", "vector", "n", "tag"]})
    assert sorted(got, key=lambda r: r["id"]) == [
        {"id": i, "vector": pytest.approx(data[i]["vector"], rel=1e-6), "n": data[i]["n"], "tag": data[i]["tag"]} for i in (1, 3)
    ]
    assert ok(server, "entities/get", {"collectionName": name, "id": 4})[0]["id"] == 4

    query = {"collectionName": name, "filter": "id >= 10 and n == 2", "outputFields": ["id", "n"], "limit": 3, "offset": 1}
    expected = client.query(name, filter="id >= 10 and n == 2", output_fields=["id", "n"], limit=3, offset=1)
    assert ok(server, "entities/query", query) == [dict(row) for row in expected]
    assert ok(server, "entities/query", {"collectionName": name, "filter": "", "outputFields": ["count(*)"]}) == [{"count(*)": 30}]
    # Without `limit`, a query returns at most 100 rows (Milvus's default).
    assert len(ok(server, "entities/query", {"collectionName": name, "filter": "id >= 0"})) == 30
    templated = ok(server, "entities/query", {"collectionName": name, "filter": "id in {ids}", "exprParams": {"ids": [5, 6]}, "outputFields": ["id"]})
    assert sorted(r["id"] for r in templated) == [5, 6]

    assert ok(server, "entities/delete", {"collectionName": name, "filter": "id < 5"}) == {"deleteCount": 5}
    assert ok(server, "entities/delete", {"collectionName": name, "id": [5, 6]}) == {"deleteCount": 2}
    assert client.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"] == 23
    assert ok(server, "entities/get", {"collectionName": name, "id": [1, 5]}) == []


def test_upsert_and_int64_as_text(server, client: MilvusClient, unique_name):
    name = unique_name("rest")
    quick_collection(server, name)
    ok(server, "entities/insert", {"collectionName": name, "data": rows(3)})
    replaced = [{**row, "tag": "new"} for row in rows(2)]
    assert ok(server, "entities/upsert", {"collectionName": name, "data": replaced}) == {"upsertCount": 2, "upsertIds": [0, 1]}
    tags = {r["id"]: r["tag"] for r in client.query(name, filter="id >= 0", output_fields=["tag"])}
    assert tags == {0: "new", 1: "new", 2: "t2"}

    # A client that cannot hold 64-bit numbers gets them as strings.
    as_text = {"Accept-Type-Allow-Int64": "false"}
    big = 2**62 + 1
    reply = ok(server, "entities/insert", {"collectionName": name, "data": [{**rows(1)[0], "id": str(big)}]}, headers=as_text)
    assert reply == {"insertCount": 1, "insertIds": [str(big)]}
    assert ok(server, "entities/get", {"collectionName": name, "id": [str(big)], "outputFields": ["id"]}, headers=as_text) == [{"id": str(big)}]
    assert ok(server, "entities/get", {"collectionName": name, "id": big, "outputFields": ["id"]}) == [{"id": big}]


def test_auto_id_insert_returns_the_assigned_ids(server, client: MilvusClient, unique_name):
    name = unique_name("rest")
    quick_collection(server, name, autoID=True)
    reply = ok(server, "entities/insert", {"collectionName": name, "data": [{"vector": [0.1] * DIM} for _ in range(4)]})
    assert reply["insertCount"] == 4 and len(set(reply["insertIds"])) == 4
    assert sorted(r["id"] for r in client.query(name, filter="", output_fields=["id"], limit=10)) == sorted(reply["insertIds"])


def test_search_matches_pymilvus(server, client: MilvusClient, unique_name):
    name = unique_name("rest")
    quick_collection(server, name, metric="L2")
    data = rows(200, seed=11)
    ok(server, "entities/insert", {"collectionName": name, "data": data})
    client.flush(name)
    queries = [rows(1, seed=99)[0]["vector"], rows(1, seed=98)[0]["vector"]]

    found = ok(server, "entities/search", {
        "collectionName": name, "data": queries, "annsField": "vector", "filter": "n != 1", "limit": 5, "offset": 2,
        "outputFields": ["n", "tag"], "searchParams": {"metricType": "L2", "params": {"ef": 64}},
    })
    expected = client.search(name, data=queries, anns_field="vector", filter="n != 1", limit=5, offset=2,
                             output_fields=["n", "tag"], search_params={"metric_type": "L2", "params": {"ef": 64}})
    flat = [hit for hits in expected for hit in hits]
    assert [row["id"] for row in found] == [hit["id"] for hit in flat], "the rows of each query vector follow each other"
    assert [row["distance"] for row in found] == pytest.approx([hit["distance"] for hit in flat], rel=1e-5)
    assert [(row["n"], row["tag"]) for row in found] == [(hit["entity"]["n"], hit["entity"]["tag"]) for hit in flat]
    assert all(row["n"] != 1 for row in found)

    # Defaults: the only vector field, limit 100, no output fields beyond id and distance.
    plain = ok(server, "entities/search", {"collectionName": name, "data": queries[:1]})
    assert len(plain) == 100 and set(plain[0]) == {"id", "distance"}
    ranged = ok(server, "entities/search", {"collectionName": name, "data": queries[:1], "limit": 50,
                                            "searchParams": {"metricType": "L2", "params": {"radius": 2.0}}})
    assert ranged and all(row["distance"] < 2.0 for row in ranged)


def test_hybrid_search_is_served_by_name(server, unique_name):
    """The fused results themselves are checked in test_hybrid_search.py."""
    name = unique_name("rest")
    quick_collection(server, name)
    body = {"collectionName": name, "search": [{"data": [[0.0] * DIM], "limit": 3}], "rerank": {"strategy": "rrf", "params": {"k": 10}}}
    assert ok(server, "entities/hybrid_search", body) == [], "an empty collection has no hits"
    fails(server, "entities/hybrid_search", {**body, "rerank": {"strategy": "rrf", "params": {"k": 0}}},
          INVALID_PARAMETER, "rank params k should be in range (0, 16384)")


# ---- errors -------------------------------------------------------------------------------


def test_bodies_milvus_cannot_read_get_its_rest_codes(server, unique_name):
    url = f"{server.uri}/v2/vectordb/collections/describe"
    for raw in [b"", b"{not json", b'{"collectionName": 7}']:
        reply = requests.post(url, data=raw, headers={"Content-Type": "application/json"}, timeout=30)
        assert reply.status_code == 200 and reply.json()["code"] == BODY_INVALID, (raw, reply.text)
    fails(server, "collections/describe", {}, PARAMETER_MISSING, "collectionName")
    fails(server, "entities/search", {"collectionName": "c"}, PARAMETER_MISSING, "data")

    name = unique_name("rest")
    quick_collection(server, name, **{"params": {"enableDynamicField": False}})
    fails(server, "entities/insert", {"collectionName": name, "data": [{"id": 1, "vector": [0.0] * (DIM + 1)}]}, INSERT_DATA_INVALID, "vector")
    fails(server, "entities/insert", {"collectionName": name, "data": [{"id": "x", "vector": [0.0] * DIM}]}, INSERT_DATA_INVALID, "id")
    fails(server, "entities/insert", {"collectionName": name, "data": [{"id": 1}]}, INSERT_DATA_INVALID, "vector")
    # Keys outside a non-dynamic schema are refused by the gRPC path's rule.
    fails(server, "entities/insert", {"collectionName": name, "data": [{"id": 1, "vector": [0.0] * DIM, "color": "red"}]}, 1100, "dynamic")


def test_unserved_paths_are_404_naming_them(server):
    reply = requests.post(f"{server.uri}/v2/vectordb/users/list", json={}, timeout=30)
    assert reply.status_code == 404
    assert reply.json() == {"code": SERVICE_UNIMPLEMENTED,
                            "message": "/v2/vectordb/users/list is not served by Quiver: service unimplemented"}
    # Served paths take POST only.
    assert requests.get(f"{server.uri}/v2/vectordb/collections/list", timeout=30).status_code == 405


def test_rest_calls_are_counted_in_the_rpc_metrics(server, unique_name):
    ok(server, "collections/list")
    fails(server, "collections/describe", {"collectionName": unique_name("missing")}, COLLECTION_NOT_FOUND)
    with urllib.request.urlopen(f"{server.metrics_url}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    counted = {
        (sample.labels["method"], sample.labels["code"])
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "quiver_rpc_requests_total"
    }
    assert ("/v2/vectordb/collections/list", "0") in counted
    assert ("/v2/vectordb/collections/describe", str(COLLECTION_NOT_FOUND)) in counted


# ---- snapshots ----------------------------------------------------------------------------


def test_snapshot_endpoints_create_restore_pin_and_drop(server, client: MilvusClient, unique_name):
    name, snap, target = unique_name("rest"), unique_name("snap"), unique_name("restored")
    quick_collection(server, name)
    ok(server, "entities/insert", {"collectionName": name, "data": rows(25)})
    client.flush(name)

    assert ok(server, "snapshots/create", {"collectionName": name, "snapshotName": snap, "description": "nightly"}) == {}
    assert ok(server, "snapshots/list", {"collectionName": name}) == [snap]
    assert client.list_snapshots(name) == [snap]
    assert client.describe_snapshot(snap, name).description == "nightly"
    described = ok(server, "snapshots/describe", {"collectionName": name, "snapshotName": snap})
    assert described["snapshotName"] == snap and described["collectionName"] == name
    assert described["description"] == "nightly" and described["createTs"] > 0 and described["s3Location"]
    assert described["partitionNames"] == ["_default"]

    pin = ok(server, "snapshots/pin", {"collectionName": name, "snapshotName": snap, "ttlSeconds": 600})["pinId"]
    assert pin > 0
    fails(server, "snapshots/drop", {"collectionName": name, "snapshotName": snap}, 2601)
    assert ok(server, "snapshots/unpin", {"pinId": pin}) == {}
    fails(server, "snapshots/unpin", {"pinId": "not-a-number"}, INVALID_PARAMETER, "pinId")

    job = ok(server, "snapshots/restore", {"snapshotName": snap, "sourceCollectionName": name, "targetCollectionName": target})["jobId"]
    deadline = time.monotonic() + 60
    while True:
        state = ok(server, "jobs/snapshot/describe", {"jobId": job})
        if state["state"] in ("RestoreSnapshotCompleted", "RestoreSnapshotFailed") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert state["state"] == "RestoreSnapshotCompleted", state
    assert (state["jobId"], state["snapshotName"], state["collectionName"], state["dbName"], state["progress"]) == (job, snap, target, "default", 100)
    assert job in [record["jobId"] for record in ok(server, "jobs/snapshot/list")["records"]]
    assert client.get_restore_snapshot_state(job).state == "RestoreSnapshotCompleted"
    client.load_collection(target)
    assert client.query(target, filter="", output_fields=["count(*)"])[0]["count(*)"] == 25

    assert ok(server, "snapshots/drop", {"collectionName": name, "snapshotName": snap}) == {}
    assert ok(server, "snapshots/list", {"collectionName": name}) == []
    fails(server, "snapshots/describe", {"collectionName": name, "snapshotName": snap}, SNAPSHOT_NOT_FOUND)
    fails(server, "jobs/snapshot/describe", {"jobId": 123456789}, 2100)


# ---- the README ---------------------------------------------------------------------------


def test_readme_rest_block_runs_as_written(server):
    """The README's curl block, pointed at this server, answers code 0 everywhere and the
    search answer it quotes."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("\n## REST\n", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    quoted = re.search(r"The search answers `(.*?)`", section).group(1)
    assert "127.0.0.1:19530" in block
    script = block.replace("127.0.0.1:19530", f"127.0.0.1:{server.port}")
    for _ in range(2):  # and again: the block cleans up after itself
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, check=True).stdout
        decoder, replies, at = json.JSONDecoder(), [], 0
        while at < len(out):
            reply, at = decoder.raw_decode(out, at)
            replies.append(reply)
        assert len(replies) == 6 and all(reply["code"] == 0 for reply in replies), replies
        assert replies[2] == json.loads(quoted)
