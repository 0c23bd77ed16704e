"""Load / release and load state."""

from __future__ import annotations

from pymilvus import MilvusClient
from pymilvus.client.types import LoadState
from pymilvus.grpc_gen import milvus_pb2

from helpers import COLLECTION_NOT_FOUND, RPC_TIMEOUT_S, basic_schema, expect_error, load_state_name


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


def test_describe_replica_is_one_replica_on_this_node(client: MilvusClient, raw_stub, unique_name):
    """As a single-node Milvus: one replica per loaded collection (its loaded partitions, one
    shard per channel, all on the one node, in the default resource group); none when it
    is not loaded."""
    name = unique_name("coll")
    client.create_collection(name, schema=basic_schema(), num_shards=2)
    client.create_partition(name, "p1")
    assert client.describe_replica(name) == []

    client.load_partitions(name, ["p1"])
    [replica] = client.describe_replica(name)
    desc = client.describe_collection(name)
    channels = raw_stub.DescribeCollection(milvus_pb2.DescribeCollectionRequest(collection_name=name), timeout=RPC_TIMEOUT_S).virtual_channel_names
    assert replica.resource_group == "__default_resource_group"
    assert len(replica.group_nodes) == 1
    node = replica.group_nodes[0]
    assert sorted(s.channel_name for s in replica.shards) == sorted(channels)
    assert all(s.shard_leader == node and s.shard_nodes == {node} for s in replica.shards)
    reply = raw_stub.GetReplicas(milvus_pb2.GetReplicasRequest(collectionID=desc["collection_id"]), timeout=RPC_TIMEOUT_S)
    p1 = [p for p in raw_stub.ShowPartitions(milvus_pb2.ShowPartitionsRequest(collection_name=name)).partitionIDs][1]
    assert list(reply.replicas[0].partition_ids) == [p1], "the loaded partitions"

    client.release_collection(name)
    assert client.describe_replica(name) == []
    gone = raw_stub.GetReplicas(milvus_pb2.GetReplicasRequest(collectionID=desc["collection_id"] + 1000), timeout=RPC_TIMEOUT_S)
    assert (gone.status.code, list(gone.replicas)) == (0, []), "an unknown collection id has no replica"
    # pymilvus describes the collection first: Milvus's DescribeCollection words.
    with expect_error(COLLECTION_NOT_FOUND, "can't find collection[database=default]"):
        client.describe_replica(unique_name("missing"))
