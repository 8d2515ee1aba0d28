//! The synthetic catalogue: categories of products, each product a list entry with one or
//! more variants (each its own pcode). Generated once from a seed and size knobs; everything
//! bulky (spec tables, shop lists) is derived lazily from the seed and the pcode.

pub mod defaults;
mod names;
pub mod shops;
pub mod specs;

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::rng::{salt, stream};
pub use defaults::{Attr, AttrGroup, CategoryDef, Kind, Maker, CATEGORIES};

/// Size and seed of a catalogue. Same params, same catalogue, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CatalogueParams {
    pub seed: u64,
    /// How many of the built-in categories (in `scrapConfig.json` order) to serve, 1..=9.
    pub categories: usize,
    /// List entries per category.
    pub products_per_category: usize,
    /// Most variants (pcodes) one list entry can have, 1..=8.
    pub max_variants: usize,
}

impl Default for CatalogueParams {
    fn default() -> Self {
        Self { seed: 1, categories: CATEGORIES.len(), products_per_category: 240, max_variants: 4 }
    }
}

/// Why a variant shows no price in the list (the texts Danawa uses).
pub const NO_PRICE_TEXTS: [&str; 5] = ["일시품절", "가격비교예정", "판매중지", "출시예정", "가격비교중지"];

/// What a variant's pages show about availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stock {
    /// A price in the list, shops in the compare lists, `soldOut = 'N'`.
    InStock,
    /// In stock with a price, but the compare lists are empty; `min_price` still set.
    NoShops,
    /// In stock, no shops and no `min_price` input: only JSON-LD `lowPrice` has the price.
    LowPriceOnly,
    /// One of [`NO_PRICE_TEXTS`] in the list; `soldOut = 'Y'`; no priced shop rows.
    NoPrice(u8),
    /// `단종상품` in the list; the product page is the short "service ended" answer.
    Discontinued,
}

impl Stock {
    /// Whether the list shows a numeric price.
    pub fn has_list_price(self) -> bool {
        matches!(self, Stock::InStock | Stock::NoShops | Stock::LowPriceOnly)
    }
}

/// One pcode of a list entry.
#[derive(Debug, Clone)]
pub struct Variant {
    pub pcode: u32,
    pub tag: Option<Box<str>>,
    /// Listed with `display: none` (still a variant).
    pub hidden: bool,
    pub stock: Stock,
    /// Lowest price in won (meaningful when [`Stock::has_list_price`]).
    pub price: u32,
}

/// One list entry.
#[derive(Debug, Clone)]
pub struct Product {
    pub base_name: Box<str>,
    pub code_name: Option<&'static str>,
    /// Index into the category's maker table.
    pub maker: u16,
    /// Attribute values this product has (at most one per group).
    pub attrs: Vec<u32>,
    pub year: u16,
    pub month: u8,
    pub variants: Vec<Variant>,
}

/// A category and its products in popularity (BEST) order.
#[derive(Debug)]
pub struct Category {
    pub def: &'static CategoryDef,
    pub products: Vec<Product>,
}

/// Where a pcode lives: category, product and variant index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub category: u16,
    pub product: u32,
    pub variant: u8,
}

/// The whole catalogue and its pcode index.
#[derive(Debug)]
pub struct Catalogue {
    pub params: CatalogueParams,
    pub categories: Vec<Category>,
    /// Sorted by pcode for binary search.
    index: Vec<(u32, Location)>,
}

/// Borrowed view of one variant with its product and category.
#[derive(Debug, Clone, Copy)]
pub struct VariantRef<'a> {
    pub category: &'a Category,
    pub product: &'a Product,
    pub variant: &'a Variant,
    pub location: Location,
}

impl Product {
    /// The title of variant `i`: name, CPU code name, then the tag, each "(...)".
    pub fn title(&self, i: usize) -> String {
        let mut title = String::with_capacity(self.base_name.len() + 32);
        title.push_str(&self.base_name);
        if let Some(code) = self.code_name {
            title.push_str(" (");
            title.push_str(code);
            title.push(')');
        }
        if let Some(tag) = self.variants.get(i).and_then(|v| v.tag.as_deref()) {
            title.push_str(" (");
            title.push_str(tag);
            title.push(')');
        }
        title
    }

