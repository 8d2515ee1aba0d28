//! Shared by the integration tests and the benches: where the real Danawa captures live, and
//! synthetic answers written from DANAWA.md's markup (list fragment, spec table, shop list,
//! bootstrap page) for the answers no public capture exists of.

#![allow(dead_code)]

use std::path::PathBuf;

/// `DANAWA_PAGES_DIR`, else `shared/danawa-pages` beside the clone (`../../shared/danawa-pages`
/// from this crate), where CI puts it too.
pub(crate) fn pages_dir() -> PathBuf {
    match std::env::var_os("DANAWA_PAGES_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/danawa-pages"),
    }
}

/// A real capture, by file name. Panics with the path when it is missing: these tests must
/// not pass silently without their data.
pub(crate) fn real_page(name: &str) -> String {
    let path = pages_dir().join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {} (set DANAWA_PAGES_DIR): {e}", path.display()))
}

pub(crate) const REAL_PRODUCT_PAGES: [&str; 3] =
    ["danawa_offers_1151074.html", "danawa_offers_1152054.html", "danawa_offers_16559657.html"];
pub(crate) const REAL_EXPIRED_PAGE: &str = "danawa_expired_31162997.html";

/// A legacy category page with both script objects.
pub(crate) fn bootstrap_page() -> String {
    let filler = "<div class=\"nav\"><a href=\"#\">메뉴</a></div>\n".repeat(400);
    format!(
        r#"<!DOCTYPE html><html><head><title>CPU : 다나와</title></head><body>{filler}
        <script type="text/javascript">
        var oGlobalSetting = {{
            nCategoryCode : '112747',
            nListCategoryCode : '747',
            nListGroup : '11',
            nListDepth : '2',
            sPhysicsCate1 : '861',
            sPhysicsCate2 : '873',
            sPhysicsCate3 : '0',
            sPhysicsCate4 : '0',
            sCategoryMappingCode : '176',
            sPowerLinkKeyword : 'CPU'
        }};
        var oExpansionContent = {{
            sPriceCompareListType : 'LIST',
            nPriceCompareListPackageType : 1,
            nPriceCompareListCount : 5,
            nPriceCompareListPackageLimit : 5,
            sInitialPriceDisplay : 'N',
            sDiscountProductRate : '0',
            nPriceUnit : 0,
            nPriceUnitValue : 0,
            sPriceUnitClass : ''
        }};
        </script></body></html>"#
    )
}

/// A list fragment with `products` entries (each with two variants) and two advertisements.
pub(crate) fn list_fragment(products: usize) -> String {
    let mut items = String::new();
    items.push_str(&ad_item("adPointProductItem900"));
    for i in 0..products {
        let pcode = 1_000_000 + i * 10;
        items.push_str(&format!(
            r#"<li class="prod_item prod_layer width_change" id="productItem{pcode}">
  <div class="prod_main_info">
    <div class="thumb_image"><a href="//prod.danawa.com/info/?pcode={pcode}&cate=112747"><img data-original="//img.danawa.com/prod_img/{pcode}.jpg" alt="상품 {i}"></a></div>
    <div class="prod_info">
      <p class="prod_name"><a href="//prod.danawa.com/info/?pcode={pcode}&cate=112747" name="productName">AMD 라이젠{i} 7{i}00X (라파엘) (정품)</a></p>
      <div class="spec_list">AMD(소켓AM5) / 5nm / 8코어 / 16쓰레드</div>
      <div class="prod_sub_meta"><dl class="meta_item mt_date"><dt>등록월</dt><dd>20{yy:02}.{mm:02}</dd></dl></div>
    </div>
    <div class="prod_pricelist " data-cate="112|747|0|112747"><ul>
      <li id="productInfoDetail_{pcode}" class="opt_item"><p class="memory_sect"><span class="text">정품</span><span class="memory_price_sect"></span><span class="rank_one">1위</span></p>
        <p class="price_sect"><a href="//prod.danawa.com/info/?pcode={pcode}&cate=112747"><strong>{price}</strong>원</a></p></li>
      <li id="productInfoDetail_{pcode2}" class="opt_item" style="display: none"><p class="memory_sect"><span class="text">멀티팩</span></p>
        <p class="price_sect"><a href="//prod.danawa.com/info/?pcode={pcode2}&cate=112747"><strong>일시품절</strong></a></p></li>
      <li class="rocket-shipping"><a href="/rocket">로켓배송</a></li>
    </ul></div>
  </div>
</li>
"#,
            pcode2 = pcode + 1,
            yy = 15 + i % 10,
            mm = 1 + i % 12,
            price = format_won(100_000 + i as i64 * 1_000),
        ));
        if i == 3 {
            items.push_str(&ad_item("adReaderProductItem901"));
        }
    }
    format!(
        r#"<div class="main_prodlist main_prodlist_list"><ul class="product_list">{items}</ul></div>
<div class="num_nav_wrap"><div class="number_wrap"><a class="num now_on">1</a><a class="num ">2</a></div>
<a class="edge_nav nav_next" onclick="javascript:movePage(11); return false;">다음</a></div>
<input type="hidden" id="totalProductCount" value="4,417">"#
    )
}

