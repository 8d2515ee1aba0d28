//! `crawler-worker capture`: what an operator with access to the real site runs to see what it
//! answers today. With the configured proxy and politeness it fetches one category's page, its
//! list page 1 and one product's page, spec table and shop list; writes each answer with its
//! request (URL, form, headers sent, status, headers received, time) and a manifest; then runs
//! the parsers on them and reports what each found and every selector that found nothing.
//! `crawler-worker parse --dir DIR` reads a captured directory back into the same report, so
//! the answers can become test fixtures (DANAWA.md "Newer evidence": no public capture of a
//! list fragment, spec table or shop list exists).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use common::config::ScrapeConfig;
use scraper::Html;
use serde::{Deserialize, Serialize};

use crate::complete::{self, AnswerKind};
use crate::danawa::{Request, Site};
use crate::http::{Exchange, Fetcher, Session};
use crate::metrics::CrawlerMetrics;
use crate::parse::bootstrap::{parse_bootstrap, BootstrapPage, ListBootstrap};
use crate::parse::list::parse_list;
use crate::parse::product::{parse_product, ProductAnswer};
use crate::parse::shops::parse_shops;
use crate::parse::spec::parse_spec;
use crate::robots::Robots;
use crate::settings::HttpArgs;

/// The manifest's file name inside a captured directory.
pub const MANIFEST: &str = "manifest.json";
/// Pause between two requests when `--request-delay` is not set: a capture is a handful of
/// requests by hand, not a crawl, and must look like one.
const DEFAULT_PAUSE: Duration = Duration::from_secs(2);
/// Fresh connections tried when the category page comes as the Next.js template without its
/// category context.
const TEMPLATE_RETRIES: usize = 3;

#[derive(Debug, Clone, clap::Args)]
pub struct CaptureArgs {
    /// The scrape config (its base URLs say which site; its category says which filter).
    #[arg(long, env = "SCRAPE_CONFIG")]
    pub config: PathBuf,
    /// The config's category name (`cpu`, `motherboard`, ...); its first filter is used.
    #[arg(long)]
    pub category: String,
    /// The product to fetch; default: the first product of list page 1.
    #[arg(long)]
    pub pcode: Option<String>,
    /// Where the answers and the manifest go (created; must be empty if it exists).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub http: HttpArgs,
}

/// One answer as captured: where it is and what was asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapturedAnswer {
    /// File name inside the directory.
    pub file: String,
    pub kind: AnswerKind,
    pub method: String,
    pub url: String,
    pub form: Vec<(String, String)>,
    pub headers_sent: Vec<(String, String)>,
    pub status: u16,
    pub headers_received: Vec<(String, String)>,
    pub millis: u64,
    pub bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub captured_at: chrono::DateTime<chrono::Utc>,
    pub site: String,
    pub category: String,
    pub category_number: String,
    pub pcode: Option<String>,
    pub answers: Vec<CapturedAnswer>,
}

/// What the parsers made of one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerReport {
    pub file: String,
    pub kind: AnswerKind,
    pub status: u16,
    /// The completeness check's verdict (`None`: whole).
    pub incomplete: Option<String>,
    /// One line: what the parser found, or its error.
    pub found: String,
    /// The parser's typed result, or `null` when it failed.
    pub parsed: serde_json::Value,
    /// Selectors of DANAWA.md's markup that match nothing in this answer.
    pub empty_selectors: Vec<String>,
}

