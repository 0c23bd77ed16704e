//! `quiver snapshot ...`: create, list, describe, restore or clone (optionally waiting
//! with a live progress bar), mount and unmount, drop, and inspect restore jobs on a
//! running server. Restores with an explicit `--mode`, clones, mounts and the job's
//! mode and verification go through Quiver's own service (`quiver.v1`).
//!
//! Output contract: results go to stdout (one snapshot name per line for `list`, the job
//! id alone on the first line for `restore`, `--json` for machine readers); progress and
//! errors go to stderr. Exit codes are those of [`super::CliError`].
//!
//! Interrupting `restore --wait` only stops watching: the job keeps running on the server
//! (`quiver snapshot job <id>` shows it).

use super::output::{self, format_duration_ms, job_target, state_name};
use super::{CliError, ConnectOptions, Session, run_command};
use indicatif::{ProgressBar, ProgressStyle};
use quiver_proto::milvus::{
    CreateSnapshotRequest, DescribeSnapshotRequest, DescribeSnapshotResponse, DropSnapshotRequest, GetRestoreSnapshotStateRequest,
    ListRestoreSnapshotJobsRequest, ListSnapshotsRequest, RestoreSnapshotInfo, RestoreSnapshotRequest, RestoreSnapshotState,
};
use quiver_proto::quiver::{
    self, DescribeRestoreJobRequest, GetSnapshotUsageRequest, MountSnapshotRequest, RestoreMode, RollbackCollectionRequest,
    UnmountSnapshotRequest,
};
use serde_json::json;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

/// How often `restore --wait` asks for the job state.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

#[derive(clap::Args, Debug)]
pub struct SnapshotArgs {
    #[command(flatten)]
    connection: ConnectOptions,
    #[command(subcommand)]
    command: SnapshotCommand,
}

