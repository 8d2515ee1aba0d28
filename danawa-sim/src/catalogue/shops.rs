//! The price-compare shop lists of a variant (open market, mall, card, cash), derived from the
//! seed and the pcode on demand. The lowest priced row is the variant's list price.

use rand::seq::SliceRandom;
use rand::Rng;

use super::{Stock, VariantRef};
use crate::rng::{salt, stream, unit};

/// Malls with a logo image (`.d_mall img[alt]`), as seen on Danawa.
const LOGO_MALLS: &[(&str, &str)] = &[
    ("TP40F", "쿠팡"),
    ("TH201", "11번가"),
    ("EE128", "G마켓"),
    ("EE715", "옥션"),
    ("EE309", "롯데ON"),
    ("TN118", "SSG.COM"),
    ("ED901", "신세계몰"),
];

/// Shops shown with a text logo (`span.txt_logo`).
const TEXT_MALLS: &[(&str, &str)] = &[
    ("TX301", "컴퓨존"),
    ("TX302", "아이코다"),
    ("TX303", "샵다나와"),
    ("TX304", "조이젠"),
    ("TX305", "원더씨엔씨"),
    ("TYBF5", "newgods1"),
    ("TX307", "베스트컴"),
    ("TX308", "PC마켓"),
];

const CARDS: &[&str] = &["삼성카드", "KB국민카드", "현대카드", "신한카드", "롯데카드", "NH농협카드"];

/// One `div.diff_item` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopRow {
    pub mall_code: &'static str,
    pub name: &'static str,
    /// Shown as `span.txt_logo` text rather than a logo image.
    pub text_logo: bool,
    /// Carries the `.npay` mark.
    pub npay: bool,
    /// `None`: the row shows no price (dropped by the crawler).
    pub price: Option<u32>,
    /// The card of a card-discount price (`.card_line .txt`).
    pub card: Option<&'static str>,
    /// 0 = 무료배송; `None` = `유/무료`, conditional shipping (DANAWA.md "Newer evidence": shop
    /// list; stored as `shippingCost: null`).
    pub shipping: Option<u32>,
    /// The mall's own product id, after `MALLCODE_` in `data-linkProduct`.
    pub link_id: u64,
}

/// The four lists of the shop-list answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShopLists {
    pub open_market: Vec<ShopRow>,
    pub mall: Vec<ShopRow>,
    pub credit: Vec<ShopRow>,
    pub cash: Vec<ShopRow>,
}

impl ShopLists {
    /// Every row of the four lists.
    pub fn all(&self) -> impl Iterator<Item = &ShopRow> {
        self.open_market.iter().chain(&self.mall).chain(&self.credit).chain(&self.cash)
    }

    /// The lowest priced row's price.
    pub fn lowest(&self) -> Option<u32> {
        self.all().filter_map(|r| r.price).min()
    }

    /// Up to `n` priced rows, cheapest first (the product page's low-price area).
    pub fn cheapest(&self, n: usize) -> Vec<&ShopRow> {
        let mut rows: Vec<&ShopRow> = self.all().filter(|r| r.price.is_some()).collect();
        rows.sort_by_key(|r| r.price);
        rows.truncate(n);
        rows
    }
}

/// The bridge URL a row's buy link points at (`.d_buy a`).
pub fn bridge_url(v: &VariantRef<'_>, row: &ShopRow) -> String {
    let [c1, c2, c3, c4] = v.category.def.physics;
    format!(
        "https://prod.danawa.com/bridge/loadingBridge.html?cate1={c1}&cate2={c2}&cate3={c3}&cate4={c4}&pcode={}&cmpnyc={}&safe_trade=0&fee_type=T&link_pcode={}&package=0&setpc=0",
        v.variant.pcode, row.mall_code, row.link_id
    )
}

/// Share of shop rows whose shipping is conditional (`유/무료`).
pub const CONDITIONAL_SHIPPING_SHARE: f64 = 0.08;

/// Overseas shops (`#OverseasShoppingMallListDiv`, a group the crawler does not know).
const OVERSEAS_MALLS: &[(&str, &str)] = &[("TQ501", "알리익스프레스"), ("TQ502", "아마존"), ("TQ503", "큐텐")];

/// General affiliate shops (`#GeneralAffiliateMallListDiv`, another unknown group).
const GENERAL_AFFILIATE_MALLS: &[(&str, &str)] = &[("TG601", "위메프"), ("TG602", "티몬"), ("TG603", "인터파크")];

