//! Parser throughput: answers parsed per second, one core, for each parser. Product pages are
//! the real captures; the other answers are the synthetic ones of `tests/support` (a 90-product
//! list fragment, a 6-section spec table, a 4×15-row shop list, a bootstrap page).
//!
//! `cargo bench -p crawler-worker --bench parsers`

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;

use common::plan::ListingRules;
use crawler_worker::parse::assemble::assemble;
use crawler_worker::parse::bootstrap::parse_bootstrap;
use crawler_worker::parse::list::parse_list;
use crawler_worker::parse::product::{parse_product, ProductAnswer};
use crawler_worker::parse::shops::parse_shops;
use crawler_worker::parse::spec::parse_spec;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn parsers(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    // One answer per iteration: criterion's "elements/s" is answers per second.
    group.throughput(Throughput::Elements(1));

    let bootstrap = support::bootstrap_page();
    group.bench_function("bootstrap", |b| b.iter(|| parse_bootstrap(black_box(&bootstrap))));

    let list = support::list_fragment(90);
    let rules = ListingRules { ignore_words: vec!["채굴".into(), "중고".into()], ..ListingRules::default() };
    group.bench_function("list_90", |b| b.iter(|| parse_list(black_box(&list), 1).map(|page| page.keep(&rules))));

    let product = support::real_page("danawa_offers_16559657.html");
    group.bench_function("product_real_132k", |b| b.iter(|| parse_product(black_box(&product))));

    let spec = support::spec_table(6);
    group.bench_function("spec", |b| b.iter(|| parse_spec(black_box(&spec))));

    let shops = support::shop_list(15);
    group.bench_function("shops_60", |b| b.iter(|| parse_shops(black_box(&shops))));

    group.bench_function("item_all_three_plus_assemble", |b| {
        b.iter(|| {
            let Ok(ProductAnswer::Product(page)) = parse_product(black_box(&product)) else { return None };
            let spec = parse_spec(black_box(&spec)).ok()?;
            let vendors = parse_shops(black_box(&shops)).ok()?.vendors;
            assemble("graphics", &page.category_number, &page, &spec, vendors).ok()
        })
    });
    group.finish();
}

criterion_group!(benches, parsers);
criterion_main!(benches);
