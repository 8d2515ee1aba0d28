//! The list fragment `getProductList.ajax.php` answers: product entries with their variants,
//! advertisement entries to be skipped, `input#totalProductCount` and the pager.

use std::fmt::Write;

use super::shapes::Shapes;
use super::{comma, esc};
use crate::catalogue::shops::{bridge_url, shop_lists};
use crate::catalogue::{Catalogue, Category, Product, Stock, Variant, NO_PRICE_TEXTS};

/// What one list page shows.
pub struct ListPage<'a> {
    /// For the shop rows of one-pcode `prod_top5` entries.
    pub catalogue: &'a Catalogue,
    pub shapes: Shapes,
    pub category: &'a Category,
    /// Product indices (into `category.products`) on this page, in order.
    pub entries: &'a [u32],
    pub page: usize,
    pub list_count: usize,
    /// Products in the whole filtered listing.
    pub total: usize,
}

/// Renders a list page.
pub fn render(page: &ListPage<'_>) -> String {
    let mut out = String::with_capacity(1_400 * page.entries.len() + 4_000);
    out.push_str("<div class=\"main_prodlist main_prodlist_list\">\n");
    render_ad_block(&mut out, page);
    out.push_str("<ul class=\"product_list\">\n");
    if let Some(ad) = ad_product(page, 7) {
        render_entry(&mut out, page, ad, EntryKind::PointAd);
    }
    for &i in page.entries {
        if let Some(product) = page.category.products.get(i as usize) {
            render_entry(&mut out, page, product, EntryKind::Product(i));
        }
    }
    out.push_str("</ul>\n");
    render_pager(&mut out, page);
    let _ = writeln!(out, "<input type=\"hidden\" id=\"totalProductCount\" value=\"{}\">", comma(page.total as u64));
    out.push_str("</div>\n");
    out
}

/// An advertised product of the category (a real pcode, so a crawler that does not skip ads
/// gets wrong positions).
fn ad_product<'a>(page: &ListPage<'a>, stride: usize) -> Option<&'a Product> {
    let products = &page.category.products;
    if products.is_empty() || page.entries.is_empty() {
        return None;
    }
    products.get((page.page * stride + 3) % products.len())
}

fn render_ad_block(out: &mut String, page: &ListPage<'_>) {
    if let Some(ad) = ad_product(page, 13) {
        out.push_str("<div class=\"main_ad_prodlist\">\n<ul class=\"product_list\">\n");
        render_entry(out, page, ad, EntryKind::ReaderAd);
        out.push_str("</ul>\n</div>\n");
    }
}

#[derive(Clone, Copy)]
enum EntryKind {
    Product(u32),
    /// `li.prod_ad_item#adPointProductItem…` inside the main list.
    PointAd,
    /// `li#adReaderProductItem…` inside `div.main_ad_prodlist`.
    ReaderAd,
}

fn first_pcode(product: &Product) -> u32 {
    product.variants.first().map_or(0, |v| v.pcode)
}

