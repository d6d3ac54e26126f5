//! TLS for SMPP links, on rustls: the client side of the ESME connector and
//! the listener side of the SMPP server and the SMSC simulator, built once
//! from files at start so that a missing or unreadable certificate is a
//! configuration error, not a connection that keeps failing.
//!
//! Every connection of a TLS client or listener is TLS: a failed handshake
//! fails the connection, there is no plaintext fallback.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;

use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::{WebPkiServerVerifier, verify_server_name};
use tokio_rustls::rustls::crypto::{self, CryptoProvider};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::server::ParsedCertificate;
use tokio_rustls::rustls::{
    self, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme,
};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::wire::{self, BoxWrite, Reader};

/// Whose certificates a client accepts.
#[derive(Debug, Clone, Copy)]
pub enum Trust<'a> {
    /// Those issued under the system's root certificates.
    System,
    /// Those issued under the certificates of this PEM file (a private
    /// CA), and those of the file presented as they are (a self-signed
    /// certificate).
    CaFile(&'a Path),
    /// Any certificate, for any name: encrypted, but not authenticated.
    Anything,
}

/// What a client needs to open TLS connections to one server.
pub struct Client {
    pub connector: TlsConnector,
    /// Checked against the server's certificate, and sent as SNI.
    pub server_name: ServerName<'static>,
}

/// The one crypto provider, named rather than left to the process default,
/// which is ambiguous when another crate enables a second one.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(crypto::aws_lc_rs::default_provider())
}

pub fn client(trust: Trust<'_>, server_name: &str) -> Result<Client, String> {
    let name = ServerName::try_from(server_name.to_owned())
        .map_err(|e| format!("{server_name:?} is not a server name: {e}"))?;
    let provider = provider();
    let (roots, pinned) = match trust {
        Trust::System => (Some(system_roots()?), Vec::new()),
        Trust::CaFile(path) => {
            let certs = read_certificates(path)?;
            let mut roots = RootCertStore::empty();
            for cert in &certs {
                roots
                    .add(cert.clone())
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            (Some(roots), certs)
        }
        Trust::Anything => (None, Vec::new()),
    };
    let issued = match roots {
        Some(roots) => Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let verifier = Verifier {
        issued,
        pinned,
        provider: provider.clone(),
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Client {
        connector: TlsConnector::from(Arc::new(config)),
        server_name: name,
    })
}

/// A listener's certificate chain and private key, as PEM files (the
/// `tls` section of the SMPP server and of the simulator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerTls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl ListenerTls {
    /// The listener's TLS side; an unreadable file is an `InvalidInput`
    /// error that names it.
    pub(crate) fn acceptor(&self) -> io::Result<TlsAcceptor> {
        acceptor(&self.cert_file, &self.key_file)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("tls: {e}")))
    }
}

fn acceptor(cert_file: &Path, key_file: &Path) -> Result<TlsAcceptor, String> {
    let chain = read_certificates(cert_file)?;
    let key = std::fs::read(key_file)
        .map_err(|e| e.to_string())
        .and_then(|pem| PrivateKeyDer::from_pem_slice(&pem).map_err(|e| e.to_string()))
        .map_err(|e| format!("{}: {e}", key_file.display()))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("{} with {}: {e}", cert_file.display(), key_file.display()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// How long an accepted client has to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Completes the TLS handshake of a connection a listener accepted and
/// splits it into its halves. Run it in the connection's own task, so that
/// a slow client does not hold the others up.
pub async fn accept(acceptor: &TlsAcceptor, stream: TcpStream) -> io::Result<(Reader, BoxWrite)> {
    let handshake = async {
        stream.set_nodelay(true)?;
        acceptor.accept(stream).await
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(stream) => Ok(wire::split(stream?)),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no TLS handshake within {HANDSHAKE_TIMEOUT:?}"),
        )),
    }
}

/// The certificates of a PEM file; at least one.
fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(certs)
}

fn system_roots() -> Result<RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let errors: Vec<String> = found.errors.iter().map(|e| e.to_string()).collect();
        return Err(format!(
            "no system root certificate found ({}); name a CA file",
            errors.join("; ")
        ));
    }
    Ok(roots)
}

/// Checks a server's certificate, in this order:
///
/// - a certificate of `pinned` presented as is is trusted for the names it
///   carries, whatever its dates and CA flag: webpki refuses a CA
///   certificate as a server's own, and `openssl req -x509` makes
///   self-signed certificates CA ones, yet an exact copy of a certificate
///   the operator trusts, whose key the handshake proves the server holds,
///   is as trusted as a certificate can be;
/// - else webpki checks that it chains to `issued`'s roots, is in its dates
///   and carries the name;
/// - without `issued` (`Trust::Anything`) any certificate is accepted.
///
/// The handshake signatures are checked in every case, so that the link is
/// encrypted to the holder of the certificate's key.
#[derive(Debug)]
struct Verifier {
    issued: Option<Arc<WebPkiServerVerifier>>,
    pinned: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.pinned.iter().any(|pin| pin == end_entity) {
            verify_server_name(&ParsedCertificate::try_from(end_entity)?, server_name)?;
            return Ok(ServerCertVerified::assertion());
        }
        match &self.issued {
            Some(issued) => issued.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
            None => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