/// Captures the answers into `args.out` and returns the report of each.
///
/// # Errors
/// A config that does not load, a category not in it, an output directory in use, a request
/// without any answer, robots.txt refusing (with `--robots obey`).
pub async fn capture(args: &CaptureArgs) -> anyhow::Result<Vec<AnswerReport>> {
    let config = ScrapeConfig::load(&args.config)?;
    let category = config
        .category(&args.category)
        .with_context(|| format!("category {:?} is not in {}", args.category, args.config.display()))?;
    prepare_dir(&args.out)?;
    let site = Site::from_base_url(&config.page_base_url)?;
    let mut http = args.http.client();
    http.request_delay = Some(http.request_delay.unwrap_or(DEFAULT_PAUSE));
    let fetcher = Fetcher::new(http, 1, None, CrawlerMetrics::unregistered()).context("HTTP client")?;
    let mut session = fetcher.session(None);
    Robots::new(args.http.robots)
        .check(&site, &crate::danawa::CRAWLER_PATHS, &mut session)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut run = Capture { dir: args.out.clone(), session, answers: Vec::new() };

    let mut category_page = run.fetch(&site.bootstrap_request(&category.number), "category").await?;
    let mut values = bootstrap_values(&category_page.body);
    for _ in 0..TEMPLATE_RETRIES {
        if values.is_some() {
            break;
        }
        // The template sticks to the connection: another one may bring the legacy page.
        category_page = run.fetch_fresh(&site.bootstrap_request(&category.number), "category").await?;
        values = bootstrap_values(&category_page.body);
    }
    let Some(values) = values else {
        run.write_manifest(&site, category, None)?;
        bail!("the category page gave no list-request values; see {}", args.out.display());
    };
    let filter = match category.listings().into_iter().flatten().next() {
        Some(filter) => Some(values.search_filter(filter, &category.number).map_err(|e| {
            let offered: Vec<&String> = values.options.attributes.keys().collect();
            anyhow::anyhow!("{e} (the page offers attributes {offered:?})")
        })?),
        None => None,
    };
    let list = run.fetch(&site.list_request(&category.number, &values, 1, filter.as_ref()), "list").await?;
    let pcode = args.pcode.clone().or_else(|| {
        let page = parse_list(&list.body, 1).ok()?;
        page.products.first()?.variants.first().map(|v| v.pcode.clone())
    });
    if let Some(pcode) = &pcode {
        let product = run.fetch(&site.product_request(pcode), "product").await?;
        if let Ok(ProductAnswer::Product(page)) = parse_product(&product.body) {
            run.fetch(&site.spec_request(pcode, &page.description), "spec").await?;
            run.fetch(&site.shops_request(pcode, &page.description), "shops").await?;
        }
    }
    run.write_manifest(&site, category, pcode)?;
    parse_dir(&args.out)
}

/// Reads a captured directory and reports each answer, as `capture` did.
///
/// # Errors
/// A missing or unreadable manifest or answer file.
pub fn parse_dir(dir: &Path) -> anyhow::Result<Vec<AnswerReport>> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let manifest: Manifest =
        serde_json::from_str(&text).with_context(|| format!("{} is not a manifest", path.display()))?;
    manifest
        .answers
        .iter()
        .map(|answer| {
            let path = dir.join(&answer.file);
            let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            Ok(report(answer, &String::from_utf8_lossy(&bytes)))
        })
        .collect()
}

