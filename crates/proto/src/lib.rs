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
