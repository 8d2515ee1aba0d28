//! The price-compare shop list (`getAllPriceCompareMallList.ajax.php`): the four lists of a
//! part's `vendors` (open market, mall, credit card, cash), one [`Vendor`] per priced row, in
//! the 2022–23 shape (four containers side by side) and the 2025–26 one (the containers inside
//! `#defaultMallList`, rows of `div.diff_item > div.diff_box`, card prices in
//! `.card_line .card_prc`; DANAWA.md "Newer evidence", shop list). A row outside the four known
//! containers is reported by its container, never silently dropped.

use common::parts::{Vendor, Vendors};
use scraper::{ElementRef, Html, Selector};
use serde::{Deserialize, Serialize};

use super::{collapse_whitespace, non_empty, parse_amount, selector, text_of, ParseError};

/// Which of the four lists a row is in decides whether its mall code is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    OpenMarket,
    Mall,
    Credit,
    Cash,
}

impl ListKind {
    /// Credit and cash rows always keep their mall code; the others only with the npay mark.
    fn keeps_code(self) -> bool {
        matches!(self, Self::Credit | Self::Cash)
    }
}

/// Every container id the answer may hold, for the error when none is there.
const CONTAINERS: &str = "#OpenMarketMallListDiv, #AffiliateMallListDiv, #cardCashMallList, #cashMallList";
/// The ids of the four known containers, in [`ListKind`] order.
const CONTAINER_IDS: [&str; 4] = ["OpenMarketMallListDiv", "AffiliateMallListDiv", "cardCashMallList", "cashMallList"];

/// A parsed shop list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopList {
    pub vendors: Vendors,
    /// Rows in containers the parser does not know (`#OverseasShoppingMallListDiv`, ...): not
    /// part of the four lists, so not stored, but reported.
    pub unknown_groups: Vec<UnknownGroup>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnknownGroup {
    /// The id of the nearest container with one (`?` when none has an id).
    pub container: String,
    /// Its `div.diff_item` rows.
    pub rows: usize,
}

/// Reads a shop-list answer. Rows without a price are dropped.
///
/// # Errors
/// [`ParseError::Missing`] when none of the four list containers is in the answer.
pub fn parse_shops(html: &str) -> Result<ShopList, ParseError> {
    let document = Html::parse_fragment(html);
    let lists = [
        (selector!("#OpenMarketMallListDiv"), ListKind::OpenMarket),
        (selector!("#AffiliateMallListDiv"), ListKind::Mall),
        (selector!("#cardCashMallList"), ListKind::Credit),
        (selector!("#cashMallList"), ListKind::Cash),
    ];
    if lists.iter().all(|(container, _)| document.select(container).next().is_none()) {
        return Err(ParseError::Missing { selector: CONTAINERS });
    }
    let read = |container: &Selector, kind: ListKind| -> Vec<Vendor> {
        document
            .select(container)
            .flat_map(|list| list.select(selector!("div.diff_item")))
            .filter_map(|row| vendor(row, kind))
            .collect()
    };
    let [open_market, mall, credit, cash] = lists.map(|(container, kind)| read(container, kind));
    Ok(ShopList { vendors: Vendors { open_market, mall, credit, cash }, unknown_groups: unknown_groups(&document) })
}

/// Rows that sit in none of the four known containers, counted by their nearest container
/// with an id.
fn unknown_groups(document: &Html) -> Vec<UnknownGroup> {
    let mut groups: Vec<UnknownGroup> = Vec::new();
    for row in document.select(selector!("div.diff_item")) {
        let ids: Vec<&str> = row.ancestors().filter_map(ElementRef::wrap).filter_map(|a| a.value().id()).collect();
        if ids.iter().any(|id| CONTAINER_IDS.contains(id)) {
            continue;
        }
        let container = ids.first().copied().unwrap_or("?");
        match groups.iter_mut().find(|g| g.container == container) {
            Some(group) => group.rows += 1,
            None => groups.push(UnknownGroup { container: container.to_owned(), rows: 1 }),
        }
    }
    groups
}

fn vendor(row: ElementRef<'_>, kind: ListKind) -> Option<Vendor> {
    let (price, card) = price(row)?;
    // html5ever lower-cases attribute names: `data-linkProduct` is `data-linkproduct`.
    let mall_code = row
        .value()
        .attr("data-linkproduct")
        .and_then(|link| link.split('_').next())
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .map(str::to_owned);
    let npay = row.select(selector!(".npay")).next().is_some();
    let vendor_name = vendor_name(row).or_else(|| mall_code.clone()).unwrap_or_default();
    let vendor_url = row
        .select(selector!(".d_buy a[href]"))
        .next()
        .or_else(|| row.select(selector!("a[href]")).next())
        .and_then(|a| a.value().attr("href"))
        .unwrap_or("")
        .to_owned();
    Some(Vendor {
        vendor_name,
        vendor_code: mall_code.filter(|_| kind.keeps_code() || npay),
        vendor_url,
        price,
        shipping_cost: row.select(selector!(".ship")).next().map_or(Some(0), |ship| shipping_cost(&text_of(ship))),
        card,
    })
}

