//! `quiver inspect export`: a snapshot's visible rows, written as Parquet (one file per
//! segment, `segment-<id>.parquet`, or one `data.parquet`) or JSON lines (`data.jsonl`).
//!
//! Per segment: read its delete logs (as its manifest lists them), then stream its insert
//! logs batch by batch, keep the visible rows (`rows.rs`) and write them. Every file is
//! checked against its manifest's size and CRC-32C before a row of it is used. Rows come
//! out in segment and file order; sort by primary key if order matters.

use super::catalog::Snapshot;
use super::root::StorageRoot;
use super::rows::{self, RowCounts, SegmentDeletes};
use super::{ExportFormat, InspectError, progress, render, say};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use quiver_format::logs::{read_delete_log, read_parquet};
use quiver_format::schema::CollectionSchema;
use quiver_format::snapshot::ManifestEntry;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A Parquet file opened at its first batch (taking that batch's exact schema), or at
/// close with the export schema if no row came.
struct LazyParquet {
    path: PathBuf,
    writer: Option<ArrowWriter<File>>,
}

impl LazyParquet {
    fn new(path: PathBuf) -> LazyParquet {
        LazyParquet { path, writer: None }
    }

    fn write(&mut self, batch: &RecordBatch, collection: &CollectionSchema, schema: &SchemaRef) -> Result<(), InspectError> {
        let out = rows::to_export_batch(batch, collection, schema).map_err(|e| write_error(&self.path, e))?;
        if self.writer.is_none() {
            let file = create(&self.path)?;
            self.writer = Some(ArrowWriter::try_new(file, out.schema(), Some(properties())).map_err(|e| write_error(&self.path, e))?);
        }
        self.writer.as_mut().expect("just opened").write(&out).map_err(|e| write_error(&self.path, e))
    }

    fn close(self, schema: &SchemaRef) -> Result<PathBuf, InspectError> {
        let writer = match self.writer {
            Some(writer) => writer,
            None => {
                ArrowWriter::try_new(create(&self.path)?, schema.clone(), Some(properties())).map_err(|e| write_error(&self.path, e))?
            }
        };
        writer.close().map_err(|e| write_error(&self.path, e))?;
        Ok(self.path)
    }
}

/// Where exported rows go.
enum Sink {
    /// One Parquet file per segment: the files done, and the segment's being written.
    ParquetPerSegment {
        dir: PathBuf,
        done: Vec<PathBuf>,
        current: Option<LazyParquet>,
    },
    /// One Parquet file for everything.
    ParquetSingle(LazyParquet),
    Jsonl {
        path: PathBuf,
        writer: BufWriter<File>,
    },
}

fn properties() -> WriterProperties {
    WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("level 1 is valid"))).build()
}

fn write_error(path: &Path, error: impl ToString) -> InspectError {
    InspectError::Write { path: path.to_path_buf(), reason: error.to_string() }
}

fn create(path: &Path) -> Result<File, InspectError> {
    File::options().write(true).create_new(true).open(path).map_err(|source| InspectError::Io { path: path.to_path_buf(), source })
}

impl Sink {
    fn open(dir: &Path, format: ExportFormat, single_file: bool) -> Result<Sink, InspectError> {
        match (format, single_file) {
            (ExportFormat::Parquet, false) => Ok(Sink::ParquetPerSegment { dir: dir.to_path_buf(), done: Vec::new(), current: None }),
            (ExportFormat::Parquet, true) => Ok(Sink::ParquetSingle(LazyParquet::new(dir.join("data.parquet")))),
            (ExportFormat::Jsonl, _) => {
                let path = dir.join("data.jsonl");
                let writer = BufWriter::new(create(&path)?);
                Ok(Sink::Jsonl { path, writer })
            }
        }
    }

    fn begin_segment(&mut self, segment: i64) {
        if let Sink::ParquetPerSegment { dir, current, .. } = self {
            *current = Some(LazyParquet::new(dir.join(format!("segment-{segment}.parquet"))));
        }
    }

    fn write(&mut self, batch: &RecordBatch, collection: &CollectionSchema, schema: &SchemaRef) -> Result<(), InspectError> {
        match self {
            Sink::ParquetPerSegment { current, .. } => current.as_mut().expect("a segment was begun").write(batch, collection, schema),
            Sink::ParquetSingle(file) => file.write(batch, collection, schema),
            Sink::Jsonl { path, writer } => {
                for row in rows::to_json_rows(batch, collection).map_err(|e| write_error(path, e))? {
                    serde_json::to_writer(&mut *writer, &row).map_err(|e| write_error(path, e))?;
                    writer.write_all(b"\n").map_err(|e| write_error(path, e))?;
                }
                Ok(())
            }
        }
    }

