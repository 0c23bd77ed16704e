//! Every metric the process exports, named and described in one place.
//!
//! Components record through these functions, which go through the `metrics` facade: until
//! the server installs a recorder they cost a branch and record nothing, so engine tests
//! and tools pay nothing. The server renders what was recorded in Prometheus's text format
//! (`/metrics`). Names follow Prometheus's conventions: a `quiver_` prefix, base units
//! (`_seconds`, `_bytes`) and `_total` on counters.
//!
//! Gauges that describe state (loaded segments, restore jobs by state) are set by the
//! server from the engine at scrape time, so they can never drift from the truth.

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use std::time::Duration;

pub const RPC_REQUESTS: &str = "quiver_rpc_requests_total";
pub const RPC_SECONDS: &str = "quiver_rpc_duration_seconds";
pub const WAL_FSYNC_SECONDS: &str = "quiver_wal_fsync_duration_seconds";
pub const WAL_GROUP_RECORDS: &str = "quiver_wal_group_records";
pub const FLUSH_SECONDS: &str = "quiver_flush_duration_seconds";
pub const COMPACTION_SECONDS: &str = "quiver_compaction_duration_seconds";
pub const INDEX_BUILD_SECONDS: &str = "quiver_index_build_duration_seconds";
pub const GC_PASSES: &str = "quiver_gc_passes_total";
pub const GC_FILES_DELETED: &str = "quiver_gc_deleted_files_total";
pub const GC_BYTES_DELETED: &str = "quiver_gc_deleted_bytes_total";
pub const SNAPSHOTS_CREATED: &str = "quiver_snapshots_created_total";
pub const SNAPSHOTS_DROPPED: &str = "quiver_snapshots_dropped_total";
pub const RESTORE_JOBS_FINISHED: &str = "quiver_restore_jobs_finished_total";
pub const RESTORE_JOBS: &str = "quiver_restore_jobs";
pub const RESTORE_BYTES_COPIED: &str = "quiver_restore_copied_bytes_total";
pub const CLONE_VERIFICATIONS: &str = "quiver_clone_verifications_total";
pub const OBJECT_REQUESTS: &str = "quiver_object_store_requests_total";
pub const OBJECT_ERRORS: &str = "quiver_object_store_errors_total";
pub const OBJECT_SECONDS: &str = "quiver_object_store_request_duration_seconds";
pub const LOADED_SEGMENTS: &str = "quiver_loaded_segments";
pub const SEGMENT_BYTES: &str = "quiver_segment_memory_bytes";
pub const RESIDENT_BYTES: &str = "quiver_process_resident_memory_bytes";

/// Histogram buckets (seconds) for everything timed: from a cached RPC to a long build.
pub const SECONDS_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];
/// Buckets for the number of records one WAL sync made durable.
pub const GROUP_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// Register every metric's help text and unit with the installed recorder.
pub fn describe() {
    describe_counter!(RPC_REQUESTS, "gRPC requests answered, by method and Milvus status code (0: success)");
    describe_histogram!(RPC_SECONDS, Unit::Seconds, "gRPC request latency, by method");
    describe_histogram!(WAL_FSYNC_SECONDS, Unit::Seconds, "Write-ahead log fdatasync latency");
    describe_histogram!(WAL_GROUP_RECORDS, Unit::Count, "Records made durable by one write-ahead log sync (group commit)");
    describe_histogram!(FLUSH_SECONDS, Unit::Seconds, "Time to seal and write out a collection's growing data");
    describe_histogram!(COMPACTION_SECONDS, Unit::Seconds, "Time of one compaction");
    describe_histogram!(INDEX_BUILD_SECONDS, Unit::Seconds, "Time to build one segment's index");
    describe_counter!(GC_PASSES, "Garbage collection passes completed");
    describe_counter!(GC_FILES_DELETED, "Files deleted by garbage collection");
    describe_counter!(GC_BYTES_DELETED, Unit::Bytes, "Bytes deleted by garbage collection");
    describe_counter!(SNAPSHOTS_CREATED, "Snapshots committed");
    describe_counter!(SNAPSHOTS_DROPPED, "Snapshots dropped");
    describe_counter!(RESTORE_JOBS_FINISHED, "Restore jobs finished, by final state");
    describe_gauge!(RESTORE_JOBS, "Restore jobs listed, by state");
    describe_counter!(RESTORE_BYTES_COPIED, Unit::Bytes, "Bytes copied by restore jobs");
    describe_counter!(CLONE_VERIFICATIONS, "Full CRC-32C checks of cloned collections' files, by result (verified, failed)");
    describe_counter!(OBJECT_REQUESTS, "Object store requests, by operation");
    describe_counter!(OBJECT_ERRORS, "Failed object store requests, by operation and error kind");
    describe_histogram!(OBJECT_SECONDS, Unit::Seconds, "Object store request latency, by operation");
    describe_gauge!(LOADED_SEGMENTS, "Segments held in memory, by state (growing, sealed)");
    describe_gauge!(SEGMENT_BYTES, Unit::Bytes, "Bytes of segment data held in memory");
    describe_gauge!(RESIDENT_BYTES, Unit::Bytes, "Resident memory of the server process");
    // Counters exist from the start at zero, so `rate()` and alerts see their first
    // increment instead of a series that appears out of nowhere.
    for counter in [GC_PASSES, GC_FILES_DELETED, GC_BYTES_DELETED, SNAPSHOTS_CREATED, SNAPSHOTS_DROPPED, RESTORE_BYTES_COPIED] {
        counter!(counter).absolute(0);
    }
    for state in ["Completed", "Failed"] {
        counter!(RESTORE_JOBS_FINISHED, "state" => state).absolute(0);
    }
    for result in ["verified", "failed"] {
        counter!(CLONE_VERIFICATIONS, "result" => result).absolute(0);
    }
}

