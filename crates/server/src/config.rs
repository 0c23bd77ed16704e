//! Server configuration. Precedence: defaults < TOML file (`--config`) < environment
//! (`QUIVER_*`) < command-line flags.
//!
//! | key (TOML) | environment | flag | default |
//! | --- | --- | --- | --- |
//! | `data_dir` | `QUIVER_DATA_DIR` | `--data-dir` | `./quiver-data` |
//! | `host` | `QUIVER_HOST` | `--host` | `127.0.0.1` |
//! | `port` | `QUIVER_PORT` | `--port` | `19530` |
//! | `log_level` | `QUIVER_LOG_LEVEL` | – | `info` |
//! | `[storage]` | `QUIVER_S3_ACCESS_KEY_ID`, `QUIVER_S3_SECRET_ACCESS_KEY` | – | local files under `data_dir/objects` |
//! | `[data] seal_mb` | – | – | `64` |
//! | `[data] seal_idle_seconds` | – | – | `600` |
//! | `[data] compaction_interval_seconds` | – | – | `60` |
//! | `[data] gc_interval_seconds` | – | – | `60` |
//! | `[data] gc_grace_seconds` | – | – | `3600` |
//! | `[data] restore_job_retention_seconds` | – | – | `10800` |
//! | `[data] restore_workers` | – | – | `2` |
//! | `[data] restore_mode` | – | – | `clone` (or `copy`) |
//! | `[data] verify_clones` | – | – | `true` |
//! | `[data] shutdown_timeout_seconds` | – | – | `30` |
//! | `[data] snapshot_index_wait_seconds` | – | – | `60` |
//! | `[metrics] enabled` | – | – | `true` |
//! | `[metrics] port` | `QUIVER_METRICS_PORT` | `--metrics-port` | `9091` (`0`: any free port) |
//! | `[security] authorization` | `QUIVER_AUTHORIZATION` | `--authorization` | `false` (everyone may do everything) |
//! | `[security] audit` | `QUIVER_AUDIT` | `--audit` | on when `authorization` is (the log: `data_dir/audit/`) |
//! | `[security] tls_cert` | `QUIVER_TLS_CERT` | `--tls-cert` | none (plaintext) |
//! | `[security] tls_key` | `QUIVER_TLS_KEY` | `--tls-key` | none |
//! | `[security] tls_client_ca` | `QUIVER_TLS_CLIENT_CA` | `--tls-client-ca` | none (no client certificates asked) |

use quiver_storage::ObjectStoreConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub data_dir: PathBuf,
    pub host: String,
    pub port: u16,
    /// A `tracing` filter, e.g. `info` or `quiver_engine=debug,info`.
    pub log_level: String,
    /// Object storage; local files under the data directory when absent.
    pub storage: Option<ObjectStoreConfig>,
    pub data: DataSettings,
    pub metrics: MetricsSettings,
    pub security: SecuritySettings,
}

/// Who may do what (Milvus's `common.security`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    /// Require a user (`user:password` token) on every call and check its privileges, as
    /// Milvus's `authorizationEnabled`. Off, anyone who reaches the port may do anything.
    pub authorization: bool,
    /// Keep the audit log (`data_dir/audit/`, see `audit.rs`); unset, it follows
    /// `authorization`.
    pub audit: Option<bool>,
    /// The server's certificate chain (PEM). With `tls_key`, the port speaks only TLS.
    pub tls_cert: Option<PathBuf>,
    /// The private key of `tls_cert` (PEM).
    pub tls_key: Option<PathBuf>,
    /// CA certificates (PEM) that sign client certificates: mutual TLS, where a client
    /// without a certificate this CA signed is refused in the handshake.
    pub tls_client_ca: Option<PathBuf>,
}

impl SecuritySettings {
    /// Whether the audit log is kept: as set, else with authorization (without users it
    /// could only say which address did what).
    pub fn audit_enabled(&self) -> bool {
        self.audit.unwrap_or(self.authorization)
    }

    /// A certificate needs its key and the reverse; a client CA means nothing without
    /// TLS. Caught at load, so a half-configured server never starts in plaintext.
    fn check_tls(&self) -> Result<(), ConfigError> {
        match (&self.tls_cert, &self.tls_key, &self.tls_client_ca) {
            (Some(_), None, _) => Err(ConfigError::Tls("tls_cert is set without tls_key")),
            (None, Some(_), _) => Err(ConfigError::Tls("tls_key is set without tls_cert")),
            (None, None, Some(_)) => Err(ConfigError::Tls("tls_client_ca needs tls_cert and tls_key")),
            _ => Ok(()),
        }
    }
}

