//! The shop-list answer of `getAllPriceCompareMallList.ajax.php`: the four lists
//! `#OpenMarketMallListDiv`, `#AffiliateMallListDiv`, `#cardCashMallList`, `#cashMallList`
//! of `div.diff_item[data-linkProduct="MALLCODE_…"]`.

use std::fmt::Write;

use super::{comma, esc};
use crate::catalogue::shops::{bridge_url, ShopLists, ShopRow};
use crate::catalogue::VariantRef;

/// Renders the four lists.
pub fn render(v: &VariantRef<'_>, shops: &ShopLists) -> String {
    let mut out = String::with_capacity(8_000);
    out.push_str("<div class=\"diff_wrap\">\n");
    let lists = [
        ("OpenMarketMallListDiv", "오픈마켓", &shops.open_market),
        ("AffiliateMallListDiv", "일반 쇼핑몰", &shops.mall),
        ("cardCashMallList", "카드 할인가", &shops.credit),
        ("cashMallList", "현금 할인가", &shops.cash),
    ];
    for (id, label, rows) in lists {
        let _ = write!(out, "<div class=\"diff_section\">\n<h4 class=\"diff_tit\">{label}</h4>\n<div id=\"{id}\" class=\"diff_list\">\n");
        for row in rows.iter() {
            render_row(&mut out, v, row);
        }
        if rows.is_empty() {
            out.push_str("<p class=\"no_data\">판매처가 없습니다.</p>\n");
        }
        out.push_str("</div>\n</div>\n");
    }
    out.push_str("</div>\n");
    out
}

fn render_row(out: &mut String, v: &VariantRef<'_>, row: &ShopRow) {
    let name = esc(row.name);
    let url = bridge_url(v, row);
    let logo = if row.text_logo {
        format!("<span class=\"txt_logo\">{name}</span>")
    } else {
        format!("<img src=\"//img.danawa.com/cmpny_info/images/{}_logo.gif\" alt=\"{name}\">", row.mall_code)
    };
    let npay = if row.npay { "<span class=\"npay\"><span class=\"blind\">네이버페이</span></span>" } else { "" };
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
    let ship = if row.shipping == 0 {
        "무료배송".to_owned()
    } else {
        format!("배송비 {}원", comma(u64::from(row.shipping)))
    };
    let _ = write!(
        out,
        "<div class=\"diff_item\" data-linkProduct=\"{}_{}\">\n<div class=\"d_mall\"><a href=\"{url}\" target=\"_blank\">{logo}</a>{npay}</div>\n\
         <div class=\"d_dsc\">\n{price_line}\n</div>\n<div class=\"ship\"><span class=\"stxt\">{ship}</span></div>\n\
         <div class=\"d_buy\"><a href=\"{url}\" target=\"_blank\" class=\"btn_buy\">구매하기</a></div>\n</div>\n",
        row.mall_code, row.link_id
    );
}
