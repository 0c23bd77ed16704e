//! `quiver inspect`: read snapshots straight from object storage, with no server running.
//!
//! This module uses only `quiver-format` (the codecs: metadata JSON, Avro manifests,
//! Parquet logs, object keys) and `quiver-storage` (the object store built from the same
//! configuration the server uses), never the engine: it is the proof that a snapshot is
//! readable by anything that follows `docs/FORMAT.md`. A test below keeps it that way.
//!
//! Subcommands (one file each): `snapshots` (list), `show` (one snapshot in full),
//! `files` (every file per segment, for scripts and Spark jobs), `verify` (re-read and
//! checksum every referenced file), `export` (the visible rows as Parquet or JSON lines).
//!
//! Terms: the *root* is where the server keeps objects (`<data_dir>/objects` for a
//! local server, `s3://bucket/root_path` for S3). A row `(pk, t)` of a segment is
//! *visible* in a snapshot taken at `create_ts` when `t <= create_ts` and none of that
//! segment's delete logs (as its manifest lists them) has a delete of `pk` at `d` with
//! `t < d <= create_ts` (`docs/FORMAT.md`, "Delete logs").
//!
//! Exit codes: 0 success; 1 a snapshot or file is missing, unreadable or bad (`verify`
//! names every bad file); 2 usage (no root, a root that is not there).

mod catalog;
mod export;
mod files;
mod progress;
mod render;
mod root;
mod rows;
mod show;
mod snapshots;
mod verify;

use clap::{Subcommand, ValueEnum};
use quiver_format::logs::LogError;
use quiver_format::snapshot::SnapshotFormatError;
use quiver_storage::objects::ObjectConfigError;
use std::path::PathBuf;
use std::process::ExitCode;

/// `quiver inspect [--root …] <subcommand>`.
#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    #[command(flatten)]
    root: root::RootArgs,
    #[command(subcommand)]
    command: InspectCommand,
}

#[derive(Subcommand, Debug)]
enum InspectCommand {
    /// List the snapshots under the root: collection, name, time, segments, rows, bytes.
    Snapshots {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One snapshot: metadata, schema, indexes, manifests and their files.
    Show {
        /// Collection name or id.
        collection: String,
        /// Snapshot name.
        snapshot: String,
        /// The decoded metadata and manifests as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every insert log, delete log and index file per segment, with the schema.
    Files {
        /// Collection name or id.
        collection: String,
        /// Snapshot name.
        snapshot: String,
        /// Machine-readable JSON (for scripts and Spark jobs) instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Re-read every file the snapshot references and check its size and CRC-32C.
    Verify {
        /// Collection name or id.
        collection: String,
        /// Snapshot name.
        snapshot: String,
        /// Files read at once.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
        concurrency: u16,
    },
    /// Write the snapshot's visible rows (deletes applied) as Parquet or JSON lines.
    Export {
        /// Collection name or id.
        collection: String,
        /// Snapshot name.
        snapshot: String,
        /// Output format.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Output directory (created; must be empty if it exists).
        #[arg(long)]
        out: PathBuf,
        /// Parquet: one `data.parquet` instead of one file per segment.
        #[arg(long)]
        single_file: bool,
    },
}

/// What `export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Parquet: one file per segment (`segment-<id>.parquet`) or `data.parquet`.
    Parquet,
    /// `data.jsonl`: one JSON object per row, dynamic keys merged in.
    Jsonl,
}

/// Why an `inspect` command failed.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("--root is required: a local directory (for a local server, <data_dir>/objects) or s3://bucket[/prefix]")]
    NoRoot,
    #[error("storage root {} does not exist or is not a directory (for a local server it is <data_dir>/objects)", .0.display())]
    RootMissing(PathBuf),
    #[error("{} is a quiver data directory; its storage root is {}", .0.display(), .0.join("objects").display())]
    DataDirGiven(PathBuf),
    #[error("invalid storage root {root}: {reason}")]
    InvalidRoot { root: String, reason: String },
    #[error("cannot open storage root {root}: {source}")]
    Open { root: String, source: ObjectConfigError },
    #[error("cannot list {prefix}: {source}")]
    List { prefix: String, source: Box<object_store::Error> },
    #[error("{key} is missing")]
    Missing { key: String },
    #[error("cannot read {key}: {source}")]
    Read { key: String, source: Box<object_store::Error> },
    #[error("{key}: {source}")]
    Format { key: String, source: SnapshotFormatError },
    #[error("{key}: {source}")]
    Log { key: String, source: LogError },
    #[error("{key}: {reason}")]
    Layout { key: String, reason: String },
    #[error(
        "{key} does not match the manifest: expected {expected_size} bytes with CRC-32C {}, found {found_size} bytes with CRC-32C {}",
        render::crc(*.expected_crc), render::crc(*.found_crc)
    )]
    Mismatch { key: String, expected_size: u64, expected_crc: u32, found_size: u64, found_crc: u32 },
    #[error("no collection {wanted:?} has snapshots under {root}; collections with snapshots: {available}")]
    CollectionNotFound { wanted: String, root: String, available: String },
    #[error("collection {collection} has no snapshot {wanted:?}; its snapshots: {available}")]
    SnapshotNotFound { collection: String, wanted: String, available: String },
    #[error("{wanted:?} names several collections with that snapshot ({candidates}); pass the collection id instead")]
    Ambiguous { wanted: String, candidates: String },
    #[error("cannot read snapshot metadata {key}: {reason}")]
    Unreadable { key: String, reason: String },
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("output directory {} is not empty; choose a new or empty one", .0.display())]
    OutputNotEmpty(PathBuf),
    #[error("cannot write {}: {reason}", .path.display())]
    Write { path: PathBuf, reason: String },
    #[error("{bad} of {total} files failed verification (listed above)")]
    VerifyFailed { bad: usize, total: usize },
    #[error("{0} snapshot metadata file(s) could not be read (listed above)")]
    SomeUnreadable(usize),
}