fn render_entry(out: &mut String, page: &ListPage<'_>, product: &Product, kind: EntryKind) {
    let category = page.category;
    let pcode = first_pcode(product);
    let cate = category.def.number;
    let (prefix, class) = match kind {
        // The class sometimes carries a trailing space or `width_change`, as on the site.
        EntryKind::Product(i) if i % 3 == 0 => ("productItem", "prod_item prod_layer "),
        EntryKind::Product(i) if i % 3 == 1 => ("productItem", "prod_item prod_layer width_change"),
        EntryKind::Product(_) => ("productItem", "prod_item prod_layer"),
        EntryKind::PointAd => ("adPointProductItem", "prod_item prod_layer prod_ad_item"),
        EntryKind::ReaderAd => ("adReaderProductItem", "prod_item prod_layer"),
    };
    let name = product.list_name();
    let name = esc(&name);
    let lazy = matches!(kind, EntryKind::Product(i) if i % 90 >= 8);
    let (a, b) = (pcode % 1000, (pcode / 1000) % 1000);
    let _ = write!(
        out,
        "<li class=\"{class}\" id=\"{prefix}{pcode}\">\n<div class=\"prod_main_info\">\n\
         <div class=\"thumb_image\"><a href=\"//prod.danawa.com/info/?pcode={pcode}&cate={cate}\" target=\"_blank\"><img "
    );
    // Entries further down load their image lazily (`data-original`), as on the site.
    if lazy {
        out.push_str("src=\"//img.danawa.com/new/noData/img/noImg_160.gif\" data-original");
    } else {
        out.push_str("src");
    }
    let _ = write!(
        out,
        "=\"//img.danawa.com/prod_img/500000/{a:03}/{b:03}/img/{pcode}_1.jpg?shrink=130:130\" alt=\"{name}\" width=\"130\" height=\"130\"></a></div>\n\
         <div class=\"prod_info\">\n<p class=\"prod_name\"><a href=\"//prod.danawa.com/info/?pcode={pcode}&cate={cate}\" target=\"_blank\" name=\"productName\">{name}</a></p>\n\
         <div class=\"prod_sub_meta\"><dl class=\"meta_item mt_date\"><dt class=\"mt\">등록월</dt><dd>{}.{:02}</dd></dl></div>\n</div>\n",
        product.year, product.month
    );
    render_variants(out, page, product);
    out.push_str("</div>\n</li>\n");
}

fn render_variants(out: &mut String, page: &ListPage<'_>, product: &Product) {
    let category = page.category;
    let [p1, p2, p3, _] = category.def.physics;
    let cate = category.def.number;
    let pcode = first_pcode(product);
    let single_in_stock = product.variants.len() == 1 && product.variants[0].stock == Stock::InStock;
    if single_in_stock && page.shapes.single_top5(pcode) && render_single_top5(out, page, pcode) {
        return;
    }
    let bare = page.shapes.bare_tag(pcode);
    let _ = writeln!(out, "<div class=\"prod_pricelist\" data-cate=\"{p1}|{p2}|{p3}|{cate}\">\n<ul>");
    for (i, v) in product.variants.iter().enumerate() {
        render_variant(out, cate, v, i, bare);
    }
    if product.variants.len() > 3 {
        out.push_str("<li class=\"top5_button\"><a href=\"#\" class=\"btn_more\">더보기</a></li>\n");
    }
    if product.variants.first().is_some_and(|v| v.pcode % 11 == 0) {
        out.push_str("<li class=\"rocket-shipping\"><span class=\"rocket_txt\">로켓배송</span></li>\n");
    }
    out.push_str("</ul>\n</div>\n");
    if product.variants.len() == 1 && product.variants[0].stock == Stock::InStock {
        // Mall rows, not variants: crawlers must skip `div.prod_pricelist.prod_top5`.
        out.push_str("<div class=\"prod_pricelist prod_top5\"><ul><li class=\"top5_item\"><span class=\"mall_name\">쿠팡</span><p class=\"price_sect\"><a href=\"#\"><strong>-</strong></a></p></li></ul></div>\n");
    }
}

/// A one-pcode product as a single `div.prod_pricelist.prod_top5` whose rows are malls, the
/// cheapest first: no `li#productInfoDetail_…`, no `p.price_sect`; its list price is the first
/// row's (DANAWA.md "Newer evidence": list items). `false` when there is no shop row to show.
fn render_single_top5(out: &mut String, page: &ListPage<'_>, pcode: u32) -> bool {
    let Some(v) = page.catalogue.find(pcode) else { return false };
    let shops = shop_lists(page.catalogue.params.seed, &v);
    let rows = shops.cheapest(3);
    if rows.first().and_then(|r| r.price) != Some(v.variant.price) {
        return false;
    }
    let [p1, p2, p3, _] = page.category.def.physics;
    let _ = writeln!(
        out,
        "<div class=\"prod_pricelist prod_top5\" data-cate=\"{p1}|{p2}|{p3}|{}\">\n<ul>",
        page.category.def.number
    );
    for row in rows {
        let _ = writeln!(
            out,
            "<li class=\"top5_item\"><a href=\"{}\" target=\"_blank\"><div class=\"top5_mall\">{}</div><div class=\"top5_price\"><em class=\"prc_c\">{}</em>원</div></a></li>",
            bridge_url(&v, row),
            esc(row.name),
            comma(u64::from(row.price.unwrap_or(0)))
        );
    }
    out.push_str("</ul>\n</div>\n");
    true
}

