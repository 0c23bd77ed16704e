//! The write path: insert, upsert and delete. Each write is checked, given a timestamp,
//! appended to the WAL (fsynced) and only then applied to memory and acknowledged.

use super::deletes::{self, Delete};
use super::rows::{self, InsertColumns, PkSource};
use super::segment::Segment;
use super::wal_entry::WalEntry;
use super::{CollectionData, Data, DataState, routing};
use crate::catalog::model::Collection;
use crate::error::{EngineError, Result, internal};
use crate::read;
use arrow_array::{Array, ArrayRef, UInt32Array};
use quiver_base::{PartitionId, SegmentId, Timestamp};
use quiver_expr::{Pks, Plan, TemplateValue};
use quiver_format::columns::META_COLUMN;
use quiver_format::logs::PkColumn;
use quiver_format::schema::FieldSchema;
use quiver_storage::wal::Lsn;
use std::collections::HashMap;
use std::sync::Arc;

/// What a mutation returns to the client.
#[derive(Clone, Debug)]
pub struct MutationOutcome {
    pub ids: PkColumn,
    pub count: usize,
    pub ts: Timestamp,
}

impl Data {
    /// Insert rows into `partition` (or, for partition-key collections, the partitions
    /// their keys hash to). Acknowledged only once durable in the WAL.
    pub async fn insert(&self, collection: &Collection, partition: Option<PartitionId>, columns: InsertColumns) -> Result<MutationOutcome> {
        let data = self.collection_data(collection.id);
        let _writer = data.writer.lock().await;
        let pk = if collection.schema.primary_field().auto_id {
            PkSource::Generated(self.ctx.ids.next_block(columns.num_rows as u64).await?)
        } else {
            PkSource::Client
        };
        let ts = self.ctx.next_ts().await?;
        let batch = rows::assemble(&collection.schema, columns, pk, ts.0)?;
        let ids = deletes::pk_column(batch.column_by_name(&collection.schema.primary_field().name).expect("pk column"));
        let count = batch.num_rows();
        let entries = routing::by_partition(collection, partition, batch)?
            .into_iter()
            .map(|(partition, batch)| WalEntry::Insert { collection: collection.id, partition, batch })
            .collect();
        self.write(collection, &data, entries).await?;
        Ok(MutationOutcome { ids, count, ts })
    }

    /// Replace rows by primary key: a delete of the pks everywhere in the collection and
    /// an insert, at one timestamp. With `auto_id`, as in Milvus, the new rows get new
    /// keys and the keys the request names (if it names any) are deleted.
    /// With `partial` (Milvus's partial update), fields the request leaves out keep the
    /// stored row's values (see [`Data::completed_from_stored`]).
    pub async fn upsert(
        &self,
        collection: &Collection,
        partition: Option<PartitionId>,
        columns: InsertColumns,
        partial: bool,
    ) -> Result<MutationOutcome> {
        let data = self.collection_data(collection.id);
        let _writer = data.writer.lock().await;
        let columns = if partial { self.completed_from_stored(collection, columns, self.ctx.next_ts().await?.0)? } else { columns };
        let pk_field = collection.schema.primary_field();
        let (pk, named) = if pk_field.auto_id {
            let named = columns.fields.iter().find(|(name, _)| name == &pk_field.name).map(|(_, keys)| Arc::clone(keys));
            (PkSource::Replacing(self.ctx.ids.next_block(columns.num_rows as u64).await?), named)
        } else {
            (PkSource::Client, None)
        };
        let ts = self.ctx.next_ts().await?;
        let batch = rows::assemble(&collection.schema, columns, pk, ts.0)?;
        let pks = deletes::pk_column(batch.column_by_name(&pk_field.name).expect("pk column"));
        let replaced = match (pk, named) {
            (PkSource::Client, _) => Some(pks.clone()),
            // `assemble` checked the named keys' type.
            (_, named) => named.map(|keys| deletes::pk_column(&keys)),
        };
        let count = batch.num_rows();
        let mut entries: Vec<WalEntry> =
            replaced.into_iter().map(|pks| WalEntry::Delete { collection: collection.id, partition: None, pks, ts: ts.0 }).collect();
        entries.extend(routing::by_partition(collection, partition, batch)?.into_iter().map(|(partition, batch)| WalEntry::Insert {
            collection: collection.id,
            partition,
            batch,
        }));
        self.write(collection, &data, entries).await?;
        Ok(MutationOutcome { ids: pks, count, ts })
    }

