//! Property test: no parser panics, whatever the answer — random text, or a real or synthetic
//! answer cut anywhere (what a throttled connection delivers).

mod support;

use common::plan::ListingRules;
use crawler_worker::parse::bootstrap::parse_bootstrap;
use crawler_worker::parse::list::parse_list;
use crawler_worker::parse::product::parse_product;
use crawler_worker::parse::shops::parse_shops;
use crawler_worker::parse::spec::parse_spec;
use proptest::prelude::*;

fn all_parsers(text: &str) {
    let _ = parse_bootstrap(text);
    let rules = ListingRules { ignore_words: vec!["정품".into()], ..ListingRules::default() };
    let _ = parse_list(text, 1).map(|page| page.keep(&rules));
    let _ = parse_product(text);
    let _ = parse_spec(text);
    let _ = parse_shops(text);
}

fn samples() -> &'static [String] {
    static SAMPLES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    SAMPLES.get_or_init(read_samples)
}

fn read_samples() -> Vec<String> {
    let mut pages: Vec<String> = support::REAL_PRODUCT_PAGES.iter().map(|name| support::real_page(name)).collect();
    pages.push(support::real_page(support::REAL_EXPIRED_PAGE));
    pages.push(support::list_fragment(12));
    pages.push(support::spec_table(3));
    pages.push(support::shop_list(4));
    pages.push(support::bootstrap_page());
    pages
}

/// Cuts `text` at the char boundary at or before `at`.
fn cut(text: &str, at: usize) -> &str {
    let mut end = at.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_as_text(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        all_parsers(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn markup_like_noise(text in r#"(<[a-z]{1,5}( (id|class)="[a-zA-Z_ 0-9]{0,20}")?>|</[a-z]{1,5}>|[가-힣0-9,./: ]{0,8}|var oGlobalSetting = \{|nCategoryCode1: "|\\u[0-9a-f]{0,4}|'|"|\}){0,80}"#) {
        all_parsers(&text);
    }

}

proptest! {
    // Each case parses a page of up to 160 KB five times: fewer cases keep the debug run short.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn truncated_answers(sample in 0usize..9, fraction in 0.0f64..1.0) {
        let pages = samples();
        let page = &pages[sample % pages.len()];
        all_parsers(cut(page, (page.len() as f64 * fraction) as usize));
    }

    #[test]
    fn answers_with_a_slice_removed(sample in 0usize..9, start in 0.0f64..1.0, len in 0usize..2000) {
        let pages = samples();
        let page = &pages[sample % pages.len()];
        let from = cut(page, (page.len() as f64 * start) as usize).len();
        let rest = &page[from..];
        let to = from + cut(rest, len).len();
        let spliced = format!("{}{}", &page[..from], &page[to..]);
        all_parsers(&spliced);
    }
}
