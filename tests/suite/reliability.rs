//! Nothing acknowledged is ever lost: crashes, shutdown, storage faults, backup/restore.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::util::*;

/// A small deterministic PRNG (xorshift64*), seeded per test run and printed, so a
/// failing run can be replayed with `SIHAI_SEED`.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let seed = std::env::var("SIHAI_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
        });
        eprintln!("seed {seed} (rerun with SIHAI_SEED={seed})");
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the test knows of one id: its last acknowledged state (a title, or absent) and
/// the states of writes that got no answer (any of them may have landed).
#[derive(Default, Clone)]
struct Known {
    acked: Option<Option<String>>,
    unanswered: Vec<Option<String>>,
}

fn check_store(site: &Site) {
    let run = site.sihai(&["check-store"]);
    assert_eq!(run.code, 0, "store inconsistent after a crash:\n{}{}", run.stdout, run.stderr);
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into()
}

/// One client's writes until the daemon dies: single upserts, batches and deletes of its
/// own ids, recording what was acknowledged.
fn client(base: &str, token: &str, c: usize, round: usize, seed: u64, known: &Mutex<HashMap<String, Known>>) {
    let agent = agent();
    let mut rng = Rng(seed);
    for n in 0.. {
        let op = rng.below(10);
        let ids: Vec<String> = (0..if op < 2 { 4 } else { 1 }).map(|_| format!("c{c}-{}", rng.below(15))).collect();
        let mut ids = ids;
        ids.dedup();
        let delete = op >= 8;
        let states: Vec<Option<String>> =
            ids.iter().enumerate().map(|(i, _)| (!delete).then(|| format!("r{round} c{c} n{n} i{i}"))).collect();
        {
            let mut k = known.lock().unwrap();
            for (id, st) in ids.iter().zip(&states) {
                k.entry(id.clone()).or_default().unanswered.push(st.clone());
            }
        }
        let auth = format!("Bearer {token}");
        let result = if delete {
            agent.delete(format!("{base}/api/articles/{}", ids[0])).header("Authorization", &auth).call()
        } else {
            let body: Vec<Value> = ids
                .iter()
                .zip(&states)
                .map(|(id, t)| {
                    let category = ["changsha", "world", "tech"][c % 3];
                    let text = format!("正文 {}", t.as_ref().unwrap());
                    json!({"id": id, "title": t, "category": category, "published": "2024-03-01 10:00", "content_text": text})
                })
                .collect();
            agent
                .post(format!("{base}/api/articles"))
                .header("Authorization", &auth)
                .header("Content-Type", "application/json")
                .send(Value::from(body).to_string())
        };
        match result {
            Ok(r) if r.status().is_success() || (delete && r.status() == 404) => {
                let mut k = known.lock().unwrap();
                for (id, st) in ids.iter().zip(&states) {
                    let e = k.get_mut(id).unwrap();
                    e.acked = Some(if r.status() == 404 { None } else { st.clone() });
                    e.unanswered.clear();
                }
            }
            Ok(r) if r.status() == 503 || r.status() == 507 => return,
            Ok(r) => panic!("unexpected answer {} for {ids:?}", r.status()),
            Err(_) => return, // the daemon died mid-request: the writes stay unanswered
        }
    }
}

/// After a restart: every id is in its acknowledged state, or in one of its unanswered
/// states; then those become what is known.
fn verify(d: &Daemon, known: &Mutex<HashMap<String, Known>>) {
    let mut k = known.lock().unwrap();
    for (id, e) in k.iter_mut() {
        let (status, v) = d.api("GET", &format!("/api/articles/{id}"), None);
        let now: Option<String> = match status {
            200 => Some(v["title"].as_str().unwrap().to_string()),
            404 => None,
            s => panic!("GET {id}: {s}"),
        };
        let acceptable: Vec<Option<String>> = e.acked.iter().cloned().chain(e.unanswered.iter().cloned()).collect();
        let acceptable = if e.acked.is_none() { [vec![None], acceptable].concat() } else { acceptable };
        assert!(
            acceptable.contains(&now),
            "{id}: found {now:?}, acknowledged {:?}, unanswered {:?}",
            e.acked,
            e.unanswered
        );
        if let Some(title) = &now {
            assert_eq!(v["content_html"], format!("<p>正文 {title}</p>"), "{id}: identical to what was sent");
        }
        e.acked = Some(now);
        e.unanswered.clear();
    }
}

