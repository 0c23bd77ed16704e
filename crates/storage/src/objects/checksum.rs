//! Size and CRC-32C of a stored object, computed as it streams by: verifying a copy never
//! holds the whole object in memory (a restore verifies files of tens of MB each, and
//! a fresh buffer of that size costs more in page faults than the read itself).

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{GetResultPayload, ObjectStore, ObjectStoreExt, Result};
use std::io::{Read, Seek, SeekFrom};

/// Bytes read per call from a local file: small enough to stay in the CPU cache while
/// its checksum is computed.
const LOCAL_READ_BYTES: usize = 256 * 1024;

/// The size and CRC-32C of the object at `location`.
pub async fn checksum(store: &dyn ObjectStore, location: &Path) -> Result<(u64, u32)> {
    let got = store.get(location).await?;
    let range = got.range.clone();
    match got.payload {
        // A local file: one blocking task and one buffer, instead of a stream of small chunks.
        GetResultPayload::File(mut file, path) => {
            let read = move || -> std::io::Result<(u64, u32)> {
                file.seek(SeekFrom::Start(range.start))?;
                let mut file = file.take(range.end - range.start);
                let (mut size, mut crc) = (0u64, 0u32);
                let mut buffer = vec![0u8; LOCAL_READ_BYTES];
                loop {
                    match file.read(&mut buffer)? {
                        0 => return Ok((size, crc)),
                        n => {
                            size += n as u64;
                            crc = crc32c::crc32c_append(crc, &buffer[..n]);
                        }
                    }
                }
            };
            let error =
                |source: Box<dyn std::error::Error + Send + Sync>| object_store::Error::Generic { store: "LocalFileSystem", source };
            tokio::task::spawn_blocking(read)
                .await
                .map_err(|e| error(Box::new(e)))?
                .map_err(|e| error(format!("cannot read {}: {e}", path.display()).into()))
        }
        GetResultPayload::Stream(stream) => {
            stream
                .try_fold(
                    (0u64, 0u32),
                    |(size, crc), chunk| async move { Ok((size + chunk.len() as u64, crc32c::crc32c_append(crc, &chunk))) },
                )
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use std::sync::Arc;

    #[tokio::test]
    async fn checksum_matches_the_whole_object_on_each_backend() {
        let dir = tempfile::tempdir().unwrap();
        let local = super::super::build(&super::super::ObjectStoreConfig::Local { root: dir.path().to_path_buf() }).unwrap();
        let memory: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        // Larger than one local read, and not a multiple of it.
        let bytes: Vec<u8> = (0..LOCAL_READ_BYTES * 3 + 17).map(|i| (i * 31 % 251) as u8).collect();
        for store in [local, memory] {
            let key = Path::from("insert_log/1/2/3/4.parquet");
            store.put(&key, bytes.clone().into()).await.unwrap();
            assert_eq!(checksum(&*store, &key).await.unwrap(), (bytes.len() as u64, crc32c::crc32c(&bytes)), "{store}");
            assert!(matches!(checksum(&*store, &Path::from("missing")).await, Err(object_store::Error::NotFound { .. })), "{store}");
        }
    }
}
