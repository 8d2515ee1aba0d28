//! Test support: start a sim on a free port, and a small reference crawler that reads the
//! sim's HTML with the selectors DANAWA.md names (independently of the sim's renderers), so
//! tests can check that markup and ground truth agree.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::config::{FilterKind, PageEnd, RegistrationDate, ScrapeConfig};
use common::parts::{
    normalize_maker, sort_order, split_title, strip_count_suffix, Detail, Part, PartName, PricePoint, Vendor, Vendors,
};
use danawa_sim::{CatalogueParams, SimConfig, SimHandle};
use futures::StreamExt;
use scraper::{ElementRef, Html, Selector};

/// Starts a sim on 127.0.0.1:0.
pub(crate) async fn start(config: SimConfig) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    danawa_sim::serve(config, listener).await.expect("serve")
}

/// A small catalogue for quick tests.
pub(crate) fn small(seed: u64, products: usize) -> SimConfig {
    SimConfig {
        catalogue: CatalogueParams { seed, categories: 9, products_per_category: products, max_variants: 4 },
        ..SimConfig::default()
    }
}

/// `../shared/danawa-pages/` beside the repository (override with SIM_SHARED_DIR).
pub(crate) fn shared_dir() -> PathBuf {
    std::env::var_os("SIM_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

pub(crate) fn sel(css: &str) -> Selector {
    Selector::parse(css).expect("selector")
}

pub(crate) fn text(e: ElementRef<'_>) -> String {
    e.text().collect::<String>().trim().to_owned()
}

pub(crate) fn first_text(doc: &Html, css: &str) -> Option<String> {
    doc.select(&sel(css)).next().map(text)
}

fn digits(s: &str) -> Option<i64> {
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    let numeric = !s.trim().is_empty() && s.trim().chars().all(|c| c.is_ascii_digit() || c == ',' || c == '원');
    if numeric {
        d.parse().ok()
    } else {
        None
    }
}

/// A JS object field such as `nListCategoryCode: "747"` (quoted or not).
pub(crate) fn js_field(page: &str, name: &str) -> Option<String> {
    let at = page.find(&format!("{name}:"))? + name.len() + 1;
    let rest = page[at..].trim_start();
    let end = rest.find([',', '\n', '}'])?;
    Some(rest[..end].trim().trim_matches('"').to_owned())
}

/// What the list request needs from a category page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bootstrap {
    pub list_category_code: String,
    pub category_code: String,
    pub group: String,
    pub depth: String,
    pub physics: [String; 4],
}

/// The list request's codes from a legacy page (`oGlobalSetting`) or a Next.js page (the
/// payload's `categoryContext`); `None` for anything else.
pub(crate) fn bootstrap(page_html: &str) -> Option<Bootstrap> {
    if page_html.contains("var oGlobalSetting") {
        let f = |n: &str| js_field(page_html, n);
        return Some(Bootstrap {
            list_category_code: f("nListCategoryCode")?,
            category_code: f("nCategoryCode")?,
            group: f("nListGroup")?,
            depth: f("nListDepth")?,
            physics: [f("sPhysicsCate1")?, f("sPhysicsCate2")?, f("sPhysicsCate3")?, f("sPhysicsCate4")?],
        });
    }
    let payload = next_payload(page_html)?;
    let context = &payload["categoryContext"];
    let f = |n: &str| context[n].as_str().map(str::to_owned);
    Some(Bootstrap {
        list_category_code: f("listCategoryCode")?,
        category_code: f("categoryCode")?,
        group: f("group")?,
        depth: f("depth")?,
        physics: [f("physicsCate1")?, f("physicsCate2")?, f("physicsCate3")?, f("physicsCate4")?],
    })
}

/// The decoded strings of every `self.__next_f.push([1,"…"])` chunk of a Next.js page.
pub(crate) fn next_chunks(page_html: &str) -> Vec<String> {
    const OPEN: &str = "self.__next_f.push(";
    let mut out = Vec::new();
    let mut rest = page_html;
    while let Some(at) = rest.find(OPEN) {
        rest = &rest[at + OPEN.len()..];
        let Some(end) = rest.find(")</script>") else { break };
        // The argument is a JSON array: the JS string literal is also a JSON string.
        if let Ok(serde_json::Value::Array(items)) = serde_json::from_str(&rest[..end]) {
            if let Some(text) = items.get(1).and_then(|v| v.as_str()) {
                out.push(text.to_owned());
            }
        }
        rest = &rest[end..];
    }
    out
}

/// The payload object holding `categoryContext` (with `totalCount` and `totalPages`).
pub(crate) fn next_payload(page_html: &str) -> Option<serde_json::Value> {
    next_chunks(page_html).iter().find_map(|chunk| {
        let at = chunk.find("{\"categoryContext\"")?;
        serde_json::Deserializer::from_str(&chunk[at..]).into_iter::<serde_json::Value>().next()?.ok()
    })
}

/// The `value` of the checkbox `input#ID` on a category page (either template).
pub(crate) fn checkbox_value(page_html: &str, id: &str) -> Option<String> {
    let doc = Html::parse_document(page_html);
    let input = doc.select(&sel(&format!("input[type=checkbox]#{id}"))).next()?;
    input.value().attr("value").map(str::to_owned)
}

/// One list entry as the list fragment shows it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub name: String,
    pub date: Option<RegistrationDate>,
    pub variants: Vec<(String, Option<String>, bool)>,
}

