//! Who is calling, and may they: the request context and the one authorization check.
//!
//! Every call gets a [`Caller`] once, before its handler runs: the gRPC service is wrapped
//! in [`Authenticated`] (it reads the `authorization` and `dbname` headers), and the REST
//! API builds the same from `Authorization: Bearer user:password` and `dbName`. A handler
//! then passes its request to [`Access::authorize`], which looks the request's RPC up in
//! Milvus's privilege table (`quiver_proto::privileges`, generated from pymilvus's
//! descriptors) and asks the engine whether the caller holds that privilege on the
//! request's object (an alias counts as its collection).
//!
//! With `[security] authorization = false` every call is let through as it always was:
//! the caller is anonymous and only the database is read.

use crate::audit::{AuditLog, Outcome};
use crate::status;
use base64::Engine as _;
use quiver_engine::Engine;
use quiver_engine::catalog::model::DEFAULT_DATABASE;
use quiver_proto::extension::EXTENSION_PRIVILEGES;
use quiver_proto::privileges::PRIVILEGES;
use quiver_proto::{Guarded, ObjectKind, Rule};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service, http};
use tonic::server::NamedService;

/// The context of one call: who is calling (`None` while authorization is off), the
/// database the session uses (the `dbname` header, else `default`) and the client's
/// address (for the audit log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user: Option<String>,
    pub db: String,
    pub peer: Option<SocketAddr>,
}

impl Caller {
    /// The database a request addresses: its own `db_name`, else the session's.
    pub fn database(&self, request_db: &str) -> String {
        if request_db.is_empty() { self.db.clone() } else { request_db.to_string() }
    }
}

/// Authentication and authorization over the engine's users, roles and grants.
pub struct Access {
    engine: Arc<Engine>,
    enabled: bool,
    audit: Option<Arc<AuditLog>>,
}

/// Where a call comes from and what it calls, for the audit record of a failed login.
#[derive(Clone, Copy, Debug)]
pub struct Origin<'a> {
    pub peer: Option<SocketAddr>,
    pub rpc: &'a str,
}

impl Origin<'_> {
    /// The origin of an HTTP request (gRPC or REST) on the serving port.
    pub fn of<B>(request: &http::Request<B>) -> Origin<'_> {
        let path = request.uri().path();
        Origin { peer: peer_of(request.extensions()), rpc: path.rsplit('/').next().unwrap_or(path) }
    }
}

/// The client's address, as tonic's server records it on each request (plain TCP or TLS).
pub fn peer_of(extensions: &http::Extensions) -> Option<SocketAddr> {
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| extensions.get::<TlsConnectInfo<TcpConnectInfo>>().and_then(|info| info.get_ref().remote_addr()))
}

impl Access {
    /// `audit`: where refused logins are recorded (and, through [`Access::audit`], the
    /// service's audited calls).
    pub fn new(engine: Arc<Engine>, enabled: bool, audit: Option<Arc<AuditLog>>) -> Self {
        Access { engine, enabled, audit }
    }

    /// The audit log, when it is on.
    pub fn audit(&self) -> Option<&Arc<AuditLog>> {
        self.audit.as_ref()
    }

    /// The caller of a gRPC call: `authorization` is base64 of `user:password` (as pymilvus
    /// sends it), `dbname` the session's database.
    pub async fn grpc_caller(&self, headers: &http::HeaderMap, origin: Origin<'_>) -> Result<Caller, tonic::Status> {
        let db = header(headers, "dbname").unwrap_or(DEFAULT_DATABASE).to_string();
        let user = if self.enabled { Some(self.authenticate(grpc_credentials(headers), origin).await?) } else { None };
        Ok(Caller { user, db, peer: origin.peer })
    }

    /// The user of a REST call: `Authorization: Bearer user:password` (Milvus's RESTful API).
    pub async fn rest_user(&self, headers: &http::HeaderMap, origin: Origin<'_>) -> Result<Option<String>, tonic::Status> {
        if !self.enabled {
            return Ok(None);
        }
        Ok(Some(self.authenticate(rest_credentials(headers), origin).await?))
    }

    /// The console's user: with authorization on, `Authorization: Bearer user:password` of
    /// root or of a user with the admin role, since the console shows every database.
    pub async fn console_user(&self, headers: &http::HeaderMap, origin: Origin<'_>) -> Result<Option<String>, tonic::Status> {
        let user = self.rest_user(headers, origin).await?;
        if let Some(name) = user.as_deref() {
            let admin = name == quiver_engine::security::ROOT
                || self
                    .engine
                    .security()
                    .user_roles(name)
                    .is_some_and(|roles| roles.iter().any(|r| r == quiver_engine::security::ADMIN_ROLE));
            if !admin {
                tracing::warn!(user = name, "refused the console to a user without the admin role");
                return Err(status::permission_denied("Console", name, "*"));
            }
        }
        Ok(user)
    }

    /// Check credentials read from a call's headers: the user, or the refusal, which is
    /// logged and audited with the user name tried, never the password.
    async fn authenticate(&self, credentials: Result<String, tonic::Status>, origin: Origin<'_>) -> Result<String, tonic::Status> {
        let tried = credentials.as_deref().ok().map(|c| c.split_once(':').map_or(c, |(user, _)| user).to_string());
        let result = match credentials {
            Ok(credentials) => self.login(&credentials).await,
            Err(refusal) => Err(refusal),
        };
        if let Err(refusal) = &result {
            tracing::warn!(user = tried.as_deref(), peer = ?origin.peer, rpc = origin.rpc, "refused a login: {}", refusal.message());
            if let Some(audit) = &self.audit {
                let refused = status::of_refusal(refusal);
                let outcome = Outcome { code: refused.code, reason: refused.reason };
                audit.failed_login(tried.as_deref(), origin.peer, origin.rpc, outcome).await;
            }
        }
        result
    }

