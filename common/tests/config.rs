//! The scrape config loader against the original config and every kind of bad input.

use std::path::Path;

use common::config::{ConfigError, ConfigProblem, FilterKind, PageEnd, RegistrationDate, ScrapeConfig};

const ORIGINAL: &str = include_str!("fixtures/scrapConfig.json");

#[test]
fn accepts_the_original_config_verbatim() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scrapConfig.json");
    let config = ScrapeConfig::load(&path).expect("the original config is valid");
    assert_eq!(config.categories.len(), 9);
    assert_eq!(config.page_base_url, "https://prod.danawa.com/list/?cate=");
    let cpu = config.category("cpu").expect("cpu");
    assert_eq!(cpu.number, "112747");
    assert_eq!((cpu.start_page, cpu.end_page), (1, PageEnd::Last));
    assert_eq!(cpu.ignore_words, ["채굴", "마이닝", "중고", "해외구매"], "global words then the category's");
    assert_eq!(cpu.minimum_date, RegistrationDate { year: 2018, month: 1 });
    assert_eq!(cpu.filters[1].kind, FilterKind::Maker);
    assert_eq!(cpu.filters[1].value, "3132");
    let hdd = config.category("hdd").expect("hdd");
    assert_eq!(hdd.minimum_date, RegistrationDate { year: 0, month: 0 }, "the category's minimumDate wins");
    assert_eq!(config.category("cooler").map(|c| c.filters.len()), Some(37));
    assert!(config.categories.iter().all(|c| c.crawl_items));
    assert_eq!(config.hash.len(), 64);
}

fn problems(text: &str) -> Vec<ConfigProblem> {
    ScrapeConfig::parse(text).expect_err("config must be rejected")
}

/// Replaces the first occurrence of `from` in the original config.
fn original_with(from: &str, to: &str) -> String {
    assert!(ORIGINAL.contains(from), "fixture lacks {from:?}");
    ORIGINAL.replacen(from, to, 1)
}

fn assert_problem(found: &[ConfigProblem], path: &str, line: usize, needle: &str) {
    assert!(
        found.iter().any(|p| p.path == path && p.line == line && p.message.contains(needle)),
        "expected a problem at {path} (line {line}) mentioning {needle:?}, got:\n{found:#?}"
    );
}

#[test]
fn invalid_json_names_line_and_column() {
    let found = problems(&original_with("\"minimumDate\": \"2018\",", "\"minimumDate\": \"2018\""));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].path, "$");
    assert_eq!((found[0].line, found[0].column), (5, 3));
    assert!(found[0].message.contains("invalid JSON"));
}

#[test]
fn missing_or_empty_category_number() {
    let found = problems(&original_with("\"categoryNumber\": \"112747\",", ""));
    assert_problem(&found, "categories[0].categoryNumber", 18, "missing");
    assert_eq!(found.len(), 1, "only the missing field: {found:#?}");
    let found = problems(&original_with("\"categoryNumber\": \"112751\"", "\"categoryNumber\": \"\""));
    assert_problem(&found, "categories[1].categoryNumber", 39, "empty");
}

#[test]
fn filter_type_must_be_maker_or_attribute() {
    let found = problems(&original_with(
        "\"type\": \"attribute\",\n          \"value\": \"2154\"",
        "\"type\": \"brand\",\n          \"value\": \"2154\"",
    ));
    assert_problem(&found, "categories[1].filters[1].type", 50, "\"maker\" or \"attribute\"");
}

#[test]
fn start_and_end_must_be_numbers_in_order() {
    let found = problems(&original_with(
        "\"start\": \"1\",\n      \"end\": \"*\",\n      \"ignoreWords\"",
        "\"start\": \"one\",\n      \"end\": \"*\",\n      \"ignoreWords\"",
    ));
    assert_problem(&found, "categories[0].start", 21, "page number");
    let found = problems(&original_with(
        "\"start\": \"1\",\n      \"end\": \"*\",\n      \"filters\"",
        "\"start\": \"1\",\n      \"end\": \"last\",\n      \"filters\"",
    ));
    assert_problem(&found, "categories[1].end", 41, "page number");
    let found = problems(&original_with(
        "\"start\": \"1\",\n      \"end\": \"*\",\n      \"filters\"",
        "\"start\": \"5\",\n      \"end\": \"2\",\n      \"filters\"",
    ));
    assert_problem(&found, "categories[1].start", 40, "after end page 2");
}

#[test]
fn category_names_are_unique() {
    let found = problems(&original_with("\"category\": \"motherboard\"", "\"category\": \"cpu\""));
    assert_problem(&found, "categories[1].category", 38, "defined twice");
}

#[test]
fn items_categories_must_be_defined() {
    let found = problems(&original_with("\"cooler\"\n  ]", "\"coolers\"\n  ]"));
    assert_problem(&found, "itemsCategories[8]", 15, "does not define");
}

#[test]
fn base_urls_must_be_http() {
    let found = problems(&original_with("https://prod.danawa.com/list/?cate=", "ftp://prod.danawa.com/list/?cate="));
    assert_problem(&found, "pageBaseUrl", 2, "http(s)");
    let found = problems(&original_with("https://prod.danawa.com/info/?pcode=", "prod.danawa.com/info"));
    assert_problem(&found, "itemBaseUrl", 3, "not a URL");
}

#[test]
fn every_problem_is_reported_at_once_in_source_order() {
    let text = original_with("\"categoryNumber\": \"112747\",", "")
        .replacen(
            "\"type\": \"attribute\",\n          \"value\": \"2154\"",
            "\"type\": \"brand\",\n          \"value\": \"2154\"",
            1,
        )
        .replacen("\"category\": \"motherboard\"", "\"category\": \"cpu\"", 1)
        .replacen("https://prod.danawa.com/list/?cate=", "ftp://x/", 1);
    let found = problems(&text);
    let paths: Vec<&str> = found.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "pageBaseUrl",
            "itemsCategories[1]",
            "categories[0].categoryNumber",
            "categories[1].category",
            "categories[1].filters[1].type"
        ]
    );
}

#[test]
fn wrong_types_and_unknown_fields_are_named() {
    let found = problems(
        r#"{"pageBaseUrl": 5, "itemBaseUrl": "http://x/", "categories": [{"category": "a", "categoryNumber": "1", "filters": {}, "colour": 1}]}"#,
    );
    assert_problem(&found, "pageBaseUrl", 1, "");
    assert_problem(&found, "categories[0].filters", 1, "expected an array");
    assert_problem(&found, "categories[0].colour", 1, "unknown field");
}

#[test]
fn load_error_names_the_file() {
    let dir = std::env::temp_dir().join(format!("ek-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.json");
    std::fs::write(&path, "{").expect("write");
    let err = ScrapeConfig::load(&path).expect_err("bad");
    assert!(matches!(err, ConfigError::Invalid { .. }));
    assert!(err.to_string().contains("bad.json"), "{err}");
    assert!(matches!(ScrapeConfig::load(&dir.join("absent.json")), Err(ConfigError::Io { .. })));
    let _ = std::fs::remove_dir_all(dir);
}
