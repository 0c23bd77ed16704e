"""Names are checked on every call that Milvus checks them on, not only on create, and each
kind of name is refused in Milvus's own words and code. Where Milvus does NOT check a name
(search, index and property calls, drops), a malformed name is simply not found, or the drop
succeeds, as there.

The texts are compared whole: clients and Milvus's own tests match them.
"""

from __future__ import annotations

import contextlib

import pytest
from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException
from pymilvus.grpc_gen import milvus_pb2

from helpers import (
    ALIAS_ALREADY_EXISTS,
    ALIAS_COLLECTION_NAME_CONFLICT,
    COLLECTION_NOT_FOUND,
    DATABASE_INVALID_NAME,
    DATABASE_NOT_FOUND,
    INVALID_PARAMETER,
    PARTITION_NOT_FOUND,
    UNEXPECTED,
    basic_schema,
    fd_float_vector,
    fd_long,
    raw_write,
)

# Malformed in their first character (the non-ASCII one included: Milvus checks bytes).
BAD_FIRST = ["12-s", "(mn)", "中文", "%$#"]
LONG = "a" * 256


@contextlib.contextmanager
def refused(code: int, message: str):
    """The block must fail with exactly this code and message."""
    with pytest.raises(MilvusException) as info:
        yield
    assert (info.value.code, info.value.message) == (code, message)


def bad_collection(name: str) -> str:
    return (f"Invalid collection name: {name}. the first character of a collection name must be an "
            f"underscore or letter: invalid parameter")


def bad_partition(name: str, detail: str) -> str:
    return f"Invalid partition name: {name}. {detail}: invalid parameter"


@pytest.fixture
def coll(client: MilvusClient, unique_name):
    name = unique_name("names")
    client.create_collection(name, schema=basic_schema(dim=4))
    client.insert(name, [row(i) for i in range(3)])
    return name


def row(i: int) -> dict:
    return {"id": i, "vector": [float(i)] * 4, "title": f"t{i}"}


# ---- collection names ---------------------------------------------------------------------


@pytest.mark.parametrize("name", BAD_FIRST)
def test_collection_calls_refuse_a_malformed_name(client: MilvusClient, name):
    message = bad_collection(name)
    with refused(INVALID_PARAMETER, message):
        client.has_collection(name)
    with refused(INVALID_PARAMETER, message):
        client.describe_collection(name)
    with refused(INVALID_PARAMETER, message):
        client.load_collection(name)
    with refused(INVALID_PARAMETER, message):
        client.release_collection(name)
    with refused(INVALID_PARAMETER, message):
        client.list_partitions(name)
    with refused(INVALID_PARAMETER, message):
        client.has_partition(name, "p")


def test_an_overlong_collection_name_is_refused_with_its_length(client: MilvusClient):
    with refused(INVALID_PARAMETER, f"Invalid collection name: {LONG}. the length of a collection name "
                                    f"must be less than 255 characters: invalid parameter"):
        client.has_collection(LONG)


@pytest.mark.parametrize("name", ["12-s", "中文"])
def test_data_calls_refuse_a_malformed_collection_name(client: MilvusClient, raw_stub, name):
    message = bad_collection(name)
    with refused(INVALID_PARAMETER, message):
        client.insert(name, [row(1)])
    with refused(INVALID_PARAMETER, message):
        client.upsert(name, [row(1)])
    with refused(INVALID_PARAMETER, message):
        client.delete(name, filter="id > 0")
    with refused(INVALID_PARAMETER, message):
        client.query(name, filter="id > 0")
    with refused(INVALID_PARAMETER, message):
        client.get(name, ids=[1])
    # The Insert and Upsert RPCs check the name themselves (pymilvus asks DescribeCollection
    # first, other clients do not).
    fields = [fd_long("id", [1]), fd_float_vector("vector", [[1.0] * 4])]
    for upsert in (False, True):
        status = raw_write(raw_stub, name, fields, 1, upsert=upsert).status
        assert (status.code, status.reason) == (INVALID_PARAMETER, message)


def test_calls_milvus_does_not_check_find_nothing(client: MilvusClient, coll):
    name = "12-s"
    with refused(COLLECTION_NOT_FOUND, f"collection not found[database=default][collection={name}]"):
        client.search(name, [[1.0] * 4], limit=1)
    index_params = client.prepare_index_params()
    index_params.add_index(field_name="vector", metric_type="L2")
    with pytest.raises(MilvusException) as info:
        client.create_index(name, index_params)
    assert info.value.code == COLLECTION_NOT_FOUND
    assert f"collection not found[database=default][collection={name}]" in info.value.message
    with refused(COLLECTION_NOT_FOUND, f"collection not found[database=default][collection={name}]"):
        client.alter_collection_properties(name, {"mmap.enabled": True})
    client.drop_collection(name)  # a drop of what is not there succeeds, whatever the name
    assert client.has_collection(coll)


def test_a_missing_collection_is_described_in_describes_words(client: MilvusClient, unique_name):
    missing = unique_name("missing")
    assert client.has_collection(missing) is False
    with refused(COLLECTION_NOT_FOUND, f"can't find collection[database=default][collection={missing}]"):
        client.describe_collection(missing)
    with refused(COLLECTION_NOT_FOUND, f"collection not found[database=default][collection={missing}]"):
        client.load_collection(missing)


