//! Hostile content (issue 13): values at the edges of what input can carry are refused
//! with the field named, never a panic (a 500, or exit 101 from `sihai import`).

use serde_json::json;

use super::util::Site;

#[test]
fn dates_at_the_edges_of_the_calendar_are_a_422_naming_the_field_and_their_paths_404() {
    let site = Site::shipped();
    let d = site.start();
    for (field, value) in [
        ("published", "-262143-01-01"),
        ("published", "+262142-12-31 23:59"),
        ("updated", "-262143-01-01T00:00"),
        ("published", "0000-01-01"),
    ] {
        let mut article = json!({"id": "edge", "title": "边缘", "category": "hunan", "published": "2024-01-01"});
        article[field] = json!(value);
        let (status, v) = d.api("POST", "/api/articles", Some(&article.to_string()));
        assert_eq!(status, 422, "{field} = {value}: {v}");
        assert_eq!(v["error"]["problems"][0]["field"], field, "{v}");
    }
    for day in ["-262143-01-01", "+262142-12-31", "0000-01-01", "9999-12-31"] {
        for slug in ["all", "hunan"] {
            let path = format!("/feeds/{slug}/archive/{day}.rss");
            assert_eq!(d.get(&path).status, 404, "{path}");
        }
    }
    assert_eq!(d.api("GET", "/api/articles/edge", None).0, 404, "nothing was written");
    // The same input through `sihai import`: exit 1 with the field named, not a panic.
    drop(d);
    let file = site
        .write("edge.json", &json!({"title": "边缘", "category": "hunan", "published": "-262143-01-01"}).to_string());
    let run = site.import(&[&file]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("published"), "{}", run.stderr);
}