/// The HTTP port serving `/metrics` (Prometheus) and `/healthz`, on `host`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    pub enabled: bool,
    /// Milvus's metrics port by default; `0` takes any free port (the ready line names it).
    pub port: u16,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings { enabled: true, port: 9091 }
    }
}

/// Background data maintenance: sealing, compaction, garbage collection.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSettings {
    /// Seal a collection's growing data at this many MiB.
    pub seal_mb: u64,
    /// Seal growing data idle for this many seconds.
    pub seal_idle_seconds: u64,
    /// How often automatic compaction looks for small segments and deleted rows.
    pub compaction_interval_seconds: u64,
    /// How often garbage collection runs.
    pub gc_interval_seconds: u64,
    /// Unreferenced files younger than this are kept.
    pub gc_grace_seconds: u64,
    /// Finished restore jobs stay listed this long.
    pub restore_job_retention_seconds: u64,
    /// Restore jobs copying at once (more wait in the queue).
    pub restore_workers: usize,
    /// How RestoreSnapshot makes a restored collection's files: `clone` references the
    /// snapshot's files (instant at any size), `copy` makes independent, verified copies.
    pub restore_mode: RestoreModeSetting,
    /// Whether a clone's files are read back against their CRC-32C after it completes.
    pub verify_clones: bool,
    /// On SIGTERM/SIGINT, how long background work and restore jobs get to finish or save
    /// their progress before the process exits.
    pub shutdown_timeout_seconds: u64,
    /// How long CreateSnapshot waits for the index builds of the segments it captures.
    pub snapshot_index_wait_seconds: u64,
}

/// `[data] restore_mode` as written in the TOML file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RestoreModeSetting {
    Clone,
    Copy,
}

impl From<RestoreModeSetting> for quiver_engine::restore::RestoreMode {
    fn from(setting: RestoreModeSetting) -> Self {
        match setting {
            RestoreModeSetting::Clone => quiver_engine::restore::RestoreMode::Clone,
            RestoreModeSetting::Copy => quiver_engine::restore::RestoreMode::Copy,
        }
    }
}

impl Default for DataSettings {
    fn default() -> Self {
        DataSettings {
            seal_mb: 64,
            seal_idle_seconds: 600,
            compaction_interval_seconds: 60,
            gc_interval_seconds: 60,
            gc_grace_seconds: 3600,
            restore_job_retention_seconds: 3 * 3600,
            restore_workers: 2,
            restore_mode: RestoreModeSetting::Clone,
            verify_clones: true,
            shutdown_timeout_seconds: 30,
            snapshot_index_wait_seconds: 60,
        }
    }
}

impl Config {
    /// The object store to use: the configured one, or `data_dir/objects`.
    pub fn object_store(&self) -> ObjectStoreConfig {
        self.storage.clone().unwrap_or_else(|| ObjectStoreConfig::Local { root: self.data_dir.join("objects") })
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./quiver-data"),
            host: "127.0.0.1".to_string(),
            port: 19530,
            log_level: "info".to_string(),
            storage: None,
            data: DataSettings::default(),
            metrics: MetricsSettings::default(),
            security: SecuritySettings::default(),
        }
    }
}

/// Values given on the command line; `None` leaves the lower layers' value.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub metrics_port: Option<u16>,
    pub authorization: Option<bool>,
    pub audit: Option<bool>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_client_ca: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config file {path}: {source}")]
    Parse { path: PathBuf, source: Box<toml::de::Error> },
    #[error("invalid value {value:?} for environment variable {name}: {reason}")]
    Env { name: &'static str, value: String, reason: String },
    #[error("invalid log_level {value:?}: {reason}")]
    LogLevel { value: String, reason: String },
    #[error("invalid TLS settings: {0}")]
    Tls(&'static str),
}

/// Libraries whose debug output is per frame or per poll: quiet unless the filter names them.
const CHATTY_TARGETS: &[&str] = &["h2", "hyper", "hyper_util", "tower", "tonic", "reqwest", "rustls"];

impl Config {
    /// The log filter `log_level` stands for: a level (`debug`) or `tracing` directives
    /// (`quiver_engine=debug,info`). A bare word that is not a level would silently filter
    /// everything out, so it is refused.
    pub fn log_filter(&self) -> Result<tracing_subscriber::EnvFilter, ConfigError> {
        let refuse = |reason: String| ConfigError::LogLevel { value: self.log_level.clone(), reason };
        const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];
        for directive in self.log_level.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            if !directive.contains('=') && !LEVELS.contains(&directive.to_ascii_lowercase().as_str()) {
                return Err(refuse(format!("{directive:?} is not a level ({}) nor target=level", LEVELS.join(", "))));
            }
        }
        let mut filter = self.log_level.clone();
        for target in CHATTY_TARGETS.iter().filter(|t| !self.log_level.contains(*t)) {
            filter.push_str(&format!(",{target}=info"));
        }
        tracing_subscriber::EnvFilter::try_new(&filter).map_err(|e| refuse(e.to_string()))
    }
}