    /// A partial upsert's rows made whole: each field the request leaves out takes the
    /// stored row's value where the key exists, and null (then the field's default)
    /// where it does not; a field with neither is refused, in Milvus's words. Called
    /// under the writer lock, so no write of this collection comes between this read and
    /// the upsert.
    fn completed_from_stored(&self, collection: &Collection, mut columns: InsertColumns, read_ts: u64) -> Result<InsertColumns> {
        let schema = &collection.schema;
        let pk = schema.primary_field();
        let keys = columns.fields.iter().find(|(name, _)| name == &pk.name).map(|(_, keys)| Arc::clone(keys)).ok_or_else(|| {
            EngineError::InvalidData(format!("a partial update names its rows by primary key, and the request holds no {}", pk.name))
        })?;
        let missing: Vec<&FieldSchema> =
            schema.fields.iter().filter(|f| !f.is_primary_key && columns.fields.iter().all(|(name, _)| name != &f.name)).collect();
        let keep_meta = schema.enable_dynamic_field;
        if missing.is_empty() && !keep_meta {
            return Ok(columns);
        }
        const KEYS: &str = "__partial_update_keys";
        let request_keys = deletes::pk_column(&keys);
        let wanted = match &request_keys {
            PkColumn::Int(ids) => ids.iter().map(|id| TemplateValue::Int(*id)).collect(),
            PkColumn::Str(ids) => ids.iter().map(|id| TemplateValue::String(id.clone())).collect(),
        };
        let mut output_fields: Vec<String> = std::iter::once(&pk.name).chain(missing.iter().map(|f| &f.name)).cloned().collect();
        if keep_meta {
            output_fields.push(META_COLUMN.to_string());
        }
        let request = read::QueryRequest {
            filter: format!("{} in {{{KEYS}}}", pk.name),
            templates: HashMap::from([(KEYS.to_string(), TemplateValue::Array(wanted))]),
            output_fields,
            partitions: None,
            limit: None,
            offset: 0,
        };
        let stored = read::query(collection, &self.view(collection)?, &request, read_ts)?;
        let column = |name: Option<&str>| {
            stored
                .columns
                .iter()
                .find(|c| c.field.as_ref().map(|f| f.name.as_str()) == name)
                .map(|c| &c.array)
                .ok_or_else(|| internal(format!("a partial update's read returned no column {}", name.unwrap_or(META_COLUMN))))
        };
        let text_keys = |keys: PkColumn| -> Vec<String> {
            match keys {
                PkColumn::Int(ids) => ids.iter().map(i64::to_string).collect(),
                PkColumn::Str(ids) => ids,
            }
        };
        let stored_row: HashMap<String, u32> =
            text_keys(deletes::pk_column(column(Some(&pk.name))?)).into_iter().enumerate().map(|(row, key)| (key, row as u32)).collect();
        let rows = UInt32Array::from(text_keys(request_keys).iter().map(|key| stored_row.get(key).copied()).collect::<Vec<_>>());
        for field in missing {
            if rows.null_count() > 0 && !field.nullable && field.default_value.is_none() {
                return Err(EngineError::InvalidData(format!("fieldSchema({}) has no corresponding fieldData pass in", field.name)));
            }
            columns.fields.push((field.name.clone(), arrow_select::take::take(column(Some(&field.name))?, &rows, None)?));
        }
        if keep_meta {
            // Dynamic keys merge: the stored row's, then the request's over them. New
            // rows' null `$meta` becomes `{}` when the rows are assembled.
            let stored_meta = arrow_select::take::take(column(None)?, &rows, None)?;
            columns.dynamic = Some(match columns.dynamic.take() {
                Some(given) => merged_objects(&stored_meta, &given)?,
                None => stored_meta,
            });
        }
        Ok(columns)
    }

    /// Delete the rows matching `filter` (in `partition` only, when given). `pk in [...]`
    /// filters delete exactly the listed keys without a scan, as Milvus does.
    pub async fn delete(
        &self,
        collection: &Collection,
        partition: Option<PartitionId>,
        filter: &str,
        templates: &HashMap<String, TemplateValue>,
    ) -> Result<MutationOutcome> {
        if filter.trim().is_empty() {
            return Err(EngineError::InvalidParameter("delete requires a filter expression".to_string()));
        }
        let plan = Plan::compile(filter, &collection.schema, templates)?;
        let data = self.collection_data(collection.id);
        let _writer = data.writer.lock().await;
        let ts = self.ctx.next_ts().await?;
        let pks = match plan.primary_keys() {
            Some(Pks::Int(keys)) => PkColumn::Int(keys),
            Some(Pks::Str(keys)) => PkColumn::Str(keys),
            None => {
                // The scan runs off the runtime; the writer lock keeps writes out meanwhile,
                // so the rows it sees are exactly those visible at `ts`.
                let view = self.view(collection)?;
                let collection = collection.clone();
                tokio::task::spawn_blocking(move || read::matching_pks(&collection, &view, &plan, partition, ts.0))
                    .await
                    .map_err(|e| internal(format!("delete scan task failed: {e}")))??
            }
        };
        let count = pks.len();
        if count > 0 {
            let entry = WalEntry::Delete { collection: collection.id, partition, pks, ts: ts.0 };
            self.write(collection, &data, vec![entry]).await?;
        }
        Ok(MutationOutcome { ids: PkColumn::Int(Vec::new()), count, ts })
    }

