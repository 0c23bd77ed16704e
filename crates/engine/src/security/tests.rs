use super::*;
use object_store::memory::InMemory;
use quiver_base::SystemClock;
use quiver_storage::{MetaStore, RedbMetaStore};
use std::path::Path;

async fn open(path: &Path) -> Security {
    let store: Arc<dyn MetaStore> = Arc::new(RedbMetaStore::open(&path.join("meta.redb")).unwrap());
    let ctx = Context::open(store, Arc::new(InMemory::new()), Arc::new(SystemClock)).await.unwrap();
    Security::open(Arc::new(ctx)).await.unwrap()
}

fn grant(object_type: &str, object_name: &str, db: &str, privilege: &str) -> Grant {
    Grant {
        object_type: object_type.into(),
        object_name: object_name.into(),
        db_name: db.into(),
        privilege: privilege.into(),
        grantor: ROOT.into(),
    }
}

#[tokio::test]
async fn root_starts_with_milvus_s_password_stored_only_as_a_hash() {
    let dir = tempfile::tempdir().unwrap();
    let security = open(dir.path()).await;
    assert!(security.authenticate(ROOT, INITIAL_ROOT_PASSWORD).await);
    assert!(security.root_password_is_initial().await);
    assert!(!security.authenticate(ROOT, "milvus").await);
    assert!(!security.authenticate("nobody", INITIAL_ROOT_PASSWORD).await);
    let stored = security.read().users[ROOT].record.password_hash.clone();
    assert!(stored.starts_with("$argon2id$") && !stored.contains(INITIAL_ROOT_PASSWORD), "{stored}");
}

#[tokio::test]
async fn users_roles_and_grants_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let security = open(dir.path()).await;
        security.create_user("alice", "secret1").await.unwrap();
        assert!(matches!(security.create_user("alice", "secret1").await, Err(EngineError::UserAlreadyExists { .. })));
        security.create_role("reader").await.unwrap();
        security.operate_user_role("alice", "reader", Change::Add).await.unwrap();
        security.operate_grant("reader", grant("Collection", "c1", "default", "Search"), Change::Add).await.unwrap();
        security.update_password(ROOT, INITIAL_ROOT_PASSWORD, "changed1").await.unwrap();
    }
    let security = open(dir.path()).await;
    assert!(!security.root_password_is_initial().await);
    assert!(security.authenticate("alice", "secret1").await);
    assert!(security.allows("alice", "default", &["c1"], "Search"));
    assert!(!security.allows("alice", "default", &["c2"], "Search"));
    assert!(!security.allows("alice", "other", &["c1"], "Search"));
    assert!(!security.allows("alice", "default", &["c1"], "Insert"));
    assert_eq!(security.role_users("reader"), vec!["alice".to_string()]);
}

#[tokio::test]
async fn the_old_password_must_match_and_changes_forget_the_remembered_one() {
    let dir = tempfile::tempdir().unwrap();
    let security = open(dir.path()).await;
    security.create_user("bob", "first11").await.unwrap();
    assert!(security.authenticate("bob", "first11").await);
    assert!(matches!(security.update_password("bob", "wrong11", "second2").await, Err(EngineError::OldPasswordIncorrect { .. })));
    security.update_password("bob", "first11", "second2").await.unwrap();
    assert!(!security.authenticate("bob", "first11").await);
    assert!(security.authenticate("bob", "second2").await);
    security.delete_user("bob").await.unwrap();
    assert!(!security.authenticate("bob", "second2").await);
    security.delete_user("bob").await.unwrap();
}

#[tokio::test]
async fn groups_admin_and_dropped_roles() {
    let dir = tempfile::tempdir().unwrap();
    let security = open(dir.path()).await;
    security.create_user("carol", "secret1").await.unwrap();
    security.create_role("ops").await.unwrap();
    security.operate_user_role("carol", "ops", Change::Add).await.unwrap();
    security.operate_grant("ops", grant("Collection", "*", "*", "CollectionReadOnly"), Change::Add).await.unwrap();
    assert!(security.allows("carol", "db1", &["any"], "ListSnapshots"));
    assert!(!security.allows("carol", "db1", &["any"], "CreateSnapshot"));
    security.create_group("writers").await.unwrap();
    security.operate_group("writers", &["Insert".to_string()], Change::Add).await.unwrap();
    security.operate_grant("ops", grant("Collection", "c", "default", "writers"), Change::Add).await.unwrap();
    assert!(security.allows("carol", "default", &["c"], "Insert"));
    assert!(matches!(
        security.operate_grant("ops", grant("Global", "*", "*", "Fly"), Change::Add).await,
        Err(EngineError::PrivilegeNotFound { .. })
    ));
    assert!(matches!(security.drop_role(ADMIN_ROLE).await, Err(EngineError::BuiltinRole { .. })));
    security.drop_role("ops").await.unwrap();
    assert_eq!(security.user_roles("carol"), Some(vec![]));
    assert!(!security.allows("carol", "default", &["c"], "Insert"));
    security.operate_user_role("carol", ADMIN_ROLE, Change::Add).await.unwrap();
    assert!(security.allows("carol", "default", &["c"], "DropSnapshot"));
}
