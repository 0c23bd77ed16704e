//! Quiver's own RPCs (`quiver.v1.QuiverService`) in the authorization table. Each needs
//! the privilege of the Milvus call it extends, so a role granted for snapshots in
//! Milvus's terms gets the same rights here. Names carry the `quiver.` prefix so they
//! never meet a MilvusService RPC of the same name.

use crate::quiver::{
    DescribeRestoreJobRequest, GetSnapshotUsageRequest, MountSnapshotRequest, RestoreSnapshotRequest, RollbackCollectionRequest,
    UnmountSnapshotRequest,
};
use crate::{Guarded, ObjectKind, Rule};

/// The privilege rule of every RPC of Quiver's service, sorted by name.
pub const EXTENSION_PRIVILEGES: &[(&str, Option<Rule>)] = &[
    // As GetRestoreSnapshotState: a job id is the capability.
    ("quiver.DescribeRestoreJob", None),
    // Sizes of a collection's snapshots: what DescribeSnapshot shows, with bytes.
    ("quiver.GetSnapshotUsage", Some(Rule { object: ObjectKind::Collection, privilege: "DescribeSnapshot" })),
    // A mount is a restore of the snapshot that stays read-only.
    ("quiver.MountSnapshot", Some(Rule { object: ObjectKind::Collection, privilege: "RestoreSnapshot" })),
    ("quiver.RestoreSnapshot", Some(Rule { object: ObjectKind::Collection, privilege: "RestoreSnapshot" })),
    // A rollback restores a snapshot in place; what it replaces is kept as a snapshot.
    ("quiver.RollbackCollection", Some(Rule { object: ObjectKind::Collection, privilege: "RestoreSnapshot" })),
    // Unmounting drops the mount's collection.
    ("quiver.UnmountSnapshot", Some(Rule { object: ObjectKind::Global, privilege: "DropCollection" })),
];

impl Guarded for RestoreSnapshotRequest {
    const RPC: &'static str = "quiver.RestoreSnapshot";

    fn db_name(&self) -> &str {
        &self.db_name
    }

    fn object_names(&self) -> Vec<&str> {
        vec![self.collection_name.as_str()]
    }
}

impl Guarded for DescribeRestoreJobRequest {
    const RPC: &'static str = "quiver.DescribeRestoreJob";

    fn db_name(&self) -> &str {
        ""
    }

    fn object_names(&self) -> Vec<&str> {
        Vec::new()
    }
}

impl Guarded for MountSnapshotRequest {
    const RPC: &'static str = "quiver.MountSnapshot";

    fn db_name(&self) -> &str {
        &self.db_name
    }

    fn object_names(&self) -> Vec<&str> {
        vec![self.collection_name.as_str()]
    }
}

impl Guarded for UnmountSnapshotRequest {
    const RPC: &'static str = "quiver.UnmountSnapshot";

    fn db_name(&self) -> &str {
        &self.db_name
    }

    fn object_names(&self) -> Vec<&str> {
        Vec::new()
    }
}

impl Guarded for RollbackCollectionRequest {
    const RPC: &'static str = "quiver.RollbackCollection";

    fn db_name(&self) -> &str {
        &self.db_name
    }

    fn object_names(&self) -> Vec<&str> {
        vec![self.collection_name.as_str()]
    }
}

impl Guarded for GetSnapshotUsageRequest {
    const RPC: &'static str = "quiver.GetSnapshotUsage";

    fn db_name(&self) -> &str {
        &self.db_name
    }

    fn object_names(&self) -> Vec<&str> {
        vec![self.collection_name.as_str()]
    }
}
