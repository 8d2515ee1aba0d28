//! Walks the parsed JSON of a config, builds the typed config and collects every problem.

use std::collections::HashSet;

use super::json::{self, Node, Value};
use super::{Category, ConfigProblem, Filter, FilterKind, PageEnd, RegistrationDate, ScrapeConfig};

const TOP_KEYS: &[&str] =
    &["pageBaseUrl", "itemBaseUrl", "minimumDate", "ignoreWords", "itemsCategories", "categories"];
const CATEGORY_KEYS: &[&str] = &["category", "categoryNumber", "start", "end", "minimumDate", "ignoreWords", "filters"];
const FILTER_KEYS: &[&str] = &["name", "type", "value"];

pub(super) fn check(text: &str) -> Result<ScrapeConfig, Vec<ConfigProblem>> {
    let root = json::parse(text).map_err(|e| {
        let (line, column) = json::line_col(text, e.offset);
        vec![ConfigProblem { path: "$".into(), line, column, message: format!("invalid JSON: {e}") }]
    })?;
    let mut checker = Checker { text, problems: Vec::new() };
    let config = checker.config(&root);
    if checker.problems.is_empty() {
        Ok(config)
    } else {
        checker.problems.sort_by_key(|p| (p.line, p.column));
        Err(checker.problems)
    }
}

struct Checker<'a> {
    text: &'a str,
    problems: Vec<ConfigProblem>,
}

