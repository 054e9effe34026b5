//! Article pages (the text or HTML of a page on the portal) to article JSON.
//!
//! A page is decoded (BOM, then strict UTF-8, then GB18030, which covers GBK and GB2312),
//! cut into lines, and read the way an editor reads it: the breadcrumb line (names joined
//! by `>`), the title (first non-empty line after it), the date line (`时间:`, `发布时间`,
//! `日期`), an image file-name line, the author line `(作者:NAME,TITLE)`, the paragraphs.
//! Navigation (`上一篇`/`下一篇`) and the site-name line are dropped. The result is an
//! article JSON object that goes through the same normalization as any other input; the
//! id is left out, so it derives from the category, published date and title.

use serde_json::{json, Map, Value};
use url::Url;

use super::normalize::FieldProblem;
use crate::text::{fold_whitespace, strip_xml_illegal};

/// Image file extensions recognised on a line of their own.
const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "gif", "webp", "bmp"];
/// Labels of the date line.
const DATE_LABELS: &[&str] = &["发布时间", "时间", "日期", "发布日期"];

/// Decodes page bytes: a BOM decides; else UTF-8 if the bytes are valid UTF-8; else
/// GB18030. `Err` names the first undecodable byte.
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    if let Some((encoding, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        return encoding
            .decode_without_bom_handling_and_without_replacement(&bytes[bom_len..])
            .map(|s| s.into_owned())
            .ok_or_else(|| format!("not valid {} after its byte-order mark", encoding.name()));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(utf8_err) => encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|s| s.into_owned())
            .ok_or_else(|| format!("neither UTF-8 nor GB18030 (invalid UTF-8 at byte {})", utf8_err.valid_up_to())),
    }
}

/// The page's lines: HTML (anything starting with `<` after white space) is reduced to its
/// text with a line per block; text is taken as it is.
fn lines_of(text: &str) -> Vec<String> {
    let text = strip_xml_illegal(text.strip_prefix('\u{feff}').unwrap_or(text));
    let text = if text.trim_start().starts_with('<') { super::text::html_to_lines(&text) } else { text };
    text.lines().map(|l| l.trim().to_string()).collect()
}

/// Reads a decoded page into an article JSON object, or the reasons it is not one.
pub fn parse(text: &str, image_base: Option<&Url>) -> Result<Value, Vec<FieldProblem>> {
    let lines = lines_of(text);
    let mut problems = Vec::new();
    let Some(crumb_at) = lines.iter().position(|l| is_breadcrumb(l)) else {
        return Err(vec![problem(
            "category",
            "no breadcrumb line (section names joined by `>`, e.g. 首页 > 国内资讯 > 湖南新闻)",
        )]);
    };
    let Some(title_at) = (crumb_at + 1..lines.len()).find(|&i| !lines[i].is_empty()) else {
        return Err(vec![problem("title", "no title line after the breadcrumb")]);
    };
    let mut obj = Map::new();
    obj.insert("title".into(), json!(lines[title_at]));
    obj.insert("category".into(), json!(fold_whitespace(&lines[crumb_at])));
    let mut published = None;
    let mut image = None;
    let mut author = None;
    let mut paragraphs: Vec<&str> = Vec::new();
    for line in lines[title_at + 1..].iter().filter(|l| !l.is_empty()) {
        if published.is_none() {
            if let Some(date) = date_value(line) {
                published = Some(date);
                continue;
            }
        }
        if is_image_name(line) {
            if image.is_none() {
                image = image_base.and_then(|b| b.join(line).ok());
            }
            continue;
        }
        if is_navigation(line) {
            continue;
        }
        if author.is_none() {
            author = author_name(line);
        }
        paragraphs.push(line);
    }
    match published {
        Some(p) => {
            obj.insert("published".into(), json!(p));
        }
        None => problems.push(problem("published", "no date line (时间: / 发布时间: / 日期: followed by a date)")),
    }
    if let Some(a) = author {
        obj.insert("author".into(), json!(a));
    }
    if let Some(img) = image {
        obj.insert("image".into(), json!(img.as_str()));
    }
    if !paragraphs.is_empty() {
        obj.insert("content_text".into(), json!(paragraphs.join("\n\n")));
    }
    if problems.is_empty() {
        Ok(Value::Object(obj))
    } else {
        Err(problems)
    }
}

fn problem(field: &str, message: &str) -> FieldProblem {
    FieldProblem { field: field.into(), message: message.into() }
}

fn is_breadcrumb(line: &str) -> bool {
    let parts: Vec<&str> = line.split(['>', '＞', '»']).map(str::trim).collect();
    parts.len() >= 2 && parts.iter().all(|p| !p.is_empty() && p.chars().count() <= 30)
}

/// The date of a date line (`时间:2021-09-03`, `发布时间： 2021-09-03 08:00 来源：...`).
fn date_value(line: &str) -> Option<String> {
    let rest = DATE_LABELS.iter().find_map(|l| line.strip_prefix(l))?;
    let rest = rest.trim_start().strip_prefix([':', '：'])?.trim();
    let rest = fold_whitespace(rest);
    // The date and an optional time: the first one or two space-separated words.
    let mut words = rest.split(' ');
    let date = words.next()?.replace(['/', '.', '年', '月'], "-").replace('日', "");
    match words.next().filter(|w| w.contains(':') && w.chars().next().is_some_and(|c| c.is_ascii_digit())) {
        Some(time) => Some(format!("{date} {time}")),
        None => Some(date),
    }
}

