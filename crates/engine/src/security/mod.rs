//! Users, roles, grants and privilege groups: who may call what (Milvus's RBAC).
//!
//! Terms: a *user* has a password (stored only as a salted Argon2id hash, PHC string) and
//! roles; a *role* holds *grants* (a privilege or privilege group on an object of a
//! database); a *privilege group* names a set of privileges. `root` bypasses every check
//! and the built-in `admin` role has every privilege; every user also has `public`.
//!
//! | key | value |
//! | --- | --- |
//! | `security/user/<name>` | [`UserRecord`]: password hash, roles |
//! | `security/role/<name>` | [`RoleRecord`]: its grants (built-in roles have one only once granted to) |
//! | `security/group/<name>` | [`GroupRecord`]: a custom privilege group's privileges |
//!
//! Invariants: a name is created once (create-if-absent on its key); every change is a
//! compare-and-set against the record bytes this component last read, so a change made
//! from a stale view fails (the cache is reloaded and the caller told to retry). A role is
//! dropped with its users' bindings in the same commit. Checks read only the in-memory
//! copy, which is updated after each commit.
//!
//! Verified passwords are remembered per user as a keyed BLAKE2 digest (key random per
//! process), so each call of a connection does not pay a slow hash; a password change or a
//! dropped user forgets it.

pub mod privileges;

use crate::context::Context;
use crate::error::{EngineError, Result, decode, encode, invalid};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use blake2::digest::{FixedOutput, KeyInit, Update};
use quiver_storage::{MetaError, Txn};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use subtle::ConstantTimeEq;

pub const USER_PREFIX: &str = "security/user/";
pub const ROLE_PREFIX: &str = "security/role/";
pub const GROUP_PREFIX: &str = "security/group/";

/// The user that bypasses every check, created on first start.
pub const ROOT: &str = "root";
/// Milvus's initial root password; the server warns while it is unchanged.
pub const INITIAL_ROOT_PASSWORD: &str = "Milvus";
pub const ADMIN_ROLE: &str = "admin";
pub const PUBLIC_ROLE: &str = "public";
/// The object name and database name that mean "every one".
pub const ANY: &str = "*";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Argon2id PHC string: algorithm, parameters, salt and hash.
    pub password_hash: String,
    pub roles: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleRecord {
    pub grants: Vec<Grant>,
}

/// One privilege (or group) granted to a role on an object of a database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// `Global`, `Collection` or `User`.
    pub object_type: String,
    /// An object's name, or `*`.
    pub object_name: String,
    /// A database's name, or `*`.
    pub db_name: String,
    pub privilege: String,
    pub grantor: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupRecord {
    pub privileges: Vec<String>,
}

/// A record with the bytes it was read as (the compare-and-set operand).
#[derive(Clone)]
struct Stored<T> {
    bytes: Vec<u8>,
    record: T,
}

#[derive(Default)]
struct State {
    users: BTreeMap<String, Stored<UserRecord>>,
    roles: BTreeMap<String, Stored<RoleRecord>>,
    groups: BTreeMap<String, Stored<GroupRecord>>,
}

pub struct Security {
    ctx: Arc<Context>,
    state: RwLock<State>,
    /// Orders this process's changes so they do not conflict with each other.
    changes: tokio::sync::Mutex<()>,
    /// user -> keyed digest of the password last verified for them.
    verified: Mutex<HashMap<String, [u8; 32]>>,
    digest_key: [u8; 32],
}

/// Add or remove (a role of a user, a grant, a privilege of a group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Add,
    Remove,
}

fn user_key(name: &str) -> String {
    format!("{USER_PREFIX}{name}")
}

fn role_key(name: &str) -> String {
    format!("{ROLE_PREFIX}{name}")
}

fn group_key(name: &str) -> String {
    format!("{GROUP_PREFIX}{name}")
}

fn is_builtin_role(name: &str) -> bool {
    name == ADMIN_ROLE || name == PUBLIC_ROLE
}

/// Milvus's user name rule: a letter first, then letters, digits and underscores, at most 32.
pub fn validate_username(name: &str) -> Result<()> {
    let refuse = |why: &str| Err(invalid(format!("invalid username {name}. {why}: invalid parameter")));
    let mut chars = name.chars();
    match chars.next() {
        None => return refuse("username should not be empty"),
        Some(c) if !c.is_ascii_alphabetic() => return refuse("the first character of username must be a letter"),
        _ => {}
    }
    if name.len() > 32 {
        return refuse("the length of username must be less than 32 characters");
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return refuse("username should only contain numbers, letters and underscores");
    }
    Ok(())
}

