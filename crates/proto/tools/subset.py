#!/usr/bin/env python3
"""Regenerate Quiver's .proto subset from the descriptors shipped in pymilvus 3.0.2.

The wire schema pymilvus speaks is the source of truth for package names, message
names, field numbers and types. We serve only a subset of MilvusService, so we keep only
the RPCs listed in `crates/proto/rpcs.txt` and the messages and enums they reach.

Every other MilvusService RPC still gets an answer: the server's fallback replies with a
`common.Status` saying Quiver does not serve it. For that it needs to know, per RPC,
where the reply carries its Status, which this script also takes from the descriptors
and writes to `crates/proto/src/unserved.rs`.

Usage (from the repository root, in a venv with pymilvus==3.0.2):

    python crates/proto/tools/subset.py

Writes crates/proto/proto/{common,schema,msg,milvus,...}.proto,
crates/proto/src/unserved.rs and crates/proto/src/privileges.rs (Milvus's privilege rule of
every served RPC, from the `privilege_ext_obj` option of its request message). Adding an RPC = add its name to rpcs.txt and run this again; `tests/e2e/test_proto_conformance.py` checks the
result field by field against pymilvus.
"""

from __future__ import annotations

import pathlib
import sys

from google.protobuf import descriptor as d
from pymilvus.grpc_gen import common_pb2, milvus_pb2

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "proto"

SCALAR_NAMES = {
    d.FieldDescriptor.TYPE_DOUBLE: "double",
    d.FieldDescriptor.TYPE_FLOAT: "float",
    d.FieldDescriptor.TYPE_INT64: "int64",
    d.FieldDescriptor.TYPE_UINT64: "uint64",
    d.FieldDescriptor.TYPE_INT32: "int32",
    d.FieldDescriptor.TYPE_FIXED64: "fixed64",
    d.FieldDescriptor.TYPE_FIXED32: "fixed32",
    d.FieldDescriptor.TYPE_BOOL: "bool",
    d.FieldDescriptor.TYPE_STRING: "string",
    d.FieldDescriptor.TYPE_BYTES: "bytes",
    d.FieldDescriptor.TYPE_UINT32: "uint32",
    d.FieldDescriptor.TYPE_SFIXED32: "sfixed32",
    d.FieldDescriptor.TYPE_SFIXED64: "sfixed64",
    d.FieldDescriptor.TYPE_SINT32: "sint32",
    d.FieldDescriptor.TYPE_SINT64: "sint64",
}


def top_level(desc):
    """The top-level message or enum that contains `desc` (itself if top-level)."""
    while getattr(desc, "containing_type", None) is not None:
        desc = desc.containing_type
    return desc


def is_map_entry(msg) -> bool:
    return msg.GetOptions().map_entry


class Closure:
    """Every top-level message and enum reachable from the chosen RPCs."""

    def __init__(self) -> None:
        self.items: dict[str, object] = {}

    def add(self, desc) -> None:
        desc = top_level(desc)
        if desc.full_name in self.items:
            return
        self.items[desc.full_name] = desc
        if isinstance(desc, d.Descriptor):
            self._walk_message(desc)

    def _walk_message(self, msg) -> None:
        for field in msg.fields:
            if field.message_type is not None:
                self.add(field.message_type)
                if is_map_entry(field.message_type):
                    for sub in field.message_type.fields:
                        if sub.message_type is not None:
                            self.add(sub.message_type)
                        if sub.enum_type is not None:
                            self.add(sub.enum_type)
            if field.enum_type is not None:
                self.add(field.enum_type)
        for nested in msg.nested_types:
            self._walk_message(nested)


def type_ref(field, package: str) -> str:
    if field.type in SCALAR_NAMES:
        return SCALAR_NAMES[field.type]
    target = field.message_type or field.enum_type
    name = target.full_name
    if name.startswith(package + "."):
        return name[len(package) + 1 :]
    return "." + name


def field_line(field, package: str) -> str:
    if field.message_type is not None and is_map_entry(field.message_type):
        key, value = field.message_type.fields
        return f"map<{type_ref(key, package)}, {type_ref(value, package)}> {field.name} = {field.number};"
    label = ""
    if field.is_repeated:
        label = "repeated "
    elif getattr(field, "has_presence", False) and field.containing_oneof is not None and field.containing_oneof.name.startswith("_"):
        label = "optional "
    return f"{label}{type_ref(field, package)} {field.name} = {field.number};"


