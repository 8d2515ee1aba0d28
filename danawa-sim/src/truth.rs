//! The ground truth: for a scrape config, the exact `parts` documents a complete run must
//! leave in MongoDB (timestamps excepted), computed from the catalogue model with the rules
//! of the issue, never from the sim's own markup.

use std::collections::BTreeMap;

use common::config::{Category as ConfigCategory, FilterKind, PageEnd, RegistrationDate, ScrapeConfig, LIST_COUNT};
use common::parts::{
    normalize_maker, sort_order, split_title, strip_count_suffix, Detail, Part, PartName, PricePoint, Vendor, Vendors,
};

use crate::catalogue::shops::{bridge_url, shop_lists, ShopRow};
use crate::catalogue::specs::{kind_label, spec_table, CERTIFICATION};
use crate::catalogue::{Catalogue, Product, Stock, VariantRef};
use crate::markup::product_page::page_price;

/// `scrapConfig.json` as shipped with the original system: the default for the truth endpoint.
pub const DEFAULT_CONFIG: &str = include_str!("default_config.json");

/// Parses the default config.
///
/// # Errors
/// Only if the embedded file were broken (a build-time mistake).
pub fn default_config() -> anyhow::Result<ScrapeConfig> {
    ScrapeConfig::parse(DEFAULT_CONFIG).map_err(|problems| anyhow::anyhow!("embedded config invalid: {problems:?}"))
}

/// One appearance of a variant in a list: what the list stage learns about it.
struct Seen {
    category: String,
    sort_order: i64,
    variants: Vec<String>,
    is_variant: bool,
    crawl_items: bool,
    code_name: bool,
}

/// The parts documents of a complete run, sorted by pcode.
pub fn ground_truth(catalogue: &Catalogue, config: &ScrapeConfig) -> Vec<Part> {
    let mut seen: BTreeMap<u32, Seen> = BTreeMap::new();
    for category in &config.categories {
        collect_category(catalogue, category, &mut seen);
    }
    seen.into_iter()
        .filter_map(|(pcode, s)| catalogue.find(pcode).map(|v| build_part(catalogue.params.seed, &v, s)))
        .collect()
}

fn collect_category(catalogue: &Catalogue, category: &ConfigCategory, seen: &mut BTreeMap<u32, Seen>) {
    let Some(served) = category.number.parse().ok().and_then(|n| catalogue.by_number(n)) else {
        return;
    };
    for filter in category.listings() {
        let (makers, attrs) = match filter {
            Some(f) => {
                let value: u32 = f.value.parse().unwrap_or(0);
                match f.kind {
                    FilterKind::Maker => (vec![value], vec![]),
                    FilterKind::Attribute => (vec![], vec![value]),
                }
            }
            None => (vec![], vec![]),
        };
        let listing = served.listing(&makers, &attrs);
        let per_page = LIST_COUNT as usize;
        let last = listing.len().div_ceil(per_page) as u32;
        let end = match category.end_page {
            PageEnd::Last => last,
            PageEnd::Page(n) => n.min(last),
        };
        for page in category.start_page.max(1)..=end {
            let from = (page as usize - 1) * per_page;
            let entries = listing.iter().skip(from).take(per_page);
            for (i, &index) in entries.enumerate() {
                if let Some(product) = served.products.get(index as usize) {
                    record_entry(category, product, sort_order(page, i as u32), seen);
                }
            }
        }
    }
}

fn record_entry(category: &ConfigCategory, product: &Product, order: i64, seen: &mut BTreeMap<u32, Seen>) {
    let date = RegistrationDate { year: product.year, month: product.month };
    if !category.is_recent_enough(Some(date)) || category.is_ignored(&product.list_name()) {
        return;
    }
    let kept: Vec<u32> = product
        .variants
        .iter()
        .filter(|v| v.tag.as_deref().is_none_or(|t| !category.is_ignored(t)))
        .map(|v| v.pcode)
        .collect();
    let variants: Vec<String> = kept.iter().map(u32::to_string).collect();
    for (k, &pcode) in kept.iter().enumerate() {
        seen.entry(pcode).and_modify(|s| s.sort_order = s.sort_order.max(order)).or_insert_with(|| Seen {
            category: category.name.clone(),
            sort_order: order,
            variants: variants.clone(),
            is_variant: k > 0,
            crawl_items: category.crawl_items,
            code_name: category.name == "cpu",
        });
    }
}

