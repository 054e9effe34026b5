//! The harness: a site (config + store in a temp dir), the `sihai` binary, a daemon.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// The shipped configuration.
pub const SHIPPED_CONFIG: &str = include_str!("../../config/sihai.toml");

/// `text` with `from` replaced by `to`, for the tests' rewrites of a config: `from` must
/// occur exactly once, or the test fails here (a rewrite that silently does nothing would
/// leave the test checking the unmodified config).
pub fn replaced(text: &str, from: &str, to: &str) -> String {
    let n = text.matches(from).count();
    assert!(
        n == 1,
        "config rewrite: {from:?} occurs {n} time(s) in the config, not once; update the test to the config's text"
    );
    text.replacen(from, to, 1)
}

/// The category slugs of a config, in order, parsed as TOML.
pub fn category_slugs(text: &str) -> Vec<String> {
    let config: toml::Table = toml::from_str(text).expect("config parses as TOML");
    let categories = config.get("category").and_then(|c| c.as_array()).expect("config has [[category]] tables");
    categories
        .iter()
        .map(|c| c.get("slug").and_then(|s| s.as_str()).expect("every [[category]] has a slug").to_string())
        .collect()
}

/// Every feed slug of the shipped config: each category's, and `all`.
pub fn every_slug() -> Vec<String> {
    let mut slugs = category_slugs(SHIPPED_CONFIG);
    assert!(slugs.len() > 1, "the shipped config has categories: {slugs:?}");
    slugs.push("all".into());
    slugs
}

/// Whether the suite runs under CI (`CI` set to anything but empty, `0` or `false`).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "" | "0" | "false"))
}

/// Reports that the calling test cannot run on this machine, so that it never passes
/// silently: under CI it fails with `enable` (what to install or change); elsewhere it
/// writes a line to the terminal (past the harness's capture of passing tests' output)
/// and appends it to the file `$SIHAI_SKIPPED`, which `scripts/test` prints in its last
/// lines. The test returns right after: `return skip("...", "...")`.
pub fn skip(reason: &str, enable: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    assert!(!under_ci(), "{test} cannot run: {reason}. CI must run it; to enable it: {enable}");
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let line = format!("{test}: {}; to enable it: {}\n", one_line(reason), one_line(enable));
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("SKIPPED {line}").as_bytes());
    if let Some(path) = std::env::var_os("SIHAI_SKIPPED").filter(|p| !p.is_empty()) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", Path::new(&path).display()));
        file.write_all(line.as_bytes()).expect("record the skipped test");
    }
}

/// A site under test: its config file and store directory in a temp dir.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub data: PathBuf,
}