/// The shop lists of one variant.
pub fn shop_lists(seed: u64, v: &VariantRef<'_>) -> ShopLists {
    let mut rng = stream(seed, salt::SHOPS, u64::from(v.variant.pcode));
    let mut lists = match v.variant.stock {
        Stock::InStock => priced_lists(v.variant.price, &mut rng),
        Stock::NoPrice(_) => unpriced_lists(&mut rng),
        Stock::NoShops | Stock::LowPriceOnly | Stock::Discontinued => ShopLists::default(),
    };
    // Decided apart from the row stream, so the other row values stay as they were.
    let all = [&mut lists.open_market, &mut lists.mall, &mut lists.credit, &mut lists.cash];
    for row in all.into_iter().flatten() {
        if unit(seed, salt::CONDITIONAL_SHIPPING, row.link_id) < CONDITIONAL_SHIPPING_SHARE {
            row.shipping = None;
        }
    }
    lists
}

/// The rows of a shop-list group outside the four known lists (`group_key` 1: overseas, 2:
/// general affiliate), each priced above the variant's lowest price. Not part of the truth: a
/// crawler must report such a group, not store it.
pub fn extra_group_rows(seed: u64, v: &VariantRef<'_>, group_key: u64) -> Vec<ShopRow> {
    let Some(lowest) = shop_lists(seed, v).lowest() else { return Vec::new() };
    let mut rng = stream(seed, salt::EXTRA_SHOPS, u64::from(v.variant.pcode) << 8 | group_key);
    let malls = if group_key == 1 { OVERSEAS_MALLS } else { GENERAL_AFFILIATE_MALLS };
    let n = rng.gen_range(1..=malls.len());
    let mut rows = rows(&mut rng, malls, n, |r| r.gen_bool(0.5));
    for row in &mut rows {
        row.price = Some(lowest + rng.gen_range(1..40) * 500);
    }
    rows
}

/// `count` rows from distinct malls of `malls`.
fn rows<R: Rng>(
    rng: &mut R,
    malls: &[(&'static str, &'static str)],
    count: usize,
    text_logo: impl Fn(&mut R) -> bool,
) -> Vec<ShopRow> {
    let picked: Vec<(&'static str, &'static str)> = malls.choose_multiple(rng, count).copied().collect();
    picked
        .into_iter()
        .map(|mall| {
            let text = text_logo(rng);
            row(rng, mall, text)
        })
        .collect()
}

fn row<R: Rng>(rng: &mut R, (code, name): (&'static str, &'static str), text_logo: bool) -> ShopRow {
    ShopRow {
        mall_code: code,
        name,
        text_logo,
        npay: text_logo && rng.gen_bool(0.4),
        price: None,
        card: None,
        shipping: Some(*[0, 0, 0, 2_500, 3_000, 3_500].choose(rng).unwrap_or(&0)),
        link_id: rng.gen_range(1_000_000_000..99_999_999_999),
    }
}

fn priced_lists<R: Rng>(price: u32, rng: &mut R) -> ShopLists {
    let mut lists = ShopLists {
        open_market: {
            let n = rng.gen_range(1..=5);
            rows(rng, LOGO_MALLS, n, |_| false)
        },
        mall: {
            let n = rng.gen_range(0..=6);
            rows(rng, TEXT_MALLS, n, |_| true)
        },
        credit: {
            let n = rng.gen_range(0..=3);
            rows(rng, TEXT_MALLS, n, |r| r.gen_bool(0.5))
        },
        cash: {
            let n = rng.gen_range(0..=2);
            rows(rng, TEXT_MALLS, n, |_| true)
        },
    };
    for r in lists.credit.iter_mut() {
        if rng.gen_bool(0.7) {
            r.card = CARDS.choose(rng).copied();
        }
    }
    let all = [&mut lists.open_market, &mut lists.mall, &mut lists.credit, &mut lists.cash];
    for list in all {
        for r in list.iter_mut() {
            // A few rows show no price (e.g. 가격비교중지 at that shop): the crawler drops them.
            if rng.gen_bool(0.93) {
                r.price = Some(price + rng.gen_range(0..40) * 500);
            }
        }
    }
    // The cheapest shop is the list price.
    lists.open_market[0].price = Some(price);
    lists
}

fn unpriced_lists<R: Rng>(rng: &mut R) -> ShopLists {
    ShopLists {
        open_market: {
            let n = rng.gen_range(0..=2);
            rows(rng, LOGO_MALLS, n, |_| false)
        },
        mall: {
            let n = rng.gen_range(0..=1);
            rows(rng, TEXT_MALLS, n, |_| true)
        },
        ..ShopLists::default()
    }
}
