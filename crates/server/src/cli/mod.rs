//! Client commands of the `quiver` binary (`quiver snapshot ...`): they talk gRPC to a
//! running server exactly as pymilvus does, so they exercise the same wire path.
//!
//! Terms:
//! * [`ConnectOptions`]: the global `--uri/--db/--token/--timeout` flags, and the TLS
//!   ones (`https://` addresses, `--tls-ca`, `--tls-cert`/`--tls-key` for mutual TLS).
//! * [`Session`]: one channel after the `Connect` handshake; it stamps every request with
//!   the headers pymilvus sends (`dbname`, `identifier`, `authorization`).
//! * [`CliError`]: everything that ends a command early, with its exit code.
//!
//! Exit codes (the contract scripts rely on): 0 success; 1 the server answered with an
//! error status (or a restore job failed); 2 usage or connection error.

mod output;
pub mod snapshot;

use quiver_proto::common::{ClientInfo, Status};
use quiver_proto::milvus::ConnectRequest;
use quiver_proto::milvus::milvus_service_client::MilvusServiceClient;
use quiver_proto::quiver::quiver_service_client::QuiverServiceClient;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// Milvus allows 256 MB messages; so do we, in both directions.
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;
/// How long establishing the TCP/HTTP2 connection may take before we give up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// pymilvus gives `Connect` 10 s.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// What `ClientInfo.sdk_type` says, so server logs can tell the CLI from the SDKs.
const SDK_TYPE: &str = "quiver-cli";

/// Where the server is and who we are: global flags of every client command.
#[derive(clap::Args, Debug, Clone)]
pub struct ConnectOptions {
    /// Server address (`host:port` means `http://host:port`).
    #[arg(long, global = true, env = "QUIVER_URI", default_value = "http://127.0.0.1:19530")]
    pub uri: String,
    /// Database the command addresses.
    #[arg(long, global = true, default_value = "default")]
    pub db: String,
    /// API key or `user:password`; sent base64-encoded as the `authorization` header.
    #[arg(long, global = true, env = "QUIVER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Per-call deadline in seconds.
    #[arg(long, global = true, default_value_t = 60)]
    pub timeout: u64,
    /// CA certificate (PEM) that signed the server's certificate, for `https://`
    /// addresses (default: the system's trusted roots).
    #[arg(long, global = true)]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for a server that requires mutual TLS; needs --tls-key.
    #[arg(long, global = true, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, global = true, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl ConnectOptions {
    /// The TLS settings of an `https://` address; TLS flags on a plaintext address are a
    /// usage error rather than silently ignored.
    fn tls(&self, uri: &str) -> Result<Option<ClientTlsConfig>, CliError> {
        if !uri.starts_with("https://") {
            if self.tls_ca.is_some() || self.tls_cert.is_some() {
                return Err(CliError::Usage(format!("--tls-ca/--tls-cert need an https:// --uri, not '{uri}'")));
            }
            return Ok(None);
        }
        let read = |flag: &str, path: &Path| {
            std::fs::read(path).map_err(|e| CliError::Usage(format!("cannot read {flag} {}: {e}", path.display())))
        };
        let mut config = ClientTlsConfig::new();
        config = match &self.tls_ca {
            Some(path) => config.ca_certificate(Certificate::from_pem(read("--tls-ca", path)?)),
            None => config.with_native_roots(),
        };
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            config = config.identity(Identity::from_pem(read("--tls-cert", cert)?, read("--tls-key", key)?));
        }
        Ok(Some(config))
    }
}

/// Why a client command stopped early.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad flags or arguments that clap could not catch.
    #[error("{0}")]
    Usage(String),
    /// The server could not be reached (or went away mid-command).
    #[error("cannot connect to {uri}: {reason}")]
    Connect { uri: String, reason: String },
    /// The server replied with a non-success `common.Status`.
    #[error("error (code {code}): {reason}")]
    Server { code: i32, reason: String },
    /// The call failed at the gRPC layer with something other than unreachability
    /// (e.g. UNIMPLEMENTED from a server without snapshot support).
    #[error("error (grpc {code:?}): {message}")]
    Rpc { code: tonic::Code, message: String },
    /// `restore --wait` saw the job end in `Failed`.
    #[error("restore job {job_id} failed: {reason}")]
    RestoreFailed { job_id: i64, reason: String },
    /// Ctrl-C while waiting: the job itself goes on in the server.
    #[error("stopped waiting; restore job {job_id} continues on the server (follow it with: quiver snapshot job {job_id})")]
    StoppedWaiting { job_id: i64 },
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) | CliError::Connect { .. } => ExitCode::from(2),
            CliError::Server { .. } | CliError::Rpc { .. } | CliError::RestoreFailed { .. } => ExitCode::from(1),
            // As a shell reports a command ended by SIGINT.
            CliError::StoppedWaiting { .. } => ExitCode::from(130),
        }
    }
}

