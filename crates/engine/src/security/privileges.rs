//! Milvus's privilege vocabulary: which privileges exist on which kind of object, the
//! built-in privilege groups, and whether a granted privilege covers a wanted one.
//!
//! The names are Milvus's user-facing ones (`Load`, not `PrivilegeLoad`). The lists follow
//! Milvus's `ObjectPrivileges` and its built-in groups (`paramtable/rbac_param.go`), with
//! the snapshot privileges of Milvus's snapshot RBAC (Create/Drop/Describe/List/Restore on
//! the collection, Pin/Unpin global).

/// What "every privilege" is called in a grant.
pub const ALL: &str = "All";

/// Privileges granted on a collection.
pub const COLLECTION: &[&str] = &[
    "Load",
    "Release",
    "Compaction",
    "Insert",
    "Delete",
    "Upsert",
    "GetStatistics",
    "CreateIndex",
    "IndexDetail",
    "DropIndex",
    "Search",
    "Flush",
    "Query",
    "LoadBalance",
    "Import",
    "GetLoadingProgress",
    "GetLoadState",
    "CreatePartition",
    "DropPartition",
    "ShowPartitions",
    "HasPartition",
    "GetFlushState",
    "AddCollectionField",
    "AlterCollectionSchema",
    "CreateSnapshot",
    "DropSnapshot",
    "DescribeSnapshot",
    "ListSnapshots",
    "RestoreSnapshot",
];

/// Privileges granted on the whole instance (object name `*`).
pub const GLOBAL: &[&str] = &[
    ALL,
    "CreateCollection",
    "DropCollection",
    "DescribeCollection",
    "ShowCollections",
    "RenameCollection",
    "CreateOwnership",
    "DropOwnership",
    "SelectOwnership",
    "ManageOwnership",
    "BackupRBAC",
    "RestoreRBAC",
    "CreateResourceGroup",
    "UpdateResourceGroups",
    "DropResourceGroup",
    "DescribeResourceGroup",
    "ListResourceGroups",
    "TransferReplica",
    "TransferNode",
    "FlushAll",
    "CreateDatabase",
    "DropDatabase",
    "ListDatabases",
    "AlterDatabase",
    "DescribeDatabase",
    "CreateAlias",
    "DropAlias",
    "DescribeAlias",
    "ListAliases",
    "CreatePrivilegeGroup",
    "DropPrivilegeGroup",
    "ListPrivilegeGroups",
    "OperatePrivilegeGroup",
    "PinSnapshotData",
    "UnpinSnapshotData",
];

/// Privileges granted on a user.
pub const USER: &[&str] = &["UpdateUser", "SelectUser"];

const COLLECTION_READ_ONLY: &[&str] = &[
    "Query",
    "Search",
    "IndexDetail",
    "GetFlushState",
    "GetLoadState",
    "GetLoadingProgress",
    "HasPartition",
    "ShowPartitions",
    "DescribeCollection",
    "DescribeAlias",
    "GetStatistics",
    "ListAliases",
    "DescribeSnapshot",
    "ListSnapshots",
];
const COLLECTION_READ_WRITE: &[&str] = &[
    "Load",
    "Release",
    "Insert",
    "Delete",
    "Upsert",
    "Import",
    "Flush",
    "Compaction",
    "LoadBalance",
    "CreateIndex",
    "DropIndex",
    "CreatePartition",
    "DropPartition",
    "CreateSnapshot",
    "DropSnapshot",
];
const COLLECTION_ADMIN: &[&str] = &["CreateAlias", "DropAlias", "RestoreSnapshot"];
const DATABASE_READ_ONLY: &[&str] = &["ShowCollections", "DescribeDatabase"];
const DATABASE_READ_WRITE: &[&str] = &["AlterDatabase"];
const DATABASE_ADMIN: &[&str] = &["CreateCollection", "DropCollection"];
const CLUSTER_READ_ONLY: &[&str] =
    &["ListDatabases", "SelectOwnership", "SelectUser", "DescribeResourceGroup", "ListResourceGroups", "ListPrivilegeGroups"];
const CLUSTER_READ_WRITE: &[&str] =
    &["FlushAll", "TransferNode", "TransferReplica", "UpdateResourceGroups", "PinSnapshotData", "UnpinSnapshotData"];
const CLUSTER_ADMIN: &[&str] = &[
    "BackupRBAC",
    "RestoreRBAC",
    "CreateDatabase",
    "DropDatabase",
    "CreateOwnership",
    "DropOwnership",
    "ManageOwnership",
    "CreateResourceGroup",
    "DropResourceGroup",
    "UpdateUser",
    "RenameCollection",
    "CreatePrivilegeGroup",
    "DropPrivilegeGroup",
    "OperatePrivilegeGroup",
];