impl Checker<'_> {
    fn problem(&mut self, path: &str, node: &Node, message: impl Into<String>) {
        let (line, column) = json::line_col(self.text, node.offset);
        self.problems.push(ConfigProblem { path: path.into(), line, column, message: message.into() });
    }

    fn config(&mut self, root: &Node) -> ScrapeConfig {
        if !matches!(root.value, Value::Object(_)) {
            self.problem("$", root, format!("expected an object, found {}", root.value.type_name()));
            return empty_config();
        }
        self.known_keys("", root, TOP_KEYS);
        let page_base_url = self.base_url(root, "pageBaseUrl");
        let item_base_url = self.base_url(root, "itemBaseUrl");
        let minimum_date = self.optional_date(root, "", "minimumDate").unwrap_or_default();
        let ignore_words = self.optional_strings(root, "", "ignoreWords");
        let items_categories = self.optional_strings(root, "", "itemsCategories");
        let defined = defined_names(root);
        let mut categories = self.categories(root, minimum_date, &ignore_words);
        self.items_categories_defined(root, &defined);
        for category in &mut categories {
            category.crawl_items = items_categories.contains(&category.name);
        }
        ScrapeConfig { page_base_url, item_base_url, categories, hash: String::new() }
    }

    fn known_keys(&mut self, path: &str, node: &Node, allowed: &[&str]) {
        let Value::Object(members) = &node.value else { return };
        let mut seen = HashSet::new();
        for (key, value) in members {
            let member = join(path, key);
            if !allowed.contains(&key.as_str()) {
                self.problem(&member, value, format!("unknown field (expected one of: {})", allowed.join(", ")));
            } else if !seen.insert(key.as_str()) {
                self.problem(&member, value, "field given twice");
            }
        }
    }

    fn base_url(&mut self, root: &Node, key: &str) -> String {
        let Some(text) = self.required_string(root, "", key) else { return String::new() };
        let Some(node) = root.get(key) else { return text };
        match url::Url::parse(&text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
            Ok(url) => self.problem(key, node, format!("expected an http(s) URL, found scheme `{}`", url.scheme())),
            Err(e) => self.problem(key, node, format!("not a URL: {e}")),
        }
        text
    }

    fn required_string(&mut self, parent: &Node, path: &str, key: &str) -> Option<String> {
        let member = join(path, key);
        let Some(node) = parent.get(key) else {
            self.problem(&member, parent, "missing field");
            return None;
        };
        let text = self.string_like(&member, node)?;
        if text.trim().is_empty() {
            self.problem(&member, node, "must not be empty");
            return None;
        }
        Some(text)
    }

    /// A string, or a number written without quotes (the original accepted both).
    fn string_like(&mut self, path: &str, node: &Node) -> Option<String> {
        match &node.value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.clone()),
            other => {
                self.problem(path, node, format!("expected a string, found {}", other.type_name()));
                None
            }
        }
    }

    fn optional_date(&mut self, parent: &Node, path: &str, key: &str) -> Option<RegistrationDate> {
        let node = parent.get(key)?;
        let member = join(path, key);
        let text = self.string_like(&member, node)?;
        let date = RegistrationDate::parse(&text);
        if date.is_none() {
            self.problem(&member, node, format!("expected a year such as \"2018\" or \"2018.03\", found {text:?}"));
        }
        date
    }

    fn optional_strings(&mut self, parent: &Node, path: &str, key: &str) -> Vec<String> {
        let Some(node) = parent.get(key) else { return Vec::new() };
        let member = join(path, key);
        let Value::Array(items) = &node.value else {
            self.problem(&member, node, format!("expected an array of strings, found {}", node.value.type_name()));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match &item.value {
                Value::String(s) if !s.is_empty() => out.push(s.clone()),
                Value::String(_) => self.problem(&format!("{member}[{i}]"), item, "must not be empty"),
                other => self.problem(
                    &format!("{member}[{i}]"),
                    item,
                    format!("expected a string, found {}", other.type_name()),
                ),
            }
        }
        out
    }

    fn categories(&mut self, root: &Node, minimum_date: RegistrationDate, ignore_words: &[String]) -> Vec<Category> {
        let Some(node) = root.get("categories") else {
            self.problem("categories", root, "missing field");
            return Vec::new();
        };
        let Value::Array(items) = &node.value else {
            self.problem("categories", node, format!("expected an array, found {}", node.value.type_name()));
            return Vec::new();
        };
        if items.is_empty() {
            self.problem("categories", node, "must list at least one category");
        }
        let mut names = HashSet::new();
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("categories[{i}]");
            if let Some(at @ Node { value: Value::String(name), .. }) = item.get("category") {
                if !names.insert(name.as_str()) {
                    self.problem(&format!("{path}.category"), at, format!("category {name:?} is defined twice"));
                }
            }
            out.extend(self.category(&path, item, minimum_date, ignore_words));
        }
        out
    }

    fn category(
        &mut self,
        path: &str,
        node: &Node,
        minimum_date: RegistrationDate,
        ignore_words: &[String],
    ) -> Option<Category> {
        if !matches!(node.value, Value::Object(_)) {
            self.problem(path, node, format!("expected an object, found {}", node.value.type_name()));
            return None;
        }
        self.known_keys(path, node, CATEGORY_KEYS);
        let name = self.required_string(node, path, "category");
        let number = self.category_number(node, path);
        let (start_page, end_page) = self.page_range(node, path);
        let own_date = self.optional_date(node, path, "minimumDate");
        let mut words = ignore_words.to_vec();
        for word in self.optional_strings(node, path, "ignoreWords") {
            if !words.contains(&word) {
                words.push(word);
            }
        }
        let filters = self.filters(node, path);
        Some(Category {
            name: name?,
            number: number?,
            start_page,
            end_page,
            minimum_date: own_date.unwrap_or(minimum_date),
            ignore_words: words,
            filters,
            crawl_items: false,
        })
    }

    fn category_number(&mut self, node: &Node, path: &str) -> Option<String> {
        let number = self.required_string(node, path, "categoryNumber")?;
        if !number.bytes().all(|b| b.is_ascii_digit()) {
            let at = node.get("categoryNumber").unwrap_or(node);
            self.problem(&join(path, "categoryNumber"), at, format!("expected digits, found {number:?}"));
            return None;
        }
        Some(number)
    }

    fn page_range(&mut self, node: &Node, path: &str) -> (u32, PageEnd) {
        let start = self.page_number(node, path, "start", false).and_then(|end| match end {
            PageEnd::Page(n) => Some(n),
            PageEnd::Last => None,
        });
        let end = self.page_number(node, path, "end", true);
        if let (Some(start), Some(PageEnd::Page(end))) = (start, end) {
            if start > end {
                let at = node.get("start").unwrap_or(node);
                self.problem(&join(path, "start"), at, format!("start page {start} is after end page {end}"));
            }
        }
        (start.unwrap_or(1), end.unwrap_or(PageEnd::Last))
    }

    /// `start` defaults to 1 and `end` to `"*"` when absent; present, they must be page numbers.
    fn page_number(&mut self, node: &Node, path: &str, key: &str, star_allowed: bool) -> Option<PageEnd> {
        let value = node.get(key)?;
        let member = join(path, key);
        let text = self.string_like(&member, value)?;
        if star_allowed && text.trim() == "*" {
            return Some(PageEnd::Last);
        }
        match text.trim().parse::<u32>() {
            Ok(n) if n >= 1 => Some(PageEnd::Page(n)),
            _ => {
                let expected =
                    if star_allowed { "a page number (1 or more) or \"*\"" } else { "a page number (1 or more)" };
                self.problem(&member, value, format!("expected {expected}, found {text:?}"));
                None
            }
        }
    }

    fn filters(&mut self, node: &Node, path: &str) -> Vec<Filter> {
        let Some(list) = node.get("filters") else { return Vec::new() };
        let list_path = join(path, "filters");
        let Value::Array(items) = &list.value else {
            self.problem(&list_path, list, format!("expected an array, found {}", list.value.type_name()));
            return Vec::new();
        };
        items.iter().enumerate().filter_map(|(i, item)| self.filter(&format!("{list_path}[{i}]"), item)).collect()
    }

    fn filter(&mut self, path: &str, node: &Node) -> Option<Filter> {
        if !matches!(node.value, Value::Object(_)) {
            self.problem(path, node, format!("expected an object, found {}", node.value.type_name()));
            return None;
        }
        self.known_keys(path, node, FILTER_KEYS);
        let name = self.required_string(node, path, "name");
        let value = self.required_string(node, path, "value");
        let kind = self.required_string(node, path, "type").and_then(|kind| match kind.as_str() {
            "maker" => Some(FilterKind::Maker),
            "attribute" => Some(FilterKind::Attribute),
            other => {
                let at = node.get("type").unwrap_or(node);
                self.problem(&join(path, "type"), at, format!("expected \"maker\" or \"attribute\", found {other:?}"));
                None
            }
        });
        Some(Filter { name: name?, kind: kind?, value: value? })
    }

    /// `defined` includes categories that have other problems: those are reported on their own.
    fn items_categories_defined(&mut self, root: &Node, defined: &HashSet<&str>) {
        let Some(Node { value: Value::Array(items), .. }) = root.get("itemsCategories") else { return };
        for (i, item) in items.iter().enumerate() {
            if let Value::String(name) = &item.value {
                if !defined.contains(name.as_str()) {
                    self.problem(
                        &format!("itemsCategories[{i}]"),
                        item,
                        format!("names category {name:?}, which `categories` does not define"),
                    );
                }
            }
        }
    }
}

/// The `category` names written in `categories[]`, valid or not.
fn defined_names(root: &Node) -> HashSet<&str> {
    let Some(Node { value: Value::Array(items), .. }) = root.get("categories") else { return HashSet::new() };
    items
        .iter()
        .filter_map(|item| match item.get("category") {
            Some(Node { value: Value::String(name), .. }) => Some(name.as_str()),
            _ => None,
        })
        .collect()
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn empty_config() -> ScrapeConfig {
    ScrapeConfig {
        page_base_url: String::new(),
        item_base_url: String::new(),
        categories: Vec::new(),
        hash: String::new(),
    }
}
