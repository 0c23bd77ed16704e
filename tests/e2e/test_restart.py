"""Durability of the catalog across a graceful restart (SIGTERM) and a crash (SIGKILL)."""

from __future__ import annotations

import time

import grpc
import pytest
from pymilvus import MilvusClient
from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

from helpers import RPC_TIMEOUT_S, assert_ok, basic_schema, partition_key_schema

DB = "restart_db"


def populate(server) -> None:
    """A catalog touching every kind of metadata, including things created then removed."""
    admin = server.client()
    admin.create_database(DB, properties={"owner": "ops", "tier": "gold"})
    admin.create_database("gone_db")
    admin.drop_database("gone_db")

    # default database
    admin.create_collection("pkeyed", schema=partition_key_schema(), num_partitions=4)
    admin.create_collection(
        "dyn",
        schema=basic_schema(dim=12, dynamic=True, description="dynamic one"),
        consistency_level="Strong",
        num_shards=2,
        properties={"k": "v", "collection.ttl.seconds": "60"},
    )
    admin.create_partition("dyn", "p1")
    admin.create_partition("dyn", "p2")
    admin.create_partition("dyn", "p_gone")
    admin.drop_partition("dyn", "p_gone")
    admin.create_alias("dyn", "dyn_alias")
    admin.create_alias("dyn", "dyn_alias2")
    admin.alter_collection_properties("dyn", properties={"k2": "v2"})
    admin.drop_collection_properties("dyn", property_keys=["k"])
    admin.load_collection("dyn")

    admin.create_collection("gone", schema=basic_schema())
    admin.drop_collection("gone")
    admin.create_collection("before_rename", schema=basic_schema())
    admin.rename_collection("before_rename", "after_rename")
    admin.create_collection("moved_alias_src", schema=basic_schema())
    admin.create_alias("moved_alias_src", "moving")
    admin.alter_alias("after_rename", "moving")

    # another database; same collection name as in default
    dbc = server.client(db_name=DB)
    dbc.create_collection("in_db", schema=basic_schema(dim=4))
    dbc.create_collection("pkeyed", schema=basic_schema(dim=4))
    dbc.create_alias("in_db", "in_db_alias")
    dbc.create_partition("in_db", "q1")
    dbc.load_partitions("in_db", ["q1"])


def settled_state(c: MilvusClient, coll: str, partition: str = "") -> str:
    deadline = time.monotonic() + 30
    while True:
        state = c.get_load_state(coll, partition_name=partition)["state"].name
        if state != "Loading" or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def partition_ids(server, db: str, coll: str) -> dict:
    """name -> id from a raw ShowPartitions (MilvusClient does not expose partition ids)."""
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        stub = milvus_pb2_grpc.MilvusServiceStub(ch)
        resp = stub.ShowPartitions(
            milvus_pb2.ShowPartitionsRequest(collection_name=coll),
            metadata=[("dbname", db)],
            timeout=RPC_TIMEOUT_S,
        )
    assert_ok(resp.status)
    assert len(resp.partitionIDs) == len(resp.partition_names), "one id per partition expected"
    ids = dict(zip(resp.partition_names, resp.partitionIDs))
    assert all(ids.values()), f"zero partition id in {ids}"
    return ids


def catalog(server) -> dict:
    """Everything MilvusClient can see about the catalog, normalised for comparison."""
    admin = server.client()
    out: dict = {}
    for db in sorted(admin.list_databases()):
        c = server.client(db_name=db)
        colls = {}
        for name in sorted(c.list_collections()):
            desc = c.describe_collection(name)
            desc["aliases"] = sorted(desc["aliases"])
            partitions = sorted(c.list_partitions(name))
            aliases = sorted(c.list_aliases(collection_name=name)["aliases"])
            colls[name] = {
                "describe": desc,
                "partitions": partitions,
                "partition_ids": partition_ids(server, db, name),
                "aliases": {a: c.describe_alias(a).get("collection_name") for a in aliases},
                "load_state": settled_state(c, name),
                "partition_load_states": {p: settled_state(c, name, p) for p in partitions},
            }
        out[db] = {"describe": admin.describe_database(db), "collections": colls}
    return out