/// What a command printed and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Site {
    /// A site on the shipped config.
    pub fn shipped() -> Site {
        Site::with_config(SHIPPED_CONFIG)
    }

    /// A site on this config text (its `data_dir = "./data"` is replaced by the temp store).
    pub fn with_config(text: &str) -> Site {
        Site::with_config_and_data(text, None)
    }

    /// A site on this config text with its store in `data` (a temp dir's `data` if `None`).
    pub fn with_config_and_data(text: &str, data: Option<PathBuf>) -> Site {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = data.unwrap_or_else(|| dir.path().join("data"));
        let config = dir.path().join("sihai.toml");
        let text = replaced(text, "data_dir = \"./data\"", &format!("data_dir = {:?}", data.display().to_string()));
        std::fs::write(&config, text).expect("write config");
        Site { dir, config, data }
    }

    /// Writes a file into the site's temp dir.
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).expect("write input");
        p
    }

    /// Runs `sihai --config <site config> ARGS`.
    pub fn sihai(&self, args: &[&str]) -> Run {
        Command::new(env!("CARGO_BIN_EXE_sihai"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run sihai")
            .into()
    }

    /// `sihai import FILES`.
    pub fn import(&self, files: &[&Path]) -> Run {
        let mut args = vec!["import"];
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        args.extend(names.iter().map(String::as_str));
        self.sihai(&args)
    }

    /// Starts the daemon on an ephemeral loopback port and waits until it listens.
    pub fn start(&self) -> Daemon {
        self.start_with_env(&[])
    }

    /// Starts the daemon with extra environment variables.
    pub fn start_with_env(&self, env: &[(&str, &str)]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sihai"))
            .arg("--config")
            .arg(&self.config)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("SIHAI_TOKEN")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start daemon");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let log_w = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log_w.lock().unwrap().push_str(&format!("{line}\n"));
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(rest.split('/').next().unwrap_or("").to_string());
                    }
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().expect("daemon exit");
                std::thread::sleep(Duration::from_millis(100));
                panic!("daemon did not start: {status:?}\n{}", log.lock().unwrap());
            }
        };
        let token = std::fs::read_to_string(self.data.join("ingest.token"))
            .ok()
            .and_then(|t| t.lines().rfind(|l| !l.starts_with('#') && !l.trim().is_empty()).map(str::to_string))
            .unwrap_or_default();
        Daemon { child, base: format!("http://{addr}"), token, log }
    }

    /// Runs `sihai ingest --server <daemon> ARGS` with the daemon's token.
    pub fn ingest(&self, d: &Daemon, args: &[&str]) -> Run {
        Command::new(env!("CARGO_BIN_EXE_sihai"))
            .arg("--config")
            .arg(&self.config)
            .args(["ingest", "--server", &d.base])
            .args(args)
            .env("SIHAI_TOKEN", &d.token)
            .stdin(Stdio::null())
            .output()
            .expect("run sihai ingest")
            .into()
    }
}

/// A running daemon; killed (by its PID, via the Child handle) when dropped.
pub struct Daemon {
    child: Child,
    pub base: String,
    /// The generated ingest token (empty when tokens come from elsewhere).
    pub token: String,
    /// Everything the daemon has logged so far.
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

/// A response: status, headers, body.
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn resp(mut r: ureq::http::Response<ureq::Body>) -> Resp {
    let headers =
        r.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
    let status = r.status().as_u16();
    let body = r.body_mut().with_config().limit(64 << 20).read_to_vec().expect("read body");
    Resp { status, headers, body }
}

impl Daemon {
    /// GET a path.
    pub fn get(&self, path: &str) -> Resp {
        resp(agent().get(format!("{}{path}", self.base)).call().expect("GET"))
    }

    /// HEAD a path.
    pub fn head(&self, path: &str) -> Resp {
        resp(agent().head(format!("{}{path}", self.base)).call().expect("HEAD"))
    }

    /// POST a body to a path.
    pub fn post(&self, path: &str, body: &str) -> Resp {
        resp(agent().post(format!("{}{path}", self.base)).send(body).expect("POST"))
    }

    /// A request with a method, headers and body (`ureq` needs a body for POST and PUT).
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Resp {
        let uri = format!("{}{path}", self.base);
        let mut req = ureq::http::Request::builder().method(method).uri(&uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = match body {
            Some(b) => agent().run(req.body(b.to_vec()).expect("request")),
            None => agent().run(req.body(()).expect("request")),
        };
        resp(r.expect("request"))
    }

    /// An authorized API call with the daemon's token; JSON bodies.
    pub fn api(&self, method: &str, path: &str, body: Option<&str>) -> (u16, serde_json::Value) {
        let auth = format!("Bearer {}", self.token);
        let r = self.request(
            method,
            path,
            &[("Authorization", &auth), ("Content-Type", "application/json")],
            body.map(str::as_bytes),
        );
        let v = if r.body.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&r.body).expect("JSON answer")
        };
        (r.status, v)
    }

    /// The body of a 200 GET.
    pub fn body(&self, path: &str) -> String {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", String::from_utf8_lossy(&r.body));
        r.text()
    }

