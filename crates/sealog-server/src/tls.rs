//! HTTPS: the same application and connection handling over rustls (ring).

use crate::connections::serve_connections;
use crate::error::ServerError;
use crate::server::Server;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sealog_storage::ErrorKind;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::TlsAcceptor;

/// Longest a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Loads a PEM certificate chain and private key into a server configuration.
pub fn config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, String> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read the certificate chain {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no PEM certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read the private key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the certificate and key do not form a usable pair: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Serves HTTPS on `listener` until `shutdown`, then drains connections (for at most the
/// drain timeout) and stops the engine as [`Server::serve`] does.
pub async fn serve(
    server: Server,
    listener: tokio::net::TcpListener,
    cert: &Path,
    key: &Path,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let config = config(cert, key).map_err(|e| ServerError::new(ErrorKind::Invalid, e))?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let handshake = move |tcp| {
        let acceptor = acceptor.clone();
        async move {
            // A handshake that fails or stalls concerns only that client.
            tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
                .await
                .ok()?
                .ok()
        }
    };
    server.start_witnessing();
    let limits = server.connection_limits();
    serve_connections(listener, server.router(), handshake, shutdown, limits).await;
    server.shutdown().await
}
