//! `quiver`: the Quiver server and its command-line tools.

mod access;
mod audit;
mod background;
mod cli;
mod config;
mod console;
mod convert;
mod inspect;
mod observe;
mod rest;
mod serve;
mod service;
mod status;
mod text;
mod tls;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "quiver", version, about = "A vector database that speaks the Milvus protocol")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (embedded storage under the data directory by default).
    Serve {
        /// TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Where metadata and data live (default ./quiver-data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Address to listen on (default 127.0.0.1).
        #[arg(long)]
        host: Option<String>,
        /// Port to listen on (default 19530).
        #[arg(long)]
        port: Option<u16>,
        /// Port serving /metrics and /healthz (default 9091; 0: any free port).
        #[arg(long)]
        metrics_port: Option<u16>,
        /// Require users and check privileges (`true`), or serve everyone (`false`, the default).
        #[arg(long)]
        authorization: Option<bool>,
        /// Keep the audit log under the data directory (default: on with --authorization).
        #[arg(long)]
        audit: Option<bool>,
        /// Serve TLS with this certificate chain (PEM); needs --tls-key.
        #[arg(long)]
        tls_cert: Option<PathBuf>,
        /// The private key of --tls-cert (PEM).
        #[arg(long)]
        tls_key: Option<PathBuf>,
        /// Require client certificates signed by this CA (PEM): mutual TLS.
        #[arg(long)]
        tls_client_ca: Option<PathBuf>,
    },
    /// Snapshot calls against a running server: create, list, describe, restore, drop, jobs.
    Snapshot(cli::snapshot::SnapshotArgs),
    /// Print the audit log of a data directory, no server needed.
    Audit(audit::read::AuditArgs),
    /// Read snapshots straight from object storage, no server needed: list, show, files, verify, export.
    Inspect(inspect::InspectArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config, data_dir, host, port, metrics_port, authorization, audit, tls_cert, tls_key, tls_client_ca } => {
            let overrides =
                config::Overrides { data_dir, host, port, metrics_port, authorization, audit, tls_cert, tls_key, tls_client_ca };
            let config = match config::Config::load(config.as_deref(), |key| std::env::var(key).ok(), overrides) {
                Ok(config) => config,
                Err(error) => {
                    eprintln!("quiver: {error}");
                    return ExitCode::from(2);
                }
            };
            serve::run(config)
        }
        Command::Snapshot(args) => cli::snapshot::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Audit(args) => audit::read::run(args),
    }
}
