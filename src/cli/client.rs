//! The HTTP client of `sihai ingest` and `sihai export` (when the daemon holds the store):
//! one agent for both, which speaks `https://` as well as `http://`, and the message for a
//! daemon that cannot be reached, saying what to do next.
//!
//! TLS is rustls with the system's root certificates through rustls-platform-verifier: on
//! Linux the CA bundle the system keeps (`/etc/ssl/certs`), or instead the PEM file named by
//! `SSL_CERT_FILE` (or the directories of `SSL_CERT_DIR`), so a CMS reaches sihai through
//! the same TLS proxy its readers use (sihai itself speaks plain HTTP).

use std::time::Duration;

use ureq::tls::{RootCerts, TlsConfig};

/// The agent every API request of the CLI goes through: HTTP statuses are answers (the
/// caller reads 4xx bodies), `timeout` bounds a whole request, TLS trusts the system's roots.
pub fn agent(timeout: Option<Duration>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(timeout)
        .tls_config(TlsConfig::builder().root_certs(RootCerts::PlatformVerifier).build())
        .build()
        .into()
}

/// Why the daemon at `server` could not be reached, and what to do about it.
pub fn unreachable(server: &str, e: &ureq::Error) -> String {
    // rustls's errors come as they are, or inside the I/O error of the TLS stream.
    let tls = match e {
        ureq::Error::Rustls(t) => Some(t),
        ureq::Error::Io(io) => io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        _ => None,
    };
    let io_kind = match e {
        ureq::Error::Io(io) => Some(io.kind()),
        _ => None,
    };
    match tls {
        Some(t @ rustls::Error::InvalidCertificate(_)) => {
            return format!(
                "cannot reach the daemon at {server}: its TLS certificate is not trusted ({t}); \
                 if the certificate is signed by your own CA, add that CA to the system's roots \
                 (Debian: copy it to /usr/local/share/ca-certificates/NAME.crt and run \
                 update-ca-certificates), or run with SSL_CERT_FILE=/path/to/bundle.pem (a PEM \
                 file used instead of the system's roots: include your CA); and check that \
                 --server names the host the certificate is for"
            )
        }
        Some(t) => {
            return format!(
                "cannot reach the daemon at {server}: TLS failed ({t}); check that this address \
                 speaks https (sihai itself speaks plain http: use http:// for the daemon, \
                 https:// for a TLS proxy in front of it)"
            )
        }
        None => {}
    }
    match e {
        ureq::Error::Protocol(_) if server.starts_with("http://") => format!(
            "cannot reach the daemon at {server}: the answer is not HTTP ({e}); if a TLS proxy \
             listens there, use https://"
        ),
        ureq::Error::HostNotFound => {
            format!("cannot reach the daemon at {server}: its host name is not found; check --server")
        }
        ureq::Error::Timeout(_) => format!(
            "cannot reach the daemon at {server}: no answer in time ({e}); check that the \
             daemon runs and that nothing between drops the connection"
        ),
        ureq::Error::ConnectionFailed => format!(
            "cannot reach the daemon at {server}: nothing answers there; start it (sihai serve), \
             or give its URL with --server"
        ),
        _ if io_kind == Some(std::io::ErrorKind::ConnectionRefused) => format!(
            "cannot reach the daemon at {server}: nothing answers there ({e}); start it \
             (sihai serve), or give its URL with --server"
        ),
        _ => format!(
            "cannot reach the daemon at {server}: {e}; check that it runs (sihai serve) and that \
             --server (default: http:// and [server] listen) is its URL"
        ),
    }
}