/// Runs a client command on a fresh single-threaded runtime and turns its outcome into
/// an exit code, printing the error (if any) to stderr.
pub fn run_command<F>(command: F) -> ExitCode
where
    F: std::future::Future<Output = Result<(), CliError>>,
{
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("quiver: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            error.exit_code()
        }
    }
}

/// A reply that carries a `common.Status` (or is one).
pub trait WithStatus {
    fn status(&self) -> Option<&Status>;
}

impl WithStatus for Status {
    fn status(&self) -> Option<&Status> {
        Some(self)
    }
}

macro_rules! with_status {
    ($($reply:ty),* $(,)?) => {$(
        impl WithStatus for $reply {
            fn status(&self) -> Option<&Status> {
                self.status.as_ref()
            }
        }
    )*};
}

with_status!(
    quiver_proto::milvus::ConnectResponse,
    quiver_proto::milvus::ListSnapshotsResponse,
    quiver_proto::milvus::DescribeSnapshotResponse,
    quiver_proto::milvus::RestoreSnapshotResponse,
    quiver_proto::milvus::GetRestoreSnapshotStateResponse,
    quiver_proto::milvus::ListRestoreSnapshotJobsResponse,
    quiver_proto::quiver::RestoreSnapshotResponse,
    quiver_proto::quiver::DescribeRestoreJobResponse,
    quiver_proto::quiver::MountSnapshotResponse,
    quiver_proto::quiver::RollbackCollectionResponse,
    quiver_proto::quiver::GetSnapshotUsageResponse,
);

/// A connected, handshaken client.
pub struct Session {
    client: MilvusServiceClient<Channel>,
    /// Quiver's own service, on the same channel.
    quiver: QuiverServiceClient<Channel>,
    uri: String,
    db: String,
    headers: MetadataMap,
}

impl Session {
    /// Opens a channel to `--uri` and performs the `Connect` handshake.
    pub async fn open(options: &ConnectOptions) -> Result<Session, CliError> {
        let uri = normalize_uri(&options.uri)?;
        let endpoint = Endpoint::from_shared(uri.clone())
            .map_err(|error| CliError::Usage(format!("invalid --uri '{}': {}", options.uri, error_chain(&error))))?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(Duration::from_secs(options.timeout.max(1)));
        let endpoint = match options.tls(&uri)? {
            Some(tls) => {
                endpoint.tls_config(tls).map_err(|error| CliError::Usage(format!("invalid TLS settings: {}", error_chain(&error))))?
            }
            None => endpoint,
        };
        let channel = endpoint.connect().await.map_err(|error| CliError::Connect { uri: uri.clone(), reason: error_chain(&error) })?;
        let quiver = QuiverServiceClient::new(channel.clone());
        let client =
            MilvusServiceClient::new(channel).max_decoding_message_size(MAX_MESSAGE_BYTES).max_encoding_message_size(MAX_MESSAGE_BYTES);
        let mut headers = MetadataMap::new();
        headers.insert("dbname", header_value("--db", &options.db)?);
        if let Some(token) = &options.token {
            headers.insert("authorization", header_value("--token", &base64(token.as_bytes()))?);
        }
        let mut session = Session { client, quiver, uri, db: options.db.clone(), headers };
        session.handshake().await?;
        Ok(session)
    }

    /// `Connect`, like every pymilvus client does first; the reply's `identifier` is sent
    /// back on every later call. The handshake itself carries no `identifier`.
    async fn handshake(&mut self) -> Result<(), CliError> {
        let client_info = ClientInfo {
            sdk_type: SDK_TYPE.to_string(),
            sdk_version: env!("CARGO_PKG_VERSION").to_string(),
            local_time: output::format_utc_ms(output::now_ms()),
            host: std::env::var("HOSTNAME").unwrap_or_default(),
            ..Default::default()
        };
        let mut request = self.request(ConnectRequest { client_info: Some(client_info), ..Default::default() });
        request.set_timeout(HANDSHAKE_TIMEOUT);
        let reply = self.finish(self.client().connect(request).await)?;
        let identifier = AsciiMetadataValue::try_from(reply.identifier.to_string()).expect("digits are ASCII");
        self.headers.insert("identifier", identifier);
        Ok(())
    }