/// Milvus's password rule: 6 to 256 characters.
pub fn validate_password(password: &str) -> Result<()> {
    let length = password.chars().count();
    if !(6..=256).contains(&length) {
        return Err(invalid(
            "invalid password length: the length of password must be greater than 6 and less than 256 characters: invalid parameter",
        ));
    }
    Ok(())
}

/// Milvus's role and privilege group name rule: a letter or underscore first, then
/// letters, digits and underscores, at most 255.
/// The words are Milvus's (`ValidatePrivilegeGroupName`), which clients compare.
fn validate_entity_name(what: &str, name: &str) -> Result<()> {
    let mut chars = name.chars();
    let problem = if name.is_empty() {
        format!("{what} name should not be empty")
    } else if name.len() > 255 {
        format!("the length of a {what} name {name} must be less than 255 characters")
    } else if !matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_') {
        format!("the first character of a {what} name {name} must be an underscore or letter")
    } else if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("{what} name {name} can only contain numbers, letters and underscores")
    } else {
        return Ok(());
    };
    Err(invalid(format!("{problem}: invalid parameter")))
}

fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| EngineError::Internal(format!("cannot hash a password: {e}")))
}

fn password_matches(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

impl Security {
    /// Load every record, and create `root` with Milvus's initial password on first start.
    pub async fn open(ctx: Arc<Context>) -> Result<Security> {
        let mut digest_key = [0u8; 32];
        getrandom_key(&mut digest_key)?;
        let security = Security {
            ctx,
            state: RwLock::new(State::default()),
            changes: tokio::sync::Mutex::new(()),
            verified: Mutex::new(HashMap::new()),
            digest_key,
        };
        security.reload().await?;
        if !security.read().users.contains_key(ROOT) {
            let hash = run_blocking(|| hash_password(INITIAL_ROOT_PASSWORD)).await?;
            let record = encode(&UserRecord { password_hash: hash, roles: Vec::new() });
            match security.ctx.meta.commit(Txn::new().when_absent(user_key(ROOT)).put(user_key(ROOT), record)).await {
                Ok(()) | Err(MetaError::ConditionFailed { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            security.reload().await?;
        }
        Ok(security)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().expect("security state poisoned")
    }

    async fn reload(&self) -> Result<()> {
        let scans = self.ctx.meta.scan_prefixes(&[USER_PREFIX, ROLE_PREFIX, GROUP_PREFIX]).await?;
        let mut state = State::default();
        for (key, bytes) in &scans[0] {
            state.users.insert(key[USER_PREFIX.len()..].to_string(), Stored { record: decode(key, bytes)?, bytes: bytes.clone() });
        }
        for (key, bytes) in &scans[1] {
            state.roles.insert(key[ROLE_PREFIX.len()..].to_string(), Stored { record: decode(key, bytes)?, bytes: bytes.clone() });
        }
        for (key, bytes) in &scans[2] {
            state.groups.insert(key[GROUP_PREFIX.len()..].to_string(), Stored { record: decode(key, bytes)?, bytes: bytes.clone() });
        }
        *self.state.write().expect("security state poisoned") = state;
        Ok(())
    }

    /// Commit `txn`; a failed condition means another process changed the records: reload
    /// and ask the caller to retry. Reloads after success too, so the cache is the store's.
    async fn commit(&self, txn: Txn) -> Result<()> {
        let result = self.ctx.meta.commit(txn).await;
        self.reload().await?;
        match result {
            Ok(()) => Ok(()),
            Err(MetaError::ConditionFailed { .. }) => Err(EngineError::Conflict { what: "users, roles or grants".to_string() }),
            Err(e) => Err(e.into()),
        }
    }

    fn digest(&self, password: &str) -> [u8; 32] {
        let mut mac = blake2::Blake2bMac::<blake2::digest::consts::U32>::new_from_slice(&self.digest_key).expect("32-byte key");
        mac.update(password.as_bytes());
        mac.finalize_fixed().into()
    }

    fn forget(&self, user: &str) {
        self.verified.lock().expect("verified cache poisoned").remove(user);
    }

    /// Whether `password` is `user`'s. An unknown user costs a hash too, so the answer's
    /// timing does not tell which users exist; digests compare in constant time.
    pub async fn authenticate(&self, user: &str, password: &str) -> bool {
        let digest = self.digest(password);
        let remembered = self.verified.lock().expect("verified cache poisoned").get(user).copied();
        if remembered.is_some_and(|known| bool::from(known.ct_eq(&digest))) {
            return true;
        }
        let stored = self.read().users.get(user).map(|u| u.record.password_hash.clone());
        let password = password.to_string();
        let matched = run_blocking(move || {
            Ok(match stored {
                Some(phc) => password_matches(&password, &phc),
                None => {
                    let _ = hash_password(&password);
                    false
                }
            })
        })
        .await
        .unwrap_or(false);
        if matched {
            self.verified.lock().expect("verified cache poisoned").insert(user.to_string(), digest);
        }
        matched
    }

    pub async fn create_user(&self, name: &str, password: &str) -> Result<()> {
        validate_username(name)?;
        validate_password(password)?;
        let _order = self.changes.lock().await;
        if self.read().users.contains_key(name) {
            return Err(EngineError::UserAlreadyExists { name: name.to_string() });
        }
        let password = password.to_string();
        let hash = run_blocking(move || hash_password(&password)).await?;
        let record = encode(&UserRecord { password_hash: hash, roles: Vec::new() });
        self.commit(Txn::new().when_absent(user_key(name)).put(user_key(name), record)).await
    }

    /// Change a password; the old one must match, as in Milvus.
    pub async fn update_password(&self, name: &str, old: &str, new: &str) -> Result<()> {
        validate_password(new)?;
        if !self.authenticate(name, old).await {
            return Err(EngineError::OldPasswordIncorrect { name: name.to_string() });
        }
        let _order = self.changes.lock().await;
        let stored = self.read().users.get(name).cloned().ok_or_else(|| EngineError::OldPasswordIncorrect { name: name.to_string() })?;
        let new = new.to_string();
        let hash = run_blocking(move || hash_password(&new)).await?;
        let record = UserRecord { password_hash: hash, ..stored.record };
        self.forget(name);
        self.commit(Txn::new().when_equals(user_key(name), stored.bytes).put(user_key(name), encode(&record))).await
    }

    /// Delete a user; a missing one is not an error (as Milvus). `root` stays.
    pub async fn delete_user(&self, name: &str) -> Result<()> {
        if name == ROOT {
            return Err(invalid("root user cannot be deleted: invalid parameter"));
        }
        let _order = self.changes.lock().await;
        let Some(stored) = self.read().users.get(name).cloned() else { return Ok(()) };
        self.forget(name);
        self.commit(Txn::new().when_equals(user_key(name), stored.bytes).delete(user_key(name))).await
    }

    pub fn users(&self) -> Vec<String> {
        self.read().users.keys().cloned().collect()
    }

    /// A user's roles (without the implicit `public`), if the user exists.
    pub fn user_roles(&self, name: &str) -> Option<Vec<String>> {
        self.read().users.get(name).map(|u| u.record.roles.clone())
    }

    pub fn role_exists(&self, name: &str) -> bool {
        is_builtin_role(name) || self.read().roles.contains_key(name)
    }

    /// Every role: the built-in ones, then the created ones.
    pub fn roles(&self) -> Vec<String> {
        let state = self.read();
        let mut roles = vec![ADMIN_ROLE.to_string(), PUBLIC_ROLE.to_string()];
        roles.extend(state.roles.keys().filter(|r| !is_builtin_role(r)).cloned());
        roles
    }

    /// The users bound to a role.
    pub fn role_users(&self, role: &str) -> Vec<String> {
        self.read().users.iter().filter(|(_, u)| u.record.roles.iter().any(|r| r == role)).map(|(n, _)| n.clone()).collect()
    }

    pub async fn create_role(&self, name: &str) -> Result<()> {
        validate_entity_name("role", name)?;
        let _order = self.changes.lock().await;
        if self.role_exists(name) {
            return Err(EngineError::RoleAlreadyExists { name: name.to_string() });
        }
        self.commit(Txn::new().when_absent(role_key(name)).put(role_key(name), encode(&RoleRecord::default()))).await
    }

    /// Drop a role with its grants, and unbind it from its users in the same commit.
    pub async fn drop_role(&self, name: &str) -> Result<()> {
        if is_builtin_role(name) {
            return Err(EngineError::BuiltinRole { name: name.to_string() });
        }
        let _order = self.changes.lock().await;
        let txn = {
            let state = self.read();
            let role = state.roles.get(name).ok_or_else(|| EngineError::RoleNotFound { name: name.to_string() })?;
            let mut txn = Txn::new().when_equals(role_key(name), role.bytes.clone()).delete(role_key(name));
            for (user, stored) in state.users.iter().filter(|(_, u)| u.record.roles.iter().any(|r| r == name)) {
                let mut record = stored.record.clone();
                record.roles.retain(|r| r != name);
                txn = txn.when_equals(user_key(user), stored.bytes.clone()).put(user_key(user), encode(&record));
            }
            txn
        };
        self.commit(txn).await
    }

    /// Bind a role to a user, or unbind it.
    pub async fn operate_user_role(&self, user: &str, role: &str, change: Change) -> Result<()> {
        let _order = self.changes.lock().await;
        let (stored, role_record) = {
            let state = self.read();
            (state.users.get(user).cloned(), state.roles.get(role).cloned())
        };
        if !self.role_exists(role) {
            return Err(EngineError::RoleNotFound { name: role.to_string() });
        }
        let stored = match (stored, change) {
            (Some(stored), _) => stored,
            // Unbinding a user that does not exist leaves nothing bound: Milvus succeeds.
            (None, Change::Remove) => return Ok(()),
            (None, Change::Add) => return Err(EngineError::UserNotFound { name: user.to_string() }),
        };
        let mut record = stored.record.clone();
        match change {
            Change::Add if !record.roles.iter().any(|r| r == role) => record.roles.push(role.to_string()),
            Change::Remove => record.roles.retain(|r| r != role),
            Change::Add => return Ok(()),
        }
        let mut txn = Txn::new().when_equals(user_key(user), stored.bytes).put(user_key(user), encode(&record));
        if let Some(role_record) = role_record {
            // The role must still exist when the binding lands.
            txn = txn.when_equals(role_key(role), role_record.bytes);
        }
        self.commit(txn).await
    }

    /// A role's grants.
    pub fn grants(&self, role: &str) -> Result<Vec<Grant>> {
        if !self.role_exists(role) {
            return Err(EngineError::RoleNotFound { name: role.to_string() });
        }
        Ok(self.read().roles.get(role).map(|r| r.record.grants.clone()).unwrap_or_default())
    }

    /// Grant or revoke. Granting twice, or revoking what is not granted, changes nothing.
    pub async fn operate_grant(&self, role: &str, grant: Grant, change: Change) -> Result<()> {
        let _order = self.changes.lock().await;
        if !self.role_exists(role) {
            return Err(EngineError::RoleNotFound { name: role.to_string() });
        }
        if !privileges::is_privilege(&grant.privilege) && !self.is_group(&grant.privilege) && grant.privilege != ANY {
            return Err(EngineError::PrivilegeNotFound { name: grant.privilege });
        }
        let stored = self.read().roles.get(role).cloned();
        let mut record = stored.as_ref().map(|s| s.record.clone()).unwrap_or_default();
        let same = |g: &Grant| {
            g.object_type == grant.object_type
                && g.object_name == grant.object_name
                && g.db_name == grant.db_name
                && g.privilege == grant.privilege
        };
        match change {
            Change::Add if !record.grants.iter().any(same) => record.grants.push(grant),
            Change::Remove if record.grants.iter().any(same) => record.grants.retain(|g| !same(g)),
            _ => return Ok(()),
        }
        let txn = match stored {
            Some(stored) => Txn::new().when_equals(role_key(role), stored.bytes),
            None => Txn::new().when_absent(role_key(role)),
        };
        self.commit(txn.put(role_key(role), encode(&record))).await
    }

    fn is_group(&self, name: &str) -> bool {
        privileges::builtin_group(name).is_some() || self.read().groups.contains_key(name)
    }

    /// Every privilege group: the built-in ones, then the custom ones.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = privileges::builtin_groups()
            .into_iter()
            .map(|(name, members)| (name.to_string(), members.into_iter().map(str::to_string).collect()))
            .collect();
        groups.extend(self.read().groups.iter().map(|(name, g)| (name.clone(), g.record.privileges.clone())));
        groups
    }

    pub async fn create_group(&self, name: &str) -> Result<()> {
        validate_entity_name("privilege group", name)?;
        let _order = self.changes.lock().await;
        if self.is_group(name) || privileges::is_privilege(name) {
            return Err(EngineError::PrivilegeGroupExists { name: name.to_string() });
        }
        self.commit(Txn::new().when_absent(group_key(name)).put(group_key(name), encode(&GroupRecord::default()))).await
    }

    /// Drop a custom group; one still granted to a role stays.
    pub async fn drop_group(&self, name: &str) -> Result<()> {
        validate_entity_name("privilege group", name)?;
        if privileges::builtin_group(name).is_some() {
            return Err(invalid(format!(
                "the privilege group [{name}] is defined by built-in privilege groups or privileges: invalid parameter"
            )));
        }
        let _order = self.changes.lock().await;
        let (stored, used_by) = {
            let state = self.read();
            let used_by =
                state.roles.iter().find(|(_, r)| r.record.grants.iter().any(|g| g.privilege == name)).map(|(role, _)| role.clone());
            (state.groups.get(name).cloned(), used_by)
        };
        let Some(stored) = stored else { return Ok(()) };
        if let Some(role) = used_by {
            return Err(invalid(format!(
                "privilege group [{name}] is used by role [{role}], Use REVOKE API to revoke it first: invalid parameter"
            )));
        }
        self.commit(Txn::new().when_equals(group_key(name), stored.bytes).delete(group_key(name))).await
    }

    /// Add privileges to a custom group, or remove them.
    pub async fn operate_group(&self, name: &str, members: &[String], change: Change) -> Result<()> {
        validate_entity_name("privilege group", name)?;
        let _order = self.changes.lock().await;
        let stored = self.read().groups.get(name).cloned().ok_or_else(|| EngineError::PrivilegeGroupNotFound { name: name.to_string() })?;
        for member in members {
            if !privileges::is_privilege(member) {
                return Err(invalid(format!("privilege name [{member}] is not valid: invalid parameter")));
            }
        }
        let mut record = stored.record.clone();
        for member in members {
            match change {
                Change::Add if !record.privileges.contains(member) => record.privileges.push(member.clone()),
                Change::Remove => record.privileges.retain(|p| p != member),
                Change::Add => {}
            }
        }
        self.commit(Txn::new().when_equals(group_key(name), stored.bytes).put(group_key(name), encode(&record))).await
    }

    /// Whether `user` may use `privilege` on every one of `objects` (names of the rule's
    /// kind; `*` for a global one) in database `db`. `root` and the `admin` role may do
    /// everything; every user has the `public` role's grants.
    pub fn allows(&self, user: &str, db: &str, objects: &[&str], privilege: &str) -> bool {
        if user == ROOT {
            return true;
        }
        let state = self.read();
        let Some(account) = state.users.get(user) else { return false };
        let roles: Vec<&str> = account.record.roles.iter().map(String::as_str).chain([PUBLIC_ROLE]).collect();
        if roles.contains(&ADMIN_ROLE) {
            return true;
        }
        let custom = |group: &str| state.groups.get(group).map(|g| g.record.privileges.clone());
        let grants: Vec<&Grant> = roles.iter().filter_map(|r| state.roles.get(*r)).flat_map(|r| r.record.grants.iter()).collect();
        let one = |object: &str| {
            grants.iter().any(|g| {
                (g.db_name == ANY || g.db_name == db)
                    && (g.object_name == ANY || g.object_name == object)
                    && privileges::covers(&g.privilege, privilege, &custom)
            })
        };
        let objects = if objects.is_empty() { &[ANY][..] } else { objects };
        objects.iter().all(|o| one(o))
    }

    /// The databases a user's own roles have grants in (`None`: every database).
    pub fn visible_databases(&self, user: &str) -> Option<Vec<String>> {
        if user == ROOT {
            return None;
        }
        let state = self.read();
        let roles = state.users.get(user).map(|u| u.record.roles.clone()).unwrap_or_default();
        if roles.iter().any(|r| r == ADMIN_ROLE) {
            return None;
        }
        let mut dbs = Vec::new();
        for grant in roles.iter().filter_map(|r| state.roles.get(r)).flat_map(|r| r.record.grants.iter()) {
            if grant.db_name == ANY {
                return None;
            }
            if !dbs.contains(&grant.db_name) {
                dbs.push(grant.db_name.clone());
            }
        }
        Some(dbs)
    }

    /// Whether root still has Milvus's initial password (the server warns while it does).
    pub async fn root_password_is_initial(&self) -> bool {
        self.authenticate(ROOT, INITIAL_ROOT_PASSWORD).await
    }
}

fn getrandom_key(key: &mut [u8; 32]) -> Result<()> {
    use password_hash::rand_core::RngCore;
    password_hash::rand_core::OsRng
        .try_fill_bytes(key)
        .map_err(|e| EngineError::Internal(format!("no randomness for the token cache key: {e}")))
}

/// Hashing is deliberately slow CPU work: off the async threads.
async fn run_blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| EngineError::Internal(format!("password hashing task failed: {e}")))?
}

#[cfg(test)]
mod tests;