#[test]
fn acknowledged_writes_survive_sigkill_at_random_moments() {
    let rounds: usize = std::env::var("SIHAI_CRASH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(20);
    let mut rng = Rng::seeded();
    let site = Site::shipped();
    let known = Mutex::new(HashMap::new());
    let mut acked_total = 0;
    for round in 0..rounds {
        let d = site.start();
        verify(&d, &known);
        for slug in ["changsha", "hunan", "world", "tech", "all"] {
            parse_feed(slug, &d.body(&format!("/feeds/{slug}.rss")));
            parse_feed(slug, &d.body(&format!("/feeds/{slug}.atom")));
        }
        let run_for = Duration::from_millis(150 + rng.below(500));
        let seeds: Vec<u64> = (0..4).map(|_| rng.next() | 1).collect();
        std::thread::scope(|s| {
            for (c, seed) in seeds.iter().enumerate() {
                let (base, token, known) = (d.base.clone(), d.token.clone(), &known);
                s.spawn(move || client(&base, &token, c, round, *seed, known));
            }
            std::thread::sleep(run_for);
            d.kill();
        });
        check_store(&site);
        acked_total += known.lock().unwrap().values().filter(|e| e.acked.is_some()).count();
    }
    let d = site.start();
    verify(&d, &known);
    eprintln!("{rounds} rounds, {acked_total} id-states checked");
    assert!(acked_total > rounds, "the clients got writes acknowledged");
}

#[test]
fn a_bulk_import_killed_midway_leaves_an_openable_store_and_completes_when_rerun() {
    let site = Site::shipped();
    let lines: Vec<String> = (0..30_000)
        .map(|i| json!({"id": format!("k{i}"), "title": format!("导入 {i}"), "category": "markets", "published": "2024-01-01 09:00", "content_text": "正文"}).to_string())
        .collect();
    let file = site.write("big.jsonl", &lines.join("\n"));
    let mut rng = Rng::seeded();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sihai"))
        .args(["--config", site.config.to_str().unwrap(), "import", file.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300 + rng.below(700)));
    let _ = child.kill();
    let status = child.wait().unwrap();
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    if status.success() {
        assert!(out.contains("30000 created"), "finished before the kill: {out}");
    } else {
        assert!(!out.contains("imported"), "a killed import never claims success: {out}");
    }
    check_store(&site);
    let run = site.import(&[&file]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let counts: Vec<usize> =
        run.stdout.split(|c: char| !c.is_ascii_digit()).filter(|w| !w.is_empty()).map(|w| w.parse().unwrap()).collect();
    assert_eq!(counts[0], 30_000, "{}", run.stdout);
    check_store(&site);
    let d = site.start();
    assert_eq!(d.api("GET", "/api/articles/k29999", None).0, 200);
    assert_eq!(d.api("GET", "/api/articles/k0", None).0, 200);
}

#[test]
fn sigterm_finishes_the_request_in_flight_and_refuses_new_connections() {
    let site = Site::shipped();
    let d = site.start();
    let body = json!({"id": "inflight", "title": "进行中", "category": "tech", "published": "2024-01-01"}).to_string();
    let (first, second) = body.split_at(body.len() / 2);
    let mut s = TcpStream::connect(d.addr()).unwrap();
    write!(
        s,
        "POST /api/articles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
        d.token,
        body.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    Command::new("kill").args(["-TERM", &d.pid().to_string()]).status().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(TcpStream::connect(d.addr()).is_err(), "no new connections after SIGTERM");
    s.write_all(second.as_bytes()).unwrap();
    let mut answer = String::new();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "the request in flight completes: {answer}");
    assert!(answer.contains("\"created\""));
    let t = Instant::now();
    assert_eq!(d.wait(), 0, "exit 0 after a graceful stop");
    assert!(t.elapsed() < Duration::from_secs(10));
    let d = site.start();
    assert_eq!(d.api("GET", "/api/articles/inflight", None).0, 200, "and it was kept");
}

#[test]
fn sigint_stops_cleanly_too() {
    let site = Site::shipped();
    let d = site.start();
    Command::new("kill").args(["-INT", &d.pid().to_string()]).status().unwrap();
    assert_eq!(d.wait(), 0);
}

/// A store made by importing the samples, then stopped.
fn stored_site() -> Site {
    let site = Site::shipped();
    assert_eq!(site.import(&[&seed_article(), &sample_articles()]).code, 0);
    site
}

/// Runs `sihai serve`, which must refuse to start (exit 3) within 20 s; its stderr.
fn serve_fails(site: &Site) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sihai"))
        .args(["--config", site.config.to_str().unwrap(), "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("the daemon started on an unusable store: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(3), "{err}");
    err
}

#[test]
fn unusable_stores_stop_the_daemon_with_a_clear_message() {
    // Corrupt files.
    for file in ["conf", "db"] {
        let site = stored_site();
        let path = site.data.join(file);
        let mut bytes = std::fs::read(&path).unwrap();
        for b in bytes.iter_mut().take(64) {
            *b ^= 0x5a;
        }
        std::fs::write(&path, bytes).unwrap();
        let err = serve_fails(&site);
        assert!(err.contains("cannot open") || err.contains("corrupt"), "{file}: {err}");
    }
    // Another schema version.
    let site = stored_site();
    {
        let db = sled::Config::new().path(&site.data).open().unwrap();
        db.insert(b"meta/schema", b"99").unwrap();
        db.flush().unwrap();
    }
    assert!(serve_fails(&site).contains("schema version 99"));
    // Locked by another process.
    let site = stored_site();
    let d = site.start();
    assert!(serve_fails(&site).contains("in use by another process"));
    drop(d);
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn a_store_the_daemon_cannot_write_stops_it_even_as_root() {
    if !is_root() {
        return skip("not root: it drops the daemon to nobody with setpriv", "run the suite as root (as .ci/run does)");
    }
    let site = stored_site();
    // The daemon runs as nobody: the store (root's, 0755) is readable but not writable.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(site.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_sihai")])
        .args(["--config", site.config.to_str().unwrap(), "serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{err}");
    assert!(err.contains("Permission denied") || err.contains("permission denied"), "{err}");
}

#[test]
fn a_full_disk_answers_507_keeps_serving_and_recovers_when_space_returns() {
    let mount = tempfile::tempdir().unwrap();
    let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"]).arg(mount.path()).output();
    match mounted {
        Ok(o) if o.status.success() => {}
        failed => {
            let why = match failed {
                Ok(o) => String::from_utf8_lossy(&o.stderr).lines().next().unwrap_or("").trim().to_string(),
                Err(e) => format!("mount: {e}"),
            };
            return skip(
                &format!("cannot mount a small tmpfs to fill ({why})"),
                "run the suite as root where mounting is allowed (CI's container, a VM, or docker run --cap-add SYS_ADMIN)",
            );
        }
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mount.path().to_path_buf());
    let config =
        replaced(SHIPPED_CONFIG, "data_dir = \"./data\"\n", "data_dir = \"./data\"\nmin_free_bytes = 4194304\n");
    let site = Site::with_config_and_data(&config, Some(mount.path().join("data")));
    let token = "disk-full-token-0123456789";
    let mut d = site.start_with_env(&[("SIHAI_TOKEN", token)]);
    d.token = token.to_string();
    let post = |id: &str| {
        d.api("POST", "/api/articles", Some(&json!({"id": id, "title": id, "category": "tech", "published": "2024-01-01", "content_text": "正文".repeat(200)}).to_string()))
    };
    assert_eq!(post("before").0, 200);
    let feed = d.body("/feeds/tech.rss");
    // Fill the disk to about 2 MiB free (below the 4 MiB reserve).
    let ballast = mount.path().join("ballast");
    let free = fs_free(mount.path());
    std::fs::write(&ballast, vec![0u8; (free - (2 << 20)) as usize]).unwrap();
    let (status, v) = post("during");
    assert_eq!(status, 507, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("disk holding"), "{v}");
    assert_eq!(d.body("/feeds/tech.rss"), feed, "feeds keep being served");
    assert_eq!(d.api("GET", "/api/articles/before", None).0, 200, "nothing acknowledged lost");
    assert_eq!(d.api("GET", "/api/articles/during", None).0, 404, "nothing half-written");
    std::fs::remove_file(&ballast).unwrap();
    assert_eq!(post("after").0, 200, "writes resume by themselves when space returns");
    assert!(d.body("/feeds/tech.rss").contains("after"));
    assert_eq!(d.stop(), 0);
}

fn fs_free(path: &std::path::Path) -> u64 {
    let out = Command::new("df").args(["-B1", "--output=avail"]).arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().trim().parse().unwrap()
}

#[test]
fn export_and_restore_round_trip_to_byte_identical_feeds() {
    let site = Site::shipped();
    let d = site.start();
    let run = site.ingest(&d, &[seed_article().to_str().unwrap(), sample_articles().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (s, _) = d.api(
        "POST",
        "/api/articles",
        Some(&json!({"id": "gone", "title": "将删除", "category": "tech", "published": "2024-01-01"}).to_string()),
    );
    assert_eq!(s, 200);
    assert_eq!(d.api("DELETE", "/api/articles/gone", None).0, 204);
    let future = chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() + 86_400, 0).unwrap().to_rfc3339();
    d.api(
        "POST",
        "/api/articles",
        Some(&json!({"id": "later", "title": "明日", "category": "tech", "published": future}).to_string()),
    );

    // Export while serving: through the API, and with `sihai export` (which uses it).
    let auth = format!("Bearer {}", d.token);
    let api = d.request("GET", "/api/export", &[("Authorization", &auth)], None);
    assert_eq!(api.status, 200);
    let out = site.dir.path().join("backup.jsonl");
    let run = Command::new(env!("CARGO_BIN_EXE_sihai"))
        .args(["--config", site.config.to_str().unwrap(), "export", "--server", &d.base, "-o", out.to_str().unwrap()])
        .env("SIHAI_TOKEN", &d.token)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(std::fs::read(&out).unwrap(), api.body, "the CLI writes what the API streams");
    let lines: Vec<Value> = api.text().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["kind"], "header");
    assert!(lines.iter().any(|l| l["kind"] == "tombstone" && l["id"] == "gone"));
    assert_eq!(lines.iter().filter(|l| l["kind"] == "article").count(), 6, "5 samples and the scheduled one");

    let mut paths: Vec<String> = vec!["/".into(), "/feeds.opml".into(), "/c/hunan".into()];
    for slug in every_slug() {
        for ext in ["rss", "atom", "json"] {
            paths.push(format!("/feeds/{slug}.{ext}"));
        }
    }
    let before: Vec<Vec<u8>> = paths.iter().map(|p| d.get(p).body).collect();
    assert_eq!(d.stop(), 0);
    // Offline export equals the online one, but for the readership records: the feeds read
    // since (and counted, then written at shutdown) are the publisher's statistics.
    let run = site.sihai(&["export"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let without_readership =
        |text: &str| text.lines().filter(|l| !l.contains("\"kind\":\"readership\"")).collect::<Vec<_>>().join("\n");
    assert_eq!(without_readership(&run.stdout), without_readership(&api.text()));
    assert!(run.stdout.contains("\"kind\":\"readership\""), "today's readership is in the backup");

    // Restore into an empty store elsewhere.
    let restored = Site::shipped();
    let run = restored.sihai(&["import", "--restore", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("restored 7 article(s) and tombstone(s)"), "{}", run.stdout);
    let run = restored.sihai(&["import", "--restore", out.to_str().unwrap()]);
    assert_eq!(run.code, 1, "a restore needs an empty store");
    let d2 = restored.start();
    for (path, want) in paths.iter().zip(&before) {
        assert!(d2.get(path).body == *want, "{path} differs after restore");
    }
    let (_, v) = d2.api(
        "POST",
        "/api/articles",
        Some(&json!({"id": "gone", "title": "回来了", "category": "tech", "published": "2024-01-02"}).to_string()),
    );
    assert_eq!(v["results"][0]["guid"], "tag:sihai.example,2026:gone", "the tombstone kept the GUID");
    assert_eq!(d2.api("GET", "/api/articles/later", None).0, 200, "scheduled articles restored");

    let bad = restored
        .write("bad.jsonl", "{\"kind\": \"header\", \"schema\": 1, \"generator\": \"x\"}\n{\"kind\": \"article\"}\n");
    let empty = Site::shipped();
    let run = empty.sihai(&["import", "--restore", bad.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("bad.jsonl:2: not an export record"), "{}", run.stderr);
}
