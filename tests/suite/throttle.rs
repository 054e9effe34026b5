//! Hostile clients, part 1 (issue 12): guessing tokens and flooding writes. A guessing
//! loop is slowed to the configured rate (429 with `Retry-After`) and logged without the
//! token, while the right token from another address keeps working; at most 100 failures
//! a second are answered in all; a trusted proxy's `X-Forwarded-For` names the client, an
//! untrusted peer's does not; writes per token are limited and `sihai ingest` waits as
//! the daemon asks. No refused request writes anything. Other loopback addresses
//! (127.0.0.2, ...) stand for other clients.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::util::{replaced, request_from, Answer, Site, SHIPPED_CONFIG};

/// The shipped config with `lines` added to `[server]`, and `ingest` lines as `[ingest]`.
fn config(server: &str, ingest: &str) -> String {
    replaced(SHIPPED_CONFIG, "\n[server]\n", &format!("\n[ingest]\n{ingest}\n[server]\n{server}"))
}

/// `POST /api/articles` of one article with id `id`, from `from` with `token`, plus `extra` headers.
fn post_from(from: &str, to: &str, token: &str, id: &str, extra: &[(&str, &str)]) -> Answer {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("Authorization", auth.as_str())];
    headers.extend_from_slice(extra);
    let article =
        json!({"id": id, "title": format!("标题 {id}"), "category": "hunan", "published": "2024-05-01 08:00"});
    request_from(from, to, "POST", "/api/articles", &headers, &article.to_string())
}