#[derive(clap::Subcommand, Debug)]
enum SnapshotCommand {
    /// Take a snapshot of a collection.
    Create {
        collection: String,
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Keep compaction away from the snapshot's segments for this long.
        #[arg(long, default_value_t = 0)]
        compaction_protection_seconds: i64,
    },
    /// List a collection's snapshots, one name per line.
    List {
        collection: String,
        #[arg(long)]
        json: bool,
    },
    /// Show one snapshot.
    Describe {
        collection: String,
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Restore a snapshot into a new collection; prints the restore job id.
    Restore {
        /// The snapshot's collection.
        collection: String,
        /// The snapshot.
        name: String,
        /// The collection to create.
        target: String,
        /// Database of the new collection (default: --db).
        #[arg(long)]
        target_db: Option<String>,
        /// Follow the job until it ends (exit 1 if it fails).
        #[arg(long)]
        wait: bool,
        /// `clone` (reference the snapshot's files, instant) or `copy` (independent,
        /// verified copies); default: the server's `[data] restore_mode`.
        #[arg(long, value_parser = ["clone", "copy"])]
        mode: Option<String>,
    },
    /// Restore a snapshot by reference (`restore --mode clone`): nothing is copied.
    Clone {
        collection: String,
        name: String,
        target: String,
        #[arg(long)]
        target_db: Option<String>,
        #[arg(long)]
        wait: bool,
        /// Always `clone` (not a flag: the subcommand says it).
        #[arg(skip = Some("clone".to_string()))]
        mode: Option<String>,
    },
    /// Mount a snapshot as a read-only collection (no copy); returns once it can be loaded.
    Mount {
        /// The snapshot's collection.
        collection: String,
        /// The snapshot.
        name: String,
        /// The read-only collection to create (in --db).
        mount: String,
    },
    /// Remove a mounted snapshot's collection.
    Unmount { mount: String },
    /// What a collection's snapshots cost: total, shared and exclusive bytes (exclusive:
    /// what dropping the snapshot frees), and the bytes only snapshots hold.
    Usage {
        collection: String,
        #[arg(long)]
        json: bool,
    },
    /// Roll a collection back to one of its snapshots, in place; the state it replaces is
    /// saved as a snapshot (roll back to that one to undo).
    Rollback {
        collection: String,
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Drop a snapshot.
    Drop { collection: String, name: String },
    /// List restore jobs of the database (or of one target collection).
    Jobs {
        /// Only jobs restoring into this collection.
        #[arg(long)]
        collection: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one restore job.
    Job {
        job_id: i64,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: SnapshotArgs) -> ExitCode {
    run_command(async move {
        let session = Session::open(&args.connection).await?;
        execute(&session, args.command).await
    })
}

async fn execute(s: &Session, command: SnapshotCommand) -> Result<(), CliError> {
    let db = s.db().to_string();
    match command {
        SnapshotCommand::Create { collection, name, description, compaction_protection_seconds } => {
            let request = CreateSnapshotRequest {
                name: name.clone(),
                description,
                db_name: db.clone(),
                collection_name: collection.clone(),
                compaction_protection_seconds,
                ..Default::default()
            };
            s.finish(s.client().create_snapshot(s.request(request)).await)?;
            println!("created snapshot {name} of {db}.{collection}");
        }
        SnapshotCommand::List { collection, json } => {
            let request = ListSnapshotsRequest { db_name: db, collection_name: collection, ..Default::default() };
            let reply = s.finish(s.client().list_snapshots(s.request(request)).await)?;
            if json {
                print_json(&json!(reply.snapshots));
            } else {
                for name in &reply.snapshots {
                    println!("{name}");
                }
            }
        }
        SnapshotCommand::Describe { collection, name, json } => {
            let request = DescribeSnapshotRequest { name, db_name: db, collection_name: collection, ..Default::default() };
            let reply = s.finish(s.client().describe_snapshot(s.request(request)).await)?;
            if json {
                print_json(&describe_json(&reply));
            } else {
                println!("{}", describe_block(&reply));
            }
        }
        SnapshotCommand::Restore { collection, name, target, target_db, wait, mode }
        | SnapshotCommand::Clone { collection, name, target, target_db, wait, mode } => {
            restore(
                s,
                RestoreSnapshotRequest {
                    name,
                    db_name: db.clone(),
                    collection_name: collection,
                    target_db_name: target_db.unwrap_or(db),
                    target_collection_name: target,
                    ..Default::default()
                },
                mode.as_deref(),
                wait,
            )
            .await?;
        }
        SnapshotCommand::Mount { collection, name, mount } => {
            let request = MountSnapshotRequest {
                db_name: db.clone(),
                collection_name: collection.clone(),
                snapshot_name: name.clone(),
                mount_name: mount.clone(),
            };
            let reply = s.finish(s.quiver().mount_snapshot(s.request(request)).await)?;
            println!(
                "mounted snapshot {name} of {db}.{collection} as {db}.{mount} (read-only) in {}",
                format_duration_ms(reply.time_cost_ms)
            );
        }
        SnapshotCommand::Unmount { mount } => {
            let request = UnmountSnapshotRequest { db_name: db.clone(), mount_name: mount.clone() };
            s.finish(s.quiver().unmount_snapshot(s.request(request)).await)?;
            println!("unmounted {db}.{mount}");
        }
        SnapshotCommand::Usage { collection, json } => {
            let request = GetSnapshotUsageRequest { db_name: db.clone(), collection_name: collection.clone() };
            let reply = s.finish(s.quiver().get_snapshot_usage(s.request(request)).await)?;
            if json {
                print_json(&json!({
                    "collection": collection,
                    "live_bytes": reply.live_bytes,
                    "snapshot_only_bytes": reply.snapshot_only_bytes,
                    "snapshots": reply.snapshots.iter().map(|u| json!({
                        "name": u.snapshot_name,
                        "total_bytes": u.total_bytes,
                        "shared_bytes": u.shared_bytes,
                        "exclusive_bytes": u.exclusive_bytes,
                    })).collect::<Vec<_>>(),
                }));
            } else {
                let rows: Vec<Vec<String>> = reply
                    .snapshots
                    .iter()
                    .map(|u| {
                        vec![u.snapshot_name.clone(), u.total_bytes.to_string(), u.shared_bytes.to_string(), u.exclusive_bytes.to_string()]
                    })
                    .collect();
                println!("{}", output::table(&["SNAPSHOT", "TOTAL BYTES", "SHARED", "EXCLUSIVE (freed by drop)"], &rows));
                println!("{db}.{collection}: {} bytes live, {} bytes held only by snapshots", reply.live_bytes, reply.snapshot_only_bytes);
            }
        }
        SnapshotCommand::Rollback { collection, name, json } => {
            let request =
                RollbackCollectionRequest { db_name: db.clone(), collection_name: collection.clone(), snapshot_name: name.clone() };
            let reply = s.finish(s.quiver().rollback_collection(s.request(request)).await)?;
            let undone_after = output::format_utc_ms(output::hybrid_ts_ms(reply.undone_after_ts as i64));
            if json {
                print_json(&json!({
                    "collection": collection,
                    "snapshot": name,
                    "saved_as": reply.saved_as,
                    "undone_after_ts": reply.undone_after_ts,
                    "undone_after": undone_after,
                    "rows_before": reply.rows_before,
                    "rows_after": reply.rows_after,
                }));
            } else {
                println!("rolled back {db}.{collection} to snapshot {name}");
                println!(
                    "undid every write acknowledged after {undone_after}: {} rows before, {} after",
                    reply.rows_before, reply.rows_after
                );
                println!(
                    "the replaced state is snapshot {}: `quiver snapshot rollback {collection} {}` undoes this",
                    reply.saved_as, reply.saved_as
                );
            }
        }
        SnapshotCommand::Drop { collection, name } => {
            // DropSnapshot succeeds for a name that does not exist (as in Milvus); say which
            // case this was.
            let describe = DescribeSnapshotRequest {
                name: name.clone(),
                db_name: db.clone(),
                collection_name: collection.clone(),
                ..Default::default()
            };
            let existed = match s.finish(s.client().describe_snapshot(s.request(describe)).await) {
                Ok(_) => true,
                Err(CliError::Server { code: crate::status::code::SNAPSHOT_NOT_FOUND, .. }) => false,
                Err(error) => return Err(error),
            };
            let request =
                DropSnapshotRequest { name: name.clone(), db_name: db.clone(), collection_name: collection.clone(), ..Default::default() };
            s.finish(s.client().drop_snapshot(s.request(request)).await)?;
            if existed {
                println!("dropped snapshot {name} of {db}.{collection}");
            } else {
                println!("no snapshot {name} in {db}.{collection}; nothing was dropped");
            }
        }
        SnapshotCommand::Jobs { collection, json } => {
            let request =
                ListRestoreSnapshotJobsRequest { db_name: db, collection_name: collection.unwrap_or_default(), ..Default::default() };
            let mut jobs = s.finish(s.client().list_restore_snapshot_jobs(s.request(request)).await)?.jobs;
            jobs.sort_by_key(|job| job.job_id);
            if json {
                print_json(&json!(jobs.iter().map(output::job_json).collect::<Vec<_>>()));
            } else {
                println!("{}", output::jobs_table(&jobs));
            }
        }
        SnapshotCommand::Job { job_id, json } => {
            let job = job_state(s, job_id).await?;
            let request = DescribeRestoreJobRequest { job_id };
            let described = s.finish(s.quiver().describe_restore_job(s.request(request)).await)?.job.unwrap_or_default();
            let checked = if described.verification_reason.is_empty() {
                described.verification.clone()
            } else {
                format!("{}: {}", described.verification, described.verification_reason)
            };
            if json {
                let mut value = output::job_json(&job);
                value["mode"] = json!(described.mode);
                value["copied_bytes"] = json!(described.copied_bytes);
                value["total_bytes"] = json!(described.total_bytes);
                value["verification"] = json!(described.verification);
                value["verification_reason"] = json!(described.verification_reason);
                print_json(&value);
            } else {
                println!("{}", output::job_block(&job));
                println!(
                    "{}",
                    output::key_values(&[
                        ("Mode", described.mode),
                        ("Bytes", format!("{} of {}", described.copied_bytes, described.total_bytes)),
                        ("Verification", checked),
                    ])
                );
            }
        }
    }
    Ok(())
}

/// Start a restore (through Quiver's service when `mode` is said, else Milvus's call and
/// the server's default mode), print its job id, and follow it with `wait`.
async fn restore(s: &Session, request: RestoreSnapshotRequest, mode: Option<&str>, wait: bool) -> Result<(), CliError> {
    let job_id = match mode {
        None => s.finish(s.client().restore_snapshot(s.request(request)).await)?.job_id,
        Some(mode) => {
            let mode = if mode == "clone" { RestoreMode::Clone } else { RestoreMode::Copy };
            let request = quiver::RestoreSnapshotRequest {
                db_name: request.db_name,
                collection_name: request.collection_name,
                snapshot_name: request.name,
                target_db_name: request.target_db_name,
                target_collection_name: request.target_collection_name,
                mode: mode as i32,
            };
            s.finish(s.quiver().restore_snapshot(s.request(request)).await)?.job_id
        }
    };
    println!("{job_id}");
    if wait {
        let job = wait_for_job(s, job_id).await?;
        println!(
            "restore job {} completed: {} restored from snapshot {} in {}",
            job.job_id,
            job_target(&job),
            job.snapshot_name,
            format_duration_ms(job.time_cost)
        );
    }
    Ok(())
}

async fn job_state(s: &Session, job_id: i64) -> Result<RestoreSnapshotInfo, CliError> {
    let request = GetRestoreSnapshotStateRequest { job_id, ..Default::default() };
    let reply = s.finish(s.client().get_restore_snapshot_state(s.request(request)).await)?;
    reply.info.ok_or_else(|| CliError::Rpc {
        code: tonic::Code::Internal,
        message: format!("reply for restore job {job_id} carries no job info"),
    })
}

/// Polls the job until it is Completed (returned) or Failed (an error), showing progress.
/// Ctrl-C stops the waiting, not the job, and says how to follow it.
async fn wait_for_job(s: &Session, job_id: i64) -> Result<RestoreSnapshotInfo, CliError> {
    let mut progress = Progress::new(job_id);
    tokio::select! {
        outcome = poll_job(s, job_id, &mut progress) => return outcome,
        _ = tokio::signal::ctrl_c() => {}
    }
    progress.abandon();
    Err(CliError::StoppedWaiting { job_id })
}

async fn poll_job(s: &Session, job_id: i64, progress: &mut Progress) -> Result<RestoreSnapshotInfo, CliError> {
    loop {
        let job = match job_state(s, job_id).await {
            Ok(job) => job,
            Err(error) => {
                progress.abandon();
                return Err(error);
            }
        };
        progress.update(&job);
        match RestoreSnapshotState::try_from(job.state) {
            Ok(RestoreSnapshotState::RestoreSnapshotCompleted) => {
                progress.finish();
                return Ok(job);
            }
            Ok(RestoreSnapshotState::RestoreSnapshotFailed) => {
                progress.abandon();
                return Err(CliError::RestoreFailed { job_id, reason: job.reason });
            }
            _ => tokio::time::sleep(POLL_INTERVAL).await,
        }
    }
}

/// Live progress of a restore job: an indicatif bar on a terminal, otherwise one stderr
/// line per change of state or percentage (indicatif would hide itself and print nothing).
enum Progress {
    Bar(ProgressBar),
    Lines { job_id: i64, last: Option<(i32, i32)> },
}

impl Progress {
    fn new(job_id: i64) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress::Lines { job_id, last: None };
        }
        let bar = ProgressBar::new(100);
        // The bar takes what the terminal's width leaves, so the line never wraps.
        let style = ProgressStyle::with_template("{spinner} restore job {prefix} [{wide_bar}] {pos:>3}% {msg:9} {elapsed:>4}")
            .expect("static progress template is valid")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(job_id.to_string());
        bar.set_message("Pending");
        bar.enable_steady_tick(Duration::from_millis(100));
        Progress::Bar(bar)
    }

    fn update(&mut self, job: &RestoreSnapshotInfo) {
        let percent = job.progress.clamp(0, 100);
        match self {
            Progress::Bar(bar) => {
                bar.set_position(percent as u64);
                bar.set_message(state_name(job.state));
            }
            Progress::Lines { job_id, last } => {
                if *last != Some((job.state, percent)) {
                    eprintln!("restore job {job_id}: {} {percent}%", state_name(job.state));
                    *last = Some((job.state, percent));
                }
            }
        }
    }

    /// Leaves the bar drawn at its final position.
    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish();
            end_bar_line(bar);
        }
    }