    /// The database the command addresses (`--db`).
    pub fn db(&self) -> &str {
        &self.db
    }

    /// A handle to issue calls on (clones share the channel).
    pub fn client(&self) -> MilvusServiceClient<Channel> {
        self.client.clone()
    }

    /// A handle on Quiver's own service (clones share the channel).
    pub fn quiver(&self) -> QuiverServiceClient<Channel> {
        self.quiver.clone()
    }

    /// `message` with the session headers attached.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        for entry in self.headers.iter() {
            if let tonic::metadata::KeyAndValueRef::Ascii(key, value) = entry {
                request.metadata_mut().insert(key.clone(), value.clone());
            }
        }
        if let Ok(now) = AsciiMetadataValue::try_from(output::now_ms().to_string()) {
            request.metadata_mut().insert("client-request-unixmsec", now);
        }
        request
    }

    /// The reply of a call, or the error it stands for: a transport failure, a gRPC
    /// status, or a non-success `common.Status` inside the reply.
    pub fn finish<T: WithStatus>(&self, result: Result<tonic::Response<T>, tonic::Status>) -> Result<T, CliError> {
        let reply = result.map_err(|status| self.rpc_error(status))?.into_inner();
        if let Some(status) = reply.status()
            && (status.code != 0 || status.error_code != 0)
        {
            let code = if status.code != 0 { status.code } else { status.error_code };
            return Err(CliError::Server { code, reason: status.reason.clone() });
        }
        Ok(reply)
    }

    fn rpc_error(&self, status: tonic::Status) -> CliError {
        // A status with a source was made from a transport error (a refused TLS
        // handshake shows as `Unknown: transport error`): the connection failed.
        let transport = std::error::Error::source(&status).is_some();
        match status.code() {
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
                let mut reason = status.message().to_string();
                if let Some(source) = std::error::Error::source(&status) {
                    reason = format!("{reason}: {}", error_chain(source));
                }
                CliError::Connect { uri: self.uri.clone(), reason }
            }
            _ if transport => {
                let reason = std::error::Error::source(&status).map_or_else(String::new, error_chain);
                CliError::Connect { uri: self.uri.clone(), reason: format!("{}: {reason}", status.message()) }
            }
            code => CliError::Rpc { code, message: status.message().to_string() },
        }
    }
}

/// `host:port` -> `http://host:port`; refuses schemes other than http and https.
fn normalize_uri(uri: &str) -> Result<String, CliError> {
    let uri = uri.trim();
    if uri.is_empty() {
        return Err(CliError::Usage("--uri must not be empty".to_string()));
    }
    match uri.split_once("://") {
        None => Ok(format!("http://{uri}")),
        Some(("http" | "https", _)) => Ok(uri.to_string()),
        Some((scheme, _)) => Err(CliError::Usage(format!("invalid --uri '{uri}': unsupported scheme '{scheme}' (http:// or https://)"))),
    }
}

fn header_value(flag: &str, value: &str) -> Result<AsciiMetadataValue, CliError> {
    AsciiMetadataValue::try_from(value).map_err(|_| CliError::Usage(format!("{flag} must be printable ASCII to travel in a gRPC header")))
}

/// An error and its sources, `outer: inner: ...`, without repeating a message that is
/// already contained in its predecessor (hyper nests errors that say the same thing).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![error.to_string()];
    let mut source = error.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        source = inner.source();
    }
    parts.join(": ")
}

/// Standard base64 with padding, as pymilvus encodes the token.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("root:Milvus", "cm9vdDpNaWx2dXM=")];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
    }

    #[test]
    fn uri_without_scheme_means_http() {
        assert_eq!(normalize_uri("localhost:19530").unwrap(), "http://localhost:19530");
        assert_eq!(normalize_uri("http://h:1").unwrap(), "http://h:1");
        assert_eq!(normalize_uri("https://h:1").unwrap(), "https://h:1");
        assert!(matches!(normalize_uri("grpc://h:1"), Err(CliError::Usage(_))));
        assert!(matches!(normalize_uri(" "), Err(CliError::Usage(_))));
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(CliError::Usage("x".into()).exit_code(), ExitCode::from(2));
        assert_eq!(CliError::Connect { uri: "u".into(), reason: "r".into() }.exit_code(), ExitCode::from(2));
        assert_eq!(CliError::Server { code: 100, reason: "r".into() }.exit_code(), ExitCode::from(1));
        assert_eq!(CliError::RestoreFailed { job_id: 1, reason: "r".into() }.exit_code(), ExitCode::from(1));
    }
}