    /// Append `entries` durably, then apply them. Call with the collection's writer lock.
    ///
    /// # Cancel safety
    /// Not cancel safe: a write cancelled after the WAL append would be durable but not
    /// applied until restart. The server runs writes in spawned tasks.
    async fn write(&self, collection: &Collection, data: &CollectionData, entries: Vec<WalEntry>) -> Result<()> {
        let partitions: Vec<PartitionId> = entries
            .iter()
            .filter_map(|e| match e {
                WalEntry::Insert { partition, .. } => Some(*partition),
                WalEntry::Delete { .. } => None,
            })
            .collect();
        self.ensure_growing(collection, &partitions).await?;
        let payloads = entries.iter().map(WalEntry::encode).collect::<Result<Vec<_>>>()?;
        let lsns = self.wal.append_all(payloads).await?;
        let mut state = data.write();
        for (entry, lsn) in entries.into_iter().zip(lsns) {
            self.apply(collection, &mut state, entry, lsn)?;
        }
        Ok(())
    }

    /// Apply one durable entry to memory. Growing segments for the entry's partition
    /// must exist (see `ensure_growing`).
    pub(super) fn apply(&self, collection: &Collection, state: &mut DataState, entry: WalEntry, lsn: Lsn) -> Result<()> {
        let pk_name = collection.schema.primary_field().name.clone();
        match entry {
            WalEntry::Insert { partition, batch, .. } => {
                let ts = batch_ts(&batch);
                for (shard, part) in routing::by_shard(collection, &pk_name, batch)? {
                    let segment = state
                        .segments
                        .values_mut()
                        .find(|s| s.is_growing() && s.partition == partition && s.shard == shard)
                        .ok_or_else(|| internal(format!("no growing segment for partition {partition} shard {shard}")))?;
                    Arc::make_mut(segment).append(part, ts);
                }
            }
            WalEntry::Delete { partition, pks, ts, .. } => {
                let delete = Delete { ts, partition };
                state.deletes.add(&pks, delete);
                state.pending_deletes.push((pks, delete));
            }
        }
        state.applied_lsn = state.applied_lsn.max(lsn.0);
        state.last_write_ms = Some(self.ctx.now_ms());
        Ok(())
    }

    /// Make sure every partition in `partitions` has growing segments (one per shard).
    pub(super) async fn ensure_growing(&self, collection: &Collection, partitions: &[PartitionId]) -> Result<()> {
        let data = self.collection_data(collection.id);
        let shards = collection.shards_num.max(1) as u32;
        let missing: Vec<(PartitionId, u32)> = {
            let state = data.read();
            partitions
                .iter()
                .flat_map(|p| (0..shards).map(move |s| (*p, s)))
                .filter(|(p, s)| !state.segments.values().any(|seg| seg.is_growing() && seg.partition == *p && seg.shard == *s))
                .collect()
        };
        for (partition, shard) in missing {
            let id = SegmentId(self.ctx.next_id().await?);
            data.write().segments.insert(id, Arc::new(Segment::growing(id, partition, shard)));
        }
        Ok(())
    }

    /// Seal a collection whose growing data is large or idle (called by the background
    /// sealer). Returns whether it flushed.
    pub async fn seal_due(&self, collection: &Collection) -> Result<bool> {
        let data = self.collection_data(collection.id);
        let due = {
            let state = data.read();
            let bytes: usize = state.segments.values().filter(|s| s.is_growing()).map(|s| s.bytes).sum();
            let unflushed = state.applied_lsn > state.flushed_lsn;
            let idle = state.last_write_ms.is_some_and(|t| self.ctx.now_ms().saturating_sub(t) >= self.config.seal_idle.as_millis() as u64);
            unflushed && state.unavailable.is_none() && (bytes >= self.config.seal_bytes || idle)
        };
        if due {
            self.flush(collection).await?;
        }
        Ok(due)
    }
}

fn batch_ts(batch: &arrow_array::RecordBatch) -> u64 {
    use arrow_array::cast::AsArray;
    batch
        .column_by_name(quiver_format::columns::TS_COLUMN)
        .map(|c| c.as_primitive::<arrow_array::types::UInt64Type>().values().iter().copied().max().unwrap_or(0))
        .unwrap_or(0)
}

/// Row by row, the JSON object of `base` with the keys of `over` set over it (a null row
/// counts as no keys).
fn merged_objects(base: &ArrayRef, over: &ArrayRef) -> Result<ArrayRef> {
    use arrow_array::cast::AsArray;
    let object = |array: &ArrayRef, row: usize| -> Result<serde_json::Map<String, serde_json::Value>> {
        if array.is_null(row) {
            return Ok(serde_json::Map::new());
        }
        match serde_json::from_str(array.as_string::<i32>().value(row)) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            _ => Err(EngineError::InvalidData(format!("the dynamic field of row {row} is not a JSON object"))),
        }
    };
    let merged = (0..over.len())
        .map(|row| {
            let mut keys = object(base, row)?;
            keys.extend(object(over, row)?);
            Ok(serde_json::Value::Object(keys).to_string())
        })
        .collect::<Result<Vec<String>>>()?;
    Ok(Arc::new(arrow_array::StringArray::from(merged)))
}
