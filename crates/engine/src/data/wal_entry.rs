//! What the engine writes to the WAL, and its byte encoding.
//!
//! ```text
//! insert: 0x01 | collection i64 LE | partition i64 LE | Arrow IPC stream of one batch
//! delete: 0x02 | collection i64 LE | partition i64 LE (-1 = every partition) | ts u64 LE
//!              | pk kind u8 (1 = Int64, 2 = VarChar) | count u32 LE
//!              | count × (i64 LE)  or  count × (len u32 LE | UTF-8 bytes)
//! ```
//! Rows carry their own `$ts`, so replay order does not change what is visible.

use crate::error::{EngineError, Result};
use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use quiver_base::{CollectionId, PartitionId};
use quiver_format::logs::PkColumn;

#[derive(Clone, Debug)]
pub enum WalEntry {
    Insert { collection: CollectionId, partition: PartitionId, batch: RecordBatch },
    Delete { collection: CollectionId, partition: Option<PartitionId>, pks: PkColumn, ts: u64 },
}

impl WalEntry {
    pub fn collection(&self) -> CollectionId {
        match self {
            WalEntry::Insert { collection, .. } | WalEntry::Delete { collection, .. } => *collection,
        }
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        match self {
            WalEntry::Insert { collection, partition, batch } => {
                out.push(1);
                out.extend(collection.0.to_le_bytes());
                out.extend(partition.0.to_le_bytes());
                let mut writer = StreamWriter::try_new(&mut out, &batch.schema())?;
                writer.write(batch)?;
                writer.finish()?;
            }
            WalEntry::Delete { collection, partition, pks, ts } => {
                out.push(2);
                out.extend(collection.0.to_le_bytes());
                out.extend(partition.map_or(-1, |p| p.0).to_le_bytes());
                out.extend(ts.to_le_bytes());
                match pks {
                    PkColumn::Int(values) => {
                        out.push(1);
                        out.extend((values.len() as u32).to_le_bytes());
                        values.iter().for_each(|v| out.extend(v.to_le_bytes()));
                    }
                    PkColumn::Str(values) => {
                        out.push(2);
                        out.extend((values.len() as u32).to_le_bytes());
                        for v in values {
                            out.extend((v.len() as u32).to_le_bytes());
                            out.extend(v.as_bytes());
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    pub fn decode(bytes: &[u8]) -> Result<WalEntry> {
        let mut r = Reader { bytes, at: 0 };
        match r.u8()? {
            1 => {
                let collection = CollectionId(r.i64()?);
                let partition = PartitionId(r.i64()?);
                let mut reader = StreamReader::try_new(&r.bytes[r.at..], None)?;
                let batch = reader.next().ok_or_else(|| corrupt("insert entry without a batch"))??;
                Ok(WalEntry::Insert { collection, partition, batch })
            }
            2 => {
                let collection = CollectionId(r.i64()?);
                let partition = match r.i64()? {
                    -1 => None,
                    p => Some(PartitionId(p)),
                };
                let ts = r.u64()?;
                let kind = r.u8()?;
                let count = r.u32()? as usize;
                let pks = match kind {
                    1 => PkColumn::Int((0..count).map(|_| r.i64()).collect::<Result<_>>()?),
                    2 => PkColumn::Str(
                        (0..count)
                            .map(|_| {
                                let len = r.u32()? as usize;
                                let raw = r.take(len)?;
                                String::from_utf8(raw.to_vec()).map_err(|_| corrupt("delete pk is not UTF-8"))
                            })
                            .collect::<Result<_>>()?,
                    ),
                    other => return Err(corrupt(&format!("unknown pk kind {other}"))),
                };
                Ok(WalEntry::Delete { collection, partition, pks, ts })
            }
            other => Err(corrupt(&format!("unknown entry kind {other}"))),
        }
    }
}

fn corrupt(what: &str) -> EngineError {
    EngineError::CorruptMetadata { key: "wal".to_string(), reason: what.to_string() }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| corrupt("entry is truncated"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, UInt64Array};
    use arrow_schema::{DataType, Field, Schema};
    use std::sync::Arc;

    #[test]
    fn entries_round_trip() {
        let schema = Arc::new(Schema::new(vec![Field::new("pk", DataType::Int64, false), Field::new("$ts", DataType::UInt64, false)]));
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2])), Arc::new(UInt64Array::from(vec![9, 9]))]).unwrap();
        let insert = WalEntry::Insert { collection: CollectionId(3), partition: PartitionId(4), batch: batch.clone() };
        let WalEntry::Insert { batch: back, partition, .. } = WalEntry::decode(&insert.encode().unwrap()).unwrap() else { panic!() };
        assert_eq!((back, partition), (batch, PartitionId(4)));
        for pks in [PkColumn::Int(vec![5, -6]), PkColumn::Str(vec!["a".into(), "ü".into()])] {
            let delete = WalEntry::Delete { collection: CollectionId(3), partition: None, pks: pks.clone(), ts: 77 };
            let WalEntry::Delete { pks: back, ts, partition, .. } = WalEntry::decode(&delete.encode().unwrap()).unwrap() else { panic!() };
            assert_eq!((back, ts, partition), (pks, 77, None));
        }
        assert!(WalEntry::decode(&[2, 1]).is_err());
    }
}
