//! TLS to the database: used when the store URL says `sslmode=require`, and then always with
//! the server's certificate and name verified (as libpq's `verify-full`), against the public
//! web roots and the operator's own CA file if given. Without `sslmode=require` the
//! connection is plain, for a database on the same host or a private network.

use crate::EngineError;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::path::Path;
use std::sync::Arc;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Whether the connection must be encrypted; any other mode than `require` is made plain,
/// so that a default URL never half-tries an unverified TLS connection.
pub(super) fn required(config: &mut tokio_postgres::Config) -> bool {
    let required = config.get_ssl_mode() == SslMode::Require;
    if !required {
        config.ssl_mode(SslMode::Disable);
    }
    required
}

/// The TLS connector, trusting the web roots and the certificates of `ca_file` (PEM).
pub(super) fn connector(ca_file: Option<&Path>) -> Result<MakeRustlsConnect, EngineError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let bad = |e: &dyn std::fmt::Display| {
            EngineError::invalid(format!("the store CA file {}: {e}", path.display()))
        };
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
            roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| EngineError::invalid(format!("TLS to the store: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
