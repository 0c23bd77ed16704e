//! Server configuration. Precedence: defaults < TOML file (`--config`) < environment
//! (`QUIVER_*`) < command-line flags.
//!
//! | key (TOML) | environment | flag | default |
//! | --- | --- | --- | --- |
//! | `data_dir` | `QUIVER_DATA_DIR` | `--data-dir` | `./quiver-data` |
//! | `host` | `QUIVER_HOST` | `--host` | `127.0.0.1` |
//! | `port` | `QUIVER_PORT` | `--port` | `19530` |
//! | `log_level` | `QUIVER_LOG_LEVEL` | – | `info` |

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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./quiver-data"),
            host: "127.0.0.1".to_string(),
            port: 19530,
            log_level: "info".to_string(),
        }
    }
}

/// Values given on the command line; `None` leaves the lower layers' value.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub host: Option<String>,
    pub port: Option<u16>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config file {path}: {source}")]
    Parse { path: PathBuf, source: Box<toml::de::Error> },
    #[error("invalid value {value:?} for environment variable {name}: {reason}")]
    Env { name: &'static str, value: String, reason: String },
}

impl Config {
    /// Build the configuration from every layer. `env` is a lookup so tests need not
    /// touch the process environment.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
        flags: Overrides,
    ) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
                toml::from_str(&text)
                    .map_err(|source| ConfigError::Parse { path: path.to_path_buf(), source: Box::new(source) })?
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
        if let Some(level) = env("QUIVER_LOG_LEVEL") {
            config.log_level = level;
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
    fn defaults_are_embedded() {
        let config = Config::load(None, |_| None, Overrides::default()).unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.port, 19530);
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
