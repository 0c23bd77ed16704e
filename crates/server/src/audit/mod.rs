//! The audit log: an append-only record of security-relevant actions, who took them and
//! how they ended.
//!
//! # What is recorded
//!
//! Every call of an [`Audited`] RPC (snapshots created, dropped, restored, pinned and
//! unpinned; collections and databases created and dropped; users, roles, grants and
//! privilege groups changed), whether it succeeded, failed, or was refused by the
//! privilege check; and every failed login (action `Login`). A [`Record`] holds the time,
//! the user (absent with authorization off), the peer address, the action (the RPC's
//! name), the database, the object (`collection/snapshot`, a user, a role, ...) and the
//! result (`ok`, or the Milvus code and reason). Passwords are never written.
//!
//! # Where and how
//!
//! JSON lines in `<data-dir>/audit/audit-YYYYMMDD.jsonl`, one file per UTC day, opened
//! `O_APPEND` with mode 0600. Files, not metadata records: the log must stay readable
//! with the server down (`quiver audit`) and by ordinary tools (`jq`, `grep`), and it
//! must not be rewritten by catalog transactions or removed with a collection.
//!
//! Each record is one `write` of one line followed by `fdatasync`, before the call
//! answers: an action the client saw succeed is on disk in the log, as the catalog change
//! it records is. The cost is one fsync per audited call; audited calls are DDL, which
//! commit (and fsync) the catalog themselves, and each failed login has already paid for
//! an argon2 hash. A crash between an action's commit and its record loses that record.
//! A record that cannot be written is logged as an error; the call's answer is not
//! changed (the action has happened).

pub mod read;

use crate::access::Caller;
use quiver_base::Clock;
use quiver_proto::Guarded;
use quiver_proto::milvus::*;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The directory under the data directory.
pub const DIRECTORY: &str = "audit";

/// The action of a failed login.
pub const LOGIN: &str = "Login";

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// `2026-12-03T20:01:02.345Z`.
    pub time: String,
    /// Milliseconds since the Unix epoch (what `--since` compares).
    pub time_ms: u64,
    /// The user; for a failed login, the name that was tried.
    pub user: Option<String>,
    /// The client's address.
    pub peer: Option<String>,
    /// The RPC (`DropSnapshot`), or `Login`.
    pub action: String,
    pub db: String,
    /// What the action was on: `collection/snapshot`, a user, a role, ...; for a failed
    /// login, the RPC that was called.
    pub object: String,
    /// `ok` or `error`.
    pub result: String,
    /// Milvus's code: 0 when ok.
    pub code: i32,
    /// Why it failed; empty when ok.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// An RPC whose calls are audited, and how its request names its object.
pub trait Audited: Guarded {
    fn object(&self) -> String;
}

macro_rules! audited {
    ($($request:ty => |$r:ident| $object:expr),* $(,)?) => {$(
        impl Audited for $request {
            fn object(&self) -> String {
                let $r = self;
                $object
            }
        }
    )*};
}

