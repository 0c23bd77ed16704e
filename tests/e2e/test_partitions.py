"""Partitions: create / list / has / drop, partition-key collections, loaded partitions."""

from __future__ import annotations

import pytest
from pymilvus import MilvusClient

from helpers import (
    COLLECTION_NOT_FOUND,
    INVALID_PARAMETER,
    PARTITION_NOT_FOUND,
    UNEXPECTED,
    basic_schema,
    expect_error,
    load_state_name,
    partition_key_schema,
)


@pytest.fixture
def coll(client: MilvusClient, unique_name) -> str:
    name = unique_name("coll")
    client.create_collection(name, schema=basic_schema())
    return name


def test_new_collection_has_default_partition(client: MilvusClient, coll):
    assert client.list_partitions(coll) == ["_default"]
    assert client.has_partition(coll, "_default") is True


def test_create_list_has_drop_partition(client: MilvusClient, coll):
    client.create_partition(coll, "p1")
    client.create_partition(coll, "p2")
    assert sorted(client.list_partitions(coll)) == ["_default", "p1", "p2"]
    assert client.has_partition(coll, "p1") is True
    client.drop_partition(coll, "p1")
    assert client.has_partition(coll, "p1") is False
    assert sorted(client.list_partitions(coll)) == ["_default", "p2"]


def test_list_partitions_keeps_creation_order(client: MilvusClient, coll):
    for p in ["zeta", "alpha", "mid"]:
        client.create_partition(coll, p)
    assert client.list_partitions(coll) == ["_default", "zeta", "alpha", "mid"]


def test_create_existing_partition_succeeds(client: MilvusClient, coll):
    client.create_partition(coll, "p1")
    client.create_partition(coll, "p1")
    assert client.list_partitions(coll).count("p1") == 1


def test_has_unknown_partition_is_false(client: MilvusClient, coll):
    assert client.has_partition(coll, "nope") is False


def test_drop_unknown_partition_is_idempotent(client: MilvusClient, coll):
    client.drop_partition(coll, "nope")
    assert client.list_partitions(coll) == ["_default"]


def test_drop_default_partition_is_refused(client: MilvusClient, coll):
    with expect_error(UNEXPECTED, "default partition cannot be deleted"):
        client.drop_partition(coll, "_default")
    assert client.has_partition(coll, "_default")


@pytest.mark.parametrize(
    "name, reason",
    [
        ("-p", "The first character of a partition name must be an underscore or letter."),
        ("p$1", "Partition name can only contain numbers, letters and underscores."),
        ("p 1", "Partition name can only contain numbers, letters and underscores."),
        ("x" * 256, "The length of a partition name must be less than 255 characters."),
    ],
    ids=["dash_first", "dollar", "space", "len256"],
)
def test_invalid_partition_names(client: MilvusClient, coll, name, reason):
    with expect_error(INVALID_PARAMETER, f"Invalid partition name: {name}. {reason}: invalid parameter"):
        client.create_partition(coll, name)
    assert client.list_partitions(coll) == ["_default"]


# Milvus lets partition names (unlike other names) start with a digit and hold hyphens.
@pytest.mark.parametrize("name", ["_p", "1p", "p-1", "P_9", "x" * 255])
def test_valid_partition_names(client: MilvusClient, coll, name):
    client.create_partition(coll, name)
    assert client.has_partition(coll, name)


def test_partition_ops_on_unknown_collection(client: MilvusClient, unique_name):
    missing = unique_name("missing")
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.create_partition(missing, "p1")
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.list_partitions(missing)
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.has_partition(missing, "p1")


def test_partitions_are_per_collection(client: MilvusClient, coll, unique_name):
    other = unique_name("coll")
    client.create_collection(other, schema=basic_schema())
    client.create_partition(coll, "only_here")
    assert client.has_partition(other, "only_here") is False
    assert client.list_partitions(other) == ["_default"]


def test_partition_key_collection_partitions(client: MilvusClient, unique_name):
    name = unique_name("pk")
    client.create_collection(name, schema=partition_key_schema(), num_partitions=4)
    assert sorted(client.list_partitions(name)) == [
        "_default_0",
        "_default_1",
        "_default_2",
        "_default_3",
    ]
    with expect_error(INVALID_PARAMETER):
        client.create_partition(name, "manual")
    assert "manual" not in client.list_partitions(name)


def test_load_unknown_partition(client: MilvusClient, coll):
    with expect_error(PARTITION_NOT_FOUND, "partition not found"):
        client.load_partitions(coll, ["nope"])


def test_load_and_release_partitions(client: MilvusClient, coll):
    client.create_partition(coll, "p1")
    client.create_partition(coll, "p2")
    client.load_partitions(coll, ["p1"])
    assert load_state_name(client, coll, "p1") == "Loaded"
    assert load_state_name(client, coll, "p2") == "NotLoad"
    client.release_partitions(coll, ["p1"])
    assert load_state_name(client, coll, "p1") == "NotLoad"


def test_drop_loaded_partition_is_refused(client: MilvusClient, coll):
    client.create_partition(coll, "p1")
    client.load_partitions(coll, ["p1"])
    with expect_error(UNEXPECTED, "release it first"):
        client.drop_partition(coll, "p1")
    assert client.has_partition(coll, "p1")
    client.release_partitions(coll, ["p1"])
    client.drop_partition(coll, "p1")
    assert not client.has_partition(coll, "p1")


def test_drop_partition_of_loaded_collection_is_refused(client: MilvusClient, coll):
    client.create_partition(coll, "p1")
    client.load_collection(coll)
    with expect_error(UNEXPECTED, "release it first"):
        client.drop_partition(coll, "p1")
    assert client.has_partition(coll, "p1")


def test_release_of_no_partitions_is_refused(client: MilvusClient, coll):
    with expect_error(INVALID_PARAMETER, "invalid parameter[expected=any partition][actual=empty partition list]"):
        client.release_partitions(coll, [])