/// Parses a list fragment: (total, entries without ads).
pub(crate) fn parse_fragment(html: &str) -> (usize, Vec<Entry>) {
    let doc = Html::parse_fragment(html);
    let total = doc
        .select(&sel("input#totalProductCount"))
        .next()
        .and_then(|e| e.value().attr("value"))
        .map(|v| v.replace(',', "").parse().expect("total"))
        .unwrap_or(0);
    let items = sel("div.main_prodlist_list > ul.product_list > li.prod_item:not(.prod_ad_item)");
    let entries = doc
        .select(&items)
        .filter(|li| !li.value().id().unwrap_or("").starts_with("ad"))
        .map(|li| Entry {
            name: li.select(&sel("p.prod_name a[name=productName]")).next().map(text).unwrap_or_default(),
            date: li.select(&sel("dl.meta_item.mt_date dd")).next().and_then(|d| RegistrationDate::parse(&text(d))),
            variants: entry_variants(li),
        })
        .collect();
    (total, entries)
}

/// The variants of an entry: the `li#productInfoDetail_…` of its price list or, when its only
/// price list is a `div.prod_pricelist.prod_top5`, the one pcode of that list's mall rows
/// (DANAWA.md "Newer evidence": list items).
fn entry_variants(li: ElementRef<'_>) -> Vec<(String, Option<String>, bool)> {
    if li.select(&sel("div.prod_pricelist:not(.prod_top5)")).next().is_none() {
        let Some(first) = li.select(&sel("div.prod_pricelist.prod_top5 ul > li > a")).next() else {
            return Vec::new();
        };
        let href = first.value().attr("href").unwrap_or("");
        let query = href.split_once('?').map_or("", |(_, q)| q);
        let pcode = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "pcode")
            .map(|(_, v)| v.into_owned())
            .expect("pcode in the mall row link");
        let price = first.select(&sel("div > em")).next().map(text).unwrap_or_default();
        return vec![(pcode, None, digits(&price).is_some())];
    }
    li.select(&sel("div.prod_pricelist:not(.prod_top5) ul > li[id^=productInfoDetail_]"))
        .map(|v| {
            let pcode = v.value().id().unwrap_or("").trim_start_matches("productInfoDetail_").to_owned();
            let tag = v.select(&sel("p.memory_sect")).next().and_then(|memory| {
                memory.select(&sel("span.text")).next().map(text).or_else(|| {
                    // The 2021–23 shape: the tag is the bare text node.
                    let bare: String =
                        memory.children().filter_map(|n| n.value().as_text().map(|t| t.to_string())).collect();
                    Some(bare.trim().to_owned()).filter(|t| !t.is_empty())
                })
            });
            let price = v.select(&sel("p.price_sect a strong")).next().map(text).unwrap_or_default();
            (pcode, tag, digits(&price).is_some())
        })
        .collect()
}

/// A reference crawl of the whole config against a running sim.
pub(crate) struct RefCrawler {
    pub origin: String,
    pub client: reqwest::Client,
}