impl Config {
    /// Build the configuration from every layer. `env` is a lookup so tests need not
    /// touch the process environment.
    pub fn load(file: Option<&Path>, env: impl Fn(&str) -> Option<String>, flags: Overrides) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.to_path_buf(), source: Box::new(source) })?
            }
            None => Config::default(),
        };
        if let Some(dir) = env("QUIVER_DATA_DIR") {
            config.data_dir = PathBuf::from(dir);
        }
        if let Some(host) = env("QUIVER_HOST") {
            config.host = host;
        }
        if let Some(port) = env("QUIVER_PORT") {
            config.port = port.parse().map_err(|e: std::num::ParseIntError| ConfigError::Env {
                name: "QUIVER_PORT",
                value: port.clone(),
                reason: e.to_string(),
            })?;
        }
        if let Some(port) = env("QUIVER_METRICS_PORT") {
            config.metrics.port = port.parse().map_err(|e: std::num::ParseIntError| ConfigError::Env {
                name: "QUIVER_METRICS_PORT",
                value: port.clone(),
                reason: e.to_string(),
            })?;
        }
        if let Some(value) = env("QUIVER_AUTHORIZATION") {
            config.security.authorization = value.parse().map_err(|e: std::str::ParseBoolError| ConfigError::Env {
                name: "QUIVER_AUTHORIZATION",
                value: value.clone(),
                reason: e.to_string(),
            })?;
        }
        if let Some(value) = env("QUIVER_AUDIT") {
            config.security.audit = Some(value.parse().map_err(|e: std::str::ParseBoolError| ConfigError::Env {
                name: "QUIVER_AUDIT",
                value: value.clone(),
                reason: e.to_string(),
            })?);
        }
        for (name, setting) in [
            ("QUIVER_TLS_CERT", &mut config.security.tls_cert),
            ("QUIVER_TLS_KEY", &mut config.security.tls_key),
            ("QUIVER_TLS_CLIENT_CA", &mut config.security.tls_client_ca),
        ] {
            if let Some(path) = env(name) {
                *setting = Some(PathBuf::from(path));
            }
        }
        if let Some(level) = env("QUIVER_LOG_LEVEL") {
            config.log_level = level;
        }
        if let Some(ObjectStoreConfig::S3(s3)) = &mut config.storage {
            if let Some(key) = env("QUIVER_S3_ACCESS_KEY_ID") {
                s3.access_key_id = key;
            }
            if let Some(secret) = env("QUIVER_S3_SECRET_ACCESS_KEY") {
                s3.secret_access_key = secret;
            }
        }
        if let Some(dir) = flags.data_dir {
            config.data_dir = dir;
        }
        if let Some(host) = flags.host {
            config.host = host;
        }
        if let Some(port) = flags.port {
            config.port = port;
        }
        if let Some(port) = flags.metrics_port {
            config.metrics.port = port;
        }
        if let Some(authorization) = flags.authorization {
            config.security.authorization = authorization;
        }
        if flags.audit.is_some() {
            config.security.audit = flags.audit;
        }
        for (flag, setting) in [
            (flags.tls_cert, &mut config.security.tls_cert),
            (flags.tls_key, &mut config.security.tls_key),
            (flags.tls_client_ca, &mut config.security.tls_client_ca),
        ] {
            if flag.is_some() {
                *setting = flag;
            }
        }
        config.security.check_tls()?;
        config.log_filter()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("quiver.toml");
        std::fs::write(&file, "data_dir = \"/from/file\"\nport = 1\nhost = \"0.0.0.0\"\n").unwrap();
        let env: HashMap<&str, &str> = [("QUIVER_PORT", "2"), ("QUIVER_HOST", "10.0.0.1")].into();
        let config = Config::load(
            Some(&file),
            |k| env.get(k).map(|v| v.to_string()),
            Overrides { host: Some("127.0.0.2".into()), ..Default::default() },
        )
        .unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/from/file"));
        assert_eq!(config.port, 2);
        assert_eq!(config.host, "127.0.0.2");
    }

    #[test]
    fn storage_and_data_sections_parse() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("quiver.toml");
        std::fs::write(&file, "[storage]\nkind = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:9\"\n[data]\nseal_mb = 8\n")
            .unwrap();
        let env = |k: &str| (k == "QUIVER_S3_SECRET_ACCESS_KEY").then(|| "s3cr3t".to_string());
        let config = Config::load(Some(&file), env, Overrides::default()).unwrap();
        let ObjectStoreConfig::S3(s3) = config.object_store() else { panic!("expected s3") };
        assert_eq!((s3.bucket.as_str(), s3.secret_access_key.as_str()), ("b", "s3cr3t"));
        assert_eq!(config.data.seal_mb, 8);
        assert_eq!(config.data.seal_idle_seconds, 600);
        let local = Config::default().object_store();
        assert_eq!(local, ObjectStoreConfig::Local { root: PathBuf::from("./quiver-data/objects") });
    }

    #[test]
    fn authorization_is_off_unless_a_layer_turns_it_on() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("auth.toml");
        std::fs::write(&file, "[security]\nauthorization = true\n").unwrap();
        assert!(!Config::load(None, |_| None, Overrides::default()).unwrap().security.authorization);
        assert!(Config::load(Some(&file), |_| None, Overrides::default()).unwrap().security.authorization);
        let off = |k: &str| (k == "QUIVER_AUTHORIZATION").then(|| "false".to_string());
        assert!(!Config::load(Some(&file), off, Overrides::default()).unwrap().security.authorization);
        let flag = Overrides { authorization: Some(true), ..Default::default() };
        assert!(Config::load(None, off, flag).unwrap().security.authorization);
        let bad = |k: &str| (k == "QUIVER_AUTHORIZATION").then(|| "yes".to_string());
        assert!(Config::load(None, bad, Overrides::default()).unwrap_err().to_string().contains("QUIVER_AUTHORIZATION"));
    }

    #[test]
    fn audit_follows_authorization_unless_set() {
        let on = Overrides { authorization: Some(true), ..Default::default() };
        assert!(!Config::load(None, |_| None, Overrides::default()).unwrap().security.audit_enabled());
        assert!(Config::load(None, |_| None, on.clone()).unwrap().security.audit_enabled());
        let off = |k: &str| (k == "QUIVER_AUDIT").then(|| "false".to_string());
        assert!(!Config::load(None, off, on).unwrap().security.audit_enabled());
        let flag = Overrides { audit: Some(true), ..Default::default() };
        assert!(Config::load(None, off, flag).unwrap().security.audit_enabled());
    }

    #[test]
    fn tls_paths_layer_and_must_come_in_pairs() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tls.toml");
        std::fs::write(&file, "[security]\ntls_cert = \"/file/cert.pem\"\ntls_key = \"/file/key.pem\"\n").unwrap();
        let env = |k: &str| (k == "QUIVER_TLS_KEY").then(|| "/env/key.pem".to_string());
        let flags = Overrides { tls_client_ca: Some("/flag/ca.pem".into()), ..Default::default() };
        let security = Config::load(Some(&file), env, flags).unwrap().security;
        assert_eq!(security.tls_cert, Some(PathBuf::from("/file/cert.pem")));
        assert_eq!(security.tls_key, Some(PathBuf::from("/env/key.pem")));
        assert_eq!(security.tls_client_ca, Some(PathBuf::from("/flag/ca.pem")));
        let half = Overrides { tls_cert: Some("/c.pem".into()), ..Default::default() };
        assert!(Config::load(None, |_| None, half).unwrap_err().to_string().contains("without tls_key"));
        let ca_only = Overrides { tls_client_ca: Some("/ca.pem".into()), ..Default::default() };
        assert!(Config::load(None, |_| None, ca_only).unwrap_err().to_string().contains("tls_client_ca needs"));
    }

    #[test]
    fn defaults_are_embedded() {
        let config = Config::load(None, |_| None, Overrides::default()).unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.port, 19530);
    }

    #[test]
    fn log_levels_are_levels_or_directives() {
        let with = |level: &str| Config::load(None, |k| (k == "QUIVER_LOG_LEVEL").then(|| level.to_string()), Overrides::default());
        for good in ["info", "DEBUG", "quiver_engine=debug,info", "warn,h2=trace", "off"] {
            assert!(with(good).is_ok(), "{good}");
        }
        for bad in ["verbose", "info,loud", "quiver=shout"] {
            let error = with(bad).unwrap_err().to_string();
            assert!(error.starts_with(&format!("invalid log_level {bad:?}")), "{error}");
        }
        // Frame-level library output stays quiet unless asked for.
        let filter = with("debug").unwrap().log_filter().unwrap().to_string();
        assert!(filter.contains("h2=info") && filter.contains("debug"), "{filter}");
        assert!(!with("h2=trace").unwrap().log_filter().unwrap().to_string().contains("h2=info"));
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        let err = Config::load(None, |k| (k == "QUIVER_PORT").then(|| "abc".to_string()), Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("QUIVER_PORT"));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "prot = 1\n").unwrap();
        let err = Config::load(Some(&file), |_| None, Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("prot"));
    }
}
