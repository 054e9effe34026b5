//! The command line: check-config, import's all-or-nothing validation, store locking.

use super::util::*;

#[test]
fn check_config_prints_the_tree_and_refuses_bad_configs_with_line_and_fix() {
    let site = Site::shipped();
    let run = site.sihai(&["check-config"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("  domestic: 国内资讯") && run.stdout.contains("    hunan: 湖南新闻"),
        "{}",
        run.stdout
    );

    let bad = Site::with_config(&replaced(
        SHIPPED_CONFIG,
        "parent = \"hunan\"\ndescription = \"长沙市新闻\"",
        "parent = \"hunnan\"\ndescription = \"长沙市新闻\"",
    ));
    let run = bad.sihai(&["check-config"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("sihai.toml:") && run.stderr.contains("parent \"hunnan\" is not a category slug"),
        "{}",
        run.stderr
    );
    let run = bad.sihai(&["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(run.code, 2, "the daemon refuses to start on an invalid config");
    assert!(!bad.data.exists(), "no store created for an invalid config");

    let tz =
        Site::with_config(&replaced(SHIPPED_CONFIG, "timezone = \"Asia/Shanghai\"", "timezone = \"Asia/Beijing\""));
    let run = tz.sihai(&["check-config"]);
    assert!(
        run.code == 2 && run.stderr.contains("timezone \"Asia/Beijing\" is not an IANA time zone"),
        "{}",
        run.stderr
    );
}

#[test]
fn import_refuses_everything_when_one_article_is_bad_and_names_file_line_and_field() {
    let site = Site::shipped();
    let good = site.write("good.json", r#"{"id": "g", "title": "好", "category": "tech", "published": "2022-01-01"}"#);
    let bad = site.write(
        "bad.jsonl",
        "{\"id\": \"ok\", \"title\": \"t\", \"category\": \"tech\", \"published\": \"2022-01-01\"}\n\
         {\"id\": \"b1\", \"title\": \"t\", \"category\": \"体操\", \"published\": \"2022-01-01\"}\n\
         \n\
         {\"id\": \"b2\", \"title\": \"\", \"category\": \"tech\", \"published\": \"yesterday\"}\n",
    );
    let run = site.import(&[&good, &bad]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("bad.jsonl:2: id \"b1\": category: unknown category: \"体操\""), "{}", run.stderr);
    assert!(run.stderr.contains("bad.jsonl:4: id \"b2\": title: is empty"), "{}", run.stderr);
    assert!(run.stderr.contains("bad.jsonl:4: id \"b2\": published: \"yesterday\" is not a date"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing imported"));
    assert!(!site.data.exists(), "nothing written, not even an empty store");

    let array = site.write("arr.json", "[\n {\"id\": \"x\", \"title\": \"t\", \"category\": \"tech\", \"published\": \"2022-01-01\"},\n {\"id\": \"y\", \"category\": \"tech\", \"published\": \"2022-01-01\"}\n]");
    let run = site.import(&[&array]);
    assert!(run.stderr.contains("arr.json:3 (item 1): id \"y\": title: is required"), "{}", run.stderr);

    let broken = site.write("broken.json", "{\"id\": \"x\",\n \"title\": }");
    let run = site.import(&[&broken]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("broken.json:2:"), "{}", run.stderr);
    assert!(run.stderr.contains("not valid JSON"), "{}", run.stderr);

    let wrong = site.write("notes.md", "# hi");
    assert!(site.import(&[&wrong]).stderr.contains("cannot read .md files"));
    let empty_page = site.write("page.html", "<html></html>");
    assert!(site.import(&[&empty_page]).stderr.contains("page.html: category: no breadcrumb line"));

    let run = site.import(&[&good]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let d = site.start();
    assert_eq!(texts(&d.body("/feeds/tech.rss"), "guid"), vec!["tag:sihai.example,2026:g"]);
}

#[test]
fn import_reads_stdin_and_json_arrays() {
    let site = Site::shipped();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sihai"))
        .arg("--config")
        .arg(&site.config)
        .args(["import", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(r#"[{"id": "s1", "title": "一", "category": "tech", "published": "2022-01-01"}, {"id": "s2", "title": "二", "category": "tech", "published": "2022-01-02"}]"#.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 created"));
}

#[test]
fn import_says_so_when_the_daemon_holds_the_store() {
    let site = Site::shipped();
    let d = site.start();
    let run = site.import(&[&seed_article()]);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("in use by another process"), "{}", run.stderr);
    assert_eq!(d.stop(), 0, "SIGTERM stops the daemon cleanly");
}

#[test]
fn a_port_in_use_exits_1_with_what_to_do_and_changes_nothing_on_disk() {
    let site = Site::shipped();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let run = site.sihai(&["serve", "--listen", &addr]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("cannot listen on {addr}")), "{}", run.stderr);
    assert!(run.stderr.contains("another process listens there"), "{}", run.stderr);
    assert!(!site.data.exists(), "no store was created");
}

#[test]
fn logs_are_plain_text_off_a_terminal_or_one_json_object_a_line() {
    let site = Site::shipped();
    let d = site.start();
    assert_eq!(d.get("/feeds/all.rss").status, 200);
    let text = d.log();
    assert!(text.contains("listening on"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour codes in a log that is not a terminal: {text:?}");
    drop(d);
    let d = site.start_with_env(&[("SIHAI_LOG_FORMAT", "json")]);
    assert_eq!(d.get("/feeds/all.rss").status, 200);
    let log = d.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 2, "{log}");
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string() && v["message"].is_string(), "{line}");
    }
    // [log] in the config does the same, and a bad value is named.
    let bad = Site::with_config(&replaced(SHIPPED_CONFIG, "\n[server]\n", "\n[log]\nformat = \"xml\"\n\n[server]\n"));
    let run = bad.sihai(&["check-config"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("[log] format \"xml\""), "{}", run.stderr);
}

/// The rows of config/README.md's table for `[table]`: (key, default).
fn reference_rows(table: &str) -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/README.md")).unwrap();
    let section = doc.split(&format!("## `{table}`")).nth(1).unwrap_or_else(|| panic!("no section {table}"));
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), cells[2].trim_matches('`').to_string())
        })
        .collect()
}

#[test]
fn the_config_reference_names_every_key_with_its_default() {
    let site = Site::shipped();
    let base = "[site]\ntitle = \"t\"\nbase_url = \"https://x.test/\"\ntag_authority = \"x.test,2026\"\n";
    let check = |text: &str| {
        let p = site.write("probe.toml", text);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sihai"))
            .arg("--config")
            .arg(&p)
            .arg("check-config")
            .output()
            .expect("run sihai");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    for (table, header) in [
        ("[site]", ""),
        ("[server]", "[server]\n"),
        ("[ingest]", "[ingest]\n"),
        ("[websub]", "[websub]\n"),
        ("[log]", "[log]\n"),
        ("[metrics]", "[metrics]\n"),
        ("[stats]", "[stats]\n"),
        ("[[category]]", "[[category]]\nslug = \"a\"\nname = \"A\"\n"),
    ] {
        // The keys the code accepts, as serde lists them for an unknown one.
        let err = check(&format!("{base}{header}zzz_unknown = 1\n"));
        // `expected one of `a`, `b`` or, for a table of one key, `expected `a``.
        let listed = err
            .split("expected one of ")
            .nth(1)
            .or_else(|| err.split("expected ").nth(1))
            .unwrap_or_else(|| panic!("{table}: {err}"));
        let listed = listed.lines().next().unwrap_or("");
        let accepted: std::collections::BTreeSet<String> = listed
            .replace(" or ", ",")
            .split(',')
            .map(|k| k.trim().trim_matches('`').to_string())
            .filter(|k| !k.is_empty())
            .collect();
        let rows = reference_rows(table);
        let documented: std::collections::BTreeSet<String> = rows.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(documented, accepted, "config/README.md's {table} against the code");
        // Whole-number defaults as the code states them (in its out-of-range message).
        for (key, default) in rows.iter().filter(|(_, d)| d.parse::<i64>().is_ok()) {
            let err = check(&format!("{base}{header}{key} = -999999999999\n"));
            let said = err.split("(default ").nth(1).and_then(|r| r.split(')').next());
            assert_eq!(said, Some(default.as_str()), "{table} {key}: {err}");
        }
    }
}

#[test]
fn every_request_has_an_access_line_with_what_an_operator_needs() {
    let d = Site::shipped().start_with_env(&[("SIHAI_LOG_FORMAT", "json")]);
    assert_eq!(
        d.request(
            "GET",
            "/feeds/hunan.rss",
            &[
                ("Accept-Encoding", "gzip"),
                ("User-Agent", "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 52 subscribers; )")
            ],
            None
        )
        .status,
        200
    );
    assert_eq!(d.get("/feeds/hunan.rss").status, 200);
    assert_eq!(d.get("/nope").status, 404);
    let t = std::time::Instant::now();
    let lines = loop {
        let lines: Vec<serde_json::Value> = d
            .log()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["target"] == "sihai::access")
            .collect();
        if lines.len() >= 3 || t.elapsed() > std::time::Duration::from_secs(5) {
            break lines;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(lines.len(), 3, "{lines:?}");
    let first = &lines[0];
    assert_eq!(
        (first["method"].as_str(), first["path"].as_str(), first["status"].as_u64()),
        (Some("GET"), Some("/feeds/hunan.rss"), Some(200))
    );
    assert_eq!(first["coding"], "gzip");
    assert_eq!(first["ready"], false, "the first request rendered");
    assert!(first["ua"].as_str().unwrap().starts_with("Feedly/1.0"));
    assert_eq!(first["client"], "127.0.0.1");
    assert!(first["bytes"].as_i64().unwrap() > 100);
    assert_eq!(
        (lines[1]["ready"].as_bool(), lines[1]["coding"].as_str()),
        (Some(true), Some("identity")),
        "the second was ready"
    );
    assert_eq!((lines[0]["every"].as_u64(), lines[1]["every"].as_u64()), (Some(1), Some(64)), "ready hits are sampled");
    assert_eq!(lines[2]["status"], 404);
    // The next ready hits are counted, not logged, until the 64th; a 404 always is.
    for _ in 0..10 {
        assert_eq!(d.get("/feeds/hunan.rss").status, 200);
    }
    assert_eq!(d.get("/nope2").status, 404);
    let paths: Vec<String> = d
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "sihai::access")
        .map(|v| v["path"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(paths, ["/feeds/hunan.rss", "/feeds/hunan.rss", "/nope", "/nope2"]);
    // Off by its target, as the benchmarks measure it.
    let quiet = Site::shipped().start_with_env(&[("SIHAI_LOG", "info,sihai::access=off")]);
    assert_eq!(quiet.get("/feeds/all.rss").status, 200);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!quiet.log().contains("sihai::access"), "{}", quiet.log());
}

#[test]
fn writes_are_logged_by_token_number_never_by_token() {
    let d = Site::shipped().start_with_env(&[("SIHAI_LOG_FORMAT", "json")]);
    let article = serde_json::json!({"id": "logged", "title": "记录", "category": "hunan", "published": "2024-01-01"});
    assert_eq!(d.api("POST", "/api/articles", Some(&article.to_string())).0, 200);
    assert_eq!(d.api("POST", "/api/articles", Some(r#"{"title": "无类别"}"#)).0, 422);
    assert_eq!(d.api("DELETE", "/api/articles/logged", None).0, 204);
    let log = d.log();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "sihai::ingest")
        .collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert_eq!((lines[0]["token"].as_u64(), lines[0]["created"].as_u64()), (Some(1), Some(1)), "{}", lines[0]);
    assert_eq!(lines[1]["refused"], 1, "{}", lines[1]);
    assert_eq!((lines[2]["message"].as_str(), lines[2]["id"].as_str()), (Some("deleted"), Some("logged")));
    assert!(!d.token.is_empty() && !log.contains(&d.token), "the token is never logged");
}

#[test]
fn an_unreachable_daemon_is_named_with_what_to_do() {
    let site = Site::shipped();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let url = format!("http://{free}");
    let file = seed_article().display().to_string();
    let run: Run = std::process::Command::new(env!("CARGO_BIN_EXE_sihai"))
        .arg("--config")
        .arg(&site.config)
        .args(["ingest", "--server", &url, &file])
        .env("SIHAI_TOKEN", "any-token")
        .output()
        .expect("run sihai")
        .into();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("cannot reach the daemon at {url}: nothing answers there"))
            && run.stderr.contains("start it (sihai serve), or give its URL with --server"),
        "{}",
        run.stderr
    );
}

#[test]
fn check_config_lists_every_problem_of_a_file_in_one_run() {
    let mut text = replaced(
        SHIPPED_CONFIG,
        "listen = \"127.0.0.1:8080\"\n",
        "listen = \"127.0.0.1:8080\"\nmax_connections = \"100\"\nmax_conections = 5\n",
    );
    text = replaced(&text, "ttl_minutes = 15\n", "ttl_minutes = 15\ncolour = \"red\"\n");
    text = replaced(
        &text,
        "parent = \"hunan\"\ndescription = \"长沙市新闻\"",
        "parent = \"hunnan\"\ndescription = \"长沙市新闻\"",
    );
    let site = Site::with_config(&text);
    let run = site.sihai(&["check-config"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stdout, "", "no tree for an invalid config");
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).expect(needle) + 1;
    let config = site.config.display().to_string();
    for want in [
        format!("{config}:{}: [site] colour: unknown key", line_of("colour")),
        format!(
            "{config}:{}: [server] max_connections = \"100\": expected a whole number, found a string; fix: write it without quotes",
            line_of("max_connections =")
        ),
        format!("{config}:{}: [server] max_conections: unknown key; fix: did you mean `max_connections`?", line_of("max_conections")),
        format!("{config}:{}: [[category]] \"changsha\": parent \"hunnan\" is not a category slug", line_of("parent = \"hunnan\"")),
    ] {
        assert!(run.stderr.contains(&want), "{want}\nin\n{}", run.stderr);
    }
    assert!(run.stderr.starts_with("sihai: invalid configuration (4 problems):\n"), "{}", run.stderr);
}

/// Progress is drawn on a terminal (a pseudo-terminal from `script`) and never into a pipe.
#[test]
fn progress_shows_on_a_terminal_and_never_in_captured_output() {
    let site = Site::shipped();
    let lines: String = (0..50)
        .map(|i| {
            format!(
                "{{\"id\": \"p{i}\", \"title\": \"第{i}篇\", \"category\": \"tech\", \"published\": \"2022-01-01\"}}\n"
            )
        })
        .collect();
    let file = site.write("many.jsonl", &lines);
    let run = site.import(&[&file]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("importing") && !run.stderr.contains(['\r', '\u{1b}']), "{:?}", run.stderr);
    let run = site.sihai(&["export"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("exporting") && !run.stderr.contains(['\r', '\u{1b}']), "{:?}", run.stderr);

    if std::process::Command::new("script").arg("--version").output().is_err() {
        return skip("the script command (util-linux) is not installed", "apt-get install bsdutils");
    }
    let other = Site::shipped();
    let command =
        format!("'{}' --config '{}' import '{}'", env!("CARGO_BIN_EXE_sihai"), other.config.display(), file.display());
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("importing articles [") && shown.contains("/50 ("), "{shown:?}");
    assert!(shown.contains("imported 50 article(s)"), "{shown:?}");
}

#[test]
fn help_names_the_formats_the_environment_and_every_exit_code_the_readme_lists() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sihai")).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for want in
        ["JSON Feed 1.1", "OPML", "article pages", "SIHAI_LOG ", "SIHAI_LOG_FORMAT", "SIHAI_TOKEN", "SSL_CERT_FILE"]
    {
        assert!(help.contains(want), "{want} in\n{help}");
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for code in 0..=4 {
        assert!(help.contains(&format!("\n  {code}  ")), "exit code {code} in --help\n{help}");
        assert!(readme.contains(&format!("\n| {code} | ")), "exit code {code} in README's table");
    }
    for command in ["serve", "ingest", "import", "export"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sihai")).args([command, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && help.contains("Usage: sihai"), "{command}: {help}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sihai")).args(["ingest", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("https://"));
}

#[test]
fn a_data_dir_that_cannot_be_created_says_what_to_do() {
    let site = Site::shipped();
    let blocker = site.write("a-file", "");
    let dir = blocker.join("data").display().to_string();
    let run = site.sihai(&["serve", "--listen", "127.0.0.1:0", "--data-dir", &dir]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("check that the data directory {dir} exists or can be created"))
            && run.stderr.contains("--data-dir"),
        "{}",
        run.stderr
    );
}