struct Seen {
    category: String,
    sort_order: i64,
    variants: Vec<String>,
    is_variant: bool,
    stock: bool,
    name: PartName,
    items: bool,
}

impl RefCrawler {
    pub(crate) fn new(origin: String) -> Self {
        Self { origin, client: reqwest::Client::new() }
    }

    pub(crate) async fn post(&self, path: &str, referer: &str, form: &[(String, String)]) -> String {
        self.client
            .post(format!("{}{path}", self.origin))
            .header("X-Requested-With", "XMLHttpRequest")
            .header("Referer", referer)
            .header("Origin", self.origin.as_str())
            .form(form)
            .send()
            .await
            .expect("post")
            .text()
            .await
            .expect("body")
    }

    pub(crate) async fn get(&self, path: &str) -> String {
        self.client.get(format!("{}{path}", self.origin)).send().await.expect("get").text().await.expect("body")
    }

    /// The list form of DANAWA.md §2 (minimal set plus the filter), from either template.
    pub(crate) fn list_form(page_html: &str, page: u32, filter: Option<(&FilterKind, &str)>) -> Vec<(String, String)> {
        let b = bootstrap(page_html).expect("a category page with its codes");
        let mut form = vec![
            ("btnAllOptUse".to_owned(), filter.is_some().to_string()),
            ("page".to_owned(), page.to_string()),
            ("listCategoryCode".to_owned(), b.list_category_code),
            ("categoryCode".to_owned(), b.category_code),
            ("physicsCate1".to_owned(), b.physics[0].clone()),
            ("physicsCate2".to_owned(), b.physics[1].clone()),
            ("viewMethod".to_owned(), "LIST".to_owned()),
            ("sortMethod".to_owned(), "BEST".to_owned()),
            ("listCount".to_owned(), "90".to_owned()),
            ("group".to_owned(), b.group),
            ("depth".to_owned(), b.depth),
        ];
        match filter {
            Some((FilterKind::Maker, v)) => {
                assert!(checkbox_value(page_html, &format!("searchMakerRep{v}")).is_some(), "maker {v} offered");
                form.push(("searchMaker[]".to_owned(), v.to_owned()));
            }
            Some((FilterKind::Attribute, v)) => {
                // The config names the attribute id; the request needs the checkbox's full value.
                let full = checkbox_value(page_html, &format!("searchAttributeValueRep{v}"))
                    .unwrap_or_else(|| panic!("no checkbox for attribute {v}"));
                form.push(("searchAttributeValueRep[]".to_owned(), full.clone()));
                form.push(("searchAttributeValue[]".to_owned(), full));
            }
            None => {}
        }
        form
    }

    /// Crawls everything the config names and builds the parts documents.
    pub(crate) async fn crawl(&self, config: &ScrapeConfig) -> Vec<Part> {
        let mut seen: BTreeMap<u64, Seen> = BTreeMap::new();
        for category in &config.categories {
            let referer = format!("{}/list/index.php?cate={}", self.origin, category.number);
            let page_html = self.get(&format!("/list/index.php?cate={}", category.number)).await;
            if bootstrap(&page_html).is_none() {
                continue;
            }
            for filter in category.listings() {
                let filter = filter.map(|f| (&f.kind, f.value.as_str()));
                let first = self
                    .post("/list/ajax/getProductList.ajax.php", &referer, &Self::list_form(&page_html, 1, filter))
                    .await;
                let (total, _) = parse_fragment(&first);
                let last = total.div_ceil(90) as u32;
                let end = match category.end_page {
                    PageEnd::Last => last,
                    PageEnd::Page(n) => n.min(last),
                };
                for page in category.start_page..=end {
                    let form = Self::list_form(&page_html, page, filter);
                    let html = self.post("/list/ajax/getProductList.ajax.php", &referer, &form).await;
                    for (i, entry) in parse_fragment(&html).1.into_iter().enumerate() {
                        record(category, &entry, sort_order(page, i as u32), &mut seen);
                    }
                }
            }
        }
        let parts = futures::stream::iter(seen)
            .map(|(pcode, s)| async move { self.part(pcode, s).await })
            .buffered(16)
            .collect::<Vec<_>>()
            .await;
        parts
    }

