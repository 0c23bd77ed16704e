"""Shared assertion helpers and schema builders for the e2e tests."""

from __future__ import annotations

import contextlib
from typing import Iterable, Optional

import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import MilvusException
from pymilvus.grpc_gen import common_pb2, milvus_pb2, schema_pb2

RPC_TIMEOUT_S = 15.0

# Modern error codes (Status.code) of the behaviour contract.
COLLECTION_NOT_FOUND = 100
PARTITION_NOT_FOUND = 200
DATABASE_NOT_FOUND = 800
INVALID_PARAMETER = 1100
ALIAS_NOT_FOUND = 1600
ALIAS_COLLECTION_NAME_CONFLICT = 1601
ALIAS_ALREADY_EXISTS = 1602
UNEXPECTED = 65535


@contextlib.contextmanager
def expect_error(code: int, *fragments: str):
    """The block must raise MilvusException with `.code == code` and every fragment
    (case-insensitive) in `.message`."""
    with pytest.raises(MilvusException) as info:
        yield info
    err = info.value
    assert err.code == code, f"expected code {code}, got {err.code}: {err.message!r}"
    for frag in fragments:
        assert frag.lower() in (err.message or "").lower(), (
            f"expected {frag!r} in error message, got {err.message!r} (code {err.code})"
        )


def assert_status(status: common_pb2.Status, code: int, *fragments: str) -> None:
    """Same as `expect_error`, for a raw `common.Status` from a raw gRPC call."""
    assert status.code == code, f"expected code {code}, got {status.code}: {status.reason!r}"
    for frag in fragments:
        assert frag.lower() in status.reason.lower(), (
            f"expected {frag!r} in reason, got {status.reason!r} (code {status.code})"
        )


def assert_ok(status: common_pb2.Status) -> None:
    assert status.code == 0 and status.error_code == 0, (
        f"expected success, got code={status.code} error_code={status.error_code} "
        f"reason={status.reason!r}"
    )


# ---- schemas through the MilvusClient API --------------------------------------------


def basic_schema(dim: int = 8, dynamic: bool = False, description: str = ""):
    """pk `id` Int64, `vector` FloatVector(dim), `title` VarChar(64)."""
    schema = MilvusClient.create_schema(
        auto_id=False, enable_dynamic_field=dynamic, description=description
    )
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("title", DataType.VARCHAR, max_length=64)
    return schema


