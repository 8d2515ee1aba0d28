//! The shop-list answer of `getAllPriceCompareMallList.ajax.php`: the four lists
//! `#OpenMarketMallListDiv`, `#AffiliateMallListDiv`, `#cardCashMallList`, `#cashMallList`
//! of `div.diff_item[data-linkProduct="MALLCODE_…"]`, in two shapes: the older `div.diff_wrap`
//! one, and the 2025–26 `#defaultMallList` one (DANAWA.md "Newer evidence": shop list), which
//! may also hold group containers the crawler does not know.

use std::fmt::Write;

use super::shapes::{ExtraGroup, Shapes};
use super::{comma, esc};
use crate::catalogue::shops::{bridge_url, extra_group_rows, ShopLists, ShopRow};
use crate::catalogue::{Stock, VariantRef};

/// The four known lists: id, heading, rows.
fn known_lists(shops: &ShopLists) -> [(&'static str, &'static str, &[ShopRow]); 4] {
    [
        ("OpenMarketMallListDiv", "오픈마켓", &shops.open_market),
        ("AffiliateMallListDiv", "일반 쇼핑몰", &shops.mall),
        ("cardCashMallList", "카드 할인가", &shops.credit),
        ("cashMallList", "현금 할인가", &shops.cash),
    ]
}

/// Renders the shop list in the shape `shapes` picks for this pcode.
pub fn render(seed: u64, shapes: Shapes, v: &VariantRef<'_>, shops: &ShopLists) -> String {
    let pcode = v.variant.pcode;
    if shapes.default_mall_list(pcode) {
        let extra = if v.variant.stock == Stock::InStock { shapes.extra_groups(pcode) } else { &[] };
        render_default(seed, v, shops, extra)
    } else {
        render_classic(v, shops)
    }
}

/// The older shape: `div.diff_wrap` of four `div.diff_section`, each list always present.
pub fn render_classic(v: &VariantRef<'_>, shops: &ShopLists) -> String {
    let mut out = String::with_capacity(8_000);
    out.push_str("<div class=\"diff_wrap\">\n");
    for (id, label, rows) in known_lists(shops) {
        let _ = write!(out, "<div class=\"diff_section\">\n<h4 class=\"diff_tit\">{label}</h4>\n<div id=\"{id}\" class=\"diff_list\">\n");
        for row in rows.iter() {
            classic_row(&mut out, v, row);
        }
        if rows.is_empty() {
            out.push_str("<p class=\"no_data\">판매처가 없습니다.</p>\n");
        }
        out.push_str("</div>\n</div>\n");
    }
    out.push_str("</div>\n");
    out
}

/// The shipping text: `무료배송`, `배송비 3,000원`, or `유/무료` (conditional).
fn shipping_text(row: &ShopRow) -> String {
    match row.shipping {
        Some(0) => "무료배송".to_owned(),
        Some(cost) => format!("배송비 {}원", comma(u64::from(cost))),
        None => "유/무료".to_owned(),
    }
}

fn logo(row: &ShopRow) -> String {
    let name = esc(row.name);
    if row.text_logo {
        format!("<span class=\"txt_logo\">{name}</span>")
    } else {
        format!("<img src=\"//img.danawa.com/cmpny_info/images/{}_logo.gif\" alt=\"{name}\">", row.mall_code)
    }
}

const NPAY: &str = "<span class=\"npay\"><span class=\"blind\">네이버페이</span></span>";

fn classic_row(out: &mut String, v: &VariantRef<'_>, row: &ShopRow) {
    let url = bridge_url(v, row);
    let logo = logo(row);
    let npay = if row.npay { NPAY } else { "" };
    let price_line = match (row.price, row.card) {
        (Some(p), Some(card)) => format!(
            "<p class=\"card_line\"><span class=\"txt\">{}</span><a href=\"{url}\" target=\"_blank\"><em class=\"prc_c\">{}</em>원</a></p>",
            esc(card),
            comma(u64::from(p))
        ),
        (Some(p), None) => format!(
            "<p class=\"prc_line\"><a href=\"{url}\" target=\"_blank\"><span class=\"txt_prc\">판매가</span><em class=\"prc_c\">{}</em>원</a></p>",
            comma(u64::from(p))
        ),
        (None, _) => "<p class=\"prc_line\"><span class=\"txt_nodata\">가격비교중지</span></p>".to_owned(),
    };
    let _ = write!(
        out,
        "<div class=\"diff_item\" data-linkProduct=\"{}_{}\">\n<div class=\"d_mall\"><a href=\"{url}\" target=\"_blank\">{logo}</a>{npay}</div>\n\
         <div class=\"d_dsc\">\n{price_line}\n</div>\n<div class=\"ship\"><span class=\"stxt\">{}</span></div>\n\
         <div class=\"d_buy\"><a href=\"{url}\" target=\"_blank\" class=\"btn_buy\">구매하기</a></div>\n</div>\n",
        row.mall_code,
        row.link_id,
        shipping_text(row)
    );
}

