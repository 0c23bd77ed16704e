"""Our .proto files (crates/proto/proto) against the descriptors built into pymilvus 3.0.2.

Every message (nested ones too), enum and service method we define in a `milvus.proto.*`
package must have the same full name in pymilvus, and agree field by field: name,
number, type, label, type_name, oneof membership and proto3 `optional`. Enum values must
agree name -> number. All mismatches are reported in one assertion message.

Needs no server: it compiles the protos with grpcio-tools.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import grpc_tools
import pytest
from google.protobuf import descriptor_pb2
from grpc_tools import protoc
from pymilvus.grpc_gen import milvus_pb2

REPO_ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = REPO_ROOT / "crates" / "proto" / "proto"
RPCS_TXT = REPO_ROOT / "crates" / "proto" / "rpcs.txt"
SERVICE = "milvus.proto.milvus.MilvusService"

FDP = descriptor_pb2.FieldDescriptorProto
POOL = milvus_pb2.DESCRIPTOR.pool


# ---- loading both sides -----------------------------------------------------------------


@pytest.fixture(scope="module")
def ours(tmp_path_factory) -> descriptor_pb2.FileDescriptorSet:
    files = sorted(p.name for p in PROTO_DIR.glob("*.proto"))
    assert files, f"no .proto files in {PROTO_DIR}"
    out = tmp_path_factory.mktemp("proto") / "quiver.fds"
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    rc = protoc.main(
        [
            "protoc",
            f"-I{PROTO_DIR}",
            f"-I{include}",
            f"--descriptor_set_out={out}",
            "--include_imports",
            *files,
        ]
    )
    assert rc == 0, f"protoc failed to compile {files} (exit {rc}); see captured stderr"
    return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def our_files(fds) -> Iterator[descriptor_pb2.FileDescriptorProto]:
    for f in fds.file:
        if f.package == "milvus.proto" or f.package.startswith("milvus.proto."):
            yield f


def walk_messages(prefix: str, messages) -> Iterator[Tuple[str, descriptor_pb2.DescriptorProto]]:
    for m in messages:
        full = f"{prefix}.{m.name}"
        yield full, m
        yield from walk_messages(full, m.nested_type)


def walk_enums(prefix: str, file_or_msg_enums, messages):
    for e in file_or_msg_enums:
        yield f"{prefix}.{e.name}", e
    for full, m in walk_messages(prefix, messages):
        for e in m.enum_type:
            yield f"{full}.{e.name}", e


_file_protos: Dict[str, descriptor_pb2.FileDescriptorProto] = {}


def _pymilvus_file_proto(file_desc) -> descriptor_pb2.FileDescriptorProto:
    if file_desc.name not in _file_protos:
        fp = descriptor_pb2.FileDescriptorProto()
        file_desc.CopyToProto(fp)
        _file_protos[file_desc.name] = fp
    return _file_protos[file_desc.name]


def _find_in_file(fp, package: str, full_name: str, kind: str):
    """Locate a (possibly nested) message or enum proto by full name inside a file proto."""
    assert full_name.startswith(package + ".")
    parts = full_name[len(package) + 1 :].split(".")
    messages, enums = fp.message_type, fp.enum_type
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if last and kind == "enum":
            return next((e for e in enums if e.name == part), None)
        found = next((m for m in messages if m.name == part), None)
        if found is None or last:
            return found
        messages, enums = found.nested_type, found.enum_type
    return None


def pymilvus_message(full_name: str) -> Optional[descriptor_pb2.DescriptorProto]:
    try:
        desc = POOL.FindMessageTypeByName(full_name)
    except KeyError:
        return None
    fp = _pymilvus_file_proto(desc.file)
    return _find_in_file(fp, desc.file.package, full_name, "message")


def pymilvus_enum(full_name: str) -> Optional[descriptor_pb2.EnumDescriptorProto]:
    try:
        desc = POOL.FindEnumTypeByName(full_name)
    except KeyError:
        return None
    fp = _pymilvus_file_proto(desc.file)
    return _find_in_file(fp, desc.file.package, full_name, "enum")


# ---- comparison -------------------------------------------------------------------------


def _type_name(t: int) -> str:
    return FDP.Type.Name(t)


def _label_name(label: int) -> str:
    return FDP.Label.Name(label)


def _oneof(msg: descriptor_pb2.DescriptorProto, field: FDP) -> Optional[str]:
    if not field.HasField("oneof_index"):
        return None
    return msg.oneof_decl[field.oneof_index].name


def compare_message(full: str, mine, theirs) -> List[str]:
    problems = []
    their_fields = {f.name: f for f in theirs.field}
    their_by_number = {f.number: f for f in theirs.field}
    for f in mine.field:
        t = their_fields.get(f.name)
        if t is None:
            other = their_by_number.get(f.number)
            hint = f" (pymilvus has {other.name!r} at number {f.number})" if other else ""
            problems.append(f"{full}.{f.name}: no such field in pymilvus{hint}")
            continue
        where = f"{full}.{f.name}"
        if f.number != t.number:
            problems.append(f"{where}: number {f.number} != pymilvus {t.number}")
        if f.type != t.type:
            problems.append(f"{where}: type {_type_name(f.type)} != pymilvus {_type_name(t.type)}")
        if f.label != t.label:
            problems.append(
                f"{where}: label {_label_name(f.label)} != pymilvus {_label_name(t.label)}"
            )
        if f.type_name != t.type_name:
            problems.append(f"{where}: type_name {f.type_name!r} != pymilvus {t.type_name!r}")
        if f.proto3_optional != t.proto3_optional:
            problems.append(
                f"{where}: proto3 optional {f.proto3_optional} != pymilvus {t.proto3_optional}"
            )
        mine_oneof, their_oneof = _oneof(mine, f), _oneof(theirs, t)
        both_synthetic = f.proto3_optional and t.proto3_optional
        if not both_synthetic and mine_oneof != their_oneof:
            problems.append(f"{where}: oneof {mine_oneof!r} != pymilvus {their_oneof!r}")
    if mine.options.map_entry != theirs.options.map_entry:
        problems.append(f"{full}: map_entry {mine.options.map_entry} != pymilvus")
    return problems


def compare_enum(full: str, mine, theirs) -> List[str]:
    problems = []
    their_values = {v.name: v.number for v in theirs.value}
    for v in mine.value:
        if v.name not in their_values:
            problems.append(f"{full}.{v.name}: no such enum value in pymilvus")
        elif v.number != their_values[v.name]:
            problems.append(f"{full}.{v.name}: {v.number} != pymilvus {their_values[v.name]}")
    return problems


def _report(problems: List[str], what: str) -> str:
    return f"{len(problems)} {what} mismatch(es) against pymilvus 3.0.2:\n  " + "\n  ".join(
        problems
    )


# ---- tests ------------------------------------------------------------------------------


def test_our_protos_are_milvus_packages(ours):
    packages = {f.package for f in our_files(ours)}
    assert {"milvus.proto.common", "milvus.proto.schema", "milvus.proto.milvus"} <= packages


def test_messages_match_pymilvus(ours):
    problems, checked = [], 0
    for f in our_files(ours):
        for full, msg in walk_messages(f.package, f.message_type):
            theirs = pymilvus_message(full)
            if theirs is None:
                problems.append(f"{full}: message not in pymilvus")
                continue
            problems += compare_message(full, msg, theirs)
            checked += 1
    assert checked > 0, "no messages were compared"
    assert not problems, _report(problems, "message")


def test_messages_have_every_pymilvus_field(ours):
    """A field pymilvus sends that our schema lacks is silently dropped by the server."""
    problems = []
    for f in our_files(ours):
        for full, msg in walk_messages(f.package, f.message_type):
            theirs = pymilvus_message(full)
            if theirs is None:
                continue  # reported by test_messages_match_pymilvus
            mine = {x.name for x in msg.field}
            for t in theirs.field:
                if t.name not in mine:
                    problems.append(f"{full}.{t.name} (= {t.number}): missing from our proto")
    assert not problems, _report(problems, "missing-field")


def test_enums_match_pymilvus(ours):
    problems, checked = [], 0
    for f in our_files(ours):
        for full, enum in walk_enums(f.package, f.enum_type, f.message_type):
            theirs = pymilvus_enum(full)
            if theirs is None:
                problems.append(f"{full}: enum not in pymilvus")
                continue
            problems += compare_enum(full, enum, theirs)
            checked += 1
    assert checked > 0, "no enums were compared"
    assert not problems, _report(problems, "enum")


def _our_service(ours) -> Optional[descriptor_pb2.ServiceDescriptorProto]:
    for f in our_files(ours):
        for s in f.service:
            if f"{f.package}.{s.name}" == SERVICE:
                return s
    return None


def test_service_methods_match_pymilvus(ours):
    service = _our_service(ours)
    assert service is not None, f"we define no {SERVICE}"
    theirs = POOL.FindServiceByName(SERVICE)
    their_methods = {m.name: m for m in theirs.methods}
    problems = []
    for m in service.method:
        t = their_methods.get(m.name)
        if t is None:
            problems.append(f"{SERVICE}/{m.name}: not in pymilvus")
            continue
        if m.input_type != "." + t.input_type.full_name:
            problems.append(
                f"{SERVICE}/{m.name}: input {m.input_type} != pymilvus .{t.input_type.full_name}"
            )
        if m.output_type != "." + t.output_type.full_name:
            problems.append(
                f"{SERVICE}/{m.name}: output {m.output_type} != pymilvus "
                f".{t.output_type.full_name}"
            )
        if m.client_streaming != t.client_streaming or m.server_streaming != t.server_streaming:
            problems.append(f"{SERVICE}/{m.name}: streaming flags differ from pymilvus")
    assert not problems, _report(problems, "service")


def _listed_rpcs() -> List[str]:
    """RPC names from rpcs.txt (`message <full name>` lines list messages, not RPCs)."""
    names = []
    for line in RPCS_TXT.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("message "):
            names.append(line)
    return names


def test_we_define_every_rpc_in_rpcs_txt(ours):
    listed = _listed_rpcs()
    assert listed, f"{RPCS_TXT} lists no RPCs"
    service = _our_service(ours)
    assert service is not None, f"we define no {SERVICE}"
    defined = {m.name for m in service.method}
    missing = [r for r in listed if r not in defined]
    assert not missing, f"RPCs listed in rpcs.txt but not defined in our proto: {missing}"
    duplicates = sorted({r for r in listed if listed.count(r) > 1})
    assert not duplicates, f"RPCs listed more than once in rpcs.txt: {duplicates}"


UNSERVED_RS = REPO_ROOT / "crates" / "proto" / "src" / "unserved.rs"


def _generator():
    """crates/proto/tools/subset.py as a module (its `status_at` says where a reply's Status is)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("subset", REPO_ROOT / "crates" / "proto" / "tools" / "subset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_rpc_is_served_or_in_the_unserved_table():
    """The server answers an RPC with its handler or, if the generated table lists it, with
    a Status saying it is not served (the table shadows handlers, so it must not list a
    served RPC). The table must be what subset.py makes of rpcs.txt now."""
    import re

    table = dict(re.findall(r'\("(\w+)", (StatusAt::\w+(?:\(\d+\))?)\)', UNSERVED_RS.read_text()))
    listed = set(_listed_rpcs())
    status_at = _generator().status_at
    problems = []
    for method in POOL.FindServiceByName(SERVICE).methods:
        if method.name in listed:
            if method.name in table:
                problems.append(f"{method.name}: served, yet in {UNSERVED_RS.name}")
        elif table.get(method.name) != status_at(method):
            problems.append(f"{method.name}: {table.get(method.name)} in {UNSERVED_RS.name}, {status_at(method)} from pymilvus")
    known = {m.name for m in POOL.FindServiceByName(SERVICE).methods}
    problems += [f"{name}: in {UNSERVED_RS.name} but not in pymilvus" for name in set(table) - known]
    assert not problems, "rerun crates/proto/tools/subset.py:\n  " + "\n  ".join(problems)
