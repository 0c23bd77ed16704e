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
