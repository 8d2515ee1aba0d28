//! `crawler-worker parse --kind … FILE`: parses a saved Danawa answer and prints the typed
//! result as JSON. What an operator runs when Danawa changes its markup.

use std::path::PathBuf;

use anyhow::Context;
use common::config::ScrapeConfig;
use serde::Serialize;

use crate::parse::assemble::assemble;
use crate::parse::bootstrap::parse_bootstrap;
use crate::parse::list::parse_list;
use crate::parse::product::{parse_product, ProductAnswer};
use crate::parse::shops::parse_shops;
use crate::parse::spec::{parse_spec, SpecTable};
use common::plan::ListingRules;

/// Which answer the file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// The legacy category page (`/list/index.php?cate=N`).
    Bootstrap,
    /// A list fragment (`getProductList.ajax.php`).
    List,
    /// A product page (`/info/?pcode=N`).
    Product,
    /// A spec table (`getProductDescription.ajax.php`).
    Spec,
    /// A shop list (`getAllPriceCompareMallList.ajax.php`).
    Shops,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ParseArgs {
    /// Which answer FILE holds.
    #[arg(long, value_enum, required_unless_present = "dir")]
    pub kind: Option<Kind>,
    /// The saved answer.
    #[arg(required_unless_present = "dir")]
    pub file: Option<PathBuf>,
    /// A directory written by `crawler-worker capture`: every answer in it, by its manifest.
    #[arg(long, conflicts_with_all = ["kind", "file"])]
    pub dir: Option<PathBuf>,
    /// The config's category name: for `product`, also prints the item result assembled from
    /// the page alone (CPU code name, '분류'); for `list`, with `--config`, applies its rules.
    #[arg(long)]
    pub category: Option<String>,
    /// The scrape config, for the category's list rules (minimum date, ignore words).
    #[arg(long, env = "SCRAPE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The list page number the answer is for (positions are per page).
    #[arg(long, default_value_t = 1)]
    pub page: u32,
}

/// Parses the file and returns the pretty JSON to print.
///
/// # Errors
/// When the file or config cannot be read, or the answer does not parse (the error names the
/// selector that found nothing).
pub fn run(args: &ParseArgs) -> anyhow::Result<String> {
    if let Some(dir) = &args.dir {
        let reports = crate::capture::parse_dir(dir)?;
        return Ok(format!("{}{}", crate::capture::render(&reports), to_json(&reports)?));
    }
    let (Some(kind), Some(file)) = (args.kind, &args.file) else {
        anyhow::bail!("give --kind and FILE, or --dir");
    };
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let html = String::from_utf8_lossy(&bytes);
    let context = || format!("{} is not a {:?} answer", file.display(), kind);
    match kind {
        Kind::Bootstrap => to_json(&parse_bootstrap(&html).with_context(context)?),
        Kind::List => to_json(&parse_list(&html, args.page).with_context(context)?.keep(&list_rules(args)?)),
        Kind::Spec => to_json(&parse_spec(&html).with_context(context)?),
        Kind::Shops => to_json(&parse_shops(&html).with_context(context)?),
        Kind::Product => {
            let answer = parse_product(&html).with_context(context)?;
            match (&answer, &args.category) {
                (ProductAnswer::Product(page), Some(category)) => {
                    // The page's own category number: this shows what the item result would
                    // hold, the category check is the crawler's.
                    let info =
                        assemble(category, &page.category_number, page, &SpecTable::default(), Default::default())?;
                    to_json(&AssembledProduct { page: &answer, item: info })
                }
                _ => to_json(&answer),
            }
        }
    }
}

#[derive(Serialize)]
struct AssembledProduct<'a> {
    page: &'a ProductAnswer,
    /// The item result from the page alone (no spec table, no shop list).
    item: common::messages::ProductInfo,
}

fn list_rules(args: &ParseArgs) -> anyhow::Result<ListingRules> {
    let (Some(path), Some(name)) = (&args.config, &args.category) else {
        return Ok(ListingRules::default());
    };
    let config = ScrapeConfig::load(path)?;
    let category = config.category(name).with_context(|| format!("category {name:?} is not in {}", path.display()))?;
    Ok(ListingRules::of_category(category))
}

fn to_json<T: Serialize>(value: &T) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(value)?)
}
