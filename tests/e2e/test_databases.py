"""Databases: create / list / describe / alter / drop, isolation between databases."""

from __future__ import annotations

import contextlib

import pytest
from pymilvus import MilvusClient

from helpers import (
    COLLECTION_NOT_FOUND,
    DATABASE_INVALID_NAME,
    DATABASE_NOT_FOUND,
    INVALID_PARAMETER,
    UNEXPECTED,
    basic_schema,
    expect_error,
)


@contextlib.contextmanager
def db_client(server, db: str):
    c = MilvusClient(uri=server.uri, db_name=db)
    try:
        yield c
    finally:
        c.close()


def test_default_database_exists(client: MilvusClient):
    assert "default" in client.list_databases()
    assert client.describe_database("default")["name"] == "default"


def test_create_list_describe_drop(client: MilvusClient, unique_name):
    db = unique_name("db")
    client.create_database(db)
    assert db in client.list_databases()
    info = client.describe_database(db)
    assert info["name"] == db
    client.drop_database(db)
    assert db not in client.list_databases()
    with expect_error(DATABASE_NOT_FOUND, "database not found"):
        client.describe_database(db)


def test_database_properties(client: MilvusClient, unique_name):
    db = unique_name("db")
    client.create_database(db, properties={"tier": "gold", "owner": "team-a"})
    info = client.describe_database(db)
    assert info["name"] == db
    assert info["tier"] == "gold"
    assert info["owner"] == "team-a"

    client.alter_database_properties(db, properties={"owner": "team-b", "extra": "yes"})
    info = client.describe_database(db)
    assert info["owner"] == "team-b"
    assert info["extra"] == "yes"
    assert info["tier"] == "gold"

    client.drop_database_properties(db, property_keys=["extra"])
    info = client.describe_database(db)
    assert "extra" not in info
    assert info["owner"] == "team-b"


def test_create_existing_database(client: MilvusClient, unique_name):
    db = unique_name("db")
    client.create_database(db)
    with expect_error(UNEXPECTED, "already exist"):
        client.create_database(db)
    assert client.list_databases().count(db) == 1


def test_create_database_named_default(client: MilvusClient):
    with expect_error(UNEXPECTED, "already exist"):
        client.create_database("default")


def test_drop_default_database_is_refused(client: MilvusClient):
    with expect_error(UNEXPECTED, "can not drop default database"):
        client.drop_database("default")
    assert "default" in client.list_databases()


def test_drop_non_empty_database_is_refused(client: MilvusClient, server, unique_name):
    db, coll = unique_name("db"), unique_name("coll")
    client.create_database(db)
    with db_client(server, db) as c:
        c.create_collection(coll, schema=basic_schema())
    with expect_error(UNEXPECTED, "not empty"):
        client.drop_database(db)
    assert db in client.list_databases()
    with db_client(server, db) as c:
        assert c.has_collection(coll)
        c.drop_collection(coll)
    client.drop_database(db)
    assert db not in client.list_databases()


def test_drop_unknown_database_is_idempotent(client: MilvusClient, unique_name):
    db = unique_name("db")
    client.drop_database(db)
    assert db not in client.list_databases()


def test_unknown_database(client: MilvusClient, server, unique_name):
    db = unique_name("nodb")
    with expect_error(DATABASE_NOT_FOUND, "database not found"):
        client.describe_database(db)
    with expect_error(DATABASE_NOT_FOUND, "database not found"):
        client.use_database(db)
    with expect_error(DATABASE_NOT_FOUND, "database not found"):
        client.alter_database_properties(db, properties={"a": "b"})
    with db_client(server, db) as c:
        with expect_error(DATABASE_NOT_FOUND, "database not found"):
            c.create_collection(unique_name("coll"), schema=basic_schema())
        with expect_error(DATABASE_NOT_FOUND, "database not found"):
            c.list_collections()
    assert db not in client.list_databases()


@pytest.mark.parametrize(
    "name, reason",
    [
        ("1db", "the first character of a database name must be an underscore or letter"),
        ("db-1", "database name can only contain numbers, letters and underscores"),
        ("db$1", "database name can only contain numbers, letters and underscores"),
        ("x" * 256, "the length of a database name must be less than 255 characters"),
    ],
    ids=["digit_first", "dash", "dollar", "len256"],
)
def test_invalid_database_names(client: MilvusClient, name, reason):
    with expect_error(DATABASE_INVALID_NAME, f"{reason}: invalid database name[database={name}]"):
        client.create_database(name)
    assert name not in client.list_databases()


def test_databases_isolate_collections(client: MilvusClient, server, unique_name):
    db = unique_name("db")
    client.create_database(db)
    only_default, only_db, shared = unique_name("d"), unique_name("x"), unique_name("s")

    client.create_collection(only_default, schema=basic_schema())
    client.create_collection(shared, schema=basic_schema(dim=8))
    with db_client(server, db) as c:
        c.create_collection(only_db, schema=basic_schema())
        c.create_collection(shared, schema=basic_schema(dim=4))  # same name, other db

        assert sorted(c.list_collections()) == sorted([only_db, shared])
        assert not c.has_collection(only_default)
        with expect_error(COLLECTION_NOT_FOUND, f"can't find collection[database={db}][collection={only_default}]"):
            c.describe_collection(only_default)
        in_db = c.describe_collection(shared)

    default_names = client.list_collections()
    assert only_default in default_names and shared in default_names
    assert only_db not in default_names
    in_default = client.describe_collection(shared)
    assert in_default["collection_id"] != in_db["collection_id"]
    assert in_default["fields"][1]["params"]["dim"] == 8
    assert in_db["fields"][1]["params"]["dim"] == 4


def test_use_database_switches_header(client: MilvusClient, server, unique_name):
    db, coll = unique_name("db"), unique_name("coll")
    client.create_database(db)
    switching = MilvusClient(uri=server.uri, dedicated=True)
    try:
        switching.use_database(db)
        switching.create_collection(coll, schema=basic_schema())
        assert switching.list_collections() == [coll]
    finally:
        switching.close()
    assert not client.has_collection(coll)
    with db_client(server, db) as c:
        assert c.has_collection(coll)


def test_aliases_are_per_database(client: MilvusClient, server, unique_name):
    db = unique_name("db")
    client.create_database(db)
    coll, alias = unique_name("coll"), unique_name("alias")
    client.create_collection(coll, schema=basic_schema())
    with db_client(server, db) as c:
        c.create_collection(coll, schema=basic_schema())
        c.create_alias(coll, alias)
        assert c.describe_alias(alias)["collection_name"] == coll
    # The alias does not exist in the default database, so it can be used there too.
    client.create_alias(coll, alias)
    assert client.describe_alias(alias)["collection_name"] == coll