/// The report of one answer: completeness, the parser's result, the selectors that found nothing.
pub fn report(answer: &CapturedAnswer, body: &str) -> AnswerReport {
    let incomplete = complete::check(answer.kind, body).err().map(|e| e.to_string());
    let (found, parsed) = match answer.kind {
        AnswerKind::CategoryPage => summarise(parse_bootstrap(body), |page| match page {
            BootstrapPage::Legacy(v) => format!("legacy template; {}", options_line(v)),
            BootstrapPage::NextJs { values: Some(v), .. } => {
                format!("Next.js template with context; {}", options_line(v))
            }
            BootstrapPage::NextJs { values: None, total_count, .. } => {
                format!("Next.js template without category context (totalCount {total_count:?})")
            }
        }),
        AnswerKind::ListFragment => summarise(parse_list(body, 1), |page| {
            let variants: usize = page.products.iter().map(|p| p.variants.len()).sum();
            format!(
                "{} products ({variants} variants), {} skipped, total {}, pager at {:?}",
                page.products.len(),
                page.skipped.len(),
                page.total_count,
                page.current_page
            )
        }),
        AnswerKind::ProductPage => summarise(parse_product(body), |answer| match answer {
            ProductAnswer::Discontinued => "discontinued (가격비교 서비스가 종료된 상품)".to_owned(),
            ProductAnswer::Product(page) => format!(
                "{:?} in category {}, min price {:?}, {} low-price shops{}",
                page.title,
                page.category_number,
                page.min_price,
                page.low_price_shops.len(),
                if page.sold_out { ", sold out" } else { "" }
            ),
        }),
        AnswerKind::SpecTable => summarise(parse_spec(body), |spec| format!("{} fields", spec.details.len())),
        AnswerKind::ShopList => summarise(parse_shops(body), |shops| {
            let v = &shops.vendors;
            format!(
                "{} open market, {} mall, {} credit, {} cash vendors; unknown groups {:?}",
                v.open_market.len(),
                v.mall.len(),
                v.credit.len(),
                v.cash.len(),
                shops.unknown_groups.iter().map(|g| (&g.container, g.rows)).collect::<Vec<_>>()
            )
        }),
        AnswerKind::Robots => ("robots.txt".to_owned(), serde_json::Value::Null),
    };
    AnswerReport {
        file: answer.file.clone(),
        kind: answer.kind,
        status: answer.status,
        incomplete,
        found,
        parsed,
        empty_selectors: empty_selectors(answer.kind, body),
    }
}

fn options_line(values: &ListBootstrap) -> String {
    format!(
        "listCategoryCode {}, categoryCode {}, {} attribute and {} maker options",
        values.list_category_code,
        values.category_code,
        values.options.attributes.len(),
        values.options.makers.len()
    )
}

fn summarise<T: Serialize, E: std::fmt::Display>(
    result: Result<T, E>,
    line: impl FnOnce(&T) -> String,
) -> (String, serde_json::Value) {
    match result {
        Ok(value) => (line(&value), serde_json::to_value(&value).unwrap_or(serde_json::Value::Null)),
        Err(error) => (format!("parse error: {error}"), serde_json::Value::Null),
    }
}

/// The selectors and script names each parser reads (DANAWA.md), to see at a glance which part
/// of the markup moved. Some are alternatives (old and new shapes): one of a pair may be empty.
fn probes(kind: AnswerKind) -> &'static [&'static str] {
    match kind {
        AnswerKind::CategoryPage => &[
            "script:oGlobalSetting",
            "script:oExpansionContent",
            "script:self.__next_f",
            "input[id^=\"searchAttributeValueRep\"]",
            "input[id^=\"searchMakerRep\"]",
        ],
        AnswerKind::ListFragment => &[
            "div.main_prodlist",
            "li.prod_item",
            "p.prod_name a",
            "div.prod_sub_meta dl.meta_item.mt_date dd",
            "div.prod_pricelist",
            "div.prod_pricelist ul > li",
            "p.memory_sect span.text",
            "p.price_sect a strong",
            "input#totalProductCount",
            "div.num_nav_wrap a.num.now_on",
        ],
        AnswerKind::ProductPage => &[
            ".top_summary h3.prod_tit span.title",
            "[id=\"2DepthCategory\"] .loca_layer li.c_item.now a[href]",
            ".made_info",
            "input[id^=\"min_price_\"]",
            "#lowPriceCompanyArea ul.list__mall-price li.list-item",
            "script[type=\"application/ld+json\"]",
            ".spec_list",
            "script:oGlobalSetting",
            "script:oProductDescriptionInfo",
        ],
        AnswerKind::SpecTable => {
            &["table.spec_tbl", "table.spec_tbl tr", "table.spec_tbl th.tit", "table.spec_tbl td.dsc"]
        }
        AnswerKind::ShopList => &[
            "#defaultMallList",
            "#OpenMarketMallListDiv",
            "#AffiliateMallListDiv",
            "#cardCashMallList",
            "#cashMallList",
            "div.diff_item",
            ".d_mall img[alt]",
            "span.txt_logo",
            ".prc_line em.prc_c",
            ".card_line",
            ".ship",
            ".d_buy a[href]",
        ],
        AnswerKind::Robots => &[],
    }
}