def check_expected_shape(cat: dict) -> None:
    """The populated catalog is what `populate` made (guards the comparison itself)."""
    assert set(cat) == {"default", DB}
    assert cat[DB]["describe"] == {"name": DB, "owner": "ops", "tier": "gold"}
    default = cat["default"]["collections"]
    assert set(default) == {"pkeyed", "dyn", "after_rename", "moved_alias_src"}
    assert default["pkeyed"]["partitions"] == [f"_default_{i}" for i in range(4)]
    dyn = default["dyn"]
    assert dyn["partitions"] == ["_default", "p1", "p2"]
    assert dyn["aliases"] == {"dyn_alias": "dyn", "dyn_alias2": "dyn"}
    assert dyn["load_state"] == "Loaded"
    assert dyn["describe"]["properties"] == {"collection.ttl.seconds": "60", "k2": "v2"}
    assert dyn["describe"]["enable_dynamic_field"] is True
    assert dyn["describe"]["consistency_level_name"] == "Strong"
    assert default["after_rename"]["aliases"] == {"moving": "after_rename"}
    assert default["moved_alias_src"]["aliases"] == {}
    in_db = cat[DB]["collections"]
    assert set(in_db) == {"in_db", "pkeyed"}
    assert in_db["in_db"]["partition_load_states"]["q1"] == "Loaded"
    assert in_db["in_db"]["aliases"] == {"in_db_alias": "in_db"}
    ids = [
        coll["describe"]["collection_id"]
        for db in cat.values()
        for coll in db["collections"].values()
    ]
    assert len(ids) == len(set(ids)), f"collection ids are not unique: {ids}"


def max_timestamp(cat: dict) -> int:
    return max(
        max(coll["describe"].get("created_timestamp", 0), coll["describe"].get("update_timestamp", 0))
        for db in cat.values()
        for coll in db["collections"].values()
    )


def check_new_objects_after_restart(server, before: dict) -> None:
    """Timestamps and ids keep going forward after a restart."""
    c = server.client()
    c.create_collection("created_after", schema=basic_schema())
    desc = c.describe_collection("created_after")
    assert desc["created_timestamp"] > max_timestamp(before), (
        "created_timestamp went backwards across the restart: "
        f"{desc['created_timestamp']} <= {max_timestamp(before)}"
    )
    old_ids = {
        coll["describe"]["collection_id"]
        for db in before.values()
        for coll in db["collections"].values()
    }
    assert desc["collection_id"] not in old_ids, "a collection id was reused after restart"
    assert [f["field_id"] for f in desc["fields"]] == [100, 101, 102]

    c.create_partition("created_after", "fresh")
    old_partition_ids = {
        pid
        for db in before.values()
        for coll in db["collections"].values()
        for pid in coll["partition_ids"].values()
    }
    new_ids = set(partition_ids(server, "default", "created_after").values())
    assert not new_ids & old_partition_ids, "a partition id was reused after restart"


def alloc_ts(server) -> int:
    return server.client()._get_connection().alloc_timestamp()


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_catalog_survives_restart(fresh_server, how):
    populate(fresh_server)
    before = catalog(fresh_server)
    check_expected_shape(before)
    ts_before = alloc_ts(fresh_server)

    if how == "sigterm":
        fresh_server.stop()  # asserts exit code 0
    else:
        fresh_server.kill()
    fresh_server.start()

    after = catalog(fresh_server)
    assert after == before
    assert alloc_ts(fresh_server) > ts_before, "AllocTimestamp went backwards across restart"
    check_new_objects_after_restart(fresh_server, before)


def test_repeated_restarts_and_changes_between_them(fresh_server):
    populate(fresh_server)
    first = catalog(fresh_server)
    fresh_server.restart()
    assert catalog(fresh_server) == first

    # Change things after the first restart; they must persist too.
    c = fresh_server.client()
    c.release_collection("dyn")
    c.drop_alias("dyn_alias2")
    c.alter_collection_properties("dyn", properties={"k3": "v3"})
    c.drop_collection("moved_alias_src")
    dbc = fresh_server.client(db_name=DB)
    dbc.drop_collection("pkeyed")
    c.alter_database_properties(DB, properties={"tier": "silver"})
    second = catalog(fresh_server)
    assert second["default"]["collections"]["dyn"]["load_state"] == "NotLoad"
    assert second["default"]["collections"]["dyn"]["aliases"] == {"dyn_alias": "dyn"}
    assert second[DB]["describe"]["tier"] == "silver"

    fresh_server.kill()
    fresh_server.start()
    assert catalog(fresh_server) == second
    fresh_server.restart()
    assert catalog(fresh_server) == second


def test_empty_server_restarts_cleanly(fresh_server):
    ts = alloc_ts(fresh_server)
    fresh_server.restart()
    c = fresh_server.client()
    assert c.list_databases() == ["default"]
    assert c.list_collections() == []
    assert alloc_ts(fresh_server) > ts


def test_sigterm_exits_zero_while_clients_connected(fresh_server):
    c = MilvusClient(uri=fresh_server.uri, dedicated=True)
    try:
        assert c.get_server_version()
        # stop() sends SIGTERM with the client channel still open and asserts exit 0
        # within the time limit.
        fresh_server.stop()
        assert not fresh_server.running
    finally:
        c.close()
