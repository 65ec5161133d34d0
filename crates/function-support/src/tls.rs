//! The HTTPS client both AWS clients share: rustls, trusting roots compiled into the binary.
//!
//! Reading the OS store at start (about 290 certificates) costs a cold start for nothing: AWS
//! endpoints chain to the Amazon Trust Services roots (`tls/amazon-roots.pem`, from Mozilla's
//! list). Behind a TLS-inspecting proxy, `AWS_CA_BUNDLE` names a PEM file whose certificates
//! are trusted besides them (the variable the AWS CLI and other SDKs read).

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Amazon Root CA 1 to 4 and Starfield Services Root G2, PEM.
pub const AMAZON_ROOTS_PEM: &str = include_str!("tls/amazon-roots.pem");
/// The setting naming a PEM file of extra trusted certificates.
pub const EXTRA_CA_VARIABLE: &str = "AWS_CA_BUNDLE";

/// The crypto of every TLS connection.
const CRYPTO: tls::rustls_provider::CryptoMode = tls::rustls_provider::CryptoMode::Ring;

/// An HTTPS client trusting the compiled-in roots and `extra_ca_pem` (PEM certificates).
pub fn https_client(extra_ca_pem: Option<&[u8]>) -> SharedHttpClient {
    let mut trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AMAZON_ROOTS_PEM.as_bytes());
    if let Some(pem) = extra_ca_pem {
        trust = trust.with_pem_certificate(pem);
    }
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a trust store of PEM certificates always builds");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CRYPTO))
        .tls_context(context)
        .build_https()
}

/// How many certificates a PEM text holds (none for a file that is not PEM).
pub fn count_certificates(pem: &[u8]) -> usize {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem)
        .filter(Result::is_ok)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn the_compiled_in_roots_are_the_five_amazon_roots_of_mozillas_list() {
        let ours: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(AMAZON_ROOTS_PEM.as_bytes())
                .collect::<Result<_, _>>()
                .expect("valid PEM");
        assert_eq!(ours.len(), 5);
        for cert in &ours {
            assert!(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS.contains(cert),
                "a compiled-in root that is not in Mozilla's list"
            );
        }
        assert_eq!(count_certificates(AMAZON_ROOTS_PEM.as_bytes()), 5);
        assert_eq!(count_certificates(b"not a certificate"), 0);
    }
}
