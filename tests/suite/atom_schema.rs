//! Every kind of Atom document sihai serves is valid against RFC 4287's RELAX NG schema
//! (appendix B, `tests/fixtures/atom.rnc`, converted to `atom.rng` with trang), checked by
//! `xmllint --relaxng` (Debian's libxml2-utils): current feeds of every slug, `?limit`,
//! archive days, tag and author feeds, filtered feeds and the Traditional edition. The
//! schema allows feed-level extension elements (RFC 5005's `<fh:archive/>`) only before
//! the entries; the check itself is shown to reject an archive written the other way.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::util::{every_slug, sample_articles, seed_article, skip, Site};

const XIE: &str = "%E8%B0%A2%E4%BC%9F%E5%B3%B0";

fn schema() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/atom.rng")
}

/// `Ok` or xmllint's complaint.
fn validate(doc: &str) -> Result<(), String> {
    let mut child = Command::new("xmllint")
        .args(["--noout", "--relaxng"])
        .arg(schema())
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run xmllint");
    child.stdin.take().unwrap().write_all(doc.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn every_atom_document_is_valid_against_the_rfc_4287_schema() {
    if Command::new("xmllint").arg("--version").output().is_err() {
        return skip("xmllint is not installed", "apt-get install libxml2-utils");
    }
    let site = Site::shipped();
    assert_eq!(site.import(&[&seed_article(), &sample_articles()]).code, 0);
    let d = site.start();
    let mut paths: Vec<String> = every_slug().iter().map(|s| format!("/feeds/{s}.atom")).collect();
    paths.push("/feeds/all.atom?limit=1".into());
    paths.push(format!("/feeds/author/{XIE}.atom"));
    paths.push("/feeds/all.atom?filter=%E6%B9%96".into());
    // Every archive day of the site feed's items.
    let all = d.body("/feeds/all.atom");
    let mut days: Vec<String> =
        all.split("<published>").skip(1).filter_map(|rest| rest.get(..10).map(str::to_string)).collect();
    days.sort();
    days.dedup();
    assert!(!days.is_empty());
    paths.extend(days.iter().map(|day| format!("/feeds/all/archive/{day}.atom")));
    let editions: Vec<String> = paths.iter().take(3).map(|p| format!("/zh-hant{p}")).collect();
    paths.extend(editions);
    paths.push(format!("/zh-hant/feeds/all/archive/{}.atom", days[0]));
    let mut checked = 0;
    for path in &paths {
        let r = d.get(path);
        assert_eq!(r.status, 200, "{path}");
        if let Err(e) = validate(&r.text()) {
            panic!("{path} is not valid Atom (RFC 4287 schema):\n{e}");
        }
        checked += 1;
    }
    assert!(checked >= 20, "{checked} documents");

    // The check can fail: the archive marker after the entries, as sihai once wrote it.
    let archive = d.body(&format!("/feeds/all/archive/{}.atom", days[0]));
    let moved = archive.replacen("<fh:archive/>", "", 1).replacen("</feed>", "<fh:archive/></feed>", 1);
    assert!(validate(&archive).is_ok());
    assert!(validate(&moved).is_err(), "an extension element after the entries is refused");
}