# ---- partition names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, detail",
    [
        ("12 s", "Partition name can only contain numbers, letters and underscores."),
        ("(mn)", "The first character of a partition name must be an underscore or letter."),
        ("中文", "The first character of a partition name must be an underscore or letter."),
        ("p$1", "Partition name can only contain numbers, letters and underscores."),
    ],
)
def test_partition_calls_refuse_a_malformed_partition_name(client: MilvusClient, coll, name, detail):
    message = bad_partition(name, detail)
    with refused(INVALID_PARAMETER, message):
        client.has_partition(coll, name)
    with refused(INVALID_PARAMETER, message):
        client.drop_partition(coll, name)
    with refused(INVALID_PARAMETER, message):
        client.release_partitions(coll, [name])
    with refused(INVALID_PARAMETER, message):
        client.insert(coll, [row(9)], partition_name=name)
    with refused(INVALID_PARAMETER, message):
        client.upsert(coll, [row(9)], partition_name=name)
    # A load only finds such a partition missing, as in Milvus.
    with refused(PARTITION_NOT_FOUND, f"partition not found[partition={name}]"):
        client.load_partitions(coll, [name])
    assert client.get_collection_stats(coll)["row_count"] == 3  # nothing was written


def test_a_blank_partition_name_is_an_empty_one(client: MilvusClient, coll):
    with refused(INVALID_PARAMETER, "Invalid partition name: . Partition name should not be empty.: invalid parameter"):
        client.insert(coll, [row(9)], partition_name=" ")
    with refused(INVALID_PARAMETER, "Invalid partition name: . Partition name should not be empty.: invalid parameter"):
        client.has_partition(coll, " ")


def test_partition_calls_check_the_collection_name_first(client: MilvusClient):
    message = bad_collection("12-s")
    with refused(INVALID_PARAMETER, message):
        client.create_partition("12-s", "p")
    with refused(INVALID_PARAMETER, message):
        client.drop_partition("12-s", "p")
    with refused(INVALID_PARAMETER, message):
        client.load_partitions("12-s", ["p"])
    with refused(INVALID_PARAMETER, message):
        client.release_partitions("12-s", ["p"])


# ---- alias names --------------------------------------------------------------------------


@pytest.mark.parametrize("alias", BAD_FIRST)
def test_alias_calls_refuse_a_malformed_alias(client: MilvusClient, coll, alias):
    message = (f"Invalid collection alias: {alias}. the first character of a collection alias must be an "
               f"underscore or letter: invalid parameter")
    with refused(INVALID_PARAMETER, message):
        client.create_alias(coll, alias)
    with refused(INVALID_PARAMETER, message):
        client.alter_alias(coll, alias)
    with refused(INVALID_PARAMETER, message):
        client.describe_alias(alias)
    client.drop_alias(alias)  # Milvus no longer checks what a drop removes


def test_alias_calls_refuse_a_malformed_collection_name(client: MilvusClient, unique_name):
    alias = unique_name("alias")
    with refused(INVALID_PARAMETER, bad_collection("12-s")):
        client.create_alias("12-s", alias)
    with refused(INVALID_PARAMETER, bad_collection("12-s")):
        client.alter_alias("12-s", alias)
    with refused(INVALID_PARAMETER, bad_collection("12-s")):
        client.list_aliases("12-s")


def test_alias_names_overlong_or_empty(client: MilvusClient, coll, raw_stub):
    with refused(INVALID_PARAMETER, f"Invalid collection alias: {LONG}. the length of a collection alias "
                                    f"must be less than 255 characters: invalid parameter"):
        client.create_alias(coll, LONG)
    status = raw_stub.CreateAlias(milvus_pb2.CreateAliasRequest(collection_name=coll, alias=""))
    assert (status.code, status.reason) == (INVALID_PARAMETER, "collection alias should not be empty: invalid parameter")


def test_alias_conflicts_in_milvus_words(client: MilvusClient, coll, unique_name):
    other = unique_name("other")
    client.create_collection(other, schema=basic_schema(dim=4))
    alias = unique_name("alias")
    client.create_alias(coll, alias)
    with refused(ALIAS_COLLECTION_NAME_CONFLICT, f"alias and collection name conflict[database=default][alias={coll}]"):
        client.create_alias(coll, coll)
    with refused(ALIAS_COLLECTION_NAME_CONFLICT, f"alias and collection name conflict[database=default][alias={other}]"):
        client.alter_alias(coll, other)
    with refused(ALIAS_ALREADY_EXISTS, f"{alias} is alias to another collection: {coll}"):
        client.create_alias(other, alias)
    with refused(UNEXPECTED, f"cannot rename collection to an existing alias: {alias}"):
        client.rename_collection(other, alias)
    with refused(UNEXPECTED, f"duplicated new collection name default:{coll} with other collection name or alias"):
        client.rename_collection(other, coll)
    assert client.describe_alias(alias)["collection_name"] == coll


# ---- database names -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["12-s", "(mn)", "中文", "%$#", "  "])
def test_drop_database_refuses_a_malformed_name(client: MilvusClient, name):
    with refused(DATABASE_INVALID_NAME, f"the first character of a database name must be an underscore or letter: "
                                        f"invalid database name[database={name}]"):
        client.drop_database(name)
    # Describe only finds it missing, as in Milvus.
    with refused(DATABASE_NOT_FOUND, f"database not found[database={name}]"):
        client.describe_database(name)
