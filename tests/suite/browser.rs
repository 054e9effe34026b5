//! The pages in a real browser: headless Chromium loads `/` and `/c/{slug}` from the
//! daemon at phone width, with no console messages, and leaves a screenshot of each in
//! `target/screenshots/` for a person to look at.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::util::*;

/// Phone viewport (CSS pixels).
const WIDTH: u32 = 390;
const HEIGHT: u32 = 844;

/// What this test needs, as `.ci/run` installs it.
const INSTALL: &str = "apt-get install chromium fonts-wqy-microhei fontconfig";

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists())
}

/// Whether fontconfig knows a font for Chinese (WenQuanYi, Noto CJK, ...).
fn has_cjk_font() -> bool {
    Command::new("fc-list")
        .args([":lang=zh", "family"])
        .output()
        .is_ok_and(|o| o.status.success() && !String::from_utf8_lossy(&o.stdout).trim().is_empty())
}

/// Loads `url` headless at phone width, screenshots it to `shot`; returns the console
/// messages the page produced.
fn load(chromium: &Path, url: &str, shot: &Path, profile: &Path) -> Vec<String> {
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed on {url}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains(":CONSOLE")).map(str::to_string).collect()
}

/// Width and height of a PNG file.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).expect("screenshot written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Loads `base` + `path` at phone width into the screenshot `shot`, checking that no
/// console message was logged and that the picture is a page.
fn screenshot(chromium: &Path, base: &str, path: &str, shot: &Path, profile: &Path) {
    let _ = std::fs::remove_file(shot);
    let console = load(chromium, &format!("{base}{path}"), shot, profile);
    assert!(console.is_empty(), "{path}: console messages {console:?}");
    assert_eq!(png_size(shot), (WIDTH, HEIGHT), "{path}: phone-width screenshot");
    assert!(std::fs::metadata(shot).unwrap().len() > 10_000, "{path}: the screenshot shows a page");
    eprintln!("screenshot of {path}: {}", shot.display());
}

#[test]
fn pages_load_in_chromium_at_phone_width_without_console_messages() {
    let Some(chromium) = chromium() else {
        return skip("chromium is not installed", INSTALL);
    };
    if !has_cjk_font() {
        return skip("no CJK font (the screenshots would show boxes for the Chinese text)", INSTALL);
    }
    let site = Site::shipped();
    assert_eq!(site.import(&[&seed_article(), &sample_articles()]).code, 0);
    let d = site.start();
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let profile = tempfile::tempdir().unwrap();

    // The detector itself: a page that logs an error must be caught.
    let control = site.write("control.html", "<!DOCTYPE html><html lang=en><head><link rel=icon href=\"data:,\"></head><body><script>console.error('control')</script></body></html>");
    let seen = load(&chromium, &format!("file://{}", control.display()), &shots.join("control.png"), profile.path());
    assert!(seen.iter().any(|l| l.contains("control")), "console messages are detected: {seen:?}");

    for (name, path) in [("home", "/"), ("category-hunan", "/c/hunan")] {
        screenshot(&chromium, &d.base, path, &shots.join(format!("{name}.png")), profile.path());
    }
}

#[test]
fn stats_pages_load_in_chromium_at_phone_width_with_their_chart() {
    let Some(chromium) = chromium() else {
        return skip("chromium is not installed", INSTALL);
    };
    if !has_cjk_font() {
        return skip("no CJK font (the screenshots would show boxes for the Chinese text)", INSTALL);
    }
    let text = super::util::replaced(
        super::util::SHIPPED_CONFIG,
        "\n[server]\n",
        "\n[stats]\naccess = \"public\"\n\n[server]\n",
    );
    let site = Site::with_config(&text);
    let d = site.start();
    for (ua, path) in [
        ("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 52 subscribers; )", "/feeds/hunan.rss"),
        ("Mozilla/5.0 (compatible; inoreader.com; 7 subscribers)", "/feeds/hunan.atom"),
        ("Mozilla/5.0 Reader", "/feeds/hunan.json"),
    ] {
        assert_eq!(d.request("GET", path, &[("User-Agent", ua)], None).status, 200);
    }
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let profile = tempfile::tempdir().unwrap();
    for (name, path) in [("stats", "/stats"), ("stats-hunan", "/stats/hunan")] {
        let page = d.body(path);
        assert!(page.contains("Feedly"), "{path}: {page}");
        if path == "/stats/hunan" {
            assert!(page.contains("<svg") && page.contains("role=\"img\""), "the chart is inline SVG");
            assert!(!page.contains("<script"), "no JavaScript");
        }
        screenshot(&chromium, &d.base, path, &shots.join(format!("{name}.png")), profile.path());
    }
}