fn empty_selectors(kind: AnswerKind, body: &str) -> Vec<String> {
    let document = Html::parse_document(body);
    probes(kind)
        .iter()
        .filter(|probe| match probe.strip_prefix("script:") {
            Some(name) => !body.contains(name),
            None => scraper::Selector::parse(probe).map_or(true, |s| document.select(&s).next().is_none()),
        })
        .map(|probe| (*probe).to_owned())
        .collect()
}

fn bootstrap_values(body: &str) -> Option<ListBootstrap> {
    parse_bootstrap(body).ok()?.into_values()
}

fn prepare_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if std::fs::read_dir(dir)?.next().is_some() {
        bail!("{} is not empty: capture into a new directory", dir.display());
    }
    Ok(())
}

/// The answers captured so far.
struct Capture {
    dir: PathBuf,
    session: Session,
    answers: Vec<CapturedAnswer>,
}

impl Capture {
    async fn fetch(&mut self, request: &Request, name: &str) -> anyhow::Result<Exchange> {
        self.fetch_on(request, name, false).await
    }

    async fn fetch_fresh(&mut self, request: &Request, name: &str) -> anyhow::Result<Exchange> {
        self.fetch_on(request, name, true).await
    }

    async fn fetch_on(&mut self, request: &Request, name: &str, fresh: bool) -> anyhow::Result<Exchange> {
        let exchange = self
            .session
            .exchange(request, fresh)
            .await
            .map_err(|e| anyhow::anyhow!("{} {}: {}", name, request.url, e.chain()))?;
        let file = format!("{:02}-{name}.html", self.answers.len() + 1);
        let path = self.dir.join(&file);
        std::fs::write(&path, &exchange.body).with_context(|| format!("cannot write {}", path.display()))?;
        self.answers.push(CapturedAnswer {
            file,
            kind: request.answer,
            method: format!("{:?}", request.method).to_uppercase(),
            url: request.url.clone(),
            form: request.form.clone(),
            headers_sent: exchange.sent_headers.clone(),
            status: exchange.status.as_u16(),
            headers_received: exchange.headers.clone(),
            millis: u64::try_from(exchange.took.as_millis()).unwrap_or(u64::MAX),
            bytes: exchange.body.len(),
        });
        Ok(exchange)
    }

    fn write_manifest(
        &self,
        site: &Site,
        category: &common::config::Category,
        pcode: Option<String>,
    ) -> anyhow::Result<()> {
        let manifest = Manifest {
            captured_at: chrono::Utc::now(),
            site: site.origin().to_owned(),
            category: category.name.clone(),
            category_number: category.number.clone(),
            pcode,
            answers: self.answers.clone(),
        };
        let path = self.dir.join(MANIFEST);
        std::fs::write(&path, serde_json::to_string_pretty(&manifest)?)
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

/// What is wrong with a captured directory's answers, one line each: not HTTP 200, not whole,
/// not parsed. Empty for answers the crawler would turn into results.
pub fn problems(reports: &[AnswerReport]) -> Vec<String> {
    let mut out = Vec::new();
    for r in reports {
        if r.status != 200 {
            out.push(format!("{}: HTTP {}", r.file, r.status));
        }
        if let Some(incomplete) = &r.incomplete {
            out.push(format!("{}: {incomplete}", r.file));
        }
        if r.parsed.is_null() {
            out.push(format!("{}: {}", r.file, r.found));
        }
    }
    out
}

/// The report as the command prints it: one block per answer.
pub fn render(reports: &[AnswerReport]) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&format!("{} ({}, HTTP {})\n", r.file, r.kind.as_str(), r.status));
        out.push_str(&format!("  complete: {}\n", r.incomplete.as_deref().unwrap_or("yes")));
        out.push_str(&format!("  found:    {}\n", r.found));
        if !r.empty_selectors.is_empty() {
            out.push_str(&format!("  nothing matched: {}\n", r.empty_selectors.join(", ")));
        }
    }
    out
}