fn ad_item(id: &str) -> String {
    format!(
        r#"<li class="prod_item prod_ad_item" id="{id}"><p class="prod_name"><a name="productName">광고</a></p>
<div class="prod_pricelist"><ul><li id="productInfoDetail_1"><p class="price_sect"><a><strong>1,000</strong></a></p></li></ul></div></li>"#
    )
}

/// A spec table of `sections` sections of 6 fields each, then a certification section.
pub(crate) fn spec_table(sections: usize) -> String {
    let mut rows = String::from(
        r#"<tr><th scope="row" class="tit">제조회사</th><td class="dsc">쿨러 마스터 (Cooler Master)</td><th class="tit">등록년월</th><td class="dsc">2023년 04월</td></tr>"#,
    );
    for s in 0..sections {
        let name = if s == 0 { "쿨러 사양".to_owned() } else { format!("사양 {s}") };
        rows.push_str(&format!(r#"<tr><th colspan="4" class="tit">{name}</th></tr>"#));
        for f in 0..3 {
            rows.push_str(&format!(
                r#"<tr><th class="tit">항목 {s}-{f}a</th><td class="dsc"><a href="/term">120mm x2</a></td><th class="tit">항목 {s}-{f}b</th><td class="dsc">○</td></tr>"#
            ));
        }
    }
    rows.push_str(r#"<tr><th colspan="4" class="tit">KC 인증 정보</th></tr><tr><th class="tit">인증번호</th><td class="dsc">R-R-1</td></tr>"#);
    format!(
        r#"<div class="prod_spec"><table class="spec_tbl"><caption>상세 사양</caption><tbody>{rows}</tbody></table></div>"#
    )
}

/// A shop list with `per_list` rows in each of the four lists (one unpriced row per list).
pub(crate) fn shop_list(per_list: usize) -> String {
    let codes = ["TP40F", "TH201", "EE128", "EE715", "EE309", "TN118", "ED901"];
    let list = |id: &str, offset: usize| {
        let mut rows = String::new();
        for r in 0..per_list {
            let code = codes[(r + offset) % codes.len()];
            let price_line = if r + 1 == per_list {
                r#"<div class="prc_line"><span class="prc">가격문의</span></div>"#.to_owned()
            } else if r % 5 == 4 {
                format!(
                    r#"<div class="prc_line"><em class="prc_c">{}</em>원</div><div class="prc_line card_line"><span class="txt">삼성카드</span><span class="prc"><em class="prc_c">{}</em>원</span></div>"#,
                    format_won(500_000 + r as i64 * 100),
                    format_won(490_000 + r as i64 * 100)
                )
            } else {
                format!(
                    r#"<div class="prc_line"><span class="prc"><em class="prc_c">{}</em>원</span></div>"#,
                    format_won(500_000 + r as i64 * 100)
                )
            };
            let npay =
                if r % 3 == 0 { r#"<span class="npay"><span class="blind">네이버페이</span></span>"# } else { "" };
            let ship = if r % 2 == 0 { "무료배송" } else { "배송비 3,000원" };
            rows.push_str(&format!(
                r#"<div class="diff_item" data-linkProduct="{code}_{r}">
  <div class="d_mall"><a href="https://prod.danawa.com/bridge/loadingBridge.html?cmpnyc={code}"><img src="//img.danawa.com/cmpny_info/images/{code}_logo.gif" alt="몰{r}"></a>{npay}</div>
  <div class="d_dsc">{price_line}<span class="ship"><span class="stxt">{ship}</span></span></div>
  <div class="d_buy"><a href="https://prod.danawa.com/bridge/loadingBridge.html?cmpnyc={code}&amp;r={r}" class="btn_buy">구매하기</a></div>
</div>
"#
            ));
        }
        format!(r#"<div id="{id}" class="diff_list">{rows}</div>"#)
    };
    [
        list("OpenMarketMallListDiv", 0),
        list("AffiliateMallListDiv", 1),
        list("cardCashMallList", 2),
        list("cashMallList", 3),
    ]
    .concat()
}

/// `1234567` as `1,234,567`.
pub(crate) fn format_won(amount: i64) -> String {
    let digits = amount.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).rem_euclid(3) == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