fn build_part(seed: u64, v: &VariantRef<'_>, s: Seen) -> Part {
    let mut part = Part {
        pcode: v.variant.pcode.to_string(),
        category: s.category.clone(),
        name: list_name(v, s.code_name),
        variants: s.variants.clone(),
        is_variant: s.is_variant,
        sort_order: s.sort_order,
        stock: v.variant.stock.has_list_price(),
        details: BTreeMap::new(),
        vendors: Vendors::default(),
        prices: Vec::new(),
        is_updating: false,
        created_at: None,
        updated_at: None,
    };
    if s.crawl_items {
        apply_item_crawl(seed, v, &s, &mut part);
    }
    part
}

/// The name as the list shows it: the entry's name split like a title, the variant's own
/// tag when it has one.
fn list_name(v: &VariantRef<'_>, code_name: bool) -> PartName {
    let split = split_title(&v.product.list_name(), code_name);
    PartName { full_name: split.full_name, tag: v.variant.tag.as_deref().map(str::to_owned).or(split.tag) }
}

fn apply_item_crawl(seed: u64, v: &VariantRef<'_>, s: &Seen, part: &mut Part) {
    if v.variant.stock == Stock::Discontinued {
        part.stock = false;
        return;
    }
    let title = v.product.title(usize::from(v.location.variant));
    let split = split_title(&title, s.code_name);
    part.name = PartName { full_name: split.full_name, tag: split.tag };
    part.details = details(seed, v, &s.category);
    if let Some(code) = split.code_name {
        part.details.insert("코드 네임".to_owned(), Detail { value: code, section: "CPU".to_owned() });
    }
    let shops = shop_lists(seed, v);
    let price = page_price(v, &shops);
    part.stock = !price.sold_out;
    part.vendors = Vendors {
        open_market: vendors(v, &shops.open_market, false),
        mall: vendors(v, &shops.mall, false),
        credit: vendors(v, &shops.credit, true),
        cash: vendors(v, &shops.cash, true),
    };
    let lowest = shops.lowest().or(price.min_price).or(price.low_price);
    if let (true, Some(p)) = (part.stock, lowest) {
        part.prices = vec![PricePoint { timestamp: None, price: i64::from(p) }];
    }
}

fn details(seed: u64, v: &VariantRef<'_>, category: &str) -> BTreeMap<String, Detail> {
    let mut out = BTreeMap::new();
    for section in spec_table(seed, v) {
        if section.name == CERTIFICATION {
            break;
        }
        let cooler = section.name.contains("쿨러");
        for (field, value) in &section.fields {
            let value = value.trim();
            let value = if *field == "제조회사" {
                normalize_maker(value)
            } else if cooler {
                strip_count_suffix(value).to_owned()
            } else {
                value.to_owned()
            };
            out.insert((*field).to_owned(), Detail { value, section: section.name.to_owned() });
        }
    }
    if category == "graphics" || category.to_lowercase().contains("cooler") {
        out.insert("분류".to_owned(), Detail { value: kind_label(v).to_owned(), section: "요약".to_owned() });
    }
    out
}

fn vendors(v: &VariantRef<'_>, rows: &[ShopRow], coded_list: bool) -> Vec<Vendor> {
    rows.iter()
        .filter_map(|row| {
            let price = row.price?;
            Some(Vendor {
                vendor_name: row.name.to_owned(),
                vendor_code: (coded_list || row.npay).then(|| row.mall_code.to_owned()),
                vendor_url: bridge_url(v, row),
                price: i64::from(price),
                // `유/무료` (conditional) is stored as null, never as free.
                shipping_cost: row.shipping.map(i64::from),
                card: row.card.map(str::to_owned),
            })
        })
        .collect()
}
