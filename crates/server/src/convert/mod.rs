//! The only code that names both wire (protobuf) and engine types.

pub mod field_data;
pub mod schema;
pub mod templates;

use quiver_base::Timestamp;
use quiver_engine::catalog::model::{ConsistencyLevel, Properties};
use quiver_proto::common::{self, KeyValuePair};

pub fn properties(pairs: &[KeyValuePair]) -> Properties {
    pairs.iter().map(|kv| (kv.key.clone(), kv.value.clone())).collect()
}

pub fn key_values<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> Vec<KeyValuePair> {
    pairs.into_iter().map(|(key, value)| KeyValuePair { key: key.clone(), value: value.clone() }).collect()
}

pub fn consistency_from_wire(level: i32) -> ConsistencyLevel {
    match common::ConsistencyLevel::try_from(level).unwrap_or(common::ConsistencyLevel::Bounded) {
        common::ConsistencyLevel::Strong => ConsistencyLevel::Strong,
        common::ConsistencyLevel::Session => ConsistencyLevel::Session,
        common::ConsistencyLevel::Bounded => ConsistencyLevel::Bounded,
        common::ConsistencyLevel::Eventually => ConsistencyLevel::Eventually,
        common::ConsistencyLevel::Customized => ConsistencyLevel::Customized,
    }
}

pub fn consistency_to_wire(level: ConsistencyLevel) -> i32 {
    let wire = match level {
        ConsistencyLevel::Strong => common::ConsistencyLevel::Strong,
        ConsistencyLevel::Session => common::ConsistencyLevel::Session,
        ConsistencyLevel::Bounded => common::ConsistencyLevel::Bounded,
        ConsistencyLevel::Eventually => common::ConsistencyLevel::Eventually,
        ConsistencyLevel::Customized => common::ConsistencyLevel::Customized,
    };
    wire as i32
}

/// Wall-clock milliseconds of a hybrid timestamp (the `*_utc_timestamp` fields).
pub fn utc_ms(ts: Timestamp) -> u64 {
    ts.physical_ms()
}
