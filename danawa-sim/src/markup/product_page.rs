//! The product page `/info/?pcode=N`: the static parts the crawler reads (title, spec summary,
//! `.made_info`, breadcrumb, `min_price`, low-price shops, script objects, JSON-LD, sold-out
//! flag), laid out like the real captures.

use std::fmt::Write;

use super::{comma, esc, js_str};
use crate::catalogue::shops::{bridge_url, ShopLists, ShopRow};
use crate::catalogue::specs::summary;
use crate::catalogue::{Stock, VariantRef};

/// What the page shows about price: the lowest shop price, the `min_price` input and the
/// JSON-LD `lowPrice`.
pub struct PagePrice {
    pub min_price: Option<u32>,
    pub low_price: Option<u32>,
    pub sold_out: bool,
}

/// Price facts of a variant, shared with the ground truth.
pub fn page_price(v: &VariantRef<'_>, shops: &ShopLists) -> PagePrice {
    let price = v.variant.price;
    match v.variant.stock {
        Stock::InStock => {
            let lowest = shops.lowest().unwrap_or(price);
            PagePrice { min_price: Some(lowest), low_price: Some(lowest), sold_out: false }
        }
        Stock::NoShops => PagePrice { min_price: Some(price), low_price: Some(price), sold_out: false },
        Stock::LowPriceOnly => PagePrice { min_price: None, low_price: Some(price), sold_out: false },
        Stock::NoPrice(_) | Stock::Discontinued => PagePrice { min_price: None, low_price: None, sold_out: true },
    }
}

/// Renders the page of an existing, not discontinued variant.
pub fn render(seed: u64, v: &VariantRef<'_>, shops: &ShopLists) -> String {
    let price = page_price(v, shops);
    let title = v.product.title(usize::from(v.location.variant));
    let mut out = String::with_capacity(16_000);
    head(&mut out, v, &title, &price);
    breadcrumb(&mut out, v);
    summary_area(&mut out, seed, v, &title);
    price_area(&mut out, v, shops, &price);
    scripts(&mut out, v, &title, &price, shops);
    out
}

fn head(out: &mut String, v: &VariantRef<'_>, title: &str, price: &PagePrice) {
    let t = esc(title);
    let pcode = v.variant.pcode;
    let og = price
        .min_price
        .or(price.low_price)
        .map_or_else(|| "가격비교예정".to_owned(), |p| format!("최저가 {}원", comma(u64::from(p))));
    let _ = write!(
        out,
        "<!DOCTYPE html><html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"ko\" lang=\"ko\">\n\n<head>\n    <title>{t} : 다나와 가격비교</title>\n    \
         <meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\" /><meta http-equiv=\"X-UA-Compatible\" content=\"IE=Edge\" /><meta name=\"Robots\" content=\"index,follow\" />\n\
         <meta name=\"Title\" content=\"[다나와] {t}\" />\n<meta property=\"og:title\" content=\"[다나와] {t}\"/>\n<meta property=\"og:description\" content=\"{og}\"/>\n\
         <link rel=\"canonical\" href=\"https://prod.danawa.com/info/?pcode={pcode}\">\n\
         <link rel=\"stylesheet\" type=\"text/css\" href=\"//static.danawa.com/css/prod.blog.v1.css?v=2606111552\" />\n\
         <script src=\"//static.danawa.com/globaljs/external/jquery/core/3.3.1/jquery-3.3.1.min.js?v=2607211535\"></script>\n</head>\n<body>\n<div id=\"danawa_wrap\">\n"
    );
}

fn breadcrumb(out: &mut String, v: &VariantRef<'_>) {
    let d = v.category.def;
    let _ = write!(
        out,
        "<div class=\"location\" id=\"location\">\n\t\t<div class=\"loca_item\" id=\"1DepthCategory\"><button class=\"arw\">PC부품<span class=\"ico\"></span></button></div>\n\
         \t\t<div class=\"loca_item\" id=\"2DepthCategory\" >\t<button class=\"arw\">{label}<span class=\"ico\"></span></button><div class=\"loca_layer\">\t<ul class=\"cate_list\">"
    , label = esc(d.label));
    // Sibling categories around the current one, as on the site.
    for other in crate::catalogue::CATEGORIES {
        let now = if other.number == d.number { "now" } else { "" };
        let _ = write!(
            out,
            "<li class=\"c_item {now}\"><a href=\"/list/?cate={}\" target=\"_blank\" class=\"cate_link\" >{}</a></li>",
            other.number,
            esc(other.label)
        );
    }
    out.push_str("</ul></div>\n\t</div>\n</div>\n");
}