/// The 2025–26 shape: everything inside `div#defaultMallList`, one group container per list
/// (empty card and cash lists left out: they were seen only in 2022–23), then the unknown
/// groups, if any.
pub fn render_default(seed: u64, v: &VariantRef<'_>, shops: &ShopLists, extra: &[ExtraGroup]) -> String {
    let mut out = String::with_capacity(9_000);
    out.push_str("<div id=\"defaultMallList\" class=\"diff_list_wrap\">\n");
    for (id, label, rows) in known_lists(shops) {
        let optional = matches!(id, "cardCashMallList" | "cashMallList");
        if optional && rows.is_empty() {
            continue;
        }
        group(&mut out, v, id, label, rows);
    }
    for g in extra {
        group(&mut out, v, g.id, g.title, &extra_group_rows(seed, v, g.key));
    }
    out.push_str("</div>\n");
    out
}

fn group(out: &mut String, v: &VariantRef<'_>, id: &str, label: &str, rows: &[ShopRow]) {
    let kind = id.trim_end_matches("Div").trim_end_matches("MallList");
    let _ = write!(
        out,
        "<div id=\"{id}\" class=\"mall_list_group\" data-mall-type=\"{kind}\">\n<h4 class=\"diff_tit\">{label}</h4>\n"
    );
    for row in rows {
        default_row(out, v, row);
    }
    if rows.is_empty() {
        out.push_str("<p class=\"no_data\">판매처가 없습니다.</p>\n");
    }
    out.push_str("</div>\n");
}

/// A card row's plain price, shown in `.prc_line` above the lower card price.
fn plain_price(card_price: u32) -> u32 {
    (card_price + card_price / 25 + 500) / 10 * 10
}

fn default_row(out: &mut String, v: &VariantRef<'_>, row: &ShopRow) {
    let url = bridge_url(v, row);
    let logo = logo(row);
    let npay = if row.npay { NPAY } else { "" };
    let ship = match row.shipping {
        None => "유/무료".to_owned(),
        Some(_) => format!("({})", shipping_text(row)),
    };
    // With a card discount the row's price line shows the higher plain price and `.card_line`
    // the card price, which is the one stored (DANAWA.md "Card prices").
    let (shown, card_line) = match (row.price, row.card) {
        (Some(p), Some(card)) => (
            Some(plain_price(p)),
            format!(
                "<div class=\"card_line\"><span class=\"card_ico\"></span><span class=\"txt\">{}</span><span class=\"card_prc\"><em>{}</em>원</span></div>\n",
                esc(card),
                comma(u64::from(p))
            ),
        ),
        (price, _) => (price, String::new()),
    };
    let price = match shown {
        Some(p) => format!(
            "<a href=\"{url}\" target=\"_blank\" class=\"priceCompareBuyLink\"><span class=\"price lowest\"><em class=\"prc_c\">{}</em>원</span></a>",
            comma(u64::from(p))
        ),
        None => "<span class=\"txt_nodata\">가격비교중지</span>".to_owned(),
    };
    let _ = write!(
        out,
        "<div class=\"diff_item\" data-linkProduct=\"{}_{}\">\n<div class=\"diff_box\">\n\
         <div class=\"d_mall\"><a href=\"{url}\" target=\"_blank\" class=\"priceCompareBuyLink\">{logo}</a>{npay}</div>\n\
         <div class=\"d_dsc\">\n<div class=\"prc_line\">{price}<span class=\"ship\">{ship}</span></div>\n{card_line}</div>\n\
         <div class=\"d_buy\"><a href=\"{url}\" target=\"_blank\" class=\"priceCompareBuyLink btn_buy\">구매하기</a></div>\n</div>\n</div>\n",
        row.mall_code, row.link_id
    );
}
