//! An in-memory metadata store for tests. Same semantics as the durable backends.

use super::{MetaError, MetaStore, Op, Result, Txn};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct MemMetaStore {
    map: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemMetaStore {
    pub fn new() -> Self {
        Self::default()
    }
}

fn scan(map: &BTreeMap<String, Vec<u8>>, prefix: &str) -> Vec<(String, Vec<u8>)> {
    map.range(prefix.to_string()..)
        .take_while(|(key, _)| key.starts_with(prefix))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

#[async_trait]
impl MetaStore for MemMetaStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.map.lock().expect("meta map poisoned").get(key).cloned())
    }

    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(scan(&self.map.lock().expect("meta map poisoned"), prefix))
    }

    async fn scan_prefixes(&self, prefixes: &[&str]) -> Result<Vec<Vec<(String, Vec<u8>)>>> {
        let map = self.map.lock().expect("meta map poisoned");
        Ok(prefixes.iter().map(|prefix| scan(&map, prefix)).collect())
    }

    fn single_process(&self) -> bool {
        true
    }

    async fn commit(&self, txn: Txn) -> Result<()> {
        let mut map = self.map.lock().expect("meta map poisoned");
        for condition in &txn.conditions {
            if !condition.holds(map.get(condition.key()).map(Vec::as_slice)) {
                return Err(MetaError::ConditionFailed { key: condition.key().to_string() });
            }
        }
        for op in txn.ops {
            match op {
                Op::Put(key, value) => {
                    map.insert(key, value);
                }
                Op::Delete(key) => {
                    map.remove(&key);
                }
            }
        }
        Ok(())
    }
}