impl InspectError {
    fn exit_code(&self) -> u8 {
        match self {
            InspectError::NoRoot | InspectError::RootMissing(_) | InspectError::DataDirGiven(_) | InspectError::InvalidRoot { .. } => 2,
            _ => 1,
        }
    }
}

/// Run one `inspect` subcommand to completion.
pub fn run(args: InspectArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("quiver inspect: cannot start the runtime: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(execute(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("quiver inspect: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

async fn execute(args: InspectArgs) -> Result<(), InspectError> {
    let root = root::StorageRoot::open(&args.root)?;
    match args.command {
        InspectCommand::Snapshots { json } => snapshots::run(&root, json).await,
        InspectCommand::Show { collection, snapshot, json } => {
            let snapshot = catalog::resolve(&root, &collection, &snapshot).await?;
            show::run(&root, &snapshot, json)
        }
        InspectCommand::Files { collection, snapshot, json } => {
            let snapshot = catalog::resolve(&root, &collection, &snapshot).await?;
            files::run(&root, &snapshot, json)
        }
        InspectCommand::Verify { collection, snapshot, concurrency } => {
            verify::run(&root, &collection, &snapshot, usize::from(concurrency)).await
        }
        InspectCommand::Export { collection, snapshot, format, out, single_file } => {
            let snapshot = catalog::resolve(&root, &collection, &snapshot).await?;
            export::run(&root, &snapshot, format, &out, single_file).await
        }
    }
}

/// Write `text` and a newline to stdout. A closed pipe (`quiver inspect … | head`) ends
/// the process quietly instead of panicking as `println!` would.
fn say(text: impl AsRef<str>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_all(text.as_ref().as_bytes()).and_then(|()| stdout.write_all(b"\n")).and_then(|()| stdout.flush());
    if let Err(error) = written {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("quiver inspect: cannot write to stdout: {error}");
        std::process::exit(1);
    }
}

/// Print `value` as pretty JSON on stdout.
fn print_json(value: &serde_json::Value) {
    say(serde_json::to_string_pretty(value).expect("JSON values always serialize"));
}

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod tests;
