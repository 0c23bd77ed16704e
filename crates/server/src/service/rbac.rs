//! Users, roles, grants and privilege groups (Milvus's RBAC RPCs) over the engine's
//! `security` component. Passwords travel base64-encoded, as pymilvus sends them.

use super::detached;
use base64::Engine as _;
use quiver_engine::error::invalid;
use quiver_engine::security::{ANY, Change, Grant, privileges};
use quiver_engine::{Engine, EngineError, Result};
use quiver_proto::milvus::*;
use std::sync::Arc;

fn password(encoded: &str) -> Result<String> {
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| invalid("the password is not base64-encoded text: invalid parameter"))
}

pub async fn create_user(engine: Arc<Engine>, request: CreateCredentialRequest) -> Result<()> {
    let secret = password(&request.password)?;
    detached(async move { engine.security().create_user(&request.username, &secret).await }).await
}

pub async fn update_password(engine: Arc<Engine>, request: UpdateCredentialRequest) -> Result<()> {
    let (old, new) = (password(&request.old_password)?, password(&request.new_password)?);
    detached(async move { engine.security().update_password(&request.username, &old, &new).await }).await
}

pub async fn delete_user(engine: Arc<Engine>, request: DeleteCredentialRequest) -> Result<()> {
    detached(async move { engine.security().delete_user(&request.username).await }).await
}

pub fn list_users(engine: &Engine) -> ListCredUsersResponse {
    ListCredUsersResponse { usernames: engine.security().users(), ..Default::default() }
}

pub async fn create_role(engine: Arc<Engine>, request: CreateRoleRequest) -> Result<()> {
    let name = request.entity.map(|e| e.name).unwrap_or_default();
    detached(async move { engine.security().create_role(&name).await }).await
}

pub async fn drop_role(engine: Arc<Engine>, request: DropRoleRequest) -> Result<()> {
    detached(async move { engine.security().drop_role(&request.role_name).await }).await
}