    async fn part(&self, pcode: u64, s: Seen) -> Part {
        let mut part = Part {
            pcode: pcode.to_string(),
            category: s.category.clone(),
            name: s.name.clone(),
            variants: s.variants.clone(),
            is_variant: s.is_variant,
            sort_order: s.sort_order,
            stock: s.stock,
            details: BTreeMap::new(),
            vendors: Vendors::default(),
            prices: vec![],
            is_updating: false,
            created_at: None,
            updated_at: None,
        };
        if s.items {
            self.item(pcode, &s.category, &mut part).await;
        }
        part
    }

    async fn item(&self, pcode: u64, category: &str, part: &mut Part) {
        let page = self.get(&format!("/info/?pcode={pcode}")).await;
        if page.contains("서비스가 종료된 상품") {
            part.stock = false;
            return;
        }
        let referer = format!("{}/info/?pcode={pcode}", self.origin);
        let form = vec![
            ("pcode".to_owned(), pcode.to_string()),
            ("cate1".to_owned(), js_field(&page, "nCategoryCode1").unwrap_or_default()),
        ];
        let spec = self.post("/info/ajax/getProductDescription.ajax.php", &referer, &form).await;
        let malls = self.post("/info/ajax/getAllPriceCompareMallList.ajax.php", &referer, &form).await;
        let doc = Html::parse_document(&page);
        let title = first_text(&doc, ".top_summary h3.prod_tit span.title").expect("title");
        let split = split_title(&title, category == "cpu");
        part.name = PartName { full_name: split.full_name, tag: split.tag };
        part.details = parse_spec(&spec);
        if let Some(code) = split.code_name {
            part.details.insert("코드 네임".into(), Detail { value: code, section: "CPU".into() });
        }
        if category == "graphics" || category.to_lowercase().contains("cooler") {
            let summary = first_text(&doc, ".spec_list").unwrap_or_default();
            let first = summary.split(" / ").next().unwrap_or("").trim().to_owned();
            part.details.insert("분류".into(), Detail { value: first, section: "요약".into() });
        }
        part.stock = !page.contains("ENP_VAR.collect.soldOut = 'Y'");
        part.vendors = parse_malls(&malls);
        let shop_min = [&part.vendors.open_market, &part.vendors.mall, &part.vendors.credit, &part.vendors.cash]
            .iter()
            .flat_map(|l| l.iter().map(|v| v.price))
            .min();
        let min_price = doc
            .select(&sel(&format!("input#min_price_{pcode}")))
            .next()
            .and_then(|e| e.value().attr("value"))
            .and_then(|v| v.parse().ok());
        let low_price = js_field(&page, "\"lowPrice\"").and_then(|v| v.parse().ok());
        if let (true, Some(p)) = (part.stock, shop_min.or(min_price).or(low_price)) {
            part.prices = vec![PricePoint { timestamp: None, price: p }];
        }
    }
}

fn record(category: &common::config::Category, entry: &Entry, order: i64, seen: &mut BTreeMap<u64, Seen>) {
    if !category.is_recent_enough(entry.date) || category.is_ignored(&entry.name) {
        return;
    }
    let kept: Vec<&(String, Option<String>, bool)> =
        entry.variants.iter().filter(|(_, tag, _)| tag.as_deref().is_none_or(|t| !category.is_ignored(t))).collect();
    let pcodes: Vec<String> = kept.iter().map(|(p, _, _)| p.clone()).collect();
    let split = split_title(&entry.name, category.name == "cpu");
    for (k, (pcode, tag, priced)) in kept.iter().enumerate() {
        let key: u64 = pcode.parse().expect("pcode");
        seen.entry(key).and_modify(|s| s.sort_order = s.sort_order.max(order)).or_insert_with(|| Seen {
            category: category.name.clone(),
            sort_order: order,
            variants: pcodes.clone(),
            is_variant: k > 0,
            stock: *priced,
            name: PartName { full_name: split.full_name.clone(), tag: tag.clone().or(split.tag.clone()) },
            items: category.crawl_items,
        });
    }
}

