use super::*;
use object_store::memory::InMemory;
use quiver_base::SystemClock;
use quiver_engine::EngineConfig;
use quiver_engine::security::{Change, Grant};
use quiver_storage::MemMetaStore;
use quiver_testkit::{TestRng, seed};

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

async fn access(dir: &std::path::Path) -> Access {
    let engine = Engine::open(
        Arc::new(MemMetaStore::new()),
        Arc::new(InMemory::new()),
        &dir.join("wal"),
        Arc::new(SystemClock),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    Access::new(Arc::new(engine), true)
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
    let caller = access.grpc_caller(&headers(&[("authorization", token("root:Milvus").as_bytes()), ("dbname", b"db1")])).await.unwrap();
    assert_eq!(caller, Caller { user: Some("root".into()), db: "db1".into() });
    let message = |h: http::HeaderMap| {
        let access = &access;
        async move { access.grpc_caller(&h).await.unwrap_err() }
    };
    let missing = message(headers(&[])).await;
    assert_eq!((missing.code(), missing.message()), (tonic::Code::Unauthenticated, "missing authorization in header"));
    let wrong = message(headers(&[("authorization", token("root:milvus").as_bytes())])).await;
    assert!(wrong.message().contains("auth check failure"), "{}", wrong.message());
    let unknown = message(headers(&[("authorization", token("nobody:Milvus").as_bytes())])).await;
    assert_eq!(unknown.message(), wrong.message(), "an unknown user is not told apart from a wrong password");
    let rest = access.rest_user(&headers(&[("authorization", b"Bearer root:Milvus")])).await.unwrap();
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

/// Random tokens, headers and RPC names through the parse and check path: never a panic,
/// always a clean refusal (nothing random authenticates, no random RPC is allowed).
#[tokio::test]
async fn random_tokens_and_rpcs_are_refused_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let access = access(dir.path()).await;
    access.engine.security().create_user("eve", "secret1").await.unwrap();
    let mut rng = TestRng::new(seed("random_tokens_and_rpcs_are_refused_cleanly", 14));
    let rpcs: Vec<&str> = PRIVILEGES.iter().map(|(name, _)| *name).collect();
    let pieces: [&[u8]; 12] = [b"root", b":", b"Milvus", b"eve", b"secret1", b"Bearer ", b"=", b"\xff\xfe", b"%00", b"::", b"\n", b"YWJj"];
    for _ in 0..300 {
        let mut raw = Vec::new();
        for _ in 0..rng.below(6) {
            raw.extend_from_slice(pieces[rng.index(pieces.len())]);
        }
        for _ in 0..rng.below(4) {
            raw.push(rng.below(256) as u8);
        }
        let encoded = if rng.chance(0.5) { token(&String::from_utf8_lossy(&raw)).into_bytes() } else { raw.clone() };
        let name = *rng.pick(&["authorization", "dbname", "Authorization", "x-other"]);
        let result = access.grpc_caller(&headers(&[(name, &encoded)])).await;
        if let Ok(caller) = &result {
            // Only an exact `user:password` of an existing user gets through.
            let text = String::from_utf8_lossy(&raw);
            assert!(text == "root:Milvus" || text == "eve:secret1", "{text:?} authenticated as {caller:?}");
        } else {
            let code = result.unwrap_err().code();
            assert_eq!(code, tonic::Code::Unauthenticated);
        }
        let mut rpc = rng.pick(&rpcs).to_string();
        if rng.chance(0.3) {
            rpc.push(rng.below(128) as u8 as char);
        }
        let object = String::from_utf8_lossy(&raw).into_owned();
        if let Err(refusal) = access.check("eve", &object, &rpc, &[object.as_str()]) {
            assert_eq!(refusal.code(), tonic::Code::PermissionDenied);
        } else {
            assert_eq!(rule_of(&rpc), Some(None), "{rpc} allowed to a user with no grants");
        }
    }
}