pub async fn operate_user_role(engine: Arc<Engine>, request: OperateUserRoleRequest) -> Result<()> {
    let change = match OperateUserRoleType::try_from(request.r#type) {
        Ok(OperateUserRoleType::AddUserToRole) => Change::Add,
        Ok(OperateUserRoleType::RemoveUserFromRole) => Change::Remove,
        Err(_) => return Err(invalid(format!("invalid operate user role type {}: invalid parameter", request.r#type))),
    };
    detached(async move { engine.security().operate_user_role(&request.username, &request.role_name, change).await }).await
}

fn role_entity(name: String) -> RoleEntity {
    RoleEntity { name, ..Default::default() }
}

pub fn select_role(engine: &Engine, request: &SelectRoleRequest) -> Result<SelectRoleResponse> {
    let security = engine.security();
    let roles = match request.role.as_ref().map(|r| r.name.as_str()).filter(|n| !n.is_empty()) {
        Some(name) if !security.role_exists(name) => return Err(EngineError::RoleNotFound { name: name.to_string() }),
        Some(name) => vec![name.to_string()],
        None => security.roles(),
    };
    let results = roles
        .into_iter()
        .map(|role| {
            let users = if request.include_user_info { security.role_users(&role) } else { Vec::new() };
            RoleResult { users: users.into_iter().map(|name| UserEntity { name }).collect(), role: Some(role_entity(role)) }
        })
        .collect();
    Ok(SelectRoleResponse { results, ..Default::default() })
}

pub fn select_user(engine: &Engine, request: &SelectUserRequest) -> Result<SelectUserResponse> {
    let security = engine.security();
    let users = match request.user.as_ref().map(|u| u.name.as_str()).filter(|n| !n.is_empty()) {
        // Milvus describes a user that does not exist as no user, not an error.
        Some(name) if security.user_roles(name).is_none() => Vec::new(),
        Some(name) => vec![name.to_string()],
        None => security.users(),
    };
    let results = users
        .into_iter()
        .map(|user| {
            let roles = if request.include_role_info { security.user_roles(&user).unwrap_or_default() } else { Vec::new() };
            UserResult { roles: roles.into_iter().map(role_entity).collect(), user: Some(UserEntity { name: user }), ..Default::default() }
        })
        .collect();
    Ok(SelectUserResponse { results, ..Default::default() })
}

fn change_of(kind: i32) -> Result<Change> {
    match OperatePrivilegeType::try_from(kind) {
        Ok(OperatePrivilegeType::Grant) => Ok(Change::Add),
        Ok(OperatePrivilegeType::Revoke) => Ok(Change::Remove),
        Err(_) => Err(invalid(format!("invalid operate privilege type {kind}: invalid parameter"))),
    }
}

/// Grant or revoke (v1): an object type, its object's name, a database (empty: `default`),
/// and a privilege of that object type (or a group).
pub async fn operate_privilege(engine: Arc<Engine>, grantor: String, request: OperatePrivilegeRequest) -> Result<()> {
    let change = change_of(request.r#type)?;
    let entity = request.entity.unwrap_or_default();
    let role = entity.role.map(|r| r.name).unwrap_or_default();
    let object_type = entity.object.map(|o| o.name).unwrap_or_default();
    let privilege = entity.grantor.and_then(|g| g.privilege).map(|p| p.name).unwrap_or_default();
    if !["Global", "Collection", "User"].contains(&object_type.as_str()) {
        return Err(invalid("the object entity in the request is nil or invalid: invalid parameter"));
    }
    if privileges::is_privilege(&privilege) && privilege != privileges::ALL && privileges::object_type_of(&privilege) != object_type {
        return Err(EngineError::PrivilegeNotFound { name: privilege });
    }
    // As in Milvus, a grant may name a database that does not exist (yet).
    let db_name = if entity.db_name.is_empty() { quiver_engine::catalog::model::DEFAULT_DATABASE.to_string() } else { entity.db_name };
    let grant = Grant { object_type, object_name: entity.object_name, db_name, privilege, grantor };
    detached(async move { engine.security().operate_grant(&role, grant, change).await }).await
}

/// Grant or revoke (v2): a privilege or group on a collection (or `*`) of a database (or
/// `*`); the object type follows from the privilege.
pub async fn operate_privilege_v2(engine: Arc<Engine>, grantor: String, request: OperatePrivilegeV2Request) -> Result<()> {
    let change = change_of(request.r#type)?;
    let role = request.role.map(|r| r.name).unwrap_or_default();
    let privilege = request.grantor.and_then(|g| g.privilege).map(|p| p.name).unwrap_or_default();
    let db_name = if request.db_name.is_empty() { ANY.to_string() } else { request.db_name };
    if db_name != ANY {
        // The name must be one; the database need not exist (yet), as in Milvus.
        quiver_engine::names::validate(quiver_engine::NameKind::Database, &db_name)?;
    }
    let object_name = if request.collection_name.is_empty() { ANY.to_string() } else { request.collection_name };
    let object_type = privileges::object_type_of(&privilege).to_string();
    let grant = Grant { object_type, object_name, db_name, privilege, grantor };
    detached(async move { engine.security().operate_grant(&role, grant, change).await }).await
}

/// A role's grants, narrowed to an object type, object name and database when given.
pub fn select_grant(engine: &Engine, request: &SelectGrantRequest) -> Result<SelectGrantResponse> {
    let entity = request.entity.clone().unwrap_or_default();
    let role = entity.role.map(|r| r.name).unwrap_or_default();
    let object_type = entity.object.map(|o| o.name).unwrap_or_default();
    let entities = engine
        .security()
        .grants(&role)?
        .into_iter()
        .filter(|g| object_type.is_empty() || g.object_type == object_type)
        .filter(|g| entity.object_name.is_empty() || g.object_name == entity.object_name)
        .filter(|g| entity.db_name.is_empty() || g.db_name == entity.db_name)
        .map(|g| GrantEntity {
            role: Some(role_entity(role.clone())),
            object: Some(ObjectEntity { name: g.object_type }),
            object_name: g.object_name,
            db_name: g.db_name,
            grantor: Some(GrantorEntity {
                user: Some(UserEntity { name: g.grantor }),
                privilege: Some(PrivilegeEntity { name: g.privilege }),
            }),
        })
        .collect();
    Ok(SelectGrantResponse { entities, ..Default::default() })
}

pub async fn create_group(engine: Arc<Engine>, request: CreatePrivilegeGroupRequest) -> Result<()> {
    detached(async move { engine.security().create_group(&request.group_name).await }).await
}

pub async fn drop_group(engine: Arc<Engine>, request: DropPrivilegeGroupRequest) -> Result<()> {
    detached(async move { engine.security().drop_group(&request.group_name).await }).await
}

pub fn list_groups(engine: &Engine) -> ListPrivilegeGroupsResponse {
    let privilege_groups = engine
        .security()
        .groups()
        .into_iter()
        .map(|(group_name, members)| PrivilegeGroupInfo {
            group_name,
            privileges: members.into_iter().map(|name| PrivilegeEntity { name }).collect(),
        })
        .collect();
    ListPrivilegeGroupsResponse { privilege_groups, ..Default::default() }
}

pub async fn operate_group(engine: Arc<Engine>, request: OperatePrivilegeGroupRequest) -> Result<()> {
    let change = match OperatePrivilegeGroupType::try_from(request.r#type) {
        Ok(OperatePrivilegeGroupType::AddPrivilegesToGroup) => Change::Add,
        Ok(OperatePrivilegeGroupType::RemovePrivilegesFromGroup) => Change::Remove,
        Err(_) => return Err(invalid(format!("invalid operate privilege group type {}: invalid parameter", request.r#type))),
    };
    let members: Vec<String> = request.privileges.into_iter().map(|p| p.name).collect();
    detached(async move { engine.security().operate_group(&request.group_name, &members, change).await }).await
}