    /// What the daemon has logged so far (stderr), once its log has been quiet for 150 ms
    /// (at most 3 s): lines reach stderr through the log's writer thread, a moment after
    /// the request that caused them was answered.
    pub fn log(&self) -> String {
        let t = std::time::Instant::now();
        let mut seen = self.log.lock().unwrap().len();
        while t.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(150));
            let now = self.log.lock().unwrap().len();
            if now == seen {
                break;
            }
            seen = now;
        }
        self.log.lock().unwrap().clone()
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The daemon's address (`127.0.0.1:PORT`).
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    /// Kills the daemon with SIGKILL (a crash) and waits for it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the daemon to exit by itself; its exit code.
    pub fn wait(mut self) -> i32 {
        self.child.wait().expect("wait daemon").code().unwrap_or(-1)
    }

    /// Stops the daemon with SIGTERM and waits for it; returns its exit code.
    pub fn stop(mut self) -> i32 {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = self.child.wait().expect("wait daemon");
        status.code().unwrap_or(-1)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses a feed strictly (roxmltree: well-formed XML, or panic) and with feed-rs.
pub fn parse_feed(label: &str, body: &str) -> feed_rs::model::Feed {
    if let Err(e) = roxmltree::Document::parse(body) {
        panic!("{label}: not well-formed XML: {e}\n{body}");
    }
    assert!(
        body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
        "{label}: XML declaration: {}",
        &body[..60.min(body.len())]
    );
    feed_rs::parser::parse(body.as_bytes()).unwrap_or_else(|e| panic!("{label}: feed-rs: {e}"))
}

/// The text of every element named `name` (any namespace) in an XML document.
pub fn texts(body: &str, name: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(body).expect("well-formed");
    doc.descendants().filter(|n| n.tag_name().name() == name).map(|n| n.text().unwrap_or("").to_string()).collect()
}

/// The sample article of the seed page, as JSON.
pub fn seed_article() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/seed-article.json")
}

/// The other sample articles.
pub fn sample_articles() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/articles.jsonl")
}

#[test]
#[should_panic(expected = "occurs 0 time(s) in the config")]
fn a_config_rewrite_that_no_longer_applies_fails_the_test() {
    replaced(SHIPPED_CONFIG, "timezone = \"Asia/Nowhere\"", "timezone = \"UTC\"");
}

#[test]
fn every_slug_is_parsed_from_the_config() {
    let slugs = every_slug();
    let config: toml::Table = toml::from_str(SHIPPED_CONFIG).unwrap();
    assert_eq!(slugs.len(), config["category"].as_array().unwrap().len() + 1, "{slugs:?}");
    for slug in ["domestic", "changsha", "asia-pacific", "opinion", "all"] {
        assert!(slugs.iter().any(|s| s == slug), "{slug} in {slugs:?}");
    }
    let inline =
        "[[category]]\nslug = \"a\"\n\n[[category]]\n  slug   =   'b'  # spaced, single-quoted\nname = \"B\"\n";
    assert_eq!(category_slugs(inline), ["a", "b"]);
}

/// A connection from `from` (another loopback address stands for another client).
pub fn connect_from(from: &str, to: &str) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&format!("{from}:0").parse::<SocketAddr>().unwrap().into()).unwrap();
    socket.connect(&to.parse::<SocketAddr>().unwrap().into()).unwrap();
    socket.into()
}

/// An answer read off the wire.
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}\n{}", self.head, self.body))
    }

    /// `Retry-After` of a 429, checked to be whole seconds within a minute.
    pub fn retry_after(&self) -> u64 {
        assert_eq!(self.status, 429, "{}\n{}", self.head, self.body);
        let secs: u64 = self.header("retry-after").expect("429 has Retry-After").parse().expect("whole seconds");
        assert!((1..=60).contains(&secs), "Retry-After {secs}");
        assert_eq!(self.json()["error"]["status"], 429, "a JSON error like the API's others");
        secs
    }
}

/// One HTTP/1.1 request from the address `from`, headers and body in one write (so that
/// nothing is left unread when the daemon answers without reading the body).
pub fn request_from(from: &str, to: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut s = connect_from(from, to);
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).expect("UTF-8 answer");
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Answer { status, head: head.to_string(), body: body.to_string() }
}

/// Stops a server this test started (nginx) with SIGQUIT, its graceful stop, and kills it
/// if it is still running after 5 s.
pub fn stop_gracefully(child: &mut Child) {
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-QUIT", &pid]).status();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
