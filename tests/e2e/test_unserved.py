"""Every MilvusService RPC of pymilvus 3.0.2 that Quiver does not serve answers gRPC OK with
a Milvus Status naming it (code 10, Milvus's `ErrServiceUnimplemented`), where the RPC's
reply carries its Status. A bare gRPC UNIMPLEMENTED is what the Node SDK takes for success
(`truncateCollection` "succeeded" and nothing happened), so none of them may answer that,
except the few whose reply has no Status field at all.

The RPCs are taken from pymilvus's own descriptors minus `crates/proto/rpcs.txt`, and
called through raw gRPC with pymilvus's message classes, so a wrong reply shape shows up
as a Status pymilvus cannot find.
"""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest
from google.protobuf import message_factory
from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException
from pymilvus.grpc_gen import milvus_pb2

SERVICE = milvus_pb2.DESCRIPTOR.services_by_name["MilvusService"]
STATUS = "milvus.proto.common.Status"
SERVICE_UNIMPLEMENTED = 10
RPCS_TXT = Path(__file__).resolve().parents[2] / "crates" / "proto" / "rpcs.txt"


def _served() -> set:
    names = set()
    for line in RPCS_TXT.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("message "):
            names.add(line)
    return names


UNSERVED = [m for m in SERVICE.methods if m.name not in _served()]


def _call(channel: grpc.Channel, method):
    """Send an empty request of `method`'s type; return its (first) reply."""
    request = message_factory.GetMessageClass(method.input_type)()
    reply_type = message_factory.GetMessageClass(method.output_type)
    path = f"/{SERVICE.full_name}/{method.name}"
    shape = (method.client_streaming, method.server_streaming)
    kwargs = dict(request_serializer=type(request).SerializeToString, response_deserializer=reply_type.FromString)
    if shape == (False, False):
        return channel.unary_unary(path, **kwargs)(request, timeout=10)
    if shape == (False, True):
        replies = list(channel.unary_stream(path, **kwargs)(request, timeout=10))
        assert len(replies) == 1, f"{method.name}: {len(replies)} replies"
        return replies[0]
    if shape == (True, True):
        return next(iter(channel.stream_stream(path, **kwargs)(iter([request]), timeout=10)))
    return channel.stream_unary(path, **kwargs)(iter([request]), timeout=10)


def _status_fields(method):
    return [f for f in method.output_type.fields if f.message_type is not None and f.message_type.full_name == STATUS]


@pytest.mark.parametrize("method", UNSERVED, ids=lambda m: m.name)
def test_unserved_rpc_answers_ok_with_a_status_that_names_it(raw_channel, method):
    started = time.monotonic()
    fields = _status_fields(method)
    if method.output_type.full_name != STATUS and not fields:
        # No Status in the reply: a gRPC error is the only way to say it.
        with pytest.raises(grpc.RpcError) as info:
            _call(raw_channel, method)
        assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED, info.value
        assert method.name in info.value.details() and "service unimplemented" in info.value.details()
        return
    reply = _call(raw_channel, method)
    assert time.monotonic() - started < 5, f"{method.name} took its time"
    status = reply if method.output_type.full_name == STATUS else getattr(reply, fields[0].name)
    assert status.code == SERVICE_UNIMPLEMENTED, f"{method.name}: {status}"
    assert status.error_code != 0, f"{method.name}: pymilvus reads success from error_code too"
    assert f"{method.name} is not served by Quiver" in status.reason, status.reason
    assert "service unimplemented" in status.reason, status.reason


def test_unserved_call_through_pymilvus_fails_fast_with_the_name(client: MilvusClient):
    # pymilvus raises on the Status at once (no retries): a prompt, named error.
    started = time.monotonic()
    with pytest.raises(MilvusException) as info:
        client.create_resource_group("elsewhere")
    assert time.monotonic() - started < 5.0, "was it retried?"
    assert info.value.code == SERVICE_UNIMPLEMENTED, info.value
    assert "CreateResourceGroup is not served by Quiver" in info.value.message, info.value


def test_a_method_pymilvus_does_not_know_is_unimplemented(raw_channel):
    call = raw_channel.unary_unary(
        f"/{SERVICE.full_name}/NoSuchMethodAtAll", request_serializer=lambda x: x, response_deserializer=lambda x: x
    )
    with pytest.raises(grpc.RpcError) as info:
        call(b"", timeout=10)
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED, info.value
