use super::*;
use object_store::memory::InMemory;
use quiver_base::SystemClock;
use quiver_engine::EngineConfig;
use quiver_engine::security::{Change, Grant};
use quiver_storage::MemMetaStore;

/// Every RPC the server answers with a handler (`rpcs.txt`).
/// Every RPC served: MilvusService's (rpcs.txt) and Quiver's own service's (its proto).
fn served() -> Vec<String> {
    let milvus = include_str!("../../../proto/rpcs.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("message "))
        .map(str::to_string);
    let quiver = include_str!("../../../proto/extension/quiver.proto")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("rpc "))
        .map(|l| format!("quiver.{}", l.split('(').next().unwrap_or_default()));
    milvus.chain(quiver).collect()
}

pub(super) async fn access(dir: &std::path::Path) -> Access {
    let engine = Engine::open(
        Arc::new(MemMetaStore::new()),
        Arc::new(InMemory::new()),
        &dir.join("wal"),
        Arc::new(SystemClock),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    Access::new(Arc::new(engine), true, None)
}

fn headers(pairs: &[(&str, &[u8])]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (http::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_bytes(value)) {
            map.append(name, value);
        }
    }
    map
}

const ORIGIN: Origin = Origin { peer: None, rpc: "Test" };

fn token(credentials: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(credentials)
}

#[test]
fn every_served_rpc_has_a_privilege_table_entry() {
    let missing: Vec<_> = served().into_iter().filter(|rpc| rule_of(rpc).is_none()).collect();
    assert!(served().iter().any(|rpc| rpc == "quiver.MountSnapshot"), "Quiver's own service is covered too");
    assert!(missing.is_empty(), "served RPCs missing from the privilege table: {missing:?}");
    assert!(PRIVILEGES.windows(2).all(|w| w[0].0 < w[1].0), "subset.py writes PRIVILEGES sorted by name");
    assert!(EXTENSION_PRIVILEGES.windows(2).all(|w| w[0].0 < w[1].0), "EXTENSION_PRIVILEGES is sorted by name");
    // The snapshot privileges of Milvus's snapshot RBAC.
    let rule = |rpc: &str| rule_of(rpc).flatten();
    assert_eq!(rule("CreateSnapshot"), Some(Rule { object: ObjectKind::Collection, privilege: "CreateSnapshot" }));
    assert_eq!(rule("ListRestoreSnapshotJobs"), Some(Rule { object: ObjectKind::Collection, privilege: "RestoreSnapshot" }));
    assert_eq!(rule("PinSnapshotData"), Some(Rule { object: ObjectKind::Global, privilege: "PinSnapshotData" }));
    assert_eq!(rule("GetRestoreSnapshotState"), None);
}

#[tokio::test]
async fn tokens_are_checked_and_refusals_are_milvus_s() {
    let dir = tempfile::tempdir().unwrap();
    let access = access(dir.path()).await;
    let caller =
        access.grpc_caller(&headers(&[("authorization", token("root:Milvus").as_bytes()), ("dbname", b"db1")]), ORIGIN).await.unwrap();
    assert_eq!(caller, Caller { user: Some("root".into()), db: "db1".into(), peer: None });
    let message = |h: http::HeaderMap| {
        let access = &access;
        async move { access.grpc_caller(&h, ORIGIN).await.unwrap_err() }
    };
    let missing = message(headers(&[])).await;
    assert_eq!((missing.code(), missing.message()), (tonic::Code::Unauthenticated, "missing authorization in header"));
    let wrong = message(headers(&[("authorization", token("root:milvus").as_bytes())])).await;
    assert!(wrong.message().contains("auth check failure"), "{}", wrong.message());
    let unknown = message(headers(&[("authorization", token("nobody:Milvus").as_bytes())])).await;
    assert_eq!(unknown.message(), wrong.message(), "an unknown user is not told apart from a wrong password");
    let rest = access.rest_user(&headers(&[("authorization", b"Bearer root:Milvus")]), ORIGIN).await.unwrap();
    assert_eq!(rest.as_deref(), Some("root"));
}

#[tokio::test]
async fn the_check_follows_the_table_and_resolves_users() {
    let dir = tempfile::tempdir().unwrap();
    let access = access(dir.path()).await;
    let security = access.engine.security();
    security.create_user("ann", "secret1").await.unwrap();
    security.create_role("snap").await.unwrap();
    security.operate_user_role("ann", "snap", Change::Add).await.unwrap();
    let denied = access.check("ann", "default", "CreateSnapshot", &["c"]).unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    assert_eq!(denied.message(), "PrivilegeCreateSnapshot: permission deny to ann in the `default` database");
    let grant = Grant {
        object_type: "Collection".into(),
        object_name: "*".into(),
        db_name: "*".into(),
        privilege: "CreateSnapshot".into(),
        grantor: "root".into(),
    };
    security.operate_grant("snap", grant, Change::Add).await.unwrap();
    access.check("ann", "default", "CreateSnapshot", &["c"]).unwrap();
    access.check("ann", "default", "GetRestoreSnapshotState", &[]).unwrap();
    assert!(access.check("ann", "default", "PinSnapshotData", &[]).is_err());
    // A user may change their own password and describe themselves, nobody else's.
    access.check("ann", "default", "UpdateCredential", &["ann"]).unwrap();
    assert!(access.check("ann", "default", "UpdateCredential", &["root"]).is_err());
    assert!(access.check("ann", "default", "NoSuchRpc", &[]).is_err());
    access.check("root", "default", "DropCollection", &[]).unwrap();
}