    fn end_segment(&mut self, schema: &SchemaRef) -> Result<(), InspectError> {
        if let Sink::ParquetPerSegment { done, current, .. } = self
            && let Some(file) = current.take()
        {
            done.push(file.close(schema)?);
        }
        Ok(())
    }

    /// Close everything; returns the files written.
    fn finish(self, schema: &SchemaRef) -> Result<Vec<PathBuf>, InspectError> {
        match self {
            Sink::ParquetPerSegment { done, .. } => Ok(done),
            Sink::ParquetSingle(file) => Ok(vec![file.close(schema)?]),
            Sink::Jsonl { path, mut writer } => {
                writer.flush().map_err(|e| write_error(&path, e))?;
                Ok(vec![path])
            }
        }
    }
}

/// Create `out`, or accept it if it exists and is empty.
fn prepare(out: &Path) -> Result<(), InspectError> {
    let io = |source| InspectError::Io { path: out.to_path_buf(), source };
    if out.exists() {
        if std::fs::read_dir(out).map_err(io)?.next().is_some() {
            return Err(InspectError::OutputNotEmpty(out.to_path_buf()));
        }
        return Ok(());
    }
    std::fs::create_dir_all(out).map_err(io)
}

fn log_bytes(manifest: &ManifestEntry) -> u64 {
    manifest.binlog_files.iter().chain(&manifest.deltalog_files).flat_map(|g| &g.binlogs).map(|b| b.log_size).sum()
}

pub async fn run(root: &StorageRoot, snapshot: &Snapshot, format: ExportFormat, out: &Path, single_file: bool) -> Result<(), InspectError> {
    let collection = &snapshot.metadata.collection.schema;
    let pk = collection
        .fields
        .iter()
        .find(|f| f.is_primary_key)
        .map(|f| f.name.clone())
        .ok_or_else(|| InspectError::Layout { key: snapshot.metadata_key.clone(), reason: "the schema has no primary key".into() })?;
    let create_ts = snapshot.metadata.snapshot_info.create_ts.0;
    let schema = rows::export_schema(collection);
    prepare(out)?;
    let mut sink = Sink::open(out, format, single_file)?;
    let bar = progress::bytes(snapshot.manifests.iter().map(|(_, m)| log_bytes(m)).sum(), "exporting");
    let mut counts = RowCounts::default();
    for (_, manifest) in &snapshot.manifests {
        let mut deletes = SegmentDeletes::default();
        for binlog in manifest.deltalog_files.iter().flat_map(|g| &g.binlogs) {
            let file = binlog.file();
            let bytes = root.get_verified(&file).await?;
            let (pks, timestamps) = read_delete_log(bytes).map_err(|source| InspectError::Log { key: file.key.clone(), source })?;
            deletes.add(&pks, &timestamps, create_ts);
            bar.inc(file.size);
        }
        sink.begin_segment(manifest.segment_id.0);
        for binlog in manifest.binlog_files.iter().flat_map(|g| &g.binlogs) {
            let file = binlog.file();
            let bytes = root.get_verified(&file).await?;
            for stored in read_parquet(bytes, None).map_err(|source| InspectError::Log { key: file.key.clone(), source })? {
                // Rows stored before a field was added read it as null or its default.
                let batch = quiver_format::columns::conform(collection, &stored)
                    .map_err(|e| InspectError::Layout { key: file.key.clone(), reason: e.to_string() })?;
                let (kept, batch_counts) = rows::visible(&batch, &pk, &deletes, create_ts)
                    .map_err(|reason| InspectError::Layout { key: file.key.clone(), reason })?;
                counts += batch_counts;
                if kept.num_rows() > 0 {
                    sink.write(&kept, collection, &schema)?;
                }
            }
            bar.inc(file.size);
        }
        sink.end_segment(&schema)?;
    }
    bar.finish_and_clear();
    let written = sink.finish(&schema)?;
    let names: Vec<String> = written.iter().map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()).collect();
    let later = if counts.later > 0 { format!(", {} after the snapshot", counts.later) } else { String::new() };
    say(format!(
        "exported {} of snapshot {} of {} (id {}) from {}: {} stored, {} deleted{later}",
        crate::text::count(counts.visible as usize, "row"),
        snapshot.metadata.snapshot_info.name,
        snapshot.metadata.collection.collection_name,
        snapshot.metadata.snapshot_info.collection_id,
        crate::text::count(snapshot.manifests.len(), "segment"),
        counts.stored,
        counts.deleted,
    ));
    let total: u64 = written.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let files = crate::text::count(written.len(), "file");
    say(format!("wrote {files} ({}) to {}: {}", render::size(total), out.display(), names.join(", ")));
    Ok(())
}