    /// Check `user:password`.
    async fn login(&self, credentials: &str) -> Result<String, tonic::Status> {
        let refused = || status::unauthenticated("auth check failure, please check username and password are correct");
        let Some((user, password)) = credentials.split_once(':') else {
            return Err(refused());
        };
        if !self.engine.security().authenticate(user, password).await {
            return Err(refused());
        }
        Ok(user.to_string())
    }

    /// May `caller` make `request`? Answers the database the request addresses, or
    /// Milvus's denial. A request without a caller (none was built) is refused when
    /// authorization is on.
    pub fn authorize<T: Guarded>(&self, caller: Option<&Caller>, request: &T) -> Result<String, tonic::Status> {
        let anonymous = Caller { user: None, db: DEFAULT_DATABASE.to_string(), peer: None };
        let caller = caller.unwrap_or(&anonymous);
        let db = caller.database(request.db_name());
        if !self.enabled {
            return Ok(db);
        }
        let Some(user) = caller.user.as_deref() else {
            return Err(status::unauthenticated("missing authorization in header"));
        };
        self.check(user, &db, T::RPC, &request.object_names())?;
        Ok(db)
    }

    /// The one check: `rpc`'s rule from the table, on `objects` (collection names are
    /// resolved through aliases). An RPC missing from the table is refused.
    pub fn check(&self, user: &str, db: &str, rpc: &str, objects: &[&str]) -> Result<(), tonic::Status> {
        let Some(rule) = rule_of(rpc) else {
            return Err(status::permission_denied(rpc, user, db));
        };
        let Some(Rule { object, privilege }) = rule else { return Ok(()) };
        // As Milvus, a user may describe a database their roles hold grants in, so that
        // `use_database` works for whoever may act there, without DescribeDatabase.
        if rpc == DESCRIBE_DATABASE && self.engine.security().visible_databases(user).is_none_or(|dbs| dbs.iter().any(|d| d == db)) {
            return Ok(());
        }
        let resolved: Vec<String> = match object {
            ObjectKind::Global => Vec::new(),
            ObjectKind::User if objects.contains(&user) => return Ok(()),
            ObjectKind::User => objects.iter().map(|o| o.to_string()).collect(),
            ObjectKind::Collection => objects
                .iter()
                .map(|name| self.engine.resolve(db, name).map(|c| c.name.clone()).unwrap_or_else(|_| name.to_string()))
                .collect(),
        };
        let names: Vec<&str> = resolved.iter().map(String::as_str).collect();
        if self.engine.security().allows(user, db, &names, privilege) {
            Ok(())
        } else {
            tracing::info!(user, db, rpc, privilege, "permission denied");
            Err(status::permission_denied(&format!("Privilege{privilege}"), user, db))
        }
    }
}

const DESCRIBE_DATABASE: &str = "DescribeDatabase";

/// The table's entry of `rpc` (Milvus's table, then Quiver's own service's): `None` if
/// neither has one, `Some(None)` if no privilege is checked for it.
pub fn rule_of(rpc: &str) -> Option<Option<Rule>> {
    [PRIVILEGES, EXTENSION_PRIVILEGES].iter().find_map(|table| table.binary_search_by(|(name, _)| name.cmp(&rpc)).ok().map(|i| table[i].1))
}

/// The `user:password` of a gRPC call: its `authorization` header, base64 as pymilvus
/// encodes it.
pub fn grpc_credentials(headers: &http::HeaderMap) -> Result<String, tonic::Status> {
    let Some(token) = header(headers, "authorization") else {
        return Err(status::unauthenticated("missing authorization in header"));
    };
    let decoded = base64::engine::general_purpose::STANDARD.decode(token).ok().and_then(|bytes| String::from_utf8(bytes).ok());
    decoded.ok_or_else(|| status::unauthenticated("invalid token format"))
}

/// The `user:password` of a REST call: `Authorization: Bearer user:password`.
pub fn rest_credentials(headers: &http::HeaderMap) -> Result<String, tonic::Status> {
    header(headers, "authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|token| token.trim().to_string())
        .ok_or_else(|| status::unauthenticated("missing authorization in header"))
}

fn header<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// A call whose caller failed authentication, handed to `Connect` (see [`Authenticated`]).
#[derive(Clone, Debug)]
pub struct Refused(pub tonic::Status);

/// The MilvusService server `S` with each call's [`Caller`] built before it runs (see the
/// module doc); a call that fails authentication is answered gRPC UNAUTHENTICATED. All but
/// `Connect`: pymilvus reports a gRPC error there as "Fail connecting to server", so
/// Connect runs with the [`Refused`] reason and answers it in its Status, as Milvus's
/// clients see it ("auth check failure ...").
#[derive(Clone)]
pub struct Authenticated<S> {
    inner: S,
    access: Arc<Access>,
}

impl<S> Authenticated<S> {
    pub fn new(inner: S, access: Arc<Access>) -> Self {
        Authenticated { inner, access }
    }
}

impl<S: NamedService> NamedService for Authenticated<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<http::Request<Body>> for Authenticated<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<http::Response<Body>, Infallible>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        // The ready service answers this call; a fresh clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let access = Arc::clone(&self.access);
        Box::pin(async move {
            match access.grpc_caller(request.headers(), Origin::of(&request)).await {
                Ok(caller) => {
                    request.extensions_mut().insert(caller);
                    inner.call(request).await
                }
                Err(status) if request.uri().path().ends_with("/Connect") => {
                    request.extensions_mut().insert(Refused(status));
                    inner.call(request).await
                }
                Err(status) => Ok(status.into_http()),
            }
        })
    }
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
