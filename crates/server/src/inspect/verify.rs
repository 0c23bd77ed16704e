//! `quiver inspect verify`: re-read every file a snapshot references and check it.
//!
//! The metadata JSON and the manifests have no recorded checksum (they are the entry
//! points), so they must exist and decode; every insert log, delete log and index file
//! must have exactly the size and CRC-32C its manifest records. Files are streamed (never
//! held whole in memory), a few at a time, under a progress bar of bytes. Every problem
//! is printed, one line per file, before the command exits 1.

use super::root::StorageRoot;
use super::{InspectError, catalog, progress, render, say};
use futures::StreamExt;
use quiver_format::FileRef;
use quiver_format::snapshot::{SnapshotMetadata, decode_manifest};
use std::collections::BTreeMap;

/// What is wrong with one file.
#[derive(Debug, PartialEq)]
pub enum Problem {
    Missing,
    Size { expected: u64, found: u64 },
    Crc { expected: u32, found: u32 },
    Unreadable(String),
}

fn line(key: &str, problem: &Problem) -> String {
    match problem {
        Problem::Missing => format!("MISSING     {key}"),
        Problem::Size { expected, found } => format!("BAD SIZE    {key}: {found} bytes, the manifest says {expected}"),
        Problem::Crc { expected, found } => {
            format!("BAD CRC32C  {key}: {}, the manifest says {}", render::crc(*found), render::crc(*expected))
        }
        Problem::Unreadable(reason) => format!("UNREADABLE  {key}: {reason}"),
    }
}

fn problem_of(error: InspectError) -> Problem {
    match error {
        InspectError::Missing { .. } => Problem::Missing,
        other => Problem::Unreadable(other.to_string()),
    }
}

/// What verification found.
pub struct Report {
    pub metadata_key: String,
    pub metadata: SnapshotMetadata,
    pub data_files: usize,
    pub bytes: u64,
    /// Every bad file, by key.
    pub problems: Vec<(String, Problem)>,
}

impl Report {
    /// Files checked: the metadata, the manifests and the data files.
    pub fn checked(&self) -> usize {
        1 + self.metadata.manifest_list.len() + self.data_files
    }
}

/// Check every file of one snapshot.
pub async fn check(root: &StorageRoot, collection: &str, snapshot: &str, concurrency: usize) -> Result<Report, InspectError> {
    // Finding the snapshot re-reads and decodes its metadata file.
    let (metadata_key, metadata) = catalog::locate(root, collection, snapshot).await?;
    let mut problems: Vec<(String, Problem)> = Vec::new();
    let mut files: BTreeMap<String, FileRef> = BTreeMap::new();
    for key in &metadata.manifest_list {
        let manifest = match root.get(key).await {
            Ok(bytes) => decode_manifest(&bytes).map_err(|e| Problem::Unreadable(e.to_string())),
            Err(error) => Err(problem_of(error)),
        };
        match manifest {
            Ok(manifest) => {
                for file in manifest.files() {
                    match files.get(&file.key) {
                        Some(seen) if seen.size != file.size || seen.crc32c != file.crc32c => problems
                            .push((file.key.clone(), Problem::Unreadable(format!("manifests disagree on it ({key} and an earlier one)")))),
                        Some(_) => {}
                        None => {
                            files.insert(file.key.clone(), file);
                        }
                    }
                }
            }
            Err(problem) => problems.push((key.clone(), problem)),
        }
    }

    let total: u64 = files.values().map(|f| f.size).sum();
    let bar = progress::bytes(total, "verifying");
    let checks = futures::stream::iter(files.values().cloned())
        .map(|file| {
            let bar = bar.clone();
            async move {
                let outcome = match root.checksum(&file.key, |n| bar.inc(n)).await {
                    Ok((size, _)) if size != file.size => Some(Problem::Size { expected: file.size, found: size }),
                    Ok((_, crc)) if crc != file.crc32c => Some(Problem::Crc { expected: file.crc32c, found: crc }),
                    Ok(_) => None,
                    Err(error) => Some(problem_of(error)),
                };
                (file.key, outcome)
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    bar.finish_and_clear();
    problems.extend(checks.into_iter().filter_map(|(key, outcome)| outcome.map(|p| (key, p))));
    problems.sort_by(|a, b| a.0.cmp(&b.0));

    Ok(Report { metadata_key, metadata, data_files: files.len(), bytes: total, problems })
}

pub async fn run(root: &StorageRoot, collection: &str, snapshot: &str, concurrency: usize) -> Result<(), InspectError> {
    let report = check(root, collection, snapshot, concurrency).await?;
    let metadata = &report.metadata;
    say(format!(
        "snapshot {} of {} (id {}): 1 metadata file, {} manifests, {} data files ({})",
        metadata.snapshot_info.name,
        metadata.collection.collection_name,
        metadata.snapshot_info.collection_id,
        metadata.manifest_list.len(),
        report.data_files,
        render::size(report.bytes),
    ));
    say(format!("metadata {}: decoded", report.metadata_key));
    for (key, problem) in &report.problems {
        say(line(key, problem));
    }
    if report.problems.is_empty() {
        say(format!("all {} files OK", report.checked()));
        Ok(())
    } else {
        Err(InspectError::VerifyFailed { bad: report.problems.len(), total: report.checked() })
    }
}
