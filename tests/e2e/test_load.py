"""Load / release and load state."""

from __future__ import annotations

from pymilvus import MilvusClient
from pymilvus.client.types import LoadState

from helpers import COLLECTION_NOT_FOUND, basic_schema, expect_error, load_state_name


def test_load_release_cycle_without_index(client: MilvusClient, unique_name):
    name = unique_name("coll")
    client.create_collection(name, schema=basic_schema())
    assert client.get_load_state(name) == {"state": LoadState.NotLoad}

    client.load_collection(name)  # no index: allowed in Quiver
    assert client.get_load_state(name) == {"state": LoadState.Loaded}

    client.release_collection(name)
    assert client.get_load_state(name) == {"state": LoadState.NotLoad}


def test_load_is_idempotent(client: MilvusClient, unique_name):
    name = unique_name("coll")
    client.create_collection(name, schema=basic_schema())
    client.load_collection(name)
    client.load_collection(name)
    assert load_state_name(client, name) == "Loaded"
    client.release_collection(name)
    client.release_collection(name)
    assert load_state_name(client, name) == "NotLoad"


def test_loaded_collection_loads_its_partitions(client: MilvusClient, unique_name):
    name = unique_name("coll")
    client.create_collection(name, schema=basic_schema())
    client.create_partition(name, "p1")
    client.load_collection(name)
    assert load_state_name(client, name, "p1") == "Loaded"
    assert load_state_name(client, name, "_default") == "Loaded"


def test_load_state_of_unknown_collection(client: MilvusClient, unique_name):
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.get_load_state(unique_name("missing"))


def test_load_and_release_unknown_collection(client: MilvusClient, unique_name):
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.load_collection(unique_name("missing"))
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.release_collection(unique_name("missing"))


def test_load_state_is_per_collection(client: MilvusClient, unique_name):
    a, b = unique_name("a"), unique_name("b")
    client.create_collection(a, schema=basic_schema())
    client.create_collection(b, schema=basic_schema())
    client.load_collection(a)
    assert load_state_name(client, a) == "Loaded"
    assert load_state_name(client, b) == "NotLoad"


def test_drop_loaded_collection(client: MilvusClient, unique_name):
    name = unique_name("coll")
    client.create_collection(name, schema=basic_schema())
    client.load_collection(name)
    client.drop_collection(name)
    assert not client.has_collection(name)
    with expect_error(COLLECTION_NOT_FOUND, "collection not found"):
        client.get_load_state(name)