/// `.d_mall img[alt]`, else `span.txt_logo`.
fn vendor_name(row: ElementRef<'_>) -> Option<String> {
    let alt = row
        .select(selector!(".d_mall img[alt]"))
        .find_map(|img| img.value().attr("alt").map(collapse_whitespace).and_then(non_empty));
    alt.or_else(|| row.select(selector!("span.txt_logo")).next().map(text_of).and_then(non_empty))
}

/// The card-discount price and card name when the row shows a `.card_line` (the original
/// crawler ticked the card-discount box, so its prices are card prices where one is shown;
/// DANAWA.md "Newer evidence", card prices); else the plain `.prc_line em.prc_c` price.
fn price(row: ElementRef<'_>) -> Option<(i64, Option<String>)> {
    let card_price = row.select(selector!(".card_line")).find_map(|line| {
        let amount = line
            .select(selector!(".card_prc"))
            .next()
            .or_else(|| line.select(selector!("em.prc_c")).next())
            .or_else(|| line.select(selector!(".prc")).next())
            .and_then(|e| parse_amount(&text_of(e)))
            .filter(|p| *p > 0)?;
        let card = line.select(selector!(".txt")).next().map(text_of).and_then(non_empty);
        Some((amount, card))
    });
    card_price.or_else(|| {
        row.select(selector!(".prc_line em.prc_c"))
            .filter(|em| !inside_card_line(*em, row))
            .find_map(|em| parse_amount(&text_of(em)).filter(|p| *p > 0))
            .map(|amount| (amount, None))
    })
}

/// Whether `element` sits in a `.card_line` within `row` (or is one).
fn inside_card_line(element: ElementRef<'_>, row: ElementRef<'_>) -> bool {
    element
        .ancestors()
        .take_while(|node| node.id() != row.id())
        .filter_map(ElementRef::wrap)
        .any(|e| e.value().classes().any(|c| c == "card_line"))
}

