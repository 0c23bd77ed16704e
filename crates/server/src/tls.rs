//! TLS on the serving port: one-way (`[security] tls_cert` + `tls_key`) or mutual
//! (`tls_client_ca` too: a client must present a certificate that CA signed).
//!
//! The acceptor is ours rather than tonic's `ServerTlsConfig` for two reasons: the port
//! also serves the RESTful API and the console over HTTP/1.1, so ALPN offers `h2` and
//! `http/1.1` (tonic's offers only `h2`, and rustls refuses a client whose offer does not
//! overlap); and a refused handshake is logged at `warn` with the peer and the reason
//! (tonic logs it at `debug`), so an operator sees why a client could not connect. Each
//! handshake runs in its own task with a deadline, so a slow or silent client cannot hold
//! up the accept loop.

use futures::Stream;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;

use crate::config::SecuritySettings;

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for the server to take them.
const ACCEPTED_BACKLOG: usize = 64;

/// What the port speaks, for the ready line.
pub fn mode(settings: &SecuritySettings) -> &'static str {
    match (&settings.tls_cert, &settings.tls_client_ca) {
        (None, _) => "off",
        (Some(_), None) => "one-way",
        (Some(_), Some(_)) => "mutual",
    }
}

/// The acceptor the settings ask for, or `None` for plaintext. Fails on a file that
/// cannot be read or holds no usable certificate or key.
pub fn acceptor(settings: &SecuritySettings) -> Result<Option<TlsAcceptor>, String> {
    let (Some(cert_path), Some(key_path)) = (&settings.tls_cert, &settings.tls_key) else {
        return Ok(None);
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certificates(cert_path, "tls_cert")?;
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| format!("cannot read tls_key {}: {e}", key_path.display()))?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let builder = match &settings.tls_client_ca {
        None => builder.with_no_client_auth(),
        Some(ca_path) => {
            let mut roots = RootCertStore::empty();
            for certificate in certificates(ca_path, "tls_client_ca")? {
                roots.add(certificate).map_err(|e| format!("invalid certificate in tls_client_ca {}: {e}", ca_path.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("cannot verify clients with tls_client_ca {}: {e}", ca_path.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("tls_cert {} and tls_key {} do not make a usable pair: {e}", cert_path.display(), key_path.display()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

fn certificates(path: &Path, setting: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read {setting} {}: {e}", path.display()))?;
    if chain.is_empty() {
        return Err(format!("{setting} {} holds no PEM certificate", path.display()));
    }
    Ok(chain)
}

/// The TLS connections made on `listener`: accepted, handshaken in their own tasks, and
/// handed over in the order their handshakes finish. The accept loop ends when the
/// stream is dropped (the server shut down).
pub fn incoming(listener: TcpListener, acceptor: TlsAcceptor) -> impl Stream<Item = Result<TlsStream<TcpStream>, std::io::Error>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(ACCEPTED_BACKLOG);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = sender.closed() => return,
            };
            let (tcp, peer) = match accepted {
                Ok(connection) => connection,
                Err(error) => {
                    // Out of file descriptors and the like: the next accept may succeed.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let (acceptor, sender) = (acceptor.clone(), sender.clone());
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = sender.send(stream).await;
                    }
                    Ok(Err(error)) => refused(peer, &error),
                    Err(_) => tracing::warn!(%peer, "refused a connection: no TLS handshake within {HANDSHAKE_TIMEOUT:?}"),
                }
            });
        }
    });
    futures::stream::unfold(receiver, |mut receiver| async move { receiver.recv().await.map(|stream| (Ok(stream), receiver)) })
}

/// Log a failed handshake; bytes that are not TLS at all most likely come from a client
/// configured for plaintext, so the line says so. A connection closed before it said
/// anything (a TCP health probe, a port scan) is not worth a warning.
fn refused(peer: SocketAddr, error: &std::io::Error) {
    if error.kind() == std::io::ErrorKind::UnexpectedEof {
        tracing::debug!(%peer, %error, "a connection closed before its TLS handshake");
        return;
    }
    let not_tls =
        error.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()).is_some_and(|e| matches!(e, rustls::Error::InvalidMessage(_)));
    if not_tls {
        tracing::warn!(%peer, %error, "refused a connection: not TLS (a plaintext client? this port serves TLS only: use https://)");
    } else {
        tracing::warn!(%peer, %error, "refused a connection: TLS handshake failed");
    }
}