fn render_variant(out: &mut String, cate: u32, v: &Variant, i: usize, bare: bool) {
    let style = if v.hidden { " style=\"display: none\"" } else { "" };
    let _ = write!(out, "<li id=\"productInfoDetail_{}\" class=\"\"{style}>\n<p class=\"memory_sect\">", v.pcode);
    match (&v.tag, bare) {
        // The 2021–23 shape: the tag is the bare text node of `p.memory_sect` (DANAWA.md
        // "Newer evidence": list items), beside the rank's own text.
        (Some(tag), true) => {
            let _ = write!(out, "\n\t\t\t{}\n\t\t\t", esc(tag));
        }
        (Some(tag), false) => {
            let _ = write!(out, "<span class=\"text\">{}</span>", esc(tag));
        }
        (None, _) => {}
    }
    let _ = writeln!(
        out,
        "<span class=\"memory_price_sect\"></span><span class=\"rank_one\">{}</span></p>",
        if i == 0 { "1위" } else { "" }
    );
    let href = HrefOf { pcode: v.pcode, cate };
    let _ = match v.stock {
        Stock::InStock | Stock::NoShops | Stock::LowPriceOnly => writeln!(
            out,
            "<p class=\"price_sect\"><a href=\"{href}\" target=\"_blank\"><strong>{}</strong>원</a></p>",
            comma(u64::from(v.price))
        ),
        Stock::NoPrice(k) => writeln!(
            out,
            "<p class=\"price_sect\"><a href=\"{href}\" target=\"_blank\"><strong>{}</strong></a></p>",
            NO_PRICE_TEXTS[usize::from(k) % NO_PRICE_TEXTS.len()]
        ),
        Stock::Discontinued => writeln!(
            out,
            "<p class=\"price_sect\"><a href=\"{href}\" target=\"_blank\"><strong class=\"nosale_price\">단종상품</strong></a></p>"
        ),
    };
    out.push_str("</li>\n");
}

fn render_pager(out: &mut String, page: &ListPage<'_>) {
    let last = page.total.div_ceil(page.list_count.max(1)).max(1);
    let block = (page.page.max(1) - 1) / 10;
    let first = block * 10 + 1;
    out.push_str("<div class=\"prod_num_nav\">\n<div class=\"num_nav_wrap\">\n");
    if block > 0 {
        let _ = writeln!(out, "<a href=\"#\" class=\"edge_nav nav_prev\" onclick=\"javascript:movePage({}); return false;\">이전 페이지</a>", first - 1);
    }
    out.push_str("<div class=\"number_wrap\">");
    for n in first..=(first + 9).min(last) {
        if n == page.page {
            let _ = write!(out, "<a class=\"num now_on\">{n}</a>");
        } else {
            let _ =
                write!(out, "<a href=\"#\" class=\"num \" onclick=\"javascript:movePage({n}); return false;\">{n}</a>");
        }
    }
    out.push_str("</div>\n");
    if first + 9 < last {
        let _ = writeln!(out, "<a href=\"#\" class=\"edge_nav nav_next\" onclick=\"javascript:movePage({}); return false;\">다음 페이지</a>", first + 10);
    }
    out.push_str("</div>\n</div>\n");
}

/// The product link, written straight into the output.
struct HrefOf {
    pcode: u32,
    cate: u32,
}

impl std::fmt::Display for HrefOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "//prod.danawa.com/info/?pcode={}&cate={}", self.pcode, self.cate)
    }
}
