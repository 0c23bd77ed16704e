"""Aliases: create / describe / list / alter / drop, conflicts, and aliases used in place
of collection names."""

from __future__ import annotations

import pytest
from pymilvus import MilvusClient

from helpers import (
    ALIAS_ALREADY_EXISTS,
    ALIAS_COLLECTION_NAME_CONFLICT,
    ALIAS_NOT_FOUND,
    COLLECTION_NOT_FOUND,
    INVALID_PARAMETER,
    UNEXPECTED,
    basic_schema,
    expect_error,
    load_state_name,
)


@pytest.fixture
def coll(client: MilvusClient, unique_name) -> str:
    name = unique_name("coll")
    client.create_collection(name, schema=basic_schema())
    return name


def test_create_describe_list_drop_alias(client: MilvusClient, coll, unique_name):
    alias = unique_name("alias")
    client.create_alias(coll, alias)

    described = client.describe_alias(alias)
    assert described["alias"] == alias
    assert described["collection_name"] == coll
    assert client.list_aliases(collection_name=coll)["aliases"] == [alias]
    assert alias in client.list_aliases()["aliases"]
    assert client.describe_collection(coll)["aliases"] == [alias]

    client.drop_alias(alias)
    assert client.list_aliases(collection_name=coll)["aliases"] == []
    assert client.describe_collection(coll)["aliases"] == []
    with expect_error(ALIAS_NOT_FOUND, "alias not found"):
        client.describe_alias(alias)


def test_several_aliases_for_one_collection(client: MilvusClient, coll, unique_name):
    aliases = sorted(unique_name("alias") for _ in range(3))
    for a in aliases:
        client.create_alias(coll, a)
    assert sorted(client.list_aliases(collection_name=coll)["aliases"]) == aliases
    assert sorted(client.describe_collection(coll)["aliases"]) == aliases


def test_alias_works_as_collection_name(client: MilvusClient, coll, unique_name):
    alias = unique_name("alias")
    client.create_alias(coll, alias)

    assert client.has_collection(alias) is True
    desc = client.describe_collection(alias)
    assert desc["collection_name"] == coll
    assert desc["collection_id"] == client.describe_collection(coll)["collection_id"]

    client.create_partition(alias, "via_alias")
    assert client.has_partition(coll, "via_alias")
    assert sorted(client.list_partitions(alias)) == ["_default", "via_alias"]
    assert client.has_partition(alias, "via_alias") is True

    client.load_collection(alias)
    assert load_state_name(client, coll) == "Loaded"
    assert load_state_name(client, alias) == "Loaded"
    client.release_collection(alias)
    assert load_state_name(client, coll) == "NotLoad"

    client.load_partitions(alias, ["via_alias"])
    assert load_state_name(client, coll, "via_alias") == "Loaded"
    client.release_partitions(alias, ["via_alias"])
    assert load_state_name(client, alias, "via_alias") == "NotLoad"


def test_alter_alias_moves_it(client: MilvusClient, coll, unique_name):
    other, alias = unique_name("coll"), unique_name("alias")
    client.create_collection(other, schema=basic_schema())
    client.create_alias(coll, alias)
    client.alter_alias(other, alias)
    assert client.describe_alias(alias)["collection_name"] == other
    assert client.describe_collection(alias)["collection_name"] == other
    assert client.list_aliases(collection_name=coll)["aliases"] == []
    assert client.list_aliases(collection_name=other)["aliases"] == [alias]


def test_alias_named_like_a_collection(client: MilvusClient, coll, unique_name):
    other = unique_name("coll")
    client.create_collection(other, schema=basic_schema())
    with expect_error(ALIAS_COLLECTION_NAME_CONFLICT):
        client.create_alias(coll, other)
    assert client.list_aliases(collection_name=coll)["aliases"] == []


def test_alias_already_points_elsewhere(client: MilvusClient, coll, unique_name):
    other, alias = unique_name("coll"), unique_name("alias")
    client.create_collection(other, schema=basic_schema())
    client.create_alias(coll, alias)
    with expect_error(ALIAS_ALREADY_EXISTS):
        client.create_alias(other, alias)
    assert client.describe_alias(alias)["collection_name"] == coll


def test_create_same_alias_twice_for_same_collection(client: MilvusClient, coll, unique_name):
    # Milvus treats this as idempotent success; either way, nothing may change.
    alias = unique_name("alias")
    client.create_alias(coll, alias)
    try:
        client.create_alias(coll, alias)
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"re-creating an identical alias should succeed, got {e!r}")
    assert client.list_aliases(collection_name=coll)["aliases"] == [alias]


def test_unknown_alias_operations(client: MilvusClient, coll, unique_name):
    missing = unique_name("missing")
    with expect_error(ALIAS_NOT_FOUND, f"alias not found[database=default][alias={missing}]"):
        client.describe_alias(missing)
    with expect_error(ALIAS_NOT_FOUND, f"alias not found[database=default][alias={missing}]"):
        client.alter_alias(coll, missing)


def test_drop_unknown_alias_succeeds(client: MilvusClient, unique_name):
    # As in Milvus since milvus-io/milvus#43064: dropping an alias that does not exist is
    # not an error.
    missing = unique_name("missing")
    client.drop_alias(missing)
    assert missing not in client.list_aliases()["aliases"]


def test_alias_for_unknown_collection(client: MilvusClient, unique_name):
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.create_alias(unique_name("missing"), unique_name("alias"))
    alias = unique_name("alias")
    target = unique_name("coll")
    client.create_collection(target, schema=basic_schema())
    client.create_alias(target, alias)
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.alter_alias(unique_name("missing"), alias)
    assert client.describe_alias(alias)["collection_name"] == target


@pytest.mark.parametrize("name", ["1a", "a-b", "x" * 256], ids=["digit_first", "dash", "len256"])
def test_invalid_alias_names(client: MilvusClient, coll, name):
    with expect_error(INVALID_PARAMETER, "alias"):
        client.create_alias(coll, name)
    assert client.list_aliases(collection_name=coll)["aliases"] == []


def test_drop_collection_with_aliases_is_refused(client: MilvusClient, coll, unique_name):
    alias = unique_name("alias")
    client.create_alias(coll, alias)
    with expect_error(UNEXPECTED, "has associated aliases"):
        client.drop_collection(coll)
    assert client.has_collection(coll)
    client.drop_alias(alias)
    client.drop_collection(coll)
    assert not client.has_collection(coll)