audited!(
    CreateSnapshotRequest => |r| format!("{}/{}", r.collection_name, r.name),
    DropSnapshotRequest => |r| format!("{}/{}", r.collection_name, r.name),
    RestoreSnapshotRequest => |r| format!("{}/{} -> {}.{}", r.collection_name, r.name, r.target_db_name, r.target_collection_name),
    PinSnapshotDataRequest => |r| format!("{}/{}", r.collection_name, r.name),
    UnpinSnapshotDataRequest => |r| format!("pin {}", r.pin_id),
    CreateCollectionRequest => |r| r.collection_name.clone(),
    DropCollectionRequest => |r| r.collection_name.clone(),
    CreateDatabaseRequest => |r| r.db_name.clone(),
    DropDatabaseRequest => |r| r.db_name.clone(),
    CreateCredentialRequest => |r| r.username.clone(),
    UpdateCredentialRequest => |r| r.username.clone(),
    DeleteCredentialRequest => |r| r.username.clone(),
    CreateRoleRequest => |r| r.entity.as_ref().map(|e| e.name.clone()).unwrap_or_default(),
    DropRoleRequest => |r| r.role_name.clone(),
    OperateUserRoleRequest => |r| format!("{}: {} role {}", r.username, if r.r#type == 0 { "add" } else { "remove" }, r.role_name),
    OperatePrivilegeRequest => |r| {
        let entity = r.entity.clone().unwrap_or_default();
        let privilege = entity.grantor.and_then(|g| g.privilege).map(|p| p.name).unwrap_or_default();
        let kind = entity.object.map(|o| o.name).unwrap_or_default();
        let role = entity.role.map(|role| role.name).unwrap_or_default();
        format!("{} {privilege} on {kind} {}, role {role}", grant_words(r.r#type), entity.object_name)
    },
    OperatePrivilegeV2Request => |r| {
        let privilege = r.grantor.as_ref().and_then(|g| g.privilege.as_ref()).map(|p| p.name.as_str()).unwrap_or_default();
        let role = r.role.as_ref().map(|role| role.name.as_str()).unwrap_or_default();
        format!("{} {privilege} on {}, role {role}", grant_words(r.r#type), r.collection_name)
    },
    CreatePrivilegeGroupRequest => |r| r.group_name.clone(),
    DropPrivilegeGroupRequest => |r| r.group_name.clone(),
    OperatePrivilegeGroupRequest => |r| {
        let privileges: Vec<&str> = r.privileges.iter().map(|p| p.name.as_str()).collect();
        format!("{}: {} {}", r.group_name, if r.r#type == 0 { "add" } else { "remove" }, privileges.join(","))
    },
);

/// The verb of an OperatePrivilegeType (0 grant, 1 revoke).
fn grant_words(kind: i32) -> &'static str {
    if kind == 0 { "grant" } else { "revoke" }
}

/// How a call ended: Milvus's code (0: ok) and reason.
pub struct Outcome {
    pub code: i32,
    pub reason: String,
}

/// The log's writer. Records from concurrent calls are serialised by one lock, so each
/// line is whole and the file only grows.
pub struct AuditLog {
    directory: PathBuf,
    clock: Arc<dyn Clock>,
    /// The open file of the day the last record was written on.
    file: Mutex<Option<(String, File)>>,
}

impl AuditLog {
    /// The log under `data_dir` (the directory is made now, so a bad data directory
    /// fails at startup, not at the first action).
    pub fn open(data_dir: &Path, clock: Arc<dyn Clock>) -> Result<AuditLog, String> {
        let directory = data_dir.join(DIRECTORY);
        std::fs::create_dir_all(&directory).map_err(|e| format!("cannot create the audit directory {}: {e}", directory.display()))?;
        Ok(AuditLog { directory, clock, file: Mutex::new(None) })
    }

    /// Record `action` on `object` by `caller`, ended with `outcome`.
    pub async fn record(self: &Arc<Self>, caller: Option<&Caller>, action: &str, db: &str, object: String, outcome: Outcome) {
        let time_ms = self.clock.now_ms();
        let record = Record {
            time: rfc3339_ms(time_ms),
            time_ms,
            user: caller.and_then(|c| c.user.clone()),
            peer: caller.and_then(|c| c.peer).map(|p| p.to_string()),
            action: action.to_string(),
            db: db.to_string(),
            object,
            result: if outcome.code == 0 { "ok" } else { "error" }.to_string(),
            code: outcome.code,
            reason: outcome.reason,
        };
        self.write(record).await;
    }

    /// Record a failed login of `user` (as tried) from `peer`, calling `rpc`.
    pub async fn failed_login(self: &Arc<Self>, user: Option<&str>, peer: Option<SocketAddr>, rpc: &str, outcome: Outcome) {
        let caller = Caller { user: user.map(str::to_string), db: String::new(), peer };
        self.record(Some(&caller), LOGIN, "", rpc.to_string(), outcome).await;
    }

    async fn write(self: &Arc<Self>, record: Record) {
        let log = Arc::clone(self);
        // File I/O and fsync block: off the async workers.
        let written = tokio::task::spawn_blocking(move || log.append(&record)).await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, directory = %self.directory.display(), "cannot write an audit record"),
            Err(error) => tracing::error!(%error, "the audit writer failed"),
        }
    }

    fn append(&self, record: &Record) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let day = file_name(record.time_ms);
        let mut open = self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if open.as_ref().is_none_or(|(name, _)| *name != day) {
            let file = OpenOptions::new().create(true).append(true).mode(0o600).open(self.directory.join(&day))?;
            *open = Some((day, file));
        }
        let (_, file) = open.as_mut().expect("opened above");
        file.write_all(&line)?;
        file.sync_data()
    }
}

/// `audit-20261203.jsonl`: the file of the UTC day of `ms`.
pub fn file_name(ms: u64) -> String {
    let (year, month, day) = crate::text::civil_from_days((ms / 86_400_000) as i64);
    format!("audit-{year:04}{month:02}{day:02}.jsonl")
}

/// `2026-12-03T20:01:02.345Z`.
fn rfc3339_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let rem = secs % 86_400;
    let (year, month, day) = crate::text::civil_from_days((secs / 86_400) as i64);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, (rem / 60) % 60, rem % 60, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    struct FixedClock(AtomicU64);

    impl Clock for FixedClock {
        fn now_ms(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    #[tokio::test]
    async fn records_append_to_the_file_of_their_day() {
        let dir = tempfile::tempdir().unwrap();
        // 2026-12-03T23:59:59.999Z, then one millisecond later: the next day's file.
        let clock = Arc::new(FixedClock(AtomicU64::new(1_796_342_399_999)));
        let log = Arc::new(AuditLog::open(dir.path(), clock.clone()).unwrap());
        let alice = Caller { user: Some("alice".into()), db: "default".into(), peer: Some("127.0.0.1:5000".parse().unwrap()) };
        log.record(Some(&alice), "DropSnapshot", "default", "c/s1".into(), Outcome { code: 0, reason: String::new() }).await;
        clock.0.store(1_796_342_400_000, Ordering::SeqCst);
        log.failed_login(Some("mallory"), None, "ListCollections", Outcome { code: 1800, reason: "auth check failure".into() }).await;
        let day1 = std::fs::read_to_string(dir.path().join("audit/audit-20261203.jsonl")).unwrap();
        let day2 = std::fs::read_to_string(dir.path().join("audit/audit-20261204.jsonl")).unwrap();
        let first: Record = serde_json::from_str(day1.trim()).unwrap();
        assert_eq!(first.time, "2026-12-03T23:59:59.999Z");
        assert_eq!((first.user.as_deref(), first.peer.as_deref()), (Some("alice"), Some("127.0.0.1:5000")));
        assert_eq!((first.action.as_str(), first.object.as_str(), first.result.as_str()), ("DropSnapshot", "c/s1", "ok"));
        let second: Record = serde_json::from_str(day2.trim()).unwrap();
        assert_eq!((second.action.as_str(), second.code, second.result.as_str()), (LOGIN, 1800, "error"));
        // A reopened log appends; it never truncates.
        let reopened = Arc::new(AuditLog::open(dir.path(), clock).unwrap());
        reopened.failed_login(None, None, "Connect", Outcome { code: 1800, reason: String::new() }).await;
        assert_eq!(std::fs::read_to_string(dir.path().join("audit/audit-20261204.jsonl")).unwrap().lines().count(), 2);
    }
}