def render_enum(enum, indent: str) -> list[str]:
    lines = [f"{indent}enum {enum.name} {{"]
    if len({v.number for v in enum.values}) != len(enum.values):
        lines.append(f"{indent}  option allow_alias = true;")
    for value in enum.values:
        lines.append(f"{indent}  {value.name} = {value.number};")
    lines.append(f"{indent}}}")
    return lines


def render_message(msg, package: str, indent: str) -> list[str]:
    lines = [f"{indent}message {msg.name} {{"]
    for enum in msg.enum_types:
        lines += render_enum(enum, indent + "  ")
    for nested in msg.nested_types:
        if not is_map_entry(nested):
            lines += render_message(nested, package, indent + "  ")
    real_oneofs = [o for o in msg.oneofs if not (len(o.fields) == 1 and o.name.startswith("_") and o.fields[0].name == o.name[1:])]
    in_oneof = {f.name for o in real_oneofs for f in o.fields}
    emitted_oneofs = set()
    for field in msg.fields:
        if field.name in in_oneof:
            oneof = field.containing_oneof
            if oneof.name in emitted_oneofs:
                continue
            emitted_oneofs.add(oneof.name)
            lines.append(f"{indent}  oneof {oneof.name} {{")
            for member in oneof.fields:
                lines.append(f"{indent}    {field_line(member, package)}")
            lines.append(f"{indent}  }}")
        else:
            lines.append(f"{indent}  {field_line(field, package)}")
    lines.append(f"{indent}}}")
    return lines


def main() -> int:
    lines = [line.strip() for line in (ROOT / "rpcs.txt").read_text().splitlines() if line.strip() and not line.startswith("#")]
    # `message <full name>` lines add messages that travel as bytes inside others
    # (a serialized PlaceholderGroup, for example) and so are not reachable from an RPC.
    extra = [line.split()[1] for line in lines if line.startswith("message ")]
    rpc_names = [line for line in lines if not line.startswith("message ")]
    service = milvus_pb2.DESCRIPTOR.services_by_name["MilvusService"]
    closure = Closure()
    for full_name in extra:
        closure.add(milvus_pb2.DESCRIPTOR.pool.FindMessageTypeByName(full_name))
    methods = []
    for name in rpc_names:
        method = service.methods_by_name.get(name)
        if method is None:
            print(f"unknown RPC {name}", file=sys.stderr)
            return 1
        methods.append(method)
        closure.add(method.input_type)
        closure.add(method.output_type)

    by_file: dict[str, list] = {}
    for desc in closure.items.values():
        by_file.setdefault(desc.file.name, []).append(desc)

    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.proto"):
        old.unlink()
    for file_name, descs in by_file.items():
        file = descs[0].file
        imports = set()
        for desc in descs:
            for ref in references(desc):
                if ref.file.name != file_name:
                    imports.add(ref.file.name)
        order = {desc.full_name: i for i, desc in enumerate(list(file.message_types_by_name.values()) + list(file.enum_types_by_name.values()))}
        descs.sort(key=lambda x: order.get(x.full_name, 0))
        lines = [
            "// Quiver's subset of the Milvus wire schema (pymilvus 3.0.2).",
            "// Regenerate with crates/proto/tools/subset.py; do not edit by hand.",
            'syntax = "proto3";',
            "",
            f"package {file.package};",
            "",
        ]
        lines += [f'import "{name}";' for name in sorted(imports)]
        if imports:
            lines.append("")
        for desc in descs:
            if isinstance(desc, d.EnumDescriptor):
                lines += render_enum(desc, "")
            else:
                lines += render_message(desc, file.package, "")
            lines.append("")
        if file_name == "milvus.proto":
            lines.append("service MilvusService {")
            for method in methods:
                lines.append(
                    f"  rpc {method.name}({type_ref_method(method.input_type, file.package)}) returns ({type_ref_method(method.output_type, file.package)}) {{}}"
                )
            lines.append("}")
            lines.append("")
        (OUT / file_name).write_text("\n".join(lines))
    if "milvus.proto" not in by_file:
        print("no milvus.proto types reached", file=sys.stderr)
        return 1
    unserved = [m for m in service.methods if m.name not in rpc_names]
    try:
        write_unserved(unserved)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    write_privileges(methods)
    print(f"{len(methods)} RPCs, {len(closure.items)} top-level types in {len(by_file)} files; {len(unserved)} RPCs unserved")
    return 0