fn summary_area(out: &mut String, seed: u64, v: &VariantRef<'_>, title: &str) {
    let pcode = v.variant.pcode;
    let _ = write!(
        out,
        "<div id=\"danawa_container\">\n\t<div class=\"blog_content\" id=\"blog_content\">\n\t\t<div class=\"summary_info \">\n\t\t\t<div class=\"top_summary\">\n\t\t\t\t<h3 class=\"prod_tit\">\n\
         \t\t\t\t\t\t\t\t\t\t<span class=\"title\">{t}</span>\n\t\t\t\t\t<a href=\"/vssearch/?productCodes={pcode}\" target=\"_blank\" class=\"link__vs-search\">상품비교</a>\n\t\t\t\t</h3>\n\
         \t\t\t\t<div class=\"h_area\">\n\t\t\t\t\t<div class=\"sub_dsc\">\n\t\t\t\t\t\t<div class=\"spec_set_wrap\">\n\t\t\t\t\t\t\t<dl class=\"spec_set\">\n\t\t\t\t\t\t\t\t<dt class=\"blind\">상세 스펙</dt>\n\t\t\t\t\t\t\t\t<dd>\n\
         \t\t\t\t\t\t\t\t\t<div class=\"spec_list\">\n\t\t\t\t\t\t\t\t\t\t<div class=\"items\">",
        t = esc(title)
    );
    for (i, item) in summary(seed, v).iter().enumerate() {
        if i > 0 {
            out.push_str("  / ");
        }
        if i % 2 == 0 {
            let _ = write!(
                out,
                "<a onclick=\"jQuery.termDicViewLink({},'view',this,3,'infoTop');\"><u>{}</u></a>",
                5_000_000 + i,
                esc(item)
            );
        } else {
            let _ = write!(out, "<span><u>{}</u></span>", esc(item));
        }
    }
    out.push_str("</div>\n\t\t\t\t\t\t\t\t\t</div>\n\t\t\t\t\t\t\t\t</dd>\n\t\t\t\t\t\t\t</dl>\n\t\t\t\t\t\t</div>\n\t\t\t\t\t</div>\n\t\t\t\t</div>\n\t\t\t</div>\n");
    let maker = v.category.maker(v.product);
    let _ = write!(
        out,
        "\t\t\t<div class=\"detail_summary\">\n\t\t\t\t<div class=\"summary_left\">\n\t\t<div class=\"made_info\">\n\t\t<div class=\"clr\">\n\t\t\t<span class=\"txt\">등록월: {}.{:02}.</span>\n\t\t\t<span class=\"bar\">ㅣ</span>\n\
         \t\t\t<span class=\"txt\" id=\"makerTxtArea\">제조사:\n\t\t\t\t<a href=\"#\" target=\"_blank\">{}</a>\t\t\t</span>\n\t\t</div>\n\t</div>\n",
        v.product.year,
        v.product.month,
        esc(maker.name)
    );
}

fn price_area(out: &mut String, v: &VariantRef<'_>, shops: &ShopLists, price: &PagePrice) {
    let pcode = v.variant.pcode;
    out.push_str("<div class=\"price-summary\">\n\t\t\t<input type=\"hidden\" id=\"shopUrl\" value=\"https://shop.danawa.com\" />\n");
    if let Some(min) = price.min_price {
        let _ = writeln!(out, "\t\t<input type=\"hidden\" id=\"min_price_{pcode}\" value=\"{min}\" />");
    }
    if price.sold_out {
        out.push_str(
            "\t\t<div class=\"lowest_area\"><div class=\"no_data\"><p class=\"txt\">일시품절</p></div></div>\n",
        );
    }
    out.push_str("\t\t<div id=\"lowPriceCompanyArea\">\n\t\t\t<div class=\"box__mall-price \">\n    <div class=\"box__section-header\"><div class=\"text__subtitle\">쇼핑몰별 최저가</div></div>\n");
    let rows = shops.cheapest(10);
    if !rows.is_empty() {
        out.push_str("            <ul class=\"list__mall-price\">\n");
        for (i, row) in rows.iter().enumerate() {
            shop_item(out, v, row, i == 0);
        }
        out.push_str("            </ul>\n");
    }
    out.push_str("    </div>\n\t\t</div>\n</div>\n\t\t\t\t</div>\n\t\t\t</div>\n\t\t</div>\n\t</div>\n</div>\n");
}

