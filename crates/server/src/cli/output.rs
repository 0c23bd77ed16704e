//! How client commands print: aligned tables, `key: value` blocks, JSON values, state
//! names, durations and UTC times. Pure functions over wire values, so they are unit-tested.

pub use crate::text::table;
use quiver_proto::milvus::{RestoreSnapshotInfo, RestoreSnapshotState};
use serde_json::{Value, json};

/// Wall-clock milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// `2026-05-01 12:34:56.789 UTC`.
pub fn format_utc_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = crate::text::civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03} UTC", rem / 3600, (rem / 60) % 60, rem % 60, ms % 1000)
}

/// Physical milliseconds of a hybrid timestamp (`physical_ms << 18 | logical`).
pub fn hybrid_ts_ms(ts: i64) -> u64 {
    (ts.max(0) as u64) >> 18
}

/// `0 ms` .. `999 ms`, then `1.2 s`, `1m 05s`.
pub fn format_duration_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{}m {:02}s", ms / 60_000, (ms / 1000) % 60)
    }
}

/// `Pending`, `Executing`, `Completed`, `Failed` (or `None`, `Unknown(7)`).
pub fn state_name(state: i32) -> String {
    match RestoreSnapshotState::try_from(state) {
        Ok(RestoreSnapshotState::RestoreSnapshotNone) => "None".to_string(),
        Ok(RestoreSnapshotState::RestoreSnapshotPending) => "Pending".to_string(),
        Ok(RestoreSnapshotState::RestoreSnapshotExecuting) => "Executing".to_string(),
        Ok(RestoreSnapshotState::RestoreSnapshotCompleted) => "Completed".to_string(),
        Ok(RestoreSnapshotState::RestoreSnapshotFailed) => "Failed".to_string(),
        Err(_) => format!("Unknown({state})"),
    }
}

/// `db.collection` of a job's target.
pub fn job_target(job: &RestoreSnapshotInfo) -> String {
    format!("{}.{}", job.db_name, job.collection_name)
}

/// Time cost of a job, `-` while it has none.
pub fn job_time_cost(job: &RestoreSnapshotInfo) -> String {
    if job.time_cost == 0 { "-".to_string() } else { format_duration_ms(job.time_cost) }
}

pub fn job_json(job: &RestoreSnapshotInfo) -> Value {
    json!({
        "job_id": job.job_id,
        "snapshot_name": job.snapshot_name,
        "db_name": job.db_name,
        "collection_name": job.collection_name,
        "state": state_name(job.state),
        "progress": job.progress,
        "reason": job.reason,
        "start_time": job.start_time,
        "time_cost": job.time_cost,
    })
}

/// The jobs table: one row per job, sorted by job id.
pub fn jobs_table(jobs: &[RestoreSnapshotInfo]) -> String {
    let mut sorted: Vec<&RestoreSnapshotInfo> = jobs.iter().collect();
    sorted.sort_by_key(|job| job.job_id);
    let rows: Vec<Vec<String>> = sorted
        .iter()
        .map(|job| {
            vec![
                job.job_id.to_string(),
                job.snapshot_name.clone(),
                job_target(job),
                state_name(job.state),
                format!("{}%", job.progress),
                job_time_cost(job),
                job.reason.clone(),
            ]
        })
        .collect();
    table(&["JOB ID", "SNAPSHOT", "TARGET", "STATE", "PROGRESS", "TIME COST", "REASON"], &rows)
}

/// One job as a `key: value` block.
pub fn job_block(job: &RestoreSnapshotInfo) -> String {
    let start = if job.start_time == 0 { "-".to_string() } else { format_utc_ms(job.start_time) };
    let reason = if job.reason.is_empty() { "-".to_string() } else { job.reason.clone() };
    key_values(&[
        ("Job ID", job.job_id.to_string()),
        ("Snapshot", job.snapshot_name.clone()),
        ("Target", job_target(job)),
        ("State", state_name(job.state)),
        ("Progress", format!("{}%", job.progress)),
        ("Started", start),
        ("Time cost", job_time_cost(job)),
        ("Reason", reason),
    ])
}

/// `Key:   value` lines with the values aligned.
pub fn key_values(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(key, _)| key.chars().count()).max().unwrap_or(0) + 1;
    pairs.iter().map(|(key, value)| format!("{:<width$}  {value}", format!("{key}:")).trim_end().to_string()).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting_handles_epoch_and_leap_days() {
        assert_eq!(format_utc_ms(0), "1970-01-01 00:00:00.000 UTC");
        // 2024-02-29T23:59:59.999Z
        assert_eq!(format_utc_ms(1_709_251_199_999), "2024-02-29 23:59:59.999 UTC");
        assert_eq!(format_utc_ms(1_709_251_200_000), "2024-03-01 00:00:00.000 UTC");
    }

    #[test]
    fn hybrid_timestamps_keep_their_physical_part() {
        assert_eq!(hybrid_ts_ms((1_709_251_200_000_i64 << 18) | 5), 1_709_251_200_000);
        assert_eq!(hybrid_ts_ms(-1), 0);
    }

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(format_duration_ms(0), "0 ms");
        assert_eq!(format_duration_ms(999), "999 ms");
        assert_eq!(format_duration_ms(1250), "1.2 s");
        assert_eq!(format_duration_ms(65_000), "1m 05s");
    }

    #[test]
    fn states_have_short_names() {
        assert_eq!(state_name(1), "Pending");
        assert_eq!(state_name(2), "Executing");
        assert_eq!(state_name(3), "Completed");
        assert_eq!(state_name(4), "Failed");
        assert_eq!(state_name(9), "Unknown(9)");
    }

    #[test]
    fn tables_align_columns() {
        let rows = vec![vec!["1".to_string(), "snap".to_string(), String::new()], vec!["10".to_string(), "s".to_string(), "x".to_string()]];
        assert_eq!(table(&["ID", "NAME", "R"], &rows), "ID  NAME  R\n1   snap\n10  s     x");
    }

    #[test]
    fn jobs_table_sorts_by_job_id() {
        let job = |id: i64| RestoreSnapshotInfo {
            job_id: id,
            snapshot_name: "s".into(),
            db_name: "default".into(),
            collection_name: "t".into(),
            state: 3,
            progress: 100,
            time_cost: 12,
            ..Default::default()
        };
        let text = jobs_table(&[job(2), job(1)]);
        let ids: Vec<&str> = text.lines().skip(1).map(|l| l.split_whitespace().next().unwrap()).collect();
        assert_eq!(ids, ["1", "2"]);
        assert!(text.contains("default.t  Completed  100%      12 ms"), "{text}");
    }
}