/// Milvus's built-in privilege groups, each with the groups below it at the same level
/// (ReadWrite includes ReadOnly, Admin includes ReadWrite).
const BUILTIN_GROUPS: &[(&str, &[&[&str]])] = &[
    ("ClusterReadOnly", &[CLUSTER_READ_ONLY]),
    ("ClusterReadWrite", &[CLUSTER_READ_ONLY, CLUSTER_READ_WRITE]),
    ("ClusterAdmin", &[CLUSTER_READ_ONLY, CLUSTER_READ_WRITE, CLUSTER_ADMIN]),
    ("DatabaseReadOnly", &[DATABASE_READ_ONLY]),
    ("DatabaseReadWrite", &[DATABASE_READ_ONLY, DATABASE_READ_WRITE]),
    ("DatabaseAdmin", &[DATABASE_READ_ONLY, DATABASE_READ_WRITE, DATABASE_ADMIN]),
    ("CollectionReadOnly", &[COLLECTION_READ_ONLY]),
    ("CollectionReadWrite", &[COLLECTION_READ_ONLY, COLLECTION_READ_WRITE]),
    ("CollectionAdmin", &[COLLECTION_READ_ONLY, COLLECTION_READ_WRITE, COLLECTION_ADMIN]),
];

/// Privileges a granted one brings along (Milvus's `RelatedPrivileges`).
const RELATED: &[(&str, &[&str])] = &[("Load", &["GetLoadState", "GetLoadingProgress"]), ("Flush", &["GetFlushState"])];

/// The privileges of a built-in group, if `name` is one.
pub fn builtin_group(name: &str) -> Option<Vec<&'static str>> {
    BUILTIN_GROUPS.iter().find(|(group, _)| *group == name).map(|(_, parts)| parts.iter().flat_map(|p| p.iter().copied()).collect())
}

/// Every built-in group with its privileges, in Milvus's order.
pub fn builtin_groups() -> Vec<(&'static str, Vec<&'static str>)> {
    BUILTIN_GROUPS.iter().map(|(name, _)| (*name, builtin_group(name).unwrap_or_default())).collect()
}

/// Whether `name` is a privilege of any object kind (not a group).
pub fn is_privilege(name: &str) -> bool {
    COLLECTION.contains(&name) || GLOBAL.contains(&name) || USER.contains(&name)
}

/// The object kind a privilege (or a built-in group) is granted on, by its name.
pub fn object_type_of(name: &str) -> &'static str {
    if COLLECTION.contains(&name) || name.starts_with("Collection") {
        "Collection"
    } else if USER.contains(&name) {
        "User"
    } else {
        "Global"
    }
}

/// Whether `granted` (a privilege, `All`/`*`, or a group whose members `custom` gives)
/// covers `wanted`.
pub fn covers(granted: &str, wanted: &str, custom: &dyn Fn(&str) -> Option<Vec<String>>) -> bool {
    if granted == wanted || granted == ALL || granted == "*" {
        return true;
    }
    if RELATED.iter().any(|(base, related)| *base == granted && related.contains(&wanted)) {
        return true;
    }
    if let Some(members) = builtin_group(granted) {
        return members.iter().any(|m| *m == wanted || covers(m, wanted, &|_| None));
    }
    custom(granted).is_some_and(|members| members.iter().any(|m| m == wanted || covers(m, wanted, &|_| None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_nest_and_carry_the_snapshot_privileges() {
        let none = &|_: &str| None;
        assert!(covers("CollectionReadOnly", "ListSnapshots", none));
        assert!(!covers("CollectionReadOnly", "CreateSnapshot", none));
        assert!(covers("CollectionReadWrite", "CreateSnapshot", none));
        assert!(!covers("CollectionReadWrite", "RestoreSnapshot", none));
        assert!(covers("CollectionAdmin", "RestoreSnapshot", none));
        assert!(covers("ClusterReadWrite", "PinSnapshotData", none));
        assert!(!covers("ClusterReadOnly", "UnpinSnapshotData", none));
        assert!(covers("Load", "GetLoadState", none));
        assert!(covers("All", "Search", none));
        assert!(covers("mine", "Insert", &|g| (g == "mine").then(|| vec!["Insert".to_string()])));
        assert!(!covers("mine", "Delete", &|g| (g == "mine").then(|| vec!["Insert".to_string()])));
    }

    #[test]
    fn every_group_member_is_a_privilege() {
        for (group, members) in builtin_groups() {
            for member in members {
                assert!(is_privilege(member), "{group}: {member}");
            }
        }
    }
}
