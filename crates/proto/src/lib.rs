//! Milvus wire types, generated from our own `.proto` subset of pymilvus 3.0.2's schema.
//!
//! Only `crates/server` depends on this crate: the engine never sees protobuf types.

#![allow(clippy::all, missing_docs)]

pub mod common {
    tonic::include_proto!("milvus.proto.common");
}

pub mod schema {
    tonic::include_proto!("milvus.proto.schema");
}

pub mod msg {
    tonic::include_proto!("milvus.proto.msg");
}

pub mod milvus {
    tonic::include_proto!("milvus.proto.milvus");
}

pub mod rg {
    tonic::include_proto!("milvus.proto.rg");
}

/// Quiver's own service (`extension/quiver.proto`).
pub mod quiver {
    tonic::include_proto!("quiver.v1");
}

/// Where an RPC's reply carries its `common.Status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusAt {
    /// The reply is a `common.Status`.
    Reply,
    /// The reply's field with this number is a `common.Status`.
    Field(u32),
    /// The reply has no Status (a failure can only be a gRPC error).
    Nowhere,
}

/// The RPCs Quiver does not serve (generated from pymilvus 3.0.2's descriptors).
pub mod unserved;

/// The kind of object a privilege is granted on (Milvus's `common.ObjectType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    /// The whole instance; the object name is `*`.
    Global,
    /// A collection of a database, by name.
    Collection,
    /// A user, by name.
    User,
}

/// Which privilege an RPC needs, on which kind of object (Milvus's `privilege_ext_obj`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub object: ObjectKind,
    /// The user-facing name (`Load`, `CreateSnapshot`), without Milvus's `Privilege` prefix.
    pub privilege: &'static str,
}

/// A served RPC's request: its RPC's name, the database it names, and the names of the
/// object its privilege rule is checked on (the field Milvus's `object_name_index` names).
pub trait Guarded {
    const RPC: &'static str;

    /// The request's own `db_name`; empty when it names none (the session's database).
    fn db_name(&self) -> &str;

    /// The names of the request's object; empty for RPCs whose object is global.
    fn object_names(&self) -> Vec<&str>;
}

/// Milvus's privilege rule of every served RPC (generated from pymilvus 3.0.2's descriptors).
pub mod privileges;

/// The rules of Quiver's own service.
pub mod extension;
