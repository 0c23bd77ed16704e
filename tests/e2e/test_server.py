"""Process-level and connection-level behaviour: startup, version, timestamps, UNIMPLEMENTED."""

from __future__ import annotations

import re
import time

import grpc
import pytest
from pymilvus import MilvusClient
from pymilvus.grpc_gen import milvus_pb2

from helpers import RPC_TIMEOUT_S, assert_ok

SERVICE = "/milvus.proto.milvus.MilvusService"


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


@pytest.mark.parametrize(
    "method",
    [
        "HybridSearch",  # a real MilvusService method that Quiver does not serve (yet)
        "NoSuchMethodAtAll",  # not even in pymilvus's proto
    ],
)
def test_unserved_method_is_unimplemented(raw_channel, method):
    call = raw_channel.unary_unary(
        f"{SERVICE}/{method}",
        request_serializer=lambda x: x,
        response_deserializer=lambda x: x,
    )
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as info:
        call(b"", timeout=10)
    elapsed = time.monotonic() - started
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED, (
        f"expected UNIMPLEMENTED, got {info.value.code()}: {info.value.details()}"
    )
    assert elapsed < 2.0, f"UNIMPLEMENTED took {elapsed:.2f} s; it must answer at once"


def test_unserved_method_through_pymilvus_fails_fast(client: MilvusClient):
    # pymilvus does not retry UNIMPLEMENTED: a user calling an unserved API gets a prompt
    # error instead of minutes of retries.
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        client.list_resource_groups()
    elapsed = time.monotonic() - started
    assert elapsed < 5.0, f"unserved call took {elapsed:.1f} s (was it retried?)"
    assert re.search(r"unimplemented", repr(info.value), re.IGNORECASE), repr(info.value)