/// One gRPC call answered; `code` is the Milvus status code (`0` success), or `grpc_<n>`
/// when gRPC itself refused the call.
pub fn rpc_answered(method: String, code: String, elapsed: Duration) {
    counter!(RPC_REQUESTS, "method" => method.clone(), "code" => code).increment(1);
    histogram!(RPC_SECONDS, "method" => method).record(elapsed);
}

pub fn wal_synced(records: usize, fsync: Duration) {
    histogram!(WAL_FSYNC_SECONDS).record(fsync);
    histogram!(WAL_GROUP_RECORDS).record(records as f64);
}

pub fn flushed(elapsed: Duration) {
    histogram!(FLUSH_SECONDS).record(elapsed);
}

pub fn compacted(elapsed: Duration) {
    histogram!(COMPACTION_SECONDS).record(elapsed);
}

pub fn index_built(elapsed: Duration) {
    histogram!(INDEX_BUILD_SECONDS).record(elapsed);
}

pub fn gc_pass(deleted_files: usize, deleted_bytes: u64) {
    counter!(GC_PASSES).increment(1);
    counter!(GC_FILES_DELETED).increment(deleted_files as u64);
    counter!(GC_BYTES_DELETED).increment(deleted_bytes);
}

pub fn snapshot_created() {
    counter!(SNAPSHOTS_CREATED).increment(1);
}

pub fn snapshot_dropped() {
    counter!(SNAPSHOTS_DROPPED).increment(1);
}

pub fn restore_finished(state: &'static str) {
    counter!(RESTORE_JOBS_FINISHED, "state" => state).increment(1);
}

/// A clone's full check ended (`verified` or `failed`).
pub fn clone_verified(result: &'static str) {
    counter!(CLONE_VERIFICATIONS, "result" => result).increment(1);
}

pub fn restore_copied(bytes: u64) {
    counter!(RESTORE_BYTES_COPIED).increment(bytes);
}

/// One object store request; `elapsed` when it has a single duration (not a listing).
pub fn object_request(op: &'static str, elapsed: Option<Duration>) {
    counter!(OBJECT_REQUESTS, "op" => op).increment(1);
    if let Some(elapsed) = elapsed {
        histogram!(OBJECT_SECONDS, "op" => op).record(elapsed);
    }
}

pub fn object_failure(op: &'static str, kind: &'static str) {
    counter!(OBJECT_ERRORS, "op" => op, "kind" => kind).increment(1);
}

/// Restore jobs currently listed in `state`.
pub fn set_restore_jobs(state: &'static str, count: usize) {
    gauge!(RESTORE_JOBS, "state" => state).set(count as f64);
}

pub fn set_loaded(growing: usize, sealed: usize, bytes: usize) {
    gauge!(LOADED_SEGMENTS, "state" => "growing").set(growing as f64);
    gauge!(LOADED_SEGMENTS, "state" => "sealed").set(sealed as f64);
    gauge!(SEGMENT_BYTES).set(bytes as f64);
}

pub fn set_resident(bytes: u64) {
    gauge!(RESIDENT_BYTES).set(bytes as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPORTED: &[&str] = &[
        RPC_REQUESTS,
        RPC_SECONDS,
        WAL_FSYNC_SECONDS,
        WAL_GROUP_RECORDS,
        FLUSH_SECONDS,
        COMPACTION_SECONDS,
        INDEX_BUILD_SECONDS,
        GC_PASSES,
        GC_FILES_DELETED,
        GC_BYTES_DELETED,
        SNAPSHOTS_CREATED,
        SNAPSHOTS_DROPPED,
        RESTORE_JOBS_FINISHED,
        RESTORE_JOBS,
        RESTORE_BYTES_COPIED,
        CLONE_VERIFICATIONS,
        OBJECT_REQUESTS,
        OBJECT_ERRORS,
        OBJECT_SECONDS,
        LOADED_SEGMENTS,
        SEGMENT_BYTES,
        RESIDENT_BYTES,
    ];

    /// The dashboard in `docs/` charts every exported metric and nothing else (a histogram
    /// by its `_bucket`, `_sum` or `_count` series).
    #[test]
    fn the_dashboard_charts_exactly_the_exported_metrics() {
        let dashboard = include_str!("../../../docs/grafana-dashboard.json");
        let mut charted = std::collections::BTreeSet::new();
        for (start, _) in dashboard.match_indices("quiver_") {
            let name: String = dashboard[start..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            let base = ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(&name).to_string();
            assert!(EXPORTED.contains(&base.as_str()), "the dashboard charts {name}, which is not exported");
            charted.insert(base);
        }
        let missing: Vec<_> = EXPORTED.iter().filter(|m| !charted.contains(**m)).collect();
        assert!(missing.is_empty(), "not charted: {missing:?}");
    }
}