/// `무료배송` (or any free-shipping text) is 0; `배송비 3,000원` is 3000; `유/무료` ("it
/// depends", DANAWA.md "Newer evidence", shop list) is `None`, never free; no amount is 0.
fn shipping_cost(text: &str) -> Option<i64> {
    if text.contains("유/무료") || text.contains("유료/무료") {
        return None;
    }
    if text.contains("무료") {
        return Some(0);
    }
    Some(parse_amount(text).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(link: &str, mall: &str, npay: bool, price_lines: &str, ship: &str) -> String {
        let npay = if npay { r#"<span class="npay">N pay</span>"# } else { "" };
        format!(
            r#"<div class="diff_item" data-linkProduct="{link}">
              <div class="d_mall">{mall}{npay}</div>
              <div class="d_dsc">{price_lines}<span class="ship">{ship}</span></div>
              <div class="d_buy"><a href="https://prod.danawa.com/bridge/loadingBridge.html?cmpnyc={link}" class="btn_buy">구매</a></div>
            </div>"#
        )
    }

    fn plain(price: &str) -> String {
        format!(r#"<div class="prc_line"><span class="prc"><em class="prc_c">{price}</em>원</span></div>"#)
    }

    fn answer() -> String {
        let logo = |name: &str| format!(r#"<a><img src="x.gif" alt="{name}"></a>"#);
        let text_logo = |name: &str| format!(r#"<span class="txt_logo">{name}</span>"#);
        format!(
            r#"<div id="OpenMarketMallListDiv">{}{}{}</div>
               <div id="AffiliateMallListDiv">{}</div>
               <div id="cardCashMallList">{}</div>
               <div id="cashMallList">{}</div>"#,
            row("TP40F_1", &logo("쿠팡"), false, &plain("797,900"), "무료배송"),
            row("TH201_2", &logo("11번가"), true, &plain("800,000"), "배송비 3,000원"),
            row("EE128_3", &logo("G마켓"), false, "", "무료배송"),
            row("TS001_4", &text_logo("컴퓨존"), false, &plain("810,000"), "배송비 2,500원"),
            row(
                "ED901_5",
                &logo("신세계몰"),
                false,
                &(plain("820,000")
                    + r#"<div class="prc_line card_line"><span class="txt">삼성카드</span><span class="prc"><em class="prc_c">779,000</em>원</span></div>"#),
                "무료배송"
            ),
            row("TN118_6", &logo("SSG.COM"), false, &plain("815,000"), "무료배송"),
        )
    }

    #[test]
    fn reads_the_four_lists() {
        let vendors = parse_shops(&answer()).expect("parses").vendors;
        let names = |list: &[Vendor]| list.iter().map(|v| v.vendor_name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&vendors.open_market), ["쿠팡", "11번가"]);
        assert_eq!(names(&vendors.mall), ["컴퓨존"]);
        assert_eq!(names(&vendors.credit), ["신세계몰"]);
        assert_eq!(names(&vendors.cash), ["SSG.COM"]);
    }

    #[test]
    fn vendor_code_only_for_credit_cash_or_npay() {
        let vendors = parse_shops(&answer()).expect("parses").vendors;
        assert_eq!(vendors.open_market[0].vendor_code, None);
        assert_eq!(vendors.open_market[1].vendor_code.as_deref(), Some("TH201"));
        assert_eq!(vendors.mall[0].vendor_code, None);
        assert_eq!(vendors.credit[0].vendor_code.as_deref(), Some("ED901"));
        assert_eq!(vendors.cash[0].vendor_code.as_deref(), Some("TN118"));
    }

    #[test]
    fn prices_card_prices_shipping_and_urls() {
        let vendors = parse_shops(&answer()).expect("parses").vendors;
        let coupang = &vendors.open_market[0];
        assert_eq!((coupang.price, coupang.shipping_cost, coupang.card.as_deref()), (797_900, Some(0), None));
        assert_eq!(coupang.vendor_url, "https://prod.danawa.com/bridge/loadingBridge.html?cmpnyc=TP40F_1");
        assert_eq!(vendors.open_market[1].shipping_cost, Some(3000));
        assert_eq!(vendors.mall[0].shipping_cost, Some(2500));
        let card = &vendors.credit[0];
        assert_eq!((card.price, card.card.as_deref()), (779_000, Some("삼성카드")));
    }

    #[test]
    fn rows_without_a_price_are_dropped_and_empty_answers_fail() {
        let vendors = parse_shops(&answer()).expect("parses").vendors;
        assert!(vendors.open_market.iter().all(|v| v.vendor_name != "G마켓"));
        assert_eq!(parse_shops("<div></div>"), Err(ParseError::Missing { selector: CONTAINERS }));
        let empty = parse_shops(r#"<div id="cashMallList"></div>"#).expect("parses");
        assert_eq!(empty, ShopList::default());
    }

    /// The 2025–26 shape, written from DANAWA.md "Newer evidence" (shop list, card prices):
    /// today's crawler read the plain price where a card price is shown, read `유/무료` as
    /// free shipping and dropped rows of unknown containers without a word.
    fn new_shape_row(link: &str, mall: &str, price: &str, ship: &str, card: &str) -> String {
        format!(
            r#"<div class="diff_item" data-linkProduct="{link}"><div class="diff_box">
                <div class="d_mall"><a class="priceCompareBuyLink" href="https://prod.danawa.com/bridge/loadingBridge.html?cmpnyc={link}"><img src="l.gif" alt="{mall}"></a></div>
                <div class="d_dsc"><div class="prc_line"><span class="price lowest"><em class="prc_c">{price}</em>원</span><span class="ship">{ship}</span></div>{card}</div>
                <div class="d_buy"><a class="priceCompareBuyLink" href="https://prod.danawa.com/bridge/loadingBridge.html?cmpnyc={link}&amp;buy=1">구매하기</a></div>
            </div></div>"#
        )
    }

    #[test]
    fn reads_the_2025_shape_with_card_prices_and_conditional_shipping() {
        let card = r#"<div class="card_line"><span class="txt">삼성카드</span><span class="card_prc"><em>12,300</em>원</span></div>"#;
        let html = format!(
            r#"<div id="defaultMallList">
                 <div id="OpenMarketMallListDiv">{}{}</div>
                 <div id="AffiliateMallListDiv">{}</div>
                 <div id="OverseasShoppingMallListDiv">{}{}</div>
               </div>"#,
            new_shape_row("TP40F_1", "쿠팡", "12,900", "(무료배송)", ""),
            new_shape_row("TH201_2", "11번가", "13,500", "유/무료", card),
            new_shape_row("TX301_3", "컴퓨존", "13,000", "(배송비 3,000원)", ""),
            new_shape_row("ZZ001_4", "해외몰", "14,000", "(무료배송)", ""),
            new_shape_row("ZZ002_5", "해외몰2", "15,000", "(무료배송)", ""),
        );
        let shops = parse_shops(&html).expect("parses");
        let coupang = &shops.vendors.open_market[0];
        assert_eq!((coupang.vendor_name.as_str(), coupang.price, coupang.shipping_cost), ("쿠팡", 12_900, Some(0)));
        assert!(coupang.vendor_url.ends_with("cmpnyc=TP40F_1&buy=1"), "{}", coupang.vendor_url);
        let eleven = &shops.vendors.open_market[1];
        assert_eq!((eleven.price, eleven.card.as_deref(), eleven.shipping_cost), (12_300, Some("삼성카드"), None));
        assert_eq!(shops.vendors.mall[0].shipping_cost, Some(3000));
        assert_eq!(shops.unknown_groups, [UnknownGroup { container: "OverseasShoppingMallListDiv".into(), rows: 2 }]);
    }
}