def partition_key_schema(dim: int = 8):
    """pk `id` Int64, `tenant` Int64 partition key, `vector` FloatVector(dim)."""
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("tenant", DataType.INT64, is_partition_key=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    return schema


def field_by_name(desc: dict, name: str) -> dict:
    for f in desc["fields"]:
        if f["name"] == name:
            return f
    raise AssertionError(f"no field {name!r} in {[f['name'] for f in desc['fields']]}")


def load_state_name(client: MilvusClient, collection: str, partition: str = "") -> str:
    """'Loaded', 'NotLoad', 'Loading' or 'NotExist'."""
    state = client.get_load_state(collection, partition_name=partition)["state"]
    return state.name


# ---- raw protobuf, for requests the pymilvus client refuses to build ------------------


def pb_field(
    name: str,
    data_type: int,
    *,
    primary: bool = False,
    partition_key: bool = False,
    type_params: Optional[dict] = None,
) -> schema_pb2.FieldSchema:
    f = schema_pb2.FieldSchema(
        name=name,
        data_type=data_type,
        is_primary_key=primary,
        is_partition_key=partition_key,
    )
    for k, v in (type_params or {}).items():
        f.type_params.append(common_pb2.KeyValuePair(key=k, value=str(v)))
    return f


def pk_field(name: str = "id") -> schema_pb2.FieldSchema:
    return pb_field(name, schema_pb2.DataType.Int64, primary=True)


def vec_field(name: str = "vector", dim: Optional[int] = 8) -> schema_pb2.FieldSchema:
    params = {"dim": dim} if dim is not None else {}
    return pb_field(name, schema_pb2.DataType.FloatVector, type_params=params)


def raw_create_collection(
    stub,
    name: str,
    fields: Iterable[schema_pb2.FieldSchema],
    *,
    num_partitions: int = 0,
    dynamic: bool = False,
    db_name: str = "",
) -> common_pb2.Status:
    schema = schema_pb2.CollectionSchema(
        name=name, fields=list(fields), enable_dynamic_field=dynamic
    )
    req = milvus_pb2.CreateCollectionRequest(
        db_name=db_name,
        collection_name=name,
        schema=schema.SerializeToString(),
        consistency_level=common_pb2.ConsistencyLevel.Bounded,
        num_partitions=num_partitions,
    )
    return stub.CreateCollection(req, timeout=RPC_TIMEOUT_S)


def raw_has_collection(stub, name: str) -> bool:
    resp = stub.DescribeCollection(
        milvus_pb2.DescribeCollectionRequest(collection_name=name), timeout=RPC_TIMEOUT_S
    )
    return resp.status.code == 0 and resp.status.error_code == 0


# ---- data path helpers ----------------------------------------------------------------

COLLECTION_NOT_LOADED = 101
MAX_QUERY_LIMIT = 16384


def count_rows(client: MilvusClient, collection: str, filter: str = "", **kwargs) -> int:
    """`count(*)` through Query (kwargs: partition_names, filter_params, ...)."""
    res = client.query(collection, filter=filter, output_fields=["count(*)"], **kwargs)
    assert len(res) == 1, f"count(*) should give one row, got {res!r}"
    return res[0]["count(*)"]


def rows_by_pk(
    client: MilvusClient,
    collection: str,
    pk: str = "id",
    filter: str = "",
    output_fields: Optional[list] = None,
    **kwargs,
) -> dict:
    """Every matching row as {pk: row}; fails on a duplicate primary key."""
    res = client.query(
        collection,
        filter=filter,
        output_fields=output_fields if output_fields is not None else ["*"],
        limit=MAX_QUERY_LIMIT,
        **kwargs,
    )
    out: dict = {}
    for row in res:
        assert row[pk] not in out, f"primary key {row[pk]!r} returned twice"
        out[row[pk]] = dict(row)
    return out


def pks(client: MilvusClient, collection: str, filter: str = "", pk: str = "id", **kwargs) -> list:
    """Sorted primary keys of the matching rows (duplicates kept, so they show)."""
    res = client.query(collection, filter=filter, output_fields=[pk], limit=MAX_QUERY_LIMIT, **kwargs)
    return sorted(r[pk] for r in res)


# FieldData builders for raw Insert/Upsert requests.

def fd_long(name: str, values: list) -> schema_pb2.FieldData:
    return schema_pb2.FieldData(
        type=schema_pb2.DataType.Int64,
        field_name=name,
        scalars=schema_pb2.ScalarField(long_data=schema_pb2.LongArray(data=values)),
    )


def fd_int(name: str, values: list, data_type: int = schema_pb2.DataType.Int32,
           valid: Optional[list] = None) -> schema_pb2.FieldData:
    fd = schema_pb2.FieldData(
        type=data_type,
        field_name=name,
        scalars=schema_pb2.ScalarField(int_data=schema_pb2.IntArray(data=values)),
    )
    if valid is not None:
        fd.valid_data.extend(valid)
    return fd


def fd_varchar(name: str, values: list) -> schema_pb2.FieldData:
    return schema_pb2.FieldData(
        type=schema_pb2.DataType.VarChar,
        field_name=name,
        scalars=schema_pb2.ScalarField(string_data=schema_pb2.StringArray(data=values)),
    )


def fd_float_vector(name: str, rows: list, dim: Optional[int] = None) -> schema_pb2.FieldData:
    flat = [float(x) for row in rows for x in row]
    return schema_pb2.FieldData(
        type=schema_pb2.DataType.FloatVector,
        field_name=name,
        vectors=schema_pb2.VectorField(
            dim=dim if dim is not None else len(rows[0]),
            float_vector=schema_pb2.FloatArray(data=flat),
        ),
    )


def fd_json(name: str, docs: list, dynamic: bool = False) -> schema_pb2.FieldData:
    import json

    return schema_pb2.FieldData(
        type=schema_pb2.DataType.JSON,
        field_name=name,
        is_dynamic=dynamic,
        scalars=schema_pb2.ScalarField(
            json_data=schema_pb2.JSONArray(data=[json.dumps(d).encode() for d in docs])
        ),
    )


def raw_write(
    stub,
    collection: str,
    fields: Iterable[schema_pb2.FieldData],
    num_rows: int,
    *,
    partition: str = "",
    upsert: bool = False,
) -> milvus_pb2.MutationResult:
    fields = list(fields)
    if upsert:
        req = milvus_pb2.UpsertRequest(
            collection_name=collection, partition_name=partition, fields_data=fields,
            num_rows=num_rows,
        )
        return stub.Upsert(req, timeout=RPC_TIMEOUT_S)
    req = milvus_pb2.InsertRequest(
        collection_name=collection, partition_name=partition, fields_data=fields, num_rows=num_rows
    )
    return stub.Insert(req, timeout=RPC_TIMEOUT_S)
