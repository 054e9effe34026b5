//! `sihai ingest` and `sihai export` through real nginx terminating TLS on loopback, as a
//! CMS publishes through the site's https proxy: a CA and a server certificate are made
//! here with the `openssl` CLI, the CA is trusted through `SSL_CERT_FILE` (which the
//! client's verifier reads instead of the system's roots), and an untrusted CA is refused
//! with a message that says what to do.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::util::*;

const NGINX: &str = "/usr/sbin/nginx";

/// A CA and a certificate it signed for `127.0.0.1` and `localhost`, made with openssl in
/// `dir`: (CA PEM, certificate PEM, key PEM).
fn make_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=sihai test CA"]);
    ca.extend(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(&ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
    openssl(&csr);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\n\
         keyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}

/// nginx terminating TLS on a free loopback port in front of `upstream`; stopped (QUIT to
/// its PID) when dropped.
struct TlsProxy {
    child: Child,
    port: u16,
}

impl TlsProxy {
    fn start(dir: &Path, upstream: &str, cert: &Path, key: &Path) -> TlsProxy {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let d = dir.display();
        use std::os::unix::fs::MetadataExt;
        let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
        let conf = format!(
            "{user}worker_processes 1;\nerror_log {d}/error.log info;\nevents {{ worker_connections 32; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             server {{\n    listen 127.0.0.1:{port} ssl;\n    ssl_certificate {cert};\n    \
             ssl_certificate_key {key};\n    client_max_body_size 20m;\n    \
             location / {{ proxy_pass http://{upstream}; proxy_buffering off; }}\n  }}\n}}\n",
            user = if root { "user root;\n" } else { "" },
            cert = cert.display(),
            key = key.display(),
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new(NGINX)
            .args(["-p", &d.to_string(), "-e", &format!("{d}/error.log"), "-c", &format!("{d}/nginx.conf")])
            .args(["-g", &format!("daemon off; pid {d}/nginx.pid;")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nginx");
        let mut proxy = TlsProxy { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = proxy.child.try_wait() {
                let mut err = String::new();
                let _ = proxy.child.stderr.take().map(|mut e| e.read_to_string(&mut err));
                let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                panic!("nginx exited: {status}\n{err}\n{log}");
            }
            assert!(Instant::now() < deadline, "nginx did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        proxy
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        super::util::stop_gracefully(&mut self.child);
    }
}

/// `sihai ARGS` with the daemon's token and this `SSL_CERT_FILE` (none: the system's roots).
fn sihai(site: &Site, d: &Daemon, ca: Option<&Path>, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sihai"));
    cmd.arg("--config").arg(&site.config).args(args).env("SIHAI_TOKEN", &d.token).stdin(Stdio::null());
    cmd.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
    if let Some(ca) = ca {
        cmd.env("SSL_CERT_FILE", ca);
    }
    cmd.output().expect("run sihai").into()
}

#[test]
fn ingest_and_export_reach_the_daemon_through_a_tls_proxy_and_an_untrusted_ca_says_what_to_do() {
    if !Path::new(NGINX).exists() {
        return skip("nginx is not installed", "apt-get install nginx");
    }
    if Command::new("openssl").arg("version").output().is_err() {
        return skip("the openssl command is not installed", "apt-get install openssl");
    }
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_certificates(certs.path());
    let site = Site::shipped();
    let d = site.start();
    let proxy = TlsProxy::start(certs.path(), &d.addr(), &cert, &key);
    let url = format!("https://127.0.0.1:{}", proxy.port);
    let article = site.write(
        "tls.json",
        r#"{"id": "tls-1", "title": "经由代理发布", "category": "湖南", "published": "2024-05-01 08:00"}"#,
    );
    let file = article.display().to_string();

    // Not trusted: refused before anything is sent, with what to do.
    let run = sihai(&site, &d, None, &["ingest", "--server", &url, &file]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("TLS certificate is not trusted"), "{}", run.stderr);
    assert!(run.stderr.contains("SSL_CERT_FILE") && run.stderr.contains("update-ca-certificates"), "{}", run.stderr);
    assert_eq!(d.api("GET", "/api/articles/tls-1", None).0, 404, "nothing was written");

    // The CA trusted through SSL_CERT_FILE: stored, and read back.
    let run = sihai(&site, &d, Some(&ca), &["ingest", "--server", &url, &file]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("1 created"), "{}", run.stdout);
    let (status, stored) = d.api("GET", "/api/articles/tls-1", None);
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["title"], "经由代理发布");

    // export: the daemon holds the store, so it streams /api/export through the proxy.
    let run = sihai(&site, &d, Some(&ca), &["export", "--server", &url]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.lines().any(|l| l.contains("\"tls-1\"") && l.contains("经由代理发布")), "{}", run.stdout);
    let run = sihai(&site, &d, None, &["export", "--server", &url]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("TLS certificate is not trusted"), "{}", run.stderr);
}
