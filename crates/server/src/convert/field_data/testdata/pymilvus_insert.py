"""Serialize InsertRequests exactly as pymilvus 3.0.2 builds them for rows with None values.

Run from this directory with pymilvus 3.0.2 installed: python pymilvus_insert.py .
The Rust tests in ../tests.rs decode the .bin files it writes.

Uses pymilvus's own code path: DescribeCollectionResponse -> client.abstract.CollectionSchema
(.dict(), what MilvusClient caches as fields_info) -> Prepare.row_insert_param.
"""
import sys
from pymilvus.grpc_gen import milvus_pb2, schema_pb2
from pymilvus.client.prepare import Prepare
from pymilvus.client.abstract import CollectionSchema

DT = schema_pb2.DataType
kv = lambda k, v: {"key": k, "value": str(v)}

fields = [
    schema_pb2.FieldSchema(fieldID=100, name="pk", data_type=DT.Int64, is_primary_key=True),
    schema_pb2.FieldSchema(fieldID=101, name="vec", data_type=DT.FloatVector, type_params=[kv("dim", 4)]),
    schema_pb2.FieldSchema(fieldID=102, name="n", data_type=DT.Int64, nullable=True),
    schema_pb2.FieldSchema(fieldID=103, name="s", data_type=DT.VarChar, nullable=True, type_params=[kv("max_length", 64)]),
    schema_pb2.FieldSchema(fieldID=104, name="i8", data_type=DT.Int8, nullable=True),
    schema_pb2.FieldSchema(fieldID=105, name="j", data_type=DT.JSON, nullable=True),
    schema_pb2.FieldSchema(fieldID=106, name="arr", data_type=DT.Array, element_type=DT.Int64, nullable=True,
                           type_params=[kv("max_capacity", 8)]),
    schema_pb2.FieldSchema(fieldID=107, name="d", data_type=DT.Double,
                           default_value=schema_pb2.ValueField(double_data=1.5)),
]
resp = milvus_pb2.DescribeCollectionResponse(
    collection_name="c",
    schema=schema_pb2.CollectionSchema(name="c", fields=fields, enable_dynamic_field=True),
)
schema = CollectionSchema(raw=resp).dict()

rows = [
    {"pk": 1, "vec": [1, 2, 3, 4], "n": 10, "s": "a", "i8": -5, "j": {"k": 1}, "arr": [1, 2], "d": 2.5, "color": "red"},
    {"pk": 2, "vec": [5, 6, 7, 8], "n": None, "s": None, "i8": None, "j": None, "arr": None, "d": None},
    {"pk": 3, "vec": [9, 10, 11, 12]},  # nullable/default keys left out entirely
    {"pk": 4, "vec": [13, 14, 15, 16], "n": 40, "s": "d", "i8": 7, "j": [1, "x"], "arr": [], "d": 4.5},
]
req = Prepare.row_insert_param("c", rows, "", schema["fields"], enable_dynamic=True)
open(sys.argv[1] + "/nullable_insert.bin", "wb").write(req.SerializeToString())
print(req)
# Every nullable/default value missing: pymilvus never touches the values oneof.
rows = [{"pk": 5, "vec": [0, 0, 0, 1]}, {"pk": 6, "vec": [0, 0, 1, 0], "n": None, "arr": None}]
req = Prepare.row_insert_param("c", rows, "", schema["fields"], enable_dynamic=True)
open(sys.argv[1] + "/all_null_insert.bin", "wb").write(req.SerializeToString())
print(req)