STATUS = "milvus.proto.common.Status"


def status_at(method) -> str:
    """Where the reply of `method` carries its Status, as a `StatusAt` Rust value."""
    reply = method.output_type
    if reply.full_name == STATUS:
        return "StatusAt::Reply"
    fields = [f for f in reply.fields if f.message_type is not None and f.message_type.full_name == STATUS]
    if len(fields) > 1:
        raise ValueError(f"{method.name}: {reply.full_name} has {len(fields)} Status fields")
    return f"StatusAt::Field({fields[0].number})" if fields else "StatusAt::Nowhere"


def write_unserved(methods) -> None:
    lines = [
        "// Generated by crates/proto/tools/subset.py from pymilvus 3.0.2's descriptors; do not edit by hand.",
        "",
        "use crate::StatusAt;",
        "",
        "/// Every MilvusService RPC pymilvus 3.0.2 knows that `rpcs.txt` does not list, sorted by name,",
        "/// with where its reply carries a `common.Status`.",
        "pub const UNSERVED: &[(&str, StatusAt)] = &[",
    ]
    lines += [f'    ("{m.name}", {status_at(m)}),' for m in sorted(methods, key=lambda m: m.name)]
    lines += ["];", ""]
    (ROOT / "src" / "unserved.rs").write_text("\n".join(lines))


def object_names(method, index: int) -> str:
    """Rust expression: the names in the request field numbered `index` (the RPC's object)."""
    if index <= 0:
        return "Vec::new()"
    field = method.input_type.fields_by_number[index]
    if field.message_type is not None:
        # An entity message (`UserEntity`, `RoleEntity`): its `name`.
        return f"self.{field.name}.as_ref().map(|e| e.name.as_str()).into_iter().collect()"
    if field.is_repeated:
        return f"self.{field.name}.iter().map(String::as_str).collect()"
    return f"vec![self.{field.name}.as_str()]"


def write_privileges(methods) -> None:
    extension = common_pb2.privilege_ext_obj
    lines = [
        "// Generated by crates/proto/tools/subset.py from pymilvus 3.0.2's descriptors; do not edit by hand.",
        "",
        "use crate::{Guarded, ObjectKind, Rule};",
        "",
        "/// Milvus's privilege rule of every served RPC, sorted by name: the `privilege_ext_obj`",
        "/// option of its request message (`None`: Milvus checks no privilege).",
        "pub const PRIVILEGES: &[(&str, Option<Rule>)] = &[",
    ]
    impls = []
    for method in sorted(methods, key=lambda m: m.name):
        options = method.input_type.GetOptions()
        rule = "None"
        index = 0
        if options.HasExtension(extension):
            ext = options.Extensions[extension]
            kind = common_pb2.ObjectType.Name(ext.object_type)
            privilege = common_pb2.ObjectPrivilege.Name(ext.object_privilege).removeprefix("Privilege")
            index = ext.object_name_index or ext.object_name_indexs
            rule = f'Some(Rule {{ object: ObjectKind::{kind}, privilege: "{privilege}" }})'
        lines.append(f'    ("{method.name}", {rule}),')
        db = "&self.db_name" if "db_name" in method.input_type.fields_by_name else '""'
        impls += [
            "",
            f"impl Guarded for crate::milvus::{method.input_type.name} {{",
            f'    const RPC: &\'static str = "{method.name}";',
            "",
            "    fn db_name(&self) -> &str {",
            f"        {db}",
            "    }",
            "",
            "    fn object_names(&self) -> Vec<&str> {",
            f"        {object_names(method, index)}",
            "    }",
            "}",
        ]
    lines += ["];"] + impls + [""]
    (ROOT / "src" / "privileges.rs").write_text("\n".join(lines))


def type_ref_method(msg, package: str) -> str:
    return msg.name if msg.full_name.startswith(package + ".") else "." + msg.full_name


def references(desc):
    if isinstance(desc, d.EnumDescriptor):
        return
    for field in desc.fields:
        target = field.message_type or field.enum_type
        if target is None:
            continue
        if isinstance(target, d.Descriptor) and is_map_entry(target):
            for sub in target.fields:
                t = sub.message_type or sub.enum_type
                if t is not None:
                    yield t
        else:
            yield target
    for nested in desc.nested_types:
        yield from references(nested)


if __name__ == "__main__":
    sys.exit(main())
