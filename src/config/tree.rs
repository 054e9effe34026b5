//! The category tree the rest of sihai runs on: categories in config order, their
//! parents and children resolved to indexes, and the one namespace of slugs, names and
//! aliases that article references are resolved in. Built once by the validator; read by
//! ingest (references), the store's callers (subtrees), feeds and pages (names, tree).

use std::collections::HashMap;
use std::fmt::Write as _;

/// A breadcrumb element that stands for the site's front page and is skipped.
const HOME_NAMES: &[&str] = &["首页", "home", "Home", "主页"];

/// One category, with its place in the tree resolved to indexes into [`Categories::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// URL-safe unique key: `/feeds/{slug}.rss`.
    pub slug: String,
    /// Display name (湖南新闻).
    pub name: String,
    /// Index of the parent, if any.
    pub parent: Option<usize>,
    /// Channel description.
    pub description: String,
    /// Other names ingest may use.
    pub aliases: Vec<String>,
    /// Items in this category's feed.
    pub max_items: usize,
    /// Minutes a reader may cache this category's feed.
    pub ttl_minutes: u32,
    /// Language of this category's feed and page, when it differs from the site's.
    pub language: Option<String>,
    /// Indexes of the children, in config order.
    pub children: Vec<usize>,
}

/// The category tree and its one namespace of slugs, names and aliases.
#[derive(Debug, Clone, Default)]
pub struct Categories {
    /// Categories in config order.
    pub list: Vec<Category>,
    /// Every slug, name and alias (folded by [`fold`]) to its category.
    names: HashMap<String, usize>,
}

/// Folds a category name for lookup: trimmed, ASCII case ignored.
pub fn fold(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

impl Categories {
    /// The category a slug, name or alias names, if any.
    pub fn lookup(&self, name: &str) -> Option<&Category> {
        self.names.get(&fold(name)).map(|&i| &self.list[i])
    }

    /// Index of the category a slug, name or alias names.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.get(&fold(name)).copied()
    }

    /// The category with exactly this slug.
    pub fn by_slug(&self, slug: &str) -> Option<usize> {
        self.list.iter().position(|c| c.slug == slug)
    }

    /// Indexes of the categories without a parent, in config order.
    pub fn roots(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.list.len()).filter(|&i| self.list[i].parent.is_none())
    }

    /// `idx` and all its descendants, depth first.
    pub fn subtree(&self, idx: usize) -> Vec<usize> {
        let mut out = vec![idx];
        let mut i = 0;
        while i < out.len() {
            out.extend(self.list[out[i]].children.iter().copied());
            i += 1;
        }
        out
    }

    /// `idx`'s ancestors, nearest first.
    pub fn ancestors(&self, idx: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut cur = self.list[idx].parent;
        while let Some(p) = cur {
            if out.contains(&p) || p == idx {
                break; // only reachable on an unvalidated tree
            }
            out.push(p);
            cur = self.list[p].parent;
        }
        out
    }

    /// The path from a root down to `idx`, as display names (`国内资讯 > 湖南新闻`).
    pub fn breadcrumb(&self, idx: usize) -> String {
        let mut path: Vec<&str> = self.ancestors(idx).iter().rev().map(|&i| self.list[i].name.as_str()).collect();
        path.push(&self.list[idx].name);
        path.join(" > ")
    }

    /// Resolves what an article gives as its category: a slug, a name, an alias, or a
    /// breadcrumb `国内资讯 > 湖南新闻` whose last element names the category.
    pub fn resolve(&self, reference: &str) -> Result<usize, String> {
        let parts: Vec<&str> = reference.split(['>', '＞', '»']).map(|p| p.trim()).filter(|p| !p.is_empty()).collect();
        let parts: Vec<&str> = match parts.first() {
            Some(first) if HOME_NAMES.contains(first) => parts[1..].to_vec(),
            _ => parts,
        };
        let Some(last) = parts.last() else {
            return Err(format!("{reference:?} names no category"));
        };
        let Some(idx) = self.index_of(last) else {
            return Err(format!("{last:?} is not a category slug, name or alias"));
        };
        let ancestors = self.ancestors(idx);
        for earlier in &parts[..parts.len() - 1] {
            if let Some(e) = self.index_of(earlier) {
                if !ancestors.contains(&e) {
                    return Err(format!(
                        "in {reference:?}, {earlier:?} is not an ancestor of {last:?} (its place is {})",
                        self.breadcrumb(idx)
                    ));
                }
            }
        }
        Ok(idx)
    }

    /// Claims the folded name `key` for category `idx`; the category that already holds
    /// it, if another one does (the name stays theirs).
    pub(super) fn claim(&mut self, key: String, idx: usize) -> Option<usize> {
        match self.names.get(&key) {
            Some(&owner) => Some(owner),
            None => {
                self.names.insert(key, idx);
                None
            }
        }
    }

    /// The categories on a cycle of parents through `start`, if there is one.
    pub(super) fn cycle_from(&self, start: usize) -> Option<Vec<usize>> {
        let mut seen = vec![start];
        let mut cur = self.list[start].parent;
        while let Some(p) = cur {
            if p == start {
                return Some(seen);
            }
            if seen.contains(&p) {
                return None; // a cycle, but not through `start`
            }
            seen.push(p);
            cur = self.list[p].parent;
        }
        None
    }

    pub(super) fn write_subtree(&self, out: &mut String, idx: usize, depth: usize) {
        let c = &self.list[idx];
        let aliases = if c.aliases.is_empty() { String::new() } else { format!(" aliases: {}", c.aliases.join(", ")) };
        let _ = writeln!(
            out,
            "{:indent$}{}: {} (max_items {}, ttl {} min){aliases}",
            "",
            c.slug,
            c.name,
            c.max_items,
            c.ttl_minutes,
            indent = depth * 2
        );
        for &child in &c.children {
            self.write_subtree(out, child, depth + 1);
        }
    }
}