/// The ids of every stored article, read with `token` through the API from 127.0.0.1.
fn stored_ids(d: &super::util::Daemon) -> Vec<String> {
    let (status, v) = d.api("GET", "/api/articles?limit=1000", None);
    assert_eq!(status, 200, "{v}");
    v["articles"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect()
}

/// The ids of the articles of an export (JSON Lines).
fn exported_ids(export: &str) -> Vec<String> {
    let mut ids: Vec<String> = export
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["kind"] == "article")
        .filter_map(|r| r["article"]["id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

/// Lines of the daemon's log that report a refusal, and the refusals the log says it
/// suppressed.
fn refusals_logged(log: &str) -> (Vec<&str>, u64) {
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("API refused")).collect();
    let suppressed = log
        .lines()
        .filter_map(|l| l.split(" more refusals suppressed").next().filter(|_| l.contains("more refusals suppressed")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    (lines, suppressed)
}

#[test]
fn a_guessing_loop_is_throttled_and_logged_while_the_right_token_from_elsewhere_works() {
    let site = Site::with_config(&config("auth_failures_per_minute = 5\n", ""));
    let d = site.start();
    let addr = d.addr();
    let guesses: Vec<String> = (0..40).map(|i| format!("wrong-guess-{i:04}-5f3a9c")).collect();
    // A burst of guesses from 127.0.0.2: the first 5 are answered 401, the rest 429.
    let t = Instant::now();
    let mut answers = Vec::new();
    for (i, guess) in guesses.iter().take(30).enumerate() {
        answers.push(post_from("127.0.0.2", &addr, guess, &format!("guessed-{i}"), &[]));
    }
    let burst = t.elapsed();
    // Then guesses and the right token from 127.0.0.3, interleaved.
    let mut right = Vec::new();
    for (i, guess) in guesses.iter().enumerate().skip(30) {
        answers.push(post_from("127.0.0.2", &addr, guess, &format!("guessed-{i}"), &[]));
        let t = Instant::now();
        let a = post_from("127.0.0.3", &addr, &d.token, &format!("right-{i}"), &[]);
        right.push(t.elapsed());
        assert_eq!(a.status, 200, "the right token from another address: {}", a.body);
        assert_eq!(a.json()["results"][0]["status"], "created");
    }
    for (i, a) in answers.iter().enumerate() {
        if i < 5 {
            assert_eq!(a.status, 401, "guess {i}: {}", a.body);
            assert!(a.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")));
        } else {
            let secs = a.retry_after();
            assert!(secs >= 50, "guess {i}: the rest of the address's minute, not {secs} s");
        }
    }
    // The right token from the throttled address is refused without being checked.
    let blocked = post_from("127.0.0.2", &addr, &d.token, "right-from-guesser", &[]);
    blocked.retry_after();
    // Full speed: never slowed while the guesses were refused.
    let slowest = right.iter().max().unwrap();
    assert!(*slowest < Duration::from_secs(1), "right-token POSTs took up to {slowest:?}");
    // Nothing written by a refused request: the store holds exactly the right token's.
    let mut ids = stored_ids(&d);
    ids.sort();
    let mut want: Vec<String> = (30..40).map(|i| format!("right-{i}")).collect();
    want.sort();
    assert_eq!(ids, want);
    let export = d.request("GET", "/api/export", &[("Authorization", &format!("Bearer {}", d.token))], None);
    assert_eq!(exported_ids(&export.text()), want, "the export agrees");
    // Every refusal is logged with the address and the route, or counted as suppressed
    // (at most 10 lines a second), and no token ever appears.
    std::thread::sleep(Duration::from_millis(1_300));
    let log = d.log();
    let (lines, suppressed) = refusals_logged(&log);
    let median = {
        let mut r = right.clone();
        r.sort();
        r[r.len() / 2]
    };
    eprintln!(
        "30 guesses in {burst:?}; right-token POSTs meanwhile: median {median:?}, slowest {slowest:?}; {} refusal lines logged, {suppressed} suppressed",
        lines.len()
    );
    assert_eq!(lines.len() as u64 + suppressed, 41, "41 refusals, each logged or counted:\n{log}");
    assert!(lines[0].contains("401 to 127.0.0.2: POST /api/articles: no valid token"), "{}", lines[0]);
    assert!(lines.iter().any(|l| l.contains("429 to 127.0.0.2: POST /api/articles")), "{log}");
    if burst < Duration::from_secs(1) {
        assert!(suppressed > 0, "30 refusals in {burst:?}: some lines suppressed\n{log}");
    }
    for token in guesses.iter().chain([&d.token]) {
        assert!(!log.contains(token.as_str()), "the log holds a token: {token}\n{log}");
    }
    assert!(!log.contains("to 127.0.0.3"), "no refusal of the right token: {log}");
}

#[test]
fn at_most_a_hundred_failures_a_second_are_answered_from_all_addresses_together() {
    // No per-address limit in reach: only the ceiling in all can refuse.
    let site = Site::with_config(&config("auth_failures_per_minute = 1000\n", ""));
    let d = site.start();
    let addr = d.addr();
    let t = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|n| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let from = format!("127.0.0.{}", 10 + n);
                let auth = format!("Bearer guess-{n}-0123456789abcdef");
                (0..60)
                    .map(|_| request_from(&from, &addr, "GET", "/api/stats", &[("Authorization", &auth)], "").status)
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let took = t.elapsed();
    let answered = statuses.iter().filter(|&&s| s == 401).count();
    let throttled = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!(answered + throttled, 240, "{statuses:?}");
    let seconds = took.as_secs() as usize + 1;
    eprintln!("240 failures from 4 addresses in {took:?}: {answered} answered 401, {throttled} answered 429");
    assert!(answered <= 100 * seconds, "{answered} answered 401s in {took:?}");
    assert!(throttled > 0 || took >= Duration::from_secs(2), "240 failures in {took:?}, none throttled");
    // A right token is still answered.
    assert_eq!(d.api("GET", "/api/stats", None).0, 200);
}

#[test]
fn a_trusted_proxy_names_the_client_and_an_untrusted_peer_cannot() {
    let server = "auth_failures_per_minute = 3\ntrusted_proxies = [\"127.0.0.1\"]\n";
    let site = Site::with_config(&config(server, ""));
    let d = site.start();
    let addr = d.addr();
    let via_proxy =
        |client: &str, token: &str, id: &str| post_from("127.0.0.1", &addr, token, id, &[("X-Forwarded-For", client)]);
    // Through the trusted proxy, 10.9.9.9 guesses and is throttled as 10.9.9.9.
    for i in 0..3 {
        assert_eq!(via_proxy("10.9.9.9", "wrong-0123456789abcdef", &format!("g{i}")).status, 401);
    }
    via_proxy("10.9.9.9", &d.token, "right-as-guesser").retry_after();
    // A client-chosen leftmost value does not escape it; nor does the standard header.
    via_proxy("10.1.1.1, 10.9.9.9", &d.token, "spoof-left").retry_after();
    let forwarded = [("Forwarded", "for=10.9.9.9;proto=http")];
    post_from("127.0.0.1", &addr, &d.token, "forwarded", &forwarded).retry_after();
    // Another client behind the same proxy, and the proxy itself, are not throttled.
    assert_eq!(via_proxy("10.8.8.8", &d.token, "other-client").status, 200);
    assert_eq!(via_proxy("10.8.8.8", "wrong-0123456789abcdef", "other-guess").status, 401);
    assert_eq!(post_from("127.0.0.1", &addr, &d.token, "the-proxy", &[]).status, 200);
    // (The next refusals in a new second of the log: 7 so far, 10 a second logged.)
    std::thread::sleep(Duration::from_millis(1_100));
    // An untrusted peer's header is ignored: changing it at every guess does not help.
    for i in 0..3 {
        let spoof = format!("10.7.7.{i}");
        let a =
            post_from("127.0.0.2", &addr, "wrong-0123456789abcdef", &format!("s{i}"), &[("X-Forwarded-For", &spoof)]);
        assert_eq!(a.status, 401);
    }
    post_from("127.0.0.2", &addr, &d.token, "spoofed", &[("X-Forwarded-For", "10.8.8.8")]).retry_after();
    let mut ids = stored_ids(&d);
    ids.sort();
    assert_eq!(ids, ["other-client", "the-proxy"]);
    let log = d.log();
    assert!(log.contains("401 to 10.9.9.9: POST /api/articles"), "{log}");
    assert!(log.contains("429 to 127.0.0.2: POST /api/articles"), "{log}");
    assert!(!log.contains("to 10.7.7."), "a spoofed address is never taken: {log}");
}

#[test]
fn writes_past_the_token_rate_are_refused_with_retry_after_and_write_nothing() {
    let tokens = tempfile::tempdir().unwrap();
    let file = tokens.path().join("tokens");
    let (first, second) = ("cms-one-0123456789abcdef", "cms-two-0123456789abcdef");
    std::fs::write(&file, format!("{first}\n{second}\n")).unwrap();
    let ingest = format!("requests_per_minute = 2\ntoken_file = {:?}\n", file.display().to_string());
    let site = Site::with_config(&config("", &ingest));
    let d = site.start();
    let addr = d.addr();
    assert_eq!(post_from("127.0.0.1", &addr, first, "one", &[]).status, 200);
    assert_eq!(post_from("127.0.0.1", &addr, first, "two", &[]).status, 200);
    let third = post_from("127.0.0.1", &addr, first, "three", &[]);
    let secs = third.retry_after();
    assert!((29..=30).contains(&secs), "2 a minute: the next in 30 s, not {secs}");
    assert!(third.json()["error"]["message"].as_str().unwrap().contains("nothing was written"));
    // A delete counts as a write; reads do not.
    let auth = format!("Bearer {first}");
    let delete = request_from("127.0.0.1", &addr, "DELETE", "/api/articles/one", &[("Authorization", &auth)], "");
    delete.retry_after();
    let read = request_from("127.0.0.1", &addr, "GET", "/api/articles/three", &[("Authorization", &auth)], "");
    assert_eq!(read.status, 404, "the refused article was not written");
    assert_eq!(
        request_from("127.0.0.1", &addr, "GET", "/api/articles/one", &[("Authorization", &auth)], "").status,
        200
    );
    // Another publishing system's token is not limited by this one's use.
    assert_eq!(post_from("127.0.0.1", &addr, second, "from-two", &[]).status, 200);
    let export =
        request_from("127.0.0.1", &addr, "GET", "/api/export", &[("Authorization", &format!("Bearer {second}"))], "");
    assert_eq!(exported_ids(&export.body), ["from-two", "one", "two"], "{}", export.body);
    assert!(d.log().contains("token 1 over [ingest] requests_per_minute"), "{}", d.log());
}

#[test]
fn sihai_ingest_waits_as_the_daemon_asks_and_succeeds() {
    // 60 a minute: once the burst is spent, one a second, so Retry-After is 1 s.
    let site = Site::with_config(&config("", "requests_per_minute = 60\n"));
    let d = site.start();
    let auth = format!("Bearer {}", d.token);
    let mut spent = 0;
    loop {
        let r = d.request("DELETE", "/api/articles/none", &[("Authorization", &auth)], None);
        if r.status == 429 {
            assert_eq!(r.header("retry-after"), Some("1"));
            break;
        }
        assert_eq!(r.status, 404);
        spent += 1;
        assert!(spent < 200, "the write rate is never reached");
    }
    let files: Vec<_> = (0..3)
        .map(|i| {
            let a = json!({"id": format!("cli-{i}"), "title": "t", "category": "hunan", "published": "2024-05-01"});
            site.write(&format!("a{i}.json"), &a.to_string())
        })
        .collect();
    let names: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    let t = Instant::now();
    let run = site.ingest(&d, &names);
    let took = t.elapsed();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.matches(": 1 created, 0 updated, 0 unchanged").count(), 3, "{}", run.stdout);
    assert!(run.stderr.contains("the daemon answered 429; waiting 1 s"), "{}", run.stderr);
    assert!(took < Duration::from_secs(15), "{took:?}");
    let waits = run.stderr.matches("waiting").count();
    eprintln!("sihai ingest of 3 files after {spent} writes: {took:?}, {waits} wait(s)");
    let ids = stored_ids(&d);
    assert!(["cli-0", "cli-1", "cli-2"].iter().all(|id| ids.contains(&id.to_string())), "{ids:?}");
}
