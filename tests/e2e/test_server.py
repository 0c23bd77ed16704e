"""Process-level and connection-level behaviour: startup, version, timestamps (unserved RPCs:
test_unserved.py)."""

from __future__ import annotations

import time

from pymilvus import MilvusClient, MilvusException
from pymilvus.grpc_gen import milvus_pb2

from helpers import RPC_TIMEOUT_S, assert_ok


def test_server_logs_ready_line(server):
    # The port already accepts (the fixture waited for it); the ready line must follow.
    deadline = time.monotonic() + 5
    while "ready" not in server.log_text().lower() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "ready" in server.log_text().lower(), f"no 'ready' line in log:\n{server.log_tail()}"


def test_connect_and_get_server_version(client: MilvusClient):
    version = client.get_server_version()
    assert isinstance(version, str)
    assert version.strip(), "GetVersion returned an empty version string"


def test_get_server_version_detail_uses_connect(client: MilvusClient):
    info = client.get_server_version(detail=True)
    assert isinstance(info, dict)
    assert set(info) >= {"version", "build_time", "git_commit", "deploy_mode"}


def test_raw_connect_reply(raw_stub):
    resp = raw_stub.Connect(milvus_pb2.ConnectRequest(), timeout=RPC_TIMEOUT_S)
    assert_ok(resp.status)


def test_alloc_timestamp_is_hybrid_and_monotonic(raw_stub):
    stamps = []
    for _ in range(20):
        resp = raw_stub.AllocTimestamp(milvus_pb2.AllocTimestampRequest(), timeout=RPC_TIMEOUT_S)
        assert_ok(resp.status)
        stamps.append(resp.timestamp)
    assert all(b > a for a, b in zip(stamps, stamps[1:])), f"not strictly increasing: {stamps}"
    # Hybrid TSO: physical milliseconds << 18 | logical.
    physical_ms = stamps[-1] >> 18
    now_ms = int(time.time() * 1000)
    assert abs(physical_ms - now_ms) < 60_000, (
        f"AllocTimestamp physical part {physical_ms} ms is not near now ({now_ms} ms)"
    )


def test_alloc_timestamp_through_pymilvus(client: MilvusClient):
    # pymilvus calls this inside create_index; make sure its wrapper reads our reply.
    conn = client._get_connection()
    a = conn.alloc_timestamp()
    b = conn.alloc_timestamp()
    assert a > 0 and b > a


def test_one_node_is_milvus_default_resource_group(client):
    client.create_collection("rg_loaded", dimension=4)  # quick form: loaded
    assert client.list_resource_groups() == ["__default_resource_group"]
    group = client.describe_resource_group("__default_resource_group")
    assert group.name == "__default_resource_group" and group.num_available_node == 1
    assert group.num_loaded_replica.get("rg_loaded") == 1
    try:
        client.describe_resource_group("elsewhere")
        raise AssertionError("an unknown resource group was described")
    except MilvusException as e:
        assert "resource group not found[rg=elsewhere]" in e.message
    client.drop_collection("rg_loaded")
