"""Shared assertion helpers and schema builders for the e2e tests."""

from __future__ import annotations

import contextlib
import logging
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
DATABASE_INVALID_NAME = 802
INVALID_PARAMETER = 1100
ALIAS_NOT_FOUND = 1600
ALIAS_COLLECTION_NAME_CONFLICT = 1601
ALIAS_ALREADY_EXISTS = 1602
FIELD_INVALID_NAME = 1701
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


@contextlib.contextmanager
def pymilvus_warnings():
    """Collect the messages pymilvus logs at WARNING and above (its logger does not
    propagate, so pytest's caplog does not see them)."""
    messages: list = []

    class Collect(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logger = logging.getLogger("pymilvus")
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


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


# ---- snapshots ------------------------------------------------------------------------

SNAPSHOT_NOT_FOUND = 2600
SNAPSHOT_PINNED = 2601
RESTORE_JOB_NOT_FOUND = 2100

RESTORE_STATES = {
    "RestoreSnapshotPending",
    "RestoreSnapshotExecuting",
    "RestoreSnapshotCompleted",
    "RestoreSnapshotFailed",
}
RESTORE_TERMINAL = {"RestoreSnapshotCompleted", "RestoreSnapshotFailed"}


def wait_restore(client: MilvusClient, job_id: int, timeout: float = 60.0, interval: float = 0.02):
    """Poll a restore job until it is terminal. Checks on every observation: a known
    state, progress in 0..100 and never decreasing, start_time > 0 and constant.
    Returns (final info, every observed info)."""
    import time

    seen = []
    deadline = time.monotonic() + timeout
    while True:
        info = client.get_restore_snapshot_state(job_id)
        seen.append(info)
        assert info.job_id == job_id, info
        assert info.state in RESTORE_STATES, info
        assert 0 <= info.progress <= 100, info
        assert info.start_time > 0, info
        if len(seen) > 1:
            assert info.progress >= seen[-2].progress, f"progress went backwards: {seen[-2]} -> {info}"
            assert info.start_time == seen[0].start_time, (seen[0], info)
        if info.state in RESTORE_TERMINAL:
            return info, seen
        assert time.monotonic() < deadline, f"restore job {job_id} not terminal after {timeout}s: {info}"
        time.sleep(interval)


def wait_index_finished(client: MilvusClient, collection: str, index_name: str, rows: int,
                        timeout: float = 30.0) -> dict:
    """Wait until DescribeIndex says Finished with `rows` indexed rows."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        desc = client.describe_index(collection, index_name)
        if desc["state"] == "Finished" and desc["indexed_rows"] == rows and desc["pending_index_rows"] == 0:
            return desc
        assert time.monotonic() < deadline, f"index {index_name} of {collection} not built: {desc}"
        time.sleep(0.1)


def read_avro_ocf(data: bytes) -> list:
    """Every record of an Avro object container file (null or deflate codec), decoded
    with the writer schema embedded in its header. Records become dicts."""
    import io
    import json
    import zlib

    buf = io.BytesIO(data)

    def read_long(b) -> int:
        shift, acc = 0, 0
        while True:
            byte = b.read(1)
            assert byte, "truncated Avro varint"
            acc |= (byte[0] & 0x7F) << shift
            if not byte[0] & 0x80:
                return (acc >> 1) ^ -(acc & 1)
            shift += 7

    def read_bytes(b) -> bytes:
        return b.read(read_long(b))

    named: dict = {}

    def register(schema, namespace: str = ""):
        if isinstance(schema, dict):
            ns = schema.get("namespace", namespace)
            if schema.get("type") in ("record", "enum", "fixed"):
                name = schema["name"]
                full = name if "." in name or not ns else f"{ns}.{name}"
                named[full] = schema
                named[name] = schema
            for f in schema.get("fields", []):
                register(f["type"], ns)
            for key in ("items", "values"):
                if key in schema:
                    register(schema[key], ns)
        elif isinstance(schema, list):
            for s in schema:
                register(s, namespace)

    def decode(schema, b):
        import struct

        if isinstance(schema, list):
            return decode(schema[read_long(b)], b)
        if isinstance(schema, str):
            if schema in named:
                return decode(named[schema], b)
            if schema == "null":
                return None
            if schema == "boolean":
                return b.read(1) != b"\x00"
            if schema in ("int", "long"):
                return read_long(b)
            if schema == "float":
                return struct.unpack("<f", b.read(4))[0]
            if schema == "double":
                return struct.unpack("<d", b.read(8))[0]
            if schema == "bytes":
                return read_bytes(b)
            if schema == "string":
                return read_bytes(b).decode("utf-8")
            raise AssertionError(f"unknown Avro type {schema!r}")
        kind = schema["type"]
        if kind == "record":
            return {f["name"]: decode(f["type"], b) for f in schema["fields"]}
        if kind in ("array", "map"):
            out = [] if kind == "array" else {}
            while True:
                n = read_long(b)
                if n == 0:
                    return out
                if n < 0:
                    n = -n
                    read_long(b)  # block size in bytes
                for _ in range(n):
                    if kind == "array":
                        out.append(decode(schema["items"], b))
                    else:
                        k = read_bytes(b).decode("utf-8")
                        out[k] = decode(schema["values"], b)
        if kind == "enum":
            return schema["symbols"][read_long(b)]
        if kind == "fixed":
            return b.read(schema["size"])
        return decode(kind, b)  # {"type": "long"} and the like

    assert buf.read(4) == b"Obj\x01", "not an Avro object container file"
    meta = decode({"type": "map", "values": "bytes"}, buf)
    sync = buf.read(16)
    schema = json.loads(meta["avro.schema"].decode("utf-8"))
    codec = meta.get("avro.codec", b"null").decode()
    register(schema)
    records = []
    while buf.tell() < len(data):
        count = read_long(buf)
        block = read_bytes(buf)
        if codec == "deflate":
            block = zlib.decompress(block, -15)
        else:
            assert codec == "null", f"unsupported Avro codec {codec}"
        bb = io.BytesIO(block)
        records.extend(decode(schema, bb) for _ in range(count))
        assert buf.read(16) == sync, "Avro sync marker mismatch"
    return records


def snapshot_files(objects_dir, s3_location: str) -> dict:
    """A snapshot read from the local object store: {"metadata": the JSON, "manifests":
    {key: record}, "data_keys": every insert/delete log and index file key referenced}."""
    import json
    from pathlib import Path

    root = Path(objects_dir)
    metadata = json.loads((root / s3_location).read_text())
    manifests = {}
    data_keys = set()
    for key in metadata["manifest_list"]:
        (record,) = read_avro_ocf((root / key).read_bytes())
        manifests[key] = record
        for group in record["binlog_files"] + record["deltalog_files"]:
            data_keys.update(b["log_path"] for b in group["binlogs"])
        for index in record["index_files"]:
            data_keys.update(index["index_file_paths"])
    return {"metadata": metadata, "manifests": manifests, "data_keys": data_keys}


# ---- vector search: exact brute force with numpy ----------------------------------------

COSINE_LIKE = {"IP", "COSINE"}  # similarity metrics: higher is closer


def higher_is_closer(metric: str) -> bool:
    return metric.upper() in COSINE_LIKE


def clustered_vectors(n: int, dim: int, clusters: int, seed: int, spread: float = 0.3):
    """(float32 vectors (n, dim), cluster label per row): Gaussian blobs around
    N(0, 1) centres."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    labels = rng.integers(0, clusters, n)
    vectors = centres[labels] + spread * rng.standard_normal((n, dim))
    return vectors.astype(np.float32), labels


def clustered_bits(n: int, dim_bits: int, clusters: int, seed: int, flip: float = 0.1):
    """(uint8 packed binary vectors (n, dim_bits/8), cluster label per row): random
    prototypes with a fraction `flip` of the bits flipped."""
    import numpy as np

    rng = np.random.default_rng(seed)
    protos = rng.integers(0, 2, (clusters, dim_bits), dtype=np.uint8)
    labels = rng.integers(0, clusters, n)
    flips = (rng.random((n, dim_bits)) < flip).astype(np.uint8)
    return np.packbits(protos[labels] ^ flips, axis=1), labels


def exact_scores(metric: str, base, queries):
    """Scores (nq, n) in Milvus's convention, in float64: squared L2, inner product,
    cosine similarity; HAMMING and JACCARD for packed uint8 binary vectors."""
    import numpy as np

    metric = metric.upper()
    if metric in ("HAMMING", "JACCARD"):
        a = np.unpackbits(np.asarray(queries, dtype=np.uint8), axis=1).astype(np.int64)
        b = np.unpackbits(np.asarray(base, dtype=np.uint8), axis=1).astype(np.int64)
        inter = a @ b.T
        union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
        if metric == "HAMMING":
            return (union - inter).astype(np.float64)
        return 1.0 - inter / np.maximum(union, 1)
    q = np.asarray(queries, dtype=np.float64)
    x = np.asarray(base, dtype=np.float64)
    if metric == "L2":
        return (q * q).sum(1)[:, None] + (x * x).sum(1)[None, :] - 2.0 * q @ x.T
    if metric == "IP":
        return q @ x.T
    if metric == "COSINE":
        qn = q / np.linalg.norm(q, axis=1, keepdims=True)
        xn = x / np.linalg.norm(x, axis=1, keepdims=True)
        return qn @ xn.T
    raise AssertionError(f"unknown metric {metric}")


def ranked(metric: str, scores: dict) -> list:
    """[(id, score)] best first; ties by id."""
    if higher_is_closer(metric):
        return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return sorted(scores.items(), key=lambda kv: (kv[1], kv[0]))


def score_close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-4 + 1e-4 * abs(b)


def assert_sorted_scores(metric: str, scores: list, what: str = "") -> None:
    """Non-increasing for IP/COSINE, non-decreasing for the distances."""
    for x, y in zip(scores, scores[1:]):
        ok = (x >= y - 1e-6) if higher_is_closer(metric) else (x <= y + 1e-6)
        assert ok, f"{what}: scores not in {metric} order: {scores}"


def hits_of(hits, pk: str) -> tuple:
    """(ids, distances) of one query's hits."""
    return [h[pk] for h in hits], [h["distance"] for h in hits]


def assert_exact_topk(metric: str, ids: list, dists: list, scores: dict, k: int, what: str = "") -> None:
    """`ids`/`dists` are exactly the best `k` of `scores` ({id: exact score} of every
    eligible row), up to ties: every distance is the row's true score, the distance at
    each rank is the true one, and every row strictly better than the k-th is there."""
    want = ranked(metric, scores)[:k]
    detail = f"{what}: got {list(zip(ids, dists))[:12]}, want {want[:12]}"
    assert len(ids) == len(want), f"{what}: {len(ids)} hits, want {len(want)}; " + detail
    assert len(set(ids)) == len(ids), f"duplicate ids; {detail}"
    for i, d in zip(ids, dists):
        assert i in scores, f"id {i} is not eligible (filtered out or deleted); {detail}"
        assert score_close(d, scores[i]), f"id {i}: distance {d}, exact {scores[i]}; {detail}"
    for rank, ((_, s), d) in enumerate(zip(want, dists)):
        assert score_close(d, s), f"rank {rank}: distance {d}, exact {s}; {detail}"
    if want:
        kth = want[-1][1]
        sure = {i for i, s in want if not score_close(s, kth)}
        assert sure <= set(ids), f"missing {sorted(sure - set(ids))}; {detail}"


def tie_aware_recall(metric: str, ids: list, scores: dict, k: int) -> float:
    """Fraction of the wanted min(k, eligible) hits found: a returned eligible row counts
    when it is at least as close as the true k-th."""
    want = ranked(metric, scores)[:k]
    if not want:
        return 1.0
    kth = want[-1][1]
    good = 0
    for i in set(ids):
        if i not in scores:
            continue
        s = scores[i]
        if score_close(s, kth) or (s > kth if higher_is_closer(metric) else s < kth):
            good += 1
    return min(good, len(want)) / len(want)