fn shop_item(out: &mut String, v: &VariantRef<'_>, row: &ShopRow, lowest: bool) {
    let name = esc(row.name);
    let logo = if row.text_logo {
        format!("<span class=\"text__logo\" role=\"img\" aria-label=\"{name}\">{name}</span>")
    } else {
        format!("<img src='//img.danawa.com/cmpny_info/images/{}_logo.gif' class='image' alt='{name}'>", row.mall_code)
    };
    let npay =
        if row.npay { "<span class=\"icon__npay\"><span class=\"blind\">네이버페이</span></span>" } else { "" };
    let badge = if lowest { "<span class=\"badge__lowest\">최저가</span>" } else { "" };
    let delivery = match row.shipping {
        Some(0) => "무료배송".to_owned(),
        Some(cost) => format!("{}원", comma(u64::from(cost))),
        None => "유/무료".to_owned(),
    };
    let _ = write!(
        out,
        "                <li class=\"list-item\">\n                    <div class=\"box__logo\">\n{logo}{npay}</div>\n                    <div class=\"box__price {}\">{badge}\n\
         <div class=\"sell-price\">\n<span class=\"text__num\">{}</span>\n<span class=\"text__unit\">원</span>\n</div>\n</div>\n\
         <div class=\"box__delivery\">\n                                                        {delivery}                        </div>\n\
         <a href=\"{}\" target=\"_blank\" class=\"link__full-cover\" aria-label=\"상품보기\"></a>\n                    </li>\n",
        if lowest { "lowest" } else { "" },
        comma(u64::from(row.price.unwrap_or(0))),
        bridge_url(v, row)
    );
}

fn scripts(out: &mut String, v: &VariantRef<'_>, title: &str, price: &PagePrice, shops: &ShopLists) {
    let d = v.category.def;
    let [c1, c2, c3, c4] = d.physics;
    let pcode = v.variant.pcode;
    let maker = v.category.maker(v.product);
    let min = price.min_price.map_or_else(String::new, |p| comma(u64::from(p)));
    let product_name = v.product.base_name.strip_prefix(maker.name).unwrap_or(&v.product.base_name).trim();
    let _ = write!(
        out,
        "<script type=\"text/javascript\">\n\tvar oGlobalSetting = {{\n\t\tnGroup: \"{}\",\n\t\tnDepth: \"{}\",\n\t\tnProductCode: {pcode},\n\t\tsProductName: \"{}\",\n\t\tnCategoryCode: \"{}\",\n\
         \t\tnCategoryCode1: \"{c1}\",\n\t\tnCategoryCode2: \"{c2}\",\n\t\tnCategoryCode3: \"{c3}\",\n\t\tnCategoryCode4: \"{c4}\",\n\t\tnMinPrice: \"{min}\",\n\t\tmakerCode: \"{}\",\n\t\tmakerName: \"{}\",\n\t\tpowerLinkKeyword: \"{}\"\n\t}};\n\
         \tvar oPriceCompareSetting = {{\n\t\tsSortType: \"minPrice\",\n\t\tsProductFullName: \"{}\",\n\t\tnOpenMarketMoreCount: \"50\",\n\t\tnAffiliateMoreCount: \"50\"\n\t}};\n\
         \tvar oProductDescriptionInfo = {{\"makerName\":\"{}\",\"brandName\":\"\",\"productName\":\"{}\",\"prodType\":\"C\",\"displayMakeDate\":\"{}.{:02}.\"}};\n</script>\n",
        d.group,
        d.depth,
        js_str(title),
        d.number,
        maker.code,
        js_str(maker.name),
        js_str(d.label),
        js_str(title),
        js_str(maker.name),
        js_str(product_name),
        v.product.year,
        v.product.month,
    );
    json_ld(out, v, title, price, shops);
    let _ = write!(
        out,
        "<script type=\"text/javascript\">\n\t\t\tENP_VAR.collect.productCode = '{pcode}';\n\t\t\tENP_VAR.collect.price = '{}';\n\t\t\tENP_VAR.collect.soldOut = '{}';\n</script>\n</body>\n</html>\n",
        price.min_price.or(price.low_price).unwrap_or(0),
        if price.sold_out { 'Y' } else { 'N' }
    );
}

fn json_ld(out: &mut String, v: &VariantRef<'_>, title: &str, price: &PagePrice, shops: &ShopLists) {
    let offers = price.low_price.map_or_else(String::new, |low| {
        format!(
            ",\n\t\t\t \"offers\": {{\n\t\t\t\t\"@type\": \"AggregateOffer\",\n\t\t\t\t\"offerCount\": \"{}\",\n\t\t\t\t\"lowPrice\": \"{low}\",\n\t\t\t\t\"url\": \"https://prod.danawa.com/info/?pcode={}\",\n\t\t\t\t\"priceCurrency\": \"KRW\"\n\t\t\t}}",
            shops.all().filter(|r| r.price.is_some()).count().max(1),
            v.variant.pcode
        )
    });
    let maker = v.category.maker(v.product);
    let _ = write!(
        out,
        "\t<script type=\"application/ld+json\">\n\t\t{{\n\t\t\t\"@context\": \"https://schema.org/\",\n\t\t\t\"@type\": \"Product\",\n\t\t\t\"name\": \"{}\",\n\t\t\t\"sku\": \"{}\",\n\
         \t\t\t\"brand\": {{\n\t\t\t\t\"@type\": \"Brand\",\n\t\t\t\t\"name\": \"{}\"\n\t\t\t}}{offers}\n\t\t}}\n\t</script>\n",
        js_str(title),
        v.variant.pcode,
        js_str(maker.name)
    );
}