    /// The list entry's name: the first variant's title.
    pub fn list_name(&self) -> String {
        self.title(0)
    }

    /// Whether it shows `단종상품` (every variant discontinued).
    pub fn discontinued(&self) -> bool {
        self.variants.iter().all(|v| v.stock == Stock::Discontinued)
    }
}

impl Category {
    pub fn maker(&self, product: &Product) -> &'static Maker {
        &self.def.makers[usize::from(product.maker) % self.def.makers.len()]
    }

    /// The filtered listing in BEST order: makers are OR-ed, attribute values AND-ed.
    pub fn listing(&self, makers: &[u32], attrs: &[u32]) -> Vec<u32> {
        self.listing_excluding(makers, attrs, &[])
    }

    /// [`Category::listing`] without the entries whose list name contains one of `excluded`
    /// (the list request's `innerSearchKeyword` exclusions).
    pub fn listing_excluding(&self, makers: &[u32], attrs: &[u32], excluded: &[String]) -> Vec<u32> {
        let mut out = Vec::new();
        for (i, p) in self.products.iter().enumerate() {
            let maker_ok = makers.is_empty() || makers.contains(&self.maker(p).code);
            let attrs_ok = attrs.iter().all(|a| p.attrs.contains(a));
            let name_ok = excluded.is_empty() || {
                let name = p.list_name();
                !excluded.iter().any(|w| name.contains(w.as_str()))
            };
            if maker_ok && attrs_ok && name_ok {
                out.push(i as u32);
            }
        }
        out
    }
}

impl Catalogue {
    /// Builds the catalogue for `params`.
    pub fn generate(params: &CatalogueParams) -> Self {
        let params = clamp(params);
        let defs = &CATEGORIES[..params.categories];
        let pcodes = pcode_pool(&params, defs.len());
        let mut next = pcodes.into_iter();
        let categories: Vec<Category> =
            defs.iter().enumerate().map(|(ci, def)| generate_category(&params, ci, def, &mut next)).collect();
        let mut index = Vec::new();
        for (ci, c) in categories.iter().enumerate() {
            for (pi, p) in c.products.iter().enumerate() {
                for (vi, v) in p.variants.iter().enumerate() {
                    let location = Location { category: ci as u16, product: pi as u32, variant: vi as u8 };
                    index.push((v.pcode, location));
                }
            }
        }
        index.sort_unstable_by_key(|(pcode, _)| *pcode);
        Self { params, categories, index }
    }

    /// Looks a pcode up.
    pub fn find(&self, pcode: u32) -> Option<VariantRef<'_>> {
        let at = self.index.binary_search_by_key(&pcode, |(p, _)| *p).ok()?;
        let location = self.index[at].1;
        let category = self.categories.get(usize::from(location.category))?;
        let product = category.products.get(location.product as usize)?;
        let variant = product.variants.get(usize::from(location.variant))?;
        Some(VariantRef { category, product, variant, location })
    }

    /// The category served under `cate=number` (its own number, or HDD's Next.js code).
    pub fn by_number(&self, number: u32) -> Option<&Category> {
        self.categories.iter().find(|c| c.def.answers_to(number))
    }

    /// The category the list request's codes name.
    pub fn by_codes(&self, list_code: u32, category_code: u32) -> Option<&Category> {
        self.categories.iter().find(|c| c.def.list_code == list_code && c.def.category_code == category_code)
    }

    /// Every pcode, in index order (for tests).
    pub fn pcodes(&self) -> impl Iterator<Item = u32> + '_ {
        self.index.iter().map(|(p, _)| *p)
    }
}

fn clamp(params: &CatalogueParams) -> CatalogueParams {
    CatalogueParams {
        seed: params.seed,
        categories: params.categories.clamp(1, CATEGORIES.len()),
        products_per_category: params.products_per_category.max(1),
        max_variants: params.max_variants.clamp(1, 8),
    }
}