/// Parses `table.spec_tbl` into details, stopping at `인증`.
pub(crate) fn parse_spec(html: &str) -> BTreeMap<String, Detail> {
    let doc = Html::parse_fragment(html);
    let mut out = BTreeMap::new();
    let mut section = String::new();
    for row in doc.select(&sel("table.spec_tbl tr")) {
        let cells: Vec<ElementRef<'_>> =
            row.children().filter_map(ElementRef::wrap).filter(|e| matches!(e.value().name(), "th" | "td")).collect();
        if cells.len() == 1 && cells[0].value().name() == "th" {
            section = text(cells[0]);
            if section == "인증" {
                break;
            }
            continue;
        }
        // Each th with the td right after it, with or without the tit/dsc classes.
        let pairs = cells.windows(2).filter(|w| w[0].value().name() == "th" && w[1].value().name() == "td");
        for (th, td) in pairs.map(|w| (w[0], w[1])) {
            let field = text(th);
            if field.is_empty() {
                continue;
            }
            let raw = text(td);
            let value = if field == "제조회사" {
                normalize_maker(&raw)
            } else if section.contains("쿨러") {
                strip_count_suffix(&raw).to_owned()
            } else {
                raw
            };
            out.insert(field, Detail { value, section: section.clone() });
        }
    }
    out
}

/// The ids of the shop lists the reference crawler stores.
pub(crate) const KNOWN_LISTS: [&str; 4] =
    ["OpenMarketMallListDiv", "AffiliateMallListDiv", "cardCashMallList", "cashMallList"];

/// The group containers of a `#defaultMallList` answer that are not one of the four known lists.
pub(crate) fn unknown_groups(html: &str) -> Vec<String> {
    let doc = Html::parse_fragment(html);
    doc.select(&sel("#defaultMallList > div[id]"))
        .filter_map(|g| g.value().id().map(str::to_owned))
        .filter(|id| !KNOWN_LISTS.contains(&id.as_str()))
        .collect()
}

/// A shipping text (`무료배송`, `(무료배송)`, `배송비 3,000원`, `(배송비 3,000원)`, `유/무료`) as
/// the stored cost; `유/무료` (it depends) is `None`, never free.
pub(crate) fn shipping_cost(text: &str) -> Option<i64> {
    let inner = text.trim().trim_start_matches('(').trim_end_matches(')').trim();
    if inner == "유/무료" {
        return None;
    }
    if inner == "무료배송" {
        return Some(0);
    }
    digits(inner.trim_start_matches("배송비").trim())
}

/// Parses the four shop lists of either shape (`div.diff_wrap` or `#defaultMallList`); other
/// group containers are left out.
pub(crate) fn parse_malls(html: &str) -> Vendors {
    let doc = Html::parse_fragment(html);
    let list = |id: &str, coded: bool| -> Vec<Vendor> {
        doc.select(&sel(&format!("#{id} div.diff_item")))
            .filter_map(|item| {
                // Where a card price is shown it is the stored price (DANAWA.md "Card prices").
                let card_line = item.select(&sel(".d_dsc .card_line")).next();
                let price_el = match card_line {
                    Some(line) => {
                        line.select(&sel(".card_prc em")).next().or_else(|| line.select(&sel("em.prc_c")).next())
                    }
                    None => item.select(&sel(".d_dsc .prc_line em.prc_c")).next(),
                }?;
                let price = digits(&text(price_el))?;
                let name = item
                    .select(&sel(".d_mall img"))
                    .next()
                    .and_then(|i| i.value().attr("alt").map(str::to_owned))
                    .or_else(|| item.select(&sel("span.txt_logo")).next().map(text))?;
                let npay = item.select(&sel(".npay")).next().is_some();
                let link = item.value().attr("data-linkproduct").unwrap_or("");
                let code = link.split('_').next().unwrap_or("").to_owned();
                let ship = item.select(&sel(".ship")).next().map(text).unwrap_or_default();
                let url = item.select(&sel(".d_buy a")).next()?.value().attr("href")?.to_owned();
                Some(Vendor {
                    vendor_name: name,
                    vendor_code: (coded || npay).then_some(code),
                    vendor_url: url,
                    price,
                    shipping_cost: shipping_cost(&ship),
                    card: card_line.and_then(|l| l.select(&sel(".txt")).next().map(text)),
                })
            })
            .collect()
    };
    Vendors {
        open_market: list("OpenMarketMallListDiv", false),
        mall: list("AffiliateMallListDiv", false),
        credit: list("cardCashMallList", true),
        cash: list("cashMallList", true),
    }
}