fn is_image_name(line: &str) -> bool {
    !line.contains(char::is_whitespace)
        && !line.contains('/')
        && line.rsplit_once('.').is_some_and(|(stem, ext)| {
            !stem.is_empty() && IMAGE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
        })
}

fn is_navigation(line: &str) -> bool {
    let l = line.trim_start_matches(['•', '·', '*', '-', ' ', '\u{a0}']);
    l.starts_with("上一篇") || l.starts_with("下一篇")
}

/// The name on an author line `(作者:NAME,TITLE)` in ASCII or full-width punctuation.
fn author_name(line: &str) -> Option<String> {
    let inner = line.strip_prefix(['(', '（'])?.strip_suffix([')', '）'])?.trim();
    let rest = inner.strip_prefix("作者")?.trim_start().strip_prefix([':', '：'])?.trim_start();
    let name = rest.split([',', '，', '、', ' ', '\u{3000}', ';', '；']).next()?.trim();
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = include_str!("../../tests/fixtures/seed-page.txt");

    #[test]
    fn the_seed_page_reads_like_an_editor_reads_it() {
        let v = parse(SEED, None).unwrap();
        assert_eq!(v["title"], "80后书记县长谈丨当好火炬手 奋进新征程 为实施“三高四新”战略贡献开福力量");
        assert_eq!(v["category"], "首页 > 国内资讯 > 湖南新闻");
        assert_eq!(v["published"], "2021-09-03");
        assert_eq!(v["author"], "谢伟峰");
        assert!(v.get("image").is_none(), "no image_base_url: the file name is dropped");
        let content = v["content_text"].as_str().unwrap();
        assert!(content.starts_with("编者按:"));
        assert!(!content.contains("上一篇") && !content.contains("下一篇") && !content.contains("微信图片"));
        assert!(!content.contains("四海资讯\n"));
        let base = Url::parse("https://img.sihai.example/uploads/").unwrap();
        let v = parse(SEED, Some(&base)).unwrap();
        assert_eq!(
            v["image"],
            "https://img.sihai.example/uploads/%E5%BE%AE%E4%BF%A1%E5%9B%BE%E7%89%87_20210902084308.jpg"
        );
    }

    #[test]
    fn gb18030_and_utf8_decode_to_the_same_text() {
        let (gb, _, _) = encoding_rs::GB18030.encode(SEED);
        assert_eq!(decode(&gb).unwrap(), SEED);
        assert_eq!(decode(SEED.as_bytes()).unwrap(), SEED);
        let mut bom = vec![0xef, 0xbb, 0xbf];
        bom.extend_from_slice(SEED.as_bytes());
        assert_eq!(decode(&bom).unwrap(), SEED);
        assert!(decode(&[0x81, 0x20, 0xff]).unwrap_err().contains("neither UTF-8 nor GB18030"));
    }

    #[test]
    fn author_lines_in_either_punctuation() {
        for line in [
            "(作者:谢伟峰,系中共长沙市开福区委书记 )",
            "（作者：谢伟峰，系区委书记）",
            "(作者: 谢伟峰)",
            "（作者：谢伟峰 区委书记）",
        ] {
            assert_eq!(author_name(line).as_deref(), Some("谢伟峰"), "{line}");
        }
        assert_eq!(author_name("作者谈到了(作者:甲)以外的事"), None);
    }

    #[test]
    fn date_lines_in_their_forms() {
        for (line, want) in [
            ("时间:2021-09-03", "2021-09-03"),
            ("时间：2021-09-03 08:30", "2021-09-03 08:30"),
            ("发布时间： 2021/09/03 08:30:15 来源：长沙晚报", "2021-09-03 08:30:15"),
            ("日期:2021年9月3日", "2021-9-3"),
        ] {
            assert_eq!(date_value(line).as_deref(), Some(want), "{line}");
        }
    }

    #[test]
    fn pages_without_what_makes_an_article_are_refused() {
        let e = parse("只有一行\n", None).unwrap_err();
        assert_eq!(e[0].field, "category");
        let e = parse("首页 > 湖南新闻\n\n", None).unwrap_err();
        assert_eq!(e[0].field, "title");
        let e = parse("首页 > 湖南新闻\n标题\n正文\n", None).unwrap_err();
        assert_eq!(e[0].field, "published");
    }

    #[test]
    fn html_pages_read_like_text_pages() {
        let html = "<html><body><div>四海资讯</div><div class=crumb>首页 &gt; 国内资讯 &gt; 湖南新闻</div>\
                    <h1>标题</h1><p>时间：2021-09-03</p><p>第一段</p><p>第二段</p>\
                    <p>（作者：谢伟峰，系区委书记）</p><ul><li>上一篇：甲</li></ul></body></html>";
        let v = parse(html, None).unwrap();
        assert_eq!(v["title"], "标题");
        assert_eq!(v["published"], "2021-09-03");
        assert_eq!(v["author"], "谢伟峰");
        assert_eq!(v["content_text"], "第一段\n\n第二段\n\n（作者：谢伟峰，系区委书记）");
    }
}