    /// Stops the bar where it is (the error is printed after it).
    fn abandon(&self) {
        if let Progress::Bar(bar) = self {
            bar.abandon();
            end_bar_line(bar);
        }
    }
}

/// indicatif leaves the cursor at the end of a finished bar; move to a fresh line so
/// what we print next does not run on after it.
fn end_bar_line(bar: &ProgressBar) {
    if !bar.is_hidden() {
        eprintln!();
    }
}

fn describe_block(reply: &DescribeSnapshotResponse) -> String {
    let or_dash = |text: &str| if text.is_empty() { "-".to_string() } else { text.to_string() };
    output::key_values(&[
        ("Name", reply.name.clone()),
        ("Description", or_dash(&reply.description)),
        ("Collection", reply.collection_name.clone()),
        ("Partitions", or_dash(&reply.partition_names.join(", "))),
        ("Created", format!("{} (ts {})", output::format_utc_ms(output::hybrid_ts_ms(reply.create_ts)), reply.create_ts)),
        ("Location", or_dash(&reply.s3_location)),
    ])
}

fn describe_json(reply: &DescribeSnapshotResponse) -> serde_json::Value {
    json!({
        "name": reply.name,
        "description": reply.description,
        "collection_name": reply.collection_name,
        "partition_names": reply.partition_names,
        "create_ts": reply.create_ts,
        "create_time": output::format_utc_ms(output::hybrid_ts_ms(reply.create_ts)),
        "s3_location": reply.s3_location,
    })
}

fn print_json(value: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(value).expect("JSON values always serialize"));
}