/// Distinct pcodes, increasing with random gaps, then shuffled: pcode order says nothing
/// about popularity, as on the real site.
fn pcode_pool(params: &CatalogueParams, categories: usize) -> Vec<u32> {
    let mut rng = stream(params.seed, salt::CATALOGUE, u64::MAX);
    let count = categories * params.products_per_category * params.max_variants;
    let mut next: u32 = rng.gen_range(1_000_000..2_000_000);
    let mut pool: Vec<u32> = (0..count)
        .map(|_| {
            next += rng.gen_range(1..=37);
            next
        })
        .collect();
    pool.shuffle(&mut rng);
    pool
}

fn generate_category(
    params: &CatalogueParams,
    ci: usize,
    def: &'static CategoryDef,
    pcodes: &mut impl Iterator<Item = u32>,
) -> Category {
    let mut rng = stream(params.seed, salt::CATEGORY, ci as u64);
    let products = (0..params.products_per_category).map(|_| generate_product(params, def, &mut rng, pcodes)).collect();
    Category { def, products }
}

fn pick_attrs<R: Rng>(def: &CategoryDef, rng: &mut R) -> (Vec<u32>, Option<&'static str>) {
    let mut attrs = Vec::new();
    let mut first_name = None;
    for group in def.attr_groups {
        let total: u32 = group.values.iter().map(|a| a.weight).sum();
        let mut roll = rng.gen_range(0..total.max(1));
        for attr in group.values {
            if roll < attr.weight {
                if attr.value != 0 {
                    attrs.push(attr.value);
                    first_name = first_name.or(Some(attr.name));
                }
                break;
            }
            roll -= attr.weight;
        }
    }
    (attrs, first_name)
}

fn generate_product<R: Rng>(
    params: &CatalogueParams,
    def: &'static CategoryDef,
    rng: &mut R,
    pcodes: &mut impl Iterator<Item = u32>,
) -> Product {
    let maker_index = rng.gen_range(0..def.makers.len());
    let maker = &def.makers[maker_index];
    let (attrs, attr_name) = pick_attrs(def, rng);
    let base = names::base_name(def.kind, maker, attr_name, rng);
    // Registration years straddle the usual 2018 cut; HDDs (minimumDate "0") reach far back.
    let year = if def.kind == Kind::Hdd { rng.gen_range(2008..=2025) } else { rng.gen_range(2014..=2025) };
    let count = if rng.gen_bool(0.45) { 1 } else { rng.gen_range(1..=params.max_variants) };
    let tags = names::tags(def.kind, count, rng);
    let discontinued = rng.gen_bool(0.03);
    let base_price = base_price(def.kind, rng);
    let variants = tags
        .into_iter()
        .enumerate()
        .map(|(i, tag)| Variant {
            pcode: pcodes.next().unwrap_or(0),
            tag: tag.map(String::into_boxed_str),
            hidden: i >= 3,
            stock: if discontinued { Stock::Discontinued } else { pick_stock(rng) },
            price: round_price(base_price + base_price / 10 * i as u32 + rng.gen_range(0..2_000)),
        })
        .collect();
    Product {
        base_name: base.name.into_boxed_str(),
        code_name: base.code_name,
        maker: maker_index as u16,
        attrs,
        year,
        month: rng.gen_range(1..=12),
        variants,
    }
}

fn pick_stock<R: Rng>(rng: &mut R) -> Stock {
    match rng.gen_range(0..100) {
        0..=81 => Stock::InStock,
        82..=85 => Stock::NoShops,
        86 => Stock::LowPriceOnly,
        _ => Stock::NoPrice(rng.gen_range(0..NO_PRICE_TEXTS.len()) as u8),
    }
}

fn base_price<R: Rng>(kind: Kind, rng: &mut R) -> u32 {
    let (lo, hi) = match kind {
        Kind::Cpu => (90_000, 900_000),
        Kind::Motherboard => (80_000, 700_000),
        Kind::Memory => (25_000, 300_000),
        Kind::Graphics => (250_000, 2_500_000),
        Kind::Ssd => (40_000, 500_000),
        Kind::Hdd => (50_000, 450_000),
        Kind::Case => (30_000, 300_000),
        Kind::Power => (40_000, 350_000),
        Kind::Cooler => (5_000, 250_000),
    };
    rng.gen_range(lo..hi)
}

/// Danawa prices end in tens of won.
fn round_price(price: u32) -> u32 {
    price / 10 * 10
}
